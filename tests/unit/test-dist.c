/*
 * test-dist.c - the text behind images of distributions (image/dist-text.c,
 * image/dist-manifest.c) and what xp_dist_resolve makes of it: accepted distributions
 * and package names, package sets sorted and deduplicated, mirror URIs, the host's
 * Debian mirror in apt sources of both styles (comments, options, deb-src, security,
 * other distributions, Enabled: no, apt's file order and name rule), the Release Date
 * of InRelease and Release texts (time zones, dash-escaping, every refusal), the
 * identity text that keys the cache, and the manifest: its estimate equals
 * xp_fs_estimate's of a tar of the same tree made by GNU tar, and every malformed
 * record is refused. xp_dist_resolve runs against a file: mirror (apt-helper), so no
 * network is needed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "testlib.h"

#include "image/dist-text.h"
#include "xenprov/image.h"

XP_TEST_SCRATCH("dist")

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_suites(void **state)
{
	(void)state;
	assert_string_equal(xp_dist_suite("debian:bookworm"), "bookworm");
	assert_string_equal(xp_dist_suite("debian:trixie"), "trixie");
	const char *bad[] = {"debian:sid", "bookworm", "debian:", "Debian:bookworm",
			     "debian:bookworm ", "ubuntu:noble", ""};
	for (size_t i = 0; i < N(bad); i++)
		assert_null(xp_dist_suite(bad[i]));
	assert_null(xp_dist_suite(NULL));
	assert_true(xp_dist_valid("debian:trixie"));
	assert_false(xp_dist_valid("debian:buster"));
}

static void test_package_names(void **state)
{
	(void)state;
	const char *good[] = {"openssh-server", "linux-image-amd64", "libstdc++6", "g++",
			      "0ad", "python3.11", "xz"};
	for (size_t i = 0; i < N(good); i++)
		assert_true(xp_dist_pkg_valid(good[i], strlen(good[i])));
	const char *bad[] = {"a", "", "Foo", "-x", ".x", "+x", "a b", "a,b", "a_b", "ssh:amd64",
			     "a=1.0", "a/bookworm", "caf\xc3\xa9"};
	for (size_t i = 0; i < N(bad); i++)
		assert_false(xp_dist_pkg_valid(bad[i], strlen(bad[i])));
	char lng[XP_DIST_PKG_MAX + 2];
	memset(lng, 'a', sizeof(lng));
	assert_true(xp_dist_pkg_valid(lng, XP_DIST_PKG_MAX));
	assert_false(xp_dist_pkg_valid(lng, XP_DIST_PKG_MAX + 1));
}

static void test_package_sets(void **state)
{
	(void)state;
	char **v = NULL;
	size_t n = 0;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_dist_pkgs_add("udev,ifupdown,udev", "include", &v, &n, &d), 0);
	assert_int_equal(xp_dist_pkgs_add("openssh-server,ifupdown", "install", &v, &n, &d), 0);
	assert_int_equal(n, 5);
	xp_dist_pkgs_sort(v, &n);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "ifupdown");
	assert_string_equal(v[1], "openssh-server");
	assert_string_equal(v[2], "udev");
	assert_int_equal(d.n, 0);

	/* each refusal names the setting and the item */
	static const struct {
		const char *list, *msg;
	} bad[] = {
	    {"", "include: an empty package name in ''"},
	    {"a1,", "include: an empty package name in 'a1,'"},
	    {",a1", "include: an empty package name in ',a1'"},
	    {"a1,,b1", "include: an empty package name in 'a1,,b1'"},
	    {"a1,Bad", "include: 'Bad' is not a package name"},
	    {"a1, b1", "include: ' b1' is not a package name"},
	};
	for (size_t i = 0; i < N(bad); i++) {
		xp_diags_release(&d);
		xp_diags_init(&d);
		assert_int_equal(xp_dist_pkgs_add(bad[i].list, "include", &v, &n, &d), -EINVAL);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].msg, bad[i].msg);
		assert_string_equal(d.v[0].code, "include");
	}
	xp_dist_pkgs_free(v, n);
	xp_diags_release(&d);
}

