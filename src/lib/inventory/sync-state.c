/*
 * sync-state.c - what `xenprov sync` remembers (xenprov/sync-state.h): the change
 * clock the triggers of migration 6 keep, the targets synced and the files each holds.
 *
 * Not here: what the files say and how they are written (src/lib/sync/).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/values-internal.h"
#include "xenprov/sync-state.h"

int xp_sync_clock_get(struct xp_inv *inv, struct xp_sync_clock *c)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, "SELECT seq, world FROM sync_clock WHERE id = 1", &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		c->seq = xp__db_column_int64(st, 0);
		c->world = xp__db_column_int64(st, 1);
	} else {
		r = rc == XP_DB_DONE ? -EIO : xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	return r;
}

static int read_name(struct xp_db_stmt *st, void *row)
{
	return (*(char **)row = xp__col_text(st, 0)) ? 1 : -ENOMEM;
}

static void free_name(void *row)
{
	free(*(char **)row);
}

int xp_sync_changed_since(struct xp_inv *inv, int64_t seq, char ***names, size_t *n)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(
	    inv, "SELECT system FROM sync_changed WHERE seq > ?1 ORDER BY system", &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 1, seq);
	return xp__inv_rows(inv, st, names, n, sizeof(**names), 16, read_name, free_name);
}

/* ---- targets --------------------------------------------------------------------------- */

void xp_sync_target_rec_release(struct xp_sync_target_rec *t)
{
	free(t->kind);
	free(t->path);
	free(t->path2);
	free(t->subnet);
	free(t->options);
	free(t->http_base);
	memset(t, 0, sizeof(*t));
}

#define TARGET_COLUMNS                                                                             \
	"SELECT id, kind, path, path2, subnet, options, seq, synced, http_base FROM sync_targets"  \
	" LEFT JOIN sync_target_http ON target = id "

static int read_target(struct xp_db_stmt *st, void *row)
{
	struct xp_sync_target_rec *t = row;
	memset(t, 0, sizeof(*t));
	t->id = xp__db_column_int64(st, 0);
	char **text[] = {&t->kind,    &t->path, &t->path2, &t->subnet,
			 &t->options, NULL,	NULL,	   &t->http_base};
	for (int i = 0; i < 8; i++)
		if (text[i] && !xp__db_column_null(st, i + 1) &&
		    !(*text[i] = xp__col_text(st, i + 1))) {
			xp_sync_target_rec_release(t);
			return -ENOMEM;
		}
	t->seq = xp__db_column_int64(st, 6);
	t->synced = xp__db_column_int64(st, 7);
	return 1;
}

static void release_target(void *row)
{
	xp_sync_target_rec_release(row);
}

int xp_sync_target_get(struct xp_inv *inv, const char *kind, const char *path,
		       struct xp_sync_target_rec *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, TARGET_COLUMNS "WHERE kind = ?1 AND path = ?2", kind, &st);
	if (r < 0)
		return r;
	xp__db_bind_text(st, 2, path);
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW)
		r = read_target(st, out) < 0 ? -ENOMEM : 0;
	else
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}

int xp_sync_target_list(struct xp_inv *inv, struct xp_sync_target_rec **v, size_t *n)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, TARGET_COLUMNS "ORDER BY kind, path", &st);
	if (r < 0)
		return r;
	return xp__inv_rows(inv, st, v, n, sizeof(**v), 4, read_target, release_target);
}

