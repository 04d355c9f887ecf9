/*
 * sha256.c - SHA-256 (FIPS 180-4) of xenprov's own, for content hashes (the golden
 * image cache keys, manifests, every file a capture copies): buffers and whole files, as
 * hex; bytes as they come (a download hashed while it arrives); HMAC-SHA256 (RFC 2104)
 * for tokens derived from a secret key, and the constant-time comparison that checks
 * one.
 *
 * Three ways of computing it, chosen once a process (docs/ARCHITECTURE.md, "Hashing"):
 *  1. the CPU's SHA extensions on x86-64 (SHA-NI: SHA256RNDS2, SHA256MSG1, SHA256MSG2,
 *     as Intel's SDM defines them), found by CPUID: as fast as OpenSSL's, and no
 *     libcrypto to load;
 *  2. else libcrypto's EVP SHA-256 (AVX2/SSSE3 assembly, ~2x the portable C), loaded at
 *     the first hash (dlopen, util/dlib.h): linked, it cost every start of xenprov
 *     ~10 ms of loading and relocating 4.7 MB and its configuration file;
 *  3. else (libcrypto cannot be loaded) the portable compression in C (FIPS 180-4
 *     section 6.2.2).
 * HMAC is built here on whichever it is (the same digest by any).
 *
 * Not here: base64 (base64.c); digests read back are only checked (xp_sha256_hex_valid).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define XP_SHA256_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#include <openssl/evp.h>

#include "util/dlib.h"
#include "util/sha256-path.h"
#include "xenprov/util.h"

/* A compression: n 64-byte blocks at p into the state h (a..h of section 6.2). */
typedef void blocks_fn(uint32_t h[8], const unsigned char *p, size_t n);

struct xp_sha256 {
	uint32_t h[8];
	uint64_t bytes;	       /* added so far */
	unsigned char buf[64]; /* the block begun: bytes % 64 of it */
	blocks_fn *blocks;     /* NULL: libcrypto's, in ctx */
	int way;	       /* enum path: the one this hash began with, which finish
				* begins again with (not the process's: a fallback stays one) */
	EVP_MD_CTX *ctx;       /* libcrypto's state, kept across restarts once made */
	int err;	       /* -EIO once libcrypto failed this hash: final says so */
};

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the cube roots
 * of the first 64 primes */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* section 5.3.3: the square roots of the first 8 primes */
static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* ---- the portable compression (section 6.2.2) ---------------------------------------- */

static inline uint32_t rotr(uint32_t x, unsigned n)
{
	return x >> n | x << (32 - n);
}

static inline uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The schedule is kept as a ring of 16 words (W[t] computed in place of W[t-16]); the
 * eight working variables rotate through the round macro's arguments instead of being
 * moved, eight rounds an unrolled step. */
#define S0(x)	     (rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22))
#define S1(x)	     (rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25))
#define s0(x)	     (rotr(x, 7) ^ rotr(x, 18) ^ (x) >> 3)
#define s1(x)	     (rotr(x, 17) ^ rotr(x, 19) ^ (x) >> 10)
#define CH(x, y, z)  (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define ROUND(a, b, c, d, e, f, g, h, t, w)                                                        \
	do {                                                                                       \
		uint32_t t1_ = (h) + S1(e) + CH(e, f, g) + K[t] + (w);                             \
		uint32_t t2_ = S0(a) + MAJ(a, b, c);                                               \
		(d) += t1_;                                                                        \
		(h) = t1_ + t2_;                                                                   \
	} while (0)
