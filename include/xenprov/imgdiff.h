/*
 * xenprov/imgdiff.h - the difference between two versions of an image tree, and a
 * guest brought from one version to the other.
 *
 * A version of a captured image is a plain directory tree (the image store's
 * `<state>/images/captures/NAME/V/root`, made by rsync with --link-dest, so that a file
 * the two versions share is one inode). xp_tdiff_trees compares two such trees (or any
 * two directories) exactly: added, removed and changed entries with what changed (type,
 * mode, owner, size, content, modification time, link target, device number, extended
 * attributes), in one sorted order. Same (device, inode) on both sides means unchanged
 * without reading either; otherwise contents are compared byte by byte.
 *
 * xp_guest_update_plan/_apply bring a guest's root filesystem (raw or qcow2 disk image,
 * offline, through libext2fs: image/guest-update.c) from the old tree to the new one:
 * the guest's own files (xp_guest_own_path, guest.h) are left as they are, and an entry
 * the guest changed itself (its file differs from the old version's) is a conflict,
 * refused unless overridden.
 *
 * Not here: the image store (capture, versions, NAME@V: xenprov/imgstore.h), the
 * inventory's record of a guest's version (inventory.h), running guests (rsync over ssh,
 * src/cmd/cmd-image-update.c).
 */
#ifndef XENPROV_IMGDIFF_H
#define XENPROV_IMGDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xenprov/util.h"

enum xp_tdiff_kind {
	XP_TDIFF_ADDED,
	XP_TDIFF_REMOVED,
	XP_TDIFF_CHANGED,
};

/* What changed of an entry present in both trees (xp_tdiff_entry.what). */
enum {
	XP_TDIFF_TYPE = 1u << 0,    /* a file became a directory, ... (old removed, new added) */
	XP_TDIFF_MODE = 1u << 1,    /* permission bits */
	XP_TDIFF_OWNER = 1u << 2,   /* uid or gid */
	XP_TDIFF_SIZE = 1u << 3,    /* a regular file's size */
	XP_TDIFF_CONTENT = 1u << 4, /* a regular file's bytes */
	XP_TDIFF_MTIME = 1u << 5,   /* a non-directory's modification time (seconds) */
	XP_TDIFF_TARGET = 1u << 6,  /* a symlink's target */
	XP_TDIFF_RDEV = 1u << 7,    /* a device's number */
	XP_TDIFF_XATTR = 1u << 8,   /* extended attributes (ACLs, capabilities, labels) */
	XP_TDIFF_LINK = 1u << 9,    /* which other paths it is hard-linked with */
};

/* One side of an entry, as lstat(2) and readlink(2) saw it. */
struct xp_tstat {
	mode_t mode; /* S_IFMT and permission bits; 0 for the missing side */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime; /* seconds */
	uint32_t mtime_ns;
	uint64_t rdev;
	char *target; /* a symlink's */
};

struct xp_tdiff_entry {
	char *path; /* absolute inside the tree: "/etc/motd" */
	enum xp_tdiff_kind kind;
	unsigned what; /* XP_TDIFF_* bits, for XP_TDIFF_CHANGED */
	struct xp_tstat old, new;
	/* a regular file of the new tree that is a hard link of an earlier path of the new
	 * tree (in this order): that path; else NULL */
	char *link;
};

struct xp_tdiff {
	struct xp_tdiff_entry *v; /* pre-order: a directory before what is in it, names in
				   * strcmp order (removed and added of one path: the same
				   * entry, XP_TDIFF_TYPE) */
	size_t n;
	size_t added, removed, changed;
};

/* Compares the trees at old_root and new_root (directories; symlinks inside never
 * followed). A directory's modification time is not a change (it moves with every name
 * added or removed in it); everything else lstat shows is. Errors: -ENOENT, -ENOTDIR,
 * -EACCES for a root or an entry that cannot be read (a diagnostic naming it). */
int xp_tdiff_trees(const char *old_root, const char *new_root, struct xp_tdiff *out,
		   struct xp_diags *d);
void xp_tdiff_release(struct xp_tdiff *t);

/* "added", "removed", "changed"; the names of the XP_TDIFF_* bits ("type", "mode",
 * "owner", "size", "content", "mtime", "target", "rdev", "xattr", "link"). */
const char *xp_tdiff_kind_name(enum xp_tdiff_kind k);
const char *xp_tdiff_what_name(unsigned bit);
/* 'f', 'd', 'l', 'c', 'b', 'p', 's', or '-' for mode 0. */
char xp_tdiff_type_char(mode_t mode);

/* ---- a guest brought to another version (image/guest-update.c) ------------------------ */

/* What an update does to one path of the guest. */
enum xp_gupd_action {
	XP_GUPD_ADD,	  /* make it as the new tree has it */
	XP_GUPD_CHANGE,	  /* replace or adjust it as the new tree has it */
	XP_GUPD_REMOVE,	  /* remove it */
	XP_GUPD_KEEP,	  /* the guest's own file: left as the guest has it */
	XP_GUPD_CONFLICT, /* the guest changed it itself: refused without override */
	XP_GUPD_SAME,	  /* the guest already has it as the new tree does: nothing to do */
};

struct xp_gupd_item {
	size_t entry; /* index in the diff */
	enum xp_gupd_action action;
	const char *why; /* a conflict's: "changed by the guest", "missing in the guest",
			  * "added by the guest" (static) */
};

struct xp_gupd_plan {
	struct xp_gupd_item *v; /* the diff's order */
	size_t n;
	size_t add, change, remove, keep, conflict, same;
	uint64_t root_off; /* byte offset of the root filesystem in the image */
};

void xp_gupd_plan_release(struct xp_gupd_plan *p);
const char *xp_gupd_action_name(enum xp_gupd_action a);

/* Reads the guest's disk (raw or qcow2; bare filesystem or partitioned, the ext2/3/4
 * filesystem with /etc) and decides, for every entry of diff (old_root -> new_root),
 * what an update does: the guest's own files (xp_guest_own_path) are kept; an entry the
 * guest has as the new tree has it is the same; an entry whose guest side differs from
 * the old tree's (content, type, link target; a file the guest removed; one it added
 * where the new version adds one) is a conflict. Reads only. */
int xp_guest_update_plan(const char *image, const char *old_root, const char *new_root,
			 const struct xp_tdiff *diff, struct xp_gupd_plan *plan,
			 struct xp_diags *d);

/* Applies plan (from xp_guest_update_plan of the same image and trees) to the image:
 * with override the conflicts are applied too, else a plan with conflicts is refused
 * (-EEXIST) before anything is written. Files come from new_root with their data,
 * mode, owner, times and extended attributes; symlinks, directories, devices, FIFOs,
 * removals and hard links as the new tree has them. The update is made on a copy of
 * the disk beside it (a reflink where the filesystem can, else a sparse copy; a qcow2
 * overlay's own file, never its backing file), which replaces the disk by rename(2)
 * only once every change is written and synced, so a failure leaves the disk as it
 * was. A plan with nothing to write leaves the disk alone (no copy). flags: XP_GFS_NOSYNC-like XP_GUPD_NOSYNC (no fsync; the caller syncs). */
#define XP_GUPD_NOSYNC 1u
int xp_guest_update_apply(const char *image, const char *new_root, const struct xp_tdiff *diff,
			  const struct xp_gupd_plan *plan, bool override, unsigned flags,
			  struct xp_diags *d);

#endif
