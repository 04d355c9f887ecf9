/*
 * base64.c - base64 decoding (RFC 4648 section 4), strict: what an SSH public key line's
 * blob is (ssh-key.c). The standard alphabet only, padded, no whitespace: anything a
 * lenient decoder would skip or guess at is refused, so that one text has one meaning.
 *
 * Not here: encoding (nothing in xenprov writes base64), base64url (section 5).
 */
#include <errno.h>

#include "xenprov/util.h"

/* a character's value, -1 if it is not of the alphabet (section 4, table 1) */
static int value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

ssize_t xp_base64_decode(const char *in, size_t len, unsigned char *out)
{
	if (len % 4)
		return -EBADMSG;
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		const unsigned char *g = (const unsigned char *)in + i;
		int v[4];
		/* "xx==" and "xxx=" only in the last group (section 3.2) */
		int pad = i + 4 == len ? (g[3] == '=') + (g[3] == '=' && g[2] == '=') : 0;
		for (int k = 0; k < 4 - pad; k++)
			if ((v[k] = value(g[k])) < 0)
				return -EBADMSG;
		uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12;
		if (pad < 2)
			bits |= (uint32_t)v[2] << 6;
		if (pad < 1)
			bits |= (uint32_t)v[3];
		/* the pad bits must be zero (section 3.5): one text, one meaning */
		if ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3)))
			return -EBADMSG;
		out[n++] = (unsigned char)(bits >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(bits >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)bits;
	}
	return (ssize_t)n;
}
