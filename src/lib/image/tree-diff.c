/*
 * tree-diff.c - the exact difference between two directory trees (xenprov/imgdiff.h):
 * two versions of a captured image, or any two directories.
 *
 * Both trees are walked together, one directory at a time, through descriptors
 * (openat(2) with O_NOFOLLOW below each root, so a symlink in a tree is never followed
 * out of it), names merged in strcmp order. An entry with the same (device, inode) on
 * both sides is unchanged without another look: the image store makes each version
 * with rsync --link-dest, which links a file that did not change, so the cost of a diff
 * is the walk plus what changed. Otherwise lstat's fields, the symlink target, the
 * extended attributes and, for regular files of one size, the bytes are compared.
 *
 * Hard links inside the new tree: every regular file with more than one link is noted
 * (device, inode, first path in walk order); an added or changed file whose inode an
 * earlier path of the new tree has names that path in .link, so an update can make the
 * same link rather than a second copy.
 *
 * Not here: applying a difference to a guest (guest-update.c), the store's layout.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenprov/imgdiff.h"

/* a regular file of the new tree with more than one link */
struct ino_path {
	dev_t dev;
	ino_t ino;
	size_t order; /* walk order */
	char *path;
};

struct walk {
	struct xp_tdiff *out;
	struct xp_diags *d;
	struct ino_path *links;
	size_t nlinks, caplinks;
	size_t order;
	char *buf_a, *buf_b; /* content comparison buffers */
};

#define CMP_CHUNK (256u << 10)

const char *xp_tdiff_kind_name(enum xp_tdiff_kind k)
{
	switch (k) {
	case XP_TDIFF_ADDED:
		return "added";
	case XP_TDIFF_REMOVED:
		return "removed";
	case XP_TDIFF_CHANGED:
		return "changed";
	}
	return "?";
}

const char *xp_tdiff_what_name(unsigned bit)
{
	static const char *const names[] = {"type",  "mode",   "owner", "size",  "content",
					    "mtime", "target", "rdev",  "xattr", "link"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bit == 1u << i)
			return names[i];
	return "?";
}

char xp_tdiff_type_char(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return 'f';
	case S_IFDIR:
		return 'd';
	case S_IFLNK:
		return 'l';
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	case S_IFIFO:
		return 'p';
	case S_IFSOCK:
		return 's';
	}
	return '-';
}

static void tstat_release(struct xp_tstat *s)
{
	free(s->target);
	s->target = NULL;
}

void xp_tdiff_release(struct xp_tdiff *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].link);
		tstat_release(&t->v[i].old);
		tstat_release(&t->v[i].new);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int fail(struct walk *w, int err, const char *path, const char *what)
{
	return xp_diags_fail(w->d, err, path, "read", NULL, "cannot %s '%s': %s", what, path,
			     strerror(-err));
}

/* ---- names of one directory ----------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The names in the directory open at fd (taken: closed here), sorted. */
static int list_dir(int fd, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int r = -errno;
		close(fd);
		return r;
	}
	char **v = NULL;
	size_t k = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (k == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		if (!(v[k] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		k++;
		errno = 0;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(dir);
	if (r < 0) {
		names_free(v, k);
		return r;
	}
	if (k)
		qsort(v, k, sizeof(*v), cmp_str);
	*names = v;
	*n = k;
	return 0;
}

/* ---- one entry ------------------------------------------------------------------------ */

static int fill_stat(int dirfd, const char *name, const struct stat *st, struct xp_tstat *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = st->st_mode;
	out->uid = st->st_uid;
	out->gid = st->st_gid;
	out->size = S_ISREG(st->st_mode) || S_ISLNK(st->st_mode) ? (uint64_t)st->st_size : 0;
	out->mtime = st->st_mtim.tv_sec;
	out->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	out->rdev = S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? (uint64_t)st->st_rdev : 0;
	if (S_ISLNK(st->st_mode)) {
		size_t cap = (size_t)st->st_size + 1;
		if (cap < 64)
			cap = 64;
		for (;;) {
			char *t = malloc(cap);
			if (!t)
				return -ENOMEM;
			ssize_t k = readlinkat(dirfd, name, t, cap);
			if (k < 0) {
				int r = -errno;
				free(t);
				return r;
			}
			if ((size_t)k < cap) {
				t[k] = '\0';
				out->target = t;
				break;
			}
			free(t);
			cap *= 2;
		}
	}
	return 0;
}

static char *join(const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) < 0)
		return NULL;
	return p;
}

