/*
 * guest-edit.c - per-guest settings written into a guest's disk image without a mount
 * (xenprov/guest.h): the settings are checked, the root filesystem is found with the
 * partition reader and opened read-write (raw, or qcow2 copy-on-write), and a handful
 * of files are replaced, created or removed through the file layer (guest-fs.c), which
 * alone speaks to libext2fs.
 *
 * What each file says comes from the pure text writers of guest-text.c; this file
 * decides which files are written, where, with which owner and mode, and in what order.
 *
 * Not here: the files' text (guest-text.c), the operator's customisations (time
 * zone, copy-in, write, first-boot commands: guest-custom.c, run last), reading and
 * writing files in the image (guest-fs.c), the block-level write paths (qcow2-rw.c, extfs-rwio.c), cloning images,
 * the site's hooks (a deploy step: deploy/hooks.c, after this).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <uuid/uuid.h>

#include "image/blockdev-internal.h"
#include "image/guest-custom.h"
#include "image/guest-fs.h"
#include "image/guest-root.h"
#include "image/guest-text.h"
#include "util/names.h"
#include "xenprov/blockdev.h"
#include "xenprov/extfs.h"
#include "xenprov/guest.h"
#include "xenprov/partition.h"

#define SWAP_MAGIC	 "SWAPSPACE2"
#define SWAP_UUID_OFFSET 1036 /* the UUID in mkswap's version 1 header */

struct ctx {
	const struct xp_guest_settings *s;
	struct xp_guest_report *rep;
	struct xp_guest_diag dg;
	const char *image;
	struct xp_gfs *fs;
	uint32_t now;
	enum xp_fs_type fstype;
	bool have_swap;
	uint64_t swap_off; /* byte offset of the swap area, with have_swap */
	char root_dev[24]; /* the root filesystem as the guest's kernel sees it: /dev/xvdaN */
};

const char *xp_net_format_name(enum xp_net_format f)
{
	static const char *const names[] = {
	    [XP_NET_NONE] = "none",	    [XP_NET_IFUPDOWN] = "ifupdown",
	    [XP_NET_NETWORKD] = "networkd", [XP_NET_NETPLAN] = "netplan",
	    [XP_NET_IFCFG] = "ifcfg",	    [XP_NET_NM] = "networkmanager",
	};
	return xp__name_of(names, sizeof(names) / sizeof(names[0]), f, "unknown");
}

void xp_guest_report_release(struct xp_guest_report *rep)
{
	if (!rep)
		return;
	xp_gfs_names_free(rep->written, rep->nwritten);
	xp_gfs_names_free(rep->removed, rep->nremoved);
	free(rep->boot_kernel);
	rep->boot_kernel = NULL;
	rep->written = rep->removed = NULL;
	rep->nwritten = rep->nremoved = 0;
}

/* ---- settings ------------------------------------------------------------------------ */

static bool valid_label(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool valid_domain(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 253)
		return false;
	const char *p = s;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (!valid_label(p, l))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

static int addr_family(const char *s)
{
	unsigned char buf[16];
	if (!s)
		return 0;
	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return 0;
}

/* Lines of printable text: no control characters but newlines. */
static bool printable_lines(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p != '\n' && (*p < 0x20 || *p == 0x7f))
			return false;
	return true;
}

/* The further NICs and fstab lines. */
static int check_devices(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	if ((s->nnics && !s->nics) || (s->nmounts && !s->mounts))
		return xp_guest_fail(&c->dg, -EINVAL, "usage", NULL,
				     "a count of NICs or mounts without them");
	if (s->nnics >= XP_GUEST_MAX_NICS)
		return xp_guest_fail(&c->dg, -EINVAL, "nic", NULL, "at most %d NICs",
				     XP_GUEST_MAX_NICS);
	if (s->nnics && !s->dhcp && !s->ip)
		return xp_guest_fail(&c->dg, -EINVAL, "nic", NULL,
				     "further NICs need the first one's network settings");
	char first[XP_MAC_STRLEN + 1];
	xp_guest_mac(s, first);
	for (size_t i = 0; i < s->nnics; i++) {
		const struct xp_guest_nic *n = &s->nics[i];
		struct xp_mac m;
		char mac[XP_MAC_STRLEN + 1];
		if (!n->mac || xp_mac_parse(n->mac, &m) < 0)
			return xp_guest_fail(&c->dg, -EINVAL, "mac", n->mac,
					     "NIC %zu: invalid MAC address '%s'", i + 1,
					     n->mac ? n->mac : "");
		xp_mac_format(&m, mac);
		bool twice = strcmp(mac, first) == 0;
		for (size_t k = 0; k < i; k++) {
			struct xp_mac o;
			twice |= xp_mac_parse(s->nics[k].mac, &o) == 0 && memcmp(o.b, m.b, 6) == 0;
		}
		if (twice)
			return xp_guest_fail(&c->dg, -EINVAL, "mac", n->mac,
					     "NIC %zu: the MAC address %s is another NIC's", i + 1,
					     mac);
		if (n->dhcp) {
			if (n->gateway && strcmp(n->gateway, "dhcp") != 0)
				return xp_guest_fail(&c->dg, -EINVAL, "gateway", n->gateway,
						     "NIC %zu: a DHCP NIC's gateway is \"dhcp\"",
						     i + 1);
			continue;
		}
		int fam = addr_family(n->ip);
		if (!fam)
			return xp_guest_fail(&c->dg, -EINVAL, "ip", n->ip,
					     "NIC %zu: invalid IP address '%s'", i + 1,
					     n->ip ? n->ip : "");
		if (n->prefix > (fam == AF_INET6 ? 128u : 32u))
			return xp_guest_fail(&c->dg, -EINVAL, "prefix", NULL,
					     "NIC %zu: invalid prefix length %u", i + 1, n->prefix);
		if (n->gateway && addr_family(n->gateway) != fam)
			return xp_guest_fail(&c->dg, -EINVAL, "gateway", n->gateway,
					     "NIC %zu: invalid gateway '%s' for '%s'", i + 1,
					     n->gateway, n->ip);
	}
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_guest_text_fstab("00000000-0000-0000-0000-000000000000", XP_FS_EXT4, NULL,
				    s->mounts, s->nmounts, &b);
	xp_buf_release(&b);
	if (r == -EINVAL)
		return xp_guest_fail(&c->dg, r, "mount", NULL,
				     "a further fstab line without a UUID, with a type other than "
				     "ext2/3/4, xfs or swap, or a mount point that is not an "
				     "absolute directory without blanks");
	return r;
}

