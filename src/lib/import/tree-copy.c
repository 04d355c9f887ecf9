/*
 * tree-copy.c - a distribution tree put into the boot server's root, so that its HTTP
 * serves it to installers (Cobbler's ks_mirror): made to hold exactly the tree, file by
 * file, with as little I/O as the filesystems allow and none at all the second time.
 *
 * A file of a directory tree on the root's filesystem is hard-linked (no bytes copied:
 * a DVD's 4 GiB cost nothing), unless others may not read it (the server reads as its
 * own user, and a link keeps the source's mode); anything else is copied into an
 * unnamed file (O_TMPFILE) with copy_file_range (util/copy.c: reflinks where the
 * filesystem has them), given the source's mtime, mode 0644. Either is put in place by
 * rename(2), so a reader sees the old file or the new one, never half of one. A file
 * already there with the same size and mtime (a hard link is the same inode) is kept:
 * that is what makes a second import change nothing. Symlinks that stay inside the tree
 * (a netboot tree's pxelinux.0 -> debian-installer/amd64/pxelinux.0) are made again;
 * one that leaves it is left out, as the server would refuse to follow it anyway.
 * Whatever the directory holds that the tree does not is removed, so a newer tree
 * imported under the same name leaves nothing stale. Everything is done from directory
 * descriptors with openat2(2) RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: a symlink planted
 * in the root cannot send a write elsewhere. One syncfs(2) at the end, not an fsync a
 * file.
 *
 * Not here: which directory (import.c), reading the tree (tree.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/import-internal.h"
#include "util/copy.h"

/* The directory dfd/name (no symlink followed) opened for reading, or NULL (errno). */
static DIR *dir_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir && fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return dir;
}

static int remove_at(int dfd, const char *name, int depth)
{
	struct stat sb;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(sb.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (depth > XP_TREE_MAX_DEPTH)
		return -ELOOP;
	DIR *dir = dir_at(dfd, name);
	if (!dir)
		return -errno;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = remove_at(dirfd(dir), de->d_name, depth + 1);
	closedir(dir);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int xp__tree_remove(int dirfd, const char *name)
{
	return remove_at(dirfd, name, 0);
}

/* ---- one entry ----------------------------------------------------------------------- */

struct sync {
	const struct xp_tree *t;
	int top; /* the tree's directory in the root */
	dev_t top_dev;
	int pfd;      /* the last parent directory opened, for the next entry */
	char *pdir;   /* its path below top ("" for top) */
	char tmp[48]; /* the temporary name files get before their rename */
	struct xp_tree_sync *st;
};

/* The directory holding path (its parent, opened below top). Borrowed descriptor. */
static int parent_of(struct sync *s, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	*base = slash ? slash + 1 : path;
	if (s->pdir && strlen(s->pdir) == n && strncmp(s->pdir, path, n) == 0)
		return s->pfd;
	char *dir = strndup(path, n);
	if (!dir)
		return -ENOMEM;
	int fd = n ? xp_open_beneath(s->top, dir, O_PATH | O_DIRECTORY, true) : dup(s->top);
	if (fd < 0) {
		free(dir);
		return n ? fd : -errno;
	}
	if (s->pfd >= 0)
		close(s->pfd);
	free(s->pdir);
	s->pfd = fd;
	s->pdir = dir;
	return fd;
}

/* Puts the file made under s->tmp in place of base (a directory there goes first). */
static int put(struct sync *s, int pfd, const char *base)
{
	struct stat sb;
	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
		int r = remove_at(pfd, base, 0);
		if (r < 0) {
			unlinkat(pfd, s->tmp, 0);
			return r;
		}
	}
	if (renameat(pfd, s->tmp, pfd, base) < 0) {
		int r = -errno;
		unlinkat(pfd, s->tmp, 0);
		return r;
	}
	return 0;
}

static int copy_file(struct sync *s, const struct tree_entry *e, int pfd, const char *base)
{
	int src;
	uint64_t off, len;
	int r = xp__tree_region(s->t, e->path, &src, &off, &len);
	if (r < 0)
		return r;
	int dirfd_ = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int tmp = dirfd_ >= 0 ? openat(dirfd_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644) : -1;
	bool named = false;
	if (tmp < 0 && dirfd_ >= 0) { /* no O_TMPFILE here: a name from the start */
		unlinkat(pfd, s->tmp, 0);
		tmp = openat(pfd, s->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		named = tmp >= 0;
	}
	if (tmp < 0) {
		r = -errno;
		goto out;
	}
	struct timespec times[2] = {
	    {.tv_sec = 0, .tv_nsec = UTIME_OMIT},
	    {.tv_sec = e->mtime_ns / 1000000000, .tv_nsec = e->mtime_ns % 1000000000},
	};
	if (ftruncate(tmp, (off_t)len) < 0 || fchmod(tmp, 0644) < 0)
		r = -errno;
	else if ((r = xp_copy_range(src, (off_t)off, tmp, 0, (off_t)len, 0)) == 0 &&
		 futimens(tmp, times) < 0)
		r = -errno;
	if (r == 0 && !named) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tmp);
		unlinkat(pfd, s->tmp, 0);
		if (linkat(AT_FDCWD, proc, dirfd_, s->tmp, AT_SYMLINK_FOLLOW) < 0)
			r = -errno;
	}
	if (r == 0)
		r = put(s, pfd, base);
	else if (named)
		unlinkat(pfd, s->tmp, 0);
	if (r == 0)
		s->st->copied++;
	close(tmp);
out:
	if (dirfd_ >= 0)
		close(dirfd_);
	close(src);
	return r;
}

