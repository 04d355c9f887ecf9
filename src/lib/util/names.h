/*
 * names.h - the names of enumeration values, kept as tables indexed by the value
 * (designated initializers, so that a table reads as the mapping it is), and the one
 * lookup in both directions behind every room's *_name and *_from_name.
 */
#ifndef XP_UTIL_NAMES_H
#define XP_UTIL_NAMES_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* table[v] of the n names, or dflt for a value past the table or unnamed in it. */
static inline const char *xp__name_of(const char *const *table, size_t n, unsigned v,
				      const char *dflt)
{
	return v < n && table[v] ? table[v] : dflt;
}

/* The value whose name is name among the n of table, or -EINVAL (also for NULL). */
static inline int xp__value_of(const char *const *table, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (table[i] && strcmp(table[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

#endif
