/*
 * db-pgsql.c - the PostgreSQL backend of the inventory's database API (db.h), through
 * libpq: statements written in SQLite's spelling get PostgreSQL's parameters ($N), run
 * with PQexecParams (values as text, blobs as binary), or for a kept statement
 * (xp__db_keep) prepared once on the server and run with PQexecPrepared, their whole
 * result kept and
 * stepped through row by row as SQLite steps; columns read back as SQLite would give
 * them (booleans 1/0, bytea as its bytes). SQLSTATEs become -errno. libpq itself is
 * loaded (dlopen) at the first check or connection, once a process; the build needs
 * only its header.
 *
 * Not here: the connection's credentials (libpq reads PGPASSFILE or a service file;
 * store.c refuses a password in the URL before connecting), transactions' locking
 * (store.c).
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/db.h"
#include "util/dlib.h"

/* pg_type.h's OIDs of the types bound explicitly (catalog/pg_type.dat) */
#define OID_BOOL  16
#define OID_BYTEA 17
#define OID_INT8  20

#ifndef XP_LIBPQ_SONAME
#define XP_LIBPQ_SONAME "libpq.so.5"
#endif

/* libpq's functions used here, typed by its own declarations: the library is loaded
 * (dlopen) when a PostgreSQL inventory is first checked or opened, not linked, as it
 * brings ten more (OpenSSL, Kerberos, LDAP, SASL...) to every start of xenprov, whose
 * commands mostly never touch PostgreSQL. */
static struct {
	__typeof__(PQclear) *clear;
	__typeof__(PQcmdStatus) *cmdStatus;
	__typeof__(PQcmdTuples) *cmdTuples;
	__typeof__(PQconnectdbParams) *connectdbParams;
	__typeof__(PQconninfoFree) *conninfoFree;
	__typeof__(PQconninfoParse) *conninfoParse;
	__typeof__(PQconsumeInput) *consumeInput;
	__typeof__(PQerrorMessage) *errorMessage;
	__typeof__(PQexec) *exec;
	__typeof__(PQexecParams) *execParams;
	__typeof__(PQexecPrepared) *execPrepared;
	__typeof__(PQfinish) *finish;
	__typeof__(PQfreemem) *freemem;
	__typeof__(PQftype) *ftype;
	__typeof__(PQgetResult) *getResult;
	__typeof__(PQgetisnull) *getisnull;
	__typeof__(PQgetvalue) *getvalue;
	__typeof__(PQisBusy) *isBusy;
	__typeof__(PQnfields) *nfields;
	__typeof__(PQnotifies) *notifies;
	__typeof__(PQntuples) *ntuples;
	__typeof__(PQprepare) *prepare;
	__typeof__(PQresetPoll) *resetPoll;
	__typeof__(PQresetStart) *resetStart;
	__typeof__(PQresultErrorField) *resultErrorField;
	__typeof__(PQresultErrorMessage) *resultErrorMessage;
	__typeof__(PQresultStatus) *resultStatus;
	__typeof__(PQsendQuery) *sendQuery;
	__typeof__(PQsetNoticeProcessor) *setNoticeProcessor;
	__typeof__(PQsocket) *socket;
	__typeof__(PQstatus) *status;
	__typeof__(PQtransactionStatus) *transactionStatus;
} pq;

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static char pq_load_error[256]; /* why libpq could not be loaded, "" once it is */

