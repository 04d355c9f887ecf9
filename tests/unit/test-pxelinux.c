/*
 * test-pxelinux.c - unit tests for the pxelinux/syslinux config reader and writer
 * (proto/pxelinux.c): every keyword, syslinux's rules (case, CR LF, whitespace, label
 * scope, APPEND -, defaults, initrd=), every error with its code and line, every
 * warning, the bounds, the queries and the writer's refusals and round trip.
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

#include "xenprov/pxelinux.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void parse_ok(const char *text, struct xp_pxelinux_cfg *c, size_t warnings)
{
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_pxelinux_parse(text, strlen(text), "t.cfg", c, &d);
	for (size_t i = 0; r != 0 && i < d.n; i++)
		print_error("%u: %s: %s\n", d.v[i].line, d.v[i].code, d.v[i].msg);
	assert_int_equal(r, 0);
	assert_int_equal(xp_diags_count(&d, XP_SEV_ERROR), 0);
	assert_int_equal(d.n, warnings);
	xp_diags_release(&d);
}

static void test_full(void **st)
{
	(void)st;
	const char *text = "# a comment\n"
			   "  #indented comment\n"
			   "\n"
			   "ui menu.c32\n"
			   "Menu Title  Boot menu  \n"
			   "default install\n"
			   "prompt 1\n"
			   "timeout 50\n"
			   "totaltimeout 9000\n"
			   "ontimeout local\n"
			   "onerror local\n"
			   "append console=ttyS0\n"
			   "ipappend 2\n"
			   "say Hello world\n"
			   "say\n"
			   "include common.cfg ignored words\n"
			   "menu include more.cfg More options\n"
			   "serial 0 115200\n"
			   "f1 help.txt\n"
			   "\n"
			   "label install\n"
			   "\tmenu label ^Install\n"
			   "\tkernel debian/linux\n"
			   "\tinitrd debian/initrd.gz,extra.cpio\n"
			   "\ttext help\n"
			   "label this is help text, not a label\n"
			   "\tendtext\n"
			   "label local\n"
			   "\tlocalboot 0x80\n"
			   "\tappend -\n"
			   "\tsysappend 0\n"
			   "\tmenu default\n"
			   "label rescue\n"
			   "\tmenu hide\n"
			   "\tLINUX rescue/vmlinuz\n"
			   "\tAPPEND single initrd=a.gz initrd=b.gz\n"
			   "label memtest\n"
			   "label back\n"
			   "\tlocalboot -1\n"
			   "\tcom32 menu.c32\n";
	struct xp_pxelinux_cfg c;
	parse_ok(text, &c, 0);
	assert_string_equal(c.ui, "menu.c32");
	assert_string_equal(c.menu_title, "Boot menu");
	assert_string_equal(c.default_cmd, "install");
	assert_int_equal(c.prompt, 1);
	assert_int_equal(c.timeout, 50);
	assert_int_equal(c.totaltimeout, 9000);
	assert_string_equal(c.ontimeout, "local");
	assert_string_equal(c.onerror, "local");
	assert_string_equal(c.append, "console=ttyS0");
	assert_int_equal(c.ipappend, 2);
	assert_int_equal(c.n_says, 2);
	assert_string_equal(c.says[0], "Hello world");
	assert_string_equal(c.says[1], "");
	assert_int_equal(c.n_includes, 2);
	assert_string_equal(c.includes[0].path, "common.cfg");
	assert_false(c.includes[0].menu);
	assert_null(c.includes[0].title);
	assert_int_equal(c.includes[0].line, 16);
	assert_string_equal(c.includes[1].path, "more.cfg");
	assert_true(c.includes[1].menu);
	assert_string_equal(c.includes[1].title, "More options");
	assert_int_equal(c.n_labels, 5);

	const struct xp_pxelinux_label *l = &c.labels[0];
	assert_string_equal(l->name, "install");
	assert_int_equal(l->line, 21);
	assert_string_equal(l->menu_label, "^Install");
	assert_int_equal(l->kind, XP_PXELINUX_KERNEL);
	assert_string_equal(l->kernel, "debian/linux");
	assert_string_equal(l->initrd, "debian/initrd.gz,extra.cpio");
	assert_string_equal(l->append, "console=ttyS0"); /* the global one */
	assert_int_equal(l->ipappend, 2);
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_pxelinux_cmdline(l, &b), 0);
	assert_string_equal(xp_buf_str(&b), "console=ttyS0 initrd=debian/initrd.gz,extra.cpio");
	xp_buf_release(&b);

	l = &c.labels[1];
	assert_string_equal(l->name, "local");
	assert_int_equal(l->kind, XP_PXELINUX_LOCALBOOT);
	assert_int_equal(l->localboot, 0x80);
	assert_null(l->append); /* APPEND - */
	assert_int_equal(l->ipappend, 0);
	assert_true(l->menu_default);

	l = &c.labels[2];
	assert_true(l->menu_hide);
	assert_int_equal(l->kind, XP_PXELINUX_LINUX);
	char *ird;
	assert_int_equal(xp_pxelinux_initrd(l, &ird), 0);
	assert_string_equal(ird, "b.gz"); /* the last initrd= */
	free(ird);

	l = &c.labels[3]; /* a bare LABEL boots the file of its name */
	assert_string_equal(l->name, "memtest");
	assert_string_equal(l->kernel, "memtest");
	assert_int_equal(l->kind, XP_PXELINUX_KERNEL);
	assert_int_equal(xp_pxelinux_initrd(l, &ird), 0);
	assert_null(ird);

	l = &c.labels[4]; /* the last kernel-like directive wins */
	assert_int_equal(l->kind, XP_PXELINUX_COM32);
	assert_string_equal(l->kernel, "menu.c32");

	/* ONTIMEOUT names the label an unattended boot runs */
	assert_string_equal(xp_pxelinux_boot_label(&c)->name, "local");
	assert_null(xp_pxelinux_find(&c, "nosuch"));
	xp_pxelinux_cfg_release(&c);
	xp_pxelinux_cfg_release(&c); /* twice is fine */
}

