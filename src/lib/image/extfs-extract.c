/*
 * extfs-extract.c - an ext2/3/4 filesystem copied out into a directory through
 * libext2fs, without mounting (xp_fs_extract, extfs.h): every entry with its owner,
 * mode, times (nanoseconds where the inode keeps them), extended attributes (ACLs as
 * libext2fs gives them, in the kernel's system.posix_acl_* format; file
 * capabilities), hard links as hard links, devices, FIFOs, sockets, symlinks, and
 * regular files' holes as holes. What `image capture` of a disk image reads.
 *
 * Not here: reading single files (extfs-read.c), the capture around it (capture-disk.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "image/extfs-internal.h"
#include "util/cleanup.h"

#define CHUNK (1u << 20)
#define MAX_DEPTH 4096

struct link {
	ext2_ino_t ino;
	char *path; /* relative to the top */
};

struct ex {
	ext2_filsys fs;
	int top;	  /* the destination directory */
	struct xp_buf full; /* top's path + the entry's, for the l*xattr calls */
	size_t toplen;
	struct link *links; /* inodes with more than one link, by first path */
	size_t nlinks, caplinks;
	char *buf;
	struct xp_diags *d;
	const char *where; /* the image, for messages */
};

static int fail(struct ex *x, int r, const char *rel, const char *what)
{
	return xp_diags_fail(x->d, r, x->where, "extract", NULL, "%s '%s': %s", what,
			     *rel ? rel : "/", strerror(-r));
}

/* The nanoseconds of an ext4 large inode's extra time field (bits 2-31). */
static long nsec(uint32_t extra)
{
	return (long)(extra >> 2);
}

struct xattr_ctx {
	const char *path;
	struct ext2_xattr_handle *h;
	int err;
};

static int set_xattr(char *name, char *value, size_t len, void *data)
{
	struct xattr_ctx *c = data;
	/* inline data lives in an xattr of its own: content, not an attribute */
	if (strcmp(name, "system.data") == 0)
		return 0;
	/* the iterator gives ext4's own ACL encoding; ext2fs_xattr_get the kernel's
	 * (version 2, as setxattr(2) takes it) */
	void *conv = NULL;
	if (strcmp(name, "system.posix_acl_access") == 0 ||
	    strcmp(name, "system.posix_acl_default") == 0) {
		errcode_t e = ext2fs_xattr_get(c->h, name, &conv, &len);
		if (e) {
			c->err = xp_ext2_read_errno(e);
			return XATTR_ABORT;
		}
		value = conv;
	}
	int r = lsetxattr(c->path, name, value, len, 0) < 0 ? -errno : 0;
	if (conv)
		ext2fs_free_mem(&conv);
	if (r < 0) {
		c->err = r;
		return XATTR_ABORT;
	}
	return 0;
}

/* Owner, mode, xattrs and times of the entry rel (name in dirfd), in that order:
 * chown(2) clears set-user-ID bits and file capabilities, which come after it. */
static int set_meta(struct ex *x, int dirfd, const char *name, const char *rel, ext2_ino_t ino,
		    const struct ext2_inode_large *in)
{
	const struct ext2_inode *inode = (const struct ext2_inode *)in;
	bool lnk = LINUX_S_ISLNK(inode->i_mode);
	if (fchownat(dirfd, name, inode_uid(*inode), inode_gid(*inode), AT_SYMLINK_NOFOLLOW) < 0)
		return fail(x, -errno, rel, "cannot set the owner of");
	if (!lnk && fchmodat(dirfd, name, inode->i_mode & 07777, 0) < 0)
		return fail(x, -errno, rel, "cannot set the mode of");
	struct ext2_xattr_handle *h = NULL;
	errcode_t e = ext2fs_xattrs_open(x->fs, ino, &h);
	if (!e)
		e = ext2fs_xattrs_read(h);
	if (!e) {
		xp_buf_truncate(&x->full, x->toplen);
		if (*rel)
			xp_buf_addf(&x->full, "/%s", rel);
		struct xattr_ctx c = {xp_buf_str(&x->full), h, 0};
		e = xp_buf_error(&x->full) ? EXT2_ET_NO_MEMORY : ext2fs_xattrs_iterate(h, set_xattr, &c);
		if (c.err) {
			ext2fs_xattrs_close(&h);
			return fail(x, c.err, rel, "cannot set the extended attributes of");
		}
	}
	if (h)
		ext2fs_xattrs_close(&h);
	if (e)
		return fail(x, xp_ext2_read_errno(e), rel, "cannot read the extended attributes of");
	bool large = EXT2_INODE_SIZE(x->fs->super) > EXT2_GOOD_OLD_INODE_SIZE;
	size_t have = large ? EXT2_GOOD_OLD_INODE_SIZE + in->i_extra_isize : 0;
	struct timespec ts[2] = {{(int32_t)inode->i_atime, 0}, {(int32_t)inode->i_mtime, 0}};
	if (have >= offsetof(struct ext2_inode_large, i_atime_extra) + sizeof(in->i_atime_extra)) {
		ts[0].tv_sec += (time_t)((int64_t)(in->i_atime_extra & 3) << 32);
		ts[0].tv_nsec = nsec(in->i_atime_extra);
	}
	if (have >= offsetof(struct ext2_inode_large, i_mtime_extra) + sizeof(in->i_mtime_extra)) {
		ts[1].tv_sec += (time_t)((int64_t)(in->i_mtime_extra & 3) << 32);
		ts[1].tv_nsec = nsec(in->i_mtime_extra);
	}
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(x, -errno, rel, "cannot set the times of");
	return 0;
}

