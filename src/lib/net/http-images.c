/*
 * http-images.c - profiles' golden images for `xenprov install --server` on other hosts
 * (xenprov/install.h): /api/profiles/NAME/image prepares and publishes a profile's golden
 * image and answers its SHA-256, size and URL; /images/HASH serves a published image,
 * read-only, with ranges (a download cut short is resumed). Only what a record in
 * STATE/published names is ever served, and only while the file is the one hashed.
 *
 * Who may fetch them. What HTTP answers without the token is read by the whole boot
 * network, and a golden image is a whole root filesystem: one captured from a golden
 * client (image capture) holds its /etc/shadow hashes, SSH host keys and whatever else
 * it had. So both endpoints answer only a request carrying the API token ("Authorization:
 * Bearer TOKEN", STATE/api-token), unless the profile's setting publish-image is "open"
 * (the operator's choice, which `xenprov check` reports): then its image, and only the
 * hash it is published under now, goes to anyone. And an autoinstall installer gets its
 * own system's profile's image with its install token (install_grant, below). Without the
 * token, /images/HASH answers 401 for every well-formed hash that no open profile
 * publishes, published or not, so that a client learns nothing of what exists.
 *
 * Preparing an image (a tarball's image built, a file of gigabytes hashed) takes from
 * seconds to minutes: it runs on a worker thread of its own, never on libmicrohttpd's,
 * which goes on serving every other request meanwhile. The request that asked is
 * suspended (MHD_suspend_connection) until the worker has the answer. Only a request
 * allowed the image (the token, or an open profile) ever queues such work, one
 * preparation at a time, at most JOBS_MAX waiting. A failed preparation is logged with
 * its diagnostic; the client gets a generic message (no path of the server's).
 *
 * Every image request is logged (limited like every line about a client): who fetched
 * which image, and which bytes; refusals too.
 *
 * GET /images/HASH?sparse=FROM sends the image from byte FROM on as a sparse stream
 * (xenprov/sparse-stream.h): its data extents only, found with lseek(2)'s SEEK_DATA and
 * SEEK_HOLE as they are read, so that an image's holes (most of a fresh filesystem)
 * cross no network. The installer asks for it; a server without it answers the whole
 * image (the query ignored), which the installer tells by the Content-Type.
 *
 * Not here: the records (deploy/golden-publish.c), ranges (http.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "net/http-internal.h"
#include "util/ctype.h"
#include "xenprov/autoinstall.h"
#include "xenprov/install.h"
#include "xenprov/sparse-stream.h"
#include "xenprov/sync-state.h"

#define JOBS_MAX 64

struct image_job {
	struct image_job *next;
	struct MHD_Connection *c;
	char name[256];		    /* the profile's */
	char peer[INET_ADDRSTRLEN]; /* who asked */
	struct xp_settings eff;	    /* its effective values */
	/* the worker's answer, read once the connection is resumed */
	int r;
	struct xp_golden_pub pub;
};

static const char no_token_msg[] =
    "golden images are served with the API token only ('Authorization: Bearer TOKEN', "
    "STATE/api-token on the server), unless the profile has publish-image open";

static bool published_openly(const struct xp_settings *eff)
{
	const char *v = xp_settings_get(eff, "publish-image");
	return v && strcmp(v, "open") == 0;
}

/* "with a wrong token" when the request carries a bearer token that is not the
 * server's, else "" (for the log). */
static const char *wrong_token(struct MHD_Connection *c)
{
	const char *a =
	    xp__mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	return a ? " (a wrong token)" : "";
}

static enum MHD_Result refuse(struct MHD_Connection *c)
{
	struct MHD_Response *resp =
	    xp__http_json_response(json_pack("{s:s}", "error", no_token_msg));
	/* RFC 9110 11.6.1: a 401 names the scheme it wants */
	if (resp)
		xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					    "Bearer realm=\"xenprov\"");
	return xp__http_queue(c, MHD_HTTP_UNAUTHORIZED, resp);
}

