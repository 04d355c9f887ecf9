/*
 * rsync-filter.c - rsync's exclude patterns matched without rsync (rsync-filter.h): a
 * copier of local trees asks, entry by entry, whether `rsync --exclude=P ...` would
 * leave it out.
 *
 * The facts followed are rsync's (3.x; read in exclude.c and lib/wildmatch.c, and
 * checked against the real rsync by tests/integration/rsync-filter.sh); the code is
 * our own. Three layers, as rsync has them:
 *  - the option (exclude.c parse_rule_tok with XFLG_OLD_PREFIXES, what --exclude
 *    passes): "- " and "+ " prefixes, "!" alone clears the list, any other text is the
 *    pattern, byte for byte (trailing blanks kept);
 *  - the rule (add_rule): a trailing '/' (when the pattern is longer than one byte) is
 *    removed and makes it directories only; the flags are read from the TEXT of what is
 *    left, as rsync reads them: a wildcard pattern has one of "*[?" (an escaped one
 *    counts), "**" anywhere marks it as crossing '/', "**" first lets it match at the
 *    start ("/" is put before the path), "***" last lets a directory match with a
 *    "/" after its path (so "dir/" + "***" is dir and all below it); the number of
 *    '/' in the text decides what is matched against (rule_matches): none and no "**"
 *    the last name, else the path; a leading '/' anchors at the root; an unanchored
 *    pattern with a '/' and no "**" is matched against as many trailing names as it
 *    has; one with "**" (not first) at the start or after any '/';
 *  - the wildcard match (wildmatch.c dowild): '*' any run without '/', two or more '*'
 *    any run, '?' one byte but '/', '\' the next byte literally, '[' a class, which
 *    never matches '/' even negated. A class that is not closed, a '[:name:]' that
 *    rsync does not know or a '\' at the pattern's end make rsync's match fail
 *    wherever they are reached, so the rule can never match: it is kept as such.
 *
 * Why a matcher of our own and not fnmatch(3): fnmatch has no "**", matches '/' with a
 * class under FNM_PATHNAME only in some cases, treats a leading dot specially with
 * FNM_PERIOD and has no bound (backtracking over many '*' is exponential in the
 * pattern). Here the pattern is compiled once into tokens and matched by backtracking
 * with rsync's two abort rules, which make it polynomial (see wild()).
 *
 * The POSIX classes are those of the C locale; rsync classifies by its LC_CTYPE, which
 * in the C and UTF-8 locales puts no byte above 0x7f in any class, as here.
 *
 * Not here: the walk, copying, include rules and merge files (refused: the caller
 * runs rsync).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/rsync-filter.h"

/* rsync's MAXPATHLEN on Linux: a longer pattern is discarded with an error. */
#define PATTERN_MAX 4096

enum tok_kind {
	T_LIT,	 /* one byte, c */
	T_ANY,	 /* '?': one byte but '/' */
	T_CLASS, /* '[...]': one byte of classes[cls] */
	T_STAR,	 /* '*': any run of bytes but '/' */
	T_STAR2, /* two or more '*': any run of bytes */
};

struct tok {
	uint8_t kind;
	uint8_t c;
	uint16_t cls;
};

struct byteset {
	uint64_t bits[4];
};

enum rule_mode {
	M_NEVER,   /* a wildcard pattern rsync's match always fails on */
	M_LITERAL, /* no wildcard: compared as text */
	M_WILD,	   /* tokens */
};

struct rule {
	enum rule_mode mode;
	bool dir_only;	   /* a trailing '/' */
	bool anchored;	   /* a leading '/' (removed from text) */
	bool last_name;	   /* no '/' and no "**": matched against the last name */
	bool wild2_prefix; /* the text began with "**": "/" put before the path */
	bool wild3_suffix; /* the text ended with "***": a directory gets a "/" after */
	/* wildcard match: 0 at the start only; -1 at the start or after any '/'; N > 0
	 * against the last N names (wildmatch_array's "where") */
	int where;
	char *text; /* M_LITERAL: the pattern, its leading '/' removed */
	size_t text_len;
	struct tok *toks; /* M_WILD */
	size_t ntoks;
	struct byteset *classes;
};

struct xp_rsync_filter {
	struct rule *rules;
	size_t n;
};

/* ---- compiling ------------------------------------------------------------------ */

static void set_byte(struct byteset *s, unsigned char c)
{
	s->bits[c >> 6] |= UINT64_C(1) << (c & 63);
}

static bool has_byte(const struct byteset *s, unsigned char c)
{
	return s->bits[c >> 6] >> (c & 63) & 1;
}

/* The POSIX class name[0..len) into s as the C locale has it; false for a name rsync's
 * wildmatch does not know (its match then fails). */
