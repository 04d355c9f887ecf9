/*
 * test-pxeboot.c - unit tests for the domU network bootloader's pure parts and its
 * files: the DHCP client engine (against the boot server's own engine, and against
 * hand-made answers: other transactions, NAK, offers without a boot file, ProxyDHCP,
 * backoff, the overall timeout, RELEASE), the TFTP client engine (whole transfers
 * against the server's session engine with loss, block rollover, no options, ERROR 1
 * and 8, the size limit, an OACK of what was not asked), pxelinux's search names,
 * IPAPPEND, path resolution, libxl's answer formats read back as libxl reads them, the
 * guest's NIC from vif specs and configs, and the output files. Time is a counter.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "xenprov/bootloader.h"
#include "xenprov/dhcp-client.h"
#include "xenprov/dhcp.h"
#include "xenprov/pxeboot.h"
#include "xenprov/pxelinux.h"
#include "xenprov/tftp.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

XP_TEST_SCRATCH("pxeboot")

static const uint8_t MAC[6] = {0x00, 0x16, 0x3e, 0x11, 0x11, 0x11};

/* ---- DHCP client ------------------------------------------------------------------ */

static struct xp_dhcp_client *client(uint32_t xid)
{
	struct xp_dhcp_client_opts o = {.xid = xid, .seed = 7};
	memcpy(o.mac, MAC, 6);
	struct xp_dhcp_client *c;
	assert_int_equal(xp_dhcp_client_new(&o, 0, &c), 0);
	return c;
}

/* A reply of type t to xid for mac, yiaddr, from server sid (0: no option 54), with a
 * boot file (NULL: none). */
static size_t reply(uint8_t *buf, uint8_t t, uint32_t xid, const uint8_t *mac, uint32_t yiaddr,
		    uint32_t sid, const char *file, bool pxe_class)
{
	struct xp_dhcp_hdr h = {.op = XP_BOOTREPLY, .htype = 1, .hlen = 6, .xid = xid,
				.yiaddr = yiaddr, .siaddr = IP(10, 0, 0, 9)};
	memcpy(h.chaddr, mac, 6);
	if (file)
		snprintf((char *)h.file, sizeof(h.file), "%s", file);
	struct xp_dhcp_build b;
	assert_int_equal(xp_dhcp_msg_build_init(&b, buf, 576, &h), 0);
	xp_dhcp_msg_build_u8(&b, 53, t);
	if (sid)
		xp_dhcp_msg_build_u32(&b, 54, sid);
	xp_dhcp_msg_build_u32(&b, 1, IP(255, 255, 255, 0));
	xp_dhcp_msg_build_u32(&b, 3, IP(10, 0, 0, 1));
	xp_dhcp_msg_build_u32(&b, 51, 600);
	if (pxe_class)
		xp_dhcp_msg_build_option(&b, 60, "PXEClient", 9);
	return xp_dhcp_msg_build_end(&b);
}

static void parse_sent(const uint8_t *buf, ssize_t n, struct xp_dhcp_msg *m, uint8_t type)
{
	assert_true(n > 0);
	assert_int_equal(xp_dhcp_msg_parse(buf, (size_t)n, m), 0);
	uint8_t t;
	assert_int_equal(xp_dhcp_msg_u8(m, 53, &t), 0);
	assert_int_equal(t, type);
}

