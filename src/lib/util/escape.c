/*
 * escape.c - what a client sent, made fit for one line of a log: the one escaping
 * helper every log line of the boot server uses for names it did not make itself
 * (TFTP file names, DHCP host names, client identifiers and vendor classes, HTTP
 * paths).
 *
 * Not here: quoting for other languages (xl configs, shells, JSON): each has its own.
 */
#include <string.h>

#include "xenprov/util.h"

/* The escape of c into e; its length. */
static size_t escape_byte(unsigned char c, char e[4])
{
	static const char hex[] = "0123456789abcdef";
	if (c == '\\' || c == '\'') {
		e[0] = '\\';
		e[1] = (char)c;
		return 2;
	}
	if (c < 0x20 || c >= 0x7f) {
		/* control bytes (ESC starts terminal sequences), DEL, and every byte above
		 * ASCII: logs are read on terminals and by parsers that must not see them */
		e[0] = '\\';
		e[1] = 'x';
		e[2] = hex[c >> 4];
		e[3] = hex[c & 15];
		return 4;
	}
	e[0] = (char)c;
	return 1;
}

char *xp_escape(char *out, size_t size, const void *in, size_t len)
{
	const unsigned char *p = in;
	if (size == 0)
		return out;
	char e[4];
	size_t total = 0;
	for (size_t i = 0; i < len; i++)
		total += escape_byte(p[i], e);
	/* all of it, or as many whole escapes as leave room for "..." */
	size_t room = total < size ? size - 1 : size >= 4 ? size - 4 : size - 1;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		size_t n = escape_byte(p[i], e);
		if (o + n > room)
			break;
		memcpy(out + o, e, n);
		o += n;
	}
	if (total >= size && size >= 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
	return out;
}
