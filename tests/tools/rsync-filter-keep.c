/*
 * rsync-filter-keep.c - xp-rsync-filter-keep, a test tool: what `rsync -a
 * --exclude=P... ROOT/ DST/` would copy, by the library's matcher (image/rsync-filter.h),
 * for tests/integration/rsync-filter.sh to compare with the real rsync. Not installed.
 *
 *   xp-rsync-filter-keep ROOT [PATTERN...]
 *       prints each kept path below ROOT ("/a/b", NUL-terminated, walk order), not
 *       descending into an excluded directory (lstat: a symlink is not one); exit 0;
 *       exit 3 with "ENOTSUP" on standard error when the matcher refuses the patterns
 *   xp-rsync-filter-keep --bench REPEAT ROOT [PATTERN...]
 *       the tree's paths (all of them, excluded or not) judged REPEAT times: prints the
 *       number of paths, patterns and judgements and the time per pass over all paths
 *
 * Exit 1 on any other failure, 2 on usage.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "image/rsync-filter.h"

struct walk {
	const struct xp_rsync_filter *f;
	char buf[PATH_MAX * 4];
	size_t root_len; /* buf's path below the root starts here, with its '/' */
	bool all;	 /* collect every path (the benchmark), print nothing */
	char **paths;
	bool *dirs;
	size_t n, cap;
};

static int collect(struct walk *w, bool dir)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 1024;
		char **v = realloc(w->paths, nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->paths = v;
		bool *dv = realloc(w->dirs, nc * sizeof(*dv));
		if (!dv)
			return -ENOMEM;
		w->dirs = dv;
		w->cap = nc;
	}
	if (!(w->paths[w->n] = strdup(w->buf + w->root_len)))
		return -ENOMEM;
	w->dirs[w->n++] = dir;
	return 0;
}

/* The directory at w->buf (len bytes) walked: each kept entry printed and, if a
 * directory, walked; or (w->all) every entry collected. -errno. */
static int walk_dir(struct walk *w, size_t len)
{
	DIR *d = opendir(w->buf);
	if (!d)
		return -errno;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t nl = strlen(e->d_name);
		if (len + 1 + nl + 1 > sizeof(w->buf)) {
			rc = -ENAMETOOLONG;
			break;
		}
		w->buf[len] = '/';
		memcpy(w->buf + len + 1, e->d_name, nl + 1);
		struct stat st;
		if (lstat(w->buf, &st) < 0) {
			rc = -errno;
			break;
		}
		bool dir = S_ISDIR(st.st_mode);
		if (w->all) {
			rc = collect(w, dir);
		} else if (!xp_rsync_filter_excluded(w->f, w->buf + w->root_len, dir)) {
			fwrite(w->buf + w->root_len, 1, len + 1 + nl + 1 - w->root_len, stdout);
		} else {
			continue;
		}
		if (rc == 0 && dir)
			rc = walk_dir(w, len + 1 + nl);
	}
	if (rc == 0 && errno)
		rc = -errno;
	closedir(d);
	w->buf[len] = '\0';
	return rc;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long repeat = 0;
	int a = 1;
	if (argc > 2 && !strcmp(argv[1], "--bench")) {
		repeat = strtol(argv[2], NULL, 10);
		a = 3;
	}
	if (a >= argc || repeat < 0) {
		fprintf(stderr, "usage: xp-rsync-filter-keep [--bench REPEAT] ROOT [PATTERN...]\n");
		return 2;
	}
	static struct walk w;
	size_t rl = strlen(argv[a]);
	while (rl > 1 && argv[a][rl - 1] == '/')
		rl--;
	if (rl >= sizeof(w.buf) / 2) {
		fprintf(stderr, "xp-rsync-filter-keep: root too long\n");
		return 2;
	}
	memcpy(w.buf, argv[a], rl);
	w.root_len = rl;
	struct xp_rsync_filter *f;
	int rc = xp_rsync_filter_new((const char *const *)argv + a + 1, (size_t)(argc - a - 1), &f);
	if (rc == -ENOTSUP) {
		fprintf(stderr, "ENOTSUP\n");
		return 3;
	}
	if (rc < 0) {
		fprintf(stderr, "xp-rsync-filter-keep: %s\n", strerror(-rc));
		return 1;
	}
	w.f = f;
	w.all = repeat > 0;
	rc = walk_dir(&w, rl);
	if (rc < 0) {
		fprintf(stderr, "xp-rsync-filter-keep: '%s': %s\n", w.buf, strerror(-rc));
		return 1;
	}
	if (repeat > 0) {
		size_t excluded = 0;
		double t0 = now();
		for (long r = 0; r < repeat; r++) {
			for (size_t i = 0; i < w.n; i++)
				excluded += xp_rsync_filter_excluded(f, w.paths[i], w.dirs[i]);
		}
		double dt = (now() - t0) / (double)repeat;
		printf(
		    "%zu paths x %d patterns: %.3f ms per pass, %.1f ns per path (%zu excluded)\n",
		    w.n, argc - a - 1, dt * 1e3, dt * 1e9 / (double)(w.n ? w.n : 1),
		    excluded / (size_t)repeat);
		for (size_t i = 0; i < w.n; i++)
			free(w.paths[i]);
		free(w.paths);
		free(w.dirs);
	}
	xp_rsync_filter_free(f);
	return fflush(stdout) == 0 ? 0 : 1;
}
