/*
 * test-rsync-filter.c - rsync's exclude patterns matched by the library
 * (image/rsync-filter.c), by hand, rule by rule: anchoring, trailing '/', '*' within a
 * name, '**' across names, "***" for a directory and all below, '?', classes ('/' never
 * in one, '!' and '^', ranges, ']' and '-' as members, POSIX classes, "[:" without
 * ":]"), escapes (in a wildcard pattern and literal in a plain one), patterns with an
 * inner '/' matched at a name's start from the end, "**" first, leading dots, the "- "
 * prefix and what is refused ("+ ", "!", "- " alone, 4096 bytes), the empty pattern,
 * patterns rsync's match always fails on, xenprov's default exclusions; and the bound:
 * patterns that take exponential time by plain backtracking answer at once. The
 * answers follow rsync (tests/integration/rsync-filter.sh compares with the real one).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "testlib.h"

#include "image/rsync-filter.h"

/* a path and whether it is a directory, and what the pattern says of it */
struct want {
	const char *path;
	bool dir;
	bool excluded;
};

/* clang-format off */
#define F(p, x) {p, false, x}
#define D(p, x) {p, true, x}
/* clang-format on */

/* Each case: one pattern, paths with the answer rsync gives. */
struct pcase {
	const char *pattern;
	struct want w[12];
};

