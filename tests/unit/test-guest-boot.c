/*
 * test-guest-boot.c - guests that boot their own kernel: the kernel versions' order
 * (dpkg's: 6.1.0-10 after 6.1.0-9), which names of /boot are kernels and which
 * initramfs goes with each, the kernels read from a tarball's headers and from a built
 * image; the refusals of boot methods that cannot work (xp_boot_check); the grub.cfg
 * xp_guest_apply writes into a real image for pygrub and PV GRUB (by the guest's new
 * UUID), the /etc/default/grub line where the guest has GRUB tooling, an image's own
 * configuration left alone; and kernel=from-image's copy, made once per golden image.
 * Images are built by xenprov from tiny roots made here (no distribution needed).
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
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "xenprov/domain.h"
#include "xenprov/guest.h"
#include "xenprov/image.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

XP_TEST_SCRATCH("test-guest-boot")

/* ---- versions and names ------------------------------------------------------------------ */

static void test_version_cmp(void **state)
{
	(void)state;
	/* a < b */
	static const char *const less[][2] = {
	    {"6.1.0-9-amd64", "6.1.0-10-amd64"},
	    {"6.1.0-9", "6.1.0-10"},
	    {"5.10.0-28-amd64", "6.1.0-9-amd64"},
	    {"6.1", "6.1.0"},
	    {"6.1.0~rc1", "6.1.0"}, /* '~' before the end */
	    {"6.1.0", "6.1.0a"},
	    {"6.1.0a", "6.1.0+"}, /* letters before other characters */
	    {"6.1.0-amd64", "6.1.0-rt-amd64"},
	    {"9", "10"},
	    {"99999999999999999999998", "99999999999999999999999"}, /* beyond 64 bits */
	    {"", "0a"},
	};
	for (size_t i = 0; i < N(less); i++) {
		print_message("%s < %s\n", less[i][0], less[i][1]);
		assert_true(xp_kernel_version_cmp(less[i][0], less[i][1]) < 0);
		assert_true(xp_kernel_version_cmp(less[i][1], less[i][0]) > 0);
	}
	static const char *const same[][2] = {
	    {"6.1.0-10-amd64", "6.1.0-10-amd64"}, {"6.01", "6.1"}, {"", ""}, {"0", ""}};
	for (size_t i = 0; i < N(same); i++)
		assert_int_equal(xp_kernel_version_cmp(same[i][0], same[i][1]), 0);
}

