/*
 * check-inventory.c - the inventory's consistency, read from one snapshot (no query
 * per record): profiles whose distro, image, kernel or ramdisk is missing; distros
 * whose files left the store; systems that cannot netboot; systems that install
 * themselves without a reservation, and kernel options claiming the server's xenprov.*
 * arguments; reservations against the pools; MACs and addresses held twice; guests left
 * half made; root passwords anyone knows; golden images published to anyone; the
 * programs profiles need. Cobbler's check_for_unreferenced_repos and
 * check_for_unsynced_repos (objects naming what is not there, or not ready) and
 * check_for_default_password, for xenprov's objects.
 *
 * Findings about many systems are grouped by cause (one finding, its count and the
 * first names), so 10,000 systems of a broken profile are one line, not 10,000.
 *
 * Not here: the server's settings and files (check-host.c, check-loaders.c).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check/check-internal.h"
#include "xenprov/imgstore.h"
#include "xenprov/image.h"

/* ---- groups of records by cause ------------------------------------------------------ */

struct group {
	char key[160]; /* the cause: a profile's or distro's name, a pool's */
	int kind;      /* which cause */
	const char **names;
	size_t n, cap;
};

struct groups {
	struct group *v;
	size_t n, cap;
};

static int group_add(struct groups *g, int kind, const char *key, const char *name)
{
	struct group *x = NULL;
	for (size_t i = 0; i < g->n && !x; i++)
		if (g->v[i].kind == kind && strcmp(g->v[i].key, key) == 0)
			x = &g->v[i];
	if (!x) {
		if (xp_grow(&g->v, &g->cap, g->n, sizeof(*g->v), 8) < 0)
			return -ENOMEM;
		x = &g->v[g->n++];
		memset(x, 0, sizeof(*x));
		x->kind = kind;
		snprintf(x->key, sizeof(x->key), "%s", key);
	}
	if (xp_grow(&x->names, &x->cap, x->n, sizeof(*x->names), 16) < 0)
		return -ENOMEM;
	x->names[x->n++] = name;
	return 0;
}

static void groups_release(struct groups *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].names);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

/* ---- profiles ------------------------------------------------------------------------ */

static bool missing(const char *path)
{
	struct stat st;
	return path[0] == '/' && stat(path, &st) < 0 && errno == ENOENT;
}

/* Whether image (a profile's, not a path) names a version of a captured image the
 * store has (NAME, NAME@V). */
static bool captured(struct xp__check_ctx *c, const char *image)
{
	struct xp_imgver v;
	if (xp_imgver_lookup(xp_inv_state_dir(c->inv), image, &v, NULL) != 1)
		return false;
	xp_imgver_release(&v);
	return true;
}

int xp__check_profiles(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->nprofiles; i++) {
		const struct xp_snap_profile *p = &s->profiles[i];
		char subject[120], fix[400];
		snprintf(subject, sizeof(subject), "profile '%s'", p->name);
		const char *distro = xp_settings_get(&p->own, "distro");
		if (distro && !xp_snap_distro_find(s, distro)) {
			snprintf(
			    fix, sizeof(fix),
			    "xenprov distro add %s --kernel KERNEL --initrd INITRD (or: xenprov "
			    "profile edit %s --distro NAME)",
			    distro, p->name);
			r = xp__check_add(c, XP_SEV_WARNING, "profile", subject,
					  "its systems that netboot get no boot entry (the netboot "
					  "check names them)",
					  fix,
					  "profile '%s' boots distro '%s', which is not in the "
					  "inventory",
					  p->name, distro);
		}
		const char *image = xp_settings_get(&p->own, "image");
		if (r == 0 && image && !xp_dist_valid(image) &&
		    (image[0] == '/' ? missing(image) : !captured(c, image))) {
			snprintf(fix, sizeof(fix), "xenprov profile edit %s --image PATH", p->name);
			r = xp__check_add(
			    c, XP_SEV_ERROR, "profile", subject,
			    "deploy and domain create make every guest's disk from it: "
			    "they fail",
			    fix, "the image '%s' of profile '%s' does not exist", image, p->name);
		}
		static const char *const files[] = {"kernel", "ramdisk"};
		for (size_t k = 0; r == 0 && k < 2; k++) {
			const char *f = xp_settings_get(&p->own, files[k]);
			if (!f || !missing(f))
				continue;
			/* a PV GRUB image is loaded on the Xen host, which may have it where
			 * this one does not: a warning, as xp_boot_check says */
			const char *boot = xp_snap_profile_value(s, p->name, "boot", NULL);
			bool pvgrub = boot && strcmp(boot, "pvgrub") == 0;
			snprintf(fix, sizeof(fix), "xenprov profile edit %s --%s PATH", p->name,
				 files[k]);
			r = xp__check_add(
			    c, pvgrub ? XP_SEV_WARNING : XP_SEV_ERROR, "profile", subject,
			    pvgrub ? "xl loads PV GRUB from this path on the Xen host"
				   : "its guests boot this file (xl's kernel= and ramdisk=): "
				     "deploy refuses the profile, and guests made before do "
				     "not start",
			    fix, "the %s '%s' of profile '%s' does not exist", files[k], f,
			    p->name);
		}
	}
	return r;
}

