/*
 * install.c - autoinstall marks, attempts and install events in the inventory
 * (migrations 12 and 13: system_installs, install_attempts, install_events), the
 * server's key (STATE/install-key) and the tokens derived from it, and who a client is.
 * See autoinstall.h for the token's life.
 *
 * Not here: rendering the installer's boot entry (boot/target.c), the HTTP route.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/store-internal.h"
#include "inventory/values-internal.h"
#include "util/ctype.h"
#include "xenprov/autoinstall.h"
#include "xenprov/leases.h"
#include "xenprov/util.h"

#define KEY_FILE "install-key"

static void event_release(void *row)
{
	struct xp_install_event *e = row;
	free(e->kind);
	free(e->step);
	free(e->message);
}

void xp_install_state_release(struct xp_install_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ev; i++)
		event_release(&s->ev[i]);
	free(s->ev);
	memset(s, 0, sizeof(*s));
}

static int system_exists(struct xp_inv *inv, const char *name)
{
	int r = xp__inv_exists(inv, "SELECT 1 FROM systems WHERE name = ?1", name);
	return r < 0 ? r : r ? 0 : -ENOENT;
}

/* A new nonce (32 hex digits) for system name's install: its tokens are no other
 * install's, even one of a system of the same name removed since. */
static int attempts_start(struct xp_inv *inv, const char *name)
{
	unsigned char raw[16];
	char nonce[33];
	int r = xp_getrandom(NULL, raw, sizeof(raw));
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(
	    inv,
	    "INSERT INTO install_attempts (system, nonce, attempt) VALUES (?1, ?2, 1)"
	    " ON CONFLICT(system) DO UPDATE SET nonce = ?2, attempt = 1",
	    name, &st);
	if (r < 0)
		return r;
	xp__db_bind_text(st, 2, nonce);
	return xp__inv_step_done(inv, st);
}

int xp_install_mark(struct xp_inv *inv, const char *name, bool on)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	if ((r = system_exists(inv, name)) < 0)
		goto fail;
	if (on) {
		r = xp__inv_exists(
		    inv, "SELECT 1 FROM system_installs WHERE system = ?1 AND marked <> 0", name);
		if (r == 0) /* not marked: a new install */
			r = xp__inv_run(
			    inv,
			    "INSERT INTO system_installs (system, id, token_hash, marked)"
			    " VALUES (?1, 1, NULL, 1) ON CONFLICT(system) DO UPDATE SET"
			    " id = system_installs.id + 1, marked = 1",
			    name);
		else /* marked already: the same attempt goes on */
			r = r < 0 ? r : 0;
		if (r > 0)
			r = attempts_start(inv, name);
	} else {
		r = xp__inv_run(inv, "UPDATE system_installs SET marked = 0 WHERE system = ?1",
				name);
	}
	if (r < 0)
		goto fail;
	return xp_inv_commit(inv);
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_install_any_marked(struct xp_inv *inv)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, "SELECT 1 FROM system_installs WHERE marked <> 0 LIMIT 1", &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	xp__db_finalize(st);
	return rc == XP_DB_ROW ? 1 : rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
}

static int event_row(struct xp_db_stmt *st, void *row)
{
	struct xp_install_event *e = row;
	memset(e, 0, sizeof(*e));
	e->time = xp__db_column_int64(st, 0);
	e->kind = xp__col_text(st, 1);
	e->step = xp__col_text(st, 2);
	if (!xp__db_column_null(st, 3))
		e->message = xp__col_text(st, 3);
	if (!e->kind || !e->step || (!xp__db_column_null(st, 3) && !e->message)) {
		event_release(e);
		return -ENOMEM;
	}
	return 1;
}

/* System name's row of install marks, with its attempt. */
struct install_row {
	bool marked;
	int64_t id, attempt; /* attempt 0: none (a mark made before migration 13's rows) */
	char nonce[33];
};

/* The column install events are in the order they came by: SQLite's rowid;
 * PostgreSQL has none, its install_events has an identity column seq (migration 12). */
static const char *event_order(struct xp_inv *inv)
{
	return xp__db_sql(inv->db, "rowid", "seq");
}

