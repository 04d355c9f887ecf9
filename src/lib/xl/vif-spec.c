/*
 * vif-spec.c - one xl `vif=` spec: parse (as tools/xl/xl_parse.c parse_nic_config and
 * tools/libs/util/libxlu_vif.c read it), canonical writer, libxl-style JSON.
 *
 * Not here: the config-file syntax around the spec, MAC syntax (mac.c).
 *
 * Behaviour follows xl-network-configuration(5) and, where the man page is silent, what
 * xl does: tokens split on every ',', leading spaces (only) stripped, keys matched as
 * "KEY=" prefixes (so exactly, case-sensitively), last repeated key wins.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/ctype.h"
#include "xenprov/xl-vif.h"

/* ---- the keys --------------------------------------------------------------------- */

enum kind {
	K_STR, /* a string field, value kept verbatim */
	K_TYPE,
	K_MAC,
	K_RATE,
	K_DEVID,
	K_MTU,
	K_NETDEV, /* deprecated alias of gatewaydev */
	K_ACCEL,  /* accepted by xl, ignored with a complaint */
	K_VLAN,	  /* string, Xen 4.19+ */
};

struct key {
	const char *name;
	enum kind kind;
	size_t off; /* of the char * field, for K_STR / K_NETDEV / K_VLAN */
};

#define STR(k, f)                                                                                  \
	{                                                                                          \
		k, K_STR, offsetof(struct xp_vif, f)                                               \
	}

/* Canonical order: xp_vif_format writes the keys in this order. Keys that fill the same
 * field share a duplicate-detection slot, see key_slot(). */
