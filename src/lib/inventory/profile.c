/*
 * profile.c - profiles: what a guest is. Values are validated and normalised when set
 * (sizes to bytes, memory to MiB), stored per profile, and resolved through the parent
 * chain (a child overrides its parent, as Cobbler's sub-profiles do).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/store-internal.h"
#include "inventory/values-internal.h"
#include "util/ctype.h"
#include "xenprov/guest.h"
#include "xenprov/image.h"
#include "xenprov/imgstore.h"
#include "xenprov/xl-config.h"

const struct xp_profile_key xp_profile_keys[] = {
    {"image", "PATH|DIST|NAME[@V]", "root tarball, built image, debian:bookworm / debian:trixie "
     "(made by mmdebstrap), or a captured image's version (NAME: its latest) the guests are "
     "made from", 0},
    {"include", "PKG,...", "packages of a debian:SUITE image besides its minbase", 0},
    {"install", "PKG,...", "packages installed into the golden image when it is built "
     "(debian:SUITE images only)", 0},
    {"disk-size", "SIZE", "size of each guest's disk, e.g. 4G", 0},
    {"memory", "MIB", "memory in MiB (or a size such as 1G)", 0},
    {"vcpus", "N", "virtual CPUs, 1-512", 0},
    {"swap", "SIZE", "swap partition size (0 for none)", 0},
    {"swap-disk", "SIZE", "a swap volume of its own, the guest's last disk (0 for none)", 0},
    {"data-disk", "SIZE[,fs=ext4|xfs|none][,mount=DIR][,storage=KIND][,pool=DIR|VG]",
     "a further disk, formatted (ext4 unless fs= says) and, with mount=, in the guests' "
     "fstab by UUID (repeatable)",
     XP_KEY_LIST},
    {"fs", "TYPE", "root filesystem: ext2, ext3 or ext4", 0},
    {"label", "TABLE", "partition table: msdos, gpt or none", 0},
    {"storage", "KIND", "file, reflink, qcow2 or lvm", 0},
    {"pool", "DIR|VG", "where guest disks go: a directory, or an LVM volume group", 0},
    {"config-dir", "DIR", "where the guests' xl configs go (default: the setting config-dir, "
     "else /etc/xen)", 0},
    {"bridge", "IFNAME", "the bridge guests' vifs join", 0},
    {"nic", "bridge=BR[,network=static|dhcp][,ip-pool=CIDR][,gateway=IPV4|dhcp][,mac-prefix=P]",
     "a further NIC, with a MAC and address of its own (repeatable)", XP_KEY_LIST},
    {"type", "KIND", "guest type: pv or pvh (pvh boots with kernel= or a bootloader)", 0},
    {"boot", "HOW", "pygrub, pvgrub or kernel", 0},
    {"kernel", "PATH", "kernel for boot=kernel (dom0 path, or from-image: the image's own)", 0},
    {"ramdisk", "PATH", "initrd for boot=kernel (dom0 path)", 0},
    {"root", "DEV", "root device on the kernel command line, e.g. /dev/xvda1", 0},
    {"extra", "TEXT", "further kernel command line", 0},
    {"network", "MODE", "dhcp or static", 0},
    {"ip-pool", "CIDR", "addresses for static guests, e.g. 10.0.0.0/24", 0},
    {"gateway", "IPV4", "default gateway for static guests", 0},
    {"dns", "IPV4,...", "name servers for static guests", 0},
    {"domain", "NAME", "DNS domain of the guests", 0},
    {"root-password-hash", "CRYPT", "root password hash (yescrypt $y$ or SHA-512 $6$)",
     XP_KEY_SECRET},
    {"ssh-key", "KEY|FILE", "SSH public key(s) for root: a key line or a file of them", 0},
    {"mac-prefix", "XX:XX:XX", "prefix of the guests' random MACs (default Xen's 00:16:3e)", 0},
    {"distro", "NAME", "the distro the profile's systems boot over the network", 0},
    {"timezone", "ZONE", "the guests' time zone, e.g. Europe/Paris (the image must have it)", 0},
    {"autoinstall", "TEMPLATE", "the autoinstall template the profile's systems are served "
     "(preseed, kickstart, cloud-init user-data; xenprov template list)", 0},
    {"cloud-init", "on|off", "deployed guests get a cloud-init NoCloud seed volume (label cidata)",
     0},
    {"publish-image", "token|open",
     "who may fetch the golden image from xenprov serve (install --server): the API token's "
     "holders (token, the default) or the whole boot network (open)",
     0},
    {"copy-in", "LOCAL:GUESTDIR",
     "a host file or directory tree copied into GUESTDIR (repeatable; LOCAL:GUESTDIR:UID:GID "
     "for an owner other than root)",
     XP_KEY_LIST | XP_KEY_HOSTONLY},
    {"write", "GUESTPATH:CONTENT", "a guest file with this content (repeatable; secret)",
     XP_KEY_LIST | XP_KEY_SECRET},
    {"firstboot-command", "CMD",
     "a shell command run once at the guests' first boot, in order (repeatable; systemd)",
     XP_KEY_LIST | XP_KEY_HOSTONLY},
    {"target-disk", "DEV", "the disk the autoinstall installer writes (vda, sda, nvme0n1; "
     "default: the machine's first whole disk)", 0},
    {"wipe", "on|off", "the autoinstall installer writes over a disk that holds a partition "
     "table (default off: refused)", 0},
    {"grow", "on|off", "the autoinstall installer grows the root partition and filesystem to "
     "the end of the disk (default on; off: the image's disk-size)", 0},
    {"config.NAME", "VALUE", "any further xl setting, VALUE in config syntax", 0},
    /* the xl.cfg(5) settings that are passwords (config.NAME otherwise) */
    {"config.vncpasswd", "VALUE", "the guests' VNC password (xl vncpasswd)", XP_KEY_SECRET},
    {"config.spicepasswd", "VALUE", "the guests' SPICE password (xl spicepasswd)", XP_KEY_SECRET},
    {NULL, NULL, NULL, 0},
};

