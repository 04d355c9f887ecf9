/*
 * customize.c - the per-guest customisation step of a create: the guest's spec
 * (domain.h) turned into settings for xp_guest_apply (guest.h), which writes hostname,
 * hosts, network, fstab, machine-id, password and SSH keys into the guest's own disk
 * without mounting it, and runs the site's hooks from <state>/hooks.d when present.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/domain.h"
#include "xenprov/guest.h"

int xp_guest_customize(const struct xp_guest_spec *spec, struct xp_diags *d)
{
	/* dns: "A,B,C" -> an array */
	char *copy = spec->dns ? strdup(spec->dns) : NULL;
	const char *dns[8];
	size_t ndns = 0;
	if (spec->dns && !copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && ndns < 8;
	     t = strtok_r(NULL, ",", &save))
		dns[ndns++] = t;
	struct xp_guest_settings s = {
		.hostname = spec->hostname,
		.domain = spec->domain,
		.mac = spec->mac,
		.ip = spec->ip,
		.prefix = spec->prefix_len,
		.gateway = spec->ip ? spec->gateway : NULL,
		.dns = ndns ? dns : NULL,
		.ndns = ndns,
		.dhcp = spec->ip == NULL,
		.root_password_hash = spec->root_password_hash,
		.ssh_key = spec->ssh_key,
		.hooks_dir = spec->hooks_dir,
		.name = spec->name,
	};
	int r = xp_guest_apply(spec->disk_path, &s, NULL, d);
	free(copy);
	return r;
}
