/*
 * test-domain.c - unit tests for guests (src/lib/deploy): IP pool allocation and its
 * edges, MAC prefixes and uniqueness (also between concurrent processes), the xl config
 * text read back with xp_cfg_parse / xp_disk_parse / xp_vif_parse field by field, golden
 * images (built once from a tarball, or used as they are), storage backends checked with
 * qemu-img (file, qcow2; reflink: the clone where the filesystem can, else the clear
 * refusal; lvm detection: -ENOTSUP without device-mapper or lvm2's tools), and
 * create/delete through the inventory, including the undo of a failed create, and the
 * further disks and NICs (made, recorded, configured, unique, undone, removed). No case
 * skips: what needs a particular machine (a reflink clone, a real logical volume) is
 * in integration/deploy-reflink and integration/deploy-lvm, which report themselves
 * skipped (77) where they cannot run.
 *
 * This binary defines xp_guest_customize itself (a strong definition replacing the
 * library's weak default), to see what create passes to it and to make it fail.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "xenprov/deploy.h"
#include "xenprov/domain.h"
#include "xenprov/inventory.h"
#include "xenprov/xl-config.h"
#include "xenprov/xl-disk.h"
#include "xenprov/xl-vif.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char tmp[4096];     /* scratch directory */
static char tarball[4200]; /* a tiny root */

/* ---- the hook ------------------------------------------------------------------------- */

static int hook_result;
static int hook_calls;
static struct {
	char name[64], mac[32], ip[32], disk[4200], golden[4200];
	unsigned prefix;
	int64_t root_offset;
	enum xp_image_format format;
	size_t nnics, nvolumes;
	char nic1_mac[32], disk1_uuid[40];
} seen;

/* What the hook reports as xp_guest_apply would: the golden image's UUIDs and the new
 * ones it gave the guest. */
#define GOLD_FS	 "11111111-2222-4333-8444-555555555555"
#define GUEST_FS "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define GOLD_SW	 "66666666-7777-4888-9999-000000000000"
#define GUEST_SW "ffffffff-eeee-4ddd-accc-bbbbbbbbbbbb"

int xp_guest_customize(const struct xp_guest_spec *spec, struct xp_guest_report *rep,
		       struct xp_diags *d)
{
	if (rep) {
		*rep = (struct xp_guest_report){.fs_offset = 0};
		snprintf(rep->old_fs_uuid, sizeof(rep->old_fs_uuid), "%s", GOLD_FS);
		snprintf(rep->fs_uuid, sizeof(rep->fs_uuid), "%s", GUEST_FS);
		snprintf(rep->old_swap_uuid, sizeof(rep->old_swap_uuid), "%s", GOLD_SW);
		snprintf(rep->swap_uuid, sizeof(rep->swap_uuid), "%s", GUEST_SW);
	}
	hook_calls++;
	snprintf(seen.name, sizeof(seen.name), "%s", spec->name);
	snprintf(seen.mac, sizeof(seen.mac), "%s", spec->mac);
	snprintf(seen.ip, sizeof(seen.ip), "%s", spec->ip ? spec->ip : "");
	snprintf(seen.disk, sizeof(seen.disk), "%s", spec->disk_path);
	snprintf(seen.golden, sizeof(seen.golden), "%s", spec->golden_path);
	seen.prefix = spec->prefix_len;
	seen.root_offset = spec->root_offset;
	seen.format = spec->disk_format;
	seen.nnics = spec->nnics;
	seen.nvolumes = spec->nvolumes;
	snprintf(seen.nic1_mac, sizeof(seen.nic1_mac), "%s", spec->nnics ? spec->nics[0].mac : "");
	snprintf(seen.disk1_uuid, sizeof(seen.disk1_uuid), "%s",
		 spec->nvolumes && spec->volumes[0].uuid ? spec->volumes[0].uuid : "");
	assert_string_equal(spec->hostname, spec->name);
	if (hook_result < 0)
		xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "test", NULL, NULL, "hook fails");
	return hook_result;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
	char p[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	struct stat st;
	return lstat(p, &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	if (xp_test_mkdtemp(tmp, sizeof(tmp), "test-domain") < 0)
		return -1;
	snprintf(tarball, sizeof(tarball), "%s/root.tar.gz", tmp);
	return xp_test_sh(
	    "set -e; r=%s/root; mkdir -p $r/etc/network $r/bin; echo guest >$r/etc/hostname;"
	    "echo '/dev/xvda1 / ext4 defaults 0 1' >$r/etc/fstab;"
	    "printf 'auto lo\\niface lo inet loopback\\n' >$r/etc/network/interfaces;"
	    "printf '#!/bin/sh\\n' >$r/bin/sh; chmod 755 $r/bin/sh;"
	    "tar -C $r --numeric-owner -czf %s .; echo kernel >%s/vmlinuz",
	    tmp, tarball, tmp);
}

static int teardown(void **state)
{
	(void)state;
	int dropped = xp_test_backend_teardown();
	return xp_test_rmtree(tmp) < 0 || dropped < 0 ? -1 : 0;
}

/* A fresh state directory, config directory and inventory for one test. */
struct env {
	char dir[4200], state[4300], cfg[4300];
	struct xp_inv *inv;
};

static void env_open(struct env *e, const char *name)
{
	snprintf(e->dir, sizeof(e->dir), "%s/%s", tmp, name);
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	snprintf(e->cfg, sizeof(e->cfg), "%s/cfg", e->dir);
	assert_int_equal(xp_test_sh("rm -rf '%s' && mkdir -p '%s'", e->dir, e->cfg), 0);
	/* on PostgreSQL, a fresh schema (testlib.h), which what the test forks sees too */
	assert_int_equal(xp_test_backend_teardown(), 0);
	assert_int_equal(xp_test_backend_setup(), 0);
	assert_int_equal(xp_inv_open(e->state, &e->inv), 0);
	assert_int_equal(xp_inv_is_pgsql(e->inv), xp_test_pgurl() != NULL);
}

static void env_close(struct env *e)
{
	xp_inv_close(e->inv);
}

/* Adds a profile from "key=value" strings. */
static void profile(struct env *e, const char *name, const char *const *kv, size_t n)
{
	struct xp_profile p = {.name = (char *)name};
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(kv[i], '=');
		char key[64];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv[i]), kv[i]);
		char *norm;
		assert_int_equal(xp_profile_check(key, eq + 1, &norm, NULL), 0);
		assert_int_equal(xp_settings_set(&p.set, key, norm), 0);
		free(norm);
	}
	assert_int_equal(xp_profile_add(e->inv, &p), 0);
	xp_settings_release(&p.set);
}

static void basic_profile(struct env *e, const char *name, const char *pool, const char *storage)
{
	char image[4300], st[64], ip[64];
	snprintf(image, sizeof(image), "image=%s", tarball);
	snprintf(st, sizeof(st), "storage=%s", storage);
	snprintf(ip, sizeof(ip), "ip-pool=%s", pool);
	const char *kv[] = {image, "disk-size=32M", st, "memory=256", ip, "gateway=10.9.0.1"};
	profile(e, name, kv, pool ? N(kv) : N(kv) - 2);
}

static int create(struct env *e, const char *name, const char *prof, const char *ip,
		  const char *mac, const struct xp_settings *over, struct xp_domain *out)
{
	struct xp_domain_create_opts o = {.name = name, .profile = prof, .ip = ip, .mac = mac,
					  .overrides = over, .config_dir = e->cfg};
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_domain_create(e->inv, &o, out, &d);
	for (size_t i = 0; i < d.n; i++)
		print_message("  diag: %s\n", d.v[i].msg);
	if (r < 0)
		assert_true(xp_diags_count(&d, XP_SEV_ERROR) > 0);
	xp_diags_release(&d);
	return r;
}

/* Nothing of a guest is left: no row, no config, no disk. */
static void assert_gone(struct env *e, const char *name)
{
	struct xp_domain dom;
	assert_int_equal(xp_domain_get(e->inv, name, &dom), -ENOENT);
	assert_false(exists("%s/%s.cfg", e->cfg, name));
	assert_false(exists("%s/disks/%s.img", e->state, name));
	assert_false(exists("%s/disks/%s.qcow2", e->state, name));
}

/* ---- IP pools ---------------------------------------------------------------------------- */

struct pick_case {
	const char *pool, *gw;
	const char *used[8];
	int rc;
	const char *want;
	unsigned prefix;
};

static const struct pick_case pick_cases[] = {
	{"10.0.0.0/24", NULL, {NULL}, 0, "10.0.0.1", 24},
	{"10.0.0.0/24", "10.0.0.1", {NULL}, 0, "10.0.0.2", 24},
	{"10.0.0.0/24", "10.0.0.1", {"10.0.0.2", "10.0.0.3"}, 0, "10.0.0.4", 24},
	/* unsorted, with a hole, duplicates and garbage */
	{"10.0.0.0/24", "10.0.0.1", {"10.0.0.5", "10.0.0.2", "junk", "10.0.0.2", "10.0.0.3", ""},
	 0, "10.0.0.4", 24},
	/* addresses of other networks do not matter */
	{"10.0.0.0/24", NULL, {"10.0.1.1", "192.168.0.1"}, 0, "10.0.0.1", 24},
	/* the gateway need not be the first address */
	{"10.0.0.0/24", "10.0.0.254", {"10.0.0.1"}, 0, "10.0.0.2", 24},
	/* a pool written with host bits is its network */
	{"10.0.0.77/24", NULL, {NULL}, 0, "10.0.0.1", 24},
	/* /30: one host address besides the gateway, then none */
	{"10.0.0.0/30", "10.0.0.1", {NULL}, 0, "10.0.0.2", 30},
	{"10.0.0.0/30", "10.0.0.1", {"10.0.0.2"}, -ENOSPC, NULL, 0},
	/* /29 full: .1 gateway, .2-.6 used; never .0 or .7 */
	{"10.0.0.0/29", "10.0.0.1", {"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"},
	 -ENOSPC, NULL, 0},
	/* .255 and .0 inside a /23 are ordinary host addresses */
	{"10.0.0.0/23", NULL, {"10.0.0.254", "10.0.0.1"}, 0, "10.0.0.2", 23},
	{"172.16.0.0/12", NULL, {NULL}, 0, "172.16.0.1", 12},
	{"10.0.0.0/8", "10.0.0.1", {NULL}, 0, "10.0.0.2", 8},
	/* malformed */
	{"10.0.0.0", NULL, {NULL}, -EINVAL, NULL, 0},
	{"10.0.0.0/31", NULL, {NULL}, -EINVAL, NULL, 0},
	{"10.0.0.0/7", NULL, {NULL}, -EINVAL, NULL, 0},
	{"10.0.0.0/", NULL, {NULL}, -EINVAL, NULL, 0},
	{"10.0.0.0/24x", NULL, {NULL}, -EINVAL, NULL, 0},
	{"10.0.0.0/-24", NULL, {NULL}, -EINVAL, NULL, 0},
	{"10.0.0/24", NULL, {NULL}, -EINVAL, NULL, 0},
	{"x/24", NULL, {NULL}, -EINVAL, NULL, 0},
	{"10.0.0.0/24", "nope", {NULL}, -EINVAL, NULL, 0},
	{NULL, NULL, {NULL}, -EINVAL, NULL, 0},
};

