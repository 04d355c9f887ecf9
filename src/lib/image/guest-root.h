/*
 * guest-root.h - where a guest's disk keeps its root filesystem and its swap area: the
 * one scan guest-edit.c (per-guest settings) and guest-update.c (offline image update)
 * both make, so they always pick the same partition.
 */
#ifndef XP_IMAGE_GUEST_ROOT_H
#define XP_IMAGE_GUEST_ROOT_H

#include <stdbool.h>
#include <stdint.h>

#include "xenprov/extfs.h"
#include "xenprov/util.h"

struct xp_blockdev;

struct xp__guest_root {
	struct xp_blockdev *bd; /* open, with keep */
	struct xp_fs *fs;	/* the root filesystem, open, with keep */
	uint64_t off;		/* its byte offset */
	unsigned number;	/* its partition's number; 0: the disk has no table */
	struct xp_fs_info info;
	bool have_swap; /* the first Linux swap area of the table: */
	uint64_t swap_off;
	char swap_uuid[37]; /* "" if it has none */
};

/* Opens image (raw or qcow2) and its partition table; the root filesystem is the first
 * ext2/3/4 filesystem with an /etc directory that is not a swap area (the whole disk
 * when it has no table). 0; -ENOENT with a "no-root" diagnostic when there is none;
 * -errno. With keep, out->bd and out->fs stay open for the caller
 * (xp__guest_root_close); without, both are closed. */
int xp__guest_find_root(const char *image, struct xp_diags *d, bool keep,
			struct xp__guest_root *out);
void xp__guest_root_close(struct xp__guest_root *r);

#endif
