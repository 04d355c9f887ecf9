/*
 * test-sync-include.c - unit tests for the include files `xenprov sync` writes for a
 * site's DHCP server (src/lib/sync/dhcp-include.c): the hosts taken from systems (MAC
 * spellings made canonical, addresses read strictly, the host name chosen), dnsmasq's,
 * dhcpd's and Kea's text byte for byte, the per-firmware boot files as `xenprov serve`
 * decides them (BIOS pxelinux.0, x86-64 UEFI, the iPXE script), escaping, names that
 * would be read as syntax left out with a warning, boot file names a format cannot
 * carry refused, and subnets.
 *
 * Pure: no files, no programs. Whether the servers themselves take these files is
 * test-sync.c's business (their own checkers) and the integration tests' (real
 * servers handing out the addresses).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "sync/sync-internal.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct xp__sync_boot boot = {
    .next_server = "10.0.0.1", .bios = "pxelinux.0", .efi64 = "ipxe.efi"};

static struct xp_system sys(const char *name, const char *mac, const char *ip, const char *hostname,
			    bool netboot)
{
	return (struct xp_system){.name = (char *)name,
				  .mac = (char *)mac,
				  .ip = (char *)ip,
				  .hostname = (char *)hostname,
				  .netboot = netboot};
}

static void test_host_from(void **st)
{
	(void)st;
	struct xp_diags d = {0};
	struct xp__sync_host h;
	/* MAC spellings: canonical lower case with ':' */
	struct xp_system s = sys("web01", "52-54-00-AB-CD-EF", "10.0.0.5", NULL, true);
	assert_int_equal(xp__sync_host_from(&s, &h, &d), 0);
	assert_string_equal(h.mac, "52:54:00:ab:cd:ef");
	assert_string_equal(h.ip, "10.0.0.5");
	assert_string_equal(h.hostname, "web01"); /* no hostname: the system's name */
	assert_true(h.netboot);
	s = sys("web02", "52:54:00:AB:CD:01", NULL, "www.example.org", false);
	assert_int_equal(xp__sync_host_from(&s, &h, &d), 0);
	assert_string_equal(h.mac, "52:54:00:ab:cd:01");
	assert_string_equal(h.ip, "");
	assert_string_equal(h.hostname, "www.example.org");
	assert_false(h.netboot);
	assert_int_equal(d.n, 0);
	/* rows written behind the inventory's back: left out, with a warning each */
	static const char *const bad_mac[] = {"52:54:00:ab:cd", "52:54:00:ab:cd:zz",
					      "5254.00ab.cdef", "52:54-00:ab:cd:ef", ""};
	for (size_t i = 0; i < N(bad_mac); i++) {
		s = sys("x", bad_mac[i], NULL, NULL, true);
		assert_int_equal(xp__sync_host_from(&s, &h, &d), 1);
	}
	static const char *const bad_ip[] = {"10.0.0.300", "10.0.0.05", "10.0.0", " 10.0.0.5",
					     "10.0.0.5 ",  "::1",	"ten"};
	for (size_t i = 0; i < N(bad_ip); i++) {
		s = sys("x", "52:54:00:00:00:01", bad_ip[i], NULL, true);
		assert_int_equal(xp__sync_host_from(&s, &h, &d), 1);
	}
	assert_int_equal(d.n, N(bad_mac) + N(bad_ip));
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	assert_string_equal(d.v[0].code, "mac");
	assert_string_equal(d.v[N(bad_mac)].code, "ip");
	assert_non_null(strstr(d.v[N(bad_mac)].msg, "'10.0.0.300' does not read"));
	xp_diags_release(&d);
}

/* Two hosts: one netbooting with an address, one with netboot off and no address. */
static void two_hosts(struct xp__sync_host h[2])
{
	memset(h, 0, 2 * sizeof(*h));
	h[0] = (struct xp__sync_host){.name = "alpha",
				      .mac = "52:54:00:aa:00:01",
				      .ip = "10.0.0.50",
				      .hostname = "alpha",
				      .netboot = true};
	h[1] = (struct xp__sync_host){
	    .name = "beta.lab", .mac = "52:54:00:aa:00:02", .hostname = "beta.example.org"};
}

