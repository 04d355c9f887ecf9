/*
 * test-distro-store.c - unit tests for the distro store and what may be served
 * (src/lib/inventory/distro-files.c, distro.c, migration 3): files copied in and named
 * by their SHA-256, shared between distros, kept or replaced on update, collected when
 * no distro names them (also under a concurrent writer); the confinement of the HTTP
 * API's files (beneath the TFTP root, the store or distro-roots; "..", symlinks out,
 * /etc/shadow, the state directory's own files even hard-linked); the roots that may
 * not be set; opening the store's files (no symlink followed); and a distro of an
 * older inventory, which keeps its row but is not served.
 *
 * Each test works in its own scratch directory under XP_TEST_TMP with real files.
 */
#include <errno.h>
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
#include "xenprov/inventory.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static xp_test_pathbuf state, store, tftp;

XP_TEST_SCRATCH_WITH("distro-store", store_paths, xp_test_nothing)

/* The state directory and its store's paths; a TFTP root. */
static int store_paths(void)
{
	xp_test_paths(tmpdir, state, "state", tftp, "tftp", NULL);
	xp_test_paths(state, store, "distro-files", NULL);
	return mkdir(tftp, 0755);
}

/* The digest of a file's bytes, as the store names it. */
static void digest_of(const char *path, char hex[65])
{
	unsigned char md[32];
	assert_int_equal(xp_sha256_file(path, md), 0);
	xp_sha256_hex(md, hex);
}

/* The names in the store, sorted, joined by spaces (abbreviated to 8 digits). */
static char *store_names(void)
{
	static char buf[4096];
	char *names =
	    xp_test_out("ls -A '%s' 2>/dev/null | cut -c1-8 | sort | tr '\\n' ' '", store);
	size_t n = strlen(names);
	if (n && names[n - 1] == ' ')
		names[n - 1] = '\0';
	snprintf(buf, sizeof(buf), "%s", names);
	free(names);
	return buf;
}

static int add(struct xp_inv *inv, const char *name, const char *k, const char *i, unsigned flags,
	       struct xp_diags *d)
{
	struct xp_distro x = {.name = (char *)name, .kernel = (char *)k, .initrd = (char *)i};
	return xp_distro_add(inv, &x, flags, d);
}

/* add with CONFINED, expecting r and (when msg) that diagnostic. */
static void confined(struct xp_inv *inv, const char *k, int r, const char *msg)
{
	struct xp_diags d;
	xp_diags_init(&d);
	print_message("confined %s\n", k);
	int got = add(inv, "api", k, NULL, XP_DISTRO_CONFINED, &d);
	if (got != r)
		print_error("%s: %d (%s)\n", k, got, d.n ? d.v[0].msg : "-");
	assert_int_equal(got, r);
	if (msg) {
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].msg, msg);
	}
	xp_diags_release(&d);
	if (r == 0)
		assert_int_equal(xp_distro_remove(inv, "api"), 0);
}

/* Another process working on the same inventory: this program again, run with
 * "--child STATE VERB ARG" (a fresh exec: SQLite connections must not cross a fork). */
static pid_t child(const char *verb, const char *arg)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test-distro-store", "--child", state, verb, arg,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int child_main(const char *dir, const char *verb, const char *arg)
{
	struct xp_inv *inv;
	if (xp_inv_open(dir, &inv) < 0)
		return 1;
	int r;
	if (strcmp(verb, "remove") == 0) {
		r = xp_distro_remove(inv, arg);
	} else {
		struct xp_distro d = {.name = "b", .kernel = (char *)arg};
		r = xp_distro_add(inv, &d, 0, NULL);
	}
	xp_inv_close(inv);
	return r < 0 ? 1 : 0;
}

/* ---- copies, digests, sharing, collection ---------------------------------------------- */

