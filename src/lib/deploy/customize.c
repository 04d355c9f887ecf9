/*
 * customize.c - the per-guest customisation step of a create: the guest's spec
 * (domain.h) turned into settings for xp_guest_apply (guest.h), which writes hostname,
 * hosts, network, fstab, machine-id, password and SSH keys, then the profile's time
 * zone, copy-ins, writes and first-boot commands (its list keys read back here) into
 * the guest's own disk without mounting it, with the further NICs and the fstab lines
 * of the further disks from their records; then the site's hooks from <state>/hooks.d run when present
 * (hooks.c), told what xp_guest_apply found (root and swap UUIDs, network format).
 * A guest that exists has some of its files rewritten the same way (xp_guest_refresh,
 * for `domain update`: xp_guest_update, no hooks).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/hooks.h"
#include "xenprov/domain.h"
#include "xenprov/guest.h"

/* The customisations' lists as xp_guest_apply takes them, read from the profile's
 * stored values (inventory.h: list keys). */
struct lists {
	char **copy, **write, **cmds;
	size_t ncopy, nwrite, ncmds;
	struct xp_guest_copy *c;
	struct xp_guest_write *w;
};

static void lists_release(struct lists *l)
{
	xp_profile_list_free(l->copy, l->ncopy);
	xp_profile_list_free(l->write, l->nwrite);
	xp_profile_list_free(l->cmds, l->ncmds);
	free(l->c);
	free(l->w);
}

static int lists_read(const struct xp_guest_spec *spec, struct lists *l, struct xp_diags *d)
{
	static const char *const keys[] = {"copy-in", "write", "firstboot-command"};
	const char *values[] = {spec->copy_in, spec->write, spec->firstboot};
	char ***items[] = {&l->copy, &l->write, &l->cmds};
	size_t *const ns[] = {&l->ncopy, &l->nwrite, &l->ncmds};
	for (size_t k = 0; k < 3; k++) {
		if (!values[k])
			continue;
		int r = xp_profile_list_items(keys[k], values[k], items[k], ns[k]);
		if (r == -EINVAL)
			return xp_diags_fail(d, r, spec->name, keys[k], NULL,
					     "%s: not a stored list (see xenprov-profile(1))",
					     keys[k]);
		if (r < 0)
			return r;
	}
	l->c = calloc(l->ncopy ? l->ncopy : 1, sizeof(*l->c));
	l->w = calloc(l->nwrite ? l->nwrite : 1, sizeof(*l->w));
	if (!l->c || !l->w)
		return -ENOMEM;
	const char *why;
	for (size_t i = 0; i < l->ncopy; i++)
		if (xp_guest_copy_parse(l->copy[i], &l->c[i], &why) < 0)
			return xp_diags_fail(d, -EINVAL, spec->name, "copy-in", NULL,
					     "copy-in: item %zu: %s", i + 1, why);
	for (size_t i = 0; i < l->nwrite; i++)
		if (xp_guest_write_parse(l->write[i], &l->w[i], &why) < 0)
			return xp_diags_fail(d, -EINVAL, spec->name, "write", NULL,
					     "write: item %zu: %s", i + 1, why);
	return 0;
}

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

/* What xp_guest_apply takes, made from a guest's spec: the settings and what they
 * point to (the name servers, the customisations' lists), released with conv_release. */
struct conv {
	struct xp_guest_settings s;
	char *dns_text;
	const char *dns[8];
	struct lists l;
	struct xp_guest_nic *nics;	/* the further NICs, from their records */
	struct xp_guest_mount *mounts;	/* the further disks' fstab lines */
	size_t nmounts;
};

static void conv_release(struct conv *cv)
{
	lists_release(&cv->l);
	free(cv->dns_text);
	free(cv->nics);
	free(cv->mounts);
}

/* The further NICs and the fstab lines of the further disks (a data disk with a mount
 * point, a swap volume), from their records. */
static int devices(const struct xp_guest_spec *spec, struct conv *cv)
{
	cv->nics = calloc(spec->nnics ? spec->nnics : 1, sizeof(*cv->nics));
	cv->mounts = calloc(spec->nvolumes ? spec->nvolumes : 1, sizeof(*cv->mounts));
	if (!cv->nics || !cv->mounts)
		return -ENOMEM;
	for (size_t i = 0; i < spec->nnics; i++) {
		const struct xp_domain_nic *n = &spec->nics[i];
		cv->nics[i] = (struct xp_guest_nic){.mac = n->mac,
						    .dhcp = n->ip == NULL,
						    .ip = n->ip,
						    .prefix = n->prefix_len,
						    .gateway = n->gateway};
	}
	for (size_t i = 0; i < spec->nvolumes; i++) {
		const struct xp_domain_volume *k = &spec->volumes[i];
		bool swap = strcmp(k->role, "swap") == 0;
		if (k->uuid && (swap || k->mount))
			cv->mounts[cv->nmounts++] = (struct xp_guest_mount){
			    .uuid = k->uuid, .type = swap ? "swap" : k->fs, .dir = swap ? NULL : k->mount};
	}
	return 0;
}

