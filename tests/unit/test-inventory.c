/*
 * test-inventory.c - unit tests for the inventory (store.c, settings.c, profile.c):
 * opening and migrating the database, settings lists, profiles (add, get, update,
 * list, remove, parents, cycles, resolution), every profile key's validation and
 * normalisation, transactions (nesting, rollback, refusals), and several processes
 * writing the same inventory at once.
 *
 * Each test works in its own scratch directory under XP_TEST_TMP.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include <sqlite3.h>

#include "inventory/store-internal.h"
#include "xenprov/guest.h"
#include "xenprov/inventory.h"

#define N(a)	       (sizeof(a) / sizeof((a)[0]))
#define SCHEMA_VERSION XP_TEST_SCHEMA_VERSION

static xp_test_pathbuf state;

XP_TEST_SCRATCH_WITH("inventory", state_in_scratch, xp_test_nothing)

static int state_in_scratch(void)
{
	xp_test_paths(tmpdir, state, "state", NULL);
	return 0;
}

/* Adds a profile from "key=value" strings (NULL-terminated). */
static int add(struct xp_inv *inv, const char *name, const char *parent, ...)
{
	struct xp_profile p = {.name = (char *)name, .parent = (char *)parent};
	va_list ap;
	va_start(ap, parent);
	for (const char *kv; (kv = va_arg(ap, const char *));) {
		char key[64];
		const char *eq = strchr(kv, '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
		assert_int_equal(xp_settings_set(&p.set, key, eq + 1), 0);
	}
	va_end(ap);
	int r = xp_profile_add(inv, &p);
	xp_settings_release(&p.set);
	return r;
}

static bool has(struct xp_inv *inv, const char *name)
{
	struct xp_profile p;
	int r = xp_profile_get(inv, name, &p);
	if (r == 0)
		xp_profile_release(&p);
	assert_true(r == 0 || r == -ENOENT);
	return r == 0;
}

/* ---- the store ------------------------------------------------------------------------ */

static void test_open(void **st)
{
	(void)st;
	/* nested, missing directories are made; the last one private */
	xp_test_paths(tmpdir, state, "a/b/state", NULL);
	struct xp_inv *inv = xp_test_inv_open(state);
	struct stat sb;
	assert_int_equal(stat(state, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	/* SQLite's file in it; on PostgreSQL none (the database is elsewhere) */
	char db[4300];
	snprintf(db, sizeof(db), "%s/inventory.db", state);
	if (xp_test_pgurl())
		assert_int_equal(stat(db, &sb), -1);
	else
		assert_int_equal(stat(db, &sb), 0);
	assert_true(xp_test_pgurl() || S_ISREG(sb.st_mode));
	assert_int_equal(xp_inv_schema_version(inv), SCHEMA_VERSION);
	assert_string_equal(xp_inv_state_dir(inv), state);
	assert_int_equal(add(inv, "keep", NULL, "memory=512", NULL), 0);
	xp_inv_close(inv);

	/* reopening changes nothing */
	for (int i = 0; i < 3; i++) {
		inv = xp_test_inv_open(state);
		assert_int_equal(xp_inv_schema_version(inv), SCHEMA_VERSION);
		assert_true(has(inv, "keep"));
		char **names;
		size_t n;
		assert_int_equal(xp_profile_list(inv, &names, &n), 0);
		assert_int_equal(n, 1);
		xp_strv_free(names, n);
		xp_inv_close(inv);
	}
	/* still a database its server reads, at the version */
	assert_int_equal(xp_test_sql_int(state, xp_test_pgurl()
						    ? "SELECT version FROM xenprov_schema"
						    : "PRAGMA user_version"),
			 SCHEMA_VERSION);

	/* not a directory, no name, unreadable */
	xp_test_write(tpath("file"), "");
	inv = (struct xp_inv *)1;
	assert_int_equal(xp_inv_open(tpath("file"), &inv), -ENOTDIR);
	assert_null(inv);
	assert_int_equal(xp_inv_open("", &inv), -EINVAL);
	assert_int_equal(xp_inv_open(tpath("file/sub"), &inv), -ENOTDIR);
	xp_inv_close(NULL);
}

static mode_t mode_of(const char *name)
{
	struct stat sb;
	assert_int_equal(stat(xp_test_path(state, name), &sb), 0);
	return sb.st_mode & 0777;
}

/* inventory.db holds password hashes: 0600 (and so its -wal and -shm) in a state
 * directory that exists already with 0755 and under umask 022, and an older xenprov's
 * 0644 database (and WAL) is tightened when opened. */
static void test_private_files(void **st)
{
	(void)st;
	mode_t old = umask(022);
	assert_int_equal(mkdir(state, 0755), 0);
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add(inv, "p", NULL, "root-password-hash=$6$salt$hash", NULL), 0);
	assert_int_equal(mode_of("inventory.db"), 0600);
	assert_int_equal(mode_of("inventory.db-wal"), 0600);
	assert_int_equal(mode_of("inventory.db-shm"), 0600);
	assert_int_equal(mode_of("."), 0755); /* the operator's directory is left alone */
	xp_inv_close(inv);

	/* as an older xenprov left them: readable by everyone */
	const char *names[] = {"inventory.db", "inventory.db-wal", "inventory.db-shm"};
	sqlite3 *db; /* holds the WAL open so that it stays */
	assert_int_equal(sqlite3_open(xp_test_path(state, "inventory.db"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM profiles", NULL, NULL, NULL),
			 SQLITE_OK);
	for (size_t i = 0; i < N(names); i++)
		assert_int_equal(chmod(xp_test_path(state, names[i]), 0644), 0);
	inv = xp_test_inv_open(state);
	for (size_t i = 0; i < N(names); i++)
		assert_int_equal(mode_of(names[i]), 0600);
	assert_true(has(inv, "p"));
	xp_inv_close(inv);
	sqlite3_close(db);
	umask(old);
}

/* Making the files private never disturbs SQLite's locks: a process with two
 * connections (the boot server has three) keeps the locks of the first when it opens
 * the second, and still sees what another process commits. (Closing any descriptor of
 * a file drops every fcntl lock the process holds on it: an earlier version opened the
 * files to fchmod them, after which the server no longer saw other commands' changes.) */
static void test_second_connection(void **st)
{
	(void)st;
	struct xp_inv *a = xp_test_inv_open(state);
	assert_int_equal(add(a, "first", NULL, "memory=512", NULL), 0);
	assert_true(xp_test_dms_held(state));
	int64_t v0, v1;
	assert_int_equal(xp_inv_data_version(a, &v0), 0);
	struct xp_inv *b = xp_test_inv_open(state); /* the second connection of this process */
	assert_true(xp_test_dms_held(state));
	assert_true(has(b, "first"));
	pid_t pid = fork(); /* another process: a fresh exec (no SQLite across a fork) */
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test-inventory", "--child-add", state, (char *)NULL);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(xp_inv_data_version(a, &v1), 0);
	assert_true(v1 != v0);
	assert_true(has(a, "other"));
	assert_true(has(b, "other"));
	xp_inv_close(b);
	xp_inv_close(a);
}

/* Where the inventory is: the location given, else $XENPROV_INVENTORY, else
 * STATE/inventory-url, else SQLite; a password in a PostgreSQL URL is refused and
 * never shown. */
static void test_location(void **st)
{
	(void)st;
	const char *env = getenv("XENPROV_INVENTORY");
	char *saved = env ? strdup(env) : NULL;
	char *loc, why[512];
	assert_int_equal(mkdir(state, 0700), 0);

	unsetenv("XENPROV_INVENTORY");
	assert_int_equal(xp_inv_location(state, NULL, &loc), 0);
	assert_null(loc); /* nothing said: SQLite in the state directory */
	xp_test_write(xp_test_path(state, XP_INV_URL_FILE), "postgresql:///from-file \n");
	assert_int_equal(xp_inv_location(state, NULL, &loc), 0);
	assert_string_equal(loc, "postgresql:///from-file");
	free(loc);
	setenv("XENPROV_INVENTORY", "postgresql:///from-env", 1);
	assert_int_equal(xp_inv_location(state, NULL, &loc), 0);
	assert_string_equal(loc, "postgresql:///from-env");
	free(loc);
	assert_int_equal(xp_inv_location(state, "sqlite", &loc), 0);
	assert_string_equal(loc, "sqlite");
	free(loc);
	assert_true(xp_inv_location_pgsql("postgres://h/db"));
	assert_false(xp_inv_location_pgsql("sqlite"));

	/* passwords: replaced wherever a URI may hold one */
	static const char *const redact[][2] = {
	    {"postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"},
	    {"postgresql:///db?host=/run&password=secret&user=u",
	     "postgresql:///db?host=/run&password=***&user=u"},
	    {"postgresql://u@h/db?password=secret", "postgresql://u@h/db?password=***"},
	    {"postgresql://h/db?application_name=mypassword=x", NULL},
	    {"postgresql://u@h/db", NULL},
	};
	char buf[256];
	for (size_t i = 0; i < N(redact); i++)
		assert_string_equal(xp_inv_location_redact(redact[i][0], buf, sizeof(buf)),
				    redact[i][1] ? redact[i][1] : redact[i][0]);

	/* refused before any connection, and not shown */
	struct xp_inv *inv = (struct xp_inv *)1;
	static const char *const with_password[] = {"postgresql://u:secret@127.0.0.1:1/db",
						    "postgresql:///db?password=secret"};
	for (size_t i = 0; i < N(with_password); i++) {
		assert_int_equal(xp_inv_open_at(state, with_password[i], &inv, why, sizeof(why)),
				 -EINVAL);
		assert_null(inv);
		xp_test_assert_contains(why, "PGPASSFILE");
		xp_test_assert_contains(why, "***");
		xp_test_assert_lacks(why, "secret");
	}
	assert_int_equal(xp_inv_open_at(state, "mysql://h/db", &inv, why, sizeof(why)), -EINVAL);
	xp_test_assert_contains(why, "not a location xenprov knows");
	/* a server that is not there: the reason, and no TCP needed to say so */
	assert_true(xp_inv_open_at(state, "postgresql:///db?host=/nonexistent", &inv, why,
				   sizeof(why)) < 0);
	assert_null(inv);
	xp_test_assert_contains(why, "/nonexistent");

	/* the state directory's setting is what opens, with nothing above it */
	unsetenv("XENPROV_INVENTORY");
	char *url = saved ? strdup(saved) : strdup("sqlite");
	char line[4200];
	snprintf(line, sizeof(line), "%s\n", url);
	xp_test_write(xp_test_path(state, XP_INV_URL_FILE), line);
	assert_int_equal(xp_inv_open_at(state, NULL, &inv, why, sizeof(why)), 0);
	assert_int_equal(xp_inv_is_pgsql(inv), saved != NULL);
	assert_int_equal(add(inv, "via-file", NULL, NULL), 0);
	xp_inv_close(inv);
	free(url);
	if (saved)
		setenv("XENPROV_INVENTORY", saved, 1);
	free(saved);
}

/* A statement that fails inside a transaction: SQLite undoes that statement and the
 * transaction goes on; PostgreSQL aborts the whole transaction, and its commit, which
 * rolls back, is an error rather than a silent loss. */
static void test_failed_statement(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	const char *ins = "INSERT INTO profiles (name, created, updated) VALUES ('x', 1, 1)";
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(xp__inv_exec(inv, ins), 0);
	assert_int_equal(xp__inv_exec(inv, ins), -EEXIST);
	if (xp_inv_is_pgsql(inv)) {
		assert_int_equal(xp_inv_commit(inv), -EIO);
		xp_test_assert_contains(xp_inv_errmsg(inv), "rolled back");
		assert_false(has(inv, "x"));
	} else {
		assert_int_equal(xp_inv_commit(inv), 0);
		assert_true(has(inv, "x"));
	}
	/* the connection goes on either way */
	assert_int_equal(add(inv, "after", NULL, NULL), 0);
	assert_true(has(inv, "after"));
	xp_inv_close(inv);
}

static void test_newer_schema(void **st)
{
	(void)st;
	xp_inv_close(xp_test_inv_open(state));
	xp_test_set_schema_version(state, 99);
	struct xp_inv *inv = (struct xp_inv *)1;
	assert_int_equal(xp_inv_open(state, &inv), -EPROTO);
	assert_null(inv);
	/* and left as it was */
	xp_test_set_schema_version(state, 3); /* set back: migrates again */
	inv = xp_test_inv_open(state);
	assert_int_equal(xp_inv_schema_version(inv), SCHEMA_VERSION);
	xp_inv_close(inv);
}

static void test_state_dir_default(void **st)
{
	(void)st;
	char *saved[3];
	const char *vars[3] = {"XENPROV_STATE_DIR", "XDG_STATE_HOME", "HOME"};
	for (int i = 0; i < 3; i++) {
		const char *v = getenv(vars[i]);
		saved[i] = v ? strdup(v) : NULL;
	}
	char *d;
	setenv("XENPROV_STATE_DIR", "/srv/xp", 1);
	assert_int_equal(xp_state_dir_default(&d), 0);
	assert_string_equal(d, "/srv/xp");
	free(d);
	setenv("XENPROV_STATE_DIR", "", 1); /* empty: as unset */
	setenv("XDG_STATE_HOME", "/home/u/.st", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(xp_state_dir_default(&d), 0);
	assert_string_equal(d, geteuid() == 0 ? "/var/lib/xenprov" : "/home/u/.st/xenprov");
	free(d);
	unsetenv("XENPROV_STATE_DIR");
	unsetenv("XDG_STATE_HOME");
	assert_int_equal(xp_state_dir_default(&d), 0);
	assert_string_equal(d,
			    geteuid() == 0 ? "/var/lib/xenprov" : "/home/u/.local/state/xenprov");
	free(d);
	unsetenv("HOME");
	if (geteuid() != 0)
		assert_int_equal(xp_state_dir_default(&d), -ENOENT);
	for (int i = 0; i < 3; i++) {
		if (saved[i])
			setenv(vars[i], saved[i], 1);
		else
			unsetenv(vars[i]);
		free(saved[i]);
	}
}

/* ---- settings --------------------------------------------------------------------------- */

static void test_settings(void **st)
{
	(void)st;
	struct xp_settings s = {0};
	assert_null(xp_settings_get(&s, "a"));
	assert_int_equal(xp_settings_unset(&s, "a"), -ENOENT);
	char key[16];
	for (int i = 0; i < 40; i++) { /* past the first growth */
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(xp_settings_set(&s, key, key), 0);
	}
	assert_int_equal(s.n, 40);
	assert_int_equal(xp_settings_set(&s, "k3", "three"), 0); /* replaces in place */
	assert_int_equal(s.n, 40);
	assert_string_equal(s.v[3].key, "k3");
	assert_string_equal(xp_settings_get(&s, "k3"), "three");
	assert_int_equal(xp_settings_unset(&s, "k0"), 0);
	assert_int_equal(s.n, 39);
	assert_string_equal(s.v[0].key, "k1"); /* order kept */
	assert_string_equal(s.v[38].key, "k39");
	assert_null(xp_settings_get(&s, "k0"));
	assert_int_equal(xp_settings_unset(&s, "k39"), 0);
	assert_int_equal(s.n, 38);
	xp_settings_release(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.v);
	xp_settings_release(&s);
}

/* ---- deploy records ---------------------------------------------------------------------- */

static void add_guest(struct xp_inv *inv, const char *name, const char *profile, int64_t deploy)
{
	char disk[64], cfg[64];
	snprintf(disk, sizeof(disk), "/pool/%s.img", name);
	snprintf(cfg, sizeof(cfg), "/cfg/%s.cfg", name);
	struct xp_settings none = {0};
	struct xp_domain_new d = {.name = name,
				  .profile = profile,
				  .storage = "file",
				  .disk_path = disk,
				  .config_path = cfg,
				  .settings = &none,
				  .deploy_id = deploy};
	assert_int_equal(xp_domain_insert(inv, &d), 0);
}

static void test_deploy_records(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add(inv, "a", NULL, NULL), 0);
	assert_int_equal(add(inv, "b", NULL, NULL), 0);
	int64_t id[4], last;
	size_t count;
	assert_int_equal(xp_deploy_record_last_with_domains(inv, NULL, &last, &count), 0);
	assert_int_equal(last, 0);
	assert_int_equal(count, 0);
	assert_int_equal(xp_deploy_record_start(inv, "a", 3, "deploy --profile a", &id[1]), 0);
	assert_int_equal(xp_deploy_record_start(inv, "b", 1, "deploy --profile b", &id[2]), 0);
	assert_int_equal(xp_deploy_record_start(inv, "a", 2, "deploy --profile a", &id[3]), 0);
	add_guest(inv, "a1", "a", id[1]);
	add_guest(inv, "a2", "a", id[1]);
	add_guest(inv, "b1", "b", id[2]);
	struct xp_deploy_counts c = {3, 2, 0, 1, 0};
	assert_int_equal(xp_deploy_record_finish(inv, id[1], "failed", &c), 0);
	/* the newest with guests: of any profile, of a, of b; run 3 made none */
	assert_int_equal(xp_deploy_record_last_with_domains(inv, NULL, &last, &count), 0);
	assert_int_equal(last, id[2]);
	assert_int_equal(count, 2);
	assert_int_equal(xp_deploy_record_last_with_domains(inv, "a", &last, &count), 0);
	assert_int_equal(last, id[1]);
	assert_int_equal(count, 1);
	assert_int_equal(xp_deploy_record_last_with_domains(inv, "c", &last, NULL), 0);
	assert_int_equal(last, 0);

	struct xp_deploy_record *v;
	size_t n;
	assert_int_equal(xp_deploy_record_list(inv, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].id, id[1]);
	assert_string_equal(v[0].profile, "a");
	assert_string_equal(v[0].state, "failed");
	assert_string_equal(v[0].request, "deploy --profile a");
	assert_true(v[0].finished >= v[0].started && v[0].started > 0);
	assert_int_equal(v[0].counts.total, 3);
	assert_int_equal(v[0].counts.created, 2);
	assert_int_equal(v[0].counts.failed, 1);
	assert_int_equal(v[0].guests, 2);
	/* still running (or killed): its counts are not known */
	assert_string_equal(v[2].state, "running");
	assert_int_equal(v[2].finished, 0);
	assert_int_equal(v[2].counts.total, 2);
	assert_int_equal(v[2].counts.created, -1);
	assert_int_equal(v[2].guests, 0);
	xp_deploy_record_list_free(v, n);

	/* finished without counts (a rollback) keeps them */
	assert_int_equal(xp_deploy_record_finish(inv, id[1], "rolled-back", NULL), 0);
	struct xp_deploy_record rec;
	assert_int_equal(xp_deploy_record_get(inv, id[1], &rec), 0);
	assert_string_equal(rec.state, "rolled-back");
	assert_int_equal(rec.counts.created, 2);
	xp_deploy_record_release(&rec);
	assert_int_equal(xp_deploy_record_get(inv, 99, &rec), -ENOENT);
	char **names;
	assert_int_equal(xp_deploy_record_domains(inv, id[1], &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "a1");
	xp_strv_free(names, n);
	xp_inv_close(inv);
}

/* ---- profiles --------------------------------------------------------------------------- */

static void test_profile_crud(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(
	    add(inv, "base", NULL, "memory=1024", "fs=ext4", "disk-size=4294967296", NULL), 0);
	assert_int_equal(add(inv, "web", "base", "vcpus=4", NULL), 0);
	assert_int_equal(add(inv, "web", NULL, NULL), -EEXIST);
	assert_int_equal(add(inv, "orphan", "nope", NULL), -ENOENT);
	assert_false(has(inv, "orphan"));
	assert_int_equal(add(inv, "-bad", NULL, NULL), -EINVAL);
	assert_int_equal(add(inv, "", NULL, NULL), -EINVAL);
	assert_int_equal(add(inv, "ok", "bad/parent", NULL), -EINVAL);

	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, "nope", &p), -ENOENT);
	assert_int_equal(xp_profile_get(inv, "base", &p), 0);
	assert_string_equal(p.name, "base");
	assert_null(p.parent);
	assert_int_equal(p.set.n, 3);
	assert_string_equal(p.set.v[0].key, "memory"); /* in the order given */
	assert_string_equal(p.set.v[1].key, "fs");
	assert_string_equal(p.set.v[2].value, "4294967296");
	assert_true(p.created > 1600000000);
	assert_true(p.updated >= p.created);

	/* update: the values are replaced as a whole */
	xp_settings_unset(&p.set, "fs");
	xp_settings_set(&p.set, "memory", "2048");
	xp_settings_set(&p.set, "swap", "0");
	assert_int_equal(xp_profile_update(inv, &p), 0);
	xp_profile_release(&p);
	assert_int_equal(xp_profile_get(inv, "base", &p), 0);
	assert_int_equal(p.set.n, 3);
	assert_string_equal(xp_settings_get(&p.set, "memory"), "2048");
	assert_null(xp_settings_get(&p.set, "fs"));
	assert_string_equal(xp_settings_get(&p.set, "swap"), "0");
	xp_profile_release(&p);

	assert_int_equal(xp_profile_get(inv, "web", &p), 0);
	assert_string_equal(p.parent, "base");
	free(p.parent);
	p.parent = strdup("missing");
	assert_int_equal(xp_profile_update(inv, &p), -ENOENT);
	free(p.parent);
	p.parent = NULL; /* stand alone */
	assert_int_equal(xp_profile_update(inv, &p), 0);
	free(p.name);
	p.name = strdup("ghost");
	assert_int_equal(xp_profile_update(inv, &p), -ENOENT);
	xp_profile_release(&p);
	assert_int_equal(xp_profile_get(inv, "web", &p), 0);
	assert_null(p.parent);
	xp_profile_release(&p);

	/* list: sorted */
	assert_int_equal(add(inv, "Alpha", NULL, NULL), 0);
	assert_int_equal(add(inv, "zeta", NULL, NULL), 0);
	char **names;
	size_t n;
	assert_int_equal(xp_profile_list(inv, &names, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "Alpha");
	assert_string_equal(names[1], "base");
	assert_string_equal(names[2], "web");
	assert_string_equal(names[3], "zeta");
	xp_strv_free(names, n);

	/* remove */
	assert_int_equal(xp_profile_remove(inv, "zeta"), 0);
	assert_false(has(inv, "zeta"));
	assert_int_equal(xp_profile_remove(inv, "zeta"), -ENOENT);
	/* the settings went with it: a new one of that name starts empty */
	assert_int_equal(add(inv, "zeta", NULL, NULL), 0);
	assert_int_equal(xp_profile_get(inv, "zeta", &p), 0);
	assert_int_equal(p.set.n, 0);
	xp_profile_release(&p);
	xp_inv_close(inv);
}

static void test_names(void **st)
{
	(void)st;
	static const char *const good[] = {"a", "web", "web-01", "Web_01.v2", "a.", "0"};
	static const char *const bad[] = {"", "-a", ".a", "a b", "a/b", "a:b", "é", "a\n"};
	for (size_t i = 0; i < N(good); i++)
		assert_true(xp_profile_name_valid(good[i]));
	for (size_t i = 0; i < N(bad); i++)
		assert_false(xp_profile_name_valid(bad[i]));
	char long_name[80];
	memset(long_name, 'a', sizeof(long_name));
	long_name[64] = 0;
	assert_true(xp_profile_name_valid(long_name));
	long_name[64] = 'a';
	long_name[65] = 0;
	assert_false(xp_profile_name_valid(long_name));
}

static void set_parent(struct xp_inv *inv, const char *name, const char *parent, int want)
{
	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, name, &p), 0);
	free(p.parent);
	p.parent = parent ? strdup(parent) : NULL;
	assert_int_equal(xp_profile_update(inv, &p), want);
	xp_profile_release(&p);
}

static void test_cycles(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add(inv, "a", NULL, NULL), 0);
	assert_int_equal(add(inv, "b", "a", NULL), 0);
	assert_int_equal(add(inv, "c", "b", NULL), 0);
	set_parent(inv, "a", "b", -ELOOP); /* a -> b -> a */
	set_parent(inv, "a", "c", -ELOOP); /* a -> c -> b -> a */
	set_parent(inv, "a", "a", -ELOOP);
	set_parent(inv, "c", "a", 0); /* skipping a level is fine */
	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, "a", &p), 0);
	assert_null(p.parent); /* the refusals changed nothing */
	xp_profile_release(&p);

	/* a long chain: 64 ancestors are allowed, 65 are not */
	char name[16], parent[16];
	assert_int_equal(add(inv, "l0", NULL, "memory=16", NULL), 0);
	for (int i = 1; i <= 64; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		snprintf(parent, sizeof(parent), "l%d", i - 1);
		assert_int_equal(add(inv, name, parent, NULL), 0);
	}
	assert_int_equal(add(inv, "l65", "l64", NULL), -ELOOP);
	struct xp_settings s;
	assert_int_equal(xp_profile_resolve(inv, "l64", &s), 0);
	assert_string_equal(xp_settings_get(&s, "memory"), "16");
	xp_settings_release(&s);
	xp_inv_close(inv);
}