static void test_crlf_and_case(void **st)
{
	(void)st;
	struct xp_pxelinux_cfg c;
	parse_ok("DeFaUlT a\r\nLABEL a\r\n  KERNEL k\r\n  APPEND x=1\r\n", &c, 0);
	assert_string_equal(c.default_cmd, "a");
	assert_string_equal(c.labels[0].append, "x=1");
	assert_int_equal(c.labels[0].line, 2);
	xp_pxelinux_cfg_release(&c);
	/* no final newline; tabs and other control bytes are whitespace */
	parse_ok("label\ta\x01\x02\n\x0b kernel\x1f k k2", &c, 0);
	assert_string_equal(c.labels[0].name, "a");
	assert_string_equal(c.labels[0].kernel, "k k2");
	xp_pxelinux_cfg_release(&c);
	/* keywords end at whitespace: "labelx" is not LABEL */
	parse_ok("labelx a\n", &c, 1);
	assert_int_equal(c.n_labels, 0);
	xp_pxelinux_cfg_release(&c);
	parse_ok("", &c, 0);
	assert_int_equal(c.n_labels, 0);
	assert_null(xp_pxelinux_boot_label(&c));
	xp_pxelinux_cfg_release(&c);
}

static void test_scope(void **st)
{
	(void)st;
	struct xp_pxelinux_cfg c;
	/* global APPEND/IPAPPEND are fixed per label; a separator closes a label */
	parse_ok("APPEND g1\n"
		 "LABEL a\n"
		 "APPEND own\n"
		 "LABEL b\n"
		 "IPAPPEND 1\n"
		 "MENU SEPARATOR\n"
		 "APPEND g2\n"
		 "IPAPPEND 4\n"
		 "LABEL c\n",
		 &c, 0);
	assert_string_equal(c.labels[0].append, "own");
	assert_string_equal(c.labels[1].append, "g1");
	assert_int_equal(c.labels[1].ipappend, 1);
	assert_string_equal(c.labels[2].append, "g2");
	assert_int_equal(c.labels[2].ipappend, 4);
	assert_string_equal(c.append, "g2");
	xp_pxelinux_cfg_release(&c);
	/* APPEND - globally is none */
	parse_ok("APPEND x\nAPPEND -\nLABEL a\n", &c, 0);
	assert_null(c.append);
	assert_null(c.labels[0].append);
	xp_pxelinux_cfg_release(&c);
	/* submenus: their MENU LABEL/TITLE are theirs */
	parse_ok("MENU TITLE root\nMENU BEGIN sub\nMENU LABEL Sub\nMENU TITLE Sub menu\n"
		 "LABEL x\nMENU END\nMENU END\n",
		 &c, 0);
	assert_string_equal(c.menu_title, "root");
	assert_int_equal(c.n_labels, 1);
	xp_pxelinux_cfg_release(&c);
}