static void test_ip_pool_pick(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(pick_cases); i++) {
		const struct pick_case *c = &pick_cases[i];
		size_t n = 0;
		while (n < 8 && c->used[n])
			n++;
		char out[16] = "";
		unsigned prefix = 0;
		print_message("pick %s gw %s (%zu used)\n", c->pool ? c->pool : "NULL",
			      c->gw ? c->gw : "-", n);
		assert_int_equal(xp_ip_pool_pick(c->pool, c->gw, c->used, n, out, &prefix), c->rc);
		if (c->rc == 0) {
			assert_string_equal(out, c->want);
			assert_int_equal(prefix, c->prefix);
		}
	}
}

/* A /8 nearly full: the lowest free address is found among 2^24 quickly. */
static void test_ip_pool_big(void **state)
{
	(void)state;
	size_t n = 70000;
	char **used = malloc(n * sizeof(*used));
	assert_non_null(used);
	for (size_t i = 0; i < n; i++) {
		uint32_t a = (uint32_t)(i + 1);
		assert_true(asprintf(&used[i], "10.%u.%u.%u", a >> 16 & 255, a >> 8 & 255, a & 255) > 0);
	}
	char out[16];
	unsigned prefix;
	assert_int_equal(xp_ip_pool_pick("10.0.0.0/8", NULL, (const char *const *)used, n, out, &prefix), 0);
	assert_string_equal(out, "10.1.17.113"); /* 70001 = 0x011171 */
	xp_strv_free(used, n);
}

/* A deploy's addresses planned at once, in the order given: each the lowest free of its
 * pool, past the used ones, the gateway, the reserved ones and the earlier guests'. */
static void test_ip_pool_pick_many(void **state)
{
	(void)state;
	const char *used[] = {"10.0.0.3", "10.0.0.5", "junk", "10.1.0.2"};
	struct xp_ip_want w[] = {
	    {.pool = "10.0.0.0/24", .gateway = "10.0.0.1", .reserved = "10.0.0.2,x"},
	    {.pool = "10.0.0.0/24", .gateway = "10.0.0.1", .reserved = "10.0.0.2"},
	    {.pool = NULL},
	    {.pool = "10.0.0.0/24", .gateway = NULL},
	    {.pool = "10.0.0.0/23"}, /* overlaps: what the /24's guests got is taken */
	    {.pool = "10.1.0.0/30"}, /* .1 and .2 are hosts; .2 is used */
	    {.pool = "10.1.0.0/30"}, /* full */
	    {.pool = "10.0.0.0/33"},
	    {.pool = "10.0.0.0/24", .gateway = "nope"},
	    {.pool = "10.0.0.0/24", .gateway = "10.0.0.1", .reserved = "10.0.0.2"},
	};
	const struct {
		int r;
		const char *ip;
		unsigned prefix;
	} want[] = {
	    {0, "10.0.0.4", 24}, {0, "10.0.0.6", 24}, {0, "", 0},	     {0, "10.0.0.1", 24},
	    {0, "10.0.0.2", 23}, {0, "10.1.0.1", 30}, {-ENOSPC, "", 0}, {-EINVAL, "", 0},
	    {-EINVAL, "", 0},	 {0, "10.0.0.7", 24},
	};
	assert_int_equal(xp_ip_pool_pick_many(w, N(w), used, N(used)), 0);
	for (size_t i = 0; i < N(w); i++) {
		print_message("want %zu: %d %s/%u\n", i, w[i].r, w[i].ip, w[i].prefix);
		assert_int_equal(w[i].r, want[i].r);
		assert_string_equal(w[i].ip, want[i].ip);
		assert_int_equal(w[i].prefix, want[i].prefix);
	}
	/* nothing wanted, nothing used */
	assert_int_equal(xp_ip_pool_pick_many(NULL, 0, NULL, 0), 0);
}

/* 60,000 guests in a /16 with 5,000 addresses taken: each gets the next free one. */
static void test_ip_pool_pick_many_big(void **state)
{
	(void)state;
	size_t n = 60000, nused = 5000;
	char **used = calloc(nused, sizeof(*used));
	struct xp_ip_want *w = calloc(n, sizeof(*w));
	assert_non_null(used);
	assert_non_null(w);
	for (size_t i = 0; i < nused; i++) /* every even host from .1 up */
		assert_true(asprintf(&used[i], "172.16.%zu.%zu", (2 * i + 1) >> 8,
				     (2 * i + 1) & 255) > 0);
	for (size_t i = 0; i < n; i++)
		w[i].pool = "172.16.0.0/16";
	assert_int_equal(xp_ip_pool_pick_many(w, n, (const char *const *)used, nused), 0);
	/* the first 5,000 fill the gaps between the used ones, then it goes on in order */
	assert_string_equal(w[0].ip, "172.16.0.2");
	assert_string_equal(w[4999].ip, "172.16.39.16"); /* 2 * 5000 = 10000 = 0x2710 */
	assert_string_equal(w[5000].ip, "172.16.39.17");
	assert_string_equal(w[n - 1].ip, "172.16.253.232"); /* 10000 + 55000 = 0xfde8 */
	xp_strv_free(used, nused);
	free(w);
}

/* Where configs go: --config-dir, else the profile's, else the setting, else /etc/xen;
 * a missing one is one diagnostic naming where it came from. */
static void test_config_dir(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, "config-dir");
	char set_dir[4400], prof_dir[4400];
	snprintf(set_dir, sizeof(set_dir), "%s/from-setting", e.dir);
	snprintf(prof_dir, sizeof(prof_dir), "%s/from-profile", e.dir);
	struct xp_settings prof = {0};
	struct xp_diags d;
	xp_diags_init(&d);
	char *out;
	/* the setting names a missing directory */
	assert_int_equal(xp_server_setting_set(e.inv, "config-dir", set_dir, &d), 0);
	assert_int_equal(d.n, 1); /* warned: it does not exist yet */
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	xp_diags_release(&d);
	xp_diags_init(&d);
	assert_int_equal(xp_domain_config_dir(e.inv, NULL, &prof, &out, &d), -ENOENT);
	assert_int_equal(d.n, 1);
	char msg[4600];
	snprintf(msg, sizeof(msg), "the config directory %s (the setting config-dir) does not exist",
		 set_dir);
	assert_string_equal(d.v[0].msg, msg);
	assert_string_equal(d.v[0].code, "config-dir");
	xp_diags_release(&d);
	assert_int_equal(xp_test_sh("mkdir '%s' '%s'", set_dir, prof_dir), 0);
	assert_int_equal(xp_domain_config_dir(e.inv, NULL, NULL, &out, NULL), 0);
	assert_string_equal(out, set_dir);
	free(out);
	/* the profile's over the setting */
	assert_int_equal(xp_settings_set(&prof, "config-dir", prof_dir), 0);
	assert_int_equal(xp_domain_config_dir(e.inv, NULL, &prof, &out, NULL), 0);
	assert_string_equal(out, prof_dir);
	free(out);
	/* the caller's over both */
	assert_int_equal(xp_domain_config_dir(e.inv, e.cfg, &prof, &out, NULL), 0);
	assert_string_equal(out, e.cfg);
	free(out);
	xp_diags_init(&d);
	assert_int_equal(xp_domain_config_dir(e.inv, "/nonexistent/xen", &prof, &out, &d), -ENOENT);
	assert_string_equal(d.v[0].msg,
			    "the config directory /nonexistent/xen (--config-dir) does not exist");
	xp_diags_release(&d);
	/* a file is not a directory */
	xp_diags_init(&d);
	assert_int_equal(xp_domain_config_dir(e.inv, tarball, NULL, &out, &d), -ENOTDIR);
	assert_non_null(strstr(d.v[0].msg, "is not a directory"));
	xp_diags_release(&d);
	/* without any, Xen's own */
	assert_int_equal(xp_server_setting_unset(e.inv, "config-dir", NULL), 0);
	xp_diags_init(&d);
	int r = xp_domain_config_dir(e.inv, NULL, NULL, &out, &d);
	if (r == 0) {
		assert_string_equal(out, "/etc/xen");
		free(out);
	} else {
		assert_int_equal(r, -ENOENT);
		assert_string_equal(d.v[0].msg, "the config directory /etc/xen does not exist");
		assert_non_null(strstr(d.v[0].hint, "xenprov settings set config-dir DIR"));
	}
	xp_diags_release(&d);
	xp_settings_release(&prof);
	env_close(&e);
}

struct check_case {
	const char *spec, *pool, *gw;
	int rc;
	const char *want;
	unsigned prefix;
};

static const struct check_case check_cases[] = {
	{"10.0.0.5", "10.0.0.0/24", "10.0.0.1", 0, "10.0.0.5", 24},
	{"10.0.0.5/24", "10.0.0.0/24", NULL, 0, "10.0.0.5", 24},
	{"10.0.0.0", "10.0.0.0/24", NULL, -EINVAL, NULL, 0},   /* network */
	{"10.0.0.255", "10.0.0.0/24", NULL, -EINVAL, NULL, 0}, /* broadcast */
	{"10.0.0.1", "10.0.0.0/24", "10.0.0.1", -EINVAL, NULL, 0}, /* gateway */
	{"10.0.0.5/16", "10.0.0.0/24", NULL, -EINVAL, NULL, 0}, /* contradicts the pool */
	{"192.168.1.5", "10.0.0.0/24", NULL, -EINVAL, NULL, 0}, /* outside, no prefix */
	{"192.168.1.5/24", "10.0.0.0/24", NULL, 0, "192.168.1.5", 24},
	{"192.168.1.5", NULL, NULL, -EINVAL, NULL, 0},
	{"192.168.1.5/32", NULL, NULL, 0, "192.168.1.5", 32},
	{"192.168.1.5/33", NULL, NULL, -EINVAL, NULL, 0},
	{"192.168.1.5/0", NULL, NULL, -EINVAL, NULL, 0},
	{"192.168.1.5/", NULL, NULL, -EINVAL, NULL, 0},
	{"192.168.1/24", NULL, NULL, -EINVAL, NULL, 0},
	{"nope", "10.0.0.0/24", NULL, -EINVAL, NULL, 0},
	{"", "10.0.0.0/24", NULL, -EINVAL, NULL, 0},
	{"10.0.0.5 ", "10.0.0.0/24", NULL, -EINVAL, NULL, 0},
};

