/*
 * test-tftp.c - unit tests for the pure TFTP engine (tftp-pkt.c, tftp-session.c).
 * Table-driven: request parsing (options, case, missing NULs, padding and garbage, bad
 * numbers, duplicates), the request check, packet parsing, ERROR building, the filename
 * gate, netascii; negotiation (the first packet's exact bytes); whole transfers against
 * a model client (RFC 1350 / RFC 7440 receiver) with DATA and ACK loss, rollbacks,
 * duplicate ACKs, timeouts with backoff and give-up, block rollover past 65535 and the
 * empty last block. Time is a plain counter passed in: no clock, no timed assertions.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenprov/tftp.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* a packet written as a string literal with its NULs spelled out */
#define P(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- request parsing ---------------------------------------------------------------- */

struct req_case {
	const char *what;
	const uint8_t *pkt;
	size_t len;
	int rc;
	int opcode;
	const char *filename;
	enum xp_tftp_mode mode;
	int64_t blksize, timeout, windowsize; /* -1: absent */
	int64_t tsize;			      /* -1: absent */
	unsigned invalid;
};

static const struct req_case req_cases[] = {
    /* requests in the form real clients send them */
    {"pxelinux 6 (tsize, blksize)",
     P("\0\1pxelinux.cfg/default\0octet\0tsize\0000\0blksize\0001408\0"), 0, XP_TFTP_RRQ,
     "pxelinux.cfg/default", XP_TFTP_OCTET, 1408, -1, -1, 0, 0},
    {"tftp-hpa plain", P("\0\1pxelinux.0\0octet\0"), 0, XP_TFTP_RRQ, "pxelinux.0", XP_TFTP_OCTET,
     -1, -1, -1, -1, 0},
    {"tftp-hpa -v netascii", P("\0\1/boot/readme.txt\0netascii\0"), 0, XP_TFTP_RRQ,
     "/boot/readme.txt", XP_TFTP_NETASCII, -1, -1, -1, -1, 0},
    {"curl (tsize, blksize, timeout)",
     P("\0\1distros/d/kernel\0octet\0tsize\0000\0blksize\0001468\0timeout\0006\0"), 0, XP_TFTP_RRQ,
     "distros/d/kernel", XP_TFTP_OCTET, 1468, 6, -1, 0, 0},
    {"atftp windowsize", P("\0\1big.img\0octet\0blksize\0001468\0windowsize\00064\0tsize\0000\0"),
     0, XP_TFTP_RRQ, "big.img", XP_TFTP_OCTET, 1468, -1, 64, 0, 0},
    {"WRQ parses", P("\0\2up.bin\0octet\0"), 0, XP_TFTP_WRQ, "up.bin", XP_TFTP_OCTET, -1, -1, -1,
     -1, 0},
    /* case-insensitive mode and option names (RFC 1350, RFC 2347) */
    {"upper case", P("\0\1File\0OCTET\0BLKSIZE\0001024\0TSize\0000\0"), 0, XP_TFTP_RRQ, "File",
     XP_TFTP_OCTET, 1024, -1, -1, 0, 0},
    {"NetAscii", P("\0\1a\0NetAscii\0"), 0, XP_TFTP_RRQ, "a", XP_TFTP_NETASCII, -1, -1, -1, -1, 0},
    /* unknown options skipped, even repeated */
    {"unknown options", P("\0\1a\0octet\0rollover\0000\0multicast\0\0rollover\0001\0"), 0,
     XP_TFTP_RRQ, "a", XP_TFTP_OCTET, -1, -1, -1, -1, 0},
    /* padding */
    {"NUL padding", P("\0\1a\0octet\0\0\0\0"), 0, XP_TFTP_RRQ, "a", XP_TFTP_OCTET, -1, -1, -1, -1,
     0},
    {"padding after options", P("\0\1a\0octet\0blksize\000512\0\0\0"), 0, XP_TFTP_RRQ, "a",
     XP_TFTP_OCTET, 512, -1, -1, -1, 0},
    {"empty filename parses", P("\0\1\0octet\0"), 0, XP_TFTP_RRQ, "", XP_TFTP_OCTET, -1, -1, -1, -1,
     0},
    /* values: numbers, saturating, invalid */
    {"big blksize saturates", P("\0\1a\0octet\0blksize\00099999999999\0"), 0, XP_TFTP_RRQ, "a",
     XP_TFTP_OCTET, UINT32_MAX, -1, -1, -1, 0},
    {"tsize 20 digits", P("\0\1a\0octet\0tsize\00018446744073709551615\0"), 0, XP_TFTP_RRQ, "a",
     XP_TFTP_OCTET, -1, -1, -1, -2, 0},
    {"tsize above 2^64", P("\0\1a\0octet\0tsize\00018446744073709551616\0"), 0, XP_TFTP_RRQ, "a",
     XP_TFTP_OCTET, -1, -1, -1, -1, XP_TFTP_OPT_TSIZE},
    {"tsize 21 digits", P("\0\1a\0octet\0tsize\0000000000000000000000001\0"), 0, XP_TFTP_RRQ, "a",
     XP_TFTP_OCTET, -1, -1, -1, -1, XP_TFTP_OPT_TSIZE},
    {"blksize letters", P("\0\1a\0octet\0blksize\0abc\0"), 0, XP_TFTP_RRQ, "a", XP_TFTP_OCTET, -1,
     -1, -1, -1, XP_TFTP_OPT_BLKSIZE},
    {"blksize empty", P("\0\1a\0octet\0blksize\0\0"), 0, XP_TFTP_RRQ, "a", XP_TFTP_OCTET, -1, -1,
     -1, -1, XP_TFTP_OPT_BLKSIZE},
    {"timeout signed", P("\0\1a\0octet\0timeout\0+5\0windowsize\0-1\0"), 0, XP_TFTP_RRQ, "a",
     XP_TFTP_OCTET, -1, -1, -1, -1, XP_TFTP_OPT_TIMEOUT | XP_TFTP_OPT_WINDOWSIZE},
    {"blksize 0", P("\0\1a\0octet\0blksize\0000\0"), 0, XP_TFTP_RRQ, "a", XP_TFTP_OCTET, 0, -1, -1,
     -1, 0},
    {"blksize spaces", P("\0\1a\0octet\0blksize\0 512\0"), 0, XP_TFTP_RRQ, "a", XP_TFTP_OCTET, -1,
     -1, -1, -1, XP_TFTP_OPT_BLKSIZE},
    /* errors */
    {"empty packet", P(""), -EBADMSG, 0, "", 0, -1, -1, -1, -1, 0},
    {"one byte", P("\0"), -EBADMSG, 0, "", 0, -1, -1, -1, -1, 0},
    {"opcode DATA", P("\0\3\0\1"), -EPROTO, XP_TFTP_DATA, "", 0, -1, -1, -1, -1, 0},
    {"opcode 7", P("\0\7a\0octet\0"), -EPROTO, 7, "", 0, -1, -1, -1, -1, 0},
    {"opcode only", P("\0\1"), -EBADMSG, XP_TFTP_RRQ, "", 0, -1, -1, -1, -1, 0},
    {"filename without NUL", P("\0\1pxelinux.0"), -EBADMSG, XP_TFTP_RRQ, "", 0, -1, -1, -1, -1, 0},
    {"no mode", P("\0\1pxelinux.0\0"), -EBADMSG, XP_TFTP_RRQ, "pxelinux.0", 0, -1, -1, -1, -1, 0},
    {"mode without NUL", P("\0\1a\0octet"), -EBADMSG, XP_TFTP_RRQ, "a", 0, -1, -1, -1, -1, 0},
    {"option without value", P("\0\1a\0octet\0blksize\0"), -EBADMSG, XP_TFTP_RRQ, "a", 0, -1, -1,
     -1, -1, 0},
    {"option name without NUL", P("\0\1a\0octet\0blksize"), -EBADMSG, XP_TFTP_RRQ, "a", 0, -1, -1,
     -1, -1, 0},
    {"value without NUL", P("\0\1a\0octet\0blksize\000512"), -EBADMSG, XP_TFTP_RRQ, "a", 0, -1, -1,
     -1, -1, 0},
    {"garbage after padding", P("\0\1a\0octet\0\0\0x"), -EBADMSG, XP_TFTP_RRQ, "a", 0, -1, -1, -1,
     -1, 0},
    {"empty option name then value", P("\0\1a\0octet\0\0000\0"), -EBADMSG, XP_TFTP_RRQ, "a", 0, -1,
     -1, -1, -1, 0},
    {"duplicate blksize", P("\0\1a\0octet\0blksize\000512\0BlkSize\0001024\0"), -EBADMSG,
     XP_TFTP_RRQ, "a", 0, 512, -1, -1, -1, 0},
    {"duplicate bad tsize", P("\0\1a\0octet\0tsize\0x\0tsize\0000\0"), -EBADMSG, XP_TFTP_RRQ, "a",
     0, -1, -1, -1, -1, XP_TFTP_OPT_TSIZE},
    {"mode mail", P("\0\1a\0mail\0"), -EPROTONOSUPPORT, XP_TFTP_RRQ, "a", XP_TFTP_MAIL, -1, -1, -1,
     -1, 0},
    {"mode MAIL", P("\0\2a\0MAIL\0"), -EPROTONOSUPPORT, XP_TFTP_WRQ, "a", XP_TFTP_MAIL, -1, -1, -1,
     -1, 0},
    {"mode binary", P("\0\1a\0binary\0"), -EPROTONOSUPPORT, XP_TFTP_RRQ, "a", 0, -1, -1, -1, -1, 0},
    {"mode empty", P("\0\1a\0\0"), -EPROTONOSUPPORT, XP_TFTP_RRQ, "a", 0, -1, -1, -1, -1, 0},
    {"mode octets", P("\0\1a\0octets\0"), -EPROTONOSUPPORT, XP_TFTP_RRQ, "a", 0, -1, -1, -1, -1, 0},
};

