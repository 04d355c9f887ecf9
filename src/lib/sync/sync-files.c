/*
 * sync-files.c - putting a set of files in place for `xenprov sync`: the directories
 * beneath a target's root (opened with openat2 RESOLVE_BENEATH, made on demand), each
 * file staged complete before it gets its name, so that a reader (the TFTP server)
 * sees the old bytes or the new, never half: a new file as an unnamed O_TMPFILE linked
 * in, a replacement as a temporary beside it renamed over it; made durable before it
 * is named (the caller: fsync of each file when few, syncfs(2) when many: 30,000
 * fsyncs would be the longest part of a full sync), the directories synced after.
 *
 * Not here: what the files say (sync.c, dhcp-include.c, boot/).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sync/sync-internal.h"
#include "util/copy.h"

#define TMP_SUFFIX ".xenprov-sync"

struct dir {
	char *rel;  /* "" the root itself */
	int fd;	    /* -1: found missing */
	bool dirty; /* an entry was made, renamed or removed: fsync it */
};

struct xp__sync_dirs {
	struct dir *v;
	size_t n, cap;
	mode_t umask; /* the process's, read once */
};

/* The process's umask, read without changing it (/proc/self/status, Linux 4.7), or
 * 0777 when it cannot be read (then every file is chmod'ed). */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned m = 0777;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &m) == 1)
			break;
	if (f)
		fclose(f);
	return (mode_t)m;
}

int xp__sync_dirs_open(const char *root, struct xp__sync_dirs **ret)
{
	*ret = NULL;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct xp__sync_dirs *D = calloc(1, sizeof(*D));
	char *rel = strdup("");
	if (!D || !rel || xp_grow(&D->v, &D->cap, 0, sizeof(*D->v), 8) < 0) {
		free(D);
		free(rel);
		close(fd);
		return -ENOMEM;
	}
	D->v[0] = (struct dir){.rel = rel, .fd = fd};
	D->n = 1;
	D->umask = current_umask();
	*ret = D;
	return 0;
}

void xp__sync_dirs_free(struct xp__sync_dirs *D)
{
	if (!D)
		return;
	for (size_t i = 0; i < D->n; i++) {
		if (D->v[i].fd >= 0)
			close(D->v[i].fd);
		free(D->v[i].rel);
	}
	free(D->v);
	free(D);
}

int xp__sync_dirs_root(const struct xp__sync_dirs *D)
{
	return D->v[0].fd;
}

static int open_beneath(int root, const char *rel)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, root, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static struct dir *find(struct xp__sync_dirs *D, const char *rel, size_t len)
{
	for (size_t i = 0; i < D->n; i++)
		if (strlen(D->v[i].rel) == len && memcmp(D->v[i].rel, rel, len) == 0)
			return &D->v[i];
	return NULL;
}

/* The directory rel[0..len) beneath the root, made (0755, its parent marked dirty)
 * when create says so. A symlink leading out of the root is refused (-EXDEV). A
 * directory found missing is remembered so (fd -1): a first sync asks about each of
 * its 30,000 files before the directories exist. */
