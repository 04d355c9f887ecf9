/*
 * test-guest-text.c - the text of the files written into guests (image/guest-text.c),
 * byte for byte and without any image: hostname and hosts, the network configuration
 * in each format (ifupdown under the stable name and the kernel's, the .link file
 * naming the interface, resolv.conf, systemd-networkd, netplan, NetworkManager
 * keyfiles, ifcfg) for static IPv4 and IPv6, DHCP, with and without gateway, DNS and
 * domain, and without a MAC where a format needs one; further NICs (each by its MAC,
 * the name servers with the first, a default route only where asked for) and one that
 * cannot be written; which files of the image configure the interface; fstab with data
 * disks and a swap volume and the mounts it refuses, the
 * machine-id from given bytes, root's hash in shadow texts (root first, later, absent,
 * look-alike lines), authorized_keys, the host key unit; the grub.cfg written for
 * pygrub and PV GRUB and the /etc/default/grub line for the guest's own update-grub,
 * with the kernel command lines they refuse; the prefix and MAC values all of them
 * share, and the refusals.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"

#include "guest-fixtures.h"
#include "image/guest-text.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* static IPv4 with everything (guest-fixtures.h) */
static const struct xp_guest_settings V4 = GUEST_V4;
/* static IPv4, nothing else but the MAC: no gateway, DNS or domain; the default prefix */
static const struct xp_guest_settings V4_BARE = {
    .hostname = "db1", .ip = "10.1.2.3", .mac = "00:16:3e:00:00:01"};
/* static IPv4 with a domain but no name servers, prefix 16 */
static const struct xp_guest_settings V4_DOMAIN = {
    .ip = "10.1.2.3", .prefix = 16, .domain = "lab.example", .mac = "00:16:3e:00:00:02"};
/* static IPv6, the default prefix, one (IPv4) name server */
static const struct xp_guest_settings V6 = {.ip = "2001:db8::10",
					    .gateway = "2001:db8::1",
					    .dns = DNS,
					    .ndns = 1,
					    .domain = "example.org",
					    .mac = "00:16:3e:00:00:03"};
/* static IPv6 with both name servers, no domain */
static const struct xp_guest_settings V6_DNS = {
    .ip = "2001:db8::10", .prefix = 48, .dns = DNS, .ndns = 2, .mac = "00:16:3e:00:00:05"};
/* DHCP with a MAC and a domain (an ip given too is ignored) */
static const struct xp_guest_settings DHCP = {
    .dhcp = true, .mac = "00:16:3e:aa:bb:cc", .domain = "example.net", .ip = "192.0.2.99"};
/* DHCP, nothing else but the MAC */
static const struct xp_guest_settings DHCP_BARE = {.dhcp = true, .mac = "00:16:3e:00:00:04"};
/* static IPv4 without a MAC: only the formats that name the interface can be written */
static const struct xp_guest_settings NO_MAC = {.ip = "10.1.2.3", .gateway = "10.1.2.1"};

