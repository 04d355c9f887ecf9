/*
 * test-config-oracle.c - differential test of xenprov's xl config parser
 * (xenprov/xl-config.h) against Xen's own parser, libxlutil (Debian libxen-dev).
 *
 * For every fixture in tests/data/configs/ and examples/, and for several thousand
 * deterministic mutations of them, both parsers read the same bytes and must agree on:
 *   - acceptance: xlu_cfg_readdata() returns 0 iff xp_cfg_parse() returns 0;
 *   - for accepted input, the complete set of settings and their values: strings
 *     byte-equal, numbers as text, lists with the same structure;
 *   - the typed getters: xlu_cfg_get_string/_long/_list/_defbool against
 *     xp_cfg_get_string/_long/_list/_bool (same success, same value, same errno).
 * Also checked on every input, as xl-config.h promises: the tree is lossless
 * (xp_cfg_text() returns the input), and errors are reported iff the file is rejected.
 *
 * libxlutil has no iteration API, so its set of names is found by asking it for every
 * candidate: each suffix, starting with [a-z], of each maximal run of [._0-9a-z] in
 * the file. Every IDENT token of Xen's lexer (libxlu_cfg_l.l: [a-z][._0-9a-z]*, ended
 * by the longest match) is such a suffix, so no setting can be missed.
 *
 * Not here: unit tests of xenprov's diagnostics, editing or formatting (tests/unit/),
 * fuzzing (fuzz/). On a mismatch the input is printed escaped, together with a
 * minimised input that still shows the mismatch, so the parser can be fixed; the
 * test fails on any mismatch.
 *
 * Knobs (environment): XP_ORACLE_MUTATIONS (default 8000), XP_ORACLE_SEED.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxlutil.h>

#include "oracle.h"
#include "xenprov/xl-config.h"

#ifndef XP_TEST_DATA
#error "XP_TEST_DATA must name tests/data"
#endif

#define MIN_FIXTURES 60
#define DEFAULT_MUTATIONS 8000
#define DEFAULT_SEED 0x78656e70726f76ULL /* "xenprov" */
#define MAX_PRINTED_MISMATCHES 10

/* LeakSanitizer (dev preset): libxlutil 4.17 leaks values on its error paths (bison
 * error recovery after xlu__cfg_string_mk / xlu__cfg_list_mk); that is Xen's, not
 * ours. Leaks with any other origin are still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libxlutil.so\n";
}

/* ---- growable bytes ------------------------------------------------------------- */

struct bytes {
	char *p;
	size_t n;
	size_t cap;
};

static void bytes_reserve(struct bytes *b, size_t extra)
{
	if (b->n + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + extra + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	assert_non_null(p);
	b->p = p;
	b->cap = cap;
}

static void bytes_add(struct bytes *b, const void *data, size_t len)
{
	bytes_reserve(b, len);
	if (len)
		memcpy(b->p + b->n, data, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void bytes_set(struct bytes *b, const void *data, size_t len)
{
	b->n = 0;
	bytes_add(b, data, len);
}

static void bytes_free(struct bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

/* ---- fixtures --------------------------------------------------------------------- */

struct fixture {
	char *name;
	struct bytes data;
};

struct corpus {
	struct fixture *v;
	size_t n;
};

static struct corpus corpus;

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct fixture *)a)->name, ((const struct fixture *)b)->name);
}

/* Adds every *.cfg of dir to the corpus, named prefix + file name. */
static void load_dir(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open '%s': %s", dir, strerror(errno));
	static size_t cap;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (nl < 5 || strcmp(de->d_name + nl - 4, ".cfg") != 0)
			continue;
		if (corpus.n == cap) {
			cap = cap ? cap * 2 : 64;
			corpus.v = realloc(corpus.v, cap * sizeof(*corpus.v));
			assert_non_null(corpus.v);
		}
		struct fixture *f = &corpus.v[corpus.n++];
		memset(f, 0, sizeof(*f));
		assert_true(asprintf(&f->name, "%s%s", prefix, de->d_name) > 0);

		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *fp = fopen(path, "rb");
		if (!fp)
			fail_msg("cannot open '%s': %s", path, strerror(errno));
		char chunk[4096];
		size_t got;
		bytes_reserve(&f->data, 0);
		while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			bytes_add(&f->data, chunk, got);
		fclose(fp);
		/* libxlutil asserts (aborts) on a NUL byte inside a quoted string:
		 * xlu__cfgl_dequote() measures the token with strlen(). Never feed one. */
		if (memchr(f->data.p, '\0', f->data.n))
			fail_msg("fixture '%s' holds a NUL byte", f->name);
	}
	closedir(d);
}

