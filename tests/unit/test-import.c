/*
 * test-import.c - unit tests for `xenprov import`'s library (src/lib/import/,
 * inventory/distro-trees.c, the tree routes of boot/boot.c): every signature of the
 * installed signature file (data/signatures.json) against a small fake tree of the
 * layout it describes, made here (Debian netboot and media with their Xen PV pair,
 * Ubuntu live, netboot and d-i netboot, SUSE with content and with media.1, Red Hat's
 * .treeinfo with and without images-xen); the same Debian media as an ISO 9660 image
 * made by xorriso, read without mounting (files, symlinks, byte places checked against
 * the originals); several architectures, a wrong one, an unknown tree, a file that is
 * no image; the signature file's errors, one a bad document each; .treeinfo's INI
 * reading; symlinks inside and out of a tree; the copy into the boot root made twice
 * (the second changes nothing) and after the tree changed; and the boot server serving
 * an imported image's files as ranges of it, refusing an image changed since.
 *
 * Each test works in its own scratch directory under XP_TEST_TMP.
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

#include "import/import-internal.h"
#include "xenprov/boot.h"
#include "xenprov/import.h"
#include "xenprov/inventory.h"

#define N(a)	   (sizeof(a) / sizeof((a)[0]))
#define SIGNATURES XP_TEST_DATA "/../../data/signatures.json"

XP_TEST_SCRATCH("import")

/* ---- fake trees ------------------------------------------------------------------------ */

/* Writes tree/REL with text (parents made). */
static void put(const char *tree, const char *rel, const char *text)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	assert_int_equal(xp_test_sh("mkdir -p \"$(dirname '%s')\"", path), 0);
	xp_test_write(path, text);
}

/* A file of n pseudo-random bytes (a kernel, an initrd). */
static void put_bytes(const char *tree, const char *rel, size_t n, unsigned seed)
{
	char *b = malloc(n);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (char)((i * 2654435761u + seed * 40503u) >> 13);
	char path[4400];
	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	assert_int_equal(xp_test_sh("mkdir -p \"$(dirname '%s')\"", path), 0);
	xp_test_write_bytes(path, b, n);
	free(b);
}

static void debian_netboot(const char *t)
{
	put(t, "version.info",
	    "Debian version:  12 (bookworm)\nInstaller build: 20230607+deb12u15\n");
	put_bytes(t, "debian-installer/amd64/linux", 5000, 1);
	put_bytes(t, "debian-installer/amd64/initrd.gz", 9000, 2);
	put_bytes(t, "debian-installer/amd64/pxelinux.0", 300, 3);
	assert_int_equal(
	    symlink("debian-installer/amd64/pxelinux.0", xp_test_path(t, "pxelinux.0")), 0);
}

static void debian_media(const char *t, bool i386)
{
	put(t, ".disk/info",
	    "Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST with firmware "
	    "20240210-11:27");
	put(t, "dists/bookworm/Release", "Codename: bookworm\n");
	put_bytes(t, "install.amd/vmlinuz", 70000, 4);
	put_bytes(t, "install.amd/initrd.gz", 130001, 5);
	put_bytes(t, "install.amd/xen/vmlinuz", 70000, 4);
	put_bytes(t, "install.amd/xen/initrd.gz", 120000, 6);
	put(t, "install.amd/xen/xm-debian.cfg", "# xm config\n");
	if (i386) {
		put_bytes(t, "install.386/vmlinuz", 60000, 7);
		put_bytes(t, "install.386/initrd.gz", 60000, 8);
	}
	assert_int_equal(symlink("install.amd/vmlinuz", xp_test_path(t, "vmlinuz")), 0);
}

static void ubuntu_live(const char *t)
{
	put(t, ".disk/info",
	    "Ubuntu-Server 22.04.3 LTS \"Jammy Jellyfish\" - Release amd64 (20230810)");
	put_bytes(t, "casper/vmlinuz", 8000, 9);
	put_bytes(t, "casper/initrd", 8000, 10);
}

static void ubuntu_netboot(const char *t)
{
	put_bytes(t, "amd64/linux", 8000, 11);
	put_bytes(t, "amd64/initrd", 8000, 12);
	put(t, "amd64/pxelinux.cfg/default",
	    "DEFAULT install\nLABEL install\n  KERNEL linux\n  INITRD initrd\n  APPEND "
	    "root=/dev/ram0 "
	    "ramdisk_size=1500000 ip=dhcp "
	    "url=https://releases.ubuntu.com/22.04/ubuntu-22.04.3-live-server-amd64.iso\n");
}

static void ubuntu_di_netboot(const char *t)
{
	put_bytes(t, "ubuntu-installer/amd64/linux", 8000, 13);
	put_bytes(t, "ubuntu-installer/amd64/initrd.gz", 8000, 14);
	put(t, "version.info", "Ubuntu 18.04.6 LTS installer\n");
}

static void suse_content(const char *t)
{
	put(t, "content",
	    "PRODUCT SUSE_SLES\nVERSION 12.5\nLABEL SUSE Linux Enterprise Server 12 SP5\n"
	    "BASEARCHS x86_64\n");
	put_bytes(t, "boot/x86_64/loader/linux", 8000, 15);
	put_bytes(t, "boot/x86_64/loader/initrd", 8000, 16);
}

