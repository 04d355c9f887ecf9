/*
 * xenprov/report.h - one inventory record with every value that applies to it and
 * where each came from: Cobbler's `cobbler system dumpvars`, for xenprov's layers.
 * Values are laid on in order, each layer overriding the one before, and a value that
 * was overridden is kept beside the one in force:
 *
 *   setting, default   the boot server's settings (xenprov settings), stored or default
 *   distro             the distro's fields, as distro.kernel, distro.initrd, ...
 *   parent profile     the profile's ancestors' values, the farthest first
 *   profile            the profile's own values
 *   system             the system's fields (mac, ip, hostname, netboot, ...)
 *   domain             a guest's record and its own values (create's KEY VALUE,
 *                      deploy's --set); "recorded" for a value it was made with that
 *                      its profile no longer gives
 *   lease              a DHCP lease's fields
 *   derived            what xenprov computes from the others: a system's boot command
 *                      line (distro options, system options, hostname=), as the boot
 *                      server writes it
 *
 * A distro's report is the settings and the distro; a profile's adds its chain; a
 * system's its own fields on top; a domain's is its record over its profile's values.
 * Secret values (xp_profile_key_secret) are in the report, marked: the views withhold
 * them unless asked.
 *
 * Not here: the inventory as a whole (inventory-snapshot.h), counts and tables.
 */
#ifndef XENPROV_REPORT_H
#define XENPROV_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/inventory.h"

struct xp_origin {
	const char *source; /* "setting", "default", "distro", "parent profile", "profile",
			       "system", "domain", "recorded", "lease", "derived" (static) */
	char *from;	    /* the record it came from ("web", "bookworm"); NULL for the
			       settings */
	char *value;
};

struct xp_report_value {
	char *key;
	struct xp_origin now;	    /* the value in force */
	struct xp_origin *shadowed; /* the values it overrode, the nearest first */
	size_t nshadowed;
	bool secret; /* xp_profile_key_secret(key) */
};

struct xp_report {
	struct xp_report_value *v; /* in the order keys first appeared */
	size_t n, cap;
};

/* The kinds of record: "distro", "profile", "system", "domain", "lease" (the lease's
 * name is its dotted address). */
bool xp_report_kind_valid(const char *kind);

/* Fills out with record name of kind. -ENOENT when there is no such record, -EINVAL
 * for an unknown kind, -ELOOP for a profile chain that loops, -ENOMEM, -EIO. */
int xp_report_explain(struct xp_inv *inv, const char *kind, const char *name,
		      struct xp_report *out);
void xp_report_release(struct xp_report *r);
/* The value of key in force, NULL if the report has none. */
const struct xp_report_value *xp_report_get(const struct xp_report *r, const char *key);

#endif
