/*
 * test-xl-config.c - unit tests of the xl config language: lexer and parser errors
 * (each with its code, line and column), effective values, typed access, the writer,
 * in-place edits and the canonical layout. Xen's own parser is compared separately
 * (tests/oracle/test-config-oracle.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenprov/xl-config.h"
#include "xenprov/xl-lint.h"
#include "xl/config-internal.h"
#include "xl/name-index.h"

static struct xp_cfg *parse_ok(const char *text)
{
	struct xp_cfg *cfg = NULL;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_cfg_parse(text, strlen(text), "t.cfg", &d, &cfg);
	if (r != 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%u:%u: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
	}
	assert_int_equal(r, 0);
	assert_non_null(cfg);
	xp_diags_release(&d);
	return cfg;
}

/* ---- errors: every input Xen rejects, with the code, line and column we report ---- */

struct err_case {
	const char *text;
	const char *code;
	unsigned line, col;
};

static const struct err_case err_cases[] = {
	{"name = foo\n", "bare-word", 1, 8},
	{"bootargs = vif[0]\n", "python", 1, 12},
	{"memory = 128 + 64\n", "python", 1, 14},
	{"Name = \"x\"\n", "uppercase", 1, 1},
	{"on-crash = \"destroy\"\n", "python", 1, 3},
	{"memory = -1\n", "number", 1, 10},
	{"memory = 1.5\n", "number", 1, 11},
	{"x = \"a\\x41\"\n", "escape", 1, 7},
	{"x = \"a\\0\"\n", "escape", 1, 7},
	{"x = \"a\\q\"\n", "escape", 1, 7},
	{"a = 1\r\nb = 2\r\n", "crlf", 1, 6},
	{"a = 1\n# last", "comment-at-eof", 2, 1},
	{"x = \"abc\n", "unterminated-string", 1, 5},
	{"x = 'abc\\\n'\n", "unterminated-string", 1, 5},
	{"x = [ 1, 2\n", "syntax", 1, 5},
	{"x = [ , ]\n", "syntax", 1, 7},
	{"x = [ 1 2 ]\n", "syntax", 1, 9},
	{"x = 1 2\n", "syntax", 1, 7},
	{"x 1\n", "syntax", 1, 3},
	{"= 1\n", "syntax", 1, 1},
	{"x =\n", "syntax", 1, 4},
	{"x = ]\n", "syntax", 1, 5},
	{"import os\n", "python", 1, 1},
	{"x = \"a\"\nx += [ 1 ]\n", "append-type", 2, 3},
	{"x = [ 1 ]\nx += \"a\"\n", "append-type", 2, 3},
	{"x = 1; y = 2 z\n", "syntax", 1, 14},
	{"x = \"a\0b\"\n", "nul", 1, 7},
	{"x = 1\n\1 = 2\n", "lexical", 2, 1},
	{"x = \"caf\xc3\xa9\"\ny = caf\xc3\xa9\n", "lexical", 2, 8},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		size_t len = strlen(c->text);
		if (strstr(c->code, "nul"))
			len = 10; /* the case with an embedded NUL */
		struct xp_diags d;
		xp_diags_init(&d);
		struct xp_cfg *cfg = NULL;
		int r = xp_cfg_parse(c->text, len, "t.cfg", &d, &cfg);
		if (r != -EBADMSG)
			fail_msg("case %zu (%s): expected -EBADMSG, got %d", i, c->code, r);
		assert_true(xp_cfg_has_errors(cfg));
		const struct xp_diag *first = NULL;
		for (size_t k = 0; k < d.n; k++)
			if (d.v[k].severity == XP_SEV_ERROR) {
				first = &d.v[k];
				break;
			}
		if (!first)
			fail_msg("case %zu: no error diagnostic", i);
		if (strcmp(first->code, c->code) != 0 || first->line != c->line ||
		    first->col != c->col)
			fail_msg("case %zu: expected %s at %u:%u, got %s at %u:%u (%s)", i, c->code,
				 c->line, c->col, first->code, first->line, first->col, first->msg);
		assert_string_equal(first->file, "t.cfg");
		xp_cfg_free(cfg);
		xp_diags_release(&d);
	}
}

static void test_all_errors_reported(void **state)
{
	(void)state;
	const char *text = "a = foo\nb = 1\nc = Bar\nd = [ 1 2 ]\ne = \"ok\"\nf = -3\n";
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_cfg *cfg;
	assert_int_equal(xp_cfg_parse(text, strlen(text), NULL, &d, &cfg), -EBADMSG);
	unsigned lines[8] = {0};
	size_t n = 0;
	for (size_t k = 0; k < d.n && n < 8; k++)
		if (d.v[k].severity == XP_SEV_ERROR)
			lines[n++] = d.v[k].line;
	assert_int_equal(n, 4);
	assert_int_equal(lines[0], 1);
	assert_int_equal(lines[1], 3);
	assert_int_equal(lines[2], 4);
	assert_int_equal(lines[3], 6);
	/* what could be read is still there */
	long v;
	assert_int_equal(xp_cfg_get_long(cfg, "b", &v), 0);
	assert_int_equal(v, 1);
	xp_cfg_free(cfg);
	xp_diags_release(&d);
}

