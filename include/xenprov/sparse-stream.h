/*
 * xenprov/sparse-stream.h - the sparse image stream (format "xpsparse", version 1): a
 * disk image sent as the list of its data extents, each with its bytes, so that what
 * reads as zeros (an image's holes) crosses no network. What `xenprov serve` sends for
 * GET /images/HASH?sparse=FROM (net/http-images.c) and the autoinstall installer reads
 * (deploy/installer-run.c). All integers little-endian:
 *
 *   header   8 bytes "xpsparse", u64 the image's size, u64 FROM (the offset the stream
 *            starts at: 0, or where a transfer cut short stopped)
 *   extent   u64 offset, u64 length (> 0), then length bytes: the image's bytes there;
 *            extents in increasing order, not overlapping, within [FROM, size)
 *   end      u64 size, u64 0
 *
 * Every byte of [FROM, size) that no extent carries reads as zero. Nothing follows the
 * end. The reader below is pure (bytes in, callbacks out): no I/O, no allocation.
 *
 * The sparse digest (version 1) names an image in its sparse form, so that a receiver
 * checks what it was sent without hashing the holes it never received. Of an image of
 * size bytes whose data extents, adjacent ones merged into one (maximal), are (o1, l1)
 * ... (on, ln) in increasing order:
 *
 *   SHA-256( "xpsparse-digest1" (16 bytes) || u64 size || SHA-256(E) || SHA-256(B) )
 *   E = u64 o1, u64 l1, ..., u64 on, u64 ln (little-endian, 16 bytes an extent)
 *   B = the extents' bytes, in order
 *
 * It depends on the image's bytes and on where its holes are (the extent list), never
 * on how a stream was cut into records, pieces or resumed transfers: extents that touch
 * are one. The server computes it with the raw SHA-256 in the one pass that reads the
 * file (SEEK_DATA/SEEK_HOLE, as it sends the stream); a file whose holes moved since
 * has another sparse digest, not another raw hash.
 */
#ifndef XENPROV_SPARSE_STREAM_H
#define XENPROV_SPARSE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xp_sha256;

#define XP_SPARSE_MAGIC	     "xpsparse"
#define XP_SPARSE_HEADER_LEN 24
#define XP_SPARSE_RECORD_LEN 16
/* The Content-Type of a sparse stream's answer */
#define XP_SPARSE_TYPE "application/x-xenprov-sparse"

/* The image's next data extent at or after pos, of fd's first size bytes: [*data,
 * *end), found with lseek(2)'s SEEK_DATA and then SEEK_HOLE (a file that cannot say is
 * data everywhere; an extent is never empty); 0 when none (the rest reads as zeros).
 * The walk both the server's stream and its digest take (so they agree); the one
 * function here that does I/O, and that only lseek. */
int xp_sparse_extent_at(int fd, uint64_t pos, uint64_t size, uint64_t *data, uint64_t *end);

/* The header (24 bytes) and an extent's or the end's record (16 bytes) into out. */
void xp_sparse_put_header(unsigned char *out, uint64_t size, uint64_t from);
void xp_sparse_put_record(unsigned char *out, uint64_t offset, uint64_t length);

/* The reader's callbacks: data of the image at off (a piece of an extent, in order);
 * zeros: [off, off + len) reads as zeros (a gap before an extent, or before the end).
 * A negative return stops the reader with it. */
struct xp_sparse_cb {
	int (*data)(void *ctx, uint64_t off, const void *p, size_t len);
	int (*zeros)(void *ctx, uint64_t off, uint64_t len);
	void *ctx;
};

struct xp_sparse_rd {
	struct xp_sparse_cb cb;
	uint64_t size, from;
	uint64_t pos;  /* every byte below it given to a callback */
	uint64_t left; /* of the current extent's bytes */
	unsigned char rec[XP_SPARSE_HEADER_LEN];
	size_t got; /* of the header or record being read */
	int state;
};

/* A reader of the stream of an image of size bytes starting at from (the header must
 * say both). */
void xp_sparse_rd_init(struct xp_sparse_rd *s, uint64_t size, uint64_t from,
		       const struct xp_sparse_cb *cb);
/* Feeds the next len bytes of the stream. -EBADMSG for a malformed stream (a wrong
 * magic, size or start, an extent out of order, overlapping or past the end, bytes after
 * the end), else a callback's error; the reader then takes nothing more. */
int xp_sparse_rd_feed(struct xp_sparse_rd *s, const void *p, size_t len);
/* Whether the end record was read (every byte of the image given). */
bool xp_sparse_rd_done(const struct xp_sparse_rd *s);

/* The sparse digest computed over data pieces given in increasing order (the reader's
 * data callback, or a file's extents). Zero-initialise, then xp_sparse_digest_init. */
struct xp_sparse_digest {
	struct xp_sha256 *ext, *data; /* of E and B */
	uint64_t size;
	uint64_t off, len; /* the extent being merged (len 0: none yet) */
};

#define XP_SPARSE_DIGEST_MAGIC "xpsparse-digest1"

/* For an image of size bytes: -ENOMEM, -EIO. */
int xp_sparse_digest_init(struct xp_sparse_digest *g, uint64_t size);
/* The image's len bytes at off: -EINVAL when they begin before the end of what was given
 * or go past the image's size, -EIO. */
int xp_sparse_digest_add(struct xp_sparse_digest *g, uint64_t off, const void *p, size_t len);
/* The digest into out (once); -EIO. */
int xp_sparse_digest_final(struct xp_sparse_digest *g, unsigned char out[32]);
/* Frees g's hashes (a released or zeroed g: nothing). */
void xp_sparse_digest_release(struct xp_sparse_digest *g);

#endif