static void test_dhcp_client_messages(void **state)
{
	(void)state;
	struct xp_dhcp_client *c = client(0x1234);
	uint8_t buf[1500];
	static struct xp_dhcp_msg m;
	ssize_t n = xp_dhcp_client_next(c, buf, sizeof buf, 0);
	parse_sent(buf, n, &m, XP_DHCPDISCOVER);
	assert_int_equal(m.h.op, XP_BOOTREQUEST);
	assert_int_equal(m.h.xid, 0x1234);
	assert_int_equal(m.h.flags, XP_DHCP_FLAG_BROADCAST);
	assert_memory_equal(m.h.chaddr, MAC, 6);
	size_t l;
	const uint8_t *v = xp_dhcp_msg_option(&m, 60, &l);
	assert_non_null(v);
	assert_memory_equal(v, XP_DHCP_PXE_VENDOR_CLASS, l);
	uint16_t arch = 9;
	assert_int_equal(xp_dhcp_msg_u16(&m, 93, &arch), 0);
	assert_int_equal(arch, 0);
	assert_non_null(xp_dhcp_msg_option(&m, 94, NULL));
	/* nothing due until the timer: first retransmission near 1 s */
	assert_int_equal(xp_dhcp_client_next(c, buf, sizeof buf, 10), 0);
	int64_t dl = xp_dhcp_client_deadline(c);
	assert_true(dl >= 875 && dl <= 1125);
	/* not ours: another xid, another chaddr, a request, garbage */
	static const uint8_t other[6] = {0, 0x16, 0x3e, 9, 9, 9};
	uint8_t r[600];
	size_t rl = reply(r, XP_DHCPOFFER, 0x9999, MAC, IP(10, 0, 0, 50), IP(10, 0, 0, 1), "pxelinux.0", false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 20), 0);
	rl = reply(r, XP_DHCPOFFER, 0x1234, other, IP(10, 0, 0, 50), IP(10, 0, 0, 1), "pxelinux.0", false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 20), 0);
	assert_int_equal(xp_dhcp_client_input(c, buf, (size_t)n, 20), 0); /* our DISCOVER */
	assert_int_equal(xp_dhcp_client_input(c, (const uint8_t *)"junk", 4, 20), -EBADMSG);
	/* an offer without option 54 cannot be requested */
	rl = reply(r, XP_DHCPOFFER, 0x1234, MAC, IP(10, 0, 0, 50), 0, "pxelinux.0", false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 20), 0);
	/* an offer with a boot file is taken at once: REQUEST with 50 and 54 */
	rl = reply(r, XP_DHCPOFFER, 0x1234, MAC, IP(10, 0, 0, 50), IP(10, 0, 0, 1), "boot/pxelinux.0", false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 30), 1);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_REQUESTING);
	n = xp_dhcp_client_next(c, buf, sizeof buf, 30);
	parse_sent(buf, n, &m, XP_DHCPREQUEST);
	uint32_t ip;
	assert_int_equal(xp_dhcp_msg_ip(&m, 50, &ip), 0);
	assert_int_equal(ip, IP(10, 0, 0, 50));
	assert_int_equal(xp_dhcp_msg_ip(&m, 54, &ip), 0);
	assert_int_equal(ip, IP(10, 0, 0, 1));
	/* an ACK from another server is not ours; a NAK from ours starts over */
	rl = reply(r, XP_DHCPACK, 0x1234, MAC, IP(10, 0, 0, 50), IP(10, 0, 0, 2), NULL, false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 40), 0);
	rl = reply(r, XP_DHCPNAK, 0x1234, MAC, 0, IP(10, 0, 0, 1), NULL, false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 40), 1);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_SELECTING);
	n = xp_dhcp_client_next(c, buf, sizeof buf, 40);
	parse_sent(buf, n, &m, XP_DHCPDISCOVER);
	rl = reply(r, XP_DHCPOFFER, 0x1234, MAC, IP(10, 0, 0, 51), IP(10, 0, 0, 1), "pxelinux.0", false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 50), 1);
	n = xp_dhcp_client_next(c, buf, sizeof buf, 50);
	parse_sent(buf, n, &m, XP_DHCPREQUEST);
	/* the ACK: bound; its own boot file none, the offer's kept */
	rl = reply(r, XP_DHCPACK, 0x1234, MAC, IP(10, 0, 0, 51), IP(10, 0, 0, 1), NULL, false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 60), 1);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_BOUND);
	const struct xp_dhcp_client_lease *le = xp_dhcp_client_lease(c);
	assert_int_equal(le->ip, IP(10, 0, 0, 51));
	assert_int_equal(le->server_id, IP(10, 0, 0, 1));
	assert_int_equal(le->netmask, IP(255, 255, 255, 0));
	assert_int_equal(le->router, IP(10, 0, 0, 1));
	assert_int_equal(le->lease_time, 600);
	assert_int_equal(le->next_server, IP(10, 0, 0, 9));
	assert_string_equal(le->file, "pxelinux.0");
	assert_int_equal(xp_dhcp_client_deadline(c), INT64_MAX);
	assert_int_equal(xp_dhcp_client_discovers(c), 2);
	assert_int_equal(xp_dhcp_client_requests(c), 2);
	/* RELEASE: unicast form, ciaddr, option 54 */
	n = xp_dhcp_client_release(c, buf, sizeof buf);
	parse_sent(buf, n, &m, XP_DHCPRELEASE);
	assert_int_equal(m.h.ciaddr, IP(10, 0, 0, 51));
	assert_int_equal(m.h.flags, 0);
	assert_int_equal(xp_dhcp_msg_ip(&m, 54, &ip), 0);
	assert_int_equal(ip, IP(10, 0, 0, 1));
	assert_int_equal(xp_dhcp_client_release(c, buf, 100), -ENOSPC);
	xp_dhcp_client_free(c);
	/* bad MACs */
	struct xp_dhcp_client_opts o = {0};
	assert_int_equal(xp_dhcp_client_new(&o, 0, &c), -EINVAL);
	o.mac[0] = 1;
	assert_int_equal(xp_dhcp_client_new(&o, 0, &c), -EINVAL);
}

