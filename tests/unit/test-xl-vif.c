/*
 * test-xl-vif.c - unit tests for the vif= spec reader, writer and JSON (vif-spec.c).
 * Table-driven: rates (libxlu_vif.c arithmetic and every error), specs (fields, every
 * diagnostic with its code, column and severity), canonical writing and round trips.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenprov/xl-vif.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- rates ------------------------------------------------------------------------ */

struct rate_case {
	const char *in;
	int rc;
	uint64_t bpi;
	uint32_t us;
	const char *why;
	size_t errpos;
};

static const struct rate_case rate_cases[] = {
    /* tools/xl/check-xl-vif-parse */
    {"16000000b/s", 0, 100000, 50000, NULL, 0},
    {"16000000b/s@50ms", 0, 100000, 50000, NULL, 0},
    {"2000000B/s", 0, 100000, 50000, NULL, 0},
    {"16Kb/s", 0, 100, 50000, NULL, 0},
    {"2KB/s@50ms", 0, 100, 50000, NULL, 0},
    {"16Mb/s", 0, 100000, 50000, NULL, 0},
    {"2MB/s", 0, 100000, 50000, NULL, 0},
    {"8Gb/s", 0, 50000000, 50000, NULL, 0},
    {"1GB/s@50ms", 0, 50000000, 50000, NULL, 0},
    {"80Mb/s@1s", 0, 10000000, 1000000, NULL, 0},
    {"10MB/s@1s", 0, 10000000, 1000000, NULL, 0},
    {"1MB/s@20ms", 0, 20000, 20000, NULL, 0},
    /* interval units */
    {"1MB/s@20000us", 0, 20000, 20000, NULL, 0},
    {"1MB/s@20000u", 0, 20000, 20000, NULL, 0},
    {"1MB/s@20m", 0, 20000, 20000, NULL, 0},
    {"1MB/s@2", 0, 2000000, 2000000, NULL, 0},
    {"1B/s@4294967295us", 0, 4294, 4294967295u, NULL, 0},
    {"1B/s@4294967ms", 0, 4294, 4294967000u, NULL, 0},
    {"1B/s@4294s", 0, 4294, 4294000000u, NULL, 0},
    /* bits that round down to nothing are still a rate */
    {"1b/s", 0, 0, 50000, NULL, 0},
    {"7b/s@1s", 0, 0, 1000000, NULL, 0},
    {"9b/s@1s", 0, 1, 1000000, NULL, 0},
    /* strtoull base 0: a leading 0 is octal, cut short at 8 or 9 */
    {"010B/s@1s", 0, 8, 1000000, NULL, 0},
    {"019B/s@1s", 0, 1, 1000000, NULL, 0},
    {"019Kb/s@1s", 0, 1, 1000000, NULL, 0},
    {"0019b/s@1s", 0, 0, 1000000, NULL, 0},
    {"1B/s@010ms", 0, 0, 8000, NULL, 0},
    {"1MB/s@019ms", 0, 1, 1, NULL, 0},
    {"4294967295B/s", 0, 214748364, 50000, NULL, 0},
    {"4294967295GB/s@4us", 0, 17179869180000ull, 4, NULL, 0},
    /* errors, with xl's words */
    {"", -EINVAL, 0, 0, "no rate specified", 0},
    {"@", -EINVAL, 0, 0, "no rate specified", 0},
    {"@50ms", -EINVAL, 0, 0, "no rate specified", 0},
    {"foo", -EINVAL, 0, 0, "invalid rate", 0},
    {"10MB", -EINVAL, 0, 0, "invalid rate", 0},
    {"10MB/m", -EINVAL, 0, 0, "invalid rate", 0},
    {"10ZB/s", -EINVAL, 0, 0, "invalid rate", 0},
    {"10kB/s", -EINVAL, 0, 0, "invalid rate", 0},
    {"10MB/s ", -EINVAL, 0, 0, "invalid rate", 0},
    {" 10MB/s", -EINVAL, 0, 0, "invalid rate", 0},
    {"0x10B/s", -EINVAL, 0, 0, "invalid rate", 0},
    {"MB/s", -EINVAL, 0, 0, "invalid rate", 0},
    {"0B/s", -EOVERFLOW, 0, 0, "rate overflow", 0},
    {"08B/s", -EOVERFLOW, 0, 0, "rate overflow", 0},
    {"4294967296b/s", -EOVERFLOW, 0, 0, "rate overflow", 0},
    {"4294967296Gb/s", -EOVERFLOW, 0, 0, "rate overflow", 0},
    {"99999999999999999999999B/s", -EOVERFLOW, 0, 0, "rate overflow", 0},
    {"10Mb/s@foo", -EINVAL, 0, 0, "invalid replenishment interval", 7},
    {"10MB/s@10h", -EINVAL, 0, 0, "invalid replenishment interval", 7},
    {"10MB/s@", -EINVAL, 0, 0, "invalid replenishment interval", 7},
    {"10MB/s@50ms@1s", -EINVAL, 0, 0, "invalid replenishment interval", 7},
    {"10MB/s@ms", -EINVAL, 0, 0, "invalid replenishment interval", 7},
    {"10MB/s@5mus", -EINVAL, 0, 0, "invalid replenishment interval", 7},
    {"1B/s@0us", -EOVERFLOW, 0, 0, "replenishment interval overflow", 5},
    {"1B/s@4294967296us", -EOVERFLOW, 0, 0, "replenishment interval overflow", 5},
    {"1B/s@4294968ms", -EOVERFLOW, 0, 0, "replenishment interval overflow", 5},
    {"1B/s@4295s", -EOVERFLOW, 0, 0, "replenishment interval overflow", 5},
    {"4294967295GB/s@5us", -EOVERFLOW, 0, 0, "rate overflow", 0},
    {"4296MB/s@4294s", -EOVERFLOW, 0, 0, "rate overflow", 0},
};

