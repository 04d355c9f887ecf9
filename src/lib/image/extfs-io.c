/*
 * extfs-io.c - a libext2fs io_manager that reads a filesystem from an xp_blockdev (raw
 * or qcow2, see blockdev.h) at a byte offset, so that images are read without a loop
 * device, a mount or an extraction.
 *
 * libext2fs opens channels by name (ext2fs_open2(3) passes the name to the manager's
 * open), so the device and the offset travel in the name: "xp-blockdev:%p:%llu". The
 * pointer is printed and scanned back with %p in the same process (C17 7.21.6.2), which
 * keeps the manager free of globals. The manager itself is a constant.
 *
 * Read-only: every write entry point returns EROFS. Block counts follow the
 * io_manager contract of lib/ext2fs/unix_io.c: a negative count is a byte count.
 *
 * Not here: the filesystem reading itself (extfs-read.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2fs.h>

#include "image/blockdev-internal.h"
#include "image/extfs-iochan.h"

#define NAME_PREFIX "xp-blockdev:"

int xp_extfs_io_name(struct xp_blockdev *bd, uint64_t offset, char *buf, size_t len)
{
	return xp_iochan_name(NAME_PREFIX, bd, offset, buf, len);
}

static errcode_t xp_io_open(const char *name, int flags, io_channel *channel)
{
	if (flags & IO_FLAG_RW)
		return EROFS;
	return xp_iochan_open(NAME_PREFIX, name, xp_extfs_io_manager(), channel);
}

static errcode_t xp_io_read_blk64(io_channel io, unsigned long long block, int count, void *data)
{
	struct xp_iochan *c = io->private_data;
	uint64_t bytes =
	    count < 0 ? (uint64_t) - (int64_t)count : (uint64_t)count * (uint64_t)io->block_size;
	if (block > UINT64_MAX / (uint64_t)io->block_size)
		return EXT2_ET_LLSEEK_FAILED;
	uint64_t off = block * (uint64_t)io->block_size;
	if (off > UINT64_MAX - c->offset || bytes > SIZE_MAX)
		return EXT2_ET_LLSEEK_FAILED;
	off += c->offset;
	/* the filesystem must lie inside the device: reading past its end is a short
	 * read, as unix_io reports it, not silent zeros */
	uint64_t size = xp_blockdev_size(((struct xp_blockdev *)c->dev));
	if (off > size || bytes > size - off) {
		memset(data, 0, (size_t)bytes);
		return EXT2_ET_SHORT_READ;
	}
	int r = xp_blockdev_pread(((struct xp_blockdev *)c->dev), data, (size_t)bytes, off);
	return r < 0 ? (errcode_t)-r : 0;
}

static errcode_t xp_io_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return xp_io_read_blk64(io, block, count, data);
}

static errcode_t xp_io_write_blk64(io_channel io, unsigned long long block, int count,
				   const void *data)
{
	(void)io;
	(void)block;
	(void)count;
	(void)data;
	return EROFS;
}

static errcode_t xp_io_write_blk(io_channel io, unsigned long block, int count, const void *data)
{
	return xp_io_write_blk64(io, block, count, data);
}

static errcode_t xp_io_write_byte(io_channel io, unsigned long offset, int count, const void *data)
{
	(void)io;
	(void)offset;
	(void)count;
	(void)data;
	return EROFS;
}

static errcode_t xp_io_flush(io_channel io)
{
	(void)io;
	return 0;
}

static errcode_t xp_io_set_option(io_channel io, const char *option, const char *arg)
{
	(void)io;
	(void)option;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static const struct struct_io_manager xp_io_manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "xenprov block device I/O manager",
    .open = xp_io_open,
    .close = xp_iochan_close,
    .set_blksize = xp_iochan_set_blksize,
    .read_blk = xp_io_read_blk,
    .write_blk = xp_io_write_blk,
    .flush = xp_io_flush,
    .write_byte = xp_io_write_byte,
    .set_option = xp_io_set_option,
    .read_blk64 = xp_io_read_blk64,
    .write_blk64 = xp_io_write_blk64,
};

struct struct_io_manager *xp_extfs_io_manager(void)
{
	/* libext2fs takes a non-const io_manager but never writes through it */
	return (struct struct_io_manager *)&xp_io_manager;
}
