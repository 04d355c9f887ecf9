/*
 * test-guest-custom.c - the customisations of xp_guest_apply (time zone, copy-in, write,
 * first-boot commands: image/guest-custom.c) and their items' syntax (guest.h), on
 * images the project's builder makes (xp_image_build from a tarball of a tree made
 * here), read back with the project's reader (xp_image_open_fs, xp_fs_stat/read) and
 * checked with e2fsck -fn. The first-boot unit goes through `systemd-analyze verify`
 * (in a mount namespace where its script exists) and its script is run by /bin/sh on
 * a tree of its own, twice: a failing command stops it and runs again next time.
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
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "xenprov/guest.h"
#include "xenprov/image.h"
#include "xenprov/util.h"

XP_TEST_SCRATCH("guest-custom")

#define MIB (1024ull * 1024)

/* ---- images ------------------------------------------------------------------------------ */

static void print_diags(const struct xp_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "diag %s: %s\n", d->v[i].code ? d->v[i].code : "-", d->v[i].msg);
}

/* A Debian 12-like tree in DIR (under tmpdir): merged /usr, systemd, tzdata with two
 * zones, an /etc/motd of mode 0600, a symlink /etc/motd.link to it, /var/run -> /run,
 * /tmp, and a symlink /escape climbing "out" of the root with "..". With tzdata false,
 * no /usr/share/zoneinfo; with systemd false, no systemd. */
static void tree(const char *dir, bool systemd, bool tzdata)
{
	assert_int_equal(
	    xp_test_sh("cd '%s' && rm -rf '%s' && mkdir -p '%s' && cd '%s' && "
		       "mkdir -p etc usr/lib/systemd usr/bin usr/sbin run tmp var opt && "
		       "ln -s usr/lib lib && ln -s usr/bin bin && ln -s usr/sbin sbin && "
		       "ln -s /run var/run && ln -s ../../../../../tmp escape && "
		       "echo 12.5 >etc/debian_version && echo golden >etc/hostname && "
		       "printf 'root:*:19000:0:99999:7:::\\n' >etc/shadow && "
		       "echo 'old motd' >etc/motd && chmod 0600 etc/motd && "
		       "ln -s motd etc/motd.link && "
		       "{ %s; } && { %s; }",
		       tmpdir, dir, dir, dir,
		       systemd ? "printf ELF >usr/lib/systemd/systemd" : "true",
		       tzdata ? "mkdir -p usr/share/zoneinfo/Europe usr/share/zoneinfo/America && "
				"printf 'TZif2' >usr/share/zoneinfo/Europe/Paris && "
				"printf 'TZif2' >usr/share/zoneinfo/UTC"
			      : "true"),
	    0);
}

/* IMG (raw, msdos, 64 MiB, ext4) built by xp_image_build from a tarball of DIR; the
 * root filesystem's offset. */
static uint64_t build(const char *dir, const char *img)
{
	char tgz[64];
	snprintf(tgz, sizeof(tgz), "%s.tgz", dir);
	assert_int_equal(xp_test_sh("tar -C '%s/%s' --numeric-owner --owner=0 --group=0 "
				    "-czf '%s' .",
				    tmpdir, dir, tpath(tgz)),
			 0);
	struct xp_image_opts o = {
	    .archive = tpath(tgz),
	    .output = tpath(img),
	    .size = 64 * MIB,
	    .fs = {.type = XP_FS_EXT4, .reserved_percent = -1},
	    .label = XP_LABEL_MSDOS,
	    .format = XP_IMAGE_RAW,
	};
	struct xp_image_result res;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_image_build(&o, NULL, NULL, &res, &d);
	if (r < 0)
		print_diags(&d);
	assert_int_equal(r, 0);
	xp_diags_release(&d);
	return res.layout.root_offset;
}

/* What the project's reader sees at path in img: xp_fs_stat's entry (caller
 * releases); -ENOENT if nothing. */
static int look(const char *img, const char *path, struct xp_fs_entry *e)
{
	struct xp_blockdev *bd;
	struct xp_fs *fs;
	assert_int_equal(xp_image_open_fs(tpath(img), 0, &bd, &fs), 0);
	int r = xp_fs_stat(fs, path, e);
	xp_fs_close(fs);
	xp_blockdev_close(bd);
	return r;
}

static int sink(void *ud, const void *data, size_t len)
{
	xp_buf_add(ud, data, len);
	return 0;
}

/* The content of the regular file at path in img (heap, NUL-terminated), its length
 * in *len if len. */
