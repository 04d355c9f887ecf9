/*
 * test-inventory-boot.c - unit tests for the boot server's part of the inventory
 * (distro.c, system.c, server-settings.c, values.c, migration 2 in store.c): distros
 * and systems (add, update, get, list, remove, every refusal with its errno and
 * diagnostic), foreign keys, MAC canonicalisation and uniqueness, lookups by MAC and
 * IP, the server settings' checks and pools, data_version, and the migration of a
 * version-1 database.
 *
 * Each test works in its own scratch directory under XP_TEST_TMP, with real files for
 * kernels and initrds.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include <sqlite3.h>

#include "xenprov/autoinstall.h"
#include "xenprov/inventory.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static xp_test_pathbuf state, kernel, initrd, subdir;

XP_TEST_SCRATCH_WITH("inventory-boot", boot_files, xp_test_nothing)

/* A state directory's path, two small files standing for a kernel and an initrd, and
 * a directory. */
static int boot_files(void)
{
	xp_test_paths(tmpdir, state, "state", kernel, "vmlinuz", initrd, "initrd.img", subdir,
		      "dir", NULL);
	xp_test_write(kernel, "data\n");
	xp_test_write(initrd, "data\n");
	return mkdir(subdir, 0755);
}

static int add_distro(struct xp_inv *inv, const char *name)
{
	struct xp_distro d = {.name = (char *)name, .kernel = kernel, .initrd = initrd};
	return xp_distro_add(inv, &d, 0, NULL);
}

static int add_profile(struct xp_inv *inv, const char *name, const char *distro)
{
	struct xp_profile p = {.name = (char *)name};
	if (distro)
		assert_int_equal(xp_settings_set(&p.set, "distro", distro), 0);
	int r = xp_profile_add(inv, &p);
	xp_settings_release(&p.set);
	return r;
}

static int add_system(struct xp_inv *inv, const char *name, const char *mac, const char *ip,
		      const char *profile, const char *distro)
{
	struct xp_system s = {.name = (char *)name,
			      .mac = (char *)mac,
			      .ip = (char *)ip,
			      .profile = (char *)profile,
			      .distro = (char *)distro,
			      .netboot = true};
	return xp_system_add(inv, &s, NULL);
}

static void assert_names(struct xp_inv *inv, int (*list)(struct xp_inv *, char ***, size_t *),
			 const char *const *want, size_t nwant)
{
	char **names;
	size_t n;
	assert_int_equal(list(inv, &names, &n), 0);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(names[i], want[i]);
	xp_strv_free(names, n);
}

/* ---- distros --------------------------------------------------------------------------- */

static void test_distro_crud(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(xp_inv_schema_version(inv), XP_TEST_SCHEMA_VERSION);
	struct xp_distro d = {.name = "debian-12", .kernel = kernel, .kernel_options = ""};
	assert_int_equal(xp_distro_add(inv, &d, 0, NULL), 0);
	assert_int_equal(xp_distro_add(inv, &d, 0, NULL), -EEXIST);
	assert_string_equal(xp_inv_errmsg(inv), "distro 'debian-12' exists");

	struct xp_distro got;
	assert_int_equal(xp_distro_get(inv, "debian-12", &got), 0);
	assert_string_equal(got.name, "debian-12");
	assert_string_equal(got.kernel, kernel);
	assert_null(got.initrd);
	assert_string_equal(got.arch, "x86_64"); /* the default */
	assert_null(got.kernel_options);	 /* "" is none */
	assert_true(got.created > 1700000000);
	assert_int_equal(got.created, got.updated);
	int64_t created = got.created;
	xp_distro_release(&got);
	assert_null(got.name);

	struct xp_distro up = {.name = "debian-12",
			       .kernel = kernel,
			       .initrd = initrd,
			       .arch = "aarch64",
			       .kernel_options = "console=ttyS0 quiet"};
	assert_int_equal(xp_distro_update(inv, &up, 0, NULL), 0);
	assert_int_equal(xp_distro_get(inv, "debian-12", &got), 0);
	assert_string_equal(got.initrd, initrd);
	assert_string_equal(got.arch, "aarch64");
	assert_string_equal(got.kernel_options, "console=ttyS0 quiet");
	assert_int_equal(got.created, created);
	xp_distro_release(&got);

	up.name = "nope";
	assert_int_equal(xp_distro_update(inv, &up, 0, NULL), -ENOENT);
	assert_string_equal(xp_inv_errmsg(inv), "no distro 'nope'");
	assert_int_equal(xp_distro_get(inv, "nope", &got), -ENOENT);

	assert_int_equal(add_distro(inv, "alma-9"), 0);
	assert_int_equal(add_distro(inv, "ubuntu-24.04"), 0);
	static const char *const all[] = {"alma-9", "debian-12", "ubuntu-24.04"};
	assert_names(inv, xp_distro_list, all, 3);

	assert_int_equal(xp_distro_remove(inv, "nope"), -ENOENT);
	assert_string_equal(xp_inv_errmsg(inv), "no distro 'nope'");
	assert_int_equal(xp_distro_remove(inv, "alma-9"), 0);
	assert_int_equal(xp_distro_remove(inv, "alma-9"), -ENOENT);
	assert_names(inv, xp_distro_list, all + 1, 2);

	/* refusals leave a caller's transaction usable */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(add_distro(inv, "debian-12"), -EEXIST);
	assert_int_equal(xp_distro_remove(inv, "nope"), -ENOENT);
	assert_int_equal(add_distro(inv, "rocky-9"), 0);
	assert_int_equal(xp_inv_commit(inv), 0);
	assert_int_equal(xp_distro_get(inv, "rocky-9", &got), 0);
	xp_distro_release(&got);
	xp_inv_close(inv);
}

static void test_distro_refusals(void **st)
{
	(void)st;
	char missing[4300], relative[] = "vmlinuz", ctrl[4300];
	snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
	snprintf(ctrl, sizeof(ctrl), "%s/a\tb", tmpdir);
	char msg_missing[4400], msg_dir[4400], msg_rel[4400], msg_dir_i[4400];
	snprintf(msg_missing, sizeof(msg_missing), "kernel: cannot use '%s': %s", missing,
		 strerror(ENOENT));
	snprintf(msg_dir, sizeof(msg_dir), "kernel: '%s' is not a regular file", subdir);
	snprintf(msg_dir_i, sizeof(msg_dir_i), "initrd: '%s' is not a regular file", subdir);
	snprintf(msg_rel, sizeof(msg_rel), "kernel: 'vmlinuz' is not an absolute path");
	const struct {
		const char *name, *kernel, *initrd, *arch, *opts;
		const char *code, *msg;
	} cases[] = {
	    {"-bad", kernel, NULL, NULL, NULL, "name", "name: not a valid distro name"},
	    {"", kernel, NULL, NULL, NULL, "name", "name: not a valid distro name"},
	    {NULL, kernel, NULL, NULL, NULL, "name", "name: not a valid distro name"},
	    {"d", NULL, NULL, NULL, NULL, "kernel", "kernel: a kernel is required"},
	    {"d", "", NULL, NULL, NULL, "kernel", "kernel: must not be empty"},
	    {"d", relative, NULL, NULL, NULL, "kernel", msg_rel},
	    {"d", missing, NULL, NULL, NULL, "kernel", msg_missing},
	    {"d", subdir, NULL, NULL, NULL, "kernel", msg_dir},
	    {"d", ctrl, NULL, NULL, NULL, "kernel", "kernel: control characters in the path"},
	    {"d", kernel, subdir, NULL, NULL, "initrd", msg_dir_i},
	    {"d", kernel, "", NULL, NULL, "initrd", "initrd: must not be empty"},
	    {"d", kernel, NULL, "ppc64", NULL, "arch", "arch: unknown architecture"},
	    {"d", kernel, NULL, NULL, "a\nb", "kernel-options", "kernel-options: must be one line"},
	};
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add_distro(inv, "there"), 0);
	for (size_t i = 0; i < N(cases); i++) {
		print_message("case %zu: %s\n", i, cases[i].msg);
		struct xp_distro d = {.name = (char *)cases[i].name,
				      .kernel = (char *)cases[i].kernel,
				      .initrd = (char *)cases[i].initrd,
				      .arch = (char *)cases[i].arch,
				      .kernel_options = (char *)cases[i].opts};
		struct xp_diags diags;
		xp_diags_init(&diags);
		assert_int_equal(xp_distro_add(inv, &d, 0, &diags), -EINVAL);
		assert_int_equal(diags.n, 1);
		assert_string_equal(diags.v[0].code, cases[i].code);
		assert_string_equal(diags.v[0].msg, cases[i].msg);
		xp_diags_release(&diags);
		/* update checks the same, before looking the name up */
		if (cases[i].name && strcmp(cases[i].name, "d") == 0) {
			d.name = "there";
			assert_int_equal(xp_distro_update(inv, &d, 0, NULL), -EINVAL);
		}
	}
	static const char *const only[] = {"there"};
	assert_names(inv, xp_distro_list, only, 1);
	/* several problems: every one reported */
	struct xp_distro d = {.name = "x", .kernel = relative, .arch = "m68k"};
	struct xp_diags diags;
	xp_diags_init(&diags);
	assert_int_equal(xp_distro_add(inv, &d, 0, &diags), -EINVAL);
	assert_int_equal(diags.n, 2);
	xp_diags_release(&diags);
	xp_inv_close(inv);
}

/* ---- systems --------------------------------------------------------------------------- */

