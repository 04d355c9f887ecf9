/*
 * extfs-build.c - xp_fs_build(): a tar stream written straight into a new ext2/3/4
 * filesystem with libext2fs. No extraction, no mount, no root. xp_fs_make() is the same
 * without an archive: an empty filesystem (a guest's data disk).
 *
 * How: the filesystem is laid out like mke2fs does (extfs-create.c), then the
 * archive's entries arrive from a reader thread (extfs-stream.c). Inodes are written
 * as entries arrive; file data is written in large contiguous runs (ext2fs_new_range +
 * one pwrite) and mapped with whole extents, zero blocks and sparse gaps stay holes.
 * Directory contents are kept in memory (extfs-paths.c) and written once at the end,
 * each directory in one contiguous run: that makes the order of entries irrelevant
 * (parents may come after children, duplicates replace in place) and costs
 * O(entries) instead of ext2fs_link()'s scan per name.
 *
 * Nothing is fsync'ed: the caller decides about durability of its output.
 *
 * Not here: making and closing the filesystem (extfs-create.c), extended attributes
 * and ACLs (extfs-xattr.c), the size estimate (extfs-estimate.c), the reader thread
 * (extfs-stream.c), partitions and containers (partition.c, blockdev*.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#include <ext2fs/ext3_extents.h>

#include "image/extfs-build.h"
#include "image/extfs-internal.h"
#include "xenprov/util.h"

#define LINK_MAX_EXT 65000 /* EXT4_LINK_MAX */


int xp_fsb_fail(struct xp_fsb *c, int err, const char *code, const char *text, const char *fmt, ...)
{
	if (!c->diags)
		return err;
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	xp_diags_add(c->diags, XP_SEV_ERROR, c->archive, 0, 0, code, text, NULL, "%s",
		     msg ? msg : "out of memory");
	free(msg);
	return err;
}

/* A write to the output file failed. That is the host's trouble, not the guest
 * filesystem's: a full host disk gives ENOSPC as a full guest filesystem does, and
 * must not be reported as "the filesystem is full" with a size that would not help. */
int xp_fsb_host_write_failed(struct xp_fsb *c, int e)
{
	if (c->host_err)
		return -c->host_err;
	c->host_err = e;
	if (c->diags)
		xp_diags_add(c->diags, XP_SEV_ERROR, c->path, 0, 0, "write", NULL,
			     e == ENOSPC || e == EDQUOT ? XP_HOST_FULL_HINT : NULL,
			     "cannot write: %s", strerror(e));
	return -e;
}

/* A libext2fs failure while applying the current entry. -ENOSPC is not reported here:
 * the caller switches to counting and reports the size needed at the end. */
int xp_fsb_ext2_fail(struct xp_fsb *c, errcode_t err, const char *what)
{
	if (c->host_err)
		return -c->host_err; /* reported where the write failed */
	int e = xp_ext2_errno(err);
	if (e == -ENOSPC)
		return e;
	return xp_fsb_fail(c, e, "ext2fs", c->entry_name, "'%s': %s: %s",
			   c->entry_name ? c->entry_name : "", what, xp_ext2_strerror(err));
}

static int sync_io(struct xp_fsb *c);

/* ---- inodes ---------------------------------------------------------------------- */

static void set_time(uint32_t *sec, uint32_t *extra, int64_t s, long ns)
{
	/* ext4 extra timestamp: nanoseconds << 2 | epoch bits (Documentation/filesystems/
	 * ext4/inodes.rst, "Inode Timestamps") */
	*sec = (uint32_t)s;
	if (ns < 0 || ns > 999999999)
		ns = 0;
	*extra = ((uint32_t)ns << 2) | (uint32_t)(((s - (int32_t)s) >> 32) & 3);
}

static void set_meta(struct xp_fsb *c, union xp_big_inode *in, struct archive_entry *e)
{
	struct ext2_inode_large *l = &in->l;
	unsigned perm = archive_entry_perm(e) & 07777;
	int mask = xp_entry_acl_mask(e);
	if (mask >= 0)
		perm = (perm & ~070u) | ((unsigned)mask << 3);
	l->i_mode = (uint16_t)((l->i_mode & LINUX_S_IFMT) | perm);
	uint32_t uid = (uint32_t)archive_entry_uid(e), gid = (uint32_t)archive_entry_gid(e);
	l->i_uid = (uint16_t)uid;
	ext2fs_set_i_uid_high(*l, uid >> 16);
	l->i_gid = (uint16_t)gid;
	ext2fs_set_i_gid_high(*l, gid >> 16);
	int64_t ms = archive_entry_mtime(e);
	long mn = archive_entry_mtime_nsec(e);
	if (!archive_entry_mtime_is_set(e)) {
		ms = c->now;
		mn = 0;
	}
	int64_t as = ms, cs = ms, bs = ms;
	long an = mn, cn = mn, bn = mn;
	if (archive_entry_atime_is_set(e)) {
		as = archive_entry_atime(e);
		an = archive_entry_atime_nsec(e);
	}
	if (archive_entry_ctime_is_set(e)) {
		cs = archive_entry_ctime(e);
		cn = archive_entry_ctime_nsec(e);
	}
	if (archive_entry_birthtime_is_set(e)) {
		bs = archive_entry_birthtime(e);
		bn = archive_entry_birthtime_nsec(e);
	}
	set_time(&l->i_mtime, &l->i_mtime_extra, ms, mn);
	set_time(&l->i_atime, &l->i_atime_extra, as, an);
	set_time(&l->i_ctime, &l->i_ctime_extra, cs, cn);
	set_time(&l->i_crtime, &l->i_crtime_extra, bs, bn);
}

