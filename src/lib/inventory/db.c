/*
 * db.c - the inventory's database API (db.h): each call handed to the connection's
 * backend. What differs between the backends is in db-sqlite.c and db-pgsql.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "inventory/db.h"

int xp__db_fail(struct xp_db *db, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(db->err, sizeof(db->err), fmt, ap);
	va_end(ap);
	return r;
}

void xp__db_close(struct xp_db *db)
{
	if (db)
		db->ops->close(db);
}

enum xp_db_dialect xp__db_dialect(const struct xp_db *db)
{
	return db->ops->dialect;
}

const char *xp__db_errmsg(const struct xp_db *db)
{
	return db->err;
}

int xp__db_exec(struct xp_db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int xp__db_prepare(struct xp_db *db, const char *sql, struct xp_db_stmt **st)
{
	*st = NULL;
	return db->ops->prepare(db, sql, st);
}

void xp__db_keep(struct xp_db_stmt *st)
{
	if (st->db->ops->keep)
		st->db->ops->keep(st);
}

int xp__db_bind_text(struct xp_db_stmt *st, int i, const char *s)
{
	return s ? st->db->ops->bind_text(st, i, s) : st->db->ops->bind_null(st, i);
}

int xp__db_bind_int64(struct xp_db_stmt *st, int i, int64_t v)
{
	return st->db->ops->bind_int64(st, i, v);
}

int xp__db_bind_null(struct xp_db_stmt *st, int i)
{
	return st->db->ops->bind_null(st, i);
}

int xp__db_bind_blob(struct xp_db_stmt *st, int i, const void *p, size_t n)
{
	return st->db->ops->bind_blob(st, i, p, n);
}

int xp__db_param_count(struct xp_db_stmt *st)
{
	return st->db->ops->param_count(st);
}

int xp__db_step(struct xp_db_stmt *st)
{
	return st->db->ops->step(st);
}

void xp__db_reset(struct xp_db_stmt *st)
{
	st->db->ops->reset(st);
}

void xp__db_clear_bindings(struct xp_db_stmt *st)
{
	st->db->ops->clear_bindings(st);
}

void xp__db_finalize(struct xp_db_stmt *st)
{
	if (st)
		st->db->ops->finalize(st);
}

bool xp__db_column_null(struct xp_db_stmt *st, int i)
{
	return st->db->ops->column_null(st, i);
}

const char *xp__db_column_text(struct xp_db_stmt *st, int i)
{
	return st->db->ops->column_text(st, i);
}

int64_t xp__db_column_int64(struct xp_db_stmt *st, int i)
{
	return st->db->ops->column_int64(st, i);
}

int xp__db_column_int(struct xp_db_stmt *st, int i)
{
	return (int)st->db->ops->column_int64(st, i);
}

const void *xp__db_column_blob(struct xp_db_stmt *st, int i, size_t *n)
{
	return st->db->ops->column_blob(st, i, n);
}

int64_t xp__db_changes(struct xp_db *db)
{
	return db->ops->changes(db);
}

bool xp__db_lost(struct xp_db *db)
{
	return db->ops->lost && db->ops->lost(db);
}
