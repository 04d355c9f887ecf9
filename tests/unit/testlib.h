/*
 * testlib.h - what the unit tests share, each written once: a scratch directory under
 * XP_TEST_TMP (the build's test directory), paths in it and its removal; the shell
 * commands that run the real tools the tests compare with (sfdisk, e2fsck, qemu-img...)
 * and the check that they are installed; an inventory opened, SQL run straight on its
 * database, and whether SQLite's locks on it are intact; files written and read whole.
 * Header-only; include after cmocka.h (its helpers fail the running test).
 */
#ifndef XP_TESTLIB_H
#define XP_TESTLIB_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "xenprov/inventory.h"

/* Makes XP_TEST_TMP/NAME-XXXXXX into buf (size len). 0, or -1. */
static inline int xp_test_mkdtemp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s-XXXXXX", XP_TEST_TMP, name);
	return mkdtemp(buf) ? 0 : -1;
}

/* Removes dir and everything in it. 0, or -1. */
static inline int xp_test_rmtree(const char *dir)
{
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* "DIR/NAME" in a ring of buffers: the last XP_TEST_PATHS results stay valid, so a
 * test may hold a handful of paths at once. */
#define XP_TEST_PATHS 64
static inline const char *xp_test_path(const char *dir, const char *name)
{
	static char ring[XP_TEST_PATHS][4400];
	static unsigned next;
	char *p = ring[next++ % XP_TEST_PATHS];
	snprintf(p, sizeof(ring[0]), "%s/%s", dir, name);
	return p;
}

/* A sparse file of size bytes at path, replacing any. */
static inline void xp_test_sparse(const char *path, uint64_t size)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

/* Fails the test unless needle is in hay (both shown). */
static inline void xp_test_assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		fprintf(stderr, "expected to find\n---\n%s\n--- in ---\n%s\n---\n", needle, hay);
		fail();
	}
}

/* Fails the test if needle is in hay. */
static inline void xp_test_assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle)) {
		fprintf(stderr, "expected not to find '%s' in:\n%s\n", needle, hay);
		fail();
	}
}

/* The exit status of a wait status (from system(3) or pclose(3)); -1 when the command
 * did not exit (killed by a signal, or never run). */
static inline int xp_test_exit_status(int st)
{
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline char *xp_test_vformat(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
static inline char *xp_test_vformat(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

/* Runs a shell command (printf-style); its exit status, or -1. A command that fails
 * is named on standard error (some are expected to: the test asserts the status). */
static inline int xp_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int xp_test_sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = xp_test_vformat(fmt, ap);
	va_end(ap);
	int rc = xp_test_exit_status(system(cmd));
	if (rc != 0)
		fprintf(stderr, "command exited %d: %s\n", rc, cmd);
	free(cmd);
	return rc;
}

/* Everything left to read from in (heap, NUL-terminated, the caller frees), its length
 * in *len unless len is NULL; fails the test on a read error. */
static inline char *xp_test_slurp(FILE *in, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&text, &n);
	assert_non_null(m);
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), in)) > 0)
		assert_int_equal(fwrite(chunk, 1, got, m), got);
	assert_false(ferror(in));
	assert_int_equal(fclose(m), 0);
	if (len)
		*len = n;
	return text;
}

