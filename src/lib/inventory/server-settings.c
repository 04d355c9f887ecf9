/*
 * server-settings.c - the boot server's settings: where it is (server, next-server),
 * what it serves (tftp-root, http-port, boot files), how it answers DHCP (proxy-dhcp,
 * offer-hold) and its address pools (pool.NAME.*); and the host's one setting beside
 * them, config-dir (where guests' xl configs go; deploy/config-dir.c reads it) and the
 * guest-* values `xenprov install` puts in place of a served profile's (deploy/install.c).
 * Values are checked and normalised
 * one at a time when set; xp_server_pools checks the pools as a whole (a range inside
 * its netmask's subnet, a router in it), since a pool is set one key after another.
 *
 * Not here: the DHCP server that uses them, leases.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inventory/values-internal.h"

const struct xp_profile_key xp_server_keys[] = {
    {"server", "IPV4", "the server's address as clients reach it", 0},
    {"next-server", "IPV4", "the TFTP server clients load boot files from", 0},
    {"tftp-root", "DIR", "directory of plain boot files", 0},
    {"distro-roots", "DIR[:DIR...]",
     "directories besides the TFTP root the HTTP API may take distro files from", 0},
    {"http-port", "PORT", "port of the HTTP boot server", 0},
    {"bios-boot-file", "FILE", "boot file for BIOS PXE clients", 0},
    {"efi64-boot-file", "FILE", "boot file for x86-64 UEFI clients", 0},
    {"proxy-dhcp", "on|off", "answer PXE clients only, beside another DHCP server", 0},
    {"offer-hold", "SECONDS", "how long an offered address is kept for the client", 0},
    {"config-dir", "DIR",
     "where guests' xl configs go (a profile's config-dir and --config-dir come first)", 0},
    {"guest-storage", "KIND",
     "xenprov install here: the guests' storage, instead of the served profile's", 0},
    {"guest-pool", "DIR|VG",
     "xenprov install here: where the guests' disks go (default STATE/disks)", 0},
    {"guest-bridge", "IFNAME",
     "xenprov install here: the guests' bridge, instead of the served profile's", 0},
    {"pool.NAME.range", "A-B", "first and last address pool NAME hands out (required)", 0},
    {"pool.NAME.netmask", "MASK", "the pool's subnet mask, dotted or /PREFIX (required)", 0},
    {"pool.NAME.router", "IPV4", "default gateway of the pool's clients", 0},
    {"pool.NAME.dns", "IPV4,...", "name servers of the pool's clients (up to 4)", 0},
    {"pool.NAME.domain", "DNSNAME", "DNS domain of the pool's clients", 0},
    {"pool.NAME.lease-time", "SECONDS", "lease time: seconds or Nm, Nh, Nd", 0},
    {NULL, NULL, NULL, 0},
};

static const struct {
	const char *key, *value;
} defaults[] = {
    {"http-port", "80"},
    {"bios-boot-file", "pxelinux.0"},
    {"efi64-boot-file", "ipxe.efi"},
    {"proxy-dhcp", "off"},
    {"offer-hold", "30"},
    {"config-dir", "/etc/xen"}, /* XP_DOMAIN_CONFIG_DIR, Xen's own */
    {"lease-time", "3600"}, /* pool.NAME.lease-time */
};

#define POOL_NAME_MAX 32
#define MAX_DNS	      4

/* Splits "pool.NAME.SUB": NAME into name (POOL_NAME_MAX + 1 bytes), returns SUB; NULL if
 * key is not of that form. NAME: a letter or digit, then letters, digits, '-', '_'. */
static const char *pool_key(const char *key, char name[POOL_NAME_MAX + 1])
{
	if (strncmp(key, "pool.", 5) != 0)
		return NULL;
	const char *n = key + 5, *dot = strchr(n, '.');
	size_t len = dot ? (size_t)(dot - n) : 0;
	if (!dot || len == 0 || len > POOL_NAME_MAX || n[0] == '-' || n[0] == '_' ||
	    strchr(dot + 1, '.'))
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9') || n[i] == '-' || n[i] == '_'))
			return NULL;
	memcpy(name, n, len);
	name[len] = 0;
	return dot + 1;
}

