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
 * GRUB 2's grub.cfg is run, not pattern-matched: a small interpreter of GRUB's script
 * (quoting, escapes, ${var}, `set`, `if`/`elif`/`else` with `[`/`test`, functions,
 * `source`, `configfile`, `load_env` from grubenv, `search --fs-uuid/--label/--file`,
 * `blscfg` for BootLoaderSpec entries) evaluates it as GRUB would on this disk, and
 * each entry's body is run as GRUB runs it when the entry is booted (`linux`,
 * `linux16`, `linuxefi`, `initrd`...). Commands it does not model (insmod, loadfont,
 * terminal_output...) are ignored and count as failed in an `if`, `for`/`while` loops
 * are skipped with a warning. Where pygrub strays from GRUB (it ignores `set default`
 * given by title or saved_entry, counts submenu entries in `set default=N`, keeps the
 * `linux` line's spaces), this follows GRUB.
 *
 * Every config read is bounded (XP_LOCALBOOT_MAX_CONFIG bytes a file,
 * XP_LOCALBOOT_MAX_ENTRIES entries, XP_LOCALBOOT_MAX_DEPTH nested submenus, functions
 * and sourced files, and a bound on the commands run), so a hostile disk costs
 * milliseconds.
 */
#ifndef XENPROV_LOCALBOOT_H
#define XENPROV_LOCALBOOT_H

#include <stddef.h>

#include "xenprov/util.h"

#define XP_LOCALBOOT_MAX_CONFIG	 (1u << 20)
#define XP_LOCALBOOT_MAX_ENTRIES 1024
#define XP_LOCALBOOT_MAX_DEPTH	 16

enum xp_localboot_kind {
	XP_LOCALBOOT_GRUB2,
	XP_LOCALBOOT_BLS,
	XP_LOCALBOOT_GRUB_LEGACY,
	XP_LOCALBOOT_EXTLINUX,
};

struct xp_localboot_entry {
	char *title;  /* as the menu shows it; "SUBMENU>TITLE" inside a submenu */
	char *id;     /* GRUB 2's --id, a BLS entry's file name without .conf, an
		       * extlinux label's name; NULL when the config gives none */
	char *kernel; /* absolute path inside the filesystem of `partition`; NULL for an
		       * entry that boots no Linux kernel (chainloader, multiboot, an
		       * entry whose kernel cannot be found): listed, never chosen */
	char *initrd; /* NULL: none (several initrds: joined by ' ', loaded in order) */
	char *args;   /* the kernel command line, "" when none */
	unsigned partition; /* 1-based partition the kernel and initrd are read from;
			     * 0: the whole disk. The config's own unless the entry's
			     * `search`/`set root`/`(hdX,N)` named another filesystem */
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
 * index into v ("2": pygrub's --entry=2), a title, or a "SUBMENU>TITLE" path (for GRUB
 * 2 also what `set default` takes: ids, and "1>0" index paths). The filesystems are
 * searched in partition order, and in each GRUB 2 (/boot/grub/grub.cfg, /grub/grub.cfg,
 * /boot/grub2/grub.cfg, /grub2/grub.cfg), BLS alone (/boot/loader/entries,
 * /loader/entries), extlinux/syslinux/isolinux, GRUB legacy (menu.lst, grub.conf): the
 * first config found is the one read, as pygrub does. 0, or -errno with a diagnostic:
 * -ENOENT no config found in any filesystem of the disk, a config without entries, or
 * the entry asked for does not exist; -ENOEXEC the entry chosen boots no Linux kernel;
 * -EINVAL a config that cannot be understood (over the bounds, a NUL byte); -EIO the
 * disk cannot be read; the -errno of opening it. Warnings (a syntax error GRUB would
 * skip, a `search` that finds nothing on this disk) go into d too. Release *out in
 * every case. */
int xp_localboot_read(const char *disk, const char *entry, struct xp_localboot *out,
		      struct xp_diags *d);

/* Copies the file at path (an absolute path inside the filesystem of lb's chosen
 * entry, v[chosen].partition: its kernel, or one of its initrds; lb->partition when
 * lb has no entries) to fd, from its start, at fd's position; symlinks are followed
 * inside that filesystem. A raw image's file data goes from the image to fd with
 * copy_file_range(2) (no copy through user space), a qcow2 image's through the
 * image reader. -ENOENT, -EISDIR, -EINVAL (not a regular file, a relative path),
 * -EFBIG (over 1 GiB), or -errno of the read or write, with a diagnostic. */
int xp_localboot_extract(const char *disk, const struct xp_localboot *lb, const char *path,
			 int fd, struct xp_diags *d);

void xp_localboot_release(struct xp_localboot *lb);

const char *xp_localboot_kind_name(enum xp_localboot_kind k); /* "grub2", "bls", ... */

#endif
