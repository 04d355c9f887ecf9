/*
 * check-firewall.c - firewall rules that drop what xenprov serve must receive: UDP 67
 * (DHCP), 69 (TFTP), 4011 (ProxyDHCP, when on) and the HTTP port. Cobbler's
 * check_iptables only says "since iptables may be running, ensure 69, 80/443 are
 * unblocked"; here the rules themselves are read: nftables' (`nft -j list ruleset`,
 * its JSON read with jansson) and, where the legacy iptables tables are loaded,
 * `iptables-legacy-save -t filter` (iptables-nft's rules are nftables rules and appear
 * in the first).
 *
 * What is read, for each base chain of the input hook (nftables families ip and inet;
 * iptables' INPUT), rule by rule in order, per port: a rule applies when its protocol
 * and destination port matches cover the port; a drop or reject that applies with no
 * other condition (source, interface, connection state...) drops the port unless an
 * unconditional accept came first (an error); with other conditions, or after a
 * conditional accept, it may (a warning); a chain whose policy is drop drops the port
 * when no rule that applies accepts it (an error), unless a conditional accept might
 * (no finding: an `iifname "br0" accept` is how many sites let their boot network in).
 * Jumps into other chains are not followed, named sets are not expanded (a rule on
 * one is conditional): what cannot be decided is never an error.
 *
 * Not here: who holds the ports (check-ports.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check-internal.h"

#define MAX_RANGES 64

/* A rule, read from either firewall into what the walk needs. */
struct fw_rule {
	int proto;     /* 0: any, 6: TCP, 17: UDP, -1: another protocol only */
	bool has_port; /* it matches on the destination port */
	bool negated;  /* ... with != (not in the ranges) */
	bool port_any; /* ... against a set we cannot read: it may cover any port */
	unsigned lo[MAX_RANGES], hi[MAX_RANGES];
	size_t nranges;
	bool cond;	/* other conditions than protocol and port */
	bool never_new; /* it matches only packets of known connections (ct state
			   established, related...): never a client's first packet */
	enum { V_NONE, V_ACCEPT, V_DROP } verdict;
	char id[160]; /* how the finding names it: "inet filter input handle 5" */
};

struct fw_chain {
	char name[160];	  /* "inet filter input", "iptables INPUT" */
	char insert[200]; /* the fix's command up to the match: "nft insert rule inet
			     filter input" */
	bool iptables;
	bool policy_drop;
};

/* Whether rule r applies to the port: 1 always (but for its other conditions), 0
 * never, 2 maybe (a set we cannot read). */
static int applies(const struct fw_rule *r, const struct xp__fw_port *p)
{
	int proto = p->tcp ? 6 : 17;
	if (r->proto == -1 || (r->proto && r->proto != proto))
		return 0;
	if (!r->has_port)
		return 1;
	if (r->port_any)
		return 2;
	bool in = false;
	for (size_t i = 0; i < r->nranges && !in; i++)
		in = p->port >= r->lo[i] && p->port <= r->hi[i];
	return in != r->negated;
}

/* "the KIND NAME drops PROTO port N (WHAT)TAIL", with the rule that lets it in as the
 * fix. */
static int finding(struct xp__check_ctx *c, const struct fw_chain *ch, const struct xp__fw_port *p,
		   enum xp_severity sev, const char *kind, const char *name, const char *tail)
{
	char subject[220], fix[300], why[300];
	const char *proto = p->tcp ? "tcp" : "udp";
	snprintf(subject, sizeof(subject), "%s port %u (%s)", p->tcp ? "TCP" : "UDP", p->port,
		 p->what);
	if (ch->iptables)
		snprintf(fix, sizeof(fix), "%s -p %s --dport %u -j ACCEPT", ch->insert, proto,
			 p->port);
	else
		snprintf(fix, sizeof(fix), "%s %s dport %u accept", ch->insert, proto, p->port);
	snprintf(why, sizeof(why),
		 "clients' %s packets never reach xenprov serve: machines that boot from the "
		 "network wait for an answer that does not come",
		 p->what);
	return xp__check_add(c, sev, "firewall", subject, why, fix,
			     "the %s %s drops %s port %u (%s)%s", kind, name,
			     p->tcp ? "TCP" : "UDP", p->port, p->what, tail);
}

