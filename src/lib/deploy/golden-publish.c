/*
 * golden-publish.c - a profile's golden image made fetchable by its content hash, for
 * `xenprov install --server` on other hosts (xenprov/install.h): the record
 * STATE/published/HASH names the file and its identity when hashed, so that the
 * server's read-only /images/HASH serves profiles' golden images and nothing else, and
 * never a file whose bytes may no longer match the name.
 *
 * Not here: preparing the image (golden.c), the HTTP side (net/http-images.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/published.h"
#include "xenprov/install.h"
#include "xenprov/sparse-stream.h"

#define RECORD_MAX 8192

void xp__ident_of(const struct stat *st, struct xp__ident *id)
{
	*id = (struct xp__ident){
	    .dev = (uint64_t)st->st_dev,
	    .ino = (uint64_t)st->st_ino,
	    .size = (uint64_t)st->st_size,
	    .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
	    .ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
	};
}

bool xp__ident_eq(const struct xp__ident *a, const struct xp__ident *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int xp__record_read(int dirfd, const char *name, char **path, struct xp__ident *id, char sparse[65])
{
	if (sparse)
		sparse[0] = '\0';
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	char buf[RECORD_MAX];
	size_t n = 0;
	ssize_t k;
	while (n < sizeof(buf) && (k = xp_read_some(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)k;
	close(fd);
	json_t *o = json_loadb(buf, n, 0, NULL);
	json_int_t dev, ino, size, mt, ct;
	const char *p, *sp = NULL;
	int r = -EBADMSG;
	if (json_unpack(o, "{s:s, s:I, s:I, s:I, s:I, s:I, s?s}", "path", &p, "dev", &dev, "ino",
			&ino, "size", &size, "mtime_ns", &mt, "ctime_ns", &ct, "sparse_sha256",
			&sp) == 0 &&
	    p[0] == '/' && (!sp || xp_sha256_hex_valid(sp))) {
		*id = (struct xp__ident){(uint64_t)dev, (uint64_t)ino, (uint64_t)size, mt, ct};
		if (sparse && sp)
			memcpy(sparse, sp, 65);
		r = (*path = strdup(p)) ? 0 : -ENOMEM;
	}
	json_decref(o);
	return r;
}

int xp__record_write(const char *file, const char *path, const struct xp__ident *id,
		     const char *sparse)
{
	json_t *o =
	    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "path", path, "dev", (json_int_t)id->dev,
		      "ino", (json_int_t)id->ino, "size", (json_int_t)id->size, "mtime_ns",
		      (json_int_t)id->mtime_ns, "ctime_ns", (json_int_t)id->ctime_ns);
	if (o && sparse && sparse[0] &&
	    json_object_set_new(o, "sparse_sha256", json_string(sparse)) < 0) {
		json_decref(o);
		o = NULL;
	}
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	int r = text ? xp_write_atomic(file, text, strlen(text), 0644) : -ENOMEM;
	free(text);
	return r;
}

/* The zeros a hole is hashed as in the raw SHA-256 */
static const unsigned char zero_block[65536];

static int hash_zeros(struct xp_sha256 *h, uint64_t len)
{
	int r = 0;
	for (uint64_t done = 0; r == 0 && done < len;) {
		size_t n =
		    len - done < sizeof(zero_block) ? (size_t)(len - done) : sizeof(zero_block);
		r = xp_sha256_add(h, zero_block, n);
		done += n;
	}
	return r;
}

/* One extent [off, end) of fd read and hashed into both. */
static int hash_extent(int fd, uint64_t off, uint64_t end, unsigned char *buf, size_t bufsz,
		       struct xp_sha256 *raw, struct xp_sparse_digest *sp)
{
	while (off < end) {
		size_t n = end - off < bufsz ? (size_t)(end - off) : bufsz;
		ssize_t got = pread(fd, buf, n, (off_t)off);
		if (got < 0)
			return -errno;
		if (got == 0) /* shorter than its identity says */
			return -EIO;
		int r = xp_sha256_add(raw, buf, (size_t)got);
		if (r == 0)
			r = xp_sparse_digest_add(sp, off, buf, (size_t)got);
		if (r < 0)
			return r;
		off += (uint64_t)got;
	}
	return 0;
}

int xp__image_digests(int fd, uint64_t size, unsigned char raw[32], unsigned char sparse[32])
{
	enum { BUF = 1 << 20 };
	struct xp_sha256 *h = NULL;
	struct xp_sparse_digest sp = {0};
	unsigned char *buf = malloc(BUF);
	int r = buf ? xp_sha256_new(&h) : -ENOMEM;
	if (r == 0)
		r = xp_sparse_digest_init(&sp, size);
	/* the walk of the sparse stream (http-images.c's sparse_next) */
	for (uint64_t pos = 0; r == 0 && pos < size;) {
		uint64_t data = size, end = size;
		if (!xp_sparse_extent_at(fd, pos, size, &data, &end))
			data = size;
		r = hash_zeros(h, data - pos);
		if (r == 0 && data < size)
			r = hash_extent(fd, data, end, buf, BUF, h, &sp);
		pos = data < size ? end : size;
	}
	if (r == 0)
		r = xp_sha256_final(h, raw);
	if (r == 0)
		r = xp_sparse_digest_final(&sp, sparse);
	xp_sparse_digest_release(&sp);
	xp_sha256_free(h);
	free(buf);
	return r;
}

