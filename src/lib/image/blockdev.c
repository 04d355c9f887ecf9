/*
 * blockdev.c - read-only block devices over disk image files: raw (sparse) files and
 * qcow2 version 2 and 3 images with their backing chains.
 *
 * The qcow2 reader follows QEMU's docs/interop/qcow2.txt: a big-endian header, an L1
 * table of L2 table offsets, L2 entries mapping guest clusters to host clusters.
 * Unallocated clusters read from the backing file (or as zeros), clusters with the
 * "all zeros" flag read as zeros, compressed clusters are refused with -ENOTSUP.
 *
 * Every number taken from the file is validated before use (sizes are bounded,
 * offsets aligned and inside the file where that is knowable, arithmetic checked for
 * overflow): images come from users and are fuzzed (fuzz/fuzz-qcow2-read.c).
 *
 * Not here: writing qcow2 images (qcow2-write.c), what is inside an image.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/blockdev-internal.h"
#include "util/names.h"
#include "xenprov/util.h"

#define L2_CACHE_SLOTS 4

struct l2_slot {
	uint64_t offset; /* host offset of the table; 0: empty slot */
	uint64_t *table; /* host-endian entries */
};

struct xp_blockdev {
	enum xp_image_format format;
	int fd;
	uint64_t size;	    /* virtual size */
	uint64_t file_size; /* size of the container file */
	char *backing_name; /* as recorded in the image */
	struct xp_blockdev *backing;

	/* qcow2 */
	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits; /* log2 of entries per L2 table */
	uint32_t l1_size;
	uint64_t *l1; /* host-endian */
	struct l2_slot l2[L2_CACHE_SLOTS];
	unsigned l2_next; /* round-robin victim */

	char err[256];
};

/* The last error of an open image (xp_blockdev_errmsg): the message of a failed read. */
static void handle_err(struct xp_blockdev *bd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void handle_err(struct xp_blockdev *bd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(bd->err, sizeof(bd->err), fmt, ap);
	va_end(ap);
}

void xp__image_open_err(struct xp_diags *d, const char *fmt, ...)
{
	if (!d)
		return;
	va_list ap;
	va_start(ap, fmt);
	xp_diags_addv(d, XP_SEV_ERROR, NULL, 0, 0, "open", NULL, NULL, fmt, ap);
	va_end(ap);
}

int xp__image_open_fd(const char *path, int flags, struct xp_diags *d)
{
	/* O_NONBLOCK: opening a FIFO named by a hostile image must not hang */
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int r = -errno;
		xp__image_open_err(d, "cannot open '%s'%s: %s", path,
				   (flags & O_ACCMODE) == O_RDWR ? " for writing" : "", strerror(-r));
		return r;
	}
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		xp__image_open_err(d, "'%s' is a directory", path);
	} else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		r = -EINVAL;
		xp__image_open_err(d, "'%s' is neither a file nor a block device", path);
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int xp__image_open_end(struct xp_diags *d, size_t before, const char *path, int r)
{
	if (r < 0 && d && d->n + d->dropped == before)
		xp__image_open_err(d, "cannot open '%s': %s", path, strerror(-r));
	return r;
}

const char *xp_image_format_name(enum xp_image_format f)
{
	static const char *const names[] = {[XP_IMAGE_RAW] = "raw", [XP_IMAGE_QCOW2] = "qcow2"};
	return xp__name_of(names, sizeof(names) / sizeof(names[0]), f, "unknown");
}

void xp_blockdev_close(struct xp_blockdev *bd)
{
	if (!bd)
		return;
	/* the chain is at most QCOW2_MAX_CHAIN deep, but walk it without recursion */
	while (bd) {
		struct xp_blockdev *next = bd->backing;
		if (bd->fd >= 0)
			close(bd->fd);
		free(bd->backing_name);
		free(bd->l1);
		for (unsigned i = 0; i < L2_CACHE_SLOTS; i++)
			free(bd->l2[i].table);
		free(bd);
		bd = next;
	}
}

enum xp_image_format xp_blockdev_format(const struct xp_blockdev *bd)
{
	return bd->format;
}

