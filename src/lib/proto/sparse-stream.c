/*
 * sparse-stream.c - the sparse image stream's records written and read
 * (xenprov/sparse-stream.h): a bounded push reader that takes the stream in pieces of
 * any size, checks every record before it acts on it, and hands out the image's bytes
 * and its zero ranges in order; and the sparse digest (extent list and data bytes
 * hashed, holes not) that a receiver checks the stream with.
 *
 * Not here: walking a file's extents (net/http-images.c, SEEK_DATA and SEEK_HOLE of
 * lseek(2)), writing the target disk (deploy/installer-run.c).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "xenprov/sparse-stream.h"
#include "xenprov/util.h"

enum { ST_HEADER, ST_RECORD, ST_DATA, ST_END, ST_BROKEN };

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void xp_sparse_put_header(unsigned char *out, uint64_t size, uint64_t from)
{
	memcpy(out, XP_SPARSE_MAGIC, 8);
	put64(out + 8, size);
	put64(out + 16, from);
}

void xp_sparse_put_record(unsigned char *out, uint64_t offset, uint64_t length)
{
	put64(out, offset);
	put64(out + 8, length);
}

void xp_sparse_rd_init(struct xp_sparse_rd *s, uint64_t size, uint64_t from,
		       const struct xp_sparse_cb *cb)
{
	*s = (struct xp_sparse_rd){.cb = *cb, .size = size, .from = from, .pos = from};
}

bool xp_sparse_rd_done(const struct xp_sparse_rd *s)
{
	return s->state == ST_END;
}

/* [s->pos, to) reads as zeros. */
static int zeros_to(struct xp_sparse_rd *s, uint64_t to)
{
	int r = to > s->pos && s->cb.zeros ? s->cb.zeros(s->cb.ctx, s->pos, to - s->pos) : 0;
	if (r == 0) /* pos: every byte below it given to a callback that took it */
		s->pos = to;
	return r;
}

/* The header or a record, complete in s->rec. */
static int record(struct xp_sparse_rd *s)
{
	if (s->state == ST_HEADER) {
		if (memcmp(s->rec, XP_SPARSE_MAGIC, 8) != 0 || get64(s->rec + 8) != s->size ||
		    get64(s->rec + 16) != s->from || s->from > s->size)
			return -EBADMSG;
		s->state = ST_RECORD;
		return 0;
	}
	uint64_t off = get64(s->rec), len = get64(s->rec + 8);
	if (len == 0) { /* the end: only at the image's size */
		if (off != s->size)
			return -EBADMSG;
		s->state = ST_END;
		return zeros_to(s, s->size);
	}
	if (off < s->pos || off > s->size || len > s->size - off)
		return -EBADMSG;
	s->state = ST_DATA;
	s->left = len;
	return zeros_to(s, off);
}

int xp_sparse_rd_feed(struct xp_sparse_rd *s, const void *p, size_t len)
{
	const unsigned char *b = p;
	int r = 0;
	while (len && r == 0) {
		if (s->state == ST_END || s->state == ST_BROKEN) {
			r = -EBADMSG; /* bytes after the end, or after an error */
			break;
		}
		if (s->state == ST_DATA) {
			size_t n = len < s->left ? len : (size_t)s->left;
			if (s->cb.data && (r = s->cb.data(s->cb.ctx, s->pos, b, n)) < 0)
				break; /* not taken: pos stays below it */
			s->pos += n, s->left -= n, b += n, len -= n;
			if (!s->left)
				s->state = ST_RECORD;
			continue;
		}
		size_t want = s->state == ST_HEADER ? XP_SPARSE_HEADER_LEN : XP_SPARSE_RECORD_LEN;
		size_t n = len < want - s->got ? len : want - s->got;
		memcpy(s->rec + s->got, b, n);
		s->got += n, b += n, len -= n;
		if (s->got == want) {
			s->got = 0;
			r = record(s);
		}
	}
	if (r < 0)
		s->state = ST_BROKEN;
	return r;
}

int xp_sparse_extent_at(int fd, uint64_t pos, uint64_t size, uint64_t *data, uint64_t *end)
{
	if (pos >= size)
		return 0;
	off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
	if (d < 0 && errno != ENXIO)
		d = (off_t)pos; /* SEEK_DATA unsupported: data everywhere */
	if (d < 0 || (uint64_t)d >= size)
		return 0;
	off_t e = lseek(fd, d, SEEK_HOLE);
	/* a hole punched between the two calls (e == d) or no answer: to the end, whose
	 * bytes then read as zeros, which they are */
	*data = (uint64_t)d;
	*end = e < 0 || (uint64_t)e > size || e <= d ? size : (uint64_t)e;
	return 1;
}

/* ---- the sparse digest ------------------------------------------------------------------ */

int xp_sparse_digest_init(struct xp_sparse_digest *g, uint64_t size)
{
	*g = (struct xp_sparse_digest){.size = size};
	int r = xp_sha256_new(&g->ext);
	if (r == 0)
		r = xp_sha256_new(&g->data);
	if (r < 0)
		xp_sparse_digest_release(g);
	return r;
}

/* The extent being merged into E. */
static int flush_extent(struct xp_sparse_digest *g)
{
	unsigned char rec[XP_SPARSE_RECORD_LEN];
	if (!g->len)
		return 0;
	xp_sparse_put_record(rec, g->off, g->len);
	return xp_sha256_add(g->ext, rec, sizeof(rec));
}

int xp_sparse_digest_add(struct xp_sparse_digest *g, uint64_t off, const void *p, size_t len)
{
	if (off < g->off + g->len || off > g->size || len > g->size - off)
		return -EINVAL;
	if (!len)
		return 0;
	if (g->len && off == g->off + g->len) { /* the same extent, however it was cut */
		g->len += len;
	} else {
		int r = flush_extent(g);
		if (r < 0)
			return r;
		g->off = off, g->len = len;
	}
	return xp_sha256_add(g->data, p, len);
}

int xp_sparse_digest_final(struct xp_sparse_digest *g, unsigned char out[32])
{
	unsigned char buf[16 + 8 + 32 + 32];
	int r = flush_extent(g);
	memcpy(buf, XP_SPARSE_DIGEST_MAGIC, 16);
	put64(buf + 16, g->size);
	if (r == 0)
		r = xp_sha256_final(g->ext, buf + 24);
	if (r == 0)
		r = xp_sha256_final(g->data, buf + 56);
	return r < 0 ? r : xp_sha256(buf, sizeof(buf), out);
}

void xp_sparse_digest_release(struct xp_sparse_digest *g)
{
	xp_sha256_free(g->ext);
	xp_sha256_free(g->data);
	g->ext = g->data = NULL;
}
