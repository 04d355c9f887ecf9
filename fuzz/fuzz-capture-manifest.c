/*
 * fuzz-capture-manifest.c - libFuzzer target for what the captured-image store reads
 * back from disk (src/lib/image/manifest.c, imgstore.c): the manifest of a version
 * (xp_manifest_parse) and its meta.json (xp_imgver_meta_parse). The first byte picks
 * which (even: manifest, odd: meta.json), the rest is the input. Beyond "no crash, no
 * leak": a manifest that parses is written back, and that text parses to the same
 * text again (the writer is canonical); the writer's fields (formatted by hand) are
 * what printf makes of them (ref_fields); a failure is -EBADMSG with one diagnostic.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/imgstore.h"

/* The fields between path and extra as printf formats them: the reference for the
 * writer's own formatting. */
static int ref_fields(const struct xp_manifest_entry *e, char *out, size_t n)
{
	return snprintf(out, n, " %c %04o %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRId64 " %s %s ",
			e->type, (unsigned)e->mode, e->uid, e->gid, e->size, e->mtime,
			e->sha256[0] ? e->sha256 : "-", e->xattrs[0] ? e->xattrs : "-");
}

/* Whether every line of text (a manifest's, as the writer made it) has the reference's
 * fields after its path. */
static int fields_match(const struct xp_manifest *m, const char *text)
{
	const char *line = strchr(text, '\n');
	for (size_t i = 0; i < m->n; i++) {
		if (!line)
			return 0;
		line++;
		char want[512];
		int w = ref_fields(&m->v[i], want, sizeof(want));
		const char *sp = strchr(line, ' '); /* the path has no blank (escaped) */
		if (w < 0 || !sp || strncmp(sp, want, (size_t)w))
			return 0;
		line = strchr(line, '\n');
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct xp_diags d;
	xp_diags_init(&d);
	int r;
	if (data[0] & 1) {
		struct xp_imgver v;
		r = xp_imgver_meta_parse(text, len, "meta.json", &v, &d);
		if (r == 0) {
			struct xp_buf b = XP_BUF_INIT;
			struct xp_imgver w;
			if (d.n || xp_imgver_meta_format(&v, &b) != 0 ||
			    xp_imgver_meta_parse(b.s, b.len, NULL, &w, NULL) != 0 ||
			    strcmp(v.source, w.source) || strcmp(v.message, w.message) ||
			    v.version != w.version || v.bytes != w.bytes)
				abort();
			xp_imgver_release(&w);
			xp_buf_release(&b);
		}
		xp_imgver_release(&v);
	} else {
		struct xp_manifest m;
		r = xp_manifest_parse(text, len, "manifest", &m, &d);
		if (r == 0) {
			struct xp_buf b = XP_BUF_INIT, b2 = XP_BUF_INIT;
			struct xp_manifest m2;
			if (d.n || xp_manifest_format(&m, &b) != 0 ||
			    xp_manifest_parse(b.s, b.len, NULL, &m2, NULL) != 0 || m2.n != m.n ||
			    xp_manifest_format(&m2, &b2) != 0 || strcmp(b.s, b2.s) ||
			    !fields_match(&m, b.s))
				abort();
			xp_manifest_release(&m2);
			xp_buf_release(&b);
			xp_buf_release(&b2);
		}
		xp_manifest_release(&m);
	}
	if (r != 0 && r != -ENOMEM && (r != -EBADMSG || d.n != 1))
		abort();
	xp_diags_release(&d);
	return 0;
}
