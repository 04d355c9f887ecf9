/*
 * http.c - the HTTP service (libmicrohttpd, in a thread of its own): the same boot
 * files as TFTP (boot.h) with byte ranges (RFC 9110 section 14: one range per request;
 * several are answered with the whole file, which the RFC allows), and the requests
 * under /api/ handed to the JSON API of the inventory (http-api.c), those under
 * /autoinstall/ to the systems' rendered autoinstall files (http-autoinstall.c, served
 * to each system's own address only), those under /images/ to profiles' golden images
 * by content hash (http-images.c, read-only, for `xenprov install`, with the token
 * unless the profile publishes openly). Reading needs no credentials, so no answer
 * ever holds a secret (profiles' secret keys are withheld, token or not); changing
 * (PUT and DELETE of distros and systems) and golden images need "Authorization:
 * Bearer TOKEN", the token being the contents of STATE/api-token (made, mode 0600, at
 * the first start).
 *
 * The thread has its own inventory connection and boot-file resolver (SQLite handles
 * are not shared between threads) and notices inventory changes the way the main loop
 * does, through the database's data_version (on PostgreSQL, through the main loop's
 * count of the writers' notifications). On PostgreSQL the main loop, not a request,
 * resets that connection when it is lost; meanwhile, and while the database is away,
 * boot files come from the inventory's snapshot (serve-snapshot.c) and what needs the
 * database is answered 503 at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "net/http-internal.h"
#include "util/dlib.h"
#include "xenprov/inventory.h"

#define MAX_BODY (64 * 1024)

struct request {
	struct xp_buf body;
	bool seen; /* the access handler's first call is past */
	bool too_big;
	bool nul;	       /* "%00" in the request target */
	struct image_job *job; /* a golden image being prepared for it (http-images.c) */
	bool waited;	       /* it waited for the installer's build (installer-cache.c) */
	bool lost; /* PostgreSQL: its boot file not read, the connection lost: not answered */
};

/* ---- responses ---------------------------------------------------------------------- */

enum MHD_Result xp__http_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO;
	enum MHD_Result r = xp__mhd.queue_response(c, status, resp);
	xp__mhd.destroy_response(resp);
	return r;
}

enum MHD_Result xp__http_reply_text(struct MHD_Connection *c, unsigned status, const char *type,
				  const char *text, size_t len)
{
	struct MHD_Response *resp =
	    xp__mhd.create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (resp)
		xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return xp__http_queue(c, status, resp);
}

struct MHD_Response *xp__http_json_response(json_t *v)
{
	char *text = v ? json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(v);
	if (!text)
		return NULL;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, text);
	xp_buf_adds(&b, "\n");
	free(text);
	struct MHD_Response *resp =
	    b.s ? xp__mhd.create_response_from_buffer(b.len, b.s, MHD_RESPMEM_MUST_COPY) : NULL;
	if (resp)
		xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	xp_buf_release(&b);
	return resp;
}

enum MHD_Result xp__http_reply_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
	return xp__http_queue(c, status, xp__http_json_response(v));
}

enum MHD_Result xp__http_reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return xp__http_reply_json(c, status, json_pack("{s:s}", "error", msg));
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

int xp__http_inv_version(struct http_srv *h, int64_t *v)
{
	if (!h->pg)
		return xp_inv_data_version(h->inv, v);
	/* the change count the main loop keeps from the writers' notifications (serve.c) */
	*v = atomic_load(&h->s->changes);
	return 0;
}

int xp__http_srv_reconnect_start(struct http_srv *h, bool always)
{
	if (!h->pg || (!always && !atomic_load(&h->inv_lost)))
		return 0;
	if (pthread_mutex_trylock(&h->inv_lock) != 0) {
		/* a request holds it: reset alone once the others are back (pg_check) */
		atomic_store(&h->inv_lost, true);
		return -EBUSY;
	}
	int r = xp_inv_reconnect_start(h->inv);
	pthread_mutex_unlock(&h->inv_lock);
	h->reset_alone = !always;
	return r < 0 ? r : 1;
}

