/*
 * xenprov/dhcp.h - the pure DHCPv4 engine of the boot server: the wire format (parse,
 * RFC 3396 option concatenation, option overload, building with RFC 3396 splitting and a
 * size limit) and the server state machine (RFC 2131 DISCOVER/OFFER/REQUEST/ACK/NAK/
 * RELEASE/DECLINE/INFORM; RFC 2132 options; RFC 4578 PXE; RFC 3046 relays; ProxyDHCP).
 *
 * Not here: sockets, clocks, files, the lease store. The caller receives a datagram,
 * hands it to xp_dhcp_server_handle with the time and the receiving address, persists
 * the lease changes and sends what comes back in the tx struct. There is no global
 * state; the server handle is not thread-safe (one handle per thread, or a lock).
 *
 * IPv4 addresses are uint32_t in HOST byte order everywhere in this header.
 * Conventions (shared/DESIGN.md section 6): >= 0 success, -errno failure.
 */
#ifndef XENPROV_DHCP_H
#define XENPROV_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XP_DHCP_MAX_PKT 1500

/* ---- message layer ------------------------------------------------------------------ */

#define XP_DHCP_SERVER_PORT 67
#define XP_DHCP_CLIENT_PORT 68
#define XP_DHCP_PXE_PORT    4011
#define XP_DHCP_HDR_LEN     236 /* fixed BOOTP header, before the magic cookie */
#define XP_DHCP_MIN_LEN     240 /* header + cookie */
#define XP_DHCP_OPT_MAX     2048 /* bytes of merged option data a message may carry */
#define XP_DHCP_FLAG_BROADCAST 0x8000

enum xp_dhcp_op { XP_BOOTREQUEST = 1, XP_BOOTREPLY = 2 };

enum xp_dhcp_type {
	XP_DHCPDISCOVER = 1,
	XP_DHCPOFFER = 2,
	XP_DHCPREQUEST = 3,
	XP_DHCPDECLINE = 4,
	XP_DHCPACK = 5,
	XP_DHCPNAK = 6,
	XP_DHCPRELEASE = 7,
	XP_DHCPINFORM = 8,
};

/* The fixed BOOTP fields (RFC 2131 section 2, figure 1), in host byte order. */
struct xp_dhcp_hdr {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t sname[64]; /* raw bytes (a NUL-terminated name when not overloaded) */
	uint8_t file[128];
};

/* A parsed message: the header and every option, instances of one code concatenated in
 * the order RFC 3396 section 5 gives (options field, then `file` if option 52 says it is
 * overloaded, then `sname`). Self-contained: nothing points into the input. */
struct xp_dhcp_msg {
	struct xp_dhcp_hdr h;
	uint8_t overload;	 /* option 52 value, 0 if absent */
	uint8_t present[32];	 /* bitmap of codes seen */
	uint16_t off[256], len[256];
	size_t used;
	uint8_t data[XP_DHCP_OPT_MAX];
	const char *why; /* after a failed parse: what was wrong (static string) */
};

/* Parses a BOOTP/DHCP datagram (either op). -EBADMSG, with m->why set, when it is shorter
 * than 240 bytes, hlen > 16, the magic cookie is wrong, an option runs past its area, a
 * file/sname area is marked overloaded by a malformed option 52 (length != 1 or value not
 * 1..3), or the merged option data exceed XP_DHCP_OPT_MAX. Pad (0) options are skipped; an
 * area without an End (255) option ends at its last byte. */
int xp_dhcp_msg_parse(const uint8_t *p, size_t len, struct xp_dhcp_msg *m);

/* The (concatenated) data of option code and its length, or NULL if absent; an option
 * present with length 0 returns a non-NULL pointer and *len 0. len may be NULL. */
const uint8_t *xp_dhcp_msg_option(const struct xp_dhcp_msg *m, uint8_t code, size_t *len);

/* Helpers over xp_dhcp_msg_option: -ENOENT absent, -EBADMSG wrong length. */
int xp_dhcp_msg_u8(const struct xp_dhcp_msg *m, uint8_t code, uint8_t *v);
int xp_dhcp_msg_u16(const struct xp_dhcp_msg *m, uint8_t code, uint16_t *v);
int xp_dhcp_msg_ip(const struct xp_dhcp_msg *m, uint8_t code, uint32_t *v);

/* A message being written into a caller's buffer, never beyond `limit` bytes. */
struct xp_dhcp_build {
	uint8_t *p;
	size_t len, limit;
};

