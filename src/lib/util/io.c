/*
 * io.c - whole reads and writes: the loops around read(2)/pread(2)/write(2)/pwrite(2)
 * that every file and image writer needs (short transfers, EINTR), written once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "xenprov/util.h"

bool xp_all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	/* the first byte is 0 and every byte equals the one before it: memcmp is vectorised,
	 * so this runs at memory speed without a zero buffer to compare with */
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

ssize_t xp_read_some(int fd, void *buf, size_t len)
{
	ssize_t n;
	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	return n < 0 ? -errno : n;
}

int xp_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	while (len > 0) {
		if (off > (uint64_t)INT64_MAX - len)
			return -EINVAL;
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) { /* past the end of the file: zeros, as a disk reads there */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int xp_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;
	while (len > 0) {
		if (off > (uint64_t)INT64_MAX - len)
			return -EINVAL;
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) /* no progress and no error: never loop on it */
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int xp_write_full(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