void xp_fsb_init_inode(struct xp_fsb *c, union xp_big_inode *in, uint32_t mode)
{
	memset(in, 0, sizeof(*in));
	in->l.i_mode = (uint16_t)mode;
	in->l.i_links_count = 1;
	in->l.i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	uint32_t t = c->now;
	in->l.i_atime = in->l.i_ctime = in->l.i_mtime = in->l.i_crtime = t;
	bool mapped = LINUX_S_ISREG(mode) || LINUX_S_ISDIR(mode);
	if (c->extents && mapped) {
		/* an empty extent tree in i_block (ext4 disk layout, "The Extent Tree") */
		struct ext3_extent_header *eh = (struct ext3_extent_header *)in->l.i_block;
		eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
		eh->eh_max = ext2fs_cpu_to_le16((sizeof(in->l.i_block) - sizeof(*eh)) /
						sizeof(struct ext3_extent));
		in->l.i_flags |= EXT4_EXTENTS_FL;
	}
}

errcode_t xp_fsb_write_inode(struct xp_fsb *c, ext2_ino_t ino, union xp_big_inode *in)
{
	return ext2fs_write_inode_full(c->fs, ino, &in->i, sizeof(*in));
}

static errcode_t read_inode(struct xp_fsb *c, ext2_ino_t ino, union xp_big_inode *in)
{
	return ext2fs_read_inode_full(c->fs, ino, &in->i, sizeof(*in));
}

static int alloc_inode(struct xp_fsb *c, struct xp_node *parent, uint32_t mode, ext2_ino_t *ino)
{
	errcode_t err = ext2fs_new_inode(c->fs, parent->ino, (int)mode, NULL, ino);
	if (err)
		return xp_fsb_ext2_fail(c, err, "allocating an inode");
	ext2fs_inode_alloc_stats2(c->fs, *ino, +1, LINUX_S_ISDIR(mode));
	return 0;
}

/* Frees an inode that no path refers to any more, its blocks and xattr block. */
static int free_inode(struct xp_fsb *c, ext2_ino_t ino)
{
	union xp_big_inode in;
	errcode_t err = read_inode(c, ino, &in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "reading an inode");
	bool is_dir = LINUX_S_ISDIR(in.l.i_mode);
	if (ext2fs_inode_has_valid_blocks2(c->fs, &in.i)) {
		err = ext2fs_punch(c->fs, ino, &in.i, NULL, 0, ~0ULL);
		if (err)
			return xp_fsb_ext2_fail(c, err, "freeing blocks");
	}
	err = ext2fs_free_ext_attr(c->fs, ino, &in.l);
	if (err)
		return xp_fsb_ext2_fail(c, err, "freeing extended attributes");
	memset(&in, 0, sizeof(in));
	in.l.i_dtime = c->now;
	err = xp_fsb_write_inode(c, ino, &in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "writing an inode");
	ext2fs_inode_alloc_stats2(c->fs, ino, -1, is_dir);
	return sync_io(c);
}

/* Drops one link of a non-directory inode. */
static int unlink_inode(struct xp_fsb *c, ext2_ino_t ino)
{
	union xp_big_inode in;
	errcode_t err = read_inode(c, ino, &in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "reading an inode");
	if (in.l.i_links_count > 1) {
		in.l.i_links_count--;
		err = xp_fsb_write_inode(c, ino, &in);
		return err ? xp_fsb_ext2_fail(c, err, "writing an inode") : 0;
	}
	return free_inode(c, ino);
}

/* ---- block runs ---------------------------------------------------------------------- */

int xp_fsb_wfile_start(struct xp_fsb *c, ext2_ino_t ino, const union xp_big_inode *in)
{
	struct xp_wfile *f = &c->f;
	memset(f, 0, sizeof(*f));
	f->active = true;
	f->ino = ino;
	f->inode = *in;
	f->size = EXT2_I_SIZE(&in->i);
	f->nblocks = (f->size + XP_FS_BLOCK_SIZE - 1) / XP_FS_BLOCK_SIZE;
	if (f->inode.l.i_flags & EXT4_EXTENTS_FL) {
		errcode_t err = ext2fs_extent_open2(c->fs, ino, &f->inode.i, &f->eh);
		if (err) {
			f->active = false;
			return xp_fsb_ext2_fail(c, err, "opening the extent tree");
		}
	}
	return 0;
}

void xp_fsb_wfile_drop(struct xp_fsb *c)
{
	if (c->f.entry)
		c->entry_name = NULL;
	if (c->f.eh)
		ext2fs_extent_free(c->f.eh);
	if (c->f.entry) /* none for a file of the filesystem's own (the journal, an empty fs) */
		archive_entry_free(c->f.entry);
	memset(&c->f, 0, sizeof(c->f));
}