static bool posix_class(const char *name, size_t len, struct byteset *s)
{
	static const char *const names[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
					    "lower", "print", "punct", "space", "upper", "xdigit"};
	size_t k;
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (strlen(names[k]) == len && memcmp(names[k], name, len) == 0)
			break;
	}
	if (k == sizeof(names) / sizeof(names[0]))
		return false;
	for (unsigned c = 1; c < 0x80; c++) {
		bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
		bool digit = c >= '0' && c <= '9', alpha = upper || lower;
		bool graph = c > ' ' && c < 0x7f;
		bool in;
		switch (k) {
		case 0:
			in = alpha || digit;
			break;
		case 1:
			in = alpha;
			break;
		case 2:
			in = c == ' ' || c == '\t';
			break;
		case 3:
			in = c < ' ' || c == 0x7f;
			break;
		case 4:
			in = digit;
			break;
		case 5:
			in = graph;
			break;
		case 6:
			in = lower;
			break;
		case 7:
			in = graph || c == ' ';
			break;
		case 8:
			in = graph && !alpha && !digit;
			break;
		case 9:
			in = c == ' ' || (c >= '\t' && c <= '\r');
			break;
		case 10:
			in = upper;
			break;
		default:
			in = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
			break;
		}
		if (in)
			set_byte(s, (unsigned char)c);
	}
	return true;
}

/* The class whose text starts after its '[' at *pp, into s, *pp left at its closing
 * ']'. false when rsync's match fails on reaching it: not closed, an unknown [:name:],
 * a '\' at the end. Element by element as wildmatch.c reads a class: a first '!' or '^'
 * negates; a ']' first (after the negation) is a member; "\c" is c; "a-z" a range when
 * the '-' follows a member that was a single byte and is not last (a range's end may
 * be escaped), else '-' is a member; "[:name:]" a POSIX class; "[:" without a ":]"
 * before the next ']' is a '[' member. '/' is never matched, negated or not. */
static bool parse_class(const char **pp, struct byteset *s)
{
	const unsigned char *p = (const unsigned char *)*pp;
	struct byteset m = {{0}};
	unsigned char c = *p, prev = 0;
	bool neg = c == '!' || c == '^';
	if (neg)
		c = *++p;
	do {
		if (!c)
			return false;
		if (c == '\\') {
			c = *++p;
			if (!c)
				return false;
			set_byte(&m, c);
		} else if (c == '-' && prev && p[1] && p[1] != ']') {
			c = *++p;
			if (c == '\\') {
				c = *++p;
				if (!c)
					return false;
			}
			for (unsigned b = prev; b <= c; b++)
				set_byte(&m, (unsigned char)b);
			c = 0; /* no range may follow a range */
		} else if (c == '[' && p[1] == ':') {
			const unsigned char *name = p + 2, *q = name;
			while (*q && *q != ']')
				q++;
			if (!*q)
				return false;
			if (q - name < 1 || q[-1] != ':') {
				set_byte(&m, '['); /* no ":]": a '[', read on after it */
			} else {
				if (!posix_class((const char *)name, (size_t)(q - name - 1), &m))
					return false;
				p = q;
				c = 0;
			}
		} else {
			set_byte(&m, c);
		}
		prev = c;
		c = *++p;
	} while (c != ']');
	for (int w = 0; w < 4; w++)
		s->bits[w] = neg ? ~m.bits[w] : m.bits[w];
	s->bits['/' >> 6] &= ~(UINT64_C(1) << ('/' & 63));
	s->bits[0] &= ~UINT64_C(1); /* NUL: never in a path */
	*pp = (const char *)p;
	return true;
}

/* Tokens of the wildcard pattern p[0..len) into r; r->mode M_NEVER when rsync's match
 * can never succeed on it. -ENOMEM. */
static int compile_wild(struct rule *r, const char *p, size_t len)
{
	const char *end = p + len;
	size_t nclass = 0;
	for (const char *q = p; q < end; q++)
		nclass += *q == '[';
	r->toks = calloc(len ? len : 1, sizeof(*r->toks));
	r->classes = nclass ? calloc(nclass, sizeof(*r->classes)) : NULL;
	if (!r->toks || (nclass && !r->classes))
		return -ENOMEM;
	size_t nt = 0, nc = 0;
	r->mode = M_WILD;
	for (; p < end; p++) {
		struct tok *t = &r->toks[nt++];
		switch (*p) {
		case '\\':
			if (p + 1 == end) { /* rsync compares with the NUL: never equal */
				r->mode = M_NEVER;
				return 0;
			}
			t->kind = T_LIT;
			t->c = (uint8_t) * ++p;
			break;
		case '?':
			t->kind = T_ANY;
			break;
		case '*':
			t->kind = T_STAR;
			while (p + 1 < end && p[1] == '*') {
				t->kind = T_STAR2;
				p++;
			}
			break;
		case '[':
			p++;
			if (!parse_class(&p, &r->classes[nc])) {
				r->mode = M_NEVER;
				return 0;
			}
			t->kind = T_CLASS;
			t->cls = (uint16_t)nc++;
			break;
		default:
			t->kind = T_LIT;
			t->c = (uint8_t)*p;
			break;
		}
	}
	r->ntoks = nt;
	return 0;
}

