/*
 * image-grow.c - a disk image made larger in place (xp_image_grow, image.h): its size
 * (a raw file's length, a qcow2 image's virtual size; a block device is grown by its
 * owner first), its root partition, which must be the last, to the new end with
 * libfdisk (xp_partition_grow_last), and its ext2/3/4 root filesystem to fill the
 * partition with e2fsprogs: e2fsck -fp first (a guest's filesystem was mounted since its
 * last check, and resize2fs wants a checked one), then resize2fs(8). Neither program
 * takes a qcow2 image or, for a regular file, a filesystem at an offset (resize2fs sets
 * a file's length to the filesystem's size without counting "?offset=", e2fsprogs 1.47
 * resize/main.c, which would cut the end off a partitioned image): such a filesystem is
 * checked and grown in a sparse temporary file of its own and written back, a raw
 * image's with copy_file_range, a qcow2 image's range by range where it changed
 * (through the copy-on-write layer, so an overlay gains only what resize2fs wrote). A
 * qcow2 image's partition table is grown the same way, in a sparse copy of the disk's
 * ends.
 *
 * Not here: which images grow and when (deploy/golden.c: a golden image smaller than
 * its profile's disk-size; deploy/drift.c: a guest's disk), logical volumes
 * (deploy/storage.c runs lvextend first).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/rwdisk-internal.h"
#include "util/copy.h"
#include "xenprov/image.h"
#include "xenprov/util.h"

#define CHUNK (1u << 20)

/* An unnamed sparse file of len bytes in dir, and the name a child reaches it by. */
static int tmp_file(const char *dir, uint64_t len, char name[64], struct xp_diags *d)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return xp_diags_fail(d, -errno, dir, "grow", NULL,
				     "cannot create a temporary file (O_TMPFILE): %s",
				     strerror(errno));
	if (ftruncate(fd, (off_t)len) < 0) {
		int e = errno;
		close(fd);
		return xp_diags_fail(d, -e, dir, "grow", NULL, "cannot make a temporary file: %s",
				     strerror(e));
	}
	/* e2fsck, resize2fs and libfdisk reach it through our /proc entry */
	snprintf(name, 64, "/proc/%d/fd/%d", (int)getpid(), fd);
	return fd;
}

/* Runs an e2fsprogs tool; its output is the diagnostic when it fails. ok: the highest
 * exit status that is success (e2fsck -p: 1 "errors corrected", 2 "reboot", which only
 * a mounted root needs). */
static int e2fs_tool(char *const argv[], int ok, const char *what, struct xp_diags *d)
{
	struct xp_buf out = XP_BUF_INIT;
	int r = xp_spawn_wait(argv, NULL, &out);
	if (r < 0 || r > ok) {
		xp_diags_fail(d, 0, NULL, "grow", r < 0 ? "install e2fsprogs" : NULL, "%s %s: %s",
			      argv[0], r < 0 ? "cannot be run" : what,
			      r < 0 ? strerror(-r) : xp_buf_str(&out));
		r = r < 0 ? r : -EIO;
	} else {
		r = 0;
	}
	xp_buf_release(&out);
	return r;
}

static int fsck(const char *dev, struct xp_diags *d)
{
	/* -p: repairs what is safe to repair without asking (a journal to replay after a
	 * guest that was not shut down cleanly), fails on the rest */
	char *argv[] = {"e2fsck", "-f", "-p", (char *)dev, NULL};
	return e2fs_tool(argv, 2, "found errors it cannot repair alone (run e2fsck on the disk)",
			 d);
}

static int resize2fs(const char *dev, uint64_t fs_size, struct xp_diags *d)
{
	char size[32];
	snprintf(size, sizeof(size), "%lluK", (unsigned long long)(fs_size / 1024));
	char *argv[] = {"resize2fs", (char *)dev, size, NULL};
	return e2fs_tool(argv, 0, "failed", d);
}

/* Copies len bytes at off of the disk into fd at 0, leaving holes where a MiB reads as
 * zeros. */
static int copy_out(struct xp_rwdisk *disk, uint64_t off, uint64_t len, int fd, char *buf)
{
	for (uint64_t at = 0; at < len; at += CHUNK) {
		size_t n = len - at < CHUNK ? (size_t)(len - at) : CHUNK;
		int r = xp_rwdisk_pread(disk, buf, n, off + at);
		if (r < 0)
			return r;
		if (!xp_all_zero(buf, n) && (r = xp_pwrite_full(fd, buf, n, at)) < 0)
			return r;
	}
	return 0;
}

/* Writes [from, from + len) of fd back to the disk at off + from, a MiB at a time and
 * only where it differs, so that a qcow2 overlay gains only the clusters that changed.
 * Holes of fd are skipped (SEEK_DATA): what copy_out left as a hole read as zeros on
 * the disk, and the tools fill no hole with zeros. */
