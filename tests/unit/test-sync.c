/*
 * test-sync.c - unit tests for `xenprov sync` (xenprov/sync.h) on a real inventory, real
 * directories and the DHCP servers' own checkers (dnsmasq, dhcpd, kea-dhcp4: the binary
 * is skipped, exit 77, where one is not installed):
 *   - a TFTP root gets, byte for byte, what `xenprov serve` renders for the same paths
 *     (the boot-file resolver, boot.h), and the distros' files from the store; a
 *     system with an autoinstall template gets serve's installer argument, pointing at
 *     the target's HTTP base (default: serve's own), whose change re-renders;
 *   - incremental: nothing changed writes nothing (mtimes kept), one system changed
 *     rewrites its three files only, a system removed loses its files, a distro change
 *     renders everything and writes what differs;
 *   - files sync did not write are left alone (a conflict), adopted when they hold the
 *     bytes sync would write, replaced with force; a dry run writes and records
 *     nothing; full puts back files changed or removed behind sync's back; the state
 *     directory is never a TFTP root;
 *   - each include file, as written for a varied set of hosts, passes its server's own
 *     checker; a value planted behind the inventory's back that the server refuses
 *     fails the target and leaves the old file as it was, no candidate left behind;
 *     an include file that is not sync's is not replaced (force replaces it); one
 *     edited by hand is put back; Kea's subnet comes from the one pool, and systems
 *     outside it are left out.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "sync/sync-internal.h"
#include "xenprov/boot.h"
#include "xenprov/sync-state.h"
#include "xenprov/sync.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static xp_test_pathbuf state, root, empty, kernel, initrd, dhcp;
static struct xp_inv *inv;

XP_TEST_SCRATCH_WITH("sync", sync_setup, sync_finish)

static void set(const char *key, const char *value)
{
	assert_int_equal(xp_server_setting_set(inv, key, value, NULL), 0);
}

static void add_system(const char *name, const char *mac, const char *ip, const char *profile,
		       const char *distro, bool netboot, const char *opts)
{
	struct xp_system s = {.name = (char *)name,
			      .mac = (char *)mac,
			      .ip = (char *)ip,
			      .profile = (char *)profile,
			      .distro = (char *)distro,
			      .netboot = netboot,
			      .kernel_options = (char *)opts};
	assert_int_equal(xp_system_add(inv, &s, NULL), 0);
}

/* The inventory: a distro in the store, a profile booting it, three systems (one of
 * the distro itself, one of the profile, one with netboot off), the server's address
 * and one pool. */
static int sync_setup(void)
{
	xp_test_paths(tmpdir, state, "state", root, "tftp", empty, "empty", kernel, "vmlinuz",
		      initrd, "initrd", dhcp, "dhcp", NULL);
	if (mkdir(root, 0755) < 0 || mkdir(empty, 0755) < 0 || mkdir(dhcp, 0755) < 0)
		return -1;
	xp_test_write(kernel, "kernel bytes\n");
	xp_test_write(initrd, "initrd bytes\n");
	inv = xp_test_inv_open(state);
	set("server", "10.0.0.1");
	set("pool.lan.range", "10.0.0.100-10.0.0.199");
	set("pool.lan.netmask", "255.255.255.0");
	struct xp_distro d = {
	    .name = "deb", .kernel = kernel, .initrd = initrd, .kernel_options = "console=ttyS0"};
	assert_int_equal(xp_distro_add(inv, &d, 0, NULL), 0);
	struct xp_profile p = {.name = "web"};
	assert_int_equal(xp_settings_set(&p.set, "distro", "deb"), 0);
	assert_int_equal(xp_profile_add(inv, &p), 0);
	xp_settings_release(&p.set);
	add_system("alpha", "52:54:00:aa:00:01", "10.0.0.50", NULL, "deb", true, "quiet");
	add_system("beta", "52:54:00:aa:00:02", "10.0.0.51", "web", NULL, true, NULL);
	add_system("gamma", "52:54:00:aa:00:03", NULL, NULL, "deb", false, NULL);
	return 0;
}

/* The distro deb's kernel options (a change that is not one system's). */
static void set_distro_options(const char *opts)
{
	struct xp_distro dd;
	assert_int_equal(xp_distro_get(inv, "deb", &dd), 0);
	free(dd.kernel_options);
	dd.kernel_options = strdup(opts);
	assert_int_equal(xp_distro_update(inv, &dd, 0, NULL), 0);
	xp_distro_release(&dd);
}

static int sync_finish(void)
{
	xp_inv_close(inv);
	return 0;
}

static int run1(const struct xp_sync_target *t, const struct xp_sync_opts *o,
		struct xp_sync_result *res, struct xp_diags *d)
{
	int r = xp_sync_run(inv, t, 1, o, res, d);
	if (r < 0) {
		for (size_t i = 0; i < d->n; i++)
			fprintf(stderr, "sync: %s\n", d->v[i].msg);
	}
	return r;
}

static const struct xp_sync_target *tftp_target(void)
{
	static struct xp_sync_target t;
	t = (struct xp_sync_target){.kind = XP_SYNC_TFTP, .path = root};
	return &t;
}

/* Every regular file beneath dir (relative paths, sorted), with its mtime. */
struct listing {
	char path[320][300];
	struct timespec mtime[320];
	size_t n;
};

