/*
 * test-profile-io.c - unit tests for profile export and import (inventory/profile-io.c,
 * xenprov/profile-io.h): the one parents-first order (generations, ties in input order,
 * parents outside the set, loops, duplicates, a long chain), the export's order and
 * secrets, a round trip into a fresh inventory, withheld secrets kept by a replace,
 * every refusal writing nothing, and the diagnostics' codes and texts.
 *
 * Real inventories in a scratch directory under XP_TEST_TMP.
 */
#include <errno.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"

#include "xenprov/profile-io.h"

#define N(a)  (sizeof(a) / sizeof((a)[0]))
#define HASH  "$6$saltsalt$0123456789abcdef"
#define HASH2 "$6$othersalt$fedcba9876543210"

XP_TEST_SCRATCH("profile-io")

/* The inventory in tmpdir/SUB (made on first use). */
static struct xp_inv *inv_at(const char *sub)
{
	return xp_test_inv_open(tpath(sub));
}

/* A profile to add: name, parent, and up to two settings (key, value; NULL: none). */
struct seed {
	const char *name, *parent;
	const char *kv[8];
};

/* Adds the profiles of v[0..n) in that order; asserts each is added. */
static void seed(struct xp_inv *inv, const struct seed *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct xp_profile p = {.name = (char *)v[i].name, .parent = (char *)v[i].parent};
		for (size_t k = 0; k < 8 && v[i].kv[k]; k += 2)
			assert_int_equal(xp_settings_set(&p.set, v[i].kv[k], v[i].kv[k + 1]), 0);
		assert_int_equal(xp_profile_add(inv, &p), 0);
		xp_settings_release(&p.set);
	}
}

/* The inventory's profile names, joined by spaces, into buf. */
static const char *names_in(struct xp_inv *inv, char *buf, size_t len)
{
	char **v;
	size_t n;
	assert_int_equal(xp_profile_list(inv, &v, &n), 0);
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", v[i]);
	xp_strv_free(v, n);
	return buf;
}

/* The "name" members of a JSON array, joined by spaces, into buf. */
static const char *names_of(const json_t *a, char *buf, size_t len)
{
	buf[0] = 0;
	for (size_t i = 0; i < json_array_size(a); i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "",
			 json_string_value(json_object_get(json_array_get(a, i), "name")));
	return buf;
}

/* The diagnostics' codes, joined by spaces, into buf. */
static const char *codes_of(const struct xp_diags *d, char *buf, size_t len)
{
	buf[0] = 0;
	for (size_t i = 0; i < d->n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "",
			 d->v[i].code ? d->v[i].code : "-");
	return buf;
}

/* The set's names in order, joined by spaces, into buf. */
static const char *names_set(const struct xp_profile_set *s, char *buf, size_t len)
{
	buf[0] = 0;
	for (size_t i = 0; i < s->n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "", s->v[i].name);
	return buf;
}

static int read_doc(const char *text, struct xp_profile_set *s, struct xp_diags *d)
{
	return xp_profile_import_read(text, strlen(text), "doc.json", s, d);
}

/* Exports everything (with secrets) as the command prints it. Heap string. */
static char *export_text(struct xp_inv *inv)
{
	struct xp_diags d = {0};
	json_t *a = NULL;
	assert_int_equal(xp_profile_export(inv, NULL, 0, true, &a, &d), 0);
	assert_int_equal(d.n, 0);
	char *s = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(s);
	json_decref(a);
	return s;
}

/* ---- the order ----------------------------------------------------------------------- */

#define P(n, p)                                                                                    \
	{                                                                                          \
		.name = (char *)(n), .parent = (char *)(p)                                         \
	}