static void test_pick(void **state)
{
	(void)state;
	static const char *const names[] = {
	    "config-6.1.0-9-amd64",
	    "vmlinuz-6.1.0-9-amd64",
	    "initrd.img-6.1.0-9-amd64",
	    "vmlinuz-6.1.0-10-amd64",
	    "initrd.img-6.1.0-10-amd64",
	    "vmlinuz-5.14.0-1.el9.x86_64",
	    "initramfs-5.14.0-1.el9.x86_64.img", /* Red Hat */
	    "vmlinuz-5.14.21-default",
	    "initrd-5.14.21-default", /* SUSE */
	    "vmlinuz-4.19.0-1-amd64", /* no initramfs */
	    "vmlinuz-6.1.0-11-amd64.dpkg-tmp",
	    "vmlinuz-6.1.0-12-amd64.old",
	    "vmlinuz-6.1.0-13-amd64.bak",
	    "vmlinuz-6.1.0-14 amd64", /* not one word */
	    "vmlinuz-6.1.0-15'amd64",
	    "vmlinuz-",
	    "vmlinuz",
	    "System.map-6.1.0-10-amd64",
	};
	struct xp_boot_kernels k;
	assert_int_equal(xp_boot_kernels_pick(names, N(names), &k), 0);
	static const char *const want[][2] = {
	    {"6.1.0-10-amd64", "/boot/initrd.img-6.1.0-10-amd64"},
	    {"6.1.0-9-amd64", "/boot/initrd.img-6.1.0-9-amd64"},
	    {"5.14.21-default", "/boot/initrd-5.14.21-default"},
	    {"5.14.0-1.el9.x86_64", "/boot/initramfs-5.14.0-1.el9.x86_64.img"},
	    {"4.19.0-1-amd64", NULL},
	};
	assert_int_equal(k.n, N(want));
	for (size_t i = 0; i < N(want); i++) {
		assert_string_equal(k.v[i].version, want[i][0]);
		char kernel[128];
		snprintf(kernel, sizeof(kernel), "/boot/vmlinuz-%s", want[i][0]);
		assert_string_equal(k.v[i].kernel, kernel);
		if (want[i][1])
			assert_string_equal(k.v[i].initrd, want[i][1]);
		else
			assert_null(k.v[i].initrd);
	}
	struct xp_boot_kernels copy;
	assert_int_equal(xp_boot_kernels_copy(&k, &copy), 0);
	assert_int_equal(copy.n, k.n);
	assert_string_equal(copy.v[4].version, "4.19.0-1-amd64");
	assert_null(copy.v[4].initrd);
	xp_boot_kernels_release(&copy);
	xp_boot_kernels_release(&k);

	/* none; and more than 64 keep the 64 newest */
	assert_int_equal(xp_boot_kernels_pick(names, 1, &k), 0);
	assert_int_equal(k.n, 0);
	char *many[100];
	for (int i = 0; i < 100; i++)
		assert_true(asprintf(&many[i], "vmlinuz-6.1.0-%d-amd64", i) > 0);
	assert_int_equal(xp_boot_kernels_pick((const char *const *)many, 100, &k), 0);
	assert_int_equal(k.n, 64);
	assert_string_equal(k.v[0].version, "6.1.0-99-amd64");
	assert_string_equal(k.v[63].version, "6.1.0-36-amd64");
	xp_boot_kernels_release(&k);
	for (int i = 0; i < 100; i++)
		free(many[i]);
}

/* ---- tarballs and images -------------------------------------------------------------------- */

/* A tiny root in tmpdir/NAME with /etc and the kernels listed (each "VERSION" or
 * "VERSION+initrd"), tarred to tmpdir/NAME.tar.gz; extra is run in the root first.
 * The path is tpath's: valid for the next XP_TEST_PATHS paths. */
static const char *root_tarball(const char *name, const char *kernels, const char *extra)
{
	assert_int_equal(
	    xp_test_sh("set -e; r='%s/%s'; mkdir -p $r/etc/network $r/boot $r/bin; "
		       "echo golden >$r/etc/hostname; echo root:*:1:0::::: >$r/etc/shadow; "
		       "echo '/dev/xvda1 / ext4 defaults 0 1' >$r/etc/fstab; "
		       "printf 'auto lo\\niface lo inet loopback\\n' >$r/etc/network/interfaces; "
		       "for k in %s; do v=${k%%+initrd}; echo \"kernel $v\" >$r/boot/vmlinuz-$v; "
		       "[ \"$k\" = \"$v\" ] || echo \"initrd $v\" >$r/boot/initrd.img-$v; done; "
		       "cd $r; %s; tar --numeric-owner -czf '%s/%s.tar.gz' .",
		       tmpdir, name, kernels, extra ? extra : ":", tmpdir, name),
	    0);
	char file[300];
	snprintf(file, sizeof(file), "%s.tar.gz", name);
	return tpath(file);
}