static void test_system_crud(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add_distro(inv, "deb"), 0);
	assert_int_equal(add_profile(inv, "web", "deb"), 0);

	struct xp_system s = {.name = "node1",
			      .mac = "52-54-00-AB-CD-EF",
			      .ip = "192.168.1.10",
			      .profile = "web",
			      .hostname = "node1.example.org",
			      .netboot = true,
			      .kernel_options = "nomodeset"};
	assert_int_equal(xp_system_add(inv, &s, NULL), 0);
	struct xp_system got;
	assert_int_equal(xp_system_get(inv, "node1", &got), 0);
	assert_string_equal(got.name, "node1");
	assert_string_equal(got.mac, "52:54:00:ab:cd:ef"); /* canonical */
	assert_string_equal(got.ip, "192.168.1.10");
	assert_string_equal(got.profile, "web");
	assert_null(got.distro);
	assert_string_equal(got.hostname, "node1.example.org");
	assert_true(got.netboot);
	assert_string_equal(got.kernel_options, "nomodeset");
	assert_true(got.created > 1700000000);
	xp_system_release(&got);

	/* taken: the name, the MAC in another spelling, the IP */
	assert_int_equal(add_system(inv, "node1", "52:54:00:00:00:02", NULL, NULL, "deb"), -EEXIST);
	assert_string_equal(xp_inv_errmsg(inv), "system 'node1' exists");
	assert_int_equal(add_system(inv, "node2", "52:54:00:AB:CD:EF", NULL, NULL, "deb"), -EEXIST);
	assert_string_equal(xp_inv_errmsg(inv), "MAC 52:54:00:ab:cd:ef belongs to system 'node1'");
	assert_int_equal(add_system(inv, "node2", "52:54:00:00:00:02", "192.168.1.10", NULL, "deb"),
			 -EEXIST);
	assert_string_equal(xp_inv_errmsg(inv), "IP 192.168.1.10 belongs to system 'node1'");
	/* missing references */
	assert_int_equal(add_system(inv, "node2", "52:54:00:00:00:02", NULL, "nope", NULL),
			 -ENOENT);
	assert_string_equal(xp_inv_errmsg(inv), "no profile 'nope'");
	assert_int_equal(add_system(inv, "node2", "52:54:00:00:00:02", NULL, NULL, "nope"),
			 -ENOENT);
	assert_string_equal(xp_inv_errmsg(inv), "no distro 'nope'");

	/* a dynamic system booting a distro */
	assert_int_equal(add_system(inv, "node2", "52:54:00:00:00:02", NULL, NULL, "deb"), 0);
	assert_int_equal(xp_system_get(inv, "node2", &got), 0);
	assert_null(got.ip);
	assert_null(got.profile);
	assert_string_equal(got.distro, "deb");
	assert_null(got.hostname);
	assert_null(got.kernel_options);
	xp_system_release(&got);

	/* lookups in any spelling */
	static const char *const spellings[] = {"52:54:00:ab:cd:ef", "52-54-00-ab-cd-ef",
						"52:54:00:AB:CD:EF"};
	for (size_t i = 0; i < N(spellings); i++) {
		assert_int_equal(xp_system_find_mac(inv, spellings[i], &got), 0);
		assert_string_equal(got.name, "node1");
		xp_system_release(&got);
	}
	assert_int_equal(xp_system_find_mac(inv, "52:54:00:00:00:09", &got), -ENOENT);
	assert_int_equal(xp_system_find_mac(inv, "52:54:00:00:00", &got), -EINVAL);
	assert_int_equal(xp_system_find_ip(inv, "192.168.1.10", &got), 0);
	assert_string_equal(got.name, "node1");
	xp_system_release(&got);
	assert_int_equal(xp_system_find_ip(inv, "192.168.1.11", &got), -ENOENT);
	assert_int_equal(xp_system_find_ip(inv, "192.168.1", &got), -EINVAL);

	/* update: its own MAC and IP are no conflict; another's are */
	s.netboot = false;
	s.hostname = NULL;
	s.ip = "192.168.1.20";
	s.profile = NULL;
	s.distro = "deb";
	assert_int_equal(xp_system_update(inv, &s, NULL), 0);
	assert_int_equal(xp_system_get(inv, "node1", &got), 0);
	assert_false(got.netboot);
	assert_null(got.hostname);
	assert_string_equal(got.ip, "192.168.1.20");
	assert_null(got.profile);
	assert_string_equal(got.distro, "deb");
	xp_system_release(&got);
	assert_int_equal(xp_system_find_ip(inv, "192.168.1.10", &got), -ENOENT);
	s.mac = "52:54:00:00:00:02";
	assert_int_equal(xp_system_update(inv, &s, NULL), -EEXIST);
	assert_string_equal(xp_inv_errmsg(inv), "MAC 52:54:00:00:00:02 belongs to system 'node2'");
	s.mac = "52:54:00:ab:cd:ef";
	s.name = "ghost";
	assert_int_equal(xp_system_update(inv, &s, NULL), -ENOENT);
	assert_string_equal(xp_inv_errmsg(inv), "no system 'ghost'");
	assert_int_equal(xp_system_get(inv, "ghost", &got), -ENOENT);

	static const char *const both[] = {"node1", "node2"};
	assert_names(inv, xp_system_list, both, 2);
	assert_int_equal(xp_system_remove(inv, "ghost"), -ENOENT);
	assert_string_equal(xp_inv_errmsg(inv), "no system 'ghost'");
	assert_int_equal(xp_system_remove(inv, "node1"), 0);
	assert_names(inv, xp_system_list, both + 1, 1);
	/* its MAC is free again */
	assert_int_equal(add_system(inv, "node3", "52:54:00:ab:cd:ef", "192.168.1.20", "web", NULL),
			 0);
	xp_inv_close(inv);
}

static void test_system_refusals(void **st)
{
	(void)st;
	const struct {
		const char *name, *mac, *ip, *profile, *distro, *hostname, *opts;
		const char *code, *msg;
	} cases[] = {
	    {"a b", "52:54:00:00:00:01", NULL, "p", NULL, NULL, NULL, "name",
	     "name: not a valid system name"},
	    {"s", NULL, NULL, "p", NULL, NULL, NULL, "mac", "mac: a MAC address is required"},
	    {"s", "52:54:00:00:00", NULL, "p", NULL, NULL, NULL, "mac", "mac: not a MAC address"},
	    {"s", "52:54:00:00:00:0g", NULL, "p", NULL, NULL, NULL, "mac",
	     "mac: not a MAC address"},
	    {"s", "52:54-00:00:00:01", NULL, "p", NULL, NULL, NULL, "mac",
	     "mac: not a MAC address"},
	    {"s", "01:00:5e:00:00:01", NULL, "p", NULL, NULL, NULL, "mac",
	     "mac: a multicast address cannot be a machine's"},
	    {"s", "ff:ff:ff:ff:ff:ff", NULL, "p", NULL, NULL, NULL, "mac",
	     "mac: a multicast address cannot be a machine's"},
	    {"s", "00:00:00:00:00:00", NULL, "p", NULL, NULL, NULL, "mac",
	     "mac: the all-zero address is not a machine's"},
	    {"s", "52:54:00:00:00:01", "10.0.0", "p", NULL, NULL, NULL, "ip",
	     "ip: not an IPv4 address"},
	    {"s", "52:54:00:00:00:01", "010.0.0.1", "p", NULL, NULL, NULL, "ip",
	     "ip: not an IPv4 address"},
	    {"s", "52:54:00:00:00:01", "0.0.0.0", "p", NULL, NULL, NULL, "ip",
	     "ip: 0.0.0.0, 255.255.255.255 and multicast addresses cannot be a machine's"},
	    {"s", "52:54:00:00:00:01", "255.255.255.255", "p", NULL, NULL, NULL, "ip",
	     "ip: 0.0.0.0, 255.255.255.255 and multicast addresses cannot be a machine's"},
	    {"s", "52:54:00:00:00:01", "239.1.2.3", "p", NULL, NULL, NULL, "ip",
	     "ip: 0.0.0.0, 255.255.255.255 and multicast addresses cannot be a machine's"},
	    {"s", "52:54:00:00:00:01", NULL, "p", "d", NULL, NULL, "distro",
	     "distro: give a profile or a distro, not both"},
	    {"s", "52:54:00:00:00:01", NULL, NULL, NULL, NULL, NULL, "profile",
	     "profile: a profile or a distro is required"},
	    {"s", "52:54:00:00:00:01", NULL, ".p", NULL, NULL, NULL, "profile",
	     "profile: not a valid profile name"},
	    {"s", "52:54:00:00:00:01", NULL, NULL, "d/x", NULL, NULL, "distro",
	     "distro: not a valid distro name"},
	    {"s", "52:54:00:00:00:01", NULL, "p", NULL, "-node", NULL, "hostname",
	     "hostname: not a host name (RFC 1123)"},
	    {"s", "52:54:00:00:00:01", NULL, "p", NULL, "node-", NULL, "hostname",
	     "hostname: not a host name (RFC 1123)"},
	    {"s", "52:54:00:00:00:01", NULL, "p", NULL, "a..b", NULL, "hostname",
	     "hostname: not a host name (RFC 1123)"},
	    {"s", "52:54:00:00:00:01", NULL, "p", NULL, "a.b.", NULL, "hostname",
	     "hostname: not a host name (RFC 1123)"},
	    {"s", "52:54:00:00:00:01", NULL, "p", NULL, "node_1", NULL, "hostname",
	     "hostname: not a host name (RFC 1123)"},
	    {"s", "52:54:00:00:00:01", NULL, "p", NULL,
	     "a234567890123456789012345678901234567890123456789012345678901234", NULL, "hostname",
	     "hostname: not a host name (RFC 1123)"},
	    {"s", "52:54:00:00:00:01", NULL, "p", NULL, NULL, "a\nb", "kernel-options",
	     "kernel-options: must be one line"},
	};
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add_profile(inv, "p", NULL), 0);
	for (size_t i = 0; i < N(cases); i++) {
		print_message("case %zu: %s\n", i, cases[i].msg);
		struct xp_system s = {.name = (char *)cases[i].name,
				      .mac = (char *)cases[i].mac,
				      .ip = (char *)cases[i].ip,
				      .profile = (char *)cases[i].profile,
				      .distro = (char *)cases[i].distro,
				      .hostname = (char *)cases[i].hostname,
				      .kernel_options = (char *)cases[i].opts};
		struct xp_diags diags;
		xp_diags_init(&diags);
		assert_int_equal(xp_system_add(inv, &s, &diags), -EINVAL);
		assert_int_equal(diags.n, 1);
		assert_string_equal(diags.v[0].code, cases[i].code);
		assert_string_equal(diags.v[0].msg, cases[i].msg);
		xp_diags_release(&diags);
		assert_int_equal(xp_system_update(inv, &s, NULL), -EINVAL);
	}
	char **names;
	size_t n;
	assert_int_equal(xp_system_list(inv, &names, &n), 0);
	assert_int_equal(n, 0);
	xp_strv_free(names, n);
	/* a 63-character label and a multi-label name are fine */
	struct xp_system s = {.name = "ok",
			      .mac = "02:00:00:00:00:01",
			      .profile = "p",
			      .hostname =
				  "a23456789012345678901234567890123456789012345678901234567890123."
				  "example.org"};
	assert_int_equal(xp_system_add(inv, &s, NULL), 0);
	xp_inv_close(inv);
}

/* ---- references -------------------------------------------------------------------------- */

