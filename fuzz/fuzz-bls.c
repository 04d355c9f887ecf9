/*
 * fuzz-bls.c - libFuzzer target for the BootLoaderSpec reader (boot/bls.c): the input
 * is cut at its first NUL-free "\n---\n" into up to three entry files of a disk held in
 * memory, read alone (no grub.cfg) with a grubenv for $kernelopts. Beyond "no crash":
 * one entry file parses or is refused with a diagnostic; the entries come out sorted
 * (xp__bls_cmp never says a later one boots first) and the comparison is antisymmetric;
 * a success chooses an entry with an absolute kernel path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/lib/boot/localboot-internal.h"
#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char env[] = "# GRUB Environment Block\nkernelopts=root=/dev/xvda1 ro\n####";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct xp_diags d;
	xp_diags_init(&d);
	/* one entry file */
	struct xp__bls_entry e;
	int r = xp__bls_parse(s, size, "id-1.0-1", &e, &d);
	fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r == -EINVAL)
		fuzz_check(xp_diags_count(&d, XP_SEV_ERROR) > 0);
	if (r == 0) {
		fuzz_check(xp__bls_cmp(&e, &e) == 0);
		if (e.version)
			fuzz_check(xp__bls_vercmp(e.version, e.version) == 0);
		xp__bls_entry_release(&e);
	}
	/* up to three files, read alone */
	struct xp__lb_file files[5];
	size_t nf = 0;
	static const char *const names[] = {"/loader/entries/m-1.0-1.conf",
					    "/loader/entries/m-2.0~rc1-1.conf",
					    "/loader/entries/z-0-rescue.conf"};
	size_t pos = 0;
	while (nf < 3) {
		const char *cut = NULL;
		for (size_t i = pos; i + 5 <= size; i++)
			if (memcmp(s + i, "\n---\n", 5) == 0) {
				cut = s + i;
				break;
			}
		size_t end = cut ? (size_t)(cut - s) : size;
		files[nf] = (struct xp__lb_file){0, names[nf], s + pos, end - pos};
		nf++;
		if (!cut)
			break;
		pos = end + 5;
	}
	files[nf++] = (struct xp__lb_file){0, "/grub2/grubenv", env, sizeof(env) - 1};
	struct xp__lb_vol vol = {.partition = 1, .uuid = "11111111-1111-1111-1111-111111111111"};
	struct xp__lb_disk disk = {.label = XP_LABEL_GPT, .vols = &vol, .n = 1, .files = files,
				   .nfiles = nf};
	struct xp__bls_entry *v = NULL;
	size_t n = 0;
	r = xp__bls_load(&disk, 0, "/loader/entries", &v, &n, NULL);
	fuzz_check(r == 0 || r == -ENOMEM);
	for (size_t i = 0; r == 0 && i + 1 < n; i++) {
		fuzz_check(xp__bls_cmp(&v[i], &v[i + 1]) <= 0);
		int a = xp__bls_cmp(&v[i], &v[i + 1]), b = xp__bls_cmp(&v[i + 1], &v[i]);
		fuzz_check((a < 0 && b > 0) || (a > 0 && b < 0) || (a == 0 && b == 0));
	}
	xp__bls_free(v, n);
	struct xp_localboot lb = {0};
	r = xp__lb_read_disk(&disk, "fuzz", NULL, &lb, &d);
	fuzz_check(r == 0 || r == -ENOENT || r == -EINVAL || r == -ENOEXEC || r == -ENOMEM);
	if (r == 0)
		fuzz_check(lb.chosen < lb.n && lb.v[lb.chosen].kernel &&
			   lb.v[lb.chosen].kernel[0] == '/');
	xp_localboot_release(&lb);
	xp_diags_release(&d);
	return 0;
}