/* A regular file's content, its holes (all-zero chunks) left as holes. */
static int copy_data(struct ex *x, ext2_ino_t ino, struct ext2_inode *inode, int fd,
		     const char *rel)
{
	ext2_file_t f;
	errcode_t e = ext2fs_file_open2(x->fs, ino, inode, 0, &f);
	if (e)
		return fail(x, xp_ext2_read_errno(e), rel, "cannot read");
	uint64_t size = EXT2_I_SIZE(inode), off = 0;
	int r = 0;
	while (off < size) {
		unsigned got = 0;
		e = ext2fs_file_read(f, x->buf, CHUNK, &got);
		if (e) {
			r = fail(x, xp_ext2_read_errno(e), rel, "cannot read");
			break;
		}
		if (got == 0)
			break;
		if (got > size - off)
			got = (unsigned)(size - off);
		if (!xp_all_zero(x->buf, got) && (r = xp_pwrite_full(fd, x->buf, got, off)) < 0) {
			r = fail(x, r, rel, "cannot write");
			break;
		}
		off += got;
	}
	ext2fs_file_close(f);
	if (r == 0 && off != size)
		r = fail(x, -EBADMSG, rel, "shorter than its size:");
	if (r == 0 && ftruncate(fd, (off_t)size) < 0)
		r = fail(x, -errno, rel, "cannot size");
	return r;
}

static int walk(struct ex *x, ext2_ino_t dir, int dirfd, const char *reldir, int depth);

