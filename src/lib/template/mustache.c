/*
 * mustache.c - the Mustache renderer (xenprov/mustache.h): a template is parsed into
 * a flat list of nodes (texts, tags; a section's node knows where its closing node
 * is), then rendered against a stack of JSON values.
 *
 * Not here: where templates and their data come from (template.h, inventory.h).
 *
 * Standalone lines (the spec's "SHOULD be treated as standalone when appropriate"): a
 * section, inverted section, closing, comment, partial or set-delimiter tag that is the
 * only tag of its line, with nothing but blanks (spaces, tabs) around it, takes the
 * whole line with it: the blanks before it, after it and the line's end (LF or CR LF,
 * or the template's end). A standalone partial's blanks before it are its indentation.
 * Interpolation tags are never standalone. This is decided while scanning, since the
 * delimiters in force change as the template is read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/inventory.h"
#include "xenprov/mustache.h"

enum kind { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED, N_CLOSE, N_PARTIAL };

struct node {
	enum kind kind;
	size_t off, len;	 /* N_TEXT: the text; tags: the name (trimmed) */
	size_t ind_off, ind_len; /* N_PARTIAL standalone: its indentation */
	size_t close;		 /* N_SECTION, N_INVERTED: the index of its N_CLOSE */
	unsigned line, col;
};

struct tree {
	const char *src;
	size_t len;
	struct node *v;
	size_t n, cap;
};