static inline int xp_test_vrun(char **out, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static inline int xp_test_vrun(char **out, const char *fmt, va_list ap)
{
	char *cmd = xp_test_vformat(fmt, ap);
	FILE *p = popen(cmd, "r");
	if (!p)
		fprintf(stderr, "cannot run: %s\n", cmd);
	assert_non_null(p);
	free(cmd);
	char *text = xp_test_slurp(p, NULL);
	int rc = xp_test_exit_status(pclose(p));
	if (out)
		*out = text;
	else
		free(text);
	return rc;
}

/* Runs a shell command (printf-style); its exit status (or -1), and its standard
 * output in *out (heap, NUL-terminated, the caller frees; out NULL: discarded). */
static inline int xp_test_run(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int xp_test_run(char **out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = xp_test_vrun(out, fmt, ap);
	va_end(ap);
	return rc;
}

/* The standard output of a shell command (printf-style; heap, the caller frees). A
 * command that fails is named on standard error with what it printed. */
static inline char *xp_test_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *xp_test_out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = xp_test_vformat(fmt, ap);
	va_end(ap);
	char *text;
	int rc = xp_test_run(&text, "%s", cmd);
	if (rc != 0)
		fprintf(stderr, "command exited %d: %s\n%s\n", rc, cmd, text);
	free(cmd);
	return text;
}

/* Fails the test unless `e2fsck -fn` finds the ext2/3/4 filesystem at byte offset of
 * the image clean (what it said is shown). */
static inline void xp_test_assert_fsck_clean(const char *image, uint64_t offset)
{
	char *log;
	int rc = xp_test_run(&log, "e2fsck -fn '%s?offset=%llu' 2>&1", image,
			     (unsigned long long)offset);
	if (rc != 0)
		fprintf(stderr, "e2fsck -fn %s (offset %llu): exit %d\n%s\n", image,
			(unsigned long long)offset, rc, log);
	free(log);
	assert_int_equal(rc, 0);
}

/* ---- the backend the inventory's tests run on --------------------------------------
 * By default SQLite, in each test's state directory. Run through
 * tests/integration/lib/pg-cluster (the unit-pgsql/ tests: XP_TEST_PGURL names a
 * throwaway PostgreSQL database), every scratch fixture makes a schema of its own in
 * that database and points the inventory at it with $XENPROV_INVENTORY (the URL with
 * options=-csearch_path=SCHEMA), so each test starts from an empty inventory as with
 * SQLite; the schema is dropped at the fixture's end. */

/* The PostgreSQL database of this run, or NULL: SQLite. */
static inline const char *xp_test_pgurl(void)
{
	const char *u = getenv("XP_TEST_PGURL");
	return u && *u ? u : NULL;
}

/* The current fixture's schema ("" outside one). */
static char xp_test_pg_schema[64];

/* Runs sql on the run's database in schema (NULL: the fixture's); fails the test on
 * an error. */
static inline void xp_test_pg_exec(const char *schema, const char *sql)
{
	PGconn *c = PQconnectdb(xp_test_pgurl());
	if (PQstatus(c) != CONNECTION_OK)
		fprintf(stderr, "pg: %s", PQerrorMessage(c));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	char *all;
	assert_true(asprintf(&all, "SET search_path TO %s; %s",
			     schema		    ? schema
			     : xp_test_pg_schema[0] ? xp_test_pg_schema
						    : "public",
			     sql) > 0);
	PGresult *res = PQexec(c, all);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "pg: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
	free(all);
	assert_true(ok);
}

static inline void xp_test__quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Runs one statement on the run's database with a connection of its own: true if it
 * succeeded (what failed is on standard error). */
static inline bool xp_test__pg_run(const char *sql)
{
	PGconn *c = PQconnectdb(xp_test_pgurl());
	PQsetNoticeProcessor(c, xp_test__quiet, NULL);
	PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "pg: %s: %s", sql,
			res ? PQresultErrorMessage(res) : PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return ok;
}

/* The inventory location of a schema: the run's URL with options=-csearch_path. A
 * heap string. */
static inline char *xp_test__pg_location(const char *schema)
{
	const char *url = xp_test_pgurl();
	char *loc;
	if (asprintf(&loc, "%s%coptions=-csearch_path%%3D%s", url, strchr(url, '?') ? '&' : '?',
		     schema) < 0)
		abort();
	return loc;
}

/* A fixture's state directories other than its first (a test with two inventories)
 * get schemas of their own: FIXTURE_1, FIXTURE_2... */
#define XP_TEST_PG_DIRS 16
static char xp_test__pg_dirs[XP_TEST_PG_DIRS][4200];
static unsigned xp_test__pg_ndirs;

/* A fixture's start: on PostgreSQL, a fresh schema and the inventory pointed at it
 * ($XENPROV_INVENTORY, which what the test runs, children too, reads). 0, or -1. */
static inline int xp_test_backend_setup(void)
{
	if (!xp_test_pgurl())
		return 0;
	static unsigned count;
	snprintf(xp_test_pg_schema, sizeof(xp_test_pg_schema), "t%d_%u", (int)getpid(), count++);
	xp_test__pg_ndirs = 0;
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", xp_test_pg_schema);
	if (!xp_test__pg_run(sql))
		return -1;
	char *loc = xp_test__pg_location(xp_test_pg_schema);
	setenv("XENPROV_INVENTORY", loc, 1);
	free(loc);
	return 0;
}

/* A fixture's end: its schemas dropped. 0, or -1. */
static inline int xp_test_backend_teardown(void)
{
	if (!xp_test_pgurl() || !xp_test_pg_schema[0])
		return 0;
	bool ok = true;
	char sql[128];
	for (unsigned i = 1; i < xp_test__pg_ndirs; i++) {
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s_%u CASCADE", xp_test_pg_schema, i);
		ok = xp_test__pg_run(sql) && ok;
	}
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", xp_test_pg_schema);
	ok = xp_test__pg_run(sql) && ok;
	xp_test_pg_schema[0] = '\0';
	xp_test__pg_ndirs = 0;
	unsetenv("XENPROV_INVENTORY");
	return ok ? 0 : -1;
}

/* The location of state_dir's inventory in this fixture on PostgreSQL (heap), NULL for
 * the fixture's own ($XENPROV_INVENTORY: the first state directory it opens). */
static inline char *xp_test_pg_location_of(const char *state_dir)
{
	if (!xp_test_pgurl() || !xp_test_pg_schema[0])
		return NULL;
	unsigned i = 0;
	while (i < xp_test__pg_ndirs && strcmp(xp_test__pg_dirs[i], state_dir) != 0)
		i++;
	if (i == xp_test__pg_ndirs) {
		assert_true(i < XP_TEST_PG_DIRS);
		snprintf(xp_test__pg_dirs[i], sizeof(xp_test__pg_dirs[i]), "%s", state_dir);
		xp_test__pg_ndirs++;
		if (i > 0) {
			char sql[128];
			snprintf(sql, sizeof(sql), "CREATE SCHEMA %s_%u", xp_test_pg_schema, i);
			assert_true(xp_test__pg_run(sql));
		}
	}
	if (i == 0)
		return NULL;
	char schema[80];
	snprintf(schema, sizeof(schema), "%s_%u", xp_test_pg_schema, i);
	return xp_test__pg_location(schema);
}

/* Runs a test binary's tests with no group fixtures; on PostgreSQL without those named
 * in sqlite_only (NULL-terminated: what tests SQLite itself, its file, its PRAGMAs,
 * its locks), each named on standard output as not run there. A name in sqlite_only
 * that is no test fails the run (a renamed test would otherwise drop silently). */
#define xp_test_run_backends(tests, sqlite_only)                                                   \
	xp_test__run_backends(tests, sizeof(tests) / sizeof((tests)[0]), NULL, NULL, sqlite_only)
/* The same with the group fixtures gs and gt. */
#define xp_test_run_backends_group(tests, gs, gt, sqlite_only)                                     \
	xp_test__run_backends(tests, sizeof(tests) / sizeof((tests)[0]), gs, gt, sqlite_only)
static inline int xp_test__run_backends(const struct CMUnitTest *tests, size_t n,
					CMFixtureFunction gs, CMFixtureFunction gt,
					const char *const *sqlite_only)
{
	if (!xp_test_pgurl())
		return _cmocka_run_group_tests("tests", tests, n, gs, gt);
	struct CMUnitTest *run = calloc(n, sizeof(*run));
	assert_non_null(run);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool out = false;
		for (size_t j = 0; sqlite_only && sqlite_only[j]; j++)
			out = out || strcmp(tests[i].name, sqlite_only[j]) == 0;
		if (out)
			printf("NOT ON POSTGRESQL (SQLite only): %s\n", tests[i].name);
		else
			run[k++] = tests[i];
	}
	for (size_t j = 0; sqlite_only && sqlite_only[j]; j++) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found = found || strcmp(tests[i].name, sqlite_only[j]) == 0;
		if (!found) {
			fprintf(stderr, "no test %s (named SQLite only)\n", sqlite_only[j]);
			free(run);
			return 1;
		}
	}
	int r = _cmocka_run_group_tests("tests on PostgreSQL", run, k, gs, gt);
	free(run);
	return r;
}

