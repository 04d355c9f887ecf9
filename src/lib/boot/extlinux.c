/*
 * extlinux.c - extlinux.conf, syslinux.cfg and isolinux.cfg on a guest's disk, read with
 * the project's pxelinux reader (proto/pxelinux.c, syslinux's own rules) and turned
 * into boot entries: one per LABEL, in order, titled by its name (what DEFAULT and
 * --entry name; its MENU LABEL is matched too).
 *
 * As syslinux does: a relative file name is relative to the directory the config is in
 * (extlinux's working directory), an absolute one to the filesystem's root; the entry
 * an unattended boot runs is xp_pxelinux_boot_label's (ONTIMEOUT, MENU DEFAULT, or
 * DEFAULT), else the first label, as pygrub's ExtLinuxConf takes it; the initrds are
 * the last initrd= of APPEND plus INITRD (comma-separated). As pygrub does, the initrd=
 * words are taken out of the command line: the initrd goes to the domain builder, not
 * to the kernel. A label whose kernel-like directive is not LINUX or a KERNEL that is
 * a Linux image by its extension (.c32, .cbt, .com, .bs, .bss, .0, .img and .bin are
 * not: syslinux.cfg(5)) boots no Linux kernel. INCLUDE files are not followed (a
 * warning names them).
 *
 * Not here: the config's syntax (proto/pxelinux.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "boot/localboot-internal.h"
#include "xenprov/pxelinux.h"

static bool linux_kernel(const struct xp_pxelinux_label *l)
{
	if (l->kind == XP_PXELINUX_LINUX)
		return true;
	if (l->kind != XP_PXELINUX_KERNEL || !l->kernel)
		return false;
	size_t fl = strcspn(l->kernel, " \t");
	static const char *const ext[] = {".c32", ".cbt", ".com", ".bs", ".bss", ".0", ".img", ".bin"};
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t el = strlen(ext[i]);
		if (fl >= el && strncasecmp(l->kernel + fl - el, ext[i], el) == 0)
			return false;
	}
	return true;
}

/* APPEND without its initrd= words, one space apart. */
static char *args_of(const char *append)
{
	struct xp_buf b = XP_BUF_INIT;
	for (const char *s = append ? append : ""; *s;) {
		s += strspn(s, " \t");
		size_t n = strcspn(s, " \t");
		if (n && strncasecmp(s, "initrd=", 7) != 0) {
			if (b.len)
				xp_buf_addc(&b, ' ');
			xp_buf_add(&b, s, n);
		}
		s += n;
	}
	char *r = xp_buf_steal(&b);
	xp_buf_release(&b);
	return r;
}

static int add_label(const struct xp__lb_disk *disk, size_t vol, const char *dir,
		     const struct xp_pxelinux_label *l, struct xp_localboot *out)
{
	unsigned part = disk->vols[vol].partition;
	if (!linux_kernel(l))
		return xp__lb_add(out, l->name, l->name, NULL, NULL, "", part, NULL);
	char *file = strndup(l->kernel, strcspn(l->kernel, " \t"));
	char *kernel = file ? xp__lb_path_join(dir, file) : NULL;
	char *list = NULL;
	int r = kernel ? xp_pxelinux_initrd(l, &list) : -ENOMEM;
	char *args = r == 0 ? args_of(l->append) : NULL;
	struct xp_buf initrd = XP_BUF_INIT;
	for (const char *s = list; r == 0 && s && *s;) {
		size_t n = strcspn(s, ",");
		if (n) {
			char *one = strndup(s, n);
			char *p = one ? xp__lb_path_join(dir, one) : NULL;
			if (initrd.len)
				xp_buf_addc(&initrd, ' ');
			xp_buf_adds(&initrd, p ? p : "");
			if (!p)
				r = -ENOMEM;
			free(one);
			free(p);
		}
		s += n + (s[n] == ',');
	}
	if (r == 0 && (!args || xp_buf_error(&initrd)))
		r = -ENOMEM;
	if (r == 0)
		r = xp__lb_add(out, l->name, l->name, kernel, initrd.len ? initrd.s : NULL, args,
			       part, NULL);
	xp_buf_release(&initrd);
	free(file);
	free(kernel);
	free(list);
	free(args);
	return r;
}

int xp__lb_extlinux(const struct xp__lb_disk *disk, size_t vol, const char *path, const char *data,
		    size_t len, const char *entry, struct xp_localboot *out, struct xp_diags *d)
{
	struct xp_pxelinux_cfg c;
	int r = xp_pxelinux_parse(data, len, path, &c, d);
	if (r < 0)
		return r == -ENOMEM ? r
				    : xp_diags_fail(d, -EINVAL, path, "extlinux", NULL,
						    "cannot be read as a syslinux config");
	for (size_t i = 0; i < c.n_includes; i++)
		xp_diags_add(d, XP_SEV_WARNING, path, c.includes[i].line, 0, "extlinux-include",
			     c.includes[i].path, NULL, "INCLUDE %s is not followed",
			     c.includes[i].path);
	char *dir = xp__lb_path_join(path, "..");
	if (!dir)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < c.n_labels; i++)
		r = add_label(disk, vol, dir, &c.labels[i], out);
	if (r == -E2BIG)
		r = xp_diags_fail(d, -EINVAL, path, "extlinux", NULL, "over %u entries",
				  XP_LOCALBOOT_MAX_ENTRIES);
	if (r == 0 && out->n == 0)
		r = xp_diags_fail(d, -ENOENT, path, "no-entries", NULL, "has no LABEL entries");
	size_t ch = 0;
	if (r == 0 && entry) {
		size_t i = 0;
		while (i < c.n_labels && strcmp(c.labels[i].name, entry) != 0 &&
		       !(c.labels[i].menu_label && strcmp(c.labels[i].menu_label, entry) == 0))
			i++;
		if (i < c.n_labels)
			ch = i;
		else
			r = xp__lb_pick(out, entry, path, &ch, d);
	} else if (r == 0) {
		const struct xp_pxelinux_label *bl = xp_pxelinux_boot_label(&c);
		ch = bl ? (size_t)(bl - c.labels) : 0;
	}
	if (r == 0) {
		out->chosen = ch;
		if (!out->v[ch].kernel)
			r = xp_diags_fail(d, -ENOEXEC, path, "not-linux", NULL,
					  "label '%s' boots no Linux kernel", out->v[ch].title);
	}
	free(dir);
	xp_pxelinux_cfg_release(&c);
	return r;
}
