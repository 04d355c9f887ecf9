/*
 * net-internal.h - what the boot server's files share: the server context, the epoll
 * watch records and the logging helpers. Private to src/lib/net.
 */
#ifndef XP_NET_INTERNAL_H
#define XP_NET_INTERNAL_H

#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "xenprov/boot.h"
#include "xenprov/inventory.h"
#include "xenprov/serve.h"

struct serve;

/* An fd in the epoll set and what to do when it is ready. */
struct watch {
	int fd;
	void (*ready)(struct serve *s, struct watch *w, uint32_t events);
};

#define MAX_IFACE_ADDRS 8

struct iface {
	int index;
	char name[IF_NAMESIZE];
	uint32_t addr[MAX_IFACE_ADDRS], mask[MAX_IFACE_ADDRS]; /* host order */
	unsigned n_addr;
};

struct checkpointer {
	pthread_t thread;
	int stop; /* eventfd */
	struct xp_inv *inv;
	bool running;
};

/* PostgreSQL: the inventory's last good copy, a SQLite file (serve-snapshot.c). gen
 * counts the snapshots kept (0: none yet), readers the views open on the file (it is
 * replaced only while none is); all under lock. */
struct snapshot {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool init, running, want, stop;
	unsigned long gen;
	unsigned readers;
	time_t taken; /* when the kept one was taken */
	char path[4300];
};

/* One thread's reading of the snapshot: its own connection and boot-file resolver. */
struct snapshot_view {
	struct xp_inv *inv;
	struct xp_boot *boot;
	time_t taken;
};

struct dhcp_srv;
struct tftp_srv;
struct http_srv;
struct installer_cache;

/* The longest log line (longer ones are cut). */
#define SERVE_LOG_MAX 1024

/* What a limited log line is about: its service, which is also its prefix. */
enum serve_src { SRC_DHCP, SRC_TFTP, SRC_HTTP, SRC_N };

/* The lines of one service (and one side of LOG_DEBUG) logged in the current second,
 * and those left out: see serve_limited. */
struct loglimit {
	unsigned used;
	uint64_t dropped;
	int prio; /* the most severe left out */
	char last[SERVE_LOG_MAX];
};

struct serve {
	const struct xp_serve_opts *opts;
	int epfd;
	struct watch sig;
	struct xp_inv *inv;
	struct xp_boot *boot;
	int64_t data_version;
	struct iface *ifaces; /* the interfaces served */
	size_t n_ifaces;
	bool all_ifaces;      /* no --interface: serve whatever interface a packet came on */
	int64_t ifaces_read_ms;
	struct xp_settings settings;
	struct dhcp_srv *dhcp;
	struct tftp_srv *tftp;
	struct http_srv *http;
	struct checkpointer ckpt;
	/* PostgreSQL: a connection that only listens for writers' commits (the main loop
	 * reloads on each), the count of those seen (the HTTP thread refreshes when it
	 * moves), and the reconnection's schedule while the database is out of reach */
	struct xp_inv *listen_inv;
	struct watch listen;
	_Atomic int64_t changes;
	bool pg_down, pg_dirty; /* pg_dirty: a notification waits for its reload */
	int64_t pg_retry_ms, pg_backoff_ms, pg_reload_ms;
	/* pg_down as the other threads see it: boot files from the snapshot meanwhile (the
	 * main loop's view for TFTP here, the HTTP thread's in http.c) */
	_Atomic bool pg_away;
	/* a reset of the connections in progress (serve.c pg_reset_*): which of them
	 * (the main loop's, the listener's, the HTTP thread's), each watched meanwhile for
	 * what libpq waits for, and when it is given up (0: none in progress) */
	bool pg_resetting[3];
	struct watch pg_reset_w[3];
	int64_t pg_reset_end_ms;
	struct snapshot snap;
	struct snapshot_view snap_view;
	struct installer_cache *icache; /* the installer built on first use */
	bool stopping;
	int pid_fd; /* -1: no pid file */
	int64_t stop_deadline_ms;
	pthread_mutex_t limit_lock; /* TFTP workers log failed transfers too */
	struct loglimit limit[SRC_N][2];
};