/* the random bytes of the keyfiles' UUID */
static const unsigned char RANDOM[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

typedef int (*writer_fn)(const struct xp_guest_settings *s, struct xp_buf *out);

static int ifupdown_enx_dotd(const struct xp_guest_settings *s, struct xp_buf *out)
{
	return xp_guest_text_ifupdown(s, false, true, out);
}

static int ifupdown_enx(const struct xp_guest_settings *s, struct xp_buf *out)
{
	return xp_guest_text_ifupdown(s, false, false, out);
}

static int ifupdown_eth0(const struct xp_guest_settings *s, struct xp_buf *out)
{
	return xp_guest_text_ifupdown(s, true, false, out);
}

/* The writers of NIC I's own file, as writer_fn: FN(s, I, out). */
#define NIC_WRITER(name, fn, i)                                                                    \
	static int name(const struct xp_guest_settings *s, struct xp_buf *out)                     \
	{                                                                                          \
		return fn(s, i, out);                                                              \
	}

static int nm_keyfile_at(const struct xp_guest_settings *s, unsigned i, struct xp_buf *out)
{
	return xp_guest_text_nm_keyfile(s, i, RANDOM, out);
}

/* the first NIC's files, the second's and the third's */
NIC_WRITER(link_enx, xp_guest_text_link, 0)
NIC_WRITER(networkd, xp_guest_text_networkd, 0)
NIC_WRITER(nm_keyfile, nm_keyfile_at, 0)
NIC_WRITER(ifcfg, xp_guest_text_ifcfg, 0)
NIC_WRITER(link_1, xp_guest_text_link, 1)
NIC_WRITER(networkd_1, xp_guest_text_networkd, 1)
NIC_WRITER(networkd_2, xp_guest_text_networkd, 2)
NIC_WRITER(networkd_3, xp_guest_text_networkd, 3)
NIC_WRITER(nm_keyfile_1, nm_keyfile_at, 1)
NIC_WRITER(nm_keyfile_2, nm_keyfile_at, 2)
NIC_WRITER(ifcfg_1, xp_guest_text_ifcfg, 1)
NIC_WRITER(ifcfg_2, xp_guest_text_ifcfg, 2)

/* Three NICs: the first static with everything (V4), a second static one without a
 * gateway, a third DHCP one without its router as a default route. */
static const struct xp_guest_nic NICS[] = {
    {.mac = "00:16:3E:00:01:01", .ip = "10.9.0.5", .prefix = 16},
    {.mac = "00:16:3e:00:01:02", .dhcp = true},
};
static const struct xp_guest_settings MULTI = {.hostname = "web01",
					       .domain = "example.com",
					       .mac = "00:16:3e:12:34:56",
					       .ip = "192.0.2.10",
					       .gateway = "192.0.2.1",
					       .dns = DNS,
					       .ndns = 2,
					       .nics = NICS,
					       .nnics = 2};
/* The first NIC by DHCP; the second static with a gateway of its own, the third DHCP
 * with the DHCP server's router. */
static const struct xp_guest_nic NICS_GW[] = {
    {.mac = "00:16:3e:00:02:01", .ip = "10.9.0.5", .gateway = "10.9.0.1"},
    {.mac = "00:16:3e:00:02:02", .dhcp = true, .gateway = "dhcp"},
};
static const struct xp_guest_settings MULTI_GW = {
    .dhcp = true, .mac = "00:16:3e:aa:bb:cc", .nics = NICS_GW, .nnics = 2};

struct text_case {
	const char *what;
	writer_fn fn;
	const struct xp_guest_settings *s;
	int rc;
	const char *want; /* with rc 0 */
};

#define IFUP_HEAD     "# interfaces(5) file used by ifup(8) and ifdown(8), written by xenprov\n"
#define IFUP_LO(name) "\nauto lo\niface lo inet loopback\n\nauto " name "\n"
#define LINK(mac)                                                                                  \
	"# systemd.link(5), written by xenprov: the interface with this MAC address\n"             \
	"# is enX0, the name /etc/network/interfaces configures.\n"                                \
	"[Match]\nMACAddress=" mac "\n\n[Link]\nName=enX0\n"
#define RESOLV_HEAD                                                                                \
	"# resolv.conf(5), written by xenprov from the guest's name servers and domain\n"
#define ND_HEAD(mac) "# systemd.network(5), written by xenprov\n[Match]\nMACAddress=" mac "\n"
#define NP_HEAD(mac)                                                                               \
	"# netplan configuration, written by xenprov\nnetwork:\n  version: 2\n  ethernets:\n"      \
	"    enX0:\n      match:\n        macaddress: \"" mac "\"\n      set-name: enX0\n"
#define NM_HEAD(mac)                                                                               \
	"# nm-settings-keyfile(5), written by xenprov\n[connection]\nid=xenprov\n"                 \
	"uuid=00010203-0405-4607-8809-0a0b0c0d0e0f\ntype=ethernet\nautoconnect-priority=100\n\n"   \
	"[ethernet]\nmac-address=" mac "\n"
#define CFG_HEAD "# written by xenprov\nDEVICE=eth0\nNAME=eth0\nTYPE=Ethernet\nONBOOT=yes\n"
#define HOSTS_V6                                                                                   \
	"\n# The following lines are desirable for IPv6 capable hosts\n"                           \
	"::1\tlocalhost ip6-localhost "                                                            \
	"ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"

static const struct text_case cases[] = {
    /* hostname, hosts */
    {"hostname", xp_guest_text_hostname, &V4, 0, "web01\n"},
    {"hostname none", xp_guest_text_hostname, &DHCP, -EINVAL, NULL},
    {"hosts fqdn", xp_guest_text_hosts, &V4, 0,
     "127.0.0.1\tlocalhost\n127.0.1.1\tweb01.example.com\tweb01\n" HOSTS_V6},
    {"hosts no domain", xp_guest_text_hosts, &V4_BARE, 0,
     "127.0.0.1\tlocalhost\n127.0.1.1\tdb1\n" HOSTS_V6},
    {"hosts none", xp_guest_text_hosts, &DHCP, -EINVAL, NULL},

    /* ifupdown, under the stable name (systemd-udevd) or the kernel's */
    {"ifupdown v4", ifupdown_enx_dotd, &V4, 0,
     IFUP_HEAD "source /etc/network/interfaces.d/*\n" IFUP_LO(
	 "enX0") "iface enX0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n"
		 "\tdns-nameservers 192.0.2.53 2001:db8::53\n\tdns-search example.com\n"},
    {"ifupdown v4 eth0", ifupdown_eth0, &V4, 0,
     IFUP_HEAD IFUP_LO("eth0") "iface eth0 inet static\n\taddress 192.0.2.10/24\n"
			       "\tgateway 192.0.2.1\n\tdns-nameservers 192.0.2.53 2001:db8::53\n"
			       "\tdns-search example.com\n"},
    {"ifupdown v4 bare", ifupdown_enx, &V4_BARE, 0,
     IFUP_HEAD IFUP_LO("enX0") "iface enX0 inet static\n\taddress 10.1.2.3/24\n"},
    {"ifupdown v4 domain", ifupdown_enx, &V4_DOMAIN, 0,
     IFUP_HEAD IFUP_LO("enX0") "iface enX0 inet static\n\taddress 10.1.2.3/16\n"
			       "\tdns-search lab.example\n"},
    {"ifupdown v6", ifupdown_enx, &V6, 0,
     IFUP_HEAD IFUP_LO("enX0") "iface enX0 inet6 static\n\taddress 2001:db8::10/64\n"
			       "\tgateway 2001:db8::1\n\tdns-nameservers 192.0.2.53\n"
			       "\tdns-search example.org\n"},
    {"ifupdown dhcp", ifupdown_enx_dotd, &DHCP, 0,
     IFUP_HEAD "source /etc/network/interfaces.d/*\n" IFUP_LO("enX0") "iface enX0 inet dhcp\n"},
    {"ifupdown dhcp eth0", ifupdown_eth0, &DHCP_BARE, 0,
     IFUP_HEAD IFUP_LO("eth0") "iface eth0 inet dhcp\n"},
    {"ifupdown no mac", ifupdown_eth0, &NO_MAC, 0,
     IFUP_HEAD IFUP_LO("eth0") "iface eth0 inet static\n\taddress 10.1.2.3/24\n"
			       "\tgateway 10.1.2.1\n"},

    /* the .link file naming the interface by its MAC */
    {"link v4", link_enx, &V4, 0, LINK("00:16:3e:12:34:56")},
    {"link dhcp", link_enx, &DHCP, 0, LINK("00:16:3e:aa:bb:cc")},
    {"link no mac", link_enx, &NO_MAC, -EINVAL, NULL},

    /* resolv.conf */
    {"resolv.conf", xp_guest_text_resolv_conf, &V4, 0,
     RESOLV_HEAD "search example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"},
    {"resolv.conf v6", xp_guest_text_resolv_conf, &V6, 0,
     RESOLV_HEAD "search example.org\nnameserver 192.0.2.53\n"},
    {"resolv.conf domain", xp_guest_text_resolv_conf, &V4_DOMAIN, 0,
     RESOLV_HEAD "search lab.example\n"},
    {"resolv.conf bare", xp_guest_text_resolv_conf, &V4_BARE, 0, RESOLV_HEAD},

    /* systemd-networkd */
    {"networkd v4", networkd, &V4, 0,
     ND_HEAD("00:16:3e:12:34:56") "\n[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\n"
				  "DNS=192.0.2.53\nDNS=2001:db8::53\nDomains=example.com\n"},
    {"networkd v4 bare", networkd, &V4_BARE, 0,
     ND_HEAD("00:16:3e:00:00:01") "\n[Network]\nAddress=10.1.2.3/24\n"},
    {"networkd v4 domain", networkd, &V4_DOMAIN, 0,
     ND_HEAD("00:16:3e:00:00:02") "\n[Network]\nAddress=10.1.2.3/16\nDomains=lab.example\n"},
    {"networkd v6", networkd, &V6, 0,
     ND_HEAD("00:16:3e:00:00:03") "\n[Network]\nAddress=2001:db8::10/64\nGateway=2001:db8::1\n"
				  "DNS=192.0.2.53\nDomains=example.org\n"},
    {"networkd dhcp", networkd, &DHCP, 0,
     ND_HEAD("00:16:3e:aa:bb:cc") "\n[Network]\nDHCP=yes\nDomains=example.net\n"},
    {"networkd dhcp bare", networkd, &DHCP_BARE, 0,
     ND_HEAD("00:16:3e:00:00:04") "\n[Network]\nDHCP=yes\n"},
    {"networkd no mac", networkd, &NO_MAC, -EINVAL, NULL},

    /* netplan */
    {"netplan v4", xp_guest_text_netplan, &V4, 0,
     NP_HEAD(
	 "00:16:3e:12:34:56") "      dhcp4: false\n      addresses:\n"
			      "        - \"192.0.2.10/24\"\n"
			      "      routes:\n        - to: default\n"
			      "          via: \"192.0.2.1\"\n"
			      "      nameservers:\n        addresses: [192.0.2.53, 2001:db8::53]\n"
			      "        search: [example.com]\n"},
    {"netplan v4 bare", xp_guest_text_netplan, &V4_BARE, 0,
     NP_HEAD("00:16:3e:00:00:01") "      dhcp4: false\n      addresses:\n"
				  "        - \"10.1.2.3/24\"\n"},
    {"netplan v4 domain", xp_guest_text_netplan, &V4_DOMAIN, 0,
     NP_HEAD("00:16:3e:00:00:02") "      dhcp4: false\n      addresses:\n"
				  "        - \"10.1.2.3/16\"\n"
				  "      nameservers:\n        search: [lab.example]\n"},
    {"netplan v6", xp_guest_text_netplan, &V6, 0,
     NP_HEAD("00:16:3e:00:00:03") "      dhcp4: false\n      addresses:\n"
				  "        - \"2001:db8::10/64\"\n"
				  "      routes:\n        - to: default\n"
				  "          via: \"2001:db8::1\"\n"
				  "      nameservers:\n        addresses: [192.0.2.53]\n"
				  "        search: [example.org]\n"},
    {"netplan dhcp", xp_guest_text_netplan, &DHCP, 0,
     NP_HEAD("00:16:3e:aa:bb:cc") "      dhcp4: true\n"},
    {"netplan no mac", xp_guest_text_netplan, &NO_MAC, -EINVAL, NULL},

    /* NetworkManager keyfiles */
    {"nm v4", nm_keyfile, &V4, 0,
     NM_HEAD("00:16:3E:12:34:56") "\n[ipv4]\nmethod=manual\naddress1=192.0.2.10/24,192.0.2.1\n"
				  "dns=192.0.2.53;\ndns-search=example.com;\n"
				  "\n[ipv6]\nmethod=auto\ndns=2001:db8::53;\n"},
    {"nm v4 bare", nm_keyfile, &V4_BARE, 0,
     NM_HEAD("00:16:3E:00:00:01") "\n[ipv4]\nmethod=manual\naddress1=10.1.2.3/24\n"
				  "\n[ipv6]\nmethod=auto\n"},
    {"nm v4 domain", nm_keyfile, &V4_DOMAIN, 0,
     NM_HEAD("00:16:3E:00:00:02") "\n[ipv4]\nmethod=manual\naddress1=10.1.2.3/16\n"
				  "dns-search=lab.example;\n\n[ipv6]\nmethod=auto\n"},
    /* no IPv4: its name servers are left out (NetworkManager refuses them) */
    {"nm v6", nm_keyfile, &V6, 0,
     NM_HEAD("00:16:3E:00:00:03") "\n[ipv4]\nmethod=disabled\n"
				  "\n[ipv6]\nmethod=manual\naddress1=2001:db8::10/64,2001:db8::1\n"
				  "dns-search=example.org;\n"},
    {"nm v6 dns", nm_keyfile, &V6_DNS, 0,
     NM_HEAD("00:16:3E:00:00:05") "\n[ipv4]\nmethod=disabled\n"
				  "\n[ipv6]\nmethod=manual\naddress1=2001:db8::10/48\n"
				  "dns=2001:db8::53;\n"},
    {"nm dhcp", nm_keyfile, &DHCP, 0,
     NM_HEAD("00:16:3E:AA:BB:CC") "\n[ipv4]\nmethod=auto\ndns-search=example.net;\n"
				  "\n[ipv6]\nmethod=auto\n"},
    {"nm dhcp bare", nm_keyfile, &DHCP_BARE, 0,
     NM_HEAD("00:16:3E:00:00:04") "\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n"},
    {"nm no mac", nm_keyfile, &NO_MAC, -EINVAL, NULL},

    /* Red Hat ifcfg */
    {"ifcfg v4", ifcfg, &V4, 0,
     CFG_HEAD "HWADDR=00:16:3e:12:34:56\nBOOTPROTO=none\nIPADDR=192.0.2.10\nPREFIX=24\n"
	      "GATEWAY=192.0.2.1\nDNS1=192.0.2.53\nDNS2=2001:db8::53\nDOMAIN=example.com\n"},
    {"ifcfg v4 bare", ifcfg, &V4_BARE, 0,
     CFG_HEAD "HWADDR=00:16:3e:00:00:01\nBOOTPROTO=none\nIPADDR=10.1.2.3\nPREFIX=24\n"},
    {"ifcfg v6", ifcfg, &V6, 0,
     CFG_HEAD "HWADDR=00:16:3e:00:00:03\nBOOTPROTO=none\nIPV6INIT=yes\nIPV6_AUTOCONF=no\n"
	      "IPV6ADDR=2001:db8::10/64\nIPV6_DEFAULTGW=2001:db8::1\nDNS1=192.0.2.53\n"
	      "DOMAIN=example.org\n"},
    {"ifcfg dhcp", ifcfg, &DHCP, 0,
     CFG_HEAD "HWADDR=00:16:3e:aa:bb:cc\nBOOTPROTO=dhcp\nDOMAIN=example.net\n"},
    {"ifcfg no mac", ifcfg, &NO_MAC, 0,
     CFG_HEAD "BOOTPROTO=none\nIPADDR=10.1.2.3\nPREFIX=24\nGATEWAY=10.1.2.1\n"},

    /* further NICs: each matched by its MAC, named enXN (ethN), with its own address;
     * name servers and domain with the first only; a default route only where the NIC
     * asks for one */
    {"multi ifupdown", ifupdown_enx, &MULTI, 0,
     IFUP_HEAD IFUP_LO("enX0") "iface enX0 inet static\n\taddress 192.0.2.10/24\n"
			       "\tgateway 192.0.2.1\n\tdns-nameservers 192.0.2.53 2001:db8::53\n"
			       "\tdns-search example.com\n"
			       "\nauto enX1\niface enX1 inet static\n\taddress 10.9.0.5/16\n"
			       "\nauto enX2\niface enX2 inet dhcp\n"},
    {"multi ifupdown eth", ifupdown_eth0, &MULTI_GW, 0,
     IFUP_HEAD IFUP_LO("eth0") "iface eth0 inet dhcp\n"
			       "\nauto eth1\niface eth1 inet static\n\taddress 10.9.0.5/24\n"
			       "\tgateway 10.9.0.1\n"
			       "\nauto eth2\niface eth2 inet dhcp\n"},
    {"multi link 1", link_1, &MULTI, 0,
     "# systemd.link(5), written by xenprov: the interface with this MAC address\n"
     "# is enX1, the name /etc/network/interfaces configures.\n"
     "[Match]\nMACAddress=00:16:3e:00:01:01\n\n[Link]\nName=enX1\n"},
    {"multi networkd 0", networkd, &MULTI, 0,
     ND_HEAD("00:16:3e:12:34:56") "\n[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\n"
				  "DNS=192.0.2.53\nDNS=2001:db8::53\nDomains=example.com\n"},
    {"multi networkd 1", networkd_1, &MULTI, 0,
     ND_HEAD("00:16:3e:00:01:01") "\n[Network]\nAddress=10.9.0.5/16\n"
				  "\n[Link]\nRequiredForOnline=no\n"},
    {"multi networkd 2", networkd_2, &MULTI, 0,
     ND_HEAD("00:16:3e:00:01:02") "\n[Network]\nDHCP=yes\n\n[Link]\nRequiredForOnline=no\n"
				  "\n[DHCPv4]\nUseGateway=no\n"},
    {"multi networkd 3", networkd_3, &MULTI, -EINVAL, NULL},
    {"multi gw networkd 1", networkd_1, &MULTI_GW, 0,
     ND_HEAD("00:16:3e:00:02:01") "\n[Network]\nAddress=10.9.0.5/24\nGateway=10.9.0.1\n"
				  "\n[Link]\nRequiredForOnline=no\n"},
    {"multi gw networkd 2", networkd_2, &MULTI_GW, 0,
     ND_HEAD("00:16:3e:00:02:02") "\n[Network]\nDHCP=yes\n\n[Link]\nRequiredForOnline=no\n"},
    {"multi netplan", xp_guest_text_netplan, &MULTI, 0,
     NP_HEAD("00:16:3e:12:34:56") "      dhcp4: false\n      addresses:\n"
				  "        - \"192.0.2.10/24\"\n"
				  "      routes:\n        - to: default\n"
				  "          via: \"192.0.2.1\"\n"
				  "      nameservers:\n        addresses: [192.0.2.53, 2001:db8::53]\n"
				  "        search: [example.com]\n"
				  "    enX1:\n      match:\n        macaddress: \"00:16:3e:00:01:01\"\n"
				  "      set-name: enX1\n      optional: true\n      dhcp4: false\n"
				  "      addresses:\n        - \"10.9.0.5/16\"\n"
				  "    enX2:\n      match:\n        macaddress: \"00:16:3e:00:01:02\"\n"
				  "      set-name: enX2\n      optional: true\n      dhcp4: true\n"
				  "      dhcp4-overrides:\n        use-routes: false\n"},
    {"multi gw netplan", xp_guest_text_netplan, &MULTI_GW, 0,
     NP_HEAD("00:16:3e:aa:bb:cc") "      dhcp4: true\n"
				  "    enX1:\n      match:\n        macaddress: \"00:16:3e:00:02:01\"\n"
				  "      set-name: enX1\n      optional: true\n      dhcp4: false\n"
				  "      addresses:\n        - \"10.9.0.5/24\"\n"
				  "      routes:\n        - to: default\n          via: \"10.9.0.1\"\n"
				  "    enX2:\n      match:\n        macaddress: \"00:16:3e:00:02:02\"\n"
				  "      set-name: enX2\n      optional: true\n      dhcp4: true\n"},
    {"multi nm 1", nm_keyfile_1, &MULTI, 0,
     "# nm-settings-keyfile(5), written by xenprov\n[connection]\nid=xenprov-enX1\n"
     "uuid=00010203-0405-4607-8809-0a0b0c0d0e0f\ntype=ethernet\nautoconnect-priority=100\n\n"
     "[ethernet]\nmac-address=00:16:3E:00:01:01\n"
     "\n[ipv4]\nmethod=manual\naddress1=10.9.0.5/16\nnever-default=true\n"
     "\n[ipv6]\nmethod=auto\nnever-default=true\n"},
    {"multi nm 2", nm_keyfile_2, &MULTI, 0,
     "# nm-settings-keyfile(5), written by xenprov\n[connection]\nid=xenprov-enX2\n"
     "uuid=00010203-0405-4607-8809-0a0b0c0d0e0f\ntype=ethernet\nautoconnect-priority=100\n\n"
     "[ethernet]\nmac-address=00:16:3E:00:01:02\n"
     "\n[ipv4]\nmethod=auto\nnever-default=true\n\n[ipv6]\nmethod=auto\nnever-default=true\n"},
    {"multi gw nm 1", nm_keyfile_1, &MULTI_GW, 0,
     "# nm-settings-keyfile(5), written by xenprov\n[connection]\nid=xenprov-enX1\n"
     "uuid=00010203-0405-4607-8809-0a0b0c0d0e0f\ntype=ethernet\nautoconnect-priority=100\n\n"
     "[ethernet]\nmac-address=00:16:3E:00:02:01\n"
     "\n[ipv4]\nmethod=manual\naddress1=10.9.0.5/24,10.9.0.1\n"
     "\n[ipv6]\nmethod=auto\nnever-default=true\n"},
    {"multi ifcfg 1", ifcfg_1, &MULTI, 0,
     "# written by xenprov\nDEVICE=eth1\nNAME=eth1\nTYPE=Ethernet\nONBOOT=yes\n"
     "HWADDR=00:16:3e:00:01:01\nBOOTPROTO=none\nIPADDR=10.9.0.5\nPREFIX=16\nDEFROUTE=no\n"},
    {"multi ifcfg 2", ifcfg_2, &MULTI, 0,
     "# written by xenprov\nDEVICE=eth2\nNAME=eth2\nTYPE=Ethernet\nONBOOT=yes\n"
     "HWADDR=00:16:3e:00:01:02\nBOOTPROTO=dhcp\nDEFROUTE=no\n"},
    {"multi gw ifcfg 2", ifcfg_2, &MULTI_GW, 0,
     "# written by xenprov\nDEVICE=eth2\nNAME=eth2\nTYPE=Ethernet\nONBOOT=yes\n"
     "HWADDR=00:16:3e:00:02:02\nBOOTPROTO=dhcp\n"},
};

/* Settings no network writer can write. */
static const struct xp_guest_settings NO_NET = {.hostname = "x", .mac = "00:16:3e:12:34:56"};
static const struct xp_guest_settings BAD_MAC = {.dhcp = true, .mac = "00:16:3e:12:34"};

static void test_writers(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct text_case *c = &cases[i];
		print_message("%s\n", c->what);
		struct xp_buf b = XP_BUF_INIT;
		assert_int_equal(c->fn(c->s, &b), c->rc);
		if (c->rc == 0)
			assert_string_equal(xp_buf_str(&b), c->want);
		else
			assert_int_equal(b.len, 0);
		xp_buf_release(&b);
	}
	static const writer_fn net[] = {ifupdown_enx_dotd, ifupdown_eth0,	  link_enx, networkd,
					xp_guest_text_netplan, nm_keyfile, ifcfg};
	for (size_t i = 0; i < N(net); i++) {
		struct xp_buf b = XP_BUF_INIT;
		assert_int_equal(net[i](&NO_NET, &b), -EINVAL);
		assert_int_equal(net[i](&BAD_MAC, &b), -EINVAL);
		assert_int_equal(b.len, 0);
		xp_buf_release(&b);
	}
	/* a further NIC that cannot be written spoils the files of all of them */
	static const struct xp_guest_nic bad[][1] = {
	    {{.mac = "00:16:3e:00:09:01"}},			  /* neither dhcp nor an address */
	    {{.mac = "00:16:3e:00:09", .dhcp = true}},		  /* a bad MAC */
	    {{.ip = "10.0.0.1"}},				  /* no MAC where one is needed */
	};
	for (size_t k = 0; k < N(bad); k++) {
		struct xp_guest_settings s = MULTI;
		s.nics = bad[k];
		s.nnics = 1;
		for (size_t i = 0; i < N(net); i++) {
			struct xp_buf b = XP_BUF_INIT;
			int r = net[i](&s, &b);
			/* the first NIC's own file does not read the others */
			bool own = net[i] == link_enx || net[i] == networkd || net[i] == nm_keyfile ||
				   net[i] == ifcfg;
			if (own || (k == 2 && (net[i] == ifupdown_enx_dotd || net[i] == ifupdown_eth0)))
				assert_int_equal(r, 0);
			else
				assert_int_equal(r, -EINVAL);
			xp_buf_release(&b);
		}
	}
	char name[16];
	assert_string_equal(xp_guest_ifname(0, false, name), XP_GUEST_IFNAME);
	assert_string_equal(xp_guest_ifname(0, true, name), XP_GUEST_KERNEL_IFNAME);
	assert_string_equal(xp_guest_ifname(15, false, name), "enX15");
	struct xp_buf b = XP_BUF_INIT;
	/* writers append to what the buffer holds */
	xp_buf_adds(&b, "kept\n");
	assert_int_equal(xp_guest_text_hostname(&V4, &b), 0);
	assert_string_equal(xp_buf_str(&b), "kept\nweb01\n");
	xp_buf_release(&b);
}

