/*
 * bootloader.c - the answer of a bootloader to libxl: "kernel PATH", "ramdisk PATH",
 * "args TEXT" items in the format the caller asked for (simple0, simple, sxp), and
 * libxl's way of reading simple0 back (for the tests).
 *
 * Not here: the files themselves and the arguments libxl passes (src/cmd/cmd-pxeboot.c).
 *
 * libxl_bootloader.c (Xen 4.17) parse_bootloader_result(): items end at a NUL (or the
 * end of the file), an item is a keyword, at least one isspace() byte, then the value
 * after the white space; items of other keywords are warned about and skipped. pygrub
 * writes the same items with '\n' for "simple", and `linux (kernel P)(ramdisk P)(args
 * "A")` for "sxp" (xend's sxp parser: no escapes it would undo).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/bootloader.h"

int xp_bootloader_format_parse(const char *name, enum xp_bootloader_format *out)
{
	static const char *const names[] = {"sxp", "simple", "simple0"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(name, names[i])) {
			*out = (enum xp_bootloader_format)i;
			return 0;
		}
	return -EINVAL;
}

static bool sayable(enum xp_bootloader_format f, const char *v, bool is_args)
{
	if (f == XP_BOOTLOADER_SIMPLE && strchr(v, '\n'))
		return false;
	if (f == XP_BOOTLOADER_SXP)
		return is_args ? !strpbrk(v, "\"\\") : !strpbrk(v, "()\"\\ \t\n");
	return true;
}

int xp_bootloader_format(enum xp_bootloader_format f, const struct xp_bootloader_result *r,
			 struct xp_buf *out)
{
	if (!r->kernel || !*r->kernel || (r->ramdisk && !*r->ramdisk))
		return -EINVAL;
	bool args = r->args && *r->args;
	if (!sayable(f, r->kernel, false) || (r->ramdisk && !sayable(f, r->ramdisk, false)) ||
	    (args && !sayable(f, r->args, true)))
		return -EINVAL;
	if (f == XP_BOOTLOADER_SXP) {
		xp_buf_addf(out, "linux (kernel %s)", r->kernel);
		if (r->ramdisk)
			xp_buf_addf(out, "(ramdisk %s)", r->ramdisk);
		if (args)
			xp_buf_addf(out, "(args \"%s\")", r->args);
		return xp_buf_error(out);
	}
	char sep = f == XP_BOOTLOADER_SIMPLE ? '\n' : '\0';
	xp_buf_addf(out, "kernel %s", r->kernel);
	xp_buf_addc(out, sep);
	if (r->ramdisk) {
		xp_buf_addf(out, "ramdisk %s", r->ramdisk);
		xp_buf_addc(out, sep);
	}
	if (args) {
		xp_buf_addf(out, "args %s", r->args);
		xp_buf_addc(out, sep);
	}
	return xp_buf_error(out);
}

/* The value of item [p, p + n) if its keyword is kw, as libxl's
 * bootloader_result_command() finds it; NULL otherwise. */
static const char *value(const char *p, size_t n, const char *kw)
{
	size_t l = strlen(kw);
	if (n <= l || memcmp(p, kw, l) || !isspace((unsigned char)p[l]))
		return NULL;
	const char *v = p + l;
	while (v < p + n && isspace((unsigned char)*v))
		v++;
	return v;
}

int xp_bootloader_parse(enum xp_bootloader_format f, const char *data, size_t len, char **kernel,
			char **ramdisk, char **args)
{
	*kernel = *ramdisk = *args = NULL;
	if (f == XP_BOOTLOADER_SXP)
		return -EINVAL;
	char sep = f == XP_BOOTLOADER_SIMPLE ? '\n' : '\0';
	for (size_t i = 0; i < len;) {
		const char *p = data + i;
		const char *e = memchr(p, sep, len - i);
		size_t n = e ? (size_t)(e - p) : len - i;
		i += n + 1;
		char **slot = NULL;
		const char *v;
		if ((v = value(p, n, "kernel")))
			slot = kernel;
		else if ((v = value(p, n, "ramdisk")))
			slot = ramdisk;
		else if ((v = value(p, n, "args")))
			slot = args;
		if (!slot)
			continue;
		free(*slot);
		if (!(*slot = strndup(v, (size_t)(p + n - v)))) {
			free(*kernel), free(*ramdisk), free(*args);
			*kernel = *ramdisk = *args = NULL;
			return -ENOMEM;
		}
	}
	if (!*kernel) {
		free(*ramdisk), free(*args);
		*ramdisk = *args = NULL;
		return -EBADMSG;
	}
	return 0;
}
