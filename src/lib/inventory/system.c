/*
 * system.c - systems: the machines (or domUs) the boot server knows by MAC, each with
 * an optional reserved IPv4 address and what it boots: a profile's distro or a distro
 * itself (Cobbler's systems). MACs are stored canonical (lower case, ':'), so that a
 * lookup in any spelling finds them; MAC and IP are unique. A reserved IP must be one
 * the DHCP server may hand out under the server settings in force
 * (xp_system_ip_check): never the server's own, a subnet's network or broadcast
 * address, a router, or outside every pool's subnet.
 *
 * Not here: DHCP leases (dynamic addresses), the boot files (boot.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/values-internal.h"
#include "xenprov/mac.h"

void xp_system_release(struct xp_system *s)
{
	free(s->name);
	free(s->mac);
	free(s->ip);
	free(s->profile);
	free(s->distro);
	free(s->hostname);
	free(s->kernel_options);
	free(s->autoinstall);
	memset(s, 0, sizeof(*s));
}

bool xp_system_name_valid(const char *name)
{
	return xp_profile_name_valid(name);
}

/* The canonical MAC of text; -EINVAL for one a NIC cannot have. */
static int canon_mac(const char *text, char out[XP_MAC_STRLEN + 1], struct xp_diags *d)
{
	struct xp_mac m;
	if (!text)
		return xp__bad_value(d, "mac", NULL, NULL, "a MAC address is required");
	if (xp_mac_parse(text, &m) < 0)
		return xp__bad_value(d, "mac", text,
				     "six pairs of hex digits, e.g. 52:54:00:12:34:56",
				     "not a MAC address");
	/* IEEE 802-2014 8.2: the I/G bit marks a group address, never a station's */
	if (xp_mac_is_multicast(&m))
		return xp__bad_value(d, "mac", text, "the first octet must be even",
				     "a multicast address cannot be a machine's");
	if (xp_mac_is_zero(&m))
		return xp__bad_value(d, "mac", text, NULL,
				     "the all-zero address is not a machine's");
	xp_mac_format(&m, out);
	return 0;
}

/* The canonical dotted form of text; -EINVAL for an address a host cannot have. */
static int canon_ip(const char *text, char out[16], struct xp_diags *d)
{
	uint32_t a;
	if (!xp__ipv4_parse(text, &a))
		return xp__bad_value(d, "ip", text, "a dotted quad, e.g. 192.168.1.10",
				     "not an IPv4 address");
	if (!xp__ipv4_host(a))
		return xp__bad_value(d, "ip", text, NULL,
				     "0.0.0.0, 255.255.255.255 and multicast addresses cannot be "
				     "a machine's");
	xp__ipv4_format(a, out);
	return 0;
}

/* Checks every value of s into canonical mac and ip (ip "" for none). */
static int check(const struct xp_system *s, char mac[XP_MAC_STRLEN + 1], char ip[16],
		 struct xp_diags *d)
{
	int r = 0;
	if (!s->name || !xp_system_name_valid(s->name))
		r = xp__bad_value(d, "name", s->name, "1-64 letters, digits, '-', '_', '.'",
				  "not a valid system name");
	if (canon_mac(s->mac, mac, d) < 0)
		r = -EINVAL;
	ip[0] = 0;
	if (s->ip && canon_ip(s->ip, ip, d) < 0)
		r = -EINVAL;
	if (!s->profile == !s->distro)
		r = xp__bad_value(d, s->profile ? "distro" : "profile", NULL, NULL,
				  s->profile ? "give a profile or a distro, not both"
					     : "a profile or a distro is required");
	if (s->profile && !xp_profile_name_valid(s->profile))
		r = xp__bad_value(d, "profile", s->profile, NULL, "not a valid profile name");
	if (s->distro && !xp_distro_name_valid(s->distro))
		r = xp__bad_value(d, "distro", s->distro, NULL, "not a valid distro name");
	if (s->hostname && !xp__dns_name_valid(s->hostname))
		r = xp__bad_value(d, "hostname", s->hostname,
				  "letters, digits and '-' (not first or last), labels joined by "
				  "'.'",
				  "not a host name (RFC 1123)");
	if (xp__kernel_options_check(s->kernel_options, d) < 0)
		r = -EINVAL;
	if (s->autoinstall && !xp_template_name_valid(s->autoinstall))
		r = xp__bad_value(d, "autoinstall", s->autoinstall, NULL,
				  "not a valid template name");
	return r;
}

