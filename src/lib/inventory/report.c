/*
 * report.c - one record's values with their origins (report.h): the layers laid on in
 * order (settings, distro, parent profiles, profile, system; a domain's record over
 * its profile), each value remembering those it overrode. Read through the
 * inventory's own getters, a few queries for one record.
 *
 * Not here: counts and tables (the snapshot, inventory-snapshot.h), printing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/autoinstall.h"
#include "xenprov/leases.h"
#include "xenprov/report.h"

static const char *const kinds[] = {"distro", "profile", "system", "domain", "lease", NULL};

bool xp_report_kind_valid(const char *kind)
{
	for (size_t i = 0; kinds[i]; i++)
		if (strcmp(kinds[i], kind) == 0)
			return true;
	return false;
}

static void origin_release(struct xp_origin *o)
{
	free(o->from);
	free(o->value);
}

void xp_report_release(struct xp_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct xp_report_value *v = &r->v[i];
		free(v->key);
		origin_release(&v->now);
		for (size_t k = 0; k < v->nshadowed; k++)
			origin_release(&v->shadowed[k]);
		free(v->shadowed);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

const struct xp_report_value *xp_report_get(const struct xp_report *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].key, key) == 0)
			return &r->v[i];
	return NULL;
}

/* Lays value on key from source (from may be NULL): a new key, or the value in force
 * moved to the front of the shadowed ones. A NULL value lays nothing. */
static int put(struct xp_report *r, const char *key, const char *source, const char *from,
	       const char *value)
{
	if (!value)
		return 0;
	struct xp_origin o = {.source = source};
	if (!(o.value = strdup(value)) || (from && !(o.from = strdup(from)))) {
		origin_release(&o);
		return -ENOMEM;
	}
	struct xp_report_value *v = (struct xp_report_value *)xp_report_get(r, key);
	if (v) {
		struct xp_origin *ns = realloc(v->shadowed, (v->nshadowed + 1) * sizeof(*ns));
		if (!ns) {
			origin_release(&o);
			return -ENOMEM;
		}
		memmove(ns + 1, ns, v->nshadowed * sizeof(*ns));
		ns[0] = v->now;
		v->shadowed = ns;
		v->nshadowed++;
		v->now = o;
		return 0;
	}
	if (xp_grow(&r->v, &r->cap, r->n, sizeof(*r->v), 32) < 0) {
		origin_release(&o);
		return -ENOMEM;
	}
	v = &r->v[r->n];
	memset(v, 0, sizeof(*v));
	if (!(v->key = strdup(key))) {
		origin_release(&o);
		return -ENOMEM;
	}
	v->now = o;
	v->secret = xp_profile_key_secret(key);
	r->n++;
	return 0;
}

/* The server's settings in force, stored or default. */
static int put_settings(struct xp_inv *inv, struct xp_report *r)
{
	struct xp_settings st = {0}, dflt = {0};
	int e = xp_server_settings_effective(inv, &st, &dflt);
	for (size_t i = 0; e == 0 && i < st.n; i++)
		e = put(r, st.v[i].key, xp_settings_get(&dflt, st.v[i].key) ? "default" : "setting",
			NULL, st.v[i].value);
	xp_settings_release(&st);
	xp_settings_release(&dflt);
	return e;
}

/* The distro's fields as distro.*; -ENOENT when it is not there. */
static int put_distro(struct xp_inv *inv, struct xp_report *r, const char *name, bool own)
{
	struct xp_distro d = {0};
	int e = xp_distro_get(inv, name, &d);
	if (e < 0)
		return e;
	const struct {
		const char *key, *value;
	} f[] = {
	    {"distro", own ? d.name : NULL},
	    {"distro.kernel", d.kernel},
	    {"distro.kernel-sha256", d.kernel_sha256},
	    {"distro.initrd", d.initrd},
	    {"distro.initrd-sha256", d.initrd_sha256},
	    {"distro.arch", d.arch},
	    {"distro.kernel-options", d.kernel_options},
	    {"distro.served",
	     xp_distro_in_store(&d) ? "yes" : "no (its files are not in the store)"},
	};
	for (size_t i = 0; e == 0 && i < sizeof(f) / sizeof(f[0]); i++)
		e = put(r, f[i].key, "distro", d.name, f[i].value);
	xp_distro_release(&d);
	return e;
}

/* A profile and its ancestors, the profile first (xp_profile_chain). */
struct chain {
	struct xp_profile *v;
	size_t n;
};

static void chain_release(struct chain *c)
{
	xp_profile_chain_free(c->v, c->n);
	memset(c, 0, sizeof(*c));
}

