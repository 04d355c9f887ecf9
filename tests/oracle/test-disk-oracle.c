/*
 * test-disk-oracle.c - compares xp_disk_parse with Xen's own xlu_disk_parse (libxlutil,
 * Debian's libxen-dev) on every spec of tests/data/disk-specs.txt and on a few thousand
 * generated ones: same acceptance, same JSON (libxl_device_disk_to_json, field order
 * included) for accepted specs, and the same error report, line for line, for rejected
 * ones.
 *
 * Where we knowingly differ from the installed library the fixture says so and this test
 * asserts the difference itself:
 *   new  Xen 4.19+ syntax (trusted, untrusted, grant_usage=) that 4.17/4.18's stale
 *        lexer does not know: we must give the 4.17 result of an equivalent spec plus
 *        the stated fields, and 4.17 must get the 4.19 spec wrong;
 *   jam  a stray '=' before a newline, on which libxlutil's scanner aborts the program
 *        (exit 2, "flex scanner jammed"); run in a child, we must report a syntax error.
 *
 * Fixture format: one case per line, fields separated by TABs, '#' comments. Within a
 * spec, \t \n \\ and \xHH are escapes.
 *   ok   SPEC [SPEC...]                       both accept, same JSON
 *   err  SPEC [SPEC...]                       both reject, same messages
 *   jam  SPEC [SPEC...]
 *   new  FIELDS-JSON|error SPEC... => SPEC-4.17...
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libxl.h>
#include <libxlutil.h>

#include "oracle.h"
#include "xenprov/xl-disk.h"

#define MAX_SPECS 8

/* ---- both parsers, as JSON text or an error report -------------------------------- */

struct outcome {
	bool ok;
	char *json;   /* compact, key order preserved; NULL on error */
	char *report; /* libxlutil-style error lines */
};

static void outcome_release(struct outcome *o)
{
	free(o->json);
	free(o->report);
	memset(o, 0, sizeof(*o));
}

static char *compact(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	return s;
}

static void run_xlu(char **specs, int n, struct outcome *o)
{
	struct oracle_xlu xlu;
	XLU_Config *cfg = oracle_xlu_open(&xlu, "oracle");
	libxl_device_disk d;
	libxl_device_disk_init(&d);
	int r = xlu_disk_parse(cfg, n, (const char *const *)specs, &d);
	o->ok = r == 0;
	if (o->ok) {
		char *j = libxl_device_disk_to_json(NULL, &d);
		assert_non_null(j);
		json_error_t e;
		json_t *v = json_loads(j, 0, &e);
		if (!v)
			fail_msg("libxl's JSON does not load: %s\n%s", e.text, j);
		o->json = compact(v);
		free(j);
	}
	libxl_device_disk_dispose(&d);
	o->report = oracle_xlu_close(&xlu);
}

static json_t *our_json(const struct xp_disk *disk)
{
	struct xp_disk_field f[XP_DISK_FIELDS_MAX];
	int n = xp_disk_fields(disk, f, XP_DISK_FIELDS_MAX);
	assert_true(n >= 0);
	json_t *o = json_object();
	for (int i = 0; i < n; i++) {
		json_t *v = f[i].kind == XP_DISK_FIELD_STRING	 ? json_string(f[i].str)
			    : f[i].kind == XP_DISK_FIELD_INTEGER ? json_integer(f[i].num)
								 : json_boolean(f[i].num);
		assert_non_null(v);
		json_object_set_new(o, f[i].name, v);
	}
	return o;
}

static void run_ours(char **specs, int n, struct outcome *o, struct xp_diags *diags)
{
	struct xp_disk disk = {0};
	int r = xp_disk_parse((const char *const *)specs, (size_t)n, &disk, diags);
	assert_true(r == 0 || r == -EBADMSG);
	o->ok = r == 0;
	if (o->ok) {
		o->json = compact(our_json(&disk));
		/* Every accepted disk must survive the canonical writer. */
		struct xp_buf b = XP_BUF_INIT;
		int w = xp_disk_format(&disk, &b);
		if (w == 0) {
			struct xp_disk back = {0};
			int r2 = xp_disk_parse_one(xp_buf_str(&b), &back, NULL);
			if (r2 != 0 || !xp_disk_equal(&disk, &back))
				fail_msg("canonical spec '%s' does not read back", xp_buf_str(&b));
			xp_disk_release(&back);
		} else {
			assert_int_equal(w, -EINVAL); /* a ',' in a value, a newline in target */
		}
		xp_buf_release(&b);
	}
	/* libxlutil's report, rebuilt from our diagnostics. */
	char *rep = NULL;
	size_t replen = 0;
	FILE *f = open_memstream(&rep, &replen);
	assert_non_null(f);
	for (size_t i = 0; i < diags->n; i++) {
		const struct xp_diag *g = &diags->v[i];
		if (g->severity != XP_SEV_ERROR)
			continue;
		const char *spec = g->line ? specs[g->line - 1] : n ? specs[n - 1] : "(null)";
		fprintf(f, "oracle: config parsing error in disk specification: %s%s%s%s in `%s'\n",
			g->msg, g->text ? ": near `" : "", g->text ? g->text : "",
			g->text ? "'" : "", spec);
	}
	fclose(f);
	o->report = rep;
	xp_disk_release(&disk);
}