static void test_dhcp_client_selection(void **state)
{
	(void)state;
	uint8_t buf[1500], r[600];
	/* an address alone waits select_ms for an offer with a boot file */
	struct xp_dhcp_client *c = client(1);
	assert_true(xp_dhcp_client_next(c, buf, sizeof buf, 0) > 0);
	size_t rl = reply(r, XP_DHCPOFFER, 1, MAC, IP(10, 0, 0, 60), IP(10, 0, 0, 2), NULL, false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 100), 1);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_SELECTING);
	assert_true(xp_dhcp_client_deadline(c) <= 1100); /* the selection window's end */
	rl = reply(r, XP_DHCPOFFER, 1, MAC, IP(10, 0, 0, 70), IP(10, 0, 0, 3), "pxelinux.0", false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 200), 1);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_REQUESTING);
	static struct xp_dhcp_msg m;
	ssize_t n = xp_dhcp_client_next(c, buf, sizeof buf, 200);
	parse_sent(buf, n, &m, XP_DHCPREQUEST);
	uint32_t ip;
	assert_int_equal(xp_dhcp_msg_ip(&m, 54, &ip), 0);
	assert_int_equal(ip, IP(10, 0, 0, 3));
	xp_dhcp_client_free(c);
	/* with nothing better, the plain offer is taken when the window ends */
	c = client(2);
	assert_true(xp_dhcp_client_next(c, buf, sizeof buf, 0) > 0);
	rl = reply(r, XP_DHCPOFFER, 2, MAC, IP(10, 0, 0, 60), IP(10, 0, 0, 2), NULL, false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 500), 1);
	xp_dhcp_client_tick(c, 1499);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_SELECTING);
	xp_dhcp_client_tick(c, 1500);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_REQUESTING);
	xp_dhcp_client_free(c);
	/* ProxyDHCP: no address, PXEClient, a boot file lent to the address taken */
	c = client(3);
	assert_true(xp_dhcp_client_next(c, buf, sizeof buf, 0) > 0);
	rl = reply(r, XP_DHCPOFFER, 3, MAC, 0, IP(10, 0, 0, 5), "proxy.0", false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 10), 0); /* no PXEClient: not a proxy */
	rl = reply(r, XP_DHCPOFFER, 3, MAC, 0, IP(10, 0, 0, 5), "proxy.0", true);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 10), 1);
	rl = reply(r, XP_DHCPOFFER, 3, MAC, IP(10, 0, 0, 61), IP(10, 0, 0, 2), NULL, false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 20), 1);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_REQUESTING);
	assert_true(xp_dhcp_client_next(c, buf, sizeof buf, 20) > 0);
	rl = reply(r, XP_DHCPACK, 3, MAC, IP(10, 0, 0, 61), IP(10, 0, 0, 2), NULL, false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 30), 1);
	const struct xp_dhcp_client_lease *le = xp_dhcp_client_lease(c);
	assert_string_equal(le->file, "proxy.0");
	assert_true(le->from_proxy);
	assert_int_equal(le->boot_server_id, IP(10, 0, 0, 5));
	assert_int_equal(le->server_id, IP(10, 0, 0, 2));
	xp_dhcp_client_free(c);
}

static void test_dhcp_client_timers(void **state)
{
	(void)state;
	uint8_t buf[1500], r[600];
	struct xp_dhcp_client_opts o = {.xid = 5, .seed = 99, .timeout_ms = 20000};
	memcpy(o.mac, MAC, 6);
	struct xp_dhcp_client *c;
	assert_int_equal(xp_dhcp_client_new(&o, 1000, &c), 0);
	/* DISCOVERs at about 1, 2, 4, 8 s intervals (+-1/8), secs counting up */
	int64_t t = 1000;
	static const int64_t base[] = {1000, 2000, 4000, 8000};
	static struct xp_dhcp_msg m;
	for (size_t i = 0; i < N(base); i++) {
		ssize_t n = xp_dhcp_client_next(c, buf, sizeof buf, t);
		parse_sent(buf, n, &m, XP_DHCPDISCOVER);
		assert_int_equal(m.h.secs, (t - 1000) / 1000);
		int64_t dl = xp_dhcp_client_deadline(c);
		assert_true(dl - t >= base[i] - base[i] / 8 && dl - t <= base[i] + base[i] / 8);
		assert_int_equal(xp_dhcp_client_next(c, buf, sizeof buf, dl - 1), 0);
		t = dl;
	}
	/* the overall timeout */
	xp_dhcp_client_tick(c, 21000);
	assert_int_equal(xp_dhcp_client_state(c), XP_DHCP_CLIENT_FAILED);
	assert_non_null(strstr(xp_dhcp_client_error(c), "no DHCP offer in 20 s"));
	assert_int_equal(xp_dhcp_client_next(c, buf, sizeof buf, 22000), 0);
	assert_int_equal(xp_dhcp_client_deadline(c), INT64_MAX);
	assert_int_equal(xp_dhcp_client_next(c, buf, 100, 22000), -ENOSPC);
	xp_dhcp_client_free(c);
	/* a REQUEST unanswered 4 times: back to DISCOVER */
	c = client(6);
	assert_true(xp_dhcp_client_next(c, buf, sizeof buf, 0) > 0);
	size_t rl = reply(r, XP_DHCPOFFER, 6, MAC, IP(10, 0, 0, 60), IP(10, 0, 0, 2), "f", false);
	assert_int_equal(xp_dhcp_client_input(c, r, rl, 10), 1);
	t = 10;
	for (int i = 0; i < 4; i++) {
		ssize_t n = xp_dhcp_client_next(c, buf, sizeof buf, t);
		parse_sent(buf, n, &m, XP_DHCPREQUEST);
		t = xp_dhcp_client_deadline(c);
	}
	ssize_t n = xp_dhcp_client_next(c, buf, sizeof buf, t);
	parse_sent(buf, n, &m, XP_DHCPDISCOVER);
	assert_int_equal(xp_dhcp_client_requests(c), 4);
	xp_dhcp_client_free(c);
}