/* Walks one input chain's rules for each port, adding findings. */
static int walk(struct xp__check_ctx *c, const struct fw_chain *ch, const struct fw_rule *v,
		size_t n, const struct xp__fw_port *ports, size_t nports)
{
	int r = 0;
	for (size_t k = 0; r == 0 && k < nports; k++) {
		const struct xp__fw_port *p = &ports[k];
		bool maybe = false, done = false;
		for (size_t i = 0; r == 0 && i < n && !done; i++) {
			int a = applies(&v[i], p);
			if (a == 0 || v[i].verdict == V_NONE || v[i].never_new)
				continue;
			bool cond = v[i].cond || a == 2;
			if (v[i].verdict == V_ACCEPT) {
				if (!cond)
					done = true;
				else
					maybe = true;
				continue;
			}
			/* a drop or reject */
			if (!cond) {
				r = finding(c, ch, p, maybe ? XP_SEV_WARNING : p->sev, "rule",
					    v[i].id,
					    maybe ? " unless an earlier rule's conditional accept "
						    "lets it in"
						  : "");
				done = true;
			} else if (v[i].has_port) {
				r = finding(c, ch, p, XP_SEV_WARNING, "rule", v[i].id,
					    " under its other conditions");
			}
		}
		if (r == 0 && !done && !maybe && ch->policy_drop)
			r = finding(c, ch, p, p->sev, "chain", ch->name,
				    " by its policy: no rule accepts it");
	}
	return r;
}

/* ---- nftables ----------------------------------------------------------------------- */

static bool port_value(json_t *v, bool tcp, unsigned *out)
{
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 0 || n > 65535)
			return false;
		*out = (unsigned)n;
		return true;
	}
	if (json_is_string(v)) {
		/* a service name, as nft prints it without -n */
		struct servent *se = getservbyname(json_string_value(v), tcp ? "tcp" : "udp");
		if (se) {
			*out = ntohs((uint16_t)se->s_port);
			return true;
		}
	}
	return false;
}

/* The right side of a dport match into r's ranges: a number, a range, an anonymous
 * set of both; a named set ("@name") or anything else may cover any port. */
static void nft_ports(json_t *right, bool tcp, struct fw_rule *r)
{
	json_t *set = json_is_object(right) ? json_object_get(right, "set") : NULL;
	size_t n = set && json_is_array(set) ? json_array_size(set) : 1;
	for (size_t i = 0; i < n; i++) {
		json_t *e = set ? json_array_get(set, i) : right;
		json_t *range = json_is_object(e) ? json_object_get(e, "range") : NULL;
		unsigned lo, hi;
		if (range && json_array_size(range) == 2 &&
		    port_value(json_array_get(range, 0), tcp, &lo) &&
		    port_value(json_array_get(range, 1), tcp, &hi)) {
		} else if (port_value(e, tcp, &lo)) {
			hi = lo;
		} else {
			r->port_any = true;
			continue;
		}
		if (r->nranges < MAX_RANGES) {
			r->lo[r->nranges] = lo;
			r->hi[r->nranges++] = hi;
		} else {
			r->port_any = true;
		}
	}
}

static int proto_number(json_t *v)
{
	const char *s = json_string_value(v);
	if (s)
		return strcmp(s, "udp") == 0 ? 17 : strcmp(s, "tcp") == 0 ? 6 : -1;
	if (json_is_integer(v))
		return json_integer_value(v) == 17 ? 17 : json_integer_value(v) == 6 ? 6 : -1;
	return 0; /* a set of protocols: not narrowed */
}

/* Whether a conntrack state match's right side (a name, or a set of names) admits new
 * connections. */
static bool admits_new(json_t *right)
{
	json_t *set = json_is_object(right) ? json_object_get(right, "set") : right;
	if (json_is_string(set))
		return strcmp(json_string_value(set), "new") == 0;
	size_t i;
	json_t *e;
	json_array_foreach(set, i, e)
	{
		if (json_is_string(e) && strcmp(json_string_value(e), "new") == 0)
			return true;
	}
	return !json_is_array(set); /* not read: it may */
}

