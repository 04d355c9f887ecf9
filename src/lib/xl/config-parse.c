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
#include <stdlib.h>
#include <string.h>

#include "xl/config-internal.h"

struct parser {
	struct xp_cfg *cfg;
	size_t pos;
	int nl_since_item;
};

static struct tok *cur(struct parser *p)
{
	return &p->cfg->toks[p->pos];
}

/* Skips spaces and bytes the lexer already rejected (Xen's scanner drops them too). */
static struct tok *skip_space(struct parser *p)
{
	while (p->cfg->toks[p->pos].kind == TK_SPACE || p->cfg->toks[p->pos].kind == TK_ERROR)
		p->pos++;
	return cur(p);
}

static void snode_free(struct snode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		snode_free(n->e[i].item);
	free(n->e);
	free(n);
}

static int snode_add(struct snode *n, struct sentry e)
{
	if (n->n == n->cap) {
		size_t ncap = n->cap ? n->cap * 2 : 4;
		struct sentry *ne = realloc(n->e, ncap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		n->e = ne;
		n->cap = ncap;
	}
	n->e[n->n++] = e;
	return 0;
}

static int add_item(struct xp_cfg *cfg, struct item it)
{
	if (cfg->nitems == cfg->capitems) {
		size_t ncap = cfg->capitems ? cfg->capitems * 2 : 32;
		struct item *ni = realloc(cfg->items, ncap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		cfg->items = ni;
		cfg->capitems = ncap;
	}
	cfg->items[cfg->nitems++] = it;
	return 0;
}

static const char *tok_name(const struct tok *t)
{
	switch (t->kind) {
	case TK_IDENT:
		return "a name";
	case TK_NUMBER:
		return "a number";
	case TK_STRING:
		return "a string";
	case TK_LBRACK:
		return "'['";
	case TK_RBRACK:
		return "']'";
	case TK_COMMA:
		return "','";
	case TK_EQ:
		return "'='";
	case TK_PLUSEQ:
		return "'+='";
	case TK_SEMI:
		return "';'";
	case TK_NEWLINE:
		return "the end of the line";
	case TK_EOF:
		return "the end of the file";
	default:
		return "text";
	}
}

/* nl*: newlines and the comments before them, recorded in list n. */
static int skip_newlines(struct parser *p, struct snode *n)
{
	for (;;) {
		struct tok *t = skip_space(p);
		if (t->kind == TK_COMMENT) {
			struct sentry e = {.item = NULL,
					   .comment = (uint32_t)p->pos,
					   .trailing = !p->nl_since_item && n->n > 0};
			if (snode_add(n, e) < 0)
				return -ENOMEM;
			p->pos++;
		} else if (t->kind == TK_NEWLINE) {
			p->nl_since_item = 1;
			p->pos++;
		} else {
			return 0;
		}
	}
}

/* Returns the value node, NULL after reporting a syntax error (or on ENOMEM, with
 * *oom set). */
static struct snode *parse_value(struct parser *p, int depth, int *oom)
{
	struct xp_cfg *cfg = p->cfg;
	struct tok *t = skip_space(p);
	struct snode *n = calloc(1, sizeof(*n));
	if (!n) {
		*oom = 1;
		return NULL;
	}
	n->tok = (uint32_t)p->pos;
	if (t->kind == TK_STRING || t->kind == TK_NUMBER) {
		p->pos++;
		n->end = (uint32_t)p->pos;
		return n;
	}
	if (t->kind != TK_LBRACK) {
		if (t->kind == TK_IDENT) {
			struct tok *nt = &cfg->toks[p->pos + 1];
			if (nt->kind == TK_LBRACK)
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "python",
					     "write the value itself; xl configs are no "
					     "longer Python",
					     "a name is not a value: this looks like Python "
					     "indexing");
			else
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "bare-word",
					     "quote it: \"...\"",
					     "a bare word is not a value; strings must be "
					     "quoted");
		} else {
			xp__cfg_diag(cfg, XP_SEV_ERROR, t, "syntax", NULL,
				     "expected a value (a quoted string, a number or a "
				     "[list]), found %s",
				     tok_name(t));
		}
		free(n);
		return NULL;
	}
	if (depth >= XP_CFG_MAX_DEPTH) {
		xp__cfg_diag(cfg, XP_SEV_ERROR, t, "depth", NULL,
			     "lists nested more than %d deep", XP_CFG_MAX_DEPTH);
		free(n);
		return NULL;
	}
	n->is_list = 1;
	p->pos++;
	p->nl_since_item = 1;
	if (skip_newlines(p, n) < 0)
		goto oom;
	if (cur(p)->kind == TK_RBRACK) {
		p->pos++;
		n->end = (uint32_t)p->pos;
		return n;
	}
	for (;;) {
		struct snode *item = parse_value(p, depth + 1, oom);
		if (!item)
			goto fail;
		if (snode_add(n, (struct sentry){.item = item}) < 0) {
			snode_free(item);
			goto oom;
		}
		p->nl_since_item = 0;
		if (skip_newlines(p, n) < 0)
			goto oom;
		t = cur(p);
		if (t->kind == TK_COMMA) {
			p->pos++;
			if (skip_newlines(p, n) < 0)
				goto oom;
			if (cur(p)->kind == TK_RBRACK)
				break;
			continue;
		}
		if (t->kind == TK_RBRACK)
			break;
		if (t->kind == TK_EOF)
			xp__cfg_diag(cfg, XP_SEV_ERROR, &cfg->toks[n->tok], "syntax", NULL,
				     "this list is not closed: ']' missing");
		else
			xp__cfg_diag(cfg, XP_SEV_ERROR, t, "syntax",
				     t->kind == TK_STRING || t->kind == TK_NUMBER
					     ? "separate list items with ','"
					     : NULL,
				     "expected ',' or ']' in a list, found %s", tok_name(t));
		goto fail;
	}
	p->pos++; /* ']' */
	n->end = (uint32_t)p->pos;
	return n;
oom:
	*oom = 1;
fail:
	snode_free(n);
	return NULL;
}