static int write_back(int fd, uint64_t from, uint64_t len, struct xp_rwdisk *disk, uint64_t off,
		      char *a, char *b)
{
	uint64_t end = from + len;
	for (uint64_t at = from; at < end;) {
		off_t data = lseek(fd, (off_t)at, SEEK_DATA);
		if (data < 0 || (uint64_t)data >= end)
			return data < 0 && errno != ENXIO ? -errno : 0;
		at = (uint64_t)data & ~(uint64_t)(CHUNK - 1);
		if (at < from)
			at = from;
		size_t n = end - at < CHUNK ? (size_t)(end - at) : CHUNK;
		int r = xp_pread_full(fd, a, n, at);
		if (r == 0)
			r = xp_rwdisk_pread(disk, b, n, off + at);
		if (r == 0 && memcmp(a, b, n) != 0)
			r = xp_rwdisk_pwrite(disk, a, n, off + at);
		if (r < 0)
			return r;
		at += n;
	}
	return 0;
}

/* A raw image (file or device) in place: libfdisk and the e2fsprogs on it, a
 * filesystem at an offset in a temporary copy. */
static int grow_raw(const char *path, const struct xp_image_volume *root, bool partitioned,
		    uint64_t size, const char *tmpdir, struct xp_image_grown *res,
		    struct xp_diags *d)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return xp_diags_fail(d, -errno, path, "grow", NULL, "%s", strerror(errno));
	int work = -1, disk = -1, r = 0;
	char dev[64];
	const char *fsdev = path;
	if (root->offset > 0) {
		/* the filesystem, checked in a file of its own before anything changes */
		disk = open(path, O_RDWR | O_CLOEXEC);
		if (disk < 0)
			return xp_diags_fail(d, -errno, path, "grow", NULL, "cannot open it: %s",
					     strerror(errno));
		work = tmp_file(tmpdir, root->size, dev, d);
		r = work < 0 ? work : xp_copy_range(disk, (off_t)root->offset, work, 0,
						    (off_t)root->size, 0);
		fsdev = dev;
	}
	if (r == 0)
		r = fsck(fsdev, d);
	if (r == 0 && S_ISREG(st.st_mode) && truncate(path, (off_t)size) < 0)
		r = xp_diags_fail(d, -errno, path, "grow", NULL, "cannot make it longer: %s",
				  strerror(errno));
	res->fs_size = size;
	if (r == 0 && partitioned)
		r = xp_partition_grow_last(path, root->offset, &res->fs_size, d);
	if (r == 0 && work >= 0 && ftruncate(work, (off_t)res->fs_size) < 0)
		r = -errno;
	if (r == 0)
		r = resize2fs(fsdev, res->fs_size, d);
	if (r == 0 && work >= 0)
		r = xp_copy_range(work, 0, disk, (off_t)root->offset, (off_t)res->fs_size, 0);
	if (work >= 0)
		close(work);
	/* what libfdisk and the tools wrote, on the disk before the caller records it */
	if (disk < 0 && r == 0 && (disk = open(path, O_RDWR | O_CLOEXEC)) < 0)
		r = -errno;
	if (disk >= 0 && r == 0 && fsync(disk) < 0)
		r = -errno;
	if (disk >= 0)
		close(disk);
	return r;
}

int xp_image_grow_fs(const char *path, uint64_t offset, uint64_t old_size, uint64_t fs_size,
		     const char *tmpdir, struct xp_diags *d)
{
	if (offset == 0) {
		int r = fsck(path, d);
		return r < 0 ? r : resize2fs(path, fs_size, d);
	}
	int disk = open(path, O_RDWR | O_CLOEXEC), work = -1, r;
	char dev[64];
	if (disk < 0)
		return xp_diags_fail(d, -errno, path, "grow", NULL, "cannot open it: %s",
				     strerror(errno));
	work = tmp_file(tmpdir, old_size, dev, d);
	r = work < 0 ? work : xp_copy_range(disk, (off_t)offset, work, 0, (off_t)old_size, 0);
	if (r == 0)
		r = fsck(dev, d);
	if (r == 0 && ftruncate(work, (off_t)fs_size) < 0)
		r = -errno;
	if (r == 0)
		r = resize2fs(dev, fs_size, d);
	if (r == 0)
		r = xp_copy_range(work, 0, disk, (off_t)offset, (off_t)fs_size, 0);
	if (r == 0 && fsync(disk) < 0)
		r = -errno;
	if (r < 0 && d && d->n == 0)
		xp_diags_fail(d, r, path, "grow", NULL, "%s", strerror(-r));
	if (work >= 0)
		close(work);
	close(disk);
	return r;
}

/* A qcow2 image through the copy-on-write layer: the table grown in a sparse copy of
 * the disk's ends, the filesystem in a copy of its own, each written back where it
 * changed. */
