/*
 * config-parse.c - the grammar of Xen's domain config language (libxlutil's
 * libxlu_cfg_y.y), recursive descent over the tokens of config-lex.c:
 *
 *   file       := { stmt } [ assignment ]          (a last statement needs no newline)
 *   stmt       := assignment end | end
 *   end        := NEWLINE | ';'
 *   assignment := IDENT ( '=' | '+=' ) value
 *   value      := STRING | NUMBER | '[' nl* [ value nl* { ',' nl* value nl* } [ ',' nl* ] ] ']'
 *
 * It accepts exactly what Xen accepts, but instead of stopping it reports every error
 * and resynchronises at the next statement. It also computes the effective settings
 * (last assignment wins; += joins strings and appends lists) and answers typed reads.
 *
 * Not here: lexing (config-lex.c), edits (config-edit.c), layout (config-format.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/names.h"
#include "xl/config-internal.h"

struct parser {
	struct xp_cfg *cfg;
	size_t pos;
	int nl_since_item;
};

static enum tok_kind cur(const struct parser *p)
{
	return tk_kind(p->cfg, p->pos);
}

/* Skips spaces and bytes the lexer already rejected (Xen's scanner drops them too). */
static enum tok_kind skip_space(struct parser *p)
{
	enum tok_kind k;
	while ((k = cur(p)) == TK_SPACE || k == TK_ERROR)
		p->pos++;
	return k;
}

static int add_item(struct xp_cfg *cfg, struct item it)
{
	if (xp_grow(&cfg->items, &cfg->capitems, cfg->nitems, sizeof(*cfg->items), 32) < 0)
		return -ENOMEM;
	cfg->items[cfg->nitems++] = it;
	return 0;
}

static int add_list(struct xp_cfg *cfg, uint32_t open, uint32_t *idx)
{
	if (xp_grow(&cfg->lists, &cfg->caplists, cfg->nlists, sizeof(*cfg->lists), 16) < 0)
		return -ENOMEM;
	*idx = (uint32_t)cfg->nlists;
	cfg->lists[cfg->nlists++] = (struct lnode){.open = open};
	return 0;
}

