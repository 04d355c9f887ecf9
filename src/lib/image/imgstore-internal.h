/*
 * imgstore-internal.h - the making of a new version in the image store, shared by
 * imgstore.c (the store) and capture.c (what fills it). Not public API.
 */
#ifndef XP_IMAGE_IMGSTORE_INTERNAL_H
#define XP_IMAGE_IMGSTORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "xenprov/imgstore.h"

/* A version being made: NAME/.V.partial/root is filled by the caller, then committed
 * or aborted. The name's lock is held meanwhile. */
struct xp_imgver_new {
	char name[XP_IMGVER_NAME_MAX + 1];
	unsigned version;
	char *ndir;    /* <state>/images/captures/NAME */
	char *partial; /* ndir/.V.partial */
	char *root;    /* partial/root, created empty (partial/delta once the capture
			* makes a lazy version: xp__imgver_to_delta) */
	bool has_prev;
	struct xp_imgver prev; /* the latest version, when has_prev */
	bool lazy;	       /* a delta on prev (xp__imgver_to_delta) */
	int lock;
};

/* <state>/images/captures/NAME (heap). */
int xp__imgver_name_dir(const char *state_dir, const char *name, char **out);
/* Loads version `version` of the image whose directory is ndir; -ENOENT (no
 * diagnostic) when it has no meta.json. */
int xp__imgver_load(const char *ndir, const char *name, unsigned version, struct xp_imgver *out,
		    struct xp_diags *d);
/* imgstore-checkout.c: checks out v (a version of the image whose directory is ndir)
 * when it is lazy and not yet checked out, its parents first. The caller holds the
 * name's lock. */
int xp__imgver_checkout_locked(const char *ndir, const struct xp_imgver *v, struct xp_diags *d);
/* The nearest version at or below v (v itself, its parent, ...) whose tree exists, into
 * *base (release it). -ENOENT with a diagnostic when none has. */
int xp__imgver_base(const char *ndir, const struct xp_imgver *v, struct xp_imgver *base,
		    struct xp_diags *d);
/* Makes the xattrs of dst (not followed) exactly those of src (not followed). */
int xp__copy_xattrs(const char *src, const char *dst);
/* The directory dst given st's owner, then src's xattrs (ACLs), then st's mode, then
 * its mtime, in that order (chown may clear mode bits; a new directory inherited its
 * parent's default ACL). 0 or -errno. */
int xp__dir_attrs_set(const struct stat *st, const char *src, const char *dst);

/* capture-copy.c: a regular file the copy wrote, by its new inode, and the SHA-256 of
 * the bytes it wrote (64 hex digits). */
struct xp_copied {
	dev_t dev;
	ino_t ino;
	char sha256[65];
};
struct xp_rsync_filter;
/* Copies the local tree o->source into the directory to as rsync -aHAXS --numeric-ids
 * (--one-file-system unless o->all_filesystems) with the exclusions of f (NULL: none)
 * would: the whole tree (list NULL: its content, then to given the source root's
 * attributes), or the entries of list ("a/b" NUL-ended each, list_len bytes; a directory
 * with its content; their directories already in to). base (may be NULL): a lazy
 * version's base tree and base_m its manifest: a listed file found the same there (size,
 * ns mtime, owner, mode, xattrs, bytes; a hard-link group's first path too, each base
 * inode once) is linked to it, not copied, as rsync's --link-dest would. *copied: the files written and
 * their hashes, sorted for xp__copied_find (free it). *vanished: something vanished
 * meanwhile (left out). o->progress and o->cancelled as rsync's. -errno with a
 * diagnostic; what it made is the caller's to remove. */
int xp__capture_copy(const struct xp_capture_opts *o, const struct xp_rsync_filter *f,
		     const char *to, const char *list, size_t list_len, const char *base,
		     const struct xp_manifest *base_m, struct xp_copied **copied,
		     size_t *ncopied, bool *vanished, struct xp_diags *d);
const struct xp_copied *xp__copied_find(const struct xp_copied *v, size_t n, dev_t dev,
					ino_t ino);
/* manifest.c: the manifest's XATTRS field of the entry at path (not followed): the
 * SHA-256 of its xattrs, "" with none. 0, -E2BIG, -ENOMEM, -errno. */
int xp__xattrs_hash(const char *path, char out[65]);
/* manifest.c: xp_manifest_scan, a regular file found in copied (by inode) taking its
 * hash from there instead of being read. */
int xp__manifest_scan_known(const char *root, const struct xp_manifest *prev,
			    const char *prev_root, const struct xp_copied *copied, size_t ncopied,
			    struct xp_manifest *out, struct xp_diags *d);

/* Locks the name (-EBUSY if another process holds it), removes leftovers of
 * interrupted captures, picks the next number and creates .V.partial/root. */
int xp__imgver_begin(const char *state_dir, const char *name, struct xp_imgver_new *nv,
		     struct xp_diags *d);
