/*
 * storage.c - guests' disks, each made from the profile's golden image (golden.c) by
 * one of four backends:
 *   file     a sparse copy (util/copy.c): only the data ranges (lseek(2) SEEK_DATA/
 *            SEEK_HOLE) are copied, with copy_file_range(2) (which itself clones where
 *            it can), by hand where it cannot (another filesystem: EXDEV);
 *   reflink  an FICLONE clone (ioctl_ficlone(2)): instant, shares all blocks; btrfs,
 *            XFS with reflink=1, bcachefs... ext4 cannot (EOPNOTSUPP);
 *   qcow2    an empty qcow2 overlay written by xenprov (blockdev.h) whose backing file is
 *            the golden image, its format recorded in the header's backing format
 *            extension so that QEMU never probes it;
 *   lvm      a logical volume made with lvm2's lvcreate (util/spawn.c: no shell): a thin
 *            snapshot when the golden image is itself a thin volume, else a plain volume
 *            the golden raw image is copied into (holes zeroed with BLKZEROOUT, as an LV
 *            holds whatever was there before).
 *
 * A guest's further disks (data disks, a swap volume) are new volumes on the same
 * backends, holding an empty filesystem or a swap area from the start: a sparse file,
 * a fresh qcow2 image (no backing file), or a logical volume.
 *
 * Not here: the golden image (golden.c), which backend a profile asks for or where the
 * pool is (domain.c), building the filesystem (image/), the config that points at the
 * disk (xlcfg.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/copy.h"
#include "util/names.h"
#include "xenprov/blockdev.h"
#include "xenprov/domain.h"
#include "xenprov/extfs.h"
#include "xenprov/image.h"
#include "xenprov/partition.h"
#include "xenprov/util.h"

static const char *const storage_names[] = {"file", "reflink", "qcow2", "lvm", "phy"};

#define NSTORAGE (sizeof(storage_names) / sizeof(storage_names[0]))

const char *xp_storage_name(enum xp_storage s)
{
	return xp__name_of(storage_names, NSTORAGE, s, "unknown");
}

int xp_storage_from_name(const char *name, enum xp_storage *out)
{
	int i = xp__value_of(storage_names, NSTORAGE, name);
	if (i < 0)
		return i;
	*out = (enum xp_storage)i;
	return 0;
}

/* ---- external tools (lvm2) ------------------------------------------------------------- */

static bool in_path(const char *prog)
{
	char *path;
	if (xp_program_path(prog, &path) < 0)
		return false;
	free(path);
	return true;
}

int xp_lvm_available(void)
{
	/* lvm2 drives device-mapper through /dev/mapper/control (dmsetup(8)); without it
	 * no volume can be activated, whatever the tools say. The node may be there with
	 * no driver behind it (a container's /dev): opening it says (ENODEV, ENXIO); one
	 * not ours to open (EACCES) is lvm2's to refuse, with its own words */
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno != EACCES && errno != EPERM)
		return -ENOTSUP;
	if (fd >= 0)
		close(fd);
	if (!in_path("lvcreate") || !in_path("lvremove") || !in_path("lvs"))
		return -ENOTSUP;
	return 0;
}

static bool lv_exists(const char *lv);

/* Runs an lvm2 tool; with gone ("VG/LV"), its failure is no error when that volume is
 * not there (after it). */
static int run_lvm_unless_gone(char *const argv[], const char *gone, struct xp_diags *d)
{
	struct xp_buf out = XP_BUF_INIT;
	int r = xp_spawn_wait(argv, NULL, &out);
	if (r != 0 && gone && !lv_exists(gone))
		r = 0;
	if (r != 0) {
		xp_diags_fail(d, 0, NULL, "lvm", NULL, "%s %s: %s", argv[0],
			      r < 0 ? "cannot be run" : "failed",
			      r < 0 ? strerror(-r) : xp_buf_str(&out));
		r = r < 0 ? r : -EIO;
	}
	xp_buf_release(&out);
	return r;
}

static int run_lvm(char *const argv[], struct xp_diags *d)
{
	return run_lvm_unless_gone(argv, NULL, d);
}

/* ---- per-guest disks -------------------------------------------------------------------- */