static void describe(char *buf, size_t cap, char **specs, int n)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && off < cap; i++) {
		int w = snprintf(buf + off, cap - off, "%s[", i ? " " : "");
		off += w > 0 ? (size_t)w : 0;
		for (const char *p = specs[i]; *p && off + 5 < cap; p++) {
			unsigned char c = (unsigned char)*p;
			if (c < 0x20 || c == 0x7f)
				off += (size_t)snprintf(buf + off, cap - off, "\\x%02x", c);
			else
				buf[off++] = (char)c;
		}
		if (off + 1 < cap)
			buf[off++] = ']';
		buf[off < cap ? off : cap - 1] = '\0';
	}
}

/* Compares the two parsers on one disk. Returns 0 if they agree, else prints why. */
static int compare(char **specs, int n, const char *where, int expect_ok)
{
	struct outcome a = {0}, b = {0};
	struct xp_diags diags;
	char desc[600];
	int bad = 0;

	xp_diags_init(&diags);
	run_xlu(specs, n, &a);
	run_ours(specs, n, &b, &diags);
	describe(desc, sizeof(desc), specs, n);
	if (a.ok != b.ok) {
		printf("%s: %s: libxlutil %s, xenprov %s\n  libxlutil: %s", where, desc,
		       a.ok ? "accepts" : "rejects", b.ok ? "accepts" : "rejects",
		       a.ok ? a.json : a.report);
		printf("\n  xenprov:   %s\n", b.ok ? b.json : b.report);
		bad = 1;
	} else if (a.ok && strcmp(a.json, b.json) != 0) {
		printf("%s: %s: JSON differs\n  libxlutil: %s\n  xenprov:   %s\n", where, desc,
		       a.json, b.json);
		bad = 1;
	} else if (!a.ok && strcmp(a.report, b.report) != 0) {
		printf("%s: %s: messages differ\n  libxlutil: %s  xenprov:   %s", where, desc,
		       a.report, b.report);
		bad = 1;
	} else if (expect_ok >= 0 && a.ok != (expect_ok == 1)) {
		printf("%s: %s: fixture says %s, both parsers say otherwise\n", where, desc,
		       expect_ok ? "ok" : "err");
		bad = 1;
	}
	outcome_release(&a);
	outcome_release(&b);
	xp_diags_release(&diags);
	return bad;
}

/* ---- the fixture ------------------------------------------------------------------ */

struct fixture_case {
	unsigned line;
	char kind[8];
	char *fields; /* "new" only */
	char *spec[MAX_SPECS];
	int nspec;
	char *old[MAX_SPECS]; /* "new" only: the 4.17 equivalent */
	int nold;
};

static struct fixture_case *cases;
static size_t ncases;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *unescape(const char *s)
{
	char *r = malloc(strlen(s) + 1), *o = r;
	assert_non_null(r);
	while (*s) {
		if (*s != '\\' || !s[1]) {
			*o++ = *s++;
			continue;
		}
		s++;
		if (*s == 'n')
			*o++ = '\n', s++;
		else if (*s == 't')
			*o++ = '\t', s++;
		else if (*s == '\\')
			*o++ = '\\', s++;
		else if (*s == 'x' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0)
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2])), s += 3;
		else
			*o++ = '\\';
	}
	*o = '\0';
	return r;
}

static int load_fixture(void **state)
{
	(void)state;
	FILE *f = fopen(XP_TEST_DATA "/disk-specs.txt", "r");
	assert_non_null(f);
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		cases = realloc(cases, (ncases + 1) * sizeof(*cases));
		assert_non_null(cases);
		struct fixture_case *c = &cases[ncases++];
		memset(c, 0, sizeof(*c));
		c->line = lineno;
		char *save = NULL;
		char *tok = strtok_r(line, "\t", &save);
		snprintf(c->kind, sizeof(c->kind), "%s", tok);
		bool is_new = strcmp(c->kind, "new") == 0, after_arrow = false;
		if (!is_new && strcmp(c->kind, "ok") && strcmp(c->kind, "err") &&
		    strcmp(c->kind, "jam"))
			fail_msg("disk-specs.txt:%u: unknown kind '%s'", lineno, c->kind);
		if (is_new) {
			c->fields = strdup(strtok_r(NULL, "\t", &save));
			assert_non_null(c->fields);
		}
		/* strtok_r would merge empty fields; a spec may be empty, so split by hand. */
		char *rest = save;
		while (rest) {
			char *tab = strchr(rest, '\t');
			if (tab)
				*tab = '\0';
			if (is_new && strcmp(rest, "=>") == 0) {
				after_arrow = true;
			} else if (after_arrow) {
				assert_true(c->nold < MAX_SPECS);
				c->old[c->nold++] = unescape(rest);
			} else {
				assert_true(c->nspec < MAX_SPECS);
				c->spec[c->nspec++] = unescape(rest);
			}
			rest = tab ? tab + 1 : NULL;
		}
		if (is_new && !after_arrow)
			fail_msg("disk-specs.txt:%u: 'new' needs '=>' and the 4.17 spec", lineno);
	}
	free(line);
	fclose(f);
	return 0;
}