static void test_parse_request(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(req_cases); i++) {
		const struct req_case *c = &req_cases[i];
		struct xp_tftp_request r;
		int rc = xp_tftp_parse_request(c->pkt, c->len, &r);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->what, rc, c->rc);
		assert_int_equal(r.opcode, c->opcode);
		assert_string_equal(r.filename, c->filename);
		if (rc != 0 && rc != -EPROTONOSUPPORT)
			continue;
		assert_int_equal(r.mode, c->mode);
		assert_int_equal(r.netascii, c->mode == XP_TFTP_NETASCII);
		if (c->rc != 0)
			continue;
		assert_int_equal(r.has_blksize, c->blksize != -1);
		if (c->blksize != -1)
			assert_int_equal(r.blksize, (uint32_t)c->blksize);
		assert_int_equal(r.has_timeout, c->timeout != -1);
		if (c->timeout != -1)
			assert_int_equal(r.timeout, (uint32_t)c->timeout);
		assert_int_equal(r.has_windowsize, c->windowsize != -1);
		if (c->windowsize != -1)
			assert_int_equal(r.windowsize, (uint32_t)c->windowsize);
		assert_int_equal(r.has_tsize, c->tsize != -1);
		if (c->tsize >= 0)
			assert_int_equal(r.tsize, (uint64_t)c->tsize);
		if (c->tsize == -2)
			assert_true(r.tsize == UINT64_MAX);
		if (r.invalid != c->invalid)
			fail_msg("%s: invalid %#x, want %#x", c->what, r.invalid, c->invalid);
	}
}

static void test_parse_request_name_length(void **state)
{
	(void)state;
	uint8_t pkt[2 + 300 + 7];
	for (size_t n = 254; n <= 257; n++) {
		pkt[0] = 0;
		pkt[1] = 1;
		memset(pkt + 2, 'x', n);
		memcpy(pkt + 2 + n, "\0octet\0", 7);
		struct xp_tftp_request r;
		int rc = xp_tftp_parse_request(pkt, 2 + n + 7, &r);
		assert_int_equal(rc, n <= XP_TFTP_NAME_MAX ? 0 : -ENAMETOOLONG);
		if (rc == 0)
			assert_int_equal(strlen(r.filename), n);
	}
}

/* ---- the request check -------------------------------------------------------------- */

struct check_case {
	const char *what;
	const uint8_t *pkt;
	size_t len;
	struct xp_tftp_limits lim;
	int rc;
};

static const struct check_case check_cases[] = {
    {"plain RRQ", P("\0\1a\0octet\0"), {0}, 0},
    {"WRQ is refused: read-only", P("\0\2a\0octet\0"), {0}, -EROFS},
    {"blksize 8", P("\0\1a\0octet\0blksize\0008\0"), {0}, 0},
    {"blksize 7", P("\0\1a\0octet\0blksize\0007\0"), {0}, -EOPNOTSUPP},
    {"blksize 0", P("\0\1a\0octet\0blksize\0000\0"), {0}, -EOPNOTSUPP},
    {"blksize huge is lowered, not refused", P("\0\1a\0octet\0blksize\00099999999999\0"), {0}, 0},
    {"blksize not a number", P("\0\1a\0octet\0blksize\0x\0"), {0}, -EOPNOTSUPP},
    {"timeout 1", P("\0\1a\0octet\0timeout\0001\0"), {0}, 0},
    {"timeout 255", P("\0\1a\0octet\0timeout\000255\0"), {0}, 0},
    {"timeout 0", P("\0\1a\0octet\0timeout\0000\0"), {0}, -EOPNOTSUPP},
    {"timeout 256", P("\0\1a\0octet\0timeout\000256\0"), {0}, -EOPNOTSUPP},
    {"windowsize 0", P("\0\1a\0octet\0windowsize\0000\0"), {0}, -EOPNOTSUPP},
    {"windowsize 65536 is lowered", P("\0\1a\0octet\0windowsize\00065536\0"), {0}, 0},
    {"tsize not a number", P("\0\1a\0octet\0tsize\0?\0"), {0}, -EOPNOTSUPP},
    {"tsize non-zero in RRQ", P("\0\1a\0octet\0tsize\0001234\0"), {0}, 0},
    {"max_blksize 7", P("\0\1a\0octet\0"), {.max_blksize = 7}, -EINVAL},
    {"max_blksize 65465", P("\0\1a\0octet\0"), {.max_blksize = 65465}, -EINVAL},
    {"max_blksize 65464", P("\0\1a\0octet\0"), {.max_blksize = 65464}, 0},
    {"max_windowsize 65536", P("\0\1a\0octet\0"), {.max_windowsize = 65536}, -EINVAL},
};

