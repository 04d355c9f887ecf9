/*
 * boot-internal.h - what the boot-file resolver's files share: the plan (what one
 * client is to boot, decided from the inventory in target.c) and the three renderers
 * that write a plan in a boot loader's language (render-pxelinux.c, render-grub.c,
 * render-ipxe.c). The renderers are pure: plan in, text out.
 */
#ifndef XP_BOOT_INTERNAL_H
#define XP_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/boot.h"

/* One bootable entry: a distro's kernel (and initrd) with its command line. */
struct xp_boot_entry {
	char *label;  /* the entry's name in the menu or config */
	char *distro; /* the distro: files at distros/<distro>/kernel|initrd */
	bool initrd;  /* the distro has an initrd */
	/* the autoinstall installer instead: files at installer/kernel|initrd beneath the
	 * boot root (xenprov installer build -o ROOT/installer); distro is its menu name */
	bool installer;
	char **args;  /* kernel command-line words, no control characters or spaces */
	size_t n_args;
};

enum xp_boot_plan_kind {
	XP_BOOT_PLAN_SYSTEM, /* a known system with netboot on: boot entry */
	XP_BOOT_PLAN_LOCAL,  /* a known system with netboot off: boot the local disk */
	XP_BOOT_PLAN_MENU,   /* anyone else: local disk by default, or one of the distros */
};

struct xp_boot_plan {
	enum xp_boot_plan_kind kind;
	struct xp_boot_entry entry; /* XP_BOOT_PLAN_SYSTEM */
	char system[65];	    /* XP_BOOT_PLAN_LOCAL: the system's name */
	struct xp_boot_entry *menu; /* XP_BOOT_PLAN_MENU: one per distro, by name */
	size_t n_menu;
	const char *server;    /* the server's address, or NULL */
	const char *http_base; /* "http://host:port" without a final '/', or NULL */
};

/* An entry's files' directory beneath the root, for a "%s%s" format. */
#define XP_BOOT_FILES_FMT "%s%s"
#define XP_BOOT_FILES(e) (e)->installer ? "" : "distros/", (e)->installer ? "installer" : (e)->distro

/* The label of the menus' local-boot entry (distros of that name are renamed). */
#define XP_BOOT_LOCAL_LABEL "local"
/* The menus' timeout, seconds. */
#define XP_BOOT_MENU_TIMEOUT 10

void xp__boot_plan_release(struct xp_boot_plan *p);

/* Splits text into kernel command-line words and appends them to e: every control
 * character (and DEL) separates words like a space does, so no value can start a
 * new line in any boot loader's file. */
int xp__boot_add_args(struct xp_boot_entry *e, const char *text);

/* The plan for the system with this MAC (canonical or any xp_mac_parse spelling) or
 * dotted IP: -ENOENT when no system has it or it has no distro to boot; the menu.
 * http_base (may be NULL): the server's HTTP, for the autoinstall argument. peer: the
 * requesting client's IPv4 address (host order, 0 unknown): the installer's entry of
 * a marked system only for its own address (xp_boot_open_from). */
int xp__boot_plan_mac(struct xp_inv *inv, const char *mac, const char *http_base,
		      uint32_t peer, struct xp_boot_plan *p);
int xp__boot_plan_ip(struct xp_inv *inv, const char *ip, const char *http_base,
		     uint32_t peer, struct xp_boot_plan *p);
int xp__boot_plan_menu(struct xp_inv *inv, struct xp_boot_plan *p);

/* What a run over many systems (a sync) reads once instead of per system: each
 * distro's entry and each profile's distro. Only for one snapshot of the inventory
 * (the caller's read transaction): the server, which must see changes at once, plans
 * without one. */
struct xp__boot_cache;
int xp__boot_cache_new(struct xp__boot_cache **c);
void xp__boot_cache_free(struct xp__boot_cache *c);
/* The plan of system s, read by the caller: as xp__boot_plan_mac for its MAC (-ENOENT
 * when it has nothing to boot). c may be NULL (everything read from inv). */
int xp__boot_plan_system(struct xp_inv *inv, struct xp__boot_cache *c, const struct xp_system *s,
			 const char *http_base, struct xp_boot_plan *p);

int xp__boot_render_pxelinux(const struct xp_boot_plan *p, struct xp_buf *out);
int xp__boot_render_grub(const struct xp_boot_plan *p, struct xp_buf *out);
/* -EINVAL if a word is one iPXE's command line would read as syntax (see the file). */
int xp__boot_render_ipxe(const struct xp_boot_plan *p, struct xp_buf *out);

#endif
