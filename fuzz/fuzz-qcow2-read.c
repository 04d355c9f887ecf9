/*
 * fuzz-qcow2-read.c - libFuzzer target for the block device reader: the input is an
 * image file (qcow2 or, failing the magic, raw), opened from a memfd and read at
 * ranges derived from the input, including cluster and table boundaries and past the
 * end. The partition table reader runs over it too.
 *
 * Contracts checked beyond "no crash, no leak, no hang": open and pread return 0 or a
 * known -errno; a failed open leaves *ret NULL; a failed read says why
 * (xp_blockdev_errmsg); the virtual size is bounded.
 *
 * A backing file name in the input resolves against /proc/self/fd, so most names are
 * the image itself (a loop, refused at depth 16) or absent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-file.h"

/* the private header for xp__blockdev_open and xp_blockdev_errmsg */
#include "../src/lib/image/blockdev-internal.h"
#include "xenprov/partition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (1u << 20)
#define READ_MAX  (256u << 10)

#define check fuzz_check
#define known_error fuzz_image_errno

static uint64_t next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void do_read(struct xp_blockdev *bd, unsigned char *buf, uint64_t off, size_t len)
{
	int r = xp_blockdev_pread(bd, buf, len, off);
	check(r == 0 || known_error(r));
	if (r < 0)
		check(xp_blockdev_errmsg(bd)[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	char path[64];
	int fd = fuzz_memfd("fuzz-image", data, size, 0, path);
	if (fd < 0)
		return 0;

	struct xp_blockdev *bd = (struct xp_blockdev *)1;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp__blockdev_open(path, &bd, &d);
	/* a failed open says why, once; a good one says nothing */
	check(r < 0 ? d.n == 1 && strcmp(d.v[0].code, "open") == 0 : d.n == 0);
	xp_diags_release(&d);
	if (r < 0) {
		check(known_error(r));
		check(bd == NULL);
		close(fd);
		return 0;
	}
	uint64_t vsize = xp_blockdev_size(bd);
	check(vsize <= (1ULL << 62));
	unsigned char *buf = malloc(READ_MAX);
	if (!buf)
		abort();

	uint64_t seed = size;
	for (size_t i = 0; i < size && i < 64; i++)
		seed = seed * 131 + data[i];
	/* the start, table-sized strides, the end, past the end */
	do_read(bd, buf, 0, 65536 + 17);
	for (unsigned k = 1; k < 8; k++)
		do_read(bd, buf, vsize / 8 * k, 4096);
	if (vsize > 100)
		do_read(bd, buf, vsize - 100, 200);
	do_read(bd, buf, vsize, 10);
	do_read(bd, buf, UINT64_MAX - 5, 10);
	for (unsigned k = 0; k < 8; k++) {
		uint64_t off = vsize ? next(&seed) % vsize : next(&seed);
		size_t len = (size_t)(next(&seed) % READ_MAX);
		do_read(bd, buf, off, len);
	}
	/* what lies on top of the reader */
	enum xp_label label;
	struct xp_part *parts = NULL;
	size_t n = 0;
	r = xp_partition_read(bd, &label, &parts, &n);
	check(r == 0 || known_error(r));
	free(parts);

	free(buf);
	xp_blockdev_close(bd);
	close(fd);
	return 0;
}
