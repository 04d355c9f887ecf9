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
#include "xenprov/domain.h"
#include "xenprov/image.h"
#include "xenprov/util.h"

static const char *const storage_names[] = {"file", "reflink", "qcow2", "lvm"};

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
	 * no volume can be activated, whatever the tools say */
	if (access("/dev/mapper/control", F_OK) < 0)
		return -ENOTSUP;
	if (!in_path("lvcreate") || !in_path("lvremove") || !in_path("lvs"))
		return -ENOTSUP;
	return 0;
}

static int run_lvm(char *const argv[], struct xp_diags *d)
{
	struct xp_buf out = XP_BUF_INIT;
	int r = xp_spawn_wait(argv, NULL, &out);
	if (r != 0) {
		xp_diags_fail(d, 0, NULL, "lvm", NULL, "%s %s: %s", argv[0],
			      r < 0 ? "cannot be run" : "failed",
			      r < 0 ? strerror(-r) : xp_buf_str(&out));
		r = r < 0 ? r : -EIO;
	}
	xp_buf_release(&out);
	return r;
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

/* "/dev/VG/LV" -> "VG/LV", the form lvm2's tools take. */
static int lv_name(const char *path, char *out, size_t cap)
{
	if (strncmp(path, "/dev/", 5) != 0)
		return -EINVAL;
	const char *vl = path + 5, *slash = strchr(vl, '/');
	if (!slash || slash == vl || !slash[1] || strchr(slash + 1, '/'))
		return -EINVAL;
	if (snprintf(out, cap, "%s", vl) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

static int make_lv(const struct xp_golden *g, const char *pool, const char *name, const char *path,
		   struct xp_diags *d)
{
	char golden_lv[256], lv[256];
	if (lv_name(path, lv, sizeof(lv)) < 0)
		return xp_diags_fail(d, -EINVAL, path, "lvm", NULL, "not a logical volume path");
	struct stat st;
	if (stat(path, &st) == 0)
		return xp_diags_fail(d, -EEXIST, path, "disk", "remove it, or pick another name",
				     "the logical volume exists already");
	if (stat(g->path, &st) == 0 && S_ISBLK(st.st_mode) &&
	    lv_name(g->path, golden_lv, sizeof(golden_lv)) == 0) {
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
			return xp_diags_fail(
			    d, -ENOTSUP, NULL, "lvm", "use storage=file, reflink or qcow2",
			    "storage lvm needs device-mapper (/dev/mapper/control) and lvm2's "
			    "tools, which this machine lacks");
		*format = XP_IMAGE_RAW;
		return make_lv(g, pool, name, path, d);
	}
	return -EINVAL;
}

/* The "VG/LV" of an existing guest's volume at path, to `doing` it ("remove") with
 * lvm2's tools: -EINVAL for a path that is not a volume's, -ENOTSUP without lvm2. */
static int lv_target(const char *path, const char *doing, char lv[256], struct xp_diags *d)
{
	if (lv_name(path, lv, 256) < 0)
		return xp_diags_fail(d, -EINVAL, path, "lvm", NULL, "not a logical volume path");
	if (xp_lvm_available() < 0)
		return xp_diags_fail(d, -ENOTSUP, path, "lvm", NULL,
				     "cannot %s the volume: no device-mapper or lvm2 here", doing);
	return 0;
}

int xp_storage_remove(enum xp_storage s, const char *path, struct xp_diags *d)
{
	struct stat st;
	if (s == XP_STORAGE_LVM) {
		if (stat(path, &st) < 0 && errno == ENOENT)
			return 0;
		char lv[256];
		int r = lv_target(path, "remove", lv, d);
		if (r < 0)
			return r;
		char *argv[] = {"lvremove", "-q", "-f", lv, NULL};
		return run_lvm(argv, d);
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