int xp_sync_target_remove(struct xp_inv *inv, const char *kind, const char *path)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	struct xp_db_stmt *st;
	if ((r = xp__inv_prepare_arg(inv, "DELETE FROM sync_targets WHERE kind = ?1 AND path = ?2",
				     kind, &st)) < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	xp__db_bind_text(st, 2, path);
	if ((r = xp__inv_step_done(inv, st)) < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	if (xp__db_changes(inv->db) == 0) {
		snprintf(inv->err, sizeof(inv->err), "no %s target '%s' was synced", kind, path);
		xp_inv_commit(inv);
		return -ENOENT;
	}
	return xp_inv_commit(inv);
}

/* ---- files ----------------------------------------------------------------------------- */

void xp_sync_file_rec_release(struct xp_sync_file_rec *f)
{
	free(f->path);
	free(f->owner);
	free(f->stamp);
	memset(f, 0, sizeof(*f));
}

void xp_sync_files_free(struct xp_sync_file_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xp_sync_file_rec_release(&v[i]);
	free(v);
}

static int read_file_row(struct xp_db_stmt *st, void *row)
{
	struct xp_sync_file_rec *f = row;
	memset(f, 0, sizeof(*f));
	const char *sha = xp__db_column_text(st, 2);
	f->path = xp__col_text(st, 0);
	f->owner = xp__col_text(st, 1);
	if (!xp__db_column_null(st, 3))
		f->stamp = xp__col_text(st, 3);
	if (!f->path || !f->owner || (!xp__db_column_null(st, 3) && !f->stamp)) {
		xp_sync_file_rec_release(f);
		return -ENOMEM;
	}
	if (sha && strlen(sha) == 64)
		memcpy(f->sha256, sha, 65);
	return 1;
}

static void release_file_row(void *row)
{
	xp_sync_file_rec_release(row);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct xp_sync_file_rec *)a)->path,
		      ((const struct xp_sync_file_rec *)b)->path);
}

int xp_sync_files_get(struct xp_inv *inv, int64_t target, char *const *owners, size_t n_owners,
		      struct xp_sync_file_rec **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	static const char cols[] =
	    "SELECT path, owner, sha256, stamp FROM sync_files WHERE target = ?1";
	struct xp_db_stmt *st;
	int r;
	if (!owners) {
		char sql[sizeof(cols) + 32];
		snprintf(sql, sizeof(sql), "%s ORDER BY path", cols);
		if ((r = xp__inv_prepare(inv, sql, &st)) < 0)
			return r;
		xp__db_bind_int64(st, 1, target);
		return xp__inv_rows(inv, st, v, n, sizeof(**v), 64, read_file_row,
				    release_file_row);
	}
	char sql[sizeof(cols) + 32];
	snprintf(sql, sizeof(sql), "%s AND owner = ?2", cols);
	for (size_t i = 0; i < n_owners; i++) {
		if ((r = xp__inv_prepare(inv, sql, &st)) < 0)
			break;
		xp__db_bind_int64(st, 1, target);
		xp__db_bind_text(st, 2, owners[i]);
		struct xp_sync_file_rec *part;
		size_t np;
		if ((r = xp__inv_rows(inv, st, &part, &np, sizeof(*part), 4, read_file_row,
				      release_file_row)) < 0)
			break;
		if (np) {
			struct xp_sync_file_rec *nv = realloc(*v, (*n + np) * sizeof(*nv));
			if (!nv) {
				xp_sync_files_free(part, np);
				r = -ENOMEM;
				break;
			}
			*v = nv;
			memcpy(*v + *n, part, np * sizeof(*part));
			*n += np;
		}
		free(part);
	}
	if (r < 0) {
		xp_sync_files_free(*v, *n);
		*v = NULL;
		*n = 0;
		return r;
	}
	if (*n > 1)
		qsort(*v, *n, sizeof(**v), by_path);
	return 0;
}

/* ---- recording a sync ------------------------------------------------------------------ */

static void bind_opt(struct xp_db_stmt *st, int i, const char *v)
{
	if (v)
		xp__db_bind_text(st, i, v);
	else
		xp__db_bind_null(st, i);
}