static void test_copies(void **st)
{
	(void)st;
	const char *k1 = xp_test_write(tpath("vmlinuz-a"), "KERNEL-A");
	/* the same bytes under another name */
	const char *k2 = xp_test_write(tpath("other-name"), "KERNEL-A");
	const char *ini = xp_test_write(tpath("initrd"), "INITRD");
	const char *k3 = xp_test_write(tpath("vmlinuz-b"), "KERNEL-B");
	chmod(k1, 0600);
	char ha[65], hi[65], hb[65];
	digest_of(k1, ha);
	digest_of(ini, hi);
	digest_of(k3, hb);

	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add(inv, "one", k1, ini, 0, NULL), 0);
	struct xp_distro d;
	assert_int_equal(xp_distro_get(inv, "one", &d), 0);
	assert_string_equal(d.kernel, k1); /* where it came from */
	assert_string_equal(d.initrd, ini);
	assert_string_equal(d.kernel_sha256, ha);
	assert_string_equal(d.initrd_sha256, hi);
	assert_true(xp_distro_in_store(&d));
	xp_distro_release(&d);
	/* a copy: its own inode, read-only for everyone, the same bytes */
	const char *obj = xp_test_path(store, ha);
	struct stat so, sk;
	assert_int_equal(stat(obj, &so), 0);
	assert_int_equal(stat(k1, &sk), 0);
	assert_true(S_ISREG(so.st_mode));
	assert_int_equal(so.st_mode & 0777, 0444);
	assert_int_equal(so.st_nlink, 1);
	assert_true(so.st_ino != sk.st_ino);
	char got[65];
	digest_of(obj, got);
	assert_string_equal(got, ha);
	int fd;
	assert_int_equal(xp_distro_file_open(inv, ha, &fd), 0);
	char buf[32] = {0};
	assert_int_equal(read(fd, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "KERNEL-A");
	close(fd);

	/* the same bytes from another file: one copy for both */
	assert_int_equal(add(inv, "two", k2, NULL, 0, NULL), 0);
	assert_int_equal(xp_distro_get(inv, "two", &d), 0);
	assert_string_equal(d.kernel_sha256, ha);
	assert_null(d.initrd_sha256);
	xp_distro_release(&d);
	char want[64];
	snprintf(want, sizeof(want), "%.8s %.8s", strcmp(ha, hi) < 0 ? ha : hi,
		 strcmp(ha, hi) < 0 ? hi : ha);
	assert_string_equal(store_names(), want);

	/* a refused add leaves no file behind */
	assert_int_equal(add(inv, "one", k3, NULL, 0, NULL), -EEXIST);
	assert_string_equal(store_names(), want);

	/* an edit of other values keeps the files without reading anything */
	assert_int_equal(xp_distro_get(inv, "one", &d), 0);
	assert_int_equal(unlink(k1), 0);
	free(d.kernel_options);
	d.kernel_options = strdup("quiet");
	assert_int_equal(xp_distro_update(inv, &d, 0, NULL), 0);
	xp_distro_release(&d);
	assert_int_equal(xp_distro_get(inv, "one", &d), 0);
	assert_string_equal(d.kernel, k1);
	assert_string_equal(d.kernel_sha256, ha);
	assert_string_equal(d.kernel_options, "quiet");
	/* a new kernel: a new file; the old one stays, "two" names it */
	free(d.kernel);
	free(d.kernel_sha256);
	d.kernel = strdup(k3);
	d.kernel_sha256 = NULL;
	assert_int_equal(xp_distro_update(inv, &d, 0, NULL), 0);
	xp_distro_release(&d);
	assert_int_equal(xp_distro_get(inv, "one", &d), 0);
	assert_string_equal(d.kernel_sha256, hb);
	xp_distro_release(&d);
	assert_int_equal(xp_distro_file_open(inv, ha, &fd), 0);
	close(fd);
	/* "two" goes: so does the file only it named */
	assert_int_equal(xp_distro_remove(inv, "two"), 0);
	assert_int_equal(xp_distro_file_open(inv, ha, &fd), -ENOENT);
	assert_int_equal(xp_distro_file_open(inv, hb, &fd), 0);
	close(fd);

	/* a file of the store by its digest */
	char ref[80];
	snprintf(ref, sizeof(ref), "sha256:%s", hb);
	assert_int_equal(add(inv, "three", ref, NULL, 0, NULL), 0);
	assert_int_equal(xp_distro_get(inv, "three", &d), 0);
	assert_string_equal(d.kernel, ref);
	assert_string_equal(d.kernel_sha256, hb);
	xp_distro_release(&d);
	struct xp_diags dg;
	xp_diags_init(&dg);
	snprintf(ref, sizeof(ref), "sha256:%s", ha); /* collected above */
	assert_int_equal(add(inv, "four", ref, NULL, 0, &dg), -EINVAL);
	assert_string_equal(dg.v[0].msg, "kernel: no such file in the distro store");
	xp_diags_release(&dg);
	xp_diags_init(&dg);
	assert_int_equal(add(inv, "four", "sha256:../../api-token", NULL, 0, &dg), -EINVAL);
	assert_string_equal(dg.v[0].msg, "kernel: not a digest of the distro store");
	xp_diags_release(&dg);
	struct xp_distro bad = {.name = "four", .kernel_sha256 = "ABC"};
	xp_diags_init(&dg);
	assert_int_equal(xp_distro_add(inv, &bad, 0, &dg), -EINVAL);
	assert_string_equal(dg.v[0].msg, "kernel: not a SHA-256 digest");
	xp_diags_release(&dg);

	/* the last distros go: the store is empty */
	assert_int_equal(xp_distro_remove(inv, "one"), 0);
	assert_int_equal(xp_distro_remove(inv, "three"), 0);
	assert_string_equal(store_names(), "");
	xp_inv_close(inv);
}