/* Without the lock: from the start on, this thread keeps off the connection until it is
 * done (serve.pg_away or inv_lost, each cleared only after that) */
int xp__http_srv_reconnect_poll(struct http_srv *h, int *fd, short *events)
{
	int r = xp_inv_reconnect_poll(h->inv, fd, events);
	if (r > 0) {
		atomic_store(&h->inv_lost, false);
		if (h->reset_alone)
			xp__serve_log(h->s, LOG_INFO, "http: reconnected to the inventory");
	}
	return r;
}

bool xp__http_srv_lost(struct http_srv *h)
{
	return h->pg && atomic_load(&h->inv_lost);
}

static void refresh(struct http_srv *h)
{
	int64_t v;
	int r = xp__http_inv_version(h, &v);
	if (r < 0 || v == h->data_version)
		return;
	h->data_version = v;
	struct xp_settings st = {0};
	if (xp__serve_settings_read(h->s, h->inv, &st) < 0)
		return;
	/* most changes are the DHCP side's lease writes or new systems: the resolver
	 * reads those itself; only other settings need a new one */
	if (xp_settings_equal(&st, &h->settings)) {
		xp_settings_release(&st);
		return;
	}
	struct xp_boot *b;
	if (xp__serve_open_boot(h->s, &st, h->inv, false, &b) == 0) {
		xp_boot_free(h->boot);
		h->boot = b;
	}
	xp_settings_release(&h->settings);
	h->settings = st;
}

static void wake_conn(void *c)
{
	xp__mhd.resume_connection(c);
}

static enum MHD_Result serve_file(struct http_srv *h, struct xp_boot *boot,
				  struct MHD_Connection *c, const char *path, struct request *rq)
{
	struct xp_bootfile f;
	uint32_t peer = 0;
	char peer_text[INET_ADDRSTRLEN] = "?";
	if (!xp__http_peer(c, &peer, peer_text))
		peer = 0;
	int r = boot ? xp_boot_open_from(boot, path, peer, &f) : -ENOENT;
	if (r == -EAGAIN && !rq->waited && h->s->icache) {
		/* the installer, being built on first use (installer-cache.c): the request
		 * waits for the build, suspended before the builder can wake it */
		rq->waited = true;
		xp__mhd.suspend_connection(c);
		int w = xp__installer_cache_wait(h->s->icache, wake_conn, c);
		if (w == 0) {
			xp__serve_limited(h->s, SRC_HTTP, LOG_INFO,
					  "'%s' for %s: waits for the installer's build", path,
					  peer_text);
			return MHD_YES;
		}
		xp__mhd.resume_connection(c); /* asked again at once: built meanwhile, or 503 */
		return MHD_YES;
	}
	if (r == -EAGAIN) { /* still: too many waiting, or the server stopping */
		static const char msg[] = "the installer is being built: try again\n";
		xp__serve_limited(h->s, SRC_HTTP, LOG_INFO,
				  "'%s' for %s: the installer is being built: 503", path, peer_text);
		struct MHD_Response *resp = xp__mhd.create_response_from_buffer(
		    sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
		if (resp) {
			xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						    "text/plain");
			xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "30");
		}
		return xp__http_queue(c, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
	}
	if (r < 0 && h->pg && boot == h->boot && xp_inv_lost(h->inv)) {
		rq->lost = true; /* the caller asks the snapshot */
		return MHD_YES;
	}
	if (r < 0) {
		if (r == -ENOENT)
			return xp__http_reply_text(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
		if (r == -EACCES || r == -EINVAL)
			return xp__http_reply_text(c, MHD_HTTP_FORBIDDEN, "text/plain", "forbidden\n", 10);
		/* the inventory, or the install key (STATE/install-key) of a marked system */
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING, "'%s' for %s: %s%s%s", path,
				  peer_text, strerror(-r), r == -EBADMSG ? ": " : "",
				  r == -EBADMSG && boot == h->boot ? xp_inv_errmsg(h->inv) : "");
		return xp__http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
				  "cannot read the file\n", 21);
	}
	if (f.local_system[0]) /* once per config fetched: once a boot */
		xp__serve_limited(h->s, SRC_HTTP, LOG_INFO,
				  "system '%s' (%s): netboot off, answered %s: boots locally",
				  f.local_system, peer_text, f.local_answer);
	uint64_t size = f.fd >= 0 ? f.size : f.data.len;
	enum MHD_Result res;
	if (f.fd >= 0) {
		res = xp__http_reply_range(c, f.fd, f.offset, size, NULL, f.type, NULL);
		f.fd = -1; /* xp__http_reply_range's */
	} else {
		res = xp__http_reply_range(c, -1, 0, size, f.data.s, f.type, NULL);
	}
	xp_bootfile_release(&f);
	return res;
}

