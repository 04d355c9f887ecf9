/*
 * extfs-rwio.c - a disk image opened for writing (a raw file or block device, or a
 * qcow2 image through the copy-on-write layer of qcow2-rw.c) and a read-write
 * libext2fs io_manager over it at a byte offset, so that a guest's filesystem is
 * edited with libext2fs without a loop device or a mount: the disk is a device of
 * xenprov's io_manager (extfs-iochan.c), its channels named "xp-rwdisk:%p:OFFSET".
 *
 * The image is locked with flock(2) for the session, so two xenprov processes never
 * edit one image at once.
 *
 * Not here: the io_manager itself (extfs-iochan.c), the edits (guest-edit.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "image/blockdev-internal.h"
#include "image/extfs-iochan.h"
#include "image/rwdisk-internal.h"
#include "xenprov/util.h"

struct xp_rwdisk {
	enum xp_image_format format;
	int fd; /* raw I/O, and the lock for both formats */
	unsigned flags; /* XP_RWDISK_* */
	uint64_t size;
	struct xp_qcow2_rw *q;
	int err;
	char msg[256];
};

enum xp_image_format xp_rwdisk_format(const struct xp_rwdisk *d)
{
	return d->format;
}

uint64_t xp_rwdisk_size(const struct xp_rwdisk *d)
{
	return d->size;
}

const char *xp_rwdisk_errmsg(const struct xp_rwdisk *d)
{
	if (d->format == XP_IMAGE_QCOW2 && d->q && xp_qcow2_rw_errmsg(d->q)[0])
		return xp_qcow2_rw_errmsg(d->q);
	return d->msg;
}

int xp_rwdisk_open(const char *path, unsigned flags, struct xp_rwdisk **ret,
		   struct xp_diags *diags)
{
	if (!path || !ret)
		return -EINVAL;
	*ret = NULL;
	size_t before = diags ? diags->n + diags->dropped : 0;
	struct xp_rwdisk *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	int r;
	d->flags = flags;
	if ((d->fd = xp__image_open_fd(path, O_RDWR, diags)) < 0) {
		r = d->fd;
		goto fail;
	}
	if (flock(d->fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		xp__image_open_err(diags, "'%s' is being edited by another process", path);
		goto fail;
	}
	off_t end = lseek(d->fd, 0, SEEK_END);
	if (end < 0) {
		r = -errno;
		goto fail;
	}
	unsigned char magic[4] = {0};
	if (end >= 4 && pread(d->fd, magic, 4, 0) != 4) {
		r = -EIO;
		goto fail;
	}
	if (xp_be32(magic) == QCOW2_MAGIC) {
		d->format = XP_IMAGE_QCOW2;
		r = xp_qcow2_rw_open(path, &d->q, diags);
		if (r < 0)
			goto fail;
		d->size = xp_qcow2_rw_size(d->q);
	} else {
		d->format = XP_IMAGE_RAW;
		d->size = (uint64_t)end;
	}
	*ret = d;
	return 0;
fail:
	if (d->fd >= 0)
		close(d->fd);
	free(d);
	return xp__image_open_end(diags, before, path, r);
}

int xp_rwdisk_pread(struct xp_rwdisk *d, void *buf, size_t len, uint64_t offset)
{
	if (!d || offset > d->size || len > d->size - offset)
		return -EINVAL;
	if (d->format == XP_IMAGE_QCOW2)
		return xp_qcow2_rw_pread(d->q, buf, len, offset);
	int r = xp_pread_full(d->fd, buf, len, offset);
	if (r < 0)
		snprintf(d->msg, sizeof(d->msg), "read at 0x%llx: %s", (unsigned long long)offset,
			 strerror(-r));
	return r;
}

int xp_rwdisk_pwrite(struct xp_rwdisk *d, const void *buf, size_t len, uint64_t offset)
{
	if (!d || offset > d->size || len > d->size - offset)
		return -EINVAL;
	int r = 0;
	if (d->format == XP_IMAGE_QCOW2) {
		r = xp_qcow2_rw_pwrite(d->q, buf, len, offset);
	} else {
		r = xp_pwrite_full(d->fd, buf, len, offset);
		if (r < 0)
			snprintf(d->msg, sizeof(d->msg), "write at 0x%llx: %s",
				 (unsigned long long)offset, strerror(-r));
	}
	if (r < 0 && !d->err)
		d->err = r;
	return r;
}

int xp_rwdisk_resize(struct xp_rwdisk *d, uint64_t size)
{
	if (!d || size < d->size)
		return -EINVAL;
	int r = 0;
	if (d->format == XP_IMAGE_QCOW2) {
		r = xp_qcow2_rw_resize(d->q, size);
	} else if (size > d->size) {
		struct stat st;
		if (fstat(d->fd, &st) < 0)
			r = -errno;
		else if (!S_ISREG(st.st_mode))
			r = -ENOSPC; /* a device is grown by its owner (lvextend) first */
		else if (ftruncate(d->fd, (off_t)size) < 0)
			r = -errno;
		if (r < 0)
			snprintf(d->msg, sizeof(d->msg), "cannot grow to %llu bytes: %s",
				 (unsigned long long)size,
				 r == -ENOSPC ? "the device is smaller" : strerror(-r));
	}
	if (r == 0)
		d->size = size;
	return r;
}

int xp_rwdisk_close(struct xp_rwdisk *d)
{
	if (!d)
		return 0;
	int r = d->err;
	if (d->format == XP_IMAGE_QCOW2) {
		int qr = xp_qcow2_rw_close(d->q);
		if (qr < 0 && r == 0)
			r = qr;
	} else if (d->flags & XP_RWDISK_NOSYNC) {
		/* start the writeback now, so that the caller's one sync later has less to
		 * wait for (a hint: errors show there) */
		sync_file_range(d->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	} else if (fsync(d->fd) < 0 && r == 0 && errno != EINVAL) {
		r = -errno;
	}
	if (close(d->fd) < 0 && r == 0)
		r = -errno;
	free(d);
	return r;
}

/* ---- as a device of the io_manager (extfs-iochan.c) ------------------------------------ */

static uint64_t rw_size(const void *dev)
{
	return xp_rwdisk_size(dev);
}

static int rw_pread(void *dev, void *buf, size_t len, uint64_t off)
{
	return xp_rwdisk_pread(dev, buf, len, off);
}

static int rw_pwrite(void *dev, const void *buf, size_t len, uint64_t off)
{
	return xp_rwdisk_pwrite(dev, buf, len, off);
}

const struct xp_iochan_dev xp_rwdisk_iochan = {
    .prefix = "xp-rwdisk:",
    .size = rw_size,
    .pread = rw_pread,
    .pwrite = rw_pwrite,
};

int xp_extfs_rwio_name(struct xp_rwdisk *d, uint64_t offset, char *buf, size_t len)
{
	return xp_iochan_name(&xp_rwdisk_iochan, d, offset, buf, len);
}
