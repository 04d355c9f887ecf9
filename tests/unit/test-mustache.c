/*
 * test-mustache.c - the Mustache renderer (xenprov/mustache.h), rule by rule of the
 * spec's modules (interpolation, sections, inverted, partials, comments, delimiters),
 * each rule with cases written for it here; then what xenprov adds: required names,
 * syntax errors with their line and column, the bounds, the partials a template uses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenprov/mustache.h"

struct tcase {
	const char *rule;
	const char *tmpl;
	const char *data;     /* JSON */
	const char *partials; /* JSON object name -> text, or NULL */
	const char *want;
};

static json_t *g_partials;

static int load(void *ud, const char *name, char **text, size_t *len)
{
	(void)ud;
	json_t *p = json_object_get(g_partials, name);
	if (!p)
		return -ENOENT;
	*text = strdup(json_string_value(p));
	*len = strlen(*text);
	return 0;
}

static void run_cases(const struct tcase *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_error_t je;
		json_t *data = json_loads(v[i].data, JSON_DECODE_ANY, &je);
		if (!data)
			fail_msg("%s: bad test data: %s", v[i].rule, je.text);
		g_partials = v[i].partials ? json_loads(v[i].partials, 0, &je) : NULL;
		struct xp_buf b = XP_BUF_INIT;
		struct xp_diags d = {0};
		struct xp_mustache_opts o = {.partial = load, .name = "t"};
		int r = xp_mustache_render(v[i].tmpl, strlen(v[i].tmpl), data, &o, &b, &d);
		if (r < 0 || strcmp(xp_buf_str(&b), v[i].want) != 0)
			fail_msg("%s: r=%d, got [%s], want [%s]%s%s", v[i].rule, r, xp_buf_str(&b),
				 v[i].want, d.n ? ": " : "", d.n ? d.v[0].msg : "");
		xp_buf_release(&b);
		xp_diags_release(&d);
		json_decref(data);
		json_decref(g_partials);
	}
}

#define RUN(v) run_cases(v, sizeof(v) / sizeof(v[0]))

static void test_interpolation(void **state)
{
	(void)state;
	static const struct tcase v[] = {
	    {"text without tags is kept", "a {b} c\n", "{}", NULL, "a {b} c\n"},
	    {"a name is replaced", "<{{x}}>", "{\"x\":\"v\"}", NULL, "<v>"},
	    {"a value is not read again as a template", "{{a}}/{{b}}",
	     "{\"a\":\"{{b}}\",\"b\":\"B\"}", NULL, "{{b}}/B"},
	    {"{{x}} escapes & \" < >", "{{x}}", "{\"x\":\"& \\\" < > '\"}", NULL,
	     "&amp; &quot; &lt; &gt; '"},
	    {"{{{x}}} does not escape", "{{{x}}}", "{\"x\":\"& \\\" < >\"}", NULL, "& \" < >"},
	    {"{{&x}} does not escape", "{{&x}}", "{\"x\":\"<&>\"}", NULL, "<&>"},
	    {"integers", "{{n}} {{{n}}} {{&n}}", "{\"n\":-42}", NULL, "-42 -42 -42"},
	    {"reals in their fewest digits", "{{x}} {{{y}}}", "{\"x\":1.21,\"y\":0.5}", NULL,
	     "1.21 0.5"},
	    {"null is empty", "[{{n}}{{{n}}}{{&n}}]", "{\"n\":null}", NULL, "[]"},
	    {"a missing name is empty", "[{{m}}{{{m}}}{{&m}}]", "{}", NULL, "[]"},
	    {"booleans", "{{t}} {{f}}", "{\"t\":true,\"f\":false}", NULL, "true false"},
	    {"dotted names walk objects", "{{a.b.c}} {{{a.b.c}}} {{&a.b.c}}",
	     "{\"a\":{\"b\":{\"c\":\"<x>\"}}}", NULL, "&lt;x&gt; <x> <x>"},
	    {"a broken chain is empty", "[{{a.z.c}}]", "{\"a\":{\"b\":1}}", NULL, "[]"},
	    {"a chain's parts resolve in the former's value only", "[{{a.b.c}}]",
	     "{\"a\":{\"b\":{}},\"c\":\"no\"}", NULL, "[]"},
	    {"the first part resolves on the whole stack", "{{#x}}{{a.b}}{{/x}}",
	     "{\"a\":{\"b\":\"outer\"},\"x\":{\"y\":1}}", NULL, "outer"},
	    {"the nearest context holding the first part wins", "{{#x}}[{{a.b}}]{{/x}}",
	     "{\"a\":{\"b\":\"outer\"},\"x\":{\"a\":{}}}", NULL, "[]"},
	    {"a dotted name is never one key", "[{{a.b}}]", "{\"a.b\":\"no\"}", NULL, "[]"},
	    {"{{.}} is the current item", "{{#l}}({{.}}){{/l}}", "{\"l\":[\"a\",\"<b>\",3]}",
	     NULL, "(a)(&lt;b&gt;)(3)"},
	    {"{{{.}}} too, unescaped", "{{#l}}{{{.}}}{{/l}}", "{\"l\":[\"<b>\"]}", NULL, "<b>"},
	    {"spaces around the tag stay", " {{x}} \n", "{\"x\":\"v\"}", NULL, " v \n"},
	    {"an interpolation is never standalone", "  {{x}}\n", "{\"x\":\"v\"}", NULL,
	     "  v\n"},
	    {"padding inside the tag", "{{ x }}{{{ x }}}{{& x }}", "{\"x\":\"v\"}", NULL, "vvv"},
	};
	RUN(v);
}