static void test_boot_label(void **st)
{
	(void)st;
	struct xp_pxelinux_cfg c;
	parse_ok("DEFAULT b extra args\nLABEL a\nLABEL b\n", &c, 0);
	assert_string_equal(xp_pxelinux_boot_label(&c)->name, "b");
	xp_pxelinux_cfg_release(&c);
	parse_ok("DEFAULT vmlinuz root=/dev/sda\nLABEL a\n", &c, 0);
	assert_null(xp_pxelinux_boot_label(&c)); /* a kernel, not a label */
	xp_pxelinux_cfg_release(&c);
	/* with a UI: MENU DEFAULT, else the first label not hidden */
	parse_ok("UI menu.c32\nDEFAULT a\nLABEL a\nMENU HIDE\nLABEL b\nLABEL c\n", &c, 0);
	assert_string_equal(xp_pxelinux_boot_label(&c)->name, "b");
	xp_pxelinux_cfg_release(&c);
	parse_ok("UI menu.c32\nLABEL a\nLABEL b\nMENU DEFAULT\n", &c, 0);
	assert_string_equal(xp_pxelinux_boot_label(&c)->name, "b");
	xp_pxelinux_cfg_release(&c);
	parse_ok("UI menu.c32\n", &c, 0);
	assert_null(xp_pxelinux_boot_label(&c));
	xp_pxelinux_cfg_release(&c);
}

struct warn_case {
	const char *text;
	const char *code;
	unsigned line;
};

static const struct warn_case warns[] = {
    {"bogus x\n", "unknown-keyword", 1},
    {"\n\nkernel k\n", "outside-label", 3},
    {"initrd i\n", "outside-label", 1},
    {"localboot 0\n", "outside-label", 1},
    {"menu label x\n", "outside-label", 1},
    {"menu default\n", "outside-label", 1},
    {"menu hide\n", "outside-label", 1},
    {"label a\nlabel b\nlabel a\n", "duplicate-label", 3},
    {"label a\ntext help\nno end\n", "unterminated-text", 2},
    {"say a\rb\n", "stray-cr", 1},
    {"averyveryverylongkeyword x\n", "unknown-keyword", 1},
};

/* Parses len bytes of text, called file, into c; what it says is one diagnostic, of
 * severity sev with code, at line of file. The parse's result. */
static int parse_one_diag(const char *text, size_t len, const char *file, struct xp_pxelinux_cfg *c,
			  enum xp_severity sev, const char *code, unsigned line)
{
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_pxelinux_parse(text, len, file, c, &d);
	if (d.n != 1)
		print_error("'%s': %d, %zu diags\n", text, r, d.n);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, sev);
	assert_string_equal(d.v[0].code, code);
	assert_int_equal(d.v[0].line, line);
	assert_string_equal(d.v[0].file, file);
	xp_diags_release(&d);
	return r;
}

