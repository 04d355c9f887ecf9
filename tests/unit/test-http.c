/*
 * test-http.c - unit tests for the pure parts of the HTTP service (src/lib/net/http.c):
 * the Range header (RFC 9110 section 14), table-driven, every kind of range, the
 * malformed ones that must be a 416 rather than the whole file or a wrong slice, and
 * the edges of the file and of 64-bit numbers. The server itself is tested end to end
 * with curl (tests/integration/serve-http.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "net/net-internal.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct range_case {
	const char *header;
	uint64_t size;
	int rc;
	uint64_t off, len; /* when rc == 1 */
};

static void test_range(void **st)
{
	(void)st;
	const struct range_case cases[] = {
	    /* the whole file: no header, another unit, several ranges */
	    {NULL, 100, 0, 0, 0},
	    {"", 100, 0, 0, 0},
	    {"items=0-1", 100, 0, 0, 0},
	    {"bytes=0-1,5-6", 100, 0, 0, 0},
	    {"bytes=--1,0-1", 100, 0, 0, 0},
	    /* one range */
	    {"bytes=0-0", 100, 1, 0, 1},
	    {"bytes=0-99", 100, 1, 0, 100},
	    {"bytes=10-19", 100, 1, 10, 10},
	    {"BYTES=10-19", 100, 1, 10, 10}, /* the unit is case-insensitive */
	    {"bytes=10-", 100, 1, 10, 90},
	    {"bytes=10-1000", 100, 1, 10, 90}, /* cut to the end */
	    {"bytes=99-", 100, 1, 99, 1},
	    {"bytes=-1", 100, 1, 99, 1},
	    {"bytes=-100", 100, 1, 0, 100},
	    {"bytes=-500", 100, 1, 0, 100}, /* more than the file: all of it */
	    {"bytes=0-18446744073709551615", 100, 1, 0, 100},
	    {"bytes=0-99999999999999999999999999", 100, 1, 0, 100}, /* saturates */
	    {"bytes=-99999999999999999999999999", 100, 1, 0, 100},
	    /* not satisfiable */
	    {"bytes=100-", 100, -1, 0, 0},
	    {"bytes=100-200", 100, -1, 0, 0},
	    {"bytes=99999999999999999999999999-", 100, -1, 0, 0},
	    {"bytes=-0", 100, -1, 0, 0},
	    {"bytes=0-", 0, -1, 0, 0},
	    {"bytes=-5", 0, -1, 0, 0},
	    /* malformed: a 416, never the whole file or another slice */
	    {"bytes=--1", 100, -1, 0, 0},
	    {"bytes=-", 100, -1, 0, 0},
	    {"bytes=", 100, -1, 0, 0},
	    {"bytes=-+1", 100, -1, 0, 0},
	    {"bytes=+1-2", 100, -1, 0, 0},
	    {"bytes=1-+2", 100, -1, 0, 0},
	    {"bytes=1--2", 100, -1, 0, 0},
	    {"bytes=1-2-", 100, -1, 0, 0},
	    {"bytes=1", 100, -1, 0, 0},
	    {"bytes=a-b", 100, -1, 0, 0},
	    {"bytes=0x10-", 100, -1, 0, 0},
	    {"bytes= 1-2", 100, -1, 0, 0},
	    {"bytes=1-2 ", 100, -1, 0, 0},
	    {"bytes=5-3", 100, -1, 0, 0}, /* last-pos before first-pos */
	    {"bytes=-1x", 100, -1, 0, 0},
	};
	for (size_t i = 0; i < N(cases); i++) {
		const struct range_case *c = &cases[i];
		uint64_t off = 7, len = 7;
		int rc = xp__http_range(c->header, c->size, &off, &len);
		if (rc != c->rc || (rc == 1 && (off != c->off || len != c->len)))
			print_error("'%s' of %llu: got %d [%llu, +%llu)\n",
				    c->header ? c->header : "(null)", (unsigned long long)c->size,
				    rc, (unsigned long long)off, (unsigned long long)len);
		assert_int_equal(rc, c->rc);
		if (rc == 1) {
			assert_int_equal(off, c->off);
			assert_int_equal(len, c->len);
			assert_true(off + len <= c->size);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