static void pq_start(void)
{
	const struct xp_dlsym syms[] = {
	    XP_DLSYM(PQclear, pq.clear),
	    XP_DLSYM(PQcmdStatus, pq.cmdStatus),
	    XP_DLSYM(PQcmdTuples, pq.cmdTuples),
	    XP_DLSYM(PQconnectdbParams, pq.connectdbParams),
	    XP_DLSYM(PQconninfoFree, pq.conninfoFree),
	    XP_DLSYM(PQconninfoParse, pq.conninfoParse),
	    XP_DLSYM(PQconsumeInput, pq.consumeInput),
	    XP_DLSYM(PQerrorMessage, pq.errorMessage),
	    XP_DLSYM(PQexec, pq.exec),
	    XP_DLSYM(PQexecParams, pq.execParams),
	    XP_DLSYM(PQexecPrepared, pq.execPrepared),
	    XP_DLSYM(PQfinish, pq.finish),
	    XP_DLSYM(PQfreemem, pq.freemem),
	    XP_DLSYM(PQftype, pq.ftype),
	    XP_DLSYM(PQgetResult, pq.getResult),
	    XP_DLSYM(PQgetisnull, pq.getisnull),
	    XP_DLSYM(PQgetvalue, pq.getvalue),
	    XP_DLSYM(PQisBusy, pq.isBusy),
	    XP_DLSYM(PQnfields, pq.nfields),
	    XP_DLSYM(PQnotifies, pq.notifies),
	    XP_DLSYM(PQntuples, pq.ntuples),
	    XP_DLSYM(PQprepare, pq.prepare),
	    XP_DLSYM(PQresetPoll, pq.resetPoll),
	    XP_DLSYM(PQresetStart, pq.resetStart),
	    XP_DLSYM(PQresultErrorField, pq.resultErrorField),
	    XP_DLSYM(PQresultErrorMessage, pq.resultErrorMessage),
	    XP_DLSYM(PQresultStatus, pq.resultStatus),
	    XP_DLSYM(PQsendQuery, pq.sendQuery),
	    XP_DLSYM(PQsetNoticeProcessor, pq.setNoticeProcessor),
	    XP_DLSYM(PQsocket, pq.socket),
	    XP_DLSYM(PQstatus, pq.status),
	    XP_DLSYM(PQtransactionStatus, pq.transactionStatus),
	};
	char why[192];
	size_t n = sizeof(syms) / sizeof(syms[0]);
	if (xp_dlib_load(XP_LIBPQ_SONAME, syms, n, why, sizeof(why)) < 0)
		snprintf(pq_load_error, sizeof(pq_load_error),
			 "%s could not be loaded: %s; apt-get install libpq5", XP_LIBPQ_SONAME,
			 why);
}

/* libpq loaded (once a process, any thread): 0, or -ENOENT with the reason into why
 * (len bytes) when why is not NULL. */
static int pq_load(char *why, size_t len)
{
	pthread_once(&pq_once, pq_start);
	if (!pq_load_error[0])
		return 0;
	if (why)
		snprintf(why, len, "%s", pq_load_error);
	return -ENOENT;
}

struct pg_db {
	struct xp_db base;
	PGconn *c;
	int64_t changes;
	/* kept statements: a connection's names (xp_1, xp_2...) and its incarnation,
	 * moved by a reset, which forgets every server-side statement */
	unsigned names, gen;
	/* a reset in steps (xp__db_pgsql_reset_start): what it waits for; while it is not
	 * RESET_NONE the connection is lost and nothing else touches it */
	enum { RESET_NONE, RESET_CONNECTING, RESET_SETTING, RESET_FAILED } reset;
	short want; /* POLLIN or POLLOUT */
};

/* What each session needs: SQLite's LIKE ignores ASCII case, PostgreSQL's does not:
 * the inventory's one LIKE (xp_system_mac_last) matches MACs stored in lower case.
 * Timestamps are integers. What matters per session: UTF-8 text, and a statement that
 * waits on a lock at most as long as SQLite's busy timeout. */
#define SESSION_SQL "SET client_encoding = 'UTF8'; SET lock_timeout = '30s'"

struct pg_stmt {
	struct xp_db_stmt base;
	char *sql; /* with $N */
	int nparams;
	char **vals; /* each a heap copy, NULL for NULL */
	int *lens;
	int *fmts;
	Oid *types;
	PGresult *res;
	int row, nrows;
	bool ran;
	unsigned char *blob; /* the last bytea column read, decoded */
	bool keep;	     /* xp__db_keep: prepared on the server as name */
	bool prepared;	     /* ...in incarnation gen of the connection */
	unsigned gen;
	char name[16];
};

static PGconn *conn(struct xp_db *db)
{
	return ((struct pg_db *)db)->c;
}

static struct pg_stmt *pst(struct xp_db_stmt *st)
{
	return (struct pg_stmt *)st;
}