static void walk(const char *dir, const char *rel, struct listing *l)
{
	char here[4400];
	snprintf(here, sizeof(here), "%s%s%s", dir, *rel ? "/" : "", rel);
	DIR *dh = opendir(here);
	assert_non_null(dh);
	struct dirent *e;
	while ((e = readdir(dh))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		char sub[256], full[4700];
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", dir, sub);
		struct stat st;
		assert_int_equal(lstat(full, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			walk(dir, sub, l);
			continue;
		}
		assert_true(l->n < 320);
		snprintf(l->path[l->n], sizeof(l->path[0]), "%s", sub);
		l->mtime[l->n++] = st.st_mtim;
	}
	closedir(dh);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void list(const char *dir, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	walk(dir, "", l);
	/* sort paths and their mtimes together */
	struct listing s = *l;
	qsort(s.path, s.n, sizeof(s.path[0]), by_path);
	for (size_t i = 0; i < s.n; i++)
		for (size_t k = 0; k < l->n; k++)
			if (!strcmp(s.path[i], l->path[k]))
				s.mtime[i] = l->mtime[k];
	*l = s;
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* What `xenprov serve` sends for path: the resolver over a root of no plain files,
 * with the HTTP base http_base (NULL: none). */
static char *served_with(const char *path, const char *http_base, size_t *len)
{
	struct xp_boot_opts o = {.tftp_root = empty, .server = "10.0.0.1", .http_base = http_base};
	struct xp_boot *b;
	assert_int_equal(xp_boot_new(inv, &o, &b), 0);
	struct xp_bootfile f;
	int r = xp_boot_open(b, path, &f);
	if (r != 0)
		fprintf(stderr, "serve has no %s: %d\n", path, r);
	assert_int_equal(r, 0);
	char *s = calloc(1, f.size + 1);
	assert_non_null(s);
	if (f.fd >= 0)
		assert_int_equal(pread(f.fd, s, f.size, 0), (ssize_t)f.size);
	else
		memcpy(s, f.data.s, f.size);
	*len = f.size;
	xp_bootfile_release(&f);
	xp_boot_free(b);
	return s;
}

static char *served(const char *path, size_t *len)
{
	return served_with(path, NULL, len);
}

/* rel in the TFTP root is what serve with HTTP base http_base (may be NULL) sends, but
 * that iPXE scripts fetch the kernel and initrd from the TFTP root (sync's), not over
 * HTTP. */
static void assert_as_served_with(const char *rel, const char *http_base);

/* GRUB's rendering as serve sends it (want), without its first line and each line
 * indented by a tab: how sync's GRUB files hold it. */
static char *grub_body(const char *want)
{
	struct xp_buf b = XP_BUF_INIT;
	const char *s = strchr(want, '\n');
	assert_non_null(s);
	for (s++; *s;) {
		const char *nl = strchr(s, '\n');
		assert_non_null(nl);
		xp_buf_addc(&b, '\t');
		xp_buf_add(&b, s, (size_t)(nl - s) + 1);
		s = nl + 1;
	}
	return xp_buf_steal(&b);
}

/* rel a GRUB file serve sends: sync has it in its own form. grub/grub.cfg: the file of
 * the MAC's last byte sourced, then serve's menu for a machine no file claimed;
 * grub/grub.cfg-01-MAC: serve's config under a test of that MAC, in the file of its
 * last byte (and nowhere else). */
static bool assert_grub_as_served(const char *rel, const char *http_base)
{
	const char *mac = NULL;
	if (strncmp(rel, "grub/grub.cfg-01-", 17) == 0)
		mac = rel + 17;
	else if (strcmp(rel, "grub/grub.cfg") != 0)
		return false;
	size_t n;
	char *want = served_with(rel, http_base, &n);
	char *body = grub_body(want);
	char *head = NULL;
	const char *file = rel;
	char shard[64];
	if (mac) {
		assert_int_equal(strlen(mac), 17);
		snprintf(shard, sizeof(shard), "grub/xenprov-mac-%s.cfg", mac + 15);
		file = shard;
		char colons[18];
		snprintf(colons, sizeof(colons), "%s", mac);
		for (char *c = colons; (c = strchr(c, '-'));)
			*c = ':';
		assert_true(asprintf(&head, "if [ \"$net_default_mac\" = %s ]; then\n"
					    "\tset xenprov_system='", colons) > 0);
	} else {
		assert_true(asprintf(&head,
				     "# xenprov\n# A system's entries are in the file of its MAC's "
				     "last byte.\nif regexp --set=1:xenprov_shard "
				     "'([0-9a-f][0-9a-f])$' \"$net_default_mac\"; then\n\tsource "
				     "(tftp,10.0.0.1)/grub/xenprov-mac-${xenprov_shard}.cfg\nfi\nif [ "
				     "-z \"$xenprov_system\" ]; then\n%sfi\n",
				     body) > 0);
	}
	char *got = xp_test_read(xp_test_path(root, file), NULL);
	if (!mac) {
		if (strcmp(got, head) != 0)
			fprintf(stderr, "%s differs:\n%s\n---\n%s\n", rel, got, head);
		assert_string_equal(got, head);
	} else {
		/* http_base: iPXE's difference only; GRUB's files fetch over TFTP alike */
		char *at = strstr(got, head);
		if (!at)
			fprintf(stderr, "%s has no entries of %s:\n%s\n", file, mac, got);
		assert_non_null(at);
		assert_null(strstr(at + 1, head)); /* once */
		const char *nl = strchr(at + strlen(head), '\n');
		assert_non_null(nl);
		if (strncmp(nl + 1, body, strlen(body)) != 0 || strncmp(nl + 1 + strlen(body), "fi\n", 3))
			fprintf(stderr, "%s: %s's entries differ from serve's:\n%s\n---\n%s\n", file, mac,
				nl + 1, body);
		assert_int_equal(strncmp(nl + 1, body, strlen(body)), 0);
		assert_int_equal(strncmp(nl + 1 + strlen(body), "fi\n", 3), 0);
	}
	free(got);
	free(head);
	free(body);
	free(want);
	return true;
}

static void assert_as_served_with(const char *rel, const char *http_base)
{
	if (assert_grub_as_served(rel, http_base))
		return;
	size_t n, m;
	char *want = served_with(rel, http_base, &n);
	char *got = xp_test_read(xp_test_path(root, rel), &m);
	char from[300];
	snprintf(from, sizeof(from), "%s/distros/", http_base ? http_base : "");
	for (char *at; http_base && (at = strstr(want, from));) {
		char *w = NULL;
		assert_true(asprintf(&w, "%.*stftp://10.0.0.1/distros/%s", (int)(at - want), want,
				     at + strlen(from)) > 0);
		free(want);
		want = w;
		n = strlen(want);
	}
	if (m != n || memcmp(want, got, n) != 0)
		fprintf(stderr, "%s differs from serve's:\n%s\n---\n%s\n", rel, got, want);
	assert_int_equal(m, n);
	assert_memory_equal(want, got, n);
	free(want);
	free(got);
}

static void assert_as_served(const char *rel)
{
	assert_as_served_with(rel, NULL);
}

/* What a sync of the setup's inventory writes, sorted: all_files_init adds GRUB's 256
 * files (grub/xenprov-mac-XX.cfg) after grub/grub.cfg. */
#define N_ALL (11 + 256)
static const char *all_files[N_ALL];
static const char *const own_files[] = {
    "distros/deb/initrd",
    "distros/deb/kernel",
    "grub/grub.cfg",
    "ipxe/01-52-54-00-aa-00-01",
    "ipxe/01-52-54-00-aa-00-02",
    "ipxe/01-52-54-00-aa-00-03",
    "ipxe/default",
    "pxelinux.cfg/01-52-54-00-aa-00-01",
    "pxelinux.cfg/01-52-54-00-aa-00-02",
    "pxelinux.cfg/01-52-54-00-aa-00-03",
    "pxelinux.cfg/default",
};

static void all_files_init(void)
{
	static char shard[256][32];
	size_t k = 0;
	for (size_t i = 0; i < N(own_files); i++) {
		all_files[k++] = own_files[i];
		if (strcmp(own_files[i], "grub/grub.cfg") == 0)
			for (unsigned b = 0; b < 256; b++) {
				snprintf(shard[b], sizeof(shard[b]), "grub/xenprov-mac-%02x.cfg", b);
				all_files[k++] = shard[b];
			}
	}
	assert_int_equal(k, N_ALL);
}

static void test_tftp_as_served(void **st)
{
	(void)st;
	struct xp_sync_result res;
	struct xp_diags d = {0};
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(res.status, 0);
	assert_true(res.rendered_all);
	assert_false(res.up_to_date);
	assert_int_equal(res.systems, 3);
	assert_int_equal(res.written, N_ALL);
	assert_int_equal(res.removed + res.unchanged + res.adopted + res.conflicts, 0);
	assert_int_equal(res.check, XP_SYNC_CHECK_NONE);
	struct listing l;
	list(root, &l);
	assert_int_equal(l.n, N_ALL); /* no temporary left */
	for (size_t i = 0; i < N_ALL; i++) {
		assert_string_equal(l.path[i], all_files[i]);
		if (strncmp(all_files[i], "grub/xenprov-mac-", 17) != 0) /* serve has no such */
			assert_as_served(all_files[i]);
		struct stat sb;
		assert_int_equal(stat(xp_test_path(root, all_files[i]), &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0644); /* the TFTP server reads them */
	}
	/* recorded: the target and its files */
	struct xp_sync_target_rec rec;
	assert_int_equal(xp_sync_target_get(inv, "tftp", root, &rec), 0);
	struct xp_sync_file_rec *f;
	size_t n;
	assert_int_equal(xp_sync_files_get(inv, rec.id, NULL, 0, &f, &n), 0);
	assert_int_equal(n, N_ALL);
	assert_string_equal(f[3].path, "grub/xenprov-mac-00.cfg");
	assert_string_equal(f[3].owner, "grub:00");
	assert_string_equal(f[N_ALL - 4].path, "pxelinux.cfg/01-52-54-00-aa-00-01");
	assert_string_equal(f[N_ALL - 4].owner, "alpha");
	assert_string_equal(f[0].owner, "");
	/* each system's entries, as serve's own GRUB config for its MAC */
	assert_as_served("grub/grub.cfg-01-52-54-00-aa-00-01");
	assert_as_served("grub/grub.cfg-01-52-54-00-aa-00-02");
	assert_as_served("grub/grub.cfg-01-52-54-00-aa-00-03");
	char *empty_shard = xp_test_read(xp_test_path(root, "grub/xenprov-mac-00.cfg"), NULL);
	assert_string_equal(empty_shard, "# xenprov: GRUB's configs of the systems whose MAC ends "
					 "in 00 (grub.cfg sources this file)\n");
	free(empty_shard);
	xp_sync_files_free(f, n);
	xp_sync_target_rec_release(&rec);
	xp_diags_release(&d);
}

static void test_tftp_incremental(void **st)
{
	(void)st;
	struct xp_sync_result res;
	struct xp_diags d = {0};
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	struct listing before, after;
	list(root, &before);
	/* nothing changed: nothing rendered, nothing written */
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_true(res.up_to_date);
	assert_int_equal(res.written + res.removed + res.systems, 0);
	list(root, &after);
	assert_int_equal(after.n, before.n);
	for (size_t i = 0; i < after.n; i++)
		assert_true(same_time(after.mtime[i], before.mtime[i]));

	/* one system changed: its two files and its GRUB file, no other */
	struct xp_system s;
	assert_int_equal(xp_system_get(inv, "alpha", &s), 0);
	free(s.kernel_options);
	s.kernel_options = strdup("quiet splash");
	assert_int_equal(xp_system_update(inv, &s, NULL), 0);
	xp_system_release(&s);
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_false(res.rendered_all);
	assert_int_equal(res.systems, 1);
	assert_int_equal(res.written, 3);
	assert_int_equal(res.removed, 0);
	list(root, &after);
	for (size_t i = 0; i < after.n; i++)
		assert_int_equal(!same_time(after.mtime[i], before.mtime[i]),
				 strstr(after.path[i], "aa-00-01") != NULL ||
				     !strcmp(after.path[i], "grub/xenprov-mac-01.cfg"));
	assert_as_served("pxelinux.cfg/01-52-54-00-aa-00-01");
	assert_as_served("ipxe/01-52-54-00-aa-00-01");
	assert_as_served("grub/grub.cfg-01-52-54-00-aa-00-01");
	/* edited with nothing changed: rendered, the same bytes, nothing written */
	assert_int_equal(xp_system_get(inv, "beta", &s), 0);
	assert_int_equal(xp_system_update(inv, &s, NULL), 0);
	xp_system_release(&s);
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_int_equal(res.systems, 1);
	assert_int_equal(res.written, 0);
	assert_int_equal(res.unchanged, 3);

	/* one removed: its files go, its entries leave its GRUB file */
	assert_int_equal(xp_system_remove(inv, "beta"), 0);
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_int_equal(res.removed, 2);
	assert_int_equal(res.written, 1);
	assert_int_equal(access(xp_test_path(root, "pxelinux.cfg/01-52-54-00-aa-00-02"), F_OK), -1);
	assert_int_equal(access(xp_test_path(root, "ipxe/01-52-54-00-aa-00-02"), F_OK), -1);
	char *text = xp_test_read(xp_test_path(root, "grub/xenprov-mac-02.cfg"), NULL);
	assert_null(strstr(text, "beta"));
	assert_null(strstr(text, "net_default_mac"));
	free(text);
	list(root, &after);
	assert_int_equal(after.n, N_ALL - 2);

	/* a MAC changed: its files renamed, its entries moved from one GRUB file to the
	 * other, as a full sync would write them */
	assert_int_equal(xp_system_get(inv, "alpha", &s), 0);
	free(s.mac);
	s.mac = strdup("52:54:00:aa:01:07");
	assert_int_equal(xp_system_update(inv, &s, NULL), 0);
	xp_system_release(&s);
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_false(res.rendered_all);
	assert_int_equal(res.removed, 2);
	assert_int_equal(res.written, 4); /* pxelinux, iPXE, GRUB's 01 and 07 */
	assert_as_served("grub/grub.cfg-01-52-54-00-aa-01-07");
	text = xp_test_read(xp_test_path(root, "grub/xenprov-mac-01.cfg"), NULL);
	assert_null(strstr(text, "alpha"));
	free(text);
	struct xp_sync_opts fo = {.full = true};
	assert_int_equal(run1(tftp_target(), &fo, &res, &d), 0);
	assert_int_equal(res.written + res.removed, 0); /* the same as everything rendered */
	assert_int_equal(xp_system_get(inv, "alpha", &s), 0);
	free(s.mac);
	s.mac = strdup("52:54:00:aa:00:01");
	assert_int_equal(xp_system_update(inv, &s, NULL), 0);
	xp_system_release(&s);
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_int_equal(res.written, 4);

	/* a change that is not one system's: everything rendered, what differs written
	 * (alpha's files and the menus name the distro's options; gamma boots its disk) */
	set_distro_options("console=ttyS1");
	list(root, &before);
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_true(res.rendered_all);
	assert_int_equal(res.written, 6);
	assert_int_equal(res.unchanged, N_ALL - 2 - 6);
	list(root, &after);
	for (size_t i = 0; i < after.n; i++) {
		bool changed = strstr(after.path[i], "aa-00-01") ||
			       strstr(after.path[i], "default") ||
			       !strcmp(after.path[i], "grub/grub.cfg") ||
			       !strcmp(after.path[i], "grub/xenprov-mac-01.cfg");
		assert_int_equal(!same_time(after.mtime[i], before.mtime[i]), changed);
		if (strncmp(after.path[i], "grub/xenprov-mac-", 17) != 0)
			assert_as_served(after.path[i]);
	}
	assert_as_served("grub/grub.cfg-01-52-54-00-aa-00-01");
	assert_int_equal(d.n, 0);
	xp_diags_release(&d);
}

static void test_tftp_foreign_files(void **st)
{
	(void)st;
	/* the site's own menu, and a file that already holds what sync would write */
	assert_int_equal(mkdir(xp_test_path(root, "pxelinux.cfg"), 0755), 0);
	assert_int_equal(mkdir(xp_test_path(root, "ipxe"), 0755), 0);
	xp_test_write(xp_test_path(root, "pxelinux.cfg/default"), "DEFAULT site\n");
	size_t n;
	char *menu = served("ipxe/default", &n);
	xp_test_write(xp_test_path(root, "ipxe/default"), menu);
	free(menu);
	struct xp_sync_result res;
	struct xp_diags d = {0};
	struct xp_sync_opts o = {0};
	assert_int_equal(run1(tftp_target(), &o, &res, &d), 0);
	assert_int_equal(res.conflicts, 1);
	assert_int_equal(res.adopted, 1);
	assert_int_equal(res.written, N_ALL - 2);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	assert_non_null(strstr(d.v[0].msg, "1 file exists that xenprov sync did not write: left "
					   "as it is (pxelinux.cfg/default)"));
	char *text = xp_test_read(xp_test_path(root, "pxelinux.cfg/default"), NULL);
	assert_string_equal(text, "DEFAULT site\n");
	free(text);
	/* still the site's at the next full render; force replaces it */
	xp_diags_release(&d);
	o.full = true;
	assert_int_equal(run1(tftp_target(), &o, &res, &d), 0);
	assert_int_equal(res.conflicts, 1);
	assert_int_equal(res.written, 0);
	xp_diags_release(&d);
	o.force = true;
	assert_int_equal(run1(tftp_target(), &o, &res, &d), 0);
	assert_int_equal(res.conflicts, 0);
	assert_int_equal(res.written, 1);
	assert_as_served("pxelinux.cfg/default");
	xp_diags_release(&d);
}

static void test_tftp_dry_run_and_full(void **st)
{
	(void)st;
	struct xp_sync_result res;
	struct xp_diags d = {0};
	struct xp_sync_opts o = {.dry_run = true};
	assert_int_equal(run1(tftp_target(), &o, &res, &d), 0);
	assert_int_equal(res.written, N_ALL); /* would be */
	struct listing l;
	list(root, &l);
	assert_int_equal(l.n, 0);
	struct xp_sync_target_rec rec;
	assert_int_equal(xp_sync_target_get(inv, "tftp", root, &rec), -ENOENT);

	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_int_equal(res.written, N_ALL);
	/* behind sync's back: one file removed, one changed; a plain sync trusts its
	 * record, full looks at the bytes */
	assert_int_equal(unlink(xp_test_path(root, "ipxe/01-52-54-00-aa-00-01")), 0);
	xp_test_write(xp_test_path(root, "grub/grub.cfg"), "# changed\n");
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_true(res.up_to_date);
	o = (struct xp_sync_opts){.full = true, .dry_run = true};
	assert_int_equal(run1(tftp_target(), &o, &res, &d), 0);
	assert_int_equal(res.written, 2);
	assert_int_equal(access(xp_test_path(root, "ipxe/01-52-54-00-aa-00-01"), F_OK), -1);
	o.dry_run = false;
	assert_int_equal(run1(tftp_target(), &o, &res, &d), 0);
	assert_int_equal(res.written, 2);
	assert_int_equal(res.unchanged, N_ALL - 2);
	assert_as_served("ipxe/01-52-54-00-aa-00-01");
	assert_as_served("grub/grub.cfg");
	/* the changed one is named, by the dry run and by the run */
	assert_int_equal(d.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(d.v[i].severity, XP_SEV_WARNING);
		assert_string_equal(d.v[i].msg, "1 file xenprov sync wrote was changed since: "
						"replaced (grub/grub.cfg)");
	}
	xp_diags_release(&d);
}

static void test_tftp_refusals(void **st)
{
	(void)st;
	struct xp_sync_result res;
	struct xp_diags d = {0};
	/* the state directory, or a directory holding it, is never served */
	struct xp_sync_target t = {.kind = XP_SYNC_TFTP, .path = tmpdir};
	assert_int_equal(xp_sync_run(inv, &t, 1, NULL, &res, &d), -EACCES);
	assert_int_equal(res.status, -EACCES);
	assert_non_null(strstr(d.v[0].msg, "the state directory"));
	xp_diags_release(&d);
	t.path = "relative/tftp";
	assert_int_equal(xp_sync_run(inv, &t, 1, NULL, &res, &d), -EINVAL);
	assert_non_null(strstr(d.v[0].msg, "must be absolute"));
	xp_diags_release(&d);
	t.path = xp_test_path(tmpdir, "missing");
	assert_int_equal(xp_sync_run(inv, &t, 1, NULL, &res, &d), -ENOENT);
	assert_string_equal(d.v[0].file, t.path);
	assert_non_null(strstr(d.v[0].msg, "cannot open the TFTP root"));
	xp_diags_release(&d);
}

/* ---- include files --------------------------------------------------------------------- */

/* More systems, with names each format must encode or leave out. */
static void varied_systems(void)
{
	add_system("web.01_x", "52:54:00:bb:00:01", "10.0.0.60", "web", NULL, true, NULL);
	add_system("db-1", "52:54:00:bb:00:02", NULL, NULL, "deb", true, NULL);
	struct xp_system s = {.name = "mail",
			      .mac = "52:54:00:bb:00:03",
			      .ip = "10.0.0.62",
			      .distro = "deb",
			      .hostname = "mx.example.org"};
	assert_int_equal(xp_system_add(inv, &s, NULL), 0);
	/* a host name with quotes (written behind the inventory's back): escaped for dhcpd,
	 * left out for dnsmasq */
	xp_test_sql(state, "UPDATE systems SET hostname = 'q\"x\\y' WHERE name = 'db-1'");
}

static void test_includes_checked(void **st)
{
	(void)st;
	varied_systems();
	struct xp_sync_target t[3] = {
	    {.kind = XP_SYNC_DNSMASQ, .path = xp_test_path(dhcp, "dnsmasq.conf")},
	    {.kind = XP_SYNC_ISC_DHCPD, .path = xp_test_path(dhcp, "dhcpd.conf")},
	    {.kind = XP_SYNC_KEA,
	     .path = xp_test_path(dhcp, "kea.json"),
	     .path2 = xp_test_path(dhcp, "kea-classes.json")},
	};
	struct xp_sync_result res[3];
	struct xp_diags d = {0};
	assert_int_equal(xp_sync_run(inv, t, 3, NULL, res, &d), 0);
	static const char *const checker[] = {"dnsmasq", "dhcpd", "kea-dhcp4"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i].status, 0);
		assert_int_equal(res[i].check, XP_SYNC_CHECK_PASSED);
		assert_string_equal(res[i].checker, checker[i]);
		assert_int_equal(res[i].systems, 6);
		assert_int_equal(res[i].written, i == 2 ? 2 : 1);
	}
	/* the one warning: dnsmasq cannot carry the quoted host name */
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].file, t[0].path);
	assert_non_null(strstr(d.v[0].msg, "system 'db-1'"));
	char *isc = xp_test_read(t[1].path, NULL);
	xp_test_assert_contains(isc, "host xenprov-web_2e01_5fx {");
	xp_test_assert_contains(isc, "option host-name \"q\\\"x\\\\y\";");
	free(isc);
	struct listing l;
	list(dhcp, &l);
	assert_int_equal(l.n, 4); /* no candidate left */
	/* the same again: nothing written, nothing checked */
	xp_diags_release(&d);
	assert_int_equal(xp_sync_run(inv, t, 3, NULL, res, &d), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(res[i].up_to_date);
		assert_int_equal(res[i].check, XP_SYNC_CHECK_NONE);
	}
	xp_diags_release(&d);
}