static void test_order_generations(void **st)
{
	(void)st;
	/* sorted by name, as the inventory lists them; "c"'s parent is not among them */
	struct xp_profile v[] = {P("a", "m"), P("b", NULL), P("c", "elsewhere"),
				 P("m", "z"), P("x", "b"),  P("z", NULL)};
	size_t order[N(v)];
	struct xp_diags d = {0};
	assert_int_equal(xp_profile_order(v, N(v), NULL, order, &d), 0);
	assert_int_equal(d.n, 0);
	/* depth 0: b c z, 1: m x, 2: a; each generation in v's order */
	static const size_t want[] = {1, 2, 5, 3, 4, 0};
	for (size_t i = 0; i < N(v); i++)
		assert_int_equal(order[i], want[i]);

	/* ties keep v's order, whatever it is: a document's order */
	struct xp_profile w[] = {P("kid", "root"), P("zz", NULL), P("root", NULL), P("aa", NULL)};
	size_t o2[N(w)];
	assert_int_equal(xp_profile_order(w, N(w), NULL, o2, &d), 0);
	static const size_t want2[] = {1, 2, 3, 0};
	for (size_t i = 0; i < N(w); i++)
		assert_int_equal(o2[i], want2[i]);
	assert_int_equal(xp_profile_order(NULL, 0, NULL, NULL, &d), 0);
	xp_diags_release(&d);
}