static void test_mirror_norm(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} good[] = {
	    {"http://deb.debian.org/debian", "http://deb.debian.org/debian"},
	    {"http://deb.debian.org/debian//", "http://deb.debian.org/debian"},
	    {"https://mirror.example/debian/", "https://mirror.example/debian"},
	    {"file:/srv/mirror", "file:/srv/mirror"},
	    {"http://proxy:3142/deb.debian.org/debian", "http://proxy:3142/deb.debian.org/debian"},
	};
	for (size_t i = 0; i < N(good); i++) {
		char *o;
		assert_int_equal(xp_dist_mirror_norm(good[i].in, &o), 0);
		assert_string_equal(o, good[i].out);
		free(o);
	}
	const char *bad[] = {"ftp://x/debian", "deb.debian.org/debian", "http://", "http:///",
			     "http://a b/debian", "http://a/\tdebian", "mirror+file:/etc/x", "",
			     "cdrom:[Debian]/", "http://x/\x7f"};
	for (size_t i = 0; i < N(bad); i++) {
		char *o = (char *)1;
		assert_int_equal(xp_dist_mirror_norm(bad[i], &o), -EINVAL);
		assert_null(o);
	}
	char lng[XP_DIST_URI_MAX + 8];
	memset(lng, 'a', sizeof(lng));
	memcpy(lng, "http://", 7);
	lng[XP_DIST_URI_MAX + 1] = 0;
	char *o;
	assert_int_equal(xp_dist_mirror_norm(lng, &o), -EINVAL);
}

/* One sources text and the mirror expected from it (NULL: none), or an error. */
struct sources_case {
	bool deb822;
	const char *text, *mirror;
	int r;
};

static const struct sources_case sources_cases[] = {
    /* the one-line style */
    {false, "deb http://deb.debian.org/debian bookworm main\n", "http://deb.debian.org/debian", 0},
    {false, "# deb http://old/debian bookworm main\n\n  deb   http://m/debian/  trixie  main  \n",
     "http://m/debian", 0},
    {false, "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://m/debian bookworm main",
     "http://m/debian", 0},
    {false, "deb [ trusted=yes ] file:/srv/mirror sid main # comment\n", "file:/srv/mirror", 0},
    {false, "deb-src http://src/debian bookworm main\ndeb http://bin/debian bookworm main\n",
     "http://bin/debian", 0},
    {false, "deb http://security.debian.org/debian-security bookworm-security main\n"
	    "deb http://m/debian bookworm-updates main\n",
     "http://m/debian", 0},
    {false, "deb http://deb.debian.org/debian-security/ bookworm main\n", NULL, 0},
    {false, "deb http://archive.ubuntu.com/ubuntu noble main\n", NULL, 0},
    {false, "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n", NULL, 0},
    {false, "deb mirror+file:/etc/apt/mirrors.txt bookworm main\n", NULL, 0},
    {false, "deb http://m/debian stable-backports main\n", "http://m/debian", 0},
    {false, "deb http://m/debian bookworm-proposed-updates main\r\n", "http://m/debian", 0},
    {false, "deb http://m/debian bookwormish main\n", NULL, 0},
    {false, "", NULL, 0},
    {false, "deb http://m/debian\n", NULL, -EBADMSG},
    {false, "deb [arch=amd64 http://m/debian bookworm main\n", NULL, -EBADMSG},
    /* deb822 */
    {true,
     "Types: deb\n"
     "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
     "URIs: http://deb.debian.org/debian\n"
     "Suites: bookworm bookworm-updates\n"
     "Components: main\n"
     "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
     "\n"
     "Types: deb\n"
     "URIs: http://deb.debian.org/debian-security\n"
     "Suites: bookworm-security\n"
     "Components: main\n",
     "http://deb.debian.org/debian", 0},
    {true,
     "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\n"
     "Types: deb-src deb\nURIs: http://a/debian\n  http://b/debian\nSuites: trixie\n",
     "http://a/debian", 0},
    {true,
     "Types: deb\nEnabled: no\nURIs: http://off/debian\nSuites: bookworm\n\n\n"
     "types: deb\nuris: http://on/debian\nsuites: sid\n",
     "http://on/debian", 0},
    {true, "Types: deb\nURIs:\n http://cont/debian\nSuites:\n bookworm\n", "http://cont/debian", 0},
    {true, "Types: deb-src\nURIs: http://src/debian\nSuites: bookworm\n", NULL, 0},
    {true, "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n", NULL, 0},
    {true, "# only a comment\n\n", NULL, 0},
    {true, "Types: deb\nURIs: http://m/debian\n", NULL, -EBADMSG},
    {true, "Types: deb\nSuites: bookworm\n", NULL, -EBADMSG},
};

