/*
 * fuzz-apt-sources.c - libFuzzer target for the apt sources reader (src/lib/image/
 * dist-text.c, xp_apt_sources_mirror), both styles: the first byte's low bit picks
 * deb822 (.sources) or the one-line style (.list), the rest is the file. Beyond "no
 * crash, no leak": a failure is -EBADMSG with no mirror; a mirror found is a URI
 * xp_dist_mirror_norm accepts and keeps as it is (a fixed point: no blanks, control
 * bytes or trailing slash, a known scheme), and its bytes are in the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/image/dist-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool deb822 = data[0] & 1;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char *uri = NULL;
	int r = xp_apt_sources_mirror(text, len, deb822, &uri);
	if (r == -ENOMEM)
		return 0;
	if (r != 0) {
		if (r != -EBADMSG || uri)
			abort();
		return 0;
	}
	if (uri) {
		char *norm = NULL;
		if (xp_dist_mirror_norm(uri, &norm) != 0 || strcmp(norm, uri) != 0 ||
		    !memmem(text, len, uri, strlen(uri)))
			abort();
		free(norm);
		free(uri);
	}
	return 0;
}