/* Writes the header and the magic cookie. -EMSGSIZE if limit < 241 (header, cookie, End). */
int xp_dhcp_msg_build_init(struct xp_dhcp_build *b, uint8_t *buf, size_t limit,
			   const struct xp_dhcp_hdr *h);
/* Appends option code with len bytes of data; data longer than 255 bytes goes out as
 * several consecutive instances (RFC 3396 section 7). Room for the End option is always
 * kept. -ENOSPC (and nothing written) if it does not fit; -EINVAL for code 0 or 255. */
int xp_dhcp_msg_build_option(struct xp_dhcp_build *b, uint8_t code, const void *data,
			     size_t len);
int xp_dhcp_msg_build_u8(struct xp_dhcp_build *b, uint8_t code, uint8_t v);
int xp_dhcp_msg_build_u16(struct xp_dhcp_build *b, uint8_t code, uint16_t v);
int xp_dhcp_msg_build_u32(struct xp_dhcp_build *b, uint8_t code, uint32_t v);
/* Appends the End option and pads with zeros to the 300-byte BOOTP minimum (RFC 1542
 * section 2.1) when the limit allows; returns the message length. */
size_t xp_dhcp_msg_build_end(struct xp_dhcp_build *b);

/* ---- server -------------------------------------------------------------------------- */

struct xp_dhcp_lease {
	uint32_t ip;
	uint8_t client[64];
	uint8_t client_len; /* option 61 bytes, else htype byte + chaddr */
	uint8_t mac[6];
	char hostname[64]; /* from option 12 or the reservation, "" if none */
	int64_t expires;   /* unix seconds */
	/* OFFERED: only in the changes of a server with report_offers, and in what such a
	 * server restores (another server's offer, held until expires) */
	enum xp_dhcp_lease_state {
		XP_LEASE_BOUND,
		XP_LEASE_RELEASED,
		XP_LEASE_DECLINED,
		XP_LEASE_OFFERED
	} state;
};

struct xp_dhcp_pool {
	char name[32];
	uint32_t start, end, netmask, router; /* router 0 = none */
	uint32_t dns[4];
	unsigned n_dns;
	char domain[128];    /* "" = none */
	uint32_t lease_time; /* seconds, 0 = 3600 */
};

struct xp_dhcp_host {
	uint8_t mac[6];
	uint32_t ip; /* 0 = no fixed address (only netboot/hostname info) */
	char hostname[64];
	char name[65]; /* the system's name, for log lines ("" = none) */
	bool netboot;
};

struct xp_dhcp_config {
	uint32_t server_ip;	   /* option 54 */
	uint32_t next_server;	   /* siaddr; 0 = server_ip */
	const uint32_t *local_ips; /* the server machine's own addresses (its interfaces'): */
	size_t n_local_ips;	   /* like server_ip and next_server, never handed out */
	const struct xp_dhcp_pool *pools;
	size_t n_pools;
	const struct xp_dhcp_host *hosts;
	size_t n_hosts;			    /* reservations */
	const char *bios_file, *efi64_file; /* NULL/"" = none */
	const char *http_base; /* "http://10.0.0.1:8080" or NULL: iPXE gets the plain file */
	bool proxy;	       /* ProxyDHCP: PXE clients only, no addresses */
	uint32_t offer_hold;   /* seconds, 0 = 30 */
	uint32_t rate_burst, rate_per_sec; /* per client token bucket, 0 = 10 and 5 */
	/* every OFFER of an address also reported as a change (state XP_LEASE_OFFERED,
	 * expires: the end of the offer's hold, mac: the client's), so that a caller
	 * sharing the pools with other servers can claim the address in a shared store
	 * before the offer leaves (an offer of the client's own unexpired lease is not) */
	bool report_offers;
};

/* Where the datagram came from and on which local address it arrived. */
struct xp_dhcp_rx {
	uint32_t src_ip;
	uint16_t src_port;
	uint32_t local_ip; /* the receiving interface's address: picks the pool if no giaddr */
	int64_t now;	   /* unix seconds */
};

/* The reply. dst_ip/dst_port per RFC 2131 section 4.1: giaddr:67 when relayed; ciaddr:68
 * when the client has an address; else 255.255.255.255:68 with broadcast = true, which
 * the socket layer must send as a broadcast out of the receiving interface (also for a
 * client that did not set the broadcast flag: we do not inject ARP entries). A request
 * that came from port 4011 (PXE boot server discovery) is answered to src_ip:4011. */