/* A hard link of a directory tree's file: 1 made, 0 not possible here (copy instead). */
static int link_file(struct sync *s, const struct tree_entry *e, int pfd, const char *base)
{
	if (s->t->iso || e->dev != s->top_dev || !(e->mode & S_IROTH))
		return 0;
	int src = xp_open_beneath(s->t->fd, e->path, O_PATH, true);
	if (src < 0)
		return src;
	struct stat sb;
	int r = 0;
	if (fstat(src, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_ino != e->ino) {
		r = -EAGAIN; /* changed since it was listed */
	} else {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
		unlinkat(pfd, s->tmp, 0);
		int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || linkat(AT_FDCWD, proc, dfd, s->tmp, AT_SYMLINK_FOLLOW) < 0)
			/* EXDEV (a bind mount between), EPERM (protected_hardlinks): copy */
			r = errno == EXDEV || errno == EPERM || errno == EMLINK ? 0 : -errno;
		else
			r = 1;
		if (dfd >= 0)
			close(dfd);
	}
	close(src);
	if (r == 1 && (r = put(s, pfd, base)) == 0) {
		s->st->linked++;
		r = 1;
	}
	return r;
}

static int sync_file(struct sync *s, const struct tree_entry *e, int pfd, const char *base)
{
	struct stat sb;
	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size == e->size &&
	    (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec == e->mtime_ns) {
		s->st->kept++;
		return 0;
	}
	int r = link_file(s, e, pfd, base);
	return r != 0 ? (r > 0 ? 0 : r) : copy_file(s, e, pfd, base);
}

static int sync_link(struct sync *s, const struct tree_entry *e, int pfd, const char *base)
{
	/* only one that leads to something inside the tree (no absolute target) */
	if (!xp__tree_inside(s->t, e->path)) {
		s->st->left_out++;
		return remove_at(pfd, base, 0);
	}
	char have[4096];
	ssize_t k = readlinkat(pfd, base, have, sizeof(have) - 1);
	if (k >= 0) {
		have[k] = '\0';
		if (strcmp(have, e->link) == 0) {
			s->st->kept++;
			return 0;
		}
	}
	unlinkat(pfd, s->tmp, 0);
	if (symlinkat(e->link, pfd, s->tmp) < 0)
		return -errno;
	int r = put(s, pfd, base);
	if (r == 0)
		s->st->symlinks++;
	return r;
}

