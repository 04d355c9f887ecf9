/*
 * fuzz-xl-disk.c - libFuzzer target for the disk spec parser and writer.
 *
 * The input is split on NUL bytes (or, if it has none, on the first two newlines) into
 * 1-3 specs parsed as one disk. Beyond "no crash, no leak" it checks the contracts:
 * failures leave the disk zeroed and name a reason; every accepted disk has a vdev, a
 * format, and a field list; what the canonical writer emits reads back to an equal disk.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/xl-disk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void round_trip(const struct xp_disk *d)
{
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_disk_format(d, &b);
	check(r == 0 || r == -EINVAL || r == -E2BIG);
	if (r == 0) {
		struct xp_disk back = {0};
		check(xp_disk_parse_one(xp_buf_str(&b), &back, NULL) == 0);
		check(xp_disk_equal(d, &back));
		xp_disk_release(&back);
	}
	xp_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 3 * (XP_DISK_SPEC_MAX + 64))
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	const char *specs[3];
	size_t n = 0;
	char sep = memchr(buf, '\0', size) ? '\0' : '\n';
	char *p = buf;
	specs[n++] = p;
	while (n < 3) {
		char *q = sep ? strchr(p, sep) : p + strlen(p);
		if (!q || q >= buf + size)
			break;
		*q = '\0';
		p = q + 1;
		specs[n++] = p;
	}

	struct xp_disk d = {0};
	struct xp_diags diags;
	xp_diags_init(&diags);
	int r = xp_disk_parse(specs, n, &d, &diags);
	check(r == 0 || r == -EBADMSG || r == -E2BIG || r == -ENOMEM);
	if (r == 0) {
		check(d.vdev != NULL);
		check(d.format != XP_DISK_FORMAT_UNKNOWN);
		check(d.pdev_path != NULL || d.removable);
		check(!d.is_cdrom || (d.removable && !d.readwrite));
		check(xp_diags_count(&diags, XP_SEV_ERROR) == 0);
		struct xp_disk_field f[XP_DISK_FIELDS_MAX];
		int nf = xp_disk_fields(&d, f, XP_DISK_FIELDS_MAX);
		check(nf >= 3 && nf <= XP_DISK_FIELDS_MAX);
		round_trip(&d);
		/* Parsing the same input again gives the same disk. */
		struct xp_disk again = {0};
		check(xp_disk_parse(specs, n, &again, NULL) == 0);
		check(xp_disk_equal(&d, &again));
		xp_disk_release(&again);
	} else if (r != -ENOMEM) {
		struct xp_disk zero = {0};
		check(memcmp(&d, &zero, sizeof(d)) == 0);
		check(xp_diags_count(&diags, XP_SEV_ERROR) >= 1);
		for (size_t i = 0; i < diags.n; i++)
			check(diags.v[i].msg && diags.v[i].code);
	}
	xp_diags_release(&diags);
	xp_disk_release(&d);
	free(buf);
	return 0;
}