static int check_settings(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	if (s->hostname && !valid_label(s->hostname, strlen(s->hostname)))
		return xp_guest_fail(
		    &c->dg, -EINVAL, "hostname", s->hostname,
		    "invalid hostname '%s': letters, digits and '-', 1 to 63 of them, "
		    "not starting or ending with '-'",
		    s->hostname);
	if (s->domain && (!valid_domain(s->domain) ||
			  (s->hostname && strlen(s->hostname) + 1 + strlen(s->domain) > 253)))
		return xp_guest_fail(&c->dg, -EINVAL, "domain", s->domain, "invalid domain '%s'",
				     s->domain);
	char mac[XP_MAC_STRLEN + 1];
	if (xp_guest_mac(s, mac) < 0)
		return xp_guest_fail(&c->dg, -EINVAL, "mac", s->mac,
				     "invalid MAC address '%s' (expected xx:xx:xx:xx:xx:xx)",
				     s->mac);
	if (!s->dhcp && s->ip) {
		int fam = addr_family(s->ip);
		if (!fam)
			return xp_guest_fail(&c->dg, -EINVAL, "ip", s->ip,
					     "invalid IP address '%s'", s->ip);
		if (xp_guest_prefix(s) > (fam == AF_INET6 ? 128u : 32u))
			return xp_guest_fail(&c->dg, -EINVAL, "prefix", NULL,
					     "invalid prefix length %u for '%s'", s->prefix, s->ip);
		if (s->gateway && addr_family(s->gateway) != fam)
			return xp_guest_fail(&c->dg, -EINVAL, "gateway", s->gateway,
					     "invalid gateway '%s' for '%s'", s->gateway, s->ip);
	}
	if (s->ndns && !s->dns)
		return xp_guest_fail(&c->dg, -EINVAL, "dns", NULL, "ndns is %zu but dns is NULL",
				     s->ndns);
	for (size_t i = 0; i < s->ndns; i++)
		if (!addr_family(s->dns[i]))
			return xp_guest_fail(&c->dg, -EINVAL, "dns", s->dns[i],
					     "invalid name server '%s'",
					     s->dns[i] ? s->dns[i] : "(null)");
	/* the guest names its interface itself (enX0 under systemd 250 and later, eth0
	 * before): its MAC is what finds it */
	if ((s->dhcp || s->ip) && !mac[0])
		return xp_guest_fail(&c->dg, -EINVAL, "mac", NULL,
				     "the network settings need the guest's MAC address: its "
				     "interface is found by it");
	if (s->root_password_hash) {
		const char *h = s->root_password_hash;
		/* the hash itself is never quoted in a diagnostic */
		bool ok = h[0] != '\0';
		for (const unsigned char *p = (const unsigned char *)h; ok && *p; p++)
			if (*p <= 0x20 || *p >= 0x7f || *p == ':')
				ok = false;
		if (!ok)
			return xp_guest_fail(
			    &c->dg, -EINVAL, "password-hash", NULL,
			    "invalid root password hash: it must be a non-empty crypt(3) "
			    "string without ':' or white space");
	}
	if (s->grub && !xp_guest_kernel_args_valid(s->kernel_args))
		return xp_guest_fail(&c->dg, -EINVAL, "kernel-args", s->kernel_args,
				     "the kernel command line '%s' cannot go into a grub.cfg: "
				     "quotes, '$', '\\', '`', ';', '{', '}', '|', '&', '<' and '>' "
				     "are GRUB's (or the shell's) syntax",
				     s->kernel_args);
	int r = check_devices(c);
	if (r < 0)
		return r;
	if (s->ssh_key && (!s->ssh_key[0] || !printable_lines(s->ssh_key)))
		return xp_guest_fail(&c->dg, -EINVAL, "ssh-key", NULL,
				     "invalid SSH key: empty or holding control characters");
	return xp__guest_custom_check(&c->dg, s);
}

/* ---- finding the root filesystem -------------------------------------------------------- */

/* The swap UUID ("" if it has none) if the area at off is a Linux swap area (any page
 * size up to 64 KiB: "SWAPSPACE2" ends the first page; the UUID is at byte 1036 whatever
 * the page size, mkswap(8) and util-linux's include/swapheader.h). */
static bool probe_swap(struct xp_blockdev *bd, uint64_t off, char uuid[37])
{
	static const unsigned pages[] = {4096, 8192, 16384, 65536};
	unsigned char buf[16];
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (xp_blockdev_pread(bd, buf, 10, off + pages[i] - 10) < 0)
			return false;
		if (memcmp(buf, SWAP_MAGIC, 10) != 0)
			continue;
		if (xp_blockdev_pread(bd, buf, 16, off + SWAP_UUID_OFFSET) < 0)
			return false;
		uuid[0] = '\0';
		for (int k = 0; k < 16; k++)
			if (buf[k])
				uuid_unparse_lower(buf, uuid);
		return true;
	}
	return false;
}

void xp__guest_root_close(struct xp__guest_root *r)
{
	xp_fs_close(r->fs);
	xp_blockdev_close(r->bd);
	r->fs = NULL;
	r->bd = NULL;
}