static void test_derived(void **state)
{
	(void)state;
	assert_int_equal(xp_guest_prefix(&V4), 24);
	assert_int_equal(xp_guest_prefix(&V4_BARE), 24);
	assert_int_equal(xp_guest_prefix(&V4_DOMAIN), 16);
	assert_int_equal(xp_guest_prefix(&V6), 64);
	assert_int_equal(xp_guest_prefix(&DHCP), 0); /* its ip is ignored */
	assert_int_equal(xp_guest_prefix(&NO_NET), 0);
	const struct xp_guest_settings v6p = {.ip = "2001:db8::10", .prefix = 48};
	assert_int_equal(xp_guest_prefix(&v6p), 48);

	char mac[XP_MAC_STRLEN + 1] = "junk";
	assert_int_equal(xp_guest_mac(&V4, mac), 0);
	assert_string_equal(mac, "00:16:3e:12:34:56");
	assert_int_equal(xp_guest_mac(&NO_MAC, mac), 0);
	assert_string_equal(mac, "");
	assert_int_equal(xp_guest_mac(&BAD_MAC, mac), -EINVAL);
}

struct pred_case {
	const char *text;
	bool eth0, enx0;
};

static const struct pred_case ifupdown_cases[] = {
    {"auto eth0\niface eth0 inet dhcp\n", true, false},
    {"iface eth0 inet static\n\taddress 192.0.2.1/24\n", true, false},
    {"allow-hotplug eth0\n", true, false},
    {"auto lo eth0\n", true, false},
    {"mapping eth0\n\tscript /usr/local/sbin/map\n", true, false},
    {"\tauto eth0", true, false},
    {"allow-hotplug enX0\niface enX0 inet dhcp\n", false, true},
    {"auto lo enX0 eth0\n", true, true},
    {"auto eth1\niface eth1 inet dhcp\n", false, false},
    {"iface eth1 inet dhcp eth0\n", false, false}, /* iface: only its first word */
    {"iface br0 inet manual\n\tbridge_ports eth0 enX0\n", false, false},
    {"# auto eth0\n", false, false},
    {"auto eth00\nauto enX01\nauto enx0\n", false, false},
    {"", false, false},
};

