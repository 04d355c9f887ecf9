/*
 * xenprov/image.h - guest disk images built from a root tarball in one call: a sparse
 * file, a partition table (partition.h), an ext2/3/4 filesystem filled straight from the
 * archive (extfs.h), an optional swap partition, then raw or qcow2 (blockdev.h); written
 * to a temporary file and renamed into place, so a failure leaves nothing behind.
 * Identical inputs (archive content hash + options) are served from a cache.
 */
#ifndef XENPROV_IMAGE_H
#define XENPROV_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "xenprov/blockdev.h"
#include "xenprov/extfs.h"
#include "xenprov/partition.h"
#include "xenprov/util.h"

struct xp_image_opts {
	const char *archive;       /* tarball path */
	const char *output;        /* image path (replaced atomically) */
	uint64_t size;             /* disk size in bytes; 0 for auto */
	unsigned headroom_percent; /* with size 0: free space added to the content, percent */
	struct xp_fs_opts fs;
	enum xp_label label;
	uint64_t swap_size;
	enum xp_image_format format;
	const char *cache_dir; /* NULL: no cache */
};

struct xp_image_result {
	bool from_cache;
	char key[65]; /* hex SHA-256 of archive content + options */
	struct xp_layout layout;
	struct xp_fs_stats fs;
};

int xp_image_build(const struct xp_image_opts *opts, xp_progress_fn progress, void *ud,
		   struct xp_image_result *res, struct xp_diags *diags);

/* ---- reading ------------------------------------------------------------------------ */

struct xp_image_volume {
	unsigned partition;     /* 1-based; 0 for an image without a partition table */
	uint64_t offset, size;
	char kind[16];          /* "ext2", "ext3", "ext4", "swap" or "" (unknown) */
	struct xp_fs_info fs;   /* for ext2/3/4 */
	char uuid[37];          /* filesystem or swap UUID */
	char label[17];
	char type[40];          /* partition type */
};

struct xp_image_info {
	enum xp_image_format format;
	uint64_t virtual_size;
	uint64_t file_size;      /* bytes allocated on disk */
	char *backing;           /* NULL if none */
	enum xp_label label;
	struct xp_image_volume *volumes;
	size_t n;
};

/* Describes an image: container, partition table and what each partition holds. */
int xp_image_info(const char *path, struct xp_image_info *out);
void xp_image_info_release(struct xp_image_info *info);

/* Opens the filesystem of an image: in partition `partition` (1-based), or with
 * partition 0 the first ext2/3/4 volume found. The blockdev is returned too, as the
 * filesystem reads through it; close the fs first. */
int xp_image_open_fs(const char *path, unsigned partition, struct xp_blockdev **bd,
		     struct xp_fs **fs);

/* ---- the kernels in an image's /boot (boot-kernels.c) ----------------------------- */

/* A Linux kernel in /boot: the regular file /boot/vmlinuz-VERSION, and its initramfs,
 * the regular file of the same VERSION named initrd.img-VERSION (Debian),
 * initramfs-VERSION.img (Red Hat) or initrd-VERSION (SUSE). Paths are absolute inside
 * the image. */
struct xp_boot_kernel {
	char *version; /* "6.1.0-10-amd64" */
	char *kernel;  /* "/boot/vmlinuz-6.1.0-10-amd64" */
	char *initrd;  /* "/boot/initrd.img-6.1.0-10-amd64", or NULL without one */
};

/* Kernels, newest first; n == 0: none. */
struct xp_boot_kernels {
	struct xp_boot_kernel *v;
	size_t n;
};

void xp_boot_kernels_release(struct xp_boot_kernels *k);
/* A deep copy of src (may be NULL: none) into dst. -ENOMEM. */
int xp_boot_kernels_copy(const struct xp_boot_kernels *src, struct xp_boot_kernels *dst);

/* Orders kernel versions as dpkg orders version strings (deb-version(7)): digit runs as
 * numbers (6.1.0-10 after 6.1.0-9), other characters one by one, letters before the
 * rest, '~' before anything, even the end. <0, 0 or >0 as strcmp. */
int xp_kernel_version_cmp(const char *a, const char *b);

/* The kernels among names, the names of the regular files of a /boot (the caller
 * leaves the rest out), newest first by xp_kernel_version_cmp, at most 64 (the newest).
 * Taken: vmlinuz-VERSION where VERSION is a plain word GRUB's and pygrub's parsers read
 * as one (letters, digits, "._+~-"), and not a package manager's leftover (.dpkg-*,
 * .rpmsave, .rpmnew, .old, .bak). -ENOMEM. */
int xp_boot_kernels_pick(const char *const *names, size_t n, struct xp_boot_kernels *out);
/* The kernels in /boot of an open filesystem (none if it has no /boot directory).
 * -errno of a read that failed. */
int xp_fs_boot_kernels(struct xp_fs *fs, struct xp_boot_kernels *out);
/* The kernels in boot/ of a root tarball, read from its headers: regular files and hard
 * links (at most 4096 names of boot/ are looked at). -errno with a diagnostic for an
 * archive that cannot be read. */
int xp_archive_boot_kernels(const char *archive, struct xp_boot_kernels *out, struct xp_diags *d);

#endif