/* W[t], t >= 16, in place of W[t-16] */
#define W16(t) (W[(t)&15] += s1(W[((t)-2) & 15]) + W[((t)-7) & 15] + s0(W[((t)-15) & 15]))
#define EIGHT(t, w)                                                                                \
	do {                                                                                       \
		ROUND(a, b, c, d, e, f, g, h, (t), w((t)));                                        \
		ROUND(h, a, b, c, d, e, f, g, (t) + 1, w((t) + 1));                                \
		ROUND(g, h, a, b, c, d, e, f, (t) + 2, w((t) + 2));                                \
		ROUND(f, g, h, a, b, c, d, e, (t) + 3, w((t) + 3));                                \
		ROUND(e, f, g, h, a, b, c, d, (t) + 4, w((t) + 4));                                \
		ROUND(d, e, f, g, h, a, b, c, (t) + 5, w((t) + 5));                                \
		ROUND(c, d, e, f, g, h, a, b, (t) + 6, w((t) + 6));                                \
		ROUND(b, c, d, e, f, g, h, a, (t) + 7, w((t) + 7));                                \
	} while (0)
#define W0(t) W[t]

static void blocks_portable(uint32_t hs[8], const unsigned char *p, size_t n)
{
	for (; n > 0; n--, p += 64) {
		uint32_t W[16];
		for (int i = 0; i < 16; i++)
			W[i] = be32(p + 4 * i);
		uint32_t a = hs[0], b = hs[1], c = hs[2], d = hs[3], e = hs[4], f = hs[5],
			 g = hs[6], h = hs[7];
		EIGHT(0, W0);
		EIGHT(8, W0);
		for (int t = 16; t < 64; t += 8)
			EIGHT(t, W16);
		hs[0] += a, hs[1] += b, hs[2] += c, hs[3] += d;
		hs[4] += e, hs[5] += f, hs[6] += g, hs[7] += h;
	}
}

/* ---- the SHA extensions (x86-64) ----------------------------------------------------- */

#ifdef XP_SHA256_SHANI
/*
 * The instructions, as the SDM (vol. 2, SHA256RNDS2, SHA256MSG1, SHA256MSG2) defines
 * them, dwords named from the lowest:
 *  - SHA256RNDS2(cdgh, abef, wk): two rounds. abef holds {F, E, B, A}, cdgh {H, G, D, C};
 *    wk's two low dwords are W[t] + K[t] and W[t+1] + K[t+1]. The result is the new
 *    {F, E, B, A}; the new {H, G, D, C} is the old {F, E, B, A} (two rounds shift each
 *    variable two places), so the two registers swap roles every call.
 *  - SHA256MSG1(x, y), x = W[t-16..t-13], y = W[t-12..t-9]: W[t-16+i] + s0(W[t-15+i]),
 *    i = 0..3.
 *  - SHA256MSG2(x, y), y = W[t-4..t-1]: W[t] = x0 + s1(W[t-2]), W[t+1] = x1 +
 *    s1(W[t-1]), W[t+2] = x2 + s1(W[t]), W[t+3] = x3 + s1(W[t+1]); so x must be
 *    MSG1's result plus W[t-7..t-4] (section 6.2.2 step 1).
 * Four message words a register: W[4i..4i+3] in m(i mod 4); 16 groups of four rounds.
 */
#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* four rounds with the words of group i, swapping abef and cdgh twice (back) */
#define QROUND(i, m)                                                                               \
	do {                                                                                       \
		__m128i wk_ = _mm_add_epi32(m, _mm_loadu_si128((const __m128i *)&K[4 * (i)]));     \
		cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk_);                                     \
		abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk_, 0x0e));            \
	} while (0)
/* the next group's words into x, which held those of four groups before: x =
 * W[t-16..t-13], y = W[t-12..t-9], z = W[t-8..t-5], w = W[t-4..t-1]; PALIGNR(w, z, 4)
 * is W[t-7..t-4] */
#define SCHEDULE(x, y, z, w)                                                                       \
	((x) = _mm_sha256msg2_epu32(                                                               \
	     _mm_add_epi32(_mm_sha256msg1_epu32(x, y), _mm_alignr_epi8(w, z, 4)), w))