static const struct {
	const char *text;
	bool ethernet;
} nm_cases[] = {
    {"[connection]\nid=Wired\ntype=ethernet\n", true},
    {"[connection]\nid=System eth0\ntype=802-3-ethernet\ninterface-name=eth0\n", true},
    {"[connection]\n  type = ethernet\r\n", true},
    {"[connection]\nid=br0\ntype=bridge\n", false},
    {"[connection]\ntype=wifi\n[wifi]\nssid=ethernet\n", false},
    {"[connection]\ntype=ethernets\n", false},
    {"[connection]\nslave-type=ethernet\n", false},
    {"#type=ethernet\n", false},
    {"", false},
};

static void test_predicates(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(ifupdown_cases); i++) {
		print_message("ifupdown '%s'\n", ifupdown_cases[i].text);
		assert_int_equal(xp_guest_text_ifupdown_configures(ifupdown_cases[i].text, "eth0"),
				 ifupdown_cases[i].eth0);
		assert_int_equal(xp_guest_text_ifupdown_configures(ifupdown_cases[i].text, "enX0"),
				 ifupdown_cases[i].enx0);
	}
	assert_true(xp_guest_text_netplan_has_ethernets("network:\n  ethernets:\n    eth0: {}\n"));
	assert_false(xp_guest_text_netplan_has_ethernets("network:\n  bridges: {}\n"));
	for (size_t i = 0; i < N(nm_cases); i++) {
		print_message("nm '%s'\n", nm_cases[i].text);
		assert_int_equal(xp_guest_text_nm_is_ethernet(nm_cases[i].text),
				 nm_cases[i].ethernet);
	}
}