/* The client against the boot server's own engine, in memory. */
static void test_dhcp_client_vs_server(void **state)
{
	(void)state;
	static const struct xp_dhcp_pool pool = {.name = "lan", .start = IP(10, 0, 0, 100),
						 .end = IP(10, 0, 0, 199),
						 .netmask = IP(255, 255, 255, 0),
						 .router = IP(10, 0, 0, 1), .lease_time = 300};
	static const struct xp_dhcp_host host = {.mac = {0x00, 0x16, 0x3e, 0x11, 0x11, 0x11},
						 .ip = IP(10, 0, 0, 50), .netboot = true};
	struct xp_dhcp_config cfg = {.server_ip = IP(10, 0, 0, 1), .pools = &pool, .n_pools = 1,
				     .hosts = &host, .n_hosts = 1, .bios_file = "pxelinux.0"};
	struct xp_dhcp_server *s;
	assert_int_equal(xp_dhcp_server_new(&cfg, &s), 0);
	struct xp_dhcp_client *c = client(0xabc);
	uint8_t buf[1500];
	static struct xp_dhcp_tx tx;
	struct xp_dhcp_rx rx = {.src_port = 68, .local_ip = IP(10, 0, 0, 1), .now = 1000};
	for (int round = 0; round < 4 && xp_dhcp_client_state(c) != XP_DHCP_CLIENT_BOUND; round++) {
		ssize_t n = xp_dhcp_client_next(c, buf, sizeof buf, round * 10);
		assert_true(n > 0);
		assert_int_equal(xp_dhcp_server_handle(s, buf, (size_t)n, &rx, &tx, NULL), 1);
		assert_true(tx.broadcast); /* the client asked for it */
		assert_int_equal(xp_dhcp_client_input(c, tx.buf, tx.len, round * 10 + 1), 1);
	}
	const struct xp_dhcp_client_lease *le = xp_dhcp_client_lease(c);
	assert_non_null(le);
	assert_int_equal(le->ip, IP(10, 0, 0, 50));
	assert_string_equal(le->file, "pxelinux.0");
	assert_int_equal(le->next_server, IP(10, 0, 0, 1));
	ssize_t n = xp_dhcp_client_release(c, buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal(xp_dhcp_server_handle(s, buf, (size_t)n, &rx, &tx, NULL), 0);
	const struct xp_dhcp_lease *ch;
	size_t nch = xp_dhcp_server_changes(s, &ch);
	assert_true(nch >= 2);
	assert_int_equal(ch[nch - 1].state, XP_LEASE_RELEASED);
	xp_dhcp_client_free(c);
	xp_dhcp_server_free(s);
}

/* ---- TFTP client ------------------------------------------------------------------- */

struct membuf {
	uint8_t *p;
	size_t len, cap;
	int fail_at; /* a write error at this call (0: never) */
	int calls;
};

static int mem_sink(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct membuf *m = ctx;
	if (++m->calls == m->fail_at)
		return -ENOSPC;
	if (off + len > m->cap) {
		m->cap = (off + len) * 2;
		m->p = realloc(m->p, m->cap);
	}
	memcpy(m->p + off, data, len);
	if (off + len > m->len)
		m->len = off + len;
	return 0;
}

struct xfer_case {
	const char *what;
	size_t size;
	uint32_t blksize, windowsize; /* asked by the client; 0: none */
	uint32_t srv_blk, srv_win;    /* the server's limits */
	unsigned drop_data, drop_ack; /* drop every Nth DATA / ACK (0: none) */
	uint32_t want_blk, want_win;
};

static const struct xfer_case xfers[] = {
    {"empty file", 0, 1468, 64, 0, 0, 0, 0, 1468, 64},
    {"one short block", 511, 512, 0, 0, 0, 0, 0, 512, 1},
    {"exact blocks (empty last)", 1024, 512, 4, 0, 0, 0, 0, 512, 4},
    {"no options: 512, window 1", 5000, 0, 0, 0, 0, 0, 0, 512, 1},
    {"server lowers blksize and window", 100000, 8192, 128, 1468, 16, 0, 0, 1468, 16},
    {"windows with DATA loss", 300007, 1000, 8, 0, 0, 7, 0, 1000, 8},
    {"windows with ACK loss", 300007, 1000, 8, 0, 0, 0, 3, 1000, 8},
    {"lock-step with both lost", 50001, 512, 1, 0, 0, 5, 4, 512, 1},
    {"block numbers roll over", 65536 * 8 + 3, 8, 16, 0, 0, 0, 0, 8, 16},
};

static void test_tftp_client_transfers(void **state)
{
	(void)state;
	static uint8_t pkt[70000], cp[400];
	for (size_t i = 0; i < N(xfers); i++) {
		const struct xfer_case *x = &xfers[i];
		uint8_t *file = malloc(x->size + 1);
		for (size_t k = 0; k < x->size; k++)
			file[k] = (uint8_t)(k * 7 + k / 251);
		struct membuf mb = {0};
		struct xp_tftp_sink sink = {mem_sink, &mb};
		struct xp_tftp_client_opts o = {.filename = "f", .blksize = x->blksize,
						.windowsize = x->windowsize, .tsize = x->blksize != 0};
		struct xp_tftp_client *c;
		assert_int_equal(xp_tftp_client_new(&o, &sink, 0, &c), 0);
		int64_t now = 0;
		ssize_t n = xp_tftp_client_next(c, cp, sizeof cp, now);
		assert_true(n > 0);
		struct xp_tftp_request rq;
		assert_int_equal(xp_tftp_parse_request(cp, (size_t)n, &rq), 0);
		struct xp_tftp_source src;
		xp_tftp_source_mem(&src, file, x->size);
		struct xp_tftp_limits lim = {.max_blksize = x->srv_blk, .max_windowsize = x->srv_win};
		struct xp_tftp_session *s;
		assert_int_equal(xp_tftp_session_new(&rq, &src, &lim, now, &s), 0);
		unsigned ndata = 0, nack = 0, steps = 0;
		/* loss drops a block once: a periodic pattern that hit the same block in
		 * every round would be no network's */
		static bool lost[65536];
		memset(lost, 0, sizeof lost);
		while (xp_tftp_client_state(c) == XP_TFTP_RUNNING && steps++ < 2000000) {
			bool moved = false;
			ssize_t sn;
			while ((sn = xp_tftp_session_next(s, pkt, sizeof pkt, now)) > 0) {
				moved = true;
				unsigned blk = (unsigned)pkt[2] << 8 | pkt[3];
				if (pkt[1] == XP_TFTP_DATA && x->drop_data && ++ndata % x->drop_data == 0 &&
				    !lost[blk]) {
					lost[blk] = true;
					continue;
				}
				assert_true(xp_tftp_client_input(c, pkt, (size_t)sn, now) >= 0);
			}
			while ((sn = xp_tftp_client_next(c, cp, sizeof cp, now)) > 0) {
				moved = true;
				if (x->drop_ack && ++nack % x->drop_ack == 0)
					continue;
				(void)xp_tftp_session_input(s, cp, (size_t)sn, now);
			}
			if (!moved) { /* jump to the next timer */
				int64_t a = xp_tftp_session_deadline(s), b = xp_tftp_client_deadline(c);
				now = a < b ? a : b;
				if (now == INT64_MAX)
					break;
			}
		}
		if (xp_tftp_client_state(c) != XP_TFTP_DONE)
			fail_msg("%s: %s", x->what, xp_tftp_client_error(c));
		/* the final ACK ends the server's session too */
		n = xp_tftp_client_next(c, cp, sizeof cp, now);
		if (n > 0)
			xp_tftp_session_input(s, cp, (size_t)n, now);
		assert_int_equal(mb.len, x->size);
		if (x->size)
			assert_memory_equal(mb.p, file, x->size);
		assert_int_equal(xp_tftp_client_bytes(c), x->size);
		assert_int_equal(xp_tftp_client_blksize(c), x->want_blk);
		assert_int_equal(xp_tftp_client_windowsize(c), x->want_win);
		if (x->blksize)
			assert_int_equal(xp_tftp_client_tsize(c), x->size);
		xp_tftp_client_free(c);
		xp_tftp_session_free(s);
		free(mb.p);
		free(file);
	}
}

static void test_tftp_client_failures(void **state)
{
	(void)state;
	struct membuf mb = {0};
	struct xp_tftp_sink sink = {mem_sink, &mb};
	uint8_t cp[400];
	struct xp_tftp_client *c;
	struct xp_tftp_client_opts o = {.filename = "k", .blksize = 1468, .tsize = true,
					.max_size = 1000};
	/* ERROR 1: -ENOENT, the server's text kept (printable only) */
	assert_int_equal(xp_tftp_client_new(&o, &sink, 0, &c), 0);
	assert_true(xp_tftp_client_next(c, cp, sizeof cp, 0) > 0);
	static const uint8_t e1[] = "\0\5\0\1no such \x01file";
	assert_int_equal(xp_tftp_client_input(c, e1, sizeof e1, 1), 1);
	assert_int_equal(xp_tftp_client_state(c), XP_TFTP_FAILED);
	assert_int_equal(xp_tftp_client_errno(c), -ENOENT);
	assert_string_equal(xp_tftp_client_error(c), "file not found (TFTP error 1: no such )");
	xp_tftp_client_free(c);
	/* ERROR 8 to a request with options: asked again without */
	assert_int_equal(xp_tftp_client_new(&o, &sink, 0, &c), 0);
	ssize_t n = xp_tftp_client_next(c, cp, sizeof cp, 0);
	static const uint8_t e8[] = "\0\5\0\10no options";
	assert_int_equal(xp_tftp_client_input(c, e8, sizeof e8, 1), 1);
	ssize_t n2 = xp_tftp_client_next(c, cp, sizeof cp, 1);
	assert_int_equal(n2, 2 + 2 + 6); /* "\0\1k\0octet\0" */
	assert_true(n2 < n);
	assert_int_equal(xp_tftp_client_state(c), XP_TFTP_RUNNING);
	xp_tftp_client_free(c);
	/* tsize over max_size: ERROR 3 to the server, -EFBIG */
	assert_int_equal(xp_tftp_client_new(&o, &sink, 0, &c), 0);
	xp_tftp_client_next(c, cp, sizeof cp, 0);
	static const uint8_t big[] = "\0\6tsize\0" "5000\0blksize\0" "1468";
	assert_int_equal(xp_tftp_client_input(c, big, sizeof big, 1), 1);
	n = xp_tftp_client_next(c, cp, sizeof cp, 1);
	assert_true(n > 4);
	assert_int_equal(cp[1], XP_TFTP_ERROR);
	assert_int_equal(cp[3], 3);
	assert_int_equal(xp_tftp_client_state(c), XP_TFTP_FAILED);
	assert_int_equal(xp_tftp_client_errno(c), -EFBIG);
	xp_tftp_client_free(c);
	/* an OACK of an option not asked for, or a raised blksize: ERROR 8, -EPROTO */
	static const struct {
		const uint8_t *p;
		size_t n;
	} bad[] = {
	    {(const uint8_t *)"\0\6windowsize\0" "4", 14},
	    {(const uint8_t *)"\0\6blksize\0" "9000", 15},
	    {(const uint8_t *)"\0\6blksize\0" "x", 12},
	    {(const uint8_t *)"\0\6blksize", 9},
	};
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(xp_tftp_client_new(&o, &sink, 0, &c), 0);
		xp_tftp_client_next(c, cp, sizeof cp, 0);
		assert_int_equal(xp_tftp_client_input(c, bad[i].p, bad[i].n, 1), 1);
		n = xp_tftp_client_next(c, cp, sizeof cp, 1);
		assert_int_equal(cp[3], 8);
		assert_int_equal(xp_tftp_client_errno(c), -EPROTO);
		xp_tftp_client_free(c);
	}
	/* no answer: RRQ sent max_tries times with doubling waits, then -ETIMEDOUT */
	struct xp_tftp_client_opts q = {.filename = "k", .timeout_ms = 100, .max_timeout_ms = 300,
					.max_tries = 4};
	assert_int_equal(xp_tftp_client_new(&q, &sink, 0, &c), 0);
	static const int64_t at[] = {0, 100, 300, 600};
	for (size_t i = 0; i < N(at); i++) {
		assert_int_equal(xp_tftp_client_next(c, cp, sizeof cp, at[i] - 1 + (i == 0)), i ? 0 : 10);
		if (i)
			assert_int_equal(xp_tftp_client_next(c, cp, sizeof cp, at[i]), 10);
	}
	assert_int_equal(xp_tftp_client_next(c, cp, sizeof cp, 899), 0);
	assert_int_equal(xp_tftp_client_state(c), XP_TFTP_RUNNING);
	assert_int_equal(xp_tftp_client_next(c, cp, sizeof cp, 900), 0);
	assert_int_equal(xp_tftp_client_state(c), XP_TFTP_FAILED);
	assert_int_equal(xp_tftp_client_errno(c), -ETIMEDOUT);
	xp_tftp_client_free(c);
	/* the sink fails: ERROR 3, its error */
	mb.fail_at = 1;
	assert_int_equal(xp_tftp_client_new(&q, &sink, 0, &c), 0);
	xp_tftp_client_next(c, cp, sizeof cp, 0);
	static const uint8_t d1[] = "\0\3\0\1abc";
	assert_int_equal(xp_tftp_client_input(c, d1, sizeof d1 - 1, 1), 1);
	n = xp_tftp_client_next(c, cp, sizeof cp, 1);
	assert_int_equal(cp[3], 3);
	assert_int_equal(xp_tftp_client_errno(c), -ENOSPC);
	xp_tftp_client_free(c);
	free(mb.p);
	/* bad options */
	struct xp_tftp_client_opts b = {.filename = ""};
	assert_int_equal(xp_tftp_client_new(&b, &sink, 0, &c), -EINVAL);
	b.filename = "x";
	b.blksize = 7;
	assert_int_equal(xp_tftp_client_new(&b, &sink, 0, &c), -EINVAL);
}

