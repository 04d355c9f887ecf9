/*
 * pxeboot-nic.c - the guest's boot NIC for the bootloader: its MAC and bridge, from a
 * vif spec given as a bootloader argument, or from the first vif of the guest's xl
 * config, which is named or found in the config directory by the disk libxl passed.
 *
 * Not here: reading vif specs, disk specs and configs (src/lib/xl/); the DHCP itself.
 *
 * pypxeboot found the MAC with a regular expression that missed lower case, spaces
 * and other keys' values; here the spec goes through the vif parser xl's own reading
 * is checked against (xl-vif.h), after the spaces around ',' and '=' that a person
 * writes in a bootloader_args string are taken out.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xenprov/pxeboot.h"
#include "xenprov/xl-config.h"
#include "xenprov/xl-disk.h"
#include "xenprov/xl-vif.h"

void xp_pxeboot_nic_release(struct xp_pxeboot_nic *n)
{
	free(n->bridge);
	memset(n, 0, sizeof(*n));
}

/* spec without blanks next to ',' and '=' (xl strips only a token's leading spaces). */
static char *squeeze(const char *spec)
{
	size_t n = strlen(spec);
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = spec[i];
		if (c == ' ' || c == '\t') {
			size_t j = i;
			while (j < n && (spec[j] == ' ' || spec[j] == '\t'))
				j++;
			bool before = j == n || spec[j] == ',' || spec[j] == '=';
			bool after = o == out || o[-1] == ',' || o[-1] == '=';
			if (before || after) {
				i = j - 1;
				continue;
			}
		}
		*o++ = c;
	}
	*o = '\0';
	return out;
}

static int from_vif(const char *spec, const char *where, struct xp_pxeboot_nic *n,
		    struct xp_diags *d)
{
	memset(n, 0, sizeof(*n));
	char *s = squeeze(spec);
	if (!s)
		return -ENOMEM;
	struct xp_vif v;
	struct xp_diags vd = {0};
	int r = xp_vif_parse(s, &v, &vd);
	if (r < 0) {
		const char *why = "";
		for (size_t i = 0; i < vd.n; i++)
			if (vd.v[i].severity == XP_SEV_ERROR) {
				why = vd.v[i].msg;
				break;
			}
		r = xp_diags_fail(d, r == -E2BIG ? -E2BIG : -EBADMSG, NULL, "vif", NULL,
				  "%s: the vif spec '%s' is not valid: %s", where, spec, why);
	} else if (xp_mac_is_zero(&v.mac)) {
		r = xp_diags_fail(d, -EINVAL, NULL, "mac",
				  "add mac=xx:xx:xx:xx:xx:xx to the vif, or --mac=... to "
				  "bootloader_args",
				  "%s: the vif '%s' has no mac=: the guest's MAC is not known before "
				  "libxl makes one up",
				  where, spec);
		xp_vif_release(&v);
	} else {
		n->mac = v.mac;
		if (v.bridge && *v.bridge && !(n->bridge = strdup(v.bridge)))
			r = -ENOMEM;
		xp_vif_release(&v);
	}
	xp_diags_release(&vd);
	free(s);
	return r;
}

int xp_pxeboot_nic_from_spec(const char *spec, struct xp_pxeboot_nic *n, struct xp_diags *d)
{
	return from_vif(spec, "bootloader argument", n, d);
}

static int load(const char *path, struct xp_cfg **cfg, struct xp_diags *d)
{
	struct xp_diags cd = {0};
	int r = xp_cfg_load(path, &cd, cfg);
	xp_diags_release(&cd);
	if (r == -EBADMSG) {
		xp_cfg_free(*cfg);
		*cfg = NULL;
		return xp_diags_fail(d, r, path, "config", "'xenprov config check' shows why",
				     "not a valid xl config");
	}
	if (r < 0)
		return xp_diags_fail(d, r, path, "config", NULL, "cannot read it: %s", strerror(-r));
	return 0;
}

