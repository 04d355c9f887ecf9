/*
 * domains.c - the record of what exists: the domains table (one row per guest, with its
 * MAC and IP, both UNIQUE, its storage, disk and config paths, the effective profile
 * values as JSON), the artifacts table (what a create planned to make, so a failure
 * or a delete removes exactly that), and a guest's further disks (domain_disks, planned
 * like the artifacts) and NICs (domain_nics: MACs and IPs unique with the domains').
 *
 * Not here: deciding what to make and making it (deploy/domain.c), the allocators
 * (deploy/alloc.c), deploy runs (deploys.c).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "inventory/values-internal.h"

void xp_domain_release(struct xp_domain *dom)
{
	if (!dom)
		return;
	xp_domain_volumes_free(dom->volumes, dom->nvolumes);
	xp_domain_nics_free(dom->nics, dom->nnics);
	free(dom->name);
	free(dom->profile);
	free(dom->state);
	free(dom->mac);
	free(dom->ip);
	free(dom->storage);
	free(dom->disk_path);
	free(dom->config_path);
	free(dom->golden);
	free(dom->image_version);
	free(dom->dom0);
	xp_settings_release(&dom->settings);
	xp_settings_release(&dom->overrides);
	memset(dom, 0, sizeof(*dom));
}

void xp_domain_list_free(struct xp_domain *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		xp_domain_release(&v[i]);
	free(v);
}

#define DOMAIN_COLUMNS                                                                             \
	"name, profile, state, mac, ip, storage, disk_path, config_path, settings, created, "      \
	"updated, (SELECT image || '@' || version FROM domain_images WHERE domain = name), "      \
	"(SELECT dom0 FROM domain_hosts WHERE domain = name)"

/* Settings as a JSON object {KEY: VALUE...}; NULL if out of memory. */
static json_t *kv_json(const struct xp_settings *s)
{
	json_t *kv = json_object();
	for (size_t i = 0; kv && s && i < s->n; i++)
		json_object_set_new(kv, s->v[i].key, json_string(s->v[i].value));
	return kv;
}

/* The settings column: {"settings": {KEY: VALUE...}, "golden": PATH, "prefix": N,
 * "overrides": {KEY: VALUE...}} (the guest's own values among settings: those the
 * profile's do not replace when the guest is compared with it, xenprov/drift.h). */