/* ---- distros ------------------------------------------------------------------------- */

/* The store file of a digest is gone. */
static bool store_missing(const struct xp__check_ctx *c, const char *hex)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/distro-files/%s", xp_inv_state_dir(c->inv), hex);
	struct stat st;
	return stat(path, &st) < 0;
}

/* Whether distro d can be served: in the store, its files there. */
static bool served(const struct xp__check_ctx *c, const struct xp_distro *d)
{
	return d->kernel_sha256 && !store_missing(c, d->kernel_sha256) &&
	       !(d->initrd_sha256 && store_missing(c, d->initrd_sha256));
}

int xp__check_distros(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->ndistros; i++) {
		const struct xp_distro *d = &s->distros[i];
		char subject[120], fix[300];
		snprintf(subject, sizeof(subject), "distro '%s'", d->name);
		snprintf(fix, sizeof(fix), "xenprov distro edit %s --kernel KERNEL%s", d->name,
			 d->initrd ? " --initrd INITRD" : "");
		if (!d->kernel_sha256) {
			r = xp__check_add(
			    c, XP_SEV_WARNING, "distro", subject,
			    "xenprov serves a distro's files from its store only: this "
			    "one is in no menu and boots nothing",
			    fix,
			    "distro '%s' (of an older inventory) has no files in the "
			    "distro store",
			    d->name);
			continue;
		}
		static const char *const what[] = {"kernel", "initrd"};
		const char *hex[] = {d->kernel_sha256, d->initrd_sha256};
		for (size_t k = 0; r == 0 && k < 2; k++)
			if (hex[k] && store_missing(c, hex[k]))
				r = xp__check_add(
				    c, XP_SEV_ERROR, "distro", subject,
				    "clients booting it get 'file not found' where its "
				    "kernel or initrd should load",
				    fix,
				    "the %s of distro '%s' (sha256 %.12s...) is gone from "
				    "the distro store %s/distro-files",
				    what[k], d->name, hex[k], xp_inv_state_dir(c->inv));
	}
	return r;
}

/* ---- systems that cannot netboot ------------------------------------------------------- */

enum { NB_NO_DISTRO, NB_UNKNOWN, NB_UNSERVED };