static void test_ip_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(check_cases); i++) {
		const struct check_case *c = &check_cases[i];
		char out[16] = "";
		unsigned prefix = 0;
		struct xp_diags d;
		xp_diags_init(&d);
		print_message("check '%s' in %s\n", c->spec, c->pool ? c->pool : "-");
		assert_int_equal(xp_ip_check(c->spec, c->pool, c->gw, out, &prefix, &d), c->rc);
		if (c->rc == 0) {
			assert_string_equal(out, c->want);
			assert_int_equal(prefix, c->prefix);
			assert_int_equal(d.n, 0);
		} else {
			assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 1);
		}
		xp_diags_release(&d);
	}
}

/* ---- MACs ----------------------------------------------------------------------------- */

static void test_mac_prefix_parse(void **state)
{
	(void)state;
	struct {
		const char *in;
		int rc;
		size_t len;
		uint8_t b[5];
	} cases[] = {
		{"00:16:3e", 0, 3, {0x00, 0x16, 0x3e}},
		{"02", 0, 1, {0x02}},
		{"AA-bb", 0, 2, {0xaa, 0xbb}},
		{"00:16:3e:01:02", 0, 5, {0x00, 0x16, 0x3e, 0x01, 0x02}},
		{"00:16:3e:01:02:03", -EINVAL, 0, {0}}, /* six octets leave nothing random */
		{"01:00:5e", -EINVAL, 0, {0}},          /* multicast */
		{"0:16:3e", -EINVAL, 0, {0}},
		{"00:16:", -EINVAL, 0, {0}},
		{"00:16:3g", -EINVAL, 0, {0}},
		{"00.16", -EINVAL, 0, {0}},
		{"", -EINVAL, 0, {0}},
	};
	for (size_t i = 0; i < N(cases); i++) {
		uint8_t out[5];
		size_t len = 99;
		print_message("prefix '%s'\n", cases[i].in);
		assert_int_equal(xp_mac_prefix_parse(cases[i].in, out, &len), cases[i].rc);
		if (cases[i].rc == 0) {
			assert_int_equal(len, cases[i].len);
			assert_memory_equal(out, cases[i].b, len);
		}
	}
}

/* A random source that replays a script of bytes, then counts up. */
struct script {
	const uint8_t *bytes;
	size_t n, pos;
	uint8_t next;
	unsigned calls;
};

static int scripted(void *ud, void *buf, size_t len)
{
	struct script *s = ud;
	uint8_t *b = buf;
	s->calls++;
	for (size_t i = 0; i < len; i++)
		b[i] = s->pos < s->n ? s->bytes[s->pos++] : s->next++;
	return 0;
}

static int broken_rng(void *ud, void *buf, size_t len)
{
	(void)ud;
	(void)buf;
	(void)len;
	return -EIO;
}

static void test_mac_alloc(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, "mac");
	basic_profile(&e, "p", NULL, "qcow2");
	/* a guest with a fixed MAC, then allocations that first draw that very MAC */
	struct xp_domain dom;
	assert_int_equal(create(&e, "g1", "p", NULL, "00:16:3E:AA:BB:CC", NULL, &dom), 0);
	assert_string_equal(dom.mac, "00:16:3e:aa:bb:cc"); /* canonical, lowercase */
	assert_null(dom.ip);
	xp_domain_release(&dom);

	static const uint8_t same[] = {0xaa, 0xbb, 0xcc, 0xaa, 0xbb, 0xcc};
	struct script s = {.bytes = same, .n = sizeof(same), .next = 0x10};
	char mac[XP_MAC_STRLEN + 1];
	assert_int_equal(xp_inv_begin(e.inv), 0);
	assert_int_equal(xp_domain_alloc_mac(e.inv, NULL, 0, scripted, &s, mac), 0);
	assert_string_equal(mac, "00:16:3e:10:11:12"); /* the two collisions were drawn again */
	assert_int_equal(s.calls, 3);
	/* always the taken one: gives up */
	struct script always = {.bytes = same, .n = 3};
	uint8_t many[3 * 64];
	for (size_t i = 0; i < sizeof(many); i++)
		many[i] = same[i % 3];
	always.bytes = many;
	always.n = sizeof(many);
	assert_int_equal(xp_domain_alloc_mac(e.inv, NULL, 0, scripted, &always, mac), -EAGAIN);
	/* a configured prefix */
	static const uint8_t pfx[] = {0x02, 0x42};
	struct script t = {.next = 1};
	assert_int_equal(xp_domain_alloc_mac(e.inv, pfx, 2, scripted, &t, mac), 0);
	assert_string_equal(mac, "02:42:01:02:03:04");
	assert_int_equal(xp_domain_alloc_mac(e.inv, NULL, 0, broken_rng, NULL, mac), -EIO);
	/* getrandom: 00:16:3e */
	assert_int_equal(xp_domain_alloc_mac(e.inv, NULL, 0, NULL, NULL, mac), 0);
	assert_memory_equal(mac, "00:16:3e:", 9);
	xp_inv_rollback(e.inv);

	assert_int_equal(xp_domain_mac_taken(e.inv, "00:16:3e:aa:bb:cc"), 1);
	assert_int_equal(xp_domain_mac_taken(e.inv, "00:16:3e:aa:bb:cd"), 0);

	/* create: a MAC asked for that is taken, malformed, multicast, zero */
	assert_int_equal(create(&e, "g2", "p", NULL, "00:16:3e:aa:bb:cc", NULL, NULL), -EEXIST);
	assert_int_equal(create(&e, "g2", "p", NULL, "00:16:3e:aa:bb", NULL, NULL), -EINVAL);
	assert_int_equal(create(&e, "g2", "p", NULL, "01:16:3e:aa:bb:cc", NULL, NULL), -EINVAL);
	assert_int_equal(create(&e, "g2", "p", NULL, "00:00:00:00:00:00", NULL, NULL), -EINVAL);
	assert_gone(&e, "g2");
	/* a MAC prefix for random ones */
	static const uint8_t site[] = {0x00, 0x11, 0x22, 0x33};
	struct xp_domain_create_opts o = {.name = "g3", .profile = "p", .config_dir = e.cfg,
					  .mac_prefix = site, .mac_prefix_len = 4};
	assert_int_equal(xp_domain_create(e.inv, &o, &dom, NULL), 0);
	assert_memory_equal(dom.mac, "00:11:22:33:", 12);
	xp_domain_release(&dom);
	env_close(&e);
}

/* ---- the config text ------------------------------------------------------------------- */

static const struct xp_cfg_value *item0(const struct xp_cfg *cfg, const char *name)
{
	const struct xp_cfg_value *v;
	assert_int_equal(xp_cfg_get_list(cfg, name, &v), 0);
	assert_int_equal(xp_cfg_value_len(v), 1);
	return xp_cfg_value_item(v, 0);
}

static void assert_str(const struct xp_cfg *cfg, const char *name, const char *want)
{
	const char *s;
	if (!want) {
		assert_null(xp_cfg_lookup(cfg, name));
		return;
	}
	assert_int_equal(xp_cfg_get_string(cfg, name, &s), 0);
	assert_string_equal(s, want);
}

static struct xp_cfg *config_of(const struct xp_guest_config *gc)
{
	struct xp_buf b = XP_BUF_INIT;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_guest_config_text(gc, &b, &d), 0);
	assert_int_equal(d.n, 0);
	struct xp_cfg *cfg;
	assert_int_equal(xp_cfg_parse(b.s, b.len, "guest.cfg", &d, &cfg), 0);
	assert_int_equal(d.n, 0);
	xp_diags_release(&d);
	xp_buf_release(&b);
	return cfg;
}

static void set(struct xp_settings *s, const char *k, const char *v)
{
	assert_int_equal(xp_settings_set(s, k, v), 0);
}

static void test_config_pygrub_file(void **state)
{
	(void)state;
	struct xp_settings s = {0};
	set(&s, "memory", "1024");
	set(&s, "vcpus", "2");
	set(&s, "bridge", "br-guests");
	struct xp_guest_config gc = {.name = "web1", .settings = &s, .storage = XP_STORAGE_FILE,
				     .disk_path = "/srv/xen/web1.img", .disk_format = XP_IMAGE_RAW,
				     .mac = "00:16:3e:01:02:03", .ip = "10.0.0.2", .profile = "p"};
	struct xp_cfg *cfg = config_of(&gc);
	long n;
	assert_str(cfg, "name", "web1");
	assert_str(cfg, "type", "pv");
	assert_int_equal(xp_cfg_get_long(cfg, "memory", &n), 0);
	assert_int_equal(n, 1024);
	assert_int_equal(xp_cfg_get_long(cfg, "vcpus", &n), 0);
	assert_int_equal(n, 2);
	assert_str(cfg, "bootloader", "pygrub");
	assert_str(cfg, "kernel", NULL);
	assert_str(cfg, "root", NULL);
	assert_str(cfg, "on_poweroff", "destroy");
	assert_str(cfg, "on_reboot", "restart");
	assert_str(cfg, "on_crash", "restart");
	assert_null(xp_cfg_lookup(cfg, "maxmem"));

	struct xp_disk disk = {0};
	assert_int_equal(xp_disk_parse_one(xp_cfg_value_str(item0(cfg, "disk")), &disk, NULL), 0);
	assert_string_equal(disk.pdev_path, "/srv/xen/web1.img");
	assert_string_equal(disk.vdev, "xvda");
	assert_int_equal(disk.format, XP_DISK_FORMAT_RAW);
	assert_int_equal(disk.readwrite, 1);
	assert_int_equal(disk.backend, XP_DISK_BACKEND_UNKNOWN);
	assert_int_equal(disk.is_cdrom, 0);
	xp_disk_release(&disk);

	struct xp_vif vif;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_vif_parse(xp_cfg_value_str(item0(cfg, "vif")), &vif, &d), 0);
	assert_int_equal(d.n, 0);
	char mac[XP_MAC_STRLEN + 1];
	assert_string_equal(xp_mac_format(&vif.mac, mac), "00:16:3e:01:02:03");
	assert_string_equal(vif.bridge, "br-guests");
	assert_string_equal(vif.ip, "10.0.0.2");
	assert_null(vif.script);
	xp_vif_release(&vif);
	xp_diags_release(&d);
	xp_cfg_free(cfg);
	xp_settings_release(&s);
}