/* The name of another system than self holding value in column col, into inv->err;
 * 1 if there is one. */
static int taken(struct xp_inv *inv, const char *col, const char *value, const char *self)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT name FROM systems WHERE %s = ?1 AND name <> ?2", col);
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, sql, value, &st);
	if (r < 0)
		return r;
	xp__db_bind_text(st, 2, self);
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		snprintf(inv->err, sizeof(inv->err), "%s %s belongs to system '%s'",
			 strcmp(col, "mac") == 0 ? "MAC" : "IP", value, xp__db_column_text(st, 0));
		r = 1;
	} else if (rc != XP_DB_DONE) {
		r = xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	return r;
}

/* A system that netboots the distro of profile (which exists): the profile, after
 * inheritance, must name one, or the boot server has nothing to give it (its pxelinux
 * config would be "not found"). -EINVAL with a diagnostic (key "profile") if it does
 * not; a warning if the distro it names is not in the inventory (yet: a profile may
 * name one added later, as profile add allows). */
static int netboot_check(struct xp_inv *inv, const char *profile, struct xp_diags *d)
{
	struct xp_settings set = {0};
	int r = xp_profile_resolve(inv, profile, &set);
	const char *distro = r == 0 ? xp_settings_get(&set, "distro") : NULL;
	if (r == 0 && !distro)
		r = xp__bad_value(d, "profile", NULL,
				  "give the profile a distro (xenprov profile edit P --distro D), "
				  "boot a distro of its own (--distro D), or --netboot off",
				  "'%s' cannot be netbooted: it names no distro, nor does "
				  "any profile it inherits from",
				  profile);
	int e = r == 0 ? xp__inv_exists(inv, "SELECT 1 FROM distros WHERE name = ?1", distro) : 0;
	if (e < 0)
		r = e;
	else if (r == 0 && e == 0 && d &&
		 xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "profile", NULL,
			      "xenprov distro add NAME ...",
			      "profile '%s' names distro '%s', which is not in the inventory: "
			      "the system is not served until it is",
			      profile, distro) < 0)
		r = -ENOMEM;
	xp_settings_release(&set);
	return r;
}

/* The refusals: -EEXIST/-ENOENT with the reason in inv->err, -EINVAL with a diagnostic,
 * 0 if none, or -errno. */
static int refusal(struct xp_inv *inv, const struct xp_system *s, const char *mac, const char *ip,
		   bool add, struct xp_diags *d)
{
	int e = xp__inv_exists(inv, "SELECT 1 FROM systems WHERE name = ?1", s->name);
	if (e < 0)
		return e;
	if (add == (e == 1)) {
		snprintf(inv->err, sizeof(inv->err), add ? "system '%s' exists" : "no system '%s'",
			 s->name);
		return add ? -EEXIST : -ENOENT;
	}
	if ((e = taken(inv, "mac", mac, s->name)) != 0)
		return e < 0 ? e : -EEXIST;
	if (*ip && (e = taken(inv, "ip", ip, s->name)) != 0)
		return e < 0 ? e : -EEXIST;
	const char *what = s->profile ? "profile" : "distro";
	const char *ref = s->profile ? s->profile : s->distro;
	e = xp__inv_exists(inv,
			   s->profile ? "SELECT 1 FROM profiles WHERE name = ?1"
				      : "SELECT 1 FROM distros WHERE name = ?1",
			   ref);
	if (e < 0)
		return e;
	if (!e) {
		snprintf(inv->err, sizeof(inv->err), "no %s '%s'", what, ref);
		return -ENOENT;
	}
	if (s->autoinstall) {
		struct xp_template t;
		e = xp_template_get(inv, s->autoinstall, &t);
		xp_template_release(&t);
		if (e == -ENOENT)
			snprintf(inv->err, sizeof(inv->err), "no template '%s'", s->autoinstall);
		if (e < 0)
			return e;
	}
	return s->profile && s->netboot ? netboot_check(inv, s->profile, d) : 0;
}

