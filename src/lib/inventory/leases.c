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
#include "xenprov/util.h"

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
	if (!s ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
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

/* The claims of a batch are a few statements, whatever its size (issue 20: a statement
 * per change, each a round trip from the one main loop, bounded DHCP at 1,000-2,000
 * exchanges/s): each carries its changes as arrays (unnest), and each is kept prepared
 * on the connection (xp__db_keep), so that it is parsed and planned once. A batch is
 * BEGIN, one claim statement per layer (below), one delete of the bound clients' other
 * leases, one read of the refused addresses' holders when there are any, COMMIT.
 *
 * Time is the database's (DBNOW): each server gives a lease's length (its expiry less
 * its own clock), the row stores the database's now plus that length, and expiry is
 * compared with the database's now, so a server whose clock is off can neither take a
 * lease that has not run out nor make one last longer; a holder's expiry goes back in
 * the caller's clock. now() is the transaction's start, the same in every statement. */
#define DBNOW "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"

/* The claim: the row becomes this client's only where it is this client's already, free
 * (expired) or released; an offer leaves the client's own unexpired lease as it is.
 * INSERT ... ON CONFLICT DO UPDATE takes the conflicting row's lock and, under READ
 * COMMITTED, evaluates the WHERE on its newest committed version, also when another
 * server's transaction committed it after this statement's snapshot (PostgreSQL's
 * documentation, INSERT, "ON CONFLICT Clause"); a refused row returns nothing. So of two
 * servers claiming one address for two clients at once, the second waits for the
 * first's commit and is then refused: an address is never stored, hence never offered
 * or acknowledged, as two clients' at once. The rows are taken in address order (ORDER
 * BY), so two servers' claims lock rows in one order. One statement may not change a
 * row twice: a batch with two changes of one address sends them in layers, the first
 * change of each address, then the second... (rare: an address released and offered
 * again within one batch). */
#define CLAIM_KEEP                                                                                 \
	"(excluded.state = 'offered' AND leases.client = excluded.client"                          \
	" AND leases.state = 'bound' AND leases.expires > " DBNOW ")"
static const char claim_sql[] =
    "INSERT INTO leases (ip, client, mac, hostname, state, expires, updated)"
    " SELECT c.ip, c.client, c.mac, c.hostname, c.state, " DBNOW " + c.ttl, " DBNOW
    " FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS BYTEA[]), CAST(?3 AS TEXT[]),"
    " CAST(?4 AS TEXT[]), CAST(?5 AS TEXT[]), CAST(?6 AS BIGINT[]))"
    " AS c(ip, client, mac, hostname, state, ttl) ORDER BY c.ip"
    " ON CONFLICT (ip) DO UPDATE SET"
    " client = excluded.client, mac = excluded.mac,"
    " hostname = CASE WHEN " CLAIM_KEEP " THEN leases.hostname ELSE excluded.hostname END,"
    " state = CASE WHEN " CLAIM_KEEP " THEN leases.state ELSE excluded.state END,"
    " expires = CASE WHEN " CLAIM_KEEP " THEN leases.expires ELSE excluded.expires END,"
    " updated = excluded.updated"
    " WHERE leases.client = excluded.client OR leases.expires <= " DBNOW
    " OR leases.state = 'released'"
    " RETURNING ip";
/* A client holds one lease: its other leases go when one is bound (its offers elsewhere
 * run out by themselves, so an address stays offered to one client). One pass after the
 * claims, its rows locked in address order (a DELETE per bound change, in the order of
 * the changes, locked them out of order: two servers deadlocked, and PostgreSQL found
 * it only after deadlock_timeout). */
static const char drop_sql[] = "DELETE FROM leases WHERE ip IN (SELECT l.ip FROM leases AS l JOIN"
			       " unnest(CAST(?1 AS BYTEA[]), CAST(?2 AS BIGINT[])) AS b(client, ip)"
			       " ON l.client = b.client AND l.ip <> b.ip WHERE l.state <> 'offered'"
			       " ORDER BY l.ip FOR UPDATE OF l)";
/* The refused addresses' holders, read after the drop (an address a bound client just
 * left has none), expiry in the caller's clock (?2). */
static const char holder_sql[] =
    "SELECT ip, client, mac, hostname, state, expires - " DBNOW " + ?2 FROM leases"
    " WHERE ip = ANY(CAST(?1 AS BIGINT[])) ORDER BY ip";

static int lease_row(struct xp_db_stmt *st, void *row);

static int keep_prepared(struct xp_inv *inv, const char *sql, struct xp_db_stmt **st)
{
	if (*st)
		return 0;
	int r = xp__inv_prepare(inv, sql, st);
	if (r == 0)
		xp__db_keep(*st);
	return r;
}

static int claim_prepare(struct xp_inv *inv)
{
	int r = keep_prepared(inv, claim_sql, &inv->lease_claim);
	if (r == 0)
		r = keep_prepared(inv, drop_sql, &inv->lease_drop);
	if (r == 0)
		r = keep_prepared(inv, holder_sql, &inv->lease_holder);
	/* A deadlock between two servers' claims should cost milliseconds, not the 1 s of
	 * deadlock_timeout's default: each claim transaction sets it to 50 ms (SET LOCAL)
	 * where the role may (deadlock_timeout is a superuser's setting, or GRANT SET ON
	 * PARAMETER's); found out once per connection, outside any transaction. */
	if (r == 0 && inv->claim_deadlock == 0 && inv->depth == 0 &&
	    xp__db_exec(inv->db, "BEGIN") == 0) {
		int set = xp__db_exec(inv->db, "SET LOCAL deadlock_timeout = '50ms'");
		xp__db_exec(inv->db, "ROLLBACK");
		/* refused: not this role's to set; anything else (the connection lost):
		 * asked again at the next claim */
		inv->claim_deadlock = set == 0 ? 1 : set == -EACCES ? -1 : 0;
	}
	return r;
}

/* PostgreSQL's array literals (the documentation's "Array Value Input"): elements
 * between braces, comma-separated; a quoted element escapes '"' and '\'. */
static void arr_next(struct xp_buf *b)
{
	xp_buf_addc(b, b->len == 0 ? '{' : ',');
}

static void arr_end(struct xp_buf *b)
{
	if (b->len == 0)
		xp_buf_addc(b, '{');
	xp_buf_addc(b, '}');
}

static void arr_int(struct xp_buf *b, int64_t v)
{
	arr_next(b);
	xp_buf_addf(b, "%lld", (long long)v);
}

static void arr_text(struct xp_buf *b, const char *s)
{
	arr_next(b);
	if (s)
		xp_buf_add_dquoted(b, s);
	else
		xp_buf_adds(b, "NULL");
}

/* bytea's hex input, \x then two digits a byte, its backslash escaped in the array */
static void arr_blob(struct xp_buf *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	arr_next(b);
	xp_buf_adds(b, "\"\\\\x");
	for (size_t i = 0; i < n; i++) {
		xp_buf_addc(b, hex[p[i] >> 4]);
		xp_buf_addc(b, hex[p[i] & 15]);
	}
	xp_buf_addc(b, '"');
}

/* Binds the n arrays as parameters 1..n of st; -ENOMEM if one could not be built. */
static int bind_arrays(struct xp_db_stmt *st, struct xp_buf *a, int n)
{
	int r = 0;
	for (int i = 0; i < n; i++) {
		arr_end(&a[i]);
		if (xp_buf_error(&a[i]) < 0)
			r = -ENOMEM;
		else if (r == 0)
			r = xp__db_bind_text(st, i + 1, xp_buf_str(&a[i]));
	}
	for (int i = 0; i < n; i++)
		xp_buf_release(&a[i]);
	return r;
}

/* The order claims are made in: by address, each address's changes in their own order
 * (layer: the how-manieth change of its address), so that two servers' transactions
 * lock rows in one order. */
struct claim_order {
	uint32_t ip;
	size_t k;
	unsigned layer;
};

static int cmp_claim(const void *a, const void *b)
{
	const struct claim_order *x = a, *y = b;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

/* One layer's claims in one statement: refused[k] for each of its changes that got no
 * row back. */
static int claim_layer(struct xp_inv *inv, const struct xp_dhcp_lease *v,
		       const struct claim_order *o, size_t n, unsigned layer, int64_t now,
		       bool *refused)
{
	struct xp_buf a[6] = {XP_BUF_INIT, XP_BUF_INIT, XP_BUF_INIT,
			      XP_BUF_INIT, XP_BUF_INIT, XP_BUF_INIT};
	for (size_t j = 0; j < n; j++) {
		if (o[j].layer != layer)
			continue;
		const struct xp_dhcp_lease *l = &v[o[j].k];
		char mac[18];
		mac_text(l->mac, mac);
		arr_int(&a[0], l->ip);
		arr_blob(&a[1], l->client, l->client_len);
		arr_text(&a[2], mac);
		arr_text(&a[3], l->hostname[0] ? l->hostname : NULL);
		arr_text(&a[4], state_name(l->state));
		arr_int(&a[5], l->expires - now); /* the lease's length, from the server's clock */
		refused[o[j].k] = true;
	}
	struct xp_db_stmt *c = inv->lease_claim;
	int r = bind_arrays(c, a, 6);
	int rc = XP_DB_DONE;
	while (r == 0 && (rc = xp__db_step(c)) == XP_DB_ROW) {
		int64_t ip = xp__db_column_int64(c, 0);
		/* the layer's change of that address (one a layer) */
		for (size_t j = 0; j < n; j++)
			if (o[j].layer == layer && o[j].ip == ip)
				refused[o[j].k] = false;
	}
	xp__db_reset(c);
	xp__db_clear_bindings(c);
	if (r < 0)
		return r;
	return rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
}

static bool same_client(const struct xp_dhcp_lease *a, const struct xp_dhcp_lease *b)
{
	return a->client_len == b->client_len && memcmp(a->client, b->client, a->client_len) == 0;
}

/* The bound clients' other leases go: each client's last claimed bound change keeps
 * its address. */
static int drop_others(struct xp_inv *inv, const struct xp_dhcp_lease *v, size_t n,
		       const bool *refused)
{
	struct xp_buf a[2] = {XP_BUF_INIT, XP_BUF_INIT};
	size_t count = 0;
	for (size_t k = 0; k < n; k++) {
		if (refused[k] || v[k].state != XP_LEASE_BOUND)
			continue;
		bool later = false;
		for (size_t m = k + 1; m < n && !later; m++)
			later = !refused[m] && v[m].state == XP_LEASE_BOUND &&
				same_client(&v[k], &v[m]);
		if (later)
			continue;
		arr_blob(&a[0], v[k].client, v[k].client_len);
		arr_int(&a[1], v[k].ip);
		count++;
	}
	if (count == 0) {
		xp_buf_release(&a[0]);
		xp_buf_release(&a[1]);
		return 0;
	}
	struct xp_db_stmt *d = inv->lease_drop;
	int r = bind_arrays(d, a, 2);
	int rc = r == 0 ? xp__db_step(d) : XP_DB_DONE;
	xp__db_reset(d);
	xp__db_clear_bindings(d);
	if (r < 0)
		return r;
	return rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
}

/* holder[k] of each refused change: the row that holds its address (client_len 0 and
 * all else 0 if none; if the row is there but this code cannot read it, its address,
 * XP_LEASE_DECLINED and client_len 0). Returns how many were refused. */
static int read_holders(struct xp_inv *inv, const struct xp_dhcp_lease *v, size_t n, int64_t now,
			const bool *refused, struct xp_dhcp_lease *holder)
{
	struct xp_buf a[1] = {XP_BUF_INIT};
	int nref = 0;
	for (size_t k = 0; k < n; k++) {
		if (!refused[k])
			continue;
		memset(&holder[k], 0, sizeof(holder[k]));
		arr_int(&a[0], v[k].ip);
		nref++;
	}
	if (nref == 0) {
		xp_buf_release(&a[0]);
		return 0;
	}
	struct xp_db_stmt *h = inv->lease_holder;
	int r = bind_arrays(h, a, 1);
	if (r == 0)
		r = xp__db_bind_int64(h, 2, now);
	int rc = XP_DB_DONE;
	while (r == 0 && (rc = xp__db_step(h)) == XP_DB_ROW) {
		struct xp_dhcp_lease row;
		int64_t ip = xp__db_column_int64(h, 0);
		if (!lease_row(h, &row)) {
			memset(&row, 0, sizeof(row));
			row.ip = (uint32_t)ip;
			row.state = XP_LEASE_DECLINED;
			row.expires = xp__db_column_int64(h, 5);
		}
		for (size_t k = 0; k < n; k++)
			if (refused[k] && v[k].ip == ip)
				holder[k] = row;
	}
	xp__db_reset(h);
	xp__db_clear_bindings(h);
	if (r < 0)
		return r;
	return rc == XP_DB_DONE ? nref : xp__inv_err(inv, rc);
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
		o[k] = (struct claim_order){v[k].ip, k, 0};
	qsort(o, n, sizeof(*o), cmp_claim);
	unsigned layers = 1;
	for (size_t j = 1; j < n; j++)
		if (o[j].ip == o[j - 1].ip && (o[j].layer = o[j - 1].layer + 1) >= layers)
			layers = o[j].layer + 1;
	for (int attempt = 0; attempt < 3; attempt++) {
		if ((r = xp__inv_begin_rows(inv)) < 0)
			break;
		for (unsigned layer = 0; r == 0 && layer < layers; layer++)
			r = claim_layer(inv, v, o, n, layer, now, refused);
		if (r == 0)
			r = drop_others(inv, v, n, refused);
		if (r == 0)
			r = read_holders(inv, v, n, now, refused, holder);
		if (r < 0) {
			xp_inv_rollback(inv);
			if (r == -EBUSY)
				continue; /* a deadlock or a lock timeout: again, from the start */
			break;
		}
		int nref = r;
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