static char *content(const char *img, const char *path, size_t *len)
{
	struct xp_blockdev *bd;
	struct xp_fs *fs;
	assert_int_equal(xp_image_open_fs(tpath(img), 0, &bd, &fs), 0);
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_fs_read(fs, path, sink, &b);
	xp_fs_close(fs);
	xp_blockdev_close(bd);
	if (r < 0)
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(-r));
	assert_int_equal(r, 0);
	xp_buf_addc(&b, '\0');
	if (len)
		*len = b.len - 1;
	char *s = xp_buf_steal(&b);
	assert_non_null(s);
	return s;
}

static void assert_content(const char *img, const char *path, const char *want)
{
	char *s = content(img, path, NULL);
	assert_string_equal(s, want);
	free(s);
}

/* The entry at path: type and permission bits, owner; a symlink's target. */
static void assert_entry(const char *img, const char *path, mode_t mode, uint32_t uid,
			 uint32_t gid, const char *link)
{
	struct xp_fs_entry e;
	int r = look(img, path, &e);
	if (r < 0)
		fprintf(stderr, "no %s in %s\n", path, img);
	assert_int_equal(r, 0);
	if (e.mode != mode)
		fprintf(stderr, "%s: mode %o, expected %o\n", path, (unsigned)e.mode,
			(unsigned)mode);
	assert_int_equal(e.mode, mode);
	assert_int_equal(e.uid, uid);
	assert_int_equal(e.gid, gid);
	if (link)
		assert_string_equal(e.link, link);
	xp_fs_entry_release(&e);
}

static bool present(const char *img, const char *path)
{
	struct xp_fs_entry e;
	int r = look(img, path, &e);
	xp_fs_entry_release(&e);
	return r == 0;
}

static bool has_code(const struct xp_diags *d, enum xp_severity sev, const char *code)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == sev && d->v[i].code && strcmp(d->v[i].code, code) == 0)
			return true;
	return false;
}

/* xp_guest_apply of s to img: its result, its diagnostics in d (caller releases). */
static int apply(const char *img, const struct xp_guest_settings *s, struct xp_diags *d)
{
	xp_diags_init(d);
	struct xp_guest_report rep;
	int r = xp_guest_apply(tpath(img), s, &rep, d);
	xp_guest_report_release(&rep);
	return r;
}

/* ---- the items' syntax ------------------------------------------------------------------ */