static void test_references(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add_distro(inv, "deb"), 0);
	assert_int_equal(add_distro(inv, "alma"), 0);
	assert_int_equal(add_profile(inv, "web", "alma"), 0);
	assert_int_equal(add_profile(inv, "plain", NULL), 0);
	assert_int_equal(add_system(inv, "n1", "52:54:00:00:00:01", NULL, NULL, "deb"), 0);
	/* a profile without a distro cannot be netbooted: refused, unless it boots its disk */
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_system n2 = {.name = "n2", .mac = "52:54:00:00:00:02", .profile = "plain",
			       .netboot = true};
	assert_int_equal(xp_system_add(inv, &n2, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "profile: 'plain' cannot be netbooted: it names no distro, "
					"nor does any profile it inherits from");
	xp_diags_release(&d);
	n2.netboot = false;
	assert_int_equal(xp_system_add(inv, &n2, NULL), 0);
	n2.netboot = true; /* and an edit that netboots it */
	assert_int_equal(xp_system_update(inv, &n2, NULL), -EINVAL);
	/* inherited: a child of web boots alma; a distro not (yet) there is a warning */
	struct xp_profile child = {.name = "child", .parent = "web"};
	assert_int_equal(xp_profile_add(inv, &child), 0);
	assert_int_equal(add_profile(inv, "later", "nosuch"), 0);
	struct xp_system n3 = {.name = "n3", .mac = "52:54:00:00:00:03", .profile = "child",
			       .netboot = true};
	xp_diags_init(&d);
	assert_int_equal(xp_system_add(inv, &n3, &d), 0);
	assert_int_equal(d.n, 0);
	n3.profile = "later";
	assert_int_equal(xp_system_update(inv, &n3, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	assert_string_equal(d.v[0].msg, "profile 'later' names distro 'nosuch', which is not in "
					"the inventory: the system is not served until it is");
	xp_diags_release(&d);
	assert_int_equal(xp_system_remove(inv, "n3"), 0);

	/* a system boots it */
	assert_int_equal(xp_distro_remove(inv, "deb"), -EBUSY);
	assert_string_equal(xp_inv_errmsg(inv), "1 system and 0 profiles use it");
	/* a profile's distro names it */
	assert_int_equal(xp_distro_remove(inv, "alma"), -EBUSY);
	assert_string_equal(xp_inv_errmsg(inv), "0 systems and 1 profile use it");
	/* a system uses the profile */
	assert_int_equal(xp_profile_remove(inv, "plain"), -EBUSY);
	assert_string_equal(xp_inv_errmsg(inv), "0 profiles, 0 domains and 1 system use it");

	/* the refusals left a transaction usable */
	assert_int_equal(xp_inv_begin(inv), 0);
	assert_int_equal(xp_distro_remove(inv, "deb"), -EBUSY);
	assert_int_equal(xp_system_remove(inv, "n1"), 0);
	assert_int_equal(xp_distro_remove(inv, "deb"), 0);
	assert_int_equal(xp_inv_commit(inv), 0);

	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, "web", &p), 0);
	assert_int_equal(xp_settings_unset(&p.set, "distro"), 0);
	assert_int_equal(xp_profile_update(inv, &p), 0);
	xp_profile_release(&p);
	assert_int_equal(xp_distro_remove(inv, "alma"), 0);
	assert_int_equal(xp_system_remove(inv, "n2"), 0);
	assert_int_equal(xp_profile_remove(inv, "plain"), 0);
	xp_inv_close(inv);
}

static void test_profile_distro_key(void **st)
{
	(void)st;
	char *out = NULL;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_profile_check("distro", "debian-12.5", &out, &d), 0);
	assert_string_equal(out, "debian-12.5");
	free(out);
	assert_int_equal(xp_profile_check("distro", "-x", &out, &d), -EINVAL);
	assert_null(out);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "distro: not a valid distro name");
	assert_string_equal(d.v[0].text, "-x");
	xp_diags_release(&d);
	bool listed = false;
	for (const struct xp_profile_key *k = xp_profile_keys; k->key; k++)
		listed |= strcmp(k->key, "distro") == 0;
	assert_true(listed);
}

/* ---- server settings ----------------------------------------------------------------------- */

static void test_setting_check_good(void **st)
{
	(void)st;
	const struct {
		const char *key, *in, *out;
	} cases[] = {
	    {"server", "10.0.0.1", "10.0.0.1"},
	    {"next-server", "192.168.7.254", "192.168.7.254"},
	    {"tftp-root", "/srv/tftp/", "/srv/tftp"},
	    {"tftp-root", "/", "/"},
	    {"config-dir", "/srv/xen/", "/srv/xen"},
	    {"distro-roots", "/srv/netboot", "/srv/netboot"},
	    {"distro-roots", "/srv/a/:/srv/b//:/", "/srv/a:/srv/b:/"},
	    {"http-port", "8080", "8080"},
	    {"http-port", "00080", "80"},
	    {"bios-boot-file", "pxelinux.0", "pxelinux.0"},
	    {"efi64-boot-file", "efi/x64/ipxe.efi", "efi/x64/ipxe.efi"},
	    {"proxy-dhcp", "on", "on"},
	    {"proxy-dhcp", "off", "off"},
	    {"offer-hold", "30", "30"},
	    {"guest-storage", "qcow2", "qcow2"},
	    {"guest-pool", "/srv/xen", "/srv/xen"},
	    {"guest-bridge", "xenbr1", "xenbr1"},
	    {"pool.lan.range", "10.0.0.100-10.0.0.199", "10.0.0.100-10.0.0.199"},
	    {"pool.lan.range", "10.0.0.5-10.0.0.5", "10.0.0.5-10.0.0.5"},
	    {"pool.lan-2.netmask", "255.255.255.0", "255.255.255.0"},
	    {"pool.lan_2.netmask", "/24", "255.255.255.0"},
	    {"pool.lan.netmask", "/8", "255.0.0.0"},
	    {"pool.lan.netmask", "255.255.255.252", "255.255.255.252"},
	    {"pool.lan.router", "10.0.0.1", "10.0.0.1"},
	    {"pool.lan.dns", "10.0.0.1", "10.0.0.1"},
	    {"pool.lan.dns", "1.1.1.1,8.8.8.8,9.9.9.9,10.0.0.1",
	     "1.1.1.1,8.8.8.8,9.9.9.9,10.0.0.1"},
	    {"pool.lan.domain", "lab.example.org", "lab.example.org"},
	    {"pool.lan.lease-time", "3600", "3600"},
	    {"pool.lan.lease-time", "12h", "43200"},
	    {"pool.lan.lease-time", "2d", "172800"},
	    {"pool.lan.lease-time", "90m", "5400"},
	    {"pool.lan.lease-time", "60s", "60"},
	};
	for (size_t i = 0; i < N(cases); i++) {
		print_message("%s=%s\n", cases[i].key, cases[i].in);
		char *out = NULL;
		struct xp_diags d;
		xp_diags_init(&d);
		assert_int_equal(xp_server_setting_check(cases[i].key, cases[i].in, &out, &d), 0);
		assert_int_equal(d.n, 0);
		assert_string_equal(out, cases[i].out);
		free(out);
		xp_diags_release(&d);
	}
	/* every documented key has a good case */
	for (const struct xp_profile_key *k = xp_server_keys; k->key; k++) {
		bool pool = strncmp(k->key, "pool.NAME.", 10) == 0, found = false;
		for (size_t i = 0; i < N(cases); i++) {
			const char *key = cases[i].key;
			if (pool && strncmp(key, "pool.", 5) == 0)
				key = strrchr(key, '.') + 1;
			found |= strcmp(key, pool ? k->key + 10 : k->key) == 0;
		}
		print_message("key %s\n", k->key);
		assert_true(found);
		assert_non_null(k->arg);
		assert_non_null(k->help);
	}
}

static void test_setting_check_bad(void **st)
{
	(void)st;
	const char *nohost = "0.0.0.0, 255.255.255.255 and multicast addresses are not a host's";
	char msg[200];
	const struct {
		const char *key, *in, *msg, *hint;
	} cases[] = {
	    {"server", "10.0.0", "not an IPv4 address", "a dotted quad, e.g. 192.168.1.1"},
	    {"server", "0.0.0.0", nohost, NULL},
	    {"next-server", "255.255.255.255", nohost, NULL},
	    {"next-server", "224.0.0.1", nohost, NULL},
	    {"tftp-root", "srv/tftp", "not an absolute directory path", "give an absolute path"},
	    {"tftp-root", "/srv/\ttftp", "not an absolute directory path", "give an absolute path"},
	    {"config-dir", "etc/xen", "not an absolute directory path", "give an absolute path"},
	    {"guest-storage", "floppy", "unknown storage", "file, reflink, qcow2 or lvm"},
	    {"distro-roots", "srv", "not a list of absolute directory paths",
	     "absolute paths separated by ':'"},
	    {"distro-roots", "", "not a list of absolute directory paths",
	     "absolute paths separated by ':'"},
	    {"distro-roots", "/a::/b", "not a list of absolute directory paths",
	     "absolute paths separated by ':'"},
	    {"distro-roots", "/a:", "not a list of absolute directory paths",
	     "absolute paths separated by ':'"},
	    {"distro-roots", "/a:b", "not a list of absolute directory paths",
	     "absolute paths separated by ':'"},
	    {"distro-roots", "/a\n", "not a list of absolute directory paths",
	     "absolute paths separated by ':'"},
	    {"http-port", "0", "a port number from 1 to 65535", NULL},
	    {"http-port", "65536", "a port number from 1 to 65535", NULL},
	    {"http-port", "80x", "a port number from 1 to 65535", NULL},
	    {"http-port", "-80", "a port number from 1 to 65535", NULL},
	    {"http-port", "99999999999", "a port number from 1 to 65535", NULL},
	    {"bios-boot-file", "", "1 to 127 characters (the DHCP file field)", NULL},
	    {"bios-boot-file",
	     "a234567890123456789012345678901234567890123456789012345678901234567890123456789012345"
	     "6789012345678901234567890123456789012345678",
	     "1 to 127 characters (the DHCP file field)", NULL},
	    {"bios-boot-file", "a b", "no blanks, backslashes or control characters", NULL},
	    {"efi64-boot-file", "a\\b", "no blanks, backslashes or control characters", NULL},
	    {"efi64-boot-file", "../etc/passwd", "must not contain '..'",
	     "a path beneath the TFTP root"},
	    {"efi64-boot-file", "efi/../../x", "must not contain '..'",
	     "a path beneath the TFTP root"},
	    {"proxy-dhcp", "yes", "on or off", NULL},
	    {"offer-hold", "0", "seconds, 1 to 3600", NULL},
	    {"offer-hold", "3601", "seconds, 1 to 3600", NULL},
	    {"pool.lan.range", "10.0.0.1", "not an address range",
	     "FIRST-LAST, e.g. 10.0.0.100-10.0.0.199"},
	    {"pool.lan.range", "10.0.0.1-10.0.0", "not an address range",
	     "FIRST-LAST, e.g. 10.0.0.100-10.0.0.199"},
	    {"pool.lan.range", "10.0.0.9-10.0.0.1", "the first address is after the last", NULL},
	    {"pool.lan.range", "0.0.0.0-10.0.0.1", nohost, NULL},
	    {"pool.lan.netmask", "255.0.255.0", "not a subnet mask",
	     "e.g. 255.255.255.0 or /24 (8 to 30 bits)"},
	    {"pool.lan.netmask", "/31", "not a subnet mask",
	     "e.g. 255.255.255.0 or /24 (8 to 30 bits)"},
	    {"pool.lan.netmask", "/7", "not a subnet mask",
	     "e.g. 255.255.255.0 or /24 (8 to 30 bits)"},
	    {"pool.lan.netmask", "255.255.255.255", "not a subnet mask",
	     "e.g. 255.255.255.0 or /24 (8 to 30 bits)"},
	    {"pool.lan.netmask", "24", "not a subnet mask",
	     "e.g. 255.255.255.0 or /24 (8 to 30 bits)"},
	    {"pool.lan.router", "10.0.0.256", "not an IPv4 address",
	     "a dotted quad, e.g. 192.168.1.1"},
	    {"pool.lan.dns", "1.1.1.1,", "not a list of IPv4 addresses",
	     "IPv4 addresses separated by commas"},
	    {"pool.lan.dns", "1.1.1.1,,2.2.2.2", "not a list of IPv4 addresses",
	     "IPv4 addresses separated by commas"},
	    {"pool.lan.dns", "1.1.1.1 ", "not a list of IPv4 addresses",
	     "IPv4 addresses separated by commas"},
	    {"pool.lan.dns", "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5", "at most 4 name servers",
	     NULL},
	    {"pool.lan.domain", "-lab.org", "not a DNS name", NULL},
	    {"pool.lan.lease-time", "59", "not a lease time", "e.g. 3600, 12h, 1d (60 s to 365 d)"},
	    {"pool.lan.lease-time", "366d", "not a lease time",
	     "e.g. 3600, 12h, 1d (60 s to 365 d)"},
	    {"pool.lan.lease-time", "1w", "not a lease time", "e.g. 3600, 12h, 1d (60 s to 365 d)"},
	    {"pool.lan.lease-time", "h", "not a lease time", "e.g. 3600, 12h, 1d (60 s to 365 d)"},
	    /* unknown keys, with a did-you-mean where one is close */
	    {"tftproot", "/x", "unknown server setting", "did you mean 'tftp-root'?"},
	    {"nextserver", "1.2.3.4", "unknown server setting", "did you mean 'next-server'?"},
	    {"colour", "red", "unknown server setting", "see 'xenprov settings keys'"},
	    {"pool.lan.rnage", "x", "unknown server setting", "did you mean 'pool.lan.range'?"},
	    {"pool.lan.gateway", "x", "unknown server setting", "see 'xenprov settings keys'"},
	    {"pool.lan", "x", "not a pool setting",
	     "pool.NAME.KEY; NAME: up to 32 letters, digits, '-', '_'"},
	    {"pool.-lan.range", "x", "not a pool setting",
	     "pool.NAME.KEY; NAME: up to 32 letters, digits, '-', '_'"},
	    {"pool.a.b.range", "x", "not a pool setting",
	     "pool.NAME.KEY; NAME: up to 32 letters, digits, '-', '_'"},
	};
	for (size_t i = 0; i < N(cases); i++) {
		print_message("%s=%s\n", cases[i].key, cases[i].in);
		char *out = (char *)1;
		struct xp_diags d;
		xp_diags_init(&d);
		assert_int_equal(xp_server_setting_check(cases[i].key, cases[i].in, &out, &d),
				 -EINVAL);
		assert_null(out);
		assert_int_equal(d.n, 1);
		snprintf(msg, sizeof(msg), "%s: %s", cases[i].key, cases[i].msg);
		assert_string_equal(d.v[0].msg, msg);
		assert_string_equal(d.v[0].code, cases[i].key);
		if (cases[i].hint)
			assert_string_equal(d.v[0].hint, cases[i].hint);
		else
			assert_null(d.v[0].hint);
		xp_diags_release(&d);
		assert_int_equal(xp_server_setting_check(cases[i].key, cases[i].in, &out, NULL),
				 -EINVAL);
	}
}

