/*
 * lint-devices.c - checks of the disk and vif lists of a config: every spec parsed as
 * xl would parse it (errors are what `xl create` refuses; the vif parser also reports
 * invalid and multicast MACs), duplicate vdevs, MACs shared between interfaces (also
 * across the files checked together), and on request
 * storage that does not exist on this host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static int host_path_exists(const struct xp_lint_opts *opts, const char *p)
{
	char full[4096];
	if (opts->host_root && *opts->host_root)
		snprintf(full, sizeof(full), "%s/%s", opts->host_root, p);
	else
		snprintf(full, sizeof(full), "%s", p);
	struct stat st;
	return stat(full, &st) == 0;
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
