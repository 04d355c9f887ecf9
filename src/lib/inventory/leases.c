/*
 * leases.c - DHCP leases in the inventory (table `leases`, schema step 2): one row per
 * address, keyed by the address as an integer, the client's identity (option 61 or
 * hardware type + address) as a blob. One boot server on SQLite writes its changes
 * (xp_lease_save); several on PostgreSQL claim each address (xp_lease_claim), offers
 * too, so that the primary key decides between servers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/store-internal.h"
#include "inventory/values-internal.h"
#include "util/names.h"
#include "xenprov/leases.h"

/* A lease's state as stored; anything else stored reads as bound. */
static const char *const state_names[] = {[XP_LEASE_BOUND] = "bound",
					  [XP_LEASE_RELEASED] = "released",
					  [XP_LEASE_DECLINED] = "declined",
					  [XP_LEASE_OFFERED] = "offered"};
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

static const char *state_name(enum xp_dhcp_lease_state st)
{
	return xp__name_of(state_names, NSTATES, st, "bound");
}

static enum xp_dhcp_lease_state state_value(const char *s)
{
	int v = xp__value_of(state_names, NSTATES, s);
	return v < 0 ? XP_LEASE_BOUND : (enum xp_dhcp_lease_state)v;
}

static void mac_text(const uint8_t mac[6], char out[18])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 6; i++) {
		out[i * 3] = hex[mac[i] >> 4];
		out[i * 3 + 1] = hex[mac[i] & 15];
		out[i * 3 + 2] = i == 5 ? '\0' : ':';
	}
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4],
			 &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* Binds a lease as ?1 to ?6 of the writes: ip, client, mac, hostname, state, expires. */
static void bind_lease(struct xp_db_stmt *st, const struct xp_dhcp_lease *l)
{
	char mac[18];
	mac_text(l->mac, mac);
	xp__db_bind_int64(st, 1, l->ip);
	xp__db_bind_blob(st, 2, l->client, l->client_len);
	xp__db_bind_text(st, 3, mac);
	if (l->hostname[0])
		xp__db_bind_text(st, 4, l->hostname);
	else
		xp__db_bind_null(st, 4);
	xp__db_bind_text(st, 5, state_name(l->state));
	xp__db_bind_int64(st, 6, l->expires);
}