static int conv_make(const struct xp_guest_spec *spec, struct conv *cv, struct xp_diags *d)
{
	memset(cv, 0, sizeof(*cv));
	const char *gateway = spec->ip ? spec->gateway : NULL;
	if (gateway && !same_subnet(spec->ip, spec->prefix_len, gateway)) {
		/* the network, not the guest's address: one message for every guest of a
		 * pool, which deploy counts once */
		char net[INET_ADDRSTRLEN] = "?";
		struct in_addr a;
		if (inet_pton(AF_INET, spec->ip, &a) == 1 && spec->prefix_len <= 32) {
			uint32_t mask =
			    spec->prefix_len == 0 ? 0 : ~(~0u >> (spec->prefix_len - 1) >> 1);
			a.s_addr = htonl(ntohl(a.s_addr) & mask);
			inet_ntop(AF_INET, &a, net, sizeof(net));
		}
		xp_diags_add(d, XP_SEV_WARNING, spec->name, 0, 0, "gateway", gateway,
			     "set a gateway inside the guest's network",
			     "the gateway %s is outside %s/%u; the guest gets no default route",
			     gateway, net, spec->prefix_len);
		gateway = NULL;
	}
	/* dns: "A,B,C" -> an array */
	size_t ndns = 0;
	if (spec->dns && !(cv->dns_text = strdup(spec->dns)))
		return -ENOMEM;
	char *save = NULL;
	for (char *t = cv->dns_text ? strtok_r(cv->dns_text, ",", &save) : NULL; t && ndns < 8;
	     t = strtok_r(NULL, ",", &save))
		cv->dns[ndns++] = t;
	int r = lists_read(spec, &cv->l, d);
	if (r == 0)
		r = devices(spec, cv);
	if (r < 0)
		return r;
	cv->s = (struct xp_guest_settings){
		.hostname = spec->hostname,
		.domain = spec->domain,
		.mac = spec->mac,
		.ip = spec->ip,
		.prefix = spec->prefix_len,
		.gateway = gateway,
		.dns = ndns ? cv->dns : NULL,
		.ndns = ndns,
		.dhcp = spec->ip == NULL,
		.nics = cv->nics,
		.nnics = spec->nnics,
		.mounts = cv->mounts,
		.nmounts = cv->nmounts,
		.root_password_hash = spec->root_password_hash,
		.ssh_key = spec->ssh_key,
		.grub = spec->grub,
		.kernel_args = spec->grub ? spec->kernel_args : NULL,
		.timezone = spec->timezone,
		.copy_in = cv->l.c,
		.ncopy_in = cv->l.ncopy,
		.write = cv->l.w,
		.nwrite = cv->l.nwrite,
		.firstboot = (const char *const *)cv->l.cmds,
		.nfirstboot = cv->l.ncmds,
		.no_sync = spec->no_sync,
	};
	return 0;
}

int xp_guest_customize(const struct xp_guest_spec *spec, struct xp_guest_report *out,
		       struct xp_diags *d)
{
	if (out)
		memset(out, 0, sizeof(*out));
	struct conv cv;
	int r = conv_make(spec, &cv, d);
	if (r < 0) {
		conv_release(&cv);
		return r;
	}
	const struct xp_guest_hooks hooks = {
		.dir = spec->hooks_dir,
		.image = spec->disk_path,
		.name = spec->name,
	};
	struct xp_guest_report rep = {0};
	/* the hooks are checked before the disk is touched, run after it is closed */
	r = xp_guest_hooks_check(&hooks, d);
	if (r == 0)
		r = xp_guest_apply(spec->disk_path, &cv.s, &rep, d);
	if (r == 0)
		r = xp_guest_hooks_run(&hooks, &cv.s, &rep, NULL, d);
	if (out)
		*out = rep; /* the caller releases it */
	else
		xp_guest_report_release(&rep);
	conv_release(&cv);
	return r;
}

int xp_guest_refresh(const struct xp_guest_spec *spec, unsigned parts, struct xp_diags *d)
{
	struct conv cv;
	int r = conv_make(spec, &cv, d);
	if (r == 0)
		r = xp_guest_update(spec->disk_path, &cv.s, parts, NULL, d);
	conv_release(&cv);
	return r;
}