static void test_sections(void **state)
{
	(void)state;
	static const struct tcase v[] = {
	    {"truthy renders once", "[{{#t}}y{{/t}}]", "{\"t\":true}", NULL, "[y]"},
	    {"falsey renders nothing", "[{{#f}}y{{/f}}]", "{\"f\":false}", NULL, "[]"},
	    {"null, \"\", 0 and a miss are falsey", "[{{#n}}1{{/n}}{{#s}}2{{/s}}{{#z}}3{{/z}}{{#m}}4{{/m}}]",
	     "{\"n\":null,\"s\":\"\",\"z\":0}", NULL, "[]"},
	    {"an object is pushed", "{{#o}}{{a}}{{/o}}", "{\"o\":{\"a\":\"in\"}}", NULL, "in"},
	    {"an empty object is truthy", "[{{#o}}y{{/o}}]", "{\"o\":{}}", NULL, "[y]"},
	    {"names missing in the object come from below", "{{#o}}{{a}}{{b}}{{/o}}",
	     "{\"b\":\"B\",\"o\":{\"a\":\"A\"}}", NULL, "AB"},
	    {"a list renders once per item", "{{#l}}{{n}},{{/l}}",
	     "{\"l\":[{\"n\":1},{\"n\":2},{\"n\":3}]}", NULL, "1,2,3,"},
	    {"an empty list renders nothing", "[{{#l}}x{{/l}}]", "{\"l\":[]}", NULL, "[]"},
	    {"lists of lists", "{{#l}}({{#.}}{{.}}{{/.}}){{/l}}", "{\"l\":[[1,2],[3]]}", NULL,
	     "(12)(3)"},
	    {"a string is pushed as the item", "{{#s}}<{{.}}>{{/s}}", "{\"s\":\"v\"}", NULL,
	     "<v>"},
	    {"nested sections", "{{#a}}1{{#b}}2{{#c}}3{{/c}}{{/b}}{{/a}}",
	     "{\"a\":true,\"b\":true,\"c\":true}", NULL, "123"},
	    {"a section of a dotted name", "{{#a.b}}{{c}}{{/a.b}}",
	     "{\"a\":{\"b\":{\"c\":\"C\"}}}", NULL, "C"},
	    {"a section of a broken chain is falsey", "[{{#a.x}}y{{/a.x}}]", "{\"a\":{}}", NULL,
	     "[]"},
	    {"standalone section lines go", "a\n  {{#t}}\nb\n  {{/t}}\nc\n", "{\"t\":true}", NULL,
	     "a\nb\nc\n"},
	    {"standalone with CR LF", "a\r\n{{#t}}\r\nb\r\n{{/t}}\r\n", "{\"t\":true}", NULL,
	     "a\r\nb\r\n"},
	    {"standalone at the start and end", "{{#t}}\nb\n{{/t}}", "{\"t\":true}", NULL,
	     "b\n"},
	    {"not standalone beside text", " x {{#t}}y{{/t}} z\n", "{\"t\":true}", NULL,
	     " x y z\n"},
	    {"two tags on a line are not standalone", "{{#t}}{{/t}}\n", "{\"t\":true}", NULL,
	     "\n"},
	    {"the same section twice", "{{#t}}a{{/t}}{{#t}}b{{/t}}", "{\"t\":true}", NULL, "ab"},
	    {"padding in section tags", "{{# t }}y{{/ t }}", "{\"t\":1}", NULL, "y"},
	};
	RUN(v);
}

