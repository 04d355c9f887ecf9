/*
 * test-boot.c - unit tests for the boot-file resolver (src/lib/boot/, xenprov/boot.h)
 * over a real SQLite inventory in a scratch state directory and a real TFTP root:
 * every path kind (pxelinux by MAC and hex IP, GRUB, iPXE, menus, distro files, plain
 * files), netboot off, unknown MACs, which of rendered and plain wins, the confinement
 * table (.., absolute paths, symlinks out and in, control characters, long names,
 * directories, FIFOs), kernel_options that try to inject lines, the rendered
 * pxelinux configs read back with the pxelinux reader, and the installer's entry of a
 * system marked to install itself (its token the same at every rendering, xenprov's
 * arguments last, rendered to the system's own address only).
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include <sqlite3.h>

#include "xenprov/autoinstall.h"
#include "xenprov/boot.h"
#include "xenprov/leases.h"
#include "xenprov/pxelinux.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static xp_test_pathbuf state, root, kernel, initrd;

#define MAC1 "52:54:00:ab:cd:01" /* web01: profile web -> debian12, 10.0.0.11 */
#define MAC2 "52:54:00:00:00:02" /* db01: alpine, netboot off, 10.0.0.12 */
#define MAC3 "52:54:00:00:00:03" /* bare01: profile without a distro */
#define MAC9 "52:54:00:00:00:09" /* nobody */

static struct xp_inv *inv;

XP_TEST_SCRATCH_WITH("boot", boot_setup, close_inv)

/* A path in the TFTP root. */
static const char *rpath(const char *rel)
{
	return xp_test_path(root, rel);
}

/* The TFTP root (its files, directories, a FIFO and links in, out and up), a kernel
 * and an initrd beside it, and the inventory: two distros, two profiles, three
 * systems. */
static int boot_setup(void)
{
	xp_test_paths(tmpdir, state, "state", root, "tftp", kernel, "vmlinuz", initrd, "initrd.img",
		      NULL);
	xp_test_write(kernel, "KERNEL-BYTES");
	xp_test_write(initrd, "INITRD-BYTES!");
	xp_test_write(tpath("outside.txt"), "secret");
	if (mkdir(root, 0755) < 0)
		return -1;
	xp_test_write(rpath("pxelinux.0"), "PXE");
	mkdir(rpath("sub"), 0755);
	xp_test_write(rpath("sub/file"), "SUB");
	mkdir(rpath("adir"), 0755);
	if (mkfifo(rpath("fifo"), 0644) < 0 || symlink("sub/file", rpath("link-in")) < 0 ||
	    symlink("/etc/passwd", rpath("link-out")) < 0 ||
	    symlink("../outside.txt", rpath("link-up")) < 0)
		return -1;
	mkdir(rpath("pxelinux.cfg"), 0755);
	mkdir(rpath("grub"), 0755);
	mkdir(rpath("ipxe"), 0755);

	if (xp_inv_open(state, &inv) < 0)
		return -1;
	struct xp_distro d1 = {.name = "debian12",
			       .kernel = kernel,
			       .initrd = initrd,
			       .kernel_options = "auto=true priority=critical"};
	struct xp_distro d2 = {.name = "alpine", .kernel = kernel};
	if (xp_distro_add(inv, &d1, 0, NULL) < 0 || xp_distro_add(inv, &d2, 0, NULL) < 0)
		return -1;
	/* bare names a distro when its system is added (system add refuses a profile
	 * without one) and loses it after, as an edited profile can */
	struct xp_profile web = {.name = "web"}, bare = {.name = "bare"};
	if (xp_settings_set(&web.set, "distro", "debian12") < 0 || xp_profile_add(inv, &web) < 0 ||
	    xp_settings_set(&bare.set, "distro", "alpine") < 0 || xp_profile_add(inv, &bare) < 0)
		return -1;
	xp_settings_release(&bare.set);
	xp_settings_release(&web.set);
	struct xp_system s1 = {.name = "web01",
			       .mac = MAC1,
			       .ip = "10.0.0.11",
			       .profile = "web",
			       .netboot = true,
			       .kernel_options = "console=ttyS0"};
	struct xp_system s2 = {
	    .name = "db01", .mac = MAC2, .ip = "10.0.0.12", .distro = "alpine", .netboot = false};
	struct xp_system s3 = {.name = "bare01", .mac = MAC3, .profile = "bare", .netboot = true};
	if (xp_system_add(inv, &s1, NULL) < 0 || xp_system_add(inv, &s2, NULL) < 0 ||
	    xp_system_add(inv, &s3, NULL) < 0 || xp_profile_update(inv, &bare) < 0)
		return -1;
	return 0;
}

static int close_inv(void)
{
	xp_inv_close(inv);
	return 0;
}

static struct xp_boot *boot_with(const char *http_base, const char *server)
{
	struct xp_boot_opts o = {.tftp_root = root, .http_base = http_base, .server = server};
	struct xp_boot *b = NULL;
	assert_int_equal(xp_boot_new(inv, &o, &b), 0);
	assert_non_null(b);
	return b;
}

static struct xp_boot *boot_default(void)
{
	return boot_with("http://10.0.0.1:8080/", "10.0.0.1");
}

/* Opens path, expects rendered text; returns it (heap). */
static char *rendered(struct xp_boot *b, const char *path)
{
	struct xp_bootfile f;
	int r = xp_boot_open(b, path, &f);
	if (r != 0)
		print_error("%s: %d\n", path, r);
	assert_int_equal(r, 0);
	assert_int_equal(f.fd, -1);
	assert_string_equal(f.type, "text/plain");
	assert_int_equal(f.size, f.data.len);
	char *s = strdup(xp_buf_str(&f.data));
	xp_bootfile_release(&f);
	return s;
}