/* ---- pxelinux's names, IPAPPEND, paths ------------------------------------------------ */

static void test_pxelinux_net(void **state)
{
	(void)state;
	char names[XP_PXELINUX_SEARCH_MAX][XP_PXELINUX_SEARCH_NAME];
	static const uint8_t mac[6] = {0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd};
	assert_int_equal(xp_pxelinux_search(mac, IP(192, 168, 2, 91), names), 10);
	static const char *const want[] = {
	    "pxelinux.cfg/01-88-99-aa-bb-cc-dd", "pxelinux.cfg/C0A8025B", "pxelinux.cfg/C0A8025",
	    "pxelinux.cfg/C0A802",		 "pxelinux.cfg/C0A80",	  "pxelinux.cfg/C0A8",
	    "pxelinux.cfg/C0A",			 "pxelinux.cfg/C0",	  "pxelinux.cfg/C",
	    "pxelinux.cfg/default"};
	for (size_t i = 0; i < N(want); i++)
		assert_string_equal(names[i], want[i]);

	struct xp_pxelinux_net net = {.ip = IP(10, 0, 0, 50), .server = IP(10, 0, 0, 1),
				      .gateway = IP(10, 0, 0, 254), .netmask = IP(255, 255, 255, 0),
				      .mac = {0, 0x16, 0x3e, 1, 2, 3}};
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_pxelinux_ipappend(1, &net, &b), 0);
	assert_string_equal(b.s, "ip=10.0.0.50:10.0.0.1:10.0.0.254:255.255.255.0");
	xp_buf_truncate(&b, 0);
	xp_buf_adds(&b, "quiet");
	assert_int_equal(xp_pxelinux_ipappend(2, &net, &b), 0);
	assert_string_equal(b.s, "quiet BOOTIF=01-00-16-3e-01-02-03");
	xp_buf_truncate(&b, 0);
	assert_int_equal(xp_pxelinux_ipappend(0x13, &net, &b), 0x10);
	assert_string_equal(b.s, "ip=10.0.0.50:10.0.0.1:10.0.0.254:255.255.255.0 BOOTIF=01-00-16-3e-01-02-03");
	xp_buf_release(&b);

	static const struct {
		const char *base, *name, *want;
	} res[] = {
	    {"tftp://10.0.0.1/", "vmlinuz", "tftp://10.0.0.1/vmlinuz"},
	    {"tftp://10.0.0.1/boot/", "img/k", "tftp://10.0.0.1/boot/img/k"},
	    {"tftp://10.0.0.1/boot/", "/img/k", "tftp://10.0.0.1//img/k"},
	    {"tftp://10.0.0.1/boot/", "::img/k", "tftp://10.0.0.1/img/k"},
	    {"tftp://10.0.0.1/boot/", "::/img/k", "tftp://10.0.0.1/img/k"},
	    {"tftp://10.0.0.1/boot/", "10.0.0.7::k", "tftp://10.0.0.7/k"},
	    {"tftp://10.0.0.1/", "http://w/k", "http://w/k"},
	    {"http://h:8080/b/", "k", "http://h:8080/b/k"},
	    {"http://h:8080/b/", "/k", "http://h:8080/k"},
	    {"http://h:8080/b/", "::k", "http://h:8080/k"},
	    {"http://h/b/", "a/b::c", "http://h/b/a/b::c"},
	};
	for (size_t i = 0; i < N(res); i++) {
		struct xp_buf u = XP_BUF_INIT;
		assert_int_equal(xp_pxelinux_resolve(res[i].base, res[i].name, &u), 0);
		assert_string_equal(u.s, res[i].want);
		xp_buf_release(&u);
	}
	struct xp_buf u = XP_BUF_INIT;
	assert_int_equal(xp_pxelinux_resolve("tftp://h/b", "k", &u), -EINVAL);
	assert_int_equal(xp_pxelinux_resolve("ftp://h/", "k", &u), -EINVAL);
	assert_int_equal(xp_pxelinux_resolve("tftp:///", "k", &u), -EINVAL);
	assert_int_equal(xp_pxelinux_resolve("tftp://h/", "", &u), -EINVAL);
	xp_buf_release(&u);
}