SHANI_TARGET static void blocks_shani(uint32_t hs[8], const unsigned char *p, size_t n)
{
	/* each dword's bytes reversed: the words are big-endian (section 3.1) */
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
	__m128i abef = _mm_set_epi32((int)hs[0], (int)hs[1], (int)hs[4], (int)hs[5]);
	__m128i cdgh = _mm_set_epi32((int)hs[2], (int)hs[3], (int)hs[6], (int)hs[7]);
	for (; n > 0; n--, p += 64) {
		__m128i abef0 = abef, cdgh0 = cdgh;
		__m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), bswap);
		__m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
		__m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
		__m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
		QROUND(0, m0);
		QROUND(1, m1);
		QROUND(2, m2);
		QROUND(3, m3);
		for (int i = 4; i < 16; i += 4) {
			SCHEDULE(m0, m1, m2, m3);
			QROUND(i, m0);
			SCHEDULE(m1, m2, m3, m0);
			QROUND(i + 1, m1);
			SCHEDULE(m2, m3, m0, m1);
			QROUND(i + 2, m2);
			SCHEDULE(m3, m0, m1, m2);
			QROUND(i + 3, m3);
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	hs[0] = (uint32_t)_mm_extract_epi32(abef, 3), hs[1] = (uint32_t)_mm_extract_epi32(abef, 2);
	hs[4] = (uint32_t)_mm_extract_epi32(abef, 1), hs[5] = (uint32_t)_mm_extract_epi32(abef, 0);
	hs[2] = (uint32_t)_mm_extract_epi32(cdgh, 3), hs[3] = (uint32_t)_mm_extract_epi32(cdgh, 2);
	hs[6] = (uint32_t)_mm_extract_epi32(cdgh, 1), hs[7] = (uint32_t)_mm_extract_epi32(cdgh, 0);
}

/* CPUID leaf 7 (subleaf 0) EBX bit 29: SHA; leaf 1 ECX bits 9 and 19: SSSE3 (PSHUFB,
 * PALIGNR) and SSE4.1 (PEXTRD), which the code above also uses. */
static bool cpu_has_shani(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & 1u << 9) || !(c & 1u << 19))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & 1u << 29);
}
#endif

/* ---- libcrypto (loaded at the first hash on a CPU without SHA extensions) ----------- */

/* X(name): the functions used, typed by OpenSSL's header */
#define EVP_FUNCS(X)                                                                               \
	X(EVP_MD_fetch)                                                                            \
	X(EVP_MD_CTX_new)                                                                          \
	X(EVP_MD_CTX_free)                                                                         \
	X(EVP_DigestInit_ex)                                                                       \
	X(EVP_DigestUpdate)                                                                        \
	X(EVP_DigestFinal_ex)                                                                      \
	X(EVP_Digest)
#define EVP_PTR(name) __typeof__(name) *name;
#define EVP_SYM(name) XP_DLSYM(name, f->name),

struct evp {
	EVP_FUNCS(EVP_PTR)
	const EVP_MD *md; /* SHA-256, fetched once (not at every init: OpenSSL 3 looks
			     an implicit fetch up under a lock) */
};

/* Loads soname into f: 0, or -ENOENT (not there, a function or SHA-256 missing). */
static int evp_open(const char *soname, struct evp *f)
{
	const struct xp_dlsym syms[] = {EVP_FUNCS(EVP_SYM)};
	char err[256];
	int r = xp_dlib_load(soname, syms, sizeof(syms) / sizeof(syms[0]), err, sizeof(err));
	if (r < 0)
		return r;
	f->md = f->EVP_MD_fetch(NULL, "SHA256", NULL);
	return f->md ? 0 : -ENOENT;
}

/* Written once, by evp_load under pthread_once, then only read. */
static struct evp evp;
static bool evp_ok;
static pthread_once_t evp_once = PTHREAD_ONCE_INIT;