static void test_syntax(void **state)
{
	(void)state;
	static const char *const good[] = {"/", "/etc", "/etc/motd", "/a b/c:d", "/ü/x", NULL};
	static const char *const bad[] = {"",	  "etc",     "/etc/",	"//etc",  "/etc//x",
					  "/./x", "/a/../b", "/a/..",	"/a/.",	  "/a\nb",
					  "/a\tb", "/\x7f", "/\xff\xfe", NULL};
	for (size_t i = 0; good[i]; i++)
		assert_true(xp_guest_path_valid(good[i]));
	for (size_t i = 0; bad[i]; i++)
		if (xp_guest_path_valid(bad[i])) {
			fprintf(stderr, "accepted '%s'\n", bad[i]);
			fail();
		}
	char *longp = malloc(XP_GUEST_MAX_PATH + 2);
	memset(longp, 'a', XP_GUEST_MAX_PATH + 1);
	longp[0] = '/';
	longp[XP_GUEST_MAX_PATH + 1] = '\0';
	for (size_t i = 200; i < XP_GUEST_MAX_PATH; i += 200)
		longp[i] = '/';
	assert_false(xp_guest_path_valid(longp));
	longp[XP_GUEST_MAX_PATH] = '\0';
	assert_true(xp_guest_path_valid(longp));
	for (size_t i = 1; i < 258; i++) /* a component of more than 255 bytes */
		longp[i] = 'x';
	assert_false(xp_guest_path_valid(longp));
	free(longp);

	/* copy-in: the guest directory after the last ':', an owner after it */
	const char *why;
	struct xp_guest_copy c;
	char item[256];
	snprintf(item, sizeof(item), "/srv/site:/var/www");
	assert_int_equal(xp_guest_copy_parse(item, &c, &why), 0);
	assert_string_equal(c.local, "/srv/site");
	assert_string_equal(c.dir, "/var/www");
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.gid, 0);
	snprintf(item, sizeof(item), "/srv/a:b:/opt:1000:100");
	assert_int_equal(xp_guest_copy_parse(item, &c, &why), 0);
	assert_string_equal(c.local, "/srv/a:b");
	assert_string_equal(c.dir, "/opt");
	assert_int_equal(c.uid, 1000);
	assert_int_equal(c.gid, 100);
	static const char *const bad_copy[] = {
	    "/srv/site",	  "srv:/opt",	    "/:/opt",	       "/srv/:/opt",
	    "/srv:opt",		  "/srv:/opt/",	    "/srv:/opt/../etc", "/srv:/opt:1000",
	    "/srv:/opt:x:1",	  "/srv:/opt:1:-1", "/srv:/opt::1",	"/srv:/opt:1:4294967295",
	    "/srv\nx:/opt",	  "/srv:/opt:1:2:3",
	};
	for (size_t i = 0; i < sizeof(bad_copy) / sizeof(bad_copy[0]); i++) {
		snprintf(item, sizeof(item), "%s", bad_copy[i]);
		why = NULL;
		if (xp_guest_copy_parse(item, &c, &why) != -EINVAL) {
			fprintf(stderr, "accepted '%s'\n", bad_copy[i]);
			fail();
		}
		assert_non_null(why);
	}

	/* write: the path before the first ':', the content (':' and all) after it */
	struct xp_guest_write w;
	snprintf(item, sizeof(item), "/etc/motd:a:b\nc");
	assert_int_equal(xp_guest_write_parse(item, &w, &why), 0);
	assert_string_equal(w.path, "/etc/motd");
	assert_string_equal(w.data, "a:b\nc");
	assert_int_equal(w.len, 5);
	snprintf(item, sizeof(item), "/etc/empty:");
	assert_int_equal(xp_guest_write_parse(item, &w, &why), 0);
	assert_int_equal(w.len, 0);
	static const char *const bad_write[] = {"/etc/motd", "etc/motd:x", "/:x", "/etc/:x",
						"/a/../b:x"};
	for (size_t i = 0; i < sizeof(bad_write) / sizeof(bad_write[0]); i++) {
		snprintf(item, sizeof(item), "%s", bad_write[i]);
		assert_int_equal(xp_guest_write_parse(item, &w, &why), -EINVAL);
	}
	char *big = malloc(XP_GUEST_MAX_WRITE + 16);
	snprintf(big, 8, "/f:");
	memset(big + 3, 'x', XP_GUEST_MAX_WRITE);
	big[3 + XP_GUEST_MAX_WRITE] = '\0';
	assert_int_equal(xp_guest_write_parse(big, &w, &why), 0);
	snprintf(big, 8, "/f:");
	memset(big + 3, 'x', XP_GUEST_MAX_WRITE + 1);
	big[4 + XP_GUEST_MAX_WRITE] = '\0';
	assert_int_equal(xp_guest_write_parse(big, &w, &why), -EINVAL);
	xp_test_assert_contains(why, "64 KiB");
	free(big);

	/* commands: one line of UTF-8, tabs allowed */
	assert_int_equal(xp_guest_command_check("apt-get install -y nginx", &why), 0);
	assert_int_equal(xp_guest_command_check("printf 'a\\tb\\n' | tr -d '\\\\'\tx", &why), 0);
	assert_int_equal(xp_guest_command_check("echo é", &why), 0);
	assert_int_equal(xp_guest_command_check("", &why), -EINVAL);
	assert_int_equal(xp_guest_command_check("a\nb", &why), -EINVAL);
	assert_int_equal(xp_guest_command_check("a\rb", &why), -EINVAL);
	assert_int_equal(xp_guest_command_check("echo \xff", &why), -EINVAL);
	char *cmd = malloc(XP_GUEST_MAX_COMMAND + 2);
	memset(cmd, 'x', XP_GUEST_MAX_COMMAND + 1);
	cmd[XP_GUEST_MAX_COMMAND] = '\0';
	assert_int_equal(xp_guest_command_check(cmd, &why), 0);
	cmd[XP_GUEST_MAX_COMMAND] = 'x';
	cmd[XP_GUEST_MAX_COMMAND + 1] = '\0';
	assert_int_equal(xp_guest_command_check(cmd, &why), -EINVAL);
	free(cmd);

	/* time zones */
	static const char *const zones[] = {"UTC", "Europe/Paris", "America/Argentina/Salta",
					    "Etc/GMT+5", "Etc/GMT-14", "posixrules", NULL};
	for (size_t i = 0; zones[i]; i++)
		assert_int_equal(xp_guest_timezone_check(zones[i], &why), 0);
	static const char *const bad_zones[] = {"",	     "/Europe/Paris", "Europe/",
						"Europe//Paris", "../etc/shadow", "Europe/../x",
						".hidden",	     "Europe/Pa ris",  "Europe/Paris\n",
						NULL};
	for (size_t i = 0; bad_zones[i]; i++)
		assert_int_equal(xp_guest_timezone_check(bad_zones[i], &why), -EINVAL);
}

