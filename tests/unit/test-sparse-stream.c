/*
 * test-sparse-stream.c - unit tests for the sparse image stream (sparse-stream.c): a
 * stream written with the record writers read back into the image it describes, fed
 * whole and a byte at a time; every malformed stream refused with -EBADMSG; a callback's
 * error stopping the reader; a stream resumed from an offset. The sparse digest: of a
 * real sparse file as the server computes it (deploy/golden-publish.c) equal to what a
 * receiver computes from the stream fed whole, a byte at a time, with an extent cut into
 * records, and resumed in the middle of an extent; another layout of the same bytes
 * another digest (the raw SHA-256 the same).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "deploy/published.h"
#include "testlib.h"
#include "xenprov/sparse-stream.h"
#include "xenprov/util.h"

#define SIZE 64

/* What the reader rebuilt: the image (0xee where nothing was given), the callbacks'
 * order checked. */
struct image {
	unsigned char b[SIZE];
	uint64_t next; /* every callback must start where the last ended */
	int fail_at;   /* a data callback at this offset fails (-1: none) */
};

static int on_data(void *ctx, uint64_t off, const void *p, size_t len)
{
	struct image *im = ctx;
	assert_int_equal(off, im->next);
	assert_true(off + len <= SIZE);
	if ((int)off == im->fail_at)
		return -ENOSPC;
	memcpy(im->b + off, p, len);
	im->next = off + len;
	return 0;
}

static int on_zeros(void *ctx, uint64_t off, uint64_t len)
{
	struct image *im = ctx;
	assert_int_equal(off, im->next);
	assert_true(len > 0 && off + len <= SIZE);
	memset(im->b + off, 0, len);
	im->next = off + len;
	return 0;
}

/* A stream into buf: the header (size, from), then the records {offset, length} of
 * recs (n of them; length 0: the end) each followed by its bytes (offset + i). */
static size_t stream(unsigned char *buf, uint64_t size, uint64_t from, const uint64_t (*recs)[2],
		     size_t n)
{
	size_t len = XP_SPARSE_HEADER_LEN;
	xp_sparse_put_header(buf, size, from);
	for (size_t i = 0; i < n; i++) {
		xp_sparse_put_record(buf + len, recs[i][0], recs[i][1]);
		len += XP_SPARSE_RECORD_LEN;
		for (uint64_t k = 0; k < recs[i][1] && recs[i][1] < 1000; k++)
			buf[len++] = (unsigned char)(recs[i][0] + k + 1);
	}
	return len;
}