static void test_accepted_oddities(void **state)
{
	(void)state;
	/* what Xen accepts, however odd */
	const char *ok[] = {
		"",
		"\n\n;;\n",
		"x = 1",                        /* no final newline */
		"x = 1;",                       /* ; at end of file */
		"x = [\n 1,\n # c\n 2,\n\n]\n", /* newlines, comments, trailing comma */
		"x = [ [ 1, [ ] ], \"a\" ]\n",  /* nested and empty */
		"x=1;y=2 # c\n",
		"x = 0xx\n", /* a number token, not a valid number */
		"x = \"a\\012b\"\n", /* an "octal" escape xl drops */
		"x = 1\nX",          /* a stray last byte, ignored */
		"a.b_c9 = 'x'\n",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct xp_cfg *cfg = NULL;
		int r = xp_cfg_parse(ok[i], strlen(ok[i]), NULL, NULL, &cfg);
		if (r != 0)
			fail_msg("case %zu should parse", i);
		xp_cfg_free(cfg);
	}
}

/* ---- values ------------------------------------------------------------------------ */

static void test_values(void **state)
{
	(void)state;
	struct xp_cfg *cfg = parse_ok("memory = 512\n"
				      "oct = 010\n"
				      "hex = 0x10\n"
				      "bad = 08\n"
				      "s = 'it\\'s \"q\" \\\\ \\t\\n'\n"
				      "num_str = \"42\"\n"
				      "l = [ 'a', 1, [ 'b' ] ]\n"
				      "memory = 1024\n"
				      "extra = 'a'\n"
				      "extra += ' b'\n"
				      "l2 = [ 1 ]\n"
				      "l2 += [ 2, 3 ]\n"
				      "n += 5\n"
				      "cat = 1\n"
				      "cat += 2\n"
				      "big = 99999999999999999999\n");
	long v;
	const char *s;
	const struct xp_cfg_value *l;
	assert_int_equal(xp_cfg_get_long(cfg, "memory", &v), 0);
	assert_int_equal(v, 1024); /* last wins */
	assert_int_equal(xp_cfg_assignments(cfg, "memory"), 2);
	assert_int_equal(xp_cfg_line_of(cfg, "memory"), 8);
	assert_int_equal(xp_cfg_get_long(cfg, "oct", &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(xp_cfg_get_long(cfg, "hex", &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(xp_cfg_get_long(cfg, "bad", &v), -EINVAL);
	assert_int_equal(xp_cfg_get_long(cfg, "big", &v), -ERANGE);
	assert_int_equal(xp_cfg_get_string(cfg, "s", &s), 0);
	assert_string_equal(s, "it's \"q\" \\ \t\n");
	assert_int_equal(xp_cfg_get_long(cfg, "num_str", &v), 0); /* xl reads strings too */
	assert_int_equal(v, 42);
	assert_int_equal(xp_cfg_get_string(cfg, "memory", &s), 0);
	assert_string_equal(s, "1024");
	assert_int_equal(xp_cfg_get_list(cfg, "l", &l), 0);
	assert_int_equal(xp_cfg_value_len(l), 3);
	assert_int_equal(xp_cfg_value_type(xp_cfg_value_item(l, 1)), XP_CFG_NUMBER);
	assert_int_equal(xp_cfg_value_type(xp_cfg_value_item(l, 2)), XP_CFG_LIST);
	assert_null(xp_cfg_value_item(l, 3));
	assert_int_equal(xp_cfg_get_string(cfg, "l", &s), -EINVAL);
	assert_int_equal(xp_cfg_get_list(cfg, "memory", &l), -EINVAL);
	assert_int_equal(xp_cfg_get_string(cfg, "absent", &s), -ENOENT);
	assert_int_equal(xp_cfg_get_string(cfg, "extra", &s), 0);
	assert_string_equal(s, "a b");
	assert_true(xp_cfg_was_appended(cfg, "extra"));
	assert_int_equal(xp_cfg_get_list(cfg, "l2", &l), 0);
	assert_int_equal(xp_cfg_value_len(l), 3);
	assert_string_equal(xp_cfg_value_str(xp_cfg_value_item(l, 2)), "3");
	/* xl: "can't use += with numbers", even without an earlier value */
	assert_int_equal(xp_cfg_get_long(cfg, "n", &v), -EINVAL);
	assert_int_equal(xp_cfg_get_long(cfg, "cat", &v), -EINVAL);
	assert_int_equal(xp_cfg_get_string(cfg, "cat", &s), 0);
	assert_string_equal(s, "12");
	assert_int_equal(xp_cfg_value_type(xp_cfg_lookup(cfg, "cat")), XP_CFG_STRING);
	bool b;
	assert_int_equal(xp_cfg_get_bool(cfg, "hex", &b), 0);
	assert_true(b);
	/* order of first appearance */
	assert_string_equal(xp_cfg_name_at(cfg, 0), "memory");
	assert_string_equal(xp_cfg_name_at(cfg, 1), "oct");
	xp_cfg_free(cfg);
}

static void test_dropped_escape_warns(void **state)
{
	(void)state;
	const char *text = "x = \"a\\012b\"\n";
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_cfg *cfg;
	assert_int_equal(xp_cfg_parse(text, strlen(text), NULL, &d, &cfg), 0);
	const char *s;
	assert_int_equal(xp_cfg_get_string(cfg, "x", &s), 0);
	assert_string_equal(s, "ab"); /* what xl reads: the escape and "12" vanish */
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	assert_string_equal(d.v[0].code, "escape-dropped");
	xp_cfg_free(cfg);
	xp_diags_release(&d);
}

/* ---- writer ------------------------------------------------------------------------ */

static void test_quote_roundtrip(void **state)
{
	(void)state;
	const char *samples[] = {"", "plain", "with \"double\"", "with 'single'",
				 "both ' and \"", "back\\slash", "new\nline\r\t\a\b\f\v",
				 "caf\xc3\xa9 \xe2\x82\xac", "\x01\x1b[0m\x7f\xff", "#not a comment",
				 "a,b=c;d"};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct xp_buf b = XP_BUF_INIT;
		xp_buf_adds(&b, "v = ");
		assert_int_equal(xp_cfg_quote(&b, samples[i], strlen(samples[i])), 0);
		xp_buf_addc(&b, '\n');
		struct xp_cfg *cfg = parse_ok(xp_buf_str(&b));
		const char *s;
		assert_int_equal(xp_cfg_get_string(cfg, "v", &s), 0);
		assert_string_equal(s, samples[i]);
		xp_cfg_free(cfg);
		xp_buf_release(&b);
	}
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_cfg_quote(&b, "a\0b", 3), -EINVAL);
	xp_buf_release(&b);
	/* quote choice */
	xp_cfg_quote(&b, "say \"hi\"", 8);
	assert_string_equal(xp_buf_str(&b), "'say \"hi\"'");
	xp_buf_release(&b);
}

static void test_parse_value(void **state)
{
	(void)state;
	char *c = NULL;
	assert_int_equal(xp_cfg_parse_value("512", &c), 0);
	assert_string_equal(c, "512");
	free(c);
	assert_int_equal(xp_cfg_parse_value("'x'", &c), 0);
	assert_string_equal(c, "\"x\"");
	free(c);
	assert_int_equal(xp_cfg_parse_value("[1,'a',[ ]]", &c), 0);
	assert_string_equal(c, "[ 1, \"a\", [] ]");
	free(c);
	assert_int_equal(xp_cfg_parse_value("web01", &c), -EBADMSG);
	assert_int_equal(xp_cfg_parse_value("1\ny = 2", &c), -EBADMSG);
	assert_int_equal(xp_cfg_parse_value("/boot/vmlinuz", &c), -EBADMSG);
}

/* ---- edits ------------------------------------------------------------------------- */

static void expect_text(struct xp_cfg *cfg, const char *want)
{
	size_t len;
	const char *t = xp_cfg_text(cfg, &len);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(t, want, len);
}

static void test_set(void **state)
{
	(void)state;
	struct xp_cfg *cfg = parse_ok("# top\n"
				      "name = 'a'   # the name\n"
				      "memory = 128\n"
				      "  extra = 'x'; extra += 'y'  # c\n"
				      "disk = [ 'a',\n  'b' ]\n"
				      "tail = 1");
	assert_int_equal(xp_cfg_set(cfg, "memory", "512"), 0);
	assert_int_equal(xp_cfg_set(cfg, "name", "\"b\""), 0);
	assert_int_equal(xp_cfg_set(cfg, "extra", "'z'"), 0);
	assert_int_equal(xp_cfg_set(cfg, "disk", "['c']"), 0);
	assert_int_equal(xp_cfg_set(cfg, "vcpus", "2"), 0);
	expect_text(cfg, "# top\n"
			 "name = \"b\"   # the name\n"
			 "memory = 512\n"
			 "  extra = 'x'; extra = \"z\"  # c\n"
			 "disk = [ \"c\" ]\n"
			 "tail = 1\n"
			 "vcpus = 2\n");
	const char *s;
	assert_int_equal(xp_cfg_get_string(cfg, "extra", &s), 0);
	assert_string_equal(s, "z");
	assert_int_equal(xp_cfg_set(cfg, "Bad", "1"), -EINVAL);
	assert_int_equal(xp_cfg_set(cfg, "x", "bare"), -EBADMSG);
	xp_cfg_free(cfg);
}

static void test_unset(void **state)
{
	(void)state;
	struct xp_cfg *cfg = parse_ok("a = 1\n"
				      "b = 2 # about b\n"
				      "c = 3; b = 4\n"
				      "d = [\n 1,\n]\n"
				      "b += 5; e = 6\n"
				      "f = 7\n");
	assert_int_equal(xp_cfg_unset(cfg, "b"), 0);
	expect_text(cfg, "a = 1\n"
			 "c = 3;\n"
			 "d = [\n 1,\n]\n"
			 "e = 6\n"
			 "f = 7\n");
	assert_int_equal(xp_cfg_unset(cfg, "d"), 0);
	assert_int_equal(xp_cfg_unset(cfg, "d"), -ENOENT);
	expect_text(cfg, "a = 1\nc = 3;\ne = 6\nf = 7\n");
	xp_cfg_free(cfg);
}

static void test_edit_refuses_broken(void **state)
{
	(void)state;
	struct xp_cfg *cfg;
	assert_int_equal(xp_cfg_parse("a = b\n", 6, NULL, NULL, &cfg), -EBADMSG);
	assert_int_equal(xp_cfg_set(cfg, "c", "1"), -EBADMSG);
	assert_int_equal(xp_cfg_unset(cfg, "a"), -EBADMSG);
	xp_cfg_free(cfg);
}

static void test_set_after_stray_byte(void **state)
{
	(void)state;
	struct xp_cfg *cfg = parse_ok("a = 1\n\\");
	assert_int_equal(xp_cfg_set(cfg, "b", "2"), 0);
	expect_text(cfg, "a = 1\nb = 2\n");
	xp_cfg_free(cfg);
}

/* ---- fmt --------------------------------------------------------------------------- */

static void expect_fmt(const char *in, unsigned flags, const char *want)
{
	struct xp_cfg *cfg = NULL;
	xp_cfg_parse(in, strlen(in), NULL, NULL, &cfg);
	assert_non_null(cfg);
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_cfg_format(cfg, flags, &b), 0);
	if (strcmp(xp_buf_str(&b), want) != 0)
		fail_msg("fmt gave:\n%s\nwanted:\n%s", xp_buf_str(&b), want);
	xp_buf_release(&b);
	xp_cfg_free(cfg);
}

static void test_fmt(void **state)
{
	(void)state;
	expect_fmt("\n\n# head\nname='x'  ;memory=512 # mem\n\n\n\nvif=['a' ,\n'b']\n\n",
		   0,
		   "# head\nname = \"x\"\nmemory = 512 # mem\n\nvif = [ \"a\", \"b\" ]\n");
	expect_fmt("disk = [ 'phy:/dev/vg0/a-long-volume-name,xvda,w', "
		   "'phy:/dev/vg0/another-long-volume,xvdb,w' ]\n",
		   0,
		   "disk = [\n    \"phy:/dev/vg0/a-long-volume-name,xvda,w\",\n"
		   "    \"phy:/dev/vg0/another-long-volume,xvdb,w\",\n]\n");
	expect_fmt("disk = [ 'a', # first\n  # lone\n 'b' ]\n", 0,
		   "disk = [\n    \"a\", # first\n    # lone\n    \"b\",\n]\n");
	expect_fmt("x = []\ny += [ [ 1 ] ]\n", 0, "x = []\ny += [ [ 1 ] ]\n");
	expect_fmt("a = 1\r\nb = 2\r\n# end", XP_CFG_FMT_FIX, "a = 1\nb = 2\n# end\n");
	struct xp_cfg *cfg;
	xp_cfg_parse("a = 1\r\n", 7, NULL, NULL, &cfg);
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_cfg_format(cfg, 0, &b), -EBADMSG);
	xp_cfg_free(cfg);
	xp_cfg_parse("a = b\r\n", 7, NULL, NULL, &cfg);
	assert_int_equal(xp_cfg_format(cfg, XP_CFG_FMT_FIX, &b), -EBADMSG);
	xp_cfg_free(cfg);
	xp_buf_release(&b);
}

