/*
 * extfs-create.c - the new filesystem of xp_fs_build(), made as mke2fs(8) makes it, and
 * closed when the entries are in: the options checked, the target opened and punched
 * to zeros, ext2fs_initialize at the byte offset with the features of ext2, ext3 or
 * ext4 (xp_fs_init), the superblock's parameters, group tables, root, lost+found, the
 * reserved, bad-block and resize inodes and the journal; at the end the group
 * descriptor checksums, the statistics and the final flush.
 *
 * The region offset..offset+size is first punched to zeros (a sparse file stays
 * sparse), so inode tables and the journal need no zeroing, as with mke2fs -E
 * assume_storage_prezeroed=1. Where punching is impossible they are zeroed.
 *
 * Nothing is fsync'ed: the caller decides about durability of its output.
 *
 * Not here: the entries, their data and directories (extfs-build.c), the inode count
 * and features of a size (xp_fs_auto_inodes, xp_fs_init: extfs-estimate.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <uuid/uuid.h>

#include <ext2fs/ext2_err.h>

#include "image/extfs-build.h"

/* libext2fs's io channel reports a failed write here (what it writes itself: the
 * superblock, group descriptors, bitmaps, inode tables, extent and xattr blocks; file
 * and directory data goes out by pwrite): the first error is kept for xp_fsb_close,
 * and the host's errno reported. */
static errcode_t on_write_error(io_channel channel, unsigned long block, int count,
				const void *data, size_t size, int actual, errcode_t error)
{
	(void)block;
	(void)count;
	(void)data;
	(void)size;
	(void)actual;
	struct xp_fsb *c = channel->app_data;
	if (c && !c->io_err)
		c->io_err = error ? error : EXT2_ET_SHORT_WRITE;
	if (c && c->fd >= 0) {
		/* unix_io passes write(2)'s errno; a short write is what a disk that
		 * filled up during the write gives */
		int e = error > 0 && error < 4096 ? (int)error : EIO;
		struct statvfs sv;
		if (!(error > 0 && error < 4096) && fstatvfs(c->fd, &sv) == 0 && sv.f_bavail == 0)
			e = ENOSPC;
		xp_fsb_host_write_failed(c, e);
	}
	return error ? error : EXT2_ET_SHORT_WRITE;
}

/* Zeroes the filesystem's bytes by punching a hole (the file stays sparse). false when
 * the file or its filesystem cannot punch: then the tables are zeroed by writing. */
static int prepare_target(struct xp_fsb *c, const char *path, uint64_t offset, uint64_t size,
			  bool *zeroed)
{
	*zeroed = false;
	int fd = c->fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return xp_fsb_fail(c, -errno, "open", path, "cannot open '%s': %s", path,
				   strerror(errno));
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size < offset + size)
			r = xp_fsb_fail(c, -EINVAL, "size", path,
					"'%s' is %llu bytes, smaller than offset + size (%llu)",
					path, (unsigned long long)st.st_size,
					(unsigned long long)(offset + size));
		else if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
				   (off_t)size) == 0)
			*zeroed = true;
	} else if (!S_ISBLK(st.st_mode)) {
		r = xp_fsb_fail(c, -EINVAL, "open", path,
				"'%s' is neither a file nor a block device", path);
	}
	return r;
}