static void test_config_kernel_lvm(void **state)
{
	(void)state;
	struct xp_settings s = {0};
	set(&s, "boot", "kernel");
	set(&s, "kernel", "/boot/vmlinuz-6.1.0-xen");
	set(&s, "ramdisk", "/boot/initrd.img-6.1.0-xen");
	set(&s, "extra", "console=hvc0 quiet \"x\" 'y'");
	struct xp_guest_config gc = {.name = "db", .settings = &s, .storage = XP_STORAGE_LVM,
				     .disk_path = "/dev/vg0/db", .disk_format = XP_IMAGE_RAW,
				     .mac = "00:16:3e:0a:0b:0c"};
	struct xp_cfg *cfg = config_of(&gc);
	long n;
	assert_int_equal(xp_cfg_get_long(cfg, "memory", &n), 0);
	assert_int_equal(n, XP_DOMAIN_DEFAULT_MEMORY);
	assert_int_equal(xp_cfg_get_long(cfg, "vcpus", &n), 0);
	assert_int_equal(n, 1);
	assert_str(cfg, "bootloader", NULL);
	assert_str(cfg, "kernel", "/boot/vmlinuz-6.1.0-xen");
	assert_str(cfg, "ramdisk", "/boot/initrd.img-6.1.0-xen");
	assert_str(cfg, "root", "/dev/xvda1");
	assert_str(cfg, "extra", "console=hvc0 quiet \"x\" 'y'");
	struct xp_disk disk = {0};
	assert_int_equal(xp_disk_parse_one(xp_cfg_value_str(item0(cfg, "disk")), &disk, NULL), 0);
	assert_string_equal(disk.pdev_path, "/dev/vg0/db");
	assert_int_equal(disk.backend, XP_DISK_BACKEND_PHY);
	assert_int_equal(disk.format, XP_DISK_FORMAT_RAW);
	xp_disk_release(&disk);
	struct xp_vif vif;
	assert_int_equal(xp_vif_parse(xp_cfg_value_str(item0(cfg, "vif")), &vif, NULL), 0);
	assert_string_equal(vif.bridge, XP_DOMAIN_DEFAULT_BRIDGE);
	assert_null(vif.ip); /* DHCP: no ip= */
	xp_vif_release(&vif);
	xp_cfg_free(cfg);

	/* a bare filesystem: root is the whole disk; root given: used */
	set(&s, "label", "none");
	cfg = config_of(&gc);
	assert_str(cfg, "root", "/dev/xvda");
	xp_cfg_free(cfg);
	set(&s, "root", "UUID=1234");
	cfg = config_of(&gc);
	assert_str(cfg, "root", "UUID=1234");
	xp_cfg_free(cfg);

	/* the kernel command line names the guest's own UUIDs where it named the golden
	 * image's (whole UUIDs only, in either case); other values are left alone */
	struct xp_guest_report rep = {0};
	snprintf(rep.old_fs_uuid, sizeof(rep.old_fs_uuid), "%s", GOLD_FS);
	snprintf(rep.fs_uuid, sizeof(rep.fs_uuid), "%s", GUEST_FS);
	snprintf(rep.old_swap_uuid, sizeof(rep.old_swap_uuid), "%s", GOLD_SW);
	snprintf(rep.swap_uuid, sizeof(rep.swap_uuid), "%s", GUEST_SW);
	gc.guest = &rep;
	set(&s, "root", "UUID=" GOLD_FS);
	set(&s, "extra", "console=hvc0 resume=UUID=" GOLD_SW " x=" GOLD_FS "0 y=0" GOLD_FS);
	set(&s, "config.cmdline", "\"root=UUID=11111111-2222-4333-8444-555555555555 ro\"");
	set(&s, "config.description", "\"" GOLD_FS "\"");
	cfg = config_of(&gc);
	assert_str(cfg, "root", "UUID=" GUEST_FS);
	assert_str(cfg, "extra", "console=hvc0 resume=UUID=" GUEST_SW " x=" GOLD_FS "0 y=0" GOLD_FS);
	assert_str(cfg, "cmdline", "root=UUID=" GUEST_FS " ro");
	assert_str(cfg, "description", GOLD_FS);
	xp_cfg_free(cfg);
	set(&s, "extra", "resume=UUID=66666666-7777-4888-9999-000000000000");
	cfg = config_of(&gc);
	assert_str(cfg, "extra", "resume=UUID=" GUEST_SW);
	xp_cfg_free(cfg);
	gc.guest = NULL; /* nothing changed in the disk: nothing follows */
	cfg = config_of(&gc);
	assert_str(cfg, "root", "UUID=" GOLD_FS);
	assert_str(cfg, "extra", "resume=UUID=" GOLD_SW);
	xp_cfg_free(cfg);
	xp_settings_unset(&s, "config.cmdline");
	xp_settings_unset(&s, "config.description");

	/* boot kernel without a kernel */
	xp_settings_unset(&s, "kernel");
	struct xp_buf b = XP_BUF_INIT;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_guest_config_text(&gc, &b, &d), -EINVAL);
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 1);
	assert_int_equal(b.len, 0);
	xp_diags_release(&d);
	xp_buf_release(&b);
	xp_settings_release(&s);
}

/* type and the image's own kernel: kernel=from-image boots the copies it is given with
 * root=UUID= of the guest's own filesystem where an initramfs can find it, read-only,
 * on Xen's console, unless the profile's extra says otherwise; pvgrub for PVH loads
 * grub-xen-host's PVH build. */
static void test_config_type_from_image(void **state)
{
	(void)state;
	struct xp_guest_report rep = {0};
	snprintf(rep.fs_uuid, sizeof(rep.fs_uuid), "%s", GUEST_FS);
	snprintf(rep.old_fs_uuid, sizeof(rep.old_fs_uuid), "%s", GOLD_FS);
	struct xp_settings s = {0};
	set(&s, "type", "pvh");
	set(&s, "boot", "kernel");
	set(&s, "kernel", XP_DOMAIN_KERNEL_FROM_IMAGE);
	set(&s, "extra", "quiet");
	struct xp_guest_config gc = {.name = "own", .settings = &s, .storage = XP_STORAGE_FILE,
				     .disk_path = "/srv/own.img", .disk_format = XP_IMAGE_RAW,
				     .mac = "00:16:3e:00:00:07", .guest = &rep,
				     .image_kernel = "/st/images/k.kernel/vmlinuz-6.1",
				     .image_ramdisk = "/st/images/k.kernel/initrd.img-6.1"};
	struct xp_cfg *cfg = config_of(&gc);
	assert_str(cfg, "type", "pvh");
	assert_str(cfg, "kernel", "/st/images/k.kernel/vmlinuz-6.1");
	assert_str(cfg, "ramdisk", "/st/images/k.kernel/initrd.img-6.1");
	assert_str(cfg, "root", "UUID=" GUEST_FS);
	assert_str(cfg, "extra", "ro console=hvc0 quiet");
	xp_cfg_free(cfg);
	static const char *const extras[][2] = {
	    {"console=ttyS0 rw", "console=ttyS0 rw"},
	    {"rw", "console=hvc0 rw"},
	    {"console=hvc1", "ro console=hvc1"},
	    {"xro xconsole=1", "ro console=hvc0 xro xconsole=1"},
	};
	for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		set(&s, "extra", extras[i][0]);
		cfg = config_of(&gc);
		assert_str(cfg, "extra", extras[i][1]);
		xp_cfg_free(cfg);
	}
	/* no extra; no initramfs: the kernel alone finds its root by partition */
	assert_int_equal(xp_settings_unset(&s, "extra"), 0);
	gc.image_ramdisk = NULL;
	cfg = config_of(&gc);
	assert_str(cfg, "ramdisk", NULL);
	assert_str(cfg, "root", "/dev/xvda1");
	assert_str(cfg, "extra", "ro console=hvc0");
	xp_cfg_free(cfg);
	/* without the copy, refused */
	gc.image_kernel = NULL;
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_guest_config_text(&gc, &b, NULL), -EINVAL);
	xp_buf_release(&b);
	/* PV GRUB for PVH; a PV guest's type */
	set(&s, "boot", "pvgrub");
	assert_int_equal(xp_settings_unset(&s, "kernel"), 0);
	cfg = config_of(&gc);
	assert_str(cfg, "kernel", XP_DOMAIN_PVGRUB_PVH_KERNEL);
	xp_cfg_free(cfg);
	set(&s, "type", "pv");
	cfg = config_of(&gc);
	assert_str(cfg, "type", "pv");
	assert_str(cfg, "kernel", XP_DOMAIN_PVGRUB_KERNEL);
	xp_cfg_free(cfg);
	xp_settings_release(&s);
}

/* The config is 0644, but root's alone (0600) when it carries a secret: a VNC or SPICE
 * password set as config.vncpasswd / config.spicepasswd. */