/* One rule's expressions into r. */
static void nft_rule(json_t *expr, struct fw_rule *r)
{
	size_t i;
	json_t *st;
	json_array_foreach(expr, i, st)
	{
		const char *kind = NULL;
		json_t *body = NULL;
		void *it = json_object_iter(st);
		if (it) {
			kind = json_object_iter_key(it);
			body = json_object_iter_value(it);
		}
		if (!kind)
			continue;
		if (strcmp(kind, "accept") == 0) {
			r->verdict = V_ACCEPT;
			break;
		}
		if (strcmp(kind, "drop") == 0 || strcmp(kind, "reject") == 0) {
			r->verdict = V_DROP;
			break;
		}
		if (strcmp(kind, "jump") == 0 || strcmp(kind, "goto") == 0 ||
		    strcmp(kind, "return") == 0 || strcmp(kind, "queue") == 0)
			break; /* not followed */
		if (strcmp(kind, "counter") == 0 || strcmp(kind, "log") == 0 ||
		    strcmp(kind, "comment") == 0)
			continue;
		if (strcmp(kind, "match") != 0) {
			r->cond = true;
			continue;
		}
		const char *op = json_string_value(json_object_get(body, "op"));
		json_t *left = json_object_get(body, "left"),
		       *right = json_object_get(body, "right");
		json_t *payload = json_object_get(left, "payload");
		json_t *meta = json_object_get(left, "meta");
		json_t *ct = json_object_get(left, "ct");
		const char *ctkey = json_string_value(json_object_get(ct, "key"));
		const char *field = json_string_value(json_object_get(payload, "field"));
		const char *pproto = json_string_value(json_object_get(payload, "protocol"));
		bool eq = op && (strcmp(op, "==") == 0 || strcmp(op, "in") == 0);
		bool ne = op && strcmp(op, "!=") == 0;
		if (ctkey && strcmp(ctkey, "state") == 0 && (eq || (op && strcmp(op, "&") == 0))) {
			/* `ct state established,related accept`: not a client's first packet */
			if (!admits_new(right))
				r->never_new = true;
		} else if (field && pproto && strcmp(field, "dport") == 0 && (eq || ne) &&
			   (strcmp(pproto, "udp") == 0 || strcmp(pproto, "tcp") == 0 ||
			    strcmp(pproto, "th") == 0)) {
			if (strcmp(pproto, "th") != 0) {
				int pn = strcmp(pproto, "udp") == 0 ? 17 : 6;
				if (r->proto && r->proto != pn)
					r->proto = -1;
				else
					r->proto = pn;
			}
			r->has_port = true;
			r->negated = ne;
			nft_ports(right, r->proto == 6, r);
		} else if (eq && ((meta && json_string_value(json_object_get(meta, "key")) &&
				   strcmp(json_string_value(json_object_get(meta, "key")),
					  "l4proto") == 0) ||
				  (field && pproto && strcmp(field, "protocol") == 0 &&
				   strcmp(pproto, "ip") == 0))) {
			int pn = proto_number(right);
			if (pn && r->proto && r->proto != pn)
				r->proto = -1;
			else if (pn)
				r->proto = pn;
		} else {
			r->cond = true;
		}
	}
}

static bool input_chain(json_t *chain)
{
	const char *family = json_string_value(json_object_get(chain, "family"));
	const char *hook = json_string_value(json_object_get(chain, "hook"));
	const char *type = json_string_value(json_object_get(chain, "type"));
	return family && hook && (strcmp(family, "ip") == 0 || strcmp(family, "inet") == 0) &&
	       strcmp(hook, "input") == 0 && (!type || strcmp(type, "filter") == 0);
}

static bool same_chain(json_t *rule, json_t *chain)
{
	static const char *const keys[] = {"family", "table", "name"};
	static const char *const rkeys[] = {"family", "table", "chain"};
	for (size_t i = 0; i < 3; i++) {
		const char *a = json_string_value(json_object_get(rule, rkeys[i]));
		const char *b = json_string_value(json_object_get(chain, keys[i]));
		if (!a || !b || strcmp(a, b) != 0)
			return false;
	}
	return true;
}