static const struct pcase cases[] = {
    /* plain names: the last name, at any depth, files and directories */
    {"foo",
     {F("/foo", 1), D("/foo", 1), F("/a/foo", 1), D("/a/b/foo", 1), F("/foo.deb", 0), F("/afoo", 0),
      F("/foo/x", 0)}},
    /* a trailing '/': directories only */
    {"foo/", {F("/foo", 0), D("/foo", 1), D("/a/foo", 1), F("/a/foo", 0)}},
    /* a leading '/': at the root only */
    {"/foo", {F("/foo", 1), D("/foo", 1), F("/a/foo", 0)}},
    {"/foo/", {F("/foo", 0), D("/foo", 1), D("/a/foo", 0)}},
    /* an inner '/': the path's last names, from a name's start */
    {"a/foo", {F("/a/foo", 1), F("/x/a/foo", 1), F("/xa/foo", 0), F("/a/foo/b", 0), F("/foo", 0)}},
    {"a/b/", {D("/a/b", 1), F("/a/b", 0), D("/x/a/b", 1), D("/a/b/c", 0)}},
    /* '*': within one name, leading dots included */
    {"*.deb", {F("/x.deb", 1), F("/a/b/.deb", 1), F("/a.deb/x", 0), F("/deb", 0)}},
    {"*", {F("/x", 1), F("/.hidden", 1), D("/d", 1)}},
    {".*", {F("/.hidden", 1), F("/a/.x", 1), F("/x.y", 0)}},
    {"/tmp/*",
     {D("/tmp", 0), F("/tmp/x", 1), D("/tmp/.X11", 1), F("/tmp/a/b", 0), F("/a/tmp/x", 0)}},
    {"/*/foo", {F("/a/foo", 1), F("/a/b/foo", 0), F("/foo", 0)}},
    {"a*b", {F("/ab", 1), F("/axxb", 1), F("/a/b", 0)}},
    {"a/*", {F("/a/x", 1), F("/z/a/x", 1), F("/a/x/y", 0), F("/ba/x", 0)}},
    /* '?': one byte but '/' */
    {"?", {F("/x", 1), F("/a/.", 1), F("/xy", 0)}},
    {"a?b", {F("/a.b", 1), F("/ab", 0), F("/a/b", 0)}},
    /* '**': across '/' */
    {"**/foo", {F("/foo", 1), F("/a/b/foo", 1), F("/afoo", 0)}},
    {"**foo", {F("/afoo", 1), F("/a/bfoo", 1), F("/foo", 1)}},
    {"d/**", {F("/d/x", 1), F("/d/x/y", 1), D("/d", 0), F("/z/d/x", 1), F("/zd/x", 0)}},
    {"/d/**", {F("/d/x/y", 1), D("/d", 0), F("/z/d/x", 0)}},
    {"d/**/foo", {F("/d/x/foo", 1), F("/d/foo", 0), F("/z/d/a/b/foo", 1)}},
    {"f**o", {F("/fo", 1), F("/f/a/o", 1), F("/a/f/o", 1)}},
    /* "***": the directory and all below */
    {"/d/***", {D("/d", 1), F("/d", 0), F("/d/x", 1), F("/d/x/y", 1), D("/a/d", 0)}},
    {"d/***", {D("/d", 1), D("/a/d", 1), F("/a/d/x", 1), D("/ad", 0)}},
    /* classes */
    {"a[1]", {F("/a1", 1), F("/a[1]", 0)}},
    {"[a-c]x", {F("/ax", 1), F("/cx", 1), F("/dx", 0), F("/-x", 0)}},
    {"[!a-c]x", {F("/dx", 1), F("/ax", 0), F("/a//x", 0)}},
    {"[^a-c]x", {F("/dx", 1), F("/bx", 0)}},
    {"[]]", {F("/]", 1), F("/x", 0)}},
    {"[]a]", {F("/]", 1), F("/a", 1), F("/b", 0)}},
    {"[!]]", {F("/]", 0), F("/x", 1)}},
    {"a[-]b", {F("/a-b", 1), F("/ab", 0)}},
    {"[a-]", {F("/a", 1), F("/-", 1), F("/b", 0)}},
    {"[z-a]", {F("/z", 1), F("/a", 0), F("/m", 0)}}, /* z, then an empty range */
    {"[\\]]", {F("/]", 1), F("/\\", 0)}},
    {"[a\\-c]", {F("/a", 1), F("/-", 1), F("/c", 1), F("/b", 0)}},
    {"x[/]y", {F("/x/y", 0), F("/z/x/y", 0)}},
    {"x[!a]y", {F("/xby", 1), F("/xay", 0), F("/b/xby", 1), F("/x/y", 0)}},
    {"**x[!a]y", {F("/x/y", 0), F("/a/x/y", 0), F("/a/xby", 1)}},
    {"*[!a]y", {F("/by", 1)}},
    {"[[:alpha:]]", {F("/a", 1), F("/Z", 1), F("/1", 0), F("/\xe9", 0)}},
    {"[[:digit:][:upper:]]x", {F("/1x", 1), F("/Ax", 1), F("/ax", 0)}},
    {"[![:alnum:]]", {F("/.", 1), F("/a", 0), F("/\xe9", 1)}},
    {"[[:punct:]]", {F("/.", 1), F("/_", 1), F("/a", 0), F("/ ", 0)}},
    {"[[:space:]]", {F("/ ", 1), F("/\t", 1), F("/a", 0)}},
    {"[[:alpha:]-z]", {F("/a", 1), F("/-", 1), F("/z", 1), F("/1", 0)}},
    {"[[:]x", {F("/[x", 1), F("/:x", 1), F("/x", 0)}},
    {"[[:a]x", {F("/[x", 1), F("/ax", 1), F("/:x", 1)}},
    /* rsync's match always fails on these */
    {"[[:foo:]]*", {F("/f", 0), F("/[", 0)}},
    {"a[", {F("/a[", 0), F("/a", 0)}},
    {"[]", {F("/[]", 0), F("/]", 0)}},
    {"x*\\", {F("/x\\", 0), F("/x", 0)}},
    /* escapes: in a wildcard pattern, and literal without a wildcard */
    {"a\\*b", {F("/a*b", 1), F("/axb", 0)}},
    {"a\\[1]", {F("/a[1]", 1), F("/a1", 0)}},
    {"x\\y", {F("/x\\y", 1), F("/xy", 0)}},
    {"\\f*", {F("/foo", 1), F("/\\foo", 0)}},
    {"\\foo", {F("/\\foo", 1), F("/foo", 0)}},
    /* the prefix --exclude takes, and text that only looks like one */
    {"- foo", {F("/foo", 1), F("/- foo", 0)}},
    {"- - foo", {F("/- foo", 1), F("/foo", 0)}},
    {"-foo", {F("/-foo", 1), F("/foo", 0)}},
    {"!foo", {F("/!foo", 1), F("/foo", 0)}},
    {"trail ", {F("/trail ", 1), F("/trail", 0)}},
    /* "/" alone: the empty name, never */
    {"/", {F("/x", 0), D("/x", 0)}},
    {"//", {D("/x", 0)}},
    /* xenprov's defaults */
    {"/var/cache/apt/archives/*.deb",
     {F("/var/cache/apt/archives/a.deb", 1), F("/var/cache/apt/archives/partial/b.deb", 0),
      F("/var/cache/apt/a.deb", 0)}},
    {"/etc/ssh/ssh_host_*",
     {F("/etc/ssh/ssh_host_rsa_key", 1), F("/etc/ssh/ssh_config", 0),
      F("/etc/ssh/x/ssh_host_a", 0)}},
    {"/lost+found", {D("/lost+found", 1), F("/a/lost+found", 0)}},
    {"/var/lib/dhcp/dhclient*.leases",
     {F("/var/lib/dhcp/dhclient.eth0.leases", 1), F("/var/lib/dhcp/dhclient.leases", 1),
      F("/var/lib/dhcp/dhclient.lease", 0)}},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		struct xp_rsync_filter *f = NULL;
		int rc = xp_rsync_filter_new(&c->pattern, 1, &f);
		if (rc != 0)
			fail_msg("pattern '%s': %d", c->pattern, rc);
		for (const struct want *w = c->w; w->path; w++) {
			bool got = xp_rsync_filter_excluded(f, w->path, w->dir);
			if (got != w->excluded)
				fail_msg("pattern '%s', %s '%s': %s, want %s", c->pattern,
					 w->dir ? "directory" : "file", w->path,
					 got ? "excluded" : "kept",
					 w->excluded ? "excluded" : "kept");
		}
		xp_rsync_filter_free(f);
	}
}

