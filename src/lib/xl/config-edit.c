/*
 * config-edit.c - writing config-language values safely and editing a parsed config
 * in place: `set` and `unset` splice only the bytes of the statements they change,
 * then the tree is read again from the new text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xl/config-internal.h"

bool xp_cfg_name_valid(const char *name)
{
	if (!name || !(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_'))
			return false;
	return true;
}

int xp_cfg_quote(struct xp_buf *out, const char *s, size_t len)
{
	if (memchr(s, 0, len))
		return -EINVAL;
	/* Double quotes unless the text has a double quote and no single one. */
	char q = memchr(s, '"', len) && !memchr(s, '\'', len) ? '\'' : '"';
	xp_buf_addc(out, q);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		const char *esc = NULL;
		switch (c) {
		case '\\':
			esc = "\\\\";
			break;
		case '\n': /* a raw newline would end the string for Xen's lexer */
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\a':
			esc = "\\a";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\v':
			esc = "\\v";
			break;
		default:
			if (c == q)
				esc = q == '"' ? "\\\"" : "\\'";
		}
		if (esc)
			xp_buf_adds(out, esc);
		else
			xp_buf_addc(out, c); /* other bytes, non-ASCII included, are literal */
	}
	xp_buf_addc(out, q);
	return xp_buf_error(out);
}

int xp_cfg_write_value(struct xp_buf *out, const struct xp_cfg_value *v)
{
	size_t n = xp_cfg_value_len(v);
	switch (v->type) {
	case XP_CFG_STRING:
		return xp_cfg_quote(out, v->u.str, strlen(v->u.str));
	case XP_CFG_NUMBER:
		xp_buf_adds(out, v->u.str);
		return xp_buf_error(out);
	case XP_CFG_LIST:
		if (n == 0) {
			xp_buf_adds(out, "[]");
			return xp_buf_error(out);
		}
		xp_buf_adds(out, "[ ");
		for (size_t i = 0; i < n; i++) {
			if (i)
				xp_buf_adds(out, ", ");
			int r = xp_cfg_write_value(out, &v->u.list->v[i]);
			if (r < 0)
				return r;
		}
		xp_buf_adds(out, " ]");
		return xp_buf_error(out);
	}
	return -EINVAL;
}

int xp_cfg_parse_value(const char *text, char **canon)
{
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, "v = ");
	xp_buf_adds(&b, text);
	xp_buf_addc(&b, '\n');
	if (xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ENOMEM;
	}
	struct xp_cfg *cfg;
	int r = xp_cfg_parse(b.s, b.len, NULL, NULL, &cfg);
	xp_buf_release(&b);
	if (r == -ENOMEM || r == -EFBIG)
		return r;
	size_t stmts = 0;
	for (size_t i = 0; i < cfg->nitems; i++)
		stmts += cfg->items[i].kind == IT_STMT;
	if (r < 0 || stmts != 1 || cfg->nset != 1) {
		xp_cfg_free(cfg);
		return -EBADMSG;
	}
	struct xp_buf o = XP_BUF_INIT;
	r = xp_cfg_write_value(&o, &cfg->set[0].value);
	xp_cfg_free(cfg);
	if (r < 0) {
		xp_buf_release(&o);
		return r;
	}
	*canon = xp_buf_steal(&o);
	return *canon ? 0 : -ENOMEM;
}

/* Replaces the text and reads it again. On failure the old state is kept. */
static int replace_text(struct xp_cfg *cfg, char *text, size_t len)
{
	if (len > XP_CFG_MAX_SIZE) { /* it could not be read back */
		free(text);
		return -EFBIG;
	}
	struct xp_cfg tmp = {.filename = cfg->filename, .text = text, .len = len};
	int r = xp__cfg_parse_text(&tmp, NULL);
	if (r < 0) { /* an edit must never turn a good file bad */
		tmp.filename = NULL;
		xp__cfg_reset(&tmp);
		free(text);
		return r == -ENOMEM || r == -EFBIG ? r : -EBADMSG;
	}
	xp__cfg_reset(cfg);
	free(cfg->text);
	*cfg = tmp;
	return 0;
}

static int stmt_is(const struct xp_cfg *cfg, const struct item *it, const char *name, size_t len)
{
	return it->kind == IT_STMT && tk_len(cfg, it->tok) == len &&
	       memcmp(cfg->text + tk_off(cfg, it->tok), name, len) == 0;
}

