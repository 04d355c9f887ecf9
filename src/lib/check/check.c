/*
 * check.c - `xenprov check`'s runner: the table of checks (the one place a check is
 * added: see check-internal.h), the context they share (the settings in force, the
 * inventory snapshot, this host's addresses) and the findings they add.
 *
 * Not here: the checks themselves (check-*.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check-internal.h"

/* The checks, in the order they run and print. A new check is one row here (and its
 * function, in a file of its own: check-internal.h says how). */
static const struct {
	const char *name, *about;
	int (*run)(struct xp__check_ctx *c);
} checks[] = {
    {"server", "server and next-server set, not loopback, addresses of this host",
     xp__check_server},
    {"tftp-root", "the TFTP root there, a directory the server can read, not the state directory",
     xp__check_tftp_root},
    {"boot-loader",
     "the boot loaders of the BIOS and UEFI paths in the TFTP root (--fix links them)",
     xp__check_loaders},
    {"pools", "the DHCP pools complete and consistent", xp__check_pools},
    {"ports", "UDP 67, 69, 4011 and the HTTP port free or held by xenprov serve", xp__check_ports},
    {"firewall", "no nftables or iptables rule drops those ports", xp__check_firewall},
    {"profile", "profiles' distro, image, kernel and ramdisk exist", xp__check_profiles},
    {"distro", "distros' kernels and initrds still in the distro store", xp__check_distros},
    {"netboot", "every system with netboot on has a distro to boot", xp__check_netboot},
    {"install",
     "systems marked to install themselves have a reserved address; no kernel options "
     "claim the server's xenprov.* arguments",
     xp__check_install},
    {"address",
     "reservations inside a pool's subnet, outside its dynamic range; no MAC or "
     "address held twice",
     xp__check_addresses},
    {"domain", "no guest left half made by an interrupted create", xp__check_domains},
    {"password", "no profile's root password is one everybody knows", xp__check_passwords},
    {"publish", "no profile's golden image is served without the API token (publish-image open)",
     xp__check_published},
    {"tools", "the programs the profiles need are installed", xp__check_tools},
    {"config", "every xl config in the config directories passes 'config check --host'",
     xp__check_configs},
    {"toolstack", "a dom0 whose toolstack answers, for deploy and domain start",
     xp__check_toolstack},
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

bool xp_check_info(size_t i, const char **name, const char **about)
{
	if (i >= NCHECKS)
		return false;
	*name = checks[i].name;
	*about = checks[i].about;
	return true;
}

/* ---- findings -------------------------------------------------------------------------- */

static void finding_release(struct xp_finding *f)
{
	free(f->check);
	free(f->subject);
	free(f->what);
	free(f->why);
	free(f->fix);
}

void xp_findings_release(struct xp_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		finding_release(&f->v[i]);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	return s && !(*out = strdup(s)) ? -ENOMEM : 0;
}

static int finding_addv(struct xp_findings *f, enum xp_severity sev, const char *check,
			const char *subject, size_t count, const char *why, const char *fix,
			const char *fmt, va_list ap)
{
	if (xp_grow(&f->v, &f->cap, f->n, sizeof(*f->v), 16) < 0)
		return -ENOMEM;
	struct xp_finding *x = &f->v[f->n];
	memset(x, 0, sizeof(*x));
	x->severity = sev;
	x->count = count ? count : 1;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_vaddf(&b, fmt, ap);
	x->what = xp_buf_steal(&b);
	if (!x->what || dup_opt(check, &x->check) < 0 || dup_opt(subject, &x->subject) < 0 ||
	    dup_opt(why, &x->why) < 0 || dup_opt(fix, &x->fix) < 0) {
		xp_buf_release(&b);
		finding_release(x);
		return -ENOMEM;
	}
	f->n++;
	return 0;
}

int xp_finding_add(struct xp_findings *f, enum xp_severity sev, const char *check,
		   const char *subject, const char *why, const char *fix, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = finding_addv(f, sev, check, subject, 1, why, fix, fmt, ap);
	va_end(ap);
	return r;
}

size_t xp_findings_count(const struct xp_findings *f, enum xp_severity sev)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += f->v[i].severity == sev && !f->v[i].fixed;
	return n;
}