static void test_archive(void **state)
{
	(void)state;
	/* a symlink and a directory named like kernels, a kernel below /boot and one
	 * outside it do not count; a hard link does */
	const char *tar = root_tarball(
	    "arch", "6.1.0-9-amd64+initrd 6.1.0-10-amd64",
	    "ln -s vmlinuz-6.1.0-10-amd64 boot/vmlinuz-6.1.0-99-amd64 && "
	    "mkdir boot/vmlinuz-6.1.0-98-amd64 boot/sub && echo k >boot/sub/vmlinuz-6.1.0-97 && "
	    "echo k >vmlinuz-6.1.0-96 && ln boot/vmlinuz-6.1.0-9-amd64 boot/vmlinuz-6.1.0-9-hard");
	struct xp_boot_kernels k;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_archive_boot_kernels(tar, &k, &d), 0);
	assert_int_equal(k.n, 3);
	assert_string_equal(k.v[0].version, "6.1.0-10-amd64");
	assert_null(k.v[0].initrd);
	assert_string_equal(k.v[1].version, "6.1.0-9-hard");
	assert_string_equal(k.v[2].version, "6.1.0-9-amd64");
	assert_string_equal(k.v[2].initrd, "/boot/initrd.img-6.1.0-9-amd64");
	xp_boot_kernels_release(&k);

	/* a root without /boot; a file that is no archive */
	tar = root_tarball("nokernel", "", "rmdir boot");
	assert_int_equal(xp_archive_boot_kernels(tar, &k, &d), 0);
	assert_int_equal(k.n, 0);
	assert_int_equal(xp_test_sh("head -c 3000 /dev/urandom | gzip >'%s'", tpath("bad.tar.gz")),
			 0);
	assert_true(xp_archive_boot_kernels(tpath("bad.tar.gz"), &k, &d) < 0);
	assert_true(xp_diags_count(&d, XP_SEV_ERROR) > 0);
	assert_int_equal(k.n, 0);
	xp_diags_release(&d);
}

/* Builds a raw image of size MiB (msdos table, ext4 root) of tarball into
 * tmpdir/NAME.img (a tpath). */
static const char *build_size(const char *name, const char *tarball, unsigned mib)
{
	char file[300];
	snprintf(file, sizeof(file), "%s.img", name);
	const char *out = tpath(file);
	struct xp_image_opts o = {
	    .archive = tarball,
	    .output = out,
	    .size = (uint64_t)mib << 20,
	    .fs = {.type = XP_FS_EXT4, .reserved_percent = -1},
	    .label = XP_LABEL_MSDOS,
	    .format = XP_IMAGE_RAW,
	};
	struct xp_image_result res;
	assert_int_equal(xp_image_build(&o, NULL, NULL, &res, NULL), 0);
	return out;
}

static const char *build(const char *name, const char *tarball)
{
	return build_size(name, tarball, 32);
}

static int to_buf(void *ud, const void *data, size_t len)
{
	xp_buf_add(ud, data, len);
	return 0;
}

/* The file path of the image's root filesystem (heap), or NULL if it has none. */
static char *image_cat(const char *image, const char *path)
{
	struct xp_blockdev *bd;
	struct xp_fs *fs;
	assert_int_equal(xp_image_open_fs(image, 0, &bd, &fs), 0);
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_fs_read(fs, path, to_buf, &b);
	xp_fs_close(fs);
	xp_blockdev_close(bd);
	if (r < 0) {
		xp_buf_release(&b);
		return NULL;
	}
	char *text = xp_buf_steal(&b);
	return text ? text : strdup("");
}

/* ---- the refusals ----------------------------------------------------------------------- */

struct check_case {
	const char *kv[6][2];
	int kernels; /* -1: not known; else how many the image has */
	bool complete;
	int rc;
	const char *code; /* of the error, or of the one warning with rc 0 */
};

