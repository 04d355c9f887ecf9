/*
 * xenprov/dhcp-client.h - the pure DHCPv4 client engine of the domU network bootloader
 * (`xenprov pxeboot`): DISCOVER, OFFER, REQUEST, ACK/NAK (RFC 2131 section 4.4.1) for
 * a MAC address that is not this machine's (the guest's), as a PXE client (RFC 4578:
 * options 93 and 94; PXE 2.1's vendor class "PXEClient"), and the RELEASE that gives
 * the address back.
 *
 * Not here: sockets and clocks. The caller sends what next() builds (broadcast, from
 * port 68, out of the interface it chose), feeds input() every datagram that arrives
 * on port 68, and wakes at deadline(). Time is an argument in milliseconds.
 *
 * Replies are asked for by broadcast (the BOOTP broadcast flag, RFC 2131 section
 * 4.1): the client's address is not this machine's, so a unicast reply could never
 * reach it. Datagrams of other transactions (another xid or chaddr: dom0's own DHCP
 * client, other guests' bootloaders) are ignored.
 *
 * Choosing among offers, as a PXE ROM does: an offer that names a boot file (or a
 * next server) is taken at once; an offer of an address alone is kept for select_ms
 * while a better one may come; a ProxyDHCP offer (no address, vendor class
 * "PXEClient": RFC 4578, PXE 2.1) only lends its boot file to the address taken.
 *
 * IPv4 addresses are uint32_t in HOST byte order.
 */
#ifndef XENPROV_DHCP_CLIENT_H
#define XENPROV_DHCP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The vendor class a PXE BIOS client sends (PXE 2.1: arch 0, UNDI 2.1). */
#define XP_DHCP_PXE_VENDOR_CLASS "PXEClient:Arch:00000:UNDI:002001"

struct xp_dhcp_client_opts {
	uint8_t mac[6];
	uint32_t xid;		    /* the transaction id: random, from the caller */
	uint32_t seed;		    /* for the retransmission jitter (random, from the caller) */
	uint32_t first_timeout_ms;  /* first retransmission; 0 = 1000 */
	uint32_t max_timeout_ms;    /* backoff cap; 0 = 8000 */
	uint32_t timeout_ms;	    /* the whole exchange; 0 = 30000 */
	uint32_t select_ms;	    /* an offer without boot file waits this long; 0 = 1000 */
};

/* What the lease says, the boot part merged from ACK, OFFER and ProxyDHCP offer (in
 * that order of preference). Strings are NUL-terminated, "" when absent. */
struct xp_dhcp_client_lease {
	uint32_t ip;	    /* yiaddr */
	uint32_t server_id; /* option 54: where REQUEST and RELEASE go */
	uint32_t netmask;   /* option 1, 0 when absent */
	uint32_t router;    /* the first of option 3, 0 when absent */
	uint32_t dns[4];
	unsigned n_dns;
	uint32_t lease_time; /* option 51, seconds; 0 when absent */
	uint32_t relay;	     /* giaddr: the relay the answer came through, 0 for none */
	/* boot */
	uint32_t next_server;	 /* siaddr of the message the boot file came from */
	uint32_t boot_server_id; /* option 54 of that message */
	char file[256];		 /* option 67, else the `file` field (unless overloaded) */
	char tftp_server[256];	 /* option 66, else the `sname` field (unless overloaded) */
	char pxe_config[256];	 /* option 209: pxelinux's config file (RFC 5071) */
	char pxe_prefix[256];	 /* option 210: pxelinux's path prefix (RFC 5071) */
	char hostname[64];	 /* option 12 */
	bool from_proxy;	 /* the boot part came from a ProxyDHCP offer */
};

enum xp_dhcp_client_state {
	XP_DHCP_CLIENT_SELECTING,
	XP_DHCP_CLIENT_REQUESTING,
	XP_DHCP_CLIENT_BOUND,
	XP_DHCP_CLIENT_FAILED,
};

struct xp_dhcp_client;

/* -EINVAL for a zero, multicast MAC; -ENOMEM. The first DISCOVER is due at now_ms. */
int xp_dhcp_client_new(const struct xp_dhcp_client_opts *o, int64_t now_ms,
		       struct xp_dhcp_client **ret);
void xp_dhcp_client_free(struct xp_dhcp_client *c);

/* The message due at now_ms (a DISCOVER or REQUEST, new or resent) into buf: its
 * length, 0 when nothing is due. A REQUEST that gets no answer in 4 sends goes back to
 * DISCOVER. -ENOSPC if cap < 548. */
ssize_t xp_dhcp_client_next(struct xp_dhcp_client *c, uint8_t *buf, size_t cap, int64_t now_ms);

/* Feeds one datagram that arrived on port 68: 1 if it moved the exchange on (an offer
 * taken or kept, an ACK, a NAK, which starts over with a DISCOVER), 0 if it was not
 * for us or not useful (another xid or chaddr, a request, an offer of no address in the
 * wrong state...), -EBADMSG if it is no DHCP message. */
int xp_dhcp_client_input(struct xp_dhcp_client *c, const uint8_t *p, size_t len, int64_t now_ms);

/* When next() or the offer selection wants to run: <= now when due, INT64_MAX when
 * bound or failed. At the overall timeout the client becomes FAILED. */
int64_t xp_dhcp_client_deadline(const struct xp_dhcp_client *c);
/* Advances timers without building a packet (the selection window, the overall
 * timeout). Call before next() when the deadline has passed. */
void xp_dhcp_client_tick(struct xp_dhcp_client *c, int64_t now_ms);

enum xp_dhcp_client_state xp_dhcp_client_state(const struct xp_dhcp_client *c);
/* Why it failed ("" otherwise): "no DHCP offer in 30 s", "no answer to REQUEST"... */
const char *xp_dhcp_client_error(const struct xp_dhcp_client *c);
/* The lease once BOUND (NULL before). */
const struct xp_dhcp_client_lease *xp_dhcp_client_lease(const struct xp_dhcp_client *c);
/* How many DISCOVERs and REQUESTs were sent, and offers seen. */
unsigned xp_dhcp_client_discovers(const struct xp_dhcp_client *c);
unsigned xp_dhcp_client_requests(const struct xp_dhcp_client *c);

/* The RELEASE of a bound lease (RFC 2131 section 4.4.6: ciaddr, option 54), to be sent
 * to the server id's port 67. Its length; -EINVAL if not bound, -ENOSPC if cap < 548. */
ssize_t xp_dhcp_client_release(const struct xp_dhcp_client *c, uint8_t *buf, size_t cap);

#endif