static int is_python_keyword(const struct xp_cfg *cfg, const struct tok *t)
{
	static const char *const kw[] = {"import", "from", "def", "if", "for", "while",
					 "print", "class", "else", "elif", "return", "try",
					 "except", "with", "lambda", NULL};
	for (const char *const *k = kw; *k; k++)
		if (strlen(*k) == t->len && memcmp(cfg->text + t->off, *k, t->len) == 0)
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
		if (cfg->toks[i].kind == TK_LBRACK)
			depth++;
		else if (cfg->toks[i].kind == TK_RBRACK)
			depth--;
	}
	for (;;) {
		struct tok *t = cur(p);
		if (t->kind == TK_EOF)
			return;
		if (t->kind == TK_LBRACK)
			depth++;
		else if (t->kind == TK_RBRACK)
			depth--;
		else if (t->kind == TK_NEWLINE) {
			if (depth <= 0)
				return;
			size_t k = p->pos + 1;
			while (cfg->toks[k].kind == TK_SPACE)
				k++;
			if (cfg->toks[k].kind == TK_IDENT) {
				k++;
				while (cfg->toks[k].kind == TK_SPACE)
					k++;
				if (cfg->toks[k].kind == TK_EQ || cfg->toks[k].kind == TK_PLUSEQ)
					return;
			}
		}
		p->pos++;
	}
}

