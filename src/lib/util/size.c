/*
 * size.c - sizes as operators write them ("4G", "512M", "1.5GiB", "4096"), read
 * strictly: decimal digits, an optional fraction, an optional binary unit (K, M, G, T,
 * optionally followed by B or iB; either case) or B. Nothing else: no signs or blanks,
 * no hexadecimal, no exponent, no "inf" (which strtod(3) would all take). Exact integer
 * arithmetic, so "1.5G" is 1610612736 bytes and an overflow is an error, not a
 * rounding.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "xenprov/util.h"

int xp_parse_size(const char *s, uint64_t *out)
{
	if (!s || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	uint64_t whole = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	/* 15 fraction digits are kept: a finer part than 10^-15 of a TiB is below a byte */
	uint64_t frac = 0, scale = 1;
	bool has_frac = *p == '.';
	if (has_frac) {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++)
			if (scale < 1000000000000000ull) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
	}
	unsigned shift = 0;
	switch (*p) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		break;
	}
	if (shift) {
		p++;
		if (strcmp(p, "iB") == 0 || strcmp(p, "ib") == 0)
			p += 2;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p)
		return -EINVAL;
	if (has_frac && !shift)
		return -EINVAL; /* a fraction of a byte */
	if (whole > (UINT64_MAX >> shift))
		return -ERANGE;
	uint64_t bytes = whole << shift;
	/* frac/scale of a unit, rounded down to a byte, by long division in base 1024 (one
	 * digit per 10 bits of the unit): frac < scale <= 10^15 keeps frac * 1024 in 64 bits */
	uint64_t part = 0;
	for (unsigned k = 0; k < shift; k += 10) {
		part = part * 1024 + frac * 1024 / scale;
		frac = frac * 1024 % scale;
	}
	if (bytes > UINT64_MAX - part)
		return -ERANGE;
	bytes += part;
	if (bytes > INT64_MAX) /* a file offset */
		return -ERANGE;
	*out = bytes;
	return 0;
}