int xp__check_netboot(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	/* whether each distro is served, decided once (a stat or two each) */
	bool *ok = s->ndistros ? calloc(s->ndistros, sizeof(*ok)) : NULL;
	if (s->ndistros && !ok)
		return -ENOMEM;
	for (size_t i = 0; i < s->ndistros; i++)
		ok[i] = served(c, &s->distros[i]);
	struct groups g = {0};
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->nsystems; i++) {
		const struct xp_system *sys = &s->systems[i];
		if (!sys->netboot)
			continue;
		const char *distro = sys->distro;
		if (!distro && sys->profile)
			distro = xp_snap_profile_value(s, sys->profile, "distro", NULL);
		if (!distro) {
			r = group_add(&g, NB_NO_DISTRO, sys->profile ? sys->profile : "",
				      sys->name);
			continue;
		}
		const struct xp_distro *d = xp_snap_distro_find(s, distro);
		if (!d)
			r = group_add(&g, NB_UNKNOWN, distro, sys->name);
		else if (!ok[d - s->distros])
			r = group_add(&g, NB_UNSERVED, distro, sys->name);
	}
	for (size_t i = 0; r == 0 && i < g.n; i++) {
		const struct group *x = &g.v[i];
		char fix[400];
		const char *why = "they ask to boot over the network and get the menu of every "
				  "distro instead of their own entry, or nothing";
		if (x->kind == NB_NO_DISTRO) {
			snprintf(fix, sizeof(fix),
				 "xenprov profile edit %s --distro NAME (or: xenprov system edit "
				 "SYSTEM --netboot off)",
				 x->key);
			r = xp__check_group(c, XP_SEV_ERROR, "netboot", "system", x->names, x->n,
					    why, fix,
					    "netboot on, but their profile '%s' (and its "
					    "parents) names no distro",
					    x->key);
		} else if (x->kind == NB_UNKNOWN) {
			snprintf(fix, sizeof(fix),
				 "xenprov distro add %s --kernel KERNEL --initrd "
				 "INITRD",
				 x->key);
			r = xp__check_group(c, XP_SEV_ERROR, "netboot", "system", x->names, x->n,
					    why, fix,
					    "netboot on, but their distro '%s' is not in the "
					    "inventory",
					    x->key);
		} else {
			snprintf(fix, sizeof(fix),
				 "xenprov distro edit %s --kernel KERNEL --initrd "
				 "INITRD",
				 x->key);
			r = xp__check_group(c, XP_SEV_ERROR, "netboot", "system", x->names, x->n,
					    why, fix,
					    "netboot on, but the files of their distro '%s' are "
					    "not in the distro store",
					    x->key);
		}
	}
	groups_release(&g);
	free(ok);
	return r;
}

/* ---- systems that install themselves; the server's own kernel arguments --------------- */

enum { INS_NO_RESERVATION, INS_KOPTS };

int xp__check_install(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	struct groups g = {0};
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->ninstall_marked; i++) {
		const struct xp_system *sys = xp_snap_system_find(s, s->install_marked[i]);
		if (sys && !sys->ip)
			r = group_add(&g, INS_NO_RESERVATION, "", sys->name);
	}
	size_t n;
	for (size_t i = 0; r == 0 && i < s->nsystems; i++)
		if (xp_kernel_options_reserved(s->systems[i].kernel_options, &n))
			r = group_add(&g, INS_KOPTS, "", s->systems[i].name);
	for (size_t i = 0; r == 0 && i < g.n; i++) {
		const struct group *x = &g.v[i];
		static const char no_reservation_why[] =
		    "without a reservation, the installer's entry and its token go to any address "
		    "leased to the system's MAC: a host on the boot network that asks DHCP with "
		    "that MAC gets the token and can report the install as done";
		static const char kopts_why[] =
		    "xenprov.* arguments are the boot server's own (xenprov.server=, "
		    "xenprov.system=, xenprov.mac=, xenprov.token=): the server puts its own "
		    "last, and refuses such options on add and edit";
		if (x->kind == INS_NO_RESERVATION)
			r = xp__check_group(c, XP_SEV_WARNING, "install", "system", x->names, x->n,
					    no_reservation_why,
					    "xenprov system edit SYSTEM --ip ADDRESS",
					    "marked to install themselves (--install on) without a "
					    "reserved address");
		else
			r = xp__check_group(c, XP_SEV_WARNING, "install", "system", x->names, x->n,
					    kopts_why,
					    "xenprov system edit SYSTEM --kernel-options 'OPTIONS "
					    "without xenprov.*'",
					    "kernel options with xenprov.* arguments");
	}
	groups_release(&g);
	for (size_t i = 0; r == 0 && i < s->ndistros; i++) {
		const struct xp_distro *d = &s->distros[i];
		const char *w = xp_kernel_options_reserved(d->kernel_options, &n);
		if (!w)
			continue;
		char subject[200], fix[300];
		snprintf(subject, sizeof(subject), "distro '%s'", d->name);
		snprintf(fix, sizeof(fix),
			 "xenprov distro edit %s --kernel-options 'OPTIONS without xenprov.*'",
			 d->name);
		r = xp__check_add(c, XP_SEV_WARNING, "install", subject,
				  "xenprov.* arguments are the boot server's own; adds and edits "
				  "refuse them",
				  fix, "kernel options with xenprov.* arguments ('%.*s')", (int)n,
				  w);
	}
	return r;
}

