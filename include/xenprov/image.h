/*
 * xenprov/image.h - guest disk images built from a root tarball (or a directory tree,
 * read as the tar of its content) in one call: a sparse
 * file, a partition table (partition.h), an ext2/3/4 filesystem filled straight from the
 * archive (extfs.h), an optional swap partition, then raw or qcow2 (blockdev.h); written
 * to a temporary file and renamed into place, so a failure leaves nothing behind.
 * Identical inputs (archive content hash + options) are served from a cache. A
 * distribution's image is made the same way from mmdebstrap's tar output, on a pipe.
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
	const char *archive;       /* tarball path, or a directory (read as the tar of its
				    * content: libarchive's disk reader, archive-src.c) */
	const char *content;       /* a directory's identity for the cache (a captured
				    * version's manifest hash); NULL: a directory is built
				    * without the cache. Unused for a tarball (its SHA-256 is) */
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
	/* xp_image_build_dist: whether mmdebstrap ran, and for how long (from its start
	 * to its end; the build from its output overlaps it) */
	bool mmdebstrap_ran;
	double mmdebstrap_seconds;
};

int xp_image_build(const struct xp_image_opts *opts, xp_progress_fn progress, void *ud,
		   struct xp_image_result *res, struct xp_diags *diags);

/* The image cache's default directory: $XDG_CACHE_HOME/xenprov/images, else
 * /var/cache/xenprov/images for root, else ~/.cache/xenprov/images. *out is a heap
 * string, or NULL (-ENOENT) when there is none (no HOME). */
int xp_image_cache_dir_default(char **out);

/* ---- images of distributions (image-dist.c) ------------------------------------------ */

/* What a distribution image is made of. */
struct xp_dist_opts {
	const char *dist;    /* "debian:bookworm" or "debian:trixie" (xp_dist_valid) */
	const char *variant; /* "minbase" or "standard"; NULL: minbase */
	const char *include; /* packages "a,b,c"; NULL: none */
	const char *install; /* more packages (a profile's `install`), joined to include */
	const char *mirror;  /* NULL: the Debian mirror of the host's apt sources, else
			      * http://deb.debian.org/debian */
	const char *etc_apt; /* the host's apt configuration; NULL: /etc/apt */
};

/* A distribution image as xp_dist_resolve found it: what xp_image_build_dist builds. */
struct xp_dist {
	char spec[32], suite[16], variant[16];
	char **packages; /* sorted, no duplicates */
	size_t npackages;
	char *mirror;
	char release_date[21]; /* the suite's Release Date:, ISO 8601 UTC; "" when it could
				* not be learnt (the image is then built without the cache) */
	char identity[65];     /* SHA-256 of all of the above; "" without a release date */
	char undated[65];      /* SHA-256 of all of it but the date: what names the last
				* image built of it, for when the date is unknown */
};

/* Whether spec names a distribution xenprov builds ("debian:bookworm", "debian:trixie"). */
bool xp_dist_valid(const char *spec);
/* Whether list is Debian package names separated by commas ("a,b"; no empty item). */
bool xp_dist_packages_valid(const char *list);

/* Checks the options and learns the rest: the mirror (given, or the host's), and the
 * suite's release date from the mirror's dists/SUITE/InRelease (fetched with apt's
 * /usr/lib/apt/apt-helper, bounded, parsed strictly). A date that cannot be learnt is
 * a warning, not an error. -EINVAL with a diagnostic for an unknown distribution or
 * variant, a bad package name or mirror. Release with xp_dist_release. */
int xp_dist_resolve(const struct xp_dist_opts *o, struct xp_dist *out, struct xp_diags *d);
void xp_dist_release(struct xp_dist *dist);

/* A line of progress of a long step of its own (mmdebstrap's "I: ..." lines). */
typedef void (*xp_phase_fn)(void *ud, const char *line);

