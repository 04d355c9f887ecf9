/*
 * extfs-iochan.h - xenprov's one libext2fs io_manager, over the two kinds of device the
 * image room has: an xp_blockdev (read-only; extfs-io.c) and an xp_rwdisk (read-write;
 * extfs-rwio.c). A device says how it is read and written (struct xp_iochan_dev); the
 * channel name carries which kind, the device pointer and the byte offset of the
 * filesystem in it ("PREFIX%p:OFFSET").
 */
#ifndef XP_IMAGE_EXTFS_IOCHAN_H
#define XP_IMAGE_EXTFS_IOCHAN_H

#include <stddef.h>
#include <stdint.h>

#include <ext2fs/ext2fs.h>

/* A kind of device: positioned I/O on it, 0 or -errno. */
struct xp_iochan_dev {
	const char *prefix; /* of its channels' names */
	uint64_t (*size)(const void *dev);
	int (*pread)(void *dev, void *buf, size_t len, uint64_t off);
	/* NULL: read-only, every write is EROFS and so is opening for writing */
	int (*pwrite)(void *dev, const void *buf, size_t len, uint64_t off);
};
extern const struct xp_iochan_dev xp_blockdev_iochan; /* extfs-io.c */
extern const struct xp_iochan_dev xp_rwdisk_iochan;   /* extfs-rwio.c */

/* Writes the name of a channel on dev (of kind kind) at byte offset to buf:
 * -ENAMETOOLONG if it does not fit. dev must outlive the channel. */
int xp_iochan_name(const struct xp_iochan_dev *kind, const void *dev, uint64_t offset, char *buf,
		   size_t len);

/* The io_manager for ext2fs_open2 with such a name. Block counts follow
 * lib/ext2fs/unix_io.c: a negative count is a byte count; write_byte offsets are
 * relative to the channel's start; reading or writing past the device's end is a
 * short read or write. No cache: raw files have the page cache, qcow2 its metadata in
 * memory. */
struct struct_io_manager *xp_iochan_manager(void);

#endif
