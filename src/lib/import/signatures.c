/*
 * signatures.c - what tells one distribution tree from another: signatures read from a
 * JSON file at run time (data/signatures.json, installed under DATADIR/xenprov), so a
 * new distribution is a few lines of data and no rebuild. Cobbler keeps its
 * distro_signatures.json for the same reason; ours describes trees by the files they
 * hold rather than by the names of their packages, because a netboot tree has no
 * packages and the kernel's place is what import needs anyway.
 *
 * The schema (xenprov-import(1), SIGNATURES): {"xenprov-signatures": 1, "signatures":
 * [...]}, each signature with a name, a family, the architectures it knows and the
 * token "{arch}" stands for in its paths, what the tree must have ("require": paths,
 * regular expressions over a file's text, keys of an INI file such as .treeinfo), the
 * kernel and initrd pairs to take (the first whose files exist; "xen" marks the one for
 * Xen PV guests), where the version, codename and label are read, and the kernel
 * options a distro of it boots with ($tree, $iso). Every error of the file is reported
 * with where it is ("signatures[2].boot[0].kernel"), unknown members too (with a
 * "did you mean"), since a misspelt key would otherwise silently match more trees.
 * Regular expressions are POSIX extended ones (regcomp(3), REG_NEWLINE: ^ and $ match
 * at each line), compiled for every architecture when the file is read.
 *
 * Not here: reading trees (tree.c), doing the import (import.c).
 */
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import/import-internal.h"
#include "util/ctype.h"

#define FORMAT_KEY     "xenprov-signatures"
#define FORMAT_VERSION 1
#define VALUE_MAX      200 /* longest version, codename or label kept */

static const char *const known_arches[] = {"x86_64", "i386", "aarch64", NULL};

/* A condition, a place or a value, by where it looks. */
enum loc_kind { LOC_PATH, LOC_REGEX, LOC_INI };

struct loc {
	enum loc_kind kind;
	char *file;    /* a path template: the path itself, or the file read */
	char *regex;   /* LOC_REGEX, a template too */
	char *section; /* LOC_INI, a template */
	char *key;     /* LOC_INI */
};

struct pair {
	struct loc kernel, initrd;
	bool has_initrd, xen;
};

struct locs {
	struct loc *v;
	size_t n;
};

struct sig {
	char *name, *family, *summary, *kernel_options;
	char **arch, **token; /* narch each */
	size_t narch;
	struct locs require, version, codename, label;
	struct pair *boot;
	size_t nboot;
};

struct xp_sigs {
	struct sig *v;
	size_t n;
};

static void loc_release(struct loc *l)
{
	free(l->file);
	free(l->regex);
	free(l->section);
	free(l->key);
}

static void locs_release(struct locs *l)
{
	for (size_t i = 0; i < l->n; i++)
		loc_release(&l->v[i]);
	free(l->v);
}

static void sig_release(struct sig *s)
{
	free(s->name);
	free(s->family);
	free(s->summary);
	free(s->kernel_options);
	for (size_t i = 0; i < s->narch; i++) {
		free(s->arch[i]);
		free(s->token[i]);
	}
	free(s->arch);
	free(s->token);
	locs_release(&s->require);
	locs_release(&s->version);
	locs_release(&s->codename);
	locs_release(&s->label);
	for (size_t i = 0; i < s->nboot; i++) {
		loc_release(&s->boot[i].kernel);
		loc_release(&s->boot[i].initrd);
	}
	free(s->boot);
}

void xp__sigs_free(struct xp_sigs *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		sig_release(&s->v[i]);
	free(s->v);
	free(s);
}

size_t xp__sigs_count(const struct xp_sigs *s)
{
	return s->n;
}

const char *xp__sigs_name(const struct xp_sigs *s, size_t i)
{
	return i < s->n ? s->v[i].name : NULL;
}

void xp__found_release(struct xp_found *f)
{
	free(f->signature);
	free(f->family);
	free(f->summary);
	free(f->arch);
	free(f->version);
	free(f->codename);
	free(f->label);
	free(f->kernel);
	free(f->initrd);
	free(f->kernel_options);
	memset(f, 0, sizeof(*f));
}