static const struct key keys[] = {
    {"mac", K_MAC, 0},
    STR("bridge", bridge),
    {"type", K_TYPE, 0},
    STR("model", model),
    STR("vifname", ifname),
    STR("script", script),
    STR("ip", ip),
    STR("gatewaydev", gatewaydev),
    STR("backend", backend_domname),
    {"rate", K_RATE, 0},
    {"devid", K_DEVID, 0},
    {"mtu", K_MTU, 0},
    {"vlan", K_VLAN, offsetof(struct xp_vif, vlan)},
    STR("forwarddev", coloft_forwarddev),
    STR("colo_sock_mirror_id", colo_sock_mirror_id),
    STR("colo_sock_mirror_ip", colo_sock_mirror_ip),
    STR("colo_sock_mirror_port", colo_sock_mirror_port),
    STR("colo_sock_compare_pri_in_id", colo_sock_compare_pri_in_id),
    STR("colo_sock_compare_pri_in_ip", colo_sock_compare_pri_in_ip),
    STR("colo_sock_compare_pri_in_port", colo_sock_compare_pri_in_port),
    STR("colo_sock_compare_sec_in_id", colo_sock_compare_sec_in_id),
    STR("colo_sock_compare_sec_in_ip", colo_sock_compare_sec_in_ip),
    STR("colo_sock_compare_sec_in_port", colo_sock_compare_sec_in_port),
    STR("colo_sock_compare_notify_id", colo_sock_compare_notify_id),
    STR("colo_sock_compare_notify_ip", colo_sock_compare_notify_ip),
    STR("colo_sock_compare_notify_port", colo_sock_compare_notify_port),
    STR("colo_sock_redirector0_id", colo_sock_redirector0_id),
    STR("colo_sock_redirector0_ip", colo_sock_redirector0_ip),
    STR("colo_sock_redirector0_port", colo_sock_redirector0_port),
    STR("colo_sock_redirector1_id", colo_sock_redirector1_id),
    STR("colo_sock_redirector1_ip", colo_sock_redirector1_ip),
    STR("colo_sock_redirector1_port", colo_sock_redirector1_port),
    STR("colo_sock_redirector2_id", colo_sock_redirector2_id),
    STR("colo_sock_redirector2_ip", colo_sock_redirector2_ip),
    STR("colo_sock_redirector2_port", colo_sock_redirector2_port),
    STR("colo_filter_mirror_queue", colo_filter_mirror_queue),
    STR("colo_filter_mirror_outdev", colo_filter_mirror_outdev),
    STR("colo_filter_redirector0_queue", colo_filter_redirector0_queue),
    STR("colo_filter_redirector0_indev", colo_filter_redirector0_indev),
    STR("colo_filter_redirector0_outdev", colo_filter_redirector0_outdev),
    STR("colo_filter_redirector1_queue", colo_filter_redirector1_queue),
    STR("colo_filter_redirector1_indev", colo_filter_redirector1_indev),
    STR("colo_filter_redirector1_outdev", colo_filter_redirector1_outdev),
    STR("colo_compare_pri_in", colo_compare_pri_in),
    STR("colo_compare_sec_in", colo_compare_sec_in),
    STR("colo_compare_out", colo_compare_out),
    STR("colo_compare_notify_dev", colo_compare_notify_dev),
    STR("colo_sock_sec_redirector0_id", colo_sock_sec_redirector0_id),
    STR("colo_sock_sec_redirector0_ip", colo_sock_sec_redirector0_ip),
    STR("colo_sock_sec_redirector0_port", colo_sock_sec_redirector0_port),
    STR("colo_sock_sec_redirector1_id", colo_sock_sec_redirector1_id),
    STR("colo_sock_sec_redirector1_ip", colo_sock_sec_redirector1_ip),
    STR("colo_sock_sec_redirector1_port", colo_sock_sec_redirector1_port),
    STR("colo_filter_sec_redirector0_queue", colo_filter_sec_redirector0_queue),
    STR("colo_filter_sec_redirector0_indev", colo_filter_sec_redirector0_indev),
    STR("colo_filter_sec_redirector0_outdev", colo_filter_sec_redirector0_outdev),
    STR("colo_filter_sec_redirector1_queue", colo_filter_sec_redirector1_queue),
    STR("colo_filter_sec_redirector1_indev", colo_filter_sec_redirector1_indev),
    STR("colo_filter_sec_redirector1_outdev", colo_filter_sec_redirector1_outdev),
    STR("colo_filter_sec_rewriter0_queue", colo_filter_sec_rewriter0_queue),
    STR("colo_checkpoint_host", colo_checkpoint_host),
    STR("colo_checkpoint_port", colo_checkpoint_port),
    /* Not written by the formatter: */
    {"netdev", K_NETDEV, offsetof(struct xp_vif, gatewaydev)},
    {"accel", K_ACCEL, 0},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
/* Slot for the trusted/untrusted flags, after the keys. */
#define SLOT_TRUST NKEYS

static char **str_field(struct xp_vif *v, size_t off)
{
	return (char **)((char *)v + off);
}

static char *const *cstr_field(const struct xp_vif *v, size_t off)
{
	return (char *const *)((const char *)v + off);
}

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

/* Keys that fill the same field share the slot of the first such key. */
static size_t key_slot(const struct key *k)
{
	if (k->kind == K_NETDEV)
		return (size_t)(find_key("gatewaydev", 10) - keys);
	return (size_t)(k - keys);
}

/* ---- init / release --------------------------------------------------------------- */

void xp_vif_init(struct xp_vif *v)
{
	memset(v, 0, sizeof(*v));
	v->devid = -1;
}

void xp_vif_release(struct xp_vif *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].kind == K_STR || keys[i].kind == K_VLAN)
			free(*str_field(v, keys[i].off));
	xp_vif_init(v);
}

bool xp_vif_equal(const struct xp_vif *a, const struct xp_vif *b)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].kind != K_STR && keys[i].kind != K_VLAN)
			continue;
		const char *x = *cstr_field(a, keys[i].off), *y = *cstr_field(b, keys[i].off);
		if (!x != !y || (x && strcmp(x, y) != 0))
			return false;
	}
	return a->backend_domid == b->backend_domid && a->devid == b->devid && a->mtu == b->mtu &&
	       xp_mac_cmp(&a->mac, &b->mac) == 0 && a->nictype == b->nictype &&
	       a->rate_bytes_per_interval == b->rate_bytes_per_interval &&
	       a->rate_interval_usecs == b->rate_interval_usecs && a->trusted == b->trusted;
}