/* ---- limits ------------------------------------------------------------------------ */

static void test_limits(void **state)
{
	(void)state;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, "x = ");
	for (int i = 0; i < XP_CFG_MAX_DEPTH + 1; i++)
		xp_buf_addc(&b, '[');
	for (int i = 0; i < XP_CFG_MAX_DEPTH + 1; i++)
		xp_buf_addc(&b, ']');
	xp_buf_addc(&b, '\n');
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_cfg *cfg;
	assert_int_equal(xp_cfg_parse(b.s, b.len, NULL, &d, &cfg), -EBADMSG);
	assert_string_equal(d.v[0].code, "depth");
	xp_cfg_free(cfg);
	xp_diags_release(&d);
	xp_buf_release(&b);
	assert_int_equal(xp_cfg_parse("", (size_t)XP_CFG_MAX_SIZE + 1, NULL, NULL, &cfg), -EFBIG);
	assert_null(cfg);
}

/* ---- lint -------------------------------------------------------------------------- */

static int has_code(const struct xp_diags *d, const char *code, enum xp_severity sev)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].code && strcmp(d->v[i].code, code) == 0 && d->v[i].severity == sev)
			return 1;
	return 0;
}

static void test_lint(void **state)
{
	(void)state;
	struct xp_cfg *cfg = parse_ok("memory = 512\nmaxmem = 256\nmemroy = 1\nmemory = 512\n"
				      "hostname = 'x'\non_crash = 'explode'\ndisk = 'phy:/x,xvda,w'\n"
				      "vcpus = 'two'\n");
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(cfg, NULL, NULL, &d), 0);
	assert_true(has_code(&d, "no-name", XP_SEV_WARNING));
	assert_true(has_code(&d, "no-boot", XP_SEV_WARNING));
	assert_true(has_code(&d, "memory-maxmem", XP_SEV_WARNING));
	assert_true(has_code(&d, "unknown-key", XP_SEV_WARNING));
	assert_true(has_code(&d, "duplicate-key", XP_SEV_WARNING));
	assert_true(has_code(&d, "xm-key", XP_SEV_WARNING));
	assert_true(has_code(&d, "bad-action", XP_SEV_ERROR));
	assert_true(has_code(&d, "not-list", XP_SEV_WARNING));
	assert_true(has_code(&d, "not-number", XP_SEV_ERROR));
	for (size_t i = 0; i < d.n; i++)
		if (strcmp(d.v[i].code, "unknown-key") == 0)
			assert_string_equal(d.v[i].hint, "did you mean 'memory'?");
	xp_diags_release(&d);
	xp_cfg_free(cfg);

	cfg = parse_ok("name = 'ok'\ntype = 'hvm'\nmemory = 256\n");
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(cfg, NULL, NULL, &d), 0);
	assert_int_equal(d.n, 0);
	xp_diags_release(&d);
	xp_cfg_free(cfg);
	assert_string_equal(xp_cfg_suggest_key("kernal"), "kernel");
	assert_null(xp_cfg_suggest_key("zzzzzzzz"));
}

