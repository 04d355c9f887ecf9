/*
 * test-localboot.c - what a guest's disk boots (localboot.h), read from disks held in
 * memory (the readers of src/lib/boot/ are functions of a config's text and the disk's
 * files): Debian 12's own update-grub output (tests/data/localboot/debian12-grub.cfg,
 * made by grub-mkconfig in a real bookworm root), the grub.cfg xenprov writes for its
 * guests, Fedora's grub.cfg with blscfg and BLS entries, RHEL 8's $kernelopts from
 * grubenv, GRUB legacy's menu.lst, extlinux.conf; GRUB's default rules where pygrub
 * strays (a title, saved_entry/next_entry, submenu indices); the script's syntax and
 * evaluation; every error. The same readers on real images: tests/integration/
 * localboot.sh.
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

#include "boot/localboot-internal.h"
#include "image/guest-text.h"
#include "xenprov/image.h"

#define DEB_UUID "3790621e-9f89-4248-85d4-bcd41c912ca9"

static char *fixture(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/localboot/%s", XP_TEST_DATA, name);
	char *data = NULL;
	size_t l = 0;
	assert_int_equal(xp_read_file(path, 1u << 20, &data, &l), 0);
	if (len)
		*len = l;
	return data;
}

/* A disk in memory: up to 4 volumes, files added one by one. */
struct mdisk {
	struct xp__lb_vol vols[4];
	struct xp__lb_file files[32];
	char *owned[32];
	struct xp__lb_disk disk;
};

static void md_init(struct mdisk *m, enum xp_label label, size_t nvols, const char *uuids[])
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < nvols; i++) {
		m->vols[i].partition = label == XP_LABEL_NONE ? 0 : (unsigned)i + 1;
		snprintf(m->vols[i].uuid, sizeof(m->vols[i].uuid), "%s", uuids[i]);
	}
	m->disk.label = label;
	m->disk.vols = m->vols;
	m->disk.n = nvols;
	m->disk.files = m->files;
}

static void md_add(struct mdisk *m, size_t vol, const char *path, const char *data, size_t len)
{
	size_t i = m->disk.nfiles++;
	assert_true(i < 32);
	m->files[i] = (struct xp__lb_file){.vol = vol, .path = path, .data = data, .len = len};
}

static void md_adds(struct mdisk *m, size_t vol, const char *path, const char *text)
{
	md_add(m, vol, path, text, strlen(text));
}

static void md_fixture(struct mdisk *m, size_t vol, const char *path, const char *name)
{
	size_t len;
	char *d = fixture(name, &len);
	m->owned[m->disk.nfiles] = d;
	md_add(m, vol, path, d, len);
}

static void md_free(struct mdisk *m)
{
	for (size_t i = 0; i < 32; i++)
		free(m->owned[i]);
}

/* Reads m with entry; the result code. */
static int md_read(struct mdisk *m, const char *entry, struct xp_localboot *lb,
		   struct xp_diags *d)
{
	memset(lb, 0, sizeof(*lb));
	return xp__lb_read_disk(&m->disk, "disk.img", entry, lb, d);
}

static const struct xp_localboot_entry *chosen(const struct xp_localboot *lb)
{
	assert_true(lb->chosen < lb->n);
	return &lb->v[lb->chosen];
}

static bool has_warning(const struct xp_diags *d, const char *code)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == XP_SEV_WARNING && strcmp(d->v[i].code, code) == 0)
			return true;
	return false;
}

static bool has_error(const struct xp_diags *d, const char *code)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == XP_SEV_ERROR && strcmp(d->v[i].code, code) == 0)
			return true;
	return false;
}

/* ---- Debian 12's own update-grub output ------------------------------------------ */

