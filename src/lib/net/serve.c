/*
 * serve.c - the boot server's main loop: opens the inventory and the sockets, drops
 * privileges, then runs DHCP and TFTP in one epoll loop (HTTP has its own thread, see
 * http.c) until SIGTERM or SIGINT, picking up inventory changes once a second.
 *
 * Not here: the protocols (proto/), the boot files (boot/), the sockets of each service
 * (dhcp-sock.c, tftp-server.c, http.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "xenprov/autoinstall.h"
#include "xenprov/leases.h"
#include "xenprov/template.h"
#include "xenprov/util.h"

static void call_log(const struct xp_serve_opts *o, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void call_log(const struct xp_serve_opts *o, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	o->log(o->log_ctx, prio, fmt, ap);
	va_end(ap);
}

/* One finished line to the logger. The call sites escape what clients sent; this is the
 * net under them (and under libmicrohttpd's messages): a line with a raw control byte or
 * a byte above 0x7e goes out escaped whole. */
static void emit(const struct xp_serve_opts *o, int prio, char *msg)
{
	size_t len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = 0; /* libmicrohttpd ends its messages with one */
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p >= 0x7f) {
			char esc[XP_ESCAPED_SIZE(SERVE_LOG_MAX)];
			call_log(o, prio, "%s", xp_escape(esc, sizeof(esc), msg, len));
			return;
		}
	call_log(o, prio, "%s", msg);
}

void xp__serve_vlog(struct serve *s, int prio, const char *fmt, va_list ap)
{
	if (!s->opts->log)
		return;
	char msg[SERVE_LOG_MAX];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	emit(s->opts, prio, msg);
}

void xp__serve_log(struct serve *s, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xp__serve_vlog(s, prio, fmt, ap);
	va_end(ap);
}

static const char *const src_names[SRC_N] = {"dhcp", "tftp", "http"};

void xp__serve_limited(struct serve *s, enum serve_src src, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xp__serve_vlimited(s, src, prio, fmt, ap);
	va_end(ap);
}

void xp__serve_vlimited(struct serve *s, enum serve_src src, int prio, const char *fmt, va_list ap)
{
	if (!s->opts->log)
		return;
	char msg[SERVE_LOG_MAX];
	int n = snprintf(msg, sizeof(msg), "%s: ", src_names[src]);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	pthread_mutex_lock(&s->limit_lock);
	struct loglimit *l = &s->limit[src][prio >= LOG_DEBUG];
	bool now = l->used < SERVE_LIMIT_PER_SEC;
	if (now) {
		l->used++;
	} else {
		if (!l->dropped || prio < l->prio)
			l->prio = prio;
		l->dropped++;
		memcpy(l->last, msg, strlen(msg) + 1);
	}
	pthread_mutex_unlock(&s->limit_lock);
	if (now)
		emit(s->opts, prio, msg);
}

bool xp__serve_limited_full(struct serve *s, enum serve_src src, int prio)
{
	pthread_mutex_lock(&s->limit_lock);
	bool full = s->limit[src][prio >= LOG_DEBUG].used >= SERVE_LIMIT_PER_SEC;
	pthread_mutex_unlock(&s->limit_lock);
	return full;
}

void xp__serve_limited_flush(struct serve *s)
{
	for (int src = 0; src < SRC_N; src++)
		for (int dbg = 0; dbg < 2; dbg++) {
			struct loglimit *l = &s->limit[src][dbg];
			char last[SERVE_LOG_MAX];
			pthread_mutex_lock(&s->limit_lock);
			uint64_t dropped = l->dropped;
			int prio = l->prio;
			if (dropped)
				memcpy(last, l->last, sizeof(last));
			l->used = 0;
			l->dropped = 0;
			pthread_mutex_unlock(&s->limit_lock);
			if (!dropped)
				continue;
			size_t skip = strlen(src_names[src]) + 2; /* "tftp: " */
			xp__serve_log(s, prio,
				  "%s: %llu more message(s) like these in the last second not "
				  "logged (at most %d a second); the last: %s",
				  src_names[src], (unsigned long long)dropped, SERVE_LIMIT_PER_SEC,
				  last + skip);
		}
}