/* ---- libxl's answer ---------------------------------------------------------------- */

static void test_bootloader_formats(void **state)
{
	(void)state;
	struct xp_bootloader_result r = {"/var/run/xen/pxeboot/boot_kernel.abc123",
					 "/var/run/xen/pxeboot/boot_ramdisk.def456",
					 "root=/dev/xvda1 console=hvc0"};
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SIMPLE0, &r, &b), 0);
	static const char want0[] = "kernel /var/run/xen/pxeboot/boot_kernel.abc123\0"
				    "ramdisk /var/run/xen/pxeboot/boot_ramdisk.def456\0"
				    "args root=/dev/xvda1 console=hvc0";
	assert_int_equal(b.len, sizeof want0);
	assert_memory_equal(b.s, want0, sizeof want0);
	char *k, *rd, *a;
	assert_int_equal(xp_bootloader_parse(XP_BOOTLOADER_SIMPLE0, b.s, b.len, &k, &rd, &a), 0);
	assert_string_equal(k, r.kernel);
	assert_string_equal(rd, r.ramdisk);
	assert_string_equal(a, r.args);
	free(k), free(rd), free(a);
	xp_buf_truncate(&b, 0);
	assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SIMPLE, &r, &b), 0);
	assert_string_equal(b.s, "kernel /var/run/xen/pxeboot/boot_kernel.abc123\n"
				 "ramdisk /var/run/xen/pxeboot/boot_ramdisk.def456\n"
				 "args root=/dev/xvda1 console=hvc0\n");
	xp_buf_truncate(&b, 0);
	assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SXP, &r, &b), 0);
	assert_string_equal(b.s, "linux (kernel /var/run/xen/pxeboot/boot_kernel.abc123)"
				 "(ramdisk /var/run/xen/pxeboot/boot_ramdisk.def456)"
				 "(args \"root=/dev/xvda1 console=hvc0\")");
	/* no ramdisk, no args */
	struct xp_bootloader_result r2 = {"/k", NULL, ""};
	xp_buf_truncate(&b, 0);
	assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SXP, &r2, &b), 0);
	assert_string_equal(b.s, "linux (kernel /k)");
	xp_buf_truncate(&b, 0);
	assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SIMPLE0, &r2, &b), 0);
	assert_int_equal(b.len, 10);
	/* what a format cannot say */
	struct xp_bootloader_result bad[] = {
	    {NULL, NULL, NULL}, {"", NULL, NULL}, {"/k", "", NULL},
	};
	for (size_t i = 0; i < N(bad); i++)
		assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SIMPLE0, &bad[i], &b), -EINVAL);
	struct xp_bootloader_result q = {"/k", NULL, "a=\"b\""};
	assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SXP, &q, &b), -EINVAL);
	struct xp_bootloader_result nl = {"/k", NULL, "a\nb"};
	assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SIMPLE, &nl, &b), -EINVAL);
	struct xp_bootloader_result paren = {"/k)", NULL, NULL};
	assert_int_equal(xp_bootloader_format(XP_BOOTLOADER_SXP, &paren, &b), -EINVAL);
	xp_buf_release(&b);
	/* libxl's reading: white space after the keyword, unknown items skipped, the last
	 * kernel wins, no kernel is an error */
	static const char in[] = "kernel\t  /a\0bogus x\0kernels /b\0args \0kernel /c";
	assert_int_equal(xp_bootloader_parse(XP_BOOTLOADER_SIMPLE0, in, sizeof in - 1, &k, &rd, &a), 0);
	assert_string_equal(k, "/c");
	assert_null(rd);
	assert_string_equal(a, "");
	free(k), free(a);
	assert_int_equal(xp_bootloader_parse(XP_BOOTLOADER_SIMPLE, "args x\n", 7, &k, &rd, &a),
			 -EBADMSG);
	assert_int_equal(xp_bootloader_parse(XP_BOOTLOADER_SXP, "", 0, &k, &rd, &a), -EINVAL);
	enum xp_bootloader_format f;
	assert_int_equal(xp_bootloader_format_parse("simple0", &f), 0);
	assert_int_equal(f, XP_BOOTLOADER_SIMPLE0);
	assert_int_equal(xp_bootloader_format_parse("xml", &f), -EINVAL);
}

