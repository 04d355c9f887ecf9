/*
 * grub-script.c - GRUB 2's grub.cfg read as GRUB reads it: a lexer of its shell-like
 * script (the GRUB manual, "Shell-like scripting"; grub-core/script/yylex.l) and an
 * interpreter of the part of it that decides what boots, run against the guest's own
 * disk.
 *
 * What is GRUB's, followed here:
 *  - words: unquoted '\' escapes the next byte (a newline: continues the line), '...'
 *    is literal, "..." keeps '\' only before $ " \ and newline and expands $; '#'
 *    starts a comment only where a word could start; { } ; | & < > and newline end a
 *    word. $NAME, ${NAME}, $1.., $#, $?, $*, $@; an unquoted variable's value is split
 *    into words at blanks (grub_script_arglist_to_argv).
 *  - each top-level statement is parsed whole before it runs, and one that does not
 *    parse is skipped (with a warning) while the rest of the file still runs, as
 *    read_config_file does statement by statement.
 *  - `set NAME=VALUE` (only its first argument, grub_core_cmd_set), `NAME=VALUE` as a
 *    command, unset, export; `if`/`elif`/`else`/`fi` on the status of the condition's
 *    last command; `[`/`test` (test.c's string, number and file tests, ! -a -o ( ));
 *    `function`; `source`/`.`; `configfile` (a new menu, in a new context, replacing
 *    the one being built: what boots is the new file's); `load_env` (grubenv, -f FILE,
 *    a whitelist); `search` (--fs-uuid, case-insensitive as GRUB compares UUIDs,
 *    --label, --file, --set[=VAR], --hint*) and search.fs_uuid/fs_label/file.
 *  - `menuentry`/`submenu`: arguments expanded where they stand (--class, --users,
 *    --hotkey, --source, --id, --unrestricted; the title is the first other one; the
 *    id is --id, else the title), the body kept as text and run only when the entry is
 *    booted (grub_normal_add_menu_entry): a menu entry in the menu's context as it is
 *    at the end of the file, a submenu in a new context holding only the exported
 *    variables (grub_env_context_open).
 *  - the default (grub-core/normal/menu.c): the value of `default` at the end of the
 *    menu's script, read with grub_strtoul (base 0: 0x hex, 0 octal) when it is a number
 *    alone or one before a '>' (digits then anything else are a title or id, as
 *    Fedora's and RHEL's GRUB read them: upstream 2.06 would take "6a98..." as 6, which
 *    breaks BLS ids), else matched against
 *    each entry's title and id with menuentry_eq ('>' descends into a submenu, '>>' is
 *    a '>'); out of range, 0. A submenu run as the default gets `default` set to what
 *    follows the first '>' (else unset) before its body runs.
 *  - `blscfg` (Fedora's and RHEL's blscfg module): BootLoaderSpec entries of $root's
 *    /loader/entries (else /boot/loader/entries; $blsdir if set), newest first, each
 *    made a menu entry whose body is the text blscfg makes ("linux ($root)PATH
 *    OPTIONS", "initrd ($root)PATH..."), its id the file name without .conf; $VAR in
 *    options expanded from the environment when blscfg runs (RHEL 8's $kernelopts
 *    from grubenv).
 *  - an entry boots the last `linux`/`linux16`/`linuxefi` of its body with the
 *    `initrd`/`initrd16`/`initrdefi` that follows it; its command line is the
 *    arguments after the file joined by one space (GRUB's loader also adds
 *    BOOT_IMAGE=, which PV boot loaders never passed and is left out). A path is
 *    "(DEVICE)/PATH" or "/PATH" on $root; $root starts as the config's own
 *    filesystem.
 *
 * What is not modelled, and how it errs: commands GRUB has and this does not (insmod,
 * loadfont, keystatus, terminal_output...) do nothing and fail, so an `if` on them is
 * not taken; `for`, `while` and `until` are parsed and skipped with a warning; pipes
 * and redirections are syntax errors (as in GRUB). The machine is a Xen PV guest:
 * grub_platform is "xen", grub_cpu "x86_64", and every feature_* GRUB 2.06 sets is "y".
 *
 * Bounds: the commands run (MAX_STEPS), nesting (XP_LOCALBOOT_MAX_DEPTH), a value's
 * size (MAX_VALUE) and all values together (MAX_BYTES), variables a context holds
 * (MAX_VARS), entries (XP_LOCALBOOT_MAX_ENTRIES): past one, -EINVAL with a diagnostic.
 *
 * Not here: finding the config on the disk (localboot.c), parsing BLS files (bls.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "boot/localboot-internal.h"
#include "util/ctype.h"

#define MAX_STEPS 50000
#define MAX_VALUE (64u << 10)
#define MAX_BYTES (16u << 20)
#define MAX_VARS  512

/* ---- diagnostics ------------------------------------------------------------------ */

struct gs;
static void warn(struct gs *g, const char *file, unsigned line, const char *code,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- variables: contexts layered over their parents ------------------------------- */

struct var {
	char *name;
	char *value; /* NULL: unset in this context (hides the parent's) */
	bool exported;
};

struct env {
	struct var *v;
	size_t n, cap;
	const struct env *parent;
	bool exported_only; /* a new GRUB context: the parent's exported variables only */
};

static const struct var *env_find(const struct env *e, const char *name)
{
	while (e) {
		for (size_t i = 0; i < e->n; i++)
			if (strcmp(e->v[i].name, name) == 0)
				return &e->v[i];
		if (e->exported_only) {
			const struct var *p = env_find(e->parent, name);
			return p && p->exported ? p : NULL;
		}
		e = e->parent;
	}
	return NULL;
}

static const char *env_get(const struct env *e, const char *name)
{
	const struct var *v = env_find(e, name);
	return v ? v->value : NULL;
}

static void env_free(struct env *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].value);
	}
	free(e->v);
	free(e);
}

/* ---- the interpretation ------------------------------------------------------------ */

struct src { /* a text being run, kept until the end: entry bodies point into it */
	char *text;
	size_t len;
	char *file;
};

struct menu;

struct item {
	char *title, *id;
	bool submenu;
	const char *body; /* in a kept text */
	size_t blen;
	const char *file;
	unsigned line;
	char **args; /* the body's positional parameters: the title and the others */
	size_t nargs;
	struct menu *sub;
	size_t flat;		/* an entry: its index in out->v */
	char *sub_default;	/* a submenu: `default` at the end of its body */
	bool body_set_default;	/* ... and its body changed it */
};

struct menu {
	struct item *v;
	size_t n, cap;
	struct env *env; /* the context its entries run in */
};

struct func {
	char *name;
	const char *body;
	size_t blen;
	const char *file;
	unsigned line;
};

struct boot { /* what an entry's body loads */
	long kvol, ivol;
	char *kernel, *args;
	struct xp_buf initrd;
	bool have_initrd, other, failed;
};

struct gs {
	const struct xp__lb_disk *disk;
	size_t cfg_vol;
	struct xp_diags *d;
	struct xp_localboot *out;
	struct src **srcs;
	size_t nsrc, capsrc;
	struct env **envs; /* every context made, freed at the end */
	size_t nenv, capenv;
	struct func *funcs;
	size_t nfunc, capfunc;
	struct menu *menu; /* the menu being filled */
	size_t nitems;	   /* items of every menu, bounded */
	unsigned steps, depth;
	size_t bytes;
	bool stop; /* configfile ran: the rest of the script that ran it does not */
	int err;   /* fatal: -ENOMEM, or -EINVAL past a bound (with a diagnostic) */
	struct boot *boot;
	const char *cur_file; /* the command running, for messages */
	unsigned cur_line;
	const char *item_title; /* the entry being booted */
	bool loop_warned;
};

struct scope {
	struct env *env;
	char **pos;
	size_t npos;
	int status;
};

static void warn(struct gs *g, const char *file, unsigned line, const char *code,
		 const char *fmt, ...)
{
	if (!g->d)
		return;
	va_list ap;
	va_start(ap, fmt);
	xp_diags_addv(g->d, XP_SEV_WARNING, file, line, 0, code, NULL, NULL, fmt, ap);
	va_end(ap);
}

