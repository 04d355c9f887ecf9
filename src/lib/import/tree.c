/*
 * tree.c - a distribution tree as `xenprov import` reads it: a directory, or an ISO
 * 9660 image read by libarchive without mounting it. Either becomes one index of
 * entries sorted by path (type, size, mode, mtime, a symlink's target), from which
 * detection reads small files, import takes the kernel and initrd, and the tree is
 * copied or served.
 *
 * A directory is walked with openat(2) and fstatat(AT_SYMLINK_NOFOLLOW): a symlink is
 * an entry, never followed while walking; files are later opened with openat2(2)
 * RESOLVE_BENEATH from the tree's descriptor, so nothing outside the tree is read
 * whatever its symlinks say.
 *
 * An image is listed with libarchive's ISO 9660 reader (Rock Ridge names where the
 * image has them, else Joliet, else plain ISO 9660), which reads the directories and
 * skips file data by seeking. ISO 9660 stores a file as one extent (ECMA-119 6.4.5;
 * only files over 4 GiB are split in sections), so the image's bytes at the file's
 * start are the file: libarchive does not say where that is, but the position of its
 * input (archive_filter_bytes) when it hands out a file's first block is exactly that
 * block's place in the image. Each file's first block is compared with the image's
 * bytes there, and a file of several sections is read to its end to check that its
 * blocks follow each other; a file that fails either (zisofs-compressed data, a split
 * file) is left out (counted in skipped) rather than served wrong. Hard links in the
 * image (names sharing an extent) take their target's place.
 *
 * Not here: what a tree is (signatures.c), copying it (tree-copy.c).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import/import-internal.h"

/* ISO 9660 extents are at most 4 GiB - 1 bytes; a larger file has several sections. */
#define ISO_EXTENT_MAX 0xFFFFF800ull
#define MAX_HOPS       40

static void entry_release(struct tree_entry *e)
{
	free(e->path);
	free(e->link);
}

void xp__tree_free(struct xp_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		entry_release(&t->v[i]);
	free(t->v);
	if (t->fd >= 0)
		close(t->fd);
	free(t->path);
	free(t);
}

/* Takes e (its strings) into the tree; -E2BIG past the limit. */
static int add(struct xp_tree *t, struct tree_entry *e)
{
	if (t->n >= XP_TREE_MAX_ENTRIES || xp_grow(&t->v, &t->cap, t->n, sizeof(*t->v), 256) < 0) {
		entry_release(e);
		return t->n >= XP_TREE_MAX_ENTRIES ? -E2BIG : -ENOMEM;
	}
	t->v[t->n++] = *e;
	return 0;
}

static int64_t ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* ---- directories ------------------------------------------------------------------------ */

/* The entries beneath the open directory dfd (taken), whose path in the tree is
 * path->s. */
static int walk(struct xp_tree *t, int dfd, struct xp_buf *path, int depth)
{
	if (depth > XP_TREE_MAX_DEPTH) {
		close(dfd);
		return -ELOOP;
	}
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		int r = -errno;
		close(dfd);
		return r;
	}
	int r = 0;
	struct dirent *de;
	errno = 0;
	while (r == 0 && (de = readdir(dir))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		struct stat sb;
		if (fstatat(dirfd(dir), name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		size_t keep = path->len;
		if (path->len)
			xp_buf_addc(path, '/');
		xp_buf_adds(path, name);
		struct tree_entry e = {
		    .mtime_ns = ns(&sb.st_mtim),
		    .mode = sb.st_mode & 07777,
		    .dev = sb.st_dev,
		    .ino = sb.st_ino,
		    .whole = true,
		};
		if ((r = xp_buf_error(path)) < 0)
			break;
		if (S_ISDIR(sb.st_mode)) {
			e.type = TREE_DIR;
		} else if (S_ISREG(sb.st_mode)) {
			e.type = TREE_REG;
			e.size = (uint64_t)sb.st_size;
		} else if (S_ISLNK(sb.st_mode)) {
			e.type = TREE_LNK;
			char target[4096];
			ssize_t k = readlinkat(dirfd(dir), name, target, sizeof(target) - 1);
			if (k < 0) {
				r = -errno;
				break;
			}
			target[k] = '\0';
			if (!(e.link = strdup(target))) {
				r = -ENOMEM;
				break;
			}
		} else {
			t->skipped++;
			xp_buf_truncate(path, keep);
			continue;
		}
		if (!(e.path = strdup(path->s))) {
			free(e.link);
			r = -ENOMEM;
			break;
		}
		if ((r = add(t, &e)) == 0 && S_ISDIR(sb.st_mode)) {
			int sub = openat(dirfd(dir), name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? -errno : walk(t, sub, path, depth + 1);
		}
		xp_buf_truncate(path, keep);
		errno = 0;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(dir);
	return r;
}

/* ---- ISO 9660 images ------------------------------------------------------------------------ */

/* The path libarchive gives, as the index keeps it: no "./" or '/' before, none after;
 * NULL for the top ("." or ""). */
static char *iso_path(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && p[0] == '.'))
		return NULL;
	return strndup(p, n);
}

/* Where the entry being read starts in the image, and whether its bytes there are it:
 * its first block compared with the image; a file of several sections read to its end,
 * each block where it should follow. */
static int iso_locate(struct archive *a, int fd, struct tree_entry *e)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	bool first = true;
	uint64_t start = 0;
	e->whole = true;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return -EIO;
		uint64_t pos = (uint64_t)archive_filter_bytes(a, 0);
		if (first) {
			first = false;
			start = pos - (uint64_t)off;
			char img[2048];
			size_t k = len < sizeof(img) ? len : sizeof(img);
			if (off != 0 || xp_pread_full(fd, img, k, pos) < 0 ||
			    memcmp(img, buf, k) != 0)
				e->whole = false;
			if (!e->whole || e->size <= ISO_EXTENT_MAX)
				break;
		} else if (pos != start + (uint64_t)off) {
			e->whole = false;
			break;
		}
	}
	e->off = start;
	return 0;
}

