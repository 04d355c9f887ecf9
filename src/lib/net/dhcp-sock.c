/*
 * dhcp-sock.c - the DHCP service's I/O around the pure engine (proto/dhcp-server.c):
 * one UDP socket on port 67 that learns, per packet, the interface it came in on
 * (IP_PKTINFO), reads packets in batches (recvmmsg), has the engine answer each, writes
 * the batch's lease changes to the inventory in one transaction, and only then sends
 * the batch's replies (sendmmsg): an ACK is never sent for a lease that is not stored
 * (group commit, so that persistence costs one commit per batch, not one per packet).
 *
 * Broadcast replies go out of the interface the request came in on (IP_PKTINFO's
 * ifindex on the send); relayed requests are answered to the relay (RFC 3046).
 *
 * The engine's configuration comes from the inventory: pools from the settings,
 * reservations and netboot flags from the systems; it is rebuilt when the inventory
 * changes, keeping the leases.
 *
 * On PostgreSQL the pools may be shared with other servers: offers are held and stored
 * too, each change is a claim (xp_lease_claim) that the database may refuse, and a
 * reply leaves only when every change it made was claimed; a refused address is
 * handed to the engine as its holder's, so that it is not chosen again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "xenprov/dhcp.h"
#include "xenprov/leases.h"
#include "xenprov/mac.h"

#define BATCH 64
#define RXBUF 2048
#define HOLD_MS 4

/* a socket of the service: port 67 (or --dhcp-port), and 4011 in ProxyDHCP mode, where
 * PXE clients send their second request (PXE 2.1) */
struct dsock {
	struct watch w; /* first: the epoll record points here */
	struct dhcp_srv *d;
};

struct dhcp_srv {
	struct serve *s;
	struct dsock main, pxe;
	struct xp_dhcp_server *engine;
	uint16_t port;
	/* the configured pools' networks, to pick the receiving interface's address */
	uint32_t *pool_net, *pool_mask;
	size_t n_pools;

	uint8_t rbuf[BATCH][RXBUF];
	struct iovec riov[BATCH];
	struct sockaddr_in rsrc[BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		size_t align; /* cmsghdr alignment */
	} rctl[BATCH], sctl[BATCH];
	struct mmsghdr rmsg[BATCH];

	struct xp_dhcp_tx tx[BATCH];
	int tx_ifindex[BATCH];
	/* replies that wait for their leases to be stored: ACKs are held up to HOLD_MS so
	 * that one commit serves several (group commit across wake-ups, not only within
	 * one); offers and NAKs, which store nothing, leave at once */
	struct xp_dhcp_tx held[BATCH];
	int held_ifindex[BATCH];
	/* shared (PostgreSQL): the engine's changes each held reply made, [first, last),
	 * and (sh) each held reply's request, to be answered again if its claim fails */
	bool shared;
	size_t held_first[BATCH], held_last[BATCH];
	struct shared *sh;
	bool *claim_refused;
	struct xp_dhcp_lease *claim_holder;
	size_t cap_claim;
	unsigned claim_kept; /* commits in a row that kept their replies for the next */
	unsigned n_held;
	int64_t held_since; /* ms */
	struct iovec siov[BATCH];
	struct sockaddr_in sdst[BATCH];
	struct mmsghdr smsg[BATCH];

	/* reservations refused (xp_dhcp_reservation_refusal) at the last (re)load: each is
	 * logged once, when it first appears */
	struct refused *refused;
	size_t n_refused;
	struct xp_dhcp_msg scratch; /* for describing a dropped packet */
};

struct held_req {
	uint8_t pkt[RXBUF];
	size_t len;
	struct xp_dhcp_rx rx;
};

struct shared {
	struct held_req req[BATCH];
	struct xp_dhcp_tx tx[BATCH]; /* what a commit sends */
	int ifindex[BATCH];
};

struct refused {
	uint8_t mac[6];
	uint32_t ip;
	const char *why; /* static */
};

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

static void log_config_diags(struct dhcp_srv *d, const struct xp_diags *dg)
{
	for (size_t i = 0; i < dg->n; i++)
		xp__serve_log(d->s, dg->v[i].severity == XP_SEV_ERROR ? LOG_ERR : LOG_WARNING,
			  "settings: %s", dg->v[i].msg);
}

/* Everything the engine's configuration points at, owned here until it is applied. */
struct cfg_store {
	struct xp_dhcp_config cfg;
	struct xp_dhcp_pool *pools;
	struct xp_dhcp_host *hosts;
	size_t n_hosts;
	uint32_t *local;
	struct refused *refused;
	size_t n_refused;
	char http_base[128];
};