static int parse_tokens(struct xp_cfg *cfg)
{
	struct parser p = {.cfg = cfg};
	int line_has_content = 0;
	uint32_t last_stmt_line = 0;
	int oom = 0;

	for (;;) {
		struct tok *t = skip_space(&p);
		switch (t->kind) {
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
			struct item it = {.kind = IT_COMMENT,
					  .tok = (uint32_t)p.pos,
					  .trailing = line_has_content && last_stmt_line == t->line};
			if (add_item(cfg, it) < 0)
				return -ENOMEM;
			line_has_content = 1;
			p.pos++;
			continue;
		}
		case TK_IDENT:
			break;
		default:
			xp__cfg_diag(cfg, XP_SEV_ERROR, t, "syntax", NULL,
				     "expected a setting name, found %s", tok_name(t));
			recover(&p, p.pos);
			line_has_content = 1;
			continue;
		}

		/* assignment */
		size_t first = p.pos;
		struct item it = {.kind = IT_STMT, .tok = (uint32_t)p.pos, .first = (uint32_t)first};
		line_has_content = 1;
		p.pos++;
		struct tok *op = skip_space(&p);
		if (op->kind != TK_EQ && op->kind != TK_PLUSEQ) {
			struct tok *name = &cfg->toks[first];
			if (op->kind == TK_LBRACK)
				xp__cfg_diag(cfg, XP_SEV_ERROR, op, "python",
					     "assign the whole list: name = [ ... ]",
					     "indexing a setting looks like Python; xl does not "
					     "run Python");
			else if (is_python_keyword(cfg, name))
				xp__cfg_diag(cfg, XP_SEV_ERROR, name, "python",
					     "arbitrary Python is no longer supported in xl "
					     "configs",
					     "this looks like Python");
			else
				xp__cfg_diag(cfg, XP_SEV_ERROR, op, "syntax", NULL,
					     "expected '=' or '+=' after the name '%.*s', found %s",
					     (int)name->len, cfg->text + name->off, tok_name(op));
			it.broken = 1;
			recover(&p, first);
			it.last = (uint32_t)p.pos;
			if (add_item(cfg, it) < 0)
				return -ENOMEM;
			continue;
		}
		it.op_tok = (uint32_t)p.pos;
		it.append = op->kind == TK_PLUSEQ;
		p.pos++;
		it.value = parse_value(&p, 0, &oom);
		if (oom)
			return -ENOMEM;
		if (!it.value) {
			it.broken = 1;
			recover(&p, first);
			it.last = (uint32_t)p.pos;
			if (add_item(cfg, it) < 0)
				return -ENOMEM;
			continue;
		}
		it.last = it.value->end;
		last_stmt_line = cfg->toks[it.last - 1].line;
		struct tok *e = skip_space(&p);
		if (e->kind != TK_NEWLINE && e->kind != TK_SEMI && e->kind != TK_EOF &&
		    e->kind != TK_COMMENT) {
			xp__cfg_diag(cfg, XP_SEV_ERROR, e, "syntax",
				     e->kind == TK_IDENT || e->kind == TK_STRING ||
						     e->kind == TK_NUMBER
					     ? "one value per setting; end a statement with a "
					       "newline or ';'"
					     : NULL,
				     "expected the end of the statement, found %s", tok_name(e));
			it.broken = 1;
			recover(&p, first);
		}
		if (add_item(cfg, it) < 0) {
			snode_free(it.value);
			return -ENOMEM;
		}
	}
}

/* ---- effective settings ----------------------------------------------------------- */

void xp__cfg_value_free(struct xp_cfg_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		xp__cfg_value_free(v->items[i]);
	free(v->items);
	free(v->str);
	free(v);
}

static struct xp_cfg_value *build_value(struct xp_cfg *cfg, const struct snode *n, int *bad)
{
	struct xp_cfg_value *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	const struct tok *t = &cfg->toks[n->tok];
	v->line = t->line;
	v->col = t->col;
	if (!n->is_list) {
		if (t->kind == TK_STRING) {
			v->type = XP_CFG_STRING;
			if (!t->str) {
				*bad = 1; /* undecodable string, already reported */
				v->str = strdup("");
			} else {
				v->str = malloc(t->str_len + 1);
				if (v->str)
					memcpy(v->str, t->str, t->str_len + 1);
			}
			v->str_len = t->str ? t->str_len : 0;
		} else {
			v->type = XP_CFG_NUMBER;
			v->str = strndup(cfg->text + t->off, t->len);
			v->str_len = t->len;
		}
		if (!v->str) {
			free(v);
			return NULL;
		}
		return v;
	}
	v->type = XP_CFG_LIST;
	size_t count = 0;
	for (size_t i = 0; i < n->n; i++)
		count += n->e[i].item != NULL;
	v->items = calloc(count ? count : 1, sizeof(*v->items));
	if (!v->items) {
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++) {
		if (!n->e[i].item)
			continue;
		struct xp_cfg_value *c = build_value(cfg, n->e[i].item, bad);
		if (!c) {
			xp__cfg_value_free(v);
			return NULL;
		}
		v->items[v->n++] = c;
	}
	return v;
}

static uint32_t hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Open-addressing index name -> setting, so large files stay linear. */
struct index {
	uint32_t *slot; /* setting index + 1, 0 = empty */
	size_t cap;
};

