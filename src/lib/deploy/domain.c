/*
 * domain.c - one guest's life in the inventory: create (plan, record, make, customise,
 * configure), delete, get and list. The order of a create and why it is safe is written
 * at the top of xenprov/domain.h; in short, the row and its planned artifacts are
 * committed before anything is made, so a failure (or a crash) always knows what to
 * remove, and the allocation of MAC and IP happens in the same transaction as the insert.
 *
 * Not here: the allocators (alloc.c), disks (storage.c), the further disks and NICs
 * (devices.c), the config text (xlcfg.c), the edits inside the guest
 * (xp_guest_customize).
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deploy/devices.h"
#include "deploy/install-internal.h"
#include "xenprov/domain.h"
#include "xenprov/imgstore.h"
#include "xenprov/toolstack.h"

bool xp_domain_name_valid(const char *name)
{
	/* RFC 1123 section 2.1 host name label, as the name is the guest's host name too */
	size_t n = strlen(name);
	if (n == 0 || n > 63 || name[0] == '-' || name[n - 1] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

/* r, what xp_domain_ip_taken or xp_domain_mac_taken (ip says which) said of value, as
 * a create's answer: 0 if it is free, -EEXIST naming who holds it, or the error. */
static int taken_by(struct xp_inv *inv, struct xp_diags *d, bool ip, const char *value, int r)
{
	if (r == 0)
		return 0;
	char who[128], *name;
	if (xp_domain_holder(inv, ip, value, &name) == 0) {
		snprintf(who, sizeof(who), "domain '%s'", name);
		free(name);
	} else {
		snprintf(who, sizeof(who), "another domain");
	}
	return r < 0 ? r
		     : xp_diags_refuse(d, -EEXIST, ip ? "ip" : "mac", value, NULL,
				       "the %s %s is taken by %s", ip ? "IP" : "MAC", value, who);
}

/* ---- create ------------------------------------------------------------------------------ */

struct plan {
	struct xp_settings s; /* effective values */
	enum xp_storage storage;
	char *pool;
	char *disk_path;
	char *config_path;
	bool want_ip; /* from the pool */
	bool ip_planned; /* ip is the deploy's plan from the pool: taken, the pool's next */
	char ip[16];  /* "" for none */
	unsigned prefix;
	char mac[XP_MAC_STRLEN + 1]; /* "" until allocated */
	struct xp_golden golden;
	enum xp_image_format disk_format;
	char *image_kernel, *image_ramdisk; /* kernel=from-image: the copies */
	struct xp__devices dv;		    /* further disks and NICs */
};

static void plan_release(struct plan *p)
{
	xp__devices_release(&p->dv);
	xp_settings_release(&p->s);
	free(p->pool);
	free(p->disk_path);
	free(p->config_path);
	free(p->image_kernel);
	free(p->image_ramdisk);
	xp_golden_release(&p->golden);
}

/* Everything that can be checked before anything is recorded or made. */
static int make_plan(struct xp_inv *inv, const struct xp_domain_create_opts *o, struct plan *p,
		     struct xp_diags *d)
{
	int r;
	if (!o->name || !xp_domain_name_valid(o->name))
		return xp_diags_refuse(d, -EINVAL, "name", o->name,
				       "1-63 letters, digits and '-' (it is also the host name)",
				       "'%s' is not a valid domain name", o->name ? o->name : "");
	if (!o->profile)
		return xp_diags_refuse(d, -EINVAL, "profile", NULL, NULL, "no profile given");
	r = 0;
	for (size_t i = 0; o->values && i < o->values->n && r == 0; i++)
		r = xp_settings_set(&p->s, o->values->v[i].key, o->values->v[i].value);
	if (!o->values)
		r = xp_profile_resolve(inv, o->profile, &p->s);
	if (r == -ENOENT)
		return xp_diags_refuse(d, r, "profile", o->profile, "see 'xenprov profile list'",
				       "no profile '%s'", o->profile);
	if (r < 0)
		return xp_diags_refuse(d, r, "profile", o->profile, NULL,
				       "cannot read profile '%s': %s", o->profile,
				       xp_inv_errmsg(inv));
	for (size_t i = 0; o->overrides && i < o->overrides->n; i++) {
		char *norm;
		r = xp_profile_check(o->overrides->v[i].key, o->overrides->v[i].value, &norm, d);
		if (r < 0)
			return r;
		r = xp_settings_set(&p->s, o->overrides->v[i].key, norm);
		free(norm);
		if (r < 0)
			return r;
	}

	/* how it boots, as far as is known before the golden image (host paths, methods) */
	r = xp_boot_check(&p->s, NULL, true, d);
	if (r < 0)
		return r;

	/* a domain of that name, or a MAC or IP asked for that is taken: say so now, before
	 * a golden image is built (the transaction checks again) */
	struct xp_domain old;
	r = xp_domain_get(inv, o->name, &old);
	if (r == 0) {
		xp_domain_release(&old);
		return xp_diags_refuse(d, -EEXIST, "name", o->name,
				       "delete it first, or pick another name",
				       "a domain '%s' exists already", o->name);
	}
	if (r != -ENOENT)
		return r;

	const char *storage = xp_settings_get(&p->s, "storage");
	if (xp_storage_from_name(storage ? storage : "file", &p->storage) < 0)
		return xp_diags_refuse(d, -EINVAL, "storage", storage,
				       "file, reflink, qcow2 or lvm", "unknown storage '%s'",
				       storage);
	const char *pool = xp_settings_get(&p->s, "pool");
	if (p->storage == XP_STORAGE_LVM) {
		if (xp_lvm_available() < 0)
			return xp_diags_refuse(
			    d, -ENOTSUP, "lvm", NULL, "use storage=file, reflink or qcow2",
			    "storage lvm needs device-mapper (/dev/mapper/control) and lvm2's "
			    "tools, which this machine lacks");
		if (!pool)
			return xp_diags_refuse(d, -EINVAL, "pool", NULL, "e.g. --pool vg0",
					       "storage lvm needs a pool: the volume group");
		p->pool = strdup(pool);
	} else if ((r = xp__pool_dir(xp_inv_state_dir(inv), pool, &p->pool)) < 0) {
		return r;
	}
	if (!p->pool)
		return -ENOMEM;
	if (pool && (r = xp_settings_set(&p->s, "pool", p->pool)) < 0)
		return r;
	r = xp_storage_path(p->storage, p->pool, o->name, &p->disk_path);
	if (r < 0)
		return xp_diags_refuse(d, r, "pool", p->pool, NULL, "'%s' cannot be a %s pool",
				       p->pool, xp_storage_name(p->storage));
	struct stat st;
	if (lstat(p->disk_path, &st) == 0)
		return xp_diags_refuse(d, -EEXIST, "disk", p->disk_path,
				       "remove it, or pick another name",
				       "the disk %s exists already", p->disk_path);
	r = xp__devices_plan(xp_inv_state_dir(inv), &p->s, o->name, p->storage, p->pool, &p->dv, d);
	if (r < 0)
		return r;

	char *cabs;
	if ((r = xp_domain_config_dir(inv, o->config_dir, &p->s, &cabs, d)) < 0)
		return r;
	int n = asprintf(&p->config_path, "%s/%s.cfg", cabs, o->name);
	free(cabs);
	if (n < 0) {
		p->config_path = NULL;
		return -ENOMEM;
	}
	if (lstat(p->config_path, &st) == 0)
		return xp_diags_refuse(d, -EEXIST, "config", p->config_path,
				       "xenprov does not overwrite a config it did not write",
				       "%s exists already", p->config_path);

	/* the network: an address asked for, the pool's next, or DHCP */
	const char *net = xp_settings_get(&p->s, "network");
	const char *ippool = xp_settings_get(&p->s, "ip-pool");
	const char *gw = xp_settings_get(&p->s, "gateway");
	if (o->ip) {
		r = xp_ip_check(o->ip, ippool, gw, p->ip, &p->prefix, d);
		if (r < 0)
			return r;
		if (!o->ip_planned &&
		    (r = taken_by(inv, d, true, p->ip, xp_domain_ip_taken(inv, p->ip))))
			return r;
		p->ip_planned = o->ip_planned && ippool;
	} else if (net && strcmp(net, "dhcp") == 0) {
		p->want_ip = false;
	} else if (ippool) {
		p->want_ip = true;
	} else if (net && strcmp(net, "static") == 0) {
		return xp_diags_refuse(d, -EINVAL, "network", NULL,
				       "set ip-pool in the profile, or give --ip",
				       "network static needs an ip-pool or an address");
	}
	if (o->mac) {
		struct xp_mac m;
		if (xp_mac_parse(o->mac, &m) < 0)
			return xp_diags_refuse(d, -EINVAL, "mac", o->mac, "e.g. 00:16:3e:12:34:56",
					       "'%s' is not a MAC address", o->mac);
		if (xp_mac_is_multicast(&m) || xp_mac_is_zero(&m))
			return xp_diags_refuse(d, -EINVAL, "mac", o->mac,
					       "a unicast address, e.g. 00:16:3e:12:34:56",
					       "%s cannot be a guest's MAC address", o->mac);
		xp_mac_format(&m, p->mac);
		if ((r = taken_by(inv, d, false, p->mac, xp_domain_mac_taken(inv, p->mac))))
			return r;
	}
	return 0;
}

/* The one transaction: name free, MAC and IP allocated, row and planned artifacts in. */

/* A guest made from a captured image's version (the profile's image "NAME@V", or
 * "NAME": its latest now) records which (xenprov/imgstore.h), for `image update` and
 * `domain list --drift`. */
static int record_image_version(struct xp_inv *inv, const char *name, const struct xp_settings *s)
{
	const char *img = xp_settings_get(s, "image");
	struct xp_imgver v = {0};
	if (!img || xp_imgver_lookup(xp_inv_state_dir(inv), img, &v, NULL) != 1) {
		xp_imgver_release(&v);
		return 0;
	}
	int r = xp_domain_set_image_version(inv, name, v.name, v.version);
	xp_imgver_release(&v);
	return r;
}

static int record(struct xp_inv *inv, const struct xp_domain_create_opts *o, struct plan *p,
		  struct xp_diags *d)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return xp_diags_refuse(d, r, "inventory", NULL, NULL,
				       "cannot write the inventory: %s", xp_inv_errmsg(inv));
	struct xp_domain old;
	r = xp_domain_get(inv, o->name, &old);
	if (r == 0) {
		xp_domain_release(&old);
		r = xp_diags_refuse(d, -EEXIST, "name", o->name, NULL,
				    "a domain '%s' exists already", o->name);
		goto fail;
	}
	if (r != -ENOENT)
		goto fail;
	/* the prefix: given by the caller, else the profile's mac-prefix, else Xen's */
	const uint8_t *prefix = o->mac_prefix;
	size_t prefix_len = o->mac_prefix_len;
	uint8_t profile_prefix[5];
	const char *ps = xp_settings_get(&p->s, "mac-prefix");
	if (!prefix && ps && xp_mac_prefix_parse(ps, profile_prefix, &prefix_len) == 0)
		prefix = profile_prefix;
	if (!prefix)
		prefix_len = 0;
	if (!p->mac[0]) {
		r = xp_domain_alloc_mac(inv, prefix, prefix_len, o->rnd, o->rnd_ud, p->mac);
		if (r < 0) {
			xp_diags_refuse(d, r, "mac", NULL, NULL,
					"cannot allocate a MAC address: %s", strerror(-r));
			goto fail;
		}
	} else if ((r = xp_domain_mac_taken(inv, p->mac)) != 0) {
		r = r < 0 ? r
			  : xp_diags_refuse(d, -EEXIST, "mac", p->mac, NULL, "the MAC %s is taken",
					    p->mac);
		goto fail;
	}
	/* another process (a dom0 sharing the inventory) took the planned address since
	 * the plan: the pool's next free one, decided here under the write lock */
	if (p->ip_planned && (r = xp_domain_ip_taken(inv, p->ip)) != 0) {
		if (r < 0)
			goto fail;
		p->want_ip = true;
	}
	if (p->want_ip) {
		const char *pool = xp_settings_get(&p->s, "ip-pool");
		r = xp_domain_alloc_ip(inv, pool, xp_settings_get(&p->s, "gateway"),
				       xp_settings_get(&p->s, "dns"), p->ip, &p->prefix);
		if (r == -ENOSPC) {
			xp_diags_refuse(d, r, "ip", pool, "enlarge the pool, or delete guests",
					"the ip-pool %s has no free address", pool);
			goto fail;
		}
		if (r < 0) {
			xp_diags_refuse(d, r, "ip", pool, NULL,
					"cannot allocate an address from %s: %s", pool,
					strerror(-r));
			goto fail;
		}
	} else if (p->ip[0] && (r = xp_domain_ip_taken(inv, p->ip)) != 0) {
		r = r < 0 ? r
			  : xp_diags_refuse(d, -EEXIST, "ip", p->ip, NULL, "the IP %s is taken",
					    p->ip);
		goto fail;
	}

	/* the guest's own values as they took effect (checked, normalised: an absolute
	 * pool), kept apart so that a comparison with the profile keeps them */
	struct xp_settings own = {0};
	r = 0;
	for (size_t i = 0; r == 0 && o->overrides && i < o->overrides->n; i++) {
		const char *v = xp_settings_get(&p->s, o->overrides->v[i].key);
		if (v)
			r = xp_settings_set(&own, o->overrides->v[i].key, v);
	}
	struct xp_domain_new row = {
	    .name = o->name,
	    .profile = o->values ? NULL : o->profile,
	    .mac = p->mac,
	    .ip = p->ip[0] ? p->ip : NULL,
	    .prefix_len = p->prefix,
	    .storage = xp_storage_name(p->storage),
	    .disk_path = p->disk_path,
	    .config_path = p->config_path,
	    .golden = p->golden.path,
	    .settings = &p->s,
	    .overrides = &own,
	    .deploy_id = o->deploy_id,
	    .volumes = p->dv.volumes,
	    .nvolumes = p->dv.nvolumes,
	};
	if (r == 0)
		r = xp_domain_insert(inv, &row);
	xp_settings_release(&own);
	if (r == 0)
		r = record_image_version(inv, o->name, &p->s);
	if (r < 0) {
		xp_diags_refuse(d, r, "inventory", NULL, NULL, "cannot record the domain: %s",
				xp_inv_errmsg(inv));
		goto fail;
	}
	/* the further NICs, after the first is in: each sees the MACs and IPs before it */
	r = xp__devices_alloc(inv, o->name, &p->dv, prefix, prefix_len, o->rnd, o->rnd_ud,
			      xp_settings_get(&p->s, "dns"), d);
	if (r < 0)
		goto fail;
	r = xp_inv_commit(inv);
	if (r < 0)
		return xp_diags_refuse(d, r, "inventory", NULL, NULL,
				       "cannot record the domain: %s", xp_inv_errmsg(inv));
	return 0;
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_domain_create(struct xp_inv *inv, const struct xp_domain_create_opts *o,
		     struct xp_domain *out, struct xp_diags *d)
{
	if (out)
		memset(out, 0, sizeof(*out));
	struct plan p;
	memset(&p, 0, sizeof(p));
	p.golden.root_offset = -1;
	struct xp_guest_report guest = {0};
	int r = make_plan(inv, o, &p, d);
	if (r < 0)
		goto out;
	if (o->empty_disk) {
		r = 0;
	} else if (o->golden) {
		r = xp_golden_copy(o->golden, &p.golden);
	} else {
		r = xp_golden_prepare(xp_inv_state_dir(inv), &p.s, o->progress, o->phase,
				      o->progress_ud, &p.golden, d);
	}
	if (r < 0)
		goto out;
	/* and with the kernels the golden image has; from-image's copy is made once per
	 * golden image and shared */
	r = o->empty_disk ? 0 : xp_boot_check(&p.s, &p.golden.kernels, true, d);
	const char *kernel = xp_settings_get(&p.s, "kernel"), *boot = xp_settings_get(&p.s, "boot");
	if (r == 0 && boot && strcmp(boot, "kernel") == 0 &&
	    strcmp(kernel, XP_DOMAIN_KERNEL_FROM_IMAGE) == 0)
		r = xp_boot_image_kernel(xp_inv_state_dir(inv), &p.golden, &p.image_kernel,
					 &p.image_ramdisk, d);
	if (r < 0)
		goto out;
	r = record(inv, o, &p, d);
	if (r < 0)
		goto out;

	/* from here on the row exists: undo on failure */
	bool disk_made = false, config_made = false;
	/* the cloud-init seed's files, now that the NICs have their addresses */
	r = xp__devices_seed(inv, o->name, &p.s, p.mac, p.ip[0] ? p.ip : NULL, p.prefix, &p.dv, d);
	if (r < 0)
		goto undo;
	if (o->empty_disk) {
		uint64_t size = 0;
		const char *ds = xp_settings_get(&p.s, "disk-size");
		if (!ds || xp_parse_size(ds, &size) < 0 || size == 0) {
			r = xp_diags_refuse(d, -EINVAL, "disk-size", ds, "e.g. --disk-size 8G",
					    "an empty disk needs the profile's disk-size");
			goto undo;
		}
		r = xp_storage_create_volume(p.storage, p.disk_path, size, XP_VOLUME_EMPTY, NULL,
					     d);
		p.disk_format = p.storage == XP_STORAGE_QCOW2 ? XP_IMAGE_QCOW2 : XP_IMAGE_RAW;
	} else {
		r = xp_storage_create(p.storage, &p.golden, p.pool, o->name, p.disk_path,
				      o->defer_sync ? XP_STORAGE_NOSYNC : 0, &p.disk_format, d);
	}
	if (r < 0)
		goto undo;
	disk_made = true;
	if ((r = xp__devices_make(&p.dv, d)) < 0)
		goto undo;

	struct xp_guest_spec spec = {
	    .name = o->name,
	    .hostname = o->name,
	    .domain = xp_settings_get(&p.s, "domain"),
	    .mac = p.mac,
	    .ip = p.ip[0] ? p.ip : NULL,
	    .prefix_len = p.ip[0] ? p.prefix : 0,
	    .gateway = xp_settings_get(&p.s, "gateway"),
	    .dns = xp_settings_get(&p.s, "dns"),
	    .root_password_hash = xp_settings_get(&p.s, "root-password-hash"),
	    .ssh_key = xp_settings_get(&p.s, "ssh-key"),
	    .timezone = xp_settings_get(&p.s, "timezone"),
	    .copy_in = xp_settings_get(&p.s, "copy-in"),
	    .write = xp_settings_get(&p.s, "write"),
	    .firstboot = xp_settings_get(&p.s, "firstboot-command"),
	    .disk_path = p.disk_path,
	    .disk_format = p.disk_format,
	    .golden_path = p.golden.path,
	    .root_offset = p.golden.root_offset,
	    .fs_type = p.golden.fs_type,
	    /* an unset boot with a kernel-less image was only warned about */
	    .grub = xp_boot_grub(&p.s) && p.golden.kernels.n > 0,
	    .kernel_args = xp_settings_get(&p.s, "extra"),
	    .no_sync = o->defer_sync,
	    .nics = p.dv.nics,
	    .nnics = p.dv.nnics,
	    .volumes = p.dv.volumes,
	    .nvolumes = p.dv.nvolumes,
	};
	char hooks[4200];
	struct stat hst;
	snprintf(hooks, sizeof(hooks), "%s/hooks.d", xp_inv_state_dir(inv));
	if (stat(hooks, &hst) == 0 && S_ISDIR(hst.st_mode))
		spec.hooks_dir = hooks;
	r = o->empty_disk ? 0 : xp_guest_customize(&spec, &guest, d);
	if (r < 0) {
		xp_diags_refuse(d, r, "customize", o->name, NULL,
				"cannot set up the guest's files: %s", strerror(-r));
		goto undo;
	}

	struct xp_guest_config gc = {
	    .name = o->name,
	    .settings = &p.s,
	    .storage = p.storage,
	    .disk_path = p.disk_path,
	    .disk_format = p.disk_format,
	    .mac = p.mac,
	    .ip = p.ip[0] ? p.ip : NULL,
	    .profile = o->profile,
	    .guest = &guest,
	    .image_kernel = p.image_kernel,
	    .image_ramdisk = p.image_ramdisk,
	    .no_sync = o->defer_sync,
	    .volumes = p.dv.volumes,
	    .nvolumes = p.dv.nvolumes,
	    .nics = p.dv.nics,
	    .nnics = p.dv.nnics,
	};
	/* a config that appeared since the plan is not ours: never replace it */
	struct stat st;
	if (lstat(p.config_path, &st) == 0) {
		r = xp_diags_refuse(d, -EEXIST, "config", p.config_path, NULL, "%s exists already",
				    p.config_path);
		goto undo;
	}
	r = xp_guest_config_write(&gc, p.config_path, d);
	if (r < 0)
		goto undo;
	config_made = true;
	if (o->autostart && (r = xp_autostart_set(p.config_path, true, d)) < 0)
		goto undo;
	/* deferred: "creating" until the caller has synced (xp_deploy_run) */
	r = o->defer_sync ? 0 : xp_domain_set_state(inv, o->name, "ready");
	if (r < 0) {
		xp_diags_refuse(d, r, "inventory", NULL, NULL, "cannot record the domain: %s",
				xp_inv_errmsg(inv));
		goto undo;
	}
	if (out)
		r = xp_domain_get(inv, o->name, out);
	goto out;

undo:
	if (config_made && xp_autostart_get(p.config_path) == 1)
		xp_autostart_set(p.config_path, false, NULL);
	if (config_made)
		unlink(p.config_path);
	int u = disk_made ? xp_storage_remove(p.storage, p.disk_path, d) : 0;
	int v = xp__devices_remove(p.dv.volumes, p.dv.made, d);
	if (u == 0)
		u = v;
	/* if the disk could not be removed, keep the record so that delete can retry */
	if (u < 0 || xp_domain_forget(inv, o->name) < 0)
		xp_domain_set_state(inv, o->name, "failed");
out:
	xp_guest_report_release(&guest);
	plan_release(&p);
	return r;
}

/* ---- delete ------------------------------------------------------------------------------ */

int xp_domain_find(struct xp_inv *inv, const char *name, struct xp_domain *out,
		   struct xp_diags *d)
{
	int r = xp_domain_get(inv, name, out);
	if (r == -ENOENT)
		return xp_diags_refuse(d, r, "name", name, "see 'xenprov domain list'",
				       "no domain '%s'", name);
	if (r < 0)
		return xp_diags_refuse(d, r, "inventory", NULL, NULL,
				       "cannot read the inventory: %s", xp_inv_errmsg(inv));
	return 0;
}

int xp_domain_delete(struct xp_inv *inv, const char *name, bool keep_storage, struct xp_diags *d)
{
	struct xp_domain dom;
	int r = xp_domain_find(inv, name, &dom, d);
	if (r < 0)
		return r;
	r = xp_domain_set_state(inv, name, "deleting");
	if (r < 0) {
		xp_diags_refuse(d, r, "inventory", NULL, NULL, "cannot update the inventory: %s",
				xp_inv_errmsg(inv));
		goto out;
	}
	/* what was planned: a half-made guest has some of these, a crash may have left any */
	struct xp_artifact *art;
	size_t nart;
	r = xp_domain_artifacts(inv, name, &art, &nart);
	if (r < 0)
		goto out;
	enum xp_storage storage = XP_STORAGE_FILE;
	if (dom.storage)
		xp_storage_from_name(dom.storage, &storage);
	for (size_t i = 0; i < nart && r == 0; i++) {
		const char *kind = art[i].kind, *path = art[i].path;
		if (strcmp(kind, "config") == 0) {
			/* the link first: xendomains never meets one leading nowhere */
			if (xp_autostart_get(path) == 1)
				r = xp_autostart_set(path, false, d);
			if (r == 0 && unlink(path) < 0 && errno != ENOENT)
				r = xp_diags_refuse(d, -errno, "config", path, NULL,
						    "cannot remove %s: %s", path, strerror(errno));
			/* and what a write killed half way may have left beside it */
			xp_write_atomic_cleanup(path);
		} else if (strcmp(kind, "disk") == 0 && !keep_storage) {
			r = xp_storage_remove(storage, path, d);
		}
	}
	xp_artifacts_free(art, nart);
	/* the further disks, planned with the row: those a crash left unmade are missing,
	 * which is no error */
	if (r == 0 && !keep_storage)
		r = xp__devices_remove(dom.volumes, dom.nvolumes, d);
	if (r < 0)
		goto out;
	r = xp_domain_forget(inv, name);
	if (r < 0)
		xp_diags_refuse(d, r, "inventory", NULL, NULL, "cannot update the inventory: %s",
				xp_inv_errmsg(inv));
	else /* an installer's files, when it was not switched to its disk yet */
		xp__installer_forget(xp_inv_state_dir(inv), name);
out:
	xp_domain_release(&dom);
	return r;
}