static void cfg_release(struct cfg_store *c)
{
	free(c->pools);
	free(c->hosts);
	free(c->local);
	free(c->refused);
}

/* Every IPv4 address of this machine's interfaces (not only the served ones): none is
 * ever handed out. Read at each (re)load. */
static int load_local(struct cfg_store *c)
{
	struct iface *v;
	size_t n;
	int r = xp__sys_ifaces(NULL, 0, &v, &n);
	if (r < 0)
		return r;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].n_addr;
	c->local = calloc(total ? total : 1, sizeof(*c->local));
	if (!c->local) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned a = 0; a < v[i].n_addr; a++)
			c->local[c->cfg.n_local_ips++] = v[i].addr[a];
	c->cfg.local_ips = c->local;
	free(v);
	return 0;
}

static bool was_refused(const struct dhcp_srv *d, const struct refused *x)
{
	for (size_t i = 0; i < d->n_refused; i++)
		if (memcmp(d->refused[i].mac, x->mac, 6) == 0 && d->refused[i].ip == x->ip &&
		    d->refused[i].why == x->why)
			return true;
	return false;
}

/* A reservation the engine will not hand out: logged (rate-limited) the first time it is
 * seen, not at every reload; the system is served without it. */
static void refuse_host(struct dhcp_srv *d, struct cfg_store *c, const struct xp_system *sys,
			struct xp_dhcp_host *h, const char *why)
{
	struct refused *x = &c->refused[c->n_refused++];
	memcpy(x->mac, h->mac, 6);
	x->ip = h->ip;
	x->why = why;
	h->ip = 0;
	if (!was_refused(d, x))
		xp__serve_limited(d->s, SRC_DHCP, LOG_WARNING,
			      "system '%s' (%s): %s is %s: not handed out, the system gets an "
			      "address from the pool until it is given another "
			      "(xenprov system edit %s --ip ADDR)",
			      sys->name, sys->mac, sys->ip, why, sys->name);
}