static void test_rates(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(rate_cases); i++) {
		const struct rate_case *c = &rate_cases[i];
		uint64_t bpi = 12345;
		uint32_t us = 678;
		const char *why = "unset";
		size_t pos = 999;
		int r = xp_vif_parse_rate_ex(c->in, &bpi, &us, &why, &pos);
		print_message("rate '%s' -> %d\n", c->in, r);
		assert_int_equal(r, c->rc);
		if (c->rc == 0) {
			assert_int_equal(bpi, c->bpi);
			assert_int_equal(us, c->us);
			assert_null(why);
		} else {
			assert_int_equal(bpi, 12345); /* untouched */
			assert_int_equal(us, 678);
			assert_string_equal(why, c->why);
			assert_int_equal(pos, c->errpos);
		}
		/* The short form agrees. */
		bpi = 0;
		us = 0;
		assert_int_equal(xp_vif_parse_rate(c->in, &bpi, &us), c->rc);
	}
}

static void test_rate_args(void **state)
{
	(void)state;
	uint64_t bpi;
	uint32_t us;
	const char *why;
	assert_int_equal(xp_vif_parse_rate(NULL, &bpi, &us), -EINVAL);
	assert_int_equal(xp_vif_parse_rate("1B/s", NULL, &us), -EINVAL);
	assert_int_equal(xp_vif_parse_rate_ex("1B/s", &bpi, NULL, &why, NULL), -EINVAL);
	assert_string_equal(why, "invalid argument");
	char *big = malloc(XP_VIF_SPEC_MAX + 2);
	assert_non_null(big);
	memset(big, '1', XP_VIF_SPEC_MAX + 1);
	big[XP_VIF_SPEC_MAX + 1] = '\0';
	assert_int_equal(xp_vif_parse_rate_ex(big, &bpi, &us, &why, NULL), -EINVAL);
	assert_string_equal(why, "invalid rate");
	free(big);
}

struct fmt_rate_case {
	uint64_t bpi;
	uint32_t us;
	int rc;
	const char *out;
};

