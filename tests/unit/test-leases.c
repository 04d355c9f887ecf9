/*
 * test-leases.c - unit tests for the DHCP leases kept in the inventory (leases.c):
 * save and load round trip, a client keeps one row (moving to another address removes
 * its old row), replacing a row by address, the states, purge by expiry, rows this
 * code did not write are ignored on load, and a second connection sees what the first
 * committed (what a restarted server reads). On PostgreSQL, the claims of servers that
 * share the pools (xp_lease_claim): who may take a stored address, the holder given back
 * on a refusal, the client's other leases dropped when one is bound, and processes
 * claiming the same addresses at once each getting a disjoint share; expiry by the
 * database's clock whatever the servers' clocks say; two changes of one address in a
 * batch; an unreadable holder; a role that may not set deadlock_timeout; a writer's
 * commit is heard by a listening connection, a rollback is not; kept statements
 * prepared again after a reconnection.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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

static int claim(struct xp_inv *inv, struct xp_dhcp_lease l, int64_t now, struct xp_dhcp_lease *h)
{
	bool refused = true;
	struct xp_dhcp_lease holder;
	int r = xp_lease_claim(inv, &l, 1, now, &refused, &holder);
	if (h)
		*h = holder;
	return r < 0 ? r : r == 1 ? 0 : (assert_false(refused), 1);
}

static struct xp_dhcp_lease with(struct xp_dhcp_lease l, enum xp_dhcp_lease_state st)
{
	l.state = st;
	return l;
}

/* A holder's expiry comes back in the claimer's clock, through the database's (which
 * may have moved a second meanwhile). */
#define assert_expiry(got, want) assert_in_range((got), (want)-1, (want))

/* The database's clock (a stored expiry is the database's now plus the lease's length),
 * within a second of the test's on this one machine. */
static void assert_stored_length(int64_t expires, int64_t length)
{
	int64_t t = (int64_t)time(NULL);
	assert_in_range(expires, t + length - 2, t + length + 1);
}

