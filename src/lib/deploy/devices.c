/*
 * devices.c - a guest's further disks and NICs (devices.h): the profile's data-disk,
 * swap-disk and nic values turned into planned volumes (path, vdev, UUID) and NICs
 * (MAC and address allocated in the create's transaction), the volumes made in order
 * and removed again.
 *
 * The disks are named <guest>.data1, <guest>.data2, ... and <guest>.swap in their pools
 * (files <name>.img or .qcow2, or logical volumes): a domain name holds no '.', so no
 * guest's root disk can have such a name. Their UUIDs are drawn here, before anything
 * is made, so that the record (which the guest's fstab and `domain show` follow) holds
 * them from the start; xen-tools makes the swap volume the same way, beside the disk.
 *
 * Not here: the items' syntax (inventory/profile-devices.c), the volumes' bytes
 * (storage.c), what names them in the guest and the config (customize.c, xlcfg.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "deploy/devices.h"

void xp__devices_release(struct xp__devices *dv)
{
	xp_cloud_seed_release(&dv->seed);
	xp_domain_volumes_free(dv->volumes, dv->nvolumes);
	free(dv->storage);
	xp_profile_list_free(dv->nic_items, dv->nnics);
	free(dv->specs);
	xp_domain_nics_free(dv->nics, dv->nics ? dv->nnics : 0);
	memset(dv, 0, sizeof(*dv));
}

int xp__pool_dir(const char *state_dir, const char *pool, char **out)
{
	/* the config names the disk by this path, and xl runs elsewhere: absolute */
	char cwd[PATH_MAX] = "";
	*out = NULL;
	if ((pool ? pool[0] : state_dir[0]) != '/' && !getcwd(cwd, sizeof(cwd)))
		return -errno;
	if (asprintf(out, "%s%s%s%s", cwd, cwd[0] ? "/" : "", pool ? pool : state_dir,
		     pool ? "" : "/disks") < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static char *new_uuid(void)
{
	uuid_t u;
	char *s = malloc(37);
	if (s) {
		uuid_generate_random(u);
		uuid_unparse_lower(u, s);
	}
	return s;
}

/* Where a further disk of kind goes: its own pool, else the guest's where the guest's
 * disks are of the same kind (a directory or a volume group), else the default
 * directory. */
static int disk_pool(const char *state_dir, enum xp_storage kind, const char *own,
		     enum xp_storage guest_kind, const char *guest_pool, size_t item,
		     char **out, struct xp_diags *d)
{
	bool lvm = kind == XP_STORAGE_LVM, guest_lvm = guest_kind == XP_STORAGE_LVM;
	*out = NULL;
	if (lvm && xp_lvm_available() < 0)
		return xp_diags_refuse(d, -ENOTSUP, "data-disk", NULL,
				       "use storage=file or qcow2 for the data disk",
				       "data disk %zu: storage lvm needs device-mapper "
				       "(/dev/mapper/control) and lvm2's tools, which this machine "
				       "lacks",
				       item);
	if (lvm) {
		const char *vg = own ? own : guest_lvm ? guest_pool : NULL;
		if (!vg)
			return xp_diags_refuse(d, -EINVAL, "data-disk", NULL,
					       "add pool=VG to the data-disk item",
					       "data disk %zu: storage lvm needs a volume group", item);
		return (*out = strdup(vg)) ? 0 : -ENOMEM;
	}
	if (own || !guest_lvm)
		return own ? xp__pool_dir(state_dir, own, out)
			   : (*out = strdup(guest_pool)) ? 0 : -ENOMEM;
	return xp__pool_dir(state_dir, NULL, out);
}

/* Adds a planned disk: its volume's path (refused if it exists), vdev, UUID. */
static int add_disk(struct xp__devices *dv, enum xp_storage kind, const char *pool,
		    const char *name, const char *volume, const char *role, uint64_t size,
		    const char *fs, const char *mount, struct xp_diags *d)
{
	struct xp_domain_volume *k = &dv->volumes[dv->nvolumes];
	memset(k, 0, sizeof(*k));
	dv->storage[dv->nvolumes] = kind;
	dv->nvolumes++;
	char vdev[8];
	snprintf(vdev, sizeof(vdev), "xvd%c", (char)('a' + dv->nvolumes));
	int r = xp_storage_volume_path(kind, pool, name, volume, &k->path);
	if (r < 0)
		return r == -ENOMEM ? r
				    : xp_diags_refuse(d, r, "pool", pool, NULL,
						      "'%s' cannot be a %s pool", pool,
						      xp_storage_name(kind));
	k->vdev = strdup(vdev);
	k->role = strdup(role);
	k->storage = strdup(xp_storage_name(kind));
	k->fs = strdup(fs);
	k->size = size;
	/* a filesystem or swap area we make gets its UUID now (a seed's ISO 9660 has
	 * none to give) */
	bool uuid = strcmp(fs, "none") != 0 && strcmp(fs, "iso9660") != 0;
	if (uuid)
		k->uuid = new_uuid();
	if (mount)
		k->mount = strdup(mount);
	if (!k->vdev || !k->role || !k->storage || !k->fs || (uuid && !k->uuid) ||
	    (mount && !k->mount))
		return -ENOMEM;
	struct stat st;
	if (lstat(k->path, &st) == 0)
		return xp_diags_refuse(d, -EEXIST, "disk", k->path,
				       "remove it, or pick another name",
				       "the disk %s exists already", k->path);
	return strcmp(fs, "xfs") == 0 ? xp_storage_volume_check(XP_VOLUME_XFS, d) : 0;
}

static int plan_disks(const char *state_dir, const struct xp_settings *s, const char *name,
		      enum xp_storage storage, const char *pool, struct xp__devices *dv,
		      struct xp_diags *d)
{
	char **items = NULL;
	size_t n = 0;
	const char *value = xp_settings_get(s, "data-disk");
	int r = value ? xp_profile_list_items("data-disk", value, &items, &n) : 0;
	const char *sw = xp_settings_get(s, "swap-disk");
	uint64_t swap = sw ? strtoull(sw, NULL, 10) : 0;
	if (r == 0) {
		dv->volumes = calloc(n + 2, sizeof(*dv->volumes)); /* and swap, seed */
		dv->storage = calloc(n + 2, sizeof(*dv->storage));
		if (!dv->volumes || !dv->storage)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct xp_data_disk dd;
		const char *why;
		enum xp_storage kind = storage;
		if (xp_data_disk_parse(items[i], &dd, &why) < 0 ||
		    (dd.storage && xp_storage_from_name(dd.storage, &kind) < 0)) {
			r = xp_diags_refuse(d, -EINVAL, "data-disk", NULL,
					    "see xenprov-profile(1), DATA DISKS",
					    "data disk %zu: not a stored data-disk item", i + 1);
			break;
		}
		char *where = NULL, volume[32];
		r = disk_pool(state_dir, kind, dd.pool, storage, pool, i + 1, &where, d);
		snprintf(volume, sizeof(volume), "data%zu", i + 1);
		if (r == 0)
			r = add_disk(dv, kind, where, name, volume, "data", dd.size,
				     xp_data_fs_name(dd.fs), dd.mount, d);
		free(where);
	}
	if (r == 0 && swap)
		r = add_disk(dv, storage, pool, name, "swap", "swap", swap, "swap", NULL, d);
	const char *ci = xp_settings_get(s, "cloud-init");
	if (r == 0 && ci && strcmp(ci, "on") == 0) {
		/* the seed: a file (read-only to the guest) beside the guest's files, or in
		 * the default directory for a guest on LVM; the last disk */
		if (dv->nvolumes >= XP_DATA_DISKS_MAX + 1)
			return xp_diags_refuse(d, -EINVAL, "cloud-init", NULL,
					       "one data disk fewer, or no swap-disk",
					       "no disk is left for the cloud-init seed (xvdb to "
					       "xvdz are taken)");
		char *where = NULL;
		r = disk_pool(state_dir, XP_STORAGE_FILE, NULL, storage, pool, 0, &where, d);
		if (r == 0)
			r = add_disk(dv, XP_STORAGE_FILE, where, name, "cidata", "seed",
				     XP_CLOUD_SEED_SIZE, "iso9660", NULL, d);
		free(where);
		dv->has_seed = r == 0;
	}
	xp_profile_list_free(items, n);
	return r;
}

static int plan_nics(const struct xp_settings *s, struct xp__devices *dv, struct xp_diags *d)
{
	const char *value = xp_settings_get(s, "nic");
	size_t n = 0;
	int r = value ? xp_profile_list_items("nic", value, &dv->nic_items, &n) : 0;
	dv->nnics = n;
	if (r == 0 && n && !(dv->specs = calloc(n, sizeof(*dv->specs))))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *why;
		if (xp_nic_parse(dv->nic_items[i], &dv->specs[i], &why) < 0)
			r = xp_diags_refuse(d, -EINVAL, "nic", NULL, "see xenprov-profile(1), NICS",
					    "NIC %zu: not a stored nic item: %s", i + 1, why);
	}
	return r;
}

