/*
 * test-domain-config-oracle.c - the xl configs `xenprov domain create` writes
 * (xp_guest_config_text), read by Xen's own libxlutil (Debian libxen-dev): the file must
 * be accepted by xlu_cfg_readdata, every setting must come back through
 * xlu_cfg_get_string / _long / _list with exactly the intended value, and the disk spec
 * must be accepted by xlu_disk_parse with the intended target, format, vdev, access and
 * backend type. The vif item is compared with the intended spec text and split the way
 * xl's parse_nic_config splits it (libxlutil has no vif parser; xl does that itself).
 * A guest with further disks and NICs: each disk spec at its vdev, each vif in order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxl.h>
#include <libxlutil.h>

#include "oracle.h"
#include "xenprov/domain.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct kv {
	const char *key, *value;
};

struct want {
	const char *name;
	long memory, vcpus;
	const char *bootloader, *kernel, *ramdisk, *root, *extra;
	const char *on_poweroff, *on_reboot, *on_crash;
	libxl_disk_format format;
	libxl_disk_backend backend;
	const char *vif; /* the whole spec */
};

struct oracle_case {
	const char *what;
	struct xp_guest_config gc;
	struct kv settings[8];
	struct want w;
};

static const struct oracle_case cases[] = {
	{"file, pygrub, defaults",
	 {.name = "web1", .storage = XP_STORAGE_FILE, .disk_path = "/srv/xen/web1.img",
	  .disk_format = XP_IMAGE_RAW, .mac = "00:16:3e:12:34:56", .ip = "10.0.0.2", .profile = "p"},
	 {{NULL, NULL}},
	 {"web1", XP_DOMAIN_DEFAULT_MEMORY, 1, "pygrub", NULL, NULL, NULL, NULL, "destroy",
	  "restart", "restart", LIBXL_DISK_FORMAT_RAW, LIBXL_DISK_BACKEND_UNKNOWN,
	  "mac=00:16:3e:12:34:56,bridge=xenbr0,ip=10.0.0.2"}},
	{"qcow2 overlay, memory, vcpus, bridge, dhcp",
	 {.name = "db-2", .storage = XP_STORAGE_QCOW2, .disk_path = "/var/lib/xenprov/disks/db-2.qcow2",
	  .disk_format = XP_IMAGE_QCOW2, .mac = "00:16:3e:aa:bb:cc"},
	 {{"memory", "4096"}, {"vcpus", "8"}, {"bridge", "br-dmz"}, {NULL, NULL}},
	 {"db-2", 4096, 8, "pygrub", NULL, NULL, NULL, NULL, "destroy", "restart", "restart",
	  LIBXL_DISK_FORMAT_QCOW2, LIBXL_DISK_BACKEND_UNKNOWN, "mac=00:16:3e:aa:bb:cc,bridge=br-dmz"}},
	{"lvm, kernel boot with quotes and backslashes in extra",
	 {.name = "k", .storage = XP_STORAGE_LVM, .disk_path = "/dev/vg0/k",
	  .disk_format = XP_IMAGE_RAW, .mac = "02:00:00:00:00:01", .ip = "192.168.7.9"},
	 {{"boot", "kernel"},
	  {"kernel", "/boot/vmlinuz-6.1.0-26-amd64"},
	  {"ramdisk", "/boot/initrd.img-6.1.0-26-amd64"},
	  {"extra", "console=hvc0 init=/bin/sh x=\"a b\" y='c' z=\\q\\\\"},
	  {NULL, NULL}},
	 {"k", XP_DOMAIN_DEFAULT_MEMORY, 1, NULL, "/boot/vmlinuz-6.1.0-26-amd64",
	  "/boot/initrd.img-6.1.0-26-amd64", "/dev/xvda1",
	  "console=hvc0 init=/bin/sh x=\"a b\" y='c' z=\\q\\\\", "destroy", "restart", "restart",
	  LIBXL_DISK_FORMAT_RAW, LIBXL_DISK_BACKEND_PHY, "mac=02:00:00:00:00:01,bridge=xenbr0,ip=192.168.7.9"}},
	{"pvgrub, bare filesystem root, config overrides",
	 {.name = "pv", .storage = XP_STORAGE_REFLINK, .disk_path = "/srv/my xen/it's \"pv\".img",
	  .disk_format = XP_IMAGE_RAW, .mac = "00:16:3e:00:00:01"},
	 {{"boot", "pvgrub"},
	  {"label", "none"},
	  {"config.on_crash", "\"coredump-restart\""},
	  {"config.on_reboot", "'destroy'"},
	  {"config.vcpus", "0x4"},
	  {"config.cpus", "[ \"0-3\", \"5\" ]"},
	  {NULL, NULL}},
	 {"pv", XP_DOMAIN_DEFAULT_MEMORY, 4, NULL, XP_DOMAIN_PVGRUB_KERNEL, NULL, NULL, NULL,
	  "destroy", "destroy", "coredump-restart", LIBXL_DISK_FORMAT_RAW,
	  LIBXL_DISK_BACKEND_UNKNOWN, "mac=00:16:3e:00:00:01,bridge=xenbr0"}},
	{"kernel boot, bare filesystem, root from the profile",
	 {.name = "K2", .storage = XP_STORAGE_QCOW2, .disk_path = "/a,b/K2.qcow2",
	  .disk_format = XP_IMAGE_QCOW2, .mac = "00:16:3e:0f:0e:0d", .ip = "10.255.255.254"},
	 {{"boot", "kernel"}, {"kernel", "/k"}, {"root", "LABEL=root"}, {"memory", "16"}, {NULL, NULL}},
	 {"K2", 16, 1, NULL, "/k", NULL, "LABEL=root", NULL, "destroy", "restart", "restart",
	  LIBXL_DISK_FORMAT_QCOW2, LIBXL_DISK_BACKEND_UNKNOWN,
	  "mac=00:16:3e:0f:0e:0d,bridge=xenbr0,ip=10.255.255.254"}},
};