static int push_entry(struct walk *w, const char *path, enum xp_tdiff_kind kind, unsigned what,
		      struct xp_tstat *old, struct xp_tstat *new)
{
	struct xp_tdiff *t = w->out;
	if ((t->n & (t->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow at each power of two */
		struct xp_tdiff_entry *nv = realloc(t->v, (t->n ? t->n * 2 : 16) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->v = nv;
	}
	struct xp_tdiff_entry *e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	if (!(e->path = strdup(path)))
		return -ENOMEM;
	e->kind = kind;
	e->what = what;
	if (old) {
		e->old = *old;
		old->target = NULL;
	}
	if (new) {
		e->new = *new;
		new->target = NULL;
	}
	t->n++;
	if (kind == XP_TDIFF_ADDED)
		t->added++;
	else if (kind == XP_TDIFF_REMOVED)
		t->removed++;
	else
		t->changed++;
	return 0;
}

static int note_link(struct walk *w, const struct stat *st, const char *path)
{
	if (!S_ISREG(st->st_mode) || st->st_nlink < 2)
		return 0;
	if (w->nlinks == w->caplinks) {
		size_t nc = w->caplinks ? w->caplinks * 2 : 256;
		struct ino_path *nv = realloc(w->links, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		w->links = nv;
		w->caplinks = nc;
	}
	struct ino_path *l = &w->links[w->nlinks];
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	l->order = w->order++;
	if (!(l->path = strdup(path)))
		return -ENOMEM;
	w->nlinks++;
	return 0;
}

/* Same bytes in the regular files name at a and b (both st_size long)? 1 yes, 0 no. */
static int same_content(struct walk *w, int da, int db, const char *name, uint64_t size)
{
	int fa = openat(da, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fa < 0)
		return -errno;
	int fb = openat(db, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fb < 0) {
		int r = -errno;
		close(fa);
		return r;
	}
	int r = 1;
	for (uint64_t off = 0; r == 1 && off < size;) {
		size_t want = size - off > CMP_CHUNK ? CMP_CHUNK : (size_t)(size - off);
		ssize_t ka = pread(fa, w->buf_a, want, (off_t)off);
		ssize_t kb = pread(fb, w->buf_b, want, (off_t)off);
		if (ka < 0 || kb < 0)
			r = -errno;
		else if (ka != kb || ka == 0)
			r = 0; /* one changed size under us: different */
		else if (memcmp(w->buf_a, w->buf_b, (size_t)ka) != 0)
			r = 0;
		else
			off += (uint64_t)ka;
	}
	close(fa);
	close(fb);
	return r;
}

/* The extended attributes of name (an entry of dirfd, not followed) as a sorted
 * "name\0value-length:value" blob, for comparison. Attributes this user may not read
 * (trusted.*) are not listed to it, the same on both sides. Read through the
 * directory's /proc/self/fd link with the entry's name after it: the l*xattr calls
 * then stop at the entry itself (an O_PATH descriptor's own /proc link would be the
 * link that they do not follow, which has no attributes). */
static int xattr_blob(int dirfd, const char *name, char **blob, size_t *len)
{
	*blob = NULL;
	*len = 0;
	char proc[PATH_MAX];
	if (strchr(name, '/') ||
	    snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name) >= (int)sizeof(proc))
		return -ENAMETOOLONG;
	struct xp_xattrs x;
	int r = xp_xattrs_read(proc, &x);
	if (r < 0)
		return r;
	struct xp_buf b;
	xp_buf_init(&b);
	for (size_t i = 0; i < x.n; i++) {
		xp_buf_add(&b, x.v[i].name, strlen(x.v[i].name) + 1);
		xp_buf_addf(&b, "%zu:", x.v[i].len);
		xp_buf_add(&b, x.v[i].value, x.v[i].len);
	}
	xp_xattrs_release(&x);
	if (xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ENOMEM;
	}
	*len = b.len;
	*blob = xp_buf_steal(&b);
	return 0;
}

static int same_xattrs(int da, int db, const char *name)
{
	char *a, *b;
	size_t la, lb;
	int r = xattr_blob(da, name, &a, &la);
	if (r < 0)
		return r;
	r = xattr_blob(db, name, &b, &lb);
	if (r < 0) {
		free(a);
		return r;
	}
	r = la == lb && (la == 0 || memcmp(a, b, la) == 0);
	free(a);
	free(b);
	return r;
}

/* ---- the walk ------------------------------------------------------------------------- */

static int walk_dir(struct walk *w, int da, int db, const char *dir);

/* Emits every entry below the directory at fd (taken) as kind, pre-order; from the new
 * tree (added) their hard links are noted too. */
static int walk_one_side(struct walk *w, int fd, const char *dir, enum xp_tdiff_kind kind)
{
	return kind == XP_TDIFF_ADDED ? walk_dir(w, -1, fd, dir) : walk_dir(w, fd, -1, dir);
}

/* Opens name below dirfd as a directory, not followed. */
static int open_sub(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int one_side(struct walk *w, int dirfd, const char *name, const char *path,
		    enum xp_tdiff_kind kind)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(w, -errno, path, "read");
	struct xp_tstat s;
	int r = fill_stat(dirfd, name, &st, &s);
	if (r < 0)
		return fail(w, r, path, "read");
	if (kind == XP_TDIFF_ADDED && (r = note_link(w, &st, path)) < 0)
		return r;
	r = push_entry(w, path, kind, 0, kind == XP_TDIFF_REMOVED ? &s : NULL,
		       kind == XP_TDIFF_ADDED ? &s : NULL);
	tstat_release(&s);
	if (r < 0 || !S_ISDIR(st.st_mode))
		return r;
	int fd = open_sub(dirfd, name);
	if (fd < 0)
		return fail(w, fd, path, "open");
	return walk_one_side(w, fd, path, kind);
}

static int both_sides(struct walk *w, int da, int db, const char *name, const char *path)
{
	struct stat sa, sb;
	if (fstatat(da, name, &sa, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(w, -errno, path, "read");
	if (fstatat(db, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(w, -errno, path, "read");
	int r = note_link(w, &sb, path);
	if (r < 0)
		return r;
	if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && !S_ISDIR(sa.st_mode))
		return 0; /* one inode: unchanged (rsync --link-dest) */
	struct xp_tstat a, b;
	if ((r = fill_stat(da, name, &sa, &a)) < 0)
		return fail(w, r, path, "read");
	if ((r = fill_stat(db, name, &sb, &b)) < 0) {
		tstat_release(&a);
		return fail(w, r, path, "read");
	}
	unsigned what = 0;
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
		what = XP_TDIFF_TYPE;
	} else {
		if ((sa.st_mode & 07777) != (sb.st_mode & 07777))
			what |= XP_TDIFF_MODE;
		if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
			what |= XP_TDIFF_OWNER;
		if (!S_ISDIR(sa.st_mode) && a.mtime != b.mtime)
			what |= XP_TDIFF_MTIME;
		if (S_ISLNK(sa.st_mode) && strcmp(a.target, b.target) != 0)
			what |= XP_TDIFF_TARGET;
		if ((S_ISCHR(sa.st_mode) || S_ISBLK(sa.st_mode)) && a.rdev != b.rdev)
			what |= XP_TDIFF_RDEV;
		if (S_ISREG(sa.st_mode)) {
			if (a.size != b.size) {
				what |= XP_TDIFF_SIZE | XP_TDIFF_CONTENT;
			} else {
				int s = same_content(w, da, db, name, a.size);
				if (s < 0) {
					tstat_release(&a);
					tstat_release(&b);
					return fail(w, s, path, "read");
				}
				if (!s)
					what |= XP_TDIFF_CONTENT;
			}
		}
		if (!S_ISLNK(sa.st_mode)) {
			int s = same_xattrs(da, db, name);
			if (s < 0) {
				tstat_release(&a);
				tstat_release(&b);
				return fail(w, s, path, "read the extended attributes of");
			}
			if (!s)
				what |= XP_TDIFF_XATTR;
		}
	}
	r = what ? push_entry(w, path, XP_TDIFF_CHANGED, what, &a, &b) : 0;
	tstat_release(&a);
	tstat_release(&b);
	if (r < 0)
		return r;
	bool dir_a = S_ISDIR(sa.st_mode), dir_b = S_ISDIR(sb.st_mode);
	if (dir_a && dir_b) {
		int fa = open_sub(da, name);
		if (fa < 0)
			return fail(w, fa, path, "open");
		int fb = open_sub(db, name);
		if (fb < 0) {
			close(fa);
			return fail(w, fb, path, "open");
		}
		return walk_dir(w, fa, fb, path);
	}
	if (dir_a) { /* a directory became something else: its contents are removed */
		int fa = open_sub(da, name);
		if (fa < 0)
			return fail(w, fa, path, "open");
		r = walk_one_side(w, fa, path, XP_TDIFF_REMOVED);
	}
	if (r == 0 && dir_b) {
		int fb = open_sub(db, name);
		if (fb < 0)
			return fail(w, fb, path, "open");
		r = walk_one_side(w, fb, path, XP_TDIFF_ADDED);
	}
	return r;
}

/* Merges the directories open at da and db (either -1: that side has none; both taken).
 * dir is their path inside the trees. */
static int walk_dir(struct walk *w, int da, int db, const char *dir)
{
	char **na = NULL, **nb = NULL;
	size_t ka = 0, kb = 0;
	int r = 0;
	/* list_dir takes its descriptor; keep our own for the *at calls */
	int la = da >= 0 ? dup(da) : -1, lb = db >= 0 ? dup(db) : -1;
	if ((da >= 0 && la < 0) || (db >= 0 && lb < 0))
		r = -errno;
	if (r == 0 && la >= 0) {
		r = list_dir(la, &na, &ka);
		la = -1;
		if (r < 0)
			fail(w, r, dir, "list");
	}
	if (r == 0 && lb >= 0) {
		r = list_dir(lb, &nb, &kb);
		lb = -1;
		if (r < 0)
			fail(w, r, dir, "list");
	}
	if (la >= 0)
		close(la);
	if (lb >= 0)
		close(lb);
	size_t i = 0, j = 0;
	while (r == 0 && (i < ka || j < kb)) {
		int c = i == ka ? 1 : j == kb ? -1 : strcmp(na[i], nb[j]);
		const char *name = c <= 0 ? na[i] : nb[j];
		char *path = join(dir, name);
		if (!path) {
			r = -ENOMEM;
			break;
		}
		if (c < 0)
			r = one_side(w, da, name, path, XP_TDIFF_REMOVED);
		else if (c > 0)
			r = one_side(w, db, name, path, XP_TDIFF_ADDED);
		else
			r = both_sides(w, da, db, name, path);
		free(path);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	names_free(na, ka);
	names_free(nb, kb);
	if (da >= 0)
		close(da);
	if (db >= 0)
		close(db);
	return r;
}

static int cmp_ino(const void *a, const void *b)
{
	const struct ino_path *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Gives each added or changed regular file that shares its inode with an earlier path
 * of the new tree that path (.link). */
static int resolve_links(struct walk *w, int root_b)
{
	if (!w->nlinks)
		return 0;
	qsort(w->links, w->nlinks, sizeof(*w->links), cmp_ino);
	struct xp_tdiff *t = w->out;
	for (size_t i = 0; i < t->n; i++) {
		struct xp_tdiff_entry *e = &t->v[i];
		if (e->kind == XP_TDIFF_REMOVED || !S_ISREG(e->new.mode))
			continue;
		struct stat st;
		if (fstatat(root_b, e->path + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_nlink < 2)
			continue;
		struct ino_path key = {st.st_dev, st.st_ino, 0, NULL};
		/* the first (lowest order) record of this inode */
		size_t lo = 0, hi = w->nlinks;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cmp_ino(&w->links[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < w->nlinks && w->links[lo].dev == key.dev && w->links[lo].ino == key.ino &&
		    strcmp(w->links[lo].path, e->path) != 0) {
			if (!(e->link = strdup(w->links[lo].path)))
				return -ENOMEM;
			if (e->kind == XP_TDIFF_CHANGED)
				e->what |= XP_TDIFF_LINK;
		}
	}
	return 0;
}

int xp_tdiff_trees(const char *old_root, const char *new_root, struct xp_tdiff *out,
		   struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	struct walk w = {.out = out, .d = d};
	int fa = open(old_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fa < 0)
		return fail(&w, -errno, old_root, "open");
	int fb = open(new_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fb < 0) {
		int r = fail(&w, -errno, new_root, "open");
		close(fa);
		return r;
	}
	int root_b = dup(fb);
	w.buf_a = malloc(CMP_CHUNK);
	w.buf_b = malloc(CMP_CHUNK);
	int r = root_b < 0 ? -errno : (!w.buf_a || !w.buf_b) ? -ENOMEM : 0;
	if (r == 0)
		r = walk_dir(&w, fa, fb, "/");
	else {
		close(fa);
		close(fb);
	}
	if (r == 0)
		r = resolve_links(&w, root_b);
	if (root_b >= 0)
		close(root_b);
	for (size_t i = 0; i < w.nlinks; i++)
		free(w.links[i].path);
	free(w.links);
	free(w.buf_a);
	free(w.buf_b);
	if (r < 0)
		xp_tdiff_release(out);
	return r;
}