static void test_resolve(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add(inv, "root", NULL, "memory=512", "fs=ext4", "storage=file",
			     "config.on_crash='restart'", NULL),
			 0);
	assert_int_equal(add(inv, "mid", "root", "memory=1024", "vcpus=2", NULL), 0);
	assert_int_equal(add(inv, "leaf", "mid", "vcpus=8", "storage=qcow2", NULL), 0);
	struct xp_settings s;
	assert_int_equal(xp_profile_resolve(inv, "leaf", &s), 0);
	static const char *const want[][2] = {
	    {"memory", "1024"},	  {"fs", "ext4"},
	    {"storage", "qcow2"}, {"config.on_crash", "'restart'"},
	    {"vcpus", "8"},
	};
	assert_int_equal(s.n, N(want));
	for (size_t i = 0; i < N(want); i++) {
		/* the root's keys first, in its order; then each child's new keys */
		assert_string_equal(s.v[i].key, want[i][0]);
		assert_string_equal(s.v[i].value, want[i][1]);
	}
	xp_settings_release(&s);
	assert_int_equal(xp_profile_resolve(inv, "mid", &s), 0);
	assert_string_equal(xp_settings_get(&s, "vcpus"), "2");
	assert_string_equal(xp_settings_get(&s, "storage"), "file");
	xp_settings_release(&s);
	assert_int_equal(xp_profile_resolve(inv, "root", &s), 0);
	assert_int_equal(s.n, 4);
	xp_settings_release(&s);
	assert_int_equal(xp_profile_resolve(inv, "none", &s), -ENOENT);
	assert_int_equal(s.n, 0);
	/* inside a caller's transaction too */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(xp_profile_resolve(inv, "leaf", &s), 0);
	assert_int_equal(s.n, N(want));
	xp_settings_release(&s);
	assert_int_equal(xp_inv_commit(inv), 0);
	xp_inv_close(inv);
}

