/*
 * pxelinux.c - pxelinux/syslinux configuration files: a bounded reader and a writer
 * (xenprov/pxelinux.h).
 *
 * Not here: fetching the files (the domU bootloader and the boot server do that), the
 * menus' colours and layout, IPAPPEND's expansion (it needs the client's addresses).
 *
 * The reader follows syslinux.cfg(5) and, where the manual is silent, what syslinux
 * 6's parser does (com32/elflink/ldlinux/readconfig.c, parse_config_file): fgets
 * lines of at most 4095 bytes, a CR cuts the line, whitespace is any byte <= ' ',
 * keywords are matched case-insensitively and must be followed by whitespace or the
 * end of the line, a LABEL's image defaults to its name, APPEND/IPAPPEND with no LABEL
 * open are the defaults, "APPEND -" appends nothing, INITRD adds " initrd=..." after
 * APPEND. MENU subcommands are those of the simple menu system (menu.txt).
 * Pure: bytes in, structs out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/ctype.h"
#include "xenprov/pxelinux.h"

/* syslinux's my_isspace: every control byte and the space. */
static bool is_ws(unsigned char c)
{
	return c <= ' ';
}

void xp_pxelinux_cfg_release(struct xp_pxelinux_cfg *c)
{
	if (!c)
		return;
	free(c->default_cmd);
	free(c->ui);
	free(c->ontimeout);
	free(c->onerror);
	free(c->menu_title);
	free(c->append);
	for (size_t i = 0; i < c->n_labels; i++) {
		struct xp_pxelinux_label *l = &c->labels[i];
		free(l->name);
		free(l->menu_label);
		free(l->kernel);
		free(l->append);
		free(l->initrd);
	}
	free(c->labels);
	for (size_t i = 0; i < c->n_includes; i++) {
		free(c->includes[i].path);
		free(c->includes[i].title);
	}
	free(c->includes);
	for (size_t i = 0; i < c->n_says; i++)
		free(c->says[i]);
	free(c->says);
	memset(c, 0, sizeof(*c));
}

/* ---- the reader --------------------------------------------------------------------- */

struct state {
	struct xp_pxelinux_cfg *c;
	struct xp_diags *d;
	const char *file;
	unsigned line;
	int errors;
	int oom;
	bool open;	 /* a LABEL is open: the lines belong to it */
	bool own_append; /* the open label has its own APPEND */
	char *label_append;
	bool stop;	  /* a bound was hit: read no further */
	unsigned submenu; /* MENU BEGIN depth: MENU LABEL/TITLE there are the submenu's */
};

