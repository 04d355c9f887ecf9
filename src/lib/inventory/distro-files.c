/*
 * distro-files.c - the managed store of distro files and what the boot server may serve.
 *
 * The store is STATE/distro-files/: every distro's kernel and initrd, copied there when
 * the distro is added or changed and named by the SHA-256 of its contents (64 lower-case
 * hex digits), mode 0444. Distros with the same file share one copy; a file no distro
 * names any more is removed after the change that dropped it commits. The boot server
 * serves distros only from here (never a host path), by digest, with openat2(2)
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so a symlink put into the store is not
 * followed.
 *
 * Files are copied, not hard-linked: a hard link is the source's own inode, so a later
 * write into the source in place would change what is served under a name that promises
 * other bytes, and the source's owner and mode would decide whether the server may read
 * it. The copy is hashed as it is written (what is named is exactly what was hashed),
 * into an unnamed O_TMPFILE given its name only when complete.
 *
 * Where a file may come from: anywhere the caller can read (the command line: the
 * operator names the file), or, for XP_DISTRO_CONFINED (the HTTP API: whoever holds the
 * token), only beneath the TFTP root, the store itself, or a directory of the
 * distro-roots setting, resolved with RESOLVE_BENEATH from that directory. Never one of
 * the state directory's own files (inventory.db and its -wal, -shm, -journal, the API
 * token), found by identity so that a hard link or bind mount of one is one too, and
 * checked on an O_PATH descriptor before the file is opened for reading: closing a
 * real descriptor of the inventory would drop this process's SQLite locks on it; and no
 * root may be the state directory or hold it.
 *
 * Concurrency: a writer copies a file in, unnamed, before its transaction; inside it
 * (holding the database's write lock), it takes the store's lock (flock on the
 * directory), gives the copy its name and keeps the lock until the transaction ends
 * (store.c). Collecting unnamed files takes the lock too, after a commit, so a file is
 * never removed between being named and the commit of the row that names it; and the
 * locks are always taken in that order (database, then store), so two writers never
 * wait for each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include "inventory/values-internal.h"

#define STORE "distro-files"

/* The state directory's own files: never served, whatever root they are reached from. */
static const char *const state_files[] = {
    "inventory.db", "inventory.db-wal", "inventory.db-shm", "inventory.db-journal", "api-token",
    "install-key",
};

/* STATE/distro-files as an O_PATH descriptor, made (0755) when create and missing. */
static int store_open(struct xp_inv *inv, bool create)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/" STORE, inv->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (create && mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ---- the lock ------------------------------------------------------------------------- */

int xp__store_lock(struct xp_inv *inv)
{
	if (inv->store_lock >= 0)
		return 0;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/" STORE, inv->dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	inv->store_lock = fd;
	return 0;
}

void xp__store_unlock(struct xp_inv *inv)
{
	if (inv->store_lock < 0)
		return;
	close(inv->store_lock); /* the last descriptor of the open file: the lock goes */
	inv->store_lock = -1;
}

/* Removes the files of the store no distro names. Best effort: a file left behind is
 * removed by the next collection. */
