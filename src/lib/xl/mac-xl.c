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
		unsigned int val = (unsigned int)xp__strtoul_c(p, &end, 16);
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