enum MHD_Result xp__http_reply_range(struct MHD_Connection *c, int fd, uint64_t base, uint64_t size,
				     const char *data, const char *type, char range[96])
{
	uint64_t off = 0, len = size;
	int rg = xp__http_range(
	    xp__mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE), size, &off,
	    &len);
	char cr[96];
	if (range)
		snprintf(range, 96, rg < 0 ? "unsatisfiable range" : "bytes %" PRIu64 "-%" PRIu64,
			 off, len ? off + len - 1 : 0);
	if (rg < 0) {
		if (fd >= 0)
			close(fd);
		struct MHD_Response *resp =
		    xp__mhd.create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
		if (resp)
			xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		return xp__http_queue(c, 416, resp);
	}
	struct MHD_Response *resp;
	if (fd >= 0) {
		resp = xp__mhd.create_response_from_fd_at_offset64(len, fd, (int64_t)(base + off));
		if (!resp)
			close(fd); /* else the response closes it */
	} else {
		resp = xp__mhd.create_response_from_buffer((size_t)len, (void *)(data + off),
							   MHD_RESPMEM_MUST_COPY);
	}
	if (resp) {
		xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
		xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
		if (rg > 0) {
			snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
				 off + len - 1, size);
			xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		}
	}
	return xp__http_queue(c, rg > 0 ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp);
}

bool xp__http_peer(struct MHD_Connection *c, uint32_t *ip, char text[INET_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci =
	    xp__mhd.get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return false;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ci->client_addr;
	*ip = ntohl(sin->sin_addr.s_addr);
	inet_ntop(AF_INET, &sin->sin_addr, text, INET_ADDRSTRLEN);
	return true;
}

static enum MHD_Result read_only(struct MHD_Connection *c)
{
	return xp__http_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				   "boot files are read-only\n", 25);
}

static bool is_api(const char *url)
{
	return strncmp(url, "/api", 4) == 0 && (url[4] == '\0' || url[4] == '/');
}

static enum MHD_Result handle(struct http_srv *h, struct MHD_Connection *c, const char *url,
			      const char *method, struct request *rq)
{
	refresh(h);
	if (is_api(url))
		return xp__http_api(h, c, method, url + 4, &rq->body, &rq->job);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return read_only(c);
	if (strncmp(url, "/autoinstall/", 13) == 0)
		return xp__http_autoinstall(h, c, url + 13);
	if (strncmp(url, "/images/", 8) == 0)
		return xp__http_image(h, c, url + 8);
	return serve_file(h, h->boot, c, url, rq);
}

/* PostgreSQL away (or this thread's connection lost): boot configs and files from the
 * snapshot, read-only; what needs the database (the API, autoinstall files, golden
 * images and their grants) answered 503 at once. */
