/*
 * test-toolstack.c - unit tests for the toolstack module (toolstack.c) and the autostart
 * link (lifecycle.c): vdev device numbers, XenbusState names, `xl list -l` and `xl
 * block-list` read from stand-in programs (small shell scripts printing what xl prints:
 * no Xen runs in unit tests), every way the toolstack's state becomes unknown, and the
 * autostart link made, kept, refused and removed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "xenprov/toolstack.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

XP_TEST_SCRATCH("toolstack")

/* ---- vdev numbers (docs/misc/vbd-interface.txt, libxl__device_disk_dev_number) ---- */

static void test_vdev(void **state)
{
	(void)state;
	static const struct {
		const char *vdev;
		long devid;
	} cases[] = {
	    {"xvda", 51712},	      {"xvdb", 51728},	      {"xvda1", 51713},
	    {"xvdp15", 51967},	      {"xvdq", (1L << 28) | (16 << 8)},
	    {"xvda16", (1L << 28) | 16}, {"xvdaa", (1L << 28) | (26 << 8)},
	    {"d0p0", 51712},	      {"d3p2", 51762},	      {"d16p0", (1L << 28) | (16 << 8)},
	    {"hda", 768},	      {"hdb", 832},	      {"hdc", 5632},
	    {"hdd1", 5697},	      {"sda", 2048},	      {"sdb3", 2067},
	    {"51712", 51712},	      {"0x300", 768},	      {"xvd", -EINVAL},
	    {"xvda0", -EINVAL},	      {"xvda256", -EINVAL},   {"hde", -EINVAL},
	    {"sdq", -EINVAL},	      {"sda16", -EINVAL},     {"xvdA", -EINVAL},
	    {"", -EINVAL},	      {"vda", -EINVAL},	      {"d1p256", -EINVAL},
	    {"xvda1x", -EINVAL},
	};
	for (size_t i = 0; i < N(cases); i++) {
		print_message("vdev '%s'\n", cases[i].vdev);
		assert_int_equal(xp_vdev_devid(cases[i].vdev), cases[i].devid);
	}
	assert_int_equal(xp_vdev_devid(NULL), -EINVAL);
	assert_string_equal(xp_xenbus_state_name(4), "connected");
	assert_string_equal(xp_xenbus_state_name(6), "closed");
	assert_string_equal(xp_xenbus_state_name(9), "unknown");
	assert_string_equal(xp_xenbus_state_name(-1), "unknown");
	assert_string_equal(xp_power_name(XP_POWER_RUNNING), "running");
	assert_string_equal(xp_power_name(XP_POWER_STOPPED), "stopped");
	assert_string_equal(xp_power_name(XP_POWER_UNKNOWN), "unknown");
}

/* ---- xl's output, from stand-in programs ---------------------------------------------- */

/* An executable script NAME in the scratch directory: `list` prints list_out (exit
 * list_rc, list_err on standard error), `block-list` prints bl_out. */
static const char *stand_in(const char *name, const char *list_out, const char *list_err,
			    int list_rc, const char *bl_out)
{
	char *text;
	assert_true(asprintf(&text,
			     "#!/bin/sh\n"
			     "case $1 in\n"
			     "list) printf '%%s' '%s'; printf '%%s' '%s' >&2; exit %d ;;\n"
			     "block-list) printf '%%s' '%s' ;;\n"
			     "*) echo \"xl $*: no such domain\" >&2; exit 1 ;;\n"
			     "esac\n",
			     list_out, list_err, list_rc, bl_out) > 0);
	const char *path = tpath(name);
	xp_test_write(path, text);
	free(text);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static void test_list(void **state)
{
	(void)state;
	const char *prog = stand_in(
	    "xl-ok",
	    "[{\"domid\":3,\"config\":{\"c_info\":{\"name\":\"web1\"},\"disks\":[{\"vdev\":"
	    "\"xvda\",\"backend\":\"qdisk\"},{\"vdev\":\"xvdb\",\"backend\":\"unknown\"}]}},"
	    "{\"domid\":0,\"config\":{}}]\n",
	    "", 0, "");
	struct xp_xl *xl;
	assert_int_equal(xp_xl_open(prog, &xl), 0);
	assert_string_equal(xp_xl_program(xl), prog);
	long domid = 7;
	/* not asked yet: unknown */
	assert_int_equal(xp_xl_power(xl, "web1", &domid), XP_POWER_UNKNOWN);
	assert_int_equal(domid, -1);
	assert_int_equal(xp_xl_refresh(xl), 0);
	assert_null(xp_xl_why(xl));
	assert_int_equal(xp_xl_power(xl, "web1", &domid), XP_POWER_RUNNING);
	assert_int_equal(domid, 3);
	assert_int_equal(xp_xl_power(xl, "web2", &domid), XP_POWER_STOPPED);
	assert_int_equal(domid, -1);
	assert_string_equal(xp_xl_disk_backend(xl, "web1", "xvda"), "qdisk");
	assert_null(xp_xl_disk_backend(xl, "web1", "xvdb")); /* libxl's "unknown" */
	assert_null(xp_xl_disk_backend(xl, "web1", "xvdc"));
	assert_null(xp_xl_disk_backend(xl, "web2", "xvda"));
	/* the verbs: xl's words in the diagnostic */
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_xl_do(xl, "reboot", NULL, "web9", &d), -EIO);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "xl reboot web9 failed: xl reboot web9: no such domain");
	xp_diags_release(&d);
	/* waiting: web1 never goes; web2 is gone already */
	const char *names[] = {"web2", "web1"};
	bool gone[2];
	assert_int_equal(xp_xl_wait_gone(xl, names, 2, 1, gone), 1);
	assert_true(gone[0]);
	assert_false(gone[1]);
	xp_xl_free(xl);

	/* no output at all: an empty list */
	assert_int_equal(xp_xl_open(stand_in("xl-empty", "", "", 0, ""), &xl), 0);
	assert_int_equal(xp_xl_refresh(xl), 0);
	assert_int_equal(xp_xl_power(xl, "web1", NULL), XP_POWER_STOPPED);
	xp_xl_free(xl);
}

