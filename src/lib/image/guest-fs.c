/*
 * guest-fs.c - the files of a guest's root filesystem, edited in place with libext2fs
 * (guest-fs.h): the filesystem opened read-write through extfs-rwio.c (raw, or qcow2
 * copy-on-write) at the root partition's offset, and the file operations the guest
 * edits use. No mount, no host path: ext2fs_namei starts at the image's root, so
 * symlinks in the image resolve inside it.
 *
 * How files are written: a file that exists as a regular file keeps its inode (owner,
 * mode, extended attributes such as security.selinux) and gets new content; anything
 * else at the path (a symlink, a device) is unlinked and a new regular file made.
 * Removal follows debugfs's kill_file_by_inode (e2fsprogs debugfs/debugfs.c): drop a
 * link; at zero links free the blocks, the extended attribute block and the inode.
 *
 * Not here: what the files say (guest-text.c), which files are edited (guest-edit.c),
 * the block-level write paths (extfs-rwio.c, qcow2-rw.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "image/extfs-internal.h"
#include "image/extfs-iochan.h"
#include "image/guest-fs.h"
#include "image/rwdisk-internal.h"

#define MAX_EDIT_FILE (16u << 20) /* files we read to edit (shadow, interfaces.d) */

struct xp_gfs {
	ext2_filsys fs;
	struct xp_rwdisk *disk;
	struct xp_guest_diag dg;
	struct xp_guest_report *rep;
	uint32_t now;
};

const struct xp_gfs_wopts xp_gfs_file = {0644, 0, 0, false};

/* ---- diagnostics ---------------------------------------------------------------------- */

int xp_guest_fail(const struct xp_guest_diag *g, int err, const char *code, const char *text,
		  const char *fmt, ...)
{
	if (g->d) {
		va_list ap;
		va_start(ap, fmt);
		xp_diags_addv(g->d, XP_SEV_ERROR, g->image, 0, 0, code, text, NULL, fmt, ap);
		va_end(ap);
	}
	return err;
}

void xp_guest_warn(const struct xp_guest_diag *g, const char *code, const char *fmt, ...)
{
	if (g->d) {
		va_list ap;
		va_start(ap, fmt);
		xp_diags_addv(g->d, XP_SEV_WARNING, g->image, 0, 0, code, NULL, NULL, fmt, ap);
		va_end(ap);
	}
}

#define fail(g, ...) xp_guest_fail(&(g)->dg, __VA_ARGS__)

/* libext2fs failures: -ENOSPC for a full filesystem, else -EIO (corrupt metadata is an
 * I/O failure to our callers) unless the io_manager passed an errno through. */
static int ext_fail(struct xp_gfs *g, errcode_t e, const char *path, const char *what)
{
	int r = xp_ext2_errno(e);
	if (r == -EINVAL || r == -E2BIG)
		r = -EIO;
	if (r == -ENOSPC)
		return fail(g, r, "no-space", path, "'%s': %s: the guest filesystem is full", path,
			    what);
	return fail(g, r, "ext2fs", path, "'%s': %s: %s", path, what, xp_ext2_strerror(e));
}

