/*
 * test-guest-hooks.c - the site's hooks (deploy/hooks.c) and the customisation step
 * that runs them (xp_guest_customize, customize.c): real shell scripts run on a real
 * guest disk (mke2fs -d from a tree made here, systemd-networkd style, edited by
 * xp_guest_apply), reading it back with debugfs; their order, what they are told in
 * XP_GUEST_* (also what xp_guest_apply found: root UUID, network format), what is
 * skipped, what a failing or killed hook does, and the checks made before the disk is
 * touched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "deploy/hooks.h"
#include "guest-fixtures.h"
#include "testlib.h"
#include "xenprov/domain.h"
#include "xenprov/guest.h"
#include "xenprov/util.h"

/* Every test works in a scratch directory of its own, its current directory: the
 * paths below (the disks, the hooks, their logs) are relative to it. */
XP_TEST_SCRATCH_WITH("guest-hooks", enter_scratch, leave_scratch)

static int enter_scratch(void)
{
	return chdir(tmpdir);
}

static int leave_scratch(void)
{
	return chdir(XP_TEST_TMP);
}

static void put(const char *rel, const char *content, mode_t mode)
{
	assert_int_equal(xp_write_atomic(rel, content, strlen(content), mode), 0);
}

/* The content of a file ("" if there is none). */
static char *slurp(const char *rel)
{
	char *data = NULL;
	size_t len;
	if (xp_read_file(rel, 1 << 20, &data, &len) < 0)
		return strdup("");
	return data;
}