int xp__guest_find_root(const char *image, struct xp_diags *d, bool keep,
			struct xp__guest_root *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_blockdev *bd;
	enum xp_label label;
	struct xp_part *parts;
	size_t n;
	int r = xp__image_open_table(image, d, &bd, &label, &parts, &n);
	if (r < 0)
		return r;
	size_t ncand = label == XP_LABEL_NONE ? 1 : n;
	struct xp_fs *root = NULL;
	for (size_t i = 0; i < ncand; i++) {
		uint64_t off = label == XP_LABEL_NONE ? 0 : parts[i].offset;
		char uuid[37];
		if (label != XP_LABEL_NONE && probe_swap(bd, off, uuid)) {
			if (!out->have_swap) {
				out->have_swap = true;
				out->swap_off = off;
				snprintf(out->swap_uuid, sizeof(out->swap_uuid), "%s", uuid);
			}
			continue;
		}
		if (root)
			continue;
		struct xp_fs *fs = NULL;
		if (xp_fs_open(bd, off, &fs) < 0)
			continue;
		struct xp_fs_entry e;
		bool dir = xp_fs_stat(fs, "/etc", &e) == 0 && S_ISDIR(e.mode);
		xp_fs_entry_release(&e);
		if (dir && xp_fs_info(fs, &out->info) == 0) {
			root = fs;
			out->off = off;
			out->number = label == XP_LABEL_NONE ? 0 : parts[i].number;
		} else {
			xp_fs_close(fs);
		}
	}
	free(parts);
	if (!root) {
		xp_blockdev_close(bd);
		if (d)
			xp_diags_add(d, XP_SEV_ERROR, image, 0, 0, "no-root", image, NULL,
				     "no ext2/3/4 filesystem with /etc found in '%s'", image);
		return -ENOENT;
	}
	out->bd = bd;
	out->fs = root;
	if (!keep)
		xp__guest_root_close(out);
	return 0;
}

static int find_root(struct ctx *c, uint64_t *root_off)
{
	struct xp__guest_root gr;
	int r = xp__guest_find_root(c->image, c->dg.d, false, &gr);
	if (r < 0)
		return r;
	if (gr.have_swap) {
		c->have_swap = true;
		c->swap_off = gr.swap_off;
		snprintf(c->rep->old_swap_uuid, sizeof(c->rep->old_swap_uuid), "%s", gr.swap_uuid);
	}
	*root_off = gr.off;
	/* the guest's first disk is xvda (xlcfg.c) */
	if (gr.number == 0)
		snprintf(c->root_dev, sizeof(c->root_dev), "/dev/xvda");
	else
		snprintf(c->root_dev, sizeof(c->root_dev), "/dev/xvda%u", gr.number);
	c->fstype = gr.info.type;
	snprintf(c->rep->old_fs_uuid, sizeof(c->rep->old_fs_uuid), "%s", gr.info.uuid);
	return 0;
}

/* ---- the edits --------------------------------------------------------------------------- */

/* Writes what text makes of the settings to path. */
static int put_text(struct ctx *c, const char *path,
		    int (*text)(const struct xp_guest_settings *, struct xp_buf *),
		    const struct xp_gfs_wopts *o)
{
	struct xp_buf b = XP_BUF_INIT;
	int r = text(c->s, &b);
	if (r == 0)
		r = xp_gfs_write_buf(c->fs, path, &b, o);
	xp_buf_release(&b);
	return r;
}

static int edit_hostname(struct ctx *c)
{
	if (!c->s->hostname)
		return 0;
	int r = put_text(c, "/etc/hostname", xp_guest_text_hostname, &xp_gfs_file);
	if (r == 0)
		r = put_text(c, "/etc/hosts", xp_guest_text_hosts, &xp_gfs_file);
	return r;
}

/* NetworkManager runs at boot: installed, and its service enabled as `systemctl enable`
 * does it (NetworkManager.service's WantedBy=multi-user.target). Installed but disabled,
 * it configures nothing, and the image's other format counts. */
static bool nm_in_use(struct ctx *c)
{
	mode_t mode;
	return (xp_gfs_exists(c->fs, "/usr/sbin/NetworkManager") ||
		xp_gfs_exists(c->fs, "/sbin/NetworkManager")) &&
	       xp_gfs_lstat(c->fs,
			    "/etc/systemd/system/multi-user.target.wants/NetworkManager.service",
			    &mode) == 0;
}

static enum xp_net_format detect_net(struct ctx *c)
{
	if (xp_gfs_is_dir(c->fs, "/etc/netplan"))
		return XP_NET_NETPLAN;
	/* before ifcfg: NetworkManager always reads keyfiles (nm-settings-keyfile(5)), and
	 * RHEL 9 keeps /etc/sysconfig/network-scripts/ for a readme only */
	if (nm_in_use(c))
		return XP_NET_NM;
	if (xp_gfs_is_dir(c->fs, "/etc/sysconfig/network-scripts"))
		return XP_NET_IFCFG;
	if (xp_gfs_is_regular(c->fs, "/etc/network/interfaces"))
		return XP_NET_IFUPDOWN;
	if (xp_gfs_is_dir(c->fs, "/etc/systemd/network"))
		return XP_NET_NETWORKD;
	return XP_NET_NONE;
}

/* Removes the files of dir whose name matches glob (NULL: any) but not keep (a glob,
 * NULL: none) and whose text satisfies pred(text, arg). */
static int remove_matching(struct ctx *c, const char *dir, const char *glob, const char *keep,
			   bool (*pred)(const char *text, const void *arg), const void *arg)
{
	char **names;
	size_t n;
	int r = xp_gfs_list(c->fs, dir, &names, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((glob && fnmatch(glob, names[i], 0) != 0) ||
		    (keep && fnmatch(keep, names[i], 0) == 0))
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		char *text;
		size_t len;
		int rr = xp_gfs_read(c->fs, path, &text, &len);
		if (rr == 0) {
			if (pred(text, arg))
				r = xp_gfs_remove(c->fs, path, true);
			free(text);
		} else if (rr != -EINVAL && rr != -ENOENT) {
			r = rr;
		}
		free(path);
	}
	xp_gfs_names_free(names, n);
	return r;
}

/* Makes the directories of path (an absolute path to a file below /etc) that are
 * missing, 0:0 0755; those there are left as they are. */
static int make_parents(struct ctx *c, const char *path)
{
	char *dir = strndup(path, (size_t)(strrchr(path, '/') - path));
	if (!dir)
		return -ENOMEM;
	int r = xp_gfs_mkdirs(c->fs, dir);
	free(dir);
	return r;
}

