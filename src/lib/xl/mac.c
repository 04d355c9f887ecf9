/*
 * mac.c - MAC-48 addresses: the strict reader, a reader that reproduces xl's reading of
 * `mac=` (tools/xl/xl_parse.c, parse_nic_config), printing, classification and random
 * generation inside a prefix.
 *
 * Not here: anything about vif specs beyond the address itself (vif-spec.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "xenprov/mac.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* isspace() in the C locale, without depending on the process's locale. */
static bool c_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int xp_mac_parse(const char *s, struct xp_mac *out)
{
	if (!s || !out)
		return -EINVAL;
	if (strlen(s) != XP_MAC_STRLEN)
		return -EINVAL;
	char sep = s[2];
	if (sep != ':' && sep != '-')
		return -EINVAL;
	struct xp_mac m;
	for (int i = 0; i < 6; i++) {
		const char *g = s + 3 * i;
		int hi = hexval(g[0]), lo = hexval(g[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < 5 && g[2] != sep)
			return -EINVAL;
		m.b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = m;
	return 0;
}

/*
 * strtoul(s, &end, 16) as glibc does it in the C locale: leading white space, an optional
 * sign, an optional "0x" (only when a hex digit follows), hex digits; no digits means
 * end = s; overflow saturates at ULONG_MAX; a '-' negates in unsigned arithmetic.
 * Written out rather than called so the result cannot depend on the locale.
 */
static unsigned long strtoul16(const char *s, const char **end)
{
	const char *p = s;
	while (c_isspace(*p))
		p++;
	bool neg = false;
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && hexval(p[2]) >= 0)
		p += 2;
	const char *digits = p;
	unsigned long v = 0;
	bool overflow = false;
	int d;
	while ((d = hexval(*p)) >= 0) {
		if (v > (ULONG_MAX >> 4))
			overflow = true;
		else
			v = v * 16 + (unsigned long)d;
		p++;
	}
	if (p == digits) {
		*end = s;
		return 0;
	}
	*end = p;
	if (overflow)
		return ULONG_MAX;
	return neg ? -v : v;
}

int xp_mac_parse_xl(const char *s, struct xp_mac *out, size_t *errpos)
{
	if (!s || !out)
		return -EINVAL;
	struct xp_mac m;
	const char *p = s;
	for (int i = 0; i < 6; i++) {
		if (i > 0) {
			/* xl steps over one separator character without looking at it;
			 * stepping over the terminating NUL reads outside the value. */
			if (*p == '\0') {
				if (errpos)
					*errpos = (size_t)(p - s);
				return -EBADMSG;
			}
			p++;
		}
		const char *end;
		/* xl stores strtoul's unsigned long in an unsigned int, then tests > 255. */
		unsigned int val = (unsigned int)strtoul16(p, &end);
		if (end == p || val > 255) {
			if (errpos)
				*errpos = (size_t)(p - s);
			return -EINVAL;
		}
		m.b[i] = (uint8_t)val;
		p = end;
	}
	struct xp_mac strict;
	int lenient = xp_mac_parse(s, &strict) < 0 || xp_mac_cmp(&strict, &m) != 0;
	*out = m;
	return lenient;
}

char *xp_mac_format(const struct xp_mac *m, char buf[XP_MAC_STRLEN + 1])
{
	snprintf(buf, XP_MAC_STRLEN + 1, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2],
		 m->b[3], m->b[4], m->b[5]);
	return buf;
}

bool xp_mac_is_multicast(const struct xp_mac *m)
{
	return m->b[0] & 0x01;
}

bool xp_mac_is_broadcast(const struct xp_mac *m)
{
	for (int i = 0; i < 6; i++)
		if (m->b[i] != 0xff)
			return false;
	return true;
}

bool xp_mac_is_zero(const struct xp_mac *m)
{
	for (int i = 0; i < 6; i++)
		if (m->b[i])
			return false;
	return true;
}

bool xp_mac_is_local(const struct xp_mac *m)
{
	return m->b[0] & 0x02;
}

bool xp_mac_is_xen_oui(const struct xp_mac *m)
{
	return m->b[0] == XP_MAC_XEN_OUI_0 && m->b[1] == XP_MAC_XEN_OUI_1 &&
	       m->b[2] == XP_MAC_XEN_OUI_2;
}

int xp_mac_cmp(const struct xp_mac *a, const struct xp_mac *b)
{
	return memcmp(a->b, b->b, sizeof(a->b));
}

int xp_mac_random(struct xp_mac *out, const uint8_t *prefix, size_t prefix_len, xp_random_fn rnd,
		  void *userdata)
{
	if (!out || !rnd || prefix_len > 5 || (prefix_len && !prefix))
		return -EINVAL;
	if (prefix_len && (prefix[0] & 0x01))
		return -EINVAL;
	/* An all-zero result needs an all-zero prefix and all-zero random bytes; libxl would
	 * take it for "no address", so draw again. 16 all-zero draws of >= 1 byte each is
	 * a broken source, not chance worth waiting for. */
	for (int attempt = 0; attempt < 16; attempt++) {
		struct xp_mac m;
		if (prefix_len)
			memcpy(m.b, prefix, prefix_len);
		int r = rnd(userdata, m.b + prefix_len, sizeof(m.b) - prefix_len);
		if (r < 0)
			return r;
		if (!prefix_len) {
			/* xl-network-configuration(5): first octet xxxxxx10. */
			m.b[0] = (uint8_t)((m.b[0] & 0xfc) | 0x02);
		}
		if (!xp_mac_is_zero(&m)) {
			*out = m;
			return 0;
		}
	}
	return -EAGAIN;
}

int xp_mac_random_xen(struct xp_mac *out, xp_random_fn rnd, void *userdata)
{
	static const uint8_t oui[3] = {XP_MAC_XEN_OUI_0, XP_MAC_XEN_OUI_1, XP_MAC_XEN_OUI_2};
	return xp_mac_random(out, oui, sizeof(oui), rnd, userdata);
}