/* ---- rate= (libxlu_vif.c) --------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * strtoull(p, &end, 0) for p starting with a decimal digit, as glibc does it: a leading
 * '0' makes the number octal (the "0x" form cannot occur here, the patterns exclude
 * 'x'), reading stops at the first digit not of the base, overflow saturates. Returns
 * the end.
 */
static const char *scan_c_number(const char *p, uint64_t *val)
{
	unsigned base = *p == '0' ? 8 : 10;
	uint64_t v = 0;
	bool overflow = false;
	while (*p >= '0' && *p < (char)('0' + base)) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / base)
			overflow = true;
		else
			v = v * base + d;
		p++;
	}
	*val = overflow ? UINT64_MAX : v;
	return p;
}

/* ^[0-9]+[GMK]?[Bb]/s$ */
static bool match_rate(const char *s)
{
	if (!is_digit(*s))
		return false;
	while (is_digit(*s))
		s++;
	if (*s == 'G' || *s == 'M' || *s == 'K')
		s++;
	if (*s != 'B' && *s != 'b')
		return false;
	s++;
	return strcmp(s, "/s") == 0;
}

/* ^[0-9]+[mu]?s?$ */
static bool match_interval(const char *s)
{
	if (!is_digit(*s))
		return false;
	while (is_digit(*s))
		s++;
	if (*s == 'm' || *s == 'u')
		s++;
	if (*s == 's')
		s++;
	return *s == '\0';
}

static int fail(const char **why, size_t *errpos, const char *msg, size_t pos, int err)
{
	if (why)
		*why = msg;
	if (errpos)
		*errpos = pos;
	return err;
}

int xp_vif_parse_rate_ex(const char *rate, uint64_t *bytes_per_interval, uint32_t *interval_usecs,
			 const char **why, size_t *errpos)
{
	if (!rate || !bytes_per_interval || !interval_usecs)
		return fail(why, errpos, "invalid argument", 0, -EINVAL);
	size_t len = strnlen(rate, XP_VIF_SPEC_MAX + 1);
	if (len > XP_VIF_SPEC_MAX)
		return fail(why, errpos, "invalid rate", 0, -EINVAL);
	char buf[XP_VIF_SPEC_MAX + 1];
	memcpy(buf, rate, len + 1);

	/* The first '@' splits rate from interval; later ones fail the interval pattern. */
	char *at = strchr(buf, '@');
	if (at)
		*at++ = '\0';
	if (buf[0] == '\0')
		return fail(why, errpos, "no rate specified", 0, -EINVAL);

	if (!match_rate(buf))
		return fail(why, errpos, "invalid rate", 0, -EINVAL);
	uint64_t bps;
	const char *p = scan_c_number(buf, &bps);
	if (bps == 0 || bps > UINT32_MAX)
		return fail(why, errpos, "rate overflow", 0, -EOVERFLOW);
	/* libxlu tests the character after the number, then the one after that: with an
	 * octal number cut short ("019Kb/s") neither is a unit and the rate stays as read. */
	if (*p == 'G')
		bps *= 1000 * 1000 * 1000;
	else if (*p == 'M')
		bps *= 1000 * 1000;
	else if (*p == 'K')
		bps *= 1000;
	if (*p == 'b' || p[1] == 'b')
		bps /= 8;

	uint64_t usecs = 50000; /* default 50ms */
	if (at) {
		size_t ipos = (size_t)(at - buf);
		if (!match_interval(at))
			return fail(why, errpos, "invalid replenishment interval", ipos, -EINVAL);
		p = scan_c_number(at, &usecs);
		if (usecs == 0 || usecs > UINT32_MAX)
			return fail(why, errpos, "replenishment interval overflow", ipos,
				    -EOVERFLOW);
		/* No unit means seconds, like 's'; "us" and "u" leave microseconds. */
		if (*p == 's' || *p == '\0')
			usecs *= 1000 * 1000;
		else if (*p == 'm')
			usecs *= 1000;
		if (usecs > UINT32_MAX)
			return fail(why, errpos, "replenishment interval overflow", ipos,
				    -EOVERFLOW);
	}
	if (bps > UINT64_MAX / usecs)
		return fail(why, errpos, "rate overflow", 0, -EOVERFLOW);

	*bytes_per_interval = bps * usecs / 1000000;
	*interval_usecs = (uint32_t)usecs;
	if (why)
		*why = NULL;
	return 0;
}

