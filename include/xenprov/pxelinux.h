/*
 * xenprov/pxelinux.h - pxelinux/syslinux configuration files (syslinux.cfg(5),
 * pxelinux(1), menu.txt of the syslinux documentation): a bounded reader that turns
 * the text into labels and global settings, and a writer whose output reads back to
 * the same values.
 *
 * The reader follows what syslinux's own parser does (com32/elflink/ldlinux/
 * readconfig.c): keywords are case-insensitive and end at whitespace (any byte <= ' ');
 * a line ends at LF and a CR cuts it (CR LF files read as LF files); unknown keywords
 * are ignored (we warn); LABEL opens an entry that every following line belongs to
 * until the next LABEL; a LABEL without a kernel-like directive boots the file named
 * like the label; APPEND/IPAPPEND before the first LABEL are the defaults of the
 * labels without their own; "APPEND -" means none; the last initrd= wins and INITRD
 * is appended after APPEND. INCLUDE and MENU INCLUDE are recorded, not followed (this
 * module reads no files). It is stricter than syslinux where syslinux silently reads
 * garbage: numbers must be numbers, LABEL and the kernel-like directives need their
 * argument, and a file may not hold a NUL byte or a line longer than syslinux reads
 * (XP_PXELINUX_MAX_LINE); those are errors (-EBADMSG, each with its line in diags).
 *
 * Pure: no files, no sockets, no clock. Used by the boot server's tests (the rendered
 * configs must read back) and by the domU PXE bootloader.
 */
#ifndef XENPROV_PXELINUX_H
#define XENPROV_PXELINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/util.h"

#define XP_PXELINUX_MAX_SIZE   (1u << 20) /* bytes of one file */
#define XP_PXELINUX_MAX_LINE   4095	  /* syslinux reads lines with a 4096-byte fgets */
#define XP_PXELINUX_MAX_LABELS 1024	  /* LABEL entries */
#define XP_PXELINUX_MAX_ITEMS  256	  /* INCLUDE and SAY lines, each */

/* The kernel-like directives (syslinux.cfg(5) "KERNEL-LIKE DIRECTIVES"). */
enum xp_pxelinux_kind {
	XP_PXELINUX_KERNEL, /* KERNEL: type from the file name; also a bare LABEL */
	XP_PXELINUX_LINUX,
	XP_PXELINUX_BOOT,
	XP_PXELINUX_BSS,
	XP_PXELINUX_PXE,
	XP_PXELINUX_FDIMAGE,
	XP_PXELINUX_COMBOOT,
	XP_PXELINUX_COM32,
	XP_PXELINUX_CONFIG,
	XP_PXELINUX_LOCALBOOT, /* kernel holds the type text, localboot its value */
};

struct xp_pxelinux_label {
	char *name;
	char *menu_label; /* MENU LABEL, or NULL */
	enum xp_pxelinux_kind kind;
	char *kernel;	   /* the image (the rest of the directive's line) */
	char *append;	   /* effective: its own APPEND or the global one; NULL for none */
	char *initrd;	   /* INITRD's value (comma-separated list), or NULL */
	uint32_t ipappend; /* effective: its own IPAPPEND/SYSAPPEND or the global one */
	long localboot;	   /* LOCALBOOT's type (-1, 0, 4, 5, 0x80, ...) */
	bool menu_default; /* MENU DEFAULT */
	bool menu_hide;	   /* MENU HIDE */
	unsigned line;	   /* of the LABEL line */
};

struct xp_pxelinux_include {
	char *path;
	bool menu;   /* MENU INCLUDE (then title may be set) */
	char *title; /* MENU INCLUDE's optional submenu title, or NULL */
	unsigned line;
};

struct xp_pxelinux_cfg {
	char *default_cmd; /* DEFAULT's command line, or NULL */
	char *ui;	   /* UI module and options, or NULL */
	char *ontimeout;   /* ONTIMEOUT's command line, or NULL */
	char *onerror;	   /* ONERROR's, or NULL */
	char *menu_title;  /* MENU TITLE, or NULL */
	char *append;	   /* global APPEND, or NULL */
	uint32_t ipappend; /* global IPAPPEND */
	uint32_t timeout;  /* TIMEOUT in 1/10 s; 0 = none */
	uint32_t totaltimeout;
	uint32_t prompt; /* PROMPT flag */
	struct xp_pxelinux_label *labels;
	size_t n_labels;
	struct xp_pxelinux_include *includes;
	size_t n_includes;
	char **says; /* SAY lines in order */
	size_t n_says;
};

void xp_pxelinux_cfg_release(struct xp_pxelinux_cfg *c);