/* The fixtures, and the shipped examples (which must read the same way too). */
static void load_corpus(void)
{
	if (corpus.n)
		return;
	load_dir(XP_TEST_DATA "/configs", "");
	load_dir(XP_TEST_DATA "/../../examples", "examples/");
	qsort(corpus.v, corpus.n, sizeof(*corpus.v), cmp_names);
}

static void free_corpus(void)
{
	for (size_t i = 0; i < corpus.n; i++) {
		free(corpus.v[i].name);
		bytes_free(&corpus.v[i].data);
	}
	free(corpus.v);
	corpus.v = NULL;
	corpus.n = 0;
}

/* ---- printing inputs -------------------------------------------------------------- */

/* Prints data as C string literals, one per input line; octal escapes for every
 * byte that is not printable ASCII so the text can be pasted back unambiguously. */
static void print_escaped(FILE *out, const char *data, size_t len)
{
	/* C's escapes; a newline (but the last) also ends the literal's line */
	static const char *const esc[128] = {['\n'] = "\\n\"\n    \"",
					     ['\t'] = "\\t",
					     ['\r'] = "\\r",
					     ['\\'] = "\\\\",
					     ['"'] = "\\\""};
	fputs("    \"", out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '\n' && i + 1 == len)
			fputs("\\n", out);
		else if (c < 128 && esc[c])
			fputs(esc[c], out);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, out);
		else
			fprintf(out, "\\%03o", c);
	}
	fputs("\"\n", out);
}

/* ---- the comparison --------------------------------------------------------------- */

/* Collects the findings of one comparison. out may be NULL (quiet: only count). */
struct verdict {
	FILE *out;
	unsigned mismatches;
};

