/*
 * imgstore-checkout.c - the checkout of a lazy version of the image store (imgstore.h):
 * its tree made on first read from its parent's tree, its delta and its manifest, as a
 * version control system checks out a commit. A local tree's second capture writes only
 * what changed (capture.c, capture-skip.c); the tree of hard links and directories a
 * version needs (the `cp -al` floor, most of such a capture's time) is paid here, once,
 * by the first reader, and never by a version nobody reads.
 *
 * Exactness: the manifest is the list of the tree's entries; each one that the delta has
 * is the delta's (the entries rsync sent, the directories with their attributes), every
 * other one is the parent tree's inode (a hard link: content, owner, mode, times, xattrs
 * and hard-link groups are the inode's), and a directory gets the owner, xattrs (ACLs),
 * mode and times of the one it stands for (the delta's, else the parent tree's). An entry
 * of the parent's manifest that this one lacks is simply not made.
 *
 * Not here: how a delta is made (capture.c), the store's other operations (imgstore.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/imgstore-internal.h"
#include "import/import-internal.h"
#include "util/cleanup.h"

int xp__copy_xattrs(const char *src, const char *dst)
{
	struct xp_xattrs sx = {0}, dx = {0};
	int r = xp_xattrs_read(src, &sx);
	if (r == 0)
		r = xp_xattrs_read(dst, &dx);
	for (size_t i = 0; r == 0 && i < dx.n; i++) {
		bool keep = false;
		for (size_t k = 0; k < sx.n && !keep; k++)
			keep = strcmp(sx.v[k].name, dx.v[i].name) == 0;
		if (!keep && lremovexattr(dst, dx.v[i].name) < 0)
			r = -errno;
	}
	for (size_t i = 0; r == 0 && i < sx.n; i++)
		if (lsetxattr(dst, sx.v[i].name, sx.v[i].value, sx.v[i].len, 0) < 0)
			r = -errno;
	xp_xattrs_release(&sx);
	xp_xattrs_release(&dx);
	return r;
}

struct paths {
	char **v;
	size_t n, cap;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry below the directory dfd ("/a", "/a/b", ...; rel is its own path, "" for the
 * top) into p. */
static int collect(int dfd, const char *rel, struct paths *p, int depth)
{
	int fd = depth > 4096 ? -1 : dup(dfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		int r = depth > 4096 ? -ELOOP : -errno;
		if (fd >= 0)
			close(fd);
		return r;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *s = NULL;
		if (asprintf(&s, "%s/%s", rel, de->d_name) < 0 ||
		    xp_grow(&p->v, &p->cap, p->n, sizeof(*p->v), 256) < 0) {
			free(s);
			r = -ENOMEM;
			break;
		}
		p->v[p->n++] = s;
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int cfd =
			    openat(dirfd(dir), de->d_name,
				   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = cfd < 0 ? -errno : collect(cfd, s, p, depth + 1);
		}
	}
	closedir(dir);
	return r;
}

static void paths_release(struct paths *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static bool in_delta(const struct paths *p, const char *path)
{
	return p->n && bsearch(&path, p->v, p->n, sizeof(*p->v), cmp_str) != NULL;
}

int xp__dir_attrs_set(const struct stat *st, const char *src, const char *dst)
{
	int r = 0;
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, st->st_mtim};
	if (lchown(dst, st->st_uid, st->st_gid) < 0 || (r = xp__copy_xattrs(src, dst)) < 0 ||
	    chmod(dst, st->st_mode & 07777) < 0 ||
	    utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW) < 0)
		r = r < 0 ? r : -errno;
	return r;
}