/* Reads system name's install row into *w: 1, 0 when it was never marked, or -errno. */
static int install_row(struct xp_inv *inv, const char *name, struct install_row *w)
{
	memset(w, 0, sizeof(*w));
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv,
				    "SELECT i.marked, i.id, a.nonce, coalesce(a.attempt, 0)"
				    " FROM system_installs i LEFT JOIN install_attempts a"
				    " ON a.system = i.system WHERE i.system = ?1",
				    name, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		const char *n = xp__db_column_text(st, 2);
		w->marked = xp__db_column_int(st, 0) != 0;
		w->id = xp__db_column_int64(st, 1);
		snprintf(w->nonce, sizeof(w->nonce), "%s", n ? (const char *)n : "");
		w->attempt = xp__db_column_int64(st, 3);
		r = 1;
	} else if (rc != XP_DB_DONE) {
		r = xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	return r;
}

int xp_install_get(struct xp_inv *inv, const char *name, struct xp_install_state *out)
{
	memset(out, 0, sizeof(*out));
	int r = xp_inv_begin_read(inv);
	if (r < 0)
		return r;
	if ((r = system_exists(inv, name)) < 0)
		goto done;
	struct install_row w;
	if ((r = install_row(inv, name, &w)) <= 0) /* 0: never marked, all zero */
		goto done;
	out->marked = w.marked;
	out->id = w.id;
	out->attempt = w.attempt;
	struct xp_db_stmt *st;
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT e.time, e.kind, e.step, e.message FROM install_events e"
		 " JOIN system_installs i ON i.system = e.system AND i.id = e.install"
		 " WHERE e.system = ?1 ORDER BY e.%s",
		 event_order(inv));
	r = xp__inv_prepare_arg(inv, sql, name, &st);
	if (r == 0)
		r = xp__inv_rows(inv, st, &out->ev, &out->n_ev, sizeof(*out->ev), 4, event_row,
				 event_release);
done:
	xp_inv_commit(inv);
	if (r < 0)
		xp_install_state_release(out);
	return r;
}

/* The server's key: STATE/install-key, 64 hex digits, made (0600, atomically, the first
 * writer winning a race) when there is none. Outside the database, so that a copy of
 * inventory.db (a backup, a snapshot) yields no live token. */
static int install_key(struct xp_inv *inv, unsigned char key[32])
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/" KEY_FILE, inv->dir);
	char *text = NULL;
	size_t len = 0;
	int r = xp_read_file(path, 4096, &text, &len);
	if (r == -ENOENT) {
		unsigned char raw[32];
		char line[66];
		if ((r = xp_getrandom(NULL, raw, sizeof(raw))) < 0)
			return r;
		xp_sha256_hex(raw, line); /* 32 bytes in lower-case hex, as a digest is */
		explicit_bzero(raw, sizeof(raw));
		line[64] = '\n';
		r = xp_write_atomic_flags(path, line, 65, 0600, XP_WRITE_NOREPLACE);
		explicit_bzero(line, sizeof(line));
		if (r < 0 && r != -EEXIST)
			return r;
		r = xp_read_file(path, 4096, &text, &len); /* ours, or the one that won */
	}
	if (r < 0)
		return r;
	r = len == 64 || (len == 65 && text[64] == '\n') ? 0 : -EBADMSG;
	for (size_t i = 0; r == 0 && i < 32; i++) {
		int hi = xp__hexval(text[2 * i]), lo = xp__hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			r = -EBADMSG;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	if (r == -EBADMSG)
		snprintf(inv->err, sizeof(inv->err), "%.400s: not 64 hex digits", path);
	explicit_bzero(text, len);
	free(text);
	return r;
}

/* HMAC-SHA256 under the key of what names one attempt of one install of one system. */
static int token_derive(const unsigned char key[32], const char *name, int64_t id,
			const char *nonce, int64_t attempt, char tok[XP_INSTALL_TOKEN_LEN + 1])
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "xenprov-install-token/1/%s/%" PRId64 "/%s/%" PRId64,
			 name, id, nonce, attempt);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -ENAMETOOLONG;
	unsigned char mac[32];
	int r = xp_hmac_sha256(key, 32, msg, (size_t)n, mac);
	if (r == 0)
		xp_sha256_hex(mac, tok);
	explicit_bzero(mac, sizeof(mac));
	return r;
}