static unsigned key_flags(const char *key)
{
	if (!key)
		return 0;
	for (const struct xp_profile_key *k = xp_profile_keys; k->key; k++)
		if (strcmp(k->key, key) == 0)
			return k->flags;
	return 0;
}

bool xp_profile_key_secret(const char *key)
{
	return (key_flags(key) & XP_KEY_SECRET) != 0;
}

bool xp_profile_key_hostonly(const char *key)
{
	return (key_flags(key) & (XP_KEY_HOSTONLY | XP_KEY_SECRET)) != 0;
}

bool xp_profile_key_list(const char *key)
{
	return (key_flags(key) & XP_KEY_LIST) != 0;
}

/* ---- list keys ---------------------------------------------------------------------------- */

/*
 * A list key's value is its items in order, one a line. An item holds no newline but
 * write's CONTENT, which is kept escaped: "\\" a backslash, "\n" a newline, "\xHH" any
 * other control byte and each byte of what is not UTF-8 (so the value is UTF-8 text
 * that JSON exports and imports unchanged). "" is an empty list: set on a child
 * profile or a guest, it gives none of the parent's items.
 */

/* Appends content escaped. */
static void escape_content(struct xp_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t l = xp__utf8_len(p + i, n - i);
		if (p[i] == '\\')
			xp_buf_adds(b, "\\\\");
		else if (p[i] == '\n')
			xp_buf_adds(b, "\\n");
		else if (l == 0 || (p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			xp_buf_addf(b, "\\x%02x", p[i]);
		else
			xp_buf_add(b, p + i, l);
		i += l ? l : 1;
	}
}

/* The content of a stored write item, unescaped into b; -EINVAL for an escape that is
 * none of escape_content's (or would make a NUL). */
static int unescape_content(const char *s, struct xp_buf *b)
{
	for (; *s; s++) {
		if (*s != '\\') {
			xp_buf_addc(b, *s);
			continue;
		}
		s++;
		if (*s == '\\' || *s == 'n') {
			xp_buf_addc(b, *s == 'n' ? '\n' : '\\');
			continue;
		}
		int hi = *s == 'x' ? xp__hexval(s[1]) : -1, lo = hi >= 0 ? xp__hexval(s[2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0))
			return -EINVAL;
		xp_buf_addc(b, (char)(hi << 4 | lo));
		s += 2;
	}
	return xp_buf_error(b) ? -ENOMEM : 0;
}

/* One item as given (raw), checked, appended to out in its stored form. i: its place,
 * for the message. A write item is never quoted: its content may be secret. */
static int list_item(const char *key, const char *raw, size_t i, struct xp_buf *out,
		     struct xp_diags *d)
{
	char *copy = strdup(raw);
	if (!copy)
		return -ENOMEM;
	const char *why = NULL;
	int r;
	if (strcmp(key, "copy-in") == 0) {
		struct xp_guest_copy c;
		r = xp_guest_copy_parse(copy, &c, &why);
		if (r == 0) {
			xp_buf_addf(out, "%s:%s", c.local, c.dir);
			if (c.uid || c.gid)
				xp_buf_addf(out, ":%u:%u", (unsigned)c.uid, (unsigned)c.gid);
		}
	} else if (strcmp(key, "data-disk") == 0) {
		struct xp_data_disk dd;
		r = xp_data_disk_parse(copy, &dd, &why);
		if (r == 0)
			r = xp_data_disk_format(&dd, out);
	} else if (strcmp(key, "nic") == 0) {
		struct xp_nic_spec nic;
		r = xp_nic_parse(copy, &nic, &why);
		if (r == 0)
			r = xp_nic_format(&nic, out);
	} else if (strcmp(key, "write") == 0) {
		struct xp_guest_write w;
		r = xp_guest_write_parse(copy, &w, &why);
		if (r == 0) {
			xp_buf_addf(out, "%s:", w.path);
			escape_content(out, w.data, w.len);
		}
	} else {
		r = xp_guest_command_check(raw, &why);
		if (r == 0)
			xp_buf_adds(out, raw);
	}
	if (r == 0 && xp_buf_error(out))
		r = -ENOMEM;
	else if (r < 0 && r != -ENOMEM)
		r = xp__bad_value(d, key, strcmp(key, "write") == 0 ? NULL : raw, NULL,
				  "item %zu: %s", i + 1, why);
	if (strcmp(key, "write") == 0)
		explicit_bzero(copy, strlen(raw));
	free(copy);
	return r;
}

/* The stored items of value (a list key's), one at a time: *item a heap string, as
 * given (write's content unescaped); 1 while there is one, 0 at the end, -EINVAL for a
 * malformed escape. *pos starts at value. */
static int list_next(const char *key, const char **pos, char **item)
{
	const char *p = *pos;
	*item = NULL;
	if (!p || !*p)
		return 0;
	const char *nl = strchr(p, '\n');
	size_t n = nl ? (size_t)(nl - p) : strlen(p);
	*pos = nl ? nl + 1 : p + n;
	char *line = strndup(p, n);
	if (!line)
		return -ENOMEM;
	char *colon = strcmp(key, "write") == 0 ? strchr(line, ':') : NULL;
	if (!colon) {
		*item = line;
		return 1;
	}
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_add(&b, line, (size_t)(colon - line) + 1);
	int r = unescape_content(colon + 1, &b);
	explicit_bzero(line, n);
	free(line);
	if (r < 0) {
		if (b.s)
			explicit_bzero(b.s, b.cap);
		xp_buf_release(&b);
		return r;
	}
	*item = xp_buf_steal(&b);
	return *item ? 1 : -ENOMEM;
}

/* The number of items in a stored list value. */
static size_t list_count(const char *value)
{
	size_t n = value && *value ? 1 : 0;
	for (const char *p = value; n && *p; p++)
		n += *p == '\n';
	return n;
}

/* What a whole data-disk or nic list must be (its items are each checked already):
 * within the number of disks or NICs a guest can have, each mount point once. */
static int devices_check(const char *key, const char *value, struct xp_diags *d)
{
	bool disks = strcmp(key, "data-disk") == 0;
	if (!disks && strcmp(key, "nic") != 0)
		return 0;
	size_t n = list_count(value), max = disks ? XP_DATA_DISKS_MAX : XP_NICS_MAX;
	if (n > max)
		return xp__bad_value(d, key, NULL, NULL, "at most %zu %s", max,
				     disks ? "data disks (xvdb to xvdy)" : "further NICs");
	/* the items, cut in place by the parse: mount[i] points into item[i] */
	char *items[XP_DATA_DISKS_MAX];
	const char *mount[XP_DATA_DISKS_MAX];
	size_t ni = 0;
	int r = 0;
	const char *pos = value;
	while (disks && r == 0 && ni < max && (r = list_next(key, &pos, &items[ni])) > 0) {
		struct xp_data_disk dd;
		const char *why;
		r = xp_data_disk_parse(items[ni], &dd, &why) < 0 ? -EINVAL : 0;
		mount[ni++] = dd.mount;
		for (size_t k = 0; r == 0 && dd.mount && k + 1 < ni; k++)
			if (mount[k] && strcmp(mount[k], dd.mount) == 0)
				r = xp__bad_value(d, key, NULL, NULL,
						  "items %zu and %zu: the same mount point %s",
						  k + 1, ni, dd.mount);
	}
	for (size_t k = 0; k < ni; k++)
		free(items[k]);
	return r < 0 ? r : 0;
}

static int list_done(const char *key, struct xp_buf *b, char **out, struct xp_diags *d)
{
	if (xp_buf_error(b))
		return -ENOMEM;
	if (b->len > XP_PROFILE_MAX_LIST)
		return xp__bad_value(d, key, NULL, "copy larger files in with copy-in",
				     "the list is larger than 1 MiB");
	int r = devices_check(key, xp_buf_str(b), d);
	if (r < 0)
		return r;
	*out = xp_buf_steal(b);
	if (!*out)
		*out = strdup("");
	return *out ? 0 : -ENOMEM;
}

/* xp_profile_check of a list key: every stored item read back and checked again. */
static int list_check(const char *key, const char *value, char **out, struct xp_diags *d)
{
	if (list_count(value) > XP_GUEST_MAX_ITEMS)
		return xp__bad_value(d, key, NULL, NULL, "at most %d items", XP_GUEST_MAX_ITEMS);
	struct xp_buf b = XP_BUF_INIT;
	const char *pos = value;
	char *item;
	int r;
	bool read = true; /* r is list_next's */
	for (size_t i = 0; (r = list_next(key, &pos, &item)) > 0; i++) {
		if (i)
			xp_buf_addc(&b, '\n');
		r = list_item(key, item, i, &b, d);
		if (strcmp(key, "write") == 0)
			explicit_bzero(item, strlen(item));
		free(item);
		if (r < 0) {
			read = false;
			break;
		}
	}
	if (r == -EINVAL && read)
		r = xp__bad_value(d, key, NULL, "\\\\, \\n or \\xHH",
				  "a content with a bad escape");
	if (r == 0)
		r = list_done(key, &b, out, d);
	xp_buf_release(&b);
	return r;
}

int xp_profile_list_add(struct xp_settings *s, const char *key, const char *item,
			struct xp_diags *d)
{
	if (!xp_profile_key_list(key))
		return xp__bad_value(d, key, NULL, NULL, "not a list setting");
	if (!*item)
		return xp_settings_set(s, key, "");
	const char *old = xp_settings_get(s, key);
	size_t n = list_count(old);
	if (n >= XP_GUEST_MAX_ITEMS)
		return xp__bad_value(d, key, NULL, NULL, "at most %d items", XP_GUEST_MAX_ITEMS);
	struct xp_buf b = XP_BUF_INIT;
	if (n)
		xp_buf_addf(&b, "%s\n", old);
	int r = list_item(key, item, n, &b, d);
	char *value = NULL;
	if (r == 0)
		r = list_done(key, &b, &value, d);
	if (r == 0)
		r = xp_settings_set(s, key, value);
	free(value);
	xp_buf_release(&b);
	return r;
}

int xp_profile_list_items(const char *key, const char *value, char ***items, size_t *n)
{
	*items = NULL;
	*n = 0;
	const char *pos = value;
	char *item;
	int r;
	while ((r = list_next(key, &pos, &item)) > 0) {
		char **nv = realloc(*items, (*n + 1) * sizeof(**items));
		if (!nv) {
			free(item);
			r = -ENOMEM;
			break;
		}
		*items = nv;
		nv[(*n)++] = item;
	}
	if (r < 0) {
		xp_profile_list_free(*items, *n);
		*items = NULL;
		*n = 0;
	}
	return r;
}

void xp_profile_list_free(char **items, size_t n)
{
	for (size_t i = 0; items && i < n; i++) {
		explicit_bzero(items[i], strlen(items[i])); /* a write's content may be secret */
		free(items[i]);
	}
	free(items);
}

static int one_of(const char *v, const char *const *opts)
{
	for (; *opts; opts++)
		if (strcmp(v, *opts) == 0)
			return 1;
	return 0;
}

static bool is_ipv4(const char *s)
{
	uint32_t host;
	return xp__ipv4_parse(s, &host);
}

static int check_cidr(const char *v, char **out)
{
	uint32_t net;
	unsigned bits;
	char buf[16];
	if (!xp__cidr_parse(v, &net, &bits))
		return -EINVAL;
	return xp__dupf(out, "%s/%u", xp__ipv4_format(net, buf), bits);
}

int xp_profile_check(const char *key, const char *value, char **out, struct xp_diags *d)
{
	*out = NULL;
	static const char *const fs[] = {"ext2", "ext3", "ext4", NULL};
	static const char *const labels[] = {"msdos", "gpt", "none", NULL};
	static const char *const storage[] = {"file", "reflink", "qcow2", "lvm", NULL};
	static const char *const boot[] = {"pygrub", "pvgrub", "kernel", NULL};
	static const char *const net[] = {"dhcp", "static", NULL};
	static const char *const types[] = {"pv", "pvh", NULL};
	uint64_t sz;
	char *end;

	if (strncmp(key, "config.", 7) == 0) {
		if (!xp_cfg_name_valid(key + 7))
			return xp__bad_value(d, key, NULL, "lowercase letters, digits, '.', '_'",
					     "'%s' is not an xl setting name", key + 7);
		/* a password inside another setting's value (xl-network-configuration(5)'s
		 * vfb specs take vncpasswd=) could not be withheld from the views without
		 * hiding the whole setting: refused, and never quoted */
		if (!xp_profile_key_secret(key) && strstr(value, "passwd="))
			return xp__bad_value(
			    d, key, NULL,
			    "keep passwords in config.vncpasswd or config.spicepasswd,"
			    " which are kept secret",
			    "a password inside %s would be shown wherever the profile "
			    "is",
			    key);
		char *canon;
		if (xp_cfg_parse_value(value, &canon) == 0) {
			*out = canon;
			return 0;
		}
		/* meant as config syntax but broken: do not guess (as `xenprov config set`) */
		if (value[0] == '[' || value[0] == '"' || value[0] == '\'')
			return xp__bad_value(d, key, xp_profile_key_secret(key) ? NULL : value,
					     "a quoted string, a number or a [list]",
					     "not a valid xl value");
		/* plain text: stored as a string */
		struct xp_buf b = XP_BUF_INIT;
		if (xp_cfg_quote(&b, value, strlen(value)) < 0) {
			xp_buf_release(&b);
			return xp__bad_value(d, key, NULL, NULL,
					     "cannot be written in an xl config");
		}
		*out = xp_buf_steal(&b);
		return *out ? 0 : -ENOMEM;
	}
	if (strcmp(key, "image") == 0 || strcmp(key, "kernel") == 0 ||
	    strcmp(key, "ramdisk") == 0 || strcmp(key, "pool") == 0) {
		if (!*value)
			return xp__bad_value(d, key, value, NULL, "must not be empty");
		char iname[XP_IMGVER_NAME_MAX + 1];
		unsigned iver;
		if (strcmp(key, "image") == 0 && value[0] != '/' && !xp_dist_valid(value) &&
		    xp_imgver_parse_ref(value, iname, &iver, NULL) < 0)
			return xp__bad_value(d, key, value,
					     "give an absolute path, debian:bookworm or "
					     "debian:trixie, or NAME[@V] of a captured image",
					     "must be an absolute path, a distribution or a captured "
					     "image");
		return xp__dupf(out, "%s", value);
	}
	if (strcmp(key, "config-dir") == 0)
		return xp__dir_check(key, value, out, d);
	if (strcmp(key, "include") == 0 || strcmp(key, "install") == 0) {
		if (!xp_dist_packages_valid(value))
			return xp__bad_value(d, key, value,
					     "Debian package names separated by commas",
					     "not a list of package names");
		return xp__dupf(out, "%s", value);
	}
	if (strcmp(key, "disk-size") == 0 || strcmp(key, "swap") == 0 ||
	    strcmp(key, "swap-disk") == 0) {
		if (xp_parse_size(value, &sz) < 0)
			return xp__bad_value(d, key, value, "e.g. 4G, 512M", "not a size");
		if (strcmp(key, "disk-size") == 0 && sz < (16u << 20))
			return xp__bad_value(d, key, value, NULL, "at least 16M");
		if (strcmp(key, "swap-disk") == 0 && sz && (sz < (1u << 20) || sz % (1u << 20)))
			return xp__bad_value(d, key, value, "e.g. 1G, 512M",
					     "0, or a whole number of MiB");
		return xp__dupf(out, "%llu", (unsigned long long)sz);
	}
	if (strcmp(key, "memory") == 0) {
		errno = 0;
		unsigned long long mib = strtoull(value, &end, 10);
		if (!(*value >= '0' && *value <= '9'))
			return xp__bad_value(d, key, value, "MiB, or a size such as 1G",
					     "not a size");
		if (*end) {
			if (xp_parse_size(value, &sz) < 0)
				return xp__bad_value(d, key, value, "MiB, or a size such as 1G",
						     "not a size");
			mib = sz >> 20;
		} else if (errno == ERANGE) {
			mib = ULLONG_MAX;
		}
		if (mib < 16 || mib > (16ull << 20))
			return xp__bad_value(d, key, value, NULL, "between 16 MiB and 16 TiB");
		return xp__dupf(out, "%llu", mib);
	}
	if (strcmp(key, "vcpus") == 0) {
		long n = strtol(value, &end, 10);
		if (*end || !(*value >= '0' && *value <= '9') || n < 1 || n > 512)
			return xp__bad_value(d, key, value, NULL, "a number from 1 to 512");
		return xp__dupf(out, "%ld", n);
	}
	if (strcmp(key, "fs") == 0 && !one_of(value, fs))
		return xp__bad_value(d, key, value, "ext2, ext3 or ext4", "unknown filesystem");
	if (strcmp(key, "label") == 0 && !one_of(value, labels))
		return xp__bad_value(d, key, value, "msdos, gpt or none",
				     "unknown partition table");
	if (strcmp(key, "storage") == 0 && !one_of(value, storage))
		return xp__bad_value(d, key, value, "file, reflink, qcow2 or lvm",
				     "unknown storage");
	if (strcmp(key, "boot") == 0 && !one_of(value, boot))
		return xp__bad_value(d, key, value, "pygrub, pvgrub or kernel",
				     "unknown boot method");
	if (strcmp(key, "type") == 0 && !one_of(value, types))
		return xp__bad_value(d, key, value, "pv or pvh", "unknown guest type");
	if (strcmp(key, "network") == 0 && !one_of(value, net))
		return xp__bad_value(d, key, value, "dhcp or static", "unknown network mode");
	if (strcmp(key, "bridge") == 0) {
		size_t len = strlen(value);
		if (len == 0 || len > 15 || strpbrk(value, " /,=:\t"))
			return xp__bad_value(d, key, value, NULL,
					     "not an interface name (1-15 characters)");
	}
	if (strcmp(key, "ip-pool") == 0) {
		int r = check_cidr(value, out);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return xp__bad_value(d, key, value, "e.g. 10.0.0.0/24 (prefix 8-30)",
					     "not a CIDR");
		return 0;
	}
	if (strcmp(key, "gateway") == 0 && !is_ipv4(value))
		return xp__bad_value(d, key, value, NULL, "not an IPv4 address");
	if (strcmp(key, "dns") == 0) {
		char *copy = strdup(value), *save = NULL;
		if (!copy)
			return -ENOMEM;
		/* strtok_r would skip empty items ("a,,b", ",a", "a,"): refuse them */
		int ok = *value != 0 && value[0] != ',' && value[strlen(value) - 1] != ',' &&
			 !strstr(value, ",,");
		for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save))
			ok = is_ipv4(t);
		free(copy);
		if (!ok)
			return xp__bad_value(d, key, value, "IPv4 addresses separated by commas",
					     "not a list of IPv4 addresses");
	}
	if (strcmp(key, "domain") == 0 && !xp__dns_name_valid(value))
		return xp__bad_value(d, key, value, NULL, "not a DNS name");
	if (strcmp(key, "root") == 0 && strncmp(value, "/dev/", 5) != 0 &&
	    strncmp(value, "UUID=", 5) != 0 && strncmp(value, "LABEL=", 6) != 0)
		return xp__bad_value(d, key, value, "e.g. /dev/xvda1", "not a root device");
	/* a name only: the distro may be added later; removing it is refused while a
	 * profile names it (xp_distro_remove) */
	if (strcmp(key, "distro") == 0 && !xp_distro_name_valid(value))
		return xp__bad_value(d, key, value, "1-64 letters, digits, '-', '_', '.'",
				     "not a valid distro name");
	/* a name, as distro: removing a template is refused while a profile names it */
	if (strcmp(key, "autoinstall") == 0 && !xp_template_name_valid(value))
		return xp__bad_value(d, key, value, "1-64 letters, digits, '-', '_', '.'",
				     "not a valid template name");
	if ((strcmp(key, "cloud-init") == 0 || strcmp(key, "wipe") == 0 ||
	     strcmp(key, "grow") == 0) &&
	    strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
		return xp__bad_value(d, key, value, "on or off", "not on or off");
	/* a kernel's name of a whole disk, as /sys/block lists it */
	if (strcmp(key, "target-disk") == 0) {
		const char *n = strncmp(value, "/dev/", 5) == 0 ? value + 5 : value;
		bool okname = *n && strlen(n) <= 40;
		for (const char *c = n; okname && *c; c++)
			okname = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '!' ||
				 *c == '-' || *c == '_';
		if (!okname)
			return xp__bad_value(d, key, value, "e.g. vda, sda, nvme0n1",
					     "not a disk's name");
	}
	if (strcmp(key, "publish-image") == 0 && strcmp(value, "token") != 0 &&
	    strcmp(value, "open") != 0)
		return xp__bad_value(d, key, value, "token or open", "not token or open");
	if (xp_profile_key_list(key))
		return list_check(key, value, out, d);
	const char *why;
	if (strcmp(key, "timezone") == 0 && xp_guest_timezone_check(value, &why) < 0)
		return xp__bad_value(d, key, value, NULL, "%s", why);
	if (strcmp(key, "extra") == 0 && strchr(value, '\n'))
		return xp__bad_value(d, key, NULL, NULL, "must be one line");
	if (strcmp(key, "root-password-hash") == 0) {
		/* crypt(5): yescrypt $y$, SHA-512 $6$, SHA-256 $5$; never MD5 $1$ or DES */
		if (strncmp(value, "$1$", 3) == 0)
			return xp__bad_value(d, key, NULL, "use yescrypt (mkpasswd -m yescrypt)",
					     "MD5 password hashes are refused");
		if (!(strncmp(value, "$y$", 3) == 0 || strncmp(value, "$6$", 3) == 0 ||
		      strncmp(value, "$5$", 3) == 0 || strncmp(value, "$gy$", 4) == 0) ||
		    strpbrk(value, ": \n"))
			return xp__bad_value(d, key, NULL,
					     "a yescrypt ($y$) or SHA-512 ($6$) crypt hash",
					     "not a password hash");
	}
	if (strcmp(key, "mac-prefix") == 0) {
		/* 1-5 octets, unicast: the last octets are random per guest */
		unsigned n = 0;
		const char *q = value;
		for (;;) {
			if (!isxdigit((unsigned char)q[0]) || !isxdigit((unsigned char)q[1]))
				break;
			n++;
			q += 2;
			if (*q != ':')
				break;
			q++;
		}
		if (*q || n == 0 || n > 5 || (strtoul(value, NULL, 16) & 1))
			return xp__bad_value(d, key, value,
					     "1 to 5 octets like 00:16:3e, first octet even",
					     "not a unicast MAC prefix");
		char *low = strdup(value);
		if (!low)
			return -ENOMEM;
		for (char *c = low; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		*out = low;
		return 0;
	}
	if (strcmp(key, "ssh-key") == 0) {
		/* one or more key lines, each checked */
		const char *p = value;
		do {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			if (xp_ssh_key_check(p, n) < 0)
				return xp__bad_value(
				    d, key, NULL,
				    "lines of an id_*.pub file: TYPE BASE64 [COMMENT]",
				    "not an SSH public key");
			p = nl ? nl + 1 : NULL;
		} while (p);
	}
	int known = 0;
	for (const struct xp_profile_key *k = xp_profile_keys; k->key; k++)
		known |= strcmp(k->key, key) == 0;
	if (!known)
		return xp__bad_value(d, key, NULL, "see 'xenprov profile add -h'",
				     "unknown profile setting");
	return xp__dupf(out, "%s", value);
}

bool xp_profile_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '-' || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

void xp_profile_release(struct xp_profile *p)
{
	free(p->name);
	free(p->parent);
	xp_settings_release(&p->set);
	memset(p, 0, sizeof(*p));
}

static int parent_of(struct xp_inv *inv, const char *name, char **parent)
{
	struct xp_db_stmt *st;
	*parent = NULL;
	int r = xp__inv_prepare_arg(inv, "SELECT parent FROM profiles WHERE name = ?", name, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		const char *p = xp__db_column_text(st, 0);
		if (p && !(*parent = strdup((const char *)p)))
			r = -ENOMEM;
	} else {
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	return r;
}

/* How many ancestors a profile may have. The limit only guards against a cycle that
 * check_chain could not see; real hierarchies are a few levels deep. */
#define MAX_ANCESTORS 64

/* -ELOOP if making `parent` the parent of `name` would close a cycle (or make a chain
 * longer than MAX_ANCESTORS). */
static int check_chain(struct xp_inv *inv, const char *name, const char *parent)
{
	char *cur = parent ? strdup(parent) : NULL;
	if (parent && !cur)
		return -ENOMEM;
	for (int depth = 0; cur; depth++) {
		if (strcmp(cur, name) == 0 || depth >= MAX_ANCESTORS) {
			snprintf(inv->err, sizeof(inv->err), "'%s' is %s of '%s'", name,
				 strcmp(cur, name) == 0 ? "an ancestor" : "too far down the chain",
				 parent);
			free(cur);
			return -ELOOP;
		}
		char *next;
		int r = parent_of(inv, cur, &next);
		free(cur);
		if (r < 0)
			return r;
		cur = next;
	}
	return 0;
}

/* ---- checks across keys ----------------------------------------------------------------- */

/* The gateway of a profile's static guests lies in its ip-pool, which is their subnet
 * (their prefix length is the pool's): a router elsewhere, or at the pool's network or
 * broadcast address, is one they cannot reach. -EINVAL with the reason in inv->err;
 * who names the profile when it is not the one being stored. */
static int check_gateway(struct xp_inv *inv, const struct xp_settings *set, const char *who)
{
	const char *gw = xp_settings_get(set, "gateway"), *pool = xp_settings_get(set, "ip-pool");
	uint32_t g, net;
	char addr[INET_ADDRSTRLEN];
	const char *slash = pool ? strchr(pool, '/') : NULL;
	/* both as xp_profile_check stored them: a dotted quad, a network/8..30 */
	if (!gw || !slash || (size_t)(slash - pool) >= sizeof(addr) || !xp__ipv4_parse(gw, &g))
		return 0;
	memcpy(addr, pool, (size_t)(slash - pool));
	addr[slash - pool] = '\0';
	long bits = strtol(slash + 1, NULL, 10);
	if (!xp__ipv4_parse(addr, &net) || bits < 1 || bits > 32)
		return 0;
	uint32_t mask = ~0u << (32 - bits), bcast = net | ~mask;
	const char *why = (g & mask) != net ? "is outside"
			  : g == net	    ? "is the network address of"
			  : g == bcast	    ? "is the broadcast address of"
					    : NULL;
	if (!why)
		return 0;
	if (who)
		snprintf(inv->err, sizeof(inv->err),
			 "gateway %s %s ip-pool %s in profile '%s', which takes settings from "
			 "it: its guests could not reach it",
			 gw, why, pool, who);
	else
		snprintf(inv->err, sizeof(inv->err),
			 "gateway %s %s ip-pool %s: the guests could not reach it", gw, why, pool);
	return -EINVAL;
}

/* Packages go into images that mmdebstrap makes: a profile with `include` or `install`
 * and a tarball or built image would be built without them. -EINVAL with the reason in
 * inv->err; who as for check_gateway. */
static int check_packages(struct xp_inv *inv, const struct xp_settings *set, const char *who)
{
	const char *image = xp_settings_get(set, "image");
	const char *key = xp_settings_get(set, "install")   ? "install"
			  : xp_settings_get(set, "include") ? "include"
							    : NULL;
	if (!key || !image || xp_dist_valid(image))
		return 0;
	snprintf(inv->err, sizeof(inv->err),
		 "%s%s%s%s needs an image made by xenprov (debian:bookworm or debian:trixie): "
		 "packages cannot be installed into the tarball or image %s",
		 key, who ? " (profile '" : "", who ? who : "", who ? "')" : "", image);
	return -EINVAL;
}

/* Checks the settings name and every profile below it would have, as the open
 * transaction holds them. */
static int check_effective(struct xp_inv *inv, const char *name)
{
	struct xp_db_stmt *st;
	int r =
	    xp__inv_prepare_arg(inv,
				"WITH RECURSIVE below(name) AS (SELECT CAST(?1 AS TEXT) UNION "
				"SELECT p.name FROM profiles p JOIN below b ON p.parent = b.name) "
				"SELECT name FROM below",
				name, &st);
	if (r < 0)
		return r;
	int rc = XP_DB_DONE;
	while (r == 0 && (rc = xp__db_step(st)) == XP_DB_ROW) {
		const char *n = xp__db_column_text(st, 0);
		struct xp_settings set;
		r = xp_profile_resolve(inv, n, &set);
		if (r == 0) {
			r = check_gateway(inv, &set, strcmp(n, name) == 0 ? NULL : n);
			if (r == 0)
				r = check_packages(inv, &set, strcmp(n, name) == 0 ? NULL : n);
			xp_settings_release(&set);
		}
	}
	if (r == 0 && rc != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}

static int write_settings(struct xp_inv *inv, const struct xp_profile *p)
{
	struct xp_db_stmt *st;
	int r = xp__inv_run(inv, "DELETE FROM profile_settings WHERE profile = ?1", p->name);
	if (r < 0)
		return r;
	r = xp__inv_prepare(
	    inv, "INSERT INTO profile_settings (profile, seq, key, value) VALUES (?, ?, ?, ?)",
	    &st);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->set.n && r == 0; i++) {
		xp__db_reset(st);
		xp__db_bind_text(st, 1, p->name);
		xp__db_bind_int64(st, 2, i);
		xp__db_bind_text(st, 3, p->set.v[i].key);
		xp__db_bind_text(st, 4, p->set.v[i].value);
		int rc = xp__db_step(st);
		if (rc != XP_DB_DONE)
			r = xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	return r;
}

static int store(struct xp_inv *inv, const struct xp_profile *p, bool add)
{
	if (!xp_profile_name_valid(p->name) || (p->parent && !xp_profile_name_valid(p->parent)))
		return -EINVAL;
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	int e = xp__inv_exists(inv, "SELECT 1 FROM profiles WHERE name = ?", p->name);
	if (e < 0) {
		r = e;
		goto fail;
	}
	if ((add && e) || (!add && !e)) {
		r = add ? -EEXIST : -ENOENT;
		snprintf(inv->err, sizeof(inv->err),
			 add ? "profile '%s' exists" : "no profile '%s'", p->name);
		goto refused;
	}
	if (p->parent) {
		e = xp__inv_exists(inv, "SELECT 1 FROM profiles WHERE name = ?", p->parent);
		if (e < 0) {
			r = e;
			goto fail;
		}
		if (!e) {
			r = -ENOENT;
			snprintf(inv->err, sizeof(inv->err), "no profile '%s'", p->parent);
			goto refused;
		}
		r = check_chain(inv, p->name, p->parent);
		if (r == -ELOOP)
			goto refused;
		if (r < 0)
			goto fail;
	}
	/* the settings are checked as they take effect, after writing: a savepoint undoes
	 * a refused write and leaves a caller's transaction usable */
	r = xp__inv_exec(inv, "SAVEPOINT profile_store");
	if (r < 0)
		goto fail;
	struct xp_db_stmt *st;
	r = xp__inv_prepare(
	    inv,
	    add ? "INSERT INTO profiles (parent, created, updated, name) VALUES (?1, ?2, ?2, ?3)"
		: "UPDATE profiles SET parent = ?1, updated = ?2 WHERE name = ?3",
	    &st);
	if (r < 0)
		goto fail;
	if (p->parent)
		xp__db_bind_text(st, 1, p->parent);
	else
		xp__db_bind_null(st, 1);
	xp__db_bind_int64(st, 2, time(NULL));
	xp__db_bind_text(st, 3, p->name);
	if ((r = xp__inv_step_done(inv, st)) < 0)
		goto fail;
	r = write_settings(inv, p);
	if (r == 0 && (r = check_effective(inv, p->name)) == -EINVAL) {
		int u = xp__inv_exec(inv, "ROLLBACK TO profile_store");
		if (u == 0)
			u = xp__inv_exec(inv, "RELEASE profile_store");
		if (u < 0) {
			r = u;
			goto fail;
		}
		goto refused;
	}
	if (r == 0)
		r = xp__inv_exec(inv, "RELEASE profile_store");
	if (r < 0)
		goto fail;
	return xp_inv_commit(inv);
refused:
	/* nothing written: end our level without dooming a caller's transaction */
	xp_inv_commit(inv);
	return r;
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_profile_add(struct xp_inv *inv, const struct xp_profile *p)
{
	return store(inv, p, true);
}

int xp_profile_update(struct xp_inv *inv, const struct xp_profile *p)
{
	return store(inv, p, false);
}

int xp_profile_get(struct xp_inv *inv, const char *name, struct xp_profile *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(
	    inv, "SELECT name, parent, created, updated FROM profiles WHERE name = ?", name, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc != XP_DB_ROW) {
		xp__db_finalize(st);
		return rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	}
	out->name = xp__col_text(st, 0);
	out->parent = xp__col_text(st, 1);
	out->created = xp__db_column_int64(st, 2);
	out->updated = xp__db_column_int64(st, 3);
	xp__db_finalize(st);
	if (!out->name)
		goto oom;
	r = xp__inv_prepare_arg(
	    inv, "SELECT key, value FROM profile_settings WHERE profile = ? ORDER BY seq", name,
	    &st);
	if (r < 0) {
		xp_profile_release(out);
		return r;
	}
	while ((rc = xp__db_step(st)) == XP_DB_ROW) {
		if (xp_settings_set(&out->set, xp__db_column_text(st, 0),
				    xp__db_column_text(st, 1)) < 0) {
			xp__db_finalize(st);
			goto oom;
		}
	}
	xp__db_finalize(st);
	if (rc != XP_DB_DONE) {
		xp_profile_release(out);
		return xp__inv_err(inv, rc);
	}
	return 0;
oom:
	xp_profile_release(out);
	return -ENOMEM;
}

int xp_profile_list(struct xp_inv *inv, char ***names, size_t *n)
{
	return xp__inv_names(inv, "SELECT name FROM profiles ORDER BY name", names, n);
}

int xp_profile_remove(struct xp_inv *inv, const char *name)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	int c[4];
	r = xp__inv_counts(inv,
			   "SELECT (SELECT count(*) FROM profiles WHERE parent = ?1),"
			   "       (SELECT count(*) FROM domains WHERE profile = ?1),"
			   "       (SELECT count(*) FROM profiles WHERE name = ?1),"
			   "       (SELECT count(*) FROM systems WHERE profile = ?1)",
			   name, c, 4);
	if (r < 0)
		goto fail;
	int children = c[0], domains = c[1], found = c[2], systems = c[3];
	if (!found) {
		snprintf(inv->err, sizeof(inv->err), "no profile '%s'", name);
		r = -ENOENT;
		goto refused;
	}
	if (children || domains || systems) {
		if (systems)
			snprintf(inv->err, sizeof(inv->err),
				 "%d profile%s, %d domain%s and %d system%s use it", children,
				 children == 1 ? "" : "s", domains, domains == 1 ? "" : "s",
				 systems, systems == 1 ? "" : "s");
		else
			snprintf(inv->err, sizeof(inv->err), "%d profile%s and %d domain%s use it",
				 children, children == 1 ? "" : "s", domains,
				 domains == 1 ? "" : "s");
		r = -EBUSY;
		goto refused;
	}
	r = xp__inv_run(inv, "DELETE FROM profiles WHERE name = ?1", name);
	if (r < 0)
		goto fail;
	return xp_inv_commit(inv);
refused:
	xp_inv_commit(inv); /* nothing written */
	return r;
fail:
	xp_inv_rollback(inv);
	return r;
}

void xp_profile_chain_free(struct xp_profile *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xp_profile_release(&v[i]);
	free(v);
}

int xp_profile_chain(struct xp_inv *inv, const char *name, struct xp_profile **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	struct xp_profile *chain = NULL;
	size_t depth = 0, cap = 0;
	int r = 0;
	/* a deferred (read) transaction: unlike xp_inv_begin it does not queue behind
	 * writers; inside the caller's transaction, that one is the snapshot; so a
	 * concurrent edit cannot mix two versions of the chain */
	bool own = inv->depth == 0;
	if (own && (r = xp__inv_exec(inv, "BEGIN")) < 0)
		return r;
	const char *cur = name;
	while (cur) {
		/* a chain is at most MAX_ANCESTORS + 1 long when made, but re-parenting an
		 * ancestor can lengthen its descendants' chains: allow some more */
		if (depth > 4 * MAX_ANCESTORS) {
			r = -ELOOP;
			break;
		}
		if ((r = xp_grow(&chain, &cap, depth, sizeof(*chain), 8)) < 0)
			break;
		r = xp_profile_get(inv, cur, &chain[depth]);
		if (r < 0)
			break;
		cur = chain[depth++].parent;
	}
	if (own)
		xp__db_exec(inv->db, "COMMIT");
	if (r < 0) {
		xp_profile_chain_free(chain, depth);
		return r;
	}
	*v = chain;
	*n = depth;
	return 0;
}

int xp_profile_resolve(struct xp_inv *inv, const char *name, struct xp_settings *out)
{
	memset(out, 0, sizeof(*out));
	/* the chain child first; applied from the root down */
	struct xp_profile *chain;
	size_t depth;
	int r = xp_profile_chain(inv, name, &chain, &depth);
	for (size_t i = depth; i-- > 0 && r == 0;)
		for (size_t k = 0; k < chain[i].set.n && r == 0; k++)
			r = xp_settings_set(out, chain[i].set.v[k].key, chain[i].set.v[k].value);
	xp_profile_chain_free(chain, depth);
	if (r < 0)
		xp_settings_release(out);
	return r;
}