/* ---- the reserved address against the server's settings ---------------------------- */

/* The pools' subnets as "lan 10.0.0.0/24, far 10.1.0.0/24" (the first few). */
static void subnets_text(const struct xp_server_pool *pv, size_t np, char *buf, size_t size)
{
	size_t at = 0;
	buf[0] = 0;
	for (size_t i = 0; i < np && at < size; i++) {
		uint32_t lo, mask;
		char net[16];
		xp__ipv4_parse(pv[i].range_start, &lo);
		xp__ipv4_parse(pv[i].netmask, &mask);
		int n = i == 4
			    ? snprintf(buf + at, size - at, ", ...")
			    : snprintf(buf + at, size - at, "%s%s %s/%d", i ? ", " : "", pv[i].name,
				       xp__ipv4_format(lo & mask, net), __builtin_popcount(mask));
		if (n < 0 || i == 4)
			break;
		at += (size_t)n;
	}
}

int xp_system_ip_check(const struct xp_settings *st, const char *ip, struct xp_diags *d)
{
	uint32_t a, own;
	char text[16];
	if (!xp__ipv4_parse(ip, &a))
		return xp__bad_value(d, "ip", ip, "a dotted quad, e.g. 192.168.1.10",
				     "not an IPv4 address");
	xp__ipv4_format(a, text);
	static const char *const own_keys[] = {"server", "next-server"};
	for (size_t i = 0; i < sizeof(own_keys) / sizeof(own_keys[0]); i++) {
		const char *v = xp_settings_get(st, own_keys[i]);
		if (v && xp__ipv4_parse(v, &own) && own == a)
			return xp__bad_value(d, "ip", NULL,
					     "reserve another address for the system",
					     "%s is the boot server's own address (setting '%s')",
					     text, own_keys[i]);
	}
	const char *proxy = xp_settings_get(st, "proxy-dhcp");
	if (proxy && strcmp(proxy, "on") == 0)
		return 0; /* another DHCP server hands out the addresses */
	struct xp_server_pool *pv;
	size_t np;
	int r = xp_server_pools(st, &pv, &np, NULL);
	if (r == -EINVAL || (r == 0 && np == 0)) {
		xp_server_pools_free(pv, np);
		return 0; /* no usable pools: checked when they are set */
	}
	if (r < 0)
		return r;
	bool in_subnet = false;
	for (size_t i = 0; r == 0 && i < np; i++) {
		const struct xp_server_pool *p = &pv[i];
		uint32_t lo, mask, router;
		xp__ipv4_parse(p->range_start, &lo);
		xp__ipv4_parse(p->netmask, &mask);
		uint32_t net = lo & mask, bcast = net | ~mask;
		char nettext[16];
		xp__ipv4_format(net, nettext);
		int bits = __builtin_popcount(mask);
		if (p->router && xp__ipv4_parse(p->router, &router) && router == a)
			r = xp__bad_value(d, "ip", NULL, "reserve another address for the system",
					  "%s is the router of pool %s (pool.%s.router)", text,
					  p->name, p->name);
		else if ((a & mask) != net)
			continue;
		else if (a == net || a == bcast)
			r = xp__bad_value(d, "ip", NULL,
					  "a subnet's first and last addresses are no host's (RFC "
					  "950)",
					  "%s is the %s address of pool %s's subnet %s/%d", text,
					  a == net ? "network" : "broadcast", p->name, nettext,
					  bits);
		in_subnet = true;
	}
	if (r == 0 && !in_subnet) {
		char nets[200];
		subnets_text(pv, np, nets, sizeof(nets));
		r = xp__bad_value(d, "ip", NULL,
				  "DHCP hands out reserved addresses on its pools' subnets only: "
				  "give an address in one, or add a pool for that subnet",
				  "%s is in no pool's subnet (%s)", text, nets);
	}
	xp_server_pools_free(pv, np);
	return r;
}