static int fatal(struct gs *g, int err, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fatal(struct gs *g, int err, const char *file, unsigned line, const char *fmt, ...)
{
	if (g->err == 0) {
		g->err = err;
		if (g->d && err != -ENOMEM) {
			va_list ap;
			va_start(ap, fmt);
			xp_diags_addv(g->d, XP_SEV_ERROR, file, line, 0, "grub-limit", NULL, NULL,
				      fmt, ap);
			va_end(ap);
		}
	}
	return g->err;
}

static struct env *env_new(struct gs *g, const struct env *parent, bool exported_only)
{
	if (xp_grow(&g->envs, &g->capenv, g->nenv, sizeof(*g->envs), 8) < 0)
		return NULL;
	struct env *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->parent = parent;
	e->exported_only = exported_only;
	g->envs[g->nenv++] = e;
	return e;
}

/* Sets (value NULL: unsets) name in e, the context a command runs in. */
static int env_set(struct gs *g, struct env *e, const char *name, const char *value)
{
	size_t vl = value ? strlen(value) : 0;
	if (vl > MAX_VALUE)
		return fatal(g, -EINVAL, NULL, 0, "a variable's value is over %u bytes", MAX_VALUE);
	g->bytes += vl + strlen(name);
	if (g->bytes > MAX_BYTES)
		return fatal(g, -EINVAL, NULL, 0, "the script's variables hold over %u bytes",
			     MAX_BYTES);
	char *nv = NULL;
	if (value && !(nv = strdup(value)))
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].name, name) == 0) {
			free(e->v[i].value);
			e->v[i].value = nv;
			return 0;
		}
	if (e->n >= MAX_VARS) {
		free(nv);
		return fatal(g, -EINVAL, NULL, 0, "over %u variables", MAX_VARS);
	}
	const struct var *up = env_find(e, name); /* none in e itself: a parent's */
	if (xp_grow(&e->v, &e->cap, e->n, sizeof(*e->v), 16) < 0) {
		free(nv);
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	}
	struct var *v = &e->v[e->n];
	v->name = strdup(name);
	if (!v->name) {
		free(nv);
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	}
	v->value = nv;
	v->exported = up && up->exported;
	e->n++;
	return 0;
}

static int env_export(struct gs *g, struct env *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].name, name) == 0) {
			e->v[i].exported = true;
			return 0;
		}
	const char *cur = env_get(e, name);
	int r = env_set(g, e, name, cur ? cur : "");
	if (r < 0)
		return r;
	e->v[e->n - 1].exported = true;
	return 0;
}

static struct src *keep_text(struct gs *g, const char *text, size_t len, const char *file)
{
	if (xp_grow(&g->srcs, &g->capsrc, g->nsrc, sizeof(*g->srcs), 4) < 0)
		return NULL;
	struct src *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->text = malloc(len + 1);
	s->file = strdup(file ? file : "");
	if (!s->text || !s->file) {
		free(s->text);
		free(s->file);
		free(s);
		return NULL;
	}
	memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->len = len;
	g->srcs[g->nsrc++] = s;
	return s;
}

/* ---- the lexer ---------------------------------------------------------------------- */

enum tk { TK_EOF, TK_WORD, TK_NL, TK_SEMI, TK_LBRACE, TK_RBRACE, TK_OP, TK_ERR };

struct lx {
	const char *s;
	size_t len, pos;
	unsigned line;
	const char *file;
};

struct tok {
	enum tk t;
	size_t a, b; /* the raw text */
	unsigned line;
	const char *why; /* TK_ERR */
};

