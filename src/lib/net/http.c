/*
 * http.c - the HTTP service (libmicrohttpd, in a thread of its own): the same boot
 * files as TFTP (boot.h) with byte ranges (RFC 9110 section 14: one range per request;
 * several are answered with the whole file, which the RFC allows), and a JSON API of
 * the inventory under /api/: distros, profiles and systems. Reading needs no
 * credentials, so no answer ever holds a secret (profiles' secret keys are withheld,
 * token or not); changing (PUT and DELETE of distros and systems) needs
 * "Authorization: Bearer TOKEN", the token being the contents of STATE/api-token
 * (made, mode 0600, at the first start).
 *
 * The thread has its own inventory connection and boot-file resolver (SQLite handles
 * are not shared between threads) and notices inventory changes the way the main loop
 * does, through the database's data_version.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "xenprov/inventory.h"
#include "xenprov/leases.h"

#define MAX_BODY (64 * 1024)

/* With --interface: a listening socket per interface (SO_BINDTODEVICE), accepted in the
 * main loop and handed to libmicrohttpd, which takes one listening socket at most. */
struct hlisten {
	struct watch w; /* first */
	struct http_srv *h;
};

struct http_srv {
	struct serve *s;
	int fd;		    /* the one listening socket (no --interface), until MHD has it */
	struct hlisten *ls; /* or these, one per interface */
	size_t n_ls;
	uint16_t port;
	struct MHD_Daemon *d;
	/* owned by the MHD thread once started */
	struct xp_inv *inv;
	struct xp_boot *boot;
	struct xp_settings settings;
	int64_t data_version;
	char token[65];
};

struct request {
	struct xp_buf body;
	bool seen; /* the access handler's first call is past */
	bool too_big;
	bool nul; /* "%00" in the request target */
};

/* ---- responses ---------------------------------------------------------------------- */

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO;
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *type,
				  const char *text, size_t len)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return queue(c, status, resp);
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(v);
	if (!text)
		return MHD_NO;
	size_t len = strlen(text);
	text[len] = '\0';
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, text);
	xp_buf_adds(&b, "\n");
	free(text);
	enum MHD_Result r = reply_text(c, status, "application/json", b.s, b.len);
	xp_buf_release(&b);
	return r;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return reply_json(c, status, json_pack("{s:s}", "error", msg));
}

/* ---- boot files ----------------------------------------------------------------------- */

/* Decimal digits, at least one; a value past 2^64 - 1 saturates (a last-pos beyond
 * any file is still a valid range: it is cut to the file's end). */
static bool range_number(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
	}
	*p = s;
	*v = n;
	return true;
}