/* Opens path, expects a plain file; returns its content (heap). */
static char *plain(struct xp_boot *b, const char *path, const char *type)
{
	struct xp_bootfile f;
	int r = xp_boot_open(b, path, &f);
	if (r != 0)
		print_error("%s: %d\n", path, r);
	assert_int_equal(r, 0);
	assert_true(f.fd >= 0);
	assert_string_equal(f.type, type);
	char *s = calloc(1, f.size + 1);
	assert_int_equal(pread(f.fd, s, f.size, 0), (ssize_t)f.size);
	assert_int_equal(f.data.len, 0);
	xp_bootfile_release(&f);
	assert_int_equal(f.fd, -1);
	return s;
}

/* Fails the test unless path is rendered as want. */
static void assert_rendered(struct xp_boot *b, const char *path, const char *want)
{
	char *s = rendered(b, path);
	assert_string_equal(s, want);
	free(s);
}

/* Fails the test unless path is a plain file of type holding want. */
static void assert_plain(struct xp_boot *b, const char *path, const char *type, const char *want)
{
	char *s = plain(b, path, type);
	assert_string_equal(s, want);
	free(s);
}

static void open_fails(struct xp_boot *b, const char *path, int want)
{
	struct xp_bootfile f;
	int r = xp_boot_open(b, path, &f);
	if (r != want)
		print_error("%s: got %d, want %d\n", path, r, want);
	assert_int_equal(r, want);
	assert_int_equal(f.fd, -1);
	assert_int_equal(f.data.len, 0);
}

static void parse_ok(const char *text, struct xp_pxelinux_cfg *c)
{
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_pxelinux_parse(text, strlen(text), "rendered", c, &d), 0);
	assert_int_equal(d.n, 0); /* not even a warning */
	xp_diags_release(&d);
}

/* ---- pxelinux ------------------------------------------------------------------------ */

static const char web01_pxe[] =
    "DEFAULT web01\n"
    "\n"
    "LABEL web01\n"
    "\tMENU LABEL debian12\n"
    "\tKERNEL distros/debian12/kernel\n"
    "\tINITRD distros/debian12/initrd\n"
    "\tAPPEND auto=true priority=critical console=ttyS0 hostname=web01\n"
    "\tMENU DEFAULT\n";

static void test_pxelinux_by_mac(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	/* pxelinux's own spelling, with and without the leading '/', and upper case */
	const char *paths[] = {
	    "pxelinux.cfg/01-52-54-00-ab-cd-01", "/pxelinux.cfg/01-52-54-00-ab-cd-01",
	    "pxelinux.cfg/01-52-54-00-AB-CD-01", "pxelinux.cfg/01-52-54-00-Ab-cD-01"};
	for (size_t i = 0; i < N(paths); i++) {
		assert_rendered(b, paths[i], web01_pxe);
	}
	char *s = rendered(b, "pxelinux.cfg/01-52-54-00-ab-cd-01");
	struct xp_pxelinux_cfg c;
	parse_ok(s, &c);
	const struct xp_pxelinux_label *l = xp_pxelinux_boot_label(&c);
	assert_non_null(l);
	assert_string_equal(l->name, "web01");
	assert_int_equal(l->kind, XP_PXELINUX_KERNEL);
	assert_string_equal(l->kernel, "distros/debian12/kernel");
	char *ird;
	assert_int_equal(xp_pxelinux_initrd(l, &ird), 0);
	assert_string_equal(ird, "distros/debian12/initrd");
	free(ird);
	/* the files it names are served */
	assert_plain(b, l->kernel, "application/octet-stream", "KERNEL-BYTES");
	xp_pxelinux_cfg_release(&c);
	free(s);
	xp_boot_free(b);
}

static void test_pxelinux_by_ip(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	char *s = rendered(b, "pxelinux.cfg/0A00000B"); /* 10.0.0.11 */
	assert_string_equal(s, web01_pxe);
	free(s);
	/* the shortened forms and lower case are plain files only */
	open_fails(b, "pxelinux.cfg/0A00000", -ENOENT);
	open_fails(b, "pxelinux.cfg/0A", -ENOENT);
	open_fails(b, "pxelinux.cfg/0a00000b", -ENOENT);
	/* nobody has 10.0.0.99 */
	open_fails(b, "pxelinux.cfg/0A000063", -ENOENT);
	xp_boot_free(b);
}

