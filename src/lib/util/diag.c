/*
 * diag.c - ordered collections of diagnostics (file:line:col, severity, message).
 * Formatting them for people or JSON is the command layer's job, not this file's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/names.h"
#include "xenprov/util.h"

void xp_diags_init(struct xp_diags *d)
{
	memset(d, 0, sizeof(*d));
}

static void diag_release(struct xp_diag *g)
{
	free(g->file);
	free(g->code);
	free(g->text);
	free(g->msg);
	free(g->hint);
}

void xp_diags_release(struct xp_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		diag_release(&d->v[i]);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static char *dup_or_null(const char *s, int *err)
{
	if (!s)
		return NULL;
	char *r = strdup(s);
	if (!r)
		*err = -ENOMEM;
	return r;
}

/* Makes room for a message of severity sev in a full collection: drops the last kept
 * message of the lowest severity below sev. Returns 0, or -1 if none is below sev.
 * The counts of kept notes and warnings make a message that can evict nothing cost
 * O(1); a slot can be taken over at most twice (note -> warning -> error), so the
 * scans that do evict cost O(limit^2) for the whole life of the collection. */
static int evict_below(struct xp_diags *d, enum xp_severity sev)
{
	for (enum xp_severity low = XP_SEV_NOTE; low < sev && low < 2; low++) {
		if (!d->kept_low[low])
			continue; /* none to scan for */
		for (size_t k = d->n; k-- > 0;) {
			if (d->v[k].severity != low)
				continue;
			diag_release(&d->v[k]);
			memmove(&d->v[k], &d->v[k + 1], (d->n - k - 1) * sizeof(d->v[0]));
			d->n--;
			d->dropped++;
			d->dropped_sev[low]++;
			d->kept_low[low]--;
			return 0;
		}
		d->kept_low[low] = 0; /* the messages were changed behind our back */
	}
	return -1;
}

int xp_diags_add(struct xp_diags *d, enum xp_severity sev, const char *file, unsigned line,
		 unsigned col, const char *code, const char *text, const char *hint,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = xp_diags_addv(d, sev, file, line, col, code, text, hint, fmt, ap);
	va_end(ap);
	return r;
}

int xp_diags_addv(struct xp_diags *d, enum xp_severity sev, const char *file, unsigned line,
		  unsigned col, const char *code, const char *text, const char *hint,
		  const char *fmt, va_list ap)
{
	if (d->limit && d->n >= d->limit && evict_below(d, sev) < 0) {
		d->dropped++;
		if ((unsigned)sev < 3)
			d->dropped_sev[sev]++;
		return 0;
	}
	if (xp_grow(&d->v, &d->cap, d->n, sizeof(*d->v), 8) < 0)
		return -ENOMEM;
	struct xp_diag g = {.severity = sev, .line = line, .col = col};
	int err = 0;
	g.file = dup_or_null(file, &err);
	g.code = dup_or_null(code, &err);
	g.text = dup_or_null(text, &err);
	g.hint = dup_or_null(hint, &err);
	if (vasprintf(&g.msg, fmt, ap) < 0) {
		g.msg = NULL;
		err = -ENOMEM;
	}
	if (err) {
		diag_release(&g);
		return err;
	}
	d->v[d->n++] = g;
	if ((unsigned)sev < 2)
		d->kept_low[sev]++;
	return 0;
}

int xp_diags_fail(struct xp_diags *d, int r, const char *file, const char *code, const char *hint,
		  const char *fmt, ...)
{
	if (!d)
		return r;
	va_list ap;
	va_start(ap, fmt);
	xp_diags_addv(d, XP_SEV_ERROR, file, 0, 0, code, NULL, hint, fmt, ap);
	va_end(ap);
	return r;
}

int xp_diags_refuse(struct xp_diags *d, int r, const char *code, const char *text, const char *hint,
		    const char *fmt, ...)
{
	if (!d)
		return r;
	va_list ap;
	va_start(ap, fmt);
	xp_diags_addv(d, XP_SEV_ERROR, NULL, 0, 0, code, text, hint, fmt, ap);
	va_end(ap);
	return r;
}

size_t xp_diags_count(const struct xp_diags *d, enum xp_severity sev)
{
	size_t n = (unsigned)sev < 3 ? d->dropped_sev[sev] : 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].severity == sev;
	return n;
}

static int cmp_diag(const struct xp_diag *a, const struct xp_diag *b)
{
	if (a->file != b->file) {
		int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
		if (c)
			return c;
	}
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

/* Merges the sorted runs v[lo, mid) and v[mid, hi) through tmp, stably. */
static void merge(struct xp_diag *v, struct xp_diag *tmp, size_t lo, size_t mid, size_t hi)
{
	if (cmp_diag(&v[mid - 1], &v[mid]) <= 0)
		return; /* already in order */
	memcpy(tmp + lo, v + lo, (mid - lo) * sizeof(*v));
	size_t i = lo, j = mid, k = lo;
	while (i < mid && j < hi)
		v[k++] = cmp_diag(&v[j], &tmp[i]) < 0 ? v[j++] : tmp[i++];
	while (i < mid)
		v[k++] = tmp[i++];
}

static void insertion_sort(struct xp_diag *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct xp_diag t = v[i];
		size_t j = i;
		while (j > 0 && cmp_diag(&v[j - 1], &t) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
}

void xp_diags_sort(struct xp_diags *d)
{
	/* bottom-up merge sort over runs of 16 sorted by insertion: stable, O(n log n),
	 * and one comparison per run boundary when the input is already sorted (the
	 * usual case: diagnostics mostly arrive in order) */
	enum { RUN = 16 };
	size_t n = d->n;
	if (n < 2)
		return;
	for (size_t lo = 0; lo < n; lo += RUN)
		insertion_sort(d->v + lo, n - lo < RUN ? n - lo : RUN);
	if (n <= RUN)
		return;
	struct xp_diag *tmp = malloc(n * sizeof(*tmp));
	if (!tmp) {
		insertion_sort(d->v, n); /* still sorted, only slower */
		return;
	}
	for (size_t w = RUN; w < n; w *= 2)
		for (size_t lo = 0; lo + w < n; lo += 2 * w)
			merge(d->v, tmp, lo, lo + w, lo + 2 * w < n ? lo + 2 * w : n);
	free(tmp);
}

const char *xp_severity_name(enum xp_severity sev)
{
	static const char *const names[] = {
	    [XP_SEV_NOTE] = "note", [XP_SEV_WARNING] = "warning", [XP_SEV_ERROR] = "error"};
	return xp__name_of(names, sizeof(names) / sizeof(names[0]), sev, "?");
}

unsigned xp_edit_distance(const char *a, const char *b, unsigned cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return cap + 1;
	unsigned row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned prev = row[0], best;
		row[0] = (unsigned)i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned sub = prev + (a[i - 1] != b[j - 1]);
			unsigned del = row[j] + 1, ins = row[j - 1] + 1;
			row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			prev = cur;
			if (row[j] < best)
				best = row[j];
		}
		if (best > cap)
			return cap + 1;
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}