static void test_lint_devices(void **state)
{
	(void)state;
	struct xp_lint_set *set;
	assert_int_equal(xp_lint_set_new(&set), 0);
	struct xp_cfg *a = parse_ok("name = 'a'\nkernel = '/k'\n"
				    "disk = [ 'phy:/dev/vg0/a,xvda,w', 'file:/a.img,xvda,w',\n"
				    "         'phy:/x,xvdb,bogus', [ 'n' ], 'never,xvdc' ]\n"
				    "vif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3e:00:00:01' ]\n");
	struct xp_cfg *b = parse_ok("name = 'b'\nkernel = '/k'\n"
				    "vif = [ 'mac=00:16:3e:00:00:01,bridge=br0' ]\n");
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(a, NULL, set, &d), 0);
	assert_true(has_code(&d, "duplicate-vdev", XP_SEV_WARNING));
	assert_true(has_code(&d, "nested-list", XP_SEV_WARNING));
	assert_true(has_code(&d, "duplicate-mac", XP_SEV_WARNING));
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 1); /* the bad access only */
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].severity == XP_SEV_ERROR) {
			assert_int_equal(d.v[i].line, 4);
			assert_int_equal(d.v[i].col, 23); /* 'bogus' inside the string */
		}
	xp_diags_release(&d);
	/* the MAC of a is met again in b, checked in the same set */
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(b, NULL, set, &d), 0);
	assert_true(has_code(&d, "duplicate-mac", XP_SEV_WARNING));
	xp_diags_release(&d);
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(b, NULL, NULL, &d), 0);
	assert_false(has_code(&d, "duplicate-mac", XP_SEV_WARNING));
	xp_diags_release(&d);
	/* --host: targets looked up under a root */
	struct xp_lint_opts opts = {.host = true, .host_root = XP_TEST_DATA};
	struct xp_cfg *c = parse_ok("name = 'c'\nkernel = '/configs/empty.cfg'\n"
				    "disk = [ 'file:/configs/empty.cfg,xvda,w', 'file:/nope.img,xvdb,w' ]\n");
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(c, &opts, NULL, &d), 0);
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 1);
	assert_true(has_code(&d, "missing-target", XP_SEV_ERROR));
	assert_string_equal(d.v[0].text, "/nope.img");
	xp_diags_release(&d);
	xp_cfg_free(a);
	xp_cfg_free(b);
	xp_cfg_free(c);
	xp_lint_set_free(set);
}