int xp_lease_save(struct xp_inv *inv, const struct xp_dhcp_lease *v, size_t n)
{
	if (n == 0)
		return 0;
	/* prepared once per connection: the server saves a batch per wake-up */
	int r = 0;
	if (!inv->lease_del)
		r = xp__inv_prepare(inv, "DELETE FROM leases WHERE client = ?1 AND ip <> ?2",
				    &inv->lease_del);
	if (r == 0 && !inv->lease_put)
		r = xp__inv_prepare(
		    inv,
		    "INSERT INTO leases"
		    " (ip, client, mac, hostname, state, expires, updated)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (ip) DO UPDATE SET"
		    " client = excluded.client, mac = excluded.mac,"
		    " hostname = excluded.hostname, state = excluded.state,"
		    " expires = excluded.expires, updated = excluded.updated",
		    &inv->lease_put);
	if (r < 0)
		return r;
	struct xp_db_stmt *del = inv->lease_del, *put = inv->lease_put;
	if ((r = xp_inv_begin(inv)) < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct xp_dhcp_lease *l = &v[i];
		xp__db_bind_blob(del, 1, l->client, l->client_len);
		xp__db_bind_int64(del, 2, l->ip);
		int rc = xp__db_step(del);
		xp__db_reset(del);
		if (rc != XP_DB_DONE) {
			r = xp__inv_err(inv, rc);
			break;
		}
		bind_lease(put, l);
		rc = xp__db_step(put);
		xp__db_reset(put);
		xp__db_clear_bindings(put);
		if (rc != XP_DB_DONE)
			r = xp__inv_err(inv, rc);
	}
	if (r < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	return xp_inv_commit(inv);
}

/* The claim: the row becomes this client's only where it is this client's already, free
 * (expired at now) or released; an offer leaves the client's own unexpired lease as it
 * is. INSERT ... ON CONFLICT DO UPDATE takes the conflicting row's lock and, under READ
 * COMMITTED, evaluates the WHERE on its newest committed version, also when another
 * server's transaction committed it after this statement's snapshot (PostgreSQL's
 * documentation, INSERT, "ON CONFLICT Clause"); a refused row returns nothing. So of two
 * servers claiming one address for two clients at once, the second waits for the
 * first's commit and is then refused: an address is never stored, hence never offered
 * or acknowledged, as two clients' at once. */
#define CLAIM_KEEP                                                                                 \
	"(excluded.state = 'offered' AND leases.client = excluded.client"                          \
	" AND leases.state = 'bound' AND leases.expires > ?7)"
static const char claim_sql[] =
    "INSERT INTO leases (ip, client, mac, hostname, state, expires, updated)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (ip) DO UPDATE SET"
    " client = excluded.client, mac = excluded.mac,"
    " hostname = CASE WHEN " CLAIM_KEEP " THEN leases.hostname ELSE excluded.hostname END,"
    " state = CASE WHEN " CLAIM_KEEP " THEN leases.state ELSE excluded.state END,"
    " expires = CASE WHEN " CLAIM_KEEP " THEN leases.expires ELSE excluded.expires END,"
    " updated = excluded.updated"
    " WHERE leases.client = excluded.client OR leases.expires <= ?7"
    " OR leases.state = 'released'"
    " RETURNING ip";

static int lease_row(struct xp_db_stmt *st, void *row);

static int claim_prepare(struct xp_inv *inv)
{
	int r = 0;
	if (!inv->lease_claim)
		r = xp__inv_prepare(inv, claim_sql, &inv->lease_claim);
	/* a client holds one lease: its other leases go when one is bound (its offers
	 * elsewhere run out by themselves, so an address stays offered to one client) */
	if (r == 0 && !inv->lease_drop)
		r = xp__inv_prepare(inv,
				    "DELETE FROM leases WHERE client = ?1 AND ip <> ?2"
				    " AND state <> 'offered'",
				    &inv->lease_drop);
	if (r == 0 && !inv->lease_holder)
		r = xp__inv_prepare(inv,
				    "SELECT ip, client, mac, hostname, state, expires FROM leases"
				    " WHERE ip = ?1",
				    &inv->lease_holder);
	return r;
}

/* Claims v[k]: 1 claimed, 0 refused (*holder: the row that holds it), or -errno. */
static int claim_one(struct xp_inv *inv, const struct xp_dhcp_lease *l, int64_t now,
		     struct xp_dhcp_lease *holder)
{
	struct xp_db_stmt *c = inv->lease_claim;
	bind_lease(c, l);
	xp__db_bind_int64(c, 7, now);
	int rc = xp__db_step(c);
	xp__db_reset(c);
	xp__db_clear_bindings(c);
	if (rc == XP_DB_ROW && l->state == XP_LEASE_BOUND) {
		struct xp_db_stmt *d = inv->lease_drop;
		xp__db_bind_blob(d, 1, l->client, l->client_len);
		xp__db_bind_int64(d, 2, l->ip);
		int e = xp__db_step(d);
		xp__db_reset(d);
		return e == XP_DB_DONE ? 1 : xp__inv_err(inv, e);
	}
	if (rc == XP_DB_ROW)
		return 1;
	if (rc != XP_DB_DONE)
		return xp__inv_err(inv, rc);
	struct xp_db_stmt *h = inv->lease_holder;
	memset(holder, 0, sizeof(*holder));
	xp__db_bind_int64(h, 1, l->ip);
	rc = xp__db_step(h);
	if (rc == XP_DB_ROW)
		lease_row(h, holder);
	xp__db_reset(h);
	return rc == XP_DB_ROW || rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
}

/* The order claims are made in: by address, each address's changes in their own order,
 * so that two servers' transactions lock rows in one order and do not deadlock on them
 * (a deadlock that still happens, through the client's other rows, is retried). */
struct claim_order {
	uint32_t ip;
	size_t k;
};

static int cmp_claim(const void *a, const void *b)
{
	const struct claim_order *x = a, *y = b;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

int xp_lease_claim(struct xp_inv *inv, const struct xp_dhcp_lease *v, size_t n, int64_t now,
		   bool *refused, struct xp_dhcp_lease *holder)
{
	if (!xp_inv_is_pgsql(inv))
		return -ENOTSUP;
	if (n == 0)
		return 0;
	int r = claim_prepare(inv);
	if (r < 0)
		return r;
	struct claim_order *o = malloc(n * sizeof(*o));
	if (!o)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		o[k] = (struct claim_order){v[k].ip, k};
	qsort(o, n, sizeof(*o), cmp_claim);
	for (int attempt = 0; attempt < 3; attempt++) {
		int nref = 0;
		if ((r = xp__inv_begin_rows(inv)) < 0)
			break;
		for (size_t j = 0; r >= 0 && j < n; j++) {
			size_t k = o[j].k;
			r = claim_one(inv, &v[k], now, &holder[k]);
			refused[k] = r == 0;
			nref += r == 0;
		}
		if (r < 0) {
			xp_inv_rollback(inv);
			if (r == -EBUSY)
				continue; /* a deadlock or a lock timeout: again, from the start */
			break;
		}
		r = xp_inv_commit(inv);
		if (r == 0)
			r = nref;
		break;
	}
	free(o);
	return r;
}

/* A row of leases: 1, or 0 for one this code did not write (ignored rather than
 * trusted). */
static int lease_row(struct xp_db_stmt *st, void *row)
{
	struct xp_dhcp_lease *l = row;
	memset(l, 0, sizeof(*l));
	int64_t ip = xp__db_column_int64(st, 0);
	size_t blen;
	const void *blob = xp__db_column_blob(st, 1, &blen);
	if (ip < 0 || ip > 0xffffffffLL || !blob || blen > sizeof(l->client) ||
	    parse_mac(xp__db_column_text(st, 2), l->mac) < 0)
		return 0;
	l->ip = (uint32_t)ip;
	memcpy(l->client, blob, blen);
	l->client_len = (uint8_t)blen;
	const char *h = xp__db_column_text(st, 3);
	if (h)
		snprintf(l->hostname, sizeof(l->hostname), "%s", h);
	l->state = state_value(xp__db_column_text(st, 4));
	l->expires = xp__db_column_int64(st, 5);
	return 1;
}

int xp_lease_load(struct xp_inv *inv, struct xp_dhcp_lease **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv,
				"SELECT ip, client, mac, hostname, state, expires FROM leases"
				" ORDER BY ip",
				&st);
	if (r < 0)
		return r;
	return xp__inv_rows(inv, st, out, nout, sizeof(**out), 64, lease_row, NULL);
}

int xp_lease_purge(struct xp_inv *inv, int64_t before)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, "DELETE FROM leases WHERE expires < ?1", &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 1, before);
	r = xp__inv_step_done(inv, st);
	return r < 0 ? r : xp__db_changes(inv->db);
}

int xp_lease_holds(struct xp_inv *inv, const char *mac, uint32_t ip, int64_t now)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv,
				    "SELECT 1 FROM leases WHERE mac = ?1 AND ip = ?2"
				    " AND state = 'bound' AND expires > ?3",
				    mac, &st);
	if (r < 0)
		return r;
	xp__db_bind_int64(st, 2, ip);
	xp__db_bind_int64(st, 3, now);
	int rc = xp__db_step(st);
	r = rc == XP_DB_ROW ? 1 : rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r;
}
