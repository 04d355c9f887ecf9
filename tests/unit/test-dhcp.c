/*
 * test-dhcp.c - unit tests for the DHCPv4 engine (dhcp-msg.c, dhcp-server.c).
 * Table-driven: every malformed message with its exact reason, RFC 3396 merging and
 * splitting, option overload, the builder's limits; the server's exchanges (DORA,
 * INIT-REBOOT, RENEWING, REBINDING, NAK cases, RELEASE, DECLINE, INFORM), relays, PXE,
 * iPXE and ProxyDHCP boot files, option 55 order, 57 limits, exhaustion, expiry, restore,
 * rate limits and reconfiguration. Packets are built with the library's own builder and
 * checked byte by byte on the wire where order matters.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenprov/dhcp.h"

#define N(a)		  (sizeof(a) / sizeof((a)[0]))
#define IP(a, b, c, d)	  ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define SERVER		  IP(10, 0, 0, 1)
#define T0		  1000000

/* ---- packets ------------------------------------------------------------------------- */

struct opt {
	uint8_t code;
	size_t len;
	const char *data;
};

#define O(c, s) {c, sizeof(s) - 1, s}

struct pk {
	uint8_t type; /* 0: no option 53 */
	uint8_t macn; /* last byte of the MAC 52:54:00:12:34:xx */
	uint32_t ciaddr, giaddr;
	uint16_t flags;
	uint8_t op, hlen;
	struct opt o[8];
};

static size_t mk(uint8_t *buf, size_t cap, const struct pk *p)
{
	struct xp_dhcp_hdr h;
	memset(&h, 0, sizeof(h));
	h.op = p->op ? p->op : XP_BOOTREQUEST;
	h.htype = 1;
	h.hlen = p->hlen ? p->hlen : 6;
	if (p->hlen == 255)
		h.hlen = 0;
	h.xid = 0x11223344;
	h.flags = p->flags;
	h.ciaddr = p->ciaddr;
	h.giaddr = p->giaddr;
	uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, p->macn};
	memcpy(h.chaddr, mac, 6);
	struct xp_dhcp_build b;
	assert_int_equal(xp_dhcp_msg_build_init(&b, buf, cap, &h), 0);
	if (p->type)
		assert_int_equal(xp_dhcp_msg_build_u8(&b, 53, p->type), 0);
	for (size_t i = 0; i < N(p->o) && p->o[i].code; i++)
		assert_int_equal(xp_dhcp_msg_build_option(&b, p->o[i].code, p->o[i].data,
							  p->o[i].len),
				 0);
	return xp_dhcp_msg_build_end(&b);
}

/* IP option data as a 4-char string. */
struct ipbuf {
	char s[5];
};

static struct ipbuf ipb(uint32_t v)
{
	struct ipbuf b = {{(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v, 0}};
	return b;
}

/* ---- message layer ------------------------------------------------------------------- */

static void base(uint8_t *p, size_t len)
{
	memset(p, 0, len);
	p[0] = 1;
	p[1] = 1;
	p[2] = 6;
	p[236] = 99;
	p[237] = 130;
	p[238] = 83;
	p[239] = 99;
}

struct bad_case {
	const char *name;
	size_t len;
	size_t at; /* bytes written from 240 on (or at an offset, see setup) */
	uint8_t opts[12];
	size_t n;
	int tweak; /* 1: hlen 17, 2: bad cookie, 3: file area with overrun */
	const char *why;
};

static const struct bad_case bad_cases[] = {
    {"short", 239, 0, {0}, 0, 0, "shorter than a DHCP header"},
    {"empty", 0, 0, {0}, 0, 0, "shorter than a DHCP header"},
    {"hlen", 300, 0, {255}, 1, 1, "hardware address length over 16"},
    {"cookie", 300, 0, {255}, 1, 2, "bad magic cookie"},
    {"no length byte", 241, 0, {53}, 1, 0, "option length past the end of its area"},
    {"overrun", 245, 0, {12, 10, 'a', 'b', 'c'}, 5, 0, "option data past the end of its area"},
    {"overload len", 300, 0, {52, 2, 1, 1, 255}, 5, 0, "bad option overload (52)"},
    {"overload 0", 300, 0, {52, 1, 0, 255}, 4, 0, "bad option overload (52)"},
    {"overload 4", 300, 0, {52, 1, 4, 255}, 4, 0, "bad option overload (52)"},
    {"file overrun", 300, 0, {52, 1, 1, 255}, 4, 3, "option data past the end of its area"},
};

static void test_msg_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		uint8_t p[400];
		base(p, sizeof(p));
		memcpy(p + 240, c->opts, c->n);
		if (c->tweak == 1)
			p[2] = 17;
		if (c->tweak == 2)
			p[239] = 98;
		if (c->tweak == 3) {
			p[108 + 126] = 12; /* code, length, then the area ends */
			p[108 + 127] = 5;
		}
		struct xp_dhcp_msg m;
		int r = xp_dhcp_msg_parse(p, c->len, &m);
		if (r != -EBADMSG || !m.why || strcmp(m.why, c->why) != 0)
			fail_msg("%s: rc %d why %s", c->name, r, m.why ? m.why : "(null)");
	}
	/* merged option data beyond XP_DHCP_OPT_MAX */
	static uint8_t big[4000];
	base(big, sizeof(big));
	size_t at = 240;
	while (at + 257 < sizeof(big)) {
		big[at] = 43;
		big[at + 1] = 255;
		at += 257;
	}
	struct xp_dhcp_msg m;
	assert_int_equal(xp_dhcp_msg_parse(big, sizeof(big), &m), -EBADMSG);
	assert_string_equal(m.why, "options too long");
	/* exactly at the limit is fine */
	base(big, sizeof(big));
	big[240] = 43;
	big[241] = 0;
	assert_int_equal(xp_dhcp_msg_parse(big, sizeof(big), &m), 0);
}

static void test_msg_merge_overload(void **state)
{
	(void)state;
	uint8_t p[320];
	base(p, sizeof(p));
	/* options field: pad, 52 = 3 (file and sname), 12 "ab", 0-length 80, 12 "cd", end */
	const uint8_t main_opts[] = {0,	 52, 1,	  3,  12, 2,   'a', 'b',
				     80, 0,  12, 2,  'c', 'd', 255};
	memcpy(p + 240, main_opts, sizeof(main_opts));
	/* file: 12 "ef", an option 52 (ignored there), 60 "PXE" ; no End */
	const uint8_t file_opts[] = {12, 2, 'e', 'f', 52, 1, 1, 60, 3, 'P', 'X', 'E'};
	memcpy(p + 108, file_opts, sizeof(file_opts));
	/* sname: 12 "gh", End */
	const uint8_t sname_opts[] = {12, 2, 'g', 'h', 255};
	memcpy(p + 44, sname_opts, sizeof(sname_opts));
	struct xp_dhcp_msg m;
	assert_int_equal(xp_dhcp_msg_parse(p, sizeof(p), &m), 0);
	assert_int_equal(m.overload, 3);
	size_t l;
	const uint8_t *v = xp_dhcp_msg_option(&m, 12, &l);
	assert_non_null(v);
	assert_int_equal(l, 8);
	assert_memory_equal(v, "abcdefgh", 8); /* RFC 3396 5: options, file, sname */
	v = xp_dhcp_msg_option(&m, 60, &l);
	assert_int_equal(l, 3);
	assert_memory_equal(v, "PXE", 3);
	v = xp_dhcp_msg_option(&m, 80, &l);
	assert_non_null(v);
	assert_int_equal(l, 0);
	assert_null(xp_dhcp_msg_option(&m, 81, NULL));
	assert_null(xp_dhcp_msg_option(&m, 0, NULL));
	assert_null(xp_dhcp_msg_option(&m, 255, NULL));
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	assert_int_equal(xp_dhcp_msg_u8(&m, 52, &u8), 0);
	assert_int_equal(u8, 3);
	assert_int_equal(xp_dhcp_msg_u16(&m, 12, &u16), -EBADMSG);
	assert_int_equal(xp_dhcp_msg_ip(&m, 54, &u32), -ENOENT);

	/* overload 1 only: the sname bytes are a name, not options */
	p[243] = 1;
	assert_int_equal(xp_dhcp_msg_parse(p, sizeof(p), &m), 0);
	v = xp_dhcp_msg_option(&m, 12, &l);
	assert_int_equal(l, 6);
	assert_memory_equal(v, "abcdef", 6);
	/* overload 2 only */
	p[243] = 2;
	assert_int_equal(xp_dhcp_msg_parse(p, sizeof(p), &m), 0);
	v = xp_dhcp_msg_option(&m, 12, &l);
	assert_int_equal(l, 6);
	assert_memory_equal(v, "abcdgh", 6);
	assert_null(xp_dhcp_msg_option(&m, 60, NULL));
	/* no End in the options field: the area ends with the datagram */
	base(p, sizeof(p));
	p[240] = 12;
	p[241] = 78;
	memset(p + 242, 'x', 78);
	assert_int_equal(xp_dhcp_msg_parse(p, 320, &m), 0);
	v = xp_dhcp_msg_option(&m, 12, &l);
	assert_int_equal(l, 78);
}