int xp_storage_path(enum xp_storage s, const char *pool, const char *name, char **out)
{
	int n;
	*out = NULL;
	if (!pool || !*pool)
		return -EINVAL;
	switch (s) {
	case XP_STORAGE_FILE:
	case XP_STORAGE_REFLINK:
		n = asprintf(out, "%s/%s.img", pool, name);
		break;
	case XP_STORAGE_QCOW2:
		n = asprintf(out, "%s/%s.qcow2", pool, name);
		break;
	case XP_STORAGE_LVM:
		/* a volume group name: lvm(8) "VG names ... [a-zA-Z0-9+_.-]" */
		if (strchr(pool, '/'))
			return -EINVAL;
		n = asprintf(out, "/dev/%s/%s", pool, name);
		break;
	default:
		return -EINVAL;
	}
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int xp_storage_volume_path(enum xp_storage s, const char *pool, const char *name,
			   const char *volume, char **out)
{
	char *full = NULL;
	*out = NULL;
	if (asprintf(&full, "%s.%s", name, volume) < 0)
		return -ENOMEM;
	int r = xp_storage_path(s, pool, full, out);
	free(full);
	return r;
}

static int open_new(const char *path, struct xp_diags *d)
{
	/* a guest's disk will hold its password hash and keys: not world-readable */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		return xp_diags_fail(
		    d, -e, path, "disk", e == EEXIST ? "remove it, or pick another name" : NULL,
		    e == EEXIST ? "the disk exists already" : "cannot create the disk: %s",
		    strerror(e));
	}
	return fd;
}

/* The disk's data on its way to the disk: fsync'ed, or with XP_STORAGE_NOSYNC its
 * writeback only started (a hint: errors show in the caller's later syncfs). */
