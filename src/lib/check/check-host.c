/*
 * check-host.c - the checks of the boot server's place on this host: its addresses
 * (server, next-server), its TFTP root, its DHCP pools, and the toolstack guests are
 * run by. Cobbler's check_name (server and next_server not 127.0.0.1) and
 * check_tftpd_dir (the TFTP directory exists), taken further: an address must be one
 * of this host's, and the root must be readable by the user the server runs as.
 *
 * Not here: boot loaders (check-loaders.c), ports and firewalls (check-ports.c,
 * check-firewall.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check/check-internal.h"
#include "xenprov/toolstack.h"

/* ---- server, next-server -------------------------------------------------------------- */

static bool loopback(uint32_t a)
{
	return (a >> 24) == 127; /* RFC 1122 3.2.1.3: 127.0.0.0/8 */
}

/* The address to suggest for server: this host's first that is not loopback. */
static void suggest(const struct xp__check_ctx *c, char out[16])
{
	snprintf(out, 16, "ADDRESS");
	for (size_t i = 0; i < c->nlocal; i++)
		if (!c->local_loopback[i] && !loopback(c->local[i])) {
			uint32_t a = c->local[i];
			snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
				 a & 255);
			return;
		}
}

int xp__check_server(struct xp__check_ctx *c)
{
	char addr[16], fix[160];
	suggest(c, addr);
	snprintf(fix, sizeof(fix), "xenprov settings set server %s", addr);
	const char *server = xp_settings_get(&c->settings, "server");
	uint32_t a;
	int r = 0;
	if (!server)
		r = xp__check_add(c, XP_SEV_ERROR, "server", "setting 'server'",
				  "xenprov serve does not start without it: it is the address "
				  "clients fetch their boot files and menus from",
				  fix, "the boot server's address is not set");
	else if (!xp__check_ipv4(server, &a))
		r = xp__check_add(c, XP_SEV_ERROR, "server", "setting 'server'", NULL, fix,
				  "'%s' is not an IPv4 address", server);
	else if (loopback(a))
		r = xp__check_add(c, XP_SEV_ERROR, "server", "setting 'server'",
				  "clients on the network cannot reach a loopback address: every "
				  "boot menu, iPXE script and installer would point them at "
				  "themselves",
				  fix, "server is %s, a loopback address", server);
	else if (!xp__check_is_local(c, a))
		r = xp__check_add(c, XP_SEV_ERROR, "server", "setting 'server'",
				  "the server answers from its own addresses: clients told to "
				  "fetch boot files from another machine's address never reach "
				  "this one",
				  fix, "server %s is not an address of this host's interfaces",
				  server);
	if (r < 0)
		return r;

	/* next-server: only when set apart from server (it follows server otherwise) */
	const char *next = xp_settings_get(&c->settings, "next-server");
	if (!next || xp_settings_get(&c->defaulted, "next-server") ||
	    (server && strcmp(next, server) == 0))
		return 0;
	if (!xp__check_ipv4(next, &a))
		return 0; /* the settings store refuses it */
	if (loopback(a))
		return xp__check_add(c, XP_SEV_ERROR, "server", "setting 'next-server'",
				     "PXE clients load their boot loader from next-server: a "
				     "loopback address is each client itself",
				     "xenprov settings unset next-server",
				     "next-server is %s, a loopback address", next);
	if (!xp__check_is_local(c, a))
		return xp__check_add(c, XP_SEV_WARNING, "server", "setting 'next-server'",
				     "PXE clients load their boot loader and menus from that other "
				     "machine's TFTP server, not from xenprov serve: right only if "
				     "that server has them",
				     "xenprov settings unset next-server",
				     "next-server %s is not an address of this host", next);
	return 0;
}

/* ---- the TFTP root ---------------------------------------------------------------------- */

/* The user xenprov serve runs as by default (serve.h: `xenprov` if it exists, else it
 * stays root with its capabilities dropped, reading everything root can). */
#define SERVE_USER "xenprov"

/* Whether the server's default user may read (and, for a directory, search) a file
 * with status st; true when there is no such user (the server then stays root). The
 * mode bits as the kernel applies them: owner, else group (primary or
 * supplementary), else others. */
bool xp__check_serve_can_read(const struct stat *st, const char **user)
{
	*user = SERVE_USER;
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];
	if (getpwnam_r(SERVE_USER, &pwbuf, buf, sizeof(buf), &pw) != 0 || !pw || pw->pw_uid == 0)
		return true;
	mode_t want = S_ISDIR(st->st_mode) ? 05 : 04; /* r-x for a directory, r-- else */
	if (st->st_uid == pw->pw_uid)
		return ((st->st_mode >> 6) & want) == want;
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		if (groups[i] == st->st_gid)
			return ((st->st_mode >> 3) & want) == want;
	return (st->st_mode & want) == want;
}

