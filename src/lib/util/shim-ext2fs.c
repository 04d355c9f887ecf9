/*
 * shim-ext2fs.c - libext2fs loaded at the first call of one of its functions (util/dlib.h,
 * struct xp_dlshim), as libarchive is (util/shim-archive.c): images are built, read and
 * edited through it, but a start that does none of that (a capture of a local tree,
 * most inventory commands) does not map it, nor libe2p and libcom_err.
 * The inline functions of ext2fs.h that a build without optimization calls get their
 * external definitions here, from the header's own bodies (C99: an inline function
 * declared extern in a file is defined there), as libext2fs's inline.c does.
 *
 * A function used for the first time is added to XP_EXT2FS_FUNCS (a call to one not
 * listed is a link error: the program does not link the library).
 *
 * Not here: the filesystem code (image/extfs-*.c and the other callers).
 */
#include <ext2fs/ext2fs.h>
#include <pthread.h>

#include "util/dlib.h"

/* X(return type, name, (parameters), (arguments)); XV: the same for a void function */
#define XP_EXT2FS_FUNCS(X, XV)                                                                     \
	X(errcode_t, ext2fs_adjust_ea_refcount3,                                                   \
	  (ext2_filsys a, blk64_t b, char *c, int d, __u32 *e, ext2_ino_t f), (a, b, c, d, e, f))  \
	X(errcode_t, ext2fs_allocate_tables, (ext2_filsys a), (a))                                 \
	XV(void, ext2fs_bg_flags_set, (ext2_filsys a, dgrp_t b, __u16 c), (a, b, c))               \
	X(__u32, ext2fs_bg_free_blocks_count, (ext2_filsys a, dgrp_t b), (a, b))                   \
	X(__u32, ext2fs_bg_free_inodes_count, (ext2_filsys a, dgrp_t b), (a, b))                   \
	XV(void, ext2fs_block_alloc_stats2, (ext2_filsys a, blk64_t b, int c), (a, b, c))          \
	XV(void, ext2fs_block_alloc_stats_range, (ext2_filsys a, blk64_t b, blk_t c, int d),       \
	   (a, b, c, d))                                                                           \
	X(errcode_t, ext2fs_block_iterate3,                                                        \
	  (ext2_filsys a, ext2_ino_t b, int c, char *d,                                            \
	   int (*e)(ext2_filsys fs, blk64_t * blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,      \
		    int ref_offset, void *priv_data),                                              \
	   void *f),                                                                               \
	  (a, b, c, d, e, f))                                                                      \
	X(blk64_t, ext2fs_blocks_count, (struct ext2_super_block * a), (a))                        \
	XV(void, ext2fs_blocks_count_set, (struct ext2_super_block * a, blk64_t b), (a, b))        \
	X(errcode_t, ext2fs_bmap2,                                                                 \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c, char *d, int e, blk64_t f, int *g,  \
	   blk64_t *h),                                                                            \
	  (a, b, c, d, e, f, g, h))                                                                \
	X(errcode_t, ext2fs_check_directory, (ext2_filsys a, ext2_ino_t b), (a, b))                \
	X(errcode_t, ext2fs_close2, (ext2_filsys a, int b), (a, b))                                \
	X(errcode_t, ext2fs_close_free, (ext2_filsys * a), (a))                                    \
	X(errcode_t, ext2fs_count_used_clusters,                                                   \
	  (ext2_filsys a, blk64_t b, blk64_t c, blk64_t * d), (a, b, c, d))                        \
	X(__u32, ext2fs_crc32c_le, (__u32 a, unsigned char const *b, size_t c), (a, b, c))         \
	X(errcode_t, ext2fs_create_journal_superblock2,                                            \
	  (ext2_filsys a, struct ext2fs_journal_params * b, int c, char **d), (a, b, c, d))        \
	X(errcode_t, ext2fs_create_resize_inode, (ext2_filsys a), (a))                             \
	X(int, ext2fs_default_journal_size, (__u64 a), (a))                                        \
	X(errcode_t, ext2fs_dir_block_csum_set,                                                    \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_dir_entry * c), (a, b, c))                     \
	X(errcode_t, ext2fs_dir_iterate2,                                                          \
	  (ext2_filsys a, ext2_ino_t b, int c, char *d,                                            \
	   int (*e)(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,          \
		    int blocksize, char *buf, void *priv_data),                                    \
	   void *f),                                                                               \
	  (a, b, c, d, e, f))                                                                      \
	X(errcode_t, ext2fs_expand_dir, (ext2_filsys a, ext2_ino_t b), (a, b))                     \
	X(errcode_t, ext2fs_extent_fix_parents, (ext2_extent_handle_t a), (a))                     \
	XV(void, ext2fs_extent_free, (ext2_extent_handle_t a), (a))                                \
	X(errcode_t, ext2fs_extent_get, (ext2_extent_handle_t a, int b, struct ext2fs_extent *c),  \
	  (a, b, c))                                                                               \
	X(errcode_t, ext2fs_extent_insert,                                                         \
	  (ext2_extent_handle_t a, int b, struct ext2fs_extent *c), (a, b, c))                     \
	X(errcode_t, ext2fs_extent_open2,                                                          \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c, ext2_extent_handle_t * d),          \
	  (a, b, c, d))                                                                            \
	X(errcode_t, ext2fs_extent_replace,                                                        \
	  (ext2_extent_handle_t a, int b, struct ext2fs_extent *c), (a, b, c))                     \
	X(blk64_t, ext2fs_file_acl_block, (ext2_filsys a, const struct ext2_inode *b), (a, b))     \
	XV(void, ext2fs_file_acl_block_set, (ext2_filsys a, struct ext2_inode * b, blk64_t c),     \
	   (a, b, c))                                                                              \
	X(errcode_t, ext2fs_file_close, (ext2_file_t a), (a))                                      \
	X(errcode_t, ext2fs_file_open2,                                                            \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c, int d, ext2_file_t *e),             \
	  (a, b, c, d, e))                                                                         \
	X(errcode_t, ext2fs_file_read, (ext2_file_t a, void *b, unsigned int c, unsigned int *d),  \
	  (a, b, c, d))                                                                            \
	X(errcode_t, ext2fs_file_set_size2, (ext2_file_t a, ext2_off64_t b), (a, b))               \
	X(errcode_t, ext2fs_file_write,                                                            \
	  (ext2_file_t a, const void *b, unsigned int c, unsigned int *d), (a, b, c, d))           \
	XV(void, ext2fs_free, (ext2_filsys a), (a))                                                \
	X(blk64_t, ext2fs_free_blocks_count, (struct ext2_super_block * a), (a))                   \
	X(errcode_t, ext2fs_free_ext_attr,                                                         \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_inode_large * c), (a, b, c))                   \
	X(errcode_t, ext2fs_get_journal_params, (struct ext2fs_journal_params * a, ext2_filsys b), \
	  (a, b))                                                                                  \
	XV(void, ext2fs_group_desc_csum_set, (ext2_filsys a, dgrp_t b), (a, b))                    \
	X(int, ext2fs_group_desc_csum_verify, (ext2_filsys a, dgrp_t b), (a, b))                   \
	X(blk64_t, ext2fs_group_first_block2, (ext2_filsys a, dgrp_t b), (a, b))                   \
	X(errcode_t, ext2fs_iblk_add_blocks, (ext2_filsys a, struct ext2_inode * b, blk64_t c),    \
	  (a, b, c))                                                                               \
	XV(void, ext2fs_init_csum_seed, (ext2_filsys a), (a))                                      \
	X(errcode_t, ext2fs_initialize,                                                            \
	  (const char *a, int b, struct ext2_super_block *c, io_manager d, ext2_filsys *e),        \
	  (a, b, c, d, e))                                                                         \
	XV(void, ext2fs_initialize_dirent_tail, (ext2_filsys a, struct ext2_dir_entry_tail * b),   \
	   (a, b))                                                                                 \
	X(errcode_t, ext2fs_inline_data_get,                                                       \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c, void *d, size_t *e),                \
	  (a, b, c, d, e))                                                                         \
	X(errcode_t, ext2fs_inline_data_size, (ext2_filsys a, ext2_ino_t b, size_t * c),           \
	  (a, b, c))                                                                               \
	XV(void, ext2fs_inode_alloc_stats2, (ext2_filsys a, ext2_ino_t b, int c, int d),           \
	   (a, b, c, d))                                                                           \
	X(int, ext2fs_inode_has_valid_blocks2, (ext2_filsys a, struct ext2_inode * b), (a, b))     \
	X(errcode_t, ext2fs_inode_size_set,                                                        \
	  (ext2_filsys a, struct ext2_inode * b, ext2_off64_t c), (a, b, c))                       \
	X(blk64_t, ext2fs_inode_table_loc, (ext2_filsys a, dgrp_t b), (a, b))                      \
	X(int, ext2fs_is_fast_symlink, (struct ext2_inode * a), (a))                               \
	X(errcode_t, ext2fs_link,                                                                  \
	  (ext2_filsys a, ext2_ino_t b, const char *c, ext2_ino_t d, int e), (a, b, c, d, e))      \
	X(errcode_t, ext2fs_lookup,                                                                \
	  (ext2_filsys a, ext2_ino_t b, const char *c, int d, char *e, ext2_ino_t *f),             \
	  (a, b, c, d, e, f))                                                                      \
	X(int, ext2fs_mark_generic_bmap, (ext2fs_generic_bitmap a, blk64_t b), (a, b))             \
	X(errcode_t, ext2fs_mkdir, (ext2_filsys a, ext2_ino_t b, ext2_ino_t c, const char *d),     \
	  (a, b, c, d))                                                                            \
	X(errcode_t, ext2fs_namei,                                                                 \
	  (ext2_filsys a, ext2_ino_t b, ext2_ino_t c, const char *d, ext2_ino_t *e),               \
	  (a, b, c, d, e))                                                                         \
	X(errcode_t, ext2fs_namei_follow,                                                          \
	  (ext2_filsys a, ext2_ino_t b, ext2_ino_t c, const char *d, ext2_ino_t *e),               \
	  (a, b, c, d, e))                                                                         \
	X(errcode_t, ext2fs_new_inode,                                                             \
	  (ext2_filsys a, ext2_ino_t b, int c, ext2fs_inode_bitmap d, ext2_ino_t *e),              \
	  (a, b, c, d, e))                                                                         \
	X(errcode_t, ext2fs_new_range,                                                             \
	  (ext2_filsys a, int b, blk64_t c, blk64_t d, ext2fs_block_bitmap e, blk64_t *f,          \
	   blk64_t *g),                                                                            \
	  (a, b, c, d, e, f, g))                                                                   \
	X(errcode_t, ext2fs_open2,                                                                 \
	  (const char *a, const char *b, int c, int d, unsigned int e, io_manager f,               \
	   ext2_filsys *g),                                                                        \
	  (a, b, c, d, e, f, g))                                                                   \
	X(errcode_t, ext2fs_punch,                                                                 \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c, char *d, blk64_t e, blk64_t f),     \
	  (a, b, c, d, e, f))                                                                      \
	X(blk64_t, ext2fs_r_blocks_count, (struct ext2_super_block * a), (a))                      \
	XV(void, ext2fs_r_blocks_count_set, (struct ext2_super_block * a, blk64_t b), (a, b))      \
	X(errcode_t, ext2fs_read_bitmaps, (ext2_filsys a), (a))                                    \
	X(errcode_t, ext2fs_read_inode, (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c),      \
	  (a, b, c))                                                                               \
	X(errcode_t, ext2fs_read_inode_full,                                                       \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c, int d), (a, b, c, d))               \
	X(errcode_t, ext2fs_set_gdt_csum, (ext2_filsys a), (a))                                    \
	X(errcode_t, ext2fs_set_rec_len,                                                           \
	  (ext2_filsys a, unsigned int b, struct ext2_dir_entry *c), (a, b, c))                    \
	X(errcode_t, ext2fs_symlink,                                                               \
	  (ext2_filsys a, ext2_ino_t b, ext2_ino_t c, const char *d, const char *e),               \
	  (a, b, c, d, e))                                                                         \
	X(errcode_t, ext2fs_unlink,                                                                \
	  (ext2_filsys a, ext2_ino_t b, const char *c, ext2_ino_t d, int e), (a, b, c, d, e))      \
	X(errcode_t, ext2fs_update_bb_inode, (ext2_filsys a, ext2_badblocks_list b), (a, b))       \
	X(errcode_t, ext2fs_write_inode, (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c),     \
	  (a, b, c))                                                                               \
	X(errcode_t, ext2fs_write_inode_full,                                                      \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c, int d), (a, b, c, d))               \
	X(errcode_t, ext2fs_write_new_inode, (ext2_filsys a, ext2_ino_t b, struct ext2_inode * c), \
	  (a, b, c))                                                                               \
	X(errcode_t, ext2fs_xattr_get,                                                             \
	  (struct ext2_xattr_handle * a, const char *b, void **c, size_t *d), (a, b, c, d))        \
	X(errcode_t, ext2fs_xattr_remove, (struct ext2_xattr_handle * a, const char *b), (a, b))   \
	X(errcode_t, ext2fs_xattr_set,                                                             \
	  (struct ext2_xattr_handle * a, const char *b, const void *c, size_t d), (a, b, c, d))    \
	X(errcode_t, ext2fs_xattrs_close, (struct ext2_xattr_handle * *a), (a))                    \
	X(errcode_t, ext2fs_xattrs_iterate,                                                        \
	  (struct ext2_xattr_handle * a,                                                           \
	   int (*b)(char *name, char *value, size_t value_len, void *data), void *c),              \
	  (a, b, c))                                                                               \
	X(errcode_t, ext2fs_xattrs_open,                                                           \
	  (ext2_filsys a, ext2_ino_t b, struct ext2_xattr_handle * *c), (a, b, c))                 \
	X(errcode_t, ext2fs_xattrs_read, (struct ext2_xattr_handle * a), (a))                      \
	X(errcode_t, ext2fs_zero_blocks2, (ext2_filsys a, blk64_t b, int c, blk64_t *d, int *e),   \
	  (a, b, c, d, e))                                                                         \
	X(errcode_t, io_channel_set_options, (io_channel a, const char *b), (a, b))

