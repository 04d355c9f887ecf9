/*
 * tftp-session.c - one read transfer of the TFTP server as a state machine: option
 * negotiation (RFC 2347/2348/2349/7440), the sliding window of DATA blocks, ACK
 * handling, retransmission with exponential backoff. Time comes in as arguments.
 *
 * Not here: packet parsing details (tftp-pkt.c), sockets, the clock, opening files.
 *
 * Blocks are counted with a 64-bit index (block 1 is the first DATA); the 16-bit block
 * number on the wire is the index modulo 65536, so past 65535 it rolls over to 0, as
 * tftp-hpa, atftp, curl and pxelinux expect. An ACK's 16-bit number is mapped to the one
 * index in (acked, acked + 65535] with those low bits; only indexes already sent count.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/tftp.h"

#define DEF_MAX_BLKSIZE	   1468 /* 1500-byte MTU - 20 IP - 8 UDP - 4 TFTP */
#define DEF_MAX_WINDOW	   64
#define DEF_TIMEOUT_MS	   1000
#define DEF_MAX_TIMEOUT_MS 8000
#define DEF_MAX_TRIES	   5

enum phase {
	PH_OACK, /* OACK to send, then wait for ACK 0 */
	PH_DATA, /* DATA windows */
	PH_OVER,
};

struct xp_tftp_session {
	struct xp_tftp_source src;
	enum xp_tftp_state state;
	enum phase phase;
	uint32_t blksize, windowsize;
	uint32_t timeout_s; /* as negotiated, for the OACK; 0 if not */
	bool opt_blksize, opt_tsize, opt_windowsize;
	bool waiting; /* everything due was sent; the timer runs */
	bool probe;   /* the client ended it with an ERROR after the OACK, before DATA */
	uint32_t base_ms, max_ms, cur_ms;
	unsigned max_tries, tries; /* sends of the current window/OACK */
	uint64_t nblocks;	   /* blocks in the file: size / blksize + 1 */
	uint64_t acked;		   /* the client has every block up to this one */
	uint64_t sent;		   /* the last block sent in this round */
	uint64_t hi;		   /* the last block ever sent */
	int64_t now, deadline;
	char error[160];
};

/* ---- limits and negotiation --------------------------------------------------------- */

struct lims {
	uint32_t max_blksize, max_windowsize, timeout_ms, max_timeout_ms;
	unsigned max_tries;
};

static int get_limits(const struct xp_tftp_limits *lim, struct lims *l)
{
	*l = (struct lims){DEF_MAX_BLKSIZE, DEF_MAX_WINDOW, DEF_TIMEOUT_MS, DEF_MAX_TIMEOUT_MS,
			   DEF_MAX_TRIES};
	if (!lim)
		return 0;
	if (lim->max_blksize) {
		if (lim->max_blksize < XP_TFTP_BLKSIZE_MIN ||
		    lim->max_blksize > XP_TFTP_BLKSIZE_MAX)
			return -EINVAL;
		l->max_blksize = lim->max_blksize;
	}
	if (lim->max_windowsize) {
		if (lim->max_windowsize > XP_TFTP_WINDOW_MAX)
			return -EINVAL;
		l->max_windowsize = lim->max_windowsize;
	}
	if (lim->timeout_ms)
		l->timeout_ms = lim->timeout_ms;
	if (lim->max_timeout_ms)
		l->max_timeout_ms = lim->max_timeout_ms;
	if (lim->max_tries)
		l->max_tries = lim->max_tries;
	return 0;
}

int xp_tftp_request_check(const struct xp_tftp_request *r, const struct xp_tftp_limits *lim)
{
	struct lims l;
	int rc = get_limits(lim, &l);
	if (rc < 0)
		return rc;
	if (r->opcode == XP_TFTP_WRQ)
		return -EROFS; /* RFC 1350 error 2: we serve files, never take them */
	if (r->opcode != XP_TFTP_RRQ)
		return -EINVAL;
	if (r->mode != XP_TFTP_OCTET && r->mode != XP_TFTP_NETASCII)
		return -EPROTONOSUPPORT; /* mail is for WRQ only (RFC 1350) and obsolete */
	/* RFC 2347: the server may answer ERROR 8 to options it will not take. Values we
	 * can lower (large blksize/windowsize) are lowered instead (RFC 2348, RFC 7440). */
	if (r->invalid)
		return -EOPNOTSUPP;
	if (r->has_blksize && r->blksize < XP_TFTP_BLKSIZE_MIN)
		return -EOPNOTSUPP; /* a client that cannot take 8 bytes: no smaller offer */
	if (r->has_timeout && (r->timeout < 1 || r->timeout > 255))
		return -EOPNOTSUPP; /* RFC 2349 range */
	if (r->has_windowsize && r->windowsize < 1)
		return -EOPNOTSUPP; /* RFC 7440 range */
	return 0;
}