static void test_msg_build(void **state)
{
	(void)state;
	uint8_t buf[1500], data[600];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	struct xp_dhcp_hdr h;
	memset(&h, 0, sizeof(h));
	h.op = 2;
	h.xid = 0xdeadbeef;
	h.yiaddr = IP(10, 0, 0, 5);
	memcpy(h.file, "pxelinux.0", 10);
	struct xp_dhcp_build b;
	assert_int_equal(xp_dhcp_msg_build_init(&b, buf, 240, &h), -EMSGSIZE);
	assert_int_equal(xp_dhcp_msg_build_init(&b, buf, sizeof(buf), &h), 0);
	assert_int_equal(xp_dhcp_msg_build_option(&b, 0, data, 1), -EINVAL);
	assert_int_equal(xp_dhcp_msg_build_option(&b, 255, data, 1), -EINVAL);
	assert_int_equal(xp_dhcp_msg_build_option(&b, 43, data, 600), 0);
	/* split 255 + 255 + 90, each with its own header (RFC 3396 section 7) */
	assert_int_equal(b.len, 240 + 600 + 6);
	assert_int_equal(buf[240], 43);
	assert_int_equal(buf[241], 255);
	assert_int_equal(buf[240 + 257], 43);
	assert_int_equal(buf[240 + 258], 255);
	assert_int_equal(buf[240 + 514], 43);
	assert_int_equal(buf[240 + 515], 90);
	assert_int_equal(xp_dhcp_msg_build_option(&b, 80, NULL, 0), 0);
	size_t len = xp_dhcp_msg_build_end(&b);
	assert_int_equal(len, 240 + 606 + 2 + 1);
	struct xp_dhcp_msg m;
	assert_int_equal(xp_dhcp_msg_parse(buf, len, &m), 0);
	assert_int_equal(m.h.op, 2);
	assert_int_equal(m.h.xid, 0xdeadbeef);
	assert_int_equal(m.h.yiaddr, IP(10, 0, 0, 5));
	assert_memory_equal(m.h.file, "pxelinux.0", 11);
	size_t l;
	const uint8_t *v = xp_dhcp_msg_option(&m, 43, &l);
	assert_int_equal(l, 600);
	assert_memory_equal(v, data, 600);

	/* limits: a refused option leaves the message as it was; End always fits */
	assert_int_equal(xp_dhcp_msg_build_init(&b, buf, 250, &h), 0);
	assert_int_equal(xp_dhcp_msg_build_option(&b, 12, data, 8), -ENOSPC);
	assert_int_equal(b.len, 240);
	assert_int_equal(xp_dhcp_msg_build_option(&b, 12, data, 7), 0);
	assert_int_equal(xp_dhcp_msg_build_u8(&b, 53, 1), -ENOSPC);
	assert_int_equal(xp_dhcp_msg_build_end(&b), 250);
	/* short messages are padded to the BOOTP minimum of 300 bytes */
	assert_int_equal(xp_dhcp_msg_build_init(&b, buf, 576, &h), 0);
	assert_int_equal(xp_dhcp_msg_build_u16(&b, 57, 1500), 0);
	assert_int_equal(xp_dhcp_msg_build_u32(&b, 51, 3600), 0);
	assert_int_equal(xp_dhcp_msg_build_end(&b), 300);
	assert_int_equal(buf[240 + 4 + 6], 255);
	assert_int_equal(buf[299], 0);
	assert_int_equal(xp_dhcp_msg_parse(buf, 300, &m), 0);
	uint16_t u16;
	uint32_t u32;
	assert_int_equal(xp_dhcp_msg_u16(&m, 57, &u16), 0);
	assert_int_equal(u16, 1500);
	assert_int_equal(xp_dhcp_msg_ip(&m, 51, &u32), 0);
	assert_int_equal(u32, 3600);
}

/* ---- server fixture ------------------------------------------------------------------ */

static const struct xp_dhcp_pool pools[] = {
    {"lan", IP(10, 0, 0, 100), IP(10, 0, 0, 199), IP(255, 255, 255, 0), IP(10, 0, 0, 254),
     {IP(10, 0, 0, 1), IP(10, 0, 0, 2)}, 2, "example.test", 3600},
    {"relayed", IP(10, 1, 0, 10), IP(10, 1, 0, 12), IP(255, 255, 255, 0), IP(10, 1, 0, 1),
     {IP(10, 0, 0, 1)}, 1, "", 600},
};

static const struct xp_dhcp_host hosts[] = {
    {{0x52, 0x54, 0x00, 0x12, 0x34, 0x01}, IP(10, 0, 0, 50), "web1", "web1", true},
    {{0x52, 0x54, 0x00, 0x12, 0x34, 0x02}, 0, "noboot.example", "noboot", false},
};

static struct xp_dhcp_config cfg0(void)
{
	struct xp_dhcp_config c;
	memset(&c, 0, sizeof(c));
	c.server_ip = SERVER;
	c.pools = pools;
	c.n_pools = N(pools);
	c.hosts = hosts;
	c.n_hosts = N(hosts);
	c.bios_file = "pxelinux.0";
	c.efi64_file = "ipxe.efi";
	c.http_base = "http://10.0.0.1:8080";
	c.rate_burst = 1000;
	c.rate_per_sec = 1000;
	return c;
}

struct fx {
	struct xp_dhcp_server *s;
	struct xp_dhcp_tx tx;
	struct xp_dhcp_msg m; /* the last reply */
	const char *why;
	uint8_t buf[2048];
};

static struct fx *fx_new(const struct xp_dhcp_config *c)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(xp_dhcp_server_new(c, &f->s), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	xp_dhcp_server_free(f->s);
	free(f);
}

/* Sends p received on the LAN interface (10.0.0.1) at time now; parses any reply. */
static int send_at(struct fx *f, const struct pk *p, int64_t now, uint16_t port)
{
	size_t len = mk(f->buf, sizeof(f->buf), p);
	struct xp_dhcp_rx rx = {p->ciaddr, port, SERVER, now};
	int r = xp_dhcp_server_handle(f->s, f->buf, len, &rx, &f->tx, &f->why);
	if (r == 1) {
		assert_true(f->tx.len <= XP_DHCP_MAX_PKT);
		assert_int_equal(xp_dhcp_msg_parse(f->tx.buf, f->tx.len, &f->m), 0);
		assert_int_equal(f->m.h.op, XP_BOOTREPLY);
		assert_int_equal(f->m.h.xid, 0x11223344);
	} else {
		assert_int_equal(f->tx.len, 0);
	}
	return r;
}

static int send(struct fx *f, const struct pk *p, int64_t now)
{
	return send_at(f, p, now, 68);
}

static uint8_t rtype(const struct fx *f)
{
	uint8_t t = 0;
	assert_int_equal(xp_dhcp_msg_u8(&f->m, 53, &t), 0);
	return t;
}

static uint32_t ropt_ip(const struct fx *f, uint8_t code)
{
	uint32_t v = 0;
	assert_int_equal(xp_dhcp_msg_ip(&f->m, code, &v), 0);
	return v;
}

static bool ropt(const struct fx *f, uint8_t code)
{
	return xp_dhcp_msg_option(&f->m, code, NULL) != NULL;
}

/* DISCOVER + REQUEST for client macn; returns the address bound. */
static uint32_t dora(struct fx *f, uint8_t macn, int64_t now)
{
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = macn};
	assert_int_equal(send(f, &d, now), 1);
	assert_int_equal(rtype(f), XP_DHCPOFFER);
	uint32_t ip = f->m.h.yiaddr;
	struct ipbuf a = ipb(ip), sid = ipb(SERVER);
	struct pk r = {.type = XP_DHCPREQUEST,
		       .macn = macn,
		       .o = {{50, 4, a.s}, {54, 4, sid.s}}};
	assert_int_equal(send(f, &r, now), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);
	assert_int_equal(f->m.h.yiaddr, ip);
	return ip;
}

/* The option codes of the last reply, in wire order; returns how many. */
static size_t wire_codes(const struct fx *f, uint8_t *codes, size_t max)
{
	size_t at = 240, k = 0;
	while (at < f->tx.len && f->tx.buf[at] != 255) {
		assert_true(k < max);
		codes[k++] = f->tx.buf[at];
		at += 2 + f->tx.buf[at + 1];
	}
	return k;
}

/* A server with the LAN client 0x10 bound, its change log cleared. */
static struct fx *fx_bound(struct xp_dhcp_config *c, uint32_t *ip)
{
	*c = cfg0();
	struct fx *f = fx_new(c);
	*ip = dora(f, 0x10, T0);
	xp_dhcp_server_changes_clear(f->s);
	return f;
}

/* ---- server tests -------------------------------------------------------------------- */

