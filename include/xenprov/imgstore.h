/*
 * xenprov/imgstore.h - the store of captured golden images: versions of a directory
 * tree (`xenprov image capture`), their manifests, and the references that name them
 * ("NAME" for the latest version, "NAME@V" for version V).
 *
 * Layout (the contract `image capture`, `image versions`, `image rm`, `image diff` and
 * `image update` share; change it only here and say so):
 *
 *   <state>/images/captures/NAME/V/          version V = 1, 2, ...
 *   <state>/images/captures/NAME/V/root/     the tree, as `rsync -aHAXS --numeric-ids`
 *                                            writes it: owners, modes, hard links,
 *                                            xattrs, ACLs, devices, times. Absent in
 *                                            a lazy version until it is checked out
 *                                            (xp_imgver_root): never build this path
 *                                            to read it, ask xp_imgver_root
 *   <state>/images/captures/NAME/V/delta/    a lazy version (meta.json's "parent" P,
 *                                            a version of the same name): only what
 *                                            differs from P/root: the entries the
 *                                            capture's rsync sent (changed or new,
 *                                            hard-linked to P's where unchanged), and
 *                                            each directory that is new, changed in
 *                                            its attributes or holds such an entry,
 *                                            with its exact attributes; every other
 *                                            entry of the manifest is P's, and an
 *                                            entry of P's manifest that V's lacks is
 *                                            removed. Kept after checkout (its files
 *                                            are root's own inodes: no bytes)
 *   <state>/images/captures/NAME/.V.root.tmp a checkout being built (renamed to
 *                                            V/root when whole; a leftover of a killed
 *                                            one is removed under the lock)
 *   <state>/images/captures/NAME/V/meta.json name, version, time, source, message,
 *                                            files, bytes, manifest_sha256, and
 *                                            (optional) started
 *   <state>/images/captures/NAME/V/manifest  the sorted list of every entry of root
 *                                            (format below); manifest_sha256 is the
 *                                            SHA-256 of this file
 *   <state>/images/captures/NAME/V/srcindex  a local directory's capture only: the
 *                                            source's directories as the capture's walk
 *                                            saw them, for the next capture's skip
 *                                            (capture-skip.c): "xenprov-srcindex 1 KEY\n"
 *                                            (KEY: SHA-256 of the source's real path and
 *                                            the exclusion options), then "DEV INO
 *                                            PATH\0" per directory; absent: no skip
 *   <state>/images/captures/NAME/.V.partial  a version being made (rsync --link-dest
 *                                            to V-1, so unchanged files share inodes)
 *
 * A lazy version is made when a local tree's capture skips what did not change
 * (capture-skip.c): the tree of hard links and directories a version costs is most of
 * a second capture's time, so it is made only when someone reads the version, like a
 * version control system's checkout. xp_imgver_root does it, under the name's lock,
 * from the parent's root (checked out first, recursively), the delta and the manifest,
 * as .V.root.tmp, synced and renamed to V/root. Removing a version first checks out
 * every lazy version whose parent it is.
 *
 * A version exists iff V/meta.json exists: it is made in .V.partial, fsynced, and
 * renamed to V only when complete. A .partial left by an interrupted capture is
 * removed by the next capture of that name (under the name's lock); a numbered
 * directory without meta.json is ignored, and never reused as a number. Removing a
 * version renames it to .V.removing first, so readers see it whole or not at all.
 *
 * Manifest format (text, UTF-8 agnostic: bytes are escaped):
 *
 *   xenprov-manifest 1
 *   PATH TYPE MODE UID GID SIZE MTIME SHA256 XATTRS EXTRA
 *   ...
 *
 * one line per entry, sorted by PATH bytewise, fields separated by one space. PATH is
 * absolute inside the tree ("/" is the root itself). PATH and EXTRA are escaped: bytes
 * below 0x21, 0x7f and above, and '\' become \xHH, so no field holds a blank. TYPE is
 * one of f d l c b p s (regular, directory, symlink, char device, block device, fifo,
 * socket); MODE the permission bits in octal (07777 at most); UID and GID decimal;
 * SIZE the bytes of a regular file, the length of a symlink's target, else 0; MTIME
 * whole seconds since the epoch (may be negative); SHA256 the content hash of a regular
 * file, else "-"; XATTRS the SHA-256 of the entry's extended attributes (ACLs and file
 * capabilities included: each "name\0" then its value's length as 8 bytes little-endian
 * and the value, sorted by name), "-" with none; EXTRA: a symlink's target, a device's
 * "MAJOR:MINOR", for a regular file that is a hard link the PATH of the first (sorted)
 * entry of its group, else "-" (a target that is literally "-" is written "\x2d").
 */