static void evp_load(void)
{
	struct evp f;
	if (evp_open(XP_LIBCRYPTO_SONAME, &f) == 0) {
		evp = f;
		evp_ok = true;
	}
}

/* Whether libcrypto is loaded: tried once a process, non-fatal (the portable code
 * computes the same) */
static bool libcrypto(void)
{
	pthread_once(&evp_once, evp_load);
	return evp_ok;
}

/* ---- the choice ------------------------------------------------------------------------- */

enum path { PATH_UNSET, PATH_PORTABLE, PATH_SHANI, PATH_LIBCRYPTO };

static bool shani(void)
{
#ifdef XP_SHA256_SHANI
	return cpu_has_shani();
#else
	return false;
#endif
}

/* In order: the SHA extensions, libcrypto, the portable code. has_libcrypto is called
 * only without the SHA extensions, so that a CPU with them never loads libcrypto. */
static enum path best(bool with_shani, bool (*has_libcrypto)(void))
{
	if (with_shani && shani())
		return PATH_SHANI;
	if (has_libcrypto())
		return PATH_LIBCRYPTO;
	return PATH_PORTABLE;
}

/* The path of this CPU, found once (CPUID may trap to a hypervisor, a dlopen is a
 * dlopen: not once a hash): a fact about the machine written the same by every thread
 * that races to it, not state. The tests' hook (sha256-path.h) may set it. Release and
 * acquire: a thread that reads PATH_LIBCRYPTO without having been through evp_once
 * itself sees the pointers evp_load wrote before the store (free on x86). */
static _Atomic int chosen;

static enum path path(void)
{
	int p = atomic_load_explicit(&chosen, memory_order_acquire);
	if (p == PATH_UNSET) {
		p = (int)best(true, libcrypto);
		atomic_store_explicit(&chosen, p, memory_order_release);
	}
	return (enum path)p;
}

const char *xp_sha256_path(void)
{
	switch (path()) {
	case PATH_SHANI:
		return "sha-ni";
	case PATH_LIBCRYPTO:
		return "libcrypto";
	default:
		return "portable";
	}
}

#ifdef XP_TEST_HOOKS
/* libcrypto as a machine without it has it: a soname no system has, through the same
 * loader (a real dlopen failure) */
static bool no_libcrypto(void)
{
	struct evp f;
	return evp_open("libxenprov-test-absent.so.0", &f) == 0;
}

int xp__sha256_test_path(enum xp__sha256_path p)
{
	enum path to;
	switch (p) {
	case XP__SHA256_AUTO:
		to = best(true, libcrypto);
		break;
	case XP__SHA256_AUTO_NO_SHANI:
		to = best(false, libcrypto);
		break;
	case XP__SHA256_AUTO_NO_SHANI_NO_LIBCRYPTO:
		to = best(false, no_libcrypto);
		break;
	case XP__SHA256_PORTABLE:
		to = PATH_PORTABLE;
		break;
	case XP__SHA256_SHANI:
		if (!shani())
			return -ENOTSUP;
		to = PATH_SHANI;
		break;
	case XP__SHA256_LIBCRYPTO:
		if (!libcrypto())
			return -ENOTSUP;
		to = PATH_LIBCRYPTO;
		break;
	default:
		return -EINVAL;
	}
	atomic_store_explicit(&chosen, (int)to, memory_order_release);
	return 0;
}
#endif

/* ---- the hash: padding and lengths (sections 5.1.1, 6.2) ---------------------------- */

/* A hash begun by way p. libcrypto's context is made at the first start that needs it;
 * if it cannot be (out of memory), this hash is the portable code's: the same digest. */