static void test_sources(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(sources_cases); i++) {
		const struct sources_case *c = &sources_cases[i];
		size_t len = strlen(c->text);
		char *uri = (char *)1;
		int r = xp_apt_sources_mirror(c->text, len, c->deb822, &uri);
		if (r != c->r || (c->mirror ? !uri || strcmp(uri, c->mirror) : uri != NULL)) {
			fprintf(stderr, "case %zu: got %d '%s'\n", i, r, uri ? uri : "(none)");
			fail();
		}
		free(uri);
	}
	/* a NUL byte is no text */
	const char nul[] = "deb http://m/de\0bian bookworm main\n";
	char *uri;
	assert_int_equal(xp_apt_sources_mirror(nul, sizeof(nul) - 1, false, &uri), -EBADMSG);
	assert_null(uri);
}

static void test_mirror_find(void **state)
{
	(void)state;
	struct xp_diags d;
	xp_diags_init(&d);
	char *uri = (char *)1;
	/* nothing there at all */
	assert_int_equal(xp_apt_mirror_find(tpath("none"), &uri, &d), 0);
	assert_null(uri);
	assert_int_equal(d.n, 0);

	const char *dir = tpath("sources.list.d");
	assert_int_equal(mkdir(dir, 0755), 0);
	/* apt's order: by name; files it ignores are ignored; a broken file is skipped */
	xp_test_write(tpath("sources.list.d/10-ubuntu.list"), "deb http://u/ubuntu noble main\n");
	xp_test_write(tpath("sources.list.d/20-broken.sources"), "Types: deb\nURIs: http://x/debian\n");
	xp_test_write(tpath("sources.list.d/30-debian.sources"),
		   "Types: deb\nURIs: http://second/debian\nSuites: trixie\n");
	xp_test_write(tpath("sources.list.d/25-first.list"), "deb http://first/debian bookworm main\n");
	xp_test_write(tpath("sources.list.d/05-off.list.disabled"),
		   "deb http://disabled/debian bookworm main\n");
	xp_test_write(tpath("sources.list.d/04 space.list"), "deb http://space/debian bookworm main\n");
	assert_int_equal(xp_apt_mirror_find(tmpdir, &uri, &d), 0);
	assert_string_equal(uri, "http://first/debian");
	free(uri);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	xp_test_assert_contains(d.v[0].file, "20-broken.sources");

	/* sources.list comes first */
	xp_test_write(tpath("sources.list"), "deb http://main/debian/ bookworm main\n");
	assert_int_equal(xp_apt_mirror_find(tmpdir, &uri, NULL), 0);
	assert_string_equal(uri, "http://main/debian");
	free(uri);
	xp_diags_release(&d);
}

/* A clearsigned InRelease of `body` (the signature's bytes do not matter here). */
static char *clearsigned(const char *body)
{
	char *s;
	assert_true(asprintf(&s,
			     "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n%s"
			     "-----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCAAdFiEE\n=abcd\n"
			     "-----END PGP SIGNATURE-----\n",
			     body) > 0);
	return s;
}

static const char RELEASE[] =
    "Origin: Debian\nLabel: Debian\nSuite: oldstable\nVersion: 12.15\nCodename: bookworm\n"
    "Date: Sat, 11 Jul 2026 10:16:37 UTC\nAcquire-By-Hash: yes\n"
    "Architectures: all amd64\nMD5Sum:\n 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 "
    "contrib/Contents-all\n d0a0325a97c42fd5f66a8c3e29bcea64    98581 contrib/Contents-all.gz\n";