uint64_t xp_blockdev_size(const struct xp_blockdev *bd)
{
	return bd->size;
}

const char *xp_blockdev_backing(const struct xp_blockdev *bd)
{
	return bd->backing_name;
}

int xp__blockdev_raw_fd(const struct xp_blockdev *bd)
{
	return bd->format == XP_IMAGE_RAW ? bd->fd : -1;
}

const char *xp_blockdev_errmsg(const struct xp_blockdev *bd)
{
	return bd->err;
}

/* Reads exactly len bytes at off; bytes past the end of the file read as zeros.
 * (QEMU does the same for data clusters past EOF; callers that must not accept this
 * check against file_size first.) */

/* ---- qcow2 ------------------------------------------------------------------------ */

/* Walks the header extensions between the header and the end of the first cluster
 * (or the backing file name); records the backing format. */
static int parse_extensions(const unsigned char *c0, size_t c0len, const struct xp_qcow2_header *h,
			    char *fmt, size_t fmtlen, struct xp_diags *d, const char *path)
{
	size_t pos = h->header_length;
	size_t end = c0len;
	if (h->backing_offset && h->backing_offset < end)
		end = (size_t)h->backing_offset;
	fmt[0] = '\0';
	while (pos + 8 <= end) {
		uint32_t type = xp_be32(c0 + pos);
		uint32_t len = xp_be32(c0 + pos + 4);
		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos) {
			xp__image_open_err(d, "%s: header extension 0x%08x overruns the header",
				path, type);
			return -EBADMSG;
		}
		if (type == QCOW2_EXT_BACKING_FORMAT) {
			if (len == 0 || len >= fmtlen || memchr(c0 + pos, '\0', len)) {
				xp__image_open_err(d, "%s: invalid backing format extension",
					path);
				return -EBADMSG;
			}
			memcpy(fmt, c0 + pos, len);
			fmt[len] = '\0';
		}
		/* data is padded to a multiple of 8 bytes */
		size_t padded = ((size_t)len + 7) & ~(size_t)7;
		if (padded > end - pos)
			return 0; /* padding of the last extension cut short: harmless */
		pos += padded;
	}
	return 0;
}

static int qcow2_parse(struct xp_blockdev *bd, const char *path, char *fmt, size_t fmtlen,
		       struct xp_diags *d)
{
	unsigned char hb[QCOW2_V3_HEADER_LEN];
	struct xp_qcow2_header h;
	int r;

	size_t hlen = bd->file_size < sizeof(hb) ? (size_t)bd->file_size : sizeof(hb);
	r = xp_pread_full(bd->fd, hb, hlen, 0);
	if (r < 0)
		return r;
	r = xp__qcow2_header_decode(hb, hlen, &h);
	if (hlen >= QCOW2_V2_HEADER_LEN && h.version != 2 && h.version != 3) {
		xp__image_open_err(d, "%s: unsupported qcow2 version %u", path, h.version);
		return -ENOTSUP;
	}
	if (r < 0) {
		xp__image_open_err(d, "%s: truncated qcow2 header", path);
		return -EBADMSG;
	}
	if (h.cluster_bits < QCOW2_MIN_CLUSTER_BITS || h.cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		xp__image_open_err(d, "%s: invalid cluster size 2^%u", path, h.cluster_bits);
		return -EBADMSG;
	}
	bd->cluster_bits = h.cluster_bits;
	bd->cluster_size = 1ULL << h.cluster_bits;
	bd->l2_bits = h.cluster_bits - 3;

	if (h.version == 3) {
		if (h.header_length < QCOW2_V3_HEADER_LEN || h.header_length > bd->cluster_size ||
		    h.header_length % 8 != 0) {
			xp__image_open_err(d, "%s: invalid header length %u", path,
				h.header_length);
			return -EBADMSG;
		}
		if (h.refcount_order > 6) {
			xp__image_open_err(d, "%s: invalid refcount order %u", path,
				h.refcount_order);
			return -EBADMSG;
		}
		/* dirty and corrupt only matter to writers; the compression type only to
		 * compressed clusters, which are refused anyway */
		uint64_t known =
		    QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION;
		if (h.incompat & ~known) {
			xp__image_open_err(d,
				"%s: unsupported qcow2 incompatible features 0x%llx%s", path,
				(unsigned long long)(h.incompat & ~known),
				h.incompat & QCOW2_INCOMPAT_DATA_FILE ? " (external data file)"
				: h.incompat & QCOW2_INCOMPAT_EXTL2   ? " (extended L2 entries)"
								      : "");
			return -ENOTSUP;
		}
	}
	if (h.crypt_method != 0) {
		xp__image_open_err(d, "%s: encrypted qcow2 images are not supported", path);
		return -ENOTSUP;
	}

