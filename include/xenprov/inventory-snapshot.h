/*
 * xenprov/inventory-snapshot.h - the whole inventory read at once: every profile with
 * its own values, every distro, system, domain (and its further NICs) and lease, in a
 * handful of set-based queries inside one read transaction. What `xenprov check` and
 * `xenprov report` look at: the cost is a few queries whatever the number of systems,
 * never one query per record (10,000 systems read in a few tens of milliseconds).
 *
 * The arrays are sorted by name (strcmp order), so the lookups below are binary
 * searches. Secret values (a profile's root-password-hash) are in the snapshot as
 * stored: the views decide what they show (xp_profile_key_secret).
 *
 * Not here: what is wrong with the inventory (check.h), one record with the origin of
 * each of its values (report.h).
 */
#ifndef XENPROV_INVENTORY_SNAPSHOT_H
#define XENPROV_INVENTORY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/dhcp.h"
#include "xenprov/inventory.h"

struct xp_snap_profile {
	char *name;
	char *parent;		/* NULL: none */
	struct xp_settings own; /* its own values, in the order they were set */
};

/* A domain and each of its NICs: devid 0 is the domain's own MAC and IP. */
struct xp_snap_domain {
	char *name;
	char *profile;
	char *state; /* creating, ready, deleting, failed */
	char *mac, *ip;
	char *config_path, *disk_path;
};
struct xp_snap_nic {
	char *domain;
	unsigned devid; /* 1, 2, ...: the further NICs */
	char *mac, *ip;
};

struct xp_inv_snapshot {
	struct xp_snap_profile *profiles;
	size_t nprofiles;
	struct xp_distro *distros; /* as xp_distro_get reads them */
	size_t ndistros;
	struct xp_system *systems; /* as xp_system_get reads them */
	size_t nsystems;
	struct xp_snap_domain *domains;
	size_t ndomains;
	struct xp_snap_nic *nics;
	size_t nnics;
	struct xp_dhcp_lease *leases; /* by address */
	size_t nleases;
	char **install_marked; /* the systems marked to install themselves (autoinstall.h) */
	size_t ninstall_marked;
};

/* Reads the snapshot (in the caller's transaction, else a read transaction of its
 * own: writers are not blocked). 0 or -errno (the database's reason in
 * xp_inv_errmsg); on failure *out is empty. */
int xp_snapshot_read(struct xp_inv *inv, struct xp_inv_snapshot *out);
void xp_snapshot_release(struct xp_inv_snapshot *s);

/* Lookups by name: NULL when there is none. */
const struct xp_snap_profile *xp_snap_profile_find(const struct xp_inv_snapshot *s,
						   const char *name);
const struct xp_distro *xp_snap_distro_find(const struct xp_inv_snapshot *s, const char *name);
const struct xp_system *xp_snap_system_find(const struct xp_inv_snapshot *s, const char *name);
const struct xp_snap_domain *xp_snap_domain_find(const struct xp_inv_snapshot *s, const char *name);

/* The value of key for profile name as it takes effect: the profile's own, else its
 * nearest ancestor's (xp_profile_resolve's rule); NULL when none sets it, the profile
 * is not there or its chain loops. *from (may be NULL) gets the name of the profile
 * that sets it. Borrowed from the snapshot. */
const char *xp_snap_profile_value(const struct xp_inv_snapshot *s, const char *name,
				  const char *key, const char **from);

#endif