int xp__check_add(struct xp__check_ctx *c, enum xp_severity sev, const char *check,
		  const char *subject, const char *why, const char *fix, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = finding_addv(c->out, sev, check, subject, 1, why, fix, fmt, ap);
	va_end(ap);
	return r;
}

/* How many names a grouped finding's subject spells out. */
#define GROUP_NAMES 3

int xp__check_group(struct xp__check_ctx *c, enum xp_severity sev, const char *check,
		    const char *kind, const char *const *names, size_t n, const char *why,
		    const char *fix, const char *fmt, ...)
{
	if (n == 0)
		return 0;
	struct xp_buf s = XP_BUF_INIT;
	xp_buf_addf(&s, "%s%s ", kind, n == 1 ? "" : "s");
	for (size_t i = 0; i < n && i < GROUP_NAMES; i++)
		xp_buf_addf(&s, "%s'%s'", i == 0 ? "" : i + 1 == n ? " and " : ", ", names[i]);
	if (n > GROUP_NAMES)
		xp_buf_addf(&s, " and %zu more", n - GROUP_NAMES);
	int r = xp_buf_error(&s);
	if (r == 0) {
		va_list ap;
		va_start(ap, fmt);
		r = finding_addv(c->out, sev, check, xp_buf_str(&s), n, why, fix, fmt, ap);
		va_end(ap);
	}
	xp_buf_release(&s);
	return r;
}

/* ---- the context ----------------------------------------------------------------------- */

const char *xp__check_setting(const struct xp__check_ctx *c, const char *key)
{
	return xp_settings_get(&c->settings, key);
}

bool xp__check_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

bool xp__check_is_local(const struct xp__check_ctx *c, uint32_t addr)
{
	for (size_t i = 0; i < c->nlocal; i++)
		if (c->local[i] == addr)
			return true;
	return false;
}

/* Every IPv4 address of this host's interfaces (getifaddrs(3)), in the network
 * namespace we run in. */
static int read_local(struct xp__check_ctx *c)
{
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	size_t cap = 0, bcap = 0;
	int r = 0;
	for (struct ifaddrs *i = ifa; i && r == 0; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (xp_grow(&c->local, &cap, c->nlocal, sizeof(*c->local), 8) < 0 ||
		    xp_grow(&c->local_loopback, &bcap, c->nlocal, sizeof(*c->local_loopback), 8) <
			0) {
			r = -ENOMEM;
			break;
		}
		const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;
		c->local[c->nlocal] = ntohl(sin->sin_addr.s_addr);
		c->local_loopback[c->nlocal] = (i->ifa_flags & IFF_LOOPBACK) != 0;
		c->nlocal++;
	}
	freeifaddrs(ifa);
	return r;
}

int xp_check_run(struct xp_inv *inv, const struct xp_check_opts *o, struct xp_findings *out)
{
	static const struct xp_check_opts none = {0};
	struct xp_inv_snapshot snap;
	struct xp__check_ctx c = {.inv = inv, .opts = o ? o : &none, .out = out, .snap = &snap};
	int r = xp_snapshot_read(inv, &snap);
	if (r < 0)
		return r;
	r = xp_server_settings_effective(inv, &c.settings, &c.defaulted);
	if (r == 0) {
		c.tftp_root = xp__check_setting(&c, "tftp-root");
		r = read_local(&c);
	}
	for (size_t i = 0; r == 0 && i < NCHECKS; i++)
		r = checks[i].run(&c);
	xp_snapshot_release(&snap);
	xp_settings_release(&c.settings);
	xp_settings_release(&c.defaulted);
	free(c.local);
	free(c.local_loopback);
	return r;
}