/* The PostgreSQL schema of state_dir's inventory in this fixture (into schema, 80
 * bytes). */
static inline void xp_test__pg_schema_of(const char *state_dir, char *schema)
{
	snprintf(schema, 80, "%s", xp_test_pg_schema[0] ? xp_test_pg_schema : "public");
	for (unsigned i = 1; i < xp_test__pg_ndirs; i++)
		if (strcmp(xp_test__pg_dirs[i], state_dir) == 0)
			snprintf(schema, 80, "%s_%u", xp_test_pg_schema, i);
}

/* A connection of the test's own to state_dir's PostgreSQL schema; fails the test if
 * there is none. */
static inline PGconn *xp_test__pg_connect(const char *state_dir)
{
	PGconn *c = PQconnectdb(xp_test_pgurl());
	if (PQstatus(c) != CONNECTION_OK)
		fprintf(stderr, "pg: %s", PQerrorMessage(c));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQsetNoticeProcessor(c, xp_test__quiet, NULL);
	char schema[80], sql[128];
	xp_test__pg_schema_of(state_dir, schema);
	snprintf(sql, sizeof(sql), "SET search_path TO %s", schema);
	PGresult *res = PQexec(c, sql);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	return c;
}

/* The integer the query sql (one row, one column) gives on state_dir's inventory,
 * run straight on the database (either backend); fails the test on an error. */