static void test_request_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(check_cases); i++) {
		const struct check_case *c = &check_cases[i];
		struct xp_tftp_request r;
		assert_int_equal(xp_tftp_parse_request(c->pkt, c->len, &r), 0);
		int rc = xp_tftp_request_check(&r, &c->lim);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->what, rc, c->rc);
		/* the session constructor refuses the same way */
		struct xp_tftp_source src;
		xp_tftp_source_mem(&src, "", 0);
		struct xp_tftp_session *s = (void *)1;
		assert_int_equal(xp_tftp_session_new(&r, &src, &c->lim, 0, &s), c->rc);
		assert_true(c->rc == 0 ? s != NULL : s == NULL);
		xp_tftp_session_free(s);
	}
	/* mail (parse refuses it, the check too), a non-request opcode, no source */
	struct xp_tftp_request r = {.opcode = XP_TFTP_RRQ, .mode = XP_TFTP_MAIL};
	assert_int_equal(xp_tftp_request_check(&r, NULL), -EPROTONOSUPPORT);
	r.mode = XP_TFTP_OCTET;
	r.opcode = XP_TFTP_ACK;
	assert_int_equal(xp_tftp_request_check(&r, NULL), -EINVAL);
	r.opcode = XP_TFTP_RRQ;
	struct xp_tftp_session *s;
	assert_int_equal(xp_tftp_session_new(&r, NULL, NULL, 0, &s), -EINVAL);
	struct xp_tftp_source nosrc = {0};
	assert_int_equal(xp_tftp_session_new(&r, &nosrc, NULL, 0, &s), -EINVAL);
}

/* ---- other packets ------------------------------------------------------------------ */

static void test_parse_packet(void **state)
{
	(void)state;
	struct xp_tftp_packet pk;
	assert_int_equal(xp_tftp_parse_packet(P("\0\4\1\2"), &pk), XP_TFTP_ACK);
	assert_int_equal(pk.block, 0x102);
	assert_int_equal(xp_tftp_parse_packet(P("\0\4\377\377\0\0"), &pk), XP_TFTP_ACK);
	assert_int_equal(pk.block, 65535);
	assert_int_equal(xp_tftp_parse_packet(P("\0\3\0\7abc"), &pk), XP_TFTP_DATA);
	assert_int_equal(pk.block, 7);
	assert_int_equal(pk.datalen, 3);
	assert_memory_equal(pk.data, "abc", 3);
	assert_int_equal(xp_tftp_parse_packet(P("\0\5\0\1not here\0"), &pk), XP_TFTP_ERROR);
	assert_int_equal(pk.code, 1);
	assert_int_equal(pk.msglen, 8);
	assert_memory_equal(pk.msg, "not here", 8);
	assert_int_equal(xp_tftp_parse_packet(P("\0\5\0\10no nul"), &pk), XP_TFTP_ERROR);
	assert_int_equal(pk.code, 8);
	assert_int_equal(pk.msglen, 6);
	assert_int_equal(xp_tftp_parse_packet(P("\0\5\0\0"), &pk), XP_TFTP_ERROR);
	assert_int_equal(pk.msglen, 0);
	assert_int_equal(xp_tftp_parse_packet(P("\0\4\0"), &pk), -EBADMSG);
	assert_int_equal(xp_tftp_parse_packet(P(""), &pk), -EBADMSG);
	assert_int_equal(xp_tftp_parse_packet(P("\0\6blksize\0008\0"), &pk), -EPROTO);
	assert_int_equal(pk.opcode, XP_TFTP_OACK);
	assert_int_equal(xp_tftp_parse_packet(P("\0\1a\0octet\0"), &pk), -EPROTO);
	assert_int_equal(xp_tftp_parse_packet(P("\1\0\0\0"), &pk), -EPROTO);
}

static void test_build_error(void **state)
{
	(void)state;
	uint8_t buf[256];
	size_t n = xp_tftp_build_error(buf, sizeof buf, XP_TFTP_EBADID, "unknown transfer ID");
	assert_int_equal(n, 4 + 19 + 1);
	assert_memory_equal(buf, "\0\5\0\5unknown transfer ID\0", n);
	n = xp_tftp_build_error(buf, 8, 1, "truncated");
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "\0\5\0\1tru\0", 8);
	assert_int_equal(xp_tftp_build_error(buf, 5, 2, "x"), 5);
	assert_memory_equal(buf, "\0\5\0\2\0", 5);
	assert_int_equal(xp_tftp_build_error(buf, 4, 2, "x"), 0);
	assert_int_equal(xp_tftp_build_error(buf, sizeof buf, 0, NULL), 5);

	static const struct {
		int err;
		uint16_t code;
		const char *msg;
	} map[] = {
	    {-ENOENT, 1, "file not found"},
	    {-EISDIR, 1, "file not found"},
	    {-ENOTDIR, 1, "file not found"},
	    {-EACCES, 2, "access violation"},
	    {-EPERM, 2, "access violation"},
	    {-EROFS, 2, "read-only server"},
	    {-EINVAL, 2, "invalid file name"},
	    {-ENAMETOOLONG, 2, "invalid file name"},
	    {-EPROTONOSUPPORT, 4, "unsupported mode"},
	    {-EBADMSG, 4, "illegal TFTP operation"},
	    {-EPROTO, 4, "illegal TFTP operation"},
	    {-EOPNOTSUPP, 8, "unacceptable option"},
	    {-ENOMEM, 0, "out of memory"},
	    {-EIO, 0, "read error"},
	    {-EFBIG, 0, "file too large"},
	    {-ELOOP, 0, "internal error"},
	};
	for (size_t i = 0; i < N(map); i++) {
		n = xp_tftp_build_errno(buf, sizeof buf, map[i].err);
		assert_int_equal(n, 5 + strlen(map[i].msg));
		assert_int_equal(buf[1], XP_TFTP_ERROR);
		assert_int_equal(buf[2] << 8 | buf[3], map[i].code);
		assert_string_equal((char *)buf + 4, map[i].msg);
	}
	assert_int_equal(xp_tftp_build_errno(buf, 3, -ENOENT), 0);
}