	/* virtual size and L1 table: QEMU's limits, and the L1 table must map the size */
	if (h.size > (1ULL << 62)) {
		xp__image_open_err(d, "%s: absurd virtual size %llu", path,
			(unsigned long long)h.size);
		return -EBADMSG;
	}
	if ((uint64_t)h.l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		xp__image_open_err(d, "%s: L1 table too large (%u entries)", path, h.l1_size);
		return -EBADMSG;
	}
	unsigned shift = bd->cluster_bits + bd->l2_bits; /* bytes mapped per L1 entry */
	uint64_t l1_needed = shift >= 64 ? 1 : (h.size + (1ULL << shift) - 1) >> shift;
	if (h.l1_size < l1_needed) {
		xp__image_open_err(d, "%s: L1 table too small for the virtual size", path);
		return -EBADMSG;
	}
	if (h.l1_size > 0) {
		if (h.l1_offset % bd->cluster_size != 0 || h.l1_offset == 0 ||
		    h.l1_offset > bd->file_size ||
		    (uint64_t)h.l1_size * 8 > bd->file_size - h.l1_offset) {
			xp__image_open_err(d, "%s: L1 table offset 0x%llx invalid", path,
				(unsigned long long)h.l1_offset);
			return -EBADMSG;
		}
	}
	bd->size = h.size;
	bd->l1_size = h.l1_size;