static void diag_at(struct xp_cfg *cfg, size_t tok, const char *code, const char *hint,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void diag_at(struct xp_cfg *cfg, size_t tok, const char *code, const char *hint,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct tok t = xp__cfg_tok(cfg, tok);
	xp__cfg_diag(cfg, XP_SEV_ERROR, &t, code, hint, "%s", msg);
}

static const char *tok_name(enum tok_kind k)
{
	static const char *const names[] = {
	    [TK_IDENT] = "a name",
	    [TK_NUMBER] = "a number",
	    [TK_STRING] = "a string",
	    [TK_LBRACK] = "'['",
	    [TK_RBRACK] = "']'",
	    [TK_COMMA] = "','",
	    [TK_EQ] = "'='",
	    [TK_PLUSEQ] = "'+='",
	    [TK_SEMI] = "';'",
	    [TK_NEWLINE] = "the end of the line",
	    [TK_EOF] = "the end of the file",
	};
	return xp__name_of(names, sizeof(names) / sizeof(names[0]), k, "text");
}

/* nl*: newlines and the comments before them; notes in *flags a comment seen. */
static void skip_newlines(struct parser *p, uint32_t *flags)
{
	for (;;) {
		enum tok_kind k = skip_space(p);
		if (k == TK_COMMENT) {
			*flags |= LIST_COMMENTS;
			p->pos++;
		} else if (k == TK_NEWLINE) {
			p->nl_since_item = 1;
			p->pos++;
		} else {
			return;
		}
	}
}

/* Reads a value. Returns 0 (and *list: its list record, or NO_LIST for an atom), -1
 * after reporting a syntax error, -ENOMEM. On failure the list records it added are
 * left for the caller to drop. */
static int parse_value(struct parser *p, int depth, uint32_t *list)
{
	struct xp_cfg *cfg = p->cfg;
	enum tok_kind k = skip_space(p);
	*list = NO_LIST;
	if (k == TK_STRING || k == TK_NUMBER) {
		p->pos++;
		return 0;
	}
	if (k != TK_LBRACK) {
		if (k == TK_IDENT) {
			if (tk_kind(cfg, p->pos + 1) == TK_LBRACK)
				diag_at(cfg, p->pos, "python",
					"write the value itself; xl configs are no longer Python",
					"a name is not a value: this looks like Python indexing");
			else
				diag_at(cfg, p->pos, "bare-word", "quote it: \"...\"",
					"a bare word is not a value; strings must be quoted");
		} else {
			diag_at(cfg, p->pos, "syntax", NULL,
				"expected a value (a quoted string, a number or a [list]), found %s",
				tok_name(k));
		}
		return -1;
	}
	if (depth >= XP_CFG_MAX_DEPTH) {
		diag_at(cfg, p->pos, "depth", NULL, "lists nested more than %d deep",
			XP_CFG_MAX_DEPTH);
		return -1;
	}
	uint32_t idx, flags = 0, open = (uint32_t)p->pos;
	if (add_list(cfg, open, &idx) < 0)
		return -ENOMEM;
	p->pos++;
	p->nl_since_item = 1;
	skip_newlines(p, &flags);
	if (cur(p) != TK_RBRACK) {
		for (;;) {
			uint32_t child;
			int r = parse_value(p, depth + 1, &child);
			if (r < 0)
				return r;
			if (child != NO_LIST)
				flags |= cfg->lists[child].flags & LIST_COMMENTS;
			p->nl_since_item = 0;
			skip_newlines(p, &flags);
			k = cur(p);
			if (k == TK_COMMA) {
				p->pos++;
				skip_newlines(p, &flags);
				if (cur(p) == TK_RBRACK)
					break;
				continue;
			}
			if (k == TK_RBRACK)
				break;
			if (k == TK_EOF)
				diag_at(cfg, open, "syntax", NULL,
					"this list is not closed: ']' missing");
			else
				diag_at(cfg, p->pos, "syntax",
					k == TK_STRING || k == TK_NUMBER
						? "separate list items with ','"
						: NULL,
					"expected ',' or ']' in a list, found %s", tok_name(k));
			return -1;
		}
	}
	p->pos++; /* ']' */
	struct lnode *n = &cfg->lists[idx];
	n->end = (uint32_t)p->pos;
	n->next = (uint32_t)cfg->nlists;
	n->flags = flags;
	*list = idx;
	return 0;
}

void xp__list_walk_init(struct list_walk *w, const struct xp_cfg *cfg, uint32_t list)
{
	const struct lnode *n = &cfg->lists[list];
	*w = (struct list_walk){
		.cfg = cfg, .pos = n->open + 1, .close = n->end - 1, .child = list + 1,
		.nl_since_item = 1, .any = 0};
}

/* The entries parse_value() read, in its order, with the same notion of a trailing
 * comment: one after an entry with no newline between. */
int xp__list_next(struct list_walk *w, struct lent *e)
{
	const struct xp_cfg *cfg = w->cfg;
	while (w->pos < w->close) {
		uint32_t i = w->pos;
		switch (tk_kind(cfg, i)) {
		case TK_NEWLINE:
			w->nl_since_item = 1;
			w->pos++;
			continue;
		case TK_COMMENT:
			*e = (struct lent){.kind = ENT_COMMENT, .tok = i,
					   .trailing = !w->nl_since_item && w->any};
			w->any = 1;
			w->pos++;
			return 1;
		case TK_STRING:
		case TK_NUMBER:
			*e = (struct lent){.kind = ENT_ATOM, .tok = i};
			w->nl_since_item = 0;
			w->any = 1;
			w->pos++;
			return 1;
		case TK_LBRACK: {
			const struct lnode *c = &cfg->lists[w->child];
			*e = (struct lent){.kind = ENT_LIST, .tok = i, .list = w->child};
			w->pos = c->end;
			w->child = c->next;
			w->nl_since_item = 0;
			w->any = 1;
			return 1;
		}
		default: /* spaces, rejected bytes, commas */
			w->pos++;
			continue;
		}
	}
	return 0;
}

static int is_python_keyword(const struct xp_cfg *cfg, size_t tok)
{
	static const char *const kw[] = {"import", "from", "def", "if", "for", "while",
					 "print", "class", "else", "elif", "return", "try",
					 "except", "with", "lambda", NULL};
	uint32_t len = tk_len(cfg, tok);
	for (const char *const *k = kw; *k; k++)
		if (strlen(*k) == len && memcmp(cfg->text + tk_off(cfg, tok), *k, len) == 0)
			return 1;
	return 0;
}

/* After an error: skip to the newline that ends the broken statement: one outside any
 * bracket opened since `from`, or one followed by what looks like a new statement. */
static void recover(struct parser *p, size_t from)
{
	struct xp_cfg *cfg = p->cfg;
	int depth = 0;
	for (size_t i = from; i < p->pos; i++) {
		if (tk_kind(cfg, i) == TK_LBRACK)
			depth++;
		else if (tk_kind(cfg, i) == TK_RBRACK)
			depth--;
	}
	for (;;) {
		enum tok_kind k = cur(p);
		if (k == TK_EOF)
			return;
		if (k == TK_LBRACK)
			depth++;
		else if (k == TK_RBRACK)
			depth--;
		else if (k == TK_NEWLINE) {
			if (depth <= 0)
				return;
			size_t j = p->pos + 1;
			while (tk_kind(cfg, j) == TK_SPACE)
				j++;
			if (tk_kind(cfg, j) == TK_IDENT) {
				j++;
				while (tk_kind(cfg, j) == TK_SPACE)
					j++;
				if (tk_kind(cfg, j) == TK_EQ || tk_kind(cfg, j) == TK_PLUSEQ)
					return;
			}
		}
		p->pos++;
	}
}

/* A statement that does not parse, from token first: kept in the tree as broken (its
 * bytes stay where they are) up to where recover() resumes. */
static int add_broken(struct parser *p, struct item it, size_t first)
{
	it.broken = 1;
	recover(p, first);
	it.last = (uint32_t)p->pos;
	return add_item(p->cfg, it);
}

/* Line numbers of offsets met in increasing order, in amortised constant time. */
struct line_cursor {
	const struct xp_cfg *cfg;
	size_t k;
};

static void cursor_pos(struct line_cursor *lc, uint32_t off, uint32_t *line, uint32_t *col)
{
	const struct xp_cfg *cfg = lc->cfg;
	if (lc->k >= cfg->nlines || cfg->lines[lc->k] > off) {
		xp__cfg_pos(cfg, off, line, col);
		lc->k = *line - 1;
		return;
	}
	while (lc->k + 1 < cfg->nlines && cfg->lines[lc->k + 1] <= off)
		lc->k++;
	*line = (uint32_t)lc->k + 1;
	*col = off - cfg->lines[lc->k] + 1;
}

static int parse_tokens(struct xp_cfg *cfg)
{
	struct parser p = {.cfg = cfg};
	struct line_cursor lc = {.cfg = cfg};
	int line_has_content = 0;
	uint32_t last_stmt_line = 0, line, col;

	for (;;) {
		enum tok_kind k = skip_space(&p);
		switch (k) {
		case TK_EOF:
			return 0;
		case TK_NEWLINE:
			if (!line_has_content && add_item(cfg, (struct item){.kind = IT_BLANK}) < 0)
				return -ENOMEM;
			line_has_content = 0;
			p.pos++;
			continue;
		case TK_SEMI:
			p.pos++;
			continue;
		case TK_COMMENT: {
			cursor_pos(&lc, tk_off(cfg, p.pos), &line, &col);
			struct item it = {.kind = IT_COMMENT,
					  .tok = (uint32_t)p.pos,
					  .trailing = line_has_content && last_stmt_line == line};
			if (add_item(cfg, it) < 0)
				return -ENOMEM;
			line_has_content = 1;
			p.pos++;
			continue;
		}
		case TK_IDENT:
			break;
		default:
			diag_at(cfg, p.pos, "syntax", NULL, "expected a setting name, found %s",
				tok_name(k));
			recover(&p, p.pos);
			line_has_content = 1;
			continue;
		}

		/* assignment */
		size_t first = p.pos;
		struct item it = {.kind = IT_STMT,
				  .tok = (uint32_t)p.pos,
				  .first = (uint32_t)first,
				  .list = NO_LIST,
				  .setting = UINT32_MAX};
		line_has_content = 1;
		p.pos++;
		enum tok_kind op = skip_space(&p);
		if (op != TK_EQ && op != TK_PLUSEQ) {
			if (op == TK_LBRACK)
				diag_at(cfg, p.pos, "python", "assign the whole list: name = [ ... ]",
					"indexing a setting looks like Python; xl does not run "
					"Python");
			else if (is_python_keyword(cfg, first))
				diag_at(cfg, first, "python",
					"arbitrary Python is no longer supported in xl configs",
					"this looks like Python");
			else
				diag_at(cfg, p.pos, "syntax", NULL,
					"expected '=' or '+=' after the name '%.*s', found %s",
					(int)tk_len(cfg, first), cfg->text + tk_off(cfg, first),
					tok_name(op));
			if (add_broken(&p, it, first) < 0)
				return -ENOMEM;
			continue;
		}
		it.op_tok = (uint32_t)p.pos;
		it.append = op == TK_PLUSEQ;
		p.pos++;
		size_t nlists = cfg->nlists;
		skip_space(&p);
		it.value = (uint32_t)p.pos;
		int r = parse_value(&p, 0, &it.list);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			cfg->nlists = nlists; /* the records of the broken value */
			it.list = NO_LIST;
			if (add_broken(&p, it, first) < 0)
				return -ENOMEM;
			continue;
		}
		it.last = value_end(cfg, &it);
		cursor_pos(&lc, tk_off(cfg, it.last - 1), &last_stmt_line, &col);
		enum tok_kind e = skip_space(&p);
		if (e != TK_NEWLINE && e != TK_SEMI && e != TK_EOF && e != TK_COMMENT) {
			diag_at(cfg, p.pos, "syntax",
				e == TK_IDENT || e == TK_STRING || e == TK_NUMBER
					? "one value per setting; end a statement with a newline "
					  "or ';'"
					: NULL,
				"expected the end of the statement, found %s", tok_name(e));
			it.broken = 1;
			recover(&p, first);
		}
		if (add_item(cfg, it) < 0)
			return -ENOMEM;
	}
}