/* ---- applied ----------------------------------------------------------------------------- */

/* The host tree copied in: modes kept, a symlink as a symlink, a 3 MiB file (more than
 * one write chunk), an empty file, a name with ':' and a space. */
static void source_tree(void)
{
	assert_int_equal(
	    xp_test_sh("cd '%s' && rm -rf src && mkdir -p src/sub/deeper && cd src && "
		       "printf 'conf\\n' >app.conf && chmod 0640 app.conf && "
		       "printf '#!/bin/sh\\necho hi\\n' >run.sh && chmod 0755 run.sh && "
		       ": >empty && chmod 0600 empty && "
		       "printf x >'odd: name' && "
		       "head -c 3145728 /dev/urandom >sub/big.bin && "
		       "printf deep >sub/deeper/leaf && chmod 0750 sub && "
		       "ln -s app.conf sub/link && "
		       "printf 'single\\n' >../single.txt && chmod 0604 ../single.txt",
		       tmpdir),
	    0);
}

static void test_applied(void **state)
{
	(void)state;
	tree("deb", true, true);
	source_tree();
	uint64_t off = build("deb", "deb.raw");
	char src[4200], single[4200];
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(single, sizeof(single), "%s/single.txt", tmpdir);
	const struct xp_guest_copy copies[] = {
	    {src, "/opt/app", 0, 0},		 /* made, with its parent */
	    {single, "/var/run/xp", 1000, 1001}, /* through the guest's /var/run -> /run */
	    {single, "/escape", 0, 0},		 /* "../../.." stays inside: the guest's /tmp */
	};
	static const char motd[] = "Welcome\n\\no escape: a:b\n";
	const struct xp_guest_write writes[] = {
	    {"/etc/motd", motd, sizeof(motd) - 1},	      /* replaced, mode 0600 kept */
	    {"/etc/new/deep/file.conf", "x=1\n", 4},	      /* directories made */
	    {"/etc/motd.link", "link replaced\n", 14},	      /* the symlink, not its target */
	    {"/etc/empty", NULL, 0},			      /* an empty file */
	    {"/opt/app/src/app.conf", "written last\n", 13}, /* after the copy: wins */
	};
	static const char *const cmds[] = {"echo first >>/root/fb.log",
					   "systemctl enable nginx\t# a tab", "echo 'é'"};
	struct xp_guest_settings s = {
	    .hostname = "c1",
	    .timezone = "Europe/Paris",
	    .copy_in = copies,
	    .ncopy_in = 3,
	    .write = writes,
	    .nwrite = 5,
	    .firstboot = cmds,
	    .nfirstboot = 3,
	};
	struct xp_diags d;
	struct xp_guest_report rep;
	xp_diags_init(&d);
	int r = xp_guest_apply(tpath("deb.raw"), &s, &rep, &d);
	print_diags(&d);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	xp_diags_release(&d);
	/* every file the customisations wrote is in the report */
	static const char *const reported[] = {
	    "/etc/localtime", "/etc/timezone", "/opt/app/src/sub/big.bin", "/var/run/xp/single.txt",
	    "/etc/new/deep/file.conf", "/var/lib/xenprov/firstboot.d/0003",
	    "/usr/local/lib/xenprov/firstboot",
	    "/etc/systemd/system/multi-user.target.wants/xenprov-firstboot.service"};
	for (size_t i = 0; i < sizeof(reported) / sizeof(reported[0]); i++) {
		bool found = false;
		for (size_t k = 0; k < rep.nwritten; k++)
			found |= strcmp(rep.written[k], reported[i]) == 0;
		if (!found)
			fprintf(stderr, "%s not reported\n", reported[i]);
		assert_true(found);
	}
	xp_guest_report_release(&rep);
	xp_test_assert_fsck_clean(tpath("deb.raw"), off);

	/* the time zone */
	assert_entry("deb.raw", "/etc/localtime", 0120777, 0, 0, "/usr/share/zoneinfo/Europe/Paris");
	assert_content("deb.raw", "/etc/timezone", "Europe/Paris\n");

	/* the tree: modes kept, owner root, the symlink as one, the big file whole */
	assert_entry("deb.raw", "/opt/app", 040755, 0, 0, NULL);
	assert_entry("deb.raw", "/opt/app/src", 040755, 0, 0, NULL);
	assert_entry("deb.raw", "/opt/app/src/app.conf", 0100640, 0, 0, NULL);
	assert_content("deb.raw", "/opt/app/src/app.conf", "written last\n");
	assert_entry("deb.raw", "/opt/app/src/run.sh", 0100755, 0, 0, NULL);
	assert_content("deb.raw", "/opt/app/src/run.sh", "#!/bin/sh\necho hi\n");
	assert_entry("deb.raw", "/opt/app/src/empty", 0100600, 0, 0, NULL);
	assert_content("deb.raw", "/opt/app/src/empty", "");
	assert_content("deb.raw", "/opt/app/src/odd: name", "x");
	assert_entry("deb.raw", "/opt/app/src/sub", 040750, 0, 0, NULL);
	assert_entry("deb.raw", "/opt/app/src/sub/link", 0120777, 0, 0, "app.conf");
	assert_content("deb.raw", "/opt/app/src/sub/deeper/leaf", "deep");
	size_t len;
	char *big = content("deb.raw", "/opt/app/src/sub/big.bin", &len);
	assert_int_equal(len, 3145728);
	size_t wlen;
	char *want = xp_test_read(tpath("src/sub/big.bin"), &wlen);
	assert_int_equal(wlen, len);
	assert_memory_equal(big, want, len);
	free(big);
	free(want);
	/* a single file with an owner, through a guest symlink into the guest's /run */
	assert_entry("deb.raw", "/run/xp/single.txt", 0100604, 1000, 1001, NULL);
	assert_content("deb.raw", "/run/xp/single.txt", "single\n");
	assert_entry("deb.raw", "/var/run", 0120777, 0, 0, "/run");
	/* the symlink climbing out with ".." resolved inside the guest: its /tmp */
	assert_content("deb.raw", "/tmp/single.txt", "single\n");
	assert_entry("deb.raw", "/escape", 0120777, 0, 0, "../../../../../tmp");

	/* the writes */
	assert_content("deb.raw", "/etc/motd", motd);
	assert_entry("deb.raw", "/etc/motd", 0100600, 0, 0, NULL);
	assert_entry("deb.raw", "/etc/new", 040755, 0, 0, NULL);
	assert_entry("deb.raw", "/etc/new/deep", 040755, 0, 0, NULL);
	assert_entry("deb.raw", "/etc/new/deep/file.conf", 0100644, 0, 0, NULL);
	assert_content("deb.raw", "/etc/new/deep/file.conf", "x=1\n");
	assert_entry("deb.raw", "/etc/motd.link", 0100644, 0, 0, NULL);
	assert_content("deb.raw", "/etc/motd.link", "link replaced\n");
	assert_content("deb.raw", "/etc/empty", "");

	/* the first-boot commands, script and unit, enabled */
	assert_entry("deb.raw", "/var/lib/xenprov/firstboot.d", 040700, 0, 0, NULL);
	assert_entry("deb.raw", "/var/lib/xenprov/firstboot.d/0001", 0100600, 0, 0, NULL);
	assert_content("deb.raw", "/var/lib/xenprov/firstboot.d/0001",
		       "echo first >>/root/fb.log\n");
	assert_content("deb.raw", "/var/lib/xenprov/firstboot.d/0002",
		       "systemctl enable nginx\t# a tab\n");
	assert_content("deb.raw", "/var/lib/xenprov/firstboot.d/0003", "echo 'é'\n");
	assert_false(present("deb.raw", "/var/lib/xenprov/firstboot.d/0004"));
	assert_entry("deb.raw", "/usr/local/lib/xenprov/firstboot", 0100755, 0, 0, NULL);
	assert_entry("deb.raw", "/etc/systemd/system/xenprov-firstboot.service", 0100644, 0, 0,
		     NULL);
	assert_entry("deb.raw", "/etc/systemd/system/multi-user.target.wants/xenprov-firstboot.service",
		     0120777, 0, 0, "/etc/systemd/system/xenprov-firstboot.service");
	char *unit = content("deb.raw", "/etc/systemd/system/xenprov-firstboot.service", NULL);
	xp_test_assert_contains(unit, "\nType=oneshot\nExecStart=/usr/local/lib/xenprov/firstboot\n");
	xp_test_assert_contains(unit, "\nStandardOutput=journal\n");
	xp_test_assert_contains(unit,
				"\nConditionDirectoryNotEmpty=/var/lib/xenprov/firstboot.d\n");
	free(unit);

	/* systemd reads the unit without a complaint, its script in place (a mount
	 * namespace of our own gives it one, with nothing of the host's changed) */
	if (geteuid() == 0 && xp_test_have("systemd-analyze") && xp_test_have("unshare")) {
		assert_int_equal(
		    xp_test_sh("cd '%s' && rm -rf root && mkdir root && "
			       "debugfs -R 'rdump /usr/local/lib/xenprov /etc/systemd/system root' "
			       "'deb.raw?offset=%llu' >/dev/null 2>&1 && test -x root/xenprov/firstboot",
			       tmpdir, (unsigned long long)off),
		    0);
		char *v = xp_test_out(
		    "cd '%s' && unshare -m sh -c 'mount -t tmpfs none /usr/local/lib && "
		    "mkdir /usr/local/lib/xenprov && cp root/xenprov/firstboot /usr/local/lib/xenprov/ "
		    "&& timeout 60 systemd-analyze verify --man=no "
		    "./root/system/xenprov-firstboot.service' 2>&1; echo rc=$?",
		    tmpdir);
		assert_string_equal(v, "rc=0\n");
		free(v);
	}
}

