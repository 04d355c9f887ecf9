/*
 * boot-qemu.c - the rendered boot files booted for real: a QEMU machine (TCG, or
 * KVM where scripts/qemu-accel finds one that works) network-boots with the real
 * syslinux pxelinux.0 + ldlinux.c32 (Debian's pxelinux and syslinux-common packages),
 * or with QEMU's own iPXE ROM, from QEMU's built-in TFTP server, which serves a
 * directory filled from the resolver (xp_boot_open: the plain files, the config
 * rendered for the machine's MAC, the distro's kernel). The check is the kernel's own
 * "Command line:" on the serial console: the loader read the config, fetched the
 * kernel it names and passed the command line we rendered.
 *
 * The kernel is the build host's /boot/vmlinuz-* with no initrd; it panics at once for
 * want of a root filesystem (panic=-1 and -no-reboot end QEMU). Skipped when QEMU, a
 * readable kernel or the syslinux files are missing. A bound (timeout(1), 180 s a boot;
 * a boot takes seconds) only stops a hung machine; nothing asserts on time. An
 * integration test (CTest's integration/boot-qemu, with the QEMU tests' accelerator
 * fixture and bound), not a unit test: it boots QEMU, which takes minutes on a loaded
 * machine under TCG.
 */
#include <errno.h>
#include <glob.h>
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

#include "xenprov/boot.h"

#define PXELINUX "/usr/lib/PXELINUX/pxelinux.0"
#define LDLINUX	 "/usr/lib/syslinux/modules/bios/ldlinux.c32"
#define MAC	 "52:54:00:12:34:56"

static xp_test_pathbuf state, root, served;
static char kernel[4096], accel[16];
static struct xp_inv *inv;
static bool have_all;

/* The accelerator scripts/qemu-accel answers (kvm or tcg) into accel; -1 on failure. */
static int find_accel(void)
{
	char *line;
	int rc = xp_test_run(&line, "'%s' -v", XP_QEMU_ACCEL_HELPER);
	line[strcspn(line, "\n")] = '\0';
	bool ok = rc == 0 && (strcmp(line, "kvm") == 0 || strcmp(line, "tcg") == 0);
	if (ok)
		snprintf(accel, sizeof(accel), "%s", line);
	free(line);
	return ok ? 0 : -1;
}

XP_TEST_SCRATCH_WITH("boot-qemu", boot_setup, close_inv)

/* What the boots need, found (have_all); the root to serve from, and an inventory with
 * one distro and one system to boot it. */
static int boot_setup(void)
{
	glob_t g;
	have_all = access(PXELINUX, R_OK) == 0 && access(LDLINUX, R_OK) == 0 &&
		   xp_test_have("qemu-system-x86_64") && xp_test_have("timeout") &&
		   glob("/boot/vmlinuz-*", 0, NULL, &g) == 0 && access(g.gl_pathv[0], R_OK) == 0;
	if (have_all)
		snprintf(kernel, sizeof(kernel), "%s", g.gl_pathv[0]);
	globfree(&g);
	xp_test_paths(tmpdir, state, "state", root, "root", served, "served", NULL);
	if (mkdir(root, 0755) < 0 || mkdir(served, 0755) < 0)
		return -1;
	if (!have_all)
		return 0;
	if (find_accel() < 0) {
		print_error("%s failed\n", XP_QEMU_ACCEL_HELPER);
		return -1;
	}
	if (xp_test_sh("cp %s %s '%s/'", PXELINUX, LDLINUX, root) != 0 ||
	    xp_inv_open(state, &inv) < 0)
		return -1;
	struct xp_distro d = {.name = "d", .kernel = kernel};
	struct xp_system s = {.name = "sys1",
			      .mac = MAC,
			      .distro = "d",
			      .netboot = true,
			      .kernel_options = "console=ttyS0 panic=-1 no_timer_check"};
	if (xp_distro_add(inv, &d, 0, NULL) < 0 || xp_system_add(inv, &s, NULL) < 0)
		return -1;
	return 0;
}

