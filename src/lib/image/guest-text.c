/*
 * guest-text.c - the text of every file xp_guest_apply writes into a guest
 * (guest-text.h), as pure functions of the settings: no image, no I/O.
 *
 * Also xp_guest_uuids_follow (guest.h): the text of a file that names the golden
 * image's UUIDs, with the guest's new ones in their place.
 *
 * The formats follow their manuals: interfaces(5) (ifupdown), systemd.link(5),
 * systemd.network(5), netplan's YAML reference, nm-settings-keyfile(5) and
 * nm-settings-nmcli(5) (NetworkManager), Red Hat's ifcfg (initscripts sysconfig.txt),
 * resolv.conf(5), fstab(5), machine-id(5) (a v4-style random ID as systemd makes
 * them), shadow(5), sshd(8) AUTHORIZED_KEYS, hosts(5) laid out as Debian's netcfg
 * does, systemd.unit(5) and systemd.service(5) (the host key and first-boot units), a
 * POSIX sh script (the first-boot commands' runner), Debian's /etc/timezone.
 *
 * Not here: where each file goes, its owner and mode (guest-edit.c), the image
 * (guest-fs.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "image/guest-text.h"
#include "util/ctype.h"
#include "xenprov/mac.h"

unsigned xp_guest_prefix(const struct xp_guest_settings *s)
{
	if (s->dhcp || !s->ip)
		return 0;
	if (s->prefix)
		return s->prefix;
	return strchr(s->ip, ':') ? 64 : 24; /* an IPv6 address has a ':', IPv4 none */
}

int xp_guest_mac(const struct xp_guest_settings *s, char mac[XP_MAC_STRLEN + 1])
{
	mac[0] = '\0';
	if (!s->mac)
		return 0;
	struct xp_mac m;
	if (xp_mac_parse(s->mac, &m) < 0)
		return -EINVAL;
	xp_mac_format(&m, mac);
	return 0;
}

static int done(const struct xp_buf *out)
{
	return xp_buf_error(out) ? -ENOMEM : 0;
}

/* ---- host name ------------------------------------------------------------------------ */

int xp_guest_text_hostname(const struct xp_guest_settings *s, struct xp_buf *out)
{
	if (!s->hostname)
		return -EINVAL;
	xp_buf_addf(out, "%s\n", s->hostname);
	return done(out);
}

int xp_guest_text_hosts(const struct xp_guest_settings *s, struct xp_buf *out)
{
	if (!s->hostname)
		return -EINVAL;
	/* hosts(5), as Debian's installer writes it */
	xp_buf_adds(out, "127.0.0.1\tlocalhost\n");
	if (s->domain)
		xp_buf_addf(out, "127.0.1.1\t%s.%s\t%s\n", s->hostname, s->domain, s->hostname);
	else
		xp_buf_addf(out, "127.0.1.1\t%s\n", s->hostname);
	xp_buf_adds(out, "\n# The following lines are desirable for IPv6 capable hosts\n"
			 "::1\tlocalhost ip6-localhost ip6-loopback\n"
			 "ff02::1\tip6-allnodes\n"
			 "ff02::2\tip6-allrouters\n");
	return done(out);
}

/* ---- the network ---------------------------------------------------------------------- */

const char *xp_guest_ifname(unsigned i, bool kernel, char buf[16])
{
	snprintf(buf, 16, "%s%u", kernel ? "eth" : "enX", i);
	return buf;
}

static bool is_v6(const char *addr)
{
	return strchr(addr, ':') != NULL; /* an IPv6 address has a ':', IPv4 none */
}

/* One NIC as the writers see it: the first from the settings' own fields, a further one
 * from s->nics. */
struct nic {
	unsigned index;
	char mac[XP_MAC_STRLEN + 1]; /* lower case, "" without one */
	bool dhcp;
	const char *ip;
	unsigned prefix;     /* of a static address */
	bool v6;	     /* the static address is IPv6 */
	const char *gateway; /* static: the default route's router, or NULL */
	bool dhcp_router;    /* dhcp: the DHCP server's router is the default route */
	bool first;	     /* name servers and the search domain go with it */
	char ifname[16];     /* ifupdown, .link, ifcfg: the interface's name */
};

/* NIC i of s (0: the first), names from xp_guest_ifname(i, kernel). -EINVAL for an i
 * beyond s->nnics, a NIC with neither dhcp nor an address, or a MAC that cannot be
 * read. */
