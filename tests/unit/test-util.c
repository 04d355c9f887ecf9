/*
 * test-util.c - unit tests of src/lib/util: buffer, diagnostics, bounded reads,
 * atomic replacement (content, mode, no temp left, failure leaves the old file), locks,
 * unified diff and edit distance.
 */
#include <dirent.h>
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

#include "xenprov/util.h"

static char tmpdir[4096];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/util-XXXXXX", XP_TEST_TMP);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_buf(void **state)
{
	(void)state;
	struct xp_buf b = XP_BUF_INIT;
	assert_string_equal(xp_buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		xp_buf_addf(&b, "%d,", i);
	assert_int_equal(xp_buf_error(&b), 0);
	assert_true(strncmp(b.s, "0,1,2,", 6) == 0);
	assert_int_equal(b.len, strlen(b.s));
	xp_buf_truncate(&b, 2);
	assert_string_equal(xp_buf_str(&b), "0,");
	xp_buf_add(&b, "x\0y", 3);
	assert_int_equal(b.len, 5);
	char *s = xp_buf_steal(&b);
	assert_memory_equal(s, "0,x\0y", 5);
	assert_null(b.s);
	free(s);
	/* an impossible reservation sets the sticky error and keeps the content */
	xp_buf_adds(&b, "keep");
	assert_int_equal(xp_buf_reserve(&b, SIZE_MAX - 2), -ENOMEM);
	xp_buf_adds(&b, "more");
	assert_int_equal(xp_buf_error(&b), -ENOMEM);
	assert_string_equal(xp_buf_str(&b), "keep");
	assert_null(xp_buf_steal(&b));
	xp_buf_release(&b);
}

static void test_diags(void **state)
{
	(void)state;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_diags_add(&d, XP_SEV_WARNING, "b.cfg", 3, 1, "w", NULL, NULL, "w%d", 1),
			 0);
	assert_int_equal(xp_diags_add(&d, XP_SEV_ERROR, "a.cfg", 9, 2, "e", "txt", "hint", "e"), 0);
	assert_int_equal(xp_diags_add(&d, XP_SEV_ERROR, "b.cfg", 1, 5, "e", NULL, NULL, "first"),
			 0);
	xp_diags_sort(&d);
	assert_string_equal(d.v[0].file, "a.cfg");
	assert_string_equal(d.v[1].msg, "first");
	assert_string_equal(d.v[2].msg, "w1");
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 2);
	assert_string_equal(d.v[0].hint, "hint");
	xp_diags_release(&d);
	d.limit = 2;
	for (int i = 0; i < 5; i++)
		xp_diags_add(&d, XP_SEV_NOTE, NULL, 0, 0, NULL, NULL, NULL, "n");
	assert_int_equal(d.n, 2);
	assert_int_equal(d.dropped, 3);
	xp_diags_release(&d);
	assert_string_equal(xp_severity_name(XP_SEV_ERROR), "error");
}

/* Over the limit, errors take the place of warnings and notes, and the counts stay
 * true: a capped check must still say how many errors a file has. */
static void test_diags_limit_truthful(void **state)
{
	(void)state;
	struct xp_diags d;
	xp_diags_init(&d);
	d.limit = 3;
	static const struct {
		enum xp_severity sev;
		const char *msg;
	} in[] = {{XP_SEV_WARNING, "w1"}, {XP_SEV_NOTE, "n1"},  {XP_SEV_WARNING, "w2"},
		  {XP_SEV_ERROR, "e1"},	  {XP_SEV_ERROR, "e2"}, {XP_SEV_WARNING, "w3"},
		  {XP_SEV_ERROR, "e3"},	  {XP_SEV_ERROR, "e4"}, {XP_SEV_NOTE, "n2"}};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(xp_diags_add(&d, in[i].sev, "f", (unsigned)i + 1, 1, "c", NULL,
					      NULL, "%s", in[i].msg),
				 0);
	/* n1 gave way to e1, w2 to e2, w1 to e3; w3, e4 and n2 found no room */
	assert_int_equal(d.n, 3);
	assert_string_equal(d.v[0].msg, "e1");
	assert_string_equal(d.v[1].msg, "e2");
	assert_string_equal(d.v[2].msg, "e3");
	assert_int_equal(d.dropped, 6);
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 4);
	assert_int_equal(xp_diags_count(&d, XP_SEV_WARNING), 3);
	assert_int_equal(xp_diags_count(&d, XP_SEV_NOTE), 2);
	xp_diags_release(&d);
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 0);
}