static int load_hosts(struct dhcp_srv *d, struct cfg_store *c)
{
	char **names;
	size_t n;
	int r = xp_system_list(d->s->inv, &names, &n);
	if (r < 0)
		return r;
	c->hosts = calloc(n ? n : 1, sizeof(*c->hosts));
	c->refused = calloc(n ? n : 1, sizeof(*c->refused));
	if (!c->hosts || !c->refused) {
		xp_strv_free(names, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct xp_system sys = {0};
		if (xp_system_get(d->s->inv, names[i], &sys) < 0)
			continue; /* removed meanwhile */
		struct xp_dhcp_host *h = &c->hosts[c->n_hosts];
		struct xp_mac mac;
		if (xp_mac_parse(sys.mac, &mac) == 0) {
			memcpy(h->mac, mac.b, 6);
			if (sys.ip)
				parse_ip(sys.ip, &h->ip);
			/* an older inventory, or settings or interfaces changed since the
			 * system was added: one bad record must not stop DHCP for everybody,
			 * nor may the server hand out its own, a router's, a network or a
			 * broadcast address (in proxy mode no address is handed out) */
			const char *why = h->ip && !c->cfg.proxy
					      ? xp_dhcp_reservation_refusal(&c->cfg, h->ip)
					      : NULL;
			if (why)
				refuse_host(d, c, &sys, h, why);
			snprintf(h->hostname, sizeof(h->hostname), "%s",
				 sys.hostname ? sys.hostname : sys.name);
			snprintf(h->name, sizeof(h->name), "%s", sys.name);
			h->netboot = sys.netboot;
			c->n_hosts++;
		}
		xp_system_release(&sys);
	}
	xp_strv_free(names, n);
	return 0;
}

static int build_config(struct dhcp_srv *d, struct cfg_store *c)
{
	struct serve *s = d->s;
	memset(c, 0, sizeof(*c));
	struct xp_server_pool *pv;
	size_t np;
	struct xp_diags dg = {0};
	int r = xp_server_pools(&s->settings, &pv, &np, &dg);
	if (r < 0) {
		log_config_diags(d, &dg);
		xp_diags_release(&dg);
		return r;
	}
	xp_diags_release(&dg);
	c->pools = calloc(np ? np : 1, sizeof(*c->pools));
	if (!c->pools) {
		xp_server_pools_free(pv, np);
		return -ENOMEM;
	}
	for (size_t i = 0; i < np; i++) {
		struct xp_dhcp_pool *p = &c->pools[i];
		snprintf(p->name, sizeof(p->name), "%s", pv[i].name);
		parse_ip(pv[i].range_start, &p->start);
		parse_ip(pv[i].range_end, &p->end);
		parse_ip(pv[i].netmask, &p->netmask);
		if (pv[i].router)
			parse_ip(pv[i].router, &p->router);
		for (size_t k = 0; k < pv[i].n_dns && k < 4; k++)
			if (parse_ip(pv[i].dns[k], &p->dns[p->n_dns]) == 0)
				p->n_dns++;
		if (pv[i].domain)
			snprintf(p->domain, sizeof(p->domain), "%s", pv[i].domain);
		p->lease_time = pv[i].lease_time;
	}
	xp_server_pools_free(pv, np);
	c->cfg.pools = c->pools;
	c->cfg.n_pools = np;

	if (parse_ip(xp__serve_setting(s, "server"), &c->cfg.server_ip) < 0)
		return -EINVAL;
	parse_ip(xp__serve_setting(s, "next-server"), &c->cfg.next_server);
	const char *proxy = xp__serve_setting(s, "proxy-dhcp");
	c->cfg.proxy = proxy && strcmp(proxy, "on") == 0;
	c->cfg.report_offers = d->shared;
	if ((r = load_local(c)) < 0)
		return r;
	/* the reservations last: they are checked against all of the above */
	if ((r = load_hosts(d, c)) < 0)
		return r;
	c->cfg.hosts = c->hosts;
	c->cfg.n_hosts = c->n_hosts;
	c->cfg.bios_file = xp__serve_setting(s, "bios-boot-file");
	c->cfg.efi64_file = xp__serve_setting(s, "efi64-boot-file");
	const char *hold = xp__serve_setting(s, "offer-hold");
	c->cfg.offer_hold = hold ? (uint32_t)strtoul(hold, NULL, 10) : 0;
	xp__serve_http_base(s, &s->settings, c->http_base, sizeof(c->http_base));
	if (c->http_base[0])
		c->cfg.http_base = c->http_base;
	if (np == 0 && !c->cfg.proxy) {
		xp__serve_log(s, LOG_ERR,
			  "DHCP needs a pool (xenprov settings set pool.NAME.range A-B and "
			  "pool.NAME.netmask M; reserved systems need one for their subnet too), "
			  "or proxy-dhcp on; or run only --tftp --http");
		return -EINVAL;
	}
	return 0;
}

/* The configuration is in force: its refused reservations are the ones already logged. */
static void remember_refused(struct dhcp_srv *d, struct cfg_store *c)
{
	free(d->refused);
	d->refused = c->refused;
	d->n_refused = c->n_refused;
	c->refused = NULL;
}

static int remember_pools(struct dhcp_srv *d, const struct cfg_store *c)
{
	uint32_t *net = calloc(c->cfg.n_pools + 1, sizeof(*net));
	uint32_t *mask = calloc(c->cfg.n_pools + 1, sizeof(*mask));
	if (!net || !mask) {
		free(net);
		free(mask);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->cfg.n_pools; i++) {
		mask[i] = c->pools[i].netmask;
		net[i] = c->pools[i].start & mask[i];
	}
	free(d->pool_net);
	free(d->pool_mask);
	d->pool_net = net;
	d->pool_mask = mask;
	d->n_pools = c->cfg.n_pools;
	return 0;
}

static int open_socket(struct dhcp_srv *d, struct dsock *k, uint16_t port);

/* The settings read (build_config) and put in force: a new engine made (at start, when
 * there is none) or the running one reconfigured, its pools and refused addresses
 * remembered. *proxy (proxy may be NULL): whether ProxyDHCP is on. */
static int take_config(struct dhcp_srv *d, bool *proxy)
{
	struct cfg_store c;
	int r = build_config(d, &c);
	if (proxy)
		*proxy = r == 0 && c.cfg.proxy;
	if (r == 0 && d->engine)
		r = xp_dhcp_server_reconfigure(d->engine, &c.cfg);
	else if (r == 0 && (r = xp_dhcp_server_new(&c.cfg, &d->engine)) < 0)
		xp__serve_log(d->s, LOG_ERR,
			  "the DHCP settings are not usable (%s): check them with "
			  "'xenprov settings show'",
			  strerror(-r));
	if (r == 0)
		r = remember_pools(d, &c);
	if (r == 0)
		remember_refused(d, &c);
	cfg_release(&c);
	return r;
}

static void commit_held(struct dhcp_srv *d);
static bool pending(const struct dhcp_srv *d);

int xp__dhcp_srv_reload(struct dhcp_srv *d)
{
	/* the held replies leave under the configuration they were made in (their
	 * boot_host points into it); one still held after (kept for a later commit)
	 * logs nothing when it leaves */
	if (pending(d))
		commit_held(d);
	for (unsigned i = 0; i < d->n_held; i++)
		d->held[i].boot_host = NULL;
	bool proxy;
	int r = take_config(d, &proxy);
	if (r < 0)
		return r;
	/* ProxyDHCP switched on or off while serving: the PXE port follows (4011 is not
	 * a privileged port, so this works after privileges are dropped too) */
	if (proxy && d->pxe.w.fd < 0) {
		int e = open_socket(d, &d->pxe, 4011);
		if (e < 0) {
			xp__serve_unwatch_close(d->s, &d->pxe.w);
			xp__serve_log(d->s, LOG_WARNING,
				  "dhcp: ProxyDHCP without port 4011 (%s): restart the server to "
				  "answer PXE clients' second requests there",
				  strerror(-e));
		}
	} else if (!proxy) {
		xp__serve_unwatch_close(d->s, &d->pxe.w);
	}
	return 0;
}

/* The address of the receiving interface that a pool lives on; else its first. */
static uint32_t local_address(struct dhcp_srv *d, const struct iface *f)
{
	for (unsigned a = 0; a < f->n_addr; a++)
		for (size_t p = 0; p < d->n_pools; p++)
			if ((f->addr[a] & d->pool_mask[p]) == d->pool_net[p])
				return f->addr[a];
	return f->n_addr ? f->addr[0] : 0;
}

/* An option's bytes, escaped, as " KEY 'VALUE'", or nothing. */
static void describe_opt(const struct xp_dhcp_msg *m, uint8_t code, const char *key, char *out,
			 size_t size)
{
	size_t l;
	const uint8_t *v = xp_dhcp_msg_option(m, code, &l);
	char esc[160]; /* a long one is cut, marked "..." */
	if (v)
		snprintf(out, size, " %s '%s'", key, xp_escape(esc, sizeof(esc), v, l));
	else
		out[0] = 0;
}

/* A dropped packet, for its log line: what it is and who sent it as it says (hardware
 * address; host name, vendor class and client identifier escaped), and where from. */
static void log_drop(struct dhcp_srv *d, const uint8_t *pkt, size_t len,
		     const struct sockaddr_in *from, int r, const char *why)
{
	static const char *const types[] = {NULL,  "DISCOVER", "OFFER",	  "REQUEST", "DECLINE",
					    "ACK", "NAK",      "RELEASE", "INFORM"};
	char src[INET_ADDRSTRLEN], who[600] = "", host[180], vendor[180], id[180];
	inet_ntop(AF_INET, &from->sin_addr, src, sizeof(src));
	struct xp_dhcp_msg *m = &d->scratch;
	const char *what = "a malformed packet";
	uint8_t type = 0;
	/* under a flood the line is only counted: not worth parsing the packet again, the
	 * hardware address is enough (RFC 2131 figure 1: htype, hlen at 1, 2; chaddr at 28) */
	if (xp__serve_limited_full(d->s, SRC_DHCP, LOG_WARNING)) {
		what = "a packet";
		if (len >= XP_DHCP_HDR_LEN && pkt[1] == 1 && pkt[2] == 6)
			snprintf(who, sizeof(who), " of %02x:%02x:%02x:%02x:%02x:%02x", pkt[28],
				 pkt[29], pkt[30], pkt[31], pkt[32], pkt[33]);
	} else if (len && xp_dhcp_msg_parse(pkt, len, m) == 0) {
		what = xp_dhcp_msg_u8(m, 53, &type) == 0 && type && type < 9 ? types[type]
									     : "a packet";
		const uint8_t *c = m->h.chaddr;
		describe_opt(m, 12, "host", host, sizeof(host));
		describe_opt(m, 60, "vendor", vendor, sizeof(vendor));
		describe_opt(m, 61, "client-id", id, sizeof(id));
		if (m->h.htype == 1 && m->h.hlen == 6)
			snprintf(who, sizeof(who), " of %02x:%02x:%02x:%02x:%02x:%02x%s%s%s", c[0],
				 c[1], c[2], c[3], c[4], c[5], host, vendor, id);
		else
			snprintf(who, sizeof(who), "%s%s%s", host, vendor, id);
	}
	xp__serve_limited(d->s, SRC_DHCP, LOG_WARNING, "dropped %s%s from %s:%u: %s", what, who, src,
		      ntohs(from->sin_port),
		      why	     ? why
		      : r == -ENOMEM ? "out of memory"
				     : "cannot be answered");
}

/* An ACK to a machine's firmware booting from the network (a PXE or iPXE client of a
 * known system) has left: with netboot off it was answered no boot file and goes on to
 * its disk, logged at info. Nothing else: a DHCP exchange, which anyone on the boot
 * network can make with any MAC, ends no autoinstall attempt (autoinstall.h: only the
 * next attempt's token, rendered to the system's own address, does). */
static void on_boot(struct dhcp_srv *d, const struct xp_dhcp_host *h)
{
	if (h->netboot)
		return;
	char mac[XP_MAC_STRLEN + 1];
	struct xp_mac m;
	memcpy(m.b, h->mac, 6);
	xp_mac_format(&m, mac);
	xp__serve_limited(d->s, SRC_DHCP, LOG_INFO,
			  "system '%s' (%s): netboot off, answered no boot file: boots locally",
			  h->name[0] ? h->name : h->hostname, mac);
}

static void send_batch(struct dhcp_srv *d, int fd, const struct xp_dhcp_tx *tx,
		       const int *ifindex, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct xp_dhcp_tx *t = &tx[i];
		/* with --dhcp-port N the server is on N and clients on N + 1; PXE's 4011
		 * stays as it is */
		uint16_t port = t->dst_port == XP_DHCP_SERVER_PORT   ? d->port
				: t->dst_port == XP_DHCP_CLIENT_PORT ? (uint16_t)(d->port + 1)
								     : t->dst_port;
		d->sdst[i] = (struct sockaddr_in){
			.sin_family = AF_INET,
			.sin_port = htons(port),
			.sin_addr.s_addr = htonl(t->broadcast ? INADDR_BROADCAST : t->dst_ip),
		};
		d->siov[i] = (struct iovec){(void *)t->buf, t->len};
		struct msghdr *m = &d->smsg[i].msg_hdr;
		memset(m, 0, sizeof(*m));
		m->msg_name = &d->sdst[i];
		m->msg_namelen = sizeof(d->sdst[i]);
		m->msg_iov = &d->siov[i];
		m->msg_iovlen = 1;
		if (t->broadcast) {
			/* out of the interface the request came in on */
			m->msg_control = d->sctl[i].buf;
			m->msg_controllen = sizeof(d->sctl[i].buf);
			struct cmsghdr *cm = CMSG_FIRSTHDR(m);
			cm->cmsg_level = IPPROTO_IP;
			cm->cmsg_type = IP_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
			struct in_pktinfo pi = {.ipi_ifindex = ifindex[i]};
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		}
	}
	unsigned done = 0;
	while (done < n) {
		int k = sendmmsg(fd, d->smsg + done, n - done, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			/* one bad destination must not hold back the rest */
			xp__serve_log(d->s, LOG_DEBUG, "dhcp: send: %s", strerror(errno));
			done++;
			continue;
		}
		for (unsigned i = done; i < done + (unsigned)k; i++)
			if (tx[i].boot_host) /* replies that left only */
				on_boot(d, tx[i].boot_host);
		done += (unsigned)k;
	}
}

