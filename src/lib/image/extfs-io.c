/*
 * extfs-io.c - xp_blockdev (raw or qcow2, see blockdev.h) as a device of the libext2fs
 * io_manager (extfs-iochan.c), so that images are read without a loop device, a mount
 * or an extraction. Read-only: every write is EROFS.
 *
 * Not here: the filesystem reading itself (extfs-read.c).
 */
#include <stdint.h>

#include "image/blockdev-internal.h"
#include "image/extfs-iochan.h"

static uint64_t bd_size(const void *dev)
{
	return xp_blockdev_size(dev);
}

static int bd_pread(void *dev, void *buf, size_t len, uint64_t off)
{
	return xp_blockdev_pread(dev, buf, len, off);
}

const struct xp_iochan_dev xp_blockdev_iochan = {
    .prefix = "xp-blockdev:",
    .size = bd_size,
    .pread = bd_pread,
};

int xp_extfs_io_name(struct xp_blockdev *bd, uint64_t offset, char *buf, size_t len)
{
	return xp_iochan_name(&xp_blockdev_iochan, bd, offset, buf, len);
}
