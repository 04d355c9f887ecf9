/*
 * dhcp-client.c - the DHCPv4 client engine of the domU network bootloader: a PXE
 * client's DISCOVER/OFFER/REQUEST/ACK for the guest's MAC, with retransmission, offer
 * selection and ProxyDHCP, and the RELEASE. Pure: bytes and times in, bytes out.
 *
 * Not here: sockets (pxeboot/dhcp-run.c), the wire format itself (dhcp-msg.c).
 *
 * RFC 2131 section 4.4.1 (the client's states), 4.1 (retransmission with randomized
 * exponential backoff; we start at 1 s instead of 4 s: a bootloader is waited for,
 * and a lost OFFER should cost one second), 4.4.6 (RELEASE); RFC 4578 (options 93, 94);
 * RFC 5071 (pxelinux's options 209 and 210); PXE 2.1 (vendor class, ProxyDHCP).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/dhcp-client.h"
#include "xenprov/dhcp.h"

#define PKT_MIN	 548 /* 576 bytes of IP datagram less the IP and UDP headers */
#define REQ_MAX	 4   /* REQUEST sends before starting over */
#define MAX_SIZE 1472 /* option 57: what we take (a 1500-byte MTU less IP and UDP) */

/* What a message says about booting. */
struct boot {
	bool set;
	uint32_t siaddr, server_id;
	char file[256], tftp_server[256], pxe_config[256], pxe_prefix[256];
};

struct xp_dhcp_client {
	struct xp_dhcp_client_opts o;
	enum xp_dhcp_client_state state;
	int64_t start, next_send, select_until;
	unsigned tries;	     /* sends in the current state */
	unsigned discovers, requests;
	uint32_t rng;
	/* the offer taken (REQUESTING) or kept (SELECTING, select_until set) */
	bool have_offer;
	uint32_t offer_ip, offer_server;
	struct boot offer_boot, proxy_boot;
	struct xp_dhcp_client_lease lease;
	const char *error;
	char errbuf[96];
	struct xp_dhcp_msg m; /* scratch for input */
};

int xp_dhcp_client_new(const struct xp_dhcp_client_opts *o, int64_t now_ms,
		       struct xp_dhcp_client **ret)
{
	static const uint8_t zero[6];
	if (!memcmp(o->mac, zero, 6) || (o->mac[0] & 1))
		return -EINVAL;
	struct xp_dhcp_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = *o;
	if (!c->o.first_timeout_ms)
		c->o.first_timeout_ms = 1000;
	if (!c->o.max_timeout_ms)
		c->o.max_timeout_ms = 8000;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = 30000;
	if (!c->o.select_ms)
		c->o.select_ms = 1000;
	c->rng = o->seed ? o->seed : 0x9e3779b9u;
	c->start = c->next_send = now_ms;
	c->state = XP_DHCP_CLIENT_SELECTING;
	c->error = "";
	*ret = c;
	return 0;
}

void xp_dhcp_client_free(struct xp_dhcp_client *c)
{
	free(c);
}

/* xorshift32: jitter needs no quality, only to differ between guests booted together */
static uint32_t next_rand(struct xp_dhcp_client *c)
{
	uint32_t x = c->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return c->rng = x;
}

/* The wait after send number `tries` (0-based): first * 2^tries up to the cap, within
 * +-1/8 of it (RFC 2131 4.1 randomizes by +-1 s of 4 s). */
static int64_t backoff(struct xp_dhcp_client *c, unsigned tries)
{
	uint64_t t = c->o.first_timeout_ms;
	for (unsigned i = 0; i < tries && t < c->o.max_timeout_ms; i++)
		t *= 2;
	if (t > c->o.max_timeout_ms)
		t = c->o.max_timeout_ms;
	uint64_t span = t / 4;
	if (span)
		t = t - span / 2 + next_rand(c) % (span + 1);
	return (int64_t)t;
}

static void fail(struct xp_dhcp_client *c, const char *why)
{
	c->state = XP_DHCP_CLIENT_FAILED;
	c->error = why;
}

static void restart(struct xp_dhcp_client *c, int64_t now)
{
	c->state = XP_DHCP_CLIENT_SELECTING;
	c->have_offer = false;
	c->select_until = 0;
	c->tries = 0;
	c->next_send = now;
}

