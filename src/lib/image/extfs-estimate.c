/*
 * extfs-estimate.c - filesystem parameters shared by the builder and the estimator,
 * and xp_fs_estimate(): the smallest ext2/3/4 size that holds a tar archive.
 *
 * The estimate counts what the content needs from the headers alone (data blocks per
 * file rounded to the block size, block-map or extent-tree blocks, long symlinks,
 * xattr blocks, directory blocks per directory, inodes) and then asks libext2fs
 * itself what a filesystem of a candidate size spends on metadata: ext2fs_initialize()
 * and ext2fs_allocate_tables() on /dev/null (nothing is written), plus the journal
 * mke2fs would create and the root-reserved blocks. The candidate grows until it fits,
 * so the estimate and the builder can never disagree about the layout.
 *
 * Not here: writing anything (extfs-build.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_err.h>

#include "image/extfs-internal.h"
#include "util/dlib.h"

const char *xp_entry_path(struct archive_entry *entry)
{
	const char *p = archive_entry_pathname(entry);
	return p ? p : archive_entry_pathname_utf8(entry);
}

const char *xp_entry_hardlink(struct archive_entry *entry)
{
	const char *p = archive_entry_hardlink(entry);
	return p ? p : archive_entry_hardlink_utf8(entry);
}

const char *xp_entry_symlink(struct archive_entry *entry)
{
	const char *p = archive_entry_symlink(entry);
	return p ? p : archive_entry_symlink_utf8(entry);
}

/* mke2fs.conf's inode_ratio per size type (floppy and small use 1 KiB blocks in
 * mke2fs; we keep 4 KiB blocks and the small ratio). */
static uint64_t inode_ratio(uint64_t bytes)
{
	if (bytes < (512ull << 20))
		return 4096;
	if (bytes < (4ull << 40))
		return 16384;
	if (bytes < (16ull << 40))
		return 32768;
	return 65536;
}

uint64_t xp_fs_auto_inodes(uint64_t bytes)
{
	uint64_t n = bytes / inode_ratio(bytes);
	if (n > 0xffffffffull - 0x10000)
		n = 0xffffffffull - 0x10000;
	return n < 64 ? 64 : n;
}

errcode_t xp_fs_init(const char *name, uint64_t bytes, const struct xp_fs_opts *opts,
		     uint64_t inodes, ext2_filsys *ret)
{
	struct ext2_super_block param;
	memset(&param, 0, sizeof(param));
	uint64_t blocks = bytes / XP_FS_BLOCK_SIZE;
	ext2fs_blocks_count_set(&param, blocks);
	param.s_log_block_size = 2; /* 1024 << 2 */
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_inode_size = XP_FS_INODE_SIZE;
	if (!inodes)
		inodes = xp_fs_auto_inodes(bytes);
	if (inodes > 0xffffffffull - 0x10000)
		inodes = 0xffffffffull - 0x10000;
	param.s_inodes_count = (uint32_t)inodes;

	/* Debian's mke2fs.conf base features, then the per-type ones. No orphan_file:
	 * e2fsck < 1.47 and kernels < 5.15 refuse it. ext4 adds metadata_csum_seed (Linux
	 * 4.4, e2fsprogs 1.43; GRUB 2.12 and Debian's 2.06-13 read it): the checksums are
	 * seeded by s_checksum_seed instead of the UUID, so that every clone's new UUID is
	 * one superblock write (guest-edit.c), not a rewrite of every checksum. */
	ext2fs_set_feature_xattr(&param);
	ext2fs_set_feature_resize_inode(&param);
	ext2fs_set_feature_dir_index(&param);
	ext2fs_set_feature_filetype(&param);
	ext2fs_set_feature_sparse_super(&param);
	ext2fs_set_feature_large_file(&param);
	if (opts->type == XP_FS_EXT3 || opts->type == XP_FS_EXT4)
		ext2fs_set_feature_journal(&param);
	if (opts->type == XP_FS_EXT4) {
		ext2fs_set_feature_extents(&param);
		ext2fs_set_feature_huge_file(&param);
		ext2fs_set_feature_flex_bg(&param);
		ext2fs_set_feature_metadata_csum(&param);
		ext2fs_set_feature_csum_seed(&param);
		ext2fs_set_feature_64bit(&param);
		ext2fs_set_feature_dir_nlink(&param);
		ext2fs_set_feature_extra_isize(&param);
		param.s_log_groups_per_flex = 4;
	}
	int pct = opts->reserved_percent < 0 ? 5 : opts->reserved_percent;
	if (pct > 50)
		pct = 50;
	ext2fs_r_blocks_count_set(&param, blocks * (uint64_t)pct / 100);
	return ext2fs_initialize(name, EXT2_FLAG_64BITS, &param, xp_unix_io_manager(), ret);
}

/* ---- the estimator ------------------------------------------------------------------ */