static void test_release_date(void **state)
{
	(void)state;
	char iso[21];
	struct xp_diags d;
	xp_diags_init(&d);
	char *s = clearsigned(RELEASE);
	assert_int_equal(xp_release_date(s, strlen(s), "bookworm", "R", iso, &d), 0);
	assert_string_equal(iso, "2026-07-11T10:16:37Z");
	/* Suite: matches too */
	assert_int_equal(xp_release_date(s, strlen(s), "oldstable", "R", iso, &d), 0);
	free(s);
	/* a plain Release file, CR LF lines, leading blank lines */
	assert_int_equal(xp_release_date(RELEASE, strlen(RELEASE), "bookworm", "R", iso, &d), 0);
	const char crlf[] = "\r\n\r\nCodename: trixie\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n";
	assert_int_equal(xp_release_date(crlf, strlen(crlf), "trixie", "R", iso, &d), 0);
	assert_string_equal(iso, "2024-01-01T00:00:00Z");
	/* dash-escaped lines (RFC 4880 7.1) and fields after the paragraph are ignored */
	s = clearsigned("- Codename: trixie\nDate: Tue, 2 Jan 2024 03:04:05 +0000\n\n"
			"Date: not looked at\n");
	assert_int_equal(xp_release_date(s, strlen(s), "trixie", "R", iso, &d), 0);
	assert_string_equal(iso, "2024-01-02T03:04:05Z");
	free(s);
	assert_int_equal(d.n, 0);

	/* zones: to UTC, across a day, a month's and a year's end, and a leap day */
	static const struct {
		const char *date, *iso;
	} zones[] = {
	    {"Sat, 11 Jul 2026 10:16:37 +0200", "2026-07-11T08:16:37Z"},
	    {"1 Jan 2025 01:30:00 +0200", "2024-12-31T23:30:00Z"},
	    {"Sun, 31 Dec 2023 23:59:59 -0130", "2024-01-01T01:29:59Z"},
	    {"Thu, 29 Feb 2024 12:00:00 UTC", "2024-02-29T12:00:00Z"},
	    {"Wed, 1 Mar 2000 00:00:00 +0100", "2000-02-29T23:00:00Z"},
	    {"Sat, 31 Dec 2016 23:59:60 UTC", "2016-12-31T23:59:60Z"},
	};
	for (size_t i = 0; i < N(zones); i++) {
		char *t;
		assert_true(asprintf(&t, "Codename: sid\nDate: %s\n", zones[i].date) > 0);
		assert_int_equal(xp_release_date(t, strlen(t), "sid", "R", iso, NULL), 0);
		assert_string_equal(iso, zones[i].iso);
		free(t);
	}

	/* refusals, each with its diagnostic */
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"", "no Release paragraph"},
	    {"\n\n", "no Release paragraph"},
	    {"Codename: sid\n", "no Date field"},
	    {"Codename: sid\nDate: Mon, 01 Jan 2024 00:00:00 UTC\nDate: Mon, 01 Jan 2024 00:00:00 UTC\n",
	     "the Date field is given twice"},
	    {"Codename: bookworm\nDate: Mon, 01 Jan 2024 00:00:00 UTC\n",
	     "the Release of 'bookworm', not of 'sid'"},
	    {"Date: Mon, 01 Jan 2024 00:00:00 UTC\n", "the Release of '', not of 'sid'"},
	    {" continued\nCodename: sid\n", "a continuation line before any field"},
	    {"Codename: sid\nno colon here\n", "a line that is not a field: 'no colon here'"},
	    {"Codename: sid\n:empty name\n", "a line that is not a field: ':empty name'"},
	    {"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nCodename: sid\n"
	     "Date: Mon, 01 Jan 2024 00:00:00 UTC\n",
	     "a clearsigned text without its signature"},
	    {"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n",
	     "a clearsigned text without its text"},
	    {"-----BEGIN PGP SIGNED MESSAGE-----x\n\nCodename: sid\n",
	     "a clearsigned text with a malformed first line"},
	    {"-----BEGIN PGP SIGNED MESSAGE-----\nnot a header\n\nCodename: sid\n",
	     "a clearsigned text with a malformed armor header"},
	    {"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nCodename: sid\n-----END X-----\n",
	     "an unexpected armor line in the text"},
	};
	for (size_t i = 0; i < N(bad); i++) {
		xp_diags_release(&d);
		xp_diags_init(&d);
		int r = xp_release_date(bad[i].text, strlen(bad[i].text), "sid", "R", iso, &d);
		if (r != -EBADMSG || d.n != 1 || strcmp(d.v[0].msg, bad[i].msg) != 0) {
			fprintf(stderr, "case %zu: %d '%s'\n", i, r, d.n ? d.v[0].msg : "");
			fail();
		}
		assert_string_equal(iso, "");
		assert_string_equal(d.v[0].file, "R");
	}
	const char *dates[] = {"Mon, 30 Feb 2024 00:00:00 UTC", "Mon, 01 Jan 2024 24:00:00 UTC",
			       "Mon, 01 Jan 2024 00:60:00 UTC", "Mon, 01 jan 2024 00:00:00 UTC",
			       "Mon 01 Jan 2024 00:00:00 UTC",	"Xyz, 01 Jan 2024 00:00:00 UTC",
			       "Mon, 001 Jan 2024 00:00:00 UTC", "Mon, 01 Jan 24 00:00:00 UTC",
			       "Mon, 01 Jan 2024 00:00:00",	"Mon, 01 Jan 2024 00:00:00 CET",
			       "Mon, 01 Jan 2024 00:00:00 +2400", "Mon, 01 Jan 2024 0:00:00 UTC",
			       "Mon, 01 Jan 1969 00:00:00 UTC", "Thu, 01 Jan 1970 00:00:00 +0100",
			       "Mon, 29 Feb 2100 00:00:00 UTC", "Mon,  1 Jan 2024 00:00:00 UTC",
			       "2024-01-01T00:00:00Z"};
	for (size_t i = 0; i < N(dates); i++) {
		char *t;
		xp_diags_release(&d);
		xp_diags_init(&d);
		assert_true(asprintf(&t, "Codename: sid\nDate: %s\n", dates[i]) > 0);
		int r = xp_release_date(t, strlen(t), "sid", "R", iso, &d);
		free(t);
		if (r != -EBADMSG || d.n != 1 || strncmp(d.v[0].msg, "not a date: '", 13) != 0) {
			fprintf(stderr, "date %zu '%s': %d\n", i, dates[i], r);
			fail();
		}
	}
	/* a NUL byte, and more than the limit */
	const char nul[] = "Codename: sid\nDate: Mon, 01 Jan 2024 00:00:00 UTC\0\n";
	assert_int_equal(xp_release_date(nul, sizeof(nul) - 1, "sid", "R", iso, NULL), -EBADMSG);
	assert_int_equal(xp_release_date(RELEASE, XP_RELEASE_MAX + 1, "sid", "R", iso, NULL), -EFBIG);
	xp_diags_release(&d);
}