int xp_tftp_session_new(const struct xp_tftp_request *r, const struct xp_tftp_source *src,
			const struct xp_tftp_limits *lim, int64_t now_ms,
			struct xp_tftp_session **ret)
{
	*ret = NULL;
	int rc = xp_tftp_request_check(r, lim);
	if (rc < 0)
		return rc;
	if (!src || !src->read)
		return -EINVAL;
	struct lims l;
	get_limits(lim, &l);

	struct xp_tftp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->src = *src;
	s->state = XP_TFTP_RUNNING;
	s->blksize = XP_TFTP_BLKSIZE_DEFAULT;
	s->windowsize = 1;
	s->base_ms = l.timeout_ms;
	if (r->has_blksize) {
		s->blksize = r->blksize < l.max_blksize ? r->blksize : l.max_blksize;
		s->opt_blksize = true;
	}
	if (r->has_timeout) {
		s->timeout_s = r->timeout;
		s->base_ms = r->timeout * 1000;
	}
	/* RFC 2349: tsize in a RRQ asks for the size; netascii's on-wire size is not the
	 * file's size, so it is left out (as tftp-hpa does). */
	s->opt_tsize = r->has_tsize && !r->netascii;
	if (r->has_windowsize) {
		s->windowsize = r->windowsize < l.max_windowsize ? r->windowsize : l.max_windowsize;
		s->opt_windowsize = true;
	}
	s->max_ms = l.max_timeout_ms > s->base_ms ? l.max_timeout_ms : s->base_ms;
	s->cur_ms = s->base_ms;
	s->max_tries = l.max_tries;
	s->nblocks = s->src.size / s->blksize + 1;
	/* RFC 2347: an OACK only when we acknowledge some option; otherwise DATA 1. */
	s->phase =
	    s->opt_blksize || s->timeout_s || s->opt_tsize || s->opt_windowsize ? PH_OACK : PH_DATA;
	s->now = now_ms;
	s->deadline = INT64_MAX;
	*ret = s;
	return 0;
}

void xp_tftp_session_free(struct xp_tftp_session *s)
{
	free(s);
}

/* ---- input -------------------------------------------------------------------------- */

static void fail(struct xp_tftp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct xp_tftp_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->state = XP_TFTP_FAILED;
	s->phase = PH_OVER;
}

/* Progress: the timer and backoff start over (RFC 1350: a new packet, a new timer). */
static void progress(struct xp_tftp_session *s)
{
	s->tries = 0;
	s->cur_ms = s->base_ms;
	s->waiting = false;
	s->deadline = INT64_MAX;
}

