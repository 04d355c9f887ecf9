/*
 * bench/sha256.c - bench-sha256: the throughput of xenprov's SHA-256 (util/sha256.c)
 * by each of its three ways (the x86-64 SHA extensions where the CPU has them,
 * libcrypto's EVP loaded by the library, the portable C), next to OpenSSL's EVP called
 * directly (linked into this program), in one run.
 *
 * The same 1 MiB of pseudo-random bytes is fed to one running hash in updates of 64 KiB
 * (a capture's copy hashes 256 KiB reads) and of 4 KiB (a small file), for 0.6 s a
 * round; five rounds of each, interleaved, the best kept (CLOCK_MONOTONIC); then
 * one-shot xp_sha256 of 64 bytes (a key, a short name), in hashes per second. Before
 * timing, each way's digest of every length 0..4096 is checked against OpenSSL's. Prints GB/s (10^9 bytes) and the ratio to OpenSSL (above 1: xenprov is
 * faster).
 *
 * sha256.c is compiled into this program with XP_TEST_HOOKS (the release library has
 * no way to pick the way), with the release build's flags otherwise. Its libcrypto is
 * the one linked here (the same soname: dlopen finds it loaded), so "libcrypto" less
 * "openssl" is what going through xenprov's context costs. On a CPU with the SHA
 * extensions, OpenSSL uses them too; OPENSSL_ia32cap=':~0x20000000' in the environment
 * masks them from OpenSSL alone (CPUID leaf 7 EBX bit 29; OpenSSL's own capability
 * variable), so that "libcrypto" is measured as a CPU without them runs it (AVX2 or
 * SSSE3 code), beside the portable code and the SHA extensions on the same machine.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "util/sha256-path.h"
#include "xenprov/util.h"

#define ROUNDS	5
#define ROUND_S 0.6
#define BUF	(1 << 20)

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum { PORTABLE, SHANI, LIBCRYPTO, OPENSSL, NIMPL };
static const char *const names[NIMPL] = {"portable", "sha-ni", "libcrypto", "openssl"};
static const enum xp__sha256_path hook[NIMPL] = {XP__SHA256_PORTABLE, XP__SHA256_SHANI,
						 XP__SHA256_LIBCRYPTO, XP__SHA256_AUTO};

/* bytes per second of one round of impl in updates of chunk bytes */
static double round_of(int impl, const unsigned char *buf, size_t chunk)
{
	size_t total = 0;
	double t0 = now(), t;
	if (impl == OPENSSL) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
			abort();
		do {
			for (size_t off = 0; off < BUF; off += chunk)
				EVP_DigestUpdate(c, buf + off, chunk);
			total += BUF;
		} while ((t = now() - t0) < ROUND_S);
		unsigned char d[32];
		unsigned n;
		EVP_DigestFinal_ex(c, d, &n);
		EVP_MD_CTX_free(c);
	} else {
		if (xp__sha256_test_path(hook[impl]) < 0)
			abort();
		struct xp_sha256 *h;
		if (xp_sha256_new(&h) < 0)
			abort();
		do {
			for (size_t off = 0; off < BUF; off += chunk)
				xp_sha256_add(h, buf + off, chunk);
			total += BUF;
		} while ((t = now() - t0) < ROUND_S);
		unsigned char d[32];
		xp_sha256_final(h, d);
		xp_sha256_free(h);
	}
	return (double)total / t;
}

/* one-shot hashes of 64 bytes per second, one round */
static double small_of(int impl, const unsigned char *buf)
{
	size_t n = 0;
	double t0 = now(), t;
	unsigned char d[32];
	if (impl != OPENSSL && xp__sha256_test_path(hook[impl]) < 0)
		abort();
	do {
		for (int i = 0; i < 1000; i++, n++)
			if (impl == OPENSSL)
				EVP_Digest(buf + (n & 1023), 64, d, NULL, EVP_sha256(), NULL);
			else
				xp_sha256(buf + (n & 1023), 64, d);
	} while ((t = now() - t0) < ROUND_S / 2);
	return (double)n / t;
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		puts("usage: bench-sha256");
		return 2;
	}
	unsigned char *buf = malloc(BUF);
	if (!buf)
		return 1;
	uint64_t s = 0x9e3779b97f4a7c15u;
	for (size_t i = 0; i < BUF; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		buf[i] = (unsigned char)s;
	}
	bool have[NIMPL] = {true, xp__sha256_test_path(XP__SHA256_SHANI) == 0,
			    xp__sha256_test_path(XP__SHA256_LIBCRYPTO) == 0, true};
	for (int impl = PORTABLE; impl < OPENSSL; impl++) {
		if (!have[impl])
			continue;
		xp__sha256_test_path(hook[impl]);
		for (size_t len = 0; len <= 4096; len++) {
			unsigned char a[32], b[32];
			unsigned n;
			xp_sha256(buf, len, a);
			if (EVP_Digest(buf, len, b, &n, EVP_sha256(), NULL) != 1 ||
			    memcmp(a, b, 32)) {
				fprintf(stderr,
					"bench-sha256: %s differs from OpenSSL at %zu bytes\n",
					names[impl], len);
				return 1;
			}
		}
	}
	if (!have[SHANI])
		puts("(this CPU has no SHA extensions: sha-ni not measured)");
	xp__sha256_test_path(XP__SHA256_AUTO);
	printf("chosen here: %s\n", xp_sha256_path());
	static const size_t chunks[] = {65536, 4096};
	for (size_t c = 0; c < 2; c++) {
		double best[NIMPL] = {0};
		for (int r = 0; r < ROUNDS; r++)
			for (int impl = 0; impl < NIMPL; impl++)
				if (have[impl]) {
					double v = round_of(impl, buf, chunks[c]);
					if (v > best[impl])
						best[impl] = v;
				}
		printf("SHA-256, %zu-byte updates, best of %d rounds of %.1f s:\n", chunks[c],
		       ROUNDS, ROUND_S);
		for (int impl = 0; impl < NIMPL; impl++)
			if (have[impl])
				printf("  %-9s %6.3f GB/s  %.3fx openssl\n", names[impl],
				       best[impl] / 1e9, best[impl] / best[OPENSSL]);
	}
	double best[NIMPL] = {0};
	for (int r = 0; r < ROUNDS; r++)
		for (int impl = 0; impl < NIMPL; impl++)
			if (have[impl]) {
				double v = small_of(impl, buf);
				if (v > best[impl])
					best[impl] = v;
			}
	printf("SHA-256, one-shot of 64 bytes, best of %d rounds of %.1f s:\n", ROUNDS,
	       ROUND_S / 2);
	for (int impl = 0; impl < NIMPL; impl++)
		if (have[impl])
			printf("  %-9s %6.2f M/s   %.3fx openssl\n", names[impl], best[impl] / 1e6,
			       best[impl] / best[OPENSSL]);
	xp__sha256_test_path(XP__SHA256_AUTO);
	free(buf);
	return 0;
}