int xp__nft_findings(struct xp__check_ctx *c, const char *json, const struct xp__fw_port *ports,
		     size_t n)
{
	json_error_t je;
	json_t *doc = json_loads(json, 0, &je);
	json_t *list = json_object_get(doc, "nftables");
	if (!json_is_array(list)) {
		json_decref(doc);
		return -EBADMSG;
	}
	int r = 0;
	size_t i, cap = 0;
	json_t *item;
	struct fw_rule *rules = NULL;
	json_array_foreach(list, i, item)
	{
		json_t *chain = json_object_get(item, "chain");
		if (r < 0 || !chain || !input_chain(chain))
			continue;
		struct fw_chain ch = {0};
		const char *fam = json_string_value(json_object_get(chain, "family"));
		const char *tab = json_string_value(json_object_get(chain, "table"));
		const char *name = json_string_value(json_object_get(chain, "name"));
		const char *policy = json_string_value(json_object_get(chain, "policy"));
		if (!tab || !name)
			continue;
		snprintf(ch.name, sizeof(ch.name), "'%s %s %s'", fam, tab, name);
		snprintf(ch.insert, sizeof(ch.insert), "nft insert rule %s %s %s", fam, tab, name);
		ch.policy_drop = policy && strcmp(policy, "drop") == 0;
		size_t nr = 0, j;
		json_t *other;
		json_array_foreach(list, j, other)
		{
			json_t *rule = json_object_get(other, "rule");
			if (!rule || !same_chain(rule, chain))
				continue;
			if (xp_grow(&rules, &cap, nr, sizeof(*rules), 16) < 0) {
				r = -ENOMEM;
				break;
			}
			struct fw_rule *fr = &rules[nr++];
			memset(fr, 0, sizeof(*fr));
			nft_rule(json_object_get(rule, "expr"), fr);
			snprintf(fr->id, sizeof(fr->id), "'%s %s %s' (handle %lld)", fam, tab, name,
				 (long long)json_integer_value(json_object_get(rule, "handle")));
		}
		if (r == 0)
			r = walk(c, &ch, rules, nr, ports, n);
	}
	free(rules);
	json_decref(doc);
	return r;
}

/* ---- iptables (legacy) ---------------------------------------------------------------- */

/* Splits a line of iptables-save into words (double quotes group, as it writes
 * comments). At most max words; returns how many. */
static size_t words(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (*p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			w[n++] = ++p;
			while (*p && *p != '"')
				p += p[0] == '\\' && p[1] ? 2 : 1;
		} else {
			w[n++] = p;
			while (*p && *p != ' ' && *p != '\t')
				p++;
		}
		if (*p)
			*p++ = 0;
	}
	return n;
}

/* "69", "67:69", "67,69,100:200" into r's ranges. */
static void ipt_ports(const char *s, struct fw_rule *r)
{
	while (*s) {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;
		if (end == s) {
			r->port_any = true;
			return;
		}
		if (*end == ':') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (end == s)
				hi = 65535;
		}
		if (r->nranges < MAX_RANGES) {
			r->lo[r->nranges] = (unsigned)lo;
			r->hi[r->nranges++] = (unsigned)hi;
		}
		s = *end == ',' ? end + 1 : end + strlen(end);
	}
}

int xp__iptables_findings(struct xp__check_ctx *c, const char *text,
			  const struct xp__fw_port *ports, size_t n)
{
	char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	struct fw_chain ch = {.iptables = true};
	snprintf(ch.name, sizeof(ch.name), "iptables INPUT");
	snprintf(ch.insert, sizeof(ch.insert), "iptables-legacy -I INPUT");
	struct fw_rule *rules = NULL;
	size_t nr = 0, cap = 0;
	bool filter = false;
	int r = 0;
	for (char *line = strtok(copy, "\n"); line && r == 0; line = strtok(NULL, "\n")) {
		if (line[0] == '*') {
			filter = strcmp(line, "*filter") == 0;
			continue;
		}
		if (!filter)
			continue;
		if (strncmp(line, ":INPUT ", 7) == 0) {
			ch.policy_drop = strncmp(line + 7, "DROP", 4) == 0;
			continue;
		}
		if (strncmp(line, "-A INPUT ", 9) != 0)
			continue;
		char *w[128];
		size_t nw = words(line + 9, w, 128);
		if (xp_grow(&rules, &cap, nr, sizeof(*rules), 16) < 0) {
			r = -ENOMEM;
			break;
		}
		struct fw_rule *fr = &rules[nr];
		memset(fr, 0, sizeof(*fr));
		snprintf(fr->id, sizeof(fr->id), "'iptables INPUT' number %zu", nr + 1);
		nr++;
		bool neg = false;
		for (size_t i = 0; i < nw; i++) {
			const char *o = w[i];
			const char *arg = i + 1 < nw ? w[i + 1] : "";
			if (strcmp(o, "!") == 0) {
				neg = true;
				continue;
			}
			if (strcmp(o, "-p") == 0 || strcmp(o, "--protocol") == 0) {
				int pn = strcmp(arg, "udp") == 0   ? 17
					 : strcmp(arg, "tcp") == 0 ? 6
								   : -1;
				fr->proto = neg ? (pn == -1 ? 0 : -1) : pn;
				if (neg && pn != -1)
					fr->cond = true; /* "! -p udp": every other protocol */
				i++;
			} else if (strcmp(o, "--dport") == 0 ||
				   strcmp(o, "--destination-port") == 0 ||
				   strcmp(o, "--dports") == 0 ||
				   strcmp(o, "--destination-ports") == 0) {
				fr->has_port = true;
				fr->negated = neg;
				ipt_ports(arg, fr);
				i++;
			} else if (strcmp(o, "-j") == 0 || strcmp(o, "--jump") == 0) {
				fr->verdict =
				    strcmp(arg, "ACCEPT") == 0 ? V_ACCEPT
				    : strcmp(arg, "DROP") == 0 || strcmp(arg, "REJECT") == 0
					? V_DROP
					: V_NONE;
				i++;
			} else if (strcmp(o, "-m") == 0 || strcmp(o, "--match") == 0) {
				i++; /* a module: its own options say what it matches */
			} else if (strcmp(o, "--state") == 0 || strcmp(o, "--ctstate") == 0) {
				/* ESTABLISHED,RELATED: never a client's first packet */
				if (!neg && !strstr(arg, "NEW"))
					fr->never_new = true;
				i++;
			} else if (o[0] == '-') {
				/* another match: an option and its argument(s) */
				if (strcmp(o, "-c") != 0 && strcmp(o, "--comment") != 0)
					fr->cond = true;
				while (i + 1 < nw && w[i + 1][0] != '-' &&
				       strcmp(w[i + 1], "!") != 0)
					i++;
			}
			neg = false;
		}
	}
	if (r == 0)
		r = walk(c, &ch, rules, nr, ports, n);
	free(rules);
	free(copy);
	return r;
}