/* The script as the unit runs it, on a tree of its own (its paths moved under T):
 * commands in order, output announced; the first failure stops it with the command's
 * status and leaves it and those after it pending; the next run finishes them, then
 * removes the unit's wants link. */
static void test_firstboot_script(void **state)
{
	(void)state;
	tree("fbt", true, false);
	uint64_t off = build("fbt", "fbt.raw");
	char *t = xp_test_out("printf '%%s/fb' '%s'", tmpdir);
	static char c1[256], c2[256], c3[256];
	snprintf(c1, sizeof(c1), "echo one >>'%s/log'", t);
	snprintf(c2, sizeof(c2), "test -e '%s/ok' || exit 3; echo two >>'%s/log'", t, t);
	snprintf(c3, sizeof(c3), "echo three >>'%s/log'; echo to-the-journal", t);
	const char *const cmds[] = {c1, c2, c3};
	struct xp_guest_settings s = {.firstboot = cmds, .nfirstboot = 3};
	struct xp_diags d;
	assert_int_equal(apply("fbt.raw", &s, &d), 0);
	xp_diags_release(&d);
	xp_test_assert_fsck_clean(tpath("fbt.raw"), off);
	/* the guest's files out of the image, the script's paths moved under T */
	assert_int_equal(
	    xp_test_sh("set -e; T='%s'; rm -rf \"$T\"; mkdir -p \"$T/var/lib/xenprov\" "
		       "\"$T/etc/systemd/system/multi-user.target.wants\" && cd \"$T\" && "
		       "debugfs -R 'rdump /var/lib/xenprov/firstboot.d /usr/local/lib/xenprov/firstboot "
		       "var/lib/xenprov' '%s?offset=%llu' >/dev/null 2>&1 && "
		       "ln -s /etc/systemd/system/xenprov-firstboot.service "
		       "etc/systemd/system/multi-user.target.wants/xenprov-firstboot.service && "
		       "sed \"s#/var/lib/xenprov#$T/var/lib/xenprov#g; "
		       "s#/etc/systemd/system#$T/etc/systemd/system#g\" var/lib/xenprov/firstboot "
		       ">fb.sh",
		       t, tpath("fbt.raw"), (unsigned long long)off),
	    0);
	char *out = xp_test_out("cd '%s' && sh fb.sh 2>&1; echo rc=$?", t);
	xp_test_assert_contains(out, "xenprov-firstboot: 0001: running: echo one");
	xp_test_assert_contains(out, "xenprov-firstboot: 0001: done\n");
	xp_test_assert_contains(out, "xenprov-firstboot: 0002: failed with exit status 3; it and "
				     "the commands after it run again at the next boot\n");
	xp_test_assert_lacks(out, "0003");
	xp_test_assert_contains(out, "rc=3\n");
	free(out);
	out = xp_test_out("cd '%s' && cat log && ls var/lib/xenprov/firstboot.d "
			  "var/lib/xenprov/firstboot.done etc/systemd/system/multi-user.target.wants",
			  t);
	assert_string_equal(out, "one\netc/systemd/system/multi-user.target.wants:\n"
				 "xenprov-firstboot.service\n\n"
				 "var/lib/xenprov/firstboot.d:\n0002\n0003\n\n"
				 "var/lib/xenprov/firstboot.done:\n0001\n");
	free(out);
	/* fixed: the next boot runs the rest and disables the unit */
	out = xp_test_out("cd '%s' && touch ok && sh fb.sh 2>&1; echo rc=$?", t);
	xp_test_assert_lacks(out, "0001");
	xp_test_assert_contains(out, "xenprov-firstboot: 0003: done\n");
	xp_test_assert_contains(out, "\nto-the-journal\n");
	xp_test_assert_contains(out, "every command ran; xenprov-firstboot.service is disabled\nrc=0\n");
	free(out);
	out = xp_test_out("cd '%s' && cat log && ls var/lib/xenprov/firstboot.d "
			  "var/lib/xenprov/firstboot.done etc/systemd/system/multi-user.target.wants",
			  t);
	assert_string_equal(out, "one\ntwo\nthree\netc/systemd/system/multi-user.target.wants:\n\n"
				 "var/lib/xenprov/firstboot.d:\n\n"
				 "var/lib/xenprov/firstboot.done:\n0001\n0002\n0003\n");
	free(out);
	/* and a third run has nothing to do */
	out = xp_test_out("cd '%s' && sh fb.sh 2>&1; echo rc=$?; cat log", t);
	assert_string_equal(out, "xenprov-firstboot: every command ran; xenprov-firstboot.service "
				 "is disabled\nrc=0\none\ntwo\nthree\n");
	free(out);
	free(t);
}

