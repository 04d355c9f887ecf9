/*
 * http-api.c - the JSON API of the inventory under /api/ (distros, profiles, systems,
 * leases), served by http.c's libmicrohttpd thread: reading for anyone on the boot
 * network, so no answer ever holds a secret (profiles' secret and host-only keys are
 * withheld, token or not); changing distros and systems (PUT, DELETE) with the bearer token, confined
 * to the files the operator's roots hold. The records' JSON is the one every view
 * writes (xenprov/inventory-json.h); the changes go through the same inventory
 * functions as the command line, so the same checks apply.
 *
 * Not here: the boot files, the listening sockets, the thread (http.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http-internal.h"
#include "xenprov/inventory-json.h"
#include "xenprov/inventory.h"
#include "xenprov/leases.h"
#include "xp-version.h"

/* ---- the JSON API ----------------------------------------------------------------------- */

/* Takes the host-only keys (XP_KEY_HOSTONLY: copy-in's host paths, firstboot commands)
 * out of a settings object, naming each in withheld once. */
static void withhold_hostonly(json_t *settings, json_t *withheld)
{
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(settings, tmp, k, v)
	{
		if (!xp_profile_key_hostonly(k))
			continue;
		xp_json_withheld_add(withheld, k);
		json_object_del(settings, k);
	}
}

/* A profile as the API shows it, to anyone, token or not: never a secret key's value
 * (XP_KEY_SECRET, profile.c's key table) nor a host-only one (XP_KEY_HOSTONLY); their
 * names go to "withheld" instead (always present here), so that a client can tell
 * "set" from "unset" without the value. */
static json_t *profile_json(struct xp_inv *inv, const struct xp_profile *p)
{
	json_t *o = xp_profile_to_json(p, false);
	if (!o)
		return NULL;
	json_t *withheld = json_object_get(o, "withheld");
	if (!withheld)
		json_object_set_new(o, "withheld", withheld = json_array());
	withhold_hostonly(json_object_get(o, "settings"), withheld);
	json_object_set_new(o, "created", json_integer(p->created));
	json_object_set_new(o, "updated", json_integer(p->updated));
	struct xp_settings eff = {0};
	if (xp_profile_resolve(inv, p->name, &eff) == 0) {
		json_t *e = xp_settings_to_json(&eff, false, withheld);
		withhold_hostonly(e, withheld);
		json_object_set_new(o, "effective", e);
	}
	xp_settings_release(&eff);
	return o;
}

enum kind { K_DISTROS, K_PROFILES, K_SYSTEMS };

static json_t *one(struct http_srv *h, enum kind k, const char *name, int *r)
{
	json_t *v = NULL;
	if (k == K_DISTROS) {
		struct xp_distro d = {0};
		if ((*r = xp_distro_get(h->inv, name, &d)) == 0)
			v = xp_distro_to_json(&d);
		xp_distro_release(&d);
	} else if (k == K_SYSTEMS) {
		struct xp_system s = {0};
		if ((*r = xp_system_get(h->inv, name, &s)) == 0)
			v = xp_system_to_json(&s);
		xp_system_release(&s);
	} else {
		struct xp_profile p = {0};
		if ((*r = xp_profile_get(h->inv, name, &p)) == 0)
			v = profile_json(h->inv, &p);
		xp_profile_release(&p);
	}
	return v;
}

static enum MHD_Result api_get(struct http_srv *h, struct MHD_Connection *c, enum kind k,
			       const char *name)
{
	int r;
	if (name) {
		json_t *v = one(h, k, name, &r);
		char msg[320];
		snprintf(msg, sizeof(msg), "no %s '%s'",
			 k == K_DISTROS	  ? "distro"
			 : k == K_SYSTEMS ? "system"
					  : "profile",
			 name);
		if (!v)
			return r == -ENOENT
				   ? xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, msg)
				   : xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
							  "cannot read the inventory");
		return xp__http_reply_json(c, MHD_HTTP_OK, v);
	}
	char **names;
	size_t n;
	r = k == K_DISTROS   ? xp_distro_list(h->inv, &names, &n)
	    : k == K_SYSTEMS ? xp_system_list(h->inv, &names, &n)
			     : xp_profile_list(h->inv, &names, &n);
	if (r < 0)
		return xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					    "cannot read the inventory");
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		json_t *v = one(h, k, names[i], &r);
		if (v)
			json_array_append_new(a, v);
	}
	xp_strv_free(names, n);
	return xp__http_reply_json(c, MHD_HTTP_OK, a);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static enum MHD_Result diags_reply(struct MHD_Connection *c, unsigned status,
				   const struct xp_diags *d, const char *fallback)
{
	const char *msg = d->n ? d->v[0].msg : fallback;
	return xp__http_reply_error(c, status, msg);
}