/* PostgreSQL: claims the changes made so far, then sends the held replies whose changes
 * were all claimed. The engine never believes an address is free that the database
 * holds for someone else (a refused one is given to its holder); a lease the engine
 * holds that the database lost is claimed again at its client's next request. A
 * request whose reply lost its claim is answered again at once, now that the engine
 * knows the holder (another address offered, a REQUEST NAKed), in up to two more
 * rounds: the client need not wait for its retransmission. What is still held after
 * the rounds, or after a claim that failed on a lock (-EBUSY: a deadlock with another
 * server, found in deadlock_timeout), stays held with its changes for the next commit
 * (HOLD_MS later), up to CLAIM_KEEPS commits in a row: a batch's replies are no longer
 * dropped whole because of one conflict (issue 20: two servers' ACKs came after the
 * clients' 4 s timeout). Other failures (the database gone) drop them: the clients ask
 * again. */
#define CLAIM_ROUNDS 3
#define CLAIM_KEEPS  8

/* A refused address's holder goes to the engine. A row this server cannot read
 * (written by something else) is kept off, as declined, until it expires, and logged
 * once then: else each round would offer it again and be refused again. Its client is
 * one byte, a client identifier no client can send (RFC 2132, 9.14: two at least). */
static void restore_holder(struct dhcp_srv *d, const struct xp_dhcp_lease *h)
{
	if (h->client_len) {
		xp_dhcp_server_restore(d->engine, h, 1, (int64_t)time(NULL));
		return;
	}
	if (!h->ip)
		return; /* nobody holds it any more */
	struct xp_dhcp_lease x = *h;
	x.state = XP_LEASE_DECLINED;
	x.client_len = 1;
	x.client[0] = 0;
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = {htonl(h->ip)};
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	xp__serve_limited(d->s, SRC_DHCP, LOG_WARNING,
			  "dhcp: %s is held by a lease row this server cannot read: not offered "
			  "for the next %lld s",
			  ip, (long long)(h->expires - (int64_t)time(NULL)));
	xp_dhcp_server_restore(d->engine, &x, 1, (int64_t)time(NULL));
}