static int chain_read(struct xp_inv *inv, const char *name, struct chain *c)
{
	return xp_profile_chain(inv, name, &c->v, &c->n);
}

/* Each profile's own values, the farthest ancestor first ("parent profile"), the
 * profile itself last ("profile"). */
static int put_chain(struct xp_report *r, const struct chain *c)
{
	int e = 0;
	for (size_t i = c->n; e == 0 && i-- > 0;)
		for (size_t k = 0; e == 0 && k < c->v[i].set.n; k++)
			e = put(r, c->v[i].set.v[k].key, i ? "parent profile" : "profile",
				c->v[i].name, c->v[i].set.v[k].value);
	return e;
}

/* The value of key the chain gives (the nearest profile's) and which profile. */
static const char *chain_value(const struct chain *c, const char *key, const char **from)
{
	for (size_t i = 0; i < c->n; i++) {
		const char *v = xp_settings_get(&c->v[i].set, key);
		if (v) {
			*from = c->v[i].name;
			return v;
		}
	}
	return NULL;
}

/* settings, the chain's distro (when there), the chain */
static int explain_profile(struct xp_inv *inv, const char *name, struct xp_report *r,
			   struct chain *c)
{
	int e = chain_read(inv, name, c);
	if (e < 0)
		return e;
	const char *from, *distro = chain_value(c, "distro", &from);
	e = put_settings(inv, r);
	if (e == 0 && distro && (e = put_distro(inv, r, distro, false)) == -ENOENT)
		e = 0; /* named but not there: check says so */
	if (e == 0)
		e = put_chain(r, c);
	return e;
}

static int explain_system(struct xp_inv *inv, const char *name, struct xp_report *r)
{
	struct xp_system s = {0};
	int e = xp_system_get(inv, name, &s);
	if (e < 0)
		return e;
	struct chain c = {0};
	const char *distro = s.distro, *from = NULL;
	if (s.profile) {
		e = explain_profile(inv, s.profile, r, &c);
		distro = chain_value(&c, "distro", &from);
	} else {
		e = put_settings(inv, r);
		if (e == 0 && (e = put_distro(inv, r, s.distro, false)) == -ENOENT)
			e = 0;
	}
	const struct {
		const char *key, *value;
	} f[] = {
	    {"name", s.name},
	    {"mac", s.mac},
	    {"ip", s.ip},
	    {"profile", s.profile},
	    {"distro", s.distro},
	    {"hostname", s.hostname},
	    {"netboot", s.netboot ? "on" : "off"},
	    {"kernel-options", s.kernel_options},
	};
	for (size_t i = 0; e == 0 && i < sizeof(f) / sizeof(f[0]); i++)
		e = put(r, f[i].key, "system", s.name, f[i].value);
	if (e == 0 && !s.hostname)
		e = put(r, "hostname", "derived", s.name, s.name); /* the boot server's default */
	/* what the boot server writes: the distro's options, the system's, hostname= */
	if (e == 0 && s.netboot && distro) {
		const struct xp_report_value *dk = xp_report_get(r, "distro.kernel-options");
		struct xp_buf b = XP_BUF_INIT;
		if (dk)
			xp_buf_addf(&b, "%s ", dk->now.value);
		if (s.kernel_options)
			xp_buf_addf(&b, "%s ", s.kernel_options);
		xp_buf_addf(&b, "hostname=%s", s.hostname ? s.hostname : s.name);
		e = xp_buf_error(&b);
		if (e == 0)
			e = put(r, "boot.command-line", "derived",
				dk ? "distro.kernel-options, kernel-options, hostname"
				   : "kernel-options, hostname",
				xp_buf_str(&b));
		xp_buf_release(&b);
	}
	/* its autoinstall mark and the last install's steps, oldest first */
	struct xp_install_state in = {0};
	if (e == 0)
		e = xp_install_get(inv, name, &in);
	if (e == 0)
		e = put(r, "install", "system", s.name, in.marked ? "on" : "off");
	if (e == 0 && in.n_ev) {
		struct xp_buf b = XP_BUF_INIT;
		for (size_t i = 0; i < in.n_ev; i++)
			xp_buf_addf(&b, "%s%s %s%s%s", i ? "; " : "", in.ev[i].kind, in.ev[i].step,
				    in.ev[i].message ? ": " : "",
				    in.ev[i].message ? in.ev[i].message : "");
		e = xp_buf_error(&b);
		if (e == 0)
			e = put(r, "install.last", "derived", "install events", xp_buf_str(&b));
		xp_buf_release(&b);
	}
	xp_install_state_release(&in);
	chain_release(&c);
	xp_system_release(&s);
	return e;
}

