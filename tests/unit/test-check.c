/*
 * test-check.c - unit tests for the pure parts of `xenprov check` (lib/check/): the
 * sockets of /proc/net/{udp,tcp} tables, and the firewall readers, nftables' JSON and
 * iptables-legacy-save's text (the integration test plants nftables rules in a network
 * namespace; no iptables runs there), table-driven: which ports each rule set drops,
 * with what severity and fix, and the malformed inputs refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check/check-internal.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- /proc/net ---------------------------------------------------------------------- */

struct seen {
	unsigned port[8];
	unsigned long inode[8];
	size_t n;
};

static void on_socket(void *ud, unsigned port, unsigned long inode)
{
	struct seen *s = ud;
	assert_true(s->n < 8);
	s->port[s->n] = port;
	s->inode[s->n++] = inode;
}

static void test_proc_net(void **state)
{
	(void)state;
	static const char udp[] =
	    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode ref pointer drops\n"
	    /* 0.0.0.0:69, unconnected: bound */
	    "  12: 00000000:0045 00000000:0000 07 00000000:00000000 00:00000000 00000000     0   "
	    "     0 4711 2 0000000000000000 0\n"
	    /* a TFTP transfer's socket, connected to 10.0.0.5:2000: not a holder */
	    "  13: 0100000A:D431 0500000A:07D0 01 00000000:00000000 00:00000000 00000000 65534   "
	    "     0 4712 2 0000000000000000 0\n";
	struct seen s = {0};
	assert_int_equal(xp__proc_net_sockets(udp, false, on_socket, &s), 2);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.port[0], 69);
	assert_int_equal(s.inode[0], 4711);

	static const char tcp6[] =
	    "  sl  local_address                         remote_address                        st "
	    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	    /* [::]:8080 listening */
	    "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A "
	    "00000000:00000000 00:00000000 00000000     0        0 900 1 0000000000000000 100 0 0 "
	    "10 0\n"
	    /* an established connection on 8080: not a listener */
	    "   1: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:A000 01 "
	    "00000000:00000000 00:00000000 00000000     0        0 901 1 0000000000000000 20 4 30 "
	    "10 -1\n";
	memset(&s, 0, sizeof(s));
	assert_int_equal(xp__proc_net_sockets(tcp6, true, on_socket, &s), 2);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.port[0], 8080);
	assert_int_equal(s.inode[0], 900);

	/* a header alone: no sockets */
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    xp__proc_net_sockets("  sl  local_address rem_address\n", false, on_socket, &s), 0);
	/* not a table; a line that is not a socket's */
	assert_int_equal(xp__proc_net_sockets("hello\n", false, on_socket, &s), -EBADMSG);
	assert_int_equal(xp__proc_net_sockets("", false, on_socket, &s), -EBADMSG);
	assert_int_equal(xp__proc_net_sockets("  sl  local\n  0: nonsense\n", false, on_socket, &s),
			 -EBADMSG);
	assert_int_equal(s.n, 0);
}

/* ---- firewalls ----------------------------------------------------------------------- */

static const struct xp__fw_port ports[] = {
    {false, 67, XP_SEV_ERROR, "DHCP"},
    {false, 69, XP_SEV_ERROR, "TFTP"},
    {true, 80, XP_SEV_ERROR, "HTTP"},
};

/* One expected finding: its severity, subject, and a piece of its text and of its
 * fix. */
struct want {
	enum xp_severity sev;
	const char *subject, *what, *fix;
};

static void expect(const struct xp_findings *f, const struct want *w, size_t n)
{
	for (size_t i = 0; i < f->n; i++)
		print_message("  got %s: %s: %s | %s\n", xp_severity_name(f->v[i].severity),
			      f->v[i].subject, f->v[i].what, f->v[i].fix);
	assert_int_equal(f->n, n);
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < f->n && !found; k++)
			found = f->v[k].severity == w[i].sev &&
				strcmp(f->v[k].subject, w[i].subject) == 0 &&
				strstr(f->v[k].what, w[i].what) && strstr(f->v[k].fix, w[i].fix) &&
				strcmp(f->v[k].check, "firewall") == 0;
		if (!found)
			print_message("  missing %s: %s: %s | %s\n", xp_severity_name(w[i].sev),
				      w[i].subject, w[i].what, w[i].fix);
		assert_true(found);
	}
}

