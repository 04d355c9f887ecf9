/*
 * fetch.c - one file by URL for the bootloader: tftp:// through the client engine
 * (proto/tftp-client.c) on a UDP socket of its own, http:// and https:// through
 * libcurl. The data go to the caller's sink as they arrive.
 *
 * libcurl is loaded (dlopen) when the first http:// or https:// URL is fetched, not
 * linked: with the thirty-odd libraries it needs (TLS, Kerberos, LDAP, SSH, IDN...) it
 * costs xenprov-pxeboot ~5 ms of CPU in dynamic linking at every start (a program
 * linked with libext2fs and jansson starts in 0.8 ms, 5.9 ms with libcurl added), which
 * a local boot (--local, LOCALBOOT) and a TFTP boot never use.
 *
 * Not here: which URL (pxeboot.c), the protocol engine.
 *
 * TFTP transfer IDs (RFC 1350 section 4): the request goes to port 69 (or the URL's);
 * the port of the first answer is the server's TID, the socket is then connected to
 * it, and a packet from any other port gets ERROR 5 and changes nothing.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>
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

struct http_ctx {
	const struct xp_tftp_sink *sink;
	uint64_t off;
	int err;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct http_ctx *h = ctx;
	size_t len = size * n;
	int r = h->sink->write(h->sink->ctx, h->off, p, len);
	if (r < 0) {
		h->err = r;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	h->off += len;
	return len;
}

#ifndef XP_LIBCURL_SONAME
#define XP_LIBCURL_SONAME "libcurl.so.4"
#endif

/* The functions of libcurl used here, typed by its own declarations (curl.h's
 * type-checking macros do not apply to calls through these pointers). */
static struct {
	bool inited; /* curl_global_init is not thread-safe; this runs in one thread */
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
} cu;

/* Loads libcurl and runs curl_global_init, once. */
static int curl_load(struct xp_diags *d)
{
	if (cu.inited)
		return 0;
	void *so = dlopen(XP_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!so)
		return xp_diags_fail(d, -ENOENT, NULL, "http", "install libcurl4",
				     "cannot load libcurl for an http:// URL: %s", dlerror());
	const struct {
		const char *name;
		void *to; /* a pointer to one of cu's function pointers */
	} syms[] = {
	    {"curl_global_init", &cu.global_init},     {"curl_easy_init", &cu.easy_init},
	    {"curl_easy_setopt", &cu.easy_setopt},     {"curl_easy_perform", &cu.easy_perform},
	    {"curl_easy_getinfo", &cu.easy_getinfo},   {"curl_easy_cleanup", &cu.easy_cleanup},
	    {"curl_easy_strerror", &cu.easy_strerror},
	};
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(so, syms[i].name);
		if (!f) {
			dlclose(so);
			return xp_diags_fail(d, -ENOENT, NULL, "http", NULL,
					     "cannot load libcurl for an http:// URL: %s has no %s",
					     XP_LIBCURL_SONAME, syms[i].name);
		}
		/* POSIX: a function's address from dlsym; memcpy, as ISO C has no
		 * conversion from void * to a function pointer */
		memcpy(syms[i].to, &f, sizeof(f));
	}
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		dlclose(so);
		return xp_diags_fail(d, -ENOMEM, NULL, "http", NULL, "cannot start libcurl");
	}
	cu.inited = true; /* the library stays loaded until the process ends */
	return 0;
}

static int http_get(const char *url, const struct xp_tftp_sink *sink, uint64_t max,
		    struct xp__fetch_stats *st, struct xp_diags *d)
{
	int lr = curl_load(d);
	if (lr < 0)
		return lr;
	CURL *h = cu.easy_init();
	if (!h)
		return xp_diags_fail(d, -ENOMEM, NULL, "http", NULL, "cannot start libcurl");
	struct http_ctx ctx = {.sink = sink};
	char err[CURL_ERROR_SIZE] = "";
	cu.easy_setopt(h, CURLOPT_URL, url);
	cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
	cu.easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(h, CURLOPT_FAILONERROR, 1L); /* an error page is never the file */
	cu.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	cu.easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	/* a server that stops sending: under 1 KB/s for 30 s ends it */
	cu.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	cu.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	if (max)
		cu.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	CURLcode cr = cu.easy_perform(h);
	long code = 0;
	cu.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	cu.easy_cleanup(h);
	if (st)
		*st = (struct xp__fetch_stats){.bytes = ctx.off};
	if (cr == CURLE_WRITE_ERROR && ctx.err)
		return xp_diags_fail(d, ctx.err, NULL, "write", NULL, "%s: cannot store the data: %s", url,
				     strerror(-ctx.err));
	if (cr == CURLE_FILESIZE_EXCEEDED || (cr == CURLE_OK && max && ctx.off > max))
		return xp_diags_fail(d, -EFBIG, NULL, "http", NULL, "%s: larger than %llu bytes", url,
				     (unsigned long long)max);
	if (cr == CURLE_HTTP_RETURNED_ERROR && (code == 404 || code == 410))
		return -ENOENT;
	if (cr == CURLE_HTTP_RETURNED_ERROR)
		return xp_diags_fail(d, code == 403 ? -EACCES : -EPROTO, NULL, "http", NULL,
				     "%s: the server answered HTTP %ld", url, code);
	if (cr != CURLE_OK)
		return xp_diags_fail(d, cr == CURLE_COULDNT_RESOLVE_HOST ? -EHOSTUNREACH : -EIO,
				     NULL, "http", NULL, "%s: %s", url,
				     *err ? err : cu.easy_strerror(cr));
	return 0;
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