static int nic_at(const struct xp_guest_settings *s, unsigned i, bool kernel, struct nic *n)
{
	memset(n, 0, sizeof(*n));
	if (i > s->nnics || (i && !s->nics))
		return -EINVAL;
	const char *mac;
	n->index = i;
	n->first = i == 0;
	if (i == 0) {
		mac = s->mac;
		n->dhcp = s->dhcp;
		n->ip = s->ip;
		n->gateway = s->gateway;
		n->dhcp_router = true;
		n->prefix = xp_guest_prefix(s);
	} else {
		const struct xp_guest_nic *g = &s->nics[i - 1];
		mac = g->mac;
		n->dhcp = g->dhcp;
		n->ip = g->ip;
		n->gateway = g->gateway;
		n->dhcp_router = g->gateway && strcmp(g->gateway, "dhcp") == 0;
		n->prefix = g->dhcp || !g->ip ? 0 : g->prefix ? g->prefix : is_v6(g->ip) ? 64 : 24;
	}
	if (!n->dhcp && !n->ip)
		return -EINVAL;
	if (n->dhcp)
		n->gateway = NULL;
	n->v6 = !n->dhcp && is_v6(n->ip);
	struct xp_mac m;
	if (mac) {
		if (xp_mac_parse(mac, &m) < 0)
			return -EINVAL;
		xp_mac_format(&m, n->mac);
	}
	xp_guest_ifname(i, kernel, n->ifname);
	return 0;
}

/* The name servers, sep between them, after before and followed by after; nothing
 * when there are none. */
static void add_dns(struct xp_buf *b, const struct xp_guest_settings *s, const char *before,
		    const char *sep, const char *after)
{
	for (size_t i = 0; i < s->ndns; i++)
		xp_buf_addf(b, "%s%s", i ? sep : before, s->dns[i]);
	if (s->ndns)
		xp_buf_adds(b, after);
}

static void ifupdown_stanza(const struct xp_guest_settings *s, const struct nic *n,
			    struct xp_buf *out)
{
	xp_buf_addf(out, "\nauto %s\n", n->ifname);
	if (n->dhcp) {
		xp_buf_addf(out, "iface %s inet dhcp\n", n->ifname);
		return;
	}
	xp_buf_addf(out, "iface %s %s static\n\taddress %s/%u\n", n->ifname,
		    n->v6 ? "inet6" : "inet", n->ip, n->prefix);
	if (n->gateway)
		xp_buf_addf(out, "\tgateway %s\n", n->gateway);
	if (!n->first)
		return;
	add_dns(out, s, "\tdns-nameservers ", " ", "\n");
	if (s->domain)
		xp_buf_addf(out, "\tdns-search %s\n", s->domain);
}

/* systemd.link(5): the first file (in name order) whose [Match] fits applies; Name= is
 * used when no NamePolicy= is set, as here. */
static void link_file(const struct nic *n, struct xp_buf *out)
{
	xp_buf_addf(out,
		    "# systemd.link(5), written by xenprov: the interface with this MAC address\n"
		    "# is %s, the name /etc/network/interfaces configures.\n"
		    "[Match]\nMACAddress=%s\n\n[Link]\nName=%s\n",
		    n->ifname, n->mac, n->ifname);
}

/* A further NIC's DHCP router is no default route unless its spec asks for one:
 * systemd.network(5) [DHCPv4] UseGateway= (systemd 246 and later). Nor does the guest's
 * network-online.target wait for a further NIC ([Link] RequiredForOnline=no): the
 * first one is the guest's way out; a second network that is slow to come up (a DHCP
 * server away) does not hold up the boot. */
static void networkd(const struct xp_guest_settings *s, const struct nic *n, struct xp_buf *out)
{
	xp_buf_addf(out, "# systemd.network(5), written by xenprov\n[Match]\nMACAddress=%s\n",
		    n->mac);
	xp_buf_adds(out, "\n[Network]\n");
	if (n->dhcp) {
		xp_buf_adds(out, "DHCP=yes\n");
	} else {
		xp_buf_addf(out, "Address=%s/%u\n", n->ip, n->prefix);
		if (n->gateway)
			xp_buf_addf(out, "Gateway=%s\n", n->gateway);
		for (size_t i = 0; n->first && i < s->ndns; i++)
			xp_buf_addf(out, "DNS=%s\n", s->dns[i]);
	}
	if (n->first && s->domain)
		xp_buf_addf(out, "Domains=%s\n", s->domain);
	if (!n->first)
		xp_buf_adds(out, "\n[Link]\nRequiredForOnline=no\n");
	if (n->dhcp && !n->dhcp_router)
		xp_buf_adds(out, "\n[DHCPv4]\nUseGateway=no\n");
}