/* ---- effective settings ----------------------------------------------------------- */

#define ARENA_MIN   4096
#define ARENA_CHUNK (1u << 20)

/* n bytes of the config's string arena; they live as long as the parse. */
static char *arena_alloc(struct xp_cfg *cfg, size_t n)
{
	struct arena_chunk *c = cfg->arena;
	if (!c || c->cap - c->used < n) {
		size_t cap = c ? c->cap * 2 : ARENA_MIN;
		if (cap > ARENA_CHUNK)
			cap = ARENA_CHUNK;
		if (cap < n)
			cap = n;
		struct arena_chunk *nc = malloc(sizeof(*nc) + cap);
		if (!nc)
			return NULL;
		nc->used = 0;
		nc->cap = cap;
		if (c && c->cap - c->used >= ARENA_MIN && cap == n) {
			/* a big string gets a chunk of its own behind the current one */
			nc->next = c->next;
			c->next = nc;
			nc->used = n;
			return nc->data;
		}
		nc->next = c;
		cfg->arena = c = nc;
	}
	char *p = c->data + c->used;
	c->used += n;
	return p;
}

void xp__cfg_value_free(struct xp_cfg_value *v)
{
	if (v->type != XP_CFG_LIST || !v->u.list)
		return;
	for (size_t i = 0; i < v->u.list->n; i++)
		xp__cfg_value_free(&v->u.list->v[i]);
	free(v->u.list);
	v->u.list = NULL;
}