/* Whether install id of system name has begun and not ended, read in the caller's
 * transaction: its newest event is a progress event (an ending event moves to the next
 * attempt, so events after it are the next one's). 1, 0 or -errno. */
static int install_running(struct xp_inv *inv, const char *name, int64_t id)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT kind FROM install_events WHERE system = ?1 AND install = ?2"
		 " ORDER BY %s DESC LIMIT 1",
		 event_order(inv));
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, sql, name, &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 2, id);
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		const char *k = xp__db_column_text(st, 0);
		r = k && strcmp(k, "progress") == 0;
	} else {
		r = rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	return r;
}

/* System name's install row into *w and the key its tokens are derived with into key,
 * read in the caller's transaction (the one read both token functions share): 0,
 * -ENOENT when it is not marked, -errno. The caller wipes key. */
static int marked_row_key(struct xp_inv *inv, const char *name, struct install_row *w,
			  unsigned char key[32])
{
	int r = install_row(inv, name, w);
	if (r < 0)
		return r;
	if (!w->marked || !w->nonce[0] || w->attempt <= 0)
		return -ENOENT;
	return install_key(inv, key);
}

/* The token of system name's current attempt, or with next the one after it (read in
 * the caller's transaction), into tok, and its row into *w; -ENOENT when it is not
 * marked. */
static int attempt_token(struct xp_inv *inv, const char *name, struct install_row *w, bool next,
			 char tok[XP_INSTALL_TOKEN_LEN + 1])
{
	unsigned char key[32];
	int r = marked_row_key(inv, name, w, key);
	if (r == 0)
		r = token_derive(key, name, w->id, w->nonce, w->attempt + (next ? 1 : 0), tok);
	explicit_bzero(key, sizeof(key));
	return r;
}

int xp_install_token(struct xp_inv *inv, const char *name, char tok[XP_INSTALL_TOKEN_LEN + 1])
{
	/* a read: no write lock per request */
	int r = xp_inv_begin_read(inv);
	if (r < 0)
		return r;
	struct install_row w;
	r = attempt_token(inv, name, &w, false, tok);
	xp_inv_commit(inv);
	return r;
}

int xp_install_boot_token(struct xp_inv *inv, const char *name, char tok[XP_INSTALL_TOKEN_LEN + 1])
{
	/* a read: no write lock per rendered config */
	int r = xp_inv_begin_read(inv);
	if (r < 0)
		return r;
	struct install_row w;
	if ((r = install_row(inv, name, &w)) >= 0 && w.marked && w.attempt > 0)
		r = install_running(inv, name, w.id);
	if (r >= 0) /* running: a boot now is the machine's next attempt */
		r = attempt_token(inv, name, &w, r > 0, tok);
	xp_inv_commit(inv);
	return r;
}

int xp_install_peer_is_system(struct xp_inv *inv, const struct xp_system *s, uint32_t peer)
{
	if (!peer)
		return 0;
	struct in_addr a;
	if (s->ip) /* a reservation is the system's one address */
		return inet_pton(AF_INET, s->ip, &a) == 1 && ntohl(a.s_addr) == peer;
	return xp_lease_holds(inv, s->mac, peer, (int64_t)time(NULL));
}

static bool step_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > XP_INSTALL_STEP_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '.' || *s == '-'))
			return false;
	return true;
}

