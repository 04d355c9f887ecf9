/*
 * dhcp-include.c - the include files `xenprov sync` writes for a site's own DHCP server:
 * host reservations (MAC, reserved address, host name) and the PXE boot files, for
 * dnsmasq (dnsmasq(8) --conf-file syntax), ISC dhcpd (dhcpd.conf(5), dhcp-eval(5)) and
 * Kea (kea-dhcp4 JSON: reservations, client classes). Pure: hosts in, text out.
 *
 * Not here: which systems (sync.c), checking the result with the server (dhcp-check.c).
 *
 * The boot files follow `xenprov serve` (proto/dhcp-server.c, boot_file): iPXE gets
 * the script of its own MAC, a PXE ROM ("PXEClient") the BIOS file when it names no
 * architecture or 0 (RFC 4578 2.1), the x86-64 UEFI file for 7 or 9, nothing for
 * another; a plain DHCP client (an installed system) no file at all, and a system
 * with netboot off none either. Tags, classes and host declarations carry a
 * "xenprov-" prefix, so that they never meet the site's own.
 *
 * Safety: no value from the inventory is ever written where the server would read it
 * as syntax. dnsmasq has no quoting for a dhcp-host field and reads each field by its
 * form (an address, a lease time such as "45m" or "infinite", "ignore", "set:..."), so
 * a host name is given only when it is made of letters, digits, '.', '-' and '_' and
 * cannot be read as something else; otherwise it is left out with a warning.
 * dhcpd's strings escape '"' and '\'; its host declarations are named by an injective
 * encoding of the system's name into the characters of an identifier. Kea's JSON is
 * written by jansson.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync-internal.h"
#include "util/ctype.h"

static const char HEADER[] =
    "# Written by xenprov sync (xenprov-sync(1)): host reservations and PXE boot files\n"
    "# of the inventory's systems. Each sync replaces this file whole: do not edit it;\n"
    "# change the inventory and run xenprov sync.\n";

bool xp__sync_cidr_parse(const char *s, uint32_t *net, uint32_t *mask)
{
	const char *slash = strchr(s, '/');
	char a[16];
	if (!slash || slash - s >= (long)sizeof(a) || !slash[1] || strlen(slash + 1) > 2)
		return false;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = 0;
	unsigned bits = 0;
	for (const char *p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		bits = bits * 10 + (unsigned)(*p - '0');
	}
	struct in_addr in;
	if (bits > 32 || inet_pton(AF_INET, a, &in) != 1)
		return false;
	uint32_t v = ntohl(in.s_addr), m = bits ? ~0u << (32 - bits) : 0;
	if (v & ~m)
		return false; /* host bits set: not the subnet's own address */
	*net = v;
	*mask = m;
	return true;
}

int xp__sync_host_from(const struct xp_system *s, struct xp__sync_host *h, struct xp_diags *d)
{
	memset(h, 0, sizeof(*h));
	h->name = s->name;
	h->netboot = s->netboot;
	h->hostname = s->hostname ? s->hostname : s->name;
	struct xp_mac m;
	if (!s->mac || xp_mac_parse(s->mac, &m) < 0)
		return xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "mac", s->mac, NULL,
				    "system '%s': its MAC '%s' does not read: left out", s->name,
				    s->mac ? s->mac : "") < 0
			   ? -ENOMEM
			   : 1;
	xp_mac_format(&m, h->mac);
	if (s->ip) {
		struct in_addr in;
		char back[INET_ADDRSTRLEN];
		/* strict: four decimal parts, written back the same */
		if (inet_pton(AF_INET, s->ip, &in) != 1 ||
		    !inet_ntop(AF_INET, &in, back, sizeof(back)) || strcmp(back, s->ip) != 0)
			return xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "ip", s->ip, NULL,
					    "system '%s': its address '%s' does not read: left out",
					    s->name, s->ip) < 0
				   ? -ENOMEM
				   : 1;
		snprintf(h->ip, sizeof(h->ip), "%s", back);
	}
	return 0;
}

/* ---- dnsmasq --------------------------------------------------------------------------- */

/* A boot file name dnsmasq reads back as written: its config has a quoting of sorts,
 * but splits fields at ',' and ends lines at '#' after blanks; keep to characters that
 * need neither. */