static char *settings_json(const struct xp_settings *s, const char *golden, unsigned prefix,
			   const struct xp_settings *overrides)
{
	json_t *o = json_object(), *kv = kv_json(s);
	if (!o || !kv) {
		json_decref(o);
		json_decref(kv);
		return NULL;
	}
	json_object_set_new(o, "settings", kv);
	if (golden)
		json_object_set_new(o, "golden", json_string(golden));
	if (prefix)
		json_object_set_new(o, "prefix", json_integer(prefix));
	if (overrides && overrides->n)
		json_object_set_new(o, "overrides", kv_json(overrides));
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* The string members of a JSON object into s. */
static int kv_read(json_t *kv, struct xp_settings *s)
{
	const char *key;
	json_t *v;
	json_object_foreach(kv, key, v)
	{
		int r = json_is_string(v) ? xp_settings_set(s, key, json_string_value(v)) : 0;
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_settings(const char *text, struct xp_domain *dom)
{
	json_t *o = json_loads(text ? text : "{}", 0, NULL);
	if (!o)
		return 0; /* not ours to judge: show the rest */
	int r = kv_read(json_object_get(o, "settings"), &dom->settings);
	if (r == 0)
		r = kv_read(json_object_get(o, "overrides"), &dom->overrides);
	json_t *g = json_object_get(o, "golden");
	if (r == 0 && json_is_string(g) && !(dom->golden = strdup(json_string_value(g))))
		r = -ENOMEM;
	json_t *p = json_object_get(o, "prefix");
	if (json_is_integer(p) && json_integer_value(p) > 0 && json_integer_value(p) <= 32)
		dom->prefix_len = (unsigned)json_integer_value(p);
	json_decref(o);
	return r;
}

static int read_row(struct xp_db_stmt *st, struct xp_domain *dom)
{
	memset(dom, 0, sizeof(*dom));
	int r = 0;
	char **cols[] = {&dom->name, &dom->profile, &dom->state,     &dom->mac,
			 &dom->ip,   &dom->storage, &dom->disk_path, &dom->config_path};
	for (int i = 0; i < 8 && r == 0; i++)
		if (!xp__db_column_null(st, i) && !(*cols[i] = xp__col_text(st, i)))
			r = -ENOMEM;
	if (r == 0)
		r = parse_settings(xp__db_column_text(st, 8), dom);
	dom->created = xp__db_column_int64(st, 9);
	dom->updated = xp__db_column_int64(st, 10);
	if (r == 0 && !xp__db_column_null(st, 11) && !(dom->image_version = xp__col_text(st, 11)))
		r = -ENOMEM;
	if (r == 0 && !xp__db_column_null(st, 12) && !(dom->dom0 = xp__col_text(st, 12)))
		r = -ENOMEM;
	if (r < 0)
		xp_domain_release(dom);
	return r;
}

/* ---- further disks and NICs --------------------------------------------------------- */

static void disk_release(void *row)
{
	struct xp_domain_volume *k = row;
	free(k->vdev);
	free(k->role);
	free(k->storage);
	free(k->path);
	free(k->fs);
	free(k->uuid);
	free(k->mount);
}

static int disk_row(struct xp_db_stmt *st, void *row)
{
	struct xp_domain_volume *k = row;
	memset(k, 0, sizeof(*k));
	char **text[] = {&k->vdev, &k->role, &k->storage, &k->path, &k->fs, &k->uuid, &k->mount};
	int cols[] = {0, 1, 2, 3, 5, 6, 7};
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		if (!xp__db_column_null(st, cols[i]) && !(*text[i] = xp__col_text(st, cols[i]))) {
			disk_release(k);
			return -ENOMEM;
		}
	k->size = (uint64_t)xp__db_column_int64(st, 4);
	return 1;
}

static void nic_release(void *row)
{
	struct xp_domain_nic *c = row;
	free(c->mac);
	free(c->ip);
	free(c->bridge);
	free(c->gateway);
}

void xp_domain_volumes_free(struct xp_domain_volume *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		disk_release(&v[i]);
	free(v);
}

void xp_domain_nics_free(struct xp_domain_nic *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		nic_release(&v[i]);
	free(v);
}

static int nic_row(struct xp_db_stmt *st, void *row)
{
	struct xp_domain_nic *c = row;
	memset(c, 0, sizeof(*c));
	c->devid = (unsigned)xp__db_column_int(st, 0);
	c->prefix_len = (unsigned)xp__db_column_int(st, 3);
	char **text[] = {&c->mac, &c->ip, &c->bridge, &c->gateway};
	int cols[] = {1, 2, 4, 5};
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		if (!xp__db_column_null(st, cols[i]) && !(*text[i] = xp__col_text(st, cols[i]))) {
			nic_release(c);
			return -ENOMEM;
		}
	return 1;
}

/* dom's further disks and NICs, read into it. */
static int read_devices(struct xp_inv *inv, struct xp_domain *dom)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv,
				    "SELECT vdev, role, storage, path, size, fs, uuid, mount"
				    " FROM domain_disks WHERE domain = ?1"
				    " ORDER BY length(vdev), vdev",
				    dom->name, &st);
	if (r == 0)
		r = xp__inv_rows(inv, st, &dom->volumes, &dom->nvolumes, sizeof(*dom->volumes), 2,
				 disk_row, disk_release);
	if (r == 0)
		r = xp__inv_prepare_arg(inv,
					"SELECT devid, mac, ip, prefix, bridge, gateway"
					" FROM domain_nics WHERE domain = ?1 ORDER BY devid",
					dom->name, &st);
	if (r == 0)
		r = xp__inv_rows(inv, st, &dom->nics, &dom->nnics, sizeof(*dom->nics), 2, nic_row,
				 nic_release);
	return r;
}

int xp_domain_get(struct xp_inv *inv, const char *name, struct xp_domain *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, "SELECT " DOMAIN_COLUMNS " FROM domains WHERE name = ?", name, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW)
		r = read_row(st, out);
	else
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	xp__db_finalize(st);
	if (r == 0 && (r = read_devices(inv, out)) < 0)
		xp_domain_release(out);
	return r;
}

static int list_row(struct xp_db_stmt *st, void *row)
{
	int r = read_row(st, row);
	return r < 0 ? r : 1;
}

static void list_row_release(void *row)
{
	xp_domain_release(row);
}

int xp_domain_list(struct xp_inv *inv, struct xp_domain **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, "SELECT " DOMAIN_COLUMNS " FROM domains ORDER BY name", &st);
	if (r < 0)
		return r;
	r = xp__inv_rows(inv, st, v, n, sizeof(**v), 16, list_row, list_row_release);
	for (size_t i = 0; r == 0 && i < *n; i++)
		r = read_devices(inv, &(*v)[i]);
	if (r < 0) {
		xp_domain_list_free(*v, *n);
		*v = NULL;
		*n = 0;
	}
	return r;
}