/* ---- templates --------------------------------------------------------------------- */

/* tmpl with each "{arch}" replaced by token. A heap string or NULL. */
static char *subst(const char *tmpl, const char *token)
{
	struct xp_buf b = XP_BUF_INIT;
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "{arch}", 6) == 0) {
			xp_buf_adds(&b, token);
			p += 6;
		} else {
			xp_buf_addc(&b, *p++);
		}
	}
	return xp_buf_steal(&b);
}

/* ---- reading the file -------------------------------------------------------------------- */

struct reader {
	const char *file;
	struct xp_diags *d;
	int err; /* -EBADMSG once anything was wrong */
};

static void bad(struct reader *rd, const char *where, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void bad(struct reader *rd, const char *where, const char *hint, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xp_diags_add(rd->d, XP_SEV_ERROR, rd->file, 0, 0, "signatures", NULL, hint, "%s: %s", where,
		     msg);
	rd->err = -EBADMSG;
}

/* Refuses members of o not in allowed (NULL-terminated), with a suggestion. */
static void only(struct reader *rd, const char *where, json_t *o, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		const char *best = NULL;
		unsigned bestd = 3;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++) {
			ok = strcmp(*a, k) == 0;
			unsigned dist = xp_edit_distance(k, *a, 2);
			if (dist < bestd) {
				bestd = dist;
				best = *a;
			}
		}
		if (ok)
			continue;
		char hint[96];
		if (best)
			snprintf(hint, sizeof(hint), "did you mean '%s'?", best);
		bad(rd, where, best ? hint : NULL, "unknown member '%s'", k);
	}
}

/* No control characters. */
static bool one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool word_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (i && (c == '-' || c == '_' || c == '.'))))
			return false;
	}
	return true;
}

/* A path template: relative, no "..", no control characters, "{arch}" the only brace. */
static bool template_ok(const char *s, bool path)
{
	if (!*s || (path && s[0] == '/'))
		return false;
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
		if (*p == '{') {
			if (strncmp(p, "{arch}", 6) != 0)
				return false;
			p += 5;
		} else if (*p == '}') {
			return false;
		}
	}
	if (path)
		for (const char *p = s; *p;) {
			size_t k = strcspn(p, "/");
			if (k == 2 && p[0] == '.' && p[1] == '.')
				return false;
			p += k + (p[k] == '/');
		}
	return true;
}

/* A string member: NULL when absent (required: an error then). */
static char *str_member(struct reader *rd, const char *where, json_t *o, const char *key,
			bool required)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		if (required)
			bad(rd, where, NULL, "'%s' is required", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		bad(rd, where, NULL, "'%s' must be a string", key);
		return NULL;
	}
	char *s = strdup(json_string_value(v));
	if (!s)
		rd->err = -ENOMEM;
	return s;
}

/* Checks that tmpl compiles as a regular expression for every token of sig. */
static void regex_check(struct reader *rd, const char *where, const struct sig *s, const char *tmpl)
{
	for (size_t i = 0; i < (s->narch ? s->narch : 1); i++) {
		char *re = subst(tmpl, s->narch ? s->token[i] : "");
		regex_t rx;
		int rc = re ? regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE) : REG_ESPACE;
		if (rc == 0) {
			regfree(&rx);
		} else {
			char msg[128];
			regerror(rc, NULL, msg, sizeof(msg));
			bad(rd, where, "POSIX extended regular expressions (regex(7))",
			    "bad regular expression '%s': %s", tmpl, msg);
			free(re);
			return;
		}
		free(re);
	}
}

/* One location. what: "cond" (a condition: path, regex or ini), "place" (path or ini),
 * "value" (regex or ini). */