/* "profile" for the domain's own profile, "parent profile" for an ancestor. */
static const char *chain_source(const char *from, const char *profile)
{
	return profile && from && strcmp(from, profile) == 0 ? "profile" : "parent profile";
}

static int explain_domain(struct xp_inv *inv, const char *name, struct xp_report *r)
{
	struct xp_domain d = {0};
	int e = xp_domain_get(inv, name, &d);
	if (e < 0)
		return e;
	struct chain c = {0};
	if (d.profile && (e = chain_read(inv, d.profile, &c)) == -ENOENT)
		e = 0;
	/* each value it was made with: its own, its profile's still, or recorded only
	 * (the profile now says otherwise or nothing: domain diff tells) */
	for (size_t i = 0; e == 0 && i < d.settings.n; i++) {
		const char *key = d.settings.v[i].key, *value = d.settings.v[i].value;
		const char *from = NULL, *now = chain_value(&c, key, &from);
		if (xp_settings_get(&d.overrides, key)) {
			if (now)
				e = put(r, key, chain_source(from, d.profile), from, now);
			if (e == 0)
				e = put(r, key, "domain", d.name, value);
		} else if (now && strcmp(now, value) == 0) {
			e = put(r, key, chain_source(from, d.profile), from, now);
		} else {
			if (now)
				e = put(r, key, chain_source(from, d.profile), from, now);
			if (e == 0)
				e = put(r, key, "recorded", d.name, value);
		}
	}
	char prefix[8];
	snprintf(prefix, sizeof(prefix), "%u", d.prefix_len);
	const struct {
		const char *key, *value;
	} f[] = {
	    {"name", d.name},	    {"profile", d.profile}, {"state", d.state},
	    {"mac", d.mac},	    {"ip", d.ip},	    {"prefix", d.ip ? prefix : NULL},
	    {"storage", d.storage}, {"disk", d.disk_path},  {"config", d.config_path},
	    {"golden", d.golden},
	};
	for (size_t i = 0; e == 0 && i < sizeof(f) / sizeof(f[0]); i++)
		e = put(r, f[i].key, "domain", d.name, f[i].value);
	chain_release(&c);
	xp_domain_release(&d);
	return e;
}

static int explain_lease(struct xp_inv *inv, const char *name, struct xp_report *r)
{
	struct in_addr a;
	if (inet_pton(AF_INET, name, &a) != 1)
		return -ENOENT;
	uint32_t ip = ntohl(a.s_addr);
	struct xp_dhcp_lease *v = NULL;
	size_t n = 0;
	int e = xp_lease_load(inv, &v, &n);
	if (e < 0)
		return e;
	const struct xp_dhcp_lease *l = NULL;
	for (size_t i = 0; i < n && !l; i++)
		if (v[i].ip == ip)
			l = &v[i];
	e = l ? 0 : -ENOENT;
	if (l) {
		static const char *const states[] = {"bound", "released", "declined"};
		char mac[18], expires[24];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1],
			 l->mac[2], l->mac[3], l->mac[4], l->mac[5]);
		snprintf(expires, sizeof(expires), "%lld", (long long)l->expires);
		const struct {
			const char *key, *value;
		} f[] = {
		    {"ip", name},
		    {"mac", mac},
		    {"hostname", l->hostname[0] ? l->hostname : NULL},
		    {"state", (unsigned)l->state < 3 ? states[l->state] : "bound"},
		    {"expires", expires},
		};
		for (size_t i = 0; e == 0 && i < sizeof(f) / sizeof(f[0]); i++)
			e = put(r, f[i].key, "lease", name, f[i].value);
	}
	free(v);
	return e;
}

int xp_report_explain(struct xp_inv *inv, const char *kind, const char *name, struct xp_report *out)
{
	memset(out, 0, sizeof(*out));
	int e;
	if (strcmp(kind, "distro") == 0) {
		struct xp_distro d = {0};
		e = xp_distro_get(inv, name, &d); /* not there: nothing of the settings */
		xp_distro_release(&d);
		if (e == 0)
			e = put_settings(inv, out);
		if (e == 0)
			e = put_distro(inv, out, name, true);
	} else if (strcmp(kind, "profile") == 0) {
		struct chain c;
		e = explain_profile(inv, name, out, &c);
		chain_release(&c);
	} else if (strcmp(kind, "system") == 0) {
		e = explain_system(inv, name, out);
	} else if (strcmp(kind, "domain") == 0) {
		e = explain_domain(inv, name, out);
	} else if (strcmp(kind, "lease") == 0) {
		e = explain_lease(inv, name, out);
	} else {
		e = -EINVAL;
	}
	if (e < 0)
		xp_report_release(out);
	return e;
}
