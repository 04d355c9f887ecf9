/*
 * qcow2-rw.c - a qcow2 image opened for writing, so that a guest's filesystem can be
 * edited through its copy-on-write overlay: only the clusters written are allocated in
 * the overlay; the backing file is only ever read.
 *
 * Format facts follow QEMU's docs/interop/qcow2.txt ("Cluster mapping", "Host cluster
 * management"). What we do, and why it stays `qemu-img check` clean:
 *
 *  - A write to a cluster the image holds (an L2 entry with a host offset and
 *    OFLAG_COPIED, i.e. refcount 1) goes in place.
 *  - A write to an unallocated cluster (or an all-zeros one without a host cluster)
 *    copies the cluster's current content - read through the read-only block device of
 *    blockdev.c, which resolves the backing chain and the zero flag - into a new host
 *    cluster at the end of the file, overlays the new bytes and maps the cluster with
 *    OFLAG_COPIED. A zero cluster that has a preallocated host cluster is written there.
 *  - L2 tables are allocated the same way, at the end of the file.
 *  - At close, every cluster allocated in the session gets refcount 1. Refcount blocks
 *    are added for ranges that have none (each new block is placed among the clusters it
 *    covers or refcounted by another new block, computed as a fixed point, as
 *    qcow2-write.c does), and when the refcount table is too small a bigger one is
 *    written at the end and the old one's clusters are freed (refcount 0).
 *  - The autoclear feature bits are cleared (qcow2.txt: a writer that does not update
 *    what they stand for, e.g. persistent bitmaps, must clear them).
 *
 * Refused with -ENOTSUP: internal snapshots (shared clusters), refcount widths other
 * than 16 bits, writes to compressed clusters or to clusters without OFLAG_COPIED, the
 * dirty bit (lazy refcounts pending: the image needs `qemu-img check -r`). Images with
 * the corrupt bit are refused with -EBADMSG.
 *
 * Metadata lives in memory until xp_qcow2_rw_close writes it (tables, then refcounts,
 * then the header): single writer, no crash consistency before close. A session that
 * wrote nothing leaves the file byte for byte as it was.
 *
 * Not here: reading images (blockdev.c), creating them (qcow2-write.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/blockdev-internal.h"
#include "image/rwdisk-internal.h"
#include "xenprov/util.h"

#define MAX_RT_BYTES (8u << 20) /* QEMU's QCOW_MAX_REFTABLE_SIZE */

struct rblock {
	uint64_t index; /* refcount table index */
	unsigned char *buf;
	bool dirty;
};

struct xp_qcow2_rw {
	int fd;
	struct xp_blockdev *ro; /* the same image, read-only: backing data, zero clusters */
	unsigned version;
	unsigned cluster_bits;
	uint64_t cs;
	unsigned l2_bits;
	uint64_t size;	    /* virtual size */
	uint64_t file_size; /* at open */

	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *l1; /* host-endian */
	bool l1_dirty;
	uint64_t **l2; /* per L1 index: the loaded table (host-endian) or NULL */
	bool *l2_dirty;

	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt; /* host-endian */
	uint64_t autoclear;

	struct rblock *rb; /* refcount blocks loaded at close */
	size_t nrb, caprb;

	uint64_t first_new; /* first host cluster index past the end at open */
	uint64_t next;	    /* next free host cluster index */
	bool wrote;	    /* anything written at all */
	bool resized;	    /* the virtual size (and maybe l1_size) changed: header */
	unsigned char *cbuf;
	int err; /* first error of the session */
	char msg[256];
};

