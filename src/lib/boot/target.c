/*
 * target.c - what a client is to boot, decided from the inventory on each request:
 * the system with the client's MAC or IP, its distro (its own, or its profile's
 * `distro` key through the parent chain), the kernel command line (the distro's
 * kernel_options, the system's, the argument that points its installer at its
 * autoinstall file when it has a template and its distro an OS family, then
 * hostname=), or the menu of every distro.
 *
 * Not here: writing the plan in a boot loader's language (render-*.c), paths and
 * files (boot.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot-internal.h"
#include "util/ctype.h"
#include "xenprov/autoinstall.h"
#include "xenprov/mac.h"
#include "xenprov/template.h"

static void entry_release(struct xp_boot_entry *e)
{
	free(e->label);
	free(e->distro);
	for (size_t i = 0; i < e->n_args; i++)
		free(e->args[i]);
	free(e->args);
	memset(e, 0, sizeof(*e));
}

void xp__boot_plan_release(struct xp_boot_plan *p)
{
	entry_release(&p->entry);
	for (size_t i = 0; i < p->n_menu; i++)
		entry_release(&p->menu[i]);
	free(p->menu);
	memset(p, 0, sizeof(*p));
}

/* Control characters (and DEL) are word separators: a newline in an inventory value
 * must never become a new line of a config (a new LABEL, a GRUB command, an iPXE
 * command). Kernel command lines are words separated by spaces, so splitting there
 * changes nothing else. */
