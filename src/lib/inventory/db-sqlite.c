/*
 * db-sqlite.c - the SQLite backend of the inventory's database API (db.h): a thin
 * layer over sqlite3 that maps its result codes to -errno. The embedded default: one
 * file in the state directory, no server.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/db.h"

struct sq_db {
	struct xp_db base;
	sqlite3 *h;
};

struct sq_stmt {
	struct xp_db_stmt base;
	sqlite3_stmt *h;
};

static sqlite3 *handle(struct xp_db *db)
{
	return ((struct sq_db *)db)->h;
}

static sqlite3_stmt *sth(struct xp_db_stmt *st)
{
	return ((struct sq_stmt *)st)->h;
}

/* Keeps the connection's message and maps an SQLite result to -errno. */
static int fail(struct xp_db *db, int rc)
{
	snprintf(db->err, sizeof(db->err), "%s", sqlite3_errmsg(handle(db)));
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_RANGE:
		return -ERANGE;
	default:
		return -EIO;
	}
}

static int bound(struct xp_db_stmt *st, int rc)
{
	return rc == SQLITE_OK ? 0 : fail(st->db, rc);
}

static void sq_close(struct xp_db *db)
{
	sqlite3_close_v2(handle(db));
	free(db);
}

static int sq_exec(struct xp_db *db, const char *sql)
{
	int rc = sqlite3_exec(handle(db), sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fail(db, rc);
}

static int sq_prepare(struct xp_db *db, const char *sql, struct xp_db_stmt **ret)
{
	struct sq_stmt *st = calloc(1, sizeof(*st));
	if (!st)
		return xp__db_fail(db, -ENOMEM, "out of memory");
	int rc = sqlite3_prepare_v2(handle(db), sql, -1, &st->h, NULL);
	if (rc != SQLITE_OK) {
		free(st);
		return fail(db, rc);
	}
	st->base.db = db;
	*ret = &st->base;
	return 0;
}

static int sq_bind_text(struct xp_db_stmt *st, int i, const char *s)
{
	return bound(st, sqlite3_bind_text(sth(st), i, s, -1, SQLITE_TRANSIENT));
}

static int sq_bind_int64(struct xp_db_stmt *st, int i, int64_t v)
{
	return bound(st, sqlite3_bind_int64(sth(st), i, (sqlite3_int64)v));
}

static int sq_bind_null(struct xp_db_stmt *st, int i)
{
	return bound(st, sqlite3_bind_null(sth(st), i));
}

static int sq_bind_blob(struct xp_db_stmt *st, int i, const void *p, size_t n)
{
	return bound(st, sqlite3_bind_blob64(sth(st), i, p, n, SQLITE_TRANSIENT));
}

static int sq_param_count(struct xp_db_stmt *st)
{
	return sqlite3_bind_parameter_count(sth(st));
}

static int sq_step(struct xp_db_stmt *st)
{
	int rc = sqlite3_step(sth(st));
	if (rc == SQLITE_ROW)
		return XP_DB_ROW;
	if (rc == SQLITE_DONE)
		return XP_DB_DONE;
	return fail(st->db, rc);
}

static void sq_reset(struct xp_db_stmt *st)
{
	sqlite3_reset(sth(st));
}

static void sq_clear_bindings(struct xp_db_stmt *st)
{
	sqlite3_clear_bindings(sth(st));
}

static void sq_finalize(struct xp_db_stmt *st)
{
	sqlite3_finalize(sth(st));
	free(st);
}

static bool sq_column_null(struct xp_db_stmt *st, int i)
{
	return sqlite3_column_type(sth(st), i) == SQLITE_NULL;
}

static const char *sq_column_text(struct xp_db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(sth(st), i);
}

static int64_t sq_column_int64(struct xp_db_stmt *st, int i)
{
	return (int64_t)sqlite3_column_int64(sth(st), i);
}

static const void *sq_column_blob(struct xp_db_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(sth(st), i);
	*n = p ? (size_t)sqlite3_column_bytes(sth(st), i) : 0;
	return p;
}

static int64_t sq_changes(struct xp_db *db)
{
	return sqlite3_changes(handle(db));
}

static const struct xp_db_ops sqlite_ops = {
    .dialect = XP_DB_SQLITE,
    .close = sq_close,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_null = sq_bind_null,
    .bind_blob = sq_bind_blob,
    .param_count = sq_param_count,
    .step = sq_step,
    .reset = sq_reset,
    .clear_bindings = sq_clear_bindings,
    .finalize = sq_finalize,
    .column_null = sq_column_null,
    .column_text = sq_column_text,
    .column_int64 = sq_column_int64,
    .column_blob = sq_column_blob,
    .changes = sq_changes,
};

int xp__db_open_sqlite(const char *path, struct xp_db **ret)
{
	*ret = NULL;
	struct sq_db *db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->base.ops = &sqlite_ops;
	int rc = sqlite3_open_v2(
	    path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (!db->h) {
		free(db);
		return -ENOMEM;
	}
	*ret = &db->base;
	if (rc != SQLITE_OK)
		return fail(&db->base, rc);
	sqlite3_busy_timeout(db->h, 30000);
	sqlite3_extended_result_codes(db->h, 1);
	return 0;
}

int xp__db_autocheckpoint(struct xp_db *db, bool on)
{
	if (db->ops != &sqlite_ops)
		return -ENOTSUP;
	return sqlite3_wal_autocheckpoint(handle(db), on ? 1000 : 0) == SQLITE_OK ? 0 : -EIO;
}

int xp__db_checkpoint(struct xp_db *db)
{
	if (db->ops != &sqlite_ops)
		return -ENOTSUP;
	int rc = sqlite3_wal_checkpoint_v2(handle(db), NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fail(db, rc);
}