static void start_by(struct xp_sha256 *s, enum path p)
{
	s->bytes = 0;
	s->err = 0;
	if (p == PATH_LIBCRYPTO) {
		if (!s->ctx)
			s->ctx = evp.EVP_MD_CTX_new();
		if (s->ctx && evp.EVP_DigestInit_ex(s->ctx, evp.md, NULL) == 1) {
			s->blocks = NULL;
			s->way = PATH_LIBCRYPTO;
			return;
		}
		p = PATH_PORTABLE;
	}
	s->way = (int)p;
	memcpy(s->h, H0, sizeof(s->h));
#ifdef XP_SHA256_SHANI
	s->blocks = p == PATH_SHANI ? blocks_shani : blocks_portable;
#else
	s->blocks = blocks_portable;
#endif
}

static void start(struct xp_sha256 *s)
{
	start_by(s, path());
}

/* libcrypto's context, if one was made (it wipes the state it frees) */
static void release(struct xp_sha256 *s)
{
	if (s->ctx)
		evp.EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

/* 0, or -EIO once libcrypto failed this hash (it does not for SHA-256 in practice) */
static int add(struct xp_sha256 *s, const unsigned char *p, size_t len)
{
	if (len == 0)
		return s->err; /* p may be NULL */
	if (!s->blocks) {
		if (s->err == 0 && evp.EVP_DigestUpdate(s->ctx, p, len) != 1)
			s->err = -EIO;
		return s->err;
	}
	size_t have = (size_t)(s->bytes % 64);
	s->bytes += len;
	if (have) {
		size_t take = 64 - have < len ? 64 - have : len;
		memcpy(s->buf + have, p, take);
		p += take, len -= take;
		if (have + take < 64)
			return 0;
		s->blocks(s->h, s->buf, 1);
	}
	if (len >= 64) {
		s->blocks(s->h, p, len / 64);
		p += len / 64 * 64;
		len %= 64;
	}
	if (len)
		memcpy(s->buf, p, len);
	return 0;
}

/* a 1 bit, zeros to 56 bytes mod 64, the length in bits as 64 bits big-endian; then
 * begun again. 0, or add's -EIO (out not written). */
static int finish(struct xp_sha256 *s, unsigned char out[32])
{
	if (!s->blocks) {
		int r = s->err;
		if (r == 0 && evp.EVP_DigestFinal_ex(s->ctx, out, NULL) != 1)
			r = -EIO;
		start_by(s, (enum path)s->way);
		return r;
	}
	uint64_t bits = s->bytes * 8;
	size_t have = (size_t)(s->bytes % 64);
	s->buf[have++] = 0x80;
	if (have > 56) {
		memset(s->buf + have, 0, 64 - have);
		s->blocks(s->h, s->buf, 1);
		have = 0;
	}
	memset(s->buf + have, 0, 56 - have);
	for (int i = 0; i < 8; i++)
		s->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	s->blocks(s->h, s->buf, 1);
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 4; k++)
			out[4 * i + k] = (unsigned char)(s->h[i] >> (24 - 8 * k));
	start_by(s, (enum path)s->way);
	return 0;
}

int xp_sha256(const void *data, size_t len, unsigned char out[32])
{
	enum path p = path();
	/* libcrypto's one call (no context of ours to make); if it fails, the portable
	 * code gives the same digest */
	if (p == PATH_LIBCRYPTO && evp.EVP_Digest(data, len, out, NULL, evp.md, NULL) == 1)
		return 0;
	struct xp_sha256 s = {0};
	start_by(&s, p == PATH_LIBCRYPTO ? PATH_PORTABLE : p);
	add(&s, data, len);
	return finish(&s, out);
}

/* RFC 2104 section 2, B = 64: a key longer than a block is hashed first; then
 * H(K ^ opad, H(K ^ ipad, text)), by way p. The key's copies are wiped. */
