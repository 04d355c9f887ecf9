/*
 * json.c - the JSON of the inventory's records (xenprov/inventory-json.h), one writer
 * per record for the command line, exports and the HTTP API alike.
 *
 * Not here: which records a view shows, or whether a caller may see secrets (the
 * command line's --secrets; the API never does).
 */
#include <string.h>

#include "xenprov/inventory-json.h"

json_t *xp_json_text(const char *text)
{
	if (!text)
		return json_null();
	json_t *j = json_string(text);
	if (j)
		return j;
	/* not UTF-8: each byte of an invalid sequence becomes U+FFFD */
	struct xp_buf b = XP_BUF_INIT;
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		size_t n = *p < 0x80	     ? 1
			   : (*p >> 5) == 6  ? 2
			   : (*p >> 4) == 14 ? 3
			   : (*p >> 3) == 30 ? 4
					     : 0;
		size_t k = 1;
		while (n && k < n && (p[k] & 0xc0) == 0x80)
			k++;
		if (n && k == n) {
			json_t *probe = json_stringn((const char *)p, n);
			if (probe) {
				json_decref(probe);
				xp_buf_add(&b, p, n);
				p += n;
				continue;
			}
		}
		xp_buf_adds(&b, "\xEF\xBF\xBD");
		p++;
	}
	j = json_string(xp_buf_str(&b));
	xp_buf_release(&b);
	return j;
}

void xp_json_withheld_add(json_t *withheld, const char *key)
{
	for (size_t j = 0; j < json_array_size(withheld); j++)
		if (strcmp(json_string_value(json_array_get(withheld, j)), key) == 0)
			return;
	json_array_append_new(withheld, json_string(key));
}

json_t *xp_settings_to_json(const struct xp_settings *s, bool secrets, json_t *withheld)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < s->n; i++) {
		const char *k = s->v[i].key;
		if (secrets || !xp_profile_key_secret(k))
			json_object_set_new(o, k, xp_json_text(s->v[i].value));
		else
			xp_json_withheld_add(withheld, k);
	}
	return o;
}

json_t *xp_distro_to_json(const struct xp_distro *d)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:I, s:I}", "name",
			 xp_json_text(d->name), "kernel", xp_json_text(d->kernel), "initrd",
			 xp_json_text(d->initrd), "kernel_sha256", xp_json_text(d->kernel_sha256),
			 "initrd_sha256", xp_json_text(d->initrd_sha256), "served",
			 xp_distro_in_store(d), "arch", xp_json_text(d->arch), "kernel_options",
			 xp_json_text(d->kernel_options), "os", xp_json_text(d->os), "created",
			 (json_int_t)d->created, "updated", (json_int_t)d->updated);
}

json_t *xp_system_to_json(const struct xp_system *s)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:I, s:I}", "name",
			 xp_json_text(s->name), "mac", xp_json_text(s->mac), "ip",
			 xp_json_text(s->ip), "profile", xp_json_text(s->profile), "distro",
			 xp_json_text(s->distro), "hostname", xp_json_text(s->hostname), "netboot",
			 s->netboot, "kernel_options", xp_json_text(s->kernel_options),
			 "autoinstall", xp_json_text(s->autoinstall), "created",
			 (json_int_t)s->created, "updated", (json_int_t)s->updated);
}

json_t *xp_profile_to_json(const struct xp_profile *p, bool secrets)
{
	json_t *withheld = json_array();
	json_t *j = json_pack("{s:o, s:o, s:o}", "name", xp_json_text(p->name), "parent",
			      xp_json_text(p->parent), "settings",
			      xp_settings_to_json(&p->set, secrets, withheld));
	if (j && json_array_size(withheld))
		json_object_set(j, "withheld", withheld);
	json_decref(withheld);
	return j;
}

json_t *xp_domain_to_json(const struct xp_domain *dom, bool secrets)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", xp_json_text(dom->name));
	json_object_set_new(o, "profile", xp_json_text(dom->profile));
	json_object_set_new(o, "state", xp_json_text(dom->state));
	json_object_set_new(o, "mac", xp_json_text(dom->mac));
	json_object_set_new(o, "ip", xp_json_text(dom->ip));
	if (dom->prefix_len)
		json_object_set_new(o, "prefix", json_integer(dom->prefix_len));
	json_object_set_new(o, "storage", xp_json_text(dom->storage));
	json_object_set_new(o, "disk", xp_json_text(dom->disk_path));
	json_object_set_new(o, "config", xp_json_text(dom->config_path));
	json_object_set_new(o, "golden", xp_json_text(dom->golden));
	json_object_set_new(o, "image_version", xp_json_text(dom->image_version));
	json_object_set_new(o, "dom0", xp_json_text(dom->dom0));
	json_t *disks = json_array(), *nics = json_array();
	for (size_t i = 0; i < dom->nvolumes; i++) {
		const struct xp_domain_volume *k = &dom->volumes[i];
		json_array_append_new(
		    disks, json_pack("{s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o}", "vdev",
				     xp_json_text(k->vdev), "role", xp_json_text(k->role), "storage",
				     xp_json_text(k->storage), "path", xp_json_text(k->path), "size",
				     (json_int_t)k->size, "fs", xp_json_text(k->fs), "uuid",
				     xp_json_text(k->uuid), "mount", xp_json_text(k->mount)));
	}
	for (size_t i = 0; i < dom->nnics; i++) {
		const struct xp_domain_nic *n = &dom->nics[i];
		json_t *j = json_pack("{s:I, s:o, s:o, s:o, s:o}", "devid", (json_int_t)n->devid,
				      "mac", xp_json_text(n->mac), "ip", xp_json_text(n->ip),
				      "bridge", xp_json_text(n->bridge), "gateway",
				      xp_json_text(n->gateway));
		if (j && n->prefix_len)
			json_object_set_new(j, "prefix", json_integer(n->prefix_len));
		json_array_append_new(nics, j);
	}
	json_object_set_new(o, "disks", disks);
	json_object_set_new(o, "nics", nics);
	json_t *withheld = json_array();
	json_object_set_new(o, "settings", xp_settings_to_json(&dom->settings, secrets, withheld));
	json_object_set_new(o, "withheld", withheld);
	json_t *own = json_array();
	for (size_t i = 0; i < dom->overrides.n; i++)
		json_array_append_new(own, json_string(dom->overrides.v[i].key));
	json_object_set_new(o, "overrides", own);
	json_object_set_new(o, "created", json_integer(dom->created));
	json_object_set_new(o, "updated", json_integer(dom->updated));
	return o;
}

/* A count, or null where the run did not record it (-1). */
static json_t *count_json(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

json_t *xp_deploy_record_to_json(const struct xp_deploy_record *rec)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer((json_int_t)rec->id));
	json_object_set_new(o, "profile", xp_json_text(rec->profile));
	json_object_set_new(o, "state", xp_json_text(rec->state));
	json_object_set_new(o, "started", json_integer((json_int_t)rec->started));
	json_object_set_new(o, "finished",
			    rec->finished ? json_integer((json_int_t)rec->finished) : json_null());
	json_object_set_new(o, "request", xp_json_text(rec->request));
	const struct xp_deploy_counts *c = &rec->counts;
	json_object_set_new(o, "total", count_json(c->total));
	json_object_set_new(o, "created", count_json(c->created));
	json_object_set_new(o, "skipped", count_json(c->skipped));
	json_object_set_new(o, "failed", count_json(c->failed));
	json_object_set_new(o, "cleaned", count_json(c->cleaned));
	json_object_set_new(o, "guests", json_integer((json_int_t)rec->guests));
	return o;
}