	/* the first cluster: header extensions and the backing file name */
	size_t c0len =
	    (size_t)(bd->file_size < bd->cluster_size ? bd->file_size : bd->cluster_size);
	unsigned char *c0 = malloc(c0len);
	if (!c0)
		return -ENOMEM;
	r = xp_pread_full(bd->fd, c0, c0len, 0);
	if (r < 0)
		goto out;
	if (h.header_length > c0len) {
		xp__image_open_err(d, "%s: truncated qcow2 header", path);
		r = -EBADMSG;
		goto out;
	}
	if (h.backing_offset) {
		if (h.backing_size == 0 || h.backing_size > QCOW2_MAX_BACKING_NAME ||
		    h.backing_offset < h.header_length || h.backing_offset > c0len ||
		    h.backing_size > c0len - h.backing_offset) {
			xp__image_open_err(d, "%s: invalid backing file name location", path);
			r = -EBADMSG;
			goto out;
		}
		if (memchr(c0 + h.backing_offset, '\0', h.backing_size)) {
			xp__image_open_err(d, "%s: backing file name contains a NUL byte", path);
			r = -EBADMSG;
			goto out;
		}
		bd->backing_name = strndup((const char *)c0 + h.backing_offset, h.backing_size);
		if (!bd->backing_name) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = parse_extensions(c0, c0len, &h, fmt, fmtlen, d, path);
	if (r < 0)
		goto out;

	if (bd->l1_size > 0) {
		unsigned char *raw = malloc((size_t)bd->l1_size * 8);
		bd->l1 = malloc((size_t)bd->l1_size * sizeof(uint64_t));
		if (!raw || !bd->l1) {
			free(raw);
			r = -ENOMEM;
			goto out;
		}
		r = xp_pread_full(bd->fd, raw, (size_t)bd->l1_size * 8, h.l1_offset);
		for (uint32_t i = 0; r == 0 && i < bd->l1_size; i++)
			bd->l1[i] = xp_be64(raw + (size_t)i * 8);
		free(raw);
		if (r < 0)
			goto out;
	}
	for (unsigned i = 0; i < L2_CACHE_SLOTS; i++) {
		bd->l2[i].table = malloc((size_t)bd->cluster_size);
		if (!bd->l2[i].table) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = 0;
out:
	free(c0);
	return r;
}

/* The L2 table at host offset off, from the cache or the file. */
static int get_l2(struct xp_blockdev *bd, uint64_t off, const uint64_t **table)
{
	for (unsigned i = 0; i < L2_CACHE_SLOTS; i++) {
		if (bd->l2[i].offset == off) {
			*table = bd->l2[i].table;
			return 0;
		}
	}
	if (off % bd->cluster_size != 0 || off > bd->file_size ||
	    bd->cluster_size > bd->file_size - off) {
		handle_err(bd, "L2 table offset 0x%llx is invalid",
			(unsigned long long)off);
		return -EBADMSG;
	}
	struct l2_slot *s = &bd->l2[bd->l2_next];
	bd->l2_next = (bd->l2_next + 1) % L2_CACHE_SLOTS;
	s->offset = 0;
	int r = xp_pread_full(bd->fd, s->table, (size_t)bd->cluster_size, off);
	if (r < 0)
		return r;
	unsigned char *b = (unsigned char *)s->table;
	/* convert in place: each 8-byte slot is read before it is written */
	for (size_t i = 0; i < (size_t)(bd->cluster_size / 8); i++)
		s->table[i] = xp_be64(b + i * 8);
	s->offset = off;
	*table = s->table;
	return 0;
}

/* Reads within one guest cluster. */
static int qcow2_read_cluster(struct xp_blockdev *bd, unsigned char *buf, size_t len,
			      uint64_t offset)
{
	uint64_t l2_index = (offset >> bd->cluster_bits) & ((1ULL << bd->l2_bits) - 1);
	uint64_t l1_index = offset >> (bd->cluster_bits + bd->l2_bits);
	uint64_t in_cluster = offset & (bd->cluster_size - 1);
	uint64_t entry = 0;

	if (l1_index < bd->l1_size) {
		uint64_t l1e = bd->l1[l1_index];
		if (l1e & QCOW2_L1_RESERVED) {
			handle_err(bd, "L1 entry %llu has reserved bits set",
				(unsigned long long)l1_index);
			return -EBADMSG;
		}
		uint64_t l2_off = l1e & QCOW2_OFFSET_MASK;
		if (l2_off) {
			const uint64_t *l2;
			int r = get_l2(bd, l2_off, &l2);
			if (r < 0)
				return r;
			entry = l2[l2_index];
		}
	}

	if (entry & QCOW2_OFLAG_COMPRESSED) {
		handle_err(bd,
			"compressed cluster at guest offset 0x%llx: compressed qcow2 clusters "
			"are not supported (convert with 'qemu-img convert -O qcow2')",
			(unsigned long long)(offset - in_cluster));
		return -ENOTSUP;
	}
	/* the zero flag exists from version 3; version 2 readers treat bit 0 as
	 * reserved, which QEMU also reads as "zeros" */
	if (entry & QCOW2_OFLAG_ZERO) {
		memset(buf, 0, len);
		return 0;
	}
	uint64_t host = entry & QCOW2_OFFSET_MASK;
	if (host == 0) {
		if (bd->backing) {
			int r = xp_blockdev_pread(bd->backing, buf, len, offset);
			if (r < 0)
				handle_err(bd, "backing file '%s': %s",
					bd->backing_name, bd->backing->err);
			return r;
		}
		memset(buf, 0, len);
		return 0;
	}
	if (host % bd->cluster_size != 0) {
		handle_err(bd, "data cluster offset 0x%llx is unaligned",
			(unsigned long long)host);
		return -EBADMSG;
	}
	return xp_pread_full(bd->fd, buf, len, host + in_cluster);
}

int xp_blockdev_pread(struct xp_blockdev *bd, void *buf, size_t len, uint64_t offset)
{
	unsigned char *p = buf;
	if (!bd || (!buf && len))
		return -EINVAL;
	bd->err[0] = '\0';
	while (len > 0) {
		if (offset >= bd->size) {
			memset(p, 0, len);
			return 0;
		}
		size_t n = len;
		if (n > bd->size - offset)
			n = (size_t)(bd->size - offset);
		int r;
		if (bd->format == XP_IMAGE_RAW) {
			r = xp_pread_full(bd->fd, p, n, offset);
		} else {
			uint64_t left = bd->cluster_size - (offset & (bd->cluster_size - 1));
			if (n > left)
				n = (size_t)left;
			r = qcow2_read_cluster(bd, p, n, offset);
		}
		if (r < 0) {
			if (!bd->err[0])
				handle_err(bd, "read at 0x%llx: %s",
					(unsigned long long)offset, strerror(-r));
			return r;
		}
		p += n;
		len -= n;
		offset += n;
	}
	return 0;
}

/* ---- opening ------------------------------------------------------------------------ */

/* backing name resolved against the directory of the image naming it */
static char *resolve_backing(const char *image, const char *name)
{
	if (name[0] == '/')
		return strdup(name);
	const char *slash = strrchr(image, '/');
	if (!slash)
		return strdup(name);
	char *out = NULL;
	if (asprintf(&out, "%.*s/%s", (int)(slash - image), image, name) < 0)
		return NULL;
	return out;
}

/* forced: NULL to probe the format, else "raw" or "qcow2" */
static int open_chain(const char *path, const char *forced, unsigned depth,
		      struct xp_blockdev **ret, struct xp_diags *d)
{
	struct xp_blockdev *bd = calloc(1, sizeof(*bd));
	char fmt[32] = "";
	int r;

	if (!bd)
		return -ENOMEM;
	if ((bd->fd = xp__image_open_fd(path, O_RDONLY, d)) < 0) {
		r = bd->fd;
		goto fail;
	}
	off_t end = lseek(bd->fd, 0, SEEK_END);
	if (end < 0) {
		r = -errno;
		goto fail;
	}
	bd->file_size = (uint64_t)end;

	unsigned char magic[4] = {0};
	if (bd->file_size >= 4) {
		r = xp_pread_full(bd->fd, magic, 4, 0);
		if (r < 0)
			goto fail;
	}
	bool is_qcow2 = xp_be32(magic) == QCOW2_MAGIC;
	if (forced && strcmp(forced, "raw") == 0)
		is_qcow2 = false;
	else if (forced && !is_qcow2) {
		xp__image_open_err(d, "'%s' is not a qcow2 image", path);
		r = -EBADMSG;
		goto fail;
	}

	if (!is_qcow2) {
		bd->format = XP_IMAGE_RAW;
		bd->size = bd->file_size;
		*ret = bd;
		return 0;
	}
	bd->format = XP_IMAGE_QCOW2;
	r = qcow2_parse(bd, path, fmt, sizeof(fmt), d);
	if (r < 0)
		goto fail;

	if (bd->backing_name) {
		if (depth + 1 >= QCOW2_MAX_CHAIN) {
			xp__image_open_err(d,
				"'%s': backing chain deeper than %d images (a loop?)", path,
				QCOW2_MAX_CHAIN);
			r = -ELOOP;
			goto fail;
		}
		if (fmt[0] && strcmp(fmt, "raw") != 0 && strcmp(fmt, "qcow2") != 0) {
			xp__image_open_err(d, "'%s': unsupported backing format '%s'", path, fmt);
			r = -ENOTSUP;
			goto fail;
		}
		char *bpath = resolve_backing(path, bd->backing_name);
		if (!bpath) {
			r = -ENOMEM;
			goto fail;
		}
		r = open_chain(bpath, fmt[0] ? fmt : NULL, depth + 1, &bd->backing, d);
		free(bpath);
		if (r < 0)
			goto fail;
	}
	*ret = bd;
	return 0;
fail:
	xp_blockdev_close(bd);
	return r;
}

int xp__blockdev_open(const char *path, struct xp_blockdev **ret, struct xp_diags *d)
{
	if (!path || !ret)
		return -EINVAL;
	*ret = NULL;
	size_t before = d ? d->n + d->dropped : 0;
	return xp__image_open_end(d, before, path, open_chain(path, NULL, 0, ret, d));
}

int xp_blockdev_open(const char *path, struct xp_blockdev **ret)
{
	return xp__blockdev_open(path, ret, NULL);
}
