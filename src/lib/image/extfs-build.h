/*
 * extfs-build.h - the state of one xp_fs_build() and what the files that make it share:
 * the entry pipeline (extfs-build.c: inodes, data runs, directories, the errors of the
 * build), extended attributes and POSIX ACLs (extfs-xattr.c), making and closing the
 * filesystem (extfs-create.c).
 *
 * Not here: what the size estimator, the reader thread and the path table share
 * (extfs-internal.h), the public API (xenprov/extfs.h).
 */
#ifndef XP_EXTFS_BUILD_H
#define XP_EXTFS_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include <archive_entry.h>
#include <ext2fs/ext2fs.h>

#include "image/extfs-internal.h"

/* A 256-byte on-disk inode, read and written whole so extra fields and in-inode
 * xattrs survive. */
union xp_big_inode {
	struct ext2_inode_large l;
	struct ext2_inode i;
	unsigned char raw[XP_FS_INODE_SIZE];
};

/* The inode whose blocks are being written: a regular file, a long symlink or, at the
 * end, a directory. */
struct xp_wfile {
	bool active;
	ext2_ino_t ino;
	union xp_big_inode inode;
	ext2_extent_handle_t eh;
	uint64_t next_lblk; /* data must arrive in increasing order */
	uint64_t nblocks;   /* blocks covered by i_size */
	uint64_t size;
	bool have_last;
	struct ext2fs_extent last;
	struct archive_entry *entry; /* xattrs applied when the file is complete */
};

/* The state of one xp_fs_build(). */
struct xp_fsb {
	ext2_filsys fs;
	const struct xp_fs_opts *opts;
	struct xp_diags *diags;
	const char *archive;
	struct xp_tree tree;
	struct xp_node *root, *lost_found;
	struct xp_est est;
	bool extents, csum;
	blk64_t goal;
	char *block_buf; /* 3 blocks for ext2fs_bmap2 */
	struct xp_wfile f;
	errcode_t io_err;
	uint32_t now;
	/* file data bypasses libext2fs's small block cache: gathered here while it is
	 * physically contiguous, written with one pwrite */
	int fd;
	uint64_t offset;
	unsigned char *wbuf;
	blk64_t wstart;
	size_t wlen; /* blocks in wbuf */
	bool zeroed; /* the target reads as zeros */
	struct xp_fs_stats st;
	xp_progress_fn progress;
	void *ud;
	uint64_t done_bytes, reported_bytes;
	const char *entry_name; /* the archive's name of the entry being applied */
	bool nospace;
	char *nospace_at;
	const char *path; /* the file written, as messages name it */
	int host_err;	  /* a write to it failed with this errno (reported once) */
};

/* ---- extfs-build.c: errors ------------------------------------------------------- */

/* Records an error about the archive (text: the offending entry, may be NULL) and
 * returns err. */
int xp_fsb_fail(struct xp_fsb *c, int err, const char *code, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A libext2fs failure while applying the current entry, as -errno. -ENOSPC is returned
 * unreported: the build switches to counting and reports the size needed at the end. A
 * failed write to the output was reported where it failed and gives its errno. */
int xp_fsb_ext2_fail(struct xp_fsb *c, errcode_t err, const char *what);
/* A write to the output failed with errno e: reported once (as the host's trouble,
 * not a full guest filesystem), and -e, or the first such error, returned. */
int xp_fsb_host_write_failed(struct xp_fsb *c, int e);

/* ---- extfs-build.c: inodes and data runs ----------------------------------------- */

/* A fresh inode of mode: one link, the build's time, an empty extent tree for files
 * and directories on ext4. */
void xp_fsb_init_inode(struct xp_fsb *c, union xp_big_inode *in, uint32_t mode);
errcode_t xp_fsb_write_inode(struct xp_fsb *c, ext2_ino_t ino, union xp_big_inode *in);
/* Allocates and writes a directory inode (two links) under parent, with e's metadata
 * if e is not NULL. */
int xp_fsb_make_dir_inode(struct xp_fsb *c, struct xp_node *parent, struct archive_entry *e,
			  uint32_t perm, ext2_ino_t *ino);
/* Makes ino, whose inode is *in, the current file (c->f) that xp_fsb_write_run maps
 * blocks into; xp_fsb_wfile_finish writes its inode (and the xattrs of c->f.entry),
 * xp_fsb_wfile_drop forgets it after a failure. */
int xp_fsb_wfile_start(struct xp_fsb *c, ext2_ino_t ino, const union xp_big_inode *in);
int xp_fsb_wfile_finish(struct xp_fsb *c);
void xp_fsb_wfile_drop(struct xp_fsb *c);
/* Allocates from c->goal, writes and maps len blocks at lblk of the current file.
 * data NULL: blocks that read as zeros (nothing written when the target was punched). */
int xp_fsb_write_run(struct xp_fsb *c, uint64_t lblk, const unsigned char *data, uint64_t len);
/* Writes n blocks at the physical block pblk, coalescing contiguous small writes. */
int xp_fsb_write_blocks(struct xp_fsb *c, blk64_t pblk, const unsigned char *data, size_t n);

/* ---- extfs-xattr.c: extended attributes and POSIX ACLs --------------------------- */

/* The permissions of the MASK entry of the entry's access ACL, or -1 without one. */
int xp_entry_acl_mask(struct archive_entry *e);
/* Sets the entry's xattrs and POSIX ACLs on ino; with replace, removes the inode's
 * existing ones first. */
int xp_fsb_apply_xattrs(struct xp_fsb *c, ext2_ino_t ino, struct archive_entry *e, bool replace);

/* ---- extfs-create.c: making and closing the filesystem --------------------------- */

/* Checks c->opts for a filesystem of size bytes (uuid: the one asked for, else a random
 * one), opens path as c->fd and punches c->offset..+size to zeros (c->zeroed). */
int xp_fsb_prepare(struct xp_fsb *c, const char *path, uint64_t size, unsigned char uuid[16]);
/* Makes the filesystem in c->fs as mke2fs does: superblock, group tables, root,
 * lost+found, the reserved inodes, the resize inode and the journal. -ENOSPC with a
 * diagnostic when size is too small for that. */
int xp_fsb_create(struct xp_fsb *c, const char *path, uint64_t size, const unsigned char uuid[16]);
/* Checksums the group descriptors and closes c->fs, writing out what libext2fs holds
 * (without fsync); *stats (may be NULL) gets the filesystem's numbers. */
int xp_fsb_close(struct xp_fsb *c, const char *path, struct xp_fs_stats *stats);

#endif