/* --host: the files a guest boots from, looked up under a root; a bootloader by name in
 * Xen's bin directory, then on the path (here both inside the root). */
static void test_lint_boot_files(void **state)
{
	(void)state;
	struct xp_lint_opts opts = {.host = true,
				    .host_root = XP_TEST_DATA,
				    .xen_bindir = "/configs",
				    .path = "/nothing:/disk-specs-none"};
	const struct {
		const char *text;
		const char *codes; /* the error codes, in order, joined by ' ' */
	} cases[] = {
	    {"kernel = '/configs/empty.cfg'\nramdisk = '/configs/empty.cfg'\n", ""},
	    {"kernel = '/nokernel'\nramdisk = '/configs/empty.cfg'\n", "missing-kernel"},
	    {"kernel = '/configs/empty.cfg'\nramdisk = '/noinitrd'\n", "missing-ramdisk"},
	    {"kernel = ''\n", ""}, /* empty: nothing to look for */
	    /* a bootloader reads them from the guest's disk */
	    {"bootloader = '/configs/empty.cfg'\nkernel = '/boot/in-guest'\n",
	     "bootloader-not-executable"},
	    /* found in the bin directory (not executable: a data file stands in) */
	    {"bootloader = 'empty.cfg'\n", "bootloader-not-executable"},
	    {"bootloader = 'nosuch'\n", "missing-bootloader"},
	    {"bootloader = '/nope/pygrub'\n", "missing-bootloader"},
	    /* HVM: xl runs no bootloader; its kernel is a host file */
	    {"type = 'hvm'\nbootloader = 'nosuch'\nkernel = '/nokernel'\n", "missing-kernel"},
	    {"builder = 'hvm'\nkernel = '/configs/empty.cfg'\n", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "name = 'x'\n%s", cases[i].text);
		struct xp_cfg *c = parse_ok(text);
		struct xp_diags d;
		xp_diags_init(&d);
		assert_int_equal(xp_cfg_lint(c, &opts, NULL, &d), 0);
		struct xp_buf codes = XP_BUF_INIT;
		for (size_t k = 0; k < d.n; k++)
			if (d.v[k].severity == XP_SEV_ERROR)
				xp_buf_addf(&codes, "%s%s", codes.len ? " " : "", d.v[k].code);
		print_message("case %zu: '%s'\n", i, xp_buf_str(&codes));
		assert_string_equal(xp_buf_str(&codes), cases[i].codes);
		xp_buf_release(&codes);
		/* without --host none of it is looked at */
		struct xp_lint_opts off = opts;
		off.host = false;
		xp_diags_release(&d);
		xp_diags_init(&d);
		assert_int_equal(xp_cfg_lint(c, &off, NULL, &d), 0);
		assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 0);
		xp_diags_release(&d);
		xp_cfg_free(c);
	}
	/* the bin directory first, then the path: a name only on the path is found there */
	opts.xen_bindir = "/nothing";
	opts.path = "/nothing:/configs";
	struct xp_cfg *c = parse_ok("name = 'x'\nbootloader = 'empty.cfg'\n");
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(c, &opts, NULL, &d), 0);
	assert_true(has_code(&d, "bootloader-not-executable", XP_SEV_ERROR));
	assert_non_null(strstr(d.v[0].msg, "(/configs/empty.cfg)"));
	xp_diags_release(&d);
	xp_cfg_free(c);
}