int xp__http_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	/* RFC 9110 14.1: the unit is case-insensitive; other units are ignored (14.2) */
	if (!h || strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0;
	const char *p = h + 6;
	uint64_t a, b;
	if (*p == '-') { /* suffix-range: the last N bytes */
		p++;
		if (!range_number(&p, &b) || *p)
			return -1; /* "bytes=-", "bytes=--1", "bytes=-1x" */
		if (b == 0 || size == 0)
			return -1;
		*len = b < size ? b : size;
		*off = size - *len;
		return 1;
	}
	if (!range_number(&p, &a) || *p++ != '-')
		return -1;
	b = UINT64_MAX;
	if (*p && (!range_number(&p, &b) || *p))
		return -1;
	if (b < a || a >= size) /* "last-pos >= first-pos" (14.1.1); past the end */
		return -1;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

static void refresh(struct http_srv *h)
{
	int64_t v;
	if (xp_inv_data_version(h->inv, &v) < 0 || v == h->data_version)
		return;
	h->data_version = v;
	struct xp_settings st = {0};
	if (xp_server_settings_get(h->inv, &st) < 0)
		return;
	/* most changes are the DHCP side's lease writes or new systems: the resolver
	 * reads those itself; only other settings need a new one */
	if (xp_settings_equal(&st, &h->settings)) {
		xp_settings_release(&st);
		return;
	}
	struct xp_boot *b;
	if (serve_open_boot(h->s, &st, h->inv, &b) == 0) {
		xp_boot_free(h->boot);
		h->boot = b;
	}
	xp_settings_release(&h->settings);
	h->settings = st;
}

static enum MHD_Result serve_file(struct http_srv *h, struct MHD_Connection *c, const char *path)
{
	struct xp_bootfile f;
	int r = h->boot ? xp_boot_open(h->boot, path, &f) : -ENOENT;
	if (r < 0) {
		if (r == -ENOENT)
			return reply_text(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
		if (r == -EACCES || r == -EINVAL)
			return reply_text(c, MHD_HTTP_FORBIDDEN, "text/plain", "forbidden\n", 10);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
				  "cannot read the file\n", 21);
	}
	uint64_t size = f.fd >= 0 ? f.size : f.data.len;
	uint64_t off = 0, len = size;
	int rg =
	    xp__http_range(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE),
			   size, &off, &len);
	char cr[96];
	if (rg < 0) {
		xp_bootfile_release(&f);
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
		if (resp)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		return queue(c, 416, resp);
	}
	struct MHD_Response *resp;
	if (f.fd >= 0) {
		resp = MHD_create_response_from_fd_at_offset64(len, f.fd, off);
		if (resp)
			f.fd = -1; /* the response closes it */
	} else {
		resp = MHD_create_response_from_buffer((size_t)len, f.data.s + off,
						       MHD_RESPMEM_MUST_COPY);
	}
	if (resp) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f.type);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
		if (rg > 0) {
			snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
				 off + len - 1, size);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		}
	}
	xp_bootfile_release(&f);
	return queue(c, rg > 0 ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp);
}

/* ---- the JSON API ----------------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *distro_json(const struct xp_distro *d)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:I, s:I}", "name", d->name,
			 "kernel", str_or_null(d->kernel), "initrd", str_or_null(d->initrd),
			 "kernel_sha256", str_or_null(d->kernel_sha256), "initrd_sha256",
			 str_or_null(d->initrd_sha256), "arch", str_or_null(d->arch),
			 "kernel_options", str_or_null(d->kernel_options), "served",
			 xp_distro_in_store(d), "created", (json_int_t)d->created, "updated",
			 (json_int_t)d->updated);
}

static json_t *system_json(const struct xp_system *s)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:I, s:I}", "name", s->name,
			 "mac", str_or_null(s->mac), "ip", str_or_null(s->ip), "profile",
			 str_or_null(s->profile), "distro", str_or_null(s->distro), "hostname",
			 str_or_null(s->hostname), "netboot", s->netboot, "kernel_options",
			 str_or_null(s->kernel_options), "created", (json_int_t)s->created,
			 "updated", (json_int_t)s->updated);
}

/* A profile's values as the API shows them, to anyone, token or not: never a secret
 * key's (XP_KEY_SECRET, profile.c's key table); its name goes to withheld instead, so
 * that a client can tell "set" from "unset" without learning the value. */
static json_t *settings_json(const struct xp_settings *st, json_t *withheld)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < st->n; i++) {
		const char *k = st->v[i].key;
		if (!xp_profile_key_secret(k)) {
			json_object_set_new(o, k, json_string(st->v[i].value));
			continue;
		}
		bool listed = false;
		for (size_t j = 0; j < json_array_size(withheld); j++)
			listed |= strcmp(json_string_value(json_array_get(withheld, j)), k) == 0;
		if (!listed)
			json_array_append_new(withheld, json_string(k));
	}
	return o;
}

static json_t *profile_json(struct xp_inv *inv, const struct xp_profile *p)
{
	struct xp_settings eff = {0};
	json_t *withheld = json_array();
	json_t *o = json_pack("{s:s, s:o, s:o, s:I, s:I}", "name", p->name, "parent",
			      str_or_null(p->parent), "settings", settings_json(&p->set, withheld),
			      "created", (json_int_t)p->created, "updated", (json_int_t)p->updated);
	if (o && xp_profile_resolve(inv, p->name, &eff) == 0)
		json_object_set_new(o, "effective", settings_json(&eff, withheld));
	if (o)
		json_object_set(o, "withheld", withheld);
	json_decref(withheld);
	xp_settings_release(&eff);
	return o;
}