static void read_loc(struct reader *rd, const char *where, const struct sig *s, json_t *v,
		     const char *what, struct loc *out)
{
	memset(out, 0, sizeof(*out));
	bool cond = !strcmp(what, "cond"), place = !strcmp(what, "place");
	if (json_is_string(v) && (cond || place)) {
		out->kind = LOC_PATH;
		out->file = strdup(json_string_value(v));
		if (!out->file)
			rd->err = -ENOMEM;
		else if (!template_ok(out->file, true))
			bad(rd, where,
			    "a relative path in the tree; {arch} stands for the "
			    "architecture's token",
			    "'%s' is not a path template", out->file);
		return;
	}
	const char *expect =
	    cond    ? "a path, {\"file\", \"regex\"} or {\"ini\", \"section\", \"key\"}"
	    : place ? "a path or {\"ini\", \"section\", \"key\"}"
		    : "{\"file\", \"regex\"} or {\"ini\", \"section\", \"key\"}";
	if (!json_is_object(v)) {
		bad(rd, where, NULL, "expected %s", expect);
		return;
	}
	if (json_object_get(v, "ini")) {
		static const char *const allowed[] = {"ini", "section", "key", NULL};
		only(rd, where, v, allowed);
		out->kind = LOC_INI;
		out->file = str_member(rd, where, v, "ini", true);
		out->section = str_member(rd, where, v, "section", true);
		out->key = str_member(rd, where, v, "key", true);
		if (out->file && !template_ok(out->file, true))
			bad(rd, where, NULL, "'%s' is not a path template", out->file);
		if (out->section && !template_ok(out->section, false))
			bad(rd, where, NULL, "'%s' is not a section name", out->section);
		if (out->key && !word_ok(out->key, 64))
			bad(rd, where, NULL, "'%s' is not a key", out->key);
	} else if (json_object_get(v, "file") && !place) {
		static const char *const allowed[] = {"file", "regex", NULL};
		only(rd, where, v, allowed);
		out->kind = LOC_REGEX;
		out->file = str_member(rd, where, v, "file", true);
		out->regex = str_member(rd, where, v, "regex", true);
		if (out->file && !template_ok(out->file, true))
			bad(rd, where, NULL, "'%s' is not a path template", out->file);
		if (out->regex)
			regex_check(rd, where, s, out->regex);
	} else {
		bad(rd, where, NULL, "expected %s", expect);
	}
}

/* The array member key of o, with room for its elements (size bytes each) allocated
 * into *room: NULL when it is absent (an error if required), not an array, or empty
 * where required. */
static json_t *array_member(struct reader *rd, const char *where, json_t *o, const char *key,
			    bool required, size_t size, void *room)
{
	json_t *a = json_object_get(o, key);
	if (!a) {
		if (required)
			bad(rd, where, NULL, "'%s' is required", key);
		return NULL;
	}
	if (!json_is_array(a) || (required && json_array_size(a) == 0)) {
		bad(rd, where, NULL, "'%s' must be a%s array", key, required ? " non-empty" : "n");
		return NULL;
	}
	void *v = calloc(json_array_size(a) + 1, size);
	if (!v)
		rd->err = -ENOMEM;
	*(void **)room = v;
	return v ? a : NULL;
}

/* An array of locations (key of o); required: non-empty. */
static void read_locs(struct reader *rd, const char *where, const struct sig *s, json_t *o,
		      const char *key, const char *what, bool required, struct locs *out)
{
	json_t *a = array_member(rd, where, o, key, required, sizeof(*out->v), &out->v);
	if (!a)
		return;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		char w[160];
		snprintf(w, sizeof(w), "%s.%s[%zu]", where, key, i);
		read_loc(rd, w, s, v, what, &out->v[out->n++]);
	}
}