/* ---- addresses --------------------------------------------------------------------------- */

/* One holder of an address or a MAC. */
struct holder {
	uint32_t ip;
	const char *mac;
	const char *kind; /* "system", "domain" */
	const char *name;
};

static int by_ip(const void *a, const void *b)
{
	const struct holder *x = a, *y = b;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	int k = strcmp(x->kind, y->kind);
	return k ? k : strcmp(x->name, y->name);
}

static int by_mac(const void *a, const void *b)
{
	const struct holder *x = a, *y = b;
	int k = strcmp(x->mac ? x->mac : "", y->mac ? y->mac : "");
	if (k)
		return k;
	k = strcmp(x->kind, y->kind);
	return k ? k : strcmp(x->name, y->name);
}

static void ip_text(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* The pools as numbers. */
struct pool {
	const char *name;
	uint32_t start, end, net, mask, router;
};

enum { A_OUTSIDE, A_IN_RANGE, A_DOMAIN_IN_RANGE };

/* The holders of h[0..n) (sorted by address) at x's address, [*lo, *hi). */
static void same_ip(const struct holder *h, size_t n, uint32_t ip, size_t *lo, size_t *hi)
{
	size_t a = 0, b = n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (h[m].ip < ip)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	while (a < n && h[a].ip == ip)
		a++;
	*hi = a;
}

/* A system reserves x's address for x's MAC. */
static bool reserved_for(const struct holder *h, size_t n, const struct holder *x)
{
	size_t lo, hi;
	same_ip(h, n, x->ip, &lo, &hi);
	for (size_t k = lo; k < hi; k++)
		if (strcmp(h[k].kind, "system") == 0 && h[k].mac && x->mac &&
		    strcmp(h[k].mac, x->mac) == 0)
			return true;
	return false;
}

/* Systems' reservations against the pools and the server's addresses; guests' static
 * addresses against the pools' ranges. h: every holder, sorted by address. */
static int reservations(struct xp__check_ctx *c, const struct pool *pv, size_t np,
			const struct holder *h, size_t nh)
{
	const struct xp_inv_snapshot *s = c->snap;
	uint32_t server = 0, next = 0;
	xp__check_ipv4(xp__check_setting(c, "server"), &server);
	xp__check_ipv4(xp__check_setting(c, "next-server"), &next);
	struct groups g = {0};
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->nsystems; i++) {
		const struct xp_system *sys = &s->systems[i];
		uint32_t a;
		if (!sys->ip || !xp__check_ipv4(sys->ip, &a))
			continue;
		char subject[120], fix[300];
		snprintf(subject, sizeof(subject), "system '%s'", sys->name);
		snprintf(fix, sizeof(fix), "xenprov system edit %s --ip ADDRESS", sys->name);
		if (a == server || a == next || xp__check_is_local(c, a)) {
			r = xp__check_add(
			    c, XP_SEV_ERROR, "address", subject,
			    "the DHCP server never hands out its own address: the system "
			    "is served without its reservation",
			    fix,
			    "the reservation %s of system '%s' is the boot server's own "
			    "address",
			    sys->ip, sys->name);
			continue;
		}
		if (np == 0)
			continue; /* no usable pools (ProxyDHCP, or the pools check says why) */
		const struct pool *in = NULL;
		for (size_t k = 0; k < np && !in && r == 0; k++) {
			const struct pool *p = &pv[k];
			if (p->router && a == p->router)
				r = xp__check_add(
				    c, XP_SEV_ERROR, "address", subject,
				    "a router's address is no other machine's: the DHCP "
				    "server serves the system without its reservation",
				    fix,
				    "the reservation %s of system '%s' is pool %s's "
				    "router",
				    sys->ip, sys->name, p->name);
			else if ((a & p->mask) != p->net)
				continue;
			else if (a == p->net || a == (p->net | ~p->mask))
				r = xp__check_add(
				    c, XP_SEV_ERROR, "address", subject,
				    "a subnet's first and last addresses are no host's "
				    "(RFC 950): the system is served without its "
				    "reservation",
				    fix,
				    "the reservation %s of system '%s' is the %s "
				    "address of pool %s's subnet",
				    sys->ip, sys->name, a == p->net ? "network" : "broadcast",
				    p->name);
			in = p;
		}
		if (r < 0 || (in && ((in->router && a == in->router) || a == in->net ||
				     a == (in->net | ~in->mask))))
			continue;
		if (!in)
			r = group_add(&g, A_OUTSIDE, "", sys->name);
		else if (a >= in->start && a <= in->end)
			r = group_add(&g, A_IN_RANGE, in->name, sys->name);
	}
	/* guests' static addresses the DHCP server does not know of, inside a range: a
	 * system with the guest's MAC and address reserves it (the DHCP server keeps it
	 * out of the pool), else it may hand it out */
	for (size_t i = 0; r == 0 && np && i < nh; i++) {
		if (strcmp(h[i].kind, "domain") != 0 || !h[i].ip)
			continue;
		for (size_t k = 0; k < np && r == 0; k++)
			if (h[i].ip >= pv[k].start && h[i].ip <= pv[k].end &&
			    !reserved_for(h, nh, &h[i]))
				r = group_add(&g, A_DOMAIN_IN_RANGE, pv[k].name, h[i].name);
	}
	for (size_t i = 0; r == 0 && i < g.n; i++) {
		const struct group *x = &g.v[i];
		const struct pool *p = NULL;
		for (size_t k = 0; k < np && !p; k++)
			if (strcmp(pv[k].name, x->key) == 0)
				p = &pv[k];
		char fix[600], range[40] = "", a[16], b[16];
		if (p) {
			ip_text(p->start, a);
			ip_text(p->end, b);
			snprintf(range, sizeof(range), "%s-%s", a, b);
		}
		if (x->kind == A_OUTSIDE)
			r = xp__check_group(
			    c, XP_SEV_ERROR, "address", "system", x->names, x->n,
			    "the DHCP server hands out reserved addresses on its "
			    "pools' subnets only: these systems are served without "
			    "their reservation",
			    "xenprov system edit SYSTEM --ip ADDRESS (in a pool's "
			    "subnet), or add a pool for their subnet: xenprov settings "
			    "set pool.NAME.range FIRST-LAST",
			    "reserved addresses in no pool's subnet");
		else if (x->kind == A_IN_RANGE) {
			snprintf(fix, sizeof(fix),
				 "xenprov system edit SYSTEM --ip ADDRESS (outside %s), or xenprov "
				 "settings set pool.%s.range FIRST-LAST (leaving them out)",
				 range, x->key);
			r = xp__check_group(
			    c, XP_SEV_WARNING, "address", "system", x->names, x->n,
			    "the server keeps reserved addresses out of the pool, but "
			    "one it leased to another client before the reservation "
			    "stays that client's until its lease ends",
			    fix, "reserved addresses inside pool %s's dynamic range %s", x->key,
			    range);
		} else {
			snprintf(
			    fix, sizeof(fix),
			    "xenprov settings set pool.%s.range FIRST-LAST (leaving them out), "
			    "or reserve each: xenprov system add NAME --mac MAC --ip ADDRESS "
			    "--netboot off",
			    x->key);
			r = xp__check_group(c, XP_SEV_ERROR, "address", "domain", x->names, x->n,
					    "the DHCP server does not know these static addresses: "
					    "it may lease one to another machine, and two machines "
					    "then answer for it",
					    fix,
					    "static addresses inside pool %s's dynamic range %s",
					    x->key, range);
		}
	}
	groups_release(&g);
	return r;
}

