/*
 * test-sha256.c - unit tests of xenprov's own SHA-256 (util/sha256.c), HMAC-SHA256, the
 * constant-time comparison and the base64 decoder (util/base64.c).
 *
 * SHA-256 is checked on FIPS 180-2's examples (appendix B: "abc", the 448-bit two-block
 * message, a million 'a'), HMAC on RFC 4231's seven test cases, and both against
 * OpenSSL's libcrypto (linked into this test alone: the reference) for every length 0 to
 * 1100, one-shot and fed in random pieces, and HMAC with keys of every length around the
 * block size. Each runs through every way this machine has: the SHA extensions,
 * libcrypto loaded by the library (dlopen: the same libcrypto as the reference's, so
 * that path is checked for how it is driven) and the portable code (util/sha256-path.h,
 * a hook compiled only with XP_TEST_HOOKS; without it, the one the library chooses);
 * with the hook, the order of the choice too (SHA extensions, libcrypto, portable, as
 * xp_sha256_path names it). base64: RFC 4648 section 10's vectors and what a strict
 * decoder refuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/sha256-path.h"
#include "xenprov/util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the compressions to run through ------------------------------------------------ */

struct path {
	const char *name;
#ifdef XP_TEST_HOOKS
	enum xp__sha256_path path;
#endif
};

#ifdef XP_TEST_HOOKS
static const struct path paths[] = {
    {"sha-ni", XP__SHA256_SHANI},
    {"libcrypto", XP__SHA256_LIBCRYPTO},
    {"portable", XP__SHA256_PORTABLE},
};

/* Whether /proc/cpuinfo's flags name every one of the SHA extensions' prerequisites:
 * what the library's CPUID test must agree with. */
static bool cpuinfo_has_shani(void)
{
#ifdef __x86_64__
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool sha = false, ssse3 = false, sse41 = false;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "flags", 5) == 0) {
			sha = strstr(line, " sha_ni") != NULL;
			ssse3 = strstr(line, " ssse3") != NULL;
			sse41 = strstr(line, " sse4_1") != NULL;
			break;
		}
	if (f)
		fclose(f);
	return sha && ssse3 && sse41;
#else
	return false;
#endif
}

/* Selects p: true, or false (and says so) where this CPU does not have it. */
static bool use(const struct path *p)
{
	int r = xp__sha256_test_path(p->path);
	if (p->path == XP__SHA256_SHANI) {
		/* the library's CPUID test agrees with the kernel's flags */
		assert_int_equal(r, cpuinfo_has_shani() ? 0 : -ENOTSUP);
		if (r < 0) {
			print_message("  (no SHA extensions on this CPU: %s not run)\n", p->name);
			return false;
		}
	}
	/* libcrypto.so.3 is there: this test links it */
	assert_int_equal(r, 0);
	assert_string_equal(xp_sha256_path(), p->name);
	return true;
}

static void use_auto(void)
{
	assert_int_equal(xp__sha256_test_path(XP__SHA256_AUTO), 0);
}
#else
static const struct path paths[] = {{"chosen"}};
static bool use(const struct path *p)
{
	(void)p;
	return true;
}
static void use_auto(void)
{
}
#endif

#define FOR_EACH_PATH(p)                                                                           \
	for (const struct path *p = paths; p < paths + N(paths); p++)                              \
		if (use(p))

/* ---- references ---------------------------------------------------------------------- */

static void ossl_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned n = 0;
	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
}

static void ossl_hmac(const void *key, size_t keylen, const void *data, size_t len,
		      unsigned char out[32])
{
	unsigned n = 0;
	assert_non_null(HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n));
	assert_int_equal(n, 32);
}