/* A writer holds the store's lock from naming a file until its transaction ends: a
 * collection in another process waits for it, and so never removes a file whose row
 * is about to be committed. */
static void test_collection_waits(void **st)
{
	(void)st;
	const char *k = xp_test_write(tpath("k"), "NEW-KERNEL");
	const char *other = xp_test_write(tpath("other"), "OTHER");
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add(inv, "old", other, NULL, 0, NULL), 0);
	/* a writer between naming its file and committing the row (here without the
	 * transaction around it, so that the other process can commit) */
	struct xp__staged stg;
	assert_int_equal(xp__distro_file_stage(inv, "kernel", k, false, &stg, NULL), 0);
	assert_true(inv->store_lock < 0); /* copied in without the lock */
	assert_int_equal(xp__distro_file_name(inv, "kernel", &stg, NULL), 0);
	assert_true(inv->store_lock >= 0);
	char hex[65];
	memcpy(hex, stg.hex, sizeof(hex));
	xp__distro_file_drop(inv, &stg);
	pid_t pid = child("remove", "old"); /* its collection must wait for the lock */
	usleep(300 * 1000);
	int status;
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still waiting */
	int fd;
	assert_int_equal(xp_distro_file_open(inv, hex, &fd), 0);
	close(fd);
	/* named, committed: the lock goes with the transaction */
	struct xp_distro d = {.name = "new", .kernel = (char *)k, .kernel_sha256 = hex};
	assert_int_equal(xp_distro_add(inv, &d, 0, NULL), 0);
	assert_true(inv->store_lock < 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(xp_distro_file_open(inv, hex, &fd), 0);
	close(fd);
	char want[16];
	snprintf(want, sizeof(want), "%.8s", hex);
	assert_string_equal(store_names(), want); /* "old"'s file went */
	xp_inv_close(inv);
}

/* Locks are taken in one order, the database's then the store's: a writer inside a
 * long transaction (distro edit) and another process adding a distro (the HTTP API)
 * never wait for each other. (When a file was copied in under the store's lock before
 * the transaction, each held what the other wanted until SQLite's busy timeout.) */
