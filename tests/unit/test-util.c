/*
 * test-util.c - unit tests of src/lib/util: buffer, diagnostics, bounded reads,
 * atomic replacement (content, mode, no temp left, failure leaves the old file), locks,
 * unified diff and edit distance, sparse copies (holes kept, across filesystems).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "util/copy.h"
#include "xenprov/util.h"

XP_TEST_SCRATCH("util")


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

/* xp_diags_fail returns the caller's error, records it only where there is a
 * collection, and keeps a message longer than any fixed buffer whole. */
static void test_diags_fail(void **state)
{
	(void)state;
	assert_int_equal(xp_diags_fail(NULL, -EIO, "f", "c", NULL, "lost %d", 1), -EIO);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_diags_fail(&d, -ENOENT, "disk.img", "image", "try this",
				       "cannot open: %s", strerror(ENOENT)),
			 -ENOENT);
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(xp_diags_fail(&d, 0, NULL, NULL, NULL, "tool failed: %s", big), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].severity, XP_SEV_ERROR);
	assert_string_equal(d.v[0].file, "disk.img");
	assert_string_equal(d.v[0].code, "image");
	assert_null(d.v[0].text);
	assert_string_equal(d.v[0].hint, "try this");
	assert_string_equal(d.v[0].msg, "cannot open: No such file or directory");
	assert_null(d.v[1].file);
	assert_null(d.v[1].code);
	assert_null(d.v[1].hint);
	assert_int_equal(strlen(d.v[1].msg), strlen("tool failed: ") + sizeof(big) - 1);
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 2);
	xp_diags_release(&d);
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
	const char *p = tpath("r.txt");
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
	p = tpath("missing");
	assert_int_equal(xp_read_file(p, 100, &data, &len), -ENOENT);
}

