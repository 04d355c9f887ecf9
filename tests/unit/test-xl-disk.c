/*
 * test-xl-disk.c - unit tests of the disk spec parser, field list and writer
 * (include/xenprov/xl-disk.h). Table-driven: accepted specs with the fields libxl would
 * print, and one malformed spec per error branch with the exact message, offending text,
 * column and code. The comparison with libxlutil itself is tests/oracle/test-disk-oracle.c.
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

#include "xenprov/xl-disk.h"

/* Renders a disk's fields as `name=value` words: strings quoted, numbers bare. */
static char *render(const struct xp_disk *d)
{
	struct xp_disk_field f[XP_DISK_FIELDS_MAX];
	int n = xp_disk_fields(d, f, XP_DISK_FIELDS_MAX);
	assert_true(n >= 0);
	struct xp_buf b = XP_BUF_INIT;
	for (int i = 0; i < n; i++) {
		if (i)
			xp_buf_addc(&b, ' ');
		if (f[i].kind == XP_DISK_FIELD_STRING)
			xp_buf_addf(&b, "%s=\"%s\"", f[i].name, f[i].str);
		else if (f[i].kind == XP_DISK_FIELD_BOOL)
			xp_buf_addf(&b, "%s=%s", f[i].name, f[i].num ? "true" : "false");
		else
			xp_buf_addf(&b, "%s=%lld", f[i].name, f[i].num);
	}
	char *s = xp_buf_steal(&b);
	assert_non_null(s);
	return s;
}

/* ---- accepted specs ------------------------------------------------------------------ */

struct ok_case {
	const char *specs[4]; /* NULL-terminated */
	const char *fields;
};