/* Builds the image of a distribution as xp_image_build builds one of a tarball
 * (opts->archive is not used): mmdebstrap (--mode=root as root, --mode=unshare
 * otherwise where user namespaces allow it, else -EPERM with the reason) writes the
 * root as a tar on a pipe, which is built into the image as it comes, in one pass; the
 * size (opts->size 0) comes from a list of the root that a customize hook writes
 * before the tar starts. The cache key is the distribution's identity plus the
 * options, so a second build is served from the cache without running mmdebstrap
 * (not when the release date is unknown). If mmdebstrap fails, its own error lines are
 * the diagnostic, and nothing is left behind: no output, no cache entry, no temporary
 * directory, no process. phase (may be NULL) gets mmdebstrap's progress lines,
 * progress the build's, both with ud, on the calling thread. */
int xp_image_build_dist(const struct xp_image_opts *opts, const struct xp_dist *dist,
			xp_progress_fn progress, xp_phase_fn phase, void *ud,
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
/* xp_image_info with its failure as a diagnostic in d (may be NULL), and *root (may be
 * NULL) the root volume: the first ext2/3/4 one, NULL when there is none. */
int xp_image_info_root(const char *path, struct xp_image_info *out,
		       const struct xp_image_volume **root, struct xp_diags *d);

/* ---- growing an image (image-grow.c) ------------------------------------------------- */

struct xp_image_grown {
	enum xp_image_format format;
	uint64_t old_size, size;	/* the disk's (virtual) size before and after */
	uint64_t fs_offset;		/* of the root filesystem */
	uint64_t old_fs_size, fs_size;	/* its size before and after, bytes */
};

/* Grows the image at path (a raw file, a block device its owner made size bytes long
 * already, or a qcow2 image: its virtual size) to size bytes (a multiple of 512), and
 * its root filesystem, the first ext2/3/4 one, to fill it: a bare filesystem to the
 * whole disk; a partitioned one's partition, which must be the last, to the end of the
 * disk (xp_partition_grow_last, msdos or gpt), then the filesystem to the partition,
 * checked first with e2fsck -fp and grown with resize2fs(8). A filesystem at an offset
 * is checked and grown in a sparse unnamed temporary file in tmpdir (as large as the
 * filesystem's data) and written back, a qcow2 image's only where it changed. The
 * image must not be in use (a running guest's disk): nothing here can tell. res (may
 * be NULL) receives the sizes. A size equal to the disk's changes nothing.
 * Errors with a diagnostic: -EINVAL (smaller or unaligned size, no ext2/3/4 root),
 * -ENOTSUP (a partition follows the root partition: "not the last one"; a qcow2 image
 * whose L1 table would have to move), -EIO (e2fsck found errors it cannot repair, or
 * resize2fs failed: their output), -ENOENT (e2fsprogs missing), -errno. The checks come
 * first: a refusal or a failing e2fsck leaves the image as it was; a later failure
 * may leave it grown with its filesystem not yet (still consistent). */
int xp_image_grow(const char *path, uint64_t size, const char *tmpdir, struct xp_image_grown *res,
		  struct xp_diags *d);

/* The ext2/3/4 filesystem of old_size bytes at offset of path (a raw file or a block
 * device; a partition's own device at offset 0) grown to fs_size bytes as xp_image_grow
 * grows one: e2fsck -fp, then resize2fs(8), on path itself at offset 0, else in a
 * sparse unnamed temporary file in tmpdir written back. Errors as xp_image_grow's. */
int xp_image_grow_fs(const char *path, uint64_t offset, uint64_t old_size, uint64_t fs_size,
		     const char *tmpdir, struct xp_diags *d);

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
	/* The image has a boot loader config of its own (/boot/grub/grub.cfg,
	 * /boot/grub2/grub.cfg or /boot/grub/menu.lst, a regular file): pygrub and PV GRUB
	 * boot what it names, kernels by any name (set by xp_fs_boot_kernels and
	 * xp_archive_boot_kernels, not by xp_boot_kernels_pick). */
	bool loader_config;
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
