/*
 * file.c - bounded whole-file reads, atomic replacement (temp + fsync + rename + fsync
 * of the directory) or creation (the same, renamed with RENAME_NOREPLACE), opening
 * beneath a directory (openat2) and directory-wide advisory locks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "xenprov/util.h"

int xp_read_file(const char *path, size_t max, char **data, size_t *len)
{
	int fd;
	bool is_stdin = strcmp(path, "-") == 0;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		if (!is_stdin)
			close(fd);
		return e;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!is_stdin)
			close(fd);
		return -EISDIR;
	}
	struct xp_buf b = XP_BUF_INIT;
	int r = 0;
	for (;;) {
		if (xp_buf_reserve(&b, 65536) < 0) {
			r = -ENOMEM;
			break;
		}
		ssize_t n = xp_read_some(fd, b.s + b.len, 65536);
		if (n <= 0) {
			r = (int)n;
			break;
		}
		b.len += (size_t)n;
		b.s[b.len] = 0;
		if (b.len > max) {
			r = -EFBIG;
			break;
		}
	}
	if (!is_stdin)
		close(fd);
	if (r < 0) {
		xp_buf_release(&b);
		return r;
	}
	*len = b.len;
	*data = xp_buf_steal(&b);
	return *data ? 0 : -ENOMEM;
}

static char *dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	char *d = strdup(dirname(copy));
	free(copy);
	return d;
}

/* Opens the temporary file of an atomic write: unnamed (O_TMPFILE) where the filesystem
 * allows, so that a crash or kill -9 leaves nothing behind; else a named one. */
static int open_temp(const char *dir, char *tmp, size_t tmpsz, const char *base, bool *named)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		*named = false;
		return fd;
	}
	snprintf(tmp, tmpsz, "%s/.%s.XXXXXX", dir, base);
	*named = true;
	fd = mkostemp(tmp, O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Gives an unnamed temporary a name in dir, to rename it from. */
static int name_temp(int fd, const char *dir, const char *base, char *tmp, size_t tmpsz)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int i = 0; i < 100; i++) {
		snprintf(tmp, tmpsz, "%s/.%s.%d.%d", dir, base, (int)getpid(), i);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int xp_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int xp_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return xp_write_atomic_flags(path, data, len, mode, 0);
}

int xp_write_atomic_flags(const char *path, const void *data, size_t len, mode_t mode,
			  unsigned flags)
{
	bool sync = !(flags & XP_WRITE_NOSYNC);
	/* a symlink (e.g. /etc/xen/auto/NAME) is followed: its target is replaced */
	_cleanup_free_ char *real = NULL;
	struct stat lst;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		real = realpath(path, NULL);
		if (!real)
			return -errno;
		path = real;
	}
	_cleanup_free_ char *dir = dir_of(path);
	_cleanup_free_ char *copy = strdup(path);
	if (!dir || !copy)
		return -ENOMEM;
	const char *base = basename(copy);
	size_t tmpsz = strlen(dir) + strlen(base) + 64;
	_cleanup_free_ char *tmp = malloc(tmpsz);
	if (!tmp)
		return -ENOMEM;

	struct stat old;
	bool have_old = stat(path, &old) == 0;
	if (have_old && (flags & XP_WRITE_NOREPLACE))
		return -EEXIST;
	if (have_old && !S_ISREG(old.st_mode))
		return -EINVAL;

	bool named;
	int fd = open_temp(dir, tmp, tmpsz, base, &named);
	if (fd < 0)
		return fd;
	int r = xp_write_full(fd, data, len);
	if (r == 0 && fchmod(fd, have_old ? (old.st_mode & 07777) : mode) < 0)
		r = -errno;
	if (r == 0 && have_old && geteuid() == 0 && fchown(fd, old.st_uid, old.st_gid) < 0)
		r = -errno;
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && !named) {
		r = name_temp(fd, dir, base, tmp, tmpsz);
		named = r == 0;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && (flags & XP_WRITE_NOREPLACE)) {
		/* one made meanwhile by another writer stays */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
			r = -errno;
			if (r == -EINVAL) /* a filesystem that cannot: a hard link, then unlink */
				r = link(tmp, path) == 0 ? (unlink(tmp), 0) : -errno;
		}
	} else if (r == 0 && rename(tmp, path) < 0) {
		r = -errno;
	}
	if (r < 0) {
		if (named)
			unlink(tmp);
		return r;
	}
	if (!sync)
		return 0;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && fsync(dfd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

void xp_write_atomic_cleanup(const char *path)
{
	_cleanup_free_ char *dir = dir_of(path);
	_cleanup_free_ char *copy = strdup(path);
	if (!dir || !copy)
		return;
	const char *base = basename(copy);
	size_t blen = strlen(base);
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	int dfd = dirfd(dh);
	struct dirent *e;
	while ((e = readdir(dh))) {
		/* ".NAME." followed by the temporary's suffix */
		if (e->d_name[0] != '.' || strncmp(e->d_name + 1, base, blen) != 0 ||
		    e->d_name[1 + blen] != '.' || e->d_name[2 + blen] == 0)
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			unlinkat(dfd, e->d_name, 0);
	}
	closedir(dh);
}

int xp_mkdir_p(const char *dir, mode_t mode)
{
	char p[4096];
	if (!*dir)
		return -EINVAL;
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	struct stat sb;
	if (stat(p, &sb) < 0)
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

int xp_open_beneath(int dfd, const char *path, int flags, bool no_symlinks)
{
	struct open_how how = {
	    .flags = (unsigned long long)(flags | O_CLOEXEC),
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0),
	};
	long fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int xp_lock_dir_of(const char *path, bool wait)
{
	_cleanup_free_ char *real = realpath(path, NULL); /* lock where the file really is */
	if (real)
		path = real;
	_cleanup_free_ char *dir = dir_of(path);
	if (!dir)
		return -ENOMEM;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EINTR)
			continue;
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

void xp_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