static void take_offer(struct xp_dhcp_client *c, int64_t now)
{
	c->state = XP_DHCP_CLIENT_REQUESTING;
	c->select_until = 0;
	c->tries = 0;
	c->next_send = now;
}

void xp_dhcp_client_tick(struct xp_dhcp_client *c, int64_t now)
{
	if (c->state == XP_DHCP_CLIENT_BOUND || c->state == XP_DHCP_CLIENT_FAILED)
		return;
	if (now - c->start >= (int64_t)c->o.timeout_ms) {
		unsigned s = c->o.timeout_ms / 1000;
		if (c->state == XP_DHCP_CLIENT_REQUESTING || c->requests)
			snprintf(c->errbuf, sizeof(c->errbuf),
				 "no DHCP acknowledgement in %u s (%u DISCOVER, %u REQUEST sent)",
				 s, c->discovers, c->requests);
		else
			snprintf(c->errbuf, sizeof(c->errbuf),
				 "no DHCP offer in %u s (%u DISCOVER sent)", s, c->discovers);
		fail(c, c->errbuf);
		return;
	}
	if (c->state == XP_DHCP_CLIENT_SELECTING && c->have_offer && c->select_until &&
	    now >= c->select_until)
		take_offer(c, now);
}

int64_t xp_dhcp_client_deadline(const struct xp_dhcp_client *c)
{
	if (c->state == XP_DHCP_CLIENT_BOUND || c->state == XP_DHCP_CLIENT_FAILED)
		return INT64_MAX;
	int64_t d = c->start + c->o.timeout_ms;
	if (c->next_send < d)
		d = c->next_send;
	if (c->state == XP_DHCP_CLIENT_SELECTING && c->have_offer && c->select_until &&
	    c->select_until < d)
		d = c->select_until;
	return d;
}

static int build(const struct xp_dhcp_client *c, uint8_t *buf, size_t cap, uint8_t type,
		 uint32_t ciaddr, int64_t now)
{
	struct xp_dhcp_hdr h = {
	    .op = XP_BOOTREQUEST,
	    .htype = 1,
	    .hlen = 6,
	    .xid = c->o.xid,
	    .ciaddr = ciaddr,
	    /* a RELEASE is unicast by a client that has its address: no broadcast flag */
	    .flags = type == XP_DHCPRELEASE ? 0 : XP_DHCP_FLAG_BROADCAST,
	};
	int64_t secs = (now - c->start) / 1000;
	h.secs = secs > 0xffff ? 0xffff : (uint16_t)(secs < 0 ? 0 : secs);
	memcpy(h.chaddr, c->o.mac, 6);
	struct xp_dhcp_build b;
	int r = xp_dhcp_msg_build_init(&b, buf, cap < 576 ? cap : 576, &h);
	if (r < 0)
		return r;
	r = xp_dhcp_msg_build_u8(&b, 53, type);
	if (type == XP_DHCPRELEASE) {
		if (!r)
			r = xp_dhcp_msg_build_u32(&b, 54, c->lease.server_id);
		return r < 0 ? r : (int)xp_dhcp_msg_build_end(&b);
	}
	/* 1 netmask, 3 router, 6 DNS, 12 host name, 15 domain, 28 broadcast, 43 vendor
	 * (PXE), 51 lease time, 54 server id, 60 class, 66 TFTP server, 67 boot file,
	 * 128-135 PXE, 209 and 210 pxelinux */
	static const uint8_t prl[] = {1,   3,	6,   12,  15,  28,  43,	 51,  54,  60, 66,
				      67,  128, 129, 130, 131, 132, 133, 134, 135, 209, 210};
	static const uint8_t ndi[3] = {1, 2, 1}; /* UNDI 2.1 (RFC 4578 2.2) */
	if (!r)
		r = xp_dhcp_msg_build_u16(&b, 57, MAX_SIZE);
	if (!r)
		r = xp_dhcp_msg_build_option(&b, 55, prl, sizeof(prl));
	if (!r)
		r = xp_dhcp_msg_build_option(&b, 60, XP_DHCP_PXE_VENDOR_CLASS,
					     strlen(XP_DHCP_PXE_VENDOR_CLASS));
	if (!r)
		r = xp_dhcp_msg_build_u16(&b, 93, 0); /* x86 BIOS (RFC 4578 2.1) */
	if (!r)
		r = xp_dhcp_msg_build_option(&b, 94, ndi, sizeof(ndi));
	if (!r && type == XP_DHCPREQUEST) {
		r = xp_dhcp_msg_build_u32(&b, 50, c->offer_ip);
		if (!r)
			r = xp_dhcp_msg_build_u32(&b, 54, c->offer_server);
	}
	return r < 0 ? r : (int)xp_dhcp_msg_build_end(&b);
}