static void test_config_write_mode(void **state)
{
	(void)state;
	struct xp_settings s = {0};
	set(&s, "boot", "pygrub");
	struct xp_guest_config gc = {.name = "m", .settings = &s, .storage = XP_STORAGE_FILE,
				     .disk_path = "/srv/m.img", .disk_format = XP_IMAGE_RAW,
				     .mac = "00:16:3e:00:00:02"};
	char path[4300];
	snprintf(path, sizeof(path), "%s/mode.cfg", tmp);
	struct stat st;
	unlink(path);
	assert_int_equal(xp_guest_config_write(&gc, path, NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	static const char *const secret[] = {"config.vncpasswd", "config.spicepasswd"};
	for (size_t i = 0; i < 2; i++) {
		struct xp_settings t = {0};
		set(&t, "boot", "pygrub");
		set(&t, secret[i], "\"s3cret\"");
		gc.settings = &t;
		unlink(path);
		assert_int_equal(xp_guest_config_write(&gc, path, NULL), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		xp_settings_release(&t);
	}
	unlink(path);
	xp_settings_release(&s);
}

static void test_config_pvgrub_qcow2_overrides(void **state)
{
	(void)state;
	struct xp_settings s = {0};
	set(&s, "boot", "pvgrub");
	set(&s, "config.on_crash", "\"preserve\"");
	set(&s, "config.vcpus", "4");
	set(&s, "config.cpus", "[ \"0-3\", \"5\" ]");
	set(&s, "config.maxmem", "2048");
	struct xp_guest_config gc = {.name = "q", .settings = &s, .storage = XP_STORAGE_QCOW2,
				     .disk_path = "/srv/my xen/it's \"q\".qcow2",
				     .disk_format = XP_IMAGE_QCOW2, .mac = "00:16:3e:00:00:01"};
	struct xp_cfg *cfg = config_of(&gc);
	assert_str(cfg, "kernel", XP_DOMAIN_PVGRUB_KERNEL);
	assert_str(cfg, "bootloader", NULL);
	assert_str(cfg, "on_crash", "preserve");
	assert_int_equal(xp_cfg_assignments(cfg, "on_crash"), 1); /* replaced, not repeated */
	assert_int_equal(xp_cfg_assignments(cfg, "vcpus"), 1);
	long n;
	assert_int_equal(xp_cfg_get_long(cfg, "vcpus", &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(xp_cfg_get_long(cfg, "maxmem", &n), 0);
	assert_int_equal(n, 2048);
	const struct xp_cfg_value *cpus;
	assert_int_equal(xp_cfg_get_list(cfg, "cpus", &cpus), 0);
	assert_int_equal(xp_cfg_value_len(cpus), 2);
	assert_string_equal(xp_cfg_value_str(xp_cfg_value_item(cpus, 1)), "5");
	struct xp_disk disk = {0};
	assert_int_equal(xp_disk_parse_one(xp_cfg_value_str(item0(cfg, "disk")), &disk, NULL), 0);
	assert_string_equal(disk.pdev_path, "/srv/my xen/it's \"q\".qcow2");
	assert_int_equal(disk.format, XP_DISK_FORMAT_QCOW2);
	xp_disk_release(&disk);
	xp_cfg_free(cfg);

	/* a kernel given replaces pvgrub's */
	set(&s, "kernel", "/usr/lib/grub-xen/grub-i386-xen.bin");
	cfg = config_of(&gc);
	assert_str(cfg, "kernel", "/usr/lib/grub-xen/grub-i386-xen.bin");
	xp_cfg_free(cfg);

	/* a config.NAME value xl cannot read (only a hand-made settings list has one) */
	set(&s, "config.broken", "[ 1,");
	struct xp_buf b = XP_BUF_INIT;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_guest_config_text(&gc, &b, &d), -EBADMSG);
	assert_true(xp_diags_count(&d, XP_SEV_ERROR) >= 1);
	assert_int_equal(b.len, 0);
	xp_diags_release(&d);
	xp_buf_release(&b);
	/* a disk path no spec can hold */
	xp_settings_unset(&s, "config.broken");
	gc.disk_path = "/srv/a\nb.img";
	xp_diags_init(&d);
	assert_int_equal(xp_guest_config_text(&gc, &b, &d), -EINVAL);
	xp_diags_release(&d);
	/* a bad MAC */
	gc.disk_path = "/srv/q.qcow2";
	gc.mac = "00:16:3e";
	xp_diags_init(&d);
	assert_int_equal(xp_guest_config_text(&gc, &b, &d), -EINVAL);
	xp_diags_release(&d);
	/* an unknown boot method */
	gc.mac = "00:16:3e:00:00:01";
	set(&s, "boot", "ipxe");
	xp_diags_init(&d);
	assert_int_equal(xp_guest_config_text(&gc, &b, &d), -EINVAL);
	xp_diags_release(&d);
	xp_buf_release(&b);
	xp_settings_release(&s);
}

/* ---- golden images and storage ------------------------------------------------------------- */

static void golden_for(const char *state_dir, const char *image, const char *size,
		       struct xp_golden *g, int want)
{
	struct xp_settings s = {0};
	set(&s, "image", image);
	if (size)
		set(&s, "disk-size", size);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_golden_prepare(state_dir, &s, NULL, NULL, NULL, g, &d), want);
	if (want < 0)
		assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 1);
	xp_diags_release(&d);
	xp_settings_release(&s);
}

static void test_golden(void **state)
{
	(void)state;
	char sd[4200];
	snprintf(sd, sizeof(sd), "%s/golden", tmp);
	struct xp_golden a, b, c;
	golden_for(sd, tarball, "33554432", &a, 0);
	assert_true(a.built);
	assert_int_equal(a.format, XP_IMAGE_RAW);
	assert_int_equal(a.size, 32u << 20);
	assert_int_equal(a.root_offset, 1 << 20); /* msdos, 1 MiB aligned */
	assert_int_equal(a.fs_type, XP_FS_EXT4);
	assert_true(a.path[0] == '/');
	assert_true(strstr(a.path, "/golden/images/") != NULL);
	/* same inputs: the same image, not built again */
	golden_for(sd, tarball, "33554432", &b, 0);
	assert_false(b.built);
	assert_string_equal(a.path, b.path);
	/* other inputs: another image */
	golden_for(sd, tarball, "40M", &c, 0);
	assert_true(c.built);
	assert_string_not_equal(a.path, c.path);
	assert_int_equal(c.size, 40u << 20);
	xp_golden_release(&c);
	/* a disk image is used as it is: raw, and qcow2 */
	golden_for(sd, a.path, NULL, &c, 0);
	assert_false(c.built);
	assert_string_equal(c.path, a.path);
	assert_int_equal(c.root_offset, 1 << 20);
	xp_golden_release(&c);
	char q[4300];
	snprintf(q, sizeof(q), "%s/g.qcow2", tmp);
	assert_int_equal(xp_test_sh("qemu-img convert -O qcow2 '%s' '%s'", a.path, q), 0);
	golden_for(sd, q, NULL, &c, 0);
	assert_int_equal(c.format, XP_IMAGE_QCOW2);
	assert_int_equal(c.size, 32u << 20);
	assert_int_equal(c.root_offset, 1 << 20);
	xp_golden_release(&c);
	/* missing, neither, none */
	golden_for(sd, "/nonexistent/root.tar.gz", NULL, &c, -ENOENT);
	char junk[4300];
	snprintf(junk, sizeof(junk), "%s/junk", tmp);
	assert_int_equal(xp_test_sh("head -c 4096 /dev/zero >'%s'", junk), 0);
	golden_for(sd, junk, NULL, &c, -EINVAL);
	/* shorter than any magic: neither, even when its bytes begin one (gzip's) */
	snprintf(junk, sizeof(junk), "%s/short", tmp);
	assert_int_equal(xp_test_sh("printf '\\037\\213' >'%s'", junk), 0);
	golden_for(sd, junk, NULL, &c, -EINVAL);
	golden_for(sd, tmp, NULL, &c, -EINVAL); /* a directory */
	struct xp_settings none = {0};
	assert_int_equal(xp_golden_prepare(sd, &none, NULL, NULL, NULL, &c, NULL), -EINVAL);
	/* a tarball that is not one */
	snprintf(junk, sizeof(junk), "%s/bad.tar.gz", tmp);
	assert_int_equal(xp_test_sh("printf '\\037\\213garbage' >'%s'", junk), 0);
	struct xp_settings bad = {0};
	set(&bad, "image", junk);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_true(xp_golden_prepare(sd, &bad, NULL, NULL, NULL, &c, &d) < 0);
	assert_true(xp_diags_count(&d, XP_SEV_ERROR) >= 1);
	assert_null(c.path);
	xp_diags_release(&d);
	xp_settings_release(&bad);
	/* and nothing but the good images is in the image directory */
	assert_int_equal(xp_test_sh("test $(ls -A '%s/images' | wc -l) = 2", sd), 0);
	xp_golden_release(&a);
	xp_golden_release(&b);
}

static void test_storage_names(void **state)
{
	(void)state;
	enum xp_storage s;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(xp_storage_from_name(xp_storage_name((enum xp_storage)i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(xp_storage_from_name("zfs", &s), -EINVAL);
	char *p;
	assert_int_equal(xp_storage_path(XP_STORAGE_FILE, "/srv/xen", "a", &p), 0);
	assert_string_equal(p, "/srv/xen/a.img");
	free(p);
	assert_int_equal(xp_storage_path(XP_STORAGE_REFLINK, "/srv/xen", "a", &p), 0);
	assert_string_equal(p, "/srv/xen/a.img");
	free(p);
	assert_int_equal(xp_storage_path(XP_STORAGE_QCOW2, "/srv/xen", "a", &p), 0);
	assert_string_equal(p, "/srv/xen/a.qcow2");
	free(p);
	assert_int_equal(xp_storage_path(XP_STORAGE_LVM, "vg0", "a", &p), 0);
	assert_string_equal(p, "/dev/vg0/a");
	free(p);
	assert_int_equal(xp_storage_path(XP_STORAGE_LVM, "/srv", "a", &p), -EINVAL);
	assert_int_equal(xp_storage_path(XP_STORAGE_FILE, "", "a", &p), -EINVAL);
}

static void prepare(struct xp_golden *g)
{
	char sd[4200];
	snprintf(sd, sizeof(sd), "%s/golden", tmp);
	golden_for(sd, tarball, "33554432", g, 0);
}

static void test_storage_file(void **state)
{
	(void)state;
	struct xp_golden g;
	prepare(&g);
	char pool[4200], *path;
	snprintf(pool, sizeof(pool), "%s/pool-file/sub", tmp);
	assert_int_equal(xp_storage_path(XP_STORAGE_FILE, pool, "f1", &path), 0);
	enum xp_image_format fmt = XP_IMAGE_QCOW2;
	assert_int_equal(xp_storage_create(XP_STORAGE_FILE, &g, pool, "f1", path, 0, &fmt, NULL), 0);
	assert_int_equal(fmt, XP_IMAGE_RAW);
	struct stat st, gs;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(stat(g.path, &gs), 0);
	assert_int_equal(st.st_size, gs.st_size);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_blocks <= gs.st_blocks + 16); /* sparse like the golden image */
	assert_true((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size / 2);
	assert_int_equal(xp_test_sh("cmp -s '%s' '%s'", path, g.path), 0);
	assert_int_equal(xp_test_sh("qemu-img compare -q -f raw -F raw '%s' '%s'", path, g.path),
			 0);
	/* the same copy without an fsync (deploy syncs the pool once at its end) */
	char *quick;
	assert_int_equal(xp_storage_path(XP_STORAGE_FILE, pool, "f2", &quick), 0);
	assert_int_equal(xp_storage_create(XP_STORAGE_FILE, &g, pool, "f2", quick,
					   XP_STORAGE_NOSYNC, &fmt, NULL),
			 0);
	assert_int_equal(xp_test_sh("cmp -s '%s' '%s'", quick, g.path), 0);
	assert_int_equal(xp_storage_remove(XP_STORAGE_FILE, quick, NULL), 0);
	free(quick);
	/* never over an existing disk: that disk is left alone */
	assert_int_equal(xp_test_sh("echo precious >'%s'", path), 0);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_storage_create(XP_STORAGE_FILE, &g, pool, "f1", path, 0, &fmt, &d), -EEXIST);
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 1);
	xp_diags_release(&d);
	assert_int_equal(xp_test_sh("grep -qx precious '%s'", path), 0);
	assert_int_equal(xp_storage_remove(XP_STORAGE_FILE, path, NULL), 0);
	assert_false(exists("%s", path));
	assert_int_equal(xp_storage_remove(XP_STORAGE_FILE, path, NULL), 0); /* missing: fine */
	free(path);
	xp_golden_release(&g);
}

static void test_storage_reflink(void **state)
{
	(void)state;
	struct xp_golden g;
	prepare(&g);
	char pool[4200], *path;
	snprintf(pool, sizeof(pool), "%s/pool-reflink", tmp);
	assert_int_equal(xp_storage_path(XP_STORAGE_REFLINK, pool, "r1", &path), 0);
	enum xp_image_format fmt;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_storage_create(XP_STORAGE_REFLINK, &g, pool, "r1", path, 0, &fmt, &d);
	if (r == -ENOTSUP) {
		/* the message names the pool and the way out; nothing is left */
		assert_int_equal(d.n, 1);
		assert_non_null(strstr(d.v[0].msg, "cannot reflink; use storage=file or qcow2"));
		assert_non_null(strstr(d.v[0].msg, pool));
		assert_false(exists("%s", path));
		xp_diags_release(&d);
		free(path);
		xp_golden_release(&g);
		/* the clone itself: integration/deploy-reflink, on an XFS it loop-mounts */
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(xp_test_sh("cmp -s '%s' '%s'", path, g.path), 0);
	assert_int_equal(xp_storage_remove(XP_STORAGE_REFLINK, path, NULL), 0);
	xp_diags_release(&d);
	free(path);
	xp_golden_release(&g);
}

static void test_storage_qcow2(void **state)
{
	(void)state;
	struct xp_golden g;
	prepare(&g);
	char pool[4200], *path;
	snprintf(pool, sizeof(pool), "%s/pool-qcow2", tmp);
	assert_int_equal(xp_storage_path(XP_STORAGE_QCOW2, pool, "q1", &path), 0);
	enum xp_image_format fmt = XP_IMAGE_RAW;
	assert_int_equal(xp_storage_create(XP_STORAGE_QCOW2, &g, pool, "q1", path, 0, &fmt, NULL), 0);
	assert_int_equal(fmt, XP_IMAGE_QCOW2);
	assert_int_equal(xp_test_sh("qemu-img check -q '%s'", path), 0);
	char info[4400];
	snprintf(info, sizeof(info), "%s/info.json", tmp);
	assert_int_equal(xp_test_sh("qemu-img info --output=json '%s' >'%s'", path, info), 0);
	char *text;
	size_t len;
	assert_int_equal(xp_read_file(info, 1 << 20, &text, &len), 0);
	char want[4400];
	snprintf(want, sizeof(want), "\"backing-filename\": \"%s\"", g.path);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "\"backing-filename-format\": \"raw\""));
	assert_non_null(strstr(text, "\"format\": \"qcow2\""));
	assert_non_null(strstr(text, "\"virtual-size\": 33554432"));
	free(text);
	/* reads through to the golden image */
	assert_int_equal(xp_test_sh("qemu-img compare -q '%s' '%s'", path, g.path), 0);
	assert_int_equal(xp_storage_create(XP_STORAGE_QCOW2, &g, pool, "q1", path, 0, &fmt, NULL), -EEXIST);
	assert_int_equal(xp_storage_remove(XP_STORAGE_QCOW2, path, NULL), 0);
	assert_false(exists("%s", path));
	free(path);
	xp_golden_release(&g);
}

/* A volume's device path to lvm2's "VG/LV": both /dev/VG/LV and device-mapper's
 * /dev/mapper/VG-LV with its doubled '-'s. */
static void test_lv_name(void **state)
{
	(void)state;
	char lv[64];
	assert_int_equal(xp_lv_name("/dev/vg0/guest1", lv, sizeof(lv)), 0);
	assert_string_equal(lv, "vg0/guest1");
	assert_int_equal(xp_lv_name("/dev/mapper/vg0-guest1", lv, sizeof(lv)), 0);
	assert_string_equal(lv, "vg0/guest1");
	assert_int_equal(xp_lv_name("/dev/mapper/my--vg-web--01", lv, sizeof(lv)), 0);
	assert_string_equal(lv, "my-vg/web-01");
	/* an LV name never starts with '-': "a---b" is VG "a-", LV "b" */
	assert_int_equal(xp_lv_name("/dev/mapper/a---b", lv, sizeof(lv)), 0);
	assert_string_equal(lv, "a-/b");
	const char *bad[] = {"/dev/mapper/control", "/dev/mapper/-lv", "/dev/mapper/vg-",
			     "/dev/mapper/a-b-c", "/dev/mapper/a--b", "/dev/mapper/",
			     "/dev/mapper/vg-lv/x", "/dev/vg0", "/dev/vg0/", "/dev//lv",
			     "/dev/vg/lv/x", "vg0/lv", "/tmp/vg/lv"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(xp_lv_name(bad[i], lv, sizeof(lv)), -EINVAL);
	char small[6];
	assert_int_equal(xp_lv_name("/dev/mapper/vg0-guest1", small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(xp_lv_name("/dev/vg0/guest1", small, sizeof(small)), -ENAMETOOLONG);
}

static void test_storage_lvm(void **state)
{
	(void)state;
	/* a node with no driver behind it (ENODEV, ENXIO: a container's /dev) is no
	 * device-mapper */
	int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	bool dm = fd >= 0 || errno == EACCES || errno == EPERM;
	if (fd >= 0)
		close(fd);
	if (dm) {
		/* device-mapper is here: available exactly when lvm2's tools are too */
		bool tools =
		    xp_test_sh("PATH=\"$PATH:/sbin:/usr/sbin\" command -v lvcreate >/dev/null && "
			       "PATH=\"$PATH:/sbin:/usr/sbin\" command -v lvremove >/dev/null && "
			       "PATH=\"$PATH:/sbin:/usr/sbin\" command -v lvs >/dev/null") == 0;
		assert_int_equal(xp_lvm_available(), tools ? 0 : -ENOTSUP);
		if (tools)
			return; /* real volumes: integration/deploy-lvm with $XP_TEST_VG */
	}
	assert_int_equal(xp_lvm_available(), -ENOTSUP);
	struct xp_golden g;
	prepare(&g);
	enum xp_image_format fmt;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_storage_create(XP_STORAGE_LVM, &g, "vg0", "l1", "/dev/vg0/l1", 0, &fmt, &d),
			 -ENOTSUP);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "device-mapper"));
	xp_diags_release(&d);
	/* removing a volume that is not there is fine even here */
	assert_int_equal(xp_storage_remove(XP_STORAGE_LVM, "/dev/vg0/l1", NULL), 0);
	xp_golden_release(&g);
}

/* ---- create / delete ------------------------------------------------------------------------ */

static void test_create_delete(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, "cd");
	basic_profile(&e, "p", "10.9.0.0/24", "file");
	hook_calls = 0;
	struct xp_domain a, b;
	assert_int_equal(create(&e, "a", "p", NULL, NULL, NULL, &a), 0);
	assert_string_equal(a.state, "ready");
	assert_string_equal(a.ip, "10.9.0.2"); /* .1 is the gateway */
	assert_int_equal(a.prefix_len, 24);
	assert_memory_equal(a.mac, "00:16:3e:", 9);
	assert_string_equal(a.storage, "file");
	assert_string_equal(a.profile, "p");
	assert_non_null(a.golden);
	assert_string_equal(xp_settings_get(&a.settings, "memory"), "256");
	char want[4400];
	snprintf(want, sizeof(want), "%s/disks/a.img", e.state);
	assert_string_equal(a.disk_path, want);
	snprintf(want, sizeof(want), "%s/a.cfg", e.cfg);
	assert_string_equal(a.config_path, want);
	assert_true(exists("%s", a.disk_path));
	/* the hook saw the guest */
	assert_int_equal(hook_calls, 1);
	assert_string_equal(seen.name, "a");
	assert_string_equal(seen.mac, a.mac);
	assert_string_equal(seen.ip, "10.9.0.2");
	assert_int_equal(seen.prefix, 24);
	assert_string_equal(seen.disk, a.disk_path);
	assert_string_equal(seen.golden, a.golden);
	assert_int_equal(seen.root_offset, 1 << 20);
	assert_int_equal(seen.format, XP_IMAGE_RAW);

	/* the config on disk parses to what was meant */
	struct xp_cfg *cfg;
	assert_int_equal(xp_cfg_load(a.config_path, NULL, &cfg), 0);
	assert_str(cfg, "name", "a");
	struct xp_vif vif;
	assert_int_equal(xp_vif_parse(xp_cfg_value_str(item0(cfg, "vif")), &vif, NULL), 0);
	assert_string_equal(vif.ip, "10.9.0.2");
	char mac[XP_MAC_STRLEN + 1];
	assert_string_equal(xp_mac_format(&vif.mac, mac), a.mac);
	xp_vif_release(&vif);
	xp_cfg_free(cfg);

	/* overrides: qcow2 in another pool, more memory, a config value */
	struct xp_settings over = {0};
	char pool[4300];
	snprintf(pool, sizeof(pool), "%s/other-pool", e.dir);
	set(&over, "storage", "qcow2");
	set(&over, "pool", pool);
	set(&over, "memory", "1G");
	set(&over, "config.on_crash", "preserve");
	/* a kernel booted by the golden image's root UUID: the config names the guest's */
	set(&over, "boot", "kernel");
	char kernel[4300];
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", tmp); /* a file on this host */
	set(&over, "kernel", kernel);
	set(&over, "root", "UUID=" GOLD_FS);
	assert_int_equal(create(&e, "b", "p", "10.9.0.77", NULL, &over, &b), 0);
	assert_string_equal(b.ip, "10.9.0.77");
	assert_string_equal(b.storage, "qcow2");
	snprintf(want, sizeof(want), "%s/b.qcow2", pool);
	assert_string_equal(b.disk_path, want);
	assert_string_equal(xp_settings_get(&b.settings, "memory"), "1024");
	assert_int_equal(seen.format, XP_IMAGE_QCOW2);
	assert_string_not_equal(a.mac, b.mac);
	assert_int_equal(xp_cfg_load(b.config_path, NULL, &cfg), 0);
	long n;
	assert_int_equal(xp_cfg_get_long(cfg, "memory", &n), 0);
	assert_int_equal(n, 1024);
	assert_str(cfg, "on_crash", "preserve");
	assert_str(cfg, "root", "UUID=" GUEST_FS);
	xp_cfg_free(cfg);
	xp_settings_release(&over);

	/* list, sorted */
	struct xp_domain *v;
	size_t cnt;
	assert_int_equal(xp_domain_list(e.inv, &v, &cnt), 0);
	assert_int_equal(cnt, 2);
	assert_string_equal(v[0].name, "a");
	assert_string_equal(v[1].name, "b");
	assert_string_equal(v[1].golden, a.golden); /* one golden image for both */
	xp_domain_list_free(v, cnt);

	/* the next address skips the one asked for only if it is taken */
	struct xp_domain c;
	assert_int_equal(create(&e, "c", "p", NULL, NULL, NULL, &c), 0);
	assert_string_equal(c.ip, "10.9.0.3");
	xp_domain_release(&c);

	/* delete, keeping the disk */
	assert_int_equal(xp_domain_delete(e.inv, "c", true, NULL), 0);
	assert_int_equal(xp_domain_get(e.inv, "c", &c), -ENOENT);
	assert_false(exists("%s/c.cfg", e.cfg));
	assert_true(exists("%s/disks/c.img", e.state));
	/* its address is free again, but its disk is in the way of a new "c" */
	assert_int_equal(create(&e, "c", "p", NULL, NULL, NULL, NULL), -EEXIST);
	assert_int_equal(xp_domain_get(e.inv, "c", &c), -ENOENT);
	assert_false(exists("%s/c.cfg", e.cfg));
	assert_true(exists("%s/disks/c.img", e.state));
	assert_int_equal(xp_test_sh("rm '%s/disks/c.img'", e.state), 0);

	/* delete everything */
	assert_int_equal(xp_domain_delete(e.inv, "a", false, NULL), 0);
	assert_int_equal(xp_domain_delete(e.inv, "b", false, NULL), 0);
	assert_gone(&e, "a");
	assert_false(exists("%s", b.disk_path));
	assert_false(exists("%s", b.config_path));
	assert_true(exists("%s", a.golden)); /* shared: stays */
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_domain_delete(e.inv, "a", false, &d), -ENOENT);
	assert_int_equal(d.n, 1);
	xp_diags_release(&d);
	xp_domain_release(&a);
	xp_domain_release(&b);
	env_close(&e);
}

