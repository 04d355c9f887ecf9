/*
 * ctype.h - character classes as the C locale has them, whatever the process's locale
 * is, and words split by them: what parsers of xl's values, addresses and command
 * lines need; and UTF-8's well-formed sequences (what can go into JSON as it is).
 */
#ifndef XP_UTIL_CTYPE_H
#define XP_UTIL_CTYPE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* isalnum() in the C locale: ASCII letters and digits. */
static inline bool xp__isalnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The n bytes at s as a decimal number: false if there are none, one is not a digit,
 * or the number is above UINT64_MAX. */
static inline bool xp__decimal(const char *s, size_t n, uint64_t *v)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
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

/* The length of the well-formed UTF-8 sequence at p (n bytes available; RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 1 for ASCII (NUL included),
 * 0 if the bytes there are not one. */
static inline size_t xp__utf8_len(const unsigned char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	size_t len = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
		     : p[0] >= 0xe0 && p[0] <= 0xef ? 3
		     : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
						    : 0;
	if (len == 0 || n < len)
		return 0;
	/* the second byte's range narrows for the forms that would be overlong, a
	 * surrogate or beyond U+10FFFF */
	unsigned char lo = p[0] == 0xe0 ? 0xa0 : p[0] == 0xf0 ? 0x90 : 0x80;
	unsigned char hi = p[0] == 0xed ? 0x9f : p[0] == 0xf4 ? 0x8f : 0xbf;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Whether the string s is UTF-8 throughout. */
static inline bool xp__utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = xp__utf8_len(p + i, n - i);
		if (l == 0)
			return false;
		i += l;
	}
	return true;
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