/* Log lines go to the caller's logger (xp_serve_opts.log) whole, one call each. Names a
 * client sent must be escaped with xp_escape where they are put in; a line that still
 * holds a control byte or a byte above 0x7e is escaped whole before it leaves, so
 * nothing raw ever reaches a terminal or a log parser. Thread-safe. */
void xp__serve_log(struct serve *s, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void xp__serve_vlog(struct serve *s, int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* A line caused by what a client sent or an inventory record the server cannot use
 * (dropped DHCP packets, refused, missing or failed TFTP requests, unusable
 * reservations): "SERVICE: " + the message. At most SERVE_LIMIT_PER_SEC such lines a
 * second per service are logged (debug lines counted apart, so that what -v adds never
 * hides the rest); the others are counted, and xp__serve_limited_flush (the main loop,
 * once a second) logs one line with their number and the last of them. A flood of bad
 * requests costs a few lines a second, not one per packet. Thread-safe. */
#define SERVE_LIMIT_PER_SEC 10
void xp__serve_limited(struct serve *s, enum serve_src src, int prio, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void xp__serve_vlimited(struct serve *s, enum serve_src src, int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* Whether this second's lines of src (at prio) are used up: a caller whose line costs
 * work to make (parsing a packet again) may then pass a cheaper one, only counted. */
bool xp__serve_limited_full(struct serve *s, enum serve_src src, int prio);
void xp__serve_limited_flush(struct serve *s);
int xp__serve_watch(struct serve *s, struct watch *w, uint32_t events);
/* The server settings from inv, with this server's --address as `server` when given. */
int xp__serve_settings_read(const struct serve *s, struct xp_inv *inv, struct xp_settings *out);
/* Stops watching w and closes its descriptor (-1 after; nothing if it has none). */
void xp__serve_unwatch_close(struct serve *s, struct watch *w);
int64_t xp__serve_now_ms(void);
/* The interface record for an ifindex; NULL when it is not served. */
const struct iface *xp__serve_iface(struct serve *s, int ifindex);
/* A setting's value, or its default. */
const char *xp__serve_setting(const struct serve *s, const char *key);

/* The HTTP port (--http-port, else the setting, else 80) and the base URL clients
 * reach HTTP at ("" when HTTP is off or no server address is set). */
uint16_t xp__serve_http_port(const struct serve *s, const struct xp_settings *st);
void xp__serve_http_base(const struct serve *s, const struct xp_settings *st, char *buf,
		     size_t size);
/* A boot-file resolver for these settings, reading inv (each thread has its own);
 * snapshot: inv is a snapshot's (serve-snapshot.c): no installer entries from it. */
int xp__serve_open_boot(const struct serve *s, const struct xp_settings *st, struct xp_inv *inv,
		    bool snapshot, struct xp_boot **ret);

/* sys.c: process plumbing */
/* Writes the pid file; returns an fd on it for sys_pid_file_remove. */
int xp__sys_pid_file_write(const char *path);
/* Removes it, or empties it when the directory no longer lets us remove it. */
void xp__sys_pid_file_remove(const char *path, int fd);
void xp__sys_notify(const char *state); /* sd_notify(3) without libsystemd; no-op without NOTIFY_SOCKET */
/* Interfaces by name (all when n == 0), with their IPv4 addresses. */
int xp__sys_ifaces(const char *const *names, size_t n, struct iface **out, size_t *nout);
int xp__sys_ifaces_refresh(struct serve *s);
/* Makes the state directory's files the user's, then switches to that user. */
int xp__sys_drop_privileges(const char *user, const char *state_dir);

/* serve-snapshot.c (PostgreSQL only): _init before anything else; _start once
 * privileges are dropped (takes the first snapshot); _request after each reload (a
 * snapshot is taken in the background, at most one at a time); _open a view of the
 * last snapshot with a resolver for st (-ENOENT: none taken yet; nothing when v is
 * open already); _close it; _stop at the end (the file removed). */
void xp__snapshot_init(struct serve *s);
int xp__snapshot_start(struct serve *s);
void xp__snapshot_request(struct serve *s);
int xp__snapshot_open(struct serve *s, const struct xp_settings *st, struct snapshot_view *v);
void xp__snapshot_close(struct serve *s, struct snapshot_view *v);
void xp__snapshot_stop(struct serve *s);
/* The resolver the main loop's TFTP reads: the snapshot's while PostgreSQL is away
 * (when there is one), else the inventory's. */
struct xp_boot *xp__serve_boot(struct serve *s);

/* dhcp-sock.c */
int xp__dhcp_srv_open(struct serve *s, struct dhcp_srv **ret);
int xp__dhcp_srv_reload(struct dhcp_srv *d);
/* When held replies are due (ms), INT64_MAX if none; dhcp_srv_flush sends them then. */
int64_t xp__dhcp_srv_deadline(const struct dhcp_srv *d);
void xp__dhcp_srv_flush(struct dhcp_srv *d, int64_t now_ms);
void xp__dhcp_srv_close(struct dhcp_srv *d);

/* tftp-server.c */
int xp__tftp_srv_open(struct serve *s, struct tftp_srv **ret);
/* Starts the worker threads that run the transfers (after privileges are dropped). */
int xp__tftp_srv_start(struct tftp_srv *t);
void xp__tftp_srv_stop_accepting(struct tftp_srv *t);
size_t xp__tftp_srv_sessions(const struct tftp_srv *t);
void xp__tftp_srv_close(struct tftp_srv *t);

/* http.c */
int xp__http_srv_bind(struct serve *s, struct http_srv **ret);  /* before dropping privileges */
int xp__http_srv_start(struct http_srv *h);                     /* after */
void xp__http_srv_quiesce(struct http_srv *h);
size_t xp__http_srv_connections(struct http_srv *h);
void xp__http_srv_close(struct http_srv *h);
/* The HTTP thread's inventory connection reset from the main loop (PostgreSQL), in
 * steps (xp_inv_reconnect_start and _poll), never waiting. start: when that thread is
 * not using it (else -EBUSY: next time), always or only when lost; 1 started, 0 nothing
 * to do, -errno. poll: as xp_inv_reconnect_poll; at 1 the thread may use it again.
 * lost: that thread found it lost (then it serves without it until a reset is done). */
int xp__http_srv_reconnect_start(struct http_srv *h, bool always);
int xp__http_srv_reconnect_poll(struct http_srv *h, int *fd, short *events);
bool xp__http_srv_lost(struct http_srv *h);
/* The Range header h (may be NULL) of a GET of a file of size bytes (RFC 9110 section
 * 14): 1 to send [*off, *off + *len) as a 206; 0 to send the whole file (no header,
 * another unit, or several ranges, which the RFC lets a server answer whole); -1 for a
 * 416: a "bytes=" range that is malformed ("bytes=--1", "bytes=5-3", signs, blanks)
 * or that no byte of the file satisfies. Pure: no I/O. */
int xp__http_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len);

/* installer-cache.c: the autoinstall installer built on first use (see there). _new
 * before the first xp__serve_open_boot; _start once privileges are dropped (builds run
 * as the server's user); _file is xp_boot_opts.installer. _wait: a request that got
 * -EAGAIN waits for the build under way: wake(arg) is called (from the builder's
 * thread, under its lock) when it ends; 0 registered, -EALREADY nothing under way
 * (ask again), -EBUSY too many waiting, -ESHUTDOWN stopping. _stop_waits wakes every
 * waiter and takes no more (before HTTP stops). */
int xp__installer_cache_new(struct serve *s, const char *tftp_root, struct installer_cache **ret);
int xp__installer_cache_start(struct installer_cache *c);
int xp__installer_cache_file(void *ctx, const char *file, int *fd);
int xp__installer_cache_wait(struct installer_cache *c, void (*wake)(void *), void *arg);
void xp__installer_cache_stop_waits(struct installer_cache *c);
/* Asks for the build (or a look at its key) now, as a request would, without serving. */
void xp__installer_cache_prewarm(struct installer_cache *c);
void xp__installer_cache_free(struct installer_cache *c);

#endif