void xp__store_gc(struct xp_inv *inv)
{
	inv->store_gc = false;
	bool locked_here = inv->store_lock < 0;
	if (xp__store_lock(inv) < 0)
		return;
	char **names = NULL;
	size_t n = 0;
	if (xp__inv_names(inv,
			  "SELECT kernel_sha256 FROM distro_files UNION"
			  " SELECT initrd_sha256 FROM distro_files WHERE initrd_sha256 IS NOT NULL"
			  " ORDER BY 1",
			  &names, &n) < 0)
		goto out;
	int dfd = openat(inv->store_lock, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		goto out;
	}
	struct dirent *e;
	time_t now = time(NULL);
	while ((e = readdir(d))) {
		struct stat sb;
		/* a copy left by a killed writer where O_TMPFILE is not to be had */
		if (strncmp(e->d_name, ".import-", 8) == 0 &&
		    fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now - sb.st_mtime > 24 * 3600)
			(void)unlinkat(dirfd(d), e->d_name, 0);
		if (!xp_sha256_hex_valid(e->d_name))
			continue;
		bool named = false;
		for (size_t i = 0; i < n && !named; i++)
			named = strcmp(names[i], e->d_name) == 0;
		if (!named)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
out:
	xp_strv_free(names, n);
	if (locked_here && inv->depth == 0)
		xp__store_unlock(inv);
}

/* ---- what may be served -------------------------------------------------------------- */

/* Is (dir's real path) the state directory or one of its ancestors? */
int xp_inv_root_check(struct xp_inv *inv, const char *dir)
{
	char *root = realpath(dir, NULL), *state = realpath(inv->dir, NULL);
	int r = 0;
	if (root && state) {
		size_t n = strlen(root);
		if (strcmp(root, "/") == 0 ||
		    (strncmp(state, root, n) == 0 && (state[n] == '/' || state[n] == '\0')))
			r = -EACCES;
	} else if (root || errno == ENOMEM) {
		r = errno == ENOMEM ? -ENOMEM : 0; /* no state directory: nothing to hold */
	}
	free(root);
	free(state);
	return r;
}

bool xp_inv_is_state_file(struct xp_inv *inv, int fd)
{
	struct stat f, s;
	if (fstat(fd, &f) < 0)
		return true; /* cannot tell: not served */
	for (size_t i = 0; i < sizeof(state_files) / sizeof(state_files[0]); i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", inv->dir, state_files[i]);
		if (stat(path, &s) == 0 && s.st_dev == f.st_dev && s.st_ino == f.st_ino)
			return true;
	}
	return false;
}

int xp_inv_open_servable(struct xp_inv *inv, int pathfd)
{
	struct stat st;
	if (fstat(pathfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || xp_inv_is_state_file(inv, pathfd))
		return -EACCES;
	/* the O_PATH descriptor's file itself, whatever has been renamed since */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
	int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat again;
	if (fstat(fd, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
		close(fd);
		return -EACCES;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

/* The directories a confined path may be beneath: the TFTP root in force, the store, the
 * distro-roots setting's. Heap strings, trailing slashes dropped. */
static int allowed_roots(struct xp_inv *inv, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct xp_settings st = {0};
	int r = xp_server_settings_get(inv, &st);
	if (r < 0)
		return r;
	const char *tftp = xp_settings_get(&st, "tftp-root");
	const char *extra = xp_settings_get(&st, "distro-roots");
	size_t cap = 3;
	for (const char *p = extra; p && *p; p++)
		cap += *p == ':';
	char **v = calloc(cap, sizeof(*v));
	if (!v) {
		xp_settings_release(&st);
		return -ENOMEM;
	}
	size_t k = 0;
	if (tftp)
		v[k++] = strdup(tftp);
	else if (asprintf(&v[k++], "%s/tftp", inv->dir) < 0)
		v[k - 1] = NULL;
	if (asprintf(&v[k++], "%s/" STORE, inv->dir) < 0)
		v[k - 1] = NULL;
	for (const char *p = extra; p && *p;) {
		size_t len = strcspn(p, ":");
		v[k++] = strndup(p, len);
		p += len + (p[len] == ':');
	}
	xp_settings_release(&st);
	for (size_t i = 0; i < k; i++) {
		if (!v[i]) {
			xp_strv_free(v, k);
			return -ENOMEM;
		}
		size_t len = strlen(v[i]);
		while (len > 1 && v[i][len - 1] == '/')
			v[i][--len] = '\0';
	}
	*out = v;
	*n = k;
	return 0;
}

/* Opens path (O_PATH) for a confined caller: beneath one of the allowed roots it names.
 * -EACCES (with a diagnostic) when it is beneath none, or leaves every root that holds
 * it. */
static int open_confined(struct xp_inv *inv, const char *key, const char *path, struct xp_diags *d)
{
	char **roots;
	size_t n;
	int r = allowed_roots(inv, &roots, &n);
	if (r < 0)
		return r;
	int fd = -1, err = 0;
	bool beneath = false, holds_state = false;
	for (size_t i = 0; i < n && fd < 0; i++) {
		size_t len = strlen(roots[i]);
		if (strncmp(path, roots[i], len) != 0 || path[len] != '/')
			continue;
		beneath = true;
		if (xp_inv_root_check(inv, roots[i]) < 0) {
			holds_state = true;
			continue;
		}
		int rfd = open(roots[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rfd < 0) {
			err = errno;
			continue;
		}
		const char *rel = path + len;
		while (*rel == '/')
			rel++;
		int f = xp_open_beneath(rfd, rel, O_PATH, false);
		if (f < 0)
			err = -f;
		else
			fd = f;
		close(rfd);
	}
	xp_strv_free(roots, n);
	if (fd >= 0)
		return fd;
	if (!beneath || holds_state || err == EXDEV || err == ELOOP) {
		xp__bad_value(d, key, NULL,
			      "the HTTP API takes files beneath the TFTP root, the distro store or "
			      "a distro-roots directory (xenprov settings set distro-roots DIR)",
			      "'%s' is not beneath a directory the API may take files from", path);
		return -EACCES;
	}
	xp__bad_value(d, key, NULL, NULL, "cannot use '%s': %s", path, strerror(err));
	return err == EACCES || err == EPERM ? -EACCES : -EINVAL;
}

/* ---- import ---------------------------------------------------------------------------- */

/* The object HEX of the store, opened: 0 and *fd, -ENOENT, -EACCES (not a regular file,
 * a symlink). */
static int open_object(struct xp_inv *inv, int sfd, const char *hex, int *fd)
{
	int f = xp_open_beneath(sfd, hex, O_PATH, true);
	if (f < 0)
		return f == -ENOENT ? -ENOENT : -EACCES;
	int r = xp_inv_open_servable(inv, f);
	close(f);
	if (r < 0)
		return r == -ENOENT ? -ENOENT : -EACCES;
	*fd = r;
	return 0;
}

int xp_distro_file_open(struct xp_inv *inv, const char *sha256, int *fd)
{
	*fd = -1;
	if (!xp_sha256_hex_valid(sha256))
		return -EINVAL;
	int sfd = store_open(inv, false);
	if (sfd < 0)
		return sfd == -ENOENT ? -ENOENT : sfd;
	int r = open_object(inv, sfd, sha256, fd);
	close(sfd);
	return r;
}

/* Copies src into an unnamed file of the store (O_TMPFILE, else a dot-name collection
 * leaves alone until it is stale), hashing exactly what it writes: from its position to
 * its end (len UINT64_MAX), or len bytes at off (-EIO if it ends sooner). */
static int copy_in(int sfd, int src, uint64_t off, uint64_t len, struct xp__staged *st)
{
	bool whole = len == UINT64_MAX;
	int tmp = openat(sfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	for (int i = 0; tmp < 0 && i < 100; i++) {
		snprintf(st->named, sizeof(st->named), ".import-%d-%d", (int)getpid(), i);
		tmp = openat(sfd, st->named, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (tmp < 0) {
		st->named[0] = '\0';
		return -errno;
	}
	st->tmp = tmp;
	int r = 0;
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	struct xp_sha256 *h = NULL;
	if (!buf || xp_sha256_new(&h) < 0)
		r = -ENOMEM;
	(void)posix_fadvise(src, whole ? 0 : (off_t)off, whole ? 0 : (off_t)len,
			    POSIX_FADV_SEQUENTIAL);
	while (r == 0 && (whole || len > 0)) {
		size_t want = whole || len > cap ? cap : (size_t)len;
		ssize_t got = whole ? read(src, buf, want) : pread(src, buf, want, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		if (got == 0) {
			if (!whole)
				r = -EIO; /* the region ends past the file */
			break;
		}
		if (!whole) {
			off += (uint64_t)got;
			len -= (uint64_t)got;
		}
		r = xp_sha256_add(h, buf, (size_t)got);
		for (ssize_t done = 0; r == 0 && done < got;) {
			ssize_t w = write(tmp, buf + done, (size_t)(got - done));
			if (w < 0 && errno != EINTR)
				r = -errno;
			else if (w > 0)
				done += w;
		}
	}
	unsigned char md[32] = {0};
	if (r == 0)
		r = xp_sha256_final(h, md);
	xp_sha256_free(h);
	free(buf);
	if (r == 0 && (fchmod(tmp, 0444) < 0 || fsync(tmp) < 0))
		r = -errno;
	if (r == 0)
		xp_sha256_hex(md, st->hex);
	return r;
}

void xp__distro_file_drop(struct xp_inv *inv, struct xp__staged *st)
{
	if (st->named[0]) {
		int sfd = store_open(inv, false);
		if (sfd >= 0) {
			(void)unlinkat(sfd, st->named, 0);
			close(sfd);
		}
	}
	if (st->tmp >= 0)
		close(st->tmp);
	*st = (struct xp__staged)XP__STAGED_INIT;
}

int xp__distro_file_stage(struct xp_inv *inv, const char *key, const char *src, bool confined,
			  struct xp__staged *st, struct xp_diags *d)
{
	*st = (struct xp__staged)XP__STAGED_INIT;
	if (strncmp(src, "sha256:", 7) == 0) { /* a file of the store: checked when named */
		if (!xp_sha256_hex_valid(src + 7))
			return xp__bad_value(d, key, src, "sha256: and 64 lower-case hex digits",
					     "not a digest of the distro store");
		memcpy(st->hex, src + 7, 65);
		st->ref = true;
		return 0;
	}
	if (src[0] != '/')
		return xp__bad_value(d, key, NULL, "give an absolute path",
				     "'%s' is not an absolute path", src);
	int sfd = store_open(inv, true);
	if (sfd < 0)
		return sfd;
	/* O_PATH first: the file is opened for reading only once it is known not to be
	 * one of the state directory's (see xp_inv_open_servable) */
	int pfd, fd, r;
	if (confined) {
		pfd = open_confined(inv, key, src, d);
	} else {
		pfd = open(src, O_PATH | O_CLOEXEC);
		if (pfd < 0)
			pfd = xp__bad_value(d, key, NULL, NULL, "cannot use '%s': %s", src,
					    strerror(errno));
	}
	if (pfd < 0) {
		close(sfd);
		return pfd;
	}
	struct stat sb;
	if (fstat(pfd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		r = xp__bad_value(d, key, NULL, NULL, "'%s' is not a regular file", src);
	} else if (xp_inv_is_state_file(inv, pfd)) {
		xp__bad_value(d, key, NULL, "the inventory and the API token are never served",
			      "'%s' is a file of the state directory", src);
		r = -EACCES;
	} else if ((fd = xp_inv_open_servable(inv, pfd)) < 0) {
		r = xp__bad_value(d, key, NULL, NULL, "cannot use '%s': %s", src, strerror(-fd));
		if (fd == -EACCES || fd == -EPERM)
			r = -EACCES;
	} else {
		r = copy_in(sfd, fd, 0, UINT64_MAX, st);
		if (r < 0)
			xp__bad_value(d, key, NULL, NULL,
				      "cannot copy '%s' into the distro store: %s", src,
				      strerror(-r));
		close(fd);
	}
	close(pfd);
	close(sfd);
	if (r < 0)
		xp__distro_file_drop(inv, st);
	return r;
}

int xp__distro_file_stage_region(struct xp_inv *inv, const char *key,
				 const struct xp_distro_region *src, const char *source,
				 struct xp__staged *st, struct xp_diags *d)
{
	*st = (struct xp__staged)XP__STAGED_INIT;
	/* the caller opened it (a file of a tree, or an image): never a state file */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src->fd);
	int pfd = open(proc, O_PATH | O_CLOEXEC);
	bool state = pfd < 0 || xp_inv_is_state_file(inv, pfd);
	if (pfd >= 0)
		close(pfd);
	if (state) {
		xp__bad_value(d, key, NULL, "the inventory and the API token are never served",
			      "'%s' is a file of the state directory", source);
		return -EACCES;
	}
	int sfd = store_open(inv, true);
	if (sfd < 0)
		return sfd;
	int r = copy_in(sfd, src->fd, src->off, src->len, st);
	close(sfd);
	if (r < 0) {
		xp__bad_value(d, key, NULL, NULL, "cannot copy '%s' into the distro store: %s",
			      source, strerror(-r));
		xp__distro_file_drop(inv, st);
	}
	return r;
}

int xp__distro_file_name(struct xp_inv *inv, const char *key, struct xp__staged *st,
			 struct xp_diags *d)
{
	int r = xp__store_lock(inv);
	if (r < 0)
		return r;
	int sfd = store_open(inv, true);
	if (sfd < 0)
		return sfd;
	if (st->ref) {
		int fd;
		if ((r = open_object(inv, sfd, st->hex, &fd)) < 0) {
			char src[72];
			snprintf(src, sizeof(src), "sha256:%s", st->hex);
			r = xp__bad_value(d, key, src, NULL, "no such file in the distro store");
		} else {
			close(fd);
		}
		close(sfd);
		return r;
	}
	/* an existing file of that name holds the same bytes: it is kept */
	if (st->named[0]) {
		if (renameat(sfd, st->named, sfd, st->hex) < 0)
			r = -errno;
		else
			st->named[0] = '\0';
	} else {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", st->tmp);
		if (linkat(AT_FDCWD, proc, sfd, st->hex, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (r == 0) {
		inv->store_gc = true; /* a new name: gone again if the row does not come */
		int dfd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) { /* the name is durable before the row that names it */
			(void)fsync(dfd);
			close(dfd);
		}
	} else {
		xp__bad_value(d, key, NULL, NULL, "cannot name a file of the distro store: %s",
			      strerror(-r));
	}
	close(sfd);
	return r;
}
