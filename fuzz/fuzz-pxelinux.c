/*
 * fuzz-pxelinux.c - libFuzzer target for the pxelinux config reader and writer
 * (proto/pxelinux.c). Beyond "no crash": a refusal always says why (an error in the
 * diagnostics); an accepted file writes out, the written text reads back to equal
 * values with no error, and writing that again gives the same bytes; the queries
 * (boot label, command line, initrd) run on every label.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/pxelinux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static int one_word(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ')
			return 0;
	return 1;
}

static int same(const struct xp_pxelinux_cfg *a, const struct xp_pxelinux_cfg *b)
{
	if (!streq(a->default_cmd, b->default_cmd) || !streq(a->ui, b->ui) ||
	    !streq(a->ontimeout, b->ontimeout) || !streq(a->onerror, b->onerror) ||
	    !streq(a->menu_title, b->menu_title) || !streq(a->append, b->append) ||
	    a->ipappend != b->ipappend || a->timeout != b->timeout ||
	    a->totaltimeout != b->totaltimeout || a->prompt != b->prompt ||
	    a->n_labels != b->n_labels || a->n_includes != b->n_includes || a->n_says != b->n_says)
		return 0;
	for (size_t i = 0; i < a->n_labels; i++) {
		const struct xp_pxelinux_label *x = &a->labels[i], *y = &b->labels[i];
		if (!streq(x->name, y->name) || !streq(x->menu_label, y->menu_label) ||
		    x->kind != y->kind || !streq(x->kernel, y->kernel) ||
		    !streq(x->append, y->append) || !streq(x->initrd, y->initrd) ||
		    x->ipappend != y->ipappend || x->localboot != y->localboot ||
		    x->menu_default != y->menu_default || x->menu_hide != y->menu_hide)
			return 0;
	}
	for (size_t i = 0; i < a->n_includes; i++)
		if (!streq(a->includes[i].path, b->includes[i].path) ||
		    a->includes[i].menu != b->includes[i].menu ||
		    !streq(a->includes[i].title, b->includes[i].title))
			return 0;
	for (size_t i = 0; i < a->n_says; i++)
		if (!streq(a->says[i], b->says[i]))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_pxelinux_cfg c;
	int r = xp_pxelinux_parse((const char *)data, size, "fuzz", &c, &d);
	if (r == -EBADMSG || r == -EFBIG) {
		if (xp_diags_count(&d, XP_SEV_ERROR) == 0)
			abort();
		if (c.n_labels || c.labels)
			abort(); /* nothing half-built is handed out */
	} else if (r == 0) {
		if (xp_diags_count(&d, XP_SEV_ERROR) != 0)
			abort();
		struct xp_buf f = XP_BUF_INIT, f2 = XP_BUF_INIT;
		if (xp_pxelinux_format(&c, &f) != 0)
			abort();
		struct xp_pxelinux_cfg back;
		if (xp_pxelinux_parse(f.s ? f.s : "", f.len, "back", &back, NULL) != 0)
			abort();
		if (!same(&c, &back))
			abort();
		if (xp_pxelinux_format(&back, &f2) != 0 || f.len != f2.len ||
		    memcmp(xp_buf_str(&f), xp_buf_str(&f2), f.len) != 0)
			abort();
		const struct xp_pxelinux_label *bl = xp_pxelinux_boot_label(&c);
		if (bl && (bl < c.labels || bl >= c.labels + c.n_labels))
			abort();
		for (size_t i = 0; i < c.n_labels; i++) {
			struct xp_buf cl = XP_BUF_INIT;
			char *initrd = NULL;
			if (xp_pxelinux_cmdline(&c.labels[i], &cl) != 0 ||
			    xp_pxelinux_initrd(&c.labels[i], &initrd) != 0)
				abort();
			if (c.labels[i].initrd && one_word(c.labels[i].initrd) &&
			    !streq(initrd, c.labels[i].initrd))
				abort(); /* INITRD comes last, so it wins */
			free(initrd);
			xp_buf_release(&cl);
			if (xp_pxelinux_find(&c, c.labels[i].name) > &c.labels[i])
				abort();
		}
		xp_buf_release(&f);
		xp_buf_release(&f2);
		xp_pxelinux_cfg_release(&back);
		xp_pxelinux_cfg_release(&c);
	} else if (r != -ENOMEM) {
		abort();
	}
	xp_diags_release(&d);
	return 0;
}
