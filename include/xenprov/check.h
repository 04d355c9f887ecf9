/*
 * xenprov/check.h - `xenprov check`: what on this host would stop provisioning, each
 * finding with its severity, what is wrong, why it matters and the command that fixes
 * it. Cobbler's `cobbler check` (cobbler/actions/check.py), for xenprov: the boot
 * server's addresses, TFTP root, boot loaders, ports and firewall; the inventory's
 * consistency; the guests' xl configs; the toolstack; default passwords. The checks
 * are a table (lib/check/check.c) run in order, each adding findings.
 *
 * Severities: an error stops provisioning (a client that cannot boot, a deploy that
 * fails); a warning is probably wrong or works only in part; a note is information.
 * The library only reads, except with fix, which links missing boot loaders into the
 * TFTP root from the Debian packages that ship them.
 *
 * Not here: the checks of one xl config (xl-lint.h, reused for the config directory).
 */
#ifndef XENPROV_CHECK_H
#define XENPROV_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/inventory.h"
#include "xenprov/util.h"

struct xp_finding {
	enum xp_severity severity;
	char *check;   /* the check that found it: "server", "boot-loader", "ports", ... */
	char *subject; /* what it is about: a setting, a file, a port, "profile 'web'" */
	char *what;    /* what is wrong: one sentence */
	char *why;     /* why it matters */
	char *fix;     /* the command (or commands) that fix it; NULL when none can be given */
	size_t count;  /* the records it is about (a finding can group many systems), >= 1 */
	bool fixed;    /* fixed by this run (fix): no longer counted */
};

struct xp_findings {
	struct xp_finding *v;
	size_t n, cap;
};

void xp_findings_release(struct xp_findings *f);
/* Adds a finding about one record (count 1); subject, why and fix may be NULL; what is
 * a printf format. 0 or -ENOMEM. */
int xp_finding_add(struct xp_findings *f, enum xp_severity sev, const char *check,
		   const char *subject, const char *why, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* The findings of severity sev that are not fixed. */
size_t xp_findings_count(const struct xp_findings *f, enum xp_severity sev);

struct xp_check_opts {
	/* Link (or, across filesystems, copy) the missing boot loaders of the TFTP root
	 * from the installed packages that ship them. */
	bool fix;
	/* The xl program (NULL: $XENPROV_XL, else xl on PATH, as xp_xl_open finds it). */
	const char *xl;
	/* For the config directory's lint (xl-lint.h): Xen's bin directory and the
	 * bootloader search path; NULL: the lint's defaults. */
	const char *xen_bindir, *path;
};

/* Runs every check in order, adding to out. 0 (whatever was found), or -errno when a
 * check could not run at all (-ENOMEM; the inventory unreadable: its reason in
 * xp_inv_errmsg). */
int xp_check_run(struct xp_inv *inv, const struct xp_check_opts *o, struct xp_findings *out);

/* The i-th check (from 0) in the order they run: its name and one line about what it
 * looks at (for --list and the man page). false past the last. */
bool xp_check_info(size_t i, const char **name, const char **about);

#endif
