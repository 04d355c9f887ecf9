/*
 * pxeboot.c - the domU network bootloader's steps: DHCP for the guest's MAC, the
 * pxelinux config looked for as pxelinux looks (proto/pxelinux-net.c) over TFTP or
 * HTTP, read with the project's pxelinux reader, the label chosen as an unattended
 * pxelinux chooses it, its kernel and initrds fetched; LOCALBOOT through local.c.
 *
 * Not here: sockets and fetching (dhcp-run.c, fetch.c), the files handed to libxl
 * (pxeboot-out.c), the arguments libxl passes (src/cmd/cmd-pxeboot.c).
 *
 * Where names are fetched from (pxelinux(1) "CURRENT DIRECTORY"): the boot server
 * (--server, else option 66, else siaddr, else the DHCP server) and the path prefix
 * (option 210, else the boot file's directory); a boot file that is an http:// URL
 * makes its directory the base, as lpxelinux does, and --http asks for HTTP from the
 * boot server or from a given URL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pxeboot/pxeboot-internal.h"
#include "xenprov/dhcp.h"
#include "xenprov/pxelinux.h"

struct xp_pxeboot {
	struct xp_pxeboot_opts o;
	bool local_only;
	int fd; /* the DHCP socket */
	struct xp_dhcp_client *dhcp;
	bool bound;
	struct xp_pxelinux_cfg cfg;
	bool have_cfg;
	struct xp__pxe_local local;
	bool have_local;
	char *base, *config, *label, *menu_label, *kernel, *args;
	char **initrds;
	size_t n_initrds;
	struct xp_pxeboot_plan plan;
};

static void say(struct xp_pxeboot *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct xp_pxeboot *p, const char *fmt, ...)
{
	if (!p->o.log)
		return;
	va_list ap;
	va_start(ap, fmt);
	p->o.log(p->o.log_ctx, fmt, ap);
	va_end(ap);
}