/* ---- scale: the structures that keep huge files linear ------------------------------ */

static bool key_eq(const void *ctx, uint32_t id, const void *key, size_t len)
{
	char buf[32];
	(void)ctx;
	int n = snprintf(buf, sizeof(buf), "key%u", id * 7u);
	return (size_t)n == len && memcmp(buf, key, len) == 0;
}

static void test_name_index(void **state)
{
	(void)state;
	struct xp__nidx ix = {0};
	char k[32];
	assert_int_equal(xp__nidx_find(&ix, "key0", 4, key_eq, NULL), UINT32_MAX);
	enum { N = 100000 };
	for (uint32_t i = 0; i < N; i++) {
		int n = snprintf(k, sizeof(k), "key%u", i * 7u);
		assert_int_equal(xp__nidx_add(&ix, k, (size_t)n, i), 0);
	}
	assert_int_equal(ix.n, N);
	assert_true(ix.cap >= 2 * N); /* at most half full */
	for (uint32_t i = 0; i < N; i++) {
		int n = snprintf(k, sizeof(k), "key%u", i * 7u);
		assert_int_equal(xp__nidx_find(&ix, k, (size_t)n, key_eq, NULL), i);
		n = snprintf(k, sizeof(k), "key%u", i * 7u + 3); /* never added */
		assert_int_equal(xp__nidx_find(&ix, k, (size_t)n, key_eq, NULL), UINT32_MAX);
	}
	/* the same bytes hash the same, whatever the buffer */
	assert_int_equal(xp__nidx_hash("abc", 3), xp__nidx_hash("abcdef", 3));
	xp__nidx_release(&ix);
	assert_null(ix.slot);
	assert_int_equal(xp__nidx_find(&ix, "key0", 4, key_eq, NULL), UINT32_MAX);
}

/* += on strings and lists, many times over: the joined value and its bookkeeping. */
static void test_append_many(void **state)
{
	(void)state;
	struct xp_buf b = XP_BUF_INIT, want = XP_BUF_INIT;
	xp_buf_adds(&b, "extra = 'start '\nl = [ 0 ]\n");
	xp_buf_adds(&want, "start ");
	for (unsigned i = 0; i < 5000; i++) {
		xp_buf_addf(&b, "extra += 'part%u '\nl += [ %u, [ 'n%u' ] ]\n", i, i + 1, i);
		xp_buf_addf(&want, "part%u ", i);
	}
	xp_buf_adds(&b, "n = 1\nn += 2\ne = []\ne += []\ne += [ 'x' ]\n");
	struct xp_cfg *cfg = parse_ok(xp_buf_str(&b));
	const char *s;
	assert_int_equal(xp_cfg_get_string(cfg, "extra", &s), 0);
	assert_string_equal(s, xp_buf_str(&want));
	assert_int_equal(xp_cfg_assignments(cfg, "extra"), 5001);
	assert_int_equal(xp_cfg_line_of(cfg, "extra"), 2 * 5000 + 1);
	assert_true(xp_cfg_was_appended(cfg, "extra"));
	const struct xp_cfg_value *l;
	assert_int_equal(xp_cfg_get_list(cfg, "l", &l), 0);
	assert_int_equal(xp_cfg_value_len(l), 1 + 2 * 5000);
	for (unsigned i = 0; i < 5000; i++) {
		const struct xp_cfg_value *num = xp_cfg_value_item(l, 1 + 2 * i);
		const struct xp_cfg_value *sub = xp_cfg_value_item(l, 2 + 2 * i);
		char want_num[16], want_sub[16];
		snprintf(want_num, sizeof(want_num), "%u", i + 1);
		snprintf(want_sub, sizeof(want_sub), "n%u", i);
		assert_string_equal(xp_cfg_value_str(num), want_num);
		assert_int_equal(xp_cfg_value_line(num), 4 + 2 * i);
		assert_int_equal(xp_cfg_value_col(num), 8);
		assert_int_equal(xp_cfg_value_type(sub), XP_CFG_LIST);
		assert_string_equal(xp_cfg_value_str(xp_cfg_value_item(sub, 0)), want_sub);
	}
	/* a number += a number is the string of both texts, which xl will not read back */
	assert_int_equal(xp_cfg_value_type(xp_cfg_lookup(cfg, "n")), XP_CFG_STRING);
	assert_int_equal(xp_cfg_get_string(cfg, "n", &s), 0);
	assert_string_equal(s, "12");
	long v;
	assert_int_equal(xp_cfg_get_long(cfg, "n", &v), -EINVAL);
	assert_int_equal(xp_cfg_get_list(cfg, "e", &l), 0);
	assert_int_equal(xp_cfg_value_len(l), 1);
	assert_string_equal(xp_cfg_value_str(xp_cfg_value_item(l, 0)), "x");
	xp_cfg_free(cfg);

	/* `=` after `+=` starts afresh */
	cfg = parse_ok("extra = 'a'\nextra += 'b'\nextra = 'c'\nextra += 'd'\n");
	assert_int_equal(xp_cfg_get_string(cfg, "extra", &s), 0);
	assert_string_equal(s, "cd");
	xp_cfg_free(cfg);
	xp_buf_release(&b);
	xp_buf_release(&want);
}

