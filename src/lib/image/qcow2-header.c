/*
 * qcow2-header.c - the qcow2 header (QEMU's docs/interop/qcow2.txt, "Header") decoded
 * and encoded in one place, for the reader (blockdev.c), the copy-on-write editor
 * (qcow2-rw.c) and the writer (qcow2-write.c). Only the byte layout lives here; what a
 * field's value may be is each user's to check.
 */
#include <errno.h>
#include <string.h>

#include "image/blockdev-internal.h"

int xp__qcow2_header_decode(const unsigned char *b, size_t len, struct xp_qcow2_header *h)
{
	memset(h, 0, sizeof(*h));
	if (len < QCOW2_V2_HEADER_LEN)
		return -EBADMSG;
	h->magic = xp_be32(b + 0);
	h->version = xp_be32(b + 4);
	h->backing_offset = xp_be64(b + 8);
	h->backing_size = xp_be32(b + 16);
	h->cluster_bits = xp_be32(b + 20);
	h->size = xp_be64(b + 24);
	h->crypt_method = xp_be32(b + 32);
	h->l1_size = xp_be32(b + 36);
	h->l1_offset = xp_be64(b + 40);
	h->refcount_table_offset = xp_be64(b + 48);
	h->refcount_table_clusters = xp_be32(b + 56);
	h->nb_snapshots = xp_be32(b + 60);
	h->snapshots_offset = xp_be64(b + 64);
	if (h->version < 3) {
		/* version 2: no feature bits, 16-bit refcounts, the fixed 72-byte header */
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HEADER_LEN;
		return 0;
	}
	if (len < QCOW2_V3_HEADER_LEN)
		return -EBADMSG;
	h->incompat = xp_be64(b + 72);
	h->compat = xp_be64(b + 80);
	h->autoclear = xp_be64(b + 88);
	h->refcount_order = xp_be32(b + 96);
	h->header_length = xp_be32(b + 100);
	/* the compression type is there only when the header says it is long enough */
	if (h->header_length > QCOW2_V3_HEADER_LEN && len > QCOW2_V3_HEADER_LEN)
		h->compression_type = b[104];
	return 0;
}

void xp__qcow2_header_encode(const struct xp_qcow2_header *h,
			     unsigned char out[QCOW2_V3_HEADER_LEN_WRITTEN])
{
	memset(out, 0, QCOW2_V3_HEADER_LEN_WRITTEN);
	xp_put_be32(out + 0, QCOW2_MAGIC);
	xp_put_be32(out + 4, 3);
	xp_put_be64(out + 8, h->backing_offset);
	xp_put_be32(out + 16, h->backing_size);
	xp_put_be32(out + 20, h->cluster_bits);
	xp_put_be64(out + 24, h->size);
	xp_put_be32(out + 32, h->crypt_method);
	xp_put_be32(out + 36, h->l1_size);
	xp_put_be64(out + 40, h->l1_offset);
	xp_put_be64(out + 48, h->refcount_table_offset);
	xp_put_be32(out + 56, h->refcount_table_clusters);
	xp_put_be32(out + 60, h->nb_snapshots);
	xp_put_be64(out + 64, h->snapshots_offset);
	xp_put_be64(out + 72, h->incompat);
	xp_put_be64(out + 80, h->compat);
	xp_put_be64(out + 88, h->autoclear);
	xp_put_be32(out + 96, h->refcount_order);
	xp_put_be32(out + 100, QCOW2_V3_HEADER_LEN_WRITTEN);
	out[104] = h->compression_type; /* 105..111: padding to a multiple of 8 */
}