static enum MHD_Result api_put(struct http_srv *h, struct MHD_Connection *c, enum kind k,
			       const char *name, const struct xp_buf *body)
{
	json_error_t je;
	json_t *o = json_loadb(body->s ? body->s : "", body->len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return xp__http_reply_error(c, MHD_HTTP_BAD_REQUEST,
					    "the body is not a JSON object");
	}
	struct xp_diags d = {0};
	int r;
	bool exists;
	if (k == K_DISTROS) {
		struct xp_distro cur = {0};
		exists = xp_distro_get(h->inv, name, &cur) == 0;
		xp_distro_release(&cur);
		struct xp_distro x = {
		    .name = (char *)name,
		    .kernel = (char *)jstr(o, "kernel"),
		    .initrd = (char *)jstr(o, "initrd"),
		    .arch = (char *)jstr(o, "arch"),
		    .kernel_options = (char *)jstr(o, "kernel_options"),
		    .os = (char *)jstr(o, "os"),
		};
		/* whoever holds the token names only files beneath the roots the operator
		 * allowed (XP_DISTRO_CONFINED), or "sha256:HEX" of the store */
		r = exists ? xp_distro_update(h->inv, &x, XP_DISTRO_CONFINED, &d)
			   : xp_distro_add(h->inv, &x, XP_DISTRO_CONFINED, &d);
	} else {
		struct xp_system cur = {0};
		exists = xp_system_get(h->inv, name, &cur) == 0;
		xp_system_release(&cur);
		json_t *nb = json_object_get(o, "netboot");
		struct xp_system x = {
		    .name = (char *)name,
		    .mac = (char *)jstr(o, "mac"),
		    .ip = (char *)jstr(o, "ip"),
		    .profile = (char *)jstr(o, "profile"),
		    .distro = (char *)jstr(o, "distro"),
		    .hostname = (char *)jstr(o, "hostname"),
		    .netboot = nb ? json_is_true(nb) : true,
		    .kernel_options = (char *)jstr(o, "kernel_options"),
		    .autoinstall = (char *)jstr(o, "autoinstall"),
		};
		r = exists ? xp_system_update(h->inv, &x, &d) : xp_system_add(h->inv, &x, &d);
	}
	json_decref(o);
	enum MHD_Result res;
	if (r == 0) {
		json_t *v = one(h, k, name, &r);
		res = xp__http_reply_json(c, exists ? MHD_HTTP_OK : MHD_HTTP_CREATED, v);
	} else if (r == -EINVAL) {
		res = diags_reply(c, MHD_HTTP_BAD_REQUEST, &d, "invalid entry");
	} else if (r == -EACCES) {
		res = diags_reply(c, MHD_HTTP_FORBIDDEN, &d, "a file the API may not take");
	} else if (r == -EEXIST) {
		res = diags_reply(c, MHD_HTTP_CONFLICT, &d, "the MAC or IP is taken");
	} else if (r == -ENOENT) {
		res = diags_reply(c, 422, &d,
				  "the profile, distro or template named does not exist");
	} else {
		res = xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					   "cannot write the inventory");
	}
	xp_diags_release(&d);
	return res;
}

static enum MHD_Result api_delete(struct http_srv *h, struct MHD_Connection *c, enum kind k,
				  const char *name)
{
	int r = k == K_DISTROS ? xp_distro_remove(h->inv, name) : xp_system_remove(h->inv, name);
	if (r == 0)
		return xp__http_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "removed", name));
	if (r == -ENOENT)
		return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, "no such entry");
	if (r == -EBUSY)
		return xp__http_reply_error(c, MHD_HTTP_CONFLICT, "still in use");
	return xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "cannot write the inventory");
}

