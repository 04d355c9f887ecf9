/*
 * capture-copy.c - xenprov's own copy of a local tree into a new version (or into a lazy
 * version's delta): what `rsync -aHAXS --numeric-ids [--one-file-system] --exclude=...`
 * makes of it, in one pass that hashes each regular file's bytes while it copies them,
 * so the manifest (manifest.c) takes those hashes instead of reading the files back.
 *
 * Why not rsync here: for a local tree rsync runs three processes (sender, generator,
 * receiver) that pass every byte through a pipe, checksum it, write each file under a
 * temporary name and rename it, and end with a sleep-polled exit handshake; the
 * manifest then reads every byte again to hash it. This copy reads each byte once
 * (hashing it on the way), writes it once, under its final name, on one thread per
 * CPU. It is used only where it makes exactly what rsync would: the exclusions are
 * matched by rsync-filter.c, which refuses any pattern it cannot match as rsync does
 * (then rsync copies, capture.c), and a remote source is rsync's alone.
 *
 * What rsync's options mean here: -a (-rlptgoD) the tree with symlinks, permissions,
 * mtimes (to the nanosecond; atimes untouched), owners and groups (--numeric-ids: the
 * numbers), devices and specials (fifos, sockets); -H hard links (among what this copy
 * makes); -A -X every extended attribute this user can read, POSIX ACLs included;
 * -S a file with holes keeps them (its data extents are copied, the rest is a hole;
 * rsync -S also makes holes of runs of zeros in a file without any: disk use may differ,
 * never content); -X the xattrs rsync takes (no system.* name but the POSIX ACLs);
 * --one-file-system a directory on another filesystem is made empty, with its own
 * attributes, and not entered. A file that vanishes between the walk and its copy is
 * left out and reported as rsync's exit 24 is (vanished); any other failure to read or
 * write fails the copy (rsync's exit 23: capture.c then keeps nothing).
 *
 * Order, as rsync's: a file's owner, then its mode (chown clears set-id bits), then its
 * xattrs (chown clears a file capability; an ACL matches the mode), then its mtime; the
 * hard links once every file is written; each directory's attributes last, deepest
 * first (creating an entry in a directory sets its mtime).
 *
 * Not here: which entries a later capture copies (capture-skip.c), the manifest
 * (manifest.c), the store (imgstore.c), the rsync fallback and machine-id (capture.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "image/imgstore-internal.h"
#include "image/rsync-filter.h"
#include "util/cleanup.h"

#define COPY_BUF   (256u << 10)
#define MAX_DEPTH  4096
#define MAX_THREADS 8

/* A regular file to copy (the first of its hard-link group). */
struct job {
	char *rel;    /* "/a/b" */
	struct stat st; /* as the walk saw it */
};

/* A later member of a hard-link group: linked to its first once the files are written. */
struct link {
	char *rel, *first;
};

/* A directory made by the copy: its attributes are set last. */
struct dir {
	char *rel;
	struct stat st;
};

/* A hard-link group's first path, by the source inode. */
struct group {
	dev_t dev;
	ino_t ino;
	char *first;
};

struct copy {
	const struct xp_capture_opts *o;
	const struct xp_rsync_filter *f;
	int sfd, dfd;	/* the source's root, the destination's root */
	int bfd;	/* a lazy version's base tree (-1: none), base_m its manifest */
	const struct xp_manifest *base_m;
	dev_t dev;	/* the source root's filesystem */
	struct xp_buf path;
	struct job *jobs;
	size_t njobs, capjobs;
	struct link *links;
	size_t nlinks, caplinks;
	struct dir *dirs;
	size_t ndirs, capdirs;
	struct group *groups;
	size_t ngroups, capgroups;
	struct xp_copied *copied; /* per job: the destination inode and the hash */
	size_t seen;
	bool vanished;
	struct xp_diags *d;
	/* the workers */
	atomic_size_t next;
	atomic_int err;
	atomic_size_t bad;
	atomic_bool stop;
	atomic_uint_fast64_t bytes;
	atomic_size_t done;
	atomic_bool gone; /* a file vanished during the copy */
	pthread_mutex_t wmu; /* running, with wdone: the main thread waits on it */
	pthread_cond_t wdone;
	size_t running; /* workers not yet done */
	/* the base inodes same_as_base linked to: one job each (two jobs equal to two
	 * paths of one base inode are two files now: the source broke the link) */
	pthread_mutex_t lmu;
	struct group *based;
	size_t nbased, capbased;
};

static size_t group_hash(dev_t dev, ino_t ino)
{
	uint64_t x = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;
	return (size_t)(x ^ (x >> 29));
}

static void copy_release(struct copy *c)
{
	for (size_t i = 0; i < c->njobs; i++)
		free(c->jobs[i].rel);
	free(c->jobs);
	for (size_t i = 0; i < c->nlinks; i++)
		free(c->links[i].rel);
	free(c->links);
	for (size_t i = 0; i < c->ndirs; i++)
		free(c->dirs[i].rel);
	free(c->dirs);
	free(c->groups); /* first: the jobs' paths */
	free(c->based);
	pthread_mutex_destroy(&c->lmu);
	xp_buf_release(&c->path);
}

