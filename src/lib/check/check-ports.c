/*
 * check-ports.c - the ports xenprov serve binds: UDP 67 (DHCP), 69 (TFTP), 4011
 * (ProxyDHCP) and the HTTP port (setting http-port, 80 by default): free, or held by
 * xenprov serve itself. Another DHCP or TFTP server on the same host (dnsmasq,
 * tftpd-hpa, isc-dhcp-server: what Cobbler's check_service and check_dhcpd_bin look
 * for) keeps xenprov serve from starting. Cobbler checks that cobblerd runs; a
 * xenprov serve that runs nowhere is a note.
 *
 * Who holds a port: the sockets of /proc/net/{udp,tcp}[6] (this network namespace's)
 * bound to it, matched by inode with the sockets in /proc/PID/fd; a process whose
 * argv is `xenprov serve ...` is the server. Without the right to read another user's
 * /proc/PID/fd (not root), a holder may stay unknown: a warning, not an error.
 *
 * Not here: firewalls (check-firewall.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check-internal.h"

int xp__proc_net_sockets(const char *text, bool tcp,
			 void (*fn)(void *ud, unsigned port, unsigned long inode), void *ud)
{
	const char *nl = strchr(text, '\n');
	if (strncmp(text + strspn(text, " "), "sl", 2) != 0 || !nl)
		return -EBADMSG;
	int lines = 0;
	for (const char *p = nl + 1; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		char local[80], remote[80];
		unsigned st;
		unsigned long inode;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(p, " %*s %79s %79s %x %*s %*s %*s %*s %*s %lu", local, remote, &st,
			   &inode) != 4)
			return -EBADMSG;
		const char *lp = strrchr(local, ':'), *rp = strrchr(remote, ':');
		if (!lp || !rp)
			return -EBADMSG;
		unsigned port = (unsigned)strtoul(lp + 1, NULL, 16);
		unsigned rport = (unsigned)strtoul(rp + 1, NULL, 16);
		lines++;
		/* TCP_LISTEN is 10 (include/net/tcp_states.h); a UDP socket that is not
		 * connected has no remote port (a TFTP transfer's socket has one) */
		if (tcp ? st == 10 : rport == 0)
			fn(ud, port, inode);
	}
	return lines;
}

/* A port to look at and what holds it. */
struct port {
	unsigned port;
	bool tcp;
	const char *what;
	enum xp_severity sev; /* of a finding that another program holds it */
	const char *why;      /* what that costs */
	unsigned long inode[16];
	size_t ninode;
};

struct ports {
	struct port *v;
	size_t n;
	bool tcp; /* the table being read */
};

static void collect(void *ud, unsigned port, unsigned long inode)
{
	struct ports *ps = ud;
	for (size_t i = 0; i < ps->n; i++) {
		struct port *p = &ps->v[i];
		if (p->tcp == ps->tcp && p->port == port && p->ninode < 16)
			p->inode[p->ninode++] = inode;
	}
}

/* A process that holds a socket: its pid, name, systemd unit (from its cgroup), and
 * whether it is xenprov serve. */
struct holder {
	unsigned long inode;
	long pid;
	bool serve;
	char comm[64];
	char unit[128];
};

static void read_small(const char *path, char *buf, size_t size, size_t *len)
{
	*len = 0;
	FILE *f = fopen(path, "re");
	if (!f) {
		buf[0] = 0;
		return;
	}
	*len = fread(buf, 1, size - 1, f);
	buf[*len] = 0;
	fclose(f);
}

static void describe(struct holder *h)
{
	char path[64], buf[4096];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", h->pid);
	read_small(path, buf, sizeof(buf), &len);
	/* argv[0] NUL argv[1] NUL ...: `xenprov serve` whatever xenprov's path */
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	size_t a0 = strlen(buf);
	h->serve =
	    strcmp(base, "xenprov") == 0 && a0 + 1 < len && strcmp(buf + a0 + 1, "serve") == 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", h->pid);
	read_small(path, h->comm, sizeof(h->comm), &len);
	h->comm[strcspn(h->comm, "\n")] = 0;
	/* "0::/system.slice/dnsmasq.service" (cgroup v2; v1 has more lines) */
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", h->pid);
	read_small(path, buf, sizeof(buf), &len);
	h->unit[0] = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *last = strrchr(line, '/');
		size_t n = last ? strlen(last + 1) : 0;
		if (n > 8 && strcmp(last + 1 + n - 8, ".service") == 0 && n < sizeof(h->unit)) {
			memcpy(h->unit, last + 1, n + 1);
			break;
		}
	}
}

/* The processes holding any of the inodes in ps: one walk over /proc/PID/fd. */
static int find_holders(const struct ports *ps, struct holder **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	size_t cap = 0;
	DIR *proc = opendir("/proc");
	if (!proc)
		return -errno;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(proc))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char fddir[300];
		snprintf(fddir, sizeof(fddir), "/proc/%s/fd", de->d_name);
		DIR *fds = opendir(fddir);
		if (!fds)
			continue; /* gone, or another user's */
		struct dirent *fe;
		while (r == 0 && (fe = readdir(fds))) {
			char link[600], target[64];
			snprintf(link, sizeof(link), "%s/%s", fddir, fe->d_name);
			ssize_t n = readlink(link, target, sizeof(target) - 1);
			if (n < 9 || strncmp(target, "socket:[", 8) != 0)
				continue;
			target[n] = 0;
			unsigned long inode = strtoul(target + 8, NULL, 10);
			bool wanted = false;
			for (size_t i = 0; i < ps->n && !wanted; i++)
				for (size_t k = 0; k < ps->v[i].ninode && !wanted; k++)
					wanted = ps->v[i].inode[k] == inode;
			if (!wanted)
				continue;
			if (xp_grow(out, &cap, *nout, sizeof(**out), 8) < 0) {
				r = -ENOMEM;
				break;
			}
			struct holder *h = &(*out)[(*nout)++];
			memset(h, 0, sizeof(*h));
			h->inode = inode;
			h->pid = strtol(de->d_name, NULL, 10);
			describe(h);
		}
		closedir(fds);
	}
	closedir(proc);
	if (r < 0) {
		free(*out);
		*out = NULL;
		*nout = 0;
	}
	return r;
}

