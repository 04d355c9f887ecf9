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
 *                                            xattrs, ACLs, devices, times
 *   <state>/images/captures/NAME/V/meta.json name, version, time, source, message,
 *                                            files, bytes, manifest_sha256
 *   <state>/images/captures/NAME/V/manifest  the sorted list of every entry of root
 *                                            (format below); manifest_sha256 is the
 *                                            SHA-256 of this file
 *   <state>/images/captures/NAME/.V.partial  a version being made (rsync --link-dest
 *                                            to V-1, so unchanged files share inodes)
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
	char *root;    /* <dir>/root: the tree */
	char *manifest; /* <dir>/manifest */
	int64_t time;  /* when it was captured, seconds since the epoch */
	char *source;  /* what it was captured from ("host:/", "/srv/tree", "disk.qcow2") */
	char *message; /* "" when none */
	uint64_t files; /* entries of the manifest (the root directory included) */
	uint64_t bytes; /* sum of the regular files' sizes (a hard-linked file once) */
	char manifest_sha256[65];
};

void xp_imgver_release(struct xp_imgver *v);

/* Parses a meta.json (at most 1 MiB) into the descriptive fields of out (name,
 * version, time, source, message, files, bytes, manifest_sha256; dir, root and
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

/* Removes version `version` of name: renamed to .V.removing under the name's lock,
 * then deleted (a version other versions are hard-linked to loses only its own
 * links). Whether it is in use is the caller's question. -ENOENT with a diagnostic. */
int xp_imgver_remove(const char *state_dir, const char *name, unsigned version,
		     struct xp_diags *d);

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

/* Lists the tree at root (not following symlinks, not crossing into other
 * filesystems' contents: what is there is listed as it is) into out, sorted, content
 * hashed. With prev (may be NULL) the manifest of the tree at prev_root: a regular
 * file that is the same inode as prev's file of the same path (rsync --link-dest made
 * it a hard link) takes its hash from prev instead of being read again. -errno with a
 * diagnostic. */
int xp_manifest_scan(const char *root, const struct xp_manifest *prev, const char *prev_root,
		     struct xp_manifest *out, struct xp_diags *d);

/* Counts of a manifest: entries, and bytes of regular files (each hard-link group
 * once). */
void xp_manifest_totals(const struct xp_manifest *m, uint64_t *files, uint64_t *bytes);

#endif