#define FSTAB_HEAD                                                                                 \
	"# /etc/fstab: static file system information, written by xenprov.\n"                      \
	"# <file system> <mount point> <type> <options> <dump> <pass>\n"
#define SWAP_UUID "d1c2b3a4-1234-4cde-8f00-aabbccddeeff"

static void test_fstab(void **state)
{
	(void)state;
	static const struct {
		enum xp_fs_type type;
		const char *swap, *want;
	} fc[] = {
	    {XP_FS_EXT4, SWAP_UUID,
	     FSTAB_HEAD "UUID=" FS_UUID "\t/\text4\terrors=remount-ro\t0\t1\n"
			"UUID=" SWAP_UUID "\tnone\tswap\tsw\t0\t0\n"},
	    {XP_FS_EXT3, NULL, FSTAB_HEAD "UUID=" FS_UUID "\t/\text3\terrors=remount-ro\t0\t1\n"},
	    {XP_FS_EXT2, "", FSTAB_HEAD "UUID=" FS_UUID "\t/\text2\terrors=remount-ro\t0\t1\n"},
	};
	for (size_t i = 0; i < N(fc); i++) {
		struct xp_buf b = XP_BUF_INIT;
		assert_int_equal(xp_guest_text_fstab(FS_UUID, fc[i].type, fc[i].swap, NULL, 0, &b), 0);
		assert_string_equal(xp_buf_str(&b), fc[i].want);
		xp_buf_release(&b);
	}
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_guest_text_fstab(FS_UUID, (enum xp_fs_type)3, NULL, NULL, 0, &b), -EINVAL);
	assert_int_equal(xp_guest_text_fstab(NULL, XP_FS_EXT4, NULL, NULL, 0, &b), -EINVAL);
	assert_int_equal(b.len, 0);

	/* data disks and a swap volume: by UUID, nofail; XFS is not fsck'ed */
	static const struct xp_guest_mount m[] = {
	    {"11111111-2222-4333-8444-555555555555", "ext4", "/srv"},
	    {"21111111-2222-4333-8444-555555555555", "xfs", "/var/lib/data"},
	    {"31111111-2222-4333-8444-555555555555", "swap", NULL},
	};
	assert_int_equal(xp_guest_text_fstab(FS_UUID, XP_FS_EXT4, NULL, m, N(m), &b), 0);
	assert_string_equal(xp_buf_str(&b),
			    FSTAB_HEAD "UUID=" FS_UUID "\t/\text4\terrors=remount-ro\t0\t1\n"
				       "UUID=11111111-2222-4333-8444-555555555555\t/srv\text4\t"
				       "defaults,nofail\t0\t2\n"
				       "UUID=21111111-2222-4333-8444-555555555555\t/var/lib/data\txfs\t"
				       "defaults,nofail\t0\t0\n"
				       "UUID=31111111-2222-4333-8444-555555555555\tnone\tswap\t"
				       "sw,nofail\t0\t0\n");
	xp_buf_release(&b);
	static const struct xp_guest_mount bad[] = {
	    {NULL, "ext4", "/srv"},					  /* no UUID */
	    {"short", "ext4", "/srv"},					  /* not a UUID */
	    {"11111111-2222-4333-8444-555555555555", "btrfs", "/srv"},	  /* not ours */
	    {"11111111-2222-4333-8444-555555555555", "ext4", NULL},	  /* no mount point */
	    {"11111111-2222-4333-8444-555555555555", "ext4", "/"},	  /* the root's */
	    {"11111111-2222-4333-8444-555555555555", "ext4", "srv"},	  /* relative */
	    {"11111111-2222-4333-8444-555555555555", "ext4", "/my data"}, /* a blank */
	    {"11111111-2222-4333-8444-555555555555", "swap", "/swap"},	  /* swap has none */
	};
	for (size_t i = 0; i < N(bad); i++) {
		print_message("bad mount %zu\n", i);
		assert_int_equal(xp_guest_text_fstab(FS_UUID, XP_FS_EXT4, NULL, &bad[i], 1, &b),
				 -EINVAL);
		assert_int_equal(b.len, 0);
	}
	assert_int_equal(xp_guest_text_fstab(FS_UUID, XP_FS_EXT4, NULL, NULL, 1, &b), -EINVAL);
	xp_buf_release(&b);
}