static void test_debian12(void **state)
{
	(void)state;
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_fixture(&m, 0, "/boot/grub/grub.cfg", "debian12-grub.cfg");
	md_fixture(&m, 0, "/boot/grub/grubenv", "debian12-grubenv");
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(md_read(&m, NULL, &lb, &d), 0);
	assert_int_equal(xp_diags_count(&d, XP_SEV_WARNING), 0);
	assert_int_equal(lb.kind, XP_LOCALBOOT_GRUB2);
	assert_string_equal(xp_localboot_kind_name(lb.kind), "grub2");
	assert_string_equal(lb.config, "/boot/grub/grub.cfg");
	assert_int_equal(lb.partition, 1);
	assert_int_equal(lb.n, 3);
	assert_int_equal(lb.chosen, 0);
	assert_string_equal(lb.v[0].title, "Debian GNU/Linux");
	assert_string_equal(lb.v[0].id, "gnulinux-simple-" DEB_UUID);
	assert_string_equal(lb.v[0].kernel, "/boot/vmlinuz-6.1.0-57-amd64");
	assert_string_equal(lb.v[0].initrd, "/boot/initrd.img-6.1.0-57-amd64");
	/* GRUB joins the arguments with one space: update-grub's "ro  quiet" is
	 * "ro quiet" (pygrub keeps the two spaces) */
	assert_string_equal(lb.v[0].args, "root=UUID=" DEB_UUID " ro quiet");
	assert_int_equal(lb.v[0].partition, 1);
	assert_string_equal(lb.v[1].title, "Advanced options for Debian GNU/Linux>Debian "
					   "GNU/Linux, with Linux 6.1.0-57-amd64");
	assert_string_equal(lb.v[2].args, "root=UUID=" DEB_UUID " ro single");
	xp_localboot_release(&lb);

	/* entries asked for: index, title, SUBMENU>TITLE, ids (grub-reboot's form),
	 * GRUB's index path */
	const char *asks[][2] = {
	    {"2", "2"},
	    {"Debian GNU/Linux", "0"},
	    {"Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux "
	     "6.1.0-57-amd64 (recovery mode)",
	     "2"},
	    {"gnulinux-advanced-" DEB_UUID ">gnulinux-6.1.0-57-amd64-recovery-" DEB_UUID, "2"},
	    {"gnulinux-simple-" DEB_UUID, "0"},
	    {"1>1", "2"},
	    {"1>0", "1"},
	};
	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		assert_int_equal(md_read(&m, asks[i][0], &lb, &d), 0);
		assert_int_equal(lb.chosen, strtoul(asks[i][1], NULL, 10));
		xp_localboot_release(&lb);
	}
	/* no such entry */
	assert_int_equal(md_read(&m, "7", &lb, &d), -ENOENT);
	xp_localboot_release(&lb);
	assert_int_equal(md_read(&m, "Windows", &lb, &d), -ENOENT);
	assert_true(has_error(&d, "no-entry"));
	xp_localboot_release(&lb);
	xp_diags_release(&d);
	md_free(&m);
}

/* grub-reboot writes next_entry into grubenv; the header of Debian's grub.cfg makes it
 * the default: GRUB boots the titled entry, pygrub 4.17 boots entry 0 */
static void test_debian12_next_entry(void **state)
{
	(void)state;
	static const char env[] =
	    "# GRUB Environment Block\nnext_entry=Advanced options for Debian GNU/Linux>Debian "
	    "GNU/Linux, with Linux 6.1.0-57-amd64 (recovery mode)\n###########";
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_fixture(&m, 0, "/boot/grub/grub.cfg", "debian12-grub.cfg");
	md_adds(&m, 0, "/boot/grub/grubenv", env);
	struct xp_localboot lb;
	assert_int_equal(md_read(&m, NULL, &lb, NULL), 0);
	assert_int_equal(lb.chosen, 2);
	assert_string_equal(chosen(&lb)->args, "root=UUID=" DEB_UUID " ro single");
	xp_localboot_release(&lb);
	md_free(&m);
}

/* The filesystem found by `search --fs-uuid` is where the paths are: a search that
 * finds nothing leaves $root the config's own (with a warning) */
static void test_debian12_search(void **state)
{
	(void)state;
	struct mdisk m;
	const char *u[] = {"0b1e5c2d-aaaa-bbbb-cccc-000000000001", DEB_UUID};
	md_init(&m, XP_LABEL_GPT, 2, u);
	md_fixture(&m, 0, "/boot/grub/grub.cfg", "debian12-grub.cfg");
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(md_read(&m, NULL, &lb, &d), 0);
	assert_int_equal(lb.partition, 1);
	assert_int_equal(chosen(&lb)->partition, 2); /* the UUID is partition 2's */
	xp_localboot_release(&lb);

	snprintf(m.vols[1].uuid, sizeof(m.vols[1].uuid), "%s", "ffffffff-0000-0000-0000-000000000000");
	assert_int_equal(md_read(&m, NULL, &lb, &d), 0);
	assert_int_equal(chosen(&lb)->partition, 1);
	assert_true(has_warning(&d, "grub-search"));
	xp_localboot_release(&lb);
	xp_diags_release(&d);
	md_free(&m);
}

/* ---- the grub.cfg xenprov writes for its guests ----------------------------------- */