/* Maps lblk..lblk+len to pblk..pblk+len in the current file. */
static int map_run(struct xp_fsb *c, uint64_t lblk, blk64_t pblk, uint64_t len)
{
	struct xp_wfile *f = &c->f;
	errcode_t err;
	if (!f->eh) {
		for (uint64_t i = 0; i < len; i++) {
			blk64_t p = pblk + i;
			err = ext2fs_bmap2(c->fs, f->ino, &f->inode.i, c->block_buf,
					   BMAP_SET | BMAP_ALLOC, lblk + i, NULL, &p);
			if (err)
				return xp_fsb_ext2_fail(c, err, "mapping a block");
		}
		return xp_ext2_errno(ext2fs_iblk_add_blocks(c->fs, &f->inode.i, len));
	}
	while (len) {
		uint64_t n = len > EXT_INIT_MAX_LEN ? EXT_INIT_MAX_LEN : len;
		struct ext2fs_extent *l = &f->last;
		if (f->have_last && l->e_lblk + l->e_len == lblk && l->e_pblk + l->e_len == pblk &&
		    l->e_len + n <= EXT_INIT_MAX_LEN) {
			l->e_len += (uint32_t)n;
			err = ext2fs_extent_replace(f->eh, 0, l);
		} else {
			struct ext2fs_extent x = {
			    .e_pblk = pblk, .e_lblk = lblk, .e_len = (uint32_t)n, .e_flags = 0};
			err = ext2fs_extent_insert(f->eh,
						   f->have_last ? EXT2_EXTENT_INSERT_AFTER : 0, &x);
			if (!err)
				err = ext2fs_extent_fix_parents(f->eh);
			*l = x;
			f->have_last = true;
		}
		if (err)
			return xp_fsb_ext2_fail(c, err, "adding an extent");
		err = ext2fs_iblk_add_blocks(c->fs, &f->inode.i, n);
		if (err)
			return xp_fsb_ext2_fail(c, err, "counting blocks");
		lblk += n;
		pblk += n;
		len -= n;
	}
	return 0;
}

#define WBUF_BLOCKS 1024 /* 4 MiB */