static void test_netboot_off(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	char *s = rendered(b, "pxelinux.cfg/01-52-54-00-00-00-02");
	assert_string_equal(s, "DEFAULT local\n"
			       "\n"
			       "LABEL local\n"
			       "\tMENU LABEL Boot from local disk\n"
			       "\tLOCALBOOT 0\n");
	struct xp_pxelinux_cfg c;
	parse_ok(s, &c);
	const struct xp_pxelinux_label *l = xp_pxelinux_boot_label(&c);
	assert_non_null(l);
	assert_int_equal(l->kind, XP_PXELINUX_LOCALBOOT);
	assert_int_equal(l->localboot, 0);
	xp_pxelinux_cfg_release(&c);
	free(s);
	s = rendered(b, "pxelinux.cfg/0A00000C");
	assert_non_null(strstr(s, "LOCALBOOT 0"));
	free(s);
	assert_rendered(b, "grub/grub.cfg-01-52-54-00-00-00-02", "# xenprov\nexit\n");
	assert_rendered(b, "ipxe/01-52-54-00-00-00-02", "#!ipxe\nexit\n");
	/* the file says whose local boot it is and how, for the server's log line */
	static const struct {
		const char *path, *answer;
	} said[] = {{"pxelinux.cfg/01-52-54-00-00-00-02", "pxelinux LOCALBOOT"},
		    {"pxelinux.cfg/0A00000C", "pxelinux LOCALBOOT"},
		    {"grub/grub.cfg-01-52-54-00-00-00-02", "GRUB exit"},
		    {"ipxe/01-52-54-00-00-00-02", "iPXE exit"}};
	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++) {
		struct xp_bootfile f;
		assert_int_equal(xp_boot_open(b, said[i].path, &f), 0);
		assert_string_equal(f.local_system, "db01");
		assert_string_equal(f.local_answer, said[i].answer);
		xp_bootfile_release(&f);
		assert_int_equal(f.local_system[0], 0);
	}
	/* a system that boots from the network: no such word */
	struct xp_bootfile f;
	assert_int_equal(xp_boot_open(b, "pxelinux.cfg/01-52-54-00-ab-cd-01", &f), 0);
	assert_int_equal(f.local_system[0], 0);
	assert_null(f.local_answer);
	xp_bootfile_release(&f);
	xp_boot_free(b);
}

/* The server's installer cache behind installer/kernel|initrd (xp_boot_opts.installer):
 * asked only for those two names and only when the root has none of its own, its
 * answer passed on (-EAGAIN while it builds, its file when built). */
struct fake_cache {
	int r; /* what it answers */
	char asked[16];
	int calls;
};

static int fake_installer(void *ctx, const char *file, int *fd)
{
	struct fake_cache *c = ctx;
	c->calls++;
	snprintf(c->asked, sizeof(c->asked), "%s", file);
	if (c->r < 0)
		return c->r;
	*fd = open(kernel, O_RDONLY | O_CLOEXEC); /* "KERNEL-BYTES" */
	return *fd < 0 ? -errno : 0;
}

static void test_installer_cache(void **st)
{
	(void)st;
	struct fake_cache fc = {.r = -EAGAIN};
	struct xp_boot_opts o = {.tftp_root = root, .installer = fake_installer, .installer_ctx = &fc};
	struct xp_boot *b = NULL;
	assert_int_equal(xp_boot_new(inv, &o, &b), 0);
	struct xp_bootfile f;
	assert_int_equal(xp_boot_open(b, "installer/kernel", &f), -EAGAIN);
	assert_string_equal(fc.asked, "kernel");
	assert_int_equal(xp_boot_open(b, "/installer/initrd", &f), -EAGAIN);
	assert_string_equal(fc.asked, "initrd");
	fc.r = 0;
	assert_int_equal(xp_boot_open(b, "installer/kernel", &f), 0);
	assert_true(f.fd >= 0);
	assert_int_equal(f.size, strlen("KERNEL-BYTES"));
	xp_bootfile_release(&f);
	/* other names never reach it */
	fc.calls = 0;
	assert_int_equal(xp_boot_open(b, "installer/other", &f), -ENOENT);
	assert_int_equal(xp_boot_open(b, "nosuch", &f), -ENOENT);
	assert_int_equal(fc.calls, 0);
	/* the operator's own installer in the root wins */
	assert_int_equal(mkdir(rpath("installer"), 0755), 0);
	xp_test_write(rpath("installer/kernel"), "OWN");
	assert_int_equal(xp_boot_open(b, "installer/kernel", &f), 0);
	assert_int_equal(f.size, 3);
	xp_bootfile_release(&f);
	assert_int_equal(fc.calls, 0);
	assert_int_equal(unlink(rpath("installer/kernel")), 0);
	assert_int_equal(rmdir(rpath("installer")), 0);
	xp_boot_free(b);
}

static void test_unknown_mac(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	/* pxelinux and GRUB go on to their next name */
	open_fails(b, "pxelinux.cfg/01-52-54-00-00-00-09", -ENOENT);
	open_fails(b, "grub/grub.cfg-01-52-54-00-00-00-09", -ENOENT);
	open_fails(b, "grub/grub.cfg-52-54-00-00-00-09", -ENOENT);
	/* a system with no distro to boot is unknown too */
	open_fails(b, "pxelinux.cfg/01-52-54-00-00-00-03", -ENOENT);
	/* iPXE gets the menu */
	char *menu = rendered(b, "ipxe/default");
	assert_rendered(b, "ipxe/01-52-54-00-00-00-09", menu);
	assert_rendered(b, "ipxe/01-52-54-00-00-00-03", menu);
	/* a site's static file for a machine outside the inventory is served */
	xp_test_write(rpath("pxelinux.cfg/01-52-54-00-00-00-09"), "DEFAULT static\n");
	assert_plain(b, "pxelinux.cfg/01-52-54-00-00-00-09", "text/plain", "DEFAULT static\n");
	/* ... but never instead of a known system's rendered config */
	xp_test_write(rpath("pxelinux.cfg/01-52-54-00-ab-cd-01"), "DEFAULT shadow\n");
	assert_rendered(b, "pxelinux.cfg/01-52-54-00-ab-cd-01", web01_pxe);
	unlink(rpath("pxelinux.cfg/01-52-54-00-00-00-09"));
	unlink(rpath("pxelinux.cfg/01-52-54-00-ab-cd-01"));
	free(menu);
	xp_boot_free(b);
}