static void test_check(void **state)
{
	(void)state;
	const char *kfile = tpath("vmlinuz"), *rfile = tpath("initrd.img"), *grub = tpath("pvgrub");
	assert_int_equal(xp_test_sh("echo k >'%s'; echo r >'%s'; echo g >'%s'; mkdir '%s'", kfile,
				    rfile, grub, tpath("dir")),
			 0);
	const char *dir = tpath("dir"), *missing = tpath("missing");
	const struct check_case cases[] = {
	    /* pygrub and pvgrub read the image's /boot */
	    {{{"boot", "pygrub"}}, 1, true, 0, NULL},
	    {{{"boot", "pygrub"}}, -1, true, 0, NULL},
	    {{{"boot", "pygrub"}}, 0, false, -ENOENT, "no-kernel"},
	    {{{"boot", "pygrub"}, {"type", "pvh"}}, 1, true, 0, NULL},
	    {{{"boot", "pvgrub"}, {"kernel", grub}}, 0, true, -ENOENT, "no-kernel"},
	    {{{"boot", "pvgrub"}, {"kernel", grub}}, 2, true, 0, NULL},
	    /* PV GRUB is loaded on the Xen host: its absence here is only a warning */
	    {{{"boot", "pvgrub"}, {"kernel", missing}}, 2, true, 0, "pvgrub"},
	    {{{"boot", "pvgrub"}, {"kernel", dir}}, 2, false, 0, "pvgrub"},
	    {{{"boot", "pvgrub"}, {"kernel", "from-image"}}, 2, true, -EINVAL, "kernel"},
	    /* no boot set: pygrub, only warned about without a kernel */
	    {{{"memory", "256"}}, 0, true, 0, "no-kernel"},
	    {{{"memory", "256"}}, 1, true, 0, NULL},
	    /* what a grub.cfg cannot say */
	    {{{"boot", "pygrub"}, {"extra", "a;b"}}, 1, true, -EINVAL, "extra"},
	    {{{"extra", "quiet $x"}}, -1, false, -EINVAL, "extra"},
	    {{{"boot", "kernel"}, {"kernel", kfile}, {"extra", "a;b"}}, 0, true, 0, NULL},
	    /* kernel: a file on this host */
	    {{{"boot", "kernel"}, {"kernel", kfile}, {"ramdisk", rfile}}, 0, true, 0, NULL},
	    {{{"boot", "kernel"}, {"kernel", missing}}, -1, false, -ENOENT, "kernel"},
	    {{{"boot", "kernel"}, {"kernel", dir}}, -1, false, -EINVAL, "kernel"},
	    {{{"boot", "kernel"}, {"kernel", kfile}, {"ramdisk", missing}},
	     1,
	     true,
	     -ENOENT,
	     "ramdisk"},
	    {{{"boot", "kernel"}, {"type", "pvh"}, {"kernel", kfile}}, -1, true, 0, NULL},
	    /* no kernel yet: a profile may leave it to a child, a guest may not */
	    {{{"boot", "kernel"}}, 1, false, 0, NULL},
	    {{{"boot", "kernel"}}, 1, true, -EINVAL, "kernel"},
	    /* from-image: the image's own */
	    {{{"boot", "kernel"}, {"kernel", "from-image"}}, 1, true, 0, NULL},
	    {{{"boot", "kernel"}, {"kernel", "from-image"}, {"type", "pvh"}}, -1, false, 0, NULL},
	    {{{"boot", "kernel"}, {"kernel", "from-image"}}, 0, false, -ENOENT, "no-kernel"},
	    {{{"boot", "kernel"}, {"kernel", "from-image"}, {"ramdisk", rfile}},
	     1,
	     true,
	     -EINVAL,
	     "ramdisk"},
	};
	struct xp_boot_kernel one[2] = {{"6.1.0-1", "/boot/vmlinuz-6.1.0-1", NULL},
					{"6.1.0-0", "/boot/vmlinuz-6.1.0-0", NULL}};
	for (size_t i = 0; i < N(cases); i++) {
		const struct check_case *c = &cases[i];
		struct xp_settings s = {0};
		for (size_t k = 0; k < N(c->kv) && c->kv[k][0]; k++)
			assert_int_equal(xp_settings_set(&s, c->kv[k][0], c->kv[k][1]), 0);
		struct xp_boot_kernels k = {one, c->kernels > 0 ? (size_t)c->kernels : 0, false};
		struct xp_diags d;
		xp_diags_init(&d);
		int r = xp_boot_check(&s, c->kernels < 0 ? NULL : &k, c->complete, &d);
		print_message("case %zu: %d (%s)\n", i, r, d.n ? d.v[0].msg : "-");
		assert_int_equal(r, c->rc);
		assert_int_equal(d.n, c->code ? 1 : 0);
		if (c->code) {
			assert_string_equal(d.v[0].code, c->code);
			assert_int_equal(d.v[0].severity, r < 0 ? XP_SEV_ERROR : XP_SEV_WARNING);
		}
		xp_diags_release(&d);
		xp_settings_release(&s);
	}

	/* at profile add: the kernels of a tarball, of a built image, or not known */
	const char *with = root_tarball("with", "6.1.0-10-amd64+initrd", NULL);
	const char *without = root_tarball("without", "", NULL);
	const char *image = build("without", without);
	/* a kernel by another name and a GRUB config of the image's own that names it:
	 * pygrub boots what the config says */
	const char *own = root_tarball("own", "",
				       "mkdir -p boot/grub && echo k >boot/vmlinuz && "
				       "echo 'menuentry x { linux /boot/vmlinuz }' >boot/grub/grub.cfg");
	const char *own_image = build("own", own);
	const char *images[][2] = {{with, "0"},	      {without, "-2"}, {image, "-2"},
				   {missing, "0"},    {own, "0"},      {own_image, "0"},
				   {"debian:bookworm", "0"}};
	for (size_t i = 0; i < N(images); i++) {
		struct xp_settings s = {0};
		assert_int_equal(xp_settings_set(&s, "image", images[i][0]), 0);
		assert_int_equal(xp_settings_set(&s, "boot", "pygrub"), 0);
		struct xp_diags d;
		xp_diags_init(&d);
		assert_int_equal(xp_boot_check_profile(&s, &d),
				 atoi(images[i][1]) == 0 ? 0 : -ENOENT);
		xp_diags_release(&d);
		xp_settings_release(&s);
	}
}

