/*
 * fuzz-file.h - what the fuzz targets that read files share: the input as an unnamed
 * in-memory file (memfd_create) and its /proc/self/fd path, so the code under test opens
 * a real file and nothing touches the disk. Header-only, for the libFuzzer and the
 * replay builds alike.
 */
#ifndef XP_FUZZ_FILE_H
#define XP_FUZZ_FILE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

/* A memfd holding len bytes of data, then sized to total bytes (holes past the data;
 * total < len keeps len), its path in path. The fd, or -1. */
static inline int fuzz_memfd(const char *name, const void *data, size_t len, off_t total,
			     char path[64])
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if ((len && write(fd, data, len) != (ssize_t)len) ||
	    ((size_t)total > len && ftruncate(fd, total) < 0)) {
		close(fd);
		return -1;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/* The targets' assertion: a failed one is a crash libFuzzer reports. */
static inline void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

/* The errors reading a hostile image may give (blockdev, partition table, qcow2):
 * anything else is a bug. */
static inline int fuzz_image_errno(int r)
{
	return r == -EBADMSG || r == -ENOTSUP || r == -ELOOP || r == -ENOENT || r == -EINVAL ||
	       r == -ENOMEM || r == -EISDIR || r == -EACCES || r == -ENOTDIR ||
	       r == -ENAMETOOLONG || r == -EIO || r == -ENXIO || r == -EPERM;
}

#endif