static void test_unknown(void **state)
{
	(void)state;
	struct xp_xl *xl;
	/* no program */
	assert_int_equal(xp_xl_open(tpath("no-such-xl"), &xl), 0);
	assert_null(xp_xl_program(xl));
	assert_int_equal(xp_xl_refresh(xl), -ENOENT);
	assert_non_null(strstr(xp_xl_why(xl), "no-such-xl not found"));
	assert_int_equal(xp_xl_power(xl, "web1", NULL), XP_POWER_UNKNOWN);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_xl_do(xl, "shutdown", NULL, "web1", &d), -ENOENT);
	assert_non_null(strstr(d.v[0].msg, "no Xen toolstack here ("));
	xp_diags_release(&d);
	xp_xl_free(xl);
	/* XENPROV_XL names it when no program is given */
	setenv(XP_XL_ENV, tpath("also-missing"), 1);
	assert_int_equal(xp_xl_open(NULL, &xl), 0);
	assert_non_null(strstr(xp_xl_why(xl), "also-missing not found"));
	xp_xl_free(xl);
	unsetenv(XP_XL_ENV);
	/* a file that is not a program */
	xp_test_write(tpath("not-exec"), "#!/bin/sh\n");
	assert_int_equal(xp_xl_open(tpath("not-exec"), &xl), 0);
	assert_null(xp_xl_program(xl));
	xp_xl_free(xl);
	/* xl outside dom0: its first line of error */
	assert_int_equal(xp_xl_open(stand_in("xl-noxen", "", "cannot init xl context\nmore\n", 1, ""),
				    &xl),
			 0);
	assert_int_equal(xp_xl_refresh(xl), -EIO);
	assert_string_equal(xp_xl_why(xl), "xl list failed: cannot init xl context");
	assert_int_equal(xp_xl_power(xl, "web1", NULL), XP_POWER_UNKNOWN);
	const char *names[] = {"web1"};
	assert_int_equal(xp_xl_wait_gone(xl, names, 1, 1, NULL), -EIO);
	xp_xl_free(xl);
	/* SXP, or any other text */
	assert_int_equal(xp_xl_open(stand_in("xl-sxp", "(domain (domid 1))", "", 0, ""), &xl), 0);
	assert_int_equal(xp_xl_refresh(xl), -EBADMSG);
	assert_non_null(strstr(xp_xl_why(xl), "output_format"));
	xp_xl_free(xl);
	assert_int_equal(xp_xl_open(stand_in("xl-obj", "{}", "", 0, ""), &xl), 0);
	assert_int_equal(xp_xl_refresh(xl), -EBADMSG);
	xp_xl_free(xl);
}

