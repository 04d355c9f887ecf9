/*
 * random.c - random bytes from the kernel's CSPRNG (getrandom(2)), the one source every
 * room uses: MAC addresses, machine-ids, the HTTP API's token.
 */
#include <errno.h>
#include <sys/random.h>

#include "xenprov/util.h"

int xp_getrandom(void *userdata, void *buf, size_t len)
{
	(void)userdata;
	unsigned char *p = buf;
	while (len > 0) {
		/* blocks only until the pool is first initialised at boot */
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
