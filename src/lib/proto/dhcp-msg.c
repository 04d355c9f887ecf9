/*
 * dhcp-msg.c - the DHCPv4 wire format: parse a datagram into header + merged options,
 * and build one with a size limit.
 *
 * Not here: what any option means to a server or client (dhcp-server.c), sockets.
 *
 * Layout: RFC 2131 section 2 (236-byte BOOTP header, then the magic cookie 99.130.83.99
 * of RFC 2132 section 2, then options). Options are TLV except Pad (0) and End (255).
 * Option 52 (RFC 2132 section 9.3) lets `file` (1), `sname` (2) or both (3) carry more
 * options. RFC 3396: an option may appear several times, its instances are concatenated
 * in the order options field, file, sname (section 5), and a sender splits data longer
 * than 255 bytes into consecutive instances (section 7).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xenprov/dhcp.h"

static const uint8_t cookie[4] = {99, 130, 83, 99};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool has(const struct xp_dhcp_msg *m, uint8_t code)
{
	return m->present[code >> 3] & (1u << (code & 7));
}

/* One area's options: pass 0 counts each code's total length (and finds option 52 in the
 * options field), pass 1 copies each instance after what is already there. */
static int walk(struct xp_dhcp_msg *m, const uint8_t *p, size_t n, int pass, bool main_area,
		uint16_t *fill)
{
	size_t i = 0;
	while (i < n) {
		uint8_t code = p[i++];
		if (code == 0)
			continue;
		if (code == 255)
			return 0;
		if (i >= n) {
			m->why = "option length past the end of its area";
			return -EBADMSG;
		}
		size_t l = p[i++];
		if (l > n - i) {
			m->why = "option data past the end of its area";
			return -EBADMSG;
		}
		if (code == 52 && !main_area) {
			/* RFC 2132 9.3: only in the options field; elsewhere ignored */
			i += l;
			continue;
		}
		if (pass == 0) {
			if (code == 52) {
				if (l != 1 || p[i] < 1 || p[i] > 3) {
					m->why = "bad option overload (52)";
					return -EBADMSG;
				}
				m->overload = p[i];
			}
			m->present[code >> 3] |= (uint8_t)(1u << (code & 7));
			if (m->used + l > XP_DHCP_OPT_MAX) {
				m->why = "options too long";
				return -EBADMSG;
			}
			m->used += l;
			m->len[code] = (uint16_t)(m->len[code] + l);
		} else {
			memcpy(m->data + m->off[code] + fill[code], p + i, l);
			fill[code] = (uint16_t)(fill[code] + l);
		}
		i += l;
	}
	return 0;
}

static int walk_all(struct xp_dhcp_msg *m, const uint8_t *p, size_t len, int pass,
		    uint16_t *fill)
{
	int r = walk(m, p + XP_DHCP_MIN_LEN, len - XP_DHCP_MIN_LEN, pass, true, fill);
	if (r < 0)
		return r;
	if (m->overload & 1) {
		r = walk(m, p + 108, 128, pass, false, fill);
		if (r < 0)
			return r;
	}
	if (m->overload & 2)
		r = walk(m, p + 44, 64, pass, false, fill);
	return r;
}

int xp_dhcp_msg_parse(const uint8_t *p, size_t len, struct xp_dhcp_msg *m)
{
	m->why = NULL;
	m->overload = 0;
	m->used = 0;
	memset(m->present, 0, sizeof(m->present));
	memset(m->len, 0, sizeof(m->len));
	if (len < XP_DHCP_MIN_LEN) {
		m->why = "shorter than a DHCP header";
		return -EBADMSG;
	}
	struct xp_dhcp_hdr *h = &m->h;
	h->op = p[0];
	h->htype = p[1];
	h->hlen = p[2];
	h->hops = p[3];
	h->xid = get32(p + 4);
	h->secs = (uint16_t)(p[8] << 8 | p[9]);
	h->flags = (uint16_t)(p[10] << 8 | p[11]);
	h->ciaddr = get32(p + 12);
	h->yiaddr = get32(p + 16);
	h->siaddr = get32(p + 20);
	h->giaddr = get32(p + 24);
	memcpy(h->chaddr, p + 28, 16);
	memcpy(h->sname, p + 44, 64);
	memcpy(h->file, p + 108, 128);
	if (h->hlen > 16) {
		m->why = "hardware address length over 16";
		return -EBADMSG;
	}
	if (memcmp(p + XP_DHCP_HDR_LEN, cookie, 4) != 0) {
		m->why = "bad magic cookie";
		return -EBADMSG;
	}
	int r = walk_all(m, p, len, 0, NULL);
	if (r < 0)
		return r;
	uint16_t fill[256];
	size_t off = 0;
	for (int c = 0; c < 256; c++) {
		m->off[c] = (uint16_t)off;
		off += m->len[c];
		fill[c] = 0;
	}
	return walk_all(m, p, len, 1, fill);
}