/* ---- the check ----------------------------------------------------------------------- */

/* Runs program's listing (argv after the program) and hands its output to read; what
 * cannot be run or read is a note (not root, most likely). 0 or -ENOMEM. */
static int read_rules(struct xp__check_ctx *c, char *program, char *const *args, const char *what,
		      int (*read)(struct xp__check_ctx *, const char *, const struct xp__fw_port *,
				  size_t),
		      const struct xp__fw_port *ports, size_t np)
{
	char *argv[8] = {program};
	for (size_t i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	struct xp_buf out = XP_BUF_INIT, err = XP_BUF_INIT;
	int e = xp_spawn_capture(argv, &out, 64u << 20, &err);
	if (e == 0)
		e = read(c, xp_buf_str(&out), ports, np);
	int r = e == -ENOMEM ? e : 0;
	if (e != 0 && e != -ENOMEM)
		r = xp__check_add(c, XP_SEV_NOTE, "firewall", what, NULL,
				  "run 'xenprov check' as root", "cannot read the %s rules: %s",
				  what,
				  e > 0 ? (err.len ? xp_buf_str(&err) : "the listing failed")
				  : e == -EBADMSG ? "not the listing expected"
						  : strerror(-e));
	xp_buf_release(&out);
	xp_buf_release(&err);
	return r;
}

int xp__check_firewall(struct xp__check_ctx *c)
{
	const char *proxy = xp__check_setting(c, "proxy-dhcp");
	const char *http = xp__check_setting(c, "http-port");
	struct xp__fw_port ports[4] = {
	    {false, 67, XP_SEV_ERROR, "DHCP"},
	    {false, 69, XP_SEV_ERROR, "TFTP"},
	    {true, http ? (unsigned)strtoul(http, NULL, 10) : 80, XP_SEV_ERROR, "HTTP"},
	    {false, 4011, XP_SEV_ERROR, "ProxyDHCP"},
	};
	size_t np = proxy && strcmp(proxy, "on") == 0 ? 4 : 3;
	int r = 0;
	char *nft = NULL, *names = NULL, *ipt = NULL;
	if (xp_program_path("nft", &nft) == 0)
		r = read_rules(c, nft, (char *const[]){"-j", "list", "ruleset", NULL}, "nftables",
			       xp__nft_findings, ports, np);
	/* the legacy tables, only where loaded (reading them as iptables-legacy-save does
	 * would load the module) */
	size_t len;
	if (r == 0 && xp_read_file("/proc/net/ip_tables_names", 4096, &names, &len) == 0 &&
	    strstr(names, "filter") && xp_program_path("iptables-legacy-save", &ipt) == 0)
		r = read_rules(c, ipt, (char *const[]){"-t", "filter", NULL}, "iptables",
			       xp__iptables_findings, ports, np);
	free(nft);
	free(ipt);
	free(names);
	return r;
}
