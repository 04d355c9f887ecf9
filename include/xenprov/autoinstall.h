/*
 * autoinstall.h - the server's side of autoinstall marks (src/lib/inventory/install.c):
 * a system marked to be installed on its next network boot, the one-install token its
 * rendered boot config carries, and the events its installer posts back.
 *
 * The token is issued when a boot config is rendered for a marked system (each
 * rendering issues a fresh one and replaces the last): the inventory keeps only its
 * SHA-256, so it cannot be rendered again later, and the only token that works is the
 * one in the newest config. A failure or success event ends that token's install.
 *
 * Not here: the installer itself, the HTTP route (net/http-api.c).
 */
#ifndef XENPROV_AUTOINSTALL_H
#define XENPROV_AUTOINSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "xenprov/inventory.h"

/* A token's length in hex digits (32 random bytes). */
#define XP_INSTALL_TOKEN_LEN 64
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
	bool token;      /* a boot config with a live token has been rendered */
	int64_t id;      /* the install's number for this system (0: never marked) */
	struct xp_install_event *ev; /* the last install's events, oldest first */
	size_t n_ev;
};

void xp_install_state_release(struct xp_install_state *s);

/* Marks (on) or unmarks system name. Marking a system already marked changes nothing;
 * marking a system not marked starts a new install (its earlier events are no longer
 * the last install's). Unmarking drops its token. -ENOENT (no such system). */
int xp_install_mark(struct xp_inv *inv, const char *name, bool on);
/* The state of system name (all zero when never marked). -ENOENT (no such system). */
int xp_install_get(struct xp_inv *inv, const char *name, struct xp_install_state *out);
/* For a marked system: a fresh token into tok (XP_INSTALL_TOKEN_LEN hex digits and a
 * NUL), its hash stored in place of the last. -ENOENT when the system is not marked
 * (nothing written). */
int xp_install_token_issue(struct xp_inv *inv, const char *name, char tok[XP_INSTALL_TOKEN_LEN + 1]);
/* Records an installer's event for system name, with token. kind: "progress",
 * "failure" or "success"; step: 1 to XP_INSTALL_STEP_MAX bytes of [a-z0-9_.-];
 * message: NULL or at most XP_INSTALL_MESSAGE_MAX bytes of printable text.
 * -EINVAL (a bad kind, step or message); -EACCES (no such system, not marked, no
 * token, or not its token: one answer for all, so that a caller learns nothing).
 * success: the mark and the token are cleared and the system's netboot set off (its
 * next boot is from its own disk). failure: the token is cleared (the next boot
 * renders a new one), the mark kept. */
int xp_install_event(struct xp_inv *inv, const char *name, const char *token, const char *kind,
		     const char *step, const char *message);

/* {"marked": bool, "id": N, "events": [{"time", "kind", "step", "message"}]} */
json_t *xp_install_state_to_json(const struct xp_install_state *s);

#endif