/* Keeps what is held for the next commit where it may: 1 if kept. */
static int keep_held(struct dhcp_srv *d)
{
	if (d->n_held >= BATCH || d->claim_kept >= CLAIM_KEEPS || xp_inv_lost(d->s->inv))
		return 0;
	d->claim_kept++;
	d->held_since = xp__serve_now_ms();
	return 1;
}

static bool claim_room(struct dhcp_srv *d, size_t nch)
{
	if (nch <= d->cap_claim)
		return true;
	size_t cap = nch < 64 ? 64 : nch;
	bool *rf = realloc(d->claim_refused, cap * sizeof(*rf));
	if (rf)
		d->claim_refused = rf;
	struct xp_dhcp_lease *h = realloc(d->claim_holder, cap * sizeof(*h));
	if (h)
		d->claim_holder = h;
	if (rf && h)
		d->cap_claim = cap;
	return nch <= d->cap_claim;
}

static bool all_claimed(const struct dhcp_srv *d, unsigned i, size_t nch)
{
	for (size_t k = d->held_first[i]; k < d->held_last[i] && k < nch; k++)
		if (d->claim_refused[k])
			return false;
	return true;
}

static void commit_shared(struct dhcp_srv *d)
{
	struct shared *sh = d->sh;
	for (int round = 0; round < CLAIM_ROUNDS; round++) {
		const struct xp_dhcp_lease *ch;
		size_t nch = xp_dhcp_server_changes(d->engine, &ch);
		int r = !claim_room(d, nch)
			    ? -ENOMEM
			    : xp_lease_claim(d->s->inv, ch, nch, (int64_t)time(NULL),
					     d->claim_refused, d->claim_holder);
		if (r == -EBUSY && keep_held(d)) {
			xp__serve_log(d->s, LOG_DEBUG,
				      "dhcp: %zu lease change(s) wait for the next commit: %s", nch,
				      xp_inv_errmsg(d->s->inv));
			return;
		}
		if (r < 0) {
			xp__serve_log(
			    d->s, LOG_ERR,
			    "dhcp: cannot store %zu lease change(s); %u repl%s not sent: %s", nch,
			    d->n_held, d->n_held == 1 ? "y" : "ies", xp_inv_errmsg(d->s->inv));
			break;
		}
		/* ch is not used past here: restore and handle invalidate it */
		xp_dhcp_server_changes_clear(d->engine);
		for (size_t k = 0; r > 0 && k < nch; k++)
			if (d->claim_refused[k])
				restore_holder(d, &d->claim_holder[k]);
		/* the claimed replies leave; the others' requests are answered again (the
		 * engine knows the holders now), held anew in place (j <= i) when they
		 * changed a lease, sent with the claimed ones when not (a NAK) */
		unsigned n = d->n_held, nsend = 0, j = 0;
		for (unsigned i = 0; i < n; i++) {
			if (r == 0 || all_claimed(d, i, nch)) {
				sh->tx[nsend] = d->held[i];
				sh->ifindex[nsend++] = d->held_ifindex[i];
				continue;
			}
			struct held_req *q = &sh->req[i];
			size_t before = xp_dhcp_server_changes(d->engine, &ch);
			const char *why = NULL;
			int h = xp_dhcp_server_handle(d->engine, q->pkt, q->len, &q->rx,
						      &sh->tx[nsend], &why);
			size_t after = xp_dhcp_server_changes(d->engine, &ch);
			if (h > 0 && after > before) {
				d->held[j] = sh->tx[nsend];
				d->held_ifindex[j] = d->held_ifindex[i];
				d->held_first[j] = before;
				d->held_last[j] = after;
				if (j != i)
					sh->req[j] = *q;
				j++;
			} else if (h > 0) {
				sh->ifindex[nsend++] = d->held_ifindex[i];
			}
		}
		if (r > 0)
			xp__serve_log(d->s, LOG_DEBUG,
				      "dhcp: %d address(es) held by another server's client; %u "
				      "request(s) answered again",
				      r, j);
		if (nsend)
			send_batch(d, d->main.w.fd, sh->tx, sh->ifindex, nsend);
		d->n_held = j;
		if (j == 0) {
			d->claim_kept = 0;
			return;
		}
	}
	/* the rounds used up: the requests answered again in the last stay held */
	if (d->n_held && keep_held(d))
		return;
	/* what is left (an error, or kept too often) is dropped: the clients ask again */
	xp_dhcp_server_changes_clear(d->engine);
	d->n_held = 0;
	d->claim_kept = 0;
}

