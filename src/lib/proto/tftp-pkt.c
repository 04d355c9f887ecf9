/*
 * tftp-pkt.c - TFTP packets: reading requests (RRQ/WRQ with RFC 2347 options), ACK,
 * DATA and ERROR; building ERROR packets; the filename gate; netascii conversion; a
 * memory source.
 *
 * Not here: the transfer state machine and option negotiation (tftp-session.c), any I/O.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "util/ctype.h"
#include "xenprov/tftp.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* ---- requests ----------------------------------------------------------------------- */

/* The string starting at p, ending before end: its length up to the NUL, or -1 if no
 * NUL comes before end. */
static ptrdiff_t strfield(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *z = memchr(p, '\0', (size_t)(end - p));
	return z ? z - p : -1;
}

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Known options: RFC 2348, RFC 2349, RFC 7440. */
static const struct {
	const char *name;
	unsigned bit;
} known[] = {
    {"blksize", XP_TFTP_OPT_BLKSIZE},
    {"timeout", XP_TFTP_OPT_TIMEOUT},
    {"tsize", XP_TFTP_OPT_TSIZE},
    {"windowsize", XP_TFTP_OPT_WINDOWSIZE},
};

static void set_option(struct xp_tftp_request *r, unsigned bit, bool ok, uint64_t v)
{
	if (!ok) {
		r->invalid |= bit;
		return;
	}
	switch (bit) {
	case XP_TFTP_OPT_BLKSIZE:
		r->has_blksize = true;
		r->blksize = sat32(v);
		break;
	case XP_TFTP_OPT_TIMEOUT:
		r->has_timeout = true;
		r->timeout = sat32(v);
		break;
	case XP_TFTP_OPT_TSIZE:
		r->has_tsize = true;
		r->tsize = v;
		break;
	default:
		r->has_windowsize = true;
		r->windowsize = sat32(v);
		break;
	}
}

int xp_tftp_parse_request(const uint8_t *p, size_t len, struct xp_tftp_request *r)
{
	memset(r, 0, sizeof(*r));
	if (len < 2)
		return -EBADMSG;
	r->opcode = get16(p);
	if (r->opcode != XP_TFTP_RRQ && r->opcode != XP_TFTP_WRQ)
		return -EPROTO;
	const uint8_t *q = p + 2, *end = p + len;

	ptrdiff_t n = strfield(q, end);
	if (n < 0)
		return -EBADMSG;
	if (n > XP_TFTP_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(r->filename, q, (size_t)n);
	r->filename[n] = '\0';
	q += n + 1;

	n = strfield(q, end);
	if (n < 0)
		return -EBADMSG;
	const char *mode = (const char *)q;
	int moderr = 0;
	if (n == 5 && strncasecmp(mode, "octet", 5) == 0)
		r->mode = XP_TFTP_OCTET;
	else if (n == 8 && strncasecmp(mode, "netascii", 8) == 0)
		r->mode = XP_TFTP_NETASCII;
	else if (n == 4 && strncasecmp(mode, "mail", 4) == 0)
		r->mode = XP_TFTP_MAIL, moderr = -EPROTONOSUPPORT;
	else
		moderr = -EPROTONOSUPPORT;
	r->netascii = r->mode == XP_TFTP_NETASCII;
	q += n + 1;

	/* RFC 2347: option NUL value NUL, repeated, to the end of the packet. */
	unsigned seen = 0;
	while (q < end) {
		if (*q == '\0') {
			/* padding: only NULs may follow */
			while (q < end && *q == '\0')
				q++;
			if (q < end)
				return -EBADMSG;
			break;
		}
		ptrdiff_t nl = strfield(q, end);
		if (nl < 0)
			return -EBADMSG;
		const char *name = (const char *)q;
		q += nl + 1;
		ptrdiff_t vl = q < end ? strfield(q, end) : -1;
		if (vl < 0)
			return -EBADMSG;
		const char *val = (const char *)q;
		q += vl + 1;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strlen(known[i].name) != (size_t)nl ||
			    strncasecmp(name, known[i].name, (size_t)nl) != 0)
				continue;
			if (seen & known[i].bit)
				return -EBADMSG;
			seen |= known[i].bit;
			uint64_t v = 0;
			/* RFC 2347 values are ASCII decimal */
			bool ok = xp__decimal(val, (size_t)vl, &v);
			set_option(r, known[i].bit, ok, v);
			break;
		}
	}
	return moderr;
}

/* ---- other packets ------------------------------------------------------------------ */

int xp_tftp_parse_packet(const uint8_t *p, size_t len, struct xp_tftp_packet *pk)
{
	memset(pk, 0, sizeof(*pk));
	if (len < 4)
		return -EBADMSG;
	pk->opcode = get16(p);
	switch (pk->opcode) {
	case XP_TFTP_DATA:
		pk->block = get16(p + 2);
		pk->data = p + 4;
		pk->datalen = len - 4;
		return pk->opcode;
	case XP_TFTP_ACK:
		pk->block = get16(p + 2);
		return pk->opcode;
	case XP_TFTP_ERROR: {
		pk->code = get16(p + 2);
		pk->msg = (const char *)p + 4;
		const uint8_t *z = memchr(p + 4, '\0', len - 4);
		pk->msglen = z ? (size_t)(z - (p + 4)) : len - 4;
		return pk->opcode;
	}
	default:
		return -EPROTO;
	}
}

