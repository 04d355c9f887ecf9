/*
 * test-imgdiff.c - the difference between two trees (image/tree-diff.c) as the image
 * store makes them: the second with rsync --link-dest to the first, then changed by
 * replacing files (never writing a shared inode); and which paths are a guest's own
 * (xp_guest_own_path).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "xenprov/guest.h"
#include "xenprov/imgdiff.h"

static char tmp[4096];

static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(xp_test_exit_status(system(cmd)), 0);
}

static int setup(void **state)
{
	(void)state;
	return xp_test_mkdtemp(tmp, sizeof(tmp), "imgdiff");
}

static int teardown(void **state)
{
	(void)state;
	return xp_test_rmtree(tmp);
}

struct want {
	const char *path;
	enum xp_tdiff_kind kind;
	unsigned what;
	const char *link;
};

static void test_diff_trees(void **state)
{
	(void)state;
	/* version 1 */
	sh("cd '%s' && mkdir -p a/etc a/usr/doc a/var/old/deep a/t && echo one >a/etc/motd && "
	   "echo same >a/usr/doc/keep && echo x >a/var/old/x && echo y >a/var/old/deep/y && "
	   "echo conf >a/etc/app.conf && ln -s motd a/etc/link && echo f >a/t/was-file && "
	   "mkdir a/t/was-dir && echo z >a/t/was-dir/z && echo m >a/etc/mode && "
	   "echo x >a/etc/attr && setfattr -n user.v -v 1 a/etc/attr && "
	   "touch -h -d '2026-01-01 00:00' a/etc/* a/usr/doc/keep",
	   tmp);
	/* version 2: as the store makes it, then each change replaces a file */
	sh("cd '%s' && rsync -aH --link-dest=\"$PWD/a\" a/ b/ && "
	   "echo two >b/etc/motd.new && touch -d '2026-01-01 00:00' b/etc/motd.new && "
	   "mv b/etc/motd.new b/etc/motd && "                /* content, same size and time */
	   "cp -p b/etc/mode b/etc/mode.new && chmod 600 b/etc/mode.new && "
	   "mv b/etc/mode.new b/etc/mode && "                /* mode only */
	   "cp -a b/etc/attr b/etc/attr.new && setfattr -n user.v -v 2 b/etc/attr.new && "
	   "mv b/etc/attr.new b/etc/attr && "                /* an xattr only */
	   "echo conf2 >b/etc/app.conf.new && mv b/etc/app.conf.new b/etc/app.conf && "
	   "ln -sfn app.conf b/etc/link && touch -h -d '2026-01-01 00:00' b/etc/link && "
	   "rm -r b/var/old && echo new >b/usr/doc/new && ln b/usr/doc/new b/usr/doc/new2 && "
	   "rm b/t/was-file && mkdir b/t/was-file && echo in >b/t/was-file/in && "
	   "rm -r b/t/was-dir && echo now-a-file >b/t/was-dir",
	   tmp);
	struct xp_tdiff t;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_tdiff_trees(xp_test_path(tmp, "a"), xp_test_path(tmp, "b"), &t, &d);
	assert_int_equal(r, 0);
	const struct want want[] = {
	    {"/etc/app.conf", XP_TDIFF_CHANGED, XP_TDIFF_SIZE | XP_TDIFF_CONTENT | XP_TDIFF_MTIME,
	     NULL},
	    {"/etc/attr", XP_TDIFF_CHANGED, XP_TDIFF_XATTR, NULL},
	    {"/etc/link", XP_TDIFF_CHANGED, XP_TDIFF_TARGET, NULL},
	    {"/etc/mode", XP_TDIFF_CHANGED, XP_TDIFF_MODE, NULL},
	    {"/etc/motd", XP_TDIFF_CHANGED, XP_TDIFF_CONTENT, NULL},
	    {"/t/was-dir", XP_TDIFF_CHANGED, XP_TDIFF_TYPE, NULL},
	    {"/t/was-dir/z", XP_TDIFF_REMOVED, 0, NULL},
	    {"/t/was-file", XP_TDIFF_CHANGED, XP_TDIFF_TYPE, NULL},
	    {"/t/was-file/in", XP_TDIFF_ADDED, 0, NULL},
	    {"/usr/doc/new", XP_TDIFF_ADDED, 0, NULL},
	    {"/usr/doc/new2", XP_TDIFF_ADDED, 0, "/usr/doc/new"},
	    {"/var/old", XP_TDIFF_REMOVED, 0, NULL},
	    {"/var/old/deep", XP_TDIFF_REMOVED, 0, NULL},
	    {"/var/old/deep/y", XP_TDIFF_REMOVED, 0, NULL},
	    {"/var/old/x", XP_TDIFF_REMOVED, 0, NULL},
	};
	for (size_t i = 0; i < t.n; i++)
		print_message("%s %s %#x\n", t.v[i].path, xp_tdiff_kind_name(t.v[i].kind),
			      t.v[i].what);
	assert_int_equal(t.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < t.n; i++) {
		assert_string_equal(t.v[i].path, want[i].path);
		assert_int_equal(t.v[i].kind, want[i].kind);
		if (want[i].kind == XP_TDIFF_CHANGED)
			assert_int_equal(t.v[i].what, want[i].what);
		if (want[i].link)
			assert_string_equal(t.v[i].link, want[i].link);
		else
			assert_null(t.v[i].link);
	}
	assert_int_equal(t.added, 3);
	assert_int_equal(t.removed, 5);
	assert_int_equal(t.changed, 7);
	/* both sides of a changed entry, one side of the others */
	assert_string_equal(t.v[2].old.target, "motd");
	assert_string_equal(t.v[2].new.target, "app.conf");
	assert_int_equal(t.v[3].old.mode & 07777, 0644);
	assert_int_equal(t.v[3].new.mode & 07777, 0600);
	assert_true(S_ISDIR(t.v[11].old.mode));
	assert_int_equal(t.v[11].new.mode, 0);
	assert_int_equal(t.v[9].new.size, 4);
	xp_tdiff_release(&t);

	/* a tree against itself, and two copies without shared inodes: no difference */
	assert_int_equal(xp_tdiff_trees(xp_test_path(tmp, "b"), xp_test_path(tmp, "b"), &t, &d), 0);
	assert_int_equal(t.n, 0);
	xp_tdiff_release(&t);
	sh("cd '%s' && cp -a b c", tmp);
	assert_int_equal(xp_tdiff_trees(xp_test_path(tmp, "b"), xp_test_path(tmp, "c"), &t, &d), 0);
	assert_int_equal(t.n, 0);
	xp_tdiff_release(&t);
	assert_int_equal(d.n, 0);
	xp_diags_release(&d);
}