/* Builds the effective value of an atom token or a list record into *v. */
static int build_value(struct xp_cfg *cfg, struct line_cursor *lc, uint32_t tok, uint32_t list,
		       struct xp_cfg_value *v)
{
	uint32_t off = tk_off(cfg, tok), line, col;
	cursor_pos(lc, off, &line, &col);
	*v = (struct xp_cfg_value){.line = line, .col = col & ((1u << 30) - 1)};
	if (list == NO_LIST) {
		uint32_t len = tk_len(cfg, tok);
		char *s = arena_alloc(cfg, len + 1);
		if (!s)
			return -ENOMEM;
		if (tk_kind(cfg, tok) == TK_STRING) {
			v->type = XP_CFG_STRING;
			if (xp__cfg_decode(cfg, tok, s) < 0)
				s[0] = 0; /* undecodable: already reported */
		} else {
			v->type = XP_CFG_NUMBER;
			memcpy(s, cfg->text + off, len);
			s[len] = 0;
		}
		v->u.str = s;
		return 0;
	}
	v->type = XP_CFG_LIST;
	struct list_walk w;
	struct lent e;
	size_t count = 0;
	xp__list_walk_init(&w, cfg, list);
	while (xp__list_next(&w, &e))
		count += e.kind != ENT_COMMENT;
	if (!count)
		return 0;
	struct vlist *vl = malloc(sizeof(*vl) + count * sizeof(vl->v[0]));
	if (!vl)
		return -ENOMEM;
	vl->n = 0;
	vl->cap = count;
	v->u.list = vl;
	xp__list_walk_init(&w, cfg, list);
	while (xp__list_next(&w, &e)) {
		if (e.kind == ENT_COMMENT)
			continue;
		int r = build_value(cfg, lc, e.tok, e.kind == ENT_LIST ? e.list : NO_LIST,
				    &vl->v[vl->n]);
		if (r < 0)
			return r;
		vl->n++;
	}
	return 0;
}