/* Every setting of a file with many distinct names is found by name. */
static void test_many_names(void **state)
{
	(void)state;
	enum { N = 30000 };
	struct xp_buf b = XP_BUF_INIT;
	for (unsigned i = 0; i < N; i++)
		xp_buf_addf(&b, "k%u = %u\n", i, i);
	xp_buf_adds(&b, "k7 = 'again'\n");
	struct xp_cfg *cfg = parse_ok(xp_buf_str(&b));
	assert_int_equal(xp_cfg_count(cfg), N);
	char name[32];
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "k%u", i);
		long v;
		if (i == 7)
			continue;
		assert_int_equal(xp_cfg_get_long(cfg, name, &v), 0);
		assert_int_equal(v, i);
		assert_int_equal(xp_cfg_line_of(cfg, name), i + 1);
		assert_ptr_equal(xp_cfg_lookup(cfg, name), xp_cfg_value_at(cfg, i));
	}
	const char *s;
	assert_int_equal(xp_cfg_get_string(cfg, "k7", &s), 0);
	assert_string_equal(s, "again");
	assert_int_equal(xp_cfg_line_of(cfg, "k7"), N + 1);
	assert_int_equal(xp_cfg_assignments(cfg, "k7"), 2);
	assert_null(xp_cfg_lookup(cfg, "k"));
	assert_null(xp_cfg_lookup(cfg, "k30000"));

	/* lint: the one duplicate, named with the line that overrides it */
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(cfg, NULL, NULL, &d), 0);
	size_t dups = 0;
	for (size_t i = 0; i < d.n; i++)
		if (strcmp(d.v[i].code, "duplicate-key") == 0) {
			dups++;
			assert_int_equal(d.v[i].line, 8);
			assert_int_equal(d.v[i].col, 1);
			assert_string_equal(d.v[i].msg, "'k7' is set again on line 30001, which "
							 "overrides this one");
		}
	assert_int_equal(dups, 1);
	assert_int_equal(xp_diags_count(&d, XP_SEV_WARNING), N + 3); /* + no-name, no-boot */
	xp_diags_release(&d);
	xp_cfg_free(cfg);
	xp_buf_release(&b);

	/* only `=` statements are duplicates; the last `=` of each name is not one */
	cfg = parse_ok("a = 1\nb = 1\na = 2\na += 3\nb += 4\na = 5\n");
	xp_diags_init(&d);
	assert_int_equal(xp_cfg_lint(cfg, NULL, NULL, &d), 0);
	unsigned lines[2], nd = 0;
	for (size_t i = 0; i < d.n; i++)
		if (strcmp(d.v[i].code, "duplicate-key") == 0 && nd < 2)
			lines[nd++] = d.v[i].line;
	assert_int_equal(nd, 2);
	assert_int_equal(lines[0], 1);
	assert_int_equal(lines[1], 3);
	xp_diags_release(&d);
	xp_cfg_free(cfg);
}

/* The list walk yields what the parser read: items, nested lists, comments, and
 * which comments trail an item on its line. */