static void read_arches(struct reader *rd, const char *where, json_t *o, struct sig *s)
{
	json_t *a = json_object_get(o, "arches");
	if (!a || !json_is_object(a) || json_object_size(a) == 0) {
		bad(rd, where,
		    "e.g. {\"x86_64\": \"amd64\"}: xenprov's name, then the token "
		    "{arch} stands for",
		    "'arches' must be a non-empty object");
		return;
	}
	size_t n = json_object_size(a);
	s->arch = calloc(n, sizeof(*s->arch));
	s->token = calloc(n, sizeof(*s->token));
	if (!s->arch || !s->token) {
		rd->err = -ENOMEM;
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach(a, k, v)
	{
		bool known = false;
		for (const char *const *x = known_arches; *x; x++)
			known |= strcmp(*x, k) == 0;
		if (!known)
			bad(rd, where, "x86_64, i386 or aarch64",
			    "'arches': unknown architecture '%s'", k);
		if (!json_is_string(v) || !word_ok(json_string_value(v), 32)) {
			bad(rd, where, NULL, "'arches': the token of '%s' must be a word", k);
			continue;
		}
		s->arch[s->narch] = strdup(k);
		s->token[s->narch] = strdup(json_string_value(v));
		if (!s->arch[s->narch] || !s->token[s->narch])
			rd->err = -ENOMEM;
		s->narch++;
	}
}

static void read_boot(struct reader *rd, const char *where, json_t *o, struct sig *s)
{
	json_t *a = array_member(rd, where, o, "boot", true, sizeof(*s->boot), &s->boot);
	if (!a)
		return;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		char w[160];
		snprintf(w, sizeof(w), "%s.boot[%zu]", where, i);
		struct pair *p = &s->boot[s->nboot++];
		if (!json_is_object(v)) {
			bad(rd, w, NULL, "expected {\"kernel\", \"initrd\", \"xen\"}");
			continue;
		}
		static const char *const allowed[] = {"kernel", "initrd", "xen", NULL};
		only(rd, w, v, allowed);
		char wk[176];
		snprintf(wk, sizeof(wk), "%s.kernel", w);
		json_t *k = json_object_get(v, "kernel");
		if (!k)
			bad(rd, w, NULL, "'kernel' is required");
		else
			read_loc(rd, wk, s, k, "place", &p->kernel);
		json_t *ir = json_object_get(v, "initrd");
		if (ir && !json_is_null(ir)) {
			snprintf(wk, sizeof(wk), "%s.initrd", w);
			read_loc(rd, wk, s, ir, "place", &p->initrd);
			p->has_initrd = true;
		}
		json_t *x = json_object_get(v, "xen");
		if (x && !json_is_boolean(x))
			bad(rd, w, NULL, "'xen' must be true or false");
		p->xen = json_is_true(x);
	}
}

static void read_sig(struct reader *rd, size_t i, json_t *o, struct sig *s)
{
	char where[128];
	snprintf(where, sizeof(where), "signatures[%zu]", i);
	if (!json_is_object(o)) {
		bad(rd, where, NULL, "expected an object");
		return;
	}
	static const char *const allowed[] = {"name",	 "family",	   "summary", "arches",
					      "require", "boot",	   "version", "codename",
					      "label",	 "kernel_options", NULL};
	s->name = str_member(rd, where, o, "name", true);
	if (s->name && !word_ok(s->name, 64))
		bad(rd, where, "letters, digits, '-', '_', '.'", "'%s' is not a signature name",
		    s->name);
	if (s->name) /* later messages name it */
		snprintf(where, sizeof(where), "signatures[%zu] (%.64s)", i, s->name);
	only(rd, where, o, allowed);
	s->family = str_member(rd, where, o, "family", true);
	if (s->family && !word_ok(s->family, 32))
		bad(rd, where, NULL, "'%s' is not a family name", s->family);
	s->summary = str_member(rd, where, o, "summary", false);
	s->kernel_options = str_member(rd, where, o, "kernel_options", false);
	if (s->summary && !one_line(s->summary))
		bad(rd, where, NULL, "'summary' must be one line");
	if (s->kernel_options && !one_line(s->kernel_options))
		bad(rd, where, NULL, "'kernel_options' must be one line");
	read_arches(rd, where, o, s);
	read_locs(rd, where, s, o, "require", "cond", true, &s->require);
	read_boot(rd, where, o, s);
	read_locs(rd, where, s, o, "version", "value", false, &s->version);
	read_locs(rd, where, s, o, "codename", "value", false, &s->codename);
	read_locs(rd, where, s, o, "label", "value", false, &s->label);
}