/* The install grant: a request from an autoinstall installer, "Authorization: Bearer
 * TOKEN" with "X-Xenprov-System: NAME", where NAME is a system marked for install, the
 * request comes from its own address (its reservation when it has one:
 * xp_install_peer_is_system) and TOKEN is its current attempt's install token, or the
 * next attempt's while that one runs (xp_install_token_check: a machine booted again
 * whose new installer has not reported yet). Such a request is allowed its own profile's image
 * only: profile (the profile endpoint) must be the system's, or hex (an image) the hash the
 * system's profile is published under now (the cache: nothing is prepared here). Every other case:
 * false. */
static bool install_grant(struct http_srv *h, struct MHD_Connection *c, uint32_t ip,
			  const char *profile, const char *hex)
{
	const char *name = xp__mhd.lookup_connection_value(c, MHD_HEADER_KIND, "X-Xenprov-System");
	const char *a =
	    xp__mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	/* a malformed request costs no query */
	if (!name || !a || strncmp(a, "Bearer ", 7) != 0 || strlen(a + 7) != XP_INSTALL_TOKEN_LEN ||
	    !xp_system_name_valid(name))
		return false;
	a += 7;
	struct xp_system sys = {0};
	bool ok = xp_system_get(h->inv, name, &sys) == 0 && sys.profile &&
		  xp_install_peer_is_system(h->inv, &sys, ip) == 1 &&
		  xp_install_token_check(h->inv, name, a) == 0; /* in constant time */
	if (ok && profile) {
		ok = strcmp(sys.profile, profile) == 0;
	} else if (ok) {
		struct xp_settings eff = {0};
		struct xp_golden_pub pub;
		ok = xp_profile_resolve(h->inv, sys.profile, &eff) == 0 &&
		     xp_golden_pub_cache_find(&h->pubs, h->s->opts->state_dir, &eff, &pub) == 1 &&
		     strcmp(pub.sha256, hex) == 0;
		xp_settings_release(&eff);
	}
	xp_system_release(&sys);
	return ok;
}

/* Rebuilds h's set of the hashes profiles publishing openly are published under now
 * (what the cache remembers: nothing is prepared here). */
static void open_set_build(struct http_srv *h, unsigned long gen)
{
	free(h->open_hex);
	h->open_hex = NULL;
	h->n_open = 0;
	h->open_valid = false;
	char **names;
	size_t n;
	if (xp_profile_list(h->inv, &names, &n) < 0)
		return;
	char(*v)[65] = calloc(n ? n : 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; v && i < n; i++) {
		struct xp_settings eff = {0};
		struct xp_golden_pub pub;
		if (xp_profile_resolve(h->inv, names[i], &eff) == 0 && published_openly(&eff) &&
		    xp_golden_pub_cache_find(&h->pubs, h->s->opts->state_dir, &eff, &pub) == 1)
			memcpy(v[k++], pub.sha256, 65);
		xp_settings_release(&eff);
	}
	xp_strv_free(names, n);
	if (!v)
		return;
	h->open_hex = v;
	h->n_open = k;
	h->open_gen = gen;
	h->open_valid = true;
	h->open_builds++;
	xp__serve_log(h->s, LOG_DEBUG,
		      "http: the openly published images' set rebuilt (%zu of %zu profiles)", k, n);
}

/* Whether a profile publishing openly has its image published under hex now. A request
 * without the token costs one data_version read and a scan of a few hashes: the
 * profiles are resolved again only when what the set depends on changed, so that a
 * flood of unauthenticated requests makes no work per profile. It depends on the
 * profiles and their settings and on the publications (the cache's generation). When
 * the inventory moved (xp__http_inv_version: SQLite's data_version, PostgreSQL's
 * notified changes) the sync clock's world is read (one row): the triggers move it for
 * every change of profiles, their settings and the other tables that are not one
 * system's (store.c, migration 9), never for a lease, whose writes (the DHCP side's,
 * many a second under load) move data_version alone. A file changed behind the
 * record since is still refused when opened (xp_golden_published_open). */
static bool open_hash(struct http_srv *h, const char *hex)
{
	int64_t version;
	if (xp__http_inv_version(h, &version) < 0)
		return false;
	if (!h->open_valid || version != h->open_version) {
		struct xp_sync_clock clk;
		if (xp_sync_clock_get(h->inv, &clk) < 0)
			return false;
		h->open_version = version;
		if (clk.world != h->open_world)
			h->open_valid = false;
		h->open_world = clk.world;
	}
	unsigned long gen = xp_golden_pub_cache_gen(&h->pubs);
	if (!h->open_valid || gen != h->open_gen)
		open_set_build(h, gen);
	for (size_t i = 0; i < h->n_open; i++)
		if (strcmp(h->open_hex[i], hex) == 0)
			return true;
	return false;
}