void xp_gfs_names_free(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* ---- opening and closing -------------------------------------------------------------- */

/* Closes the filesystem and the disk and frees g. r: the session's status so far; what
 * closing fails is reported only when r is 0. */
static int close_free(struct xp_gfs *g, int r)
{
	if (g->fs) {
		errcode_t e = ext2fs_close_free(&g->fs);
		if (e && r == 0)
			r = ext_fail(g, e, g->dg.image, "writing the filesystem metadata");
	}
	int cr = xp_rwdisk_close(g->disk);
	if (cr < 0 && r == 0)
		r = fail(g, cr, "write", g->dg.image, "cannot write '%s': %s", g->dg.image,
			 strerror(-cr));
	free(g);
	return r;
}

int xp_gfs_open(const char *image, uint64_t off, uint32_t now, unsigned flags,
		struct xp_guest_report *rep, const struct xp_guest_diag *dg, struct xp_gfs **ret)
{
	*ret = NULL;
	struct xp_gfs *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->dg = *dg;
	g->rep = rep;
	g->now = now;
	int r = xp_rwdisk_open(image, (flags & XP_GFS_NOSYNC) ? XP_RWDISK_NOSYNC : 0, &g->disk,
			       dg->d);
	if (r < 0) {
		free(g);
		return r;
	}
	char name[64];
	r = xp_extfs_rwio_name(g->disk, off, name, sizeof(name));
	if (r < 0)
		return close_free(g, r);
	errcode_t e = ext2fs_open2(name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
				   xp_iochan_manager(), &g->fs);
	if (e) {
		g->fs = NULL;
		return close_free(g, ext_fail(g, e, image, "opening the root filesystem"));
	}
	ext2_filsys fs = g->fs;
	if (ext2fs_has_feature_journal_needs_recovery(fs->super)) {
		r = fail(g, -ENOTSUP, "needs-recovery", image,
			 "the root filesystem has a journal to recover (it was not cleanly "
			 "unmounted): run e2fsck on it first");
	} else if (fs->super->s_state & EXT2_ERROR_FS) {
		r = fail(g, -EIO, "fs-errors", image,
			 "the root filesystem is marked as having errors: run e2fsck on it first");
	} else if ((e = ext2fs_read_bitmaps(fs)) != 0) {
		r = ext_fail(g, e, image, "reading the allocation bitmaps");
	}
	if (r < 0)
		return close_free(g, r);
	*ret = g;
	return 0;
}

int xp_gfs_close(struct xp_gfs *g, int status)
{
	if (!g)
		return status;
	return close_free(g, status);
}

/* ---- the filesystem's and the disk's identity ----------------------------------------- */

/*
 * Where the UUID is used (ext4's disk layout, e2fsprogs' lib/ext2fs/csum.c): with
 * metadata_csum every checksum is seeded by crc32c(~0, s_uuid), or by s_checksum_seed
 * once metadata_csum_seed (INCOMPAT_CSUM_SEED) is set, which is why that feature makes a
 * UUID change one superblock write; gdt_csum's crc16 group descriptor checksums cover the
 * UUID itself; ea_inode's value hashes use the metadata seed. The journal superblock of
 * an internal journal is left as tune2fs -U leaves it.
 */
int xp_gfs_set_uuid(struct xp_gfs *g, const unsigned char uuid[16], bool *seeded)
{
	ext2_filsys fs = g->fs;
	struct ext2_super_block *sb = fs->super;
	*seeded = false;
	bool csum = ext2fs_has_feature_metadata_csum(sb);
	bool seed = ext2fs_has_feature_csum_seed(sb);
	if (!seed && !csum && ext2fs_has_feature_ea_inode(sb))
		return fail(g, -ENOTSUP, "ea-inode", g->dg.image,
			    "cannot give the root filesystem a new UUID: it has ea_inode without "
			    "metadata_csum, whose hashes would all have to be rewritten");
	bool gd = ext2fs_has_group_desc_csum(fs);
	for (dgrp_t i = 0; gd && i < fs->group_desc_count; i++)
		if (!ext2fs_group_desc_csum_verify(fs, i))
			return fail(
			    g, -EIO, "group-checksum", g->dg.image,
			    "the root filesystem's group descriptor %u has a wrong checksum: "
			    "run e2fsck on it first",
			    (unsigned)i);
	if (csum && !seed) {
		/* fs->csum_seed is what the checksums were made with (ext2fs_open2) */
		sb->s_checksum_seed = fs->csum_seed;
		ext2fs_set_feature_csum_seed(sb);
		*seeded = true;
	}
	memcpy(sb->s_uuid, uuid, sizeof(sb->s_uuid));
	ext2fs_init_csum_seed(fs);
	for (dgrp_t i = 0; gd && i < fs->group_desc_count; i++)
		ext2fs_group_desc_csum_set(fs, i);
	/* the backup superblocks and group descriptors too, as tune2fs -U writes them:
	 * ext2fs_open2 sets EXT2_FLAG_MASTER_SB_ONLY, and backups left with the golden
	 * image's UUID make the guest's e2fsck -p ("primary superblock features different
	 * from backup, check forced") check its root fully at first boot and, having
	 * rewritten the backups of a mounted root, ask for a reboot */
	fs->flags &= ~EXT2_FLAG_MASTER_SB_ONLY;
	ext2fs_mark_super_dirty(fs);
	return 0;
}

int xp_gfs_disk_pwrite(struct xp_gfs *g, const void *buf, size_t len, uint64_t off)
{
	int r = xp_rwdisk_pwrite(g->disk, buf, len, off);
	if (r < 0)
		return fail(g, r, "write", g->dg.image, "cannot write '%s' at byte %llu: %s",
			    g->dg.image, (unsigned long long)off, strerror(-r));
	return 0;
}

/* ---- files ---------------------------------------------------------------------------- */

static void set_owner(struct ext2_inode *in, uint32_t uid, uint32_t gid)
{
	in->i_uid = (uint16_t)uid;
	ext2fs_set_i_uid_high(*in, uid >> 16);
	in->i_gid = (uint16_t)gid;
	ext2fs_set_i_gid_high(*in, gid >> 16);
}

/* Splits an absolute path into its directory's inode and the last name. */
static int lookup_parent(struct xp_gfs *g, const char *path, ext2_ino_t *dir, const char **name)
{
	const char *slash = strrchr(path, '/');
	if (!slash || path[0] != '/' || !slash[1])
		return -EINVAL;
	*name = slash + 1;
	if (slash == path) {
		*dir = EXT2_ROOT_INO;
		return 0;
	}
	char *dpath = strndup(path, (size_t)(slash - path));
	if (!dpath)
		return -ENOMEM;
	errcode_t e = ext2fs_namei_follow(g->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dpath, dir);
	free(dpath);
	if (e == EXT2_ET_FILE_NOT_FOUND || e == EXT2_ET_NO_DIRECTORY)
		return -ENOENT;
	if (e)
		return ext_fail(g, e, path, "looking up its directory");
	if (ext2fs_check_directory(g->fs, *dir))
		return -ENOENT;
	return 0;
}

/* *ino of the entry at path (the final symlink not followed), -ENOENT if none. */
static int lookup(struct xp_gfs *g, const char *path, ext2_ino_t *ino, struct ext2_inode *in)
{
	ext2_ino_t dir;
	const char *name;
	int r = lookup_parent(g, path, &dir, &name);
	if (r < 0)
		return r;
	errcode_t e = ext2fs_lookup(g->fs, dir, name, (int)strlen(name), NULL, ino);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return -ENOENT;
	if (e)
		return ext_fail(g, e, path, "looking it up");
	if (*ino == 0 || *ino > g->fs->super->s_inodes_count)
		return fail(g, -EIO, "ext2fs", path, "'%s': bad inode number %u", path, *ino);
	if (in) {
		e = ext2fs_read_inode(g->fs, *ino, in);
		if (e)
			return ext_fail(g, e, path, "reading its inode");
	}
	return 0;
}

bool xp_gfs_exists(struct xp_gfs *g, const char *path)
{
	ext2_ino_t ino;
	return ext2fs_namei_follow(g->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino) == 0;
}

bool xp_gfs_is_dir(struct xp_gfs *g, const char *path)
{
	ext2_ino_t ino;
	if (ext2fs_namei_follow(g->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino))
		return false;
	return ext2fs_check_directory(g->fs, ino) == 0;
}

int xp_gfs_lstat(struct xp_gfs *g, const char *path, mode_t *mode)
{
	ext2_ino_t ino;
	struct ext2_inode in;
	int r = lookup(g, path, &ino, &in);
	if (r == 0)
		*mode = in.i_mode; /* Linux's S_IF* values, which ext2's LINUX_S_IF* are */
	return r;
}

bool xp_gfs_is_regular(struct xp_gfs *g, const char *path)
{
	ext2_ino_t ino;
	struct ext2_inode in;
	return lookup(g, path, &ino, &in) == 0 && LINUX_S_ISREG(in.i_mode);
}

int xp_gfs_read(struct xp_gfs *g, const char *path, char **data, size_t *len)
{
	ext2_ino_t ino;
	struct ext2_inode in;
	*data = NULL;
	*len = 0;
	int r = lookup(g, path, &ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in.i_mode))
		return -EINVAL;
	uint64_t size = EXT2_I_SIZE(&in);
	if (size > MAX_EDIT_FILE)
		return fail(g, -EFBIG, "too-big", path, "'%s' is too big to edit", path);
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	ext2_file_t f = NULL;
	errcode_t e = ext2fs_file_open2(g->fs, ino, &in, 0, &f);
	size_t got = 0;
	while (!e && got < size) {
		unsigned n = 0;
		e = ext2fs_file_read(f, buf + got, (unsigned)(size - got), &n);
		if (!e && n == 0)
			break;
		got += n;
	}
	if (f && !e)
		e = ext2fs_file_close(f);
	else if (f)
		ext2fs_file_close(f);
	if (e) {
		free(buf);
		return ext_fail(g, e, path, "reading it");
	}
	if (got > size)
		got = (size_t)size; /* inline data reads may return the whole area */
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

/* Reads inode ino whole (its extra fields too) into *large. */
static int read_large(struct xp_gfs *g, ext2_ino_t ino, struct ext2_inode_large *large,
		      const char *path)
{
	memset(large, 0, sizeof(*large));
	errcode_t e = ext2fs_read_inode_full(g->fs, ino, (struct ext2_inode *)large, sizeof(*large));
	return e ? ext_fail(g, e, path, "reading its inode") : 0;
}

/* Drops one link of ino; at zero, frees its blocks, its xattr block and the inode. */
static int release_inode(struct xp_gfs *g, ext2_ino_t ino, const char *path)
{
	struct ext2_inode_large large;
	struct ext2_inode *in = (struct ext2_inode *)&large;
	int r = read_large(g, ino, &large, path);
	if (r < 0)
		return r;
	errcode_t e;
	if (in->i_links_count > 1) {
		in->i_links_count--;
		in->i_ctime = g->now;
		e = ext2fs_write_inode_full(g->fs, ino, in, sizeof(large));
		return e ? ext_fail(g, e, path, "writing its inode") : 0;
	}
	bool dir = LINUX_S_ISDIR(in->i_mode);
	in->i_links_count = 0;
	in->i_dtime = g->now;
	if (ext2fs_inode_has_valid_blocks2(g->fs, in)) {
		e = ext2fs_punch(g->fs, ino, in, NULL, 0, ~0ULL);
		if (e)
			return ext_fail(g, e, path, "freeing its blocks");
	}
	blk64_t ea = ext2fs_file_acl_block(g->fs, in);
	if (ea) {
		__u32 count = 0;
		e = ext2fs_adjust_ea_refcount3(g->fs, ea, NULL, -1, &count, ino);
		if (e)
			return ext_fail(g, e, path, "releasing its extended attributes");
		if (count == 0)
			ext2fs_block_alloc_stats2(g->fs, ea, -1);
		ext2fs_file_acl_block_set(g->fs, in, 0);
	}
	e = ext2fs_write_inode_full(g->fs, ino, in, sizeof(large));
	if (e)
		return ext_fail(g, e, path, "writing its inode");
	ext2fs_inode_alloc_stats2(g->fs, ino, -1, dir);
	return 0;
}

/* The entry at path: its directory, last name, inode number and inode. */
static int lookup_entry(struct xp_gfs *g, const char *path, ext2_ino_t *dir, const char **name,
			ext2_ino_t *ino, struct ext2_inode *in)
{
	int r = lookup_parent(g, path, dir, name);
	return r < 0 ? r : lookup(g, path, ino, in);
}

int xp_gfs_remove(struct xp_gfs *g, const char *path, bool report)
{
	ext2_ino_t dir, ino;
	const char *name;
	struct ext2_inode in;
	int r = lookup_entry(g, path, &dir, &name, &ino, &in);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.i_mode))
		return fail(g, -EISDIR, "is-dir", path, "'%s' is a directory", path);
	errcode_t e = ext2fs_unlink(g->fs, dir, name, ino, 0);
	if (e)
		return ext_fail(g, e, path, "unlinking it");
	r = release_inode(g, ino, path);
	if (r < 0)
		return r;
	if (report && push(&g->rep->removed, &g->rep->nremoved, path) < 0)
		return -ENOMEM;
	return 0;
}