const char *xp_server_setting_default(const char *key)
{
	char name[POOL_NAME_MAX + 1];
	const char *sub = pool_key(key, name);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (sub ? strcmp(sub, "lease-time") == 0 && strcmp(defaults[i].key, sub) == 0
			: strcmp(defaults[i].key, "lease-time") != 0 &&
			      strcmp(defaults[i].key, key) == 0)
			return defaults[i].value;
	return NULL;
}

static int check_host_ip(const char *key, const char *value, char **out, struct xp_diags *d)
{
	uint32_t a;
	if (!xp__ipv4_parse(value, &a))
		return xp__bad_value(d, key, value, "a dotted quad, e.g. 192.168.1.1",
				     "not an IPv4 address");
	if (!xp__ipv4_host(a))
		return xp__bad_value(d, key, value, NULL,
				     "0.0.0.0, 255.255.255.255 and multicast addresses are not "
				     "a host's");
	return xp__ipv4_dup(a, out);
}

/* A decimal number in [min, max], digits only. */
static bool number(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	if (!(*v >= '0' && *v <= '9') || strlen(v) > 10)
		return false;
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (*end || n < min || n > max)
		return false;
	*out = n;
	return true;
}

/* A boot file as the DHCP 'file' field carries it (RFC 2131 2: 128 octets with the
 * NUL), a path beneath the TFTP root. */
static int check_boot_file(const char *key, const char *value, char **out, struct xp_diags *d)
{
	size_t len = strlen(value);
	if (len == 0 || len > 127)
		return xp__bad_value(d, key, value, NULL,
				     "1 to 127 characters (the DHCP file field)");
	if (!xp__one_line(value) || strpbrk(value, " \\"))
		return xp__bad_value(d, key, value, NULL,
				     "no blanks, backslashes or control characters");
	const char *p = value;
	while (*p == '/')
		p++;
	for (;;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return xp__bad_value(d, key, value, "a path beneath the TFTP root",
					     "must not contain '..'");
		if (!p[n])
			break;
		p += n + 1;
	}
	return xp__dupf(out, "%s", value);
}

