/*
 * fuzz-rsync-filter.c - libFuzzer target for rsync's exclude patterns matched by the
 * library (src/lib/image/rsync-filter.c): xp_rsync_filter_new on arbitrary patterns,
 * then xp_rsync_filter_excluded on arbitrary paths, as files and as directories.
 *
 * Input: the first byte's low 3 bits + 1 is the number of patterns k; the rest, split
 * at NUL bytes, is k patterns and then paths (a '/' put before a path without one).
 * Beyond "no crash, no leak, no hang": new answers 0, -ENOTSUP or -ENOMEM, nothing
 * else, and no filter unless 0; with only exclude rules, the set excludes a path
 * exactly when one of its patterns alone does; and what a pattern excludes as a file it
 * excludes as a directory too (a trailing '/' and "***" only add directories).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/image/rsync-filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PATTERNS 8
#define MAX_PATHS    16

static void check(bool cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 16384)
		return 0;
	size_t k = (size_t)(data[0] & 7) + 1;
	/* a NUL-terminated copy, split at its NULs; one byte more for a path's '/' */
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	const char *pat[MAX_PATTERNS];
	const char *paths[MAX_PATHS];
	size_t np = 0, nq = 0;
	for (char *s = buf; s < buf + size; s += strlen(s) + 1) {
		if (np < k)
			pat[np++] = s;
		else if (nq < MAX_PATHS)
			paths[nq++] = s;
	}
	struct xp_rsync_filter *all = (struct xp_rsync_filter *)buf, *one[MAX_PATTERNS];
	int rc = xp_rsync_filter_new(pat, np, &all);
	check(rc == 0 || rc == -ENOTSUP || rc == -ENOMEM);
	check(rc == 0 || all == NULL);
	bool each_ok = rc == 0;
	for (size_t i = 0; i < np; i++) {
		one[i] = NULL;
		int r1 = xp_rsync_filter_new(&pat[i], 1, &one[i]);
		check(r1 == 0 || r1 == -ENOTSUP || r1 == -ENOMEM);
		/* the set is refused when one of its patterns is */
		check(r1 != -ENOTSUP || rc == -ENOTSUP);
		each_ok &= r1 == 0;
	}
	char path[16384 + 2];
	for (size_t j = 0; rc == 0 && j < nq; j++) {
		size_t len = strlen(paths[j]);
		const char *p = paths[j];
		if (p[0] != '/') {
			path[0] = '/';
			memcpy(path + 1, p, len + 1);
			p = path;
		}
		for (int dir = 0; dir < 2; dir++) {
			bool x = xp_rsync_filter_excluded(all, p, dir);
			bool any = false;
			for (size_t i = 0; each_ok && i < np; i++)
				any |= xp_rsync_filter_excluded(one[i], p, dir);
			check(!each_ok || x == any);
			if (!dir)
				check(!x || xp_rsync_filter_excluded(all, p, true));
		}
	}
	for (size_t i = 0; i < np; i++)
		xp_rsync_filter_free(one[i]);
	xp_rsync_filter_free(all);
	free(buf);
	return 0;
}