static void test_config_errors(void **state)
{
	(void)state;
	struct xp_dhcp_pool p[2] = {pools[0], pools[1]};
	struct xp_dhcp_host h[2] = {hosts[0], hosts[1]};
	struct {
		const char *name;
		int what;
	} cases[] = {{"no server ip", 0},  {"start > end", 1},	 {"pool too big", 2},
		     {"overlap", 3},	   {"mask holes", 4},	 {"across subnets", 5},
		     {"mac twice", 6},	   {"ip twice", 7},	 {"local ips NULL", 8},
		     {"no pools", 9},	   {"long file", 10},	 {"n_dns", 11}};
	static char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	for (size_t i = 0; i < N(cases); i++) {
		struct xp_dhcp_config c = cfg0();
		memcpy(p, pools, sizeof(p));
		memcpy(h, hosts, sizeof(h));
		c.pools = p;
		c.hosts = h;
		switch (cases[i].what) {
		case 0:
			c.server_ip = 0;
			break;
		case 1:
			p[0].start = IP(10, 0, 0, 200);
			break;
		case 2:
			p[0].start = IP(10, 0, 0, 0);
			p[0].end = IP(10, 16, 0, 0);
			p[0].netmask = IP(255, 0, 0, 0);
			break;
		case 3:
			p[1] = p[0];
			p[1].start = IP(10, 0, 0, 199);
			p[1].end = IP(10, 0, 0, 220);
			break;
		case 4:
			p[0].netmask = IP(255, 0, 255, 0);
			break;
		case 5:
			p[0].end = IP(10, 0, 1, 5);
			break;
		case 6:
			memcpy(h[1].mac, h[0].mac, 6);
			break;
		case 7:
			h[1].ip = h[0].ip;
			break;
		case 8:
			c.n_local_ips = 1;
			break;
		case 9:
			c.n_pools = 0;
			break;
		case 10:
			c.bios_file = longname;
			break;
		case 11:
			p[0].n_dns = 5;
			break;
		}
		struct xp_dhcp_server *s = NULL;
		int r = xp_dhcp_server_new(&c, &s);
		if (r != -EINVAL)
			fail_msg("%s: %d", cases[i].name, r);
		assert_null(s);
	}
	/* 2^20 addresses is the largest pool */
	struct xp_dhcp_config c = cfg0();
	memcpy(p, pools, sizeof(p));
	p[0].start = IP(10, 0, 0, 0);
	p[0].end = IP(10, 15, 255, 255);
	p[0].netmask = IP(255, 0, 0, 0);
	c.pools = p;
	c.n_pools = 1;
	c.n_hosts = 0;
	struct xp_dhcp_server *s;
	assert_int_equal(xp_dhcp_server_new(&c, &s), 0);
	xp_dhcp_server_free(s);
	xp_dhcp_server_free(NULL);
	/* proxy mode needs no pool */
	c.proxy = true;
	c.n_pools = 0;
	assert_int_equal(xp_dhcp_server_new(&c, &s), 0);
	xp_dhcp_server_free(s);
}

static void test_dora(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x10, .o = {O(12, "laptop")}};
	assert_int_equal(send(f, &d, T0), 1);
	assert_int_equal(rtype(f), XP_DHCPOFFER);
	uint32_t ip = f->m.h.yiaddr;
	assert_true(ip >= IP(10, 0, 0, 100) && ip <= IP(10, 0, 0, 199));
	assert_int_equal(ropt_ip(f, 54), SERVER);
	assert_int_equal(ropt_ip(f, 51), 3600);
	assert_int_equal(ropt_ip(f, 1), IP(255, 255, 255, 0));
	assert_int_equal(ropt_ip(f, 3), IP(10, 0, 0, 254));
	size_t l;
	const uint8_t *v = xp_dhcp_msg_option(&f->m, 6, &l);
	assert_int_equal(l, 8);
	assert_memory_equal(v, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	v = xp_dhcp_msg_option(&f->m, 15, &l);
	assert_int_equal(l, 12);
	assert_memory_equal(v, "example.test", 12);
	assert_false(ropt(f, 43));
	assert_false(ropt(f, 60));
	/* a plain client (no PXEClient, no iPXE) gets no boot file and no next server */
	assert_int_equal(f->m.h.siaddr, 0);
	assert_int_equal(f->m.h.file[0], 0);
	assert_int_equal(f->m.h.sname[0], 0);
	assert_false(ropt(f, 66));
	assert_false(ropt(f, 67));
	assert_true(f->tx.broadcast);
	assert_int_equal(f->tx.dst_ip, UINT32_MAX);
	assert_int_equal(f->tx.dst_port, 68);
	assert_int_equal(f->tx.len, 300);
	/* an offer is not a lease */
	const struct xp_dhcp_lease *lv;
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 0);
	assert_int_equal(xp_dhcp_server_leases(f->s, &lv), 0);
	/* a second DISCOVER gets the same offer */
	assert_int_equal(send(f, &d, T0 + 1), 1);
	assert_int_equal(f->m.h.yiaddr, ip);

	struct ipbuf a = ipb(ip), sid = ipb(SERVER);
	struct pk r = {.type = XP_DHCPREQUEST,
		       .macn = 0x10,
		       .o = {{50, 4, a.s}, {54, 4, sid.s}, O(12, "lap top!")}};
	assert_int_equal(send(f, &r, T0 + 2), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);
	assert_int_equal(f->m.h.yiaddr, ip);
	assert_int_equal(ropt_ip(f, 51), 3600);
	assert_true(f->tx.broadcast);
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);
	assert_int_equal(lv[0].ip, ip);
	assert_int_equal(lv[0].state, XP_LEASE_BOUND);
	assert_int_equal(lv[0].expires, T0 + 2 + 3600);
	assert_string_equal(lv[0].hostname, "lap-top-");
	assert_int_equal(lv[0].client_len, 7);
	assert_int_equal(lv[0].client[0], 1);
	assert_memory_equal(lv[0].mac, "\x52\x54\x00\x12\x34\x10", 6);
	xp_dhcp_server_changes_clear(f->s);
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 0);
	assert_int_equal(xp_dhcp_server_leases(f->s, &lv), 1);
	assert_int_equal(lv[0].ip, ip);

	/* the broadcast flag: still broadcast; a different client gets another address */
	struct pk d2 = {.type = XP_DHCPDISCOVER, .macn = 0x11, .flags = 0x8000};
	assert_int_equal(send(f, &d2, T0 + 3), 1);
	assert_int_not_equal(f->m.h.yiaddr, ip);
	assert_true(f->tx.broadcast);
	assert_int_equal(f->m.h.flags, 0x8000);
	/* a bound client that DISCOVERs again is offered its lease */
	assert_int_equal(send(f, &d, T0 + 4), 1);
	assert_int_equal(f->m.h.yiaddr, ip);
	fx_free(f);
}

/* The client identifier is the key: same MAC, other 61, other lease. */
static void test_client_id(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	struct pk a = {.type = XP_DHCPDISCOVER, .macn = 0x20, .o = {O(61, "\x01id-one")}};
	struct pk b = {.type = XP_DHCPDISCOVER, .macn = 0x20, .o = {O(61, "\x01id-two")}};
	assert_int_equal(send(f, &a, T0), 1);
	uint32_t ipa = f->m.h.yiaddr;
	assert_int_equal(send(f, &b, T0), 1);
	assert_int_not_equal(f->m.h.yiaddr, ipa);
	fx_free(f);
}

static void test_prl_order(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	struct pk d = {.type = XP_DHCPDISCOVER,
		       .macn = 0x10,
		       .o = {O(55, "\x0f\x06\x1c\x03\x3a\x3b\x01\x2a\x0c")}};
	assert_int_equal(send(f, &d, T0), 1);
	/* walk the reply on the wire: 53 54 51, then 15 6 28 3 58 59 1 (42, 12: nothing) */
	const uint8_t want[] = {53, 54, 51, 15, 6, 28, 3, 58, 59, 1};
	uint8_t got[32];
	assert_int_equal(wire_codes(f, got, N(got)), N(want));
	assert_memory_equal(got, want, N(want));
	assert_int_equal(ropt_ip(f, 28), IP(10, 0, 0, 255));
	assert_int_equal(ropt_ip(f, 58), 1800);
	assert_int_equal(ropt_ip(f, 59), 3150);
	fx_free(f);
}

