/*
 * install.c - autoinstall marks and install events in the inventory (migration 12:
 * system_installs, install_events). See autoinstall.h for the token's life.
 *
 * Not here: rendering the installer's boot entry (boot/target.c), the HTTP route.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/store-internal.h"
#include "inventory/values-internal.h"
#include "xenprov/autoinstall.h"
#include "xenprov/util.h"

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

int xp_install_mark(struct xp_inv *inv, const char *name, bool on)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	if ((r = system_exists(inv, name)) < 0)
		goto fail;
	r = xp__inv_run(inv,
			on ? "INSERT INTO system_installs (system, id, token_hash, marked)"
			     " VALUES (?1, 1, NULL, 1) ON CONFLICT(system) DO UPDATE SET"
			     " id = CASE WHEN system_installs.marked <> 0 THEN system_installs.id"
			     " ELSE system_installs.id + 1 END, marked = 1"
			   : "UPDATE system_installs SET marked = 0, token_hash = NULL"
			     " WHERE system = ?1",
			name);
	if (r < 0)
		goto fail;
	return xp_inv_commit(inv);
fail:
	xp_inv_rollback(inv);
	return r;
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

int xp_install_get(struct xp_inv *inv, const char *name, struct xp_install_state *out)
{
	memset(out, 0, sizeof(*out));
	int r = xp_inv_begin_read(inv);
	if (r < 0)
		return r;
	if ((r = system_exists(inv, name)) < 0)
		goto done;
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(inv,
				"SELECT marked, token_hash IS NOT NULL, id FROM system_installs"
				" WHERE system = ?1",
				name, &st);
	if (r < 0)
		goto done;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		out->marked = xp__db_column_int(st, 0) != 0;
		out->token = xp__db_column_int(st, 1) != 0;
		out->id = xp__db_column_int64(st, 2);
	} else if (rc != XP_DB_DONE) {
		r = xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	if (r < 0 || out->id == 0)
		goto done;
	/* in the order they came: SQLite's rowid, PostgreSQL's identity column seq (it
	 * has no rowid) */
	r = xp__inv_prepare_arg(
	    inv,
	    xp__db_sql(inv->db,
		       "SELECT e.time, e.kind, e.step, e.message FROM install_events e"
		       " JOIN system_installs i ON i.system = e.system AND i.id = e.install"
		       " WHERE e.system = ?1 ORDER BY e.rowid",
		       "SELECT e.time, e.kind, e.step, e.message FROM install_events e"
		       " JOIN system_installs i ON i.system = e.system AND i.id = e.install"
		       " WHERE e.system = ?1 ORDER BY e.seq"),
	    name, &st);
	if (r == 0)
		r = xp__inv_rows(inv, st, &out->ev, &out->n_ev, sizeof(*out->ev), 4, event_row,
				 event_release);
done:
	xp_inv_commit(inv);
	if (r < 0)
		xp_install_state_release(out);
	return r;
}

static void token_hash(const char *tok, char hex[65])
{
	unsigned char d[32];
	xp_sha256(tok, strlen(tok), d);
	xp_sha256_hex(d, hex);
}

int xp_install_token_issue(struct xp_inv *inv, const char *name, char tok[XP_INSTALL_TOKEN_LEN + 1])
{
	/* most systems are not marked: a read answers them, no write lock taken */
	int r = xp__inv_exists(
	    inv, "SELECT 1 FROM system_installs WHERE system = ?1 AND marked <> 0", name);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	unsigned char raw[XP_INSTALL_TOKEN_LEN / 2];
	r = xp_getrandom(NULL, raw, sizeof(raw));
	if (r < 0)
		return r;
	xp_sha256_hex(raw, tok); /* 32 bytes in lower-case hex, as a digest is */
	explicit_bzero(raw, sizeof(raw));
	char hex[65];
	token_hash(tok, hex);
	if ((r = xp_inv_begin(inv)) < 0)
		return r;
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(inv,
				"UPDATE system_installs SET token_hash = ?2 WHERE system = ?1"
				" AND marked <> 0",
				name, &st);
	if (r < 0)
		goto fail;
	xp__db_bind_text(st, 2, hex);
	if ((r = xp__inv_step_done(inv, st)) < 0)
		goto fail;
	if (xp__db_changes(inv->db) == 0) {
		r = -ENOENT;
		goto fail;
	}
	return xp_inv_commit(inv);
fail:
	xp_inv_rollback(inv);
	return r;
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
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int xp_install_event(struct xp_inv *inv, const char *name, const char *token, const char *kind,
		     const char *step, const char *message)
{
	bool success = kind && strcmp(kind, "success") == 0;
	bool failure = kind && strcmp(kind, "failure") == 0;
	if (!kind || (!success && !failure && strcmp(kind, "progress") != 0) || !step_ok(step) ||
	    !message_ok(message))
		return -EINVAL;
	if (!token || strlen(token) != XP_INSTALL_TOKEN_LEN)
		return -EACCES;
	char hex[65];
	token_hash(token, hex);
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(inv,
				"SELECT token_hash, id FROM system_installs WHERE system = ?1"
				" AND marked <> 0 AND token_hash IS NOT NULL",
				name, &st);
	if (r < 0)
		goto fail;
	int64_t id = 0;
	bool match = false;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		const char *h = xp__db_column_text(st, 0);
		unsigned char diff = h && strlen((const char *)h) == 64 ? 0 : 1;
		for (size_t i = 0; !diff && i < 64; i++)
			diff |= (unsigned char)(h[i] ^ (unsigned char)hex[i]);
		match = diff == 0;
		id = xp__db_column_int64(st, 1);
	} else if (rc != XP_DB_DONE) {
		r = xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	if (r < 0)
		goto fail;
	if (!match) {
		xp_inv_rollback(inv);
		return -EACCES;
	}
	r = xp__inv_prepare_arg(inv,
				"INSERT INTO install_events (system, install, time, kind, step, message)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				name, &st);
	if (r < 0)
		goto fail;
	xp__db_bind_int64(st, 2, id);
	xp__db_bind_int64(st, 3, time(NULL));
	xp__db_bind_text(st, 4, kind);
	xp__db_bind_text(st, 5, step);
	if (message)
		xp__db_bind_text(st, 6, message);
	if ((r = xp__inv_step_done(inv, st)) < 0)
		goto fail;
	if (success || failure) {
		r = xp__inv_run(
		    inv,
		    success ? "UPDATE system_installs SET marked = 0, token_hash = NULL"
			      " WHERE system = ?1"
			    : "UPDATE system_installs SET token_hash = NULL WHERE system = ?1",
		    name);
		if (r >= 0 && success)
			r = xp__inv_run(inv, "UPDATE systems SET netboot = 0 WHERE name = ?1",
					name);
		if (r < 0)
			goto fail;
	}
	return xp_inv_commit(inv);
fail:
	xp_inv_rollback(inv);
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
	return json_pack("{s:b, s:I, s:o}", "marked", s->marked, "id", (json_int_t)s->id, "events",
			 ev ? ev : json_null());
}