static void netplan_nic(const struct xp_guest_settings *s, const struct nic *n,
			struct xp_buf *out)
{
	/* the ID is the name set-name gives: what `netplan status` and its generated files
	 * (10-netplan-ID.network) are called */
	xp_buf_addf(out, "    %s:\n      match:\n        macaddress: \"%s\"\n      set-name: %s\n",
		    n->ifname, n->mac, n->ifname);
	/* netplan's optional: networkd's RequiredForOnline=no, as networkd() says */
	if (!n->first)
		xp_buf_adds(out, "      optional: true\n");
	if (n->dhcp) {
		xp_buf_adds(out, "      dhcp4: true\n");
		/* netplan has no use-gateway: a further NIC takes no routes from DHCP */
		if (!n->dhcp_router)
			xp_buf_adds(out, "      dhcp4-overrides:\n        use-routes: false\n");
		return;
	}
	xp_buf_addf(out, "      dhcp4: false\n      addresses:\n        - \"%s/%u\"\n", n->ip,
		    n->prefix);
	if (n->gateway)
		xp_buf_addf(out, "      routes:\n        - to: default\n          via: \"%s\"\n",
			    n->gateway);
	if (!n->first)
		return;
	if (s->ndns || s->domain)
		xp_buf_adds(out, "      nameservers:\n");
	add_dns(out, s, "        addresses: [", ", ", "]\n");
	if (s->domain)
		xp_buf_addf(out, "        search: [%s]\n", s->domain);
}

/* A version 4, variant 1 UUID's bits in 16 random bytes, as systemd's
 * sd_id128_randomize and util-linux's uuid_generate_random set them. */
static void uuid_v4(const unsigned char random[16], unsigned char id[16])
{
	memcpy(id, random, 16);
	id[6] = (unsigned char)((id[6] & 0x0f) | 0x40);
	id[8] = (unsigned char)((id[8] & 0x3f) | 0x80);
}

/* One [ipv4] or [ipv6] section of a keyfile: method, address and gateway (the
 * "address1=ADDRESS/PREFIX,GATEWAY" form nm-settings-keyfile(5) gives, which older
 * NetworkManagers read too, unlike a separate gateway= key), the name servers of that
 * family (ipv4.dns and ipv6.dns take only their own) and the search domain; a further
 * NIC without a gateway of its own never-default (nm-settings-nmcli(5)). */
static void nm_ip(const struct xp_guest_settings *s, const struct nic *n, bool v6,
		  struct xp_buf *out)
{
	bool here = !n->dhcp && n->v6 == v6; /* the static address is of this family */
	/* a static IPv6 guest has no IPv4, as with the other formats; NetworkManager then
	 * refuses IPv4 name servers (unreachable anyway), so they are left out */
	bool disabled = !n->dhcp && n->v6 && !v6;
	xp_buf_addf(out, "\n[%s]\n", v6 ? "ipv6" : "ipv4");
	if (here) {
		xp_buf_addf(out, "method=manual\naddress1=%s/%u", n->ip, n->prefix);
		if (n->gateway)
			xp_buf_addf(out, ",%s", n->gateway);
		xp_buf_addc(out, '\n');
	} else {
		/* DHCP; IPv6 autoconfiguration beside a static IPv4 address, as the other
		 * formats leave the kernel to do it */
		xp_buf_adds(out, disabled ? "method=disabled\n" : "method=auto\n");
	}
	if (!n->first) {
		bool routed = here ? n->gateway != NULL : n->dhcp && n->dhcp_router && !v6;
		if (!disabled && !routed)
			xp_buf_adds(out, "never-default=true\n");
		return;
	}
	if (!n->dhcp && !disabled) {
		bool any = false;
		for (size_t i = 0; i < s->ndns; i++)
			if (is_v6(s->dns[i]) == v6) {
				xp_buf_addf(out, "%s%s;", any ? "" : "dns=", s->dns[i]);
				any = true;
			}
		if (any)
			xp_buf_addc(out, '\n');
	}
	if (s->domain && (n->dhcp ? !v6 : here))
		xp_buf_addf(out, "dns-search=%s;\n", s->domain);
}