static void test_xenprov_grub_cfg(void **state)
{
	(void)state;
	struct xp_boot_kernel kv[] = {
	    {.version = "6.1.0-18-amd64", .kernel = "/boot/vmlinuz-6.1.0-18-amd64",
	     .initrd = "/boot/initrd.img-6.1.0-18-amd64"},
	    {.version = "6.1.0-9-amd64", .kernel = "/boot/vmlinuz-6.1.0-9-amd64"},
	};
	struct xp_boot_kernels k = {.v = kv, .n = 2};
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_guest_text_grub_cfg(&k, DEB_UUID, "/dev/xvda1", "net.ifnames=0", &b), 0);
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_add(&m, 0, "/boot/grub/grub.cfg", b.s, b.len);
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(md_read(&m, NULL, &lb, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(lb.n, 2);
	assert_int_equal(lb.chosen, 0);
	assert_string_equal(lb.v[0].title, "Linux 6.1.0-18-amd64");
	assert_string_equal(lb.v[0].kernel, "/boot/vmlinuz-6.1.0-18-amd64");
	assert_string_equal(lb.v[0].initrd, "/boot/initrd.img-6.1.0-18-amd64");
	assert_non_null(strstr(lb.v[0].args, "root=UUID=" DEB_UUID " ro"));
	assert_non_null(strstr(lb.v[0].args, "net.ifnames=0"));
	assert_null(lb.v[1].initrd);
	assert_non_null(strstr(lb.v[1].args, "root=/dev/xvda1"));
	xp_localboot_release(&lb);
	xp_diags_release(&d);
	xp_buf_release(&b);
}

/* ---- GRUB's default rules, where pygrub strays ------------------------------------ */

static const char menu3[] = "menuentry 'First' --id first {\n linux /vmlinuz-1 a=1\n}\n"
			    "submenu 'Sub' {\n"
			    " menuentry 'Inner A' { linux /vmlinuz-2 a=2; }\n"
			    " menuentry 'Inner B' { linux /vmlinuz-3 a=3; }\n"
			    "}\n"
			    "menuentry 'Last > one' { linux /vmlinuz-4 a=4 }\n";

static size_t default_of(const char *head)
{
	char text[2048];
	snprintf(text, sizeof(text), "%s\n%s", head, menu3);
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	md_init(&m, XP_LABEL_NONE, 1, u);
	md_adds(&m, 0, "/boot/grub/grub.cfg", text);
	struct xp_localboot lb;
	int r = md_read(&m, NULL, &lb, NULL);
	assert_int_equal(r, 0);
	size_t c = lb.chosen;
	assert_int_equal(lb.n, 4);
	assert_int_equal(lb.v[c].partition, 0);
	xp_localboot_release(&lb);
	return c;
}

static void test_default_rules(void **state)
{
	(void)state;
	assert_int_equal(default_of(""), 0);
	assert_int_equal(default_of("set default=0"), 0);
	/* a title (pygrub 4.17: entry 0) */
	assert_int_equal(default_of("set default=\"Last >> one\""), 3);
	assert_int_equal(default_of("set default='Sub>Inner B'"), 2);
	assert_int_equal(default_of("set default=first"), 0);
	/* an index counts the submenu as one entry (pygrub counts its entries) */
	assert_int_equal(default_of("set default=1"), 1);
	assert_int_equal(default_of("set default=2"), 3);
	assert_int_equal(default_of("set default='1>1'"), 2);
	/* grub_strtoul: base 0, digits then anything */
	assert_int_equal(default_of("set default=0x2"), 3);
	/* digits then more than a '>' path: a title, as Fedora's GRUB reads it (BLS ids
	 * start with a hex machine-id) */
	assert_int_equal(default_of("set default=\"2 whatever\""), 0);
	/* out of range or unknown: entry 0 */
	assert_int_equal(default_of("set default=9"), 0);
	assert_int_equal(default_of("set default=Nope"), 0);
	/* saved_entry from grubenv, as GRUB_DEFAULT=saved writes it (pygrub: 0) */
	assert_int_equal(default_of("load_env\nset default=\"${saved_entry}\""), 0);
	/* the default's value at the end of the script counts */
	assert_int_equal(default_of("set default=2\nif true; then set default='Sub>Inner A'; fi"), 1);
}

static void test_saved_entry(void **state)
{
	(void)state;
	char text[2048];
	snprintf(text, sizeof(text), "load_env\nset default=\"${saved_entry}\"\n%s", menu3);
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	md_init(&m, XP_LABEL_NONE, 1, u);
	md_adds(&m, 0, "/boot/grub/grub.cfg", text);
	md_adds(&m, 0, "/boot/grub/grubenv",
		"# GRUB Environment Block\nsaved_entry=Sub>Inner B\nother=a\\\\b\n#####");
	struct xp_localboot lb;
	assert_int_equal(md_read(&m, NULL, &lb, NULL), 0);
	assert_int_equal(lb.chosen, 2);
	assert_string_equal(chosen(&lb)->kernel, "/vmlinuz-3");
	xp_localboot_release(&lb);
	md_free(&m);
}

/* ---- the script ------------------------------------------------------------------------ */

static const struct xp_localboot_entry *one(const char *cfg, struct xp_localboot *lb,
					    struct xp_diags *d)
{
	struct mdisk m;
	const char *u[] = {DEB_UUID, "11111111-2222-3333-4444-555555555555"};
	md_init(&m, XP_LABEL_MSDOS, 2, u);
	md_adds(&m, 0, "/boot/grub/grub.cfg", cfg);
	md_adds(&m, 0, "/boot/grub/custom.cfg", "menuentry Custom { linux /custom x=$1 }\n");
	md_adds(&m, 0, "/boot/grub/other.cfg",
		"menuentry FromOther { linux /other \"$mine\" }\nset default=FromOther\n");
	md_adds(&m, 1, "/boot/vmlinuz", "k");
	assert_int_equal(md_read(&m, NULL, lb, d), 0);
	return chosen(lb);
}

static void test_script(void **state)
{
	(void)state;
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	/* quoting, escapes, variables split into words when unquoted, ${} */
	const struct xp_localboot_entry *e =
	    one("set a='x  y'\nset b=\"q\\\"r\"\nmenuentry \"T $b\" {\n"
		" linux /k\\ 1 $a \"$a\" ${b}s 'lit $a' a\\\nb \n initrd /i1 /i2\n}\n",
		&lb, &d);
	assert_string_equal(e->title, "T q\"r");
	assert_string_equal(e->kernel, "/k 1");
	assert_string_equal(e->args, "x y x  y q\"rs lit $a ab");
	assert_string_equal(e->initrd, "/i1 /i2");
	xp_localboot_release(&lb);
	/* if/elif/else, test's string, number and file tests, functions with $1 */
	e = one("function pick { if [ \"$1\" = b ]; then set v=B; elif [ $1 -gt 3 ]; then set v=big; "
		"else set v=other; fi; }\n"
		"pick b\nset r1=$v\npick 5\nset r2=$v\npick 1\nset r3=$v\n"
		"if [ -f /boot/grub/custom.cfg -a ! -d /boot/grub/custom.cfg ]; then set f=yes; fi\n"
		"if [ -z \"$nothing\" -o -n \"\" ]; then set z=yes; fi\n"
		"if loadfont unicode; then set lf=yes; else set lf=no; fi\n"
		"menuentry E { linux /k $r1 $r2 $r3 $f $z $lf $grub_platform }\n",
		&lb, &d);
	assert_string_equal(e->args, "B big other yes yes no xen");
	xp_localboot_release(&lb);
	/* source runs in the same context; configfile replaces the menu */
	e = one("source /boot/grub/custom.cfg\nset default=Custom\n", &lb, &d);
	assert_string_equal(e->kernel, "/custom");
	assert_string_equal(e->args, "x=Custom"); /* $1 is the title */
	xp_localboot_release(&lb);
	e = one("menuentry Gone { linux /gone }\nexport mine\nset mine=kept\n"
		"configfile /boot/grub/other.cfg\nmenuentry Never { linux /never }\n",
		&lb, &d);
	assert_int_equal(lb.n, 1);
	assert_string_equal(e->title, "FromOther");
	assert_string_equal(e->args, "kept");
	xp_localboot_release(&lb);
	/* a (device) path, search --file, set root by name */
	e = one("menuentry A { linux (hd0,msdos2)/boot/vmlinuz root=x }\n", &lb, &d);
	assert_int_equal(e->partition, 2);
	assert_string_equal(e->kernel, "/boot/vmlinuz");
	xp_localboot_release(&lb);
	e = one("search --no-floppy --file --set=r /boot/vmlinuz\nset root=$r\n"
		"menuentry A { linux /boot/vmlinuz }\n",
		&lb, &d);
	assert_int_equal(e->partition, 2);
	xp_localboot_release(&lb);
	e = one("menuentry A { set root='(hd0,2)'; linux /boot/vmlinuz }\n", &lb, &d);
	assert_int_equal(e->partition, 2);
	xp_localboot_release(&lb);
	/* a submenu sees only exported variables */
	e = one("set plain=p\nset exp=e\nexport exp\nsubmenu S {\n"
		" menuentry I { linux /k \"$plain\" \"$exp\" }\n}\n",
		&lb, &d);
	assert_string_equal(e->args, " e");
	xp_localboot_release(&lb);
	/* an entry boots the last linux and the initrd after it */
	e = one("menuentry A { initrd /early; linux /k1 a; initrd /i1; linux /k2 b; initrd /i2 }\n",
		&lb, &d);
	assert_string_equal(e->kernel, "/k2");
	assert_string_equal(e->initrd, "/i2");
	xp_localboot_release(&lb);
	assert_int_equal(d.n, 0);
	xp_diags_release(&d);
}

static void test_script_warnings(void **state)
{
	(void)state;
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	/* statements that do not parse are skipped as GRUB skips them; the rest runs */
	const struct xp_localboot_entry *e =
	    one("set a=1 | grep x\nmenuentry Broken { linux /k1 | x }\nmenuentry 'Good' {\n linux /k2\n}\n"
		"for i in 1 2; do set x=$i; done\nset default=Good\n",
		&lb, &d);
	assert_string_equal(e->kernel, "/k2");
	assert_true(has_warning(&d, "grub-syntax"));
	assert_true(has_warning(&d, "grub-loop"));
	xp_localboot_release(&lb);
	xp_diags_release(&d);
	xp_diags_init(&d);
	/* an unknown option: GRUB refuses the menuentry */
	e = one("menuentry --bogus A { linux /a }\nmenuentry B { linux /b }\n", &lb, &d);
	assert_int_equal(lb.n, 1);
	assert_string_equal(e->title, "B");
	assert_true(has_warning(&d, "grub-menuentry"));
	xp_localboot_release(&lb);
	xp_diags_release(&d);
}

/* ---- BootLoaderSpec ------------------------------------------------------------------- */

#define FED_M  "6a9857a393724b7a981ebb5b8495b9ea"
#define RHEL_M "ffffffffffffffffffffffffffffffff"

static void fedora_disk(struct mdisk *m)
{
	const char *u[] = {"c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
			   "5e3a5b1c-0a8f-4b52-9d1e-2c6f1f4e8a01",
			   "6d0c2f1a-43b8-4f3e-9c55-7a1e0b2d9c10"};
	md_init(m, XP_LABEL_GPT, 3, u);
	/* a separate /boot: partition 2 holds /grub2 and /loader/entries */
	md_fixture(m, 1, "/grub2/grub.cfg", "fedora-grub.cfg");
	md_fixture(m, 1, "/loader/entries/" FED_M "-6.5.6-300.fc39.x86_64.conf",
		   "fedora-6.5.6-300.conf");
	md_fixture(m, 1, "/loader/entries/" FED_M "-6.10.9-200.fc39.x86_64.conf",
		   "fedora-6.10.9-200.conf");
	md_fixture(m, 1, "/loader/entries/" FED_M "-0-rescue.conf", "fedora-rescue.conf");
}

static void test_fedora_bls(void **state)
{
	(void)state;
	struct mdisk m;
	fedora_disk(&m);
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	/* no grubenv: saved_entry is empty, so entry 0, the newest (6.10.9 > 6.5.6 as rpm
	 * compares) */
	assert_int_equal(md_read(&m, NULL, &lb, &d), 0);
	assert_int_equal(lb.kind, XP_LOCALBOOT_GRUB2);
	assert_string_equal(lb.config, "/grub2/grub.cfg");
	assert_int_equal(lb.partition, 2);
	assert_int_equal(lb.n, 3);
	assert_string_equal(lb.v[0].id, FED_M "-6.10.9-200.fc39.x86_64");
	assert_string_equal(lb.v[1].id, FED_M "-6.5.6-300.fc39.x86_64");
	assert_string_equal(lb.v[2].id, FED_M "-0-rescue");
	assert_int_equal(lb.chosen, 0);
	const struct xp_localboot_entry *e = chosen(&lb);
	assert_string_equal(e->title, "Fedora Linux (6.10.9-200.fc39.x86_64) 39 (Thirty Nine)");
	assert_string_equal(e->kernel, "/vmlinuz-6.10.9-200.fc39.x86_64");
	assert_string_equal(e->initrd, "/initramfs-6.10.9-200.fc39.x86_64.img");
	assert_string_equal(e->args, "root=UUID=6d0c2f1a-43b8-4f3e-9c55-7a1e0b2d9c10 ro "
				     "rootflags=subvol=root rhgb quiet");
	assert_int_equal(e->partition, 2);
	xp_localboot_release(&lb);
	xp_diags_release(&d);
	md_free(&m);

	/* grub2-set-default writes saved_entry, the entry's id */
	fedora_disk(&m);
	md_adds(&m, 1, "/grub2/grubenv",
		"# GRUB Environment Block\nsaved_entry=" FED_M "-6.5.6-300.fc39.x86_64\n####");
	assert_int_equal(md_read(&m, NULL, &lb, NULL), 0);
	assert_int_equal(lb.chosen, 1);
	xp_localboot_release(&lb);
	md_free(&m);
}

static void test_rhel8_kernelopts(void **state)
{
	(void)state;
	struct mdisk m;
	const char *u[] = {"8e2d4a62-1c0b-4d6e-a5b1-7f3c9e0d2b44"};
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_fixture(&m, 0, "/boot/grub2/grub.cfg", "rhel8-grub.cfg");
	md_fixture(&m, 0, "/boot/grub2/grubenv", "rhel8-grubenv");
	md_fixture(&m, 0, "/boot/loader/entries/" RHEL_M "-4.18.0-477.10.1.el8_8.x86_64.conf",
		   "rhel8-4.18.0-477.conf");
	md_fixture(&m, 0, "/boot/loader/entries/" RHEL_M "-4.18.0-513.5.1.el8_9.x86_64.conf",
		   "rhel8-4.18.0-513.conf");
	struct xp_localboot lb;
	assert_int_equal(md_read(&m, NULL, &lb, NULL), 0);
	assert_int_equal(lb.n, 2);
	assert_string_equal(lb.v[0].id, RHEL_M "-4.18.0-513.5.1.el8_9.x86_64");
	/* saved_entry names the older kernel; its options are grubenv's $kernelopts;
	 * blscfg looks in /loader/entries of $root, then /boot/loader/entries */
	assert_int_equal(lb.chosen, 1);
	const struct xp_localboot_entry *e = chosen(&lb);
	assert_string_equal(e->kernel, "/boot/vmlinuz-4.18.0-477.10.1.el8_8.x86_64");
	assert_string_equal(e->initrd, "/boot/initramfs-4.18.0-477.10.1.el8_8.x86_64.img");
	assert_string_equal(e->args, "root=/dev/mapper/rhel-root ro crashkernel=auto "
				     "resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root "
				     "rd.lvm.lv=rhel/swap console=hvc0");
	xp_localboot_release(&lb);
	md_free(&m);
}

static void test_bls_alone(void **state)
{
	(void)state;
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_fixture(&m, 0, "/boot/loader/entries/" RHEL_M "-4.18.0-477.10.1.el8_8.x86_64.conf",
		   "rhel8-4.18.0-477.conf");
	md_fixture(&m, 0, "/boot/loader/entries/" RHEL_M "-4.18.0-513.5.1.el8_9.x86_64.conf",
		   "rhel8-4.18.0-513.conf");
	md_fixture(&m, 0, "/boot/grub2/grubenv", "rhel8-grubenv");
	md_adds(&m, 0, "/boot/loader/entries/.hidden.conf", "linux /no\n");
	md_adds(&m, 0, "/boot/loader/entries/README", "not an entry");
	struct xp_localboot lb;
	assert_int_equal(md_read(&m, NULL, &lb, NULL), 0);
	assert_int_equal(lb.kind, XP_LOCALBOOT_BLS);
	assert_string_equal(lb.config, "/boot/loader/entries");
	assert_int_equal(lb.n, 2);
	assert_int_equal(lb.chosen, 0);
	assert_string_equal(chosen(&lb)->kernel, "/boot/vmlinuz-4.18.0-513.5.1.el8_9.x86_64");
	assert_string_equal(chosen(&lb)->args, "root=/dev/mapper/rhel-root ro crashkernel=auto "
					       "resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root "
					       "rd.lvm.lv=rhel/swap console=hvc0");
	xp_localboot_release(&lb);
	/* loader.conf's default, a glob */
	md_adds(&m, 0, "/boot/loader/loader.conf", "timeout 3\ndefault *477*\n");
	assert_int_equal(md_read(&m, NULL, &lb, NULL), 0);
	assert_int_equal(lb.chosen, 1);
	xp_localboot_release(&lb);
	md_free(&m);
}

static void test_bls_parse_and_order(void **state)
{
	(void)state;
	struct xp__bls_entry e;
	static const char text[] = "# comment\n\n  title  A  B \nversion 1.0\noptions a  b\n"
				   "options c\ninitrd /i1\ninitrd /i2\nlinux\t/k\r\nunknown x\n";
	assert_int_equal(xp__bls_parse(text, sizeof(text) - 1, "id", &e, NULL), 0);
	assert_string_equal(e.title, "A  B");
	assert_string_equal(e.options, "a  b");
	assert_string_equal(e.options_all, "a  b c");
	assert_int_equal(e.n_initrd, 2);
	assert_string_equal(e.linux, "/k");
	xp__bls_entry_release(&e);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp__bls_parse("linux /k\0x", 10, "id", &e, &d), -EINVAL);
	assert_true(has_error(&d, "bls-nul"));
	xp_diags_release(&d);
	/* rpm's comparison */
	const struct {
		const char *a, *b;
		int r;
	} v[] = {{"1.0", "1.0", 0},	     {"6.10.9", "6.5.6", 1},   {"1.0a", "1.0", 1},
		 {"1.0~rc1", "1.0", -1},     {"1.0+p1", "1.0", 1},     {"1.01", "1.1", 0},
		 {"2", "a", 1},		     {"el8_9", "el8_8", 1},    {"0-rescue-x", "6.1", -1},
		 {"1.0.0", "1.0", 1}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(xp__bls_vercmp(v[i].a, v[i].b), v[i].r);
		assert_int_equal(xp__bls_vercmp(v[i].b, v[i].a), -v[i].r);
	}
}