static void test_lock_order(void **st)
{
	(void)st;
	const char *a = xp_test_write(tpath("a"), "KERNEL-A");
	const char *b = xp_test_write(tpath("b"), "KERNEL-B");
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(xp_inv_begin(inv), 0); /* holds the database's write lock */
	pid_t pid = child("add", b);		/* copies b in, then waits for the database */
	usleep(300 * 1000);
	assert_int_equal(add(inv, "a", a, NULL, 0, NULL), 0); /* names a: the store's lock */
	assert_int_equal(xp_inv_commit(inv), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct xp_distro d;
	assert_int_equal(xp_distro_get(inv, "b", &d), 0);
	assert_true(xp_distro_in_store(&d));
	xp_distro_release(&d);
	xp_inv_close(inv);
}

/* ---- the HTTP API's files: confined ------------------------------------------------------ */

static void test_confined(void **st)
{
	(void)st;
	char msg[9000];
	const char *in = xp_test_path(tftp, "linux");
	const char *outside = tpath("outside");
	const char *up = xp_test_path(tftp, "../outside");
	const char *link_out = xp_test_path(tftp, "link-out");
	const char *link_in = xp_test_path(tftp, "link-in");
	const char *extra = tpath("extra");
	const char *in_extra = xp_test_path(extra, "linux");
	xp_test_write(in, "IN-ROOT");
	xp_test_write(outside, "OUTSIDE");
	assert_int_equal(mkdir(extra, 0755), 0);
	xp_test_write(in_extra, "IN-EXTRA");
	assert_int_equal(symlink(outside, link_out), 0);
	assert_int_equal(symlink("linux", link_in), 0);

	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(xp_server_setting_set(inv, "tftp-root", tftp, NULL), 0);
#define NOT_BENEATH "kernel: '%s' is not beneath a directory the API may take files from"
	confined(inv, in, 0, NULL);
	confined(inv, link_in, 0, NULL); /* a symlink that stays inside */
	const char *refused[] = {outside, "/etc/shadow", up, link_out, in_extra, "/"};
	for (size_t i = 0; i < N(refused); i++) {
		snprintf(msg, sizeof(msg), NOT_BENEATH, refused[i]);
		confined(inv, refused[i], -EACCES, msg);
	}
	/* the hint says how to allow more */
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(add(inv, "api", outside, NULL, XP_DISTRO_CONFINED, &d), -EACCES);
	assert_non_null(strstr(d.v[0].hint, "xenprov settings set distro-roots DIR"));
	xp_diags_release(&d);
	/* distro-roots allows more */
	char roots[4400];
	snprintf(roots, sizeof(roots), "/nonexistent:%s/", extra);
	assert_int_equal(xp_server_setting_set(inv, "distro-roots", roots, NULL), 0);
	confined(inv, in_extra, 0, NULL);
	snprintf(msg, sizeof(msg), "kernel: cannot use '%s/nosuch': %s", extra, strerror(ENOENT));
	snprintf(roots, sizeof(roots), "%s/nosuch", extra);
	confined(inv, roots, -EINVAL, msg);
	/* the store is a root, and so is sha256: */
	char hex[65], ref[80];
	digest_of(in, hex);
	assert_int_equal(add(inv, "keep", in, NULL, 0, NULL), 0);
	snprintf(ref, sizeof(ref), "sha256:%s", hex);
	confined(inv, ref, 0, NULL);
	confined(inv, xp_test_path(store, hex), 0, NULL);

	/* the state directory: never, however it is reached */
	/* (on PostgreSQL the state directory holds no database file: the token stands
	 * for it) */
	bool sqlite = !xp_test_pgurl();
	const char *token = xp_test_path(state, "api-token");
	xp_test_write(token, "0123456789abcdef0123456789abcdef\n");
	const char *dbfile = xp_test_path(state, sqlite ? "inventory.db" : "api-token");
	snprintf(msg, sizeof(msg), NOT_BENEATH, dbfile);
	confined(inv, dbfile, -EACCES, msg);
	snprintf(roots, sizeof(roots), "%s/distro-files/../api-token", state);
	snprintf(msg, sizeof(msg), NOT_BENEATH, roots);
	confined(inv, roots, -EACCES, msg);
	/* hard-linked into the TFTP root: found by identity */
	const char *own[] = {"api-token", "inventory.db", "inventory.db-wal", "inventory.db-shm"};
	assert_true(!sqlite || xp_test_dms_held(state));
	for (size_t i = 0; i < (sqlite ? N(own) : 1); i++) {
		const char *src = xp_test_path(state, own[i]);
		const char *linked = xp_test_path(tftp, own[i]);
		assert_int_equal(link(src, linked), 0);
		snprintf(msg, sizeof(msg), "kernel: '%s' is a file of the state directory", linked);
		confined(inv, linked, -EACCES, msg);
		/* the command line may take any file, but not these either */
		xp_diags_init(&d);
		assert_int_equal(add(inv, "cli", src, NULL, 0, &d), -EACCES);
		snprintf(msg, sizeof(msg), "kernel: '%s' is a file of the state directory", src);
		assert_string_equal(d.v[0].msg, msg);
		xp_diags_release(&d);
		assert_int_equal(unlink(linked), 0);
	}
	assert_true(!sqlite || xp_test_dms_held(state)); /* never opened for real: locks intact */
	/* a root that holds the state directory (written behind the settings' back) is
	 * no root */
	snprintf(roots, sizeof(roots),
		 "UPDATE server_settings SET value = '%s'"
		 " WHERE key = 'distro-roots'",
		 tmpdir);
	xp_test_sql(state, roots);
	snprintf(msg, sizeof(msg), NOT_BENEATH, outside);
	confined(inv, outside, -EACCES, msg);
	/* nothing refused stayed in the store */
	char want[16];
	snprintf(want, sizeof(want), "%.8s", hex);
	assert_string_equal(store_names(), want);
	xp_inv_close(inv);
}

/* Roots that are or hold the state directory are refused as settings. */
static void test_roots(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	char msg[8800];
	const char *sub = xp_test_path(state, "tftp");
	assert_int_equal(mkdir(sub, 0755), 0);
	const char *bad[] = {state, tmpdir, "/"};
	const char *keys[] = {"tftp-root", "distro-roots"};
	for (size_t k = 0; k < N(keys); k++) {
		for (size_t i = 0; i < N(bad); i++) {
			struct xp_diags d;
			xp_diags_init(&d);
			assert_int_equal(xp_server_setting_set(inv, keys[k], bad[i], &d), -EINVAL);
			snprintf(msg, sizeof(msg),
				 "%s: holds the state directory '%s', whose inventory and API "
				 "token must never be served",
				 keys[k], state);
			assert_string_equal(d.v[0].msg, msg);
			xp_diags_release(&d);
		}
		assert_int_equal(xp_server_setting_set(inv, keys[k], sub, NULL), 0);
		assert_int_equal(xp_server_setting_set(inv, keys[k], tftp, NULL), 0);
		/* a symlink to the state directory is the state directory */
		const char *ln = tpath("to-state");
		unlink(ln);
		assert_int_equal(symlink(state, ln), 0);
		assert_int_equal(xp_server_setting_set(inv, keys[k], ln, NULL), -EINVAL);
	}
	char both[8800];
	snprintf(both, sizeof(both), "%s:%s", tftp, tmpdir);
	assert_int_equal(xp_server_setting_set(inv, "distro-roots", both, NULL), -EINVAL);
	assert_int_equal(xp_inv_root_check(inv, "/nonexistent/dir"), 0);
	assert_int_equal(xp_inv_root_check(inv, tftp), 0);
	assert_int_equal(xp_inv_root_check(inv, state), -EACCES);
	xp_inv_close(inv);
}

/* ---- opening the store's files ------------------------------------------------------------ */

static void test_open(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	char hex[65];
	const char *k = xp_test_write(tpath("k"), "K");
	assert_int_equal(add(inv, "d", k, NULL, 0, NULL), 0);
	digest_of(k, hex);
	int fd = 7;
	assert_int_equal(xp_distro_file_open(inv, "../inventory.db", &fd), -EINVAL);
	assert_int_equal(fd, -1);
	assert_int_equal(xp_distro_file_open(inv, NULL, &fd), -EINVAL);
	char upper[65];
	for (int i = 0; i < 65; i++)
		upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
	assert_int_equal(xp_distro_file_open(inv, upper, &fd), -EINVAL);
	const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
	assert_int_equal(xp_distro_file_open(inv, zero, &fd), -ENOENT);
	/* a symlink or a directory in the store is not a file of it */
	const char *fake = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *obj = xp_test_path(store, fake);
	assert_int_equal(symlink(k, obj), 0);
	assert_int_equal(xp_distro_file_open(inv, fake, &fd), -EACCES);
	assert_int_equal(unlink(obj), 0);
	assert_int_equal(mkdir(obj, 0755), 0);
	assert_int_equal(xp_distro_file_open(inv, fake, &fd), -EACCES);
	/* a distro row naming it (written behind the library's back) is not served */
	char q[400];
	snprintf(q, sizeof(q), "UPDATE distro_files SET kernel_sha256 = '%s'", fake);
	xp_test_sql(state, q);
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_distro x;
	assert_int_equal(xp_distro_get(inv, "d", &x), 0);
	assert_int_equal(xp_distro_update(inv, &x, 0, &d), -EINVAL);
	assert_string_equal(d.v[0].msg, "kernel: no such file in the distro store");
	xp_distro_release(&x);
	xp_diags_release(&d);
	xp_test_sql(state, "UPDATE distro_files SET kernel_sha256 = '../../api-token'");
	assert_int_equal(xp_distro_get(inv, "d", &x), 0);
	assert_null(x.kernel_sha256); /* not a digest: not a name to open */
	assert_false(xp_distro_in_store(&x));
	xp_distro_release(&x);
	xp_inv_close(inv);
}

/* ---- an older inventory ------------------------------------------------------------------- */

static void test_older_inventory(void **st)
{
	(void)st;
	/* a version-2 inventory: its distros name host paths, which the server served */
	xp_inv_close(xp_test_inv_open(state));
	xp_test_sql(state, "DROP TABLE distro_files");
	xp_test_set_schema_version(state, 2);
	xp_test_sql(state, "INSERT INTO distros (name, kernel, initrd, created, updated)"
			   " VALUES ('old', '/etc/shadow', '/srv/initrd', 1, 1);"
			   "INSERT INTO systems (name, mac, distro, created, updated)"
			   " VALUES ('n1', '52:54:00:00:00:01', 'old', 1, 1)");
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(xp_inv_schema_version(inv), XP_TEST_SCHEMA_VERSION);
	struct xp_distro d;
	assert_int_equal(xp_distro_get(inv, "old", &d), 0);
	assert_string_equal(d.kernel, "/etc/shadow"); /* kept, shown, never served */
	assert_null(d.kernel_sha256);
	assert_null(d.initrd_sha256);
	assert_false(xp_distro_in_store(&d));
	/* given its files again, it is served */
	const char *k = xp_test_write(tpath("k"), "K");
	free(d.kernel);
	d.kernel = strdup(k);
	free(d.initrd);
	d.initrd = NULL;
	assert_int_equal(xp_distro_update(inv, &d, 0, NULL), 0);
	xp_distro_release(&d);
	assert_int_equal(xp_distro_get(inv, "old", &d), 0);
	assert_true(xp_distro_in_store(&d));
	xp_distro_release(&d);
	/* the system that boots it stays; removing the distro is refused while it does */
	assert_int_equal(xp_distro_remove(inv, "old"), -EBUSY);
	xp_inv_close(inv);
	/* a version-3 database set back migrates again cleanly */
	xp_test_set_schema_version(state, 2);
	inv = xp_test_inv_open(state);
	assert_int_equal(xp_distro_get(inv, "old", &d), 0);
	assert_true(xp_distro_in_store(&d));
	xp_distro_release(&d);
	xp_inv_close(inv);
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2], argv[3], argv[4]);
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_copies),	      xp_test_in_scratch(test_collection_waits),
	    xp_test_in_scratch(test_lock_order),      xp_test_in_scratch(test_confined),
	    xp_test_in_scratch(test_roots),	      xp_test_in_scratch(test_open),
	    xp_test_in_scratch(test_older_inventory),
	};
	return xp_test_run_backends(tests, NULL);
}
