/*
 * test-install.c - unit tests of what `xenprov install --server` rests on that has no
 * network in it (xenprov/install.h): golden images published by the SHA-256 of their
 * content (deploy/golden-publish.c) and opened by hash only while they are the file
 * hashed; names that are not a hash; records that are symlinks; the caller's cache of
 * publications; the keys a served profile never gives a dom0; the autoinstall
 * installer's choice of disk (a /sys/block made here) and its refusals before any
 * request (installer-run.c; the whole install is serve-autoinstall-qemu.sh's). The HTTP side and the
 * fetch are tested end to end in tests/integration/install-server.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "xenprov/install.h"
#include "xenprov/installer-run.h"

XP_TEST_SCRATCH("test-install")

/* A raw golden image in the scratch directory: an ext4 filesystem (its superblock is
 * what xp_golden_prepare recognises); its path, and the profile values naming it. */
static const char *make_image(struct xp_settings *s)
{
	const char *path = tpath("golden.img");
	assert_int_equal(xp_test_sh("mke2fs -q -F -t ext4 '%s' 8M", path), 0);
	memset(s, 0, sizeof(*s));
	assert_int_equal(xp_settings_set(s, "image", path), 0);
	return path;
}

static void hex_of(const char *path, char out[65])
{
	unsigned char dg[32];
	assert_int_equal(xp_sha256_file(path, dg), 0);
	xp_sha256_hex(dg, out);
}

static void test_hex_valid(void **st)
{
	(void)st;
	static const char ok[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	assert_true(xp_sha256_hex_valid(ok));
	static const char *const bad[] = {
	    "",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",	 /* 63 */
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", /* 65 */
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",	 /* upper */
	    "../3456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde/",
	    "0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd;
		uint64_t size;
		assert_false(xp_sha256_hex_valid(bad[i]));
		assert_int_equal(xp_golden_published_open(tmpdir, bad[i], &fd, &size), -EINVAL);
		assert_int_equal(fd, -1);
	}
}

static void test_publish_and_open(void **st)
{
	(void)st;
	struct xp_settings s;
	const char *img = make_image(&s);
	struct xp_golden_pub pub;
	struct xp_diags d = {0};
	assert_int_equal(xp_golden_publish(tmpdir, &s, &pub, &d), 0);
	char want[65];
	hex_of(img, want);
	assert_string_equal(pub.sha256, want);
	assert_int_equal(pub.size, 8u << 20);
	assert_string_equal(pub.format, "raw");
	/* opened by its hash: the same bytes */
	int fd;
	uint64_t size;
	assert_int_equal(xp_golden_published_open(tmpdir, pub.sha256, &fd, &size), 0);
	assert_int_equal(size, 8u << 20);
	unsigned char dg[32];
	char got[65];
	assert_int_equal(xp_sha256_fd(fd, dg), 0);
	xp_sha256_hex(dg, got);
	assert_string_equal(got, want);
	close(fd);
	/* a hash nothing is published under */
	char other[65];
	memcpy(other, want, 65);
	other[0] = other[0] == '0' ? '1' : '0';
	assert_int_equal(xp_golden_published_open(tmpdir, other, &fd, &size), -ENOENT);
	/* changed since it was hashed (its bytes, or only its times): not served under
	 * the old name */
	assert_int_equal(xp_test_sh("touch '%s'", img), 0);
	assert_int_equal(xp_golden_published_open(tmpdir, want, &fd, &size), -ENOENT);
	/* published again: hashed again, the same name for the same bytes, the stale record
	 * replaced */
	assert_int_equal(xp_golden_publish(tmpdir, &s, &pub, &d), 0);
	assert_string_equal(pub.sha256, want);
	assert_int_equal(xp_golden_published_open(tmpdir, want, &fd, &size), 0);
	close(fd);
	/* different bytes: another name, the old one gone */
	assert_int_equal(xp_test_sh("printf x | dd of='%s' bs=1 seek=4000000 conv=notrunc "
				    "status=none",
				    img),
			 0);
	assert_int_equal(xp_golden_publish(tmpdir, &s, &pub, &d), 0);
	assert_string_not_equal(pub.sha256, want);
	assert_int_equal(xp_golden_published_open(tmpdir, want, &fd, &size), -ENOENT);
	char rec[4200];
	snprintf(rec, sizeof(rec), "%s/published/%s", tmpdir, want);
	assert_int_equal(access(rec, F_OK), -1);
	xp_settings_release(&s);
	xp_diags_release(&d);
}

static void test_record_symlink_refused(void **st)
{
	(void)st;
	struct xp_settings s;
	make_image(&s);
	struct xp_golden_pub pub;
	struct xp_diags d = {0};
	assert_int_equal(xp_golden_publish(tmpdir, &s, &pub, &d), 0);
	/* a record that is a symlink (to the real one) is not followed */
	char rec[4200], fake[65];
	memset(fake, 'a', 64);
	fake[64] = '\0';
	snprintf(rec, sizeof(rec), "%s/published/%s", tmpdir, fake);
	assert_int_equal(symlink(pub.sha256, rec), 0);
	int fd;
	uint64_t size;
	assert_int_equal(xp_golden_published_open(tmpdir, fake, &fd, &size), -ENOENT);
	/* a record naming a file that is not regular */
	char text[4300];
	memset(fake, 'b', 64);
	snprintf(rec, sizeof(rec), "%s/published/%s", tmpdir, fake);
	snprintf(text, sizeof(text),
		 "{\"path\":\"%s\",\"dev\":0,\"ino\":0,\"size\":0,\"mtime_ns\":0,\"ctime_ns\":0}",
		 tmpdir);
	xp_test_write(rec, text);
	assert_int_equal(xp_golden_published_open(tmpdir, fake, &fd, &size), -ENOENT);
	/* not JSON */
	xp_test_write(rec, "garbage");
	assert_int_equal(xp_golden_published_open(tmpdir, fake, &fd, &size), -ENOENT);
	xp_settings_release(&s);
	xp_diags_release(&d);
}

static void test_no_image(void **st)
{
	(void)st;
	struct xp_settings s = {0};
	assert_int_equal(xp_settings_set(&s, "distro", "bookworm"), 0);
	struct xp_golden_pub pub;
	struct xp_diags d = {0};
	assert_int_equal(xp_golden_publish(tmpdir, &s, &pub, &d), -ENODATA);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "the profile has no image");
	xp_diags_release(&d);
	/* a block device is not served */
	assert_int_equal(xp_settings_set(&s, "image", "/dev/null"), 0);
	assert_true(xp_golden_publish(tmpdir, &s, &pub, &d) < 0);
	xp_settings_release(&s);
	xp_diags_release(&d);
}