static bool name_eq(const void *ctx, uint32_t id, const void *key, size_t len)
{
	const struct xp_cfg *cfg = ctx;
	const char *name = cfg->set[id].name;
	return memcmp(name, key, len) == 0 && name[len] == 0;
}

const struct setting *xp__cfg_find(const struct xp_cfg *cfg, const char *name, size_t len)
{
	uint32_t id = xp__nidx_find(&cfg->names, name, len, name_eq, cfg);
	return id == UINT32_MAX ? NULL : &cfg->set[id];
}

/* s (a string or number) += add: the joined string grows geometrically, so n appends
 * cost O(total length), not O(n * length). */
static int join_string(struct setting *s, const char *add)
{
	size_t alen = strlen(add);
	if (!s->joined) {
		size_t plen = strlen(s->value.u.str), cap = 2 * (plen + alen + 1);
		char *j = malloc(cap < 64 ? 64 : cap);
		if (!j)
			return -ENOMEM;
		memcpy(j, s->value.u.str, plen);
		s->joined = j;
		s->jlen = plen;
		s->jcap = cap < 64 ? 64 : cap;
	} else if (s->jcap - s->jlen < alen + 1) {
		size_t cap = 2 * (s->jlen + alen + 1);
		char *j = realloc(s->joined, cap);
		if (!j)
			return -ENOMEM;
		s->joined = j;
		s->jcap = cap;
	}
	memcpy(s->joined + s->jlen, add, alen + 1);
	s->jlen += alen;
	s->value.u.str = s->joined;
	s->value.type = XP_CFG_STRING; /* "1" += "2" is the string "12", not a number */
	return 0;
}

