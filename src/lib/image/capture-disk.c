/*
 * capture-disk.c - `image capture` of a disk image: its ext2/3/4 root read through
 * libext2fs without mounting.
 */
#include <errno.h>

#include "image/imgstore-internal.h"

int xp__capture_disk(const struct xp_capture_opts *o, struct xp_imgver_new *nv,
		     const char *link_dest, bool *vanished, struct xp_diags *d)
{
	(void)nv;
	(void)link_dest;
	*vanished = false;
	return xp_diags_refuse(d, -ENOTSUP, "source", o->source, NULL,
			       "cannot capture '%s': capturing a disk image is not done yet",
			       o->source);
}