static void test_order_loops(void **st)
{
	(void)st;
	size_t order[8];
	struct xp_diags d = {0};
	/* "c" leads into the loop a <-> b and comes first: it is the one named */
	struct xp_profile v[] = {P("d", NULL), P("c", "a"), P("a", "b"), P("b", "a")};
	assert_int_equal(xp_profile_order(v, N(v), "f.json", order, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_ERROR);
	assert_string_equal(d.v[0].code, "cycle");
	assert_string_equal(d.v[0].file, "f.json");
	assert_string_equal(d.v[0].msg, "'f.json': profile 'c': its parent chain is a cycle");
	xp_diags_release(&d);

	struct xp_profile self[] = {P("ok", NULL), P("e", "e")};
	assert_int_equal(xp_profile_order(self, N(self), NULL, order, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "profile 'e': its parent chain is a cycle");
	assert_null(d.v[0].file);
	xp_diags_release(&d);

	/* a name twice: said once per extra copy, and the chains are not looked at */
	struct xp_profile dup[] = {P("a", NULL), P("b", "a"), P("a", "a"), P("a", "b")};
	assert_int_equal(xp_profile_order(dup, N(dup), "f.json", order, &d), -EINVAL);
	char codes[200];
	assert_string_equal(codes_of(&d, codes, sizeof(codes)), "duplicate duplicate");
	assert_string_equal(d.v[0].msg, "'f.json': profile 'a' appears more than once");
	xp_diags_release(&d);
}

/* A chain of 100,000 given children first: ordered, in time and without deep recursion. */
static void test_order_long_chain(void **st)
{
	(void)st;
	enum { LEN = 100000 };
	struct xp_profile *v = calloc(LEN, sizeof(*v));
	size_t *order = calloc(LEN, sizeof(*order));
	assert_non_null(v);
	assert_non_null(order);
	for (size_t i = 0; i < LEN; i++) {
		/* v[i] is generation LEN - 1 - i */
		assert_true(asprintf(&v[i].name, "p%zu", LEN - 1 - i) > 0);
		if (i + 1 < LEN)
			assert_true(asprintf(&v[i].parent, "p%zu", LEN - 2 - i) > 0);
	}
	struct xp_diags d = {0};
	assert_int_equal(xp_profile_order(v, LEN, NULL, order, &d), 0);
	for (size_t i = 0; i < LEN; i++)
		assert_int_equal(order[i], LEN - 1 - i);
	/* closed into a loop at the top: found */
	assert_true(asprintf(&v[LEN - 1].parent, "p%d", LEN - 1) > 0);
	assert_int_equal(xp_profile_order(v, LEN, NULL, order, &d), -EINVAL);
	assert_string_equal(d.v[0].code, "cycle");
	xp_diags_release(&d);
	for (size_t i = 0; i < LEN; i++)
		xp_profile_release(&v[i]);
	free(v);
	free(order);
}

/* A profile with a secret value, one without. */
static const struct seed secret[] = {
    {"sec", NULL, {"memory", "512", "root-password-hash", HASH, "write", "/etc/k:s3cret"}},
    {"bare", NULL, {"memory", "512"}},
};

/* The inventory in tmpdir/SUB with the profiles of secret added. */
static struct xp_inv *inv_with_secrets(const char *sub)
{
	struct xp_inv *inv = inv_at(sub);
	seed(inv, secret, N(secret));
	return inv;
}

/* ---- export -------------------------------------------------------------------------- */

/* Profiles added in an order that is neither by name nor by generation. */
static void add_family(struct xp_inv *inv)
{
	static const struct seed family[] = {
	    {"zeta", NULL, {"vcpus", "2", "timezone", "Europe/Paris", "copy-in", "/srv/a:/opt:1:2"}},
	    {"base", NULL, {"memory", "1024", "root-password-hash", HASH}},
	    {"web", "base", {"vcpus", "4"}},
	    {"web01", "web", {"memory", "4096", "firstboot-command", "apt-get update\ntouch /x",
			      "write", "/etc/motd:hi\\nthere \\\\ \\xff\xc3\xa9"}},
	    {"alpha", "zeta", {NULL}},
	    {"mid", "base", {"config.on_crash", "\"restart\""}},
	};
	seed(inv, family, N(family));
}

static void test_export_order(void **st)
{
	(void)st;
	struct xp_inv *inv = inv_at("export");
	add_family(inv);
	struct xp_diags d = {0};
	json_t *a = NULL;
	char buf[400];
	assert_int_equal(xp_profile_export(inv, NULL, 0, false, &a, &d), 0);
	assert_string_equal(names_of(a, buf, sizeof(buf)), "base zeta alpha mid web web01");
	json_decref(a);

	/* a subset keeps the order of the whole: zeta (a root) before web01 (depth 2),
	 * though web01 sorts first */
	const char *some[] = {"web01", "zeta"};
	assert_int_equal(xp_profile_export(inv, some, N(some), false, &a, &d), 0);
	assert_string_equal(names_of(a, buf, sizeof(buf)), "zeta web01");
	json_decref(a);

	const char *bad[] = {"web", "nosuch", "other"};
	a = (json_t *)1;
	assert_int_equal(xp_profile_export(inv, bad, N(bad), false, &a, &d), -ENOENT);
	assert_null(a);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "no-profile");
	assert_string_equal(d.v[0].msg, "no profile 'nosuch'");
	xp_diags_release(&d);

	/* an empty inventory: an empty array */
	struct xp_inv *empty = inv_at("export-empty");
	assert_int_equal(xp_profile_export(empty, NULL, 0, false, &a, &d), 0);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	xp_inv_close(empty);
	xp_inv_close(inv);
}

static void test_export_secrets(void **st)
{
	(void)st;
	struct xp_inv *inv = inv_with_secrets("secrets");
	struct xp_diags d = {0};
	json_t *a = NULL;
	const char *sec[] = {"sec"};
	assert_int_equal(xp_profile_export(inv, sec, 1, false, &a, &d), 0);
	json_t *p = json_array_get(a, 0);
	assert_null(json_object_get(json_object_get(p, "settings"), "root-password-hash"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p, "settings"), "memory")), "512");
	json_t *wh = json_object_get(p, "withheld");
	assert_int_equal(json_array_size(wh), 2);
	assert_string_equal(json_string_value(json_array_get(wh, 0)), "root-password-hash");
	assert_string_equal(json_string_value(json_array_get(wh, 1)), "write");
	char *text = json_dumps(a, 0);
	assert_null(strstr(text, HASH));
	assert_null(strstr(text, "s3cret"));
	free(text);
	json_decref(a);

	assert_int_equal(xp_profile_export(inv, sec, 1, true, &a, &d), 0);
	p = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "settings"),
							      "root-password-hash")),
			    HASH);
	assert_null(json_object_get(p, "withheld"));
	json_decref(a);
	assert_int_equal(d.n, 0);
	xp_inv_close(inv);
}

/* ---- import -------------------------------------------------------------------------- */

/* export -> import into a fresh inventory -> export: the same bytes; also when the
 * document lists children before their parents. */