int xp_tftp_session_input(struct xp_tftp_session *s, const uint8_t *p, size_t len, int64_t now_ms)
{
	struct xp_tftp_packet pk;
	int op = xp_tftp_parse_packet(p, len, &pk);
	if (op < 0)
		return op;
	if (s->phase == PH_OVER)
		return 0;
	s->now = now_ms;
	if (op == XP_TFTP_ERROR) {
		/* RFC 1350: an ERROR ends the transfer, and is not acknowledged. The message
		 * is the client's: keep printable ASCII only. */
		char msg[96];
		size_t n = 0;
		for (size_t i = 0; i < pk.msglen && n < sizeof(msg) - 1; i++) {
			unsigned char c = (unsigned char)pk.msg[i];
			msg[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		msg[n] = '\0';
		s->probe = s->phase == PH_OACK;
		fail(s, "client error %u: %s", pk.code, msg);
		return 1;
	}
	if (op != XP_TFTP_ACK)
		return -EPROTO;

	if (s->phase == PH_OACK) {
		/* RFC 2347: the client accepts the OACK with ACK 0. */
		if (pk.block != 0 || !s->waiting)
			return 0;
		s->phase = PH_DATA;
		progress(s);
		return 1;
	}

	uint16_t diff = (uint16_t)(pk.block - (uint16_t)s->acked);
	uint64_t idx = s->acked + diff;
	/* diff 0: a duplicate of the last ACK; idx beyond what was sent: an old ACK from a
	 * window before the rollover, or nonsense. Neither triggers a resend (RFC 1123
	 * 4.2.3.1, Sorcerer's Apprentice); the timer does. */
	if (diff == 0 || idx > s->hi)
		return 0;
	s->acked = idx;
	/* RFC 7440 section 4: an ACK for a block before the last one sent means the
	 * client lost the next: send again from there. */
	s->sent = idx;
	progress(s);
	if (idx == s->nblocks) {
		s->state = XP_TFTP_DONE;
		s->phase = PH_OVER;
	}
	return 1;
}

/* ---- output ------------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t put_opt(uint8_t *p, const char *name, uint64_t v)
{
	size_t n = strlen(name) + 1;
	memcpy(p, name, n);
	n += (size_t)sprintf((char *)p + n, "%" PRIu64, v) + 1;
	return n;
}

static size_t build_oack(const struct xp_tftp_session *s, uint8_t *buf)
{
	put16(buf, XP_TFTP_OACK);
	size_t n = 2;
	if (s->opt_blksize)
		n += put_opt(buf + n, "blksize", s->blksize);
	if (s->timeout_s)
		n += put_opt(buf + n, "timeout", s->timeout_s);
	if (s->opt_tsize)
		n += put_opt(buf + n, "tsize", s->src.size);
	if (s->opt_windowsize)
		n += put_opt(buf + n, "windowsize", s->windowsize);
	return n;
}

static int64_t add_ms(int64_t t, uint32_t ms)
{
	return t > INT64_MAX - (int64_t)ms ? INT64_MAX : t + ms;
}

/* Everything due is sent: the timer starts for this send. */
static void arm(struct xp_tftp_session *s)
{
	s->waiting = true;
	s->tries++;
	s->deadline = add_ms(s->now, s->cur_ms);
}

static ssize_t build_data(struct xp_tftp_session *s, uint8_t *buf)
{
	uint64_t idx = s->sent + 1;
	uint64_t off = (idx - 1) * s->blksize;
	size_t want = s->src.size - off < s->blksize ? (size_t)(s->src.size - off) : s->blksize;
	ssize_t n = want ? s->src.read(s->src.ctx, off, buf + 4, want) : 0;
	if (n < 0 || (size_t)n != want) {
		/* A file that shrank or cannot be read: tell the client (RFC 1350 error 0
		 * with a message) and stop. */
		if (n < 0)
			fail(s, "read error at offset %" PRIu64 ": %s", off, strerror((int)-n));
		else
			fail(s, "file shrank: %zd of %zu bytes at offset %" PRIu64, n, want, off);
		return (ssize_t)xp_tftp_build_error(buf, XP_TFTP_ERROR_MAX, XP_TFTP_EUNDEF,
						    "read error");
	}
	put16(buf, XP_TFTP_DATA);
	put16(buf + 2, (uint16_t)idx); /* rolls over to 0 */
	s->sent = idx;
	if (idx > s->hi)
		s->hi = idx;
	return (ssize_t)(4 + want);
}

ssize_t xp_tftp_session_next(struct xp_tftp_session *s, uint8_t *buf, size_t cap, int64_t now_ms)
{
	if (s->phase == PH_OVER)
		return 0;
	if (cap < xp_tftp_session_packet_max(s))
		return -ENOSPC;
	s->now = now_ms;
	if (s->waiting) {
		if (now_ms < s->deadline)
			return 0;
		if (s->tries >= s->max_tries) {
			if (s->phase == PH_OACK)
				fail(s, "timed out: %u OACKs unanswered", s->tries);
			else
				fail(s, "timed out: %u sends of block %" PRIu64 " unanswered",
				     s->tries, s->acked + 1);
			return 0;
		}
		/* Resend from the first block not acknowledged, waiting twice as long. */
		s->cur_ms = s->cur_ms > s->max_ms / 2 ? s->max_ms : s->cur_ms * 2;
		s->waiting = false;
		s->sent = s->acked;
	}
	if (s->phase == PH_OACK) {
		size_t n = build_oack(s, buf);
		arm(s);
		return (ssize_t)n;
	}
	ssize_t n = build_data(s, buf);
	if (s->phase == PH_OVER)
		return n;
	uint64_t end = s->acked + s->windowsize;
	if (end > s->nblocks)
		end = s->nblocks;
	if (s->sent == end)
		arm(s);
	return n;
}

/* ---- queries ------------------------------------------------------------------------ */

int64_t xp_tftp_session_deadline(const struct xp_tftp_session *s)
{
	if (s->phase == PH_OVER)
		return INT64_MAX;
	return s->waiting ? s->deadline : s->now;
}

enum xp_tftp_state xp_tftp_session_state(const struct xp_tftp_session *s)
{
	return s->state;
}

const char *xp_tftp_session_error(const struct xp_tftp_session *s)
{
	return s->error;
}

bool xp_tftp_session_probe(const struct xp_tftp_session *s)
{
	return s->probe;
}

uint64_t xp_tftp_session_bytes(const struct xp_tftp_session *s)
{
	return s->acked == s->nblocks ? s->src.size : s->acked * s->blksize;
}

uint32_t xp_tftp_session_blksize(const struct xp_tftp_session *s)
{
	return s->blksize;
}

uint32_t xp_tftp_session_windowsize(const struct xp_tftp_session *s)
{
	return s->windowsize;
}

size_t xp_tftp_session_packet_max(const struct xp_tftp_session *s)
{
	size_t n = 4 + (size_t)s->blksize;
	return n > XP_TFTP_ERROR_MAX ? n : XP_TFTP_ERROR_MAX;
}
