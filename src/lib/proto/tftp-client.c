/*
 * tftp-client.c - one read transfer as the client (the domU network bootloader's): the
 * RRQ and its options, the OACK, DATA acknowledged once a window, retransmission.
 * Time comes in as arguments; the data go to the caller's sink.
 *
 * Not here: sockets and TIDs (pxeboot/tftp-get.c), the server side (tftp-session.c).
 *
 * RFC 1350 (TFTP), RFC 2347 (options: a server that does not know them answers with
 * DATA 1, one that refuses them with ERROR 8, and we ask again without), RFC 2348
 * (blksize), RFC 2349 (tsize), RFC 7440 (windowsize: the receiver acknowledges the
 * last block of each window; on a gap, the last block received in order, which the
 * sender resends from). Blocks are counted with a 64-bit index whose low 16 bits are
 * the wire's number, rolling over past 65535 to 0 as the server side does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xenprov/tftp.h"

struct xp_tftp_client {
	struct xp_tftp_client_opts o;
	struct xp_tftp_sink sink;
	char filename[XP_TFTP_NAME_MAX + 1];
	enum xp_tftp_state state;
	bool with_opts;	   /* the RRQ carries options (until an ERROR 8) */
	bool started;	   /* an answer came: the RRQ is not resent any more */
	bool send_due;	   /* a packet is due now (beyond the timer) */
	bool gap_acked;	   /* the ACK for the current gap was sent */
	uint16_t gap_hi;   /* how far past the gap the blocks seen since reach */
	bool error_due;	   /* an ERROR to the server, then FAILED */
	uint16_t error_code;
	uint32_t blksize, windowsize;
	uint64_t tsize, bytes;
	uint64_t last;	   /* blocks received in order (the index of the last one) */
	uint64_t win_base; /* last when the current window began */
	unsigned tries;	   /* sends of the current packet */
	uint32_t cur_ms;
	int64_t deadline;
	int err;
	char error[160];
};

int xp_tftp_client_new(const struct xp_tftp_client_opts *o, const struct xp_tftp_sink *sink,
		       int64_t now_ms, struct xp_tftp_client **ret)
{
	*ret = NULL;
	if (!o->filename || !*o->filename || strlen(o->filename) > XP_TFTP_NAME_MAX || !sink ||
	    !sink->write)
		return -EINVAL;
	if (o->blksize && (o->blksize < XP_TFTP_BLKSIZE_MIN || o->blksize > XP_TFTP_BLKSIZE_MAX))
		return -EINVAL;
	struct xp_tftp_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = *o;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = 1000;
	if (!c->o.max_timeout_ms)
		c->o.max_timeout_ms = 4000;
	if (!c->o.max_tries)
		c->o.max_tries = 5;
	c->sink = *sink;
	strcpy(c->filename, o->filename);
	c->o.filename = c->filename;
	c->with_opts = o->blksize || o->windowsize || o->tsize;
	c->blksize = XP_TFTP_BLKSIZE_DEFAULT;
	c->windowsize = 1;
	c->state = XP_TFTP_RUNNING;
	c->send_due = true;
	c->cur_ms = c->o.timeout_ms;
	c->deadline = now_ms;
	*ret = c;
	return 0;
}

void xp_tftp_client_free(struct xp_tftp_client *c)
{
	free(c);
}

