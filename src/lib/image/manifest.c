/*
 * manifest.c - the manifest of a captured version (format in include/xenprov/imgstore.h):
 * parsed strictly (it is read back from disk, and `image diff` and `image update`
 * compare two of them), written, and made by listing a tree.
 *
 * Not here: where manifests live (imgstore.c), comparing two (image diff).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>


#include "image/imgstore-internal.h"
#include "util/cleanup.h"
#include "xenprov/imgstore.h"

#define FORMAT_LINE "xenprov-manifest 1"
#define MAX_DEPTH 4096

void xp_manifest_release(struct xp_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].path);
		free(m->v[i].extra);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- escaping ---------------------------------------------------------------------------- */

static bool plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '\\';
}

static void add_escaped(struct xp_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (strcmp(s, "-") == 0) {
		xp_buf_adds(b, "\\x2d");
		return;
	}
	/* runs of plain bytes added whole (the common path has no escape at all) */
	const unsigned char *p = (const unsigned char *)s;
	for (;;) {
		const unsigned char *q = p;
		while (*q && plain(*q))
			q++;
		if (q > p)
			xp_buf_add(b, p, (size_t)(q - p));
		if (!*q)
			return;
		char e[4] = {'\\', 'x', hex[*q >> 4], hex[*q & 15]};
		xp_buf_add(b, e, 4);
		p = q + 1;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Unescapes field [s, s+len) into a heap string; NULL if malformed (a byte that should
 * have been escaped, a bad escape, an escaped NUL). */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != '\\') {
			if (!plain(c))
				goto bad;
			*o++ = (char)c;
			continue;
		}
		if (i + 3 >= len || s[i + 1] != 'x')
			goto bad;
		int h = hexval(s[i + 2]), l = hexval(s[i + 3]);
		if (h < 0 || l < 0 || (h == 0 && l == 0))
			goto bad;
		*o++ = (char)(h << 4 | l);
		i += 3;
	}
	*o = 0;
	return out;
bad:
	free(out);
	return NULL;
}

/* ---- writing ----------------------------------------------------------------------------- */

/* v in decimal at o; the end. */
static char *put_dec(char *o, uint64_t v)
{
	char t[20];
	size_t n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*o++ = t[--n];
	return o;
}

int xp_manifest_format(const struct xp_manifest *m, struct xp_buf *out)
{
	xp_buf_adds(out, FORMAT_LINE "\n");
	for (size_t i = 0; i < m->n; i++) {
		const struct xp_manifest_entry *e = &m->v[i];
		add_escaped(out, e->path);
		/* " T MODE UID GID SIZE MTIME SHA256 XATTRS ": formatted by hand, as
		 * "%c %04o %u %u %llu %lld %s %s" would (a capture formats every line) */
		char f[3 + 5 + 3 * 11 + 21 + 21 + 2 * 65 + 1], *o = f;
		*o++ = ' ';
		*o++ = e->type;
		*o++ = ' ';
		for (int k = 9; k >= 0; k -= 3)
			*o++ = (char)('0' + ((e->mode >> k) & 7));
		*o++ = ' ';
		o = put_dec(o, e->uid);
		*o++ = ' ';
		o = put_dec(o, e->gid);
		*o++ = ' ';
		o = put_dec(o, e->size);
		*o++ = ' ';
		if (e->mtime < 0)
			*o++ = '-';
		o = put_dec(o, e->mtime < 0 ? -(uint64_t)e->mtime : (uint64_t)e->mtime);
		*o++ = ' ';
		const char *h[2] = {e->sha256, e->xattrs};
		for (int k = 0; k < 2; k++) {
			if (h[k][0]) {
				memcpy(o, h[k], 64);
				o += 64;
			} else {
				*o++ = '-';
			}
			*o++ = ' ';
		}
		xp_buf_add(out, f, (size_t)(o - f));
		if (e->extra)
			add_escaped(out, e->extra);
		else
			xp_buf_addc(out, '-');
		xp_buf_addc(out, '\n');
	}
	return xp_buf_error(out);
}

/* ---- parsing ----------------------------------------------------------------------------- */

static bool parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned dgt = (unsigned)(s[i] - '0');
		if (v > (max - dgt) / 10)
			return false;
		v = v * 10 + dgt;
	}
	*out = v;
	return true;
}

/* A path as the manifest holds it: absolute, no empty, "." or ".." component, no
 * trailing '/' but for the root. */
