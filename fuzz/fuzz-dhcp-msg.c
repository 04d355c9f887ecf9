/*
 * fuzz-dhcp-msg.c - libFuzzer target for the DHCP wire format (dhcp-msg.c).
 * Beyond "no crash": a rejected message always says why; an accepted one has merged
 * option data that add up, and rebuilt with the builder (long options split per RFC 3396,
 * overloaded areas moved into the options field) it parses back to the same header and
 * the same merged options; the typed getters agree with the raw option.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xp_dhcp_msg m, back;
static uint8_t out[XP_DHCP_OPT_MAX * 2 + 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int r = xp_dhcp_msg_parse(data, size, &m);
	if (r < 0) {
		if (r != -EBADMSG || !m.why)
			abort();
		return 0;
	}
	size_t total = 0;
	for (int c = 1; c < 255; c++) {
		size_t l = 0;
		const uint8_t *v = xp_dhcp_msg_option(&m, (uint8_t)c, &l);
		if (!v)
			continue;
		total += l;
		if (v < m.data || v + l > m.data + sizeof(m.data))
			abort();
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		if ((xp_dhcp_msg_u8(&m, (uint8_t)c, &u8) == 0) != (l == 1) ||
		    (xp_dhcp_msg_u16(&m, (uint8_t)c, &u16) == 0) != (l == 2) ||
		    (xp_dhcp_msg_ip(&m, (uint8_t)c, &u32) == 0) != (l == 4))
			abort();
	}
	if (total != m.used)
		abort();

	struct xp_dhcp_hdr h = m.h;
	if (m.overload & 1)
		memset(h.file, 0, sizeof(h.file));
	if (m.overload & 2)
		memset(h.sname, 0, sizeof(h.sname));
	struct xp_dhcp_build b;
	if (xp_dhcp_msg_build_init(&b, out, sizeof(out), &h) != 0)
		abort();
	for (int c = 1; c < 255; c++) {
		size_t l = 0;
		const uint8_t *v = xp_dhcp_msg_option(&m, (uint8_t)c, &l);
		if (v && c != 52 && xp_dhcp_msg_build_option(&b, (uint8_t)c, v, l) != 0)
			abort();
	}
	size_t len = xp_dhcp_msg_build_end(&b);
	if (xp_dhcp_msg_parse(out, len, &back) != 0)
		abort();
	if (memcmp(&back.h, &h, sizeof(h)) != 0 || back.overload != 0)
		abort();
	for (int c = 1; c < 255; c++) {
		if (c == 52)
			continue;
		size_t l1 = 0, l2 = 0;
		const uint8_t *v1 = xp_dhcp_msg_option(&m, (uint8_t)c, &l1);
		const uint8_t *v2 = xp_dhcp_msg_option(&back, (uint8_t)c, &l2);
		if (!v1 != !v2 || l1 != l2 || (v1 && l1 && memcmp(v1, v2, l1) != 0))
			abort();
	}
	return 0;
}