/* Writes what text makes of NIC i of the settings to path, making its directories. */
static int put_nic(struct ctx *c, const char *path, unsigned i,
		   int (*text)(const struct xp_guest_settings *, unsigned, struct xp_buf *),
		   const struct xp_gfs_wopts *o)
{
	struct xp_buf b = XP_BUF_INIT;
	int r = make_parents(c, path);
	if (r == 0)
		r = text(c->s, i, &b);
	if (r == 0)
		r = xp_gfs_write_buf(c->fs, path, &b, o);
	xp_buf_release(&b);
	return r;
}

/* Whether an interfaces(5) text configures one of the guest's interfaces under either
 * name (enXN, ethN). */
static bool ifupdown_configures(const char *text, const void *arg)
{
	const struct xp_guest_settings *s = arg;
	char name[16];
	for (unsigned i = 0; i <= s->nnics; i++)
		if (xp_guest_text_ifupdown_configures(text, xp_guest_ifname(i, false, name)) ||
		    xp_guest_text_ifupdown_configures(text, xp_guest_ifname(i, true, name)))
			return true;
	return false;
}


/* ifupdown configures an interface by name. Under systemd-udevd (systemd or sysvinit
 * with Debian's udev) each NIC's name is fixed by a .link file matching its MAC, which
 * sorts before udev's own 99-default.link; without it (busybox mdev, eudev), the
 * kernel's ethN stay. */
static int net_ifupdown(struct ctx *c)
{
	bool udevd = xp_gfs_exists(c->fs, "/lib/systemd/systemd-udevd") ||
		     xp_gfs_exists(c->fs, "/usr/lib/systemd/systemd-udevd");
	int r = 0;
	for (unsigned i = 0; udevd && r == 0 && i <= c->s->nnics; i++) {
		char path[96], ifname[16];
		snprintf(path, sizeof(path), "/etc/systemd/network/10-xenprov-%s.link",
			 xp_guest_ifname(i, false, ifname));
		r = put_nic(c, path, i, xp_guest_text_link, &xp_gfs_file);
	}
	bool dotd = xp_gfs_is_dir(c->fs, "/etc/network/interfaces.d");
	struct xp_buf b = XP_BUF_INIT;
	if (r == 0)
		r = xp_guest_text_ifupdown(c->s, !udevd, dotd, &b);
	if (r == 0)
		r = xp_gfs_write_buf(c->fs, "/etc/network/interfaces", &b, &xp_gfs_file);
	xp_buf_release(&b);
	/* stanzas for the golden image's interfaces under either name would fight ours */
	if (r == 0 && dotd)
		r = remove_matching(c, "/etc/network/interfaces.d", NULL, NULL, ifupdown_configures,
				    c->s);
	return r;
}

static bool netplan_has_ethernets(const char *text, const void *arg)
{
	(void)arg;
	return xp_guest_text_netplan_has_ethernets(text);
}

static int net_netplan(struct ctx *c)
{
	/* netplan warns about (and may ignore) world-readable files */
	static const struct xp_gfs_wopts np = {0600, 0, 0, false};
	int r = put_text(c, "/etc/netplan/50-xenprov.yaml", xp_guest_text_netplan, &np);
	if (r == 0)
		r = remove_matching(c, "/etc/netplan", "*.yaml", "50-xenprov.yaml",
				    netplan_has_ethernets, NULL);
	return r;
}

static bool nm_is_ethernet(const char *text, const void *arg)
{
	(void)arg;
	return xp_guest_text_nm_is_ethernet(text);
}

#define NM_DIR "/etc/NetworkManager/system-connections"

/* The keyfile of NIC i: xenprov.nmconnection for the first, xenprov-enXN.nmconnection
 * for a further one. */
static int nm_file(struct ctx *c, unsigned i)
{
	unsigned char id[16];
	int r = xp_getrandom(NULL, id, sizeof(id));
	if (r < 0)
		return xp_guest_fail(&c->dg, r, "random", NULL, "getrandom: %s", strerror(-r));
	char path[128], ifname[16];
	if (i == 0)
		snprintf(path, sizeof(path), NM_DIR "/xenprov.nmconnection");
	else
		snprintf(path, sizeof(path), NM_DIR "/xenprov-%s.nmconnection",
			 xp_guest_ifname(i, false, ifname));
	struct xp_buf b = XP_BUF_INIT;
	r = make_parents(c, path);
	if (r == 0)
		r = xp_guest_text_nm_keyfile(c->s, i, id, &b);
	if (r == 0)
		r = xp_gfs_write_buf(c->fs, path, &b, &(struct xp_gfs_wopts){0600, 0, 0, true});
	xp_buf_release(&b);
	return r;
}

/* NetworkManager ignores keyfiles that others than root may read or write: 0:0 0600,
 * also over a file of ours from an earlier apply. The image's other ethernet
 * connections go (as the other formats' files for the interface do); connections of
 * other kinds (bridges, VPNs, Wi-Fi) stay. */
static int net_nm(struct ctx *c)
{
	int r = 0;
	for (unsigned i = 0; r == 0 && i <= c->s->nnics; i++)
		r = nm_file(c, i);
	if (r == 0)
		r = remove_matching(c, NM_DIR, NULL, "xenprov*.nmconnection", nm_is_ethernet, NULL);
	return r;
}

/* systemd-networkd reads the file only when it runs, and Debian ships it disabled:
 * enabled as `systemctl enable systemd-networkd` does it (its [Install]: WantedBy=
 * multi-user.target, Also= the socket (sockets.target) and wait-online
 * (network-online.target), Alias= dbus-org.freedesktop.network1.service), each unit
 * that the image has, where it is not linked yet. Without systemd (or without the
 * units) nothing is linked. */
