/*
 * lint-devices.c - checks of the disk and vif lists of a config: every spec parsed as
 * xl would parse it (errors are what `xl create` refuses; the vif parser also reports
 * invalid and multicast MACs), duplicate vdevs, MACs shared between interfaces (also
 * across the files checked together); and on request (--host) the files on this host
 * that a config needs: disk targets, kernel, ramdisk and the bootloader.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenprov/mac.h"
#include "xenprov/xl-disk.h"
#include "xenprov/xl-vif.h"
#include "xl/config-internal.h"
#include "xl/lint-internal.h"

/* The column of byte k of a spec written as a quoted string starting at v->col
 * (exact unless the string has escapes before k). */
static unsigned spec_col(const struct xp_cfg_value *v, unsigned k)
{
	return v->col + 1 + k;
}

/* Items of a device list as xl reads them: strings, stopping at the first non-string
 * (xlu_cfg_get_listitem returns NULL there and xl's loop ends). */
static int list_items(const struct xp_cfg *cfg, const char *key, const struct xp_cfg_value **lst,
		      size_t *n, struct xp_diags *d)
{
	*lst = NULL;
	*n = 0;
	if (xp_cfg_get_list(cfg, key, lst) < 0)
		return 0;
	size_t i, len = xp_cfg_value_len(*lst);
	for (i = 0; i < len; i++)
		if (xp_cfg_value_type(xp_cfg_value_item(*lst, i)) == XP_CFG_LIST)
			break;
	*n = i;
	if (i < len) {
		const struct xp_cfg_value *bad = xp_cfg_value_item(*lst, i);
		return xp__lint_diag(d, cfg, XP_SEV_WARNING, bad->line, bad->col, "nested-list", NULL,
				     "each device is one string",
				     "a list inside '%s': xl stops reading '%s' here and ignores "
				     "the %zu item(s) from here on",
				     key, key, len - i);
	}
	return 0;
}

/* Host path p as this process reaches it (below opts->host_root in tests). */
static const char *host_path(const struct xp_lint_opts *opts, const char *p, char full[PATH_MAX])
{
	if (opts->host_root && *opts->host_root)
		snprintf(full, PATH_MAX, "%s/%s", opts->host_root, p);
	else
		snprintf(full, PATH_MAX, "%s", p);
	return full;
}

static int host_path_exists(const struct xp_lint_opts *opts, const char *p)
{
	char full[PATH_MAX];
	struct stat st;
	return stat(host_path(opts, p, full), &st) == 0;
}

/* ---- the files a guest boots from ------------------------------------------------- */

/* Xen's bin directory into out ("" if none is found): opts->xen_bindir, else the first
 * of XP_XEN_BINDIRS that is a directory here; of a pattern's matches, the highest
 * version (Debian's /usr/lib/xen-4.17/bin). */
static void xen_bindir(const struct xp_lint_opts *opts, char out[PATH_MAX])
{
	out[0] = 0;
	if (opts->xen_bindir) {
		snprintf(out, PATH_MAX, "%s", opts->xen_bindir);
		return;
	}
	size_t skip = opts->host_root && *opts->host_root ? strlen(opts->host_root) + 1 : 0;
	for (const char *p = XP_XEN_BINDIRS; *p && !out[0];) {
		size_t len = strcspn(p, ":");
		char item[PATH_MAX], pat[PATH_MAX];
		snprintf(item, sizeof(item), "%.*s", (int)len, p);
		p += len + (p[len] == ':');
		glob_t g;
		if (glob(host_path(opts, item, pat), GLOB_NOSORT, NULL, &g) != 0)
			continue;
		const char *best = NULL;
		struct stat st;
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (stat(g.gl_pathv[i], &st) == 0 && S_ISDIR(st.st_mode) &&
			    (!best || strverscmp(g.gl_pathv[i], best) > 0))
				best = g.gl_pathv[i];
		if (best)
			snprintf(out, PATH_MAX, "%s", best + skip);
		globfree(&g);
	}
}

/* Where xl runs bootloader bl from, as libxl_bootloader.c finds it: a name that does
 * not start with '/' is looked for in Xen's bin directory (bindir) first; else it goes
 * to execvp(3) as it is, which takes a name holding a '/' as a path and looks for
 * another in each directory of path. 0 with the path in found, or -ENOENT. */