static void nm_keyfile(const struct xp_guest_settings *s, const struct nic *n,
		       const unsigned char random[16], struct xp_buf *out)
{
	unsigned char id[16];
	uuid_v4(random, id);
	/* NetworkManager writes MAC addresses in upper case */
	char mac[XP_MAC_STRLEN + 1];
	for (size_t i = 0; i <= XP_MAC_STRLEN; i++)
		mac[i] = (char)toupper((unsigned char)n->mac[i]);
	xp_buf_adds(out, "# nm-settings-keyfile(5), written by xenprov\n[connection]\nid=xenprov");
	if (!n->first)
		xp_buf_addf(out, "-%s", n->ifname);
	xp_buf_adds(out, "\nuuid=");
	for (int i = 0; i < 16; i++)
		xp_buf_addf(out, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", id[i]);
	/* above the connections the image brings (0 unless set): NetworkManager activates
	 * the one of highest priority among those that fit the device */
	xp_buf_addf(
	    out, "\ntype=ethernet\nautoconnect-priority=100\n\n[ethernet]\nmac-address=%s\n", mac);
	nm_ip(s, n, false, out);
	nm_ip(s, n, true, out);
}

/* initscripts' sysconfig.txt: DEFROUTE=no keeps a further NIC's DHCP router or lack of
 * a gateway from taking the default route. */
static void ifcfg(const struct xp_guest_settings *s, const struct nic *n, struct xp_buf *out)
{
	xp_buf_addf(out, "# written by xenprov\nDEVICE=%s\nNAME=%s\nTYPE=Ethernet\nONBOOT=yes\n",
		    n->ifname, n->ifname);
	if (n->mac[0])
		xp_buf_addf(out, "HWADDR=%s\n", n->mac);
	if (n->dhcp) {
		xp_buf_adds(out, "BOOTPROTO=dhcp\n");
	} else if (n->v6) {
		xp_buf_addf(out, "BOOTPROTO=none\nIPV6INIT=yes\nIPV6_AUTOCONF=no\nIPV6ADDR=%s/%u\n",
			    n->ip, n->prefix);
		if (n->gateway)
			xp_buf_addf(out, "IPV6_DEFAULTGW=%s\n", n->gateway);
	} else {
		xp_buf_addf(out, "BOOTPROTO=none\nIPADDR=%s\nPREFIX=%u\n", n->ip, n->prefix);
		if (n->gateway)
			xp_buf_addf(out, "GATEWAY=%s\n", n->gateway);
	}
	if (!n->first) {
		if (n->dhcp ? !n->dhcp_router : !n->gateway)
			xp_buf_adds(out, "DEFROUTE=no\n");
		return;
	}
	if (!n->dhcp)
		for (size_t i = 0; i < s->ndns; i++)
			xp_buf_addf(out, "DNS%zu=%s\n", i + 1, s->dns[i]);
	if (s->domain)
		xp_buf_addf(out, "DOMAIN=%s\n", s->domain);
}

_Static_assert(sizeof(XP_GUEST_IFNAME) <= 16 && sizeof(XP_GUEST_KERNEL_IFNAME) <= 16,
	       "interface names fit IFNAMSIZ");

/* NIC i of s for a format that matches it by MAC (need_mac) or not. */
static int nic_for(const struct xp_guest_settings *s, unsigned i, bool kernel, bool need_mac,
		   struct nic *n)
{
	int r = nic_at(s, i, kernel, n);
	return r < 0 ? r : need_mac && !n->mac[0] ? -EINVAL : 0;
}

/* Whether every NIC of s can be written (before a byte of a file of all of them is). */
static bool all_nics(const struct xp_guest_settings *s, bool kernel, bool need_mac)
{
	struct nic n;
	for (unsigned i = 0; i <= s->nnics; i++)
		if (nic_for(s, i, kernel, need_mac, &n) < 0)
			return false;
	return true;
}

/* The files of one NIC each. */
enum nic_file { LINK, NETWORKD, NM_KEYFILE, IFCFG };

static int nic_file(const struct xp_guest_settings *s, unsigned i, enum nic_file f,
		    const unsigned char *random, struct xp_buf *out)
{
	struct nic n;
	/* ifcfg names the interface (the kernel's ethN), the others match it by MAC */
	if (nic_for(s, i, f == IFCFG, f != IFCFG, &n) < 0)
		return -EINVAL;
	switch (f) {
	case LINK:
		link_file(&n, out);
		break;
	case NETWORKD:
		networkd(s, &n, out);
		break;
	case NM_KEYFILE:
		nm_keyfile(s, &n, random, out);
		break;
	case IFCFG:
		ifcfg(s, &n, out);
		break;
	}
	return done(out);
}

int xp_guest_text_ifupdown(const struct xp_guest_settings *s, bool kernel_names, bool source_dotd,
			   struct xp_buf *out)
{
	if (!all_nics(s, kernel_names, false))
		return -EINVAL;
	xp_buf_adds(out,
		    "# interfaces(5) file used by ifup(8) and ifdown(8), written by xenprov\n");
	if (source_dotd)
		xp_buf_adds(out, "source /etc/network/interfaces.d/*\n");
	xp_buf_adds(out, "\nauto lo\niface lo inet loopback\n");
	struct nic n;
	for (unsigned i = 0; i <= s->nnics; i++) {
		nic_for(s, i, kernel_names, false, &n);
		ifupdown_stanza(s, &n, out);
	}
	return done(out);
}

int xp_guest_text_netplan(const struct xp_guest_settings *s, struct xp_buf *out)
{
	if (!all_nics(s, false, true))
		return -EINVAL;
	xp_buf_adds(out, "# netplan configuration, written by xenprov\nnetwork:\n  version: 2\n"
			 "  ethernets:\n");
	struct nic n;
	for (unsigned i = 0; i <= s->nnics; i++) {
		nic_for(s, i, false, true, &n);
		netplan_nic(s, &n, out);
	}
	return done(out);
}

int xp_guest_text_link(const struct xp_guest_settings *s, unsigned nic, struct xp_buf *out)
{
	return nic_file(s, nic, LINK, NULL, out);
}

int xp_guest_text_networkd(const struct xp_guest_settings *s, unsigned nic, struct xp_buf *out)
{
	return nic_file(s, nic, NETWORKD, NULL, out);
}

int xp_guest_text_nm_keyfile(const struct xp_guest_settings *s, unsigned nic,
			     const unsigned char random[16], struct xp_buf *out)
{
	return nic_file(s, nic, NM_KEYFILE, random, out);
}

int xp_guest_text_ifcfg(const struct xp_guest_settings *s, unsigned nic, struct xp_buf *out)
{
	return nic_file(s, nic, IFCFG, NULL, out);
}

int xp_guest_text_resolv_conf(const struct xp_guest_settings *s, struct xp_buf *out)
{
	xp_buf_adds(out, "# resolv.conf(5), written by xenprov from the guest's name servers and "
			 "domain\n");
	if (s->domain)
		xp_buf_addf(out, "search %s\n", s->domain);
	for (size_t i = 0; i < s->ndns; i++)
		xp_buf_addf(out, "nameserver %s\n", s->dns[i]);
	return done(out);
}

/* Calls fn with each line of text (no newline, at most 511 bytes, NUL-terminated in a
 * copy it may cut up) until it returns true. */
static bool any_line(const char *text, bool (*fn)(char *line, const void *arg), const void *arg)
{
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];
		if (ll >= sizeof(line))
			ll = sizeof(line) - 1;
		memcpy(line, p, ll);
		line[ll] = '\0';
		if (fn(line, arg))
			return true;
		if (!eol)
			break;
		p = eol + 1;
	}
	return false;
}