int64_t xp__serve_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xp__serve_watch(struct serve *s, struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

void xp__serve_unwatch_close(struct serve *s, struct watch *w)
{
	if (w->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	close(w->fd);
	w->fd = -1;
}

const struct iface *xp__serve_iface(struct serve *s, int ifindex)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->n_ifaces; i++)
			if (s->ifaces[i].index == ifindex)
				return &s->ifaces[i];
		/* an interface that appeared after the start (a tap device coming up);
		 * with --interface, packets of other interfaces are simply not ours */
		if (pass > 0 || !s->all_ifaces)
			return NULL;
		int64_t now = xp__serve_now_ms();
		if (now - s->ifaces_read_ms < 1000)
			return NULL;
		s->ifaces_read_ms = now;
		if (xp__sys_ifaces_refresh(s) < 0)
			return NULL;
	}
	return NULL;
}

const char *xp__serve_setting(const struct serve *s, const char *key)
{
	const char *v = xp_settings_get(&s->settings, key);
	return v ? v : xp_server_setting_default(key);
}

int xp__serve_settings_read(const struct serve *s, struct xp_inv *inv, struct xp_settings *out)
{
	int r = xp_server_settings_get(inv, out);
	if (r == 0 && s->opts->server && (r = xp_settings_set(out, "server", s->opts->server)) < 0)
		xp_settings_release(out);
	return r;
}

static int load_settings(struct serve *s)
{
	struct xp_settings st = {0};
	int r = xp__serve_settings_read(s, s->inv, &st);
	if (r < 0)
		return r;
	xp_settings_release(&s->settings);
	s->settings = st;
	return 0;
}

uint16_t xp__serve_http_port(const struct serve *s, const struct xp_settings *st)
{
	if (s->opts->http_port)
		return s->opts->http_port;
	const char *v = xp_settings_get(st, "http-port");
	if (!v)
		v = xp_server_setting_default("http-port");
	return (uint16_t)atoi(v ? v : "80");
}

void xp__serve_http_base(const struct serve *s, const struct xp_settings *st, char *buf,
		     size_t size)
{
	if (!s->opts->http)
		snprintf(buf, size, "%s", "");
	else
		xp_autoinstall_http_base(st, xp__serve_http_port(s, st), buf, size);
}

int xp__serve_open_boot(const struct serve *s, const struct xp_settings *st, struct xp_inv *inv,
		    bool snapshot, struct xp_boot **ret)
{
	*ret = NULL;
	const char *v = xp_settings_get(st, "tftp-root");
	char *root = NULL;
	if (v)
		root = strdup(v);
	else if (asprintf(&root, "%s/tftp", s->opts->state_dir) < 0)
		root = NULL;
	if (!root)
		return -ENOMEM;
	if (!v)
		xp_mkdir_p(root, 0755);
	/* the distro store, made here so that the server's user is given it (sys.c) */
	char store[4200];
	snprintf(store, sizeof(store), "%s/distro-files", s->opts->state_dir);
	xp_mkdir_p(store, 0755);
	if (xp_inv_root_check(inv, root) < 0) {
		xp__serve_log((struct serve *)s, LOG_ERR,
			  "the TFTP root '%s' is or holds the state directory '%s': the inventory "
			  "and the API token would be served; set tftp-root to a directory of "
			  "its own",
			  root, s->opts->state_dir);
		free(root);
		return -EACCES;
	}
	const char *server = xp_settings_get(st, "server");
	char http_base[128];
	xp__serve_http_base(s, st, http_base, sizeof(http_base));
	struct xp_boot_opts bo = {
		.tftp_root = root,
		.http_base = http_base[0] ? http_base : NULL,
		.server = server,
		.installer = s->icache ? xp__installer_cache_file : NULL,
		.installer_ctx = s->icache,
		.no_install = snapshot,
	};
	int r = xp_boot_new(inv, &bo, ret);
	if (r < 0)
		xp__serve_log((struct serve *)s, LOG_ERR, "cannot open the TFTP root '%s': %s", root,
			  strerror(-r));
	free(root);
	return r;
}

/* Distros of an older inventory, whose files were served from where they were: not
 * served until the operator gives the files again (their recorded paths are not taken
 * on trust: an older API let anyone with the token set them). */
