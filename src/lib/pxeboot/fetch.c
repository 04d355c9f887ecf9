/*
 * fetch.c - one file by URL for the bootloader: tftp:// through the client engine
 * (proto/tftp-client.c) on a UDP socket of its own, http:// and https:// through
 * libcurl (util/http-client.c, shared with `xenprov install`). The data go to the caller's
 * sink as they arrive.
 *
 * Not here: which URL (pxeboot.c), the protocol engine.
 *
 * TFTP transfer IDs (RFC 1350 section 4): the request goes to port 69 (or the URL's);
 * the port of the first answer is the server's TID, the socket is then connected to
 * it, and a packet from any other port gets ERROR 5 and changes nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pxeboot/pxeboot-internal.h"
#include "xenprov/http-client.h"

/* host and port of "tftp://HOST[:PORT]/NAME", and NAME (heap strings). */
static int split_tftp(const char *url, char **host, char **port, char **name)
{
	const char *h = url + 7, *slash = strchr(h, '/');
	if (!slash || slash == h || !slash[1])
		return -EINVAL;
	const char *colon = memchr(h, ':', (size_t)(slash - h));
	*host = strndup(h, (size_t)((colon ? colon : slash) - h));
	*port = colon ? strndup(colon + 1, (size_t)(slash - colon - 1)) : strdup("69");
	*name = strdup(slash + 1);
	if (!*host || !*port || !*name)
		return -ENOMEM;
	return 0;
}

static int tftp_get(const char *url, const struct xp_tftp_sink *sink, uint64_t max,
		    uint32_t blksize, uint32_t windowsize, struct xp__fetch_stats *st,
		    struct xp_diags *d)
{
	char *host = NULL, *port = NULL, *name = NULL;
	int r = split_tftp(url, &host, &port, &name);
	struct addrinfo *ai = NULL;
	struct xp_tftp_client *c = NULL;
	int fd = -1;
	if (r < 0) {
		r = r == -EINVAL ? xp_diags_fail(d, r, NULL, "url", NULL, "'%s' is not a TFTP URL", url)
				 : r;
		goto out;
	}
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g) {
		r = xp_diags_fail(d, -EHOSTUNREACH, NULL, "server", NULL, "cannot find TFTP server '%s': %s",
				  host, gai_strerror(g));
		goto out;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = xp_diags_fail(d, -errno, NULL, "socket", NULL, "cannot make a UDP socket: %s",
				  strerror(errno));
		goto out;
	}
	int rcvbuf = 4 << 20; /* a whole window of large blocks waits here */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct xp_tftp_client_opts o = {
	    .filename = name,
	    .blksize = blksize,
	    .windowsize = windowsize,
	    .tsize = true,
	    .max_size = max,
	};
	r = xp_tftp_client_new(&o, sink, xp__pxe_now_ms(), &c);
	if (r < 0) {
		r = xp_diags_fail(d, r, NULL, "url", NULL, "cannot ask for '%s' over TFTP", name);
		goto out;
	}
	struct sockaddr_in server = *(struct sockaddr_in *)ai->ai_addr;
	bool connected = false;
	static uint8_t pkt[65536 + 64]; /* one transfer at a time: no thread shares it */
	uint8_t out[XP_TFTP_NAME_MAX + 256];
	for (;;) {
		int64_t now = xp__pxe_now_ms();
		ssize_t n;
		while ((n = xp_tftp_client_next(c, out, sizeof(out), now)) > 0) {
			ssize_t s = connected ? send(fd, out, (size_t)n, 0)
					      : sendto(fd, out, (size_t)n, 0, (struct sockaddr *)&server,
						       sizeof(server));
			if (s < 0 && errno != EINTR && errno != ENOBUFS && errno != ECONNREFUSED) {
				r = xp_diags_fail(d, -errno, NULL, "socket", NULL,
						  "cannot send to TFTP server %s: %s", host, strerror(errno));
				goto out;
			}
		}
		enum xp_tftp_state state = xp_tftp_client_state(c);
		if (state == XP_TFTP_DONE)
			break;
		if (state == XP_TFTP_FAILED) {
			r = xp_tftp_client_errno(c);
			if (r != -ENOENT)
				xp_diags_fail(d, r, NULL, "tftp", NULL, "%s: %s", url,
					      xp_tftp_client_error(c));
			goto out;
		}
		int64_t dl = xp_tftp_client_deadline(c), wait = dl - xp__pxe_now_ms();
		if (wait < 0)
			wait = 0;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, wait > 60000 ? 60000 : (int)wait);
		if (pr <= 0)
			continue;
		for (;;) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t got = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from,
					       &fl);
			if (got < 0)
				break;
			if (!connected) {
				if (from.sin_addr.s_addr != server.sin_addr.s_addr)
					continue;
				server.sin_port = from.sin_port; /* the server's TID */
				if (connect(fd, (struct sockaddr *)&server, sizeof(server)) == 0)
					connected = true;
			} else if (from.sin_port != server.sin_port ||
				   from.sin_addr.s_addr != server.sin_addr.s_addr) {
				uint8_t e[64];
				size_t el = xp_tftp_build_error(e, sizeof(e), XP_TFTP_EBADID,
								"unknown transfer ID");
				(void)sendto(fd, e, el, 0, (struct sockaddr *)&from, fl);
				continue;
			}
			(void)xp_tftp_client_input(c, pkt, (size_t)got, xp__pxe_now_ms());
		}
	}
	/* the final ACK */
	ssize_t n = xp_tftp_client_next(c, out, sizeof(out), xp__pxe_now_ms());
	if (n > 0)
		(void)send(fd, out, (size_t)n, 0);
	if (st) {
		st->bytes = xp_tftp_client_bytes(c);
		st->blksize = xp_tftp_client_blksize(c);
		st->windowsize = xp_tftp_client_windowsize(c);
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	xp_tftp_client_free(c);
	free(host), free(port), free(name);
	return r;
}

/* http:// and https:// through the shared client (xenprov/http-client.h) */
static int http_get(const char *url, const struct xp_tftp_sink *sink, uint64_t max,
		    struct xp__fetch_stats *st, struct xp_diags *d)
{
	struct xp_http_req q = {.url = url, .max = max, .write = sink->write, .ctx = sink->ctx};
	struct xp_http_resp resp;
	int r = xp_http_request(&q, &resp, d);
	if (st)
		*st = (struct xp__fetch_stats){.bytes = resp.bytes};
	xp_http_resp_release(&resp);
	return r;
}

int xp__pxe_fetch(const char *url, const struct xp_tftp_sink *sink, uint64_t max,
		  uint32_t blksize, uint32_t windowsize, struct xp__fetch_stats *st,
		  struct xp_diags *d)
{
	if (!strncmp(url, "tftp://", 7))
		return tftp_get(url, sink, max, blksize, windowsize, st, d);
	if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
		return http_get(url, sink, max, st, d);
	return xp_diags_fail(d, -EINVAL, NULL, "url", NULL,
			     "'%s': only tftp://, http:// and https:// are fetched", url);
}