/* s (a list) += add (a list, consumed): items appended, the array grows geometrically. */
static int join_list(struct setting *s, struct xp_cfg_value *add)
{
	struct vlist *a = add->u.list, *p = s->value.u.list;
	if (!a)
		return 0;
	if (!p) {
		s->value.u.list = a;
		add->u.list = NULL;
		return 0;
	}
	if (p->cap - p->n < a->n) {
		size_t cap = 2 * (p->n + a->n);
		p = realloc(p, sizeof(*p) + cap * sizeof(p->v[0]));
		if (!p)
			return -ENOMEM;
		p->cap = cap;
		s->value.u.list = p;
	}
	memcpy(p->v + p->n, a->v, a->n * sizeof(a->v[0]));
	p->n += a->n;
	free(a);
	add->u.list = NULL;
	return 0;
}

/* Returns 1 when += mixes a list and a string (reported), 0, or -ENOMEM. */
static int concat(struct xp_cfg *cfg, struct setting *s, struct xp_cfg_value *add,
		  const struct item *it)
{
	const struct xp_cfg_value *prev = &s->value;
	if ((prev->type == XP_CFG_LIST) != (add->type == XP_CFG_LIST)) {
		struct tok t = xp__cfg_tok(cfg, it->op_tok);
		xp__cfg_diag(cfg, XP_SEV_ERROR, &t, "append-type",
			     "use '=' to replace the value, or append a value of the same kind",
			     "'+=' cannot add a %s to a %s ('%s' is a %s from line %u)",
			     add->type == XP_CFG_LIST ? "list" : "string",
			     prev->type == XP_CFG_LIST ? "list" : "string", s->name,
			     prev->type == XP_CFG_LIST ? "list" : "string", s->line);
		return 1;
	}
	if (add->type == XP_CFG_LIST)
		return join_list(s, add);
	return join_string(s, add->u.str);
}

static int new_setting(struct xp_cfg *cfg, const char *name, size_t len, uint32_t *idx)
{
	if (xp_grow(&cfg->set, &cfg->capset, cfg->nset, sizeof(*cfg->set), 32) < 0)
		return -ENOMEM;
	char *n = arena_alloc(cfg, len + 1);
	if (!n || xp__nidx_add(&cfg->names, name, len, (uint32_t)cfg->nset) < 0)
		return -ENOMEM;
	memcpy(n, name, len);
	n[len] = 0;
	*idx = (uint32_t)cfg->nset;
	cfg->set[cfg->nset++] = (struct setting){.name = n};
	return 0;
}

static int compute_settings(struct xp_cfg *cfg)
{
	struct line_cursor lc = {.cfg = cfg};
	for (size_t i = 0; i < cfg->nitems; i++) {
		struct item *it = &cfg->items[i];
		if (it->kind != IT_STMT || it->broken)
			continue;
		uint32_t line, col;
		cursor_pos(&lc, tk_off(cfg, it->tok), &line, &col);
		struct xp_cfg_value v;
		int r = build_value(cfg, &lc, it->value, it->list, &v);
		if (r < 0) {
			xp__cfg_value_free(&v);
			return r;
		}
		const char *name = cfg->text + tk_off(cfg, it->tok);
		size_t len = tk_len(cfg, it->tok);
		uint32_t id = xp__nidx_find(&cfg->names, name, len, name_eq, cfg);
		if (id == UINT32_MAX) {
			if ((r = new_setting(cfg, name, len, &id)) < 0) {
				xp__cfg_value_free(&v);
				return r;
			}
			cfg->set[id].value = v;
		} else if (it->append) {
			r = concat(cfg, &cfg->set[id], &v, it);
			xp__cfg_value_free(&v);
			if (r < 0)
				return r;
			if (r > 0) {
				it->setting = id;
				continue;
			}
		} else {
			struct setting *s = &cfg->set[id];
			xp__cfg_value_free(&s->value);
			free(s->joined);
			s->joined = NULL;
			s->jlen = s->jcap = 0;
			s->value = v;
		}
		struct setting *s = &cfg->set[id];
		it->setting = id;
		s->line = line;
		s->count++;
		s->last_append = it->append;
		s->ever_append |= it->append;
	}
	return 0;
}