static const struct fmt_rate_case fmt_rate_cases[] = {
    {100000, 50000, 0, "2MB/s"},
    {20000, 20000, 0, "1MB/s@20ms"},
    {10000000, 1000000, 0, "10MB/s@1s"},
    {50000000, 50000, 0, "1GB/s"},
    {100, 50000, 0, "2KB/s"},
    {0, 50000, 0, "1b/s"},
    {0, 1, 0, "1b/s@1us"},
    {1, 1000000, 0, "1B/s@1s"},
    {4294, 4294967295u, 0, "1B/s@4294967295us"},
    {7, 50000, 0, "140B/s"},
    {17179869180000ull, 4, 0, "4294967295GB/s@4us"},
    {17179869180ull, 4, 0, "4294967295MB/s@4us"},
    {1, 0, -EINVAL, NULL},
    {0, 0, -EINVAL, NULL},
    {UINT64_MAX, 1, -EINVAL, NULL},
    {17179869185ull, 4, -EINVAL, NULL},
};

static void test_format_rate(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(fmt_rate_cases); i++) {
		const struct fmt_rate_case *c = &fmt_rate_cases[i];
		struct xp_buf b = XP_BUF_INIT;
		int r = xp_vif_format_rate(c->bpi, c->us, &b);
		print_message("format rate %llu@%u -> %d '%s'\n", (unsigned long long)c->bpi, c->us,
			      r, xp_buf_str(&b));
		assert_int_equal(r, c->rc);
		if (c->out) {
			assert_string_equal(xp_buf_str(&b), c->out);
			uint64_t bpi;
			uint32_t us;
			assert_int_equal(xp_vif_parse_rate(xp_buf_str(&b), &bpi, &us), 0);
			assert_int_equal(bpi, c->bpi);
			assert_int_equal(us, c->us);
		}
		xp_buf_release(&b);
	}
}

/* Every representable (bytes, interval) near awkward boundaries formats and reads back. */
static void test_format_rate_sweep(void **state)
{
	(void)state;
	static const uint32_t intervals[] = {1,	    3,	   7,	  999,	   1000,
					     20000, 50000, 65537, 1000000, 4294967295u};
	for (size_t i = 0; i < N(intervals); i++) {
		for (uint64_t bpi = 0; bpi < 3000; bpi += 7) {
			struct xp_buf b = XP_BUF_INIT;
			int r = xp_vif_format_rate(bpi, intervals[i], &b);
			if (r == 0) {
				uint64_t got;
				uint32_t us;
				assert_int_equal(xp_vif_parse_rate(xp_buf_str(&b), &got, &us), 0);
				assert_int_equal(got, bpi);
				assert_int_equal(us, intervals[i]);
			} else {
				/* only when no rate in bytes/s gives bpi at all: with long
				 * intervals, one byte/s more is several bytes per interval */
				assert_int_equal(r, -EINVAL);
				uint64_t in = intervals[i];
				uint64_t lo = (bpi * 1000000 + in - 1) / in;
				uint64_t hi = ((bpi + 1) * 1000000 - 1) / in;
				assert_true(lo > hi || lo > UINT32_MAX);
			}
			xp_buf_release(&b);
		}
	}
}

/* ---- specs ------------------------------------------------------------------------ */

struct want_diag {
	enum xp_severity sev;
	const char *code;
	unsigned col;
	const char *msg; /* NULL: not checked */
};

struct spec_case {
	const char *spec;
	int rc;
	const char *json; /* on success */
	struct want_diag d[4];
};

#define W(code, col, msg)                                                                          \
	{                                                                                          \
		XP_SEV_WARNING, code, col, msg                                                     \
	}
#define E(code, col, msg)                                                                          \
	{                                                                                          \
		XP_SEV_ERROR, code, col, msg                                                       \
	}