struct xp_dhcp_tx {
	uint8_t buf[XP_DHCP_MAX_PKT];
	size_t len;
	uint32_t dst_ip;
	uint16_t dst_port;
	bool broadcast;
	/* An ACK to a network boot client (PXE or iPXE) of a known host: a machine's
	 * firmware booting (an installed system's own DHCP client is not one), for the
	 * caller's bookkeeping (a netboot-off host was sent to its disk: logged once the
	 * reply left). A pointer into the configuration in force, valid until it is
	 * replaced. NULL for any other reply. */
	const struct xp_dhcp_host *boot_host;
};

struct xp_dhcp_server;

/* Why ip must never be handed out as a reserved address under cfg (a static string), or
 * NULL if it may: "the server's own address" (server_ip, next_server, local_ips), "a
 * pool's router", "the network address of its subnet", "the broadcast address of its
 * subnet" (RFC 950: the all-zeros and all-ones host numbers), "in no pool's subnet". */
const char *xp_dhcp_reservation_refusal(const struct xp_dhcp_config *cfg, uint32_t ip);

/* Copies cfg (strings included). -EINVAL (nothing allocated) for: no server_ip; a pool
 * with start > end, a non-contiguous netmask, start and end in different subnets, more
 * than 2^20 addresses, or overlapping another pool; no pools outside proxy mode; a
 * reservation whose MAC or IP appears twice; boot file names or http_base longer than
 * 255 bytes. -ENOMEM. A reservation whose IP xp_dhcp_reservation_refusal refuses (and
 * every reservation's IP in proxy mode) is kept without its IP: the client gets its
 * hostname and netboot flag and an address from the pools, never that IP (the caller
 * says so in its log; this engine only makes sure). */
int xp_dhcp_server_new(const struct xp_dhcp_config *cfg, struct xp_dhcp_server **ret);
/* Swaps in a new configuration, keeping leases and offers that still fit (in a pool, or
 * at the client's reservation) and the pending changes. On error s is unchanged. */
int xp_dhcp_server_reconfigure(struct xp_dhcp_server *s, const struct xp_dhcp_config *cfg);
void xp_dhcp_server_free(struct xp_dhcp_server *s);

/* Loads leases from the store (at start; and a shared store's holder of an address the
 * caller could not claim, which takes the address over from whoever held it here). An
 * XP_LEASE_OFFERED lease is held for its client until its expires. Leases whose address is in no
 * pool and not the client's reservation (matched by mac), or with client_len 0 or > 64, are
 * skipped; expired ones are loaded too (their client is offered the address first while it stays
 * free), a declined one stays quarantined until its expires. A later lease for the same
 * address replaces an earlier one. now is not needed today (kept for the contract).
 * Returns the number loaded, or -ENOMEM. */
int xp_dhcp_server_restore(struct xp_dhcp_server *s, const struct xp_dhcp_lease *v, size_t n,
			   int64_t now);

/* Handles one datagram received on port 67 (or 4011).
 *   1        a reply is in tx;
 *   0        nothing to send (RELEASE, DECLINE, a request for another server or subnet,
 *            a non-PXE client in proxy mode...); *why may say why;
 *   -EBADMSG malformed (*why: a static reason);
 *   -EAGAIN  the client is over its rate;
 *   -ENOSPC  no free address (*why);
 *   -ENOBUFS the change log holds 65536 changes: persist and clear them first;
 *   -EMSGSIZE the reply cannot fit the client's size limit (option 82 too long to echo);
 *   -ENOMEM.
 * why may be NULL. The common path allocates nothing. Pointers from _changes and
 * _leases are invalidated by the next call of handle, restore or reconfigure. */
int xp_dhcp_server_handle(struct xp_dhcp_server *s, const uint8_t *pkt, size_t len,
			  const struct xp_dhcp_rx *rx, struct xp_dhcp_tx *tx, const char **why);

/* Lease changes (bound, renewed, released, declined; offered with report_offers) since
 * the last clear, in order, as copies: the caller persists them in one transaction BEFORE sending
 * the replies made since (group commit). */
size_t xp_dhcp_server_changes(const struct xp_dhcp_server *s, const struct xp_dhcp_lease **v);
void xp_dhcp_server_changes_clear(struct xp_dhcp_server *s);

/* Every lease held (bound, released, declined; expired ones until their address is
 * reused; not offers), for status listings. */
size_t xp_dhcp_server_leases(const struct xp_dhcp_server *s, const struct xp_dhcp_lease **v);

#endif
