/*
 * extfs-read.c - ext2/3/4 filesystems read without a mount: open at a byte offset of a
 * block device (raw or qcow2), describe, look up, list and read files. libext2fs does
 * the filesystem work over the io_manager of extfs-io.c.
 *
 * Path lookups start at the filesystem's root, so an absolute symlink inside the image
 * resolves inside the image, never on the host. xp_fs_stat does not follow a final
 * symlink (lstat(2)); xp_fs_list and xp_fs_read do (ls(1), cat(1)).
 *
 * Not here: building filesystems (extfs-build*.c), the block devices (blockdev.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2fs.h>
#include <uuid/uuid.h>

#include "image/blockdev-internal.h"
#include "image/extfs-internal.h"
#include "image/extfs-iochan.h"
#include "xenprov/extfs.h"

#define READ_CHUNK  (64u << 10)
#define MAX_SYMLINK 65536

struct xp_fs {
	ext2_filsys fs;
	struct xp_blockdev *bd;
};

int xp_fs_open(struct xp_blockdev *bd, uint64_t offset, struct xp_fs **ret)
{
	char name[64];
	ext2_filsys fs = NULL;

	if (!bd || !ret)
		return -EINVAL;
	*ret = NULL;
	if (offset >= xp_blockdev_size(bd))
		return -EINVAL;
	int r = xp_extfs_io_name(bd, offset, name, sizeof(name));
	if (r < 0)
		return r;
	struct xp_fs *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	errcode_t e = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS, 0, 0, xp_iochan_manager(), &fs);
	if (e) {
		free(x);
		switch (e) {
		case EXT2_ET_BAD_MAGIC:
		case EXT2_ET_SHORT_READ:
		case EXT2_ET_SB_CSUM_INVALID:
		case EXT2_ET_CORRUPT_SUPERBLOCK:
		case EXT2_ET_REV_TOO_HIGH:
			return -EINVAL; /* no ext2/3/4 filesystem there */
		default:
			return xp_ext2_read_errno(e);
		}
	}
	x->fs = fs;
	x->bd = bd;
	*ret = x;
	return 0;
}

ext2_filsys xp__fs_ext2(struct xp_fs *x)
{
	return x->fs;
}

void xp_fs_close(struct xp_fs *fs)
{
	if (!fs)
		return;
	ext2fs_close_free(&fs->fs);
	free(fs);
}

int xp_fs_info(struct xp_fs *x, struct xp_fs_info *out)
{
	if (!x || !out)
		return -EINVAL;
	ext2_filsys fs = x->fs;
	struct ext2_super_block *sb = fs->super;
	memset(out, 0, sizeof(*out));

	/* what mke2fs -t ext4 turns on and ext2/ext3 lack (mke2fs.conf(5)) */
	bool ext4 = ext2fs_has_feature_extents(sb) || ext2fs_has_feature_64bit(sb) ||
		    ext2fs_has_feature_flex_bg(sb) || ext2fs_has_feature_huge_file(sb) ||
		    ext2fs_has_feature_dir_nlink(sb) || ext2fs_has_feature_extra_isize(sb) ||
		    ext2fs_has_feature_metadata_csum(sb) || ext2fs_has_feature_gdt_csum(sb) ||
		    ext2fs_has_feature_inline_data(sb);
	if (ext4)
		out->type = XP_FS_EXT4;
	else if (ext2fs_has_feature_journal(sb))
		out->type = XP_FS_EXT3;
	else
		out->type = XP_FS_EXT2;

	uuid_unparse_lower(sb->s_uuid, out->uuid);
	size_t ll = strnlen((const char *)sb->s_volume_name, sizeof(sb->s_volume_name));
	if (ll > sizeof(out->label) - 1)
		ll = sizeof(out->label) - 1;
	memcpy(out->label, sb->s_volume_name, ll);
	out->label[ll] = '\0';

	out->block_size = EXT2_BLOCK_SIZE(sb);
	out->blocks_total = ext2fs_blocks_count(sb);
	out->inodes_total = sb->s_inodes_count;
	/* the group descriptors are authoritative; the superblock's totals may lag */
	uint64_t fb = 0, fi = 0;
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		fb += ext2fs_bg_free_blocks_count(fs, g);
		fi += ext2fs_bg_free_inodes_count(fs, g);
	}
	out->blocks_free = fb;
	out->inodes_free = fi;
	return 0;
}

void xp_fs_entry_release(struct xp_fs_entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->link);
	e->name = NULL;
	e->link = NULL;
}

void xp_fs_list_free(struct xp_fs_entry *entries, size_t n)
{
	if (!entries)
		return;
	for (size_t i = 0; i < n; i++)
		xp_fs_entry_release(&entries[i]);
	free(entries);
}

