/*
 * boot.c - the boot-file resolver (xenprov/boot.h): one path in, one file out, for
 * TFTP and HTTP alike. It routes the path to a rendered config (target.c decides what
 * the client boots, render-*.c write it), a distro's kernel or initrd, or a plain file
 * beneath the TFTP root.
 *
 * Not here: sockets and protocols; the inventory's storage.
 *
 * Which wins when a name could be both rendered and plain (the rule: the inventory
 * decides for the machines it knows, the TFTP root for everyone else):
 *  - pxelinux.cfg/01-MAC, pxelinux.cfg/HEXIP, grub/grub.cfg-01-MAC, grub/grub.cfg-MAC,
 *    grub/grub.cfg-HEXIP, ipxe/01-MAC: rendered when a system has that MAC/IP and
 *    something to boot (netboot off renders a local boot); otherwise the plain file of
 *    that name, if any (-ENOENT makes pxelinux and GRUB try their next name, and a
 *    site may keep static files for machines outside the inventory). An unknown MAC's
 *    ipxe/01-MAC with no plain file is ipxe/default.
 *  - pxelinux.cfg/default, grub/grub.cfg, ipxe/default: the plain file if the root has
 *    one (a site's own menu), else the rendered menu of every distro.
 *  - distros/NAME/kernel|initrd belong to the inventory: the distro's files from the
 *    distro store (by digest, no symlink followed), never a plain file nor a host path;
 *    a distro whose files are not in the store (one of an older inventory) is -ENOENT.
 *    distros/NAME/tree/PATH is the install tree `xenprov import` recorded for the
 *    distro: trees/NAME/PATH beneath the root for a copy (a plain file, confined as
 *    every other), or the file PATH of its ISO image, the image opened by the inventory
 *    (xp_distro_tree_open: only the image the operator imported, unchanged since) and
 *    the file's bytes handed out as a range of it (offset, size); distros/NAME/image.iso
 *    is that whole image. Anything else under distros/ is -ENOENT.
 *
 * Confinement: names are checked lexically first (empty, over 255 bytes, control
 * characters: -EINVAL; a ".." component: -EACCES; "." and empty components are
 * dropped), then plain files are opened with openat2(2) from the root's directory
 * descriptor with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so the kernel refuses any
 * resolution that leaves the root, including through symlinks (EXDEV, reported as
 * -EACCES); symlinks that stay inside are followed. Files are opened O_NONBLOCK (a
 * FIFO must not block the server) and must be regular files (else -EACCES). The state
 * directory is never served: a root that is or holds it is refused (xp_boot_new), and
 * a file that is one of its own (inventory.db..., api-token, install-key: by identity,
 * so a hard link or a bind mount of one too) is -EACCES wherever it is found.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "boot/boot-internal.h"
#include "xenprov/mac.h"

#define NAME_MAX_LEN 255

struct xp_boot {
	struct xp_inv *inv;
	int root_fd;
	char *server;
	char *http_base;
	int (*installer)(void *ctx, const char *file, int *fd);
	void *installer_ctx;
	bool no_install;
};

static const char TEXT[] = "text/plain";
static const char BINARY[] = "application/octet-stream";

int xp_boot_new(struct xp_inv *inv, const struct xp_boot_opts *opts, struct xp_boot **ret)
{
	*ret = NULL;
	if (!inv || !opts || !opts->tftp_root || !*opts->tftp_root)
		return -EINVAL;
	struct xp_boot *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->inv = inv;
	b->installer = opts->installer;
	b->installer_ctx = opts->installer_ctx;
	b->no_install = opts->no_install;
	b->root_fd = open(opts->tftp_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->root_fd < 0) {
		int r = -errno;
		free(b);
		return r;
	}
	/* a root that is or holds the state directory would serve the inventory */
	int r = xp_inv_root_check(inv, opts->tftp_root);
	if (r < 0) {
		xp_boot_free(b);
		return r;
	}
	if (opts->server && !(b->server = strdup(opts->server)))
		goto oom;
	if (opts->http_base) {
		if (!(b->http_base = strdup(opts->http_base)))
			goto oom;
		size_t n = strlen(b->http_base);
		while (n && b->http_base[n - 1] == '/')
			b->http_base[--n] = '\0';
	}
	*ret = b;
	return 0;