static void tree_release(struct tree *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

#define MAX_DELIM 16

/* ---- parsing ------------------------------------------------------------------------ */

struct parser {
	struct tree *t;
	const char *name; /* for diagnostics */
	struct xp_diags *d;
	unsigned line;	   /* of pos */
	size_t line_start; /* where pos's line starts */
	bool line_has_tag; /* a tag was seen on this line before pos */
	char otag[MAX_DELIM + 1], ctag[MAX_DELIM + 1];
	size_t olen, clen;
};

static int syntax(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int syntax(struct parser *p, size_t at, const char *fmt, ...)
{
	/* the line and column of at, which lies on p's current line or before it */
	unsigned line = 1;
	size_t ls = 0;
	for (size_t i = 0; i < at && i < p->t->len; i++)
		if (p->t->src[i] == '\n') {
			line++;
			ls = i + 1;
		}
	va_list ap;
	va_start(ap, fmt);
	int r = xp_diags_addv(p->d, XP_SEV_ERROR, p->name, line, (unsigned)(at - ls + 1), "syntax",
			      NULL, NULL, fmt, ap);
	va_end(ap);
	return r < 0 ? r : -EBADMSG;
}

static int push(struct tree *t, struct node nd)
{
	if (xp_grow(&t->v, &t->cap, t->n, sizeof(*t->v), 32) < 0)
		return -ENOMEM;
	t->v[t->n++] = nd;
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool space(char c)
{
	return blank(c) || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Text [from, to): a node, and the line count kept. */
static int text(struct parser *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p->t->src[i] == '\n') {
			p->line++;
			p->line_start = i + 1;
			p->line_has_tag = false;
		}
	if (to == from)
		return 0;
	return push(p->t, (struct node){.kind = N_TEXT, .off = from, .len = to - from});
}

/* The end of a standalone line after a tag ending at e: past the blanks and the line
 * end; 0 if something else follows on the line. */
static size_t standalone_end(const struct tree *t, size_t e)
{
	while (e < t->len && blank(t->src[e]))
		e++;
	if (e == t->len)
		return e;
	if (t->src[e] == '\n')
		return e + 1;
	if (t->src[e] == '\r' && e + 1 < t->len && t->src[e + 1] == '\n')
		return e + 2;
	return 0;
}

/* Whether [line_start, at) is all blanks. */
static bool blanks_before(const struct parser *p, size_t at)
{
	for (size_t i = p->line_start; i < at; i++)
		if (!blank(p->t->src[i]))
			return false;
	return true;
}

/* Past the bytes of s[i..n) that are (or, with want false, are not) white space. */
static size_t span(const char *s, size_t i, size_t n, bool want)
{
	while (i < n && space(s[i]) == want)
		i++;
	return i;
}

/* A set-delimiter tag's content "OPEN CLOSE". */
static int set_delims(struct parser *p, size_t at, const char *s, size_t n)
{
	size_t a = span(s, 0, n, true), ae = span(s, a, n, false);
	size_t b = span(s, ae, n, true), be = span(s, b, n, false);
	size_t i = span(s, be, n, true), alen = ae - a, blen = be - b;
	if (!alen || !blen || i != n || alen > MAX_DELIM || blen > MAX_DELIM ||
	    memchr(s + a, '=', alen) || memchr(s + b, '=', blen))
		return syntax(p, at,
			      "a set-delimiter tag takes two delimiters of 1-%d characters, "
			      "without '=' or spaces, separated by spaces",
			      MAX_DELIM);
	memcpy(p->otag, s + a, alen);
	p->otag[alen] = 0;
	p->olen = alen;
	memcpy(p->ctag, s + b, blen);
	p->ctag[blen] = 0;
	p->clen = blen;
	return 0;
}

static int parse(const char *src, size_t len, const char *name, struct tree *t, struct xp_diags *d)
{
	memset(t, 0, sizeof(*t));
	t->src = src;
	t->len = len;
	struct parser p = {.t = t, .name = name, .d = d, .line = 1, .olen = 2, .clen = 2};
	strcpy(p.otag, "{{");
	strcpy(p.ctag, "}}");
	size_t open[XP_MUSTACHE_MAX_DEPTH]; /* the open sections' nodes */
	size_t nopen = 0;
	size_t pos = 0;
	int r = 0;
	if (len > XP_MUSTACHE_MAX_TEMPLATE)
		return xp_diags_fail(d, -EFBIG, name, "limit", NULL,
				     "the template is larger than %u KiB",
				     XP_MUSTACHE_MAX_TEMPLATE / 1024);
	while (r == 0 && pos < len) {
		const char *o = memmem(src + pos, len - pos, p.otag, p.olen);
		if (!o) {
			r = text(&p, pos, len);
			break;
		}
		size_t at = (size_t)(o - src);
		if ((r = text(&p, pos, at)) < 0)
			break;
		unsigned line = p.line, col = (unsigned)(at - p.line_start + 1);
		size_t c = at + p.olen; /* the tag's content starts here, sigil included */
		char sigil = c < len ? src[c] : 0;
		/* where the content ends: before "}" + ctag for {{{, "=" + ctag for {{= */
		char end_extra = sigil == '{' ? '}' : sigil == '=' ? '=' : 0;
		size_t from = sigil && strchr("{&#^/>!=", sigil) ? c + 1 : c, e = from;
		const char *close = NULL;
		while (e < len) {
			const char *q = memmem(src + e, len - e, p.ctag, p.clen);
			if (!q)
				break;
			size_t qa = (size_t)(q - src);
			if (!end_extra || (qa > from && src[qa - 1] == end_extra)) {
				close = q;
				break;
			}
			e = qa + 1;
		}
		if (!close) {
			r = syntax(&p, at, "a tag opened by '%s' is not closed by '%s%s'", p.otag,
				   end_extra == '}' ? "}" : end_extra == '=' ? "=" : "", p.ctag);
			break;
		}
		size_t cend = (size_t)(close - src) - (end_extra ? 1 : 0); /* content end */
		size_t tag_end = (size_t)(close - src) + p.clen;
		/* the name, trimmed */
		size_t na = from, nb = cend;
		while (na < nb && space(src[na]))
			na++;
		while (nb > na && space(src[nb - 1]))
			nb--;
		bool capable = sigil && strchr("#^/>!=", sigil);
		if (sigil != '!' && sigil != '=') {
			if (na == nb) {
				r = syntax(&p, at, "an empty tag: a name is missing");
				break;
			}
			for (size_t i = na; i < nb; i++)
				if (space(src[i])) {
					r = syntax(&p, at, "'%.*s': a tag name holds no spaces",
						   (int)(nb - na), src + na);
					break;
				}
			if (r < 0)
				break;
		}
		/* standalone: the line is this tag and blanks */
		size_t send = 0;
		bool standalone = capable && !p.line_has_tag && blanks_before(&p, at) &&
				  (send = standalone_end(t, tag_end)) != 0;
		struct node nd = {.off = na, .len = nb - na, .line = line, .col = col};
		if (standalone && at > p.line_start) {
			/* the blanks before it leave the text node they ended */
			struct node *last = &t->v[t->n - 1];
			last->len -= at - p.line_start;
			if (last->len == 0)
				t->n--;
			nd.ind_off = p.line_start;
			nd.ind_len = at - p.line_start;
		}
		/* comments may span lines: count them */
		for (size_t i = at; i < tag_end; i++)
			if (src[i] == '\n') {
				p.line++;
				p.line_start = i + 1;
			}
		if (standalone) {
			pos = send;
			if (send > tag_end && src[send - 1] == '\n') {
				p.line++;
				p.line_start = send;
			}
			p.line_has_tag = false;
		} else {
			pos = tag_end;
			p.line_has_tag = true;
		}
		switch (sigil) {
		case '!':
			continue;
		case '=':
			r = set_delims(&p, at, src + from, cend - from);
			continue;
		case '{':
		case '&':
			nd.kind = N_RAW;
			break;
		case '#':
		case '^':
			if (nopen == XP_MUSTACHE_MAX_DEPTH) {
				r = xp_diags_add(d, XP_SEV_ERROR, name, line, col, "limit", NULL, NULL,
						 "sections nested deeper than %d",
						 XP_MUSTACHE_MAX_DEPTH) < 0
					? -ENOMEM
					: -ELOOP;
				break;
			}
			nd.kind = sigil == '#' ? N_SECTION : N_INVERTED;
			open[nopen++] = t->n;
			break;
		case '/': {
			if (!nopen) {
				r = syntax(&p, at, "'%.*s' closes no open section", (int)nd.len,
					   src + nd.off);
				break;
			}
			struct node *sec = &t->v[open[nopen - 1]];
			if (sec->len != nd.len || memcmp(src + sec->off, src + nd.off, nd.len)) {
				r = syntax(&p, at,
					   "'%.*s' closes the section '%.*s' (opened at line %u)",
					   (int)nd.len, src + nd.off, (int)sec->len, src + sec->off,
					   sec->line);
				break;
			}
			sec->close = t->n;
			nopen--;
			nd.kind = N_CLOSE;
			break;
		}
		case '>':
			nd.kind = N_PARTIAL;
			break;
		default:
			nd.kind = N_VAR;
			break;
		}
		if (r == 0)
			r = push(t, nd);
	}
	if (r == 0 && nopen) {
		const struct node *sec = &t->v[open[nopen - 1]];
		r = xp_diags_add(d, XP_SEV_ERROR, name, sec->line, sec->col, "syntax", NULL, NULL,
				 "the section '%.*s' is not closed", (int)sec->len,
				 src + sec->off) < 0
			? -ENOMEM
			: -EBADMSG;
	}
	if (r < 0)
		tree_release(t);
	return r;
}

/* ---- rendering ---------------------------------------------------------------------- */

struct render {
	const struct xp_mustache_opts *o;
	struct xp_diags *d;
	struct xp_buf *out;
	size_t max;
	const json_t *stack[XP_MUSTACHE_MAX_DEPTH + 1];
	size_t depth;	   /* values on the stack */
	unsigned nesting;  /* sections and partials being rendered */
	unsigned long steps;
};

static bool truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	default:
		return true;
	}
}

/* A name resolved against the stack (spec: interpolation, "name resolution"). */
static const json_t *lookup(const struct render *rd, const char *s, size_t n)
{
	if (n == 1 && s[0] == '.')
		return rd->stack[rd->depth - 1];
	const char *dot = memchr(s, '.', n);
	size_t first = dot ? (size_t)(dot - s) : n;
	char key[256];
	if (first >= sizeof(key))
		return NULL;
	memcpy(key, s, first);
	key[first] = 0;
	const json_t *v = NULL;
	for (size_t i = rd->depth; i-- > 0;) {
		const json_t *c = rd->stack[i];
		if (json_is_object(c) && (v = json_object_get(c, key)))
			break;
	}
	/* the other parts, each in the former's value only */
	for (size_t at = first; v && at < n;) {
		at++; /* the dot */
		const char *e = memchr(s + at, '.', n - at);
		size_t k = e ? (size_t)(e - (s + at)) : n - at;
		if (k >= sizeof(key) || !json_is_object(v))
			return NULL;
		memcpy(key, s + at, k);
		key[k] = 0;
		v = json_object_get(v, key);
		at += k;
	}
	return v;
}

static int fail_at(struct render *rd, const char *file, const struct node *nd, int r,
		   const char *code, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
static int fail_at(struct render *rd, const char *file, const struct node *nd, int r,
		   const char *code, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int e = xp_diags_addv(rd->d, XP_SEV_ERROR, file, nd ? nd->line : 0, nd ? nd->col : 0, code,
			      NULL, hint, fmt, ap);
	va_end(ap);
	return e < 0 ? e : r;
}

static void put_escaped(struct xp_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			xp_buf_adds(b, "&amp;");
			break;
		case '"':
			xp_buf_adds(b, "&quot;");
			break;
		case '<':
			xp_buf_adds(b, "&lt;");
			break;
		case '>':
			xp_buf_adds(b, "&gt;");
			break;
		default:
			xp_buf_addc(b, s[i]);
		}
	}
}

