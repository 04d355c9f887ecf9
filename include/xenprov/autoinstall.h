/*
 * autoinstall.h - the server's side of autoinstall marks (src/lib/inventory/install.c):
 * a system marked to be installed on its next network boot, the token its rendered boot
 * config carries, and the events its installer posts back.
 *
 * Installs and attempts. Marking a system not marked starts an install (its id, shown
 * as "#N"); an install has attempts, the first being 1. The token is the attempt's:
 * HMAC-SHA256 under the server's key (STATE/install-key, 32 random bytes made on first
 * use, 0600, never in the database) of the system's name, the install's id, a random
 * nonce drawn when the install starts and the attempt's number. Rendering only reads,
 * so every rendering of one state carries the same token (a TFTP retransmit, HEAD then
 * GET, a resumed Range, a spoofed RRQ change nothing), and the inventory keeps nothing
 * that is a token. An attempt runs once its installer posted an event (its newest event
 * is a progress event). It ends when its installer reports failure or success
 * (progress events, "started" among them, end nothing), when the operator unmarks the
 * system (marking it again starts a new install), or when the next attempt's installer
 * reports: while an attempt runs, a boot config rendered for the system carries the
 * next attempt's token (a running installer never fetches its config again: whoever
 * does is the machine booting again, killed half way), and the first event with that
 * token ends the running attempt as "abandoned" (xp_install_boot_token,
 * xp_install_event). So nothing that anyone on the boot network can forge without
 * receiving what the server sends to the system's own address (a DHCP request with its
 * MAC, a TFTP request with its address as the source) ends or disturbs a running
 * install: the proof is the next token, rendered only to the system's address.
 *
 * Not here: the installer itself, rendering (boot/target.c), the HTTP route
 * (net/http-install.c).
 */
#ifndef XENPROV_AUTOINSTALL_H
#define XENPROV_AUTOINSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "xenprov/inventory.h"

/* A token's length in hex digits (an HMAC-SHA256). */
#define XP_INSTALL_TOKEN_LEN 64
/* The events kept per system: the newest; older ones are dropped as new ones come. */
#define XP_INSTALL_EVENTS_MAX 200
/* An event's step and message are at most this long (bytes). */
#define XP_INSTALL_STEP_MAX 64
#define XP_INSTALL_MESSAGE_MAX 1024

struct xp_install_event {
	int64_t time;  /* unix seconds */
	char *kind;    /* "progress", "failure" or "success" */
	char *step;    /* the installer's word for the step ("started", "partition", ...) */
	char *message; /* or NULL */
};

struct xp_install_state {
	bool marked;     /* to be installed on its next network boot */
	int64_t id;      /* the install's number for this system (0: never marked) */
	int64_t attempt; /* the current (marked) or next attempt of that install */
	struct xp_install_event *ev; /* the last install's events kept, oldest first */
	size_t n_ev;
};

void xp_install_state_release(struct xp_install_state *s);

/* Marks (on) or unmarks system name. Marking a system already marked changes nothing
 * (its attempt and token stay); marking a system not marked starts a new install
 * (attempt 1, a new nonce: its earlier events are no longer the last install's).
 * Unmarking ends the attempt: its token is refused from then on. -ENOENT (no such
 * system). */
int xp_install_mark(struct xp_inv *inv, const char *name, bool on);
/* 1 if some system is marked to install itself, 0 if none, else -errno. */
int xp_install_any_marked(struct xp_inv *inv);
/* The state of system name (all zero when never marked). -ENOENT (no such system). */
int xp_install_get(struct xp_inv *inv, const char *name, struct xp_install_state *out);
/* For a marked system: its current attempt's token into tok (XP_INSTALL_TOKEN_LEN hex
 * digits and a NUL), the same for every call until the attempt ends: what an installer
 * holding it may use (the install grant). Reads only (the server's key is made once,
 * the first time one is needed). -ENOENT when the system is not marked; -EBADMSG when
 * STATE/install-key is not 64 hex digits. */
int xp_install_token(struct xp_inv *inv, const char *name, char tok[XP_INSTALL_TOKEN_LEN + 1]);
/* The token a boot config rendered now for system name carries: the current attempt's
 * before its installer posted anything, the next attempt's while it runs (a boot now is
 * the machine's next attempt; the running one ends only when that token's installer
 * reports: xp_install_event). Reads only. Errors as xp_install_token. */
int xp_install_boot_token(struct xp_inv *inv, const char *name, char tok[XP_INSTALL_TOKEN_LEN + 1]);
/* Whether token may read what system name's installer may (the install grant: its
 * profile and image): its current attempt's token, or while that attempt runs the next
 * one's (the machine booted again, and its new installer has not reported yet:
 * xp_install_boot_token). Ends nothing; compared in constant time. 0; -EACCES (another
 * token, not marked, no such system: one answer); -errno. */
int xp_install_token_check(struct xp_inv *inv, const char *name, const char *token);
/* Whether a client at peer (IPv4, host order; 0: unknown) is system s as the boot server
 * knows it: its reserved address when it has one (then nothing else); without one, an
 * address its MAC holds a bound, unexpired lease on. A lease proves only that someone
 * asked for one with that MAC: on a boot network where hosts can take another's MAC or
 * address, give systems that install themselves a reservation and keep the network
 * closed (xenprov check warns about marked systems without one). 1, 0 or -errno. */
int xp_install_peer_is_system(struct xp_inv *inv, const struct xp_system *s, uint32_t peer);
/* Records an installer's event for system name, posted from peer (as
 * xp_install_peer_is_system), with token. kind: "progress", "failure" or "success";
 * step: 1 to XP_INSTALL_STEP_MAX bytes of [a-z0-9_.-]; message: NULL or at most
 * XP_INSTALL_MESSAGE_MAX bytes of printable text.
 * -EINVAL (a bad kind, step or message); -EACCES (no such system, not marked, not its
 * address, not its current attempt's token: one answer for all, so that a caller
 * learns nothing). The address and the token are checked in a read transaction: a
 * refused event takes no write lock. The system keeps its XP_INSTALL_EVENTS_MAX newest
 * events.
 * success: the mark is cleared and the system's netboot set off (its next boot is from
 * its own disk). failure: the attempt ends (its token is refused from then on), the
 * mark is kept: the next boot renders the next attempt's token. A token of the attempt
 * after a running one (xp_install_boot_token) is taken too: first the running attempt
 * ends with a failure event "abandoned", then the event is the new attempt's. 0, or 1
 * when it ended an abandoned attempt so. */
int xp_install_event(struct xp_inv *inv, const char *name, uint32_t peer, const char *token,
		     const char *kind, const char *step, const char *message);

/* {"marked": bool, "id": N, "attempt": N, "events": [{"time", "kind", "step",
 * "message"}]} */
json_t *xp_install_state_to_json(const struct xp_install_state *s);

#endif