static inline int64_t xp_test_sql_int(const char *state_dir, const char *sql)
{
	int64_t v;
	if (xp_test_pgurl()) {
		PGconn *c = xp_test__pg_connect(state_dir);
		PGresult *res = PQexec(c, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fprintf(stderr, "pg: %s: %s", sql, PQresultErrorMessage(res));
		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		assert_int_equal(PQntuples(res), 1);
		const char *t = PQgetvalue(res, 0, 0);
		v = t[0] == 't' ? 1 : t[0] == 'f' ? 0 : strtoll(t, NULL, 10);
		PQclear(res);
		PQfinish(c);
		return v;
	}
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(xp_test_path(state_dir, "inventory.db"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* Whether sql, run straight on state_dir's inventory (foreign keys enforced), is
 * refused by a constraint (SQLite's CONSTRAINT, PostgreSQL's class 23); whatever it
 * did is rolled back. Any other failure fails the test. */
static inline bool xp_test_sql_refused(const char *state_dir, const char *sql)
{
	bool refused;
	if (xp_test_pgurl()) {
		PGconn *c = xp_test__pg_connect(state_dir);
		PGresult *res = PQexec(c, "BEGIN");
		PQclear(res);
		res = PQexec(c, sql);
		const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		ExecStatusType s = PQresultStatus(res);
		refused = code && strncmp(code, "23", 2) == 0;
		if (!refused && s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
			fprintf(stderr, "pg: %s: %s", sql, PQresultErrorMessage(res));
		assert_true(refused || s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK);
		PQclear(res);
		PQclear(PQexec(c, "ROLLBACK"));
		PQfinish(c);
		return refused;
	}
	sqlite3 *db;
	assert_int_equal(sqlite3_open(xp_test_path(state_dir, "inventory.db"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON; BEGIN", NULL, NULL, NULL),
			 SQLITE_OK);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	refused = (rc & 0xff) == SQLITE_CONSTRAINT;
	assert_true(refused || rc == SQLITE_OK);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return refused;
}

/* Another process's writer holding the inventory's write lock (SQLite's BEGIN
 * IMMEDIATE; PostgreSQL's advisory lock of xp_inv_begin, store.c's PG_WRITE_LOCK)
 * until xp_test_write_lock_release. */
struct xp_test_write_lock {
	sqlite3 *db;
	PGconn *pg;
};
static inline struct xp_test_write_lock xp_test_write_lock_hold(const char *state_dir)
{
	struct xp_test_write_lock l = {0};
	if (xp_test_pgurl()) {
		l.pg = xp_test__pg_connect(state_dir);
		PGresult *res = PQexec(l.pg, "BEGIN; SELECT pg_advisory_xact_lock(2020896368)");
		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		PQclear(res);
		return l;
	}
	assert_int_equal(sqlite3_open(xp_test_path(state_dir, "inventory.db"), &l.db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(l.db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	return l;
}
static inline void xp_test_write_lock_release(struct xp_test_write_lock *l)
{
	if (l->pg) {
		PQclear(PQexec(l->pg, "ROLLBACK"));
		PQfinish(l->pg);
	}
	if (l->db) {
		assert_int_equal(sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(l->db);
	}
	memset(l, 0, sizeof(*l));
}

/* Runs SQL straight on the inventory database of state_dir (STATE/inventory.db), as an
 * older version or another program would; fails the test on an SQLite error. On
 * PostgreSQL, on the fixture's schema instead. */
static inline void xp_test_sql(const char *state_dir, const char *sql)
{
	if (xp_test_pgurl()) {
		char schema[80] = "";
		for (unsigned i = 1; i < xp_test__pg_ndirs; i++)
			if (strcmp(xp_test__pg_dirs[i], state_dir) == 0)
				snprintf(schema, sizeof(schema), "%s_%u", xp_test_pg_schema, i);
		xp_test_pg_exec(schema[0] ? schema : NULL, sql);
		return;
	}
	sqlite3 *db;
	assert_int_equal(sqlite3_open(xp_test_path(state_dir, "inventory.db"), &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "sql: %s\n", err);
	sqlite3_free(err);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
}

/* Sets the inventory's schema version behind the library's back (SQLite's PRAGMA
 * user_version, PostgreSQL's table xenprov_schema), as an older or newer xenprov
 * would have left it. */
static inline void xp_test_set_schema_version(const char *state_dir, int v)
{
	char sql[128];
	if (xp_test_pgurl())
		snprintf(sql, sizeof(sql), "UPDATE xenprov_schema SET version = %d", v);
	else
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	xp_test_sql(state_dir, sql);
}

/* The inventory of state_dir, opened (made if missing); fails the test if it cannot be. */
/* The inventory's schema version: the number of migrations in inventory/store.c (one
 * place for every test that checks it). */
#define XP_TEST_SCHEMA_VERSION 14

static inline struct xp_inv *xp_test_inv_open(const char *state_dir)
{
	struct xp_inv *inv = NULL;
	char *loc = xp_test_pg_location_of(state_dir), why[512];
	int r = xp_inv_open_at(state_dir, loc, &inv, why, sizeof(why));
	if (r < 0)
		fprintf(stderr, "cannot open the inventory in %s: %s\n", state_dir, why);
	free(loc);
	assert_int_equal(r, 0);
	assert_non_null(inv);
	/* a PostgreSQL run never falls back to SQLite unseen */
	assert_int_equal(xp_inv_is_pgsql(inv), xp_test_pgurl() != NULL);
	return inv;
}

/* Whether the program prog is on PATH. */
static inline bool xp_test_have(const char *prog)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "command -v '%s' >/dev/null 2>&1", prog);
	return xp_test_exit_status(system(cmd)) == 0;
}

/* For main, before the tests run: 0 when every program in progs (names separated by
 * spaces) is on PATH; otherwise names the first one missing ("SKIP: ...") and returns
 * 77, which CTest counts as skipped (SKIP_RETURN_CODE), never as passed. */
static inline int xp_test_need(const char *progs)
{
	char name[64];
	for (const char *p = progs; *p;) {
		size_t n = strcspn(p, " ");
		if (n > 0 && n < sizeof(name)) {
			snprintf(name, sizeof(name), "%.*s", (int)n, p);
			if (!xp_test_have(name)) {
				printf("SKIP: %s is not installed\n", name);
				return 77;
			}
		}
		p += n + (p[n] == ' ');
	}
	return 0;
}

/* The end of a test binary's main: 77 (skipped) where a program in need (names
 * separated by spaces) is missing, as xp_test_need says; else what cmocka's run of tests
 * with the group fixtures gs and gt returns. */
#define xp_test_run_group(need, tests, gs, gt)                                                     \
	(xp_test_need(need) ? 77 : cmocka_run_group_tests(tests, gs, gt))

/* Whether another process sees this one's lock on the WAL index's "dead man switch"
 * byte of the inventory in state, which every SQLite connection to a WAL database holds
 * shared while it is open (sqlite3's os_unix.c: UNIX_SHM_DMS, byte 128 of the -shm
 * file). Closing any descriptor of the file in this process drops it: code that opens
 * the inventory's files behind SQLite's back must not. */
static inline bool xp_test_dms_held(const char *state)
{
	pid_t me = getpid(), pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(xp_test_path(state, "inventory.db-shm"), O_RDWR);
		struct flock fl = {
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 128, .l_len = 1};
		if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0)
			_exit(2);
		_exit(fl.l_type != F_UNLCK && fl.l_pid == me ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 2);
	return WEXITSTATUS(status) == 0;
}

/* Writes len bytes of data to path, replacing the file; fails the test if it cannot.
 * path. */
static inline const char *xp_test_write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		fprintf(stderr, "cannot write %s\n", path);
	assert_true(ok);
	return path;
}

/* Writes the string text to path, replacing the file; fails the test if it cannot.
 * path. */
static inline const char *xp_test_write(const char *path, const char *text)
{
	return xp_test_write_bytes(path, text, strlen(text));
}

/* The whole of the file at path (heap, NUL-terminated, the caller frees), its length in
 * *len unless len is NULL; fails the test if it cannot be read. */
static inline char *xp_test_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fprintf(stderr, "cannot read %s\n", path);
	assert_non_null(f);
	char *text = xp_test_slurp(f, len);
	fclose(f);
	return text;
}

/* A path a test file keeps: DIR/NAME, set by xp_test_paths. */
typedef char xp_test_pathbuf[4200];

/* Sets each path buffer after dir to "DIR/NAME", NAME the string after it:
 * xp_test_paths(dir, buf, "name", buf2, "name2", ..., NULL). */
static inline void xp_test_paths(const char *dir, ...) __attribute__((sentinel));
static inline void xp_test_paths(const char *dir, ...)
{
	va_list ap;
	va_start(ap, dir);
	char *buf;
	while ((buf = va_arg(ap, char *)) != NULL)
		snprintf(buf, sizeof(xp_test_pathbuf), "%s/%s", dir, va_arg(ap, const char *));
	va_end(ap);
}

/* For XP_TEST_SCRATCH: nothing to prepare or finish. */
static inline int xp_test_nothing(void)
{
	return 0;
}

/* A test file's scratch directory: XP_TEST_SCRATCH_WITH("label", prepare, finish)
 * defines tmpdir, the cmocka fixtures setup and teardown, and tpath(NAME) for paths in
 * tmpdir. setup makes a fresh directory, then returns prepare() (the file's own start in
 * it: 0, or -1); teardown calls finish() (what the file opened there, closed), then
 * removes the directory; on PostgreSQL each also makes and drops the inventory's schema
 * (xp_test_backend_setup). Given to each test, one directory per test; given to
 * cmocka_run_group_tests, one for the group. XP_TEST_SCRATCH("label"): nothing to
 * prepare or finish. */
#define XP_TEST_SCRATCH_WITH(label, prepare, finish)                                               \
	static char tmpdir[4096];                                                                  \
	static int prepare(void);                                                                  \
	static int finish(void);                                                                   \
	static inline int setup(void **fixture)                                                    \
	{                                                                                          \
		(void)fixture;                                                                     \
		if (xp_test_mkdtemp(tmpdir, sizeof(tmpdir), label) < 0 ||                          \
		    xp_test_backend_setup() < 0)                                                   \
			return -1;                                                                 \
		return prepare();                                                                  \
	}                                                                                          \
	static inline int teardown(void **fixture)                                                 \
	{                                                                                          \
		(void)fixture;                                                                     \
		int finished = finish();                                                           \
		int dropped = xp_test_backend_teardown();                                          \
		return xp_test_rmtree(tmpdir) < 0 || finished < 0 || dropped < 0 ? -1 : 0;         \
	}                                                                                          \
	static inline const char *tpath(const char *name)                                          \
	{                                                                                          \
		return xp_test_path(tmpdir, name);                                                 \
	}
#define XP_TEST_SCRATCH(label) XP_TEST_SCRATCH_WITH(label, xp_test_nothing, xp_test_nothing)

/* In a test list: test run in a scratch directory of its own (the fixtures
 * XP_TEST_SCRATCH defines). */
#define xp_test_in_scratch(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

#endif
