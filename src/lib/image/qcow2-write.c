/*
 * qcow2-write.c - qcow2 version 3 images written by xenprov: a raw image converted
 * (only clusters holding non-zero bytes are stored) and empty copy-on-write overlays
 * over a backing file. Format facts: QEMU's docs/interop/qcow2.txt.
 *
 * Layout of what we write, in host clusters:
 *   0                  header (112 bytes), header extensions, backing file name
 *   1 .. D             data clusters, in guest order (one sequential pass)
 *   then               L2 tables, the L1 table, refcount blocks, the refcount table
 * Metadata goes last because its size is only known once the data has been scanned;
 * the header is written at the very end, so a half-written file is never a valid
 * image. Every cluster has refcount 1 and every L1/L2 entry carries OFLAG_COPIED, which
 * is what `qemu-img check` expects of an image without snapshots.
 *
 * The raw file is scanned with SEEK_DATA/SEEK_HOLE (lseek(2)), so holes cost nothing,
 * and read in large chunks; all-zero clusters inside data stay unallocated too.
 *
 * The output is written to a temporary file next to out_path and renamed over it once
 * complete and synced.
 *
 * Not here: reading (blockdev.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/blockdev-internal.h"
#include "xenprov/util.h"

#define CHUNK_BYTES (8u << 20) /* raw data read per call */

struct writer {
	int fd;
	unsigned cluster_bits;
	uint64_t cs;	  /* cluster size */
	uint64_t vsize;	  /* virtual size */
	uint64_t l1_size; /* entries */
	uint64_t **l2;	  /* per L1 index: host-endian L2 table or NULL */
	uint64_t next;	  /* next free host cluster index */
	uint64_t n_l2;	  /* L2 tables allocated */
};