static int read_symlink(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *inode, char **out)
{
	uint64_t size = EXT2_I_SIZE(inode);
	if (size > MAX_SYMLINK)
		return -EBADMSG;
	char *buf = calloc(1, (size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	errcode_t e = 0;
	if (ext2fs_is_fast_symlink(inode)) {
		if (size >= sizeof(inode->i_block)) {
			free(buf);
			return -EBADMSG;
		}
		memcpy(buf, inode->i_block, (size_t)size);
	} else if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		size_t isz = 0;
		e = ext2fs_inline_data_size(fs, ino, &isz);
		if (!e && isz > size) {
			char *nb = realloc(buf, isz + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		if (!e)
			e = ext2fs_inline_data_get(fs, ino, inode, buf, &isz);
		buf[size] = '\0';
	} else {
		ext2_file_t f;
		e = ext2fs_file_open2(fs, ino, inode, 0, &f);
		if (!e) {
			unsigned got = 0;
			e = ext2fs_file_read(f, buf, (unsigned)size, &got);
			ext2fs_file_close(f);
			buf[got] = '\0';
		}
	}
	if (e) {
		free(buf);
		return xp_ext2_read_errno(e);
	}
	*out = buf;
	return 0;
}

/* Fills e (but name) from inode ino. */
int xp__ext2_fill_entry(ext2_filsys fs, ext2_ino_t ino, struct xp_fs_entry *e)
{
	struct ext2_inode_large large;
	memset(&large, 0, sizeof(large));
	errcode_t err = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&large, sizeof(large));
	if (err)
		return xp_ext2_read_errno(err);
	struct ext2_inode *inode = (struct ext2_inode *)&large;

	e->ino = ino;
	e->mode = inode->i_mode;
	e->uid = inode_uid(*inode);
	e->gid = inode_gid(*inode);
	e->size = EXT2_I_SIZE(inode);
	e->nlink = inode->i_links_count;
	e->mtime = (int32_t)inode->i_mtime;
	/* the two epoch bits of the large inode extend times past 2038 */
	if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	    large.i_extra_isize >= offsetof(struct ext2_inode_large, i_mtime_extra) +
				       sizeof(large.i_mtime_extra) - EXT2_GOOD_OLD_INODE_SIZE)
		e->mtime += (int64_t)(large.i_mtime_extra & 3) << 32;
	if (LINUX_S_ISCHR(inode->i_mode) || LINUX_S_ISBLK(inode->i_mode)) {
		/* old encoding in i_block[0], new (huge) encoding in i_block[1] */
		uint32_t d = inode->i_block[0];
		if (d) {
			e->rdev_major = (d >> 8) & 0xff;
			e->rdev_minor = d & 0xff;
		} else {
			d = inode->i_block[1];
			e->rdev_major = (d & 0xfff00) >> 8;
			e->rdev_minor = (d & 0xff) | ((d >> 12) & 0xfff00);
		}
	}
	if (LINUX_S_ISLNK(inode->i_mode))
		return read_symlink(fs, ino, inode, &e->link);
	return 0;
}

static int lookup(struct xp_fs *x, const char *path, bool follow, ext2_ino_t *ino)
{
	if (!x || !path || path[0] != '/')
		return -EINVAL;
	/* ext2fs_namei looks up an empty name between two slashes: squeeze them, and
	 * drop a trailing one */
	size_t len = strlen(path);
	char *norm = malloc(len + 1);
	if (!norm)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (path[i] == '/' && o > 0 && norm[o - 1] == '/')
			continue;
		norm[o++] = path[i];
	}
	if (o > 1 && norm[o - 1] == '/')
		o--;
	norm[o] = '\0';
	errcode_t e = follow ? ext2fs_namei_follow(x->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, norm, ino)
			     : ext2fs_namei(x->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, norm, ino);
	free(norm);
	return xp_ext2_read_errno(e);
}

int xp_fs_stat(struct xp_fs *x, const char *path, struct xp_fs_entry *out)
{
	ext2_ino_t ino;
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	int r = lookup(x, path, false, &ino);
	if (r < 0)
		return r;
	/* the last component, without trailing slashes; "/" for the root */
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	out->name = start == len ? strdup("/") : strndup(path + start, len - start);
	if (!out->name)
		return -ENOMEM;
	r = xp__ext2_fill_entry(x->fs, ino, out);
	if (r < 0)
		xp_fs_entry_release(out);
	return r;
}

struct list_ctx {
	struct xp_fs_entry *v;
	size_t n, cap;
	bool strict;
	int err;
};