/* Stores the lease changes made so far, then sends the replies held for them. */
static void commit_held(struct dhcp_srv *d)
{
	if (d->shared) {
		commit_shared(d);
		return;
	}
	const struct xp_dhcp_lease *ch;
	size_t nch = xp_dhcp_server_changes(d->engine, &ch);
	if (nch) {
		int r = xp_lease_save(d->s->inv, ch, nch);
		if (r < 0) {
			/* the changes are kept for the next commit; the clients will ask again */
			xp__serve_log(d->s, LOG_ERR,
				  "dhcp: cannot store %zu lease change(s); %u repl%s not sent: %s",
				  nch, d->n_held, d->n_held == 1 ? "y" : "ies",
				  xp_inv_errmsg(d->s->inv));
			d->n_held = 0;
			return;
		}
		xp_dhcp_server_changes_clear(d->engine);
	}
	if (d->n_held)
		send_batch(d, d->main.w.fd, d->held, d->held_ifindex, d->n_held);
	d->n_held = 0;
}

/* Something waits to be stored: a held reply, or a change without one (a RELEASE). */
static bool pending(const struct dhcp_srv *d)
{
	const struct xp_dhcp_lease *ch;
	return d->n_held || xp_dhcp_server_changes(d->engine, &ch);
}

int64_t xp__dhcp_srv_deadline(const struct dhcp_srv *d)
{
	return pending(d) ? d->held_since + HOLD_MS : INT64_MAX;
}

