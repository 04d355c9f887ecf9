/*
 * capture-skip.c - the second capture of a local tree without rsync's walk of what did
 * not change: xenprov's own walk of the source decides, by ctime and by the previous
 * capture's record of its directories (NAME/V/srcindex), which entries are the previous
 * version's (the new version, a lazy one, takes the previous manifest's lines for them,
 * imgstore.h), and gives rsync only the rest (--files-from) into the new version's delta,
 * so rsync's filter rules stay the only exclusion rules.
 *
 * Why it is exact: every change of an inode's content or attributes, every link or
 * unlink of it and every rename of it sets its ctime, which no program can set back (only
 * the clock, or a write to the raw device). So an entry whose ctime is older than the
 * previous capture's start, reached through directories that are the same inodes at the
 * same paths as then (the srcindex: a directory renamed or swapped into a path is another
 * inode there, though its children's ctimes are old), is what the previous capture saw,
 * and what it made of it is the previous version's entry. An entry the previous
 * manifest lacks, in such a directory whose own ctime is old (nothing was added, removed
 * or renamed in it), existed then and was not captured: it was excluded, and with the
 * same exclusion options (the srcindex's key) it is excluded now.
 *
 * Not here: running rsync, the verification of same-size changes with the mtime put back
 * (capture.c's verify_recent, which still runs), the manifest (manifest.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "image/imgstore-internal.h"
#include "util/cleanup.h"

#define SRCINDEX_MAGIC "xenprov-srcindex 1 "
#define SRCINDEX_MAX   (256u << 20)

struct skip_walk {
	struct xp_capture_skip *s;
	const struct xp_capture_opts *o;
	const struct xp_manifest *prev;
	int64_t since;
	int64_t recent_since; /* < 0: no file is recent */
	dev_t dev;
	struct xp_srcindex_entry *idx; /* the previous srcindex, sorted by path */
	size_t nidx;
	struct xp_buf path; /* the entry's path in the tree, "/a/b" */
	struct xp_buf a;    /* a scratch path */
	size_t seen;
};

void xp__capture_skip_release(struct xp_capture_skip *s)
{
	xp_buf_release(&s->index);
	xp_buf_release(&s->list);
	xp_buf_release(&s->linked);
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i].rel);
	free(s->dirs);
	for (size_t i = 0; i < s->nverify; i++)
		free(s->verify[i]);
	free(s->verify);
	memset(s, 0, sizeof(*s));
}

/* Filesystems whose ctimes come from another machine's clock, or from a daemon's word
 * (statfs(2)'s f_type): their entries are never skipped. */
static bool ctime_untrusted(long type)
{
	static const long fs[] = {
	    0x6969,	/* NFS */
	    0x517B,	/* SMB */
	    0xFF534D42, /* CIFS */
	    0xFE534D42, /* SMB2 */
	    0x65735546, /* FUSE (sshfs and friends) */
	    0x01021997, /* 9P */
	    0x00C36400, /* Ceph */
	    0x5346414F, /* AFS */
	    0x6B414653, /* kAFS */
	};
	for (size_t i = 0; i < sizeof(fs) / sizeof(*fs); i++)
		if ((unsigned long)type == (unsigned long)fs[i])
			return true;
	return false;
}

/* The key of what a capture of o would exclude from which tree: the source's real path,
 * the filesystem's identity there (statfs's type and fsid, the root directory's birth
 * time: another filesystem mounted at the path, whose inodes and ctimes may look the
 * same, is another key), the filesystem option, every exclusion pattern in force (the
 * defaults' text too, since another xenprov may have other defaults). *trusted: false
 * on a filesystem whose ctimes the skip cannot rely on (ctime_untrusted). */