static int published_dir(const char *state_dir, bool make, int *dirfd)
{
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/published", state_dir);
	if (make && mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return *dirfd < 0 ? -errno : 0;
}

int xp_golden_published_open(const char *state_dir, const char *hex, int *fd, uint64_t *size)
{
	*fd = -1;
	if (!xp_sha256_hex_valid(hex))
		return -EINVAL;
	int dirfd, r = published_dir(state_dir, false, &dirfd);
	if (r < 0)
		return -ENOENT;
	char *path = NULL;
	struct xp__ident want, have;
	r = xp__record_read(dirfd, hex, &path, &want, NULL);
	close(dirfd);
	if (r < 0)
		return -ENOENT;
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	free(path);
	struct stat st;
	if (f < 0)
		return -ENOENT;
	if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return -ENOENT;
	}
	xp__ident_of(&st, &have);
	if (!xp__ident_eq(&want, &have)) { /* changed since it was hashed: not what hex names */
		close(f);
		return -ENOENT;
	}
	*fd = f;
	*size = have.size;
	return 0;
}

/* The hash recorded for path with identity id, and its sparse digest, if any: 1, hex and
 * sparse, else 0 (a record without a sparse digest too: an older server's, hashed
 * again). Records of path with another identity are stale and removed. */
static int find_record(int dirfd, const char *path, const struct xp__ident *id, char hex[65],
		       char sparse[65])
{
	int fd2 = dup(dirfd);
	DIR *dir = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!dir) {
		if (fd2 >= 0)
			close(fd2);
		return -errno;
	}
	int found = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (!xp_sha256_hex_valid(e->d_name))
			continue;
		char *p = NULL;
		struct xp__ident rid;
		char sp[65];
		if (xp__record_read(dirfd, e->d_name, &p, &rid, sp) < 0)
			continue;
		if (strcmp(p, path) == 0) {
			if (!found && xp__ident_eq(&rid, id) && sp[0]) {
				memcpy(sparse, sp, 65);
				memcpy(hex, e->d_name, 65);
				found = 1;
			} else if (!xp__ident_eq(&rid, id)) {
				unlinkat(dirfd, e->d_name, 0);
			}
		}
		free(p);
	}
	closedir(dir);
	return found;
}

int xp_golden_publish(const char *state_dir, const struct xp_settings *s, struct xp_golden_pub *out,
		      struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	if (!xp_settings_get(s, "image"))
		return xp_diags_refuse(d, -ENODATA, "image", NULL, NULL,
				       "the profile has no image");
	struct xp_golden g = {0};
	int r = xp_golden_prepare(state_dir, s, NULL, NULL, NULL, &g, d);
	if (r < 0)
		return r;
	int dirfd = -1, fd = open(g.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = xp_diags_fail(d, -errno, g.path, "image", NULL,
				  "cannot open the golden image: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = xp_diags_fail(d, -EINVAL, g.path, "image", NULL,
				  "the golden image is not a regular file: it is not served");
		goto out;
	}
	if ((r = published_dir(state_dir, true, &dirfd)) < 0) {
		xp_diags_fail(d, r, state_dir, "published", NULL,
			      "cannot make the directory of published images: %s", strerror(-r));
		goto out;
	}
	struct xp__ident id;
	xp__ident_of(&st, &id);
	r = find_record(dirfd, g.path, &id, out->sha256, out->sparse_sha256);
	if (r == 0) {
		unsigned char dg[32], sdg[32];
		if ((r = xp__image_digests(fd, id.size, dg, sdg)) < 0) {
			xp_diags_fail(d, r, g.path, "image", NULL,
				      "cannot read the golden image: %s", strerror(-r));
			goto out;
		}
		xp_sha256_hex(dg, out->sha256);
		xp_sha256_hex(sdg, out->sparse_sha256);
		char rec[4300];
		snprintf(rec, sizeof(rec), "%s/published/%s", state_dir, out->sha256);
		r = xp__record_write(rec, g.path, &id, out->sparse_sha256);
		if (r < 0) {
			xp_diags_fail(d, r, rec, "published", NULL, "cannot record the image: %s",
				      strerror(-r));
			goto out;
		}
	} else if (r < 0) {
		xp_diags_fail(d, r, state_dir, "published", NULL,
			      "cannot read the published images: %s", strerror(-r));
		goto out;
	}
	r = 0;
	out->size = id.size;
	out->format = g.format == XP_IMAGE_QCOW2 ? "qcow2" : "raw";
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	xp_golden_release(&g);
	return r;
}