int xp__check_tftp_root(struct xp__check_ctx *c)
{
	const char *root = c->tftp_root;
	if (!root)
		return 0;
	char subject[4200], fix[4300];
	snprintf(subject, sizeof(subject), "%s", root);
	struct stat st;
	if (stat(root, &st) < 0) {
		int e = errno;
		snprintf(fix, sizeof(fix), "mkdir -p %s", root);
		return xp__check_add(c, XP_SEV_ERROR, "tftp-root", subject,
				     "xenprov serve opens its TFTP root at start and reads every "
				     "boot loader and plain boot file from it",
				     e == ENOENT ? fix : NULL, "the TFTP root %s%s",
				     e == ENOENT ? "does not exist" : "cannot be read: ",
				     e == ENOENT ? "" : strerror(e));
	}
	if (!S_ISDIR(st.st_mode))
		return xp__check_add(c, XP_SEV_ERROR, "tftp-root", subject,
				     "the boot server serves the files beneath a directory",
				     "xenprov settings set tftp-root DIR",
				     "the TFTP root is not a directory");
	if (xp_inv_root_check(c->inv, root) == -EACCES)
		return xp__check_add(
		    c, XP_SEV_ERROR, "tftp-root", subject,
		    "serving it would hand the inventory (password hashes) and the "
		    "API token to anyone on the boot network; xenprov serve refuses "
		    "to start",
		    "xenprov settings set tftp-root /srv/tftp",
		    "the TFTP root is or holds the state directory '%s'", xp_inv_state_dir(c->inv));
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(fix, sizeof(fix), "chmod a+rx %s", root);
		return xp__check_add(c, XP_SEV_ERROR, "tftp-root", subject,
				     "xenprov serve could not read its boot files",
				     e == EACCES ? fix : NULL, "the TFTP root cannot be opened: %s",
				     strerror(e));
	}
	close(fd);
	const char *user;
	if (!xp__check_serve_can_read(&st, &user)) {
		snprintf(fix, sizeof(fix), "chmod a+rx %s", root);
		return xp__check_add(c, XP_SEV_ERROR, "tftp-root", subject,
				     "xenprov serve reads boot files as that user once its sockets "
				     "are bound: every request would be refused",
				     fix, "the TFTP root is not readable by the user '%s'", user);
	}
	return 0;
}

/* ---- pools -------------------------------------------------------------------------------- */

int xp__check_pools(struct xp__check_ctx *c)
{
	const char *proxy = xp__check_setting(c, "proxy-dhcp");
	if (proxy && strcmp(proxy, "on") == 0)
		return 0; /* another DHCP server hands out addresses */
	struct xp_server_pool *pv = NULL;
	size_t np = 0;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_server_pools(&c->settings, &pv, &np, &d);
	if (r == -EINVAL) {
		r = 0;
		for (size_t i = 0; r == 0 && i < d.n; i++) {
			const char *key = d.v[i].code ? d.v[i].code : "pool";
			char fix[200];
			/* a whole key names the value to set; a pool's name, its range first */
			if (strncmp(key, "pool.", 5) != 0 || strchr(key + 5, '.'))
				snprintf(fix, sizeof(fix), "xenprov settings set %s VALUE", key);
			else
				snprintf(fix, sizeof(fix),
					 "xenprov settings set %s.range FIRST-LAST", key);
			char subject[200];
			snprintf(subject, sizeof(subject), "setting '%s'", key);
			r = xp__check_add(c, XP_SEV_ERROR, "pools", subject,
					  "xenprov serve does not start with a pool it cannot use",
					  d.v[i].hint ? d.v[i].hint : fix, "%s", d.v[i].msg);
		}
	} else if (r == 0 && np == 0) {
		r = xp__check_add(
		    c, XP_SEV_WARNING, "pools", "settings 'pool.*'",
		    "with proxy-dhcp off and no pool, the DHCP server gives no client an "
		    "address (reservations need a pool's subnet): nothing netboots "
		    "from it",
		    "xenprov settings set pool.lan.range FIRST-LAST; xenprov settings "
		    "set pool.lan.netmask MASK (or, beside another DHCP server: "
		    "xenprov settings set proxy-dhcp on)",
		    "no DHCP address pool is set");
	}
	xp_server_pools_free(pv, np);
	xp_diags_release(&d);
	return r;
}

/* ---- the toolstack ------------------------------------------------------------------------ */

int xp__check_toolstack(struct xp__check_ctx *c)
{
	struct xp_xl *xl;
	int r = xp_xl_open(c->opts->xl, &xl);
	if (r < 0)
		return r;
	r = xp_xl_refresh(xl);
	const char *why = "deploy makes guests' disks and configs without it, but 'domain "
			  "start', 'xl create' and the guests' lifecycle need Xen's toolstack "
			  "in dom0";
	if (r == -ENOENT)
		r = xp__check_add(c, XP_SEV_WARNING, "toolstack", "xl", why,
				  "apt-get install xen-system-amd64, then reboot into Xen",
				  "Xen's xl is not installed (or $" XP_XL_ENV " names no program)");
	else if (r == -EIO)
		r = xp__check_add(c, XP_SEV_WARNING, "toolstack", xp_xl_program(xl), why,
				  "boot this host into Xen (its GRUB entry 'Debian GNU/Linux, with "
				  "Xen hypervisor'), then: systemctl start xen",
				  "the toolstack does not answer: %s", xp_xl_why(xl));
	else if (r == -EBADMSG)
		r = xp__check_add(c, XP_SEV_WARNING, "toolstack", xp_xl_program(xl),
				  "xenprov reads which guests run from xl's JSON; with another "
				  "format every guest's state is unknown",
				  "set output_format=\"json\" in /etc/xen/xl.conf", "%s",
				  xp_xl_why(xl));
	else if (r < 0 && r != -ENOMEM)
		r = xp__check_add(c, XP_SEV_WARNING, "toolstack", xp_xl_program(xl), why, NULL,
				  "the toolstack cannot be asked: %s", strerror(-r));
	xp_xl_free(xl);
	return r;
}