static void test_claim(void **st)
{
	(void)st;
	struct xp_inv *a = xp_test_inv_open(tmpdir), *b = xp_test_inv_open(tmpdir);
	struct xp_dhcp_lease h;
	if (!xp_test_pgurl()) {
		/* SQLite has one server and xp_lease_save */
		assert_int_equal(claim(a, lease(IP(10, 0, 0, 100), 1, "", 130), 100, &h), -ENOTSUP);
		xp_inv_close(a);
		xp_inv_close(b);
		return;
	}
	/* both servers' clocks read 100 here: what counts is each lease's length */
	const uint32_t ip = IP(10, 0, 0, 100);
	/* server A offers .100 to client 1 for 30 s; server B may not offer it to client 2,
	 * and learns whose it is */
	assert_int_equal(claim(a, with(lease(ip, 1, "", 130), XP_LEASE_OFFERED), 100, &h), 1);
	assert_int_equal(claim(b, with(lease(ip, 2, "", 130), XP_LEASE_OFFERED), 100, &h), 0);
	assert_int_equal(h.ip, ip);
	assert_int_equal(h.state, XP_LEASE_OFFERED);
	assert_expiry(h.expires, 130);
	assert_memory_equal(h.client, lease(ip, 1, "", 0).client, 7);
	/* client 1 binds it through B for an hour; a new offer to it leaves the lease as
	 * it is */
	assert_int_equal(claim(b, lease(ip, 1, "one", 3700), 100, &h), 1);
	assert_int_equal(claim(a, with(lease(ip, 1, "", 140), XP_LEASE_OFFERED), 100, &h), 1);
	struct xp_dhcp_lease *got;
	size_t n;
	assert_int_equal(xp_lease_load(a, &got, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].state, XP_LEASE_BOUND);
	assert_stored_length(got[0].expires, 3600);
	assert_string_equal(got[0].hostname, "one");
	free(got);
	/* nobody else while it is bound, not even bound; anyone once it expired (client 1
	 * renewed it to a second ago) */
	assert_int_equal(claim(a, lease(ip, 2, "", 5000), 100, &h), 0);
	assert_int_equal(h.state, XP_LEASE_BOUND);
	assert_expiry(h.expires, 3700);
	assert_int_equal(claim(b, lease(ip, 1, "one", 99), 100, &h), 1);
	assert_int_equal(claim(a, lease(ip, 2, "two", 3700), 100, &h), 1);
	/* a released address is free at once; a declined one is held until it expires */
	const uint32_t ip2 = IP(10, 0, 0, 101), ip3 = IP(10, 0, 0, 102);
	assert_int_equal(claim(a, with(lease(ip2, 3, "", 9000), XP_LEASE_RELEASED), 100, &h), 1);
	assert_int_equal(claim(b, lease(ip2, 4, "", 9000), 100, &h), 1);
	assert_int_equal(claim(a, with(lease(ip3, 5, "", 700), XP_LEASE_DECLINED), 100, &h), 1);
	assert_int_equal(claim(b, lease(ip3, 6, "", 9000), 100, &h), 0);
	assert_int_equal(h.state, XP_LEASE_DECLINED);
	/* client 2 (bound at .100) is offered .103 and binds .104: .100 goes, the offer
	 * stays until it runs out */
	const uint32_t ip4 = IP(10, 0, 0, 103), ip5 = IP(10, 0, 0, 104);
	assert_int_equal(claim(b, with(lease(ip4, 2, "", 130), XP_LEASE_OFFERED), 100, &h), 1);
	assert_int_equal(claim(a, lease(ip5, 2, "", 3700), 100, &h), 1);
	assert_int_equal(xp_lease_load(b, &got, &n), 0);
	assert_null(find(got, n, ip));
	assert_int_equal(find(got, n, ip4)->state, XP_LEASE_OFFERED);
	assert_int_equal(find(got, n, ip5)->state, XP_LEASE_BOUND);
	free(got);
	/* several in one transaction, each decided apart */
	struct xp_dhcp_lease v[3] = {lease(ip4, 7, "", 9000), lease(IP(10, 0, 0, 105), 7, "", 9000),
				     with(lease(ip3, 8, "", 9000), XP_LEASE_OFFERED)};
	bool refused[3];
	struct xp_dhcp_lease hv[3];
	assert_int_equal(xp_lease_claim(b, v, 3, 100, refused, hv), 2);
	assert_true(refused[0]); /* offered to client 2 for 30 s */
	assert_false(refused[1]);
	assert_true(refused[2]); /* declined for 600 s */
	assert_int_equal(hv[0].ip, ip4);
	assert_int_equal(hv[0].state, XP_LEASE_OFFERED);
	assert_int_equal(hv[2].state, XP_LEASE_DECLINED);
	assert_expiry(hv[2].expires, 700);
	xp_inv_close(a);
	xp_inv_close(b);
}

/* Servers whose clocks disagree (a server's clock is the now it passes, here an hour
 * apart) decide by the database's: the one ahead may not take a lease the other gave
 * that has not run out, the one behind may take one that has; each stores its lease's
 * length, not its clock's expiry. */