static bool path_ok(const char *p)
{
	if (p[0] != '/')
		return false;
	if (p[1] == 0)
		return true;
	for (const char *c = p; *c;) {
		const char *n = strchr(c + 1, '/');
		size_t l = n ? (size_t)(n - c - 1) : strlen(c + 1);
		if (l == 0 || (l == 1 && c[1] == '.') || (l == 2 && c[1] == '.' && c[2] == '.'))
			return false;
		if (!n)
			break;
		c = n;
	}
	return true;
}

static int bad_line(struct xp_diags *d, const char *file, unsigned line, const char *what)
{
	if (xp_diags_add(d, XP_SEV_ERROR, file, line, 0, "manifest", NULL, NULL, "%s", what) < 0)
		return -ENOMEM;
	return -EBADMSG;
}

static int parse_line(const char *s, size_t len, struct xp_manifest_entry *e, const char **why)
{
	const char *f[10];
	size_t fl[10], nf = 0;
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		if (i == start) {
			*why = "an empty field (two blanks, or one at an end)";
			return -EBADMSG;
		}
		if (nf == 10) {
			*why = "more than 10 fields";
			return -EBADMSG;
		}
		f[nf] = s + start;
		fl[nf++] = i - start;
		start = i + 1;
	}
	if (nf != 10) {
		*why = "fewer than 10 fields";
		return -EBADMSG;
	}
	memset(e, 0, sizeof(*e));
	*why = "path: not an absolute, normal path";
	if (!(e->path = unescape(f[0], fl[0])) || !path_ok(e->path))
		goto bad;
	*why = "type: not one of f d l c b p s";
	if (fl[1] != 1 || !strchr("fdlcbps", f[1][0]))
		goto bad;
	e->type = f[1][0];
	*why = "mode: not 4 octal digits";
	if (fl[2] != 4)
		goto bad;
	for (int i = 0; i < 4; i++) {
		if (f[2][i] < '0' || f[2][i] > '7')
			goto bad;
		e->mode = e->mode * 8 + (uint32_t)(f[2][i] - '0');
	}
	uint64_t v;
	*why = "uid: not a number below 2^32";
	if (!parse_u64(f[3], fl[3], UINT32_MAX, &v))
		goto bad;
	e->uid = (uint32_t)v;
	*why = "gid: not a number below 2^32";
	if (!parse_u64(f[4], fl[4], UINT32_MAX, &v))
		goto bad;
	e->gid = (uint32_t)v;
	*why = "size: not a number";
	if (!parse_u64(f[5], fl[5], INT64_MAX, &e->size))
		goto bad;
	*why = "mtime: not a number of seconds";
	bool neg = f[6][0] == '-';
	if (!parse_u64(f[6] + neg, fl[6] - neg, INT64_MAX, &v) || (neg && v == 0))
		goto bad;
	e->mtime = neg ? -(int64_t)v : (int64_t)v;
	bool dash = fl[7] == 1 && f[7][0] == '-';
	*why = e->type == 'f' ? "sha256: a regular file needs 64 hex digits"
			      : "sha256: only a regular file has one";
	if (e->type == 'f' ? !xp_sha256_hex_valid_n(f[7], fl[7]) : !dash)
		goto bad;
	if (!dash)
		memcpy(e->sha256, f[7], 64);
	*why = "xattrs: not '-' or 64 hex digits";
	if (fl[8] == 1 && f[8][0] == '-')
		;
	else if (xp_sha256_hex_valid_n(f[8], fl[8]))
		memcpy(e->xattrs, f[8], 64);
	else
		goto bad;
	if (!(fl[9] == 1 && f[9][0] == '-')) {
		*why = "extra: malformed";
		if (!(e->extra = unescape(f[9], fl[9])))
			goto bad;
	}
	*why = "size: only a regular file or symlink has one";
	if (e->size && e->type != 'f' && e->type != 'l')
		goto bad;
	switch (e->type) {
	case 'l':
		*why = "extra: a symlink needs its target, of size bytes";
		if (!e->extra || strlen(e->extra) != e->size)
			goto bad;
		break;
	case 'c':
	case 'b': {
		*why = "extra: a device needs MAJOR:MINOR";
		const char *c = e->extra ? strchr(e->extra, ':') : NULL;
		uint64_t mj, mn;
		if (!c || !parse_u64(e->extra, (size_t)(c - e->extra), UINT32_MAX, &mj) ||
		    !parse_u64(c + 1, strlen(c + 1), UINT32_MAX, &mn))
			goto bad;
		break;
	}
	case 'f':
		*why = "extra: a hard link names an earlier path";
		if (e->extra && (!path_ok(e->extra) || strcmp(e->extra, e->path) >= 0))
			goto bad;
		break;
	default:
		*why = "extra: only symlinks, devices and hard links have one";
		if (e->extra)
			goto bad;
	}
	return 0;
