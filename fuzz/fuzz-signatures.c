/*
 * fuzz-signatures.c - libFuzzer target for what `xenprov import` reads from files it
 * does not control: the signature file (xp__sigs_parse, import/signatures.c) and the
 * INI text of a tree's .treeinfo (xp__ini_get).
 *
 * The input is the document. Beyond "no crash": a refused document is -EBADMSG with at
 * least one error saying why (or -ENOMEM); an accepted one has signatures with names.
 * The same bytes as INI text: a value found is one line, with no blank at either end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/import/import-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ini(const char *text)
{
	static const char *const q[][2] = {
	    {"general", "version"},
	    {"release", "name"},
	    {"images-x86_64", "kernel"},
	    {"images-xen", "initrd"},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		char *v = xp__ini_get(text, q[i][0], q[i][1]);
		if (!v)
			continue;
		size_t n = strlen(v);
		if (strchr(v, '\n') || (n && (v[0] == ' ' || v[n - 1] == ' ' || v[n - 1] == '\r')))
			abort();
		free(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xp_sigs *s = NULL;
	struct xp_diags d = {0};
	int r = xp__sigs_parse("fuzz.json", (const char *)data, size, &s, &d);
	if (r == 0) {
		if (!s)
			abort();
		for (size_t i = 0; i < xp__sigs_count(s); i++)
			if (!xp__sigs_name(s, i) || !*xp__sigs_name(s, i))
				abort();
		xp__sigs_free(s);
	} else if (s ||
		   (r != -ENOMEM && (r != -EBADMSG || xp_diags_count(&d, XP_SEV_ERROR) == 0))) {
		abort();
	}
	xp_diags_release(&d);
	char *text = malloc(size + 1);
	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
		ini(text);
		free(text);
	}
	return 0;
}
