/*
 * xenprov/localboot.h - what a guest's own disk boots, read without mounting: pygrub's
 * job (and `xenprov pxeboot`'s LOCALBOOT and --local). The disk (a raw or qcow2 image
 * file, or a block device; msdos, GPT or no partition table; ext2/3/4) is searched for
 * a boot loader config: GRUB 2 (/boot/grub/grub.cfg, /boot/grub2/grub.cfg, and the
 * same at the root of a separate /boot filesystem), BootLoaderSpec entries
 * (/boot/loader/entries/NAME.conf, Fedora and RHEL 8+), GRUB legacy (menu.lst, grub.conf)
 * and extlinux/syslinux configs. Its entries are listed in menu order and one is
 * chosen: the config's default (GRUB 2: `set default` by index, title, "SUBMENU>ENTRY"
 * path or saved_entry from grubenv, as GRUB itself does), or the one asked for.
 *
 * Every config read is bounded (XP_LOCALBOOT_MAX_CONFIG bytes, entries, nesting).
 */
#ifndef XENPROV_LOCALBOOT_H
#define XENPROV_LOCALBOOT_H

#include <stddef.h>

#include "xenprov/util.h"

#define XP_LOCALBOOT_MAX_CONFIG (1u << 20)

enum xp_localboot_kind {
	XP_LOCALBOOT_GRUB2,
	XP_LOCALBOOT_BLS,
	XP_LOCALBOOT_GRUB_LEGACY,
	XP_LOCALBOOT_EXTLINUX,
};

struct xp_localboot_entry {
	char *title;  /* as the menu shows it; "SUBMENU>TITLE" inside a submenu */
	char *kernel; /* absolute path inside the filesystem that holds the config */
	char *initrd; /* NULL: none (several initrds: joined by ' ', loaded in order) */
	char *args;   /* the kernel command line, "" when none */
};

struct xp_localboot {
	enum xp_localboot_kind kind;
	char *config;	    /* the config file read, as a path inside its filesystem */
	unsigned partition; /* 1-based partition of the filesystem; 0: the whole disk */
	struct xp_localboot_entry *v;
	size_t n;
	size_t chosen; /* index in v of the entry chosen */
};

/* Reads disk and chooses an entry: entry NULL for the config's default, else a 0-based
 * index ("2"), a title, or a "SUBMENU>TITLE" path. 0, or -errno with a diagnostic:
 * -ENOENT no config found in any filesystem of the disk (or the entry asked for does
 * not exist), -EINVAL a config that cannot be understood, -EIO the disk cannot be
 * read. Release *out in every case. */
int xp_localboot_read(const char *disk, const char *entry, struct xp_localboot *out,
		      struct xp_diags *d);

/* Copies the file at path (a path inside the filesystem lb's config is in, such as an
 * entry's kernel or initrd) to fd, from its start. -ENOENT, -EFBIG (over 1 GiB), or
 * -errno of the read or write, with a diagnostic. */
int xp_localboot_extract(const char *disk, const struct xp_localboot *lb, const char *path,
			 int fd, struct xp_diags *d);

void xp_localboot_release(struct xp_localboot *lb);

const char *xp_localboot_kind_name(enum xp_localboot_kind k); /* "grub2", "bls", ... */

#endif
