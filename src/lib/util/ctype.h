/*
 * ctype.h - character classes as the C locale has them, whatever the process's locale
 * is: what parsers of xl's values and of addresses need.
 */
#ifndef XP_UTIL_CTYPE_H
#define XP_UTIL_CTYPE_H

#include <stdbool.h>

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

#endif