static void test_identity(void **state)
{
	(void)state;
	char *pkgs[] = {"ifupdown", "udev"};
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_dist_identity(&b, "debian:bookworm", "minbase", pkgs, 2,
					  "http://deb.debian.org/debian", "2026-07-11T10:16:37Z"),
			 0);
	assert_string_equal(xp_buf_str(&b), "xenprov-dist-v1\ndist=debian:bookworm\nvariant=minbase\n"
					    "packages=ifupdown,udev\nmirror=http://deb.debian.org/"
					    "debian\nrelease=2026-07-11T10:16:37Z\n");
	xp_buf_release(&b);
	assert_int_equal(xp_dist_identity(&b, "debian:trixie", "standard", NULL, 0, "file:/m", "x"), 0);
	assert_string_equal(xp_buf_str(&b), "xenprov-dist-v1\ndist=debian:trixie\nvariant=standard\n"
					    "packages=\nmirror=file:/m\nrelease=x\n");
	xp_buf_release(&b);
}

/* ---- the manifest --------------------------------------------------------------------- */

static uint64_t manifest_of(const char *manifest_path, unsigned extra, unsigned headroom)
{
	size_t len;
	char *data = xp_test_read(manifest_path, &len);
	struct xp_fs_opts o = {.type = XP_FS_EXT4, .reserved_percent = -1};
	uint64_t bytes = 0, content = 0;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_manifest_estimate(data, len, "M", extra, &o, headroom, &bytes, &content, &d), 0);
	assert_int_equal(d.n, 0);
	free(data);
	return bytes;
}

/* A tree with what a root holds (files of several sizes, directories deep and wide,
 * short and long symlinks, hard links, a FIFO, odd names): its manifest, made by the
 * find(1) format the hook uses, gives the estimate GNU tar's archive of it gives. */
