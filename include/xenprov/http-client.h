/*
 * xenprov/http-client.h - one HTTP(S) request through libcurl: what the network
 * bootloader fetches (kernels, initrds, pxelinux configs) and what `xenprov install`
 * asks a remote `xenprov serve` (its JSON API, golden images with ranges, a system
 * registered with the token). Certificates are always verified (the system's CAs, or
 * the caller's ca_file); only http:// and https:// are spoken, redirects included.
 *
 * Not here: which URL (the callers), the server (net/http.c).
 */
#ifndef XENPROV_HTTP_CLIENT_H
#define XENPROV_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/util.h"

/* The libcurl loaded at the first request (dlopen: the installer's initramfs copies it
 * too, installer-build.c). */
#ifndef XP_LIBCURL_SONAME
#define XP_LIBCURL_SONAME "libcurl.so.4"
#endif

struct xp_http_req {
	const char *url;
	const char *method; /* NULL: GET */
	const char *body;   /* the request's body (a JSON text), or NULL */
	size_t body_len;
	const char *token;   /* "Authorization: Bearer TOKEN", or NULL */
	/* with token: "X-Xenprov-System: NAME", the system whose install token it is (an
	 * autoinstall installer fetching its profile's golden image), or NULL */
	const char *grant_system;
	const char *ca_file; /* CA certificates for https, or NULL: the system's */
	uint64_t range_from; /* > 0: "Range: bytes=N-" (the server may send it all) */
	uint64_t max;	     /* the largest body taken (0: no limit); -EFBIG past it */
	/* how long the server may send nothing before the request is given up: seconds
	 * (0: 30), for an answer the server must first work out (a golden image prepared) */
	unsigned idle;
	/* A successful (2xx) response's body goes to write(ctx, offset, data, len) as it
	 * comes (offset counted from 0 of this response); a negative return stops the
	 * transfer with that error. NULL: the body is collected in xp_http_resp.body. */
	int (*write)(void *ctx, uint64_t off, const void *data, size_t len);
	void *ctx;
};

struct xp_http_resp {
	long status;	    /* the last response's status (after redirects); 0 if none */
	struct xp_buf body; /* without a writer: the body; and an error's (64 KiB at most) */
	uint64_t bytes;	    /* bytes of a 2xx body given to the writer or collected */
	/* a 206's Content-Range: the first byte sent and the whole size; else 0 and the
	 * Content-Length when known (-1 unknown) */
	bool ranged; /* the answer had a Content-Range (set before the body's first byte) */
	uint64_t range_start;
	int64_t total;
	char content_type[64]; /* the media type, lowercase, without parameters; "" none */
	char *error; /* a 4xx/5xx's message: the JSON body's "error", else its first line */
};

void xp_http_resp_release(struct xp_http_resp *r);

/* Performs q. 0 for a 2xx answer. An answer of 4xx/5xx: -ENOENT for 404 and 410 (no
 * diagnostic: a caller trying names decides), -EACCES for 401 and 403, -ERANGE for 416,
 * -EPROTO for the others, each (but -ENOENT) with a diagnostic "URL: MESSAGE" where
 * MESSAGE is the server's own (r->error) or its status. Transport failures: -EHOSTUNREACH
 * (a name not found, a connection refused), -EFBIG (over q->max), the writer's error,
 * -EIO (the rest: TLS, timeouts), each with a diagnostic. */
int xp_http_request(const struct xp_http_req *q, struct xp_http_resp *r, struct xp_diags *d);

#endif