bad:
	free(e->path);
	free(e->extra);
	memset(e, 0, sizeof(*e));
	return -EBADMSG;
}

int xp_manifest_parse(const char *text, size_t len, const char *file, struct xp_manifest *out,
		      struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	size_t fl = strlen(FORMAT_LINE);
	if (len < fl + 1 || memcmp(text, FORMAT_LINE "\n", fl + 1))
		return bad_line(d, file, 1, "not a manifest: the first line is not '" FORMAT_LINE "'");
	unsigned line = 1;
	size_t pos = fl + 1;
	while (pos < len) {
		line++;
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (!nl) {
			xp_manifest_release(out);
			return bad_line(d, file, line, "the last line has no newline");
		}
		size_t l = (size_t)(nl - (text + pos));
		struct xp_manifest_entry e;
		const char *why = NULL;
		int r = parse_line(text + pos, l, &e, &why);
		if (r == 0 && out->n && strcmp(out->v[out->n - 1].path, e.path) >= 0) {
			free(e.path);
			free(e.extra);
			r = -EBADMSG;
			why = "not sorted, or a path twice";
		}
		if (r == 0 && (r = xp_grow(&out->v, &out->cap, out->n, sizeof(*out->v), 256)) < 0) {
			free(e.path);
			free(e.extra);
		}
		if (r < 0) {
			xp_manifest_release(out);
			return r == -EBADMSG ? bad_line(d, file, line, why) : r;
		}
		out->v[out->n++] = e;
		pos += l + 1;
	}
	/* a hard link names the first entry of its group: a regular file listed before */
	for (size_t i = 0; i < out->n; i++) {
		const struct xp_manifest_entry *e = &out->v[i], *t;
		if (e->type != 'f' || !e->extra)
			continue;
		t = xp_manifest_find(out, e->extra);
		if (!t || t->type != 'f' || t->extra || strcmp(t->sha256, e->sha256)) {
			xp_manifest_release(out);
			return bad_line(d, file, 0,
					"a hard link names no regular file of the same content");
		}
	}
	return 0;
}

int xp_manifest_read(const char *path, struct xp_manifest *out, struct xp_diags *d)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	memset(out, 0, sizeof(*out));
	int r = xp_read_file(path, (size_t)1 << 30, &data, &len);
	if (r < 0)
		return xp_diags_fail(d, r, path, NULL, NULL, "cannot read: %s", strerror(-r));
	return xp_manifest_parse(data, len, path, out, d);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct xp_manifest_entry *)a)->path,
		      ((const struct xp_manifest_entry *)b)->path);
}

const struct xp_manifest_entry *xp_manifest_find(const struct xp_manifest *m, const char *path)
{
	if (!m || !m->n)
		return NULL;
	struct xp_manifest_entry key = {.path = (char *)path};
	return bsearch(&key, m->v, m->n, sizeof(*m->v), cmp_path);
}

void xp_manifest_totals(const struct xp_manifest *m, uint64_t *files, uint64_t *bytes)
{
	uint64_t b = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].type == 'f' && !m->v[i].extra)
			b += m->v[i].size;
	*files = m->n;
	*bytes = b;
}

/* ---- listing a tree ---------------------------------------------------------------------- */

/* A regular file with more than one link: its inode and its entry's index. */
struct ino {
	dev_t dev;
	ino_t ino;
	size_t idx;
};