static void set_msg(struct xp_qcow2_rw *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_msg(struct xp_qcow2_rw *q, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->msg, sizeof(q->msg), fmt, ap);
	va_end(ap);
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

uint64_t xp_qcow2_rw_size(const struct xp_qcow2_rw *q)
{
	return q->size;
}

uint64_t xp_qcow2_rw_allocated(const struct xp_qcow2_rw *q)
{
	return q->next - q->first_new;
}

const char *xp_qcow2_rw_errmsg(const struct xp_qcow2_rw *q)
{
	return q->msg;
}

static void free_all(struct xp_qcow2_rw *q)
{
	if (q->fd >= 0)
		close(q->fd);
	xp_blockdev_close(q->ro);
	if (q->l2) {
		for (uint32_t i = 0; i < q->l1_size; i++)
			free(q->l2[i]);
		free(q->l2);
	}
	free(q->l2_dirty);
	free(q->l1);
	free(q->rt);
	for (size_t i = 0; i < q->nrb; i++)
		free(q->rb[i].buf);
	free(q->rb);
	free(q->cbuf);
	free(q);
}

static int parse(struct xp_qcow2_rw *q, const char *path, struct xp_diags *d)
{
	unsigned char b[QCOW2_V3_HEADER_LEN] = {0};
	struct xp_qcow2_header h;
	struct stat st;
	int r;

	if (fstat(q->fd, &st) < 0)
		return -errno;
	q->file_size = (uint64_t)st.st_size;
	r = xp_pread_full(q->fd, b, sizeof(b), 0);
	if (r < 0)
		return r;
	/* blockdev.c validated the header, the L1 table's place and the backing chain; we
	 * read what a writer needs besides, and check it */
	r = xp__qcow2_header_decode(b, sizeof(b), &h);
	if (r < 0) {
		xp__image_open_err(d, "'%s': truncated qcow2 header", path);
		return r;
	}
	q->version = h.version;
	q->cluster_bits = h.cluster_bits;
	q->cs = 1ULL << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->size = h.size;
	q->l1_size = h.l1_size;
	q->l1_offset = h.l1_offset;
	q->rt_offset = h.refcount_table_offset;
	q->rt_clusters = h.refcount_table_clusters;
	q->autoclear = h.autoclear;
	uint32_t nb_snapshots = h.nb_snapshots;
	uint64_t incompat = h.incompat;
	unsigned refcount_order = h.refcount_order;
	if (incompat & QCOW2_INCOMPAT_CORRUPT) {
		xp__image_open_err(d, "'%s' is marked corrupt (see qemu-img check -r)", path);
		return -EBADMSG;
	}
	if (incompat & QCOW2_INCOMPAT_DIRTY) {
		xp__image_open_err(d, "'%s' has pending refcount updates (dirty bit): repair it with "
			 "'qemu-img check -r all' first",
			 path);
		return -ENOTSUP;
	}
	if (nb_snapshots != 0) {
		xp__image_open_err(d, "'%s' has internal snapshots: not supported for writing",
			 path);
		return -ENOTSUP;
	}
	if (refcount_order != 4) {
		xp__image_open_err(d, "'%s' has %u-bit refcounts: only 16-bit refcounts are supported for "
			 "writing",
			 path, 1u << refcount_order);
		return -ENOTSUP;
	}
	if (q->rt_clusters == 0 || (uint64_t)q->rt_clusters * q->cs > MAX_RT_BYTES ||
	    q->rt_offset == 0 || q->rt_offset % q->cs != 0 || q->rt_offset > q->file_size ||
	    (uint64_t)q->rt_clusters * q->cs > q->file_size - q->rt_offset + q->cs) {
		xp__image_open_err(d, "'%s': invalid refcount table", path);
		return -EBADMSG;
	}
	q->rt_entries = (uint64_t)q->rt_clusters * q->cs / 8;

	q->l1 = calloc(q->l1_size ? q->l1_size : 1, sizeof(uint64_t));
	q->l2 = calloc(q->l1_size ? q->l1_size : 1, sizeof(uint64_t *));
	q->l2_dirty = calloc(q->l1_size ? q->l1_size : 1, sizeof(bool));
	q->rt = calloc((size_t)q->rt_entries, sizeof(uint64_t));
	q->cbuf = malloc((size_t)q->cs);
	size_t tbytes =
	    (size_t)(q->rt_entries * 8 > (uint64_t)q->l1_size * 8 ? q->rt_entries * 8
								  : (uint64_t)q->l1_size * 8);
	unsigned char *raw = malloc(tbytes ? tbytes : 1);
	if (!q->l1 || !q->l2 || !q->l2_dirty || !q->rt || !q->cbuf || !raw) {
		free(raw);
		return -ENOMEM;
	}
	r = xp_pread_full(q->fd, raw, (size_t)q->l1_size * 8, q->l1_offset);
	for (uint32_t i = 0; r == 0 && i < q->l1_size; i++)
		q->l1[i] = xp_be64(raw + (size_t)i * 8);
	if (r == 0)
		r = xp_pread_full(q->fd, raw, (size_t)q->rt_entries * 8, q->rt_offset);
	for (uint64_t i = 0; r == 0 && i < q->rt_entries; i++)
		q->rt[i] = xp_be64(raw + i * 8);
	free(raw);
	if (r < 0)
		return r;
	q->first_new = div_up(q->file_size, q->cs);
	if (q->first_new == 0)
		q->first_new = 1;
	q->next = q->first_new;
	return 0;
}

int xp_qcow2_rw_open(const char *path, struct xp_qcow2_rw **ret, struct xp_diags *d)
{
	if (!path || !ret)
		return -EINVAL;
	*ret = NULL;
	struct xp_qcow2_rw *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = -1;
	size_t before = d ? d->n + d->dropped : 0;
	int r = xp__blockdev_open(path, &q->ro, d);
	if (r < 0)
		goto fail;
	if (xp_blockdev_format(q->ro) != XP_IMAGE_QCOW2) {
		xp__image_open_err(d, "'%s' is not a qcow2 image", path);
		r = -EINVAL;
		goto fail;
	}
	q->fd = open(path, O_RDWR | O_CLOEXEC);
	if (q->fd < 0) {
		r = -errno;
		xp__image_open_err(d, "cannot open '%s' for writing: %s", path, strerror(-r));
		goto fail;
	}
	r = parse(q, path, d);
	if (r < 0)
		goto fail;
	*ret = q;
	return 0;
fail:
	free_all(q);
	return xp__image_open_end(d, before, path, r);
}

/* The L2 table of L1 index l1i; NULL in *t when there is none and !alloc. */
static int get_l2(struct xp_qcow2_rw *q, uint64_t l1i, bool alloc, uint64_t **t)
{
	*t = NULL;
	if (l1i >= q->l1_size)
		return -EINVAL;
	if (q->l2[l1i]) {
		*t = q->l2[l1i];
		return 0;
	}
	uint64_t e = q->l1[l1i];
	if (e & QCOW2_L1_RESERVED) {
		set_msg(q, "L1 entry %llu has reserved bits set", (unsigned long long)l1i);
		return -EBADMSG;
	}
	uint64_t off = e & QCOW2_OFFSET_MASK;
	if (off == 0) {
		if (!alloc)
			return 0;
		uint64_t *nt = calloc(1, (size_t)q->cs);
		if (!nt)
			return -ENOMEM;
		/* the table is written (whole) at close */
		q->l2[l1i] = nt;
		q->l2_dirty[l1i] = true;
		q->l1[l1i] = (q->next++ << q->cluster_bits) | QCOW2_OFLAG_COPIED;
		q->l1_dirty = true;
		*t = nt;
		return 0;
	}
	if (!(e & QCOW2_OFLAG_COPIED)) {
		set_msg(q, "L2 table at 0x%llx is shared (snapshot?): not supported for writing",
			(unsigned long long)off);
		return -ENOTSUP;
	}
	if (off % q->cs != 0 || off > q->file_size || q->cs > q->file_size - off) {
		set_msg(q, "L2 table offset 0x%llx is invalid", (unsigned long long)off);
		return -EBADMSG;
	}
	uint64_t *nt = malloc((size_t)q->cs);
	if (!nt)
		return -ENOMEM;
	int r = xp_pread_full(q->fd, nt, (size_t)q->cs, off);
	if (r < 0) {
		free(nt);
		return r;
	}
	unsigned char *b = (unsigned char *)nt;
	for (size_t i = 0; i < (size_t)(q->cs / 8); i++)
		nt[i] = xp_be64(b + i * 8);
	q->l2[l1i] = nt;
	*t = nt;
	return 0;
}

static int fail(struct xp_qcow2_rw *q, int r)
{
	if (r < 0 && !q->err)
		q->err = r;
	if (r < 0 && !q->msg[0])
		set_msg(q, "%s", strerror(-r));
	return r;
}

/* Reads n bytes at `in` within guest cluster gc. */
static int read_cluster(struct xp_qcow2_rw *q, uint64_t gc, uint64_t in, unsigned char *p, size_t n)
{
	uint64_t *t;
	int r = get_l2(q, gc >> q->l2_bits, false, &t);
	if (r < 0)
		return r;
	uint64_t e = t ? t[gc & ((1ULL << q->l2_bits) - 1)] : 0;
	uint64_t host = e & QCOW2_OFFSET_MASK;
	if (host && !(e & (QCOW2_OFLAG_ZERO | QCOW2_OFLAG_COMPRESSED))) {
		if (host % q->cs != 0) {
			set_msg(q, "data cluster offset 0x%llx is unaligned",
				(unsigned long long)host);
			return -EBADMSG;
		}
		return xp_pread_full(q->fd, p, n, host + in);
	}
	/* untouched in this session: the read-only view is exact (it sees the backing
	 * file, zero flags and refuses compressed clusters) */
	r = xp_blockdev_pread(q->ro, p, n, (gc << q->cluster_bits) + in);
	if (r < 0)
		set_msg(q, "%s", xp_blockdev_errmsg(q->ro));
	return r;
}

/* Writes n bytes at `in` within guest cluster gc. */
static int write_cluster(struct xp_qcow2_rw *q, uint64_t gc, uint64_t in, const unsigned char *p,
			 size_t n)
{
	uint64_t *t;
	int r = get_l2(q, gc >> q->l2_bits, true, &t);
	if (r < 0)
		return r;
	uint64_t *e = &t[gc & ((1ULL << q->l2_bits) - 1)];
	uint64_t host = *e & QCOW2_OFFSET_MASK;
	if (*e & QCOW2_OFLAG_COMPRESSED) {
		set_msg(q, "compressed cluster at guest offset 0x%llx: not supported for writing",
			(unsigned long long)(gc << q->cluster_bits));
		return -ENOTSUP;
	}
	if (host && !(*e & QCOW2_OFLAG_COPIED)) {
		set_msg(q, "cluster at 0x%llx is shared (snapshot?): not supported for writing",
			(unsigned long long)host);
		return -ENOTSUP;
	}
	if (host && (host % q->cs != 0 || host >= q->next << q->cluster_bits)) {
		set_msg(q, "data cluster offset 0x%llx is invalid", (unsigned long long)host);
		return -EBADMSG;
	}
	if (host && !(*e & QCOW2_OFLAG_ZERO))
		return xp_pwrite_full(q->fd, p, n, host + in);

	/* copy on write: the cluster as the guest sees it now, then the new bytes */
	if (n < q->cs) {
		if (*e & QCOW2_OFLAG_ZERO) {
			memset(q->cbuf, 0, (size_t)q->cs);
		} else {
			r = xp_blockdev_pread(q->ro, q->cbuf, (size_t)q->cs, gc << q->cluster_bits);
			if (r < 0) {
				set_msg(q, "%s", xp_blockdev_errmsg(q->ro));
				return r;
			}
		}
	}
	memcpy(q->cbuf + in, p, n);
	uint64_t target = host ? host : q->next << q->cluster_bits;
	r = xp_pwrite_full(q->fd, q->cbuf, (size_t)q->cs, target);
	if (r < 0)
		return r;
	if (!host)
		q->next++; /* only once written: a failed write leaks nothing */
	*e = target | QCOW2_OFLAG_COPIED;
	q->l2_dirty[gc >> q->l2_bits] = true;
	return 0;
}

/* len bytes at guest offset, cluster by cluster: read into rbuf, or written from
 * wbuf. */
static int by_cluster(struct xp_qcow2_rw *q, unsigned char *rbuf, const unsigned char *wbuf,
		      size_t len, uint64_t offset)
{
	if (!q || (!rbuf && !wbuf && len) || offset > q->size || len > q->size - offset)
		return -EINVAL;
	if (wbuf && len)
		q->wrote = true;
	for (size_t done = 0, n; done < len; done += n) {
		uint64_t at = offset + done, in = at & (q->cs - 1);
		n = q->cs - in < len - done ? (size_t)(q->cs - in) : len - done;
		int r = rbuf ? read_cluster(q, at >> q->cluster_bits, in, rbuf + done, n)
			     : write_cluster(q, at >> q->cluster_bits, in, wbuf + done, n);
		if (r < 0)
			return fail(q, r);
	}
	return 0;
}

int xp_qcow2_rw_pread(struct xp_qcow2_rw *q, void *buf, size_t len, uint64_t offset)
{
	return by_cluster(q, buf, NULL, len, offset);
}

int xp_qcow2_rw_pwrite(struct xp_qcow2_rw *q, const void *buf, size_t len, uint64_t offset)
{
	return by_cluster(q, NULL, buf, len, offset);
}

/* A larger virtual size. The new guest clusters are unallocated, so they read from the
 * backing file, which reads as zeros past its end (qcow2.txt: "If the image has a
 * backing file then ... the rest reads as zeros"), or as zeros. More L1 entries are
 * taken from the clusters the L1 table already has (with 64 KiB clusters one cluster
 * maps 4 TiB); a table that would need more clusters is refused (-ENOTSUP) rather than
 * moved: moving it means freeing the old clusters as well, which no guest grown by a
 * factor below thousands needs. The header is written at close. */
int xp_qcow2_rw_resize(struct xp_qcow2_rw *q, uint64_t size)
{
	if (!q)
		return -EINVAL;
	if (size < q->size || size % 512 != 0) {
		set_msg(q, "%llu bytes: a qcow2 image only grows, by whole 512-byte sectors",
			(unsigned long long)size);
		return -EINVAL;
	}
	if (size == q->size)
		return 0;
	uint64_t per_entry = q->cs << q->l2_bits; /* guest bytes one L2 table maps */
	uint64_t want = div_up(size, per_entry);
	if (want > q->l1_size) {
		uint64_t room = q->l1_size ? div_up((uint64_t)q->l1_size * 8, q->cs) * q->cs / 8 : 0;
		if (want > room) {
			set_msg(q,
				"%llu bytes need %llu L1 entries, more than the %llu the L1 table's "
				"clusters hold: not supported (qemu-img resize moves the table)",
				(unsigned long long)size, (unsigned long long)want,
				(unsigned long long)room);
			return -ENOTSUP;
		}
		uint64_t *l1 = realloc(q->l1, (size_t)want * sizeof(*l1));
		if (l1)
			q->l1 = l1;
		uint64_t **l2 = realloc(q->l2, (size_t)want * sizeof(*l2));
		if (l2)
			q->l2 = l2;
		bool *dirty = realloc(q->l2_dirty, (size_t)want * sizeof(*dirty));
		if (dirty)
			q->l2_dirty = dirty;
		if (!l1 || !l2 || !dirty)
			return fail(q, -ENOMEM);
		for (uint64_t i = q->l1_size; i < want; i++) {
			q->l1[i] = 0;
			q->l2[i] = NULL;
			q->l2_dirty[i] = false;
		}
		q->l1_size = (uint32_t)want;
		q->l1_dirty = true;
	}
	q->size = size;
	q->resized = q->wrote = true;
	return 0;
}

/* ---- close: tables, refcounts, header ---------------------------------------------- */

static int write_table(struct xp_qcow2_rw *q, const uint64_t *t, size_t entries, uint64_t off,
		       size_t bytes)
{
	unsigned char *b = calloc(1, bytes ? bytes : 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < entries; i++)
		xp_put_be64(b + i * 8, t[i]);
	int r = xp_pwrite_full(q->fd, b, bytes, off);
	free(b);
	return r;
}

/* The refcount block of table index i, loaded (or created empty if fresh). */
static int get_rblock(struct xp_qcow2_rw *q, const uint64_t *rt, uint64_t i, bool fresh,
		      struct rblock **ret)
{
	for (size_t k = 0; k < q->nrb; k++) {
		if (q->rb[k].index == i) {
			*ret = &q->rb[k];
			return 0;
		}
	}
	if (xp_grow(&q->rb, &q->caprb, q->nrb, sizeof(*q->rb), 8) < 0)
		return -ENOMEM;
	struct rblock *b = &q->rb[q->nrb];
	b->index = i;
	b->dirty = fresh;
	b->buf = calloc(1, (size_t)q->cs);
	if (!b->buf)
		return -ENOMEM;
	if (!fresh) {
		uint64_t off = rt[i] & QCOW2_OFFSET_MASK;
		if (off == 0 || off % q->cs != 0 || off >= q->file_size) {
			free(b->buf);
			set_msg(q, "refcount block offset 0x%llx is invalid",
				(unsigned long long)off);
			return -EBADMSG;
		}
		int r = xp_pread_full(q->fd, b->buf, (size_t)q->cs, off);
		if (r < 0) {
			free(b->buf);
			return r;
		}
	}
	q->nrb++;
	*ret = b;
	return 0;
}

/* Sets the 16-bit refcount of host cluster c; *old receives the previous value. */
static int set_refcount(struct xp_qcow2_rw *q, const uint64_t *rt, uint64_t c, unsigned v,
			unsigned *old)
{
	uint64_t per = q->cs / 2;
	struct rblock *b;
	int r = get_rblock(q, rt, c / per, false, &b);
	if (r < 0)
		return r;
	unsigned char *s = b->buf + (c % per) * 2;
	*old = (unsigned)s[0] << 8 | s[1];
	s[0] = (unsigned char)(v >> 8);
	s[1] = (unsigned char)v;
	b->dirty = true;
	return 0;
}

static int flush_refcounts(struct xp_qcow2_rw *q)
{
	uint64_t cs = q->cs, per = cs / 2;
	uint64_t end = q->next;
	uint64_t nrb = 0, nrt = 0;
	int r;

	/* how many new refcount blocks (nrb) and new table clusters (nrt) make every
	 * cluster up to and including themselves covered: the least fixed point */
	for (;;) {
		uint64_t total = end + nrb + nrt;
		uint64_t lo = q->first_new / per, hi = (total - 1) / per;
		uint64_t need_rb = 0;
		for (uint64_t i = lo; i <= hi; i++)
			if (i >= q->rt_entries || (q->rt[i] & QCOW2_OFFSET_MASK) == 0)
				need_rb++;
		uint64_t need_rt = hi >= q->rt_entries ? div_up((hi + 1) * 8, cs) : 0;
		if (need_rb == nrb && need_rt == nrt)
			break;
		nrb = need_rb;
		nrt = need_rt;
	}
	if (nrt * cs > MAX_RT_BYTES) {
		set_msg(q, "refcount table would exceed %u bytes", MAX_RT_BYTES);
		return -EFBIG;
	}
	uint64_t total = end + nrb + nrt;
	uint64_t rt_entries = nrt ? nrt * cs / 8 : q->rt_entries;
	uint64_t *rt = q->rt;
	if (nrt) {
		rt = calloc((size_t)rt_entries, sizeof(uint64_t));
		if (!rt)
			return -ENOMEM;
		memcpy(rt, q->rt, (size_t)q->rt_entries * sizeof(uint64_t));
	}
	/* place the new refcount blocks */
	uint64_t rb_next = end;
	for (uint64_t i = q->first_new / per; i <= (total - 1) / per; i++) {
		if ((rt[i] & QCOW2_OFFSET_MASK) != 0)
			continue;
		rt[i] = rb_next++ * cs;
		struct rblock *b;
		r = get_rblock(q, rt, i, true, &b);
		if (r < 0)
			goto out;
	}
	/* every cluster of the session (data, L2, refcount blocks, table): refcount 1 */
	for (uint64_t c = q->first_new; c < total; c++) {
		unsigned old;
		r = set_refcount(q, rt, c, 1, &old);
		if (r < 0)
			goto out;
		if (old != 0) {
			set_msg(q, "cluster %llu past the end of the file is already in use",
				(unsigned long long)c);
			r = -EBADMSG;
			goto out;
		}
	}
	/* the old table's clusters are free once the new one is in place */
	if (nrt) {
		for (uint64_t k = 0; k < q->rt_clusters; k++) {
			unsigned old;
			r = set_refcount(q, rt, q->rt_offset / cs + k, 0, &old);
			if (r < 0)
				goto out;
		}
	}
	for (size_t k = 0; k < q->nrb; k++) {
		if (!q->rb[k].dirty)
			continue;
		r = xp_pwrite_full(q->fd, q->rb[k].buf, (size_t)cs,
				rt[q->rb[k].index] & QCOW2_OFFSET_MASK);
		if (r < 0)
			goto out;
	}
	uint64_t rt_off = nrt ? (end + nrb) * cs : q->rt_offset;
	r = write_table(q, rt, (size_t)rt_entries, rt_off,
			(size_t)(nrt ? nrt : q->rt_clusters) * cs);
	if (r < 0)
		goto out;
	if (nrt) {
		unsigned char h[12];
		xp_put_be64(h, rt_off);
		xp_put_be32(h + 8, (uint32_t)nrt);
		r = xp_pwrite_full(q->fd, h, sizeof(h), 48);
		if (r < 0)
			goto out;
	}
	/* the file ends with the last cluster in use */
	struct stat st;
	if (fstat(q->fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size < total * cs && ftruncate(q->fd, (off_t)(total * cs)) < 0) {
		r = -errno;
		goto out;
	}
	r = 0;
out:
	if (rt != q->rt)
		free(rt);
	return r;
}

static int flush(struct xp_qcow2_rw *q)
{
	int r;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		if (!q->l2_dirty[i])
			continue;
		r = write_table(q, q->l2[i], (size_t)(q->cs / 8), q->l1[i] & QCOW2_OFFSET_MASK,
				(size_t)q->cs);
		if (r < 0)
			return r;
	}
	if (q->l1_dirty) {
		r = write_table(q, q->l1, q->l1_size, q->l1_offset, (size_t)q->l1_size * 8);
		if (r < 0)
			return r;
	}
	if (q->next > q->first_new) {
		r = flush_refcounts(q);
		if (r < 0)
			return r;
	}
	if (q->resized) {
		/* qcow2.txt header: size at byte 24, l1_size at 36 (versions 2 and 3) */
		unsigned char sz[8], l1[4];
		xp_put_be64(sz, q->size);
		xp_put_be32(l1, q->l1_size);
		r = xp_pwrite_full(q->fd, sz, sizeof(sz), 24);
		if (r == 0)
			r = xp_pwrite_full(q->fd, l1, sizeof(l1), 36);
		if (r < 0)
			return r;
	}
	if (q->version >= 3 && q->autoclear) {
		unsigned char z[8] = {0};
		r = xp_pwrite_full(q->fd, z, sizeof(z), 88);
		if (r < 0)
			return r;
	}
	if (fdatasync(q->fd) < 0)
		return -errno;
	return 0;
}

int xp_qcow2_rw_close(struct xp_qcow2_rw *q)
{
	if (!q)
		return 0;
	int r = q->err;
	/* even after a failed write the metadata of what was written is made consistent */
	if (q->wrote) {
		int fr = flush(q);
		if (fr < 0 && r == 0)
			r = fr;
	}
	if (close(q->fd) < 0 && r == 0)
		r = -errno;
	q->fd = -1;
	free_all(q);
	return r;
}
