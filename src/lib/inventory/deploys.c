/*
 * deploys.c - the record of deploy runs: the deploys table (when a run started and
 * ended, its state, the request it was asked), deploy_summary (its profile, the guests
 * it was asked for, the counts of its end) and which domains each made (the domains.deploy_id column), for `deploy list`,
 * `deploy show` and `deploy --rollback`.
 *
 * Not here: running a deploy or rolling one back (deploy/deploy.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/values-internal.h"

int xp_deploy_record_start(struct xp_inv *inv, const char *profile, size_t total,
			   const char *request, int64_t *id)
{
	struct xp_db_stmt *st;
	/* RETURNING (SQLite 3.35, PostgreSQL): the id the row was given, in both */
	int r =
	    xp__inv_prepare(inv,
			    "INSERT INTO deploys (started, state, request) VALUES (?, 'running', ?)"
			    " RETURNING id",
			    &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 1, time(NULL));
	xp__db_bind_text(st, 2, request ? request : "");
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW)
		*id = xp__db_column_int64(st, 0);
	r = rc == XP_DB_ROW ? 0 : xp__inv_err(inv, rc);
	if (r == 0 && (rc = xp__db_step(st)) != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	if (r < 0)
		return r;
	r = xp__inv_prepare_arg(inv,
				"INSERT INTO deploy_summary (profile, deploy, total) VALUES (?1, ?2, ?3)",
				profile, &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 2, *id);
	xp__db_bind_int64(st, 3, total);
	return xp__inv_step_done(inv, st);
}

int xp_deploy_record_finish(struct xp_inv *inv, int64_t id, const char *state,
			    const struct xp_deploy_counts *counts)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, "UPDATE deploys SET state = ?1, finished = ?2 WHERE id = ?3",
				    state, &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 2, time(NULL));
	xp__db_bind_int64(st, 3, id);
	if ((r = xp__inv_step_done(inv, st)) < 0 || !counts)
		return r;
	r = xp__inv_prepare(inv,
			    "INSERT INTO deploy_summary (deploy, created, skipped, failed, cleaned)"
			    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (deploy) DO UPDATE SET"
			    " created = excluded.created, skipped = excluded.skipped,"
			    " failed = excluded.failed, cleaned = excluded.cleaned",
			    &st);
	if (r < 0)
		return r;
	const int64_t v[] = {id, counts->created, counts->skipped, counts->failed,
			     counts->cleaned};
	for (int i = 0; i < 5; i++)
		xp__db_bind_int64(st, 1 + i, v[i]);
	return xp__inv_step_done(inv, st);
}

/* Runs sql (?1, if it has it, bound to id) and gives the first column of its first row as *out (0
 * for no row or NULL): 1 if there was a row, 0 if not. */
static int one_int(struct xp_inv *inv, const char *sql, int64_t id, int64_t *out)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, sql, &st);
	if (r < 0)
		return r;
	if (xp__db_param_count(st) > 0)
		xp__db_bind_int64(st, 1, id);
	int rc = xp__db_step(st);
	*out = rc == XP_DB_ROW ? (int64_t)xp__db_column_int64(st, 0) : 0;
	r = rc == XP_DB_ROW ? 1 : rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}

int xp_deploy_record_find(struct xp_inv *inv, int64_t id)
{
	int64_t v;
	int r = one_int(inv, "SELECT id FROM deploys WHERE id = ?1", id, &v);
	return r < 0 ? r : r ? 0 : -ENOENT;
}