static bool sep(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

int xp__boot_add_args(struct xp_boot_entry *e, const char *text)
{
	if (!text)
		return 0;
	size_t n;
	for (const char *s = xp__word(text, sep, &n); n; s = xp__word(s + n, sep, &n)) {
		char **nv = realloc(e->args, (e->n_args + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		e->args = nv;
		if (!(e->args[e->n_args] = strndup(s, n)))
			return -ENOMEM;
		e->n_args++;
	}
	return 0;
}

/* Fills e for distro name (label given) from the inventory: -ENOENT if the distro is
 * not there. os (may be NULL) gets its OS family (heap; NULL: none). */
static int entry_read(struct xp_inv *inv, const char *name, const char *label,
		      struct xp_boot_entry *e, char **os)
{
	/* Names go into paths, labels and menu items unquoted: the inventory only
	 * stores valid ones, and a row written behind its back is not rendered. */
	if (!xp_distro_name_valid(name))
		return -ENOENT;
	struct xp_distro d = {0};
	int r = xp_distro_get(inv, name, &d);
	if (r < 0)
		return r;
	if (!xp_distro_in_store(&d)) { /* an older inventory's, not imported: not served */
		xp_distro_release(&d);
		return -ENOENT;
	}
	e->label = strdup(label);
	e->distro = strdup(d.name);
	e->initrd = d.initrd_sha256 != NULL;
	if (!e->label || !e->distro)
		r = -ENOMEM;
	else
		r = xp__boot_add_args(e, d.kernel_options);
	if (r == 0 && os) {
		*os = d.os;
		d.os = NULL;
	}
	xp_distro_release(&d);
	return r;
}

/* ---- what a run over many systems reads once ---------------------------------------- */

/* One answer read from the inventory: a distro's entry (label = its name) and OS
 * family, or a profile's distro; or why there is none (r: -ENOENT). */
struct cached {
	char kind; /* 'd' a distro, 'p' a profile */
	char *name;
	int r;
	struct xp_boot_entry e; /* 'd' */
	char *os;		/* 'd' */
	char *distro;		/* 'p' */
	char *autoinstall;	/* 'p': its template, or NULL */
};
struct xp__boot_cache {
	struct cached *v;
	size_t n, cap;
};

int xp__boot_cache_new(struct xp__boot_cache **c)
{
	*c = calloc(1, sizeof(**c));
	return *c ? 0 : -ENOMEM;
}

static void cached_release(struct cached *x)
{
	free(x->name);
	free(x->os);
	free(x->distro);
	free(x->autoinstall);
	entry_release(&x->e);
}

void xp__boot_cache_free(struct xp__boot_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		cached_release(&c->v[i]);
	free(c->v);
	free(c);
}

/* The answer for (kind, name): the one kept, else read(inv, name, slot) fills a new
 * slot (its r: 0 or -ENOENT are answers and kept; another error is returned, not
 * kept). NULL with *r set on failure. */
static struct cached *lookup(struct xp_inv *inv, struct xp__boot_cache *c, char kind,
			     const char *name,
			     int (*read)(struct xp_inv *, const char *, struct cached *), int *r)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].kind == kind && strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	if ((*r = xp_grow(&c->v, &c->cap, c->n, sizeof(*c->v), 8)) < 0)
		return NULL;
	struct cached *x = &c->v[c->n];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	if (!(x->name = strdup(name))) {
		*r = -ENOMEM;
		return NULL;
	}
	x->r = read(inv, name, x);
	if (x->r < 0 && x->r != -ENOENT) { /* not an answer: not kept */
		*r = x->r;
		cached_release(x);
		return NULL;
	}
	c->n++;
	return x;
}

static int read_distro(struct xp_inv *inv, const char *name, struct cached *x)
{
	return entry_read(inv, name, name, &x->e, &x->os);
}

static int entry_copy(const struct xp_boot_entry *from, const char *label, struct xp_boot_entry *e)
{
	e->label = strdup(label);
	e->distro = strdup(from->distro);
	e->initrd = from->initrd;
	if (!e->label || !e->distro)
		return -ENOMEM;
	if (from->n_args && !(e->args = calloc(from->n_args, sizeof(*e->args))))
		return -ENOMEM;
	for (size_t i = 0; i < from->n_args; i++) {
		if (!(e->args[i] = strdup(from->args[i])))
			return -ENOMEM;
		e->n_args++;
	}
	return 0;
}

/* Fills e for distro name (label given), and *os (may be NULL) with its OS family,
 * through the cache c when there is one. */
static int entry_for_distro(struct xp_inv *inv, struct xp__boot_cache *c, const char *name,
			    const char *label, struct xp_boot_entry *e, char **os)
{
	if (!c)
		return entry_read(inv, name, label, e, os);
	int r = 0;
	const struct cached *x = lookup(inv, c, 'd', name, read_distro, &r);
	if (!x)
		return r;
	if (x->r < 0)
		return x->r;
	if (os && x->os && !(*os = strdup(x->os)))
		return -ENOMEM;
	return entry_copy(&x->e, label, e);
}

static int read_profile(struct xp_inv *inv, const char *name, struct cached *x);

/* Whether system s has an autoinstall template: its own, else its profile's (through
 * the cache c when there is one, as xp_autoinstall_template_name decides). 1, 0, or
 * -errno. */
static int has_template(struct xp_inv *inv, struct xp__boot_cache *c, const struct xp_system *s)
{
	int r = 0;
	if (!c || s->autoinstall || !s->profile) {
		char *tmpl = NULL;
		r = xp_autoinstall_template_name(inv, s, &tmpl);
		free(tmpl);
		return r == -ENOENT ? 0 : r < 0 ? r : 1;
	}
	const struct cached *x = lookup(inv, c, 'p', s->profile, read_profile, &r);
	if (!x)
		return r;
	return x->autoinstall != NULL;
}

/* The argument by which the system's installer fetches its autoinstall file from
 * http_base/autoinstall/NAME (template.h), when it has a template, its distro an OS
 * family and the server an HTTP address. */
static int autoinstall_args(struct xp_inv *inv, struct xp__boot_cache *c, const struct xp_system *s,
			    const char *os, const char *http_base, struct xp_boot_entry *e)
{
	if (!os || !http_base)
		return 0;
	int r = has_template(inv, c, s);
	if (r <= 0)
		return r;
	struct xp_buf url = XP_BUF_INIT, args = XP_BUF_INIT;
	xp_buf_addf(&url, "%s/autoinstall/%s", http_base, s->name);
	xp_autoinstall_boot_args(os, xp_buf_str(&url), &args);
	r = xp_buf_error(&url) ? -ENOMEM : xp_buf_error(&args);
	if (r == 0)
		r = xp__boot_add_args(e, xp_buf_str(&args));
	xp_buf_release(&url);
	xp_buf_release(&args);
	return r;
}

/* The distro of profile (its `distro` through its parents): heap string, or -ENOENT
 * when none is set; and its `autoinstall` template (heap, NULL for none) when
 * autoinstall is not NULL. */
static int profile_distro(struct xp_inv *inv, const char *profile, char **out, char **autoinstall)
{
	struct xp_settings set = {0};
	int r = xp_profile_resolve(inv, profile, &set);
	const char *t = r == 0 && autoinstall ? xp_settings_get(&set, "autoinstall") : NULL;
	if (t && !(*autoinstall = strdup(t)))
		r = -ENOMEM;
	if (r == 0) {
		const char *v = xp_settings_get(&set, "distro");
		if (!v)
			r = -ENOENT;
		else if (!(*out = strdup(v)))
			r = -ENOMEM;
	}
	xp_settings_release(&set);
	return r;
}

/* A profile's distro and template; r -ENOENT when it has no distro (its template is
 * kept all the same: a system of its own distro may take it). */
static int read_profile(struct xp_inv *inv, const char *name, struct cached *x)
{
	return profile_distro(inv, name, &x->distro, &x->autoinstall);
}

/* The distro a system boots: its own, else its profile's `distro` setting (through the
 * cache c when there is one). Heap string, or -ENOENT when none is set. */
static int system_distro(struct xp_inv *inv, struct xp__boot_cache *c, const struct xp_system *s,
			 char **out)
{
	if (s->distro) {
		*out = strdup(s->distro);
		return *out ? 0 : -ENOMEM;
	}
	if (!s->profile)
		return -ENOENT;
	if (!c)
		return profile_distro(inv, s->profile, out, NULL);
	int r = 0;
	const struct cached *x = lookup(inv, c, 'p', s->profile, read_profile, &r);
	if (!x)
		return r;
	if (x->r < 0)
		return x->r;
	*out = strdup(x->distro);
	return *out ? 0 : -ENOMEM;
}

int xp__boot_plan_system(struct xp_inv *inv, struct xp__boot_cache *c, const struct xp_system *s,
			 const char *http_base, struct xp_boot_plan *p)
{
	memset(p, 0, sizeof(*p));
	if (!xp_system_name_valid(s->name))
		return -ENOENT;
	if (!s->netboot) {
		p->kind = XP_BOOT_PLAN_LOCAL;
		snprintf(p->system, sizeof(p->system), "%s", s->name);
		return 0;
	}
	char *distro = NULL;
	int r = system_distro(inv, c, s, &distro);
	if (r < 0)
		return r;
	p->kind = XP_BOOT_PLAN_SYSTEM;
	char *os = NULL;
	r = entry_for_distro(inv, c, distro, s->name, &p->entry, &os);
	free(distro);
	if (r == 0)
		r = xp__boot_add_args(&p->entry, s->kernel_options);
	if (r == 0)
		r = autoinstall_args(inv, c, s, os, http_base, &p->entry);
	free(os);
	if (r == 0) {
		/* hostname= last, as the inventory's own word on the matter */
		const char *h = s->hostname ? s->hostname : s->name;
		size_t n = strlen(h) + sizeof("hostname=");
		char *w = malloc(n);
		if (!w) {
			r = -ENOMEM;
		} else {
			strcpy(w, "hostname=");
			strcat(w, h);
			r = xp__boot_add_args(&p->entry, w);
			free(w);
		}
	}
	if (r < 0)
		xp__boot_plan_release(p);
	return r;
}

/* The installer's entry for system s, marked to install itself (autoinstall.h): the
 * installer's kernel and initrd (installer/ beneath the root), the system's own kernel
 * options (a console=, say), then xenprov's arguments, last so that they win over any
 * word before them: the server's HTTP address, the system's name and MAC (the
 * interface the installer brings up) and the token of the attempt this boot starts
 * (xp_install_boot_token: the same for every rendering until an installer reports;
 * this reads, never writes). The server's requests only, never a sync's files. */
static int installer_plan(struct xp_inv *inv, const struct xp_system *s, const char *http_base,
			  struct xp_boot_plan *p)
{
	char tok[XP_INSTALL_TOKEN_LEN + 1];
	int r = xp_install_boot_token(inv, s->name, tok);
	if (r < 0)
		return r;
	memset(p, 0, sizeof(*p));
	p->kind = XP_BOOT_PLAN_SYSTEM;
	struct xp_boot_entry *e = &p->entry;
	e->installer = e->initrd = true;
	struct xp_buf args = XP_BUF_INIT;
	xp_buf_addf(&args, "xenprov.server=%s xenprov.system=%s xenprov.mac=%s xenprov.token=%s",
		    http_base, s->name, s->mac, tok);
	explicit_bzero(tok, sizeof(tok));
	if (!(e->label = strdup("install")) || !(e->distro = strdup("xenprov-installer")))
		r = -ENOMEM;
	else
		r = xp__boot_add_args(e, s->kernel_options);
	if (r == 0 && (r = xp_buf_error(&args)) == 0)
		r = xp__boot_add_args(e, xp_buf_str(&args));
	xp_buf_release(&args);
	if (r < 0)
		xp__boot_plan_release(p);
	return r;
}

/* The plan of the system find (xp_system_find_mac or _ip) finds by key: the installer
 * when it is marked to install itself, boots from the network, the server has an HTTP
 * address for the installer to report to, and the request comes from the system's own
 * address (xp_install_peer_is_system: its reservation when it has one; a token is for
 * it alone); else its own. */
static int plan_found(struct xp_inv *inv, const char *key, const char *http_base,
		      uint32_t peer, struct xp_boot_plan *p,
		      int (*find)(struct xp_inv *, const char *, struct xp_system *))
{
	struct xp_system s = {0};
	int r = find(inv, key, &s);
	if (r < 0)
		return r;
	if (s.netboot && http_base && peer && xp_system_name_valid(s.name) &&
	    (r = xp_install_peer_is_system(inv, &s, peer)) != 0) {
		if (r < 0) {
			xp_system_release(&s);
			return r;
		}
		r = installer_plan(inv, &s, http_base, p);
		if (r != -ENOENT) { /* -ENOENT: not marked */
			xp_system_release(&s);
			return r;
		}
	}
	r = xp__boot_plan_system(inv, NULL, &s, http_base, p);
	xp_system_release(&s);
	return r;
}

int xp__boot_plan_mac(struct xp_inv *inv, const char *mac, const char *http_base,
		      uint32_t peer, struct xp_boot_plan *p)
{
	return plan_found(inv, mac, http_base, peer, p, xp_system_find_mac);
}

int xp__boot_plan_ip(struct xp_inv *inv, const char *ip, const char *http_base,
		     uint32_t peer, struct xp_boot_plan *p)
{
	return plan_found(inv, ip, http_base, peer, p, xp_system_find_ip);
}

int xp__boot_plan_menu(struct xp_inv *inv, struct xp_boot_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = XP_BOOT_PLAN_MENU;
	char **names = NULL;
	size_t n = 0;
	int r = xp_distro_list(inv, &names, &n);
	if (r < 0)
		return r;
	if (n && !(p->menu = calloc(n, sizeof(*p->menu))))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		/* the local entry keeps its label; a distro of that name gets another */
		const char *label = strcmp(names[i], XP_BOOT_LOCAL_LABEL) == 0
					? "distro:" XP_BOOT_LOCAL_LABEL
					: names[i];
		r = entry_for_distro(inv, NULL, names[i], label, &p->menu[p->n_menu], NULL);
		if (r < 0) {
			entry_release(&p->menu[p->n_menu]);
			if (r == -ENOENT) /* removed since the list was read */
				r = 0;
			continue;
		}
		p->n_menu++;
	}
	xp_strv_free(names, n);
	if (r < 0)
		xp__boot_plan_release(p);
	return r;
}