static bool ifupdown_line(char *line, const void *arg)
{
	const char *ifname = arg;
	char *save = NULL;
	char *w = strtok_r(line, " \t\r", &save);
	if (!w || !(strcmp(w, "iface") == 0 || strcmp(w, "auto") == 0 ||
		    strncmp(w, "allow-", 6) == 0 || strcmp(w, "mapping") == 0))
		return false;
	bool iface = strcmp(w, "iface") == 0 || strcmp(w, "mapping") == 0;
	while ((w = strtok_r(NULL, " \t\r", &save))) {
		if (strcmp(w, ifname) == 0)
			return true;
		if (iface)
			break; /* only the first word names the interface */
	}
	return false;
}

bool xp_guest_text_ifupdown_configures(const char *text, const char *ifname)
{
	return any_line(text, ifupdown_line, ifname);
}

bool xp_guest_text_netplan_has_ethernets(const char *text)
{
	return strstr(text, "ethernets:") != NULL;
}

static bool nm_type_line(char *line, const void *arg)
{
	(void)arg;
	/* GLib key files: "key=value", white space around '=' allowed */
	char *p = line + strspn(line, " \t");
	if (strncmp(p, "type", 4) != 0)
		return false;
	p += 4;
	p += strspn(p, " \t");
	if (*p++ != '=')
		return false;
	p += strspn(p, " \t");
	size_t len = strcspn(p, " \t\r");
	return (len == 8 && strncmp(p, "ethernet", 8) == 0) ||
	       (len == 14 && strncmp(p, "802-3-ethernet", 14) == 0);
}

bool xp_guest_text_nm_is_ethernet(const char *text)
{
	return any_line(text, nm_type_line, NULL);
}

#define UUID_LEN 36

/* ---- the other files ------------------------------------------------------------------ */

/* Whether m can be an fstab line: a UUID, a type written here, a mount point (none for
 * swap) whose fields hold no blank. */
static bool mount_ok(const struct xp_guest_mount *m)
{
	static const char *const types[] = {"ext2", "ext3", "ext4", "xfs", "swap"};
	bool known = false;
	for (size_t i = 0; m->type && i < sizeof(types) / sizeof(types[0]); i++)
		known |= strcmp(m->type, types[i]) == 0;
	bool swap = known && strcmp(m->type, "swap") == 0;
	return known && m->uuid && strlen(m->uuid) == UUID_LEN && !strpbrk(m->uuid, " \t\n") &&
	       (swap ? !m->dir
		     : m->dir && xp_guest_path_valid(m->dir) && strcmp(m->dir, "/") != 0 &&
			   !strpbrk(m->dir, " \t\\#"));
}

/* A further filesystem is nofail (systemd.mount(5)): the guest boots without it, its
 * mount is not ordered before local-fs.target; its pass is 2 (checked after the root)
 * but 0 for XFS, whose fsck.xfs does nothing (fsck.xfs(8)). */