int xp_vif_parse_rate(const char *rate, uint64_t *bytes_per_interval, uint32_t *interval_usecs)
{
	return xp_vif_parse_rate_ex(rate, bytes_per_interval, interval_usecs, NULL, NULL);
}

__extension__ typedef unsigned __int128 u128;

int xp_vif_format_rate(uint64_t bytes_per_interval, uint32_t interval_usecs, struct xp_buf *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult; /* bytes per second per count */
		bool bits;
	} units[] = {
	    {"GB", 1000000000, false}, {"MB", 1000000, false}, {"KB", 1000, false}, {"B", 1, false},
	    {"Gb", 1000000000, true},  {"Mb", 1000000, true},  {"Kb", 1000, true},
	};
	const uint64_t b = bytes_per_interval, i = interval_usecs;
	if (i == 0)
		return -EINVAL;
	char rate[48];
	if (b == 0) {
		/* "1b/s" is 1/8 = 0 bytes per second, the only way to say zero. */
		snprintf(rate, sizeof(rate), "1b/s");
	} else {
		/* Any bytes_per_sec in [lo, hi] gives b: floor(bps * i / 1e6) == b. */
		u128 lo = ((u128)b * 1000000 + i - 1) / i;
		u128 hi = (((u128)b + 1) * 1000000 - 1) / i;
		if (lo > UINT64_MAX / i)
			return -EINVAL;
		if (hi > UINT64_MAX / i)
			hi = UINT64_MAX / i;
		rate[0] = '\0';
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]) && !rate[0]; u++) {
			/* Bits: count * mult / 8, exact for mult >= 1000. */
			u128 per = units[u].bits ? units[u].mult / 8 : units[u].mult;
			u128 k = (lo + per - 1) / per;
			if (k == 0 || k > UINT32_MAX || k * per > hi)
				continue;
			snprintf(rate, sizeof(rate), "%llu%s/s", (unsigned long long)k,
				 units[u].suffix);
		}
		if (!rate[0])
			return -EINVAL;
	}
	xp_buf_adds(out, rate);
	if (i != 50000) {
		if (i % 1000000 == 0)
			xp_buf_addf(out, "@%llus", (unsigned long long)(i / 1000000));
		else if (i % 1000 == 0)
			xp_buf_addf(out, "@%llums", (unsigned long long)(i / 1000));
		else
			xp_buf_addf(out, "@%lluus", (unsigned long long)i);
	}
	return xp_buf_error(out);
}

/* ---- parsing ---------------------------------------------------------------------- */

struct ctx {
	struct xp_vif *v;
	struct xp_diags *diags;
	const char *file;
	unsigned line, col;
	unsigned errors;
	int oom;
	bool seen[NKEYS + 1];
};