static errcode_t link_retry(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			    int type)
{
	errcode_t e = ext2fs_link(fs, dir, name, ino, type);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(fs, dir);
		if (!e)
			e = ext2fs_link(fs, dir, name, ino, type);
	}
	return e;
}

/* A new empty regular file at dir/name. */
static int create_file(struct xp_gfs *g, ext2_ino_t dir, const char *name, const char *path,
		       mode_t mode, uint32_t uid, uint32_t gid, ext2_ino_t *ret)
{
	ext2_ino_t ino;
	errcode_t e = ext2fs_new_inode(g->fs, dir, LINUX_S_IFREG | 0600, NULL, &ino);
	if (e)
		return ext_fail(g, e, path, "allocating an inode");
	e = link_retry(g->fs, dir, name, ino, EXT2_FT_REG_FILE);
	if (e)
		return ext_fail(g, e, path, "adding it to its directory");
	ext2fs_inode_alloc_stats2(g->fs, ino, +1, 0);

	struct ext2_inode in;
	memset(&in, 0, sizeof(in));
	in.i_mode = (uint16_t)(LINUX_S_IFREG | (mode & 07777));
	set_owner(&in, uid, gid);
	in.i_links_count = 1;
	in.i_atime = in.i_ctime = in.i_mtime = g->now;
	if (ext2fs_has_feature_extents(g->fs->super)) {
		/* as create_inode.c's do_write_internal: an empty extent tree in i_block */
		ext2_extent_handle_t h;
		e = ext2fs_extent_open2(g->fs, ino, &in, &h);
		if (e)
			return ext_fail(g, e, path, "initialising its extents");
		ext2fs_extent_free(h);
	}
	e = ext2fs_write_new_inode(g->fs, ino, &in);
	if (e)
		return ext_fail(g, e, path, "writing its inode");
	*ret = ino;
	return 0;
}