static int enable_networkd(struct ctx *c)
{
	static const char *const dirs[] = {"/usr/lib/systemd/system", "/lib/systemd/system"};
	static const struct {
		const char *unit, *link;
	} links[] = {
	    {"systemd-networkd.service",
	     "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"},
	    {"systemd-networkd.service", "/etc/systemd/system/dbus-org.freedesktop.network1.service"},
	    {"systemd-networkd.socket", "/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"},
	    {"systemd-networkd-wait-online.service",
	     "/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"},
	};
	if (!xp__guest_has_systemd(c->fs))
		return 0;
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof(links) / sizeof(links[0]); i++) {
		char unit[128];
		bool found = false;
		for (size_t k = 0; !found && k < sizeof(dirs) / sizeof(dirs[0]); k++) {
			snprintf(unit, sizeof(unit), "%s/%s", dirs[k], links[i].unit);
			found = xp_gfs_is_regular(c->fs, unit);
		}
		mode_t mode;
		if (!found || xp_gfs_lstat(c->fs, links[i].link, &mode) == 0)
			continue;
		r = make_parents(c, links[i].link);
		if (r == 0)
			r = xp_gfs_symlink(c->fs, links[i].link, unit);
	}
	return r;
}

static int edit_network(struct ctx *c)
{
	enum xp_net_format f = detect_net(c);
	c->rep->net_format = f;
	if (!c->s->dhcp && !c->s->ip)
		return 0;
	switch (f) {
	case XP_NET_IFUPDOWN:
		return net_ifupdown(c);
	case XP_NET_NETWORKD: {
		/* 10-xenprov.network for the first NIC, 10-xenprov-enXN.network for the
		 * others: each matches its own MAC */
		int r = 0;
		for (unsigned i = 0; r == 0 && i <= c->s->nnics; i++) {
			char path[96], ifname[16];
			if (i == 0)
				snprintf(path, sizeof(path), "/etc/systemd/network/10-xenprov.network");
			else
				snprintf(path, sizeof(path), "/etc/systemd/network/10-xenprov-%s.network",
					 xp_guest_ifname(i, false, ifname));
			r = put_nic(c, path, i, xp_guest_text_networkd, &xp_gfs_file);
		}
		return r == 0 ? enable_networkd(c) : r;
	}
	case XP_NET_NETPLAN:
		return net_netplan(c);
	case XP_NET_NM:
		return net_nm(c);
	case XP_NET_IFCFG: {
		int r = 0;
		for (unsigned i = 0; r == 0 && i <= c->s->nnics; i++) {
			char path[96], ifname[16];
			snprintf(path, sizeof(path), "/etc/sysconfig/network-scripts/ifcfg-%s",
				 xp_guest_ifname(i, true, ifname));
			r = put_nic(c, path, i, xp_guest_text_ifcfg, &xp_gfs_file);
		}
		return r;
	}
	case XP_NET_NONE:
		break;
	}
	xp_guest_warn(&c->dg, "no-network-format",
		      "no known network configuration in the image (ifupdown, systemd-networkd, "
		      "netplan, NetworkManager, ifcfg): network settings not written");
	return 0;
}

/* New UUIDs for the root filesystem and the swap area: what makes clones of one golden
 * image distinct disks to blkid, udev's /dev/disk/by-uuid and every fstab. */
static int edit_uuids(struct ctx *c)
{
	uuid_t u;
	uuid_generate_random(u);
	bool seeded = false;
	int r = xp_gfs_set_uuid(c->fs, u, &seeded);
	if (r < 0)
		return r;
	uuid_unparse_lower(u, c->rep->fs_uuid);
	if (seeded) {
		c->rep->csum_seed_set = true;
		xp_guest_warn(&c->dg, "csum-seed",
			      "the root filesystem has metadata_csum without metadata_csum_seed: "
			      "metadata_csum_seed was turned on so that its UUID could change "
			      "without rewriting every checksum; the guest needs Linux 4.4 or "
			      "later and, where its boot loader reads the filesystem, GRUB 2.12 "
			      "(or Debian's 2.06-13) or later");
	}
	if (!c->have_swap)
		return 0;
	uuid_generate_random(u);
	r = xp_gfs_disk_pwrite(c->fs, u, sizeof(u), c->swap_off + SWAP_UUID_OFFSET);
	if (r == 0)
		uuid_unparse_lower(u, c->rep->swap_uuid);
	return r;
}

/* /etc/resolv.conf, never left as the build host's (mmdebstrap and chroot builds copy
 * it into the tree). A symbolic link means a resolver manager owns it
 * (systemd-resolved: /run/systemd/resolve/..., resolvconf: /run/resolvconf/...), which
 * takes the name servers from the network configuration: left alone. A regular file (or
 * none) is static text: with a static address it becomes the settings' name servers and
 * domain; with DHCP it is removed, for the DHCP client (dhclient-script, udhcpc's
 * script, NetworkManager) to write. */
static int edit_resolv_conf(struct ctx *c)
{
	if (!c->s->dhcp && !c->s->ip)
		return 0;
	mode_t mode = 0;
	int r = xp_gfs_lstat(c->fs, "/etc/resolv.conf", &mode);
	if (r < 0 && r != -ENOENT)
		return r;
	bool regular = r == 0 && S_ISREG(mode);
	if (r == 0 && !regular)
		return 0;
	if (c->s->dhcp)
		return regular ? xp_gfs_remove(c->fs, "/etc/resolv.conf", true) : 0;
	return put_text(c, "/etc/resolv.conf", xp_guest_text_resolv_conf, &xp_gfs_file);
}

static int edit_fstab(struct ctx *c)
{
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_guest_text_fstab(c->rep->fs_uuid, c->fstype, c->rep->swap_uuid, c->s->mounts,
				    c->s->nmounts, &b);
	if (r == 0)
		r = xp_gfs_write_buf(c->fs, "/etc/fstab", &b, &xp_gfs_file);
	xp_buf_release(&b);
	/* the mount points, for whatever mounts them (systemd makes a missing one itself;
	 * busybox's and sysvinit's mount -a do not) */
	for (size_t i = 0; r == 0 && i < c->s->nmounts; i++)
		if (c->s->mounts[i].dir)
			r = xp_gfs_mkdirs(c->fs, c->s->mounts[i].dir);
	return r;
}

/* Files that name the root or swap UUID outside fstab: the boot loader's
 * configuration and what it is made from (update-grub reads /etc/default/grub;
 * kernel-install /etc/kernel/cmdline), the Boot Loader Specification's entries, and
 * Debian's initramfs resume device (initramfs-tools(7)). A file is rewritten only if it
 * names an old UUID. */