/* The directory dst given src's attributes (xp__dir_attrs_set). */
static int copy_dir_attrs(const char *src, const char *dst)
{
	struct stat st;
	if (lstat(src, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return xp__dir_attrs_set(&st, src, dst);
}

/* Builds v's tree from parent_root, v's delta and v's manifest as ndir/.V.root.tmp, then
 * renames it to v->root. */
static int build(const char *ndir, const struct xp_imgver *v, const char *parent_root,
		 struct xp_diags *d)
{
	_cleanup_free_ char *delta = NULL, *tmpname = NULL, *tmp = NULL;
	if (asprintf(&delta, "%s/delta", v->dir) < 0 ||
	    asprintf(&tmpname, ".%u.root.tmp", v->version) < 0 ||
	    asprintf(&tmp, "%s/%s", ndir, tmpname) < 0)
		return -ENOMEM;
	_cleanup_close_ int nfd = open(ndir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dfd = open(delta, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int pfd =
	    open(parent_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0 || dfd < 0 || pfd < 0)
		return xp_diags_fail(d, -errno,
				     nfd < 0   ? ndir
				     : dfd < 0 ? delta
					       : parent_root,
				     NULL, NULL, "cannot open: %s", strerror(errno));
	/* a leftover of a checkout that was killed (we hold the lock: nobody else's) */
	struct stat st;
	int r = 0;
	if (fstatat(nfd, tmpname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (r = xp__tree_remove(nfd, tmpname)) < 0)
		return xp_diags_fail(d, r, tmp, NULL, NULL, "cannot remove: %s", strerror(-r));
	struct xp_manifest m = {0};
	struct paths p = {0};
	struct xp_buf src = XP_BUF_INIT, dst = XP_BUF_INIT;
	_cleanup_close_ int tfd = -1; /* before any goto: clang refuses to jump over it */
	if ((r = xp_manifest_read(v->manifest, &m, d)) < 0)
		goto out;
	if ((r = collect(dfd, "", &p, 0)) < 0) {
		xp_diags_fail(d, r, delta, NULL, NULL, "cannot read: %s", strerror(-r));
		goto out;
	}
	if (p.n)
		qsort(p.v, p.n, sizeof(*p.v), cmp_str);
	if (mkdirat(nfd, tmpname, 0700) < 0) {
		r = xp_diags_fail(d, -errno, tmp, NULL, NULL, "cannot create: %s", strerror(errno));
		goto out;
	}
	tfd = openat(nfd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0) {
		r = xp_diags_fail(d, -errno, tmp, NULL, NULL, "cannot open: %s", strerror(errno));
		goto out;
	}
	/* sorted: a directory comes before its entries */
	for (size_t i = 0; r == 0 && i < m.n; i++) {
		const struct xp_manifest_entry *e = &m.v[i];
		if (strcmp(e->path, "/") == 0)
			continue;
		const char *rel = e->path + 1;
		if (e->type == 'd'
			? mkdirat(tfd, rel, 0700) < 0
			: linkat(in_delta(&p, e->path) ? dfd : pfd, rel, tfd, rel, 0) < 0)
			r = xp_diags_fail(d, -errno, e->path, NULL, NULL,
					  "cannot check out %s@%u: %s", v->name, v->version,
					  strerror(errno));
	}
#ifdef XP_TEST_HOOKS
	/* tests only (image-capture.sh; the dev preset's XP_TEST_HOOKS, absent from a
	 * release build): stall here, the tree half made, to be killed */
	const char *stall = getenv("XENPROV_TEST_CHECKOUT_STALL");
	if (r == 0 && stall && *stall)
		sleep((unsigned)atoi(stall));
#endif
	/* deepest first: a directory's times after its entries are made */
	for (size_t i = m.n; r == 0 && i-- > 0;) {
		const struct xp_manifest_entry *e = &m.v[i];
		if (e->type != 'd')
			continue;
		bool root = strcmp(e->path, "/") == 0;
		xp_buf_truncate(&src, 0);
		xp_buf_truncate(&dst, 0);
		xp_buf_addf(&src, "%s%s", root || in_delta(&p, e->path) ? delta : parent_root,
			    root ? "" : e->path);
		xp_buf_addf(&dst, "%s%s", tmp, root ? "" : e->path);
		if (xp_buf_error(&src) || xp_buf_error(&dst)) {
			r = -ENOMEM;
			break;
		}
		if ((r = copy_dir_attrs(xp_buf_str(&src), xp_buf_str(&dst))) < 0)
			xp_diags_fail(d, r, xp_buf_str(&src), NULL, NULL,
				      "cannot check out %s@%u: %s", v->name, v->version,
				      strerror(-r));
	}
	if (r == 0 && syncfs(tfd) < 0)
		r = xp_diags_fail(d, -errno, tmp, NULL, NULL, "cannot sync: %s", strerror(errno));
	if (r == 0 && rename(tmp, v->root) < 0)
		r = xp_diags_fail(d, -errno, v->root, NULL, NULL, "cannot rename into place: %s",
				  strerror(errno));
	if (r == 0) {
		/* the rename's both directories: V/ gains root, NAME/ loses .V.root.tmp */
		_cleanup_close_ int vfd = open(v->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (vfd >= 0)
			(void)fsync(vfd);
		(void)fsync(nfd);
	} else {
		(void)xp__tree_remove(nfd, tmpname);
	}
out:
	xp_manifest_release(&m);
	paths_release(&p);
	xp_buf_release(&src);
	xp_buf_release(&dst);
	return r;
}

static bool has_tree(const struct xp_imgver *v)
{
	struct stat st;
	return lstat(v->root, &st) == 0 && S_ISDIR(st.st_mode);
}

int xp__imgver_checkout_locked(const char *ndir, const struct xp_imgver *v, struct xp_diags *d)
{
	if (has_tree(v))
		return 0;
	if (!v->parent)
		return xp_diags_fail(d, -ENOENT, v->root, NULL, NULL,
				     "%s@%u has no tree and no parent to make it from", v->name,
				     v->version);
	struct xp_imgver p;
	int r = xp__imgver_load(ndir, v->name, v->parent, &p, d);
	if (r == -ENOENT)
		return xp_diags_fail(d, r, v->dir, NULL, NULL,
				     "%s@%u is a delta on %s@%u, which is missing", v->name,
				     v->version, v->name, v->parent);
	if (r < 0)
		return r;
	r = xp__imgver_checkout_locked(ndir, &p, d);
	if (r == 0)
		r = build(ndir, v, p.root, d);
	xp_imgver_release(&p);
	return r;
}

int xp__imgver_base(const char *ndir, const struct xp_imgver *v, struct xp_imgver *base,
		    struct xp_diags *d)
{
	int r = xp__imgver_load(ndir, v->name, v->version, base, d);
	while (r == 0 && !has_tree(base)) {
		unsigned parent = base->parent;
		xp_imgver_release(base);
		if (!parent)
			return xp_diags_fail(d, -ENOENT, v->dir, NULL, NULL,
					     "%s@%u has no tree below it", v->name, v->version);
		r = xp__imgver_load(ndir, v->name, parent, base, d);
	}
	return r;
}

/* Whether this process can make v's tree: a checkout writes NAME/ (.V.root.tmp) and
 * V/ (the rename to V/root), and so does its parent's when that is lazy too. A reader
 * that cannot (another user than the store's owner, a read-only store) is told what it
 * takes, not a bare EACCES of the first mkdir; it reads no tree made elsewhere instead
 * (docs/ARCHITECTURE.md, "Lazy versions"). 0, or -EACCES/-EPERM/-EROFS with a
 * diagnostic; another failure of the check is left to the checkout's own message. */
static int can_check_out(const char *state_dir, const char *ndir, const struct xp_imgver *v,
			 struct xp_diags *d)
{
	if (faccessat(AT_FDCWD, ndir, W_OK | X_OK, AT_EACCESS) == 0 &&
	    faccessat(AT_FDCWD, v->dir, W_OK | X_OK, AT_EACCESS) == 0)
		return 0;
	int e = errno;
	if (e != EACCES && e != EPERM && e != EROFS)
		return 0;
	_cleanup_free_ char *store = NULL;
	if (xp_imgver_store_dir(state_dir, &store) < 0)
		return -ENOMEM;
	struct xp_buf hint = XP_BUF_INIT;
	struct stat st;
	if (e == EROFS)
		xp_buf_addf(&hint, "the store is on a read-only filesystem: ");
	else if (stat(ndir, &st) == 0)
		xp_buf_addf(&hint, "run the command once as root or as the store's owner (uid %u): ",
			    (unsigned)st.st_uid);
	else
		xp_buf_addf(&hint, "run the command once as root or as the store's owner: ");
	xp_buf_addf(&hint,
		    "%sany command that reads %s@%u checks it out (e.g. 'xenprov image build "
		    "--from %s@%u -o FILE'), and after that every user who can read the store "
		    "reads it as it is",
		    e == EROFS ? "mount it read-write, then " : "", v->name, v->version, v->name,
		    v->version);
	int r = xp_buf_error(&hint)
		    ? -ENOMEM
		    : xp_diags_fail(d, -e, NULL, "image-checkout", xp_buf_str(&hint),
				    "version %u of %s is not checked out yet and this user cannot "
				    "write the image store %s (%s)",
				    v->version, v->name, store, strerror(e));
	xp_buf_release(&hint);
	return r;
}

int xp_imgver_root(const char *state_dir, const struct xp_imgver *v, const char **path,
		   struct xp_diags *d)
{
	*path = v->root;
	if (has_tree(v))
		return 0;
	_cleanup_free_ char *ndir = NULL, *lockpath = NULL;
	if (xp__imgver_name_dir(state_dir, v->name, &ndir) < 0 ||
	    asprintf(&lockpath, "%s/lock", ndir) < 0)
		return -ENOMEM;
	/* the name's lock, waited for: a capture or another checkout may hold it */
	int lock = xp_lock_dir_of(lockpath, true);
	if (lock < 0)
		return xp_diags_fail(d, lock, ndir, NULL, NULL, "cannot lock: %s", strerror(-lock));
	/* under the lock: a checkout by another process may have just made the tree */
	int r = has_tree(v) ? 0 : can_check_out(state_dir, ndir, v, d);
	if (r == 0)
		r = xp__imgver_checkout_locked(ndir, v, d);
	xp_unlock(lock);
	return r;
}
