/*
 * check-internal.h - what the checks of `xenprov check` share: the context each check
 * runs with and the helpers that add findings.
 *
 * Adding a check: write `int xp__check_NAME(struct xp__check_ctx *c)` in a file of its
 * own under src/lib/check/ (it adds findings with xp__check_add or xp__check_group and
 * returns 0, or -errno only when it could not run at all), declare it below, and add
 * one row {name, about, function} to the table `checks` in check.c: its place there is
 * its place in the output. The inventory is in c->snap (read once, set-based; never
 * query per record in a check), the server settings in force in c->settings.
 */
#ifndef XP_CHECK_INTERNAL_H
#define XP_CHECK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "xenprov/check.h"
#include "xenprov/inventory-snapshot.h"

struct xp__check_ctx {
	struct xp_inv *inv;
	const struct xp_check_opts *opts;
	struct xp_findings *out;
	const struct xp_inv_snapshot *snap;
	struct xp_settings settings;  /* in force: stored, else defaults */
	struct xp_settings defaulted; /* those of settings that are defaults */
	const char *tftp_root;	      /* the one in force (borrowed from settings) */
	/* this host's IPv4 addresses (host order), from every interface */
	uint32_t *local;
	bool *local_loopback; /* local[i] is on a loopback interface */
	size_t nlocal;
};

/* Adds a finding (xp_finding_add). */
int xp__check_add(struct xp__check_ctx *c, enum xp_severity sev, const char *check,
		  const char *subject, const char *why, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Adds one finding about n records of kind ("system", "profile"...) whose names are
 * names[0..n): subject "systems 'a', 'b', 'c' and 7 more" (the first few), count n.
 * what is a printf format. Nothing when n is 0. */
int xp__check_group(struct xp__check_ctx *c, enum xp_severity sev, const char *check,
		    const char *kind, const char *const *names, size_t n, const char *why,
		    const char *fix, const char *fmt, ...) __attribute__((format(printf, 9, 10)));

/* The setting key in force (c->settings), NULL when neither stored nor defaulted. */
const char *xp__check_setting(const struct xp__check_ctx *c, const char *key);
/* A dotted quad, host order; false if s is not one. */
bool xp__check_ipv4(const char *s, uint32_t *out);
/* addr is one of this host's addresses. */
bool xp__check_is_local(const struct xp__check_ctx *c, uint32_t addr);
/* Whether xenprov serve's default user (`xenprov`, *user) may read a file of status st
 * (search too, for a directory), by its mode bits; true when there is no such user
 * (the server then stays root). check-host.c. */
bool xp__check_serve_can_read(const struct stat *st, const char **user);

/* ---- the checks, in the order of the table (check.c) ---------------------------------- */

/* server and next-server: set, not loopback, an address of this host (check-host.c) */
int xp__check_server(struct xp__check_ctx *c);
/* the TFTP root: there, a directory, readable, not the state directory (check-host.c) */
int xp__check_tftp_root(struct xp__check_ctx *c);
/* the boot loaders each firmware path loads, and --fix (check-loaders.c) */
int xp__check_loaders(struct xp__check_ctx *c);
/* the DHCP pools as a whole (check-host.c) */
int xp__check_pools(struct xp__check_ctx *c);
/* ports 67, 69, 4011 and the HTTP port: free or xenprov serve's (check-ports.c) */
int xp__check_ports(struct xp__check_ctx *c);
/* nftables and iptables rules that drop those ports (check-firewall.c) */
int xp__check_firewall(struct xp__check_ctx *c);
/* profiles: their distro, image, kernel and ramdisk there (check-inventory.c) */
int xp__check_profiles(struct xp__check_ctx *c);
/* distros: their files still in the store (check-inventory.c) */
int xp__check_distros(struct xp__check_ctx *c);
/* systems that cannot netboot (check-inventory.c) */
int xp__check_netboot(struct xp__check_ctx *c);
/* systems marked to install themselves without a reservation; kernel options with the
 * server's xenprov.* arguments (check-inventory.c) */
int xp__check_install(struct xp__check_ctx *c);
/* reservations against the pools; MACs and addresses held twice (check-inventory.c) */
int xp__check_addresses(struct xp__check_ctx *c);
/* domains left half made (check-inventory.c) */
int xp__check_domains(struct xp__check_ctx *c);
/* root passwords everyone knows (check-inventory.c) */
int xp__check_passwords(struct xp__check_ctx *c);
/* profiles whose golden image is published to anyone: publish-image open
 * (check-inventory.c) */
int xp__check_published(struct xp__check_ctx *c);
/* the programs the profiles need on this host (check-inventory.c) */
int xp__check_tools(struct xp__check_ctx *c);
/* every xl config of the config directories, as `config check --host` (check-configs.c) */
int xp__check_configs(struct xp__check_ctx *c);
/* the toolstack deploy and domain start use (check-host.c) */
int xp__check_toolstack(struct xp__check_ctx *c);

/* ---- pure parts, apart for the unit tests ------------------------------------------------ */

/* One socket of /proc/net/{udp,tcp}[6]: local port and inode, of the lines that are
 * bound and not connected (UDP: remote port 0; TCP: LISTEN). Calls fn for each;
 * returns the number of lines read, or -EBADMSG for a table that is not one. */
int xp__proc_net_sockets(const char *text, bool tcp,
			 void (*fn)(void *ud, unsigned port, unsigned long inode), void *ud);

/* A port a firewall must let in. */
struct xp__fw_port {
	bool tcp;
	unsigned port;
	enum xp_severity sev; /* of a finding about it */
	const char *what;     /* "DHCP", "TFTP", ... */
};
/* The findings about ports[] in `nft -j list ruleset`'s JSON (json, NUL-terminated):
 * rules of the input hook's chains (families ip and inet) that drop or reject one, and
 * chains whose policy drops what no rule accepts. -EBADMSG if it is not nft's JSON. */
int xp__nft_findings(struct xp__check_ctx *c, const char *json, const struct xp__fw_port *ports,
		     size_t n);
/* The same for `iptables-legacy-save -t filter`'s text: the INPUT chain. */
int xp__iptables_findings(struct xp__check_ctx *c, const char *text,
			  const struct xp__fw_port *ports, size_t n);

#endif
