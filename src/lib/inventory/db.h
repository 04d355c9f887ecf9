/*
 * db.h - the inventory's database backends behind one small API: a connection, SQL run
 * whole (exec), prepared statements (bind, step, read columns), the number of rows the
 * last statement changed. Two implementations: SQLite (db-sqlite.c, the embedded
 * default, one file in the state directory) and PostgreSQL through libpq (db-pgsql.c,
 * for several servers and dom0s sharing one inventory). Which one a connection is comes
 * from the inventory's location (store.c: xp__inv_location).
 *
 * Every SQL text the inventory runs is written once, in SQLite's spelling of the subset
 * both databases share: parameters ?N (or ?), INSERT ... ON CONFLICT, RETURNING. The
 * differences that remain are handled here and nowhere else:
 *   - parameters: the PostgreSQL backend rewrites ?N and ? to $N (outside string
 *     literals, quoted names and comments) when it prepares a statement;
 *   - values: every column is read as SQLite reads it (an integer column of a boolean
 *     expression, PostgreSQL's t/f, is 1/0; bytea's hex text is the blob's bytes);
 *   - texts that must differ (a migration's DDL, a trigger, PRAGMAs) are chosen with
 *     xp__db_dialect(db) by the caller, the two spellings side by side.
 *
 * Not here: transactions' nesting and the schema's migrations (store.c), what any
 * table means (the record files).
 */
#ifndef XP_INVENTORY_DB_H
#define XP_INVENTORY_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xp_db_dialect { XP_DB_SQLITE, XP_DB_PGSQL };

/* xp__db_step's results besides -errno (the values of SQLITE_ROW and SQLITE_DONE, so
 * that a stray comparison with either still reads right) */
#define XP_DB_ROW  100
#define XP_DB_DONE 101

struct xp_db;
struct xp_db_stmt;

/* Opens the SQLite database at path (made if missing; the caller made it private
 * first) with a 30 s busy timeout (the caller sets WAL and the rest: store.c). *ret is set even on
 * failure when a connection exists, so that its message can be read; the caller closes
 * it. 0 or -errno. */
int xp__db_open_sqlite(const char *path, struct xp_db **ret);
/* Connects to PostgreSQL with a libpq connection URI (postgresql://...), which must hold
 * no password (store.c refuses one before this is called). *ret as for SQLite. 0 or
 * -errno (-ECONNREFUSED when the server cannot be reached, -EACCES when it refused the
 * login, -ENOENT when libpq cannot be loaded: xp__db_pgsql_check, called first, says
 * why). */
int xp__db_open_pgsql(const char *uri, struct xp_db **ret);
/* Refuses what PostgreSQL's URI must not be: unreadable by libpq (-EINVAL), or
 * holding a password (-EINVAL: credentials come from PGPASSFILE or a service file,
 * never argv or a setting anyone may print), or libpq missing (-ENOENT: it is loaded
 * here at the first call, dlopen, not linked). The reason into why (len bytes). */
int xp__db_pgsql_check(const char *uri, char *why, size_t len);
void xp__db_close(struct xp_db *db);
enum xp_db_dialect xp__db_dialect(const struct xp_db *db);
/* The last error's text (the database's own, or the backend's), "" if none. */
const char *xp__db_errmsg(const struct xp_db *db);

/* Runs sql, one or more statements separated by ';', without parameters; rows are
 * discarded. 0 or -errno. */
int xp__db_exec(struct xp_db *db, const char *sql);
/* The one spelling of sql for this connection: sqlite's text or pgsql's (NULL: the
 * same as sqlite's). */
static inline const char *xp__db_sql(const struct xp_db *db, const char *sqlite, const char *pgsql)
{
	return xp__db_dialect(db) == XP_DB_PGSQL && pgsql ? pgsql : sqlite;
}

/* Prepares one statement. 0 or -errno (*st NULL). */
int xp__db_prepare(struct xp_db *db, const char *sql, struct xp_db_stmt **st);
/* Marks st, before its first step, as one the connection runs many times (the boot
 * server's lease claims): PostgreSQL parses and plans it once (a named server-side
 * statement, PQprepare at its first step with the types bound then, PQexecPrepared
 * after; prepared again after a reconnection; deallocated by finalize), where a plain
 * statement is parsed and planned at each step. Nothing on SQLite, whose statements
 * are prepared already. */
void xp__db_keep(struct xp_db_stmt *st);
/* Binds parameter i (from 1). Texts and blobs are copied. 0 or -errno (-ERANGE: no
 * such parameter, -ENOMEM). */