static void warn_unserved(struct serve *s)
{
	char **names;
	size_t n;
	if (xp_distro_list(s->inv, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct xp_distro d;
		if (xp_distro_get(s->inv, names[i], &d) < 0)
			continue;
		if (!xp_distro_in_store(&d))
			xp__serve_log(s, LOG_WARNING,
				  "distro '%s' is not served: its files are not in the distro "
				  "store (it was added by an older xenprov); run 'xenprov distro "
				  "edit %s --kernel PATH%s' to copy them there",
				  d.name, d.name, d.initrd ? " --initrd PATH" : "");
		xp_distro_release(&d);
	}
	xp_strv_free(names, n);
}

static int open_boot(struct serve *s)
{
	struct xp_boot *b;
	int r = xp__serve_open_boot(s, &s->settings, s->inv, false, &b);
	if (r < 0)
		return r;
	xp_boot_free(s->boot);
	s->boot = b;
	return 0;
}

/* Reloads settings, boot files and the DHCP configuration; on failure the server goes
 * on with what it had. */
/* A system marked to install itself will ask for the installer soon: built now, ahead
 * of its TFTP request, which cannot wait for a build (installer-cache.c). */
static void prewarm_installer(struct serve *s)
{
	if (s->icache && xp_install_any_marked(s->inv) > 0)
		xp__installer_cache_prewarm(s->icache);
}

static void reload(struct serve *s, const char *why, bool force)
{
	struct xp_settings old = s->settings;
	memset(&s->settings, 0, sizeof(s->settings));
	int r = load_settings(s);
	if (r < 0) {
		s->settings = old;
		xp__serve_log(s, LOG_ERR, "reload (%s): cannot read the settings: %s", why,
			  strerror(-r));
		return;
	}
	/* the resolver reads distros and systems itself: a new one only for new settings */
	bool changed = !xp_settings_equal(&old, &s->settings);
	xp_settings_release(&old);
	if ((changed || force || !s->boot) && (s->tftp || s->http))
		open_boot(s);
	if (force && (s->tftp || s->http))
		warn_unserved(s);
	if (s->dhcp && (r = xp__dhcp_srv_reload(s->dhcp)) < 0)
		xp__serve_log(s, LOG_ERR, "reload (%s): DHCP configuration kept: %s", why,
			  strerror(-r));
	else
		xp__serve_log(s, LOG_INFO, "reloaded (%s)", why);
	xp__snapshot_request(s); /* PostgreSQL: what was read, kept (none on SQLite) */
	prewarm_installer(s);
}

/* ---- PostgreSQL: notifications and reconnection -------------------------------------
 * Writers notify inside their transaction (xp_inv_begin); a connection of the server's
 * own listens and the main loop reloads when one arrives, as it does on SQLite when
 * data_version moves; after each reload a snapshot of the inventory is taken in the
 * background (serve-snapshot.c). When the database goes away (restarted, the network)
 * the connections are tried again here, in the main loop (the HTTP thread's too, never
 * on a request), 1 s, 2 s, 4 s... up to 30 s apart; meanwhile boot configs and files are
 * served from the last snapshot (TFTP here, HTTP in its thread), the DHCP
 * configuration from what was read, no DHCP reply that needs a lease leaves (its claim
 * cannot commit) and the HTTP API answers 503 at once. On the way back everything is
 * read again: what changed meanwhile was not notified to us. */
#define PG_BACKOFF_MAX_MS 30000
/* A burst of commits (a deploy of many guests) is one reload per this long: the first
 * at once, the rest together at the end of the interval (still within a second). */
#define PG_RELOAD_GAP_MS 500

static void pg_changed(struct serve *s, const char *why)
{
	atomic_fetch_add(&s->changes, 1);
	s->pg_dirty = false;
	s->pg_reload_ms = xp__serve_now_ms();
	reload(s, why, false);
}

struct xp_boot *xp__serve_boot(struct serve *s)
{
	/* without a snapshot, the live one: plain files need no inventory */
	return s->pg_down && s->snap_view.boot ? s->snap_view.boot : s->boot;
}

/* When the reload a notification asked for is due (INT64_MAX: none waits). */
static int64_t pg_due(const struct serve *s)
{
	return s->pg_dirty ? s->pg_reload_ms + PG_RELOAD_GAP_MS : INT64_MAX;
}

static void pg_flush(struct serve *s, int64_t now)
{
	if (s->pg_dirty && now >= pg_due(s))
		pg_changed(s, "inventory changed");
}

static void pg_lost(struct serve *s, const char *what)
{
	if (s->listen.fd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen.fd, NULL); /* libpq's to close */
	s->listen.fd = -1;
	if (s->pg_down)
		return;
	s->pg_down = true;
	atomic_store(&s->pg_away, true);
	s->pg_backoff_ms = 1000;
	s->pg_retry_ms = xp__serve_now_ms() + s->pg_backoff_ms;
	xp__serve_log(s, LOG_ERR,
		      "the inventory's database is out of reach (%s): serving from what was "
		      "read, no new leases until it is back; trying again in 1 s",
		      what);
	int r = xp__snapshot_open(s, &s->settings, &s->snap_view);
	if (r == 0) {
		struct tm tm;
		char when[32];
		localtime_r(&s->snap_view.taken, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		xp__serve_log(s, LOG_INFO,
			      "boot configs and files served from the inventory's snapshot of %s "
			      "(read-only) until the database is back",
			      when);
	} else {
		xp__serve_log(s, LOG_WARNING,
			      "no snapshot of the inventory to serve boot configs from (%s): TFTP "
			      "and HTTP answer an error until the database is back",
			      r == -ENOENT ? "none taken yet" : strerror(-r));
	}
}

static void on_listen(struct serve *s, struct watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	int r = xp_inv_notified(s->listen_inv);
	if (r > 0) {
		s->pg_dirty = true;
		pg_flush(s, xp__serve_now_ms());
	} else if (r < 0) {
		pg_lost(s, xp_inv_errmsg(s->listen_inv));
	}
}

static int pg_listen(struct serve *s)
{
	int fd = xp_inv_listen(s->listen_inv);
	if (fd < 0)
		return fd;
	s->listen = (struct watch){fd, on_listen};
	int r = xp__serve_watch(s, &s->listen, EPOLLIN);
	if (r < 0)
		s->listen.fd = -1;
	return r;
}

/* ---- resetting the connections without waiting (issue 20) ----
 * Each reset goes in steps (xp_inv_reconnect_start, then _poll whenever its socket is
 * ready, or at the ticks), so that the main loop serves TFTP and DHCP meanwhile even
 * when the database's host answers nothing at all (SYNs unanswered: libpq would wait
 * for the kernel's retries, minutes). Until a connection is back it counts as lost:
 * DHCP claims see the database away, the HTTP thread keeps off its own. An attempt not
 * done within PG_RESET_MS is given up and counts as a failure. */
#define PG_RESET_MS 10000
enum { PG_MAIN, PG_LISTENER, PG_HTTP, PG_N };

static void pg_reset_unwatch(struct serve *s, int k)
{
	if (s->pg_reset_w[k].fd >= 0) /* before libpq may close it */
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->pg_reset_w[k].fd, NULL);
	s->pg_reset_w[k].fd = -1;
}

static void pg_reset_stop(struct serve *s)
{
	for (int k = 0; k < PG_N; k++) {
		pg_reset_unwatch(s, k);
		s->pg_resetting[k] = false;
	}
	s->pg_reset_end_ms = 0;
}

/* One step of each connection being reset: 1 all done, 0 not yet, -errno one failed
 * (*failed says which). */
static int pg_reset_step(struct serve *s, int *failed)
{
	int done = 1;
	for (int k = 0; k < PG_N; k++) {
		if (!s->pg_resetting[k])
			continue;
		pg_reset_unwatch(s, k);
		int fd = -1;
		short ev = 0;
		int r = k == PG_HTTP ? xp__http_srv_reconnect_poll(s->http, &fd, &ev)
				     : xp_inv_reconnect_poll(k == PG_MAIN ? s->inv : s->listen_inv,
							     &fd, &ev);
		if (r < 0) {
			*failed = k;
			return r;
		}
		if (r > 0) {
			s->pg_resetting[k] = false;
			continue;
		}
		done = 0;
		/* not watched (no socket, or epoll refused): tried again at the next tick */
		s->pg_reset_w[k].fd = fd;
		if (fd >= 0 &&
		    xp__serve_watch(s, &s->pg_reset_w[k], ev == POLLIN ? EPOLLIN : EPOLLOUT) < 0)
			s->pg_reset_w[k].fd = -1;
	}
	return done;
}

static void pg_back(struct serve *s);

/* An attempt ended (r 0: every connection back): for the HTTP thread's alone, tried
 * again at the next tick if it failed; else listening again and back, or the next
 * attempt on the schedule. */
static void pg_reset_end(struct serve *s, int r, int failed)
{
	bool alone = !s->pg_down;
	pg_reset_stop(s);
	if (alone)
		return;
	if (r == 0) {
		failed = PG_LISTENER;
		r = pg_listen(s);
	}
	if (r == 0) {
		pg_back(s);
		return;
	}
	char why[320];
	if (r == -ETIMEDOUT)
		snprintf(why, sizeof(why), "no answer within %d s", PG_RESET_MS / 1000);
	else if (failed == PG_HTTP)
		snprintf(why, sizeof(why), "HTTP's connection: %s",
			 r == -EBUSY ? "not reset" : strerror(-r));
	else
		snprintf(why, sizeof(why), "%s",
			 xp_inv_errmsg(failed == PG_MAIN ? s->inv : s->listen_inv));
	if (s->pg_backoff_ms < PG_BACKOFF_MAX_MS)
		s->pg_backoff_ms *= 2;
	if (s->pg_backoff_ms > PG_BACKOFF_MAX_MS)
		s->pg_backoff_ms = PG_BACKOFF_MAX_MS;
	s->pg_retry_ms = xp__serve_now_ms() + s->pg_backoff_ms;
	xp__serve_log(s, LOG_WARNING,
		      "the inventory's database is still out of reach (%s): trying again in "
		      "%lld s",
		      why, (long long)s->pg_backoff_ms / 1000);
}

/* Whenever a socket of a reset is ready, and at each tick (the deadline). */
static void pg_reset_poll(struct serve *s)
{
	if (!s->pg_reset_end_ms)
		return;
	int failed = PG_MAIN;
	int r = pg_reset_step(s, &failed);
	if (r == 0 && xp__serve_now_ms() >= s->pg_reset_end_ms) {
		r = -ETIMEDOUT;
		for (int k = PG_N - 1; k >= 0; k--)
			if (s->pg_resetting[k])
				failed = k;
	}
	if (r != 0)
		pg_reset_end(s, r < 0 ? r : 0, failed);
}

static void on_reset(struct serve *s, struct watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	pg_reset_poll(s);
}

/* Starts resetting the connections in mask (1 << PG_MAIN...). */
static void pg_reset_begin(struct serve *s, unsigned mask)
{
	for (int k = 0; k < PG_N; k++) {
		if (!(mask & 1u << k))
			continue;
		int r = k == PG_HTTP
			    ? xp__http_srv_reconnect_start(s->http, s->pg_down)
			    : xp_inv_reconnect_start(k == PG_MAIN ? s->inv : s->listen_inv);
		s->pg_resetting[k] = k == PG_HTTP ? r > 0 : r == 0;
		if (k == PG_HTTP && r == -EBUSY)
			continue; /* a request in flight: its own reset later, alone; DHCP's
				   * recovery does not wait for it */
		if (r < 0) {
			pg_reset_end(s, r, k);
			return;
		}
	}
	s->pg_reset_end_ms = xp__serve_now_ms() + PG_RESET_MS;
	pg_reset_poll(s);
}

/* The tick's look at the connections: one that was lost (the listener says so at once,
 * the main one at its next statement) is tried again on the schedule. */
static void pg_check(struct serve *s)
{
	if (!s->listen_inv)
		return;
	if (!s->pg_down && (xp_inv_lost(s->inv) || xp_inv_lost(s->listen_inv))) {
		pg_reset_stop(s); /* the HTTP thread's alone: all of them now, on the schedule */
		pg_lost(s, xp_inv_errmsg(!xp_inv_lost(s->inv) ? s->listen_inv : s->inv));
	}
	if (s->pg_reset_end_ms) {
		pg_reset_poll(s);
		return;
	}
	if (!s->pg_down) {
		/* the HTTP thread's connection alone lost (its backend ended): reset here,
		 * while that thread serves from the snapshot */
		if (s->http && xp__http_srv_lost(s->http))
			pg_reset_begin(s, 1u << PG_HTTP);
		return;
	}
	if (xp__serve_now_ms() < s->pg_retry_ms)
		return;
	/* all of them: the main loop's and the HTTP thread's backends are gone with the
	 * listener's even when no statement said so yet (a restarted server ended them) */
	pg_reset_begin(s, 1u << PG_MAIN | 1u << PG_LISTENER | (s->http ? 1u << PG_HTTP : 0));
}

static void pg_back(struct serve *s)
{
	s->pg_down = false;
	atomic_store(&s->pg_away, false);
	xp__snapshot_close(s, &s->snap_view);
	xp__serve_log(s, LOG_INFO, "the inventory's database is back: reconnected");
	pg_changed(s, "reconnected");
}

static int pg_open(struct serve *s)
{
	s->listen.fd = -1;
	for (int k = 0; k < PG_N; k++)
		s->pg_reset_w[k] = (struct watch){-1, on_reset};
	int r = xp_inv_open(s->opts->state_dir, &s->listen_inv);
	if (r == 0)
		r = pg_listen(s);
	if (r < 0)
		xp__serve_log(s, LOG_ERR, "cannot listen for the inventory's changes: %s",
			      s->listen_inv ? xp_inv_errmsg(s->listen_inv) : strerror(-r));
	return r;
}

static void check_changes(struct serve *s)
{
	if (s->listen_inv) {
		pg_check(s);
		return;
	}
	int64_t v;
	if (xp_inv_data_version(s->inv, &v) == 0 && v != s->data_version) {
		s->data_version = v;
		reload(s, "inventory changed", false);
	}
}

static void begin_stop(struct serve *s, int signo)
{
	if (s->stopping)
		return;
	s->stopping = true;
	s->stop_deadline_ms = xp__serve_now_ms() + XP_SERVE_DRAIN_SECONDS * 1000;
	xp__sys_notify("STOPPING=1");
	xp__serve_log(s, LOG_INFO, "%s: finishing transfers in flight, then stopping",
		  strsignal(signo));
	if (s->dhcp) {
		xp__dhcp_srv_close(s->dhcp);
		s->dhcp = NULL;
	}
	if (s->tftp)
		xp__tftp_srv_stop_accepting(s->tftp);
	if (s->http)
		xp__http_srv_quiesce(s->http);
}

static void on_signal(struct serve *s, struct watch *w, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			xp__sys_notify("RELOADING=1");
			reload(s, "SIGHUP", true); /* also reopens the TFTP root */
			xp__sys_notify("READY=1");
		} else {
			begin_stop(s, (int)si.ssi_signo);
		}
	}
}