/* xp_guest_uuids_follow: whole old UUIDs, in either case, become the new ones. */
#define NEW_FS "0f0e0d0c-0b0a-4988-8776-655443322110"
#define NEW_SW "aaaabbbb-cccc-4ddd-8eee-ffff00001111"

static void test_uuids_follow(void **state)
{
	(void)state;
	struct xp_guest_report rep = {0};
	snprintf(rep.old_fs_uuid, sizeof(rep.old_fs_uuid), "%s", FS_UUID);
	snprintf(rep.fs_uuid, sizeof(rep.fs_uuid), "%s", NEW_FS);
	snprintf(rep.old_swap_uuid, sizeof(rep.old_swap_uuid), "%s", SWAP_UUID);
	snprintf(rep.swap_uuid, sizeof(rep.swap_uuid), "%s", NEW_SW);
	static const struct {
		const char *in, *want;
		int n;
	} fc[] = {
	    {"", "", 0},
	    {"short", "short", 0},
	    {FS_UUID, NEW_FS, 1},
	    {"root=UUID=" FS_UUID " resume=UUID=" SWAP_UUID "\n",
	     "root=UUID=" NEW_FS " resume=UUID=" NEW_SW "\n", 2},
	    /* the case of hex digits does not matter; what is written is lower case */
	    {"root=UUID=6A0C8E1E-5B7D-4F0E-9A51-0F3C2D1E4B5A ro", "root=UUID=" NEW_FS " ro", 1},
	    /* search --fs-uuid, twice on one line, back to back with punctuation */
	    {"search --fs-uuid --set=root " FS_UUID ";" FS_UUID "\"",
	     "search --fs-uuid --set=root " NEW_FS ";" NEW_FS "\"", 2},
	    /* not whole: inside a longer run of hex digits and '-' */
	    {"a" FS_UUID " " FS_UUID "0 " FS_UUID "-1 -" FS_UUID,
	     "a" FS_UUID " " FS_UUID "0 " FS_UUID "-1 -" FS_UUID, 0},
	    /* a prefix of a UUID at the end of the text */
	    {"root=UUID=6a0c8e1e-5b7d-4f0e-9a51-0f3c2d1e4b5",
	     "root=UUID=6a0c8e1e-5b7d-4f0e-9a51-0f3c2d1e4b5", 0},
	};
	for (size_t i = 0; i < N(fc); i++) {
		struct xp_buf b = XP_BUF_INIT;
		xp_buf_adds(&b, "kept:");
		assert_int_equal(xp_guest_uuids_follow(&rep, fc[i].in, strlen(fc[i].in), &b),
				 fc[i].n);
		assert_string_equal(b.s + 5, fc[i].want);
		xp_buf_release(&b);
	}
	/* bytes after a NUL and a UUID cut by len are text like any other */
	static const char nul[] = "x\0" FS_UUID "\0y";
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_guest_uuids_follow(&rep, nul, sizeof(nul) - 1, &b), 1);
	assert_int_equal(b.len, sizeof(nul) - 1);
	assert_memory_equal(b.s, "x\0" NEW_FS "\0y", b.len);
	xp_buf_release(&b);
	assert_int_equal(xp_guest_uuids_follow(&rep, FS_UUID, 35, &b), 0);
	assert_int_equal(b.len, 35);
	xp_buf_release(&b);
	/* a swap area that had no UUID: nothing to follow for it */
	rep.old_swap_uuid[0] = '\0';
	assert_int_equal(xp_guest_uuids_follow(&rep, SWAP_UUID " " FS_UUID, 73, &b), 1);
	assert_string_equal(xp_buf_str(&b), SWAP_UUID " " NEW_FS);
	xp_buf_release(&b);
}

