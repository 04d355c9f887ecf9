/*
 * mac.c - MAC-48 addresses as every room uses them (boot server, inventory, images,
 * deploys, the xl linter): the strict reader, prefixes, printing, classification and
 * random generation inside a prefix.
 *
 * Not here: xl's own lenient reading of `mac=` (xl/mac-xl.c), vif specs (xl/vif-spec.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/ctype.h"
#include "xenprov/mac.h"

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
		int hi = xp__hexval(g[0]), lo = xp__hexval(g[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < 5 && g[2] != sep)
			return -EINVAL;
		m.b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = m;
	return 0;
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

int xp_mac_prefix_parse(const char *s, uint8_t out[5], size_t *len)
{
	size_t n = 0;
	const char *p = s;
	for (;;) {
		int hi = xp__hexval(p[0]), lo = hi < 0 ? -1 : xp__hexval(p[1]);
		if (hi < 0 || lo < 0 || n == 5)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		p += 2;
		if (*p == 0)
			break;
		if (*p != ':' && *p != '-')
			return -EINVAL;
		p++;
	}
	if (out[0] & 1)
		return -EINVAL; /* multicast: no NIC may have it */
	*len = n;
	return 0;
}