/* ---- GRUB legacy, extlinux ------------------------------------------------------------ */

static void test_legacy(void **state)
{
	(void)state;
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	md_init(&m, XP_LABEL_NONE, 1, u); /* xen-tools: (hd0,0) on a disk without a table */
	md_fixture(&m, 0, "/boot/grub/menu.lst", "legacy-menu.lst");
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(md_read(&m, NULL, &lb, &d), 0);
	assert_int_equal(lb.kind, XP_LOCALBOOT_GRUB_LEGACY);
	assert_int_equal(lb.n, 3);
	assert_int_equal(lb.chosen, 1);
	const struct xp_localboot_entry *e = chosen(&lb);
	assert_string_equal(e->title, "Debian GNU/Linux, kernel 2.6.26-2-xen-amd64");
	assert_string_equal(e->kernel, "/boot/vmlinuz-2.6.26-2-xen-amd64");
	assert_string_equal(e->initrd, "/boot/initrd.img-2.6.26-2-xen-amd64");
	assert_string_equal(e->args, "root=/dev/xvda2 ro console=hvc0 quiet");
	assert_null(lb.v[2].kernel); /* Xen's multiboot entry */
	xp_localboot_release(&lb);
	assert_int_equal(md_read(&m, "2", &lb, &d), -ENOEXEC);
	assert_true(has_error(&d, "not-linux"));
	xp_localboot_release(&lb);
	xp_diags_release(&d);
	md_free(&m);

	/* default saved, (hd0,1) on a partitioned disk, a device in the path */
	const char *u2[] = {DEB_UUID, "22222222-2222-2222-2222-222222222222"};
	md_init(&m, XP_LABEL_MSDOS, 2, u2);
	md_adds(&m, 0, "/grub/menu.lst",
		"default=saved\ntitle A\nroot (hd0,1)\nkernel /vmlinuz a\n"
		"title B\nkernel (hd0,1)/vmlinuz b\ninitrd (hd0,1)/initrd\n");
	md_adds(&m, 0, "/grub/default", "1\n#\n");
	assert_int_equal(md_read(&m, NULL, &lb, NULL), 0);
	assert_int_equal(lb.chosen, 1);
	assert_int_equal(lb.v[0].partition, 2);
	assert_int_equal(chosen(&lb)->partition, 2);
	assert_string_equal(chosen(&lb)->initrd, "/initrd");
	xp_localboot_release(&lb);
	md_free(&m);
}