static void test_round_trip(void **st)
{
	(void)st;
	struct xp_inv *a = inv_at("rt-a"), *b = inv_at("rt-b"), *c = inv_at("rt-c");
	add_family(a);
	char *text = export_text(a);

	struct xp_profile_set s;
	struct xp_diags d = {0};
	size_t added = 9, replaced = 9;
	assert_int_equal(read_doc(text, &s, &d), 0);
	assert_string_equal(s.file, "doc.json");
	assert_int_equal(xp_profile_import(b, &s, 0, &added, &replaced, &d), 0);
	assert_int_equal(added, 6);
	assert_int_equal(replaced, 0);
	assert_int_equal(d.n, 0);
	xp_profile_set_release(&s);
	char *again = export_text(b);
	assert_string_equal(again, text);
	free(again);

	/* reversed: the set is put parents first, each generation in the document's order */
	json_t *doc = json_loads(text, 0, NULL), *rev = json_array();
	for (size_t i = json_array_size(doc); i-- > 0;)
		json_array_append(rev, json_array_get(doc, i));
	char *rtext = json_dumps(rev, 0), buf[400];
	assert_int_equal(read_doc(rtext, &s, &d), 0);
	assert_string_equal(names_set(&s, buf, sizeof(buf)), "zeta base web mid alpha web01");
	assert_int_equal(xp_profile_import(c, &s, 0, &added, &replaced, &d), 0);
	xp_profile_set_release(&s);
	again = export_text(c);
	assert_string_equal(again, text);
	free(again);
	free(rtext);
	json_decref(rev);
	json_decref(doc);

	free(text);
	xp_inv_close(a);
	xp_inv_close(b);
	xp_inv_close(c);
}

