/*
 * test-sparse-stream.c - unit tests for the sparse image stream (sparse-stream.c): a
 * stream written with the record writers read back into the image it describes, fed
 * whole and a byte at a time; every malformed stream refused with -EBADMSG; a callback's
 * error stopping the reader; a stream resumed from an offset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xenprov/sparse-stream.h"

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
	assert_int_equal(xp_sparse_rd_feed(&rd, buf, 1), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_resumed),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_callback_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