/* "A-B", each a host address, A <= B. */
static int check_range(const char *key, const char *value, char **out, struct xp_diags *d)
{
	const char *dash = strchr(value, '-');
	char a[64], b[64];
	uint32_t lo, hi;
	if (!dash || (size_t)(dash - value) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return xp__bad_value(d, key, value, "FIRST-LAST, e.g. 10.0.0.100-10.0.0.199",
				     "not an address range");
	snprintf(a, sizeof(a), "%.*s", (int)(dash - value), value);
	snprintf(b, sizeof(b), "%s", dash + 1);
	if (!xp__ipv4_parse(a, &lo) || !xp__ipv4_parse(b, &hi))
		return xp__bad_value(d, key, value, "FIRST-LAST, e.g. 10.0.0.100-10.0.0.199",
				     "not an address range");
	if (!xp__ipv4_host(lo) || !xp__ipv4_host(hi))
		return xp__bad_value(d, key, value, NULL,
				     "0.0.0.0, 255.255.255.255 and multicast addresses are not "
				     "a host's");
	if (lo > hi)
		return xp__bad_value(d, key, value, NULL, "the first address is after the last");
	char x[16], y[16];
	xp__ipv4_format(lo, x);
	xp__ipv4_format(hi, y);
	return xp__dupf(out, "%s-%s", x, y);
}

/* A contiguous mask of 8 to 30 bits, dotted or "/PREFIX"; prefix length into *bits. */
static bool parse_netmask(const char *value, unsigned *bits)
{
	unsigned long n;
	if (value[0] == '/') {
		if (!number(value + 1, 8, 30, &n))
			return false;
		*bits = (unsigned)n;
		return true;
	}
	uint32_t m;
	if (!xp__ipv4_parse(value, &m))
		return false;
	unsigned ones = (unsigned)__builtin_popcount(m);
	/* contiguous: the ones are all at the top */
	if (ones < 8 || ones > 30 || m != ~0u << (32 - ones))
		return false;
	*bits = ones;
	return true;
}

static uint32_t mask_of(unsigned bits)
{
	return bits ? ~0u << (32 - bits) : 0;
}

static int check_netmask(const char *key, const char *value, char **out, struct xp_diags *d)
{
	unsigned bits;
	if (!parse_netmask(value, &bits))
		return xp__bad_value(d, key, value, "e.g. 255.255.255.0 or /24 (8 to 30 bits)",
				     "not a subnet mask");
	return xp__ipv4_dup(mask_of(bits), out);
}

static int check_dns(const char *key, const char *value, char **out, struct xp_diags *d)
{
	struct xp_buf b = XP_BUF_INIT;
	const char *p = value;
	int count = 0;
	for (;;) {
		size_t n = strcspn(p, ",");
		char item[64];
		uint32_t a;
		snprintf(item, sizeof(item), "%.*s", (int)(n < 63 ? n : 63), p);
		if (n == 0 || n > 15 || !xp__ipv4_parse(item, &a) || !xp__ipv4_host(a)) {
			xp_buf_release(&b);
			return xp__bad_value(d, key, value, "IPv4 addresses separated by commas",
					     "not a list of IPv4 addresses");
		}
		if (++count > MAX_DNS) {
			xp_buf_release(&b);
			return xp__bad_value(d, key, value, NULL, "at most %d name servers",
					     MAX_DNS);
		}
		char buf[16];
		xp_buf_addf(&b, "%s%s", count > 1 ? "," : "", xp__ipv4_format(a, buf));
		if (!p[n])
			break;
		p += n + 1;
	}
	*out = xp_buf_steal(&b);
	return *out ? 0 : -ENOMEM;
}

/* Seconds, or a number with s, m, h or d; 60 seconds to 365 days. */
static bool parse_duration(const char *value, unsigned long *secs)
{
	static const struct {
		char unit;
		unsigned long mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	char num[16];
	size_t len = strlen(value);
	unsigned long mult = 1, n;
	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, value, len + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (num[len - 1] == units[i].unit) {
			mult = units[i].mult;
			num[len - 1] = 0;
		}
	if (!number(num, 1, 365ul * 86400, &n) || n * mult < 60 || n * mult > 365ul * 86400)
		return false;
	*secs = n * mult;
	return true;
}

static int unknown_key(const char *key, const char *pool, const char *sub, struct xp_diags *d)
{
	const char *best = NULL;
	unsigned best_d = 3;
	char hint[128] = "see 'xenprov settings keys'";
	for (const struct xp_profile_key *k = xp_server_keys; k->key; k++) {
		bool is_pool = strncmp(k->key, "pool.NAME.", 10) == 0;
		if (pool && !is_pool)
			continue;
		unsigned dist = xp_edit_distance(pool ? sub : key, pool ? k->key + 10 : k->key, 2);
		if (dist < best_d) {
			best_d = dist;
			best = k->key;
		}
	}
	if (best && pool)
		snprintf(hint, sizeof(hint), "did you mean 'pool.%s.%s'?", pool, best + 10);
	else if (best)
		snprintf(hint, sizeof(hint), "did you mean '%s'?", best);
	return xp__bad_value(d, key, NULL, hint, "unknown server setting");
}

/* "DIR[:DIR...]": absolute directory paths, no empty item; trailing slashes dropped. */
static int check_roots(const char *key, const char *value, char **out, struct xp_diags *d)
{
	struct xp_buf b = XP_BUF_INIT;
	const char *p = value;
	do {
		size_t len = strcspn(p, ":");
		if (len == 0 || p[0] != '/' || !xp__one_line(value)) {
			xp_buf_release(&b);
			return xp__bad_value(d, key, value, "absolute paths separated by ':'",
					     "not a list of absolute directory paths");
		}
		size_t keep = len;
		while (keep > 1 && p[keep - 1] == '/')
			keep--;
		if (b.len)
			xp_buf_addc(&b, ':');
		xp_buf_add(&b, p, keep);
		p += len;
	} while (*p++ == ':');
	if (xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ENOMEM;
	}
	*out = xp_buf_steal(&b);
	return *out ? 0 : -ENOMEM;
}

int xp_server_setting_check(const char *key, const char *value, char **out, struct xp_diags *d)
{
	*out = NULL;
	char pool[POOL_NAME_MAX + 1];
	const char *sub = pool_key(key, pool);
	unsigned long n;
	if (strncmp(key, "pool.", 5) == 0 && !sub)
		return xp__bad_value(d, key, NULL,
				     "pool.NAME.KEY; NAME: up to 32 letters, digits, '-', '_'",
				     "not a pool setting");
	if (!sub) {
		if (strcmp(key, "server") == 0 || strcmp(key, "next-server") == 0)
			return check_host_ip(key, value, out, d);
		if (strcmp(key, "tftp-root") == 0 || strcmp(key, "config-dir") == 0)
			return xp__dir_check(key, value, out, d);
		if (strcmp(key, "distro-roots") == 0)
			return check_roots(key, value, out, d);
		/* this host's values of profile keys (xenprov install): checked as those */
		if (strcmp(key, "guest-storage") == 0 || strcmp(key, "guest-pool") == 0 ||
		    strcmp(key, "guest-bridge") == 0) {
			struct xp_diags pd = {0};
			int r = xp_profile_check(key + 6, value, out, &pd);
			size_t kl = strlen(key + 6);
			for (size_t i = 0; d && i < pd.n; i++) { /* named as the setting */
				const char *m = pd.v[i].msg;
				if (strncmp(m, key + 6, kl) == 0 && strncmp(m + kl, ": ", 2) == 0)
					m += kl + 2;
				xp_diags_add(d, pd.v[i].severity, pd.v[i].file, pd.v[i].line,
					     pd.v[i].col, key, pd.v[i].text, pd.v[i].hint, "%s: %s",
					     key, m);
			}
			xp_diags_release(&pd);
			return r;
		}
		if (strcmp(key, "http-port") == 0) {
			if (!number(value, 1, 65535, &n))
				return xp__bad_value(d, key, value, NULL,
						     "a port number from 1 to 65535");
			return xp__dupf(out, "%lu", n);
		}
		if (strcmp(key, "bios-boot-file") == 0 || strcmp(key, "efi64-boot-file") == 0)
			return check_boot_file(key, value, out, d);
		if (strcmp(key, "proxy-dhcp") == 0) {
			if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
				return xp__bad_value(d, key, value, NULL, "on or off");
			return xp__dupf(out, "%s", value);
		}
		if (strcmp(key, "offer-hold") == 0) {
			if (!number(value, 1, 3600, &n))
				return xp__bad_value(d, key, value, NULL, "seconds, 1 to 3600");
			return xp__dupf(out, "%lu", n);
		}
		return unknown_key(key, NULL, NULL, d);
	}
	if (strcmp(sub, "range") == 0)
		return check_range(key, value, out, d);
	if (strcmp(sub, "netmask") == 0)
		return check_netmask(key, value, out, d);
	if (strcmp(sub, "router") == 0)
		return check_host_ip(key, value, out, d);
	if (strcmp(sub, "dns") == 0)
		return check_dns(key, value, out, d);
	if (strcmp(sub, "domain") == 0) {
		if (!xp__dns_name_valid(value))
			return xp__bad_value(d, key, value, NULL, "not a DNS name");
		return xp__dupf(out, "%s", value);
	}
	if (strcmp(sub, "lease-time") == 0) {
		if (!parse_duration(value, &n))
			return xp__bad_value(d, key, value, "e.g. 3600, 12h, 1d (60 s to 365 d)",
					     "not a lease time");
		return xp__dupf(out, "%lu", n);
	}
	return unknown_key(key, pool, sub, d);
}

/* After a change in the caller's transaction: warnings for the reservations the
 * settings now in force make unusable (a pool moved, a router or the server's address
 * set on a system's address). Warned, not refused: a pool is set one key at a time, and
 * renumbering a network moves its pool before its systems can follow; the boot server
 * serves such a system without its reservation meanwhile. Only -ENOMEM counts. */
static int audit(struct xp_inv *inv, struct xp_diags *d)
{
	if (!d)
		return 0;
	struct xp_settings st;
	int r = xp_server_settings_get(inv, &st);
	if (r == 0)
		r = xp_system_ip_audit(inv, &st, d);
	xp_settings_release(&st);
	return r == -ENOMEM ? r : 0;
}

int xp_server_setting_set(struct xp_inv *inv, const char *key, const char *value,
			  struct xp_diags *d)
{
	char *norm;
	int r = xp_server_setting_check(key, value, &norm, d);
	if (r < 0)
		return r;
	/* roots the server serves from must not be, or hold, the state directory */
	if (strcmp(key, "tftp-root") == 0 || strcmp(key, "distro-roots") == 0) {
		for (const char *p = norm; r == 0 && *p;) {
			size_t len = strcspn(p, ":");
			char *dir = strndup(p, len);
			if (!dir)
				r = -ENOMEM;
			else if (xp_inv_root_check(inv, dir) < 0)
				r = xp__bad_value(d, key, dir, "a directory of its own",
						  "holds the state directory '%s', whose inventory "
						  "and API token must never be served",
						  xp_inv_state_dir(inv));
			free(dir);
			p += len + (p[len] == ':');
		}
		if (r < 0) {
			free(norm);
			return r;
		}
	}
	if ((r = xp_inv_begin(inv)) < 0) {
		free(norm);
		return r;
	}
	struct xp_db_stmt *st;
	r = xp__inv_prepare(inv,
			    "INSERT INTO server_settings (key, value) VALUES (?1, ?2)"
			    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			    &st);
	if (r == 0) {
		xp__db_bind_text(st, 1, key);
		xp__db_bind_text(st, 2, norm);
		r = xp__inv_step_done(inv, st);
	}
	/* a directory made later is fine, but say so: nothing can be written there yet */
	struct stat dst;
	if (r == 0 && strcmp(key, "config-dir") == 0 && d &&
	    (stat(norm, &dst) < 0 || !S_ISDIR(dst.st_mode)) &&
	    xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, key, NULL,
			 "make it before the next deploy",
			 "the directory %s does not exist (yet)", norm) < 0)
		r = -ENOMEM;
	free(norm);
	if (r == 0)
		r = audit(inv, d);
	if (r < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	return xp_inv_commit(inv);
}

int xp_server_setting_unset(struct xp_inv *inv, const char *key, struct xp_diags *d)
{
	int r = xp__inv_remove(inv, "DELETE FROM server_settings WHERE key = ?1", key,
			       "'%s' is not set", key);
	if (r < 0)
		return r;
	if ((r = audit(inv, d)) < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	return xp_inv_commit(inv);
}

int xp_server_settings_get(struct xp_inv *inv, struct xp_settings *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, "SELECT key, value FROM server_settings ORDER BY key", &st);
	if (r < 0)
		return r;
	int rc;
	while ((rc = xp__db_step(st)) == XP_DB_ROW)
		if (xp_settings_set(out, xp__db_column_text(st, 0), xp__db_column_text(st, 1)) <
		    0) {
			r = -ENOMEM;
			break;
		}
	if (r == 0 && rc != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	if (r < 0)
		xp_settings_release(out);
	return r;
}

/* ---- effective values -------------------------------------------------------------- */

/* The names of the pools in s, sorted, without repeats. */
static int pool_names(const struct xp_settings *s, char ***names, size_t *n)
{
	*names = calloc(s->n ? s->n : 1, sizeof(**names));
	*n = 0;
	if (!*names)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		char name[POOL_NAME_MAX + 1];
		if (!pool_key(s->v[i].key, name))
			continue;
		bool seen = false;
		for (size_t k = 0; k < *n && !seen; k++)
			seen = strcmp((*names)[k], name) == 0;
		if (seen)
			continue;
		size_t at = *n;
		while (at > 0 && strcmp((*names)[at - 1], name) > 0) {
			(*names)[at] = (*names)[at - 1];
			at--;
		}
		if (!((*names)[at] = strdup(name))) {
			memmove(&(*names)[at], &(*names)[at + 1], (*n - at) * sizeof(**names));
			xp_strv_free(*names, *n);
			*names = NULL;
			*n = 0;
			return -ENOMEM;
		}
		(*n)++;
	}
	return 0;
}

static int put(struct xp_settings *out, struct xp_settings *defaulted, const char *key,
	       const char *value, bool is_default)
{
	if (!value)
		return 0;
	int r = xp_settings_set(out, key, value);
	if (r == 0 && is_default && defaulted)
		r = xp_settings_set(defaulted, key, value);
	return r;
}

int xp_server_settings_effective(struct xp_inv *inv, struct xp_settings *out,
				 struct xp_settings *defaulted)
{
	memset(out, 0, sizeof(*out));
	if (defaulted)
		memset(defaulted, 0, sizeof(*defaulted));
	struct xp_settings s;
	int r = xp_server_settings_get(inv, &s);
	if (r < 0)
		return r;
	char *tftp = NULL;
	if (asprintf(&tftp, "%s/tftp", xp_inv_state_dir(inv)) < 0) {
		tftp = NULL;
		r = -ENOMEM;
	}
	for (const struct xp_profile_key *k = xp_server_keys; r == 0 && k->key; k++) {
		if (strncmp(k->key, "pool.", 5) == 0)
			continue;
		const char *v = xp_settings_get(&s, k->key), *dflt = NULL;
		if (!v && strcmp(k->key, "next-server") == 0)
			dflt = xp_settings_get(&s, "server");
		else if (!v && strcmp(k->key, "tftp-root") == 0)
			dflt = tftp;
		else if (!v)
			dflt = xp_server_setting_default(k->key);
		r = put(out, defaulted, k->key, v ? v : dflt, !v);
	}
	char **pools = NULL;
	size_t np = 0;
	if (r == 0)
		r = pool_names(&s, &pools, &np);
	for (size_t i = 0; r == 0 && i < np; i++)
		for (const struct xp_profile_key *k = xp_server_keys; r == 0 && k->key; k++) {
			if (strncmp(k->key, "pool.NAME.", 10) != 0)
				continue;
			char key[POOL_NAME_MAX + 32];
			snprintf(key, sizeof(key), "pool.%s.%s", pools[i], k->key + 10);
			const char *v = xp_settings_get(&s, key);
			r = put(out, defaulted, key, v ? v : xp_server_setting_default(key), !v);
		}
	xp_strv_free(pools, np);
	free(tftp);
	xp_settings_release(&s);
	if (r < 0) {
		xp_settings_release(out);
		if (defaulted)
			xp_settings_release(defaulted);
	}
	return r;
}

/* ---- pools --------------------------------------------------------------------------- */

void xp_server_pools_free(struct xp_server_pool *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].range_start);
		free(v[i].range_end);
		free(v[i].netmask);
		free(v[i].router);
		free(v[i].domain);
		xp_strv_free(v[i].dns, v[i].n_dns);
	}
	free(v);
}

