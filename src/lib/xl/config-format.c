/*
 * config-format.c - the one canonical layout of an xl config (`xenprov config fmt`):
 *   - one `name = value` per line (`;`-joined statements are split);
 *   - comments kept: whole-line ones on their own line, trailing ones after one space;
 *   - runs of blank lines collapsed to one, none at the start or end;
 *   - strings re-quoted by xp_cfg_quote (double quotes unless the text has some);
 *   - a list on one line `[ a, b ]` when it has no comments and fits in 80 columns,
 *     else one item per line, indented by 4 a level, each followed by a comma; past 8
 *     levels the indentation stops growing, so that the output stays linear in the
 *     input (lists may nest 1,000 deep: 4 columns a level would write megabytes of
 *     spaces for a few kilobytes of brackets).
 * With XP_CFG_FMT_FIX it first repairs CR LF line endings and a missing final newline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xl/config-internal.h"

#define WIDTH      80
#define MAX_INDENT 32

struct fmt {
	const struct xp_cfg *cfg;
	struct xp_buf *out;
	struct xp_buf scratch; /* decoded strings */
	struct xp_buf atom;    /* an atom measured */
	size_t *oneline;       /* per list record: its length on one line */
};

static void put_comment(struct xp_buf *out, const struct xp_cfg *cfg, uint32_t tok)
{
	const char *s = cfg->text + tk_off(cfg, tok);
	size_t len = tk_len(cfg, tok);
	while (len > 1 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	xp_buf_add(out, s, len);
}

static void put_indent(struct xp_buf *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xp_buf_addc(out, ' ');
}

static int put_atom(struct fmt *f, struct xp_buf *out, uint32_t tok)
{
	const struct xp_cfg *cfg = f->cfg;
	uint32_t len = tk_len(cfg, tok);
	if (tk_kind(cfg, tok) != TK_STRING) {
		xp_buf_add(out, cfg->text + tk_off(cfg, tok), len);
		return xp_buf_error(out);
	}
	xp_buf_truncate(&f->scratch, 0);
	if (xp_buf_reserve(&f->scratch, len) < 0)
		return -ENOMEM;
	int n = xp__cfg_decode(cfg, tok, f->scratch.s);
	return xp_cfg_quote(out, f->scratch.s, n < 0 ? 0 : (size_t)n);
}

/* The length of each list written on one line, "[ a, b ]", computed once for all, so
 * that deciding whether a list fits never renders it (nested lists would otherwise be
 * rendered again at every level). */
static int measure(struct fmt *f, uint32_t list, size_t *len)
{
	struct list_walk w;
	struct lent e;
	size_t total = 0, n = 0;
	xp__list_walk_init(&w, f->cfg, list);
	while (xp__list_next(&w, &e)) {
		if (e.kind == ENT_COMMENT)
			continue;
		size_t l;
		if (e.kind == ENT_LIST) {
			int r = measure(f, e.list, &l);
			if (r < 0)
				return r;
		} else if (tk_kind(f->cfg, e.tok) != TK_STRING) {
			l = tk_len(f->cfg, e.tok);
		} else {
			xp_buf_truncate(&f->atom, 0);
			int r = put_atom(f, &f->atom, e.tok);
			if (r < 0)
				return r;
			l = f->atom.len;
		}
		total += l + (n++ ? 2 : 0);
	}
	*len = f->oneline[list] = n ? total + 4 : 2;
	return 0;
}

static int render(struct fmt *f, uint32_t tok, uint32_t list, size_t indent, size_t col,
		  int oneline)
{
	const struct xp_cfg *cfg = f->cfg;
	struct xp_buf *out = f->out;
	if (list == NO_LIST)
		return put_atom(f, out, tok);
	struct list_walk w;
	struct lent e;
	xp__list_walk_init(&w, cfg, list);
	if (!xp__list_next(&w, &e)) {
		xp_buf_adds(out, "[]");
		return xp_buf_error(out);
	}
	if (!(cfg->lists[list].flags & LIST_COMMENTS) &&
	    (oneline || col + f->oneline[list] <= WIDTH)) {
		xp_buf_adds(out, "[ ");
		int first = 1;
		do {
			if (!first)
				xp_buf_adds(out, ", ");
			first = 0;
			int r = render(f, e.tok, e.kind == ENT_LIST ? e.list : NO_LIST, 0, 0, 1);
			if (r < 0)
				return r;
		} while (xp__list_next(&w, &e));
		xp_buf_adds(out, " ]");
		return xp_buf_error(out);
	}
	size_t inner = indent < MAX_INDENT ? indent + 4 : indent;
	xp_buf_addc(out, '[');
	int open = 1; /* the current line may still take a trailing comment */
	do {
		if (e.kind == ENT_COMMENT && e.trailing && open) {
			xp_buf_addc(out, ' ');
			put_comment(out, cfg, e.tok);
			xp_buf_addc(out, '\n');
			open = 0;
			continue;
		}
		if (open)
			xp_buf_addc(out, '\n');
		put_indent(out, inner);
		if (e.kind == ENT_COMMENT) {
			put_comment(out, cfg, e.tok);
			xp_buf_addc(out, '\n');
			open = 0;
			continue;
		}
		int r = render(f, e.tok, e.kind == ENT_LIST ? e.list : NO_LIST, inner, inner, 0);
		if (r < 0)
			return r;
		xp_buf_addc(out, ',');
		open = 1;
	} while (xp__list_next(&w, &e));
	if (open)
		xp_buf_addc(out, '\n');
	put_indent(out, indent);
	xp_buf_addc(out, ']');
	return xp_buf_error(out);
}

static int format_items(struct fmt *f)
{
	const struct xp_cfg *cfg = f->cfg;
	struct xp_buf *out = f->out;
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
			size_t nlen = tk_len(cfg, it->tok);
			xp_buf_add(out, cfg->text + tk_off(cfg, it->tok), nlen);
			xp_buf_adds(out, it->append ? " += " : " = ");
			size_t l;
			int r = it->list == NO_LIST ? 0 : measure(f, it->list, &l);
			if (r == 0)
				r = render(f, it->value, it->list, 0, nlen + 4, 0);
			if (r < 0)
				return r;
			xp_buf_addc(out, '\n');
			break;
		}
		}
	}
	return xp_buf_error(out);
}

static int format_tree(const struct xp_cfg *cfg, struct xp_buf *out)
{
	struct fmt f = {.cfg = cfg, .out = out, .scratch = XP_BUF_INIT, .atom = XP_BUF_INIT};
	f.oneline = calloc(cfg->nlists ? cfg->nlists : 1, sizeof(*f.oneline));
	if (!f.oneline)
		return -ENOMEM;
	int r = format_items(&f);
	free(f.oneline);
	xp_buf_release(&f.scratch);
	xp_buf_release(&f.atom);
	return r;
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
