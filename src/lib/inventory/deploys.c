/*
 * deploys.c - the record of deploy runs: the deploys table (when a run started and
 * ended, its state, the request it was asked) and which domains each made (the
 * domains.deploy_id column), for `deploy --rollback`.
 *
 * Not here: running a deploy (deploy/deploy.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "inventory/values-internal.h"

int xp_deploy_record_start(struct xp_inv *inv, const char *request, int64_t *id)
{
	sqlite3_stmt *st;
	int r = xp__inv_prepare(
	    inv, "INSERT INTO deploys (started, state, request) VALUES (?, 'running', ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 2, request ? request : "", -1, SQLITE_STATIC);
	if ((r = xp__inv_step_done(inv, st)) < 0)
		return r;
	*id = (int64_t)sqlite3_last_insert_rowid(inv->db);
	return 0;
}

int xp_deploy_record_finish(struct xp_inv *inv, int64_t id, const char *state)
{
	sqlite3_stmt *st;
	int r =
	    xp__inv_prepare_arg(inv, "UPDATE deploys SET state = ?, finished = ? WHERE id = ?", state, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(st, 3, (sqlite3_int64)id);
	return xp__inv_step_done(inv, st);
}

/* Runs sql (?1, if it has it, bound to id) and gives the first column of its first row as *out (0
 * for no row or NULL): 1 if there was a row, 0 if not. */
static int one_int(struct xp_inv *inv, const char *sql, int64_t id, int64_t *out)
{
	sqlite3_stmt *st;
	int r = xp__inv_prepare(inv, sql, &st);
	if (r < 0)
		return r;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? (int64_t)sqlite3_column_int64(st, 0) : 0;
	r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : xp__inv_err(inv, rc);
	sqlite3_finalize(st);
	return r;
}

int xp_deploy_record_find(struct xp_inv *inv, int64_t id)
{
	int64_t v;
	int r = one_int(inv, "SELECT id FROM deploys WHERE id = ?1", id, &v);
	return r < 0 ? r : r ? 0 : -ENOENT;
}

int xp_deploy_record_last_with_domains(struct xp_inv *inv, int64_t *id)
{
	int r = one_int(inv, "SELECT max(deploy_id) FROM domains", 0, id);
	return r < 0 ? r : 0;
}

int xp_deploy_record_domains(struct xp_inv *inv, int64_t id, char ***names, size_t *n)
{
	/* ids are integers: formatting one into the statement cannot inject anything */
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT name FROM domains WHERE deploy_id = %lld ORDER BY name",
		 (long long)id);
	return xp__inv_names(inv, sql, names, n);
}
