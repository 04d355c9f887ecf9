/*
 * fuzz-xl-vif.c - libFuzzer target for the vif= spec reader (vif-spec.c, mac.c).
 * Beyond "no crash", it checks the properties deploy relies on: an accepted spec writes
 * out canonically, the canonical spec reads back to an identical struct with no errors,
 * writing is stable, JSON is produced; the rate and MAC readers are run on the input
 * too, and a formatted rate reads back exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/mac.h"
#include "xenprov/xl-vif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > XP_VIF_SPEC_MAX + 16)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_vif v;
	int r = xp_vif_parse(s, &v, &d);
	if (r == 0) {
		struct xp_buf f = XP_BUF_INIT, j = XP_BUF_INIT;
		if (xp_vif_format(&v, &f) != 0)
			abort();
		if (xp_vif_to_json(&v, &j) != 0)
			abort();
		struct xp_vif back;
		/* The canonical form may be longer than the input (units, defaults), but
		 * never beyond the bound for inputs within it by much; skip if so. */
		if (f.len <= XP_VIF_SPEC_MAX) {
			if (xp_vif_parse(xp_buf_str(&f), &back, NULL) != 0)
				abort();
			if (!xp_vif_equal(&v, &back))
				abort();
			struct xp_buf f2 = XP_BUF_INIT;
			if (xp_vif_format(&back, &f2) != 0 ||
			    strcmp(xp_buf_str(&f), xp_buf_str(&f2)) != 0)
				abort();
			xp_buf_release(&f2);
			xp_vif_release(&back);
		}
		xp_buf_release(&f);
		xp_buf_release(&j);
		xp_vif_release(&v);
	} else if (d.n == 0) {
		abort(); /* a failure always says why */
	}
	xp_diags_release(&d);

	uint64_t bpi;
	uint32_t us;
	if (xp_vif_parse_rate(s, &bpi, &us) == 0) {
		struct xp_buf rb = XP_BUF_INIT;
		if (xp_vif_format_rate(bpi, us, &rb) != 0)
			abort();
		uint64_t bpi2;
		uint32_t us2;
		if (xp_vif_parse_rate(xp_buf_str(&rb), &bpi2, &us2) != 0 || bpi2 != bpi ||
		    us2 != us)
			abort();
		xp_buf_release(&rb);
	}

	struct xp_mac m, m2;
	int strict = xp_mac_parse(s, &m);
	int lenient = xp_mac_parse_xl(s, &m2, NULL);
	if (strict == 0 && (lenient != 0 || xp_mac_cmp(&m, &m2) != 0))
		abort();
	if (lenient >= 0) {
		char buf[XP_MAC_STRLEN + 1];
		xp_mac_format(&m2, buf);
		if (xp_mac_parse(buf, &m) != 0 || xp_mac_cmp(&m, &m2) != 0)
			abort();
	}
	free(s);
	return 0;
}
