/*
 * fuzz-extfs-build.c - libFuzzer target for the tar -> ext2/3/4 builder
 * (src/lib/image/extfs-*.c). The input is an archive (tar, possibly compressed: any
 * filter libarchive reads); it is written to a memfd and built into an 8 MiB sparse
 * memfd, ext2, ext3 or ext4 by the input's length. Beyond "no crash, no leak": a
 * failure always carries a diagnostic and one of the documented error codes, and an
 * archive the builder accepts is accepted by the estimator too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-file.h"

#include "xenprov/extfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	const uint64_t fs_size = 8u << 20;
	char apath[64], ipath[64];
	int afd = fuzz_memfd("archive", data, size, (off_t)size, apath);
	int ifd = fuzz_memfd("image", NULL, 0, (off_t)fs_size, ipath);
	if (afd < 0 || ifd < 0)
		abort();

	struct xp_fs_opts o = {
	    .type = (enum xp_fs_type)(size % 3), .label = "fuzz", .reserved_percent = -1};
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_fs_stats st;
	int r = xp_fs_build(ipath, 0, fs_size, apath, &o, NULL, NULL, &st, &d);
	if (r < 0) {
		if (d.n == 0)
			abort(); /* a failure always says why */
		switch (r) {
		case -EBADMSG:
		case -EPERM:
		case -ENOENT:
		case -ENOSPC:
		case -ENOTDIR:
		case -EEXIST:
		case -EMLINK:
		case -ENAMETOOLONG:
		case -E2BIG:
		case -ENOMEM:
			break;
		default:
			fprintf(stderr, "unexpected error %d: %s\n", r, d.v[0].msg);
			abort();
		}
	} else {
		if (st.entries > st.inodes_total + st.hardlinks + 1000)
			abort();
		uint64_t bytes = 0;
		xp_diags_release(&d);
		if (xp_fs_estimate(apath, &o, 0, &bytes, &d) != 0 || bytes < (8u << 20))
			abort();
	}
	xp_diags_release(&d);
	close(afd);
	close(ifd);
	return 0;
}