/* The pool's value of sub, checked again (s may come from anywhere): NULL if unset or
 * bad (then reported). */
static char *pool_value(const struct xp_settings *s, const char *pool, const char *sub,
			struct xp_diags *d, int *err)
{
	char key[POOL_NAME_MAX + 32];
	snprintf(key, sizeof(key), "pool.%s.%s", pool, sub);
	const char *v = xp_settings_get(s, key);
	if (!v)
		v = xp_server_setting_default(key);
	if (!v)
		return NULL;
	char *norm = NULL;
	int r = xp_server_setting_check(key, v, &norm, d);
	if (r < 0)
		*err = r;
	return norm;
}

static int pool_error(struct xp_diags *d, const char *pool, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pool_error(struct xp_diags *d, const char *pool, const char *fmt, ...)
{
	if (d) {
		char msg[300], code[POOL_NAME_MAX + 8];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(code, sizeof(code), "pool.%s", pool);
		xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, code, NULL, NULL, "pool %s: %s", pool,
			     msg);
	}
	return -EINVAL;
}

/* Fills p from s; -EINVAL (reported) if the pool is incomplete or inconsistent.
 * lo/hi: the range, host order, for the overlap check. */
static int load_pool(const struct xp_settings *s, const char *name, struct xp_server_pool *p,
		     uint32_t *lo, uint32_t *hi, struct xp_diags *d)
{
	int err = 0;
	*lo = 1; /* an empty range, until there is one: overlaps nothing */
	*hi = 0;
	char *range = pool_value(s, name, "range", d, &err);
	char *lease = pool_value(s, name, "lease-time", d, &err);
	char *dns = pool_value(s, name, "dns", d, &err);
	p->netmask = pool_value(s, name, "netmask", d, &err);
	p->router = pool_value(s, name, "router", d, &err);
	p->domain = pool_value(s, name, "domain", d, &err);
	if (!(p->name = strdup(name)))
		err = -ENOMEM;
	if (err == 0 && !range)
		err = pool_error(d, name, "no range (set pool.%s.range)", name);
	if (err == 0 && !p->netmask)
		err = pool_error(d, name, "no netmask (set pool.%s.netmask)", name);
	uint32_t mask = 0, router = 0;
	if (err == 0) {
		char *dash = strchr(range, '-');
		*dash = 0;
		p->range_start = strdup(range);
		p->range_end = strdup(dash + 1);
		if (!p->range_start || !p->range_end)
			err = -ENOMEM;
		xp__ipv4_parse(p->range_start, lo);
		xp__ipv4_parse(p->range_end, hi);
		xp__ipv4_parse(p->netmask, &mask);
		p->lease_time = (uint32_t)strtoul(lease, NULL, 10);
	}
	char net[16], bcast[16];
	xp__ipv4_format(*lo & mask, net);
	xp__ipv4_format((*lo & mask) | ~mask, bcast);
	unsigned bits = (unsigned)__builtin_popcount(mask);
	/* RFC 950: the all-zeros and all-ones host numbers are the subnet and its
	 * broadcast, no host's */
	if (err == 0 && (*hi & mask) != (*lo & mask))
		err = pool_error(d, name, "the range %s-%s is not inside one /%u subnet",
				 p->range_start, p->range_end, bits);
	if (err == 0 && (*lo == (*lo & mask) || *hi == ((*lo & mask) | ~mask)))
		err = pool_error(d, name, "the range %s-%s includes %s/%u's %s address",
				 p->range_start, p->range_end, net, bits,
				 *lo == (*lo & mask) ? "network" : "broadcast");
	if (err == 0 && p->router) {
		xp__ipv4_parse(p->router, &router);
		if ((router & mask) != (*lo & mask))
			err = pool_error(d, name, "the router %s is outside the subnet %s/%u",
					 p->router, net, bits);
		else if (router >= *lo && router <= *hi)
			err = pool_error(d, name, "the router %s is inside the range %s-%s",
					 p->router, p->range_start, p->range_end);
	}
	if (err == 0 && dns) {
		for (char *t = dns; t; t = strchr(t, ',') ? strchr(t, ',') + 1 : NULL)
			p->n_dns++;
		if (!(p->dns = calloc(p->n_dns, sizeof(*p->dns))))
			err = -ENOMEM;
		size_t i = 0;
		for (char *t = dns; err == 0 && t; i++) {
			char *comma = strchr(t, ',');
			if (comma)
				*comma = 0;
			if (!(p->dns[i] = strdup(t)))
				err = -ENOMEM;
			t = comma ? comma + 1 : NULL;
		}
	}
	free(range);
	free(lease);
	free(dns);
	return err;
}

