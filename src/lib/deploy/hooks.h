/*
 * hooks.h - the site's hooks (hooks.c): the executables of <state>/hooks.d, run for
 * each guest after xp_guest_apply (guest.h) has written its files and closed its disk.
 * Called by xp_guest_customize (customize.c); what a hook sees is documented for users
 * in xenprov-domain(1), HOOKS.
 *
 * Not here: the edits inside the guest's disk (image/guest-edit.c), running programs
 * (util/spawn.c: xp_spawn_wait).
 */
#ifndef XP_DEPLOY_HOOKS_H
#define XP_DEPLOY_HOOKS_H

#include <stddef.h>

#include "xenprov/guest.h"
#include "xenprov/util.h"

struct xp_guest_hooks {
	const char *dir;   /* host directory of executables, run in name order; NULL: none */
	const char *image; /* the guest's disk: the hooks' argument and XP_GUEST_IMAGE; every
			      diagnostic is about it */
	const char *name;  /* the guest's name (XP_GUEST_NAME); NULL: the host name */
};

/* Checks h before anything is done to the guest: dir is a directory (its stat(2) error,
 * or -ENOTDIR, code "hooks"), name is not empty and has no control characters (-EINVAL,
 * code "name"). Each failure has a diagnostic in d (may be NULL). */
int xp_guest_hooks_check(const struct xp_guest_hooks *h, struct xp_diags *d);

/* Runs every executable regular file of h->dir whose name does not start with '.', in
 * strcmp order of the names, each to its end before the next, with argv [hook,
 * h->image], stdin /dev/null, its output captured (xp_spawn_wait), and the environment
 * without any inherited XP_GUEST_* but with XP_GUEST_IMAGE, XP_GUEST_NAME,
 * XP_GUEST_HOSTNAME, XP_GUEST_DOMAIN, XP_GUEST_FQDN, XP_GUEST_IP, XP_GUEST_PREFIX,
 * XP_GUEST_GATEWAY, XP_GUEST_DNS (space-separated), XP_GUEST_DHCP (0/1), XP_GUEST_MAC
 * from s (as xp_guest_apply wrote them: xp_guest_prefix, xp_guest_mac), and
 * XP_GUEST_NET_FORMAT, XP_GUEST_ROOT_UUID, XP_GUEST_SWAP_UUID, XP_GUEST_FS_OFFSET from
 * rep (what xp_guest_apply found). The password hash is never passed.
 *
 * The first hook that fails stops the rest: -EIO with a diagnostic (code "hook", the
 * hook's path; its exit status or signal and what it printed). *nrun (may be NULL)
 * counts the hooks that ran, the failed one included. -errno (with a diagnostic) if
 * h->dir cannot be read. Nothing to do without h->dir. */
int xp_guest_hooks_run(const struct xp_guest_hooks *h, const struct xp_guest_settings *s,
		       const struct xp_guest_report *rep, size_t *nrun, struct xp_diags *d);

#endif
