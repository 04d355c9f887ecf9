/*
 * guest-text.c - the text of every file xp_guest_apply writes into a guest
 * (guest-text.h), as pure functions of the settings: no image, no I/O.
 *
 * The formats follow their manuals: interfaces(5) (ifupdown), systemd.network(5),
 * netplan's YAML reference, Red Hat's ifcfg (initscripts sysconfig.txt), fstab(5),
 * machine-id(5) (a v4-style random ID as systemd makes them), shadow(5), sshd(8)
 * AUTHORIZED_KEYS, hosts(5) laid out as Debian's netcfg does, systemd.unit(5).
 *
 * Not here: where each file goes, its owner and mode (guest-edit.c), the image
 * (guest-fs.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "image/guest-text.h"
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

/* What the network writers write from, besides the settings. */
struct net {
	const struct xp_guest_settings *s;
	char mac[XP_MAC_STRLEN + 1]; /* lower case, "" without one */
	unsigned prefix;	     /* of a static address */
	bool v6;		     /* the static address is IPv6 */
	bool source_dotd;	     /* ifupdown: source /etc/network/interfaces.d */
};

static void add_dns_list(struct xp_buf *b, const struct xp_guest_settings *s, const char *sep)
{
	for (size_t i = 0; i < s->ndns; i++)
		xp_buf_addf(b, "%s%s", i ? sep : "", s->dns[i]);
}

static void ifupdown(const struct net *n, struct xp_buf *out)
{
	const struct xp_guest_settings *s = n->s;
	xp_buf_adds(out,
		    "# interfaces(5) file used by ifup(8) and ifdown(8), written by xenprov\n");
	if (n->source_dotd)
		xp_buf_adds(out, "source /etc/network/interfaces.d/*\n");
	xp_buf_adds(out, "\nauto lo\niface lo inet loopback\n\nauto eth0\n");
	if (s->dhcp) {
		xp_buf_adds(out, "iface eth0 inet dhcp\n");
		return;
	}
	xp_buf_addf(out, "iface eth0 %s static\n\taddress %s/%u\n", n->v6 ? "inet6" : "inet", s->ip,
		    n->prefix);
	if (s->gateway)
		xp_buf_addf(out, "\tgateway %s\n", s->gateway);
	if (s->ndns) {
		xp_buf_adds(out, "\tdns-nameservers ");
		add_dns_list(out, s, " ");
		xp_buf_addc(out, '\n');
	}
	if (s->domain)
		xp_buf_addf(out, "\tdns-search %s\n", s->domain);
}

static void networkd(const struct net *n, struct xp_buf *out)
{
	const struct xp_guest_settings *s = n->s;
	xp_buf_adds(out, "# systemd.network(5), written by xenprov\n[Match]\n");
	if (n->mac[0])
		xp_buf_addf(out, "MACAddress=%s\n", n->mac);
	else
		xp_buf_adds(out, "Name=eth0\n");
	xp_buf_adds(out, "\n[Network]\n");
	if (s->dhcp) {
		xp_buf_adds(out, "DHCP=yes\n");
	} else {
		xp_buf_addf(out, "Address=%s/%u\n", s->ip, n->prefix);
		if (s->gateway)
			xp_buf_addf(out, "Gateway=%s\n", s->gateway);
		for (size_t i = 0; i < s->ndns; i++)
			xp_buf_addf(out, "DNS=%s\n", s->dns[i]);
	}
	if (s->domain)
		xp_buf_addf(out, "Domains=%s\n", s->domain);
}

static void netplan(const struct net *n, struct xp_buf *out)
{
	const struct xp_guest_settings *s = n->s;
	xp_buf_adds(out, "# netplan configuration, written by xenprov\nnetwork:\n  version: 2\n"
			 "  ethernets:\n    eth0:\n");
	if (n->mac[0])
		xp_buf_addf(out, "      match:\n        macaddress: \"%s\"\n      set-name: eth0\n",
			    n->mac);
	if (s->dhcp) {
		xp_buf_adds(out, "      dhcp4: true\n");
		return;
	}
	xp_buf_addf(out, "      dhcp4: false\n      addresses:\n        - \"%s/%u\"\n", s->ip,
		    n->prefix);
	if (s->gateway)
		xp_buf_addf(out, "      routes:\n        - to: default\n          via: \"%s\"\n",
			    s->gateway);
	if (s->ndns || s->domain)
		xp_buf_adds(out, "      nameservers:\n");
	if (s->ndns) {
		xp_buf_adds(out, "        addresses: [");
		add_dns_list(out, s, ", ");
		xp_buf_adds(out, "]\n");
	}
	if (s->domain)
		xp_buf_addf(out, "        search: [%s]\n", s->domain);
}

