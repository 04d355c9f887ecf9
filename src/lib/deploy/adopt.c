/*
 * adopt.c - `domain adopt`: a machine that installed itself onto a disk of its own (the
 * autoinstaller, or an operator by hand) taken into the inventory as an HVM guest, the
 * Book of Xen's makeconf.pl. Its identity is the system record's (MAC, reserved
 * address); its size is the system's profile's (memory, vcpus, bridge) with the
 * operator's overrides; its disk stays the operator's (no artifact: `domain delete`
 * removes the config and the record, never the disk).
 *
 * Order: check everything that can be checked first (name, system, disk, overrides,
 * config path); ONE transaction records the row (MAC and address checked free in it,
 * the UNIQUE constraints behind them) with only the config as its artifact; the config
 * is written atomically; then state ready and the autostart link. A failure after the
 * row removes the config and the row.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenprov/domain.h"
#include "xenprov/image.h"
#include "xenprov/toolstack.h"

/* The disk's format: qcow2 by its magic ("QFI\xfb"), raw otherwise. */
static enum xp_image_format disk_format(const char *path)
{
	unsigned char magic[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, magic, sizeof(magic)) != (ssize_t)sizeof(magic))
			memset(magic, 0, sizeof(magic));
		close(fd);
	}
	return memcmp(magic, "QFI\xfb", 4) == 0 ? XP_IMAGE_QCOW2 : XP_IMAGE_RAW;
}

/* The prefix length of the address ip: that of the boot server's pool whose subnet holds
 * it (the machine took it from that pool's DHCP), else 32. */