static const char *ip_str(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

static int alloc(const struct xp_pxeboot_opts *o, bool local, struct xp_pxeboot **ret)
{
	struct xp_pxeboot *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->o = *o;
	p->local_only = local;
	p->fd = -1;
	*ret = p;
	return 0;
}

int xp_pxeboot_new(const struct xp_pxeboot_opts *o, struct xp_pxeboot **ret, struct xp_diags *d)
{
	*ret = NULL;
	if (xp_mac_is_zero(&o->mac) || xp_mac_is_multicast(&o->mac))
		return xp_diags_fail(d, -EINVAL, NULL, "mac", NULL,
				     "the guest's MAC must be a unicast address, not zero");
	if (o->blksize && (o->blksize < XP_TFTP_BLKSIZE_MIN || o->blksize > XP_TFTP_BLKSIZE_MAX))
		return xp_diags_fail(d, -EINVAL, NULL, "blksize", NULL,
				     "the TFTP block size must be 8 to 65464");
	if (o->windowsize > XP_TFTP_WINDOW_MAX)
		return xp_diags_fail(d, -EINVAL, NULL, "windowsize", NULL,
				     "the TFTP window size must be 1 to 65535");
	struct xp_pxeboot *p;
	int r = alloc(o, false, &p);
	if (r < 0)
		return r;
	uint16_t port = o->dhcp_port ? o->dhcp_port : XP_DHCP_SERVER_PORT;
	p->fd = xp__pxe_dhcp_socket(o->interface, (uint16_t)(port + 1), d);
	if (p->fd < 0) {
		r = p->fd;
		free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int xp_pxeboot_new_local(const struct xp_pxeboot_opts *o, struct xp_pxeboot **ret,
			 struct xp_diags *d)
{
	*ret = NULL;
	if (!o->disk || !*o->disk)
		return xp_diags_fail(d, -EINVAL, NULL, "disk", NULL, "no disk to boot from");
	return alloc(o, true, ret);
}

static void release_plan(struct xp_pxeboot *p)
{
	free(p->base), free(p->config), free(p->label), free(p->menu_label), free(p->kernel),
	    free(p->args);
	for (size_t i = 0; i < p->n_initrds; i++)
		free(p->initrds[i]);
	free(p->initrds);
	p->base = p->config = p->label = p->menu_label = p->kernel = p->args = NULL;
	p->initrds = NULL;
	p->n_initrds = 0;
}

void xp_pxeboot_free(struct xp_pxeboot *p)
{
	if (!p)
		return;
	if (p->bound) {
		const struct xp_dhcp_client_lease *l = xp_dhcp_client_lease(p->dhcp);
		char a[16];
		if (p->o.keep_lease)
			say(p, "keeping the lease of %s (--keep-lease)", ip_str(l->ip, a));
		else if (p->plan.keeps_lease)
			say(p, "keeping the lease of %s: the guest was given it (IPAPPEND 1)",
			    ip_str(l->ip, a));
		else if (xp__pxe_dhcp_release(p->fd, p->dhcp,
					      p->o.dhcp_port ? p->o.dhcp_port : XP_DHCP_SERVER_PORT) == 0)
			say(p, "released %s", ip_str(l->ip, a));
		else
			say(p, "warning: could not send the RELEASE of %s", ip_str(l->ip, a));
	}
	if (p->fd >= 0)
		close(p->fd);
	xp_dhcp_client_free(p->dhcp);
	if (p->have_cfg)
		xp_pxelinux_cfg_release(&p->cfg);
	if (p->have_local)
		xp__pxe_local_free(&p->local);
	release_plan(p);
	free(p);
}

int xp_pxeboot_lease(struct xp_pxeboot *p, struct xp_diags *d)
{
	if (p->local_only || p->dhcp)
		return -EINVAL;
	uint32_t rnd[2];
	int r = xp_getrandom(NULL, rnd, sizeof(rnd));
	if (r < 0)
		return xp_diags_fail(d, r, NULL, "random", NULL, "no random numbers: %s", strerror(-r));
	struct xp_dhcp_client_opts co = {.xid = rnd[0], .seed = rnd[1] | 1,
					 .timeout_ms = p->o.dhcp_timeout_ms};
	memcpy(co.mac, p->o.mac.b, 6);
	if ((r = xp_dhcp_client_new(&co, xp__pxe_now_ms(), &p->dhcp)) < 0)
		return r;
	char m[XP_MAC_STRLEN + 1];
	say(p, "DHCP on %s for %s", p->o.interface, xp_mac_format(&p->o.mac, m));
	uint16_t port = p->o.dhcp_port ? p->o.dhcp_port : XP_DHCP_SERVER_PORT;
	if ((r = xp__pxe_dhcp_run(p->fd, p->dhcp, port, d)) < 0)
		return r;
	p->bound = true;
	const struct xp_dhcp_client_lease *l = xp_dhcp_client_lease(p->dhcp);
	char a[16], b[16], c[16];
	say(p, "lease %s from %s%s%s (%u DISCOVER, %u REQUEST)", ip_str(l->ip, a),
	    ip_str(l->server_id, b), l->relay ? " via relay " : "", l->relay ? ip_str(l->relay, c) : "",
	    xp_dhcp_client_discovers(p->dhcp), xp_dhcp_client_requests(p->dhcp));
	return 0;
}

const struct xp_pxeboot_plan *xp_pxeboot_get_plan(const struct xp_pxeboot *p)
{
	return &p->plan;
}

/* ---- where things are ----------------------------------------------------------- */

static bool is_url(const char *s)
{
	return !strncmp(s, "tftp://", 7) || !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* The boot server as a host name or dotted address (borrowed), or NULL. */
static const char *boot_server(struct xp_pxeboot *p, char buf[16])
{
	const struct xp_dhcp_client_lease *l = xp_dhcp_client_lease(p->dhcp);
	if (p->o.server && *p->o.server)
		return p->o.server;
	if (l->tftp_server[0])
		return l->tftp_server;
	if (l->next_server)
		return ip_str(l->next_server, buf);
	if (l->boot_server_id)
		return ip_str(l->boot_server_id, buf);
	return NULL;
}

static int make_base(struct xp_pxeboot *p, struct xp_diags *d)
{
	const struct xp_dhcp_client_lease *l = xp_dhcp_client_lease(p->dhcp);
	struct xp_buf b = XP_BUF_INIT;
	if (p->o.http && *p->o.http) {
		xp_buf_adds(&b, p->o.http);
	} else {
		/* the prefix: option 210, else the boot file's directory */
		const char *prefix = l->pxe_prefix;
		size_t plen = strlen(prefix);
		if (!plen) {
			const char *slash = strrchr(l->file, '/');
			prefix = l->file;
			plen = slash ? (size_t)(slash - l->file) + 1 : 0;
		}
		if (plen && is_url(prefix)) {
			xp_buf_add(&b, prefix, plen);
		} else {
			char sb[16];
			const char *server = boot_server(p, sb);
			if (!server)
				return xp_diags_fail(d, -EHOSTUNREACH, NULL, "server",
						     "give one with --server",
						     "the DHCP answer names no boot server");
			bool http = p->o.http != NULL;
			xp_buf_addf(&b, "%s://%s/", http ? "http" : "tftp", server);
			if (http)
				while (plen && *prefix == '/')
					prefix++, plen--;
			xp_buf_add(&b, prefix, plen);
		}
	}
	if (b.len && b.s[b.len - 1] != '/')
		xp_buf_addc(&b, '/');
	if (xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ENOMEM;
	}
	p->base = xp_buf_steal(&b);
	return 0;
}

static int resolve(struct xp_pxeboot *p, const char *name, char **out, struct xp_diags *d)
{
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_pxelinux_resolve(p->base, name, &b);
	if (r < 0) {
		xp_buf_release(&b);
		if (r == -EINVAL)
			return xp_diags_fail(d, r, NULL, "url", NULL, "cannot tell where '%s' is from '%s'",
					     name, p->base);
		return r;
	}
	*out = xp_buf_steal(&b);
	return *out ? 0 : -ENOMEM;
}

/* ---- sinks ------------------------------------------------------------------------ */

static int mem_write(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct xp_buf *b = ctx;
	if (off != b->len)
		return -EIO;
	xp_buf_add(b, data, len);
	return xp_buf_error(b);
}

struct fd_sink {
	int fd;
	uint64_t base;
};

static int fd_write(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct fd_sink *s = ctx;
	return xp_pwrite_full(s->fd, data, len, s->base + off);
}

/* ---- the config -------------------------------------------------------------------- */

static int fetch_config(struct xp_pxeboot *p, struct xp_buf *data, struct xp_diags *d)
{
	const struct xp_dhcp_client_lease *l = xp_dhcp_client_lease(p->dhcp);
	char names[XP_PXELINUX_SEARCH_MAX][XP_PXELINUX_SEARCH_NAME];
	const char *list[XP_PXELINUX_SEARCH_MAX];
	size_t n;
	if (p->o.config && *p->o.config) {
		list[0] = p->o.config;
		n = 1;
	} else if (l->pxe_config[0]) {
		list[0] = l->pxe_config; /* RFC 5071 option 209: no search */
		n = 1;
	} else {
		n = xp_pxelinux_search(p->o.mac.b, l->ip, names);
		for (size_t i = 0; i < n; i++)
			list[i] = names[i];
	}
	for (size_t i = 0; i < n; i++) {
		char *url = NULL;
		int r = resolve(p, list[i], &url, d);
		if (r < 0)
			return r;
		xp_buf_truncate(data, 0);
		struct xp_tftp_sink sink = {mem_write, data};
		r = xp__pxe_fetch(url, &sink, XP_PXELINUX_MAX_SIZE, p->o.blksize ? p->o.blksize : 1468,
				  1, NULL, d);
		if (r == 0) {
			p->config = url;
			p->plan.configs_tried = (unsigned)i;
			if (i)
				say(p, "config %s (%zu names not found before it)", url, i);
			else
				say(p, "config %s", url);
			return 0;
		}
		free(url);
		if (r != -ENOENT)
			return r;
	}
	if (n == 1)
		return xp_diags_fail(d, -ENOENT, NULL, "config", NULL, "no config '%s' at %s", list[0],
				     p->base);
	char a[16];
	return xp_diags_fail(d, -ENOENT, NULL, "config",
			     "the boot server needs pxelinux.cfg/01-MAC, the address in hex, or "
			     "pxelinux.cfg/default",
			     "no pxelinux config for this guest (%s) at %s: tried %s, %s ... %s and %s",
			     ip_str(l->ip, a), p->base, list[0], list[1], list[n - 2], list[n - 1]);
}

/* syslinux decides what KERNEL loads by the file name's extension (syslinux.cfg(5)
 * "KERNEL"); only Linux kernels can be handed to Xen. */
static const char *not_linux(const struct xp_pxelinux_label *lb, const char *image)
{
	static const char *const kinds[] = {
	    [XP_PXELINUX_BOOT] = "a boot sector",    [XP_PXELINUX_BSS] = "a boot sector",
	    [XP_PXELINUX_PXE] = "a PXE program",     [XP_PXELINUX_FDIMAGE] = "a floppy image",
	    [XP_PXELINUX_COMBOOT] = "a COMBOOT program", [XP_PXELINUX_COM32] = "a COM32 module",
	    [XP_PXELINUX_CONFIG] = "another config (CONFIG)",
	};
	if (lb->kind == XP_PXELINUX_LINUX)
		return NULL;
	if (lb->kind != XP_PXELINUX_KERNEL)
		return lb->kind < sizeof(kinds) / sizeof(kinds[0]) && kinds[lb->kind] ? kinds[lb->kind]
										    : "no Linux kernel";
	const char *dot = strrchr(image, '.');
	if (!dot || strchr(dot, '/'))
		return NULL;
	static const struct {
		const char *ext, *what;
	} ext[] = {{".c32", "a COM32 module"}, {".cbt", "a COMBOOT program"},
		   {".com", "a COMBOOT program"}, {".0", "a PXE program"},
		   {".bin", "a boot sector"},	   {".bs", "a boot sector"},
		   {".bss", "a boot sector"},	   {".img", "a floppy image"}};
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (!strcasecmp(dot, ext[i].ext))
			return ext[i].what;
	return NULL;
}

static int add_initrd(struct xp_pxeboot *p, char *url)
{
	char **nv = realloc(p->initrds, (p->n_initrds + 1) * sizeof(*nv));
	if (!nv) {
		free(url);
		return -ENOMEM;
	}
	p->initrds = nv;
	p->initrds[p->n_initrds++] = url;
	return 0;
}

/* The words of s but the initrd= ones (the ramdisk is handed over apart). */
static void add_words_but_initrd(struct xp_buf *out, const char *s)
{
	while (s && *s) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strcspn(s, " \t");
		if (n && strncmp(s, "initrd=", 7)) {
			if (out->len)
				xp_buf_addc(out, ' ');
			xp_buf_add(out, s, n);
		}
		s += n;
	}
}

static int plan_linux(struct xp_pxeboot *p, const struct xp_pxelinux_label *lb, struct xp_diags *d)
{
	/* KERNEL's line: the image, then words syslinux puts before APPEND's */
	const char *k = lb->kernel;
	size_t kn = strcspn(k, " \t");
	char *image = strndup(k, kn);
	if (!image)
		return -ENOMEM;
	const char *what = not_linux(lb, image);
	if (what) {
		int r = xp_diags_fail(d, -EINVAL, p->config, "label",
				      "a domU boots Linux kernels only: choose another label with "
				      "--label",
				      "label '%s' boots %s ('%s')", p->label, what, image);
		free(image);
		return r;
	}
	int r = resolve(p, image, &p->kernel, d);
	free(image);
	if (r < 0)
		return r;
	struct xp_buf args = XP_BUF_INIT, cl = XP_BUF_INIT;
	add_words_but_initrd(&args, k + kn);
	r = xp_pxelinux_cmdline(lb, &cl);
	add_words_but_initrd(&args, xp_buf_str(&cl));
	const struct xp_dhcp_client_lease *l = xp_dhcp_client_lease(p->dhcp);
	struct xp_pxelinux_net net = {.ip = l->ip, .gateway = l->router, .netmask = l->netmask};
	memcpy(net.mac, p->o.mac.b, 6);
	char sb[16];
	const char *server = boot_server(p, sb);
	struct in_addr sa;
	if (server && inet_pton(AF_INET, server, &sa) == 1)
		net.server = ntohl(sa.s_addr);
	else
		net.server = l->next_server ? l->next_server : l->boot_server_id;
	int left = r < 0 ? r : xp_pxelinux_ipappend(lb->ipappend, &net, &args);
	if (left > 0)
		say(p, "warning: IPAPPEND/SYSAPPEND 0x%x describes SMBIOS data a domU has not: "
		       "left out",
		    (unsigned)left);
	p->plan.keeps_lease = lb->ipappend & 1;
	r = left < 0 ? left : xp_buf_error(&args);
	if (r == 0 && !(p->args = xp_buf_steal(&args)))
		r = -ENOMEM;
	xp_buf_release(&args);
	xp_buf_release(&cl);
	if (r < 0)
		return r;
	char *list = NULL;
	if ((r = xp_pxelinux_initrd(lb, &list)) < 0)
		return r;
	for (char *s = list, *e; r == 0 && s && *s; s = e ? e + 1 : NULL) {
		e = strchr(s, ',');
		if (e)
			*e = '\0';
		if (!*s)
			continue;
		char *url = NULL;
		if ((r = resolve(p, s, &url, d)) == 0)
			r = add_initrd(p, url);
	}
	free(list);
	return r;
}

static int plan_local(struct xp_pxeboot *p, struct xp_diags *d)
{
	if (!p->o.disk || !*p->o.disk)
		return xp_diags_fail(d, -EINVAL, p->config, "localboot", NULL,
				     "label '%s' boots the guest's own disk (LOCALBOOT) and no disk "
				     "was given",
				     p->label ? p->label : "");
	int r = xp__pxe_local_read(p->o.disk, p->o.local_entry, &p->local, d);
	if (r < 0)
		return r;
	p->have_local = true;
	struct xp__pxe_local *l = &p->local;
	if (!(p->kernel = strdup(l->kernel)) || !(p->args = strdup(l->args)))
		return -ENOMEM;
	for (size_t i = 0; i < l->n_initrds; i++) {
		char *s = strdup(l->initrds[i]);
		if (!s || (r = add_initrd(p, s)) < 0)
			return -ENOMEM;
	}
	p->plan.local = true;
	p->plan.disk_config = l->config;
	p->plan.disk_kind = l->kind;
	if (p->local_only) {
		free(p->label);
		if (!(p->label = strdup(l->title)) || !(p->config = strdup(l->config)))
			return -ENOMEM;
	}
	say(p, "the disk's %s config %s, entry '%s'", l->kind, l->config, l->title);
	return 0;
}

/* libxl's --kernel=, --ramdisk= and --args= (xl's kernel=, ramdisk= and extra= of a
 * guest that has a bootloader) over what the label says. */
static int overrides(struct xp_pxeboot *p, struct xp_diags *d)
{
	int r = 0;
	if (p->o.kernel && *p->o.kernel) {
		free(p->kernel);
		p->kernel = NULL;
		r = p->plan.local ? ((p->kernel = strdup(p->o.kernel)) ? 0 : -ENOMEM)
				  : resolve(p, p->o.kernel, &p->kernel, d);
	}
	if (r == 0 && p->o.ramdisk && *p->o.ramdisk) {
		for (size_t i = 0; i < p->n_initrds; i++)
			free(p->initrds[i]);
		p->n_initrds = 0;
		char *url = NULL;
		r = p->plan.local ? ((url = strdup(p->o.ramdisk)) ? 0 : -ENOMEM)
				  : resolve(p, p->o.ramdisk, &url, d);
		if (r == 0)
			r = add_initrd(p, url);
	}
	if (r == 0 && p->o.extra_args && *p->o.extra_args) {
		char *a = NULL;
		if (asprintf(&a, "%s%s%s", p->args ? p->args : "", p->args && *p->args ? " " : "",
			     p->o.extra_args) < 0)
			return -ENOMEM;
		free(p->args);
		p->args = a;
	}
	return r;
}

static void fill_plan(struct xp_pxeboot *p)
{
	struct xp_pxeboot_plan *pl = &p->plan;
	pl->lease = p->dhcp ? xp_dhcp_client_lease(p->dhcp) : NULL;
	pl->base = p->base;
	pl->config = p->config;
	pl->label = p->label ? p->label : "";
	pl->menu_label = p->menu_label;
	pl->kernel = p->kernel;
	pl->initrds = (const char *const *)p->initrds;
	pl->n_initrds = p->n_initrds;
	pl->args = p->args ? p->args : "";
}

/* DEFAULT naming a kernel, not a label: the kernel and its options, the global
 * APPEND and IPAPPEND (syslinux runs it as a command line typed at boot:). */
static int default_kernel(struct xp_pxeboot *p, struct xp_pxelinux_label *tmp)
{
	memset(tmp, 0, sizeof(*tmp));
	tmp->kind = XP_PXELINUX_KERNEL;
	tmp->kernel = p->cfg.default_cmd;
	tmp->append = p->cfg.append;
	tmp->ipappend = p->cfg.ipappend;
	return (p->label = strdup("")) ? 0 : -ENOMEM;
}

int xp_pxeboot_plan(struct xp_pxeboot *p, struct xp_diags *d)
{
	release_plan(p);
	memset(&p->plan, 0, sizeof(p->plan));
	int r;
	if (p->local_only) {
		r = plan_local(p, d);
		if (r == 0)
			r = overrides(p, d);
		fill_plan(p);
		return r;
	}
	if (!p->bound)
		return -EINVAL;
	if ((r = make_base(p, d)) < 0)
		return r;
	struct xp_buf data = XP_BUF_INIT;
	r = fetch_config(p, &data, d);
	if (r == 0) {
		struct xp_diags pd = {0};
		r = xp_pxelinux_parse(data.s ? data.s : "", data.len, p->config, &p->cfg, &pd);
		for (size_t i = 0; i < pd.n; i++) {
			const struct xp_diag *g = &pd.v[i];
			if (r < 0 && g->severity == XP_SEV_ERROR)
				xp_diags_add(d, XP_SEV_ERROR, p->config, g->line, g->col, g->code, g->text,
					     g->hint, "%s", g->msg);
		}
		xp_diags_release(&pd);
		if (r == 0)
			p->have_cfg = true;
	}
	xp_buf_release(&data);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->cfg.n_includes; i++)
		say(p, "warning: %s: INCLUDE %s is not followed", p->config, p->cfg.includes[i].path);
	const struct xp_pxelinux_label *lb;
	struct xp_pxelinux_label tmp;
	if (p->o.label && *p->o.label) {
		if (!(lb = xp_pxelinux_find(&p->cfg, p->o.label)))
			return xp_diags_fail(d, -ENOENT, p->config, "label", NULL, "no label '%s'",
					     p->o.label);
	} else if (!(lb = xp_pxelinux_boot_label(&p->cfg))) {
		if (!p->cfg.default_cmd || p->cfg.ontimeout)
			return xp_diags_fail(d, -EINVAL, p->config, "default",
					     p->cfg.n_labels ? "choose a label with --label" : NULL,
					     "the config names nothing to boot unattended "
					     "(DEFAULT, ONTIMEOUT, or a menu's first label)");
		if ((r = default_kernel(p, &tmp)) < 0)
			return r;
		lb = &tmp;
	}
	if (!p->label && !(p->label = strdup(lb->name)))
		return -ENOMEM;
	if (lb->menu_label && !(p->menu_label = strdup(lb->menu_label)))
		return -ENOMEM;
	if (p->cfg.menu_title)
		say(p, "menu '%s', %zu labels", p->cfg.menu_title, p->cfg.n_labels);
	if (lb->kind == XP_PXELINUX_LOCALBOOT) {
		say(p, "label '%s': LOCALBOOT, the guest's own disk", p->label);
		r = plan_local(p, d);
	} else {
		r = plan_linux(p, lb, d);
	}
	if (r == 0)
		r = overrides(p, d);
	fill_plan(p);
	return r;
}

/* ---- fetching -------------------------------------------------------------------- */

static int fetch_one(struct xp_pxeboot *p, const char *what, const char *url, int fd, uint64_t at,
		     uint64_t *size, struct xp_diags *d)
{
	int64_t t0 = xp__pxe_now_ms();
	struct xp__fetch_stats st = {0};
	int r;
	if (p->plan.local) {
		/* a second initrd goes after the first: extracted at the file's position */
		r = lseek(fd, (off_t)at, SEEK_SET) < 0
			? -errno
			: xp__pxe_local_extract(p->o.disk, &p->local, url, fd, d);
		struct stat s2;
		st.bytes = r == 0 && fstat(fd, &s2) == 0 ? (uint64_t)s2.st_size - at : 0;
	} else {
		struct fd_sink fs = {fd, at};
		struct xp_tftp_sink sink = {fd_write, &fs};
		r = xp__pxe_fetch(url, &sink, XP_PXEBOOT_MAX_FILE,
				  p->o.blksize ? p->o.blksize : 1468,
				  p->o.windowsize ? p->o.windowsize : 64, &st, d);
		if (r == -ENOENT)
			r = xp_diags_fail(d, r, NULL, "missing", NULL, "%s %s: no such file on the server",
					  what, url);
	}
	if (r < 0)
		return r;
	*size = st.bytes;
	double s = (double)(xp__pxe_now_ms() - t0) / 1000;
	if (st.blksize)
		say(p, "%s %s: %llu bytes in %.2f s (TFTP blksize %u, windowsize %u)", what, url,
		    (unsigned long long)st.bytes, s, st.blksize, st.windowsize);
	else
		say(p, "%s %s: %llu bytes in %.2f s", what, url, (unsigned long long)st.bytes, s);
	return 0;
}

int xp_pxeboot_fetch(struct xp_pxeboot *p, int kernel_fd, int ramdisk_fd, struct xp_diags *d)
{
	if (!p->kernel)
		return -EINVAL;
	uint64_t size = 0, at = 0;
	int r = fetch_one(p, "kernel", p->kernel, kernel_fd, 0, &size, d);
	for (size_t i = 0; r == 0 && i < p->n_initrds; i++) {
		r = fetch_one(p, "initrd", p->initrds[i], ramdisk_fd, at, &size, d);
		at += size;
	}
	return r;
}