static void test_extlinux(void **state)
{
	(void)state;
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_fixture(&m, 0, "/boot/extlinux/extlinux.conf", "extlinux.conf");
	struct xp_localboot lb;
	assert_int_equal(md_read(&m, NULL, &lb, NULL), 0);
	assert_int_equal(lb.kind, XP_LOCALBOOT_EXTLINUX);
	assert_int_equal(lb.n, 3);
	assert_int_equal(lb.chosen, 0);
	const struct xp_localboot_entry *e = chosen(&lb);
	assert_string_equal(e->kernel, "/boot/vmlinuz-6.1.0-18-amd64");
	assert_string_equal(e->initrd, "/boot/initrd.img-6.1.0-18-amd64");
	assert_string_equal(e->args, "root=UUID=0f3c5e1a-8b2d-4c6e-9a7f-1d2e3c4b5a69 ro quiet");
	xp_localboot_release(&lb);
	/* by MENU LABEL; a relative initrd is relative to the config's directory */
	assert_int_equal(md_read(&m, "Debian GNU/Linux 12 (bookworm) 6.1.0-18-amd64 (rescue target)",
				 &lb, NULL),
			 0);
	assert_string_equal(chosen(&lb)->initrd, "/boot/initrd.img-6.1.0-18-amd64");
	assert_string_equal(chosen(&lb)->args, "root=UUID=0f3c5e1a-8b2d-4c6e-9a7f-1d2e3c4b5a69 ro single");
	xp_localboot_release(&lb);
	assert_int_equal(md_read(&m, "hdt", &lb, NULL), -ENOEXEC);
	xp_localboot_release(&lb);
	md_free(&m);
}