static bool dnsmasq_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!xp__isalnum(*s) && !strchr("._/+@%:=~${}-", *s))
			return false;
	return true;
}

/* Why dnsmasq could not take s as a dhcp-host's host name field, or NULL. Its fields
 * are told apart by their form (dnsmasq(8) --dhcp-host): an IPv4 address, a lease time
 * (a number, with an s/m/h/d/w unit, or "infinite"), "ignore", a "tag:"/"set:"/"id:"
 * prefix; whatever is left is the name. */
static const char *dnsmasq_host_refusal(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "it is empty";
	for (const char *p = s; *p; p++)
		if (!xp__isalnum(*p) && *p != '.' && *p != '-' && *p != '_')
			return "it holds characters a dhcp-host line cannot carry";
	size_t digits = strspn(s, "0123456789");
	if (digits == n || (digits && digits == n - 1 && strchr("smhdw", s[n - 1])))
		return "dnsmasq would read it as a lease time";
	if (strspn(s, "0123456789.") == n)
		return "dnsmasq would read it as an address";
	if (!strcmp(s, "infinite") || !strcmp(s, "ignore") || !strcmp(s, "deprecated"))
		return "dnsmasq would read it as a keyword";
	return NULL;
}

static int host_name_left_out(struct xp_diags *d, const struct xp__sync_host *h, const char *why)
{
	return xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "hostname", h->hostname, NULL,
			    "system '%s': its host name is not handed out: %s", h->name, why) < 0
		   ? -ENOMEM
		   : 0;
}

static bool any_netboot(const struct xp__sync_host *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].netboot)
			return true;
	return false;
}

static int bad_boot_file(struct xp_diags *d, const char *server, const char *file)
{
	return xp_diags_refuse(d, -EINVAL, "boot-file", file,
			       "xenprov settings set bios-boot-file|efi64-boot-file NAME",
			       "boot file name '%s' cannot be written for %s", file, server);
}

int xp__sync_dnsmasq(const struct xp__sync_host *h, size_t n, const struct xp__sync_boot *b,
		     struct xp_buf *out, struct xp_diags *d)
{
	xp_buf_adds(out, HEADER);
	if (any_netboot(h, n)) {
		if (!dnsmasq_word(b->bios))
			return bad_boot_file(d, "dnsmasq", b->bios);
		if (!dnsmasq_word(b->efi64))
			return bad_boot_file(d, "dnsmasq", b->efi64);
		/* tags: pxe (a PXE ROM), ipxe, arch (option 93 sent), bios (93 = 0),
		 * efi64 (93 = 7 or 9); dhcp-boot lines need every tag they name, and no two
		 * of them can match one client */
		xp_buf_adds(out, "dhcp-vendorclass=set:xenprov-pxe,PXEClient\n"
				 "dhcp-userclass=set:xenprov-ipxe,iPXE\n"
				 "dhcp-match=set:xenprov-ipxe,175\n"
				 "dhcp-match=set:xenprov-arch,option:client-arch\n"
				 "dhcp-match=set:xenprov-bios,option:client-arch,0\n"
				 "dhcp-match=set:xenprov-efi64,option:client-arch,7\n"
				 "dhcp-match=set:xenprov-efi64,option:client-arch,9\n");
		static const char pxe[] = "tag:xenprov-netboot,tag:!xenprov-ipxe,tag:xenprov-pxe";
		xp_buf_addf(out, "dhcp-boot=tag:xenprov-netboot,tag:xenprov-ipxe,%s,,%s\n",
			    XP__SYNC_IPXE_FILE, b->next_server);
		xp_buf_addf(out, "dhcp-boot=%s,tag:xenprov-efi64,%s,,%s\n", pxe, b->efi64,
			    b->next_server);
		xp_buf_addf(out, "dhcp-boot=%s,tag:xenprov-bios,%s,,%s\n", pxe, b->bios,
			    b->next_server);
		xp_buf_addf(out, "dhcp-boot=%s,tag:!xenprov-arch,%s,,%s\n", pxe, b->bios,
			    b->next_server);
	}
	for (size_t i = 0; i < n; i++) {
		xp_buf_addf(out, "dhcp-host=%s", h[i].mac);
		if (h[i].netboot)
			xp_buf_adds(out, ",set:xenprov-netboot");
		if (h[i].ip[0])
			xp_buf_addf(out, ",%s", h[i].ip);
		const char *why = h[i].hostname ? dnsmasq_host_refusal(h[i].hostname) : NULL;
		if (why && host_name_left_out(d, &h[i], why) < 0)
			return -ENOMEM;
		if (h[i].hostname && !why)
			xp_buf_addf(out, ",%s", h[i].hostname);
		xp_buf_addc(out, '\n');
	}
	return xp_buf_error(out);
}