static int read_all(unsigned char *buf, size_t len, uint64_t from, bool bytewise, struct image *im,
		    struct xp_sparse_rd *rd)
{
	memset(im->b, 0xee, SIZE);
	im->next = from;
	const struct xp_sparse_cb cb = {.data = on_data, .zeros = on_zeros, .ctx = im};
	xp_sparse_rd_init(rd, SIZE, from, &cb);
	if (!bytewise)
		return xp_sparse_rd_feed(rd, buf, len);
	for (size_t i = 0; i < len; i++) {
		int r = xp_sparse_rd_feed(rd, buf + i, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static void test_roundtrip(void **state)
{
	(void)state;
	static const uint64_t recs[][2] = {{0, 4}, {10, 6}, {16, 2}, {40, 8}, {SIZE, 0}};
	unsigned char buf[512];
	size_t len = stream(buf, SIZE, 0, recs, 5);
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct image im = {.fail_at = -1};
		struct xp_sparse_rd rd;
		assert_int_equal(read_all(buf, len, 0, bytewise, &im, &rd), 0);
		assert_true(xp_sparse_rd_done(&rd));
		assert_int_equal(rd.pos, SIZE);
		for (unsigned i = 0; i < SIZE; i++) {
			bool data = i < 4 || (i >= 10 && i < 18) || (i >= 40 && i < 48);
			assert_int_equal(im.b[i], data ? i + 1 : 0);
		}
	}
	/* no extents at all: the image is zeros */
	static const uint64_t none[][2] = {{SIZE, 0}};
	len = stream(buf, SIZE, 0, none, 1);
	struct image im = {.fail_at = -1};
	struct xp_sparse_rd rd;
	assert_int_equal(read_all(buf, len, 0, false, &im, &rd), 0);
	assert_true(xp_sparse_rd_done(&rd));
	for (unsigned i = 0; i < SIZE; i++)
		assert_int_equal(im.b[i], 0);
}

static void test_resumed(void **state)
{
	(void)state;
	static const uint64_t recs[][2] = {{20, 4}, {SIZE, 0}};
	unsigned char buf[256];
	size_t len = stream(buf, SIZE, 17, recs, 2);
	struct image im = {.fail_at = -1};
	struct xp_sparse_rd rd;
	assert_int_equal(read_all(buf, len, 17, false, &im, &rd), 0);
	assert_true(xp_sparse_rd_done(&rd));
	assert_int_equal(im.b[16], 0xee); /* below the start: not given */
	assert_int_equal(im.b[17], 0);
	assert_int_equal(im.b[20], 21);
	/* a stream that says another start, for a reader expecting 17 */
	len = stream(buf, SIZE, 16, recs, 2);
	assert_int_equal(read_all(buf, len, 17, false, &im, &rd), -EBADMSG);
	/* an extent before the start */
	static const uint64_t early[][2] = {{10, 4}, {SIZE, 0}};
	len = stream(buf, SIZE, 17, early, 2);
	assert_int_equal(read_all(buf, len, 17, false, &im, &rd), -EBADMSG);
}

struct bad_case {
	const char *what;
	uint64_t size; /* the header's */
	uint64_t recs[3][2];
	size_t n;
};

static const struct bad_case bad_cases[] = {
    {"a wrong size in the header", SIZE + 1, {{SIZE, 0}}, 1},
    {"extents out of order", SIZE, {{10, 4}, {2, 4}, {SIZE, 0}}, 3},
    {"extents overlapping", SIZE, {{10, 4}, {12, 4}, {SIZE, 0}}, 3},
    {"an extent past the end", SIZE, {{60, 8}, {SIZE, 0}}, 2},
    {"an extent starting past the end", SIZE, {{SIZE + 1, 1}, {SIZE, 0}}, 2},
    {"an extent of 2^64 - 1 bytes", SIZE, {{1, UINT64_MAX}}, 1},
    {"the end somewhere else", SIZE, {{10, 4}, {20, 0}}, 2},
    {"the end before the image's end", SIZE, {{SIZE - 1, 0}}, 1},
};

static void test_malformed(void **state)
{
	(void)state;
	unsigned char buf[512];
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = stream(buf, c->size, 0, c->recs, c->n);
		struct image im = {.fail_at = -1};
		struct xp_sparse_rd rd;
		int r = read_all(buf, len, 0, false, &im, &rd);
		if (r != -EBADMSG)
			fail_msg("%s: %d, want -EBADMSG", c->what, r);
		assert_false(xp_sparse_rd_done(&rd));
		/* and nothing more is taken */
		assert_int_equal(xp_sparse_rd_feed(&rd, buf, 1), -EBADMSG);
	}
	/* a wrong magic */
	static const uint64_t end[][2] = {{SIZE, 0}};
	size_t len = stream(buf, SIZE, 0, end, 1);
	buf[0] = 'X';
	struct image im = {.fail_at = -1};
	struct xp_sparse_rd rd;
	assert_int_equal(read_all(buf, len, 0, false, &im, &rd), -EBADMSG);
	/* bytes after the end */
	len = stream(buf, SIZE, 0, end, 1);
	buf[len++] = 0;
	assert_int_equal(read_all(buf, len, 0, false, &im, &rd), -EBADMSG);
	/* a stream cut short: no error, not done */
	len = stream(buf, SIZE, 0, end, 1);
	assert_int_equal(read_all(buf, len - 1, 0, false, &im, &rd), 0);
	assert_false(xp_sparse_rd_done(&rd));
}

static void test_callback_error(void **state)
{
	(void)state;
	static const uint64_t recs[][2] = {{0, 4}, {10, 6}, {SIZE, 0}};
	unsigned char buf[256];
	size_t len = stream(buf, SIZE, 0, recs, 3);
	struct image im = {.fail_at = 10};
	struct xp_sparse_rd rd;
	assert_int_equal(read_all(buf, len, 0, false, &im, &rd), -ENOSPC);
	assert_false(xp_sparse_rd_done(&rd));
	/* pos counts what the callbacks took: a transfer resumed from it gives the failed
	 * piece again (the installer does not resume after its own failure) */
	assert_int_equal(rd.pos, 10);
	assert_int_equal(xp_sparse_rd_feed(&rd, buf, 1), -EBADMSG);
}

/* ---- the sparse digest ---------------------------------------------------------------- */

#define DSIZE (256u << 10)
#define BLK   4096u

/* The data extents of the file: [0, 8 KiB), [40 KiB, 52 KiB), [128 KiB, 132 KiB); the
 * rest holes, the last one to the end. */
static const uint64_t dext[][2] = {{0, 2 * BLK}, {10 * BLK, 3 * BLK}, {32 * BLK, BLK}};
#define NDEXT 3

static unsigned char dbyte(uint64_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* A sparse file in dir/name with the extents dext (or, zeros_at_hole, with the hole
 * [20 KiB, 24 KiB) written as zeros: the same bytes, another layout): its fd. */
static int sparse_file(const char *dir, const char *name, bool zeros_at_hole)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	static unsigned char buf[4 * BLK];
	for (size_t e = 0; e < NDEXT; e++) {
		for (uint64_t k = 0; k < dext[e][1]; k++)
			buf[k] = dbyte(dext[e][0] + k);
		assert_int_equal(xp_pwrite_full(fd, buf, dext[e][1], dext[e][0]), 0);
	}
	if (zeros_at_hole) {
		memset(buf, 0, BLK);
		assert_int_equal(xp_pwrite_full(fd, buf, BLK, 5 * BLK), 0);
	}
	assert_int_equal(ftruncate(fd, DSIZE), 0);
	assert_int_equal(fsync(fd), 0);
	return fd;
}

/* The stream of the image (extents dext) from from on into a heap buffer; split: each
 * extent sent as two adjacent records. */
static unsigned char *dstream(uint64_t from, bool split, size_t *len)
{
	unsigned char *buf = malloc(XP_SPARSE_HEADER_LEN + 8 * XP_SPARSE_RECORD_LEN + DSIZE);
	assert_non_null(buf);
	size_t n = XP_SPARSE_HEADER_LEN;
	xp_sparse_put_header(buf, DSIZE, from);
	for (size_t e = 0; e < NDEXT; e++) {
		uint64_t a = dext[e][0], b = dext[e][0] + dext[e][1];
		if (b <= from)
			continue;
		a = a < from ? from : a;
		uint64_t cut = split ? a + (b - a) / 2 : b;
		for (int part = 0; part < 2; part++) {
			uint64_t lo = part ? cut : a, hi = part ? b : cut;
			if (hi == lo)
				continue;
			xp_sparse_put_record(buf + n, lo, hi - lo);
			n += XP_SPARSE_RECORD_LEN;
			for (uint64_t k = lo; k < hi; k++)
				buf[n++] = dbyte(k);
		}
	}
	xp_sparse_put_record(buf + n, DSIZE, 0);
	*len = n + XP_SPARSE_RECORD_LEN;
	return buf;
}

static int digest_data(void *ctx, uint64_t off, const void *p, size_t len)
{
	return xp_sparse_digest_add(ctx, off, p, len);
}

/* The receiver's digest of the stream (fed whole, or a byte at a time); resume_at
 * (0: none): the transfer cut there (a byte of an extent's data) and resumed from the
 * byte the reader reached, as the installer does. */
static void receive(bool bytewise, bool split, size_t resume_at, unsigned char out[32])
{
	struct xp_sparse_digest g;
	assert_int_equal(xp_sparse_digest_init(&g, DSIZE), 0);
	const struct xp_sparse_cb cb = {.data = digest_data, .ctx = &g};
	struct xp_sparse_rd rd;
	size_t len;
	unsigned char *buf = dstream(0, split, &len);
	xp_sparse_rd_init(&rd, DSIZE, 0, &cb);
	size_t upto = resume_at ? resume_at : len;
	for (size_t i = 0; i < upto; i += bytewise ? 1 : upto)
		assert_int_equal(xp_sparse_rd_feed(&rd, buf + i, bytewise ? 1 : upto), 0);
	free(buf);
	if (resume_at) {
		assert_false(xp_sparse_rd_done(&rd));
		uint64_t from = rd.pos;
		buf = dstream(from, split, &len);
		xp_sparse_rd_init(&rd, DSIZE, from, &cb);
		assert_int_equal(xp_sparse_rd_feed(&rd, buf, len), 0);
		free(buf);
	}
	assert_true(xp_sparse_rd_done(&rd));
	assert_int_equal(xp_sparse_digest_final(&g, out), 0);
	xp_sparse_digest_release(&g);
}

static void test_digest(void **state)
{
	(void)state;
	char dir[4096];
	assert_int_equal(xp_test_mkdtemp(dir, sizeof(dir), "sparse-digest"), 0);
	int fd = sparse_file(dir, "img", false);
	/* the file system keeps the holes (the walk the server makes finds the extents) */
	for (size_t e = 0; e < NDEXT; e++) {
		off_t d = lseek(fd, e ? (off_t)(dext[e - 1][0] + dext[e - 1][1]) : 0, SEEK_DATA);
		if (d != (off_t)dext[e][0] ||
		    lseek(fd, d, SEEK_HOLE) != (off_t)(dext[e][0] + dext[e][1]))
			fail_msg("%s: the file system does not keep the test file's holes", dir);
	}
	unsigned char raw[32], server[32], raw_fd[32], got[32];
	assert_int_equal(xp__image_digests(fd, DSIZE, raw, server), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(xp_sha256_fd(fd, raw_fd), 0);
	assert_memory_equal(raw, raw_fd, 32); /* holes hashed as zeros, unread */
	assert_memory_not_equal(raw, server, 32);
	/* whole, a byte at a time, an extent in two records, resumed in an extent's data
	 * (the header, two records and 100 bytes of the second extent), from the first
	 * extent's middle */
	static const struct {
		bool bytewise, split;
		size_t resume_at;
	} ways[] = {
	    {false, false, 0},
	    {true, false, 0},
	    {false, true, 0},
	    {true, true, 0},
	    {false, false, XP_SPARSE_HEADER_LEN + 2 * XP_SPARSE_RECORD_LEN + 2 * BLK + 100},
	    {true, true, XP_SPARSE_HEADER_LEN + XP_SPARSE_RECORD_LEN + 5},
	};
	for (size_t i = 0; i < sizeof(ways) / sizeof(*ways); i++) {
		receive(ways[i].bytewise, ways[i].split, ways[i].resume_at, got);
		if (memcmp(got, server, 32) != 0)
			fail_msg("way %zu: the receiver's digest is not the server's", i);
	}
	close(fd);
	/* the same bytes with a hole written as zeros: the same SHA-256, another digest */
	unsigned char raw2[32], server2[32];
	fd = sparse_file(dir, "img2", true);
	assert_int_equal(xp__image_digests(fd, DSIZE, raw2, server2), 0);
	close(fd);
	assert_memory_equal(raw2, raw, 32);
	assert_memory_not_equal(server2, server, 32);
	assert_int_equal(xp_test_rmtree(dir), 0);
}

/* The digest of an image of size bytes holding two 8-byte pieces of b at a and c. */
static void two_pieces(uint64_t size, uint64_t a, uint64_t c, unsigned char out[32])
{
	static const unsigned char b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct xp_sparse_digest g;
	assert_int_equal(xp_sparse_digest_init(&g, size), 0);
	assert_int_equal(xp_sparse_digest_add(&g, a, b, 8), 0);
	assert_int_equal(xp_sparse_digest_add(&g, c, b, 8), 0);
	assert_int_equal(xp_sparse_digest_final(&g, out), 0);
	xp_sparse_digest_release(&g);
}

static void test_digest_order(void **state)
{
	(void)state;
	struct xp_sparse_digest g;
	unsigned char b[8] = {1, 2, 3, 4, 5, 6, 7, 8}, a[32], c[32];
	assert_int_equal(xp_sparse_digest_init(&g, 64), 0);
	assert_int_equal(xp_sparse_digest_add(&g, 8, b, 8), 0);
	assert_int_equal(xp_sparse_digest_add(&g, 12, b, 4), -EINVAL); /* before the end */
	assert_int_equal(xp_sparse_digest_add(&g, 60, b, 8), -EINVAL); /* past the size */
	assert_int_equal(xp_sparse_digest_add(&g, 65, b, 0), -EINVAL);
	assert_int_equal(xp_sparse_digest_add(&g, 20, b, 8), 0);
	assert_int_equal(xp_sparse_digest_final(&g, a), 0);
	xp_sparse_digest_release(&g);
	two_pieces(64, 8, 20, c); /* the same, fed without the refused pieces */
	assert_memory_equal(a, c, 32);
	two_pieces(64, 8, 16, c); /* the same bytes at another place */
	assert_memory_not_equal(a, c, 32);
	two_pieces(65, 8, 20, c); /* another size */
	assert_memory_not_equal(a, c, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_resumed),
	    cmocka_unit_test(test_malformed), cmocka_unit_test(test_callback_error),
	    cmocka_unit_test(test_digest),    cmocka_unit_test(test_digest_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
