/*
 * config-format.c - the one canonical layout of an xl config (`xenprov config fmt`):
 *   - one `name = value` per line (`;`-joined statements are split);
 *   - comments kept: whole-line ones on their own line, trailing ones after one space;
 *   - runs of blank lines collapsed to one, none at the start or end;
 *   - strings re-quoted by xp_cfg_quote (double quotes unless the text has some);
 *   - a list on one line `[ a, b ]` when it has no comments and fits in 80 columns,
 *     else one item per line, indented by 4, each followed by a comma.
 * With XP_CFG_FMT_FIX it first repairs CR LF line endings and a missing final newline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xl/config-internal.h"

#define WIDTH 80

static void put_comment(struct xp_buf *out, const struct xp_cfg *cfg, uint32_t tok)
{
	const struct tok *t = &cfg->toks[tok];
	size_t len = t->len;
	while (len > 1 && (cfg->text[t->off + len - 1] == ' ' || cfg->text[t->off + len - 1] == '\t'))
		len--;
	xp_buf_add(out, cfg->text + t->off, len);
}

static int render(struct xp_buf *out, const struct xp_cfg *cfg, const struct snode *n,
		  size_t indent, size_t col, int oneline);

static int has_comments(const struct snode *n)
{
	for (size_t i = 0; i < n->n; i++)
		if (!n->e[i].item || (n->e[i].item->is_list && has_comments(n->e[i].item)))
			return 1;
	return 0;
}

static void put_indent(struct xp_buf *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xp_buf_addc(out, ' ');
}

static int render(struct xp_buf *out, const struct xp_cfg *cfg, const struct snode *n,
		  size_t indent, size_t col, int oneline)
{
	const struct tok *t = &cfg->toks[n->tok];
	if (!n->is_list) {
		if (t->kind == TK_STRING)
			return xp_cfg_quote(out, t->str ? t->str : "", t->str ? t->str_len : 0);
		xp_buf_add(out, cfg->text + t->off, t->len);
		return xp_buf_error(out);
	}
	if (n->n == 0) {
		xp_buf_adds(out, "[]");
		return xp_buf_error(out);
	}
	if (!has_comments(n)) {
		/* try one line */
		struct xp_buf one = XP_BUF_INIT;
		xp_buf_adds(&one, "[ ");
		int r = 0;
		for (size_t i = 0; i < n->n && r == 0; i++) {
			if (i)
				xp_buf_adds(&one, ", ");
			r = render(&one, cfg, n->e[i].item, 0, 0, 1);
		}
		xp_buf_adds(&one, " ]");
		if (r == 0)
			r = xp_buf_error(&one);
		if (r < 0) {
			xp_buf_release(&one);
			return r;
		}
		if (oneline || col + one.len <= WIDTH) {
			xp_buf_add(out, one.s, one.len);
			xp_buf_release(&one);
			return xp_buf_error(out);
		}
		xp_buf_release(&one);
	}
	xp_buf_addc(out, '[');
	int open = 1; /* the current line may still take a trailing comment */
	for (size_t i = 0; i < n->n; i++) {
		const struct sentry *e = &n->e[i];
		if (!e->item && e->trailing && open) {
			xp_buf_addc(out, ' ');
			put_comment(out, cfg, e->comment);
			xp_buf_addc(out, '\n');
			open = 0;
			continue;
		}
		if (open)
			xp_buf_addc(out, '\n');
		put_indent(out, indent + 4);
		if (!e->item) {
			put_comment(out, cfg, e->comment);
			xp_buf_addc(out, '\n');
			open = 0;
			continue;
		}
		int r = render(out, cfg, e->item, indent + 4, indent + 4, 0);
		if (r < 0)
			return r;
		xp_buf_addc(out, ',');
		open = 1;
	}
	if (open)
		xp_buf_addc(out, '\n');
	put_indent(out, indent);
	xp_buf_addc(out, ']');
	return xp_buf_error(out);
}

static int format_tree(const struct xp_cfg *cfg, struct xp_buf *out)
{
	int pending_blank = 0;
	for (size_t i = 0; i < cfg->nitems; i++) {
		const struct item *it = &cfg->items[i];
		switch (it->kind) {
		case IT_BLANK:
			if (out->len)
				pending_blank = 1;
			break;
		case IT_COMMENT:
			if (it->trailing && out->len && out->s[out->len - 1] == '\n') {
				xp_buf_truncate(out, out->len - 1);
				xp_buf_addc(out, ' ');
			} else if (pending_blank) {
				xp_buf_addc(out, '\n');
			}
			pending_blank = 0;
			put_comment(out, cfg, it->tok);
			xp_buf_addc(out, '\n');
			break;
		case IT_STMT: {
			if (pending_blank)
				xp_buf_addc(out, '\n');
			pending_blank = 0;
			const struct tok *nt = &cfg->toks[it->tok];
			xp_buf_add(out, cfg->text + nt->off, nt->len);
			xp_buf_adds(out, it->append ? " += " : " = ");
			int r = render(out, cfg, it->value, 0, nt->len + 4, 0);
			if (r < 0)
				return r;
			xp_buf_addc(out, '\n');
			break;
		}
		}
	}
	return xp_buf_error(out);
}

int xp_cfg_format(const struct xp_cfg *cfg, unsigned flags, struct xp_buf *out)
{
	if (!cfg->errors)
		return format_tree(cfg, out);
	if (!(flags & XP_CFG_FMT_FIX))
		return -EBADMSG;

	/* repair, then format the repaired text */
	struct xp_buf fixed = XP_BUF_INIT;
	for (size_t i = 0; i < cfg->len; i++) {
		if (cfg->text[i] == '\r' && i + 1 < cfg->len && cfg->text[i + 1] == '\n')
			continue;
		xp_buf_addc(&fixed, cfg->text[i]);
	}
	if (fixed.len && fixed.s[fixed.len - 1] != '\n')
		xp_buf_addc(&fixed, '\n');
	if (xp_buf_error(&fixed)) {
		xp_buf_release(&fixed);
		return -ENOMEM;
	}
	struct xp_cfg *again;
	int r = xp_cfg_parse(xp_buf_str(&fixed), fixed.len, cfg->filename, NULL, &again);
	xp_buf_release(&fixed);
	if (r == 0)
		r = format_tree(again, out);
	xp_cfg_free(again);
	return r;
}