static bool message_ok(const char *s)
{
	if (!s)
		return true;
	if (strlen(s) > XP_INSTALL_MESSAGE_MAX)
		return false;
	for (const char *p = (const char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Whether token is system name's current attempt's or, while that attempt runs, the
 * next one's (*next: the machine booted again and its new installer reports:
 * autoinstall.h), read in the caller's transaction; the row into *w. 0, -EACCES,
 * -ENOENT (not marked) or -errno. */
static int token_match(struct xp_inv *inv, const char *name, const char *token,
		       struct install_row *w, bool *next)
{
	*next = false;
	/* the row and the key read once for both tokens */
	unsigned char key[32];
	char want[XP_INSTALL_TOKEN_LEN + 1];
	int r = marked_row_key(inv, name, w, key);
	if (r == 0)
		r = token_derive(key, name, w->id, w->nonce, w->attempt, want);
	if (r == 0 && !xp_mem_equal_ct(want, token, XP_INSTALL_TOKEN_LEN)) {
		r = install_running(inv, name, w->id);
		if (r > 0)
			r = token_derive(key, name, w->id, w->nonce, w->attempt + 1, want);
		else
			r = r < 0 ? r : -EACCES;
		if (r == 0 && !xp_mem_equal_ct(want, token, XP_INSTALL_TOKEN_LEN))
			r = -EACCES;
		*next = r == 0;
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(want, sizeof(want));
	return r;
}

int xp_install_token_check(struct xp_inv *inv, const char *name, const char *token)
{
	if (!token || strlen(token) != XP_INSTALL_TOKEN_LEN || !xp_system_name_valid(name))
		return -EACCES;
	int r = xp_inv_begin_read(inv);
	if (r < 0)
		return r;
	struct install_row w;
	bool next;
	r = token_match(inv, name, token, &w, &next);
	xp_inv_commit(inv);
	return r == -ENOENT || r == -EINVAL ? -EACCES : r;
}

/* The read half of an event: whether peer is system name and token its current
 * attempt's, or (*next) the next attempt's while the current one runs (token_match);
 * its row into *w when it is. 0, -EACCES or -errno. */
static int event_check(struct xp_inv *inv, const char *name, uint32_t peer, const char *token,
		       struct install_row *w, bool *next)
{
	*next = false;
	int r = xp_inv_begin_read(inv);
	if (r < 0)
		return r;
	struct xp_system s = {0};
	r = xp_system_get(inv, name, &s);
	if (r == 0) {
		r = xp_install_peer_is_system(inv, &s, peer);
		r = r < 0 ? r : r ? 0 : -EACCES;
		xp_system_release(&s);
	}
	if (r == 0)
		r = token_match(inv, name, token, w, next);
	xp_inv_commit(inv);
	return r == -ENOENT || r == -EINVAL ? -EACCES : r;
}

/* In the write transaction: the current attempt of system's install (as *w read it)
 * ends as abandoned, superseded by the next one, whose installer reports. */
static int abandon(struct xp_inv *inv, const char *name, const struct install_row *w)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(
	    inv,
	    "INSERT INTO install_events (system, install, time, kind, step, message)"
	    " VALUES (?1, ?2, ?3, 'failure', 'abandoned', ?4)",
	    name, &st);
	if (r < 0)
		return r;
	char msg[160];
	snprintf(msg, sizeof(msg),
		 "attempt %" PRId64 " ended: the machine booted from the network again and "
		 "attempt %" PRId64 "'s installer reported",
		 w->attempt, w->attempt + 1);
	xp__db_bind_int64(st, 2, w->id);
	xp__db_bind_int64(st, 3, time(NULL));
	xp__db_bind_text(st, 4, msg);
	if ((r = xp__inv_step_done(inv, st)) < 0)
		return r;
	return xp__inv_run(
	    inv, "UPDATE install_attempts SET attempt = attempt + 1 WHERE system = ?1", name);
}

/* The write half of an event of system name, checked by event_check into *w and next:
 * recorded if the attempt is still the one it read (an event of the same attempt may
 * have ended it meanwhile: -EACCES); with next, the current attempt ends abandoned
 * first. 0 or -errno. */
static int event_write(struct xp_inv *inv, const char *name, const struct install_row *w, bool next,
		       const char *kind, const char *step, const char *message)
{
	bool success = strcmp(kind, "success") == 0, failure = strcmp(kind, "failure") == 0;
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(inv,
				"SELECT 1 FROM system_installs i JOIN install_attempts a"
				" ON a.system = i.system WHERE i.system = ?1 AND i.marked <> 0"
				" AND i.id = ?2 AND a.nonce = ?3 AND a.attempt = ?4",
				name, &st);
	if (r < 0)
		goto fail;
	xp__db_bind_int64(st, 2, w->id);
	xp__db_bind_text(st, 3, w->nonce);
	xp__db_bind_int64(st, 4, w->attempt);
	int rc = xp__db_step(st);
	r = rc == XP_DB_ROW ? 0 : rc == XP_DB_DONE ? -EACCES : xp__inv_err(inv, rc);
	xp__db_finalize(st);
	/* the same attempt still: it still runs (only an ending event moves it on) */
	if (r < 0 || (next && (r = abandon(inv, name, w)) < 0))
		goto fail;
	r = xp__inv_prepare_arg(inv,
				"INSERT INTO install_events (system, install, time, kind, step, message)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				name, &st);
	if (r < 0)
		goto fail;
	xp__db_bind_int64(st, 2, w->id);
	xp__db_bind_int64(st, 3, time(NULL));
	xp__db_bind_text(st, 4, kind);
	xp__db_bind_text(st, 5, step);
	if (message)
		xp__db_bind_text(st, 6, message);
	if ((r = xp__inv_step_done(inv, st)) < 0)
		goto fail;
	/* the newest XP_INSTALL_EVENTS_MAX kept: an installer (or a stolen token) posting
	 * without end fills no disk */
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "DELETE FROM install_events WHERE system = ?1 AND %s <= (SELECT %s"
		 " FROM install_events WHERE system = ?1 ORDER BY %s DESC LIMIT 1"
		 " OFFSET ?2)",
		 event_order(inv), event_order(inv), event_order(inv));
	r = xp__inv_prepare_arg(inv, sql, name, &st);
	if (r < 0)
		goto fail;
	xp__db_bind_int64(st, 2, XP_INSTALL_EVENTS_MAX);
	r = xp__inv_step_done(inv, st);
	if (r >= 0 && (success || failure)) /* the attempt ends: its token with it */
		r = xp__inv_run(
		    inv, "UPDATE install_attempts SET attempt = attempt + 1 WHERE system = ?1",
		    name);
	if (r >= 0 && success)
		r = xp__inv_run(inv, "UPDATE system_installs SET marked = 0 WHERE system = ?1",
				name);
	if (r >= 0 && success)
		r = xp__inv_run(inv, "UPDATE systems SET netboot = 0 WHERE name = ?1", name);
	if (r < 0)
		goto fail;
	return xp_inv_commit(inv);
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_install_event(struct xp_inv *inv, const char *name, uint32_t peer, const char *token,
		     const char *kind, const char *step, const char *message)
{
	bool success = kind && strcmp(kind, "success") == 0;
	bool failure = kind && strcmp(kind, "failure") == 0;
	if (!kind || (!success && !failure && strcmp(kind, "progress") != 0) || !step_ok(step) ||
	    !message_ok(message))
		return -EINVAL;
	if (!token || strlen(token) != XP_INSTALL_TOKEN_LEN || !xp_system_name_valid(name))
		return -EACCES;
	struct install_row w;
	bool next;
	int r = event_check(inv, name, peer, token, &w, &next);
	if (r == 0)
		r = event_write(inv, name, &w, next, kind, step, message);
	if (r == 0)
		return next ? 1 : 0;
	/* the next attempt's event that another of its own beat to the write (which ended
	 * the attempt it supersedes): its token is the current attempt's now */
	if (r == -EACCES && next && (r = event_check(inv, name, peer, token, &w, &next)) == 0)
		r = next ? -EACCES : event_write(inv, name, &w, false, kind, step, message);
	return r;
}

json_t *xp_install_state_to_json(const struct xp_install_state *s)
{
	json_t *ev = json_array();
	for (size_t i = 0; ev && i < s->n_ev; i++) {
		const struct xp_install_event *e = &s->ev[i];
		json_array_append_new(ev, json_pack("{s:I, s:s, s:s, s:s?}", "time",
						    (json_int_t)e->time, "kind", e->kind, "step",
						    e->step, "message", e->message));
	}
	return json_pack("{s:b, s:I, s:I, s:o}", "marked", s->marked, "id", (json_int_t)s->id,
			 "attempt", (json_int_t)s->attempt, "events", ev ? ev : json_null());
}