/* Writes manifest and meta.json (meta's time, source, message, files and bytes; name,
 * version and manifest_sha256 are filled in here), syncs, renames into place. nv is
 * still to be released with xp__imgver_abort (which then removes nothing). */
int xp__imgver_commit(struct xp_imgver_new *nv, const char *manifest_text, size_t manifest_len,
		      struct xp_imgver *meta, struct xp_diags *d);
/* Makes the version being made a lazy one on nv->prev.version: partial/root becomes
 * partial/delta (nv->root follows) and meta's parent is set at commit. */
int xp__imgver_to_delta(struct xp_imgver_new *nv, struct xp_diags *d);
/* Removes .V.partial (if not committed), unlocks, frees. */
void xp__imgver_abort(struct xp_imgver_new *nv);

/* capture.c: rsync from `from` into root (both with a trailing '/') with o's flags,
 * exclusions and --link-dest link_dest, then link_dest2 (each may be NULL), without
 * -S when dense (no sparse file to look for), then /etc/machine-id emptied. */
int xp_capture_fill(const struct xp_capture_opts *o, const char *from, const char *root,
		    const char *link_dest, const char *link_dest2, bool dense, bool *vanished,
		    struct xp_diags *d);
/* capture-disk.c: fills nv->root from the disk image o->disk (or o->source). */
int xp__capture_disk(const struct xp_capture_opts *o, struct xp_imgver_new *nv,
		     const char *link_dest, bool *vanished, struct xp_diags *d);

/* capture-skip.c: a local tree's second capture without rsync's walk of what did not
 * change. The walk records the source's directories (device, inode, path) as the new
 * version's srcindex; when the previous version has one made with the same source and
 * exclusion options (its key), it also finds what did not change since: the directories
 * that are the same inodes at the same paths as then (`dirs`), and the entries whose
 * ctime is older than the previous capture's start and whose manifest entry agrees
 * (`linked`: the new version takes the previous manifest's lines for them); the rest
 * goes to `list` (NUL-separated, relative) for rsync -r --files-from into the new
 * version's delta, which applies the exclusions to them. The same walk (the only one of
 * a local source) notes whether a file may be sparse and the regular files whose ctime
 * is at or after recent_since (< 0: none), for verify_recent. */
struct xp_capture_skip_dir {
	char *rel; /* "" for the root */
	struct stat st;
	bool clean; /* its ctime is older than the previous capture's start */
	bool made;  /* made in the delta: its attributes are set by finish */
};
struct xp_capture_skip {
	bool active; /* the new version is a delta: rsync gets only `list` */
	bool all_filesystems;
	struct xp_buf index; /* the new srcindex */
	struct xp_buf list;
	struct xp_buf linked; /* the unchanged non-directories, "/a/b\0" each */
	size_t nlisted, nlinked;
	struct xp_capture_skip_dir *dirs; /* pre-order */
	size_t ndirs, dcap;
	bool new_mount; /* a directory rsync is to copy whole is on another filesystem
			 * (rsync would enter it: capture.c then lets rsync copy the whole
			 * tree; xenprov's own copy does not enter it) */
	bool sparse;   /* a regular file may be sparse (st_blocks below its size), or
			* something could not be read: rsync -S */
	char **verify; /* regular files changed since recent_since, and those below a
			* directory rsync copies whole that the previous manifest has at the
			* same path: to verify by content (capture.c, verify_recent) */
	size_t nverify, vcap;
};
int xp__capture_skip_walk(struct xp_capture_skip *s, const struct xp_capture_opts *o,
			  const char *prev_dir, const struct xp_manifest *prev,
			  int64_t prev_started, int64_t recent_since, struct xp_diags *d);
int xp__capture_skip_finish(struct xp_capture_skip *s, const char *source, const char *new_root,
			    struct xp_diags *d);
void xp__capture_skip_release(struct xp_capture_skip *s);
/* Marks the directories the delta needs (the root, each one whose ctime is
 * recent: attributes or entries changed, each one holding an entry of `list`, /etc when
 * etc, and their ancestors) and makes them in delta, pre-order; finish sets their
 * attributes after rsync. */
int xp__capture_skip_make_dirs(struct xp_capture_skip *s, const char *delta, bool etc,
			       struct xp_diags *d);
/* A srcindex's directory (capture-skip.c). */
struct xp_srcindex_entry {
	const char *path; /* into the parsed text */
	uint64_t dev, ino;
};
/* Parses a srcindex ("xenprov-srcindex 1 KEY\n", then "DEV INO PATH\0" per directory,
 * DEV and INO decimal, PATH absolute) into *out sorted by path (*n; free the array, the
 * paths point into text). An index made with another key than key (64 hex digits) is
 * 0 with *n == 0: nothing to skip. -EBADMSG for anything else, -ENOMEM. */
int xp__srcindex_parse(const char *text, size_t len, const char *key,
		       struct xp_srcindex_entry **out, size_t *n);

#endif
