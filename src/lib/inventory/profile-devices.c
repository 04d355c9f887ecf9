/*
 * profile-devices.c - the items of the profile's data-disk and nic lists (inventory.h):
 * a guest's further disks and NICs, read in place and written in their stored form.
 * Both are comma-separated options after the pattern of xl's own disk and vif specs
 * (xl-disk-configuration(5), xl-network-configuration(5)): KEY=VALUE, each at most once.
 *
 * Not here: the list mechanics (profile.c), making the disks and allocating the NICs'
 * addresses (deploy/domain.c, deploy/storage.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "inventory/values-internal.h"
#include "xenprov/guest.h"
#include "xenprov/mac.h"

static const char *const fs_names[] = {[XP_DATA_FS_EXT4] = "ext4",
				       [XP_DATA_FS_XFS] = "xfs",
				       [XP_DATA_FS_NONE] = "none"};

const char *xp_data_fs_name(enum xp_data_fs fs)
{
	return (unsigned)fs < sizeof(fs_names) / sizeof(fs_names[0]) ? fs_names[fs] : NULL;
}

/* The next option of *pos ("KEY=VALUE" up to a ','), cut in place: *key and *value, 1;
 * 0 at the end; -EINVAL for an option without '=' or an empty one. */
static int next_option(char **pos, char **key, char **value)
{
	char *p = *pos;
	if (!p)
		return 0;
	char *comma = strchr(p, ',');
	if (comma)
		*comma = '\0';
	*pos = comma ? comma + 1 : NULL;
	char *eq = strchr(p, '=');
	if (!eq || eq == p)
		return -EINVAL;
	*eq = '\0';
	*key = p;
	*value = eq + 1;
	return 1;
}

/* Whether name is one of the options and seen for the first time; marks it. */
static bool first_time(const char *const *names, const char *name, unsigned *seen)
{
	for (unsigned i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0) {
			if (*seen & (1u << i))
				return false;
			*seen |= 1u << i;
			return true;
		}
	return false;
}

static const char *const storage_names[] = {"file", "reflink", "qcow2", "lvm", NULL};

static bool one_of(const char *v, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(v, *names) == 0)
			return true;
	return false;
}

/* A mount point fstab(5) can hold: fields are separated by blanks, and '#' starts a
 * comment line; ',' is refused too, as it separates the item's options. */
static bool mount_valid(const char *dir)
{
	return xp_guest_path_valid(dir) && strcmp(dir, "/") != 0 && !strpbrk(dir, " \t,#\\");
}

int xp_data_disk_parse(char *item, struct xp_data_disk *out, const char **why)
{
	static const char *const options[] = {"fs", "mount", "storage", "pool", NULL};
	memset(out, 0, sizeof(*out));
	char *pos = strchr(item, ',');
	if (pos)
		*pos++ = '\0';
	if (xp_parse_size(item, &out->size) < 0) {
		*why = "SIZE must come first, e.g. 10G or 512M";
		return -EINVAL;
	}
	if (out->size == 0 || out->size % (1u << 20)) {
		*why = "SIZE must be a whole number of MiB";
		return -EINVAL;
	}
	unsigned seen = 0;
	char *key, *value;
	int r;
	while ((r = next_option(&pos, &key, &value)) > 0) {
		if (!first_time(options, key, &seen)) {
			*why = one_of(key, options) ? "an option is given twice"
						    : "options are fs=, mount=, storage= and pool=";
			return -EINVAL;
		}
		if (strcmp(key, "fs") == 0) {
			int i = 0;
			while (i < 3 && strcmp(value, fs_names[i]) != 0)
				i++;
			if (i == 3) {
				*why = "fs= is ext4, xfs or none";
				return -EINVAL;
			}
			out->fs = (enum xp_data_fs)i;
		} else if (strcmp(key, "mount") == 0) {
			if (!mount_valid(value)) {
				*why = "mount= is an absolute guest directory other than /, without "
				       "blanks, ',', '#' or '\\'";
				return -EINVAL;
			}
			out->mount = value;
		} else if (strcmp(key, "storage") == 0) {
			if (!one_of(value, storage_names)) {
				*why = "storage= is file, reflink, qcow2 or lvm";
				return -EINVAL;
			}
			out->storage = value;
		} else {
			if (!*value) {
				*why = "pool= is a directory or a volume group";
				return -EINVAL;
			}
			out->pool = value;
		}
	}
	if (r < 0) {
		*why = "options are KEY=VALUE, separated by ','";
		return -EINVAL;
	}
	if (out->fs == XP_DATA_FS_NONE && out->mount) {
		*why = "a disk with fs=none has no filesystem to mount";
		return -EINVAL;
	}
	/* ext4: room for its own metadata and journal; xfs: mkfs.xfs (xfsprogs 5.19 and
	 * later) refuses filesystems under 300 MB */
	uint64_t floor = out->fs == XP_DATA_FS_EXT4  ? 16u << 20
			 : out->fs == XP_DATA_FS_XFS ? 300u << 20
						     : 1u << 20;
	if (out->size < floor) {
		*why = out->fs == XP_DATA_FS_EXT4  ? "an ext4 data disk needs at least 16M"
		       : out->fs == XP_DATA_FS_XFS ? "an xfs data disk needs at least 300M"
						   : "a data disk needs at least 1M";
		return -EINVAL;
	}
	return 0;
}