/* target synced once, then a value planted that its server refuses: the sync fails,
 * the file stays as it was, no candidate is left. */
static void refused_after(const struct xp_sync_target *t, const char *sql, const char *why)
{
	struct xp_sync_result res;
	struct xp_diags d = {0};
	assert_int_equal(run1(t, NULL, &res, &d), 0);
	size_t n;
	char *before = xp_test_read(t->path, &n);
	char *before2 = t->path2 ? xp_test_read(t->path2, NULL) : NULL;
	xp_test_sql(state, sql);
	assert_int_equal(xp_sync_run(inv, t, 1, NULL, &res, &d), -EINVAL);
	assert_int_equal(res.check, XP_SYNC_CHECK_REFUSED);
	bool found = false;
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].severity == XP_SEV_ERROR && strstr(d.v[i].msg, why) &&
		    strstr(d.v[i].msg, "\nline "))
			found = true;
	if (!found)
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "got: %s\n", d.v[i].msg);
	assert_true(found);
	char *after = xp_test_read(t->path, NULL);
	assert_string_equal(after, before);
	if (t->path2) {
		char *after2 = xp_test_read(t->path2, NULL);
		assert_string_equal(after2, before2);
		free(after2);
	}
	struct listing l;
	list(dhcp, &l);
	assert_int_equal(l.n, t->path2 ? 2 : 1);
	free(before);
	free(before2);
	free(after);
	xp_diags_release(&d);
}