static enum MHD_Result handle_away(struct http_srv *h, struct MHD_Connection *c, const char *url,
				   const char *method, struct request *rq)
{
	static const char away_msg[] = "the inventory's database is out of reach: try again later";
	bool files = !is_api(url) && strncmp(url, "/autoinstall/", 13) != 0 &&
		     strncmp(url, "/images/", 8) != 0;
	if (files && strcmp(method, "GET") && strcmp(method, "HEAD"))
		return read_only(c);
	if (files && xp__snapshot_open(h->s, &h->settings, &h->snap) == 0) {
		enum MHD_Result res = serve_file(h, h->snap.boot, c, url, rq);
		/* closed at once (the answer holds its own copy or descriptor): a view left
		 * open would keep the next snapshots from replacing this one */
		xp__snapshot_close(h->s, &h->snap);
		return res;
	}
	struct MHD_Response *resp = xp__http_json_response(
	    json_pack("{s:s}", "error",
		      files ? "the inventory's database is out of reach and no snapshot of it "
			      "was taken: try again later"
			    : away_msg));
	if (resp)
		xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
	return xp__http_queue(c, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
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
			return xp__http_reply_text(c, MHD_HTTP_BAD_REQUEST, "text/plain", nul_msg,
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
		return xp__http_reply_error(c, 413, "the body is over 64 KiB");
	if (rq->job) /* resumed: the image worker has its answer */
		return xp__http_image_job_reply(h, c, rq->job);
	if (!h->pg)
		return handle(h, c, url, method, rq);
	/* PostgreSQL: the connection is the main loop's to reset while the database is
	 * away or it is lost (the lock is taken only then, never waited for there) */
	if (atomic_load(&h->s->pg_away) || atomic_load(&h->inv_lost))
		return handle_away(h, c, url, method, rq);
	pthread_mutex_lock(&h->inv_lock);
	enum MHD_Result res = MHD_NO;
	bool away = atomic_load(&h->s->pg_away);
	if (!away) {
		res = handle(h, c, url, method, rq);
		if (xp_inv_lost(h->inv))
			atomic_store(&h->inv_lost, true);
		away = rq->lost; /* asked again below, from the snapshot */
	}
	pthread_mutex_unlock(&h->inv_lock);
	return away ? handle_away(h, c, url, method, rq) : res;
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
		xp__http_image_job_free(rq->job);
		free(rq);
		*con_cls = NULL;
	}
}

/* libmicrohttpd's messages may quote what a client sent: limited and escaped like
 * every line about a request (serve.c) */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_srv *h = cls;
	xp__serve_vlimited(h->s, SRC_HTTP, LOG_DEBUG, fmt, ap);
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
		xp__serve_log(h->s, LOG_ERR, "http: cannot listen on TCP port %u%s%s: %s", h->port,
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
				xp__serve_limited(s, SRC_HTTP, LOG_WARNING, "accept: %s",
					      strerror(errno));
			return;
		}
		/* on failure MHD closes the socket itself */
		if (xp__mhd.add_connection(l->h->d, fd, (struct sockaddr *)&peer, len) != MHD_YES)
			xp__serve_limited(s, SRC_HTTP, LOG_WARNING,
				      "a connection was refused (limit reached?)");
	}
}

struct xp__mhd_api xp__mhd;

static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;
static char mhd_load_error[256]; /* why libmicrohttpd could not be loaded, "" once it is */

static void mhd_start(void)
{
	const struct xp_dlsym syms[] = {
	    XP_DLSYM(MHD_add_connection, xp__mhd.add_connection),
	    XP_DLSYM(MHD_add_response_header, xp__mhd.add_response_header),
	    XP_DLSYM(MHD_create_response_from_buffer, xp__mhd.create_response_from_buffer),
	    XP_DLSYM(MHD_create_response_from_callback, xp__mhd.create_response_from_callback),
	    XP_DLSYM(MHD_create_response_from_fd_at_offset64,
		     xp__mhd.create_response_from_fd_at_offset64),
	    XP_DLSYM(MHD_destroy_response, xp__mhd.destroy_response),
	    XP_DLSYM(MHD_get_connection_info, xp__mhd.get_connection_info),
	    XP_DLSYM(MHD_get_daemon_info, xp__mhd.get_daemon_info),
	    XP_DLSYM(MHD_lookup_connection_value, xp__mhd.lookup_connection_value),
	    XP_DLSYM(MHD_queue_response, xp__mhd.queue_response),
	    XP_DLSYM(MHD_quiesce_daemon, xp__mhd.quiesce_daemon),
	    XP_DLSYM(MHD_resume_connection, xp__mhd.resume_connection),
	    XP_DLSYM(MHD_start_daemon, xp__mhd.start_daemon),
	    XP_DLSYM(MHD_stop_daemon, xp__mhd.stop_daemon),
	    XP_DLSYM(MHD_suspend_connection, xp__mhd.suspend_connection),
	};
	xp_dlib_load(XP_LIBMHD_SONAME, syms, sizeof(syms) / sizeof(syms[0]), mhd_load_error,
		     sizeof(mhd_load_error));
}