static void test_machine_id(void **state)
{
	(void)state;
	/* the version nibble (byte 6) becomes 4, the variant bits (byte 8) 10 */
	static const struct {
		unsigned char in[16];
		const char *want;
	} mc[] = {
	    {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	      0xff, 0xff},
	     "ffffffffffff4fffbfffffffffffffff\n"},
	    {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	     "000102030405460788090a0b0c0d0e0f\n"},
	    {{0}, "00000000000040008000000000000000\n"},
	};
	for (size_t i = 0; i < N(mc); i++) {
		unsigned char copy[16];
		memcpy(copy, mc[i].in, 16);
		struct xp_buf b = XP_BUF_INIT;
		assert_int_equal(xp_guest_text_machine_id(copy, &b), 0);
		assert_string_equal(xp_buf_str(&b), mc[i].want);
		assert_memory_equal(copy, mc[i].in, 16); /* the caller's bytes are left alone */
		xp_buf_release(&b);
	}
}

static void test_shadow(void **state)
{
	(void)state;
	static const struct {
		const char *what, *old;
		int rc;
		const char *want;
	} sc[] = {
	    {"root first", "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", 0,
	     "root:" HASH ":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"},
	    {"root later, the rest byte for byte",
	     "daemon:*:19000:0:99999:7:::\nroot:!:19000::::::\r\nadmin:$y$j9T$a$b:19001::::::\n", 0,
	     "daemon:*:19000:0:99999:7:::\nroot:" HASH
	     ":19000::::::\r\nadmin:$y$j9T$a$b:19001::::::\n"},
	    {"empty field", "root::19000:::::\n", 0, "root:" HASH ":19000:::::\n"},
	    {"two fields, no newline", "root:old", 0, "root:" HASH},
	    {"name only", "nobody:*:1::::::\nroot:", 0, "nobody:*:1::::::\nroot:" HASH},
	    {"no root", "daemon:*:19000:0:99999:7:::\n", -ENOENT, NULL},
	    {"look-alikes", "rootx:*:1::::::\n#root:*:1::::::\ndaemon:root:1::::::\n root:*:1\n",
	     -ENOENT, NULL},
	    {"empty", "", -ENOENT, NULL},
	};
	for (size_t i = 0; i < N(sc); i++) {
		print_message("%s\n", sc[i].what);
		struct xp_buf b = XP_BUF_INIT;
		assert_int_equal(xp_guest_text_shadow(sc[i].old, strlen(sc[i].old), HASH, &b),
				 sc[i].rc);
		if (sc[i].rc == 0)
			assert_string_equal(xp_buf_str(&b), sc[i].want);
		else
			assert_int_equal(b.len, 0);
		xp_buf_release(&b);
	}
	/* only len bytes are read: "root:" cut short is no root line */
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_guest_text_shadow("root:x:1\n", 4, HASH, &b), -ENOENT);
	assert_int_equal(xp_guest_text_shadow("root:x:1\nJUNK", 9, HASH, &b), 0);
	assert_string_equal(xp_buf_str(&b), "root:" HASH ":1\n");
	xp_buf_release(&b);
}

static void test_authorized_keys(void **state)
{
	(void)state;
	static const char *const kc[][2] = {
	    {"ssh-ed25519 AAAA k1", "ssh-ed25519 AAAA k1\n"},
	    {"ssh-ed25519 AAAA k1\n", "ssh-ed25519 AAAA k1\n"},
	    {"ssh-ed25519 AAAA k1\nssh-rsa BBBB k2", "ssh-ed25519 AAAA k1\nssh-rsa BBBB k2\n"},
	};
	for (size_t i = 0; i < N(kc); i++) {
		struct xp_buf b = XP_BUF_INIT;
		assert_int_equal(xp_guest_text_authorized_keys(kc[i][0], &b), 0);
		assert_string_equal(xp_buf_str(&b), kc[i][1]);
		xp_buf_release(&b);
	}
}

static void test_hostkey_unit(void **state)
{
	(void)state;
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_guest_text_hostkey_unit(&b), 0);
	assert_string_equal(
	    xp_buf_str(&b),
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
	    "WantedBy=multi-user.target\n");
	xp_buf_release(&b);
}

/* two kernels, the newest first as xp_boot_kernels_pick orders them; the older without
 * an initramfs */
static struct xp_boot_kernel KV[] = {
    {"6.1.0-10-amd64", "/boot/vmlinuz-6.1.0-10-amd64", "/boot/initrd.img-6.1.0-10-amd64"},
    {"6.1.0-9-amd64", "/boot/vmlinuz-6.1.0-9-amd64", NULL},
};
#define ROOT_UUID "0f00382d-d582-4e44-882c-65f4f676c435"