#define HEADER                                                                                     \
	"# Written by xenprov sync (xenprov-sync(1)): host reservations and PXE boot files\n"      \
	"# of the inventory's systems. Each sync replaces this file whole: do not edit it;\n"      \
	"# change the inventory and run xenprov sync.\n"

static void test_dnsmasq(void **st)
{
	(void)st;
	struct xp__sync_host h[2];
	two_hosts(h);
	struct xp_buf out = XP_BUF_INIT;
	struct xp_diags d = {0};
	assert_int_equal(xp__sync_dnsmasq(h, 2, &boot, &out, &d), 0);
	/* serve's choice: iPXE the script of its MAC; a PXE ROM with no architecture or
	 * 0 the BIOS file, 7 or 9 the UEFI file, any other nothing; netboot off nothing */
	assert_string_equal(
	    xp_buf_str(&out),
	    HEADER "dhcp-vendorclass=set:xenprov-pxe,PXEClient\n"
		   "dhcp-userclass=set:xenprov-ipxe,iPXE\n"
		   "dhcp-match=set:xenprov-ipxe,175\n"
		   "dhcp-match=set:xenprov-arch,option:client-arch\n"
		   "dhcp-match=set:xenprov-bios,option:client-arch,0\n"
		   "dhcp-match=set:xenprov-efi64,option:client-arch,7\n"
		   "dhcp-match=set:xenprov-efi64,option:client-arch,9\n"
		   "dhcp-boot=tag:xenprov-netboot,tag:xenprov-ipxe,ipxe/01-${netX/mac:hexhyp},,"
		   "10.0.0.1\n"
		   "dhcp-boot=tag:xenprov-netboot,tag:!xenprov-ipxe,tag:xenprov-pxe,tag:xenprov-"
		   "efi64,ipxe.efi,,10.0.0.1\n"
		   "dhcp-boot=tag:xenprov-netboot,tag:!xenprov-ipxe,tag:xenprov-pxe,tag:xenprov-"
		   "bios,pxelinux.0,,10.0.0.1\n"
		   "dhcp-boot=tag:xenprov-netboot,tag:!xenprov-ipxe,tag:xenprov-pxe,tag:!xenprov-"
		   "arch,pxelinux.0,,10.0.0.1\n"
		   "dhcp-host=52:54:00:aa:00:01,set:xenprov-netboot,10.0.0.50,alpha\n"
		   "dhcp-host=52:54:00:aa:00:02,beta.example.org\n");
	assert_int_equal(d.n, 0);
	/* the same input, the same bytes (an unchanged inventory writes nothing) */
	struct xp_buf again = XP_BUF_INIT;
	assert_int_equal(xp__sync_dnsmasq(h, 2, &boot, &again, &d), 0);
	assert_string_equal(xp_buf_str(&again), xp_buf_str(&out));
	xp_buf_release(&again);
	/* no netbooting host: no PXE lines (and no next server needed) */
	xp_buf_release(&out);
	struct xp__sync_boot none = {.bios = "pxelinux.0", .efi64 = "ipxe.efi"};
	assert_int_equal(xp__sync_dnsmasq(&h[1], 1, &none, &out, &d), 0);
	assert_string_equal(xp_buf_str(&out),
			    HEADER "dhcp-host=52:54:00:aa:00:02,beta.example.org\n");
	xp_buf_release(&out);
	xp_diags_release(&d);
}