static int find_bootloader(const struct xp_lint_opts *opts, const char *bl, const char *bindir,
			   char found[PATH_MAX])
{
	char full[PATH_MAX];
	struct stat st;
	if (bl[0] != '/' && bindir[0]) {
		snprintf(found, PATH_MAX, "%s/%s", bindir, bl);
		if (lstat(host_path(opts, found, full), &st) == 0)
			return 0;
	}
	if (strchr(bl, '/')) {
		snprintf(found, PATH_MAX, "%s", bl);
		return stat(host_path(opts, found, full), &st) == 0 ? 0 : -ENOENT;
	}
	for (const char *p = opts->path ? opts->path : XP_DEFAULT_PATH;;) {
		size_t len = strcspn(p, ":");
		/* an empty item is the current directory, as for execvp */
		snprintf(found, PATH_MAX, "%.*s/%s", (int)(len ? len : 1), len ? p : ".", bl);
		if (stat(host_path(opts, found, full), &st) == 0 && S_ISREG(st.st_mode))
			return 0;
		if (!p[len])
			return -ENOENT;
		p += len + 1;
	}
}

static int check_host_file(const struct xp_cfg *cfg, const struct xp_lint_opts *opts,
			   const char *key, struct xp_diags *d)
{
	const char *v;
	if (xp_cfg_get_string(cfg, key, &v) < 0 || !*v || host_path_exists(opts, v))
		return 0;
	const struct xp_cfg_value *val = xp_cfg_lookup(cfg, key);
	char code[32];
	snprintf(code, sizeof(code), "missing-%s", key);
	return xp__lint_diag(d, cfg, XP_SEV_ERROR, val->line, val->col, code, v, NULL,
			     "%s '%s' does not exist on this host", key, v);
}

int xp__lint_boot_files(const struct xp_cfg *cfg, const struct xp_lint_opts *opts, bool hvm,
			struct xp_diags *d)
{
	const char *bl = NULL;
	int r = 0;
	if (xp_cfg_get_string(cfg, "bootloader", &bl) < 0 || !*bl)
		bl = NULL;
	/* a PV or PVH guest's bootloader gets kernel and ramdisk as paths inside the
	 * guest's disk (--kernel=, --ramdisk=); xl runs no bootloader for HVM */
	if (!bl || hvm) {
		r = check_host_file(cfg, opts, "kernel", d);
		if (r == 0)
			r = check_host_file(cfg, opts, "ramdisk", d);
	}
	if (r < 0 || !bl || hvm)
		return r;
	const struct xp_cfg_value *val = xp_cfg_lookup(cfg, "bootloader");
	char bindir[PATH_MAX], found[PATH_MAX], full[PATH_MAX], hint[PATH_MAX + 128];
	xen_bindir(opts, bindir);
	if (find_bootloader(opts, bl, bindir, found) < 0) {
		if (bl[0] == '/')
			return xp__lint_diag(d, cfg, XP_SEV_ERROR, val->line, val->col,
					     "missing-bootloader", bl, NULL,
					     "bootloader '%s' does not exist on this host", bl);
		snprintf(hint, sizeof(hint),
			 "xl runs a bootloader given by name from Xen's bin directory (%s), else "
			 "from PATH: install it, or give its full path",
			 bindir[0] ? bindir : "none found here");
		return xp__lint_diag(d, cfg, XP_SEV_ERROR, val->line, val->col,
				     "missing-bootloader", bl, hint,
				     "bootloader '%s' is neither in Xen's bin directory nor on PATH",
				     bl);
	}
	if (access(host_path(opts, found, full), X_OK) < 0)
		return xp__lint_diag(d, cfg, XP_SEV_ERROR, val->line, val->col,
				     "bootloader-not-executable", bl, "chmod +x it",
				     "bootloader '%s' (%s) is not executable", bl, found);
	return 0;
}

struct seen {
	char *vdev;
	unsigned line;
};

static bool seen_eq(const void *ctx, uint32_t id, const void *key, size_t len)
{
	const struct seen *seen = ctx;
	return strlen(seen[id].vdev) == len && memcmp(seen[id].vdev, key, len) == 0;
}