int xp__devices_plan(const char *state_dir, const struct xp_settings *s, const char *name,
		     enum xp_storage storage, const char *pool, struct xp__devices *dv,
		     struct xp_diags *d)
{
	memset(dv, 0, sizeof(*dv));
	int r = plan_disks(state_dir, s, name, storage, pool, dv, d);
	return r < 0 ? r : plan_nics(s, dv, d);
}

int xp__devices_alloc(struct xp_inv *inv, const char *name, struct xp__devices *dv,
		      const uint8_t *prefix, size_t prefix_len, xp_random_fn rnd, void *ud,
		      const char *dns, struct xp_diags *d)
{
	if (dv->nnics && !(dv->nics = calloc(dv->nnics, sizeof(*dv->nics))))
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r == 0 && i < dv->nnics; i++) {
		const struct xp_nic_spec *sp = &dv->specs[i];
		struct xp_domain_nic *nic = &dv->nics[i];
		nic->devid = (unsigned)i + 1;
		uint8_t own[5];
		size_t own_len = 0;
		bool mine = sp->mac_prefix && xp_mac_prefix_parse(sp->mac_prefix, own, &own_len) == 0;
		char mac[XP_MAC_STRLEN + 1], ip[16] = "";
		r = xp_domain_alloc_mac(inv, mine ? own : prefix, mine ? own_len : prefix_len, rnd,
					ud, mac);
		if (r < 0) {
			xp_diags_refuse(d, r, "mac", NULL, NULL,
					"NIC %zu: cannot allocate a MAC address: %s", i + 1,
					strerror(-r));
			break;
		}
		const char *gw = sp->gateway && !sp->dhcp ? sp->gateway : NULL;
		if (!sp->dhcp) {
			r = xp_domain_alloc_ip(inv, sp->ip_pool, gw, dns, ip, &nic->prefix_len);
			if (r < 0) {
				xp_diags_refuse(d, r, "ip", sp->ip_pool,
						r == -ENOSPC ? "enlarge the pool, or delete guests"
							     : NULL,
						r == -ENOSPC ? "NIC %zu: the ip-pool %s has no free address"
							     : "NIC %zu: cannot allocate an address from %s",
						i + 1, sp->ip_pool);
				break;
			}
		}
		nic->mac = strdup(mac);
		nic->bridge = strdup(sp->bridge);
		nic->ip = ip[0] ? strdup(ip) : NULL;
		nic->gateway = sp->gateway ? strdup(sp->gateway) : NULL;
		if (!nic->mac || !nic->bridge || (ip[0] && !nic->ip) || (sp->gateway && !nic->gateway)) {
			r = -ENOMEM;
			break;
		}
		r = xp_domain_nic_insert(inv, name, nic);
		if (r < 0)
			xp_diags_refuse(d, r, "inventory", NULL, NULL, "cannot record NIC %zu: %s",
					i + 1, xp_inv_errmsg(inv));
	}
	return r;
}

