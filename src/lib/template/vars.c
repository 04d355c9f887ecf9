/*
 * vars.c - the variables a template is rendered with (xenprov/template.h): one flat
 * JSON object blended from the profile's effective values, the distro, the boot
 * server's settings and the machine itself, the machine's own values last.
 *
 * Not here: reading them from the inventory (autoinstall.c), rendering (render.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/inventory-json.h"
#include "xenprov/template.h"

/* The profile keys never given to a template: write's content may be secret beyond
 * the password hash, and copy-in names files of the inventory's host. */
static bool withheld(const char *key)
{
	return strcmp(key, "write") == 0 || strcmp(key, "copy-in") == 0;
}

static int put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static json_t *text_or_null(const char *s)
{
	return s && *s ? xp_json_text(s) : json_null();
}

/* "a,b,c" as a list of strings. */
static json_t *comma_list(const char *s)
{
	json_t *a = json_array();
	for (const char *p = s; a && p && *p;) {
		size_t n = strcspn(p, ",");
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return a;
}

/* The dotted netmask of a prefix length. */
static void netmask(unsigned prefix, char out[16])
{
	uint32_t m = prefix ? ~0u << (32 - (prefix > 32 ? 32 : prefix)) : 0;
	struct in_addr a = {htonl(m)};
	inet_ntop(AF_INET, &a, out, 16);
}

/* s in single quotes for sh(1), a quote as '\'' */
static json_t *shell_word(const char *s)
{
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_add_squoted(&b, s);
	json_t *j = b.err ? NULL : xp_json_text(xp_buf_str(&b));
	xp_buf_release(&b);
	return j;
}

static json_t *json_word(const char *s)
{
	json_t *str = xp_json_text(s);
	char *text = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
	json_decref(str);
	json_t *j = text ? json_string(text) : NULL;
	free(text);
	return j;
}

static json_t *ssh_keys(const char *lines)
{
	json_t *a = json_array();
	for (const char *p = lines; a && p && *p;) {
		size_t n = strcspn(p, "\n");
		if (n) {
			char *key = strndup(p, n);
			json_t *o = key ? json_pack("{s:o, s:o, s:o}", "key", xp_json_text(key),
						    "shell", shell_word(key), "json",
						    json_word(key))
					: NULL;
			free(key);
			if (!o || json_array_append_new(a, o) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		p += n + (p[n] == '\n');
	}
	return a;
}

static json_t *nic_json(const struct xp_template_nic *n, size_t index)
{
	char mask[16] = "";
	if (n->ip)
		netmask(n->prefix, mask);
	json_t *ns = comma_list(n->dns);
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:o, s:b, s:o}", "index",
			 (json_int_t)index, "mac", text_or_null(n->mac), "ip", text_or_null(n->ip),
			 "prefix", n->ip ? json_integer(n->prefix) : json_null(), "netmask",
			 n->ip ? json_string(mask) : json_null(), "gateway",
			 text_or_null(n->gateway), "dhcp", n->dhcp, "static", !n->dhcp && n->ip,
			 "default-route", n->default_route, "nameservers", ns, "has-nameservers",
			 json_array_size(ns) > 0, "domain", text_or_null(n->domain));
}

/* The profile's values, each under its key (lists as lists of their items). */
static int profile_values(json_t *o, const struct xp_settings *s)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const char *k = s->v[i].key, *v = s->v[i].value;
		if (withheld(k))
			continue;
		if (!xp_profile_key_list(k)) {
			if (put(o, k, xp_json_text(v)) < 0)
				return -ENOMEM;
			continue;
		}
		char **items;
		size_t n;
		int r = xp_profile_list_items(k, v, &items, &n);
		if (r < 0)
			return r;
		json_t *a = json_array();
		for (size_t j = 0; a && j < n; j++)
			if (json_array_append_new(a, xp_json_text(items[j])) < 0) {
				json_decref(a);
				a = NULL;
			}
		xp_profile_list_free(items, n);
		if (put(o, k, a) < 0)
			return -ENOMEM;
	}
	return 0;
}

