/*
 * config-dir.c - where a guest's xl config goes: the caller's directory (--config-dir),
 * else the profile's config-dir, else the inventory's setting config-dir (`xenprov
 * settings set config-dir DIR`), else Xen's own /etc/xen. The one place that decides
 * it, for `domain create` and `deploy` alike, and says which of them named a directory
 * that is not there.
 *
 * Not here: writing the config (xlcfg.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xenprov/domain.h"

int xp_domain_config_dir(struct xp_inv *inv, const char *given, const struct xp_settings *s,
			 char **out, struct xp_diags *d)
{
	*out = NULL;
	struct xp_settings st = {0};
	const char *dir = given, *from = "--config-dir";
	int r = 0;
	if (!dir && s && (dir = xp_settings_get(s, "config-dir")))
		from = "the profile's config-dir";
	if (!dir) {
		if ((r = xp_server_settings_get(inv, &st)) < 0)
			return xp_diags_refuse(d, r, "inventory", NULL, NULL,
					       "cannot read the settings: %s", xp_inv_errmsg(inv));
		if ((dir = xp_settings_get(&st, "config-dir")))
			from = "the setting config-dir";
	}
	if (!dir) {
		dir = XP_DOMAIN_CONFIG_DIR;
		from = NULL;
	}
	const char *hint = from ? NULL
				: "is Xen installed? or give --config-dir, or set one: xenprov "
				  "settings set config-dir DIR";
	char where[64] = "";
	if (from)
		snprintf(where, sizeof(where), " (%s)", from);
	struct stat sb;
	int e = stat(dir, &sb) < 0 ? errno : S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
	if (e == ENOENT || e == ENOTDIR)
		r = xp_diags_refuse(d, -e, "config-dir", dir, hint, "the config directory %s%s %s",
				    dir, where,
				    e == ENOENT ? "does not exist" : "is not a directory");
	else if (e)
		r = xp_diags_refuse(d, -e, "config-dir", dir, NULL,
				    "cannot reach the config directory %s: %s", dir, strerror(e));
	else if (!(*out = realpath(dir, NULL)))
		r = xp_diags_refuse(d, -errno, "config-dir", dir, NULL,
				    "cannot reach the config directory %s: %s", dir,
				    strerror(errno));
	xp_settings_release(&st);
	return r;
}