int xp_pxeboot_nic_from_config(const char *path, struct xp_pxeboot_nic *n, struct xp_diags *d)
{
	memset(n, 0, sizeof(*n));
	struct xp_cfg *cfg = NULL;
	int r = load(path, &cfg, d);
	if (r < 0)
		return r;
	const struct xp_cfg_value *l = NULL;
	const struct xp_cfg_value *first = NULL;
	if (xp_cfg_get_list(cfg, "vif", &l) == 0 && xp_cfg_value_len(l) > 0)
		first = xp_cfg_value_item(l, 0);
	if (!first)
		r = xp_diags_fail(d, -ENOENT, path, "vif",
				  "add vif = ['mac=xx:xx:xx:xx:xx:xx'] or --mac=... to bootloader_args",
				  "the guest has no vif to boot from");
	else if (xp_cfg_value_type(first) != XP_CFG_STRING)
		r = xp_diags_fail(d, -EINVAL, path, "vif", NULL, "vif[0] is not a string");
	else {
		char where[300];
		snprintf(where, sizeof(where), "%s: vif[0]", path);
		r = from_vif(xp_cfg_value_str(first), where, n, d);
	}
	xp_cfg_free(cfg);
	return r;
}

/* Whether cfg's disk= list has a target that is the file st describes. */
static bool names_disk(const struct xp_cfg *cfg, const struct stat *st)
{
	const struct xp_cfg_value *l;
	if (xp_cfg_get_list(cfg, "disk", &l) < 0)
		return false;
	for (size_t i = 0; i < xp_cfg_value_len(l); i++) {
		const struct xp_cfg_value *it = xp_cfg_value_item(l, i);
		if (xp_cfg_value_type(it) != XP_CFG_STRING)
			continue;
		struct xp_disk disk;
		if (xp_disk_parse_one(xp_cfg_value_str(it), &disk, NULL) < 0)
			continue;
		struct stat ts;
		bool same = disk.pdev_path && stat(disk.pdev_path, &ts) == 0 &&
			    ts.st_dev == st->st_dev && ts.st_ino == st->st_ino;
		xp_disk_release(&disk);
		if (same)
			return true;
	}
	return false;
}

int xp_pxeboot_find_config(const char *dir, const char *disk, char **path, struct xp_diags *d)
{
	*path = NULL;
	struct stat st;
	if (stat(disk, &st) < 0)
		return xp_diags_fail(d, -errno, disk, "disk", NULL, "cannot find the guest's disk: %s",
				     strerror(errno));
	/* sorted, so that "more than one" names the same two every time */
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	bool none = n < 0 && errno == ENOENT; /* a dom0 without /etc/xen: no config at all */
	if (n < 0 && !none)
		return xp_diags_fail(d, -errno, dir, "config-dir", NULL, "cannot read it: %s",
				     strerror(errno));
	if (none)
		n = 0;
	int r = -ENOENT;
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		const char *dot = strrchr(nm, '.');
		if (nm[0] == '.' || (dot && strcmp(dot, ".cfg")))
			continue;
		char *p = NULL;
		struct stat fs;
		if (asprintf(&p, "%s/%s", dir, nm) < 0) {
			r = -ENOMEM;
			break;
		}
		struct xp_cfg *cfg = NULL;
		if (stat(p, &fs) == 0 && S_ISREG(fs.st_mode) && fs.st_size < (1 << 20) &&
		    xp_cfg_load(p, NULL, &cfg) == 0 && names_disk(cfg, &st)) {
			if (*path) {
				r = xp_diags_fail(d, -EEXIST, NULL, "config",
						  "name the guest's config with --config=FILE in "
						  "bootloader_args",
						  "both '%s' and '%s' use the disk '%s'", *path, p, disk);
				free(p);
				free(*path);
				*path = NULL;
				xp_cfg_free(cfg);
				break;
			}
			*path = p;
			p = NULL;
			r = 0;
		}
		xp_cfg_free(cfg);
		free(p);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r == -ENOENT)
		return xp_diags_fail(d, r, NULL, "config",
				     "add --mac=... or --config=FILE to the guest's bootloader_args",
				     "no config in '%s' uses the disk '%s'%s", dir, disk,
				     none ? " (there is no such directory)" : "");
	return r;
}