/* Sets key=value in the stored profile name (NULL value: unsets it). */
static int edit(struct xp_inv *inv, const char *name, const char *key, const char *value)
{
	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, name, &p), 0);
	if (value)
		assert_int_equal(xp_settings_set(&p.set, key, value), 0);
	else
		assert_int_equal(xp_settings_unset(&p.set, key), 0);
	int r = xp_profile_update(inv, &p);
	xp_profile_release(&p);
	return r;
}

static const char *setting(struct xp_inv *inv, const char *name, const char *key)
{
	static char buf[64];
	struct xp_settings s;
	assert_int_equal(xp_profile_resolve(inv, name, &s), 0);
	const char *v = xp_settings_get(&s, key);
	snprintf(buf, sizeof(buf), "%s", v ? v : "(none)");
	xp_settings_release(&s);
	return buf;
}

/* The gateway lies in the ip-pool, as the settings take effect through the parent
 * chain, for the profile stored and every profile below it; a refusal changes nothing
 * and says which profile and why. */
static void test_gateway_in_pool(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	static const struct {
		const char *gw;
		int rc;
		const char *msg;
	} cases[] = {
	    {"10.1.0.1", -EINVAL,
	     "gateway 10.1.0.1 is outside ip-pool 10.0.0.0/24: the guests "
	     "could not reach it"},
	    {"9.255.255.255", -EINVAL, "gateway 9.255.255.255 is outside ip-pool 10.0.0.0/24"},
	    {"10.0.1.0", -EINVAL, "gateway 10.0.1.0 is outside ip-pool 10.0.0.0/24"},
	    {"10.0.0.0", -EINVAL, "gateway 10.0.0.0 is the network address of ip-pool 10.0.0.0/24"},
	    {"10.0.0.255", -EINVAL,
	     "gateway 10.0.0.255 is the broadcast address of ip-pool 10.0.0.0/24"},
	    {"10.0.0.1", 0, NULL},
	    {"10.0.0.254", 0, NULL},
	};
	for (size_t i = 0; i < N(cases); i++) {
		char gw[64];
		snprintf(gw, sizeof(gw), "gateway=%s", cases[i].gw);
		print_message("%s\n", gw);
		assert_int_equal(add(inv, "p", NULL, "ip-pool=10.0.0.0/24", gw, NULL), cases[i].rc);
		if (cases[i].rc) {
			assert_non_null(strstr(xp_inv_errmsg(inv), cases[i].msg));
			assert_false(has(inv, "p"));
		} else {
			assert_int_equal(xp_profile_remove(inv, "p"), 0);
		}
	}
	/* either alone is fine */
	assert_int_equal(add(inv, "gw", NULL, "gateway=192.168.7.1", NULL), 0);
	assert_int_equal(add(inv, "pool", NULL, "ip-pool=10.0.0.0/24", NULL), 0);

	/* through the chain: the child's gateway against the parent's pool */
	assert_int_equal(add(inv, "base", NULL, "ip-pool=10.0.0.0/24", "gateway=10.0.0.1", NULL),
			 0);
	assert_int_equal(add(inv, "web", "base", "gateway=10.0.1.1", NULL), -EINVAL);
	assert_false(has(inv, "web"));
	assert_int_equal(add(inv, "web", "base", "gateway=10.0.0.9", NULL), 0);
	assert_int_equal(add(inv, "db", "base", "ip-pool=10.5.0.0/16", "gateway=10.5.0.1", NULL),
			 0);
	/* a parent's edit that would break a profile below it, named in the refusal */
	assert_int_equal(edit(inv, "base", "ip-pool", "10.0.0.0/29"), -EINVAL);
	assert_non_null(strstr(xp_inv_errmsg(inv), "gateway 10.0.0.9 is outside ip-pool "
						   "10.0.0.0/29 in profile 'web', which takes "
						   "settings from it"));
	assert_string_equal(setting(inv, "base", "ip-pool"), "10.0.0.0/24"); /* unchanged */
	assert_int_equal(edit(inv, "base", "gateway", "10.7.0.1"), -EINVAL);
	assert_string_equal(setting(inv, "web", "ip-pool"), "10.0.0.0/24");
	/* db has its own pool and gateway: base's change does not reach it */
	assert_int_equal(edit(inv, "base", "ip-pool", "10.0.0.0/28"), 0);
	assert_string_equal(setting(inv, "db", "ip-pool"), "10.5.0.0/16");
	/* unsetting the child's pool puts it under the parent's */
	assert_int_equal(edit(inv, "db", "ip-pool", NULL), -EINVAL);
	assert_string_equal(setting(inv, "db", "ip-pool"), "10.5.0.0/16");
	/* re-parenting is checked the same way */
	assert_int_equal(add(inv, "narrow", NULL, "ip-pool=10.0.0.16/28", NULL), 0);
	set_parent(inv, "web", "narrow", -EINVAL);
	assert_string_equal(setting(inv, "web", "ip-pool"), "10.0.0.0/28");
	set_parent(inv, "web", NULL, 0); /* its own gateway, no pool: fine */
	set_parent(inv, "db", "narrow", 0); /* its own pool */

	/* a refusal inside a caller's transaction leaves it usable */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "t1", NULL, "memory=64", NULL), 0);
	assert_int_equal(add(inv, "t2", NULL, "ip-pool=10.0.0.0/24", "gateway=10.9.9.9", NULL),
			 -EINVAL);
	assert_int_equal(add(inv, "t3", NULL, "memory=64", NULL), 0);
	assert_int_equal(xp_inv_commit(inv), 0);
	assert_true(has(inv, "t1"));
	assert_false(has(inv, "t2"));
	assert_true(has(inv, "t3"));
	xp_inv_close(inv);
}