/* Reads one file of len bytes (NUL bytes are errors, so data need not be a string).
 * file names the input in diagnostics (may be NULL). Returns 0 (warnings, if any, in
 * d), -EBADMSG with every error in d (each with its 1-based line; *out is left empty),
 * -EFBIG over XP_PXELINUX_MAX_SIZE, -ENOMEM. d may be NULL. */
int xp_pxelinux_parse(const char *data, size_t len, const char *file, struct xp_pxelinux_cfg *out,
		      struct xp_diags *d);

/* Writes c as a config file that xp_pxelinux_parse reads back to the same values
 * (warnings aside). -EINVAL if a value cannot be written: it holds a NUL, CR or LF,
 * begins or ends with whitespace, is empty where an argument is needed, or a label
 * name holds whitespace. Appends to out. */
int xp_pxelinux_format(const struct xp_pxelinux_cfg *c, struct xp_buf *out);

/* The label named name (the first of that name, as syslinux picks), or NULL. */
const struct xp_pxelinux_label *xp_pxelinux_find(const struct xp_pxelinux_cfg *c, const char *name);

/* The label an unattended boot runs: ONTIMEOUT's first word if set; else, with a UI
 * (a menu), the MENU DEFAULT label or the first label not hidden; else DEFAULT's first
 * word. NULL when that names no label (DEFAULT may name a kernel file directly) or
 * nothing is set. */
const struct xp_pxelinux_label *xp_pxelinux_boot_label(const struct xp_pxelinux_cfg *c);

/* The kernel command line syslinux passes for l: its APPEND, then " initrd=INITRD" if
 * set (syslinux.cfg(5): INITRD appends initrd=; IPAPPEND expansion is left to the
 * caller, which knows the addresses). Appends to out. */
int xp_pxelinux_cmdline(const struct xp_pxelinux_label *l, struct xp_buf *out);

/* The initrd list the kernel gets: the value of the last "initrd=" word of the
 * command line (syslinux.cfg(5): only the last effective initrd= is used), as a heap
 * string in *out, or NULL when there is none. */
int xp_pxelinux_initrd(const struct xp_pxelinux_label *l, char **out);

/* ---- what pxelinux derives from the network (pxelinux-net.c) ------------------------ */

#define XP_PXELINUX_SEARCH_MAX  10 /* 01-MAC, 8 hex forms of the address, default */
#define XP_PXELINUX_SEARCH_NAME 40 /* bytes of each name */

/* The config files pxelinux looks for, in its order (pxelinux(1) "CONFIGURATION
 * FILE"): "pxelinux.cfg/01-aa-bb-cc-dd-ee-ff" (ARP type 1, lower case), the client's
 * address in upper-case hex ("pxelinux.cfg/C0A8010A") shortened one digit at a time
 * down to one, then "pxelinux.cfg/default". Writes the names into names and returns
 * their count (XP_PXELINUX_SEARCH_MAX). pxelinux's first try, the SMBIOS UUID, is left
 * out: a domU bootloader has none to give. */
size_t xp_pxelinux_search(const uint8_t mac[6], uint32_t ip, char names[][XP_PXELINUX_SEARCH_NAME]);

/* The addresses IPAPPEND/SYSAPPEND speak of (host byte order). */
struct xp_pxelinux_net {
	uint32_t ip, server, gateway, netmask;
	uint8_t mac[6];
};

/* Appends what IPAPPEND flags adds to a command line (syslinux.cfg(5)): bit 1
 * " ip=CLIENT:SERVER:GATEWAY:NETMASK", bit 2 " BOOTIF=01-aa-bb-cc-dd-ee-ff", each after
 * a space when out is not empty. Returns the bits it could not expand (the SYSAPPEND
 * bits from 4 up, which describe SMBIOS data a domU bootloader does not have), or
 * -ENOMEM. */
int xp_pxelinux_ipappend(uint32_t flags, const struct xp_pxelinux_net *n, struct xp_buf *out);

/* Where pxelinux would fetch file name, relative to base (a URL ending in '/', as
 * "tftp://10.0.0.1/" or "http://10.0.0.1:8080/boot/"; a TFTP URL's path is the TFTP
 * file name, so "tftp://h//abs" names "/abs"): a URL (http://, https://, tftp://) as
 * it is; "::PATH" from the server's root; "HOST::PATH" the TFTP file PATH on HOST;
 * "/PATH" from the root of base's server; anything else base + name (pxelinux(1)
 * "CURRENT DIRECTORY" and "PATH SYNTAX"). Appends the URL to out. -EINVAL for an empty
 * name or a base that is no such URL, -ENOMEM. */
int xp_pxelinux_resolve(const char *base, const char *name, struct xp_buf *out);

#endif
