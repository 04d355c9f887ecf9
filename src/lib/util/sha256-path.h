/*
 * sha256-path.h - which compression sha256.c uses, for the tests only: the differential
 * tests and the fuzz target run every input through the portable code and through the
 * SHA extensions alike. Compiled only with XP_TEST_HOOKS (the dev and fuzz presets), so
 * a release build has no way to change it.
 *
 * Not part of the public API.
 */
#ifndef XP_UTIL_SHA256_PATH_H
#define XP_UTIL_SHA256_PATH_H

#ifdef XP_TEST_HOOKS
enum xp__sha256_path {
	XP__SHA256_AUTO,     /* as a release build chooses: by CPUID */
	XP__SHA256_PORTABLE, /* the C code */
	XP__SHA256_SHANI,    /* the SHA extensions (x86-64) */
};

/* The compression of every hash started (xp_sha256_new, _restart, _final's restart,
 * xp_sha256, xp_hmac_sha256) from now on, in the whole process. 0, or -ENOTSUP for
 * XP__SHA256_SHANI on a CPU (or an architecture) without the SHA extensions. */
int xp__sha256_test_path(enum xp__sha256_path path);
#endif

#endif