/* ---- ISC dhcpd ------------------------------------------------------------------------- */

/* A dhcpd.conf string: '"' and '\' escaped (dhcpd's lexer reads them back); anything
 * but printable ASCII is refused by the caller. */
static void isc_string(struct xp_buf *out, const char *s)
{
	xp_buf_add_dquoted(out, s);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* A host declaration's name: dhcpd reads an identifier there (letters, digits, '-',
 * '_'; no quoted string), so the system's name is encoded: letters, digits and '-'
 * stay, every other byte is "_" and two hex digits ('.' is _2e, '_' itself _5f). One
 * name, one encoding, never two names the same. */
static void isc_host_name(struct xp_buf *out, const char *name)
{
	xp_buf_adds(out, "xenprov-");
	for (const char *p = name; *p; p++) {
		if (xp__isalnum(*p) || *p == '-')
			xp_buf_addc(out, *p);
		else
			xp_buf_addf(out, "_%02x", (unsigned char)*p);
	}
}

static int isc_host(struct xp_buf *out, const struct xp__sync_host *h, const char *indent,
		    struct xp_diags *d)
{
	xp_buf_addf(out, "%shost ", indent);
	isc_host_name(out, h->name);
	xp_buf_addf(out, " { hardware ethernet %s;", h->mac);
	if (h->ip[0])
		xp_buf_addf(out, " fixed-address %s;", h->ip);
	if (h->hostname && printable(h->hostname) && *h->hostname) {
		xp_buf_adds(out, " option host-name ");
		isc_string(out, h->hostname);
		xp_buf_addc(out, ';');
	} else if (h->hostname && host_name_left_out(d, h, "it is not printable ASCII") < 0) {
		return -ENOMEM;
	}
	xp_buf_adds(out, " }\n");
	return 0;
}

int xp__sync_isc(const struct xp__sync_host *h, size_t n, const struct xp__sync_boot *b,
		 struct xp_buf *out, struct xp_diags *d)
{
	xp_buf_adds(out, HEADER);
	int r = 0;
	if (any_netboot(h, n)) {
		if (!*b->bios || !printable(b->bios))
			return bad_boot_file(d, "dhcpd", b->bios);
		if (!*b->efi64 || !printable(b->efi64))
			return bad_boot_file(d, "dhcpd", b->efi64);
		/* The group's statements apply to the hosts declared in it (dhcpd.conf(5)
		 * "The group statement"); conditionals may stand wherever a statement may
		 * (dhcp-eval(5)). pxe-system-type is dhcpd's name of option 93. */
		xp_buf_addf(out,
			    "group {\n"
			    "\tnext-server %s;\n"
			    "\tif exists user-class and option user-class = \"iPXE\" {\n"
			    "\t\tfilename \"%s\";\n"
			    "\t} elsif substring (option vendor-class-identifier, 0, 9) = "
			    "\"PXEClient\" {\n"
			    "\t\tif not exists pxe-system-type or option pxe-system-type = "
			    "00:00 {\n"
			    "\t\t\tfilename ",
			    b->next_server, XP__SYNC_IPXE_FILE);
		isc_string(out, b->bios);
		xp_buf_adds(out, ";\n\t\t} elsif option pxe-system-type = 00:07 or option "
				 "pxe-system-type = 00:09 {\n\t\t\tfilename ");
		isc_string(out, b->efi64);
		xp_buf_adds(out, ";\n\t\t}\n\t}\n");
		for (size_t i = 0; r == 0 && i < n; i++)
			if (h[i].netboot)
				r = isc_host(out, &h[i], "\t", d);
		xp_buf_adds(out, "}\n");
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!h[i].netboot)
			r = isc_host(out, &h[i], "", d);
	return r < 0 ? r : xp_buf_error(out);
}

/* ---- Kea ------------------------------------------------------------------------------- */

