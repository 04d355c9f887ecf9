/*
 * dhcp-server.c - the DHCPv4 server state machine: address choice, leases, offers,
 * replies (RFC 2131, 2132), PXE and iPXE boot files (RFC 4578, PXE 2.1), relays (RFC
 * 3046), ProxyDHCP, per-client rate limits.
 *
 * Not here: the wire format (dhcp-msg.c), sockets, the clock (time comes in rx->now),
 * the lease store (the caller persists xp_dhcp_server_changes).
 *
 * State: one record per address ever offered or leased (so memory is bounded by the pool
 * sizes plus the reservations), found by address and by client key through two chained
 * hash tables of indices. A record is an offer (held offer_hold seconds), a bound lease,
 * a released one or a declined (quarantined) one; an expired offer or lease, a released
 * lease and a declined address past its quarantine are free for anyone. Each pool keeps
 * a bitmap of addresses that may be taken and a cursor: a new client gets the next clear
 * bit; only when none is left is the pool swept once per second to clear the bits of
 * addresses that became free (expired leases are reused then, newest addresses first).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/dhcp.h"

#define NONE		  UINT32_MAX
#define MAX_POOL_SIZE	  (1u << 20)
#define DEFAULT_LEASE	  3600
#define DEFAULT_HOLD	  30
#define DEFAULT_BURST	  10
#define DEFAULT_RATE	  5
#define DECLINE_HOLD	  600 /* 10 minutes of quarantine for a declined address */
#define CHANGES_MAX	  65536
#define RATE_SETS	  256
#define RATE_WAYS	  4
#define IP_UDP_HDR	  28 /* RFC 2131 section 2: 576-byte datagrams carry 548 bytes */
#define MIN_DATAGRAM	  576
#define NAME_MAX_LEN	  255

enum rstate { R_OFFER, R_BOUND, R_RELEASED, R_DECLINED };

struct rec {
	struct xp_dhcp_lease l;
	uint8_t st;
	uint32_t hc; /* hash of the client key */
	uint32_t next_c, next_ip;
	int64_t offer_exp;
};

struct pool {
	struct xp_dhcp_pool c;
	uint32_t size, cursor, nwords;
	uint64_t *busy; /* 1 = may be taken (or never to be given: excluded, reserved) */
	int64_t last_sweep;
};

struct rate {
	uint32_t hc;
	uint32_t tokens;
	int64_t last;
	bool used;
};

struct snap {
	struct xp_dhcp_lease *v;
	size_t cap;
};

struct xp_dhcp_server {
	uint32_t server_ip, next_server, offer_hold, burst, per_sec;
	uint32_t *local; /* the server machine's addresses, sorted */
	size_t n_local;
	bool proxy, report_offers;
	char *bios, *efi, *http;
	struct pool *pools;
	size_t n_pools;
	struct xp_dhcp_host *hosts; /* sorted by MAC */
	size_t n_hosts;
	uint32_t *host_ip; /* indices of hosts with an address, sorted by address */
	size_t n_host_ip;
	struct rec *recs;
	uint32_t n_recs, cap_recs, max_recs;
	uint32_t *hb_c, *hb_ip, nb; /* bucket heads, nb a power of two */
	struct rate rate[RATE_SETS * RATE_WAYS];
	struct xp_dhcp_lease *chg;
	size_t n_chg, cap_chg;
	struct snap *snap;
	struct xp_dhcp_msg msg; /* scratch: no per-packet allocation, no 3 KiB on the stack */
};

/* What one request is about. */
struct req {
	const struct xp_dhcp_msg *m;
	const struct xp_dhcp_rx *rx;
	uint8_t type;
	uint8_t key[64];
	uint8_t key_len;
	uint32_t hc;
	uint8_t mac[6];
	bool has_mac;
	const struct xp_dhcp_host *host;
	bool link; /* a pool serves the client's network */
	uint32_t link_net, link_mask;
	bool pxe, ipxe, has_arch;
	uint16_t arch;
	size_t limit;
	int64_t now;
};

/* ---- small helpers ------------------------------------------------------------------- */

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t hash_ip(uint32_t ip)
{
	uint32_t h = ip * 2654435761u;
	return h ^ (h >> 16);
}

static bool same_client(const struct rec *rc, const struct req *r)
{
	return rc->hc == r->hc && rc->l.client_len == r->key_len &&
	       memcmp(rc->l.client, r->key, r->key_len) == 0;
}

static int cmp_mac(const void *a, const void *b)
{
	return memcmp(((const struct xp_dhcp_host *)a)->mac, ((const struct xp_dhcp_host *)b)->mac,
		      6);
}

