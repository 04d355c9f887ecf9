/*
 * fuzz-archive-src.c - libFuzzer target for the archive source (src/lib/image/
 * archive-src.c): gzip inflated by ISA-L in front of libarchive's tar reader, and the
 * passthrough of everything else to libarchive's filters.
 *
 * The first input byte picks how the rest reaches the reader, so that the fuzzer
 * explores both the compressed bytes and the plain tar behind them:
 *   mode 0  the bytes as they are (a .tar.gz, .xz, plain tar, or garbage)
 *   mode 1  gzip-compressed here (ISA-L, level 0) as one member
 *   mode 2  two members, split where the second byte says
 *   mode 3  one member, then zero padding (second byte even) or junk (odd)
 * The archive is read to its end as the image builder does (every header and all data,
 * then xp_archive_drain). Beyond "no crash, no leak": a failure carries a message, and
 * the gzip of a well-formed stream never fails with a gzip error of its own.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef XP_HAVE_ISAL
#include <isa-l/igzip_lib.h>

#include "fuzz-file.h"
#endif

#include "../src/lib/image/extfs-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef XP_HAVE_ISAL
/* One gzip member of in[0, len) appended at out + *at; 0 or -1. */
static int gz_member(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *at)
{
	struct isal_zstream z;
	isal_deflate_init(&z);
	z.gzip_flag = IGZIP_GZIP;
	z.level = 0;
	z.end_of_stream = 1;
	z.flush = NO_FLUSH;
	z.next_in = (uint8_t *)in;
	z.avail_in = (uint32_t)len;
	z.next_out = out + *at;
	z.avail_out = (uint32_t)(cap - *at);
	if (isal_deflate(&z) != COMP_OK || z.internal_state.state != ZSTATE_END)
		return -1;
	*at += z.total_out;
	return 0;
}
#endif

static bool gzip_error(const char *msg)
{
	return msg && strstr(msg, "gzip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > (1u << 20))
		return 0;
	unsigned mode = data[0] & 3;
	const uint8_t *body = data + 2;
	size_t blen = size - 2;
	uint8_t *buf = NULL;
	size_t len = 0;
#ifdef XP_HAVE_ISAL
	if (mode != 0) {
		size_t cap = blen * 2 + 4096;
		buf = malloc(cap);
		if (!buf)
			abort();
		size_t split = mode == 2 ? blen * data[1] / 256 : blen;
		if (gz_member(body, split, buf, cap, &len) < 0 ||
		    (mode == 2 && gz_member(body + split, blen - split, buf, cap, &len) < 0))
			abort(); /* compressing into a big enough buffer cannot fail */
		if (mode == 3) {
			size_t pad = data[1] & 1 ? 1 : 512;
			memset(buf + len, data[1] & 1 ? 'x' : 0, pad);
			len += pad;
		}
	}
#else
	mode = 0;
#endif
	if (mode == 0) {
		body = data + 1;
		len = size - 1;
	}
	char path[64];
	int fd = fuzz_memfd("archive", buf ? buf : body, len, 0, path);
	if (fd < 0)
		abort();

	struct archive *a;
	struct xp_src *s;
	int r = xp_archive_open(path, &a, &s, NULL);
	if (r == 0) {
		const char *err = NULL;
		for (;;) {
			struct archive_entry *e;
			int h = archive_read_next_header(a, &e);
			if (h == ARCHIVE_EOF) {
				if (xp_archive_drain(a, s) < 0)
					err = xp_archive_error(a, s);
				break;
			}
			if (h < ARCHIVE_WARN) {
				err = xp_archive_error(a, s);
				break;
			}
			const void *p;
			size_t n;
			la_int64_t off;
			int d;
			while ((d = archive_read_data_block(a, &p, &n, &off)) == ARCHIVE_OK)
				;
			if (d < ARCHIVE_WARN) {
				err = xp_archive_error(a, s);
				break;
			}
		}
		/* a failure says why; the gzip made here is always good gzip (junk after it
		 * in mode 3 is the one gzip-level error it may carry) */
		if (err && !err[0])
			abort();
		if (mode == 1 || mode == 2 || (mode == 3 && !(data[1] & 1)))
			if (gzip_error(err))
				abort();
		archive_read_free(a);
	}
	free(buf);
	close(fd);
	return 0;
}
