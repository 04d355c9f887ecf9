/*
 * render-pxelinux.c - a boot plan as a pxelinux config (syslinux.cfg(5)), written
 * through the pxelinux writer (proto/pxelinux.c) so that what the server hands out
 * always reads back with the same reader the tests and the domU bootloader use.
 *
 * Not here: which plan (target.c), which path (boot.c).
 *
 * Paths are relative to pxelinux's working directory, the directory of pxelinux.0
 * (pxelinux(1) "CURRENT DIRECTORY"), which is the TFTP root. The menu has no UI
 * module, so it needs no .c32 files: PROMPT 1 shows the boot: prompt, Tab lists the
 * labels, and after TIMEOUT (1/10 s) DEFAULT boots the local disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot-internal.h"
#include "xenprov/pxelinux.h"

static char *join(const struct xp_boot_entry *e)
{
	if (!e->n_args)
		return NULL;
	struct xp_buf b = XP_BUF_INIT;
	for (size_t i = 0; i < e->n_args; i++)
		xp_buf_addf(&b, "%s%s", i ? " " : "", e->args[i]);
	return xp_buf_steal(&b);
}

/* Fills l for e; the strings are heap copies released by release_cfg. */
static int entry_label(const struct xp_boot_entry *e, struct xp_pxelinux_label *l)
{
	memset(l, 0, sizeof(*l));
	l->kind = XP_PXELINUX_KERNEL;
	if (asprintf(&l->kernel, XP_BOOT_FILES_FMT "/kernel", XP_BOOT_FILES(e)) < 0) {
		l->kernel = NULL;
		return -ENOMEM;
	}
	if (e->initrd && asprintf(&l->initrd, XP_BOOT_FILES_FMT "/initrd", XP_BOOT_FILES(e)) < 0) {
		l->initrd = NULL;
		return -ENOMEM;
	}
	l->name = strdup(e->label);
	l->menu_label = strdup(e->distro);
	if (!l->name || !l->menu_label)
		return -ENOMEM;
	if (e->n_args && !(l->append = join(e)))
		return -ENOMEM;
	return 0;
}

static int local_label(struct xp_pxelinux_label *l)
{
	memset(l, 0, sizeof(*l));
	l->kind = XP_PXELINUX_LOCALBOOT;
	l->localboot = 0; /* pxelinux: "a normal boot" (syslinux.cfg(5) LOCALBOOT) */
	l->name = strdup(XP_BOOT_LOCAL_LABEL);
	l->kernel = strdup("0");
	l->menu_label = strdup("Boot from local disk");
	return l->name && l->kernel && l->menu_label ? 0 : -ENOMEM;
}

static int say(struct xp_pxelinux_cfg *c, const char *prefix, const char *arg)
{
	char **nv = realloc(c->says, (c->n_says + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	c->says = nv;
	if (asprintf(&c->says[c->n_says], "%s%s", prefix, arg) < 0)
		return -ENOMEM;
	c->n_says++;
	return 0;
}

static int build(const struct xp_boot_plan *p, struct xp_pxelinux_cfg *c)
{
	size_t n = p->kind == XP_BOOT_PLAN_MENU ? 1 + p->n_menu : 1;
	if (!(c->labels = calloc(n, sizeof(*c->labels))))
		return -ENOMEM;
	int r;
	switch (p->kind) {
	case XP_BOOT_PLAN_SYSTEM:
		c->n_labels = 1;
		if ((r = entry_label(&p->entry, &c->labels[0])) < 0)
			return r;
		c->labels[0].menu_default = true;
		return (c->default_cmd = strdup(p->entry.label)) ? 0 : -ENOMEM;
	case XP_BOOT_PLAN_LOCAL:
		c->n_labels = 1;
		if ((r = local_label(&c->labels[0])) < 0)
			return r;
		return (c->default_cmd = strdup(XP_BOOT_LOCAL_LABEL)) ? 0 : -ENOMEM;
	case XP_BOOT_PLAN_MENU:
		break;
	}
	c->n_labels = 1;
	if ((r = local_label(&c->labels[0])) < 0)
		return r;
	c->labels[0].menu_default = true;
	c->menu_title = strdup("xenprov");
	c->default_cmd = strdup(XP_BOOT_LOCAL_LABEL);
	if (!c->menu_title || !c->default_cmd)
		return -ENOMEM;
	c->prompt = 1;
	c->timeout = XP_BOOT_MENU_TIMEOUT * 10;
	if ((r = say(c, "xenprov: Enter or wait boots the local disk; or type one of:", "")) < 0)
		return r;
	for (size_t i = 0; i < p->n_menu; i++) {
		if ((r = entry_label(&p->menu[i], &c->labels[c->n_labels++])) < 0)
			return r;
		if ((r = say(c, "- ", p->menu[i].label)) < 0)
			return r;
	}
	return 0;
}

int xp__boot_render_pxelinux(const struct xp_boot_plan *p, struct xp_buf *out)
{
	struct xp_pxelinux_cfg c = {0};
	int r = build(p, &c);
	if (r == 0)
		r = xp_pxelinux_format(&c, out);
	xp_pxelinux_cfg_release(&c);
	return r;
}