int xp_guest_text_fstab(const char *root_uuid, enum xp_fs_type fs_type, const char *swap_uuid,
			const struct xp_guest_mount *mounts, size_t nmounts, struct xp_buf *out)
{
	static const char *const types[] = {"ext2", "ext3", "ext4"};
	if (!root_uuid || (unsigned)fs_type >= sizeof(types) / sizeof(types[0]) ||
	    (nmounts && !mounts))
		return -EINVAL;
	for (size_t i = 0; i < nmounts; i++)
		if (!mount_ok(&mounts[i]))
			return -EINVAL;
	xp_buf_adds(out, "# /etc/fstab: static file system information, written by xenprov.\n"
			 "# <file system> <mount point> <type> <options> <dump> <pass>\n");
	xp_buf_addf(out, "UUID=%s\t/\t%s\terrors=remount-ro\t0\t1\n", root_uuid, types[fs_type]);
	if (swap_uuid && swap_uuid[0])
		xp_buf_addf(out, "UUID=%s\tnone\tswap\tsw\t0\t0\n", swap_uuid);
	for (size_t i = 0; i < nmounts; i++) {
		const struct xp_guest_mount *m = &mounts[i];
		if (strcmp(m->type, "swap") == 0)
			xp_buf_addf(out, "UUID=%s\tnone\tswap\tsw,nofail\t0\t0\n", m->uuid);
		else
			xp_buf_addf(out, "UUID=%s\t%s\t%s\tdefaults,nofail\t0\t%d\n", m->uuid, m->dir,
				    m->type, strcmp(m->type, "xfs") == 0 ? 0 : 2);
	}
	return done(out);
}

/* ---- what names a UUID ------------------------------------------------------------------ */

/* A UUID's characters: a match must not be part of a longer run of them. */
static bool uuid_char(char ch)
{
	return ch == '-' || xp__hexval(ch) >= 0;
}

/* Which of the n UUIDs in from (each 36 characters, or "" for none) stands whole at
 * text + i, or -1. */
static int uuid_at(const char *const *from, size_t n, const char *text, size_t len, size_t i)
{
	if (i + UUID_LEN > len || (i > 0 && uuid_char(text[i - 1])) ||
	    (i + UUID_LEN < len && uuid_char(text[i + UUID_LEN])))
		return -1;
	for (size_t k = 0; k < n; k++)
		if (strlen(from[k]) == UUID_LEN && strncasecmp(text + i, from[k], UUID_LEN) == 0)
			return (int)k;
	return -1;
}

int xp_guest_uuids_follow(const struct xp_guest_report *rep, const char *text, size_t len,
			  struct xp_buf *out)
{
	const char *const from[] = {rep->old_fs_uuid, rep->old_swap_uuid};
	const char *const to[] = {rep->fs_uuid, rep->swap_uuid};
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i + UUID_LEN <= len;) {
		int k = uuid_at(from, 2, text, len, i);
		if (k < 0 || strlen(to[k]) != UUID_LEN) {
			i++;
			continue;
		}
		xp_buf_add(out, text + start, i - start);
		xp_buf_add(out, to[k], UUID_LEN);
		i += UUID_LEN;
		start = i;
		n++;
	}
	xp_buf_add(out, text + start, len - start);
	return xp_buf_error(out) ? -ENOMEM : n;
}

int xp_guest_text_machine_id(const unsigned char random[16], struct xp_buf *out)
{
	unsigned char id[16];
	uuid_v4(random, id);
	for (int i = 0; i < 16; i++)
		xp_buf_addf(out, "%02x", id[i]);
	xp_buf_addc(out, '\n');
	return done(out);
}

int xp_guest_text_shadow(const char *old, size_t len, const char *hash, struct xp_buf *out)
{
	/* the line of root: "root:" at the start of a line */
	const char *line = NULL;
	for (const char *p = old; p && p < old + len;) {
		if ((size_t)(old + len - p) >= 5 && memcmp(p, "root:", 5) == 0) {
			line = p;
			break;
		}
		p = memchr(p, '\n', (size_t)(old + len - p));
		if (p)
			p++;
	}
	if (!line)
		return -ENOENT;
	const char *f2 = line + 5;
	const char *eol = memchr(f2, '\n', (size_t)(old + len - f2));
	if (!eol)
		eol = old + len;
	const char *end2 = memchr(f2, ':', (size_t)(eol - f2));
	if (!end2)
		end2 = eol;
	xp_buf_add(out, old, (size_t)(f2 - old));
	xp_buf_adds(out, hash);
	xp_buf_add(out, end2, (size_t)(old + len - end2));
	return done(out);
}

int xp_guest_text_authorized_keys(const char *keys, struct xp_buf *out)
{
	size_t len = strlen(keys);
	xp_buf_add(out, keys, len);
	if (len && keys[len - 1] != '\n')
		xp_buf_addc(out, '\n');
	return done(out);
}