static void test_manifest_matches_tar(void **state)
{
	(void)state;
	if (xp_test_need("find tar") != 0)
		skip();
	const char *root = tpath("root");
	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(chdir(root), 0);
	assert_int_equal(xp_test_sh(
			     "set -e; mkdir -p etc/a/b/c usr/lib var/wide;"
			     "head -c 5000000 /dev/urandom > usr/lib/big; echo hi > etc/small;"
			     ": > etc/empty; truncate -s 100M usr/lib/sparse;"
			     "for i in $(seq 1 600); do echo $i > var/wide/file-with-a-long-name-$i; done;"
			     "ln -s small etc/short; ln -s %s etc/long; ln usr/lib/big usr/lib/big2;"
			     "ln usr/lib/big etc/a/b/c/big3; mkfifo etc/fifo; touch 'etc/new\nline';"
			     "touch etc/..dots",
			     "/usr/lib/x86_64-linux-gnu/a-long-target-name-well-beyond-sixty-bytes/x"),
			 0);
	assert_int_equal(xp_test_sh("find . -xdev -printf '%s' > '%s' && tar --format=pax -cf '%s' .",
				    XP_MANIFEST_FORMAT, tpath("manifest"), tpath("root.tar")),
			 0);
	assert_int_equal(chdir("/"), 0);
	struct xp_fs_opts o = {.type = XP_FS_EXT4, .reserved_percent = -1};
	for (unsigned headroom = 0; headroom <= 30; headroom += 30) {
		uint64_t tar_bytes;
		assert_int_equal(xp_fs_estimate(tpath("root.tar"), &o, headroom, &tar_bytes, NULL), 0);
		assert_int_equal(manifest_of(tpath("manifest"), 0, headroom), tar_bytes);
	}
	/* extra /dev entries only ever add */
	assert_true(manifest_of(tpath("manifest"), 64, 0) >= manifest_of(tpath("manifest"), 0, 0));
}

static void test_manifest_refused(void **state)
{
	(void)state;
	static const struct {
		const char *data;
		size_t len;
		const char *msg;
	} bad[] = {
#define R(s, m) {s, sizeof(s) - 1, m}
	    R("", "empty"),
	    R("f 1 1 2 a\0\0", "record 1: no record of the root directory"),
	    R("x 4096 2 1 \0\0", "record 1: not 'TYPE SIZE LINKS INODE PATH'"),
	    R("d 4096 2 1\0\0", "record 1: not 'TYPE SIZE LINKS INODE PATH'"),
	    R("d -1 2 1 \0\0", "record 1: not 'TYPE SIZE LINKS INODE PATH'"),
	    R("d 4096  2 1 \0\0", "record 1: not 'TYPE SIZE LINKS INODE PATH'"),
	    R("d 12345678901234567890 2 1 \0\0", "record 1: not 'TYPE SIZE LINKS INODE PATH'"),
	    R("d 4096 2 1 \0", "record 1: truncated"),
	    R("d 4096 2 1 ", "record 1: truncated"),
	    R("d 4096 2 1 \0\0d 4096 2 1 \0\0", "record 2: an empty path that is not the root directory"),
	    R("f 0 1 1 \0\0", "record 1: an empty path that is not the root directory"),
	    R("d 4096 2 1 \0\0l 3 1 2 a\0\0", "record 2: a symlink without a target"),
	    R("d 4096 2 1 \0\0f 3 1 2 a\0b\0", "record 2: a target for a non-symlink"),
#undef R
	};
	struct xp_fs_opts o = {.type = XP_FS_EXT4, .reserved_percent = -1};
	for (size_t i = 0; i < N(bad); i++) {
		struct xp_diags d;
		xp_diags_init(&d);
		uint64_t bytes;
		int r = xp_manifest_estimate(bad[i].data, bad[i].len, "M", 0, &o, 0, &bytes, NULL, &d);
		if (r != -EBADMSG || d.n != 1 || strcmp(d.v[0].msg, bad[i].msg) != 0) {
			fprintf(stderr, "case %zu: %d '%s'\n", i, r, d.n ? d.v[0].msg : "");
			fail();
		}
		assert_string_equal(d.v[0].file, "M");
		xp_diags_release(&d);
	}
	/* a path of PATH_MAX bytes */
	size_t n = 20 + 4096 + 2;
	char *big = calloc(1, n + 16);
	memcpy(big, "d 1 2 1 \0\0f 1 1 2 ", 18);
	memset(big + 18, 'a', 4096);
	big[18 + 4096] = 0;
	big[18 + 4096 + 1] = 0;
	struct xp_diags d;
	xp_diags_init(&d);
	uint64_t bytes;
	assert_int_equal(xp_manifest_estimate(big, 18 + 4096 + 2, "M", 0, &o, 0, &bytes, NULL, &d), -EBADMSG);
	assert_string_equal(d.v[0].msg, "record 2: a path or link target too long");
	xp_diags_release(&d);
	free(big);
	assert_int_equal(xp_manifest_estimate("", XP_MANIFEST_MAX + 1, "M", 0, &o, 0, &bytes, NULL, NULL),
			 -EFBIG);
	/* content beyond the bound, in one file or in two */
	static const char huge[] = "d 1 2 1 \0\0f 1099511627777 1 2 a\0\0";
	static const char two[] = "d 1 2 1 \0\0f 1099511627775 1 2 a\0\0f 2 1 3 b\0\0";
	static const char fits[] = "d 1 2 1 \0\0f 1099511627775 1 2 a\0\0f 1 1 3 b\0\0";
	xp_diags_init(&d);
	assert_int_equal(xp_manifest_estimate(huge, sizeof(huge) - 1, "M", 0, &o, 0, &bytes, NULL, &d),
			 -EFBIG);
	assert_string_equal(d.v[0].msg, "record 2: more than 1024 GiB of files");
	assert_int_equal(xp_manifest_estimate(two, sizeof(two) - 1, "M", 0, &o, 0, &bytes, NULL, NULL),
			 -EFBIG);
	xp_diags_release(&d);
	uint64_t content;
	assert_int_equal(xp_manifest_estimate(fits, sizeof(fits) - 1, "M", 0, &o, 0, &bytes, &content,
					      NULL),
			 0);
	assert_int_equal(content, 1ull << 40);
	assert_true(bytes > (1ull << 40));
}