static bool cancelled(struct copy *c)
{
	return c->o->cancelled && c->o->cancelled(c->o->ud);
}

static int cancel_fail(struct copy *c)
{
	return xp_diags_fail(c->d, -ECANCELED, NULL, "cancelled", NULL,
			     "capture of '%s' interrupted: nothing kept", c->o->source);
}

/* "/a/b" -> "a/b" (the root: ".") for the *at calls below the two roots. */
static const char *at(const char *rel)
{
	return rel[1] ? rel + 1 : ".";
}

/* ---- extended attributes, by descriptor or by path ------------------------------------ */

/* Copies every xattr of the source entry to the destination: through descriptors
 * (sfd, dfd >= 0) or, for a symlink or a special file, through paths (not followed). */
static int copy_xattrs(int sfd, const char *spath, int dfd, const char *dpath)
{
	char stackl[1024];
	char *list = stackl;
	ssize_t n = sfd >= 0 ? flistxattr(sfd, list, sizeof(stackl))
			     : llistxattr(spath, list, sizeof(stackl));
	if (n < 0 && errno == ERANGE) {
		ssize_t want = sfd >= 0 ? flistxattr(sfd, NULL, 0) : llistxattr(spath, NULL, 0);
		if (want < 0)
			return -errno;
		if (want > XP_XATTR_LIST_MAX)
			return -E2BIG;
		if (!(list = malloc((size_t)want + 1)))
			return -ENOMEM;
		n = sfd >= 0 ? flistxattr(sfd, list, (size_t)want)
			     : llistxattr(spath, list, (size_t)want);
	}
	if (n < 0) {
		int e = errno;
		if (list != stackl)
			free(list);
		return e == ENOTSUP ? 0 : -e;
	}
	int r = 0;
	char *val = NULL;
	for (ssize_t off = 0; r == 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
		const char *name = list + off;
		/* rsync -AX on Linux: the POSIX ACLs of the system namespace, no other
		 * (an NFSv4 or CIFS ACL is the source filesystem's, not a file's) */
		if (strncmp(name, "system.", 7) == 0 && strcmp(name, "system.posix_acl_access") &&
		    strcmp(name, "system.posix_acl_default"))
			continue;
		ssize_t vl = sfd >= 0 ? fgetxattr(sfd, name, NULL, 0) : lgetxattr(spath, name, NULL, 0);
		if (vl < 0) {
			if (errno != ENODATA) /* removed since the list: as rsync, left out */
				r = -errno;
			continue;
		}
		if (vl > XP_XATTR_VALUE_MAX) {
			r = -E2BIG;
			break;
		}
		char *nv = realloc(val, (size_t)vl + 1);
		if (!nv) {
			r = -ENOMEM;
			break;
		}
		val = nv;
		vl = sfd >= 0 ? fgetxattr(sfd, name, val, (size_t)vl)
			      : lgetxattr(spath, name, val, (size_t)vl);
		if (vl < 0) {
			if (errno != ENODATA && errno != ERANGE)
				r = -errno;
			else if (errno == ERANGE)
				r = -EAGAIN; /* grew meanwhile: the caller fails, nothing kept */
			continue;
		}
		if ((dfd >= 0 ? fsetxattr(dfd, name, val, (size_t)vl, 0)
			      : lsetxattr(dpath, name, val, (size_t)vl, 0)) < 0)
			r = -errno;
	}
	free(val);
	if (list != stackl)
		free(list);
	return r;
}

/* ---- the walk: directories, links, specials made; regular files listed ------------------ */

static int add_dir(struct copy *c, const char *rel, const struct stat *st)
{
	char *p = strdup(rel);
	if (!p || xp_grow(&c->dirs, &c->capdirs, c->ndirs, sizeof(*c->dirs), 256) < 0) {
		free(p);
		return -ENOMEM;
	}
	c->dirs[c->ndirs++] = (struct dir){p, *st};
	return 0;
}

static int fail_at(struct copy *c, int r, const char *rel, const char *what)
{
	return xp_diags_fail(c->d, r, rel, NULL, NULL, "cannot %s: %s", what, strerror(-r));
}