/* What is refused, each with a diagnostic coded by the profile key; invalid settings
 * before the image is touched. */
static void test_refused(void **state)
{
	(void)state;
	tree("ref", true, true);
	build("ref", "ref.raw");
	unsigned char before[32], after[32];
	assert_int_equal(xp_sha256_file(tpath("ref.raw"), before), 0);
	struct xp_diags d;

	/* invalid items: nothing touched */
	const struct xp_guest_copy rel[] = {{"relative/path", "/opt", 0, 0}};
	const struct xp_guest_copy dots[] = {{"/srv", "/opt/../etc", 0, 0}};
	const struct xp_guest_write wdots[] = {{"/etc/../shadow", "x", 1}};
	const struct xp_guest_write wroot[] = {{"/", "x", 1}};
	static const char *const nl[] = {"echo a\necho b"};
	const struct xp_guest_settings invalid[] = {
	    {.timezone = "../../etc/shadow"},
	    {.copy_in = rel, .ncopy_in = 1},
	    {.copy_in = dots, .ncopy_in = 1},
	    {.write = wdots, .nwrite = 1},
	    {.write = wroot, .nwrite = 1},
	    {.firstboot = nl, .nfirstboot = 1},
	    {.firstboot = nl, .nfirstboot = XP_GUEST_MAX_ITEMS + 1},
	};
	static const char *const codes[] = {"timezone", "copy-in", "copy-in", "write",
					    "write",	"firstboot-command", "firstboot-command"};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		assert_int_equal(apply("ref.raw", &invalid[i], &d), -EINVAL);
		assert_true(has_code(&d, XP_SEV_ERROR, codes[i]));
		xp_diags_release(&d);
	}
	/* a write's content is never in a diagnostic */
	const struct xp_guest_write secret[] = {{"/etc/..", "s3cret", 6}};
	const struct xp_guest_settings sw = {.write = secret, .nwrite = 1};
	assert_int_equal(apply("ref.raw", &sw, &d), -EINVAL);
	for (size_t i = 0; i < d.n; i++) {
		xp_test_assert_lacks(d.v[i].msg, "s3cret");
		assert_true(!d.v[i].text || !strstr(d.v[i].text, "s3cret"));
	}
	xp_diags_release(&d);
	assert_int_equal(xp_sha256_file(tpath("ref.raw"), after), 0);
	assert_memory_equal(before, after, 32);

	/* a zone the image lacks, or a directory of zones */
	const struct xp_guest_settings nozone = {.timezone = "Mars/Olympus_Mons"};
	assert_int_equal(apply("ref.raw", &nozone, &d), -ENOENT);
	assert_true(has_code(&d, XP_SEV_ERROR, "timezone"));
	xp_test_assert_contains(d.v[0].msg, "no time zone 'Mars/Olympus_Mons'");
	xp_diags_release(&d);
	const struct xp_guest_settings dirzone = {.timezone = "Europe"};
	assert_int_equal(apply("ref.raw", &dirzone, &d), -ENOENT);
	xp_diags_release(&d);

	/* host sources: missing, a FIFO in a tree, too deep, too big */
	assert_int_equal(
	    xp_test_sh("cd '%s' && rm -rf h && mkdir -p h/fifo h/deep && mkfifo h/fifo/pipe && "
		       "p=h/deep && for i in $(seq 1 %d); do p=$p/d; done && mkdir -p $p && "
		       "truncate -s 5G h/huge",
		       tmpdir, XP_GUEST_MAX_COPY_DEPTH + 1),
	    0);
	char missing[4200], fifo[4200], deep[4200], huge[4200];
	snprintf(missing, sizeof(missing), "%s/h/none", tmpdir);
	snprintf(fifo, sizeof(fifo), "%s/h/fifo", tmpdir);
	snprintf(deep, sizeof(deep), "%s/h/deep", tmpdir);
	snprintf(huge, sizeof(huge), "%s/h/huge", tmpdir);
	const struct {
		const char *local;
		int err;
		const char *msg;
	} hosts[] = {
	    {missing, -ENOENT, "cannot open"},
	    {fifo, -EINVAL, "not a regular file, directory or symbolic link"},
	    {deep, -EFBIG, "nested more than 64 directories deep"},
	    {huge, -EFBIG, "more than 4 GiB of file data"},
	};
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		const struct xp_guest_copy one[] = {{hosts[i].local, "/opt", 0, 0}};
		const struct xp_guest_settings sc = {.copy_in = one, .ncopy_in = 1};
		assert_int_equal(apply("ref.raw", &sc, &d), hosts[i].err);
		assert_true(has_code(&d, XP_SEV_ERROR, "copy-in"));
		bool found = false;
		for (size_t k = 0; k < d.n; k++)
			found |= strstr(d.v[k].msg, hosts[i].msg) != NULL;
		if (!found)
			print_diags(&d);
		assert_true(found);
		xp_diags_release(&d);
	}

	/* a directory where a write's file goes; a file where a directory must be */
	const struct xp_guest_write wdir[] = {{"/etc", "x", 1}};
	const struct xp_guest_settings sd = {.write = wdir, .nwrite = 1};
	assert_int_equal(apply("ref.raw", &sd, &d), -EISDIR);
	xp_diags_release(&d);
	const struct xp_guest_write wfile[] = {{"/etc/motd/x", "x", 1}};
	const struct xp_guest_settings sf = {.write = wfile, .nwrite = 1};
	assert_int_equal(apply("ref.raw", &sf, &d), -ENOTDIR);
	xp_diags_release(&d);
	xp_test_assert_fsck_clean(tpath("ref.raw"), MIB);
}