int xp__devices_make(struct xp__devices *dv, struct xp_diags *d)
{
	int r = 0;
	for (; r == 0 && dv->made < dv->nvolumes; dv->made++) {
		const struct xp_domain_volume *k = &dv->volumes[dv->made];
		if (strcmp(k->role, "seed") == 0) {
			r = xp_cloud_seed_write(&dv->seed, k->path, k->size, d);
			if (r < 0)
				break;
			continue;
		}
		enum xp_volume_content content = strcmp(k->fs, "ext4") == 0  ? XP_VOLUME_EXT4
						 : strcmp(k->fs, "xfs") == 0  ? XP_VOLUME_XFS
						 : strcmp(k->fs, "swap") == 0 ? XP_VOLUME_SWAP
									      : XP_VOLUME_EMPTY;
		r = xp_storage_create_volume(dv->storage[dv->made], k->path, k->size, content,
					     k->uuid, d);
		if (r < 0)
			break;
	}
	return r;
}

int xp__devices_remove(const struct xp_domain_volume *disks, size_t n, struct xp_diags *d)
{
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		enum xp_storage kind = XP_STORAGE_FILE;
		xp_storage_from_name(disks[i].storage, &kind);
		int e = xp_storage_remove(kind, disks[i].path, d);
		if (r == 0)
			r = e;
	}
	return r;
}