int xp_domain_mac_taken(struct xp_inv *inv, const char *mac)
{
	return xp__inv_exists(inv,
			      "SELECT 1 FROM domains WHERE mac = ?1"
			      " UNION ALL SELECT 1 FROM domain_nics WHERE mac = ?1",
			      mac);
}

int xp_domain_ip_taken(struct xp_inv *inv, const char *ip)
{
	return xp__inv_exists(inv,
			      "SELECT 1 FROM domains WHERE ip = ?1"
			      " UNION ALL SELECT 1 FROM domain_nics WHERE ip = ?1",
			      ip);
}

int xp_domain_holder(struct xp_inv *inv, bool ip, const char *value, char **name)
{
	*name = NULL;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv,
				    ip ? "SELECT name FROM domains WHERE ip = ?1 UNION ALL"
					 " SELECT domain FROM domain_nics WHERE ip = ?1"
				       : "SELECT name FROM domains WHERE mac = ?1 UNION ALL"
					 " SELECT domain FROM domain_nics WHERE mac = ?1",
				    value, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW)
		r = (*name = xp__col_text(st, 0)) ? 0 : -ENOMEM;
	else
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}

int xp_domain_ips(struct xp_inv *inv, char ***v, size_t *n)
{
	return xp__inv_names(inv,
			     "SELECT ip FROM domains WHERE ip IS NOT NULL"
			     " UNION ALL SELECT ip FROM domain_nics WHERE ip IS NOT NULL",
			     v, n);
}

/* Binds the texts args[0..n) to ?1..?n of st (NULL binds NULL; borrowed). */
static void bind_texts(struct xp_db_stmt *st, const char *const *args, int n)
{
	for (int i = 0; i < n; i++)
		if (args[i])
			xp__db_bind_text(st, i + 1, args[i]);
		else
			xp__db_bind_null(st, i + 1);
}

/* Runs sql with the texts args[0..n) bound to ?1..?n (NULL binds NULL) to its end. */
static int exec_bind(struct xp_inv *inv, const char *sql, const char *const *args, int n)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, sql, &st);
	if (r < 0)
		return r;
	bind_texts(st, args, n);
	return xp__inv_step_done(inv, st);
}

int xp_domain_insert(struct xp_inv *inv, const struct xp_domain_new *d)
{
	char *settings = settings_json(d->settings, d->golden, d->prefix_len, d->overrides);
	if (!settings)
		return -ENOMEM;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(
	    inv,
	    "INSERT INTO domains (name, profile, state, mac, ip, storage, disk_path,"
	    " config_path, settings, created, updated, deploy_id)"
	    " VALUES (?1, ?2, 'creating', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
	    &st);
	if (r < 0) {
		free(settings);
		return r;
	}
	const char *text[] = {d->name,	  d->profile,	d->mac,		d->ip,
			      d->storage, d->disk_path, d->config_path, settings};
	bind_texts(st, text, 8);
	xp__db_bind_int64(st, 9, time(NULL));
	if (d->deploy_id > 0)
		xp__db_bind_int64(st, 10, d->deploy_id);
	else
		xp__db_bind_null(st, 10);
	r = xp__inv_step_done(inv, st);
	free(settings);
	if (r < 0)
		return r;
	static const char ins[] = "INSERT INTO artifacts (domain, kind, path) VALUES (?, ?, ?)";
	const char *disk[] = {d->name, "disk", d->disk_path};
	const char *config[] = {d->name, "config", d->config_path};
	if ((!d->disk_kept && (r = exec_bind(inv, ins, disk, 3)) < 0) ||
	    (r = exec_bind(inv, ins, config, 3)) < 0)
		return r;
	struct utsname u;
	const char *host[] = {d->name, d->dom0 ? d->dom0 : uname(&u) == 0 ? u.nodename : "?"};
	if ((r = exec_bind(inv, "INSERT INTO domain_hosts (domain, dom0) VALUES (?, ?)", host, 2)) <
	    0)
		return r;
	for (size_t i = 0; r == 0 && i < d->nvolumes; i++) {
		const struct xp_domain_volume *k = &d->volumes[i];
		if ((r = xp__inv_prepare(inv,
					 "INSERT INTO domain_disks (domain, vdev, role, storage, path,"
					 " fs, uuid, mount, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
					 &st)) < 0)
			break;
		const char *col[] = {d->name, k->vdev, k->role, k->storage,
				      k->path, k->fs,	k->uuid, k->mount};
		bind_texts(st, col, 8);
		xp__db_bind_int64(st, 9, k->size);
		r = xp__inv_step_done(inv, st);
	}
	return r;
}

