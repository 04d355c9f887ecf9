/*
 * golden.h - what golden.c tells the rest of deploy/ about an image file beyond
 * xp_golden_prepare (domain.h): what kind of file it is, by its magic bytes, so that a
 * profile's image can be looked into before its golden image is built (guest-boot.c).
 *
 * Not here: preparing the golden image (domain.h).
 */
#ifndef XP_DEPLOY_GOLDEN_H
#define XP_DEPLOY_GOLDEN_H

enum xp_image_kind {
	XP_IMAGE_KIND_UNKNOWN,
	XP_IMAGE_KIND_TARBALL, /* gzip, xz, zstd, bzip2, lz4 or a POSIX tar */
	XP_IMAGE_KIND_RAW,     /* an MBR, GPT or ext2/3/4 superblock */
	XP_IMAGE_KIND_QCOW2,
};

/* The kind of the file at path by its magic bytes; UNKNOWN if it cannot be read. */
enum xp_image_kind xp_golden_sniff(const char *path);

#endif