/* xorshift64: the same pseudo-random bytes and cuts every run */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void hex_of(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* ---- SHA-256: FIPS 180-2 appendix B --------------------------------------------------- */

static void test_fips_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *msg;
		const char *want;
	} v[] = {
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	};
	const char *million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	char *a = malloc(1000000);
	assert_non_null(a);
	memset(a, 'a', 1000000);
	unsigned char d[32];
	char hex[65];
	FOR_EACH_PATH(p)
	{
		for (size_t i = 0; i < N(v); i++) {
			assert_int_equal(xp_sha256(v[i].msg, strlen(v[i].msg), d), 0);
			xp_sha256_hex(d, hex);
			assert_string_equal(hex, v[i].want);
		}
		assert_int_equal(xp_sha256(NULL, 0, d), 0);
		xp_sha256_hex(d, hex);
		assert_string_equal(hex, v[2].want);
		/* a million 'a': at once, and as 1000 pieces of 1000 (none a block's multiple) */
		assert_int_equal(xp_sha256(a, 1000000, d), 0);
		xp_sha256_hex(d, hex);
		assert_string_equal(hex, million);
		struct xp_sha256 *h;
		assert_int_equal(xp_sha256_new(&h), 0);
		for (int i = 0; i < 1000; i++)
			assert_int_equal(xp_sha256_add(h, a + 1000 * i, 1000), 0);
		assert_int_equal(xp_sha256_final(h, d), 0);
		xp_sha256_hex(d, hex);
		assert_string_equal(hex, million);
		/* final leaves it as new: the next message hashed from scratch */
		assert_int_equal(xp_sha256_add(h, "abc", 3), 0);
		assert_int_equal(xp_sha256_final(h, d), 0);
		xp_sha256_hex(d, hex);
		assert_string_equal(hex, v[0].want);
		xp_sha256_free(h);
	}
	use_auto();
	free(a);
}

/* ---- SHA-256 against OpenSSL ----------------------------------------------------------- */

static void test_differential(void **state)
{
	(void)state;
	enum { MAX = 1100 };
	unsigned char *msg = malloc(MAX), d[32], want[32];
	assert_non_null(msg);
	uint64_t seed = 0x9e3779b97f4a7c15u;
	for (size_t i = 0; i < MAX; i++)
		msg[i] = (unsigned char)rnd(&seed);
	FOR_EACH_PATH(p)
	{
		struct xp_sha256 *h;
		assert_int_equal(xp_sha256_new(&h), 0);
		for (size_t len = 0; len <= MAX; len++) {
			ossl_sha256(msg, len, want);
			/* an exact-size copy, so ASan sees a read past the end */
			unsigned char *m = malloc(len ? len : 1);
			assert_non_null(m);
			memcpy(m, msg, len);
			assert_int_equal(xp_sha256(m, len, d), 0);
			if (memcmp(d, want, 32) != 0)
				fail_msg("%s: xp_sha256 of %zu bytes differs from OpenSSL's",
					 p->name, len);
			/* three random cuttings: pieces of 0 to 130 bytes, so both sides of
			 * every block boundary and the empty piece are met */
			for (int k = 0; k < 3; k++) {
				assert_int_equal(xp_sha256_restart(h), 0);
				assert_int_equal(xp_sha256_add(h, "junk", 4), 0);
				assert_int_equal(xp_sha256_restart(h), 0);
				for (size_t off = 0; off < len;) {
					size_t piece = (size_t)(rnd(&seed) % 131);
					if (piece > len - off)
						piece = len - off;
					assert_int_equal(xp_sha256_add(h, m + off, piece), 0);
					off += piece;
				}
				assert_int_equal(xp_sha256_final(h, d), 0);
				if (memcmp(d, want, 32) != 0)
					fail_msg("%s: %zu bytes in pieces (cutting %d) differ from "
						 "OpenSSL's",
						 p->name, len, k);
			}
			free(m);
		}
		/* one byte at a time, across many blocks */
		for (size_t i = 0; i < MAX; i++)
			assert_int_equal(xp_sha256_add(h, msg + i, 1), 0);
		assert_int_equal(xp_sha256_final(h, d), 0);
		ossl_sha256(msg, MAX, want);
		assert_memory_equal(d, want, 32);
		xp_sha256_free(h);
	}
	use_auto();
	free(msg);
}