static void test_claim_skew(void **st)
{
	(void)st;
	if (!xp_test_pgurl())
		return;
	struct xp_inv *a = xp_test_inv_open(tmpdir), *b = xp_test_inv_open(tmpdir);
	const int64_t t = (int64_t)time(NULL), ahead = t + 3600, behind = t - 3600;
	const uint32_t ip = IP(10, 3, 0, 1), ip2 = IP(10, 3, 0, 2);
	struct xp_dhcp_lease h;
	/* A (right) binds client 1 for 10 minutes; B (an hour ahead) would have seen it
	 * expired 50 minutes ago by its own clock */
	assert_int_equal(claim(a, lease(ip, 1, "", t + 600), t, &h), 1);
	assert_int_equal(claim(b, lease(ip, 2, "", ahead + 600), ahead, &h), 0);
	assert_int_equal(h.state, XP_LEASE_BOUND);
	assert_expiry(h.expires, ahead + 600); /* in B's clock */
	/* B binds client 3 for 10 minutes: stored as 10 minutes from the database's now */
	assert_int_equal(claim(b, lease(ip2, 3, "", ahead + 600), ahead, &h), 1);
	struct xp_dhcp_lease *got;
	size_t n;
	assert_int_equal(xp_lease_load(a, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_stored_length(find(got, n, ip)->expires, 600);
	assert_stored_length(find(got, n, ip2)->expires, 600);
	free(got);
	/* A, an hour behind now, would think B's lease has 70 minutes to go: still held
	 * for 10; and once client 1 gave .1 a length of -1 s it is free for anyone, also
	 * for a server whose clock says it has an hour and a second left */
	assert_int_equal(claim(a, lease(ip2, 4, "", behind + 600), behind, &h), 0);
	assert_expiry(h.expires, behind + 600);
	assert_int_equal(claim(a, lease(ip, 1, "", t - 1), t, &h), 1);
	assert_int_equal(claim(a, lease(ip, 4, "", behind + 600), behind, &h), 1);
	xp_inv_close(a);
	xp_inv_close(b);
}

/* Two changes of one address in one batch (one statement may change a row once): an
 * address released by one client and offered to another within the batch; and a
 * client moving twice in a batch keeps its last address only (its host name, with
 * what PostgreSQL's array literals quote, stored as it is). */
static void test_claim_layers(void **st)
{
	(void)st;
	if (!xp_test_pgurl())
		return;
	struct xp_inv *a = xp_test_inv_open(tmpdir);
	const uint32_t ip = IP(10, 4, 0, 1), ip2 = IP(10, 4, 0, 2), ip3 = IP(10, 4, 0, 3);
	struct xp_dhcp_lease v[5] = {
	    lease(ip, 1, "", 3700),
	    with(lease(ip, 1, "", 3700), XP_LEASE_RELEASED),
	    with(lease(ip, 2, "", 130), XP_LEASE_OFFERED),
	    lease(ip3, 3, "", 3700),
	    lease(ip2, 3, "q\"b\\s,{x} NULL", 3700), /* what an array literal must quote */
	};
	bool refused[5];
	struct xp_dhcp_lease hv[5];
	assert_int_equal(xp_lease_claim(a, v, 5, 100, refused, hv), 0);
	for (int k = 0; k < 5; k++)
		assert_false(refused[k]);
	struct xp_dhcp_lease *got;
	size_t n;
	assert_int_equal(xp_lease_load(a, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(find(got, n, ip)->state, XP_LEASE_OFFERED);
	assert_int_equal(find(got, n, ip)->client[6], 2);
	assert_int_equal(find(got, n, ip2)->client[6], 3);
	assert_string_equal(find(got, n, ip2)->hostname, "q\"b\\s,{x} NULL");
	assert_null(find(got, n, ip3));
	free(got);
	xp_inv_close(a);
}

/* A holder row this code cannot read (written behind its back) is a refusal with the
 * address, XP_LEASE_DECLINED and no client: the server keeps off it until it expires
 * rather than offering it again at every round. */
static void test_claim_unreadable(void **st)
{
	(void)st;
	if (!xp_test_pgurl())
		return;
	struct xp_inv *a = xp_test_inv_open(tmpdir);
	const uint32_t ip = IP(10, 5, 0, 1);
	char sql[256];
	int64_t t = (int64_t)time(NULL);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO leases VALUES (%u, '\\x01'::bytea, 'nonsense', NULL, 'bound', %lld,"
		 " 1)",
		 ip, (long long)(t + 600));
	xp_test_sql(tmpdir, sql);
	struct xp_dhcp_lease h;
	assert_int_equal(claim(a, with(lease(ip, 1, "", 130), XP_LEASE_OFFERED), 100, &h), 0);
	assert_int_equal(h.ip, ip);
	assert_int_equal(h.client_len, 0);
	assert_int_equal(h.state, XP_LEASE_DECLINED);
	assert_in_range(h.expires, 100 + 600 - 2, 100 + 600 + 1);
	/* an address nobody holds any more: nothing */
	xp_test_sql(tmpdir, "DELETE FROM leases");
	struct xp_dhcp_lease v[2] = {lease(ip, 1, "", 3700), lease(ip, 2, "", 3700)};
	bool refused[2];
	struct xp_dhcp_lease hv[2];
	assert_int_equal(xp_lease_claim(a, v, 2, 100, refused, hv), 1);
	assert_false(refused[0]);
	assert_true(refused[1]);
	assert_int_equal(hv[1].client[6], 1); /* the first of the batch holds it */
	xp_inv_close(a);
}

/* A role that may not set deadlock_timeout (a superuser's setting) still claims: the
 * claim's transaction then leaves it as the server has it. */
static void test_claim_plain_role(void **st)
{
	(void)st;
	if (!xp_test_pgurl())
		return;
	xp_inv_close(xp_test_inv_open(tmpdir)); /* the schema, made by the superuser */
	char role[32], sql[512];
	snprintf(role, sizeof(role), "xp_plain_%d", (int)getpid());
	snprintf(sql, sizeof(sql),
		 "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN; GRANT USAGE ON SCHEMA %s TO %s;"
		 " GRANT ALL ON ALL TABLES IN SCHEMA %s TO %s",
		 role, role, xp_test_pg_schema, role, xp_test_pg_schema, role);
	xp_test_pg_exec(NULL, sql);
	char *loc, why[512]; /* the fixture's own location, logging in as the role */
	assert_true(asprintf(&loc, "%s&user=%s", getenv("XENPROV_INVENTORY"), role) > 0);
	struct xp_inv *inv = NULL;
	int r = xp_inv_open_at(tmpdir, loc, &inv, why, sizeof(why));
	if (r < 0)
		fprintf(stderr, "cannot open the inventory as %s: %s\n", role, why);
	assert_int_equal(r, 0);
	free(loc);
	const uint32_t ip = IP(10, 6, 0, 1);
	struct xp_dhcp_lease h;
	assert_int_equal(claim(inv, lease(ip, 1, "", 3700), 100, &h), 1);
	assert_int_equal(claim(inv, lease(ip, 2, "", 3700), 100, &h), 0);
	assert_int_equal(h.client[6], 1);
	xp_inv_close(inv);
	snprintf(sql, sizeof(sql), "DROP OWNED BY %s; DROP ROLE %s", role, role);
	xp_test_pg_exec(NULL, sql);
}

/* Four processes, each a server with its own connection, offer the same 64 addresses
 * to their own clients in overlapping batches at once: no address is won by two, and
 * each stored row is its winner's. */
static void test_claim_race(void **st)
{
	(void)st;
	if (!xp_test_pgurl())
		return;
	enum { PROCS = 4, ADDRS = 64, BATCHN = 8 };
	pid_t pid[PROCS];
	int pipes[PROCS][2];
	for (int p = 0; p < PROCS; p++) {
		assert_int_equal(pipe(pipes[p]), 0);
		pid[p] = fork();
		assert_true(pid[p] >= 0);
		if (pid[p] > 0) {
			close(pipes[p][1]);
			continue;
		}
		struct xp_inv *inv = NULL;
		char *loc = xp_test_pg_location_of(tmpdir), why[512];
		if (xp_inv_open_at(tmpdir, loc, &inv, why, sizeof(why)) < 0)
			_exit(2);
		for (int k = 0; k < ADDRS; k += BATCHN) {
			struct xp_dhcp_lease v[BATCHN], hv[BATCHN];
			bool refused[BATCHN];
			/* each its own order, so that the batches overlap differently */
			for (int j = 0; j < BATCHN; j++)
				v[j] = with(lease(IP(10, 1, 0, (k + j * (p + 1) + p * 5) % ADDRS),
						  (uint8_t)(p + 1), "", 900),
					    XP_LEASE_OFFERED);
			if (xp_lease_claim(inv, v, BATCHN, 100, refused, hv) < 0)
				_exit(3);
			for (int j = 0; j < BATCHN; j++) {
				uint8_t at = (uint8_t)(v[j].ip & 0xff);
				if (!refused[j] && write(pipes[p][1], &at, 1) != 1)
					_exit(4);
			}
		}
		xp_inv_close(inv);
		_exit(0);
	}
	int owner[ADDRS];
	for (int a = 0; a < ADDRS; a++)
		owner[a] = 0;
	int won = 0;
	for (int p = 0; p < PROCS; p++) {
		uint8_t at;
		while (read(pipes[p][0], &at, 1) == 1) {
			assert_true(at < ADDRS);
			/* never another process's */
			assert_true(owner[at] == 0 || owner[at] == p + 1);
			owner[at] = p + 1;
			won++;
		}
		close(pipes[p][0]);
		int status;
		assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_true(won >= ADDRS); /* every address went to somebody */
	struct xp_inv *inv = xp_test_inv_open(tmpdir);
	struct xp_dhcp_lease *got;
	size_t n;
	assert_int_equal(xp_lease_load(inv, &got, &n), 0);
	assert_int_equal(n, ADDRS);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i].client[6], owner[got[i].ip & 0xff]);
	free(got);
	xp_inv_close(inv);
}

/* A writer's commit reaches a listening connection; a rolled back one does not. */
static void test_listen(void **st)
{
	(void)st;
	struct xp_inv *l = xp_test_inv_open(tmpdir), *w = xp_test_inv_open(tmpdir);
	int fd = xp_inv_listen(l);
	if (!xp_test_pgurl()) {
		assert_int_equal(fd, -ENOTSUP);
		assert_true(!xp_inv_lost(l));
		assert_int_equal(xp_inv_reconnect(l), 0);
		int fd0;
		short ev0;
		assert_int_equal(xp_inv_reconnect_start(l), 0);
		assert_int_equal(xp_inv_reconnect_poll(l, &fd0, &ev0), 1);
		xp_inv_close(l);
		xp_inv_close(w);
		return;
	}
	assert_true(fd >= 0);
	assert_int_equal(xp_inv_notified(l), 0);
	assert_int_equal(xp_inv_begin(w), 0);
	xp_inv_rollback(w);
	usleep(100000);
	assert_int_equal(xp_inv_notified(l), 0);
	assert_int_equal(xp_inv_begin(w), 0);
	assert_int_equal(xp_inv_commit(w), 0);
	int r = 0;
	for (int i = 0; i < 50 && (r = xp_inv_notified(l)) == 0; i++)
		usleep(20000);
	assert_int_equal(r, 1);
	assert_int_equal(xp_inv_notified(l), 0); /* read once */
	/* the lease claims notify nobody: they are the servers' own business */
	struct xp_dhcp_lease x = lease(IP(10, 2, 0, 1), 1, "", 900);
	bool refused;
	struct xp_dhcp_lease h;
	assert_int_equal(xp_lease_claim(w, &x, 1, 100, &refused, &h), 0);
	usleep(100000);
	assert_int_equal(xp_inv_notified(l), 0);
	/* a claim's statements, kept prepared on the server, are prepared again after a
	 * reconnection (the new session has none) */
	assert_int_equal(xp_inv_reconnect(w), 0);
	x = lease(IP(10, 2, 0, 2), 1, "", 900);
	assert_int_equal(xp_lease_claim(w, &x, 1, 100, &refused, &h), 0);
	/* in steps: lost until done, every call refused at once meanwhile, then usable */
	assert_int_equal(xp_inv_reconnect_start(w), 0);
	assert_true(xp_inv_lost(w));
	assert_int_equal(xp_inv_begin(w), -EIO);
	struct pollfd pf;
	int q, steps = 0;
	while ((q = xp_inv_reconnect_poll(w, &pf.fd, &pf.events)) == 0 && steps++ < 100) {
		assert_true(pf.fd >= 0 && (pf.events == POLLIN || pf.events == POLLOUT));
		assert_true(xp_inv_lost(w));
		assert_int_equal(poll(&pf, 1, 5000), 1);
	}
	assert_int_equal(q, 1);
	assert_true(!xp_inv_lost(w));
	x = lease(IP(10, 2, 0, 3), 1, "", 900);
	assert_int_equal(xp_lease_claim(w, &x, 1, 100, &refused, &h), 0);
	/* reconnecting works and listening again hears the next commit */
	assert_int_equal(xp_inv_reconnect(l), 0);
	assert_true(!xp_inv_lost(l));
	assert_true(xp_inv_listen(l) >= 0);
	assert_int_equal(xp_inv_begin(w), 0);
	assert_int_equal(xp_inv_commit(w), 0);
	for (int i = 0; i < 50 && (r = xp_inv_notified(l)) == 0; i++)
		usleep(20000);
	assert_int_equal(r, 1);
	xp_inv_close(l);
	xp_inv_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_round_trip),
	    xp_test_in_scratch(test_foreign_rows),
	    xp_test_in_scratch(test_claim),
	    xp_test_in_scratch(test_claim_skew),
	    xp_test_in_scratch(test_claim_layers),
	    xp_test_in_scratch(test_claim_unreadable),
	    xp_test_in_scratch(test_claim_plain_role),
	    xp_test_in_scratch(test_claim_race),
	    xp_test_in_scratch(test_listen),
	};
	return xp_test_run_backends(tests, NULL);
}