static struct setting *index_find(const struct xp_cfg *cfg, const struct index *ix,
				  const char *name, size_t len, size_t *slot_out)
{
	size_t mask = ix->cap - 1, k = hash_name(name, len) & mask;
	while (ix->slot[k]) {
		struct setting *s = &cfg->set[ix->slot[k] - 1];
		if (strlen(s->name) == len && memcmp(s->name, name, len) == 0) {
			*slot_out = k;
			return s;
		}
		k = (k + 1) & mask;
	}
	*slot_out = k;
	return NULL;
}

static int concat(struct xp_cfg *cfg, struct setting *s, struct xp_cfg_value *add,
		  const struct item *it)
{
	struct xp_cfg_value *prev = s->value;
	if ((prev->type == XP_CFG_LIST) != (add->type == XP_CFG_LIST)) {
		xp__cfg_diag(cfg, XP_SEV_ERROR, &cfg->toks[it->op_tok], "append-type",
			     "use '=' to replace the value, or append a value of the same kind",
			     "'+=' cannot add a %s to a %s ('%s' is a %s from line %u)",
			     add->type == XP_CFG_LIST ? "list" : "string",
			     prev->type == XP_CFG_LIST ? "list" : "string", s->name,
			     prev->type == XP_CFG_LIST ? "list" : "string", s->line);
		return 1;
	}
	if (add->type == XP_CFG_LIST) {
		size_t total = prev->n + add->n;
		struct xp_cfg_value **ni = realloc(prev->items, (total ? total : 1) * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		prev->items = ni;
		memcpy(prev->items + prev->n, add->items, add->n * sizeof(*ni));
		prev->n = total;
		add->n = 0;
		xp__cfg_value_free(add);
		return 0;
	}
	char *ns = malloc(prev->str_len + add->str_len + 1);
	if (!ns)
		return -ENOMEM;
	memcpy(ns, prev->str, prev->str_len);
	memcpy(ns + prev->str_len, add->str, add->str_len + 1);
	free(prev->str);
	prev->str = ns;
	prev->str_len += add->str_len;
	prev->type = XP_CFG_STRING; /* "1" += "2" is the string "12", not a number */
	xp__cfg_value_free(add);
	return 0;
}

static int compute_settings(struct xp_cfg *cfg)
{
	struct index ix = {0};
	ix.cap = 64;
	while (ix.cap < cfg->nitems * 2)
		ix.cap *= 2;
	ix.slot = calloc(ix.cap, sizeof(*ix.slot));
	if (!ix.slot)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; i < cfg->nitems; i++) {
		const struct item *it = &cfg->items[i];
		if (it->kind != IT_STMT || it->broken || !it->value)
			continue;
		int bad = 0;
		struct xp_cfg_value *v = build_value(cfg, it->value, &bad);
		if (!v) {
			r = -ENOMEM;
			break;
		}
		const struct tok *nt = &cfg->toks[it->tok];
		const char *name = cfg->text + nt->off;
		size_t slot;
		struct setting *s = index_find(cfg, &ix, name, nt->len, &slot);
		if (!s) {
			if (cfg->nset == cfg->capset) {
				size_t ncap = cfg->capset ? cfg->capset * 2 : 32;
				struct setting *ns = realloc(cfg->set, ncap * sizeof(*ns));
				if (!ns) {
					xp__cfg_value_free(v);
					r = -ENOMEM;
					break;
				}
				cfg->set = ns;
				cfg->capset = ncap;
			}
			s = &cfg->set[cfg->nset];
			memset(s, 0, sizeof(*s));
			s->name = strndup(name, nt->len);
			if (!s->name) {
				xp__cfg_value_free(v);
				r = -ENOMEM;
				break;
			}
			s->value = v;
			cfg->nset++;
			ix.slot[slot] = (uint32_t)cfg->nset;
		} else if (it->append) {
			int c = concat(cfg, s, v, it);
			if (c < 0) {
				xp__cfg_value_free(v);
				r = c;
				break;
			}
			if (c > 0) {
				xp__cfg_value_free(v);
				continue;
			}
		} else {
			xp__cfg_value_free(s->value);
			s->value = v;
		}
		s->line = nt->line;
		s->count++;
		s->last_append = it->append;
		s->ever_append |= it->append;
	}
	free(ix.slot);
	return r;
}

