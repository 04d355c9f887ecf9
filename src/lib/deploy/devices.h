/*
 * devices.h - a guest's further disks and NICs (profile keys data-disk, swap-disk and
 * nic; inventory.h) and its cloud-init seed volume (cloud-init), planned, allocated,
 * made and removed for xp_domain_create and xp_domain_delete (domain.c): private to
 * src/lib/deploy.
 *
 * Not here: the items' syntax (inventory/profile-devices.c), the volumes themselves
 * (storage.c), the guest's files and config that name them (customize.c, xlcfg.c).
 */
#ifndef XP_DEPLOY_DEVICES_H
#define XP_DEPLOY_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/domain.h"
#include "xenprov/template.h"

/* What a create makes beyond the root disk and the first NIC. */
struct xp__devices {
	struct xp_domain_volume *volumes; /* planned: paths, vdevs, new UUIDs; strings owned */
	enum xp_storage *storage;     /* each disk's backend */
	size_t nvolumes, made;	      /* made: how many volumes exist (in order) */
	char **nic_items;	      /* the nic items, cut in place by xp_nic_parse */
	struct xp_nic_spec *specs;    /* point into nic_items */
	struct xp_domain_nic *nics;   /* allocated by xp__devices_alloc; strings owned */
	size_t nnics;
	/* the cloud-init seed (profile key cloud-init on): its volume is the last, role
	 * "seed"; its files, rendered by xp__devices_seed, are written by
	 * xp__devices_make */
	struct xp_cloud_seed seed;
	bool has_seed;
};

void xp__devices_release(struct xp__devices *dv);

/* An absolute pool directory: pool (made absolute against the working directory), or
 * with pool NULL the state directory's disks/. Heap string. */
int xp__pool_dir(const char *state_dir, const char *pool, char **out);

/* Plans the further disks and NICs of guest name from its effective settings s: each
 * data disk on its storage (its own, else the guest's `storage`) in its pool (its own,
 * else the guest's `pool` where the kind is the same, else the default directory; an
 * lvm data disk of a guest on files needs one), at vdev xvdb, xvdc, ... and named
 * <name>.dataN; the swap volume (swap-disk) last, <name>.swap; each with a new random
 * UUID but fs none. Refused with a diagnostic: a stored item that does not read
 * (-EINVAL), a volume that exists (-EEXIST), fs=xfs without mkfs.xfs or lvm without
 * lvm2 (-ENOTSUP). */
int xp__devices_plan(const char *state_dir, const struct xp_settings *s, const char *name,
		     enum xp_storage storage, const char *pool, struct xp__devices *dv,
		     struct xp_diags *d);

/* Inside the create's transaction, after xp_domain_insert: each further NIC's MAC
 * (random in its mac-prefix, else in prefix/prefix_len: the first NIC's) and address
 * (the lowest free one of its ip-pool, none for DHCP), recorded one by one with
 * xp_domain_nic_insert so that the next sees them. dns: addresses no guest gets (the
 * profile's name servers). Errors with a diagnostic (-ENOSPC: a pool is full). */
int xp__devices_alloc(struct xp_inv *inv, const char *name, struct xp__devices *dv,
		      const uint8_t *prefix, size_t prefix_len, xp_random_fn rnd, void *ud,
		      const char *dns, struct xp_diags *d);

/* The cloud-init seed's files of guest name (after xp__devices_alloc: its NICs'
 * addresses are known): the first NIC mac, ip/prefix (ip NULL: DHCP), then the further
 * ones, from its effective settings s (user-data from the template its `autoinstall`
 * names, else cloud-init-user-data). Nothing without a seed volume planned. */
int xp__devices_seed(struct xp_inv *inv, const char *name, const struct xp_settings *s,
		     const char *mac, const char *ip, unsigned prefix, struct xp__devices *dv,
		     struct xp_diags *d);

/* Makes the planned volumes in order (xp_storage_create_volume; the seed with
 * xp_cloud_seed_write); dv->made counts those made. On failure the caller undoes with
 * xp__devices_remove. */
int xp__devices_make(struct xp__devices *dv, struct xp_diags *d);

/* Removes the volumes of disks (a missing one is no error): the first error is
 * returned, every one is tried. */
int xp__devices_remove(const struct xp_domain_volume *disks, size_t n, struct xp_diags *d);

#endif