/* ---- the filename gate -------------------------------------------------------------- */

struct path_case {
	const char *in;
	size_t len; /* 0: strlen */
	int rc;	    /* > 0: the output's length */
	const char *out;
};

static const struct path_case path_cases[] = {
    {"pxelinux.0", 0, 10, "pxelinux.0"},
    {"/pxelinux.0", 0, 10, "pxelinux.0"},
    {"//pxelinux.0", 0, 10, "pxelinux.0"},
    {"pxelinux.cfg//default", 0, 20, "pxelinux.cfg/default"},
    {"/pxelinux.cfg/01-aa-bb-cc-dd-ee-ff", 0, 33, "pxelinux.cfg/01-aa-bb-cc-dd-ee-ff"},
    {"./a/./b", 0, 3, "a/b"},
    {"...", 0, 3, "..."},
    {"..a/b..", 0, 7, "..a/b.."},
    {"a b~!$%", 0, 7, "a b~!$%"},
    {"..", 0, -EACCES, NULL},
    {"../etc/passwd", 0, -EACCES, NULL},
    {"/../x", 0, -EACCES, NULL},
    {"a/../b", 0, -EACCES, NULL},
    {"a/..", 0, -EACCES, NULL},
    {"a//..//b", 0, -EACCES, NULL},
    {"", 0, -EINVAL, NULL},
    {"/", 0, -EINVAL, NULL},
    {".", 0, -EINVAL, NULL},
    {"/./", 0, -EINVAL, NULL},
    {"a/", 0, -EINVAL, NULL},
    {"../", 0, -EINVAL, NULL},
    {"a\\b", 0, -EINVAL, NULL},
    {"..\\..\\boot.ini", 0, -EINVAL, NULL},
    {"a\0b", 3, -EINVAL, NULL},
    {"a\tb", 0, -EINVAL, NULL},
    {"a\nb", 0, -EINVAL, NULL},
    {"a\x7f", 0, -EINVAL, NULL},
    {"caf\xc3\xa9", 0, -EINVAL, NULL},
    {"../\x01", 0, -EINVAL, NULL},
};

static void test_path_check(void **state)
{
	(void)state;
	char out[300];
	for (size_t i = 0; i < N(path_cases); i++) {
		const struct path_case *c = &path_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		int rc = xp_tftp_path_check(c->in, len, out, sizeof out);
		if (rc != c->rc)
			fail_msg("'%s': rc %d, want %d", c->in, rc, c->rc);
		if (rc > 0)
			assert_string_equal(out, c->out);
	}
	/* length: 255 fits, 256 does not */
	char name[300];
	memset(name, 'n', sizeof name);
	assert_int_equal(xp_tftp_path_check(name, 255, out, sizeof out), 255);
	assert_int_equal(xp_tftp_path_check(name, 256, out, sizeof out), -EINVAL);
	/* a leading '/' counts against the 255 as sent */
	name[0] = '/';
	assert_int_equal(xp_tftp_path_check(name, 255, out, sizeof out), 254);
	/* output space: len + 1 always suffices, less may not */
	assert_int_equal(xp_tftp_path_check("abc/def", 7, out, 8), 7);
	assert_int_equal(xp_tftp_path_check("abc/def", 7, out, 7), -ENOSPC);
	assert_int_equal(xp_tftp_path_check("/abc", 4, out, 4), 3);
	assert_int_equal(xp_tftp_path_check("abc", 3, out, 3), -ENOSPC);
}

/* ---- netascii ----------------------------------------------------------------------- */

static void test_netascii(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t inlen;
		const char *out;
		size_t outlen;
	} cases[] = {
	    {"", 0, "", 0},
	    {"abc", 3, "abc", 3},
	    {"a\nb", 3, "a\r\nb", 4},
	    {"a\rb", 3, "a\r\0b", 4},
	    {"dos\r\n", 5, "dos\r\0\r\n", 7},
	    {"\n\n", 2, "\r\n\r\n", 4},
	    {"x\0y", 3, "x\0y", 3},
	};
	uint8_t out[32];
	for (size_t i = 0; i < N(cases); i++) {
		assert_int_equal(xp_tftp_netascii_len(cases[i].in, cases[i].inlen),
				 cases[i].outlen);
		assert_int_equal(
		    xp_tftp_netascii_encode(cases[i].in, cases[i].inlen, out, sizeof out),
		    (ssize_t)cases[i].outlen);
		assert_memory_equal(out, cases[i].out, cases[i].outlen);
		if (cases[i].outlen) {
			assert_int_equal(xp_tftp_netascii_encode(cases[i].in, cases[i].inlen, out,
								 cases[i].outlen - 1),
					 -ENOSPC);
		}
	}
}

/* ---- sources ------------------------------------------------------------------------ */

/* The byte at offset off of every test file: varies with the block and within it. */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 131 + (off >> 9) * 7 + (off >> 17));
}

/* A virtual file of any size, made of pattern(); optionally failing at an offset. */
struct vsrc {
	uint64_t fail_at; /* reads at or past this offset fail (UINT64_MAX: never) */
	int err;	  /* < 0: that error, 0: a short read */
	unsigned reads;
};

static ssize_t vsrc_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct vsrc *v = ctx;
	v->reads++;
	if (off + len > v->fail_at) {
		if (v->err < 0)
			return v->err;
		len = off < v->fail_at ? (size_t)(v->fail_at - off) : 0;
	}
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++)
		b[i] = pattern(off + i);
	return (ssize_t)len;
}

static struct xp_tftp_source vsource(struct vsrc *v, uint64_t size)
{
	v->fail_at = v->fail_at ? v->fail_at : UINT64_MAX;
	return (struct xp_tftp_source){vsrc_read, v, size};
}

static struct xp_tftp_session *start(const uint8_t *pkt, size_t len,
				     const struct xp_tftp_source *src,
				     const struct xp_tftp_limits *lim, int64_t now)
{
	struct xp_tftp_request r;
	assert_int_equal(xp_tftp_parse_request(pkt, len, &r), 0);
	struct xp_tftp_session *s = NULL;
	assert_int_equal(xp_tftp_session_new(&r, src, lim, now, &s), 0);
	return s;
}

/* A session over a virtual file: the file, its source and the session. */
struct vsess {
	struct vsrc v;
	struct xp_tftp_source src;
	struct xp_tftp_session *s;
};

/* Starts vs: a session for the request pkt (len bytes) over a virtual file of size
 * bytes, with limits lim (NULL: the defaults), at now; the session. */
static struct xp_tftp_session *vstart(struct vsess *vs, const uint8_t *pkt, size_t len,
				      uint64_t size, const struct xp_tftp_limits *lim, int64_t now)
{
	vs->v = (struct vsrc){0};
	vs->src = vsource(&vs->v, size);
	vs->s = start(pkt, len, &vs->src, lim, now);
	return vs->s;
}