/* ---- xp_dist_resolve, against a mirror on disk -------------------------------------- */

static void test_resolve(void **state)
{
	(void)state;
	if (access("/usr/lib/apt/apt-helper", X_OK) != 0)
		skip();
	assert_int_equal(xp_test_sh("mkdir -p '%s/mirror/dists/bookworm'", tmpdir), 0);
	char *s = clearsigned(RELEASE);
	xp_test_write(tpath("mirror/dists/bookworm/InRelease"), s);
	free(s);
	char *mirror;
	assert_true(asprintf(&mirror, "file:%s/mirror/", tmpdir) > 0);
	struct xp_dist_opts o = {.dist = "debian:bookworm",
				 .include = "udev,ifupdown",
				 .install = "udev,openssh-server",
				 .mirror = mirror};
	struct xp_dist dist;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_dist_resolve(&o, &dist, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(dist.suite, "bookworm");
	assert_string_equal(dist.variant, "minbase");
	assert_int_equal(dist.npackages, 3);
	assert_string_equal(dist.packages[0], "ifupdown");
	assert_string_equal(dist.packages[2], "udev");
	assert_int_equal(strncmp(dist.mirror, "file:", 5), 0);
	assert_int_not_equal(dist.mirror[strlen(dist.mirror) - 1], '/');
	assert_string_equal(dist.release_date, "2026-07-11T10:16:37Z");
	assert_int_equal(strlen(dist.identity), 64);
	assert_int_equal(strlen(dist.undated), 64);
	assert_string_not_equal(dist.identity, dist.undated);
	char first[65], undated[65];
	memcpy(first, dist.identity, 65);
	memcpy(undated, dist.undated, 65);
	xp_dist_release(&dist);

	/* the same set in another order, another spelling of the mirror: the same image */
	o.include = "openssh-server,udev";
	o.install = "ifupdown";
	mirror[strlen(mirror) - 1] = 0;
	assert_int_equal(xp_dist_resolve(&o, &dist, &d), 0);
	assert_string_equal(dist.identity, first);
	assert_string_equal(dist.undated, undated);
	xp_dist_release(&dist);
	/* another package set: another image, dated or not */
	o.install = NULL;
	assert_int_equal(xp_dist_resolve(&o, &dist, &d), 0);
	assert_string_not_equal(dist.identity, first);
	assert_string_not_equal(dist.undated, undated);
	xp_dist_release(&dist);
	o.install = "ifupdown";
	/* a new release of the suite: another image, the same undated name */
	assert_int_equal(xp_test_sh("sed -i 's/^Date: .*/Date: Sun, 12 Jul 2026 10:00:00 UTC/' "
				    "'%s/mirror/dists/bookworm/InRelease'",
				    tmpdir),
			 0);
	assert_int_equal(xp_dist_resolve(&o, &dist, &d), 0);
	assert_string_equal(dist.release_date, "2026-07-12T10:00:00Z");
	assert_string_not_equal(dist.identity, first);
	assert_string_equal(dist.undated, undated);
	xp_dist_release(&dist);
	/* another variant: another image */
	o.variant = "standard";
	assert_int_equal(xp_dist_resolve(&o, &dist, &d), 0);
	assert_string_not_equal(dist.identity, first);
	xp_dist_release(&dist);

	/* no InRelease: a warning, no date, no identity (no cache), still resolved */
	o.dist = "debian:trixie";
	assert_int_equal(xp_dist_resolve(&o, &dist, &d), 0);
	assert_string_equal(dist.release_date, "");
	assert_string_equal(dist.identity, "");
	assert_int_equal(strlen(dist.undated), 64);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	xp_test_assert_contains(d.v[0].msg, "cannot learn the release date of trixie");
	xp_dist_release(&dist);
	xp_diags_release(&d);
	xp_diags_init(&d);

	/* another suite's InRelease served for bookworm: a warning, no cache */
	assert_int_equal(xp_test_sh("mkdir -p '%s/mirror/dists/trixie' && sed "
				    "s/bookworm/forky/ '%s/mirror/dists/bookworm/InRelease' > "
				    "'%s/mirror/dists/trixie/InRelease'",
				    tmpdir, tmpdir, tmpdir),
			 0);
	assert_int_equal(xp_dist_resolve(&o, &dist, &d), 0);
	assert_string_equal(dist.identity, "");
	assert_int_equal(d.n, 1);
	xp_test_assert_contains(d.v[0].msg, "the Release of 'forky', not of 'trixie'");
	xp_dist_release(&dist);
	xp_diags_release(&d);
	xp_diags_init(&d);

	/* refusals */
	struct xp_dist_opts bad[] = {
	    {.dist = "debian:sid", .mirror = mirror},
	    {.dist = "debian:bookworm", .variant = "buildd", .mirror = mirror},
	    {.dist = "debian:bookworm", .include = "Bad", .mirror = mirror},
	    {.dist = "debian:bookworm", .install = "a,", .mirror = mirror},
	    {.dist = "debian:bookworm", .mirror = "ftp://old/debian"},
	};
	const char *codes[] = {"dist", "variant", "include", "install", "mirror"};
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(xp_dist_resolve(&bad[i], &dist, &d), -EINVAL);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].code, codes[i]);
		assert_null(dist.mirror);
		xp_diags_release(&d);
		xp_diags_init(&d);
	}
	/* the host's sources give the mirror when none is given */
	assert_int_equal(xp_test_sh("mkdir -p '%s/apt' && printf 'deb %s bookworm main\\n' > "
				    "'%s/apt/sources.list'",
				    tmpdir, mirror, tmpdir),
			 0);
	struct xp_dist_opts host = {.dist = "debian:bookworm", .etc_apt = tpath("apt")};
	assert_int_equal(xp_dist_resolve(&host, &dist, &d), 0);
	assert_string_equal(dist.mirror, mirror);
	assert_string_equal(dist.release_date, "2026-07-12T10:00:00Z");
	assert_int_equal(dist.npackages, 0);
	xp_dist_release(&dist);
	xp_diags_release(&d);
	free(mirror);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suites),
	    cmocka_unit_test(test_package_names),
	    cmocka_unit_test(test_package_sets),
	    cmocka_unit_test(test_mirror_norm),
	    cmocka_unit_test(test_sources),
	    xp_test_in_scratch(test_mirror_find),
	    cmocka_unit_test(test_release_date),
	    cmocka_unit_test(test_identity),
	    xp_test_in_scratch(test_manifest_matches_tar),
	    cmocka_unit_test(test_manifest_refused),
	    xp_test_in_scratch(test_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