/* ---- the grub.cfg written per guest ------------------------------------------------------ */

static void apply(const char *image, bool grub, const char *args, int rc,
		  struct xp_guest_report *rep)
{
	struct xp_guest_settings s = {.hostname = "g1", .grub = grub, .kernel_args = args};
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_guest_apply(image, &s, rep, &d);
	for (size_t i = 0; i < d.n; i++)
		print_message("  diag: %s\n", d.v[i].msg);
	assert_int_equal(r, rc);
	xp_diags_release(&d);
}

static void test_apply_grub(void **state)
{
	(void)state;
	/* two block groups of 4 KiB blocks: a backup superblock at block 32768 */
	const char *img = build_size("plain",
				     root_tarball("plain",
						  "6.1.0-9-amd64+initrd 6.1.0-10-amd64+initrd 5.10.0-1",
						  NULL),
				     200);
	struct xp_guest_report rep;
	apply(img, true, "quiet", 0, &rep);
	assert_true(rep.grub_cfg_written);
	assert_string_equal(rep.boot_kernel, "/boot/vmlinuz-6.1.0-10-amd64");
	char *cfg = image_cat(img, "/boot/grub/grub.cfg");
	assert_non_null(cfg);
	char want[1024];
	/* the guest's new UUID, the newest first, root by partition without an initramfs */
	snprintf(want, sizeof(want),
		 "menuentry 'Linux 6.1.0-10-amd64' {\n"
		 "\tsearch --no-floppy --fs-uuid --set=root %s\n"
		 "\tlinux /boot/vmlinuz-6.1.0-10-amd64 root=UUID=%s ro console=hvc0 quiet\n"
		 "\tinitrd /boot/initrd.img-6.1.0-10-amd64\n}\n",
		 rep.fs_uuid, rep.fs_uuid);
	xp_test_assert_contains(cfg, want);
	xp_test_assert_contains(cfg, "\nmenuentry 'Linux 6.1.0-9-amd64' {\n");
	xp_test_assert_contains(cfg,
				"\tlinux /boot/vmlinuz-5.10.0-1 root=/dev/xvda1 ro console=hvc0 "
				"quiet\n}\n");
	assert_true(strstr(cfg, "6.1.0-10-amd64") < strstr(cfg, "6.1.0-9-amd64"));
	assert_true(strstr(cfg, "6.1.0-9-amd64") < strstr(cfg, "5.10.0-1"));
	free(cfg);
	/* no GRUB tooling in the image: /etc/default/grub is not made */
	assert_null(image_cat(img, "/etc/default/grub"));
	assert_int_equal(xp_test_sh("e2fsck -fn '%s?offset=%llu' >/dev/null", img,
				    (unsigned long long)rep.fs_offset),
			 0);
	/* the backup superblocks have the new UUID: the guest's own e2fsck -p at boot finds
	 * nothing to do (a backup with the golden image's UUID forces a full check, and a
	 * reboot after it rewrote the backups of the mounted root) */
	assert_int_equal(
	    xp_test_sh("[ \"$(dumpe2fs -h -o superblock=32768 -o blocksize=4096 '%s?offset=%llu' "
		       "2>/dev/null | sed -n 's/^Filesystem UUID: *//p')\" = %s ]",
		       img, (unsigned long long)rep.fs_offset, rep.fs_uuid),
	    0);
	assert_int_equal(xp_test_sh("cp --sparse=always '%s' '%s.copy' && "
				    "e2fsck -p '%s.copy?offset=%llu' >'%s.out' 2>&1 && "
				    "! grep -q forced '%s.out'",
				    img, img, img, (unsigned long long)rep.fs_offset, img, img),
			 0);

	/* applied again (a clone of this guest): its own configuration is kept, and follows
	 * the new UUID */
	char old[37];
	snprintf(old, sizeof(old), "%s", rep.fs_uuid);
	xp_guest_report_release(&rep);
	apply(img, true, "other", 0, &rep);
	assert_false(rep.grub_cfg_written);
	cfg = image_cat(img, "/boot/grub/grub.cfg");
	xp_test_assert_lacks(cfg, old);
	xp_test_assert_contains(cfg, rep.fs_uuid);
	xp_test_assert_lacks(cfg, "other");
	free(cfg);
	xp_guest_report_release(&rep);

	/* without grub nothing is written */
	img = build("nogrub", root_tarball("nogrub", "6.1.0-10-amd64+initrd", NULL));
	apply(img, false, NULL, 0, &rep);
	assert_false(rep.grub_cfg_written);
	assert_null(rep.boot_kernel);
	assert_null(image_cat(img, "/boot/grub/grub.cfg"));
	xp_guest_report_release(&rep);

	/* a guest with update-grub: the grub.cfg to boot now, and the line its update-grub
	 * puts on every command line after a kernel upgrade */
	img = build("tooling",
		    root_tarball("tooling", "6.1.0-10-amd64+initrd",
				 "mkdir -p usr/sbin etc/default && echo x >usr/sbin/update-grub && "
				 "printf 'GRUB_DEFAULT=0\\nGRUB_CMDLINE_LINUX=\"\"\\n' "
				 ">etc/default/grub"));
	apply(img, true, "quiet", 0, &rep);
	assert_true(rep.grub_cfg_written);
	cfg = image_cat(img, "/etc/default/grub");
	assert_string_equal(cfg,
			    "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"\"\n"
			    "# xenprov: the Xen console and the profile's kernel command line\n"
			    "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX console=hvc0 quiet\"\n");
	free(cfg);
	xp_guest_report_release(&rep);

	/* an image with its own configuration keeps it */
	img = build("own", root_tarball("own", "6.1.0-10-amd64+initrd",
					"mkdir -p boot/grub && echo 'menuentry mine' "
					">boot/grub/grub.cfg"));
	apply(img, true, NULL, 0, &rep);
	assert_false(rep.grub_cfg_written);
	cfg = image_cat(img, "/boot/grub/grub.cfg");
	assert_string_equal(cfg, "menuentry mine\n");
	free(cfg);
	xp_guest_report_release(&rep);

	/* refused: no kernel; a command line GRUB would read as syntax (nothing touched) */
	img = build("empty", root_tarball("empty", "", NULL));
	apply(img, true, NULL, -ENOENT, &rep);
	xp_guest_report_release(&rep);
	apply(img, true, "a;b", -EINVAL, &rep);
	assert_int_equal(rep.nwritten, 0);
	xp_guest_report_release(&rep);
}

