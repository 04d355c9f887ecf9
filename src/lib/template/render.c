/*
 * render.c - templates rendered from the inventory (xenprov/template.h): a template
 * and its partials read by name (stored, else shipped), the password hash required;
 * a system's autoinstall files, with the variables read from its profile, distro, the
 * server's settings and the DHCP pool of its address; the boot argument that points
 * an installer at them.
 *
 * Not here: the renderer (mustache.c), the variables' shape (vars.c), serving (net/).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/mustache.h"
#include "xenprov/template.h"

static int load_partial(void *ud, const char *name, char **text, size_t *len)
{
	struct xp_template t;
	int r = xp_template_get(ud, name, &t);
	if (r < 0)
		return r;
	*text = t.content;
	*len = strlen(t.content);
	t.content = NULL;
	xp_template_release(&t);
	return 0;
}

int xp_template_render(struct xp_inv *inv, const char *name, const json_t *vars,
		       struct xp_buf *out, struct xp_diags *d)
{
	struct xp_template t;
	int r = xp_template_get(inv, name, &t);
	if (r == -ENOENT)
		return xp_diags_refuse(d, r, "template", name, "see 'xenprov template list'",
				       "no template '%s'", name);
	if (r < 0)
		return xp_diags_refuse(d, r, "template", name, NULL, "cannot read template '%s': %s",
				       name, xp_inv_errmsg(inv));
	/* no default password anywhere: a template that uses the hash needs one set */
	static const char *const required[] = {"root-password-hash", NULL};
	struct xp_mustache_opts o = {
	    .name = name,
	    .partial = load_partial,
	    .ud = inv,
	    .required = required,
	    .required_hint = "set the profile's root-password-hash (xenprov profile edit P "
			     "--root-password-file FILE), or use a template that does not "
			     "need one",
	};
	r = xp_mustache_render(t.content, strlen(t.content), vars, &o, out, d);
	xp_template_release(&t);
	return r;
}

/* ---- a system's files ------------------------------------------------------------------ */

int xp_autoinstall_file_parse(const char *name, enum xp_autoinstall_file *f)
{
	static const char *const names[] = {
	    [XP_AUTOINSTALL_MAIN] = "",
	    [XP_AUTOINSTALL_USER_DATA] = "user-data",
	    [XP_AUTOINSTALL_META_DATA] = "meta-data",
	    [XP_AUTOINSTALL_NETWORK_CONFIG] = "network-config",
	    [XP_AUTOINSTALL_VENDOR_DATA] = "vendor-data",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0) {
			*f = (enum xp_autoinstall_file)i;
			return 0;
		}
	return -ENOENT;
}

int xp_autoinstall_template_name(struct xp_inv *inv, const struct xp_system *s, char **name)
{
	*name = NULL;
	if (s->autoinstall)
		return (*name = strdup(s->autoinstall)) ? 0 : -ENOMEM;
	if (!s->profile)
		return -ENOENT;
	struct xp_settings set = {0};
	int r = xp_profile_resolve(inv, s->profile, &set);
	const char *v = r == 0 ? xp_settings_get(&set, "autoinstall") : NULL;
	if (r == 0)
		r = !v ? -ENOENT : (*name = strdup(v)) ? 0 : -ENOMEM;
	xp_settings_release(&set);
	return r;
}

/* The pool whose subnet holds ip (dotted): its netmask's length, router, name servers
 * and domain. false when none does. */
static bool pool_of(const struct xp_server_pool *pv, size_t np, const char *ip, size_t *which,
		    unsigned *prefix)
{
	struct in_addr a, lo, mask;
	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return false;
	for (size_t i = 0; i < np; i++) {
		if (inet_pton(AF_INET, pv[i].range_start, &lo) != 1 ||
		    inet_pton(AF_INET, pv[i].netmask, &mask) != 1)
			continue;
		if ((a.s_addr & mask.s_addr) == (lo.s_addr & mask.s_addr)) {
			*which = i;
			*prefix = (unsigned)__builtin_popcount(mask.s_addr);
			return true;
		}
	}
	return false;
}