static void test_setting_defaults(void **st)
{
	(void)st;
	const struct {
		const char *key, *value;
	} cases[] = {
	    {"server", NULL},
	    {"next-server", NULL},
	    {"tftp-root", NULL},
	    {"http-port", "80"},
	    {"bios-boot-file", "pxelinux.0"},
	    {"efi64-boot-file", "ipxe.efi"},
	    {"proxy-dhcp", "off"},
	    {"offer-hold", "30"},
	    {"config-dir", "/etc/xen"},
	    {"pool.lan.lease-time", "3600"},
	    {"pool.lan.range", NULL},
	    {"lease-time", NULL},
	    {"nope", NULL},
	};
	for (size_t i = 0; i < N(cases); i++) {
		const char *v = xp_server_setting_default(cases[i].key);
		if (cases[i].value)
			assert_string_equal(v, cases[i].value);
		else
			assert_null(v);
	}
}

static void test_settings_store(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_server_setting_set(inv, "server", "10.0.0.1", &d), 0);
	assert_int_equal(xp_server_setting_set(inv, "http-port", "8080", &d), 0);
	assert_int_equal(xp_server_setting_set(inv, "http-port", "08081", &d), 0); /* replaces */
	assert_int_equal(xp_server_setting_set(inv, "pool.lan.netmask", "/24", &d), 0);
	assert_int_equal(xp_server_setting_set(inv, "pool.lan.range", "10.0.0.100-10.0.0.200", &d),
			 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(xp_server_setting_set(inv, "http-port", "http", &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_int_equal(xp_server_setting_set(inv, "bogus", "1", NULL), -EINVAL);
	xp_diags_release(&d);

	struct xp_settings s;
	assert_int_equal(xp_server_settings_get(inv, &s), 0);
	static const char *const want[][2] = {{"http-port", "8081"},
					      {"pool.lan.netmask", "255.255.255.0"},
					      {"pool.lan.range", "10.0.0.100-10.0.0.200"},
					      {"server", "10.0.0.1"}};
	assert_int_equal(s.n, N(want));
	for (size_t i = 0; i < s.n; i++) {
		assert_string_equal(s.v[i].key, want[i][0]);
		assert_string_equal(s.v[i].value, want[i][1]);
	}
	xp_settings_release(&s);

	/* the values in force, defaults marked */
	struct xp_settings eff, dflt;
	assert_int_equal(xp_server_settings_effective(inv, &eff, &dflt), 0);
	char tftp[4300];
	snprintf(tftp, sizeof(tftp), "%s/tftp", state);
	static const char *const order[] = {
	    "server",	      "next-server",	  "tftp-root",		"http-port",
	    "bios-boot-file", "efi64-boot-file",  "proxy-dhcp",		"offer-hold",
	    "config-dir",     "pool.lan.range",	  "pool.lan.netmask",	"pool.lan.lease-time"};
	assert_int_equal(eff.n, N(order));
	for (size_t i = 0; i < eff.n; i++)
		assert_string_equal(eff.v[i].key, order[i]);
	assert_string_equal(xp_settings_get(&eff, "next-server"), "10.0.0.1");
	assert_string_equal(xp_settings_get(&eff, "tftp-root"), tftp);
	assert_string_equal(xp_settings_get(&eff, "http-port"), "8081");
	assert_string_equal(xp_settings_get(&eff, "pool.lan.lease-time"), "3600");
	assert_null(xp_settings_get(&dflt, "server"));
	assert_null(xp_settings_get(&dflt, "http-port"));
	assert_non_null(xp_settings_get(&dflt, "next-server"));
	assert_non_null(xp_settings_get(&dflt, "tftp-root"));
	assert_non_null(xp_settings_get(&dflt, "pool.lan.lease-time"));
	assert_int_equal(dflt.n, 8);
	xp_settings_release(&eff);
	xp_settings_release(&dflt);

	assert_int_equal(xp_server_setting_unset(inv, "server", NULL), 0);
	assert_int_equal(xp_server_setting_unset(inv, "server", NULL), -ENOENT);
	assert_string_equal(xp_inv_errmsg(inv), "'server' is not set");
	assert_int_equal(xp_server_settings_effective(inv, &eff, NULL), 0);
	assert_null(xp_settings_get(&eff, "server"));
	assert_null(xp_settings_get(&eff, "next-server")); /* no server: no default */
	xp_settings_release(&eff);
	xp_inv_close(inv);
}

/* Settings from "key=value" strings, NULL-terminated. */
static void settings_of(struct xp_settings *s, const char *const *kv)
{
	memset(s, 0, sizeof(*s));
	for (; *kv; kv++) {
		const char *eq = strchr(*kv, '=');
		char key[128];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - *kv), *kv);
		assert_int_equal(xp_settings_set(s, key, eq + 1), 0);
	}
}

static void test_pools(void **st)
{
	(void)st;
	static const char *const good[] = {"server=10.0.0.1",
					   "pool.b.range=10.0.0.100-10.0.0.199",
					   "pool.b.netmask=/24",
					   "pool.b.router=10.0.0.1",
					   "pool.b.dns=10.0.0.1,1.1.1.1",
					   "pool.b.domain=lab.example.org",
					   "pool.b.lease-time=2h",
					   "pool.a.range=10.1.0.10-10.1.0.10",
					   "pool.a.netmask=255.255.0.0",
					   NULL};
	struct xp_settings s;
	settings_of(&s, good);
	struct xp_server_pool *v;
	size_t n;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_server_pools(&s, &v, &n, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "a");
	assert_string_equal(v[0].range_start, "10.1.0.10");
	assert_string_equal(v[0].range_end, "10.1.0.10");
	assert_string_equal(v[0].netmask, "255.255.0.0");
	assert_null(v[0].router);
	assert_null(v[0].domain);
	assert_int_equal(v[0].n_dns, 0);
	assert_int_equal(v[0].lease_time, 3600);
	assert_string_equal(v[1].name, "b");
	assert_string_equal(v[1].range_start, "10.0.0.100");
	assert_string_equal(v[1].range_end, "10.0.0.199");
	assert_string_equal(v[1].netmask, "255.255.255.0");
	assert_string_equal(v[1].router, "10.0.0.1");
	assert_string_equal(v[1].domain, "lab.example.org");
	assert_int_equal(v[1].n_dns, 2);
	assert_string_equal(v[1].dns[0], "10.0.0.1");
	assert_string_equal(v[1].dns[1], "1.1.1.1");
	assert_int_equal(v[1].lease_time, 7200);
	xp_server_pools_free(v, n);
	xp_settings_release(&s);
	xp_diags_release(&d);

	/* none */
	static const char *const none[] = {"server=10.0.0.1", NULL};
	settings_of(&s, none);
	assert_int_equal(xp_server_pools(&s, &v, &n, NULL), 0);
	assert_int_equal(n, 0);
	xp_server_pools_free(v, n);
	xp_settings_release(&s);

	const struct {
		const char *kv[6];
		const char *code, *msg;
	} bad[] = {
	    {{"pool.p.netmask=/24", NULL}, "pool.p", "pool p: no range (set pool.p.range)"},
	    {{"pool.p.range=10.0.0.10-10.0.0.20", NULL},
	     "pool.p",
	     "pool p: no netmask (set pool.p.netmask)"},
	    {{"pool.p.range=10.0.0.10-10.0.1.20", "pool.p.netmask=/24", NULL},
	     "pool.p",
	     "pool p: the range 10.0.0.10-10.0.1.20 is not inside one /24 subnet"},
	    {{"pool.p.range=10.0.0.0-10.0.0.20", "pool.p.netmask=/24", NULL},
	     "pool.p",
	     "pool p: the range 10.0.0.0-10.0.0.20 includes 10.0.0.0/24's network address"},
	    {{"pool.p.range=10.0.0.10-10.0.0.255", "pool.p.netmask=/24", NULL},
	     "pool.p",
	     "pool p: the range 10.0.0.10-10.0.0.255 includes 10.0.0.0/24's broadcast address"},
	    {{"pool.p.range=10.0.0.10-10.0.0.20", "pool.p.netmask=/24", "pool.p.router=10.0.1.1",
	      NULL},
	     "pool.p",
	     "pool p: the router 10.0.1.1 is outside the subnet 10.0.0.0/24"},
	    {{"pool.p.range=10.0.0.10-10.0.0.20", "pool.p.netmask=/24", "pool.p.router=10.0.0.15",
	      NULL},
	     "pool.p",
	     "pool p: the router 10.0.0.15 is inside the range 10.0.0.10-10.0.0.20"},
	    {{"pool.p.range=10.0.0.10-10.0.0.20", "pool.p.netmask=/24",
	      "pool.q.range=10.0.0.20-10.0.0.30", "pool.q.netmask=/24", NULL},
	     "pool.q",
	     "pool q: the range 10.0.0.20-10.0.0.30 overlaps pool p's"},
	    /* a bad stored value is reported as the check reports it */
	    {{"pool.p.range=10.0.0.20-10.0.0.10", "pool.p.netmask=/24", NULL},
	     "pool.p.range",
	     "pool.p.range: the first address is after the last"},
	    {{"pool.p.range=10.0.0.10-10.0.0.20", "pool.p.netmask=/24", "pool.p.lease-time=1",
	      NULL},
	     "pool.p.lease-time",
	     "pool.p.lease-time: not a lease time"},
	};
	for (size_t i = 0; i < N(bad); i++) {
		print_message("%s\n", bad[i].msg);
		settings_of(&s, bad[i].kv);
		xp_diags_init(&d);
		v = (struct xp_server_pool *)1;
		n = 9;
		assert_int_equal(xp_server_pools(&s, &v, &n, &d), -EINVAL);
		assert_null(v);
		assert_int_equal(n, 0);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].code, bad[i].code);
		assert_string_equal(d.v[0].msg, bad[i].msg);
		xp_diags_release(&d);
		assert_int_equal(xp_server_pools(&s, &v, &n, NULL), -EINVAL);
		xp_settings_release(&s);
	}
	/* every broken pool reported, not just the first */
	static const char *const two[] = {"pool.x.netmask=/24", "pool.y.netmask=/24", NULL};
	settings_of(&s, two);
	xp_diags_init(&d);
	assert_int_equal(xp_server_pools(&s, &v, &n, &d), -EINVAL);
	assert_int_equal(d.n, 2);
	xp_diags_release(&d);
	xp_settings_release(&s);
}

