/*
 * config-lex.c - the lexer of Xen's domain config language: the same tokens that
 * libxlutil's flex scanner (libxlu_cfg_l.l) makes, plus the trivia it throws away
 * (spaces, comments, rejected bytes) so that the token stream covers every byte.
 *
 * Not here: the grammar (config-parse.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/config-internal.h"

static int is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}
static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int line_has_lex_error(const struct xp_cfg *cfg, uint32_t line)
{
	size_t lo = 0, hi = cfg->nlex_lines;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cfg->lex_lines[mid] == line)
			return 1;
		if (cfg->lex_lines[mid] < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void xp__cfg_diag(struct xp_cfg *cfg, enum xp_severity sev, const struct tok *t, const char *code,
		  const char *hint, const char *fmt, ...)
{
	if (sev == XP_SEV_ERROR)
		cfg->errors++;
	if (!cfg->diags)
		return;
	/* Like Xen, say nothing of the syntax of a line that has a lexical error: the
	 * rejected bytes explain it. */
	int syntax = code && (strcmp(code, "syntax") == 0 || strcmp(code, "bare-word") == 0);
	if (syntax && t && line_has_lex_error(cfg, t->line))
		return;
	if (!syntax && sev == XP_SEV_ERROR && t && !line_has_lex_error(cfg, t->line) &&
	    (!cfg->nlex_lines || cfg->lex_lines[cfg->nlex_lines - 1] < t->line)) {
		if (cfg->nlex_lines == cfg->caplex_lines) {
			size_t ncap = cfg->caplex_lines ? cfg->caplex_lines * 2 : 16;
			uint32_t *n = realloc(cfg->lex_lines, ncap * sizeof(*n));
			if (!n)
				return; /* only loses the suppression of a follow-on message */
			cfg->lex_lines = n;
			cfg->caplex_lines = ncap;
		}
		cfg->lex_lines[cfg->nlex_lines++] = t->line;
	}
	/* Quote the offending text, printable and short. */
	char text[96];
	const char *quoted = NULL;
	if (t && t->kind != TK_EOF && t->kind != TK_NEWLINE && t->len) {
		size_t o = 0;
		for (uint32_t i = 0; i < t->len && o + 5 < sizeof(text); i++) {
			unsigned char c = (unsigned char)cfg->text[t->off + i];
			if (c == '\n')
				break;
			if (c < 0x20 || c == 0x7f)
				o += (size_t)snprintf(text + o, sizeof(text) - o, "\\x%02x", c);
			else
				text[o++] = (char)c;
		}
		text[o] = 0;
		quoted = text;
	}
	va_list ap;
	va_start(ap, fmt);
	xp_diags_addv(cfg->diags, sev, cfg->filename, t ? t->line : 0, t ? t->col : 0, code, quoted,
		      hint, fmt, ap);
	va_end(ap);
}

static int push(struct xp_cfg *cfg, enum tok_kind k, size_t off)
{
	if (off > TOK_MAX_OFF)
		return -EFBIG;
	if (xp_grow(&cfg->toks, &cfg->captoks, cfg->ntoks, sizeof(*cfg->toks), 256) < 0)
		return -ENOMEM;
	cfg->toks[cfg->ntoks++] = (uint32_t)off << TOK_KIND_BITS | (uint32_t)k;
	return 0;
}

static int push_line(struct xp_cfg *cfg, size_t start)
{
	if (xp_grow(&cfg->lines, &cfg->caplines, cfg->nlines, sizeof(*cfg->lines), 64) < 0)
		return -ENOMEM;
	cfg->lines[cfg->nlines++] = (uint32_t)start;
	return 0;
}