enum kind { K_DISTROS, K_PROFILES, K_SYSTEMS };

static json_t *one(struct http_srv *h, enum kind k, const char *name, int *r)
{
	json_t *v = NULL;
	if (k == K_DISTROS) {
		struct xp_distro d = {0};
		if ((*r = xp_distro_get(h->inv, name, &d)) == 0)
			v = distro_json(&d);
		xp_distro_release(&d);
	} else if (k == K_SYSTEMS) {
		struct xp_system s = {0};
		if ((*r = xp_system_get(h->inv, name, &s)) == 0)
			v = system_json(&s);
		xp_system_release(&s);
	} else {
		struct xp_profile p = {0};
		if ((*r = xp_profile_get(h->inv, name, &p)) == 0)
			v = profile_json(h->inv, &p);
		xp_profile_release(&p);
	}
	return v;
}

static enum MHD_Result api_get(struct http_srv *h, struct MHD_Connection *c, enum kind k,
			       const char *name)
{
	int r;
	if (name) {
		json_t *v = one(h, k, name, &r);
		if (!v)
			return r == -ENOENT ? reply_error(c, MHD_HTTP_NOT_FOUND, "no such entry")
					    : reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
							  "cannot read the inventory");
		return reply_json(c, MHD_HTTP_OK, v);
	}
	char **names;
	size_t n;
	r = k == K_DISTROS   ? xp_distro_list(h->inv, &names, &n)
	    : k == K_SYSTEMS ? xp_system_list(h->inv, &names, &n)
			     : xp_profile_list(h->inv, &names, &n);
	if (r < 0)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the inventory");
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		json_t *v = one(h, k, names[i], &r);
		if (v)
			json_array_append_new(a, v);
	}
	xp_strv_free(names, n);
	return reply_json(c, MHD_HTTP_OK, a);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static enum MHD_Result diags_reply(struct MHD_Connection *c, unsigned status,
				   const struct xp_diags *d, const char *fallback)
{
	const char *msg = d->n ? d->v[0].msg : fallback;
	return reply_error(c, status, msg);
}

static enum MHD_Result api_put(struct http_srv *h, struct MHD_Connection *c, enum kind k,
			       const char *name, const struct xp_buf *body)
{
	json_error_t je;
	json_t *o = json_loadb(body->s ? body->s : "", body->len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "the body is not a JSON object");
	}
	struct xp_diags d = {0};
	int r;
	bool exists;
	if (k == K_DISTROS) {
		struct xp_distro cur = {0};
		exists = xp_distro_get(h->inv, name, &cur) == 0;
		xp_distro_release(&cur);
		struct xp_distro x = {
		    .name = (char *)name,
		    .kernel = (char *)jstr(o, "kernel"),
		    .initrd = (char *)jstr(o, "initrd"),
		    .arch = (char *)jstr(o, "arch"),
		    .kernel_options = (char *)jstr(o, "kernel_options"),
		};
		/* whoever holds the token names only files beneath the roots the operator
		 * allowed (XP_DISTRO_CONFINED), or "sha256:HEX" of the store */
		r = exists ? xp_distro_update(h->inv, &x, XP_DISTRO_CONFINED, &d)
			   : xp_distro_add(h->inv, &x, XP_DISTRO_CONFINED, &d);
	} else {
		struct xp_system cur = {0};
		exists = xp_system_get(h->inv, name, &cur) == 0;
		xp_system_release(&cur);
		json_t *nb = json_object_get(o, "netboot");
		struct xp_system x = {
		    .name = (char *)name,
		    .mac = (char *)jstr(o, "mac"),
		    .ip = (char *)jstr(o, "ip"),
		    .profile = (char *)jstr(o, "profile"),
		    .distro = (char *)jstr(o, "distro"),
		    .hostname = (char *)jstr(o, "hostname"),
		    .netboot = nb ? json_is_true(nb) : true,
		    .kernel_options = (char *)jstr(o, "kernel_options"),
		};
		r = exists ? xp_system_update(h->inv, &x, &d) : xp_system_add(h->inv, &x, &d);
	}
	json_decref(o);
	enum MHD_Result res;
	if (r == 0) {
		json_t *v = one(h, k, name, &r);
		res = reply_json(c, exists ? MHD_HTTP_OK : MHD_HTTP_CREATED, v);
	} else if (r == -EINVAL) {
		res = diags_reply(c, MHD_HTTP_BAD_REQUEST, &d, "invalid entry");
	} else if (r == -EACCES) {
		res = diags_reply(c, MHD_HTTP_FORBIDDEN, &d, "a file the API may not take");
	} else if (r == -EEXIST) {
		res = diags_reply(c, MHD_HTTP_CONFLICT, &d, "the MAC or IP is taken");
	} else if (r == -ENOENT) {
		res = diags_reply(c, 422, &d, "the profile or distro named does not exist");
	} else {
		res = reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot write the inventory");
	}
	xp_diags_release(&d);
	return res;
}