static void test_dnsmasq_refuses(void **st)
{
	(void)st;
	struct xp_sync_target t = {.kind = XP_SYNC_DNSMASQ,
				   .path = xp_test_path(dhcp, "dnsmasq.conf")};
	refused_after(&t, "UPDATE systems SET hostname = '-bad' WHERE name = 'alpha'",
		      "bad DHCP host name");
}

static void test_dhcpd_refuses(void **st)
{
	(void)st;
	struct xp_sync_target t = {.kind = XP_SYNC_ISC_DHCPD,
				   .path = xp_test_path(dhcp, "dhcpd.conf")};
	refused_after(&t, "INSERT INTO server_settings VALUES ('next-server', '10.0.0.300')",
		      "dhcpd");
}

static void test_kea_refuses(void **st)
{
	(void)st;
	struct xp_sync_target t = {.kind = XP_SYNC_KEA,
				   .path = xp_test_path(dhcp, "kea.json"),
				   .path2 = xp_test_path(dhcp, "classes.json")};
	refused_after(&t, "INSERT INTO server_settings VALUES ('next-server', '10.0.0.300')",
		      "Error encountered");
}

static void test_include_foreign_and_edited(void **st)
{
	(void)st;
	struct xp_sync_target t = {.kind = XP_SYNC_DNSMASQ,
				   .path = xp_test_path(dhcp, "dnsmasq.conf")};
	xp_test_write(t.path, "# the site's main config\nport=0\n");
	struct xp_sync_result res;
	struct xp_diags d = {0};
	assert_int_equal(xp_sync_run(inv, &t, 1, NULL, &res, &d), -EEXIST);
	assert_int_equal(res.conflicts, 1);
	assert_non_null(strstr(d.v[0].msg, "was not written by xenprov sync: not replaced"));
	char *text = xp_test_read(t.path, NULL);
	assert_string_equal(text, "# the site's main config\nport=0\n");
	free(text);
	xp_diags_release(&d);
	struct xp_sync_opts o = {.force = true};
	assert_int_equal(run1(&t, &o, &res, &d), 0);
	assert_int_equal(res.written, 1);
	char *ours = xp_test_read(t.path, NULL);
	xp_test_assert_contains(ours, "dhcp-host=52:54:00:aa:00:01,set:xenprov-netboot");
	/* edited by hand since: put back, with a warning */
	xp_test_write(t.path, "# edited\n");
	assert_int_equal(run1(&t, NULL, &res, &d), 0);
	assert_int_equal(res.written, 1);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "was changed since xenprov sync wrote it: replaced"));
	text = xp_test_read(t.path, NULL);
	assert_string_equal(text, ours);
	free(text);
	free(ours);
	xp_diags_release(&d);
}

