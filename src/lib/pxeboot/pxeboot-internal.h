/*
 * pxeboot-internal.h - what the files of the domU network bootloader share: the DHCP
 * socket, fetching a URL (TFTP or HTTP) into a sink, the guest's disk (local.c).
 */
#ifndef XP_PXEBOOT_INTERNAL_H
#define XP_PXEBOOT_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include "xenprov/dhcp-client.h"
#include "xenprov/pxeboot.h"
#include "xenprov/tftp.h"

/* CLOCK_MONOTONIC in milliseconds. */
int64_t xp__pxe_now_ms(void);

/* A UDP socket bound to 0.0.0.0:port on interface ifname, broadcast allowed, port
 * shared (SO_REUSEADDR, SO_REUSEPORT). The fd, or -errno with a diagnostic. */
int xp__pxe_dhcp_socket(const char *ifname, uint16_t port, struct xp_diags *d);
/* Runs the client engine to BOUND or FAILED over fd, sending to the broadcast address
 * at server_port. 0, -ETIMEDOUT, -errno. */
int xp__pxe_dhcp_run(int fd, struct xp_dhcp_client *c, uint16_t server_port, struct xp_diags *d);
/* Sends the RELEASE of c's lease to its server. */
int xp__pxe_dhcp_release(int fd, const struct xp_dhcp_client *c, uint16_t server_port);

/* How a fetch went, for the log. */
struct xp__fetch_stats {
	uint64_t bytes;
	uint32_t blksize, windowsize; /* TFTP's negotiated values; 0 for HTTP */
};

/* Fetches url (tftp://HOST[:PORT]/NAME, http://, https://) into sink, at most max
 * bytes. -ENOENT when the server says there is no such file (TFTP error 1, HTTP 404
 * or 410), with no diagnostic (the caller decides whether that is an error); other
 * failures with a diagnostic: -ETIMEDOUT, -EFBIG, -EACCES, -EPROTO, -EINVAL (a URL of
 * another kind), -EHOSTUNREACH (no such host). */
int xp__pxe_fetch(const char *url, const struct xp_tftp_sink *sink, uint64_t max,
		  uint32_t blksize, uint32_t windowsize, struct xp__fetch_stats *st,
		  struct xp_diags *d);

/* The guest's disk (local.c): reads its boot config and chooses entry (NULL: its
 * default). On success *h is a handle for xp__pxe_local_extract and the entry's
 * parts are heap strings (initrds split at ' '); free with xp__pxe_local_free. */
struct xp__pxe_local {
	void *lb; /* struct xp_localboot * */
	char *config, *title, *kernel, *args, *kind;
	char **initrds;
	size_t n_initrds;
};
int xp__pxe_local_read(const char *disk, const char *entry, struct xp__pxe_local *l,
		       struct xp_diags *d);
int xp__pxe_local_extract(const char *disk, const struct xp__pxe_local *l, const char *path, int fd,
			  struct xp_diags *d);
void xp__pxe_local_free(struct xp__pxe_local *l);

#endif