static const struct spec_case spec_cases[] = {
    {"", 0, "{}", {{0}}},
    {",,, ,", 0, "{}", {W("unknown-key", 5, "empty vif setting; xl ignores it")}},
    {"mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0",
     0,
     "{\"model\":\"rtl8139\",\"mac\":\"00:16:3e:74:3d:76\",\"bridge\":\"xenbr0\"}",
     {{0}}},
    {"bridge=xenbr1,type=vif,vifname=web0,script=vif-route,ip=10.0.0.2 10.0.0.3,"
     "gatewaydev=eth0,backend=drv,devid=3,mtu=9000",
     0,
     "{\"backend_domname\":\"drv\",\"devid\":3,\"mtu\":9000,\"ip\":\"10.0.0.2 10.0.0.3\","
     "\"bridge\":\"xenbr1\",\"ifname\":\"web0\",\"script\":\"vif-route\","
     "\"nictype\":\"vif\",\"gatewaydev\":\"eth0\"}",
     {{0}}},
    {"type=ioemu", 0, "{\"nictype\":\"vif_ioemu\"}", {{0}}},
    {"rate=10Mb/s", 0, "{\"rate_bytes_per_interval\":62500,\"rate_interval_usecs\":50000}", {{0}}},
    {"trusted", 0, "{\"trusted\":\"True\"}", {{0}}},
    {"untrusted", 0, "{\"trusted\":\"False\"}", {{0}}},
    {"  bridge=a", 0, "{\"bridge\":\"a\"}", {{0}}},
    {"bridge=", 0, "{\"bridge\":\"\"}", {{0}}},
    {"bridge= x", 0, "{\"bridge\":\" x\"}", {{0}}},
    {"bridge=a=b\"\\", 0, "{\"bridge\":\"a=b\\\"\\\\\"}", {{0}}},
    {"forwarddev=eth1,colo_sock_mirror_id=m,colo_checkpoint_port=9000",
     0,
     "{\"coloft_forwarddev\":\"eth1\",\"colo_sock_mirror_id\":\"m\","
     "\"colo_checkpoint_port\":\"9000\"}",
     {{0}}},
    /* warnings: xl goes on */
    {"foo=bar", 0, "{}", {W("unknown-key", 1, "unknown vif setting 'foo'; xl ignores it")}},
    {"bridge=a, brige=b",
     0,
     "{\"bridge\":\"a\"}",
     {W("unknown-key", 11, "unknown vif setting 'brige'; xl ignores it")}},
    {"Bridge=a", 0, "{}", {W("unknown-key", 1, NULL)}},
    {"mac", 0, "{}", {W("unknown-key", 1, "unknown vif setting 'mac'; xl ignores it")}},
    {"=x", 0, "{}", {W("unknown-key", 1, NULL)}},
    {"\tbridge=a", 0, "{}", {W("unknown-key", 1, NULL)}},
    {"trusted=1", 0, "{}", {W("unknown-key", 1, NULL)}},
    {"trusted ", 0, "{}", {W("unknown-key", 1, NULL)}},
    {"bridge=xenbr0 ",
     0,
     "{\"bridge\":\"xenbr0 \"}",
     {W("trailing-space", 8, "value of 'bridge' ends in blanks, which xl keeps as part of it")}},
    {"bridge=a,bridge=b",
     0,
     "{\"bridge\":\"b\"}",
     {W("duplicate-key", 10, "'bridge' given again; xl uses the last one")}},
    {"gatewaydev=a,netdev=b",
     0,
     "{\"gatewaydev\":\"b\"}",
     {W("duplicate-key", 14, NULL),
      W("deprecated", 14, "'netdev' is a deprecated alias of 'gatewaydev'")}},
    {"trusted,untrusted",
     0,
     "{\"trusted\":\"False\"}",
     {W("duplicate-key", 9, "trusted/untrusted given again; xl uses the last one")}},
    {"accel=x",
     0,
     "{}",
     {W("unsupported", 1, "xl does not support 'accel' for vifs and ignores it")}},
    {"vlan=10p/20",
     0,
     "{\"vlan\":\"10p/20\"}",
     {W("newer-xen", 1, "'vlan' needs Xen 4.19 or later; older xl ignore it")}},
    {"mac=0:16:3e:1:2:3",
     0,
     "{\"mac\":\"00:16:3e:01:02:03\"}",
     {W("mac-form", 5, "xl reads this MAC address as 00:16:3e:01:02:03")}},
    {"mac=00:16:3e:00:00:01 ", 0, "{\"mac\":\"00:16:3e:00:00:01\"}", {W("mac-form", 5, NULL)}},
    {"mac=01:00:5e:00:00:01",
     0,
     "{\"mac\":\"01:00:5e:00:00:01\"}",
     {W("mac-multicast", 5,
	"MAC address 01:00:5e:00:00:01 is a multicast address; a NIC needs a unicast one")}},
    {"mac=00:00:00:00:00:00",
     0,
     "{}",
     {W("mac-zero", 5, "MAC address 00:00:00:00:00:00 means 'not set': libxl generates one")}},
    {"devid=3abc", 0, "{\"devid\":3}", {W("number-form", 7, "xl reads this devid as 3")}},
    {"mtu= 1500", 0, "{\"mtu\":1500}", {W("number-form", 5, NULL)}},
    {"devid=-5", 0, "{\"devid\":-5}", {W("number-form", 7, "xl reads this devid as -5")}},
    {"mtu=4294967297", 0, "{\"mtu\":1}", {W("number-form", 5, NULL)}},
    {"devid=4294967295", 0, "{}", {W("number-form", 7, NULL)}},
    /* errors: xl fails */
    {"type=foo", -EBADMSG, NULL, {E("bad-type", 6, "invalid vif type")}},
    {"type=vif ", -EBADMSG, NULL, {E("bad-type", 6, NULL)}},
    {"mac=00:16:3e:00:00:zz", -EBADMSG, NULL, {E("bad-mac", 20, "invalid MAC address")}},
    {"mac=00:16:3e:100:00:01", -EBADMSG, NULL, {E("bad-mac", 14, NULL)}},
    {"mac=00:16:3e", -EBADMSG, NULL, {E("bad-mac", 13, "MAC address with fewer than six groups")}},
    {"mac=", -EBADMSG, NULL, {E("bad-mac", 5, "invalid MAC address")}},
    {"rate=10MB", -EBADMSG, NULL, {E("bad-rate", 6, "invalid rate")}},
    {"rate=1B/s@0us", -EBADMSG, NULL, {E("bad-rate", 11, "replenishment interval overflow")}},
    {"rate=", -EBADMSG, NULL, {E("bad-rate", 6, "no rate specified")}},
    {"devid=x", -EBADMSG, NULL, {E("bad-number", 7, "invalid devid: xl needs a decimal number")}},
    {"devid=", -EBADMSG, NULL, {E("bad-number", 7, NULL)}},
    {"mtu=-1", -EBADMSG, NULL, {E("bad-number", 5, "invalid mtu: xl needs a decimal number")}},
    {"mtu=99999999999999999999", -EBADMSG, NULL, {E("bad-number", 5, NULL)}},
    /* all errors reported, warnings too */
    {"foo,type=x,rate=1",
     -EBADMSG,
     NULL,
     {W("unknown-key", 1, NULL), E("bad-type", 10, NULL), E("bad-rate", 17, NULL)}},
};