/* ---- data_version, migration --------------------------------------------------------------- */

/* ---- reserved addresses against the server's settings ---------------------------------- */

static void test_system_ip_check(void **st)
{
	(void)st;
	static const char *const base[] = {"server=10.77.0.1",
					   "next-server=10.77.0.2",
					   "pool.lan.range=10.77.0.100-10.77.0.199",
					   "pool.lan.netmask=/24",
					   "pool.lan.router=10.77.0.254",
					   "pool.far.range=10.80.0.10-10.80.0.20",
					   "pool.far.netmask=/16",
					   NULL};
	struct xp_settings s;
	settings_of(&s, base);
	static const struct {
		const char *ip, *msg; /* msg NULL: accepted */
	} cases[] = {
	    {"10.77.0.50", NULL},
	    {"10.77.0.150", NULL}, /* inside a range: fine, it is kept out of it */
	    {"10.80.200.7", NULL}, /* a /16 pool's subnet */
	    {"10.77.0.1", "ip: 10.77.0.1 is the boot server's own address (setting 'server')"},
	    {"10.77.0.2", "ip: 10.77.0.2 is the boot server's own address (setting 'next-server')"},
	    {"10.77.0.254", "ip: 10.77.0.254 is the router of pool lan (pool.lan.router)"},
	    {"10.77.0.0", "ip: 10.77.0.0 is the network address of pool lan's subnet 10.77.0.0/24"},
	    {"10.77.0.255",
	     "ip: 10.77.0.255 is the broadcast address of pool lan's subnet 10.77.0.0/24"},
	    {"10.80.255.255",
	     "ip: 10.80.255.255 is the broadcast address of pool far's subnet 10.80.0.0/16"},
	    {"192.168.5.5",
	     "ip: 192.168.5.5 is in no pool's subnet (far 10.80.0.0/16, lan 10.77.0.0/24)"},
	    {"10.77.1.5",
	     "ip: 10.77.1.5 is in no pool's subnet (far 10.80.0.0/16, lan 10.77.0.0/24)"},
	    {"10.77.0", "ip: not an IPv4 address"},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct xp_diags d;
		xp_diags_init(&d);
		int r = xp_system_ip_check(&s, cases[i].ip, &d);
		if (!cases[i].msg) {
			if (r != 0 || d.n)
				fail_msg("%s: %d %s", cases[i].ip, r, d.n ? d.v[0].msg : "");
		} else {
			if (r != -EINVAL || d.n != 1 || strcmp(d.v[0].msg, cases[i].msg) != 0)
				fail_msg("%s: %d '%s'", cases[i].ip, r, d.n ? d.v[0].msg : "");
			assert_string_equal(d.v[0].code, "ip");
			assert_non_null(d.v[0].hint);
		}
		xp_diags_release(&d);
	}
	/* ProxyDHCP: the addresses are another server's to hand out; ours stays ours */
	assert_int_equal(xp_settings_set(&s, "proxy-dhcp", "on"), 0);
	assert_int_equal(xp_system_ip_check(&s, "192.168.5.5", NULL), 0);
	assert_int_equal(xp_system_ip_check(&s, "10.77.0.255", NULL), 0);
	assert_int_equal(xp_system_ip_check(&s, "10.77.0.1", NULL), -EINVAL);
	xp_settings_release(&s);
	/* no pools, or pools being set up (a range without its netmask): only the
	 * server's own address can be checked */
	static const char *const none[] = {"server=10.77.0.1", NULL};
	static const char *const half[] = {"server=10.77.0.1",
					   "pool.lan.range=10.77.0.100-10.77.0.199", NULL};
	for (int k = 0; k < 2; k++) {
		settings_of(&s, k ? half : none);
		assert_int_equal(xp_system_ip_check(&s, "192.168.5.5", NULL), 0);
		assert_int_equal(xp_system_ip_check(&s, "10.77.0.255", NULL), 0);
		assert_int_equal(xp_system_ip_check(&s, "10.77.0.1", NULL), -EINVAL);
		xp_settings_release(&s);
	}
}

/* The CLI and the HTTP API both store through xp_system_add/update: the refusal is
 * there, in the transaction, against the settings stored; settings changes that make
 * a reservation unusable warn. */