/* A symlink, device, fifo or socket made at rel with st's attributes. */
static int make_special(struct copy *c, const char *rel, const struct stat *st)
{
	const char *a = at(rel);
	int r = 0;
	if (S_ISLNK(st->st_mode)) {
		size_t cap = (size_t)st->st_size + 2;
		if (cap < 64)
			cap = 64;
		_cleanup_free_ char *t = malloc(cap);
		ssize_t n = t ? readlinkat(c->sfd, a, t, cap - 1) : -1;
		if (n < 0)
			return errno == ENOENT ? (c->vanished = true, 0)
					       : fail_at(c, t ? -errno : -ENOMEM, rel, "read the symlink");
		if ((size_t)n >= cap - 1)
			return fail_at(c, -EAGAIN, rel, "read the symlink (it changed)");
		t[n] = 0;
		if (symlinkat(t, c->dfd, a) < 0)
			return fail_at(c, -errno, rel, "create");
	} else {
		if (mknodat(c->dfd, a, (st->st_mode & S_IFMT) | 0600,
			    S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? st->st_rdev : 0) < 0)
			return fail_at(c, -errno, rel, "create");
	}
	if (fchownat(c->dfd, a, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_at(c, -errno, rel, "set the owner of");
	if (!S_ISLNK(st->st_mode) && fchmodat(c->dfd, a, st->st_mode & 07777, 0) < 0)
		return fail_at(c, -errno, rel, "set the mode of");
	/* a symlink's or a special file's xattrs, through the paths (opening a fifo would
	 * block, a device would be opened) */
	struct xp_buf sp = XP_BUF_INIT, dp = XP_BUF_INIT;
	xp_buf_addf(&sp, "/proc/self/fd/%d/%s", c->sfd, a);
	xp_buf_addf(&dp, "/proc/self/fd/%d/%s", c->dfd, a);
	if (xp_buf_error(&sp) || xp_buf_error(&dp))
		r = -ENOMEM;
	else
		r = copy_xattrs(-1, xp_buf_str(&sp), -1, xp_buf_str(&dp));
	xp_buf_release(&sp);
	xp_buf_release(&dp);
	if (r == -ENOENT) { /* gone since the walk: left out, as rsync does */
		(void)unlinkat(c->dfd, a, 0);
		c->vanished = true;
		return 0;
	}
	if (r < 0)
		return fail_at(c, r, rel, "copy the extended attributes of");
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, st->st_mtim};
	if (utimensat(c->dfd, a, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_at(c, -errno, rel, "set the time of");
	return 0;
}

/* The group of a non-directory with more than one link: its first path (NULL: this is
 * the first, now recorded), found in an open-addressing table keyed by the source inode
 * (kept at most half full). */
static int group_first(struct copy *c, char *rel, const struct stat *st, const char **first)
{
	*first = NULL;
	if (2 * (c->ngroups + 1) > c->capgroups) {
		size_t cap = c->capgroups ? 2 * c->capgroups : 256;
		struct group *t = calloc(cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < c->capgroups; i++) {
			if (!c->groups[i].first)
				continue;
			size_t h = group_hash(c->groups[i].dev, c->groups[i].ino) & (cap - 1);
			while (t[h].first)
				h = (h + 1) & (cap - 1);
			t[h] = c->groups[i];
		}
		free(c->groups);
		c->groups = t;
		c->capgroups = cap;
	}
	size_t h = group_hash(st->st_dev, st->st_ino) & (c->capgroups - 1);
	for (; c->groups[h].first; h = (h + 1) & (c->capgroups - 1))
		if (c->groups[h].dev == st->st_dev && c->groups[h].ino == st->st_ino) {
			*first = c->groups[h].first;
			return 0;
		}
	/* rel: the caller's copy, kept (as a job's path) for the copy's lifetime */
	c->groups[h] = (struct group){st->st_dev, st->st_ino, rel};
	c->ngroups++;
	return 0;
}

static int walk(struct copy *c, int depth);

/* One entry at c->path (its stat st): excluded, made, listed or entered. */
static int entry(struct copy *c, const struct stat *st, int depth)
{
	const char *rel = xp_buf_str(&c->path);
	bool isdir = S_ISDIR(st->st_mode);
	if (c->f && xp_rsync_filter_excluded(c->f, rel, isdir))
		return 0;
	if ((++c->seen & 1023) == 0 && cancelled(c))
		return cancel_fail(c);
	if (isdir) {
		struct stat ex;
		if (mkdirat(c->dfd, at(rel), 0700) < 0 &&
		    !(errno == EEXIST && fstatat(c->dfd, at(rel), &ex, AT_SYMLINK_NOFOLLOW) == 0 &&
		      S_ISDIR(ex.st_mode))) /* one the skip made: its attributes set again */
			return fail_at(c, -errno, rel, "create");
		int r = add_dir(c, rel, st);
		if (r == 0 && (c->o->all_filesystems || st->st_dev == c->dev))
			r = walk(c, depth + 1);
		return r;
	}
	const char *first = NULL;
	char *mine = NULL;
	if (st->st_nlink > 1) {
		if (!(mine = strdup(rel)))
			return -ENOMEM;
		int r = group_first(c, mine, st, &first);
		if (r < 0) {
			free(mine);
			return r;
		}
		if (first) {
			if (xp_grow(&c->links, &c->caplinks, c->nlinks, sizeof(*c->links), 64) < 0) {
				free(mine);
				return -ENOMEM;
			}
			c->links[c->nlinks++] = (struct link){mine, (char *)first};
			return 0;
		}
	}
	if (S_ISREG(st->st_mode)) {
		if (!mine && !(mine = strdup(rel)))
			return -ENOMEM;
		if (xp_grow(&c->jobs, &c->capjobs, c->njobs, sizeof(*c->jobs), 1024) < 0) {
			free(mine);
			return -ENOMEM;
		}
		c->jobs[c->njobs++] = (struct job){mine, *st};
		return 0;
	}
	int r = make_special(c, rel, st);
	if (r < 0 || !mine)
		free(mine);
	else if (xp_grow(&c->jobs, &c->capjobs, c->njobs, sizeof(*c->jobs), 1024) < 0)
		free(mine), r = -ENOMEM;
	else /* kept as the group's first path; no content to copy (size -1) */
		c->jobs[c->njobs++] = (struct job){mine, {.st_mode = st->st_mode, .st_size = -1}};
	return r;
}

/* The entries of the source directory at c->path, in readdir order. */
static int walk(struct copy *c, int depth)
{
	const char *rel = xp_buf_str(&c->path);
	if (depth > MAX_DEPTH)
		return fail_at(c, -ELOOP, rel, "copy (nested too deep)");
	int fd = openat(c->sfd, at(rel), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (e == ENOENT || e == ENOTDIR || e == ELOOP) {
			/* gone (or replaced) since its entry was read: left out, as rsync
			 * does; entry() made it and noted it last */
			c->vanished = true;
			(void)unlinkat(c->dfd, at(rel), AT_REMOVEDIR);
			if (c->ndirs && strcmp(c->dirs[c->ndirs - 1].rel, rel) == 0)
				free(c->dirs[--c->ndirs].rel);
			return 0;
		}
		return fail_at(c, -e, rel, "list");
	}
	size_t len = c->path.len;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) {
				c->vanished = true;
				continue;
			}
			r = fail_at(c, -errno, de->d_name, "stat");
			break;
		}
		xp_buf_truncate(&c->path, len);
		if (len == 1) /* the root, "/" */
			xp_buf_adds(&c->path, de->d_name);
		else
			xp_buf_addf(&c->path, "/%s", de->d_name);
		if (xp_buf_error(&c->path)) {
			r = -ENOMEM;
			break;
		}
		r = entry(c, &st, depth);
	}
	int e = errno;
	xp_buf_truncate(&c->path, len);
	if (r == 0 && e != 0 && !de) /* rel may have moved: the buffer grew */
		r = fail_at(c, -e, xp_buf_str(&c->path), "list");
	closedir(dir);
	return r;
}

