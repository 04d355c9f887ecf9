/*
 * extfs-rwio.c - a disk image opened for writing (a raw file or block device, or a
 * qcow2 image through the copy-on-write layer of qcow2-rw.c) and a read-write
 * libext2fs io_manager over it at a byte offset, so that a guest's filesystem is
 * edited with libext2fs without a loop device or a mount.
 *
 * As in extfs-io.c, the disk and the offset travel in the channel name
 * ("xp-rwdisk:%p:%llu", scanned back with %p in the same process), which keeps the
 * manager a constant. Block counts follow lib/ext2fs/unix_io.c: a negative count is a
 * byte count; write_byte offsets are relative to the channel's start. There is no
 * cache here: raw files have the page cache, and the qcow2 layer keeps its metadata in
 * memory.
 *
 * The image is locked with flock(2) for the session, so two xenprov processes never
 * edit one image at once.
 *
 * Not here: the read-only manager (extfs-io.c), the edits (guest-edit.c).
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

#define NAME_PREFIX "xp-rwdisk:"

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
	d->fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (d->fd < 0) {
		r = -errno;
		xp__image_open_err(diags, "cannot open '%s' for writing: %s", path, strerror(-r));
		goto fail;
	}
	struct stat st;
	if (fstat(d->fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		xp__image_open_err(diags, "'%s' is neither a file nor a block device", path);
		goto fail;
	}
	int fl = fcntl(d->fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(d->fd, F_SETFL, fl & ~O_NONBLOCK);
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

/* ---- the io_manager ------------------------------------------------------------------ */

int xp_extfs_rwio_name(struct xp_rwdisk *d, uint64_t offset, char *buf, size_t len)
{
	return xp_iochan_name(NAME_PREFIX, d, offset, buf, len);
}

static errcode_t rw_open(const char *name, int flags, io_channel *channel)
{
	(void)flags;
	return xp_iochan_open(NAME_PREFIX, name, xp_extfs_rwio_manager(), channel);
}

/* The device offset and length of count blocks at block, inside the device. */
static errcode_t place(io_channel io, unsigned long long block, int count, uint64_t *off,
		       size_t *len)
{
	struct xp_iochan *c = io->private_data;
	uint64_t bytes =
	    count < 0 ? (uint64_t) - (int64_t)count : (uint64_t)count * (uint64_t)io->block_size;
	if (block > UINT64_MAX / (uint64_t)io->block_size)
		return EXT2_ET_LLSEEK_FAILED;
	uint64_t o = block * (uint64_t)io->block_size;
	if (o > UINT64_MAX - c->offset || bytes > SIZE_MAX)
		return EXT2_ET_LLSEEK_FAILED;
	*off = o + c->offset;
	*len = (size_t)bytes;
	return 0;
}

static errcode_t rw_read_blk64(io_channel io, unsigned long long block, int count, void *data)
{
	struct xp_iochan *c = io->private_data;
	uint64_t off;
	size_t len;
	errcode_t e = place(io, block, count, &off, &len);
	if (e)
		return e;
	uint64_t size = xp_rwdisk_size(((struct xp_rwdisk *)c->dev));
	if (off > size || len > size - off) {
		memset(data, 0, len);
		return EXT2_ET_SHORT_READ;
	}
	int r = xp_rwdisk_pread(((struct xp_rwdisk *)c->dev), data, len, off);
	return r < 0 ? (errcode_t)-r : 0;
}

static errcode_t rw_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return rw_read_blk64(io, block, count, data);
}

static errcode_t rw_write_blk64(io_channel io, unsigned long long block, int count,
				const void *data)
{
	struct xp_iochan *c = io->private_data;
	uint64_t off;
	size_t len;
	errcode_t e = place(io, block, count, &off, &len);
	if (e)
		return e;
	uint64_t size = xp_rwdisk_size(((struct xp_rwdisk *)c->dev));
	if (off > size || len > size - off)
		return EXT2_ET_SHORT_WRITE;
	int r = xp_rwdisk_pwrite(((struct xp_rwdisk *)c->dev), data, len, off);
	return r < 0 ? (errcode_t)-r : 0;
}

static errcode_t rw_write_blk(io_channel io, unsigned long block, int count, const void *data)
{
	return rw_write_blk64(io, block, count, data);
}

static errcode_t rw_write_byte(io_channel io, unsigned long offset, int count, const void *data)
{
	struct xp_iochan *c = io->private_data;
	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	uint64_t size = xp_rwdisk_size(((struct xp_rwdisk *)c->dev));
	if (offset > UINT64_MAX - c->offset || offset + c->offset > size ||
	    (uint64_t)count > size - offset - c->offset)
		return EXT2_ET_SHORT_WRITE;
	int r = xp_rwdisk_pwrite(((struct xp_rwdisk *)c->dev), data, (size_t)count, offset + c->offset);
	return r < 0 ? (errcode_t)-r : 0;
}

static errcode_t rw_flush(io_channel io)
{
	(void)io;
	return 0; /* xp_rwdisk_close syncs */
}

static errcode_t rw_set_option(io_channel io, const char *option, const char *arg)
{
	(void)io;
	(void)option;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static const struct struct_io_manager rw_manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "xenprov read-write disk I/O manager",
    .open = rw_open,
    .close = xp_iochan_close,
    .set_blksize = xp_iochan_set_blksize,
    .read_blk = rw_read_blk,
    .write_blk = rw_write_blk,
    .flush = rw_flush,
    .write_byte = rw_write_byte,
    .set_option = rw_set_option,
    .read_blk64 = rw_read_blk64,
    .write_blk64 = rw_write_blk64,
};

struct struct_io_manager *xp_extfs_rwio_manager(void)
{
	return (struct struct_io_manager *)&rw_manager;
}