static int free_fixture(void **state)
{
	(void)state;
	for (size_t i = 0; i < ncases; i++) {
		for (int k = 0; k < cases[i].nspec; k++)
			free(cases[i].spec[k]);
		for (int k = 0; k < cases[i].nold; k++)
			free(cases[i].old[k]);
		free(cases[i].fields);
	}
	free(cases);
	return 0;
}

static void test_fixture_size(void **state)
{
	(void)state;
	size_t nspecs = 0;
	for (size_t i = 0; i < ncases; i++)
		nspecs += (size_t)cases[i].nspec;
	printf("disk-specs.txt: %zu cases, %zu spec strings\n", ncases, nspecs);
	assert_true(ncases >= 100);
}

static void test_fixture_agrees(void **state)
{
	(void)state;
	int bad = 0;
	size_t n = 0;
	for (size_t i = 0; i < ncases; i++) {
		const struct fixture_case *c = &cases[i];
		if (strcmp(c->kind, "ok") && strcmp(c->kind, "err"))
			continue;
		char where[40];
		snprintf(where, sizeof(where), "disk-specs.txt:%u", c->line);
		bad += compare((char **)c->spec, c->nspec, where, strcmp(c->kind, "ok") == 0);
		n++;
	}
	printf("%zu fixture cases compared with libxlutil, %d disagreements\n", n, bad);
	assert_int_equal(bad, 0);
}

/* Runs check on every fixture case of kind; there is one at least. */
static void each_case(const char *kind, void (*check)(const struct fixture_case *c))
{
	size_t n = 0;
	for (size_t i = 0; i < ncases; i++) {
		if (strcmp(cases[i].kind, kind) == 0) {
			check(&cases[i]);
			n++;
		}
	}
	assert_true(n > 0);
}

/* Our result for a 4.19+ spec is 4.17's result for an equivalent plus `fields`. */
static void new_syntax(const struct fixture_case *c)
{
	struct outcome ours = {0}, old = {0}, xlu_new = {0};
	struct xp_diags diags;
	xp_diags_init(&diags);
	run_ours((char **)c->spec, c->nspec, &ours, &diags);
	run_xlu((char **)c->old, c->nold, &old);
	run_xlu((char **)c->spec, c->nspec, &xlu_new);
	char desc[600];
	describe(desc, sizeof(desc), (char **)c->spec, c->nspec);
	if (strcmp(c->fields, "error") == 0) {
		if (ours.ok || old.ok)
			fail_msg("disk-specs.txt:%u: %s: expected a rejection", c->line, desc);
	} else {
		if (!ours.ok || !old.ok)
			fail_msg("disk-specs.txt:%u: %s: expected acceptance (ours %d, "
				 "4.17 equivalent %d)\n%s",
				 c->line, desc, ours.ok, old.ok, ours.report);
		json_t *want = json_loads(old.json, 0, NULL);
		json_t *extra = json_loads(c->fields, 0, NULL);
		assert_non_null(want);
		if (!extra)
			fail_msg("disk-specs.txt:%u: bad fields JSON", c->line);
		json_object_update(want, extra);
		json_decref(extra);
		json_t *got = json_loads(ours.json, 0, NULL);
		if (!json_equal(want, got))
			fail_msg("disk-specs.txt:%u: %s: got %s", c->line, desc, ours.json);
		json_decref(want);
		json_decref(got);
		/* ... and the installed 4.17 library must not already agree. */
		if (xlu_new.ok && strcmp(xlu_new.json, ours.json) == 0)
			fail_msg("disk-specs.txt:%u: libxlutil now agrees; make it 'ok'", c->line);
	}
	printf("note: disk-specs.txt:%u: %s: Xen 4.19+ syntax; libxlutil 4.17 %s%s\n", c->line,
	       desc, xlu_new.ok ? "reads it as " : "rejects it", xlu_new.ok ? xlu_new.json : "");
	outcome_release(&ours);
	outcome_release(&old);
	outcome_release(&xlu_new);
	xp_diags_release(&diags);
}

