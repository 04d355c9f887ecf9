/*
 * customize.c - the per-guest customisation step of a create: the guest's spec
 * (domain.h) turned into settings for xp_guest_apply (guest.h), which writes hostname,
 * hosts, network, fstab, machine-id, password and SSH keys into the guest's own disk
 * without mounting it, and runs the site's hooks from <state>/hooks.d when present.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/domain.h"
#include "xenprov/guest.h"

/* True if gw is inside ip/prefix: a gateway elsewhere cannot be reached on the link. */
static bool same_subnet(const char *ip, unsigned prefix, const char *gw)
{
	struct in_addr a, g;
	if (!ip || !gw || inet_pton(AF_INET, ip, &a) != 1 || inet_pton(AF_INET, gw, &g) != 1 ||
	    prefix == 0 || prefix > 32)
		return false;
	uint32_t mask = prefix == 32 ? ~0u : ~(~0u >> prefix);
	return (ntohl(a.s_addr) & mask) == (ntohl(g.s_addr) & mask);
}

int xp_guest_customize(const struct xp_guest_spec *spec, struct xp_diags *d)
{
	const char *gateway = spec->ip ? spec->gateway : NULL;
	if (gateway && !same_subnet(spec->ip, spec->prefix_len, gateway)) {
		xp_diags_add(d, XP_SEV_WARNING, spec->name, 0, 0, "gateway", gateway,
			     "set a gateway inside the guest's network",
			     "the gateway %s is outside %s/%u; the guest gets no default route",
			     gateway, spec->ip, spec->prefix_len);
		gateway = NULL;
	}
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
		.gateway = gateway,
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