static void test_remove_busy(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add(inv, "base", NULL, NULL), 0);
	assert_int_equal(add(inv, "web", "base", NULL), 0);
	assert_int_equal(add(inv, "db", "base", NULL), 0);
	assert_int_equal(xp_profile_remove(inv, "base"), -EBUSY);
	assert_non_null(strstr(xp_inv_errmsg(inv), "2 profiles"));
	assert_true(has(inv, "base"));
	assert_int_equal(xp_profile_remove(inv, "web"), 0);
	assert_int_equal(xp_profile_remove(inv, "db"), 0);

	/* a domain made from it */
	xp_test_sql(state, "INSERT INTO domains (name, profile, state, created, updated) "
			   "VALUES ('web01', 'base', 'ready', 0, 0)");
	assert_int_equal(xp_profile_remove(inv, "base"), -EBUSY);
	assert_non_null(strstr(xp_inv_errmsg(inv), "1 domain"));
	xp_test_sql(state, "DELETE FROM domains");
	assert_int_equal(xp_profile_remove(inv, "base"), 0);
	assert_false(has(inv, "base"));
	xp_inv_close(inv);
}

/* ---- validation ------------------------------------------------------------------------- */

struct good_case {
	const char *key, *in, *out;
};

static const struct good_case good_cases[] = {
    {"image", "/srv/images/debian-12.tar.zst", "/srv/images/debian-12.tar.zst"},
    {"image", "debian:bookworm", "debian:bookworm"},
    {"image", "debian:trixie", "debian:trixie"},
    {"image", "web", "web"}, /* a captured image, its latest version */
    {"image", "web@2", "web@2"},
    {"include", "systemd-sysv,udev,openssh-server", "systemd-sysv,udev,openssh-server"},
    {"install", "libstdc++6,vim", "libstdc++6,vim"},
    {"disk-size", "4G", "4294967296"},
    {"disk-size", "16M", "16777216"},
    {"disk-size", "1.5G", "1610612736"},
    {"disk-size", "4GiB", "4294967296"},
    {"disk-size", "20000000000", "20000000000"},
    {"memory", "512", "512"},
    {"memory", "16", "16"},
    {"memory", "1G", "1024"},
    {"memory", "1.5G", "1536"},
    {"memory", "16777216", "16777216"},
    {"memory", "2048M", "2048"},
    {"vcpus", "1", "1"},
    {"vcpus", "512", "512"},
    {"vcpus", "08", "8"},
    {"swap", "0", "0"},
    {"swap", "512M", "536870912"},
    {"fs", "ext2", "ext2"},
    {"fs", "ext3", "ext3"},
    {"fs", "ext4", "ext4"},
    {"label", "msdos", "msdos"},
    {"label", "gpt", "gpt"},
    {"label", "none", "none"},
    {"storage", "file", "file"},
    {"storage", "reflink", "reflink"},
    {"storage", "qcow2", "qcow2"},
    {"storage", "lvm", "lvm"},
    {"pool", "/srv/guests", "/srv/guests"},
    {"pool", "vg0", "vg0"},
    {"config-dir", "/srv/xen//", "/srv/xen"},
    {"bridge", "xenbr0", "xenbr0"},
    {"bridge", "br-0123456789ab", "br-0123456789ab"},
    {"boot", "pygrub", "pygrub"},
    {"boot", "pvgrub", "pvgrub"},
    {"boot", "kernel", "kernel"},
    {"kernel", "/boot/vmlinuz", "/boot/vmlinuz"},
    {"kernel", "from-image", "from-image"},
    {"type", "pv", "pv"},
    {"type", "pvh", "pvh"},
    {"ramdisk", "/boot/initrd.img", "/boot/initrd.img"},
    {"root", "/dev/xvda1", "/dev/xvda1"},
    {"root", "UUID=0d3c0c5e", "UUID=0d3c0c5e"},
    {"root", "LABEL=root", "LABEL=root"},
    {"extra", "console=hvc0 quiet", "console=hvc0 quiet"},
    {"extra", "", ""},
    {"network", "dhcp", "dhcp"},
    {"network", "static", "static"},
    {"ip-pool", "10.0.0.0/24", "10.0.0.0/24"},
    {"ip-pool", "10.0.0.77/24", "10.0.0.0/24"},
    {"ip-pool", "192.168.17.200/20", "192.168.16.0/20"},
    {"ip-pool", "172.16.1.1/8", "172.0.0.0/8"},
    {"ip-pool", "10.1.2.3/30", "10.1.2.0/30"},
    {"gateway", "10.0.0.1", "10.0.0.1"},
    {"dns", "10.0.0.1", "10.0.0.1"},
    {"dns", "1.1.1.1,8.8.8.8", "1.1.1.1,8.8.8.8"},
    {"distro", "debian-12.5_netboot", "debian-12.5_netboot"},
    {"domain", "example.com", "example.com"},
    {"domain", "lab-1.example.org", "lab-1.example.org"},
    {"domain", "localdomain", "localdomain"},
    {"root-password-hash",
     "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o7fQV.hXJR5XNtUqQ9ZQxVHGJ1i8mtqg6",
     "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o7fQV.hXJR5XNtUqQ9ZQxVHGJ1i8mtqg6"},
    {"root-password-hash", "$6$salt$hash", "$6$salt$hash"},
    {"root-password-hash", "$5$salt$hash", "$5$salt$hash"},
    /* key blobs are checked (xp_ssh_key_check): these are the heads of real keys */
    {"ssh-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me@host",
     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me@host"},
    {"ssh-key", "ssh-rsa AAAAB3NzaC1yc2EAAAAD", "ssh-rsa AAAAB3NzaC1yc2EAAAAD"},
    {"ssh-key", "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=",
     "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY="},
    {"mac-prefix", "00:16:3E", "00:16:3e"},
    {"mac-prefix", "02", "02"},
    {"mac-prefix", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee"},
    {"config.on_crash", "restart", "\"restart\""},
    {"config.on_crash", "'restart'", "\"restart\""},
    {"config.maxmem", "2048", "2048"},
    {"config.cpus", "\"2-3\"", "\"2-3\""},
    {"config.vfb", "['vnc=1']", "[ \"vnc=1\" ]"},
    {"config.vncpasswd", "hunter2", "\"hunter2\""},
    {"config.spicepasswd", "'hunter2'", "\"hunter2\""},
    {"config.extra_x", "it's", "\"it's\""},
    {"timezone", "Europe/Paris", "Europe/Paris"},
    {"timezone", "Etc/GMT+5", "Etc/GMT+5"},
    {"autoinstall", "debian-preseed", "debian-preseed"},
    {"cloud-init", "on", "on"},
    {"cloud-init", "off", "off"},
    {"target-disk", "vda", "vda"},
    {"target-disk", "/dev/nvme0n1", "/dev/nvme0n1"},
    {"target-disk", "cciss!c0d0", "cciss!c0d0"},
    {"wipe", "on", "on"},
    {"wipe", "off", "off"},
    {"grow", "off", "off"},
    {"publish-image", "token", "token"},
    {"publish-image", "open", "open"},
    /* lists: items one a line; write's content escaped (the canonical escapes kept,
     * others made canonical) */
    {"copy-in", "/srv/site:/var/www", "/srv/site:/var/www"},
    {"copy-in", "/srv/a:b:/opt:0:0\n/srv/c:/:1000:100", "/srv/a:b:/opt\n/srv/c:/:1000:100"},
    {"write", "/etc/motd:hello\\nworld \\\\ a:b", "/etc/motd:hello\\nworld \\\\ a:b"},
    {"write", "/etc/a:\\x0a\\x0D\\xFF\n/etc/b:", "/etc/a:\\n\\x0d\\xff\n/etc/b:"},
    {"write", "/etc/c:caf\xc3\xa9\t", "/etc/c:caf\xc3\xa9\t"},
    {"firstboot-command", "apt-get update\nsystemctl enable --now nginx",
     "apt-get update\nsystemctl enable --now nginx"},
    {"firstboot-command", "", ""},
    /* further disks and NICs: items in their stored form, sizes in the largest exact
     * unit, options in one order, networks and MAC prefixes canonical */
    {"swap-disk", "0", "0"},
    {"swap-disk", "1G", "1073741824"},
    {"data-disk", "10G", "10G,fs=ext4"},
    {"data-disk", "1048576K,mount=/srv", "1G,fs=ext4,mount=/srv"},
    {"data-disk", "1.5G,fs=xfs,mount=/var/lib/data\n16M,storage=lvm,pool=vg0,mount=/srv2",
     "1536M,fs=xfs,mount=/var/lib/data\n16M,fs=ext4,mount=/srv2,storage=lvm,pool=vg0"},
    {"data-disk", "20480M,fs=none,storage=reflink,pool=/srv/x", "20G,fs=none,storage=reflink,pool=/srv/x"},
    {"data-disk", "", ""},
    {"nic", "bridge=br1", "bridge=br1,network=dhcp"},
    {"nic", "mac-prefix=02-AA,gateway=10.1.0.1,ip-pool=10.1.0.77/24,bridge=br1",
     "bridge=br1,network=static,ip-pool=10.1.0.0/24,gateway=10.1.0.1,mac-prefix=02:aa"},
    {"nic", "network=dhcp,bridge=xenbr1,gateway=dhcp\nbridge=br2,network=static,ip-pool=10.2.0.0/16",
     "bridge=xenbr1,network=dhcp,gateway=dhcp\nbridge=br2,network=static,ip-pool=10.2.0.0/16"},
};

struct bad_case {
	const char *key, *in;
	const char *msg; /* the diagnostic's message */
	bool echoes;	 /* the diagnostic quotes the value */
};

static const struct bad_case bad_cases[] = {
    {"image", "", "image: must not be empty", true},
    {"image", "./debian.tar", "image: must be an absolute path, a distribution or a captured image", true},
    {"image", "debian:sid", "image: must be an absolute path, a distribution or a captured image", true},
    {"image", "web@0", "image: must be an absolute path, a distribution or a captured image", true},
    {"include", "udev,", "include: not a list of package names", true},
    {"include", "Udev", "include: not a list of package names", true},
    {"install", "vim nano", "install: not a list of package names", true},
    {"install", "", "install: not a list of package names", true},
    {"pool", "", "pool: must not be empty", true},
    {"config-dir", "xen", "config-dir: not an absolute directory path", true},
    {"kernel", "", "kernel: must not be empty", true},
    {"ramdisk", "", "ramdisk: must not be empty", true},
    {"distro", "bad name", "distro: not a valid distro name", true},
    {"autoinstall", "../preseed", "autoinstall: not a valid template name", true},
    {"cloud-init", "yes", "cloud-init: not on or off", true},
    {"target-disk", "../sda", "target-disk: not a disk's name", true},
    {"target-disk", "/dev/", "target-disk: not a disk's name", true},
    {"target-disk", "SDA", "target-disk: not a disk's name", true},
    {"wipe", "1", "wipe: not on or off", true},
    {"grow", "no", "grow: not on or off", true},
    {"publish-image", "yes", "publish-image: not token or open", true},
    {"timezone", "../../etc/shadow",
     "timezone: a tzdata zone name such as Europe/Paris or UTC: letters, digits, '_', '-', "
     "'+' and '.' in components separated by '/'",
     true},
    {"copy-in", "site:/var/www",
     "copy-in: item 1: LOCALPATH must be an absolute host path other than /, without a "
     "trailing '/'",
     true},
    {"copy-in", "/srv/site:/var/../etc",
     "copy-in: item 1: GUESTDIR must be an absolute guest path without empty, '.' or '..' "
     "components or control characters",
     true},
    /* a write is secret: never quoted */
    {"write", "etc/motd:s3cret",
     "write: item 1: GUESTPATH must be an absolute guest path of a file, without empty, '.' "
     "or '..' components or control characters",
     false},
    {"write", "/etc/motd:s3cret\\q", "write: a content with a bad escape", false},
    {"write", "/etc/motd:\\x00", "write: a content with a bad escape", false},
    {"firstboot-command", "echo a\rb",
     "firstboot-command: item 1: a command is one line without control characters: put a "
     "script in with write or copy-in and run that",
     true},
    {"distro", "", "distro: not a valid distro name", true},
    {"swap-disk", "512K", "swap-disk: 0, or a whole number of MiB", true},
    {"swap-disk", "1.5M", "swap-disk: 0, or a whole number of MiB", true},
    {"swap-disk", "some", "swap-disk: not a size", true},
    {"data-disk", "fs=ext4", "data-disk: item 1: SIZE must come first, e.g. 10G or 512M", true},
    {"data-disk", "0", "data-disk: item 1: SIZE must be a whole number of MiB", true},
    {"data-disk", "1536K", "data-disk: item 1: SIZE must be a whole number of MiB", true},
    {"data-disk", "8M", "data-disk: item 1: an ext4 data disk needs at least 16M", true},
    {"data-disk", "200M,fs=xfs", "data-disk: item 1: an xfs data disk needs at least 300M", true},
    {"data-disk", "10G,fs=btrfs", "data-disk: item 1: fs= is ext4, xfs or none", true},
    {"data-disk", "10G,fs=ext4,fs=xfs", "data-disk: item 1: an option is given twice", true},
    {"data-disk", "10G,size=1G",
     "data-disk: item 1: options are fs=, mount=, storage= and pool=", true},
    {"data-disk", "10G,mount", "data-disk: item 1: options are KEY=VALUE, separated by ','",
     true},
    {"data-disk", "10G,", "data-disk: item 1: options are KEY=VALUE, separated by ','", true},
    {"data-disk", "10G,mount=srv",
     "data-disk: item 1: mount= is an absolute guest directory other than /, without blanks, "
     "',', '#' or '\\'",
     true},
    {"data-disk", "10G,mount=/",
     "data-disk: item 1: mount= is an absolute guest directory other than /, without blanks, "
     "',', '#' or '\\'",
     true},
    {"data-disk", "10G,mount=/my data",
     "data-disk: item 1: mount= is an absolute guest directory other than /, without blanks, "
     "',', '#' or '\\'",
     true},
    {"data-disk", "10G,fs=none,mount=/srv",
     "data-disk: item 1: a disk with fs=none has no filesystem to mount", true},
    {"data-disk", "10G,storage=zfs", "data-disk: item 1: storage= is file, reflink, qcow2 or lvm",
     true},
    {"data-disk", "10G,pool=", "data-disk: item 1: pool= is a directory or a volume group", true},
    {"data-disk", "1G,mount=/srv\n2G,mount=/srv",
     "data-disk: items 1 and 2: the same mount point /srv", false},
    {"nic", "br1", "nic: item 1: options are KEY=VALUE, separated by ','", true},
    {"nic", "network=dhcp", "nic: item 1: bridge= is required", true},
    {"nic", "bridge=", "nic: item 1: bridge= is an interface name (1-15 characters)", true},
    {"nic", "bridge=br1,bridge=br2", "nic: item 1: an option is given twice", true},
    {"nic", "bridge=br1,vlan=4",
     "nic: item 1: options are bridge=, network=, ip-pool=, gateway= and mac-prefix=", true},
    {"nic", "bridge=br1,network=auto", "nic: item 1: network= is dhcp or static", true},
    {"nic", "bridge=br1,ip-pool=10.0.0.0/31",
     "nic: item 1: ip-pool= is a network such as 10.1.0.0/24 (prefix 8-30)", true},
    {"nic", "bridge=br1,network=static", "nic: item 1: network=static needs an ip-pool=", true},
    {"nic", "bridge=br1,network=dhcp,ip-pool=10.0.0.0/24",
     "nic: item 1: an ip-pool is for network=static", true},
    {"nic", "bridge=br1,gateway=10.0.0.1",
     "nic: item 1: a DHCP NIC's gateway= is dhcp (the DHCP server's router)", true},
    {"nic", "bridge=br1,ip-pool=10.0.0.0/24,gateway=10.0.1.1",
     "nic: item 1: a static NIC's gateway= is an address of its ip-pool", true},
    {"nic", "bridge=br1,ip-pool=10.0.0.0/24,gateway=10.0.0.255",
     "nic: item 1: a static NIC's gateway= is an address of its ip-pool", true},
    {"nic", "bridge=br1,ip-pool=10.0.0.0/24,gateway=dhcp",
     "nic: item 1: a static NIC's gateway= is an address of its ip-pool", true},
    {"nic", "bridge=br1,mac-prefix=01:00",
     "nic: item 1: mac-prefix= is 1 to 5 octets like 00:16:3e, first octet even", true},
    {"disk-size", "15M", "disk-size: at least 16M", true},
    {"disk-size", "0", "disk-size: at least 16M", true},
    {"disk-size", "", "disk-size: not a size", true},
    {"disk-size", "big", "disk-size: not a size", true},
    {"disk-size", "4Q", "disk-size: not a size", true},
    {"disk-size", "-4G", "disk-size: not a size", true},
    {"disk-size", " 4G", "disk-size: not a size", true},
    {"disk-size", "+4G", "disk-size: not a size", true},
    {"disk-size", "0x1000000000", "disk-size: not a size", true},
    {"disk-size", "1e12", "disk-size: not a size", true},
    {"disk-size", "nan", "disk-size: not a size", true},
    {"disk-size", "inf", "disk-size: not a size", true},
    {"disk-size", "99999999999T", "disk-size: not a size", true},
    {"swap", "lots", "swap: not a size", true},
    {"swap", "nan", "swap: not a size", true},
    {"memory", "8", "memory: between 16 MiB and 16 TiB", true},
    {"memory", "0", "memory: between 16 MiB and 16 TiB", true},
    {"memory", "15M", "memory: between 16 MiB and 16 TiB", true},
    {"memory", "16777217", "memory: between 16 MiB and 16 TiB", true},
    {"memory", "17T", "memory: between 16 MiB and 16 TiB", true},
    {"memory", "99999999999999999999", "memory: between 16 MiB and 16 TiB", true},
    {"memory", "-512", "memory: not a size", true},
    {"memory", " 512", "memory: not a size", true},
    {"memory", "lots", "memory: not a size", true},
    {"memory", "1e3", "memory: not a size", true},
    {"memory", "", "memory: not a size", true},
    {"vcpus", "0", "vcpus: a number from 1 to 512", true},
    {"vcpus", "513", "vcpus: a number from 1 to 512", true},
    {"vcpus", "-1", "vcpus: a number from 1 to 512", true},
    {"vcpus", " 4", "vcpus: a number from 1 to 512", true},
    {"vcpus", "4x", "vcpus: a number from 1 to 512", true},
    {"vcpus", "", "vcpus: a number from 1 to 512", true},
    {"vcpus", "99999999999999999999", "vcpus: a number from 1 to 512", true},
    {"fs", "xfs", "fs: unknown filesystem", true},
    {"fs", "EXT4", "fs: unknown filesystem", true},
    {"label", "bsd", "label: unknown partition table", true},
    {"storage", "zfs", "storage: unknown storage", true},
    {"boot", "grub", "boot: unknown boot method", true},
    {"type", "hvm", "type: unknown guest type", true},
    {"network", "auto", "network: unknown network mode", true},
    {"bridge", "", "bridge: not an interface name (1-15 characters)", true},
    {"bridge", "br-0123456789abc", "bridge: not an interface name (1-15 characters)", true},
    {"bridge", "br 0", "bridge: not an interface name (1-15 characters)", true},
    {"bridge", "br/0", "bridge: not an interface name (1-15 characters)", true},
    {"ip-pool", "10.0.0.0", "ip-pool: not a CIDR", true},
    {"ip-pool", "10.0.0.0/", "ip-pool: not a CIDR", true},
    {"ip-pool", "10.0.0.0/31", "ip-pool: not a CIDR", true},
    {"ip-pool", "10.0.0.0/7", "ip-pool: not a CIDR", true},
    {"ip-pool", "10.0.0.0/2x", "ip-pool: not a CIDR", true},
    {"ip-pool", "10.0.0.256/24", "ip-pool: not a CIDR", true},
    {"ip-pool", "fd00::/64", "ip-pool: not a CIDR", true},
    {"gateway", "10.0.0", "gateway: not an IPv4 address", true},
    {"gateway", "::1", "gateway: not an IPv4 address", true},
    {"gateway", "", "gateway: not an IPv4 address", true},
    {"dns", "", "dns: not a list of IPv4 addresses", true},
    {"dns", "1.1.1.1,", "dns: not a list of IPv4 addresses", true},
    {"dns", ",1.1.1.1", "dns: not a list of IPv4 addresses", true},
    {"dns", "1.1.1.1,,8.8.8.8", "dns: not a list of IPv4 addresses", true},
    {"dns", "1.1.1.1, 8.8.8.8", "dns: not a list of IPv4 addresses", true},
    {"dns", "dns.google", "dns: not a list of IPv4 addresses", true},
    {"domain", "", "domain: not a DNS name", true},
    {"domain", "-a.com", "domain: not a DNS name", true},
    {"domain", "a-.com", "domain: not a DNS name", true},
    {"domain", "a..com", "domain: not a DNS name", true},
    {"domain", "a.com.", "domain: not a DNS name", true},
    {"domain", "a_b.com", "domain: not a DNS name", true},
    {"root", "xvda1", "root: not a root device", true},
    {"root", "", "root: not a root device", true},
    {"extra", "a\nb", "extra: must be one line", false},
    {"root-password-hash", "$1$salt$hash", "root-password-hash: MD5 password hashes are refused",
     false},
    {"root-password-hash", "secret", "root-password-hash: not a password hash", false},
    {"root-password-hash", "", "root-password-hash: not a password hash", false},
    {"root-password-hash", "$6$a b", "root-password-hash: not a password hash", false},
    {"root-password-hash", "$6$a:b", "root-password-hash: not a password hash", false},
    {"root-password-hash", "$y$a\n", "root-password-hash: not a password hash", false},
    {"ssh-key", "ssh-dss AAAAB3", "ssh-key: not an SSH public key", false},
    {"ssh-key", "AAAAC3Nza", "ssh-key: not an SSH public key", false},
    {"mac-prefix", "01:16:3e", "mac-prefix: not a unicast MAC prefix", true},
    {"mac-prefix", "00:16:3e:00:00:00", "mac-prefix: not a unicast MAC prefix", true},
    {"mac-prefix", "0:16", "mac-prefix: not a unicast MAC prefix", true},
    {"mac-prefix", "", "mac-prefix: not a unicast MAC prefix", true},
    {"ssh-key", "ssh-rsa A\nssh-rsa B", "ssh-key: not an SSH public key", false},
    {"config.Bad", "1", "config.Bad: 'Bad' is not an xl setting name", false},
    {"config.", "1", "config.: '' is not an xl setting name", false},
    /* secret keys: the value is never quoted in a diagnostic */
    {"config.vfb", "['vnc=1'", "config.vfb: not a valid xl value", true},
    {"config.vfb", "['vnc=1,vncpasswd=hunter2']",
     "config.vfb: a password inside config.vfb would be shown wherever the profile is", false},
    {"config.device_model_args", "spicepasswd=x",
     "config.device_model_args: a password inside config.device_model_args would be shown "
     "wherever the profile is",
     false},
    {"config.vncpasswd", "\"hunter2", "config.vncpasswd: not a valid xl value", false},
    {"config.spicepasswd", "'hunter2", "config.spicepasswd: not a valid xl value", false},
    {"config.name", "\"web", "config.name: not a valid xl value", true},
    {"colour", "blue", "colour: unknown profile setting", false},
    {"config.NAME", "x", "config.NAME: 'NAME' is not an xl setting name", false},
    {"", "x", ": unknown profile setting", false},
};

static void test_check_good(void **st)
{
	(void)st;
	for (size_t i = 0; i < N(good_cases); i++) {
		const struct good_case *c = &good_cases[i];
		struct xp_diags d = {0};
		char *out = (char *)1;
		print_message("check %s '%s'\n", c->key, c->in);
		assert_int_equal(xp_profile_check(c->key, c->in, &out, &d), 0);
		assert_string_equal(out, c->out);
		assert_int_equal(d.n, 0);
		/* normalising is idempotent: what is stored checks to itself */
		char *again;
		assert_int_equal(xp_profile_check(c->key, out, &again, NULL), 0);
		assert_string_equal(again, out);
		free(again);
		free(out);
	}
}

static void test_check_bad(void **st)
{
	(void)st;
	for (size_t i = 0; i < N(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct xp_diags d = {0};
		char *out = (char *)1;
		print_message("check %s '%s'\n", c->key, c->in);
		assert_int_equal(xp_profile_check(c->key, c->in, &out, &d), -EINVAL);
		assert_null(out);
		assert_int_equal(d.n, 1);
		assert_int_equal(d.v[0].severity, XP_SEV_ERROR);
		assert_string_equal(d.v[0].msg, c->msg);
		assert_string_equal(d.v[0].code, c->key);
		if (c->echoes)
			assert_string_equal(d.v[0].text, c->in);
		else
			assert_null(d.v[0].text);
		xp_diags_release(&d);
		/* without a diagnostic collection too */
		assert_int_equal(xp_profile_check(c->key, c->in, &out, NULL), -EINVAL);
	}
}

/* Every documented key has a good case and a bad case (config.NAME as config.*). */
static void test_check_covers_keys(void **st)
{
	(void)st;
	size_t nkeys = 0;
	for (const struct xp_profile_key *k = xp_profile_keys; k->key; k++, nkeys++) {
		bool prefix = strcmp(k->key, "config.NAME") == 0;
		size_t klen = prefix ? 7 : strlen(k->key) + 1;
		bool g = false, b = false;
		for (size_t i = 0; i < N(good_cases); i++)
			g |= strncmp(good_cases[i].key, k->key, klen) == 0;
		for (size_t i = 0; i < N(bad_cases); i++)
			b |= strncmp(bad_cases[i].key, k->key, klen) == 0;
		print_message("key %s\n", k->key);
		assert_true(g);
		assert_true(b);
		assert_non_null(k->arg);
		assert_non_null(k->help);
	}
	assert_int_equal(nkeys, 44);
}

/* The key table marks the secrets once; everything else is not one. */
static void test_secret_keys(void **st)
{
	(void)st;
	const char *secret[] = {"root-password-hash", "config.vncpasswd", "config.spicepasswd",
				"write"};
	const char *open[] = {"image",
			      "ssh-key",
			      "distro",
			      "extra",
			      "config.on_crash",
			      "config.vfb",
			      "config.NAME",
			      "config.",
			      "config.vncpasswd.x",
			      "Root-password-hash",
			      "colour",
			      ""};
	for (size_t i = 0; i < N(secret); i++)
		assert_true(xp_profile_key_secret(secret[i]));
	for (size_t i = 0; i < N(open); i++)
		assert_false(xp_profile_key_secret(open[i]));
	assert_false(xp_profile_key_secret(NULL));
	size_t n = 0;
	for (const struct xp_profile_key *k = xp_profile_keys; k->key; k++)
		n += (k->flags & XP_KEY_SECRET) != 0;
	assert_int_equal(n, N(secret));
	for (const struct xp_profile_key *k = xp_server_keys; k->key; k++)
		assert_int_equal(k->flags, 0);
}

/* Packages (include, install) only with an image xenprov makes (debian:SUITE), as the
 * settings take effect through the parent chain; a refusal changes nothing and names
 * the key, the profile below and the image. */
static void test_packages_need_dist(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add(inv, "deb", NULL, "image=debian:bookworm", "include=udev", "install=vim",
			     NULL),
			 0);
	assert_int_equal(add(inv, "tar", NULL, "image=/srv/root.tar", "install=vim", NULL), -EINVAL);
	assert_non_null(strstr(xp_inv_errmsg(inv), "install needs an image made by xenprov"));
	assert_non_null(strstr(xp_inv_errmsg(inv), "/srv/root.tar"));
	assert_false(has(inv, "tar"));
	assert_int_equal(add(inv, "tar", NULL, "image=/srv/root.tar", NULL), 0);
	/* packages with no image yet are fine; a child's image meets them */
	assert_int_equal(add(inv, "pk", NULL, "include=udev", NULL), 0);
	assert_int_equal(add(inv, "pk-tar", "pk", "image=/srv/root.tar", NULL), -EINVAL);
	assert_non_null(strstr(xp_inv_errmsg(inv), "include needs an image made by xenprov"));
	assert_int_equal(add(inv, "pk-deb", "pk", "image=debian:trixie", NULL), 0);
	/* the parent's edit that would break the profile below it, named */
	assert_int_equal(add(inv, "base", NULL, "image=debian:bookworm", NULL), 0);
	assert_int_equal(add(inv, "child", "base", "install=vim", NULL), 0);
	assert_int_equal(edit(inv, "base", "image", "/srv/root.tar"), -EINVAL);
	assert_non_null(strstr(xp_inv_errmsg(inv), "install (profile 'child') needs"));
	assert_string_equal(setting(inv, "child", "image"), "debian:bookworm");
	/* a child of the tarball profile that adds packages */
	assert_int_equal(add(inv, "tar-pk", "tar", "install=vim", NULL), -EINVAL);
	xp_inv_close(inv);
}

/* The list keys: items added one by one as given, stored escaped, read back as given;
 * an empty item empties the list; the bounds refused with the key named; a write's
 * content never in a diagnostic. */
static void test_list_keys(void **st)
{
	(void)st;
	assert_true(xp_profile_key_list("copy-in"));
	assert_true(xp_profile_key_list("write"));
	assert_true(xp_profile_key_list("firstboot-command"));
	assert_false(xp_profile_key_list("ssh-key"));
	assert_false(xp_profile_key_list("timezone"));
	assert_false(xp_profile_key_list(NULL));

	struct xp_settings s = {0};
	struct xp_diags d;
	xp_diags_init(&d);
	static const char *const items[] = {"/etc/motd:line 1\nline\\2\r\n",
					    "/etc/bin:\x01\xff\xc3\xa9\x7f", "/etc/empty:"};
	for (size_t i = 0; i < N(items); i++)
		assert_int_equal(xp_profile_list_add(&s, "write", items[i], &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(xp_settings_get(&s, "write"),
			    "/etc/motd:line 1\\nline\\\\2\\x0d\\n\n"
			    "/etc/bin:\\x01\\xff\xc3\xa9\\x7f\n/etc/empty:");
	char **v;
	size_t n;
	assert_int_equal(xp_profile_list_items("write", xp_settings_get(&s, "write"), &v, &n), 0);
	assert_int_equal(n, N(items));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i], items[i]);
	xp_profile_list_free(v, n);
	/* what is stored checks to itself */
	char *out;
	assert_int_equal(xp_profile_check("write", xp_settings_get(&s, "write"), &out, &d), 0);
	assert_string_equal(out, xp_settings_get(&s, "write"));
	free(out);

	/* commands and copy-ins are stored as given */
	assert_int_equal(xp_profile_list_add(&s, "firstboot-command", "echo 'a\\b' >/x", &d), 0);
	assert_int_equal(xp_profile_list_add(&s, "firstboot-command", "touch /y", &d), 0);
	assert_string_equal(xp_settings_get(&s, "firstboot-command"), "echo 'a\\b' >/x\ntouch /y");
	assert_int_equal(
	    xp_profile_list_items("firstboot-command", "echo 'a\\b' >/x\ntouch /y", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "echo 'a\\b' >/x");
	xp_profile_list_free(v, n);
	/* an empty item: the empty list */
	assert_int_equal(xp_profile_list_add(&s, "firstboot-command", "", &d), 0);
	assert_string_equal(xp_settings_get(&s, "firstboot-command"), "");
	assert_int_equal(xp_profile_list_items("firstboot-command", "", &v, &n), 0);
	assert_int_equal(n, 0);
	xp_profile_list_free(v, n);
	assert_int_equal(xp_profile_list_items("write", "/a:\\q", &v, &n), -EINVAL);

	/* 64 items, not 65 */
	for (int i = 0; i < XP_GUEST_MAX_ITEMS; i++)
		assert_int_equal(xp_profile_list_add(&s, "firstboot-command", "true", &d), 0);
	assert_int_equal(xp_profile_list_add(&s, "firstboot-command", "true", &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "firstboot-command");
	assert_string_equal(d.v[0].msg, "firstboot-command: at most 64 items");
	xp_diags_release(&d);
	struct xp_buf many = XP_BUF_INIT;
	for (int i = 0; i <= XP_GUEST_MAX_ITEMS; i++)
		xp_buf_adds(&many, i ? "\ntrue" : "true");
	assert_int_equal(xp_profile_check("firstboot-command", xp_buf_str(&many), &out, NULL),
			 -EINVAL);
	xp_buf_release(&many);

	/* 1 MiB of stored list at most */
	char *big = malloc(XP_GUEST_MAX_WRITE + 8);
	memcpy(big, "/f:", 3);
	memset(big + 3, 'x', XP_GUEST_MAX_WRITE);
	big[3 + XP_GUEST_MAX_WRITE] = '\0';
	xp_diags_init(&d);
	int r = 0, added = 0;
	while (r == 0 && added < XP_GUEST_MAX_ITEMS)
		if ((r = xp_profile_list_add(&s, "copy-in", "/srv:/", &d)) == 0 &&
		    (r = xp_profile_list_add(&s, "write", big, &d)) == 0)
			added++;
	assert_int_equal(r, -EINVAL);
	assert_int_equal(added, 15); /* beside 3 small items, 15 of 64 KiB: 16 are 1 MiB */
	assert_string_equal(d.v[0].msg, "write: the list is larger than 1 MiB");
	free(big);
	xp_diags_release(&d);

	/* a refused write item: neither quoted nor in the message */
	xp_diags_init(&d);
	assert_int_equal(xp_profile_list_add(&s, "write", "/etc/../x:s3cret", &d), -EINVAL);
	assert_null(d.v[0].text);
	assert_null(strstr(d.v[0].msg, "s3cret"));
	xp_diags_release(&d);
	/* a key that is no list */
	assert_int_equal(xp_profile_list_add(&s, "dns", "1.1.1.1", NULL), -EINVAL);

	/* further disks: 24 at most (xvdb to xvdy; the swap volume may be xvdz), each
	 * mount point once, also when added one by one */
	assert_true(xp_profile_key_list("data-disk"));
	assert_true(xp_profile_key_list("nic"));
	assert_false(xp_profile_key_list("swap-disk"));
	xp_diags_init(&d);
	for (int i = 0; i < XP_DATA_DISKS_MAX; i++)
		assert_int_equal(xp_profile_list_add(&s, "data-disk", "1G,fs=none", &d), 0);
	assert_int_equal(xp_profile_list_add(&s, "data-disk", "1G,fs=none", &d), -EINVAL);
	assert_string_equal(d.v[0].msg, "data-disk: at most 24 data disks (xvdb to xvdy)");
	xp_diags_release(&d);
	assert_int_equal(xp_profile_list_add(&s, "data-disk", "", NULL), 0);
	assert_int_equal(xp_profile_list_add(&s, "data-disk", "1G,mount=/srv", NULL), 0);
	xp_diags_init(&d);
	assert_int_equal(xp_profile_list_add(&s, "data-disk", "2G,mount=/srv", &d), -EINVAL);
	assert_string_equal(d.v[0].msg, "data-disk: items 1 and 2: the same mount point /srv");
	xp_diags_release(&d);
	assert_string_equal(xp_settings_get(&s, "data-disk"), "1G,fs=ext4,mount=/srv");
	/* further NICs: 15 at most (enX1 to enX15) */
	xp_diags_init(&d);
	for (int i = 0; i < XP_NICS_MAX; i++)
		assert_int_equal(xp_profile_list_add(&s, "nic", "bridge=br1", &d), 0);
	assert_int_equal(xp_profile_list_add(&s, "nic", "bridge=br1", &d), -EINVAL);
	assert_string_equal(d.v[0].msg, "nic: at most 15 further NICs");
	xp_diags_release(&d);
	xp_settings_release(&s);
}

/* ---- transactions ----------------------------------------------------------------------- */

static void test_transactions(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state), *other = xp_test_inv_open(state);
	assert_int_equal(xp_inv_commit(inv), -EINVAL); /* none open */
	xp_inv_rollback(inv);			       /* harmless */

	/* nested: only the outermost commit commits */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "a", NULL, NULL), 0);
	assert_int_equal(xp_inv_commit(inv), 0);
	assert_true(has(inv, "a"));
	assert_false(has(other, "a")); /* not yet committed */
	assert_int_equal(add(inv, "b", "a", NULL), 0);
	assert_int_equal(xp_inv_commit(inv), 0);
	assert_true(has(other, "a"));
	assert_true(has(other, "b"));

	/* rollback leaves nothing */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "c", NULL, NULL), 0);
	assert_int_equal(add(inv, "d", "c", NULL), 0);
	assert_int_equal(xp_profile_remove(inv, "b"), 0);
	xp_inv_rollback(inv);
	assert_false(has(inv, "c"));
	assert_false(has(inv, "d"));
	assert_true(has(inv, "b"));
	assert_false(has(other, "c"));

	/* an inner rollback dooms the whole transaction */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "e", NULL, NULL), 0);
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "f", NULL, NULL), 0);
	xp_inv_rollback(inv);
	assert_int_equal(xp_inv_begin(inv), -ECANCELED);
	assert_int_equal(add(inv, "g", NULL, NULL), -ECANCELED);
	assert_int_equal(xp_inv_commit(inv), -ECANCELED);
	assert_false(has(inv, "e"));
	assert_false(has(inv, "f"));
	assert_false(has(inv, "g"));
	/* and the next one is clean */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "h", NULL, NULL), 0);
	assert_int_equal(xp_inv_commit(inv), 0);
	assert_true(has(other, "h"));

	/* nested, doomed, inner commit says so */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(xp_inv_begin(inv), 0);
	xp_inv_rollback(inv);
	assert_int_equal(xp_inv_commit(inv), -ECANCELED);
	assert_int_equal(xp_inv_commit(inv), -ECANCELED);
	assert_int_equal(xp_inv_commit(inv), -EINVAL);

	/* refusals inside a transaction leave it usable (add, else update) */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "i", NULL, NULL), 0);
	assert_int_equal(add(inv, "i", NULL, NULL), -EEXIST);
	assert_int_equal(add(inv, "j", "missing", NULL), -ENOENT);
	assert_int_equal(add(inv, "-j", NULL, NULL), -EINVAL);
	assert_int_equal(xp_profile_remove(inv, "a"), -EBUSY);
	assert_int_equal(xp_profile_remove(inv, "zz"), -ENOENT);
	set_parent(inv, "a", "b", -ELOOP);
	assert_int_equal(add(inv, "k", "i", NULL), 0);
	assert_int_equal(xp_inv_commit(inv), 0);
	assert_true(has(other, "i"));
	assert_true(has(other, "k"));

	/* a writer holding the lock does not block readers (WAL) */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "l", NULL, NULL), 0);
	assert_true(has(other, "k"));
	assert_false(has(other, "l"));
	assert_int_equal(xp_inv_commit(inv), 0);
	assert_true(has(other, "l"));

	xp_inv_close(other);
	/* closing with a transaction open rolls it back */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add(inv, "m", NULL, NULL), 0);
	xp_inv_close(inv);
	inv = xp_test_inv_open(state);
	assert_false(has(inv, "m"));
	xp_inv_close(inv);
}