static void test_replace_keeps_withheld(void **st)
{
	(void)st;
	struct xp_inv *inv = inv_with_secrets("withheld");
	/* what an export without --secrets of another server says of them */
	const char *doc = "[{\"name\": \"sec\", \"settings\": {\"memory\": 1024},"
			  "  \"withheld\": [\"root-password-hash\"]},"
			  " {\"name\": \"bare\", \"withheld\": [\"config.vncpasswd\"]}]";
	struct xp_profile_set s;
	struct xp_diags d = {0};
	size_t added, replaced;
	assert_int_equal(read_doc(doc, &s, &d), 0);
	assert_int_equal(s.withheld[0].n, 1);
	assert_string_equal(s.withheld[0].v[0].key, "root-password-hash");

	/* without REPLACE: refused, nothing changed */
	assert_int_equal(xp_profile_import(inv, &s, 0, &added, &replaced, &d), -EEXIST);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "exists");
	assert_string_equal(d.v[0].msg, "profile 'sec' exists (use --replace)");
	xp_diags_release(&d);

	assert_int_equal(xp_profile_import(inv, &s, XP_IMPORT_REPLACE, &added, &replaced, &d), 0);
	assert_int_equal(added, 0);
	assert_int_equal(replaced, 2);
	/* the hash is kept; bare had no VNC password of its own: said */
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	assert_string_equal(d.v[0].code, "withheld");
	assert_string_equal(d.v[0].msg,
			    "profile 'bare': config.vncpasswd was withheld from the export "
			    "('profile export --secrets' carries it); it is not set");
	xp_diags_release(&d);
	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, "sec", &p), 0);
	assert_string_equal(xp_settings_get(&p.set, "root-password-hash"), HASH);
	assert_string_equal(xp_settings_get(&p.set, "memory"), "1024");
	xp_profile_release(&p);
	assert_int_equal(xp_profile_get(inv, "bare", &p), 0);
	assert_int_equal(p.set.n, 0); /* replaced: its memory went */
	xp_profile_release(&p);

	/* into a fresh inventory: made, without the hash, and said */
	struct xp_inv *fresh = inv_at("withheld-fresh");
	assert_int_equal(xp_profile_import(fresh, &s, 0, &added, &replaced, &d), 0);
	assert_int_equal(added, 2);
	char codes[200];
	assert_string_equal(codes_of(&d, codes, sizeof(codes)), "withheld withheld");
	assert_string_equal(d.v[0].msg,
			    "profile 'sec': root-password-hash was withheld from the export "
			    "('profile export --secrets' carries it); it is not set");
	xp_diags_release(&d);
	assert_int_equal(xp_profile_get(fresh, "sec", &p), 0);
	assert_null(xp_settings_get(&p.set, "root-password-hash"));
	xp_profile_release(&p);
	xp_profile_set_release(&s);

	/* a document that carries the secret (export --secrets) replaces it */
	doc = "[{\"name\": \"sec\", \"settings\": {\"root-password-hash\": \"" HASH2 "\"}}]";
	assert_int_equal(read_doc(doc, &s, &d), 0);
	assert_int_equal(xp_profile_import(inv, &s, XP_IMPORT_REPLACE, &added, &replaced, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(xp_profile_get(inv, "sec", &p), 0);
	assert_string_equal(xp_settings_get(&p.set, "root-password-hash"), HASH2);
	xp_profile_release(&p);
	xp_profile_set_release(&s);
	xp_inv_close(fresh);
	xp_inv_close(inv);
}

/* Every refusal of the write leaves the inventory as it was. */
static void test_import_refusals(void **st)
{
	(void)st;
	struct xp_inv *inv = inv_at("refusals");
	static const struct seed kin[] = {
	    {"keep", NULL, {"memory", "512"}},
	    {"child", "keep", {NULL}},
	};
	seed(inv, kin, N(kin));
	struct xp_profile_set s;
	struct xp_diags d = {0};
	size_t added, replaced;
	char buf[400];

	/* a parent nowhere: the profiles before it are undone too */
	assert_int_equal(
	    read_doc("[{\"name\": \"a\"}, {\"name\": \"b\", \"parent\": \"zz\"}]", &s, &d), 0);
	assert_int_equal(xp_profile_import(inv, &s, XP_IMPORT_REPLACE, &added, &replaced, &d),
			 -ENOENT);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "parent");
	assert_string_equal(d.v[0].msg,
			    "profile 'b': no profile 'zz' (the parent), here or in 'doc.json'");
	assert_string_equal(names_in(inv, buf, sizeof(buf)), "child keep");
	xp_diags_release(&d);
	xp_profile_set_release(&s);

	/* a parent in the inventory is fine; one that exists stops it all */
	assert_int_equal(
	    read_doc("[{\"name\": \"new\", \"parent\": \"keep\"}, {\"name\": \"keep\"}]", &s, &d),
	    0);
	assert_int_equal(xp_profile_import(inv, &s, 0, &added, &replaced, &d), -EEXIST);
	assert_string_equal(d.v[0].code, "exists");
	assert_string_equal(names_in(inv, buf, sizeof(buf)), "child keep");
	xp_diags_release(&d);
	xp_profile_set_release(&s);

	/* a loop through the inventory's profiles */
	assert_int_equal(read_doc("[{\"name\": \"keep\", \"parent\": \"child\"}]", &s, &d), 0);
	assert_int_equal(xp_profile_import(inv, &s, XP_IMPORT_REPLACE, &added, &replaced, &d),
			 -ELOOP);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "parent");
	assert_non_null(strstr(d.v[0].msg, "profile 'keep': 'child' cannot be its parent: "));
	xp_diags_release(&d);
	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, "keep", &p), 0);
	assert_null(p.parent);
	assert_string_equal(xp_settings_get(&p.set, "memory"), "512");
	xp_profile_release(&p);
	xp_profile_set_release(&s);

	/* the inventory failing: a transaction of the caller's already doomed */
	assert_int_equal(read_doc("[{\"name\": \"other\"}]", &s, &d), 0);
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(xp_inv_begin(inv), 0);
	xp_inv_rollback(inv);
	assert_int_equal(xp_profile_import(inv, &s, 0, &added, &replaced, &d), -ECANCELED);
	xp_inv_rollback(inv);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "store");
	assert_non_null(strstr(d.v[0].msg, "cannot import into '"));
	assert_string_equal(names_in(inv, buf, sizeof(buf)), "child keep");
	xp_diags_release(&d);
	xp_profile_set_release(&s);
	xp_inv_close(inv);
}