static void test_kea_subnet(void **st)
{
	(void)st;
	/* alpha and beta are in the pool's subnet; one elsewhere is left out */
	set("pool.far.range", "10.9.0.100-10.9.0.199");
	set("pool.far.netmask", "255.255.255.0");
	add_system("far", "52:54:00:cc:00:01", "10.9.0.5", NULL, "deb", true, NULL);
	struct xp_sync_target t = {.kind = XP_SYNC_KEA, .path = xp_test_path(dhcp, "kea.json")};
	struct xp_sync_result res;
	struct xp_diags d = {0};
	/* two pools: which subnet is not for sync to guess */
	assert_int_equal(xp_sync_run(inv, &t, 1, NULL, &res, &d), -EINVAL);
	assert_non_null(strstr(d.v[0].msg, "several pools"));
	xp_diags_release(&d);
	assert_int_equal(xp_server_setting_unset(inv, "pool.far.range", NULL), 0);
	assert_int_equal(xp_server_setting_unset(inv, "pool.far.netmask", NULL), 0);
	assert_int_equal(run1(&t, NULL, &res, &d), 0);
	assert_int_equal(res.systems, 3);
	assert_int_equal(res.left_out, 1);
	assert_int_equal(res.check, XP_SYNC_CHECK_PASSED);
	assert_non_null(
	    strstr(d.v[0].msg, "1 system left out: its address is outside 10.0.0.0/24"));
	char *text = xp_test_read(t.path, NULL);
	xp_test_assert_lacks(text, "10.9.0.5");
	free(text);
	xp_diags_release(&d);
	/* given: that one; the others' addresses are outside it */
	t.subnet = "10.9.0.0/24";
	assert_int_equal(run1(&t, NULL, &res, &d), 0);
	assert_int_equal(res.systems, 2); /* far, and gamma (no address) */
	assert_int_equal(res.left_out, 2);
	xp_diags_release(&d);
}