static void check_string(XLU_Config *x, const char *name, const char *want)
{
	const char *got = NULL;
	int r = xlu_cfg_get_string(x, name, &got, 1);
	if (!want) {
		if (r != ESRCH)
			fail_msg("%s: libxlutil finds \"%s\" (%d), want none", name, got ? got : "", r);
		return;
	}
	if (r != 0)
		fail_msg("%s: xlu_cfg_get_string gives %d", name, r);
	assert_string_equal(got, want);
}

static void check_long(XLU_Config *x, const char *name, long want)
{
	long got;
	int r = xlu_cfg_get_long(x, name, &got, 1);
	if (r != 0)
		fail_msg("%s: xlu_cfg_get_long gives %d", name, r);
	assert_int_equal(got, want);
}

static const char *one_item(XLU_Config *x, const char *name)
{
	XLU_ConfigList *list;
	int n = -1;
	if (xlu_cfg_get_list(x, name, &list, &n, 1) != 0)
		fail_msg("%s: not a list for libxlutil", name);
	assert_int_equal(n, 1);
	const char *s = xlu_cfg_get_listitem(list, 0);
	assert_non_null(s);
	return s;
}

static void test_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct oracle_case *c = &cases[i];
		print_message("%s\n", c->what);
		struct xp_settings s = {0};
		for (const struct kv *kv = c->settings; kv->key; kv++)
			assert_int_equal(xp_settings_set(&s, kv->key, kv->value), 0);
		struct xp_guest_config gc = c->gc;
		gc.settings = &s;
		struct xp_buf text = XP_BUF_INIT;
		assert_int_equal(xp_guest_config_text(&gc, &text, NULL), 0);

		struct oracle_xlu xlu;
		XLU_Config *x = oracle_xlu_open(&xlu, "guest.cfg");
		int r = xlu_cfg_readdata(x, text.s, (int)text.len);
		if (r != 0)
			fail_msg("libxlutil rejects the config (%d): %s\n%s", r,
				 oracle_xlu_said(&xlu), text.s);

		const struct want *w = &c->w;
		check_string(x, "name", w->name);
		check_string(x, "type", "pv");
		check_long(x, "memory", w->memory);
		check_long(x, "vcpus", w->vcpus);
		check_string(x, "bootloader", w->bootloader);
		check_string(x, "kernel", w->kernel);
		check_string(x, "ramdisk", w->ramdisk);
		check_string(x, "root", w->root);
		check_string(x, "extra", w->extra);
		check_string(x, "on_poweroff", w->on_poweroff);
		check_string(x, "on_reboot", w->on_reboot);
		check_string(x, "on_crash", w->on_crash);
		check_string(x, "maxmem", NULL);

		/* the disk, as xl create reads it */
		const char *spec = one_item(x, "disk");
		libxl_device_disk disk;
		libxl_device_disk_init(&disk);
		if (xlu_disk_parse(x, 1, &spec, &disk) != 0)
			fail_msg("xlu_disk_parse rejects '%s'", spec);
		assert_string_equal(disk.pdev_path, c->gc.disk_path);
		assert_string_equal(disk.vdev, "xvda");
		assert_int_equal(disk.format, w->format);
		assert_int_equal(disk.backend, w->backend);
		assert_int_equal(disk.readwrite, 1);
		assert_int_equal(disk.is_cdrom, 0);
		assert_int_equal(disk.removable, 0);
		libxl_device_disk_dispose(&disk);

		/* the vif: parse_nic_config splits on ',' and reads KEY=VALUE */
		const char *vif = one_item(x, "vif");
		assert_string_equal(vif, w->vif);
		char *copy = strdup(vif), *save = NULL;
		assert_non_null(copy);
		int seen_mac = 0;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(t, '=');
			assert_non_null(eq);
			*eq = 0;
			if (strcmp(t, "mac") == 0) {
				assert_string_equal(eq + 1, c->gc.mac);
				seen_mac = 1;
			} else if (strcmp(t, "ip") == 0) {
				assert_non_null(c->gc.ip);
				assert_string_equal(eq + 1, c->gc.ip);
			} else {
				assert_string_equal(t, "bridge");
			}
		}
		assert_true(seen_mac);
		free(copy);

		free(oracle_xlu_close(&xlu));
		xp_buf_release(&text);
		xp_settings_release(&s);
	}
}

