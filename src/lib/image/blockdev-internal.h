/*
 * blockdev-internal.h - what the image code shares about qcow2 and block devices
 * beyond include/xenprov/blockdev.h: on-disk constants of QEMU's docs/interop/qcow2.txt,
 * big-endian helpers and the last-error string of a block device.
 *
 * Not here: the public API (blockdev.h).
 */
#ifndef XP_BLOCKDEV_INTERNAL_H
#define XP_BLOCKDEV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "xenprov/blockdev.h"
#include "xenprov/partition.h"
#include "xenprov/util.h"

#define QCOW2_MAGIC 0x514649fbU /* "QFI\xfb" */

#define QCOW2_MIN_CLUSTER_BITS	   9
#define QCOW2_MAX_CLUSTER_BITS	   21 /* 2 MiB, QEMU's limit */
#define QCOW2_DEFAULT_CLUSTER_BITS 16
#define QCOW2_V2_HEADER_LEN	   72
#define QCOW2_V3_HEADER_LEN	   104 /* version 3's mandatory fields */
/* what xenprov writes: version 3 with the compression type byte, padded to 8 */
#define QCOW2_V3_HEADER_LEN_WRITTEN 112
#define QCOW2_MAX_BACKING_NAME	   1023	       /* QEMU refuses longer names */
#define QCOW2_MAX_L1_BYTES	   (32u << 20) /* QEMU's QCOW_MAX_L1_SIZE */
#define QCOW2_MAX_CHAIN		   16

/* L1/L2 entry bits (qcow2.txt "Cluster mapping") */
#define QCOW2_OFLAG_COPIED     (1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW2_OFLAG_ZERO       1ULL
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ULL /* bits 9-55 */
#define QCOW2_L1_RESERVED      0x7f000000000001ffULL

/* header extension types */
#define QCOW2_EXT_END		 0x00000000U
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acaU
#define QCOW2_EXT_FEATURE_TABLE	 0x6803f857U

/* incompatible feature bits */
#define QCOW2_INCOMPAT_DIRTY	   (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT	   (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2	   (1ULL << 4)

static inline uint32_t xp_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t xp_be64(const unsigned char *p)
{
	return (uint64_t)xp_be32(p) << 32 | xp_be32(p + 4);
}

static inline void xp_put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void xp_put_be64(unsigned char *p, uint64_t v)
{
	xp_put_be32(p, (uint32_t)(v >> 32));
	xp_put_be32(p + 4, (uint32_t)v);
}

/* ---- qcow2-header.c: the header's fields, host order ------------------------------ */

struct xp_qcow2_header {
	uint32_t magic, version;
	uint64_t backing_offset;
	uint32_t backing_size;
	uint32_t cluster_bits;
	uint64_t size; /* virtual size in bytes */
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompat, compat, autoclear; /* version 3; 0 for version 2 */
	uint32_t refcount_order;	      /* version 2: 4 */
	uint32_t header_length;		      /* version 2: 72 */
	uint8_t compression_type;	      /* 0 (zlib) unless the header has the byte */
};

/* Decodes the header from the first len bytes of the file. -EBADMSG if len is shorter
 * than the header of the version it names (72 bytes for version 2, 104 for 3); no
 * other field is judged. */
int xp__qcow2_header_decode(const unsigned char *b, size_t len, struct xp_qcow2_header *h);
/* Encodes a version 3 header of QCOW2_V3_HEADER_LEN_WRITTEN bytes (magic, version and
 * header_length are set here). */
void xp__qcow2_header_encode(const struct xp_qcow2_header *h,
			     unsigned char out[QCOW2_V3_HEADER_LEN_WRITTEN]);

/* The message of the last failed xp_blockdev_pread (compressed cluster, corrupt
 * table...), "" if none. Borrowed; valid until the next call on bd. */
const char *xp_blockdev_errmsg(const struct xp_blockdev *bd);

/* The descriptor of a raw image (no container: its bytes are the disk's), -1 for a
 * qcow2 image. Borrowed. For copying data straight from the file (copy_file_range). */
int xp__blockdev_raw_fd(const struct xp_blockdev *bd);

/* The image code's one error channel for opening images: why an image cannot be opened
 * (naming the file and what is wrong with it), as one error of code "open" in d (may
 * be NULL). */
void xp__image_open_err(struct xp_diags *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Opens the image file at path for reading (flags O_RDONLY) or writing (O_RDWR) as
 * both image readers do: without hanging on a FIFO a hostile image names, a regular
 * file or block device only (a directory: -EISDIR), blocking once open. The
 * descriptor, or -errno with why in d. */
int xp__image_open_fd(const char *path, int flags, struct xp_diags *d);
/* Ends an open: if it failed (r < 0) and nothing was said since d held `before`
 * messages, says "cannot open 'PATH': strerror". Returns r. */
int xp__image_open_end(struct xp_diags *d, size_t before, const char *path, int r);

/* Like xp_blockdev_open, with why it failed in d (may be NULL). */
int xp__blockdev_open(const char *path, struct xp_blockdev **ret, struct xp_diags *d);

/* partition-read.c: the image at path opened (xp__blockdev_open) and its partition
 * table read (xp_partition_read; code "partition" in d when it cannot be). On failure
 * nothing is left open. */
int xp__image_open_table(const char *path, struct xp_diags *d, struct xp_blockdev **bd,
			 enum xp_label *label, struct xp_part **parts, size_t *n);

/* ---- extfs-io.c: a block device under the libext2fs io_manager (extfs-iochan.h) ------- */

/* The name of a read-only channel (writes fail with EROFS) on bd at a byte offset;
 * bd must outlive the channel. */
int xp_extfs_io_name(struct xp_blockdev *bd, uint64_t offset, char *buf, size_t len);

#endif