int xp__sigs_parse(const char *name, const char *text, size_t len, struct xp_sigs **ret,
		   struct xp_diags *d)
{
	*ret = NULL;
	struct reader rd = {name, d, 0};
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		xp_diags_add(d, XP_SEV_ERROR, name, je.line > 0 ? (unsigned)je.line : 0,
			     je.column > 0 ? (unsigned)je.column : 0, "json", NULL, NULL,
			     "not JSON: %s", je.text);
		return -EBADMSG;
	}
	struct xp_sigs *s = calloc(1, sizeof(*s));
	if (!s) {
		json_decref(root);
		return -ENOMEM;
	}
	json_t *ver = json_is_object(root) ? json_object_get(root, FORMAT_KEY) : NULL;
	json_t *arr = json_is_object(root) ? json_object_get(root, "signatures") : NULL;
	if (!json_is_object(root)) {
		bad(&rd, "the document", NULL, "expected an object");
	} else if (!json_is_integer(ver) || json_integer_value(ver) != FORMAT_VERSION) {
		bad(&rd, "the document", "the first member: \"" FORMAT_KEY "\": 1",
		    ver ? "'" FORMAT_KEY "' is not a version this xenprov reads (1)"
			: "'" FORMAT_KEY "' is missing: not a signature file");
	} else if (!json_is_array(arr)) {
		bad(&rd, "the document", NULL, "'signatures' must be an array");
	} else {
		static const char *const allowed[] = {FORMAT_KEY, "signatures", "comment", NULL};
		only(&rd, "the document", root, allowed);
		s->v = calloc(json_array_size(arr) + 1, sizeof(*s->v));
		if (!s->v)
			rd.err = -ENOMEM;
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v)
		{
			if (!s->v)
				break;
			read_sig(&rd, i, v, &s->v[s->n++]);
			for (size_t j = 0; j + 1 < s->n && s->v[i].name; j++)
				if (s->v[j].name && strcmp(s->v[j].name, s->v[i].name) == 0) {
					char w[64];
					snprintf(w, sizeof(w), "signatures[%zu]", i);
					bad(&rd, w, NULL,
					    "the name '%s' is taken by signatures[%zu]",
					    s->v[i].name, j);
				}
		}
	}
	json_decref(root);
	if (rd.err < 0) {
		xp__sigs_free(s);
		return rd.err;
	}
	*ret = s;
	return 0;
}

int xp__sigs_load(const char *path, struct xp_sigs **ret, struct xp_diags *d)
{
	*ret = NULL;
	char *text;
	size_t len;
	int r = xp_read_file(path, 4u << 20, &text, &len);
	if (r < 0)
		return xp_diags_fail(
		    d, r, NULL, "signatures",
		    r == -ENOENT ? "give --signatures FILE, or set XENPROV_DATA_DIR" : NULL,
		    "cannot read the signature file '%s': %s", path, strerror(-r));
	r = xp__sigs_parse(path, text, len, ret, d);
	free(text);
	return r;
}

/* ---- INI files (.treeinfo) ------------------------------------------------------------ */

char *xp__ini_get(const char *text, const char *section, const char *key)
{
	bool in = false;
	char *val = NULL;
	size_t slen = strlen(section), klen = strlen(key);
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *s = p, *e = p + n;
		p = *e ? e + 1 : e;
		while (s < e && xp__isspace(*s))
			s++;
		while (e > s && xp__isspace(e[-1]))
			e--;
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			const char *c = memchr(s, ']', (size_t)(e - s));
			in = c && (size_t)(c - s - 1) == slen && memcmp(s + 1, section, slen) == 0;
			continue;
		}
		if (!in)
			continue;
		size_t kn = strcspn(s, "=:");
		if (s + kn >= e)
			continue;
		const char *ke = s + kn, *v = ke + 1;
		while (ke > s && xp__isspace(ke[-1]))
			ke--;
		while (v < e && xp__isspace(*v))
			v++;
		/* Python's configparser, which writes .treeinfo, lower-cases keys */
		if ((size_t)(ke - s) == klen && strncasecmp(s, key, klen) == 0) {
			free(val);
			val = strndup(v, (size_t)(e - v));
			if (!val)
				return NULL;
		}
	}
	return val;
}

/* ---- matching ----------------------------------------------------------------------- */

/* The files a detection read, kept so that each is read once. */
struct text {
	char *path, *data; /* data NULL: not a readable regular file */
};
struct ctx {
	const struct xp_tree *t;
	struct text *v;
	size_t n, cap;
};