static void test_pxelinux_menu(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	char *s = rendered(b, "pxelinux.cfg/default");
	assert_string_equal(s, "MENU TITLE xenprov\n"
			       "DEFAULT local\n"
			       "PROMPT 1\n"
			       "TIMEOUT 100\n"
			       "SAY xenprov: Enter or wait boots the local disk; or type one of:\n"
			       "SAY - alpine\n"
			       "SAY - debian12\n"
			       "\n"
			       "LABEL local\n"
			       "\tMENU LABEL Boot from local disk\n"
			       "\tLOCALBOOT 0\n"
			       "\tMENU DEFAULT\n"
			       "\n"
			       "LABEL alpine\n"
			       "\tMENU LABEL alpine\n"
			       "\tKERNEL distros/alpine/kernel\n"
			       "\n"
			       "LABEL debian12\n"
			       "\tMENU LABEL debian12\n"
			       "\tKERNEL distros/debian12/kernel\n"
			       "\tINITRD distros/debian12/initrd\n"
			       "\tAPPEND auto=true priority=critical\n");
	struct xp_pxelinux_cfg c;
	parse_ok(s, &c);
	assert_string_equal(c.menu_title, "xenprov");
	assert_int_equal(c.timeout, 100);
	assert_int_equal(c.n_labels, 3);
	assert_string_equal(xp_pxelinux_boot_label(&c)->name, "local");
	assert_null(xp_pxelinux_find(&c, "alpine")->initrd);
	xp_pxelinux_cfg_release(&c);
	free(s);

	/* a site's own default wins over the rendered menu */
	xp_test_write(rpath("pxelinux.cfg/default"), "DEFAULT mine\n");
	assert_plain(b, "pxelinux.cfg/default", "text/plain", "DEFAULT mine\n");
	unlink(rpath("pxelinux.cfg/default"));
	s = rendered(b, "pxelinux.cfg/default");
	assert_non_null(strstr(s, "MENU TITLE xenprov"));
	free(s);

	/* a distro called like the local entry does not take its label */
	struct xp_distro d = {.name = "local", .kernel = kernel};
	assert_int_equal(xp_distro_add(inv, &d, 0, NULL), 0);
	s = rendered(b, "pxelinux.cfg/default");
	parse_ok(s, &c);
	assert_int_equal(c.n_labels, 4);
	assert_int_equal(xp_pxelinux_find(&c, "local")->kind, XP_PXELINUX_LOCALBOOT);
	assert_string_equal(xp_pxelinux_find(&c, "distro:local")->kernel, "distros/local/kernel");
	xp_pxelinux_cfg_release(&c);
	free(s);
	assert_int_equal(xp_distro_remove(inv, "local"), 0);
	xp_boot_free(b);
}

/* ---- GRUB and iPXE ----------------------------------------------------------------- */

static const char web01_grub[] =
    "# xenprov\n"
    "set default=0\n"
    "set timeout=0\n"
    "menuentry web01 {\n"
    "\tlinux (tftp,10.0.0.1)/distros/debian12/kernel auto=true priority=critical "
    "console=ttyS0 hostname=web01\n"
    "\tinitrd (tftp,10.0.0.1)/distros/debian12/initrd\n"
    "}\n";