static void ack(struct xp_tftp_session *s, uint16_t block, int64_t now, int want)
{
	uint8_t a[4] = {0, XP_TFTP_ACK, (uint8_t)(block >> 8), (uint8_t)block};
	assert_int_equal(xp_tftp_session_input(s, a, 4, now), want);
}

static uint8_t pbuf[65536];

/* The next packet: asserts it is DATA block with len payload bytes. */
static void expect_data(struct xp_tftp_session *s, int64_t now, uint16_t block, size_t len)
{
	ssize_t n = xp_tftp_session_next(s, pbuf, sizeof pbuf, now);
	if (n != (ssize_t)(4 + len) || pbuf[1] != XP_TFTP_DATA || (pbuf[2] << 8 | pbuf[3]) != block)
		fail_msg("want DATA %u (%zu bytes), got %zd bytes op %u block %u", block, len, n,
			 pbuf[1], pbuf[2] << 8 | pbuf[3]);
}

static void expect_nothing(struct xp_tftp_session *s, int64_t now)
{
	assert_int_equal(xp_tftp_session_next(s, pbuf, sizeof pbuf, now), 0);
}

/* ---- negotiation -------------------------------------------------------------------- */

struct neg_case {
	const char *what;
	const uint8_t *pkt;
	size_t len;
	struct xp_tftp_limits lim;
	uint64_t size;
	const char *first; /* the exact first packet (OACK) or NULL: DATA 1 */
	size_t firstlen;
	uint32_t blksize, windowsize;
};

#define F(s) s, sizeof(s) - 1

static const struct neg_case neg_cases[] = {
    {"no options: DATA 1", P("\0\1a\0octet\0"), {0}, 5000, NULL, 0, 512, 1},
    {"no options, small max: still 512",
     P("\0\1a\0octet\0"),
     {.max_blksize = 100},
     5000,
     NULL,
     0,
     512,
     1},
    {"unknown options only: DATA 1",
     P("\0\1a\0octet\0rollover\0000\0"),
     {0},
     5000,
     NULL,
     0,
     512,
     1},
    {"tsize 0",
     P("\0\1a\0octet\0tsize\0000\0"),
     {0},
     123456789012ull,
     F("\0\6tsize\000123456789012\0"),
     512,
     1},
    {"tsize of an empty file",
     P("\0\1a\0octet\0tsize\0000\0"),
     {0},
     0,
     F("\0\6tsize\0000\0"),
     512,
     1},
    {"netascii: tsize left out, no OACK",
     P("\0\1a\0netascii\0tsize\0000\0"),
     {0},
     5000,
     NULL,
     0,
     512,
     1},
    {"netascii with blksize",
     P("\0\1a\0netascii\0tsize\0000\0blksize\0001000\0"),
     {0},
     5000,
     F("\0\6blksize\0001000\0"),
     1000,
     1},
    {"pxelinux",
     P("\0\1pxelinux.0\0octet\0tsize\0000\0blksize\0001408\0"),
     {0},
     42000,
     F("\0\6blksize\0001408\0tsize\00042000\0"),
     1408,
     1},
    {"blksize clamped to default max 1468",
     P("\0\1a\0octet\0blksize\00065464\0"),
     {0},
     5000,
     F("\0\6blksize\0001468\0"),
     1468,
     1},
    {"blksize clamped to configured max",
     P("\0\1a\0octet\0blksize\0009000\0"),
     {.max_blksize = 8192},
     5000,
     F("\0\6blksize\0008192\0"),
     8192,
     1},
    {"blksize below max kept",
     P("\0\1a\0octet\0blksize\0008\0"),
     {0},
     5000,
     F("\0\6blksize\0008\0"),
     8,
     1},
    {"timeout echoed",
     P("\0\1a\0octet\0timeout\0003\0"),
     {0},
     5000,
     F("\0\6timeout\0003\0"),
     512,
     1},
    {"windowsize clamped",
     P("\0\1a\0octet\0windowsize\000100\0"),
     {0},
     5000,
     F("\0\6windowsize\00064\0"),
     512,
     64},
    {"windowsize configured max",
     P("\0\1a\0octet\0windowsize\000100\0"),
     {.max_windowsize = 8},
     5000,
     F("\0\6windowsize\0008\0"),
     512,
     8},
    {"windowsize 1",
     P("\0\1a\0octet\0windowsize\0001\0"),
     {0},
     5000,
     F("\0\6windowsize\0001\0"),
     512,
     1},
    {"all four, our order",
     P("\0\1a\0octet\0WINDOWSIZE\00016\0tsize\0000\0timeout\000255\0blksize\0001468\0"),
     {0},
     7,
     F("\0\6blksize\0001468\0timeout\000255\0tsize\0007\0windowsize\00016\0"),
     1468,
     16},
};

static void test_negotiation(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(neg_cases); i++) {
		const struct neg_case *c = &neg_cases[i];
		struct vsess vs;
		struct xp_tftp_session *s = vstart(&vs, c->pkt, c->len, c->size, &c->lim, 100);
		assert_int_equal(xp_tftp_session_blksize(s), c->blksize);
		assert_int_equal(xp_tftp_session_windowsize(s), c->windowsize);
		assert_true(xp_tftp_session_deadline(s) <= 100);
		ssize_t n = xp_tftp_session_next(s, pbuf, sizeof pbuf, 100);
		if (c->first) {
			if (n != (ssize_t)c->firstlen || memcmp(pbuf, c->first, c->firstlen) != 0)
				fail_msg("%s: OACK differs (%zd bytes)", c->what, n);
			/* nothing more until ACK 0 */
			expect_nothing(s, 100);
			ack(s, 1, 100, 0);
			ack(s, 0, 100, 1);
		} else {
			if (n < 4 || pbuf[1] != XP_TFTP_DATA || pbuf[3] != 1)
				fail_msg("%s: want DATA 1", c->what);
			ack(s, 0, 100, 0); /* an ACK 0 without an OACK is old news */
			ack(s, 1, 100, 1);
			xp_tftp_session_free(s);
			continue;
		}
		uint64_t first = c->size < c->blksize ? c->size : c->blksize;
		expect_data(s, 100, 1, (size_t)first);
		xp_tftp_session_free(s);
	}
}

/* ---- the model client and whole transfers ------------------------------------------- */

struct xfer {
	const char *what;
	uint64_t size;
	uint32_t blksize, windowsize; /* asked for; 0: not asked */
	unsigned drop_data, drop_ack; /* drop every Nth DATA / ACK (0: none) */
	bool virtual_src;	      /* vsrc instead of a memory buffer */
	unsigned max_tries;
};