int xp_domain_nic_insert(struct xp_inv *inv, const char *name, const struct xp_domain_nic *nic)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv,
				"INSERT INTO domain_nics (domain, mac, ip, bridge, gateway, devid,"
				" prefix) VALUES (?, ?, ?, ?, ?, ?, ?)",
				&st);
	if (r < 0)
		return r;
	const char *text[] = {name, nic->mac, nic->ip, nic->bridge, nic->gateway};
	bind_texts(st, text, 5);
	xp__db_bind_int64(st, 6, (int)nic->devid);
	xp__db_bind_int64(st, 7, (int)nic->prefix_len);
	return xp__inv_step_done(inv, st);
}

int xp_domain_set_state(struct xp_inv *inv, const char *name, const char *state)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(
	    inv, "UPDATE domains SET state = ?1, updated = ?2 WHERE name = ?3", state, &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 2, time(NULL));
	xp__db_bind_text(st, 3, name);
	return xp__inv_step_done(inv, st);
}

int xp_domain_set_settings(struct xp_inv *inv, const char *name, const struct xp_settings *s)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(inv, "SELECT settings FROM domains WHERE name = ?", name, &st);
	if (r < 0)
		goto fail;
	int rc = xp__db_step(st);
	json_t *o = NULL;
	if (rc == XP_DB_ROW) {
		const char *text = xp__db_column_text(st, 0);
		o = json_loads(text ? text : "{}", 0, NULL);
	}
	xp__db_finalize(st);
	if (rc != XP_DB_ROW) {
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
		goto fail;
	}
	/* the column's other members (golden, prefix, overrides) stay as they are */
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	json_t *kv = kv_json(s);
	char *text = NULL;
	if (o && kv && json_object_set_new(o, "settings", kv) == 0)
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	else
		json_decref(kv);
	json_decref(o);
	if (!text) {
		r = -ENOMEM;
		goto fail;
	}
	r = xp__inv_prepare_arg(
	    inv, "UPDATE domains SET settings = ?1, updated = ?2 WHERE name = ?3", text, &st);
	if (r == 0) {
		xp__db_bind_int64(st, 2, time(NULL));
		xp__db_bind_text(st, 3, name);
		r = xp__inv_step_done(inv, st);
	}
	free(text);
	if (r < 0)
		goto fail;
	return xp_inv_commit(inv);
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_domain_forget(struct xp_inv *inv, const char *name)
{
	int r = xp__inv_run(inv, "DELETE FROM domains WHERE name = ?1", name);
	return r < 0 ? r : 0;
}

static void artifact_release(void *row)
{
	struct xp_artifact *a = row;
	free(a->kind);
	free(a->path);
}

void xp_artifacts_free(struct xp_artifact *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		artifact_release(&v[i]);
	free(v);
}

static int artifact_row(struct xp_db_stmt *st, void *row)
{
	struct xp_artifact *a = row;
	a->kind = xp__col_text(st, 0);
	a->path = xp__col_text(st, 1);
	if (a->kind && a->path)
		return 1;
	artifact_release(a);
	return -ENOMEM;
}

int xp_domain_artifacts(struct xp_inv *inv, const char *name, struct xp_artifact **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(
	    inv,
	    "SELECT kind, path FROM artifacts WHERE domain = ? AND kind IS NOT NULL"
	    " AND path IS NOT NULL ORDER BY kind",
	    name, &st);
	if (r < 0)
		return r;
	return xp__inv_rows(inv, st, v, n, sizeof(**v), 4, artifact_row, artifact_release);
}

int xp_domain_set_image_version(struct xp_inv *inv, const char *name, const char *image,
				unsigned version)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv,
				    "INSERT INTO domain_images (domain, image, version, updated)"
				    " SELECT name, ?2, ?3, ?4 FROM domains WHERE name = ?1"
				    " ON CONFLICT (domain) DO UPDATE SET image = excluded.image,"
				    " version = excluded.version, updated = excluded.updated",
				    name, &st);
	if (r < 0)
		return r;
	xp__db_bind_text(st, 2, image);
	xp__db_bind_int64(st, 3, version);
	xp__db_bind_int64(st, 4, time(NULL));
	r = xp__inv_step_done(inv, st);
	if (r == 0 && xp__db_changes(inv->db) == 0)
		r = -ENOENT;
	return r;
}