static void mismatch(struct verdict *vd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mismatch(struct verdict *vd, const char *fmt, ...)
{
	vd->mismatches++;
	if (!vd->out)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("  mismatch: ", vd->out);
	vfprintf(vd->out, fmt, ap);
	fputc('\n', vd->out);
	va_end(ap);
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

static int cmp_str_ptrs(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every candidate setting name of data, sorted and distinct (see the file comment). */
static char **candidate_names(const char *data, size_t len, size_t *count)
{
	size_t n = 0, cap = 64;
	char **v = malloc(cap * sizeof(*v));
	assert_non_null(v);
	size_t i = 0;
	while (i < len) {
		if (!is_name_char(data[i])) {
			i++;
			continue;
		}
		size_t end = i;
		while (end < len && is_name_char(data[end]))
			end++;
		for (size_t s = i; s < end; s++) {
			if (data[s] < 'a' || data[s] > 'z')
				continue;
			if (n == cap) {
				cap *= 2;
				v = realloc(v, cap * sizeof(*v));
				assert_non_null(v);
			}
			v[n] = strndup(data + s, end - s);
			assert_non_null(v[n]);
			n++;
		}
		i = end;
	}
	qsort(v, n, sizeof(*v), cmp_str_ptrs);
	size_t u = 0;
	for (size_t k = 0; k < n; k++) {
		if (u && strcmp(v[u - 1], v[k]) == 0) {
			free(v[k]);
			continue;
		}
		v[u++] = v[k];
	}
	*count = u;
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const char *xp_type_name(const struct xp_cfg_value *v)
{
	switch (xp_cfg_value_type(v)) {
	case XP_CFG_STRING:
		return "string";
	case XP_CFG_NUMBER:
		return "number";
	case XP_CFG_LIST:
		return "list";
	}
	return "?";
}

static void compare_scalar(struct verdict *vd, const char *path, const char *xs,
			   const struct xp_cfg_value *v)
{
	if (xp_cfg_value_type(v) == XP_CFG_LIST) {
		mismatch(vd, "%s: libxlutil has the string \"%s\", xenprov a list", path, xs);
		return;
	}
	const char *ps = xp_cfg_value_str(v);
	if (!ps) {
		mismatch(vd, "%s: xenprov's %s has no text (libxlutil: \"%s\")", path,
			 xp_type_name(v), xs);
		return;
	}
	if (strcmp(ps, xs) != 0)
		mismatch(vd, "%s: libxlutil reads \"%s\", xenprov's %s reads \"%s\"", path, xs,
			 xp_type_name(v), ps);
}

static void compare_list(struct verdict *vd, const XLU_Config *x, const char *path,
			 const XLU_ConfigList *xl, const struct xp_cfg_value *v, int depth)
{
	if (xp_cfg_value_type(v) != XP_CFG_LIST) {
		const char *ps = xp_cfg_value_str(v);
		mismatch(vd, "%s: libxlutil has a list, xenprov the %s \"%s\"", path,
			 xp_type_name(v), ps ? ps : "(null)");
		return;
	}
	size_t xn = 0;
	while (xlu_cfg_get_listitem2(xl, (int)xn))
		xn++;
	size_t pn = xp_cfg_value_len(v);
	if (xn != pn) {
		mismatch(vd, "%s: libxlutil's list has %zu items, xenprov's %zu", path, xn, pn);
		return;
	}
	for (size_t i = 0; i < xn; i++) {
		char sub[512];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		XLU_ConfigValue *xi = xlu_cfg_get_listitem2(xl, (int)i);
		const struct xp_cfg_value *pi = xp_cfg_value_item(v, i);
		if (!pi) {
			mismatch(vd, "%s: xenprov has no item", sub);
			continue;
		}
		if (xlu_cfg_value_type(xi) == XLU_STRING) {
			char *xs = NULL;
			assert_int_equal(xlu_cfg_value_get_string(x, xi, &xs, 1), 0);
			compare_scalar(vd, sub, xs, pi);
		} else {
			XLU_ConfigList *sl = NULL;
			assert_int_equal(xlu_cfg_value_get_list(x, xi, &sl, 1), 0);
			assert_true(depth < 10000);
			compare_list(vd, x, sub, sl, pi, depth + 1);
		}
	}
}

/* libxlutil returns positive errno values, xenprov negative ones. */
static bool same_rc(int xlu_rc, int xp_rc)
{
	if (xlu_rc == ESRCH)
		return xp_rc == -ENOENT;
	return xp_rc == -xlu_rc;
}

static void compare_getters(struct verdict *vd, const XLU_Config *x, const struct xp_cfg *c,
			    const char *name)
{
	const char *xs = NULL, *ps = NULL;
	int xr = xlu_cfg_get_string(x, name, &xs, 1);
	int pr = xp_cfg_get_string(c, name, &ps);
	if (!same_rc(xr, pr))
		mismatch(vd, "%s: xlu_cfg_get_string gives %d (%s), xp_cfg_get_string %d (%s)",
			 name, xr, strerror(xr), pr, strerror(-pr));
	else if (xr == 0 && (!ps || strcmp(xs, ps) != 0))
		mismatch(vd, "%s: xlu_cfg_get_string gives \"%s\", xp_cfg_get_string \"%s\"",
			 name, xs, ps ? ps : "(null)");

	long xl = 0, pl = 0;
	xr = xlu_cfg_get_long(x, name, &xl, 1);
	pr = xp_cfg_get_long(c, name, &pl);
	if (!same_rc(xr, pr))
		mismatch(vd, "%s: xlu_cfg_get_long gives %d (%s), xp_cfg_get_long %d (%s)", name,
			 xr, strerror(xr), pr, strerror(-pr));
	else if (xr == 0 && xl != pl)
		mismatch(vd, "%s: xlu_cfg_get_long reads %ld, xp_cfg_get_long %ld", name, xl, pl);

	libxl_defbool xb;
	libxl_defbool_unset(&xb);
	bool pb = false;
	xr = xlu_cfg_get_defbool(x, name, &xb, 1);
	pr = xp_cfg_get_bool(c, name, &pb);
	if (!same_rc(xr, pr))
		mismatch(vd, "%s: xlu_cfg_get_defbool gives %d (%s), xp_cfg_get_bool %d (%s)",
			 name, xr, strerror(xr), pr, strerror(-pr));
	else if (xr == 0 && libxl_defbool_val(xb) != pb)
		mismatch(vd, "%s: xlu_cfg_get_defbool reads %d, xp_cfg_get_bool %d", name,
			 (int)libxl_defbool_val(xb), (int)pb);

	XLU_ConfigList *xlist = NULL;
	int xentries = 0;
	const struct xp_cfg_value *plist = NULL;
	xr = xlu_cfg_get_list(x, name, &xlist, &xentries, 1);
	pr = xp_cfg_get_list(c, name, &plist);
	if (!same_rc(xr, pr))
		mismatch(vd, "%s: xlu_cfg_get_list gives %d (%s), xp_cfg_get_list %d (%s)", name,
			 xr, strerror(xr), pr, strerror(-pr));
	else if (xr == 0 && (!plist || xp_cfg_value_len(plist) != (size_t)xentries))
		mismatch(vd, "%s: xlu_cfg_get_list has %d entries, xp_cfg_get_list %zu", name,
			 xentries, plist ? xp_cfg_value_len(plist) : (size_t)0);
}

/* Where libxlutil has name: as a string, a list, or absent. */
enum xlu_kind { XLU_ABSENT, XLU_IS_STRING, XLU_IS_LIST };

static enum xlu_kind xlu_lookup(const XLU_Config *x, const char *name, const char **s,
				XLU_ConfigList **l)
{
	int r = xlu_cfg_get_string(x, name, s, 1);
	if (r == 0)
		return XLU_IS_STRING;
	if (r == ESRCH)
		return XLU_ABSENT;
	assert_int_equal(r, EINVAL);
	assert_int_equal(xlu_cfg_get_list(x, name, l, NULL, 1), 0);
	return XLU_IS_LIST;
}

static void compare_settings(struct verdict *vd, const XLU_Config *x, const struct xp_cfg *c,
			     const char *data, size_t len)
{
	size_t ncand = 0;
	char **cand = candidate_names(data, len, &ncand);
	size_t found = 0;
	for (size_t i = 0; i < ncand; i++) {
		const char *name = cand[i];
		const char *xs = NULL;
		XLU_ConfigList *xl = NULL;
		enum xlu_kind k = xlu_lookup(x, name, &xs, &xl);
		const struct xp_cfg_value *v = xp_cfg_lookup(c, name);
		if (k == XLU_ABSENT) {
			if (v)
				mismatch(vd, "%s: set in xenprov (%s), absent in libxlutil", name,
					 xp_type_name(v));
			long dummy;
			int pr = xp_cfg_get_long(c, name, &dummy);
			if (!v && pr != -ENOENT)
				mismatch(vd, "%s: absent, but xp_cfg_get_long gives %d", name, pr);
			continue;
		}
		found++;
		if (!v) {
			mismatch(vd, "%s: set in libxlutil, absent in xenprov", name);
			continue;
		}
		if (k == XLU_IS_STRING)
			compare_scalar(vd, name, xs, v);
		else
			compare_list(vd, x, name, xl, v, 0);
		compare_getters(vd, x, c, name);
	}
	free_names(cand, ncand);

	/* The other direction: everything xenprov lists, libxlutil must have. */
	size_t pn = xp_cfg_count(c);
	for (size_t i = 0; i < pn; i++) {
		const char *name = xp_cfg_name_at(c, i);
		if (!name) {
			mismatch(vd, "xp_cfg_name_at(%zu) is NULL", i);
			continue;
		}
		const char *xs = NULL;
		XLU_ConfigList *xl = NULL;
		if (xlu_lookup(x, name, &xs, &xl) == XLU_ABSENT)
			mismatch(vd, "%s: listed by xenprov (#%zu), absent in libxlutil", name, i);
		if (xp_cfg_value_at(c, i) != xp_cfg_lookup(c, name))
			mismatch(vd, "%s: xp_cfg_value_at(%zu) differs from xp_cfg_lookup", name, i);
	}
	if (pn != found)
		mismatch(vd, "libxlutil has %zu settings, xp_cfg_count() says %zu", found, pn);
}

/* Compares both parsers on one input; returns the number of mismatches and, when
 * out is not NULL, describes them there. *accepted tells what libxlutil did. */
static unsigned compare_input(const char *label, const char *data, size_t len, FILE *out,
			      bool *accepted)
{
	struct verdict vd = {out, 0};

	struct oracle_xlu xlu;
	XLU_Config *x = oracle_xlu_open(&xlu, label);
	int xr = xlu_cfg_readdata(x, data, (int)len);

	struct xp_diags diags;
	xp_diags_init(&diags);
	struct xp_cfg *c = NULL;
	int pr = xp_cfg_parse(data, len, label, &diags, &c);

	if (accepted)
		*accepted = xr == 0;
	if (pr != 0 && pr != -EBADMSG)
		mismatch(&vd, "xp_cfg_parse returned %d (%s), expected 0 or -EBADMSG", pr,
			 strerror(-pr));
	if (!c) {
		mismatch(&vd, "xp_cfg_parse returned %d but no tree", pr);
	} else {
		if ((xr == 0) != (pr == 0))
			mismatch(&vd, "acceptance: libxlutil %s (%d), xenprov %s (%d)",
				 xr == 0 ? "accepts" : "rejects", xr,
				 pr == 0 ? "accepts" : "rejects", pr);
		if (xp_cfg_has_errors(c) != (pr != 0))
			mismatch(&vd, "xp_cfg_has_errors() is %d but xp_cfg_parse returned %d",
				 (int)xp_cfg_has_errors(c), pr);
		size_t nerr = xp_diags_count(&diags, XP_SEV_ERROR);
		if ((nerr > 0) != (pr != 0))
			mismatch(&vd, "%zu error diagnostics but xp_cfg_parse returned %d", nerr,
				 pr);
		size_t tl = 0;
		const char *t = xp_cfg_text(c, &tl);
		if (!t || tl != len || (len && memcmp(t, data, len) != 0))
			mismatch(&vd, "lossless: xp_cfg_text() gives %zu bytes, not the input's %zu",
				 tl, len);
		if (xr == 0 && pr == 0)
			compare_settings(&vd, x, c, data, len);
	}

	if (vd.mismatches && out) {
		fputs("  libxlutil said:\n", out);
		const char *said = oracle_xlu_said(&xlu);
		fprintf(out, "    %s", said[0] ? said : "(nothing)\n");
		fputs("  xenprov said:\n", out);
		if (!diags.n)
			fputs("    (nothing)\n", out);
		for (size_t i = 0; i < diags.n; i++) {
			const struct xp_diag *dg = &diags.v[i];
			fprintf(out, "    %s:%u:%u: %s: [%s] %s\n", dg->file ? dg->file : "-",
				dg->line, dg->col, xp_severity_name(dg->severity),
				dg->code ? dg->code : "", dg->msg ? dg->msg : "");
		}
	}

	xp_cfg_free(c);
	xp_diags_release(&diags);
	free(oracle_xlu_close(&xlu));
	return vd.mismatches;
}

/* Shrinks a mismatching input while it keeps mismatching: whole lines first, then
 * single bytes (delta debugging, one element at a time, bounded). */
static void minimise(struct bytes *in)
{
	struct bytes tryb = {0};
	unsigned budget = 20000;
	bool changed = true;
	while (changed && budget) {
		changed = false;
		/* lines */
		for (size_t s = 0; s < in->n && budget;) {
			const char *nl = memchr(in->p + s, '\n', in->n - s);
			size_t e = nl ? (size_t)(nl - in->p) + 1 : in->n;
			bytes_set(&tryb, in->p, s);
			bytes_add(&tryb, in->p + e, in->n - e);
			budget--;
			if (compare_input("min", tryb.p, tryb.n, NULL, NULL)) {
				bytes_set(in, tryb.p, tryb.n);
				changed = true;
			} else {
				s = e;
			}
		}
		/* bytes */
		for (size_t i = 0; i < in->n && budget;) {
			bytes_set(&tryb, in->p, i);
			bytes_add(&tryb, in->p + i + 1, in->n - i - 1);
			budget--;
			if (compare_input("min", tryb.p, tryb.n, NULL, NULL)) {
				bytes_set(in, tryb.p, tryb.n);
				changed = true;
			} else {
				i++;
			}
		}
	}
	bytes_free(&tryb);
}

/* Describes a mismatch in full: the input, what differs, and a minimised input
 * (returned in *min, so callers can group mismatches by their minimal form). */
static void report_mismatch(const char *label, const char *data, size_t len, bool print,
			    struct bytes *min)
{
	bytes_set(min, data, len);
	minimise(min);
	if (!print)
		return;
	printf("MISMATCH in %s; input (%zu bytes):\n", label, len);
	print_escaped(stdout, data, len);
	compare_input(label, data, len, stdout, NULL);
	if (min->n < len) {
		printf("  minimised input (%zu bytes):\n", min->n);
		print_escaped(stdout, min->p, min->n);
		compare_input("minimised", min->p, min->n, stdout, NULL);
	}
	fflush(stdout);
}

/* Distinct minimised mismatching inputs, with how often each was reached. */
struct findings {
	struct bytes *min;
	size_t *hits;
	size_t n;
};

/* Records a minimised input; true if it is new. */
static bool findings_add(struct findings *fd, const struct bytes *m)
{
	for (size_t i = 0; i < fd->n; i++) {
		if (fd->min[i].n == m->n && memcmp(fd->min[i].p, m->p, m->n) == 0) {
			fd->hits[i]++;
			return false;
		}
	}
	fd->min = realloc(fd->min, (fd->n + 1) * sizeof(*fd->min));
	fd->hits = realloc(fd->hits, (fd->n + 1) * sizeof(*fd->hits));
	assert_non_null(fd->min);
	assert_non_null(fd->hits);
	memset(&fd->min[fd->n], 0, sizeof(fd->min[fd->n]));
	bytes_set(&fd->min[fd->n], m->p, m->n);
	fd->hits[fd->n++] = 1;
	return true;
}

static void findings_print_free(struct findings *fd)
{
	if (fd->n)
		printf("distinct minimised mismatching inputs: %zu\n", fd->n);
	for (size_t i = 0; i < fd->n; i++) {
		printf("  #%zu, reached %zu times:\n", i + 1, fd->hits[i]);
		print_escaped(stdout, fd->min[i].p, fd->min[i].n);
		bytes_free(&fd->min[i]);
	}
	free(fd->min);
	free(fd->hits);
	memset(fd, 0, sizeof(*fd));
}

/* ---- test: the fixtures ----------------------------------------------------------- */

static void test_fixtures(void **state)
{
	(void)state;
	load_corpus();
	size_t accepted = 0, rejected = 0, bad = 0, wrong_expect = 0;
	for (size_t i = 0; i < corpus.n; i++) {
		const struct fixture *f = &corpus.v[i];
		bool acc = false;
		unsigned mm = compare_input(f->name, f->data.p, f->data.n, NULL, &acc);
		acc ? accepted++ : rejected++;
		/* The fixtures say what they are: broken-*.cfg files are ones Xen rejects. */
		bool want_reject = strncmp(f->name, "broken-", 7) == 0;
		if (want_reject == acc) {
			printf("fixture %s: libxlutil %s it, its name says otherwise\n", f->name,
			       acc ? "accepts" : "rejects");
			wrong_expect++;
		}
		if (mm) {
			bad++;
			struct bytes m = {0};
			report_mismatch(f->name, f->data.p, f->data.n, true, &m);
			bytes_free(&m);
		}
	}
	printf("fixtures: %zu (%zu accepted, %zu rejected by libxlutil), %zu mismatching\n",
	       corpus.n, accepted, rejected, bad);
	assert_true(corpus.n >= MIN_FIXTURES);
	assert_int_equal(wrong_expect, 0);
	assert_int_equal(bad, 0);
}

/* ---- test: generated mutations ----------------------------------------------------- */

struct rng {
	uint64_t s;
};

/* splitmix64: small, seedable, the same sequence on every machine. */
static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t rng_below(struct rng *r, size_t n)
{
	return n ? (size_t)(rng_next(r) % n) : 0;
}

/* Bytes that matter to Xen's lexer and grammar, plus some it rejects. Never NUL:
 * libxlutil aborts on a NUL inside a quoted string (assert in xlu__cfgl_dequote), so
 * NUL is not generated at all. */
static const char alphabet[] = "[],;=+#\"'\\\n\n\n \t"
			       "abcdefghijklmnopqrstuvwxyz0123456789xxx"
			       "AZX-.\r():_\f\v\xc3\xa9";

/* Whole tokens and fragments: escapes (kept, dropped, rejected), operators, numbers
 * at the strtol limits, statements. Nesting stays far below XP_CFG_MAX_DEPTH, where
 * xenprov deliberately refuses what libxlutil would read. */
static const char *const tokens[] = {
	"+=", " = ", "=", "[]", "[,]", "[", "]", ",", ";", "#", "# c\n", "\n", "\r\n",
	"''", "\"\"", "\\", "\\0", "\\012", "\\0123", "\\01", "\\x41", "\\n", "\\\"", "\\'",
	"\\\\", "\\q", "\\0 1", "\\0+1", "\\7  5", "\\9", "0x", "0x1f", "010", "08", "1e5",
	"99999999999999999999", "9223372036854775807", "9223372036854775808",
	"0x7fffffffffffffff", "0x8000000000000000", "-", ".", "\xc3\xa9", "'a'", "\"b\"",
	"a = 1\n", "x += [ 'y' ]\n", "name += 'z'\n", "memory += 1\n", "memory = '512'\n",
	"vif = [ 'bridge=xenbr0', ]\n", "disk += [ [ 1 ], ]\n", "extra += \"q\"\n",
	"[[1],[2,[3]]]", ", ]", "[\n'a',\n# c\n'b'\n,]", "\"x\\\"y\"", "'x\\'y'",
};

struct lines {
	size_t *start; /* start offset of each line; a line ends where the next starts */
	size_t n;
};

static void split_lines(const struct bytes *b, struct lines *ls)
{
	size_t cap = 16;
	ls->start = malloc(cap * sizeof(*ls->start));
	assert_non_null(ls->start);
	ls->n = 0;
	size_t s = 0;
	while (s < b->n) {
		if (ls->n + 1 >= cap) {
			cap *= 2;
			ls->start = realloc(ls->start, cap * sizeof(*ls->start));
			assert_non_null(ls->start);
		}
		ls->start[ls->n++] = s;
		const char *nl = memchr(b->p + s, '\n', b->n - s);
		s = nl ? (size_t)(nl - b->p) + 1 : b->n;
	}
	ls->start[ls->n] = b->n; /* sentinel: the end of the last line */
}

static void mutate_once(struct rng *r, struct bytes *b)
{
	struct bytes t = {0};
	size_t op = rng_below(r, 16);
	size_t pos = rng_below(r, b->n + 1);
	if (op <= 2 && b->n) { /* delete a byte */
		if (pos == b->n)
			pos--;
		bytes_set(&t, b->p, pos);
		bytes_add(&t, b->p + pos + 1, b->n - pos - 1);
	} else if (op <= 5) { /* insert a byte */
		char c = alphabet[rng_below(r, sizeof(alphabet) - 1)];
		bytes_set(&t, b->p, pos);
		bytes_add(&t, &c, 1);
		bytes_add(&t, b->p + pos, b->n - pos);
	} else if (op <= 8 && b->n) { /* replace a byte */
		if (pos == b->n)
			pos--;
		char c = alphabet[rng_below(r, sizeof(alphabet) - 1)];
		bytes_set(&t, b->p, b->n);
		t.p[pos] = c;
	} else if (op <= 10) { /* insert a token */
		const char *tok = tokens[rng_below(r, sizeof(tokens) / sizeof(tokens[0]))];
		bytes_set(&t, b->p, pos);
		bytes_add(&t, tok, strlen(tok));
		bytes_add(&t, b->p + pos, b->n - pos);
	} else { /* line operations, with lines of another fixture */
		const struct bytes *o = &corpus.v[rng_below(r, corpus.n)].data;
		struct lines la, lo;
		split_lines(b, &la);
		split_lines(o, &lo);
		size_t ia = rng_below(r, la.n + 1), io = rng_below(r, lo.n);
		size_t a0 = ia < la.n ? la.start[ia] : b->n;
		size_t a1 = ia < la.n ? la.start[ia + 1] : b->n;
		size_t o0 = lo.n ? lo.start[io] : 0, o1 = lo.n ? lo.start[io + 1] : 0;
		switch (op) {
		case 11: /* splice: head of this file, tail of the other */
			bytes_set(&t, b->p, a0);
			bytes_add(&t, o->p + o0, o->n - o0);
			break;
		case 12: /* insert a line of the other file */
		case 13:
			bytes_set(&t, b->p, a0);
			bytes_add(&t, o->p + o0, o1 - o0);
			bytes_add(&t, b->p + a0, b->n - a0);
			break;
		case 14: /* delete a line */
			bytes_set(&t, b->p, a0);
			bytes_add(&t, b->p + a1, b->n - a1);
			break;
		default: /* duplicate a line */
			bytes_set(&t, b->p, a1);
			bytes_add(&t, b->p + a0, a1 - a0);
			bytes_add(&t, b->p + a1, b->n - a1);
			break;
		}
		free(la.start);
		free(lo.start);
	}
	if (t.p)
		bytes_set(b, t.p, t.n);
	bytes_free(&t);
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || *end)
		fail_msg("%s: not a number: '%s'", name, s);
	return v;
}

static void test_mutations(void **state)
{
	(void)state;
	load_corpus();
	assert_true(corpus.n > 0);
	unsigned long count = env_ulong("XP_ORACLE_MUTATIONS", DEFAULT_MUTATIONS);
	struct rng r = {env_ulong("XP_ORACLE_SEED", DEFAULT_SEED)};
	size_t accepted = 0, rejected = 0, bad = 0;
	struct bytes b = {0}, m = {0};
	struct findings fd = {0};
	for (unsigned long i = 0; i < count; i++) {
		const struct fixture *f = &corpus.v[rng_below(&r, corpus.n)];
		bytes_set(&b, f->data.p, f->data.n);
		size_t nmut = 1 + rng_below(&r, 4);
		for (size_t k = 0; k < nmut; k++)
			mutate_once(&r, &b);
		assert_null(memchr(b.p, '\0', b.n));

		char label[128];
		snprintf(label, sizeof(label), "mutation-%lu-of-%s", i, f->name);
		bool acc = false;
		unsigned mm = compare_input(label, b.p, b.n, NULL, &acc);
		acc ? accepted++ : rejected++;
		if (mm) {
			/* Minimise first; print in full only the first input of each kind. */
			report_mismatch(label, b.p, b.n, false, &m);
			if (findings_add(&fd, &m) && fd.n <= MAX_PRINTED_MISMATCHES)
				report_mismatch(label, b.p, b.n, true, &m);
			bad++;
		}
	}
	bytes_free(&b);
	bytes_free(&m);
	printf("mutations: %lu (%zu accepted, %zu rejected by libxlutil), %zu mismatching\n",
	       count, accepted, rejected, bad);
	findings_print_free(&fd);
	assert_int_equal(bad, 0);
}

static int teardown_all(void **state)
{
	(void)state;
	free_corpus();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests_name("config-oracle", tests, NULL, teardown_all);
}