/* Debian's openssh-server makes the host keys only in its postinst, not at boot; Red
 * Hat's sshd-keygen and cloud images make them themselves, and the unit is then a no-op
 * by its condition. */
static const char hostkey_unit[] =
    "# Written by xenprov: the golden image's SSH host keys were removed so that every\n"
    "# guest has its own; this makes them at first boot (systemd.unit(5)).\n"
    "[Unit]\n"
    "Description=Generate the SSH host keys (xenprov, first boot)\n"
    "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n"
    "Before=ssh.service sshd.service\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "ExecStart=/usr/bin/ssh-keygen -A\n"
    "RemainAfterExit=yes\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";

int xp_guest_text_hostkey_unit(struct xp_buf *out)
{
	xp_buf_add(out, hostkey_unit, sizeof(hostkey_unit) - 1);
	return done(out);
}

/* ---- booting through GRUB's configuration ------------------------------------------------ */

bool xp_guest_kernel_args_valid(const char *args)
{
	/* printable ASCII; none of what GRUB's script lexer (quotes, '$', '\\', ';', '{',
	 * '}', '|', '&', '<', '>') or the shell reading /etc/default/grub (the double
	 * quotes, '$', '\\', '`') would take as syntax */
	for (const unsigned char *p = (const unsigned char *)(args ? args : ""); *p; p++)
		if (*p < 0x20 || *p > 0x7e || strchr("\"'$\\;{}|&<>`", *p))
			return false;
	return true;
}

/* Whether args has a console= parameter of its own. */
static bool has_console(const char *args)
{
	for (const char *p = args; p && (p = strstr(p, "console=")); p++)
		if (p == args || p[-1] == ' ')
			return true;
	return false;
}

/* The kernel command line after root=: ro, console=hvc0 (the Xen console of PV and PVH
 * guests) unless args name a console, then args. */
static void kernel_args(struct xp_buf *out, const char *args)
{
	xp_buf_adds(out, " ro");
	if (!has_console(args))
		xp_buf_adds(out, " console=hvc0");
	if (args && *args)
		xp_buf_addf(out, " %s", args);
}

/* pygrub (Xen's tools/pygrub, GrubConf.py's Grub2ConfigFile) reads a subset of GRUB 2's
 * script: top-level `set default=`, `set timeout=`, `menuentry 'TITLE' {` ... `}` with
 * `linux PATH ARGS` (split at the first white space), `initrd PATH`, and ignores
 * `search` and `insmod`. PV GRUB (Debian's grub-x86_64-xen.bin) finds the filesystem
 * holding /boot/grub/grub.cfg with `search -f` and reads it with `configfile`; the
 * `search --fs-uuid` of each entry makes its root the guest's own filesystem by UUID
 * (GRUB 2's manual, "search"), whatever other disks the guest has. */
int xp_guest_text_grub_cfg(const struct xp_boot_kernels *k, const char *root_uuid,
			   const char *root_dev, const char *args, struct xp_buf *out)
{
	if (!k || k->n == 0 || !root_uuid || !*root_uuid || !root_dev ||
	    !xp_guest_kernel_args_valid(args))
		return -EINVAL;
	xp_buf_adds(out, "# Written by xenprov for pygrub and PV GRUB: the kernels in /boot, the "
			 "newest first.\n"
			 "# The guest's update-grub, where it has one, writes this file anew.\n"
			 "set default=0\n"
			 "set timeout=1\n");
	for (size_t i = 0; i < k->n; i++) {
		const struct xp_boot_kernel *b = &k->v[i];
		xp_buf_addf(out,
			    "\nmenuentry 'Linux %s' {\n"
			    "\tsearch --no-floppy --fs-uuid --set=root %s\n",
			    b->version, root_uuid);
		/* the kernel alone cannot find a filesystem by UUID: that is the
		 * initramfs's work */
		if (b->initrd)
			xp_buf_addf(out, "\tlinux %s root=UUID=%s", b->kernel, root_uuid);
		else
			xp_buf_addf(out, "\tlinux %s root=%s", b->kernel, root_dev);
		kernel_args(out, args);
		xp_buf_addc(out, '\n');
		if (b->initrd)
			xp_buf_addf(out, "\tinitrd %s\n", b->initrd);
		xp_buf_adds(out, "}\n");
	}
	return done(out);
}

/* grub-mkconfig(8) sources /etc/default/grub as shell (GRUB's manual, "Simple
 * configuration"): a line appended last adds to whatever the file set before. */
