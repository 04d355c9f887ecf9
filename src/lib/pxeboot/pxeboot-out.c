/*
 * pxeboot-out.c - the files a bootloader hands libxl: the kernel and the ramdisk,
 * written unnamed (O_TMPFILE) in the output directory and given unique names only when
 * the whole boot succeeded, so that a failure at any point, a kill -9 included, leaves
 * nothing behind (libxl removes the directory and the files it was told of, nothing
 * else). Names as pygrub's: boot_kernel.XXXXXX, boot_ramdisk.XXXXXX.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenprov/pxeboot.h"

int xp_pxeboot_out_open(const char *dir, struct xp_pxeboot_out *o, struct xp_diags *d)
{
	memset(o, 0, sizeof(*o));
	o->kernel_fd = o->ramdisk_fd = -1;
	int r = xp_mkdir_p(dir, 0700);
	if (r < 0)
		return xp_diags_fail(d, r, dir, "output-directory", NULL, "cannot make it: %s",
				     strerror(-r));
	if (!(o->dir = strdup(dir)))
		return -ENOMEM;
	o->kernel_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (o->kernel_fd >= 0)
		o->ramdisk_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (o->ramdisk_fd < 0) {
		r = -errno;
		xp_pxeboot_out_close(o);
		return xp_diags_fail(d, r, dir, "output-directory", NULL,
				     "cannot make a file in it (O_TMPFILE): %s", strerror(-r));
	}
	return 0;
}

static int name_one(const char *dir, int fd, const char *stem, char **out, struct xp_diags *d)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	for (int tries = 0; tries < 100; tries++) {
		unsigned char rnd[6];
		int r = xp_getrandom(NULL, rnd, sizeof(rnd));
		if (r < 0)
			return r;
		char suffix[7];
		for (int i = 0; i < 6; i++)
			suffix[i] = set[rnd[i] % (sizeof(set) - 1)];
		suffix[6] = '\0';
		char *p = NULL;
		if (asprintf(&p, "%s/%s.%s", dir, stem, suffix) < 0)
			return -ENOMEM;
		if (linkat(AT_FDCWD, proc, AT_FDCWD, p, AT_SYMLINK_FOLLOW) == 0) {
			*out = p;
			return 0;
		}
		r = -errno;
		free(p);
		if (r != -EEXIST)
			return xp_diags_fail(d, r, dir, "output-directory", NULL,
					     "cannot name the %s in it: %s", stem, strerror(-r));
	}
	return xp_diags_fail(d, -EEXIST, dir, "output-directory", NULL, "no free name for the %s",
			     stem);
}

int xp_pxeboot_out_commit(struct xp_pxeboot_out *o, bool ramdisk, char **kernel, char **ramdisk_path,
			  struct xp_diags *d)
{
	/* no fsync: libxl reads the files at once and removes them; they are worth
	 * nothing after a crash, and the output directory is normally a tmpfs */
	*kernel = *ramdisk_path = NULL;
	int r = name_one(o->dir, o->kernel_fd, "boot_kernel", kernel, d);
	if (r == 0 && ramdisk && (r = name_one(o->dir, o->ramdisk_fd, "boot_ramdisk", ramdisk_path, d)) < 0) {
		unlink(*kernel); /* both or neither */
		free(*kernel);
		*kernel = NULL;
	}
	return r;
}

void xp_pxeboot_out_close(struct xp_pxeboot_out *o)
{
	if (o->kernel_fd >= 0)
		close(o->kernel_fd);
	if (o->ramdisk_fd >= 0)
		close(o->ramdisk_fd);
	free(o->dir);
	memset(o, 0, sizeof(*o));
	o->kernel_fd = o->ramdisk_fd = -1;
}