/* Where a written file's content comes from: len bytes at data, or (fd >= 0) what
 * reading fd gives, at most len bytes. */
struct source {
	const void *data;
	size_t len;
	int fd;
};

#define WRITE_CHUNK (1u << 20)

/* Writes the content of src to the open file f: a buffer in chunks, a descriptor
 * through one chunk-sized buffer. -errno of a failed read (with a diagnostic). */
static errcode_t copy_content(struct xp_gfs *g, ext2_file_t f, const struct source *src,
			      const char *path, int *rerr)
{
	char *buf = NULL;
	if (src->fd >= 0 && !(buf = malloc(WRITE_CHUNK))) {
		*rerr = -ENOMEM;
		return 0;
	}
	errcode_t e = 0;
	for (size_t done = 0; !e && done < src->len;) {
		size_t want = src->len - done > WRITE_CHUNK ? WRITE_CHUNK : src->len - done;
		const char *chunk = (const char *)src->data + done;
		if (buf) {
			ssize_t got = read(src->fd, buf, want);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				*rerr = fail(g, -errno, "read", path, "cannot read the source of '%s': %s",
					     path, strerror(errno));
				break;
			}
			if (got == 0)
				break; /* shorter than it was: what there is */
			want = (size_t)got;
			chunk = buf;
		}
		for (size_t off = 0; !e && off < want;) {
			unsigned n = 0;
			e = ext2fs_file_write(f, chunk + off, (unsigned)(want - off), &n);
			if (!e && n == 0)
				e = EXT2_ET_SHORT_WRITE;
			off += n;
		}
		done += want;
	}
	free(buf);
	return e;
}