static const char *const uuid_files[] = {
    "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/menu.lst",
    "/etc/default/grub",   "/etc/kernel/cmdline",  "/etc/initramfs-tools/conf.d/resume",
};
#define BLS_ENTRIES "/boot/loader/entries"

static int follow_uuids_in(struct ctx *c, const char *path)
{
	char *text;
	size_t len;
	int r = xp_gfs_read(c->fs, path, &text, &len);
	if (r == -ENOENT || r == -EINVAL) /* absent, or not a regular file */
		return 0;
	if (r < 0)
		return r;
	struct xp_buf b = XP_BUF_INIT;
	r = xp_guest_uuids_follow(c->rep, text, len, &b);
	if (r > 0)
		r = xp_gfs_write_buf(c->fs, path, &b, &xp_gfs_file);
	xp_buf_release(&b);
	free(text);
	return r < 0 ? r : 0;
}

static int edit_uuid_refs(struct ctx *c)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof(uuid_files) / sizeof(uuid_files[0]); i++)
		r = follow_uuids_in(c, uuid_files[i]);
	if (r < 0)
		return r;
	char **names;
	size_t n;
	r = xp_gfs_list(c->fs, BLS_ENTRIES, &names, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (fnmatch("*.conf", names[i], 0) != 0)
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s/%s", BLS_ENTRIES, names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = follow_uuids_in(c, path);
		free(path);
	}
	xp_gfs_names_free(names, n);
	return r;
}

/* ---- booting through GRUB's configuration -------------------------------------------- */

/* The kernels in the image's /boot (regular files only). */
static int boot_kernels(struct ctx *c, struct xp_boot_kernels *k)
{
	char **names;
	size_t n;
	int r = xp_gfs_list(c->fs, "/boot", &names, &n);
	size_t kept = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		char *path = NULL;
		if (asprintf(&path, "/boot/%s", names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		bool regular = xp_gfs_is_regular(c->fs, path);
		free(path);
		if (regular) {
			char *keep = names[i];
			names[i] = names[kept];
			names[kept++] = keep;
		}
	}
	if (r == 0)
		r = xp_boot_kernels_pick((const char *const *)names, kept, k);
	xp_gfs_names_free(names, n);
	return r;
}

static bool grub_config_exists(struct ctx *c)
{
	static const char *const configs[] = {"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg",
					       "/boot/grub/menu.lst"};
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		if (xp_gfs_exists(c->fs, configs[i]))
			return true;
	return false;
}

/* GRUB's own tooling, which writes /boot/grub/grub.cfg anew after each kernel
 * installation (Debian's kernel postinst hook runs update-grub). */
static bool grub_tooling(struct ctx *c)
{
	static const char *const tools[] = {"/usr/sbin/update-grub", "/usr/sbin/grub-mkconfig",
					    "/usr/sbin/grub2-mkconfig", "/sbin/update-grub",
					    "/sbin/grub-mkconfig", "/sbin/grub2-mkconfig"};
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (xp_gfs_exists(c->fs, tools[i]))
			return true;
	return false;
}

/* With grub, after the new UUIDs (the grub.cfg names the new root UUID). A guest with
 * GRUB tooling gets the Xen console and the profile's command line into
 * /etc/default/grub too, so that the grub.cfg its update-grub writes after a kernel
 * upgrade still boots on Xen's console; an image that has a configuration keeps it. */
static int edit_boot(struct ctx *c)
{
	if (!c->s->grub)
		return 0;
	struct xp_boot_kernels k;
	int r = boot_kernels(c, &k);
	if (r < 0)
		return r;
	if (k.n == 0) {
		xp_boot_kernels_release(&k);
		return xp_guest_fail(&c->dg, -ENOENT, "no-kernel", "/boot",
				     "no kernel in the image's /boot (vmlinuz-VERSION): pygrub and "
				     "PV GRUB have nothing to boot");
	}
	c->rep->boot_kernel = strdup(k.v[0].kernel);
	if (!c->rep->boot_kernel)
		r = -ENOMEM;
	if (r == 0 && !grub_config_exists(c)) {
		struct xp_buf b = XP_BUF_INIT;
		r = xp_guest_text_grub_cfg(&k, c->rep->fs_uuid, c->root_dev, c->s->kernel_args, &b);
		if (r == -EINVAL)
			r = xp_guest_fail(&c->dg, r, "kernel-args", NULL,
					  "the kernel command line cannot be written into grub.cfg");
		if (r == 0)
			r = xp_gfs_mkdir(c->fs, "/boot/grub", 0755, 0, 0, false);
		if (r == 0)
			r = xp_gfs_write_buf(c->fs, "/boot/grub/grub.cfg", &b, &xp_gfs_file);
		xp_buf_release(&b);
		c->rep->grub_cfg_written = r == 0;
		if (r == 0 && grub_tooling(c)) {
			char *old = NULL;
			size_t len = 0;
			int rr = xp_gfs_read(c->fs, "/etc/default/grub", &old, &len);
			if (rr < 0 && rr != -ENOENT && rr != -EINVAL)
				r = rr;
			if (r == 0 && xp_gfs_is_dir(c->fs, "/etc/default")) {
				struct xp_buf dflt = XP_BUF_INIT;
				rr = xp_guest_text_default_grub(old, len, c->s->kernel_args, &dflt);
				if (rr < 0)
					r = rr;
				else if (rr > 0)
					r = xp_gfs_write_buf(c->fs, "/etc/default/grub", &dflt,
							     &xp_gfs_file);
				xp_buf_release(&dflt);
			}
			free(old);
		}
	}
	xp_boot_kernels_release(&k);
	return r;
}

/* Removes DIR/NAME unless it is a directory (what a clone must not share, host keys). */
static int remove_in(struct ctx *c, const char *dir, const char *name)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	mode_t mode = 0;
	int r = xp_gfs_lstat(c->fs, path, &mode);
	if (r == 0 && !S_ISDIR(mode))
		r = xp_gfs_remove(c->fs, path, true);
	free(path);
	return r;
}