static const char *const ai_files[] = {
    "pxelinux.cfg/01-52-54-00-aa-00-04",  "grub/grub.cfg-01-52-54-00-aa-00-04",
    "ipxe/01-52-54-00-aa-00-04",	  "pxelinux.cfg/01-52-54-00-aa-00-05",
    "grub/grub.cfg-01-52-54-00-aa-00-05", "ipxe/01-52-54-00-aa-00-05",
};

/* Every file of ai_files is serve's with http_base and holds arg (a NULL arg: holds
 * no "url="). */
static void assert_ai_files(const char *http_base, const char *arg4, const char *arg5)
{
	for (size_t i = 0; i < N(ai_files); i++) {
		assert_as_served_with(ai_files[i], http_base);
		char shard[64];
		const char *rel = ai_files[i];
		if (strncmp(rel, "grub/grub.cfg-01-", 17) == 0) { /* in its GRUB file */
			snprintf(shard, sizeof(shard), "grub/xenprov-mac-%s.cfg", rel + 32);
			rel = shard;
		}
		char *got = xp_test_read(xp_test_path(root, rel), NULL);
		const char *arg = i < 3 ? arg4 : arg5;
		if (arg)
			xp_test_assert_contains(got, arg);
		else
			assert_null(strstr(got, "url="));
		free(got);
	}
}