int xp_deploy_record_last_with_domains(struct xp_inv *inv, const char *profile, int64_t *id,
				       size_t *count)
{
	/* the deploy's own profile, or (a run recorded before it was kept) its guests' */
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(
	    inv,
	    "SELECT max(d.id), count(*) FROM deploys d"
	    " LEFT JOIN deploy_summary s ON s.deploy = d.id WHERE"
	    " EXISTS (SELECT 1 FROM domains WHERE deploy_id = d.id) AND (CAST(?1 AS TEXT) IS NULL "
	    "OR"
	    " coalesce(s.profile, (SELECT min(profile) FROM domains WHERE deploy_id = d.id)) = ?1)",
	    profile, &st);
	if (r < 0)
		return r;
	if (!profile)
		xp__db_bind_null(st, 1);
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		*id = (int64_t)xp__db_column_int64(st, 0); /* NULL (no row) reads as 0 */
		if (count)
			*count = (size_t)xp__db_column_int64(st, 1);
	} else {
		r = xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	return r;
}

int xp_deploy_record_domains(struct xp_inv *inv, int64_t id, char ***names, size_t *n)
{
	/* ids are integers: formatting one into the statement cannot inject anything */
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT name FROM domains WHERE deploy_id = %lld ORDER BY name",
		 (long long)id);
	return xp__inv_names(inv, sql, names, n);
}

/* ---- deploy list and show ---------------------------------------------------------- */

#define RECORD_COLUMNS                                                                             \
	"SELECT d.id, coalesce(s.profile, (SELECT min(profile) FROM domains"                       \
	" WHERE deploy_id = d.id)), d.state, d.request, d.started, d.finished, s.total,"           \
	" s.created, s.skipped, s.failed, s.cleaned,"                                              \
	" (SELECT count(*) FROM domains WHERE deploy_id = d.id)"                                   \
	" FROM deploys d LEFT JOIN deploy_summary s ON s.deploy = d.id "

void xp_deploy_record_release(struct xp_deploy_record *rec)
{
	free(rec->profile);
	free(rec->state);
	free(rec->request);
	memset(rec, 0, sizeof(*rec));
}

void xp_deploy_record_list_free(struct xp_deploy_record *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xp_deploy_record_release(&v[i]);
	free(v);
}

static int64_t int_or_unknown(struct xp_db_stmt *st, int i)
{
	return xp__db_column_null(st, i) ? -1 : (int64_t)xp__db_column_int64(st, i);
}

static int record_row(struct xp_db_stmt *st, void *row)
{
	struct xp_deploy_record *rec = row;
	memset(rec, 0, sizeof(*rec));
	rec->id = (int64_t)xp__db_column_int64(st, 0);
	rec->profile = xp__col_text(st, 1);
	rec->state = xp__col_text(st, 2);
	rec->request = xp__col_text(st, 3);
	rec->started = (int64_t)xp__db_column_int64(st, 4);
	rec->finished = (int64_t)xp__db_column_int64(st, 5); /* NULL reads as 0 */
	rec->counts = (struct xp_deploy_counts){int_or_unknown(st, 6), int_or_unknown(st, 7),
						int_or_unknown(st, 8), int_or_unknown(st, 9),
						int_or_unknown(st, 10)};
	rec->guests = (int64_t)xp__db_column_int64(st, 11);
	if ((!xp__db_column_null(st, 1) && !rec->profile) || !rec->state || !rec->request) {
		xp_deploy_record_release(rec);
		return -ENOMEM;
	}
	return 1;
}

static void record_release(void *row)
{
	xp_deploy_record_release(row);
}

int xp_deploy_record_list(struct xp_inv *inv, struct xp_deploy_record **v, size_t *n)
{
	struct xp_db_stmt *st;
	*v = NULL;
	*n = 0;
	int r = xp__inv_prepare(inv, RECORD_COLUMNS "ORDER BY d.id", &st);
	if (r < 0)
		return r;
	return xp__inv_rows(inv, st, v, n, sizeof(**v), 16, record_row, record_release);
}

int xp_deploy_record_get(struct xp_inv *inv, int64_t id, struct xp_deploy_record *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, RECORD_COLUMNS "WHERE d.id = ?1", &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 1, id);
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW)
		r = record_row(st, out) < 0 ? -ENOMEM : 0;
	else
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}