int xp_data_disk_format(const struct xp_data_disk *d, struct xp_buf *out)
{
	static const char units[] = "KMGTPE";
	uint64_t v = d->size;
	int u = -1;
	while (u < 5 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	xp_buf_addf(out, "%llu", (unsigned long long)v);
	if (u >= 0)
		xp_buf_addc(out, units[u]);
	xp_buf_addf(out, ",fs=%s", xp_data_fs_name(d->fs));
	if (d->mount)
		xp_buf_addf(out, ",mount=%s", d->mount);
	if (d->storage)
		xp_buf_addf(out, ",storage=%s", d->storage);
	if (d->pool)
		xp_buf_addf(out, ",pool=%s", d->pool);
	return xp_buf_error(out) ? -ENOMEM : 0;
}

int xp_nic_parse(char *item, struct xp_nic_spec *out, const char **why)
{
	static const char *const options[] = {"bridge",	 "network",    "ip-pool",
					      "gateway", "mac-prefix", NULL};
	memset(out, 0, sizeof(*out));
	char *pos = item, *key, *value, *network = NULL;
	unsigned seen = 0;
	int r;
	while ((r = next_option(&pos, &key, &value)) > 0) {
		if (!first_time(options, key, &seen)) {
			*why = one_of(key, options) ? "an option is given twice"
						    : "options are bridge=, network=, ip-pool=, "
						      "gateway= and mac-prefix=";
			return -EINVAL;
		}
		if (strcmp(key, "bridge") == 0) {
			size_t len = strlen(value);
			if (len == 0 || len > 15 || strpbrk(value, " /,=:\t")) {
				*why = "bridge= is an interface name (1-15 characters)";
				return -EINVAL;
			}
			out->bridge = value;
		} else if (strcmp(key, "network") == 0) {
			if (strcmp(value, "dhcp") != 0 && strcmp(value, "static") != 0) {
				*why = "network= is dhcp or static";
				return -EINVAL;
			}
			network = value;
		} else if (strcmp(key, "ip-pool") == 0) {
			uint32_t net;
			unsigned bits;
			if (!xp__cidr_parse(value, &net, &bits)) {
				*why = "ip-pool= is a network such as 10.1.0.0/24 (prefix 8-30)";
				return -EINVAL;
			}
			out->ip_pool = value;
		} else if (strcmp(key, "gateway") == 0) {
			out->gateway = value;
		} else {
			uint8_t prefix[5];
			size_t n;
			if (xp_mac_prefix_parse(value, prefix, &n) < 0) {
				*why = "mac-prefix= is 1 to 5 octets like 00:16:3e, first octet even";
				return -EINVAL;
			}
			out->mac_prefix = value;
		}
	}
	if (r < 0) {
		*why = "options are KEY=VALUE, separated by ','";
		return -EINVAL;
	}
	if (!out->bridge) {
		*why = "bridge= is required";
		return -EINVAL;
	}
	out->dhcp = network ? strcmp(network, "dhcp") == 0 : !out->ip_pool;
	if (out->dhcp && out->ip_pool) {
		*why = "an ip-pool is for network=static";
		return -EINVAL;
	}
	if (!out->dhcp && !out->ip_pool) {
		*why = "network=static needs an ip-pool=";
		return -EINVAL;
	}
	if (out->gateway && out->dhcp && strcmp(out->gateway, "dhcp") != 0) {
		*why = "a DHCP NIC's gateway= is dhcp (the DHCP server's router)";
		return -EINVAL;
	}
	if (out->gateway && !out->dhcp) {
		/* the NIC's subnet is its pool: a router elsewhere, or at the pool's network
		 * or broadcast address, cannot be reached (as the profile's gateway) */
		uint32_t g, net;
		unsigned bits;
		xp__cidr_parse(out->ip_pool, &net, &bits);
		uint32_t mask = ~0u << (32 - bits);
		if (!xp__ipv4_parse(out->gateway, &g) || (g & mask) != net || g == net ||
		    g == (net | ~mask)) {
			*why = "a static NIC's gateway= is an address of its ip-pool";
			return -EINVAL;
		}
	}
	return 0;
}

int xp_nic_format(const struct xp_nic_spec *n, struct xp_buf *out)
{
	xp_buf_addf(out, "bridge=%s,network=%s", n->bridge, n->dhcp ? "dhcp" : "static");
	uint32_t net;
	unsigned bits;
	char buf[16];
	if (n->ip_pool && xp__cidr_parse(n->ip_pool, &net, &bits))
		xp_buf_addf(out, ",ip-pool=%s/%u", xp__ipv4_format(net, buf), bits);
	if (n->gateway)
		xp_buf_addf(out, ",gateway=%s", n->gateway);
	uint8_t prefix[5];
	size_t len;
	if (n->mac_prefix && xp_mac_prefix_parse(n->mac_prefix, prefix, &len) == 0)
		for (size_t i = 0; i < len; i++)
			xp_buf_addf(out, "%s%02x", i ? ":" : ",mac-prefix=", prefix[i]);
	return xp_buf_error(out) ? -ENOMEM : 0;
}
