/*
 * fuzz-tftp-pkt.c - libFuzzer target for the TFTP packet readers and the filename gate
 * (tftp-pkt.c). Beyond "no crash", it checks: a parsed request's filename is a C string
 * of at most 255 bytes and its option flags agree with the invalid bits; the request
 * check refuses WRQs; every errno maps to an ERROR packet of bounded length; the gate's
 * output is relative, without "..", "." or empty components, printable, no longer than
 * the input, and a fixed point (checking it again gives it back); netascii's length
 * function agrees with the encoder.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/tftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_gate(const char *name, size_t len)
{
	char out[XP_TFTP_NAME_MAX + 1], again[XP_TFTP_NAME_MAX + 1];
	int r = xp_tftp_path_check(name, len, out, sizeof out);
	if (r == -EINVAL || r == -EACCES)
		return;
	if (r < 0 || (size_t)r > len || strlen(out) != (size_t)r || r == 0)
		abort();
	if (out[0] == '/' || out[r - 1] == '/' || strstr(out, "//"))
		abort();
	for (const char *c = out; *c;) {
		size_t cl = strcspn(c, "/");
		if ((cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
			abort();
		for (size_t i = 0; i < cl; i++)
			if ((unsigned char)c[i] < 0x20 || (unsigned char)c[i] >= 0x7f ||
			    c[i] == '\\')
				abort();
		c += cl;
		if (*c == '/')
			c++;
	}
	if (xp_tftp_path_check(out, (size_t)r, again, sizeof again) != r || strcmp(out, again) != 0)
		abort();
	/* one byte too few for the output: -ENOSPC, never an overflow */
	char *tight = malloc((size_t)r);
	if (!tight || xp_tftp_path_check(name, len, tight, (size_t)r) != -ENOSPC)
		abort();
	free(tight);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ebuf[256];

	struct xp_tftp_request rq;
	int r = xp_tftp_parse_request(data, size, &rq);
	if (memchr(rq.filename, '\0', sizeof rq.filename) == NULL)
		abort();
	if (r == 0) {
		if (rq.opcode != XP_TFTP_RRQ && rq.opcode != XP_TFTP_WRQ)
			abort();
		if ((rq.has_blksize && (rq.invalid & XP_TFTP_OPT_BLKSIZE)) ||
		    (rq.has_tsize && (rq.invalid & XP_TFTP_OPT_TSIZE)) ||
		    (rq.has_timeout && (rq.invalid & XP_TFTP_OPT_TIMEOUT)) ||
		    (rq.has_windowsize && (rq.invalid & XP_TFTP_OPT_WINDOWSIZE)))
			abort();
		int c = xp_tftp_request_check(&rq, NULL);
		if (rq.opcode == XP_TFTP_WRQ && c != -EROFS)
			abort();
		if (c != 0 && c != -EROFS && c != -EOPNOTSUPP)
			abort();
		if (c < 0) {
			size_t n = xp_tftp_build_errno(ebuf, sizeof ebuf, c);
			if (n < 5 || n > XP_TFTP_ERROR_MAX || ebuf[n - 1] != 0)
				abort();
		}
		check_gate(rq.filename, strlen(rq.filename));
	} else if (r != -EBADMSG && r != -EPROTO && r != -ENAMETOOLONG && r != -EPROTONOSUPPORT) {
		abort();
	}
	size_t n = xp_tftp_build_errno(ebuf, sizeof ebuf, r);
	if (n < 5 || n > XP_TFTP_ERROR_MAX)
		abort();

	struct xp_tftp_packet pk;
	r = xp_tftp_parse_packet(data, size, &pk);
	if (r >= 0) {
		if (r != XP_TFTP_DATA && r != XP_TFTP_ACK && r != XP_TFTP_ERROR)
			abort();
		if (r == XP_TFTP_DATA && pk.datalen != size - 4)
			abort();
		if (r == XP_TFTP_ERROR && pk.msglen > size - 4)
			abort();
	} else if (r != -EBADMSG && r != -EPROTO) {
		abort();
	}

	/* the raw input as a name, as the socket layer could hand it */
	check_gate((const char *)data, size);

	/* netascii */
	if (size <= 1024) {
		uint8_t out[2048];
		ssize_t e = xp_tftp_netascii_encode(data, size, out, sizeof out);
		if (e < 0 || (uint64_t)e != xp_tftp_netascii_len(data, size))
			abort();
		if (e > 0 && xp_tftp_netascii_encode(data, size, out, (size_t)e - 1) != -ENOSPC)
			abort();
	}
	return 0;
}