static void suse_media(const char *t)
{
	put(t, "media.1/media",
	    "openSUSE - openSUSE-Leap-15.5-DVD-x86_64-Build491.1-Media\n"
	    "openSUSE-Leap-15.5-DVD-x86_64-Build491.1\n1\n");
	put_bytes(t, "boot/aarch64/loader/linux", 8000, 17);
	put_bytes(t, "boot/aarch64/loader/initrd", 8000, 18);
}

static const char treeinfo[] = "[header]\n"
			       "type = productmd.treeinfo\n"
			       "version = 1.2\n"
			       "\n"
			       "[release]\n"
			       "name = Rocky Linux\n"
			       "short = Rocky\n"
			       "version = 9.3\n"
			       "\n"
			       "[general]\n"
			       "; older readers' section\n"
			       "family = Rocky Linux\n"
			       "version = 9.3\n"
			       "arch = x86_64\n"
			       "platforms = x86_64,xen\n"
			       "\n"
			       "[images-x86_64]\n"
			       "kernel = images/pxeboot/vmlinuz\n"
			       "initrd = images/pxeboot/initrd.img\n"
			       "boot.iso = images/boot.iso\n"
			       "\n"
			       "[images-xen]\n"
			       "kernel = images/pxeboot/vmlinuz\n"
			       "initrd = images/pxeboot/initrd.img\n";

static void redhat(const char *t, bool xen)
{
	if (xen) {
		put(t, ".treeinfo", treeinfo);
	} else { /* an aarch64 tree: no images-xen */
		put(t, ".treeinfo",
		    "[general]\nfamily = Fedora\nversion = 40\narch = aarch64\n\n"
		    "[images-aarch64]\nkernel = images/pxeboot/vmlinuz\n"
		    "initrd = images/pxeboot/initrd.img\n");
	}
	put_bytes(t, "images/pxeboot/vmlinuz", 8000, 19);
	put_bytes(t, "images/pxeboot/initrd.img", 8000, 20);
	put(t, "BaseOS/repodata/repomd.xml", "<repomd/>\n");
}

/* ---- detection ------------------------------------------------------------------------- */

static struct xp_sigs *sigs_installed(void)
{
	struct xp_sigs *s = NULL;
	struct xp_diags d = {0};
	int r = xp__sigs_load(SIGNATURES, &s, &d);
	if (r < 0)
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.v[i].msg);
	assert_int_equal(r, 0);
	xp_diags_release(&d);
	return s;
}

struct want {
	const char *signature, *family, *arch, *version, *codename, *label, *kernel, *initrd;
	bool xen;
};

/* Detects the tree at path (arch, generic) and compares with w. */
static void expect_found(const char *path, const char *arch, bool generic, const struct want *w)
{
	struct xp_sigs *s = sigs_installed();
	struct xp_tree *t;
	struct xp_diags d = {0};
	assert_int_equal(xp__tree_open(path, &t, &d), 0);
	struct xp_found f;
	int r = xp__sigs_detect(s, t, arch, generic, &f, &d);
	if (r < 0)
		fprintf(stderr, "%s: %s\n", path, d.n ? d.v[0].msg : "?");
	assert_int_equal(r, 0);
	const char *got[] = {f.signature, f.family, f.arch,   f.version,
			     f.codename,  f.label,  f.kernel, f.initrd};
	const char *want[] = {w->signature, w->family, w->arch,	  w->version,
			      w->codename,  w->label,  w->kernel, w->initrd};
	for (size_t i = 0; i < N(got); i++) {
		if (!want[i])
			assert_null(got[i]);
		else
			assert_string_equal(got[i], want[i]);
	}
	assert_int_equal(f.xen, w->xen);
	xp__found_release(&f);
	xp__tree_free(t);
	xp__sigs_free(s);
	xp_diags_release(&d);
}

/* Detection of the tree at path fails with r and a diagnostic of that code holding
 * text. */
static void expect_refused(const char *path, const char *arch, int want_r, const char *code,
			   const char *text)
{
	struct xp_sigs *s = sigs_installed();
	struct xp_tree *t = NULL;
	struct xp_diags d = {0};
	int r = xp__tree_open(path, &t, &d);
	struct xp_found f = {0};
	if (r == 0)
		r = xp__sigs_detect(s, t, arch, false, &f, &d);
	assert_int_equal(r, want_r);
	assert_true(d.n >= 1);
	assert_string_equal(d.v[0].code, code);
	xp_test_assert_contains(d.v[0].msg, text);
	xp__tree_free(t);
	xp__sigs_free(s);
	xp_diags_release(&d);
}

static void test_installed_file(void **st)
{
	(void)st;
	struct xp_sigs *s = sigs_installed();
	const char *names[] = {
	    "debian-netboot",		"debian-iso", "ubuntu-live",	"ubuntu-netboot",
	    "ubuntu-installer-netboot", "suse",	      "redhat-treeinfo"};
	assert_int_equal(xp__sigs_count(s), N(names));
	for (size_t i = 0; i < N(names); i++)
		assert_string_equal(xp__sigs_name(s, i), names[i]);
	assert_null(xp__sigs_name(s, N(names)));
	xp__sigs_free(s);
}

