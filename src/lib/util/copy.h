/*
 * copy.h - sparse copies between open files, the one copy loop the image cache
 * (image-build.c), guest storage (deploy/storage.c) and the local boot's kernel copied
 * out of an image (boot/localboot.c) share.
 *
 * Only the source's data ranges are copied (lseek(2) SEEK_DATA/SEEK_HOLE), so a hole
 * stays a hole. Each range goes through copy_file_range(2), which clones or copies in
 * the kernel; where the kernel refuses it (EXDEV between two filesystems, ENOSYS,
 * EOPNOTSUPP, EINVAL for files it cannot handle) the rest goes through sendfile(2),
 * still in the kernel, and where that cannot write dst, pread/pwrite. dst's file
 * offset is not kept (sendfile moves it).
 *
 * Not part of the public API. Not here: reflink-only copies that must fail rather than
 * copy (storage.c's reflink backend), copies through an image's block layer.
 */
#ifndef XP_UTIL_COPY_H
#define XP_UTIL_COPY_H

#include <sys/types.h>

enum {
	/* dst may hold old data where src has holes (a logical volume, a reused file):
	 * zero those ranges too (BLKZEROOUT on a block device, a punched hole in a
	 * regular file). Without it they are left as they are. */
	XP_COPY_ZERO_HOLES = 1u << 0,
	/* xp_copy_file: try a reflink (FICLONE) of the whole file first */
	XP_COPY_CLONE = 1u << 1,
};

/* Copies the data of [from, from + len) of src into dst at to. dst must already be at
 * least to + len long (ftruncate it). Returns 0 or -errno (-EIO if src is shorter than
 * its ranges said, e.g. truncated meanwhile). */
int xp_copy_range(int src, off_t from, int dst, off_t to, off_t len, unsigned flags);

/* Makes [to, to + len) of dst ready for xp_copy_range, dst at least to + len long:
 * its blocks allocated at once (fallocate(2)) where the filesystem can, else by
 * ftruncate. For a file about to be filled whole (a kernel copied out of an image):
 * ext4 then writes into allocated, unwritten extents instead of reserving delayed
 * allocation page by page, ~2 ms less for 44 MB (bench/bootloader.sh). Not for a
 * sparse copy: the holes would be allocated too. 0 or -errno. */
int xp_copy_reserve(int dst, off_t to, off_t len);

/* Makes dst (empty, or to be overwritten) a copy of the whole of src: sized to src's
 * length, then xp_copy_range, or a reflink with XP_COPY_CLONE where the filesystem
 * can. */
int xp_copy_file(int src, int dst, unsigned flags);

#endif