static void test_request_states(void **state)
{
	(void)state;
	struct xp_dhcp_config c;
	uint32_t ip;
	struct fx *f = fx_bound(&c, &ip);
	const struct xp_dhcp_lease *lv;

	/* RENEWING: unicast from ciaddr, no 50/54; only expires changes */
	struct pk renew = {.type = XP_DHCPREQUEST, .macn = 0x10, .ciaddr = ip,
			   .o = {O(12, "renamed")}};
	assert_int_equal(send(f, &renew, T0 + 1800), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);
	assert_int_equal(f->m.h.ciaddr, ip);
	assert_int_equal(f->m.h.yiaddr, ip);
	assert_false(f->tx.broadcast);
	assert_int_equal(f->tx.dst_ip, ip);
	assert_int_equal(f->tx.dst_port, 68);
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);
	assert_int_equal(lv[0].expires, T0 + 1800 + 3600);
	assert_string_equal(lv[0].hostname, "");
	/* REBINDING looks the same to us (broadcast flag set) */
	renew.flags = 0x8000;
	assert_int_equal(send(f, &renew, T0 + 3000), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 2);
	assert_int_equal(lv[1].expires, T0 + 3000 + 3600);

	/* INIT-REBOOT with its own address: ACK */
	struct ipbuf a = ipb(ip);
	struct pk reboot = {.type = XP_DHCPREQUEST, .macn = 0x10, .o = {{50, 4, a.s}}};
	assert_int_equal(send(f, &reboot, T0 + 3100), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);

	struct ipbuf other = ipb(IP(10, 0, 0, 150)), off = ipb(IP(192, 168, 1, 5)),
		     sid = ipb(SERVER), sid2 = ipb(IP(10, 0, 0, 9)), mine = ipb(ip);
	struct {
		const char *name;
		struct pk p;
		const char *why;
	} naks[] = {
	    {"init-reboot, other network",
	     {.type = XP_DHCPREQUEST, .macn = 0x10, .o = {{50, 4, off.s}}},
	     "requested address is not on the client's network"},
	    {"init-reboot, never leased",
	     {.type = XP_DHCPREQUEST, .macn = 0x10, .o = {{50, 4, other.s}}},
	     "requested address is not this client's lease"},
	    {"init-reboot, another client's",
	     {.type = XP_DHCPREQUEST, .macn = 0x33, .o = {{50, 4, mine.s}}},
	     "requested address is not this client's lease"},
	    {"selecting, not offered",
	     {.type = XP_DHCPREQUEST, .macn = 0x10, .o = {{50, 4, other.s}, {54, 4, sid.s}}},
	     "requested address was not offered to this client"},
	    {"renewing, not its lease",
	     {.type = XP_DHCPREQUEST, .macn = 0x34, .ciaddr = ip},
	     "requested address is not this client's lease"},
	    {"reserved client asking for a pool address",
	     {.type = XP_DHCPREQUEST, .macn = 0x01, .o = {{50, 4, other.s}}},
	     "requested address is not this client's lease"},
	};
	for (size_t i = 0; i < N(naks); i++) {
		int r = send(f, &naks[i].p, T0 + 3200);
		if (r != 1 || rtype(f) != XP_DHCPNAK || strcmp(f->why, naks[i].why) != 0)
			fail_msg("%s: %d %s", naks[i].name, r, f->why);
		assert_int_equal(f->m.h.yiaddr, 0);
		assert_int_equal(ropt_ip(f, 54), SERVER);
		assert_false(ropt(f, 51));
		assert_true(f->tx.broadcast); /* RFC 2131 4.1: NAKs are broadcast */
		assert_int_equal(f->tx.dst_ip, UINT32_MAX);
	}
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 3);

	/* SELECTING another server: silent, and our offer is released */
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x40};
	assert_int_equal(send(f, &d, T0 + 3300), 1);
	uint32_t offered = f->m.h.yiaddr;
	struct ipbuf o = ipb(offered);
	struct pk sel = {.type = XP_DHCPREQUEST, .macn = 0x40, .o = {{50, 4, o.s}, {54, 4, sid2.s}}};
	assert_int_equal(send(f, &sel, T0 + 3300), 0);
	assert_string_equal(f->why, "the client selected another server");
	/* a renewal for a network we do not serve: not ours, silent */
	struct pk foreign = {.type = XP_DHCPREQUEST, .macn = 0x41, .ciaddr = IP(192, 168, 9, 9)};
	assert_int_equal(send(f, &foreign, T0 + 3300), 0);
	assert_string_equal(f->why, "no pool serves the client's network");
	fx_free(f);
}

static void test_reservation(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x01,
		       .o = {O(60, "PXEClient:Arch:00000:UNDI:002001")}};
	assert_int_equal(send(f, &d, T0), 1);
	assert_int_equal(f->m.h.yiaddr, IP(10, 0, 0, 50));
	size_t l;
	const uint8_t *v = xp_dhcp_msg_option(&f->m, 12, &l);
	assert_int_equal(l, 4);
	assert_memory_equal(v, "web1", 4);
	assert_int_equal(dora(f, 0x01, T0), IP(10, 0, 0, 50));
	const struct xp_dhcp_lease *lv;
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);
	assert_string_equal(lv[0].hostname, "web1");
	/* nobody else may ask for it */
	struct ipbuf a = ipb(IP(10, 0, 0, 50));
	struct pk steal = {.type = XP_DHCPDISCOVER, .macn = 0x50, .o = {{50, 4, a.s}}};
	assert_int_equal(send(f, &steal, T0), 1);
	assert_int_not_equal(f->m.h.yiaddr, IP(10, 0, 0, 50));
	/* a requested address (50) that is free is honoured */
	struct ipbuf w = ipb(IP(10, 0, 0, 177));
	struct pk want = {.type = XP_DHCPDISCOVER, .macn = 0x51, .o = {{50, 4, w.s}}};
	assert_int_equal(send(f, &want, T0), 1);
	assert_int_equal(f->m.h.yiaddr, IP(10, 0, 0, 177));
	fx_free(f);
}

static void test_relay(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	struct pk d = {.type = XP_DHCPDISCOVER,
		       .macn = 0x10,
		       .giaddr = IP(10, 1, 0, 1),
		       .o = {O(82, "\x01\x04port\x02\x03" "abc"), O(55, "\x01\x03")}};
	assert_int_equal(send(f, &d, T0), 1);
	uint32_t ip = f->m.h.yiaddr;
	assert_true(ip >= IP(10, 1, 0, 10) && ip <= IP(10, 1, 0, 12));
	assert_int_equal(f->m.h.giaddr, IP(10, 1, 0, 1));
	assert_int_equal(ropt_ip(f, 51), 600);
	assert_int_equal(ropt_ip(f, 3), IP(10, 1, 0, 1));
	assert_false(f->tx.broadcast);
	assert_int_equal(f->tx.dst_ip, IP(10, 1, 0, 1));
	assert_int_equal(f->tx.dst_port, 67);
	size_t l;
	const uint8_t *v = xp_dhcp_msg_option(&f->m, 82, &l);
	assert_int_equal(l, 11);
	assert_memory_equal(v, "\x01\x04port\x02\x03" "abc", 11);
	/* 82 is the last option on the wire */
	uint8_t got[32];
	size_t n = wire_codes(f, got, N(got));
	assert_true(n > 0);
	assert_int_equal(got[n - 1], 82);
	/* a NAK through the relay goes to the relay with the broadcast bit (4.3.2) */
	struct ipbuf bad = ipb(IP(10, 1, 0, 11) == ip ? IP(10, 1, 0, 12) : IP(10, 1, 0, 11));
	struct pk r = {.type = XP_DHCPREQUEST, .macn = 0x10, .giaddr = IP(10, 1, 0, 1),
		       .o = {{50, 4, bad.s}}};
	assert_int_equal(send(f, &r, T0), 1);
	assert_int_equal(rtype(f), XP_DHCPNAK);
	assert_int_equal(f->tx.dst_ip, IP(10, 1, 0, 1));
	assert_int_equal(f->tx.dst_port, 67);
	assert_false(f->tx.broadcast);
	assert_int_equal(f->m.h.flags & 0x8000, 0x8000);
	/* a relay from a network without a pool: not ours */
	d.giaddr = IP(172, 16, 0, 1);
	assert_int_equal(send(f, &d, T0), 0);
	assert_string_equal(f->why, "no pool serves the client's network");
	fx_free(f);
}

static void test_release_decline_inform(void **state)
{
	(void)state;
	struct xp_dhcp_config c;
	uint32_t ip;
	struct fx *f = fx_bound(&c, &ip);
	const struct xp_dhcp_lease *lv;

	/* INFORM: ACK with options, no address, no lease time, unicast to ciaddr */
	struct pk inf = {.type = XP_DHCPINFORM, .macn = 0x10, .ciaddr = ip};
	assert_int_equal(send(f, &inf, T0 + 5), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);
	assert_int_equal(f->m.h.yiaddr, 0);
	assert_int_equal(f->m.h.ciaddr, ip);
	assert_false(ropt(f, 51));
	assert_int_equal(ropt_ip(f, 1), IP(255, 255, 255, 0));
	assert_int_equal(f->tx.dst_ip, ip);
	assert_int_equal(f->tx.dst_port, 68);
	assert_false(f->tx.broadcast);
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 0);

	/* RELEASE by someone else: ignored; by the owner: released */
	struct pk rel = {.type = XP_DHCPRELEASE, .macn = 0x11, .ciaddr = ip};
	assert_int_equal(send(f, &rel, T0 + 10), 0);
	assert_string_equal(f->why, "RELEASE of an address that is not this client's lease");
	rel.macn = 0x10;
	assert_int_equal(send(f, &rel, T0 + 10), 0);
	assert_string_equal(f->why, "lease released");
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);
	assert_int_equal(lv[0].state, XP_LEASE_RELEASED);
	assert_int_equal(send(f, &rel, T0 + 11), 0); /* twice: nothing more */
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);
	/* the releasing client comes back to its address */
	assert_int_equal(dora(f, 0x10, T0 + 20), ip);

	/* DECLINE: quarantined 10 minutes, for everybody */
	struct ipbuf a = ipb(ip), sid = ipb(SERVER);
	struct pk dec = {.type = XP_DHCPDECLINE, .macn = 0x10, .o = {{50, 4, a.s}, {54, 4, sid.s}}};
	assert_int_equal(send(f, &dec, T0 + 30), 0);
	assert_string_equal(f->why, "address declined: quarantined");
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 3);
	assert_int_equal(lv[2].state, XP_LEASE_DECLINED);
	assert_int_equal(lv[2].expires, T0 + 30 + 600);
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x10, .o = {{50, 4, a.s}}};
	assert_int_equal(send(f, &d, T0 + 31), 1);
	assert_int_not_equal(f->m.h.yiaddr, ip);
	struct pk d2 = {.type = XP_DHCPDISCOVER, .macn = 0x12, .o = {{50, 4, a.s}}};
	assert_int_equal(send(f, &d2, T0 + 31), 1);
	assert_int_not_equal(f->m.h.yiaddr, ip);
	/* after the quarantine the address can be asked for again */
	struct pk d3 = {.type = XP_DHCPDISCOVER, .macn = 0x13, .o = {{50, 4, a.s}}};
	assert_int_equal(send(f, &d3, T0 + 30 + 600), 1);
	assert_int_equal(f->m.h.yiaddr, ip);
	/* DECLINE for another server or of a stranger's address: ignored */
	struct ipbuf s2 = ipb(IP(10, 0, 0, 9));
	struct pk dec2 = {.type = XP_DHCPDECLINE, .macn = 0x10, .o = {{50, 4, a.s}, {54, 4, s2.s}}};
	assert_int_equal(send(f, &dec2, T0 + 700), 0);
	assert_string_equal(f->why, "DECLINE for another server");
	dec2.o[1].code = 0;
	dec2.macn = 0x77;
	assert_int_equal(send(f, &dec2, T0 + 700), 0);
	assert_string_equal(f->why, "DECLINE of an address that is not this client's");
	fx_free(f);
}