void xp__cfg_reset(struct xp_cfg *cfg)
{
	for (size_t i = 0; i < cfg->ntoks; i++)
		free(cfg->toks[i].str);
	free(cfg->toks);
	cfg->toks = NULL;
	cfg->ntoks = cfg->captoks = 0;
	for (size_t i = 0; i < cfg->nitems; i++)
		snode_free(cfg->items[i].value);
	free(cfg->items);
	cfg->items = NULL;
	cfg->nitems = cfg->capitems = 0;
	for (size_t i = 0; i < cfg->nset; i++) {
		free(cfg->set[i].name);
		xp__cfg_value_free(cfg->set[i].value);
	}
	free(cfg->set);
	cfg->set = NULL;
	cfg->nset = cfg->capset = 0;
	cfg->errors = cfg->lexical_errors = 0;
	free(cfg->lex_lines);
	cfg->lex_lines = NULL;
	cfg->nlex_lines = cfg->caplex_lines = 0;
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

int xp_cfg_parse(const char *data, size_t len, const char *filename, struct xp_diags *diags,
		 struct xp_cfg **ret)
{
	*ret = NULL;
	if (len > XP_CFG_MAX_SIZE) {
		if (diags)
			xp_diags_add(diags, XP_SEV_ERROR, filename, 0, 0, "too-big", NULL, NULL,
				     "file is larger than %u bytes", XP_CFG_MAX_SIZE);
		return -EFBIG;
	}
	struct xp_cfg *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->text = malloc(len + 1);
	cfg->filename = filename ? strdup(filename) : NULL;
	if (!cfg->text || (filename && !cfg->filename)) {
		xp_cfg_free(cfg);
		return -ENOMEM;
	}
	if (len)
		memcpy(cfg->text, data, len);
	cfg->text[len] = 0;
	cfg->len = len;
	int r = xp__cfg_parse_text(cfg, diags);
	if (r == -ENOMEM) {
		xp_cfg_free(cfg);
		return r;
	}
	*ret = cfg;
	return r;
}

int xp_cfg_load(const char *path, struct xp_diags *diags, struct xp_cfg **ret)
{
	char *data = NULL;
	size_t len = 0;
	*ret = NULL;
	int r = xp_read_file(path, XP_CFG_MAX_SIZE, &data, &len);
	if (r < 0)
		return r;
	r = xp_cfg_parse(data, len, path, diags, ret);
	free(data);
	return r;
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
	return i < cfg->nset ? cfg->set[i].value : NULL;
}

static const struct setting *find(const struct xp_cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nset; i++)
		if (strcmp(cfg->set[i].name, name) == 0)
			return &cfg->set[i];
	return NULL;
}

const struct xp_cfg_value *xp_cfg_lookup(const struct xp_cfg *cfg, const char *name)
{
	const struct setting *s = find(cfg, name);
	return s ? s->value : NULL;
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
	return v->type;
}

const char *xp_cfg_value_str(const struct xp_cfg_value *v)
{
	return v->type == XP_CFG_LIST ? NULL : v->str;
}

int xp_cfg_value_long(const struct xp_cfg_value *v, long *out)
{
	if (v->type == XP_CFG_LIST)
		return -EISDIR;
	/* as xlu_cfg_get_long: strtol base 0 over the whole text */
	char *ep;
	errno = 0;
	long l = strtol(v->str, &ep, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || ep == v->str || *ep)
		return -EINVAL;
	*out = l;
	return 0;
}

size_t xp_cfg_value_len(const struct xp_cfg_value *v)
{
	return v->type == XP_CFG_LIST ? v->n : 0;
}

const struct xp_cfg_value *xp_cfg_value_item(const struct xp_cfg_value *v, size_t i)
{
	return v->type == XP_CFG_LIST && i < v->n ? v->items[i] : NULL;
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
	if (s->value->type == XP_CFG_LIST)
		return -EINVAL;
	*out = s->value->str;
	return 0;
}

int xp_cfg_get_long(const struct xp_cfg *cfg, const char *name, long *out)
{
	const struct setting *s = find(cfg, name);
	if (!s)
		return -ENOENT;
	if (s->value->type == XP_CFG_LIST || s->last_append)
		return -EINVAL; /* xl: "can't use += with numbers" */
	int r = xp_cfg_value_long(s->value, out);
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
	if (s->value->type != XP_CFG_LIST)
		return -EINVAL;
	*out = s->value;
	return 0;
}