void xp_est_init(struct xp_est *e)
{
	memset(e, 0, sizeof(*e));
	xp_tree_init(&e->dirs);
	struct xp_node *root;
	e->err = xp_tree_add(&e->dirs, "", 0, NULL, &root);
	e->inodes = 1;
}

void xp_est_release(struct xp_est *e)
{
	xp_tree_release(&e->dirs);
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* The directory node for path[0..len), created (with its parents) if new. */
static struct xp_node *est_dir(struct xp_est *e, const char *path, size_t len)
{
	struct xp_node *n = xp_tree_get(&e->dirs, path, len);
	if (n)
		return n;
	const char *slash = memrchr(path, '/', len);
	struct xp_node *parent = est_dir(e, path, slash ? (size_t)(slash - path) : 0);
	if (!parent)
		return NULL;
	if (xp_tree_add(&e->dirs, path, len, parent, &n) < 0) {
		e->err = -ENOMEM;
		return NULL;
	}
	e->inodes++;
	parent->child_bytes += (8 + strlen(n->name) + 3) & ~(uint64_t)3;
	return n;
}

/* Blocks a file of nb data blocks needs for its mapping, worst reasonable case. */
static uint64_t map_blocks(uint64_t nb, bool extents)
{
	if (extents) {
		uint64_t ext = div_up(nb, 32768) + 2; /* + fragmentation around the journal */
		return ext > 4 ? div_up(ext, 340) : 0;
	}
	if (nb <= 12)
		return 0;
	uint64_t b = div_up(nb - 12, 1024);
	if (nb > 12 + 1024)
		b += 1 + div_up(nb - 12 - 1024, 1024 * 1024);
	if (nb > 12 + 1024 + 1024 * 1024)
		b += 1;
	return b;
}

static uint64_t xattr_bytes(struct archive_entry *entry)
{
	uint64_t bytes = 0;
	const char *name;
	const void *value;
	size_t size;
	if (archive_entry_xattr_reset(entry) > 0)
		while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK)
			bytes += 16 + ((strlen(name) + size + 3) & ~(size_t)3);
	int acls = archive_entry_acl_count(entry, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E);
	if (acls > 0)
		bytes += 2 * 40 + 8 * (uint64_t)acls;
	return bytes;
}

void xp_est_add(struct xp_est *e, struct archive_entry *entry)
{
	if (e->err)
		return;
	e->entries++;
	const char *p = xp_entry_path(entry);
	if (!p)
		return;
	char *path = strdup(p);
	if (!path) {
		e->err = -ENOMEM;
		return;
	}
	if (xp_path_normalize(path) < 0) {
		free(path);
		return;
	}
	size_t len = strlen(path);
	const char *slash = strrchr(path, '/');
	struct xp_node *parent = len ? est_dir(e, path, slash ? (size_t)(slash - path) : 0) : NULL;
	if (len && !parent) {
		free(path);
		return;
	}
	const char *name = slash ? slash + 1 : path;
	uint64_t nb = 0;
	if (xp_entry_hardlink(entry)) {
		parent->child_bytes += (8 + strlen(name) + 3) & ~(uint64_t)3;
		free(path);
		return;
	}
	switch (archive_entry_filetype(entry)) {
	case AE_IFDIR:
		if (len)
			est_dir(e, path, len);
		break;
	case AE_IFREG: {
		int64_t size = archive_entry_size(entry);
		if (size > 0) {
			nb = div_up((uint64_t)size, XP_FS_BLOCK_SIZE);
			e->content_bytes += (uint64_t)size;
		}
		uint64_t m = map_blocks(nb, false), x = map_blocks(nb, true);
		nb += m > x ? m : x;
		break;
	}
	case AE_IFLNK: {
		const char *t = xp_entry_symlink(entry);
		if (t && strlen(t) >= 60)
			nb = 1;
		break;
	}
	default:
		break;
	}
	if (archive_entry_filetype(entry) != AE_IFDIR || !len) {
		if (len) {
			e->inodes++;
			parent->child_bytes += (8 + strlen(name) + 3) & ~(uint64_t)3;
		}
	}
	/* what does not fit in the inode's 96 spare bytes goes to one xattr block */
	if (xattr_bytes(entry) > 90)
		nb++;
	e->data_blocks += nb;
	free(path);
}

static uint64_t dir_blocks(const struct xp_tree *t)
{
	/* Records do not span blocks: a block holds its 12-byte checksum tail and may waste
	 * up to one maximal record (263 bytes) at its end. */
	const uint64_t usable = XP_FS_BLOCK_SIZE - 12 - 264;
	uint64_t b = 0;
	for (size_t i = 0; i < t->cap; i++) {
		const struct xp_node *n = t->slots[i];
		if (n)
			b += div_up(24 + n->child_bytes, usable);
	}
	return b;
}