void xp__cfg_reset(struct xp_cfg *cfg)
{
	free(cfg->toks);
	free(cfg->lines);
	free(cfg->lists);
	free(cfg->items);
	for (size_t i = 0; i < cfg->nset; i++) {
		xp__cfg_value_free(&cfg->set[i].value);
		free(cfg->set[i].joined);
	}
	free(cfg->set);
	xp__nidx_release(&cfg->names);
	while (cfg->arena) {
		struct arena_chunk *next = cfg->arena->next;
		free(cfg->arena);
		cfg->arena = next;
	}
	free(cfg->lex_lines);
	/* as before the parse: all but the text, its name and the borrowed diagnostics */
	*cfg = (struct xp_cfg){
	    .filename = cfg->filename, .text = cfg->text, .len = cfg->len, .diags = cfg->diags};
}

int xp__cfg_parse_text(struct xp_cfg *cfg, struct xp_diags *diags)
{
	cfg->diags = diags;
	int r = xp__cfg_lex(cfg);
	if (r == 0)
		r = parse_tokens(cfg);
	if (r == 0)
		r = compute_settings(cfg);
	cfg->diags = NULL;
	if (r < 0)
		return r;
	if (diags)
		xp_diags_sort(diags);
	return cfg->errors ? -EBADMSG : 0;
}

static int too_big(struct xp_diags *diags, const char *filename)
{
	if (diags)
		xp_diags_add(diags, XP_SEV_ERROR, filename, 0, 0, "too-big", NULL, NULL,
			     "file is larger than %u bytes", XP_CFG_MAX_SIZE);
	return -EFBIG;
}

/* Parses text (len bytes and a NUL), taking ownership of it. */
static int parse_owned(char *text, size_t len, const char *filename, struct xp_diags *diags,
		       struct xp_cfg **ret)
{
	struct xp_cfg *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		free(text);
		return -ENOMEM;
	}
	cfg->text = text;
	cfg->len = len;
	cfg->filename = filename ? strdup(filename) : NULL;
	if (filename && !cfg->filename) {
		xp_cfg_free(cfg);
		return -ENOMEM;
	}
	int r = xp__cfg_parse_text(cfg, diags);
	if (r == -ENOMEM || r == -EFBIG) {
		xp_cfg_free(cfg);
		return r;
	}
	*ret = cfg;
	return r;
}

int xp_cfg_parse(const char *data, size_t len, const char *filename, struct xp_diags *diags,
		 struct xp_cfg **ret)
{
	*ret = NULL;
	if (len > XP_CFG_MAX_SIZE)
		return too_big(diags, filename);
	char *text = malloc(len + 1);
	if (!text)
		return -ENOMEM;
	if (len)
		memcpy(text, data, len);
	text[len] = 0;
	return parse_owned(text, len, filename, diags, ret);
}

int xp_cfg_load(const char *path, struct xp_diags *diags, struct xp_cfg **ret)
{
	char *data = NULL;
	size_t len = 0;
	*ret = NULL;
	int r = xp_read_file(path, XP_CFG_MAX_SIZE, &data, &len);
	if (r < 0)
		return r;
	/* the read buffer grew by doubling: give the slack back before parsing */
	char *fit = realloc(data, len + 1);
	return parse_owned(fit ? fit : data, len, path, diags, ret);
}

void xp_cfg_free(struct xp_cfg *cfg)
{
	if (!cfg)
		return;
	xp__cfg_reset(cfg);
	free(cfg->text);
	free(cfg->filename);
	free(cfg);
}

bool xp_cfg_has_errors(const struct xp_cfg *cfg)
{
	return cfg->errors > 0;
}

const char *xp_cfg_text(const struct xp_cfg *cfg, size_t *len)
{
	if (len)
		*len = cfg->len;
	return cfg->text;
}

const char *xp_cfg_filename(const struct xp_cfg *cfg)
{
	return cfg->filename;
}

/* ---- reading ------------------------------------------------------------------------ */