static void test_dnsmasq_host_names(void **st)
{
	(void)st;
	/* dnsmasq reads a dhcp-host field by its form: these would be something else,
	 * or cannot be written at all; each is left out with a warning, the reservation
	 * stays */
	static const char *const left_out[] = {
	    "a b", "a,b",      "a#b",  "a\"b",	   "a\nb",   "",      "45m",   "3600",
	    "2h",  "10.0.0.9", "10.1", "infinite", "ignore", "tag:x", "set:x", "id:x"};
	for (size_t i = 0; i < N(left_out); i++) {
		struct xp__sync_host h = {.name = "s",
					  .mac = "52:54:00:00:00:01",
					  .ip = "10.0.0.9",
					  .hostname = left_out[i]};
		struct xp_buf out = XP_BUF_INIT;
		struct xp_diags d = {0};
		assert_int_equal(xp__sync_dnsmasq(&h, 1, &boot, &out, &d), 0);
		assert_string_equal(xp_buf_str(&out),
				    HEADER "dhcp-host=52:54:00:00:00:01,10.0.0.9\n");
		assert_int_equal(d.n, 1);
		assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
		assert_string_equal(d.v[0].code, "hostname");
		assert_non_null(strstr(d.v[0].msg, "system 's': its host name is not handed out"));
		xp_buf_release(&out);
		xp_diags_release(&d);
	}
	/* names of these characters are written as they are: what dnsmasq thinks of
	 * them ("-bad" it refuses) is its checker's to say */
	static const char *const written[] = {"web_01", "web-01", "-bad", "a.b.c",
					      "x45m",	"45mx",	  "h2o"};
	for (size_t i = 0; i < N(written); i++) {
		struct xp__sync_host h = {
		    .name = "s", .mac = "52:54:00:00:00:01", .hostname = written[i]};
		struct xp_buf out = XP_BUF_INIT;
		struct xp_diags d = {0};
		char want[256];
		snprintf(want, sizeof(want), HEADER "dhcp-host=52:54:00:00:00:01,%s\n", written[i]);
		assert_int_equal(xp__sync_dnsmasq(&h, 1, &boot, &out, &d), 0);
		assert_string_equal(xp_buf_str(&out), want);
		assert_int_equal(d.n, 0);
		xp_buf_release(&out);
		xp_diags_release(&d);
	}
}

static void test_boot_file_refused(void **st)
{
	(void)st;
	struct xp__sync_host h = {.name = "s", .mac = "52:54:00:00:00:01", .netboot = true};
	/* a dnsmasq field ends at ',' and a '#' after a blank starts a comment */
	static const char *const bad[] = {"a,b.0", "a#b", "a\"b", "a'b"};
	for (size_t i = 0; i < N(bad); i++) {
		struct xp__sync_boot b = boot;
		b.efi64 = bad[i];
		struct xp_buf out = XP_BUF_INIT;
		struct xp_diags d = {0};
		assert_int_equal(xp__sync_dnsmasq(&h, 1, &b, &out, &d), -EINVAL);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].code, "boot-file");
		assert_string_equal(d.v[0].text, bad[i]);
		xp_buf_release(&out);
		xp_diags_release(&d);
	}
	/* dhcpd's strings are quoted: those are fine there; control bytes are not */
	struct xp__sync_boot b = boot;
	b.bios = "a,b#c'.0";
	struct xp_buf out = XP_BUF_INIT;
	struct xp_diags d = {0};
	assert_int_equal(xp__sync_isc(&h, 1, &b, &out, &d), 0);
	assert_non_null(strstr(xp_buf_str(&out), "filename \"a,b#c'.0\";"));
	xp_buf_release(&out);
	b.bios = "a\tb";
	assert_int_equal(xp__sync_isc(&h, 1, &b, &out, &d), -EINVAL);
	assert_string_equal(d.v[0].code, "boot-file");
	xp_buf_release(&out);
	xp_diags_release(&d);
}