static int list_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
		   int blocksize, char *buf, void *priv)
{
	(void)dir;
	(void)entry;
	(void)offset;
	(void)blocksize;
	(void)buf;
	struct list_ctx *c = priv;
	int len = ext2fs_dirent_name_len(dirent);
	if ((len == 1 && dirent->name[0] == '.') ||
	    (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	/* a name no path can reach (empty, or with '/' or NUL in it) is corrupt metadata,
	 * as e2fsck says; listing it would print a different name than the disk holds */
	if (c->strict && (len == 0 || memchr(dirent->name, '/', (size_t)len) ||
			  memchr(dirent->name, '\0', (size_t)len))) {
		c->err = -EBADMSG;
		return DIRENT_ABORT;
	}
	if (xp_grow(&c->v, &c->cap, c->n, sizeof(*c->v), 32) < 0) {
		c->err = -ENOMEM;
		return DIRENT_ABORT;
	}
	struct xp_fs_entry *e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	e->name = strndup(dirent->name, (size_t)len);
	if (!e->name) {
		c->err = -ENOMEM;
		return DIRENT_ABORT;
	}
	e->ino = dirent->inode;
	c->n++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct xp_fs_entry *)a)->name, ((const struct xp_fs_entry *)b)->name);
}

int xp__ext2_dir_list(ext2_filsys fs, ext2_ino_t ino, bool strict, struct xp_fs_entry **v,
		      size_t *n, errcode_t *e)
{
	struct list_ctx c = {.strict = strict};
	*e = ext2fs_dir_iterate2(fs, ino, 0, NULL, list_cb, &c);
	if (c.err || *e) {
		xp_fs_list_free(c.v, c.n);
		*v = NULL;
		*n = 0;
		return c.err;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp_entry);
	*v = c.v;
	*n = c.n;
	return 0;
}

int xp_fs_list(struct xp_fs *x, const char *path, struct xp_fs_entry **entries, size_t *n)
{
	ext2_ino_t ino;
	if (!entries || !n)
		return -EINVAL;
	*entries = NULL;
	*n = 0;
	int r = lookup(x, path, true, &ino);
	if (r < 0)
		return r;
	errcode_t e = ext2fs_check_directory(x->fs, ino);
	if (e)
		return xp_ext2_read_errno(e);

	struct xp_fs_entry *v;
	size_t k;
	r = xp__ext2_dir_list(x->fs, ino, true, &v, &k, &e);
	if (r == 0)
		r = xp_ext2_read_errno(e);
	for (size_t i = 0; r == 0 && i < k; i++) {
		ext2_ino_t child = v[i].ino;
		if (child == 0 || child > x->fs->super->s_inodes_count) {
			r = -EBADMSG;
			break;
		}
		r = xp__ext2_fill_entry(x->fs, child, &v[i]);
	}
	if (r < 0) {
		xp_fs_list_free(v, k);
		return r;
	}
	*entries = v;
	*n = k;
	return 0;
}

/* The regular file at path, a final symlink followed: its inode. -EISDIR, -EINVAL. */
static int open_regular(struct xp_fs *x, const char *path, ext2_ino_t *ino,
			struct ext2_inode *inode)
{
	int r = lookup(x, path, true, ino);
	if (r < 0)
		return r;
	errcode_t e = ext2fs_read_inode(x->fs, *ino, inode);
	if (e)
		return xp_ext2_read_errno(e);
	if (LINUX_S_ISDIR(inode->i_mode))
		return -EISDIR;
	if (!LINUX_S_ISREG(inode->i_mode))
		return -EINVAL;
	return 0;
}

int xp_fs_read(struct xp_fs *x, const char *path,
	       int (*sink)(void *ud, const void *data, size_t len), void *ud)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	if (!sink)
		return -EINVAL;
	int r = open_regular(x, path, &ino, &inode);
	if (r < 0)
		return r;
	errcode_t e;

	ext2_file_t f;
	e = ext2fs_file_open2(x->fs, ino, &inode, 0, &f);
	if (e)
		return xp_ext2_read_errno(e);
	char *buf = malloc(READ_CHUNK);
	if (!buf) {
		ext2fs_file_close(f);
		return -ENOMEM;
	}
	/* never more than i_size: libext2fs 1.47.0 returns the whole inline data area
	 * (60 bytes) of a small inline_data file */
	uint64_t left = EXT2_I_SIZE(&inode);
	while (left > 0) {
		unsigned got = 0;
		e = ext2fs_file_read(f, buf, READ_CHUNK, &got);
		if (e) {
			r = xp_ext2_read_errno(e);
			break;
		}
		if (got == 0)
			break;
		if (got > left)
			got = (unsigned)left;
		left -= got;
		r = sink(ud, buf, got);
		if (r < 0)
			break;
		r = 0;
	}
	free(buf);
	ext2fs_file_close(f);
	return r;
}