int xp_system_ip_audit(struct xp_inv *inv, const struct xp_settings *st, struct xp_diags *d)
{
	struct xp_db_stmt *q;
	int r = xp__inv_prepare(
	    inv, "SELECT name, ip FROM systems WHERE ip IS NOT NULL ORDER BY name", &q);
	if (r < 0)
		return r;
	int count = 0, rc = XP_DB_DONE;
	while (r == 0 && (rc = xp__db_step(q)) == XP_DB_ROW) {
		const char *name = xp__db_column_text(q, 0);
		const char *ip = xp__db_column_text(q, 1);
		struct xp_diags one = {0};
		int e = xp_system_ip_check(st, ip, &one);
		if (e == -EINVAL) {
			count++;
			if (d && xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "ip", NULL,
					      "until it is given another address ('xenprov system "
					      "edit NAME --ip ADDR' or '--no-ip'), the boot server "
					      "serves it without its reservation",
					      "system '%s': %s", name,
					      one.n ? one.v[0].msg : "ip: unusable") < 0)
				e = -ENOMEM;
		}
		if (e < 0 && e != -EINVAL)
			r = e;
		xp_diags_release(&one);
	}
	if (r == 0 && rc != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(q);
	return r < 0 ? r : count;
}

static void bind_opt(struct xp_db_stmt *st, int i, const char *v)
{
	if (v && *v)
		xp__db_bind_text(st, i, v);
	else
		xp__db_bind_null(st, i);
}

static int store(struct xp_inv *inv, const struct xp_system *s, struct xp_diags *d, bool add)
{
	char mac[XP_MAC_STRLEN + 1], ip[16];
	int r = check(s, mac, ip, d);
	if (r < 0)
		return r;
	if ((r = xp_inv_begin(inv)) < 0)
		return r;
	if (*ip) {
		/* the reservation against the settings, read in this transaction: the
		 * CLI and the HTTP API both come through here. First: an address that can
		 * never be reserved says so, whoever holds it now */
		struct xp_settings st;
		if ((r = xp_server_settings_get(inv, &st)) == 0) {
			r = xp_system_ip_check(&st, ip, d);
			xp_settings_release(&st);
		}
	}
	if (r == 0)
		r = refusal(inv, s, mac, ip, add, d);
	if (r == -EEXIST || r == -ENOENT || r == -EINVAL) {
		xp_inv_commit(inv); /* nothing written */
		return r;
	}
	if (r < 0)
		goto fail;
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(
	    inv,
	    add ? "INSERT INTO systems (name, mac, ip, profile, distro, hostname,"
		  " netboot, kernel_options, created, updated)"
		  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
		: "UPDATE systems SET mac = ?2, ip = ?3, profile = ?4, distro = ?5,"
		  " hostname = ?6, netboot = ?7, kernel_options = ?8, updated = ?9"
		  " WHERE name = ?1",
	    s->name, &st);
	if (r < 0)
		goto fail;
	xp__db_bind_text(st, 2, mac);
	bind_opt(st, 3, ip);
	bind_opt(st, 4, s->profile);
	bind_opt(st, 5, s->distro);
	bind_opt(st, 6, s->hostname);
	xp__db_bind_int64(st, 7, s->netboot ? 1 : 0);
	bind_opt(st, 8, s->kernel_options);
	xp__db_bind_int64(st, 9, time(NULL));
	if ((r = xp__inv_step_done(inv, st)) < 0)
		goto fail;
	/* its own template */
	if ((r = xp__inv_side_value(inv, "system_templates", "system", "template", s->name,
				    s->autoinstall)) < 0)
		goto fail;
	return xp_inv_commit(inv);
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_system_add(struct xp_inv *inv, const struct xp_system *s, struct xp_diags *diags)
{
	return store(inv, s, diags, true);
}

int xp_system_update(struct xp_inv *inv, const struct xp_system *s, struct xp_diags *diags)
{
	return store(inv, s, diags, false);
}

int xp__system_row(struct xp_db_stmt *st, void *row)
{
	struct xp_system *out = row;
	memset(out, 0, sizeof(*out));
	char **text[] = {&out->name,   &out->mac,      &out->ip, &out->profile,
			 &out->distro, &out->hostname, NULL,	 &out->kernel_options,
			 NULL,	       NULL,	       &out->autoinstall};
	for (int i = 0; i < 11; i++) {
		if (!text[i] || xp__db_column_null(st, i))
			continue;
		if (!(*text[i] = xp__col_text(st, i))) {
			xp_system_release(out);
			return -ENOMEM;
		}
	}
	out->netboot = xp__db_column_int(st, 6) != 0;
	out->created = xp__db_column_int64(st, 8);
	out->updated = xp__db_column_int64(st, 9);
	return 1;
}

static void release_row(void *row)
{
	xp_system_release(row);
}

/* One system by the query's ?1 = arg. */
static int get_by(struct xp_inv *inv, const char *sql, const char *arg, struct xp_system *out)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, sql, arg, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW)
		r = xp__system_row(st, out) < 0 ? -ENOMEM : 0;
	else
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}

