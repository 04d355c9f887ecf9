/*
 * extfs-internal.h - private pieces shared by the tar -> ext2/3/4 writer
 * (extfs-build.c and its parts), its archive reader thread (extfs-stream.c), the size
 * estimator (extfs-estimate.c) and the path table (extfs-paths.c).
 *
 * Not here: the writer's own state (extfs-build.h), reading filesystems back
 * (extfs-read.c, which shares only the error mapping), anything public
 * (xenprov/extfs.h).
 */
#ifndef XP_EXTFS_INTERNAL_H
#define XP_EXTFS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>
#include <archive_entry.h>
#include <ext2fs/ext2fs.h>

#include "xenprov/extfs.h"

#define XP_FS_BLOCK_SIZE 4096u
#define XP_FS_INODE_SIZE 256u
/* ext2fs_default_journal_size() refuses filesystems under 2048 blocks. */
#define XP_FS_MIN_BYTES (8ull << 20)
/* File data travels from the reader thread in windows of this many bytes. */
#define XP_FS_WINDOW (1u << 20)

/* ---- errors ---------------------------------------------------------------------- */

/* The hint of a failed write to the image when the host's filesystem is full. */
#define XP_HOST_FULL_HINT                                                                          \
	"the filesystem holding it on this host is full: free space there, or write the "          \
	"image elsewhere"

/* extfs-errors.c: libext2fs error code -> -errno when building or editing a
 * filesystem (allocation failures are -ENOSPC, the unknown -EIO), and when reading one
 * (the unknown are corrupt metadata, -EBADMSG). An errno the io_manager passed through
 * stays itself. */
int xp_ext2_errno(errcode_t err);
int xp_ext2_read_errno(errcode_t err);

/* extfs-read.c: the entries of directory ino of fs but . and .., sorted by name, with
 * their names and inode numbers only (the rest zero). strict: a name no path can
 * reach (empty, or holding '/' or NUL) is -EBADMSG. 0, or the error: *e libext2fs's
 * (0 else), -errno otherwise; nothing is left allocated then. */
int xp__ext2_dir_list(ext2_filsys fs, ext2_ino_t ino, bool strict, struct xp_fs_entry **v,
		      size_t *n, errcode_t *e);
/* extfs-read.c: an entry's inode as xp_fs_stat gives it (all but its name). */
int xp__ext2_fill_entry(ext2_filsys fs, ext2_ino_t ino, struct xp_fs_entry *e);
/* The libext2fs handle of an open filesystem (borrowed). */
ext2_filsys xp__fs_ext2(struct xp_fs *fs);
/* The directory entry file type (EXT2_FT_*) of an inode's mode. */
static inline uint8_t xp_ext2_dirent_type(uint32_t mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:
		return EXT2_FT_REG_FILE;
	case LINUX_S_IFDIR:
		return EXT2_FT_DIR;
	case LINUX_S_IFCHR:
		return EXT2_FT_CHRDEV;
	case LINUX_S_IFBLK:
		return EXT2_FT_BLKDEV;
	case LINUX_S_IFIFO:
		return EXT2_FT_FIFO;
	case LINUX_S_IFSOCK:
		return EXT2_FT_SOCK;
	case LINUX_S_IFLNK:
		return EXT2_FT_SYMLINK;
	default:
		return EXT2_FT_UNKNOWN;
	}
}

/* A short description of a libext2fs error code, without com_err's global tables. */
const char *xp_ext2_strerror(errcode_t err);

/* ---- paths ----------------------------------------------------------------------- */

/* Normalises an archive path in place: strips leading "./", collapses "//" and "/./",
 * drops a trailing "/", resolves "x/.." lexically. "" is the root. Returns 0, -EPERM
 * for an absolute path or one climbing out with "..", -ENAMETOOLONG for a component
 * over 255 bytes. */
int xp_path_normalize(char *path);

/* A node of the tree being built: one per path. */
struct xp_node {
	char *path;	  /* normalised, "" for the root; owned */
	const char *name; /* last component, points into path */
	struct xp_node *parent;
	uint32_t ino;
	uint32_t mode; /* type and permission bits of what the path holds now */
	bool is_dir;
	bool explicit_dir; /* the archive listed it (else created for a child) */
	/* directory only: children in arrival order */
	struct xp_node *first_child, *last_child, *next_sibling;
	uint64_t child_bytes; /* sum of directory record lengths of the children */
	uint32_t subdirs;
};

/* Open-addressing hash table of nodes keyed by path. */
struct xp_tree {
	struct xp_node **slots;
	size_t cap, n;
};

void xp_tree_init(struct xp_tree *t);
void xp_tree_release(struct xp_tree *t);
struct xp_node *xp_tree_get(const struct xp_tree *t, const char *path, size_t len);
/* Adds a node for path (copied) under parent; -ENOMEM. */
int xp_tree_add(struct xp_tree *t, const char *path, size_t len, struct xp_node *parent,
		struct xp_node **ret);
/* Appends child to dir's list. */
void xp_tree_link(struct xp_node *dir, struct xp_node *child);

/* ---- filesystem parameters ------------------------------------------------------- */

/* Inode count for a filesystem of `bytes`, mke2fs-like (mke2fs.conf's inode_ratio for
 * the small/default/big/huge size types). */
uint64_t xp_fs_auto_inodes(uint64_t bytes);