static void test_debian_netboot(void **st)
{
	(void)st;
	debian_netboot(tmpdir);
	struct want w = {"debian-netboot",
			 "debian",
			 "x86_64",
			 "12",
			 "bookworm",
			 "20230607+deb12u15",
			 "debian-installer/amd64/linux",
			 "debian-installer/amd64/initrd.gz",
			 false};
	expect_found(tmpdir, NULL, false, &w);
	expect_found(tmpdir, "x86_64", false, &w);
	expect_refused(tmpdir, "aarch64", -ENOENT, "wrong-arch",
		       "is a debian-netboot tree, but not for aarch64 (it has x86_64)");
}

static void test_debian_media(void **st)
{
	(void)st;
	debian_media(tmpdir, false);
	const char *label = "Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST with "
			    "firmware 20240210-11:27";
	struct want xen = {"debian-iso",
			   "debian",
			   "x86_64",
			   "12.5.0",
			   "Bookworm",
			   label,
			   "install.amd/xen/vmlinuz",
			   "install.amd/xen/initrd.gz",
			   true};
	expect_found(tmpdir, NULL, false, &xen);
	struct want gen = xen;
	gen.kernel = "install.amd/vmlinuz";
	gen.initrd = "install.amd/initrd.gz";
	gen.xen = false;
	expect_found(tmpdir, NULL, true, &gen);
	/* no Xen pair: the generic one, whatever --generic says */
	assert_int_equal(xp_test_sh("rm -r '%s/install.amd/xen'", tmpdir), 0);
	expect_found(tmpdir, NULL, false, &gen);
}

static void test_several_arches(void **st)
{
	(void)st;
	debian_media(tmpdir, true);
	expect_refused(tmpdir, NULL, -EMLINK, "several-arches",
		       "is a debian-iso tree for several architectures: x86_64, i386");
	struct want w = {"debian-iso",
			 "debian",
			 "i386",
			 "12.5.0",
			 "Bookworm",
			 "Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST with "
			 "firmware 20240210-11:27",
			 "install.386/vmlinuz",
			 "install.386/initrd.gz",
			 false};
	expect_found(tmpdir, "i386", false, &w);
}

static void test_ubuntu(void **st)
{
	(void)st;
	char live[4200], net[4200], di[4200];
	snprintf(live, sizeof(live), "%s/live", tmpdir);
	snprintf(net, sizeof(net), "%s/net", tmpdir);
	snprintf(di, sizeof(di), "%s/di", tmpdir);
	ubuntu_live(live);
	ubuntu_netboot(net);
	ubuntu_di_netboot(di);
	struct want wl = {
	    "ubuntu-live",
	    "ubuntu",
	    "x86_64",
	    "22.04.3",
	    "Jammy Jellyfish",
	    "Ubuntu-Server 22.04.3 LTS \"Jammy Jellyfish\" - Release amd64 (20230810)",
	    "casper/vmlinuz",
	    "casper/initrd",
	    false};
	expect_found(live, NULL, false, &wl);
	struct want wn = {"ubuntu-netboot", "ubuntu",	    "x86_64", "22.04.3", NULL, NULL,
			  "amd64/linux",    "amd64/initrd", false};
	expect_found(net, NULL, false, &wn);
	struct want wd = {"ubuntu-installer-netboot",
			  "ubuntu",
			  "x86_64",
			  "18.04.6",
			  NULL,
			  NULL,
			  "ubuntu-installer/amd64/linux",
			  "ubuntu-installer/amd64/initrd.gz",
			  false};
	expect_found(di, NULL, false, &wd);
}

static void test_suse(void **st)
{
	(void)st;
	char sles[4200], leap[4200];
	snprintf(sles, sizeof(sles), "%s/sles", tmpdir);
	snprintf(leap, sizeof(leap), "%s/leap", tmpdir);
	suse_content(sles);
	suse_media(leap);
	struct want ws = {"suse",
			  "suse",
			  "x86_64",
			  "12.5",
			  NULL,
			  "SUSE Linux Enterprise Server 12 SP5",
			  "boot/x86_64/loader/linux",
			  "boot/x86_64/loader/initrd",
			  false};
	expect_found(sles, NULL, false, &ws);
	struct want wl = {"suse",
			  "suse",
			  "aarch64",
			  "15.5",
			  NULL,
			  "openSUSE - openSUSE-Leap-15.5-DVD-x86_64-Build491.1-Media",
			  "boot/aarch64/loader/linux",
			  "boot/aarch64/loader/initrd",
			  false};
	expect_found(leap, NULL, false, &wl);
}

static void test_redhat(void **st)
{
	(void)st;
	char rocky[4200], fedora[4200];
	snprintf(rocky, sizeof(rocky), "%s/rocky", tmpdir);
	snprintf(fedora, sizeof(fedora), "%s/fedora", tmpdir);
	redhat(rocky, true);
	redhat(fedora, false);
	struct want wr = {"redhat-treeinfo",
			  "redhat",
			  "x86_64",
			  "9.3",
			  NULL,
			  "Rocky Linux",
			  "images/pxeboot/vmlinuz",
			  "images/pxeboot/initrd.img",
			  true};
	expect_found(rocky, NULL, false, &wr);
	wr.xen = false;
	expect_found(rocky, NULL, true, &wr);
	struct want wf = {"redhat-treeinfo",
			  "redhat",
			  "aarch64",
			  "40",
			  NULL,
			  "Fedora",
			  "images/pxeboot/vmlinuz",
			  "images/pxeboot/initrd.img",
			  false};
	expect_found(fedora, NULL, false, &wf);
	/* the kernel .treeinfo names is missing: no match */
	assert_int_equal(unlink(xp_test_path(fedora, "images/pxeboot/vmlinuz")), 0);
	expect_refused(fedora, NULL, -ENOENT, "unknown-tree", "no signature matches");
}

