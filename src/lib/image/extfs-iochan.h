/*
 * extfs-iochan.h - what xenprov's two libext2fs io_managers share (extfs-io.c, read-only
 * over an xp_blockdev; extfs-rwio.c, read-write over an xp_rwdisk): the channel name
 * that carries the device pointer and byte offset ("PREFIX%p:OFFSET"), opening and
 * closing a channel, and the block size.
 */
#ifndef XP_IMAGE_EXTFS_IOCHAN_H
#define XP_IMAGE_EXTFS_IOCHAN_H

#include <stddef.h>
#include <stdint.h>

#include <ext2fs/ext2fs.h>

/* A channel's private data. */
struct xp_iochan {
	void *dev;       /* the xp_blockdev or xp_rwdisk */
	uint64_t offset; /* byte offset of the filesystem in the device */
};

/* Writes "PREFIX%p:OFFSET" to buf: -ENAMETOOLONG if it does not fit. */
int xp_iochan_name(const char *prefix, const void *dev, uint64_t offset, char *buf, size_t len);
/* Parses such a name and allocates a channel of manager mgr. */
errcode_t xp_iochan_open(const char *prefix, const char *name, io_manager mgr,
			 io_channel *channel);
errcode_t xp_iochan_close(io_channel io);
errcode_t xp_iochan_set_blksize(io_channel io, int blksize);

#endif