static const char *text_of(struct ctx *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].path, path) == 0)
			return c->v[i].data;
	if (xp_grow(&c->v, &c->cap, c->n, sizeof(*c->v), 8) < 0)
		return NULL;
	struct text *t = &c->v[c->n];
	if (!(t->path = strdup(path)))
		return NULL;
	size_t len;
	if (xp__tree_read(c->t, path, XP_TREE_TEXT_MAX, &t->data, &len) < 0 ||
	    memchr(t->data, '\0', len)) { /* text only */
		free(t->data);
		t->data = NULL;
	}
	c->n++;
	return t->data;
}

static void ctx_release(struct ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].data);
	}
	free(c->v);
}

/* One line, trimmed, at most VALUE_MAX bytes; NULL if nothing is left. */
static char *clean(const char *s, size_t n)
{
	while (n && xp__isspace(*s))
		s++, n--;
	size_t k = strcspn(s, "\r\n");
	if (k < n)
		n = k;
	while (n && xp__isspace(s[n - 1]))
		n--;
	if (n > VALUE_MAX)
		n = VALUE_MAX;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	return n ? strndup(s, n) : NULL;
}

/* What loc reads for token: a heap string (the INI value; the regular expression's
 * first group, or its whole match without one), or NULL. For a LOC_PATH, the path. */
static char *read_value(struct ctx *c, const struct loc *l, const char *token)
{
	char *file = subst(l->file, token), *out = NULL;
	if (!file)
		return NULL;
	if (l->kind == LOC_PATH) {
		return file;
	}
	const char *text = text_of(c, file);
	if (text && l->kind == LOC_INI) {
		char *sec = subst(l->section, token);
		char *v = sec ? xp__ini_get(text, sec, l->key) : NULL;
		out = v ? clean(v, strlen(v)) : NULL;
		free(v);
		free(sec);
	} else if (text) {
		char *re = subst(l->regex, token);
		regex_t rx;
		regmatch_t m[2];
		if (re && regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE) == 0) {
			if (regexec(&rx, text, 2, m, 0) == 0) {
				int g = rx.re_nsub >= 1 && m[1].rm_so >= 0 ? 1 : 0;
				out = clean(text + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
				if (!out && m[g].rm_eo >= m[g].rm_so)
					out = strdup(""); /* matched, empty: still a match */
			}
			regfree(&rx);
		}
		free(re);
	}
	free(file);
	return out;
}

/* Whether the condition holds for token. */
static bool holds(struct ctx *c, const struct loc *l, const char *token)
{
	char *v = read_value(c, l, token);
	bool ok = v != NULL;
	if (ok && l->kind == LOC_PATH)
		ok = xp__tree_find(c->t, v) != NULL;
	else if (ok && l->kind == LOC_INI)
		ok = *v != '\0';
	free(v);
	return ok;
}

/* The path of a regular file in the tree that a place gives, or NULL. */
static char *place(struct ctx *c, const struct loc *l, const char *token)
{
	char *v = read_value(c, l, token);
	if (!v)
		return NULL;
	char *p = v;
	while (*p == '/') /* .treeinfo's paths are relative to the tree */
		p++;
	const struct tree_entry *e = *p ? xp__tree_find(c->t, p) : NULL;
	char *out = e && e->type == TREE_REG ? strdup(p) : NULL;
	free(v);
	return out;
}

/* The first value the list gives, or NULL. */
static char *first_value(struct ctx *c, const struct locs *l, const char *token)
{
	for (size_t i = 0; i < l->n; i++) {
		char *v = read_value(c, &l->v[i], token);
		if (v && *v)
			return v;
		free(v);
	}
	return NULL;
}

/* Whether signature s matches the tree for architecture i: its pair in *pair. */
static bool match_arch(struct ctx *c, const struct sig *s, size_t i, bool generic, size_t *pair,
		       char **kernel, char **initrd)
{
	const char *tok = s->token[i];
	for (size_t k = 0; k < s->require.n; k++)
		if (!holds(c, &s->require.v[k], tok))
			return false;
	for (size_t k = 0; k < s->nboot; k++) {
		const struct pair *p = &s->boot[k];
		if (generic && p->xen)
			continue;
		char *kp = place(c, &p->kernel, tok);
		char *ip = kp && p->has_initrd ? place(c, &p->initrd, tok) : NULL;
		if (kp && (!p->has_initrd || ip)) {
			*pair = k;
			*kernel = kp;
			*initrd = ip;
			return true;
		}
		free(kp);
		free(ip);
	}
	return false;
}