/* Reading: every problem of the document, its code and text; a refused document leaves
 * an empty set (and no inventory is involved). */
static void test_read_errors(void **st)
{
	(void)st;
	struct xp_profile_set s;
	struct xp_diags d = {0};
	char codes[400];

	assert_int_equal(read_doc("[{\"name\": \"a\", \"colour\": \"blue\", \"settings\": "
				  "{\"vcpus\": true, \"nosuch\": \"1\"}}, 7]",
				  &s, &d),
			 -EINVAL);
	assert_int_equal(s.n, 0);
	assert_null(s.v);
	assert_string_equal(codes_of(&d, codes, sizeof(codes)), "member vcpus nosuch member");
	assert_string_equal(d.v[0].msg, "'doc.json': item 1: unknown member 'colour' (name, "
					"parent, settings, withheld)");
	assert_string_equal(d.v[1].msg, "'doc.json': profile 'a': vcpus: not a string");
	assert_string_equal(d.v[3].msg, "'doc.json': item 2: not an object");
	assert_string_equal(d.v[0].file, "doc.json");
	xp_diags_release(&d);

	/* a bad value: the check's message, code and hint, the value as text */
	assert_int_equal(read_doc("[{\"name\": \"solo\", \"settings\": {\"memory\": \"8\", "
				  "\"fs\": \"xfs\"}}]",
				  &s, &d),
			 -EINVAL);
	assert_string_equal(codes_of(&d, codes, sizeof(codes)), "memory fs");
	assert_string_equal(d.v[0].msg,
			    "'doc.json': profile 'solo': memory: between 16 MiB and 16 TiB");
	assert_string_equal(d.v[0].text, "8");
	assert_string_equal(d.v[1].text, "xfs");
	assert_non_null(d.v[1].hint);
	xp_diags_release(&d);

	/* a secret's bad value is never quoted */
	assert_int_equal(read_doc("[{\"name\": \"s\", \"settings\": {\"config.vncpasswd\": "
				  "\"[hunter2\"}}]",
				  &s, &d),
			 -EINVAL);
	assert_int_equal(d.n, 1);
	assert_null(d.v[0].text);
	assert_null(strstr(d.v[0].msg, "hunter2"));
	xp_diags_release(&d);

	/* names and parents */
	assert_int_equal(read_doc("[{\"settings\": {}}, {\"name\": \"bad/name\"}, "
				  "{\"name\": \"p\", \"parent\": 5}, {\"name\": \"q\", "
				  "\"settings\": []}]",
				  &s, &d),
			 -EINVAL);
	assert_string_equal(codes_of(&d, codes, sizeof(codes)), "member name member member");
	assert_string_equal(d.v[0].msg, "'doc.json': item 1: \"name\" missing or not a string");
	assert_string_equal(d.v[1].msg, "'doc.json': item 2: 'bad/name' is not a valid profile "
					"name");
	assert_string_equal(d.v[2].msg, "'doc.json': profile 'p': \"parent\" is not a profile "
					"name");
	assert_string_equal(d.v[3].msg, "'doc.json': profile 'q': \"settings\" is not an object");
	xp_diags_release(&d);

	/* withheld */
	assert_int_equal(
	    read_doc("[{\"name\": \"a\", \"withheld\": \"root-password-hash\"},"
		     " {\"name\": \"b\", \"withheld\": [\"memory\", 3]},"
		     " {\"name\": \"c\", \"settings\": {\"root-password-hash\": \"" HASH "\"},"
		     "  \"withheld\": [\"root-password-hash\"]}]",
		     &s, &d),
	    -EINVAL);
	assert_string_equal(codes_of(&d, codes, sizeof(codes)),
			    "withheld withheld withheld withheld");
	assert_string_equal(d.v[0].msg,
			    "'doc.json': profile 'a': \"withheld\" is not an array of secret keys");
	assert_string_equal(d.v[1].msg,
			    "'doc.json': profile 'b': \"withheld\": 'memory' is not a secret key");
	assert_string_equal(
	    d.v[2].msg, "'doc.json': profile 'b': \"withheld\": an element is not a secret key");
	assert_string_equal(d.v[3].msg,
			    "'doc.json': profile 'c': root-password-hash is both set and withheld");
	xp_diags_release(&d);

	/* the order's own: a name twice, a loop (also beside other errors) */
	assert_int_equal(read_doc("[{\"name\": \"a\"}, {\"name\": \"a\"}]", &s, &d), -EINVAL);
	assert_string_equal(codes_of(&d, codes, sizeof(codes)), "duplicate");
	xp_diags_release(&d);
	assert_int_equal(read_doc("[{\"name\": \"a\", \"parent\": \"b\", \"settings\": "
				  "{\"memory\": \"8\"}}, {\"name\": \"b\", \"parent\": \"a\"}]",
				  &s, &d),
			 -EINVAL);
	assert_string_equal(codes_of(&d, codes, sizeof(codes)), "memory cycle");
	assert_string_equal(d.v[1].msg, "'doc.json': profile 'a': its parent chain is a cycle");
	xp_diags_release(&d);

	/* not JSON, not an array: one message, -EBADMSG */
	assert_int_equal(read_doc("[{\"name\":\n \"a\",", &s, &d), -EBADMSG);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "json");
	assert_int_equal(d.v[0].line, 2);
	assert_true(d.v[0].col > 0);
	assert_non_null(strstr(d.v[0].msg, "'doc.json' is not valid JSON: "));
	xp_diags_release(&d);
	assert_int_equal(read_doc("[{\"name\": \"a\", \"name\": \"b\"}]", &s, &d), -EBADMSG);
	assert_string_equal(d.v[0].code, "json");
	xp_diags_release(&d);
	assert_int_equal(read_doc("{\"name\": \"a\"}", &s, &d), -EBADMSG);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "document");
	assert_string_equal(d.v[0].msg, "'doc.json': expected an array of profiles (as "
					"'xenprov profile export' writes)");
	xp_diags_release(&d);
	assert_int_equal(s.n, 0);
}