static int pwrite_all(struct xp_fsb *c, const unsigned char *p, size_t len, uint64_t off)
{
	int r = xp_pwrite_full(c->fd, p, len, off);
	if (r < 0)
		return xp_fsb_host_write_failed(c, -r);
	/* start writing the data back now, while decompression goes on, so that the
	 * caller's final fsync finds little left to do (a hint: errors are ignored) */
	if (!c->opts->scratch)
		sync_file_range(c->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
	return 0;
}

static int flush_data(struct xp_fsb *c)
{
	if (!c->wlen)
		return 0;
	int r = pwrite_all(c, c->wbuf, c->wlen * XP_FS_BLOCK_SIZE,
			   c->offset + c->wstart * XP_FS_BLOCK_SIZE);
	c->wlen = 0;
	return r;
}

/* Writes n blocks at pblk, coalescing contiguous small writes. */
int xp_fsb_write_blocks(struct xp_fsb *c, blk64_t pblk, const unsigned char *data, size_t n)
{
	if (c->wlen && (pblk != c->wstart + c->wlen || c->wlen + n > WBUF_BLOCKS)) {
		int r = flush_data(c);
		if (r < 0)
			return r;
	}
	if (n >= WBUF_BLOCKS / 4 && !c->wlen)
		return pwrite_all(c, data, n * XP_FS_BLOCK_SIZE,
				  c->offset + pblk * XP_FS_BLOCK_SIZE);
	if (!c->wlen)
		c->wstart = pblk;
	memcpy(c->wbuf + c->wlen * XP_FS_BLOCK_SIZE, data, n * XP_FS_BLOCK_SIZE);
	c->wlen += n;
	return 0;
}

/* After blocks were freed (they may be reused for metadata, or hold dirty metadata in
 * libext2fs's cache that must not later land on reused data blocks): write out both. */
static int sync_io(struct xp_fsb *c)
{
	int r = flush_data(c);
	if (r < 0)
		return r;
	errcode_t err = io_channel_set_options(c->fs->io, "cache=off");
	if (!err)
		err = io_channel_set_options(c->fs->io, "cache=on");
	return err ? xp_fsb_ext2_fail(c, err, "flushing the block cache") : 0;
}

/* Allocates, writes and maps `len` blocks at lblk of the current file. data NULL: the
 * blocks are to read as zeros (nothing to write when the target was punched). */
int xp_fsb_write_run(struct xp_fsb *c, uint64_t lblk, const unsigned char *data, uint64_t len)
{
	while (len) {
		blk64_t pblk, plen;
		errcode_t err = ext2fs_new_range(c->fs, 0, c->goal, len, NULL, &pblk, &plen);
		if (err == EXT2_ET_BLOCK_ALLOC_FAIL &&
		    c->goal != c->fs->super->s_first_data_block) {
			c->goal = c->fs->super->s_first_data_block;
			continue;
		}
		if (err)
			return xp_fsb_ext2_fail(c, err, "allocating blocks");
		if (plen > len)
			plen = len;
		ext2fs_block_alloc_stats_range(c->fs, pblk, (unsigned)plen, +1);
		int r = 0;
		if (data) {
			r = xp_fsb_write_blocks(c, pblk, data, plen);
		} else if (!c->zeroed) {
			r = flush_data(c);
			for (uint64_t i = 0; i < plen && !r; i += WBUF_BLOCKS) {
				uint64_t n = plen - i < WBUF_BLOCKS ? plen - i : WBUF_BLOCKS;
				memset(c->wbuf, 0, n * XP_FS_BLOCK_SIZE);
				r = pwrite_all(c, c->wbuf, n * XP_FS_BLOCK_SIZE,
					       c->offset + (pblk + i) * XP_FS_BLOCK_SIZE);
			}
		}
		if (r < 0)
			return r;
		r = map_run(c, lblk, pblk, plen);
		if (r < 0)
			return r;
		c->goal = pblk + plen;
		lblk += plen;
		if (data)
			data += plen * XP_FS_BLOCK_SIZE;
		len -= plen;
	}
	return 0;
}

static void report_progress(struct xp_fsb *c, bool force)
{
	if (!c->progress)
		return;
	if (force || c->done_bytes - c->reported_bytes >= (1u << 20)) {
		c->reported_bytes = c->done_bytes;
		c->progress(c->ud, c->done_bytes, c->st.entries);
	}
}

/* A window of file data from the reader: writes its non-zero blocks. */
static int write_window(struct xp_fsb *c, const struct xp_msg *m)
{
	struct xp_wfile *f = &c->f;
	if (m->lblk < f->next_lblk)
		return xp_fsb_fail(c, -EBADMSG, "archive", c->entry_name,
				   "'%s': file data out of order", c->entry_name);
	uint64_t n = m->nblocks;
	if (m->lblk >= f->nblocks)
		return 0;
	if (n > f->nblocks - m->lblk)
		n = f->nblocks - m->lblk;
	f->next_lblk = m->lblk + n;
	uint64_t bytes = n * XP_FS_BLOCK_SIZE;
	if (m->lblk * XP_FS_BLOCK_SIZE + bytes > f->size)
		bytes = f->size - m->lblk * XP_FS_BLOCK_SIZE;
	c->done_bytes += bytes;
	uint64_t i = 0;
	while (i < n) {
		while (i < n && xp_all_zero(m->buf + i * XP_FS_BLOCK_SIZE, XP_FS_BLOCK_SIZE))
			i++;
		uint64_t j = i;
		while (j < n && !xp_all_zero(m->buf + j * XP_FS_BLOCK_SIZE, XP_FS_BLOCK_SIZE))
			j++;
		if (j > i) {
			int r =
			    xp_fsb_write_run(c, m->lblk + i, m->buf + i * XP_FS_BLOCK_SIZE, j - i);
			if (r < 0)
				return r;
		}
		i = j;
	}
	report_progress(c, false);
	return 0;
}

/* Completes the current file: its inode, then its xattrs. */
int xp_fsb_wfile_finish(struct xp_fsb *c)
{
	struct xp_wfile *f = &c->f;
	if (!f->active)
		return 0;
	int r = 0;
	errcode_t err = xp_fsb_write_inode(c, f->ino, &f->inode);
	if (err)
		r = xp_fsb_ext2_fail(c, err, "writing an inode");
	if (!r && f->entry)
		r = xp_fsb_apply_xattrs(c, f->ino, f->entry, false);
	xp_fsb_wfile_drop(c);
	return r;
}

/* ---- entries ------------------------------------------------------------------------- */

int xp_fsb_make_dir_inode(struct xp_fsb *c, struct xp_node *parent, struct archive_entry *e,
			  uint32_t perm, ext2_ino_t *ino)
{
	uint32_t mode = LINUX_S_IFDIR | perm;
	int r = alloc_inode(c, parent, mode, ino);
	if (r < 0)
		return r;
	union xp_big_inode in;
	xp_fsb_init_inode(c, &in, mode);
	in.l.i_links_count = 2;
	if (e)
		set_meta(c, &in, e);
	errcode_t err = xp_fsb_write_inode(c, *ino, &in);
	return err ? xp_fsb_ext2_fail(c, err, "writing an inode") : 0;
}

/* The directory node for path[0..len), created with its parents if missing. */
static int get_dir(struct xp_fsb *c, const char *path, size_t len, struct archive_entry *e,
		   struct xp_node **ret)
{
	if (len == 0) {
		*ret = c->root;
		return 0;
	}
	struct xp_node *n = xp_tree_get(&c->tree, path, len);
	if (n) {
		if (!n->is_dir)
			return xp_fsb_fail(c, -ENOTDIR, "not-a-directory", c->entry_name,
					   "'%s': '%.*s' is not a directory in the archive",
					   c->entry_name, (int)len, path);
		*ret = n;
		return 0;
	}
	const char *slash = memrchr(path, '/', len);
	struct xp_node *parent;
	int r = get_dir(c, path, slash ? (size_t)(slash - path) : 0, e, &parent);
	if (r < 0)
		return r;
	ext2_ino_t ino;
	/* an implied directory: root-owned 0755, the child's times until its own entry */
	r = xp_fsb_make_dir_inode(c, parent, NULL, 0755, &ino);
	if (r < 0)
		return r;
	r = xp_tree_add(&c->tree, path, len, parent, &n);
	if (r < 0)
		return r;
	n->ino = ino;
	n->mode = LINUX_S_IFDIR | 0755;
	n->is_dir = true;
	xp_tree_link(parent, n);
	c->st.dirs++;
	*ret = n;
	return 0;
}

static int update_dir(struct xp_fsb *c, struct xp_node *n, struct archive_entry *e)
{
	union xp_big_inode in;
	errcode_t err = read_inode(c, n->ino, &in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "reading an inode");
	set_meta(c, &in, e);
	err = xp_fsb_write_inode(c, n->ino, &in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "writing an inode");
	n->mode = in.l.i_mode;
	bool replace = n->explicit_dir || n == c->root;
	int r = xp_fsb_apply_xattrs(c, n->ino, e, replace);
	n->explicit_dir = true;
	if (r == 0 && replace)
		r = sync_io(c); /* the old xattr block may have been freed */
	return r;
}

static int add_hardlink(struct xp_fsb *c, struct xp_node *parent, const char *path,
			struct xp_node *existing, const char *target_raw)
{
	char *target = strdup(target_raw);
	if (!target)
		return -ENOMEM;
	int r = xp_path_normalize(target);
	struct xp_node *t = r < 0 ? NULL : xp_tree_get(&c->tree, target, strlen(target));
	free(target);
	if (r == -EPERM)
		return xp_fsb_fail(
		    c, -EPERM, "unsafe-path", c->entry_name,
		    "'%s': hard link target '%s' is absolute or climbs out with '..'",
		    c->entry_name, target_raw);
	if (!t || r < 0)
		return xp_fsb_fail(c, -ENOENT, "missing-link-target", c->entry_name,
				   "'%s': hard link to '%s', which is not in the archive before it",
				   c->entry_name, target_raw);
	if (t->is_dir)
		return xp_fsb_fail(c, -EPERM, "link-to-directory", c->entry_name,
				   "'%s': hard link to the directory '%s'", c->entry_name,
				   target_raw);
	if (t == existing)
		return 0;
	union xp_big_inode in;
	errcode_t err = read_inode(c, t->ino, &in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "reading an inode");
	if (in.l.i_links_count >= LINK_MAX_EXT)
		return xp_fsb_fail(c, -EMLINK, "too-many-links", c->entry_name,
				   "'%s': too many links to '%s'", c->entry_name, target_raw);
	in.l.i_links_count++;
	err = xp_fsb_write_inode(c, t->ino, &in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "writing an inode");
	struct xp_node *n = existing;
	if (n) {
		if (n->is_dir)
			return xp_fsb_fail(c, -EEXIST, "replaces-directory", c->entry_name,
					   "'%s': a hard link replaces a directory", c->entry_name);
		r = unlink_inode(c, n->ino);
		if (r < 0)
			return r;
	} else {
		r = xp_tree_add(&c->tree, path, strlen(path), parent, &n);
		if (r < 0)
			return r;
		xp_tree_link(parent, n);
	}
	n->ino = t->ino;
	n->mode = t->mode;
	n->is_dir = false;
	c->st.hardlinks++;
	return 0;
}

static int make_symlink(struct xp_fsb *c, ext2_ino_t ino, union xp_big_inode *in,
			const char *target)
{
	size_t len = strlen(target);
	if (len < sizeof(in->l.i_block)) {
		/* fast symlink: the target lives in i_block */
		memcpy(in->l.i_block, target, len);
		in->l.i_size = (uint32_t)len;
		errcode_t err = xp_fsb_write_inode(c, ino, in);
		return err ? xp_fsb_ext2_fail(c, err, "writing an inode") : 0;
	}
	if (c->extents) {
		struct ext3_extent_header *eh = (struct ext3_extent_header *)in->l.i_block;
		eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
		eh->eh_max = ext2fs_cpu_to_le16((sizeof(in->l.i_block) - sizeof(*eh)) /
						sizeof(struct ext3_extent));
		in->l.i_flags |= EXT4_EXTENTS_FL;
	}
	in->l.i_size = (uint32_t)len;
	errcode_t err = xp_fsb_write_inode(c, ino, in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "writing an inode");
	int r = xp_fsb_wfile_start(c, ino, in);
	if (r < 0)
		return r;
	unsigned char blk[XP_FS_BLOCK_SIZE] = {0};
	memcpy(blk, target, len);
	r = xp_fsb_write_run(c, 0, blk, 1);
	if (r < 0) {
		xp_fsb_wfile_drop(c);
		return r;
	}
	return xp_fsb_wfile_finish(c);
}

static int apply_entry(struct xp_fsb *c, struct archive_entry *e)
{
	const char *raw = xp_entry_path(e);
	if (!raw || !*raw)
		return xp_fsb_fail(c, -EBADMSG, "archive", NULL, "an archive entry has no name");
	c->entry_name = raw;
	char *path = strdup(raw);
	if (!path)
		return -ENOMEM;
	int r = xp_path_normalize(path);
	if (r == -EPERM) {
		r = xp_fsb_fail(c, -EPERM, "unsafe-path", raw,
				"'%s': absolute path or one climbing out with '..'", raw);
		goto out;
	}
	if (r < 0) {
		r = xp_fsb_fail(c, r, "name-too-long", raw, "'%s': a name is longer than 255 bytes",
				raw);
		goto out;
	}
	size_t len = strlen(path);
	const char *hardlink = xp_entry_hardlink(e);
	unsigned type = archive_entry_filetype(e);
	if (len == 0) {
		if (hardlink || type != AE_IFDIR) {
			r = xp_fsb_fail(c, -EPERM, "root-not-directory", raw,
					"'%s': the root can only be a directory", raw);
			goto out;
		}
		r = update_dir(c, c->root, e);
		goto out;
	}
	const char *slash = strrchr(path, '/');
	struct xp_node *parent;
	r = get_dir(c, path, slash ? (size_t)(slash - path) : 0, e, &parent);
	if (r < 0)
		goto out;
	struct xp_node *old = xp_tree_get(&c->tree, path, len);
	if (hardlink) {
		r = add_hardlink(c, parent, path, old, hardlink);
		goto out;
	}
	uint32_t mode;
	switch (type) {
	case AE_IFREG:
		mode = LINUX_S_IFREG;
		break;
	case AE_IFDIR:
		mode = LINUX_S_IFDIR;
		break;
	case AE_IFLNK:
		mode = LINUX_S_IFLNK;
		break;
	case AE_IFCHR:
		mode = LINUX_S_IFCHR;
		break;
	case AE_IFBLK:
		mode = LINUX_S_IFBLK;
		break;
	case AE_IFIFO:
		mode = LINUX_S_IFIFO;
		break;
	case AE_IFSOCK:
		mode = LINUX_S_IFSOCK;
		break;
	default:
		r = xp_fsb_fail(c, -EBADMSG, "entry-type", raw, "'%s': unsupported entry type 0%o",
				raw, type);
		goto out;
	}
	if (old && old->is_dir && mode == LINUX_S_IFDIR) {
		r = update_dir(c, old, e);
		goto out;
	}
	const char *target = NULL;
	if (mode == LINUX_S_IFLNK) {
		target = xp_entry_symlink(e);
		if (!target || !*target) {
			r = xp_fsb_fail(c, -EBADMSG, "symlink", raw,
					"'%s': symlink without a target", raw);
			goto out;
		}
		if (strlen(target) >= XP_FS_BLOCK_SIZE) {
			r = xp_fsb_fail(c, -ENAMETOOLONG, "symlink", raw,
					"'%s': symlink target longer than %u bytes", raw,
					XP_FS_BLOCK_SIZE - 1);
			goto out;
		}
	}
	/* a later entry replaces an earlier one at the same path */
	if (old) {
		if (old->is_dir) {
			if (old->first_child) {
				r = xp_fsb_fail(c, -EEXIST, "replaces-directory", raw,
						"'%s': replaces a directory that is not empty",
						raw);
				goto out;
			}
			r = free_inode(c, old->ino);
			if (r == 0)
				c->st.dirs--;
		} else {
			r = unlink_inode(c, old->ino);
		}
		if (r < 0)
			goto out;
	}
	ext2_ino_t ino;
	if (mode == LINUX_S_IFDIR) {
		r = xp_fsb_make_dir_inode(c, parent, e, archive_entry_perm(e) & 07777, &ino);
		if (r < 0)
			goto out;
		c->st.dirs++;
	} else {
		r = alloc_inode(c, parent, mode, &ino);
		if (r < 0)
			goto out;
	}
	struct xp_node *n = old;
	if (!n) {
		r = xp_tree_add(&c->tree, path, len, parent, &n);
		if (r < 0)
			goto out;
		xp_tree_link(parent, n);
	}
	n->ino = ino;
	n->mode = mode | (archive_entry_perm(e) & 07777);
	n->is_dir = mode == LINUX_S_IFDIR;
	n->explicit_dir = n->is_dir;
	if (n->is_dir) {
		r = xp_fsb_apply_xattrs(c, ino, e, false);
		goto out;
	}
	union xp_big_inode in;
	xp_fsb_init_inode(c, &in, mode);
	set_meta(c, &in, e);
	errcode_t err = 0;
	switch (mode) {
	case LINUX_S_IFREG: {
		int64_t size = archive_entry_size(e);
		if (size < 0)
			size = 0;
		err = ext2fs_inode_size_set(c->fs, &in.i, (uint64_t)size);
		if (!err)
			err = xp_fsb_write_inode(c, ino, &in);
		if (err) {
			r = xp_fsb_ext2_fail(c, err, "writing an inode");
			goto out;
		}
		r = xp_fsb_wfile_start(c, ino, &in);
		if (r < 0)
			goto out;
		c->f.entry = archive_entry_clone(e);
		if (!c->f.entry)
			r = -ENOMEM;
		else
			c->entry_name = xp_entry_path(c->f.entry); /* outlives e */
		c->st.files++;
		c->st.content_bytes += (uint64_t)size;
		goto out; /* data and xattrs follow */
	}
	case LINUX_S_IFLNK:
		r = make_symlink(c, ino, &in, target);
		c->st.symlinks++;
		break;
	case LINUX_S_IFCHR:
	case LINUX_S_IFBLK: {
		/* old 8:8 encoding in i_block[0] when it fits, else the new one in i_block[1]
		 * (the kernel's ext4_write_inode / old_valid_dev) */
		uint32_t ma = (uint32_t)archive_entry_rdevmajor(e);
		uint32_t mi = (uint32_t)archive_entry_rdevminor(e);
		if (ma < 256 && mi < 256)
			in.l.i_block[0] = ext2fs_cpu_to_le32((ma << 8) | mi);
		else
			in.l.i_block[1] = ext2fs_cpu_to_le32((mi & 0xff) | ((ma & 0xfff) << 8) |
							     ((mi & ~0xffu) << 12));
		err = xp_fsb_write_inode(c, ino, &in);
		c->st.devices++;
		break;
	}
	default: /* FIFO, socket */
		err = xp_fsb_write_inode(c, ino, &in);
		if (mode == LINUX_S_IFIFO)
			c->st.fifos++;
		break;
	}
	if (err) {
		r = xp_fsb_ext2_fail(c, err, "writing an inode");
		goto out;
	}
	if (r == 0)
		r = xp_fsb_apply_xattrs(c, ino, e, false);
out:
	free(path);
	return r;
}

/* ---- directories, at the end ----------------------------------------------------------- */

struct dirbuf {
	unsigned char *buf;
	size_t blocks, cap;
	size_t pos; /* offset in the last block */
	struct ext2_dir_entry *prev;
	unsigned limit; /* usable bytes per block (block minus checksum tail) */
};

static int dir_new_block(struct dirbuf *d)
{
	if (d->blocks == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 4;
		unsigned char *nb = realloc(d->buf, ncap * XP_FS_BLOCK_SIZE);
		if (!nb)
			return -ENOMEM;
		d->buf = nb;
		d->cap = ncap;
	}
	memset(d->buf + d->blocks * XP_FS_BLOCK_SIZE, 0, XP_FS_BLOCK_SIZE);
	d->blocks++;
	d->pos = 0;
	d->prev = NULL;
	return 0;
}

static void dir_close_block(struct xp_fsb *c, struct dirbuf *d)
{
	unsigned char *b = d->buf + (d->blocks - 1) * XP_FS_BLOCK_SIZE;
	if (d->prev) {
		unsigned start = (unsigned)((unsigned char *)d->prev - b);
		ext2fs_set_rec_len(c->fs, d->limit - start, d->prev);
	} else {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *)b;
		de->inode = 0;
		ext2fs_set_rec_len(c->fs, d->limit, de);
	}
	if (c->csum)
		ext2fs_initialize_dirent_tail(
		    c->fs, (struct ext2_dir_entry_tail *)(b + XP_FS_BLOCK_SIZE - 12));
}