#ifndef XENPROV_IMGSTORE_H
#define XENPROV_IMGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/util.h"

#define XP_IMGVER_NAME_MAX 64

/* ---- names and references ------------------------------------------------------------- */

/* Whether name can name a captured image: 1 to 64 of [A-Za-z0-9._-], starting with a
 * letter or digit (no '@', '/', ':'; not "." or ".."). */
bool xp_imgver_name_valid(const char *name);

/* Splits "NAME" (version 0: the latest) or "NAME@V" (V a decimal number >= 1, no sign,
 * no leading zero). -EINVAL with a diagnostic (code "image-ref") for anything else. */
int xp_imgver_parse_ref(const char *ref, char name[XP_IMGVER_NAME_MAX + 1], unsigned *version,
			struct xp_diags *d);

/* <state_dir>/images/captures, heap string. */
int xp_imgver_store_dir(const char *state_dir, char **out);

/* ---- versions -------------------------------------------------------------------------- */

/* One version, as its meta.json describes it. */
struct xp_imgver {
	char name[XP_IMGVER_NAME_MAX + 1];
	unsigned version;
	char *dir;     /* <state>/images/captures/NAME/V */
	char *root;    /* <dir>/root: the tree; read it only through xp_imgver_root (a lazy
			* version has none until checked out) */
	char *manifest; /* <dir>/manifest */
	int64_t time;  /* when it was captured, seconds since the epoch */
	int64_t started; /* when its capture began to read the source (0: not recorded,
			  * versions made before it was) */
	char *source;  /* what it was captured from ("host:/", "/srv/tree", "disk.qcow2") */
	char *message; /* "" when none */
	uint64_t files; /* entries of the manifest (the root directory included) */
	uint64_t bytes; /* sum of the regular files' sizes (a hard-linked file once) */
	char manifest_sha256[65];
	unsigned parent; /* a lazy version: the version its delta is on (meta.json's
			  * "parent"); 0: a whole tree */
};

void xp_imgver_release(struct xp_imgver *v);

/* Parses a meta.json (at most 1 MiB) into the descriptive fields of out (name,
 * version, time, started, source, message, files, bytes, manifest_sha256; dir, root and
 * manifest are left NULL). -EBADMSG with a diagnostic naming the field when it is not
 * what the layout says (file is the name used in messages, may be NULL). */
int xp_imgver_meta_parse(const char *json, size_t len, const char *file, struct xp_imgver *out,
			 struct xp_diags *d);

/* Serialises the descriptive fields of v as meta.json (an object, keys sorted,
 * newline-terminated). -ENOMEM. */
int xp_imgver_meta_format(const struct xp_imgver *v, struct xp_buf *out);

/* Resolves "NAME" (the latest version) or "NAME@V" in the store of state_dir into out
 * (release it). -EINVAL (bad reference), -ENOENT (no such image, or no such version:
 * the diagnostic lists the versions there are), -EBADMSG (a meta.json that does not
 * parse, or whose name or version disagrees with where it lies), each with a
 * diagnostic. */
int xp_imgver_resolve(const char *state_dir, const char *ref, struct xp_imgver *out,
		      struct xp_diags *d);

/* Where an image is taken (image build --from, a profile's image, deploy): whether
 * `from` names a captured version. A path that exists is a path (0, *out untouched);
 * otherwise a well-formed reference ("NAME", "NAME@V") is resolved into out (1), and
 * one the store does not have is -ENOENT with a diagnostic ("no such file or captured
 * image"); anything else is 0 (a path, for the caller to open and fail on). */
int xp_imgver_lookup(const char *state_dir, const char *from, struct xp_imgver *out,
		     struct xp_diags *d);