static void test_system_ip_store(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add_distro(inv, "d"), 0);
	/* no pools yet: any host address but the server's */
	assert_int_equal(xp_server_setting_set(inv, "server", "10.77.0.1", NULL), 0);
	assert_int_equal(add_system(inv, "early", "52:54:00:00:00:01", "192.168.9.9", NULL, "d"),
			 0);
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_system own = {.name = "own",
				.mac = "52:54:00:00:00:02",
				.ip = "10.77.0.1",
				.distro = "d",
				.netboot = true};
	assert_int_equal(xp_system_add(inv, &own, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg,
			    "ip: 10.77.0.1 is the boot server's own address (setting 'server')");
	xp_diags_release(&d);

	/* the pool is completed: the early reservation is out of its subnet: warned */
	assert_int_equal(
	    xp_server_setting_set(inv, "pool.lan.range", "10.77.0.100-10.77.0.199", &d), 0);
	assert_int_equal(d.n, 0); /* no netmask yet: no pool to check against */
	assert_int_equal(xp_server_setting_set(inv, "pool.lan.netmask", "/24", &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	assert_string_equal(d.v[0].msg, "system 'early': ip: 192.168.9.9 is in no pool's subnet "
					"(lan 10.77.0.0/24)");
	xp_diags_release(&d);
	struct xp_settings cur;
	assert_int_equal(xp_server_settings_get(inv, &cur), 0);
	assert_string_equal(xp_settings_get(&cur, "pool.lan.netmask"), "255.255.255.0"); /* kept */
	xp_settings_release(&cur);

	/* add and update refuse .0, .255, the router, off-net; nothing is written and the
	 * caller's transaction stays usable */
	assert_int_equal(xp_server_setting_set(inv, "pool.lan.router", "10.77.0.254", &d), 0);
	assert_int_equal(d.n, 1); /* still 'early' */
	xp_diags_release(&d);
	static const char *const bad[] = {"10.77.0.0", "10.77.0.255", "10.77.0.254", "10.78.0.5",
					  "10.77.0.1"};
	assert_int_equal(add_system(inv, "web", "52:54:00:00:00:03", "10.77.0.50", NULL, "d"), 0);
	for (size_t i = 0; i < N(bad); i++) {
		struct xp_system x = {.name = "new",
				      .mac = "52:54:00:00:00:04",
				      .ip = (char *)bad[i],
				      .distro = "d",
				      .netboot = true};
		assert_int_equal(xp_system_add(inv, &x, &d), -EINVAL);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].code, "ip");
		xp_diags_release(&d);
		x.name = "web";
		assert_int_equal(xp_inv_begin(inv), 0);
		assert_int_equal(xp_system_update(inv, &x, NULL), -EINVAL);
		assert_int_equal(xp_inv_commit(inv), 0);
	}
	struct xp_system got;
	assert_int_equal(xp_system_get(inv, "web", &got), 0);
	assert_string_equal(got.ip, "10.77.0.50");
	xp_system_release(&got);
	assert_int_equal(xp_system_get(inv, "new", &got), -ENOENT);
	/* a record made unusable by the settings is refused until its address changes */
	struct xp_system e = {.name = "early",
			      .mac = "52:54:00:00:00:01",
			      .ip = "192.168.9.9",
			      .distro = "d",
			      .netboot = false};
	assert_int_equal(xp_system_update(inv, &e, NULL), -EINVAL);
	e.ip = NULL;
	assert_int_equal(xp_system_update(inv, &e, NULL), 0);

	/* the router moved onto web's address, then the server's: warned, kept */
	assert_int_equal(xp_server_setting_set(inv, "pool.lan.router", "10.77.0.50", &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "system 'web': ip: 10.77.0.50 is the router of pool lan "
					"(pool.lan.router)");
	xp_diags_release(&d);
	assert_int_equal(xp_server_setting_unset(inv, "pool.lan.router", &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(xp_server_setting_set(inv, "next-server", "10.77.0.50", &d), 0);
	assert_int_equal(d.n, 1);
	xp_diags_release(&d);
	assert_int_equal(xp_server_setting_unset(inv, "next-server", &d), 0);
	assert_int_equal(d.n, 0);
	/* the audit alone */
	assert_int_equal(xp_server_settings_get(inv, &cur), 0);
	assert_int_equal(xp_settings_set(&cur, "pool.lan.netmask", "255.255.255.192"), 0);
	assert_int_equal(xp_settings_set(&cur, "pool.lan.range", "10.77.0.70-10.77.0.90"), 0);
	assert_int_equal(xp_system_ip_audit(inv, &cur, &d), 1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "system 'web': ip: 10.77.0.50 is in no pool's subnet "
					"(lan 10.77.0.64/26)");
	xp_diags_release(&d);
	xp_settings_release(&cur);
	xp_inv_close(inv);
}

static void test_data_version(void **st)
{
	(void)st;
	struct xp_inv *a = xp_test_inv_open(state), *b = xp_test_inv_open(state);
	int64_t v0, v1, v2, v3;
	assert_int_equal(xp_inv_data_version(a, &v0), 0);
	/* its own commits do not change it */
	assert_int_equal(add_distro(a, "mine"), 0);
	assert_int_equal(xp_inv_data_version(a, &v1), 0);
	assert_int_equal(v1, v0);
	/* another connection's do */
	assert_int_equal(add_distro(b, "theirs"), 0);
	assert_int_equal(xp_inv_data_version(a, &v2), 0);
	assert_true(v2 != v1);
	/* and a rolled back transaction does not */
	assert_int_equal(xp_inv_begin(b), 0);
	assert_int_equal(add_distro(b, "never"), 0);
	xp_inv_rollback(b);
	assert_int_equal(xp_inv_data_version(a, &v3), 0);
	assert_int_equal(v3, v2);
	xp_inv_close(a);
	xp_inv_close(b);
}

/* The schema of version 1 as released (store.c's migration 1), with data in it. */
static const char v1_schema[] =
    "CREATE TABLE profiles (name TEXT PRIMARY KEY, parent TEXT REFERENCES profiles(name) ON"
    " DELETE RESTRICT ON UPDATE CASCADE, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE profile_settings (profile TEXT NOT NULL REFERENCES profiles(name) ON DELETE"
    " CASCADE ON UPDATE CASCADE, seq INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (profile, key));"
    "CREATE TABLE deploys (id INTEGER PRIMARY KEY, started INTEGER NOT NULL, finished INTEGER,"
    " state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'rolled-back')),"
    " request TEXT NOT NULL);"
    "CREATE TABLE domains (name TEXT PRIMARY KEY, profile TEXT REFERENCES profiles(name) ON"
    " DELETE RESTRICT ON UPDATE CASCADE, state TEXT NOT NULL CHECK (state IN ('creating',"
    " 'ready', 'deleting', 'failed')), mac TEXT UNIQUE, ip TEXT UNIQUE, storage TEXT, disk_path"
    " TEXT, config_path TEXT, settings TEXT NOT NULL DEFAULT '{}', deploy_id INTEGER REFERENCES"
    " deploys(id) ON DELETE SET NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE INDEX domains_deploy ON domains(deploy_id);"
    "CREATE TABLE artifacts (domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE ON"
    " UPDATE CASCADE, kind TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (domain, kind));"
    "INSERT INTO profiles VALUES ('base', NULL, 1, 1), ('web', 'base', 2, 2);"
    "INSERT INTO profile_settings VALUES ('base', 0, 'memory', '512'),"
    " ('web', 0, 'vcpus', '2'), ('base', 1, 'distro', 'deb');"
    "INSERT INTO deploys VALUES (1, 3, 4, 'done', 'deploy --profile web --count 1'),"
    " (2, 5, NULL, 'rolled-back', 'deploy --profile base --count 1');"
    "INSERT INTO domains (name, profile, state, mac, deploy_id, created, updated) VALUES"
    " ('g1', 'web', 'ready', '00:16:3e:00:00:01', 1, 3, 3);"
    "PRAGMA user_version = 1;";

static void test_migrate_v1(void **st)
{
	(void)st;
	assert_int_equal(mkdir(state, 0700), 0);
	xp_test_sql(state, v1_schema);
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(xp_inv_schema_version(inv), XP_TEST_SCHEMA_VERSION);
	/* the deploys of before: the profile their guests carry, counts not recorded */
	struct xp_deploy_record rec;
	assert_int_equal(xp_deploy_record_get(inv, 1, &rec), 0);
	assert_string_equal(rec.profile, "web");
	assert_string_equal(rec.state, "done");
	assert_int_equal(rec.finished, 4);
	assert_int_equal(rec.counts.total, -1);
	assert_int_equal(rec.counts.created, -1);
	assert_int_equal(rec.guests, 1);
	xp_deploy_record_release(&rec);
	assert_int_equal(xp_deploy_record_get(inv, 2, &rec), 0);
	assert_null(rec.profile); /* no guest left to tell */
	assert_int_equal(rec.finished, 0);
	assert_int_equal(rec.guests, 0);
	xp_deploy_record_release(&rec);
	assert_int_equal(xp_deploy_record_get(inv, 3, &rec), -ENOENT);
	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, "web", &p), 0);
	assert_string_equal(p.parent, "base");
	assert_string_equal(xp_settings_get(&p.set, "vcpus"), "2");
	assert_int_equal(p.created, 2);
	xp_profile_release(&p);
	struct xp_settings eff;
	assert_int_equal(xp_profile_resolve(inv, "web", &eff), 0);
	assert_string_equal(xp_settings_get(&eff, "memory"), "512");
	xp_settings_release(&eff);
	assert_int_equal(xp_profile_remove(inv, "web"), -EBUSY); /* domain g1 */
	/* the new tables work */
	assert_int_equal(add_distro(inv, "deb"), 0);
	assert_int_equal(add_system(inv, "n1", "52:54:00:00:00:01", NULL, "web", NULL), 0);
	assert_int_equal(xp_server_setting_set(inv, "server", "10.0.0.1", NULL), 0);
	xp_inv_close(inv);
	/* and the leases table has its shape */
	xp_test_sql(
	    state,
	    "INSERT INTO leases (ip, client, mac, hostname, state, expires, updated)"
	    " VALUES (167772161, x'01525400000001', '52:54:00:00:00:01', 'n1', 'bound', 9, 1)");
	inv = xp_test_inv_open(state);
	assert_int_equal(xp_inv_schema_version(inv), XP_TEST_SCHEMA_VERSION);
	xp_inv_close(inv);
	/* a current database whose user_version was set back migrates again cleanly */
	xp_test_sql(state, "PRAGMA user_version = 1");
	inv = xp_test_inv_open(state);
	assert_int_equal(xp_inv_schema_version(inv), XP_TEST_SCHEMA_VERSION);
	struct xp_deploy_record again;
	assert_int_equal(xp_deploy_record_get(inv, 1, &again), 0);
	assert_string_equal(again.profile, "web");
	xp_deploy_record_release(&again);
	struct xp_system s;
	assert_int_equal(xp_system_get(inv, "n1", &s), 0);
	xp_system_release(&s);
	xp_inv_close(inv);
}

/* The schema's own constraints hold even for rows written behind the library's back. */
static void test_schema_constraints(void **st)
{
	(void)st;
	xp_inv_close(xp_test_inv_open(state));
	bool pg = xp_test_pgurl() != NULL;
	const char *client = pg ? "'\\x01'::bytea" : "x'01'";
	char lease_no_state[160];
	snprintf(lease_no_state, sizeof(lease_no_state),
		 "INSERT INTO leases (ip, client, expires, updated) VALUES (1, %s, 1, 1)", client);
	const char *const refused[] = {
	    /* both and neither of profile and distro */
	    "INSERT INTO systems (name, mac, created, updated) VALUES ('s', 'm', 1, 1)",
	    "INSERT INTO profiles VALUES ('p', NULL, 1, 1);"
	    "INSERT INTO distros (name, kernel, created, updated) VALUES ('d', '/k', 1, 1);"
	    "INSERT INTO systems (name, mac, profile, distro, created, updated)"
	    " VALUES ('s', 'm', 'p', 'd', 1, 1)",
	    /* a missing distro */
	    "INSERT INTO systems (name, mac, distro, created, updated) VALUES ('s', 'm', 'x', 1, "
	    "1)",
	    /* no MAC */
	    "INSERT INTO systems (name, distro, created, updated) VALUES ('s', 'd', 1, 1)",
	    /* leases: client and state required */
	    "INSERT INTO leases (ip, state, expires, updated) VALUES (1, 'bound', 1, 1)",
	    lease_no_state,
	};
	for (size_t i = 0; i < N(refused); i++)
		assert_true(xp_test_sql_refused(state, refused[i]));
	/* what is whole goes in (the refusals above are the constraints', not the SQL's) */
	char lease_ok[160];
	snprintf(lease_ok, sizeof(lease_ok),
		 "INSERT INTO leases (ip, client, state, expires, updated) VALUES (1, %s, 'bound',"
		 " 1, 1)",
		 client);
	assert_false(xp_test_sql_refused(state, lease_ok));
	/* a distro in use cannot go even by SQL */
	xp_test_sql(state, "INSERT INTO distros (name, kernel, created, updated)"
			   " VALUES ('d', '/k', 1, 1);"
			   "INSERT INTO systems (name, mac, distro, created, updated)"
			   " VALUES ('s', 'm', 'd', 1, 1)");
	assert_true(xp_test_sql_refused(state, "DELETE FROM distros WHERE name = 'd'"));
	assert_int_equal(
	    xp_test_sql_int(state, pg ? "SELECT count(*) FROM pg_indexes WHERE schemaname ="
					" current_schema() AND indexname = 'leases_client'"
				      : "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
					" AND name = 'leases_client'"),
	    1);
}

/* Autoinstall marks (autoinstall.h): a token only for a marked system, the same for
 * every call until its attempt ends (a progress event, "started", ends nothing; a
 * failure does; success clears the mark and netboot); only from the system's own
 * address; derived from STATE/install-key (0600, nowhere in inventory.db); every bad
 * event refused with its exact error and nothing recorded; a new mark a new install,
 * and a system removed and added again never gets its predecessor's tokens. */
#define N1_IP 0x0a00000au /* 10.0.0.10, n1's reservation */
static void test_install_marks(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add_distro(inv, "deb"), 0);
	struct xp_system s = {.name = "n1",
			      .mac = "52:54:00:00:00:01",
			      .ip = "10.0.0.10",
			      .distro = "deb",
			      .netboot = true};
	assert_int_equal(xp_system_add(inv, &s, NULL), 0);
	char tok[XP_INSTALL_TOKEN_LEN + 1], old[XP_INSTALL_TOKEN_LEN + 1];
	char again[XP_INSTALL_TOKEN_LEN + 1];
	assert_int_equal(xp_install_token(inv, "n1", tok), -ENOENT);
	assert_int_equal(xp_install_mark(inv, "nosuch", true), -ENOENT);
	assert_int_equal(xp_install_mark(inv, "n1", true), 0);
	assert_int_equal(xp_install_token(inv, "n1", tok), 0);
	assert_int_equal(strlen(tok), XP_INSTALL_TOKEN_LEN);
	/* rendered again (a retransmit, HEAD then GET): the same token */
	assert_int_equal(xp_install_token(inv, "n1", again), 0);
	assert_string_equal(again, tok);
	assert_int_equal(xp_install_mark(inv, "n1", true), 0); /* marked already: the same */
	assert_int_equal(xp_install_token(inv, "n1", again), 0);
	assert_string_equal(again, tok);
	/* the key: private, outside the database; the token nowhere in it */
	struct stat kst;
	assert_int_equal(stat(xp_test_path(state, "install-key"), &kst), 0);
	assert_int_equal(kst.st_mode & 0777, 0600);
	assert_int_equal(kst.st_size, 65);
	if (!xp_test_pgurl()) { /* the files, whatever table or page */
		const char *dbs[] = {"inventory.db", "inventory.db-wal"};
		for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
			size_t len;
			char *db = xp_test_read(xp_test_path(state, dbs[i]), &len);
			assert_null(memmem(db, len, tok, strlen(tok)));
			free(db);
		}
	} else { /* every row of the tables an install writes, as text */
		char sql[400];
		snprintf(sql, sizeof(sql),
			 "SELECT (SELECT count(*) FROM system_installs t WHERE t::text LIKE '%%%s%%')"
			 " + (SELECT count(*) FROM install_attempts t WHERE t::text LIKE '%%%s%%')"
			 " + (SELECT count(*) FROM systems t WHERE t::text LIKE '%%%s%%')",
			 tok, tok, tok);
		assert_int_equal(xp_test_sql_int(state, sql), 0);
		/* the query can find what is there */
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM systems t WHERE t::text LIKE '%%52:54:00:00:00:01%%'");
		assert_int_equal(xp_test_sql_int(state, sql), 1);
	}
	char big[XP_INSTALL_MESSAGE_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char wrong[XP_INSTALL_TOKEN_LEN + 1];
	memcpy(wrong, tok, sizeof(wrong));
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	const struct {
		const char *name;
		uint32_t peer;
		const char *token, *kind, *step, *msg;
		int r;
	} bad[] = {
	    {"n1", N1_IP, wrong, "progress", "started", NULL, -EACCES},
	    {"n1", N1_IP, "short", "progress", "started", NULL, -EACCES},
	    {"n1", N1_IP, NULL, "progress", "started", NULL, -EACCES},
	    {"nosuch", N1_IP, tok, "progress", "started", NULL, -EACCES},
	    {"../n1", N1_IP, tok, "progress", "started", NULL, -EACCES},
	    /* its token, from another address, or one not known */
	    {"n1", N1_IP + 1, tok, "progress", "started", NULL, -EACCES},
	    {"n1", 0, tok, "success", "done", NULL, -EACCES},
	    {"n1", N1_IP, tok, "done", "started", NULL, -EINVAL},
	    {"n1", N1_IP, tok, NULL, "started", NULL, -EINVAL},
	    {"n1", N1_IP, tok, "progress", "", NULL, -EINVAL},
	    {"n1", N1_IP, tok, "progress", "Started", NULL, -EINVAL},
	    {"n1", N1_IP, tok, "progress", "a b", NULL, -EINVAL},
	    {"n1", N1_IP, tok, "progress", "started", "two\nlines", -EINVAL},
	    {"n1", N1_IP, tok, "progress", "started", big, -EINVAL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(xp_install_event(inv, bad[i].name, bad[i].peer, bad[i].token,
						  bad[i].kind, bad[i].step, bad[i].msg),
				 bad[i].r);
	/* a refused event takes no write lock: answered at once while another process
	 * holds it (not -EBUSY after the 30 s busy or lock timeout) */
	struct xp_test_write_lock lock = xp_test_write_lock_hold(state);
	time_t t0 = time(NULL);
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, wrong, "progress", "x", NULL), -EACCES);
	assert_int_equal(xp_install_event(inv, "n1", N1_IP + 1, tok, "progress", "x", NULL),
			 -EACCES);
	assert_true(time(NULL) - t0 < 5);
	xp_test_write_lock_release(&lock);
	struct xp_install_state in;
	assert_int_equal(xp_install_get(inv, "n1", &in), 0);
	assert_true(in.marked);
	assert_int_equal(in.id, 1);
	assert_int_equal(in.attempt, 1);
	assert_int_equal(in.n_ev, 0);
	xp_install_state_release(&in);
	/* "started" ends nothing: the token goes on working */
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, tok, "progress", "started", NULL), 0);
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, tok, "progress", "disk", NULL), 0);
	assert_int_equal(xp_install_token(inv, "n1", again), 0);
	assert_string_equal(again, tok);
	/* failure ends the attempt: its token refused, the next boot's a new one */
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, tok, "failure", "disk", "no disk"), 0);
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, tok, "progress", "again", NULL),
			 -EACCES);
	assert_int_equal(xp_install_get(inv, "n1", &in), 0);
	assert_true(in.marked);
	assert_int_equal(in.attempt, 2);
	assert_int_equal(in.n_ev, 3);
	assert_string_equal(in.ev[2].kind, "failure");
	assert_string_equal(in.ev[2].message, "no disk");
	assert_null(in.ev[0].message);
	xp_install_state_release(&in);
	memcpy(old, tok, sizeof(old));
	assert_int_equal(xp_install_token(inv, "n1", tok), 0);
	assert_string_not_equal(tok, old);
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, tok, "success", "done", NULL), 0);
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, tok, "success", "done", NULL), -EACCES);
	assert_int_equal(xp_install_token(inv, "n1", again), -ENOENT);
	struct xp_system got;
	assert_int_equal(xp_system_get(inv, "n1", &got), 0);
	assert_false(got.netboot);
	xp_system_release(&got);
	assert_int_equal(xp_install_get(inv, "n1", &in), 0);
	assert_false(in.marked);
	assert_int_equal(in.n_ev, 4);
	xp_install_state_release(&in);
	/* a new mark: a new install, its own token */
	assert_int_equal(xp_install_mark(inv, "n1", true), 0);
	assert_int_equal(xp_install_get(inv, "n1", &in), 0);
	assert_int_equal(in.id, 2);
	assert_int_equal(in.attempt, 1);
	assert_int_equal(in.n_ev, 0);
	xp_install_state_release(&in);
	memcpy(old, tok, sizeof(old));
	assert_int_equal(xp_install_token(inv, "n1", tok), 0);
	assert_string_not_equal(tok, old);
	/* unmarked and marked again: the running attempt's token dies */
	assert_int_equal(xp_install_mark(inv, "n1", false), 0);
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, tok, "progress", "started", NULL),
			 -EACCES);
	assert_int_equal(xp_install_mark(inv, "n1", true), 0);
	assert_int_equal(xp_install_token(inv, "n1", again), 0);
	assert_string_not_equal(again, tok);
	assert_int_equal(xp_install_event(inv, "n1", N1_IP, tok, "progress", "started", NULL),
			 -EACCES);
	/* another key, other tokens; a key that is not one is an error, not a weak key */
	memcpy(tok, again, sizeof(tok));
	xp_test_write(xp_test_path(state, "install-key"),
		      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	assert_int_equal(xp_install_token(inv, "n1", again), 0);
	assert_string_not_equal(again, tok);
	xp_test_write(xp_test_path(state, "install-key"), "short\n");
	assert_int_equal(xp_install_token(inv, "n1", again), -EBADMSG);
	xp_test_write(xp_test_path(state, "install-key"),
		      "0g112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	assert_int_equal(xp_install_token(inv, "n1", again), -EBADMSG);
	assert_int_equal(unlink(xp_test_path(state, "install-key")), 0);
	/* a removed system takes its mark and events with it; one added again under its
	 * name, marked, gets other tokens (install 1, attempt 1 again, another nonce) */
	assert_int_equal(xp_install_token(inv, "n1", tok), 0);
	assert_int_equal(xp_system_remove(inv, "n1"), 0);
	assert_int_equal(xp_install_get(inv, "n1", &in), -ENOENT);
	assert_int_equal(xp_system_add(inv, &s, NULL), 0);
	assert_int_equal(xp_install_mark(inv, "n1", true), 0);
	assert_int_equal(xp_install_get(inv, "n1", &in), 0);
	assert_int_equal(in.id, 1);
	xp_install_state_release(&in);
	assert_int_equal(xp_install_token(inv, "n1", again), 0);
	assert_string_not_equal(again, tok);
	assert_int_equal(xp_system_remove(inv, "n1"), 0);
	xp_inv_close(inv);
}

/* The inventory with distro deb and system name (mac, 10.0.0.10, netboot on). */
static struct xp_inv *inv_with_system(const char *name, const char *mac)
{
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add_distro(inv, "deb"), 0);
	struct xp_system s = {
	    .name = (char *)name, .mac = (char *)mac, .ip = "10.0.0.10", .distro = "deb", .netboot = true};
	assert_int_equal(xp_system_add(inv, &s, NULL), 0);
	return inv;
}

