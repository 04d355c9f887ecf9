/*
 * http-client.c - one HTTP(S) request through libcurl (xenprov/http-client.h), shared by
 * the network bootloader's fetches (pxeboot/fetch.c) and `xenprov install`'s talk with a
 * remote server (install/). An error answer's body is kept (64 KiB at most) so that the
 * caller can show the server's own message, never only a status code; a success's body
 * never reaches the writer mixed with an error page.
 *
 * libcurl is loaded (dlopen) at the first request, not linked: with the thirty-odd
 * libraries it needs (TLS, Kerberos, LDAP, SSH, IDN...) it costs a program ~5 ms of CPU
 * in dynamic linking at every start (one linked with libext2fs and jansson starts in
 * 0.8 ms, 5.9 ms with libcurl added), which xenprov-pxeboot's local and TFTP boots
 * never use (bench/bootloader.sh). The build needs only its header.
 *
 * Not here: the URLs and what the bodies mean (the callers).
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/dlib.h"
#include "xenprov/http-client.h"

#define ERROR_BODY_MAX (64 * 1024)

struct ctx {
	const struct xp_http_req *q;
	struct xp_http_resp *r;
	CURL *h;
	int err; /* the writer's error */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static char curl_load_error[256]; /* why libcurl could not be loaded */

/* The functions of libcurl used here, typed by its own declarations (curl.h's
 * type-checking macros do not apply to calls through these pointers). */
static struct {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
} cu;

/* Loads libcurl (it stays loaded) and runs curl_global_init, once a process. */
static void curl_start(void)
{
	const struct xp_dlsym syms[] = {
	    XP_DLSYM(curl_global_init, cu.global_init),
	    XP_DLSYM(curl_easy_init, cu.easy_init),
	    XP_DLSYM(curl_easy_setopt, cu.easy_setopt),
	    XP_DLSYM(curl_easy_perform, cu.easy_perform),
	    XP_DLSYM(curl_easy_getinfo, cu.easy_getinfo),
	    XP_DLSYM(curl_easy_cleanup, cu.easy_cleanup),
	    XP_DLSYM(curl_easy_strerror, cu.easy_strerror),
	    XP_DLSYM(curl_slist_append, cu.slist_append),
	    XP_DLSYM(curl_slist_free_all, cu.slist_free_all),
	};
	if (xp_dlib_load(XP_LIBCURL_SONAME, syms, sizeof(syms) / sizeof(syms[0]), curl_load_error,
			 sizeof(curl_load_error)) == 0)
		curl_init_rc = cu.global_init(CURL_GLOBAL_DEFAULT);
}