static int dir_at(struct xp__sync_dirs *D, const char *rel, size_t len, bool create,
		  struct dir **out)
{
	struct dir *d = find(D, rel, len);
	if (d && (d->fd >= 0 || !create)) {
		*out = d;
		return d->fd >= 0 ? 0 : -ENOENT;
	}
	int fd = -ENOENT;
	char *name = strndup(rel, len);
	if (!name)
		return -ENOMEM;
	if (!d)
		fd = open_beneath(D->v[0].fd, name);
	if (fd == -ENOENT && create) {
		const char *slash = memrchr(rel, '/', len);
		struct dir *parent;
		size_t plen = slash ? (size_t)(slash - rel) : 0;
		int r = dir_at(D, rel, plen, true, &parent);
		if (r < 0) {
			free(name);
			return r;
		}
		const char *base = slash ? name + plen + 1 : name;
		if (mkdirat(parent->fd, base, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			free(name);
			return r;
		}
		parent->dirty = true;
		fd = open_beneath(D->v[0].fd, name);
		d = find(D, rel, len); /* the parent's making may have moved the array */
	}
	if (fd < 0 && fd != -ENOENT) {
		free(name);
		return fd;
	}
	if (d) { /* known missing, made now */
		free(name);
		d->fd = fd;
		*out = d;
		return fd >= 0 ? 0 : fd;
	}
	if (xp_grow(&D->v, &D->cap, D->n, sizeof(*D->v), 8) < 0) {
		if (fd >= 0)
			close(fd);
		free(name);
		return -ENOMEM;
	}
	D->v[D->n] = (struct dir){.rel = name, .fd = fd};
	*out = &D->v[D->n++];
	return fd >= 0 ? 0 : fd;
}

int xp__sync_dir_of(struct xp__sync_dirs *D, const char *path, bool create, int *dirfd,
		    const char **base)
{
	const char *slash = strrchr(path, '/');
	struct dir *d;
	int r = dir_at(D, path, slash ? (size_t)(slash - path) : 0, create, &d);
	if (r < 0)
		return r;
	*dirfd = d->fd;
	*base = slash ? slash + 1 : path;
	return 0;
}

void xp__sync_dirs_mark(struct xp__sync_dirs *D, int dirfd)
{
	for (size_t i = 0; dirfd >= 0 && i < D->n; i++)
		if (D->v[i].fd == dirfd)
			D->v[i].dirty = true;
}

int xp__sync_dirs_sync(struct xp__sync_dirs *D)
{
	int r = 0;
	for (size_t i = 0; i < D->n; i++) {
		if (!D->v[i].dirty)
			continue;
		if (fsync(D->v[i].fd) < 0 && errno != EINVAL && r == 0)
			r = -errno;
		D->v[i].dirty = false;
	}
	return r;
}

/* ---- one file ---------------------------------------------------------------------- */

static int tmp_name(const char *base, char *tmp, size_t size)
{
	int n = snprintf(tmp, size, ".%s" TMP_SUFFIX, base);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The bytes into fd: data, or the whole of src when src >= 0; its mode whatever the
 * umask (a chmod only where the umask took something away); fsync'ed when durable. */
static int fill(int fd, const void *data, size_t len, int src, mode_t mode, mode_t umask,
		bool durable)
{
	int r = src >= 0 ? xp_copy_file(src, fd, XP_COPY_CLONE) : xp_write_full(fd, data, len);
	if (r == 0 && (umask & mode) && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	return r;
}

int xp__sync_stage(const struct xp__sync_dirs *D, int dirfd, const char *base, const void *data,
		   size_t len, int src, mode_t mode, bool fresh, bool durable, int *unnamed)
{
	*unnamed = -1;
	int r;
	if (fresh) {
		/* a new file: unnamed until complete, then linked in. One directory entry
		 * made instead of a temporary's and a rename, and a crash leaves nothing */
		int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
		if (fd >= 0) {
			if ((r = fill(fd, data, len, src, mode, D->umask, durable)) < 0) {
				close(fd);
				return r;
			}
			*unnamed = fd;
			return 0;
		}
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -errno;
		/* a filesystem without O_TMPFILE: a named temporary, as for a replacement */
	}
	char tmp[NAME_MAX + 1];
	if ((r = tmp_name(base, tmp, sizeof(tmp))) < 0)
		return r;
	/* O_EXCL|O_NOFOLLOW: never through a symlink someone planted under that name. A
	 * temporary a killed sync left is ours to replace: removed and made again (only
	 * then: asking first would cost a directory lookup per file) */
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = fill(fd, data, len, src, mode, D->umask, durable);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

void xp__sync_unstage(int dirfd, const char *base, int unnamed)
{
	if (unnamed >= 0) { /* an unnamed file vanishes with its last descriptor */
		close(unnamed);
		return;
	}
	char tmp[NAME_MAX + 1];
	if (tmp_name(base, tmp, sizeof(tmp)) == 0)
		unlinkat(dirfd, tmp, 0);
}

int xp__sync_tmp_open(int dirfd, const char *base)
{
	char tmp[NAME_MAX + 1];
	int r = tmp_name(base, tmp, sizeof(tmp));
	if (r < 0)
		return r;
	/* O_NONBLOCK: never waits on a FIFO someone put in its place */
	int fd = openat(dirfd, tmp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int xp__sync_tmp_path(const char *path, char **out)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	if (asprintf(out, "%.*s.%s" TMP_SUFFIX, (int)dlen, path, path + dlen) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int xp__sync_name(int dirfd, const char *base, int unnamed)
{
	int r = 0;
	if (unnamed >= 0) {
		/* linkat(2): an O_TMPFILE file gets a name by its descriptor
		 * (AT_EMPTY_PATH, with CAP_DAC_READ_SEARCH), else through /proc/self/fd;
		 * never over a file that appeared meanwhile (EEXIST) */
		if (linkat(unnamed, "", dirfd, base, AT_EMPTY_PATH) < 0) {
			r = -errno;
			if (r == -ENOENT || r == -EPERM) {
				char proc[64];
				snprintf(proc, sizeof(proc), "/proc/self/fd/%d", unnamed);
				r = linkat(AT_FDCWD, proc, dirfd, base, AT_SYMLINK_FOLLOW) < 0
					? -errno
					: 0;
			}
		}
		close(unnamed);
	} else {
		char tmp[NAME_MAX + 1];
		if ((r = tmp_name(base, tmp, sizeof(tmp))) < 0)
			return r;
		if (renameat(dirfd, tmp, dirfd, base) < 0) {
			r = -errno;
			unlinkat(dirfd, tmp, 0);
		}
	}
	return r;
}

int xp__sync_install(struct xp__sync_dirs *D, int dirfd, const char *base, int unnamed)
{
	int r = xp__sync_name(dirfd, base, unnamed);
	if (r == 0)
		xp__sync_dirs_mark(D, dirfd);
	return r;
}

int xp__sync_unlink(struct xp__sync_dirs *D, int dirfd, const char *base)
{
	if (unlinkat(dirfd, base, 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	xp__sync_dirs_mark(D, dirfd);
	return 0;
}

int xp__sync_same(int dirfd, const char *base, const char *sha, struct stat *st)
{
	int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EISDIR : -errno; /* a symlink: not a file of ours */
	struct stat sb;
	if (!st)
		st = &sb;
	int r = fstat(fd, st) < 0 ? -errno : 0;
	if (r == 0 && !S_ISREG(st->st_mode))
		r = -EISDIR;
	unsigned char dg[32];
	char hex[65];
	if (r == 0 && (r = xp_sha256_fd(fd, dg)) == 0) {
		xp_sha256_hex(dg, hex);
		r = strcmp(hex, sha) == 0;
	}
	close(fd);
	return r;
}