static void ifcfg(const struct net *n, struct xp_buf *out)
{
	const struct xp_guest_settings *s = n->s;
	xp_buf_adds(out,
		    "# written by xenprov\nDEVICE=eth0\nNAME=eth0\nTYPE=Ethernet\nONBOOT=yes\n");
	if (n->mac[0])
		xp_buf_addf(out, "HWADDR=%s\n", n->mac);
	if (s->dhcp) {
		xp_buf_adds(out, "BOOTPROTO=dhcp\n");
	} else if (n->v6) {
		xp_buf_addf(out, "BOOTPROTO=none\nIPV6INIT=yes\nIPV6_AUTOCONF=no\nIPV6ADDR=%s/%u\n",
			    s->ip, n->prefix);
		if (s->gateway)
			xp_buf_addf(out, "IPV6_DEFAULTGW=%s\n", s->gateway);
	} else {
		xp_buf_addf(out, "BOOTPROTO=none\nIPADDR=%s\nPREFIX=%u\n", s->ip, n->prefix);
		if (s->gateway)
			xp_buf_addf(out, "GATEWAY=%s\n", s->gateway);
	}
	if (!s->dhcp)
		for (size_t i = 0; i < s->ndns; i++)
			xp_buf_addf(out, "DNS%zu=%s\n", i + 1, s->dns[i]);
	if (s->domain)
		xp_buf_addf(out, "DOMAIN=%s\n", s->domain);
}

/* Checks that s can be written, derives what every format needs, writes. */
static int write_net(const struct xp_guest_settings *s, bool source_dotd,
		     void (*format)(const struct net *, struct xp_buf *), struct xp_buf *out)
{
	struct net n = {.s = s, .source_dotd = source_dotd};
	if (!s->dhcp && !s->ip)
		return -EINVAL;
	if (xp_guest_mac(s, n.mac) < 0)
		return -EINVAL;
	n.prefix = xp_guest_prefix(s);
	n.v6 = !s->dhcp && strchr(s->ip, ':'); /* an IPv6 address has a ':', IPv4 none */
	format(&n, out);
	return done(out);
}

int xp_guest_text_ifupdown(const struct xp_guest_settings *s, bool source_dotd, struct xp_buf *out)
{
	return write_net(s, source_dotd, ifupdown, out);
}

int xp_guest_text_networkd(const struct xp_guest_settings *s, struct xp_buf *out)
{
	return write_net(s, false, networkd, out);
}

int xp_guest_text_netplan(const struct xp_guest_settings *s, struct xp_buf *out)
{
	return write_net(s, false, netplan, out);
}

int xp_guest_text_ifcfg(const struct xp_guest_settings *s, struct xp_buf *out)
{
	return write_net(s, false, ifcfg, out);
}

int xp_guest_text_resolv_conf(const struct xp_guest_settings *s, struct xp_buf *out)
{
	if (s->domain)
		xp_buf_addf(out, "search %s\n", s->domain);
	for (size_t i = 0; i < s->ndns; i++)
		xp_buf_addf(out, "nameserver %s\n", s->dns[i]);
	return done(out);
}

bool xp_guest_text_ifupdown_has_eth0(const char *text)
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
		char *save = NULL;
		char *w = strtok_r(line, " \t\r", &save);
		if (w && (strcmp(w, "iface") == 0 || strcmp(w, "auto") == 0 ||
			  strncmp(w, "allow-", 6) == 0 || strcmp(w, "mapping") == 0)) {
			bool iface = strcmp(w, "iface") == 0 || strcmp(w, "mapping") == 0;
			while ((w = strtok_r(NULL, " \t\r", &save))) {
				if (strcmp(w, "eth0") == 0)
					return true;
				if (iface)
					break; /* only the first word names the interface */
			}
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return false;
}

bool xp_guest_text_netplan_has_ethernets(const char *text)
{
	return strstr(text, "ethernets:") != NULL;
}

/* ---- the other files ------------------------------------------------------------------ */

int xp_guest_text_fstab(const char *root_uuid, enum xp_fs_type fs_type, const char *swap_uuid,
			struct xp_buf *out)
{
	static const char *const types[] = {"ext2", "ext3", "ext4"};
	if (!root_uuid || (unsigned)fs_type >= sizeof(types) / sizeof(types[0]))
		return -EINVAL;
	xp_buf_adds(out, "# /etc/fstab: static file system information, written by xenprov.\n"
			 "# <file system> <mount point> <type> <options> <dump> <pass>\n");
	xp_buf_addf(out, "UUID=%s\t/\t%s\terrors=remount-ro\t0\t1\n", root_uuid, types[fs_type]);
	if (swap_uuid && swap_uuid[0])
		xp_buf_addf(out, "UUID=%s\tnone\tswap\tsw\t0\t0\n", swap_uuid);
	return done(out);
}

int xp_guest_text_machine_id(const unsigned char random[16], struct xp_buf *out)
{
	unsigned char id[16];
	memcpy(id, random, sizeof(id));
	/* systemd's sd_id128_randomize: a version 4, variant 1 UUID's bits */
	id[6] = (unsigned char)((id[6] & 0x0f) | 0x40);
	id[8] = (unsigned char)((id[8] & 0x3f) | 0x80);
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
