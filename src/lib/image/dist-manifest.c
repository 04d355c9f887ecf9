/*
 * dist-manifest.c - the size of a distribution image before its tar stream starts.
 *
 * mmdebstrap writes the root it made as a tar on a pipe, which can be read once. The
 * filesystem must be sized before the first byte is written, so a customize hook of
 * ours lists the finished root (find(1) -printf XP_MANIFEST_FORMAT: type, size, link
 * count, inode, path, symlink target, for every file) into a private file before
 * mmdebstrap's cleanup and tar run. Each record becomes a libarchive entry header and
 * goes through the very estimator xp_fs_estimate uses on an archive (xp_est_add,
 * xp_est_size in extfs-estimate.c), so both ways of sizing agree by construction.
 *
 * What the hook leaves out is what mmdebstrap's cleanup removes before the tar (apt's
 * package lists and caches, downloaded .debs, /tmp) and /dev, whose entries mmdebstrap
 * writes into the tar itself: `extra` entries are counted for them. Everything else
 * in the list is an upper bound of the tar (cleanup only removes), so the estimate is
 * never short.
 *
 * Not here: running mmdebstrap (image-dist.c); the format is parsed strictly and fuzzed
 * (fuzz/fuzz-dist-manifest.c): file names in a distribution come from its packages.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/dist-text.h"
#include "image/extfs-internal.h"

/* The inodes of files with more than one link seen so far: the first path of each is
 * the file, the others hard links (as tar writes them). Open addressing on the inode
 * number. */
struct inode_set {
	uint64_t *slots; /* inode + 1; 0 is empty */
	size_t cap, n;
};

static int inode_seen(struct inode_set *s, uint64_t ino, bool *seen)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		uint64_t *nv = calloc(cap, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i])
				continue;
			size_t j = (size_t)(s->slots[i] * 0x9e3779b97f4a7c15ull) & (cap - 1);
			while (nv[j])
				j = (j + 1) & (cap - 1);
			nv[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = nv;
		s->cap = cap;
	}
	uint64_t key = ino + 1;
	size_t j = (size_t)(key * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
	while (s->slots[j]) {
		if (s->slots[j] == key) {
			*seen = true;
			return 0;
		}
		j = (j + 1) & (s->cap - 1);
	}
	s->slots[j] = key;
	s->n++;
	*seen = false;
	return 0;
}

/* A decimal number of at most 19 digits ending at a space: its value, the position after
 * the space. */
static bool number(const char *p, const char *end, uint64_t *v, const char **next)
{
	uint64_t x = 0;
	size_t n = 0;
	while (p + n < end && p[n] >= '0' && p[n] <= '9' && n < 19)
		x = x * 10 + (uint64_t)(p[n++] - '0');
	if (n == 0 || p + n >= end || p[n] != ' ')
		return false;
	*v = x;
	*next = p + n + 1;
	return true;
}

static int bad(struct xp_diags *d, const char *name, uint64_t rec, const char *what)
{
	if (d)
		xp_diags_add(d, XP_SEV_ERROR, name, 0, 0, "manifest", NULL, NULL,
			     "record %llu: %s", (unsigned long long)rec, what);
	return -EBADMSG;
}