static enum MHD_Result api_delete(struct http_srv *h, struct MHD_Connection *c, enum kind k,
				  const char *name)
{
	int r = k == K_DISTROS ? xp_distro_remove(h->inv, name) : xp_system_remove(h->inv, name);
	if (r == 0)
		return reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "removed", name));
	if (r == -ENOENT)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such entry");
	if (r == -EBUSY)
		return reply_error(c, MHD_HTTP_CONFLICT, "still in use");
	return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot write the inventory");
}

static bool authorized(struct http_srv *h, struct MHD_Connection *c)
{
	const char *a =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!a || strncmp(a, "Bearer ", 7) != 0)
		return false;
	a += 7;
	size_t n = strlen(a);
	if (n != strlen(h->token))
		return false;
	unsigned char diff = 0; /* the same time whatever the first wrong byte */
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ h->token[i]);
	return diff == 0;
}

static enum MHD_Result api_leases(struct http_srv *h, struct MHD_Connection *c)
{
	struct xp_dhcp_lease *v;
	size_t n;
	if (xp_lease_load(h->inv, &v, &n) < 0)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the leases");
	static const char *const states[] = {"bound", "released", "declined"};
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		char ip[INET_ADDRSTRLEN], mac[18];
		struct in_addr ia = {htonl(v[i].ip)};
		inet_ntop(AF_INET, &ia, ip, sizeof(ip));
		const uint8_t *m = v[i].mac;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		json_array_append_new(
		    a,
		    json_pack("{s:s, s:s, s:o, s:s, s:I}", "ip", ip, "mac", mac, "hostname",
			      v[i].hostname[0] ? json_string(v[i].hostname) : json_null(), "state",
			      states[v[i].state % 3], "expires", (json_int_t)v[i].expires));
	}
	free(v);
	return reply_json(c, MHD_HTTP_OK, a);
}

