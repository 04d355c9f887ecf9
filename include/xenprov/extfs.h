/*
 * xenprov/extfs.h - ext2/3/4 filesystems built straight from a tar stream (libarchive
 * into libext2fs: no extraction, no mount, no root), and read back without a mount.
 *
 * Not here: partition tables (partition.h), image containers raw/qcow2 (blockdev.h),
 * the build pipeline and its cache (image.h).
 */
#ifndef XENPROV_EXTFS_H
#define XENPROV_EXTFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "xenprov/util.h"

struct xp_blockdev;

enum xp_fs_type {
	XP_FS_EXT2,
	XP_FS_EXT3, /* ext2 + journal */
	XP_FS_EXT4, /* extents, flex_bg, huge_file, dir_nlink, extra_isize, 64bit,
		       metadata_csum, journal: what kernels >= 3.18 mount */
};

struct xp_fs_opts {
	enum xp_fs_type type;
	const char *label;	 /* volume label, <= 16 bytes; NULL for none */
	const char *uuid;	 /* "xxxxxxxx-xxxx-..." ; NULL for a random one */
	uint64_t inodes;	 /* 0: derived from the size and the archive */
	int reserved_percent;	 /* root-reserved blocks, 0..50; -1 for the default 5 */
	bool scratch;		 /* the file is a temporary that is converted and removed:
				  * file data is not sent to the disk early (by default it is
				  * written back while the archive is still being read) */
	bool allow_empty;	 /* an archive without entries makes an empty filesystem
				  * (else -ENODATA); an input of 0 bytes is never a tar archive */
	const char *output_name; /* how messages name the file written (the image's own
				  * name when path is a temporary); NULL: path */
	const char *archive_name; /* how messages name the archive (what a pipe it is
				   * opened through carries); NULL: archive */
};

/* Progress: bytes of archive content written so far, entries so far. May be NULL. */
typedef void (*xp_progress_fn)(void *ud, uint64_t bytes, uint64_t entries);

struct xp_fs_stats {
	uint64_t entries; /* archive entries applied */
	uint64_t files, dirs, symlinks, hardlinks, devices, fifos;
	uint64_t content_bytes; /* bytes of regular file data */
	uint64_t blocks_total, blocks_free, block_size;
	uint64_t inodes_total, inodes_free;
	char uuid[37];
};

/* Builds a filesystem of `size` bytes at byte `offset` of the existing file `path`
 * (which must be at least offset + size bytes; a sparse file stays sparse), from the
 * tar archive at `archive` (any compression libarchive reads: gz, xz, zst, bz2, or
 * none; "-" for standard input).
 *
 * Everything a root filesystem holds comes through: regular files (holes stay holes),
 * directories, symlinks, hard links, character and block devices, FIFOs, sockets,
 * numeric owners from the archive, all mode bits, mtimes/atimes/ctimes, extended
 * attributes and POSIX ACLs (as system.posix_acl_* xattrs), long and non-ASCII names,
 * an entry given twice (the later wins), directories listed after their children.
 *
 * Errors (with a diagnostic naming the entry): -EBADMSG corrupt or truncated archive,
 * or an input of 0 bytes (after decompression), which is no tar archive; -ENODATA an
 * archive without entries, unless opts->allow_empty; -EPERM an absolute path or one
 * climbing out with "..", -ENOENT a hard link to a missing entry, -ENOSPC the
 * filesystem is full (diagnostic says how much is needed), -ENOTDIR a path goes
 * through a non-directory, -EEXIST a non-directory replaces a non-empty directory,
 * -E2BIG an entry's xattrs do not fit in one block, -EMLINK too many links, -EINVAL bad
 * options or a file shorter than offset + size, -errno for I/O. A failed write to path
 * (-ENOSPC or -EDQUOT when the host's filesystem is full, -EIO) has a diagnostic of its
 * own, code "write", naming path (opts->output_name), never "the filesystem is full".
 * Nothing is fsync'ed: the caller syncs its output. Large directories are written
 * unindexed (e2fsck-clean; the kernel looks names up linearly). On error the bytes at
 * offset..offset+size are garbage; the caller removes its output. */
int xp_fs_build(const char *path, uint64_t offset, uint64_t size, const char *archive,
		const struct xp_fs_opts *opts, xp_progress_fn progress, void *ud,
		struct xp_fs_stats *stats, struct xp_diags *diags);