/* The text of a libpq message without its final newline. */
static int message(struct xp_db *db, int r, const char *text)
{
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	return xp__db_fail(db, r, "%.*s", (int)n, text);
}

/* PostgreSQL's error codes (Appendix A) as the errno SQLite's would give. */
static int sqlstate_errno(const char *s)
{
	if (!s)
		return -EIO;
	if (strncmp(s, "23", 2) == 0) /* integrity constraint violation */
		return -EEXIST;
	if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0)
		return -EBUSY; /* serialization failure, deadlock, lock not available */
	if (strcmp(s, "53100") == 0)
		return -ENOSPC;
	if (strcmp(s, "53200") == 0)
		return -ENOMEM;
	if (strcmp(s, "25006") == 0)
		return -EROFS;
	if (strncmp(s, "28", 2) == 0 || strcmp(s, "42501") == 0)
		return -EACCES;
	if (strncmp(s, "22", 2) == 0) /* data exception: a value of the wrong form */
		return -EINVAL;
	return -EIO;
}

/* Maps a failed result (or the connection's state without one) to -errno, keeping
 * its message; frees res. */
static int result_fail(struct xp_db *db, PGresult *res)
{
	int r;
	if (!res)
		r = message(db, pq.status(conn(db)) == CONNECTION_BAD ? -EIO : -ENOMEM,
			    pq.errorMessage(conn(db)));
	else
		r = message(db, sqlstate_errno(pq.resultErrorField(res, PG_DIAG_SQLSTATE)),
			    pq.resultErrorMessage(res));
	pq.clear(res);
	return r;
}

static void pg_close(struct xp_db *db)
{
	pq.finish(conn(db));
	free(db);
}

/* A connection being reset is libpq's alone until it is done (a statement would wait
 * on it, or consume what the connection's setup expects): refused at once. */
static int usable(struct xp_db *db)
{
	if (((struct pg_db *)db)->reset != RESET_NONE)
		return xp__db_fail(db, -EIO, "no connection to the server (reconnecting)");
	return 0;
}

static int pg_exec(struct xp_db *db, const char *sql)
{
	int r = usable(db);
	if (r < 0)
		return r;
	PGresult *res = pq.exec(conn(db), sql);
	ExecStatusType s = pq.resultStatus(res);
	if (res && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)) {
		/* A statement that failed inside a transaction aborts all of it (SQLite
		 * would undo that statement only); COMMIT then rolls back and says so in
		 * its tag, not as an error. Nothing was committed: that is an error. */
		bool lost =
		    strcmp(sql, "COMMIT") == 0 && strcmp(pq.cmdStatus(res), "ROLLBACK") == 0;
		pq.clear(res);
		return lost ? xp__db_fail(db, -EIO,
					  "the transaction was rolled back: a statement in it "
					  "failed")
			    : 0;
	}
	return result_fail(db, res);
}

/* SQLite's ?N and ? as PostgreSQL's $N, outside string literals ('...'), quoted names
 * ("...") and comments; a bare ? is one more than the highest number before it, as in
 * SQLite (https://sqlite.org/lang_expr.html#varparam). *n the highest number. */
