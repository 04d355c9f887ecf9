/*
 * diag.c - ordered collections of diagnostics (file:line:col, severity, message).
 * Formatting them for people or JSON is the command layer's job, not this file's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int xp_diags_add(struct xp_diags *d, enum xp_severity sev, const char *file, unsigned line,
		 unsigned col, const char *code, const char *text, const char *hint,
		 const char *fmt, ...)
{
	if (d->limit && d->n >= d->limit) {
		d->dropped++;
		return 0;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		struct xp_diag *nv = realloc(d->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = ncap;
	}
	struct xp_diag g = {.severity = sev, .line = line, .col = col};
	int err = 0;
	g.file = dup_or_null(file, &err);
	g.code = dup_or_null(code, &err);
	g.text = dup_or_null(text, &err);
	g.hint = dup_or_null(hint, &err);
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&g.msg, fmt, ap) < 0) {
		g.msg = NULL;
		err = -ENOMEM;
	}
	va_end(ap);
	if (err) {
		diag_release(&g);
		return err;
	}
	d->v[d->n++] = g;
	return 0;
}

size_t xp_diags_count(const struct xp_diags *d, enum xp_severity sev)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].severity == sev;
	return n;
}

static int cmp_diag(const struct xp_diag *a, const struct xp_diag *b)
{
	int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

void xp_diags_sort(struct xp_diags *d)
{
	/* insertion sort: stable, and diagnostics arrive almost sorted */
	for (size_t i = 1; i < d->n; i++) {
		struct xp_diag t = d->v[i];
		size_t j = i;
		while (j > 0 && cmp_diag(&d->v[j - 1], &t) > 0) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = t;
	}
}

const char *xp_severity_name(enum xp_severity sev)
{
	switch (sev) {
	case XP_SEV_NOTE:
		return "note";
	case XP_SEV_WARNING:
		return "warning";
	case XP_SEV_ERROR:
		return "error";
	}
	return "?";
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