static enum MHD_Result api(struct http_srv *h, struct MHD_Connection *c, const char *method,
			   const char *rest, const struct xp_buf *body)
{
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only");
		return reply_json(c, MHD_HTTP_OK,
				  json_pack("{s:s, s:[s,s,s,s]}", "version", XP_VERSION,
					    "collections", "/api/distros", "/api/profiles",
					    "/api/systems", "/api/leases"));
	}
	if (strcmp(rest, "/leases") == 0 || strcmp(rest, "/leases/") == 0) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "leases are read-only");
		return api_leases(h, c);
	}
	enum kind k;
	const char *p = rest + 1;
	size_t l;
	if (strncmp(p, "distros", l = 7) == 0)
		k = K_DISTROS;
	else if (strncmp(p, "profiles", l = 8) == 0)
		k = K_PROFILES;
	else if (strncmp(p, "systems", l = 7) == 0)
		k = K_SYSTEMS;
	else
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such collection");
	p += l;
	const char *name = NULL;
	if (*p == '/' && p[1]) {
		name = p + 1;
		if (strchr(name, '/'))
			return reply_error(c, MHD_HTTP_NOT_FOUND, "no such entry");
	} else if (*p && strcmp(p, "/") != 0) {
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such collection");
	}
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return api_get(h, c, k, name);
	bool put = strcmp(method, "PUT") == 0, del = strcmp(method, "DELETE") == 0;
	if ((!put && !del) || !name || k == K_PROFILES)
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				   k == K_PROFILES ? "profiles are changed with 'xenprov profile'"
						   : "use GET, or PUT/DELETE on one entry");
	if (!authorized(h, c))
		return reply_error(c, MHD_HTTP_UNAUTHORIZED,
				   "changes need 'Authorization: Bearer TOKEN' (STATE/api-token)");
	return put ? api_put(h, c, k, name, body) : api_delete(h, c, k, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct http_srv *h = cls;
	struct request *rq = *con_cls;
	if (!rq) { /* on_uri could not make it */
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		*con_cls = rq;
	}
	if (!rq->seen) {
		rq->seen = true;
		/* libmicrohttpd decodes %00 into a NUL that would end the path early
		 * ("pxelinux.0%00.txt" served as pxelinux.0): no such name is valid */
		static const char nul_msg[] = "bad request: %00 in the path\n";
		if (rq->nul)
			return reply_text(c, MHD_HTTP_BAD_REQUEST, "text/plain", nul_msg,
					  sizeof(nul_msg) - 1);
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->body.len + *upload_size > MAX_BODY)
			rq->too_big = true;
		else
			xp_buf_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return reply_error(c, 413, "the body is over 64 KiB");
	refresh(h);
	if (strncmp(url, "/api", 4) == 0 && (url[4] == '\0' || url[4] == '/'))
		return api(h, c, method, url + 4, &rq->body);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				  "boot files are read-only\n", 25);
	return serve_file(h, c, url);
}

/* Called with the request target as the client sent it, before libmicrohttpd decodes
 * it: the one place a %00 can still be seen. Its result is the request's con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	struct request *rq = calloc(1, sizeof(*rq));
	if (rq && uri) /* the path only: the query is never read */
		rq->nul = memmem(uri, strcspn(uri, "?"), "%00", 3) != NULL;
	return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct request *rq = *con_cls;
	if (rq) {
		xp_buf_release(&rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* libmicrohttpd's messages may quote what a client sent: limited and escaped like
 * every line about a request (serve.c) */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_srv *h = cls;
	serve_vlimited(h->s, SRC_HTTP, LOG_DEBUG, fmt, ap);
}

/* ---- life cycle ----------------------------------------------------------------------- */

static int load_token(struct http_srv *h)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/api-token", h->s->opts->state_dir);
	char *text;
	size_t len;
	int r = xp_read_file(path, 4096, &text, &len);
	if (r == -ENOENT) {
		uint8_t raw[32];
		if ((r = xp_getrandom(NULL, raw, sizeof(raw))) < 0)
			return r;
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(h->token + 2 * i, 3, "%02x", raw[i]);
		char line[80];
		int n = snprintf(line, sizeof(line), "%s\n", h->token);
		return xp_write_atomic(path, line, (size_t)n, 0600);
	}
	if (r < 0)
		return r;
	size_t n = 0;
	while (n < len && text[n] > ' ')
		n++;
	if (n < 16 || n >= sizeof(h->token)) {
		free(text); /* a token cut short would never match: refuse it */
		return -EINVAL;
	}
	memcpy(h->token, text, n);
	h->token[n] = '\0';
	free(text);
	return 0;
}

/* A listening TCP socket on the HTTP port: every address, or (ifname) only what
 * arrives on that interface. */
static int listen_on(struct http_srv *h, const char *ifname, int *ret)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (ifname ? SOCK_NONBLOCK : 0), 0);
	*ret = fd;
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(h->port)};
	if ((ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
				  (socklen_t)strlen(ifname) + 1) < 0) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0) {
		int r = -errno;
		serve_log(h->s, LOG_ERR, "http: cannot listen on TCP port %u%s%s: %s", h->port,
			  ifname ? " of " : "", ifname ? ifname : "", strerror(-r));
		return r;
	}
	return 0;
}