#define IPT_FIX67 "iptables-legacy -I INPUT -p udp --dport 67 -j ACCEPT"
#define IPT_FIX69 "iptables-legacy -I INPUT -p udp --dport 69 -j ACCEPT"

static void test_iptables(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		struct want want[4];
		size_t n;
	} cases[] = {
	    /* a policy of drop, only HTTP accepted: DHCP and TFTP dropped by the policy */
	    {"*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n"
	     "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n",
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)",
	       "the chain iptables INPUT drops UDP port 67 (DHCP) by its policy", IPT_FIX67},
	      {XP_SEV_ERROR, "UDP port 69 (TFTP)", "by its policy", IPT_FIX69}},
	     2},
	    /* a multiport range dropping both */
	    {"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -m multiport --dports 60:70,100 -j "
	     "DROP\nCOMMIT\n",
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)", "the rule 'iptables INPUT' number 1 drops",
	       IPT_FIX67},
	      {XP_SEV_ERROR, "UDP port 69 (TFTP)", "number 1 drops", IPT_FIX69}},
	     2},
	    /* a source condition: may drop */
	    {"*filter\n:INPUT ACCEPT [0:0]\n"
	     "-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 69 -j REJECT --reject-with "
	     "icmp-port-unreachable\nCOMMIT\n",
	     {{XP_SEV_WARNING, "UDP port 69 (TFTP)", "under its other conditions", IPT_FIX69}},
	     1},
	    /* established connections accepted, then the policy: not a client's first
	     * packet, so the policy drops */
	    {"*filter\n:INPUT DROP [0:0]\n-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n"
	     "-A INPUT -p tcp --dport 80 -j ACCEPT\n-A INPUT -p udp --dport 67:69 -j "
	     "ACCEPT\nCOMMIT\n",
	     {{0}},
	     0},
	    {"*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j "
	     "ACCEPT\n"
	     "-A INPUT -p tcp --dport 80 -j ACCEPT\nCOMMIT\n",
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)", "by its policy", IPT_FIX67},
	      {XP_SEV_ERROR, "UDP port 69 (TFTP)", "by its policy", IPT_FIX69}},
	     2},
	    /* everything from the boot network accepted: the policy may not drop them */
	    {"*filter\n:INPUT DROP [0:0]\n-A INPUT -i br0 -j ACCEPT\nCOMMIT\n", {{0}}, 0},
	    /* an accept that comes first wins */
	    {"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 69 -j ACCEPT\n-A INPUT -p udp "
	     "-j DROP\nCOMMIT\n",
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)", "number 2 drops", IPT_FIX67}},
	     1},
	    /* a conditional accept first: the drop after it may */
	    {"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i br0 -p udp -j ACCEPT\n-A INPUT -p udp -j "
	     "DROP\nCOMMIT\n",
	     {{XP_SEV_WARNING, "UDP port 67 (DHCP)", "unless an earlier rule's conditional accept",
	       IPT_FIX67},
	      {XP_SEV_WARNING, "UDP port 69 (TFTP)", "unless an earlier rule's conditional accept",
	       IPT_FIX69}},
	     2},
	    /* negation: every UDP port but 69 */
	    {"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp ! --dport 69 -j DROP\nCOMMIT\n",
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)", "number 1 drops", IPT_FIX67}},
	     1},
	    /* another protocol, another table, another chain, a comment: nothing */
	    {"*nat\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 67 -j DROP\nCOMMIT\n"
	     "*filter\n:INPUT ACCEPT [0:0]\n-A OUTPUT -p udp --dport 67 -j DROP\n"
	     "-A INPUT -p icmp -j DROP\n"
	     "-A INPUT -p tcp --dport 22 -m comment --comment \"ssh -j DROP\" -j DROP\nCOMMIT\n",
	     {{0}},
	     0},
	    {"", {{0}}, 0},
	};
	for (size_t i = 0; i < N(cases); i++) {
		print_message("iptables case %zu\n", i);
		struct xp_findings f = {0};
		struct xp__check_ctx c = {.out = &f};
		assert_int_equal(xp__iptables_findings(&c, cases[i].text, ports, N(ports)), 0);
		expect(&f, cases[i].want, cases[i].n);
		xp_findings_release(&f);
	}
}

