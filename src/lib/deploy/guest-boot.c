/*
 * guest-boot.c - how a guest boots, decided from its profile values and its image
 * before anything is made (the contracts in xenprov/domain.h, "how a guest boots"):
 * the checks that refuse a boot method that cannot work, with the reason, at `profile
 * add`/`edit` (what can be known then) and at `domain create`/`deploy` (with the golden
 * image's kernels); and kernel=from-image's copy of the golden image's own kernel and
 * initramfs, made once per golden image beside it in <state>/images.
 *
 * Why the grub.cfg is written per guest (image/guest-edit.c) and not into the golden
 * image: it names the guest's own root UUID (each guest has a new one) and the
 * profile's `extra`, which is not part of the golden image's key (two profiles share
 * one golden image); and a prebuilt golden image is never written. One small file per
 * guest costs next to nothing beside the copy of the disk.
 *
 * Not here: the kernels' discovery (image/boot-kernels.c), the grub.cfg text
 * (image/guest-text.c), the config's boot lines (xlcfg.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/golden.h"
#include "xenprov/domain.h"

/* A regular file on this host (symlinks followed): 0, or -errno (-EINVAL if it is
 * something else). */
static int host_file(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

static int check_host_file(const char *key, const char *path, const char *what, const char *hint,
			   struct xp_diags *d)
{
	int r = host_file(path);
	if (r == 0)
		return 0;
	return xp_diags_refuse(d, r == -EINVAL ? -EINVAL : -ENOENT, key, path, hint,
			       "%s %s is %s on this host", what, path,
			       r == -EINVAL   ? "not a regular file"
			       : r == -ENOENT ? "not there"
					      : "not readable");
}

bool xp_boot_grub(const struct xp_settings *s)
{
	const char *boot = xp_settings_get(s, "boot");
	return !boot || strcmp(boot, "pygrub") == 0 || strcmp(boot, "pvgrub") == 0;
}

int xp_boot_check(const struct xp_settings *s, const struct xp_boot_kernels *kernels, bool complete,
		  struct xp_diags *d)
{
	const char *boot = xp_settings_get(s, "boot");
	const char *type = xp_settings_get(s, "type");
	const char *kernel = xp_settings_get(s, "kernel");
	const char *ramdisk = xp_settings_get(s, "ramdisk");
	const char *extra = xp_settings_get(s, "extra");
	bool pvh = type && strcmp(type, "pvh") == 0;
	bool none = kernels && kernels->n == 0; /* no kernel for from-image */
	/* nothing for pygrub or PV GRUB: no kernel, and no config of the image's own
	 * that names one by another name */
	bool nothing = none && !kernels->loader_config;
	const char *method = boot ? boot : "pygrub";

	if (strcmp(method, "kernel") == 0) {
		if (!kernel)
			return complete ? xp_diags_refuse(
					      d, -EINVAL, "kernel", NULL,
					      "set --kernel PATH (a file on this host) or "
					      "--kernel from-image",
					      "boot kernel needs a kernel (the profile has none)")
					: 0;
		if (strcmp(kernel, XP_DOMAIN_KERNEL_FROM_IMAGE) == 0) {
			if (ramdisk)
				return xp_diags_refuse(
				    d, -EINVAL, "ramdisk", ramdisk,
				    "unset ramdisk (--unset ramdisk)",
				    "kernel from-image boots the image's own initramfs "
				    "with its kernel: a ramdisk cannot be given with it");
			if (none)
				return xp_diags_refuse(
				    d, -ENOENT, "no-kernel", NULL,
				    "use an image with a kernel in /boot (vmlinuz-VERSION), "
				    "or --kernel PATH",
				    "kernel from-image: the image has no kernel in /boot");
			return 0;
		}
		int r = check_host_file("kernel", kernel, "the kernel",
					"give a kernel on this host, or --kernel from-image", d);
		if (r == 0 && ramdisk)
			r = check_host_file("ramdisk", ramdisk, "the ramdisk",
					    "give an initramfs on this host, or unset ramdisk", d);
		return r;
	}
	if (strcmp(method, "pygrub") != 0 && strcmp(method, "pvgrub") != 0)
		return xp_diags_refuse(d, -EINVAL, "boot", method, "pygrub, pvgrub or kernel",
				       "unknown boot method '%s'", method);

	/* pygrub and PV GRUB read the guest's own /boot */
	if (nothing && boot)
		return xp_diags_refuse(
		    d, -ENOENT, "no-kernel", NULL,
		    "use an image with a kernel in /boot (vmlinuz-VERSION), or "
		    "--boot kernel --kernel PATH",
		    "boot %s: the image has no kernel in /boot, so %s has nothing "
		    "to boot",
		    boot, strcmp(boot, "pvgrub") == 0 ? "PV GRUB" : "pygrub");
	if (nothing && d)
		xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "no-kernel", NULL,
			     "set --boot kernel --kernel PATH, or use an image with a kernel",
			     "the image has no kernel in /boot and no boot method is set: the "
			     "guests' configs say pygrub (the default), which has nothing to "
			     "boot");
	/* the grub.cfg it goes into is written where the image has a kernel */
	if (!(none && !boot) && !xp_guest_kernel_args_valid(extra))
		return xp_diags_refuse(
		    d, -EINVAL, "extra", extra, "leave them out of --extra",
		    "boot %s: the kernel command line goes into the guest's grub.cfg, "
		    "where quotes, '$', '\\', '`', ';', '{', '}', '|', '&', '<' and "
		    "'>' are GRUB's syntax",
		    method);
	if (strcmp(method, "pvgrub") == 0) {
		const char *grub = kernel ? kernel
				   : pvh  ? XP_DOMAIN_PVGRUB_PVH_KERNEL
					  : XP_DOMAIN_PVGRUB_KERNEL;
		if (kernel && strcmp(kernel, XP_DOMAIN_KERNEL_FROM_IMAGE) == 0)
			return xp_diags_refuse(
			    d, -EINVAL, "kernel", kernel,
			    "--boot kernel --kernel from-image, or unset kernel",
			    "boot pvgrub loads PV GRUB as the kernel, not the image's");
		/* a warning, not a refusal: PV GRUB is loaded by xl on the Xen host, which
		 * may not be the machine that writes the config (a lab or a shared store) */
		int r = host_file(grub);
		if (r < 0 && d)
			xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "pvgrub", grub,
				     kernel ? "give PV GRUB's image, or unset kernel"
					    : "install Debian's grub-xen-host on the Xen host",
				     "PV GRUB's image %s is %s on this host: xl loads it as the "
				     "guests' kernel",
				     grub, r == -EINVAL ? "not a regular file" : "not there");
	}
	return 0;
}