/* ---- the sparse stream ------------------------------------------------------------------ */

struct sparse_src {
	int fd;
	uint64_t size;
	uint64_t pos, end; /* the file's offset, the end of the extent being sent */
	unsigned char rec[XP_SPARSE_HEADER_LEN];
	size_t rec_len, rec_sent; /* the header or record still to send */
	bool last;		  /* the end record queued: nothing after it */
};

/* The next record after s->pos: an extent (xp_sparse_extent_at, the walk the image's
 * sparse digest took), or the end. */
static int sparse_next(struct sparse_src *s)
{
	uint64_t d, e;
	if (!xp_sparse_extent_at(s->fd, s->pos, s->size, &d, &e)) {
		xp_sparse_put_record(s->rec, s->size, 0);
		s->last = true;
	} else {
		s->pos = d;
		s->end = e;
		xp_sparse_put_record(s->rec, s->pos, s->end - s->pos);
	}
	s->rec_len = XP_SPARSE_RECORD_LEN;
	s->rec_sent = 0;
	return 0;
}

static ssize_t sparse_read(void *cls, uint64_t at, char *buf, size_t max)
{
	(void)at;
	struct sparse_src *s = cls;
	size_t n = 0;
	while (n < max) {
		if (s->rec_sent < s->rec_len) {
			size_t k =
			    s->rec_len - s->rec_sent < max - n ? s->rec_len - s->rec_sent : max - n;
			memcpy(buf + n, s->rec + s->rec_sent, k);
			s->rec_sent += k, n += k;
		} else if (s->pos < s->end) {
			size_t k = s->end - s->pos < max - n ? (size_t)(s->end - s->pos) : max - n;
			ssize_t got = pread(s->fd, buf + n, k, (off_t)s->pos);
			if (got <= 0) /* the file shrank or broke behind its record */
				return MHD_CONTENT_READER_END_WITH_ERROR;
			s->pos += (uint64_t)got, n += (size_t)got;
		} else if (s->last) {
			break;
		} else {
			sparse_next(s);
		}
	}
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void sparse_free(void *cls)
{
	struct sparse_src *s = cls;
	close(s->fd);
	free(s);
}

/* The image (fd, size bytes) from byte from on as a sparse stream; fd is the
 * response's. */
static enum MHD_Result reply_sparse(struct MHD_Connection *c, int fd, uint64_t size, uint64_t from)
{
	struct sparse_src *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return MHD_NO;
	}
	*s = (struct sparse_src){
	    .fd = fd, .size = size, .pos = from, .end = from, .rec_len = XP_SPARSE_HEADER_LEN};
	xp_sparse_put_header(s->rec, size, from);
	struct MHD_Response *resp = xp__mhd.create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 256 * 1024, sparse_read, s, sparse_free);
	if (!resp)
		sparse_free(s);
	else
		xp__mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, XP_SPARSE_TYPE);
	return xp__http_queue(c, MHD_HTTP_OK, resp);
}

/* ?sparse=FROM: 1 with *from, 0 when absent, -1 malformed (digits only, at most size). */
static int sparse_arg(struct MHD_Connection *c, uint64_t size, uint64_t *from)
{
	const char *v = xp__mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sparse");
	if (!v)
		return 0;
	uint64_t n;
	if (!xp__decimal(v, strlen(v), &n) || n > size)
		return -1;
	*from = n;
	return 1;
}