static bool ends_word(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{' ||
	       c == '}' || c == '|' || c == '&' || c == '<' || c == '>';
}

static void lx_next(struct lx *l, struct tok *t)
{
	const char *s = l->s;
	for (;;) {
		while (l->pos < l->len) {
			char c = s[l->pos];
			if (c == ' ' || c == '\t' || c == '\r')
				l->pos++;
			else if (c == '\\' && l->pos + 1 < l->len && s[l->pos + 1] == '\n') {
				l->pos += 2;
				l->line++;
			} else
				break;
		}
		if (l->pos < l->len && s[l->pos] == '#') {
			while (l->pos < l->len && s[l->pos] != '\n')
				l->pos++;
			continue;
		}
		break;
	}
	t->a = l->pos;
	t->line = l->line;
	t->why = NULL;
	if (l->pos >= l->len) {
		t->t = TK_EOF;
		t->b = l->pos;
		return;
	}
	char c = s[l->pos];
	if (c == '\n' || c == ';' || c == '{' || c == '}' || c == '|' || c == '&' || c == '<' ||
	    c == '>') {
		t->t = c == '\n' ? TK_NL : c == ';' ? TK_SEMI : c == '{' ? TK_LBRACE
			 : c == '}'		       ? TK_RBRACE
						       : TK_OP;
		if (c == '\n')
			l->line++;
		t->b = ++l->pos;
		return;
	}
	t->t = TK_WORD;
	while (l->pos < l->len && !ends_word(s[l->pos])) {
		c = s[l->pos];
		if (c == '\\') {
			if (l->pos + 1 < l->len && s[l->pos + 1] == '\n')
				l->line++;
			l->pos += l->pos + 1 < l->len ? 2 : 1;
		} else if (c == '\'' || c == '"') {
			size_t p = l->pos + 1;
			while (p < l->len && s[p] != c) {
				if (c == '"' && s[p] == '\\' && p + 1 < l->len) {
					if (s[p + 1] == '\n')
						l->line++;
					p++;
				} else if (s[p] == '\n')
					l->line++;
				p++;
			}
			if (p >= l->len) {
				t->t = TK_ERR;
				t->why = c == '"' ? "a double quote is not closed"
						  : "a single quote is not closed";
				l->pos = l->len;
				break;
			}
			l->pos = p + 1;
		} else if (c == '$' && l->pos + 1 < l->len && s[l->pos + 1] == '{') {
			size_t p = l->pos + 2;
			while (p < l->len && s[p] != '}' && s[p] != '\n')
				p++;
			if (p >= l->len || s[p] != '}') {
				t->t = TK_ERR;
				t->why = "'${' is not closed";
				l->pos = p;
				break;
			}
			l->pos = p + 1;
		} else {
			l->pos++;
		}
	}
	t->b = l->pos;
}

static void lx_peek(struct lx *l, struct tok *t)
{
	struct lx save = *l;
	lx_next(l, t);
	*l = save;
}

static bool tok_is(const struct lx *l, const struct tok *t, const char *kw)
{
	size_t n = strlen(kw);
	return t->t == TK_WORD && t->b - t->a == n && memcmp(l->s + t->a, kw, n) == 0;
}

/* ---- expansion ------------------------------------------------------------------------ */

struct argv {
	char **v;
	size_t n, cap;
};

static void argv_free(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

static int argv_push(struct argv *a, struct xp_buf *cur)
{
	if (xp_buf_error(cur) || xp_grow(&a->v, &a->cap, a->n + 1, sizeof(*a->v), 8) < 0)
		return -ENOMEM;
	char *s = xp_buf_steal(cur);
	if (!s)
		return -ENOMEM;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* The variable reference at s[i] == '$' (up to end): its name in name (NUL-terminated,
 * at most 255 bytes), the index after it; i itself if it is no reference. */
static size_t var_ref(const char *s, size_t i, size_t end, char *name, size_t cap)
{
	size_t j = i + 1, k = 0;
	if (j < end && s[j] == '{') {
		size_t e = j + 1;
		while (e < end && s[e] != '}')
			e++;
		if (e >= end || e == j + 1 || e - j - 1 >= cap)
			return i;
		memcpy(name, s + j + 1, e - j - 1);
		name[e - j - 1] = '\0';
		return e + 1;
	}
	if (j < end && name_start(s[j])) {
		while (j < end && name_char(s[j]) && k + 1 < cap)
			name[k++] = s[j++];
	} else if (j < end && s[j] >= '0' && s[j] <= '9') {
		while (j < end && s[j] >= '0' && s[j] <= '9' && k + 1 < cap)
			name[k++] = s[j++];
	} else if (j < end && (s[j] == '?' || s[j] == '#' || s[j] == '*' || s[j] == '@')) {
		name[k++] = s[j++];
	} else {
		return i;
	}
	name[k] = '\0';
	return j;
}

/* A variable's value as a command sees it: positional parameters, $#, $?, $*, $@, or
 * the context's. Into out (appended). */
static void var_value(const struct scope *sc, const char *name, struct xp_buf *out)
{
	if (name[0] >= '0' && name[0] <= '9') {
		unsigned long k = strtoul(name, NULL, 10);
		if (k >= 1 && k <= sc->npos)
			xp_buf_adds(out, sc->pos[k - 1]);
	} else if (strcmp(name, "#") == 0) {
		xp_buf_addf(out, "%zu", sc->npos);
	} else if (strcmp(name, "?") == 0) {
		xp_buf_addf(out, "%d", sc->status);
	} else if (strcmp(name, "*") == 0 || strcmp(name, "@") == 0) {
		for (size_t i = 0; i < sc->npos; i++) {
			if (i)
				xp_buf_addc(out, ' ');
			xp_buf_adds(out, sc->pos[i]);
		}
	} else {
		const char *v = env_get(sc->env, name);
		if (v)
			xp_buf_adds(out, v);
	}
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* The fields of the raw word s[a, b), appended to out. */
static int expand(struct gs *g, const struct scope *sc, const char *s, size_t a, size_t b,
		  struct argv *out)
{
	struct xp_buf cur = XP_BUF_INIT, val = XP_BUF_INIT;
	bool have = false;
	char name[256];
	int r = 0;
	size_t i = a;
	while (i < b && r == 0) {
		char c = s[i];
		if (c == '\\') {
			if (i + 1 < b) {
				if (s[i + 1] != '\n') {
					xp_buf_addc(&cur, s[i + 1]);
					have = true;
				}
				i += 2;
			} else {
				xp_buf_addc(&cur, '\\');
				have = true;
				i++;
			}
		} else if (c == '\'') {
			size_t j = i + 1;
			while (j < b && s[j] != '\'')
				j++;
			xp_buf_add(&cur, s + i + 1, j - i - 1);
			have = true;
			i = j + 1;
		} else if (c == '"') {
			size_t j = i + 1;
			while (j < b && s[j] != '"') {
				if (s[j] == '\\' && j + 1 < b &&
				    (s[j + 1] == '$' || s[j + 1] == '"' || s[j + 1] == '\\' ||
				     s[j + 1] == '\n')) {
					if (s[j + 1] != '\n')
						xp_buf_addc(&cur, s[j + 1]);
					j += 2;
				} else if (s[j] == '$') {
					size_t e = var_ref(s, j, b, name, sizeof(name));
					if (e == j) {
						xp_buf_addc(&cur, '$');
						j++;
					} else {
						var_value(sc, name, &cur);
						j = e;
					}
				} else {
					xp_buf_addc(&cur, s[j++]);
				}
			}
			have = true;
			i = j + 1;
		} else if (c == '$') {
			if (i + 1 < b && s[i + 1] == '"') { /* $"...": a translated string */
				i++;
				continue;
			}
			size_t e = var_ref(s, i, b, name, sizeof(name));
			if (e == i) {
				xp_buf_addc(&cur, '$');
				have = true;
				i++;
				continue;
			}
			xp_buf_truncate(&val, 0);
			var_value(sc, name, &val);
			/* split at blanks: the first word joins the field, each next one
			 * starts a field of its own */
			const char *v = xp_buf_str(&val);
			size_t k = 0, words = 0;
			while (v[k]) {
				while (v[k] && blank(v[k]))
					k++;
				if (!v[k])
					break;
				size_t st = k;
				while (v[k] && !blank(v[k]))
					k++;
				if (words++ > 0)
					r = argv_push(out, &cur);
				xp_buf_add(&cur, v + st, k - st);
				have = true;
			}
			i = e;
		} else {
			xp_buf_addc(&cur, c);
			have = true;
			i++;
		}
		if (cur.len > MAX_VALUE)
			r = fatal(g, -EINVAL, NULL, 0, "a word is over %u bytes", MAX_VALUE);
	}
	if (r == 0 && have)
		r = argv_push(out, &cur);
	xp_buf_release(&cur);
	xp_buf_release(&val);
	if (r == -ENOMEM)
		r = fatal(g, -ENOMEM, NULL, 0, "out of memory");
	return r;
}

/* ---- paths on the disk ------------------------------------------------------------- */

/* "(DEVICE)/PATH" or "/PATH" on $root: the volume and the path. -EINVAL (not a file
 * name), -ENOENT (no filesystem on that device). */
static int resolve(struct gs *g, const struct scope *sc, const char *arg, long *vol,
		   const char **path)
{
	long v;
	if (arg[0] == '(') {
		const char *close = strchr(arg, ')');
		if (!close)
			return -EINVAL;
		char dev[128];
		size_t n = (size_t)(close - arg - 1);
		if (n >= sizeof(dev))
			return -ENOENT;
		memcpy(dev, arg + 1, n);
		dev[n] = '\0';
		if (n == 0) {
			const char *root = env_get(sc->env, "root");
			v = root ? xp__lb_vol_of_dev(g->disk, root) : (long)g->cfg_vol;
		} else {
			v = xp__lb_vol_of_dev(g->disk, dev);
		}
		arg = close + 1;
	} else if (arg[0] == '/') {
		const char *root = env_get(sc->env, "root");
		v = root ? xp__lb_vol_of_dev(g->disk, root) : (long)g->cfg_vol;
	} else {
		return -EINVAL;
	}
	if (arg[0] != '/')
		return -EINVAL;
	if (v < 0)
		return -ENOENT;
	*vol = v;
	*path = arg;
	return 0;
}

/* ---- running -------------------------------------------------------------------------- */

static int run_text(struct gs *g, struct scope *sc, const char *text, size_t len,
		    const char *file, unsigned line0);
static int run_list(struct gs *g, struct scope *sc, struct lx *l, bool run,
		    const char *const *stops, const char **stopped);

static int syntax(struct gs *g, const struct lx *l, unsigned line, const char *why)
{
	(void)g;
	(void)l;
	(void)line;
	(void)why;
	return -EBADMSG;
}

/* menuentry_eq (grub-core/normal/menu.c): whether spec names id, where a '>' not
 * doubled ends the name (a path into a submenu) and ">>" stands for '>'. */
static bool menuentry_eq(const char *id, const char *spec)
{
	const char *p1 = id, *p2 = spec;
	for (;;) {
		if (*p2 == '>' && p2[1] != '>' && *p1 == 0)
			return true;
		if (*p2 == '>' && p2[1] != '>')
			return false;
		if (*p2 == '>')
			p2++;
		if (*p1 != *p2)
			return false;
		if (*p1 == 0)
			return true;
		p1++;
		p2++;
	}
}

/* What follows the first '>' (not a ">>") of spec, or NULL (grub_menu_execute_entry). */
static const char *rest_of(const char *spec)
{
	const char *p = spec;
	for (; p && *p; p++) {
		if (p[0] == '>' && p[1] == '>') {
			p++;
			continue;
		}
		if (p[0] == '>')
			break;
	}
	return p && p[0] && p[1] ? p + 1 : NULL;
}

/* grub_strtoul(s, &tail, 0) as GRUB 2.06 has it: 1 and *v for a number (leading
 * blanks, 0x hex, 0 octal, decimal), 0 for no digit (GRUB_ERR_BAD_NUMBER), -1 for an
 * overflow; *tail after the digits. */
static int grub_strtoul(const char *s, unsigned long long *v, const char **tail)
{
	while (xp__isspace(*s))
		s++;
	unsigned base = 10;
	if (s[0] == '0') {
		if (s[1] == 'x') {
			base = 16;
			s += 2;
		} else if (s[1] >= '0' && s[1] <= '7') {
			base = 8;
		}
	}
	unsigned long long n = 0;
	bool found = false;
	for (; *s; s++) {
		int dg = xp__hexval(*s);
		if (dg < 0 || (unsigned)dg >= base)
			break;
		found = true;
		if (n > (~0ULL - (unsigned)dg) / base)
			return -1;
		n = n * base + (unsigned)dg;
	}
	*tail = s;
	if (!found)
		return 0;
	*v = n;
	return 1;
}

/* get_entry_number: the index spec names in m, -1 for none. */
static long entry_number(const struct menu *m, const char *spec)
{
	if (!spec)
		return -1;
	unsigned long long n;
	const char *tail;
	int k = grub_strtoul(spec, &n, &tail);
	if (k < 0)
		return -1;
	/* upstream reads "6a98...-5.14.0" as 6; Fedora's and RHEL's GRUB read digits
	 * followed by anything but the end or a '>' path as a title or id, which BLS ids
	 * (a hex machine-id first) need: that is the rule here */
	if (k > 0 && (*tail == '\0' || *tail == '>')) {
		int e = (int)n; /* GRUB casts to int */
		return e < 0 ? -1 : e;
	}
	for (size_t i = 0; i < m->n; i++)
		if (menuentry_eq(m->v[i].title, spec) ||
		    menuentry_eq(m->v[i].id ? m->v[i].id : m->v[i].title, spec))
			return (long)i;
	return -1;
}

/* The options a menuentry or submenu takes (grub-core/commands/menuentry.c). */
static int add_item(struct gs *g, struct scope *sc, bool submenu, const struct argv *a,
		    const char *body, size_t blen, const char *file, unsigned line)
{
	(void)sc;
	const char *id = NULL;
	struct argv rest = {0};
	int r = 0;
	bool opts = true;
	for (size_t i = 1; i < a->n && r == 0; i++) {
		const char *w = a->v[i];
		if (opts && strcmp(w, "--") == 0) {
			opts = false;
			continue;
		}
		if (opts && w[0] == '-' && w[1] == '-') {
			const char *o = w + 2, *eq = strchr(o, '=');
			size_t on = eq ? (size_t)(eq - o) : strlen(o);
			static const char *const with_arg[] = {"class", "users", "hotkey", "source",
							       "id"};
			bool known = on == 12 && strncmp(o, "unrestricted", 12) == 0, takes = false;
			for (size_t k = 0; k < sizeof(with_arg) / sizeof(with_arg[0]); k++)
				if (strlen(with_arg[k]) == on && strncmp(o, with_arg[k], on) == 0)
					known = takes = true;
			if (!known) {
				warn(g, file, line, "grub-menuentry",
				     "%s with an unknown option '%s' is not added (GRUB refuses it)",
				     submenu ? "submenu" : "menuentry", w);
				argv_free(&rest);
				return 0;
			}
			const char *val = NULL;
			if (takes) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < a->n)
					val = a->v[++i];
				else {
					warn(g, file, line, "grub-menuentry",
					     "option '%s' needs a value: the entry is not added", w);
					argv_free(&rest);
					return 0;
				}
			}
			if (on == 2 && strncmp(o, "id", 2) == 0)
				id = val;
			continue;
		}
		struct xp_buf b = XP_BUF_INIT;
		xp_buf_adds(&b, w);
		r = argv_push(&rest, &b);
		xp_buf_release(&b);
	}
	if (r < 0) {
		argv_free(&rest);
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	}
	if (rest.n == 0) {
		warn(g, file, line, "grub-menuentry", "%s without a title is not added",
		     submenu ? "submenu" : "menuentry");
		argv_free(&rest);
		return 0;
	}
	if (g->nitems >= XP_LOCALBOOT_MAX_ENTRIES) {
		argv_free(&rest);
		return fatal(g, -EINVAL, file, line, "over %u menu entries",
			     XP_LOCALBOOT_MAX_ENTRIES);
	}
	struct menu *m = g->menu;
	if (xp_grow(&m->v, &m->cap, m->n, sizeof(*m->v), 8) < 0) {
		argv_free(&rest);
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	}
	struct item *it = &m->v[m->n];
	memset(it, 0, sizeof(*it));
	it->title = strdup(rest.v[0]);
	it->id = id ? strdup(id) : NULL;
	if (!it->title || (id && !it->id)) {
		free(it->title);
		free(it->id);
		argv_free(&rest);
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	}
	it->submenu = submenu;
	it->body = body;
	it->blen = blen;
	it->file = file;
	it->line = line;
	it->args = rest.v;
	it->nargs = rest.n;
	m->n++;
	g->nitems++;
	return 0;
}

static void item_release(struct item *it);

static void menu_free(struct menu *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		item_release(&m->v[i]);
	free(m->v);
	free(m);
}

static void item_release(struct item *it)
{
	free(it->title);
	free(it->id);
	for (size_t k = 0; k < it->nargs; k++)
		free(it->args[k]);
	free(it->args);
	free(it->sub_default);
	menu_free(it->sub);
}

/* ---- commands ----------------------------------------------------------------------- */

static int cmd_search(struct gs *g, struct scope *sc, char **av, size_t n, const char *kind)
{
	const char *var = NULL, *key = NULL;
	char type = kind ? kind[0] : 'f';
	const char *hints[8];
	size_t nh = 0;
	for (size_t i = 1; i < n; i++) {
		const char *w = av[i];
		if (kind) { /* search.fs_uuid KEY [VAR] */
			if (!key)
				key = w;
			else if (!var)
				var = w;
			continue;
		}
		if (strcmp(w, "-f") == 0 || strcmp(w, "--file") == 0)
			type = 'f';
		else if (strcmp(w, "-l") == 0 || strcmp(w, "--label") == 0)
			type = 'l';
		else if (strcmp(w, "-u") == 0 || strcmp(w, "--fs-uuid") == 0)
			type = 'u';
		else if (strcmp(w, "-s") == 0 || strcmp(w, "--set") == 0)
			var = "root";
		else if (strncmp(w, "--set=", 6) == 0)
			var = w + 6;
		else if (strncmp(w, "--hint", 6) == 0) {
			const char *eq = strchr(w, '=');
			const char *h = eq ? eq + 1 : (i + 1 < n ? av[++i] : NULL);
			if (h && nh < sizeof(hints) / sizeof(hints[0]))
				hints[nh++] = h;
		} else if (strcmp(w, "-h") == 0) {
			if (i + 1 < n && nh < sizeof(hints) / sizeof(hints[0]))
				hints[nh++] = av[++i];
		} else if (w[0] == '-' && w[1] != '\0')
			; /* --no-floppy, -n, --efidisk-only */
		else if (!key)
			key = w;
	}
	if (!key)
		return 1;
	long found = -1;
	/* hinted devices first, then every filesystem in order (GRUB's iteration) */
	for (size_t pass = 0; pass <= nh && found < 0; pass++) {
		size_t lo = 0, hi = g->disk->n;
		if (pass < nh) {
			long hv = xp__lb_vol_of_dev(g->disk, hints[pass]);
			if (hv < 0)
				continue;
			lo = (size_t)hv;
			hi = lo + 1;
		}
		for (size_t v = lo; v < hi && found < 0; v++) {
			const struct xp__lb_vol *vol = &g->disk->vols[v];
			bool dir;
			uint64_t size;
			if ((type == 'u' && strcasecmp(vol->uuid, key) == 0) ||
			    (type == 'l' && strcmp(vol->label, key) == 0) ||
			    (type == 'f' && key[0] == '/' &&
			     xp__lb_stat(g->disk, v, key, &dir, &size) == 0 && !dir))
				found = (long)v;
		}
	}
	if (found < 0) {
		warn(g, g->cur_file, g->cur_line, "grub-search",
		     "search: no filesystem of this disk has %s '%s'",
		     type == 'u' ? "UUID" : type == 'l' ? "label" : "the file", key);
		return 1;
	}
	if (var) {
		char dev[32];
		xp__lb_devname(g->disk, (size_t)found, dev);
		int r = env_set(g, sc->env, var, dev);
		if (r < 0)
			return r;
	}
	return 0;
}

struct envset {
	struct gs *g;
	struct env *env;
	char **only;
	size_t nonly;
};

static int grubenv_set(void *ud, const char *name, const char *value)
{
	struct envset *e = ud;
	if (e->nonly) {
		size_t i = 0;
		while (i < e->nonly && strcmp(e->only[i], name) != 0)
			i++;
		if (i == e->nonly)
			return 0;
	}
	return env_set(e->g, e->env, name, value);
}

static int read_file(struct gs *g, struct scope *sc, const char *arg, size_t max, char **data,
		     size_t *len, long *volp)
{
	long vol;
	const char *path;
	int r = resolve(g, sc, arg, &vol, &path);
	if (r == 0)
		r = xp__lb_read(g->disk, (size_t)vol, path, max, data, len);
	if (r == 0 && volp)
		*volp = vol;
	return r;
}

static int cmd_load_env(struct gs *g, struct scope *sc, char **av, size_t n)
{
	const char *file = NULL;
	struct envset es = {.g = g, .env = sc->env};
	for (size_t i = 1; i < n; i++) {
		if (strcmp(av[i], "-f") == 0 || strcmp(av[i], "--file") == 0) {
			if (i + 1 < n)
				file = av[++i];
		} else if (strncmp(av[i], "--file=", 7) == 0)
			file = av[i] + 7;
		else if (av[i][0] == '-')
			; /* -s, --skip-sig */
		else {
			es.only = &av[i];
			es.nonly = n - i;
			break;
		}
	}
	struct xp_buf def = XP_BUF_INIT;
	if (!file) {
		const char *prefix = env_get(sc->env, "prefix");
		xp_buf_addf(&def, "%s/grubenv", prefix ? prefix : "");
		file = xp_buf_str(&def);
	}
	char *data = NULL;
	size_t len = 0;
	int r = read_file(g, sc, file, 1u << 16, &data, &len, NULL);
	if (r == 0)
		r = xp__grubenv_parse(data, len, grubenv_set, &es) < 0 && !g->err ? 1 : 0;
	else
		r = 1;
	free(data);
	xp_buf_release(&def);
	return g->err ? g->err : r;
}

static int cmd_source(struct gs *g, struct scope *sc, const char *arg, bool configfile)
{
	char *data = NULL;
	size_t len = 0;
	int r = read_file(g, sc, arg, XP_LOCALBOOT_MAX_CONFIG, &data, &len, NULL);
	if (r < 0) {
		warn(g, g->cur_file, g->cur_line, "grub-source", "%s '%s': %s", configfile ? "configfile" : "source",
		     arg, r == -EFBIG ? "over the size limit" : "not found on this disk");
		free(data);
		return 1;
	}
	struct src *s = keep_text(g, data, len, arg);
	free(data);
	if (!s)
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	if (g->depth >= XP_LOCALBOOT_MAX_DEPTH)
		return fatal(g, -EINVAL, s->file, 0, "sourced files nest over %u deep",
			     XP_LOCALBOOT_MAX_DEPTH);
	g->depth++;
	if (!configfile) {
		r = run_text(g, sc, s->text, s->len, s->file, 1);
	} else {
		/* a new menu in a new context (grub_normal_execute via configfile): what
		 * is left of the script that ran it does not run */
		struct menu *m = g->menu;
		for (size_t i = 0; i < m->n; i++)
			item_release(&m->v[i]);
		m->n = 0;
		struct env *e = env_new(g, sc->env, true);
		if (!e)
			r = fatal(g, -ENOMEM, NULL, 0, "out of memory");
		else {
			struct scope nsc = {.env = e};
			m->env = e;
			r = run_text(g, &nsc, s->text, s->len, s->file, 1);
			g->stop = true;
		}
	}
	g->depth--;
	return r < 0 ? r : 0;
}

/* blscfg's expand_val: $NAME replaced by its value and a space (a space after the
 * name dropped), other text kept. */
static void bls_expand(const struct scope *sc, const char *v, struct xp_buf *out)
{
	for (size_t i = 0; v[i];) {
		if (v[i] == '$') {
			size_t j = i + 1;
			while (v[j] && name_char(v[j]))
				j++;
			char name[256];
			size_t nl = j - i - 1 < sizeof(name) - 1 ? j - i - 1 : sizeof(name) - 1;
			memcpy(name, v + i + 1, nl);
			name[nl] = '\0';
			const char *val = env_get(sc->env, name);
			if (val) {
				xp_buf_adds(out, val);
				xp_buf_addc(out, ' ');
			}
			i = v[j] == ' ' ? j + 1 : j;
		} else {
			xp_buf_addc(out, v[i++]);
		}
	}
}

static int cmd_blscfg(struct gs *g, struct scope *sc)
{
	const char *root = env_get(sc->env, "root");
	long vol = root ? xp__lb_vol_of_dev(g->disk, root) : (long)g->cfg_vol;
	if (vol < 0)
		return 1;
	const char *dir = env_get(sc->env, "blsdir");
	struct xp__bls_entry *v = NULL;
	size_t n = 0;
	int r = xp__bls_load(g->disk, (size_t)vol, dir ? dir : "/loader/entries", &v, &n, g->d);
	if (r == -ENOENT && !dir)
		r = xp__bls_load(g->disk, (size_t)vol, "/boot/loader/entries", &v, &n, g->d);
	if (r < 0)
		return r == -ENOMEM ? fatal(g, r, NULL, 0, "out of memory") : 1;
	const char *sd = env_get(sc->env, "save_default");
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct xp__bls_entry *e = &v[i];
		if (!e->linux)
			continue; /* blscfg skips an entry with no 'linux' key */
		struct xp_buf body = XP_BUF_INIT, opts = XP_BUF_INIT;
		if (e->options)
			bls_expand(sc, e->options, &opts);
		else if (env_get(sc->env, "default_kernelopts"))
			bls_expand(sc, env_get(sc->env, "default_kernelopts"), &opts);
		if (sd && strcmp(sd, "true") == 0)
			xp_buf_adds(&body, "savedefault\n");
		xp_buf_addf(&body, "load_video\nset gfxpayload=keep\ninsmod gzio\nlinux ($root)%s%s%s\n",
			    e->linux, opts.len ? " " : "", xp_buf_str(&opts));
		if (e->n_initrd) {
			xp_buf_adds(&body, "initrd");
			for (size_t k = 0; k < e->n_initrd; k++)
				xp_buf_addf(&body, " ($root)%s", e->initrd[k]);
			xp_buf_addc(&body, '\n');
		}
		struct src *s = xp_buf_error(&body) || xp_buf_error(&opts)
					? NULL
					: keep_text(g, body.s, body.len, e->id);
		xp_buf_release(&body);
		xp_buf_release(&opts);
		if (!s) {
			r = fatal(g, -ENOMEM, NULL, 0, "out of memory");
			break;
		}
		struct argv a = {0};
		struct xp_buf w = XP_BUF_INIT;
		xp_buf_adds(&w, "menuentry");
		r = argv_push(&a, &w);
		xp_buf_adds(&w, e->title ? e->title : e->linux);
		if (r == 0)
			r = argv_push(&a, &w);
		xp_buf_adds(&w, "--id");
		if (r == 0)
			r = argv_push(&a, &w);
		xp_buf_adds(&w, e->id);
		if (r == 0)
			r = argv_push(&a, &w);
		xp_buf_release(&w);
		if (r < 0)
			r = fatal(g, -ENOMEM, NULL, 0, "out of memory");
		else
			r = add_item(g, sc, false, &a, s->text, s->len, s->file, 1);
		argv_free(&a);
	}
	xp__bls_free(v, n);
	return r < 0 ? r : 0;
}

/* ---- test / [ ---------------------------------------------------------------------- */

struct texpr {
	struct gs *g;
	struct scope *sc;
	char **v;
	size_t n, i;
};

static bool t_or(struct texpr *t);

static bool t_file(struct texpr *t, char op, const char *arg)
{
	long vol;
	const char *path;
	bool dir;
	uint64_t size;
	if (resolve(t->g, t->sc, arg, &vol, &path) < 0 ||
	    xp__lb_stat(t->g->disk, (size_t)vol, path, &dir, &size) < 0)
		return false;
	return op == 'e' || (op == 'd' && dir) || (op == 'f' && !dir) || (op == 's' && !dir && size);
}

static bool is_unop(const char *s)
{
	return s[0] == '-' && strchr("nzefds", s[1]) && s[1] && !s[2];
}

static bool is_binop(const char *s)
{
	static const char *const ops[] = {"=",	 "==",	"!=",  "<",   "<=",  ">",   ">=",
					  "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-pgt",
					  "-plt", "-nt", "-ot"};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(s, ops[i]) == 0)
			return true;
	return false;
}