/* ---- kernel=from-image ------------------------------------------------------------------- */

static void test_image_kernel(void **state)
{
	(void)state;
	const char *tar = root_tarball("own", "6.1.0-9-amd64+initrd 6.1.0-10-amd64+initrd", NULL);
	char sd[4400];
	snprintf(sd, sizeof(sd), "%s/state", tmpdir);
	struct xp_settings s = {0};
	assert_int_equal(xp_settings_set(&s, "image", tar), 0);
	assert_int_equal(xp_settings_set(&s, "disk-size", "33554432"), 0);
	struct xp_golden g;
	assert_int_equal(xp_golden_prepare(sd, &s, NULL, NULL, NULL, &g, NULL), 0);
	assert_int_equal(g.kernels.n, 2);
	assert_string_equal(g.kernels.v[0].version, "6.1.0-10-amd64");

	char *k1, *r1, *k2, *r2;
	assert_int_equal(xp_boot_image_kernel(sd, &g, &k1, &r1, NULL), 0);
	/* beside the golden image, under its key */
	char want[4600];
	snprintf(want, sizeof(want), "%.*s.kernel/vmlinuz-6.1.0-10-amd64",
		 (int)(strlen(g.path) - 4), g.path);
	assert_string_equal(k1, want);
	snprintf(want, sizeof(want), "%.*s.kernel/initrd.img-6.1.0-10-amd64",
		 (int)(strlen(g.path) - 4), g.path);
	assert_string_equal(r1, want);
	assert_int_equal(xp_test_sh("cmp -s '%s' '%s/own/boot/vmlinuz-6.1.0-10-amd64' && "
				    "cmp -s '%s' '%s/own/boot/initrd.img-6.1.0-10-amd64' && "
				    "[ $(stat -c %%a '%s') = 444 ]",
				    k1, tmpdir, r1, tmpdir, k1),
			 0);
	struct stat a, b;
	assert_int_equal(stat(k1, &a), 0);
	/* a second guest of the golden image: the same copy, not a new one */
	struct xp_golden g2;
	assert_int_equal(xp_golden_copy(&g, &g2), 0);
	assert_int_equal(xp_boot_image_kernel(sd, &g2, &k2, &r2, NULL), 0);
	assert_string_equal(k1, k2);
	assert_string_equal(r1, r2);
	assert_int_equal(stat(k2, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(xp_test_sh("[ $(ls -a '%s/images' | wc -l) = 4 ]", sd), 0);
	free(k1);
	free(r1);
	free(k2);
	free(r2);
	xp_golden_release(&g2);
	xp_golden_release(&g);

	/* a disk image used as it is: keyed by its identity, kept in the state directory */
	const char *img = build("bare", root_tarball("bare", "6.2+initrd", NULL));
	assert_int_equal(xp_settings_set(&s, "image", img), 0);
	assert_int_equal(xp_golden_prepare(sd, &s, NULL, NULL, NULL, &g, NULL), 0);
	assert_string_equal(g.path, img);
	assert_int_equal(xp_boot_image_kernel(sd, &g, &k1, &r1, NULL), 0);
	assert_int_equal(strncmp(k1, sd, strlen(sd)), 0);
	xp_test_assert_contains(k1, ".kernel/vmlinuz-6.2");
	free(k1);
	free(r1);
	xp_golden_release(&g);

	/* no kernel: refused, nothing made */
	img = build("none", root_tarball("none", "", NULL));
	assert_int_equal(xp_settings_set(&s, "image", img), 0);
	assert_int_equal(xp_golden_prepare(sd, &s, NULL, NULL, NULL, &g, NULL), 0);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_boot_image_kernel(sd, &g, &k1, &r1, &d), -ENOENT);
	assert_null(k1);
	assert_string_equal(d.v[0].code, "no-kernel");
	xp_diags_release(&d);
	xp_golden_release(&g);
	xp_settings_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_cmp),
	    cmocka_unit_test(test_pick),
	    cmocka_unit_test_setup_teardown(test_archive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_grub, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_image_kernel, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