int xp_system_get(struct xp_inv *inv, const char *name, struct xp_system *out)
{
	memset(out, 0, sizeof(*out));
	return get_by(inv, XP__SYSTEM_SELECT " WHERE name = ?1", name, out);
}

int xp_system_find_mac(struct xp_inv *inv, const char *mac, struct xp_system *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_mac m;
	char canon[XP_MAC_STRLEN + 1];
	if (xp_mac_parse(mac, &m) < 0)
		return -EINVAL;
	return get_by(inv, XP__SYSTEM_SELECT " WHERE mac = ?1", xp_mac_format(&m, canon), out);
}

int xp_system_find_ip(struct xp_inv *inv, const char *ip, struct xp_system *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t a;
	char canon[16];
	if (!xp__ipv4_parse(ip, &a))
		return -EINVAL;
	return get_by(inv, XP__SYSTEM_SELECT " WHERE ip = ?1", xp__ipv4_format(a, canon), out);
}

int xp_system_list(struct xp_inv *inv, char ***names, size_t *n)
{
	return xp__inv_names(inv, "SELECT name FROM systems ORDER BY name", names, n);
}

int xp_system_all(struct xp_inv *inv, struct xp_system **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, XP__SYSTEM_SELECT " ORDER BY name", &st);
	if (r < 0)
		return r;
	return xp__inv_rows(inv, st, v, n, sizeof(**v), 64, xp__system_row, release_row);
}

int xp_system_mac_last(struct xp_inv *inv, unsigned last, struct xp_system **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if (last > 0xff)
		return -EINVAL;
	/* MACs are stored as xp_mac_format writes them: lower case, colons */
	char pat[8];
	snprintf(pat, sizeof(pat), "%%:%02x", last);
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, XP__SYSTEM_SELECT " WHERE mac LIKE ?1 ORDER BY name", pat,
				    &st);
	if (r < 0)
		return r;
	return xp__inv_rows(inv, st, v, n, sizeof(**v), 8, xp__system_row, release_row);
}

int xp_system_remove(struct xp_inv *inv, const char *name)
{
	int r = xp__inv_remove(inv, "DELETE FROM systems WHERE name = ?1", name, "no system '%s'",
			       name);
	return r < 0 ? r : xp_inv_commit(inv);
}
