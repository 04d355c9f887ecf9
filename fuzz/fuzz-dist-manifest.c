/*
 * fuzz-dist-manifest.c - libFuzzer target for the manifest of a distribution's root
 * (src/lib/image/dist-manifest.c, xp_manifest_estimate): the records find(1) writes in
 * mmdebstrap's customize hook, whose file names come from the distribution's packages.
 * The first byte picks the /dev entries added (0-15) and ext2, ext3 or ext4, the rest
 * is the manifest. Beyond "no crash, no leak": success is a whole number of MiB, at
 * least the estimator's minimum, no diagnostic, and the same again; a failure is
 * -EBADMSG or -EFBIG with one diagnostic.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/lib/image/dist-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum xp_fs_type types[] = {XP_FS_EXT2, XP_FS_EXT3, XP_FS_EXT4, XP_FS_EXT4};
	struct xp_fs_opts o = {.type = types[(data[0] >> 4) & 3], .reserved_percent = -1};
	unsigned extra = data[0] & 15;
	struct xp_diags d;
	xp_diags_init(&d);
	uint64_t bytes = 0, again = 0, content = 0;
	int r = xp_manifest_estimate((const char *)data + 1, size - 1, "M", extra, &o, 30, &bytes,
				     &content, &d);
	if (r == 0) {
		if (d.n != 0 || bytes % (1u << 20) || bytes < (8u << 20) ||
		    xp_manifest_estimate((const char *)data + 1, size - 1, "M", extra, &o, 30,
					 &again, NULL, NULL) != 0 ||
		    again != bytes)
			abort();
	} else if (r != -ENOMEM && ((r != -EBADMSG && r != -EFBIG) || d.n != 1)) {
		abort();
	}
	xp_diags_release(&d);
	return 0;
}