int xp__devices_seed(struct xp_inv *inv, const char *name, const struct xp_settings *s,
		     const char *mac, const char *ip, unsigned prefix, struct xp__devices *dv,
		     struct xp_diags *d)
{
	if (!dv->has_seed)
		return 0;
	struct xp_template_nic *nics = calloc(1 + dv->nnics, sizeof(*nics));
	if (!nics)
		return -ENOMEM;
	const char *domain = xp_settings_get(s, "domain");
	/* the first NIC as the guest's own files have it (customize.c): a static
	 * address with the profile's gateway and name servers, or DHCP */
	nics[0] = (struct xp_template_nic){
	    .mac = mac,
	    .ip = ip,
	    .prefix = prefix,
	    .gateway = ip ? xp_settings_get(s, "gateway") : NULL,
	    .dhcp = !ip,
	    .default_route = true,
	    .dns = ip ? xp_settings_get(s, "dns") : NULL,
	    .domain = domain,
	};
	for (size_t i = 0; i < dv->nnics; i++) {
		const struct xp_domain_nic *n = &dv->nics[i];
		bool dhcp_gw = n->gateway && strcmp(n->gateway, "dhcp") == 0;
		nics[1 + i] = (struct xp_template_nic){
		    .mac = n->mac,
		    .ip = n->ip,
		    .prefix = n->prefix_len,
		    .gateway = n->gateway && !dhcp_gw ? n->gateway : NULL,
		    .dhcp = !n->ip,
		    .default_route = n->gateway != NULL,
		};
	}
	struct xp_settings server = {0};
	int r = xp_server_settings_get(inv, &server);
	struct xp_template_subject sub = {
	    .name = name,
	    .domain = domain,
	    .settings = s,
	    .server = &server,
	    .nics = nics,
	    .nnics = 1 + dv->nnics,
	};
	if (r == 0)
		r = xp_cloud_seed_render(inv, &sub, xp_settings_get(s, "autoinstall"), &dv->seed, d);
	xp_settings_release(&server);
	free(nics);
	return r;
}