static long long t_num(const char *s, bool prefix)
{
	if (prefix)
		while (*s && (*s < '0' || *s > '9'))
			s++;
	return strtoll(s, NULL, 0);
}

static bool t_primary(struct texpr *t)
{
	if (t->i >= t->n)
		return false;
	if (t->i + 2 < t->n && is_binop(t->v[t->i + 1])) {
		const char *a = t->v[t->i], *op = t->v[t->i + 1], *b = t->v[t->i + 2];
		t->i += 3;
		int c = strcmp(a, b);
		if (!strcmp(op, "=") || !strcmp(op, "=="))
			return c == 0;
		if (!strcmp(op, "!="))
			return c != 0;
		if (!strcmp(op, "<"))
			return c < 0;
		if (!strcmp(op, "<="))
			return c <= 0;
		if (!strcmp(op, ">"))
			return c > 0;
		if (!strcmp(op, ">="))
			return c >= 0;
		if (!strcmp(op, "-nt") || !strcmp(op, "-ot"))
			return false;
		bool p = op[1] == 'p';
		long long x = t_num(a, p), y = t_num(b, p);
		const char *o = op + (p ? 2 : 1);
		return !strcmp(o, "eq")	  ? x == y
		       : !strcmp(o, "ne") ? x != y
		       : !strcmp(o, "lt") ? x < y
		       : !strcmp(o, "le") ? x <= y
		       : !strcmp(o, "gt") ? x > y
					  : x >= y;
	}
	if (is_unop(t->v[t->i]) && t->i + 1 < t->n) {
		char op = t->v[t->i][1];
		const char *a = t->v[t->i + 1];
		t->i += 2;
		if (op == 'n')
			return a[0] != '\0';
		if (op == 'z')
			return a[0] == '\0';
		return t_file(t, op, a);
	}
	return t->v[t->i++][0] != '\0';
}