static int dir_add(struct xp_fsb *c, struct dirbuf *d, ext2_ino_t ino, const char *name,
		   uint8_t ftype)
{
	size_t nlen = strlen(name);
	unsigned rec = (unsigned)((8 + nlen + 3) & ~(size_t)3);
	if (d->blocks == 0 || d->pos + rec > d->limit) {
		if (d->blocks)
			dir_close_block(c, d);
		int r = dir_new_block(d);
		if (r < 0)
			return r;
	}
	unsigned char *b = d->buf + (d->blocks - 1) * XP_FS_BLOCK_SIZE;
	struct ext2_dir_entry *de = (struct ext2_dir_entry *)(b + d->pos);
	de->inode = ino;
	ext2fs_set_rec_len(c->fs, rec, de);
	ext2fs_dirent_set_name_len(de, (int)nlen);
	ext2fs_dirent_set_file_type(de, ftype);
	memcpy(de->name, name, nlen);
	d->prev = de;
	d->pos += rec;
	return 0;
}

static int write_dir(struct xp_fsb *c, struct xp_node *n)
{
	struct dirbuf d = {.limit = XP_FS_BLOCK_SIZE - (c->csum ? 12 : 0)};
	uint32_t subdirs = 0;
	int r = dir_add(c, &d, n->ino, ".", EXT2_FT_DIR);
	if (!r)
		r = dir_add(c, &d, n->parent ? n->parent->ino : n->ino, "..", EXT2_FT_DIR);
	for (struct xp_node *ch = n->first_child; ch && !r; ch = ch->next_sibling) {
		r = dir_add(c, &d, ch->ino, ch->name, xp_ext2_dirent_type(ch->mode));
		subdirs += ch->is_dir;
	}
	if (!r)
		dir_close_block(c, &d);
	/* lost+found gets 16 KiB, as mke2fs makes it, for e2fsck to use without allocating */
	while (!r && n == c->lost_found && d.blocks < 4) {
		r = dir_new_block(&d);
		if (!r)
			dir_close_block(c, &d);
	}
	if (r < 0) {
		free(d.buf);
		return r;
	}
	for (size_t i = 0; c->csum && i < d.blocks && !r; i++) {
		errcode_t err = ext2fs_dir_block_csum_set(
		    c->fs, n->ino, (struct ext2_dir_entry *)(d.buf + i * XP_FS_BLOCK_SIZE));
		if (err)
			r = xp_fsb_ext2_fail(c, err, "checksumming a directory block");
	}
	union xp_big_inode in;
	errcode_t err = r ? 0 : read_inode(c, n->ino, &in);
	if (err)
		r = xp_fsb_ext2_fail(c, err, "reading an inode");
	if (!r) {
		uint32_t links = 2 + subdirs;
		if (links >= LINK_MAX_EXT) {
			if (!ext2fs_has_feature_dir_nlink(c->fs->super)) {
				free(d.buf);
				return xp_fsb_fail(c, -EMLINK, "too-many-links", n->path,
						   "'%s': more than %u subdirectories need ext4",
						   n->path, LINK_MAX_EXT - 2);
			}
			links = 1;
		}
		in.l.i_links_count = (uint16_t)links;
		err = ext2fs_inode_size_set(c->fs, &in.i, d.blocks * XP_FS_BLOCK_SIZE);
		if (err)
			r = xp_fsb_ext2_fail(c, err, "setting a directory size");
	}
	if (!r)
		r = xp_fsb_wfile_start(c, n->ino, &in);
	if (!r) {
		r = xp_fsb_write_run(c, 0, d.buf, d.blocks);
		if (!r)
			r = xp_fsb_wfile_finish(c);
		else
			xp_fsb_wfile_drop(c);
	}
	free(d.buf);
	return r;
}