ssize_t xp_dhcp_client_next(struct xp_dhcp_client *c, uint8_t *buf, size_t cap, int64_t now)
{
	if (cap < PKT_MIN)
		return -ENOSPC;
	xp_dhcp_client_tick(c, now);
	if (c->state == XP_DHCP_CLIENT_BOUND || c->state == XP_DHCP_CLIENT_FAILED ||
	    now < c->next_send)
		return 0;
	if (c->state == XP_DHCP_CLIENT_REQUESTING && c->tries >= REQ_MAX)
		restart(c, now); /* RFC 2131 4.4.1: no answer to REQUEST, back to INIT */
	bool req = c->state == XP_DHCP_CLIENT_REQUESTING;
	int n = build(c, buf, cap, req ? XP_DHCPREQUEST : XP_DHCPDISCOVER, 0, now);
	if (n < 0)
		return n;
	c->next_send = now + backoff(c, c->tries);
	c->tries++;
	if (req)
		c->requests++;
	else
		c->discovers++;
	return n;
}

/* A string option (or a fixed field), NUL-terminated into out ("" if absent). */
static void copy_str(char *out, size_t size, const uint8_t *p, size_t n)
{
	size_t l = 0;
	while (l < n && p[l])
		l++;
	if (l >= size)
		l = size - 1;
	memcpy(out, p, l);
	out[l] = '\0';
}

static void opt_str(const struct xp_dhcp_msg *m, uint8_t code, char *out, size_t size)
{
	size_t n;
	const uint8_t *p = xp_dhcp_msg_option(m, code, &n);
	if (p)
		copy_str(out, size, p, n);
	else
		out[0] = '\0';
}

static void read_boot(const struct xp_dhcp_msg *m, struct boot *b)
{
	memset(b, 0, sizeof(*b));
	b->siaddr = m->h.siaddr;
	(void)xp_dhcp_msg_ip(m, 54, &b->server_id);
	opt_str(m, 67, b->file, sizeof(b->file));
	if (!b->file[0] && !(m->overload & 1))
		copy_str(b->file, sizeof(b->file), m->h.file, sizeof(m->h.file));
	opt_str(m, 66, b->tftp_server, sizeof(b->tftp_server));
	if (!b->tftp_server[0] && !(m->overload & 2))
		copy_str(b->tftp_server, sizeof(b->tftp_server), m->h.sname, sizeof(m->h.sname));
	opt_str(m, 209, b->pxe_config, sizeof(b->pxe_config));
	opt_str(m, 210, b->pxe_prefix, sizeof(b->pxe_prefix));
	b->set = b->file[0] || b->pxe_config[0];
}

static bool is_pxe_server(const struct xp_dhcp_msg *m)
{
	size_t n;
	const uint8_t *p = xp_dhcp_msg_option(m, 60, &n);
	return p && n >= 9 && !memcmp(p, "PXEClient", 9);
}

static void bind_lease(struct xp_dhcp_client *c, const struct xp_dhcp_msg *m)
{
	struct xp_dhcp_client_lease *l = &c->lease;
	memset(l, 0, sizeof(*l));
	l->ip = m->h.yiaddr;
	l->server_id = c->offer_server;
	l->relay = m->h.giaddr;
	(void)xp_dhcp_msg_ip(m, 1, &l->netmask);
	size_t n;
	const uint8_t *p = xp_dhcp_msg_option(m, 3, &n);
	if (p && n >= 4)
		l->router = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	p = xp_dhcp_msg_option(m, 6, &n);
	for (size_t i = 0; p && i + 4 <= n && l->n_dns < 4; i += 4)
		l->dns[l->n_dns++] = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
				     (uint32_t)p[i + 2] << 8 | p[i + 3];
	uint32_t t;
	if (xp_dhcp_msg_ip(m, 51, &t) == 0)
		l->lease_time = t;
	opt_str(m, 12, l->hostname, sizeof(l->hostname));
	struct boot ack;
	read_boot(m, &ack);
	const struct boot *b = ack.set ? &ack : c->offer_boot.set ? &c->offer_boot : &c->proxy_boot;
	l->from_proxy = !ack.set && !c->offer_boot.set && c->proxy_boot.set;
	l->next_server = b->siaddr;
	l->boot_server_id = b->server_id ? b->server_id : l->server_id;
	memcpy(l->file, b->file, sizeof(l->file));
	memcpy(l->tftp_server, b->tftp_server, sizeof(l->tftp_server));
	memcpy(l->pxe_config, b->pxe_config, sizeof(l->pxe_config));
	memcpy(l->pxe_prefix, b->pxe_prefix, sizeof(l->pxe_prefix));
	if (!ack.set && !b->set && (ack.siaddr || ack.tftp_server[0])) {
		l->next_server = ack.siaddr;
		memcpy(l->tftp_server, ack.tftp_server, sizeof(l->tftp_server));
	}
	c->state = XP_DHCP_CLIENT_BOUND;
}

