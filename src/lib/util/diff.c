/*
 * diff.c - a small unified diff of two texts by lines (longest common subsequence),
 * for `--dry-run` previews of config edits. Not a general diff tool: inputs over
 * DIFF_MAX_CELLS line pairs are shown as one replaced hunk.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/util.h"

#define DIFF_MAX_CELLS (4u << 20)
#define CONTEXT 3

struct lines {
	const char **p;
	size_t *len; /* with the newline, if any */
	size_t n;
};

static int split(const char *s, size_t len, struct lines *l)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	n += len && s[len - 1] != '\n';
	l->p = calloc(n ? n : 1, sizeof(*l->p));
	l->len = calloc(n ? n : 1, sizeof(*l->len));
	if (!l->p || !l->len)
		return -ENOMEM;
	size_t k = 0, start = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n') {
			l->p[k] = s + start;
			l->len[k++] = i + 1 - start;
			start = i + 1;
		}
	if (start < len) {
		l->p[k] = s + start;
		l->len[k++] = len - start;
	}
	l->n = k;
	return 0;
}

static int same(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && memcmp(a->p[i], b->p[j], a->len[i]) == 0;
}

static void put_line(struct xp_buf *out, char tag, const char *p, size_t len)
{
	xp_buf_addc(out, tag);
	xp_buf_add(out, p, len);
	if (!len || p[len - 1] != '\n')
		xp_buf_adds(out, "\n\\ No newline at end of file\n");
}

/* ops: 0 = same, 1 = delete from a, 2 = insert from b */
int xp_diff_unified(const char *a, size_t alen, const char *b, size_t blen, const char *name_a,
		    const char *name_b, struct xp_buf *out)
{
	if (alen == blen && memcmp(a, b, alen) == 0)
		return 0;
	struct lines la = {0}, lb = {0};
	int r = -ENOMEM;
	uint32_t *dp = NULL;
	unsigned char *ops = NULL;
	size_t *oi = NULL, *oj = NULL;
	if (split(a, alen, &la) < 0 || split(b, blen, &lb) < 0)
		goto out;
	size_t n = la.n, m = lb.n, nops = 0;
	ops = malloc(n + m + 1);
	oi = malloc((n + m + 1) * sizeof(*oi));
	oj = malloc((n + m + 1) * sizeof(*oj));
	if (!ops || !oi || !oj)
		goto out;
	if ((n + 1) * (m + 1) <= DIFF_MAX_CELLS) {
		dp = calloc((n + 1) * (m + 1), sizeof(*dp));
		if (!dp)
			goto out;
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				dp[i * (m + 1) + j] =
					same(&la, i, &lb, j)
						? dp[(i + 1) * (m + 1) + j + 1] + 1
						: (dp[(i + 1) * (m + 1) + j] > dp[i * (m + 1) + j + 1]
							   ? dp[(i + 1) * (m + 1) + j]
							   : dp[i * (m + 1) + j + 1]);
		size_t i = 0, j = 0;
		while (i < n || j < m) {
			if (i < n && j < m && same(&la, i, &lb, j)) {
				ops[nops] = 0, oi[nops] = i++, oj[nops++] = j++;
			} else if (i < n && (j == m || dp[(i + 1) * (m + 1) + j] >= dp[i * (m + 1) + j + 1])) {
				ops[nops] = 1, oi[nops] = i++, oj[nops++] = j;
			} else {
				ops[nops] = 2, oi[nops] = i, oj[nops++] = j++;
			}
		}
	} else {
		for (size_t i = 0; i < n; i++)
			ops[nops] = 1, oi[nops] = i, oj[nops++] = 0;
		for (size_t j = 0; j < m; j++)
			ops[nops] = 2, oi[nops] = n, oj[nops++] = j;
	}

	xp_buf_addf(out, "--- %s\n+++ %s\n", name_a, name_b);
	size_t k = 0;
	while (k < nops) {
		if (ops[k] == 0) {
			k++;
			continue;
		}
		/* a hunk: from CONTEXT before this change to CONTEXT after the last change
		 * that is within 2*CONTEXT of the previous one */
		size_t start = k >= CONTEXT ? k - CONTEXT : 0;
		while (start < k && ops[start] != 0)
			start++;
		size_t end = k, last_change = k;
		while (end < nops) {
			if (ops[end] != 0)
				last_change = end;
			else if (end - last_change > 2 * CONTEXT)
				break;
			end++;
		}
		end = last_change + 1 + CONTEXT < nops ? last_change + 1 + CONTEXT : nops;
		size_t acount = 0, bcount = 0;
		for (size_t q = start; q < end; q++) {
			acount += ops[q] != 2;
			bcount += ops[q] != 1;
		}
		size_t astart = oi[start], bstart = oj[start];
		xp_buf_addf(out, "@@ -%zu,%zu +%zu,%zu @@\n", acount ? astart + 1 : astart, acount,
			    bcount ? bstart + 1 : bstart, bcount);
		for (size_t q = start; q < end; q++) {
			if (ops[q] == 0)
				put_line(out, ' ', la.p[oi[q]], la.len[oi[q]]);
			else if (ops[q] == 1)
				put_line(out, '-', la.p[oi[q]], la.len[oi[q]]);
			else
				put_line(out, '+', lb.p[oj[q]], lb.len[oj[q]]);
		}
		k = end;
	}
	r = xp_buf_error(out);
out:
	free(la.p);
	free(la.len);
	free(lb.p);
	free(lb.len);
	free(dp);
	free(ops);
	free(oi);
	free(oj);
	return r;
}