/* A value as text (see the header), into tmp for numbers. */
static const char *value_text(const json_t *v, char tmp[40], size_t *n)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		*n = json_string_length(v);
		return json_string_value(v);
	case JSON_INTEGER:
		*n = (size_t)snprintf(tmp, 40, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	case JSON_REAL: {
		double x = json_real_value(v);
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(tmp, 40, "%.*g", prec, x);
			if (strtod(tmp, NULL) == x)
				break;
		}
		*n = strlen(tmp);
		return tmp;
	}
	case JSON_TRUE:
		*n = 4;
		return "true";
	case JSON_FALSE:
		*n = 5;
		return "false";
	default:
		*n = 0;
		return "";
	}
}

static bool required(const struct render *rd, const char *s, size_t n)
{
	for (const char *const *q = rd->o->required; q && *q; q++)
		if (strlen(*q) == n && memcmp(*q, s, n) == 0)
			return true;
	return false;
}

static int render_range(struct render *rd, const struct tree *t, const char *file, size_t from,
			size_t to);

static int render_partial(struct render *rd, const struct tree *t, const char *file,
			  const struct node *nd)
{
	if (!rd->o->partial)
		return 0;
	char name[256];
	if (nd->len >= sizeof(name))
		return 0; /* no template has such a name: not found, as the spec says */
	memcpy(name, t->src + nd->off, nd->len);
	name[nd->len] = 0;
	if (rd->nesting >= XP_MUSTACHE_MAX_DEPTH)
		return fail_at(rd, file, nd, -ELOOP, "limit", NULL,
			       "partials and sections nested deeper than %d (a partial that "
			       "includes itself without end?)",
			       XP_MUSTACHE_MAX_DEPTH);
	char *text = NULL;
	size_t len = 0;
	int r = rd->o->partial(rd->o->ud, name, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail_at(rd, file, nd, r, "partial", NULL, "cannot read the partial '%s': %s",
			       name, strerror(-r));
	/* a standalone partial's indentation goes before each of its lines */
	if (nd->ind_len && len) {
		struct xp_buf b = XP_BUF_INIT;
		for (size_t i = 0; i < len; i++) {
			if (i == 0 || text[i - 1] == '\n')
				xp_buf_add(&b, t->src + nd->ind_off, nd->ind_len);
			xp_buf_addc(&b, text[i]);
		}
		free(text);
		len = b.len;
		if (!(text = xp_buf_steal(&b)))
			return -ENOMEM;
	}
	struct tree pt;
	r = parse(text, len, name, &pt, rd->d);
	if (r == 0) {
		rd->nesting++;
		r = render_range(rd, &pt, name, 0, pt.n);
		rd->nesting--;
		tree_release(&pt);
	}
	free(text);
	return r;
}

static int render_range(struct render *rd, const struct tree *t, const char *file, size_t from,
			size_t to)
{
	for (size_t i = from; i < to; i++) {
		const struct node *nd = &t->v[i];
		if (++rd->steps > XP_MUSTACHE_MAX_STEPS)
			return fail_at(rd, file, nd, -E2BIG, "limit", NULL,
				       "the render takes more than %u steps", XP_MUSTACHE_MAX_STEPS);
		if (rd->out->len > rd->max)
			return fail_at(rd, file, nd, -EFBIG, "limit", NULL,
				       "the output is larger than %zu bytes", rd->max);
		const char *s = t->src + nd->off;
		int r = 0;
		switch (nd->kind) {
		case N_TEXT:
			xp_buf_add(rd->out, s, nd->len);
			break;
		case N_VAR:
		case N_RAW: {
			const json_t *v = lookup(rd, s, nd->len);
			bool unset = !v || json_is_null(v) ||
				     (json_is_string(v) && json_string_length(v) == 0);
			if (unset && required(rd, s, nd->len))
				return fail_at(rd, file, nd, -ENODATA, "required",
					       rd->o->required_hint, "%.*s is not set", (int)nd->len,
					       s);
			char tmp[40];
			size_t n;
			const char *txt = value_text(v, tmp, &n);
			if (nd->kind == N_VAR)
				put_escaped(rd->out, txt, n);
			else
				xp_buf_add(rd->out, txt, n);
			break;
		}
		case N_SECTION:
		case N_INVERTED: {
			const json_t *v = lookup(rd, s, nd->len);
			bool yes = truthy(v);
			if (nd->kind == N_INVERTED) {
				if (!yes)
					r = render_range(rd, t, file, i + 1, nd->close);
			} else if (yes) {
				if (rd->nesting >= XP_MUSTACHE_MAX_DEPTH)
					return fail_at(rd, file, nd, -ELOOP, "limit", NULL,
						       "partials and sections nested deeper than %d",
						       XP_MUSTACHE_MAX_DEPTH);
				rd->nesting++;
				size_t items = json_is_array(v) ? json_array_size(v) : 1;
				for (size_t k = 0; r == 0 && k < items; k++) {
					/* an item is a step, even with an empty body */
					if (++rd->steps > XP_MUSTACHE_MAX_STEPS) {
						r = fail_at(rd, file, nd, -E2BIG, "limit", NULL,
							    "the render takes more than %u steps",
							    XP_MUSTACHE_MAX_STEPS);
						break;
					}
					rd->stack[rd->depth++] =
					    json_is_array(v) ? json_array_get(v, k) : v;
					r = render_range(rd, t, file, i + 1, nd->close);
					rd->depth--;
				}
				rd->nesting--;
			}
			i = nd->close; /* past its body and closing tag */
			break;
		}
		case N_CLOSE:
			break;
		case N_PARTIAL:
			r = render_partial(rd, t, file, nd);
			break;
		}
		if (r < 0)
			return r;
	}
	return xp_buf_error(rd->out);
}

int xp_mustache_render(const char *tmpl, size_t len, const json_t *data,
		       const struct xp_mustache_opts *o, struct xp_buf *out, struct xp_diags *d)
{
	static const struct xp_mustache_opts none;
	if (!o)
		o = &none;
	struct tree t;
	int r = parse(tmpl, len, o->name, &t, d);
	if (r < 0)
		return r;
	struct render rd = {
	    .o = o,
	    .d = d,
	    .out = out,
	    .max = o->max_output ? o->max_output : XP_MUSTACHE_MAX_OUTPUT,
	    .depth = 1,
	};
	rd.stack[0] = data;
	size_t start = out->len;
	r = render_range(&rd, &t, o->name, 0, t.n);
	if (r == 0 && out->len > rd.max)
		r = fail_at(&rd, o->name, NULL, -EFBIG, "limit", NULL,
			    "the output is larger than %zu bytes", rd.max);
	if (r < 0)
		xp_buf_truncate(out, start);
	tree_release(&t);
	return r;
}

int xp_mustache_check(const char *tmpl, size_t len, const char *name, char ***partials,
		      size_t *npartials, struct xp_diags *d)
{
	struct tree t;
	if (partials) {
		*partials = NULL;
		*npartials = 0;
	}
	int r = parse(tmpl, len, name, &t, d);
	size_t cap = 0;
	for (size_t i = 0; r == 0 && partials && i < t.n; i++) {
		const struct node *nd = &t.v[i];
		if (nd->kind != N_PARTIAL)
			continue;
		bool seen = false;
		for (size_t k = 0; k < *npartials && !seen; k++)
			seen = strlen((*partials)[k]) == nd->len &&
			       memcmp((*partials)[k], tmpl + nd->off, nd->len) == 0;
		if (seen)
			continue;
		char *s = strndup(tmpl + nd->off, nd->len);
		if (!s || xp_grow(partials, &cap, *npartials, sizeof(char *), 4) < 0) {
			free(s);
			r = -ENOMEM;
			break;
		}
		(*partials)[(*npartials)++] = s;
	}
	if (r < 0 && partials) {
		xp_strv_free(*partials, *npartials);
		*partials = NULL;
		*npartials = 0;
	}
	tree_release(&t);
	return r;
}