int xp__http_srv_bind(struct serve *s, struct http_srv **ret)
{
	pthread_once(&mhd_once, mhd_start);
	if (mhd_load_error[0]) {
		xp__serve_log(s, LOG_ERR,
			      "http: %s could not be loaded: %s; apt-get install libmicrohttpd12",
			      XP_LIBMHD_SONAME, mhd_load_error);
		return -ENOENT;
	}
	struct http_srv *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->s = s;
	h->fd = -1;
	pthread_mutex_init(&h->inv_lock, NULL);
	h->port = xp__serve_http_port(s, &s->settings);
	int r = load_token(h);
	if (r < 0) {
		xp__serve_log(s, LOG_ERR, "cannot read or make the API token '%s/api-token': %s",
			  s->opts->state_dir,
			  r == -EINVAL ? "it must be 16 to 64 characters" : strerror(-r));
		goto fail;
	}
	if ((r = xp_inv_open(s->opts->state_dir, &h->inv)) < 0 ||
	    (r = xp__serve_settings_read(s, h->inv, &h->settings)) < 0)
		goto fail;
	h->pg = xp_inv_is_pgsql(h->inv);
	if (h->pg)
		h->data_version = atomic_load(&s->changes);
	else
		xp_inv_data_version(h->inv, &h->data_version);
	if ((r = xp__serve_open_boot(s, &h->settings, h->inv, false, &h->boot)) < 0)
		goto fail;
	if ((r = xp__http_images_start(h)) < 0) {
		xp__serve_log(s, LOG_ERR, "http: cannot start the image worker: %s", strerror(-r));
		goto fail;
	}
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
	xp__http_srv_close(h);
	return r;
}

int xp__http_srv_start(struct http_srv *h)
{
	/* suspend and resume: a request for a golden image waits for the image worker
	 * (http-images.c) without holding up the others */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
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
	h->d = xp__mhd.start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts,
				    MHD_OPTION_END);
	if (!h->d) {
		xp__serve_log(h->s, LOG_ERR, "http: cannot start the server");
		return -EIO;
	}
	h->fd = -1; /* MHD's now */
	for (size_t i = 0; i < h->n_ls; i++) {
		int r = xp__serve_watch(h->s, &h->ls[i].w, EPOLLIN);
		if (r < 0)
			return r;
	}
	return 0;
}

static void close_listeners(struct http_srv *h)
{
	for (size_t i = 0; i < h->n_ls; i++)
		xp__serve_unwatch_close(h->s, &h->ls[i].w);
}

void xp__http_srv_quiesce(struct http_srv *h)
{
	if (!h->d)
		return;
	close_listeners(h);
	if (h->n_ls)
		return;
	MHD_socket fd = xp__mhd.quiesce_daemon(h->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

size_t xp__http_srv_connections(struct http_srv *h)
{
	if (!h->d)
		return 0;
	const union MHD_DaemonInfo *i =
	    xp__mhd.get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return i ? i->num_connections : 0;
}

void xp__http_srv_close(struct http_srv *h)
{
	if (!h)
		return;
	close_listeners(h);
	free(h->ls);
	xp__http_images_stop(h); /* its waiting requests resumed, before MHD stops */
	xp__installer_cache_stop_waits(h->s->icache); /* those of the installer's build too */
	if (h->d)
		xp__mhd.stop_daemon(h->d);
	xp__http_images_release(h);
	if (h->fd >= 0)
		close(h->fd);
	xp__snapshot_close(h->s, &h->snap);
	xp_boot_free(h->boot);
	xp_settings_release(&h->settings);
	xp_golden_pub_cache_release(&h->pubs);
	free(h->open_hex);
	xp_inv_close(h->inv);
	pthread_mutex_destroy(&h->inv_lock);
	free(h);
}