/* ---- several processes at once ---------------------------------------------------------- */

enum { NPROC = 4, PER_PROC = 50 };

static int child(int id, int go)
{
	char c;
	if (read(go, &c, 1) != 0) /* wait until the parent closes the pipe */
		return 10;
	struct xp_inv *inv;
	int r = xp_inv_open(state, &inv); /* all at once, on a fresh directory */
	if (r < 0) {
		fprintf(stderr, "child %d: open: %s\n", id, strerror(-r));
		return 11;
	}
	for (int i = 0; i < PER_PROC; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p%d-%02d", id, i);
		struct xp_profile p = {.name = name};
		char mem[16];
		snprintf(mem, sizeof(mem), "%d", 16 + i);
		xp_settings_set(&p.set, "memory", mem);
		r = xp_profile_add(inv, &p);
		xp_settings_release(&p.set);
		if (r < 0) {
			fprintf(stderr, "child %d: add %s: %s (%s)\n", id, name, strerror(-r),
				xp_inv_errmsg(inv));
			xp_inv_close(inv);
			return 12;
		}
		/* a read between writes, as commands do */
		struct xp_settings s;
		if (xp_profile_resolve(inv, name, &s) < 0) {
			xp_inv_close(inv);
			return 13;
		}
		xp_settings_release(&s);
	}
	xp_inv_close(inv);
	return 0;
}