static const struct xfer xfers[] = {
    {"512, no options, no loss", 100000, 0, 0, 0, 0, false, 0},
    {"512, no options, loss", 100000, 0, 0, 13, 7, false, 0},
    {"512 exact multiple: empty last block", 512 * 100, 512, 0, 0, 0, false, 0},
    {"empty file", 0, 0, 0, 0, 0, false, 0},
    {"1468, loss", 1048576 + 7, 1468, 0, 11, 5, false, 0},
    {"1468 window 16, no loss", 1048576 + 7, 1468, 16, 0, 0, false, 0},
    {"1468 window 16, loss", 1048576 + 7, 1468, 16, 29, 3, false, 0},
    {"1468 window 64, loss", 3 * 1048576 + 1, 1468, 64, 101, 3, false, 10},
    {"1468 window 64 exact multiple", 1468 * 640, 1468, 64, 97, 2, false, 10},
    {"window 100 clamped to 64, blocks of 8", 4000, 8, 100, 17, 0, false, 10},
    {"40 MiB at 512: rollover", 40ull << 20, 512, 0, 0, 0, true, 0},
    {"40 MiB at 512 window 64: rollover with loss", 40ull << 20, 512, 64, 4999, 61, true, 10},
};

struct client {
	uint32_t blksize, windowsize;
	uint64_t size;
	uint64_t exp;	/* next block index expected */
	uint64_t acked; /* last ACK sent */
	bool gap_acked; /* an ACK for this gap went out already */
	bool done;
	uint64_t bytes;
	bool zero_seen; /* block number 0 after rollover */
};

/* The receiver of RFC 1350 with RFC 7440 windows: ACK the last block of a window, the
 * last block of the file, the last in-order block on a gap (once) and on a repeated
 * block (a retransmission: the ACK that went missing). Returns the block to ACK or -1. */
static int64_t client_data(struct client *c, const uint8_t *p, size_t n)
{
	assert_true(n >= 4 && p[1] == XP_TFTP_DATA);
	uint16_t blk = (uint16_t)(p[2] << 8 | p[3]);
	uint16_t d = (uint16_t)(blk - (uint16_t)c->exp);
	if (d != 0) {
		if (d < 0x8000) { /* ahead: a gap */
			if (c->gap_acked)
				return -1;
			c->gap_acked = true;
		}
		/* else behind: a retransmission, the ACK that went missing again */
		c->acked = c->exp - 1;
		return (int64_t)c->acked;
	}
	size_t len = n - 4;
	uint64_t off = (c->exp - 1) * c->blksize;
	assert_true(len <= c->blksize);
	assert_true(off + len <= c->size);
	for (size_t i = 0; i < len; i++)
		if (p[4 + i] != pattern(off + i))
			fail_msg("byte %" PRIu64 " differs", off + i);
	if (blk == 0)
		c->zero_seen = true;
	c->bytes += len;
	c->gap_acked = false;
	bool last = len < c->blksize;
	if (last) {
		assert_int_equal(c->bytes, c->size);
		c->done = true;
	}
	c->exp++;
	if (last || c->exp - 1 == c->acked + c->windowsize) {
		c->acked = c->exp - 1;
		return (int64_t)c->acked;
	}
	return -1;
}

static void run_xfer(const struct xfer *x)
{
	uint8_t rq[128];
	size_t rl = 0;
	memcpy(rq, "\0\1f\0octet\0", 10);
	rl = 10;
	if (x->blksize)
		rl += (size_t)sprintf((char *)rq + rl, "blksize%c%u%c", 0, x->blksize, 0);
	if (x->windowsize)
		rl += (size_t)sprintf((char *)rq + rl, "windowsize%c%u%c", 0, x->windowsize, 0);

	uint8_t *mem = NULL;
	struct vsrc v = {0};
	struct xp_tftp_source src;
	if (x->virtual_src) {
		src = vsource(&v, x->size);
	} else {
		mem = malloc(x->size ? x->size : 1);
		for (uint64_t i = 0; i < x->size; i++)
			mem[i] = pattern(i);
		xp_tftp_source_mem(&src, mem, x->size);
	}
	struct xp_tftp_limits lim = {.max_tries = x->max_tries};
	struct xp_tftp_session *s = start(rq, rl, &src, &lim, 0);
	struct client c = {.blksize = xp_tftp_session_blksize(s),
			   .windowsize = xp_tftp_session_windowsize(s),
			   .size = x->size,
			   .exp = 1};
	if (x->blksize)
		assert_int_equal(c.blksize, x->blksize < 1468 ? x->blksize : 1468);
	if (x->windowsize)
		assert_int_equal(c.windowsize, x->windowsize < 64 ? x->windowsize : 64);

	int64_t now = 0;
	unsigned ndata = 0, nack = 0, timeouts = 0;
	bool oack = x->blksize || x->windowsize;
	uint64_t nblocks = x->size / c.blksize + 1, sent_blocks = 0;
	size_t cap = xp_tftp_session_packet_max(s);
	uint8_t *buf = malloc(cap);
	while (xp_tftp_session_state(s) == XP_TFTP_RUNNING) {
		bool acted = false;
		ssize_t n;
		while ((n = xp_tftp_session_next(s, buf, cap, now)) > 0) {
			acted = true;
			int64_t a = -1;
			if (oack) {
				assert_int_equal(buf[1], XP_TFTP_OACK);
				a = 0;
			} else {
				sent_blocks++;
				if (x->drop_data && ++ndata % x->drop_data == 0)
					continue;
				a = client_data(&c, buf, (size_t)n);
			}
			if (a < 0)
				continue;
			if (x->drop_ack && ++nack % x->drop_ack == 0)
				continue;
			uint8_t ap[4] = {0, XP_TFTP_ACK, (uint8_t)(a >> 8), (uint8_t)a};
			int r = xp_tftp_session_input(s, ap, 4, now);
			assert_true(r == 0 || r == 1);
			if (oack && r == 1)
				oack = false;
		}
		assert_true(n == 0);
		if (!acted && xp_tftp_session_state(s) == XP_TFTP_RUNNING) {
			int64_t d = xp_tftp_session_deadline(s);
			assert_true(d > now && d != INT64_MAX);
			now = d;
			timeouts++;
		}
	}
	if (xp_tftp_session_state(s) != XP_TFTP_DONE)
		fail_msg("%s: %s", x->what, xp_tftp_session_error(s));
	assert_true(c.done);
	assert_int_equal(c.bytes, x->size);
	assert_int_equal(xp_tftp_session_bytes(s), x->size);
	assert_int_equal(c.exp - 1, nblocks);
	assert_string_equal(xp_tftp_session_error(s), "");
	assert_true(xp_tftp_session_deadline(s) == INT64_MAX);
	if (nblocks > 65535)
		assert_true(c.zero_seen);
	else
		assert_false(c.zero_seen);
	if (!x->drop_data && !x->drop_ack) {
		assert_int_equal(sent_blocks, nblocks); /* nothing sent twice */
		assert_int_equal(timeouts, 0);
	} else {
		assert_true(sent_blocks > nblocks);
	}
	free(buf);
	free(mem);
	xp_tftp_session_free(s);
}