/* Without tzdata: a warning, and the link made anyway (tzdata may come later). Without
 * systemd: first-boot commands are refused, not silently dropped. */
static void test_minimal_guests(void **state)
{
	(void)state;
	tree("min", false, false);
	uint64_t off = build("min", "min.raw");
	struct xp_diags d;
	const struct xp_guest_settings tz = {.timezone = "Europe/Paris"};
	assert_int_equal(apply("min.raw", &tz, &d), 0);
	assert_true(has_code(&d, XP_SEV_WARNING, "timezone"));
	xp_test_assert_contains(d.v[0].msg, "tzdata is not installed");
	xp_diags_release(&d);
	assert_entry("min.raw", "/etc/localtime", 0120777, 0, 0, "/usr/share/zoneinfo/Europe/Paris");
	static const char *const cmds[] = {"true"};
	const struct xp_guest_settings fb = {.firstboot = cmds, .nfirstboot = 1};
	assert_int_equal(apply("min.raw", &fb, &d), -ENOTSUP);
	assert_true(has_code(&d, XP_SEV_ERROR, "firstboot-command"));
	xp_test_assert_contains(d.v[0].msg, "no systemd");
	xp_diags_release(&d);
	assert_false(present("min.raw", "/var/lib/xenprov"));
	xp_test_assert_fsck_clean(tpath("min.raw"), off);
	/* /etc/timezone only for the Debian family (or where there is one) */
	assert_int_equal(xp_test_sh("cd '%s/min' && rm etc/debian_version", tmpdir), 0);
	build("min", "min2.raw");
	assert_int_equal(apply("min2.raw", &tz, &d), 0);
	xp_diags_release(&d);
	assert_false(present("min2.raw", "/etc/timezone"));
}

int main(void)
{
	if (xp_test_need("tar debugfs e2fsck sed"))
		return 77;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syntax),
	    xp_test_in_scratch(test_applied),
	    xp_test_in_scratch(test_firstboot_script),
	    xp_test_in_scratch(test_refused),
	    xp_test_in_scratch(test_minimal_guests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