static void diag(struct ctx *c, enum xp_severity sev, size_t pos, const char *code,
		 const char *text, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void diag(struct ctx *c, enum xp_severity sev, size_t pos, const char *code,
		 const char *text, const char *hint, const char *fmt, ...)
{
	if (sev == XP_SEV_ERROR)
		c->errors++;
	if (!c->diags)
		return;
	unsigned col = c->col + (pos > UINT_MAX - c->col ? UINT_MAX - c->col : (unsigned)pos);
	va_list ap;
	va_start(ap, fmt);
	if (xp_diags_addv(c->diags, sev, c->file, c->line, col, code, text, hint, fmt, ap) < 0)
		c->oom = -ENOMEM;
	va_end(ap);
}

/*
 * xl's parse_ulong(): strtoul(s, &end, 10), failing when nothing was read or the result
 * is ULONG_MAX (overflow, or "-1"); trailing text is ignored. The caller stores it in an
 * int, keeping the low 32 bits. *clean says whether s was plain digits within int range.
 */
static bool xl_parse_ulong_int(const char *s, int *out, bool *clean)
{
	const char *p;
	unsigned long v = xp__strtoul_c(s, &p, 10);
	if (p == s || v == ULONG_MAX)
		return false;
	/* int = unsigned long: the low 32 bits, as two's complement (gcc's conversion). */
	uint32_t low = (uint32_t)v;
	*out = low <= INT_MAX ? (int)low : (int)(low - 0x80000000u) + INT_MIN;
	*clean = (*s >= '0' && *s <= '9') && *p == '\0' && v <= INT_MAX;
	return true;
}

static int set_string(struct ctx *c, char **field, const char *value)
{
	char *s = strdup(value);
	if (!s)
		return c->oom = -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/* The closest key or flag to a misspelt one, or NULL. */
static const char *suggest(const char *name, size_t len)
{
	char buf[64];
	if (len >= sizeof(buf))
		return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	const char *best = NULL;
	unsigned best_d = 3;
	static const char *const flags[] = {"trusted", "untrusted"};
	for (size_t i = 0; i < NKEYS + 2; i++) {
		const char *cand = i < NKEYS ? keys[i].name : flags[i - NKEYS];
		unsigned d = xp_edit_distance(buf, cand, 2);
		if (strcasecmp(buf, cand) == 0)
			d = 0;
		if (d < best_d && d < len) {
			best_d = d;
			best = cand;
		}
	}
	return best;
}

static void handle_value(struct ctx *c, const struct key *k, const char *value, size_t vpos)
{
	struct xp_vif *v = c->v;
	switch (k->kind) {
	case K_STR:
	case K_VLAN:
	case K_NETDEV: {
		size_t n = strlen(value);
		if (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			diag(c, XP_SEV_WARNING, vpos, "trailing-space", value, NULL,
			     "value of '%s' ends in blanks, which xl keeps as part of it", k->name);
		if (k->kind == K_NETDEV)
			diag(c, XP_SEV_WARNING, vpos - 7, "deprecated", "netdev",
			     "use gatewaydev=", "'netdev' is a deprecated alias of 'gatewaydev'");
		if (k->kind == K_VLAN)
			diag(c, XP_SEV_WARNING, vpos - 5, "newer-xen", "vlan", NULL,
			     "'vlan' needs Xen 4.19 or later; older xl ignore it");
		set_string(c, str_field(v, k->off), value);
		return;
	}
	case K_ACCEL:
		diag(c, XP_SEV_WARNING, vpos - 6, "unsupported", "accel", NULL,
		     "xl does not support 'accel' for vifs and ignores it");
		return;
	case K_TYPE:
		if (strcmp(value, "vif") == 0)
			v->nictype = XP_NIC_TYPE_VIF;
		else if (strcmp(value, "ioemu") == 0)
			v->nictype = XP_NIC_TYPE_VIF_IOEMU;
		else
			diag(c, XP_SEV_ERROR, vpos, "bad-type", value, "use type=vif or type=ioemu",
			     "invalid vif type");
		return;
	case K_MAC: {
		struct xp_mac m;
		size_t epos = 0;
		int r = xp_mac_parse_xl(value, &m, &epos);
		if (r == -EBADMSG) {
			diag(c, XP_SEV_ERROR, vpos + epos, "bad-mac", value,
			     "write six groups: xx:xx:xx:xx:xx:xx",
			     "MAC address with fewer than six groups");
			return;
		}
		if (r < 0) {
			diag(c, XP_SEV_ERROR, vpos + epos, "bad-mac", value,
			     "write six groups of two hex digits: xx:xx:xx:xx:xx:xx",
			     "invalid MAC address");
			return;
		}
		char canon[XP_MAC_STRLEN + 1];
		xp_mac_format(&m, canon);
		if (r > 0)
			diag(c, XP_SEV_WARNING, vpos, "mac-form", value, NULL,
			     "xl reads this MAC address as %s", canon);
		if (xp_mac_is_multicast(&m))
			diag(c, XP_SEV_WARNING, vpos, "mac-multicast", value,
			     "clear bit 0 of the first octet",
			     "MAC address %s is a multicast address; a NIC needs a unicast one",
			     canon);
		else if (xp_mac_is_zero(&m))
			diag(c, XP_SEV_WARNING, vpos, "mac-zero", value, "leave mac= out instead",
			     "MAC address 00:00:00:00:00:00 means 'not set': libxl generates one");
		v->mac = m;
		return;
	}
	case K_RATE: {
		const char *why = NULL;
		size_t epos = 0;
		uint64_t bpi;
		uint32_t us;
		if (xp_vif_parse_rate_ex(value, &bpi, &us, &why, &epos) < 0) {
			diag(c, XP_SEV_ERROR, vpos + epos, "bad-rate", value,
			     "write RATE/s[@INTERVAL], e.g. 10Mb/s or 1MB/s@20ms", "%s", why);
			return;
		}
		v->rate_bytes_per_interval = bpi;
		v->rate_interval_usecs = us;
		return;
	}
	case K_DEVID:
	case K_MTU: {
		int n;
		bool clean;
		if (!xl_parse_ulong_int(value, &n, &clean)) {
			diag(c, XP_SEV_ERROR, vpos, "bad-number", value, NULL,
			     "invalid %s: xl needs a decimal number", k->name);
			return;
		}
		if (!clean)
			diag(c, XP_SEV_WARNING, vpos, "number-form", value, NULL,
			     "xl reads this %s as %d", k->name, n);
		if (k->kind == K_DEVID)
			v->devid = n;
		else
			v->mtu = n;
		return;
	}
	}
}

static void handle_token(struct ctx *c, const char *tok, size_t pos)
{
	bool trusted = strcmp(tok, "trusted") == 0;
	if (trusted || strcmp(tok, "untrusted") == 0) {
		if (c->seen[SLOT_TRUST])
			diag(c, XP_SEV_WARNING, pos, "duplicate-key", tok, NULL,
			     "trusted/untrusted given again; xl uses the last one");
		c->seen[SLOT_TRUST] = true;
		c->v->trusted = trusted ? XP_TRI_TRUE : XP_TRI_FALSE;
		return;
	}
	const char *eq = strchr(tok, '=');
	const struct key *k = eq ? find_key(tok, (size_t)(eq - tok)) : NULL;
	if (!k) {
		size_t nlen = eq ? (size_t)(eq - tok) : strlen(tok);
		const char *known = eq ? NULL : find_key(tok, nlen) ? tok : NULL;
		const char *best = known ? NULL : suggest(tok, nlen);
		char hint[128];
		if (known)
			snprintf(hint, sizeof(hint), "'%s' needs a value: %s=VALUE", tok, tok);
		else if (best)
			snprintf(hint, sizeof(hint), "did you mean '%s'?", best);
		if (tok[0] == '\0')
			diag(c, XP_SEV_WARNING, pos, "unknown-key", tok, NULL,
			     "empty vif setting; xl ignores it");
		else
			diag(c, XP_SEV_WARNING, pos, "unknown-key", tok,
			     known || best ? hint : NULL,
			     "unknown vif setting '%.*s'; xl ignores it",
			     (int)(nlen > 64 ? 64 : nlen), tok);
		return;
	}
	size_t slot = key_slot(k);
	if (c->seen[slot] && k->kind != K_ACCEL)
		diag(c, XP_SEV_WARNING, pos, "duplicate-key", tok, NULL,
		     "'%s' given again; xl uses the last one", k->name);
	c->seen[slot] = true;
	handle_value(c, k, eq + 1, pos + (size_t)(eq + 1 - tok));
}

int xp_vif_parse_at(const char *spec, struct xp_vif *out, struct xp_diags *diags, const char *file,
		    unsigned line, unsigned col)
{
	if (!spec || !out)
		return -EINVAL;
	xp_vif_init(out);
	struct ctx c = {.v = out, .diags = diags, .file = file, .line = line, .col = col};
	size_t len = strnlen(spec, XP_VIF_SPEC_MAX + 1);
	if (len > XP_VIF_SPEC_MAX) {
		diag(&c, XP_SEV_ERROR, 0, "too-long", NULL, NULL, "vif spec longer than %d bytes",
		     XP_VIF_SPEC_MAX);
		return c.oom ? c.oom : -E2BIG;
	}
	char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, spec, len + 1);

	/* strtok(",") semantics: empty tokens vanish; then leading spaces go. */
	char *p = buf;
	while (*p && !c.oom) {
		if (*p == ',') {
			p++;
			continue;
		}
		char *end = strchr(p, ',');
		bool last = !end;
		if (last)
			end = p + strlen(p);
		*end = '\0';
		char *tok = p;
		while (*tok == ' ')
			tok++;
		handle_token(&c, tok, (size_t)(tok - buf));
		p = last ? end : end + 1;
	}
	free(buf);
	if (c.oom) {
		xp_vif_release(out);
		return c.oom;
	}
	if (c.errors) {
		xp_vif_release(out);
		return -EBADMSG;
	}
	return 0;
}

int xp_vif_parse(const char *spec, struct xp_vif *out, struct xp_diags *diags)
{
	return xp_vif_parse_at(spec, out, diags, NULL, 1, 1);
}

/* ---- writing ---------------------------------------------------------------------- */

static void add_key(struct xp_buf *out, const char *key)
{
	if (out->len)
		xp_buf_addc(out, ',');
	xp_buf_adds(out, key);
	xp_buf_addc(out, '=');
}

/* xl reads "-1" as a failure (strtoul gives ULONG_MAX), so a negative int is written as
 * the unsigned 32-bit number whose low bits xl keeps: -5 as 4294967291. */
static void add_xl_int(struct xp_buf *out, int n)
{
	if (n < 0)
		xp_buf_addf(out, "%u", (unsigned)n);
	else
		xp_buf_addf(out, "%d", n);
}

int xp_vif_format(const struct xp_vif *v, struct xp_buf *out)
{
	if (!v || !out)
		return -EINVAL;
	if ((unsigned)v->nictype > XP_NIC_TYPE_VIF || (unsigned)v->trusted > XP_TRI_FALSE)
		return -EINVAL;
	for (size_t i = 0; i < NKEYS; i++) {
		const char *s = keys[i].kind == K_STR || keys[i].kind == K_VLAN
				    ? *cstr_field(v, keys[i].off)
				    : NULL;
		if (s && strchr(s, ','))
			return -EINVAL;
	}
	if ((v->rate_bytes_per_interval || v->rate_interval_usecs) && !v->rate_interval_usecs)
		return -EINVAL;

	struct xp_buf b = XP_BUF_INIT;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		switch (k->kind) {
		case K_STR:
		case K_VLAN: {
			const char *s = *cstr_field(v, k->off);
			if (s) {
				add_key(&b, k->name);
				xp_buf_adds(&b, s);
			}
			break;
		}
		case K_MAC:
			if (!xp_mac_is_zero(&v->mac)) {
				char m[XP_MAC_STRLEN + 1];
				add_key(&b, k->name);
				xp_buf_adds(&b, xp_mac_format(&v->mac, m));
			}
			break;
		case K_TYPE:
			if (v->nictype != XP_NIC_TYPE_UNKNOWN) {
				add_key(&b, k->name);
				xp_buf_adds(&b, v->nictype == XP_NIC_TYPE_VIF ? "vif" : "ioemu");
			}
			break;
		case K_RATE:
			if (v->rate_interval_usecs) {
				add_key(&b, k->name);
				if (xp_vif_format_rate(v->rate_bytes_per_interval,
						       v->rate_interval_usecs, &b) == -EINVAL) {
					xp_buf_release(&b);
					return -EINVAL;
				}
			}
			break;
		case K_DEVID:
			if (v->devid != -1) {
				add_key(&b, k->name);
				add_xl_int(&b, v->devid);
			}
			break;
		case K_MTU:
			if (v->mtu != 0) {
				add_key(&b, k->name);
				add_xl_int(&b, v->mtu);
			}
			break;
		case K_NETDEV:
		case K_ACCEL:
			break;
		}
	}
	if (v->trusted != XP_TRI_DEFAULT) {
		if (b.len)
			xp_buf_addc(&b, ',');
		xp_buf_adds(&b, v->trusted == XP_TRI_TRUE ? "trusted" : "untrusted");
	}
	int r = xp_buf_error(&b);
	if (r >= 0)
		xp_buf_add(out, b.s ? b.s : "", b.len);
	xp_buf_release(&b);
	return r < 0 ? r : xp_buf_error(out);
}

/* ---- JSON as libxl prints it -------------------------------------------------------- */

static void json_str(struct xp_buf *out, const char *s)
{
	xp_buf_addc(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			xp_buf_addc(out, '\\');
			xp_buf_addc(out, (char)*p);
		} else if (*p < 0x20) {
			xp_buf_addf(out, "\\u%04x", *p);
		} else {
			xp_buf_addc(out, (char)*p);
		}
	}
	xp_buf_addc(out, '"');
}

