/*
 * disk-spec.c - parses Xen `disk=` specification strings into struct xp_disk, the way
 * libxlutil's xlu_disk_parse() does (xl-disk-configuration(5), Xen 4.19+).
 *
 * libxlutil tokenises a spec with a flex scanner. The meaning of a spec depends on
 * flex's matching discipline, not only on the documented grammar: at each position the
 * rule with the longest match wins (trailing context counts towards the length, but is
 * not consumed), and among equally long matches the rule listed first wins. That is why,
 * for instance, "x:/y" is an unknown prefix while "x:y" is a positional target, and why
 * "foo=bar" is reported as the unknown parameter "foo=b". Rather than approximate the
 * grammar, this file reproduces that discipline: one matcher per scanner rule, tried in
 * the scanner's order, longest match taken. The rules are described in the table below
 * in our own terms.
 *
 * Not here: the writer and the JSON field list (disk-write.c), printing.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/names.h"
#include "xenprov/xl-disk.h"

/* ---- the scanner rules ------------------------------------------------------------ */

enum rule_kind {
	K_SPACE,	  /* blanks, followed (as trailing context) by the rest of the line */
	K_KEYVAL,	  /* "key=" then anything but ',' then an optional ',' */
	K_FLAG,		  /* a fixed word then an optional ',' */
	K_TARGET,	  /* "target=" then the rest of the line */
	K_UNKNOWN_PARAM,  /* [a-z][-a-z0-9]*= then exactly one non-',' byte, optional ',' */
	K_PREFIX,	  /* "word:" followed (as trailing context) by the rest of the line */
	K_UNKNOWN_PREFIX, /* [a-z][a-z0-9]*: followed by nothing, or by a byte other than
			     [a-z0-9] and the rest of the line (trailing context) */
	K_POSITIONAL,	  /* bytes other than '=' and ',', ending with an optional ',' */
	K_ANY,		  /* any one byte but a newline: the start of a syntax error */
};

enum action {
	A_NONE,
	A_FORMAT,
	A_CDROM,
	A_DISK,
	A_BAD_DEVTYPE,
	A_ACCESS,
	A_BACKEND,
	A_BACKENDTYPE,
	A_SPECIFICATION,
	A_VDEV,
	A_SCRIPT,
	A_DIRECT_IO_SAFE,
	A_DISCARD,
	A_NO_DISCARD,
	A_COLO,
	A_NO_COLO,
	A_COLO_HOST,
	A_COLO_PORT,
	A_COLO_EXPORT,
	A_ACTIVE_DISK,
	A_HIDDEN_DISK,
	A_TRUSTED,
	A_UNTRUSTED,
	A_GRANT_USAGE_1,
	A_GRANT_USAGE_0,
	A_TARGET,
	A_UNKNOWN_PARAM,
	A_PREFIX_FORMAT,
	A_PREFIX_SCRIPT,
	A_PREFIX_IGNORED,
	A_UNKNOWN_PREFIX,
	A_POSITIONAL,
	A_SYNTAX,
};

struct rule {
	enum rule_kind kind;
	const char *word; /* literal, including '=' or ':' where the kind has one */
	enum action action;
};

/* The disk's text fields, in one list for parsing (the action that stores one, its
 * name in messages), releasing, copying and comparing. */
static const struct {
	enum action action;
	const char *what;
	size_t field;
} texts[] = {
    {A_BACKEND, "backend", offsetof(struct xp_disk, backend_domname)},
    {A_TARGET, "target", offsetof(struct xp_disk, pdev_path)},
    {A_VDEV, "vdev", offsetof(struct xp_disk, vdev)},
    {A_SCRIPT, "script", offsetof(struct xp_disk, script)},
    {A_COLO_HOST, "colo-host", offsetof(struct xp_disk, colo_host)},
    {A_COLO_EXPORT, "colo-export", offsetof(struct xp_disk, colo_export)},
    {A_ACTIVE_DISK, "active-disk", offsetof(struct xp_disk, active_disk)},
    {A_HIDDEN_DISK, "hidden-disk", offsetof(struct xp_disk, hidden_disk)},
};
#define NTEXTS (sizeof(texts) / sizeof(texts[0]))

/* Text field i of d, to set; and its value. */
static char **text_of(struct xp_disk *d, size_t i)
{
	return (char **)(void *)((char *)d + texts[i].field);
}