void xp__dhcp_srv_flush(struct dhcp_srv *d, int64_t now_ms)
{
	if (pending(d) && now_ms >= d->held_since + HOLD_MS)
		commit_held(d);
}

static void on_readable(struct serve *s, struct watch *w, uint32_t events)
{
	(void)events;
	struct dhcp_srv *d = ((struct dsock *)w)->d;
	for (int round = 0; round < 16; round++) {
		for (unsigned i = 0; i < BATCH; i++) {
			d->riov[i] = (struct iovec){d->rbuf[i], RXBUF};
			struct msghdr *m = &d->rmsg[i].msg_hdr;
			m->msg_name = &d->rsrc[i];
			m->msg_namelen = sizeof(d->rsrc[i]);
			m->msg_iov = &d->riov[i];
			m->msg_iovlen = 1;
			m->msg_control = d->rctl[i].buf;
			m->msg_controllen = sizeof(d->rctl[i].buf);
			m->msg_flags = 0;
		}
		int n = recvmmsg(w->fd, d->rmsg, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		int64_t now = (int64_t)time(NULL);
		unsigned nout = 0;
		for (int i = 0; i < n; i++) {
			struct msghdr *m = &d->rmsg[i].msg_hdr;
			uint32_t src = ntohl(d->rsrc[i].sin_addr.s_addr);
			if (m->msg_flags & MSG_TRUNC) {
				log_drop(d, NULL, 0, &d->rsrc[i], -EBADMSG,
					 "longer than 2048 bytes");
				continue;
			}
			int ifindex = 0;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm))
				if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;
					memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
					ifindex = pi.ipi_ifindex;
				}
			const struct iface *f = xp__serve_iface(s, ifindex);
			if (!f)
				continue; /* not an interface we serve */
			struct xp_dhcp_rx rx = {
				.src_ip = src,
				.src_port = ntohs(d->rsrc[i].sin_port),
				.local_ip = local_address(d, f),
				.now = now,
			};
			const char *why = NULL;
			const struct xp_dhcp_lease *ch;
			if (d->shared && d->n_held == BATCH) {
				/* before this packet's change: a held reply's changes are
				 * claimed in the commit that sends it */
				commit_held(d);
				d->held_since = xp__serve_now_ms();
			}
			size_t before = xp_dhcp_server_changes(d->engine, &ch);
			int r = xp_dhcp_server_handle(d->engine, d->rbuf[i], d->rmsg[i].msg_len,
						      &rx, &d->tx[nout], &why);
			size_t after = xp_dhcp_server_changes(d->engine, &ch);
			if (after > before && before == 0 && d->n_held == 0)
				d->held_since = xp__serve_now_ms(); /* the first change waiting */
			if (r < 0) {
				log_drop(d, d->rbuf[i], d->rmsg[i].msg_len, &d->rsrc[i], r, why);
			} else if (r > 0 && after > before) {
				/* an ACK: it leaves once its lease is stored */
				if (d->n_held == BATCH) {
					commit_held(d);
					d->held_since = xp__serve_now_ms();
				}
				d->held_first[d->n_held] = before;
				d->held_last[d->n_held] = xp_dhcp_server_changes(d->engine, &ch);
				if (d->sh) {
					struct held_req *q = &d->sh->req[d->n_held];
					q->len = d->rmsg[i].msg_len;
					memcpy(q->pkt, d->rbuf[i], q->len);
					q->rx = rx;
				}
				d->held[d->n_held] = d->tx[nout];
				d->held_ifindex[d->n_held++] = ifindex;
			} else if (r > 0) {
				d->tx_ifindex[nout++] = ifindex;
			}
		}
		if (nout)
			send_batch(d, w->fd, d->tx, d->tx_ifindex, nout);
		if (d->n_held >= BATCH / 2)
			commit_held(d);
		if (n < BATCH)
			break;
	}
	xp__dhcp_srv_flush(d, xp__serve_now_ms());
}

