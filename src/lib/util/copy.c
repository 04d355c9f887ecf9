/*
 * copy.c - sparse copies between open files (copy.h): the source's data ranges found
 * with lseek(2) SEEK_DATA/SEEK_HOLE, each copied with copy_file_range(2), and with
 * pread and xp_pwrite_full (util/io.c) where the kernel refuses it.
 *
 * copy_file_range(2) fails with EXDEV when the two files are on different filesystems
 * (always so before Linux 5.3, and again since 5.19 unless both are of one type that
 * copies between its own instances), with EOPNOTSUPP or EINVAL where a filesystem or a
 * file type cannot take part, and with ENOSYS on kernels without it. In all those
 * cases sendfile(2) copies next: it is the same in-kernel splice copy
 * (do_splice_direct) without the one-filesystem rule, so an image on ext4 copied to a
 * tmpfs (libxl's /var/run/xen) still never passes through user space; measured, that
 * is about a quarter faster than pread/pwrite through a buffer (bench/bootloader.sh).
 * Where sendfile cannot either (EINVAL: an O_APPEND file, a file system without
 * splice), the data is copied by hand. The holes are kept in every case.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/copy.h"
#include "xenprov/util.h"

#define PLAIN_CHUNK (1u << 20)

/* [in, end) of src to dst at in + delta with pread/pwrite. */
static int copy_plain(int src, int dst, off_t in, off_t end, off_t delta)
{
	size_t cap = PLAIN_CHUNK;
	if ((uint64_t)(end - in) < cap)
		cap = (size_t)(end - in);
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int r = 0;
	while (in < end && r == 0) {
		size_t want = (size_t)(end - in) < cap ? (size_t)(end - in) : cap;
		/* not xp_pread_full: past the end it reads zeros, and a source shorter than
		 * its own data ranges (truncated meanwhile) must fail the copy instead */
		ssize_t n = pread(src, buf, want, in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO; /* 0: src is shorter than its data ranges */
			break;
		}
		r = xp_pwrite_full(dst, buf, (size_t)n, (uint64_t)(in + delta));
		in += n;
	}
	free(buf);
	return r;
}

/* The two ways the kernel copies by itself. */
enum in_kernel { BY_CFR, BY_SENDFILE };

/* [*in, end) of src to dst at *in + delta, in the kernel: copy_file_range(2), or
 * sendfile(2), which writes at dst's file offset (set first, left after the data).
 * *in moves with the copy. 1: the kernel will not do it this way for these two files
 * (the rest is left for another way), 0: done, or -errno. */
static int copy_in_kernel(enum in_kernel how, int src, int dst, off_t *in, off_t end, off_t delta)
{
	if (how == BY_SENDFILE && lseek(dst, *in + delta, SEEK_SET) < 0)
		return -errno;
	while (*in < end) {
		size_t want =
		    (uint64_t)(end - *in) < 0x7ffff000u ? (size_t)(end - *in) : 0x7ffff000u;
		off_t out = *in + delta;
		ssize_t n = how == BY_CFR ? copy_file_range(src, in, dst, &out, want, 0)
					  : sendfile(dst, src, in, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS ||
			      (how == BY_CFR && (errno == EXDEV || errno == EOPNOTSUPP))))
			return 1;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* src is shorter than its data ranges */
	}
	return 0;
}

/* Zeroes [off, off + len) of dst, which may hold old data. */
static int zero_range(int dst, off_t off, off_t len)
{
	struct stat st;
	if (fstat(dst, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t range[2] = {(uint64_t)off, (uint64_t)len};
		return ioctl(dst, BLKZEROOUT, range) < 0 ? -errno : 0;
	}
	if (fallocate(dst, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0)
		return -errno;
	return 0;
}

int xp_copy_range(int src, off_t from, int dst, off_t to, off_t len, unsigned flags)
{
	if (from < 0 || to < 0 || len < 0)
		return -EINVAL;
	off_t pos = from, end = from + len, delta = to - from;
	bool cfr = true, sf = true;
	while (pos < end) {
		off_t data = lseek(src, pos, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				data = end; /* only a hole is left */
			else if (errno == EINVAL)
				data = pos; /* no SEEK_DATA here: everything is data */
			else
				return -errno;
		}
		if (data > end)
			data = end;
		if ((flags & XP_COPY_ZERO_HOLES) && data > pos) {
			int r = zero_range(dst, pos + delta, data - pos);
			if (r < 0)
				return r;
		}
		if (data >= end)
			break;
		off_t hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0) {
			if (errno != EINVAL)
				return -errno;
			hole = end;
		}
		if (hole > end)
			hole = end;
		off_t in = data;
		int r = 0;
		/* a way the kernel refuses is not tried again for the rest of this copy */
		if (cfr && (r = copy_in_kernel(BY_CFR, src, dst, &in, hole, delta)) == 1)
			cfr = false;
		if (!cfr && sf && in < hole &&
		    (r = copy_in_kernel(BY_SENDFILE, src, dst, &in, hole, delta)) == 1)
			sf = false;
		if (r < 0)
			return r;
		if (in < hole && (r = copy_plain(src, dst, in, hole, delta)) < 0)
			return r;
		pos = hole;
	}
	return 0;
}

int xp_copy_reserve(int dst, off_t to, off_t len)
{
	if (to < 0 || len < 0)
		return -EINVAL;
	if (len == 0 || fallocate(dst, 0, to, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL && errno != ENODEV)
		return -errno; /* ENOSPC, EIO: ftruncate would only hide it */
	struct stat st;
	if (fstat(dst, &st) < 0)
		return -errno;
	if (st.st_size < to + len && ftruncate(dst, to + len) < 0)
		return -errno;
	return 0;
}

int xp_copy_file(int src, int dst, unsigned flags)
{
	if ((flags & XP_COPY_CLONE) && ioctl(dst, FICLONE, src) == 0)
		return 0;
	struct stat st, dst_st;
	if (fstat(src, &st) < 0 || fstat(dst, &dst_st) < 0)
		return -errno;
	/* a fresh length: nothing of dst's old content survives in src's holes. Not on an
	 * empty dst: ext4 takes a truncation to size 0 for a file being replaced
	 * (auto_da_alloc, ext4(5)) and writes it out at its close, in the closer's time
	 * (3-4 ms for 44 MB, bench/bootloader.sh) */
	if ((dst_st.st_size != 0 && ftruncate(dst, 0) < 0) || ftruncate(dst, st.st_size) < 0)
		return -errno;
	return xp_copy_range(src, 0, dst, 0, st.st_size, flags & ~XP_COPY_CLONE);
}