/* ---- the regular files, on one thread per CPU --------------------------------------------- */

/* Writes all of buf to fd at off. */
static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Copies [off, off+len) of s to d, hashing it; *got: what was read (less at EOF). */
static int copy_range(int s, int d, struct xp_sha256 *h, char *buf, off_t off, uint64_t len,
		      uint64_t *got, atomic_bool *stop)
{
	*got = 0;
	while (len) {
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return -ECANCELED; /* given up (or another file failed): a chunk's wait */
		size_t want = len < COPY_BUF ? (size_t)len : COPY_BUF;
		ssize_t n = pread(s, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0; /* shrank since the walk: what it has now */
		int r = xp_sha256_add(h, buf, (size_t)n);
		if (r == 0)
			r = pwrite_all(d, buf, (size_t)n, off);
		if (r < 0)
			return r;
		off += n;
		len -= (uint64_t)n;
		*got += (uint64_t)n;
	}
	return 0;
}

/* The bytes of s into d, hashed: its data extents only when it has holes (rsync -S; the
 * holes hashed as the zeros they read as). The file's size is the walk's: a file still
 * being written is taken as far as it was then (rsync sends the size it listed). */
static int copy_bytes(int s, int d, const struct stat *st, struct xp_sha256 *h, char *buf,
		      uint64_t *size, atomic_bool *stop)
{
	uint64_t total = (uint64_t)st->st_size, got;
	*size = 0;
	if ((uint64_t)st->st_blocks * 512 >= total) {
		int r = copy_range(s, d, h, buf, 0, total, &got, stop);
		*size = got;
		return r;
	}
	static const char zeros[4096];
	off_t pos = 0;
	while ((uint64_t)pos < total) {
		off_t data = lseek(s, pos, SEEK_DATA);
		if (data < 0 && errno != ENXIO)
			return -errno;
		if (data < 0 || (uint64_t)data > total)
			data = (off_t)total; /* a hole to the end */
		for (off_t z = pos; z < data;) {
			if (atomic_load_explicit(stop, memory_order_relaxed))
				return -ECANCELED;
			size_t n = (size_t)(data - z) < sizeof(zeros) ? (size_t)(data - z) : sizeof(zeros);
			int r = xp_sha256_add(h, zeros, n);
			if (r < 0)
				return r;
			z += (off_t)n;
		}
		if ((uint64_t)data >= total)
			break;
		off_t hole = lseek(s, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole > total)
			hole = (off_t)total;
		if (hole <= data)
			return -EAGAIN; /* changed under us */
		int r = copy_range(s, d, h, buf, data, (uint64_t)(hole - data), &got, stop);
		if (r < 0)
			return r;
		if (got < (uint64_t)(hole - data)) {
			*size = (uint64_t)data + got;
			return ftruncate(d, (off_t)*size) < 0 ? -errno : 0;
		}
		pos = hole;
	}
	*size = total;
	return ftruncate(d, (off_t)total) < 0 ? -errno : 0;
}

/* A later capture's file whose ctime is new but whose size, mtime (to the nanosecond),
 * owner, mode, xattrs and bytes are the base tree's file's: linked to the
 * base's inode as rsync's --link-dest would (a file touched, not changed, costs no
 * bytes), its bytes compared by hash first, nothing written otherwise. The first of a
 * hard-link group too (the skip hands every group over whole, capture-skip.c): the
 * group's other paths are linked to it, so to the base's inode, after the copy. 1 when
 * linked, 0 when it is to be copied, -errno. */
static int same_as_base(struct copy *c, const struct job *j, int s, struct xp_sha256 *h,
			char *buf)
{
	if (c->bfd < 0)
		return 0;
	const struct xp_manifest_entry *e = xp_manifest_find(c->base_m, j->rel);
	struct stat bs;
	if (!e || e->type != 'f' || e->size != (uint64_t)j->st.st_size ||
	    e->mode != (j->st.st_mode & 07777) || e->uid != j->st.st_uid ||
	    e->gid != j->st.st_gid || e->mtime != (int64_t)j->st.st_mtim.tv_sec ||
	    fstatat(c->bfd, at(j->rel), &bs, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(bs.st_mode) ||
	    bs.st_size != j->st.st_size || bs.st_mtim.tv_sec != j->st.st_mtim.tv_sec ||
	    bs.st_mtim.tv_nsec != j->st.st_mtim.tv_nsec)
		return 0;
	char hex[65] = "";
	ssize_t xl = flistxattr(s, NULL, 0);
	if (xl < 0 && errno != ENOTSUP)
		return 0;
	if (xl > 0) {
		/* the manifest's hash of them, read by the source's path (l*xattr do not
		 * follow a /proc/self/fd link: they would read the link's own) */
		_cleanup_free_ char *p = NULL;
		if (asprintf(&p, "%s%s", c->o->source, j->rel) < 0 || xp__xattrs_hash(p, hex) < 0)
			return 0;
	}
	if (strcmp(hex, e->xattrs) != 0)
		return 0;
	unsigned char dg[32];
	int r = xp_sha256_restart(h);
	/* its bytes hashed chunk by chunk, a cancel seen between two (copy_range's way) */
	for (off_t off = 0; r == 0;) {
		if (atomic_load_explicit(&c->stop, memory_order_relaxed)) {
			r = -ECANCELED;
			break;
		}
		ssize_t n = pread(s, buf, COPY_BUF, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		r = xp_sha256_add(h, buf, (size_t)n);
		off += n;
	}
	if (r == 0)
		r = xp_sha256_final(h, dg);
	if (r < 0)
		return r;
	xp_sha256_hex(dg, hex);
	if (strcmp(hex, e->sha256) != 0)
		return 0;
	bool taken = false;
	pthread_mutex_lock(&c->lmu);
	for (size_t i = 0; i < c->nbased && !taken; i++)
		taken = c->based[i].dev == bs.st_dev && c->based[i].ino == bs.st_ino;
	if (!taken && xp_grow(&c->based, &c->capbased, c->nbased, sizeof(*c->based), 16) == 0)
		c->based[c->nbased++] = (struct group){bs.st_dev, bs.st_ino, NULL};
	else
		taken = true; /* or no memory to note it: copied */
	pthread_mutex_unlock(&c->lmu);
	if (taken)
		return 0;
	if (linkat(c->bfd, at(j->rel), c->dfd, at(j->rel), 0) < 0)
		return errno == EMLINK || errno == EXDEV ? 0 : -errno;
	return 1;
}

/* Copies job k: -errno, or 1 when the file vanished since the walk (nothing made yet). */
static int copy_one(struct copy *c, size_t k, struct xp_sha256 *h, char *buf)
{
	struct job *j = &c->jobs[k];
	if (j->st.st_size < 0)
		return 0; /* a special file kept for its hard links */
	/* O_NONBLOCK: a FIFO put there since the walk must not block the copy */
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOATIME;
	int s = openat(c->sfd, at(j->rel), flags);
	if (s < 0 && errno == EPERM) /* O_NOATIME: the owner's or root's only */
		s = openat(c->sfd, at(j->rel), flags & ~O_NOATIME);
	if (s < 0) /* gone, or replaced by a symlink or a FIFO or socket: gone, as rsync says */
		return errno == ENOENT || errno == ELOOP || errno == ENXIO ? 1 : -errno;
	struct stat now;
	if (fstat(s, &now) < 0 || !S_ISREG(now.st_mode)) {
		close(s);
		return 1; /* replaced by something else since the walk: gone, as rsync says */
	}
	int r = same_as_base(c, j, s, h, buf);
	if (r != 0) {
		close(s);
		return r < 0 ? r : 0;
	}
	int d = openat(c->dfd, at(j->rel), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0600);
	if (d < 0) {
		int e = -errno;
		close(s);
		return e;
	}
	r = xp_sha256_restart(h);
	uint64_t size = 0;
	if (r == 0)
		r = copy_bytes(s, d, &j->st, h, buf, &size, &c->stop);
	unsigned char dg[32];
	if (r == 0)
		r = xp_sha256_final(h, dg);
	if (r == 0 && fchown(d, j->st.st_uid, j->st.st_gid) < 0)
		r = -errno;
	if (r == 0 && fchmod(d, j->st.st_mode & 07777) < 0)
		r = -errno;
	if (r == 0)
		r = copy_xattrs(s, NULL, d, NULL);
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, j->st.st_mtim};
	if (r == 0 && futimens(d, ts) < 0)
		r = -errno;
	struct stat ds;
	if (r == 0 && fstat(d, &ds) < 0)
		r = -errno;
	if (r == 0) {
		struct xp_copied *out = &c->copied[k];
		out->dev = ds.st_dev;
		out->ino = ds.st_ino;
		xp_sha256_hex(dg, out->sha256);
		atomic_fetch_add(&c->bytes, size);
	}
	close(s);
	close(d);
	return r;
}

/* Records the first failure and stops every thread. */
static void fail_all(struct copy *c, int r, size_t k)
{
	int zero = 0;
	if (atomic_compare_exchange_strong(&c->err, &zero, r))
		atomic_store(&c->bad, k);
	atomic_store(&c->stop, true);
}

/* Copies the next file: 1 when there was one, 0 when none is left or a thread failed
 * (fail_all). */
static int take_one(struct copy *c, struct xp_sha256 *h, char *buf)
{
	size_t k = atomic_fetch_add(&c->next, 1);
	if (k >= c->njobs || atomic_load(&c->stop))
		return 0;
	int r = copy_one(c, k, h, buf);
	if (r == 1) { /* vanished before its copy was made: left out, as rsync does */
		atomic_store(&c->gone, true);
		r = 0;
	}
	atomic_fetch_add(&c->done, 1);
	if (r < 0) {
		fail_all(c, r, k);
		return 0;
	}
	return 1;
}

static void *worker(void *arg)
{
	struct copy *c = arg;
	struct xp_sha256 *h = NULL;
	char *buf = malloc(COPY_BUF);
	if (!buf || xp_sha256_new(&h) < 0)
		fail_all(c, -ENOMEM, 0);
	else
		while (take_one(c, h, buf) == 1)
			;
	xp_sha256_free(h);
	free(buf);
	pthread_mutex_lock(&c->wmu);
	c->running--;
	pthread_cond_signal(&c->wdone);
	pthread_mutex_unlock(&c->wmu);
	return NULL;
}

/* The workers copy; the main thread waits for them, asks ten times a second whether the
 * operator gave up (a cancel stops every worker within one chunk of the file it copies,
 * however large) and reports progress once a second. */
static int copy_all(struct copy *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (size_t)cpus;
	if (nt > c->njobs / 16 + 1)
		nt = c->njobs / 16 + 1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&c->wmu, NULL);
	pthread_cond_init(&c->wdone, &ca);
	pthread_condattr_destroy(&ca);
	pthread_t th[MAX_THREADS];
	size_t started = 0;
	pthread_mutex_lock(&c->wmu);
	for (size_t i = 0; i < nt; i++)
		if (pthread_create(&th[started], NULL, worker, c) == 0)
			c->running = ++started;
	pthread_mutex_unlock(&c->wmu);
	int r = 0;
	if (!started) { /* no thread to be had: this one copies, unwatched */
		c->running = 1;
		worker(c);
	}
	struct timespec last;
	clock_gettime(CLOCK_MONOTONIC, &last);
	pthread_mutex_lock(&c->wmu);
	while (c->running) {
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_nsec += 100000000; /* a tenth of a second: the cancel's latency */
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&c->wdone, &c->wmu, &dl) != ETIMEDOUT || !c->running)
			continue;
		pthread_mutex_unlock(&c->wmu);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool second = now.tv_sec > last.tv_sec;
		if (second)
			last = now;
		if (r == 0 && cancelled(c)) {
			atomic_store(&c->stop, true);
			r = -ECANCELED;
		} else if (r == 0 && second && c->o->progress) {
			char line[128];
			snprintf(line, sizeof(line), "%zu of %zu files, %llu MiB",
				 atomic_load(&c->done), c->njobs,
				 (unsigned long long)(atomic_load(&c->bytes) >> 20));
			c->o->progress(c->o->ud, line);
		}
		pthread_mutex_lock(&c->wmu);
	}
	pthread_mutex_unlock(&c->wmu);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_cond_destroy(&c->wdone);
	pthread_mutex_destroy(&c->wmu);
	if (r == -ECANCELED)
		return cancel_fail(c);
	int e = atomic_load(&c->err);
	if (e < 0) {
		if (e == -ENOMEM)
			return e;
		return xp_diags_fail(c->d, e, c->jobs[atomic_load(&c->bad)].rel, NULL, NULL,
				     "cannot copy: %s", strerror(-e));
	}
	return r;
}