/* ext2fs_initialize() on `name` with the features of opts->type, 4 KiB blocks, 256-byte
 * inodes, `inodes` inodes (0: xp_fs_auto_inodes). Writes nothing. */
errcode_t xp_fs_init(const char *name, uint64_t bytes, const struct xp_fs_opts *opts,
		     uint64_t inodes, ext2_filsys *ret);

/* ---- size estimate ---------------------------------------------------------------- */

struct xp_est {
	struct xp_tree dirs; /* every directory path seen (explicit or implied) */
	uint64_t entries;
	uint64_t inodes;      /* inodes the entries need */
	uint64_t data_blocks; /* file data, symlink, xattr and mapping blocks */
	uint64_t content_bytes;
	int err;
};

void xp_est_init(struct xp_est *e);
void xp_est_release(struct xp_est *e);
/* Accounts one archive entry (headers only). */
void xp_est_add(struct xp_est *e, struct archive_entry *entry);
/* The smallest filesystem size (bytes, a multiple of 1 MiB) holding what was added,
 * plus headroom_percent of the content. -ENOSPC with a diagnostic if opts->inodes is
 * set and too small. */
int xp_est_size(struct xp_est *e, const struct xp_fs_opts *opts, unsigned headroom_percent,
		uint64_t *bytes, struct xp_diags *diags);

/* Entry path as the archive stores it (UTF-8 when the format says so), or NULL. */
const char *xp_entry_path(struct archive_entry *entry);
const char *xp_entry_hardlink(struct archive_entry *entry);
const char *xp_entry_symlink(struct archive_entry *entry);

/* ---- archive reader thread --------------------------------------------------------- */

enum xp_msg_kind {
	XP_MSG_ENTRY, /* a header: entry */
	XP_MSG_DATA,  /* file data: lblk, nblocks, buf (zero-padded full blocks) */
	XP_MSG_END,   /* end of archive */
	XP_MSG_ERROR, /* err (-errno), text */
};

struct xp_msg {
	enum xp_msg_kind kind;
	struct archive_entry *entry;
	uint64_t lblk;
	uint32_t nblocks;
	unsigned char *buf; /* heap, nblocks blocks; freed by xp_stream_done */
	size_t buf_size;
	int err;
	char *text;	 /* XP_MSG_ERROR: libarchive's message */
	char *path;	 /* XP_MSG_ERROR: the entry being read, or the last one read */
	bool in_data;	 /* XP_MSG_ERROR: while reading path's data (else the next header) */
	bool no_data;	 /* XP_MSG_END: the input held no bytes at all (xp_archive_no_data) */
	bool compressed; /* XP_MSG_END: it was compressed */
	struct xp_msg *next;
};

struct xp_stream;

/* Opens the archive ("-" for stdin) and starts a thread reading it. -ENOENT etc. with
 * a diagnostic if it cannot be opened. */
int xp_stream_start(const char *archive, struct xp_stream **ret, struct xp_diags *diags);
/* Next message; the caller passes it to xp_stream_done. Never NULL. */
struct xp_msg *xp_stream_next(struct xp_stream *s);
void xp_stream_done(struct xp_stream *s, struct xp_msg *m);
/* Stops the thread, frees everything. */
void xp_stream_free(struct xp_stream *s);

/* Opens an archive ("-" for stdin), or a directory as the tar of its content, for reading (archive-src.c: gzip inflated with
 * ISA-L, the rest through libarchive's filters); *src (may be NULL) is what
 * xp_archive_drain needs, valid until archive_read_free. */
struct xp_src;
int xp_archive_open(const char *archive, struct archive **ret, struct xp_src **src,
		    struct xp_diags *diags);
/* The next entry, as archive_read_next_header(3) (a directory's through the disk
 * reader: paths "./PATH", hard links resolved). */
int xp_archive_next(struct archive *a, struct xp_src *src, struct archive_entry **entry);
/* Frees what xp_archive_open made (instead of archive_read_free). */
void xp_archive_close(struct archive *a, struct xp_src *src);
/* After the tar end marker: reads the compressed stream to its end, so that a gzip
 * checksum, truncation or trailing data is found even where libarchive would stop.
 * 0, or -1 with the error set on the archive. */
int xp_archive_drain(struct archive *a, struct xp_src *src);
/* A failure of the archive: -errno (I/O errors keep their errno, the rest is
 * -EBADMSG) and its message. The source's own error (a read error, bad gzip) wins over
 * what libarchive says later about the same stream (it may overwrite its message with
 * "Truncated input file" while skipping on). src may be NULL. */
int xp_archive_errno(struct archive *a, const struct xp_src *src);
const char *xp_archive_error(struct archive *a, const struct xp_src *src);
/* After the end of the archive: true if the input held no bytes at all (after
 * decompression; *compressed says whether there was a compression). */
bool xp_archive_no_data(struct archive *a, const struct xp_src *src, bool *compressed);
/* An archive that had no entries: 0 if allow_empty, else -ENODATA with a diagnostic
 * (code "no-entries"). An input of no bytes (no_data) is no tar archive at all (GNU tar
 * refuses it) and always -EBADMSG (code "empty-input"). */
int xp_archive_no_entries(const char *archive, bool no_data, bool compressed, bool allow_empty,
			  struct xp_diags *diags);

#endif