static int write_from(struct xp_gfs *g, const char *path, const struct source *src,
		      const struct xp_gfs_wopts *o)
{
	ext2_ino_t dir, ino = 0;
	const char *name;
	struct ext2_inode in;
	int r = lookup_parent(g, path, &dir, &name);
	if (r == -ENOENT)
		return fail(g, r, "no-dir", path, "cannot write '%s': its directory is missing",
			    path);
	if (r < 0)
		return r;
	r = lookup(g, path, &ino, &in);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && LINUX_S_ISDIR(in.i_mode))
		return fail(g, -EISDIR, "is-dir", path, "cannot write '%s': it is a directory",
			    path);
	if (r == 0 && !LINUX_S_ISREG(in.i_mode)) {
		/* a symlink (or stranger): replaced by a regular file */
		r = xp_gfs_remove(g, path, false);
		if (r < 0)
			return r;
		ino = 0;
	}
	if (!ino) {
		r = create_file(g, dir, name, path, o->mode, o->uid, o->gid, &ino);
		if (r < 0)
			return r;
	}

	ext2_file_t f;
	errcode_t e = ext2fs_file_open2(g->fs, ino, NULL, EXT2_FILE_WRITE, &f);
	if (e)
		return ext_fail(g, e, path, "opening it");
	e = ext2fs_file_set_size2(f, 0);
	int rerr = 0;
	if (!e)
		e = copy_content(g, f, src, path, &rerr);
	errcode_t ce = ext2fs_file_close(f);
	if (!e)
		e = ce;
	if (rerr)
		return rerr;
	if (e)
		return ext_fail(g, e, path, "writing it");

	struct ext2_inode_large large;
	struct ext2_inode *ip = (struct ext2_inode *)&large;
	if ((r = read_large(g, ino, &large, path)) < 0)
		return r;
	ip->i_mtime = ip->i_ctime = g->now;
	if (o->force) {
		ip->i_mode = (uint16_t)(LINUX_S_IFREG | (o->mode & 07777));
		set_owner(ip, o->uid, o->gid);
	}
	e = ext2fs_write_inode_full(g->fs, ino, ip, sizeof(large));
	if (e)
		return ext_fail(g, e, path, "writing its inode");
	if (push(&g->rep->written, &g->rep->nwritten, path) < 0)
		return -ENOMEM;
	return 0;
}

int xp_gfs_write(struct xp_gfs *g, const char *path, const void *data, size_t len,
		 const struct xp_gfs_wopts *o)
{
	const struct source src = {data, len, -1};
	return write_from(g, path, &src, o);
}