/* ---- the caller's cache ---------------------------------------------------------------- */

#define PUB_CACHE_MAX 64

struct xp_golden_pub_entry {
	char *values;		/* the settings, "key=value\n"... */
	struct xp__ident image; /* of the profile's image file */
	struct xp_golden_pub pub;
};

void xp_golden_pub_cache_release(struct xp_golden_pub_cache *c)
{
	for (size_t i = 0; c && i < c->n; i++)
		free(c->v[i].values);
	if (c) {
		free(c->v);
		c->v = NULL;
		c->n = 0;
	}
}

static char *values_text(const struct xp_settings *s)
{
	struct xp_buf b = XP_BUF_INIT;
	for (size_t i = 0; i < s->n; i++)
		xp_buf_addf(&b, "%s=%s\n", s->v[i].key, s->v[i].value);
	return xp_buf_steal(&b);
}

/* The entry of values text with image identity id, its published file still the one
 * hashed: 1 and *out; else 0. Under the cache's lock. */
static int lookup(struct xp_golden_pub_cache *c, const char *state_dir, const char *text,
		  const struct xp__ident *id, struct xp_golden_pub *out)
{
	for (size_t i = 0; i < c->n; i++) {
		struct xp_golden_pub_entry *e = &c->v[i];
		if (strcmp(e->values, text) != 0 || !xp__ident_eq(&e->image, id))
			continue;
		int fd;
		uint64_t size;
		if (xp_golden_published_open(state_dir, e->pub.sha256, &fd, &size) < 0)
			return 0; /* the published file changed: to be prepared again */
		close(fd);
		*out = e->pub;
		return 1;
	}
	return 0;
}

/* Remembers text (taken) with id: pub. Under the cache's lock. */
static void remember(struct xp_golden_pub_cache *c, char *text, const struct xp__ident *id,
		     const struct xp_golden_pub *pub)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].values, text) == 0) { /* replaced */
			free(c->v[i].values);
			c->v[i] = c->v[--c->n];
			break;
		}
	if (c->n == PUB_CACHE_MAX) { /* the oldest goes */
		free(c->v[0].values);
		memmove(c->v, c->v + 1, (c->n - 1) * sizeof(*c->v));
		c->n--;
	}
	struct xp_golden_pub_entry *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v) {
		free(text);
		return; /* not remembered: no harm */
	}
	c->v = v;
	c->v[c->n++] = (struct xp_golden_pub_entry){.values = text, .image = *id, .pub = *pub};
	c->gen++;
}

static void cache_lock(struct xp_golden_pub_cache *c)
{
	if (c->lock)
		pthread_mutex_lock(c->lock);
}

static void cache_unlock(struct xp_golden_pub_cache *c)
{
	if (c->lock)
		pthread_mutex_unlock(c->lock);
}

/* The cache's key of values s: their text (heap) and their image's identity; NULL when
 * the image is not a file there is (then nothing is remembered). */
static char *cache_key(const struct xp_settings *s, struct xp__ident *id)
{
	const char *image = xp_settings_get(s, "image");
	struct stat st;
	if (!image || stat(image, &st) < 0)
		return NULL;
	xp__ident_of(&st, id);
	return values_text(s);
}

int xp_golden_pub_cache_find(struct xp_golden_pub_cache *c, const char *state_dir,
			     const struct xp_settings *s, struct xp_golden_pub *out)
{
	struct xp__ident id;
	char *text = cache_key(s, &id);
	if (!text)
		return 0;
	cache_lock(c);
	int r = lookup(c, state_dir, text, &id, out);
	cache_unlock(c);
	free(text);
	return r;
}

unsigned long xp_golden_pub_cache_gen(struct xp_golden_pub_cache *c)
{
	cache_lock(c);
	unsigned long g = c->gen;
	cache_unlock(c);
	return g;
}

int xp_golden_publish_cached(struct xp_golden_pub_cache *c, const char *state_dir,
			     const struct xp_settings *s, struct xp_golden_pub *out,
			     struct xp_diags *d)
{
	struct xp__ident id = {0};
	char *text = c ? cache_key(s, &id) : NULL;
	if (text) {
		cache_lock(c);
		int hit = lookup(c, state_dir, text, &id, out);
		cache_unlock(c);
		if (hit) {
			free(text);
			return 0;
		}
	}
	/* the preparation (a tarball's image built, a file hashed) runs unlocked */
	int r = xp_golden_publish(state_dir, s, out, d);
	if (r < 0 || !text) {
		free(text);
		return r;
	}
	cache_lock(c);
	remember(c, text, &id, out);
	cache_unlock(c);
	return 0;
}