static struct xp_dhcp_config small_cfg(struct xp_dhcp_pool *p)
{
	struct xp_dhcp_config c = cfg0();
	*p = pools[0];
	p->start = IP(10, 0, 0, 100);
	p->end = IP(10, 0, 0, 102);
	p->lease_time = 100;
	c.pools = p;
	c.n_pools = 1;
	c.offer_hold = 5;
	return c;
}

static void test_exhaustion_expiry(void **state)
{
	(void)state;
	struct xp_dhcp_pool p;
	struct xp_dhcp_config c = small_cfg(&p);
	struct fx *f = fx_new(&c);
	uint32_t seen = 0;
	for (uint8_t i = 0; i < 3; i++) {
		struct pk d = {.type = XP_DHCPDISCOVER, .macn = (uint8_t)(0x10 + i)};
		assert_int_equal(send(f, &d, T0), 1);
		seen |= 1u << (f->m.h.yiaddr - IP(10, 0, 0, 100));
	}
	assert_int_equal(seen, 7);
	struct pk d4 = {.type = XP_DHCPDISCOVER, .macn = 0x20};
	assert_int_equal(send(f, &d4, T0 + 1), -ENOSPC);
	assert_string_equal(f->why, "no free address in the pools of the client's network");
	/* offers lapse after offer_hold */
	assert_int_equal(send(f, &d4, T0 + 5), 1);
	uint32_t lapsed = f->m.h.yiaddr;
	/* bind all three, then the pool is full until a lease expires */
	assert_int_equal(dora(f, 0x20, T0 + 5), lapsed);
	assert_int_equal(dora(f, 0x21, T0 + 10) != 0, 1);
	assert_int_equal(dora(f, 0x22, T0 + 10) != 0, 1);
	struct pk d5 = {.type = XP_DHCPDISCOVER, .macn = 0x30};
	assert_int_equal(send(f, &d5, T0 + 50), -ENOSPC);
	assert_int_equal(send(f, &d5, T0 + 105), 1); /* 0x20's lease expired at T0+105 */
	assert_int_equal(f->m.h.yiaddr, lapsed);
	/* the old owner lost it: its INIT-REBOOT is NAKed once the new one binds */
	assert_int_equal(dora(f, 0x30, T0 + 106), lapsed);
	struct ipbuf a = ipb(lapsed);
	struct pk reboot = {.type = XP_DHCPREQUEST, .macn = 0x20, .o = {{50, 4, a.s}}};
	assert_int_equal(send(f, &reboot, T0 + 107), 1);
	assert_int_equal(rtype(f), XP_DHCPNAK);
	fx_free(f);
}

/* A reservation of an address that must never be handed out (an older inventory, or
 * settings and interfaces changed since the system was added) is served without it. */
static void test_reservation_refused(void **state)
{
	(void)state;
	static const uint32_t local[] = {IP(10, 0, 0, 3), IP(10, 0, 0, 120)};
	static const struct {
		uint32_t ip;
		const char *why;
	} cases[] = {
	    {IP(10, 0, 0, 1), "the server's own address"},   /* server_ip */
	    {IP(10, 0, 0, 7), "the server's own address"},   /* next_server */
	    {IP(10, 0, 0, 3), "the server's own address"},   /* an interface's */
	    {IP(10, 0, 0, 120), "the server's own address"}, /* ... inside the range */
	    {IP(10, 0, 0, 254), "a pool's router"},	     /* lan's router */
	    {IP(10, 1, 0, 1), "a pool's router"},	     /* relayed's */
	    {IP(10, 0, 0, 0), "the network address of its subnet"},
	    {IP(10, 0, 0, 255), "the broadcast address of its subnet"},
	    {IP(10, 1, 0, 255), "the broadcast address of its subnet"},
	    {IP(192, 168, 0, 5), "in no pool's subnet"},
	    {IP(10, 0, 1, 5), "in no pool's subnet"},
	    {IP(10, 0, 0, 50), NULL},
	    {IP(10, 0, 0, 150), NULL}, /* in the range: kept out of it for dynamic use */
	    {IP(10, 1, 0, 200), NULL},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct xp_dhcp_config c = cfg0();
		c.next_server = IP(10, 0, 0, 7);
		c.local_ips = local;
		c.n_local_ips = N(local);
		const char *why = xp_dhcp_reservation_refusal(&c, cases[i].ip);
		if (cases[i].why ? !why || strcmp(why, cases[i].why) != 0 : why != NULL)
			fail_msg("case %zu: '%s'", i, why ? why : "(null)");
		if (!cases[i].why)
			continue;
		/* web1 (52:54:00:12:34:01) reserved at that address: the server starts, and
		 * web1 gets a pool address, never the refused one, with its hostname */
		struct xp_dhcp_host h[2] = {hosts[0], hosts[1]};
		h[0].ip = cases[i].ip;
		c.hosts = h;
		struct fx *f = fx_new(&c);
		struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x01};
		assert_int_equal(send(f, &d, T0), 1);
		uint32_t got = f->m.h.yiaddr;
		if (got == cases[i].ip || got < IP(10, 0, 0, 100) || got > IP(10, 0, 0, 199) ||
		    got == IP(10, 0, 0, 120))
			fail_msg("case %zu: offered %08x", i, got);
		size_t l;
		const uint8_t *v = xp_dhcp_msg_option(&f->m, 12, &l);
		assert_int_equal(l, 4);
		assert_memory_equal(v, "web1", 4);
		/* asking for the refused address, by INIT-REBOOT or in a DISCOVER: never */
		struct ipbuf a = ipb(cases[i].ip);
		struct pk reboot = {.type = XP_DHCPREQUEST, .macn = 0x01, .o = {{50, 4, a.s}}};
		int r = send(f, &reboot, T0 + 1);
		if (r == 1 && (rtype(f) != XP_DHCPNAK || f->m.h.yiaddr != 0))
			fail_msg("case %zu: REQUEST of it answered %u", i, rtype(f));
		struct pk want = {.type = XP_DHCPDISCOVER, .macn = 0x33, .o = {{50, 4, a.s}}};
		assert_int_equal(send(f, &want, T0 + 2), 1);
		assert_int_not_equal(f->m.h.yiaddr, cases[i].ip);
		/* a lease of it restored from the store is dropped */
		struct xp_dhcp_lease l0;
		memset(&l0, 0, sizeof(l0));
		l0.ip = cases[i].ip;
		l0.client_len = 7;
		l0.client[0] = 1;
		memcpy(l0.client + 1, hosts[0].mac, 6);
		memcpy(l0.mac, hosts[0].mac, 6);
		l0.expires = T0 + 1000;
		assert_int_equal(xp_dhcp_server_restore(f->s, &l0, 1, T0), 0);
		fx_free(f);
	}
	/* the machine's addresses in a pool are never handed out dynamically */
	struct xp_dhcp_pool p;
	struct xp_dhcp_config c = small_cfg(&p); /* 10.0.0.100-102 */
	static const uint32_t mine[] = {IP(10, 0, 0, 101)};
	c.local_ips = mine;
	c.n_local_ips = 1;
	struct fx *f = fx_new(&c);
	for (uint8_t k = 0; k < 2; k++) {
		struct pk d = {.type = XP_DHCPDISCOVER, .macn = (uint8_t)(0x40 + k)};
		assert_int_equal(send(f, &d, T0), 1);
		assert_int_not_equal(f->m.h.yiaddr, IP(10, 0, 0, 101));
	}
	struct pk d3 = {.type = XP_DHCPDISCOVER, .macn = 0x42};
	assert_int_equal(send(f, &d3, T0), -ENOSPC);
	fx_free(f);
}