/* The tree of version v (from resolve, lookup or list of the store at state_dir): v->root,
 * checked out first when v is a lazy version (its parent's tree, the delta and the
 * removals, built as NAME/.V.root.tmp and renamed, under the name's lock, waiting for
 * it). Every reader of a version's tree calls this; *path is v->root (borrowed).
 * -errno with a diagnostic (a delta without its parent, a tree that cannot be made);
 * -EACCES, -EPERM or -EROFS (code "image-checkout") when v has no tree yet and this
 * process cannot write the store to make it (another user than the store's owner, a
 * read-only store): the diagnostic says so and what it takes. */
int xp_imgver_root(const char *state_dir, const struct xp_imgver *v, const char **path,
		   struct xp_diags *d);

/* All versions of name, oldest first, into *v (*n of them; release with
 * xp_imgver_list_free). -EINVAL for a bad name, -ENOENT with a diagnostic when the
 * store has no image of that name (a name whose versions were all removed lists
 * none: 0 with *n == 0). */
int xp_imgver_list(const char *state_dir, const char *name, struct xp_imgver **v, size_t *n,
		   struct xp_diags *d);
void xp_imgver_list_free(struct xp_imgver *v, size_t n);

/* The names of the store's images, sorted (heap array of heap strings, *n of them;
 * free each and the array). A store that does not exist yet has none. */
int xp_imgver_names(const char *state_dir, char ***names, size_t *n);

/* Removes version `version` of name: each lazy version whose parent it is checked out
 * first, then it is renamed to .V.removing under the name's lock, then deleted (a version other
 * versions are hard-linked to loses only its own links). Whether it is in use is the caller's
 * question. -ENOENT with a diagnostic. */
int xp_imgver_remove(const char *state_dir, const char *name, unsigned version,
		     struct xp_diags *d);

/* Who uses version `version` of name (inventory/image-users.c): "profile P" for each
 * profile whose own image is NAME@V, or NAME when latest (V is the latest version);
 * "guest G" for each guest whose recorded image version (the domain_images table,
 * `domain list`'s IMAGE) is NAME@V, where the inventory has that table
 * (*guests_known says whether it does). Heap strings in *users (*n), free each and the
 * array. -errno of the inventory. */
struct xp_inv;
int xp_imgver_users(struct xp_inv *inv, const char *name, unsigned version, bool latest,
		    char ***users, size_t *n, bool *guests_known);

/* ---- manifests ------------------------------------------------------------------------- */

struct xp_manifest_entry {
	char *path;   /* "/", "/etc", "/etc/passwd" */
	char type;    /* 'f' 'd' 'l' 'c' 'b' 'p' 's' */
	uint32_t mode; /* permission bits (07777) */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime;
	char sha256[65]; /* regular files; "" otherwise */
	char xattrs[65]; /* "" when the entry has none */
	char *extra;     /* symlink target, "MAJOR:MINOR", hard link's first path; NULL */
};

struct xp_manifest {
	struct xp_manifest_entry *v; /* sorted by path */
	size_t n, cap;
};

void xp_manifest_release(struct xp_manifest *m);

/* Parses a manifest (the format above). Entries must be sorted and unique, fields
 * well-formed. -EBADMSG with a diagnostic (file:line) for anything else; -ENOMEM. */
int xp_manifest_parse(const char *text, size_t len, const char *file, struct xp_manifest *out,
		      struct xp_diags *d);
/* Reads and parses the manifest file at path (at most 1 GiB). */
int xp_manifest_read(const char *path, struct xp_manifest *out, struct xp_diags *d);
/* Writes m in the manifest format (entries must be sorted). -ENOMEM. */
int xp_manifest_format(const struct xp_manifest *m, struct xp_buf *out);
/* The entry for path, or NULL (binary search). */
const struct xp_manifest_entry *xp_manifest_find(const struct xp_manifest *m, const char *path);

/* Lists the tree at root (not following symlinks) into out, sorted, content hashed. With prev (may be NULL) the manifest of the tree at prev_root: a regular
 * file that is the same inode as prev's file of the same path (rsync --link-dest made
 * it a hard link) takes its hash from prev instead of being read again. -errno with a
 * diagnostic. */
int xp_manifest_scan(const char *root, const struct xp_manifest *prev, const char *prev_root,
		     struct xp_manifest *out, struct xp_diags *d);