enum MHD_Result xp__http_image(struct http_srv *h, struct MHD_Connection *c, const char *hex)
{
	uint32_t ip;
	char peer[INET_ADDRSTRLEN] = "?", esc[4 * 80 + 1], range[96];
	xp__http_peer(c, &ip, peer);
	if (!xp_sha256_hex_valid(hex)) {
		size_t l = strlen(hex);
		xp_escape(esc, sizeof(esc), hex, l > 80 ? 80 : l);
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING, "image '%s' to %s: not a SHA-256",
				  esc, peer);
		return xp__http_reply_error(c, MHD_HTTP_BAD_REQUEST,
					    "an image is named by its SHA-256 (64 hex digits)");
	}
	/* the open set before the grant: it costs no query per request, the grant a few */
	bool token = xp__http_authorized(h, c);
	bool open = !token && open_hash(h, hex);
	bool grant = !token && !open && install_grant(h, c, ip, NULL, hex);
	if (!token && !open && !grant) {
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING,
				  "image %s to %s: refused, no API token%s", hex, peer,
				  wrong_token(c));
		return refuse(c);
	}
	int fd;
	uint64_t size;
	if (xp_golden_published_open(h->s->opts->state_dir, hex, &fd, &size) < 0) {
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING, "image %s to %s: not published", hex,
				  peer);
		return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND,
					    "no published image of that SHA-256");
	}
	uint64_t from = 0;
	int sp = sparse_arg(c, size, &from);
	if (sp < 0) {
		close(fd);
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING,
				  "image %s to %s: a malformed sparse start", hex, peer);
		return xp__http_reply_error(c, MHD_HTTP_BAD_REQUEST,
					    "sparse=FROM: a byte offset within the image");
	}
	enum MHD_Result res;
	if (sp) {
		snprintf(range, sizeof(range), "sparse from %llu", (unsigned long long)from);
		res = reply_sparse(c, fd, size, from);
	} else {
		res = xp__http_reply_range(c, fd, 0, size, NULL, "application/octet-stream", range);
	}
	xp__serve_limited(h->s, SRC_HTTP, LOG_INFO, "image %s to %s: %s of %llu%s", hex, peer,
			  range, (unsigned long long)size,
			  token   ? ", with the API token"
			  : grant ? ", with its system's install token"
				  : "");
	return res;
}

/* ---- preparation, on the worker thread ---------------------------------------------- */

static void prepare(struct http_srv *h, struct image_job *j)
{
	struct xp_diags d = {0};
	j->r = xp_golden_publish_cached(&h->pubs, h->s->opts->state_dir, &j->eff, &j->pub, &d);
	if (j->r < 0 && j->r != -ENODATA) /* the detail for the operator, not the client */
		xp__serve_log(h->s, LOG_ERR,
			      "http: profile '%s': cannot prepare its golden image (asked by %s): "
			      "%s%s%s",
			      j->name, j->peer, d.n && d.v[0].file ? d.v[0].file : "",
			      d.n && d.v[0].file ? ": " : "", d.n ? d.v[0].msg : strerror(-j->r));
	xp_diags_release(&d);
}

static void *worker_main(void *arg)
{
	struct http_srv *h = arg;
	pthread_mutex_lock(&h->job_lock);
	for (;;) {
		while (!h->jobs && !h->jobs_stop)
			pthread_cond_wait(&h->job_cond, &h->job_lock);
		struct image_job *j = h->jobs;
		if (!j)
			break; /* stopping, nothing left */
		h->jobs = j->next;
		h->njobs--;
		bool stop = h->jobs_stop;
		pthread_mutex_unlock(&h->job_lock);
		if (stop)
			j->r = -ECANCELED; /* answered at once: the server is stopping */
		else
			prepare(h, j);
		/* the job is the request's again: not touched after this */
		xp__mhd.resume_connection(j->c);
		pthread_mutex_lock(&h->job_lock);
	}
	pthread_mutex_unlock(&h->job_lock);
	return NULL;
}

int xp__http_images_start(struct http_srv *h)
{
	pthread_mutex_init(&h->pub_lock, NULL);
	pthread_mutex_init(&h->job_lock, NULL);
	pthread_cond_init(&h->job_cond, NULL);
	h->pubs.lock = &h->pub_lock;
	h->jobs_init = true;
	int r = pthread_create(&h->job_thread, NULL, worker_main, h);
	if (r != 0)
		return -r;
	h->jobs_started = true;
	return 0;
}

void xp__http_images_stop(struct http_srv *h)
{
	if (!h->jobs_started)
		return;
	/* the preparation under way ends; those waiting are answered */
	pthread_mutex_lock(&h->job_lock);
	h->jobs_stop = true;
	pthread_cond_signal(&h->job_cond);
	pthread_mutex_unlock(&h->job_lock);
	pthread_join(h->job_thread, NULL);
	h->jobs_started = false;
}