static int check_opts(struct xp_fsb *c, const struct xp_fs_opts *o, uint64_t size,
		      unsigned char uuid[16])
{
	if (o->type != XP_FS_EXT2 && o->type != XP_FS_EXT3 && o->type != XP_FS_EXT4)
		return xp_fsb_fail(c, -EINVAL, "options", NULL, "unknown filesystem type %d",
				   o->type);
	if (o->label && strlen(o->label) > 16)
		return xp_fsb_fail(c, -EINVAL, "options", o->label,
				   "label '%s' is longer than 16 bytes", o->label);
	if (o->uuid) {
		if (uuid_parse(o->uuid, uuid) != 0)
			return xp_fsb_fail(c, -EINVAL, "options", o->uuid, "invalid UUID '%s'",
					   o->uuid);
	} else {
		uuid_generate(uuid);
	}
	if (o->reserved_percent < -1 || o->reserved_percent > 50)
		return xp_fsb_fail(c, -EINVAL, "options", NULL,
				   "reserved percentage %d not in 0..50", o->reserved_percent);
	if (size < XP_FS_MIN_BYTES)
		return xp_fsb_fail(c, -ENOSPC, "nospace", NULL,
				   "a filesystem needs at least %llu MiB, not %llu bytes",
				   XP_FS_MIN_BYTES >> 20, (unsigned long long)size);
	if (size / XP_FS_BLOCK_SIZE > (1ull << 32) * 64)
		return xp_fsb_fail(c, -EFBIG, "options", NULL, "filesystem too large");
	return 0;
}

static int create_journal(struct xp_fsb *c);

static int create_fs(struct xp_fsb *c, const char *path, uint64_t offset, uint64_t size,
		     const unsigned char uuid[16])
{
	bool zeroed = c->zeroed;
	errcode_t err = xp_fs_init(path, size, c->opts, c->opts->inodes, &c->fs);
	if (err) {
		c->fs = NULL;
		if (err == EXT2_ET_TOOSMALL || err == EXT2_ET_RES_GDT_BLOCKS)
			return xp_fsb_fail(c, -ENOSPC, "nospace", NULL,
					   "%llu bytes are too small: %s", (unsigned long long)size,
					   xp_ext2_strerror(err));
		return xp_fsb_fail(c, xp_ext2_errno(err), "ext2fs", path,
				   "cannot create a filesystem on '%s': %s", path,
				   xp_ext2_strerror(err));
	}
	ext2_filsys fs = c->fs;
	/* ext2fs_initialize() wrote nothing; every write from here on is at the offset, as
	 * mke2fs -E offset= does it */
	char opt[64];
	snprintf(opt, sizeof(opt), "offset=%llu", (unsigned long long)offset);
	err = io_channel_set_options(fs->io, opt);
	if (err)
		return xp_fsb_fail(c, xp_ext2_errno(err), "ext2fs", path,
				   "cannot set the offset: %s", xp_ext2_strerror(err));
	fs->io->app_data = c;
	fs->io->write_error = on_write_error;
	c->extents = ext2fs_has_feature_extents(fs->super);
	c->csum = ext2fs_has_feature_metadata_csum(fs->super);
	c->now = fs->now ? (uint32_t)fs->now : (uint32_t)time(NULL);

	struct ext2_super_block *sb = fs->super;
	memcpy(sb->s_uuid, uuid, 16);
	if (c->csum)
		sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
	/* the seed a UUID would give, as mke2fs sets it; it stays when the UUID changes */
	if (ext2fs_has_feature_csum_seed(sb))
		sb->s_checksum_seed = ext2fs_crc32c_le(~0U, sb->s_uuid, sizeof(sb->s_uuid));
	ext2fs_init_csum_seed(fs);
	memset(sb->s_volume_name, 0, sizeof(sb->s_volume_name));
	if (c->opts->label)
		memcpy(sb->s_volume_name, c->opts->label, strlen(c->opts->label));
	sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
	uuid_generate((unsigned char *)sb->s_hash_seed);
	sb->s_max_mnt_count = (uint16_t)-1;
	sb->s_default_mount_opts = EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL;
	if (c->opts->type == XP_FS_EXT4)
		sb->s_kbytes_written = 1;

	err = ext2fs_allocate_tables(fs);
	if (err)
		return xp_fsb_ext2_fail(c, err, "allocating group tables");
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		if (!zeroed) {
			err = ext2fs_zero_blocks2(fs, ext2fs_inode_table_loc(fs, g),
						  (int)fs->inode_blocks_per_group, NULL, NULL);
			if (err)
				return xp_fsb_ext2_fail(c, err, "zeroing inode tables");
		}
		ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
		ext2fs_group_desc_csum_set(fs, g);
	}

	/* root, lost+found, the reserved inodes, the bad-block inode: mke2fs's order */
	int r = xp_tree_add(&c->tree, "", 0, NULL, &c->root);
	if (r < 0)
		return r;
	c->root->ino = EXT2_ROOT_INO;
	c->root->mode = LINUX_S_IFDIR | 0755;
	c->root->is_dir = true;
	ext2fs_inode_alloc_stats2(fs, EXT2_ROOT_INO, +1, 1);
	union xp_big_inode in;
	xp_fsb_init_inode(c, &in, LINUX_S_IFDIR | 0755);
	in.l.i_links_count = 2;
	err = xp_fsb_write_inode(c, EXT2_ROOT_INO, &in);
	if (err)
		return xp_fsb_ext2_fail(c, err, "writing the root inode");
	ext2_ino_t lpf;
	r = xp_fsb_make_dir_inode(c, c->root, NULL, 0700, &lpf);
	if (r < 0)
		return r;
	r = xp_tree_add(&c->tree, "lost+found", 10, c->root, &c->lost_found);
	if (r < 0)
		return r;
	c->lost_found->ino = lpf;
	c->lost_found->mode = LINUX_S_IFDIR | 0700;
	c->lost_found->is_dir = true;
	xp_tree_link(c->root, c->lost_found);
	for (ext2_ino_t i = EXT2_ROOT_INO + 1; i < EXT2_FIRST_INODE(fs->super); i++)
		ext2fs_inode_alloc_stats2(fs, i, +1, 0);
	ext2fs_mark_ib_dirty(fs);
	ext2fs_mark_inode_bitmap2(fs->inode_map, EXT2_BAD_INO);
	ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
	err = ext2fs_update_bb_inode(fs, NULL);
	if (err)
		return xp_fsb_ext2_fail(c, err, "writing the bad-block inode");
	if (ext2fs_has_feature_resize_inode(sb)) {
		err = ext2fs_create_resize_inode(fs);
		if (err)
			return xp_fsb_ext2_fail(c, err, "creating the resize inode");
	}
	c->goal = sb->s_first_data_block;
	if (ext2fs_has_feature_journal(sb)) {
		r = create_journal(c);
		if (r < 0)
			return r;
	}
	c->goal = sb->s_first_data_block;
	return 0;
}

