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

/* xp_pread_full into rbuf, or xp_pwrite_full from wbuf. */
static int pio_full(int fd, unsigned char *rbuf, const unsigned char *wbuf, size_t len,
		    uint64_t off)
{
	for (size_t done = 0; done < len;) {
		if (off + done > (uint64_t)INT64_MAX - (len - done))
			return -EINVAL;
		ssize_t n = rbuf ? pread(fd, rbuf + done, len - done, (off_t)(off + done))
				 : pwrite(fd, wbuf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 && rbuf) { /* past the end of the file: zeros, as a disk reads there */
			memset(rbuf + done, 0, len - done);
			return 0;
		}
		if (n == 0) /* a write of no progress and no error: never loop on it */
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int xp_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return pio_full(fd, buf, NULL, len, off);
}

int xp_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	return pio_full(fd, NULL, buf, len, off);
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