static void test_cache(void **st)
{
	(void)st;
	struct xp_settings s;
	make_image(&s);
	struct xp_golden_pub_cache c = {0};
	struct xp_golden_pub a, b;
	struct xp_diags d = {0};
	assert_int_equal(xp_golden_publish_cached(&c, tmpdir, &s, &a, &d), 0);
	assert_int_equal(c.n, 1);
	/* remembered: the record removed behind its back is noticed (the published file
	 * is checked), and it is published again */
	char rec[4200];
	snprintf(rec, sizeof(rec), "%s/published/%s", tmpdir, a.sha256);
	assert_int_equal(xp_golden_publish_cached(&c, tmpdir, &s, &b, &d), 0);
	assert_string_equal(a.sha256, b.sha256);
	assert_int_equal(unlink(rec), 0);
	assert_int_equal(xp_golden_publish_cached(&c, tmpdir, &s, &b, &d), 0);
	assert_string_equal(a.sha256, b.sha256);
	assert_int_equal(access(rec, F_OK), 0);
	assert_int_equal(c.n, 1);
	/* find: what is remembered, never a preparation; the published file changed (a
	 * new identity: touch), found no more */
	struct xp_golden_pub f;
	assert_int_equal(xp_golden_pub_cache_find(&c, tmpdir, &s, &f), 1);
	assert_string_equal(f.sha256, a.sha256);
	/* other values: another entry; not found before they are published */
	assert_int_equal(xp_settings_set(&s, "memory", "256"), 0);
	assert_int_equal(xp_golden_pub_cache_find(&c, tmpdir, &s, &f), 0);
	assert_int_equal(c.n, 1);
	/* with a lock (a cache shared by threads): the same, the lock left free */
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	c.lock = &lock;
	assert_int_equal(xp_golden_publish_cached(&c, tmpdir, &s, &b, &d), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(xp_golden_pub_cache_find(&c, tmpdir, &s, &f), 1);
	assert_int_equal(pthread_mutex_trylock(&lock), 0);
	pthread_mutex_unlock(&lock);
	struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	assert_int_equal(utimensat(AT_FDCWD, tpath("golden.img"), ts, 0), 0);
	assert_int_equal(xp_golden_pub_cache_find(&c, tmpdir, &s, &f), 0);
	xp_golden_pub_cache_release(&c);
	assert_int_equal(c.n, 0);
	xp_settings_release(&s);
	xp_diags_release(&d);
}

static void test_dropped_keys(void **st)
{
	(void)st;
	static const char *const dropped[] = {"image", "include",    "install",
					      "pool",  "config-dir", "publish-image"};
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
		assert_true(xp_install_key_dropped(dropped[i]));
	static const char *const kept[] = {"memory", "storage",		 "bridge", "disk-size",
					   "boot",   "config.on_reboot", "pools",  ""};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		assert_false(xp_install_key_dropped(kept[i]));
}

/* blk NAME REMOVABLE RO SECTORS: an entry of the fake /sys/block */
static void blk(const char *name, int removable, int ro, unsigned long long sectors)
{
	assert_int_equal(xp_test_sh("cd '%s' && mkdir -p %s && echo %d >%s/removable && echo %d "
				    ">%s/ro && echo %llu >%s/size",
				    tpath("sys"), name, removable, name, ro, name, sectors, name),
			 0);
}

static void test_pick_disk(void **st)
{
	(void)st;
	char name[64];
	assert_int_equal(xp_test_sh("mkdir -p '%s'", tpath("sys")), 0);
	assert_int_equal(xp_installer_pick_disk(tpath("sys"), name, sizeof(name)), -ENODEV);
	blk("loop0", 0, 0, 1000);
	blk("ram0", 0, 0, 1000);
	blk("sr0", 1, 0, 1000);
	blk("dm-0", 0, 0, 1000);
	blk("sda", 1, 0, 1000); /* a USB stick */
	blk("sdb", 0, 1, 1000); /* read-only */
	blk("vdz", 0, 0, 0);	/* empty */
	assert_int_equal(xp_installer_pick_disk(tpath("sys"), name, sizeof(name)), -ENODEV);
	blk("xvda", 0, 0, 2048);
	blk("vda", 0, 0, 2048);
	assert_int_equal(xp_installer_pick_disk(tpath("sys"), name, sizeof(name)), 0);
	assert_string_equal(name, "vda"); /* the first by name */
	assert_int_equal(xp_installer_pick_disk(tpath("none"), name, sizeof(name)), -ENOENT);
}

/* The firmware: as named, else whether the EFI directory of sysfs exists */
static void test_firmware(void **st)
{
	(void)st;
	bool uefi = true;
	assert_int_equal(xp_installer_firmware("bios", NULL, &uefi), 0);
	assert_false(uefi);
	assert_int_equal(xp_installer_firmware("uefi", NULL, &uefi), 0);
	assert_true(uefi);
	assert_int_equal(xp_installer_firmware("efi", NULL, &uefi), -EINVAL);
	assert_int_equal(xp_installer_firmware("", NULL, &uefi), -EINVAL);
	assert_int_equal(xp_installer_firmware(NULL, tpath("no-efi"), &uefi), 0);
	assert_false(uefi);
	assert_int_equal(xp_test_sh("mkdir -p '%s'", tpath("efi")), 0);
	assert_int_equal(xp_installer_firmware(NULL, tpath("efi"), &uefi), 0);
	assert_true(uefi);
}

static void test_run_refusals(void **st)
{
	(void)st;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_installer_run_result res;
	/* no xenprov.* words: nothing asked of any server */
	assert_int_equal(xp_test_sh("echo 'console=ttyS0 quiet' >'%s'", tpath("cmdline")), 0);
	struct xp_installer_run_opts o = {.cmdline = tpath("cmdline")};
	assert_int_equal(xp_installer_run(&o, &res, &d), -EINVAL);
	assert_true(d.n > 0 && strstr(d.v[0].msg, "xenprov.token="));
	xp_diags_release(&d);
	xp_diags_init(&d);
	assert_int_equal(xp_test_sh("echo 'xenprov.server=http://127.0.0.1:9 xenprov.system=../x "
				    "xenprov.mac=52:54:00:00:00:01 xenprov.token=t' >'%s'",
				    tpath("cmdline")),
			 0);
	assert_int_equal(xp_installer_run(&o, &res, &d), -EINVAL);
	assert_true(d.n > 0 && strstr(d.v[0].msg, "'../x' is not a system name"));
	xp_diags_release(&d);
	xp_diags_init(&d);
	o.cmdline = tpath("missing");
	assert_int_equal(xp_installer_run(&o, &res, &d), -ENOENT);
	xp_diags_release(&d);
}

int main(void)
{
	if (xp_test_need("mke2fs") != 0)
		return 77;
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_hex_valid),
	    xp_test_in_scratch(test_publish_and_open),
	    xp_test_in_scratch(test_record_symlink_refused),
	    xp_test_in_scratch(test_no_image),
	    xp_test_in_scratch(test_cache),
	    cmocka_unit_test(test_dropped_keys),
	    xp_test_in_scratch(test_pick_disk),
	    xp_test_in_scratch(test_firmware),
	    xp_test_in_scratch(test_run_refusals),
	};
	return xp_test_run_backends(tests, NULL);
}