static void test_inverted(void **state)
{
	(void)state;
	static const struct tcase v[] = {
	    {"falsey renders", "[{{^f}}y{{/f}}]", "{\"f\":false}", NULL, "[y]"},
	    {"a miss renders", "[{{^m}}y{{/m}}]", "{}", NULL, "[y]"},
	    {"an empty list renders", "[{{^l}}y{{/l}}]", "{\"l\":[]}", NULL, "[y]"},
	    {"truthy renders nothing", "[{{^t}}y{{/t}}]", "{\"t\":\"x\"}", NULL, "[]"},
	    {"a list renders nothing", "[{{^l}}y{{/l}}]", "{\"l\":[1]}", NULL, "[]"},
	    {"beside its section", "{{#t}}yes{{/t}}{{^t}}no{{/t}}", "{\"t\":false}", NULL, "no"},
	    {"standalone lines go", "a\n {{^f}}\nb\n {{/f}}\n", "{}", NULL, "a\nb\n"},
	};
	RUN(v);
}

static void test_partials(void **state)
{
	(void)state;
	static const struct tcase v[] = {
	    {"a partial is included", "[{{>p}}]", "{\"x\":\"X\"}", "{\"p\":\"<{{x}}>\"}",
	     "[<X>]"},
	    {"a missing partial is empty", "[{{>none}}]", "{}", "{}", "[]"},
	    {"it sees the context at the tag", "{{#o}}{{>p}}{{/o}}", "{\"o\":{\"x\":\"in\"}}",
	     "{\"p\":\"{{x}}\"}", "in"},
	    {"recursion that ends",
	     "{{>node}}", "{\"n\":\"1\",\"k\":[{\"n\":\"2\",\"k\":[]}]}",
	     "{\"node\":\"{{n}}({{#k}}{{>node}}{{/k}})\"}", "1(2())"},
	    {"a standalone partial's indentation goes before each line",
	     "a\n  {{>p}}\nb\n", "{\"v\":\"1\\n2\"}", "{\"p\":\"x\\n{{{v}}}\\ny\\n\"}",
	     "a\n  x\n  1\n2\n  y\nb\n"},
	    {"an inline partial gets no indentation", "a {{>p}} b", "{}", "{\"p\":\"x\\ny\"}",
	     "a x\ny b"},
	    {"the partial keeps the default delimiters", "{{=<% %>=}}<%>p%>", "{\"x\":\"X\"}",
	     "{\"p\":\"{{x}}<%x%>\"}", "X<%x%>"},
	    {"padding", "[{{> p }}]", "{}", "{\"p\":\"P\"}", "[P]"},
	};
	RUN(v);
}

static void test_comments(void **state)
{
	(void)state;
	static const struct tcase v[] = {
	    {"a comment is dropped", "a{{! note }}b", "{}", NULL, "ab"},
	    {"over several lines", "a{{!\nline\n}}b", "{}", NULL, "ab"},
	    {"a standalone comment line goes", "a\n  {{! c }}\nb\n", "{}", NULL, "a\nb\n"},
	    {"a standalone multi-line comment goes", "a\n{{!\nx\n}}\nb\n", "{}", NULL,
	     "a\nb\n"},
	    {"inline keeps the line", " x {{! c }}\n", "{}", NULL, " x \n"},
	    {"it may hold an opening delimiter", "{{! {{x }}.", "{\"x\":1}", NULL, "."},
	};
	RUN(v);
}