static bool t_not(struct texpr *t)
{
	if (t->i < t->n && strcmp(t->v[t->i], "!") == 0) {
		t->i++;
		return !t_not(t);
	}
	if (t->i < t->n && strcmp(t->v[t->i], "(") == 0) {
		t->i++;
		bool v = t_or(t);
		if (t->i < t->n && strcmp(t->v[t->i], ")") == 0)
			t->i++;
		return v;
	}
	return t_primary(t);
}

static bool t_and(struct texpr *t)
{
	bool v = t_not(t);
	while (t->i < t->n && strcmp(t->v[t->i], "-a") == 0) {
		t->i++;
		bool w = t_not(t);
		v = v && w;
	}
	return v;
}

static bool t_or(struct texpr *t)
{
	bool v = t_and(t);
	while (t->i < t->n && strcmp(t->v[t->i], "-o") == 0) {
		t->i++;
		bool w = t_and(t);
		v = v || w;
	}
	return v;
}

static int cmd_test(struct gs *g, struct scope *sc, char **av, size_t n)
{
	size_t end = n;
	if (strcmp(av[0], "[") == 0) {
		if (n < 2 || strcmp(av[n - 1], "]") != 0)
			return 1;
		end = n - 1;
	}
	struct texpr t = {.g = g, .sc = sc, .v = av + 1, .n = end - 1};
	return t_or(&t) ? 0 : 1;
}

/* ---- an entry's loaders ------------------------------------------------------------ */