int xp_cfg_set(struct xp_cfg *cfg, const char *name, const char *value_text)
{
	if (!xp_cfg_name_valid(name))
		return -EINVAL;
	if (cfg->errors)
		return -EBADMSG;
	char *canon = NULL;
	int r = xp_cfg_parse_value(value_text, &canon);
	if (r < 0)
		return r;

	const struct item *last = NULL;
	size_t nlen = strlen(name);
	for (size_t i = cfg->nitems; i-- > 0;)
		if (stmt_is(cfg, &cfg->items[i], name, nlen)) {
			last = &cfg->items[i];
			break;
		}

	struct xp_buf b = XP_BUF_INIT;
	if (last) {
		/* keep everything but the operator and the value's bytes */
		size_t op = tk_off(cfg, last->op_tok), op_end = tk_end(cfg, last->op_tok);
		size_t vstart = tk_off(cfg, last->value);
		size_t vend = tk_end(cfg, value_end(cfg, last) - 1);
		if (xp_buf_reserve(&b, cfg->len + strlen(canon) + 1) == 0) {
			xp_buf_add(&b, cfg->text, op);
			xp_buf_addc(&b, '=');
			xp_buf_add(&b, cfg->text + op_end, vstart - op_end);
			xp_buf_adds(&b, canon);
			xp_buf_add(&b, cfg->text + vend, cfg->len - vend);
		}
	} else {
		/* a stray last byte is ignored by xl only while it is last: drop it */
		size_t keep = cfg->len;
		if (cfg->ntoks >= 2 && tk_kind(cfg, cfg->ntoks - 2) == TK_ERROR &&
		    tk_end(cfg, cfg->ntoks - 2) == cfg->len)
			keep = tk_off(cfg, cfg->ntoks - 2);
		xp_buf_add(&b, cfg->text, keep);
		if (keep && cfg->text[keep - 1] != '\n')
			xp_buf_addc(&b, '\n');
		xp_buf_addf(&b, "%s = %s\n", name, canon);
	}
	free(canon);
	if (xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ENOMEM;
	}
	size_t len = b.len;
	return replace_text(cfg, xp_buf_steal(&b), len);
}

struct span {
	size_t from, to;
};

/* The bytes to delete to remove one statement: its whole line(s) when it stands alone,
 * else the statement and its ';'. */
static struct span stmt_span(const struct xp_cfg *cfg, const struct item *it)
{
	const char *s = cfg->text;
	size_t start = tk_off(cfg, it->first);
	size_t end = tk_end(cfg, it->last - 1);
	size_t ls = start;
	while (ls > 0 && s[ls - 1] != '\n')
		ls--;
	int alone_before = 1;
	for (size_t k = ls; k < start; k++)
		if (s[k] != ' ' && s[k] != '\t')
			alone_before = 0;

	size_t k = it->last;
	while (tk_kind(cfg, k) == TK_SPACE)
		k++;
	int semi = tk_kind(cfg, k) == TK_SEMI;
	size_t after_semi = k;
	if (semi) {
		k++;
		while (tk_kind(cfg, k) == TK_SPACE)
			k++;
		after_semi = k;
	}
	size_t eol = k;
	if (tk_kind(cfg, eol) == TK_COMMENT)
		eol++;
	int alone_after = tk_kind(cfg, eol) == TK_NEWLINE || tk_kind(cfg, eol) == TK_EOF;

	if (alone_before && alone_after)
		return (struct span){ls, tk_end(cfg, eol)};
	if (semi)
		return (struct span){start, tk_off(cfg, after_semi)};
	/* `a = 1; b = 2`: remove b and the blanks before it */
	size_t from = start;
	while (from > ls && (s[from - 1] == ' ' || s[from - 1] == '\t'))
		from--;
	return (struct span){from, end};
}

int xp_cfg_unset(struct xp_cfg *cfg, const char *name)
{
	if (!xp_cfg_name_valid(name))
		return -EINVAL;
	if (cfg->errors)
		return -EBADMSG;
	struct xp_buf b = XP_BUF_INIT;
	size_t pos = 0, found = 0, nlen = strlen(name);
	for (size_t i = 0; i < cfg->nitems; i++) {
		if (!stmt_is(cfg, &cfg->items[i], name, nlen))
			continue;
		struct span sp = stmt_span(cfg, &cfg->items[i]);
		if (sp.from < pos)
			sp.from = pos;
		xp_buf_add(&b, cfg->text + pos, sp.from - pos);
		pos = sp.to > pos ? sp.to : pos;
		found++;
	}
	if (!found) {
		xp_buf_release(&b);
		return -ENOENT;
	}
	xp_buf_add(&b, cfg->text + pos, cfg->len - pos);
	if (xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ENOMEM;
	}
	size_t len = b.len;
	return replace_text(cfg, xp_buf_steal(&b), len);
}