static int check_disks(const struct xp_cfg *cfg, const struct xp_lint_opts *opts,
		       struct xp_diags *d)
{
	const struct xp_cfg_value *lst;
	size_t n;
	int r = list_items(cfg, "disk", &lst, &n, d);
	if (r < 0 || n == 0)
		return r;
	struct seen *seen = calloc(n, sizeof(*seen));
	struct xp__nidx ix = {0};
	if (!seen)
		return -ENOMEM;
	size_t nseen = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct xp_cfg_value *v = xp_cfg_value_item(lst, i);
		struct xp_disk disk;
		struct xp_diags local;
		xp_diags_init(&local);
		memset(&disk, 0, sizeof(disk));
		int pr = xp_disk_parse_one(xp_cfg_value_str(v), &disk, &local);
		for (size_t k = 0; k < local.n && r == 0; k++) {
			const struct xp_diag *g = &local.v[k];
			r = xp__lint_diag(d, cfg, g->severity, v->line,
					  g->col ? spec_col(v, g->col - 1) : v->col, g->code, g->text,
					  g->hint, "disk %zu: %s", i, g->msg);
		}
		xp_diags_release(&local);
		if (r == 0 && pr == -ENOMEM)
			r = -ENOMEM;
		if (pr < 0 || r < 0) {
			xp_disk_release(&disk);
			continue;
		}
		if (disk.vdev) {
			size_t len = strlen(disk.vdev);
			uint32_t k = xp__nidx_find(&ix, disk.vdev, len, seen_eq, seen);
			if (k != UINT32_MAX)
				r = xp__lint_diag(d, cfg, XP_SEV_WARNING, v->line, v->col,
						  "duplicate-vdev", disk.vdev,
						  "give each disk its own vdev",
						  "disk %zu uses vdev '%s' again (first on line %u)", i,
						  disk.vdev, seen[k].line);
			/* the first use is what later duplicates name */
			else if (!(seen[nseen].vdev = strdup(disk.vdev)) ||
				 xp__nidx_add(&ix, disk.vdev, len, (uint32_t)nseen) < 0)
				r = -ENOMEM;
			else
				seen[nseen++].line = v->line;
		}
		if (r == 0 && opts->host && disk.pdev_path && *disk.pdev_path && !disk.script &&
		    !host_path_exists(opts, disk.pdev_path))
			r = xp__lint_diag(d, cfg, XP_SEV_ERROR, v->line, v->col, "missing-target",
					  disk.pdev_path, NULL,
					  "disk %zu: '%s' does not exist on this host", i,
					  disk.pdev_path);
		xp_disk_release(&disk);
	}
	for (size_t k = 0; k <= nseen && k < n; k++)
		free(seen[k].vdev);
	free(seen);
	xp__nidx_release(&ix);
	return r;
}

static int remember_mac(struct xp_lint_set *set, const struct xp_mac *m, const char *file,
			unsigned line)
{
	if (xp_grow(&set->macs, &set->cap, set->n, sizeof(*set->macs), 16) < 0)
		return -ENOMEM;
	struct lint_mac *e = &set->macs[set->n];
	memcpy(e->b, m->b, 6);
	e->file = strdup(file ? file : "-");
	e->line = line;
	if (!e->file || xp__nidx_add(&set->ix, m->b, 6, (uint32_t)set->n) < 0) {
		free(e->file);
		return -ENOMEM;
	}
	set->n++;
	return 0;
}

static bool mac_eq(const void *ctx, uint32_t id, const void *key, size_t len)
{
	const struct xp_lint_set *set = ctx;
	return len == 6 && memcmp(set->macs[id].b, key, 6) == 0;
}

static int check_vifs(const struct xp_cfg *cfg, struct xp_lint_set *set, struct xp_diags *d)
{
	const struct xp_cfg_value *lst;
	size_t n;
	int r = list_items(cfg, "vif", &lst, &n, d);
	if (r < 0 || n == 0)
		return r;
	struct xp_lint_set local_set = {0};
	if (!set)
		set = &local_set;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct xp_cfg_value *v = xp_cfg_value_item(lst, i);
		struct xp_vif vif;
		int pr = xp_vif_parse_at(xp_cfg_value_str(v), &vif, d, xp_cfg_filename(cfg), v->line, v->col + 1);
		if (pr == -ENOMEM) {
			r = pr;
			break;
		}
		if (pr < 0)
			continue;
		struct xp_mac *m = &vif.mac;
		char buf[XP_MAC_STRLEN + 1];
		if (!xp_mac_is_zero(m)) {
			xp_mac_format(m, buf);
			/* invalid and multicast MACs are reported by xp_vif_parse_at */
			/* the first use is what later duplicates name */
			uint32_t k = xp__nidx_find(&set->ix, m->b, 6, mac_eq, set);
			if (k != UINT32_MAX)
				r = xp__lint_diag(d, cfg, XP_SEV_WARNING, v->line, v->col,
						  "duplicate-mac", buf, "give each interface its own MAC",
						  "vif %zu: MAC %s is also used at %s:%u", i, buf,
						  set->macs[k].file, set->macs[k].line);
			else
				r = remember_mac(set, m, xp_cfg_filename(cfg), v->line);
		}
		xp_vif_release(&vif);
	}
	for (size_t k = 0; k < local_set.n; k++)
		free(local_set.macs[k].file);
	free(local_set.macs);
	xp__nidx_release(&local_set.ix);
	return r;
}

int xp__lint_devices(const struct xp_cfg *cfg, const struct xp_lint_opts *opts,
		     struct xp_lint_set *set, struct xp_diags *diags)
{
	int r = check_disks(cfg, opts, diags);
	if (r == 0)
		r = check_vifs(cfg, set, diags);
	return r;
}