const uint8_t *xp_dhcp_msg_option(const struct xp_dhcp_msg *m, uint8_t code, size_t *len)
{
	if (code == 0 || code == 255 || !has(m, code))
		return NULL;
	if (len)
		*len = m->len[code];
	return m->data + m->off[code];
}

static int fixed(const struct xp_dhcp_msg *m, uint8_t code, size_t want, const uint8_t **d)
{
	size_t l;
	*d = xp_dhcp_msg_option(m, code, &l);
	if (!*d)
		return -ENOENT;
	return l == want ? 0 : -EBADMSG;
}

int xp_dhcp_msg_u8(const struct xp_dhcp_msg *m, uint8_t code, uint8_t *v)
{
	const uint8_t *d;
	int r = fixed(m, code, 1, &d);
	if (r == 0)
		*v = d[0];
	return r;
}

int xp_dhcp_msg_u16(const struct xp_dhcp_msg *m, uint8_t code, uint16_t *v)
{
	const uint8_t *d;
	int r = fixed(m, code, 2, &d);
	if (r == 0)
		*v = (uint16_t)(d[0] << 8 | d[1]);
	return r;
}

int xp_dhcp_msg_ip(const struct xp_dhcp_msg *m, uint8_t code, uint32_t *v)
{
	const uint8_t *d;
	int r = fixed(m, code, 4, &d);
	if (r == 0)
		*v = get32(d);
	return r;
}

/* ---- building ------------------------------------------------------------------------ */

int xp_dhcp_msg_build_init(struct xp_dhcp_build *b, uint8_t *buf, size_t limit,
			   const struct xp_dhcp_hdr *h)
{
	if (limit < XP_DHCP_MIN_LEN + 1)
		return -EMSGSIZE;
	b->p = buf;
	b->limit = limit;
	uint8_t *p = buf;
	p[0] = h->op;
	p[1] = h->htype;
	p[2] = h->hlen;
	p[3] = h->hops;
	put32(p + 4, h->xid);
	p[8] = (uint8_t)(h->secs >> 8);
	p[9] = (uint8_t)h->secs;
	p[10] = (uint8_t)(h->flags >> 8);
	p[11] = (uint8_t)h->flags;
	put32(p + 12, h->ciaddr);
	put32(p + 16, h->yiaddr);
	put32(p + 20, h->siaddr);
	put32(p + 24, h->giaddr);
	memcpy(p + 28, h->chaddr, 16);
	memcpy(p + 44, h->sname, 64);
	memcpy(p + 108, h->file, 128);
	memcpy(p + XP_DHCP_HDR_LEN, cookie, 4);
	b->len = XP_DHCP_MIN_LEN;
	return 0;
}

int xp_dhcp_msg_build_option(struct xp_dhcp_build *b, uint8_t code, const void *data,
			     size_t len)
{
	if (code == 0 || code == 255)
		return -EINVAL;
	size_t pieces = len == 0 ? 1 : (len + 254) / 255;
	size_t need = len + 2 * pieces;
	if (need > b->limit - 1 - b->len) /* 1: the End option */
		return -ENOSPC;
	const uint8_t *d = data;
	size_t done = 0;
	do {
		size_t l = len - done > 255 ? 255 : len - done;
		b->p[b->len++] = code;
		b->p[b->len++] = (uint8_t)l;
		if (l)
			memcpy(b->p + b->len, d + done, l);
		b->len += l;
		done += l;
	} while (done < len);
	return 0;
}

int xp_dhcp_msg_build_u8(struct xp_dhcp_build *b, uint8_t code, uint8_t v)
{
	return xp_dhcp_msg_build_option(b, code, &v, 1);
}

int xp_dhcp_msg_build_u16(struct xp_dhcp_build *b, uint8_t code, uint16_t v)
{
	uint8_t d[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return xp_dhcp_msg_build_option(b, code, d, 2);
}

int xp_dhcp_msg_build_u32(struct xp_dhcp_build *b, uint8_t code, uint32_t v)
{
	uint8_t d[4];
	put32(d, v);
	return xp_dhcp_msg_build_option(b, code, d, 4);
}

size_t xp_dhcp_msg_build_end(struct xp_dhcp_build *b)
{
	b->p[b->len++] = 255;
	size_t min = b->limit < 300 ? b->limit : 300;
	if (b->len < min) {
		memset(b->p + b->len, 0, min - b->len);
		b->len = min;
	}
	return b->len;
}