static int put_target(struct xp_inv *inv, struct xp_sync_target_rec *t)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(
	    inv,
	    "INSERT INTO sync_targets (kind, path, path2, subnet, options, seq, synced)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (kind, path) DO UPDATE SET path2 = excluded.path2,"
	    " subnet = excluded.subnet, options = excluded.options, seq = excluded.seq,"
	    " synced = excluded.synced RETURNING id",
	    t->kind, &st);
	if (r < 0)
		return r;
	t->synced = (int64_t)time(NULL);
	xp__db_bind_text(st, 2, t->path);
	bind_opt(st, 3, t->path2);
	bind_opt(st, 4, t->subnet);
	xp__db_bind_text(st, 5, t->options ? t->options : "");
	xp__db_bind_int64(st, 6, t->seq);
	xp__db_bind_int64(st, 7, t->synced);
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		t->id = xp__db_column_int64(st, 0);
		rc = xp__db_step(st);
	}
	if (rc != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	if (r < 0)
		return r;
	/* its HTTP base: a row when given, none when derived */
	if ((r = xp__inv_prepare(
		 inv,
		 t->http_base ? "INSERT INTO sync_target_http VALUES (?1, ?2) ON CONFLICT (target)"
				" DO UPDATE SET http_base = excluded.http_base"
			      : "DELETE FROM sync_target_http WHERE target = ?1",
		 &st)) < 0)
		return r;
	xp__db_bind_int64(st, 1, t->id);
	if (t->http_base)
		xp__db_bind_text(st, 2, t->http_base);
	return xp__inv_step_done(inv, st);
}

/* Runs the prepared write sql once per item i < n, bind(st, i, ctx) binding it. */
static int each_item(struct xp_inv *inv, const char *sql, size_t n,
		     void (*bind)(struct xp_db_stmt *st, size_t i, const void *ctx),
		     const void *ctx)
{
	if (!n)
		return 0;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, sql, &st);
	for (size_t i = 0; r == 0 && i < n; i++) {
		bind(st, i, ctx);
		int rc = xp__db_step(st);
		if (rc != XP_DB_DONE)
			r = xp__inv_err(inv, rc);
		xp__db_reset(st);
	}
	if (st)
		xp__db_finalize(st);
	return r;
}

struct files_ctx {
	int64_t target;
	const struct xp_sync_file_rec *put;
	char *const *paths;
};

static void bind_put(struct xp_db_stmt *st, size_t i, const void *ctx)
{
	const struct files_ctx *c = ctx;
	const struct xp_sync_file_rec *f = &c->put[i];
	xp__db_bind_int64(st, 1, c->target);
	xp__db_bind_text(st, 2, f->path);
	xp__db_bind_text(st, 3, f->owner ? f->owner : "");
	xp__db_bind_text(st, 4, f->sha256);
	bind_opt(st, 5, f->stamp);
}

static void bind_removed(struct xp_db_stmt *st, size_t i, const void *ctx)
{
	const struct files_ctx *c = ctx;
	xp__db_bind_int64(st, 1, c->target);
	xp__db_bind_text(st, 2, c->paths[i]);
}

int xp_sync_record(struct xp_inv *inv, struct xp_sync_target_rec *t,
		   const struct xp_sync_file_rec *put, size_t n_put, char *const *removed,
		   size_t n_removed)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	struct files_ctx c = {.put = put, .paths = removed};
	if ((r = put_target(inv, t)) == 0) {
		c.target = t->id;
		r = each_item(inv, "DELETE FROM sync_files WHERE target = ?1 AND path = ?2",
			      n_removed, bind_removed, &c);
	}
	/* a file rewritten keeps its row, updated in place (a REPLACE would delete and
	 * insert the row and both its index entries: most of a full sync's record) */
	if (r == 0)
		r = each_item(inv,
			      "INSERT INTO sync_files (target, path, owner, sha256, stamp)"
			      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (target, path) DO UPDATE"
			      " SET owner = excluded.owner, sha256 = excluded.sha256,"
			      " stamp = excluded.stamp",
			      n_put, bind_put, &c);
	/* the changes every target has seen are no longer needed; with no target, every
	 * one of them (the first sync of a new target renders everything anyway) */
	if (r == 0)
		r = xp__inv_exec(inv, "DELETE FROM sync_changed WHERE seq <= coalesce("
				      "(SELECT min(seq) FROM sync_targets),"
				      " (SELECT seq FROM sync_clock WHERE id = 1))");
	if (r < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	return xp_inv_commit(inv);
}