/* An nftables ruleset of one base chain (family ip/inet/ip6, hook, policy) and rules
 * (each an "expr" array), as `nft -j list ruleset` prints it. */
#define NFT_HEAD(fam, hook, policy)                                                                \
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"    \
	"{\"table\": {\"family\": \"" fam "\", \"name\": \"t\", \"handle\": 1}},"                  \
	"{\"chain\": {\"family\": \"" fam "\", \"table\": \"t\", \"name\": \"c\", \"handle\": 1,"  \
	"\"type\": \"filter\", \"hook\": \"" hook "\", \"prio\": 0, \"policy\": \"" policy "\"}}"
#define NFT_RULE(fam, handle, expr)                                                                \
	",{\"rule\": {\"family\": \"" fam                                                          \
	"\", \"table\": \"t\", \"chain\": \"c\", \"handle\": " #handle ", \"expr\": [" expr "]}}"
#define NFT_END "]}"
#define DPORT(proto, right)                                                                        \
	"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"" proto "\","       \
	"\"field\": \"dport\"}}, \"right\": " right "}}"
#define DROP	"{\"drop\": null}"
#define ACCEPT	"{\"accept\": null}"
#define COUNTER "{\"counter\": {\"packets\": 0, \"bytes\": 0}}"

static void test_nft(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		struct want want[4];
		size_t n;
	} cases[] = {
	    /* an anonymous set with a range */
	    {NFT_HEAD("inet", "input", "accept")
		 NFT_RULE("inet", 4,
			  DPORT("udp", "{\"set\": [67, {\"range\": [68, 70]}]}") "," COUNTER
										 "," DROP) NFT_END,
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)", "the rule 'inet t c' (handle 4) drops",
	       "nft insert rule inet t c udp dport 67 accept"},
	      {XP_SEV_ERROR, "UDP port 69 (TFTP)", "(handle 4) drops",
	       "nft insert rule inet t c udp dport 69 accept"}},
	     2},
	    /* a named set: it may cover any port */
	    {NFT_HEAD("ip", "input", "accept")
		 NFT_RULE("ip", 5, DPORT("tcp", "\"@blocked\"") "," DROP) NFT_END,
	     {{XP_SEV_WARNING, "TCP port 80 (HTTP)", "under its other conditions",
	       "nft insert rule ip t c tcp dport 80 accept"}},
	     1},
	    /* meta l4proto udp, no port: every UDP port */
	    {NFT_HEAD("inet", "input", "accept") NFT_RULE(
		 "inet", 6,
		 "{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"l4proto\"}}, "
		 "\"right\": \"udp\"}}," DROP) NFT_END,
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)", "(handle 6) drops", "udp dport 67 accept"},
	      {XP_SEV_ERROR, "UDP port 69 (TFTP)", "(handle 6) drops", "udp dport 69 accept"}},
	     2},
	    /* policy drop; established accepted, HTTP accepted */
	    {NFT_HEAD("inet", "input", "drop")
		 NFT_RULE("inet", 7,
			  "{\"match\": {\"op\": \"in\", \"left\": {\"ct\": {\"key\": \"state\"}}, "
			  "\"right\": [\"established\", \"related\"]}}," ACCEPT)
		     NFT_RULE("inet", 8, DPORT("tcp", "80") "," ACCEPT) NFT_END,
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)",
	       "the chain 'inet t c' drops UDP port 67 (DHCP) by its policy",
	       "nft insert rule inet t c udp dport 67 accept"},
	      {XP_SEV_ERROR, "UDP port 69 (TFTP)", "by its policy", "udp dport 69 accept"}},
	     2},
	    /* policy drop with an interface accepted: may not drop */
	    {NFT_HEAD("inet", "input", "drop") NFT_RULE(
		 "inet", 9,
		 "{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"iifname\"}}, "
		 "\"right\": \"br0\"}}," ACCEPT) NFT_END,
	     {{0}},
	     0},
	    /* th dport != 69: every port but 69, either protocol */
	    {NFT_HEAD("inet", "input", "accept") NFT_RULE(
		 "inet", 10,
		 "{\"match\": {\"op\": \"!=\", \"left\": {\"payload\": {\"protocol\": \"th\", "
		 "\"field\": \"dport\"}}, \"right\": 69}}," DROP) NFT_END,
	     {{XP_SEV_ERROR, "UDP port 67 (DHCP)", "(handle 10) drops", "udp dport 67"},
	      {XP_SEV_ERROR, "TCP port 80 (HTTP)", "(handle 10) drops", "tcp dport 80"}},
	     2},
	    /* the output hook, family ip6, a jump: nothing */
	    {NFT_HEAD("inet", "output", "drop") NFT_RULE("inet", 11, DPORT("udp", "67") "," DROP)
		 NFT_END,
	     {{0}},
	     0},
	    {NFT_HEAD("ip6", "input", "drop") NFT_RULE("ip6", 12, DPORT("udp", "67") "," DROP)
		 NFT_END,
	     {{0}},
	     0},
	    {NFT_HEAD("inet", "input", "accept") NFT_RULE(
		 "inet", 13, DPORT("udp", "67") ",{\"jump\": {\"target\": \"x\"}}") NFT_END,
	     {{0}},
	     0},
	    /* an empty ruleset */
	    {"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\"}}]}", {{0}}, 0},
	};
	for (size_t i = 0; i < N(cases); i++) {
		print_message("nft case %zu\n", i);
		struct xp_findings f = {0};
		struct xp__check_ctx c = {.out = &f};
		assert_int_equal(xp__nft_findings(&c, cases[i].json, ports, N(ports)), 0);
		expect(&f, cases[i].want, cases[i].n);
		xp_findings_release(&f);
	}
	/* not nft's JSON */
	struct xp_findings f = {0};
	struct xp__check_ctx c = {.out = &f};
	assert_int_equal(xp__nft_findings(&c, "", ports, N(ports)), -EBADMSG);
	assert_int_equal(xp__nft_findings(&c, "{\"rules\": []}", ports, N(ports)), -EBADMSG);
	assert_int_equal(xp__nft_findings(&c, "[1, 2", ports, N(ports)), -EBADMSG);
	assert_int_equal(f.n, 0);
}

