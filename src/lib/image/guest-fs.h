/*
 * guest-fs.h - the files of a guest's root filesystem, edited in place with libext2fs
 * (guest-fs.c): a handle over the filesystem opened read-write at a byte offset of an
 * image (raw or qcow2, through extfs-rwio.c), and the file operations the guest edits
 * need: look up, read, write, remove, make directories and symlinks, list. Paths are
 * absolute paths inside the image; symlinks are followed inside the image, never on
 * the host. Every written path and every reported removal is appended to the report
 * the handle was opened with (written, removed).
 *
 * Also the guest layer's diagnostics (struct xp_guest_diag), shared with guest-edit.c:
 * every message is about the image file.
 *
 * Not here: what is written (guest-text.c), which edits run (guest-edit.c), the block
 * level (extfs-rwio.c, qcow2-rw.c).
 */
#ifndef XP_GUEST_FS_H
#define XP_GUEST_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xenprov/guest.h"
#include "xenprov/util.h"

/* ---- diagnostics ---------------------------------------------------------------------- */

/* Where the guest layer's messages go: d (may be NULL), about the file image. */
struct xp_guest_diag {
	struct xp_diags *d;
	const char *image;
};

/* Adds an error (code, the offending text, the message) and returns err. */
int xp_guest_fail(const struct xp_guest_diag *g, int err, const char *code, const char *text,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void xp_guest_warn(const struct xp_guest_diag *g, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the filesystem ------------------------------------------------------------------- */

struct xp_gfs;

/* Opens the ext2/3/4 filesystem at byte offset off of image read-write (an exclusive
 * lock on the image: -EBUSY if another xenprov edits it). Refused: a journal to recover
 * (-ENOTSUP), a filesystem marked with errors (-EIO). now is the time stamped on what
 * is written; flags: XP_GFS_NOSYNC, the image is not fsync'ed at close; rep
 * receives the paths written and removed (it must outlive the handle). Failures have a
 * diagnostic in g->d. */
#define XP_GFS_NOSYNC 1u
int xp_gfs_open(const char *image, uint64_t off, uint32_t now, unsigned flags,
		struct xp_guest_report *rep, const struct xp_guest_diag *g, struct xp_gfs **ret);
/* Writes the filesystem's metadata (always, also after a failed edit: its bitmaps and
 * counts still match what was allocated), syncs and closes the image, frees g. status
 * is the session's result so far: returned as it is if it is an error (what closing
 * then fails is not reported: the caller discards the image), else 0 or the error of
 * closing, with a diagnostic. Accepts NULL. */
int xp_gfs_close(struct xp_gfs *g, int status);

/* Gives the filesystem the UUID uuid with one superblock write (its backups follow
 * at close), as `tune2fs -U` does without rewriting metadata checksums: with
 * metadata_csum_seed, or without metadata_csum, every checksum stays valid (group
 * descriptor checksums are recomputed: gdt_csum's crc16 covers the UUID). With
 * metadata_csum and no seed, metadata_csum_seed is set first to the seed the checksums
 * were made with, as `tune2fs -O metadata_csum_seed` does, and *seeded is true.
 * -ENOTSUP (with a diagnostic) for ea_inode without metadata_csum (its hashes use the
 * UUID); -EIO if a group descriptor checksum is already wrong (tune2fs then leaves them
 * alone; we refuse rather than hide it). */
int xp_gfs_set_uuid(struct xp_gfs *g, const unsigned char uuid[16], bool *seeded);

/* Writes len bytes at byte offset off of the image itself, outside the filesystem (a
 * swap area's header): through the same copy-on-write layer, inside the image's size. */
int xp_gfs_disk_pwrite(struct xp_gfs *g, const void *buf, size_t len, uint64_t off);

/* Something at path, symlinks followed (also the last one). */
bool xp_gfs_exists(struct xp_gfs *g, const char *path);
/* A directory at path, symlinks followed. */
bool xp_gfs_is_dir(struct xp_gfs *g, const char *path);
/* The mode (S_IFMT type and permission bits) of what is at path, a final symlink not
 * followed: 0, -ENOENT if nothing (or a directory above is missing), other -errno. */
int xp_gfs_lstat(struct xp_gfs *g, const char *path, mode_t *mode);
/* A regular file at path (a final symlink not followed). */
bool xp_gfs_is_regular(struct xp_gfs *g, const char *path);

/* Reads the regular file at path (a final symlink not followed) into *data (heap,
 * NUL-terminated) and *len: -ENOENT if absent, -EINVAL if not a regular file, -EFBIG
 * (with a diagnostic) beyond 16 MiB. */
int xp_gfs_read(struct xp_gfs *g, const char *path, char **data, size_t *len);

/* How xp_gfs_write makes a file. */
struct xp_gfs_wopts {
	mode_t mode; /* of a new file */
	uint32_t uid, gid;
	bool force; /* also impose mode and owner on an existing file */
};

/* 0644, root's, an existing file's mode and owner kept. */
extern const struct xp_gfs_wopts xp_gfs_file;

/* Writes data to the file at path: an existing regular file keeps its inode (owner,
 * mode, extended attributes such as security.selinux) and gets the new content;
 * anything else there but a directory (a symlink, a device) is replaced by a new
 * regular file made as o says. The directory must exist (-ENOENT, with a diagnostic).
 * Reported as written. */
int xp_gfs_write(struct xp_gfs *g, const char *path, const void *data, size_t len,
		 const struct xp_gfs_wopts *o);
/* xp_gfs_write of what reading fd gives, at most max bytes (a file that shrank while
 * it was read gives what it had), streamed through one 1 MiB buffer. A failed read is
 * its -errno with a diagnostic (code "read"). */
int xp_gfs_write_fd(struct xp_gfs *g, const char *path, int fd, uint64_t max,
		    const struct xp_gfs_wopts *o);
/* xp_gfs_write of a buffer's content (-ENOMEM if the buffer failed). */
int xp_gfs_write_buf(struct xp_gfs *g, const char *path, const struct xp_buf *b,
		     const struct xp_gfs_wopts *o);
/* A symlink at path to target, replacing whatever non-directory is there. Reported as
 * written. */
int xp_gfs_symlink(struct xp_gfs *g, const char *path, const char *target);
/* A directory at path with this mode and owner: created; an existing one is given them
 * only if fix (-ENOTDIR if something else is there). */
int xp_gfs_mkdir(struct xp_gfs *g, const char *path, mode_t mode, uint32_t uid, uint32_t gid,
		 bool fix);
/* The directory at path and those above it: each missing one made 0:0 0755, those
 * there (symlinks to directories included, followed inside the image) left as they
 * are; -ENOTDIR (with a diagnostic) if something else is in the way. */
int xp_gfs_mkdirs(struct xp_gfs *g, const char *path);
/* Removes the non-directory at path as debugfs's kill_file_by_inode does (e2fsprogs
 * debugfs/debugfs.c): one link dropped; at zero links its blocks, extended attribute
 * block and inode are freed. -ENOENT if nothing is there, -EISDIR for a directory.
 * Reported as removed if report. */
int xp_gfs_remove(struct xp_gfs *g, const char *path, bool report);

/* The names in the directory at path (symlinks followed), without . and .., sorted by
 * strcmp; none if it is not a directory. Free them with xp_gfs_names_free. */
int xp_gfs_list(struct xp_gfs *g, const char *path, char ***names, size_t *n);
void xp_gfs_names_free(char **names, size_t n);

/* ---- what an image update needs (guest-update.c) -------------------------------------- */

/* An inode's permission bits, owner and times. */
struct xp_gfs_meta {
	mode_t mode; /* permission bits (07777); the type stays */
	uint32_t uid, gid;
	int64_t mtime; /* also the access time */
	uint32_t mtime_ns;
};
/* Gives what is at path (a final symlink not followed) m's mode, owner and times; its
 * change time is now. */
int xp_gfs_set_meta(struct xp_gfs *g, const char *path, const struct xp_gfs_meta *m);

/* One extended attribute as the Linux VFS gives it (lgetxattr(2)): POSIX ACLs in the
 * system.posix_acl_* xattr format, which libext2fs converts to ext4's. */
struct xp_gfs_xattr {
	const char *name;
	const void *value;
	size_t len;
};
/* Replaces the extended attributes of what is at path with v. */
int xp_gfs_set_xattrs(struct xp_gfs *g, const char *path, const struct xp_gfs_xattr *v,
		      size_t n);
/* A hard link at path to the non-directory at existing, replacing whatever
 * non-directory is at path. Reported as written. */
int xp_gfs_link(struct xp_gfs *g, const char *existing, const char *path);
/* A device, FIFO or socket at path (mode: type and permission bits), replacing whatever
 * non-directory is there; 0:0, owner and times set apart. Reported as written. */
int xp_gfs_mknod(struct xp_gfs *g, const char *path, mode_t mode, uint32_t major,
		 uint32_t minor);
/* Removes the empty directory at path (-ENOTEMPTY, -ENOTDIR with a diagnostic).
 * Reported as removed. */
int xp_gfs_rmdir(struct xp_gfs *g, const char *path);

#endif