int xp_manifest_estimate(const char *data, size_t len, const char *name, unsigned extra,
			 const struct xp_fs_opts *opts, unsigned headroom_percent,
			 uint64_t *bytes, uint64_t *content, struct xp_diags *d)
{
	if (len > XP_MANIFEST_MAX)
		return xp_diags_fail(d, -EFBIG, name, "manifest", NULL,
				     "larger than %u MiB", XP_MANIFEST_MAX >> 20);
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	struct xp_est est;
	xp_est_init(&est);
	struct inode_set links = {0};
	char path[PATH_MAX + 3];
	const char *p = data, *end = data + len;
	uint64_t rec = 0, total = 0;
	bool root = false;
	int r = 0;
	while (r == 0 && p < end) {
		rec++;
		uint64_t size, nlink, ino;
		char type = *p;
		const char *q;
		if (end - p < 2 || !strchr("fdlbcps", type) || type == 0 || p[1] != ' ' ||
		    !number(p + 2, end, &size, &q) || !number(q, end, &nlink, &q) ||
		    !number(q, end, &ino, &q)) {
			r = bad(d, name, rec, "not 'TYPE SIZE LINKS INODE PATH'");
			break;
		}
		const char *pe = memchr(q, '\0', (size_t)(end - q));
		const char *t = pe ? pe + 1 : NULL;
		const char *te = t && t < end ? memchr(t, '\0', (size_t)(end - t)) : NULL;
		if (!te) {
			r = bad(d, name, rec, "truncated");
			break;
		}
		size_t pl = (size_t)(pe - q), tl = (size_t)(te - t);
		if (pl >= PATH_MAX || tl >= PATH_MAX) {
			r = bad(d, name, rec, "a path or link target too long");
			break;
		}
		if ((type == 'l') != (tl > 0)) {
			r = bad(d, name, rec,
				type == 'l' ? "a symlink without a target" : "a target for a non-symlink");
			break;
		}
		if (pl == 0) {
			/* the root itself, once, a directory */
			if (type != 'd' || root) {
				r = bad(d, name, rec, "an empty path that is not the root directory");
				break;
			}
			root = true;
		}
		/* "./" in front: a name starting with ".." stays a name, never a climb (the
		 * estimator normalises and drops what would leave the root) */
		memcpy(path, "./", 2);
		memcpy(path + 2, q, pl);
		path[pl + 2] = 0;
		archive_entry_clear(e);
		archive_entry_set_pathname(e, path);
		static const struct {
			char c;
			mode_t t;
		} types[] = {{'f', AE_IFREG}, {'d', AE_IFDIR},	{'l', AE_IFLNK}, {'b', AE_IFBLK},
			     {'c', AE_IFCHR}, {'p', AE_IFIFO}, {'s', AE_IFSOCK}};
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (types[i].c == type)
				archive_entry_set_filetype(e, (unsigned)types[i].t);
		if (type == 'f') {
			if (size > XP_MANIFEST_CONTENT_MAX - total) {
				r = xp_diags_fail(d, -EFBIG, name, "manifest", NULL,
						  "record %llu: more than %llu GiB of files",
						  (unsigned long long)rec,
						  (unsigned long long)(XP_MANIFEST_CONTENT_MAX >> 30));
				break;
			}
			total += size;
			archive_entry_set_size(e, (int64_t)size);
		}
		if (type == 'l') {
			char target[PATH_MAX];
			memcpy(target, t, tl);
			target[tl] = 0;
			archive_entry_set_symlink(e, target);
		}
		if (type != 'd' && nlink > 1) {
			bool seen;
			r = inode_seen(&links, ino, &seen);
			if (r < 0)
				break;
			/* the estimator counts only the directory record of a hard link */
			if (seen)
				archive_entry_set_hardlink(e, "./");
		}
		xp_est_add(&est, e);
		p = te + 1;
	}
	/* /dev's entries, which mmdebstrap writes into the tar itself */
	for (unsigned i = 0; r == 0 && i < extra; i++) {
		snprintf(path, sizeof(path), "./dev/.xenprov-%u", i);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, path);
		archive_entry_set_filetype(e, AE_IFCHR);
		xp_est_add(&est, e);
	}
	if (r == 0 && !root)
		r = rec ? bad(d, name, rec, "no record of the root directory")
			: xp_diags_fail(d, -EBADMSG, name, "manifest", NULL, "empty");
	if (r == 0)
		r = xp_est_size(&est, opts, headroom_percent, bytes, d);
	if (r == 0 && content)
		*content = est.content_bytes;
	free(links.slots);
	xp_est_release(&est);
	archive_entry_free(e);
	return r;
}