static const struct xp_dhcp_host *host_by_mac(const struct xp_dhcp_server *s, const uint8_t *mac)
{
	size_t lo = 0, hi = s->n_hosts;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(s->hosts[mid].mac, mac, 6);
		if (c == 0)
			return &s->hosts[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct xp_dhcp_host *host_by_ip(const struct xp_dhcp_server *s, uint32_t ip)
{
	size_t lo = 0, hi = s->n_host_ip;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t v = s->hosts[s->host_ip[mid]].ip;
		if (v == ip)
			return &s->hosts[s->host_ip[mid]];
		if (v < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct pool *pool_of(const struct xp_dhcp_server *s, uint32_t ip)
{
	for (size_t i = 0; i < s->n_pools; i++)
		if (ip >= s->pools[i].c.start && ip <= s->pools[i].c.end)
			return &s->pools[i];
	return NULL;
}

static struct pool *pool_of_net(const struct xp_dhcp_server *s, uint32_t ip)
{
	for (size_t i = 0; i < s->n_pools; i++) {
		uint32_t mk = s->pools[i].c.netmask;
		if ((ip & mk) == (s->pools[i].c.start & mk))
			return &s->pools[i];
	}
	return NULL;
}

/* The pool whose options and lease time apply to ip: its range, else its subnet. */
static struct pool *pool_for(const struct xp_dhcp_server *s, uint32_t ip)
{
	struct pool *p = pool_of(s, ip);
	return p ? p : pool_of_net(s, ip);
}

static bool is_local(const struct xp_dhcp_server *s, uint32_t ip)
{
	if (ip == s->server_ip || ip == s->next_server)
		return true;
	size_t lo = 0, hi = s->n_local;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->local[mid] == ip)
			return true;
		if (s->local[mid] < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Never handed out dynamically: the subnet's network and broadcast addresses, our own
 * addresses, the router, and reservations. */
static bool excluded(const struct xp_dhcp_server *s, const struct pool *p, uint32_t ip)
{
	uint32_t mk = p->c.netmask;
	if ((ip & ~mk) == 0 || (ip | mk) == UINT32_MAX)
		return true;
	if (is_local(s, ip) || (p->c.router && ip == p->c.router))
		return true;
	return host_by_ip(s, ip) != NULL;
}

static void bit_set(struct pool *p, uint32_t ip)
{
	uint32_t i = ip - p->c.start;
	p->busy[i >> 6] |= 1ull << (i & 63);
}

static void bit_clear(struct pool *p, uint32_t ip)
{
	uint32_t i = ip - p->c.start;
	p->busy[i >> 6] &= ~(1ull << (i & 63));
}

/* ---- records ------------------------------------------------------------------------- */

static uint32_t rec_by_ip(const struct xp_dhcp_server *s, uint32_t ip)
{
	if (!s->nb)
		return NONE;
	for (uint32_t i = s->hb_ip[hash_ip(ip) & (s->nb - 1)]; i != NONE; i = s->recs[i].next_ip)
		if (s->recs[i].l.ip == ip)
			return i;
	return NONE;
}

/* Is the record's address free for anyone (not only its own client)? */
static bool rec_free(const struct rec *rc, int64_t now)
{
	switch (rc->st) {
	case R_OFFER:
		return rc->offer_exp <= now;
	case R_BOUND:
	case R_DECLINED:
		return rc->l.expires <= now;
	default:
		return true;
	}
}

/* May client r have ip (in a pool or at its reservation)? */
static bool ip_ok(const struct xp_dhcp_server *s, const struct req *r, uint32_t ip)
{
	const struct xp_dhcp_host *h = host_by_ip(s, ip);
	if (h)
		return r->has_mac && memcmp(h->mac, r->mac, 6) == 0;
	struct pool *p = pool_of(s, ip);
	if (!p || excluded(s, p, ip))
		return false;
	uint32_t i = rec_by_ip(s, ip);
	if (i == NONE)
		return true;
	const struct rec *rc = &s->recs[i];
	if (rc->st == R_DECLINED && rc->l.expires > r->now)
		return false; /* quarantine holds for the decliner too */
	return same_client(rc, r) || rec_free(rc, r->now);
}

static void link_client(struct xp_dhcp_server *s, uint32_t i)
{
	uint32_t b = s->recs[i].hc & (s->nb - 1);
	s->recs[i].next_c = s->hb_c[b];
	s->hb_c[b] = i;
}

static void unlink_client(struct xp_dhcp_server *s, uint32_t i)
{
	uint32_t *pp = &s->hb_c[s->recs[i].hc & (s->nb - 1)];
	while (*pp != i)
		pp = &s->recs[*pp].next_c;
	*pp = s->recs[i].next_c;
}

static int rehash(struct xp_dhcp_server *s, uint32_t nb)
{
	uint32_t *c = malloc(sizeof(*c) * nb), *ip = malloc(sizeof(*ip) * nb);
	if (!c || !ip) {
		free(c);
		free(ip);
		return -ENOMEM;
	}
	memset(c, 0xff, sizeof(*c) * nb);
	memset(ip, 0xff, sizeof(*ip) * nb);
	free(s->hb_c);
	free(s->hb_ip);
	s->hb_c = c;
	s->hb_ip = ip;
	s->nb = nb;
	for (uint32_t i = 0; i < s->n_recs; i++) {
		link_client(s, i);
		uint32_t b = hash_ip(s->recs[i].l.ip) & (nb - 1);
		s->recs[i].next_ip = ip[b];
		ip[b] = i;
	}
	return 0;
}

/* The record for ip, made (or re-keyed) for client key: its lease fields other than the
 * address and the client are left for the caller. */
static int rec_take(struct xp_dhcp_server *s, uint32_t ip, const uint8_t *key, uint8_t key_len,
		    uint32_t *ret)
{
	uint32_t hc = hash_bytes(key, key_len);
	uint32_t i = rec_by_ip(s, ip);
	if (i != NONE) {
		struct rec *rc = &s->recs[i];
		if (rc->hc == hc && rc->l.client_len == key_len &&
		    memcmp(rc->l.client, key, key_len) == 0) {
			*ret = i;
			return 0;
		}
		unlink_client(s, i);
	} else {
		if (s->n_recs == s->cap_recs) {
			if (s->cap_recs >= s->max_recs)
				return -ENOMEM; /* cannot happen: one record per address */
			uint32_t cap = s->cap_recs ? s->cap_recs * 2 : 64;
			if (cap > s->max_recs)
				cap = s->max_recs;
			struct rec *nr = realloc(s->recs, sizeof(*nr) * cap);
			if (!nr)
				return -ENOMEM;
			s->recs = nr;
			s->cap_recs = cap;
		}
		i = s->n_recs++;
		struct rec *nr = &s->recs[i];
		memset(nr, 0, sizeof(*nr));
		nr->l.ip = ip;
		nr->hc = hc;
		memcpy(nr->l.client, key, key_len);
		nr->l.client_len = key_len;
		if (s->nb < 2 * s->cap_recs) {
			uint32_t nb = s->nb ? s->nb : 128;
			while (nb < 2 * s->cap_recs)
				nb *= 2;
			if (rehash(s, nb) < 0) {
				s->n_recs--;
				return -ENOMEM;
			}
		} else {
			uint32_t b = hash_ip(ip) & (s->nb - 1);
			nr->next_ip = s->hb_ip[b];
			s->hb_ip[b] = i;
			link_client(s, i);
		}
		struct pool *p = pool_of(s, ip);
		if (p)
			bit_set(p, ip);
		*ret = i;
		return 0;
	}
	struct pool *p = pool_of(s, ip);
	if (p)
		bit_set(p, ip); /* a sweep may have cleared it */
	struct rec *rc = &s->recs[i];
	rc->hc = hc;
	memcpy(rc->l.client, key, key_len);
	rc->l.client_len = key_len;
	link_client(s, i);
	*ret = i;
	return 0;
}

/* The client's record on its network (a lease or offer, possibly expired). */
static uint32_t rec_of_client(const struct xp_dhcp_server *s, const struct req *r)
{
	if (!s->nb)
		return NONE;
	for (uint32_t i = s->hb_c[r->hc & (s->nb - 1)]; i != NONE; i = s->recs[i].next_c) {
		const struct rec *rc = &s->recs[i];
		if (same_client(rc, r) && (rc->l.ip & r->link_mask) == r->link_net)
			return i;
	}
	return NONE;
}

static int emit_lease(struct xp_dhcp_server *s, const struct xp_dhcp_lease *l)
{
	if (s->n_chg == s->cap_chg) {
		size_t cap = s->cap_chg ? s->cap_chg * 2 : 64;
		struct xp_dhcp_lease *n = realloc(s->chg, sizeof(*n) * cap);
		if (!n)
			return -ENOMEM;
		s->chg = n;
		s->cap_chg = cap;
	}
	s->chg[s->n_chg++] = *l;
	return 0;
}

static int emit_change(struct xp_dhcp_server *s, const struct rec *rc)
{
	return emit_lease(s, &rc->l);
}

/* ---- address choice ------------------------------------------------------------------ */

static uint32_t scan(struct pool *p)
{
	for (uint32_t n = 0; n <= p->nwords; n++) {
		uint32_t w = (p->cursor >> 6) + n;
		if (w >= p->nwords)
			w -= p->nwords;
		uint64_t free_bits = ~p->busy[w];
		if (w == p->nwords - 1 && (p->size & 63))
			free_bits &= (1ull << (p->size & 63)) - 1;
		if (n == 0) /* the first word: from the cursor on */
			free_bits &= ~0ull << (p->cursor & 63);
		if (free_bits) {
			uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(free_bits);
			p->cursor = i + 1 < p->size ? i + 1 : 0;
			return p->c.start + i;
		}
	}
	return 0;
}

/* Clears the bits of addresses that became free (at most once a second per pool). */
static void sweep(struct xp_dhcp_server *s, struct pool *p, int64_t now)
{
	p->last_sweep = now;
	for (uint32_t i = 0; i < p->size; i++) {
		if (!(p->busy[i >> 6] & (1ull << (i & 63))))
			continue;
		uint32_t ip = p->c.start + i;
		if (excluded(s, p, ip))
			continue;
		uint32_t ri = rec_by_ip(s, ip);
		if (ri == NONE || rec_free(&s->recs[ri], now))
			bit_clear(p, ip);
	}
}

static uint32_t alloc_addr(struct xp_dhcp_server *s, const struct req *r)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < s->n_pools; k++) {
			struct pool *p = &s->pools[k];
			if ((p->c.start & r->link_mask) != r->link_net ||
			    p->c.netmask != r->link_mask)
				continue;
			if (pass == 1) {
				if (p->last_sweep == r->now)
					continue;
				sweep(s, p, r->now);
			}
			uint32_t ip;
			while ((ip = scan(p)) != 0) {
				if (ip_ok(s, r, ip))
					return ip;
				bit_set(p, ip); /* taken after all: skip it from now on */
			}
		}
	}
	return 0;
}

/* ---- replies ------------------------------------------------------------------------- */

static const char *boot_file(const struct xp_dhcp_server *s, const struct req *r, char *buf,
			     size_t size)
{
	if (r->host && !r->host->netboot)
		return NULL;
	/* Only network boot clients get a boot file (`file`, siaddr, 66/67): PXE ROMs,
	 * which say "PXEClient" in option 60 (PXE 2.1 section 2.2.5, RFC 4578 section 1),
	 * and iPXE (user class "iPXE" or its option 175; it also says PXEClient). Anyone
	 * else (an installed system's DHCP client, a phone) has nothing to boot: a file
	 * named to it only invites scripts (udhcpc's $boot_file, dhclient's $new_filename)
	 * to fetch and run what a spoofable reply names. UEFI HTTP boot clients say
	 * "HTTPClient" (UEFI 2.x section 24.7) and expect a URI, which we do not offer, so
	 * they get no file either and the firmware goes on to PXE. */
	if (!r->pxe && !r->ipxe)
		return NULL;
	if (r->ipxe && s->http && r->has_mac) {
		const uint8_t *m = r->mac;
		snprintf(buf, size, "%s/ipxe/01-%02x-%02x-%02x-%02x-%02x-%02x", s->http, m[0], m[1],
			 m[2], m[3], m[4], m[5]);
		return buf;
	}
	/* RFC 4578 2.1: 0 x86 BIOS, 6 x86 UEFI, 7 x64 UEFI, 9 EBC (used for x64 UEFI) */
	const char *f = NULL;
	if (!r->has_arch || r->arch == 0)
		f = s->bios;
	else if (r->arch == 7 || r->arch == 9)
		f = s->efi;
	return f && *f ? f : NULL;
}

struct out {
	struct xp_dhcp_build b;
	uint8_t done[32];
	struct pool *pool;
	const char *file; /* NULL: no boot file */
	const char *hostname;
	uint32_t lease;	  /* 0: no lease options */
	uint32_t next;	  /* siaddr */
};

static bool was_done(const struct out *o, uint8_t c)
{
	return o->done[c >> 3] & (1u << (c & 7));
}

/* Appends option c if we have something for it. `always` limits to those sent whether
 * requested or not. Options that do not fit are left out. */
static void put_opt(const struct req *r, struct out *o, uint8_t c, bool always)
{
	if (c == 0 || c == 255 || was_done(o, c))
		return;
	struct xp_dhcp_build *b = &o->b;
	const struct xp_dhcp_pool *pc = o->pool ? &o->pool->c : NULL;
	int rc = 1;
	uint8_t tmp[16];
	switch (c) {
	case 1:
		if (pc)
			rc = xp_dhcp_msg_build_u32(b, 1, pc->netmask);
		break;
	case 3:
		if (pc && pc->router)
			rc = xp_dhcp_msg_build_u32(b, 3, pc->router);
		break;
	case 6:
		if (pc && pc->n_dns) {
			for (unsigned i = 0; i < pc->n_dns; i++) {
				uint32_t v = pc->dns[i];
				tmp[4 * i] = (uint8_t)(v >> 24);
				tmp[4 * i + 1] = (uint8_t)(v >> 16);
				tmp[4 * i + 2] = (uint8_t)(v >> 8);
				tmp[4 * i + 3] = (uint8_t)v;
			}
			rc = xp_dhcp_msg_build_option(b, 6, tmp, 4 * pc->n_dns);
		}
		break;
	case 12:
		if (o->hostname && *o->hostname)
			rc = xp_dhcp_msg_build_option(b, 12, o->hostname, strlen(o->hostname));
		break;
	case 15:
		if (pc && pc->domain[0])
			rc = xp_dhcp_msg_build_option(b, 15, pc->domain, strlen(pc->domain));
		break;
	case 28:
		if (pc && !always)
			rc = xp_dhcp_msg_build_u32(b, 28, (pc->start & pc->netmask) | ~pc->netmask);
		break;
	case 58:
		if (o->lease && !always)
			rc = xp_dhcp_msg_build_u32(b, 58, o->lease / 2);
		break;
	case 59:
		if (o->lease && !always)
			rc = xp_dhcp_msg_build_u32(b, 59, (uint32_t)((uint64_t)o->lease * 7 / 8));
		break;
	case 60:
		if (r->pxe && o->file)
			rc = xp_dhcp_msg_build_option(b, 60, "PXEClient", 9);
		break;
	case 43:
		if (r->pxe && o->file) {
			/* PXE 2.1 PXE_DISCOVERY_CONTROL (6) = 8: use the boot file given,
			 * no boot server discovery (multicast or otherwise) */
			static const uint8_t vend[] = {6, 1, 8, 255};
			rc = xp_dhcp_msg_build_option(b, 43, vend, sizeof(vend));
		}
		break;
	case 97: {
		size_t l;
		const uint8_t *u = xp_dhcp_msg_option(r->m, 97, &l);
		if (r->pxe && o->file && u && l == 17)
			rc = xp_dhcp_msg_build_option(b, 97, u, l);
		break;
	}
	case 66:
		if (o->file && !always) {
			char ip[16];
			uint32_t v = o->next;
			int n = snprintf(ip, sizeof(ip), "%u.%u.%u.%u", v >> 24, (v >> 16) & 255,
					 (v >> 8) & 255, v & 255);
			rc = xp_dhcp_msg_build_option(b, 66, ip, (size_t)n);
		}
		break;
	case 67:
		/* always when the name does not fit the 128-byte file field */
		if (o->file && (!always || strlen(o->file) > 127))
			rc = xp_dhcp_msg_build_option(b, 67, o->file, strlen(o->file));
		break;
	default:
		break;
	}
	if (rc == 0)
		o->done[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static void set_dest(const struct req *r, uint8_t type, struct xp_dhcp_tx *tx)
{
	const struct xp_dhcp_hdr *h = &r->m->h;
	tx->broadcast = false;
	if (h->giaddr) {
		tx->dst_ip = h->giaddr;
		tx->dst_port = XP_DHCP_SERVER_PORT;
	} else if (r->rx->src_port == XP_DHCP_PXE_PORT && r->rx->src_ip) {
		tx->dst_ip = r->rx->src_ip;
		tx->dst_port = XP_DHCP_PXE_PORT;
	} else if (type != XP_DHCPNAK && h->ciaddr) {
		tx->dst_ip = h->ciaddr;
		tx->dst_port = XP_DHCP_CLIENT_PORT;
	} else {
		tx->dst_ip = UINT32_MAX;
		tx->dst_port = XP_DHCP_CLIENT_PORT;
		tx->broadcast = true;
	}
}

/* Builds a reply: 53, 54, 51 first, then the parameter request list (55) in its order,
 * then what is sent unasked, then option 82 echoed last (RFC 3046 section 2.2). */
static int reply(const struct xp_dhcp_server *s, const struct req *r, uint8_t type,
		 uint32_t yiaddr, uint32_t ip_for_pool, uint32_t lease, const char *hostname,
		 struct xp_dhcp_tx *tx)
{
	const struct xp_dhcp_hdr *q = &r->m->h;
	struct xp_dhcp_hdr h;
	memset(&h, 0, sizeof(h));
	h.op = XP_BOOTREPLY;
	h.htype = q->htype;
	h.hlen = q->hlen;
	h.xid = q->xid;
	h.flags = q->flags;
	h.giaddr = q->giaddr;
	memcpy(h.chaddr, q->chaddr, 16);
	h.yiaddr = yiaddr;
	if (type == XP_DHCPACK)
		h.ciaddr = q->ciaddr; /* RFC 2131 table 3 */
	if (type == XP_DHCPNAK && q->giaddr)
		h.flags |= XP_DHCP_FLAG_BROADCAST; /* RFC 2131 4.3.2 */

	struct out o;
	memset(&o, 0, sizeof(o));
	char fbuf[NAME_MAX_LEN + 64];
	if (type != XP_DHCPNAK) {
		o.pool = s->proxy ? NULL : pool_for(s, ip_for_pool);
		o.file = boot_file(s, r, fbuf, sizeof(fbuf));
		o.hostname = hostname;
		o.lease = lease;
		o.next = s->next_server ? s->next_server : s->server_ip;
		if (o.file) {
			h.siaddr = o.next;
			size_t fl = strlen(o.file);
			if (fl < sizeof(h.file))
				memcpy(h.file, o.file, fl);
		}
	}
	int rc = xp_dhcp_msg_build_init(&o.b, tx->buf, r->limit, &h);
	if (rc < 0)
		return rc;
	struct xp_dhcp_build *b = &o.b;
	if (xp_dhcp_msg_build_u8(b, 53, type) < 0 || xp_dhcp_msg_build_u32(b, 54, s->server_ip) < 0)
		return -EMSGSIZE;
	if (lease && xp_dhcp_msg_build_u32(b, 51, lease) < 0)
		return -EMSGSIZE;

	size_t l82 = 0;
	const uint8_t *o82 = xp_dhcp_msg_option(r->m, 82, &l82);
	size_t reserve = o82 ? l82 + 2 * (l82 ? (l82 + 254) / 255 : 1) : 0;
	if (reserve > b->limit - 1 - b->len)
		return -EMSGSIZE;
	b->limit -= reserve;
	if (type != XP_DHCPNAK) {
		size_t n55 = 0;
		const uint8_t *prl = xp_dhcp_msg_option(r->m, 55, &n55);
		for (size_t i = 0; prl && i < n55; i++)
			put_opt(r, &o, prl[i], false);
		static const uint8_t unasked[] = {1, 3, 6, 12, 15, 60, 43, 97, 67};
		for (size_t i = 0; i < sizeof(unasked); i++)
			put_opt(r, &o, unasked[i], true);
	}
	b->limit += reserve;
	if (o82 && xp_dhcp_msg_build_option(b, 82, o82, l82) < 0)
		return -EMSGSIZE;
	tx->len = xp_dhcp_msg_build_end(b);
	tx->boot_host = type == XP_DHCPACK && r->host && (r->pxe || r->ipxe) ? r->host : NULL;
	set_dest(r, type, tx);
	return 1;
}

static int nak(const struct xp_dhcp_server *s, const struct req *r, struct xp_dhcp_tx *tx,
	       const char **why, const char *reason)
{
	*why = reason;
	return reply(s, r, XP_DHCPNAK, 0, 0, 0, NULL, tx);
}

/* ---- rate limit ---------------------------------------------------------------------- */

/* A token bucket per client, in a set-associative table: a new client evicts the least
 * recently seen of its set, so the table never grows. */
static bool rate_ok(struct xp_dhcp_server *s, uint32_t hc, int64_t now)
{
	struct rate *set = &s->rate[(hc % RATE_SETS) * RATE_WAYS], *victim = &set[0];
	for (int i = 0; i < RATE_WAYS; i++) {
		struct rate *e = &set[i];
		if (e->used && e->hc == hc) {
			if (now > e->last) {
				uint64_t add = (uint64_t)(now - e->last) * s->per_sec;
				e->tokens = add >= s->burst - e->tokens ? s->burst
									: e->tokens + (uint32_t)add;
			}
			e->last = now;
			if (e->tokens == 0)
				return false;
			e->tokens--;
			return true;
		}
		if (!e->used || (victim->used && e->last < victim->last))
			victim = e;
	}
	victim->used = true;
	victim->hc = hc;
	victim->last = now;
	victim->tokens = s->burst - 1;
	return true;
}

/* ---- message handlers ---------------------------------------------------------------- */

static uint32_t lease_of(const struct xp_dhcp_server *s, uint32_t ip)
{
	struct pool *p = pool_for(s, ip);
	return p && p->c.lease_time ? p->c.lease_time : DEFAULT_LEASE;
}

static bool in_link(const struct req *r, uint32_t ip)
{
	return r->link && (ip & r->link_mask) == r->link_net;
}

static int do_discover(struct xp_dhcp_server *s, const struct req *r, struct xp_dhcp_tx *tx,
		       const char **why)
{
	if (!r->link) {
		*why = "no pool serves the client's network";
		return 0;
	}
	uint32_t ip = 0;
	if (r->host && r->host->ip && in_link(r, r->host->ip)) {
		ip = r->host->ip;
	} else {
		uint32_t i = rec_of_client(s, r);
		uint32_t want;
		if (i != NONE && ip_ok(s, r, s->recs[i].l.ip))
			ip = s->recs[i].l.ip;
		else if (xp_dhcp_msg_ip(r->m, 50, &want) == 0 && in_link(r, want) &&
			 ip_ok(s, r, want) && !host_by_ip(s, want))
			ip = want;
		else if ((ip = alloc_addr(s, r)) == 0) {
			*why = "no free address in the pools of the client's network";
			return -ENOSPC;
		}
	}
	uint32_t ri;
	int rc = rec_take(s, ip, r->key, r->key_len, &ri);
	if (rc < 0)
		return rc;
	struct rec *rec = &s->recs[ri];
	if (!(rec->st == R_BOUND && rec->l.expires > r->now)) {
		rec->st = R_OFFER;
		rec->offer_exp = r->now + s->offer_hold;
		if (s->report_offers) {
			/* a copy: the record's own lease fields stay as they were */
			struct xp_dhcp_lease o = rec->l;
			o.state = XP_LEASE_OFFERED;
			o.expires = rec->offer_exp;
			memcpy(o.mac, r->has_mac ? r->mac : (const uint8_t[6]){0}, 6);
			if ((rc = emit_lease(s, &o)) < 0)
				return rc;
		}
	}
	const char *hn = r->host ? r->host->hostname : NULL;
	return reply(s, r, XP_DHCPOFFER, ip, ip, lease_of(s, ip), hn, tx);
}

static void set_hostname(struct rec *rc, const struct req *r)
{
	if (r->host && r->host->hostname[0]) {
		snprintf(rc->l.hostname, sizeof(rc->l.hostname), "%s", r->host->hostname);
		return;
	}
	size_t l = 0;
	const uint8_t *p = xp_dhcp_msg_option(r->m, 12, &l);
	size_t n = 0;
	for (size_t i = 0; p && i < l && n < sizeof(rc->l.hostname) - 1 && p[i]; i++) {
		uint8_t c = p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
		rc->l.hostname[n++] = ok ? (char)c : '-';
	}
	rc->l.hostname[n] = '\0';
}

/* RFC 2131 4.3.2. */
static int do_request(struct xp_dhcp_server *s, struct req *r, struct xp_dhcp_tx *tx,
		      const char **why)
{
	const struct xp_dhcp_hdr *h = &r->m->h;
	uint32_t sid = 0, want = 0;
	bool has_sid = xp_dhcp_msg_ip(r->m, 54, &sid) == 0;
	bool has_want = xp_dhcp_msg_ip(r->m, 50, &want) == 0;
	uint32_t target;
	bool selecting = false;
	if (has_sid) {
		if (sid != s->server_ip) {
			/* the client took another server's offer: ours is free again */
			uint32_t i = r->link ? rec_of_client(s, r) : NONE;
			if (i != NONE && s->recs[i].st == R_OFFER)
				s->recs[i].offer_exp = r->now;
			*why = "the client selected another server";
			return 0;
		}
		if (!has_want) {
			*why = "REQUEST with a server identifier but no requested address (50)";
			return -EBADMSG;
		}
		target = want;
		selecting = true;
	} else if (h->ciaddr == 0) {
		if (!has_want) {
			*why = "REQUEST with no server identifier, requested address or ciaddr";
			return -EBADMSG;
		}
		target = want; /* INIT-REBOOT */
	} else {
		target = h->ciaddr; /* RENEWING (unicast) or REBINDING (broadcast) */
		if (!h->giaddr) {
			/* the client is on the network of its address, wherever it reaches us */
			struct pool *p = pool_of_net(s, target);
			r->link = p != NULL;
			if (p) {
				r->link_mask = p->c.netmask;
				r->link_net = target & p->c.netmask;
			}
		}
	}
	if (!r->link) {
		*why = "no pool serves the client's network";
		return 0;
	}
	if (!in_link(r, target))
		return nak(s, r, tx, why, "requested address is not on the client's network");

	bool ok;
	if (r->host && r->host->ip && in_link(r, r->host->ip)) {
		ok = target == r->host->ip;
	} else {
		uint32_t i = rec_by_ip(s, target);
		ok = i != NONE && ip_ok(s, r, target) && same_client(&s->recs[i], r) &&
		     (s->recs[i].st == R_OFFER || s->recs[i].st == R_BOUND);
	}
	if (!ok)
		return nak(s, r, tx, why,
			   selecting ? "requested address was not offered to this client"
				     : "requested address is not this client's lease");

	uint32_t ri;
	int rc = rec_take(s, target, r->key, r->key_len, &ri);
	if (rc < 0)
		return rc;
	struct rec *rec = &s->recs[ri];
	uint32_t lease = lease_of(s, target);
	if (rec->st == R_BOUND) {
		rec->l.expires = r->now + lease; /* a renewal changes nothing else */
	} else {
		rec->st = R_BOUND;
		rec->l.state = XP_LEASE_BOUND;
		rec->l.expires = r->now + lease;
		memcpy(rec->l.mac, r->has_mac ? r->mac : (const uint8_t[6]){0}, 6);
		set_hostname(rec, r);
	}
	if ((rc = emit_change(s, rec)) < 0)
		return rc;
	return reply(s, r, XP_DHCPACK, target, target, lease, r->host ? r->host->hostname : NULL,
		     tx);
}

static int do_decline(struct xp_dhcp_server *s, const struct req *r, const char **why)
{
	uint32_t ip, sid;
	if (xp_dhcp_msg_ip(r->m, 50, &ip) < 0) {
		*why = "DECLINE without a requested address (50)";
		return -EBADMSG;
	}
	if (xp_dhcp_msg_ip(r->m, 54, &sid) == 0 && sid != s->server_ip) {
		*why = "DECLINE for another server";
		return 0;
	}
	uint32_t i = rec_by_ip(s, ip);
	if (i == NONE || !same_client(&s->recs[i], r) || s->recs[i].st == R_DECLINED) {
		*why = "DECLINE of an address that is not this client's";
		return 0;
	}
	struct rec *rc = &s->recs[i];
	rc->st = R_DECLINED;
	rc->l.state = XP_LEASE_DECLINED;
	rc->l.expires = r->now + DECLINE_HOLD;
	memcpy(rc->l.mac, r->has_mac ? r->mac : (const uint8_t[6]){0}, 6);
	*why = "address declined: quarantined";
	int e = emit_change(s, rc);
	return e < 0 ? e : 0;
}

static int do_release(struct xp_dhcp_server *s, const struct req *r, const char **why)
{
	uint32_t sid;
	if (xp_dhcp_msg_ip(r->m, 54, &sid) == 0 && sid != s->server_ip) {
		*why = "RELEASE for another server";
		return 0;
	}
	uint32_t i = rec_by_ip(s, r->m->h.ciaddr);
	if (i == NONE || !same_client(&s->recs[i], r) || s->recs[i].st != R_BOUND) {
		*why = "RELEASE of an address that is not this client's lease";
		return 0;
	}
	struct rec *rc = &s->recs[i];
	rc->st = R_RELEASED;
	rc->l.state = XP_LEASE_RELEASED;
	rc->l.expires = r->now;
	*why = "lease released";
	int e = emit_change(s, rc);
	return e < 0 ? e : 0;
}

static int do_inform(struct xp_dhcp_server *s, const struct req *r, struct xp_dhcp_tx *tx,
		     const char **why)
{
	uint32_t ci = r->m->h.ciaddr;
	if (!ci) {
		*why = "INFORM without ciaddr";
		return -EBADMSG;
	}
	if (!pool_of_net(s, ci)) {
		*why = "INFORM from a network no pool serves";
		return 0;
	}
	return reply(s, r, XP_DHCPACK, 0, ci, 0, r->host ? r->host->hostname : NULL, tx);
}

/* ProxyDHCP (PXE 2.1 section 2.2.4.2): the PXE part only, no address. */
static int do_proxy(struct xp_dhcp_server *s, const struct req *r, struct xp_dhcp_tx *tx,
		    const char **why)
{
	char fbuf[NAME_MAX_LEN + 64];
	if (!r->pxe) {
		*why = "proxy mode: not a PXE client";
		return 0;
	}
	if (!boot_file(s, r, fbuf, sizeof(fbuf))) {
		*why = "proxy mode: no boot file for this client";
		return 0;
	}
	uint8_t type;
	if (r->type == XP_DHCPDISCOVER) {
		type = XP_DHCPOFFER;
	} else if (r->type == XP_DHCPREQUEST || r->type == XP_DHCPINFORM) {
		uint32_t sid;
		bool ours = xp_dhcp_msg_ip(r->m, 54, &sid) == 0 && sid == s->server_ip;
		if (!ours && r->rx->src_port != XP_DHCP_PXE_PORT) {
			*why = "proxy mode: a REQUEST for the address server";
			return 0;
		}
		type = XP_DHCPACK;
	} else {
		*why = "proxy mode: message ignored";
		return 0;
	}
	return reply(s, r, type, 0, 0, 0, NULL, tx);
}

/* ---- entry points -------------------------------------------------------------------- */

static bool user_class_ipxe(const uint8_t *p, size_t l)
{
	if (!p)
		return false;
	if (l == 4 && memcmp(p, "iPXE", 4) == 0)
		return true; /* iPXE sends the bare string */
	for (size_t i = 0; i < l;) { /* RFC 3004: length-prefixed class names */
		size_t n = p[i++];
		if (n > l - i)
			return false;
		if (n == 4 && memcmp(p + i, "iPXE", 4) == 0)
			return true;
		i += n;
	}
	return false;
}

static int classify(struct xp_dhcp_server *s, struct req *r, const char **why)
{
	const struct xp_dhcp_msg *m = r->m;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	size_t l;
	int rc = xp_dhcp_msg_u8(m, 53, &u8);
	if (rc == -ENOENT) {
		*why = "no DHCP message type (53)";
		return -EBADMSG;
	}
	if (rc < 0) {
		*why = "bad DHCP message type (53) length";
		return -EBADMSG;
	}
	r->type = u8;
	if (xp_dhcp_msg_ip(m, 50, &u32) == -EBADMSG) {
		*why = "bad requested address (50) length";
		return -EBADMSG;
	}
	if (xp_dhcp_msg_ip(m, 54, &u32) == -EBADMSG) {
		*why = "bad server identifier (54) length";
		return -EBADMSG;
	}
	rc = xp_dhcp_msg_u16(m, 57, &u16);
	if (rc == -EBADMSG) {
		*why = "bad maximum message size (57) length";
		return -EBADMSG;
	}
	/* RFC 2132 9.10: 57 counts the whole datagram; 576 at least (RFC 2131 section 2) */
	uint32_t dgram = rc == 0 && u16 > MIN_DATAGRAM ? u16 : MIN_DATAGRAM;
	if (dgram > XP_DHCP_MAX_PKT)
		dgram = XP_DHCP_MAX_PKT;
	r->limit = dgram - IP_UDP_HDR;

	const uint8_t *p = xp_dhcp_msg_option(m, 61, &l);
	if (p) {
		if (l < 2) {
			*why = "client identifier (61) shorter than 2 bytes";
			return -EBADMSG;
		}
		if (l > sizeof(r->key)) {
			*why = "client identifier (61) longer than 64 bytes";
			return -EBADMSG;
		}
		memcpy(r->key, p, l);
		r->key_len = (uint8_t)l;
	} else {
		if (m->h.hlen == 0) {
			*why = "no client identifier (61) and no hardware address";
			return -EBADMSG;
		}
		r->key[0] = m->h.htype;
		memcpy(r->key + 1, m->h.chaddr, m->h.hlen);
		r->key_len = (uint8_t)(1 + m->h.hlen);
	}
	r->hc = hash_bytes(r->key, r->key_len);
	r->has_mac = m->h.htype == 1 && m->h.hlen == 6;
	if (r->has_mac) {
		memcpy(r->mac, m->h.chaddr, 6);
		r->host = host_by_mac(s, r->mac);
	}

	p = xp_dhcp_msg_option(m, 93, &l);
	if (p) {
		if (l < 2 || l % 2) {
			*why = "bad client system architecture (93) length";
			return -EBADMSG;
		}
		r->has_arch = true;
		r->arch = (uint16_t)(p[0] << 8 | p[1]);
	}
	p = xp_dhcp_msg_option(m, 60, &l);
	r->pxe = p && l >= 9 && memcmp(p, "PXEClient", 9) == 0;
	/* iPXE sends user class "iPXE" and its options in 175; a user class set to
	 * something else (`set user-class PXEClient` at iPXE's prompt) is taken at its
	 * word: that client asks to be treated as a plain PXE ROM */
	p = xp_dhcp_msg_option(m, 77, &l);
	r->ipxe = p ? user_class_ipxe(p, l) : xp_dhcp_msg_option(m, 175, NULL) != NULL;

	uint32_t a = m->h.giaddr ? m->h.giaddr : r->rx->local_ip;
	struct pool *pl = a ? pool_of_net(s, a) : NULL;
	r->link = pl != NULL;
	if (pl) {
		r->link_mask = pl->c.netmask;
		r->link_net = a & pl->c.netmask;
	}
	return 0;
}

int xp_dhcp_server_handle(struct xp_dhcp_server *s, const uint8_t *pkt, size_t len,
			  const struct xp_dhcp_rx *rx, struct xp_dhcp_tx *tx, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	tx->len = 0;
	tx->boot_host = NULL;
	struct xp_dhcp_msg *m = &s->msg;
	if (xp_dhcp_msg_parse(pkt, len, m) < 0) {
		*why = m->why;
		return -EBADMSG;
	}
	if (m->h.op != XP_BOOTREQUEST) {
		*why = "not a BOOTREQUEST";
		return 0;
	}
	struct req r;
	memset(&r, 0, sizeof(r));
	r.m = m;
	r.rx = rx;
	r.now = rx->now;
	int rc = classify(s, &r, why);
	if (rc < 0)
		return rc;
	switch (r.type) {
	case XP_DHCPDISCOVER:
	case XP_DHCPREQUEST:
	case XP_DHCPDECLINE:
	case XP_DHCPRELEASE:
	case XP_DHCPINFORM:
		break;
	default:
		*why = "not a client message type";
		return 0;
	}
	if (!rate_ok(s, r.hc, r.now)) {
		*why = "client over its rate limit";
		return -EAGAIN;
	}
	if (s->proxy)
		return do_proxy(s, &r, tx, why);
	if (r.type != XP_DHCPDISCOVER && r.type != XP_DHCPINFORM && s->n_chg >= CHANGES_MAX) {
		*why = "lease change log full";
		return -ENOBUFS;
	}
	switch (r.type) {
	case XP_DHCPDISCOVER:
		return do_discover(s, &r, tx, why);
	case XP_DHCPREQUEST:
		return do_request(s, &r, tx, why);
	case XP_DHCPDECLINE:
		return do_decline(s, &r, why);
	case XP_DHCPRELEASE:
		return do_release(s, &r, why);
	default:
		return do_inform(s, &r, tx, why);
	}
}

size_t xp_dhcp_server_changes(const struct xp_dhcp_server *s, const struct xp_dhcp_lease **v)
{
	*v = s->chg;
	return s->n_chg;
}

void xp_dhcp_server_changes_clear(struct xp_dhcp_server *s)
{
	s->n_chg = 0;
}

size_t xp_dhcp_server_leases(const struct xp_dhcp_server *s, const struct xp_dhcp_lease **v)
{
	struct snap *sn = s->snap;
	size_t n = 0;
	*v = NULL;
	for (uint32_t i = 0; i < s->n_recs; i++)
		n += s->recs[i].st != R_OFFER;
	if (n > sn->cap) {
		struct xp_dhcp_lease *nv = realloc(sn->v, sizeof(*nv) * n);
		if (!nv)
			return 0;
		sn->v = nv;
		sn->cap = n;
	}
	n = 0;
	for (uint32_t i = 0; i < s->n_recs; i++)
		if (s->recs[i].st != R_OFFER)
			sn->v[n++] = s->recs[i].l;
	*v = sn->v;
	return n;
}

/* ---- construction -------------------------------------------------------------------- */

static bool contiguous_mask(uint32_t mk)
{
	uint32_t inv = ~mk;
	return mk != 0 && (inv & (inv + 1)) == 0;
}

static int check_config(const struct xp_dhcp_config *c)
{
	if (!c->server_ip || (c->n_pools && !c->pools) || (c->n_hosts && !c->hosts))
		return -EINVAL;
	if (!c->n_pools && !c->proxy)
		return -EINVAL;
	const char *names[] = {c->bios_file, c->efi64_file, c->http_base};
	for (size_t i = 0; i < 3; i++)
		if (names[i] && strlen(names[i]) > NAME_MAX_LEN)
			return -EINVAL;
	for (size_t i = 0; i < c->n_pools; i++) {
		const struct xp_dhcp_pool *p = &c->pools[i];
		if (p->start > p->end || !contiguous_mask(p->netmask) ||
		    (p->start & p->netmask) != (p->end & p->netmask) ||
		    p->end - p->start >= MAX_POOL_SIZE || p->n_dns > 4 ||
		    strnlen(p->domain, sizeof(p->domain)) == sizeof(p->domain) ||
		    strnlen(p->name, sizeof(p->name)) == sizeof(p->name))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (p->start <= c->pools[j].end && c->pools[j].start <= p->end)
				return -EINVAL;
	}
	if (c->n_local_ips && !c->local_ips)
		return -EINVAL;
	for (size_t i = 0; i < c->n_hosts; i++) {
		const struct xp_dhcp_host *h = &c->hosts[i];
		if (strnlen(h->hostname, sizeof(h->hostname)) == sizeof(h->hostname))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (memcmp(h->mac, c->hosts[j].mac, 6) == 0 ||
			    (h->ip && h->ip == c->hosts[j].ip))
				return -EINVAL;
	}
	return 0;
}

const char *xp_dhcp_reservation_refusal(const struct xp_dhcp_config *cfg, uint32_t ip)
{
	if (ip == cfg->server_ip || ip == cfg->next_server)
		return "the server's own address";
	for (size_t i = 0; i < cfg->n_local_ips; i++)
		if (ip == cfg->local_ips[i])
			return "the server's own address";
	const char *why = "in no pool's subnet";
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct xp_dhcp_pool *p = &cfg->pools[i];
		uint32_t mk = p->netmask;
		if (p->router && ip == p->router)
			return "a pool's router";
		if ((ip & mk) != (p->start & mk))
			continue;
		/* RFC 950: the all-zeros and all-ones host numbers are no host's */
		if ((ip & ~mk) == 0)
			return "the network address of its subnet";
		if ((ip | mk) == UINT32_MAX)
			return "the broadcast address of its subnet";
		why = NULL;
	}
	return why;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static char *dup_name(const char *p, bool *fail)
{
	if (!p || !*p)
		return NULL;
	char *d = strdup(p);
	if (!d)
		*fail = true;
	return d;
}

static int cmp_host_ip(const void *a, const void *b, void *arg)
{
	const struct xp_dhcp_host *h = arg;
	uint32_t x = h[*(const uint32_t *)a].ip, y = h[*(const uint32_t *)b].ip;
	return x < y ? -1 : x > y;
}

void xp_dhcp_server_free(struct xp_dhcp_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_pools; i++)
		free(s->pools[i].busy);
	free(s->pools);
	free(s->hosts);
	free(s->host_ip);
	free(s->local);
	free(s->bios);
	free(s->efi);
	free(s->http);
	free(s->recs);
	free(s->hb_c);
	free(s->hb_ip);
	free(s->chg);
	if (s->snap)
		free(s->snap->v);
	free(s->snap);
	free(s);
}

int xp_dhcp_server_new(const struct xp_dhcp_config *cfg, struct xp_dhcp_server **ret)
{
	int rc = check_config(cfg);
	if (rc < 0)
		return rc;
	struct xp_dhcp_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->server_ip = cfg->server_ip;
	s->next_server = cfg->next_server;
	s->proxy = cfg->proxy;
	s->report_offers = cfg->report_offers;
	s->offer_hold = cfg->offer_hold ? cfg->offer_hold : DEFAULT_HOLD;
	s->burst = cfg->rate_burst ? cfg->rate_burst : DEFAULT_BURST;
	s->per_sec = cfg->rate_per_sec ? cfg->rate_per_sec : DEFAULT_RATE;
	bool fail = false;
	s->bios = dup_name(cfg->bios_file, &fail);
	s->efi = dup_name(cfg->efi64_file, &fail);
	s->http = dup_name(cfg->http_base, &fail);
	s->snap = calloc(1, sizeof(*s->snap));
	s->pools = calloc(cfg->n_pools ? cfg->n_pools : 1, sizeof(*s->pools));
	s->hosts = calloc(cfg->n_hosts ? cfg->n_hosts : 1, sizeof(*s->hosts));
	s->host_ip = calloc(cfg->n_hosts ? cfg->n_hosts : 1, sizeof(*s->host_ip));
	s->local = calloc(cfg->n_local_ips ? cfg->n_local_ips : 1, sizeof(*s->local));
	if (fail || !s->snap || !s->pools || !s->hosts || !s->host_ip || !s->local)
		goto nomem;
	if (cfg->n_local_ips)
		memcpy(s->local, cfg->local_ips, sizeof(*s->local) * cfg->n_local_ips);
	s->n_local = cfg->n_local_ips;
	qsort(s->local, s->n_local, sizeof(*s->local), cmp_u32);
	if (cfg->n_hosts)
		memcpy(s->hosts, cfg->hosts, sizeof(*s->hosts) * cfg->n_hosts);
	s->n_hosts = cfg->n_hosts;
	/* whatever the caller checked: a reservation that must not be handed out (or any,
	 * in proxy mode, where we hand out no addresses) is served without its address */
	for (size_t i = 0; i < s->n_hosts; i++)
		if (s->hosts[i].ip &&
		    (cfg->proxy || xp_dhcp_reservation_refusal(cfg, s->hosts[i].ip)))
			s->hosts[i].ip = 0;
	qsort(s->hosts, s->n_hosts, sizeof(*s->hosts), cmp_mac);
	for (size_t i = 0; i < s->n_hosts; i++)
		if (s->hosts[i].ip)
			s->host_ip[s->n_host_ip++] = (uint32_t)i;
	qsort_r(s->host_ip, s->n_host_ip, sizeof(*s->host_ip), cmp_host_ip, s->hosts);
	uint64_t max = s->n_host_ip;
	for (size_t i = 0; i < cfg->n_pools; i++) {
		struct pool *p = &s->pools[i];
		p->c = cfg->pools[i];
		p->size = p->c.end - p->c.start + 1;
		p->nwords = (p->size + 63) / 64;
		/* servers sharing the pool each start at a place of their own (by their
		 * address), so that they do not walk it in step, claiming the same
		 * addresses at once and losing half the claims to each other */
		if (cfg->report_offers)
			p->cursor = hash_ip(cfg->server_ip) % p->size;
		p->last_sweep = INT64_MIN;
		p->busy = calloc(p->nwords, sizeof(*p->busy));
		if (!p->busy)
			goto nomem;
		s->n_pools++;
		max += p->size;
	}
	s->max_recs = max > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)max;
	for (size_t i = 0; i < s->n_pools; i++) {
		struct pool *p = &s->pools[i];
		for (uint32_t k = 0; k < p->size; k++)
			if (excluded(s, p, p->c.start + k))
				bit_set(p, p->c.start + k);
	}
	*ret = s;
	return 0;
nomem:
	xp_dhcp_server_free(s);
	return -ENOMEM;
}

/* Would ip belong to this client in s (a pool address, or the client's reservation)? */
static bool placeable(const struct xp_dhcp_server *s, const struct xp_dhcp_lease *l)
{
	const struct xp_dhcp_host *h = host_by_ip(s, l->ip);
	if (h)
		return memcmp(h->mac, l->mac, 6) == 0;
	struct pool *p = pool_of(s, l->ip);
	return p && !excluded(s, p, l->ip);
}

static int insert(struct xp_dhcp_server *s, const struct xp_dhcp_lease *l, uint8_t st,
		  int64_t offer_exp)
{
	uint32_t i;
	int rc = rec_take(s, l->ip, l->client, l->client_len, &i);
	if (rc < 0)
		return rc;
	struct rec *rc2 = &s->recs[i];
	rc2->l = *l;
	rc2->st = st;
	rc2->offer_exp = offer_exp;
	return 0;
}

int xp_dhcp_server_restore(struct xp_dhcp_server *s, const struct xp_dhcp_lease *v, size_t n,
			   int64_t now)
{
	(void)now;
	int count = 0;
	for (size_t k = 0; k < n; k++) {
		const struct xp_dhcp_lease *l = &v[k];
		if (l->client_len == 0 || l->client_len > sizeof(l->client) || !placeable(s, l))
			continue;
		uint8_t st = l->state == XP_LEASE_BOUND	     ? R_BOUND
			     : l->state == XP_LEASE_DECLINED ? R_DECLINED
			     : l->state == XP_LEASE_OFFERED  ? R_OFFER
							     : R_RELEASED;
		struct xp_dhcp_lease c = *l;
		c.hostname[sizeof(c.hostname) - 1] = '\0';
		int rc = insert(s, &c, st, st == R_OFFER ? l->expires : 0);
		if (rc < 0)
			return rc;
		count++;
	}
	return count;
}

int xp_dhcp_server_reconfigure(struct xp_dhcp_server *s, const struct xp_dhcp_config *cfg)
{
	struct xp_dhcp_server *n;
	int rc = xp_dhcp_server_new(cfg, &n);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < s->n_recs; i++) {
		const struct rec *r = &s->recs[i];
		if (!placeable(n, &r->l))
			continue;
		if ((rc = insert(n, &r->l, r->st, r->offer_exp)) < 0) {
			xp_dhcp_server_free(n);
			return rc;
		}
	}
	memcpy(n->rate, s->rate, sizeof(n->rate));
	/* the pending changes move over: swap the change logs */
	struct xp_dhcp_lease *chg = n->chg;
	size_t cap = n->cap_chg;
	n->chg = s->chg;
	n->n_chg = s->n_chg;
	n->cap_chg = s->cap_chg;
	s->chg = chg;
	s->n_chg = 0;
	s->cap_chg = cap;
	struct xp_dhcp_server tmp;
	memcpy(&tmp, s, sizeof(tmp));
	memcpy(s, n, sizeof(*s));
	memcpy(n, &tmp, sizeof(*n));
	xp_dhcp_server_free(n);
	return 0;
}