oom:
	xp_boot_free(b);
	return -ENOMEM;
}

void xp_boot_free(struct xp_boot *b)
{
	if (!b)
		return;
	if (b->root_fd >= 0)
		close(b->root_fd);
	free(b->server);
	free(b->http_base);
	free(b);
}

void xp_bootfile_release(struct xp_bootfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	xp_buf_release(&f->data);
	f->fd = -1;
	f->offset = 0;
	f->size = 0;
	f->type = NULL;
	f->local_system[0] = '\0';
	f->local_answer = NULL;
}

/* ---- plain and distro files -------------------------------------------------------- */

/* A freshly opened fd: a regular file, blocking again, size in out. Takes fd. */
static int take_regular(int fd, const char *type, struct xp_bootfile *out)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EACCES;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	out->fd = fd;
	out->size = (uint64_t)st.st_size;
	out->type = type;
	return 0;
}

static int open_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return -ENOENT;
	case EXDEV: /* RESOLVE_BENEATH: the resolution would leave the root */
	case ELOOP: /* a magic link, or a symlink loop */
	case EACCES:
	case EPERM:
	case EISDIR:
		return -EACCES;
	case ENAMETOOLONG:
		return -EINVAL;
	case ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* O_PATH first, then the file itself once it is known to be a regular file and none of
 * the state directory's own (even linked or mounted into the root): a FIFO is never
 * opened, and a real descriptor of the inventory is never closed (which would drop the
 * server's SQLite locks on it). */
static int open_plain(struct xp_boot *b, const char *rel, const char *type, struct xp_bootfile *out)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long pfd = syscall(SYS_openat2, b->root_fd, rel, &how, sizeof(how));
	if (pfd < 0)
		return open_errno(errno);
	int fd = xp_inv_open_servable(b->inv, (int)pfd);
	close((int)pfd);
	if (fd < 0)
		return open_errno(-fd);
	return take_regular(fd, type, out);
}

/* A distro's file: from the distro store only, by digest (never a host path); a distro
 * whose files are not in the store (an older inventory's) is not served. */
static int open_distro(struct xp_boot *b, const char *name, bool initrd, struct xp_bootfile *out)
{
	if (!xp_distro_name_valid(name))
		return -ENOENT;
	struct xp_distro d = {0};
	int r = xp_distro_get(b->inv, name, &d);
	if (r < 0)
		return r;
	const char *sha = initrd ? d.initrd_sha256 : d.kernel_sha256;
	int fd;
	if (!sha || !xp_distro_in_store(&d))
		r = -ENOENT;
	else if ((r = xp_distro_file_open(b->inv, sha, &fd)) == 0)
		r = take_regular(fd, BINARY, out);
	xp_distro_release(&d);
	return r;
}

/* distros/NAME/tree/PATH (path: PATH), or the image itself (path NULL). */
static int open_tree(struct xp_boot *b, const char *name, const char *path, struct xp_bootfile *out)
{
	if (!xp_distro_name_valid(name))
		return -ENOENT;
	struct xp_distro_tree t;
	int r = xp_distro_tree_get(b->inv, name, &t);
	if (r < 0)
		return r;
	bool copy = strcmp(t.mode, "copy") == 0, iso = strcmp(t.mode, "iso") == 0;
	xp_distro_tree_release(&t);
	if (copy && path) {
		char rel[NAME_MAX_LEN + 16];
		if (snprintf(rel, sizeof(rel), "trees/%s/%s", name, path) >= (int)sizeof(rel))
			return -EINVAL;
		return open_plain(b, rel, BINARY, out);
	}
	if (!iso)
		return -ENOENT;
	int fd;
	uint64_t off, size;
	if ((r = xp_distro_tree_open(b->inv, name, path, &fd, &off, &size)) < 0)
		return r;
	out->fd = fd;
	out->offset = off;
	out->size = size;
	out->type = BINARY;
	return 0;
}