static int iso_list(struct xp_tree *t, struct xp_diags *d)
{
	struct archive *a = archive_read_new();
	if (!a)
		return -ENOMEM;
	archive_read_support_format_iso9660(a);
	int r = 0;
	if (archive_read_open_fd(a, t->fd, 64 * 1024) != ARCHIVE_OK) {
		/* libarchive decides the format when it opens: "Unrecognized archive format"
		 * is its ARCHIVE_ERRNO_FILE_FORMAT, EILSEQ on Linux (no EFTYPE) */
		if (archive_errno(a) == EILSEQ)
			r = xp_diags_fail(d, -EMEDIUMTYPE, NULL, "not-a-tree",
					  "give a directory or an ISO 9660 image (.iso)",
					  "'%s' is neither a directory nor an ISO 9660 image",
					  t->path);
		else
			r = xp_diags_fail(d, -EIO, NULL, "read", NULL, "cannot read '%s': %s",
					  t->path, archive_error_string(a));
		goto out;
	}
	bool any = false;
	for (;;) {
		struct archive_entry *ae;
		int rc = archive_read_next_header(a, &ae);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN) {
			if (!any) /* libarchive found no ISO 9660 volume descriptor */
				r = xp_diags_fail(
				    d, -EMEDIUMTYPE, NULL, "not-a-tree",
				    "give a directory or an ISO 9660 image (.iso)",
				    "'%s' is neither a directory nor an ISO 9660 image", t->path);
			else
				r = xp_diags_fail(d, -EIO, NULL, "read", NULL,
						  "cannot read the ISO image '%s': %s", t->path,
						  archive_error_string(a));
			goto out;
		}
		any = true;
		const char *name = archive_entry_pathname(ae);
		if (!name) { /* a name libarchive could not convert */
			t->skipped++;
			continue;
		}
		char *p = iso_path(name);
		if (!p) /* the top */
			continue;
		struct tree_entry e = {
		    .path = p,
		    .mode = archive_entry_perm(ae),
		    .mtime_ns = (int64_t)archive_entry_mtime(ae) * 1000000000 +
				archive_entry_mtime_nsec(ae),
		};
		const char *hl = archive_entry_hardlink(ae);
		switch (archive_entry_filetype(ae)) {
		case AE_IFDIR:
			e.type = TREE_DIR;
			e.whole = true;
			break;
		case AE_IFLNK:
			e.type = TREE_LNK;
			e.link = strdup(archive_entry_symlink(ae) ? archive_entry_symlink(ae) : "");
			e.whole = true;
			if (!e.link)
				r = -ENOMEM;
			break;
		case AE_IFREG:
			e.type = TREE_REG;
			if (hl) { /* resolved below, once the target is in the index */
				char *target = iso_path(hl);
				e.link = target;
				if (!target)
					r = -ENOMEM;
				break;
			}
			e.size = (uint64_t)archive_entry_size(ae);
			if (e.size > 0 && (r = iso_locate(a, t->fd, &e)) < 0)
				r = xp_diags_fail(d, r, NULL, "read", NULL,
						  "cannot read '%s' in the ISO image '%s': %s", p,
						  t->path, archive_error_string(a));
			else if (e.size == 0)
				e.whole = true;
			break;
		default:
			entry_release(&e);
			t->skipped++;
			continue;
		}
		if (r < 0) {
			entry_release(&e);
			goto out;
		}
		if (e.type == TREE_REG && !e.whole && !hl) {
			entry_release(&e);
			t->skipped++;
			continue;
		}
		if ((r = add(t, &e)) < 0)
			goto out;
	}
