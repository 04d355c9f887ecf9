/*
 * extfs-build.h - the state of one xp_fs_build() and what the files that make it share:
 * the entry pipeline (extfs-build.c: inodes, data runs, directories, the errors of the
 * build) and extended attributes and POSIX ACLs (extfs-xattr.c).
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

/* ---- extfs-build.c: errors ------------------------------------------------------------ */

/* Records an error about the archive (text: the offending entry, may be NULL) and
 * returns err. */
int xp_fsb_fail(struct xp_fsb *c, int err, const char *code, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A libext2fs failure while applying the current entry, as -errno. -ENOSPC is returned
 * unreported: the build switches to counting and reports the size needed at the end. A
 * failed write to the output was reported where it failed and gives its errno. */
int xp_fsb_ext2_fail(struct xp_fsb *c, errcode_t err, const char *what);

/* ---- extfs-xattr.c: extended attributes and POSIX ACLs ---------------------------------- */

/* The permissions of the MASK entry of the entry's access ACL, or -1 without one. */
int xp_entry_acl_mask(struct archive_entry *e);
/* Sets the entry's xattrs and POSIX ACLs on ino; with replace, removes the inode's
 * existing ones first. */
int xp_fsb_apply_xattrs(struct xp_fsb *c, ext2_ino_t ino, struct archive_entry *e, bool replace);

#endif