static void test_atomic_write(void **state)
{
	(void)state;
	const char *p = tpath("a.cfg");
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
	/* without fsync: replaced all the same, mode kept, no temporary left */
	assert_int_equal(xp_write_atomic_flags(p, "three\n", 6, 0644, XP_WRITE_NOSYNC), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(xp_read_file(p, 100, &data, &len), 0);
	assert_string_equal(data, "three\n");
	free(data);
	assert_int_equal(count_entries(), before + 1);
	/* a directory in the way: error, nothing changes */
	const char *d = tpath("dir");
	mkdir(d, 0755);
	assert_int_equal(xp_write_atomic(d, "x", 1, 0644), -EINVAL);
	/* a missing directory */
	d = tpath("nodir/x.cfg");
	assert_int_equal(xp_write_atomic(d, "x", 1, 0644), -ENOENT);
	assert_int_equal(count_entries(), before + 2);
	/* xp_fsync_path: a file, a directory; a missing one is -ENOENT */
	assert_int_equal(xp_fsync_path(p), 0);
	assert_int_equal(xp_fsync_path(tpath("dir")), 0);
	assert_int_equal(xp_fsync_path(d), -ENOENT);

	/* leftovers of a killed write are removed, and nothing else */
	const char *t1 = tpath(".a.cfg.Xy12Ab");
	const char *t2 = tpath(".a.cfgx.1");
	const char *t3 = tpath(".b.cfg.1");
	for (const char *q = t1; q; q = q == t1 ? t2 : q == t2 ? t3 : NULL)
		close(open(q, O_CREAT | O_WRONLY, 0600));
	xp_write_atomic_cleanup(p);
	assert_int_equal(access(t1, F_OK), -1);
	assert_int_equal(access(t2, F_OK), 0);
	assert_int_equal(access(t3, F_OK), 0);
	assert_int_equal(access(p, F_OK), 0);

	/* XP_WRITE_NOREPLACE: made once, never replaced, no temporary left either way */
	const char *k = tpath("made.key");
	assert_int_equal(xp_write_atomic_flags(k, "first\n", 6, 0600, XP_WRITE_NOREPLACE), 0);
	assert_int_equal(stat(k, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	int made = count_entries();
	assert_int_equal(xp_write_atomic_flags(k, "second\n", 7, 0600, XP_WRITE_NOREPLACE),
			 -EEXIST);
	assert_int_equal(xp_read_file(k, 100, &data, &len), 0);
	assert_string_equal(data, "first\n");
	free(data);
	assert_int_equal(count_entries(), made);
}

static void test_lock(void **state)
{
	(void)state;
	const char *p = tpath("l.cfg");
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

/* The log escape: what a client sent comes out as printable ASCII on one line. */
#define S(x) x, sizeof(x) - 1
static void test_escape(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
	    {S("pxelinux.cfg/default"), "pxelinux.cfg/default"},
	    {S(""), ""},
	    {S("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07"},
	    {S("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d"},
	    {S("caf\xc3\xa9 \x7f\x80\xff"), "caf\\xc3\\xa9 \\x7f\\x80\\xff"},
	    {S("it's a \\path"), "it\\'s a \\\\path"},
	    {S("nul\0inside"), "nul\\x00inside"},
	    {S("~ !\"#$%&()*+,-./09:;<=>?@AZ[]^_`az{|}"), "~ !\"#$%&()*+,-./09:;<=>?@AZ[]^_`az{|}"},
	};
	char out[XP_ESCAPED_SIZE(64)];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ptr_equal(xp_escape(out, sizeof(out), cases[i].in, cases[i].len), out);
		assert_string_equal(out, cases[i].out);
	}
	/* every byte value: nothing below 0x20 or above 0x7e comes out */
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	char big[XP_ESCAPED_SIZE(256)];
	xp_escape(big, sizeof(big), all, sizeof(all));
	for (const unsigned char *q = (const unsigned char *)big; *q; q++)
		assert_true(*q >= 0x20 && *q <= 0x7e);
	assert_int_equal(strlen(big), 32 * 4 + 95 + 2 + 129 * 4); /* ' and \ take 2 */
	/* too long: cut at a whole escape, marked */
	xp_escape(out, 10, "abcdefghijkl", 12);
	assert_string_equal(out, "abcdef...");
	xp_escape(out, 10, "ab\x1b\x1b\x1b", 5);
	assert_string_equal(out, "ab\\x1b...");
	xp_escape(out, 10, "abcdefghi", 9); /* exactly fits */
	assert_string_equal(out, "abcdefghi");
	xp_escape(out, 3, "abcdef", 6); /* no room for the mark */
	assert_string_equal(out, "ab");
	out[0] = 'x';
	xp_escape(out, 0, "abc", 3); /* nothing written */
	assert_int_equal(out[0], 'x');
}

/* SHA-256: FIPS 180-4's examples, and whole files against buffers and sha256sum(1) at
 * the lengths around the padding boundaries. */
static void hex_of(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	assert_int_equal(xp_sha256(data, len, d), 0);
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
		char name[64];
		snprintf(name, sizeof(name), "sha-%zu", lens[i]);
		const char *path = tpath(name);
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
		char *tool = xp_test_out("sha256sum '%s'", path);
		snprintf(tool_hex, sizeof(tool_hex), "%s", tool);
		free(tool);
		assert_string_equal(file_hex, tool_hex);
		if (lens[i] <= 1000000) {
			hex_of(million, lens[i], h);
			assert_string_equal(h, file_hex);
		}
	}
	free(million);
	unsigned char d[32];
	assert_int_equal(xp_sha256_file(tpath("no-such-file"), d), -ENOENT);
}

/* The one check of a digest read back: 64 lowercase hex digits, no more, no fewer. */
static void test_sha256_hex_valid(void **state)
{
	(void)state;
	const char *ok = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	assert_true(xp_sha256_hex_valid(ok));
	assert_true(xp_sha256_hex_valid_n(ok, 64));
	/* a length-delimited field: the bytes after it do not count */
	char field[80];
	snprintf(field, sizeof(field), "%s extra", ok);
	assert_true(xp_sha256_hex_valid_n(field, 64));
	assert_false(xp_sha256_hex_valid_n(field, 65));
	assert_false(xp_sha256_hex_valid_n(ok, 63));
	assert_false(xp_sha256_hex_valid(NULL));
	assert_false(xp_sha256_hex_valid(""));
	assert_false(xp_sha256_hex_valid(field));
	char bad[65];
	for (const char *c = "AFg -\n"; *c; c++) {
		snprintf(bad, sizeof(bad), "%s", ok);
		bad[17] = *c;
		assert_false(xp_sha256_hex_valid(bad));
		assert_false(xp_sha256_hex_valid_n(bad, 64));
	}
}

/* ---- extended attributes (util/xattr.c) ------------------------------------------ */

static void test_xattrs_read(void **state)
{
	(void)state;
	const char *f = tpath("x");
	int fd = open(f, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
	struct xp_xattrs x;
	/* none */
	assert_int_equal(xp_xattrs_read(f, &x), 0);
	assert_int_equal(x.n, 0);
	xp_xattrs_release(&x);
	/* sorted by name whatever the order they were set in; values whole, "" included */
	assert_int_equal(setxattr(f, "user.zz", "last", 4, 0), 0);
	assert_int_equal(setxattr(f, "user.a", "", 0, 0), 0);
	static char big[3000]; /* ext4 keeps an inode's values in one block */
	memset(big, 'v', sizeof(big));
	assert_int_equal(setxattr(f, "user.m", big, sizeof(big), 0), 0);
	assert_int_equal(xp_xattrs_read(f, &x), 0);
	assert_int_equal(x.n, 3);
	assert_string_equal(x.v[0].name, "user.a");
	assert_int_equal(x.v[0].len, 0);
	assert_string_equal(x.v[1].name, "user.m");
	assert_int_equal(x.v[1].len, sizeof(big));
	assert_memory_equal(x.v[1].value, big, sizeof(big));
	assert_string_equal(x.v[2].name, "user.zz");
	assert_int_equal(x.v[2].len, 4);
	assert_memory_equal(x.v[2].value, "last", 4);
	xp_xattrs_release(&x);
	assert_null(x.v);
	/* many names: more than the 4096 a fixed array held, none left out (on tmpfs,
	 * which takes 5000 of them, where it has user xattrs; else as many as the
	 * filesystem takes) */
	char shm[] = "/dev/shm/xp-test-xattr-XXXXXX";
	const char *g = shm;
	fd = mkstemp(shm);
	if (fd >= 0 && fsetxattr(fd, "user.probe", "", 0, 0) < 0) {
		close(fd);
		unlink(shm);
		fd = -1;
	}
	if (fd >= 0) {
		assert_int_equal(fremovexattr(fd, "user.probe"), 0);
	} else {
		g = tpath("many");
		fd = open(g, O_WRONLY | O_CREAT | O_EXCL, 0644);
	}
	assert_true(fd >= 0);
	close(fd);
	size_t set = 0;
	for (unsigned i = 0; i < 5000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "user.%05u", i);
		if (setxattr(g, name, "", 0, 0) < 0) {
			assert_int_equal(errno, ENOSPC); /* the filesystem's room for them */
			break;
		}
		set++;
	}
	assert_int_equal(xp_xattrs_read(g, &x), 0);
	assert_int_equal(x.n, set);
	for (size_t i = 1; i < x.n; i++)
		assert_true(strcmp(x.v[i - 1].name, x.v[i].name) < 0);
	xp_xattrs_release(&x);
	if (g == shm) {
		assert_int_equal(set, 5000);
		unlink(shm);
	}
	/* a symlink is not followed */
	assert_int_equal(symlink("x", tpath("link")), 0);
	assert_int_equal(xp_xattrs_read(tpath("link"), &x), 0);
	assert_int_equal(x.n, 0);
	xp_xattrs_release(&x);
	assert_int_equal(xp_xattrs_read(tpath("no-such-file"), &x), -ENOENT);
	assert_null(x.v);
}

/* Piece by piece (a download hashed as it comes, resumed after a prefix on disk): the
 * same digest as at once, whatever the cuts; restart forgets what was added. */
static void test_sha256_pieces(void **state)
{
	(void)state;
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	size_t len = strlen(m448);
	char want[65], got[65];
	hex_of(m448, len, want);
	unsigned char d[32];
	for (size_t cut = 0; cut <= len; cut += 7) {
		struct xp_sha256 *h;
		assert_int_equal(xp_sha256_new(&h), 0);
		assert_int_equal(xp_sha256_add(h, "junk", 4), 0);
		assert_int_equal(xp_sha256_restart(h), 0);
		/* the prefix from a file (read from its position), the rest from memory */
		const char *path = tpath("sha-prefix");
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(m448, 1, cut, f), cut);
		assert_int_equal(fclose(f), 0);
		int fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(xp_sha256_add_fd(h, fd), 0);
		close(fd);
		assert_int_equal(xp_sha256_add(h, m448 + cut, len - cut), 0);
		assert_int_equal(xp_sha256_final(h, d), 0);
		xp_sha256_free(h);
		xp_sha256_hex(d, got);
		assert_string_equal(got, want);
	}
	xp_sha256_free(NULL);
}

/* HMAC-SHA256: RFC 4231's test cases 1 and 2 */
static void test_hmac_sha256(void **state)
{
	(void)state;
	unsigned char key1[20], d[32];
	char hex[65];
	memset(key1, 0x0b, sizeof(key1));
	assert_int_equal(xp_hmac_sha256(key1, sizeof(key1), "Hi There", 8, d), 0);
	xp_sha256_hex(d, hex);
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	const char *data = "what do ya want for nothing?";
	assert_int_equal(xp_hmac_sha256("Jefe", 4, data, strlen(data), d), 0);
	xp_sha256_hex(d, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* ---- sparse copy (util/copy.c) ------------------------------------------------------ */

#define KIB 1024
#define MIB (1024 * 1024)

/* A sparse file of 8 MiB: data at [0, 4K), [1M, 1M + 12K), [5M + 4K, 5M + 8K) and the
 * last 4 KiB; holes elsewhere. Each data byte depends on its offset. */
static const off_t src_data[][2] = {{0, 4 * KIB},
				    {MIB, MIB + 12 * KIB},
				    {5 * MIB + 4 * KIB, 5 * MIB + 8 * KIB},
				    {8 * MIB - 4 * KIB, 8 * MIB}};

static unsigned char byte_at(off_t off)
{
	return (unsigned char)(1 + (off * 2654435761u >> 11) % 255); /* never 0 */
}

static void fill_src(int fd)
{
	assert_int_equal(ftruncate(fd, 8 * MIB), 0);
	for (size_t i = 0; i < sizeof(src_data) / sizeof(*src_data); i++) {
		for (off_t o = src_data[i][0]; o < src_data[i][1]; o += 4 * KIB) {
			unsigned char b[4 * KIB];
			for (int k = 0; k < 4 * KIB; k++)
				b[k] = byte_at(o + k);
			assert_int_equal(pwrite(fd, b, sizeof(b), o), (ssize_t)sizeof(b));
		}
	}
}

/* The data ranges of fd as SEEK_DATA/SEEK_HOLE see them, "start-end," each. */
static void data_map(int fd, char *out, size_t len)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	out[0] = 0;
	off_t pos = 0;
	while (pos < st.st_size) {
		off_t d = lseek(fd, pos, SEEK_DATA);
		if (d < 0) {
			assert_int_equal(errno, ENXIO);
			break;
		}
		off_t h = lseek(fd, d, SEEK_HOLE);
		assert_true(h > d);
		size_t n = strlen(out);
		snprintf(out + n, len - n, "%lld-%lld,", (long long)d, (long long)h);
		pos = h;
	}
}

/* dst reads as the source file: data where it has data, zeros in its holes */
static void assert_same_content(int dst, off_t dst_off)
{
	unsigned char *b = malloc(8 * MIB);
	assert_non_null(b);
	assert_int_equal(pread(dst, b, 8 * MIB, dst_off), 8 * MIB);
	size_t r = 0;
	for (off_t o = 0; o < 8 * MIB; o++) {
		bool data = r < sizeof(src_data) / sizeof(*src_data) && o >= src_data[r][0];
		if (data && o + 1 == src_data[r][1])
			r++;
		if (b[o] != (data ? byte_at(o) : 0))
			fail_msg("byte %lld is %u, want %u", (long long)o, b[o],
				 data ? byte_at(o) : 0);
	}
	free(b);
}

static int open_in_tmp(const char *name)
{
	int fd = open(tpath(name), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	return fd;
}

static void test_copy_holes(void **state)
{
	(void)state;
	int src = open_in_tmp("src"), dst = open_in_tmp("dst");
	fill_src(src);
	char want[512], got[512];
	data_map(src, want, sizeof(want));
	/* the filesystem keeps the holes (else this test shows nothing) */
	assert_string_not_equal(want, "0-8388608,");

	assert_int_equal(xp_copy_file(src, dst, 0), 0);
	struct stat st;
	assert_int_equal(fstat(dst, &st), 0);
	assert_int_equal(st.st_size, 8 * MIB);
	assert_same_content(dst, 0);
	data_map(dst, got, sizeof(got));
	assert_string_equal(got, want);

	/* a range, at another offset: dst must be long enough already */
	int part = open_in_tmp("part");
	assert_int_equal(ftruncate(part, 9 * MIB), 0);
	assert_int_equal(xp_copy_range(src, 0, part, MIB, 8 * MIB, 0), 0);
	assert_same_content(part, MIB);
	assert_int_equal(lseek(part, 0, SEEK_DATA), 2 * MIB - MIB); /* [0,1M) stays a hole */

	/* XP_COPY_ZERO_HOLES: old bytes where src has holes are cleared */
	int old = open_in_tmp("old");
	unsigned char *junk = malloc(8 * MIB);
	assert_non_null(junk);
	memset(junk, 0xaa, 8 * MIB);
	assert_int_equal(pwrite(old, junk, 8 * MIB, 0), 8 * MIB);
	free(junk);
	assert_int_equal(xp_copy_range(src, 0, old, 0, 8 * MIB, XP_COPY_ZERO_HOLES), 0);
	assert_same_content(old, 0);

	assert_int_equal(xp_copy_range(src, 0, dst, 0, -1, 0), -EINVAL);
	close(old);
	close(part);
	close(src);
	close(dst);
}

/* xp_copy_reserve: the range allocated (or at least the length made), zeros, ready
 * for xp_copy_range; a longer file is not cut; bad ranges and a pipe are errors. */
static void test_copy_reserve(void **state)
{
	(void)state;
	int src = open_in_tmp("rsrc"), dst = open_in_tmp("rdst");
	fill_src(src);
	assert_int_equal(xp_copy_reserve(dst, 0, 8 * MIB), 0);
	struct stat st;
	assert_int_equal(fstat(dst, &st), 0);
	assert_int_equal(st.st_size, 8 * MIB);
	unsigned char *b = malloc(8 * MIB);
	assert_non_null(b);
	assert_int_equal(pread(dst, b, 8 * MIB, 0), 8 * MIB);
	for (size_t i = 0; i < 8 * MIB; i++)
		if (b[i])
			fail_msg("byte %zu of a reserved range is %u", i, b[i]);
	free(b);
	assert_int_equal(xp_copy_range(src, 0, dst, 0, 8 * MIB, 0), 0);
	assert_same_content(dst, 0);

	/* a range inside a longer file leaves its length; one past the end extends it */
	assert_int_equal(xp_copy_reserve(dst, MIB, MIB), 0);
	assert_int_equal(fstat(dst, &st), 0);
	assert_int_equal(st.st_size, 8 * MIB);
	assert_same_content(dst, 0);
	assert_int_equal(xp_copy_reserve(dst, 8 * MIB, 4096), 0);
	assert_int_equal(fstat(dst, &st), 0);
	assert_int_equal(st.st_size, 8 * MIB + 4096);
	assert_int_equal(xp_copy_reserve(dst, 0, 0), 0);

	assert_int_equal(xp_copy_reserve(dst, -1, 10), -EINVAL);
	assert_int_equal(xp_copy_reserve(dst, 0, -10), -EINVAL);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(xp_copy_reserve(p[1], 0, 4096), -ESPIPE);
	close(p[0]);
	close(p[1]);
	close(src);
	close(dst);
}

/* A memfd lives on the kernel's internal tmpfs, another filesystem than the test
 * directory: copy_file_range(2) refuses with EXDEV, and the copy must still be made
 * (by sendfile(2), in the kernel), holes kept, both ways. */
static void test_copy_cross_fs(void **state)
{
	(void)state;
	int file = open_in_tmp("file");
	fill_src(file);
	int mem = memfd_create("xp-copy", MFD_CLOEXEC);
	assert_true(mem >= 0);
	assert_int_equal(ftruncate(mem, 4096), 0);
	loff_t in = 0, out = 0;
	errno = 0;
	ssize_t n = copy_file_range(file, &in, mem, &out, 4096, 0);
	if (n >= 0) {
		/* Linux 5.3 to 5.18 copied across filesystems itself: no fallback to test */
		close(mem);
		close(file);
		skip();
	}
	assert_int_equal(errno, EXDEV);

	char want[512], got[512];
	data_map(file, want, sizeof(want));
	assert_int_equal(xp_copy_file(file, mem, XP_COPY_CLONE), 0);
	assert_same_content(mem, 0);
	data_map(mem, got, sizeof(got));
	assert_string_equal(got, want);

	/* and back, from the memfd into a new file */
	int back = open_in_tmp("back");
	assert_int_equal(xp_copy_file(mem, back, 0), 0);
	assert_same_content(back, 0);
	data_map(back, got, sizeof(got));
	assert_string_equal(got, want);
	close(back);
	close(mem);
	close(file);
}

/* Running programs: the exit status, a signal, output captured and trimmed or left
 * alone, the environment given, a program that is not there, the PATH search. */
/* Everything of a pipe read to its end, into a heap string. */
static char *read_all(int fd)
{
	struct xp_buf b = XP_BUF_INIT;
	char buf[4096];
	ssize_t n;
	while ((n = xp_read_some(fd, buf, sizeof(buf))) > 0)
		xp_buf_add(&b, buf, (size_t)n);
	close(fd);
	return xp_buf_steal(&b);
}

/* Whether process group pgid is gone, within 10 s: its killed orphans stay zombies
 * (members still) until init reaps them. */
static bool group_gone(pid_t pgid)
{
	for (int i = 0; i < 1000; i++) {
		if (kill(-pgid, 0) < 0 && errno == ESRCH)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* A producer on pipes (xp_spawn_piped): its output and error apart, its exit status;
 * waiting while its output is drained (more than a pipe holds); stopping it and its
 * whole group (children included), by SIGTERM, or by SIGKILL after the grace when it
 * ignores SIGTERM; and the signals we ignore are its defaults again. */
static void test_spawn_piped(void **state)
{
	(void)state;
	pid_t pid;
	int out, err;
	char *two[] = {"sh", "-c", "echo to-out; echo to-err >&2; read x; exit 3", NULL};
	assert_int_equal(xp_spawn_piped(two, NULL, &pid, &out, &err), 0);
	char *o = read_all(out), *e = read_all(err);
	assert_string_equal(o, "to-out\n");
	assert_string_equal(e, "to-err\n");
	free(o);
	free(e);
	assert_int_equal(xp_spawn_reap(pid), 3);
	/* in a process group of its own */
	char *group[] = {"sh", "-c", "[ $(ps -o pgid= $$) = $$ ]", NULL};
	assert_int_equal(xp_spawn_piped(group, NULL, &pid, &out, &err), 0);
	close(out);
	close(err);
	assert_int_equal(xp_spawn_reap(pid), 0);

	/* 1 MB out, more than a pipe holds: it ends only while drained */
	char *big[] = {"sh", "-c", "head -c 1000000 /dev/zero; exit 5", NULL};
	assert_int_equal(xp_spawn_piped(big, NULL, &pid, &out, &err), 0);
	int status = -1;
	assert_int_equal(xp_spawn_wait_draining(pid, -1, 1, &status), 0); /* blocked */
	assert_int_equal(xp_spawn_wait_draining(pid, out, 30, &status), 1);
	assert_int_equal(status, 5);
	close(out);
	close(err);

	/* stopped with its children: SIGTERM reaches the whole group, even while it is
	 * blocked writing, and nothing of the group is left */
	char *kids[] = {"sh", "-c", "sleep 100 & sleep 100 & head -c 1000000 /dev/zero; wait", NULL};
	signal(SIGPIPE, SIG_IGN); /* ours ignored: its default again in the program */
	assert_int_equal(xp_spawn_piped(kids, NULL, &pid, &out, &err), 0);
	usleep(200 * 1000);
	assert_int_equal(xp_spawn_stop(pid, out, 30), XP_SPAWN_SIGNALED + SIGTERM);
	assert_true(group_gone(pid));
	close(out);
	close(err);
	signal(SIGPIPE, SIG_DFL);

	/* one that ignores SIGTERM (and its child too: ignored signals are inherited) is
	 * killed when the grace is over */
	char *stubborn[] = {"sh", "-c", "trap '' TERM; sleep 100", NULL};
	assert_int_equal(xp_spawn_piped(stubborn, NULL, &pid, &out, &err), 0);
	usleep(200 * 1000);
	assert_int_equal(xp_spawn_stop(pid, -1, 1), XP_SPAWN_SIGNALED + SIGKILL);
	assert_true(group_gone(pid));
	close(out);
	close(err);

	char *none[] = {"xenprov-no-such-program", NULL};
	assert_int_equal(xp_spawn_piped(none, NULL, &pid, &out, &err), -ENOENT);
	assert_int_equal(pid, -1);
	assert_int_equal(out, -1);
}

static void test_spawn(void **state)
{
	(void)state;
	char *env[] = {"XP_SPAWN_TEST=hello", "PATH=/usr/bin:/bin", NULL};
	const struct {
		char *sh, *script;
		char **env;
		int rc;
		const char *out; /* NULL: not captured */
	} runs[] = {
	    {"sh", "echo to-out; echo to-err >&2; exit 0", NULL, 0, "to-out\nto-err"},
	    /* standard input is /dev/null */
	    {"/bin/sh", "read x; echo \"[$x]\"; exit 3", NULL, 3, "[]"},
	    {"sh", "kill -TERM $$", NULL, XP_SPAWN_SIGNALED + 15, NULL},
	    {"sh", "printf %s \"$XP_SPAWN_TEST\"", env, 0, "hello"},
	};
	struct xp_buf out = XP_BUF_INIT;
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char *argv[] = {runs[i].sh, "-c", runs[i].script, NULL};
		assert_int_equal(xp_spawn_wait(argv, runs[i].env, runs[i].out ? &out : NULL),
				 runs[i].rc);
		if (runs[i].out)
			assert_string_equal(xp_buf_str(&out), runs[i].out);
		xp_buf_release(&out);
	}
	/* 8 KiB are kept of a long output, and the program is not blocked by the rest */
	char *big[] = {"sh", "-c", "yes | head -c 100000", NULL};
	assert_int_equal(xp_spawn_wait(big, NULL, &out), 0);
	assert_true(out.len >= 8190 && out.len < 8192 + 1024); /* less the trailing newline */
	xp_buf_release(&out);
	char *none[] = {"xenprov-no-such-program", NULL};
	assert_int_equal(xp_spawn_wait(none, NULL, &out), -ENOENT);
	char *path;
	assert_int_equal(xp_program_path("sh", &path), 0);
	assert_true(path[0] == '/' && access(path, X_OK) == 0);
	free(path);
	assert_int_equal(xp_program_path("xenprov-no-such-program", &path), -ENOENT);
	assert_null(path);
	/* root's tools are found even when PATH lacks the sbin directories */
	char *saved = strdup(getenv("PATH"));
	setenv("PATH", "/usr/bin:/bin", 1);
	if (access("/usr/sbin/mkfs.ext4", X_OK) == 0 || access("/sbin/mkfs.ext4", X_OK) == 0) {
		assert_int_equal(xp_program_path("mkfs.ext4", &path), 0);
		free(path);
	}
	setenv("PATH", saved, 1);
	free(saved);
}

/* Sizes: what operators write, exactly; everything strtod would also take, refused. */
static void test_parse_size(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int r;
		uint64_t bytes;
	} cases[] = {
	    {"4096", 0, 4096},
	    {"0", 0, 0},
	    {"512B", 0, 512},
	    {"4k", 0, 4096},
	    {"4K", 0, 4096},
	    {"4KiB", 0, 4096},
	    {"4kb", 0, 4096},
	    {"512M", 0, 512ull << 20},
	    {"1.5G", 0, 3ull << 29},
	    {"1.5GiB", 0, 3ull << 29},
	    {"0.1K", 0, 102}, /* 102.4, rounded down */
	    {"2T", 0, 2ull << 40},
	    {"8388607T", 0, 8388607ull << 40},
	    {"0.000001T", 0, 1099511}, /* 1099511.6 */
	    {"0.000000000000001T", 0, 0}, /* 0.0011 bytes */
	    {"9223372036854775807", 0, INT64_MAX},
	    {"9223372036854775808", -ERANGE, 0},
	    {"8388608T", -ERANGE, 0},
	    {"99999999999999999999", -ERANGE, 0},
	    {"0x10", -EINVAL, 0},
	    {"1e3", -EINVAL, 0},
	    {"1E3", -EINVAL, 0},
	    {"inf", -EINVAL, 0},
	    {"nan", -EINVAL, 0},
	    {" 4G", -EINVAL, 0},
	    {"+4G", -EINVAL, 0},
	    {"-4G", -EINVAL, 0},
	    {"4G ", -EINVAL, 0},
	    {"4 G", -EINVAL, 0},
	    {"1.5", -EINVAL, 0}, /* a fraction of a byte */
	    {"1.", -EINVAL, 0},
	    {".5G", -EINVAL, 0},
	    {"4GB B", -EINVAL, 0},
	    {"4Gi", -EINVAL, 0},
	    {"4iB", -EINVAL, 0},
	    {"4P", -EINVAL, 0},
	    {"", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got = 12345;
		int r = xp_parse_size(cases[i].in, &got);
		if (r != cases[i].r || (r == 0 && got != cases[i].bytes))
			fail_msg("'%s': %d %llu, want %d %llu", cases[i].in, r, (unsigned long long)got,
				 cases[i].r, (unsigned long long)cases[i].bytes);
	}
	assert_int_equal(xp_parse_size(NULL, &(uint64_t){0}), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf),
	    cmocka_unit_test(test_diags),
	    cmocka_unit_test(test_diags_fail),
	    cmocka_unit_test(test_diags_limit_truthful),
	    cmocka_unit_test(test_diags_sort_big),
	    xp_test_in_scratch(test_read_file),
	    xp_test_in_scratch(test_atomic_write),
	    xp_test_in_scratch(test_lock),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_edit_distance),
	    cmocka_unit_test(test_escape),
	    xp_test_in_scratch(test_sha256),
	    cmocka_unit_test(test_sha256_hex_valid),
	    xp_test_in_scratch(test_xattrs_read),
	    xp_test_in_scratch(test_sha256_pieces),
	    cmocka_unit_test(test_hmac_sha256),
	    xp_test_in_scratch(test_copy_holes),
	    xp_test_in_scratch(test_copy_reserve),
	    xp_test_in_scratch(test_copy_cross_fs),
	    cmocka_unit_test(test_spawn),
	    cmocka_unit_test(test_spawn_piped),
	    cmocka_unit_test(test_parse_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