static int settle(int fd, unsigned flags)
{
	if (flags & XP_STORAGE_NOSYNC) {
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		return 0;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

static int make_file(const struct xp_golden *g, const char *path, bool reflink, const char *pool,
		     unsigned flags, struct xp_diags *d)
{
	int src = open(g->path, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		int e = errno;
		return xp_diags_fail(d, -e, g->path, "image", NULL,
				     "cannot open the golden image: %s", strerror(e));
	}
	int dst = open_new(path, d);
	if (dst < 0) {
		close(src);
		return dst;
	}
	int r = 0;
	if (reflink) {
		if (ioctl(dst, FICLONE, src) < 0) {
			int e = errno;
			if (e == EXDEV)
				r = xp_diags_fail(
				    d, -EXDEV, path, "reflink", "use storage=file or qcow2",
				    "%s is not on the filesystem of the golden image %s; reflinks "
				    "cannot cross filesystems",
				    pool, g->path);
			else if (e == EOPNOTSUPP || e == ENOTTY || e == EINVAL || e == ENOSYS)
				r = xp_diags_fail(
				    d, -ENOTSUP, path, "reflink", NULL,
				    "the filesystem of %s cannot reflink; use storage=file or "
				    "qcow2",
				    pool);
			else
				r = xp_diags_fail(d, -e, path, "reflink", NULL,
						  "cannot clone %s: %s", g->path, strerror(e));
		}
	} else {
		r = xp_copy_file(src, dst, 0);
		if (r < 0)
			xp_diags_fail(d, r, path, "disk", NULL, "cannot copy the golden image: %s",
				      strerror(-r));
	}
	if (r == 0 && (r = settle(dst, flags)) < 0)
		xp_diags_fail(d, r, path, "disk", NULL, "cannot write the disk: %s", strerror(-r));
	close(dst);
	close(src);
	if (r < 0)
		unlink(path);
	return r;
}

static int make_overlay(const struct xp_golden *g, const char *path, struct xp_diags *d)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return xp_diags_fail(d, -EEXIST, path, "disk", "remove it, or pick another name",
				     "the disk exists already");
	int r = xp_qcow2_create_overlay(path, g->path, g->format, g->size);
	if (r < 0)
		return xp_diags_fail(d, r, path, "disk", NULL, "cannot write the qcow2 overlay: %s",
				     strerror(-r));
	/* the overlay will hold the guest's password hash and keys */
	chmod(path, 0600);
	return 0;
}

/* device-mapper's name "VG-LV" (each '-' within VG or LV doubled) -> "VG/LV" */
static int dm_lv_name(const char *dm, char *out, size_t cap)
{
	size_t n = 0;
	bool split = false;
	for (const char *p = dm; *p; p++) {
		char c = *p;
		if (c == '/')
			return -EINVAL;
		if (c == '-') {
			if (p[1] == '-') {
				p++; /* an escaped '-' of a name */
			} else {
				/* the separator: once, with a name on each side */
				if (split || n == 0 || !p[1])
					return -EINVAL;
				split = true;
				c = '/';
			}
		}
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		out[n++] = c;
	}
	if (!split)
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

int xp_lv_name(const char *path, char *out, size_t cap)
{
	if (strncmp(path, "/dev/", 5) != 0)
		return -EINVAL;
	if (strncmp(path, "/dev/mapper/", 12) == 0)
		return dm_lv_name(path + 12, out, cap);
	const char *vl = path + 5, *slash = strchr(vl, '/');
	if (!slash || slash == vl || !slash[1] || strchr(slash + 1, '/'))
		return -EINVAL;
	if (snprintf(out, cap, "%s", vl) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

/* Whether lvm2 knows the volume "VG/LV": its device node is no proof either way (an
 * inactive volume has none; nor has one that a killed run made where no udev runs). */
static bool lv_exists(const char *lv)
{
	char *argv[] = {"lvs", "--noheadings", "-o", "lv_name", (char *)lv, NULL};
	struct xp_buf out = XP_BUF_INIT;
	int r = xp_spawn_wait(argv, NULL, &out);
	xp_buf_release(&out);
	return r == 0;
}

/* A logical volume to make at path: its "VG/LV" into lv (256 bytes); refused if path is
 * no volume's or the volume exists. */
static int lv_new(const char *path, char *lv, struct xp_diags *d)
{
	if (xp_lv_name(path, lv, 256) < 0)
		return xp_diags_fail(d, -EINVAL, path, "lvm", NULL, "not a logical volume path");
	if (lv_exists(lv))
		return xp_diags_fail(d, -EEXIST, path, "disk", "remove it, or pick another name",
				     "the logical volume exists already");
	return 0;
}

static int make_lv(const struct xp_golden *g, const char *pool, const char *name, const char *path,
		   struct xp_diags *d)
{
	char golden_lv[256], lv[256];
	int e = lv_new(path, lv, d);
	if (e < 0)
		return e;
	struct stat st;
	if (stat(g->path, &st) == 0 && S_ISBLK(st.st_mode) &&
	    xp_lv_name(g->path, golden_lv, sizeof(golden_lv)) == 0) {
		/* a thin golden volume: a thin snapshot, which needs no size and shares every
		 * block (lvmthin(7) "Thin snapshots"); -kn so it is activated like any LV */
		struct xp_buf out = XP_BUF_INIT;
		char *seg[] = {"lvs", "--noheadings", "-o", "segtype", golden_lv, NULL};
		int r = xp_spawn_wait(seg, NULL, &out);
		bool thin = r == 0 && strstr(xp_buf_str(&out), "thin") != NULL;
		xp_buf_release(&out);
		if (!thin)
			return xp_diags_fail(d, -EINVAL, g->path, "lvm",
					     "use a thin volume or a raw image file",
					     "the golden volume is not a thin volume");
		size_t vglen = (size_t)(strchr(golden_lv, '/') - golden_lv);
		if (strlen(pool) != vglen || strncmp(pool, golden_lv, vglen) != 0)
			return xp_diags_fail(d, -EINVAL, g->path, "lvm", NULL,
					     "the golden volume is not in the volume group %s",
					     pool);
		char *argv[] = {"lvcreate", "-q",	  "-s",	     "-kn", "-ay",
				"-n",	    (char *)name, golden_lv, NULL};
		return run_lvm(argv, d);
	}
	if (g->format != XP_IMAGE_RAW)
		return xp_diags_fail(d, -EINVAL, g->path, "lvm", "use a tarball or a raw image",
				     "a logical volume needs a raw golden image, not %s",
				     xp_image_format_name(g->format));
	char size[32];
	snprintf(size, sizeof(size), "%llub", (unsigned long long)g->size);
	char *argv[] = {"lvcreate", "-q", "-y",		"-Wy",	      "-Zy", "-L",
			size,	    "-n", (char *)name, (char *)pool, NULL};
	int r = run_lvm(argv, d);
	if (r < 0)
		return r;
	int src = open(g->path, O_RDONLY | O_CLOEXEC);
	int dst = open(path, O_WRONLY | O_CLOEXEC);
	if (src < 0 || dst < 0)
		r = -errno;
	else
		r = xp_copy_range(src, 0, dst, 0, (off_t)g->size, XP_COPY_ZERO_HOLES);
	if (r == 0 && fsync(dst) < 0)
		r = -errno;
	if (src >= 0)
		close(src);
	if (dst >= 0)
		close(dst);
	if (r < 0) {
		xp_diags_fail(d, r, path, "lvm", NULL,
			      "cannot copy the golden image into the volume: %s", strerror(-r));
		char *rm[] = {"lvremove", "-q", "-f", lv, NULL};
		run_lvm(rm, NULL);
	}
	return r;
}

/* The refusal of storage lvm where device-mapper or lvm2 is missing. */
static int lvm_missing(struct xp_diags *d, const char *hint)
{
	return xp_diags_fail(d, -ENOTSUP, NULL, "lvm", hint,
			     "storage lvm needs device-mapper (/dev/mapper/control) and lvm2's "
			     "tools, which this machine lacks");
}

int xp_storage_create(enum xp_storage s, const struct xp_golden *g, const char *pool,
		      const char *name, const char *path, unsigned flags,
		      enum xp_image_format *format, struct xp_diags *d)
{
	int r;
	*format = g->format;
	switch (s) {
	case XP_STORAGE_FILE:
	case XP_STORAGE_REFLINK:
		r = xp_mkdir_p(pool, 0755);
		if (r < 0)
			return xp_diags_fail(d, r, pool, "pool", NULL,
					     "cannot create the pool directory: %s", strerror(-r));
		return make_file(g, path, s == XP_STORAGE_REFLINK, pool, flags, d);
	case XP_STORAGE_QCOW2:
		r = xp_mkdir_p(pool, 0755);
		if (r < 0)
			return xp_diags_fail(d, r, pool, "pool", NULL,
					     "cannot create the pool directory: %s", strerror(-r));
		*format = XP_IMAGE_QCOW2;
		return make_overlay(g, path, d);
	case XP_STORAGE_LVM:
		if (xp_lvm_available() < 0)
			return lvm_missing(d, "use storage=file, reflink or qcow2");
		*format = XP_IMAGE_RAW;
		return make_lv(g, pool, name, path, d);
	case XP_STORAGE_PHY:
		return xp_diags_fail(d, -ENOTSUP, path, "storage", NULL,
				     "a block device of the operator's is never made by xenprov");
	}
	return -EINVAL;
}

/* The "VG/LV" of an existing guest's volume at path, to `doing` it ("remove") with
 * lvm2's tools: -EINVAL for a path that is not a volume's, -ENOTSUP without lvm2. */
static int lv_target(const char *path, const char *doing, char lv[256], struct xp_diags *d)
{
	if (xp_lv_name(path, lv, 256) < 0)
		return xp_diags_fail(d, -EINVAL, path, "lvm", NULL, "not a logical volume path");
	if (xp_lvm_available() < 0)
		return xp_diags_fail(d, -ENOTSUP, path, "lvm", NULL,
				     "cannot %s the volume: no device-mapper or lvm2 here", doing);
	return 0;
}

int xp_storage_remove(enum xp_storage s, const char *path, struct xp_diags *d)
{
	struct stat st;
	if (s == XP_STORAGE_PHY) /* the operator's device: never removed */
		return 0;
	if (s == XP_STORAGE_LVM) {
		/* without lvm2 a missing node is a missing volume; with it, lvm2 says (an
		 * inactive volume, or one a killed run left, has no node but is there) */
		if (xp_lvm_available() < 0 && stat(path, &st) < 0 && errno == ENOENT)
			return 0;
		char lv[256];
		int r = lv_target(path, "remove", lv, d);
		if (r < 0)
			return r;
		/* removed, or gone already: lvremove fails alike for a volume it cannot
		 * remove and for one that is not there; lvs tells them apart */
		char *argv[] = {"lvremove", "-q", "-f", lv, NULL};
		return run_lvm_unless_gone(argv, lv, d);
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		int e = errno;
		return xp_diags_fail(d, -e, path, "disk", NULL, "cannot remove the disk: %s",
				     strerror(e));
	}
	return 0;
}

/* The size of the block device or file at path, 0 if it cannot be read. */
static uint64_t dev_size(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	off_t end = lseek(fd, 0, SEEK_END);
	close(fd);
	return end < 0 ? 0 : (uint64_t)end;
}

int xp_storage_grow(enum xp_storage s, const char *path, uint64_t size, const char *tmpdir,
		    struct xp_image_grown *res, struct xp_diags *d)
{
	if (s == XP_STORAGE_PHY)
		return xp_diags_fail(d, -ENOTSUP, path, "storage", NULL,
				     "a block device of the operator's is never grown by xenprov");
	if (s == XP_STORAGE_LVM) {
		char lv[256];
		int r = lv_target(path, "grow", lv, d);
		if (r < 0)
			return r;
		if (dev_size(path) < size) {
			/* lvextend(8) rounds up to whole extents: the volume may come out a
			 * little larger, and its partition and filesystem fill what it is */
			char sz[32];
			snprintf(sz, sizeof(sz), "%llub", (unsigned long long)size);
			char *argv[] = {"lvextend", "-q", "-L", sz, lv, NULL};
			if ((r = run_lvm(argv, d)) < 0)
				return r;
		}
		size = dev_size(path);
	}
	return xp_image_grow(path, size, tmpdir, res, d);
}

/* ---- a guest's further disks ------------------------------------------------------------- */

int xp_storage_volume_check(enum xp_volume_content content, struct xp_diags *d)
{
	if (content == XP_VOLUME_XFS && !in_path("mkfs.xfs"))
		return xp_diags_fail(d, -ENOTSUP, NULL, "fs", "install xfsprogs, or use fs=ext4",
				     "fs=xfs needs mkfs.xfs (xfsprogs), which this machine lacks");
	return 0;
}

/* Writes content on target (a raw file of size bytes or a block device; shown is how
 * messages name it). */
static int write_content(const char *target, const char *shown, uint64_t size,
			 enum xp_volume_content content, const char *uuid, struct xp_diags *d)
{
	int r = 0;
	switch (content) {
	case XP_VOLUME_EMPTY:
		break;
	case XP_VOLUME_EXT4: {
		struct xp_fs_opts o = {.type = XP_FS_EXT4,
				       .uuid = uuid,
				       .reserved_percent = -1,
				       .output_name = shown};
		r = xp_fs_make(target, 0, size, &o, NULL, d);
		break;
	}
	case XP_VOLUME_XFS: {
		/* mkfs.xfs(8): -m uuid= sets the UUID the fstab names, -q its report off */
		char opt[48];
		snprintf(opt, sizeof(opt), "uuid=%s", uuid);
		char *argv[] = {"mkfs.xfs", "-q", "-m", opt, (char *)target, NULL};
		struct xp_buf out = XP_BUF_INIT;
		int e = xp_spawn_wait(argv, NULL, &out);
		/* its first line says why; its usage text may follow */
		const char *why = xp_buf_str(&out);
		if (e != 0)
			r = xp_diags_fail(d, e < 0 ? e : -EIO, shown, "mkfs.xfs", NULL,
					  "mkfs.xfs %s: %.*s", e < 0 ? "cannot be run" : "failed",
					  e < 0 ? (int)strlen(strerror(-e)) : (int)strcspn(why, "\n"),
					  e < 0 ? strerror(-e) : why);
		xp_buf_release(&out);
		break;
	}
	case XP_VOLUME_SWAP:
		r = xp_swap_format(target, 0, size, uuid, NULL);
		if (r < 0)
			xp_diags_fail(d, r, shown, "swap", NULL, "cannot write the swap area: %s",
				      strerror(-r));
		break;
	}
	return r;
}

/* The directory of path, made if missing. */
static int make_pool_of(const char *path, struct xp_diags *d)
{
	char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	int r = slash && slash != dir ? xp_mkdir_p(dir, 0755) : 0;
	if (r < 0)
		xp_diags_fail(d, r, dir, "pool", NULL, "cannot create the pool directory: %s",
			      strerror(-r));
	free(dir);
	return r;
}

/* A sparse raw file of size bytes at path, never over another. */
static int volume_file(const char *path, uint64_t size, enum xp_volume_content content,
		       const char *uuid, struct xp_diags *d)
{
	int fd = open_new(path, d);
	if (fd < 0)
		return fd;
	int r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		xp_diags_fail(d, r, path, "disk", NULL, "cannot size the disk: %s", strerror(-r));
	if (r == 0)
		r = write_content(path, path, size, content, uuid, d);
	if (r == 0 && (r = xp_fsync_path(path)) < 0)
		xp_diags_fail(d, r, path, "disk", NULL, "cannot write the disk: %s", strerror(-r));
	if (r < 0)
		unlink(path);
	return r;
}

/* A fresh qcow2 image: the content made in an unnamed raw temporary beside it, which
 * only its non-zero clusters leave (xp_qcow2_from_raw). */
static int volume_qcow2(const char *path, uint64_t size, enum xp_volume_content content,
			const char *uuid, struct xp_diags *d)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return xp_diags_fail(d, -EEXIST, path, "disk", "remove it, or pick another name",
				     "the disk exists already");
	char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = '\0';
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int r = fd < 0 ? -errno : 0;
	if (r < 0)
		xp_diags_fail(d, r, dir, "disk", NULL, "cannot make a temporary file in %s: %s",
			      dir, strerror(-r));
	free(dir);
	if (r < 0)
		return r;
	/* by our pid, not self: mkfs.xfs opens it too (the descriptor is close-on-exec;
	 * /proc/PID/fd/N opens the file anew) */
	char raw[64];
	snprintf(raw, sizeof(raw), "/proc/%d/fd/%d", (int)getpid(), fd);
	if (ftruncate(fd, (off_t)size) < 0)
		r = xp_diags_fail(d, -errno, path, "disk", NULL, "cannot size the disk: %s",
				  strerror(errno));
	if (r == 0)
		r = write_content(raw, path, size, content, uuid, d);
	if (r == 0 && (r = xp_qcow2_from_raw(raw, path, 0)) < 0)
		xp_diags_fail(d, r, path, "disk", NULL, "cannot write the qcow2 image: %s",
			      strerror(-r));
	close(fd);
	/* the disk will hold the guest's data */
	if (r == 0 && chmod(path, 0600) < 0)
		r = xp_diags_fail(d, -errno, path, "disk", NULL, "cannot chmod the disk: %s",
				  strerror(errno));
	if (r < 0 && r != -EEXIST)
		unlink(path);
	return r;
}

/* A logical volume: lvcreate wipes what signatures the space held (-W) and zeroes its
 * start (-Z), as for the root disk. */
static int volume_lv(const char *path, uint64_t size, enum xp_volume_content content,
		     const char *uuid, struct xp_diags *d)
{
	char lv[256];
	int r = lv_new(path, lv, d);
	if (r < 0)
		return r;
	char sz[32], *slash = strchr(lv, '/');
	snprintf(sz, sizeof(sz), "%llub", (unsigned long long)size);
	*slash = '\0';
	char *argv[] = {"lvcreate", "-q", "-y", "-Wy", "-Zy", "-L", sz, "-n", slash + 1, lv, NULL};
	r = run_lvm(argv, d);
	*slash = '/';
	if (r < 0)
		return r;
	r = write_content(path, path, size, content, uuid, d);
	if (r == 0 && (r = xp_fsync_path(path)) < 0)
		xp_diags_fail(d, r, path, "lvm", NULL, "cannot write the volume: %s", strerror(-r));
	if (r < 0) {
		char *rm[] = {"lvremove", "-q", "-f", lv, NULL};
		run_lvm(rm, NULL);
	}
	return r;
}

int xp_storage_create_volume(enum xp_storage s, const char *path, uint64_t size,
			     enum xp_volume_content content, const char *uuid, struct xp_diags *d)
{
	if (!path || !size || (content != XP_VOLUME_EMPTY && !uuid))
		return -EINVAL;
	int r = xp_storage_volume_check(content, d);
	if (r < 0)
		return r;
	switch (s) {
	case XP_STORAGE_FILE:
	case XP_STORAGE_REFLINK:
		r = make_pool_of(path, d);
		return r < 0 ? r : volume_file(path, size, content, uuid, d);
	case XP_STORAGE_QCOW2:
		r = make_pool_of(path, d);
		return r < 0 ? r : volume_qcow2(path, size, content, uuid, d);
	case XP_STORAGE_LVM:
		if (xp_lvm_available() < 0)
			return lvm_missing(d, "use storage=file or qcow2");
		return volume_lv(path, size, content, uuid, d);
	case XP_STORAGE_PHY:
		break;
	}
	return -EINVAL;
}