/* Every record that holds an address or a MAC: systems, domains, their further NICs
 * (*v, heap), sorted by address. */
static int holders(const struct xp_inv_snapshot *s, struct holder **out, size_t *nout)
{
	size_t cap = s->nsystems + s->ndomains + s->nnics;
	struct holder *v = cap ? calloc(cap, sizeof(*v)) : NULL;
	if (cap && !v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < s->nsystems; i++)
		v[n++] = (struct holder){0, s->systems[i].mac, "system", s->systems[i].name};
	for (size_t i = 0; i < s->ndomains; i++)
		v[n++] = (struct holder){0, s->domains[i].mac, "domain", s->domains[i].name};
	for (size_t i = 0; i < s->nnics; i++)
		v[n++] = (struct holder){0, s->nics[i].mac, "domain", s->nics[i].domain};
	for (size_t i = 0; i < n; i++) {
		const char *ip = i < s->nsystems ? s->systems[i].ip
				 : i < s->nsystems + s->ndomains
				     ? s->domains[i - s->nsystems].ip
				     : s->nics[i - s->nsystems - s->ndomains].ip;
		if (!ip || !xp__check_ipv4(ip, &v[i].ip))
			v[i].ip = 0;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_ip);
	*out = v;
	*nout = n;
	return 0;
}

