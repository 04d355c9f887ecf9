/*
 * http-internal.h - what the HTTP service's files share: the server's state and the
 * response helpers (http.c), the JSON API's entry point (http-api.c), the autoinstall
 * files' (http-autoinstall.c).
 */
#ifndef XP_NET_HTTP_INTERNAL_H
#define XP_NET_HTTP_INTERNAL_H

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#include "net/net-internal.h"
#include "xenprov/boot.h"
#include "xenprov/install.h"
#include "xenprov/inventory.h"

#ifndef XP_LIBMHD_SONAME
#define XP_LIBMHD_SONAME "libmicrohttpd.so.12"
#endif

/* libmicrohttpd's functions the HTTP service calls, typed by its own declarations (its
 * constants and types stay the header's): the library is loaded (dlopen) when the
 * service is set up (xp__http_srv_bind), not linked, as it brings nine more (GnuTLS and
 * what it needs) to every start of xenprov, whose commands other than serve never use
 * it. Set once, then only read. */
struct xp__mhd_api {
	__typeof__(MHD_add_connection) *add_connection;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_from_callback) *create_response_from_callback;
	__typeof__(MHD_create_response_from_fd_at_offset64) *create_response_from_fd_at_offset64;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_quiesce_daemon) *quiesce_daemon;
	__typeof__(MHD_resume_connection) *resume_connection;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_suspend_connection) *suspend_connection;
};
extern struct xp__mhd_api xp__mhd;

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
	int64_t data_version; /* SQLite's; on PostgreSQL the main loop's count of changes */
	/* PostgreSQL: inv_lock is held while a request uses inv; the main loop resets inv
	 * (xp__http_srv_reconnect) only while the database is away (serve.pg_away) or inv
	 * is lost (inv_lost), and only when it can take the lock without waiting. Then
	 * requests never touch inv: boot files come from the snapshot (snap, opened for
	 * the request and closed after it), the rest is answered 503 at once. */
	bool pg;
	pthread_mutex_t inv_lock;
	_Atomic bool inv_lost; /* set by this thread, cleared by the main loop's reset */
	bool reset_alone;      /* the main loop's: that reset is of this connection alone */
	struct snapshot_view snap;
	char token[65];
	/* profiles' golden images (http-images.c): what was published (pubs, under
	 * pub_lock: the worker fills it, the MHD thread reads it), and the worker that
	 * prepares them, fed jobs (under job_lock) */
	struct xp_golden_pub_cache pubs;
	/* the hashes profiles publishing openly are published under (http-images.c
	 * open_hash; the MHD thread's): rebuilt when the sync clock's world (profiles and
	 * other records that are not one system's; not leases) or the cache's generation
	 * moved, not at each request nor at each lease write; open_builds counts the
	 * rebuilds (logged at debug level) */
	char (*open_hex)[65];
	size_t n_open;
	int64_t open_version, open_world;
	unsigned long open_builds;
	unsigned long open_gen;
	bool open_valid;
	pthread_mutex_t pub_lock, job_lock;
	pthread_cond_t job_cond;
	pthread_t job_thread;
	struct image_job *jobs; /* waiting, oldest first */
	size_t njobs;
	bool jobs_init, jobs_started, jobs_stop;
};

/* The inventory's change count as the HTTP thread sees it: SQLite's data_version, or
 * on PostgreSQL the changes the main loop was notified of (a lost connection tried
 * again meanwhile). It moves when the inventory changed; 0 or -errno. */
int xp__http_inv_version(struct http_srv *h, int64_t *v);

/* Responses: queued and the response released (NULL: MHD_NO); text copied; JSON (a
 * reference taken) pretty-printed with sorted keys and a final newline; an error as
 * {"error": MSG}. */
enum MHD_Result xp__http_queue(struct MHD_Connection *c, unsigned status,
			       struct MHD_Response *resp);
enum MHD_Result xp__http_reply_text(struct MHD_Connection *c, unsigned status, const char *type,
				    const char *text, size_t len);
enum MHD_Result xp__http_reply_json(struct MHD_Connection *c, unsigned status, json_t *v);
enum MHD_Result xp__http_reply_error(struct MHD_Connection *c, unsigned status, const char *msg);
/* A response of v (its reference taken) as xp__http_reply_json writes it, for a caller
 * that adds headers; NULL on failure. */
struct MHD_Response *xp__http_json_response(json_t *v);

/* A body of size bytes (at base in fd, which is taken and closed; or data when fd < 0)
 * with the client's Range (RFC 9110 section 14: one range; several or none: the
 * whole), 416 for one past the end. range (may be NULL) receives what was sent, for
 * the log. */
enum MHD_Result xp__http_reply_range(struct MHD_Connection *c, int fd, uint64_t base, uint64_t size,
				     const char *data, const char *type, char range[96]);
/* The client's IPv4 address (host order) and as text: false if it has none. */
bool xp__http_peer(struct MHD_Connection *c, uint32_t *ip, char text[INET_ADDRSTRLEN]);

/* GET of /images/HASH: a published golden image (xenprov/install.h), with ranges; with
 * the token, or of a profile whose publish-image is open. */
enum MHD_Result xp__http_image(struct http_srv *h, struct MHD_Connection *c, const char *hex);
/* GET of /api/profiles/NAME/image, with the token (or publish-image open): the profile's
 * golden image prepared and published, its hash, size, format and URL. The preparation
 * is the image worker's: the connection is suspended and *slot (the request's) set to
 * the job; once resumed, xp__http_image_job_reply answers it. */
struct image_job;
enum MHD_Result xp__http_profile_image(struct http_srv *h, struct MHD_Connection *c,
				       const char *name, struct image_job **slot);
enum MHD_Result xp__http_image_job_reply(struct http_srv *h, struct MHD_Connection *c,
					 struct image_job *j);
/* Frees a job its worker is done with (NULL: nothing). */
void xp__http_image_job_free(struct image_job *j);
/* The image worker started (at bind); stopped (before MHD stops: the preparation under
 * way finishes, the requests waiting are answered 503, later ones too); its locks
 * released (after MHD stopped: no request can take them any more). */
int xp__http_images_start(struct http_srv *h);
void xp__http_images_stop(struct http_srv *h);
void xp__http_images_release(struct http_srv *h);

/* POST of /api/systems/NAME/events: an installer's event (http-install.c). */
enum MHD_Result xp__http_install_event(struct http_srv *h, struct MHD_Connection *c,
				       const char *method, const char *name,
				       const struct xp_buf *body);

/* Whether the request carries "Authorization: Bearer TOKEN" with the server's token
 * (compared in constant time). */
bool xp__http_authorized(struct http_srv *h, struct MHD_Connection *c);

/* A GET of /autoinstall/REST: a system's rendered autoinstall file, to that system's
 * address (or the token) only. */
enum MHD_Result xp__http_autoinstall(struct http_srv *h, struct MHD_Connection *c,
				     const char *rest);

/* A request under /api (rest: what follows "/api", "" or "/..."), its body read; job:
 * the request's slot for a golden image's preparation (xp__http_profile_image). */
enum MHD_Result xp__http_api(struct http_srv *h, struct MHD_Connection *c, const char *method,
			     const char *rest, const struct xp_buf *body, struct image_job **job);

#endif