static int writer_init(struct writer *w, unsigned cluster_bits, uint64_t vsize)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (cluster_bits == 0)
		cluster_bits = QCOW2_DEFAULT_CLUSTER_BITS;
	if (cluster_bits < QCOW2_MIN_CLUSTER_BITS || cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return -EINVAL;
	w->cluster_bits = cluster_bits;
	w->cs = 1ULL << cluster_bits;
	/* QEMU requires a multiple of 512 (qcow2_co_create); the tail reads as zeros */
	if (vsize > (1ULL << 62))
		return -EFBIG;
	w->vsize = (vsize + 511) & ~511ULL;
	unsigned shift = 2 * cluster_bits - 3;
	w->l1_size = (w->vsize + (1ULL << shift) - 1) >> shift;
	if (w->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return -EFBIG;
	w->l2 = calloc(w->l1_size ? w->l1_size : 1, sizeof(*w->l2));
	if (!w->l2)
		return -ENOMEM;
	w->next = 1; /* cluster 0 is the header */
	return 0;
}

static void writer_release(struct writer *w)
{
	if (w->l2) {
		for (uint64_t i = 0; i < w->l1_size; i++)
			free(w->l2[i]);
		free(w->l2);
	}
	w->l2 = NULL;
}

/* Maps guest cluster gc to host cluster hc. */
static int map_cluster(struct writer *w, uint64_t gc, uint64_t hc)
{
	unsigned l2_bits = w->cluster_bits - 3;
	uint64_t l1i = gc >> l2_bits;
	uint64_t l2i = gc & ((1ULL << l2_bits) - 1);
	if (l1i >= w->l1_size)
		return -EINVAL;
	if (!w->l2[l1i]) {
		w->l2[l1i] = calloc(1, (size_t)w->cs);
		if (!w->l2[l1i])
			return -ENOMEM;
		w->n_l2++;
	}
	w->l2[l1i][l2i] = (hc << w->cluster_bits) | QCOW2_OFLAG_COPIED;
	return 0;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Writes the metadata after the data clusters, then the header. */
static int write_metadata(struct writer *w, const char *backing, const char *backing_fmt)
{
	uint64_t cs = w->cs;
	size_t entries = (size_t)(cs / 8);
	int r;

	/* header cluster content first, so a too-long backing name fails early */
	unsigned char *hdr = calloc(1, (size_t)cs);
	if (!hdr)
		return -ENOMEM;
	size_t pos = QCOW2_V3_HEADER_LEN_WRITTEN;
	if (backing_fmt) {
		size_t flen = strlen(backing_fmt);
		xp_put_be32(hdr + pos, QCOW2_EXT_BACKING_FORMAT);
		xp_put_be32(hdr + pos + 4, (uint32_t)flen);
		memcpy(hdr + pos + 8, backing_fmt, flen);
		pos += 8 + ((flen + 7) & ~(size_t)7);
	}
	pos += 8; /* end of extensions: type 0, length 0 */
	size_t blen = backing ? strlen(backing) : 0;
	if (blen > QCOW2_MAX_BACKING_NAME || pos + blen > cs) {
		free(hdr);
		return -ENAMETOOLONG;
	}
	if (backing)
		memcpy(hdr + pos, backing, blen);

	/* L2 tables, in L1 order */
	unsigned char *buf = malloc((size_t)cs);
	uint64_t *l1 = calloc(w->l1_size ? w->l1_size : 1, sizeof(uint64_t));
	if (!buf || !l1) {
		r = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < w->l1_size; i++) {
		if (!w->l2[i])
			continue;
		for (size_t k = 0; k < entries; k++)
			xp_put_be64(buf + k * 8, w->l2[i][k]);
		uint64_t hc = w->next++;
		r = xp_pwrite_full(w->fd, buf, (size_t)cs, hc * cs);
		if (r < 0)
			goto out;
		l1[i] = (hc * cs) | QCOW2_OFLAG_COPIED;
	}

	/* L1 table (none for an empty disk: a cluster no table names is a leak) */
	uint64_t l1_clusters = div_up(w->l1_size * 8, cs);
	uint64_t l1_off = l1_clusters ? w->next * cs : 0;
	w->next += l1_clusters;

	/* refcount blocks (16-bit entries) covering every cluster including
	 * themselves and the refcount table: iterate to the fixed point */
	uint64_t per_block = cs / 2;
	uint64_t rb = 0, rt = 0;
	for (;;) {
		uint64_t total = w->next + rb + rt;
		uint64_t nrb = div_up(total, per_block);
		uint64_t nrt = div_up(nrb * 8, cs);
		if (nrb == rb && nrt == rt)
			break;
		rb = nrb;
		rt = nrt;
	}
	if (rt > UINT32_MAX) {
		r = -EFBIG;
		goto out;
	}
	uint64_t rb_first = w->next;
	uint64_t rt_first = rb_first + rb;
	uint64_t total = rt_first + rt;

	/* the L1 table */
	{
		size_t l1_bytes = (size_t)(l1_clusters * cs);
		unsigned char *l1b = calloc(1, l1_bytes ? l1_bytes : 1);
		if (!l1b) {
			r = -ENOMEM;
			goto out;
		}
		for (uint64_t i = 0; i < w->l1_size; i++)
			xp_put_be64(l1b + i * 8, l1[i]);
		r = xp_pwrite_full(w->fd, l1b, l1_bytes, l1_off);
		free(l1b);
		if (r < 0)
			goto out;
	}
	/* refcount blocks: clusters 0 .. total-1 have refcount 1 */
	for (uint64_t b = 0; b < rb; b++) {
		memset(buf, 0, (size_t)cs);
		uint64_t first = b * per_block;
		uint64_t n = total - first < per_block ? total - first : per_block;
		for (uint64_t k = 0; k < n; k++) {
			buf[k * 2] = 0;
			buf[k * 2 + 1] = 1;
		}
		r = xp_pwrite_full(w->fd, buf, (size_t)cs, (rb_first + b) * cs);
		if (r < 0)
			goto out;
	}
	/* refcount table */
	{
		size_t rt_bytes = (size_t)(rt * cs);
		unsigned char *rtb = calloc(1, rt_bytes);
		if (!rtb) {
			r = -ENOMEM;
			goto out;
		}
		for (uint64_t b = 0; b < rb; b++)
			xp_put_be64(rtb + b * 8, (rb_first + b) * cs);
		r = xp_pwrite_full(w->fd, rtb, rt_bytes, rt_first * cs);
		free(rtb);
		if (r < 0)
			goto out;
	}

	/* the header (qcow2.txt "Header"), last */
	struct xp_qcow2_header h = {
	    .backing_offset = backing ? pos : 0,
	    .backing_size = backing ? (uint32_t)blen : 0,
	    .cluster_bits = w->cluster_bits,
	    .size = w->vsize,
	    .l1_size = (uint32_t)w->l1_size,
	    .l1_offset = l1_off,
	    .refcount_table_offset = rt_first * cs,
	    .refcount_table_clusters = (uint32_t)rt,
	    .refcount_order = 4, /* 16-bit refcounts */
	    /* no encryption, snapshots or feature bits; compression type 0 (zlib) */
	};
	xp__qcow2_header_encode(&h, hdr);
	r = xp_pwrite_full(w->fd, hdr, (size_t)(backing ? pos + blen : pos), 0);
	if (r < 0)
		goto out;
	/* make the file end at the last cluster even if it ends in zeros we skipped */
	if (ftruncate(w->fd, (off_t)(total * cs)) < 0) {
		r = -errno;
		goto out;
	}
	r = 0;
out:
	free(hdr);
	free(buf);
	free(l1);
	return r;
}

/* Creates a temporary file next to out_path: unnamed (O_TMPFILE, *tmp = "") where the
 * filesystem allows, so that a crash leaves nothing behind; else named (*tmp). */
static int open_tmp(const char *out_path, char **tmp)
{
	char *dir = strdup(out_path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	int fd;
	if (slash == dir)
		fd = open("/", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	else if (slash) {
		*slash = 0;
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	} else
		fd = open(".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	free(dir);
	if (fd >= 0) {
		*tmp = strdup("");
		if (!*tmp) {
			close(fd);
			return -ENOMEM;
		}
		return fd;
	}
	if (asprintf(tmp, "%s.XXXXXX", out_path) < 0) {
		*tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		free(*tmp);
		*tmp = NULL;
		return r;
	}
	if (fchmod(fd, 0644) < 0) {
		int r = -errno;
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
		return r;
	}
	return fd;
}

static int finish(int fd, char *tmp, const char *out_path, int r)
{
	if (r >= 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r >= 0 && !tmp[0]) {
		/* give the unnamed file a temporary name, then rename it over out_path */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		free(tmp);
		tmp = NULL;
		for (int i = 0; i < 100 && r >= 0; i++) {
			free(tmp);
			if (asprintf(&tmp, "%s.%d.%d", out_path, (int)getpid(), i) < 0) {
				tmp = NULL;
				r = -ENOMEM;
				break;
			}
			if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
				break;
			if (errno != EEXIST || i == 99)
				r = -errno;
		}
		if (r < 0) {
			free(tmp);
			tmp = strdup(""); /* nothing named to remove */
		}
	}
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, out_path) < 0)
		r = -errno;
	if (r < 0 && tmp && tmp[0])
		unlink(tmp);
	free(tmp);
	return r;
}

/* Copies the non-zero clusters of [from, to) (cluster indices) of the raw file. */
static int copy_range(struct writer *w, int in, uint64_t raw_size, uint64_t from, uint64_t to,
		      unsigned char *chunk, size_t chunk_clusters)
{
	uint64_t cs = w->cs;
	while (from < to) {
		uint64_t nc = to - from < chunk_clusters ? to - from : chunk_clusters;
		uint64_t off = from * cs;
		size_t want = (size_t)(nc * cs);
		if (off + want > raw_size)
			want = (size_t)(raw_size - off);
		size_t got = 0;
		while (got < want) {
			ssize_t n = pread(in, chunk + got, want - got, (off_t)(off + got));
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (n == 0)
				break; /* the file shrank under us: the rest reads as zeros */
			got += (size_t)n;
		}
		memset(chunk + got, 0, (size_t)(nc * cs) - got);

		/* compact the non-zero clusters to the front, keep one write per chunk */
		size_t kept = 0;
		for (uint64_t k = 0; k < nc; k++) {
			unsigned char *c = chunk + k * cs;
			if (xp_all_zero(c, (size_t)cs))
				continue;
			if (kept != k)
				memcpy(chunk + kept * cs, c, (size_t)cs);
			int r = map_cluster(w, from + k, w->next + kept);
			if (r < 0)
				return r;
			kept++;
		}
		if (kept) {
			int r = xp_pwrite_full(w->fd, chunk, (size_t)(kept * cs), w->next * cs);
			if (r < 0)
				return r;
			/* on its way to the disk while the next chunk is read, so the final
			 * fdatasync has less to wait for (a hint: errors show there) */
			sync_file_range(w->fd, (off_t)(w->next * cs), (off_t)(kept * cs),
					SYNC_FILE_RANGE_WRITE);
			w->next += kept;
		}
		from += nc;
	}
	return 0;
}

int xp_qcow2_from_raw(const char *raw_path, const char *out_path, unsigned cluster_bits)
{
	struct writer w;
	char *tmp = NULL;
	unsigned char *chunk = NULL;
	int r;

	if (!raw_path || !out_path)
		return -EINVAL;
	int in = open(raw_path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	struct stat st;
	if (fstat(in, &st) < 0) {
		r = -errno;
		close(in);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(in);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	uint64_t raw_size = (uint64_t)st.st_size;
	r = writer_init(&w, cluster_bits, raw_size);
	if (r < 0) {
		close(in);
		writer_release(&w);
		return r;
	}
	size_t chunk_clusters = (size_t)(CHUNK_BYTES / w.cs);
	if (chunk_clusters == 0)
		chunk_clusters = 1;
	chunk = aligned_alloc(4096, chunk_clusters * (size_t)w.cs);
	if (!chunk) {
		r = -ENOMEM;
		goto out;
	}
	(void)posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);

	int fd = open_tmp(out_path, &tmp);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	w.fd = fd;

	/* data regions, widened to whole clusters */
	uint64_t done = 0; /* clusters below this are handled */
	uint64_t pos = 0;
	while (pos < raw_size) {
		off_t data = lseek(in, (off_t)pos, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break; /* only a hole remains */
			if (errno == EINVAL || errno == EOPNOTSUPP) {
				data = (off_t)pos; /* no hole support: all data */
			} else {
				r = -errno;
				break;
			}
		}
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = (off_t)raw_size;
		if ((uint64_t)hole > raw_size)
			hole = (off_t)raw_size;
		uint64_t c0 = (uint64_t)data >> w.cluster_bits;
		uint64_t c1 = div_up((uint64_t)hole, w.cs);
		if (c0 < done)
			c0 = done;
		if (c0 < c1) {
			r = copy_range(&w, in, raw_size, c0, c1, chunk, chunk_clusters);
			if (r < 0)
				break;
			done = c1;
		}
		pos = (uint64_t)hole > pos ? (uint64_t)hole : pos + 1;
	}
	if (r >= 0)
		r = write_metadata(&w, NULL, NULL);
	r = finish(fd, tmp, out_path, r);
	tmp = NULL;
out:
	free(chunk);
	free(tmp);
	writer_release(&w);
	close(in);
	return r;
}

int xp_qcow2_create_overlay(const char *out_path, const char *backing,
			    enum xp_image_format backing_format, uint64_t virtual_size)
{
	struct writer w;
	char *tmp = NULL;
	int r;

	if (!out_path || !backing || !backing[0])
		return -EINVAL;
	if (backing_format != XP_IMAGE_RAW && backing_format != XP_IMAGE_QCOW2)
		return -EINVAL;
	if (strlen(backing) > QCOW2_MAX_BACKING_NAME)
		return -ENAMETOOLONG;
	r = writer_init(&w, 0, virtual_size);
	if (r < 0) {
		writer_release(&w);
		return r;
	}
	int fd = open_tmp(out_path, &tmp);
	if (fd < 0) {
		writer_release(&w);
		return fd;
	}
	w.fd = fd;
	r = write_metadata(&w, backing, xp_image_format_name(backing_format));
	r = finish(fd, tmp, out_path, r);
	writer_release(&w);
	return r;
}