static void check_diags(const struct xp_diags *d, const struct want_diag *w, size_t nw)
{
	size_t want = 0;
	while (want < nw && w[want].code)
		want++;
	for (size_t i = 0; i < d->n; i++)
		print_message("  diag %s %u %s: %s\n", d->v[i].code, d->v[i].col,
			      xp_severity_name(d->v[i].severity), d->v[i].msg);
	assert_int_equal(d->n, want);
	for (size_t i = 0; i < want; i++) {
		assert_int_equal(d->v[i].severity, w[i].sev);
		assert_string_equal(d->v[i].code, w[i].code);
		assert_int_equal(d->v[i].line, 1);
		assert_int_equal(d->v[i].col, w[i].col);
		if (w[i].msg)
			assert_string_equal(d->v[i].msg, w[i].msg);
	}
}

static void test_specs(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(spec_cases); i++) {
		const struct spec_case *c = &spec_cases[i];
		print_message("spec '%s'\n", c->spec);
		struct xp_diags d;
		xp_diags_init(&d);
		struct xp_vif v;
		int r = xp_vif_parse(c->spec, &v, &d);
		assert_int_equal(r, c->rc);
		check_diags(&d, c->d, N(c->d));
		if (r == 0) {
			struct xp_buf j = XP_BUF_INIT;
			assert_int_equal(xp_vif_to_json(&v, &j), 0);
			assert_string_equal(xp_buf_str(&j), c->json);
			xp_buf_release(&j);

			/* Canonical form reads back to the same struct. */
			struct xp_buf f = XP_BUF_INIT;
			assert_int_equal(xp_vif_format(&v, &f), 0);
			struct xp_vif back;
			assert_int_equal(xp_vif_parse(xp_buf_str(&f), &back, NULL), 0);
			assert_true(xp_vif_equal(&v, &back));
			xp_vif_release(&back);
			xp_buf_release(&f);
		} else {
			/* Left released. */
			struct xp_vif empty;
			xp_vif_init(&empty);
			assert_true(xp_vif_equal(&v, &empty));
		}
		xp_vif_release(&v);
		xp_diags_release(&d);
	}
}