static int read_tables(struct ports *ps)
{
	static const struct {
		const char *path;
		bool tcp;
	} tables[] = {{"/proc/net/udp", false},
		      {"/proc/net/udp6", false},
		      {"/proc/net/tcp", true},
		      {"/proc/net/tcp6", true}};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char *text = NULL;
		size_t len;
		int r = xp_read_file(tables[i].path, 64u << 20, &text, &len);
		if (r == -ENOENT)
			continue; /* no IPv6 */
		if (r < 0)
			return r;
		ps->tcp = tables[i].tcp;
		r = xp__proc_net_sockets(text, tables[i].tcp, collect, ps);
		free(text);
		if (r < 0)
			return r;
	}
	return 0;
}

int xp__check_ports(struct xp__check_ctx *c)
{
	const char *proxy = xp__check_setting(c, "proxy-dhcp");
	bool proxy_on = proxy && strcmp(proxy, "on") == 0;
	const char *http = xp__check_setting(c, "http-port");
	struct port v[] = {
	    {67,
	     false,
	     "DHCP",
	     XP_SEV_ERROR,
	     "xenprov serve cannot bind it and does not start; two DHCP servers on one network "
	     "also hand out the same addresses",
	     {0},
	     0},
	    {69,
	     false,
	     "TFTP",
	     XP_SEV_ERROR,
	     "xenprov serve cannot bind it and does not start: PXE clients load their boot "
	     "loader over TFTP",
	     {0},
	     0},
	    {http ? (unsigned)strtoul(http, NULL, 10) : 80,
	     true,
	     "HTTP",
	     XP_SEV_ERROR,
	     "xenprov serve cannot bind it and does not start: iPXE clients load their kernels "
	     "and scripts over HTTP, and the API is there",
	     {0},
	     0},
	    {4011,
	     false,
	     "ProxyDHCP",
	     proxy_on ? XP_SEV_ERROR : XP_SEV_WARNING,
	     proxy_on ? "in ProxyDHCP mode xenprov serve answers PXE clients on it and does not "
			"start without it"
		      : "xenprov serve binds it when proxy-dhcp is set on, and could not then",
	     {0},
	     0},
	};
	struct ports ps = {.v = v, .n = sizeof(v) / sizeof(v[0])};
	int r = read_tables(&ps);
	if (r < 0)
		return xp__check_add(c, XP_SEV_WARNING, "ports", "/proc/net", NULL, NULL,
				     "cannot read which ports are in use: %s", strerror(-r));
	struct holder *h = NULL;
	size_t nh = 0;
	bool any = false;
	for (size_t i = 0; i < ps.n; i++)
		any |= v[i].ninode > 0;
	if (any && (r = find_holders(&ps, &h, &nh)) < 0)
		return r;
	bool serve_seen = false, any_unknown = false;
	for (size_t i = 0; r == 0 && i < ps.n; i++) {
		struct port *p = &v[i];
		char subject[64];
		snprintf(subject, sizeof(subject), "%s port %u (%s)", p->tcp ? "TCP" : "UDP",
			 p->port, p->what);
		bool unknown = false, other = false;
		for (size_t k = 0; r == 0 && k < p->ninode; k++) {
			const struct holder *who = NULL;
			for (size_t j = 0; j < nh && !who; j++)
				if (h[j].inode == p->inode[k])
					who = &h[j];
			if (!who) {
				unknown = true;
				continue;
			}
			if (who->serve) {
				serve_seen = true;
				continue;
			}
			if (other)
				continue; /* one finding a port: its first other holder */
			other = true;
			char fix[300], unit[160] = "";
			if (who->unit[0]) {
				snprintf(fix, sizeof(fix), "systemctl disable --now %s", who->unit);
				snprintf(unit, sizeof(unit), ", %s", who->unit);
			} else {
				snprintf(fix, sizeof(fix), "kill %ld", who->pid);
			}
			r = xp__check_add(
			    c, p->sev, "ports", subject, p->why, fix,
			    "%s port %u is held by %s (pid %ld%s), not by xenprov serve",
			    p->tcp ? "TCP" : "UDP", p->port, who->comm, who->pid, unit);
		}
		any_unknown |= unknown;
		if (r == 0 && unknown && !other)
			r = xp__check_add(c, XP_SEV_WARNING, "ports", subject, p->why,
					  "run 'xenprov check' as root to see which program it is",
					  "%s port %u is held by a process this user cannot see",
					  p->tcp ? "TCP" : "UDP", p->port);
	}
	free(h);
	if (r == 0 && !serve_seen && !any_unknown)
		r = xp__check_add(c, XP_SEV_NOTE, "ports", "xenprov serve",
				  "machines that boot from the network get no answer until it runs",
				  "systemctl enable --now xenprov-serve",
				  "xenprov serve is not running in this network namespace");
	return r;
}