int xp_boot_check_profile(const struct xp_settings *s, struct xp_diags *d)
{
	const char *image = xp_settings_get(s, "image");
	struct xp_boot_kernels kernels = {0};
	bool known = false;
	/* an image that is a file here can be looked into; anything else (a distribution
	 * to be built, a file that is not there yet) is checked when guests are made */
	struct stat st;
	if (image && image[0] == '/' && stat(image, &st) == 0 &&
	    (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		enum xp_image_kind k =
		    S_ISBLK(st.st_mode) ? XP_IMAGE_KIND_RAW : xp_golden_sniff(image);
		int r = 0;
		if (k == XP_IMAGE_KIND_TARBALL) {
			r = xp_archive_boot_kernels(image, &kernels, d);
			known = r == 0;
		} else if (k == XP_IMAGE_KIND_RAW || k == XP_IMAGE_KIND_QCOW2) {
			struct xp_blockdev *bd;
			struct xp_fs *fs;
			if (xp_image_open_fs(image, 0, &bd, &fs) == 0) {
				r = xp_fs_boot_kernels(fs, &kernels);
				known = r == 0;
				xp_fs_close(fs);
				xp_blockdev_close(bd);
			}
		}
		if (r < 0) {
			xp_boot_kernels_release(&kernels);
			return r;
		}
	}
	int r = xp_boot_check(s, known ? &kernels : NULL, false, d);
	xp_boot_kernels_release(&kernels);
	return r;
}

/* The key of g's kernel copy: the golden image's own where xenprov built or grew it
 * into <state_dir>/images (<key>.img, named by what went into it), else the SHA-256 of
 * its path and identity (device, inode, size, mtime): a changed image makes a new
 * copy. */
static int copy_key(const char *dir, const struct xp_golden *g, char key[65])
{
	size_t dl = strlen(dir);
	const char *base = strrchr(g->path, '/');
	base = base ? base + 1 : g->path;
	size_t bl = strlen(base);
	if (strncmp(g->path, dir, dl) == 0 && g->path[dl] == '/' && base == g->path + dl + 1 &&
	    bl == 68 && strcmp(base + 64, ".img") == 0) {
		memcpy(key, base, 64);
		key[64] = '\0';
		return 0;
	}
	struct stat st;
	if (stat(g->path, &st) < 0)
		return -errno;
	char *id = NULL;
	int n = asprintf(&id, "xenprov-kernel-v1\n%s\n%llu:%llu:%lld:%lld.%09ld\n", g->path,
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (n < 0)
		return -ENOMEM;
	unsigned char digest[32];
	int r = xp_sha256(id, (size_t)n, digest);
	free(id);
	if (r == 0)
		xp_sha256_hex(digest, key);
	return r;
}

struct sink {
	int fd;
	int err;
};

static int to_fd(void *ud, const void *data, size_t len)
{
	struct sink *s = ud;
	int r = xp_write_full(s->fd, data, len);
	if (r < 0)
		s->err = r;
	return r;
}

/* Copies the file path of the image's filesystem fs into dir/name, 0444, synced. */
static int copy_out(struct xp_fs *fs, const char *path, const char *dir, const char *name)
{
	char *dst = NULL;
	if (asprintf(&dst, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	free(dst);
	if (fd < 0)
		return -errno;
	struct sink s = {fd, 0};
	int r = xp_fs_read(fs, path, to_fd, &s);
	if (s.err)
		r = s.err;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* Makes dir/<final> from the image: a temporary directory filled and synced, then
 * renamed; one that another create made first is used as it is. */
static int make_copy(const struct xp_golden *g, const struct xp_boot_kernel *k, const char *dir,
		     const char *final, struct xp_diags *d)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s/.kernel.XXXXXX", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (!mkdtemp(tmp))
		return xp_diags_fail(d, -errno, dir, "kernel", NULL,
				     "cannot make a directory for the image's kernel: %s",
				     strerror(errno));
	struct xp_blockdev *bd = NULL;
	struct xp_fs *fs = NULL;
	int r = xp_blockdev_open(g->path, &bd);
	if (r == 0)
		r = xp_fs_open(bd, (uint64_t)g->root_offset, &fs);
	if (r == 0)
		r = copy_out(fs, k->kernel, tmp, base_name(k->kernel));
	if (r == 0 && k->initrd)
		r = copy_out(fs, k->initrd, tmp, base_name(k->initrd));
	xp_fs_close(fs);
	xp_blockdev_close(bd);
	int dfd = r == 0 ? open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (r == 0 && (dfd < 0 || fsync(dfd) < 0 || chmod(tmp, 0755) < 0))
		r = -errno;
	if (dfd >= 0)
		close(dfd);
	bool renamed = false;
	if (r == 0) {
		if (rename(tmp, final) == 0)
			renamed = true;
		else if (errno != EEXIST && errno != ENOTEMPTY)
			r = -errno;
		/* else another create named its copy first: that one is used */
	}
	if (!renamed) {
		/* what is left of ours */
		const char *files[] = {k->kernel, k->initrd};
		for (size_t i = 0; i < 2; i++) {
			char *p = NULL;
			if (files[i] && asprintf(&p, "%s/%s", tmp, base_name(files[i])) >= 0) {
				unlink(p);
				free(p);
			}
		}
		rmdir(tmp);
	}
	if (r < 0)
		return xp_diags_fail(d, r, g->path, "kernel", NULL,
				     "cannot copy the image's kernel %s out of it: %s", k->kernel,
				     strerror(-r));
	if (renamed) {
		/* the rename itself, durable */
		int pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0) {
			fsync(pfd);
			close(pfd);
		}
	}
	return 0;
}

int xp_boot_image_kernel(const char *state_dir, const struct xp_golden *g, char **kernel,
			 char **ramdisk, struct xp_diags *d)
{
	*kernel = *ramdisk = NULL;
	if (g->kernels.n == 0 || g->root_offset < 0)
		return xp_diags_fail(d, -ENOENT, g->path, "no-kernel", NULL,
				     "kernel from-image: the image has no kernel in /boot");
	const struct xp_boot_kernel *k = &g->kernels.v[0];
	char dir[PATH_MAX], key[65];
	if (snprintf(dir, sizeof(dir), "%s/images", state_dir) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	int r = xp_mkdir_p(dir, 0755);
	if (r < 0)
		return xp_diags_fail(d, r, dir, "state", NULL, "cannot create the directory: %s",
				     strerror(-r));
	/* the configs name the copy: absolute, like the golden image */
	char *abs = realpath(dir, NULL);
	if (!abs)
		return -errno;
	snprintf(dir, sizeof(dir), "%s", abs);
	free(abs);
	r = copy_key(dir, g, key);
	if (r < 0)
		return xp_diags_fail(d, r, g->path, "kernel", NULL, "cannot read the image: %s",
				     strerror(-r));
	char final[PATH_MAX + 80];
	snprintf(final, sizeof(final), "%s/%s.kernel", dir, key);
	if (asprintf(kernel, "%s/%s", final, base_name(k->kernel)) < 0 ||
	    (k->initrd && asprintf(ramdisk, "%s/%s", final, base_name(k->initrd)) < 0)) {
		free(*kernel);
		*kernel = *ramdisk = NULL;
		return -ENOMEM;
	}
	struct stat st;
	if (stat(*kernel, &st) < 0)
		r = make_copy(g, k, dir, final, d);
	if (r == 0 && (stat(*kernel, &st) < 0 || (*ramdisk && stat(*ramdisk, &st) < 0)))
		r = xp_diags_fail(d, -ENOENT, final, "kernel", "remove the directory",
				  "the copy of the image's kernel is incomplete");
	if (r < 0) {
		free(*kernel);
		free(*ramdisk);
		*kernel = *ramdisk = NULL;
	}
	return r;
}
