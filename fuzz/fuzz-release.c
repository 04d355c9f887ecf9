/*
 * fuzz-release.c - libFuzzer target for the Release date reader (src/lib/image/
 * dist-text.c, xp_release_date): the InRelease file a mirror serves is outside input.
 * The first byte picks the suite asked for (bookworm, trixie, sid or oldstable), the
 * rest is the file. Beyond "no crash": success gives an ISO 8601 UTC date of exactly
 * the form "YYYY-MM-DDTHH:MM:SSZ" with fields in range and no diagnostic, and asking
 * again gives the same date; a failure is -EBADMSG (-EFBIG past the bound) with one
 * diagnostic and an empty date.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/image/dist-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const suites[] = {"bookworm", "trixie", "sid", "oldstable"};
	if (size < 1)
		return 0;
	const char *suite = suites[data[0] & 3];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char iso[21], again[21];
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_release_date(text, len, suite, "R", iso, &d);
	if (r == 0) {
		if (d.n != 0 || strlen(iso) != 20 || iso[4] != '-' || iso[7] != '-' ||
		    iso[10] != 'T' || iso[13] != ':' || iso[16] != ':' || iso[19] != 'Z')
			abort();
		for (int i = 0; i < 19; i++)
			if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 &&
			    (iso[i] < '0' || iso[i] > '9'))
				abort();
		int mon = two(iso + 5), day = two(iso + 8);
		if (mon < 1 || mon > 12 || day < 1 || day > 31 || two(iso + 11) > 23 ||
		    two(iso + 14) > 59 || two(iso + 17) > 60)
			abort();
		if (xp_release_date(text, len, suite, "R", again, NULL) != 0 || strcmp(iso, again))
			abort();
	} else if ((r != -EBADMSG && r != -EFBIG) || d.n != 1 || iso[0] != 0) {
		abort();
	}
	xp_diags_release(&d);
	return 0;
}
