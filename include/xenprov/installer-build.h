/*
 * installer-build.h - the autoinstall installer's kernel and initramfs
 * (src/lib/deploy/installer-build.c, `xenprov installer build`): a kernel (the host's
 * Debian /boot/vmlinuz-RELEASE, or another named vmlinuz-RELEASE whose modules are in
 * /lib/modules/RELEASE) and a gzip-compressed newc cpio initramfs with: the modules a
 * target needs to reach its network and disks (XP_INSTALLER_MODULES and the caller's,
 * with their dependencies from modules.dep, loaded in order from /etc/xenprov/modules),
 * busybox (static) at /bin/busybox, xenprov with the shared libraries ldd(1) names and
 * the dynamic loader (copies at their own paths), and /init (installer-init.sh).
 *
 * Not here: serving them (boot/: installer/kernel|initrd beneath the TFTP root), the
 * server's marks (autoinstall.h).
 */
#ifndef XENPROV_INSTALLER_BUILD_H
#define XENPROV_INSTALLER_BUILD_H

#include <stddef.h>

#include "xenprov/util.h"

/* The modules always included (names as modules.dep spells them, '-' and '_' alike).
 * ext4 mounts the new root for GRUB; crc32c_generic is its soft dependency
 * (modules.softdep: "ext4 pre: crypto-crc32c"), which modules.dep does not list. vfat
 * mounts a UEFI machine's EFI system partition for grub-install, with the code page and
 * character set it loads by name (Debian: FAT_DEFAULT_CODEPAGE 437, IOCHARSET ascii). */
#define XP_INSTALLER_MODULES                                                                       \
	"virtio_net", "virtio_blk", "virtio_pci", "xen-netfront", "xen-blkfront", "e1000",         \
	    "e1000e", "igb", "ixgbe", "ahci", "nvme", "af_packet", "ext4", "crc32c_generic",       \
	    "vfat", "nls_cp437", "nls_ascii"

struct xp_installer_opts {
	const char *kernel;        /* NULL: the newest /boot/vmlinuz-* */
	const char *modules_root;  /* NULL: /lib/modules */
	const char *const *extra;  /* more module names */
	size_t n_extra;
	const char *busybox;       /* NULL: /bin/busybox, which must be static */
	const char *self;          /* the xenprov program to copy; NULL: /proc/self/exe */
	/* For tests (copies whose identity a test changes): the directory of e2fsck and
	 * resize2fs (NULL: /usr/sbin, then /sbin), and libcurl's file (NULL: the one the
	 * dynamic loader finds for XP_LIBCURL_SONAME), put in at its own path. */
	const char *sbin;
	const char *libcurl;
};

struct xp_installer_result {
	char release[128];  /* the kernel's release */
	size_t n_modules;   /* modules included, dependencies counted */
	size_t n_libs;      /* shared libraries (the loader counted) */
	unsigned long long initrd_size;
	/* xenprov was a sanitizer build (the dev preset's: ASan and UBSan): their
	 * libraries are in the initramfs too, some 8 MB more, and the installer runs
	 * slower; build it with a release build's xenprov (build/release/xenprov) */
	bool sanitized;
};

/* Writes outdir/kernel and outdir/initrd (each atomically; outdir made if missing).
 * -ENOENT with a diagnostic (no kernel, no modules.dep, an unknown module, no
 * busybox), -EINVAL (a kernel whose release cannot be told from its name, a busybox
 * that is not static), or -errno. */
int xp_installer_build(const struct xp_installer_opts *o, const char *outdir,
		       struct xp_installer_result *res, struct xp_diags *d);

/* The identity of what an installer built with o would be made of, for a cache of
 * built installers (xenprov serve): key gets 16 hex digits of a SHA-256 over the kernel
 * (o->kernel, else the newest /boot/vmlinuz-*, whose path goes into kernel), its
 * modules.dep, and every file the initramfs would hold, found by the build's own steps
 * (xenprov, the libraries ldd(1) names for it, libcurl and its libraries, e2fsck,
 * resize2fs and theirs, busybox, each module), each by its path in the initramfs and on
 * the host, device, inode, size, modification and change times; /init's text and the
 * module order by their bytes. So an update of any of them (a new xenprov, kernel,
 * libcurl, e2fsprogs, a library) is a new key. Reads no copied file's bytes but
 * busybox's ELF header: a stat each, modules.dep read, and ldd run four times (a few
 * milliseconds to tens). Fails as
 * the build would (-ENOENT with a diagnostic when one of them is missing, -EINVAL),
 * or -errno. */
int xp_installer_key(const struct xp_installer_opts *o, char key[17], char *kernel,
		     size_t kernel_size, struct xp_diags *d);

#endif