/* 3 MiB at once: the compressions' loops over many blocks (the SHA extensions keep the
 * state in registers from one block to the next) */
static void test_paths_agree_on_large(void **state)
{
	(void)state;
	enum { LEN = 3 << 20 };
	unsigned char *msg = malloc(LEN), d[32], want[32];
	assert_non_null(msg);
	uint64_t seed = 12345;
	for (size_t i = 0; i < LEN; i += 8) {
		uint64_t v = rnd(&seed);
		memcpy(msg + i, &v, 8);
	}
	ossl_sha256(msg, LEN, want);
	/* and as a file (xp_sha256_fd's reads of 1 MiB) */
	char path[] = "/tmp/test-sha256-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, msg, LEN), LEN);
	FOR_EACH_PATH(p)
	{
		assert_int_equal(xp_sha256(msg, LEN, d), 0);
		if (memcmp(d, want, 32) != 0)
			fail_msg("%s: 3 MiB differs from OpenSSL's", p->name);
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		memset(d, 0, sizeof(d));
		assert_int_equal(xp_sha256_fd(fd, d), 0);
		if (memcmp(d, want, 32) != 0)
			fail_msg("%s: a 3 MiB file differs from OpenSSL's", p->name);
	}
	use_auto();
	close(fd);
	free(msg);
}

/* ---- the choice -------------------------------------------------------------------------- */

#ifdef XP_TEST_HOOKS
/* "abc" (FIPS 180-2 B.1) one-shot, streamed and as HMAC's inner hash, by the way set */
static void check_abc(const char *way)
{
	unsigned char d[32], want[32];
	ossl_sha256("abc", 3, want);
	assert_int_equal(xp_sha256("abc", 3, d), 0);
	if (memcmp(d, want, 32) != 0)
		fail_msg("%s: \"abc\" differs from OpenSSL's", way);
	struct xp_sha256 *h;
	assert_int_equal(xp_sha256_new(&h), 0);
	assert_int_equal(xp_sha256_add(h, "ab", 2), 0);
	assert_int_equal(xp_sha256_add(h, "c", 1), 0);
	assert_int_equal(xp_sha256_final(h, d), 0);
	assert_memory_equal(d, want, 32);
	xp_sha256_free(h);
	ossl_hmac("key", 3, "abc", 3, want);
	assert_int_equal(xp_hmac_sha256("key", 3, "abc", 3, d), 0);
	assert_memory_equal(d, want, 32);
}

/* The order: the SHA extensions where the CPU has them; else libcrypto; else (it
 * cannot be loaded: a real dlopen failure, of a soname no system has) the portable
 * code. xp_sha256_path names each. */
static void test_choice(void **state)
{
	(void)state;
	assert_int_equal(xp__sha256_test_path(XP__SHA256_AUTO), 0);
	assert_string_equal(xp_sha256_path(), cpuinfo_has_shani() ? "sha-ni" : "libcrypto");
	check_abc("auto");
	assert_int_equal(xp__sha256_test_path(XP__SHA256_AUTO_NO_SHANI), 0);
	assert_string_equal(xp_sha256_path(), "libcrypto");
	check_abc("auto without SHA extensions");
	assert_int_equal(xp__sha256_test_path(XP__SHA256_AUTO_NO_SHANI_NO_LIBCRYPTO), 0);
	assert_string_equal(xp_sha256_path(), "portable");
	check_abc("auto without SHA extensions nor libcrypto");
	assert_int_equal(xp__sha256_test_path((enum xp__sha256_path)99), -EINVAL);
	use_auto();
}

/* A running hash takes the way set at its (re)start: one made on the libcrypto path
 * (which holds libcrypto's context) restarted on the others and back, then freed
 * (ASan: the context is not leaked) */
