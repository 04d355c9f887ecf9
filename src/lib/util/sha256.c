/*
 * sha256.c - SHA-256 (FIPS 180-4) of xenprov's own, for content hashes (the golden
 * image cache keys, manifests, every file a capture copies): buffers and whole files, as
 * hex; bytes as they come (a download hashed while it arrives); HMAC-SHA256 (RFC 2104)
 * for tokens derived from a secret key, and the constant-time comparison that checks
 * one.
 *
 * Two compressions of the same function: a portable one in C (FIPS 180-4 section 6.2.2)
 * and, on x86-64, one with the CPU's SHA extensions (SHA-NI: SHA256RNDS2, SHA256MSG1,
 * SHA256MSG2, as Intel's SDM defines them), chosen once a process by CPUID. Not
 * libcrypto: linking it cost every start of xenprov ~10 ms of loading and relocating
 * 4.7 MB, and its configuration file read at the first use (docs/ARCHITECTURE.md,
 * "Build").
 *
 * Not here: base64 (base64.c); digests read back are only checked (xp_sha256_hex_valid).
 */
#include <errno.h>
#include <fcntl.h>
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

#include "util/sha256-path.h"
#include "xenprov/util.h"

/* A compression: n 64-byte blocks at p into the state h (a..h of section 6.2). */
typedef void blocks_fn(uint32_t h[8], const unsigned char *p, size_t n);

struct xp_sha256 {
	uint32_t h[8];
	uint64_t bytes;	       /* added so far */
	unsigned char buf[64]; /* the block begun: bytes % 64 of it */
	blocks_fn *blocks;
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

/* The compression of this CPU, found once (CPUID may trap to a hypervisor: not once a
 * hash): a fact about the machine written the same by every thread that races to it,
 * not state. The tests' hook (sha256-path.h) may set it. */
static _Atomic(blocks_fn *) chosen;

static blocks_fn *best(void)
{
#ifdef XP_SHA256_SHANI
	if (cpu_has_shani())
		return blocks_shani;
#endif
	return blocks_portable;
}

static blocks_fn *blocks(void)
{
	blocks_fn *f = atomic_load_explicit(&chosen, memory_order_relaxed);
	if (!f) {
		f = best();
		atomic_store_explicit(&chosen, f, memory_order_relaxed);
	}
	return f;
}

#ifdef XP_TEST_HOOKS
int xp__sha256_test_path(enum xp__sha256_path path)
{
	blocks_fn *f = best();
	switch (path) {
	case XP__SHA256_AUTO:
		break;
	case XP__SHA256_PORTABLE:
		f = blocks_portable;
		break;
	case XP__SHA256_SHANI:
#ifdef XP_SHA256_SHANI
		if (f == blocks_shani)
			break;
#endif
		return -ENOTSUP;
	default:
		return -EINVAL;
	}
	atomic_store_explicit(&chosen, f, memory_order_relaxed);
	return 0;
}
#endif

/* ---- the hash: padding and lengths (sections 5.1.1, 6.2) ---------------------------- */

static void start(struct xp_sha256 *s)
{
	memcpy(s->h, H0, sizeof(s->h));
	s->bytes = 0;
	s->blocks = blocks();
}

static void add(struct xp_sha256 *s, const unsigned char *p, size_t len)
{
	if (len == 0)
		return; /* p may be NULL */
	size_t have = (size_t)(s->bytes % 64);
	s->bytes += len;
	if (have) {
		size_t take = 64 - have < len ? 64 - have : len;
		memcpy(s->buf + have, p, take);
		p += take, len -= take;
		if (have + take < 64)
			return;
		s->blocks(s->h, s->buf, 1);
	}
	if (len >= 64) {
		s->blocks(s->h, p, len / 64);
		p += len / 64 * 64;
		len %= 64;
	}
	if (len)
		memcpy(s->buf, p, len);
}

/* a 1 bit, zeros to 56 bytes mod 64, the length in bits as 64 bits big-endian */
static void finish(struct xp_sha256 *s, unsigned char out[32])
{
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
	start(s);
}

int xp_sha256(const void *data, size_t len, unsigned char out[32])
{
	struct xp_sha256 s;
	start(&s);
	add(&s, data, len);
	finish(&s, out);
	return 0;
}

/* RFC 2104 section 2, B = 64: a key longer than a block is hashed first; then
 * H(K ^ opad, H(K ^ ipad, text)). The key's copies are wiped. */
int xp_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		   unsigned char out[32])
{
	unsigned char k[64] = {0}, pad[64], inner[32];
	if (keylen > sizeof(k))
		xp_sha256(key, keylen, k);
	else if (keylen)
		memcpy(k, key, keylen);
	struct xp_sha256 s;
	start(&s);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	add(&s, pad, sizeof(pad));
	add(&s, data, len);
	finish(&s, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	add(&s, pad, sizeof(pad));
	add(&s, inner, sizeof(inner));
	finish(&s, out);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(&s, sizeof(s));
	return 0;
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
	add(h, data, len);
	return 0;
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
		add(h, buf, (size_t)n);
	}
	free(buf);
	return r;
}

int xp_sha256_final(struct xp_sha256 *h, unsigned char out[32])
{
	finish(h, out);
	return 0;
}

void xp_sha256_free(struct xp_sha256 *h)
{
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
		add(h, buf, (size_t)n);
	}
	if (r == 0)
		r = xp_sha256_final(h, out);
	xp_sha256_free(h);
	free(buf);
	return r;
}