static void test_diff_errors(void **state)
{
	(void)state;
	struct xp_tdiff t;
	struct xp_diags d;
	xp_diags_init(&d);
	sh("cd '%s' && mkdir -p e && echo f >file", tmp);
	assert_int_equal(xp_tdiff_trees(xp_test_path(tmp, "nope"), xp_test_path(tmp, "e"), &t, &d),
			 -ENOENT);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "read");
	assert_non_null(strstr(d.v[0].msg, "nope"));
	assert_int_equal(t.n, 0);
	assert_int_equal(xp_tdiff_trees(xp_test_path(tmp, "e"), xp_test_path(tmp, "file"), &t, &d),
			 -ENOTDIR);
	assert_int_equal(d.n, 2);
	xp_diags_release(&d);
	/* and without a diagnostics list */
	assert_int_equal(xp_tdiff_trees(xp_test_path(tmp, "nope"), xp_test_path(tmp, "e"), &t, NULL),
			 -ENOENT);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(xp_tdiff_kind_name(XP_TDIFF_ADDED), "added");
	assert_string_equal(xp_tdiff_what_name(XP_TDIFF_XATTR), "xattr");
	assert_string_equal(xp_tdiff_what_name(XP_TDIFF_LINK), "link");
	assert_string_equal(xp_tdiff_what_name(3), "?");
	assert_int_equal(xp_tdiff_type_char(S_IFLNK | 0777), 'l');
	assert_int_equal(xp_tdiff_type_char(0), '-');
	assert_string_equal(xp_gupd_action_name(XP_GUPD_CONFLICT), "conflict");
}

static void test_own_paths(void **state)
{
	(void)state;
	static const struct {
		const char *path;
		bool own;
	} cases[] = {
	    {"/etc/hostname", true},
	    {"/etc/hostname.d", false},
	    {"/etc/fstab", true},
	    {"/etc/machine-id", true},
	    {"/etc/ssh/ssh_host_ed25519_key", true},
	    {"/etc/ssh/sshd_config", false},
	    {"/etc/network/interfaces", true},
	    {"/etc/network/interfaces.d/eth1", true},
	    {"/etc/network/if-up.d/x", false},
	    {"/etc/netplan", true},
	    {"/etc/netplan/50-xenprov.yaml", true},
	    {"/etc/systemd/network/10-xenprov.network", true},
	    {"/etc/systemd/network/99-default.link", false},
	    {"/boot/grub/grub.cfg", true},
	    {"/boot/vmlinuz-6.1.0", false},
	    {"/var/lib/systemd/random-seed", true},
	    {"/var/lib/dhcp/dhclient.eth0.leases", true},
	    {"/var/lib/dhcp/other", false},
	    {"/etc/systemd/system/xenprov-firstboot.service", true},
	    {"/etc/systemd/system/multi-user.target.wants/xenprov-ssh-hostkeys.service", true},
	    {"/etc/systemd/system/multi-user.target.wants/ssh.service", false},
	    {"/var/lib/xenprov/firstboot.d/01", true},
	    {"/var/lib/xenprovx", false},
	    {"/usr/bin/env", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].path);
		assert_int_equal(xp_guest_own_path(cases[i].path), cases[i].own);
	}
}

int main(void)
{
	if (system("command -v rsync >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skipped: no rsync\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_diff_trees),
	    cmocka_unit_test(test_diff_errors),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_own_paths),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