static int skip_key(const struct xp_capture_opts *o, char hex[65], bool *trusted)
{
	_cleanup_free_ char *real = realpath(o->source, NULL);
	if (!real)
		return -errno;
	struct statfs sf;
	if (statfs(real, &sf) < 0)
		return -errno;
	*trusted = !ctime_untrusted((long)sf.f_type);
	struct statx sx;
	long long btime = -1, btime_ns = -1;
	if (statx(AT_FDCWD, real, 0, STATX_BTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME))
		btime = (long long)sx.stx_btime.tv_sec, btime_ns = sx.stx_btime.tv_nsec;
	int fsid[2];
	memcpy(fsid, &sf.f_fsid, sizeof(fsid));
	struct xp_buf k = XP_BUF_INIT;
	xp_buf_addf(&k, "%s%c%lx:%x:%x:%lld.%lld%c%d%c", real, 0, (unsigned long)sf.f_type,
		    (unsigned)fsid[0], (unsigned)fsid[1], btime, btime_ns, 0,
		    o->all_filesystems ? 1 : 0, 0);
	for (size_t i = 0; i < xp_capture_default_count(); i++) {
		if (o->default_off & (1ull << i))
			continue;
		const char *n, *w;
		xp_capture_default(i, &n, &w, &k);
		xp_buf_add(&k, "", 1);
	}
	for (size_t i = 0; i < o->nexcludes; i++)
		xp_buf_add(&k, o->excludes[i], strlen(o->excludes[i]) + 1);
	int r = xp_buf_error(&k);
	unsigned char dg[32];
	if (r == 0)
		r = xp_sha256(k.s, k.len, dg);
	if (r == 0)
		xp_sha256_hex(dg, hex);
	xp_buf_release(&k);
	return r;
}

static int idx_cmp(const void *a, const void *b)
{
	return strcmp(((const struct xp_srcindex_entry *)a)->path,
		      ((const struct xp_srcindex_entry *)b)->path);
}

int xp__srcindex_parse(const char *text, size_t len, const char *key,
		       struct xp_srcindex_entry **out, size_t *n)
{
	size_t ml = strlen(SRCINDEX_MAGIC);
	*out = NULL;
	*n = 0;
	if (len < ml + 65 || memcmp(text, SRCINDEX_MAGIC, ml) != 0 || text[ml + 64] != '\n' ||
	    !xp_sha256_hex_valid_n(text + ml, 64))
		return -EBADMSG;
	if (memcmp(text + ml, key, 64) != 0)
		return 0; /* another source or other options: nothing to skip */
	size_t cap = 0;
	const char *p = text + ml + 65, *end = text + len;
	int r = 0;
	while (p < end) {
		const char *nul = memchr(p, 0, (size_t)(end - p));
		/* a number is digits only (strtoull would take blanks and a sign) */
		if (!nul || *p < '0' || *p > '9') {
			r = -EBADMSG;
			break;
		}
		char *e1, *e2;
		errno = 0;
		unsigned long long dev = strtoull(p, &e1, 10);
		if (*e1 != ' ' || e1[1] < '0' || e1[1] > '9' || errno) {
			r = -EBADMSG;
			break;
		}
		unsigned long long ino = strtoull(e1 + 1, &e2, 10);
		if (*e2 != ' ' || e2[1] != '/' || errno) {
			r = -EBADMSG;
			break;
		}
		if (xp_grow(out, &cap, *n, sizeof(**out), 256) < 0) {
			r = -ENOMEM;
			break;
		}
		(*out)[(*n)++] = (struct xp_srcindex_entry){.path = e2 + 1, .dev = dev, .ino = ino};
		p = nul + 1;
	}
	if (r < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		return r;
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), idx_cmp);
	return 0;
}

/* Whether the directory at path is the same inode as the previous capture saw there. */
static bool idx_same(const struct skip_walk *w, const char *path, const struct stat *st)
{
	struct xp_srcindex_entry k = {.path = path};
	const struct xp_srcindex_entry *e =
	    w->idx ? bsearch(&k, w->idx, w->nidx, sizeof(k), idx_cmp) : NULL;
	return e && e->dev == (uint64_t)st->st_dev && e->ino == (uint64_t)st->st_ino;
}

static void idx_add(struct skip_walk *w, const char *path, const struct stat *st)
{
	xp_buf_addf(&w->s->index, "%llu %llu %s", (unsigned long long)st->st_dev,
		    (unsigned long long)st->st_ino, path);
	xp_buf_add(&w->s->index, "", 1);
}

static char type_of(mode_t m)
{
	return S_ISREG(m)    ? 'f'
	       : S_ISDIR(m)  ? 'd'
	       : S_ISLNK(m)  ? 'l'
	       : S_ISCHR(m)  ? 'c'
	       : S_ISBLK(m)  ? 'b'
	       : S_ISFIFO(m) ? 'p'
			     : 's';
}

/* An entry rsync is to copy (or to exclude): its path relative to the source, NUL-ended. */
static void list_add(struct skip_walk *w, const char *path)
{
	xp_buf_add(&w->s->list, path + 1, strlen(path));
	w->s->nlisted++;
}

