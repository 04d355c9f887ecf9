/*
 * testlib.h - what the unit tests share: a scratch directory under XP_TEST_TMP (the
 * build's test directory) and its removal. Header-only; include after cmocka.h.
 */
#ifndef XP_TESTLIB_H
#define XP_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>

/* Makes XP_TEST_TMP/NAME-XXXXXX into buf (size len). 0, or -1. */
static inline int xp_test_mkdtemp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s-XXXXXX", XP_TEST_TMP, name);
	return mkdtemp(buf) ? 0 : -1;
}

/* Removes dir and everything in it. 0, or -1. */
static inline int xp_test_rmtree(const char *dir)
{
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