int xp_gfs_write_fd(struct xp_gfs *g, const char *path, int fd, uint64_t max,
		    const struct xp_gfs_wopts *o)
{
	if (max > SIZE_MAX)
		return -EFBIG;
	const struct source src = {NULL, (size_t)max, fd};
	return write_from(g, path, &src, o);
}

int xp_gfs_write_buf(struct xp_gfs *g, const char *path, const struct xp_buf *b,
		     const struct xp_gfs_wopts *o)
{
	if (xp_buf_error(b))
		return -ENOMEM;
	return xp_gfs_write(g, path, xp_buf_str(b), b->len, o);
}

int xp_gfs_mkdir(struct xp_gfs *g, const char *path, mode_t mode, uint32_t uid, uint32_t gid,
		 bool fix)
{
	ext2_ino_t dir, ino;
	const char *name;
	struct ext2_inode in;
	int r = lookup_parent(g, path, &dir, &name);
	if (r < 0)
		return r == -ENOENT ? fail(g, r, "no-dir", path,
					   "cannot create '%s': its parent is missing", path)
				    : r;
	r = lookup(g, path, &ino, &in);
	bool created = false;
	if (r == -ENOENT) {
		created = true;
		errcode_t e = ext2fs_mkdir(g->fs, dir, 0, name);
		if (e == EXT2_ET_DIR_NO_SPACE) {
			e = ext2fs_expand_dir(g->fs, dir);
			if (!e)
				e = ext2fs_mkdir(g->fs, dir, 0, name);
		}
		if (e)
			return ext_fail(g, e, path, "creating it");
		r = lookup(g, path, &ino, &in);
	}
	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(in.i_mode))
		return fail(g, -ENOTDIR, "not-dir", path, "'%s' is not a directory", path);
	if (!fix && !created)
		return 0;
	in.i_mode = (uint16_t)(LINUX_S_IFDIR | (mode & 07777));
	set_owner(&in, uid, gid);
	in.i_ctime = g->now;
	errcode_t e = ext2fs_write_inode(g->fs, ino, &in);
	return e ? ext_fail(g, e, path, "writing its inode") : 0;
}

int xp_gfs_mkdirs(struct xp_gfs *g, const char *path)
{
	size_t len = strlen(path);
	if (path[0] != '/')
		return -EINVAL;
	char *dir = malloc(len + 1);
	if (!dir)
		return -ENOMEM;
	int r = 0;
	/* each prefix ending before a '/', then the whole path */
	for (size_t i = 1; r == 0 && i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		memcpy(dir, path, i);
		dir[i] = '\0';
		if (!xp_gfs_is_dir(g, dir)) /* a symlink to a directory is one */
			r = xp_gfs_mkdir(g, dir, 0755, 0, 0, false);
	}
	free(dir);
	return r;
}

/* Where a new entry at path goes: its directory's inode and its last name, whatever
 * non-directory is there removed first; a directory there is -EISDIR, a missing
 * directory -ENOENT (both with a diagnostic). */
static int clear_path(struct xp_gfs *g, const char *path, ext2_ino_t *dir, const char **name)
{
	int r = lookup_parent(g, path, dir, name);
	if (r < 0)
		return r == -ENOENT ? fail(g, r, "no-dir", path,
					   "cannot create '%s': its directory is missing", path)
				    : r;
	mode_t mode;
	r = xp_gfs_lstat(g, path, &mode);
	if (r == 0 && LINUX_S_ISDIR(mode))
		return fail(g, -EISDIR, "is-dir", path, "cannot write '%s': it is a directory",
			    path);
	if (r == 0)
		r = xp_gfs_remove(g, path, false);
	return r == -ENOENT ? 0 : r;
}

int xp_gfs_symlink(struct xp_gfs *g, const char *path, const char *target)
{
	ext2_ino_t dir;
	const char *name;
	int r = clear_path(g, path, &dir, &name);
	if (r < 0)
		return r;
	errcode_t e = ext2fs_symlink(g->fs, dir, 0, name, target);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(g->fs, dir);
		if (!e)
			e = ext2fs_symlink(g->fs, dir, 0, name, target);
	}
	if (e)
		return ext_fail(g, e, path, "creating the symlink");
	return push(&g->rep->written, &g->rep->nwritten, path) < 0 ? -ENOMEM : 0;
}

