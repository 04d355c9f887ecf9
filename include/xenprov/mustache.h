/*
 * xenprov/mustache.h - a Mustache renderer (https://mustache.github.io/mustache.5.html,
 * the mustache/spec modules interpolation, sections, inverted, partials, comments,
 * delimiters), for the autoinstall templates (template.h). Debian has no C library of
 * it; this one is small, pure (text and a JSON value in, text out) and bounded.
 *
 * The data is a jansson value. What the spec leaves to the host language:
 *   - falsey: a missing name, null, false, "", 0, 0.0 and the empty list; anything
 *     else is truthy (an object, even empty);
 *   - interpolated: a string as it is, an integer in decimal, a real in the fewest
 *     digits that read back the same ("1.21"), true and false as such; null, a list
 *     or an object as "";
 *   - {{name}} is HTML-escaped as the spec says (& " < > become &amp; &quot; &lt;
 *     &gt;); {{{name}}} and {{&name}} are not;
 *   - a partial {{> name}} is the text the caller's loader gives for name (another
 *     template: Cobbler's snippets); one the loader does not have renders as "", as
 *     the spec says. A standalone partial's indentation is put before each of its
 *     lines; its delimiters are the default ones;
 *   - lambdas (the optional ~lambdas module) do not exist in JSON data: not supported.
 *
 * Bounds: templates of at most XP_MUSTACHE_MAX_TEMPLATE bytes, output of at most
 * max_output bytes, sections nested at most XP_MUSTACHE_MAX_DEPTH deep (partials
 * count), at most XP_MUSTACHE_MAX_STEPS tags and texts visited in one render (a
 * template that multiplies nested lists ends with an error, not after hours).
 *
 * Errors, each with a diagnostic (the template's name as its file, line and column of
 * the tag, a stable code): -EBADMSG for a template that does not parse (code "syntax":
 * an unclosed tag, a section closed by another name or not at all, a tag name with a
 * space, bad delimiters); -ENODATA when a name the caller marked required is
 * interpolated but has no value (code "required"); -EFBIG, -E2BIG, -ELOOP for the
 * bounds (code "limit").
 */
#ifndef XENPROV_MUSTACHE_H
#define XENPROV_MUSTACHE_H

#include <jansson.h>
#include <stddef.h>

#include "xenprov/util.h"

#define XP_MUSTACHE_MAX_TEMPLATE (256u * 1024)
#define XP_MUSTACHE_MAX_OUTPUT (4u * 1024 * 1024)
#define XP_MUSTACHE_MAX_DEPTH 64
#define XP_MUSTACHE_MAX_STEPS 2000000u

struct xp_mustache_opts {
	const char *name; /* the template's name, for diagnostics (may be NULL) */
	/* The text of partial `name`: 0 and *text (heap, NUL-terminated, *len bytes),
	 * -ENOENT when there is no such partial (it renders as ""), or another -errno
	 * (the render fails with it). May be NULL: no partials. */
	int (*partial)(void *ud, const char *name, char **text, size_t *len);
	void *ud;
	/* Names whose interpolation ({{x}}, {{{x}}}, {{&x}}) must find a truthy value: a
	 * tag naming one that resolves to nothing, null or "" is -ENODATA. Sections may
	 * test them freely. NULL-terminated; may be NULL. */
	const char *const *required;
	/* The hint of a "required" diagnostic (may be NULL). */
	const char *required_hint;
	size_t max_output; /* 0: XP_MUSTACHE_MAX_OUTPUT */
};

/* Renders tmpl[0..len) with data (any JSON value: the bottom of the context stack),
 * appending to out. On failure out is as it was. */
int xp_mustache_render(const char *tmpl, size_t len, const json_t *data,
		       const struct xp_mustache_opts *o, struct xp_buf *out, struct xp_diags *d);

/* Parses tmpl only: 0 or -EBADMSG with its diagnostics (file: name). partials (may be
 * NULL) gets the names of the partials it includes, in order, each once (heap
 * strings: xp_strv_free). */
int xp_mustache_check(const char *tmpl, size_t len, const char *name, char ***partials,
		      size_t *npartials, struct xp_diags *d);

#endif