/* Addresses and MACs held by two records that are not one machine. v (sorted by
 * address) is sorted by MAC on return. */
static int duplicates(struct xp__check_ctx *c, struct holder *v, size_t n)
{
	int r = 0;
	/* one address, two machines: a system and a domain with the same MAC are one
	 * machine (a guest that netboots), anything else is two */
	for (size_t i = 0; r == 0 && i < n;) {
		size_t j = i + 1;
		while (j < n && v[j].ip == v[i].ip)
			j++;
		bool two = false;
		for (size_t k = i + 1; k < j && v[i].ip; k++)
			two |= !v[i].mac || !v[k].mac || strcmp(v[i].mac, v[k].mac) != 0;
		if (two) {
			char a[16], subject[64], what[400] = "";
			ip_text(v[i].ip, a);
			snprintf(subject, sizeof(subject), "address %s", a);
			size_t at = 0;
			for (size_t k = i; k < j && at < sizeof(what); k++)
				at += (size_t)snprintf(what + at, sizeof(what) - at, "%s%s '%s'",
						       k == i	    ? ""
						       : k + 1 == j ? " and "
								    : ", ",
						       v[k].kind, v[k].name);
			char fix[300];
			snprintf(fix, sizeof(fix), "xenprov %s edit %s --ip ADDRESS", v[i].kind,
				 v[i].name);
			if (strcmp(v[i].kind, "domain") == 0)
				snprintf(fix, sizeof(fix), "xenprov system edit %s --ip ADDRESS",
					 v[j - 1].name);
			r = xp__check_add(
			    c, XP_SEV_ERROR, "address", subject,
			    "two machines answering for one address take each other's "
			    "traffic",
			    fix, "%s is held by %s", a, what);
		}
		i = j;
	}
	/* one MAC, two addresses: a system's reservation and a guest's static address */
	if (n)
		qsort(v, n, sizeof(*v), by_mac);
	for (size_t i = 0; r == 0 && i < n;) {
		size_t j = i + 1;
		while (j < n && v[i].mac && v[j].mac && strcmp(v[j].mac, v[i].mac) == 0)
			j++;
		for (size_t k = i + 1; r == 0 && k < j; k++) {
			if (!v[i].ip || !v[k].ip || v[i].ip == v[k].ip)
				continue;
			char a[16], b[16], subject[64], fix[300];
			ip_text(v[i].ip, a);
			ip_text(v[k].ip, b);
			snprintf(subject, sizeof(subject), "MAC %s", v[i].mac);
			const struct holder *sys = strcmp(v[i].kind, "system") == 0 ? &v[i] : &v[k];
			snprintf(fix, sizeof(fix), "xenprov system edit %s --ip %s", sys->name,
				 sys == &v[i] ? b : a);
			r = xp__check_add(c, XP_SEV_WARNING, "address", subject,
					  "the machine gets one address from DHCP while its record "
					  "says another",
					  fix, "MAC %s is %s '%s' (%s) and %s '%s' (%s)", v[i].mac,
					  v[i].kind, v[i].name, a, v[k].kind, v[k].name, b);
		}
		i = j;
	}
	return r;
}

/* Leases in force whose address a system reserves for, or a guest holds on, another
 * MAC. h: the holders, sorted by address. */