/* Pattern s as --exclude takes it into r; 1 when it adds no rule (empty), 0, -ENOTSUP,
 * -ENOMEM. */
static int compile_rule(const char *s, struct rule *r)
{
	if (!*s)
		return 1; /* parse_rule_tok: no rule in an empty string */
	if (s[0] == '+' && s[1] == ' ')
		return -ENOTSUP; /* an include */
	if (s[0] == '-' && s[1] == ' ')
		s += 2;
	else if (s[0] == '!' && !s[1])
		return -ENOTSUP; /* clears the list; "!x" is the pattern "!x" */
	size_t len = strlen(s);
	if (!len || len >= PATTERN_MAX)
		return -ENOTSUP; /* "- " alone is rsync's syntax error; too long is discarded */

	if (len > 1 && s[len - 1] == '/') {
		len--;
		r->dir_only = true;
	}
	size_t slashes = 0;
	bool wild = false, wild2 = false;
	for (size_t i = 0; i < len; i++) {
		slashes += s[i] == '/';
		wild |= s[i] == '*' || s[i] == '[' || s[i] == '?';
		wild2 |= i + 1 < len && s[i] == '*' && s[i + 1] == '*';
	}
	r->wild2_prefix = wild2 && s[0] == '*' && s[1] == '*';
	r->wild3_suffix = wild2 && len >= 3 && memcmp(s + len - 3, "***", 3) == 0;
	r->anchored = s[0] == '/';
	r->last_name = !slashes && !wild2;
	if (!r->anchored && slashes && !wild2)
		r->where = (int)slashes + 1; /* under PATTERN_MAX */
	else if (!r->anchored && !r->wild2_prefix && wild2)
		r->where = -1;
	else
		r->where = 0;
	if (r->anchored) {
		s++;
		len--;
	}
	if (wild)
		return compile_wild(r, s, len);
	r->mode = M_LITERAL;
	r->text = strndup(s, len);
	r->text_len = len;
	return r->text ? 0 : -ENOMEM;
}

static void rule_release(struct rule *r)
{
	free(r->text);
	free(r->toks);
	free(r->classes);
}

int xp_rsync_filter_new(const char *const *patterns, size_t n, struct xp_rsync_filter **out)
{
	*out = NULL;
	if (n && !patterns)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!patterns[i])
			return -EINVAL;
	}
	struct xp_rsync_filter *f = calloc(1, sizeof(*f));
	if (!f || !(f->rules = calloc(n ? n : 1, sizeof(*f->rules)))) {
		free(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct rule *r = &f->rules[f->n];
		int rc = compile_rule(patterns[i], r);
		if (rc == 0 && r->mode == M_NEVER) {
			rule_release(r); /* matches nothing: as good as absent */
			memset(r, 0, sizeof(*r));
		} else if (rc == 0) {
			f->n++;
		} else if (rc < 0) {
			rule_release(r);
			xp_rsync_filter_free(f);
			return rc;
		}
	}
	*out = f;
	return 0;
}

void xp_rsync_filter_free(struct xp_rsync_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		rule_release(&f->rules[i]);
	free(f->rules);
	free(f);
}

/* ---- matching ------------------------------------------------------------------- */

/* The text a pattern is matched against: s[0..n), then a '/' when end is n + 1 (a
 * directory against a pattern ending in "***"). */
struct text {
	const unsigned char *s;
	size_t n;
	size_t end;
};

static unsigned char at(const struct text *t, size_t i)
{
	return i < t->n ? t->s[i] : '/';
}

/* wild()'s answers: besides MATCH and NOMATCH, the two abort answers of rsync's
 * wildmatch, each a proof that no later start can match either. */
enum {
	NOMATCH,
	MATCH,
	/* the text ran out with pattern left: a later start has less text */
	ABORT_ALL,
	/* a '*' reached a '/' it cannot cross: no '*' before it can help by starting
	 * later in the same name, only a "**" can */
	ABORT_TO_STAR2,
};