static void test_unknown_tree(void **st)
{
	(void)st;
	put(tmpdir, "README", "nothing to boot here\n");
	put(tmpdir, "version.info", "Not Debian\n"); /* debian-netboot's regex fails */
	put_bytes(tmpdir, "debian-installer/amd64/linux", 100, 1);
	expect_refused(tmpdir, NULL, -ENOENT, "unknown-tree",
		       "not a distribution tree xenprov knows");
	struct xp_diags d = {0};
	struct xp_tree *t;
	assert_int_equal(xp__tree_open(tpath("missing"), &t, &d), -ENOENT);
	xp_test_assert_contains(d.v[0].msg, "cannot use '");
	xp_test_assert_contains(d.v[0].msg, "missing': No such file or directory");
	xp_diags_release(&d);
	/* a regular file that is no ISO image */
	put(tmpdir, "notes.txt", "just text, no volume descriptor\n");
	expect_refused(tpath("notes.txt"), NULL, -EMEDIUMTYPE, "not-a-tree",
		       "is neither a directory nor an ISO 9660 image");
	/* neither a directory nor a regular file */
	expect_refused("/dev/null", NULL, -ENOTDIR, "not-a-tree",
		       "'/dev/null' is neither a directory nor an ISO 9660 image");
}

/* ---- an ISO image ---------------------------------------------------------------------- */

/* The Debian media tree as an ISO image made by xorriso (Rock Ridge and Joliet). */
static const char *debian_iso(void)
{
	char src[4200];
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	debian_media(src, false);
	const char *iso = tpath("debian.iso");
	assert_int_equal(xp_test_sh("xorriso -as mkisofs -quiet -r -J -V DEBIAN -o '%s' '%s' "
				    ">/dev/null 2>&1",
				    iso, src),
			 0);
	return iso;
}

static void test_iso(void **st)
{
	(void)st;
	const char *iso = debian_iso();
	struct want w = {"debian-iso",
			 "debian",
			 "x86_64",
			 "12.5.0",
			 "Bookworm",
			 "Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST with "
			 "firmware 20240210-11:27",
			 "install.amd/xen/vmlinuz",
			 "install.amd/xen/initrd.gz",
			 true};
	expect_found(iso, NULL, false, &w);

	struct xp_diags d = {0};
	struct xp_tree *t;
	assert_int_equal(xp__tree_open(iso, &t, &d), 0);
	assert_true(t->iso);
	assert_int_equal(t->skipped, 0);
	/* every file's bytes, where the index says they are, are the original's */
	const char *files[] = {"install.amd/vmlinuz", "install.amd/initrd.gz",
			       "install.amd/xen/initrd.gz", ".disk/info", "dists/bookworm/Release"};
	for (size_t i = 0; i < N(files); i++) {
		size_t olen;
		char *orig = xp_test_read(xp_test_path(tpath("src"), files[i]), &olen);
		int fd;
		uint64_t off, len;
		assert_int_equal(xp__tree_region(t, files[i], &fd, &off, &len), 0);
		assert_int_equal(len, olen);
		assert_int_equal(off % 2048, 0); /* ISO 9660 blocks */
		char *got = malloc(olen + 1);
		assert_int_equal(xp_pread_full(fd, got, olen, off), 0);
		assert_memory_equal(got, orig, olen);
		close(fd);
		free(got);
		free(orig);
	}
	/* a symlink of the image, followed inside it */
	const struct tree_entry *l = xp__tree_lookup(t, "vmlinuz");
	assert_non_null(l);
	assert_int_equal(l->type, TREE_LNK);
	assert_string_equal(l->link, "install.amd/vmlinuz");
	assert_ptr_equal(xp__tree_find(t, "vmlinuz"), xp__tree_lookup(t, "install.amd/vmlinuz"));
	assert_int_equal(xp__tree_lookup(t, "install.amd")->type, TREE_DIR);
	char *text;
	size_t n;
	assert_int_equal(xp__tree_read(t, "dists/bookworm/Release", 100, &text, &n), 0);
	assert_string_equal(text, "Codename: bookworm\n");
	free(text);
	assert_int_equal(xp__tree_read(t, "install.amd/vmlinuz", 100, &text, &n), -EFBIG);
	assert_int_equal(xp__tree_read(t, "install.amd", 100, &text, &n), -ENOENT);
	xp__tree_free(t);
	xp_diags_release(&d);
}

/* ---- symlinks ---------------------------------------------------------------------------- */