static int one(struct ex *x, int dirfd, const char *reldir, const struct xp_fs_entry *de,
	       int depth)
{
	_cleanup_free_ char *rel = NULL;
	if (asprintf(&rel, "%s%s%s", reldir, *reldir ? "/" : "", de->name) < 0)
		return -ENOMEM;
	struct ext2_inode_large in;
	memset(&in, 0, sizeof(in));
	errcode_t e = ext2fs_read_inode_full(x->fs, de->ino, (struct ext2_inode *)&in, sizeof(in));
	if (e)
		return fail(x, xp_ext2_read_errno(e), rel, "cannot read the inode of");
	struct ext2_inode *inode = (struct ext2_inode *)&in;
	uint16_t mode = inode->i_mode;
	/* a second name of an inode already copied: a hard link to the first */
	if (!LINUX_S_ISDIR(mode) && inode->i_links_count > 1) {
		for (size_t i = 0; i < x->nlinks; i++)
			if (x->links[i].ino == de->ino) {
				if (linkat(x->top, x->links[i].path, dirfd, de->name, 0) < 0)
					return fail(x, -errno, rel, "cannot link");
				return 0;
			}
		char *p = strdup(rel);
		if (!p || xp_grow(&x->links, &x->caplinks, x->nlinks, sizeof(*x->links), 64) < 0) {
			free(p);
			return -ENOMEM;
		}
		x->links[x->nlinks++] = (struct link){de->ino, p};
	}
	int r = 0;
	if (LINUX_S_ISDIR(mode)) {
		if (mkdirat(dirfd, de->name, 0700) < 0)
			return fail(x, -errno, rel, "cannot make");
		int cfd = openat(dirfd, de->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			return fail(x, -errno, rel, "cannot open");
		r = walk(x, de->ino, cfd, rel, depth + 1);
		close(cfd);
	} else if (LINUX_S_ISREG(mode)) {
		int fd = openat(dirfd, de->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0600);
		if (fd < 0)
			return fail(x, -errno, rel, "cannot create");
		r = copy_data(x, de->ino, inode, fd, rel);
		close(fd);
	} else if (LINUX_S_ISLNK(mode)) {
		struct xp_fs_entry le = {0};
		r = xp__ext2_fill_entry(x->fs, de->ino, &le);
		if (r < 0)
			return fail(x, r, rel, "cannot read the symlink");
		if (symlinkat(le.link, dirfd, de->name) < 0)
			r = fail(x, -errno, rel, "cannot make the symlink");
		xp_fs_entry_release(&le);
	} else if (LINUX_S_ISCHR(mode) || LINUX_S_ISBLK(mode)) {
		struct xp_fs_entry le = {0};
		r = xp__ext2_fill_entry(x->fs, de->ino, &le);
		if (r < 0)
			return fail(x, r, rel, "cannot read the device");
		if (mknodat(dirfd, de->name, (LINUX_S_ISCHR(mode) ? S_IFCHR : S_IFBLK) | 0600,
			    makedev(le.rdev_major, le.rdev_minor)) < 0)
			r = fail(x, -errno, rel, "cannot make the device");
		xp_fs_entry_release(&le);
	} else if (LINUX_S_ISFIFO(mode)) {
		if (mkfifoat(dirfd, de->name, 0600) < 0)
			r = fail(x, -errno, rel, "cannot make the FIFO");
	} else if (LINUX_S_ISSOCK(mode)) {
		if (mknodat(dirfd, de->name, S_IFSOCK | 0600, 0) < 0)
			r = fail(x, -errno, rel, "cannot make the socket");
	} else {
		return fail(x, -EBADMSG, rel, "unknown file type of");
	}
	if (r == 0)
		r = set_meta(x, dirfd, de->name, rel, de->ino, &in);
	return r;
}

static int walk(struct ex *x, ext2_ino_t dir, int dirfd, const char *reldir, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(x, -ELOOP, reldir, "nested too deep at");
	struct xp_fs_entry *v = NULL;
	size_t n = 0;
	errcode_t e = 0;
	int r = xp__ext2_dir_list(x->fs, dir, true, &v, &n, &e);
	if (r < 0)
		return fail(x, e ? xp_ext2_read_errno(e) : r, reldir, "cannot list");
	for (size_t i = 0; r == 0 && i < n; i++)
		r = one(x, dirfd, reldir, &v[i], depth);
	xp_fs_list_free(v, n);
	return r;
}

int xp_fs_extract(struct xp_fs *fs, const char *dir, const char *where, struct xp_diags *d)
{
	struct ex x = {.fs = xp__fs_ext2(fs), .d = d, .where = where};
	xp_buf_init(&x.full);
	xp_buf_adds(&x.full, dir);
	x.toplen = x.full.len;
	x.top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.top < 0)
		return xp_diags_fail(d, -errno, dir, NULL, NULL, "cannot open: %s", strerror(errno));
	int r = (x.buf = malloc(CHUNK)) ? 0 : -ENOMEM;
	if (r == 0)
		r = walk(&x, EXT2_ROOT_INO, x.top, "", 0);
	if (r == 0) {
		/* the root directory's own owner, mode, xattrs and times */
		struct ext2_inode_large in;
		memset(&in, 0, sizeof(in));
		errcode_t e = ext2fs_read_inode_full(x.fs, EXT2_ROOT_INO, (struct ext2_inode *)&in,
						     sizeof(in));
		r = e ? fail(&x, xp_ext2_read_errno(e), "", "cannot read the inode of")
		      : set_meta(&x, x.top, ".", "", EXT2_ROOT_INO, &in);
	}
	for (size_t i = 0; i < x.nlinks; i++)
		free(x.links[i].path);
	free(x.links);
	free(x.buf);
	xp_buf_release(&x.full);
	close(x.top);
	return r;
}