/* A guest with further disks (a data disk on a file, one on qcow2, the swap volume on
 * a logical volume) and further NICs (static and DHCP, on other bridges): every disk
 * spec is one libxlutil's disk parser reads at its vdev with its own target, format and
 * backend; every vif spec holds its own MAC, bridge and address, in devid order. */
static void test_devices(void **state)
{
	(void)state;
	static const struct xp_domain_volume disks[] = {
	    {.vdev = "xvdb", .role = "data", .storage = "file", .path = "/srv/xen/web1.data1.img",
	     .fs = "ext4", .size = 1 << 30},
	    {.vdev = "xvdc", .role = "data", .storage = "qcow2",
	     .path = "/srv/other pool/web1.data2.qcow2", .fs = "none", .size = 1 << 30},
	    {.vdev = "xvdd", .role = "swap", .storage = "lvm", .path = "/dev/vg0/web1.swap",
	     .fs = "swap", .size = 1 << 28},
	};
	static const struct xp_domain_nic nics[] = {
	    {.devid = 1, .mac = "00:16:3e:00:00:02", .ip = "10.9.0.7", .prefix_len = 16,
	     .bridge = "br-back"},
	    {.devid = 2, .mac = "02:aa:00:00:00:03", .bridge = "xenbr2"},
	};
	struct xp_settings s = {0};
	assert_int_equal(xp_settings_set(&s, "bridge", "br-front"), 0);
	struct xp_guest_config gc = {.name = "web1",
				     .settings = &s,
				     .storage = XP_STORAGE_QCOW2,
				     .disk_path = "/srv/xen/web1.qcow2",
				     .disk_format = XP_IMAGE_QCOW2,
				     .mac = "00:16:3e:00:00:01",
				     .ip = "10.0.0.5",
				     .volumes = disks,
				     .nvolumes = N(disks),
				     .nics = nics,
				     .nnics = N(nics)};
	struct xp_buf text = XP_BUF_INIT;
	assert_int_equal(xp_guest_config_text(&gc, &text, NULL), 0);
	struct oracle_xlu xlu;
	XLU_Config *x = oracle_xlu_open(&xlu, "guest.cfg");
	if (xlu_cfg_readdata(x, text.s, (int)text.len) != 0)
		fail_msg("libxlutil rejects the config: %s\n%s", oracle_xlu_said(&xlu), text.s);

	static const struct {
		const char *path, *vdev;
		libxl_disk_format format;
		libxl_disk_backend backend;
	} want_disks[] = {
	    {"/srv/xen/web1.qcow2", "xvda", LIBXL_DISK_FORMAT_QCOW2, LIBXL_DISK_BACKEND_UNKNOWN},
	    {"/srv/xen/web1.data1.img", "xvdb", LIBXL_DISK_FORMAT_RAW, LIBXL_DISK_BACKEND_UNKNOWN},
	    {"/srv/other pool/web1.data2.qcow2", "xvdc", LIBXL_DISK_FORMAT_QCOW2,
	     LIBXL_DISK_BACKEND_UNKNOWN},
	    {"/dev/vg0/web1.swap", "xvdd", LIBXL_DISK_FORMAT_RAW, LIBXL_DISK_BACKEND_PHY},
	};
	XLU_ConfigList *list;
	int n = -1;
	assert_int_equal(xlu_cfg_get_list(x, "disk", &list, &n, 1), 0);
	assert_int_equal(n, (int)N(want_disks));
	for (int i = 0; i < n; i++) {
		const char *spec = xlu_cfg_get_listitem(list, i);
		libxl_device_disk disk;
		libxl_device_disk_init(&disk);
		if (xlu_disk_parse(x, 1, &spec, &disk) != 0)
			fail_msg("xlu_disk_parse rejects '%s'", spec);
		assert_string_equal(disk.pdev_path, want_disks[i].path);
		assert_string_equal(disk.vdev, want_disks[i].vdev);
		assert_int_equal(disk.format, want_disks[i].format);
		assert_int_equal(disk.backend, want_disks[i].backend);
		assert_int_equal(disk.readwrite, 1);
		libxl_device_disk_dispose(&disk);
	}

	static const char *const want_vifs[] = {
	    "mac=00:16:3e:00:00:01,bridge=br-front,ip=10.0.0.5",
	    "mac=00:16:3e:00:00:02,bridge=br-back,ip=10.9.0.7",
	    "mac=02:aa:00:00:00:03,bridge=xenbr2",
	};
	assert_int_equal(xlu_cfg_get_list(x, "vif", &list, &n, 1), 0);
	assert_int_equal(n, (int)N(want_vifs));
	for (int i = 0; i < n; i++)
		assert_string_equal(xlu_cfg_get_listitem(list, i), want_vifs[i]);
	free(oracle_xlu_close(&xlu));
	xp_buf_release(&text);
	xp_settings_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configs),
		cmocka_unit_test(test_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