out:
	archive_read_free(a);
	return r;
}

/* ---- the index ------------------------------------------------------------------------------ */

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct tree_entry *)a)->path, ((const struct tree_entry *)b)->path);
}

const struct tree_entry *xp__tree_lookup(const struct xp_tree *t, const char *path)
{
	struct tree_entry key = {.path = (char *)path};
	return t->n ? bsearch(&key, t->v, t->n, sizeof(*t->v), by_path) : NULL;
}

/* Sorts, drops repeated paths (the first kept), and gives an image's hard links their
 * target's bytes (a link whose target is missing or not a whole file is left out). */
static void finish(struct xp_tree *t)
{
	qsort(t->v, t->n, sizeof(*t->v), by_path);
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (k && strcmp(t->v[k - 1].path, t->v[i].path) == 0) {
			entry_release(&t->v[i]);
			continue;
		}
		t->v[k++] = t->v[i];
	}
	t->n = k;
	if (!t->iso)
		return;
	for (size_t i = 0; i < t->n; i++) {
		struct tree_entry *e = &t->v[i];
		if (e->type != TREE_REG || !e->link)
			continue;
		const struct tree_entry *to = xp__tree_lookup(t, e->link);
		if (to && to->type == TREE_REG && !to->link && to->whole) {
			e->off = to->off;
			e->size = to->size;
			e->whole = true;
		}
		free(e->link);
		e->link = NULL;
	}
	k = 0; /* hard links that found nothing go */
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].type == TREE_REG && !t->v[i].whole) {
			entry_release(&t->v[i]);
			t->skipped++;
			continue;
		}
		t->v[k++] = t->v[i];
	}
	t->n = k;
}

int xp__tree_open(const char *path, struct xp_tree **ret, struct xp_diags *d)
{
	*ret = NULL;
	struct xp_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = -1;
	int r;
	if (!(t->path = realpath(path, NULL))) {
		r = -errno;
		xp_diags_fail(d, r, NULL, "path", NULL, "cannot use '%s': %s", path, strerror(-r));
		goto fail;
	}
	int pfd = open(t->path, O_PATH | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &t->st) < 0) {
		r = -errno;
		if (pfd >= 0)
			close(pfd);
		xp_diags_fail(d, r, NULL, "path", NULL, "cannot use '%s': %s", path, strerror(-r));
		goto fail;
	}
	if (S_ISDIR(t->st.st_mode)) {
		t->fd = pfd;
		int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct xp_buf p = XP_BUF_INIT;
		r = dfd < 0 ? -errno : walk(t, dfd, &p, 0);
		xp_buf_release(&p);
		if (r < 0) {
			if (r == -E2BIG || r == -ELOOP)
				xp_diags_fail(d, r, NULL, "too-big", NULL,
					      "'%s' has over %d entries or is nested over %d deep",
					      path, XP_TREE_MAX_ENTRIES, XP_TREE_MAX_DEPTH);
			else
				xp_diags_fail(d, r, NULL, "read", NULL,
					      "cannot read the tree '%s': %s", path, strerror(-r));
			goto fail;
		}
	} else if (S_ISREG(t->st.st_mode)) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		t->fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		r = -errno;
		close(pfd);
		if (t->fd < 0) {
			xp_diags_fail(d, r, NULL, "path", NULL, "cannot open '%s': %s", path,
				      strerror(-r));
			goto fail;
		}
		t->iso = true;
		if ((r = iso_list(t, d)) < 0) {
			if (r == -E2BIG)
				xp_diags_fail(d, r, NULL, "too-big", NULL,
					      "'%s' has over %d entries", path,
					      XP_TREE_MAX_ENTRIES);
			goto fail;
		}
	} else {
		close(pfd);
		r = xp_diags_fail(d, -ENOTDIR, NULL, "not-a-tree",
				  "give a directory or an ISO 9660 image (.iso)",
				  "'%s' is neither a directory nor an ISO 9660 image", path);
		goto fail;
	}
	finish(t);
	*ret = t;
	return 0;