/* A systemd-networkd guest's disk: img, a bare ext4 filesystem. */
static void make_guest(const char *img)
{
	static const char *const dirs[] = {"tree/etc/systemd/network", "tree/root"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		assert_int_equal(xp_mkdir_p(dirs[i], 0755), 0);
	put("tree/etc/hostname", "golden\n", 0644);
	put("tree/etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
	unlink(img);
	assert_int_equal(xp_test_sh("mke2fs -q -F -t ext4 -O metadata_csum_seed -U %s -d tree "
				    "'%s' 32M",
				    FS_UUID, img),
			 0);
}

/* The filesystem UUID of img as blkid reads it: the guest's new one, not the golden
 * image's (a static buffer). */
static const char *uuid_of(const char *img)
{
	static char uuid[64];
	char *out = NULL;
	assert_int_equal(xp_test_run(&out, "blkid -p -o value -s UUID '%s'", img), 0);
	snprintf(uuid, sizeof(uuid), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	assert_int_equal(strlen(uuid), 36);
	assert_string_not_equal(uuid, FS_UUID);
	return uuid;
}

/* hooks/ made afresh: 10-a logs its argument, some of its variables and the guest's
 * /etc/hostname read from the disk; 20-b logs "b"; two that must not run. */
static void make_hooks(void)
{
	assert_int_equal(xp_test_rmtree("hooks"), 0);
	assert_int_equal(xp_mkdir_p("hooks", 0755), 0);
	put("hooks/10-a",
	    "#!/bin/sh\necho \"a $1 $XP_GUEST_IMAGE $XP_GUEST_NAME $XP_GUEST_HOSTNAME "
	    "$XP_GUEST_IP/$XP_GUEST_PREFIX $XP_GUEST_MAC $XP_GUEST_DHCP $XP_GUEST_NET_FORMAT "
	    "$XP_GUEST_ROOT_UUID [$XP_GUEST_DNS] [$XP_GUEST_STALE]\" >> hooks.log\n"
	    "debugfs -R 'cat /etc/hostname' \"$XP_GUEST_IMAGE\" >> hooks.log 2>/dev/null\n",
	    0755);
	put("hooks/20-b", "#!/bin/sh\necho b >> \"$(dirname \"$0\")/../hooks.log\"\n", 0755);
	put("hooks/15-not-executable", "#!/bin/sh\nexit 1\n", 0644);
	put("hooks/.hidden", "#!/bin/sh\nexit 1\n", 0755);
	unlink("hooks.log");
}

static char *want_log(const char *img)
{
	char *want = NULL;
	assert_true(asprintf(&want,
			     "a %s %s guest-7 web01 192.0.2.10/24 00:16:3e:12:34:56 0 networkd %s"
			     " [192.0.2.53 2001:db8::53] []\nweb01\nb\n",
			     img, img, uuid_of(img)) > 0);
	return want;
}

/* xp_guest_apply, then the hooks, as customize.c runs them. */
static void test_hooks_run(void **state)
{
	(void)state;
	make_guest("hk.raw");
	make_hooks();
	setenv("XP_GUEST_STALE", "inherited", 1);
	struct xp_guest_settings s = static_settings();
	const struct xp_guest_hooks h = {.dir = "hooks", .image = "hk.raw", .name = "guest-7"};
	struct xp_guest_report rep;
	size_t nrun = 99;
	assert_int_equal(xp_guest_apply("hk.raw", &s, &rep, NULL), 0);
	assert_int_equal(xp_guest_hooks_run(&h, &s, &rep, &nrun, NULL), 0);
	assert_int_equal(nrun, 2);
	xp_guest_report_release(&rep);
	unsetenv("XP_GUEST_STALE");
	char *log = slurp("hooks.log");
	char *want = want_log("hk.raw");
	assert_string_equal(log, want);
	free(log);
	free(want);

	/* a failing hook fails the step, after the ones before it ran */
	put("hooks/30-fail", "#!/bin/sh\necho 'no route to the CMDB' >&2\nexit 3\n", 0755);
	put("hooks/40-never", "#!/bin/sh\ntouch \"$(dirname \"$0\")/../never\"\n", 0755);
	struct xp_diags d = {0};
	assert_int_equal(xp_guest_apply("hk.raw", &s, &rep, &d), 0);
	assert_int_equal(xp_guest_hooks_run(&h, &s, &rep, &nrun, &d), -EIO);
	assert_int_equal(nrun, 3);
	xp_guest_report_release(&rep);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "hook");
	assert_string_equal(d.v[0].file, "hk.raw");
	assert_string_equal(d.v[0].text, "hooks/30-fail");
	/* what it said is in the message */
	xp_test_assert_contains(d.v[0].msg,
				"30-fail' failed (exit status 3): no route to the CMDB");
	xp_diags_release(&d);
	assert_int_equal(access("never", F_OK), -1);
	/* a hook killed by a signal */
	put("hooks/30-fail", "#!/bin/sh\nkill -9 $$\n", 0755);
	xp_diags_init(&d);
	assert_int_equal(xp_guest_apply("hk.raw", &s, &rep, &d), 0);
	assert_int_equal(xp_guest_hooks_run(&h, &s, &rep, NULL, &d), -EIO);
	xp_guest_report_release(&rep);
	assert_int_equal(d.n, 1);
	xp_test_assert_contains(d.v[0].msg, "30-fail' was killed by signal 9");
	xp_diags_release(&d);
	assert_int_equal(access("never", F_OK), -1);
	xp_test_assert_fsck_clean("hk.raw", 0);

	/* no directory: nothing to run */
	const struct xp_guest_hooks none = {.image = "hk.raw"};
	assert_int_equal(xp_guest_hooks_run(&none, &s, &rep, &nrun, NULL), 0);
	assert_int_equal(nrun, 0);
}

static void test_hooks_check(void **state)
{
	(void)state;
	put("plain", "not a directory\n", 0644);
	static const struct {
		const char *what;
		struct xp_guest_hooks h;
		int rc;
		const char *code;
	} cases[] = {
	    {"missing", {.dir = "/nonexistent/hooks", .image = "g.raw"}, -ENOENT, "hooks"},
	    {"file", {.dir = NULL /* below */, .image = "g.raw"}, -ENOTDIR, "hooks"},
	    {"empty name", {.name = "", .image = "g.raw"}, -EINVAL, "name"},
	    {"control name", {.name = "web\n01", .image = "g.raw"}, -EINVAL, "name"},
	    {"nothing", {.image = "g.raw"}, 0, NULL},
	    {"directory and name", {.dir = "/", .name = "web01", .image = "g.raw"}, 0, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].what);
		struct xp_guest_hooks h = cases[i].h;
		if (cases[i].rc == -ENOTDIR)
			h.dir = "plain";
		struct xp_diags d = {0};
		assert_int_equal(xp_guest_hooks_check(&h, &d), cases[i].rc);
		assert_int_equal(d.n, cases[i].code ? 1 : 0);
		if (cases[i].code) {
			assert_string_equal(d.v[0].code, cases[i].code);
			assert_string_equal(d.v[0].file, "g.raw");
		}
		xp_diags_release(&d);
	}
}

/* The whole step: the settings applied, then the hooks, told what apply found. */
static void test_customize(void **state)
{
	(void)state;
	make_guest("cz.raw");
	make_hooks();
	put("hooks/12-env",
	    "#!/bin/sh\nenv | grep '^XP_GUEST_' | LC_ALL=C sort > \"$(dirname "
	    "\"$0\")/../env.log\"\n",
	    0755);
	struct xp_guest_spec spec = {
	    .name = "guest-7",
	    .hostname = "web01",
	    .domain = "example.com",
	    .mac = "00:16:3E:12:34:56",
	    .ip = "192.0.2.10",
	    .prefix_len = 24,
	    .gateway = "192.0.2.1",
	    .dns = "192.0.2.53,2001:db8::53",
	    .root_password_hash = HASH,
	    .ssh_key = KEY,
	    .disk_path = "cz.raw",
	    .root_offset = -1,
	    .hooks_dir = "hooks",
	};
	struct xp_diags d = {0};
	int r = xp_guest_customize(&spec, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "diag: %s\n", d.v[i].msg);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	char *log = slurp("hooks.log");
	char *want = want_log("cz.raw");
	assert_string_equal(log, want);
	free(log);
	free(want);
	char *env = slurp("env.log");
	char *wenv = NULL;
	assert_true(asprintf(&wenv,
			     "XP_GUEST_DHCP=0\nXP_GUEST_DNS=192.0.2.53 2001:db8::53\n"
			     "XP_GUEST_DOMAIN=example.com\nXP_GUEST_FQDN=web01.example.com\n"
			     "XP_GUEST_FS_OFFSET=0\nXP_GUEST_GATEWAY=192.0.2.1\n"
			     "XP_GUEST_HOSTNAME=web01\nXP_GUEST_IMAGE=%s\nXP_GUEST_IP=192.0.2.10\n"
			     "XP_GUEST_MAC=00:16:3e:12:34:56\nXP_GUEST_NAME=guest-7\n"
			     "XP_GUEST_NET_FORMAT=networkd\nXP_GUEST_PREFIX=24\n"
			     "XP_GUEST_ROOT_UUID=%s\nXP_GUEST_SWAP_UUID=\n",
			     "cz.raw", uuid_of("cz.raw")) > 0);
	assert_string_equal(env, wenv); /* the password hash is not there */
	free(env);
	free(wenv);
	xp_diags_release(&d);
	xp_test_assert_fsck_clean("cz.raw", 0);

	/* hooks that cannot be used: refused before the disk is touched */
	unsigned char before[32], after[32];
	assert_int_equal(xp_sha256_file("cz.raw", before), 0);
	spec.hooks_dir = "/nonexistent/hooks";
	assert_int_equal(xp_guest_customize(&spec, NULL, &d), -ENOENT);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "hooks");
	xp_diags_release(&d);
	assert_int_equal(xp_sha256_file("cz.raw", after), 0);
	assert_memory_equal(before, after, sizeof(before));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hooks_run),
	    cmocka_unit_test(test_hooks_check),
	    cmocka_unit_test(test_customize),
	};
	return xp_test_run_group("mke2fs debugfs e2fsck", tests, setup, teardown);
}
