/*
 * sha256-path.h - which way sha256.c computes SHA-256, for the tests only: the
 * differential tests and the fuzz target run every input through the SHA extensions,
 * libcrypto and the portable code alike, and the tests check the order of the choice. Compiled only with XP_TEST_HOOKS (the dev and fuzz presets), so
 * a release build has no way to change it.
 *
 * Not part of the public API.
 */
#ifndef XP_UTIL_SHA256_PATH_H
#define XP_UTIL_SHA256_PATH_H

#ifdef XP_TEST_HOOKS
enum xp__sha256_path {
	XP__SHA256_AUTO,      /* as a release build chooses: CPUID, then libcrypto */
	XP__SHA256_PORTABLE,  /* the C code */
	XP__SHA256_SHANI,     /* the SHA extensions (x86-64) */
	XP__SHA256_LIBCRYPTO, /* libcrypto's EVP, loaded now if it was not */
	/* as chosen on a CPU without the SHA extensions (libcrypto, if it loads) */
	XP__SHA256_AUTO_NO_SHANI,
	/* as chosen on a CPU without them where libcrypto cannot be loaded: the loader is
	 * given a soname no system has (the portable code, then) */
	XP__SHA256_AUTO_NO_SHANI_NO_LIBCRYPTO,
};

/* The way of every hash started (xp_sha256_new, _restart, _final's restart, xp_sha256,
 * xp_hmac_sha256) from now on, in the whole process; xp_sha256_path() names it. 0, or
 * -ENOTSUP for XP__SHA256_SHANI on a CPU (or an architecture) without the SHA
 * extensions, for XP__SHA256_LIBCRYPTO where libcrypto cannot be loaded. */
int xp__sha256_test_path(enum xp__sha256_path path);
#endif

#endif
