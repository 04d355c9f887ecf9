/*
 * hex.h - one hex digit's value, in the C locale whatever the process's locale is.
 */
#ifndef XP_UTIL_HEX_H
#define XP_UTIL_HEX_H

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

#endif