/* ---- after the files: hard links, directories' attributes ----------------------------------- */

/* A hard-link group's path made in place of the group's first, which vanished before
 * it was made: copied from the source as the first would have been (a regular file a
 * job of its own, with its hash), as rsync hands a group to its next member. 0 when it
 * is made, 1 when it vanished too, -errno. */
static int promote(struct copy *c, const char *rel, struct xp_sha256 **h, char **buf)
{
	struct stat st;
	if (fstatat(c->sfd, at(rel), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 1 : fail_at(c, -errno, rel, "stat");
	if (S_ISDIR(st.st_mode))
		return 1; /* replaced by a directory since the walk: not this group's */
	if (!S_ISREG(st.st_mode)) {
		bool before = c->vanished;
		c->vanished = false;
		int r = make_special(c, rel, &st);
		bool gone = c->vanished;
		c->vanished = before || gone;
		return r < 0 ? r : gone ? 1 : 0;
	}
	char *mine = strdup(rel);
	if (!mine || xp_grow(&c->jobs, &c->capjobs, c->njobs, sizeof(*c->jobs), 64) < 0) {
		free(mine);
		return -ENOMEM;
	}
	struct xp_copied *cp = realloc(c->copied, (c->njobs + 1) * sizeof(*cp));
	if (!cp) {
		free(mine);
		return -ENOMEM;
	}
	c->copied = cp;
	memset(&c->copied[c->njobs], 0, sizeof(*cp));
	size_t k = c->njobs++;
	c->jobs[k] = (struct job){mine, st};
	if (!*h && xp_sha256_new(h) < 0)
		return -ENOMEM;
	if (!*buf && !(*buf = malloc(COPY_BUF)))
		return -ENOMEM;
	int r = copy_one(c, k, *h, *buf);
	return r < 0 ? fail_at(c, r, rel, "copy") : r;
}

static int finish(struct copy *c, const char *src, const char *dst)
{
	/* the groups whose first vanished: the path made in its place (in c->links) */
	struct {
		const char *first, *now;
	} *moved = NULL;
	size_t nmoved = 0, capmoved = 0;
	struct xp_sha256 *h = NULL;
	char *buf = NULL;
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->nlinks; i++) {
		const struct link *l = &c->links[i];
		const char *first = l->first;
		for (size_t m = 0; m < nmoved; m++)
			if (moved[m].first == l->first)
				first = moved[m].now;
		if (linkat(c->dfd, at(first), c->dfd, at(l->rel), 0) == 0)
			continue;
		if (errno != ENOENT) {
			r = fail_at(c, -errno, l->rel, "link");
			break;
		}
		/* the group's first vanished before it was made: this path takes its
		 * place, unless it vanished too (then the next one tries) */
		c->vanished = true;
		if ((r = promote(c, l->rel, &h, &buf)) != 0) {
			r = r < 0 ? r : 0;
			continue;
		}
		size_t m = 0;
		while (m < nmoved && moved[m].first != l->first)
			m++;
		if (m == nmoved) {
			if (xp_grow(&moved, &capmoved, nmoved, sizeof(*moved), 8) < 0) {
				r = -ENOMEM;
				break;
			}
			nmoved++;
		}
		moved[m].first = l->first;
		moved[m].now = l->rel;
	}
	free(moved);
	xp_sha256_free(h);
	free(buf);
	if (r < 0)
		return r;
	struct xp_buf sp = XP_BUF_INIT, dp = XP_BUF_INIT;
	for (size_t i = c->ndirs; r == 0 && i-- > 0;) {
		const struct dir *t = &c->dirs[i];
		xp_buf_truncate(&sp, 0);
		xp_buf_truncate(&dp, 0);
		/* the root as "SRC/": a source that is a symlink to a directory is followed,
		 * as rsync follows SRC/ (l*xattr would read the symlink's own) */
		xp_buf_addf(&sp, "%s%s", src, t->rel[1] ? t->rel : "/");
		xp_buf_addf(&dp, "%s%s", dst, t->rel[1] ? t->rel : "");
		if (xp_buf_error(&sp) || xp_buf_error(&dp))
			r = -ENOMEM;
		else if ((r = xp__dir_attrs_set(&t->st, xp_buf_str(&sp), xp_buf_str(&dp))) < 0)
			fail_at(c, r, t->rel, "set the attributes of");
	}
	xp_buf_release(&sp);
	xp_buf_release(&dp);
	return r;
}

/* Whether rel or a directory above it is excluded (an entry of a skip's list is judged
 * as rsync's recursion would have reached it). */
static bool excluded_path(const struct xp_rsync_filter *f, char *rel, bool dir)
{
	if (!f)
		return false;
	for (char *s = strchr(rel + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		bool ex = xp_rsync_filter_excluded(f, rel, true);
		*s = '/';
		if (ex)
			return true;
	}
	return xp_rsync_filter_excluded(f, rel, dir);
}

static int copied_cmp(const void *a, const void *b)
{
	const struct xp_copied *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int xp__capture_copy(const struct xp_capture_opts *o, const struct xp_rsync_filter *f,
		     const char *to, const char *list, size_t list_len, const char *base,
		     const struct xp_manifest *base_m, struct xp_copied **copied,
		     size_t *ncopied, bool *vanished, struct xp_diags *d)
{
	*copied = NULL;
	*ncopied = 0;
	*vanished = false;
	struct copy c = {.o = o, .f = f, .sfd = -1, .dfd = -1, .bfd = -1, .base_m = base_m, .d = d};
	pthread_mutex_init(&c.lmu, NULL);
	_cleanup_close_ int bfd = base ? open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (base && bfd < 0)
		return xp_diags_fail(d, -errno, base, NULL, NULL, "cannot open: %s", strerror(errno));
	c.bfd = base_m ? bfd : -1;
	xp_buf_init(&c.path);
	_cleanup_close_ int sfd = open(o->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dfd = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat rst;
	int r = 0;
	if (sfd < 0 || fstat(sfd, &rst) < 0) {
		r = xp_diags_fail(d, -errno, o->source, NULL, NULL, "cannot open: %s",
				  strerror(errno));
		goto out;
	}
	if (dfd < 0) {
		r = xp_diags_fail(d, -errno, to, NULL, NULL, "cannot open: %s", strerror(errno));
		goto out;
	}
	c.sfd = sfd;
	c.dfd = dfd;
	c.dev = rst.st_dev;
	if (!list) {
		/* the whole tree: the root's content, then the root given the source's
		 * attributes (rsync SRC/ DST/) */
		xp_buf_adds(&c.path, "/");
		if ((r = add_dir(&c, "/", &rst)) == 0)
			r = walk(&c, 0);
	} else {
		/* a skip's entries ("a/b", NUL-ended), each with its content: their
		 * directories are there already (capture-skip.c made them) */
		for (size_t off = 0; r == 0 && off < list_len; off += strlen(list + off) + 1) {
			xp_buf_truncate(&c.path, 0);
			xp_buf_addf(&c.path, "/%s", list + off);
			if (xp_buf_error(&c.path)) {
				r = -ENOMEM;
				break;
			}
			char *rel = c.path.s;
			struct stat st;
			if (strcmp(rel, "/.") == 0 || strstr(rel, "/../") || strstr(rel, "/./")) {
				r = xp_diags_fail(d, -EINVAL, rel, NULL, NULL,
						  "not an entry below the source");
				break;
			}
			if (fstatat(sfd, rel + 1, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT) {
					c.vanished = true;
					continue;
				}
				r = fail_at(&c, -errno, rel, "stat");
				break;
			}
			if (excluded_path(f, rel, S_ISDIR(st.st_mode)))
				continue;
			/* entry() judges the entry itself again: the same answer */
			r = entry(&c, &st, 1);
		}
	}
#ifdef XP_TEST_HOOKS
	/* tests only (image-capture-copy.sh; absent from a release build): the first path
	 * of every hard-link group of regular files vanishes from the source between the
	 * walk and the copy */
	const char *vanish = getenv("XENPROV_TEST_COPY_VANISH_FIRSTS");
	for (size_t i = 0; r == 0 && vanish && *vanish && i < c.njobs; i++)
		if (S_ISREG(c.jobs[i].st.st_mode) && c.jobs[i].st.st_nlink > 1)
			(void)unlinkat(sfd, at(c.jobs[i].rel), 0);
#endif
	if (r == 0 && c.njobs) {
		if (!(c.copied = calloc(c.njobs, sizeof(*c.copied))))
			r = -ENOMEM;
		else
			r = copy_all(&c);
	}
	if (r == 0)
		r = finish(&c, o->source, to);
	if (r == 0) {
		/* the copied files' hashes, by their new inodes (those with a hash) */
		size_t n = 0;
		for (size_t i = 0; i < c.njobs; i++)
			if (c.copied[i].sha256[0])
				c.copied[n++] = c.copied[i];
		if (n)
			qsort(c.copied, n, sizeof(*c.copied), copied_cmp);
		*copied = XP_TAKE_PTR(c.copied);
		*ncopied = n;
		*vanished = c.vanished || atomic_load(&c.gone);
	}
out:
	free(c.copied);
	copy_release(&c);
	return r;
}

const struct xp_copied *xp__copied_find(const struct xp_copied *v, size_t n, dev_t dev,
					ino_t ino)
{
	struct xp_copied k = {.dev = dev, .ino = ino};
	return n ? bsearch(&k, v, n, sizeof(*v), copied_cmp) : NULL;
}