struct scan {
	struct xp_manifest *m;
	const struct xp_manifest *prev;
	int prev_fd;	    /* prev_root, opened: a path below it resolved from there */
	struct xp_buf full; /* root + path, for the l*xattr calls */
	size_t rootlen;
	struct ino *inos; /* regular files with more than one link */
	size_t ninos, capinos;
	const struct xp_copied *copied; /* hashes known (capture-copy.c) */
	size_t ncopied;
	struct ino *hash; /* regular files to hash once the walk is done */
	size_t nhash, caphash;
	struct xp_diags *d;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SHA-256 of the xattrs of the entry at path (format in imgstore.h), "" with none. */
static int hash_xattrs(const char *path, char out[65]);
int xp__xattrs_hash(const char *path, char out[65])
{
	return hash_xattrs(path, out);
}

static int hash_xattrs(const char *path, char out[65])
{
	out[0] = 0;
	struct xp_xattrs x;
	int r = xp_xattrs_read(path, &x);
	if (r < 0 || x.n == 0)
		return r;
	struct xp_sha256 *h;
	if ((r = xp_sha256_new(&h)) < 0) {
		xp_xattrs_release(&x);
		return r;
	}
	for (size_t i = 0; r == 0 && i < x.n; i++) {
		unsigned char le[8];
		for (int k = 0; k < 8; k++)
			le[k] = (unsigned char)((uint64_t)x.v[i].len >> (8 * k));
		if ((r = xp_sha256_add(h, x.v[i].name, strlen(x.v[i].name) + 1)) == 0 &&
		    (r = xp_sha256_add(h, le, 8)) == 0)
			r = xp_sha256_add(h, x.v[i].value, x.v[i].len);
	}
	xp_xattrs_release(&x);
	unsigned char dg[32];
	if (r == 0)
		r = xp_sha256_final(h, dg);
	xp_sha256_free(h);
	if (r == 0)
		xp_sha256_hex(dg, out);
	return r;
}

/* The content hash of the regular file name in dfd: prev's when prev's file of the
 * same path is the same inode (1), else noted for hash_all (0). */
static int hash_file(struct scan *s, const char *rel, const struct stat *st,
		     struct xp_manifest_entry *e)
{
	if (s->prev) {
		const struct xp_manifest_entry *p = xp_manifest_find(s->prev, rel);
		struct stat ps;
		if (p && p->type == 'f' && s->prev_fd >= 0 &&
		    fstatat(s->prev_fd, rel + 1, &ps, AT_SYMLINK_NOFOLLOW) == 0 &&
		    ps.st_dev == st->st_dev && ps.st_ino == st->st_ino) {
			memcpy(e->sha256, p->sha256, 65);
			memcpy(e->xattrs, p->xattrs, 65);
			return 1; /* xattrs too: they belong to the inode */
		}
	}
	/* written by xenprov's copy, which hashed the bytes it wrote */
	const struct xp_copied *k = xp__copied_find(s->copied, s->ncopied, st->st_dev, st->st_ino);
	if (k) {
		memcpy(e->sha256, k->sha256, 65);
		return 0;
	}
	/* hashed after the walk, on as many threads as there are CPUs (hash_all) */
	if (xp_grow(&s->hash, &s->caphash, s->nhash, sizeof(*s->hash), 1024) < 0)
		return -ENOMEM;
	s->hash[s->nhash++] = (struct ino){st->st_dev, st->st_ino, s->m->n};
	return 0;
}

static int add_entry(struct scan *s, int dfd, const char *name, const char *rel,
		     const struct stat *st)
{
	struct xp_manifest_entry e = {0};
	int r = 0;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG: e.type = 'f'; break;
	case S_IFDIR: e.type = 'd'; break;
	case S_IFLNK: e.type = 'l'; break;
	case S_IFCHR: e.type = 'c'; break;
	case S_IFBLK: e.type = 'b'; break;
	case S_IFIFO: e.type = 'p'; break;
	case S_IFSOCK: e.type = 's'; break;
	default: return xp_diags_fail(s->d, -EINVAL, rel, NULL, NULL, "unknown file type");
	}
	e.mode = st->st_mode & 07777;
	e.uid = st->st_uid;
	e.gid = st->st_gid;
	e.mtime = st->st_mtim.tv_sec;
	bool have_xattrs = false;
	if (e.type == 'f') {
		e.size = (uint64_t)st->st_size;
		r = hash_file(s, rel, st, &e);
		if (r < 0)
			return xp_diags_fail(s->d, r, rel, NULL, NULL, "cannot read: %s", strerror(-r));
		have_xattrs = r == 1;
	} else if (e.type == 'l') {
		char *t = malloc((size_t)st->st_size + 2);
		ssize_t n = t ? readlinkat(dfd, name, t, (size_t)st->st_size + 1) : -1;
		if (n < 0 || n > st->st_size) {
			free(t);
			return xp_diags_fail(s->d, t ? -errno : -ENOMEM, rel, NULL, NULL,
					     "cannot read the symlink");
		}
		t[n] = 0;
		e.extra = t;
		e.size = (uint64_t)n;
	} else if (e.type == 'c' || e.type == 'b') {
		if (asprintf(&e.extra, "%u:%u", major(st->st_rdev), minor(st->st_rdev)) < 0)
			return -ENOMEM;
	}
	if (!have_xattrs) {
		xp_buf_truncate(&s->full, s->rootlen);
		xp_buf_adds(&s->full, rel[1] ? rel : "");
		if (xp_buf_error(&s->full) || (r = hash_xattrs(xp_buf_str(&s->full), e.xattrs)) < 0) {
			free(e.extra);
			return xp_diags_fail(s->d, r ? r : -ENOMEM, rel, NULL, NULL,
					     "cannot read its extended attributes: %s",
					     r == -E2BIG ? "more than the kernel's bounds (64 KiB of "
							   "names, 64 KiB a value)"
							 : strerror(r ? -r : ENOMEM));
		}
	}
	if (!(e.path = strdup(rel)) ||
	    xp_grow(&s->m->v, &s->m->cap, s->m->n, sizeof(*s->m->v), 1024) < 0) {
		free(e.path);
		free(e.extra);
		return -ENOMEM;
	}
	if (e.type == 'f' && st->st_nlink > 1) {
		if (xp_grow(&s->inos, &s->capinos, s->ninos, sizeof(*s->inos), 256) < 0) {
			free(e.path);
			free(e.extra);
			return -ENOMEM;
		}
		s->inos[s->ninos++] = (struct ino){st->st_dev, st->st_ino, s->m->n};
	}
	s->m->v[s->m->n++] = e;
	return 0;
}