/* A machine stopped half way boots from the network again. Rendering ends nothing (a
 * DHCP or TFTP request with its MAC or address is anyone's to send): while its attempt
 * runs, its config carries the next attempt's token, and the running installer's token
 * goes on working; the first event with the next token ends the running attempt as
 * abandoned (the old token refused from then on, the mark kept). Before the installer
 * began, a boot renders the same token; the next token is taken only from the system's
 * address and only while the attempt it supersedes runs. */
static void test_install_abandoned(void **st)
{
	(void)st;
	struct xp_inv *inv = inv_with_system("n3", "52:54:00:00:00:03");
	char tok[XP_INSTALL_TOKEN_LEN + 1], next[XP_INSTALL_TOKEN_LEN + 1];
	char again[XP_INSTALL_TOKEN_LEN + 1];
	assert_int_equal(xp_install_boot_token(inv, "n3", tok), -ENOENT); /* never marked */
	assert_int_equal(xp_install_boot_token(inv, "nosuch", tok), -ENOENT);
	assert_int_equal(xp_install_mark(inv, "n3", true), 0);
	assert_int_equal(xp_install_token(inv, "n3", tok), 0);
	assert_int_equal(xp_install_boot_token(inv, "n3", again), 0); /* not begun */
	assert_string_equal(again, tok);
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, tok, "progress", "started", NULL), 0);
	/* the attempt runs: a boot config now carries the next token, the same each time */
	assert_int_equal(xp_install_boot_token(inv, "n3", next), 0);
	assert_string_not_equal(next, tok);
	assert_int_equal(xp_install_boot_token(inv, "n3", again), 0);
	assert_string_equal(again, next);
	/* and ends nothing: the running installer's token is still the install grant's,
	 * and its events are taken */
	assert_int_equal(xp_install_token(inv, "n3", again), 0);
	assert_string_equal(again, tok);
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, tok, "progress", "image", NULL), 0);
	/* the install grant takes both (the new installer may fetch before it reports),
	 * and ends nothing */
	assert_int_equal(xp_install_token_check(inv, "n3", tok), 0);
	assert_int_equal(xp_install_token_check(inv, "n3", next), 0);
	assert_int_equal(xp_install_token_check(inv, "nosuch", next), -EACCES);
	assert_int_equal(xp_install_token_check(inv, "n3", "short"), -EACCES);
	assert_int_equal(xp_install_token_check(inv, "n3", NULL), -EACCES);
	/* the next token from another address: refused, nothing ended */
	assert_int_equal(xp_install_event(inv, "n3", N1_IP + 1, next, "progress", "started", NULL),
			 -EACCES);
	/* nor while the attempt it would supersede does not run (its events gone) */
	xp_test_sql(state, "UPDATE install_events SET kind = 'failure' WHERE system = 'n3'");
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, next, "progress", "started", NULL),
			 -EACCES);
	assert_int_equal(xp_install_token_check(inv, "n3", next), -EACCES);
	assert_int_equal(xp_install_boot_token(inv, "n3", again), 0);
	assert_string_equal(again, tok);
	xp_test_sql(state, "UPDATE install_events SET kind = 'progress' WHERE system = 'n3'");
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, tok, "progress", "image", NULL), 0);
	/* killed; the next boot's installer reports with the next token: the running
	 * attempt ends abandoned */
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, next, "progress", "started", NULL), 1);
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, tok, "progress", "image", NULL),
			 -EACCES);
	assert_int_equal(xp_install_token_check(inv, "n3", tok), -EACCES);
	assert_int_equal(xp_install_token_check(inv, "n3", next), 0);
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, next, "progress", "image", NULL), 0);
	assert_int_equal(xp_install_token(inv, "n3", again), 0);
	assert_string_equal(again, next);
	struct xp_install_state in;
	assert_int_equal(xp_install_get(inv, "n3", &in), 0);
	assert_true(in.marked);
	assert_int_equal(in.id, 1);
	assert_int_equal(in.attempt, 2);
	assert_int_equal(in.n_ev, 6);
	assert_string_equal(in.ev[3].kind, "failure");
	assert_string_equal(in.ev[3].step, "abandoned");
	assert_string_equal(in.ev[3].message, "attempt 1 ended: the machine booted from the "
					      "network again and attempt 2's installer reported");
	assert_string_equal(in.ev[4].step, "started");
	xp_install_state_release(&in);
	/* attempt 2 runs: a boot now renders a third token; an ending event of its own
	 * ends it as before, and the next boot's token is then the current one */
	assert_int_equal(xp_install_boot_token(inv, "n3", again), 0);
	assert_string_not_equal(again, next);
	assert_string_not_equal(again, tok);
	memcpy(tok, again, sizeof(tok));
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, next, "failure", "disk", "no disk"), 0);
	assert_int_equal(xp_install_boot_token(inv, "n3", again), 0);
	assert_string_equal(again, tok);
	assert_int_equal(xp_install_token(inv, "n3", again), 0);
	assert_string_equal(again, tok);
	/* the next attempt installs */
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, tok, "progress", "started", NULL), 0);
	assert_int_equal(xp_install_event(inv, "n3", N1_IP, tok, "success", "done", NULL), 0);
	assert_int_equal(xp_install_boot_token(inv, "n3", again), -ENOENT); /* not marked */
	assert_int_equal(xp_install_get(inv, "n3", &in), 0);
	assert_false(in.marked);
	assert_int_equal(in.attempt, 4);
	assert_int_equal(in.n_ev, 9);
	xp_install_state_release(&in);
	xp_inv_close(inv);
}