static int lease_conflicts(struct xp__check_ctx *c, const struct holder *h, size_t nh)
{
	const struct xp_inv_snapshot *s = c->snap;
	int64_t now = (int64_t)time(NULL);
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->nleases; i++) {
		const struct xp_dhcp_lease *l = &s->leases[i];
		if (l->state != XP_LEASE_BOUND || l->expires <= now)
			continue;
		char mac[18], a[16];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1],
			 l->mac[2], l->mac[3], l->mac[4], l->mac[5]);
		ip_text(l->ip, a);
		size_t lo, hi;
		same_ip(h, nh, l->ip, &lo, &hi);
		for (size_t k = lo; r == 0 && l->ip && k < hi; k++) {
			if (h[k].mac && strcmp(h[k].mac, mac) == 0)
				continue;
			bool sys = strcmp(h[k].kind, "system") == 0;
			char subject[64], fix[200];
			snprintf(subject, sizeof(subject), "address %s", a);
			if (sys)
				snprintf(fix, sizeof(fix), "xenprov system edit %s --ip ADDRESS",
					 h[k].name);
			else
				snprintf(fix, sizeof(fix),
					 "xenprov settings set pool.NAME.range "
					 "FIRST-LAST (leaving %s out)",
					 a);
			r = xp__check_add(
			    c, sys ? XP_SEV_WARNING : XP_SEV_ERROR, "address", subject,
			    sys ? "the system gets its reservation only once that lease "
				  "ends"
				: "two machines answer for one address and take each "
				  "other's traffic",
			    fix, "%s is leased to %s until %lld, but %s '%s' %s it", a, mac,
			    (long long)l->expires, h[k].kind, h[k].name, sys ? "reserves" : "has");
		}
	}
	return r;
}

int xp__check_addresses(struct xp__check_ctx *c)
{
	const char *proxy = xp__check_setting(c, "proxy-dhcp");
	bool proxy_on = proxy && strcmp(proxy, "on") == 0;
	struct xp_server_pool *sp = NULL;
	size_t nsp = 0;
	int r = proxy_on ? 0 : xp_server_pools(&c->settings, &sp, &nsp, NULL);
	if (r == -EINVAL)
		r = 0; /* the pools check says why */
	struct pool *pv = nsp ? calloc(nsp, sizeof(*pv)) : NULL;
	if (nsp && !pv)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < nsp; i++) {
		pv[i].name = sp[i].name;
		xp__check_ipv4(sp[i].range_start, &pv[i].start);
		xp__check_ipv4(sp[i].range_end, &pv[i].end);
		xp__check_ipv4(sp[i].netmask, &pv[i].mask);
		if (sp[i].router)
			xp__check_ipv4(sp[i].router, &pv[i].router);
		pv[i].net = pv[i].start & pv[i].mask;
	}
	struct holder *h = NULL;
	size_t nh = 0;
	if (r == 0)
		r = holders(c->snap, &h, &nh);
	if (r == 0)
		r = reservations(c, pv, pv ? nsp : 0, h, nh);
	if (r == 0)
		r = lease_conflicts(c, h, nh);
	if (r == 0)
		r = duplicates(c, h, nh); /* last: it sorts h by MAC */
	free(h);
	free(pv);
	xp_server_pools_free(sp, nsp);
	return r;
}

/* ---- domains ------------------------------------------------------------------------------- */

int xp__check_domains(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	struct groups g = {0};
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->ndomains; i++)
		if (strcmp(s->domains[i].state, "ready") != 0)
			r = group_add(&g, 0, s->domains[i].state, s->domains[i].name);
	for (size_t i = 0; r == 0 && i < g.n; i++)
		r = xp__check_group(c, XP_SEV_WARNING, "domain", "domain", g.v[i].names, g.v[i].n,
				    "a create or delete stopped half way (killed, or the power "
				    "went): its disk and config may be partly made, and its name, "
				    "MAC and address stay taken",
				    "xenprov domain delete NAME (a deploy run again removes and "
				    "makes its own anew)",
				    "guests left in state '%s'", g.v[i].key);
	groups_release(&g);
	return r;
}

/* ---- passwords ------------------------------------------------------------------------------ */

/* Passwords everybody tries first: Cobbler's sample templates' default
 * (default_password_crypted, "cobbler"), and the usual others. */
static const char *const known_passwords[] = {"cobbler",  "password", "root",
					      "changeme", "xenprov",  NULL};