/* The WAL checkpointer: the DHCP loop's connection never checkpoints (a checkpoint
 * writes and syncs the database file: tens of milliseconds in which requests would pile
 * up and be dropped); this thread does, once a second, from a connection of its own,
 * PASSIVE so that it never waits for the loop's commits nor makes them wait. */
static void *checkpoint_main(void *arg)
{
	struct checkpointer *c = arg;
	struct pollfd p = {.fd = c->stop, .events = POLLIN};
	while (poll(&p, 1, 1000) == 0 || (p.revents == 0 && errno == EINTR))
		xp_inv_checkpoint(c->inv);
	xp_inv_checkpoint(c->inv);
	return NULL;
}

static int checkpointer_open(struct serve *s, struct checkpointer *c)
{
	c->stop = eventfd(0, EFD_CLOEXEC);
	if (c->stop < 0)
		return -errno;
	int r = xp_inv_open(s->opts->state_dir, &c->inv);
	if (r == 0)
		r = xp_inv_set_durability(c->inv, false);
	if (r == 0)
		r = xp_inv_set_autocheckpoint(s->inv, false);
	return r;
}

static int checkpointer_start(struct checkpointer *c)
{
	int r = pthread_create(&c->thread, NULL, checkpoint_main, c);
	c->running = r == 0;
	return -r;
}