/* ---- findings --------------------------------------------------------------------------- */

static void test_findings(void **state)
{
	(void)state;
	struct xp_findings f = {0};
	struct xp__check_ctx c = {.out = &f};
	const char *names[] = {"a", "b", "c", "d", "e"};
	assert_int_equal(xp__check_group(&c, XP_SEV_ERROR, "netboot", "system", names, 5, "why",
					 "fix", "n=%d", 5),
			 0);
	assert_int_equal(
	    xp__check_group(&c, XP_SEV_WARNING, "netboot", "system", names, 1, NULL, NULL, "one"),
	    0);
	assert_int_equal(
	    xp__check_group(&c, XP_SEV_WARNING, "netboot", "system", names, 0, NULL, NULL, "none"),
	    0);
	assert_int_equal(
	    xp__check_group(&c, XP_SEV_NOTE, "x", "profile", names, 2, NULL, NULL, "two"), 0);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.v[0].subject, "systems 'a', 'b', 'c' and 2 more");
	assert_string_equal(f.v[0].what, "n=5");
	assert_int_equal(f.v[0].count, 5);
	assert_string_equal(f.v[1].subject, "system 'a'");
	assert_null(f.v[1].fix);
	assert_string_equal(f.v[2].subject, "profiles 'a' and 'b'");
	f.v[0].fixed = true;
	assert_int_equal(xp_findings_count(&f, XP_SEV_ERROR), 0);
	assert_int_equal(xp_findings_count(&f, XP_SEV_WARNING), 1);
	assert_int_equal(xp_findings_count(&f, XP_SEV_NOTE), 1);
	xp_findings_release(&f);
	/* the table: names and lines, in order, and nothing past the end */
	const char *name, *about;
	assert_true(xp_check_info(0, &name, &about));
	assert_string_equal(name, "server");
	size_t n = 0;
	while (xp_check_info(n, &name, &about))
		n++;
	assert_true(n >= 15);
	assert_false(xp_check_info(n, &name, &about));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proc_net),
	    cmocka_unit_test(test_iptables),
	    cmocka_unit_test(test_nft),
	    cmocka_unit_test(test_findings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
