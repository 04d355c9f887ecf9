/*
 * lint-internal.h - shared between config-lint.c (settings) and lint-devices.c
 * (disk and vif lists).
 */
#ifndef XP_XL_LINT_INTERNAL_H
#define XP_XL_LINT_INTERNAL_H

#include "xenprov/xl-lint.h"
#include "xl/name-index.h"

struct lint_mac {
	unsigned char b[6];
	char *file;
	unsigned line;
};

/* The first use of each MAC, indexed by its 6 bytes. */
struct xp_lint_set {
	struct lint_mac *macs;
	size_t n, cap;
	struct xp__nidx ix;
};

int xp__lint_diag(struct xp_diags *d, const struct xp_cfg *cfg, enum xp_severity sev,
		  unsigned line, unsigned col, const char *code, const char *text, const char *hint,
		  const char *fmt, ...) __attribute__((format(printf, 9, 10)));

/* disk = [...] and vif = [...]: each spec parsed as xl would; duplicate vdevs and MACs. */
int xp__lint_devices(const struct xp_cfg *cfg, const struct xp_lint_opts *opts,
		     struct xp_lint_set *set, struct xp_diags *diags);

/* With opts->host: the files a config boots from exist on this host: kernel and
 * ramdisk (unless a bootloader reads them from the guest's disk: not for hvm, whose
 * bootloader xl ignores), and the bootloader, found as libxl finds it. */
int xp__lint_boot_files(const struct xp_cfg *cfg, const struct xp_lint_opts *opts, bool hvm,
			struct xp_diags *d);

#endif