/* The journal inode as ext2fs_add_journal_inode3() makes it (lib/ext2fs/mkjournal.c:
 * write_journal_inode), but allocated as one contiguous run and not zeroed block by
 * block: libext2fs's block-mapped path zeroes and writes each block separately. */
static int create_journal(struct xp_fsb *c)
{
	ext2_filsys fs = c->fs;
	struct ext2fs_journal_params jp;
	errcode_t err = ext2fs_get_journal_params(&jp, fs);
	if (err)
		return xp_fsb_fail(c, -ENOSPC, "nospace", NULL,
				   "the filesystem is too small for a journal");
	char *jsb = NULL;
	err = ext2fs_create_journal_superblock2(fs, &jp, 0, &jsb);
	if (err)
		return xp_fsb_ext2_fail(c, err, "creating the journal superblock");
	uint64_t nblocks = (uint64_t)jp.num_journal_blocks + jp.num_fc_blocks;
	union xp_big_inode in;
	xp_fsb_init_inode(c, &in, LINUX_S_IFREG | 0600);
	err = ext2fs_inode_size_set(fs, &in.i, nblocks * fs->blocksize);
	int r = err ? xp_fsb_ext2_fail(c, err, "sizing the journal") : 0;
	/* in the middle of the filesystem, at a flex group boundary, as mke2fs does */
	dgrp_t group = fs->group_desc_count / 2;
	if (fs->super->s_log_groups_per_flex)
		group &= ~((1u << fs->super->s_log_groups_per_flex) - 1);
	c->goal = ext2fs_group_first_block2(fs, group);
	if (!r)
		r = xp_fsb_wfile_start(c, EXT2_JOURNAL_INO, &in);
	if (!r)
		r = xp_fsb_write_run(c, 0, NULL, nblocks);
	if (!r) {
		blk64_t first = 0;
		err = ext2fs_bmap2(fs, EXT2_JOURNAL_INO, &c->f.inode.i, c->block_buf, 0, 0, NULL,
				   &first);
		r = err ? xp_fsb_ext2_fail(c, err, "mapping the journal") : 0;
		if (!r)
			r = xp_fsb_write_blocks(c, first, (unsigned char *)jsb, 1);
	}
	if (!r) {
		memcpy(fs->super->s_jnl_blocks, c->f.inode.l.i_block, EXT2_N_BLOCKS * 4);
		fs->super->s_jnl_blocks[15] = c->f.inode.l.i_size_high;
		fs->super->s_jnl_blocks[16] = c->f.inode.l.i_size;
		fs->super->s_jnl_backup_type = EXT3_JNL_BACKUP_BLOCKS;
		r = xp_fsb_wfile_finish(c);
	} else {
		xp_fsb_wfile_drop(c);
	}
	ext2fs_free_mem(&jsb);
	if (r < 0)
		return r;
	fs->super->s_journal_inum = EXT2_JOURNAL_INO;
	fs->super->s_journal_dev = 0;
	memset(fs->super->s_journal_uuid, 0, sizeof(fs->super->s_journal_uuid));
	ext2fs_mark_super_dirty(fs);
	return 0;
}