static int sync_dir(int pfd, const char *base)
{
	struct stat sb;
	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		if (unlinkat(pfd, base, 0) < 0)
			return -errno;
	}
	return mkdirat(pfd, base, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* ---- what the tree no longer has ---------------------------------------------------- */

static int sweep(struct sync *s, int dfd, struct xp_buf *path, int depth)
{
	if (depth > XP_TREE_MAX_DEPTH)
		return -ELOOP;
	DIR *dir = dir_at(dfd, ".");
	if (!dir)
		return -errno;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		size_t keep = path->len;
		if (path->len)
			xp_buf_addc(path, '/');
		xp_buf_adds(path, de->d_name);
		if ((r = xp_buf_error(path)) < 0)
			break;
		const struct tree_entry *e = xp__tree_lookup(s->t, path->s);
		struct stat sb;
		if (!e || (e->type == TREE_LNK && !xp__tree_inside(s->t, e->path))) {
			if ((r = remove_at(dirfd(dir), de->d_name, 0)) == 0)
				s->st->removed += !e;
		} else if (e->type == TREE_DIR &&
			   fstatat(dirfd(dir), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			   S_ISDIR(sb.st_mode)) {
			int sub = openat(dirfd(dir), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? -errno : sweep(s, sub, path, depth + 1);
			if (sub >= 0)
				close(sub);
		}
		xp_buf_truncate(path, keep);
	}
	closedir(dir);
	return r;
}

int xp__tree_sync(const struct xp_tree *t, int dirfd, const char *name, bool *made,
		  struct xp_tree_sync *st, struct xp_diags *d)
{
	memset(st, 0, sizeof(*st));
	*made = false;
	if (mkdirat(dirfd, name, 0755) == 0)
		*made = true;
	else if (errno != EEXIST)
		return xp_diags_fail(d, -errno, NULL, "tree", NULL,
				     "cannot make the directory '%s': %s", name, strerror(errno));
	struct sync s = {.t = t, .pfd = -1, .st = st};
	snprintf(s.tmp, sizeof(s.tmp), ".xenprov-import-%d", (int)getpid());
	s.top = xp_open_beneath(dirfd, name, O_RDONLY | O_DIRECTORY, true);
	struct stat sb;
	if (s.top < 0 || fstat(s.top, &sb) < 0)
		return xp_diags_fail(d, s.top < 0 ? s.top : -errno, NULL, "tree", NULL,
				     "cannot open the directory '%s': %s", name,
				     strerror(s.top < 0 ? -s.top : errno));
	s.top_dev = sb.st_dev;
	int r = 0;
	for (size_t i = 0; i < t->n && r == 0; i++) {
		const struct tree_entry *e = &t->v[i];
		const char *base;
		int pfd = parent_of(&s, e->path, &base);
		if (pfd < 0) {
			r = pfd;
		} else if (e->type == TREE_DIR) {
			r = sync_dir(pfd, base);
		} else if (e->type == TREE_LNK) {
			r = sync_link(&s, e, pfd, base);
		} else {
			r = sync_file(&s, e, pfd, base);
			if (r == -EAGAIN) /* changed while importing: copy what is there now */
				r = copy_file(&s, e, pfd, base);
		}
		if (r < 0)
			xp_diags_fail(d, r, NULL, "tree", NULL, "cannot put '%s' into '%s': %s",
				      e->path, name, strerror(-r));
	}
	if (s.pfd >= 0)
		close(s.pfd);
	free(s.pdir);
	if (r == 0) {
		struct xp_buf path = XP_BUF_INIT;
		r = sweep(&s, s.top, &path, 0);
		xp_buf_release(&path);
		if (r < 0)
			xp_diags_fail(d, r, NULL, "tree", NULL,
				      "cannot remove what the tree no longer has from '%s': %s",
				      name, strerror(-r));
	}
	if (r == 0 && syncfs(s.top) < 0)
		r = xp_diags_fail(d, -errno, NULL, "tree", NULL, "cannot sync '%s': %s", name,
				  strerror(errno));
	close(s.top);
	return r;
}