static void test_create_refusals(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, "refuse");
	basic_profile(&e, "p", "10.9.0.0/30", "file");
	char img[4300];
	snprintf(img, sizeof(img), "image=%s", tarball);
	const char *kv2[] = {img, "network=static"};
	profile(&e, "nopool", kv2, N(kv2));
	assert_int_equal(create(&e, "one", "p", NULL, NULL, NULL, NULL), 0); /* 10.9.0.2 */
	struct xp_settings over = {0};

	/* name taken, bad names */
	assert_int_equal(create(&e, "one", "p", NULL, NULL, NULL, NULL), -EEXIST);
	assert_int_equal(create(&e, "bad_name", "p", NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(create(&e, "-x", "p", NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(create(&e, "", "p", NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(create(&e, "../etc", "p", NULL, NULL, NULL, NULL), -EINVAL);
	/* no such profile */
	assert_int_equal(create(&e, "two", "nope", NULL, NULL, NULL, NULL), -ENOENT);
	/* the pool is exhausted (/30: .1 gateway, .2 taken) */
	assert_int_equal(create(&e, "two", "p", NULL, NULL, NULL, NULL), -ENOSPC);
	assert_gone(&e, "two");
	/* an address that is taken, the gateway, outside without a prefix */
	assert_int_equal(create(&e, "two", "p", "10.9.0.2", NULL, NULL, NULL), -EEXIST);
	assert_int_equal(create(&e, "two", "p", "10.9.0.1", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(create(&e, "two", "p", "192.168.0.9", NULL, NULL, NULL), -EINVAL);
	/* static without a pool */
	assert_int_equal(create(&e, "two", "nopool", NULL, NULL, NULL, NULL), -EINVAL);
	/* bad overrides */
	set(&over, "memory", "1");
	assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, &over, NULL), -EINVAL);
	xp_settings_release(&over);
	set(&over, "colour", "blue");
	assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, &over, NULL), -EINVAL);
	xp_settings_release(&over);
	set(&over, "storage", "zfs");
	assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, &over, NULL), -EINVAL);
	xp_settings_release(&over);
	/* a missing image */
	set(&over, "image", "/nonexistent/root.tar.gz");
	assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, &over, NULL), -ENOENT);
	xp_settings_release(&over);
	/* lvm here */
	set(&over, "storage", "lvm");
	set(&over, "pool", "vg0");
	if (xp_lvm_available() < 0)
		assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, &over, NULL), -ENOTSUP);
	xp_settings_release(&over);
	/* a config file that is not ours */
	assert_int_equal(xp_test_sh("echo 'name = \"two\"' >'%s/two.cfg'", e.cfg), 0);
	assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, NULL, NULL), -EEXIST);
	assert_int_equal(xp_test_sh("grep -q two '%s/two.cfg' && rm '%s/two.cfg'", e.cfg, e.cfg),
			 0);
	/* no config directory */
	struct xp_domain_create_opts o = {.name = "two", .profile = "p", .ip = "192.168.0.9/24",
					  .config_dir = "/nonexistent/xen"};
	assert_int_equal(xp_domain_create(e.inv, &o, NULL, NULL), -ENOENT);
	assert_gone(&e, "two");

	/* the hook fails: everything is undone, the address is free again */
	hook_result = -EIO;
	assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, NULL, NULL), -EIO);
	set(&over, "storage", "qcow2");
	assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, &over, NULL), -EIO);
	xp_settings_release(&over);
	hook_result = 0;
	assert_gone(&e, "two");
	assert_int_equal(xp_domain_ip_taken(e.inv, "192.168.0.9"), 0);
	struct xp_domain t;
	assert_int_equal(create(&e, "two", "p", "192.168.0.9/24", NULL, NULL, &t), 0);
	assert_int_equal(t.prefix_len, 24);
	xp_domain_release(&t);

	/* dhcp: no address at all */
	set(&over, "network", "dhcp");
	assert_int_equal(create(&e, "three", "p", NULL, NULL, &over, &t), 0);
	assert_null(t.ip);
	assert_int_equal(t.prefix_len, 0);
	xp_domain_release(&t);
	xp_settings_release(&over);
	env_close(&e);
}

