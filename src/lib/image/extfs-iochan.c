/*
 * extfs-iochan.c - xenprov's libext2fs io_manager: see extfs-iochan.h. The devices'
 * own reads and writes are in extfs-io.c (xp_blockdev) and extfs-rwio.c (xp_rwdisk).
 *
 * libext2fs opens channels by name (ext2fs_open2(3) passes the name to the manager's
 * open), so the device and the offset travel in the name; the pointer is printed and
 * scanned back with %p in the same process (C17 7.21.6.2), which keeps the manager a
 * constant, free of globals.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/extfs-iochan.h"

/* A channel's private data. */
struct chan {
	const struct xp_iochan_dev *kind;
	void *dev;
	uint64_t offset; /* byte offset of the filesystem in the device */
};

int xp_iochan_name(const struct xp_iochan_dev *kind, const void *dev, uint64_t offset, char *buf,
		   size_t len)
{
	int n = snprintf(buf, len, "%s%p:%" PRIu64, kind->prefix, dev, offset);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static errcode_t chan_open(const char *name, int flags, io_channel *channel)
{
	static const struct xp_iochan_dev *const kinds[] = {&xp_blockdev_iochan, &xp_rwdisk_iochan};
	const struct xp_iochan_dev *kind = NULL;
	for (size_t i = 0; name && !kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(name, kinds[i]->prefix, strlen(kinds[i]->prefix)) == 0)
			kind = kinds[i];
	if (!kind)
		return EXT2_ET_BAD_DEVICE_NAME;
	if ((flags & IO_FLAG_RW) && !kind->pwrite)
		return EROFS;
	void *ptr = NULL;
	uint64_t offset = 0;
	int used = 0;
	size_t plen = strlen(kind->prefix);
	if (sscanf(name + plen, "%p:%" SCNu64 "%n", &ptr, &offset, &used) != 2 ||
	    name[plen + (size_t)used] != '\0' || !ptr)
		return EXT2_ET_BAD_DEVICE_NAME;

	io_channel io = calloc(1, sizeof(*io));
	struct chan *c = calloc(1, sizeof(*c));
	char *dup = strdup(name);
	if (!io || !c || !dup) {
		free(io);
		free(c);
		free(dup);
		return EXT2_ET_NO_MEMORY;
	}
	*c = (struct chan){.kind = kind, .dev = ptr, .offset = offset};
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = xp_iochan_manager();
	io->name = dup;
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = c;
	*channel = io;
	return 0;
}

static errcode_t chan_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	free(io->private_data);
	free(io->name);
	free(io);
	return 0;
}

static errcode_t chan_set_blksize(io_channel io, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	io->block_size = blksize;
	return 0;
}

/* The device bytes [*off, *off + *len) of count blocks at block: 0, or
 * EXT2_ET_LLSEEK_FAILED if they cannot be addressed, or past_end if they do not lie
 * inside the device (the filesystem must: as unix_io reports it, not silent zeros). */
static errcode_t place(io_channel io, unsigned long long block, int count, errcode_t past_end,
		       uint64_t *off, size_t *len)
{
	struct chan *c = io->private_data;
	uint64_t bytes =
	    count < 0 ? (uint64_t) - (int64_t)count : (uint64_t)count * (uint64_t)io->block_size;
	if (block > UINT64_MAX / (uint64_t)io->block_size)
		return EXT2_ET_LLSEEK_FAILED;
	uint64_t o = block * (uint64_t)io->block_size;
	if (o > UINT64_MAX - c->offset || bytes > SIZE_MAX)
		return EXT2_ET_LLSEEK_FAILED;
	*off = o + c->offset;
	*len = (size_t)bytes;
	uint64_t size = c->kind->size(c->dev);
	return *off > size || *len > size - *off ? past_end : 0;
}

static errcode_t chan_read_blk64(io_channel io, unsigned long long block, int count, void *data)
{
	struct chan *c = io->private_data;
	uint64_t off;
	size_t len;
	errcode_t e = place(io, block, count, EXT2_ET_SHORT_READ, &off, &len);
	if (e == EXT2_ET_SHORT_READ)
		memset(data, 0, len);
	if (e)
		return e;
	int r = c->kind->pread(c->dev, data, len, off);
	return r < 0 ? (errcode_t)-r : 0;
}

static errcode_t chan_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return chan_read_blk64(io, block, count, data);
}

static errcode_t chan_write_blk64(io_channel io, unsigned long long block, int count,
				  const void *data)
{
	struct chan *c = io->private_data;
	if (!c->kind->pwrite)
		return EROFS;
	uint64_t off;
	size_t len;
	errcode_t e = place(io, block, count, EXT2_ET_SHORT_WRITE, &off, &len);
	if (e)
		return e;
	int r = c->kind->pwrite(c->dev, data, len, off);
	return r < 0 ? (errcode_t)-r : 0;
}

static errcode_t chan_write_blk(io_channel io, unsigned long block, int count, const void *data)
{
	return chan_write_blk64(io, block, count, data);
}

static errcode_t chan_write_byte(io_channel io, unsigned long offset, int count, const void *data)
{
	struct chan *c = io->private_data;
	if (!c->kind->pwrite)
		return EROFS;
	if (count < 0)
		return EXT2_ET_INVALID_ARGUMENT;
	uint64_t size = c->kind->size(c->dev);
	if (offset > UINT64_MAX - c->offset || offset + c->offset > size ||
	    (uint64_t)count > size - offset - c->offset)
		return EXT2_ET_SHORT_WRITE;
	int r = c->kind->pwrite(c->dev, data, (size_t)count, offset + c->offset);
	return r < 0 ? (errcode_t)-r : 0;
}

static errcode_t chan_flush(io_channel io)
{
	(void)io;
	return 0; /* xp_rwdisk_close syncs */
}

static errcode_t chan_set_option(io_channel io, const char *option, const char *arg)
{
	(void)io;
	(void)option;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static const struct struct_io_manager manager = {
    .magic = EXT2_ET_MAGIC_IO_MANAGER,
    .name = "xenprov disk image I/O manager",
    .open = chan_open,
    .close = chan_close,
    .set_blksize = chan_set_blksize,
    .read_blk = chan_read_blk,
    .write_blk = chan_write_blk,
    .flush = chan_flush,
    .write_byte = chan_write_byte,
    .set_option = chan_set_option,
    .read_blk64 = chan_read_blk64,
    .write_blk64 = chan_write_blk64,
};

struct struct_io_manager *xp_iochan_manager(void)
{
	/* libext2fs takes a non-const io_manager but never writes through it */
	return (struct struct_io_manager *)&manager;
}