static const char *join(struct xp_buf *b, const char *root, const char *rel)
{
	xp_buf_truncate(b, 0);
	xp_buf_addf(b, "%s%s", root, rel);
	return xp_buf_error(b) ? NULL : xp_buf_str(b);
}

/* A directory of the previous version's (clean: the same, unless
 * xp__capture_skip_make_dirs finds the delta needs it). */
static int dir_add(struct xp_capture_skip *s, const char *rel, const struct stat *st, bool clean)
{
	struct xp_capture_skip_dir t = {.rel = strdup(rel), .st = *st, .clean = clean};
	if (!t.rel || xp_grow(&s->dirs, &s->dcap, s->ndirs, sizeof(*s->dirs), 64) < 0) {
		free(t.rel);
		return -ENOMEM;
	}
	s->dirs[s->ndirs++] = t;
	return 0;
}

/* mode: 0 records directories only (nothing is skipped), 1 also finds what did not
 * change (this directory is the same inode at the same path as before), 2 is below a directory
 * rsync copies whole: also notes the regular files the previous manifest has at that path (rsync's
 * quick check there compares with another file when the directory was renamed into the path: they
 * are verified as capture.c verifies recent files); clean: this directory's own ctime is old. */
static int walk_dir(struct skip_walk *w, int dfd, int depth, int mode, bool clean,
		    struct xp_diags *d)
{
	int fd = depth > 4096 ? -1 : dup(dfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		/* what cannot be read is rsync's to report, and may be anything */
		w->s->sparse = true;
		if (mode == 1)
			list_add(w, w->path.len ? xp_buf_str(&w->path) : "/.");
		return 0;
	}
	size_t len = w->path.len;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((++w->seen & 4095) == 0 && w->o->cancelled && w->o->cancelled(w->o->ud)) {
			r = xp_diags_fail(d, -ECANCELED, NULL, "cancelled", NULL,
					  "capture of '%s' interrupted: nothing kept",
					  w->o->source);
			break;
		}
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			w->s->sparse = true;
			continue; /* gone: its directory's ctime tells the next capture */
		}
		xp_buf_truncate(&w->path, len);
		xp_buf_addc(&w->path, '/');
		xp_buf_adds(&w->path, de->d_name);
		if (xp_buf_error(&w->path)) {
			r = -ENOMEM;
			break;
		}
		const char *rel = xp_buf_str(&w->path);
		bool descend =
		    S_ISDIR(st.st_mode) && (w->s->all_filesystems || st.st_dev == w->dev);
		if (S_ISDIR(st.st_mode))
			idx_add(w, rel, &st);
		const struct xp_manifest_entry *e = mode ? xp_manifest_find(w->prev, rel) : NULL;
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size)
			w->s->sparse = true;
		/* a file changed since the previous capture began, or one below a directory
		 * renamed into its path that the previous manifest has: verified by content
		 * after rsync (capture.c, verify_recent) */
		if (S_ISREG(st.st_mode) &&
		    ((w->recent_since >= 0 && st.st_ctim.tv_sec >= w->recent_since) ||
		     (mode == 2 && e && e->type == 'f'))) {
			char *p = strdup(rel);
			if (!p || xp_grow(&w->s->verify, &w->s->vcap, w->s->nverify,
					  sizeof(*w->s->verify), 64) < 0) {
				free(p);
				r = -ENOMEM;
				break;
			}
			w->s->verify[w->s->nverify++] = p;
		}
		int cmode = 0;
		if (mode == 1 && S_ISDIR(st.st_mode)) {
			/* the same directory: the previous version's, unless
			 * xp__capture_skip_make_dirs finds the delta needs it */
			if (descend && e && e->type == 'd' && idx_same(w, rel, &st)) {
				if ((r = dir_add(w->s, rel, &st, st.st_ctim.tv_sec < w->since)) < 0)
					break;
				cmode = 1;
			} else if (!e && clean) {
				continue; /* excluded by the previous capture, so now */
			} else if (!descend && e && e->type == 'd') {
				/* a mount point (another filesystem, not entered): the empty
				 * directory the previous capture made, remade in the delta
				 * when its attributes may have changed */
				if ((r = dir_add(w->s, rel, &st,
						 st.st_ctim.tv_sec < w->since && idx_same(w, rel, &st))) < 0)
					break;
				continue;
			} else {
				/* rsync given a directory by --files-from enters it even on
				 * another filesystem (-x judges what is below it): such a
				 * new mount point makes rsync's path copy the whole tree */
				if (!descend)
					w->s->new_mount = true;
				list_add(w, rel); /* rsync copies it whole (-r) */
				cmode = 2;
			}
		} else if (mode == 2 && S_ISDIR(st.st_mode)) {
			cmode = 2;
		} else if (mode == 1) {
			bool same = e && st.st_ctim.tv_sec < w->since &&
				    e->type == type_of(st.st_mode) &&
				    e->mode == (st.st_mode & 07777) && e->uid == st.st_uid &&
				    e->gid == st.st_gid && e->mtime == (int64_t)st.st_mtim.tv_sec &&
				    (!S_ISREG(st.st_mode) || e->size == (uint64_t)st.st_size);
			/* the new version takes the previous manifest's line; a file of a
			 * hard-link group goes to rsync, which makes the group in the delta */
			if (same && (!S_ISREG(st.st_mode) || st.st_nlink == 1)) {
				xp_buf_add(&w->s->linked, rel, strlen(rel) + 1);
				w->s->nlinked++;
				continue;
			}
			if (!same && !e && clean)
				continue;
			list_add(w, rel);
			continue;
		}
		if (descend) {
			_cleanup_close_ int cfd =
			    openat(dirfd(dir), de->d_name,
				   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0)
				w->s->sparse = true;
			if (cfd >= 0)
				r = walk_dir(w, cfd, depth + 1, cmode, st.st_ctim.tv_sec < w->since,
					     d);
			else if (cmode == 1)
				list_add(w, rel);
		}
	}
	closedir(dir);
	xp_buf_truncate(&w->path, len);
	if (r == 0 && (xp_buf_error(&w->s->index) || xp_buf_error(&w->s->list)))
		r = -ENOMEM;
	return r;
}

