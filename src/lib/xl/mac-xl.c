/*
 * mac-xl.c - a MAC address read exactly the way xl reads the value of `mac=`
 * (tools/xl/xl_parse.c, parse_nic_config): the lenient spelling only xl's own language
 * has, so the linter can tell "xl rejects this" from "xl accepts this but it is not the
 * canonical form".
 *
 * Not here: the strict reader and everything else about addresses (util/mac.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "util/ctype.h"
#include "xenprov/mac.h"

/*
 * strtoul(s, &end, 16) as glibc does it in the C locale: leading white space, an optional
 * sign, an optional "0x" (only when a hex digit follows), hex digits; no digits means
 * end = s; overflow saturates at ULONG_MAX; a '-' negates in unsigned arithmetic.
 * Written out rather than called so the result cannot depend on the locale.
 */
static unsigned long strtoul16(const char *s, const char **end)
{
	const char *p = s;
	while (xp__isspace(*p))
		p++;
	bool neg = false;
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && xp__hexval(p[2]) >= 0)
		p += 2;
	const char *digits = p;
	unsigned long v = 0;
	bool overflow = false;
	int d;
	while ((d = xp__hexval(*p)) >= 0) {
		if (v > (ULONG_MAX >> 4))
			overflow = true;
		else
			v = v * 16 + (unsigned long)d;
		p++;
	}
	if (p == digits) {
		*end = s;
		return 0;
	}
	*end = p;
	if (overflow)
		return ULONG_MAX;
	return neg ? -v : v;
}

int xp_mac_parse_xl(const char *s, struct xp_mac *out, size_t *errpos)
{
	if (!s || !out)
		return -EINVAL;
	struct xp_mac m;
	const char *p = s;
	for (int i = 0; i < 6; i++) {
		if (i > 0) {
			/* xl steps over one separator character without looking at it;
			 * stepping over the terminating NUL reads outside the value. */
			if (*p == '\0') {
				if (errpos)
					*errpos = (size_t)(p - s);
				return -EBADMSG;
			}
			p++;
		}
		const char *end;
		/* xl stores strtoul's unsigned long in an unsigned int, then tests > 255. */
		unsigned int val = (unsigned int)strtoul16(p, &end);
		if (end == p || val > 255) {
			if (errpos)
				*errpos = (size_t)(p - s);
			return -EINVAL;
		}
		m.b[i] = (uint8_t)val;
		p = end;
	}
	struct xp_mac strict;
	int lenient = xp_mac_parse(s, &strict) < 0 || xp_mac_cmp(&strict, &m) != 0;
	*out = m;
	return lenient;
}