static void test_transfers(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(xfers); i++)
		run_xfer(&xfers[i]);
}

/* ---- windows, rollback, duplicates, timeouts ----------------------------------------- */

static void test_rollback(void **state)
{
	(void)state;
	struct vsess vs;
	struct xp_tftp_limits lim = {.timeout_ms = 1000};
	struct xp_tftp_session *s =
	    vstart(&vs, P("\0\1a\0octet\0windowsize\0008\0"), 512 * 40 + 1, &lim, 0);
	assert_true(xp_tftp_session_next(s, pbuf, sizeof pbuf, 0) > 0); /* OACK */
	ack(s, 0, 0, 1);
	for (uint16_t b = 1; b <= 8; b++)
		expect_data(s, 0, b, 512);
	expect_nothing(s, 0);
	assert_int_equal(xp_tftp_session_deadline(s), 1000);
	/* ACK 3: the client lost 4, the window starts again at 4 (RFC 7440 section 4) */
	ack(s, 3, 10, 1);
	assert_int_equal(xp_tftp_session_bytes(s), 3 * 512);
	assert_true(xp_tftp_session_deadline(s) <= 10);
	for (uint16_t b = 4; b <= 11; b++)
		expect_data(s, 10, b, 512);
	expect_nothing(s, 10);
	/* duplicates of ACK 3 and older ACKs: ignored, nothing resent (RFC 1123 4.2.3.1) */
	ack(s, 3, 11, 0);
	ack(s, 3, 11, 0);
	ack(s, 2, 11, 0);
	ack(s, 0, 11, 0);
	expect_nothing(s, 11);
	/* an ACK for a block never sent: ignored */
	ack(s, 12, 11, 0);
	ack(s, 40000, 11, 0);
	expect_nothing(s, 11);
	assert_int_equal(xp_tftp_session_deadline(s), 1010);
	/* the full window acknowledged: the next one */
	ack(s, 11, 20, 1);
	for (uint16_t b = 12; b <= 19; b++)
		expect_data(s, 20, b, 512);
	/* mid-window progress while the timer resends: a late ACK of the whole window
	 * that was being resent still counts */
	expect_nothing(s, 1019);
	expect_data(s, 1020, 12, 512); /* timeout: resend from 12 ... */
	expect_data(s, 1020, 13, 512);
	ack(s, 19, 1021, 1); /* ... the old window's ACK arrives */
	expect_data(s, 1021, 20, 512);
	/* a client ERROR ends it */
	assert_int_equal(xp_tftp_session_input(s, P("\0\5\0\3disk\nfull\0"), 1022), 1);
	assert_int_equal(xp_tftp_session_state(s), XP_TFTP_FAILED);
	assert_string_equal(xp_tftp_session_error(s), "client error 3: disk?full");
	assert_false(xp_tftp_session_probe(s)); /* after DATA: a real failure */
	expect_nothing(s, 5000);
	ack(s, 20, 5000, 0);
	assert_true(xp_tftp_session_deadline(s) == INT64_MAX);
	xp_tftp_session_free(s);
}

static void test_window_one_no_apprentice(void **state)
{
	(void)state;
	struct vsess vs;
	struct xp_tftp_session *s = vstart(&vs, P("\0\1a\0octet\0"), 1500, NULL, 0);
	expect_data(s, 0, 1, 512);
	expect_nothing(s, 0);
	/* the first ACK moves on; its duplicate (the delayed copy RFC 1123 describes)
	 * sends nothing */
	ack(s, 1, 5, 1);
	expect_data(s, 5, 2, 512);
	ack(s, 1, 6, 0);
	expect_nothing(s, 6);
	ack(s, 2, 7, 1);
	ack(s, 2, 7, 0);
	expect_data(s, 7, 3, 476);
	expect_nothing(s, 7);
	ack(s, 3, 8, 1);
	assert_int_equal(xp_tftp_session_state(s), XP_TFTP_DONE);
	assert_int_equal(xp_tftp_session_bytes(s), 1500);
	assert_int_equal(vs.v.reads, 3);
	ack(s, 3, 9, 0);
	expect_nothing(s, 9);
	xp_tftp_session_free(s);
}

struct backoff_case {
	const char *what;
	const uint8_t *pkt;
	size_t len;
	struct xp_tftp_limits lim;
	bool oack;
	int64_t sends[8]; /* times of the sends, then 0 */
	int64_t giveup;
};

static const struct backoff_case backoff_cases[] = {
    {"defaults: 1 s doubling to 8 s, 5 tries",
     P("\0\1a\0octet\0"),
     {0},
     false,
     {1, 1001, 3001, 7001, 15001},
     23001},
    {"cap 4 s, 3 tries",
     P("\0\1a\0octet\0"),
     {.timeout_ms = 1000, .max_timeout_ms = 4000, .max_tries = 3},
     false,
     {1, 1001, 3001},
     7001},
    {"250 ms, cap 1 s",
     P("\0\1a\0octet\0"),
     {.timeout_ms = 250, .max_timeout_ms = 1000, .max_tries = 6},
     false,
     {1, 251, 751, 1751, 2751, 3751},
     4751},
    {"negotiated 10 s above the cap: no doubling",
     P("\0\1a\0octet\0timeout\00010\0"),
     {0},
     true,
     {1, 10001, 20001, 30001, 40001},
     50001},
    {"negotiated 3 s, doubling to 8 s",
     P("\0\1a\0octet\0timeout\0003\0"),
     {.max_tries = 4},
     true,
     {1, 3001, 9001, 17001},
     25001},
    {"OACK retransmitted",
     P("\0\1a\0octet\0tsize\0000\0"),
     {.max_tries = 2},
     true,
     {1, 1001},
     3001},
    {"1 try only", P("\0\1a\0octet\0"), {.max_tries = 1}, false, {1}, 1001},
};

static void test_backoff(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(backoff_cases); i++) {
		const struct backoff_case *c = &backoff_cases[i];
		struct vsess vs;
		struct xp_tftp_session *s = vstart(&vs, c->pkt, c->len, 5000, &c->lim, 1);
		size_t k = 0;
		for (; k < N(c->sends) && c->sends[k]; k++) {
			int64_t t = c->sends[k];
			if (k > 0) {
				assert_int_equal(xp_tftp_session_deadline(s), t);
				expect_nothing(s, t - 1);
			}
			ssize_t n = xp_tftp_session_next(s, pbuf, sizeof pbuf, t);
			assert_true(n > 0);
			assert_int_equal(pbuf[1], c->oack ? XP_TFTP_OACK : XP_TFTP_DATA);
			expect_nothing(s, t);
			/* duplicate ACKs between timeouts change nothing */
			if (!c->oack)
				ack(s, 0, t, 0);
		}
		assert_int_equal(xp_tftp_session_deadline(s), c->giveup);
		expect_nothing(s, c->giveup - 1);
		assert_int_equal(xp_tftp_session_state(s), XP_TFTP_RUNNING);
		expect_nothing(s, c->giveup);
		if (xp_tftp_session_state(s) != XP_TFTP_FAILED)
			fail_msg("%s: did not give up", c->what);
		assert_non_null(strstr(xp_tftp_session_error(s), "timed out"));
		assert_true(xp_tftp_session_deadline(s) == INT64_MAX);
		xp_tftp_session_free(s);
	}
}

