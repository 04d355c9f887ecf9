/*
 * xenprov/xl-config.h - Xen's domain configuration language (xl.cfg(5)), read exactly
 * as Xen's own parser (libxlutil) reads it, into a lossless syntax tree.
 *
 * The language: settings `name = value` or `name += value`, ended by a newline or `;`;
 * names [a-z][._0-9a-z]*; values are strings ('...' or "..." with the escapes
 * \" \' \\ \a \b \f \n \r \t \v), numbers [0-9][0-9a-fx]* (kept as text, read with
 * strtol base detection: 010 is 8, 0x10 is 16) or lists [ ... ], nested, with newlines
 * and comments inside and an optional trailing comma; `#` comments run to the end of
 * the line. The last assignment of a name wins; `+=` joins strings or appends to lists.
 *
 * Lossless: every byte of the input is kept. xp_cfg_text() gives the input back byte
 * for byte; xp_cfg_set()/xp_cfg_unset() change only the bytes of the statements they
 * touch; only xp_cfg_format() re-lays the file out.
 *
 * Not here: what the settings mean (see xl-schema.h), disk and vif specs (xl-disk.h,
 * xl-vif.h), files on disk beyond reading one.
 */
#ifndef XENPROV_XL_CONFIG_H
#define XENPROV_XL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/util.h"

/* Largest config file read (Xen's own reader has no limit; real files are < 64 KiB). */
#define XP_CFG_MAX_SIZE (16u << 20)
/* Deepest list nesting accepted. Xen's bison parser gives up at 4,996 levels
 * (its stack of 10,000 states); we refuse earlier, with a clear error. */
#define XP_CFG_MAX_DEPTH 1000

struct xp_cfg;

enum xp_cfg_type {
	XP_CFG_STRING, /* a quoted string, or a concatenation made by += */
	XP_CFG_NUMBER, /* a number token, kept as its text */
	XP_CFG_LIST,
};

/* An effective value: immutable, owned by the xp_cfg it came from. */
struct xp_cfg_value;

/* Parses data (len bytes, need not be NUL-terminated). filename is used in
 * diagnostics only (may be NULL). Every problem is added to diags (may be NULL): all
 * errors of the file, not only the first, with line and column.
 *
 * Returns 0 when Xen would accept the file, -EBADMSG when it would reject it (then
 * *ret is still set, holding what could be read, so callers can report and format),
 * -ENOMEM, or -EFBIG over XP_CFG_MAX_SIZE. *ret is NULL only on -ENOMEM / -EFBIG. */
int xp_cfg_parse(const char *data, size_t len, const char *filename, struct xp_diags *diags,
		 struct xp_cfg **ret);
/* Reads and parses a file ("-" for standard input). -errno if it cannot be read. */
int xp_cfg_load(const char *path, struct xp_diags *diags, struct xp_cfg **ret);
void xp_cfg_free(struct xp_cfg *cfg);

/* True if the parse found an error (the file as Xen would reject it). */
bool xp_cfg_has_errors(const struct xp_cfg *cfg);
/* The file's bytes, exactly as they are now (after edits). */
const char *xp_cfg_text(const struct xp_cfg *cfg, size_t *len);
const char *xp_cfg_filename(const struct xp_cfg *cfg);

/* ---- effective settings (after += and last-wins), in order of first appearance --- */

size_t xp_cfg_count(const struct xp_cfg *cfg);
const char *xp_cfg_name_at(const struct xp_cfg *cfg, size_t i);
const struct xp_cfg_value *xp_cfg_value_at(const struct xp_cfg *cfg, size_t i);
/* NULL if the setting is absent. */
const struct xp_cfg_value *xp_cfg_lookup(const struct xp_cfg *cfg, const char *name);
/* Line (1-based) of the last statement that set name, 0 if absent. */
unsigned xp_cfg_line_of(const struct xp_cfg *cfg, const char *name);
/* How many statements assign name (1 for a plain setting). */
unsigned xp_cfg_assignments(const struct xp_cfg *cfg, const char *name);
/* True if the effective value of name was made by at least one +=. */
bool xp_cfg_was_appended(const struct xp_cfg *cfg, const char *name);