/* A connection on one of the per-interface sockets: libmicrohttpd's from here on (it
 * may be given connections from another thread: MHD_USE_ITC). */
static void on_accept(struct serve *s, struct watch *w, uint32_t events)
{
	(void)events;
	struct hlisten *l = (struct hlisten *)w;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd =
		    accept4(w->fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				serve_limited(s, SRC_HTTP, LOG_WARNING, "accept: %s",
					      strerror(errno));
			return;
		}
		/* on failure MHD closes the socket itself */
		if (MHD_add_connection(l->h->d, fd, (struct sockaddr *)&peer, len) != MHD_YES)
			serve_limited(s, SRC_HTTP, LOG_WARNING,
				      "a connection was refused (limit reached?)");
	}
}

int http_srv_bind(struct serve *s, struct http_srv **ret)
{
	struct http_srv *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->s = s;
	h->fd = -1;
	h->port = serve_http_port(s, &s->settings);
	int r = load_token(h);
	if (r < 0) {
		serve_log(s, LOG_ERR, "cannot read or make the API token '%s/api-token': %s",
			  s->opts->state_dir,
			  r == -EINVAL ? "it must be 16 to 64 characters" : strerror(-r));
		goto fail;
	}
	if ((r = xp_inv_open(s->opts->state_dir, &h->inv)) < 0 ||
	    (r = xp_server_settings_get(h->inv, &h->settings)) < 0)
		goto fail;
	xp_inv_data_version(h->inv, &h->data_version);
	if ((r = serve_open_boot(s, &h->settings, h->inv, &h->boot)) < 0)
		goto fail;
	if (s->all_ifaces) {
		if ((r = listen_on(h, NULL, &h->fd)) < 0)
			goto fail;
	} else {
		h->ls = calloc(s->n_ifaces, sizeof(*h->ls));
		if (!h->ls) {
			r = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < s->n_ifaces; i++) {
			struct hlisten *l = &h->ls[h->n_ls++];
			l->h = h;
			l->w.ready = on_accept;
			if ((r = listen_on(h, s->ifaces[i].name, &l->w.fd)) < 0)
				goto fail;
		}
	}
	*ret = h;
	return 0;
fail:
	http_srv_close(h);
	return r;
}

int http_srv_start(struct http_srv *h)
{
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	/* MHD listens on the one socket; or on none, and the main loop gives it what the
	 * per-interface sockets accept */
	struct MHD_OptionItem opts[] = {
	    {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, h},
	    {MHD_OPTION_CONNECTION_LIMIT, 1024, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, h},
	    {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, h},
	    {h->n_ls ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, h->fd, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	if (h->n_ls)
		flags |= MHD_USE_NO_LISTEN_SOCKET;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
	if (!h->d) {
		serve_log(h->s, LOG_ERR, "http: cannot start the server");
		return -EIO;
	}
	h->fd = -1; /* MHD's now */
	for (size_t i = 0; i < h->n_ls; i++) {
		int r = serve_watch(h->s, &h->ls[i].w, EPOLLIN);
		if (r < 0)
			return r;
	}
	return 0;
}

static void close_listeners(struct http_srv *h)
{
	for (size_t i = 0; i < h->n_ls; i++) {
		if (h->ls[i].w.fd < 0)
			continue;
		serve_unwatch(h->s, &h->ls[i].w);
		close(h->ls[i].w.fd);
		h->ls[i].w.fd = -1;
	}
}

void http_srv_quiesce(struct http_srv *h)
{
	if (!h->d)
		return;
	close_listeners(h);
	if (h->n_ls)
		return;
	MHD_socket fd = MHD_quiesce_daemon(h->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

size_t http_srv_connections(struct http_srv *h)
{
	if (!h->d)
		return 0;
	const union MHD_DaemonInfo *i =
	    MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return i ? i->num_connections : 0;
}

void http_srv_close(struct http_srv *h)
{
	if (!h)
		return;
	close_listeners(h);
	free(h->ls);
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->fd >= 0)
		close(h->fd);
	xp_boot_free(h->boot);
	xp_settings_release(&h->settings);
	xp_inv_close(h->inv);
	free(h);
}