static void test_symlinks(void **st)
{
	(void)st;
	put(tmpdir, "a/b/file", "x\n");
	assert_int_equal(symlink("a/b", tpath("dirlink")), 0);
	assert_int_equal(symlink("../b/file", tpath("a/b/up")), 0);
	assert_int_equal(symlink("/etc/passwd", tpath("abs")), 0);
	assert_int_equal(symlink("../../../../etc/passwd", tpath("a/out")), 0);
	assert_int_equal(symlink("loop2", tpath("loop1")), 0);
	assert_int_equal(symlink("loop1", tpath("loop2")), 0);
	assert_int_equal(symlink("a/b/file/x", tpath("through-file")), 0);
	assert_int_equal(symlink(".", tpath("debian")), 0); /* as Debian's media have */
	struct xp_diags d = {0};
	struct xp_tree *t;
	assert_int_equal(xp__tree_open(tmpdir, &t, &d), 0);
	const struct tree_entry *file = xp__tree_lookup(t, "a/b/file");
	assert_non_null(file);
	assert_ptr_equal(xp__tree_find(t, "dirlink/file"), file);
	assert_ptr_equal(xp__tree_find(t, "a/b/up"), file);
	assert_ptr_equal(xp__tree_find(t, "dirlink/up"), file);
	assert_ptr_equal(xp__tree_find(t, "a/./b/../b/file"), file);
	assert_null(xp__tree_find(t, "abs"));
	assert_null(xp__tree_find(t, "a/out"));
	assert_null(xp__tree_find(t, "loop1"));
	assert_null(xp__tree_find(t, "through-file"));
	assert_null(xp__tree_find(t, "../a/b/file"));
	assert_null(xp__tree_find(t, ""));
	assert_ptr_equal(xp__tree_find(t, "debian/debian/a/b/file"), file);
	assert_null(xp__tree_find(t, "debian"));   /* the top is no entry... */
	assert_true(xp__tree_inside(t, "debian")); /* ...but inside */
	assert_true(xp__tree_inside(t, "dirlink"));
	assert_false(xp__tree_inside(t, "abs"));
	assert_false(xp__tree_inside(t, "a/out"));
	assert_false(xp__tree_inside(t, "loop1"));
	/* a symlink that leaves the tree is never read, whatever it names */
	char *text;
	size_t n;
	assert_int_equal(xp__tree_read(t, "abs", 1 << 20, &text, &n), -ENOENT);
	xp__tree_free(t);
	xp_diags_release(&d);
}

/* ---- INI --------------------------------------------------------------------------------- */

static void test_ini(void **st)
{
	(void)st;
	const char *text = "[general]\n"
			   "# a comment = not a key\n"
			   "Family = Old\n"
			   "family=  Rocky Linux  \n"
			   "arch: x86_64\n"
			   "[images-x86_64]\r\n"
			   "kernel = images/pxeboot/vmlinuz\r\n"
			   "  ; comment\n"
			   "[images-x86_64-extra]\n"
			   "kernel = wrong\n"
			   "novalue\n";
	const struct {
		const char *section, *key, *want;
	} cases[] = {
	    {"general", "family", "Rocky Linux"}, /* the last wins, case of the key ignored */
	    {"general", "arch", "x86_64"},	  /* ':' as configparser reads it */
	    {"images-x86_64", "kernel", "images/pxeboot/vmlinuz"}, /* CR LF */
	    {"images-x86_64-extra", "kernel", "wrong"},
	    {"images-x86", "kernel", NULL}, /* sections compared whole */
	    {"general", "a comment", NULL},
	    {"images-x86_64-extra", "novalue", NULL},
	    {"missing", "kernel", NULL},
	};
	for (size_t i = 0; i < N(cases); i++) {
		char *v = xp__ini_get(text, cases[i].section, cases[i].key);
		if (!cases[i].want) {
			assert_null(v);
		} else {
			assert_non_null(v);
			assert_string_equal(v, cases[i].want);
		}
		free(v);
	}
}

/* ---- the signature file's errors --------------------------------------------------------- */

#define HEAD "{\"xenprov-signatures\": 1, \"signatures\": ["
#define SIG(extra)                                                                                 \
	"{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"x86_64\": \"amd64\"},"                \
	" \"require\": [\"linux\"], \"boot\": [{\"kernel\": \"linux\"}]" extra "}"

