/*
 * fuzz-capture-srcindex.c - libFuzzer target for the srcindex a local tree's capture
 * leaves for the next capture's skip (src/lib/image/capture-skip.c,
 * xp__srcindex_parse). The key is the one of the seed corpus ("a" x 64). Beyond "no
 * crash, no leak": a parse is 0 (the entries sorted, each path absolute and inside the
 * input) or -EBADMSG (no entries), never anything else.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/image/imgstore-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char key[] =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *text = (const char *)data;
	struct xp_srcindex_entry *e = NULL;
	size_t n = 0;
	int r = xp__srcindex_parse(text, size, key, &e, &n);
	if (r == -EBADMSG && (e || n))
		abort();
	if (r != 0 && r != -EBADMSG && r != -ENOMEM)
		abort();
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (e[i].path < text || e[i].path >= text + size || e[i].path[0] != '/' ||
		    (i && strcmp(e[i - 1].path, e[i].path) > 0))
			abort();
	}
	free(e);
	return 0;
}