/* What one machine keeps of its own and a clone must not share, removed as
 * virt-sysprep(1)'s random-seed, dhcp-client-state and udev-persistent-net operations
 * do (a random seed is removed rather than rewritten: systemd-random-seed.service(8)
 * and the sysvinit scripts make a new one at boot, as NetworkManager and dhcpcd(8) make
 * their secrets and DUID): "DIR/GLOB", the names in DIR matching GLOB (fnmatch(3));
 * anything but a directory. Also what `image capture` leaves out of a golden image
 * (xp_guest_machine_state). */
static const char *const machine_state[] = {
    "/var/lib/systemd/random-seed",		      /* systemd */
    "/var/lib/urandom/random-seed",		      /* Debian's sysvinit */
    "/var/lib/random-seed",			      /* Red Hat's sysvinit */
    "/var/lib/dhcp/dhclient*.leases",		      /* ISC dhclient, Debian */
    "/var/lib/dhclient/*.lease",		      /* ISC dhclient, Red Hat */
    "/var/lib/dhclient/*.leases",
    "/var/lib/NetworkManager/*.lease",		      /* leases */
    "/var/lib/NetworkManager/secret_key",	      /* IPv6, DUID */
    "/var/lib/dhcpcd/*.lease",
    "/var/lib/dhcpcd/*.lease6",
    "/var/lib/dhcpcd/duid",
    "/var/lib/dhcpcd/secret",			      /* RFC 7217 secret */
    "/etc/udev/rules.d/70-persistent-net.rules",      /* eth0 = the old MAC */
    NULL,
};

const char *const *xp_guest_machine_state(void)
{
	return machine_state;
}

/* A guest's own files (guest.h): what xp_guest_apply writes or removes per guest, and
 * the machine state above. A pattern ending in "/" is a whole tree below it. */
static const char *const own_paths[] = {
    "/etc/hostname", "/etc/hosts", "/etc/mailname", "/etc/fstab", "/etc/machine-id",
    "/var/lib/dbus/machine-id", "/etc/resolv.conf", "/etc/shadow", "/etc/shadow-",
    "/etc/ssh/ssh_host_*", "/root/.ssh/authorized_keys",
    /* the network, in each format edit_network writes */
    "/etc/network/interfaces", "/etc/network/interfaces.d/", "/etc/netplan/",
    "/etc/NetworkManager/system-connections/", "/etc/sysconfig/network-scripts/ifcfg-*",
    "/etc/systemd/network/10-xenprov*",
    /* what names the guest's new UUIDs (edit_uuid_refs, edit_boot) */
    "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/menu.lst", "/etc/default/grub",
    "/etc/kernel/cmdline", "/etc/initramfs-tools/conf.d/resume", "/boot/loader/entries/",
    /* xenprov's units, first-boot commands, the time zone */
    "/etc/systemd/system/xenprov-*", "/etc/systemd/system/*.wants/xenprov-*",
    "/var/lib/xenprov/", "/etc/localtime", "/etc/timezone",
};

bool xp_guest_own_path(const char *path)
{
	for (size_t i = 0; i < sizeof(own_paths) / sizeof(own_paths[0]); i++) {
		const char *p = own_paths[i];
		size_t len = strlen(p);
		if (p[len - 1] == '/') {
			if (strncmp(path, p, len - 1) == 0 && (path[len - 1] == '/' || !path[len - 1]))
				return true;
		} else if (fnmatch(p, path, FNM_PATHNAME | FNM_PERIOD) == 0) {
			return true;
		}
	}
	for (const char *const *p = machine_state; *p; p++)
		if (fnmatch(*p, path, FNM_PATHNAME | FNM_PERIOD) == 0)
			return true;
	return false;
}

static int remove_machine_state(struct ctx *c)
{
	int r = 0;
	for (size_t i = 0; r == 0 && machine_state[i]; i++) {
		const char *slash = strrchr(machine_state[i], '/');
		char *dir = strndup(machine_state[i], (size_t)(slash - machine_state[i]));
		char **names = NULL;
		size_t n = 0;
		r = dir ? xp_gfs_list(c->fs, dir, &names, &n) : -ENOMEM;
		for (size_t k = 0; r == 0 && k < n; k++)
			if (fnmatch(slash + 1, names[k], FNM_PERIOD) == 0)
				r = remove_in(c, dir, names[k]);
		xp_gfs_names_free(names, n);
		free(dir);
	}
	return r;
}

static int edit_machine_id(struct ctx *c)
{
	unsigned char id[16];
	int r = xp_getrandom(NULL, id, sizeof(id));
	if (r < 0)
		return xp_guest_fail(&c->dg, r, "random", NULL, "getrandom: %s", strerror(-r));
	struct xp_buf b = XP_BUF_INIT;
	r = xp_guest_text_machine_id(id, &b);
	if (r == 0 && xp_gfs_is_dir(c->fs, "/etc")) {
		r = xp_gfs_write_buf(c->fs, "/etc/machine-id", &b,
				     &(struct xp_gfs_wopts){0444, 0, 0, false});
		if (r == 0 && xp_gfs_is_regular(c->fs, "/var/lib/dbus/machine-id"))
			r = xp_gfs_write_buf(c->fs, "/var/lib/dbus/machine-id", &b, &xp_gfs_file);
	}
	xp_buf_release(&b);
	return r;
}

static int edit_shadow(struct ctx *c)
{
	const char *hash = c->s->root_password_hash;
	if (!hash)
		return 0;
	char *text;
	size_t len;
	int r = xp_gfs_read(c->fs, "/etc/shadow", &text, &len);
	if (r == -ENOENT || r == -EINVAL)
		return xp_guest_fail(
		    &c->dg, -ENOENT, "no-shadow", "/etc/shadow",
		    "cannot set the root password: no regular /etc/shadow in the image");
	if (r < 0)
		return r;
	struct xp_buf b = XP_BUF_INIT;
	r = xp_guest_text_shadow(text, len, hash, &b);
	if (r == -ENOENT)
		r = xp_guest_fail(&c->dg, -ENOENT, "no-root-user", "/etc/shadow",
				  "cannot set the root password: /etc/shadow has no line for root");
	if (r == 0)
		r = xp_gfs_write_buf(c->fs, "/etc/shadow", &b,
				     &(struct xp_gfs_wopts){0640, 0, 0, false});
	/* the hash was in the buffer: clear it before freeing */
	if (b.s)
		explicit_bzero(b.s, b.cap);
	xp_buf_release(&b);
	free(text);
	return r;
}

