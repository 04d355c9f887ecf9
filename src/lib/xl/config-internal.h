/*
 * config-internal.h - the xl config parser's private structures, shared by the
 * lexer, parser, editor and formatter (src/lib/xl/config-*.c).
 */
#ifndef XP_XL_CONFIG_INTERNAL_H
#define XP_XL_CONFIG_INTERNAL_H

#include <stdint.h>

#include "xenprov/xl-config.h"

enum tok_kind {
	TK_IDENT,
	TK_NUMBER,
	TK_STRING,
	TK_LBRACK,
	TK_RBRACK,
	TK_COMMA,
	TK_EQ,
	TK_PLUSEQ,
	TK_SEMI,
	TK_NEWLINE,
	/* trivia: kept for losslessness, skipped by the parser */
	TK_SPACE,
	TK_COMMENT,
	TK_ERROR, /* bytes Xen's lexer rejects; already reported */
	TK_EOF,
};

struct tok {
	enum tok_kind kind;
	uint32_t off, len;
	uint32_t line, col;
	/* TK_STRING: the decoded value (heap), NULL if decoding failed */
	char *str;
	uint32_t str_len;
};

/* Syntax nodes: the value as written, with the comments inside lists. */
struct snode;
struct sentry {
	struct snode *item; /* NULL for a comment entry */
	uint32_t comment;   /* token index of a comment entry */
	int trailing;       /* the comment follows an item on the same line */
};
struct snode {
	int is_list;
	uint32_t tok; /* atom token, or '[' */
	uint32_t end; /* one past the last token of the value */
	struct sentry *e;
	size_t n, cap;
};

/* A statement, or a comment / blank line between statements (for fmt). */
enum item_kind { IT_STMT, IT_COMMENT, IT_BLANK };
struct item {
	enum item_kind kind;
	uint32_t tok;           /* IT_COMMENT: its token; IT_STMT: the name token */
	int trailing;           /* IT_COMMENT on the same line as the statement before */
	int append;             /* IT_STMT: += */
	uint32_t op_tok;        /* IT_STMT: the = or += token */
	struct snode *value;    /* IT_STMT: NULL if the statement is broken */
	uint32_t first, last;   /* IT_STMT: token range [first, last) of name..value */
	int broken;             /* IT_STMT: a syntax error inside; fmt keeps it verbatim */
};

struct xp_cfg_value {
	enum xp_cfg_type type;
	char *str; /* STRING / NUMBER */
	size_t str_len;
	struct xp_cfg_value **items;
	size_t n;
	unsigned line, col;
};

struct setting {
	char *name;
	struct xp_cfg_value *value;
	unsigned line;      /* of the last statement assigning it */
	unsigned count;     /* statements assigning it */
	int last_append;    /* the last statement was += */
	int ever_append;
};

struct xp_cfg {
	char *filename;
	char *text;
	size_t len;
	struct tok *toks;
	size_t ntoks, captoks;
	struct item *items;
	size_t nitems, capitems;
	struct setting *set;
	size_t nset, capset;
	int errors;
	int lexical_errors;
	uint32_t *lex_lines; /* lines with a lexical error, ascending */
	size_t nlex_lines, caplex_lines;
	struct xp_diags *diags; /* borrowed during a parse only */
};

/* config-lex.c */
int xp__cfg_lex(struct xp_cfg *cfg);
void xp__cfg_diag(struct xp_cfg *cfg, enum xp_severity sev, const struct tok *t, const char *code,
		  const char *hint, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* config-parse.c */
void xp__cfg_value_free(struct xp_cfg_value *v);
void xp__cfg_reset(struct xp_cfg *cfg);
int xp__cfg_parse_text(struct xp_cfg *cfg, struct xp_diags *diags);

#endif