void xp__cfg_pos(const struct xp_cfg *cfg, uint32_t off, uint32_t *line, uint32_t *col)
{
	/* the last line that starts at or before off */
	size_t lo = 0, hi = cfg->nlines;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (cfg->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = (uint32_t)lo + 1;
	*col = off - (cfg->nlines ? cfg->lines[lo] : 0) + 1;
}

struct tok xp__cfg_tok(const struct xp_cfg *cfg, size_t i)
{
	struct tok t = {.kind = tk_kind(cfg, i), .off = tk_off(cfg, i), .len = tk_len(cfg, i)};
	xp__cfg_pos(cfg, t.off, &t.line, &t.col);
	return t;
}

/* strtoul(s, &ep, 10) on at most `max` bytes: how many bytes it consumes (0 if no
 * digits). libxlutil runs exactly this on the bytes after "\<octal digit>". */
static size_t strtoul10_span(const char *s, size_t max)
{
	size_t i = 0;
	while (i < max && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')))
		i++;
	if (i < max && (s[i] == '+' || s[i] == '-'))
		i++;
	size_t d = i;
	while (i < max && is_digit(s[i]))
		i++;
	return i == d ? 0 : i;
}

/* Decodes a quoted string token as libxlutil does (xlu__cfgl_dequote): the escapes
 * \" \' \\ \a \b \f \n \r \t \v. "\x" is always an error there; "\" + an octal digit
 * followed by what strtoul reads as two or more decimal characters is silently
 * dropped, anything else after a backslash is an error.
 *
 * t is the token (its line and column are only read when rep is set). The decoded
 * bytes go to out (room for t->len bytes; NULL: only check); each problem is reported
 * through rep (NULL: quietly). Returns the decoded length, or -1 if xl rejects it. */
static int dequote(const char *text, const struct tok *t, char *out, struct xp_cfg *rep)
{
	const char *src = text + t->off;
	size_t q = 0;
	const char *p = src + 1, *end = src + t->len - 1; /* end: the closing quote */
#define OUT(c)                                                                             \
	do {                                                                               \
		if (out)                                                                   \
			out[q] = (c);                                                      \
		q++;                                                                       \
	} while (0)
	while (p < end) {
		char c = *p++;
		if (c == 0) {
			if (rep) {
				struct tok at = *t;
				at.col = t->col + (uint32_t)(p - 1 - src);
				at.off = (uint32_t)(p - 1 - text);
				at.len = 1;
				/* libxlutil's dequote would stop at the NUL (and assert) */
				xp__cfg_diag(rep, XP_SEV_ERROR, &at, "nul", NULL,
					     "NUL byte inside a string; xl cannot read it");
			}
			return -1;
		}
		if (c != '\\') {
			OUT(c);
			continue;
		}
		struct tok at = *t;
		at.off = (uint32_t)(p - 1 - text);
		at.col = t->col + (uint32_t)(p - 1 - src);
		at.len = (uint32_t)(end - (p - 1) > 4 ? 4 : end - (p - 1));
		char nc = *p++;
		switch (nc) {
		case '"':
		case '\'':
		case '\\':
			OUT(nc);
			continue;
		case 'a':
			OUT('\a');
			continue;
		case 'b':
			OUT('\b');
			continue;
		case 'f':
			OUT('\f');
			continue;
		case 'n':
			OUT('\n');
			continue;
		case 'r':
			OUT('\r');
			continue;
		case 't':
			OUT('\t');
			continue;
		case 'v':
			OUT('\v');
			continue;
		case 'x':
			if (rep)
				xp__cfg_diag(rep, XP_SEV_ERROR, &at, "escape",
					     "write the character itself; xl has no \\x escapes",
					     "xl rejects \\x escapes in strings");
			return -1;
		default:
			break;
		}
		if (nc >= '0' && nc <= '7') {
			/* what strtoul sees: up to 3 bytes, the closing quote included */
			size_t avail = (size_t)(end + 1 - p);
			size_t n = strtoul10_span(p, avail < 3 ? avail : 3);
			if (n <= 1) {
				if (rep)
					xp__cfg_diag(rep, XP_SEV_ERROR, &at, "escape",
						     "xl has no octal escapes; write the character "
						     "itself",
						     "xl rejects this octal escape in a string");
				return -1;
			}
			at.len = (uint32_t)(2 + n);
			if (rep)
				xp__cfg_diag(rep, XP_SEV_WARNING, &at, "escape-dropped",
					     "xl has no octal escapes; write the character itself",
					     "xl silently drops this escape and the characters after "
					     "it");
			p += n;
			continue;
		}
		if (rep)
			xp__cfg_diag(rep, XP_SEV_ERROR, &at, "escape",
				     "the escapes are \\\" \\' \\\\ \\a \\b \\f \\n \\r \\t \\v",
				     "invalid character after a backslash in a string");
		return -1;
	}
#undef OUT
	if (out)
		out[q] = 0;
	return (int)q;
}

int xp__cfg_decode(const struct xp_cfg *cfg, size_t i, char *out)
{
	struct tok t = {.kind = TK_STRING, .off = tk_off(cfg, i), .len = tk_len(cfg, i)};
	return dequote(cfg->text, &t, out, NULL);
}

/* Bytes [i, j) as one error token, and the message about them (at line, col). 0 or
 * -ENOMEM. */
static int rejected(struct xp_cfg *cfg, size_t i, size_t j, uint32_t line, uint32_t col,
		    enum xp_severity sev, const char *code, const char *hint, const char *msg)
{
	int r = push(cfg, TK_ERROR, i);
	if (r < 0)
		return r;
	struct tok t = {TK_ERROR, (uint32_t)i, (uint32_t)(j - i), line, col};
	xp__cfg_diag(cfg, sev, &t, code, hint, "%s", msg);
	return 0;
}

/* Xen's scanner enters its error state on a bad byte and reports the error when it
 * matches what follows; when the bad byte is the very last of the input, nothing
 * follows, and the error is never reported: xl accepts the file and ignores the byte.
 * We do the same, with a warning. */
static int stray_last_byte(struct xp_cfg *cfg, size_t i, uint32_t line, uint32_t col)
{
	return rejected(cfg, i, i + 1, line, col, XP_SEV_WARNING, "stray-byte", "remove it",
			"xl ignores this stray byte at the very end of the file");
}

int xp__cfg_lex(struct xp_cfg *cfg)
{
	const char *s = cfg->text;
	size_t n = cfg->len, i = 0;
	uint32_t line = 1, col = 1;
	int crlf_reported = 0;
	unsigned crlf = 0;
	int r;

	if (n > TOK_MAX_OFF)
		return -EFBIG;
	if ((r = push_line(cfg, 0)) < 0)
		return r;
#define PUSH(k, l)                                                                         \
	do {                                                                               \
		size_t len_ = (l);                                                         \
		if ((r = push(cfg, (k), i)) < 0)                                           \
			return r;                                                          \
		i += len_;                                                                 \
		col += (uint32_t)len_;                                                     \
	} while (0)
/* The token just pushed, i not yet advanced past its len bytes. */
#define THIS(k, l) ((struct tok){(k), (uint32_t)i, (uint32_t)(l), line, col})

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t j = i + 1;
		if (is_lower(c)) {
			while (j < n && (is_lower(s[j]) || is_digit(s[j]) || s[j] == '.' ||
					 s[j] == '_'))
				j++;
			PUSH(TK_IDENT, j - i);
		} else if (is_digit(c)) {
			while (j < n && (is_digit(s[j]) || (s[j] >= 'a' && s[j] <= 'f') ||
					 s[j] == 'x'))
				j++;
			PUSH(TK_NUMBER, j - i);
		} else if (c == ' ' || c == '\t') {
			while (j < n && (s[j] == ' ' || s[j] == '\t'))
				j++;
			PUSH(TK_SPACE, j - i);
		} else if (c == '\n') {
			PUSH(TK_NEWLINE, 1);
			if ((r = push_line(cfg, i)) < 0)
				return r;
			line++;
			col = 1;
		} else if (c == '[') {
			PUSH(TK_LBRACK, 1);
		} else if (c == ']') {
			PUSH(TK_RBRACK, 1);
		} else if (c == ',') {
			PUSH(TK_COMMA, 1);
		} else if (c == ';') {
			PUSH(TK_SEMI, 1);
		} else if (c == '=') {
			PUSH(TK_EQ, 1);
		} else if (c == '+' && j < n && s[j] == '=') {
			PUSH(TK_PLUSEQ, 2);
		} else if (i + 1 == n && !(c == ' ' || c == '\t')) {
			if ((r = stray_last_byte(cfg, i, line, col)) < 0)
				return r;
			i++;
			col++;
		} else if (c == '#') {
			while (j < n && s[j] != '\n')
				j++;
			if (j == n) {
				/* Xen's scanner only knows a comment that ends in a newline. */
				r = rejected(cfg, i, j, line, col, XP_SEV_ERROR, "comment-at-eof",
					     "add a newline at the end of the file "
					     "('xenprov config fmt --fix' does)",
					     "a comment on the last line needs a newline after it; "
					     "xl rejects the file");
				if (r < 0)
					return r;
				col += (uint32_t)(j - i);
				i = j;
			} else {
				PUSH(TK_COMMENT, j - i);
			}
		} else if (c == '"' || c == '\'') {
			while (j < n && s[j] != (char)c && s[j] != '\n') {
				if (s[j] == '\\' && j + 1 < n && s[j + 1] != '\n')
					j++;
				else if (s[j] == '\\')
					break;
				j++;
			}
			if (j < n && s[j] == (char)c) {
				j++;
				struct tok t = THIS(TK_STRING, j - i);
				PUSH(TK_STRING, j - i);
				dequote(s, &t, NULL, cfg);
			} else {
				/* unterminated: swallow the rest of the line */
				while (j < n && s[j] != '\n')
					j++;
				r = rejected(cfg, i, j, line, col, XP_SEV_ERROR, "unterminated-string",
					     "a string ends on the line it starts; write a newline "
					     "as \\n",
					     "unterminated string");
				if (r < 0)
					return r;
				cfg->lexical_errors++;
				col += (uint32_t)(j - i);
				i = j;
			}
		} else {
			/* What Xen's scanner rejects: the character and the rest of the word. */
			int python = c == '+' || c == '-' || c == '.' || c == '(' || c == ')' ||
				     c == ':';
			if (c == '\r' && j < n && s[j] == '\n') {
				crlf++;
				if ((r = push(cfg, TK_ERROR, i)) < 0)
					return r;
				struct tok t = THIS(TK_ERROR, 1);
				if (!crlf_reported++)
					xp__cfg_diag(cfg, XP_SEV_ERROR, &t, "crlf",
						     "convert to Unix line endings "
						     "('xenprov config fmt --fix' does)",
						     "Windows (CR LF) line ending; xl rejects "
						     "carriage returns");
				else
					cfg->errors++;
				i++;
				col++;
				continue;
			}
			while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\n')
				j++;
			if ((r = push(cfg, TK_ERROR, i)) < 0)
				return r;
			struct tok tk = THIS(TK_ERROR, j - i), *t = &tk;
			cfg->lexical_errors++;
			if (c == 0)
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "nul", NULL,
					     "NUL byte in the file (is this a binary file?)");
			else if (python && (c == '-' || c == '.') && i > 0 &&
				 (is_digit(s[i - 1]) || (c == '-' && j > i + 1 && is_digit(s[i + 1]))))
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "number",
					     "xl numbers are non-negative integers: "
					     "decimal, 0x hex or 0 octal",
					     "not a valid number (xl has no negative or "
					     "fractional numbers)");
			else if (python)
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "python",
					     "arbitrary Python is no longer supported in xl "
					     "configs; write plain values",
					     "unexpected '%c': this looks like Python", c);
			else if (c >= 'A' && c <= 'Z')
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "uppercase",
					     "setting names are lowercase; values must be "
					     "quoted strings or numbers",
					     "unexpected uppercase letter");
			else if (c >= 0x80)
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "lexical",
					     "non-ASCII text is only allowed inside quotes",
					     "unexpected non-ASCII byte");
			else if (c < 0x20 || c == 0x7f)
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "lexical", NULL,
					     "unexpected control character 0x%02x", c);
			else
				xp__cfg_diag(cfg, XP_SEV_ERROR, t, "lexical", NULL,
					     "unexpected '%c'", c);
			col += (uint32_t)(j - i);
			i = j;
		}
	}
	if (crlf > 1 && cfg->diags) {
		/* one message for the whole file, counting the lines */
		for (size_t k = cfg->diags->n; k-- > 0;) {
			struct xp_diag *g = &cfg->diags->v[k];
			if (g->code && strcmp(g->code, "crlf") == 0) {
				char *m = NULL;
				if (asprintf(&m, "%s (%u lines)", g->msg, crlf) >= 0) {
					free(g->msg);
					g->msg = m;
				}
				break;
			}
		}
	}
	if ((r = push(cfg, TK_EOF, i)) < 0)
		return r;
#undef THIS
#undef PUSH
	return 0;
}