static void diag(struct state *st, enum xp_severity sev, const char *code, const char *text,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void diag(struct state *st, enum xp_severity sev, const char *code, const char *text,
		 const char *fmt, ...)
{
	if (sev == XP_SEV_ERROR)
		st->errors++;
	if (!st->d)
		return;
	/* the quoted text, bounded so a 4 KiB line does not make a 4 KiB message */
	char quoted[81];
	if (text) {
		snprintf(quoted, sizeof(quoted), "%s", text);
		text = quoted;
	}
	va_list ap;
	va_start(ap, fmt);
	if (xp_diags_addv(st->d, sev, st->file, st->line, 0, code, text, NULL, fmt, ap) < 0)
		st->oom = 1;
	va_end(ap);
}

static char *dup_or_oom(struct state *st, const char *s)
{
	char *r = strdup(s);
	if (!r)
		st->oom = 1;
	return r;
}

static void set_str(struct state *st, char **field, const char *v)
{
	char *n = dup_or_oom(st, v);
	if (!n)
		return;
	free(*field);
	*field = n;
}

/* Decimal, or (base0) C-style 0x hex / 0 octal as strtoul(..., 0) reads it; the whole
 * string, at most max. */
static int parse_u32(const char *s, bool base0, uint32_t max, uint32_t *out)
{
	unsigned base = 10;
	const char *p = s;
	if (base0 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (base0 && p[0] == '0' && p[1]) {
		base = 8;
		p++;
	}
	if (!*p)
		return -EINVAL;
	uint64_t v = 0;
	for (; *p; p++) {
		unsigned dg;
		if (*p >= '0' && *p <= '9')
			dg = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			dg = (unsigned)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			dg = (unsigned)(*p - 'A' + 10);
		else
			return -EINVAL;
		if (dg >= base)
			return -EINVAL;
		v = v * base + dg;
		if (v > max)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

static bool number(struct state *st, const char *kw, const char *v, bool base0, uint32_t *out)
{
	int r = parse_u32(v, base0, UINT32_MAX, out);
	if (r == 0)
		return true;
	diag(st, XP_SEV_ERROR, "bad-number", v, "%s takes %s number, not '%.40s'", kw,
	     base0 ? "a (decimal, 0x hex or 0 octal)" : "a decimal", v);
	return false;
}

static bool need_arg(struct state *st, const char *kw, const char *v)
{
	if (*v)
		return true;
	diag(st, XP_SEV_ERROR, "missing-argument", NULL, "%s needs an argument", kw);
	return false;
}

static struct xp_pxelinux_label *cur(struct state *st)
{
	return st->open ? &st->c->labels[st->c->n_labels - 1] : NULL;
}

/* syslinux's record(): the label's effective APPEND is fixed when it closes. */
static void close_label(struct state *st)
{
	struct xp_pxelinux_label *l = cur(st);
	if (!l)
		return;
	const char *a = st->own_append ? st->label_append : st->c->append;
	if (a && *a && strcmp(a, "-") != 0)
		l->append = dup_or_oom(st, a);
	free(st->label_append);
	st->label_append = NULL;
	st->own_append = false;
	st->open = false;
}

static void open_label(struct state *st, const char *v)
{
	close_label(st);
	struct xp_pxelinux_cfg *c = st->c;
	if (c->n_labels >= XP_PXELINUX_MAX_LABELS) {
		diag(st, XP_SEV_ERROR, "too-many-labels", NULL, "more than %u LABELs",
		     XP_PXELINUX_MAX_LABELS);
		st->stop = true;
		return;
	}
	size_t n = 0;
	while (v[n] && !is_ws((unsigned char)v[n]))
		n++;
	char *name = strndup(v, n);
	if (!name) {
		st->oom = 1;
		return;
	}
	if (xp_pxelinux_find(c, name))
		diag(st, XP_SEV_WARNING, "duplicate-label", name,
		     "LABEL '%.40s' again: syslinux boots the first one", name);
	struct xp_pxelinux_label *nv = realloc(c->labels, (c->n_labels + 1) * sizeof(*nv));
	if (!nv) {
		free(name);
		st->oom = 1;
		return;
	}
	c->labels = nv;
	struct xp_pxelinux_label *l = &c->labels[c->n_labels++];
	memset(l, 0, sizeof(*l));
	l->name = name;
	l->kind = XP_PXELINUX_KERNEL;
	l->kernel = dup_or_oom(st, name);
	l->ipappend = c->ipappend;
	l->line = st->line;
	st->open = true;
}

struct kind_kw {
	const char *kw;
	enum xp_pxelinux_kind kind;
};

static const struct kind_kw kinds[] = {
    {"KERNEL", XP_PXELINUX_KERNEL},   {"LINUX", XP_PXELINUX_LINUX},
    {"BOOT", XP_PXELINUX_BOOT},	      {"BSS", XP_PXELINUX_BSS},
    {"PXE", XP_PXELINUX_PXE},	      {"FDIMAGE", XP_PXELINUX_FDIMAGE},
    {"COMBOOT", XP_PXELINUX_COMBOOT}, {"COM32", XP_PXELINUX_COM32},
    {"CONFIG", XP_PXELINUX_CONFIG},   {"LOCALBOOT", XP_PXELINUX_LOCALBOOT},
};

/* Keywords syslinux knows that change nothing this module models. */
static const char *const ignored[] = {
    "display", "font",	 "kbdmap",  "implicit", "allowoptions", "noescape",    "nocomplete",
    "nohalt",  "serial", "console", "pxeretry", "path",		"sendcookies", NULL,
};

static bool is_fkey(const char *kw)
{
	if ((kw[0] | 0x20) != 'f' || !kw[1])
		return false;
	uint32_t n;
	return parse_u32(kw + 1, false, 12, &n) == 0;
}

static void add_include(struct state *st, const char *v, bool menu)
{
	struct xp_pxelinux_cfg *c = st->c;
	if (c->n_includes >= XP_PXELINUX_MAX_ITEMS) {
		diag(st, XP_SEV_ERROR, "too-many-items", NULL, "more than %u INCLUDEs",
		     XP_PXELINUX_MAX_ITEMS);
		return;
	}
	size_t n = 0;
	while (v[n] && !is_ws((unsigned char)v[n]))
		n++;
	const char *rest = v + n;
	while (*rest && is_ws((unsigned char)*rest))
		rest++;
	struct xp_pxelinux_include *nv = realloc(c->includes, (c->n_includes + 1) * sizeof(*nv));
	if (!nv) {
		st->oom = 1;
		return;
	}
	c->includes = nv;
	struct xp_pxelinux_include *in = &c->includes[c->n_includes++];
	memset(in, 0, sizeof(*in));
	in->path = strndup(v, n);
	if (!in->path)
		st->oom = 1;
	in->menu = menu;
	if (menu && *rest)
		in->title = dup_or_oom(st, rest);
	in->line = st->line;
}

static void add_say(struct state *st, const char *v)
{
	struct xp_pxelinux_cfg *c = st->c;
	if (c->n_says >= XP_PXELINUX_MAX_ITEMS) {
		diag(st, XP_SEV_ERROR, "too-many-items", NULL, "more than %u SAY lines",
		     XP_PXELINUX_MAX_ITEMS);
		return;
	}
	char **nv = realloc(c->says, (c->n_says + 1) * sizeof(*nv));
	if (!nv) {
		st->oom = 1;
		return;
	}
	c->says = nv;
	c->says[c->n_says] = dup_or_oom(st, v);
	if (c->says[c->n_says])
		c->n_says++;
}

static void outside(struct state *st, const char *kw)
{
	diag(st, XP_SEV_WARNING, "outside-label", NULL, "%s outside a LABEL: syslinux ignores it",
	     kw);
}

/* One MENU line; v is what follows "MENU". */
static void menu_line(struct state *st, char *v)
{
	char *sub = v;
	size_t n = 0;
	while (sub[n] && !is_ws((unsigned char)sub[n]))
		n++;
	char *arg = sub + n;
	while (*arg && is_ws((unsigned char)*arg))
		arg++;
	struct xp_pxelinux_label *l = cur(st);
#define SUB(s) (n == strlen(s) && strncasecmp(sub, s, n) == 0)
	if (SUB("label")) {
		if (!need_arg(st, "MENU LABEL", arg))
			return;
		if (l)
			set_str(st, &l->menu_label, arg);
		else if (!st->submenu)
			outside(st, "MENU LABEL");
	} else if (SUB("title")) {
		if (need_arg(st, "MENU TITLE", arg) && !st->submenu)
			set_str(st, &st->c->menu_title, arg);
	} else if (SUB("default")) {
		if (l)
			l->menu_default = true;
		else
			outside(st, "MENU DEFAULT");
	} else if (SUB("hide")) {
		if (l)
			l->menu_hide = true;
		else
			outside(st, "MENU HIDE");
	} else if (SUB("include")) {
		if (need_arg(st, "MENU INCLUDE", arg))
			add_include(st, arg, true);
	} else if (SUB("separator") || SUB("begin") || SUB("end")) {
		close_label(st); /* syslinux records the open label here */
		if (SUB("begin"))
			st->submenu++;
		else if (SUB("end") && st->submenu)
			st->submenu--;
	}
	/* every other MENU line (colours, layout, passwords...) is the menu's look */
#undef SUB
}

/* Handles one line (NUL-terminated, CR cut, no LF). Returns true when a TEXT block
 * begins (the caller skips to ENDTEXT). */
static bool parse_line(struct state *st, char *line)
{
	char *p = line;
	while (*p && is_ws((unsigned char)*p))
		p++;
	if (!*p || *p == '#')
		return false;
	char *kw = p;
	while (*p && !is_ws((unsigned char)*p))
		p++;
	size_t kwlen = (size_t)(p - kw);
	while (*p && is_ws((unsigned char)*p))
		p++;
	char *v = p;
	char *e = v + strlen(v);
	while (e > v && is_ws((unsigned char)e[-1]))
		e--;
	*e = '\0';
	char kwbuf[16];
	if (kwlen >= sizeof(kwbuf)) {
		kw[kwlen] = '\0';
		diag(st, XP_SEV_WARNING, "unknown-keyword", kw, "unknown keyword '%.40s'", kw);
		return false;
	}
	for (size_t i = 0; i < kwlen; i++) /* upper case, for messages */
		kwbuf[i] = (kw[i] >= 'a' && kw[i] <= 'z') ? (char)(kw[i] - 'a' + 'A') : kw[i];
	kwbuf[kwlen] = '\0';
	struct xp_pxelinux_cfg *c = st->c;
	struct xp_pxelinux_label *l = cur(st);
#define KW(s) (strcasecmp(kwbuf, s) == 0)
	uint32_t u;
	if (KW("label")) {
		if (need_arg(st, "LABEL", v))
			open_label(st, v);
	} else if (KW("menu")) {
		menu_line(st, v);
	} else if (KW("text")) {
		return true;
	} else if (KW("default")) {
		if (need_arg(st, "DEFAULT", v))
			set_str(st, &c->default_cmd, v);
	} else if (KW("ui")) {
		if (need_arg(st, "UI", v))
			set_str(st, &c->ui, v);
	} else if (KW("ontimeout")) {
		if (need_arg(st, "ONTIMEOUT", v))
			set_str(st, &c->ontimeout, v);
	} else if (KW("onerror")) {
		if (need_arg(st, "ONERROR", v))
			set_str(st, &c->onerror, v);
	} else if (KW("append")) {
		if (l) {
			set_str(st, &st->label_append, v);
			st->own_append = true;
		} else if (*v && strcmp(v, "-") != 0) {
			set_str(st, &c->append, v);
		} else {
			free(c->append);
			c->append = NULL;
		}
	} else if (KW("ipappend") || KW("sysappend")) {
		if (need_arg(st, kwbuf, v) && number(st, kwbuf, v, true, &u)) {
			if (l)
				l->ipappend = u;
			else
				c->ipappend = u;
		}
	} else if (KW("initrd")) {
		if (!need_arg(st, "INITRD", v))
			return false;
		if (l)
			set_str(st, &l->initrd, v);
		else
			outside(st, "INITRD");
	} else if (KW("timeout") || KW("totaltimeout") || KW("prompt")) {
		uint32_t *f = KW("timeout")  ? &c->timeout
			      : KW("prompt") ? &c->prompt
					     : &c->totaltimeout;
		if (need_arg(st, kwbuf, v) && number(st, kwbuf, v, false, &u))
			*f = u;
	} else if (KW("say")) {
		add_say(st, v);
	} else if (KW("include")) {
		if (need_arg(st, "INCLUDE", v))
			add_include(st, v, false);
	} else {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			if (!KW(kinds[i].kw))
				continue;
			if (!need_arg(st, kinds[i].kw, v))
				return false;
			long lb = 0;
			if (kinds[i].kind == XP_PXELINUX_LOCALBOOT) {
				bool neg = v[0] == '-';
				if (parse_u32(v + neg, true, neg ? 0x80000000u : UINT32_MAX, &u) !=
				    0) {
					diag(st, XP_SEV_ERROR, "bad-number", v,
					     "LOCALBOOT takes a number, not '%s'", v);
					return false;
				}
				lb = neg ? -(long)u : (long)u;
			}
			if (!l) {
				outside(st, kinds[i].kw);
				return false;
			}
			set_str(st, &l->kernel, v);
			l->kind = kinds[i].kind;
			l->localboot = lb;
			return false;
		}
		for (size_t i = 0; ignored[i]; i++)
			if (KW(ignored[i]))
				return false;
		if (is_fkey(kwbuf))
			return false;
		diag(st, XP_SEV_WARNING, "unknown-keyword", kwbuf, "unknown keyword '%s'", kwbuf);
	}
#undef KW
	return false;
}

static bool is_endtext(const char *line)
{
	while (*line && is_ws((unsigned char)*line))
		line++;
	return strncasecmp(line, "endtext", 7) == 0 && is_ws((unsigned char)line[7]);
}

int xp_pxelinux_parse(const char *data, size_t len, const char *file, struct xp_pxelinux_cfg *out,
		      struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	struct state st = {.c = out, .d = d, .file = file};
	if (len > XP_PXELINUX_MAX_SIZE) {
		diag(&st, XP_SEV_ERROR, "too-big", NULL, "the file is over %u bytes",
		     XP_PXELINUX_MAX_SIZE);
		return st.oom ? -ENOMEM : -EFBIG;
	}
	char buf[XP_PXELINUX_MAX_LINE + 1];
	bool in_text = false;
	unsigned text_line = 0;
	size_t pos = 0;
	while (pos < len && !st.stop && !st.oom) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		const char *s = data + pos;
		pos += n + (nl ? 1 : 0);
		st.line++;
		/* fgets keeps the LF in its 4096 bytes, so 4095 bytes before it fit */
		if (n > XP_PXELINUX_MAX_LINE) {
			diag(&st, XP_SEV_ERROR, "line-too-long", NULL,
			     "line of %zu bytes: syslinux reads at most %u", n,
			     XP_PXELINUX_MAX_LINE);
			continue;
		}
		if (memchr(s, '\0', n)) {
			diag(&st, XP_SEV_ERROR, "nul-byte", NULL, "NUL byte in the line");
			continue;
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		char *cr = strchr(buf, '\r');
		if (cr) {
			if (cr[1])
				diag(&st, XP_SEV_WARNING, "stray-cr", NULL,
				     "CR inside the line: syslinux ignores the rest of it");
			*cr = '\0';
		}
		if (in_text) {
			if (is_endtext(buf))
				in_text = false;
			continue;
		}
		if (parse_line(&st, buf)) {
			in_text = true;
			text_line = st.line;
		}
	}
	close_label(&st);
	if (in_text && !st.stop) {
		st.line = text_line;
		diag(&st, XP_SEV_WARNING, "unterminated-text", NULL,
		     "TEXT without ENDTEXT: the rest of the file is its text");
	}
	if (st.oom) {
		xp_pxelinux_cfg_release(out);
		return -ENOMEM;
	}
	if (st.errors) {
		xp_pxelinux_cfg_release(out);
		return -EBADMSG;
	}
	return 0;
}

/* ---- queries ------------------------------------------------------------------------ */

const struct xp_pxelinux_label *xp_pxelinux_find(const struct xp_pxelinux_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_labels; i++)
		if (strcmp(c->labels[i].name, name) == 0)
			return &c->labels[i];
	return NULL;
}

static const struct xp_pxelinux_label *find_word(const struct xp_pxelinux_cfg *c, const char *cmd)
{
	size_t n = 0;
	while (cmd[n] && !is_ws((unsigned char)cmd[n]))
		n++;
	for (size_t i = 0; i < c->n_labels; i++)
		if (strncmp(c->labels[i].name, cmd, n) == 0 && !c->labels[i].name[n])
			return &c->labels[i];
	return NULL;
}

const struct xp_pxelinux_label *xp_pxelinux_boot_label(const struct xp_pxelinux_cfg *c)
{
	if (c->ontimeout)
		return find_word(c, c->ontimeout);
	if (c->ui) {
		const struct xp_pxelinux_label *first = NULL;
		for (size_t i = 0; i < c->n_labels; i++) {
			if (c->labels[i].menu_hide)
				continue;
			if (c->labels[i].menu_default)
				return &c->labels[i];
			if (!first)
				first = &c->labels[i];
		}
		return first;
	}
	if (c->default_cmd)
		return find_word(c, c->default_cmd);
	return NULL;
}

int xp_pxelinux_cmdline(const struct xp_pxelinux_label *l, struct xp_buf *out)
{
	if (l->append)
		xp_buf_adds(out, l->append);
	if (l->initrd)
		xp_buf_addf(out, "%sinitrd=%s", l->append ? " " : "", l->initrd);
	return xp_buf_error(out);
}

int xp_pxelinux_initrd(const struct xp_pxelinux_label *l, char **out)
{
	*out = NULL;
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_pxelinux_cmdline(l, &b);
	if (r < 0) {
		xp_buf_release(&b);
		return r;
	}
	const char *found = NULL;
	size_t found_len = 0, n;
	for (const char *s = xp__word(xp_buf_str(&b), is_ws, &n); n;
	     s = xp__word(s + n, is_ws, &n)) {
		if (n >= 7 && strncmp(s, "initrd=", 7) == 0) {
			found = s + 7;
			found_len = n - 7;
		}
	}
	if (found) {
		*out = strndup(found, found_len);
		if (!*out)
			r = -ENOMEM;
	}
	xp_buf_release(&b);
	return r;
}

/* ---- the writer --------------------------------------------------------------------- */

/* A value the reader gives back unchanged: no line breaks or NUL (it is a C string),
 * no whitespace at either end, not empty. */
static bool writable(const char *v)
{
	if (!v || !*v)
		return false;
	if (strpbrk(v, "\r\n"))
		return false;
	return !is_ws((unsigned char)v[0]) && !is_ws((unsigned char)v[strlen(v) - 1]);
}

static bool word(const char *v)
{
	if (!v || !*v)
		return false;
	for (; *v; v++)
		if (is_ws((unsigned char)*v))
			return false;
	return true;
}

static int put(struct xp_buf *out, const char *indent, const char *kw, const char *v)
{
	if (!v)
		return 0;
	if (!writable(v))
		return -EINVAL;
	xp_buf_addf(out, "%s%s %s\n", indent, kw, v);
	return 0;
}

static const char *kind_kw(enum xp_pxelinux_kind k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == k)
			return kinds[i].kw;
	return NULL;
}

static int put_label(const struct xp_pxelinux_cfg *c, const struct xp_pxelinux_label *l,
		     struct xp_buf *out)
{
	const char *kw = kind_kw(l->kind);
	if (!word(l->name) || !kw)
		return -EINVAL;
	xp_buf_addf(out, "\nLABEL %s\n", l->name);
	int r = put(out, "\t", "MENU LABEL", l->menu_label);
	if (r < 0)
		return r;
	if (!l->kernel)
		return -EINVAL;
	if ((r = put(out, "\t", kw, l->kernel)) < 0 ||
	    (r = put(out, "\t", "INITRD", l->initrd)) < 0)
		return r;
	if (l->append) {
		if (strcmp(l->append, "-") == 0)
			return -EINVAL;
		if ((r = put(out, "\t", "APPEND", l->append)) < 0)
			return r;
	} else if (c->append) {
		xp_buf_adds(out, "\tAPPEND -\n");
	}
	if (l->ipappend != c->ipappend)
		xp_buf_addf(out, "\tIPAPPEND %u\n", (unsigned)l->ipappend);
	if (l->menu_default)
		xp_buf_adds(out, "\tMENU DEFAULT\n");
	if (l->menu_hide)
		xp_buf_adds(out, "\tMENU HIDE\n");
	return 0;
}

int xp_pxelinux_format(const struct xp_pxelinux_cfg *c, struct xp_buf *out)
{
	int r;
	if ((r = put(out, "", "MENU TITLE", c->menu_title)) < 0 ||
	    (r = put(out, "", "UI", c->ui)) < 0 ||
	    (r = put(out, "", "DEFAULT", c->default_cmd)) < 0)
		return r;
	if (c->prompt)
		xp_buf_addf(out, "PROMPT %u\n", (unsigned)c->prompt);
	if (c->timeout)
		xp_buf_addf(out, "TIMEOUT %u\n", (unsigned)c->timeout);
	if (c->totaltimeout)
		xp_buf_addf(out, "TOTALTIMEOUT %u\n", (unsigned)c->totaltimeout);
	if ((r = put(out, "", "ONTIMEOUT", c->ontimeout)) < 0 ||
	    (r = put(out, "", "ONERROR", c->onerror)) < 0)
		return r;
	if (c->append && strcmp(c->append, "-") == 0)
		return -EINVAL;
	if ((r = put(out, "", "APPEND", c->append)) < 0)
		return r;
	if (c->ipappend)
		xp_buf_addf(out, "IPAPPEND %u\n", (unsigned)c->ipappend);
	for (size_t i = 0; i < c->n_says; i++) {
		const char *s = c->says[i];
		if (*s && !writable(s))
			return -EINVAL;
		xp_buf_addf(out, "SAY%s%s\n", *s ? " " : "", s);
	}
	for (size_t i = 0; i < c->n_includes; i++) {
		const struct xp_pxelinux_include *in = &c->includes[i];
		if (!word(in->path) || (in->title && !in->menu))
			return -EINVAL;
		xp_buf_addf(out, "%s %s", in->menu ? "MENU INCLUDE" : "INCLUDE", in->path);
		if (in->title) {
			if (!writable(in->title))
				return -EINVAL;
			xp_buf_addf(out, " %s", in->title);
		}
		xp_buf_addc(out, '\n');
	}
	for (size_t i = 0; i < c->n_labels; i++)
		if ((r = put_label(c, &c->labels[i], out)) < 0)
			return r;
	return xp_buf_error(out);
}