int xp_dhcp_client_input(struct xp_dhcp_client *c, const uint8_t *p, size_t len, int64_t now)
{
	struct xp_dhcp_msg *m = &c->m;
	int r = xp_dhcp_msg_parse(p, len, m);
	if (r < 0)
		return r;
	uint8_t type;
	if (m->h.op != XP_BOOTREPLY || m->h.xid != c->o.xid || m->h.hlen != 6 ||
	    memcmp(m->h.chaddr, c->o.mac, 6) || xp_dhcp_msg_u8(m, 53, &type) < 0)
		return 0;
	if (c->state == XP_DHCP_CLIENT_BOUND || c->state == XP_DHCP_CLIENT_FAILED)
		return 0;
	uint32_t sid = 0;
	bool has_sid = xp_dhcp_msg_ip(m, 54, &sid) == 0;
	switch (type) {
	case XP_DHCPOFFER: {
		if (c->state != XP_DHCP_CLIENT_SELECTING)
			return 0;
		struct boot b;
		read_boot(m, &b);
		if (!m->h.yiaddr) { /* ProxyDHCP: boot information, no address */
			if (!is_pxe_server(m) || !b.set || c->proxy_boot.set)
				return 0;
			c->proxy_boot = b;
			return 1;
		}
		if (!has_sid || !sid)
			return 0; /* RFC 2131 requires it: we could not REQUEST */
		if (c->have_offer && (!b.set || c->offer_boot.set))
			return 0; /* the one kept is as good */
		c->have_offer = true;
		c->offer_ip = m->h.yiaddr;
		c->offer_server = sid;
		c->offer_boot = b;
		if (b.set || c->proxy_boot.set)
			take_offer(c, now);
		else
			c->select_until = now + c->o.select_ms;
		return 1;
	}
	case XP_DHCPACK:
		if (c->state != XP_DHCP_CLIENT_REQUESTING || (has_sid && sid != c->offer_server) ||
		    !m->h.yiaddr)
			return 0;
		bind_lease(c, m);
		return 1;
	case XP_DHCPNAK:
		if (c->state != XP_DHCP_CLIENT_REQUESTING || (has_sid && sid != c->offer_server))
			return 0;
		restart(c, now);
		return 1;
	default:
		return 0;
	}
}

enum xp_dhcp_client_state xp_dhcp_client_state(const struct xp_dhcp_client *c)
{
	return c->state;
}

const char *xp_dhcp_client_error(const struct xp_dhcp_client *c)
{
	return c->error;
}

const struct xp_dhcp_client_lease *xp_dhcp_client_lease(const struct xp_dhcp_client *c)
{
	return c->state == XP_DHCP_CLIENT_BOUND ? &c->lease : NULL;
}

unsigned xp_dhcp_client_discovers(const struct xp_dhcp_client *c)
{
	return c->discovers;
}

unsigned xp_dhcp_client_requests(const struct xp_dhcp_client *c)
{
	return c->requests;
}

ssize_t xp_dhcp_client_release(const struct xp_dhcp_client *c, uint8_t *buf, size_t cap)
{
	if (c->state != XP_DHCP_CLIENT_BOUND)
		return -EINVAL;
	if (cap < PKT_MIN)
		return -ENOSPC;
	return build(c, buf, cap, XP_DHCPRELEASE, c->lease.ip, c->start);
}