static void test_restore_reconfigure(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	struct xp_dhcp_lease v[4];
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 4; i++) {
		v[i].client_len = 7;
		v[i].client[0] = 1;
		uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x60 + i)};
		memcpy(v[i].client + 1, mac, 6);
		memcpy(v[i].mac, mac, 6);
		v[i].expires = T0 + 1000;
		v[i].state = XP_LEASE_BOUND;
	}
	v[0].ip = IP(10, 0, 0, 120);
	v[1].ip = IP(192, 168, 0, 3); /* in no pool: skipped */
	v[2].ip = IP(10, 1, 0, 11);
	v[3].ip = IP(10, 0, 0, 121);
	v[3].client_len = 0; /* invalid: skipped */
	assert_int_equal(xp_dhcp_server_restore(f->s, v, 4, T0), 2);
	const struct xp_dhcp_lease *lv;
	assert_int_equal(xp_dhcp_server_leases(f->s, &lv), 2);
	/* a declined address comes back quarantined */
	struct xp_dhcp_lease dl = v[0];
	dl.ip = IP(10, 0, 0, 130);
	dl.state = XP_LEASE_DECLINED;
	dl.expires = T0 + 600;
	assert_int_equal(xp_dhcp_server_restore(f->s, &dl, 1, T0), 1);
	struct ipbuf q = ipb(dl.ip);
	struct pk dq = {.type = XP_DHCPDISCOVER, .macn = 0x71, .o = {{50, 4, q.s}}};
	assert_int_equal(send(f, &dq, T0), 1);
	assert_int_not_equal(f->m.h.yiaddr, dl.ip);
	dq.macn = 0x72; /* (0x71 would get its earlier offer back first) */
	assert_int_equal(send(f, &dq, T0 + 600), 1);
	assert_int_equal(f->m.h.yiaddr, dl.ip);
	assert_int_equal(xp_dhcp_server_leases(f->s, &lv), 2); /* the offer is no lease */
	/* the client gets its address back, and renews it */
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x60};
	assert_int_equal(send(f, &d, T0 + 1), 1);
	assert_int_equal(f->m.h.yiaddr, IP(10, 0, 0, 120));
	struct pk renew = {.type = XP_DHCPREQUEST, .macn = 0x60, .ciaddr = IP(10, 0, 0, 120)};
	assert_int_equal(send(f, &renew, T0 + 2), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);
	/* somebody else may not have it */
	struct ipbuf a = ipb(IP(10, 0, 0, 120));
	struct pk other = {.type = XP_DHCPDISCOVER, .macn = 0x70, .o = {{50, 4, a.s}}};
	assert_int_equal(send(f, &other, T0 + 3), 1);
	assert_int_not_equal(f->m.h.yiaddr, IP(10, 0, 0, 120));
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);

	/* reconfigure without the relayed pool: its lease goes, the rest and the pending
	 * change stay */
	struct xp_dhcp_config c2 = cfg0();
	c2.n_pools = 1;
	assert_int_equal(xp_dhcp_server_reconfigure(f->s, &c2), 0);
	assert_int_equal(xp_dhcp_server_leases(f->s, &lv), 1);
	assert_int_equal(lv[0].ip, IP(10, 0, 0, 120));
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);
	assert_int_equal(send(f, &d, T0 + 4), 1);
	assert_int_equal(f->m.h.yiaddr, IP(10, 0, 0, 120));
	/* a bad new config leaves the server as it was */
	c2.server_ip = 0;
	assert_int_equal(xp_dhcp_server_reconfigure(f->s, &c2), -EINVAL);
	assert_int_equal(send(f, &renew, T0 + 5), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);
	fx_free(f);
}

static void test_rate_limit(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	c.rate_burst = 0; /* defaults: 10 burst, 5 per second */
	c.rate_per_sec = 0;
	struct fx *f = fx_new(&c);
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x10};
	for (int i = 0; i < 10; i++)
		assert_int_equal(send(f, &d, T0), 1);
	assert_int_equal(send(f, &d, T0), -EAGAIN);
	assert_string_equal(f->why, "client over its rate limit");
	/* another client is not affected */
	struct pk d2 = {.type = XP_DHCPDISCOVER, .macn = 0x11};
	assert_int_equal(send(f, &d2, T0), 1);
	/* one second later: 5 more */
	for (int i = 0; i < 5; i++)
		assert_int_equal(send(f, &d, T0 + 1), 1);
	assert_int_equal(send(f, &d, T0 + 1), -EAGAIN);
	/* many clients: the table evicts, the server keeps answering new ones */
	for (int i = 0; i < 3000; i++) {
		struct pk x = {.type = XP_DHCPINFORM, .macn = (uint8_t)i,
			       .ciaddr = IP(10, 0, 0, 5)};
		x.o[0] = (struct opt){61, 4, (const char *)&i};
		assert_int_equal(send(f, &x, T0 + 2), 1);
	}
	fx_free(f);
}

struct pxe_case {
	const char *name;
	uint8_t macn;
	struct opt o[5];
	bool no_http;
	const char *file; /* NULL: no boot file */
	bool pxe_part;	  /* 60/43 in the reply */
};

#define PXE60  O(60, "PXEClient:Arch:00000:UNDI:002001")
#define PXE60E O(60, "PXEClient:Arch:00007:UNDI:003016")
#define UUID   O(97, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10")

static const struct pxe_case pxe_cases[] = {
    {"plain client", 0x10, {O(55, "\x42\x43")}, false, NULL, false},
    {"plain client with 93", 0x10, {O(93, "\x00\x00")}, false, NULL, false},
    {"another vendor class", 0x10, {O(60, "MSFT 5.0"), O(93, "\x00\x00")}, false, NULL, false},
    {"PXEClient not first", 0x10, {O(60, "xPXEClient:Arch:00000")}, false, NULL, false},
    {"UEFI HTTP boot", 0x10, {O(60, "HTTPClient:Arch:00016:UNDI:003001"), O(93, "\x00\x10")},
     false, NULL, false},
    {"UEFI HTTP boot as x64", 0x10,
     {O(60, "HTTPClient:Arch:00007:UNDI:003001"), O(93, "\x00\x07")}, false, NULL, false},
    {"BIOS", 0x10, {PXE60, O(93, "\x00\x00"), UUID}, false, "pxelinux.0", true},
    {"BIOS without 93", 0x10, {PXE60}, false, "pxelinux.0", true},
    {"x64 UEFI", 0x10, {PXE60E, O(93, "\x00\x07"), UUID}, false, "ipxe.efi", true},
    {"EBC as x64 UEFI", 0x10, {PXE60E, O(93, "\x00\x09")}, false, "ipxe.efi", true},
    {"x86 UEFI: nothing", 0x10, {PXE60E, O(93, "\x00\x06")}, false, NULL, false},
    {"iPXE user class", 0x10, {PXE60, O(93, "\x00\x00"), O(77, "iPXE")}, false,
     "http://10.0.0.1:8080/ipxe/01-52-54-00-12-34-10", true},
    {"iPXE RFC 3004 user class", 0x10, {PXE60, O(77, "\x04iPXE")}, false,
     "http://10.0.0.1:8080/ipxe/01-52-54-00-12-34-10", true},
    {"iPXE 175", 0x10, {PXE60, O(93, "\x00\x07"), O(175, "\x13\x01\x01")}, false,
     "http://10.0.0.1:8080/ipxe/01-52-54-00-12-34-10", true},
    {"iPXE with another user class", 0x10,
     {PXE60, O(93, "\x00\x00"), O(77, "PXEClient"), O(175, "\x13\x01\x01")}, false,
     "pxelinux.0", true},
    {"iPXE without http_base", 0x10, {PXE60, O(93, "\x00\x07"), O(175, "\x13\x01\x01")},
     true, "ipxe.efi", true},
    /* iPXE without its PXEClient vendor class (a build or script that changed it): still
     * a network boot client; the PXE part (60, 43) is for PXE clients only */
    {"iPXE without 60", 0x10, {O(77, "iPXE")}, false,
     "http://10.0.0.1:8080/ipxe/01-52-54-00-12-34-10", false},
    {"iPXE 175 without 60, no http", 0x10, {O(175, "\x13\x01\x01")}, true, "pxelinux.0",
     false},
    {"netboot off", 0x02, {PXE60, O(93, "\x00\x00")}, false, NULL, false},
};