int xp_est_size(struct xp_est *e, const struct xp_fs_opts *opts, unsigned headroom_percent,
		uint64_t *bytes, struct xp_diags *diags)
{
	if (e->err)
		return e->err;
	const uint64_t bs = XP_FS_BLOCK_SIZE;
	/* root and lost+found (16 KiB, as mke2fs makes it), the resize inode's block */
	uint64_t need = e->data_blocks + dir_blocks(&e->dirs) + 4 + 1;
	need += need / 128 + 16; /* slack for extent-tree splits and allocation rounding */
	need += div_up(e->content_bytes / 100 * headroom_percent, bs);
	uint64_t need_inodes = e->inodes + EXT2_GOOD_OLD_FIRST_INO + 1;
	need_inodes += need_inodes / 64;
	if (opts->inodes && opts->inodes < need_inodes) {
		if (diags)
			xp_diags_add(diags, XP_SEV_ERROR, NULL, 0, 0, "inodes", NULL, NULL,
				     "%llu inodes are too few: the archive needs %llu",
				     (unsigned long long)opts->inodes,
				     (unsigned long long)need_inodes);
		return -ENOSPC;
	}
	uint64_t blocks = need + need / 16 + need_inodes * XP_FS_INODE_SIZE / bs + 1024;
	if (blocks < XP_FS_MIN_BYTES / bs)
		blocks = XP_FS_MIN_BYTES / bs;
	for (int round = 0; round < 100; round++) {
		blocks = (blocks + 255) & ~(uint64_t)255; /* whole MiB */
		uint64_t size = blocks * bs;
		if (!opts->inodes && xp_fs_auto_inodes(size) < need_inodes) {
			uint64_t more = need_inodes * inode_ratio(size) / bs + 256;
			blocks = more > blocks ? more : blocks + 256;
			continue;
		}
		ext2_filsys fs = NULL;
		errcode_t err = xp_fs_init("/dev/null", size, opts, opts->inodes, &fs);
		if (!err)
			err = ext2fs_allocate_tables(fs);
		blk64_t used = 0;
		if (!err)
			err = ext2fs_count_used_clusters(fs, fs->super->s_first_data_block,
							 ext2fs_blocks_count(fs->super) - 1, &used);
		if (err) {
			if (fs)
				ext2fs_free(fs);
			if (err == EXT2_ET_TOOSMALL || err == EXT2_ET_RES_GDT_BLOCKS) {
				blocks += 1024;
				continue;
			}
			if (diags)
				xp_diags_add(diags, XP_SEV_ERROR, NULL, 0, 0, "ext2fs", NULL, NULL,
					     "cannot lay out a filesystem: %s",
					     xp_ext2_strerror(err));
			return xp_ext2_errno(err);
		}
		uint64_t fs_blocks = ext2fs_blocks_count(fs->super);
		uint64_t reserved = ext2fs_r_blocks_count(fs->super);
		uint64_t got_inodes = fs->super->s_inodes_count;
		ext2fs_free(fs);
		uint64_t journal = 0;
		if (opts->type != XP_FS_EXT2) {
			int j = ext2fs_default_journal_size(fs_blocks);
			journal = j > 0 ? (uint64_t)j + 1 : 0;
		}
		uint64_t overhead = used + journal + reserved;
		if (got_inodes >= need_inodes && fs_blocks > overhead &&
		    fs_blocks - overhead >= need) {
			*bytes = size;
			return 0;
		}
		uint64_t avail = fs_blocks > overhead ? fs_blocks - overhead : 0;
		blocks += (need > avail ? need - avail : 0) + 256;
	}
	return -EFBIG;
}

int xp_fs_estimate(const char *archive, const struct xp_fs_opts *opts, unsigned headroom_percent,
		   uint64_t *bytes, struct xp_diags *diags)
{
	if (!archive || !opts || !bytes)
		return -EINVAL;
	struct archive *a;
	struct xp_src *src;
	int err = xp_archive_open(archive, &a, &src, diags);
	if (err < 0)
		return err;
	struct xp_est e;
	xp_est_init(&e);
	const char *last = NULL;
	char *last_copy = NULL;
	for (;;) {
		struct archive_entry *entry;
		int r = xp_archive_next(a, src, &entry);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			err = xp_archive_errno(a, src);
			if (diags)
				xp_diags_add(diags, XP_SEV_ERROR, archive, 0, 0, "archive", last,
					     NULL, "%s archive%s%s%s: %s",
					     err == -EBADMSG ? "corrupt or truncated"
							     : "cannot read",
					     last ? " after '" : "", last ? last : "",
					     last ? "'" : "", xp_archive_error(a, src));
			break;
		}
		xp_est_add(&e, entry);
		const char *p = xp_entry_path(entry);
		free(last_copy);
		last_copy = p ? strdup(p) : NULL;
		last = last_copy;
	}
	if (err == 0 && e.entries == 0) {
		bool compressed;
		bool no_data = xp_archive_no_data(a, src, &compressed);
		err = xp_archive_no_entries(archive, no_data, compressed, opts->allow_empty, diags);
	}
	if (err == 0)
		err = xp_est_size(&e, opts, headroom_percent, bytes, diags);
	free(last_copy);
	xp_est_release(&e);
	xp_archive_close(a, src);
	return err;
}
