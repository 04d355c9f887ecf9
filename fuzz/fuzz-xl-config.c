/*
 * fuzz-xl-config.c - libFuzzer target for the xl config parser: parse, lint, format,
 * and check the invariants that must hold for every input:
 *   - the text kept is the input, byte for byte (lossless);
 *   - a file without errors formats to text that parses without errors to the same
 *     settings, and formatting that again changes nothing (fmt is idempotent);
 *   - set then get returns the value set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/xl-config.h"
#include "xenprov/xl-lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_settings(const struct xp_cfg *a, const struct xp_cfg *b)
{
	if (xp_cfg_count(a) != xp_cfg_count(b))
		abort();
	for (size_t i = 0; i < xp_cfg_count(a); i++) {
		struct xp_buf x = XP_BUF_INIT, y = XP_BUF_INIT;
		if (strcmp(xp_cfg_name_at(a, i), xp_cfg_name_at(b, i)) != 0)
			abort();
		xp_cfg_write_value(&x, xp_cfg_value_at(a, i));
		xp_cfg_write_value(&y, xp_cfg_value_at(b, i));
		if (x.len != y.len || memcmp(xp_buf_str(&x), xp_buf_str(&y), x.len) != 0)
			abort();
		xp_buf_release(&x);
		xp_buf_release(&y);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_cfg *cfg = NULL;
	int r = xp_cfg_parse((const char *)data, size, "fuzz.cfg", &d, &cfg);
	if (!cfg)
		goto out;
	size_t len;
	const char *text = xp_cfg_text(cfg, &len);
	if (len != size || (size && memcmp(text, data, size) != 0))
		abort();
	xp_cfg_lint(cfg, NULL, NULL, &d);

	struct xp_buf f = XP_BUF_INIT;
	if (xp_cfg_format(cfg, XP_CFG_FMT_FIX, &f) == 0) {
		struct xp_cfg *again = NULL;
		if (xp_cfg_parse(xp_buf_str(&f), f.len, NULL, NULL, &again) != 0)
			abort();
		if (r == 0)
			same_settings(cfg, again);
		struct xp_buf g = XP_BUF_INIT;
		if (xp_cfg_format(again, 0, &g) != 0 || g.len != f.len ||
		    memcmp(xp_buf_str(&g), xp_buf_str(&f), f.len) != 0)
			abort();
		xp_buf_release(&g);
		xp_cfg_free(again);
	}
	xp_buf_release(&f);

	if (r == 0) {
		if (xp_cfg_set(cfg, "fuzz_key", "'v\\n\"'") != 0)
			abort();
		const char *s;
		if (xp_cfg_get_string(cfg, "fuzz_key", &s) != 0 || strcmp(s, "v\n\"") != 0)
			abort();
		if (xp_cfg_unset(cfg, "fuzz_key") != 0 || xp_cfg_lookup(cfg, "fuzz_key"))
			abort();
	}
	xp_cfg_free(cfg);
out:
	xp_diags_release(&d);
	return 0;
}