int xp_template_vars(const struct xp_template_subject *s, json_t **out)
{
	json_t *o = json_object();
	*out = NULL;
	if (!o)
		return -ENOMEM;
	int r = profile_values(o, s->settings);
	const char *host = s->hostname ? s->hostname : s->name;
	const char *domain = s->domain;
	if (!domain && s->settings)
		domain = xp_settings_get(s->settings, "domain");
	char *fqdn = NULL;
	if (r == 0 && (domain ? asprintf(&fqdn, "%s.%s", host, domain) : asprintf(&fqdn, "%s", host)) < 0) {
		fqdn = NULL;
		r = -ENOMEM;
	}
	const struct xp_template_nic *first = s->nnics ? &s->nics[0] : NULL;
	static const struct xp_template_nic none = {.dhcp = true, .default_route = true};
	const struct xp_template_nic *n0 = first ? first : &none;
	json_t *nics = json_array();
	for (size_t i = 0; nics && i < s->nnics; i++)
		if (json_array_append_new(nics, nic_json(&s->nics[i], i)) < 0) {
			json_decref(nics);
			nics = NULL;
		}
	char mask[16] = "";
	if (n0->ip)
		netmask(n0->prefix, mask);
	json_t *ns = comma_list(n0->dns);
	const char *keys = s->settings ? xp_settings_get(s->settings, "ssh-key") : NULL;
	json_t *sk = ssh_keys(keys);
	char iid[160] = "";
	snprintf(iid, sizeof(iid), "xenprov-%s%s%s", s->name, n0->mac ? "-" : "",
		 n0->mac ? n0->mac : "");
	for (char *p = iid; *p; p++)
		if (*p == ':')
			*p = '-';
	const char *pw = s->settings ? xp_settings_get(s->settings, "root-password-hash") : NULL;
	const char *server = s->server ? xp_settings_get(s->server, "server") : NULL;
	const char *next = s->server ? xp_settings_get(s->server, "next-server") : NULL;
	struct {
		const char *key;
		json_t *v;
	} over[] = {
	    {"name", xp_json_text(s->name)},
	    {"hostname", xp_json_text(host)},
	    {"domain", text_or_null(domain)},
	    {"fqdn", fqdn ? xp_json_text(fqdn) : NULL},
	    {"mac", text_or_null(n0->mac)},
	    {"ip", text_or_null(n0->ip)},
	    {"prefix", n0->ip ? json_integer(n0->prefix) : json_null()},
	    {"netmask", n0->ip ? json_string(mask) : json_null()},
	    {"gateway", text_or_null(n0->gateway)},
	    {"nameservers", ns},
	    {"has-nameservers", json_boolean(json_array_size(ns) > 0)},
	    {"static", json_boolean(!n0->dhcp && n0->ip)},
	    {"dhcp", json_boolean(n0->dhcp)},
	    {"nics", nics},
	    {"ssh-keys", sk},
	    {"has-ssh-keys", json_boolean(json_array_size(sk) > 0)},
	    {"root-password-hash", text_or_null(pw)},
	    {"profile", text_or_null(s->profile)},
	    {"distro", text_or_null(s->distro ? s->distro->name
					      : s->settings ? xp_settings_get(s->settings, "distro")
							    : NULL)},
	    {"arch", text_or_null(s->distro ? s->distro->arch : NULL)},
	    {"os", text_or_null(s->distro ? s->distro->os : NULL)},
	    {"server", text_or_null(server)},
	    {"next-server", text_or_null(next ? next : server)},
	    {"http-base", text_or_null(s->http_base)},
	    {"autoinstall-url", text_or_null(s->autoinstall_url)},
	    {"kernel-options", text_or_null(s->kernel_options)},
	    {"instance-id", xp_json_text(iid)},
	};
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		if (r == 0)
			r = put(o, over[i].key, over[i].v);
		else
			json_decref(over[i].v);
	}
	free(fqdn);
	if (r < 0) {
		json_decref(o);
		return r;
	}
	*out = o;
	return 0;
}