/* several patterns: any one excludes; the empty pattern is no rule */
static void test_several(void **state)
{
	(void)state;
	const char *p[] = {"/proc/*", "", "*.deb", "/etc/machine-id", "tmp/"};
	struct xp_rsync_filter *f = NULL;
	assert_int_equal(xp_rsync_filter_new(p, 5, &f), 0);
	assert_true(xp_rsync_filter_excluded(f, "/proc/1", true));
	assert_true(xp_rsync_filter_excluded(f, "/a/x.deb", false));
	assert_true(xp_rsync_filter_excluded(f, "/etc/machine-id", false));
	assert_true(xp_rsync_filter_excluded(f, "/var/tmp", true));
	assert_false(xp_rsync_filter_excluded(f, "/var/tmp", false));
	assert_false(xp_rsync_filter_excluded(f, "/proc", true));
	assert_false(xp_rsync_filter_excluded(f, "/etc/machine-id.old", false));
	/* the root, and a path without its leading '/', are never excluded */
	const char *all[] = {"*", "**"};
	xp_rsync_filter_free(f);
	assert_int_equal(xp_rsync_filter_new(all, 2, &f), 0);
	assert_false(xp_rsync_filter_excluded(f, "/", true));
	assert_false(xp_rsync_filter_excluded(f, "", true));
	assert_false(xp_rsync_filter_excluded(f, "x", false));
	assert_true(xp_rsync_filter_excluded(f, "/x", false));
	xp_rsync_filter_free(f);
	/* none, and only empty ones: nothing excluded */
	assert_int_equal(xp_rsync_filter_new(NULL, 0, &f), 0);
	assert_false(xp_rsync_filter_excluded(f, "/x", false));
	xp_rsync_filter_free(f);
	assert_int_equal(xp_rsync_filter_new(p + 1, 1, &f), 0);
	assert_false(xp_rsync_filter_excluded(f, "/x", false));
	xp_rsync_filter_free(f);
	xp_rsync_filter_free(NULL);
}

