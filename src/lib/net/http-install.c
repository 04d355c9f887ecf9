/*
 * http-install.c - POST /api/systems/NAME/events: an autoinstall installer's progress,
 * failure and success, with the one-install token its boot config carried
 * (autoinstall.h). The body is a JSON object of at most XP__HTTP_EVENT_MAX bytes:
 * {"token": T, "kind": "progress"|"failure"|"success", "step": S, "message": M?},
 * and nothing else. Every refusal is one answer (403) whatever the reason (no such
 * system, not marked, not from the system's own address, a stale or another system's
 * token), logged with limits (anyone on the network can cause them); the token and the
 * address are checked before any write lock is taken (a flood of refused events does
 * not queue the boot server's writers). Every accepted event is logged, a failure with
 * its reason, and the first of a new attempt that superseded a running one (the machine
 * booted again half way: its new installer holds the next attempt's token) with a
 * warning.
 *
 * Not here: the token (inventory/install.c, rendered by boot/target.c), the store.
 */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <string.h>
#include <syslog.h>

#include "net/http-internal.h"
#include "xenprov/autoinstall.h"

/* The body's bound: the token, a step and a message of XP_INSTALL_MESSAGE_MAX, with
 * room for JSON's escapes. */
#define EVENT_MAX 4096

static const char *str_member(json_t *o, const char *key, bool *bad)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return NULL;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = true; /* not a string, or one with a NUL inside */
		return NULL;
	}
	return json_string_value(v);
}

enum MHD_Result xp__http_install_event(struct http_srv *h, struct MHD_Connection *c,
				       const char *method, const char *name,
				       const struct xp_buf *body)
{
	if (strcmp(method, "POST") != 0)
		return xp__http_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					    "events are posted (POST) by the installer");
	char peer[INET_ADDRSTRLEN] = "?";
	uint32_t ip = 0;
	if (!xp__http_peer(c, &ip, peer))
		ip = 0; /* not IPv4: no system's address */
	if (body->len > EVENT_MAX)
		return xp__http_reply_error(c, 413, "the event is over 4 KiB");
	json_error_t je;
	json_t *o = json_loadb(body->s ? body->s : "", body->len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return xp__http_reply_error(c, MHD_HTTP_BAD_REQUEST,
					    "the body is not a JSON object");
	}
	bool bad = false;
	const char *token = str_member(o, "token", &bad);
	const char *kind = str_member(o, "kind", &bad);
	const char *step = str_member(o, "step", &bad);
	const char *msg = str_member(o, "message", &bad);
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		if (strcmp(key, "token") && strcmp(key, "kind") && strcmp(key, "step") &&
		    strcmp(key, "message"))
			bad = true;
	}
	enum MHD_Result res;
	int r = bad || !token || !kind || !step
		    ? -EINVAL
		    : xp_install_event(h->inv, name, ip, token, kind, step, msg);
	if (r == -EINVAL) {
		res = xp__http_reply_error(
		    c, MHD_HTTP_BAD_REQUEST,
		    "an event is {\"token\", \"kind\": progress|failure|success, \"step\": "
		    "[a-z0-9_.-]{1,64}, \"message\"?: printable text up to 1024 bytes}");
	} else if (r == -EACCES) {
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING,
				  "install: refused an event for system '%s' from %s: not its "
				  "address, or not the token of its install's current attempt",
				  name, peer);
		res = xp__http_reply_error(c, MHD_HTTP_FORBIDDEN,
					   "forbidden: not the token of this system's install");
	} else if (r < 0) {
		xp__serve_limited(h->s, SRC_HTTP, LOG_ERR,
				  "install: cannot record an event for system '%s' from %s: %s%s%s",
				  name, peer, strerror(-r), r == -EBADMSG ? ": " : "",
				  r == -EBADMSG ? xp_inv_errmsg(h->inv) : "");
		res = xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					   "cannot record the event");
	} else {
		if (r > 0) /* the next attempt's token: the running one was abandoned */
			xp__serve_log(
			    h->s, LOG_WARNING,
			    "install: system '%s' (%s) booted again before its install "
			    "ended: its running attempt is abandoned, the new installer's "
			    "goes on",
			    name, peer);
		bool failure = strcmp(kind, "failure") == 0;
		xp__serve_log(h->s, failure ? LOG_WARNING : LOG_INFO,
			      "install: system '%s' (%s): %s %s%s%s%s", name, peer, kind, step,
			      msg ? ": " : "", msg ? msg : "",
			      strcmp(kind, "success") == 0 ? " (netboot off, install mark cleared)"
			      : failure ? " (it installs again on its next network boot)"
					: "");
		res = xp__http_reply_json(c, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1));
	}
	json_decref(o);
	return res;
}
