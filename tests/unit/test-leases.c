/*
 * test-leases.c - unit tests for the DHCP leases kept in the inventory (leases.c):
 * save and load round trip, a client keeps one row (moving to another address removes
 * its old row), replacing a row by address, the states, purge by expiry, rows this
 * code did not write are ignored on load, and a second connection sees what the first
 * committed (what a restarted server reads).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "xenprov/leases.h"

XP_TEST_SCRATCH("leases")

static struct xp_dhcp_lease lease(uint32_t ip, uint8_t id, const char *host, int64_t exp)
{
	struct xp_dhcp_lease l = {.ip = ip, .client_len = 7, .expires = exp};
	l.client[0] = 1; /* htype Ethernet + MAC, as the engine keys clients without 61 */
	uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, id};
	memcpy(l.client + 1, mac, 6);
	memcpy(l.mac, mac, 6);
	snprintf(l.hostname, sizeof(l.hostname), "%s", host);
	return l;
}

static const struct xp_dhcp_lease *find(const struct xp_dhcp_lease *v, size_t n, uint32_t ip)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].ip == ip)
			return &v[i];
	return NULL;
}

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static void test_round_trip(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(tmpdir);
	assert_int_equal(xp_inv_set_durability(inv, false), 0);
	struct xp_dhcp_lease v[3] = {
	    lease(IP(10, 0, 0, 100), 1, "alpha", 1000),
	    lease(IP(10, 0, 0, 101), 2, "", 2000),
	    lease(IP(10, 0, 0, 102), 3, "gamma", 3000),
	};
	v[2].state = XP_LEASE_DECLINED;
	assert_int_equal(xp_lease_save(inv, v, 3), 0);
	assert_int_equal(xp_lease_save(inv, v, 0), 0); /* nothing: no transaction */

	/* another connection: what a restarted server reads */
	struct xp_inv *other = xp_test_inv_open(tmpdir);
	struct xp_dhcp_lease *got;
	size_t n;
	assert_int_equal(xp_lease_load(other, &got, &n), 0);
	assert_int_equal(n, 3);
	const struct xp_dhcp_lease *a = find(got, n, IP(10, 0, 0, 100));
	assert_non_null(a);
	assert_string_equal(a->hostname, "alpha");
	assert_int_equal(a->expires, 1000);
	assert_int_equal(a->client_len, 7);
	assert_memory_equal(a->client, v[0].client, 7);
	assert_memory_equal(a->mac, v[0].mac, 6);
	assert_int_equal(a->state, XP_LEASE_BOUND);
	assert_string_equal(find(got, n, IP(10, 0, 0, 101))->hostname, "");
	assert_int_equal(find(got, n, IP(10, 0, 0, 102))->state, XP_LEASE_DECLINED);
	free(got);

	/* client 1 moves to .110: its old row goes; client 2 renews in place */
	struct xp_dhcp_lease w[2] = {
	    lease(IP(10, 0, 0, 110), 1, "alpha", 5000),
	    lease(IP(10, 0, 0, 101), 2, "", 6000),
	};
	w[1].state = XP_LEASE_RELEASED;
	assert_int_equal(xp_lease_save(inv, w, 2), 0);
	assert_int_equal(xp_lease_load(other, &got, &n), 0);
	assert_int_equal(n, 3);
	assert_null(find(got, n, IP(10, 0, 0, 100)));
	assert_int_equal(find(got, n, IP(10, 0, 0, 110))->expires, 5000);
	assert_int_equal(find(got, n, IP(10, 0, 0, 101))->state, XP_LEASE_RELEASED);
	free(got);

	/* purge: rows that expired before 4000 (.102 at 3000) */
	assert_int_equal(xp_lease_purge(inv, 4000), 1);
	assert_int_equal(xp_lease_load(inv, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_null(find(got, n, IP(10, 0, 0, 102)));
	free(got);
	xp_inv_close(other);
	xp_inv_close(inv);
}

static void test_foreign_rows(void **st)
{
	(void)st;
	struct xp_inv *inv = xp_test_inv_open(tmpdir);
	struct xp_dhcp_lease l = lease(IP(10, 0, 0, 5), 9, "ok", 100);
	assert_int_equal(xp_lease_save(inv, &l, 1), 0);
	xp_inv_close(inv);
	/* rows written behind xenprov's back: a bad MAC, an empty client, an address
	 * out of range; loading skips them rather than trusting them */
	/* a blob literal: SQLite's x'01', PostgreSQL's bytea '\x01' */
	bool pg = xp_test_pgurl() != NULL;
	const char *one = pg ? "'\\x01'::bytea" : "x'01'", *none = pg ? "''::bytea" : "x''";
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO leases VALUES (1, %s, 'nonsense', NULL, 'bound', 1, 1);"
		 "INSERT INTO leases VALUES (2, %s, '52:54:00:00:00:01', NULL, 'bound', 1, 1);"
		 "INSERT INTO leases VALUES (-5, %s, '52:54:00:00:00:01', NULL, 'bound', 1, 1);",
		 one, none, one);
	xp_test_sql(tmpdir, sql);
	inv = xp_test_inv_open(tmpdir);
	struct xp_dhcp_lease *got;
	size_t n;
	assert_int_equal(xp_lease_load(inv, &got, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].ip, IP(10, 0, 0, 5));
	free(got);
	xp_inv_close(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_round_trip),
	    xp_test_in_scratch(test_foreign_rows),
	};
	return xp_test_run_backends(tests, NULL);
}