static void test_block_list(void **state)
{
	(void)state;
	/* xl_block.c's format: "%-5d %-3d %-6d %-5d %-6d %-8d %-30s" under its header */
	const char *prog = stand_in(
	    "xl-bl", "[]", "", 0,
	    "Vdev  BE  handle state evt-ch ring-ref BE-path                       \n"
	    "51712 0   3      4     10     8        /local/domain/0/backend/qdisk/3/51712\n"
	    "\n"
	    "51728 1   3      6     -1     -1       /local/domain/1/backend/vbd/3/51728 \n");
	struct xp_xl *xl;
	assert_int_equal(xp_xl_open(prog, &xl), 0);
	struct xp_xl_vbd *v;
	size_t n;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_xl_block_list(xl, "web1", &v, &n, &d), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].devid, 51712);
	assert_int_equal(v[0].backend_id, 0);
	assert_int_equal(v[0].handle, 3);
	assert_int_equal(v[0].state, 4);
	assert_int_equal(v[0].evtch, 10);
	assert_int_equal(v[0].ring_ref, 8);
	assert_string_equal(v[0].be_path, "/local/domain/0/backend/qdisk/3/51712");
	assert_int_equal(v[1].backend_id, 1);
	assert_int_equal(v[1].state, 6);
	assert_int_equal(v[1].evtch, -1);
	assert_string_equal(v[1].be_path, "/local/domain/1/backend/vbd/3/51728");
	xp_xl_vbds_free(v, n);
	assert_int_equal(d.n, 0);
	xp_xl_free(xl);

	/* a row that is not one */
	assert_int_equal(xp_xl_open(stand_in("xl-bad", "[]", "", 0, "Vdev BE\n51712 0 x 4 1 1 /p\n"),
				    &xl),
			 0);
	assert_int_equal(xp_xl_block_list(xl, "web1", &v, &n, &d), -EBADMSG);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_string_equal(d.v[0].msg, "xl block-list web1: line 2 is not a block device row");
	xp_diags_release(&d);
	xp_xl_free(xl);
}

/* ---- autostart ---------------------------------------------------------------------------- */

static void test_autostart(void **state)
{
	(void)state;
	xp_test_pathbuf cfgdir, cfg, link, other;
	xp_test_paths(tmpdir, cfgdir, "xen", cfg, "xen/web1.cfg", link, "xen/auto/web1.cfg", other,
		      "xen/web2.cfg", NULL);
	assert_int_equal(mkdir(cfgdir, 0755), 0);
	xp_test_write(cfg, "name = \"web1\"\n");
	xp_test_write(other, "name = \"web2\"\n");
	char *p;
	assert_int_equal(xp_autostart_link_path(cfg, &p), 0);
	assert_string_equal(p, link);
	free(p);
	assert_int_equal(xp_autostart_link_path("web1.cfg", &p), -EINVAL);

	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_autostart_get(cfg), 0);
	assert_int_equal(xp_autostart_set(cfg, false, &d), 0); /* off already */
	assert_int_equal(xp_autostart_set(cfg, true, &d), 0);	/* the auto directory made */
	assert_int_equal(xp_autostart_get(cfg), 1);
	char target[4200];
	ssize_t tn = readlink(link, target, sizeof(target) - 1);
	assert_true(tn > 0);
	target[tn] = 0;
	assert_string_equal(target, cfg);
	assert_int_equal(xp_autostart_set(cfg, true, &d), 0); /* on already */
	assert_int_equal(xp_autostart_set(cfg, false, &d), 0);
	assert_int_equal(xp_autostart_get(cfg), 0);
	struct stat st;
	assert_int_equal(lstat(link, &st), -1);
	assert_int_equal(d.n, 0);

	/* a relative link to the same file is ours too */
	assert_int_equal(symlink("../web1.cfg", link), 0);
	assert_int_equal(xp_autostart_get(cfg), 1);
	assert_int_equal(xp_autostart_set(cfg, false, &d), 0);
	assert_int_equal(lstat(link, &st), -1);

	/* what is not a link to this config is never replaced nor removed */
	assert_int_equal(symlink(other, link), 0);
	assert_int_equal(xp_autostart_get(cfg), 0);
	assert_int_equal(xp_autostart_set(cfg, true, &d), -EEXIST);
	assert_int_equal(xp_autostart_set(cfg, false, &d), -EEXIST);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0].code, "autostart");
	assert_non_null(strstr(d.v[0].msg, "exists and is not a link to"));
	assert_int_equal(unlink(link), 0);
	xp_test_write(link, "name = \"web1\"\n");
	assert_int_equal(xp_autostart_get(cfg), 0);
	assert_int_equal(xp_autostart_set(cfg, false, &d), -EEXIST);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	xp_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vdev),
	    xp_test_in_scratch(test_list),
	    xp_test_in_scratch(test_unknown),
	    xp_test_in_scratch(test_block_list),
	    xp_test_in_scratch(test_autostart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