/* ---- the guest's NIC, output files ------------------------------------------------ */

static void test_nic(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		int rc;
		const char *bridge;
		const char *msg;
	} specs[] = {
	    {"mac=00:16:3e:11:11:11", 0, NULL, NULL},
	    {"mac=00:16:3E:11:11:11", 0, NULL, NULL},
	    {"  mac = 00:16:3e:11:11:11 ,  bridge = xenbr1 ", 0, "xenbr1", NULL},
	    {"bridge=xenbr1,script=vif-bridge,mac=00:16:3e:11:11:11,model=e1000", 0, "xenbr1", NULL},
	    {"bridge=xenbr0", -EINVAL, NULL, "has no mac="},
	    {"mac=00:16:3e:zz:11:11", -EBADMSG, NULL, "is not valid"},
	};
	for (size_t i = 0; i < N(specs); i++) {
		struct xp_pxeboot_nic n;
		struct xp_diags d = {0};
		assert_int_equal(xp_pxeboot_nic_from_spec(specs[i].spec, &n, &d), specs[i].rc);
		if (specs[i].rc == 0) {
			assert_memory_equal(n.mac.b, MAC, 6);
			if (specs[i].bridge)
				assert_string_equal(n.bridge, specs[i].bridge);
			else
				assert_null(n.bridge);
		} else {
			assert_int_equal(d.n, 1);
			assert_non_null(strstr(d.v[0].msg, specs[i].msg));
		}
		xp_pxeboot_nic_release(&n);
		xp_diags_release(&d);
	}
	/* a config's first vif; the config found by its disk */
	char cfg[4096];
	snprintf(cfg, sizeof cfg,
		 "name = 'g'\ndisk = ['format=raw, vdev=xvda, target=%s']\n"
		 "vif = ['mac=00:16:3e:11:11:11, bridge=br7', 'mac=00:16:3e:22:22:22']\n",
		 tpath("disk.img"));
	xp_test_write(tpath("disk.img"), "");
	assert_int_equal(mkdir(tpath("xen"), 0755), 0);
	xp_test_write(tpath("xen/g.cfg"), cfg);
	xp_test_write(tpath("xen/novif.cfg"), "name = 'x'\n");
	xp_test_write(tpath("xen/README.txt"), cfg); /* not a config's name */
	struct xp_pxeboot_nic n;
	struct xp_diags d = {0};
	assert_int_equal(xp_pxeboot_nic_from_config(tpath("xen/g.cfg"), &n, &d), 0);
	assert_memory_equal(n.mac.b, MAC, 6);
	assert_string_equal(n.bridge, "br7");
	xp_pxeboot_nic_release(&n);
	assert_int_equal(xp_pxeboot_nic_from_config(tpath("xen/novif.cfg"), &n, &d), -ENOENT);
	assert_non_null(strstr(d.v[0].msg, "no vif"));
	xp_diags_release(&d);
	char *p = NULL;
	assert_int_equal(xp_pxeboot_find_config(tpath("xen"), tpath("disk.img"), &p, &d), 0);
	assert_string_equal(p, tpath("xen/g.cfg"));
	free(p);
	xp_test_write(tpath("xen/g2"), cfg);
	assert_int_equal(xp_pxeboot_find_config(tpath("xen"), tpath("disk.img"), &p, &d), -EEXIST);
	assert_null(p);
	xp_diags_release(&d);
	xp_test_write(tpath("other.img"), "");
	assert_int_equal(xp_pxeboot_find_config(tpath("xen"), tpath("other.img"), &p, &d), -ENOENT);
	xp_diags_release(&d);
}