static void test_pxe(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(pxe_cases); i++) {
		const struct pxe_case *pc = &pxe_cases[i];
		struct xp_dhcp_config c = cfg0();
		c.next_server = IP(10, 0, 0, 7);
		if (pc->no_http)
			c.http_base = NULL;
		for (int proxy = 0; proxy < 2; proxy++) {
			c.proxy = proxy;
			struct fx *f = fx_new(&c);
			struct pk d = {.type = XP_DHCPDISCOVER, .macn = pc->macn};
			memcpy(d.o, pc->o, sizeof(pc->o));
			size_t free_slot = 0;
			while (d.o[free_slot].code)
				free_slot++;
			d.o[free_slot] = (struct opt)O(55, "\x42\x43\x01");
			int r = send(f, &d, T0);
			if (proxy && (!pc->file || !pc->pxe_part)) { /* proxy: PXE clients only */
				if (r != 0)
					fail_msg("%s (proxy): %d", pc->name, r);
				fx_free(f);
				continue;
			}
			if (r != 1)
				fail_msg("%s: %d", pc->name, r);
			assert_int_equal(rtype(f), XP_DHCPOFFER);
			size_t l;
			const uint8_t *v = xp_dhcp_msg_option(&f->m, 67, &l);
			if (!pc->file) {
				if (v || f->m.h.file[0] || f->m.h.siaddr || ropt(f, 66))
					fail_msg("%s: a boot file", pc->name);
			} else {
				if (!v || l != strlen(pc->file) || memcmp(v, pc->file, l) != 0 ||
				    strcmp((const char *)f->m.h.file, pc->file) != 0)
					fail_msg("%s: file %s", pc->name, f->m.h.file);
				assert_int_equal(f->m.h.siaddr, IP(10, 0, 0, 7));
				v = xp_dhcp_msg_option(&f->m, 66, &l);
				assert_int_equal(l, 8);
				assert_memory_equal(v, "10.0.0.7", 8);
			}
			assert_int_equal(ropt(f, 60), pc->pxe_part);
			assert_int_equal(ropt(f, 43), pc->pxe_part);
			if (pc->pxe_part) {
				v = xp_dhcp_msg_option(&f->m, 43, &l);
				assert_int_equal(l, 4);
				assert_memory_equal(v, "\x06\x01\x08\xff", 4);
				v = xp_dhcp_msg_option(&f->m, 60, &l);
				assert_int_equal(l, 9);
				assert_memory_equal(v, "PXEClient", 9);
				bool uuid = false;
				for (size_t k = 0; k < N(pc->o); k++)
					uuid |= pc->o[k].code == 97;
				assert_int_equal(ropt(f, 97), uuid);
			}
			if (proxy) {
				/* ProxyDHCP: no address, no network options */
				assert_int_equal(f->m.h.yiaddr, 0);
				assert_false(ropt(f, 51));
				assert_false(ropt(f, 1));
				assert_false(ropt(f, 3));
				assert_int_equal(ropt_ip(f, 54), SERVER);
			} else {
				assert_int_not_equal(f->m.h.yiaddr, 0);
			}
			fx_free(f);
		}
	}
}

/* The ACK to a network boot client of a known host says whose boot it is (tx.boot_host:
 * the server logs a netboot-off host sent to its disk and supersedes an abandoned
 * install): on the ACK only, for PXE or iPXE clients only, for a known host only. */
static void test_boot_host(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	static const struct {
		uint8_t macn;
		bool pxe;
		const char *host; /* NULL: none */
	} cases[] = {{0x02, true, "noboot"}, {0x02, false, NULL}, {0x01, true, "web1"},
		     {0x10, true, NULL}};
	for (size_t i = 0; i < N(cases); i++) {
		struct pk d = {.type = XP_DHCPDISCOVER, .macn = cases[i].macn};
		if (cases[i].pxe)
			d.o[0] = (struct opt)PXE60;
		assert_int_equal(send(f, &d, T0), 1);
		assert_int_equal(rtype(f), XP_DHCPOFFER);
		assert_null(f->tx.boot_host); /* an offer: not yet a boot */
		struct ipbuf a = ipb(f->m.h.yiaddr), sid = ipb(SERVER);
		struct pk r = {.type = XP_DHCPREQUEST,
			       .macn = cases[i].macn,
			       .o = {{50, 4, a.s}, {54, 4, sid.s}}};
		if (cases[i].pxe)
			r.o[2] = (struct opt)PXE60;
		assert_int_equal(send(f, &r, T0), 1);
		assert_int_equal(rtype(f), XP_DHCPACK);
		if (!cases[i].host) {
			assert_null(f->tx.boot_host);
			continue;
		}
		assert_non_null(f->tx.boot_host);
		assert_string_equal(f->tx.boot_host->name, cases[i].host);
		/* netboot off: no boot file */
		assert_int_equal(ropt(f, 67) || f->m.h.file[0], f->tx.boot_host->netboot);
	}
	fx_free(f);
}

static void test_proxy_requests(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	c.proxy = true;
	c.n_pools = 0;
	c.n_hosts = 0; /* reservations need a pool's subnet */
	struct fx *f = fx_new(&c);
	struct ipbuf sid = ipb(SERVER), other = ipb(IP(10, 0, 0, 9)), a = ipb(IP(10, 0, 0, 5));
	/* the REQUEST to the address server: not ours */
	struct pk r = {.type = XP_DHCPREQUEST, .macn = 0x10,
		       .o = {PXE60, {50, 4, a.s}, {54, 4, other.s}}};
	assert_int_equal(send(f, &r, T0), 0);
	assert_string_equal(f->why, "proxy mode: a REQUEST for the address server");
	/* to us (port 4011, boot server discovery): ACK to the client's port 4011 */
	struct pk r2 = {.type = XP_DHCPREQUEST, .macn = 0x10, .ciaddr = IP(10, 0, 0, 5),
			.o = {PXE60, {54, 4, sid.s}}};
	assert_int_equal(send_at(f, &r2, T0, 4011), 1);
	assert_int_equal(rtype(f), XP_DHCPACK);
	assert_int_equal(f->tx.dst_ip, IP(10, 0, 0, 5));
	assert_int_equal(f->tx.dst_port, 4011);
	assert_string_equal((const char *)f->m.h.file, "pxelinux.0");
	/* non-PXE: ignored */
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x10};
	assert_int_equal(send(f, &d, T0), 0);
	assert_string_equal(f->why, "proxy mode: not a PXE client");
	struct pk rel = {.type = XP_DHCPRELEASE, .macn = 0x10, .o = {PXE60}};
	assert_int_equal(send(f, &rel, T0), 0);
	assert_string_equal(f->why, "proxy mode: message ignored");
	fx_free(f);
}

/* Option 57 and the size of replies. */
static void test_max_size(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	static char big82[401];
	memset(big82, 'r', 400);
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x10, .giaddr = IP(10, 1, 0, 1),
		       .o = {{82, 280, big82}, O(55, "\x01\x03\x06")}};
	/* default: 576-byte datagrams, 548 bytes of DHCP: 82 (echoed, last) and 1 fit */
	assert_int_equal(send(f, &d, T0), 1);
	assert_true(f->tx.len <= 548);
	assert_true(ropt(f, 82));
	assert_true(ropt(f, 1));
	assert_false(ropt(f, 3));
	assert_false(ropt(f, 6));
	/* 57 below 576 counts as 576 */
	d.o[2] = (struct opt)O(57, "\x01\x00");
	assert_int_equal(send(f, &d, T0), 1);
	assert_true(f->tx.len <= 548);
	assert_false(ropt(f, 3));
	/* 57 = 1500: everything fits */
	d.o[2] = (struct opt)O(57, "\x05\xdc");
	assert_int_equal(send(f, &d, T0), 1);
	assert_true(f->tx.len <= 1472);
	assert_true(ropt(f, 3));
	assert_true(ropt(f, 6));
	/* 57 above 1500 is capped; an 82 that cannot be echoed: no reply */
	d.o[2] = (struct opt)O(57, "\xff\xff");
	d.o[0].len = 400;
	assert_int_equal(send(f, &d, T0), 1);
	assert_true(f->tx.len <= 1472);
	d.o[2].code = 0;
	assert_int_equal(send(f, &d, T0), -EMSGSIZE);
	fx_free(f);
}

struct mal_case {
	const char *name;
	struct pk p;
	int rc;
	const char *why;
};

static void test_server_malformed(void **state)
{
	(void)state;
	static char long61[70];
	memset(long61, 1, sizeof(long61));
	struct ipbuf sid = ipb(SERVER);
	const struct mal_case cases[] = {
	    {"no 53", {.type = 0, .macn = 1}, -EBADMSG, "no DHCP message type (53)"},
	    {"53 len 2", {.type = 0, .o = {O(53, "\x01\x01")}}, -EBADMSG,
	     "bad DHCP message type (53) length"},
	    {"50 len 3", {.type = 1, .o = {O(50, "\x0a\x00\x00")}}, -EBADMSG,
	     "bad requested address (50) length"},
	    {"54 len 5", {.type = 1, .o = {O(54, "\x0a\x00\x00\x01\x01")}}, -EBADMSG,
	     "bad server identifier (54) length"},
	    {"57 len 1", {.type = 1, .o = {O(57, "\x05")}}, -EBADMSG,
	     "bad maximum message size (57) length"},
	    {"61 len 1", {.type = 1, .o = {O(61, "\x01")}}, -EBADMSG,
	     "client identifier (61) shorter than 2 bytes"},
	    {"61 len 65", {.type = 1, .o = {{61, 65, long61}}}, -EBADMSG,
	     "client identifier (61) longer than 64 bytes"},
	    {"hlen 0", {.type = 1, .hlen = 255}, -EBADMSG,
	     "no client identifier (61) and no hardware address"},
	    {"93 len 3", {.type = 1, .o = {O(93, "\x00\x00\x00")}}, -EBADMSG,
	     "bad client system architecture (93) length"},
	    {"REQUEST bare", {.type = 3}, -EBADMSG,
	     "REQUEST with no server identifier, requested address or ciaddr"},
	    {"SELECTING without 50", {.type = 3, .o = {{54, 4, sid.s}}}, -EBADMSG,
	     "REQUEST with a server identifier but no requested address (50)"},
	    {"DECLINE without 50", {.type = 4}, -EBADMSG,
	     "DECLINE without a requested address (50)"},
	    {"INFORM without ciaddr", {.type = 8}, -EBADMSG, "INFORM without ciaddr"},
	    {"BOOTREPLY", {.type = 2, .op = 2}, 0, "not a BOOTREQUEST"},
	    {"client sends OFFER", {.type = 2}, 0, "not a client message type"},
	    {"type 200", {.type = 200}, 0, "not a client message type"},
	    {"INFORM, foreign net", {.type = 8, .ciaddr = IP(192, 168, 3, 3)}, 0,
	     "INFORM from a network no pool serves"},
	};
	struct xp_dhcp_config c = cfg0();
	struct fx *f = fx_new(&c);
	for (size_t i = 0; i < N(cases); i++) {
		int r = send(f, &cases[i].p, T0);
		if (r != cases[i].rc || !f->why || strcmp(f->why, cases[i].why) != 0)
			fail_msg("%s: %d %s", cases[i].name, r, f->why ? f->why : "(null)");
	}
	/* parse errors come through with the parser's reason */
	uint8_t p[300];
	base(p, sizeof(p));
	p[239] = 0;
	struct xp_dhcp_rx rx = {0, 68, SERVER, T0};
	const char *why = NULL;
	assert_int_equal(xp_dhcp_server_handle(f->s, p, sizeof(p), &rx, &f->tx, &why), -EBADMSG);
	assert_string_equal(why, "bad magic cookie");
	assert_int_equal(xp_dhcp_server_handle(f->s, p, 10, &rx, &f->tx, NULL), -EBADMSG);
	/* a DISCOVER on an interface without a pool */
	struct pk d = {.type = 1, .macn = 5};
	size_t len = mk(f->buf, sizeof(f->buf), &d);
	rx.local_ip = IP(172, 16, 0, 1);
	assert_int_equal(xp_dhcp_server_handle(f->s, f->buf, len, &rx, &f->tx, &why), 0);
	assert_string_equal(why, "no pool serves the client's network");
	fx_free(f);
}