enum xp_cfg_type xp_cfg_value_type(const struct xp_cfg_value *v);
/* A string's decoded bytes or a number's text; NULL for a list. */
const char *xp_cfg_value_str(const struct xp_cfg_value *v);
/* Reads a number or string as xl does (strtol, base 0, whole text, no overflow):
 * -EINVAL if it is not a number, -ERANGE on overflow, -EISDIR for a list. */
int xp_cfg_value_long(const struct xp_cfg_value *v, long *out);
size_t xp_cfg_value_len(const struct xp_cfg_value *v); /* list length, 0 otherwise */
const struct xp_cfg_value *xp_cfg_value_item(const struct xp_cfg_value *v, size_t i);
unsigned xp_cfg_value_line(const struct xp_cfg_value *v);
unsigned xp_cfg_value_col(const struct xp_cfg_value *v);

/* Typed access by name, as libxlutil's getters behave: -ENOENT when absent,
 * -EINVAL on the wrong type (a list for a string, a string for a list, a += number). */
int xp_cfg_get_string(const struct xp_cfg *cfg, const char *name, const char **out);
int xp_cfg_get_long(const struct xp_cfg *cfg, const char *name, long *out);
/* A number, non-zero is true (xl's defbool). */
int xp_cfg_get_bool(const struct xp_cfg *cfg, const char *name, bool *out);
int xp_cfg_get_list(const struct xp_cfg *cfg, const char *name,
		    const struct xp_cfg_value **out);

/* ---- writing values -------------------------------------------------------------- */

/* Appends the config-language spelling of a string: quoted so that Xen reads back
 * exactly s (len bytes). -EINVAL if s holds a NUL byte (Xen's strings cannot). */
int xp_cfg_quote(struct xp_buf *out, const char *s, size_t len);
/* Appends the spelling of an effective value (lists on one line). */
int xp_cfg_write_value(struct xp_buf *out, const struct xp_cfg_value *v);

/* Parses the right-hand side of an assignment on its own ("512", "'x'", "[1, 'a']").
 * Returns the value's canonical spelling in *canon (heap) or -EBADMSG. */
int xp_cfg_parse_value(const char *text, char **canon);

/* ---- editing (lossless) ---------------------------------------------------------- */

/* Sets name to the value written as `value_text` (config-language syntax, e.g. "512",
 * "\"x\"", "['a', 'b']"): the last statement that assigns name is rewritten in
 * place (its indentation and trailing comment kept, `+=` becomes `=`); if there is
 * none, `name = value` is appended. Nothing else changes. -EINVAL for a bad name,
 * -EBADMSG for a bad value. The tree is re-read afterwards. */
int xp_cfg_set(struct xp_cfg *cfg, const char *name, const char *value_text);
/* Removes every statement assigning name. -ENOENT if there was none. */
int xp_cfg_unset(struct xp_cfg *cfg, const char *name);
/* True if name is a valid setting name. */
bool xp_cfg_name_valid(const char *name);

/* ---- formatting ------------------------------------------------------------------ */

enum {
	/* Repair what Xen rejects but can be repaired without guessing: CRLF line
	 * endings and a missing final newline (which makes a last comment an error). */
	XP_CFG_FMT_FIX = 1 << 0,
};
/* The canonical layout of the file: one `name = value` per line, comments kept,
 * blank lines collapsed, lists on one line when short, one item per line when not.
 * -EBADMSG if the file has errors that XP_CFG_FMT_FIX cannot repair. */
int xp_cfg_format(const struct xp_cfg *cfg, unsigned flags, struct xp_buf *out);

#endif