int xp__capture_skip_walk(struct xp_capture_skip *s, const struct xp_capture_opts *o,
			  const char *prev_dir, const struct xp_manifest *prev,
			  int64_t prev_started, int64_t recent_since, struct xp_diags *d)
{
	memset(s, 0, sizeof(*s));
	xp_buf_init(&s->index);
	xp_buf_init(&s->list);
	xp_buf_init(&s->linked);
	s->all_filesystems = o->all_filesystems;
	char key[65];
	bool trusted = false;
	int r = skip_key(o, key, &trusted);
	if (r < 0)
		return xp_diags_fail(d, r, o->source, NULL, NULL, "cannot open: %s", strerror(-r));
	xp_buf_addf(&s->index, "%s%s\n", SRCINDEX_MAGIC, key);
	_cleanup_free_ char *itext = NULL, *ipath = NULL;
	_cleanup_free_ struct xp_srcindex_entry *idx = NULL;
	size_t ilen = 0, nidx = 0;
	/* only root sees and sets every owner and xattr as rsync -aHAX does; the previous
	 * capture's start less a second (the filesystem's clock is the kernel's coarse one) */
	bool active = prev_dir && prev && prev_started > 0 && geteuid() == 0 && trusted;
	if (active) {
		if (asprintf(&ipath, "%s/srcindex", prev_dir) < 0)
			return -ENOMEM;
		r = xp_read_file(ipath, SRCINDEX_MAX, &itext, &ilen);
		if (r == 0 && xp__srcindex_parse(itext, ilen, key, &idx, &nidx) < 0)
			nidx = 0; /* a damaged index: nothing is skipped */
		active = r == 0 && nidx > 0;
	}
	struct skip_walk w = {.s = s,
			      .o = o,
			      .prev = prev,
			      .since = prev_started - 1,
			      .recent_since = recent_since,
			      .idx = idx,
			      .nidx = nidx};
	xp_buf_init(&w.path);
	xp_buf_init(&w.a);
	_cleanup_close_ int fd = open(o->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		s->sparse = true; /* rsync says what it is */
		goto out;
	}
	w.dev = st.st_dev;
	idx_add(&w, "/", &st);
	active = active && idx_same(&w, "/", &st) && xp_manifest_find(prev, "/");
	if (active && (r = dir_add(s, "", &st, false)) < 0)
		goto out;
	s->active = active;
	r = walk_dir(&w, fd, 0, active ? 1 : 0, st.st_ctim.tv_sec < w.since, d);
out:
	xp_buf_release(&w.path);
	xp_buf_release(&w.a);
	if (r < 0)
		s->active = false;
	return r;
}