/* Makes an empty filesystem of `size` bytes at byte `offset` of `path` (a file at
 * least offset + size bytes long, or a block device), as xp_fs_build makes one
 * without an archive: the root directory (0:0 0755) and lost+found only, the
 * features of opts->type, opts->uuid or a random UUID, opts->label. The target is
 * zeroed first (a file's range punched, so it stays sparse; a block device's tables
 * written as zeros). What mke2fs(8) makes of an empty device; used for guests' data
 * disks. Errors as xp_fs_build's (-ENOSPC under 8 MiB, -EINVAL bad options).
 * Nothing is fsync'ed. */
int xp_fs_make(const char *path, uint64_t offset, uint64_t size, const struct xp_fs_opts *opts,
	       struct xp_fs_stats *stats, struct xp_diags *diags);

/* Reads the archive's headers (skipping data where the format allows) and returns the
 * smallest filesystem size in bytes that holds it with the given options, plus
 * headroom_percent of the content. An archive without entries, or of 0 bytes, is an
 * error as with xp_fs_build (-ENODATA unless opts->allow_empty, -EBADMSG). */
int xp_fs_estimate(const char *archive, const struct xp_fs_opts *opts, unsigned headroom_percent,
		   uint64_t *bytes, struct xp_diags *diags);

/* ---- reading ------------------------------------------------------------------------ */

struct xp_fs;

/* Opens the filesystem at offset of a block device (raw or qcow2, see blockdev.h),
 * read-only. -EINVAL if there is no ext2/3/4 filesystem there. */
int xp_fs_open(struct xp_blockdev *bd, uint64_t offset, struct xp_fs **ret);
void xp_fs_close(struct xp_fs *fs);

struct xp_fs_info {
	enum xp_fs_type type;
	char uuid[37];
	char label[17];
	uint64_t block_size, blocks_total, blocks_free, inodes_total, inodes_free;
};
int xp_fs_info(struct xp_fs *fs, struct xp_fs_info *out);

struct xp_fs_entry {
	char *name; /* within its directory */
	uint32_t ino;
	mode_t mode; /* type and permission bits */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime;
	uint32_t nlink;
	uint32_t rdev_major, rdev_minor;
	char *link; /* symlink target, else NULL */
};
void xp_fs_entry_release(struct xp_fs_entry *e);

/* Looks up an absolute path (symlinks in it are not followed). -ENOENT if absent. out
 * is cleared first, so xp_fs_entry_release(out) is right after a failure too. */
int xp_fs_stat(struct xp_fs *fs, const char *path, struct xp_fs_entry *out);
/* Lists a directory, sorted by name, without "." and "..". */
int xp_fs_list(struct xp_fs *fs, const char *path, struct xp_fs_entry **entries, size_t *n);
void xp_fs_list_free(struct xp_fs_entry *entries, size_t n);
/* Where a regular file's data lies (a final symlink followed): map is called for each
 * run of it in file order, its byte offset in the file, its byte offset on the block
 * device (UINT64_MAX for a hole or an unwritten extent: zeros) and its length; runs
 * cover the file's size exactly. -ENOTSUP for a file whose data is not in blocks
 * (inline data), -EISDIR, -EINVAL (not a regular file), -EBADMSG (a run outside the
 * filesystem). For copying a file straight from the image file. */
int xp_fs_map(struct xp_fs *fs, const char *path,
	      int (*map)(void *ud, uint64_t file_off, uint64_t dev_off, uint64_t len), void *ud,
	      uint64_t *size);
/* Copies the whole filesystem into the directory dir (existing, empty; its own owner,
 * mode, xattrs and times become the root's), without mounting: every entry with its
 * owner, mode, times (nanoseconds where the inode has them), extended attributes
 * (POSIX ACLs in the kernel's format, file capabilities), hard links as hard links,
 * devices, FIFOs, sockets, symlinks; regular files' zero chunks left as holes. Needs
 * root for owners and devices. -errno with a diagnostic naming where (the image, for
 * messages) and the entry. */
int xp_fs_extract(struct xp_fs *fs, const char *dir, const char *where, struct xp_diags *d);
/* Reads a regular file's content, calling sink for each chunk. -EISDIR, -EINVAL. */
int xp_fs_read(struct xp_fs *fs, const char *path,
	       int (*sink)(void *ud, const void *data, size_t len), void *ud);

#endif