/* What a good document becomes: values normalised (numbers as their text), in order. */
static void test_read_values(void **st)
{
	(void)st;
	struct xp_profile_set s;
	struct xp_diags d = {0};
	char buf[200];
	assert_int_equal(read_doc("[{\"name\": \"kid\", \"parent\": \"mid\", \"settings\": "
				  "{\"memory\": 1024, \"disk-size\": \"4G\"}},"
				  " {\"name\": \"mid\", \"parent\": \"root\"},"
				  " {\"name\": \"other\", \"parent\": \"outside\"},"
				  " {\"name\": \"root\", \"parent\": null, \"settings\": {}}]",
				  &s, &d),
			 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(names_set(&s, buf, sizeof(buf)), "other root mid kid");
	assert_string_equal(s.v[3].parent, "mid");
	assert_string_equal(xp_settings_get(&s.v[3].set, "memory"), "1024");
	assert_string_equal(xp_settings_get(&s.v[3].set, "disk-size"), "4294967296");
	assert_null(s.v[1].parent);
	assert_int_equal(s.withheld[3].n, 0);
	xp_profile_set_release(&s);
	assert_int_equal(read_doc("[]", &s, &d), 0);
	assert_int_equal(s.n, 0);
	xp_profile_set_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_generations),
	    cmocka_unit_test(test_order_loops),
	    cmocka_unit_test(test_order_long_chain),
	    xp_test_in_scratch(test_export_order),
	    xp_test_in_scratch(test_export_secrets),
	    xp_test_in_scratch(test_round_trip),
	    xp_test_in_scratch(test_replace_keeps_withheld),
	    xp_test_in_scratch(test_import_refusals),
	    cmocka_unit_test(test_read_errors),
	    cmocka_unit_test(test_read_values),
	};
	return xp_test_run_backends(tests, NULL);
}