static void checkpointer_close(struct serve *s, struct checkpointer *c)
{
	if (c->running) {
		uint64_t one = 1;
		(void)!write(c->stop, &one, sizeof(one));
		pthread_join(c->thread, NULL);
	} else if (s->inv) {
		xp_inv_set_autocheckpoint(s->inv, true);
	}
	if (c->stop >= 0)
		close(c->stop);
	xp_inv_close(c->inv);
}

static bool drained(struct serve *s)
{
	return (!s->tftp || xp__tftp_srv_sessions(s->tftp) == 0) &&
	       (!s->http || xp__http_srv_connections(s->http) == 0);
}

static int setup(struct serve *s, sigset_t *mask)
{
	const struct xp_serve_opts *o = s->opts;
	char why[640];
	int r = xp_inv_open_at(o->state_dir, NULL, &s->inv, why, sizeof(why));
	if (r < 0) {
		if (why[0])
			xp__serve_log(s, LOG_ERR, "cannot open the %s", why);
		else
			xp__serve_log(s, LOG_ERR, "cannot open the inventory in '%s': %s",
				      o->state_dir,
				      r == -EPROTO || r == -EBADMSG ? "not a usable inventory"
								    : strerror(-r));
		return r;
	}
	/* leases are written for every batch of packets: durable against a kill of the
	 * process (WAL, no fsync per commit), see leases.h */
	xp_inv_set_durability(s->inv, false);
	xp_inv_data_version(s->inv, &s->data_version);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	/* the server notices other commands' changes by SQLite's data_version, polled;
	 * on PostgreSQL by their notifications (listening before anything is read, so
	 * that no change falls between the reading and the listening) */
	if (xp_inv_is_pgsql(s->inv)) {
		xp__snapshot_init(s);
		if ((r = pg_open(s)) < 0)
			return r;
	}
	if ((r = load_settings(s)) < 0) {
		xp__serve_log(s, LOG_ERR, "cannot read the settings: %s", strerror(-r));
		return r;
	}
	if (!xp_settings_get(&s->settings, "server")) {
		xp__serve_log(s, LOG_ERR, "the server's address is not set: run 'xenprov settings "
				      "set server ADDRESS' (the address clients reach it at)");
		return -EINVAL;
	}
	s->all_ifaces = o->n_interfaces == 0;
	r = xp__sys_ifaces(o->interfaces, o->n_interfaces, &s->ifaces, &s->n_ifaces);
	if (r < 0) {
		xp__serve_log(s, LOG_ERR, "%s", r == -ENODEV ? "no such interface" : strerror(-r));
		return r;
	}
	if (o->tftp || o->http) {
		const char *tr = xp_settings_get(&s->settings, "tftp-root");
		char dflt[4200];
		snprintf(dflt, sizeof(dflt), "%s/tftp", o->state_dir);
		if ((r = xp__installer_cache_new(s, tr ? tr : dflt, &s->icache)) < 0)
			return r;
	}
	if ((o->tftp || o->http) && (r = open_boot(s)) < 0)
		return r;
	if (o->tftp || o->http)
		warn_unserved(s);

	/* two descriptors a TFTP transfer, one an HTTP connection: the usual soft limit of
	 * 1024 is too low, the hard limit is what the administrator allows */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, mask, NULL) != 0)
		return -EINVAL;
	signal(SIGPIPE, SIG_IGN);
	s->sig.fd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	s->sig.ready = on_signal;
	if (s->sig.fd < 0 || (r = xp__serve_watch(s, &s->sig, EPOLLIN)) < 0)
		return s->sig.fd < 0 ? -errno : r;

	if (o->dhcp && (r = xp__dhcp_srv_open(s, &s->dhcp)) < 0)
		return r;
	/* PostgreSQL checkpoints by itself: no thread, no connection for it */
	bool ckpt = o->dhcp && !s->listen_inv;
	if (ckpt && (r = checkpointer_open(s, &s->ckpt)) < 0) {
		xp__serve_log(s, LOG_ERR, "cannot open the inventory's checkpointer: %s", strerror(-r));
		return r;
	}
	if (o->tftp && (r = xp__tftp_srv_open(s, &s->tftp)) < 0)
		return r;
	if (o->http && (r = xp__http_srv_bind(s, &s->http)) < 0)
		return r;
	if (o->pid_file && (r = xp__sys_pid_file_write(o->pid_file)) < 0) {
		xp__serve_log(s, LOG_ERR, "cannot write the pid file '%s': %s", o->pid_file,
			  strerror(-r));
		return r;
	}
	if (o->pid_file)
		s->pid_fd = r;
	if ((r = xp__sys_drop_privileges(o->user, o->state_dir)) < 0) {
		xp__serve_log(s, LOG_ERR, "cannot switch to user '%s': %s", o->user,
			  r == -ESRCH ? "no such user" : strerror(-r));
		return r;
	}
	if (s->icache && (r = xp__installer_cache_start(s->icache)) < 0)
		return r;
	prewarm_installer(s);
	/* without snapshots the server still runs: boot configs then fail while the
	 * database is away, as they did before snapshots */
	if (s->listen_inv && (o->tftp || o->http) && (r = xp__snapshot_start(s)) < 0)
		xp__serve_log(s, LOG_WARNING,
			      "cannot take snapshots of the inventory in '%s/snapshots' (%s): boot "
			      "configs will not be served while the database is away",
			      o->state_dir, strerror(-r));
	if (s->http && (r = xp__http_srv_start(s->http)) < 0)
		return r;
	if (s->tftp && (r = xp__tftp_srv_start(s->tftp)) < 0)
		return r;
	if (o->dhcp && !s->listen_inv && (r = checkpointer_start(&s->ckpt)) < 0)
		return r;
	return 0;
}