static void test_isc(void **st)
{
	(void)st;
	struct xp__sync_host h[2];
	two_hosts(h);
	struct xp_buf out = XP_BUF_INIT;
	struct xp_diags d = {0};
	assert_int_equal(xp__sync_isc(h, 2, &boot, &out, &d), 0);
	assert_string_equal(
	    xp_buf_str(&out), HEADER
	    "group {\n"
	    "\tnext-server 10.0.0.1;\n"
	    "\tif exists user-class and option user-class = \"iPXE\" {\n"
	    "\t\tfilename \"ipxe/01-${netX/mac:hexhyp}\";\n"
	    "\t} elsif substring (option vendor-class-identifier, 0, 9) = \"PXEClient\" {\n"
	    "\t\tif not exists pxe-system-type or option pxe-system-type = 00:00 {\n"
	    "\t\t\tfilename \"pxelinux.0\";\n"
	    "\t\t} elsif option pxe-system-type = 00:07 or option pxe-system-type = 00:09 {\n"
	    "\t\t\tfilename \"ipxe.efi\";\n"
	    "\t\t}\n"
	    "\t}\n"
	    "\thost xenprov-alpha { hardware ethernet 52:54:00:aa:00:01; fixed-address "
	    "10.0.0.50; option host-name \"alpha\"; }\n"
	    "}\n"
	    "host xenprov-beta_2elab { hardware ethernet 52:54:00:aa:00:02; option host-name "
	    "\"beta.example.org\"; }\n");
	assert_int_equal(d.n, 0);
	xp_buf_release(&out);
	xp_diags_release(&d);
}

static void test_isc_escapes(void **st)
{
	(void)st;
	/* a declaration's name: letters, digits and '-' kept, any other byte _XX; two
	 * names never give one */
	struct xp__sync_host h[] = {
	    {.name = "a.b", .mac = "52:54:00:00:00:01", .hostname = "q\"uote\\d"},
	    {.name = "a_2eb", .mac = "52:54:00:00:00:02", .hostname = "tab\there"},
	    {.name = "A-z9", .mac = "52:54:00:00:00:03", .hostname = "\xc3\xa9t\xc3\xa9"},
	};
	struct xp_buf out = XP_BUF_INIT;
	struct xp_diags d = {0};
	assert_int_equal(xp__sync_isc(h, N(h), &boot, &out, &d), 0);
	assert_string_equal(xp_buf_str(&out), HEADER
			    "host xenprov-a_2eb { hardware ethernet 52:54:00:00:00:01; option "
			    "host-name \"q\\\"uote\\\\d\"; }\n"
			    "host xenprov-a_5f2eb { hardware ethernet 52:54:00:00:00:02; }\n"
			    "host xenprov-A-z9 { hardware ethernet 52:54:00:00:00:03; }\n");
	/* not printable ASCII: the name is left out, with a warning each */
	assert_int_equal(d.n, 2);
	assert_non_null(strstr(d.v[0].msg, "system 'a_2eb'"));
	assert_non_null(strstr(d.v[1].msg, "system 'A-z9'"));
	xp_buf_release(&out);
	xp_diags_release(&d);
}

static void test_kea_hosts(void **st)
{
	(void)st;
	struct xp__sync_host h[3];
	two_hosts(h);
	h[2] = (struct xp__sync_host){.name = "gamma",
				      .mac = "52:54:00:aa:00:03",
				      .ip = "10.0.0.52",
				      .hostname = "bad\xff",
				      .netboot = true};
	struct xp_buf out = XP_BUF_INIT;
	struct xp_diags d = {0};
	assert_int_equal(xp__sync_kea_hosts(h, 3, &out, &d), 0);
	/* one reservation a line: a checker's line number names a system */
	assert_string_equal(
	    xp_buf_str(&out),
	    "[\n"
	    "{\"hw-address\":\"52:54:00:aa:00:01\",\"ip-address\":\"10.0.0.50\",\"hostname\":"
	    "\"alpha\",\"client-classes\":[\"xenprov-netboot\"],\"user-context\":{\"xenprov-"
	    "system\":\"alpha\"}},\n"
	    "{\"hw-address\":\"52:54:00:aa:00:02\",\"hostname\":\"beta.example.org\",\"user-"
	    "context\":{\"xenprov-system\":\"beta.lab\"}},\n"
	    "{\"hw-address\":\"52:54:00:aa:00:03\",\"ip-address\":\"10.0.0.52\",\"client-"
	    "classes\":[\"xenprov-netboot\"],\"user-context\":{\"xenprov-system\":\"gamma\"}}\n"
	    "]\n");
	/* not UTF-8: no hostname, a warning */
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "system 'gamma'"));
	json_error_t err;
	json_t *v = json_loads(xp_buf_str(&out), 0, &err);
	assert_non_null(v);
	assert_int_equal(json_array_size(v), 3);
	json_decref(v);
	xp_buf_release(&out);
	/* none: an empty array, still JSON */
	assert_int_equal(xp__sync_kea_hosts(h, 0, &out, &d), 0);
	assert_string_equal(xp_buf_str(&out), "[]\n");
	xp_buf_release(&out);
	xp_diags_release(&d);
}

