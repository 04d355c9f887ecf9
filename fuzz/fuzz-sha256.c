/*
 * fuzz-sha256.c - libFuzzer target for xenprov's own SHA-256, HMAC-SHA256
 * (util/sha256.c) and base64 decoder (util/base64.c), each against a reference: OpenSSL's
 * libcrypto (linked into this target alone) for the hashes, a bit-at-a-time decoder
 * written here from RFC 4648 for base64.
 *
 * The input is the message; its first 8 bytes also seed the cuts it is fed in (pieces of
 * 0 to 200 bytes) and choose the HMAC key's length (a prefix of the input). Every input
 * runs through each way this machine has (the SHA extensions, libcrypto loaded by the
 * library and the portable code, chosen through util/sha256-path.h where XP_TEST_HOOKS
 * is compiled in: the fuzz and dev presets). The input read as text must decode exactly as the reference decodes it, or
 * be refused by both.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/sha256-path.h"
#include "xenprov/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check_hashes(const uint8_t *data, size_t size, uint64_t seed)
{
	unsigned char want[32], d[32];
	unsigned n = 0;
	if (EVP_Digest(data, size, want, &n, EVP_sha256(), NULL) != 1 || n != 32)
		abort();
	if (xp_sha256(data, size, d) != 0 || memcmp(d, want, 32) != 0)
		abort();
	struct xp_sha256 *h;
	if (xp_sha256_new(&h) != 0)
		abort();
	for (size_t off = 0; off < size;) {
		size_t piece = (size_t)(rnd(&seed) % 201);
		if (piece > size - off)
			piece = size - off;
		xp_sha256_add(h, data + off, piece);
		off += piece;
	}
	if (xp_sha256_final(h, d) != 0 || memcmp(d, want, 32) != 0)
		abort();
	xp_sha256_free(h);
	size_t keylen = (size_t)(seed % 150);
	if (keylen > size)
		keylen = size;
	if (!HMAC(EVP_sha256(), data, (int)keylen, data + keylen, size - keylen, want, &n) ||
	    n != 32)
		abort();
	if (xp_hmac_sha256(data, keylen, data + keylen, size - keylen, d) != 0 ||
	    memcmp(d, want, 32) != 0)
		abort();
}

/* RFC 4648 section 4 the plain way: six bits a character into a bit accumulator, a
 * byte out whenever eight are there; the '=' at the end stand for the bits left over,
 * which must be zero */
static ssize_t ref_base64(const char *s, size_t n, unsigned char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (n % 4)
		return -EBADMSG;
	size_t pads = 0;
	while (pads < 2 && pads < n && s[n - 1 - pads] == '=')
		pads++;
	unsigned acc = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n - pads; i++) {
		const char *at = s[i] ? memchr(alphabet, s[i], 64) : NULL;
		if (!at)
			return -EBADMSG;
		acc = (acc << 6 | (unsigned)(at - alphabet)) & 0xfff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits != 2 * pads || (acc & ((1u << bits) - 1)) != 0)
		return -EBADMSG;
	return (ssize_t)o;
}

static void check_base64(const uint8_t *data, size_t size)
{
	unsigned char *a = malloc(XP_BASE64_DECODED_MAX(size) + 1);
	unsigned char *b = malloc(XP_BASE64_DECODED_MAX(size) + 1);
	if (!a || !b)
		abort();
	ssize_t ra = xp_base64_decode((const char *)data, size, a);
	ssize_t rb = ref_base64((const char *)data, size, b);
	if (ra != rb || (ra > 0 && memcmp(a, b, (size_t)ra) != 0))
		abort();
	if (ra > (ssize_t)XP_BASE64_DECODED_MAX(size))
		abort();
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = 0x2545f4914f6cdd1du;
	for (size_t i = 0; i < size && i < 8; i++)
		seed = seed * 131 + data[i];
	if (!seed)
		seed = 1;
#ifdef XP_TEST_HOOKS
	static const enum xp__sha256_path paths[] = {XP__SHA256_SHANI, XP__SHA256_LIBCRYPTO,
						     XP__SHA256_PORTABLE};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (xp__sha256_test_path(paths[i]) == 0)
			check_hashes(data, size, seed);
	xp__sha256_test_path(XP__SHA256_AUTO);
#else
	check_hashes(data, size, seed);
#endif
	check_base64(data, size);
	return 0;
}