int xp_serve_run(const struct xp_serve_opts *opts)
{
	struct serve s = {.opts = opts,
			  .epfd = -1,
			  .sig = {.fd = -1},
			  .listen = {.fd = -1},
			  .pid_fd = -1,
			  .ckpt = {.stop = -1},
			  .limit_lock = PTHREAD_MUTEX_INITIALIZER};
	sigset_t mask;
	int r = setup(&s, &mask);
	if (r == 0) {
		xp__sys_notify("READY=1");
		xp__serve_log(&s, LOG_INFO, "serving%s%s%s as %s", s.dhcp ? " DHCP" : "",
			  s.tftp ? " TFTP" : "", s.http ? " HTTP" : "",
			  xp__serve_setting(&s, "server"));
		int64_t next_tick = xp__serve_now_ms() + 1000;
		for (;;) {
			int64_t now = xp__serve_now_ms();
			int64_t wake = next_tick;
			if (s.dhcp && xp__dhcp_srv_deadline(s.dhcp) < wake)
				wake = xp__dhcp_srv_deadline(s.dhcp);
			if (pg_due(&s) < wake)
				wake = pg_due(&s);
			int timeout = wake <= now ? 0 : (int)(wake - now);
			struct epoll_event ev[64];
			int n = epoll_wait(s.epfd, ev, 64, timeout);
			if (n < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			for (int i = 0; i < n; i++) {
				struct watch *w = ev[i].data.ptr;
				w->ready(&s, w, ev[i].events);
			}
			now = xp__serve_now_ms();
			if (s.dhcp)
				xp__dhcp_srv_flush(s.dhcp, now);
			if (!s.stopping)
				pg_flush(&s, now);
			if (now >= next_tick) {
				next_tick = now + 1000;
				if (!s.stopping)
					check_changes(&s);
				xp__serve_limited_flush(&s);
			}
			if (s.stopping && (drained(&s) || now >= s.stop_deadline_ms))
				break;
		}
		xp__serve_limited_flush(&s);
		xp__serve_log(&s, LOG_INFO, "stopped");
	}
	if (s.http)
		xp__http_srv_close(s.http);
	xp__snapshot_close(&s, &s.snap_view);
	xp__snapshot_stop(&s);
	checkpointer_close(&s, &s.ckpt);
	xp_inv_close(s.listen_inv);
	xp__installer_cache_free(s.icache);
	if (s.tftp)
		xp__tftp_srv_close(s.tftp);
	if (s.dhcp)
		xp__dhcp_srv_close(s.dhcp);
	if (s.sig.fd >= 0)
		close(s.sig.fd);
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.pid_fd >= 0)
		xp__sys_pid_file_remove(opts->pid_file, s.pid_fd);
	xp_boot_free(s.boot);
	xp_settings_release(&s.settings);
	free(s.ifaces);
	xp_inv_close(s.inv);
	if (s.sig.fd >= 0)
		pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	return r;
}
