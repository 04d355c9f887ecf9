/*
 * sha256.c - SHA-256 (FIPS 180-4) through OpenSSL's libcrypto, for content hashes (the
 * golden image cache keys): buffers and whole files, as hex; bytes as they come (a
 * download hashed while it arrives); and HMAC-SHA256 (RFC 2104) for tokens derived
 * from a secret key.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "xenprov/util.h"

int xp_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned n = 0;
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -EIO;
	return 0;
}

int xp_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		   unsigned char out[32])
{
	unsigned n = 0;
	if (keylen > INT_MAX || !HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) ||
	    n != 32)
		return -EIO;
	return 0;
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

struct xp_sha256 {
	EVP_MD_CTX *ctx;
};

int xp_sha256_new(struct xp_sha256 **ret)
{
	struct xp_sha256 *h = calloc(1, sizeof(*h));
	*ret = NULL;
	if (!h || !(h->ctx = EVP_MD_CTX_new()) || xp_sha256_restart(h) < 0) {
		xp_sha256_free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

int xp_sha256_restart(struct xp_sha256 *h)
{
	return EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

int xp_sha256_add(struct xp_sha256 *h, const void *data, size_t len)
{
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -EIO;
}

/* libcrypto uses the CPU's SHA instructions (SHA-NI, ARMv8 SHA2) where there are some:
 * a golden image's archive is hashed by every build and deploy that uses it. */
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
		r = xp_sha256_add(h, buf, (size_t)n);
	}
	free(buf);
	return r;
}

int xp_sha256_final(struct xp_sha256 *h, unsigned char out[32])
{
	unsigned len = 0;
	return EVP_DigestFinal_ex(h->ctx, out, &len) == 1 && len == 32 ? 0 : -EIO;
}

void xp_sha256_free(struct xp_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
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
		r = xp_sha256_add(h, buf, (size_t)n);
	}
	if (r == 0)
		r = xp_sha256_final(h, out);
	xp_sha256_free(h);
	free(buf);
	return r;
}