static void test_switch_between_paths(void **state)
{
	(void)state;
	unsigned char d[32], want[32];
	ossl_sha256("abcdef", 6, want);
	assert_int_equal(xp__sha256_test_path(XP__SHA256_LIBCRYPTO), 0);
	struct xp_sha256 *h;
	assert_int_equal(xp_sha256_new(&h), 0);
	assert_int_equal(xp_sha256_add(h, "abc", 3), 0);
	FOR_EACH_PATH(p)
	{
		assert_int_equal(xp_sha256_restart(h), 0);
		assert_int_equal(xp_sha256_add(h, "abc", 3), 0);
		assert_int_equal(xp_sha256_add(h, "def", 3), 0);
		assert_int_equal(xp_sha256_final(h, d), 0);
		if (memcmp(d, want, 32) != 0)
			fail_msg("%s: a restarted hash differs", p->name);
		/* final left it as new, on the same path */
		assert_int_equal(xp_sha256_add(h, "abcdef", 6), 0);
		assert_int_equal(xp_sha256_final(h, d), 0);
		assert_memory_equal(d, want, 32);
	}
	xp_sha256_free(h);
	xp_sha256_free(NULL);
	use_auto();
}
#endif

/* ---- HMAC-SHA256 ------------------------------------------------------------------------ */