int xp_gfs_list(struct xp_gfs *g, const char *path, char ***names, size_t *n)
{
	ext2_ino_t ino;
	*names = NULL;
	*n = 0;
	if (ext2fs_namei_follow(g->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino) ||
	    ext2fs_check_directory(g->fs, ino))
		return 0;
	struct xp_fs_entry *v;
	size_t k;
	errcode_t e;
	int r = xp__ext2_dir_list(g->fs, ino, false, &v, &k, &e);
	if (r < 0 || e)
		return e ? ext_fail(g, e, path, "listing it") : r;
	char **out = calloc(k ? k : 1, sizeof(*out));
	for (size_t i = 0; out && i < k; i++) {
		out[i] = v[i].name;
		v[i].name = NULL;
	}
	xp_fs_list_free(v, k);
	if (!out)
		return -ENOMEM;
	*names = out;
	*n = k;
	return 0;
}

/* ---- what an image update needs (guest-update.c) -------------------------------------- */

struct xattr_names {
	char ***v;
	size_t *n;
};

static int collect_xattr_name(char *name, char *value, size_t value_len, void *data)
{
	(void)value;
	(void)value_len;
	struct xattr_names *ns = data;
	return push(ns->v, ns->n, name) < 0 ? XATTR_ABORT : 0;
}

int xp_gfs_set_meta(struct xp_gfs *g, const char *path, const struct xp_gfs_meta *m)
{
	ext2_ino_t ino;
	struct ext2_inode in;
	int r = lookup(g, path, &ino, &in);
	if (r < 0)
		return r;
	struct ext2_inode_large large;
	struct ext2_inode *ip = (struct ext2_inode *)&large;
	if ((r = read_large(g, ino, &large, path)) < 0)
		return r;
	errcode_t e;
	ip->i_mode = (uint16_t)((ip->i_mode & LINUX_S_IFMT) | (m->mode & 07777));
	set_owner(ip, m->uid, m->gid);
	/* 32-bit seconds and, in a large inode, the nanoseconds and epoch bits (ext4's
	 * i_mtime_extra: 2 epoch bits, 30 nanosecond bits) */
	ip->i_mtime = (uint32_t)m->mtime;
	ip->i_atime = (uint32_t)m->mtime;
	ip->i_ctime = g->now;
	if (EXT2_INODE_SIZE(g->fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	    large.i_extra_isize >= offsetof(struct ext2_inode_large, i_crtime) -
				       EXT2_GOOD_OLD_INODE_SIZE) {
		uint32_t epoch = (uint32_t)(((uint64_t)m->mtime - (uint64_t)(int32_t)m->mtime) >> 32) & 3;
		large.i_mtime_extra = (m->mtime_ns << 2) | epoch;
		large.i_atime_extra = large.i_mtime_extra;
		large.i_ctime_extra = 0;
	}
	e = ext2fs_write_inode_full(g->fs, ino, ip, sizeof(large));
	return e ? ext_fail(g, e, path, "writing its inode") : 0;
}

int xp_gfs_set_xattrs(struct xp_gfs *g, const char *path, const struct xp_gfs_xattr *v,
		      size_t n)
{
	ext2_ino_t ino;
	struct ext2_inode in;
	int r = lookup(g, path, &ino, &in);
	if (r < 0)
		return r;
	struct ext2_xattr_handle *h = NULL;
	errcode_t e = ext2fs_xattrs_open(g->fs, ino, &h);
	if (!e)
		e = ext2fs_xattrs_read(h);
	if (e) {
		if (h)
			ext2fs_xattrs_close(&h);
		return ext_fail(g, e, path, "reading its extended attributes");
	}
	char **old = NULL;
	size_t nold = 0;
	r = ext2fs_xattrs_iterate(h, collect_xattr_name, &(struct xattr_names){&old, &nold}) ? -EIO
											     : 0;
	for (size_t i = 0; r == 0 && i < nold; i++) {
		e = ext2fs_xattr_remove(h, old[i]);
		if (e)
			r = ext_fail(g, e, path, "removing an extended attribute");
	}
	xp_gfs_names_free(old, nold);
	for (size_t i = 0; r == 0 && i < n; i++) {
		e = ext2fs_xattr_set(h, v[i].name, v[i].value, v[i].len);
		if (e == EXT2_ET_EA_NO_SPACE)
			r = fail(g, -E2BIG, "xattr", path,
				 "'%s': extended attributes do not fit in one block (at '%s')", path,
				 v[i].name);
		else if (e)
			r = ext_fail(g, e, path, "setting an extended attribute");
	}
	e = ext2fs_xattrs_close(&h);
	if (r == 0 && e)
		r = ext_fail(g, e, path, "writing its extended attributes");
	return r;
}

int xp_gfs_link(struct xp_gfs *g, const char *existing, const char *path)
{
	ext2_ino_t ino, dir;
	struct ext2_inode in;
	const char *name;
	int r = lookup(g, existing, &ino, &in);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.i_mode))
		return fail(g, -EISDIR, "is-dir", existing, "'%s' is a directory", existing);
	r = clear_path(g, path, &dir, &name);
	if (r < 0)
		return r;
	/* the removal may have dropped a link of the same inode: read it again */
	errcode_t e = ext2fs_read_inode(g->fs, ino, &in);
	if (e)
		return ext_fail(g, e, existing, "reading its inode");
	if (in.i_links_count >= 65000)
		return fail(g, -EMLINK, "links", existing, "'%s' has too many links", existing);
	e = link_retry(g->fs, dir, name, ino, xp_ext2_dirent_type(in.i_mode));
	if (e)
		return ext_fail(g, e, path, "adding it to its directory");
	in.i_links_count++;
	in.i_ctime = g->now;
	e = ext2fs_write_inode(g->fs, ino, &in);
	if (e)
		return ext_fail(g, e, existing, "writing its inode");
	return push(&g->rep->written, &g->rep->nwritten, path) < 0 ? -ENOMEM : 0;
}

