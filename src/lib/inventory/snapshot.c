/*
 * snapshot.c - the whole inventory in a few set-based queries (inventory-snapshot.h):
 * one query per table, each row read once, in one read transaction. `check` and
 * `report` read it; neither ever queries per record.
 *
 * Not here: what the rows mean for provisioning (lib/check/), one record's values with
 * their origins (report.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/values-internal.h"
#include "xenprov/inventory-snapshot.h"
#include "xenprov/leases.h"

/* Reads columns 0..n-1 as text into the n string fields at dst[i] (NULL stays NULL). */
static int read_texts(struct xp_db_stmt *st, char **const *dst, int n)
{
	for (int i = 0; i < n; i++) {
		if (xp__db_column_null(st, i))
			continue;
		if (!(*dst[i] = xp__col_text(st, i)))
			return -ENOMEM;
	}
	return 1;
}

static void profile_release(void *row)
{
	struct xp_snap_profile *p = row;
	free(p->name);
	free(p->parent);
	xp_settings_release(&p->own);
}

static int read_profile(struct xp_db_stmt *st, void *row)
{
	struct xp_snap_profile *p = row;
	memset(p, 0, sizeof(*p));
	char **const f[] = {&p->name, &p->parent};
	int r = read_texts(st, f, 2);
	if (r < 0)
		profile_release(p);
	return r;
}

static void distro_release(void *row)
{
	xp_distro_release(row);
}

static void system_release(void *row)
{
	xp_system_release(row);
}

static void domain_release(void *row)
{
	struct xp_snap_domain *d = row;
	free(d->name);
	free(d->profile);
	free(d->state);
	free(d->mac);
	free(d->ip);
	free(d->config_path);
	free(d->disk_path);
}

static int read_domain(struct xp_db_stmt *st, void *row)
{
	struct xp_snap_domain *d = row;
	memset(d, 0, sizeof(*d));
	char **const f[] = {&d->name, &d->profile,     &d->state,    &d->mac,
			    &d->ip,   &d->config_path, &d->disk_path};
	int r = read_texts(st, f, 7);
	if (r < 0)
		domain_release(d);
	return r;
}

static void nic_release(void *row)
{
	struct xp_snap_nic *n = row;
	free(n->domain);
	free(n->mac);
	free(n->ip);
}

static int read_nic(struct xp_db_stmt *st, void *row)
{
	struct xp_snap_nic *n = row;
	memset(n, 0, sizeof(*n));
	char **const f[] = {&n->domain, &n->mac, &n->ip};
	int r = read_texts(st, f, 3);
	n->devid = (unsigned)xp__db_column_int(st, 3);
	if (r < 0)
		nic_release(n);
	return r;
}

/* Runs sql and collects its rows (xp__inv_rows). */
static int rows(struct xp_inv *inv, const char *sql, void *vp, size_t *n, size_t size,
		int (*read)(struct xp_db_stmt *, void *), void (*release)(void *))
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, sql, &st);
	return r < 0 ? r : xp__inv_rows(inv, st, vp, n, size, 16, read, release);
}

/* Every profile's own values, into the profiles (sorted by name) in one pass. */
static int read_settings(struct xp_inv *inv, struct xp_inv_snapshot *s)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(
	    inv, "SELECT profile, key, value FROM profile_settings ORDER BY profile, seq", &st);
	if (r < 0)
		return r;
	int rc;
	size_t at = 0; /* both sorted by profile: a merge */
	while (r == 0 && (rc = xp__db_step(st)) == XP_DB_ROW) {
		const char *name = xp__db_column_text(st, 0);
		while (at < s->nprofiles && strcmp(s->profiles[at].name, name) < 0)
			at++;
		if (at == s->nprofiles || strcmp(s->profiles[at].name, name) != 0)
			continue;
		r = xp_settings_set(&s->profiles[at].own, xp__db_column_text(st, 1),
				    xp__db_column_text(st, 2));
	}
	if (r == 0 && rc != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}