/* Signature s against the tree: 1 and out filled, 0 no match, -EMLINK several
 * architectures match (names in *several). */
static int match_sig(struct ctx *c, const struct sig *s, const char *arch, bool generic,
		     struct xp_found *out, struct xp_buf *several)
{
	size_t hit = SIZE_MAX, pair = 0, hits = 0;
	char *kernel = NULL, *initrd = NULL;
	for (size_t i = 0; i < s->narch; i++) {
		if (arch && strcmp(arch, s->arch[i]) != 0)
			continue;
		size_t p;
		char *k, *ir;
		if (!match_arch(c, s, i, generic, &p, &k, &ir))
			continue;
		xp_buf_addf(several, "%s%s", hits ? ", " : "", s->arch[i]);
		if (hits++ == 0) {
			hit = i;
			pair = p;
			kernel = k;
			initrd = ir;
		} else {
			free(k);
			free(ir);
		}
	}
	if (hits == 0)
		return 0;
	if (hits > 1) {
		free(kernel);
		free(initrd);
		return -EMLINK;
	}
	const char *tok = s->token[hit];
	out->signature = strdup(s->name);
	out->family = strdup(s->family);
	out->summary = s->summary ? strdup(s->summary) : NULL;
	out->arch = strdup(s->arch[hit]);
	out->version = first_value(c, &s->version, tok);
	out->codename = first_value(c, &s->codename, tok);
	out->label = first_value(c, &s->label, tok);
	out->kernel = kernel;
	out->initrd = initrd;
	out->xen = s->boot[pair].xen;
	out->kernel_options =
	    s->kernel_options && *s->kernel_options ? strdup(s->kernel_options) : NULL;
	if (!out->signature || !out->family || !out->arch || (s->summary && !out->summary)) {
		xp__found_release(out);
		return -ENOMEM;
	}
	return 1;
}

int xp__sigs_detect(const struct xp_sigs *s, const struct xp_tree *t, const char *arch,
		    bool generic, struct xp_found *out, struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	struct ctx c = {.t = t};
	int r = 0;
	for (size_t i = 0; i < s->n && r == 0; i++) {
		struct xp_buf several = XP_BUF_INIT;
		r = match_sig(&c, &s->v[i], arch, generic, out, &several);
		if (r == -EMLINK)
			xp_diags_fail(d, r, NULL, "several-arches", "give --arch with one of them",
				      "'%s' is a %s tree for several architectures: %s", t->path,
				      s->v[i].name, xp_buf_str(&several));
		xp_buf_release(&several);
	}
	if (r == 0 && arch) { /* would it match for another architecture? */
		for (size_t i = 0; i < s->n && r == 0; i++) {
			struct xp_buf other = XP_BUF_INIT;
			struct xp_found f = {0};
			int k = match_sig(&c, &s->v[i], NULL, generic, &f, &other);
			if (k != 0)
				r = xp_diags_fail(d, -ENOENT, NULL, "wrong-arch", NULL,
						  "'%s' is a %s tree, but not for %s (it has %s)",
						  t->path, s->v[i].name, arch, xp_buf_str(&other));
			xp__found_release(&f);
			xp_buf_release(&other);
		}
	}
	if (r == 0) {
		struct xp_buf names = XP_BUF_INIT;
		for (size_t i = 0; i < s->n; i++)
			xp_buf_addf(&names, "%s%s", i ? ", " : "", s->v[i].name);
		char hint[512];
		snprintf(hint, sizeof(hint),
			 "signatures tried: %.400s; a new one is a few lines in the signature "
			 "file (xenprov-import(1), SIGNATURES)",
			 s->n ? xp_buf_str(&names) : "none");
		r = xp_diags_fail(
		    d, -ENOENT, NULL, "unknown-tree", hint,
		    "no signature matches '%s': not a distribution tree xenprov knows", t->path);
		xp_buf_release(&names);
	}
	if (r == 1)
		r = 0;
	ctx_release(&c);
	return r < 0 ? r : 0;
}