/* The further disks of guest name in the default pool: none of them is left. */
static void assert_no_volumes(struct env *e, const char *name)
{
	static const char *const vols[] = {"data1.img", "data1.qcow2", "data2.img", "data2.qcow2",
					   "swap.img",	"swap.qcow2"};
	for (size_t i = 0; i < N(vols); i++)
		assert_false(exists("%s/disks/%s.%s", e->state, name, vols[i]));
}

/* Further disks and NICs: planned with the row, made after the root disk (an empty ext4
 * filesystem e2fsck passes and blkid names by the recorded UUID, an empty fresh qcow2
 * image, a swap area), handed to the guest's customisation and written into its config
 * in order; the further NICs' MACs and addresses allocated from their pools, unique
 * across the domains' and the NICs' tables; a refusal or a failure leaves none of it;
 * delete removes the volumes, --keep-storage keeps them. */
static void test_create_devices(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, "dev");
	basic_profile(&e, "p", "10.9.0.0/24", "file");
	struct xp_settings over = {0};
	set(&over, "data-disk", "16M,mount=/srv\n8M,fs=none,storage=qcow2");
	set(&over, "swap-disk", "4M");
	set(&over, "nic", "bridge=br1,ip-pool=10.8.0.0/30\nbridge=br2,mac-prefix=02:aa");
	hook_calls = 0;
	struct xp_domain a;
	assert_int_equal(create(&e, "a", "p", NULL, NULL, &over, &a), 0);

	/* the disks: recorded in vdev order, made, named by their UUIDs */
	assert_int_equal(a.nvolumes, 3);
	static const struct {
		const char *vdev, *role, *storage, *file, *fs, *mount;
		uint64_t size;
	} want[] = {
	    {"xvdb", "data", "file", "a.data1.img", "ext4", "/srv", 16 << 20},
	    {"xvdc", "data", "qcow2", "a.data2.qcow2", "none", NULL, 8 << 20},
	    {"xvdd", "swap", "file", "a.swap.img", "swap", NULL, 4 << 20},
	};
	for (size_t i = 0; i < N(want); i++) {
		const struct xp_domain_volume *k = &a.volumes[i];
		char path[4400];
		snprintf(path, sizeof(path), "%s/disks/%s", e.state, want[i].file);
		assert_string_equal(k->vdev, want[i].vdev);
		assert_string_equal(k->role, want[i].role);
		assert_string_equal(k->storage, want[i].storage);
		assert_string_equal(k->path, path);
		assert_string_equal(k->fs, want[i].fs);
		assert_int_equal(k->size, want[i].size);
		if (want[i].mount)
			assert_string_equal(k->mount, want[i].mount);
		else
			assert_null(k->mount);
		assert_true(exists("%s", path));
	}
	assert_null(a.volumes[1].uuid);
	assert_int_equal(xp_test_sh("e2fsck -fn '%s' >/dev/null 2>&1", a.volumes[0].path), 0);
	assert_int_equal(xp_test_sh("[ \"$(blkid -s UUID -o value '%s')\" = %s ]",
				    a.volumes[0].path, a.volumes[0].uuid),
			 0);
	assert_int_equal(xp_test_sh("[ \"$(blkid -s TYPE -o value '%s')\" = swap ] &&"
				    " [ \"$(blkid -s UUID -o value '%s')\" = %s ]",
				    a.volumes[2].path, a.volumes[2].path, a.volumes[2].uuid),
			 0);
	assert_int_equal(xp_test_sh("qemu-img check -q '%s' && qemu-img info '%s' | grep -q "
				    "'virtual size: 8 MiB'",
				    a.volumes[1].path, a.volumes[1].path),
			 0);

	/* the NICs: MACs in their prefixes, the pool's lowest address, no gateway there */
	assert_int_equal(a.nnics, 2);
	assert_int_equal(a.nics[0].devid, 1);
	assert_string_equal(a.nics[0].ip, "10.8.0.1");
	assert_int_equal(a.nics[0].prefix_len, 30);
	assert_string_equal(a.nics[0].bridge, "br1");
	assert_memory_equal(a.nics[0].mac, "00:16:3e:", 9);
	assert_int_equal(a.nics[1].devid, 2);
	assert_null(a.nics[1].ip);
	assert_memory_equal(a.nics[1].mac, "02:aa:", 6);
	assert_string_not_equal(a.nics[0].mac, a.mac);
	assert_int_equal(xp_domain_mac_taken(e.inv, a.nics[1].mac), 1);
	assert_int_equal(xp_domain_ip_taken(e.inv, "10.8.0.1"), 1);
	char *holder;
	assert_int_equal(xp_domain_holder(e.inv, false, a.nics[0].mac, &holder), 0);
	assert_string_equal(holder, "a");
	free(holder);
	/* a MAC or an IP one table holds is refused by the other */
	/* (SQLite's triggers, PostgreSQL's trigger functions: both the constraint's
	 * refusal; the same rows with values nobody holds go in) */
	char sql[300];
	static const char dom_sql[] =
	    "INSERT INTO domains (name, state, mac, created, updated) VALUES ('x', 'ready', '%s',"
	    " 1, 1)";
	static const char nic_sql[] = "INSERT INTO domain_nics (domain, devid, mac, ip, bridge)"
				      " VALUES ('a', 9, '02:00:00:00:00:09', '%s', 'b')";
	snprintf(sql, sizeof(sql), dom_sql, a.nics[0].mac);
	assert_true(xp_test_sql_refused(e.state, sql));
	snprintf(sql, sizeof(sql), dom_sql, "02:00:00:00:00:0a");
	assert_false(xp_test_sql_refused(e.state, sql));
	snprintf(sql, sizeof(sql), nic_sql, a.ip);
	assert_true(xp_test_sql_refused(e.state, sql));
	snprintf(sql, sizeof(sql), nic_sql, "10.8.0.250");
	assert_false(xp_test_sql_refused(e.state, sql));

	/* the customisation and the config saw them all */
	assert_int_equal(seen.nnics, 2);
	assert_int_equal(seen.nvolumes, 3);
	assert_string_equal(seen.nic1_mac, a.nics[0].mac);
	assert_string_equal(seen.disk1_uuid, a.volumes[0].uuid);
	struct xp_cfg *cfg;
	assert_int_equal(xp_cfg_load(a.config_path, NULL, &cfg), 0);
	const struct xp_cfg_value *v;
	assert_int_equal(xp_cfg_get_list(cfg, "disk", &v), 0);
	assert_int_equal(xp_cfg_value_len(v), 4);
	struct xp_disk disk;
	assert_int_equal(xp_disk_parse_one(xp_cfg_value_str(xp_cfg_value_item(v, 2)), &disk, NULL),
			 0);
	assert_string_equal(disk.vdev, "xvdc");
	assert_string_equal(disk.pdev_path, a.volumes[1].path);
	assert_int_equal(disk.format, XP_DISK_FORMAT_QCOW2);
	xp_disk_release(&disk);
	assert_int_equal(xp_cfg_get_list(cfg, "vif", &v), 0);
	assert_int_equal(xp_cfg_value_len(v), 3);
	struct xp_vif vif;
	assert_int_equal(xp_vif_parse(xp_cfg_value_str(xp_cfg_value_item(v, 1)), &vif, NULL), 0);
	assert_string_equal(vif.bridge, "br1");
	assert_string_equal(vif.ip, "10.8.0.1");
	xp_vif_release(&vif);
	xp_cfg_free(cfg);

	/* the NIC's pool (/30) has one address left: b takes it, c finds none and leaves
	 * nothing behind */
	struct xp_domain b;
	assert_int_equal(create(&e, "b", "p", NULL, NULL, &over, &b), 0);
	assert_string_equal(b.nics[0].ip, "10.8.0.2");
	assert_int_equal(create(&e, "c", "p", NULL, NULL, &over, NULL), -ENOSPC);
	assert_gone(&e, "c");
	assert_no_volumes(&e, "c");
	/* the customisation fails after the volumes were made: they go too */
	assert_int_equal(xp_domain_delete(e.inv, "b", false, NULL), 0);
	hook_result = -EIO;
	assert_int_equal(create(&e, "c", "p", NULL, NULL, &over, NULL), -EIO);
	hook_result = 0;
	assert_gone(&e, "c");
	assert_no_volumes(&e, "c");
	assert_int_equal(xp_domain_ip_taken(e.inv, "10.8.0.2"), 0);
	/* a volume in the way: refused before anything is made, and left as it was */
	assert_int_equal(xp_test_sh("echo mine >'%s/disks/c.swap.img'", e.state), 0);
	assert_int_equal(create(&e, "c", "p", NULL, NULL, &over, NULL), -EEXIST);
	assert_gone(&e, "c");
	assert_int_equal(xp_test_sh("grep -qx mine '%s/disks/c.swap.img' && rm '%s/disks/c.swap.img'",
				    e.state, e.state),
			 0);
	assert_no_volumes(&e, "c");
	xp_settings_release(&over);
	/* an lvm data disk of a guest on files: its volume group, and lvm2 */
	set(&over, "data-disk", "16M,storage=lvm");
	assert_int_equal(create(&e, "c", "p", NULL, NULL, &over, NULL),
			 xp_lvm_available() < 0 ? -ENOTSUP : -EINVAL);
	assert_gone(&e, "c");
	xp_settings_release(&over);

	/* delete: the volumes go, or stay with keep_storage */
	assert_int_equal(xp_domain_delete(e.inv, "a", true, NULL), 0);
	for (size_t i = 0; i < a.nvolumes; i++)
		assert_true(exists("%s", a.volumes[i].path));
	assert_int_equal(xp_domain_ip_taken(e.inv, "10.8.0.1"), 0);
	assert_int_equal(xp_domain_mac_taken(e.inv, a.nics[0].mac), 0);
	assert_int_equal(xp_test_sh("rm '%s/disks/a.img'", e.state), 0);
	/* the kept volumes are in the way of a new "a" with further disks */
	set(&over, "data-disk", "16M");
	assert_int_equal(create(&e, "a", "p", NULL, NULL, &over, NULL), -EEXIST);
	assert_int_equal(xp_test_sh("rm '%s/disks/'a.*", e.state), 0);
	set(&over, "swap-disk", "4M");
	assert_int_equal(create(&e, "a", "p", NULL, NULL, &over, NULL), 0);
	xp_settings_release(&over);
	assert_int_equal(xp_domain_delete(e.inv, "a", false, NULL), 0);
	assert_gone(&e, "a");
	assert_no_volumes(&e, "a");
	xp_domain_release(&a);
	xp_domain_release(&b);
	env_close(&e);
}

