/*
 * test-mac.c - unit tests for MAC addresses (mac.c): strict and xl-compatible parsing,
 * printing, classification, random generation from a caller's source.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xenprov/mac.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct strict_case {
	const char *in;
	int rc;
	uint8_t b[6];
};

static const struct strict_case strict_cases[] = {
    {"00:16:3e:12:34:56", 0, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}},
    {"00:16:3E:74:3d:76", 0, {0x00, 0x16, 0x3e, 0x74, 0x3d, 0x76}},
    {"aa-bb-cc-dd-ee-ff", 0, {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}},
    {"FF:FF:FF:FF:FF:FF", 0, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
    {"", -EINVAL, {0}},
    {"00:16:3e:12:34", -EINVAL, {0}},
    {"00:16:3e:12:34:567", -EINVAL, {0}},
    {"00:16:3e:12:34:5", -EINVAL, {0}},
    {"0:16:3e:12:34:56", -EINVAL, {0}},
    {"00:16-3e:12:34:56", -EINVAL, {0}},
    {"00-16:3e-12-34-56", -EINVAL, {0}},
    {"00.16.3e.12.34.56", -EINVAL, {0}},
    {"00:16:3e:12:34:5g", -EINVAL, {0}},
    {"g0:16:3e:12:34:56", -EINVAL, {0}},
    {" 00:16:3e:12:34:5", -EINVAL, {0}},
    {"00:16:3e:12:34:56 ", -EINVAL, {0}},
    {"001:6:3e:12:34:56", -EINVAL, {0}},
};

static void test_strict(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(strict_cases); i++) {
		const struct strict_case *c = &strict_cases[i];
		struct xp_mac m = {{9, 9, 9, 9, 9, 9}};
		print_message("strict '%s'\n", c->in);
		assert_int_equal(xp_mac_parse(c->in, &m), c->rc);
		if (c->rc == 0)
			assert_memory_equal(m.b, c->b, 6);
		else
			assert_memory_equal(m.b, ((uint8_t[6]){9, 9, 9, 9, 9, 9}), 6);
	}
	struct xp_mac m;
	assert_int_equal(xp_mac_parse(NULL, &m), -EINVAL);
	assert_int_equal(xp_mac_parse("00:16:3e:12:34:56", NULL), -EINVAL);
}

struct xl_case {
	const char *in;
	int rc;
	uint8_t b[6];
	size_t errpos;
};

static const struct xl_case xl_cases[] = {
    {"00:16:3e:12:34:56", 0, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    {"00-16-3E-12-34-56", 0, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    /* accepted by xl, not canonical */
    {"0:16:3e:1:2:3", 1, {0x00, 0x16, 0x3e, 0x01, 0x02, 0x03}, 0},
    {"00.16.3e.12.34.56", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    {"00:16:3e:12:34:56xyz", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    {"00:16:3e:12:34:56:78", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    {"0x0:0x16:3e:12:34:56", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    {" 00: 16:+3e:12:34:56", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    {"-0:16:3e:12:34:56", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    {"0000ff:16:3e:12:34:56", 1, {0xff, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    /* 2^32 wraps to 0 in xl's unsigned int */
    {"100000000:16:3e:12:34:56", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    {"-100000000:16:3e:12:34:56", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    /* "0x" not followed by a hex digit reads as 0, and 'x' is taken as the separator */
    {"0x 16:3e:12:34:56", 1, {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}, 0},
    /* xl rejects */
    {"", -EINVAL, {0}, 0},
    {"zz:16:3e:12:34:56", -EINVAL, {0}, 0},
    {"00:16:3e:12:34:zz", -EINVAL, {0}, 15},
    {"00:16:3e:100:34:56", -EINVAL, {0}, 9},
    {"00::16:3e:12:34", -EINVAL, {0}, 3},
    {"-1:16:3e:12:34:56", -EINVAL, {0}, 0},
    {"ffffffffffffffffffff:16:3e:12:34:56", -EINVAL, {0}, 0},
    {"00:16:3e:12:34:", -EINVAL, {0}, 15},
    {"00:16:3e:12:34: ", -EINVAL, {0}, 15},
    {"0x:16:3e:12:34:56", -EINVAL, {0}, 2},
    /* fewer than six groups: xl would read past the end */
    {"0x16:3e:12:34:56", -EBADMSG, {0}, 16},
    {"00:16:3e:12:34", -EBADMSG, {0}, 14},
    {"00", -EBADMSG, {0}, 2},
};

static void test_xl(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(xl_cases); i++) {
		const struct xl_case *c = &xl_cases[i];
		struct xp_mac m = {{9, 9, 9, 9, 9, 9}};
		size_t pos = 999;
		print_message("xl '%s'\n", c->in);
		assert_int_equal(xp_mac_parse_xl(c->in, &m, &pos), c->rc);
		if (c->rc >= 0) {
			assert_memory_equal(m.b, c->b, 6);
		} else {
			assert_int_equal(pos, c->errpos);
			assert_int_equal(m.b[0], 9);
		}
		/* errpos is optional */
		assert_int_equal(xp_mac_parse_xl(c->in, &m, NULL), c->rc);
	}
	struct xp_mac m;
	assert_int_equal(xp_mac_parse_xl(NULL, &m, NULL), -EINVAL);
	assert_int_equal(xp_mac_parse_xl("00:16:3e:12:34:56", NULL, NULL), -EINVAL);
}

static void test_format(void **state)
{
	(void)state;
	char buf[XP_MAC_STRLEN + 1];
	struct xp_mac m = {{0x00, 0x16, 0x3e, 0xAB, 0x0c, 0xff}};
	assert_ptr_equal(xp_mac_format(&m, buf), buf);
	assert_string_equal(buf, "00:16:3e:ab:0c:ff");
	assert_int_equal(strlen(buf), XP_MAC_STRLEN);
	struct xp_mac back;
	assert_int_equal(xp_mac_parse(buf, &back), 0);
	assert_int_equal(xp_mac_cmp(&m, &back), 0);
}

struct class_case {
	const char *in;
	bool multicast, broadcast, zero, local, xen;
};

static const struct class_case class_cases[] = {
    {"00:16:3e:00:00:01", false, false, false, false, true},
    {"00:00:00:00:00:00", false, false, true, false, false},
    {"ff:ff:ff:ff:ff:ff", true, true, false, true, false},
    {"01:00:5e:00:00:fb", true, false, false, false, false},
    {"02:00:00:00:00:01", false, false, false, true, false},
    {"33:33:00:00:00:01", true, false, false, true, false},
    {"00:16:3f:00:00:01", false, false, false, false, false},
    {"00:17:3e:00:00:01", false, false, false, false, false},
    {"01:16:3e:00:00:01", true, false, false, false, false},
    {"ff:ff:ff:ff:ff:fe", true, false, false, true, false},
    {"00:00:00:00:00:01", false, false, false, false, false},
};

static void test_classify(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(class_cases); i++) {
		const struct class_case *c = &class_cases[i];
		struct xp_mac m;
		assert_int_equal(xp_mac_parse(c->in, &m), 0);
		print_message("classify %s\n", c->in);
		assert_int_equal(xp_mac_is_multicast(&m), c->multicast);
		assert_int_equal(xp_mac_is_broadcast(&m), c->broadcast);
		assert_int_equal(xp_mac_is_zero(&m), c->zero);
		assert_int_equal(xp_mac_is_local(&m), c->local);
		assert_int_equal(xp_mac_is_xen_oui(&m), c->xen);
	}
}

static void test_cmp(void **state)
{
	(void)state;
	struct xp_mac a = {{0, 0x16, 0x3e, 0, 0, 1}}, b = {{0, 0x16, 0x3e, 0, 0, 2}};
	assert_true(xp_mac_cmp(&a, &b) < 0);
	assert_true(xp_mac_cmp(&b, &a) > 0);
	assert_int_equal(xp_mac_cmp(&a, &a), 0);
}

/* A deterministic source: repeats a pattern, counts calls, can fail. */
struct src {
	const uint8_t *pattern;
	size_t n;
	int calls;
	int fail;
};

static int src_fill(void *userdata, void *buf, size_t len)
{
	struct src *s = userdata;
	s->calls++;
	if (s->fail)
		return s->fail;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = s->pattern[i % s->n];
	return 0;
}

static void test_random(void **state)
{
	(void)state;
	static const uint8_t ff[] = {0xff}, ab[] = {0xab, 0xcd, 0xef}, zero[] = {0};
	struct xp_mac m;
	char buf[XP_MAC_STRLEN + 1];

	/* locally administered unicast: xxxxxx10 */
	struct src s = {ff, 1, 0, 0};
	assert_int_equal(xp_mac_random(&m, NULL, 0, src_fill, &s), 0);
	assert_string_equal(xp_mac_format(&m, buf), "fe:ff:ff:ff:ff:ff");
	assert_true(xp_mac_is_local(&m));
	assert_false(xp_mac_is_multicast(&m));
	s = (struct src){zero, 1, 0, 0};
	assert_int_equal(xp_mac_random(&m, NULL, 0, src_fill, &s), 0);
	assert_string_equal(xp_mac_format(&m, buf), "02:00:00:00:00:00");

	/* Xen's OUI */
	s = (struct src){ab, 3, 0, 0};
	assert_int_equal(xp_mac_random_xen(&m, src_fill, &s), 0);
	assert_string_equal(xp_mac_format(&m, buf), "00:16:3e:ab:cd:ef");
	assert_true(xp_mac_is_xen_oui(&m));

	/* a site prefix of 5 bytes: one random byte */
	static const uint8_t site[] = {0x52, 0x54, 0x00, 0x12, 0x34};
	s = (struct src){ab, 3, 0, 0};
	assert_int_equal(xp_mac_random(&m, site, 5, src_fill, &s), 0);
	assert_string_equal(xp_mac_format(&m, buf), "52:54:00:12:34:ab");

	/* all-zero prefix and source: drawn again, then given up */
	static const uint8_t zpre[] = {0, 0, 0};
	s = (struct src){zero, 1, 0, 0};
	assert_int_equal(xp_mac_random(&m, zpre, 3, src_fill, &s), -EAGAIN);
	assert_int_equal(s.calls, 16);

	/* errors */
	s = (struct src){ab, 3, 0, -EIO};
	assert_int_equal(xp_mac_random(&m, NULL, 0, src_fill, &s), -EIO);
	static const uint8_t mcast[] = {0x01, 0x00, 0x5e};
	assert_int_equal(xp_mac_random(&m, mcast, 3, src_fill, &s), -EINVAL);
	assert_int_equal(xp_mac_random(&m, site, 6, src_fill, &s), -EINVAL);
	assert_int_equal(xp_mac_random(&m, NULL, 3, src_fill, &s), -EINVAL);
	assert_int_equal(xp_mac_random(&m, NULL, 0, NULL, &s), -EINVAL);
	assert_int_equal(xp_mac_random(NULL, NULL, 0, src_fill, &s), -EINVAL);
	s = (struct src){ab, 3, 0, -ENOSYS};
	assert_int_equal(xp_mac_random_xen(&m, src_fill, &s), -ENOSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strict), cmocka_unit_test(test_xl),
	    cmocka_unit_test(test_format), cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_cmp),	   cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