int xp__capture_skip_finish(struct xp_capture_skip *s, const char *source, const char *new_root,
			    struct xp_diags *d)
{
	struct xp_buf sp = XP_BUF_INIT, np = XP_BUF_INIT;
	int r = 0;
	/* deepest first (the list is in pre-order): a directory's times after its content */
	for (size_t i = s->ndirs; r == 0 && i-- > 0;) {
		const struct xp_capture_skip_dir *t = &s->dirs[i];
		if (!t->made)
			continue;
		/* the root as "SRC/": a symlink to a directory followed, as rsync does */
		const char *sa = join(&sp, source, t->rel[0] ? t->rel : "/"),
			   *na = join(&np, new_root, t->rel);
		if (!sa || !na) {
			r = -ENOMEM;
			break;
		}
		if ((r = xp__dir_attrs_set(&t->st, sa, na)) < 0)
			xp_diags_fail(d, r, na, NULL, NULL, "cannot set attributes: %s",
				      strerror(-r));
	}
	xp_buf_release(&sp);
	xp_buf_release(&np);
	return r;
}

static int dir_cmp(const void *a, const void *b, void *arg)
{
	const struct xp_capture_skip_dir *v = arg;
	return strcmp(v[*(const size_t *)a].rel, v[*(const size_t *)b].rel);
}

/* Marks the directory rel (and its ancestors) to be made in the delta. */
static void need(struct xp_capture_skip *s, const size_t *by, const char *rel, size_t len)
{
	for (;;) {
		size_t lo = 0, hi = s->ndirs;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			const char *m = s->dirs[by[mid]].rel;
			int c = strncmp(m, rel, len);
			if (c == 0 && m[len])
				c = 1;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < s->ndirs && strncmp(s->dirs[by[lo]].rel, rel, len) == 0 &&
		    !s->dirs[by[lo]].rel[len]) {
			if (s->dirs[by[lo]].made)
				return; /* and its ancestors are */
			s->dirs[by[lo]].made = true;
		}
		if (len == 0)
			return;
		while (len > 0 && rel[len - 1] != '/')
			len--;
		if (len > 0)
			len--; /* "/a/b" -> "/a", "/a" -> "" */
	}
}

int xp__capture_skip_make_dirs(struct xp_capture_skip *s, const char *delta, bool etc,
			       struct xp_diags *d)
{
	if (!s->ndirs)
		return 0;
	_cleanup_free_ size_t *by = calloc(s->ndirs, sizeof(*by));
	if (!by)
		return -ENOMEM;
	for (size_t i = 0; i < s->ndirs; i++)
		by[i] = i;
	qsort_r(by, s->ndirs, sizeof(*by), dir_cmp, s->dirs);
	need(s, by, "", 0);
	for (size_t i = 0; i < s->ndirs; i++)
		if (!s->dirs[i].clean && !s->dirs[i].made)
			need(s, by, s->dirs[i].rel, strlen(s->dirs[i].rel));
	if (etc)
		need(s, by, "/etc", 4);
	/* the directory of each entry rsync is to copy ("a/b/c" -> "/a/b") */
	for (size_t off = 0; off < s->list.len; off += strlen(s->list.s + off) + 1) {
		const char *e = s->list.s + off, *slash = strrchr(e, '/');
		char rel[PATH_MAX + 2];
		int n = snprintf(rel, sizeof(rel), "/%.*s", slash ? (int)(slash - e) : 0, e);
		if (n < 0 || (size_t)n >= sizeof(rel))
			return -ENAMETOOLONG;
		need(s, by, slash ? rel : "", slash ? (size_t)n : 0);
	}
	/* pre-order: a parent before its children */
	struct xp_buf p = XP_BUF_INIT;
	int r = 0;
	for (size_t i = 1; r == 0 && i < s->ndirs; i++) {
		if (!s->dirs[i].made)
			continue;
		const char *np = join(&p, delta, s->dirs[i].rel);
		if (!np)
			r = -ENOMEM;
		else if (mkdir(np, 0700) < 0)
			r = xp_diags_fail(d, -errno, np, NULL, NULL, "cannot create: %s",
					  strerror(errno));
	}
	xp_buf_release(&p);
	return r;
}
