/*
 * xenprov/serve.h - the boot server: DHCP (with PXE and iPXE), TFTP and HTTP in one
 * process, driven by the inventory (settings, distros, profiles, systems) and keeping
 * its DHCP leases there.
 *
 * One epoll loop in the calling thread runs DHCP and takes TFTP requests; TFTP
 * transfers run in worker threads (one per transfer, up to 64); libmicrohttpd runs
 * HTTP in a thread of its own with its own inventory connection; a thread checkpoints
 * the database. Inventory changes made by other processes (xenprov system add, the
 * HTTP API) are picked up within a second: no sync step. Signals are taken through a
 * signalfd, so the caller must not have handlers of its own for them: SIGHUP reloads,
 * SIGTERM and SIGINT stop taking new work, let transfers in flight finish (at most
 * XP_SERVE_DRAIN_SECONDS) and return.
 *
 * Not here: the protocols themselves (dhcp.h, tftp.h, pure), boot files (boot.h).
 */
#ifndef XENPROV_SERVE_H
#define XENPROV_SERVE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XP_SERVE_DRAIN_SECONDS 30

/* syslog priorities (LOG_ERR 3 ... LOG_DEBUG 7) */
typedef void (*xp_serve_log_fn)(void *ctx, int priority, const char *fmt, va_list ap);

#define XP_SERVE_TFTP_SPIN_US 200

struct xp_serve_opts {
	const char *state_dir;
	bool dhcp, tftp, http;
	const char *const *interfaces; /* names; none: every interface */
	size_t n_interfaces;
	const char *pid_file;	    /* written once every socket is bound; removed at exit */
	const char *server;	    /* this server's address, in place of the `server`
				     * setting (several servers on one shared inventory
				     * each answer as themselves); NULL: the setting */
	const char *user;	    /* when root: switch to this user once every socket is bound
				     * (the state directory becomes its); NULL: stay root but
				     * drop every capability; "root": keep everything */
	uint16_t dhcp_port;	    /* 0: 67 (the client port is then this + 1) */
	uint16_t tftp_port;	    /* 0: 69 */
	uint16_t http_port;	    /* 0: the http-port setting (default 80) */
	unsigned tftp_max_sessions; /* 0: 512 */
	unsigned tftp_spin_us;	    /* while transfers run, a TFTP worker polls this long
				     * for the next ACK before it sleeps (lock-step
				     * transfers wait a client round trip, less than a
				     * sleep and wake-up cost); 0: never (the command's
				     * default is XP_SERVE_TFTP_SPIN_US) */
	xp_serve_log_fn log;
	void *log_ctx;
};

/* Runs until SIGTERM/SIGINT. 0 after a clean stop; -errno (logged) when it cannot
 * start: settings incomplete (-EINVAL), a port in use (-EADDRINUSE), no such
 * interface (-ENODEV), unknown user (-ESRCH). */
int xp_serve_run(const struct xp_serve_opts *opts);

#endif