extern errcode_t ext2fs_free_mem(void *ptr);
extern void ext2fs_mark_super_dirty(ext2_filsys fs);
extern void ext2fs_mark_ib_dirty(ext2_filsys fs);
extern int ext2fs_mark_inode_bitmap2(ext2fs_inode_bitmap bitmap, ext2_ino_t inode);
extern int ext2fs_dirent_name_len(const struct ext2_dir_entry *entry);
extern void ext2fs_dirent_set_name_len(struct ext2_dir_entry *entry, int len);
extern void ext2fs_dirent_set_file_type(struct ext2_dir_entry *entry, int type);

static struct {
	XP_EXT2FS_FUNCS(XP_DLSHIM_PTR, XP_DLSHIM_PTR)
	__typeof__(unix_io_manager) *unix_io_manager; /* a variable's address */
} fn;

static const struct xp_dlsym syms[] = {
    XP_EXT2FS_FUNCS(XP_DLSHIM_SYM, XP_DLSHIM_SYM) XP_DLSYM(unix_io_manager, fn.unix_io_manager),
};

XP_DLSHIM_LIBRARY(XP_LIBEXT2FS_SONAME, "libext2fs2")

XP_EXT2FS_FUNCS(XP_DLSHIM_RET, XP_DLSHIM_VOID)

/* libext2fs's own I/O manager (a variable of the library's: no shim can stand for it) */
struct struct_io_manager *xp_unix_io_manager(void)
{
	XP_DLSHIM_LOAD();
	return *fn.unix_io_manager;
}