static int close_inv(void)
{
	xp_inv_close(inv);
	return 0;
}

/* Writes what the resolver returns for path to served/path. */
static void serve(struct xp_boot *b, const char *path)
{
	struct xp_bootfile f;
	int r = xp_boot_open(b, path, &f);
	if (r < 0)
		print_error("%s: %d\n", path, r);
	assert_int_equal(r, 0);
	const char *out = xp_test_path(served, path);
	assert_int_equal(xp_test_sh("mkdir -p \"$(dirname '%s')\"", out), 0);
	FILE *o = fopen(out, "w");
	assert_non_null(o);
	if (f.fd < 0) {
		assert_int_equal(fwrite(f.data.s, 1, f.data.len, o), f.data.len);
	} else {
		char buf[65536];
		ssize_t n;
		uint64_t total = 0;
		while ((n = read(f.fd, buf, sizeof(buf))) > 0) {
			assert_int_equal(fwrite(buf, 1, (size_t)n, o), (size_t)n);
			total += (uint64_t)n;
		}
		assert_int_equal(total, f.size);
	}
	fclose(o);
	xp_bootfile_release(&f);
}

/* Boots QEMU from served/ with bootfile; returns the serial log (heap). */
static char *boot(const char *bootfile)
{
	char log[4300];
	snprintf(log, sizeof(log), "%s/serial-%d.log", tmpdir, getpid());
	unlink(log);
	assert_int_equal(
	    xp_test_sh("timeout 180 qemu-system-x86_64 -accel %s -m 512 -display none -no-reboot "
		       "-serial file:'%s' -netdev user,id=n0,tftp='%s',bootfile=%s "
		       "-device virtio-net-pci,netdev=n0,mac=%s -boot n >'%s/qemu.out' 2>&1",
		       accel, log, served, bootfile, MAC, tmpdir),
	    0);
	char *text = NULL;
	size_t len;
	assert_int_equal(xp_read_file(log, 1 << 24, &text, &len), 0);
	return text;
}

/* Fills served/ with paths through the resolver, boots bootfile, and looks for the
 * kernel's command line (the serial console ends its lines with CR LF). */
static void boots(const char *const *paths, size_t n, const char *bootfile, const char *want)
{
	if (!have_all)
		skip();
	/* QEMU's user network: the host (and its TFTP server) is 10.0.2.2 */
	struct xp_boot_opts o = {.tftp_root = root, .server = "10.0.2.2"};
	struct xp_boot *b;
	assert_int_equal(xp_boot_new(inv, &o, &b), 0);
	for (size_t i = 0; i < n; i++)
		serve(b, paths[i]);
	xp_boot_free(b);
	char *log = boot(bootfile);
	if (!strstr(log, want))
		print_error("serial log:\n%.4000s\n", log);
	assert_non_null(strstr(log, want));
	free(log);
}

static void test_pxelinux_boots(void **st)
{
	(void)st;
	const char *const paths[] = {"pxelinux.0", "ldlinux.c32",
				     "pxelinux.cfg/01-52-54-00-12-34-56", "distros/d/kernel"};
	boots(paths, 4, "pxelinux.0",
	      "Command line: BOOT_IMAGE=distros/d/kernel console=ttyS0 panic=-1 no_timer_check "
	      "hostname=sys1\r\n");
}

static void test_ipxe_boots(void **st)
{
	(void)st;
	const char *const paths[] = {"ipxe/01-52-54-00-12-34-56", "distros/d/kernel"};
	boots(paths, 2, "ipxe/01-52-54-00-12-34-56",
	      "Command line: console=ttyS0 panic=-1 no_timer_check hostname=sys1\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pxelinux_boots),
	    cmocka_unit_test(test_ipxe_boots),
	};
	int r = cmocka_run_group_tests(tests, setup, teardown);
	if (r == 0 && !have_all) {
		/* the cases skipped: say so to CTest (SKIP_RETURN_CODE), never "passed" */
		puts("SKIP: QEMU, a kernel in /boot or syslinux's pxelinux is missing");
		return 77;
	}
	return r;
}