static int open_socket(struct dhcp_srv *d, struct dsock *k, uint16_t port)
{
	k->w.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->w.fd < 0)
		return -errno;
	int one = 1, rcvbuf = 4 << 20;
	setsockopt(k->w.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(k->w.fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	setsockopt(k->w.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	/* room for a burst while a batch's leases are committed: beyond rmem_max when
	 * root (we still are: sockets are opened before privileges are dropped) */
	if (setsockopt(k->w.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(k->w.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (bind(k->w.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		xp__serve_log(d->s, LOG_ERR, "dhcp: cannot bind UDP port %u: %s", port, strerror(-r));
		return r;
	}
	return xp__serve_watch(d->s, &k->w, EPOLLIN);
}

int xp__dhcp_srv_open(struct serve *s, struct dhcp_srv **ret)
{
	struct dhcp_srv *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->s = s;
	d->main = (struct dsock){{-1, on_readable}, d};
	d->pxe = (struct dsock){{-1, on_readable}, d};
	d->port = s->opts->dhcp_port ? s->opts->dhcp_port : 67;
	d->shared = xp_inv_is_pgsql(s->inv);
	if (d->shared && !(d->sh = calloc(1, sizeof(*d->sh)))) {
		free(d);
		return -ENOMEM;
	}
	int r = take_config(d, NULL);
	if (r < 0)
		goto fail;

	/* leases that ended over a week ago are of no more use (a returning client's
	 * old address is a courtesy, not a promise) */
	xp_lease_purge(s->inv, (int64_t)time(NULL) - 7 * 86400);
	struct xp_dhcp_lease *lv;
	size_t ln;
	if ((r = xp_lease_load(s->inv, &lv, &ln)) < 0) {
		xp__serve_log(s, LOG_ERR, "cannot read the stored leases: %s", xp_inv_errmsg(s->inv));
		goto fail;
	}
	r = xp_dhcp_server_restore(d->engine, lv, ln, (int64_t)time(NULL));
	free(lv);
	if (r < 0)
		goto fail;
	if (ln)
		xp__serve_log(s, LOG_INFO, "dhcp: %zu stored lease(s) restored", ln);

	if ((r = open_socket(d, &d->main, d->port)) < 0)
		goto fail;
	const char *proxy = xp__serve_setting(s, "proxy-dhcp");
	if (proxy && strcmp(proxy, "on") == 0 && (r = open_socket(d, &d->pxe, 4011)) < 0)
		goto fail;
	*ret = d;
	return 0;
fail:
	xp__dhcp_srv_close(d);
	return r;
}

void xp__dhcp_srv_close(struct dhcp_srv *d)
{
	if (!d)
		return;
	if (d->engine)
		commit_held(d); /* nothing acknowledged is left unsent or unstored */
	xp__serve_unwatch_close(d->s, &d->main.w);
	xp__serve_unwatch_close(d->s, &d->pxe.w);
	xp_dhcp_server_free(d->engine);
	free(d->pool_net);
	free(d->pool_mask);
	free(d->refused);
	free(d->claim_refused);
	free(d->claim_holder);
	free(d->sh);
	free(d);
}