static int cmd_linux(struct gs *g, struct scope *sc, char **av, size_t n)
{
	struct boot *b = g->boot;
	if (!b)
		return 0;
	if (n < 2)
		return 1;
	long vol;
	const char *path;
	int r = resolve(g, sc, av[1], &vol, &path);
	free(b->kernel);
	free(b->args);
	b->kernel = b->args = NULL;
	xp_buf_truncate(&b->initrd, 0);
	b->have_initrd = false;
	b->other = false;
	if (r < 0) {
		warn(g, g->cur_file, g->cur_line, "grub-path",
		     "entry '%s': linux '%s': %s", g->item_title, av[1],
		     r == -EINVAL ? "not a path GRUB can open" : "no filesystem there on this disk");
		b->failed = true;
		return 1;
	}
	b->failed = false;
	struct xp_buf args = XP_BUF_INIT;
	for (size_t i = 2; i < n; i++) {
		if (i > 2)
			xp_buf_addc(&args, ' ');
		xp_buf_adds(&args, av[i]);
	}
	b->kernel = strdup(path);
	b->args = xp_buf_steal(&args);
	xp_buf_release(&args);
	b->kvol = vol;
	if (!b->kernel || !b->args)
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	return 0;
}

static int cmd_initrd(struct gs *g, struct scope *sc, char **av, size_t n)
{
	struct boot *b = g->boot;
	if (!b)
		return 0;
	if (!b->kernel || n < 2)
		return 1; /* GRUB: "you need to load the kernel first" */
	xp_buf_truncate(&b->initrd, 0);
	b->have_initrd = false;
	for (size_t i = 1; i < n; i++) {
		long vol;
		const char *path;
		int r = resolve(g, sc, av[i], &vol, &path);
		if (r < 0 || vol != b->kvol) {
			warn(g, g->cur_file, g->cur_line, "grub-path",
			     "entry '%s': initrd '%s': %s", g->item_title, av[i],
			     r == -EINVAL   ? "not a path GRUB can open"
			     : r == -ENOENT ? "no filesystem there on this disk"
					    : "not on the kernel's filesystem");
			b->failed = true;
			return 1;
		}
		if (i > 1)
			xp_buf_addc(&b->initrd, ' ');
		xp_buf_adds(&b->initrd, path);
	}
	b->have_initrd = true;
	b->ivol = b->kvol;
	return 0;
}