static void json_key(struct xp_buf *out, bool *first, const char *name)
{
	if (!*first)
		xp_buf_addc(out, ',');
	*first = false;
	json_str(out, name);
	xp_buf_addc(out, ':');
}

static void json_opt_str(struct xp_buf *out, bool *first, const char *name, const char *s)
{
	if (s) {
		json_key(out, first, name);
		json_str(out, s);
	}
}

int xp_vif_to_json(const struct xp_vif *v, struct xp_buf *out)
{
	if (!v || !out)
		return -EINVAL;
	bool first = true;
	char m[XP_MAC_STRLEN + 1];
	xp_buf_addc(out, '{');
	/* libxl_device_nic's field order (libxl_types.idl); a field at its default value
	 * (0, NULL, all-zero MAC, devid -1, defbool unset) is left out, as gentypes.py's
	 * generated *_gen_json does. */
	if (v->backend_domid) {
		json_key(out, &first, "backend_domid");
		xp_buf_addf(out, "%lu", (unsigned long)v->backend_domid);
	}
	json_opt_str(out, &first, "backend_domname", v->backend_domname);
	if (v->devid != -1) {
		json_key(out, &first, "devid");
		xp_buf_addf(out, "%d", v->devid);
	}
	if (v->mtu) {
		json_key(out, &first, "mtu");
		xp_buf_addf(out, "%d", v->mtu);
	}
	json_opt_str(out, &first, "vlan", v->vlan);
	json_opt_str(out, &first, "model", v->model);
	if (!xp_mac_is_zero(&v->mac)) {
		json_key(out, &first, "mac");
		json_str(out, xp_mac_format(&v->mac, m));
	}
	json_opt_str(out, &first, "ip", v->ip);
	json_opt_str(out, &first, "bridge", v->bridge);
	json_opt_str(out, &first, "ifname", v->ifname);
	json_opt_str(out, &first, "script", v->script);
	if (v->nictype != XP_NIC_TYPE_UNKNOWN) {
		json_key(out, &first, "nictype");
		json_str(out, v->nictype == XP_NIC_TYPE_VIF	    ? "vif"
			      : v->nictype == XP_NIC_TYPE_VIF_IOEMU ? "vif_ioemu"
								    : "unknown");
	}
	if (v->rate_bytes_per_interval) {
		json_key(out, &first, "rate_bytes_per_interval");
		xp_buf_addf(out, "%llu", (unsigned long long)v->rate_bytes_per_interval);
	}
	if (v->rate_interval_usecs) {
		json_key(out, &first, "rate_interval_usecs");
		xp_buf_addf(out, "%lu", (unsigned long)v->rate_interval_usecs);
	}
	json_opt_str(out, &first, "gatewaydev", v->gatewaydev);
	json_opt_str(out, &first, "coloft_forwarddev", v->coloft_forwarddev);
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].kind == K_STR && strncmp(keys[i].name, "colo_", 5) == 0)
			json_opt_str(out, &first, keys[i].name, *cstr_field(v, keys[i].off));
	if (v->trusted != XP_TRI_DEFAULT) {
		json_key(out, &first, "trusted");
		json_str(out, v->trusted == XP_TRI_TRUE ? "True" : "False");
	}
	xp_buf_addc(out, '}');
	return xp_buf_error(out);
}