size_t xp_tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	if (cap < 5)
		return 0;
	buf[0] = 0;
	buf[1] = XP_TFTP_ERROR;
	buf[2] = (uint8_t)(code >> 8);
	buf[3] = (uint8_t)code;
	size_t n = msg ? strlen(msg) : 0;
	if (n > cap - 5)
		n = cap - 5;
	if (n)
		memcpy(buf + 4, msg, n);
	buf[4 + n] = '\0';
	return 5 + n;
}

size_t xp_tftp_build_errno(uint8_t *buf, size_t cap, int err)
{
	uint16_t code = XP_TFTP_EUNDEF;
	const char *msg;
	switch (err) {
	case -ENOENT:
	case -EISDIR:
	case -ENOTDIR:
		code = XP_TFTP_ENOTFOUND, msg = "file not found";
		break;
	case -EACCES:
	case -EPERM:
		code = XP_TFTP_EACCESS, msg = "access violation";
		break;
	case -EROFS:
		code = XP_TFTP_EACCESS, msg = "read-only server";
		break;
	case -EINVAL:
	case -ENAMETOOLONG:
		code = XP_TFTP_EACCESS, msg = "invalid file name";
		break;
	case -EPROTONOSUPPORT:
		code = XP_TFTP_EBADOP, msg = "unsupported mode";
		break;
	case -EBADMSG:
	case -EPROTO:
		code = XP_TFTP_EBADOP, msg = "illegal TFTP operation";
		break;
	case -EOPNOTSUPP:
		code = XP_TFTP_EOPTNEG, msg = "unacceptable option";
		break;
	case -ENOMEM:
		msg = "out of memory";
		break;
	case -EIO:
		msg = "read error";
		break;
	case -EFBIG:
		msg = "file too large";
		break;
	default:
		msg = "internal error";
		break;
	}
	return xp_tftp_build_error(buf, cap > XP_TFTP_ERROR_MAX ? XP_TFTP_ERROR_MAX : cap, code,
				   msg);
}

/* ---- the filename gate -------------------------------------------------------------- */

int xp_tftp_path_check(const char *name, size_t len, char *out, size_t outsz)
{
	if (len == 0 || len > XP_TFTP_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		/* NUL and control bytes would cut or garble logs and paths; bytes >= 0x80 have
		 * no agreed encoding in TFTP (RFC 1350: filenames are netascii); a backslash is
		 * a separator to DOS-minded clients and a plain byte to us: refused, not
		 * guessed. */
		if (c < 0x20 || c >= 0x7f || c == '\\')
			return -EINVAL;
	}
	if (name[len - 1] == '/')
		return -EINVAL; /* a directory */
	size_t i = name[0] == '/' ? 1 : 0, o = 0;
	int dotdot = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && name[j] != '/')
			j++;
		size_t cl = j - i;
		if (cl == 2 && name[i] == '.' && name[i + 1] == '.')
			dotdot = 1;
		else if (cl > 0 && !(cl == 1 && name[i] == '.')) {
			if (o + (o ? 1 : 0) + cl + 1 > outsz)
				return -ENOSPC;
			if (o)
				out[o++] = '/';
			memcpy(out + o, name + i, cl);
			o += cl;
		}
		i = j + 1;
	}
	if (dotdot)
		return -EACCES;
	if (o == 0)
		return -EINVAL;
	out[o] = '\0';
	return (int)o;
}

/* ---- netascii ----------------------------------------------------------------------- */

uint64_t xp_tftp_netascii_len(const void *in, size_t len)
{
	const uint8_t *p = in;
	uint64_t n = len;
	for (size_t i = 0; i < len; i++)
		n += p[i] == '\n' || p[i] == '\r';
	return n;
}

ssize_t xp_tftp_netascii_encode(const void *in, size_t len, void *out, size_t cap)
{
	const uint8_t *p = in;
	uint8_t *o = out;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		size_t need = c == '\n' || c == '\r' ? 2 : 1;
		if (cap - n < need)
			return -ENOSPC;
		if (c == '\n') {
			o[n++] = '\r';
			o[n++] = '\n';
		} else if (c == '\r') {
			o[n++] = '\r';
			o[n++] = '\0';
		} else {
			o[n++] = c;
		}
	}
	return (ssize_t)n;
}

/* ---- a memory source ---------------------------------------------------------------- */

static ssize_t mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	/* the session never reads beyond the source's size */
	if (len)
		memcpy(buf, (const uint8_t *)ctx + off, len);
	return (ssize_t)len;
}

void xp_tftp_source_mem(struct xp_tftp_source *src, const void *data, size_t size)
{
	src->read = mem_read;
	src->ctx = (void *)(uintptr_t)data;
	src->size = size;
}