static int walk(struct scan *s, int dfd, const char *rel, int depth)
{
	if (depth > MAX_DEPTH)
		return xp_diags_fail(s->d, -ELOOP, rel, NULL, NULL, "nested too deep");
	int fd = dup(dfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		int e = -errno;
		if (fd >= 0)
			close(fd);
		return xp_diags_fail(s->d, e, rel, NULL, NULL, "cannot list: %s", strerror(-e));
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *child = NULL;
		if (asprintf(&child, "%s/%s", rel[1] ? rel : "", de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = xp_diags_fail(s->d, -errno, child, NULL, NULL, "cannot stat: %s",
					  strerror(errno));
			break;
		}
		if ((r = add_entry(s, dirfd(dir), de->d_name, child, &st)) < 0)
			break;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int cfd = openat(dirfd(dir), de->d_name,
							 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				r = xp_diags_fail(s->d, -errno, child, NULL, NULL, "cannot open: %s",
						  strerror(errno));
				break;
			}
			r = walk(s, cfd, child, depth + 1);
		}
	}
	closedir(dir);
	return r;
}

/* ---- hashing the files, in parallel ----------------------------------------------------- */

struct hasher {
	struct scan *s;
	int rootfd;
	atomic_size_t next;
	atomic_int err;	   /* the first failure, -errno */
	atomic_size_t bad; /* and its job */
};

/* Opens the regular file at rel below rootfd again, as the walk saw it: no symlink
 * followed on the way (openat2's RESOLVE_NO_SYMLINKS, where the kernel has it), and
 * the same inode (-ESTALE: the tree changed during the scan). */
static int open_again(int rootfd, const char *rel, const struct ino *j)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME;
	int fd = -1;
	for (int pass = 0; pass < 2 && fd < 0; pass++) {
		struct open_how how = {.flags = (uint64_t)flags,
				       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
						  RESOLVE_NO_MAGICLINKS};
		fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
		if (fd < 0 && errno == ENOSYS)
			fd = openat(rootfd, rel, flags);
		if (fd < 0 && errno == EPERM && (flags & O_NOATIME))
			flags &= ~O_NOATIME; /* O_NOATIME: the owner's or root's only */
		else
			break;
	}
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_dev != j->dev || st.st_ino != j->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

static void *hash_worker(void *arg)
{
	struct hasher *h = arg;
	for (;;) {
		size_t k = atomic_fetch_add(&h->next, 1);
		if (k >= h->s->nhash || atomic_load(&h->err))
			return NULL;
		const struct ino *j = &h->s->hash[k];
		struct xp_manifest_entry *e = &h->s->m->v[j->idx];
		int fd = open_again(h->rootfd, e->path[1] ? e->path + 1 : ".", j);
		unsigned char dg[32];
		int r = fd < 0 ? fd : xp_sha256_fd(fd, dg);
		if (fd >= 0)
			close(fd);
		if (r < 0) {
			int zero = 0;
			if (atomic_compare_exchange_strong(&h->err, &zero, r))
				atomic_store(&h->bad, k);
			return NULL;
		}
		xp_sha256_hex(dg, e->sha256);
	}
}