static int edit_ssh_key(struct ctx *c)
{
	const char *key = c->s->ssh_key;
	if (!key)
		return 0;
	int r = xp_gfs_mkdir(c->fs, "/root", 0700, 0, 0, false);
	if (r == 0)
		r = xp_gfs_mkdir(c->fs, "/root/.ssh", 0700, 0, 0, true);
	if (r < 0)
		return r;
	struct xp_buf b = XP_BUF_INIT;
	r = xp_guest_text_authorized_keys(key, &b);
	if (r == 0)
		r = xp_gfs_write_buf(c->fs, "/root/.ssh/authorized_keys", &b,
				     &(struct xp_gfs_wopts){0600, 0, 0, true});
	xp_buf_release(&b);
	return r;
}

static int remove_host_keys(struct ctx *c)
{
	char **names;
	size_t n;
	int r = xp_gfs_list(c->fs, "/etc/ssh", &names, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *name = names[i];
		if (fnmatch("ssh_host_*_key", name, 0) != 0 &&
		    fnmatch("ssh_host_*_key.pub", name, 0) != 0)
			continue;
		r = remove_in(c, "/etc/ssh", name);
	}
	xp_gfs_names_free(names, n);
	return r;
}

/* The first-boot unit (guest-text.c) that makes the host keys remove_host_keys took
 * away, installed as `systemctl enable` would (guest-custom.c, which installs the
 * first-boot commands' unit the same way), with systemd and sshd in the image. A
 * sysvinit image gets nothing. */
static int add_hostkey_unit(struct ctx *c)
{
	bool sshd = xp_gfs_exists(c->fs, "/usr/sbin/sshd") || xp_gfs_exists(c->fs, "/sbin/sshd");
	if (!xp__guest_has_systemd(c->fs) || !sshd)
		return 0;
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_guest_text_hostkey_unit(&b);
	if (r == 0)
		r = xp__guest_unit_install(c->fs, "xenprov-ssh-hostkeys.service", &b);
	xp_buf_release(&b);
	return r;
}

/* What the operator asked for on top (guest-custom.c), after everything above so that
 * it may replace any of it. */
static int edit_custom(struct ctx *c)
{
	return xp__guest_custom_apply(c->fs, &c->dg, c->s);
}

/* ---- the session ------------------------------------------------------------------------- */

/* The edits of xp_guest_apply, in order, with the XP_GUEST_EDIT_* part of the guest
 * each rewrites on its own (xp_guest_update; 0: only at the first apply, what makes a
 * clone a machine of its own). */
static const struct {
	int (*fn)(struct ctx *);
	unsigned part;
} edits[] = {
    {edit_uuids, 0},
    {edit_hostname, XP_GUEST_EDIT_HOSTS},
    {edit_network, XP_GUEST_EDIT_NETWORK},
    {edit_resolv_conf, XP_GUEST_EDIT_NETWORK},
    {edit_fstab, 0},
    {edit_boot, 0},
    {edit_uuid_refs, 0},
    {edit_machine_id, 0},
    {remove_machine_state, 0},
    {edit_shadow, XP_GUEST_EDIT_PASSWORD},
    {edit_ssh_key, XP_GUEST_EDIT_SSH_KEY},
    {remove_host_keys, 0},
    {add_hostkey_unit, 0},
    {edit_custom, XP_GUEST_EDIT_CUSTOM},
};

/* The edits of parts (XP_GUEST_EDIT_*), or all of them (~0u). */
static int edit(struct ctx *c, uint64_t off, unsigned parts)
{
	int r = xp_gfs_open(c->image, off, c->now, c->s->no_sync ? XP_GFS_NOSYNC : 0, c->rep,
			    &c->dg, &c->fs);
	if (r < 0)
		return r;
	/* in order; the first failure stops the rest */
	for (size_t i = 0; r == 0 && i < sizeof(edits) / sizeof(edits[0]); i++)
		if (parts == ~0u || (edits[i].part & parts))
			r = edits[i].fn(c);
	r = xp_gfs_close(c->fs, r);
	c->fs = NULL;
	return r;
}

/* Checks s, finds the root filesystem of image_path and runs the edits of parts. */
static int session(const char *image_path, const struct xp_guest_settings *s, unsigned parts,
		   struct xp_guest_report *rep, struct xp_diags *d)
{
	struct xp_guest_report local;
	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	struct ctx c = {.s = s, .rep = rep, .dg = {d, image_path}, .image = image_path};
	if (!image_path || !s) {
		if (d)
			xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "usage", NULL, NULL,
				     "no image or no settings");
		return -EINVAL;
	}
	time_t now = time(NULL);
	c.now = (uint32_t)now;
	int r = check_settings(&c);
	uint64_t off = 0;
	if (r == 0)
		r = find_root(&c, &off);
	if (r == 0) {
		rep->fs_offset = off;
		r = edit(&c, off, parts);
	}
	if (rep == &local)
		xp_guest_report_release(&local);
	return r;
}

int xp_guest_apply(const char *image_path, const struct xp_guest_settings *s,
		   struct xp_guest_report *rep, struct xp_diags *d)
{
	return session(image_path, s, ~0u, rep, d);
}

int xp_guest_update(const char *image_path, const struct xp_guest_settings *s, unsigned parts,
		    struct xp_guest_report *rep, struct xp_diags *d)
{
	if (parts == 0 || (parts & ~XP_GUEST_EDIT_ALL)) {
		if (d)
			xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "usage", NULL, NULL,
				     "no known part of the guest to rewrite");
		return -EINVAL;
	}
	return session(image_path, s, parts, rep, d);
}