int xp_server_pools(const struct xp_settings *s, struct xp_server_pool **v, size_t *n,
		    struct xp_diags *d)
{
	*v = NULL;
	*n = 0;
	char **names;
	size_t nn;
	int r = pool_names(s, &names, &nn);
	if (r < 0)
		return r;
	struct xp_server_pool *pools = calloc(nn ? nn : 1, sizeof(*pools));
	uint32_t(*ranges)[2] = calloc(nn ? nn : 1, sizeof(*ranges));
	if (!pools || !ranges)
		r = -ENOMEM;
	for (size_t i = 0; r != -ENOMEM && i < nn; i++) {
		int e = load_pool(s, names[i], &pools[i], &ranges[i][0], &ranges[i][1], d);
		if (e < 0) {
			ranges[i][0] = 1; /* overlaps nothing */
			ranges[i][1] = 0;
			r = r == 0 || e == -ENOMEM ? e : r;
			continue;
		}
		for (size_t k = 0; k < i; k++)
			if (ranges[k][0] <= ranges[i][1] && ranges[i][0] <= ranges[k][1])
				r = pool_error(d, names[i], "the range %s-%s overlaps pool %s's",
					       pools[i].range_start, pools[i].range_end, names[k]);
	}
	xp_strv_free(names, nn);
	free(ranges);
	if (r < 0) {
		xp_server_pools_free(pools, nn);
		return r;
	}
	*v = pools;
	*n = nn;
	return 0;
}