/* The sort is stable and handles inputs far from sorted (the merge sort's runs). */
static void test_diags_sort_big(void **state)
{
	(void)state;
	struct xp_diags d;
	xp_diags_init(&d);
	enum { N = 5000 };
	uint32_t x = 12345;
	for (unsigned i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		unsigned line = (x >> 16) % 300;
		assert_int_equal(xp_diags_add(&d, XP_SEV_WARNING, (x >> 8) & 1 ? "b" : "a", line,
					      line % 3, NULL, NULL, NULL, "%u", i),
				 0);
	}
	xp_diags_sort(&d);
	for (size_t i = 1; i < N; i++) {
		const struct xp_diag *a = &d.v[i - 1], *b = &d.v[i];
		int c = strcmp(a->file, b->file);
		assert_true(c <= 0);
		if (c == 0) {
			assert_true(a->line <= b->line);
			/* equal places keep the order they came in */
			if (a->line == b->line && a->col == b->col)
				assert_true(atoi(a->msg) < atoi(b->msg));
		}
	}
	xp_diags_release(&d);
}

static void path(char *out, const char *name)
{
	snprintf(out, 4200, "%s/%s", tmpdir, name);
}

static int count_entries(void)
{
	DIR *d = opendir(tmpdir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(d);
	return n;
}

static void test_read_file(void **state)
{
	(void)state;
	char p[4200];
	path(p, "r.txt");
	FILE *f = fopen(p, "w");
	fputs("hello\n", f);
	fclose(f);
	char *data;
	size_t len;
	assert_int_equal(xp_read_file(p, 100, &data, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(data, "hello\n");
	free(data);
	assert_int_equal(xp_read_file(p, 3, &data, &len), -EFBIG);
	assert_int_equal(xp_read_file(tmpdir, 100, &data, &len), -EISDIR);
	path(p, "missing");
	assert_int_equal(xp_read_file(p, 100, &data, &len), -ENOENT);
}

static void test_atomic_write(void **state)
{
	(void)state;
	char p[4200];
	path(p, "a.cfg");
	int before = count_entries();
	assert_int_equal(xp_write_atomic(p, "one\n", 4, 0640), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	ino_t ino = st.st_ino;
	chmod(p, 0600);
	assert_int_equal(xp_write_atomic(p, "two\n", 4, 0644), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600); /* mode of the old file kept */
	assert_true(st.st_ino != ino);		    /* replaced by rename */
	char *data;
	size_t len;
	assert_int_equal(xp_read_file(p, 100, &data, &len), 0);
	assert_string_equal(data, "two\n");
	free(data);
	assert_int_equal(count_entries(), before + 1); /* no temporary file left */
	/* a directory in the way: error, nothing changes */
	char d[4200];
	path(d, "dir");
	mkdir(d, 0755);
	assert_int_equal(xp_write_atomic(d, "x", 1, 0644), -EINVAL);
	/* a missing directory */
	path(d, "nodir/x.cfg");
	assert_int_equal(xp_write_atomic(d, "x", 1, 0644), -ENOENT);
	assert_int_equal(count_entries(), before + 2);

	/* leftovers of a killed write are removed, and nothing else */
	char t1[4200], t2[4200], t3[4200];
	path(t1, ".a.cfg.Xy12Ab");
	path(t2, ".a.cfgx.1");
	path(t3, ".b.cfg.1");
	for (const char *q = t1; q; q = q == t1 ? t2 : q == t2 ? t3 : NULL)
		close(open(q, O_CREAT | O_WRONLY, 0600));
	xp_write_atomic_cleanup(p);
	assert_int_equal(access(t1, F_OK), -1);
	assert_int_equal(access(t2, F_OK), 0);
	assert_int_equal(access(t3, F_OK), 0);
	assert_int_equal(access(p, F_OK), 0);
}

static void test_lock(void **state)
{
	(void)state;
	char p[4200];
	path(p, "l.cfg");
	int fd = xp_lock_dir_of(p, true);
	assert_true(fd >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		int r = xp_lock_dir_of(p, false);
		_exit(r == -EWOULDBLOCK ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	xp_unlock(fd);
	fd = xp_lock_dir_of(p, false);
	assert_true(fd >= 0);
	xp_unlock(fd);
}

static void test_diff(void **state)
{
	(void)state;
	struct xp_buf b = XP_BUF_INIT;
	const char *a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
	const char *c = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11";
	assert_int_equal(xp_diff_unified(a, strlen(a), a, strlen(a), "a", "b", &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(xp_diff_unified(a, strlen(a), c, strlen(c), "a/x", "b/x", &b), 0);
	/* what diff -u prints for the same inputs */
	assert_string_equal(xp_buf_str(&b), "--- a/x\n+++ b/x\n"
					    "@@ -2,9 +2,10 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
					    " 9\n 10\n+11\n\\ No newline at end of file\n");
	xp_buf_truncate(&b, 0);
	const char *x = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n";
	const char *y =
	    "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\nx\n18\n19\n20\n";
	assert_int_equal(xp_diff_unified(x, strlen(x), y, strlen(y), "a", "b", &b), 0);
	assert_string_equal(xp_buf_str(&b),
			    "--- a\n+++ b\n"
			    "@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n"
			    "@@ -14,7 +14,7 @@\n 14\n 15\n 16\n-17\n+x\n 18\n 19\n 20\n");
	xp_buf_release(&b);
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(xp_edit_distance("memory", "memory", 2), 0);
	assert_int_equal(xp_edit_distance("memroy", "memory", 2), 2);
	assert_int_equal(xp_edit_distance("kernal", "kernel", 2), 1);
	assert_int_equal(xp_edit_distance("abc", "xyzxyz", 2), 3);
}

/* SHA-256: FIPS 180-4's examples through the portable code, and whole files (libcrypto)
 * against the portable code and sha256sum(1) at the lengths around the padding
 * boundaries. */
static void hex_of(const void *data, size_t len, char out[65])
{
	struct xp_sha256 c;
	unsigned char d[32];
	xp_sha256_init(&c);
	/* in uneven pieces, so that the buffering is exercised */
	const unsigned char *p = data;
	size_t step = 1;
	while (len) {
		size_t n = step < len ? step : len;
		xp_sha256_update(&c, p, n);
		p += n;
		len -= n;
		step = step * 3 + 1;
	}
	xp_sha256_final(&c, d);
	xp_sha256_hex(d, out);
}

static void test_sha256(void **state)
{
	(void)state;
	char h[65];
	hex_of("", 0, h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	hex_of(m448, strlen(m448), h);
	assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *million = malloc(1000000);
	assert_non_null(million);
	memset(million, 'a', 1000000);
	hex_of(million, 1000000, h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	static const size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 1000000, (1u << 20) + 13};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/sha-%zu", tmpdir, lens[i]);
		for (size_t k = 0; k < lens[i]; k++)
			million[k % 1000000] = (char)(k * 2654435761u >> 13);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		for (size_t k = 0; k < lens[i]; k++)
			fputc((int)(unsigned char)(k * 2654435761u >> 13), f);
		assert_int_equal(fclose(f), 0);
		unsigned char d[32];
		char file_hex[65], tool_hex[65] = "";
		assert_int_equal(xp_sha256_file(path, d), 0);
		xp_sha256_hex(d, file_hex);
		char cmd[4300];
		snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(tool_hex, sizeof(tool_hex), p));
		pclose(p);
		assert_string_equal(file_hex, tool_hex);
		if (lens[i] <= 1000000) {
			hex_of(million, lens[i], h);
			assert_string_equal(h, file_hex);
		}
	}
	free(million);
	unsigned char d[32];
	char missing[4200];
	snprintf(missing, sizeof(missing), "%s/no-such-file", tmpdir);
	assert_int_equal(xp_sha256_file(missing, d), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf),
	    cmocka_unit_test(test_diags),
	    cmocka_unit_test(test_diags_limit_truthful),
	    cmocka_unit_test(test_diags_sort_big),
	    cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atomic_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_edit_distance),
	    cmocka_unit_test_setup_teardown(test_sha256, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