/* A system with an autoinstall template (its own, or its profile's) and a distro with
 * an OS family: its boot files carry the argument serve renders for it, pointing at
 * the target's HTTP base (by default serve's own, from the settings); a changed base
 * re-renders everything and rewrites those files only; it is remembered. */
static void test_tftp_autoinstall(void **st)
{
	(void)st;
	struct xp_distro di = {.name = "inst", .kernel = kernel, .initrd = initrd, .os = "debian"};
	assert_int_equal(xp_distro_add(inv, &di, 0, NULL), 0);
	struct xp_profile p = {.name = "auto"};
	assert_int_equal(xp_settings_set(&p.set, "distro", "inst"), 0);
	assert_int_equal(xp_settings_set(&p.set, "autoinstall", "debian-preseed"), 0);
	assert_int_equal(xp_profile_add(inv, &p), 0);
	xp_settings_release(&p.set);
	struct xp_system s4 = {.name = "delta",
			       .mac = "52:54:00:aa:00:04",
			       .distro = "inst",
			       .netboot = true,
			       .autoinstall = "debian-preseed"};
	assert_int_equal(xp_system_add(inv, &s4, NULL), 0);
	add_system("eps", "52:54:00:aa:00:05", NULL, "auto", NULL, true, NULL);

	/* default: serve's own base, http://SERVER (http-port 80) */
	struct xp_sync_result res;
	struct xp_diags d = {0};
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_int_equal(res.written, N_ALL + 2 + 4); /* + inst's files, pxelinux and iPXE's */
	assert_ai_files("http://10.0.0.1",
			"auto=true priority=critical url=http://10.0.0.1/autoinstall/delta ",
			"auto=true priority=critical url=http://10.0.0.1/autoinstall/eps ");
	assert_as_served("pxelinux.cfg/01-52-54-00-aa-00-01"); /* no OS family: none */

	/* another base: everything rendered, the two systems' files rewritten (over the
	 * temporary a killed sync left beside one of them) */
	char tmp[4400];
	snprintf(tmp, sizeof(tmp), "%s",
		 xp_test_path(root, "pxelinux.cfg/.01-52-54-00-aa-00-04.xenprov-sync"));
	xp_test_write(tmp, "half a file");
	struct xp_sync_target t = *tftp_target();
	t.http_base = "http://10.0.0.9:8080/";
	assert_int_equal(run1(&t, NULL, &res, &d), 0);
	assert_true(res.rendered_all);
	assert_int_equal(res.written, N(ai_files));
	assert_int_equal(access(tmp, F_OK), -1);
	assert_ai_files("http://10.0.0.9:8080", "url=http://10.0.0.9:8080/autoinstall/delta ",
			"url=http://10.0.0.9:8080/autoinstall/eps ");
	struct xp_sync_target_rec rec;
	assert_int_equal(xp_sync_target_get(inv, "tftp", root, &rec), 0);
	assert_string_equal(rec.http_base, "http://10.0.0.9:8080/");
	xp_sync_target_rec_release(&rec);
	assert_int_equal(run1(&t, NULL, &res, &d), 0);
	assert_true(res.up_to_date);
	/* serve's HTTP port changed: the default follows it, a given base does not */
	set("http-port", "8081");
	assert_int_equal(run1(&t, NULL, &res, &d), 0);
	assert_int_equal(res.written, 0);
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_int_equal(res.written, N(ai_files));
	char *got = xp_test_read(xp_test_path(root, ai_files[0]), NULL);
	xp_test_assert_contains(got, "url=http://10.0.0.1:8081/autoinstall/delta ");
	free(got);
	assert_int_equal(xp_sync_target_get(inv, "tftp", root, &rec), 0);
	assert_null(rec.http_base);
	xp_sync_target_rec_release(&rec);

	/* none: no argument */
	t.http_base = "";
	assert_int_equal(run1(&t, NULL, &res, &d), 0);
	assert_int_equal(res.written, N(ai_files));
	assert_ai_files(NULL, NULL, NULL);
	assert_int_equal(d.n, 0);

	/* what cannot be one word of a kernel command line, or is no HTTP URL */
	static const char *const bad[] = {"ftp://10.0.0.1", "http://",	"http:///x",
					  "http://a b",	    "10.0.0.1", "http://a\nb"};
	for (size_t i = 0; i < N(bad); i++) {
		t.http_base = bad[i];
		assert_int_equal(xp_sync_run(inv, &t, 1, NULL, &res, &d), -EINVAL);
		xp_test_assert_contains(d.v[d.n - 1].msg, "is not an HTTP base URL");
	}
	struct xp_sync_target dm = {.kind = XP_SYNC_DNSMASQ,
				    .path = xp_test_path(dhcp, "x.conf"),
				    .http_base = "http://10.0.0.1"};
	assert_int_equal(xp_sync_run(inv, &dm, 1, NULL, &res, &d), -EINVAL);
	xp_test_assert_contains(d.v[d.n - 1].msg, "only a TFTP root's boot files");
	xp_diags_release(&d);
}

