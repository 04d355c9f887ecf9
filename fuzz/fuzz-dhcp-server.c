/*
 * fuzz-dhcp-server.c - libFuzzer target for the DHCP server state machine
 * (dhcp-server.c over dhcp-msg.c). One input is a sequence of records, each one packet
 * fed to a normal and a ProxyDHCP server with time advancing; records are either raw
 * datagrams or options under a well-formed header (so the fuzzer reaches the state
 * machine), and some also clear the change log, list leases or reconfigure.
 * Record: cmd, dt, len, then len bytes. cmd bit 0: templated header; bit 1: from port
 * 4011; bit 2: received on the relayed network's side; bit 3: clear changes; bit 4: list
 * leases; bit 5: reconfigure (alternating two configs).
 * Checked: every return code is one the header documents, a failure says why, replies
 * parse, fit the size limit, and offer only our addresses; leases stay bounded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const struct xp_dhcp_pool pools[] = {
    {"lan", IP(10, 0, 0, 100), IP(10, 0, 0, 107), IP(255, 255, 255, 0), IP(10, 0, 0, 254),
     {IP(10, 0, 0, 1)}, 1, "example.test", 60},
    {"relayed", IP(10, 1, 0, 10), IP(10, 1, 0, 12), IP(255, 255, 255, 0), IP(10, 1, 0, 1),
     {IP(10, 0, 0, 1)}, 1, "", 30},
};

static const struct xp_dhcp_host hosts[] = {
    {{0x52, 0x54, 0x00, 0x00, 0x00, 0x01}, IP(10, 0, 0, 50), "web1", "web1", true},
    {{0x52, 0x54, 0x00, 0x00, 0x00, 0x02}, 0, "noboot", "noboot", false},
    {{0x52, 0x54, 0x00, 0x00, 0x00, 0x03}, IP(10, 0, 0, 101), "inpool", "inpool", true},
};

static struct xp_dhcp_config config(bool proxy, int variant)
{
	struct xp_dhcp_config c;
	memset(&c, 0, sizeof(c));
	c.server_ip = IP(10, 0, 0, 1);
	c.pools = pools;
	c.n_pools = variant ? 1 : 2;
	c.hosts = hosts;
	c.n_hosts = variant ? 2 : 3;
	c.bios_file = "pxelinux.0";
	c.efi64_file = variant ? "" : "grubx64.efi";
	c.http_base = variant ? NULL : "http://10.0.0.1:8080";
	c.proxy = proxy;
	c.offer_hold = 5;
	c.rate_burst = 4;
	c.rate_per_sec = 2;
	return c;
}

static bool ours(uint32_t ip)
{
	if (ip == 0)
		return true;
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		if (ip >= pools[i].start && ip <= pools[i].end)
			return true;
	return ip == IP(10, 0, 0, 50);
}

static void check(int r, const char *why, const struct xp_dhcp_tx *tx, bool proxy)
{
	static struct xp_dhcp_msg m;
	switch (r) {
	case 1:
		if (tx->len < 300 || tx->len > XP_DHCP_MAX_PKT - 28)
			abort();
		if (xp_dhcp_msg_parse(tx->buf, tx->len, &m) != 0 || m.h.op != XP_BOOTREPLY)
			abort();
		uint8_t t;
		if (xp_dhcp_msg_u8(&m, 53, &t) != 0 ||
		    (t != XP_DHCPOFFER && t != XP_DHCPACK && t != XP_DHCPNAK))
			abort();
		if (!ours(m.h.yiaddr) || (proxy && m.h.yiaddr))
			abort();
		if (!tx->dst_ip || !tx->dst_port)
			abort();
		break;
	case 0:
		if (tx->len)
			abort();
		break;
	case -EBADMSG:
	case -ENOSPC:
	case -EAGAIN:
	case -EMSGSIZE:
	case -ENOBUFS:
		if (!why || tx->len)
			abort();
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 0: a server of its own, 1: ProxyDHCP, 2: a server sharing its pools
	 * (report_offers), told now and then that another server's client holds an
	 * address it chose */
	struct xp_dhcp_server *s[3];
	for (int k = 0; k < 3; k++) {
		struct xp_dhcp_config c = config(k == 1, 0);
		c.report_offers = k == 2;
		if (xp_dhcp_server_new(&c, &s[k]) != 0)
			abort();
	}
	static struct xp_dhcp_tx tx;
	static uint8_t pkt[4096];
	int64_t now = 1000000;
	int variant = 0;
	size_t i = 0;
	while (i + 3 <= size) {
		uint8_t cmd = data[i], dt = data[i + 1];
		size_t len = data[i + 2] * 4u;
		i += 3;
		if (len > size - i)
			len = size - i;
		const uint8_t *d = data + i;
		i += len;
		now += dt % 16;
		size_t plen;
		if (cmd & 1) {
			memset(pkt, 0, 240);
			pkt[0] = 1;
			pkt[1] = 1;
			pkt[2] = 6;
			pkt[28] = 0x52;
			pkt[29] = 0x54;
			if (len > 0)
				pkt[33] = d[0] & 7; /* a few clients */
			if (len > 1 && d[1] & 0x80)
				pkt[15] = (uint8_t)(100 + (d[1] & 7)), pkt[12] = 10;
			if (len > 1 && d[1] & 0x40)
				pkt[24] = 10, pkt[25] = 1, pkt[27] = 1;
			if (len > 1 && d[1] & 0x20)
				pkt[10] = 0x80;
			pkt[236] = 99, pkt[237] = 130, pkt[238] = 83, pkt[239] = 99;
			size_t ol = len > 2 ? len - 2 : 0;
			memcpy(pkt + 240, d + (len - ol), ol);
			plen = 240 + ol;
		} else {
			memcpy(pkt, d, len);
			plen = len;
		}
		struct xp_dhcp_rx rx = {IP(10, 0, 0, 100), (cmd & 2) ? 4011 : 68,
					(cmd & 4) ? IP(10, 1, 0, 2) : IP(10, 0, 0, 1), now};
		for (int k = 0; k < 3; k++) {
			const char *why = NULL;
			int r = xp_dhcp_server_handle(s[k], pkt, plen, &rx, &tx, &why);
			check(r, why, &tx, k == 1);
			const struct xp_dhcp_lease *v;
			size_t n = xp_dhcp_server_changes(s[k], &v);
			if (n > 65536)
				abort();
			for (size_t j = 0; j < n; j++)
				if (!ours(v[j].ip) || !v[j].client_len ||
				    (v[j].state == XP_LEASE_OFFERED &&
				     (k != 2 || v[j].expires > now + 5)))
					abort();
			if (k == 2 && n && (cmd & 64)) {
				/* the last change's address was another client's after all */
				struct xp_dhcp_lease h = v[n - 1];
				h.client[h.client_len - 1] ^= 0x40;
				h.expires = now + (dt & 7);
				h.state = dt & 8 ? XP_LEASE_OFFERED : XP_LEASE_BOUND;
				xp_dhcp_server_changes_clear(s[k]);
				if (xp_dhcp_server_restore(s[k], &h, 1, now) < 0)
					abort();
			}
			if (cmd & 8)
				xp_dhcp_server_changes_clear(s[k]);
			if ((cmd & 16) && xp_dhcp_server_leases(s[k], &v) > 8 + 3 + 2)
				abort();
			if (cmd & 32) {
				variant ^= 1;
				struct xp_dhcp_config c = config(k == 1, variant);
				c.report_offers = k == 2;
				if (xp_dhcp_server_reconfigure(s[k], &c) != 0)
					abort();
			}
		}
	}
	/* restore what the normal server holds into a fresh one: everything fits */
	const struct xp_dhcp_lease *v;
	size_t n = xp_dhcp_server_leases(s[0], &v);
	struct xp_dhcp_server *fresh;
	struct xp_dhcp_config c = config(false, variant);
	if (xp_dhcp_server_new(&c, &fresh) != 0)
		abort();
	int r = xp_dhcp_server_restore(fresh, v, n, now);
	if (r < 0 || (size_t)r != n)
		abort();
	xp_dhcp_server_free(fresh);
	xp_dhcp_server_free(s[0]);
	xp_dhcp_server_free(s[1]);
	xp_dhcp_server_free(s[2]);
	return 0;
}