static const char *class_field(json_t *a, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(a, i), key));
}

static void test_kea_classes(void **st)
{
	(void)st;
	struct xp_buf out = XP_BUF_INIT;
	struct xp_diags d = {0};
	assert_int_equal(xp__sync_kea_classes(&boot, &out, &d), 0);
	json_error_t err;
	json_t *a = json_loads(xp_buf_str(&out), 0, &err);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 4);
	/* the reservations' class first: a class names only classes defined before it */
	assert_string_equal(class_field(a, 0, "name"), "xenprov-netboot");
	assert_null(class_field(a, 0, "test"));
	static const char *const names[] = {"xenprov-ipxe", "xenprov-efi64", "xenprov-bios"};
	static const char *const files[] = {"ipxe/01-${netX/mac:hexhyp}", "ipxe.efi", "pxelinux.0"};
	static const char *const tests[] = {
	    "member('KNOWN') and member('xenprov-netboot') and (option[77].hex == 'iPXE' or "
	    "substring(option[77].hex,0,5) == 0x0469505845 or option[175].exists)",
	    "member('KNOWN') and member('xenprov-netboot') and not member('xenprov-ipxe') and "
	    "substring(option[60].hex,0,9) == 'PXEClient' and (option[93].hex == 0x0007 or "
	    "option[93].hex == 0x0009)",
	    "member('KNOWN') and member('xenprov-netboot') and not member('xenprov-ipxe') and "
	    "substring(option[60].hex,0,9) == 'PXEClient' and (not option[93].exists or "
	    "option[93].hex == 0x0000)"};
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(class_field(a, i + 1, "name"), names[i]);
		assert_string_equal(class_field(a, i + 1, "boot-file-name"), files[i]);
		assert_string_equal(class_field(a, i + 1, "next-server"), "10.0.0.1");
		assert_string_equal(class_field(a, i + 1, "test"), tests[i]);
	}
	json_decref(a);
	assert_int_equal(d.n, 0);
	xp_buf_release(&out);
	xp_diags_release(&d);
}

static void test_cidr(void **st)
{
	(void)st;
	uint32_t net, mask;
	assert_true(xp__sync_cidr_parse("10.0.0.0/24", &net, &mask));
	assert_int_equal(net, 0x0a000000);
	assert_int_equal(mask, 0xffffff00);
	assert_true(xp__sync_cidr_parse("0.0.0.0/0", &net, &mask));
	assert_int_equal(mask, 0);
	assert_true(xp__sync_cidr_parse("10.1.2.3/32", &net, &mask));
	assert_int_equal(mask, 0xffffffff);
	static const char *const bad[] = {"10.0.0.1/24", "10.0.0.0/33", "10.0.0.0", "10.0.0.0/",
					  "10.0.0.0/2a", "10.0.0/24",	"/24",	    "10.0.0.0/024"};
	for (size_t i = 0; i < N(bad); i++)
		assert_false(xp__sync_cidr_parse(bad[i], &net, &mask));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_from),
	    cmocka_unit_test(test_dnsmasq),
	    cmocka_unit_test(test_dnsmasq_host_names),
	    cmocka_unit_test(test_boot_file_refused),
	    cmocka_unit_test(test_isc),
	    cmocka_unit_test(test_isc_escapes),
	    cmocka_unit_test(test_kea_hosts),
	    cmocka_unit_test(test_kea_classes),
	    cmocka_unit_test(test_cidr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