/* Counts of a manifest: entries, and bytes of regular files (each hard-link group
 * once). */
void xp_manifest_totals(const struct xp_manifest *m, uint64_t *files, uint64_t *bytes);

/* ---- capture (capture.c) --------------------------------------------------------------- */

enum xp_capture_kind {
	XP_CAPTURE_NONE, /* none of the below (not found) */
	XP_CAPTURE_SSH,  /* HOST:DIR or USER@HOST:DIR: rsync over ssh */
	XP_CAPTURE_DIR,  /* a local directory: rsync */
	XP_CAPTURE_DISK, /* a disk image (raw, qcow2) or block device: libext2fs */
};

/* What source names, by rsync's rule (a ':' before any '/' is a remote host), else by
 * what is there (a directory, a regular file or block device). */
enum xp_capture_kind xp_capture_source_kind(const char *source);

/* The default exclusions, 0 <= i < xp_capture_default_count(): a short name (to switch
 * it off), what it is, and its patterns (rsync's, anchored at the tree's top),
 * appended to patterns separated by blanks. -EINVAL past the end. */
size_t xp_capture_default_count(void);
int xp_capture_default(size_t i, const char **name, const char **what, struct xp_buf *patterns);
/* The index of the default exclusion of that name, or -ENOENT. */
int xp_capture_default_find(const char *name);

struct xp_capture_opts {
	const char *state_dir;
	const char *name;   /* the image: a new version of it is made */
	const char *source; /* as the operator wrote it (recorded in meta.json) */
	enum xp_capture_kind kind;
	const char *disk;   /* XP_CAPTURE_DISK: the image file (a guest's, resolved by the
			     * caller), else NULL: source */
	const char *const *excludes; /* more rsync exclude patterns */
	size_t nexcludes;
	uint64_t default_off; /* bit i: default exclusion i switched off */
	const char *ssh_user;	 /* NULL: ssh's default */
	const char *ssh_command; /* rsync --rsh; NULL: rsync's default (ssh) */
	const char *message;
	bool all_filesystems; /* without: rsync --one-file-system */
	bool use_rsync; /* a local directory: copied by rsync, not by xenprov's own copy
			 * (capture-copy.c; which also copies with rsync when an exclusion
			 * is beyond its matcher) */
	/* progress lines (rsync's --info=progress2, then the phases); NULL: none */
	void (*progress)(void *ud, const char *line);
	/* whether to give up (the operator's ^C), asked once a second and after each
	 * signal while rsync runs; then rsync is stopped and xp_capture is -ECANCELED,
	 * leaving nothing. NULL: never. */
	bool (*cancelled)(void *ud);
	void *ud;
};

struct xp_capture_result {
	struct xp_imgver version; /* the new version (release it) */
	unsigned prev_version;	  /* 0: it is the first */
	uint64_t new_bytes;	  /* regular files new or changed since the previous version */
	uint64_t skipped;	  /* a local tree: entries linked to the previous version by
				   * xenprov's own walk, unseen by rsync (capture-skip.c) */
	bool vanished;		  /* some files vanished while they were copied (rsync's
				   * exit 24) */
	const char *copier;	  /* what copied the files: "xenprov" (capture-copy.c),
				   * "rsync", "libext2fs" (a disk image); static */
	double seconds;
};

/* Captures o->source into a new version of o->name: pulled into .V.partial with rsync
 * -aHAXS --numeric-ids (--one-file-system unless all_filesystems; --link-dest to the
 * previous version; a local directory's later captures link what did not change
 * themselves and give rsync only the rest, capture-skip.c), or read from the ext2/3/4
 * root of a disk image through libext2fs without mounting; the exclusions applied;
 * /etc/machine-id left empty (unless that exclusion is off); listed into the manifest;
 * committed. On any failure nothing of the new version is left. Errors with a
 * diagnostic: rsync's own message (-EIO), an unreachable host (-EHOSTUNREACH), no rsync
 * (-ENOENT, code "no-rsync"), a busy name (-EBUSY), -errno. */
int xp_capture(const struct xp_capture_opts *o, struct xp_capture_result *res,
	       struct xp_diags *d);

#endif