/* The numbers of the finished filesystem, before it is closed. */
static void fill_stats(struct xp_fsb *c, struct xp_fs_stats *stats)
{
	ext2_filsys fs = c->fs;
	c->st.block_size = fs->blocksize;
	c->st.blocks_total = ext2fs_blocks_count(fs->super);
	c->st.blocks_free = ext2fs_free_blocks_count(fs->super);
	c->st.inodes_total = fs->super->s_inodes_count;
	c->st.inodes_free = fs->super->s_free_inodes_count;
	uuid_unparse(fs->super->s_uuid, c->st.uuid);
	*stats = c->st;
}

int xp_fsb_prepare(struct xp_fsb *c, const char *path, uint64_t size, unsigned char uuid[16])
{
	int r = check_opts(c, c->opts, size, uuid);
	if (r == 0)
		r = prepare_target(c, path, c->offset, size, &c->zeroed);
	return r;
}

int xp_fsb_create(struct xp_fsb *c, const char *path, uint64_t size, const unsigned char uuid[16])
{
	int r = create_fs(c, path, c->offset, size, uuid);
	if (r == -ENOSPC && c->fs && !c->nospace && !c->host_err)
		r = xp_fsb_fail(c, -ENOSPC, "nospace", NULL,
				"%llu MiB is too small for the filesystem's own metadata",
				(unsigned long long)(size >> 20));
	return r;
}

int xp_fsb_close(struct xp_fsb *c, const char *path, struct xp_fs_stats *stats)
{
	errcode_t err = ext2fs_set_gdt_csum(c->fs);
	if (err)
		return xp_fsb_ext2_fail(c, err, "checksumming group descriptors");
	struct xp_fs_stats st;
	fill_stats(c, &st);
	err = ext2fs_close2(c->fs, EXT2_FLAG_FLUSH_NO_SYNC);
	c->fs = NULL;
	if (!err)
		err = c->io_err;
	if (err && c->host_err)
		return -c->host_err; /* reported where the write failed */
	if (err)
		return xp_fsb_fail(c, xp_ext2_errno(err), "io", path, "writing '%s': %s", c->path,
				   xp_ext2_strerror(err));
	if (stats)
		*stats = st;
	return 0;
}