void xp_http_resp_release(struct xp_http_resp *r)
{
	if (!r)
		return;
	xp_buf_release(&r->body);
	free(r->error);
	r->error = NULL;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct ctx *c = ud;
	size_t len = size * n;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (a redirect's) */
		c->r->ranged = false;
		c->r->range_start = 0;
		c->r->total = -1;
		c->r->content_type[0] = '\0';
		return len;
	}
	/* RFC 9110 8.3: the media type, without its parameters */
	if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
		const char *v = p + 13, *e = p + len;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		size_t l = 0;
		while (v + l < e && !strchr("; \t\r\n", v[l]))
			l++;
		if (l < sizeof(c->r->content_type))
			for (size_t i = 0; i <= l; i++)
				c->r->content_type[i] =
				    i < l ? (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i])
					  : '\0';
	}
	/* RFC 9110 14.4: "Content-Range: bytes FIRST-LAST/COMPLETE" */
	if (len > 14 && strncasecmp(p, "content-range:", 14) == 0) {
		uint64_t a, b, t;
		char line[128];
		size_t l = len - 14 < sizeof(line) - 1 ? len - 14 : sizeof(line) - 1;
		memcpy(line, p + 14, l);
		line[l] = '\0';
		if (sscanf(line, " bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64, &a, &b, &t) == 3 &&
		    a <= b && b < t && t <= INT64_MAX) {
			c->r->ranged = true;
			c->r->range_start = a;
			c->r->total = (int64_t)t;
		}
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct ctx *c = ud;
	size_t len = size * n;
	long code = 0;
	cu.easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) { /* an error page: kept for its message, never data */
		size_t room = ERROR_BODY_MAX - c->r->body.len;
		if (c->r->body.len < ERROR_BODY_MAX)
			xp_buf_add(&c->r->body, p, len < room ? len : room);
		return len;
	}
	if (c->q->max && c->r->bytes + len > c->q->max) {
		c->err = -EFBIG;
		return 0;
	}
	int e;
	if (c->q->write) {
		e = c->q->write(c->q->ctx, c->r->bytes, p, len);
	} else {
		xp_buf_add(&c->r->body, p, len);
		e = xp_buf_error(&c->r->body);
	}
	if (e < 0) {
		c->err = e;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	c->r->bytes += len;
	return len;
}

/* The server's own words: xenprov serve answers {"error": MSG}; others a page, whose
 * first line (control bytes escaped) stands for it. */
static char *error_message(const struct xp_buf *b)
{
	if (!b->len)
		return NULL;
	json_t *o = json_loadb(b->s, b->len, 0, NULL);
	json_t *e = json_object_get(o, "error");
	char *m = json_is_string(e) ? strdup(json_string_value(e)) : NULL;
	json_decref(o);
	if (m)
		return m;
	size_t l = strcspn(b->s, "\r\n");
	if (l > 200)
		l = 200;
	char out[4 * 200 + 1];
	xp_escape(out, sizeof(out), b->s, l);
	return out[0] ? strdup(out) : NULL;
}

int xp_http_request(const struct xp_http_req *q, struct xp_http_resp *r, struct xp_diags *d)
{
	memset(r, 0, sizeof(*r));
	r->total = -1;
	pthread_once(&curl_once, curl_start);
	if (curl_load_error[0])
		return xp_diags_fail(d, -ENOENT, NULL, "http", "install libcurl4",
				     "cannot load libcurl for %s: %s", q->url, curl_load_error);
	if (curl_init_rc != CURLE_OK)
		return xp_diags_fail(d, -ENOMEM, NULL, "http", NULL, "cannot start libcurl");
	CURL *h = cu.easy_init();
	if (!h)
		return xp_diags_fail(d, -ENOMEM, NULL, "http", NULL, "cannot start libcurl");
	struct ctx c = {.q = q, .r = r, .h = h};
	struct curl_slist *hdr = NULL;
	char err[CURL_ERROR_SIZE] = "", range[48], *auth = NULL, *grant = NULL;
	cu.easy_setopt(h, CURLOPT_URL, q->url);
	cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(h, CURLOPT_WRITEDATA, &c);
	cu.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(h, CURLOPT_HEADERDATA, &c);
	cu.easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	cu.easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	/* a server that stops sending: under 1 KB/s for 30 s (or q->idle) ends it */
	cu.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	cu.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, q->idle ? (long)q->idle : 30L);
	cu.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	cu.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (q->write) /* large files: fewer, larger writes */
		cu.easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
	if (q->ca_file)
		cu.easy_setopt(h, CURLOPT_CAINFO, q->ca_file);
	if (q->method && strcmp(q->method, "GET") != 0)
		cu.easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->body) {
		cu.easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
		cu.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
		hdr = cu.slist_append(hdr, "Content-Type: application/json");
	}
	if (q->token) {
		if (asprintf(&auth, "Authorization: Bearer %s", q->token) < 0) {
			auth = NULL;
			cu.easy_cleanup(h);
			return -ENOMEM;
		}
		hdr = cu.slist_append(hdr, auth);
		/* the token goes to the server named, never to where it redirects */
		cu.easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
		if (q->grant_system) {
			if (asprintf(&grant, "X-Xenprov-System: %s", q->grant_system) < 0) {
				free(auth);
				cu.slist_free_all(hdr);
				cu.easy_cleanup(h);
				return -ENOMEM;
			}
			hdr = cu.slist_append(hdr, grant);
		}
	}
	if (hdr)
		cu.easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (q->range_from) {
		snprintf(range, sizeof(range), "%" PRIu64 "-", q->range_from);
		cu.easy_setopt(h, CURLOPT_RANGE, range);
	}
	CURLcode cr = cu.easy_perform(h);
	cu.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (!r->ranged) {
		curl_off_t cl = -1;
		cu.easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		r->total = cl >= 0 ? (int64_t)cl : -1;
	}
	cu.easy_cleanup(h);
	cu.slist_free_all(hdr);
	free(auth);
	free(grant);
	if (cr == CURLE_WRITE_ERROR && c.err == -EFBIG)
		return xp_diags_fail(d, -EFBIG, NULL, "http", NULL,
				     "%s: larger than %" PRIu64 " bytes", q->url, q->max);
	if (cr == CURLE_WRITE_ERROR && c.err)
		return xp_diags_fail(d, c.err, NULL, "write", NULL, "%s: cannot store the data: %s",
				     q->url, strerror(-c.err));
	if (cr != CURLE_OK)
		return xp_diags_fail(
		    d,
		    cr == CURLE_COULDNT_RESOLVE_HOST || cr == CURLE_COULDNT_CONNECT ? -EHOSTUNREACH
										    : -EIO,
		    NULL, "http", NULL, "%s: %s", q->url, *err ? err : cu.easy_strerror(cr));
	if (r->status >= 200 && r->status <= 299)
		return 0;
	r->error = error_message(&r->body);
	if (r->status == 404 || r->status == 410)
		return -ENOENT;
	int e = r->status == 401 || r->status == 403 ? -EACCES
		: r->status == 416		     ? -ERANGE
						     : -EPROTO;
	if (r->error)
		return xp_diags_fail(d, e, NULL, "http", NULL, "%s: %s (HTTP %ld)", q->url,
				     r->error, r->status);
	return xp_diags_fail(d, e, NULL, "http", NULL, "%s: the server answered HTTP %ld", q->url,
			     r->status);
}
