/*
 * fuzz-sparse-stream.c - libFuzzer target for the sparse image stream's reader
 * (sparse-stream.c). The input's first byte picks how the stream is cut into pieces;
 * the image's size and start are read from the input's own header when it has one (so
 * that the fuzzer reaches the records). Beyond "no crash", it checks: the callbacks
 * cover [from, pos) in order without gaps or overlap and never pass the image's size;
 * done means every byte was given; after an error nothing more is taken.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/sparse-stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	uint64_t next, size;
};

static void given(struct seen *s, uint64_t off, uint64_t len)
{
	if (off != s->next || len == 0 || len > s->size || off > s->size - len)
		abort();
	s->next = off + len;
}

static int on_data(void *ctx, uint64_t off, const void *p, size_t len)
{
	(void)p;
	given(ctx, off, len);
	return 0;
}

static int on_zeros(void *ctx, uint64_t off, uint64_t len)
{
	given(ctx, off, len);
	return 0;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = data[0] ? data[0] : 1;
	data++, size--;
	uint64_t isize = 1 << 20, from = 0;
	if (size >= XP_SPARSE_HEADER_LEN) {
		isize = get64(data + 8);
		from = get64(data + 16);
	}
	struct seen s = {.next = from, .size = isize};
	const struct xp_sparse_cb cb = {.data = on_data, .zeros = on_zeros, .ctx = &s};
	struct xp_sparse_rd rd;
	xp_sparse_rd_init(&rd, isize, from, &cb);
	int r = 0;
	for (size_t at = 0; at < size && r == 0; at += piece)
		r = xp_sparse_rd_feed(&rd, data + at, size - at < piece ? size - at : piece);
	if (r != 0 && r != -EBADMSG)
		abort();
	if (rd.pos != s.next)
		abort();
	if (xp_sparse_rd_done(&rd) && (r != 0 || s.next != isize))
		abort();
	if (r < 0 && xp_sparse_rd_feed(&rd, data, 1) != -EBADMSG)
		abort();
	return 0;
}