/* ---- the search, errors and bounds ------------------------------------------------- */

static void test_search_order_and_errors(void **state)
{
	(void)state;
	struct mdisk m;
	const char *u[] = {DEB_UUID, "22222222-2222-2222-2222-222222222222"};
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	/* nothing anywhere */
	md_init(&m, XP_LABEL_MSDOS, 2, u);
	md_adds(&m, 1, "/etc/fstab", "x");
	assert_int_equal(md_read(&m, NULL, &lb, &d), -ENOENT);
	assert_true(has_error(&d, "no-config"));
	xp_localboot_release(&lb);
	/* the first filesystem with a config wins; grub.cfg before menu.lst */
	md_adds(&m, 1, "/boot/grub/menu.lst", "title L\nkernel /l\n");
	md_adds(&m, 1, "/boot/grub/grub.cfg", "menuentry G { linux /g }\n");
	assert_int_equal(md_read(&m, NULL, &lb, &d), 0);
	assert_int_equal(lb.partition, 2);
	assert_string_equal(chosen(&lb)->kernel, "/g");
	xp_localboot_release(&lb);
	/* a grub.cfg without entries */
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_adds(&m, 0, "/boot/grub/grub.cfg", "set default=0\n");
	assert_int_equal(md_read(&m, NULL, &lb, &d), -ENOENT);
	assert_true(has_error(&d, "no-entries"));
	xp_localboot_release(&lb);
	/* a NUL byte */
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_add(&m, 0, "/boot/grub/grub.cfg", "menuentry A {\0}", 15);
	assert_int_equal(md_read(&m, NULL, &lb, &d), -EINVAL);
	assert_true(has_error(&d, "grub-nul"));
	xp_localboot_release(&lb);
	/* the default boots a chainloader; a relative kernel path */
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_adds(&m, 0, "/boot/grub/grub.cfg",
		"menuentry Win { chainloader +1 }\nmenuentry Rel { linux vmlinuz }\n");
	assert_int_equal(md_read(&m, NULL, &lb, &d), -ENOEXEC);
	assert_int_equal(lb.n, 2);
	assert_null(lb.v[1].kernel);
	assert_true(has_warning(&d, "grub-path"));
	xp_localboot_release(&lb);
	xp_diags_release(&d);
}