size_t xp_cfg_count(const struct xp_cfg *cfg)
{
	return cfg->nset;
}

const char *xp_cfg_name_at(const struct xp_cfg *cfg, size_t i)
{
	return i < cfg->nset ? cfg->set[i].name : NULL;
}

const struct xp_cfg_value *xp_cfg_value_at(const struct xp_cfg *cfg, size_t i)
{
	return i < cfg->nset ? &cfg->set[i].value : NULL;
}

static const struct setting *find(const struct xp_cfg *cfg, const char *name)
{
	return xp__cfg_find(cfg, name, strlen(name));
}

const struct xp_cfg_value *xp_cfg_lookup(const struct xp_cfg *cfg, const char *name)
{
	const struct setting *s = find(cfg, name);
	return s ? &s->value : NULL;
}

unsigned xp_cfg_line_of(const struct xp_cfg *cfg, const char *name)
{
	const struct setting *s = find(cfg, name);
	return s ? s->line : 0;
}

unsigned xp_cfg_assignments(const struct xp_cfg *cfg, const char *name)
{
	const struct setting *s = find(cfg, name);
	return s ? s->count : 0;
}

bool xp_cfg_was_appended(const struct xp_cfg *cfg, const char *name)
{
	const struct setting *s = find(cfg, name);
	return s && s->ever_append;
}

enum xp_cfg_type xp_cfg_value_type(const struct xp_cfg_value *v)
{
	return (enum xp_cfg_type)v->type;
}

const char *xp_cfg_value_str(const struct xp_cfg_value *v)
{
	return v->type == XP_CFG_LIST ? NULL : v->u.str;
}

int xp_cfg_value_long(const struct xp_cfg_value *v, long *out)
{
	if (v->type == XP_CFG_LIST)
		return -EISDIR;
	/* as xlu_cfg_get_long: strtol base 0 over the whole text */
	char *ep;
	errno = 0;
	long l = strtol(v->u.str, &ep, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || ep == v->u.str || *ep)
		return -EINVAL;
	*out = l;
	return 0;
}

size_t xp_cfg_value_len(const struct xp_cfg_value *v)
{
	return v->type == XP_CFG_LIST && v->u.list ? v->u.list->n : 0;
}

const struct xp_cfg_value *xp_cfg_value_item(const struct xp_cfg_value *v, size_t i)
{
	return i < xp_cfg_value_len(v) ? &v->u.list->v[i] : NULL;
}

unsigned xp_cfg_value_line(const struct xp_cfg_value *v)
{
	return v->line;
}

unsigned xp_cfg_value_col(const struct xp_cfg_value *v)
{
	return v->col;
}

int xp_cfg_get_string(const struct xp_cfg *cfg, const char *name, const char **out)
{
	const struct setting *s = find(cfg, name);
	if (!s)
		return -ENOENT;
	if (s->value.type == XP_CFG_LIST)
		return -EINVAL;
	*out = s->value.u.str;
	return 0;
}

int xp_cfg_get_long(const struct xp_cfg *cfg, const char *name, long *out)
{
	const struct setting *s = find(cfg, name);
	if (!s)
		return -ENOENT;
	if (s->value.type == XP_CFG_LIST || s->last_append)
		return -EINVAL; /* xl: "can't use += with numbers" */
	int r = xp_cfg_value_long(&s->value, out);
	return r == -ERANGE ? -ERANGE : r;
}

int xp_cfg_get_bool(const struct xp_cfg *cfg, const char *name, bool *out)
{
	long l;
	int r = xp_cfg_get_long(cfg, name, &l);
	if (r < 0)
		return r;
	*out = l != 0;
	return 0;
}

int xp_cfg_get_list(const struct xp_cfg *cfg, const char *name, const struct xp_cfg_value **out)
{
	const struct setting *s = find(cfg, name);
	if (!s)
		return -ENOENT;
	if (s->value.type != XP_CFG_LIST)
		return -EINVAL;
	*out = &s->value;
	return 0;
}