/* Appends v (taken) as one compact line of a JSON array, after a comma when not first. */
static int json_item(struct xp_buf *out, json_t *v, bool first)
{
	if (!v)
		return -ENOMEM;
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (!s)
		return -ENOMEM;
	xp_buf_addf(out, "%s\n%s", first ? "" : ",", s);
	free(s);
	return 0;
}

static int set(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

int xp__sync_kea_hosts(const struct xp__sync_host *h, size_t n, struct xp_buf *out,
		       struct xp_diags *d)
{
	/* one reservation a line, so that a checker's line number names a system */
	xp_buf_addc(out, '[');
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *o = json_object();
		if (!o)
			return -ENOMEM;
		r = set(o, "hw-address", json_string(h[i].mac));
		if (r == 0 && h[i].ip[0])
			r = set(o, "ip-address", json_string(h[i].ip));
		if (r == 0 && h[i].hostname) {
			/* jansson takes UTF-8 only */
			json_t *hn = json_string(h[i].hostname);
			if (hn && *h[i].hostname) {
				r = set(o, "hostname", hn);
			} else {
				json_decref(hn);
				r = host_name_left_out(d, &h[i],
						       hn ? "it is empty" : "it is not UTF-8");
			}
		}
		if (r == 0 && h[i].netboot)
			r = set(o, "client-classes", json_pack("[s]", XP__SYNC_KEA_CLASS));
		json_t *ctx = json_pack("{s:s}", "xenprov-system", h[i].name);
		if (r == 0)
			r = ctx ? set(o, "user-context", ctx) : -ENOMEM;
		if (r < 0) {
			json_decref(o);
			return r;
		}
		r = json_item(out, o, i == 0);
	}
	xp_buf_adds(out, n ? "\n]\n" : "]\n");
	return r < 0 ? r : xp_buf_error(out);
}

int xp__sync_kea_classes(const struct xp__sync_boot *b, struct xp_buf *out, struct xp_diags *d)
{
	json_t *bios = json_string(b->bios), *efi = json_string(b->efi64);
	if (!bios || !efi) {
		json_decref(bios);
		json_decref(efi);
		return bad_boot_file(d, "kea", !bios ? b->bios : b->efi64);
	}
	/* Classes that test KNOWN are evaluated after the host lookup, so the class the
	 * reservation gives (XP__SYNC_KEA_CLASS) is known by then (Kea ARM, "Client
	 * Classification": built-in KNOWN/UNKNOWN). A class names only classes defined
	 * before it. User class iPXE: iPXE sends the bare string; RFC 3004's form has a
	 * length byte first. */
	static const char known[] = "member('KNOWN') and member('" XP__SYNC_KEA_CLASS "')";
	static const char pxe[] = " and not member('xenprov-ipxe') and "
				  "substring(option[60].hex,0,9) == 'PXEClient'";
	char ipxe_test[256], efi_test[512], bios_test[512];
	snprintf(ipxe_test, sizeof(ipxe_test),
		 "%s and (option[77].hex == 'iPXE' or substring(option[77].hex,0,5) == "
		 "0x0469505845 or option[175].exists)",
		 known);
	snprintf(efi_test, sizeof(efi_test),
		 "%s%s and (option[93].hex == 0x0007 or option[93].hex == 0x0009)", known, pxe);
	snprintf(bios_test, sizeof(bios_test),
		 "%s%s and (not option[93].exists or option[93].hex == 0x0000)", known, pxe);
	const struct {
		const char *name, *test;
		json_t *file;
	} classes[] = {
	    {"xenprov-ipxe", ipxe_test, json_string(XP__SYNC_IPXE_FILE)},
	    {"xenprov-efi64", efi_test, json_incref(efi)},
	    {"xenprov-bios", bios_test, json_incref(bios)},
	};
	xp_buf_addc(out, '[');
	int r = json_item(out, json_pack("{s:s}", "name", XP__SYNC_KEA_CLASS), true);
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (r == 0)
			r = json_item(out,
				      json_pack("{s:s, s:s, s:s, s:O}", "name", classes[i].name,
						"test", classes[i].test, "next-server",
						b->next_server, "boot-file-name", classes[i].file),
				      false);
		json_decref(classes[i].file);
	}
	json_decref(bios);
	json_decref(efi);
	xp_buf_adds(out, "\n]\n");
	return r < 0 ? r : xp_buf_error(out);
}