static void test_delimiters(void **state)
{
	(void)state;
	static const struct tcase v[] = {
	    {"new delimiters", "{{=<% %>=}}(<%x%>)", "{\"x\":\"X\"}", NULL, "(X)"},
	    {"the old ones are text then", "{{=| |=}}{{x}}|x|", "{\"x\":\"X\"}", NULL,
	     "{{x}}X"},
	    {"they hold for sections", "{{=| |=}}|#t|in|/t|", "{\"t\":1}", NULL, "in"},
	    {"and can be set back", "{{=| |=}}|x||={{ }}=|{{x}}", "{\"x\":\"X\"}", NULL, "XX"},
	    {"the triple form works with them", "{{=<% %>=}}<%{x}%>", "{\"x\":\"<\"}", NULL,
	     "<"},
	    {"a standalone set-delimiter line goes", "a\n  {{=| |=}}\nb|x|\n",
	     "{\"x\":\"X\"}", NULL, "a\nbX\n"},
	    {"padding", "{{= | | =}}|x|", "{\"x\":\"X\"}", NULL, "X"},
	};
	RUN(v);
}

/* ---- xenprov's own: errors, required names, bounds -------------------------------------- */

/* Renders tmpl (named "tmpl") over data expecting failure r, with the first
 * diagnostic's code, line, column (not checked when line is 0) and a piece of its
 * message. */
static void expect_fail(const char *tmpl, const char *data, int r, const char *code,
			unsigned line, unsigned col, const char *msg)
{
	json_t *j = json_loads(data, 0, NULL);
	assert_non_null(j);
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, "kept");
	struct xp_diags d = {0};
	static const char *const req[] = {"root-password-hash", NULL};
	struct xp_mustache_opts o = {.name = "tmpl", .required = req, .partial = load};
	assert_int_equal(xp_mustache_render(tmpl, strlen(tmpl), j, &o, &b, &d), r);
	assert_string_equal(xp_buf_str(&b), "kept"); /* output as it was */
	assert_true(d.n >= 1);
	assert_string_equal(d.v[0].code, code);
	if (line) {
		assert_string_equal(d.v[0].file, "tmpl");
		assert_int_equal(d.v[0].line, line);
		assert_int_equal(d.v[0].col, col);
	}
	if (!strstr(d.v[0].msg, msg))
		fail_msg("message '%s' lacks '%s'", d.v[0].msg, msg);
	xp_buf_release(&b);
	xp_diags_release(&d);
	json_decref(j);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	g_partials = NULL;
	expect_fail("a\nb {{x", "{}", -EBADMSG, "syntax", 2, 3, "not closed by '}}'");
	expect_fail("{{{x}}", "{}", -EBADMSG, "syntax", 1, 1, "not closed by '}}}'");
	expect_fail("{{#a}}\n{{/b}}", "{}", -EBADMSG, "syntax", 2, 1,
		    "'b' closes the section 'a' (opened at line 1)");
	expect_fail("x\n  {{#a}}y", "{}", -EBADMSG, "syntax", 2, 3, "'a' is not closed");
	expect_fail("{{/a}}", "{}", -EBADMSG, "syntax", 1, 1, "closes no open section");
	expect_fail("{{a b}}", "{}", -EBADMSG, "syntax", 1, 1, "holds no spaces");
	expect_fail("{{ }}", "{}", -EBADMSG, "syntax", 1, 1, "empty tag");
	expect_fail("{{=a=}}", "{}", -EBADMSG, "syntax", 1, 1, "two delimiters");
	expect_fail("{{=<% =%>=}}", "{}", -EBADMSG, "syntax", 1, 1, "two delimiters");
	/* after a multi-line comment, lines are still counted right */
	expect_fail("{{!\n\n}}\n{{#a}}", "{}", -EBADMSG, "syntax", 4, 1, "'a' is not closed");
}