int xp_gfs_mknod(struct xp_gfs *g, const char *path, mode_t mode, uint32_t major,
		 uint32_t minor)
{
	ext2_ino_t dir, ino;
	const char *name;
	int r = clear_path(g, path, &dir, &name);
	if (r < 0)
		return r;
	errcode_t e = ext2fs_new_inode(g->fs, dir, (int)mode, NULL, &ino);
	if (e)
		return ext_fail(g, e, path, "allocating an inode");
	e = link_retry(g->fs, dir, name, ino, xp_ext2_dirent_type((unsigned)mode));
	if (e)
		return ext_fail(g, e, path, "adding it to its directory");
	ext2fs_inode_alloc_stats2(g->fs, ino, +1, 0);
	struct ext2_inode in;
	memset(&in, 0, sizeof(in));
	in.i_mode = (uint16_t)mode;
	in.i_links_count = 1;
	in.i_atime = in.i_ctime = in.i_mtime = g->now;
	/* device numbers as the kernel's ext4 stores them (old encoding when it fits, as
	 * create_inode.c's do_mknod_internal) */
	if (major < 256 && minor < 256) {
		in.i_block[0] = major * 256 + minor;
		in.i_block[1] = 0;
	} else {
		in.i_block[0] = 0;
		in.i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
	}
	e = ext2fs_write_new_inode(g->fs, ino, &in);
	if (e)
		return ext_fail(g, e, path, "writing its inode");
	return push(&g->rep->written, &g->rep->nwritten, path) < 0 ? -ENOMEM : 0;
}

int xp_gfs_rmdir(struct xp_gfs *g, const char *path)
{
	ext2_ino_t dir, ino;
	const char *name;
	struct ext2_inode in;
	int r = lookup_entry(g, path, &dir, &name, &ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(in.i_mode))
		return fail(g, -ENOTDIR, "not-dir", path, "'%s' is not a directory", path);
	char **names;
	size_t n;
	r = xp_gfs_list(g, path, &names, &n);
	if (r < 0)
		return r;
	xp_gfs_names_free(names, n);
	if (n)
		return fail(g, -ENOTEMPTY, "not-empty", path, "'%s' is not empty", path);
	errcode_t e = ext2fs_unlink(g->fs, dir, name, ino, 0);
	if (e)
		return ext_fail(g, e, path, "unlinking it");
	/* as debugfs's rmdir: the directory's inode freed, its parent loses the ".." link */
	in.i_links_count = 1;
	e = ext2fs_write_inode(g->fs, ino, &in);
	if (e)
		return ext_fail(g, e, path, "writing its inode");
	r = release_inode(g, ino, path);
	if (r < 0)
		return r;
	struct ext2_inode pin;
	e = ext2fs_read_inode(g->fs, dir, &pin);
	if (!e && pin.i_links_count > 1) {
		pin.i_links_count--;
		pin.i_ctime = pin.i_mtime = g->now;
		e = ext2fs_write_inode(g->fs, dir, &pin);
	}
	if (e)
		return ext_fail(g, e, path, "updating its parent directory");
	return push(&g->rep->removed, &g->rep->nremoved, path) < 0 ? -ENOMEM : 0;
}