/* A create that was killed after recording (state 'creating', artifacts half made) is
 * cleaned up by delete. */
static void test_delete_half_made(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, "half");
	basic_profile(&e, "p", NULL, "file");
	struct xp_domain a;
	assert_int_equal(create(&e, "a", "p", NULL, NULL, NULL, &a), 0);
	/* as if the run had died before the config was written */
	assert_int_equal(xp_test_sh("rm '%s'", a.config_path), 0);
	xp_test_sql(e.state, "UPDATE domains SET state = 'creating'");
	struct xp_domain g;
	assert_int_equal(xp_domain_get(e.inv, "a", &g), 0);
	assert_string_equal(g.state, "creating");
	xp_domain_release(&g);
	assert_int_equal(xp_domain_delete(e.inv, "a", false, NULL), 0);
	assert_gone(&e, "a");
	xp_domain_release(&a);
	env_close(&e);
}

/* Two processes creating guests at once from one pool never get the same address. */
static void test_concurrent(void **state)
{
	(void)state;
	struct env e;
	env_open(&e, "conc");
	basic_profile(&e, "p", "10.9.0.0/24", "qcow2");
	/* build the golden image first, so that the children only allocate */
	assert_int_equal(create(&e, "seed", "p", NULL, NULL, NULL, NULL), 0);
	env_close(&e);
	enum { KIDS = 3, EACH = 6 };
	pid_t pids[KIDS];
	for (int k = 0; k < KIDS; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			struct xp_inv *inv;
			int bad = xp_inv_open(e.state, &inv) < 0;
			for (int i = 0; i < EACH && !bad; i++) {
				char name[32];
				snprintf(name, sizeof(name), "k%d-%d", k, i);
				struct xp_domain_create_opts o = {.name = name, .profile = "p",
								  .config_dir = e.cfg};
				bad = xp_domain_create(inv, &o, NULL, NULL) < 0;
			}
			xp_inv_close(inv);
			_exit(bad);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		int st;
		assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(xp_inv_open(e.state, &e.inv), 0);
	struct xp_domain *v;
	size_t n;
	assert_int_equal(xp_domain_list(e.inv, &v, &n), 0);
	assert_int_equal(n, 1 + KIDS * EACH);
	/* all distinct, and exactly the lowest addresses .2 .. .2+n-1 */
	bool got[256] = {false};
	for (size_t i = 0; i < n; i++) {
		unsigned a, b, c, last;
		assert_int_equal(sscanf(v[i].ip, "%u.%u.%u.%u", &a, &b, &c, &last), 4);
		assert_true(last >= 2 && last < 2 + n);
		assert_false(got[last]);
		got[last] = true;
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(v[i].mac, v[j].mac);
		assert_string_equal(v[i].state, "ready");
	}
	xp_domain_list_free(v, n);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_pool_pick),
		cmocka_unit_test(test_ip_pool_big),
		cmocka_unit_test(test_ip_pool_pick_many),
		cmocka_unit_test(test_ip_pool_pick_many_big),
		cmocka_unit_test(test_config_dir),
		cmocka_unit_test(test_ip_check),
		cmocka_unit_test(test_mac_prefix_parse),
		cmocka_unit_test(test_mac_alloc),
		cmocka_unit_test(test_config_pygrub_file),
		cmocka_unit_test(test_config_kernel_lvm),
		cmocka_unit_test(test_config_type_from_image),
		cmocka_unit_test(test_config_pvgrub_qcow2_overrides),
		cmocka_unit_test(test_config_write_mode),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_storage_names),
		cmocka_unit_test(test_storage_file),
		cmocka_unit_test(test_storage_reflink),
		cmocka_unit_test(test_storage_qcow2),
		cmocka_unit_test(test_lv_name),
		cmocka_unit_test(test_storage_lvm),
		cmocka_unit_test(test_create_delete),
		cmocka_unit_test(test_create_refusals),
		cmocka_unit_test(test_create_devices),
		cmocka_unit_test(test_delete_half_made),
		cmocka_unit_test(test_concurrent),
	};
	/* the triggers' refusals as SQLite's own shell reports them */
	return xp_test_run_backends_group(tests, setup, teardown, NULL);
}