/* ---- where a file's data lies ------------------------------------------------------- */

struct map_ctx {
	int (*map)(void *ud, uint64_t file_off, uint64_t dev_off, uint64_t len);
	void *ud;
	uint64_t bs, size, done; /* bytes of the file mapped so far */
	uint64_t run_file, run_dev, run_len; /* the run being gathered */
	uint64_t fs_bytes;
	int err;
};

static int map_flush(struct map_ctx *c)
{
	if (c->run_len == 0)
		return 0;
	int r = c->map(c->ud, c->run_file, c->run_dev, c->run_len);
	c->done = c->run_file + c->run_len;
	c->run_len = 0;
	return r;
}

/* Adds a run of the file (dev UINT64_MAX: zeros), clipped to the file's size. */
static int map_add(struct map_ctx *c, uint64_t foff, uint64_t dev, uint64_t len)
{
	if (foff >= c->size || len == 0)
		return 0;
	if (len > c->size - foff)
		len = c->size - foff;
	if (dev != UINT64_MAX && (dev >= c->fs_bytes || len > c->fs_bytes - dev))
		return -EBADMSG;
	if (foff < c->done + c->run_len)
		return -EBADMSG; /* runs out of order or overlapping */
	if (foff > c->done + c->run_len) { /* a hole before it */
		int r = map_add(c, c->done + c->run_len, UINT64_MAX, foff - c->done - c->run_len);
		if (r < 0)
			return r;
	}
	if (c->run_len && ((c->run_dev == UINT64_MAX && dev == UINT64_MAX) ||
			   (c->run_dev != UINT64_MAX && dev == c->run_dev + c->run_len))) {
		c->run_len += len;
		return 0;
	}
	int r = map_flush(c);
	if (r < 0)
		return r;
	c->run_file = foff;
	c->run_dev = dev;
	c->run_len = len;
	return 0;
}

static int map_block_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
			int ref_offset, void *priv)
{
	(void)fs;
	(void)ref_blk;
	(void)ref_offset;
	struct map_ctx *c = priv;
	if (blockcnt < 0)
		return 0;
	int r = map_add(c, (uint64_t)blockcnt * c->bs, *blocknr * c->bs, c->bs);
	if (r < 0) {
		c->err = r;
		return BLOCK_ABORT;
	}
	return 0;
}

int xp_fs_map(struct xp_fs *x, const char *path,
	      int (*map)(void *ud, uint64_t file_off, uint64_t dev_off, uint64_t len), void *ud,
	      uint64_t *size)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	if (!map)
		return -EINVAL;
	int r = open_regular(x, path, &ino, &inode);
	if (r < 0)
		return r;
	errcode_t e;
	if (inode.i_flags & EXT4_INLINE_DATA_FL)
		return -ENOTSUP;
	struct map_ctx c = {.map = map, .ud = ud, .bs = EXT2_BLOCK_SIZE(x->fs->super),
			    .size = EXT2_I_SIZE(&inode)};
	c.fs_bytes = ext2fs_blocks_count(x->fs->super) * c.bs;
	if (size)
		*size = c.size;
	if (inode.i_flags & EXT4_EXTENTS_FL) {
		ext2_extent_handle_t h;
		e = ext2fs_extent_open2(x->fs, ino, &inode, &h);
		if (e)
			return xp_ext2_read_errno(e);
		struct ext2fs_extent ex;
		int op = EXT2_EXTENT_ROOT;
		for (;;) {
			e = ext2fs_extent_get(h, op, &ex);
			op = EXT2_EXTENT_NEXT_LEAF;
			if (e == EXT2_ET_EXTENT_NO_NEXT || e == EXT2_ET_NO_CURRENT_NODE) {
				e = 0;
				break;
			}
			if (e)
				break;
			if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF))
				continue;
			bool unwritten = ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT;
			r = map_add(&c, ex.e_lblk * c.bs, unwritten ? UINT64_MAX : ex.e_pblk * c.bs,
				    (uint64_t)ex.e_len * c.bs);
			if (r < 0)
				break;
		}
		ext2fs_extent_free(h);
		if (e)
			return xp_ext2_read_errno(e);
	} else {
		e = ext2fs_block_iterate3(x->fs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
					  NULL, map_block_cb, &c);
		if (e)
			return xp_ext2_read_errno(e);
		r = c.err;
	}
	if (r < 0)
		return r;
	if (c.done + c.run_len < c.size) { /* a hole at the end */
		r = map_add(&c, c.done + c.run_len, UINT64_MAX, c.size - c.done - c.run_len);
		if (r < 0)
			return r;
	}
	return map_flush(&c);
}
