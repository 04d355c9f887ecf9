/*
 * extfs-iochan.c - the channel plumbing both of xenprov's libext2fs io_managers share:
 * see extfs-iochan.h. The reads and writes themselves stay with each manager.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/extfs-iochan.h"

int xp_iochan_name(const char *prefix, const void *dev, uint64_t offset, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%p:%" PRIu64, prefix, dev, offset);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

errcode_t xp_iochan_open(const char *prefix, const char *name, io_manager mgr,
			 io_channel *channel)
{
	void *ptr = NULL;
	uint64_t offset = 0;
	int used = 0;
	size_t plen = strlen(prefix);

	if (!name || strncmp(name, prefix, plen) != 0)
		return EXT2_ET_BAD_DEVICE_NAME;
	if (sscanf(name + plen, "%p:%" SCNu64 "%n", &ptr, &offset, &used) != 2 ||
	    name[plen + (size_t)used] != '\0' || !ptr)
		return EXT2_ET_BAD_DEVICE_NAME;

	io_channel io = calloc(1, sizeof(*io));
	struct xp_iochan *c = calloc(1, sizeof(*c));
	char *dup = strdup(name);
	if (!io || !c || !dup) {
		free(io);
		free(c);
		free(dup);
		return EXT2_ET_NO_MEMORY;
	}
	c->dev = ptr;
	c->offset = offset;
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = mgr;
	io->name = dup;
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = c;
	*channel = io;
	return 0;
}

errcode_t xp_iochan_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	free(io->private_data);
	free(io->name);
	free(io);
	return 0;
}

errcode_t xp_iochan_set_blksize(io_channel io, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	io->block_size = blksize;
	return 0;
}
