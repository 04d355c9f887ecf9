/*
 * localboot-none.c - stands in for the localboot module (xenprov/localboot.h) while
 * the tree has no localboot.c: LOCALBOOT and --local then fail with a clear error.
 * CMakeLists.txt leaves this file out of the library as soon as a localboot.c exists
 * anywhere under src/lib, so that the real module is linked, never this one.
 */
#include <errno.h>
#include <string.h>

#include "xenprov/localboot.h"

int xp_localboot_read(const char *disk, const char *entry, struct xp_localboot *out,
		      struct xp_diags *d)
{
	(void)entry;
	memset(out, 0, sizeof(*out));
	return xp_diags_fail(d, -ENOSYS, disk, "localboot", NULL,
			     "this xenprov cannot read a guest's disk for its boot config");
}

int xp_localboot_extract(const char *disk, const struct xp_localboot *lb, const char *path,
			 int fd, struct xp_diags *d)
{
	(void)lb, (void)path, (void)fd;
	return xp_diags_fail(d, -ENOSYS, disk, "localboot", NULL,
			     "this xenprov cannot read a guest's disk for its boot config");
}

void xp_localboot_release(struct xp_localboot *lb)
{
	memset(lb, 0, sizeof(*lb));
}

const char *xp_localboot_kind_name(enum xp_localboot_kind k)
{
	static const char *const names[] = {"grub2", "bls", "grub-legacy", "extlinux"};
	return (unsigned)k < 4 ? names[k] : "unknown";
}