static char *translate(const char *sql, int *n)
{
	size_t len = strlen(sql);
	char *out = malloc(len * 2 + 1), *o = out; /* "?" -> "$NNN" at most doubles */
	if (!out)
		return NULL;
	int max = 0;
	for (const char *p = sql; *p;) {
		if (*p == '\'' || *p == '"') {
			char q = *p;
			*o++ = *p++;
			while (*p && *p != q)
				*o++ = *p++;
			if (*p)
				*o++ = *p++;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				*o++ = *p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			size_t k = end ? (size_t)(end + 2 - p) : strlen(p);
			memcpy(o, p, k);
			o += k;
			p += k;
		} else if (*p == '?') {
			p++;
			int v = 0;
			if (*p >= '0' && *p <= '9') {
				while (*p >= '0' && *p <= '9' && v < 100000)
					v = v * 10 + (*p++ - '0');
			} else {
				v = max + 1;
			}
			if (v > max)
				max = v;
			o += sprintf(o, "$%d", v);
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	*n = max;
	return out;
}

static void clear_result(struct pg_stmt *s)
{
	pq.clear(s->res);
	s->res = NULL;
	s->ran = false;
	s->row = -1;
	s->nrows = 0;
	free(s->blob);
	s->blob = NULL;
}

static void pg_finalize(struct xp_db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	clear_result(s);
	struct pg_db *db = (struct pg_db *)st->db;
	/* the connection forgets its statements when it ends; one that goes on is told
	 * (outside a transaction only: in a failed one nothing would run) */
	if (s->prepared && s->gen == db->gen && db->reset == RESET_NONE &&
	    pq.status(db->c) == CONNECTION_OK && pq.transactionStatus(db->c) == PQTRANS_IDLE) {
		char sql[32];
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		pq.clear(pq.exec(db->c, sql));
	}
	for (int i = 0; i < s->nparams; i++)
		free(s->vals[i]);
	free(s->vals);
	free(s->lens);
	free(s->fmts);
	free(s->types);
	free(s->sql);
	free(s);
}

static int pg_prepare(struct xp_db *db, const char *sql, struct xp_db_stmt **ret)
{
	struct pg_stmt *s = calloc(1, sizeof(*s));
	if (!s)
		return xp__db_fail(db, -ENOMEM, "out of memory");
	s->base.db = db;
	s->row = -1;
	s->sql = translate(sql, &s->nparams);
	size_t n = s->nparams > 0 ? (size_t)s->nparams : 1;
	s->vals = calloc(n, sizeof(*s->vals));
	s->lens = calloc(n, sizeof(*s->lens));
	s->fmts = calloc(n, sizeof(*s->fmts));
	s->types = calloc(n, sizeof(*s->types));
	if (!s->sql || !s->vals || !s->lens || !s->fmts || !s->types) {
		pg_finalize(&s->base);
		return xp__db_fail(db, -ENOMEM, "out of memory");
	}
	/* parsed by the server at the first step (PQexecParams: one round trip); an
	 * error there is the step's */
	*ret = &s->base;
	return 0;
}

/* Sets parameter i to len bytes of v (format 1: binary), taking v. */
static int set_param(struct xp_db_stmt *st, int i, char *v, int len, int fmt, Oid type)
{
	struct pg_stmt *s = pst(st);
	if (i < 1 || i > s->nparams) {
		free(v);
		return xp__db_fail(st->db, -ERANGE, "no parameter %d", i);
	}
	free(s->vals[i - 1]);
	s->vals[i - 1] = v;
	s->lens[i - 1] = len;
	s->fmts[i - 1] = fmt;
	s->types[i - 1] = type;
	return 0;
}

static int pg_bind_text(struct xp_db_stmt *st, int i, const char *v)
{
	char *copy = strdup(v);
	if (!copy)
		return xp__db_fail(st->db, -ENOMEM, "out of memory");
	/* type 0: the server infers it from where the parameter stands, as a text
	 * literal would be */
	return set_param(st, i, copy, 0, 0, 0);
}

static int pg_bind_int64(struct xp_db_stmt *st, int i, int64_t v)
{
	char *text;
	if (asprintf(&text, "%lld", (long long)v) < 0)
		return xp__db_fail(st->db, -ENOMEM, "out of memory");
	return set_param(st, i, text, 0, 0, OID_INT8);
}

static int pg_bind_null(struct xp_db_stmt *st, int i)
{
	return set_param(st, i, NULL, 0, 0, 0);
}

static int pg_bind_blob(struct xp_db_stmt *st, int i, const void *p, size_t n)
{
	if (n > 0x7fffffff)
		return xp__db_fail(st->db, -EFBIG, "a value of %zu bytes", n);
	char *copy = malloc(n ? n : 1);
	if (!copy)
		return xp__db_fail(st->db, -ENOMEM, "out of memory");
	memcpy(copy, p, n);
	return set_param(st, i, copy, (int)n, 1, OID_BYTEA);
}

static int pg_param_count(struct xp_db_stmt *st)
{
	return pst(st)->nparams;
}

static bool changes_rows(const char *status)
{
	return strncmp(status, "INSERT", 6) == 0 || strncmp(status, "UPDATE", 6) == 0 ||
	       strncmp(status, "DELETE", 6) == 0 || strncmp(status, "MERGE", 5) == 0;
}

static void pg_keep(struct xp_db_stmt *st)
{
	pst(st)->keep = true;
}

/* A kept statement's server-side preparation, once per incarnation of the connection:
 * its parameters' types are those bound now (0, "from where it stands", for text and
 * NULL), so a kept statement casts what it needs (CAST(?1 AS BIGINT[])). */
static int keep_prepared(struct pg_db *db, struct pg_stmt *s)
{
	if (s->prepared && s->gen == db->gen)
		return 0;
	snprintf(s->name, sizeof(s->name), "xp_%u", ++db->names);
	PGresult *res = pq.prepare(db->c, s->name, s->sql, s->nparams, s->types);
	if (pq.resultStatus(res) != PGRES_COMMAND_OK)
		return result_fail(&db->base, res);
	pq.clear(res);
	s->prepared = true;
	s->gen = db->gen;
	return 0;
}

static int pg_step(struct xp_db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	struct pg_db *db = (struct pg_db *)st->db;
	if (!s->ran) {
		int r = usable(st->db);
		if (r == 0 && s->keep)
			r = keep_prepared(db, s);
		if (r < 0)
			return r;
		const char *const *vals = (const char *const *)s->vals;
		PGresult *res =
		    s->keep ? pq.execPrepared(db->c, s->name, s->nparams, vals, s->lens, s->fmts, 0)
			    : pq.execParams(db->c, s->sql, s->nparams, s->types, vals, s->lens,
					    s->fmts, 0);
		ExecStatusType status = pq.resultStatus(res);
		if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
			return result_fail(st->db, res);
		s->res = res;
		s->ran = true;
		s->row = -1;
		s->nrows = status == PGRES_TUPLES_OK ? pq.ntuples(res) : 0;
		if (changes_rows(pq.cmdStatus(res)))
			db->changes = strtoll(pq.cmdTuples(res), NULL, 10);
	}
	if (s->row + 1 < s->nrows) {
		s->row++;
		return XP_DB_ROW;
	}
	s->row = s->nrows;
	return XP_DB_DONE;
}

static void pg_reset(struct xp_db_stmt *st)
{
	clear_result(pst(st));
}

static void pg_clear_bindings(struct xp_db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	for (int i = 0; i < s->nparams; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
		s->lens[i] = s->fmts[i] = 0;
		s->types[i] = 0;
	}
}

static bool on_row(struct pg_stmt *s, int i)
{
	return s->res && s->row >= 0 && s->row < s->nrows && i >= 0 && i < pq.nfields(s->res);
}

static bool pg_column_null(struct xp_db_stmt *st, int i)
{
	struct pg_stmt *s = pst(st);
	return !on_row(s, i) || pq.getisnull(s->res, s->row, i);
}

static const char *pg_column_text(struct xp_db_stmt *st, int i)
{
	struct pg_stmt *s = pst(st);
	if (pg_column_null(st, i))
		return NULL;
	return pq.getvalue(s->res, s->row, i);
}

static int64_t pg_column_int64(struct xp_db_stmt *st, int i)
{
	struct pg_stmt *s = pst(st);
	const char *v = pg_column_text(st, i);
	if (!v)
		return 0;
	if (pq.ftype(s->res, i) == OID_BOOL)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static const void *pg_column_blob(struct xp_db_stmt *st, int i, size_t *n)
{
	struct pg_stmt *s = pst(st);
	*n = 0;
	const char *v = pg_column_text(st, i);
	if (!v)
		return NULL;
	if (pq.ftype(s->res, i) != OID_BYTEA) { /* text read as bytes, as SQLite does */
		*n = strlen(v);
		return *n ? v : NULL;
	}
	/* bytea's text output, hex format (bytea_output's default since 9.0): \x then
	 * two digits a byte */
	if (v[0] != '\\' || v[1] != 'x')
		return NULL;
	size_t len = strlen(v + 2) / 2;
	free(s->blob);
	s->blob = malloc(len ? len : 1);
	if (!s->blob)
		return NULL;
	for (size_t k = 0; k < len; k++) {
		int hi = hexval(v[2 + 2 * k]), lo = hexval(v[3 + 2 * k]);
		if (hi < 0 || lo < 0)
			return NULL;
		s->blob[k] = (unsigned char)(hi << 4 | lo);
	}
	*n = len;
	return len ? s->blob : NULL;
}

static int64_t pg_changes(struct xp_db *db)
{
	return ((struct pg_db *)db)->changes;
}

static bool pg_lost(struct xp_db *db)
{
	return pq.status(conn(db)) == CONNECTION_BAD || ((struct pg_db *)db)->reset != RESET_NONE;
}

static const struct xp_db_ops pgsql_ops = {
    .dialect = XP_DB_PGSQL,
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_null = pg_bind_null,
    .bind_blob = pg_bind_blob,
    .param_count = pg_param_count,
    .step = pg_step,
    .reset = pg_reset,
    .clear_bindings = pg_clear_bindings,
    .finalize = pg_finalize,
    .column_null = pg_column_null,
    .column_text = pg_column_text,
    .column_int64 = pg_column_int64,
    .column_blob = pg_column_blob,
    .changes = pg_changes,
    .lost = pg_lost,
    .keep = pg_keep,
};

/* Notices (a CREATE ... IF NOT EXISTS that found the thing, say) are the server's
 * chatter: libpq would print them on standard error, which the library never does. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int xp__db_open_pgsql(const char *uri, struct xp_db **ret)
{
	*ret = NULL;
	int r = pq_load(NULL, 0);
	if (r < 0)
		return r;
	struct pg_db *db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->base.ops = &pgsql_ops;
	/* TCP's own timeouts, unless the URI (or a service file) says otherwise: a host
	 * that goes silent while connected (powered off, the network cut: no RST) ends a
	 * statement in about 10 s rather than after the kernel's retries (~15 min), which
	 * the DHCP and TFTP loop would wait out. Keywords are taken in order, the URI's
	 * (expanded from dbname) last, so its own settings win. Ignored on a Unix socket. */
	static const char *const keys[] = {"keepalives",	  "keepalives_idle",
					   "keepalives_interval", "keepalives_count",
					   "tcp_user_timeout",	  "dbname",
					   NULL};
	const char *vals[] = {"1", "10", "3", "3", "10000", uri, NULL};
	db->c = pq.connectdbParams(keys, vals, 1);
	if (!db->c) {
		free(db);
		return -ENOMEM;
	}
	*ret = &db->base;
	if (pq.status(db->c) != CONNECTION_OK) {
		/* libpq's message names the host and the reason, never the password (there
		 * is none in the URI: store.c refused it) */
		const char *m = pq.errorMessage(db->c);
		r = strstr(m, "authentication failed") || strstr(m, "no password supplied") ||
			    strstr(m, "permission denied")
			? -EACCES
			: -ECONNREFUSED;
		return message(&db->base, r, m);
	}
	pq.setNoticeProcessor(db->c, quiet, NULL);
	return pg_exec(&db->base, SESSION_SQL);
}

int xp__db_pgsql_check(const char *uri, char *why, size_t len)
{
	int r = pq_load(why, len);
	if (r < 0)
		return r;
	char *err = NULL;
	PQconninfoOption *opts = pq.conninfoParse(uri, &err);
	if (!opts) {
		if (err) {
			size_t n = strlen(err);
			while (n > 0 && err[n - 1] == '\n')
				n--;
			snprintf(why, len, "%.*s", (int)n, err);
		} else {
			snprintf(why, len, "out of memory");
		}
		pq.freemem(err);
		return err ? -EINVAL : -ENOMEM;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val) {
			snprintf(why, len,
				 "a password in the URL would show in process lists and logs; "
				 "give it in a PGPASSFILE (or ~/.pgpass) or a libpq service file "
				 "(PGSERVICEFILE, service=NAME) instead");
			r = -EINVAL;
		}
	pq.conninfoFree(opts);
	return r;
}

/* ---- the boot server's connection: notifications and reconnection (issue 20) ----------
 * Kept apart from the connection code above: a server that shares the inventory with
 * others hears their commits (LISTEN; writers NOTIFY inside their transaction, store.c)
 * and outlives a restart of the database server or of the network between (a reset in
 * steps, PQresetStart and PQresetPoll, then the session's settings again, sent and
 * read without waiting: the server's main loop drives it and never blocks on it). */

static struct pg_db *pgdb(struct xp_db *db)
{
	return xp__db_dialect(db) == XP_DB_PGSQL ? (struct pg_db *)db : NULL;
}

int xp__db_pgsql_listen(struct xp_db *db, const char *channel)
{
	struct pg_db *p = pgdb(db);
	if (!p)
		return -ENOTSUP;
	char sql[96];
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	int r = pg_exec(db, sql);
	if (r < 0)
		return r;
	int fd = pq.socket(p->c);
	return fd < 0 ? xp__db_fail(db, -EIO, "the connection has no socket") : fd;
}

int xp__db_pgsql_notified(struct xp_db *db)
{
	struct pg_db *p = pgdb(db);
	if (!p)
		return -ENOTSUP;
	if (pq.status(p->c) != CONNECTION_OK || !pq.consumeInput(p->c))
		return message(db, -EIO, pq.errorMessage(p->c));
	int n = 0;
	for (PGnotify *m; (m = pq.notifies(p->c)) != NULL; n++)
		pq.freemem(m);
	/* the server closed the connection (restarted): PQconsumeInput saw the end of
	 * the stream only as a state */
	if (pq.status(p->c) != CONNECTION_OK)
		return message(db, -EIO, pq.errorMessage(p->c));
	return n > 0;
}

int xp__db_pgsql_reset_start(struct xp_db *db)
{
	struct pg_db *p = pgdb(db);
	if (!p)
		return -ENOTSUP;
	p->gen++; /* a new session: the kept statements are prepared again */
	p->reset = RESET_CONNECTING;
	/* libpq's PQconnectPoll protocol: first as if it had asked to write */
	p->want = POLLOUT;
	if (!pq.resetStart(p->c)) {
		p->reset = RESET_FAILED;
		return message(db, -ECONNREFUSED, pq.errorMessage(p->c));
	}
	return 0;
}

/* The session's settings read back: 1 all of them, 0 more to come, -errno. */
static int setting_results(struct pg_db *p)
{
	while (!pq.isBusy(p->c)) {
		PGresult *res = pq.getResult(p->c);
		if (!res)
			return 1;
		if (pq.resultStatus(res) != PGRES_COMMAND_OK)
			return result_fail(&p->base, res);
		pq.clear(res);
	}
	return 0;
}

int xp__db_pgsql_reset_poll(struct xp_db *db, int *fd, short *events)
{
	struct pg_db *p = pgdb(db);
	if (!p)
		return -ENOTSUP;
	if (p->reset == RESET_NONE)
		return 1;
	if (p->reset == RESET_FAILED)
		return xp__db_fail(db, -ECONNREFUSED, "the reconnection failed");
	int r = 0;
	struct pollfd pf = {.fd = pq.socket(p->c), .events = p->want};
	/* libpq may be asked only once its socket is ready (PQconnectPoll's contract): a
	 * call in between would take a connect() in progress for a finished one */
	if (pf.fd >= 0 && poll(&pf, 1, 0) <= 0)
		goto wait;
	if (p->reset == RESET_CONNECTING) {
		switch (pq.resetPoll(p->c)) {
		case PGRES_POLLING_READING:
			p->want = POLLIN;
			goto wait;
		case PGRES_POLLING_WRITING:
			p->want = POLLOUT;
			goto wait;
		case PGRES_POLLING_OK:
			if (!pq.sendQuery(p->c, SESSION_SQL)) {
				r = message(db, -EIO, pq.errorMessage(p->c));
				break;
			}
			p->reset = RESET_SETTING;
			p->want = POLLIN;
			goto wait;
		default:
			r = message(db, -ECONNREFUSED, pq.errorMessage(p->c));
			break;
		}
	} else {
		r = pq.consumeInput(p->c) ? setting_results(p)
					  : message(db, -EIO, pq.errorMessage(p->c));
		if (r == 0)
			goto wait;
	}
	p->reset = r > 0 ? RESET_NONE : RESET_FAILED;
	return r;
wait:
	*fd = pq.socket(p->c);
	*events = p->want;
	return 0;
}