/* Tokens p[0..pe) against t from i on, to its end.
 *
 * The bound, from rsync's abort rules: a '*' loop (a star that is not last) never
 * answers NOMATCH (it ends at a '/' with ABORT_TO_STAR2, at the text's end with
 * ABORT_ALL, or with what the rest answered), and a "**" loop answers only MATCH or
 * ABORT_ALL. So a loop above stops as soon as one of its steps reaches the next star
 * (a last star only scans the rest once): below a "**" step, each star's loop runs
 * once, each of its steps costing the literal tokens up to the next star; and a "**"
 * loop reached ends every loop above it. A match is thus at most about len(text)
 * steps of each "**" loop times len(text) x len(pattern) below each (and the
 * unanchored starts after each '/' stop at the first that reaches a "**"):
 * polynomial, where plain backtracking is exponential in the number of stars
 * ("*a*a*a...*b" on "aaaa..." is linear here). The recursion depth is at most the
 * number of star tokens, under 2048 (a pattern is under 4096 bytes). */
static int wild(const struct tok *p, const struct tok *pe, const struct byteset *cls,
		const struct text *t, size_t i)
{
	for (; p < pe; p++, i++) {
		if (p->kind == T_STAR || p->kind == T_STAR2) {
			bool two = p->kind == T_STAR2;
			if (++p == pe) {
				/* last: "**" takes the rest, '*' only a rest without '/' */
				for (; !two && i < t->end; i++) {
					if (at(t, i) == '/')
						return NOMATCH;
				}
				return MATCH;
			}
			/* the rest is tried at i, i+1, ...: never at the end, as the rest
			 * starts with a token that takes a byte */
			for (; i < t->end; i++) {
				int r = wild(p, pe, cls, t, i);
				if (r != NOMATCH) {
					if (!two || r != ABORT_TO_STAR2)
						return r;
				} else if (!two && at(t, i) == '/') {
					return ABORT_TO_STAR2;
				}
			}
			return ABORT_ALL;
		}
		if (i == t->end)
			return ABORT_ALL;
		unsigned char c = at(t, i);
		switch (p->kind) {
		case T_LIT:
			if (c != p->c)
				return NOMATCH;
			break;
		case T_ANY:
			if (c == '/')
				return NOMATCH;
			break;
		default: /* T_CLASS */
			if (!has_byte(&cls[p->cls], c))
				return NOMATCH;
			break;
		}
	}
	return i == t->end ? MATCH : NOMATCH;
}

static bool rule_wild(const struct rule *r, const struct text *t)
{
	const struct tok *p = r->toks, *pe = r->toks + r->ntoks;
	size_t start = 0;
	if (r->where > 0) {
		/* the last N names (wildmatch.c trailing_N_elements): after the N-th '/'
		 * from the end, or the whole text when it has exactly N - 1 */
		size_t count = (size_t)r->where, i = t->end;
		while (i > 0 && count) {
			if (at(t, --i) == '/' && !--count)
				start = i + 1;
		}
		if (count > 1)
			return false;
	}
	int m = wild(p, pe, r->classes, t, start);
	if (m != MATCH && r->where < 0 && m != ABORT_ALL) {
		for (size_t i = 0;; i++) {
			if (i == t->end)
				return false;
			if (at(t, i) == '/') {
				m = wild(p, pe, r->classes, t, i + 1);
				if (m != NOMATCH && m != ABORT_TO_STAR2)
					break;
			}
		}
	}
	return m == MATCH;
}

/* exclude.c rule_matches for one exclude rule; name is the path without its leading
 * '/' (len bytes), base its last name. */
static bool rule_matches(const struct rule *r, const char *path, const char *name, size_t len,
			 const char *base, bool dir)
{
	if (r->dir_only && !dir)
		return false;
	const char *s = r->last_name ? base : name;
	size_t n = len - (size_t)(s - name);
	if (r->mode == M_LITERAL) {
		if (r->anchored || r->last_name)
			return n == r->text_len && memcmp(s, r->text, n) == 0;
		/* a trailing match at a name's start */
		return n >= r->text_len && memcmp(s + n - r->text_len, r->text, r->text_len) == 0 &&
		       (n == r->text_len || s[n - r->text_len - 1] == '/');
	}
	if (!r->last_name && r->wild2_prefix) {
		s = path; /* "/" before the name: the caller's path is just that */
		n = len + 1;
	}
	struct text t = {(const unsigned char *)s, n, n + (dir && r->wild3_suffix)};
	return rule_wild(r, &t);
}

bool xp_rsync_filter_excluded(const struct xp_rsync_filter *f, const char *path, bool dir)
{
	if (path[0] != '/' || !path[1])
		return false;
	const char *name = path + 1, *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	size_t len = strlen(name);
	for (size_t i = 0; i < f->n; i++) {
		if (rule_matches(&f->rules[i], path, name, len, base, dir))
			return true;
	}
	return false;
}