/* ---- names ------------------------------------------------------------------------- */

/* Checks path and writes its canonical form (no leading '/', no "." or empty
 * components) into canon. */
static int canonical(const char *path, char canon[NAME_MAX_LEN + 1])
{
	size_t len = strlen(path);
	if (len == 0 || len > NAME_MAX_LEN)
		return -EINVAL;
	for (const char *s = path; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return -EINVAL;
	size_t n = 0;
	const char *s = path;
	while (*s) {
		while (*s == '/')
			s++;
		size_t k = strcspn(s, "/");
		if (k == 0)
			break;
		if (k == 2 && s[0] == '.' && s[1] == '.')
			return -EACCES;
		if (!(k == 1 && s[0] == '.')) {
			if (n)
				canon[n++] = '/';
			memcpy(canon + n, s, k);
			n += k;
		}
		s += k;
	}
	canon[n] = '\0';
	return n ? 0 : -EINVAL;
}

enum fmt { F_NONE, F_PXELINUX, F_GRUB, F_IPXE };
enum key { K_DEFAULT, K_MAC, K_IP };

struct route {
	enum fmt fmt;
	enum key key;
	char val[XP_MAC_STRLEN + 1]; /* canonical MAC or dotted IP */
};

/* "aa-bb-cc-dd-ee-ff" in any case. */
static bool mac_key(const char *s, struct route *rt)
{
	struct xp_mac m;
	if (strlen(s) != XP_MAC_STRLEN || strchr(s, ':') || xp_mac_parse(s, &m) != 0)
		return false;
	xp_mac_format(&m, rt->val);
	rt->key = K_MAC;
	return true;
}

/* Eight upper-case hex digits (pxelinux(1): "the client's IPv4 address in upper-case
 * hexadecimal"). */
static bool ip_key(const char *s, struct route *rt)
{
	if (strlen(s) != 8)
		return false;
	unsigned v[4];
	for (int i = 0; i < 8; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	if (sscanf(s, "%2X%2X%2X%2X", &v[0], &v[1], &v[2], &v[3]) != 4)
		return false;
	snprintf(rt->val, sizeof(rt->val), "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
	rt->key = K_IP;
	return true;
}

static void route(const char *p, struct route *rt)
{
	memset(rt, 0, sizeof(*rt));
	const char *s;
	if (!strncmp(p, "pxelinux.cfg/", 13)) {
		s = p + 13;
		rt->fmt = F_PXELINUX;
		if (strcmp(s, "default") == 0)
			rt->key = K_DEFAULT;
		else if (!(strncmp(s, "01-", 3) == 0 && mac_key(s + 3, rt)) && !ip_key(s, rt))
			rt->fmt = F_NONE;
	} else if (!strcmp(p, "grub/grub.cfg")) {
		rt->fmt = F_GRUB;
		rt->key = K_DEFAULT;
	} else if (!strncmp(p, "grub/grub.cfg-", 14)) {
		/* GRUB's manual names grub.cfg-MAC; Red Hat's GRUB and others ask for
		 * grub.cfg-01-MAC like pxelinux: both are served. */
		s = p + 14;
		rt->fmt = F_GRUB;
		if (!(strncmp(s, "01-", 3) == 0 && mac_key(s + 3, rt)) && !mac_key(s, rt) &&
		    !ip_key(s, rt))
			rt->fmt = F_NONE;
	} else if (!strcmp(p, "ipxe/default")) {
		rt->fmt = F_IPXE;
		rt->key = K_DEFAULT;
	} else if (!strncmp(p, "ipxe/01-", 8)) {
		rt->fmt = F_IPXE;
		if (!mac_key(p + 8, rt))
			rt->fmt = F_NONE;
	}
}

static int render(struct xp_boot *b, enum fmt fmt, struct xp_boot_plan *plan,
		  struct xp_bootfile *out)
{
	plan->server = b->server;
	plan->http_base = b->http_base;
	int r;
	switch (fmt) {
	case F_PXELINUX:
		r = xp__boot_render_pxelinux(plan, &out->data);
		break;
	case F_GRUB:
		r = xp__boot_render_grub(plan, &out->data);
		break;
	default:
		r = xp__boot_render_ipxe(plan, &out->data);
		break;
	}
	if (r < 0) {
		xp_buf_release(&out->data);
		return r;
	}
	out->size = out->data.len;
	out->type = TEXT;
	return 0;
}

/* The menu: the root's own file of that name, else rendered. */
static int menu(struct xp_boot *b, enum fmt fmt, const char *name, struct xp_bootfile *out)
{
	int r = open_plain(b, name, TEXT, out);
	if (r != -ENOENT)
		return r;
	struct xp_boot_plan plan;
	if ((r = xp__boot_plan_menu(b->inv, &plan)) < 0)
		return r;
	r = render(b, fmt, &plan, out);
	xp__boot_plan_release(&plan);
	return r;
}

static const char *const menu_names[] = {
    [F_PXELINUX] = "pxelinux.cfg/default",
    [F_GRUB] = "grub/grub.cfg",
    [F_IPXE] = "ipxe/default",
};

int xp_boot_open(struct xp_boot *b, const char *path, struct xp_bootfile *out)
{
	return xp_boot_open_from(b, path, 0, out);
}

int xp_boot_open_from(struct xp_boot *b, const char *path, uint32_t peer,
		      struct xp_bootfile *out)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!path)
		return -EINVAL;
	char canon[NAME_MAX_LEN + 1];
	int r = canonical(path, canon);
	if (r < 0)
		return r;

	if (!strncmp(canon, "distros/", 8)) {
		char *name = canon + 8, *slash = strchr(name, '/');
		if (!slash)
			return -ENOENT;
		*slash = '\0';
		const char *file = slash + 1;
		if (!strcmp(file, "kernel"))
			return open_distro(b, name, false, out);
		if (!strcmp(file, "initrd"))
			return open_distro(b, name, true, out);
		if (!strncmp(file, "tree/", 5) && file[5])
			return open_tree(b, name, file + 5, out);
		if (!strcmp(file, "image.iso"))
			return open_tree(b, name, NULL, out);
		return -ENOENT;
	}

	struct route rt;
	route(canon, &rt);
	if (rt.fmt == F_NONE) {
		r = open_plain(b, canon, BINARY, out);
		if (r == -ENOENT && b->installer &&
		    (!strcmp(canon, "installer/kernel") || !strcmp(canon, "installer/initrd"))) {
			/* the root has no installer of the operator's: the server's cache */
			int fd = -1;
			if ((r = b->installer(b->installer_ctx, canon + 10, &fd)) == 0)
				r = take_regular(fd, BINARY, out);
		}
		return r;
	}
	if (rt.key == K_DEFAULT)
		return menu(b, rt.fmt, canon, out);

	struct xp_boot_plan plan;
	/* no peer, no installer (xp__boot_plan_mac) */
	uint32_t who = b->no_install ? 0 : peer;
	r = rt.key == K_MAC ? xp__boot_plan_mac(b->inv, rt.val, b->http_base, who, &plan)
			    : xp__boot_plan_ip(b->inv, rt.val, b->http_base, who, &plan);
	if (r == 0) {
		r = render(b, rt.fmt, &plan, out);
		if (r == 0 && plan.kind == XP_BOOT_PLAN_LOCAL) {
			memcpy(out->local_system, plan.system, sizeof(out->local_system));
			out->local_answer = rt.fmt == F_PXELINUX ? "pxelinux LOCALBOOT"
					    : rt.fmt == F_GRUB	 ? "GRUB exit"
								 : "iPXE exit";
		}
		xp__boot_plan_release(&plan);
		return r;
	}
	if (r != -ENOENT)
		return r;
	r = open_plain(b, canon, TEXT, out);
	if (r == -ENOENT && rt.fmt == F_IPXE)
		return menu(b, F_IPXE, menu_names[F_IPXE], out);
	return r;
}
