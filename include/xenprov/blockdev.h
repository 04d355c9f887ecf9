/*
 * xenprov/blockdev.h - disk image containers: raw (sparse) files and qcow2 version 3
 * images (with backing files), read through one interface, and qcow2 images written by
 * xenprov itself (no qemu-img at run time).
 *
 * qcow2 facts follow QEMU's docs/interop/qcow2.txt: big-endian header, 64 KiB clusters
 * by default, L1/L2 tables, 16-bit refcounts, version 3 with no incompatible features.
 *
 * Not here: what is inside the image (partition.h, extfs.h).
 */
#ifndef XENPROV_BLOCKDEV_H
#define XENPROV_BLOCKDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum xp_image_format {
	XP_IMAGE_RAW,
	XP_IMAGE_QCOW2,
};

const char *xp_image_format_name(enum xp_image_format f);

/* A read-only view of an image as a flat array of bytes. */
struct xp_blockdev;

/* Opens path, detecting raw or qcow2; a qcow2 image's backing file (relative to the
 * image's directory when not absolute) is opened too, to a depth of 16. */
int xp_blockdev_open(const char *path, struct xp_blockdev **ret);
void xp_blockdev_close(struct xp_blockdev *bd);
enum xp_image_format xp_blockdev_format(const struct xp_blockdev *bd);
uint64_t xp_blockdev_size(const struct xp_blockdev *bd);
/* The backing file name as recorded in the image, NULL if none. */
const char *xp_blockdev_backing(const struct xp_blockdev *bd);
/* Reads len bytes at offset (beyond the end, or unallocated: zeros). */
int xp_blockdev_pread(struct xp_blockdev *bd, void *buf, size_t len, uint64_t offset);

/* ---- writing qcow2 ------------------------------------------------------------------ */

/* Writes a qcow2 v3 image of the raw file at raw_path to out_path (created, mode 0644),
 * storing only clusters that hold non-zero data (holes and zero clusters stay
 * unallocated). cluster_bits 0 means 16 (64 KiB). The result passes `qemu-img check`. */
int xp_qcow2_from_raw(const char *raw_path, const char *out_path, unsigned cluster_bits);

/* Creates an empty qcow2 v3 overlay of virtual_size bytes whose backing file is
 * backing (recorded as given, with its format). */
int xp_qcow2_create_overlay(const char *out_path, const char *backing,
			    enum xp_image_format backing_format, uint64_t virtual_size);

#endif
