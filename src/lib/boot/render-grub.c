/*
 * render-grub.c - a boot plan as a GRUB 2 config for its network boot (the GRUB
 * manual, "Network": grub.cfg-<MAC>, grub.cfg-<HEXIP>, grub.cfg in the prefix
 * directory).
 *
 * Not here: which plan (target.c), which path (boot.c).
 *
 * grub.cfg is a shell-like script (the GRUB manual, "Shell-like scripting"): $
 * expands variables, quotes and backslashes are syntax, ';' and newlines end commands.
 * Every word we write that is not plainly safe goes in single quotes, inside which
 * nothing is special; a single quote itself is written '\'' as in sh. The files are
 * fetched from the TFTP server by absolute path: (tftp,SERVER)/distros/..., or
 * (tftp)/... (GRUB's default server, the DHCP next-server) when the address is not
 * configured. A local boot is `exit`: GRUB returns to the firmware, which tries the
 * next boot device.
 */
#include <errno.h>
#include <string.h>

#include "boot/boot-internal.h"

static bool plain(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("._,:/=+@%-", c)))
			return false;
	}
	return true;
}

static void word(struct xp_buf *out, const char *s)
{
	if (plain(s))
		xp_buf_adds(out, s);
	else
		xp_buf_add_squoted(out, s);
}

static void device(const struct xp_boot_plan *p, struct xp_buf *out)
{
	xp_buf_adds(out, "(tftp");
	if (p->server) {
		xp_buf_addc(out, ',');
		xp_buf_adds(out, p->server);
	}
	xp_buf_addc(out, ')');
}

static void entry(const struct xp_boot_plan *p, const struct xp_boot_entry *e, struct xp_buf *out)
{
	xp_buf_adds(out, "menuentry ");
	word(out, e->label);
	xp_buf_adds(out, " {\n\tlinux ");
	device(p, out);
	xp_buf_addf(out, "/" XP_BOOT_FILES_FMT "/kernel", XP_BOOT_FILES(e));
	for (size_t i = 0; i < e->n_args; i++) {
		xp_buf_addc(out, ' ');
		word(out, e->args[i]);
	}
	xp_buf_addc(out, '\n');
	if (e->initrd) {
		xp_buf_adds(out, "\tinitrd ");
		device(p, out);
		xp_buf_addf(out, "/" XP_BOOT_FILES_FMT "/initrd\n", XP_BOOT_FILES(e));
	}
	xp_buf_adds(out, "}\n");
}

int xp__boot_render_grub(const struct xp_boot_plan *p, struct xp_buf *out)
{
	xp_buf_adds(out, "# xenprov\n");
	switch (p->kind) {
	case XP_BOOT_PLAN_LOCAL:
		xp_buf_adds(out, "exit\n");
		break;
	case XP_BOOT_PLAN_SYSTEM:
		xp_buf_adds(out, "set default=0\nset timeout=0\n");
		entry(p, &p->entry, out);
		break;
	case XP_BOOT_PLAN_MENU:
		xp_buf_addf(out, "set default=0\nset timeout=%d\n", XP_BOOT_MENU_TIMEOUT);
		xp_buf_adds(out, "menuentry 'Boot from local disk' {\n\texit\n}\n");
		for (size_t i = 0; i < p->n_menu; i++)
			entry(p, &p->menu[i], out);
		break;
	}
	return xp_buf_error(out);
}