static void test_warnings(void **st)
{
	(void)st;
	for (size_t i = 0; i < N(warns); i++) {
		struct xp_pxelinux_cfg c;
		assert_int_equal(parse_one_diag(warns[i].text, strlen(warns[i].text), "w", &c,
						XP_SEV_WARNING, warns[i].code, warns[i].line),
				 0);
		xp_pxelinux_cfg_release(&c);
	}
	/* the CR cut the line: the SAY holds only what came before it */
	struct xp_pxelinux_cfg c;
	parse_ok("say a\r\n", &c, 0);
	assert_string_equal(c.says[0], "a");
	xp_pxelinux_cfg_release(&c);
	/* the first of two labels of one name is the one found */
	parse_ok("label a\nkernel one\nlabel b\n", &c, 0);
	assert_string_equal(xp_pxelinux_find(&c, "a")->kernel, "one");
	xp_pxelinux_cfg_release(&c);
}

struct err_case {
	const char *text;
	size_t len; /* 0: strlen */
	const char *code;
	unsigned line;
};

static const struct err_case errs[] = {
    {"timeout abc\n", 0, "bad-number", 1},
    {"timeout -1\n", 0, "bad-number", 1},
    {"timeout 0x10\n", 0, "bad-number", 1}, /* decimal only */
    {"timeout 4294967296\n", 0, "bad-number", 1},
    {"totaltimeout 1.5\n", 0, "bad-number", 1},
    {"prompt yes\n", 0, "bad-number", 1},
    {"timeout\n", 0, "missing-argument", 1},
    {"label a\nipappend 0x\n", 0, "bad-number", 2},
    {"label a\nipappend 08\n", 0, "bad-number", 2}, /* octal */
    {"label a\nipappend 0xg\n", 0, "bad-number", 2},
    {"label a\nsysappend\n", 0, "missing-argument", 2},
    {"label a\nlocalboot x\n", 0, "bad-number", 2},
    {"label a\nlocalboot -0x80000001\n", 0, "bad-number", 2},
    {"label\n", 0, "missing-argument", 1},
    {"\nlabel a\n  kernel\n", 0, "missing-argument", 3},
    {"label a\nlinux   \n", 0, "missing-argument", 2},
    {"label a\ninitrd\n", 0, "missing-argument", 2},
    {"default\n", 0, "missing-argument", 1},
    {"ui\n", 0, "missing-argument", 1},
    {"ontimeout\n", 0, "missing-argument", 1},
    {"onerror\n", 0, "missing-argument", 1},
    {"include\n", 0, "missing-argument", 1},
    {"menu include\n", 0, "missing-argument", 1},
    {"menu title\n", 0, "missing-argument", 1},
    {"label a\nmenu label\n", 0, "missing-argument", 2},
    {"label a\nkernel a\x00"
     "b\n",
     19, "nul-byte", 2},
};

static void test_errors(void **st)
{
	(void)st;
	for (size_t i = 0; i < N(errs); i++) {
		struct xp_pxelinux_cfg c;
		size_t len = errs[i].len ? errs[i].len : strlen(errs[i].text);
		print_message("case %zu\n", i);
		assert_int_equal(parse_one_diag(errs[i].text, len, "e", &c, XP_SEV_ERROR,
						errs[i].code, errs[i].line),
				 -EBADMSG);
		assert_int_equal(c.n_labels, 0); /* nothing handed out */
		assert_null(c.labels);
	}
	/* every error of a file is reported, each with its line; d may be NULL */
	const char *two = "timeout x\nlabel a\nkernel\n";
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_pxelinux_cfg c;
	assert_int_equal(xp_pxelinux_parse(two, strlen(two), NULL, &c, &d), -EBADMSG);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].line, 1);
	assert_int_equal(d.v[1].line, 3);
	assert_null(d.v[0].file);
	xp_diags_release(&d);
	assert_int_equal(xp_pxelinux_parse(two, strlen(two), NULL, &c, NULL), -EBADMSG);
	/* numbers at their bounds */
	parse_ok("timeout 4294967295\nlabel a\nipappend 0xffffffff\nlocalboot -0x80000000\n", &c,
		 0);
	assert_int_equal(c.timeout, 4294967295u);
	assert_int_equal(c.labels[0].ipappend, 0xffffffffu);
	assert_int_equal(c.labels[0].localboot, -2147483648L);
	xp_pxelinux_cfg_release(&c);
	parse_ok("label a\nipappend 017\n", &c, 0);
	assert_int_equal(c.labels[0].ipappend, 15);
	xp_pxelinux_cfg_release(&c);
}