static void test_grub(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	const char *paths[] = {"grub/grub.cfg-01-52-54-00-ab-cd-01",
			       "grub/grub.cfg-52-54-00-ab-cd-01", "grub/grub.cfg-0A00000B"};
	for (size_t i = 0; i < N(paths); i++) {
		assert_rendered(b, paths[i], web01_grub);
	}
	assert_rendered(b, "grub/grub.cfg",
			"# xenprov\n"
			"set default=0\n"
			"set timeout=10\n"
			"menuentry 'Boot from local disk' {\n\texit\n}\n"
			"menuentry alpine {\n"
			"\tlinux (tftp,10.0.0.1)/distros/alpine/kernel\n"
			"}\n"
			"menuentry debian12 {\n"
			"\tlinux (tftp,10.0.0.1)/distros/debian12/kernel auto=true "
			"priority=critical\n"
			"\tinitrd (tftp,10.0.0.1)/distros/debian12/initrd\n"
			"}\n");
	xp_boot_free(b);
	/* without a configured address, GRUB's default server */
	b = boot_with(NULL, NULL);
	char *s = rendered(b, "grub/grub.cfg-01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, "\tlinux (tftp)/distros/debian12/kernel "));
	free(s);
	xp_boot_free(b);
}

static void test_ipxe(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	assert_rendered(b, "ipxe/01-52-54-00-ab-cd-01",
			"#!ipxe\n"
			"kernel http://10.0.0.1:8080/distros/debian12/kernel initrd=initrd "
			"auto=true priority=critical console=ttyS0 hostname=web01\n"
			"initrd http://10.0.0.1:8080/distros/debian12/initrd\n"
			"boot\n");
	assert_rendered(b, "ipxe/default",
			"#!ipxe\n"
			"menu xenprov\n"
			"item local Boot from local disk\n"
			"item alpine alpine\n"
			"item debian12 debian12\n"
			"choose --default local --timeout 10000 target || goto local\n"
			"goto ${target}\n"
			":local\n"
			"exit\n"
			":alpine\n"
			"kernel http://10.0.0.1:8080/distros/alpine/kernel\n"
			"boot\n"
			":debian12\n"
			"kernel http://10.0.0.1:8080/distros/debian12/kernel initrd=initrd "
			"auto=true priority=critical\n"
			"initrd http://10.0.0.1:8080/distros/debian12/initrd\n"
			"boot\n");
	xp_boot_free(b);
	/* no HTTP: TFTP from the server, or from iPXE's next-server */
	b = boot_with(NULL, "10.0.0.1");
	char *s = rendered(b, "ipxe/01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, "kernel tftp://10.0.0.1/distros/debian12/kernel initrd=initrd "));
	assert_non_null(strstr(s, "initrd tftp://10.0.0.1/distros/debian12/initrd\n"));
	free(s);
	xp_boot_free(b);
	b = boot_with(NULL, NULL);
	s = rendered(b, "ipxe/01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, "kernel tftp://${next-server}/distros/debian12/kernel "));
	free(s);
	xp_boot_free(b);
}

/* ---- distro files ------------------------------------------------------------------ */

/* The distro's files: copies in the store, by digest, never the host path. */
static void store_path(const char *distro, bool initrd_file, char *out, size_t n)
{
	struct xp_distro d;
	assert_int_equal(xp_distro_get(inv, distro, &d), 0);
	const char *sha = initrd_file ? d.initrd_sha256 : d.kernel_sha256;
	assert_non_null(sha);
	snprintf(out, n, "%s/distro-files/%s", state, sha);
	xp_distro_release(&d);
}

static void test_distro_files(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	assert_plain(b, "distros/debian12/kernel", "application/octet-stream", "KERNEL-BYTES");
	assert_plain(b, "/distros/debian12/initrd", "application/octet-stream", "INITRD-BYTES!");
	struct xp_bootfile f;
	assert_int_equal(xp_boot_open(b, "distros/debian12/initrd", &f), 0);
	assert_int_equal(f.size, 13);
	assert_true(fcntl(f.fd, F_GETFD) & FD_CLOEXEC);
	xp_bootfile_release(&f);
	open_fails(b, "distros/alpine/initrd", -ENOENT); /* it has none */
	open_fails(b, "distros/nosuch/kernel", -ENOENT);
	open_fails(b, "distros/debian12/vmlinuz", -ENOENT);
	open_fails(b, "distros/debian12", -ENOENT);
	open_fails(b, "distros/debian12/kernel/x", -ENOENT);
	open_fails(b, "distros/bad name/kernel", -ENOENT);

	/* what is served is the copy taken at add: the host's file may change or go */
	char moved[4300];
	snprintf(moved, sizeof(moved), "%s.moved", initrd);
	assert_int_equal(rename(initrd, moved), 0);
	assert_plain(b, "distros/debian12/initrd", "application/octet-stream", "INITRD-BYTES!");
	assert_int_equal(rename(moved, initrd), 0);
	xp_test_write(tpath("vmlinuz"), "CHANGED-IN-PLACE");
	assert_plain(b, "distros/debian12/kernel", "application/octet-stream", "KERNEL-BYTES");
	xp_test_write(tpath("vmlinuz"), "KERNEL-BYTES");

	/* the store's file: a symlink put in its place is not followed; gone is gone */
	char obj[4300], keep[4400];
	store_path("debian12", false, obj, sizeof(obj));
	snprintf(keep, sizeof(keep), "%s.keep", obj);
	assert_int_equal(rename(obj, keep), 0);
	assert_int_equal(symlink("/etc/passwd", obj), 0);
	open_fails(b, "distros/debian12/kernel", -EACCES);
	open_fails(b, "distros/alpine/kernel", -EACCES); /* the same file: shared */
	assert_int_equal(unlink(obj), 0);
	open_fails(b, "distros/debian12/kernel", -ENOENT);
	assert_int_equal(rename(keep, obj), 0);

	/* a distro of an older inventory (served from its host path then): not served,
	 * not in the menus, whatever path it records */
	xp_test_sql(state, "INSERT INTO distros (name, kernel, initrd, created, updated)"
			   " VALUES ('legacy', '/etc/shadow', '/etc/passwd', 0, 0)");
	open_fails(b, "distros/legacy/kernel", -ENOENT);
	open_fails(b, "distros/legacy/initrd", -ENOENT);
	const char *menus[] = {"pxelinux.cfg/default", "grub/grub.cfg", "ipxe/default"};
	for (size_t i = 0; i < N(menus); i++) {
		char *s = rendered(b, menus[i]);
		assert_null(strstr(s, "legacy"));
		assert_non_null(strstr(s, "debian12"));
		free(s);
	}
	xp_test_sql(state, "DELETE FROM distros WHERE name = 'legacy'");
	xp_boot_free(b);
}

/* ---- confinement ------------------------------------------------------------------- */

struct path_case {
	const char *path;
	int rc;
	const char *content; /* when rc == 0 */
};

static void test_confinement(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	char long300[301], long255[256];
	memset(long300, 'a', 300);
	long300[300] = '\0';
	memset(long255, 'b', 255);
	long255[255] = '\0';
	const struct path_case cases[] = {
	    {"pxelinux.0", 0, "PXE"},
	    {"/pxelinux.0", 0, "PXE"},
	    {"//pxelinux.0", 0, "PXE"},
	    {"./pxelinux.0", 0, "PXE"},
	    {"sub//file", 0, "SUB"},
	    {"sub/./file", 0, "SUB"},
	    {"link-in", 0, "SUB"}, /* a symlink that stays inside */
	    {"..", -EACCES, NULL},
	    {"../outside.txt", -EACCES, NULL},
	    {"sub/../../outside.txt", -EACCES, NULL},
	    {"sub/../pxelinux.0", -EACCES, NULL}, /* ".." is refused even when harmless */
	    {"distros/../pxelinux.0", -EACCES, NULL},
	    {"pxelinux.cfg/../../outside.txt", -EACCES, NULL},
	    {"/etc/passwd", -ENOENT, NULL}, /* is etc/passwd in the root: none */
	    {"link-out", -EACCES, NULL},    /* a symlink to /etc/passwd */
	    {"link-up", -EACCES, NULL},	    /* a symlink to ../outside.txt */
	    {"link-up/x", -EACCES, NULL},
	    {"adir", -EACCES, NULL}, /* not a regular file */
	    {"sub", -EACCES, NULL},
	    {"fifo", -EACCES, NULL}, /* and opening it does not block */
	    {"nosuch", -ENOENT, NULL},
	    {"pxelinux.0/x", -ENOENT, NULL},
	    {"", -EINVAL, NULL},
	    {"/", -EINVAL, NULL},
	    {".", -EINVAL, NULL},
	    {"a\nb", -EINVAL, NULL},
	    {"pxelinux.0\r", -EINVAL, NULL},
	    {"\x7f", -EINVAL, NULL},
	    {long300, -EINVAL, NULL},
	    {long255, -ENOENT, NULL}, /* 255 bytes is a name, just not one that exists */
	};
	for (size_t i = 0; i < N(cases); i++) {
		if (cases[i].rc == 0) {
			assert_plain(b, cases[i].path, "application/octet-stream",
				     cases[i].content);
		} else {
			open_fails(b, cases[i].path, cases[i].rc);
		}
	}
	open_fails(b, NULL, -EINVAL);
	/* the state directory's own files, even hard-linked into the root */
	xp_test_write(xp_test_path(state, "api-token"), "0123456789abcdef0123456789abcdef\n");
	xp_test_write(xp_test_path(state, "install-key"),
		      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	/* (on PostgreSQL the state directory holds no database file: the others) */
	const char *own[] = {"api-token", "install-key", "inventory.db", "inventory.db-wal",
			     "inventory.db-shm"};
	bool sqlite = !xp_test_pgurl();
	assert_true(!sqlite || xp_test_dms_held(state));
	for (size_t i = 0; i < (sqlite ? N(own) : 2); i++) {
		assert_int_equal(link(xp_test_path(state, own[i]), rpath(own[i])), 0);
		open_fails(b, own[i], -EACCES);
		assert_int_equal(unlink(rpath(own[i])), 0);
	}
	/* and refused without ever being opened for real: SQLite's locks are intact */
	assert_true(!sqlite || xp_test_dms_held(state));
	/* any other file: served */
	assert_int_equal(link(tpath("outside.txt"), rpath("linked.txt")), 0);
	assert_plain(b, "linked.txt", "application/octet-stream", "secret");
	assert_int_equal(unlink(rpath("linked.txt")), 0);
	/* a NUL ends the C string: what follows it is never seen */
	assert_plain(b, "pxelinux.0\0/../../outside.txt", "application/octet-stream", "PXE");
	xp_boot_free(b);
}

static void test_new_errors(void **st)
{
	(void)st;
	struct xp_boot *b = (struct xp_boot *)1;
	struct xp_boot_opts o = {.tftp_root = tpath("nosuch")};
	assert_int_equal(xp_boot_new(inv, &o, &b), -ENOENT);
	assert_null(b);
	o.tftp_root = kernel;
	assert_int_equal(xp_boot_new(inv, &o, &b), -ENOTDIR);
	o.tftp_root = NULL;
	assert_int_equal(xp_boot_new(inv, &o, &b), -EINVAL);
	o.tftp_root = "";
	assert_int_equal(xp_boot_new(inv, &o, &b), -EINVAL);
	/* the state directory, or a directory that holds it, is never a root */
	const char *holds[] = {state, tmpdir, "/"};
	for (size_t i = 0; i < N(holds); i++) {
		o.tftp_root = holds[i];
		assert_int_equal(xp_boot_new(inv, &o, &b), -EACCES);
		assert_null(b);
	}
	o.tftp_root = xp_test_path(state, "distro-files"); /* beneath it is another matter */
	assert_int_equal(xp_boot_new(inv, &o, &b), 0);
	xp_boot_free(b);
	xp_boot_free(NULL);
}

/* ---- the inventory changes show at once ------------------------------------------------ */

static void test_live_changes(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	char *s = rendered(b, "pxelinux.cfg/01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, "KERNEL distros/debian12/kernel"));
	free(s);
	struct xp_system sys;
	assert_int_equal(xp_system_get(inv, "web01", &sys), 0);
	sys.netboot = false;
	assert_int_equal(xp_system_update(inv, &sys, NULL), 0);
	s = rendered(b, "pxelinux.cfg/01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, "LOCALBOOT 0"));
	free(s);
	sys.netboot = true;
	free(sys.hostname);
	sys.hostname = strdup("www.example.org");
	assert_int_equal(xp_system_update(inv, &sys, NULL), 0);
	xp_system_release(&sys);
	s = rendered(b, "pxelinux.cfg/01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, " hostname=www.example.org\n"));
	free(s);
	xp_test_sql(state, "UPDATE systems SET hostname = NULL WHERE name = 'web01'");
	xp_boot_free(b);
}

/* ---- kernel_options cannot add lines -------------------------------------------------- */

/* Runs SQLite's spelling of sql, whose control characters are char(N), on the test's
 * backend (PostgreSQL spells it chr(N)). */
static void sql_chars(const char *sql)
{
	if (!xp_test_pgurl()) {
		xp_test_sql(state, sql);
		return;
	}
	struct xp_buf b = XP_BUF_INIT;
	for (const char *p = sql, *q; *p; p = q + 5) {
		if (!(q = strstr(p, "char("))) {
			xp_buf_addf(&b, "%s", p);
			break;
		}
		xp_buf_addf(&b, "%.*schr(", (int)(q - p), p);
	}
	xp_test_sql(state, xp_buf_str(&b));
	xp_buf_release(&b);
}
static void test_injection(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	/* The inventory refuses such values; a row written by something else is rendered
	 * safely anyway. */
	sql_chars(
	    "UPDATE systems SET kernel_options = 'quiet' || char(10) || 'LABEL evil' || char(13) "
	    "|| char(10) || 'KERNEL /evil' || char(9) || 'x' || char(127) || 'y' WHERE name = "
	    "'web01'");
	char *s = rendered(b, "pxelinux.cfg/01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, "\tAPPEND auto=true priority=critical quiet LABEL evil KERNEL "
				  "/evil x y hostname=web01\n"));
	struct xp_pxelinux_cfg c;
	parse_ok(s, &c);
	assert_int_equal(c.n_labels, 1);
	assert_string_equal(c.labels[0].kernel, "distros/debian12/kernel");
	xp_pxelinux_cfg_release(&c);
	free(s);
	s = rendered(b, "grub/grub.cfg-01-52-54-00-ab-cd-01");
	assert_string_equal(s,
			    "# xenprov\n"
			    "set default=0\n"
			    "set timeout=0\n"
			    "menuentry web01 {\n"
			    "\tlinux (tftp,10.0.0.1)/distros/debian12/kernel auto=true "
			    "priority=critical quiet LABEL evil KERNEL /evil x y hostname=web01\n"
			    "\tinitrd (tftp,10.0.0.1)/distros/debian12/initrd\n"
			    "}\n");
	free(s);
	s = rendered(b, "ipxe/01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, " quiet LABEL evil KERNEL /evil x y hostname=web01\n"));
	free(s);

	/* GRUB's script syntax is quoted away */
	xp_test_sql(state,
		    "UPDATE systems SET kernel_options = 'a''b $x;reboot {}' WHERE name = 'web01'");
	s = rendered(b, "grub/grub.cfg-01-52-54-00-ab-cd-01");
	assert_non_null(
	    strstr(s, " priority=critical 'a'\\''b' '$x;reboot' '{}' hostname=web01\n"));
	free(s);

	/* words iPXE would read as syntax are refused for that system, and leave the
	 * menu without the distro that has them */
	const char *bad[] = {"#comment", "||", "&&", ";"};
	for (size_t i = 0; i < N(bad); i++) {
		char q[200];
		snprintf(q, sizeof(q),
			 "UPDATE systems SET kernel_options = 'quiet %s reboot' WHERE name = "
			 "'web01'",
			 bad[i]);
		xp_test_sql(state, q);
		open_fails(b, "ipxe/01-52-54-00-ab-cd-01", -EINVAL);
		/* pxelinux has no such syntax */
		s = rendered(b, "pxelinux.cfg/01-52-54-00-ab-cd-01");
		free(s);
	}
	xp_test_sql(state,
		    "UPDATE systems SET kernel_options = 'console=ttyS0' WHERE name = 'web01'");
	xp_test_sql(state,
		    "UPDATE distros SET kernel_options = 'x || reboot' WHERE name = 'debian12'");
	s = rendered(b, "ipxe/default");
	assert_null(strstr(s, "debian12"));
	assert_non_null(strstr(s, "item alpine alpine\n"));
	free(s);
	/* and ${...} is iPXE's expansion, left alone */
	xp_test_sql(
	    state,
	    "UPDATE distros SET kernel_options = 'BOOTIF=${net0/mac}' WHERE name = 'debian12'");
	s = rendered(b, "ipxe/01-52-54-00-ab-cd-01");
	assert_non_null(strstr(s, " initrd=initrd BOOTIF=${net0/mac} console=ttyS0"));
	free(s);
	xp_test_sql(
	    state, "UPDATE distros SET kernel_options = 'auto=true priority=critical' WHERE name = "
		   "'debian12'");

	/* names are never rendered unless valid: a distro and a system named with a
	 * newline by something other than the inventory are left out */
	sql_chars(
	    "INSERT INTO distros (name, kernel, created, updated) VALUES ('evil' || char(10) || "
	    "'LABEL x', '/boot/x', 0, 0)");
	sql_chars(
	    "INSERT INTO systems (name, mac, distro, netboot, created, updated) VALUES ('bad' || "
	    "char(10) || 'x', '52:54:00:00:00:0e', 'alpine', 1, 0, 0)");
	const char *menus[] = {"pxelinux.cfg/default", "grub/grub.cfg", "ipxe/default"};
	for (size_t i = 0; i < N(menus); i++) {
		s = rendered(b, menus[i]);
		assert_null(strstr(s, "evil"));
		assert_non_null(strstr(s, "debian12"));
		free(s);
	}
	open_fails(b, "pxelinux.cfg/01-52-54-00-00-00-0e", -ENOENT);
	xp_test_sql(state, "DELETE FROM systems WHERE mac = '52:54:00:00:00:0e'");
	xp_test_sql(state, "DELETE FROM distros WHERE name LIKE 'evil%'");
	xp_boot_free(b);
}

/* ---- the installer's entry ------------------------------------------------------------ */

/* path rendered for a client at peer (host order); heap text. */
static char *rendered_for(struct xp_boot *b, const char *path, uint32_t peer)
{
	struct xp_bootfile f;
	assert_int_equal(xp_boot_open_from(b, path, peer, &f), 0);
	char *s = strdup(xp_buf_str(&f.data));
	xp_bootfile_release(&f);
	return s;
}

/* A bound lease of mac's on ip (host order) for an hour. */
static void lease(const uint8_t mac[6], uint32_t ip)
{
	struct xp_dhcp_lease l = {.ip = ip,
				  .client_len = 7,
				  .state = XP_LEASE_BOUND,
				  .expires = (int64_t)time(NULL) + 3600};
	l.client[0] = 1;
	memcpy(l.client + 1, mac, 6);
	memcpy(l.mac, mac, 6);
	assert_int_equal(xp_lease_save(inv, &l, 1), 0);
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void test_installer(void **st)
{
	(void)st;
	struct xp_boot *b = boot_default();
	assert_int_equal(xp_install_mark(inv, "web01", true), 0);
	char tok[XP_INSTALL_TOKEN_LEN + 1];
	assert_int_equal(xp_install_token(inv, "web01", tok), 0);
	/* from its reservation: the installer, its own options first, xenprov's last (a
	 * later word wins), the same token at every rendering and in every language */
	char want[512];
	snprintf(want, sizeof(want),
		 "console=ttyS0 xenprov.server=http://10.0.0.1:8080 xenprov.system=web01 "
		 "xenprov.mac=" MAC1 " xenprov.token=%s",
		 tok);
	const char *paths[] = {"pxelinux.cfg/01-52-54-00-ab-cd-01",
			       "pxelinux.cfg/01-52-54-00-ab-cd-01", "pxelinux.cfg/0A00000B",
			       "grub/grub.cfg-52-54-00-ab-cd-01", "ipxe/01-52-54-00-ab-cd-01"};
	for (size_t i = 0; i < N(paths); i++) {
		char *s = rendered_for(b, paths[i], IP(10, 0, 0, 11));
		if (!strstr(s, want))
			print_error("%s: %s\nwant: %s\n", paths[i], s, want);
		assert_non_null(strstr(s, want));
		assert_non_null(strstr(s, "installer/kernel"));
		free(s);
	}
	/* a snapshot's resolver (no_install: its leases and install state are old) renders
	 * no installer: the system boots as if unmarked */
	struct xp_boot_opts so = {.tftp_root = root,
				  .http_base = "http://10.0.0.1:8080/",
				  .server = "10.0.0.1",
				  .no_install = true};
	struct xp_boot *snap = NULL;
	assert_int_equal(xp_boot_new(inv, &so, &snap), 0);
	for (size_t i = 0; i < N(paths); i++) {
		char *t = rendered_for(snap, paths[i], IP(10, 0, 0, 11));
		assert_null(strstr(t, "xenprov."));
		assert_null(strstr(t, "installer/kernel"));
		free(t);
	}
	xp_boot_free(snap);
	/* a lease of its MAC elsewhere is not its address: it has a reservation */
	const uint8_t mac1[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0x01};
	lease(mac1, IP(10, 0, 0, 77));
	char *s = rendered_for(b, paths[0], IP(10, 0, 0, 77));
	assert_null(strstr(s, "xenprov."));
	assert_non_null(strstr(s, "distros/debian12/kernel"));
	free(s);
	struct xp_system sys;
	assert_int_equal(xp_system_get(inv, "web01", &sys), 0);
	assert_int_equal(xp_install_peer_is_system(inv, &sys, IP(10, 0, 0, 77)), 0);
	assert_int_equal(xp_install_peer_is_system(inv, &sys, IP(10, 0, 0, 11)), 1);
	assert_int_equal(xp_install_peer_is_system(inv, &sys, 0), 0);
	xp_system_release(&sys);
	/* without a reservation, the address leased to its MAC is its address */
	assert_int_equal(xp_install_mark(inv, "bare01", true), 0);
	const uint8_t mac3[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x03};
	lease(mac3, IP(10, 0, 0, 78));
	s = rendered_for(b, "pxelinux.cfg/01-52-54-00-00-00-03", IP(10, 0, 0, 78));
	assert_non_null(strstr(s, "xenprov.system=bare01 "));
	free(s);
	/* rendering wrote nothing: the token is still the one read before */
	char again[XP_INSTALL_TOKEN_LEN + 1];
	assert_int_equal(xp_install_token(inv, "web01", again), 0);
	assert_string_equal(again, tok);
	assert_int_equal(xp_install_mark(inv, "web01", false), 0);
	assert_int_equal(xp_install_mark(inv, "bare01", false), 0);
	xp_test_sql(state, "DELETE FROM leases");
	s = rendered_for(b, paths[0], IP(10, 0, 0, 11));
	assert_null(strstr(s, "xenprov."));
	free(s);
	xp_boot_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pxelinux_by_mac),
	    cmocka_unit_test(test_pxelinux_by_ip),
	    cmocka_unit_test(test_netboot_off),
	    cmocka_unit_test(test_installer_cache),
	    cmocka_unit_test(test_unknown_mac),
	    cmocka_unit_test(test_pxelinux_menu),
	    cmocka_unit_test(test_grub),
	    cmocka_unit_test(test_ipxe),
	    cmocka_unit_test(test_distro_files),
	    cmocka_unit_test(test_confinement),
	    cmocka_unit_test(test_new_errors),
	    cmocka_unit_test(test_live_changes),
	    cmocka_unit_test(test_injection),
	    cmocka_unit_test(test_installer),
	};
	/* the state directory's own files and SQLite's locks on them */
	return xp_test_run_backends_group(tests, setup, teardown, NULL);
}