static unsigned ip_prefix(struct xp_inv *inv, const char *ip)
{
	unsigned prefix = 32;
	struct in_addr a, start, mask;
	struct xp_settings st = {0};
	struct xp_server_pool *pools = NULL;
	size_t n = 0;
	if (!ip || inet_pton(AF_INET, ip, &a) != 1 || xp_server_settings_get(inv, &st) < 0 ||
	    xp_server_pools(&st, &pools, &n, NULL) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (inet_pton(AF_INET, pools[i].range_start, &start) == 1 &&
		    inet_pton(AF_INET, pools[i].netmask, &mask) == 1 &&
		    (a.s_addr & mask.s_addr) == (start.s_addr & mask.s_addr)) {
			prefix = (unsigned)__builtin_popcount(mask.s_addr);
			break;
		}
	xp_server_pools_free(pools, n);
	xp_settings_release(&st);
	return prefix;
}

/* The disk is no other domain's, and a block device is not in use here (mounted, or
 * held by device-mapper or md: open(2) O_EXCL fails with EBUSY). */
static int disk_free(struct xp_inv *inv, const char *disk, bool phy, struct xp_diags *d)
{
	if (phy) {
		int fd = open(disk, O_RDONLY | O_EXCL | O_CLOEXEC);
		if (fd < 0)
			return xp_diags_refuse(d, errno == EBUSY ? -EBUSY : -errno, "disk", disk,
					       errno == EBUSY ? "unmount it first" : NULL,
					       "cannot use %s: %s", disk,
					       errno == EBUSY ? "it is in use here (mounted?)"
							      : strerror(errno));
		close(fd);
	}
	struct xp_domain *v = NULL;
	size_t n = 0;
	int r = xp_domain_list(inv, &v, &n);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (v[i].disk_path && strcmp(v[i].disk_path, disk) == 0)
			r = xp_diags_refuse(d, -EEXIST, "disk", disk, NULL,
					    "%s is the disk of domain '%s'", disk, v[i].name);
	for (size_t i = 0; i < n; i++)
		xp_domain_release(&v[i]);
	free(v);
	return r;
}

/* The system's profile's values (none for a system of a distro), then the overrides,
 * each checked as a profile value; type hvm last: what the config is. */
static int values(struct xp_inv *inv, const struct xp_system *sys,
		  const struct xp_settings *over, struct xp_settings *s, struct xp_diags *d)
{
	int r = 0;
	if (sys->profile && (r = xp_profile_resolve(inv, sys->profile, s)) < 0)
		return xp_diags_refuse(d, r, "profile", sys->profile, NULL,
				       "cannot read profile '%s' of system '%s': %s", sys->profile,
				       sys->name, r == -ENOENT ? "no such profile" : xp_inv_errmsg(inv));
	for (size_t i = 0; over && i < over->n; i++) {
		const char *key = over->v[i].key;
		if (strcmp(key, "type") == 0 || strcmp(key, "boot") == 0 ||
		    strcmp(key, "kernel") == 0)
			return xp_diags_refuse(d, -EINVAL, key, over->v[i].value,
					       "an adopted machine boots its disk as an HVM guest",
					       "%s cannot be set for an adopted machine", key);
		char *norm;
		if ((r = xp_profile_check(key, over->v[i].value, &norm, d)) < 0)
			return r;
		r = xp_settings_set(s, key, norm);
		free(norm);
		if (r < 0)
			return r;
	}
	return xp_settings_set(s, "type", "hvm");
}

/* The MAC and the address are no domain's: -EEXIST naming the holder. */
static int identity_free(struct xp_inv *inv, const struct xp_system *sys, struct xp_diags *d)
{
	for (int ip = 0; ip < 2; ip++) {
		const char *v = ip ? sys->ip : sys->mac;
		if (!v)
			continue;
		int r = ip ? xp_domain_ip_taken(inv, v) : xp_domain_mac_taken(inv, v);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		char *holder = NULL;
		xp_domain_holder(inv, ip, v, &holder);
		r = xp_diags_refuse(d, -EEXIST, ip ? "ip" : "mac", v, NULL,
				    "the %s %s of system '%s' is domain '%s''s", ip ? "IP" : "MAC", v,
				    sys->name, holder ? holder : "?");
		free(holder);
		return r;
	}
	return 0;
}

static int record(struct xp_inv *inv, const struct xp_domain_adopt_opts *o,
		  const struct xp_system *sys, const char *storage, const char *disk,
		  const char *config, const struct xp_settings *s, struct xp_diags *d)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return xp_diags_refuse(d, r, "inventory", NULL, NULL,
				       "cannot write the inventory: %s", xp_inv_errmsg(inv));
	struct xp_domain old;
	if ((r = xp_domain_get(inv, o->name, &old)) == 0) {
		xp_domain_release(&old);
		r = xp_diags_refuse(d, -EEXIST, "name", o->name, NULL,
				    "a domain '%s' exists already", o->name);
	} else if (r == -ENOENT && (r = identity_free(inv, sys, d)) == 0) {
		/* the guest's own values as they took effect (checked, normalised), as
		 * domain create records them */
		struct xp_settings own = {0};
		for (size_t i = 0; r == 0 && o->overrides && i < o->overrides->n; i++) {
			const char *v = xp_settings_get(s, o->overrides->v[i].key);
			if (v)
				r = xp_settings_set(&own, o->overrides->v[i].key, v);
		}
		struct xp_domain_new row = {
		    .name = o->name,
		    .mac = sys->mac,
		    .ip = sys->ip,
		    .prefix_len = sys->ip ? ip_prefix(inv, sys->ip) : 0,
		    .storage = storage,
		    .disk_path = disk,
		    .config_path = config,
		    .settings = s,
		    .overrides = &own,
		    .disk_kept = true,
		};
		if (r == 0 && (r = xp_domain_insert(inv, &row)) < 0)
			xp_diags_refuse(d, r, "inventory", NULL, NULL,
					"cannot record the domain: %s", xp_inv_errmsg(inv));
		xp_settings_release(&own);
	}
	if (r < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	if ((r = xp_inv_commit(inv)) < 0)
		return xp_diags_refuse(d, r, "inventory", NULL, NULL,
				       "cannot record the domain: %s", xp_inv_errmsg(inv));
	return 0;
}

int xp_domain_adopt(struct xp_inv *inv, const struct xp_domain_adopt_opts *o,
		    struct xp_domain *out, struct xp_diags *d)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (!o->name || !xp_domain_name_valid(o->name))
		return xp_diags_refuse(d, -EINVAL, "name", o->name,
				       "1-63 letters, digits and '-' (it is also the host name)",
				       "'%s' is not a valid domain name", o->name ? o->name : "");
	if (!o->disk || !*o->disk)
		return xp_diags_refuse(d, -EINVAL, "disk", NULL, NULL, "no disk given");
	const char *sysname = o->system ? o->system : o->name;
	struct xp_system sys = {0};
	struct xp_settings s = {0};
	char *disk = NULL, *dir = NULL, *config = NULL;
	int r = xp_system_get(inv, sysname, &sys);
	if (r < 0) {
		r = xp_diags_refuse(d, r, "system", sysname,
				    r == -ENOENT ? "name it with --system S" : NULL,
				    r == -ENOENT ? "no system '%s'" : "cannot read system '%s': %s",
				    sysname, xp_inv_errmsg(inv));
		goto out;
	}
	struct xp_domain old;
	if ((r = xp_domain_get(inv, o->name, &old)) == 0) {
		xp_domain_release(&old);
		r = xp_diags_refuse(d, -EEXIST, "name", o->name,
				    "delete it first (--keep-storage keeps a made guest's disk)",
				    "a domain '%s' exists already", o->name);
		goto out;
	}
	struct stat st;
	if (stat(o->disk, &st) < 0) {
		r = xp_diags_refuse(d, -errno, "disk", o->disk, NULL, "cannot use the disk %s: %s",
				    o->disk, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		r = xp_diags_refuse(d, -EINVAL, "disk", o->disk, NULL,
				    "%s is neither a disk image file nor a block device", o->disk);
		goto out;
	}
	if (!(disk = realpath(o->disk, NULL))) {
		r = -errno;
		goto out;
	}
	bool phy = S_ISBLK(st.st_mode);
	if ((r = disk_free(inv, disk, phy, d)) < 0)
		goto out;
	enum xp_image_format format = phy ? XP_IMAGE_RAW : disk_format(disk);
	enum xp_storage storage = phy ? XP_STORAGE_PHY : XP_STORAGE_FILE;
	if ((r = values(inv, &sys, o->overrides, &s, d)) < 0)
		goto out;
	if ((r = xp_domain_config_dir(inv, o->config_dir, &s, &dir, d)) < 0)
		goto out;
	if (asprintf(&config, "%s/%s.cfg", dir, o->name) < 0) {
		config = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (lstat(config, &st) == 0) {
		r = xp_diags_refuse(d, -EEXIST, "config", config, "remove it, or pick another name",
				    "%s exists already", config);
		goto out;
	}
	if ((r = record(inv, o, &sys, xp_storage_name(storage), disk, config, &s, d)) < 0)
		goto out;

	struct xp_guest_config gc = {
	    .name = o->name,
	    .settings = &s,
	    .storage = storage,
	    .disk_path = disk,
	    .disk_format = format,
	    .mac = sys.mac,
	    .profile = sys.profile,
	};
	r = xp_guest_config_write(&gc, config, d);
	if (r == 0 && (r = xp_domain_set_state(inv, o->name, "ready")) < 0)
		xp_diags_refuse(d, r, "inventory", NULL, NULL, "cannot update the inventory: %s",
				xp_inv_errmsg(inv));
	if (r == 0 && o->autostart)
		r = xp_autostart_set(config, true, d);
	if (r < 0) {
		xp_autostart_set(config, false, NULL);
		unlink(config);
		xp_domain_forget(inv, o->name);
		goto out;
	}
	if (sys.netboot)
		xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "netboot", sysname,
			     "see 'xenprov system show'",
			     "system '%s' still boots from the network: its install may not "
			     "have finished",
			     sysname);
	if (out && (r = xp_domain_find(inv, o->name, out, d)) < 0)
		goto out;
	r = 0;
out:
	free(config);
	free(dir);
	free(disk);
	xp_settings_release(&s);
	xp_system_release(&sys);
	return r;
}