static int hmac_by(enum path p, const void *key, size_t keylen, const void *data, size_t len,
		   unsigned char out[32])
{
	unsigned char k[64] = {0}, pad[64], inner[32];
	if (keylen > sizeof(k))
		xp_sha256(key, keylen, k);
	else if (keylen)
		memcpy(k, key, keylen);
	struct xp_sha256 s = {0};
	start_by(&s, p);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	add(&s, pad, sizeof(pad));
	add(&s, data, len);
	int r = finish(&s, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	add(&s, pad, sizeof(pad));
	add(&s, inner, sizeof(inner));
	if (r == 0)
		r = finish(&s, out);
	release(&s);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(inner, sizeof(inner));
	explicit_bzero(&s, sizeof(s));
	return r;
}

int xp_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		   unsigned char out[32])
{
	enum path p = path();
	if (hmac_by(p, key, keylen, data, len, out) == 0)
		return 0;
	return hmac_by(PATH_PORTABLE, key, keylen, data, len, out); /* libcrypto failed */
}

/* Every byte is read whatever the first difference, and the compiler is kept from
 * concluding early from the accumulator (the empty asm: it may have changed). */
bool xp_mem_equal_ct(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	unsigned char acc = 0;
	for (size_t i = 0; i < len; i++) {
		acc |= (unsigned char)(x[i] ^ y[i]);
		__asm__("" : "+r"(acc));
	}
	return acc == 0;
}

void xp_sha256_hex(const unsigned char digest[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[64] = 0;
}

bool xp_sha256_hex_valid_n(const char *hex, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return false;
	return true;
}

bool xp_sha256_hex_valid(const char *hex)
{
	return hex && xp_sha256_hex_valid_n(hex, strnlen(hex, 65));
}

int xp_sha256_new(struct xp_sha256 **ret)
{
	struct xp_sha256 *h = calloc(1, sizeof(*h));
	*ret = h;
	if (!h)
		return -ENOMEM;
	start(h);
	return 0;
}

int xp_sha256_restart(struct xp_sha256 *h)
{
	start(h);
	return 0;
}

int xp_sha256_add(struct xp_sha256 *h, const void *data, size_t len)
{
	return add(h, data, len);
}

int xp_sha256_add_fd(struct xp_sha256 *h, int fd)
{
	static const size_t bufsz = 1 << 20;
	unsigned char *buf = malloc(bufsz);
	int r = buf ? 0 : -ENOMEM;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (r == 0) {
		ssize_t n = xp_read_some(fd, buf, bufsz);
		if (n <= 0) {
			r = (int)n;
			break;
		}
		r = add(h, buf, (size_t)n);
	}
	free(buf);
	return r;
}

int xp_sha256_final(struct xp_sha256 *h, unsigned char out[32])
{
	return finish(h, out);
}

void xp_sha256_free(struct xp_sha256 *h)
{
	if (!h)
		return;
	release(h);
	free(h);
}

int xp_sha256_fd(int fd, unsigned char out[32])
{
	struct xp_sha256 *h;
	int r = xp_sha256_new(&h);
	if (r == 0 && (r = xp_sha256_add_fd(h, fd)) == 0)
		r = xp_sha256_final(h, out);
	xp_sha256_free(h);
	return r;
}

int xp_sha256_file(const char *path, unsigned char out[32])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = xp_sha256_fd(fd, out);
	close(fd);
	return r;
}

int xp_sha256_fd_n(int fd, uint64_t max, unsigned char out[32])
{
	static const size_t bufsz = 1 << 20;
	struct xp_sha256 *h = NULL;
	unsigned char *buf = malloc(bufsz);
	int r = buf ? xp_sha256_new(&h) : -ENOMEM;
	while (r == 0 && max) {
		ssize_t n = xp_read_some(fd, buf, max < bufsz ? (size_t)max : bufsz);
		if (n <= 0) {
			r = n < 0 ? (int)n : -EIO; /* shorter than max */
			break;
		}
		max -= (uint64_t)n;
		r = add(h, buf, (size_t)n);
	}
	if (r == 0)
		r = xp_sha256_final(h, out);
	xp_sha256_free(h);
	free(buf);
	return r;
}