struct event_call {
	struct xp_inv *inv;
	const char *token;
	int r;
};

static void *post_image_event(void *arg)
{
	struct event_call *c = arg;
	c->r = xp_install_event(c->inv, "n4", N1_IP, c->token, "progress", "image", NULL);
	return NULL;
}

/* The next attempt's event read while another writer (holding the write lock) ends the
 * running attempt for it: its write finds the attempt moved on, and it is taken as the
 * new attempt's own (its token is the current one by then), not refused; the running
 * attempt ends once. */
static void test_install_abandoned_race(void **st)
{
	(void)st;
	struct xp_inv *inv = inv_with_system("n4", "52:54:00:00:00:04");
	char tok[XP_INSTALL_TOKEN_LEN + 1], next[XP_INSTALL_TOKEN_LEN + 1];
	assert_int_equal(xp_install_mark(inv, "n4", true), 0);
	assert_int_equal(xp_install_token(inv, "n4", tok), 0);
	assert_int_equal(xp_install_event(inv, "n4", N1_IP, tok, "progress", "started", NULL), 0);
	assert_int_equal(xp_install_boot_token(inv, "n4", next), 0);
	/* the other writer: what a next-token event's write does, not yet committed */
	struct xp_test_write_lock l = xp_test_write_lock_hold(state);
	const char *sql =
	    "INSERT INTO install_events (system, install, time, kind, step, message) VALUES"
	    " ('n4', 1, 1, 'failure', 'abandoned', 'x'), ('n4', 1, 2, 'progress', 'started',"
	    " NULL); UPDATE install_attempts SET attempt = 2 WHERE system = 'n4'";
	if (l.pg) {
		PGresult *res = PQexec(l.pg, sql);
		assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
		PQclear(res);
	} else {
		assert_int_equal(sqlite3_exec(l.db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	struct event_call c = {.inv = inv, .token = next, .r = 99};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, post_image_event, &c), 0);
	usleep(500 * 1000); /* its read is done (the old state): it waits for the lock */
	if (l.pg) {
		PQclear(PQexec(l.pg, "COMMIT"));
		PQfinish(l.pg);
	} else {
		assert_int_equal(sqlite3_exec(l.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(l.db);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.r, 0);
	struct xp_install_state in;
	assert_int_equal(xp_install_get(inv, "n4", &in), 0);
	assert_int_equal(in.attempt, 2);
	assert_int_equal(in.n_ev, 4);
	assert_string_equal(in.ev[1].step, "abandoned");
	assert_string_equal(in.ev[3].step, "image");
	xp_install_state_release(&in);
	xp_inv_close(inv);
}

/* An installer (or a stolen token) posting without end: the system keeps its
 * XP_INSTALL_EVENTS_MAX newest events, oldest first. */
static void test_install_events_bounded(void **st)
{
	(void)st;
	struct xp_inv *inv = inv_with_system("n2", "52:54:00:00:00:02");
	assert_int_equal(xp_install_mark(inv, "n2", true), 0);
	char tok[XP_INSTALL_TOKEN_LEN + 1];
	assert_int_equal(xp_install_token(inv, "n2", tok), 0);
	const int posted = XP_INSTALL_EVENTS_MAX + 50;
	for (int i = 0; i < posted; i++) {
		char step[16];
		snprintf(step, sizeof(step), "s%d", i);
		assert_int_equal(xp_install_event(inv, "n2", N1_IP, tok, "progress", step, NULL),
				 0);
	}
	struct xp_install_state in;
	assert_int_equal(xp_install_get(inv, "n2", &in), 0);
	assert_int_equal(in.n_ev, XP_INSTALL_EVENTS_MAX);
	char want[16];
	snprintf(want, sizeof(want), "s%d", posted - XP_INSTALL_EVENTS_MAX);
	assert_string_equal(in.ev[0].step, want);
	snprintf(want, sizeof(want), "s%d", posted - 1);
	assert_string_equal(in.ev[in.n_ev - 1].step, want);
	xp_install_state_release(&in);
	assert_int_equal(xp_test_sql_int(state, "SELECT count(*) FROM install_events"),
			 XP_INSTALL_EVENTS_MAX);
	xp_inv_close(inv);
}

/* Kernel options claiming the server's own xenprov.* arguments are refused, for systems
 * and distros, with the word named; others pass. */
static void test_kernel_options_reserved(void **st)
{
	(void)st;
	size_t n = 0;
	const char *w;
	assert_null(xp_kernel_options_reserved(NULL, &n));
	assert_null(xp_kernel_options_reserved("console=ttyS0 xenprov=1 myxenprov.server=x", &n));
	const struct {
		const char *opts, *word;
	} hits[] = {
	    {"xenprov.server=http://evil", "xenprov.server=http://evil"},
	    {"console=ttyS0 xenprov.token=abc quiet", "xenprov.token=abc"},
	    {"a=1  \"xenprov.mac=52:54:00:00:00:01\"", "\"xenprov.mac=52:54:00:00:00:01\""},
	    {"XenProv.System=other", "XenProv.System=other"},
	    {"xenprov.", "xenprov."},
	};
	for (size_t i = 0; i < sizeof(hits) / sizeof(hits[0]); i++) {
		w = xp_kernel_options_reserved(hits[i].opts, &n);
		assert_non_null(w);
		assert_int_equal(n, strlen(hits[i].word));
		assert_memory_equal(w, hits[i].word, n);
	}
	struct xp_inv *inv = xp_test_inv_open(state);
	assert_int_equal(add_distro(inv, "deb"), 0);
	struct xp_system s = {.name = "n3",
			      .mac = "52:54:00:00:00:03",
			      .distro = "deb",
			      .netboot = true,
			      .kernel_options = "console=ttyS0 xenprov.server=http://10.9.9.9"};
	struct xp_diags d = {0};
	assert_int_equal(xp_system_add(inv, &s, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "kernel-options: 'xenprov.server=http://10.9.9.9': "
					"xenprov.* arguments are the boot server's own");
	assert_non_null(d.v[0].hint);
	xp_diags_release(&d);
	s.kernel_options = "console=ttyS0";
	assert_int_equal(xp_system_add(inv, &s, NULL), 0);
	s.kernel_options = "xenprov.token=0";
	assert_int_equal(xp_system_update(inv, &s, &d), -EINVAL);
	xp_diags_release(&d);
	struct xp_system got;
	assert_int_equal(xp_system_get(inv, "n3", &got), 0);
	assert_string_equal(got.kernel_options, "console=ttyS0");
	xp_system_release(&got);
	struct xp_distro dd = {
	    .name = "deb2", .kernel = kernel, .kernel_options = "xenprov.system=x"};
	assert_int_equal(xp_distro_add(inv, &dd, 0, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "kernel-options: 'xenprov.system=x': xenprov.* arguments "
					"are the boot server's own");
	xp_diags_release(&d);
	xp_inv_close(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_distro_crud),
	    xp_test_in_scratch(test_distro_refusals),
	    xp_test_in_scratch(test_system_crud),
	    xp_test_in_scratch(test_install_marks),
	    xp_test_in_scratch(test_install_events_bounded),
	    xp_test_in_scratch(test_install_abandoned),
	    xp_test_in_scratch(test_install_abandoned_race),
	    xp_test_in_scratch(test_kernel_options_reserved),
	    xp_test_in_scratch(test_system_refusals),
	    xp_test_in_scratch(test_references),
	    cmocka_unit_test(test_profile_distro_key),
	    cmocka_unit_test(test_setting_check_good),
	    cmocka_unit_test(test_setting_check_bad),
	    cmocka_unit_test(test_setting_defaults),
	    xp_test_in_scratch(test_settings_store),
	    cmocka_unit_test(test_pools),
	    cmocka_unit_test(test_system_ip_check),
	    xp_test_in_scratch(test_system_ip_store),
	    xp_test_in_scratch(test_data_version),
	    xp_test_in_scratch(test_migrate_v1),
	    xp_test_in_scratch(test_schema_constraints),
	};
	/* an SQLite database of version 1, SQLite's constraints through sqlite3, PRAGMA
	 * data_version (PostgreSQL's LISTEN/NOTIFY is not there yet); the install tests
	 * that read inventory.db's bytes and hold SQLite's write lock from outside */
	static const char *const sqlite_only[] = {"test_migrate_v1", "test_data_version", NULL};
	return xp_test_run_backends(tests, sqlite_only);
}
