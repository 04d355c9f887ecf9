/*
 * config-internal.h - the xl config parser's private structures, shared by the
 * lexer, parser, editor and formatter (src/lib/xl/config-*.c).
 */
#ifndef XP_XL_CONFIG_INTERNAL_H
#define XP_XL_CONFIG_INTERNAL_H

#include <stdint.h>

#include "xenprov/xl-config.h"
#include "xl/name-index.h"

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

/*
 * Tokens cover the text exactly: token i runs from its offset to the next token's, and
 * the last one is TK_EOF at the end of the text. Each is one uint32_t, the offset
 * shifted left by 4 over the kind, so a 16 MiB file of one-byte tokens needs 64 MiB.
 * Line and column are not stored: the line table (the offset where each line starts)
 * gives them. Decoded strings are not stored either: they are decoded again when a
 * value is built or formatted (see xp__cfg_decode).
 */
#define TOK_KIND_BITS 4
#define TOK_MAX_OFF   (UINT32_MAX >> TOK_KIND_BITS)

/* A token with its place, for diagnostics and for code that reads one token. */
struct tok {
	enum tok_kind kind;
	uint32_t off, len;
	uint32_t line, col;
};

/*
 * The syntax tree. A statement's value is a token range: an atom (one STRING or NUMBER
 * token) or a list. Lists are not stored item by item: the tokens between '[' and ']'
 * are the items, comments and separators, and list_next() walks them. What the walk
 * needs beyond the tokens is one record per list, in the order of their '[' (a
 * pre-order of the tree): where it ends and where the records after its subtree start.
 */
enum { LIST_COMMENTS = 1 }; /* a comment somewhere in the list or a list inside it */
struct lnode {
	uint32_t open;  /* the '[' token */
	uint32_t end;   /* one past the ']' token */
	uint32_t next;  /* the first list record after this list's subtree */
	uint32_t flags; /* LIST_* */
};

/* One entry of a list, as list_next() yields them. */
enum ent_kind { ENT_ATOM, ENT_LIST, ENT_COMMENT };
struct lent {
	enum ent_kind kind;
	uint32_t tok;  /* the atom, the '[' or the comment token */
	uint32_t list; /* ENT_LIST: its record */
	int trailing;  /* ENT_COMMENT: it follows an entry on the same line */
};
struct list_walk {
	const struct xp_cfg *cfg;
	uint32_t pos, close, child;
	int nl_since_item, any;
};

#define NO_LIST UINT32_MAX

/* A statement, or a comment / blank line between statements (for fmt). */
enum item_kind { IT_STMT, IT_COMMENT, IT_BLANK };
struct item {
	enum item_kind kind;
	uint32_t tok;         /* IT_COMMENT: its token; IT_STMT: the name token */
	uint32_t op_tok;      /* IT_STMT: the = or += token */
	uint32_t value;       /* IT_STMT, not broken: the value's first token */
	uint32_t list;        /* ... its list record, or NO_LIST for an atom */
	uint32_t first, last; /* IT_STMT: token range [first, last) of name..value */
	uint32_t setting;     /* IT_STMT, not broken: the index of its setting */
	unsigned trailing : 1; /* IT_COMMENT on the same line as the statement before */
	unsigned append : 1;   /* IT_STMT: += */
	unsigned broken : 1;   /* IT_STMT: a syntax error inside; fmt keeps it verbatim */
};

/*
 * Effective values: 16 bytes each, list items stored inline in their list's array, the
 * bytes of strings and numbers in the config's string arena (NUL-terminated; a string
 * holds no NUL, xl's lexer refuses them), so a value costs no allocation of its own.
 */
struct xp_cfg_value {
	union {
		const char *str;    /* STRING / NUMBER */
		struct vlist *list; /* LIST (NULL: empty) */
	} u;
	uint32_t line;
	unsigned col : 30;
	unsigned type : 2; /* enum xp_cfg_type */
};
struct vlist {
	size_t n, cap;
	struct xp_cfg_value v[];
};

struct setting {
	const char *name; /* in the string arena */
	struct xp_cfg_value value;
	char *joined;     /* the string made by +=, owned; value.u.str points at it */
	size_t jlen, jcap;
	uint32_t line;    /* of the last statement assigning it */
	uint32_t count;   /* statements assigning it */
	unsigned last_append : 1; /* the last statement was += */
	unsigned ever_append : 1;
};

/* Bump allocator for the bytes of names, strings and numbers. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

struct xp_cfg {
	char *filename;
	char *text;
	size_t len;
	uint32_t *toks; /* off << TOK_KIND_BITS | kind */
	size_t ntoks, captoks;
	uint32_t *lines; /* offset of the start of each line; lines[0] = 0 */
	size_t nlines, caplines;
	struct lnode *lists;
	size_t nlists, caplists;
	struct item *items;
	size_t nitems, capitems;
	struct setting *set;
	size_t nset, capset;
	struct xp__nidx names; /* setting name -> index in set */
	struct arena_chunk *arena;
	int errors;
	int lexical_errors;
	uint32_t *lex_lines; /* lines with a lexical error, ascending */
	size_t nlex_lines, caplex_lines;
	struct xp_diags *diags; /* borrowed during a parse only */
};

static inline enum tok_kind tk_kind(const struct xp_cfg *cfg, size_t i)
{
	return (enum tok_kind)(cfg->toks[i] & ((1u << TOK_KIND_BITS) - 1));
}
static inline uint32_t tk_off(const struct xp_cfg *cfg, size_t i)
{
	return cfg->toks[i] >> TOK_KIND_BITS;
}
static inline uint32_t tk_len(const struct xp_cfg *cfg, size_t i)
{
	return i + 1 < cfg->ntoks ? tk_off(cfg, i + 1) - tk_off(cfg, i) : 0;
}
static inline uint32_t tk_end(const struct xp_cfg *cfg, size_t i)
{
	return i + 1 < cfg->ntoks ? tk_off(cfg, i + 1) : tk_off(cfg, i);
}
/* The end (one past the last token) of a statement's value. */
static inline uint32_t value_end(const struct xp_cfg *cfg, const struct item *it)
{
	return it->list == NO_LIST ? it->value + 1 : cfg->lists[it->list].end;
}

/* config-lex.c */
int xp__cfg_lex(struct xp_cfg *cfg);
void xp__cfg_diag(struct xp_cfg *cfg, enum xp_severity sev, const struct tok *t, const char *code,
		  const char *hint, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Token i with its line and column (a binary search of the line table). */
struct tok xp__cfg_tok(const struct xp_cfg *cfg, size_t i);
/* Line and column of byte off. */
void xp__cfg_pos(const struct xp_cfg *cfg, uint32_t off, uint32_t *line, uint32_t *col);
/* Decodes the STRING token i as libxlutil's dequote does into out (room for its
 * length), NUL-terminated; returns the decoded length, or -1 if xl rejects it. */
int xp__cfg_decode(const struct xp_cfg *cfg, size_t i, char *out);
/* config-parse.c */
void xp__cfg_value_free(struct xp_cfg_value *v);
void xp__cfg_reset(struct xp_cfg *cfg);
int xp__cfg_parse_text(struct xp_cfg *cfg, struct xp_diags *diags);
void xp__list_walk_init(struct list_walk *w, const struct xp_cfg *cfg, uint32_t list);
/* The next entry of the list, as the parser read it: 0 at the end, else 1. */
int xp__list_next(struct list_walk *w, struct lent *e);
/* The setting named name, or NULL. */
const struct setting *xp__cfg_find(const struct xp_cfg *cfg, const char *name, size_t len);

#endif