int xp__db_bind_text(struct xp_db_stmt *st, int i, const char *s);
int xp__db_bind_int64(struct xp_db_stmt *st, int i, int64_t v);
int xp__db_bind_null(struct xp_db_stmt *st, int i);
int xp__db_bind_blob(struct xp_db_stmt *st, int i, const void *p, size_t n);
/* The number of parameters the statement takes (the highest N of ?N). */
int xp__db_param_count(struct xp_db_stmt *st);
/* Runs the statement (at the first step after prepare or reset) and moves to its next
 * row: XP_DB_ROW (a row to read), XP_DB_DONE (no more), or -errno: -EEXIST for a
 * constraint (unique, foreign key, check, not null), -EBUSY for a lock or a
 * serialization failure, -ENOSPC, -ENOMEM, -EROFS, -EIO... */
int xp__db_step(struct xp_db_stmt *st);
/* Back to before the first step, keeping the bindings; clear_bindings sets every
 * parameter to NULL. */
void xp__db_reset(struct xp_db_stmt *st);
void xp__db_clear_bindings(struct xp_db_stmt *st);
void xp__db_finalize(struct xp_db_stmt *st);

/* Columns of the current row (from 0). Text: NULL for NULL, valid until the next
 * step, reset or finalize. Integers: 0 for NULL; a boolean is 0 or 1. Blob: its bytes
 * and *n, NULL (and *n 0) for NULL or an empty blob. */
bool xp__db_column_null(struct xp_db_stmt *st, int i);
const char *xp__db_column_text(struct xp_db_stmt *st, int i);
int64_t xp__db_column_int64(struct xp_db_stmt *st, int i);
int xp__db_column_int(struct xp_db_stmt *st, int i);
const void *xp__db_column_blob(struct xp_db_stmt *st, int i, size_t *n);

/* The number of rows the last INSERT, UPDATE or DELETE run to its end changed (not
 * counting what triggers and foreign key actions did). */
int64_t xp__db_changes(struct xp_db *db);

/* Whether the connection to the database server is lost (PostgreSQL: the server
 * closed it or went away; every later statement fails). Never for SQLite. */
bool xp__db_lost(struct xp_db *db);

/* SQLite only (-ENOTSUP elsewhere): the WAL's checkpoints. */
int xp__db_autocheckpoint(struct xp_db *db, bool on);
int xp__db_checkpoint(struct xp_db *db);

/* PostgreSQL only (-ENOTSUP, or true, on SQLite): the boot server's connections.
 * listen: LISTEN on channel; the connection's socket (poll it for reading) or -errno.
 * notified: reads what arrived; 1 if one or more notifications came since the last
 * call, 0 if none, -EIO when the connection is lost (xp__db_lost says so after).
 * reset_start: begins connecting again without waiting (PQresetStart); until
 * reset_poll says it is done, the connection is lost (xp__db_lost) and refuses every
 * statement at once. reset_poll: goes as far as it can without waiting (polls the
 * socket with no timeout first: it may be called at any time): 1 connected and the
 * session set up as xp__db_open_pgsql does (a LISTEN must be given again), 0 not yet
 * (*fd and *events, POLLIN or POLLOUT: what to wait for), -errno failed (lost until
 * the next reset_start). */
int xp__db_pgsql_listen(struct xp_db *db, const char *channel);
int xp__db_pgsql_notified(struct xp_db *db);
int xp__db_pgsql_reset_start(struct xp_db *db);
int xp__db_pgsql_reset_poll(struct xp_db *db, int *fd, short *events);

/* The backends' operations (db.c dispatches to them). */
struct xp_db_ops {
	enum xp_db_dialect dialect;
	void (*close)(struct xp_db *db);
	int (*exec)(struct xp_db *db, const char *sql);
	int (*prepare)(struct xp_db *db, const char *sql, struct xp_db_stmt **st);
	int (*bind_text)(struct xp_db_stmt *st, int i, const char *s);
	int (*bind_int64)(struct xp_db_stmt *st, int i, int64_t v);
	int (*bind_null)(struct xp_db_stmt *st, int i);
	int (*bind_blob)(struct xp_db_stmt *st, int i, const void *p, size_t n);
	int (*param_count)(struct xp_db_stmt *st);
	int (*step)(struct xp_db_stmt *st);
	void (*reset)(struct xp_db_stmt *st);
	void (*clear_bindings)(struct xp_db_stmt *st);
	void (*finalize)(struct xp_db_stmt *st);
	bool (*column_null)(struct xp_db_stmt *st, int i);
	const char *(*column_text)(struct xp_db_stmt *st, int i);
	int64_t (*column_int64)(struct xp_db_stmt *st, int i);
	const void *(*column_blob)(struct xp_db_stmt *st, int i, size_t *n);
	int64_t (*changes)(struct xp_db *db);
	bool (*lost)(struct xp_db *db);	     /* NULL: never lost */
	void (*keep)(struct xp_db_stmt *st); /* NULL: nothing to do */
};

/* What every connection and statement starts with: its backend (and for a statement,
 * its connection). */
struct xp_db {
	const struct xp_db_ops *ops;
	char err[512];
};
struct xp_db_stmt {
	struct xp_db *db;
};

/* Sets db's error text (printf-style) and returns r. */
int xp__db_fail(struct xp_db *db, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
