/*
 * pxelinux-net.c - what pxelinux derives from the network it booted from: the config
 * files it looks for (by MAC, by hex IP shortened, default), the IPAPPEND strings, and
 * where a file named in a config is fetched from. Pure: the domU network bootloader
 * feeds it the lease.
 *
 * Not here: reading configs (pxelinux.c), fetching (pxeboot/).
 *
 * pxelinux(1) "CONFIGURATION FILE" gives the search order; syslinux.cfg(5) IPAPPEND
 * the two strings; pxelinux(1) "PATH SYNTAX" (lpxelinux: URLs, "::" and "host::").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenprov/pxelinux.h"

size_t xp_pxelinux_search(const uint8_t mac[6], uint32_t ip, char names[][XP_PXELINUX_SEARCH_NAME])
{
	size_t n = 0;
	snprintf(names[n++], XP_PXELINUX_SEARCH_NAME, "pxelinux.cfg/01-%02x-%02x-%02x-%02x-%02x-%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	char hex[9];
	snprintf(hex, sizeof(hex), "%08X", ip);
	for (int len = 8; len >= 1; len--)
		snprintf(names[n++], XP_PXELINUX_SEARCH_NAME, "pxelinux.cfg/%.*s", len, hex);
	snprintf(names[n++], XP_PXELINUX_SEARCH_NAME, "pxelinux.cfg/default");
	return n;
}

static void add_ip(struct xp_buf *b, uint32_t ip)
{
	xp_buf_addf(b, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

int xp_pxelinux_ipappend(uint32_t flags, const struct xp_pxelinux_net *n, struct xp_buf *out)
{
	if (flags & 1) {
		xp_buf_adds(out, out->len ? " ip=" : "ip=");
		add_ip(out, n->ip);
		xp_buf_addc(out, ':');
		add_ip(out, n->server);
		xp_buf_addc(out, ':');
		add_ip(out, n->gateway);
		xp_buf_addc(out, ':');
		add_ip(out, n->netmask);
	}
	if (flags & 2)
		xp_buf_addf(out, "%sBOOTIF=01-%02x-%02x-%02x-%02x-%02x-%02x", out->len ? " " : "",
			    n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	int r = xp_buf_error(out);
	return r < 0 ? r : (int)(flags & ~3u & 0x7fffffffu);
}

/* The length of "scheme://host[:port]" of url, 0 if it is not an URL of ours. */
static size_t origin_len(const char *url)
{
	static const char *const schemes[] = {"tftp://", "http://", "https://"};
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(schemes[i]);
		if (!strncmp(url, schemes[i], l)) {
			const char *slash = strchr(url + l, '/');
			if (!slash || slash == url + l)
				return 0;
			return (size_t)(slash - url);
		}
	}
	return 0;
}

int xp_pxelinux_resolve(const char *base, const char *name, struct xp_buf *out)
{
	size_t ol = origin_len(base);
	if (!ol || base[strlen(base) - 1] != '/' || !name || !*name)
		return -EINVAL;
	const char *sep = strstr(name, "::");
	if (origin_len(name)) {
		xp_buf_adds(out, name);
	} else if (sep == name) {
		xp_buf_add(out, base, ol);
		xp_buf_addc(out, '/');
		xp_buf_adds(out, name + 2 + (name[2] == '/'));
	} else if (sep && !memchr(name, '/', (size_t)(sep - name))) {
		/* HOST::PATH, pxelinux's TFTP file on another server */
		xp_buf_adds(out, "tftp://");
		xp_buf_add(out, name, (size_t)(sep - name));
		xp_buf_addc(out, '/');
		xp_buf_adds(out, sep + 2);
	} else if (name[0] == '/') {
		xp_buf_add(out, base, ol);
		if (!strncmp(base, "tftp://", 7))
			xp_buf_addc(out, '/'); /* the TFTP name itself begins with '/' */
		xp_buf_adds(out, name);
	} else {
		xp_buf_adds(out, base);
		xp_buf_adds(out, name);
	}
	return xp_buf_error(out);
}