static void test_schema(void **st)
{
	(void)st;
	const struct {
		const char *doc, *want, *hint;
	} cases[] = {
	    {"{", "not JSON", NULL},
	    {"[]", "the document: expected an object", NULL},
	    {"{\"signatures\": []}", "is missing: not a signature file", NULL},
	    {"{\"xenprov-signatures\": 2, \"signatures\": []}",
	     "is not a version this xenprov reads", NULL},
	    {"{\"xenprov-signatures\": 1}", "'signatures' must be an array", NULL},
	    {HEAD SIG(", \"requires\": []") "]}", "signatures[0] (x): unknown member 'requires'",
	     "did you mean 'require'?"},
	    {HEAD "{\"family\": \"f\"}]}", "signatures[0]: 'name' is required", NULL},
	    {HEAD SIG("") "," SIG("") "]}", "signatures[1]: the name 'x' is taken by signatures[0]",
	     NULL},
	    {HEAD "{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"sparc\": \"s\"},"
		  " \"require\": [\"a\"], \"boot\": [{\"kernel\": \"a\"}]}]}",
	     "'arches': unknown architecture 'sparc'", NULL},
	    {HEAD "{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"x86_64\": \"amd64\"},"
		  " \"require\": [], \"boot\": [{\"kernel\": \"a\"}]}]}",
	     "'require' must be a non-empty array", NULL},
	    {HEAD "{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"x86_64\": \"amd64\"},"
		  " \"require\": [\"../etc/passwd\"], \"boot\": [{\"kernel\": \"a\"}]}]}",
	     "require[0]: '../etc/passwd' is not a path template", NULL},
	    {HEAD "{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"x86_64\": \"amd64\"},"
		  " \"require\": [\"{arc}/linux\"], \"boot\": [{\"kernel\": \"a\"}]}]}",
	     "'{arc}/linux' is not a path template", NULL},
	    {HEAD "{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"x86_64\": \"amd64\"},"
		  " \"require\": [{\"file\": \"a\", \"regex\": \"(\"}], \"boot\": [{\"kernel\": "
		  "\"a\"}]}]}",
	     "require[0]: bad regular expression '('", NULL},
	    {HEAD "{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"x86_64\": \"amd64\"},"
		  " \"require\": [\"a\"], \"boot\": [{\"initrd\": \"a\"}]}]}",
	     "boot[0]: 'kernel' is required", NULL},
	    {HEAD "{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"x86_64\": \"amd64\"},"
		  " \"require\": [\"a\"], \"boot\": [{\"kernel\": {\"file\": \"a\", \"regex\": "
		  "\"b\"}}]}]}",
	     "boot[0].kernel: expected a path or {\"ini\", \"section\", \"key\"}", NULL},
	    {HEAD SIG(", \"version\": [\"version.info\"]") "]}",
	     "version[0]: expected {\"file\", \"regex\"} or {\"ini\", \"section\", \"key\"}", NULL},
	    {HEAD SIG(", \"kernel_options\": 3") "]}", "'kernel_options' must be a string", NULL},
	    {HEAD "{\"name\": \"x\", \"family\": \"f\", \"arches\": {\"x86_64\": \"amd64\"},"
		  " \"require\": [\"a\"], \"boot\": [{\"kernel\": \"a\", \"xen\": \"yes\"}]}]}",
	     "boot[0]: 'xen' must be true or false", NULL},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct xp_sigs *s = (struct xp_sigs *)1;
		struct xp_diags d = {0};
		int r = xp__sigs_parse("sigs.json", cases[i].doc, strlen(cases[i].doc), &s, &d);
		if (r != -EBADMSG || d.n == 0)
			fprintf(stderr, "case %zu: %d\n", i, r);
		assert_int_equal(r, -EBADMSG);
		assert_null(s);
		assert_true(d.n >= 1);
		assert_string_equal(d.v[0].file, "sigs.json");
		xp_test_assert_contains(d.v[0].msg, cases[i].want);
		if (cases[i].hint) {
			assert_non_null(d.v[0].hint);
			assert_string_equal(d.v[0].hint, cases[i].hint);
		}
		xp_diags_release(&d);
	}
	/* a good one, and a file that is not there */
	struct xp_sigs *s;
	struct xp_diags d = {0};
	const char *good = HEAD SIG("") "]}";
	assert_int_equal(xp__sigs_parse("sigs.json", good, strlen(good), &s, &d), 0);
	assert_int_equal(xp__sigs_count(s), 1);
	xp__sigs_free(s);
	assert_int_equal(xp__sigs_load(tpath("none.json"), &s, &d), -ENOENT);
	xp_test_assert_contains(d.v[0].msg, "cannot read the signature file '");
	assert_string_equal(d.v[0].hint, "give --signatures FILE, or set XENPROV_DATA_DIR");
	xp_diags_release(&d);
}

/* A signature added to the file is used at once: no rebuild. */
static void test_own_signature(void **st)
{
	(void)st;
	put(tmpdir, "tree/MYOS", "MyOS 7.1\n");
	put_bytes(tmpdir, "tree/boot/x64/kernel", 100, 1);
	const char *doc =
	    HEAD "{\"name\": \"myos\", \"family\": \"myos\", \"arches\": {\"x86_64\": \"x64\"},"
		 " \"require\": [{\"file\": \"MYOS\", \"regex\": \"^MyOS\"}],"
		 " \"boot\": [{\"kernel\": \"boot/{arch}/kernel\", \"initrd\": null}],"
		 " \"version\": [{\"file\": \"MYOS\", \"regex\": \"[0-9.]+\"}]}]}";
	struct xp_sigs *s;
	struct xp_diags d = {0};
	assert_int_equal(xp__sigs_parse("mine.json", doc, strlen(doc), &s, &d), 0);
	struct xp_tree *t;
	assert_int_equal(xp__tree_open(tpath("tree"), &t, &d), 0);
	struct xp_found f;
	assert_int_equal(xp__sigs_detect(s, t, NULL, false, &f, &d), 0);
	assert_string_equal(f.signature, "myos");
	assert_string_equal(f.version, "7.1"); /* the whole match: no group */
	assert_string_equal(f.kernel, "boot/x64/kernel");
	assert_null(f.initrd);
	xp__found_release(&f);
	xp__tree_free(t);
	xp__sigs_free(s);
	xp_diags_release(&d);
}