static const char *text_in(const struct xp_disk *d, size_t i)
{
	return *(char *const *)(const void *)((const char *)d + texts[i].field);
}

/* The flags that only set one of the disk's enum xp_defbool settings: which, to what. */
static const struct {
	size_t field;
	bool value;
} defbool_flags[] = {
    [A_DISCARD] = {offsetof(struct xp_disk, discard_enable), true},
    [A_NO_DISCARD] = {offsetof(struct xp_disk, discard_enable), false},
    [A_COLO] = {offsetof(struct xp_disk, colo_enable), true},
    [A_NO_COLO] = {offsetof(struct xp_disk, colo_enable), false},
    [A_TRUSTED] = {offsetof(struct xp_disk, trusted), true},
    [A_UNTRUSTED] = {offsetof(struct xp_disk, trusted), false},
    [A_GRANT_USAGE_1] = {offsetof(struct xp_disk, grant_usage), true},
    [A_GRANT_USAGE_0] = {offsetof(struct xp_disk, grant_usage), false},
};

/* In the scanner's order; alternatives of one scanner rule are adjacent entries. Ties
 * go to the earlier entry, which is what flex does. */
static const struct rule rules[] = {
    {K_SPACE, NULL, A_NONE},
    {K_KEYVAL, "format=", A_FORMAT},
    {K_FLAG, "cdrom", A_CDROM},
    {K_FLAG, "devtype=cdrom", A_CDROM},
    {K_FLAG, "devtype=disk", A_DISK},
    {K_KEYVAL, "devtype=", A_BAD_DEVTYPE},
    {K_KEYVAL, "access=", A_ACCESS},
    {K_KEYVAL, "backend=", A_BACKEND},
    {K_KEYVAL, "backendtype=", A_BACKENDTYPE},
    {K_KEYVAL, "specification=", A_SPECIFICATION},
    {K_KEYVAL, "vdev=", A_VDEV},
    {K_KEYVAL, "script=", A_SCRIPT},
    {K_FLAG, "direct-io-safe", A_DIRECT_IO_SAFE},
    {K_FLAG, "discard", A_DISCARD},
    {K_FLAG, "no-discard", A_NO_DISCARD},
    {K_FLAG, "colo", A_COLO},
    {K_FLAG, "no-colo", A_NO_COLO},
    {K_KEYVAL, "colo-host=", A_COLO_HOST},
    {K_KEYVAL, "colo-port=", A_COLO_PORT},
    {K_KEYVAL, "colo-export=", A_COLO_EXPORT},
    {K_KEYVAL, "active-disk=", A_ACTIVE_DISK},
    {K_KEYVAL, "hidden-disk=", A_HIDDEN_DISK},
    {K_FLAG, "trusted", A_TRUSTED},
    {K_FLAG, "untrusted", A_UNTRUSTED},
    {K_FLAG, "grant_usage=1", A_GRANT_USAGE_1},
    {K_FLAG, "grant_usage=0", A_GRANT_USAGE_0},
    {K_TARGET, "target=", A_TARGET},
    {K_UNKNOWN_PARAM, NULL, A_UNKNOWN_PARAM},
    {K_PREFIX, "raw:", A_PREFIX_FORMAT},
    {K_PREFIX, "qcow:", A_PREFIX_FORMAT},
    {K_PREFIX, "qcow2:", A_PREFIX_FORMAT},
    {K_PREFIX, "vhd:", A_PREFIX_FORMAT},
    {K_PREFIX, "iscsi:", A_PREFIX_SCRIPT},
    {K_PREFIX, "nbd:", A_PREFIX_SCRIPT},
    {K_PREFIX, "enbd:", A_PREFIX_SCRIPT},
    {K_PREFIX, "drbd:", A_PREFIX_SCRIPT},
    {K_PREFIX, "tapdisk:", A_PREFIX_IGNORED},
    {K_PREFIX, "tap:", A_PREFIX_IGNORED},
    {K_PREFIX, "tap2:", A_PREFIX_IGNORED},
    {K_PREFIX, "aio:", A_PREFIX_IGNORED},
    {K_PREFIX, "ioemu:", A_PREFIX_IGNORED},
    {K_PREFIX, "file:", A_PREFIX_IGNORED},
    {K_PREFIX, "phy:", A_PREFIX_IGNORED},
    {K_UNKNOWN_PREFIX, NULL, A_UNKNOWN_PREFIX},
    {K_POSITIONAL, NULL, A_POSITIONAL},
    {K_ANY, NULL, A_SYNTAX},
};

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Length of the run starting at p that holds no newline (flex's ".*"). */
static size_t rest_of_line(const char *s, size_t len, size_t p)
{
	size_t n = 0;
	while (p + n < len && s[p + n] != '\n')
		n++;
	return n;
}

static bool has_word(const char *s, size_t len, size_t p, const char *word, size_t *wlen)
{
	size_t n = strlen(word);
	if (len - p < n || memcmp(s + p, word, n) != 0)
		return false;
	*wlen = n;
	return true;
}

/* Matches one rule at s[p] (p < len). On a match, *total is the length flex compares
 * (with trailing context) and *head what the rule consumes (yyleng). */
static bool match_rule(const struct rule *r, const char *s, size_t len, size_t p, size_t *total,
		       size_t *head)
{
	size_t n = 0;

	switch (r->kind) {
	case K_SPACE:
		while (p + n < len && is_blank(s[p + n]))
			n++;
		if (n == 0)
			return false;
		*head = n;
		/* The byte after the blanks, if any, is not blank, hence not a newline. */
		*total = n + rest_of_line(s, len, p + n);
		return true;
	case K_KEYVAL:
		if (!has_word(s, len, p, r->word, &n))
			return false;
		while (p + n < len && s[p + n] != ',')
			n++;
		if (p + n < len)
			n++; /* the ',' */
		*head = *total = n;
		return true;
	case K_FLAG:
		if (!has_word(s, len, p, r->word, &n))
			return false;
		if (p + n < len && s[p + n] == ',')
			n++;
		*head = *total = n;
		return true;
	case K_TARGET:
		if (!has_word(s, len, p, r->word, &n))
			return false;
		n += rest_of_line(s, len, p + n);
		*head = *total = n;
		return true;
	case K_UNKNOWN_PARAM:
		if (!is_lower(s[p]))
			return false;
		n = 1;
		while (p + n < len && (is_lower(s[p + n]) || is_digit(s[p + n]) || s[p + n] == '-'))
			n++;
		if (p + n + 1 >= len || s[p + n] != '=' || s[p + n + 1] == ',')
			return false;
		n += 2;
		if (p + n < len && s[p + n] == ',')
			n++;
		*head = *total = n;
		return true;
	case K_PREFIX:
		if (!has_word(s, len, p, r->word, &n))
			return false;
		*head = n;
		*total = n + rest_of_line(s, len, p + n);
		return true;
	case K_UNKNOWN_PREFIX:
		if (!is_lower(s[p]))
			return false;
		n = 1;
		while (p + n < len && (is_lower(s[p + n]) || is_digit(s[p + n])))
			n++;
		if (p + n >= len || s[p + n] != ':')
			return false;
		n++;
		*head = *total = n;
		/* A negated class matches a newline too; only then does ".*" start. */
		if (p + n < len && !is_lower(s[p + n]) && !is_digit(s[p + n]))
			*total = n + 1 + rest_of_line(s, len, p + n + 1);
		return true;
	case K_POSITIONAL:
		while (p + n < len && s[p + n] != '=' && s[p + n] != ',')
			n++;
		if (p + n < len && s[p + n] == ',')
			n++;
		if (n == 0)
			return false;
		*head = *total = n;
		return true;
	case K_ANY:
		if (s[p] == '\n')
			return false;
		*head = *total = 1;
		return true;
	}
	return false;
}

/* ---- parse state and error reporting ---------------------------------------------- */

struct parse {
	struct xp_disk *disk;
	struct xp_diags *diags;
	size_t index;	  /* which spec, 0-based */
	const char *spec; /* the spec being scanned */
	bool err;	  /* an error was reported (libxlutil's dpc->err) */
	int oom;
	bool access_set;      /* the access positional parameter was given */
	bool had_depr_prefix; /* a "prefix:" was seen; no positional format then */
	bool stop;	      /* the scanner stops after this token */
};

static void oom(struct parse *ps)
{
	ps->oom = -ENOMEM;
}

/* Records a problem. text: the offending input, textlen bytes of it (copied), at offset
 * off of the current spec; NULL for none. Problems of the whole disk pass off ==
 * SIZE_MAX. */
static void report_v(struct parse *ps, enum xp_severity sev, size_t off, const char *text,
		     size_t textlen, const char *code, const char *hint, const char *fmt, va_list ap)
	__attribute__((format(printf, 8, 0)));
static void report_v(struct parse *ps, enum xp_severity sev, size_t off, const char *text,
		     size_t textlen, const char *code, const char *hint, const char *fmt, va_list ap)
{
	if (sev == XP_SEV_ERROR)
		ps->err = true;
	if (!ps->diags)
		return;
	char *t = NULL;
	if (text) {
		t = strndup(text, textlen);
		if (!t) {
			oom(ps);
			return;
		}
	}
	unsigned line = 0, col = 0;
	if (off != SIZE_MAX) {
		line = (unsigned)ps->index + 1;
		col = (unsigned)off + 1;
	}
	if (xp_diags_addv(ps->diags, sev, NULL, line, col, code, t, hint, fmt, ap) < 0)
		oom(ps);
	free(t);
}

static void report_hint(struct parse *ps, enum xp_severity sev, size_t off, const char *text,
			size_t textlen, const char *code, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
static void report_hint(struct parse *ps, enum xp_severity sev, size_t off, const char *text,
			size_t textlen, const char *code, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(ps, sev, off, text, textlen, code, hint, fmt, ap);
	va_end(ap);
}

static void report(struct parse *ps, enum xp_severity sev, size_t off, const char *text,
		   size_t textlen, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
static void report(struct parse *ps, enum xp_severity sev, size_t off, const char *text,
		   size_t textlen, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(ps, sev, off, text, textlen, code, NULL, fmt, ap);
	va_end(ap);
}

/* An error whose offending text is a NUL-terminated part of the current token, at
 * offset off in the spec. */
static void fail(struct parse *ps, size_t off, const char *text, const char *code, const char *hint,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void fail(struct parse *ps, size_t off, const char *text, const char *code, const char *hint,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(ps, XP_SEV_ERROR, off, text, text ? strlen(text) : 0, code, hint, fmt, ap);
	va_end(ap);
}

/* ---- the actions ------------------------------------------------------------------ */

/* Stores a string parameter. Giving one twice is an error, except that an empty value
 * may be replaced (so "target=" may follow an empty positional target). */
static void save_string(struct parse *ps, const char *what, char **slot, const char *value,
			size_t off)
{
	if (*slot) {
		if (**slot) {
			fail(ps, off, value, "respecified",
			     "each parameter may be given once, by position or by name",
			     "%s respecified", what);
			return;
		}
		free(*slot);
		*slot = NULL;
	}
	*slot = strdup(value);
	if (!*slot)
		oom(ps);
}

/* Sets an enumeration; setting it again to another value is an error. member is the
 * libxl field name libxlutil's message uses. */
static void set_enum(struct parse *ps, int *slot, int value, const char *member, const char *text,
		     size_t off)
{
	if (*slot != 0 && *slot != value) {
		fail(ps, off, text, "respecified",
		     "each parameter may be given once, by position, prefix or name",
		     "%s respecified", member);
		return;
	}
	*slot = value;
}

static const char hint_format[] = "formats are raw, qcow, qcow2, vhd, qed and empty";
static const char hint_format_positional[] =
    "the second positional parameter is the format: for TARGET,VDEV write TARGET,,VDEV "
    "or use vdev=";

static void set_format(struct parse *ps, const char *str, size_t off, bool positional)
{
	enum xp_disk_format f;
	if (*str == '\0') {
		f = XP_DISK_FORMAT_RAW;
	} else if (xp_disk_format_from_name(str, &f) < 0 || f == XP_DISK_FORMAT_UNKNOWN) {
		fail(ps, off, str, "unknown-value",
		     positional ? hint_format_positional : hint_format, "unknown value for format");
		return;
	}
	int v = (int)ps->disk->format;
	set_enum(ps, &v, (int)f, "format", str, off);
	ps->disk->format = (enum xp_disk_format)v;
}

static void set_access(struct parse *ps, const char *str, size_t off)
{
	if (strcmp(str, "r") == 0 || strcmp(str, "ro") == 0)
		ps->disk->readwrite = 0;
	else if (strcmp(str, "rw") == 0 || strcmp(str, "w") == 0 || *str == '\0')
		ps->disk->readwrite = 1;
	else
		fail(ps, off, str, "unknown-value",
		     "access is r, ro (read-only), w or rw (read-write)",
		     "unknown value for access");
}

static void set_backendtype(struct parse *ps, const char *str, size_t off)
{
	enum xp_disk_backend b;
	if (xp_disk_backend_from_name(str, &b) < 0 || b == XP_DISK_BACKEND_UNKNOWN) {
		fail(ps, off, str, "unknown-value",
		     "backend types are phy, tap, qdisk and standalone",
		     "unknown value for backendtype");
		return;
	}
	int v = (int)ps->disk->backend;
	set_enum(ps, &v, (int)b, "backend", str, off);
	ps->disk->backend = (enum xp_disk_backend)v;
}

static void set_specification(struct parse *ps, const char *str, size_t off)
{
	enum xp_disk_specification sp;
	if (xp_disk_specification_from_name(str, &sp) < 0 || sp == XP_DISK_SPECIFICATION_UNKNOWN) {
		fail(ps, off, str, "unknown-value", "specifications are xen and virtio",
		     "unknown value for specification");
		return;
	}
	int v = (int)ps->disk->specification;
	set_enum(ps, &v, (int)sp, "specification", str, off);
	ps->disk->specification = (enum xp_disk_specification)v;
}

/* libxlutil reads the port with atoi(): leading blanks, a sign, decimal digits, the rest
 * ignored, 0 refused. glibc's atoi is (int)strtol(); we make its wrap-around explicit. */
static void set_colo_port(struct parse *ps, const char *str, size_t off)
{
	long v = strtol(str, NULL, 10);
	int port = (int)(unsigned)(unsigned long)v;
	if (port == 0) {
		fail(ps, off, str, "unknown-value", "colo-port is a non-zero decimal number",
		     "unknown value for colo_port");
		return;
	}
	ps->disk->colo_port = port;
}

/* A positional vdev may carry a device type, "VDEV:cdrom" or "VDEV:disk" (deprecated).
 * Returns true if str had a ':' (and was handled), false otherwise. str is modified. */
static bool vdev_and_devtype(struct parse *ps, char *str, size_t off)
{
	char *colon = strrchr(str, ':');
	if (!colon)
		return false;
	*colon++ = '\0';
	save_string(ps, "vdev", &ps->disk->vdev, str, off);
	if (strcmp(colon, "cdrom") == 0)
		ps->disk->is_cdrom = 1;
	else if (strcmp(colon, "disk") == 0)
		ps->disk->is_cdrom = 0;
	else
		fail(ps, off + (size_t)(colon - str), colon, "unknown-value",
		     "the type after the vdev is cdrom or disk", "unknown deprecated type");
	return true;
}

static void positional(struct parse *ps, char *tok, size_t off)
{
	struct xp_disk *d = ps->disk;

	if (ps->err) {
		/* later errors would only be echoes of the first */
	} else if (!d->pdev_path) {
		save_string(ps, "target", &d->pdev_path, tok, off);
	} else if (!ps->had_depr_prefix && d->format == XP_DISK_FORMAT_UNKNOWN) {
		/* ",VDEV:cdrom": an empty target followed by a vdev with a type is the old
		 * way of writing an empty cdrom drive, and leaves the format out. */
		if (*d->pdev_path == '\0' && vdev_and_devtype(ps, tok, off))
			d->format = XP_DISK_FORMAT_EMPTY;
		else
			set_format(ps, tok, off, true);
	} else if (!d->vdev) {
		if (!vdev_and_devtype(ps, tok, off))
			save_string(ps, "vdev", &d->vdev, tok, off);
	} else if (!ps->access_set) {
		ps->access_set = true;
		set_access(ps, tok, off);
	} else {
		fail(ps, off, tok, "too-many-positional",
		     "the positional parameters are target, format, vdev and access; "
		     "use target= for a target holding ',' or '='",
		     "too many positional parameters");
		ps->stop = true;
	}
}

static void set_defbool(enum xp_defbool *slot, bool v)
{
	*slot = v ? XP_DEFBOOL_TRUE : XP_DEFBOOL_FALSE;
}

static const char hint_params[] =
    "parameters are format, vdev, access, devtype, backend, backendtype, specification, "
    "script, colo-host, colo-port, colo-export, active-disk, hidden-disk and target; "
    "flags are cdrom, direct-io-safe, discard, no-discard, colo, no-colo, trusted, "
    "untrusted and grant_usage=0|1";

static const char *const known_keys[] = {
    "format",	     "vdev",   "access",      "devtype",   "backend",	     "backendtype",
    "specification", "script", "colo-host",   "colo-port", "colo-export",    "active-disk",
    "hidden-disk",   "target", "grant_usage", "cdrom",	   "direct-io-safe", "discard",
    "no-discard",    "colo",   "no-colo",     "trusted",   "untrusted",
};

static void unknown_parameter(struct parse *ps, const char *tok, size_t off)
{
	size_t klen = strcspn(tok, "=");
	char key[64];
	const char *best = NULL;
	unsigned best_d = klen >= 5 ? 3 : 2; /* only near misses */
	if (klen < sizeof(key)) {
		memcpy(key, tok, klen);
		key[klen] = '\0';
		for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++) {
			unsigned dist = xp_edit_distance(key, known_keys[i], 2);
			if (dist < best_d) {
				best_d = dist;
				best = known_keys[i];
			}
		}
	}
	char hint[96];
	if (best)
		snprintf(hint, sizeof(hint), "did you mean '%s'?", best);
	fail(ps, off, tok, "unknown-parameter", best ? hint : hint_params, "unknown parameter");
}

/* Runs the action of rule r on its token: the len bytes at offset off of the spec, of
 * which tok is a NUL-terminated copy that may be modified. */
static void act(struct parse *ps, const struct rule *r, char *tok, size_t len, size_t off)
{
	struct xp_disk *d = ps->disk;
	char *val = NULL;
	size_t voff = off;

	if (r->kind == K_KEYVAL || r->kind == K_TARGET) {
		/* Quoted whole in libxlutil's message for a bad devtype, ',' included. */
		if (r->action == A_BAD_DEVTYPE) {
			fail(ps, off, tok, "unknown-value", "devtype is cdrom or disk",
			     "unknown value for type");
			return;
		}
		/* Drop one trailing ',' (libxlutil's STRIP), point past the '='. */
		if (len > 0 && tok[len - 1] == ',')
			tok[--len] = '\0';
		size_t klen = strlen(r->word);
		val = tok + klen;
		voff = off + klen;
	}

	switch (r->action) {
	case A_NONE:
	case A_BAD_DEVTYPE: /* handled above */
	case A_SYNTAX:	    /* handled by the scanner loop */
		break;
	case A_FORMAT:
		set_format(ps, val, voff, false);
		break;
	case A_CDROM:
		d->is_cdrom = 1;
		break;
	case A_DISK:
		d->is_cdrom = 0;
		break;
	case A_ACCESS:
		set_access(ps, val, voff);
		break;
	case A_BACKENDTYPE:
		set_backendtype(ps, val, voff);
		break;
	case A_SPECIFICATION:
		set_specification(ps, val, voff);
		break;
	case A_DIRECT_IO_SAFE:
		d->direct_io_safe = true;
		break;
	case A_COLO_PORT:
		set_colo_port(ps, val, voff);
		break;
	case A_BACKEND:
	case A_VDEV:
	case A_SCRIPT:
	case A_COLO_HOST:
	case A_COLO_EXPORT:
	case A_ACTIVE_DISK:
	case A_HIDDEN_DISK:
	case A_TARGET:
		for (size_t i = 0; i < NTEXTS; i++)
			if (texts[i].action == r->action)
				save_string(ps, texts[i].what, text_of(d, i), val, voff);
		break;
	case A_DISCARD:
	case A_NO_DISCARD:
	case A_COLO:
	case A_NO_COLO:
	case A_TRUSTED:
	case A_UNTRUSTED:
	case A_GRANT_USAGE_1:
	case A_GRANT_USAGE_0:
		set_defbool((enum xp_defbool *)(void *)((char *)d + defbool_flags[r->action].field),
			    defbool_flags[r->action].value);
		break;
	case A_UNKNOWN_PARAM:
		unknown_parameter(ps, tok, off);
		break;
	case A_PREFIX_FORMAT:
		ps->had_depr_prefix = true;
		tok[len - 1] = '\0'; /* the ':' */
		set_format(ps, tok, off, false);
		break;
	case A_PREFIX_SCRIPT: {
		char script[16];
		ps->had_depr_prefix = true;
		tok[len - 1] = '\0';
		snprintf(script, sizeof(script), "block-%s", tok);
		save_string(ps, "script", &d->script, script, off);
		break;
	}
	case A_PREFIX_IGNORED:
		ps->had_depr_prefix = true;
		break;
	case A_UNKNOWN_PREFIX:
		fail(ps, off, tok, "unknown-prefix",
		     "known prefixes are raw: qcow: qcow2: vhd: (format), iscsi: nbd: enbd: drbd: "
		     "(script), tap: tap2: tapdisk: aio: ioemu: file: phy: (ignored); use target= "
		     "for a target holding ':'",
		     "unknown deprecated disk prefix");
		ps->stop = true;
		break;
	case A_POSITIONAL:
		if (len > 0 && tok[len - 1] == ',')
			tok[--len] = '\0';
		positional(ps, tok, off);
		break;
	}
}

static const char hint_syntax[] = "a parameter is NAME=VALUE, a flag or a positional value "
				  "without '='; use target= for a target holding '=' or ','";

/* Scans one spec (len <= XP_DISK_SPEC_MAX), running actions, until its end or an error
 * that stops libxlutil's scanner. */
static void scan(struct parse *ps, const char *s, size_t len)
{
	char tok[XP_DISK_SPEC_MAX + 1];
	size_t p = 0;

	ps->spec = s;
	ps->stop = false;
	while (p < len && !ps->stop && !ps->oom) {
		const struct rule *best = NULL;
		size_t best_total = 0, best_head = 0;
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			size_t total, head;
			if (match_rule(&rules[i], s, len, p, &total, &head) && total > best_total) {
				best = &rules[i];
				best_total = total;
				best_head = head;
			}
		}
		/* Every byte starts a match (a newline is blank, anything else K_ANY), so
		 * this is only a guard against an endless loop. */
		if (!best || best_head == 0)
			return;
		if (best->action == A_SYNTAX) {
			/* Only a '=' that starts no parameter gets here. libxlutil switches to
			 * an error state that quotes the rest of the line, but at the very end
			 * of the spec it ends without a word, and before a newline its scanner
			 * aborts the program; we call both what they are. */
			size_t rest = rest_of_line(s, len, p + 1);
			if (p + 1 == len) {
				report_hint(ps, XP_SEV_WARNING, p, s + p, 1, "stray-equals",
					    "libxlutil ignores a '=' at the end of a spec",
					    "stray '=' at end of spec ignored");
				return;
			}
			report_hint(ps, XP_SEV_ERROR, p, s + p, 1 + rest, "syntax", hint_syntax,
				    "bad disk syntax");
			return;
		}
		memcpy(tok, s + p, best_head);
		tok[best_head] = '\0';
		act(ps, best, tok, best_head, p);
		p += best_head;
	}
}

/* ---- the entry points ------------------------------------------------------------- */

int xp_disk_parse(const char *const *specs, size_t nspecs, struct xp_disk *out,
		  struct xp_diags *diags)
{
	if (!out || (!specs && nspecs > 0))
		return -EINVAL;
	for (size_t i = 0; i < nspecs; i++)
		if (!specs[i])
			return -EINVAL;

	struct xp_disk d = {0};
	struct parse ps = {.disk = &d, .diags = diags};

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < nspecs; i++) {
		size_t len = strnlen(specs[i], XP_DISK_SPEC_MAX + 1);
		if (len > XP_DISK_SPEC_MAX) {
			ps.index = i;
			report(&ps, XP_SEV_ERROR, XP_DISK_SPEC_MAX, NULL, 0, "too-long",
			       "disk spec longer than %d bytes", XP_DISK_SPEC_MAX);
			xp_disk_release(&d);
			return ps.oom ? ps.oom : -E2BIG;
		}
	}

	d.readwrite = 1;
	for (size_t i = 0; i < nspecs && !ps.err && !ps.oom; i++) {
		ps.index = i;
		scan(&ps, specs[i], strlen(specs[i]));
	}

	if (!ps.err && !ps.oom) {
		/* The defaults libxlutil applies once every spec is read. */
		if (d.format == XP_DISK_FORMAT_UNKNOWN)
			d.format = XP_DISK_FORMAT_RAW;
		if (d.is_cdrom) {
			d.removable = 1;
			d.readwrite = 0;
			if (!d.pdev_path || !*d.pdev_path)
				d.format = XP_DISK_FORMAT_EMPTY;
		}
		if (!d.vdev)
			report_hint(&ps, XP_SEV_ERROR, SIZE_MAX, NULL, 0, "no-vdev",
				    "give vdev=NAME (xvda, hda, sdb, ...) or a third positional "
				    "parameter",
				    "no vdev specified");
		else if (!d.pdev_path && !d.removable)
			report_hint(
			    &ps, XP_SEV_ERROR, SIZE_MAX, NULL, 0, "no-target",
			    "give target=PATH or a first positional parameter; only a cdrom "
			    "may be empty",
			    "no target specified (and device not removable)");
	}

	if (ps.oom || ps.err) {
		xp_disk_release(&d);
		return ps.oom ? ps.oom : -EBADMSG;
	}
	*out = d;
	return 0;
}

int xp_disk_parse_one(const char *spec, struct xp_disk *out, struct xp_diags *diags)
{
	if (!spec)
		return -EINVAL;
	return xp_disk_parse(&spec, 1, out, diags);
}

void xp_disk_release(struct xp_disk *disk)
{
	if (!disk)
		return;
	for (size_t i = 0; i < NTEXTS; i++)
		free(*text_of(disk, i));
	memset(disk, 0, sizeof(*disk));
}

int xp_disk_copy(struct xp_disk *dst, const struct xp_disk *src)
{
	if (!dst || !src)
		return -EINVAL;
	*dst = *src;
	for (size_t i = 0; i < NTEXTS; i++)
		*text_of(dst, i) = NULL;
	bool oom = false;
	for (size_t i = 0; i < NTEXTS; i++)
		if (text_in(src, i) && !(*text_of(dst, i) = strdup(text_in(src, i))))
			oom = true;
	if (oom) {
		xp_disk_release(dst);
		return -ENOMEM;
	}
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool xp_disk_equal(const struct xp_disk *a, const struct xp_disk *b)
{
	for (size_t i = 0; i < NTEXTS; i++)
		if (!str_eq(text_in(a, i), text_in(b, i)))
			return false;
	return a->backend == b->backend && a->format == b->format && a->removable == b->removable &&
	       a->readwrite == b->readwrite && a->is_cdrom == b->is_cdrom &&
	       a->direct_io_safe == b->direct_io_safe && a->discard_enable == b->discard_enable &&
	       a->specification == b->specification && a->colo_enable == b->colo_enable &&
	       a->colo_restore_enable == b->colo_restore_enable && a->colo_port == b->colo_port &&
	       a->trusted == b->trusted && a->grant_usage == b->grant_usage;
}

/* ---- enumeration names (libxl_types.idl, lowercased as libxl prints them) ---------- */

static const char *const format_names[] = {"unknown", "qcow",  "qcow2", "vhd",
					   "raw",     "empty", "qed"};
static const char *const backend_names[] = {"unknown", "phy", "tap", "qdisk", "standalone"};
static const char *const specification_names[] = {"unknown", "xen", "virtio"};

#define NFORMATS	 (sizeof(format_names) / sizeof(format_names[0]))
#define NBACKENDS	 (sizeof(backend_names) / sizeof(backend_names[0]))
#define NSPECIFICATIONS (sizeof(specification_names) / sizeof(specification_names[0]))

const char *xp_disk_format_name(enum xp_disk_format f)
{
	return xp__name_of(format_names, NFORMATS, f, NULL);
}

const char *xp_disk_backend_name(enum xp_disk_backend b)
{
	return xp__name_of(backend_names, NBACKENDS, b, NULL);
}

const char *xp_disk_specification_name(enum xp_disk_specification s)
{
	return xp__name_of(specification_names, NSPECIFICATIONS, s, NULL);
}

int xp_disk_format_from_name(const char *name, enum xp_disk_format *out)
{
	int i = xp__value_of(format_names, NFORMATS, name);
	if (i < 0)
		return i;
	*out = (enum xp_disk_format)i;
	return 0;
}

int xp_disk_backend_from_name(const char *name, enum xp_disk_backend *out)
{
	int i = xp__value_of(backend_names, NBACKENDS, name);
	if (i < 0)
		return i;
	*out = (enum xp_disk_backend)i;
	return 0;
}

int xp_disk_specification_from_name(const char *name, enum xp_disk_specification *out)
{
	int i = xp__value_of(specification_names, NSPECIFICATIONS, name);
	if (i < 0)
		return i;
	*out = (enum xp_disk_specification)i;
	return 0;
}
