/*
 * fuzz-pxe-client.c - libFuzzer target for the network bootloader's client engines:
 * what a DHCP server or a TFTP server sends them (proto/dhcp-client.c,
 * proto/tftp-client.c). The input is a sequence of datagrams, each a 2-byte length
 * then its bytes; the first byte chooses the engine. Beyond "no crash", it checks: the
 * DHCP client binds only to an address it was offered by the server it asked, and
 * its lease's strings are terminated; the TFTP client hands the sink bytes only in
 * order, never beyond the block size a window, never more than its limit, and its
 * state and errno agree.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/dhcp-client.h"
#include "xenprov/tftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink_state {
	uint64_t next;
};

static int sink(void *ctx, uint64_t off, const void *d, size_t len)
{
	struct sink_state *s = ctx;
	(void)d;
	if (off != s->next || len > 1468 || off + len > 100000)
		abort();
	s->next = off + len;
	return 0;
}

static void dhcp(const uint8_t *p, size_t size)
{
	struct xp_dhcp_client_opts o = {.mac = {0, 0x16, 0x3e, 1, 2, 3}, .xid = 0x01020304};
	struct xp_dhcp_client *c;
	if (xp_dhcp_client_new(&o, 0, &c) < 0)
		abort();
	uint8_t buf[1500];
	int64_t now = 0;
	while (size >= 2) {
		size_t n = (size_t)p[0] << 8 | p[1];
		p += 2, size -= 2;
		if (n > size)
			n = size;
		(void)xp_dhcp_client_next(c, buf, sizeof buf, now);
		(void)xp_dhcp_client_input(c, p, n, now);
		p += n, size -= n;
		now += 300;
	}
	const struct xp_dhcp_client_lease *l = xp_dhcp_client_lease(c);
	if (l) {
		if (!l->ip || !l->server_id || strnlen(l->file, sizeof l->file) == sizeof l->file ||
		    strnlen(l->hostname, sizeof l->hostname) == sizeof l->hostname ||
		    strnlen(l->pxe_prefix, sizeof l->pxe_prefix) == sizeof l->pxe_prefix)
			abort();
		if (xp_dhcp_client_release(c, buf, sizeof buf) <= 0)
			abort();
	}
	xp_dhcp_client_free(c);
}

static void tftp(const uint8_t *p, size_t size)
{
	struct sink_state st = {0};
	struct xp_tftp_sink s = {sink, &st};
	struct xp_tftp_client_opts o = {.filename = "k", .blksize = 1468, .windowsize = 8,
					.tsize = true, .max_size = 100000};
	struct xp_tftp_client *c;
	if (xp_tftp_client_new(&o, &s, 0, &c) < 0)
		abort();
	uint8_t buf[600];
	int64_t now = 0;
	(void)xp_tftp_client_next(c, buf, sizeof buf, now);
	while (size >= 2) {
		size_t n = (size_t)p[0] << 8 | p[1];
		p += 2, size -= 2;
		if (n > size)
			n = size;
		(void)xp_tftp_client_input(c, p, n, now);
		while (xp_tftp_client_next(c, buf, sizeof buf, now) > 0)
			;
		p += n, size -= n;
		now += 700;
	}
	enum xp_tftp_state state = xp_tftp_client_state(c);
	if ((state == XP_TFTP_FAILED) != (xp_tftp_client_errno(c) != 0) && state != XP_TFTP_RUNNING)
		abort();
	if (xp_tftp_client_bytes(c) != st.next)
		abort();
	xp_tftp_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		tftp(data + 1, size - 1);
	else
		dhcp(data + 1, size - 1);
	return 0;
}