static void test_oack_phase(void **state)
{
	(void)state;
	struct vsess vs;
	/* the client turns the OACK down with ERROR 8 */
	struct xp_tftp_session *s = vstart(&vs, P("\0\1a\0octet\0blksize\0001024\0"), 100, NULL, 0);
	assert_true(xp_tftp_session_next(s, pbuf, sizeof pbuf, 0) > 0);
	assert_int_equal(xp_tftp_session_input(s, P("\0\5\0\10no thanks\0"), 1), 1);
	assert_int_equal(xp_tftp_session_state(s), XP_TFTP_FAILED);
	assert_string_equal(xp_tftp_session_error(s), "client error 8: no thanks");
	assert_true(xp_tftp_session_probe(s)); /* options only: logged as a probe */
	assert_int_equal(vs.v.reads, 0);
	xp_tftp_session_free(s);

	/* a tsize probe: the OACK, ACK 0, one short block */
	s = start(P("\0\1a\0octet\0tsize\0000\0blksize\0001024\0"), &vs.src, NULL, 0);
	assert_true(xp_tftp_session_next(s, pbuf, sizeof pbuf, 0) > 0);
	ack(s, 0, 1, 1);
	ack(s, 0, 1, 0);
	expect_data(s, 1, 1, 100);
	ack(s, 1, 2, 1);
	assert_int_equal(xp_tftp_session_state(s), XP_TFTP_DONE);
	xp_tftp_session_free(s);
}

static void test_bad_input_and_buffers(void **state)
{
	(void)state;
	struct vsess vs;
	struct xp_tftp_session *s =
	    vstart(&vs, P("\0\1a\0octet\0blksize\0001000\0"), 3000, NULL, 0);
	assert_int_equal(xp_tftp_session_packet_max(s), 1004);
	assert_int_equal(xp_tftp_session_next(s, pbuf, 1003, 0), -ENOSPC);
	assert_true(xp_tftp_session_next(s, pbuf, 1004, 0) > 0);
	assert_int_equal(xp_tftp_session_input(s, P("\0\4\0"), 0), -EBADMSG);
	assert_int_equal(xp_tftp_session_input(s, P("\0\3\0\1data"), 0), -EPROTO);
	assert_int_equal(xp_tftp_session_input(s, P("\0\1a\0octet\0"), 0), -EPROTO);
	assert_int_equal(xp_tftp_session_input(s, P("\0\6tsize\0001\0"), 0), -EPROTO);
	assert_int_equal(xp_tftp_session_state(s), XP_TFTP_RUNNING);
	ack(s, 0, 0, 1);
	expect_data(s, 0, 1, 1000);
	xp_tftp_session_free(s);

	/* a small block size still needs room for an ERROR */
	s = start(P("\0\1a\0octet\0blksize\0008\0"), &vs.src, NULL, 0);
	assert_int_equal(xp_tftp_session_packet_max(s), XP_TFTP_ERROR_MAX);
	assert_int_equal(xp_tftp_session_next(s, pbuf, 12, 0), -ENOSPC);
	xp_tftp_session_free(s);
}

static void test_read_errors(void **state)
{
	(void)state;
	static const struct {
		uint64_t fail_at;
		int err;
		const char *msg;
	} cases[] = {
	    {1024, -EIO, "read error at offset 1024: Input/output error"},
	    {1500, 0, "file shrank: 476 of 512 bytes at offset 1024"},
	    {1024, 0, "file shrank: 0 of 512 bytes at offset 1024"},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct vsrc v = {.fail_at = cases[i].fail_at, .err = cases[i].err};
		struct xp_tftp_source src = vsource(&v, 3000);
		struct xp_tftp_session *s =
		    start(P("\0\1a\0octet\0windowsize\0004\0"), &src, NULL, 0);
		assert_true(xp_tftp_session_next(s, pbuf, sizeof pbuf, 0) > 0);
		ack(s, 0, 0, 1);
		expect_data(s, 0, 1, 512);
		expect_data(s, 0, 2, 512);
		ssize_t n = xp_tftp_session_next(s, pbuf, sizeof pbuf, 0);
		assert_int_equal(n, 5 + 10);
		assert_memory_equal(pbuf, "\0\5\0\0read error\0", 15);
		assert_int_equal(xp_tftp_session_state(s), XP_TFTP_FAILED);
		assert_string_equal(xp_tftp_session_error(s), cases[i].msg);
		expect_nothing(s, 0);
		assert_int_equal(xp_tftp_session_bytes(s), 0);
		xp_tftp_session_free(s);
	}
}

static void test_netascii_session(void **state)
{
	(void)state;
	/* the caller converts; the session sends the converted bytes as they are */
	const char text[] = "line one\nline two\r\n";
	uint8_t conv[64];
	ssize_t n = xp_tftp_netascii_encode(text, sizeof text - 1, conv, sizeof conv);
	assert_int_equal(n, (ssize_t)xp_tftp_netascii_len(text, sizeof text - 1));
	struct xp_tftp_source src;
	xp_tftp_source_mem(&src, conv, (size_t)n);
	struct xp_tftp_session *s = start(P("\0\1readme\0netascii\0"), &src, NULL, 0);
	ssize_t m = xp_tftp_session_next(s, pbuf, sizeof pbuf, 0);
	assert_int_equal(m, 4 + n);
	assert_memory_equal(pbuf + 4, "line one\r\nline two\r\0\r\n", (size_t)n);
	ack(s, 1, 0, 1);
	assert_int_equal(xp_tftp_session_state(s), XP_TFTP_DONE);
	xp_tftp_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_request),
	    cmocka_unit_test(test_parse_request_name_length),
	    cmocka_unit_test(test_request_check),
	    cmocka_unit_test(test_parse_packet),
	    cmocka_unit_test(test_build_error),
	    cmocka_unit_test(test_path_check),
	    cmocka_unit_test(test_netascii),
	    cmocka_unit_test(test_negotiation),
	    cmocka_unit_test(test_transfers),
	    cmocka_unit_test(test_rollback),
	    cmocka_unit_test(test_window_one_no_apprentice),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_oack_phase),
	    cmocka_unit_test(test_bad_input_and_buffers),
	    cmocka_unit_test(test_read_errors),
	    cmocka_unit_test(test_netascii_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
