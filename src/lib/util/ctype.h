/*
 * ctype.h - character classes as the C locale has them, whatever the process's locale
 * is, and words split by them: what parsers of xl's values, addresses and command
 * lines need.
 */
#ifndef XP_UTIL_CTYPE_H
#define XP_UTIL_CTYPE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* 0-15 for [0-9a-fA-F], else -1. */
static inline int xp__hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* isspace() in the C locale. */
static inline bool xp__isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The next word of s: the bytes sep() is true of before it skipped, *n set to its
 * length (0: there is none). Returns where it starts. */
static inline const char *xp__word(const char *s, bool (*sep)(unsigned char), size_t *n)
{
	while (*s && sep((unsigned char)*s))
		s++;
	size_t k = 0;
	while (s[k] && !sep((unsigned char)s[k]))
		k++;
	*n = k;
	return s;
}

/*
 * strtoul(s, &end, base) for base 10 or 16 as glibc does it in the C locale: leading
 * white space, an optional sign, for base 16 an optional "0x" (only when a hex digit
 * follows), digits; no digits means *end = s and 0; overflow saturates at ULONG_MAX; a
 * '-' negates in unsigned arithmetic. Written out rather than called so that xl's
 * readings (which call strtoul) are reproduced whatever the process's locale.
 */
static inline unsigned long xp__strtoul_c(const char *s, const char **end, unsigned base)
{
	const char *p = s;
	while (xp__isspace(*p))
		p++;
	bool neg = false;
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && xp__hexval(p[2]) >= 0)
		p += 2;
	const char *digits = p;
	unsigned long v = 0;
	bool overflow = false;
	int d;
	while ((d = xp__hexval(*p)) >= 0 && (unsigned)d < base) {
		if (v > (ULONG_MAX - (unsigned)d) / base)
			overflow = true;
		else
			v = v * base + (unsigned)d;
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

#endif
