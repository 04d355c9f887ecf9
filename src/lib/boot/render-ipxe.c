/*
 * render-ipxe.c - a boot plan as an iPXE script (https://ipxe.org/scripting): the
 * kernel and initrd over HTTP from the server's http_base, or over TFTP without one.
 *
 * Not here: which plan (target.c), which path (boot.c).
 *
 * iPXE reads a script line by line; a line is split at whitespace (there is no
 * quoting), then each word has its ${setting} references expanded (src/core/exec.c,
 * split_command and expand_tokens). A word beginning with '#' starts a comment and the
 * words "||", "&&" and ";" end a command, so a kernel argument that is one of those
 * would change the script: such words are refused (-EINVAL) rather than written.
 * ${...} in an argument is left for iPXE to expand, as its documentation intends;
 * expansion happens after the split, so it cannot add words or commands. The kernel
 * command's own options end at its first non-option word (the URL), so arguments
 * that begin with '-' stay arguments. "initrd=initrd" names the initrd image for
 * kernels booted through EFI (iPXE names an image after its URL's last segment).
 */
#include <errno.h>
#include <string.h>

#include "boot/boot-internal.h"

static bool ipxe_syntax(const char *w)
{
	return w[0] == '#' || strcmp(w, "||") == 0 || strcmp(w, "&&") == 0 || strcmp(w, ";") == 0;
}

static bool entry_ok(const struct xp_boot_entry *e)
{
	for (size_t i = 0; i < e->n_args; i++)
		if (ipxe_syntax(e->args[i]))
			return false;
	return true;
}

static void base(const struct xp_boot_plan *p, struct xp_buf *out)
{
	if (p->http_base)
		xp_buf_adds(out, p->http_base);
	else if (p->server)
		xp_buf_addf(out, "tftp://%s", p->server);
	else
		xp_buf_adds(out, "tftp://${next-server}");
}

static int entry(const struct xp_boot_plan *p, const struct xp_boot_entry *e, struct xp_buf *out)
{
	xp_buf_adds(out, "kernel ");
	base(p, out);
	xp_buf_addf(out, "/" XP_BOOT_FILES_FMT "/kernel", XP_BOOT_FILES(e));
	if (e->initrd)
		xp_buf_adds(out, " initrd=initrd");
	for (size_t i = 0; i < e->n_args; i++) {
		if (ipxe_syntax(e->args[i]))
			return -EINVAL;
		xp_buf_addf(out, " %s", e->args[i]);
	}
	xp_buf_addc(out, '\n');
	if (e->initrd) {
		xp_buf_adds(out, "initrd ");
		base(p, out);
		xp_buf_addf(out, "/" XP_BOOT_FILES_FMT "/initrd\n", XP_BOOT_FILES(e));
	}
	xp_buf_adds(out, "boot\n");
	return 0;
}

int xp__boot_render_ipxe(const struct xp_boot_plan *p, struct xp_buf *out)
{
	int r = 0;
	xp_buf_adds(out, "#!ipxe\n");
	switch (p->kind) {
	case XP_BOOT_PLAN_LOCAL:
		xp_buf_adds(out, "exit\n");
		break;
	case XP_BOOT_PLAN_SYSTEM:
		r = entry(p, &p->entry, out);
		break;
	case XP_BOOT_PLAN_MENU:
		xp_buf_adds(out, "menu xenprov\n");
		xp_buf_addf(out, "item %s Boot from local disk\n", XP_BOOT_LOCAL_LABEL);
		/* a distro whose options iPXE cannot take is left out, not the menu */
		for (size_t i = 0; i < p->n_menu; i++)
			if (entry_ok(&p->menu[i]))
				xp_buf_addf(out, "item %s %s\n", p->menu[i].label,
					    p->menu[i].distro);
		xp_buf_addf(out, "choose --default %s --timeout %d target || goto %s\n",
			    XP_BOOT_LOCAL_LABEL, XP_BOOT_MENU_TIMEOUT * 1000, XP_BOOT_LOCAL_LABEL);
		xp_buf_adds(out, "goto ${target}\n");
		xp_buf_addf(out, ":%s\nexit\n", XP_BOOT_LOCAL_LABEL);
		for (size_t i = 0; i < p->n_menu && r == 0; i++) {
			if (!entry_ok(&p->menu[i]))
				continue;
			xp_buf_addf(out, ":%s\n", p->menu[i].label);
			r = entry(p, &p->menu[i], out);
		}
		break;
	}
	return r < 0 ? r : xp_buf_error(out);
}
