/*
 * leases.c - DHCP leases in the inventory (table `leases`, schema step 2): one row per
 * address, keyed by the address as an integer, the client's identity (option 61 or
 * hardware type + address) as a blob.
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
static const char *const state_names[] = {
    [XP_LEASE_BOUND] = "bound", [XP_LEASE_RELEASED] = "released", [XP_LEASE_DECLINED] = "declined"};
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
		char mac[18];
		mac_text(l->mac, mac);
		xp__db_bind_blob(del, 1, l->client, l->client_len);
		xp__db_bind_int64(del, 2, l->ip);
		int rc = xp__db_step(del);
		xp__db_reset(del);
		if (rc != XP_DB_DONE) {
			r = xp__inv_err(inv, rc);
			break;
		}
		xp__db_bind_int64(put, 1, l->ip);
		xp__db_bind_blob(put, 2, l->client, l->client_len);
		xp__db_bind_text(put, 3, mac);
		if (l->hostname[0])
			xp__db_bind_text(put, 4, l->hostname);
		else
			xp__db_bind_null(put, 4);
		xp__db_bind_text(put, 5, state_name(l->state));
		xp__db_bind_int64(put, 6, l->expires);
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