fail:
	xp__tree_free(t);
	return r;
}

/* ---- following paths ------------------------------------------------------------------------ */

static const struct tree_entry *resolve(const struct xp_tree *t, const char *path, int *hops,
					bool *top)
{
	struct xp_buf cur = XP_BUF_INIT;
	const struct tree_entry *e = NULL;
	const char *s = path;
	bool ok = true;
	while (ok && *s) {
		while (*s == '/')
			s++;
		size_t k = strcspn(s, "/");
		if (k == 0)
			break;
		if (e && e->type != TREE_DIR) { /* a file is no directory */
			ok = false;
			break;
		}
		if (k == 1 && s[0] == '.') {
			s += k;
			continue;
		}
		if (k == 2 && s[0] == '.' && s[1] == '.') {
			if (cur.len == 0) { /* above the top: leaves the tree */
				ok = false;
				break;
			}
			char *slash = strrchr(cur.s, '/');
			xp_buf_truncate(&cur, slash ? (size_t)(slash - cur.s) : 0);
			e = cur.len ? xp__tree_lookup(t, cur.s) : NULL;
			s += k;
			continue;
		}
		size_t keep = cur.len;
		if (cur.len)
			xp_buf_addc(&cur, '/');
		xp_buf_add(&cur, s, k);
		s += k;
		if (xp_buf_error(&cur) || !(e = xp__tree_lookup(t, cur.s))) {
			ok = false;
			break;
		}
		if (e->type == TREE_LNK) {
			if (++*hops > MAX_HOPS || !e->link[0] || e->link[0] == '/') {
				ok = false;
				break;
			}
			struct xp_buf np = XP_BUF_INIT;
			xp_buf_add(&np, cur.s, keep);
			xp_buf_addc(&np, '/');
			xp_buf_adds(&np, e->link);
			xp_buf_adds(&np, s);
			e = xp_buf_error(&np) ? NULL : resolve(t, np.s, hops, top);
			xp_buf_release(&np);
			xp_buf_release(&cur);
			return e;
		}
	}
	*top = ok && cur.len == 0;
	xp_buf_release(&cur);
	return ok && !*top ? e : NULL;
}

const struct tree_entry *xp__tree_find(const struct xp_tree *t, const char *path)
{
	int hops = 0;
	bool top;
	return resolve(t, path, &hops, &top);
}

bool xp__tree_inside(const struct xp_tree *t, const char *path)
{
	int hops = 0;
	bool top;
	return resolve(t, path, &hops, &top) != NULL || top;
}

/* ---- reading files ----------------------------------------------------------------------- */

int xp__tree_region(const struct xp_tree *t, const char *path, int *fd, uint64_t *off,
		    uint64_t *len)
{
	*fd = -1;
	const struct tree_entry *e = xp__tree_find(t, path);
	if (!e || e->type != TREE_REG)
		return -ENOENT;
	if (t->iso) {
		if (!e->whole)
			return -EMEDIUMTYPE;
		int f = fcntl(t->fd, F_DUPFD_CLOEXEC, 3);
		if (f < 0)
			return -errno;
		*fd = f;
		*off = e->off;
		*len = e->size;
		return 0;
	}
	/* the resolved path has no symlink; one put there since is refused */
	int f = xp_open_beneath(t->fd, e->path, O_RDONLY | O_NOCTTY | O_NONBLOCK, true);
	if (f < 0)
		return f == -ELOOP || f == -EXDEV ? -EACCES : f;
	struct stat sb;
	if (fstat(f, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(f);
		return -ENOENT;
	}
	int fl = fcntl(f, F_GETFL);
	if (fl >= 0)
		(void)fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
	*fd = f;
	*off = 0;
	*len = (uint64_t)sb.st_size;
	return 0;
}

int xp__tree_read(const struct xp_tree *t, const char *path, size_t max, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	int fd;
	uint64_t off, size;
	int r = xp__tree_region(t, path, &fd, &off, &size);
	if (r < 0)
		return r;
	if (size > max) {
		close(fd);
		return -EFBIG;
	}
	char *buf = malloc((size_t)size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	r = xp_pread_full(fd, buf, (size_t)size, off);
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[size] = '\0';
	*data = buf;
	*len = (size_t)size;
	return 0;
}