static void test_bounds(void **state)
{
	(void)state;
	struct mdisk m;
	const char *u[] = {DEB_UUID};
	struct xp_localboot lb;
	struct xp_diags d;
	xp_diags_init(&d);
	const char *bad[] = {
	    "function f { f }\nf\nmenuentry A { linux /a }\n",		  /* recursion */
	    "set a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	    "function d { set a=$a$a; d }\nd\n", /* a value growing */
	    "source /boot/grub/grub.cfg\n",	    /* a file sourcing itself */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		md_init(&m, XP_LABEL_MSDOS, 1, u);
		md_adds(&m, 0, "/boot/grub/grub.cfg", bad[i]);
		assert_int_equal(md_read(&m, NULL, &lb, &d), -EINVAL);
		assert_true(has_error(&d, "grub-limit"));
		xp_localboot_release(&lb);
	}
	/* too many entries */
	struct xp_buf b = XP_BUF_INIT;
	for (unsigned i = 0; i <= XP_LOCALBOOT_MAX_ENTRIES; i++)
		xp_buf_addf(&b, "menuentry e%u { linux /k }\n", i);
	md_init(&m, XP_LABEL_MSDOS, 1, u);
	md_add(&m, 0, "/boot/grub/grub.cfg", b.s, b.len);
	assert_int_equal(md_read(&m, NULL, &lb, &d), -EINVAL);
	xp_localboot_release(&lb);
	xp_buf_release(&b);
	xp_diags_release(&d);
}