static bool is_name(const char *s, size_t n)
{
	if (n == 0 || !name_start(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

static int call_function(struct gs *g, struct scope *sc, const struct func *f, char **av,
			 size_t n)
{
	if (g->depth >= XP_LOCALBOOT_MAX_DEPTH)
		return fatal(g, -EINVAL, f->file, f->line, "functions nest over %u deep",
			     XP_LOCALBOOT_MAX_DEPTH);
	struct scope fsc = {.env = sc->env, .pos = av + 1, .npos = n - 1};
	g->depth++;
	int r = run_text(g, &fsc, f->body, f->blen, f->file, f->line);
	g->depth--;
	if (r < 0)
		return r;
	return fsc.status;
}

static int exec_cmd(struct gs *g, struct scope *sc, char **av, size_t n)
{
	if (++g->steps > MAX_STEPS)
		return fatal(g, -EINVAL, NULL, 0, "the script runs over %u commands", MAX_STEPS);
	const char *c = av[0];
	for (size_t i = g->nfunc; i-- > 0;)
		if (strcmp(g->funcs[i].name, c) == 0) {
			struct func f = g->funcs[i]; /* the table may grow while it runs */
			return call_function(g, sc, &f, av, n);
		}
	if (strcmp(c, "set") == 0) {
		if (n < 2)
			return 0;
		const char *eq = strchr(av[1], '=');
		if (!eq)
			return 1;
		char *name = strndup(av[1], (size_t)(eq - av[1]));
		if (!name)
			return fatal(g, -ENOMEM, NULL, 0, "out of memory");
		int r = env_set(g, sc->env, name, eq + 1);
		free(name);
		return r;
	}
	if (strcmp(c, "unset") == 0) {
		for (size_t i = 1; i < n; i++) {
			int r = env_set(g, sc->env, av[i], NULL);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (strcmp(c, "export") == 0) {
		for (size_t i = 1; i < n; i++) {
			int r = env_export(g, sc->env, av[i]);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (strcmp(c, "[") == 0 || strcmp(c, "test") == 0)
		return cmd_test(g, sc, av, n);
	if (strcmp(c, "true") == 0)
		return 0;
	if (strcmp(c, "false") == 0)
		return 1;
	if (strcmp(c, "load_env") == 0)
		return cmd_load_env(g, sc, av, n);
	if (strcmp(c, "search") == 0)
		return cmd_search(g, sc, av, n, NULL);
	if (strcmp(c, "search.fs_uuid") == 0)
		return cmd_search(g, sc, av, n, "u");
	if (strcmp(c, "search.fs_label") == 0)
		return cmd_search(g, sc, av, n, "l");
	if (strcmp(c, "search.file") == 0)
		return cmd_search(g, sc, av, n, "f");
	if (strcmp(c, "source") == 0 || strcmp(c, ".") == 0 || strcmp(c, "configfile") == 0)
		return n < 2 ? 1 : cmd_source(g, sc, av[1], c[0] == 'c');
	if (strcmp(c, "blscfg") == 0 || strcmp(c, "bls_import") == 0)
		return cmd_blscfg(g, sc);
	if (strcmp(c, "linux") == 0 || strcmp(c, "linux16") == 0 || strcmp(c, "linuxefi") == 0)
		return cmd_linux(g, sc, av, n);
	if (strcmp(c, "initrd") == 0 || strcmp(c, "initrd16") == 0 || strcmp(c, "initrdefi") == 0)
		return cmd_initrd(g, sc, av, n);
	static const char *const others[] = {
	    "chainloader", "multiboot", "multiboot2", "module", "module2", "xen_hypervisor",
	    "xen_module", "kfreebsd", "knetbsd", "kopenbsd", "appleloader", "ntldr",
	    "legacy_kernel", "freedos", "truecrypt", "plan9", "efi"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (strcmp(c, others[i]) == 0) {
			if (g->boot)
				g->boot->other = true;
			return 0;
		}
	static const char *const ok[] = {"insmod", "echo", "save_env", "savedefault",
					 "terminal_output", "terminal_input", "set_gfxpayload",
					 "boot", "return", "break", "gettext"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(c, ok[i]) == 0)
			return 0;
	const char *eq = strchr(c, '=');
	if (eq && is_name(c, (size_t)(eq - c))) { /* NAME=VALUE, a command of its own */
		char *name = strndup(c, (size_t)(eq - c));
		if (!name)
			return fatal(g, -ENOMEM, NULL, 0, "out of memory");
		int r = env_set(g, sc->env, name, eq + 1);
		free(name);
		return r;
	}
	return 1; /* a command not modelled: it fails, so an `if` on it is not taken */
}

/* ---- the grammar --------------------------------------------------------------------- */

/* The body of a { ... } block whose '{' was just read: parsed, not run; its text's
 * range in *a, *b (the '}' consumed). */
static int block_body(struct gs *g, struct scope *sc, struct lx *l, size_t *a, size_t *b)
{
	*a = l->pos;
	const char *stopped = NULL;
	int r = run_list(g, sc, l, false, NULL, &stopped);
	if (r < 0)
		return r;
	struct tok t;
	lx_next(l, &t);
	if (t.t != TK_RBRACE)
		return syntax(g, l, t.line, "'}' expected");
	*b = t.a;
	return 0;
}

static int parse_menuentry(struct gs *g, struct scope *sc, struct lx *l, bool run, bool submenu,
			   unsigned line)
{
	struct tok t;
	struct argv a = {0};
	int r = 0;
	struct xp_buf kw = XP_BUF_INIT;
	xp_buf_adds(&kw, submenu ? "submenu" : "menuentry");
	r = argv_push(&a, &kw);
	xp_buf_release(&kw);
	for (;;) {
		lx_next(l, &t);
		if (t.t == TK_WORD) {
			if (run && r == 0)
				r = expand(g, sc, l->s, t.a, t.b, &a);
			continue;
		}
		if (t.t == TK_NL)
			continue;
		break;
	}
	if (t.t != TK_LBRACE) {
		argv_free(&a);
		return r < 0 ? r : syntax(g, l, t.line, "'{' expected");
	}
	size_t ba, bb;
	int s = block_body(g, sc, l, &ba, &bb);
	if (s < 0 || r < 0) {
		argv_free(&a);
		return r < 0 ? r : s;
	}
	if (run)
		r = add_item(g, sc, submenu, &a, l->s + ba, bb - ba, l->file, line);
	argv_free(&a);
	return r;
}

static int parse_function(struct gs *g, struct scope *sc, struct lx *l, bool run, unsigned line)
{
	struct tok t;
	lx_next(l, &t);
	if (t.t != TK_WORD)
		return syntax(g, l, t.line, "a function name expected");
	size_t na = t.a, nb = t.b;
	do
		lx_next(l, &t);
	while (t.t == TK_NL);
	if (t.t != TK_LBRACE)
		return syntax(g, l, t.line, "'{' expected");
	size_t ba, bb;
	int r = block_body(g, sc, l, &ba, &bb);
	if (r < 0 || !run)
		return r;
	if (xp_grow(&g->funcs, &g->capfunc, g->nfunc, sizeof(*g->funcs), 4) < 0)
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	struct func *f = &g->funcs[g->nfunc];
	f->name = strndup(l->s + na, nb - na);
	if (!f->name)
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	f->body = l->s + ba;
	f->blen = bb - ba;
	f->file = l->file;
	f->line = line;
	g->nfunc++;
	return 0;
}

static int parse_if(struct gs *g, struct scope *sc, struct lx *l, bool run)
{
	static const char *const then_[] = {"then", NULL};
	static const char *const branch[] = {"elif", "else", "fi", NULL};
	static const char *const fi_[] = {"fi", NULL};
	bool done = false;
	const char *stopped;
	int r;
	for (;;) {
		bool cond_run = run && !done;
		sc->status = 0;
		r = run_list(g, sc, l, cond_run, then_, &stopped);
		if (r < 0 || g->stop)
			return r;
		if (!stopped || strcmp(stopped, "then") != 0)
			return syntax(g, l, l->line, "'then' expected");
		bool take = cond_run && sc->status == 0;
		r = run_list(g, sc, l, take, branch, &stopped);
		if (r < 0 || g->stop)
			return r;
		if (take)
			done = true;
		if (!stopped || strcmp(stopped, "}") == 0)
			return syntax(g, l, l->line, "'fi' expected");
		if (strcmp(stopped, "elif") == 0)
			continue;
		if (strcmp(stopped, "else") == 0) {
			r = run_list(g, sc, l, run && !done, fi_, &stopped);
			if (r < 0 || g->stop)
				return r;
			if (!stopped || strcmp(stopped, "fi") != 0)
				return syntax(g, l, l->line, "'fi' expected");
		}
		if (run && !done)
			sc->status = 0;
		return 0;
	}
}

static int parse_loop(struct gs *g, struct scope *sc, struct lx *l, bool run, unsigned line,
		      const char *kw)
{
	static const char *const do_[] = {"do", NULL};
	static const char *const done_[] = {"done", NULL};
	const char *stopped;
	int r = run_list(g, sc, l, false, do_, &stopped);
	if (r < 0)
		return r;
	if (!stopped || strcmp(stopped, "do") != 0)
		return syntax(g, l, line, "'do' expected");
	r = run_list(g, sc, l, false, done_, &stopped);
	if (r < 0)
		return r;
	if (!stopped || strcmp(stopped, "done") != 0)
		return syntax(g, l, line, "'done' expected");
	if (run && !g->loop_warned) {
		g->loop_warned = true;
		warn(g, l->file, line, "grub-loop", "a '%s' loop is not run", kw);
	}
	return 0;
}

static int run_command(struct gs *g, struct scope *sc, struct lx *l, bool run)
{
	struct tok t;
	lx_next(l, &t);
	if (t.t == TK_ERR)
		return syntax(g, l, t.line, t.why);
	if (t.t != TK_WORD)
		return syntax(g, l, t.line, "a command expected");
	if (tok_is(l, &t, "if"))
		return parse_if(g, sc, l, run);
	if (tok_is(l, &t, "for") || tok_is(l, &t, "while") || tok_is(l, &t, "until"))
		return parse_loop(g, sc, l, run, t.line,
				  tok_is(l, &t, "for") ? "for" : tok_is(l, &t, "while") ? "while" : "until");
	if (tok_is(l, &t, "function"))
		return parse_function(g, sc, l, run, t.line);
	if (tok_is(l, &t, "menuentry") || tok_is(l, &t, "submenu"))
		return parse_menuentry(g, sc, l, run, tok_is(l, &t, "submenu"), t.line);
	static const char *const bad[] = {"then", "elif", "else", "fi", "do", "done"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tok_is(l, &t, bad[i]))
			return syntax(g, l, t.line, "unexpected keyword");
	bool invert = tok_is(l, &t, "!");
	struct argv a = {0};
	int r = 0;
	if (!invert && run)
		r = expand(g, sc, l->s, t.a, t.b, &a);
	for (;;) {
		struct tok p;
		lx_peek(l, &p);
		if (p.t == TK_WORD) {
			lx_next(l, &p);
			if (run && r == 0)
				r = expand(g, sc, l->s, p.a, p.b, &a);
			continue;
		}
		if (p.t == TK_NL || p.t == TK_SEMI || p.t == TK_EOF || p.t == TK_RBRACE)
			break;
		argv_free(&a);
		return r < 0 ? r : syntax(g, l, p.line, p.t == TK_ERR ? p.why : "unexpected token");
	}
	if (r < 0 || !run) {
		argv_free(&a);
		return r;
	}
	g->cur_file = l->file;
	g->cur_line = t.line;
	int st = a.n ? exec_cmd(g, sc, a.v, a.n) : 0;
	argv_free(&a);
	if (st < 0)
		return st;
	sc->status = invert ? !st : st;
	return 0;
}

static int run_list(struct gs *g, struct scope *sc, struct lx *l, bool run,
		    const char *const *stops, const char **stopped)
{
	*stopped = NULL;
	for (;;) {
		if (g->err)
			return g->err;
		struct tok t;
		lx_peek(l, &t);
		if (t.t == TK_NL || t.t == TK_SEMI) {
			lx_next(l, &t);
			continue;
		}
		if (t.t == TK_EOF)
			return 0;
		if (t.t == TK_RBRACE) {
			*stopped = "}";
			return 0;
		}
		for (size_t i = 0; stops && stops[i]; i++)
			if (tok_is(l, &t, stops[i])) {
				lx_next(l, &t);
				*stopped = stops[i];
				return 0;
			}
		int r = run_command(g, sc, l, run);
		if (r < 0)
			return r;
		if (run && g->stop)
			return 0;
	}
}

/* Runs text statement by statement; one that does not parse is skipped (a warning)
 * and the next line goes on. */
static int run_text(struct gs *g, struct scope *sc, const char *text, size_t len,
		    const char *file, unsigned line0)
{
	struct lx l = {.s = text, .len = len, .line = line0, .file = file};
	for (;;) {
		if (g->err)
			return g->err;
		if (g->stop)
			return 0;
		struct tok t;
		lx_peek(&l, &t);
		if (t.t == TK_EOF)
			return 0;
		if (t.t == TK_NL || t.t == TK_SEMI) {
			lx_next(&l, &t);
			continue;
		}
		struct lx save = l;
		int r = t.t == TK_RBRACE ? -EBADMSG : run_command(g, sc, &l, false);
		if (r == -EBADMSG) {
			if (++g->steps > MAX_STEPS)
				return fatal(g, -EINVAL, NULL, 0, "the script runs over %u commands",
					     MAX_STEPS);
			warn(g, file, t.line, "grub-syntax",
			     "syntax error: the statement is skipped, as GRUB skips it");
			/* on at the line after the one where the statement failed */
			size_t p = l.pos > save.pos ? l.pos : save.pos + 1;
			if (p > 0 && p <= len && text[p - 1] == '\n')
				p--;
			while (p < len && text[p] != '\n')
				p++;
			l.line = save.line;
			for (size_t k = save.pos; k < p && k < len; k++)
				l.line += text[k] == '\n';
			l.pos = p;
			continue;
		}
		if (r < 0)
			return r;
		l = save;
		r = run_command(g, sc, &l, true);
		if (r < 0)
			return r == -EBADMSG ? 0 : r;
	}
}

/* ---- the menu, evaluated ------------------------------------------------------------ */

static int run_entry(struct gs *g, struct menu *m, struct item *it, const char *title)
{
	struct env *e = env_new(g, m->env, false);
	if (!e)
		return fatal(g, -ENOMEM, NULL, 0, "out of memory");
	struct boot b = {.kvol = -1, .ivol = -1};
	struct scope sc = {.env = e, .pos = it->args, .npos = it->nargs};
	/* a menuentry or configfile in the body makes a menu nobody looks at: not m,
	 * which it would change under it */
	struct menu scratch = {.env = e}, *outer = g->menu;
	bool stop = g->stop;
	g->menu = &scratch;
	g->boot = &b;
	g->item_title = title;
	g->depth++;
	int r = run_text(g, &sc, it->body, it->blen, it->file, it->line);
	g->depth--;
	g->boot = NULL;
	g->menu = outer;
	g->stop = stop;
	for (size_t i = 0; i < scratch.n; i++)
		item_release(&scratch.v[i]);
	free(scratch.v);
	if (r == 0) {
		bool linux = b.kernel && !b.other && !b.failed;
		unsigned part = g->disk->vols[g->cfg_vol].partition;
		if (linux)
			part = g->disk->vols[b.kvol].partition;
		r = xp__lb_add(g->out, title, it->id, linux ? b.kernel : NULL,
			       linux && b.have_initrd ? xp_buf_str(&b.initrd) : NULL,
			       linux ? b.args : "", part, &it->flat);
		if (r == -E2BIG)
			r = fatal(g, -EINVAL, it->file, it->line, "over %u entries",
				  XP_LOCALBOOT_MAX_ENTRIES);
		else if (r < 0)
			r = fatal(g, r, NULL, 0, "out of memory");
	}
	free(b.kernel);
	free(b.args);
	xp_buf_release(&b.initrd);
	return r;
}

/* Runs every entry of m (its submenus' bodies first), spec the default GRUB gives m. */
static int walk(struct gs *g, struct menu *m, const char *prefix, const char *spec)
{
	long def = entry_number(m, spec);
	if (def < 0 || (size_t)def >= m->n)
		def = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct item *it = &m->v[i];
		struct xp_buf title = XP_BUF_INIT;
		if (prefix)
			xp_buf_addf(&title, "%s>", prefix);
		xp_buf_adds(&title, it->title);
		if (xp_buf_error(&title))
			return fatal(g, -ENOMEM, NULL, 0, "out of memory");
		int r;
		if (!it->submenu) {
			r = run_entry(g, m, it, title.s);
			xp_buf_release(&title);
			if (r < 0)
				return r;
			continue;
		}
		if (g->depth >= XP_LOCALBOOT_MAX_DEPTH) {
			xp_buf_release(&title);
			return fatal(g, -EINVAL, it->file, it->line, "submenus nest over %u deep",
				     XP_LOCALBOOT_MAX_DEPTH);
		}
		/* a new context with the exported variables; `default` what follows the
		 * path's first '>' when this submenu is the default's way */
		struct env *e = env_new(g, m->env, true);
		it->sub = calloc(1, sizeof(*it->sub));
		if (!e || !it->sub) {
			xp_buf_release(&title);
			return fatal(g, -ENOMEM, NULL, 0, "out of memory");
		}
		const char *rest = (long)i == def && spec ? rest_of(spec) : NULL;
		r = rest ? env_set(g, e, "default", rest) : 0;
		struct menu *outer = g->menu;
		it->sub->env = e;
		g->menu = it->sub;
		struct scope sc = {.env = e, .pos = it->args, .npos = it->nargs};
		bool stop = g->stop;
		g->stop = false;
		g->depth++;
		if (r == 0)
			r = run_text(g, &sc, it->body, it->blen, it->file, it->line);
		g->depth--;
		g->stop = stop;
		g->menu = outer;
		const char *sd = env_get(it->sub->env, "default");
		it->body_set_default = (sd != NULL) != (rest != NULL) ||
				       (sd && rest && strcmp(sd, rest) != 0);
		if (r == 0 && sd && !(it->sub_default = strdup(sd)))
			r = fatal(g, -ENOMEM, NULL, 0, "out of memory");
		if (r == 0)
			r = walk(g, it->sub, title.s, it->sub_default);
		xp_buf_release(&title);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The flat index spec chooses in m: GRUB's default rules (user false: out of range is
 * entry 0), or an entry asked for (user: out of range is -1). */
static long choose(const struct menu *m, const char *spec, bool user)
{
	long i = entry_number(m, spec);
	if (i < 0 || (size_t)i >= m->n) {
		if (user || m->n == 0)
			return -1;
		i = 0;
	}
	const struct item *it = &m->v[i];
	if (!it->submenu)
		return (long)it->flat;
	if (!it->sub)
		return -1;
	const char *rest = spec ? rest_of(spec) : NULL;
	if (!user)
		return choose(it->sub, it->sub_default, false);
	return choose(it->sub, it->body_set_default ? it->sub_default : rest, rest != NULL);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void gs_release(struct gs *g, struct menu *root)
{
	menu_free(root);
	for (size_t i = 0; i < g->nenv; i++)
		env_free(g->envs[i]);
	free(g->envs);
	for (size_t i = 0; i < g->nfunc; i++)
		free(g->funcs[i].name);
	free(g->funcs);
	for (size_t i = 0; i < g->nsrc; i++) {
		free(g->srcs[i]->text);
		free(g->srcs[i]->file);
		free(g->srcs[i]);
	}
	free(g->srcs);
}

int xp__lb_grub2(const struct xp__lb_disk *disk, size_t vol, const char *path, const char *data,
		 size_t len, const char *entry, struct xp_localboot *out, struct xp_diags *d)
{
	if (len > XP_LOCALBOOT_MAX_CONFIG)
		return xp_diags_fail(d, -EINVAL, path, "grub-limit", NULL,
				     "over %u bytes: not read", XP_LOCALBOOT_MAX_CONFIG);
	if (memchr(data, '\0', len))
		return xp_diags_fail(d, -EINVAL, path, "grub-nul", NULL,
				     "holds a NUL byte: not a GRUB script");
	struct gs g = {.disk = disk, .cfg_vol = vol, .d = d, .out = out};
	struct menu *root = calloc(1, sizeof(*root));
	struct env *e = env_new(&g, NULL, false);
	struct src *s = keep_text(&g, data, len, path);
	if (!root || !e || !s) {
		free(root);
		gs_release(&g, NULL);
		return -ENOMEM;
	}
	root->env = e;
	g.menu = root;
	/* what GRUB has set when it reads grub.cfg (kern/main.c, normal/main.c) */
	char dev[32];
	xp__lb_devname(disk, vol, dev);
	const char *slash = strrchr(path, '/');
	struct xp_buf dir = XP_BUF_INIT, cfile = XP_BUF_INIT;
	xp_buf_addf(&dir, "(%s)", dev);
	xp_buf_add(&dir, path, slash && slash != path ? (size_t)(slash - path) : 0);
	xp_buf_addf(&cfile, "(%s)%s", dev, path);
	static const char *const features[] = {
	    "feature_chainloader_bpb", "feature_ntldr", "feature_platform_search_hint",
	    "feature_default_font_path", "feature_all_video_module", "feature_menuentry_id",
	    "feature_menuentry_options", "feature_200_final", "feature_nativedisk_cmd",
	    "feature_timeout_style"};
	int r = xp_buf_error(&dir) || xp_buf_error(&cfile) ? -ENOMEM : 0;
	struct {
		const char *k, *v;
	} init[] = {{"root", dev},
		    {"prefix", xp_buf_str(&dir)},
		    {"config_directory", xp_buf_str(&dir)},
		    {"config_file", xp_buf_str(&cfile)},
		    {"grub_platform", "xen"},
		    {"grub_cpu", "x86_64"}};
	for (size_t i = 0; r == 0 && i < sizeof(init) / sizeof(init[0]); i++) {
		r = env_set(&g, e, init[i].k, init[i].v);
		if (r == 0)
			r = env_export(&g, e, init[i].k);
	}
	for (size_t i = 0; r == 0 && i < sizeof(features) / sizeof(features[0]); i++) {
		r = env_set(&g, e, features[i], "y");
		if (r == 0)
			r = env_export(&g, e, features[i]);
	}
	xp_buf_release(&dir);
	xp_buf_release(&cfile);
	struct scope sc = {.env = e};
	if (r == 0)
		r = run_text(&g, &sc, s->text, s->len, s->file, 1);
	g.stop = false;
	if (r == 0)
		r = walk(&g, root, NULL, env_get(root->env, "default"));
	if (r < 0)
		goto done;
	if (out->n == 0) {
		r = xp_diags_fail(d, -ENOENT, path, "no-entries", NULL,
				  "has no menu entries: GRUB would have nothing to boot");
		goto done;
	}
	long c = -1;
	if (!entry) {
		c = choose(root, env_get(root->env, "default"), false);
	} else if (all_digits(entry)) {
		size_t k;
		r = xp__lb_pick(out, entry, path, &k, d);
		if (r < 0)
			goto done;
		c = (long)k;
	} else {
		for (size_t i = 0; i < out->n && c < 0; i++)
			if (strcmp(out->v[i].title, entry) == 0)
				c = (long)i;
		if (c < 0)
			c = choose(root, entry, true);
		if (c < 0) {
			r = xp_diags_fail(d, -ENOENT, path, "no-entry", NULL,
					  "has no entry '%s' (a title, an id, a 0-based index, "
					  "or SUBMENU>ENTRY)", entry);
			goto done;
		}
	}
	if (c < 0) {
		r = xp_diags_fail(d, -ENOENT, path, "no-entry", NULL,
				  "its default names an empty submenu");
		goto done;
	}
	out->chosen = (size_t)c;
	if (!out->v[c].kernel)
		r = xp_diags_fail(d, -ENOEXEC, path, "not-linux", NULL,
				  "entry '%s' boots no Linux kernel that can be found on this disk",
				  out->v[c].title);
done:
	gs_release(&g, root);
	return r;
}