void xp__http_images_release(struct http_srv *h)
{
	if (!h->jobs_init)
		return;
	xp__http_images_stop(h);
	pthread_cond_destroy(&h->job_cond);
	pthread_mutex_destroy(&h->job_lock);
	h->pubs.lock = NULL;
	pthread_mutex_destroy(&h->pub_lock);
	h->jobs_init = false;
}

void xp__http_image_job_free(struct image_job *j)
{
	if (!j)
		return;
	xp_settings_release(&j->eff);
	free(j);
}

/* ---- /api/profiles/NAME/image ------------------------------------------------------- */

enum MHD_Result xp__http_image_job_reply(struct http_srv *h, struct MHD_Connection *c,
					 struct image_job *j)
{
	(void)h;
	char msg[512];
	if (j->r == -ENODATA) {
		snprintf(msg, sizeof(msg), "profile '%s' has no image", j->name);
		return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	if (j->r == -ECANCELED)
		return xp__http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					    "the server is stopping");
	if (j->r < 0) {
		snprintf(msg, sizeof(msg),
			 "profile '%s': the server cannot prepare its golden image (its log "
			 "says why)",
			 j->name);
		return xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
	}
	char url[80];
	snprintf(url, sizeof(url), "/images/%s", j->pub.sha256);
	/* sparse_sha256 beside sha256: the same record, computed from the same bytes in one
	 * pass (golden-publish.c), so a client trusts it as it trusts sha256 */
	return xp__http_reply_json(c, MHD_HTTP_OK,
				   json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "profile", j->name,
					     "sha256", j->pub.sha256, "sparse_sha256",
					     j->pub.sparse_sha256, "size", (json_int_t)j->pub.size,
					     "format", j->pub.format, "url", url));
}

enum MHD_Result xp__http_profile_image(struct http_srv *h, struct MHD_Connection *c,
				       const char *name, struct image_job **slot)
{
	struct xp_settings eff = {0};
	char msg[512], peer[INET_ADDRSTRLEN] = "?";
	uint32_t ip;
	xp__http_peer(c, &ip, peer);
	int r = xp_profile_resolve(h->inv, name, &eff);
	if (r == -ENOENT) {
		snprintf(msg, sizeof(msg), "no profile '%s'", name);
		return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	if (r < 0)
		return xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					    "cannot read the inventory");
	/* what the profile itself shows anyone (GET /api/profiles/NAME) */
	if (!xp_settings_get(&eff, "image")) {
		xp_settings_release(&eff);
		snprintf(msg, sizeof(msg), "profile '%s' has no image", name);
		return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	/* then, before any work: a request the image is not for costs none */
	if (!xp__http_authorized(h, c) && !published_openly(&eff) &&
	    !install_grant(h, c, ip, name, NULL)) {
		xp_settings_release(&eff);
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING,
				  "image of profile '%s' to %s: refused, no API token%s", name,
				  peer, wrong_token(c));
		return refuse(c);
	}
	struct image_job *j = calloc(1, sizeof(*j));
	if (!j) {
		xp_settings_release(&eff);
		return MHD_NO;
	}
	j->c = c;
	j->eff = eff; /* the job's now */
	snprintf(j->name, sizeof(j->name), "%s", name);
	memcpy(j->peer, peer, sizeof(peer));
	pthread_mutex_lock(&h->job_lock);
	bool stopping = h->jobs_stop || !h->jobs_started;
	bool full = stopping || h->njobs >= JOBS_MAX;
	if (!full) {
		/* suspended before the worker can see it, so that its resume never comes
		 * first; it is the request's (slot), freed when the request ends */
		xp__mhd.suspend_connection(c);
		struct image_job **t = &h->jobs;
		while (*t)
			t = &(*t)->next;
		*t = j;
		h->njobs++;
		*slot = j;
		pthread_cond_signal(&h->job_cond);
	}
	pthread_mutex_unlock(&h->job_lock);
	if (full) {
		xp__http_image_job_free(j);
		return xp__http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					    stopping ? "the server is stopping"
						     : "the server is busy preparing images: try "
						       "again later");
	}
	return MHD_YES;
}