static void test_bounds(void **st)
{
	(void)st;
	struct xp_diags d;
	struct xp_pxelinux_cfg c;
	/* a line of XP_PXELINUX_MAX_LINE bytes is fine, one more is not */
	size_t n = 7 + XP_PXELINUX_MAX_LINE + 2;
	char *text = malloc(n + 1);
	memcpy(text, "say ", 4);
	memset(text + 4, 'x', XP_PXELINUX_MAX_LINE - 4);
	text[XP_PXELINUX_MAX_LINE] = '\n';
	text[XP_PXELINUX_MAX_LINE + 1] = '\0';
	parse_ok(text, &c, 0);
	assert_int_equal(strlen(c.says[0]), XP_PXELINUX_MAX_LINE - 4);
	xp_pxelinux_cfg_release(&c);
	text[XP_PXELINUX_MAX_LINE] = 'x';
	text[XP_PXELINUX_MAX_LINE + 1] = '\n';
	xp_diags_init(&d);
	assert_int_equal(xp_pxelinux_parse(text, XP_PXELINUX_MAX_LINE + 2, "b", &c, &d), -EBADMSG);
	assert_string_equal(d.v[0].code, "line-too-long");
	assert_int_equal(d.v[0].line, 1);
	xp_diags_release(&d);
	free(text);

	/* XP_PXELINUX_MAX_LABELS labels, then one too many */
	struct xp_buf b = XP_BUF_INIT;
	for (unsigned i = 0; i < XP_PXELINUX_MAX_LABELS; i++)
		xp_buf_addf(&b, "label l%u\n", i);
	parse_ok(xp_buf_str(&b), &c, 0);
	assert_int_equal(c.n_labels, XP_PXELINUX_MAX_LABELS);
	xp_pxelinux_cfg_release(&c);
	xp_buf_adds(&b, "label over\nlabel over2\n");
	xp_diags_init(&d);
	assert_int_equal(xp_pxelinux_parse(b.s, b.len, "b", &c, &d), -EBADMSG);
	assert_int_equal(d.n, 1); /* reading stops there */
	assert_string_equal(d.v[0].code, "too-many-labels");
	assert_int_equal(d.v[0].line, XP_PXELINUX_MAX_LABELS + 1);
	xp_diags_release(&d);
	xp_buf_release(&b);

	const char *items[] = {"say x\n", "include x\n"};
	for (size_t k = 0; k < N(items); k++) {
		for (unsigned i = 0; i <= XP_PXELINUX_MAX_ITEMS; i++)
			xp_buf_adds(&b, items[k]);
		xp_diags_init(&d);
		assert_int_equal(xp_pxelinux_parse(b.s, b.len, "b", &c, &d), -EBADMSG);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].code, "too-many-items");
		assert_int_equal(d.v[0].line, XP_PXELINUX_MAX_ITEMS + 1);
		xp_diags_release(&d);
		xp_buf_release(&b);
	}

	/* the size bound */
	size_t big = XP_PXELINUX_MAX_SIZE + 1;
	char *huge = malloc(big);
	memset(huge, '\n', big);
	xp_diags_init(&d);
	assert_int_equal(xp_pxelinux_parse(huge, big, "b", &c, &d), -EFBIG);
	assert_string_equal(d.v[0].code, "too-big");
	xp_diags_release(&d);
	parse_ok("", &c, 0);
	assert_int_equal(xp_pxelinux_parse(huge, big - 1, "b", &c, NULL), 0);
	xp_pxelinux_cfg_release(&c);
	free(huge);
}