static void failv(struct xp_tftp_client *c, int err, uint16_t tell, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void failv(struct xp_tftp_client *c, int err, uint16_t tell, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	c->err = err;
	if (tell != 0xffff) { /* an ERROR to the server before giving up */
		c->error_due = true;
		c->error_code = tell;
		c->deadline = INT64_MIN;
	} else {
		c->state = XP_TFTP_FAILED;
		c->deadline = INT64_MAX;
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s) + 1;
	memcpy(p, s, n);
	return n;
}

static size_t build_rrq(const struct xp_tftp_client *c, uint8_t *buf)
{
	size_t n = 2;
	put16(buf, XP_TFTP_RRQ);
	n += put_str(buf + n, c->filename);
	n += put_str(buf + n, "octet");
	if (!c->with_opts)
		return n;
	char v[24];
	if (c->o.blksize) {
		snprintf(v, sizeof(v), "%" PRIu32, c->o.blksize);
		n += put_str(buf + n, "blksize");
		n += put_str(buf + n, v);
	}
	if (c->o.windowsize) {
		snprintf(v, sizeof(v), "%" PRIu32, c->o.windowsize);
		n += put_str(buf + n, "windowsize");
		n += put_str(buf + n, v);
	}
	if (c->o.tsize) {
		n += put_str(buf + n, "tsize");
		n += put_str(buf + n, "0");
	}
	return n;
}

ssize_t xp_tftp_client_next(struct xp_tftp_client *c, uint8_t *buf, size_t cap, int64_t now)
{
	if (cap < 4 + XP_TFTP_NAME_MAX + 64)
		return -ENOSPC;
	if (c->error_due) {
		c->error_due = false;
		c->state = XP_TFTP_FAILED;
		c->deadline = INT64_MAX;
		return (ssize_t)xp_tftp_build_error(buf, cap, c->error_code, c->error);
	}
	if (c->state == XP_TFTP_FAILED || (c->state == XP_TFTP_DONE && !c->send_due))
		return 0;
	if (!c->send_due) {
		if (now < c->deadline)
			return 0;
		/* the timer: the last packet is resent, the interval doubled */
		if (c->tries >= c->o.max_tries) {
			failv(c, -ETIMEDOUT, 0xffff, "no answer from the TFTP server after %u tries",
			      c->tries);
			return 0;
		}
		c->cur_ms = c->cur_ms * 2 > c->o.max_timeout_ms ? c->o.max_timeout_ms : c->cur_ms * 2;
	} else {
		c->tries = 0;
		c->cur_ms = c->o.timeout_ms;
	}
	c->send_due = false;
	c->tries++;
	c->deadline = now + c->cur_ms;
	if (!c->started)
		return (ssize_t)build_rrq(c, buf);
	put16(buf, XP_TFTP_ACK);
	put16(buf + 2, (uint16_t)c->last);
	if (c->state == XP_TFTP_DONE)
		c->deadline = INT64_MAX;
	return 4;
}

/* An OACK's option list: name NUL value NUL pairs (RFC 2347). */
static int read_oack(struct xp_tftp_client *c, const uint8_t *p, size_t len)
{
	size_t i = 2;
	while (i < len) {
		const uint8_t *name = p + i;
		const uint8_t *z = memchr(name, 0, len - i);
		if (!z)
			return -EBADMSG;
		i = (size_t)(z - p) + 1;
		if (z == name)
			continue; /* padding */
		const uint8_t *val = p + i;
		const uint8_t *z2 = i < len ? memchr(val, 0, len - i) : NULL;
		if (!z2 || z2 == val)
			return -EBADMSG;
		i = (size_t)(z2 - p) + 1;
		char *end;
		unsigned long long v = strtoull((const char *)val, &end, 10);
		if (*end || *val < '0' || *val > '9')
			return -EBADMSG;
		if (!strcasecmp((const char *)name, "blksize")) {
			/* RFC 2348: the server may lower it, never raise it */
			if (!c->o.blksize || v < XP_TFTP_BLKSIZE_MIN || v > c->o.blksize)
				return -EPROTO;
			c->blksize = (uint32_t)v;
		} else if (!strcasecmp((const char *)name, "windowsize")) {
			if (!c->o.windowsize || v < 1 || v > c->o.windowsize)
				return -EPROTO;
			c->windowsize = (uint32_t)v;
		} else if (!strcasecmp((const char *)name, "tsize")) {
			if (!c->o.tsize)
				return -EPROTO;
			c->tsize = v;
		} else {
			return -EPROTO; /* RFC 2347: only options the client asked for */
		}
	}
	return 0;
}

static const char *error_name(uint16_t code)
{
	static const char *const names[] = {
	    "error",	      "file not found",	  "access violation",
	    "disk full",      "illegal operation", "unknown transfer ID",
	    "file exists",    "no such user",	  "options refused",
	};
	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "error";
}

static int on_data(struct xp_tftp_client *c, const struct xp_tftp_packet *pk, int64_t now)
{
	uint16_t expect = (uint16_t)(c->last + 1);
	if (pk->block != expect) {
		if (pk->block == (uint16_t)c->last) {
			c->send_due = true; /* our ACK was lost: the sender resends; ACK again */
			return 0;
		}
		/* a gap (RFC 7440 section 4): the last block in order, so that the sender
		 * goes back to it; once per round of the sender's, not once per packet
		 * after the gap: a block no further than the ones seen since the last such
		 * ACK starts a new round (the sender went back, and lost one again) */
		uint16_t ahead = (uint16_t)(pk->block - expect);
		if (ahead >= 0x8000)
			return 0; /* an old duplicate */
		if (!c->gap_acked || ahead <= c->gap_hi) {
			c->gap_acked = true;
			c->send_due = true;
		}
		c->gap_hi = ahead;
		return 0;
	}
	if (pk->datalen > c->blksize)
		return -EBADMSG;
	uint64_t off = c->last * (uint64_t)c->blksize;
	if (c->o.max_size && off + pk->datalen > c->o.max_size) {
		failv(c, -EFBIG, 3, "larger than %" PRIu64 " bytes", c->o.max_size);
		return 1;
	}
	if (pk->datalen) {
		int r = c->sink.write(c->sink.ctx, off, pk->data, pk->datalen);
		if (r < 0) {
			failv(c, r, 3, "cannot store the data: %s", strerror(-r));
			return 1;
		}
	}
	c->last++;
	c->bytes = off + pk->datalen;
	c->gap_acked = false;
	c->tries = 0;
	c->cur_ms = c->o.timeout_ms;
	c->deadline = now + c->cur_ms; /* the next block is awaited from now */
	if (pk->datalen < c->blksize) {
		c->state = XP_TFTP_DONE;
		c->send_due = true; /* the final ACK */
	} else if (c->last - c->win_base >= c->windowsize) {
		c->win_base = c->last;
		c->send_due = true;
	}
	return 1;
}

int xp_tftp_client_input(struct xp_tftp_client *c, const uint8_t *p, size_t len, int64_t now)
{
	if (c->state != XP_TFTP_RUNNING || c->error_due)
		return 0;
	if (len >= 2 && p[0] == 0 && p[1] == XP_TFTP_OACK) {
		if (c->started)
			return 0; /* a duplicate OACK: our ACK 0 will be resent by the timer */
		if (!c->with_opts) {
			failv(c, -EPROTO, 8, "the server sent an OACK to a request without options");
			return 1;
		}
		int r = read_oack(c, p, len);
		if (r < 0) {
			failv(c, -EPROTO, 8, "the server's OACK is %s",
			      r == -EBADMSG ? "malformed" : "not what was asked for");
			return 1;
		}
		if (c->o.max_size && c->tsize > c->o.max_size) {
			failv(c, -EFBIG, 3, "%" PRIu64 " bytes, larger than %" PRIu64, c->tsize,
			      c->o.max_size);
			return 1;
		}
		c->started = true;
		c->send_due = true; /* ACK 0 */
		c->win_base = 0;
		return 1;
	}
	struct xp_tftp_packet pk;
	int op = xp_tftp_parse_packet(p, len, &pk);
	if (op == -EBADMSG)
		return -EBADMSG;
	if (op == XP_TFTP_ERROR) {
		if (pk.code == XP_TFTP_EOPTNEG && !c->started && c->with_opts) {
			c->with_opts = false; /* RFC 2347: ask again without options */
			c->send_due = true;
			return 1;
		}
		int err = pk.code == XP_TFTP_ENOTFOUND ? -ENOENT
			  : pk.code == XP_TFTP_EACCESS ? -EACCES
						       : -EPROTO;
		int n = (int)(pk.msglen > 100 ? 100 : pk.msglen);
		for (int i = 0; i < n; i++)
			if ((unsigned char)pk.msg[i] < 0x20 || (unsigned char)pk.msg[i] > 0x7e)
				n = i; /* a server's text goes into a message: printable only */
		failv(c, err, 0xffff, "%s (TFTP error %u%s%.*s)", error_name(pk.code), pk.code,
		      n ? ": " : "", n, pk.msg);
		return 1;
	}
	if (op != XP_TFTP_DATA)
		return 0;
	if (!c->started) {
		/* DATA 1 straight away: the server took no option (RFC 2347) */
		if (pk.block != 1)
			return 0;
		c->started = true;
		c->blksize = XP_TFTP_BLKSIZE_DEFAULT;
		c->windowsize = 1;
	}
	return on_data(c, &pk, now);
}

int64_t xp_tftp_client_deadline(const struct xp_tftp_client *c)
{
	if (c->error_due || c->send_due)
		return INT64_MIN;
	return c->state == XP_TFTP_RUNNING ? c->deadline : INT64_MAX;
}

enum xp_tftp_state xp_tftp_client_state(const struct xp_tftp_client *c)
{
	return c->error_due ? XP_TFTP_RUNNING : c->state;
}

const char *xp_tftp_client_error(const struct xp_tftp_client *c)
{
	return c->err ? c->error : "";
}

int xp_tftp_client_errno(const struct xp_tftp_client *c)
{
	return c->err;
}

uint64_t xp_tftp_client_bytes(const struct xp_tftp_client *c)
{
	return c->bytes;
}

uint64_t xp_tftp_client_tsize(const struct xp_tftp_client *c)
{
	return c->tsize;
}

uint32_t xp_tftp_client_blksize(const struct xp_tftp_client *c)
{
	return c->blksize;
}

uint32_t xp_tftp_client_windowsize(const struct xp_tftp_client *c)
{
	return c->windowsize;
}
