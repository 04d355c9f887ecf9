/*
 * capture-disk.c - `image capture` of a disk image (raw, qcow2, a block device, a
 * guest's disk): its root filesystem, the first ext2/3/4 volume found through the
 * partition table, copied out through libext2fs without mounting (xp_fs_extract) into
 * a staging directory inside the new version, then put in place by the same rsync as
 * every other capture (capture.c), with the same exclusions, hard-linked to the
 * previous version where a file is unchanged and to the staged copy where it is not,
 * so no byte is copied twice. The staging directory goes before the commit.
 *
 * Not here: the rsync, the store (capture.c, imgstore.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/imgstore-internal.h"
#include "import/import-internal.h"
#include "util/cleanup.h"
#include "xenprov/extfs.h"
#include "xenprov/image.h"

int xp__capture_disk(const struct xp_capture_opts *o, struct xp_imgver_new *nv,
		     const char *link_dest, bool *vanished, struct xp_diags *d)
{
	const char *disk = o->disk ? o->disk : o->source;
	*vanished = false;
	struct xp_image_info info;
	const struct xp_image_volume *root = NULL;
	int r = xp_image_info_root(disk, &info, &root, d);
	if (r < 0)
		return r;
	unsigned part = root ? root->partition : 0;
	bool found = root != NULL;
	xp_image_info_release(&info);
	if (!found)
		return xp_diags_refuse(d, -EINVAL, "source", disk, NULL,
				       "cannot capture '%s': no ext2/3/4 filesystem in it", disk);
	struct xp_blockdev *bd = NULL;
	struct xp_fs *fs = NULL;
	if ((r = xp_image_open_fs(disk, part, &bd, &fs)) < 0)
		return xp_diags_fail(d, r, disk, "source", NULL,
				     "cannot open its filesystem: %s", strerror(-r));
	_cleanup_free_ char *stage = NULL, *from = NULL, *to = NULL;
	if (asprintf(&stage, "%s/stage", nv->partial) < 0 || asprintf(&from, "%s/", stage) < 0 ||
	    asprintf(&to, "%s/", nv->root) < 0) {
		r = -ENOMEM;
		goto out;
	}
	if (mkdir(stage, 0700) < 0) {
		r = xp_diags_fail(d, -errno, stage, NULL, NULL, "cannot create: %s", strerror(errno));
		goto out;
	}
	if (o->progress)
		o->progress(o->ud, "reading the disk image's filesystem");
	if ((r = xp_fs_extract(fs, stage, disk, d)) < 0)
		goto out;
	xp_fs_close(fs);
	fs = NULL;
	xp_blockdev_close(bd);
	bd = NULL;
	/* the previous version first: an unchanged file is linked to it, a changed one to
	 * its staged copy (rsync(1): --link-dest DIRs are searched in order) */
	struct xp_capture_opts lo = *o;
	lo.kind = XP_CAPTURE_DIR;
	lo.all_filesystems = true;
	r = xp_capture_fill(&lo, from, to, link_dest, stage, false, vanished, d);
out:
	xp_fs_close(fs);
	xp_blockdev_close(bd);
	if (stage) {
		int pfd = open(nv->partial, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0) {
			int rr = xp__tree_remove(pfd, "stage");
			if (rr < 0 && r == 0)
				r = xp_diags_fail(d, rr, stage, NULL, NULL, "cannot remove: %s",
						  strerror(-rr));
			close(pfd);
		}
	}
	return r;
}