static const struct ok_case ok_cases[] = {
    /* positional */
    {{"/dev/vg/guest-volume,,hda"},
     "pdev_path=\"/dev/vg/guest-volume\" vdev=\"hda\" format=\"raw\" readwrite=1"},
    {{"/dev/vg/guest-volume,raw,hda,rw"},
     "pdev_path=\"/dev/vg/guest-volume\" vdev=\"hda\" format=\"raw\" readwrite=1"},
    {{"/img.qcow2,qcow2,xvda,r"}, "pdev_path=\"/img.qcow2\" vdev=\"xvda\" format=\"qcow2\""},
    {{"/i,qed,xvda,ro"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"qed\""},
    {{"/i,vhd,xvda,"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"vhd\" readwrite=1"},
    {{"/i,qcow,xvda,w"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"qcow\" readwrite=1"},
    {{"/i,empty,xvda"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"empty\" readwrite=1"},
    {{"/x,,,"}, "pdev_path=\"/x\" vdev=\"\" format=\"raw\" readwrite=1"},
    {{"/x ,,xvda"}, "pdev_path=\"/x \" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    /* cdroms */
    {{"/root/image.iso,,hdc,cdrom"},
     "pdev_path=\"/root/image.iso\" vdev=\"hdc\" format=\"raw\" removable=1 is_cdrom=1"},
    {{"/root/image.iso,raw,hdc,devtype=cdrom"},
     "pdev_path=\"/root/image.iso\" vdev=\"hdc\" format=\"raw\" removable=1 is_cdrom=1"},
    {{",,hdc:cdrom,r"}, "pdev_path=\"\" vdev=\"hdc\" format=\"empty\" removable=1 is_cdrom=1"},
    {{",hdc:cdrom,r"}, "pdev_path=\"\" vdev=\"hdc\" format=\"empty\" removable=1 is_cdrom=1"},
    {{",,hdc:disk"}, "pdev_path=\"\" vdev=\"hdc\" format=\"raw\" readwrite=1"},
    {{"vdev=hdc,access=r,devtype=cdrom"}, "vdev=\"hdc\" format=\"empty\" removable=1 is_cdrom=1"},
    {{"cdrom,vdev=hdc,target=/i.iso,access=rw"},
     "pdev_path=\"/i.iso,access=rw\" vdev=\"hdc\" format=\"raw\" removable=1 is_cdrom=1"},
    {{"devtype=cdrom,devtype=disk,vdev=x,target=/i"},
     "pdev_path=\"/i\" vdev=\"x\" format=\"raw\" readwrite=1"},
    {{"/i,,xvda:cdrom"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"raw\" removable=1 is_cdrom=1"},
    /* prefixes */
    {{"phy:/dev/vg/x,xvda,w"}, "pdev_path=\"/dev/vg/x\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    {{"tap:aio:/i,xvda,r"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"raw\""},
    {{"tap:qcow2:/i,xvda,w"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"qcow2\" readwrite=1"},
    {{"tap2:tapdisk:ioemu:file:/i,xvda"},
     "pdev_path=\"/i\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    {{"vhd:/i,xvda"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"vhd\" readwrite=1"},
    {{"qcow:/i,xvda"}, "pdev_path=\"/i\" vdev=\"xvda\" format=\"qcow\" readwrite=1"},
    {{"iscsi:iqn.2001-05.com.example:t1,xvda,w"},
     "pdev_path=\"iqn.2001-05.com.example:t1\" vdev=\"xvda\" format=\"raw\" "
     "script=\"block-iscsi\" readwrite=1"},
    {{"drbd:app01,hda,w"},
     "pdev_path=\"app01\" vdev=\"hda\" format=\"raw\" script=\"block-drbd\" readwrite=1"},
    {{"nbd:h 1,hda"},
     "pdev_path=\"h 1\" vdev=\"hda\" format=\"raw\" script=\"block-nbd\" "
     "readwrite=1"},
    {{"enbd:h,hda"},
     "pdev_path=\"h\" vdev=\"hda\" format=\"raw\" script=\"block-enbd\" "
     "readwrite=1"},
    {{"x:y,,xvda"}, "pdev_path=\"x:y\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    /* key=value */
    {{"format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume"},
     "pdev_path=\"/dev/vg/guest-volume\" vdev=\"hda\" format=\"raw\" readwrite=1"},
    {{"vdev=xvda,target=/a,b,"}, "pdev_path=\"/a,b\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    {{"vdev=xvda,target=/a,,"}, "pdev_path=\"/a,\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    {{"vdev=xvda,target=/a\nformat=qcow2"},
     "pdev_path=\"/a\" vdev=\"xvda\" format=\"qcow2\" readwrite=1"},
    {{"vdev=xvda,target="}, "pdev_path=\"\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    {{",vdev=xvda,target=/x"}, "pdev_path=\"/x\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    {{"backend=dd,backendtype=phy,vdev=xvda,target=/x"},
     "backend_domname=\"dd\" pdev_path=\"/x\" vdev=\"xvda\" backend=\"phy\" format=\"raw\" "
     "readwrite=1"},
    {{"backend=,backend=dd,vdev=x,target=/x"},
     "backend_domname=\"dd\" pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1"},
    {{"backendtype=standalone,specification=virtio,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" backend=\"standalone\" format=\"raw\" readwrite=1 "
     "specification=\"virtio\""},
    {{"backendtype=qdisk,backendtype=qdisk,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" backend=\"qdisk\" format=\"raw\" readwrite=1"},
    {{"backendtype=tap,specification=xen,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" backend=\"tap\" format=\"raw\" readwrite=1 "
     "specification=\"xen\""},
    {{"direct-io-safe,discard,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 direct_io_safe=true "
     "discard_enable=\"True\""},
    {{"discard,no-discard,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 discard_enable=\"False\""},
    {{"colo,colo-host=h,colo-port=9000,colo-export=e,active-disk=/a,hidden-disk=/h,vdev=x,"
      "target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 colo_enable=\"True\" "
     "colo_host=\"h\" colo_port=9000 colo_export=\"e\" active_disk=\"/a\" hidden_disk=\"/h\""},
    {{"no-colo,colo-port= -7x,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 colo_enable=\"False\" "
     "colo_port=-7"},
    {{"colo-port=99999999999,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 colo_port=1215752191"},
    {{"script=block-x,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" script=\"block-x\" readwrite=1"},
    {{"trusted,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 trusted=\"True\""},
    {{"trusted,untrusted,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 trusted=\"False\""},
    {{"grant_usage=1,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 grant_usage=\"True\""},
    {{"grant_usage=0,vdev=x,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1 grant_usage=\"False\""},
    {{"vdev=x,access=r,access=,target=/x"},
     "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1"},
    {{"format=,vdev=x,target=/x"}, "pdev_path=\"/x\" vdev=\"x\" format=\"raw\" readwrite=1"},
    /* several specs, one disk; a prefix in one spec affects the next */
    {{"format=raw", "vdev=hda", "access=rw", "target=/dev/vg/g"},
     "pdev_path=\"/dev/vg/g\" vdev=\"hda\" format=\"raw\" readwrite=1"},
    {{"phy:/x", "xvda", "r"}, "pdev_path=\"/x\" vdev=\"xvda\" format=\"raw\""},
    {{"target=/x", "qcow2,xvda"}, "pdev_path=\"/x\" vdev=\"xvda\" format=\"qcow2\" readwrite=1"},
    /* a '=' at the very end is ignored (with a warning) */
    {{"/x,,xvda,w="}, "pdev_path=\"/x\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
    /* blanks */
    {{" \t\n/x,\t,xvda"}, "pdev_path=\"/x\" vdev=\"xvda\" format=\"raw\" readwrite=1"},
};

static size_t count_specs(const char *const *specs)
{
	size_t n = 0;
	while (n < 4 && specs[n])
		n++;
	return n;
}

static void test_accepts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct xp_disk d = {0};
		struct xp_diags diags;
		xp_diags_init(&diags);
		int r = xp_disk_parse(c->specs, count_specs(c->specs), &d, &diags);
		if (r != 0)
			fail_msg("case %zu '%s': %d %s", i, c->specs[0], r,
				 diags.n ? diags.v[0].msg : "");
		assert_int_equal(xp_diags_count(&diags, XP_SEV_ERROR), 0);
		char *got = render(&d);
		if (strcmp(got, c->fields) != 0)
			fail_msg("case %zu '%s':\n  got  %s\n  want %s", i, c->specs[0], got,
				 c->fields);
		free(got);
		xp_disk_release(&d);
		xp_diags_release(&diags);
	}
}

/* ---- rejected specs: one per error branch ------------------------------------------- */

struct err_case {
	const char *specs[4];
	int ret;
	const char *code;
	const char *msg;
	const char *text; /* NULL: none */
	unsigned line, col;
	const char *hint_has; /* a substring of the hint, NULL: no hint expected */
};

static const struct err_case err_cases[] = {
    {{"vdev=x,format=qcow3,target=/x"},
     -EBADMSG,
     "unknown-value",
     "unknown value for format",
     "qcow3",
     1,
     15,
     "formats are"},
    {{"/x,xvda,w"},
     -EBADMSG,
     "unknown-value",
     "unknown value for format",
     "xvda",
     1,
     4,
     "TARGET,,VDEV"},
    {{"/x,unknown,xvda"},
     -EBADMSG,
     "unknown-value",
     "unknown value for format",
     "unknown",
     1,
     4,
     "positional"},
    {{"/x,qcow2,xvda,w,format=raw"},
     -EBADMSG,
     "respecified",
     "format respecified",
     "raw",
     1,
     24,
     "once"},
    {{"qcow2:raw:/x,xvda"}, -EBADMSG, "respecified", "format respecified", "raw", 1, 7, "once"},
    {{"/x,,xvda,rx"},
     -EBADMSG,
     "unknown-value",
     "unknown value for access",
     "rx",
     1,
     10,
     "read-only"},
    {{"vdev=x,access=rwx,target=/x"},
     -EBADMSG,
     "unknown-value",
     "unknown value for access",
     "rwx",
     1,
     15,
     "read-write"},
    {{"vdev=x,devtype=floppy,target=/x"},
     -EBADMSG,
     "unknown-value",
     "unknown value for type",
     "devtype=floppy,",
     1,
     8,
     "cdrom or disk"},
    {{"vdev=x,backend=a,backend=b,target=/x"},
     -EBADMSG,
     "respecified",
     "backend respecified",
     "b",
     1,
     26,
     "once"},
    {{"vdev=x,backendtype=qemu,target=/x"},
     -EBADMSG,
     "unknown-value",
     "unknown value for backendtype",
     "qemu",
     1,
     20,
     "qdisk"},
    {{"vdev=x,backendtype=unknown,target=/x"},
     -EBADMSG,
     "unknown-value",
     "unknown value for backendtype",
     "unknown",
     1,
     20,
     "qdisk"},
    {{"vdev=x,backendtype=phy,backendtype=tap,target=/x"},
     -EBADMSG,
     "respecified",
     "backend respecified",
     "tap",
     1,
     36,
     "once"},
    {{"vdev=x,specification=scsi,target=/x"},
     -EBADMSG,
     "unknown-value",
     "unknown value for specification",
     "scsi",
     1,
     22,
     "virtio"},
    {{"specification=xen,specification=virtio,vdev=x,target=/x"},
     -EBADMSG,
     "respecified",
     "specification respecified",
     "virtio",
     1,
     33,
     "once"},
    {{"vdev=x,vdev=y,target=/x"}, -EBADMSG, "respecified", "vdev respecified", "y", 1, 13, "once"},
    {{"vdev=a,,b:cdrom"}, -EBADMSG, "respecified", "vdev respecified", "b", 1, 9, "once"},
    /* After target and a newline, a lone ',' is an empty format: raw. */
    {{"vdev=x,target=/a\n,format=qcow2"},
     -EBADMSG,
     "respecified",
     "format respecified",
     "qcow2",
     1,
     26,
     "once"},
    {{"script=a,script=b,vdev=x,target=/x"},
     -EBADMSG,
     "respecified",
     "script respecified",
     "b",
     1,
     17,
     "once"},
    {{"script=a,iscsi:t,xvda"},
     -EBADMSG,
     "respecified",
     "script respecified",
     "block-iscsi",
     1,
     10,
     "once"},
    {{"colo-host=a,colo-host=b,vdev=x,target=/x"},
     -EBADMSG,
     "respecified",
     "colo-host respecified",
     "b",
     1,
     23,
     "once"},
    {{"colo-export=a,colo-export=b,vdev=x,target=/x"},
     -EBADMSG,
     "respecified",
     "colo-export respecified",
     "b",
     1,
     27,
     "once"},
    {{"active-disk=a,active-disk=b,vdev=x,target=/x"},
     -EBADMSG,
     "respecified",
     "active-disk respecified",
     "b",
     1,
     27,
     "once"},
    {{"hidden-disk=a,hidden-disk=b,vdev=x,target=/x"},
     -EBADMSG,
     "respecified",
     "hidden-disk respecified",
     "b",
     1,
     27,
     "once"},
    {{"vdev=x,colo-port=abc,target=/x"},
     -EBADMSG,
     "unknown-value",
     "unknown value for colo_port",
     "abc",
     1,
     18,
     "non-zero"},
    {{"vdev=x,colo-port=0x10,target=/x"},
     -EBADMSG,
     "unknown-value",
     "unknown value for colo_port",
     "0x10",
     1,
     18,
     "non-zero"},
    {{"vdev=x,target=/x", "target=/y"},
     -EBADMSG,
     "respecified",
     "target respecified",
     "/y",
     2,
     8,
     "once"},
    {{"vdev=x,foo=bar,target=/x"},
     -EBADMSG,
     "unknown-parameter",
     "unknown parameter",
     "foo=b",
     1,
     8,
     "parameters are"},
    {{"vdev=x,fromat=raw,target=/x"},
     -EBADMSG,
     "unknown-parameter",
     "unknown parameter",
     "fromat=r",
     1,
     8,
     "did you mean 'format'?"},
    {{"discard=1,vdev=x,target=/x"},
     -EBADMSG,
     "unknown-parameter",
     "unknown parameter",
     "discard=1,",
     1,
     1,
     "did you mean 'discard'?"},
    {{"foo:/x,xvda"},
     -EBADMSG,
     "unknown-prefix",
     "unknown deprecated disk prefix",
     "foo:",
     1,
     1,
     "known prefixes"},
    {{"x1:"},
     -EBADMSG,
     "unknown-prefix",
     "unknown deprecated disk prefix",
     "x1:",
     1,
     1,
     "known prefixes"},
    {{"/x,raw,xvda:floppy"},
     -EBADMSG,
     "unknown-value",
     "unknown deprecated type",
     "floppy",
     1,
     13,
     "cdrom or disk"},
    {{"/x,raw,xvda,w,extra,more"},
     -EBADMSG,
     "too-many-positional",
     "too many positional parameters",
     "extra",
     1,
     15,
     "target, format, vdev and access"},
    {{"/x,,xvda,=,w"}, -EBADMSG, "syntax", "bad disk syntax", "=,w", 1, 10, "target="},
    {{"/x,,xvda,=\nmore"}, -EBADMSG, "syntax", "bad disk syntax", "=", 1, 10, "target="},
    {{"/x,,"}, -EBADMSG, "no-vdev", "no vdev specified", NULL, 0, 0, "vdev="},
    {{""}, -EBADMSG, "no-vdev", "no vdev specified", NULL, 0, 0, "vdev="},
    {{NULL}, -EBADMSG, "no-vdev", "no vdev specified", NULL, 0, 0, "vdev="},
    {{"vdev=xvda"},
     -EBADMSG,
     "no-target",
     "no target specified (and device not removable)",
     NULL,
     0,
     0,
     "target="},
};

static void test_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct xp_disk d = {0};
		struct xp_diags diags;
		xp_diags_init(&diags);
		int r = xp_disk_parse(c->specs, count_specs(c->specs), &d, &diags);
		const char *name = c->specs[0] ? c->specs[0] : "(none)";
		if (r != c->ret)
			fail_msg("case %zu '%s': returned %d, want %d", i, name, r, c->ret);
		/* The struct is left zeroed. */
		struct xp_disk zero = {0};
		assert_memory_equal(&d, &zero, sizeof(d));
		/* The first error is the one the case is about. */
		const struct xp_diag *g = NULL;
		for (size_t k = 0; k < diags.n && !g; k++)
			if (diags.v[k].severity == XP_SEV_ERROR)
				g = &diags.v[k];
		if (!g)
			fail_msg("case %zu '%s': no error recorded", i, name);
		if (strcmp(g->msg, c->msg) || strcmp(g->code, c->code) ||
		    (c->text == NULL) != (g->text == NULL) ||
		    (c->text && strcmp(g->text, c->text)) || g->line != c->line || g->col != c->col)
			fail_msg(
			    "case %zu '%s':\n  got  [%s] %s near '%s' at %u:%u\n  want [%s] %s "
			    "near '%s' at %u:%u",
			    i, name, g->code, g->msg, g->text ? g->text : "(null)", g->line, g->col,
			    c->code, c->msg, c->text ? c->text : "(null)", c->line, c->col);
		if (c->hint_has && (!g->hint || !strstr(g->hint, c->hint_has)))
			fail_msg("case %zu '%s': hint '%s' lacks '%s'", i, name,
				 g->hint ? g->hint : "(null)", c->hint_has);
		xp_diags_release(&diags);
	}
}

/* libxlutil goes on after most errors and reports each; we keep them all, in order. */
static void test_reports_every_error(void **state)
{
	(void)state;
	struct xp_disk d = {0};
	struct xp_diags diags;
	xp_diags_init(&diags);
	const char *spec = "format=bad,access=bad,devtype=bad,vdev=x,foo:/y";
	assert_int_equal(xp_disk_parse_one(spec, &d, &diags), -EBADMSG);
	assert_int_equal(diags.n, 4);
	assert_string_equal(diags.v[0].msg, "unknown value for format");
	assert_string_equal(diags.v[1].msg, "unknown value for access");
	assert_string_equal(diags.v[2].msg, "unknown value for type");
	assert_string_equal(diags.v[3].msg, "unknown deprecated disk prefix");
	xp_diags_release(&diags);

	/* After an error, positional parameters are skipped and later specs unread. */
	const char *specs[] = {"/x,bogus,xvda,w,extra", "vdev=y,vdev=z"};
	assert_int_equal(xp_disk_parse(specs, 2, &d, &diags), -EBADMSG);
	assert_int_equal(diags.n, 1);
	assert_string_equal(diags.v[0].text, "bogus");
	xp_diags_release(&diags);

	/* diags may be NULL. */
	assert_int_equal(xp_disk_parse_one("/x,xvda", &d, NULL), -EBADMSG);
}

static void test_stray_equals_warning(void **state)
{
	(void)state;
	struct xp_disk d = {0};
	struct xp_diags diags;
	xp_diags_init(&diags);
	assert_int_equal(xp_disk_parse_one("/x,,xvda,w=", &d, &diags), 0);
	assert_int_equal(diags.n, 1);
	assert_int_equal(diags.v[0].severity, XP_SEV_WARNING);
	assert_string_equal(diags.v[0].code, "stray-equals");
	assert_int_equal(diags.v[0].col, 11);
	xp_disk_release(&d);
	xp_diags_release(&diags);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct xp_disk d = {0};
	const char *specs[] = {"/x,,xvda", NULL};
	assert_int_equal(xp_disk_parse(NULL, 1, &d, NULL), -EINVAL);
	assert_int_equal(xp_disk_parse(specs, 2, &d, NULL), -EINVAL);
	assert_int_equal(xp_disk_parse(specs, 1, NULL, NULL), -EINVAL);
	assert_int_equal(xp_disk_parse_one(NULL, &d, NULL), -EINVAL);
	xp_disk_release(NULL);
}

static void test_too_long(void **state)
{
	(void)state;
	char *big = malloc(XP_DISK_SPEC_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', XP_DISK_SPEC_MAX + 1);
	big[XP_DISK_SPEC_MAX + 1] = '\0';
	const char *specs[] = {"vdev=xvda", big};
	struct xp_disk d = {0};
	struct xp_diags diags;
	xp_diags_init(&diags);
	assert_int_equal(xp_disk_parse(specs, 2, &d, &diags), -E2BIG);
	assert_int_equal(diags.n, 1);
	assert_string_equal(diags.v[0].code, "too-long");
	assert_int_equal(diags.v[0].line, 2);
	assert_int_equal(diags.v[0].col, XP_DISK_SPEC_MAX + 1);
	xp_diags_release(&diags);

	/* Exactly the limit is fine: "target=" then padding. */
	memcpy(big, "target=", 7);
	big[XP_DISK_SPEC_MAX] = '\0';
	assert_int_equal(xp_disk_parse(specs, 2, &d, NULL), 0);
	assert_int_equal(strlen(d.pdev_path), XP_DISK_SPEC_MAX - 7);
	xp_disk_release(&d);
	free(big);
}

/* ---- names, copies, fields ----------------------------------------------------------- */

static void test_names(void **state)
{
	(void)state;
	enum xp_disk_format f;
	enum xp_disk_backend b;
	enum xp_disk_specification s;
	assert_string_equal(xp_disk_format_name(XP_DISK_FORMAT_QCOW2), "qcow2");
	assert_string_equal(xp_disk_format_name(XP_DISK_FORMAT_QED), "qed");
	assert_null(xp_disk_format_name((enum xp_disk_format)7));
	assert_string_equal(xp_disk_backend_name(XP_DISK_BACKEND_STANDALONE), "standalone");
	assert_null(xp_disk_backend_name((enum xp_disk_backend)5));
	assert_string_equal(xp_disk_specification_name(XP_DISK_SPECIFICATION_VIRTIO), "virtio");
	assert_null(xp_disk_specification_name((enum xp_disk_specification)3));
	assert_int_equal(xp_disk_format_from_name("vhd", &f), 0);
	assert_int_equal(f, XP_DISK_FORMAT_VHD);
	assert_int_equal(xp_disk_format_from_name("VHD", &f), -EINVAL);
	assert_int_equal(xp_disk_format_from_name(NULL, &f), -EINVAL);
	assert_int_equal(xp_disk_backend_from_name("tap", &b), 0);
	assert_int_equal(b, XP_DISK_BACKEND_TAP);
	assert_int_equal(xp_disk_backend_from_name("tap2", &b), -EINVAL);
	assert_int_equal(xp_disk_specification_from_name("xen", &s), 0);
	assert_int_equal(s, XP_DISK_SPECIFICATION_XEN);
	assert_int_equal(xp_disk_specification_from_name("scsi", &s), -EINVAL);
}

static void test_copy_equal(void **state)
{
	(void)state;
	struct xp_disk a = {0}, b = {0};
	assert_int_equal(xp_disk_parse_one("backend=dd,script=s,colo-host=h,colo-export=e,"
					   "active-disk=a,hidden-disk=h,vdev=x,target=/x",
					   &a, NULL),
			 0);
	assert_int_equal(xp_disk_copy(&b, &a), 0);
	assert_true(xp_disk_equal(&a, &b));
	assert_ptr_not_equal(a.pdev_path, b.pdev_path);
	free(b.vdev);
	b.vdev = NULL;
	assert_false(xp_disk_equal(&a, &b));
	xp_disk_release(&b);
	assert_int_equal(xp_disk_copy(NULL, &a), -EINVAL);
	xp_disk_release(&a);
}

static void test_fields_edges(void **state)
{
	(void)state;
	struct xp_disk d = {0};
	struct xp_disk_field f[2];
	/* A zeroed disk shows nothing, like a fresh libxl_device_disk. */
	assert_int_equal(xp_disk_fields(&d, f, 2), 0);
	d.colo_restore_enable = XP_DEFBOOL_TRUE;
	d.pdev_path = (char *)"/x";
	d.vdev = (char *)"x";
	assert_int_equal(xp_disk_fields(&d, f, 2), 2); /* truncated to cap */
	assert_string_equal(f[1].name, "vdev");
	struct xp_disk_field all[XP_DISK_FIELDS_MAX];
	assert_int_equal(xp_disk_fields(&d, all, XP_DISK_FIELDS_MAX), 3);
	assert_string_equal(all[2].name, "colo_restore_enable");
	assert_string_equal(all[2].str, "True");
	d.format = (enum xp_disk_format)9;
	assert_int_equal(xp_disk_fields(&d, f, 2), -EINVAL);
	d.format = XP_DISK_FORMAT_RAW;
	d.trusted = (enum xp_defbool)3;
	assert_int_equal(xp_disk_fields(&d, f, 2), -EINVAL);
	assert_int_equal(xp_disk_fields(NULL, f, 2), -EINVAL);
}

/* ---- the writer ------------------------------------------------------------------------ */

struct fmt_case {
	const char *spec;
	const char *canonical;
};

static const struct fmt_case fmt_cases[] = {
    {"/srv/web1.qcow2,qcow2,xvda,w", "format=qcow2,vdev=xvda,access=rw,target=/srv/web1.qcow2"},
    {"phy:/dev/vg/x,xvda,r", "format=raw,vdev=xvda,access=ro,target=/dev/vg/x"},
    {",,hdc:cdrom", "format=empty,vdev=hdc,devtype=cdrom,target="},
    {"vdev=hdc,cdrom", "format=empty,vdev=hdc,devtype=cdrom"},
    {"/i.iso,,hdc,cdrom", "format=raw,vdev=hdc,devtype=cdrom,target=/i.iso"},
    {"vdev=x,target=/a,b,", "format=raw,vdev=x,access=rw,target=/a,b"},
    {"vdev=x,target=/a,,", "format=raw,vdev=x,access=rw,target=/a,,"},
    {"iscsi:iqn.x:y,xvda,w", "format=raw,vdev=xvda,access=rw,script=block-iscsi,target=iqn.x:y"},
    {"backend=dd,backendtype=qdisk,specification=virtio,direct-io-safe,no-discard,colo,"
     "colo-host=h,colo-port=-2,colo-export=e,active-disk=a,hidden-disk=h,untrusted,"
     "grant_usage=1,vdev=x,target=/x",
     "format=raw,vdev=x,access=rw,backend=dd,backendtype=qdisk,specification=virtio,"
     "direct-io-safe,no-discard,colo,colo-host=h,colo-port=-2,colo-export=e,active-disk=a,"
     "hidden-disk=h,untrusted,grant_usage=1,target=/x"},
    {"discard,no-colo,trusted,grant_usage=0,vdev=x,target=",
     "format=raw,vdev=x,access=rw,discard,no-colo,trusted,grant_usage=0,target="},
    {"vdev= a:b=c,target=/x", "format=raw,vdev= a:b=c,access=rw,target=/x"},
};

static void test_format_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		struct xp_disk d = {0}, back = {0};
		if (xp_disk_parse_one(fmt_cases[i].spec, &d, NULL) != 0)
			fail_msg("case %zu: '%s' does not parse", i, fmt_cases[i].spec);
		struct xp_buf b = XP_BUF_INIT;
		assert_int_equal(xp_disk_format(&d, &b), 0);
		assert_string_equal(xp_buf_str(&b), fmt_cases[i].canonical);
		assert_int_equal(xp_disk_parse_one(xp_buf_str(&b), &back, NULL), 0);
		assert_true(xp_disk_equal(&d, &back));
		xp_buf_release(&b);
		xp_disk_release(&d);
		xp_disk_release(&back);
	}
}

static void test_format_appends(void **state)
{
	(void)state;
	struct xp_disk d = {0};
	assert_int_equal(xp_disk_parse_one("/x,,xvda", &d, NULL), 0);
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, "disk = ['");
	assert_int_equal(xp_disk_format(&d, &b), 0);
	assert_string_equal(xp_buf_str(&b), "disk = ['format=raw,vdev=xvda,access=rw,target=/x");
	xp_buf_release(&b);
	/* UNKNOWN format: written as nothing, read back as raw. */
	d.format = XP_DISK_FORMAT_UNKNOWN;
	assert_int_equal(xp_disk_format(&d, &b), 0);
	assert_string_equal(xp_buf_str(&b), "vdev=xvda,access=rw,target=/x");
	xp_buf_release(&b);
	xp_disk_release(&d);
}

/* Disks no spec can express are refused and out is left alone. */
static void test_format_refuses(void **state)
{
	(void)state;
	struct xp_disk base = {0};
	assert_int_equal(xp_disk_parse_one("/x,,xvda", &base, NULL), 0);
	struct xp_buf b = XP_BUF_INIT;
	struct xp_disk d;

	for (int k = 0; k < 13; k++) {
		assert_int_equal(xp_disk_copy(&d, &base), 0);
		switch (k) {
		case 0:
			free(d.vdev);
			d.vdev = NULL;
			break;
		case 1:
			free(d.vdev);
			d.vdev = strdup("a,b");
			break;
		case 2:
			d.script = strdup("a,b");
			break;
		case 3:
			free(d.pdev_path);
			d.pdev_path = strdup("/a\nb");
			break;
		case 4:
			free(d.pdev_path);
			d.pdev_path = NULL;
			break;
		case 5:
			d.removable = 1;
			break;
		case 6:
			d.is_cdrom = 1;
			d.removable = 1;
			d.readwrite = 1;
			break;
		case 7:
			d.is_cdrom = 1;
			d.removable = 1;
			d.readwrite = 0;
			free(d.pdev_path);
			d.pdev_path = NULL;
			d.format = XP_DISK_FORMAT_RAW;
			break;
		case 8:
			d.colo_restore_enable = XP_DEFBOOL_FALSE;
			break;
		case 9:
			d.format = (enum xp_disk_format)42;
			break;
		case 10:
			d.discard_enable = (enum xp_defbool)7;
			break;
		case 11:
			d.backend_domname = strdup("a,b");
			break;
		case 12:
			d.hidden_disk = strdup("a,b");
			break;
		}
		xp_buf_adds(&b, "keep");
		if (xp_disk_format(&d, &b) != -EINVAL)
			fail_msg("variant %d: not refused", k);
		assert_string_equal(xp_buf_str(&b), "keep");
		xp_buf_release(&b);
		xp_disk_release(&d);
	}
	assert_int_equal(xp_disk_format(NULL, &b), -EINVAL);
	assert_int_equal(xp_disk_format(&base, NULL), -EINVAL);

	/* A target that fits a spec only without the other parameters. */
	free(base.pdev_path);
	base.pdev_path = malloc(XP_DISK_SPEC_MAX);
	assert_non_null(base.pdev_path);
	memset(base.pdev_path, 'p', XP_DISK_SPEC_MAX - 1);
	base.pdev_path[XP_DISK_SPEC_MAX - 1] = '\0';
	assert_int_equal(xp_disk_format(&base, &b), -E2BIG);
	assert_int_equal(b.len, 0);
	xp_disk_release(&base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),
	    cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_reports_every_error),
	    cmocka_unit_test(test_stray_equals_warning),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_copy_equal),
	    cmocka_unit_test(test_fields_edges),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_format_appends),
	    cmocka_unit_test(test_format_refuses),
	};
	return cmocka_run_group_tests_name("xl-disk", tests, NULL, NULL);
}