static void test_required(void **state)
{
	(void)state;
	/* interpolating it unset is an error, in every form, naming the tag's place */
	expect_fail("x\n  pw {{root-password-hash}}", "{}", -ENODATA, "required", 2, 6,
		    "root-password-hash is not set");
	expect_fail("{{{root-password-hash}}}", "{\"root-password-hash\":null}", -ENODATA,
		    "required", 1, 1, "not set");
	expect_fail("{{&root-password-hash}}", "{\"root-password-hash\":\"\"}", -ENODATA,
		    "required", 1, 1, "not set");
	/* in a partial: its name and place */
	json_t *j = json_object();
	g_partials = json_pack("{s:s}", "pw", "\n{{root-password-hash}}");
	struct xp_buf b = XP_BUF_INIT;
	struct xp_diags d = {0};
	static const char *const req[] = {"root-password-hash", NULL};
	struct xp_mustache_opts o = {.name = "main", .required = req, .partial = load,
				     .required_hint = "set it"};
	assert_int_equal(xp_mustache_render("{{>pw}}", 7, j, &o, &b, &d), -ENODATA);
	assert_string_equal(d.v[0].file, "pw");
	assert_int_equal(d.v[0].line, 2);
	assert_string_equal(d.v[0].hint, "set it");
	xp_diags_release(&d);
	/* testing it in a section is allowed; set, it renders */
	const char *t = "{{#root-password-hash}}pw {{.}}{{/root-password-hash}}"
			"{{^root-password-hash}}locked{{/root-password-hash}}";
	assert_int_equal(xp_mustache_render(t, strlen(t), j, &o, &b, &d), 0);
	assert_string_equal(xp_buf_str(&b), "locked");
	json_object_set_new(j, "root-password-hash", json_string("$y$j9T$abc"));
	xp_buf_truncate(&b, 0);
	assert_int_equal(xp_mustache_render("{{root-password-hash}}", 22, j, &o, &b, &d), 0);
	assert_string_equal(xp_buf_str(&b), "$y$j9T$abc");
	xp_buf_release(&b);
	json_decref(j);
	json_decref(g_partials);
}

static void test_bounds(void **state)
{
	(void)state;
	/* a partial that includes itself without end */
	g_partials = json_pack("{s:s}", "loop", "x{{>loop}}");
	expect_fail("{{>loop}}", "{}", -ELOOP, "limit", 0, 0, "nested deeper than");
	json_decref(g_partials);
	/* lists multiplied: 100^4 visits */
	g_partials = NULL;
	json_t *l = json_array();
	for (int i = 0; i < 100; i++)
		json_array_append_new(l, json_integer(i));
	json_t *j = json_pack("{s:o}", "l", l);
	char *data = json_dumps(j, 0);
	expect_fail("{{#l}}{{#l}}{{#l}}{{#l}}{{/l}}{{/l}}{{/l}}{{/l}}", data, -E2BIG, "limit", 0,
		    0, "steps");
	free(data);
	/* the output bound */
	struct xp_buf b = XP_BUF_INIT;
	struct xp_diags d = {0};
	struct xp_mustache_opts o = {.max_output = 1000};
	const char *t = "{{#l}}0123456789abcdef{{/l}}";
	assert_int_equal(xp_mustache_render(t, strlen(t), j, &o, &b, &d), -EFBIG);
	assert_int_equal(b.len, 0);
	xp_diags_release(&d);
	/* the template bound */
	size_t big = XP_MUSTACHE_MAX_TEMPLATE + 1;
	char *huge = calloc(1, big + 1);
	memset(huge, 'x', big);
	assert_int_equal(xp_mustache_render(huge, big, j, &o, &b, &d), -EFBIG);
	assert_string_equal(d.v[0].code, "limit");
	free(huge);
	/* sections nested too deep */
	struct xp_buf deep = XP_BUF_INIT;
	for (int i = 0; i <= XP_MUSTACHE_MAX_DEPTH; i++)
		xp_buf_adds(&deep, "{{#l}}");
	xp_diags_release(&d);
	assert_int_equal(xp_mustache_render(deep.s, deep.len, j, &o, &b, &d), -ELOOP);
	xp_buf_release(&deep);
	xp_diags_release(&d);
	xp_buf_release(&b);
	json_decref(j);
}

static void test_check(void **state)
{
	(void)state;
	char **p;
	size_t n;
	struct xp_diags d = {0};
	const char *t = "{{>a}} {{#x}}{{> b }}{{/x}}{{>a}}";
	assert_int_equal(xp_mustache_check(t, strlen(t), "t", &p, &n, &d), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[0], "a");
	assert_string_equal(p[1], "b");
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	free(p);
	assert_int_equal(xp_mustache_check("{{#x}}", 6, "t", &p, &n, &d), -EBADMSG);
	assert_null(p);
	assert_int_equal(n, 0);
	xp_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interpolation), cmocka_unit_test(test_sections),
	    cmocka_unit_test(test_inverted),	  cmocka_unit_test(test_partials),
	    cmocka_unit_test(test_comments),	  cmocka_unit_test(test_delimiters),
	    cmocka_unit_test(test_syntax_errors), cmocka_unit_test(test_required),
	    cmocka_unit_test(test_bounds),	  cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