static void test_out_files(void **state)
{
	(void)state;
	struct xp_pxeboot_out o;
	struct xp_diags d = {0};
	const char *dir = tpath("out/deeper");
	assert_int_equal(xp_pxeboot_out_open(dir, &o, &d), 0);
	assert_int_equal(write(o.kernel_fd, "kernel", 6), 6);
	assert_int_equal(write(o.ramdisk_fd, "rd", 2), 2);
	/* unnamed until committed */
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
	assert_int_equal(system(cmd), 0);
	char *k, *r;
	assert_int_equal(xp_pxeboot_out_commit(&o, true, &k, &r, &d), 0);
	assert_non_null(strstr(k, "/boot_kernel."));
	assert_non_null(strstr(r, "/boot_ramdisk."));
	char *data;
	size_t len;
	assert_int_equal(xp_read_file(k, 100, &data, &len), 0);
	assert_string_equal(data, "kernel");
	free(data);
	struct stat st;
	assert_int_equal(stat(k, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(k), free(r);
	xp_pxeboot_out_close(&o);
	/* a failed boot: closed without a commit, nothing left */
	const char *dir2 = tpath("out2");
	assert_int_equal(xp_pxeboot_out_open(dir2, &o, &d), 0);
	assert_int_equal(write(o.kernel_fd, "half", 4), 4);
	xp_pxeboot_out_close(&o);
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir2);
	assert_int_equal(system(cmd), 0);
	/* a directory that cannot be made */
	xp_test_write(tpath("file"), "x");
	assert_int_equal(xp_pxeboot_out_open(tpath("file/sub"), &o, &d), -ENOTDIR);
	assert_int_equal(d.n, 1);
	xp_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dhcp_client_messages),
	    cmocka_unit_test(test_dhcp_client_selection),
	    cmocka_unit_test(test_dhcp_client_timers),
	    cmocka_unit_test(test_dhcp_client_vs_server),
	    cmocka_unit_test(test_tftp_client_transfers),
	    cmocka_unit_test(test_tftp_client_failures),
	    cmocka_unit_test(test_pxelinux_net),
	    cmocka_unit_test(test_bootloader_formats),
	    xp_test_in_scratch(test_nic),
	    xp_test_in_scratch(test_out_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