static void test_concurrent(void **st)
{
	(void)st;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pids[NPROC];
	for (int i = 0; i < NPROC; i++) {
		fflush(NULL);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(fds[1]);
			_exit(child(i, fds[0]));
		}
	}
	close(fds[0]);
	close(fds[1]); /* go */
	for (int i = 0; i < NPROC; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	struct xp_inv *inv = xp_test_inv_open(state);
	char **names;
	size_t n;
	assert_int_equal(xp_profile_list(inv, &names, &n), 0);
	assert_int_equal(n, NPROC * PER_PROC);
	for (int id = 0, k = 0; id < NPROC; id++)
		for (int i = 0; i < PER_PROC; i++, k++) {
			char name[32];
			snprintf(name, sizeof(name), "p%d-%02d", id, i);
			assert_string_equal(names[k], name);
		}
	xp_strv_free(names, n);
	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, "p3-49", &p), 0);
	assert_string_equal(xp_settings_get(&p.set, "memory"), "65");
	xp_profile_release(&p);
	xp_inv_close(inv);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child-add") == 0) { /* test_second_connection */
		struct xp_inv *c;
		struct xp_profile p = {.name = "other"};
		int r = xp_inv_open(argv[2], &c) < 0 ? 1 : xp_profile_add(c, &p) == 0 ? 0 : 2;
		xp_inv_close(r == 1 ? NULL : c);
		return r;
	}
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_open),
	    xp_test_in_scratch(test_private_files),
	    xp_test_in_scratch(test_second_connection),
	    xp_test_in_scratch(test_newer_schema),
	    xp_test_in_scratch(test_location),
	    xp_test_in_scratch(test_failed_statement),
	    cmocka_unit_test(test_state_dir_default),
	    cmocka_unit_test(test_settings),
	    xp_test_in_scratch(test_profile_crud),
	    cmocka_unit_test(test_names),
	    xp_test_in_scratch(test_cycles),
	    xp_test_in_scratch(test_resolve),
	    xp_test_in_scratch(test_packages_need_dist),
	    xp_test_in_scratch(test_gateway_in_pool),
	    xp_test_in_scratch(test_remove_busy),
	    xp_test_in_scratch(test_deploy_records),
	    cmocka_unit_test(test_check_good),
	    cmocka_unit_test(test_check_bad),
	    cmocka_unit_test(test_check_covers_keys),
	    cmocka_unit_test(test_secret_keys),
	    cmocka_unit_test(test_list_keys),
	    xp_test_in_scratch(test_transactions),
	    xp_test_in_scratch(test_concurrent),
	};
	/* the database file, its modes and SQLite's locks */
	static const char *const sqlite_only[] = {"test_private_files", "test_second_connection",
						  NULL};
	return xp_test_run_backends(tests, sqlite_only);
}
