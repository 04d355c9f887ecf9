/*
 * xenprov/bootloader.h - libxl's bootloader protocol, the answer half: what a PV/PVH
 * guest's bootloader (pygrub, xenprov-pxeboot) writes to the --output file for the
 * toolstack. libxl (tools/libs/light/libxl_bootloader.c, Xen 4.17) always asks for
 * "simple0" and reads items separated by NUL bytes, each "kernel PATH", "ramdisk
 * PATH" or "args TEXT" (the keyword, white space, the value); pygrub also writes
 * "simple" (the same, separated by newlines) and, by default, "sxp", the s-expression
 * xend read: `linux (kernel PATH)(ramdisk PATH)(args "TEXT")`.
 *
 * Pure: bytes in, bytes out. The program writes the bytes and owns the files.
 */
#ifndef XENPROV_BOOTLOADER_H
#define XENPROV_BOOTLOADER_H

#include "xenprov/util.h"

enum xp_bootloader_format {
	XP_BOOTLOADER_SXP, /* pygrub's default, for xend-era callers */
	XP_BOOTLOADER_SIMPLE,
	XP_BOOTLOADER_SIMPLE0, /* what libxl asks for */
};

/* "sxp", "simple", "simple0" -> the format; -EINVAL for anything else. */
int xp_bootloader_format_parse(const char *name, enum xp_bootloader_format *out);

struct xp_bootloader_result {
	const char *kernel;  /* path of the kernel file */
	const char *ramdisk; /* NULL: none */
	const char *args;    /* NULL or "": none */
};

/* Appends the answer in format f. -EINVAL when a value cannot be said in it: a kernel
 * path missing or empty; a separator (NUL, and the newline for simple) in a value; a
 * '"' or '\' in args or a ')' in a path for sxp, which has no escapes that xend read. */
int xp_bootloader_format(enum xp_bootloader_format f, const struct xp_bootloader_result *r,
			 struct xp_buf *out);

/* Reads an answer as libxl reads a simple0 one (and simple, with '\n' for the NUL):
 * items up to the separator, the keyword followed by at least one white space, which
 * is skipped; unknown items are ignored, as libxl ignores them with a warning. The
 * values are heap strings in *kernel, *ramdisk, *args (NULL when absent; free them).
 * 0, -EBADMSG for no kernel, -EINVAL for sxp (not read here), -ENOMEM. */
int xp_bootloader_parse(enum xp_bootloader_format f, const char *data, size_t len, char **kernel,
			char **ramdisk, char **args);

#endif