static void test_hints(void **state)
{
	(void)state;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_vif v;
	assert_int_equal(xp_vif_parse("brige=x,mac,Trusted,zzzzzzzz=1", &v, &d), 0);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.v[0].hint, "did you mean 'bridge'?");
	assert_string_equal(d.v[1].hint, "'mac' needs a value: mac=VALUE");
	assert_string_equal(d.v[2].hint, "did you mean 'trusted'?");
	assert_null(d.v[3].hint);
	assert_string_equal(d.v[3].text, "zzzzzzzz=1");
	xp_vif_release(&v);
	xp_diags_release(&d);
}

static void test_parse_at(void **state)
{
	(void)state;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_vif v;
	assert_int_equal(xp_vif_parse_at("bridge=a,foo", &v, &d, "guest.cfg", 7, 10), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].file, "guest.cfg");
	assert_int_equal(d.v[0].line, 7);
	assert_int_equal(d.v[0].col, 19);
	xp_vif_release(&v);
	xp_diags_release(&d);
}

static void test_limits(void **state)
{
	(void)state;
	struct xp_vif v;
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_vif_parse(NULL, &v, NULL), -EINVAL);
	assert_int_equal(xp_vif_parse("", NULL, NULL), -EINVAL);

	char *big = malloc(XP_VIF_SPEC_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', XP_VIF_SPEC_MAX + 1);
	big[XP_VIF_SPEC_MAX + 1] = '\0';
	assert_int_equal(xp_vif_parse(big, &v, &d), -E2BIG);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "too-long");
	assert_string_equal(d.v[0].msg, "vif spec longer than 4096 bytes");
	/* exactly the limit is fine */
	memcpy(big, "bridge=", 7);
	big[XP_VIF_SPEC_MAX] = '\0';
	assert_int_equal(xp_vif_parse(big, &v, NULL), 0);
	assert_int_equal(strlen(v.bridge), XP_VIF_SPEC_MAX - 7);
	xp_vif_release(&v);
	xp_vif_release(NULL);
	free(big);
	xp_diags_release(&d);
}

/* Without diags, errors still fail and warnings still pass. */
static void test_no_diags(void **state)
{
	(void)state;
	struct xp_vif v;
	assert_int_equal(xp_vif_parse("foo,bridge=x", &v, NULL), 0);
	assert_string_equal(v.bridge, "x");
	xp_vif_release(&v);
	assert_int_equal(xp_vif_parse("type=x", &v, NULL), -EBADMSG);
}

struct format_case {
	const char *spec;
	const char *canon;
};

static const struct format_case format_cases[] = {
    {"", ""},
    {"trusted", "trusted"},
    {"untrusted,bridge=b,mac=00:16:3E:00:00:0A,type=ioemu",
     "mac=00:16:3e:00:00:0a,bridge=b,type=ioemu,untrusted"},
    {"rate=16000000b/s", "rate=2MB/s"},
    {"rate=1MB/s@20000us", "rate=1MB/s@20ms"},
    {"rate=1b/s@1s", "rate=1b/s@1s"},
    {"devid=-5,mtu=1500", "devid=4294967291,mtu=1500"},
    {"mtu=-2147483648", "mtu=2147483648"},
    {"mtu=4294967295", "mtu=4294967295"},
    {"netdev=eth0", "gatewaydev=eth0"},
    {"accel=x,model=e1000", "model=e1000"},
    {"colo_checkpoint_host=h,forwarddev=f,vlan=10,backend=d,ip=1.2.3.4,script=s,vifname=v",
     "vifname=v,script=s,ip=1.2.3.4,backend=d,vlan=10,forwarddev=f,colo_checkpoint_host=h"},
    {"bridge=x ,model= y", "bridge=x ,model= y"},
};