static void test_refused(void **state)
{
	(void)state;
	static char longp[4097];
	memset(longp, 'a', 4096);
	const char *refused[] = {"+ foo", "+ ", "!", "- ", longp};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct xp_rsync_filter *f = (struct xp_rsync_filter *)&f;
		const char *p[] = {"/proc/*", refused[i]};
		assert_int_equal(xp_rsync_filter_new(p, 2, &f), -ENOTSUP);
		assert_null(f);
	}
	/* 4095 bytes is a pattern */
	longp[4095] = '\0';
	const char *p = longp;
	struct xp_rsync_filter *f = NULL;
	assert_int_equal(xp_rsync_filter_new(&p, 1, &f), 0);
	char path[4097] = "/";
	memcpy(path + 1, longp, 4095);
	assert_true(xp_rsync_filter_excluded(f, path, false));
	xp_rsync_filter_free(f);
	/* "+" and "!" not followed as a prefix is: plain patterns */
	const char *plain[] = {"+foo", "!!", "-", "- !", "- + x"};
	assert_int_equal(xp_rsync_filter_new(plain, 5, &f), 0);
	assert_true(xp_rsync_filter_excluded(f, "/+foo", false));
	assert_true(xp_rsync_filter_excluded(f, "/!!", false));
	assert_true(xp_rsync_filter_excluded(f, "/-", false));
	assert_true(xp_rsync_filter_excluded(f, "/!", false));
	assert_true(xp_rsync_filter_excluded(f, "/+ x", false));
	assert_false(xp_rsync_filter_excluded(f, "/x", false));
	xp_rsync_filter_free(f);
	const char *nul[] = {"a", NULL};
	f = (struct xp_rsync_filter *)&f;
	assert_int_equal(xp_rsync_filter_new(nul, 2, &f), -EINVAL);
	assert_null(f);
	assert_int_equal(xp_rsync_filter_new(NULL, 1, &f), -EINVAL);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Patterns on which plain backtracking takes exponential time: each answers in far
 * less than the 10 s bound here (under a millisecond without sanitizers; plain
 * backtracking would need some 10^20 steps on the first). */
static void test_bound(void **state)
{
	(void)state;
	static char pat[4001], path[4002], deep[4002];
	size_t k = 0;
	for (int i = 0; i < 60; i++) {
		pat[k++] = '*';
		pat[k++] = 'a';
	}
	pat[k++] = '*';
	pat[k++] = 'b';
	pat[k] = '\0';
	path[0] = '/';
	memset(path + 1, 'a', 3999);
	/* the same with "**" and a path of many names */
	for (size_t i = 0; i < 4000; i++)
		deep[i] = i % 2 ? 'a' : '/';
	char pat2[400];
	k = 0;
	for (int i = 0; i < 60; i++) {
		memcpy(pat2 + k, "**a", 3);
		k += 3;
	}
	memcpy(pat2 + k, "**b", 4);
	char pat3[400];
	k = 0;
	for (int i = 0; i < 60; i++) {
		memcpy(pat3 + k, "*/", 2);
		k += 2;
	}
	memcpy(pat3 + k, "**b", 4);
	const char *p[] = {pat, pat2, pat3};
	for (size_t i = 0; i < 3; i++) {
		struct xp_rsync_filter *f = NULL;
		assert_int_equal(xp_rsync_filter_new(&p[i], 1, &f), 0);
		double t0 = now();
		assert_false(xp_rsync_filter_excluded(f, path, false));
		assert_false(xp_rsync_filter_excluded(f, deep, false));
		deep[3999] = 'b';
		bool deep_b = xp_rsync_filter_excluded(f, deep, false);
		deep[3999] = 'a';
		double dt = now() - t0;
		/* "*a*a...*b" is one name's worth: a path of many names is not one */
		assert_int_equal(deep_b, i != 0);
		if (dt > 10.0)
			fail_msg("pattern %zu took %.1f s", i, dt);
		xp_rsync_filter_free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_several),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