void xp_snapshot_release(struct xp_inv_snapshot *s)
{
	for (size_t i = 0; i < s->nprofiles; i++)
		profile_release(&s->profiles[i]);
	for (size_t i = 0; i < s->ndistros; i++)
		distro_release(&s->distros[i]);
	for (size_t i = 0; i < s->nsystems; i++)
		system_release(&s->systems[i]);
	for (size_t i = 0; i < s->ndomains; i++)
		domain_release(&s->domains[i]);
	for (size_t i = 0; i < s->nnics; i++)
		nic_release(&s->nics[i]);
	free(s->profiles);
	free(s->distros);
	free(s->systems);
	free(s->domains);
	free(s->nics);
	free(s->leases);
	xp_strv_free(s->install_marked, s->ninstall_marked);
	memset(s, 0, sizeof(*s));
}

int xp_snapshot_read(struct xp_inv *inv, struct xp_inv_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	/* a deferred (read) transaction, as xp_profile_resolve's: one consistent view
	 * that does not queue behind writers; inside the caller's, that one */
	bool own = inv->depth == 0;
	int r = own ? xp__inv_exec(inv, "BEGIN") : 0;
	if (r == 0)
		r = rows(inv, "SELECT name, parent FROM profiles ORDER BY name", &out->profiles,
			 &out->nprofiles, sizeof(*out->profiles), read_profile, profile_release);
	if (r == 0)
		r = read_settings(inv, out);
	if (r == 0)
		r = rows(inv, XP__DISTRO_SELECT " ORDER BY name", &out->distros, &out->ndistros,
			 sizeof(*out->distros), xp__distro_row, distro_release);
	if (r == 0)
		r = rows(inv, XP__SYSTEM_SELECT " ORDER BY name", &out->systems, &out->nsystems,
			 sizeof(*out->systems), xp__system_row, system_release);
	if (r == 0)
		r = rows(inv,
			 "SELECT name, profile, state, mac, ip, config_path, disk_path FROM domains"
			 " ORDER BY name",
			 &out->domains, &out->ndomains, sizeof(*out->domains), read_domain,
			 domain_release);
	if (r == 0)
		r = rows(inv,
			 "SELECT domain, mac, ip, devid FROM domain_nics ORDER BY domain, devid",
			 &out->nics, &out->nnics, sizeof(*out->nics), read_nic, nic_release);
	if (r == 0)
		r = xp_lease_load(inv, &out->leases, &out->nleases);
	if (r == 0)
		r = xp__inv_names(inv,
				  "SELECT system FROM system_installs WHERE marked <> 0 ORDER BY system",
				  &out->install_marked, &out->ninstall_marked);
	if (own && inv->depth == 0)
		xp__db_exec(inv->db, "COMMIT");
	if (r < 0)
		xp_snapshot_release(out);
	return r;
}

static int by_name(const void *key, const void *elem)
{
	/* every element type begins with its char *name */
	return strcmp(key, *(char *const *)elem);
}

#define FIND(arr, n, name) ((name) ? bsearch((name), (arr), (n), sizeof(*(arr)), by_name) : NULL)

const struct xp_snap_profile *xp_snap_profile_find(const struct xp_inv_snapshot *s,
						   const char *name)
{
	return FIND(s->profiles, s->nprofiles, name);
}

const struct xp_distro *xp_snap_distro_find(const struct xp_inv_snapshot *s, const char *name)
{
	return FIND(s->distros, s->ndistros, name);
}

const struct xp_system *xp_snap_system_find(const struct xp_inv_snapshot *s, const char *name)
{
	return FIND(s->systems, s->nsystems, name);
}

const struct xp_snap_domain *xp_snap_domain_find(const struct xp_inv_snapshot *s, const char *name)
{
	return FIND(s->domains, s->ndomains, name);
}

const char *xp_snap_profile_value(const struct xp_inv_snapshot *s, const char *name,
				  const char *key, const char **from)
{
	/* a chain is bounded when made; a loop (a row written behind the store's back)
	 * ends the walk after as many steps as there are profiles */
	const struct xp_snap_profile *p = xp_snap_profile_find(s, name);
	for (size_t steps = 0; p && steps <= s->nprofiles; steps++) {
		const char *v = xp_settings_get(&p->own, key);
		if (v) {
			if (from)
				*from = p->name;
			return v;
		}
		p = p->parent ? xp_snap_profile_find(s, p->parent) : NULL;
	}
	return NULL;
}