static void test_list_walk(void **state)
{
	(void)state;
	const char *text = "x = [ # lead\n"
			   "  1, # one\n"
			   "  [ 'a', # in\n"
			   "  ],\n"
			   "  # own\n"
			   "  'b' # bee\n"
			   "  , 0x2 ]\n";
	struct xp_cfg *cfg = parse_ok(text);
	assert_int_equal(cfg->nlists, 2);
	const struct item *it = &cfg->items[0];
	assert_int_equal(it->kind, IT_STMT);
	assert_int_equal(it->list, 0);
	assert_int_equal(cfg->lists[0].next, 2);
	assert_int_equal(cfg->lists[1].next, 2);
	assert_true(cfg->lists[0].flags & LIST_COMMENTS);
	static const struct {
		enum ent_kind kind;
		const char *text;
		int trailing;
	} want[] = {
		{ENT_COMMENT, "# lead", 0}, {ENT_ATOM, "1", 0},	     {ENT_COMMENT, "# one", 1},
		{ENT_LIST, "[", 0},	    {ENT_COMMENT, "# own", 0}, {ENT_ATOM, "'b'", 0},
		{ENT_COMMENT, "# bee", 1},  {ENT_ATOM, "0x2", 0},
	};
	struct list_walk w;
	struct lent e;
	size_t n = 0;
	xp__list_walk_init(&w, cfg, 0);
	while (xp__list_next(&w, &e)) {
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_int_equal(e.kind, want[n].kind);
		assert_int_equal(tk_len(cfg, e.tok), strlen(want[n].text));
		assert_memory_equal(cfg->text + tk_off(cfg, e.tok), want[n].text,
				    strlen(want[n].text));
		if (e.kind == ENT_COMMENT)
			assert_int_equal(e.trailing, want[n].trailing);
		if (e.kind == ENT_LIST)
			assert_int_equal(e.list, 1);
		n++;
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	xp__list_walk_init(&w, cfg, 1);
	assert_int_equal(xp__list_next(&w, &e), 1);
	assert_int_equal(e.kind, ENT_ATOM);
	assert_int_equal(xp__list_next(&w, &e), 1);
	assert_int_equal(e.kind, ENT_COMMENT);
	assert_int_equal(e.trailing, 1);
	assert_int_equal(xp__list_next(&w, &e), 0);
	/* a token's place comes from the line table */
	struct tok t = xp__cfg_tok(cfg, cfg->lists[1].open);
	assert_int_equal(t.line, 3);
	assert_int_equal(t.col, 3);
	xp_cfg_free(cfg);

	/* the records of a broken statement's lists are dropped */
	struct xp_cfg *bad = NULL;
	const char *broken = "x = [ [ 1 ], 2 3 ]\ny = [ [ 4 ] ]\n";
	assert_int_equal(xp_cfg_parse(broken, strlen(broken), NULL, NULL, &bad), -EBADMSG);
	assert_int_equal(bad->nlists, 2);
	assert_int_equal(bad->lists[0].open, bad->items[1].value);
	xp_cfg_free(bad);
}

/* An edit that would take the file past the size limit is refused, nothing lost. */
static void test_set_too_big(void **state)
{
	(void)state;
	size_t len = XP_CFG_MAX_SIZE - 16;
	char *text = malloc(len);
	assert_non_null(text);
	memset(text, '#', len);
	memcpy(text, "a = 1\n", 6);
	text[len - 1] = '\n';
	struct xp_cfg *cfg;
	assert_int_equal(xp_cfg_parse(text, len, NULL, NULL, &cfg), 0);
	assert_int_equal(xp_cfg_set(cfg, "a", "'0123456789abcdefghijklmnopqrstuvwxyz'"), -EFBIG);
	size_t now;
	assert_memory_equal(xp_cfg_text(cfg, &now), text, len);
	assert_int_equal(now, len);
	assert_int_equal(xp_cfg_set(cfg, "a", "2"), 0);
	assert_int_equal(xp_cfg_value_str(xp_cfg_lookup(cfg, "a"))[0], '2');
	xp_cfg_free(cfg);
	free(text);
}

/* fmt indents 4 columns a level up to 8 levels, so that 1,000 nested lists cannot
 * turn kilobytes into megabytes of spaces; the result reads back the same. */
static void test_fmt_deep(void **state)
{
	(void)state;
	struct xp_buf b = XP_BUF_INIT, out = XP_BUF_INIT, again = XP_BUF_INIT;
	enum { DEPTH = 900 };
	xp_buf_adds(&b, "x = ");
	for (int i = 0; i < DEPTH; i++)
		xp_buf_adds(&b, "[ ");
	xp_buf_adds(&b, "'a long string that does not fit on one line with all these brackets'");
	for (int i = 0; i < DEPTH; i++)
		xp_buf_adds(&b, " ]");
	xp_buf_adds(&b, "\n");
	struct xp_cfg *cfg = parse_ok(xp_buf_str(&b));
	assert_int_equal(xp_cfg_format(cfg, 0, &out), 0);
	size_t widest = 0, lines = 0;
	for (const char *p = xp_buf_str(&out); *p; lines++) {
		size_t sp = strspn(p, " ");
		widest = sp > widest ? sp : widest;
		p += strcspn(p, "\n");
		p += *p == '\n';
	}
	assert_int_equal(widest, 32);
	assert_int_equal(lines, 2 * DEPTH + 1);
	assert_true(out.len < 40 * lines);
	struct xp_cfg *back = parse_ok(xp_buf_str(&out));
	struct xp_buf v1 = XP_BUF_INIT, v2 = XP_BUF_INIT;
	assert_int_equal(xp_cfg_write_value(&v1, xp_cfg_lookup(cfg, "x")), 0);
	assert_int_equal(xp_cfg_write_value(&v2, xp_cfg_lookup(back, "x")), 0);
	assert_string_equal(xp_buf_str(&v1), xp_buf_str(&v2));
	assert_int_equal(xp_cfg_format(back, 0, &again), 0);
	assert_string_equal(xp_buf_str(&again), xp_buf_str(&out));
	xp_cfg_free(cfg);
	xp_cfg_free(back);
	xp_buf_release(&b);
	xp_buf_release(&out);
	xp_buf_release(&again);
	xp_buf_release(&v1);
	xp_buf_release(&v2);
}

/* did-you-mean and the known-key test rely on xp_cfg_known_keys being sorted */
static void test_known_keys_sorted(void **state)
{
	(void)state;
	for (const char *const *k = xp_cfg_known_keys; k[0] && k[1]; k++)
		assert_true(strcmp(k[0], k[1]) < 0);
	assert_string_equal(xp_cfg_suggest_key("vnclisen"), "vnclisten");
	assert_null(xp_cfg_suggest_key("zz_unknown_key_000001"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_accepted_oddities),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_dropped_escape_warns),
		cmocka_unit_test(test_quote_roundtrip),
		cmocka_unit_test(test_parse_value),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_unset),
		cmocka_unit_test(test_edit_refuses_broken),
		cmocka_unit_test(test_set_after_stray_byte),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_lint),
		cmocka_unit_test(test_lint_devices),
		cmocka_unit_test(test_lint_boot_files),
		cmocka_unit_test(test_name_index),
		cmocka_unit_test(test_append_many),
		cmocka_unit_test(test_many_names),
		cmocka_unit_test(test_list_walk),
		cmocka_unit_test(test_set_too_big),
		cmocka_unit_test(test_known_keys_sorted),
		cmocka_unit_test(test_fmt_deep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
