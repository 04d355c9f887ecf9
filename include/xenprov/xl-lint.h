/*
 * xenprov/xl-lint.h - what `xenprov config check` says about a parsed xl config beyond
 * the syntax: errors for what `xl create` would refuse (a bad disk or vif spec, a
 * non-number memory), warnings for what xl accepts but is probably wrong (unknown keys,
 * duplicate keys, memory above maxmem, no name, a PV guest with nothing to boot,
 * duplicate vdevs, bad or multicast MACs, MACs shared between guests, missing storage).
 *
 * Not here: the syntax (xl-config.h), disk and vif spec grammar (xl-disk.h, xl-vif.h).
 */
#ifndef XENPROV_XL_LINT_H
#define XENPROV_XL_LINT_H

#include <stdbool.h>

#include "xenprov/util.h"
#include "xenprov/xl-config.h"

/* State shared by the configs checked together (duplicate MACs across guests). */
struct xp_lint_set;

int xp_lint_set_new(struct xp_lint_set **ret);
void xp_lint_set_free(struct xp_lint_set *set);

struct xp_lint_opts {
	/* Also check that the files the config names exist on this host: `phy:` devices
	 * and file targets of disks; kernel and ramdisk (unless a bootloader reads them
	 * from the guest's disk); the bootloader, as libxl finds it (libxl_bootloader.c): a
	 * path as it is, a name in Xen's bin directory (xen_bindir) and else, as execvp(3)
	 * does, on path. */
	bool host;
	/* Root for host paths (tests); NULL for "/". */
	const char *host_root;
	/* Xen's bin directory, libxl's LIBEXEC_BIN; NULL: the first of XP_XEN_BINDIRS
	 * that exists. */
	const char *xen_bindir;
	/* The directories a bootloader's name is looked up in after Xen's bin directory,
	 * ':'-separated, as $PATH; NULL: XP_DEFAULT_PATH. */
	const char *path;
};

/* Where Xen installs its bin directory: upstream's defaults, then Debian's and
 * Ubuntu's versioned one (/usr/lib/xen-4.17/bin: the newest version there is). */
#define XP_XEN_BINDIRS "/usr/libexec/xen/bin:/usr/lib/xen/bin:/usr/local/lib/xen/bin:/usr/lib/xen-[0-9]*/bin"
/* execvp(3)'s path when $PATH is not set (glibc's confstr(_CS_PATH), with the sbins a
 * root's xl has). */
#define XP_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Adds warnings and errors about cfg to diags. set may be NULL. Returns -ENOMEM or 0. */
int xp_cfg_lint(const struct xp_cfg *cfg, const struct xp_lint_opts *opts,
		struct xp_lint_set *set, struct xp_diags *diags);

/* The names of the settings xl reads (sorted), for completion and did-you-mean. */
extern const char *const xp_cfg_known_keys[];

/* The closest known key to name within a small edit distance, or NULL. */
const char *xp_cfg_suggest_key(const char *name);

#endif