static void test_paths_and_devices(void **state)
{
	(void)state;
	const char *j[][3] = {{"/boot/grub", "x.cfg", "/boot/grub/x.cfg"},
			      {"/boot/grub", "/abs", "/abs"},
			      {"/boot/extlinux/extlinux.conf", "..", "/boot/extlinux"},
			      {"/", "../../a//b/./c/", "/a/b/c"},
			      {"/a", "..", "/"}};
	for (size_t i = 0; i < sizeof(j) / sizeof(j[0]); i++) {
		char *p = xp__lb_path_join(j[i][0], j[i][1]);
		assert_string_equal(p, j[i][2]);
		free(p);
	}
	struct mdisk m;
	const char *u[] = {DEB_UUID, DEB_UUID, DEB_UUID};
	md_init(&m, XP_LABEL_GPT, 3, u);
	char dev[32];
	xp__lb_devname(&m.disk, 2, dev);
	assert_string_equal(dev, "hd0,gpt3");
	assert_int_equal(xp__lb_vol_of_dev(&m.disk, "hd0,gpt3"), 2);
	assert_int_equal(xp__lb_vol_of_dev(&m.disk, "(hd0,2)"), 1);
	assert_int_equal(xp__lb_vol_of_dev(&m.disk, "xen/xvda,msdos1"), 0);
	assert_int_equal(xp__lb_vol_of_dev(&m.disk, "hd0"), -1);
	assert_int_equal(xp__lb_vol_of_dev(&m.disk, "hd0,gpt9"), -1);
	md_init(&m, XP_LABEL_NONE, 1, u);
	assert_int_equal(xp__lb_vol_of_dev(&m.disk, "hd0,msdos1"), 0);
	xp__lb_devname(&m.disk, 0, dev);
	assert_string_equal(dev, "hd0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_debian12),
	    cmocka_unit_test(test_debian12_next_entry),
	    cmocka_unit_test(test_debian12_search),
	    cmocka_unit_test(test_xenprov_grub_cfg),
	    cmocka_unit_test(test_default_rules),
	    cmocka_unit_test(test_saved_entry),
	    cmocka_unit_test(test_script),
	    cmocka_unit_test(test_script_warnings),
	    cmocka_unit_test(test_fedora_bls),
	    cmocka_unit_test(test_rhel8_kernelopts),
	    cmocka_unit_test(test_bls_alone),
	    cmocka_unit_test(test_bls_parse_and_order),
	    cmocka_unit_test(test_legacy),
	    cmocka_unit_test(test_extlinux),
	    cmocka_unit_test(test_search_order_and_errors),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_paths_and_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
