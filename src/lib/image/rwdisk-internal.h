/*
 * rwdisk-internal.h - writable disk images for in-place edits of guest filesystems:
 * the copy-on-write qcow2 layer (qcow2-rw.c), a raw-or-qcow2 read-write disk and the
 * libext2fs io_manager over it (extfs-rwio.c). Used by guest-edit.c.
 *
 * Not here: the read-only block devices (blockdev-internal.h), writing whole qcow2
 * images (qcow2-write.c).
 */
#ifndef XP_RWDISK_INTERNAL_H
#define XP_RWDISK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "xenprov/blockdev.h"
#include "xenprov/util.h"

/* ---- qcow2-rw.c: a writable qcow2 image ------------------------------------------- */

/* A qcow2 image (version 2 or 3, 16-bit refcounts, no snapshots, no compressed
 * clusters where written) opened for reading and writing. A write to a cluster the
 * image does not hold copies the cluster's old content (from the backing file, or
 * zeros) into a new cluster at the end of the file; L2 tables are allocated the same
 * way. The backing file is only ever read. Metadata (L1/L2 tables, refcounts, the
 * header) is kept in memory and written by xp_qcow2_rw_close: single writer, no
 * crash consistency before close (the caller owns a fresh overlay and discards it on
 * failure). */
struct xp_qcow2_rw;

/* d (may be NULL) receives why it failed. */
int xp_qcow2_rw_open(const char *path, struct xp_qcow2_rw **ret, struct xp_diags *d);
uint64_t xp_qcow2_rw_size(const struct xp_qcow2_rw *q);
/* Reads/writes inside the virtual size (-EINVAL past it). */
int xp_qcow2_rw_pread(struct xp_qcow2_rw *q, void *buf, size_t len, uint64_t offset);
int xp_qcow2_rw_pwrite(struct xp_qcow2_rw *q, const void *buf, size_t len, uint64_t offset);
/* Makes the virtual size size bytes (a multiple of 512, not smaller: -EINVAL); more
 * L1 entries only within the clusters the L1 table has (-ENOTSUP beyond, with the
 * reason in the error message). The header is written at close. */
int xp_qcow2_rw_resize(struct xp_qcow2_rw *q, uint64_t size);
/* Clusters allocated since open (data and L2 tables). */
uint64_t xp_qcow2_rw_allocated(const struct xp_qcow2_rw *q);
/* Writes the metadata, syncs and closes; returns the first error of the session or
 * of the flush. Accepts NULL. */
int xp_qcow2_rw_close(struct xp_qcow2_rw *q);
/* The message of the last failure, "" if none. */
const char *xp_qcow2_rw_errmsg(const struct xp_qcow2_rw *q);

/* ---- extfs-rwio.c: a raw file or a qcow2 image, read-write -------------------------- */

struct xp_rwdisk;

/* Opens path read-write, detecting raw (a file or block device) or qcow2, under an
 * exclusive flock (-EBUSY if another xenprov holds it). With XP_RWDISK_NOSYNC a raw
 * image is not fsync'ed at close (its writeback is only started): the caller makes it
 * durable later, e.g. one syncfs(2) for many images (xp_deploy_run). */
#define XP_RWDISK_NOSYNC 1u
int xp_rwdisk_open(const char *path, unsigned flags, struct xp_rwdisk **ret,
		   struct xp_diags *d);
enum xp_image_format xp_rwdisk_format(const struct xp_rwdisk *d);
uint64_t xp_rwdisk_size(const struct xp_rwdisk *d);
int xp_rwdisk_pread(struct xp_rwdisk *d, void *buf, size_t len, uint64_t offset);
int xp_rwdisk_pwrite(struct xp_rwdisk *d, const void *buf, size_t len, uint64_t offset);
/* Grows d to size bytes: a raw file's length (ftruncate), a qcow2 image's virtual
 * size (xp_qcow2_rw_resize); a block device must be that large already (-ENOSPC).
 * Never shrinks (-EINVAL). */
int xp_rwdisk_resize(struct xp_rwdisk *d, uint64_t size);
/* Flushes (qcow2 metadata; fsync), closes; the first error. Accepts NULL. */
int xp_rwdisk_close(struct xp_rwdisk *d);
const char *xp_rwdisk_errmsg(const struct xp_rwdisk *d);

/* The name of a read-write channel of the libext2fs io_manager (extfs-iochan.h) on d
 * at a byte offset; d must outlive the channel. */
int xp_extfs_rwio_name(struct xp_rwdisk *d, uint64_t offset, char *buf, size_t len);

#endif
