/*
 * import-internal.h - what the files of `xenprov import` share (src/lib/import/): a
 * distribution tree read as an index of entries (tree.c), the signatures that recognise
 * one (signatures.c), and the tree's copy into the boot server's root (tree-copy.c).
 * The unit tests use these directly; everyone else goes through xenprov/import.h.
 */
#ifndef XP_IMPORT_INTERNAL_H
#define XP_IMPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "xenprov/import.h"
#include "xenprov/util.h"

/* ---- trees (tree.c) ------------------------------------------------------------------ */

enum tree_type { TREE_DIR, TREE_REG, TREE_LNK };

/* One entry of a tree. Paths are relative to the tree's top, '/'-separated, without
 * "." or ".." components, never empty (the top itself is not an entry). */
struct tree_entry {
	char *path;
	char *link;	   /* a symlink's target as stored; NULL otherwise */
	uint64_t size;	   /* a regular file's length */
	uint64_t off;	   /* ISO: where its bytes start in the image */
	int64_t mtime_ns;  /* nanoseconds since the epoch */
	uint64_t dev, ino; /* directory trees: the file's identity (hard links) */
	uint32_t mode;	   /* permission bits */
	uint8_t type;	   /* enum tree_type */
	bool whole;	   /* ISO: its bytes lie in one piece at off (checked); always for
			    * directory trees */
};

/* A tree: a directory (walked without following symlinks) or an ISO 9660 image read
 * by libarchive (Rock Ridge or Joliet names), never mounted. Entries sorted by path. */
struct xp_tree {
	char *path; /* the real path of the directory or image */
	bool iso;
	int fd; /* directory: O_PATH | O_DIRECTORY; image: O_RDONLY */
	struct stat st;
	struct tree_entry *v;
	size_t n, cap;
	size_t skipped; /* entries left out: devices, FIFOs, sockets; ISO files not in one
			 * piece (zisofs) */
};

/* Most entries a tree may have (a DVD has tens of thousands) and deepest nesting. */
#define XP_TREE_MAX_ENTRIES 1000000
#define XP_TREE_MAX_DEPTH   64
/* Largest file detection reads whole (.treeinfo, .disk/info, version.info). */
#define XP_TREE_TEXT_MAX (1u << 20)

/* Opens path: a directory, or a regular file holding an ISO 9660 image. -ENOENT,
 * -EACCES, -EMEDIUMTYPE (a file that is no ISO 9660 image), -ENOTDIR (neither a
 * directory nor a regular file), -E2BIG (over XP_TREE_MAX_ENTRIES), each with a
 * diagnostic naming the path. */
int xp__tree_open(const char *path, struct xp_tree **ret, struct xp_diags *d);
void xp__tree_free(struct xp_tree *t);
/* The entry at path exactly (no symlink followed), or NULL. */
const struct tree_entry *xp__tree_lookup(const struct xp_tree *t, const char *path);
/* The entry path leads to, symlinks followed inside the tree (a symlink that leaves
 * it, an absolute one, a loop or over 40 of them: NULL). */
const struct tree_entry *xp__tree_find(const struct xp_tree *t, const char *path);
/* Whether path leads to something inside the tree, the top included (a symlink
 * "debian -> ." of Debian's media does). */
bool xp__tree_inside(const struct xp_tree *t, const char *path);
/* A regular file's whole content (NUL-terminated), at most max bytes: -ENOENT (none,
 * or not a regular file), -EFBIG, -EIO. */
int xp__tree_read(const struct xp_tree *t, const char *path, size_t max, char **data, size_t *len);
/* Where a regular file's bytes are: *fd (owned by the caller: the file itself, or the
 * image) and [*off, *off + *len). -ENOENT, -EMEDIUMTYPE (an ISO file not in one piece). */
int xp__tree_region(const struct xp_tree *t, const char *path, int *fd, uint64_t *off,
		    uint64_t *len);

/* ---- signatures (signatures.c) -------------------------------------------------------- */

struct xp_sigs;

/* Reads and checks a signature file (schema: docs/xenprov-import.1, SIGNATURES). Every
 * error is a diagnostic naming the file and where in it ("signatures[3].boot[0]"):
 * -EBADMSG. -ENOENT and the rest as reading gives them. */
int xp__sigs_load(const char *path, struct xp_sigs **ret, struct xp_diags *d);
/* The same from text in memory (name: the file name for diagnostics). */
int xp__sigs_parse(const char *name, const char *text, size_t len, struct xp_sigs **ret,
		   struct xp_diags *d);
void xp__sigs_free(struct xp_sigs *s);
size_t xp__sigs_count(const struct xp_sigs *s);
const char *xp__sigs_name(const struct xp_sigs *s, size_t i);

/* What a signature found in a tree. Heap strings; NULL where the signature could not
 * tell. */
struct xp_found {
	char *signature, *family, *summary;
	char *arch; /* xenprov's name: x86_64, i386, aarch64 */
	char *version, *codename, *label;
	char *kernel, *initrd; /* paths in the tree (initrd may be NULL) */
	bool xen;	       /* the pair is the tree's kernel for Xen PV guests */
	char *kernel_options;  /* the template, $tree and $iso unexpanded */
};
void xp__found_release(struct xp_found *f);

/* The first signature, in file order, that matches the tree for arch (NULL: any arch
 * the signature knows; more than one matching is -EMLINK with a diagnostic asking for
 * --arch). generic: Xen PV pairs are passed over. -ENOENT with a diagnostic when no
 * signature matches. */
int xp__sigs_detect(const struct xp_sigs *s, const struct xp_tree *t, const char *arch,
		    bool generic, struct xp_found *out, struct xp_diags *d);

/* The value of key in [section] of an INI text (.treeinfo): blanks around it trimmed,
 * the last of repeated keys; sections and keys compared exactly, '#' and ';' lines are
 * comments. A heap string, or NULL (none, or out of memory). */
char *xp__ini_get(const char *text, const char *section, const char *key);

/* ---- copying a tree into the boot server's root (tree-copy.c) ------------------------------ */

struct xp_tree_sync {
	size_t linked, copied, kept, removed, symlinks, left_out;
};

/* Makes the directory dirfd/name (made 0755 if missing) hold exactly the tree: files
 * hard-linked from a directory tree where it is on the same filesystem and readable by
 * all, else copied (mode 0644, the source's mtime); symlinks that stay inside the tree
 * made again, others left out (counted); what the tree no longer has removed. A file
 * that already is the same (the same inode, or the same size and mtime) is kept, so a
 * second sync of the same tree changes nothing. Each file is put in place by rename.
 * *made: the directory did not exist before. */
int xp__tree_sync(const struct xp_tree *t, int dirfd, const char *name, bool *made,
		  struct xp_tree_sync *st, struct xp_diags *d);
/* Removes dirfd/name and everything under it (no symlink followed). */
int xp__tree_remove(int dirfd, const char *name);

#endif