static int grow_qcow2(const char *path, const struct xp_image_volume *root, bool partitioned,
		      uint64_t old_size, uint64_t size, const char *tmpdir,
		      struct xp_image_grown *res, struct xp_diags *d)
{
	struct xp_rwdisk *disk;
	int r = xp_rwdisk_open(path, 0, &disk, d);
	if (r < 0)
		return r;
	char *a = malloc(CHUNK), *b = malloc(CHUNK);
	char fsdev[64], tabdev[64];
	int fs = -1, tab = -1;
	if (!a || !b) {
		r = -ENOMEM;
		goto out;
	}
	fs = tmp_file(tmpdir, root->size, fsdev, d);
	r = fs < 0 ? fs : copy_out(disk, root->offset, root->size, fs, a);
	if (r == 0)
		r = fsck(fsdev, d);
	if (r == 0 && (r = xp_rwdisk_resize(disk, size)) < 0)
		xp_diags_fail(d, r, path, "grow", NULL, "%s", xp_rwdisk_errmsg(disk));
	res->fs_size = size;
	if (r == 0 && partitioned) {
		/* the table and what it needs: the sectors before the root partition, and a
		 * GPT's backup at the old end (libfdisk moves it to the new one) */
		uint64_t tail = old_size < CHUNK ? old_size : CHUNK;
		tab = tmp_file(tmpdir, size, tabdev, d);
		r = tab < 0 ? tab : copy_out(disk, 0, root->offset, tab, a);
		if (r == 0 && (r = xp_rwdisk_pread(disk, a, (size_t)tail, old_size - tail)) == 0)
			r = xp_pwrite_full(tab, a, (size_t)tail, old_size - tail);
		if (r == 0)
			r = xp_partition_grow_last(tabdev, root->offset, &res->fs_size, d);
		if (r == 0)
			r = write_back(tab, 0, root->offset, disk, 0, a, b);
		uint64_t end = size - (size - root->offset < CHUNK ? size - root->offset : CHUNK);
		if (r == 0)
			r = write_back(tab, end, size - end, disk, 0, a, b);
	}
	if (r == 0 && ftruncate(fs, (off_t)res->fs_size) < 0)
		r = -errno;
	if (r == 0)
		r = resize2fs(fsdev, res->fs_size, d);
	if (r == 0)
		r = write_back(fs, 0, res->fs_size, disk, root->offset, a, b);
out:
	if (r < 0 && d && d->n == 0)
		xp_diags_fail(d, r, path, "grow", NULL, "%s",
			      xp_rwdisk_errmsg(disk)[0] ? xp_rwdisk_errmsg(disk) : strerror(-r));
	int cr = xp_rwdisk_close(disk);
	if (r == 0 && cr < 0)
		r = xp_diags_fail(d, cr, path, "grow", NULL, "cannot write the image: %s",
				  strerror(-cr));
	if (fs >= 0)
		close(fs);
	if (tab >= 0)
		close(tab);
	free(a);
	free(b);
	return r;
}

int xp_image_grow(const char *path, uint64_t size, const char *tmpdir, struct xp_image_grown *res,
		  struct xp_diags *d)
{
	struct xp_image_grown local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	struct xp_image_info info;
	const struct xp_image_volume *root;
	int r = xp_image_info_root(path, &info, &root, d);
	if (r < 0)
		return r;
	res->format = info.format;
	res->old_size = info.virtual_size;
	res->size = size > info.virtual_size ? size : info.virtual_size;
	bool partitioned = info.label != XP_LABEL_NONE;
	if (!root) {
		r = xp_diags_fail(d, -EINVAL, path, "grow", NULL,
				  "no ext2/3/4 root filesystem: only one can be grown");
		goto out;
	}
	res->fs_offset = root->offset;
	res->old_fs_size = root->fs.block_size * root->fs.blocks_total;
	res->fs_size = res->old_fs_size;
	/* a device was grown by its owner (lvextend): what is left is to fill it */
	struct stat st;
	bool device = stat(path, &st) == 0 && S_ISBLK(st.st_mode);
	if (device ? size != info.virtual_size : size < info.virtual_size) {
		r = xp_diags_fail(d, -EINVAL, path, "grow", NULL,
				  device ? "%llu bytes: the device has %llu"
					 : "%llu bytes: a disk only grows (it has %llu)",
				  (unsigned long long)size, (unsigned long long)info.virtual_size);
		goto out;
	}
	if (size == info.virtual_size && !device)
		goto out;
	/* the root partition must be the last (what follows it could not move) */
	for (size_t i = 0; partitioned && i < info.n; i++)
		if (info.volumes[i].offset > root->offset) {
			r = xp_diags_fail(d, -ENOTSUP, path, "grow",
					  "put the root partition last (no swap partition after it)",
					  "partition %u is not the last one and cannot grow",
					  root->partition);
			goto out;
		}
	if (info.format == XP_IMAGE_QCOW2)
		r = grow_qcow2(path, root, partitioned, info.virtual_size, size, tmpdir, res, d);
	else
		r = grow_raw(path, root, partitioned, size, tmpdir, res, d);
out:
	xp_image_info_release(&info);
	return r;
}