/* ---- the copy into the boot root ------------------------------------------------------------ */

/* "PATH INODE MTIME SIZE" of every entry below dir, sorted. */
static char *listing(const char *dir)
{
	return xp_test_out("cd '%s' && find . -mindepth 1 -printf '%%p %%i %%T@ %%s %%l\\n' | sort",
			   dir);
}

static void test_tree_sync(void **st)
{
	(void)st;
	char src[4200];
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	debian_netboot(src);
	assert_int_equal(symlink("/etc/passwd", xp_test_path(src, "out")), 0);
	put(src, "private", "secret\n");
	assert_int_equal(chmod(xp_test_path(src, "private"), 0600), 0);
	assert_int_equal(mkdir(tpath("root"), 0755), 0);
	int rfd = open(tpath("root"), O_RDONLY | O_DIRECTORY);
	assert_true(rfd >= 0);
	struct xp_tree *t;
	struct xp_diags d = {0};
	assert_int_equal(xp__tree_open(src, &t, &d), 0);
	struct xp_tree_sync s;
	bool made;
	assert_int_equal(xp__tree_sync(t, rfd, "deb", &made, &s, &d), 0);
	assert_true(made);
	/* 4 files: 3 linked, the private one copied (a link would keep its 0600) */
	assert_int_equal(s.linked, 4);
	assert_int_equal(s.copied, 1);
	assert_int_equal(s.symlinks, 1);
	assert_int_equal(s.left_out, 1); /* out -> /etc/passwd */
	struct stat a, b;
	assert_int_equal(stat(xp_test_path(src, "version.info"), &a), 0);
	assert_int_equal(stat(tpath("root/deb/version.info"), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(stat(tpath("root/deb/private"), &b), 0);
	assert_int_equal(b.st_mode & 07777, 0644);
	assert_int_equal(lstat(tpath("root/deb/out"), &b), -1);
	char *target = xp_test_out("readlink '%s'", tpath("root/deb/pxelinux.0"));
	assert_string_equal(target, "debian-installer/amd64/pxelinux.0\n");
	free(target);
	assert_int_equal(xp_test_sh("cmp -s '%s/private' '%s'", src, tpath("root/deb/private")), 0);

	/* the second time: nothing */
	char *before = listing(tpath("root/deb"));
	assert_int_equal(xp__tree_sync(t, rfd, "deb", &made, &s, &d), 0);
	assert_false(made);
	assert_int_equal(s.linked + s.copied + s.removed + s.symlinks, 0);
	assert_int_equal(s.kept, 6);
	char *after = listing(tpath("root/deb"));
	assert_string_equal(before, after);
	free(before);
	free(after);
	xp__tree_free(t);

	/* the tree changes: a file gone, one new, one rewritten; stale files go */
	assert_int_equal(unlink(xp_test_path(src, "private")), 0);
	put(src, "new", "new\n");
	/* a new version of a file is a new file (as tar and dpkg make it): a rewrite in
	 * place would change the hard link too, the price of linking */
	put(src, "version.new", "Debian version:  12 (bookworm)\nInstaller build: later\n");
	assert_int_equal(
	    rename(xp_test_path(src, "version.new"), xp_test_path(src, "version.info")), 0);
	put(tmpdir, "root/deb/debian-installer/stale", "left by someone\n");
	assert_int_equal(xp__tree_open(src, &t, &d), 0);
	assert_int_equal(xp__tree_sync(t, rfd, "deb", &made, &s, &d), 0);
	assert_int_equal(s.linked, 2);
	assert_int_equal(s.removed, 2);
	assert_int_equal(access(tpath("root/deb/private"), F_OK), -1);
	assert_int_equal(access(tpath("root/deb/debian-installer/stale"), F_OK), -1);
	assert_int_equal(
	    xp_test_sh("cmp -s '%s/version.info' '%s'", src, tpath("root/deb/version.info")), 0);
	xp__tree_free(t);
	assert_int_equal(xp__tree_remove(rfd, "deb"), 0);
	assert_int_equal(access(tpath("root/deb"), F_OK), -1);
	close(rfd);
	xp_diags_release(&d);
}

static void test_tree_sync_iso(void **st)
{
	(void)st;
	const char *iso = debian_iso();
	assert_int_equal(mkdir(tpath("root"), 0755), 0);
	int rfd = open(tpath("root"), O_RDONLY | O_DIRECTORY);
	struct xp_tree *t;
	struct xp_diags d = {0};
	assert_int_equal(xp__tree_open(iso, &t, &d), 0);
	struct xp_tree_sync s;
	bool made;
	assert_int_equal(xp__tree_sync(t, rfd, "deb", &made, &s, &d), 0);
	assert_int_equal(s.linked, 0);
	assert_int_equal(s.copied, 7);
	assert_int_equal(xp_test_sh("diff -r '%s' '%s'", tpath("src"), tpath("root/deb")), 0);
	assert_int_equal(xp__tree_sync(t, rfd, "deb", &made, &s, &d), 0);
	assert_int_equal(s.copied, 0);
	assert_int_equal(s.kept, 8);
	xp__tree_free(t);
	close(rfd);
	xp_diags_release(&d);
}

/* ---- importing an image and serving it ---------------------------------------------------------
 */

static void test_import_iso_served(void **st)
{
	(void)st;
	const char *iso = debian_iso();
	char state[4200], root[4200];
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(root, sizeof(root), "%s/tftp", tmpdir);
	assert_int_equal(mkdir(root, 0755), 0);
	struct xp_inv *inv = xp_test_inv_open(state);
	struct xp_diags d = {0};
	assert_int_equal(xp_server_setting_set(inv, "server", "10.0.0.1", &d), 0);
	assert_int_equal(xp_server_setting_set(inv, "http-port", "8080", &d), 0);
	struct xp_import_opts o = {.path = iso, .name = "deb", .signatures = SIGNATURES};
	struct xp_import_report rep;
	assert_int_equal(xp_import(inv, &o, &rep, &d), 0);
	assert_string_equal(rep.distro, "deb-x86_64");
	assert_int_equal(rep.tree, XP_IMPORT_TREE_ISO);
	assert_string_equal(rep.tree_url, "http://10.0.0.1:8080/distros/deb-x86_64/tree/");
	assert_int_equal(rep.distro_change, XP_IMPORT_ADDED);
	assert_true(rep.profile_added);
	xp_import_report_release(&rep);
	struct xp_profile p;
	assert_int_equal(xp_profile_get(inv, "deb-x86_64", &p), 0);
	assert_string_equal(xp_settings_get(&p.set, "distro"), "deb-x86_64");
	xp_profile_release(&p);

	struct xp_boot_opts bo = {.tftp_root = root};
	struct xp_boot *b;
	assert_int_equal(xp_boot_new(inv, &bo, &b), 0);
	const char *names[] = {"install.amd/initrd.gz", "vmlinuz", ".disk/info"};
	const char *srcs[] = {"install.amd/initrd.gz", "install.amd/vmlinuz", ".disk/info"};
	for (size_t i = 0; i < N(names); i++) {
		char path[300];
		snprintf(path, sizeof(path), "/distros/deb-x86_64/tree/%s", names[i]);
		struct xp_bootfile f;
		assert_int_equal(xp_boot_open(b, path, &f), 0);
		size_t olen;
		char *orig = xp_test_read(xp_test_path(tpath("src"), srcs[i]), &olen);
		assert_int_equal(f.size, olen);
		assert_true(f.offset > 0);
		char *got = malloc(olen);
		assert_int_equal(xp_pread_full(f.fd, got, olen, f.offset), 0);
		assert_memory_equal(got, orig, olen);
		free(got);
		free(orig);
		xp_bootfile_release(&f);
	}
	struct xp_bootfile f;
	assert_int_equal(xp_boot_open(b, "distros/deb-x86_64/image.iso", &f), 0);
	struct stat sb;
	assert_int_equal(stat(iso, &sb), 0);
	assert_int_equal(f.offset, 0);
	assert_int_equal(f.size, (uint64_t)sb.st_size);
	xp_bootfile_release(&f);
	assert_int_equal(xp_boot_open(b, "distros/deb-x86_64/tree/install.amd", &f), -ENOENT);
	assert_int_equal(xp_boot_open(b, "distros/deb-x86_64/tree/nothing", &f), -ENOENT);
	assert_int_equal(xp_boot_open(b, "distros/deb-x86_64/tree/../kernel", &f), -EACCES);
	assert_int_equal(xp_boot_open(b, "distros/nosuch/tree/vmlinuz", &f), -ENOENT);
	/* the distro's kernel is the store's copy of the Xen PV pair's */
	assert_int_equal(xp_boot_open(b, "distros/deb-x86_64/kernel", &f), 0);
	assert_int_equal(f.offset, 0);
	assert_int_equal(f.size, 70000);
	xp_bootfile_release(&f);

	/* the image changed since it was read: nothing of it is served */
	assert_int_equal(xp_test_sh("touch -d '2001-01-01' '%s'", iso), 0);
	assert_int_equal(xp_boot_open(b, "distros/deb-x86_64/tree/vmlinuz", &f), -ENOENT);
	assert_int_equal(xp_boot_open(b, "distros/deb-x86_64/image.iso", &f), -ENOENT);
	xp_boot_free(b);
	xp_inv_close(inv);
	xp_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_installed_file),
	    xp_test_in_scratch(test_debian_netboot),
	    xp_test_in_scratch(test_debian_media),
	    xp_test_in_scratch(test_several_arches),
	    xp_test_in_scratch(test_ubuntu),
	    xp_test_in_scratch(test_suse),
	    xp_test_in_scratch(test_redhat),
	    xp_test_in_scratch(test_unknown_tree),
	    xp_test_in_scratch(test_iso),
	    xp_test_in_scratch(test_symlinks),
	    xp_test_in_scratch(test_ini),
	    xp_test_in_scratch(test_schema),
	    xp_test_in_scratch(test_own_signature),
	    xp_test_in_scratch(test_tree_sync),
	    xp_test_in_scratch(test_tree_sync_iso),
	    xp_test_in_scratch(test_import_iso_served),
	};
	return xp_test_need("xorriso") ? 77 : xp_test_run_backends(tests, NULL);
}