static void test_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(format_cases); i++) {
		struct xp_vif v;
		assert_int_equal(xp_vif_parse(format_cases[i].spec, &v, NULL), 0);
		struct xp_buf b = XP_BUF_INIT;
		xp_buf_adds(&b, "prefix:");
		assert_int_equal(xp_vif_format(&v, &b), 0);
		assert_string_equal(xp_buf_str(&b) + 7, format_cases[i].canon);
		xp_buf_release(&b);
		xp_vif_release(&v);
	}
}

static void test_format_invalid(void **state)
{
	(void)state;
	struct xp_vif v;
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_vif_format(NULL, &b), -EINVAL);

	xp_vif_init(&v);
	v.bridge = strdup("a,b");
	assert_int_equal(xp_vif_format(&v, &b), -EINVAL);
	xp_vif_release(&v);

	xp_vif_init(&v);
	v.nictype = (enum xp_nic_type)7;
	assert_int_equal(xp_vif_format(&v, &b), -EINVAL);
	v.nictype = XP_NIC_TYPE_VIF;
	v.trusted = (enum xp_tristate)9;
	assert_int_equal(xp_vif_format(&v, &b), -EINVAL);
	v.trusted = XP_TRI_DEFAULT;
	v.rate_bytes_per_interval = 5;
	assert_int_equal(xp_vif_format(&v, &b), -EINVAL);
	v.rate_interval_usecs = 1;
	v.rate_bytes_per_interval = UINT64_MAX;
	assert_int_equal(xp_vif_format(&v, &b), -EINVAL);
	assert_int_equal(b.len, 0); /* nothing appended on failure */
	xp_vif_release(&v);

	assert_int_equal(xp_vif_to_json(NULL, &b), -EINVAL);
	xp_buf_release(&b);
}

/* A programmatically built struct (deploy's use) formats and reads back. */
static void test_format_built(void **state)
{
	(void)state;
	struct xp_vif v;
	xp_vif_init(&v);
	v.mac = (struct xp_mac){{0x00, 0x16, 0x3e, 0xab, 0xcd, 0xef}};
	v.bridge = strdup("xenbr0");
	v.devid = 0;
	v.rate_bytes_per_interval = 12345;
	v.rate_interval_usecs = 33333;
	v.nictype = XP_NIC_TYPE_VIF;
	v.trusted = XP_TRI_FALSE;
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_vif_format(&v, &b), 0);
	struct xp_vif back;
	assert_int_equal(xp_vif_parse(xp_buf_str(&b), &back, NULL), 0);
	assert_true(xp_vif_equal(&v, &back));
	back.devid = 1;
	assert_false(xp_vif_equal(&v, &back));
	xp_vif_release(&back);
	xp_buf_release(&b);
	xp_vif_release(&v);
}

static void test_json_all(void **state)
{
	(void)state;
	struct xp_vif v;
	xp_vif_init(&v);
	v.backend_domid = 7;
	v.ip = strdup("a\nb\x01");
	struct xp_buf b = XP_BUF_INIT;
	assert_int_equal(xp_vif_to_json(&v, &b), 0);
	assert_string_equal(xp_buf_str(&b), "{\"backend_domid\":7,\"ip\":\"a\\u000ab\\u0001\"}");
	xp_buf_release(&b);
	xp_vif_release(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rates),	   cmocka_unit_test(test_rate_args),
	    cmocka_unit_test(test_format_rate),	   cmocka_unit_test(test_format_rate_sweep),
	    cmocka_unit_test(test_specs),	   cmocka_unit_test(test_hints),
	    cmocka_unit_test(test_parse_at),	   cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_no_diags),	   cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_invalid), cmocka_unit_test(test_format_built),
	    cmocka_unit_test(test_json_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