/* A big pool: many clients, each a distinct address, found without scanning. */
static void test_many_clients(void **state)
{
	(void)state;
	struct xp_dhcp_pool p = pools[0];
	p.start = IP(10, 0, 0, 2);
	p.end = IP(10, 0, 255, 254);
	p.netmask = IP(255, 255, 0, 0);
	p.router = 0;
	struct xp_dhcp_config c = cfg0();
	c.pools = &p;
	c.n_pools = 1;
	c.n_hosts = 0;
	struct fx *f = fx_new(&c);
	static uint8_t seen[65536];
	memset(seen, 0, sizeof(seen));
	for (uint32_t i = 0; i < 20000; i++) {
		char id[8] = {1, 'c', (char)(i >> 16), (char)(i >> 8), (char)i, 0, 0, 0};
		struct pk d = {.type = XP_DHCPDISCOVER, .o = {{61, 5, id}}};
		assert_int_equal(send(f, &d, T0), 1);
		uint32_t ip = f->m.h.yiaddr;
		assert_true(ip >= p.start && ip <= p.end && ip != SERVER);
		assert_int_equal(seen[ip & 0xffff], 0);
		seen[ip & 0xffff] = 1;
		struct ipbuf a = ipb(ip), sid = ipb(SERVER);
		struct pk r = {.type = XP_DHCPREQUEST, .o = {{61, 5, id}, {50, 4, a.s}, {54, 4, sid.s}}};
		assert_int_equal(send(f, &r, T0), 1);
		assert_int_equal(rtype(f), XP_DHCPACK);
		if (i % 1000 == 999)
			xp_dhcp_server_changes_clear(f->s);
	}
	const struct xp_dhcp_lease *lv;
	assert_int_equal(xp_dhcp_server_leases(f->s, &lv), 20000);
	fx_free(f);
}

/* The change log is bounded: at 65536 pending changes, lease changes wait for a clear. */
static void test_change_log_full(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	c.rate_burst = 100000;
	c.rate_per_sec = 100000;
	struct fx *f = fx_new(&c);
	uint32_t ip = dora(f, 0x10, T0);
	struct pk renew = {.type = XP_DHCPREQUEST, .macn = 0x10, .ciaddr = ip};
	for (int i = 1; i < 65536; i++)
		assert_int_equal(send(f, &renew, T0 + 1), 1);
	const struct xp_dhcp_lease *lv;
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 65536);
	assert_int_equal(send(f, &renew, T0 + 1), -ENOBUFS);
	assert_string_equal(f->why, "lease change log full");
	/* what changes no lease still works */
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x11};
	assert_int_equal(send(f, &d, T0 + 1), 1);
	xp_dhcp_server_changes_clear(f->s);
	assert_int_equal(send(f, &renew, T0 + 2), 1);
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);
	fx_free(f);
}

/* report_offers (servers sharing pools): an offer is a change, state OFFERED, expiring
 * with the hold, carrying the client's MAC; an offer of the client's own lease is not;
 * another server's offer restored holds the address for its client until it runs out,
 * and a holder restored over this server's offer takes the address from its client. */
static void test_report_offers(void **state)
{
	(void)state;
	struct xp_dhcp_config c = cfg0();
	c.report_offers = true;
	struct fx *f = fx_new(&c);
	const struct xp_dhcp_lease *lv;
	struct pk d = {.type = XP_DHCPDISCOVER, .macn = 0x40};
	assert_int_equal(send(f, &d, T0), 1);
	uint32_t ip = f->m.h.yiaddr;
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 1);
	assert_int_equal(lv[0].state, XP_LEASE_OFFERED);
	assert_int_equal(lv[0].ip, ip);
	assert_int_equal(lv[0].expires, T0 + 30);
	assert_int_equal(lv[0].mac[5], 0x40);
	assert_int_equal(xp_dhcp_server_leases(f->s, &lv), 0); /* still no lease */
	xp_dhcp_server_changes_clear(f->s);
	/* bound, then offered its own lease again: no claim needed */
	assert_int_equal(dora(f, 0x40, T0 + 1), ip);
	xp_dhcp_server_changes_clear(f->s);
	assert_int_equal(send(f, &d, T0 + 2), 1);
	assert_int_equal(xp_dhcp_server_changes(f->s, &lv), 0);

	/* another server offered the next address to client 0x41 until T0 + 40: 0x42 is
	 * offered another one, 0x41 that one */
	struct xp_dhcp_lease o = {
	    .ip = ip + 1, .client_len = 7, .state = XP_LEASE_OFFERED, .expires = T0 + 40};
	uint8_t mac41[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x41};
	o.client[0] = 1;
	memcpy(o.client + 1, mac41, 6);
	memcpy(o.mac, mac41, 6);
	assert_int_equal(xp_dhcp_server_restore(f->s, &o, 1, T0 + 3), 1);
	struct ipbuf want = ipb(ip + 1);
	struct pk d42 = {.type = XP_DHCPDISCOVER, .macn = 0x42, .o = {{50, 4, want.s}}};
	assert_int_equal(send(f, &d42, T0 + 3), 1);
	uint32_t got42 = f->m.h.yiaddr;
	assert_int_not_equal(got42, ip + 1);
	struct pk d41 = {.type = XP_DHCPDISCOVER, .macn = 0x41};
	assert_int_equal(send(f, &d41, T0 + 4), 1);
	assert_int_equal(f->m.h.yiaddr, ip + 1);
	/* once it ran out, 0x43 may have it */
	struct pk d43 = {.type = XP_DHCPDISCOVER, .macn = 0x43, .o = {{50, 4, want.s}}};
	assert_int_equal(send(f, &d43, T0 + 40 + 31), 1);
	assert_int_equal(f->m.h.yiaddr, ip + 1);

	/* the database said 0x42's address is 0x44's, bound: 0x42's REQUEST is refused
	 * and its next DISCOVER gets another address */
	struct xp_dhcp_lease b = o;
	b.ip = got42;
	b.state = XP_LEASE_BOUND;
	b.expires = T0 + 5000;
	b.client[6] = b.mac[5] = 0x44;
	assert_int_equal(xp_dhcp_server_restore(f->s, &b, 1, T0 + 72), 1);
	struct ipbuf a42 = ipb(got42), sid = ipb(SERVER);
	struct pk r42 = {
	    .type = XP_DHCPREQUEST, .macn = 0x42, .o = {{50, 4, a42.s}, {54, 4, sid.s}}};
	assert_int_equal(send(f, &r42, T0 + 72), 1);
	assert_int_equal(rtype(f), XP_DHCPNAK);
	assert_int_equal(send(f, &d42, T0 + 73), 1);
	assert_int_not_equal(f->m.h.yiaddr, got42);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_msg_malformed),
	    cmocka_unit_test(test_msg_merge_overload),
	    cmocka_unit_test(test_msg_build),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_dora),
	    cmocka_unit_test(test_client_id),
	    cmocka_unit_test(test_prl_order),
	    cmocka_unit_test(test_request_states),
	    cmocka_unit_test(test_reservation),
	    cmocka_unit_test(test_reservation_refused),
	    cmocka_unit_test(test_relay),
	    cmocka_unit_test(test_release_decline_inform),
	    cmocka_unit_test(test_exhaustion_expiry),
	    cmocka_unit_test(test_restore_reconfigure),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_pxe),
	    cmocka_unit_test(test_boot_host),
	    cmocka_unit_test(test_proxy_requests),
	    cmocka_unit_test(test_max_size),
	    cmocka_unit_test(test_server_malformed),
	    cmocka_unit_test(test_many_clients),
	    cmocka_unit_test(test_change_log_full),
	    cmocka_unit_test(test_report_offers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