/* RFC 4231 section 4, test cases 1 to 7 (case 5's output truncated to 128 bits) */
static void test_hmac_rfc4231(void **state)
{
	(void)state;
	unsigned char k3[20], d3[50], k4[25], d4[50], k5[20], k6[131];
	memset(k3, 0xaa, sizeof(k3));
	memset(d3, 0xdd, sizeof(d3));
	for (int i = 0; i < 25; i++)
		k4[i] = (unsigned char)(i + 1);
	memset(d4, 0xcd, sizeof(d4));
	memset(k5, 0x0c, sizeof(k5));
	memset(k6, 0xaa, sizeof(k6));
	unsigned char k1[20];
	memset(k1, 0x0b, sizeof(k1));
	static const char d6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char d7[] = "This is a test using a larger than block-size key and a larger "
				 "than block-size data. The key needs to be hashed before being "
				 "used by the HMAC algorithm.";
	const struct {
		const void *key;
		size_t keylen;
		const void *data;
		size_t len;
		const char *want;
	} v[] = {
	    {k1, 20, "Hi There", 8,
	     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
	    {"Jefe", 4, "what do ya want for nothing?", 28,
	     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	    {k3, 20, d3, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
	    {k4, 25, d4, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
	    {k5, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b"},
	    {k6, 131, d6, sizeof(d6) - 1,
	     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
	    {k6, 131, d7, sizeof(d7) - 1,
	     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	};
	FOR_EACH_PATH(p)
	{
		for (size_t i = 0; i < N(v); i++) {
			unsigned char d[32];
			char hex[65];
			assert_int_equal(
			    xp_hmac_sha256(v[i].key, v[i].keylen, v[i].data, v[i].len, d), 0);
			hex_of(d, strlen(v[i].want) / 2, hex);
			if (strcmp(hex, v[i].want) != 0)
				fail_msg("%s: RFC 4231 case %zu: %s", p->name, i + 1, hex);
		}
	}
	use_auto();
}

/* keys of 0 to 200 bytes (shorter than, as long as, longer than the 64-byte block) and
 * messages of 0 to 300 bytes, against OpenSSL's HMAC */
static void test_hmac_differential(void **state)
{
	(void)state;
	unsigned char key[200], msg[300], d[32], want[32];
	uint64_t seed = 777;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)rnd(&seed);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)rnd(&seed);
	FOR_EACH_PATH(p)
	{
		for (size_t kl = 0; kl <= sizeof(key); kl++) {
			size_t ml = (kl * 37) % (sizeof(msg) + 1);
			ossl_hmac(key, kl, msg, ml, want);
			assert_int_equal(xp_hmac_sha256(key, kl, msg, ml, d), 0);
			if (memcmp(d, want, 32) != 0)
				fail_msg("%s: HMAC with a %zu-byte key over %zu bytes differs",
					 p->name, kl, ml);
		}
		assert_int_equal(xp_hmac_sha256(key, 0, NULL, 0, d), 0);
		ossl_hmac(key, 0, "", 0, want);
		assert_memory_equal(d, want, 32);
	}
	use_auto();
}

static void test_mem_equal_ct(void **state)
{
	(void)state;
	char a[64], b[64];
	memset(a, 'x', sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(xp_mem_equal_ct(a, b, sizeof(a)));
	assert_true(xp_mem_equal_ct(a, b, 0));
	for (size_t i = 0; i < sizeof(b); i++) {
		b[i] ^= 1;
		assert_false(xp_mem_equal_ct(a, b, sizeof(a)));
		assert_true(xp_mem_equal_ct(a, b, i)); /* the difference past len */
		b[i] ^= (char)0x81;		       /* the top bit alone */
		assert_false(xp_mem_equal_ct(a, b, sizeof(a)));
		b[i] = a[i];
	}
}

/* ---- base64 ------------------------------------------------------------------------------ */

static void test_base64(void **state)
{
	(void)state;
	/* RFC 4648 section 10 */
	static const struct {
		const char *in, *out;
	} ok[] = {
	    {"", ""},
	    {"Zg==", "f"},
	    {"Zm8=", "fo"},
	    {"Zm9v", "foo"},
	    {"Zm9vYg==", "foob"},
	    {"Zm9vYmE=", "fooba"},
	    {"Zm9vYmFy", "foobar"},
	};
	unsigned char out[64];
	for (size_t i = 0; i < N(ok); i++) {
		size_t n = strlen(ok[i].in);
		ssize_t r = xp_base64_decode(ok[i].in, n, out);
		assert_int_equal(r, strlen(ok[i].out));
		assert_true(r <= (ssize_t)XP_BASE64_DECODED_MAX(n));
		assert_memory_equal(out, ok[i].out, (size_t)r);
	}
	/* every byte value, and '+' and '/' */
	static const char all[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
				  "LS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZ"
				  "WltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWG"
				  "h4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKz"
				  "tLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g"
				  "4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";
	unsigned char bytes[256];
	assert_int_equal(xp_base64_decode(all, sizeof(all) - 1, bytes), 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal(bytes[i], i);
	static const char *const bad[] = {
	    "Zm9v!A==", /* not of the alphabet */
	    "Zm9-",	/* base64url's, not base64's */
	    "Zm9_",	"Zm 9v",     "Zm9v\n", "Zm9vYmFy\r\n",
	    " Zm9v",	"Zg=",				   /* padding short of the group */
	    "Zg",					   /* no padding */
	    "Zm9",					   /* truncated */
	    "Z",	"Zm9vY",     "Zm9vYg", "Z===",	   /* a group of one character */
	    "====",	"=Zm9",	     "Zm=v",   "Zg==Zg==", /* padding not at the end */
	    "Zm9v=",	"Zm9vYg===",			   /* too much */
	    "Zh==",					   /* pad bits not zero (section 3.5) */
	    "Zm9=",
	};
	for (size_t i = 0; i < N(bad); i++)
		if (xp_base64_decode(bad[i], strlen(bad[i]), out) != -EBADMSG)
			fail_msg("'%s' was not refused", bad[i]);
	/* a NUL inside */
	assert_int_equal(xp_base64_decode("Zm\0v", 4, out), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fips_vectors),
	    cmocka_unit_test(test_differential),
	    cmocka_unit_test(test_paths_agree_on_large),
#ifdef XP_TEST_HOOKS
	    cmocka_unit_test(test_choice),
	    cmocka_unit_test(test_switch_between_paths),
#endif
	    cmocka_unit_test(test_hmac_rfc4231),
	    cmocka_unit_test(test_hmac_differential),
	    cmocka_unit_test(test_mem_equal_ct),
	    cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