/* The content hashes of the files the walk noted: the hashing (util/sha256.c) and the
 * reading (the kernel's copy) are CPU work each file apart, so one thread per CPU (up
 * to 8) takes the next file until none is left. */
static int hash_all(struct scan *s, int rootfd)
{
	struct hasher h = {.s = s, .rootfd = rootfd};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus < 1 ? 1 : cpus > 8 ? 8 : (size_t)cpus;
	if (nt > s->nhash / 16 + 1)
		nt = s->nhash / 16 + 1;
	pthread_t th[8];
	size_t started = 0;
	for (size_t i = 1; i < nt; i++)
		if (pthread_create(&th[started], NULL, hash_worker, &h) == 0)
			started++;
	hash_worker(&h);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	int r = atomic_load(&h.err);
	if (r < 0) {
		const char *p = s->m->v[s->hash[atomic_load(&h.bad)].idx].path;
		return xp_diags_fail(s->d, r, p, NULL, NULL, "cannot read: %s",
				     r == -ESTALE ? "it changed during the scan" : strerror(-r));
	}
	return 0;
}

static int cmp_ino(const void *a, const void *b)
{
	const struct ino *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts m by path, and renumbers the entry indexes of inos to match. */
static int sort_entries(struct xp_manifest *m, struct ino *inos, size_t ninos)
{
	if (m->n == 0)
		return 0;
	struct pair {
		const char *p; /* first: cmp_str compares it */
		size_t i;
	} *pr = malloc(m->n * sizeof(*pr));
	struct xp_manifest_entry *sorted = malloc(m->n * sizeof(*sorted));
	size_t *newidx = malloc(m->n * sizeof(*newidx));
	if (!pr || !sorted || !newidx) {
		free(pr);
		free(sorted);
		free(newidx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n; i++)
		pr[i] = (struct pair){m->v[i].path, i};
	qsort(pr, m->n, sizeof(*pr), cmp_str);
	for (size_t i = 0; i < m->n; i++) {
		sorted[i] = m->v[pr[i].i];
		newidx[pr[i].i] = i;
	}
	for (size_t i = 0; i < ninos; i++)
		inos[i].idx = newidx[inos[i].idx];
	free(m->v);
	m->v = sorted;
	m->cap = m->n;
	free(pr);
	free(newidx);
	return 0;
}

int xp_manifest_scan(const char *root, const struct xp_manifest *prev, const char *prev_root,
		     struct xp_manifest *out, struct xp_diags *d)
{
	return xp__manifest_scan_known(root, prev, prev_root, NULL, 0, out, d);
}

int xp__manifest_scan_known(const char *root, const struct xp_manifest *prev,
			    const char *prev_root, const struct xp_copied *copied, size_t ncopied,
			    struct xp_manifest *out, struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	struct scan s = {.m = out,
			 .prev = prev_root ? prev : NULL,
			 .prev_fd = -1,
			 .copied = copied,
			 .ncopied = ncopied,
			 .d = d};
	/* the previous tree's root: each file's previous inode looked up from there */
	_cleanup_close_ int pfd = s.prev ? open(prev_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	s.prev_fd = pfd;
	xp_buf_init(&s.full);
	xp_buf_adds(&s.full, root);
	s.rootlen = s.full.len;
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int r;
	if (fd < 0 || fstat(fd, &st) < 0)
		r = xp_diags_fail(d, -errno, root, NULL, NULL, "cannot open: %s", strerror(errno));
	else if ((r = add_entry(&s, fd, ".", "/", &st)) == 0)
		r = walk(&s, fd, "/", 0);
	if (r == 0 && s.nhash)
		r = hash_all(&s, fd);
	if (r == 0) {
		r = sort_entries(out, s.inos, s.ninos);
	}
	/* a hard link's extra: the path of the first entry (in path order) of its inode */
	if (r == 0 && s.ninos)
		qsort(s.inos, s.ninos, sizeof(*s.inos), cmp_ino);
	for (size_t i = 0, first = 0; r == 0 && i < s.ninos; i++) {
		if (i == 0 || s.inos[i].dev != s.inos[first].dev || s.inos[i].ino != s.inos[first].ino)
			first = i;
		else if (!(out->v[s.inos[i].idx].extra = strdup(out->v[s.inos[first].idx].path)))
			r = -ENOMEM;
	}
	free(s.inos);
	free(s.hash);
	xp_buf_release(&s.full);
	if (r < 0)
		xp_manifest_release(out);
	return r;
}