/* Files in dir (one level), and whether any is a temporary ('.' first). */
static size_t count_files(const char *dir, bool *temporary)
{
	DIR *dh = opendir(dir);
	assert_non_null(dh);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(dh));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		*temporary |= e->d_name[0] == '.';
		n++;
	}
	closedir(dh);
	return n;
}

static size_t open_descriptors(void)
{
	bool dot = false;
	return count_files("/proc/self/fd", &dot);
}

/* Many files: more than are fsync'ed one by one, in several batches made durable by
 * syncfs (the new files' batches limited by a low descriptor limit: each is open
 * until linked), then all of them replaced; every file as serve renders it, no
 * temporary and no descriptor left. */
static void test_tftp_batches(void **st)
{
	(void)st;
	enum { SYSTEMS = 700 };
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO systems (name, mac, distro, netboot, created, updated)"
		 " SELECT %s, 'deb', 1, 0, 0 FROM n",
		 SYSTEMS,
		 xp_test_pgurl() /* PostgreSQL has format() where SQLite has printf() */
		     ? "format('n%s', lpad(i::text, 4, '0')), format('52:54:01:00:%s:%s',"
		       " lpad(to_hex(i >> 8), 2, '0'), lpad(to_hex(i & 255), 2, '0'))"
		     : "printf('n%04d', i), printf('52:54:01:00:%02x:%02x', i >> 8, i & 255)");
	xp_test_sql(state, sql);
	struct rlimit old, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 512; /* 384 new files in flight: batches of 192 */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	size_t fds = open_descriptors();
	struct xp_sync_result res;
	struct xp_diags d = {0};
	const size_t files = 2 * (SYSTEMS + 3) + 256 + 3 + 2;
	assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
	assert_int_equal(res.written, files);
	assert_int_equal(open_descriptors(), fds);
	static const char *const dirs[] = {"pxelinux.cfg", "grub", "ipxe"};
	for (int k = 0; k < 2; k++) {
		size_t n = 0;
		bool temporary = false;
		for (size_t i = 0; i < N(dirs); i++)
			n += count_files(xp_test_path(root, dirs[i]), &temporary);
		assert_int_equal(n, files - 2);
		assert_false(temporary);
		static const char *const some[] = {
		    "pxelinux.cfg/01-52-54-01-00-00-01", "grub/grub.cfg-01-52-54-01-00-01-5e",
		    "ipxe/01-52-54-01-00-02-bc", "pxelinux.cfg/default", "grub/grub.cfg"};
		for (size_t i = 0; i < N(some); i++)
			assert_as_served(some[i]);
		if (k == 1)
			break;
		/* everything replaced: every system boots the distro's new options */
		set_distro_options("console=ttyS1");
		assert_int_equal(run1(tftp_target(), NULL, &res, &d), 0);
		assert_int_equal(res.written, files - 2 - 2); /* gamma boots its disk */
		assert_int_equal(open_descriptors(), fds);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(d.n, 0);
	xp_diags_release(&d);
}

int main(void)
{
	all_files_init();
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_tftp_as_served),
	    xp_test_in_scratch(test_tftp_incremental),
	    xp_test_in_scratch(test_tftp_foreign_files),
	    xp_test_in_scratch(test_tftp_dry_run_and_full),
	    xp_test_in_scratch(test_tftp_refusals),
	    xp_test_in_scratch(test_includes_checked),
	    xp_test_in_scratch(test_dnsmasq_refuses),
	    xp_test_in_scratch(test_dhcpd_refuses),
	    xp_test_in_scratch(test_kea_refuses),
	    xp_test_in_scratch(test_include_foreign_and_edited),
	    xp_test_in_scratch(test_kea_subnet),
	    xp_test_in_scratch(test_tftp_autoinstall),
	    xp_test_in_scratch(test_tftp_batches),
	};
	return xp_test_need("dnsmasq dhcpd kea-dhcp4") ? 77 : xp_test_run_backends(tests, NULL);
}