bool xp__http_authorized(struct http_srv *h, struct MHD_Connection *c)
{
	const char *a =
	    xp__mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!a || strncmp(a, "Bearer ", 7) != 0)
		return false;
	a += 7;
	size_t n = strlen(a);
	if (n != strlen(h->token))
		return false;
	unsigned char diff = 0; /* the same time whatever the first wrong byte */
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ h->token[i]);
	return diff == 0;
}

static enum MHD_Result api_leases(struct http_srv *h, struct MHD_Connection *c)
{
	struct xp_dhcp_lease *v;
	size_t n;
	if (xp_lease_load(h->inv, &v, &n) < 0)
		return xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					    "cannot read the leases");
	static const char *const states[] = {"bound", "released", "declined"};
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		char ip[INET_ADDRSTRLEN], mac[18];
		struct in_addr ia = {htonl(v[i].ip)};
		inet_ntop(AF_INET, &ia, ip, sizeof(ip));
		const uint8_t *m = v[i].mac;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		json_array_append_new(
		    a,
		    json_pack("{s:s, s:s, s:o, s:s, s:I}", "ip", ip, "mac", mac, "hostname",
			      v[i].hostname[0] ? json_string(v[i].hostname) : json_null(), "state",
			      states[v[i].state % 3], "expires", (json_int_t)v[i].expires));
	}
	free(v);
	return xp__http_reply_json(c, MHD_HTTP_OK, a);
}

enum MHD_Result xp__http_api(struct http_srv *h, struct MHD_Connection *c, const char *method,
			     const char *rest, const struct xp_buf *body, struct image_job **job)
{
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return xp__http_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only");
		return xp__http_reply_json(c, MHD_HTTP_OK,
					   json_pack("{s:s, s:[s,s,s,s]}", "version", XP_VERSION,
						     "collections", "/api/distros", "/api/profiles",
						     "/api/systems", "/api/leases"));
	}
	if (strcmp(rest, "/leases") == 0 || strcmp(rest, "/leases/") == 0) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return xp__http_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
						    "leases are read-only");
		return api_leases(h, c);
	}
	enum kind k;
	const char *p = rest + 1;
	size_t l;
	if (strncmp(p, "distros", l = 7) == 0)
		k = K_DISTROS;
	else if (strncmp(p, "profiles", l = 8) == 0)
		k = K_PROFILES;
	else if (strncmp(p, "systems", l = 7) == 0)
		k = K_SYSTEMS;
	else
		return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, "no such collection");
	p += l;
	const char *name = NULL;
	if (*p == '/' && p[1]) {
		name = p + 1;
		const char *sl = strchr(name, '/');
		/* /api/profiles/NAME/image: its golden image, published (http-images.c) */
		if (k == K_PROFILES && sl && strcmp(sl, "/image") == 0 && sl > name &&
		    (size_t)(sl - name) < 256) {
			if (strcmp(method, "GET") && strcmp(method, "HEAD"))
				return xp__http_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
							    "images are read-only");
			char pn[256];
			memcpy(pn, name, (size_t)(sl - name));
			pn[sl - name] = '\0';
			return xp__http_profile_image(h, c, pn, job);
		}
		/* /api/systems/NAME/events: an installer's, with its install's token */
		if (k == K_SYSTEMS && sl && strcmp(sl, "/events") == 0 && sl > name &&
		    (size_t)(sl - name) < 256) {
			char sn[256];
			memcpy(sn, name, (size_t)(sl - name));
			sn[sl - name] = '\0';
			return xp__http_install_event(h, c, method, sn, body);
		}
		if (sl)
			return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, "no such entry");
	} else if (*p && strcmp(p, "/") != 0) {
		return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, "no such collection");
	}
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return api_get(h, c, k, name);
	bool put = strcmp(method, "PUT") == 0, del = strcmp(method, "DELETE") == 0;
	if ((!put && !del) || !name || k == K_PROFILES)
		return xp__http_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					    k == K_PROFILES
						? "profiles are changed with 'xenprov profile'"
						: "use GET, or PUT/DELETE on one entry");
	if (!xp__http_authorized(h, c))
		return xp__http_reply_error(
		    c, MHD_HTTP_UNAUTHORIZED,
		    "changes need 'Authorization: Bearer TOKEN' (STATE/api-token)");
	return put ? api_put(h, c, k, name, body) : api_delete(h, c, k, name);
}