int xp_autoinstall_vars(struct xp_inv *inv, const struct xp_system *s, const char *http_base,
			json_t **out, struct xp_diags *d)
{
	*out = NULL;
	struct xp_settings prof = {0}, server = {0};
	struct xp_distro distro = {0};
	struct xp_server_pool *pv = NULL;
	size_t np = 0;
	char *url = NULL, *dns = NULL;
	int r = 0;
	if (s->profile && (r = xp_profile_resolve(inv, s->profile, &prof)) < 0) {
		r = xp_diags_refuse(d, r, "profile", s->profile, NULL, "cannot read profile '%s': %s",
				    s->profile, xp_inv_errmsg(inv));
		goto out;
	}
	const char *dname = s->distro ? s->distro : xp_settings_get(&prof, "distro");
	bool have_distro = dname && xp_distro_get(inv, dname, &distro) == 0;
	if ((r = xp_server_settings_get(inv, &server)) < 0)
		goto out;
	if (xp_server_pools(&server, &pv, &np, NULL) < 0) {
		pv = NULL; /* unusable pools: no netmask or router to give */
		np = 0;
	}
	/* its address: DHCP hands it the reservation; the pool says the rest */
	struct xp_template_nic nic = {.mac = s->mac, .ip = s->ip, .dhcp = true,
				      .default_route = true};
	size_t pi;
	const char *pool_domain = NULL;
	if (pool_of(pv, np, s->ip, &pi, &nic.prefix)) {
		nic.gateway = pv[pi].router;
		pool_domain = pv[pi].domain;
		struct xp_buf b = XP_BUF_INIT;
		for (size_t i = 0; i < pv[pi].n_dns; i++)
			xp_buf_addf(&b, "%s%s", i ? "," : "", pv[pi].dns[i]);
		dns = xp_buf_steal(&b);
		nic.dns = dns;
	} else if (s->ip) {
		nic.prefix = 32;
	}
	const char *domain = xp_settings_get(&prof, "domain");
	nic.domain = domain ? domain : pool_domain;
	if (http_base && asprintf(&url, "%s/autoinstall/%s", http_base, s->name) < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}
	struct xp_template_subject sub = {
	    .name = s->name,
	    .hostname = s->hostname,
	    .domain = nic.domain,
	    .profile = s->profile,
	    .settings = &prof,
	    .distro = have_distro ? &distro : NULL,
	    .server = &server,
	    .http_base = http_base,
	    .autoinstall_url = url,
	    .kernel_options = s->kernel_options,
	    .nics = &nic,
	    .nnics = 1,
	};
	r = xp_template_vars(&sub, out);
	if (r == -EINVAL)
		r = xp_diags_refuse(d, r, "profile", s->profile, NULL,
				    "profile '%s' has a list value that does not read", s->profile);
out:
	free(url);
	free(dns);
	xp_server_pools_free(pv, np);
	xp_distro_release(&distro);
	xp_settings_release(&prof);
	xp_settings_release(&server);
	return r;
}

int xp_autoinstall_render(struct xp_inv *inv, const struct xp_system *s,
			  enum xp_autoinstall_file f, const char *http_base, struct xp_buf *out,
			  char **used, struct xp_diags *d)
{
	if (used)
		*used = NULL;
	char *name = NULL;
	int r = xp_autoinstall_template_name(inv, s, &name);
	if (r == -ENOENT)
		return xp_diags_refuse(d, r, "autoinstall", s->name,
				       "name one: xenprov system edit S --autoinstall T, or the "
				       "profile's --autoinstall T",
				       "system '%s' has no autoinstall template", s->name);
	if (r < 0)
		return r;
	const char *which = f == XP_AUTOINSTALL_META_DATA	    ? XP_TEMPLATE_CLOUD_META_DATA
			    : f == XP_AUTOINSTALL_NETWORK_CONFIG ? XP_TEMPLATE_CLOUD_NETWORK_CONFIG
							       : name;
	if (f == XP_AUTOINSTALL_VENDOR_DATA) { /* none: cloud-init reads an empty one */
		if (used)
			*used = name;
		else
			free(name);
		return 0;
	}
	json_t *vars = NULL;
	r = xp_autoinstall_vars(inv, s, http_base, &vars, d);
	if (r == 0)
		r = xp_template_render(inv, which, vars, out, d);
	json_decref(vars);
	if (r == 0 && used && !(*used = strdup(which)))
		r = -ENOMEM;
	free(name);
	return r;
}

void xp_autoinstall_boot_args(const char *os, const char *url, struct xp_buf *out)
{
	if (!os || !url)
		return;
	if (strcmp(os, "debian") == 0)
		/* debian-installer's "auto" mode (installation guide, appendix B.2.3):
		 * the questions before the network wait for the preseed file, which is
		 * fetched from url= once DHCP configured the network */
		xp_buf_addf(out, "auto=true priority=critical url=%s", url);
	else if (strcmp(os, "ubuntu") == 0)
		/* Subiquity's autoinstall through cloud-init's NoCloud data source over
		 * HTTP: s= is a prefix, to which user-data, meta-data... are appended */
		xp_buf_addf(out, "autoinstall ds=nocloud;s=%s/", url);
	else if (strcmp(os, "redhat") == 0)
		xp_buf_addf(out, "inst.ks=%s", url); /* Anaconda's boot options */
	else if (strcmp(os, "suse") == 0)
		xp_buf_addf(out, "autoyast=%s", url);
}

void xp_autoinstall_http_base(const struct xp_settings *st, unsigned port, char *buf,
			      size_t size)
{
	const char *server = xp_settings_get(st, "server");
	if (!port) {
		const char *v = xp_settings_get(st, "http-port");
		if (!v)
			v = xp_server_setting_default("http-port");
		port = (unsigned)atoi(v ? v : "80");
	}
	if (!server)
		snprintf(buf, size, "%s", "");
	else if (port == 80)
		snprintf(buf, size, "http://%s", server);
	else
		snprintf(buf, size, "http://%s:%u", server, port);
}