static void test_fixture_new_syntax(void **state)
{
	(void)state;
	each_case("new", new_syntax);
}

/* libxlutil exits the program on these; we must say "bad disk syntax". */
static void jams(const struct fixture_case *c)
{
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		struct outcome o = {0};
		run_xlu((char **)c->spec, c->nspec, &o);
		_exit(o.ok ? 0 : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
		fail_msg("disk-specs.txt:%u: expected libxlutil to exit 2 (jammed), "
			 "status %#x",
			 c->line, status);
	struct xp_disk disk = {0};
	struct xp_diags diags;
	xp_diags_init(&diags);
	int r = xp_disk_parse((const char *const *)c->spec, (size_t)c->nspec, &disk, &diags);
	assert_int_equal(r, -EBADMSG);
	bool syntax = false;
	for (size_t k = 0; k < diags.n; k++)
		syntax |= strcmp(diags.v[k].code, "syntax") == 0;
	assert_true(syntax);
	xp_diags_release(&diags);
	printf("note: disk-specs.txt:%u: libxlutil aborts (flex scanner jammed); "
	       "xenprov reports bad disk syntax\n",
	       c->line);
}

static void test_fixture_jams(void **state)
{
	(void)state;
	each_case("jam", jams);
}

/* ---- generated specs ---------------------------------------------------------------- */

/* Pieces that exercise the scanner's ties and the parser's state; none of the 4.19-only
 * words, and no '=' before a newline, so libxlutil stays comparable and alive. */
static const char *const pieces[] = {
    "/dev/vg/a",
    "/img.qcow2",
    "xvda",
    "hda",
    "hdc:cdrom",
    "sdb:disk",
    "xvdb:foo",
    "raw",
    "qcow",
    "qcow2",
    "vhd",
    "qed",
    "empty",
    "bogus",
    "r",
    "ro",
    "w",
    "rw",
    "x",
    "",
    "cdrom",
    "format=",
    "vdev=",
    "access=",
    "devtype=",
    "devtype=cdrom",
    "devtype=disk",
    "backend=",
    "backendtype=",
    "specification=",
    "script=",
    "target=",
    "colo-port=",
    "colo-host=",
    "colo-export=",
    "active-disk=",
    "hidden-disk=",
    "direct-io-safe",
    "discard",
    "no-discard",
    "colo",
    "no-colo",
    "phy:",
    "file:",
    "tap:",
    "tap2:",
    "tapdisk:",
    "aio:",
    "ioemu:",
    "raw:",
    "qcow2:",
    "qcow:",
    "vhd:",
    "iscsi:",
    "nbd:",
    "enbd:",
    "drbd:",
    "foo:",
    "x1:",
    "Phy:",
    "foo=",
    "a=b",
    "=",
    ",",
    " ",
    "  ",
    "\t",
    "\n",
    ":",
    "::",
    "phy",
    "tap",
    "qdisk",
    "standalone",
    "xen",
    "virtio",
    "0",
    "5",
    "-3",
    " 7",
    "0x10",
    "99999999999",
    "discard=1",
    "cdromx",
    "no-discardx",
};

static uint32_t rng_state = 0x2545f491;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void gen_spec(char *buf, size_t cap)
{
	size_t off = 0;
	unsigned n = 1 + rnd() % 8;
	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t l = strlen(p);
		if (off + l + 2 >= cap)
			break;
		memcpy(buf + off, p, l);
		off += l;
		if (rnd() % 3 != 0)
			buf[off++] = ',';
		buf[off] = '\0';
	}
	/* Keep libxlutil alive: no '=' directly before a newline. */
	for (char *q = buf; (q = strstr(q, "=\n")); q++)
		q[1] = ' ';
}

static void test_generated(void **state)
{
	(void)state;
	const char *env = getenv("XP_DISK_ORACLE_CASES");
	long count = env ? strtol(env, NULL, 10) : 5000;
	int bad = 0;
	char bufs[3][256];
	char *specs[3];
	for (long i = 0; i < count && bad < 20; i++) {
		int n = 1 + (rnd() % 8 == 0 ? (int)(rnd() % 3) : 0);
		for (int k = 0; k < n; k++) {
			gen_spec(bufs[k], sizeof(bufs[k]));
			specs[k] = bufs[k];
		}
		bad += compare(specs, n, "generated", -1);
	}
	printf("%ld generated disks compared with libxlutil, %d disagreements\n", count, bad);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_size),       cmocka_unit_test(test_fixture_agrees),
	    cmocka_unit_test(test_fixture_new_syntax), cmocka_unit_test(test_fixture_jams),
	    cmocka_unit_test(test_generated),
	};
	return cmocka_run_group_tests_name("disk-oracle", tests, load_fixture, free_fixture);
}