static int write_dirs(struct xp_fsb *c)
{
	c->entry_name = NULL;
	for (size_t i = 0; i < c->tree.cap; i++) {
		struct xp_node *n = c->tree.slots[i];
		if (n && n->is_dir) {
			c->entry_name = n->path[0] ? n->path : ".";
			int r = write_dir(c, n);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int report_nospace(struct xp_fsb *c, uint64_t size)
{
	uint64_t need = 0;
	struct xp_diags tmp;
	xp_diags_init(&tmp);
	int r = xp_est_size(&c->est, c->opts, 0, &need, &tmp);
	if (r == 0)
		xp_fsb_fail(
		    c, -ENOSPC, "nospace", c->nospace_at,
		    "the filesystem of %llu MiB is full%s%s%s: the archive needs at least %llu MiB",
		    (unsigned long long)(size >> 20), c->nospace_at ? " at '" : "",
		    c->nospace_at ? c->nospace_at : "", c->nospace_at ? "'" : "",
		    (unsigned long long)(need >> 20));
	else if (tmp.n)
		xp_fsb_fail(c, -ENOSPC, "nospace", c->nospace_at, "the filesystem is full: %s",
			    tmp.v[0].msg);
	else
		xp_fsb_fail(c, -ENOSPC, "nospace", c->nospace_at, "the filesystem is full");
	xp_diags_release(&tmp);
	return -ENOSPC;
}

static void note_nospace(struct xp_fsb *c)
{
	if (c->nospace)
		return;
	c->nospace = true;
	c->nospace_at = c->entry_name ? strdup(c->entry_name) : NULL;
	xp_fsb_wfile_drop(c);
}

/* Reads the stream to its end, applying entries. */
static int run(struct xp_fsb *c, struct xp_stream *s)
{
	int r = 0;
	for (;;) {
		struct xp_msg *m = xp_stream_next(s);
		switch (m->kind) {
		case XP_MSG_ENTRY:
			if (!c->nospace) {
				r = xp_fsb_wfile_finish(c);
				if (r == 0)
					r = apply_entry(c, m->entry);
				c->st.entries++;
				report_progress(c, false);
			}
			xp_est_add(&c->est, m->entry);
			break;
		case XP_MSG_DATA:
			if (!c->nospace && c->f.active)
				r = write_window(c, m);
			break;
		case XP_MSG_END:
			if (!c->nospace)
				r = xp_fsb_wfile_finish(c);
			if (r == 0 && c->st.entries == 0)
				r = xp_archive_no_entries(c->archive, m->no_data, m->compressed,
							  c->opts->allow_empty, c->diags);
			xp_stream_done(s, m);
			return r == -ENOSPC && !c->host_err ? (note_nospace(c), 0) : r;
		case XP_MSG_ERROR: {
			const char *p = m->path;
			r = xp_fsb_fail(c, m->err, "archive", p, "%s archive %s%s%s: %s",
					m->err == -EBADMSG ? "corrupt or truncated" : "cannot read",
					m->in_data ? "in '"
					: p	   ? "after '"
						   : "at the start",
					p ? p : "", p ? "'" : "", m->text ? m->text : "read error");
			xp_stream_done(s, m);
			return r;
		}
		}
		if (r == -ENOSPC && !c->host_err) {
			note_nospace(c);
			r = 0;
		}
		xp_stream_done(s, m);
		if (!c->f.active)
			c->entry_name = NULL; /* it pointed into the message's entry */
		if (r < 0)
			return r;
	}
}

/* xp_fs_build and xp_fs_make: the filesystem at offset of path, with the entries of
 * archive, or empty (archive NULL: the root and lost+found only). */
static int build(const char *path, uint64_t offset, uint64_t size, const char *archive,
		 const struct xp_fs_opts *opts, xp_progress_fn progress, void *ud,
		 struct xp_fs_stats *stats, struct xp_diags *diags)
{
	struct xp_fsb c = {.opts = opts,
			   .diags = diags,
			   .archive = opts->archive_name ? opts->archive_name : archive,
			   .path = opts->output_name ? opts->output_name : path,
			   .progress = progress,
			   .ud = ud,
			   .fd = -1,
			   .offset = offset};
	xp_tree_init(&c.tree);
	xp_est_init(&c.est);
	unsigned char uuid[16];
	struct xp_stream *s = NULL;
	size &= ~(uint64_t)(XP_FS_BLOCK_SIZE - 1);
	int r = xp_fsb_prepare(&c, path, size, uuid);
	if (r == 0 && archive)
		r = xp_stream_start(archive, &s, diags);
	if (r == 0) {
		c.block_buf = malloc(3 * XP_FS_BLOCK_SIZE);
		c.wbuf = malloc(WBUF_BLOCKS * XP_FS_BLOCK_SIZE);
		r = c.block_buf && c.wbuf ? 0 : -ENOMEM;
	}
	if (r == 0)
		r = xp_fsb_create(&c, path, size, uuid);
	if (r == 0 && s)
		r = run(&c, s);
	xp_stream_free(s);
	if (r == 0 && !c.nospace) {
		r = write_dirs(&c);
		if (r == -ENOSPC && !c.host_err) {
			note_nospace(&c);
			r = 0;
		}
	}
	if (r == 0 && c.nospace)
		r = report_nospace(&c, size);
	if (r == 0)
		r = flush_data(&c);
	if (r == 0)
		r = xp_fsb_close(&c, path, stats);
	if (r == 0 && archive)
		report_progress(&c, true);
	xp_fsb_wfile_drop(&c);
	if (c.fs)
		ext2fs_free(c.fs);
	free(c.block_buf);
	free(c.wbuf);
	if (c.fd >= 0)
		close(c.fd);
	free(c.nospace_at);
	xp_est_release(&c.est);
	xp_tree_release(&c.tree);
	return r;
}

int xp_fs_build(const char *path, uint64_t offset, uint64_t size, const char *archive,
		const struct xp_fs_opts *opts, xp_progress_fn progress, void *ud,
		struct xp_fs_stats *stats, struct xp_diags *diags)
{
	if (!path || !archive || !opts)
		return -EINVAL;
	return build(path, offset, size, archive, opts, progress, ud, stats, diags);
}

int xp_fs_make(const char *path, uint64_t offset, uint64_t size, const struct xp_fs_opts *opts,
	       struct xp_fs_stats *stats, struct xp_diags *diags)
{
	if (!path || !opts)
		return -EINVAL;
	return build(path, offset, size, NULL, opts, NULL, NULL, stats, diags);
}