static void test_grub_cfg(void **state)
{
	(void)state;
	const struct xp_boot_kernels k = {KV, 2, false};
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(
	    xp_guest_text_grub_cfg(&k, ROOT_UUID, "/dev/xvda1", "quiet net.ifnames=0", &b), 0);
	assert_string_equal(
	    xp_buf_str(&b),
	    "# Written by xenprov for pygrub and PV GRUB: the kernels in /boot, the newest first.\n"
	    "# The guest's update-grub, where it has one, writes this file anew.\n"
	    "set default=0\n"
	    "set timeout=1\n"
	    "\n"
	    "menuentry 'Linux 6.1.0-10-amd64' {\n"
	    "\tsearch --no-floppy --fs-uuid --set=root " ROOT_UUID "\n"
	    "\tlinux /boot/vmlinuz-6.1.0-10-amd64 root=UUID=" ROOT_UUID
	    " ro console=hvc0 quiet net.ifnames=0\n"
	    "\tinitrd /boot/initrd.img-6.1.0-10-amd64\n"
	    "}\n"
	    "\n"
	    "menuentry 'Linux 6.1.0-9-amd64' {\n"
	    "\tsearch --no-floppy --fs-uuid --set=root " ROOT_UUID "\n"
	    "\tlinux /boot/vmlinuz-6.1.0-9-amd64 root=/dev/xvda1 ro console=hvc0 quiet "
	    "net.ifnames=0\n"
	    "}\n");
	xp_buf_release(&b);

	/* a console of the profile's own replaces hvc0; no args at all */
	const struct xp_boot_kernels one = {KV, 1, false};
	const char *consoles[][2] = {
	    {"console=ttyS0", " ro console=ttyS0\n"},
	    {"quiet console=hvc1", " ro quiet console=hvc1\n"},
	    {"xconsole=1", " ro console=hvc0 xconsole=1\n"},
	    {"", " ro console=hvc0\n"},
	};
	for (size_t i = 0; i < N(consoles); i++) {
		b = (struct xp_buf)XP_BUF_INIT;
		assert_int_equal(
		    xp_guest_text_grub_cfg(&one, ROOT_UUID, "/dev/xvda", consoles[i][0], &b), 0);
		xp_test_assert_contains(xp_buf_str(&b), consoles[i][1]);
		xp_buf_release(&b);
	}
	b = (struct xp_buf)XP_BUF_INIT;
	assert_int_equal(xp_guest_text_grub_cfg(&one, ROOT_UUID, "/dev/xvda", NULL, &b), 0);
	xp_test_assert_contains(xp_buf_str(&b), "-amd64 root=UUID=" ROOT_UUID " ro console=hvc0\n");
	xp_buf_release(&b);

	/* refused: no kernel, no UUID, what GRUB's script would read as syntax */
	const struct xp_boot_kernels none = {NULL, 0, false};
	const char *bad[] = {"a'b", "a\"b", "$x", "a\\b", "a;b",  "{",	  "}",	  "a|b",
			     "a&b", "<",    ">",  "`x`",  "a\nb", "a\tb", "\x7f", "\xc3\xa9"};
	b = (struct xp_buf)XP_BUF_INIT;
	assert_int_equal(xp_guest_text_grub_cfg(&none, ROOT_UUID, "/dev/xvda1", NULL, &b), -EINVAL);
	assert_int_equal(xp_guest_text_grub_cfg(&one, "", "/dev/xvda1", NULL, &b), -EINVAL);
	assert_int_equal(xp_guest_text_grub_cfg(&one, NULL, "/dev/xvda1", NULL, &b), -EINVAL);
	for (size_t i = 0; i < N(bad); i++) {
		assert_false(xp_guest_kernel_args_valid(bad[i]));
		assert_int_equal(xp_guest_text_grub_cfg(&one, ROOT_UUID, "/dev/xvda1", bad[i], &b),
				 -EINVAL);
	}
	assert_int_equal(b.len, 0);
	xp_buf_release(&b);
	assert_true(xp_guest_kernel_args_valid(NULL));
	assert_true(
	    xp_guest_kernel_args_valid("console=hvc0 root=/dev/xvda1 a=b,c:d/e+f~g-h_i.j %"));
}

static void test_default_grub(void **state)
{
	(void)state;
	static const char line[] =
	    "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX console=hvc0 quiet\"\n";
	static const char added[] =
	    "# xenprov: the Xen console and the profile's kernel command line\n";
	/* Debian's file, ending in a newline; one without; none at all */
	static const char debian[] = "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"\"\n";
	struct xp_buf b = XP_BUF_INIT, want = XP_BUF_INIT;
	assert_int_equal(xp_guest_text_default_grub(debian, strlen(debian), "quiet", &b), 1);
	xp_buf_addf(&want, "%s%s%s", debian, added, line);
	assert_string_equal(xp_buf_str(&b), xp_buf_str(&want));
	/* applied again: it is there, nothing added */
	struct xp_buf again = XP_BUF_INIT;
	assert_int_equal(xp_guest_text_default_grub(b.s, b.len, "quiet", &again), 0);
	assert_string_equal(xp_buf_str(&again), xp_buf_str(&b));
	xp_buf_release(&again);
	xp_buf_release(&b);
	xp_buf_release(&want);

	b = (struct xp_buf)XP_BUF_INIT;
	assert_int_equal(xp_guest_text_default_grub("GRUB_TIMEOUT=5", 14, "quiet", &b), 1);
	want = (struct xp_buf)XP_BUF_INIT;
	xp_buf_addf(&want, "GRUB_TIMEOUT=5\n%s%s", added, line);
	assert_string_equal(xp_buf_str(&b), xp_buf_str(&want));
	xp_buf_release(&b);
	xp_buf_release(&want);

	b = (struct xp_buf)XP_BUF_INIT;
	assert_int_equal(xp_guest_text_default_grub(NULL, 0, "console=ttyS0", &b), 1);
	assert_string_equal(xp_buf_str(&b),
			    "# xenprov: the Xen console and the profile's kernel "
			    "command line\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX "
			    "console=ttyS0\"\n");
	xp_buf_release(&b);
	/* the line inside another (not a line of its own) does not count */
	b = (struct xp_buf)XP_BUF_INIT;
	static const char inside[] = "# GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX console=hvc0\"\n";
	assert_int_equal(xp_guest_text_default_grub(inside, strlen(inside), NULL, &b), 1);
	xp_buf_release(&b);
	b = (struct xp_buf)XP_BUF_INIT;
	assert_int_equal(xp_guest_text_default_grub(debian, strlen(debian), "$(reboot)", &b),
			 -EINVAL);
	xp_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writers),	 cmocka_unit_test(test_derived),
	    cmocka_unit_test(test_predicates),	 cmocka_unit_test(test_fstab),
	    cmocka_unit_test(test_uuids_follow), cmocka_unit_test(test_machine_id),
	    cmocka_unit_test(test_shadow),	 cmocka_unit_test(test_authorized_keys),
	    cmocka_unit_test(test_hostkey_unit), cmocka_unit_test(test_grub_cfg),
	    cmocka_unit_test(test_default_grub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
