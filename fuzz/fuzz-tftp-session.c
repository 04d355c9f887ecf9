/*
 * fuzz-tftp-session.c - libFuzzer target for the TFTP transfer state machine
 * (tftp-session.c) over a small source, fed packets with advancing time.
 *
 * Input: [1 byte n][n bytes: the request][2 bytes: source size][1 byte: limits], then
 * events, each one byte op followed by its operands:
 *   op % 4 == 0: time passes (next byte * 37 ms; 255: jump near INT64_MAX), then next()
 *                is drained;
 *   op % 4 == 1: a raw packet from the client: [1 byte len][len bytes];
 *   op % 4 == 2: an ACK of a given block: [2 bytes];
 *   op % 4 == 3: an ACK of the last DATA block seen, minus (op >> 2) % 4 (a rollback or
 *                the right ACK: what a client would send).
 * Checks: next() never writes past packet_max(); an OACK only first; DATA payloads are
 * the source's bytes at their block's offset and as long as RFC 1350 says; bytes()
 * never goes back and never passes the size; a finished session stays finished, sends
 * nothing, has deadline INT64_MAX; DONE only with every byte acknowledged; FAILED always
 * says why.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/tftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pat(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 8));
}

static ssize_t src_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	uint64_t sz = *(const uint64_t *)ctx;
	if (off + len > sz)
		abort(); /* the session reads within the size */
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = pat(off + i);
	return (ssize_t)len;
}

struct run {
	struct xp_tftp_session *s;
	uint64_t size;
	uint32_t bs;
	int64_t now;
	uint16_t last_blk;
	uint64_t bytes;
	bool any_data;
	uint8_t *buf;
	size_t cap;
};

static void check_state(struct run *u)
{
	enum xp_tftp_state st = xp_tftp_session_state(u->s);
	uint64_t b = xp_tftp_session_bytes(u->s);
	if (b < u->bytes || b > u->size)
		abort();
	u->bytes = b;
	if (st == XP_TFTP_DONE && b != u->size)
		abort();
	if (st == XP_TFTP_FAILED && xp_tftp_session_error(u->s)[0] == '\0')
		abort();
	if (st != XP_TFTP_RUNNING) {
		if (xp_tftp_session_deadline(u->s) != INT64_MAX)
			abort();
		if (xp_tftp_session_next(u->s, u->buf, u->cap, u->now) != 0)
			abort();
	}
}

static void drain(struct run *u)
{
	size_t cap = u->cap;
	for (int k = 0; k < 70000; k++) {
		/* a canary past packet_max */
		u->buf[cap] = 0xa5;
		ssize_t n = xp_tftp_session_next(u->s, u->buf, cap, u->now);
		if (u->buf[cap] != 0xa5)
			abort();
		if (n < 0 || (size_t)n > cap)
			abort();
		if (n == 0)
			break;
		int op = u->buf[0] << 8 | u->buf[1];
		if (op == XP_TFTP_OACK) {
			if (u->any_data)
				abort();
		} else if (op == XP_TFTP_DATA) {
			u->any_data = true;
			uint16_t blk = (uint16_t)(u->buf[2] << 8 | u->buf[3]);
			/* sources here are < 65536 bytes, blocks >= 8: no rollover */
			if (blk == 0)
				abort();
			uint64_t off = (uint64_t)(blk - 1) * u->bs;
			if (off > u->size)
				abort();
			uint64_t want = u->size - off < u->bs ? u->size - off : u->bs;
			if ((uint64_t)n - 4 != want)
				abort();
			for (size_t i = 0; i < want; i++)
				if (u->buf[4 + i] != pat(off + i))
					abort();
			u->last_blk = blk;
		} else if (op != XP_TFTP_ERROR) {
			abort();
		}
	}
	check_state(u);
}

static void feed(struct run *u, const uint8_t *p, size_t n)
{
	enum xp_tftp_state before = xp_tftp_session_state(u->s);
	int r = xp_tftp_session_input(u->s, p, n, u->now);
	if (r != 0 && r != 1 && r != -EBADMSG && r != -EPROTO)
		abort();
	if (before != XP_TFTP_RUNNING && (r == 1 || xp_tftp_session_state(u->s) != before))
		abort();
	check_state(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t rl = data[0];
	if (size < 1 + rl + 3)
		return 0;
	struct xp_tftp_request rq;
	if (xp_tftp_parse_request(data + 1, rl, &rq) != 0)
		return 0;
	const uint8_t *p = data + 1 + rl, *end = data + size;
	uint64_t srcsize = (uint64_t)(p[0] << 8 | p[1]);
	uint8_t lb = p[2];
	p += 3;
	static const uint32_t maxbs[] = {0, 8, 512, 1468};
	static const uint32_t maxws[] = {0, 1, 4, 16};
	struct xp_tftp_limits lim = {.max_blksize = maxbs[lb & 3],
				     .max_windowsize = maxws[(lb >> 2) & 3],
				     .timeout_ms = (lb >> 4) & 1 ? 100 : 0,
				     .max_timeout_ms = (lb >> 5) & 1 ? 300 : 0,
				     .max_tries = (lb >> 6) & 3};

	struct xp_tftp_source src = {src_read, &srcsize, srcsize};
	struct run u = {.size = srcsize, .now = 1000};
	int r = xp_tftp_session_new(&rq, &src, &lim, u.now, &u.s);
	if (r < 0) {
		if (r != -EROFS && r != -EOPNOTSUPP)
			abort();
		return 0;
	}
	u.bs = xp_tftp_session_blksize(u.s);
	u.cap = xp_tftp_session_packet_max(u.s);
	if (u.cap < (size_t)u.bs + 4 || u.cap < XP_TFTP_ERROR_MAX)
		abort();
	u.buf = malloc(u.cap + 1);
	if (!u.buf)
		abort();
	/* one byte short: refused, nothing changes */
	if (xp_tftp_session_next(u.s, u.buf, u.cap - 1, u.now) != -ENOSPC)
		abort();

	while (p < end) {
		uint8_t op = *p++;
		switch (op % 4) {
		case 0: {
			uint8_t t = p < end ? *p++ : 0;
			if (t == 255)
				u.now = INT64_MAX - 1000 + (u.now & 1);
			else if (u.now < INT64_MAX - 10000)
				u.now += t * 37;
			int64_t d = xp_tftp_session_deadline(u.s);
			if (xp_tftp_session_state(u.s) == XP_TFTP_RUNNING && d == INT64_MAX &&
			    u.now < INT64_MAX - 10000)
				abort(); /* a running session always has something to wait for */
			drain(&u);
			break;
		}
		case 1: {
			size_t n = p < end ? *p++ : 0;
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			feed(&u, p, n);
			p += n;
			break;
		}
		case 2: {
			uint8_t a[4] = {0, XP_TFTP_ACK, 0, 0};
			if (end - p >= 2) {
				a[2] = p[0];
				a[3] = p[1];
				p += 2;
			}
			feed(&u, a, 4);
			break;
		}
		default: {
			uint16_t b = (uint16_t)(u.last_blk - (op >> 2) % 4);
			uint8_t a[4] = {0, XP_TFTP_ACK, (uint8_t)(b >> 8), (uint8_t)b};
			feed(&u, a, 4);
			break;
		}
		}
	}
	drain(&u);
	free(u.buf);
	xp_tftp_session_free(u.s);
	return 0;
}