int xp__check_passwords(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->nprofiles; i++) {
		const char *hash = xp_settings_get(&s->profiles[i].own, "root-password-hash");
		if (!hash || hash[0] != '$')
			continue;
		for (size_t k = 0; r == 0 && known_passwords[k]; k++) {
			const char *h = crypt_r(known_passwords[k], hash, cd);
			if (!h || strcmp(h, hash) != 0)
				continue;
			char subject[120], fix[300];
			snprintf(subject, sizeof(subject), "profile '%s'", s->profiles[i].name);
			snprintf(fix, sizeof(fix),
				 "xenprov profile edit %s --root-password-file FILE (a password of "
				 "your own, FILE's first line)",
				 s->profiles[i].name);
			r = xp__check_add(c, XP_SEV_ERROR, "password", subject,
					  "whoever tries it (Cobbler's sample templates shipped "
					  "'cobbler') logs in as root on every guest made from the "
					  "profile",
					  fix, "profile '%s' gives root the password '%s'",
					  s->profiles[i].name, known_passwords[k]);
			break;
		}
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

/* ---- images published to anyone ------------------------------------------------------ */

int xp__check_published(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	const char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	for (size_t i = 0; r == 0 && i < s->nprofiles; i++) {
		const char *name = s->profiles[i].name;
		const char *v = xp_snap_profile_value(s, name, "publish-image", NULL);
		if (!v || strcmp(v, "open") != 0 || !xp_snap_profile_value(s, name, "image", NULL))
			continue;
		if (xp_grow(&names, &cap, n, sizeof(*names), 8) < 0)
			r = -ENOMEM;
		else
			names[n++] = name;
	}
	if (r == 0 && n) {
		char fix[200];
		snprintf(fix, sizeof(fix), "xenprov profile edit %s --publish-image token",
			 n == 1 ? names[0] : "PROFILE");
		r = xp__check_group(
		    c, XP_SEV_WARNING, "publish", "profile", names, n,
		    "xenprov serve gives their golden images (/images/HASH) to anyone on the boot "
		    "network without the API token: a captured image may hold password hashes "
		    "and private keys",
		    fix,
		    "golden image%s served to anyone without the API token (publish-image "
		    "open)",
		    n == 1 ? "" : "s");
	}
	free(names);
	return r;
}

/* ---- programs -------------------------------------------------------------------------------- */

/* A program some profiles need, when a profile's effective value of key contains
 * needle (prefix: starts with it). */
static const struct {
	const char *key, *needle;
	bool prefix;
	const char *program, *package, *why;
} tools[] = {
    {"image", "debian:", true, "mmdebstrap", "mmdebstrap",
     "xenprov builds debian:SUITE golden images with mmdebstrap: deploy fails"},
    {"storage", "lvm", false, "lvcreate", "lvm2",
     "guests' disks on storage lvm are logical volumes made by lvcreate: deploy fails"},
    {"data-disk", "fs=xfs", false, "mkfs.xfs", "xfsprogs",
     "XFS data disks are made by mkfs.xfs: deploy fails"},
};

int xp__check_tools(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	int r = 0;
	for (size_t t = 0; r == 0 && t < sizeof(tools) / sizeof(tools[0]); t++) {
		const char **names = NULL;
		size_t n = 0, cap = 0;
		for (size_t i = 0; r == 0 && i < s->nprofiles; i++) {
			const char *v =
			    xp_snap_profile_value(s, s->profiles[i].name, tools[t].key, NULL);
			if (!v ||
			    (tools[t].prefix ? strncmp(v, tools[t].needle, strlen(tools[t].needle))
					     : !strstr(v, tools[t].needle)))
				continue;
			if (xp_grow(&names, &cap, n, sizeof(*names), 8) < 0)
				r = -ENOMEM;
			else
				names[n++] = s->profiles[i].name;
		}
		char *path = NULL;
		if (r == 0 && n && xp_program_path(tools[t].program, &path) == -ENOENT) {
			char fix[120];
			snprintf(fix, sizeof(fix), "apt-get install %s", tools[t].package);
			r = xp__check_group(c, XP_SEV_ERROR, "tools", "profile", names, n,
					    tools[t].why, fix, "%s (package %s) is not installed",
					    tools[t].program, tools[t].package);
		}
		free(path);
		free(names);
	}
	return r;
}