static void test_format(void **st)
{
	(void)st;
	const char *text = "UI menu.c32\nMENU TITLE T\nDEFAULT a\nPROMPT 1\nTIMEOUT 5\n"
			   "TOTALTIMEOUT 7\nONTIMEOUT a x\nONERROR b\nAPPEND g\nIPAPPEND 1\n"
			   "SAY hi\nSAY\nINCLUDE inc.cfg\nMENU INCLUDE m.cfg Title\n"
			   "MENU INCLUDE n.cfg\n"
			   "LABEL a\nMENU LABEL A\nLINUX k\nINITRD i\nIPAPPEND 3\nMENU DEFAULT\n"
			   "LABEL b\nLOCALBOOT -1\nAPPEND -\nMENU HIDE\n"
			   "LABEL c\nAPPEND own\n";
	struct xp_pxelinux_cfg c, back;
	parse_ok(text, &c, 0);
	struct xp_buf f = XP_BUF_INIT;
	assert_int_equal(xp_pxelinux_format(&c, &f), 0);
	assert_string_equal(xp_buf_str(&f), "MENU TITLE T\n"
					    "UI menu.c32\n"
					    "DEFAULT a\n"
					    "PROMPT 1\n"
					    "TIMEOUT 5\n"
					    "TOTALTIMEOUT 7\n"
					    "ONTIMEOUT a x\n"
					    "ONERROR b\n"
					    "APPEND g\n"
					    "IPAPPEND 1\n"
					    "SAY hi\n"
					    "SAY\n"
					    "INCLUDE inc.cfg\n"
					    "MENU INCLUDE m.cfg Title\n"
					    "MENU INCLUDE n.cfg\n"
					    "\n"
					    "LABEL a\n"
					    "\tMENU LABEL A\n"
					    "\tLINUX k\n"
					    "\tINITRD i\n"
					    "\tAPPEND g\n"
					    "\tIPAPPEND 3\n"
					    "\tMENU DEFAULT\n"
					    "\n"
					    "LABEL b\n"
					    "\tLOCALBOOT -1\n"
					    "\tAPPEND -\n"
					    "\tMENU HIDE\n"
					    "\n"
					    "LABEL c\n"
					    "\tKERNEL c\n"
					    "\tAPPEND own\n");
	parse_ok(f.s, &back, 0);
	assert_int_equal(back.n_labels, 3);
	assert_null(back.labels[1].append);
	assert_int_equal(back.labels[1].localboot, -1);
	assert_string_equal(back.labels[2].append, "own");
	assert_string_equal(back.includes[1].title, "Title");
	xp_pxelinux_cfg_release(&back);
	xp_buf_release(&f);

	/* what cannot be written is refused */
	char *keep = c.labels[0].append;
	const char *bad_values[] = {"a\nLABEL x", "a\rb", " lead", "trail ", "", "-"};
	for (size_t i = 0; i < N(bad_values); i++) {
		c.labels[0].append = (char *)bad_values[i];
		assert_int_equal(xp_pxelinux_format(&c, &f), -EINVAL);
		xp_buf_release(&f);
	}
	c.labels[0].append = keep;
	char **fields[] = {&c.labels[0].name,	&c.default_cmd, &c.says[0],
			   &c.includes[0].path, &c.append,	&c.labels[0].kernel};
	const char *bad[] = {"two words", "x\ny", "x\n", "a b", "-", NULL};
	for (size_t i = 0; i < N(fields); i++) {
		keep = *fields[i];
		*fields[i] = (char *)bad[i];
		assert_int_equal(xp_pxelinux_format(&c, &f), -EINVAL);
		xp_buf_release(&f);
		*fields[i] = keep;
	}
	c.labels[0].kind = (enum xp_pxelinux_kind)99;
	assert_int_equal(xp_pxelinux_format(&c, &f), -EINVAL);
	xp_buf_release(&f);
	xp_pxelinux_cfg_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),     cmocka_unit_test(test_crlf_and_case),
	    cmocka_unit_test(test_scope),    cmocka_unit_test(test_boot_label),
	    cmocka_unit_test(test_warnings), cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_bounds),   cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