int xp_guest_text_default_grub(const char *old, size_t len, const char *args, struct xp_buf *out)
{
	if (!xp_guest_kernel_args_valid(args))
		return -EINVAL;
	struct xp_buf line = XP_BUF_INIT;
	xp_buf_adds(&line, "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX");
	if (!has_console(args))
		xp_buf_adds(&line, " console=hvc0");
	if (args && *args)
		xp_buf_addf(&line, " %s", args);
	xp_buf_adds(&line, "\"\n");
	int r = done(&line);
	bool present = false;
	/* a line of its own already there: nothing to add */
	for (size_t i = 0; r == 0 && old && i + line.len <= len; i++)
		if ((i == 0 || old[i - 1] == '\n') && memcmp(old + i, line.s, line.len) == 0)
			present = true;
	if (r == 0) {
		if (old)
			xp_buf_add(out, old, len);
		if (!present) {
			if (old && len && old[len - 1] != '\n')
				xp_buf_addc(out, '\n');
			xp_buf_adds(out, "# xenprov: the Xen console and the profile's kernel "
					 "command line\n");
			xp_buf_add(out, line.s, line.len);
		}
		r = done(out);
	}
	xp_buf_release(&line);
	return r < 0 ? r : !present;
}

/* ---- first boot and time zone ------------------------------------------------------------ */

/* systemd.service(5): a oneshot has no start timeout unless given one, so a long
 * command (a package upgrade) is not killed; its stdout goes to the journal and stderr
 * inherits it. network-online.target is wanted, not required: with no network the
 * commands still run, once systemd gives up waiting. */
static const char firstboot_unit[] =
    "# Written by xenprov: runs the guest's first-boot commands once, in order, their\n"
    "# output in the journal (journalctl -u " XP_FIRSTBOOT_UNIT "); see\n"
    "# " XP_FIRSTBOOT_SCRIPT " (systemd.unit(5), systemd.service(5)).\n"
    "[Unit]\n"
    "Description=First-boot commands (xenprov)\n"
    "ConditionDirectoryNotEmpty=" XP_FIRSTBOOT_PENDING "\n"
    "Wants=network-online.target\n"
    "After=network-online.target\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "ExecStart=" XP_FIRSTBOOT_SCRIPT "\n"
    "Environment=HOME=/root\n"
    "StandardOutput=journal\n"
    "StandardError=inherit\n"
    "SyslogIdentifier=xenprov-firstboot\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";

/* A command is moved only once it succeeded (rename(2) within one directory of /var:
 * atomic), so a crash or power cut while it runs makes it run again; the first failure
 * stops the run, since later commands may need what it should have done. */
static const char firstboot_script[] =
    "#!/bin/sh\n"
    "# Written by xenprov, run by " XP_FIRSTBOOT_UNIT ": the first-boot commands in\n"
    "# " XP_FIRSTBOOT_PENDING " run once each, in name order, by /bin/sh; their\n"
    "# output goes to the journal (journalctl -u " XP_FIRSTBOOT_UNIT ").\n"
    "# A command that succeeds is moved to " XP_FIRSTBOOT_DONE ". The first\n"
    "# that fails stops the run and fails the unit: it and the commands after it run\n"
    "# again at the next boot. Once none is left, the unit is disabled.\n"
    "pending=" XP_FIRSTBOOT_PENDING "\n"
    "finished=" XP_FIRSTBOOT_DONE "\n"
    "mkdir -p \"$finished\" || exit 1\n"
    "for cmd in \"$pending\"/*; do\n"
    "\t[ -f \"$cmd\" ] || continue\n"
    "\tname=${cmd##*/}\n"
    "\techo \"xenprov-firstboot: $name: running: $(cat \"$cmd\")\"\n"
    "\t/bin/sh \"$cmd\" </dev/null\n"
    "\tstatus=$?\n"
    "\tif [ \"$status\" -ne 0 ]; then\n"
    "\t\techo \"xenprov-firstboot: $name: failed with exit status $status; it and the "
    "commands after it run again at the next boot\" >&2\n"
    "\t\texit \"$status\"\n"
    "\tfi\n"
    "\tmv -f \"$cmd\" \"$finished/$name\" || exit 1\n"
    "\techo \"xenprov-firstboot: $name: done\"\n"
    "done\n"
    "rm -f " XP_UNIT_WANTS "/" XP_FIRSTBOOT_UNIT "\n"
    "echo \"xenprov-firstboot: every command ran; " XP_FIRSTBOOT_UNIT " is disabled\"\n";

int xp_guest_text_firstboot_unit(struct xp_buf *out)
{
	xp_buf_add(out, firstboot_unit, sizeof(firstboot_unit) - 1);
	return done(out);
}

int xp_guest_text_firstboot_script(struct xp_buf *out)
{
	xp_buf_add(out, firstboot_script, sizeof(firstboot_script) - 1);
	return done(out);
}

int xp_guest_text_firstboot_command(const char *cmd, struct xp_buf *out)
{
	xp_buf_addf(out, "%s\n", cmd);
	return done(out);
}

int xp_guest_text_timezone(const char *zone, struct xp_buf *out)
{
	xp_buf_addf(out, "%s\n", zone);
	return done(out);
}
