/*
 * localboot-internal.h - what the readers of a guest's boot loader configs share
 * (localboot.c, grub-script.c, grub-legacy.c, bls.c, extlinux.c): the disk as they see
 * it (its filesystems, by partition, UUID and label, and their files), the entry list
 * they fill, and the readers themselves, each a function of a config's text and the
 * disk, so the unit tests and fuzz targets run them on a disk held in memory.
 *
 * Not here: opening images (localboot.c over image/), the public API (localboot.h).
 */
#ifndef XP_LOCALBOOT_INTERNAL_H
#define XP_LOCALBOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/localboot.h"
#include "xenprov/partition.h"
#include "xenprov/util.h"

struct xp_fs;

/* A file of a disk held in memory (tests, fuzz targets): a regular file at path (an
 * absolute path) of volume vol. Directories are those above some file. */
struct xp__lb_file {
	size_t vol;
	const char *path;
	const char *data;
	size_t len;
};

/* One filesystem of the disk. */
struct xp__lb_vol {
	unsigned partition; /* 1-based; 0: the whole disk (no partition table) */
	char uuid[37];	    /* lower case */
	char label[17];
	struct xp_fs *fs; /* NULL on a disk held in memory */
};

struct xp__lb_disk {
	enum xp_label label; /* names the devices as GRUB does: hd0,msdosN hd0,gptN hd0 */
	struct xp__lb_vol *vols;
	size_t n;
	const struct xp__lb_file *files; /* the disk held in memory */
	size_t nfiles;
};

/* xp_localboot_read on a disk however it is held (name names it in messages): the
 * search of its filesystems for a config, and the config's reader. */
int xp__lb_read_disk(const struct xp__lb_disk *disk, const char *name, const char *entry,
		     struct xp_localboot *out, struct xp_diags *d);

/* ---- the files of a volume (localboot.c) -------------------------------------------- */

/* The regular file at path (symlinks followed inside the volume) into *data (heap,
 * NUL-terminated; NUL bytes in it are the reader's business), at most max bytes:
 * -ENOENT, -EISDIR, -EINVAL (not a regular file), -EFBIG, -EIO. */
int xp__lb_read(const struct xp__lb_disk *disk, size_t vol, const char *path, size_t max,
		char **data, size_t *len);
/* What is at path, symlinks followed: 0 and *dir, *size; -ENOENT if nothing. */
int xp__lb_stat(const struct xp__lb_disk *disk, size_t vol, const char *path, bool *dir,
		uint64_t *size);
/* The names in the directory at path, sorted by strcmp (at most
 * XP_LOCALBOOT_MAX_ENTRIES); -ENOENT, -ENOTDIR. Free with xp__lb_names_free. */
int xp__lb_list(const struct xp__lb_disk *disk, size_t vol, const char *path, char ***names,
		size_t *n);
void xp__lb_names_free(char **names, size_t n);

/* GRUB's name of a volume's device ("hd0,msdos1", "hd0,gpt2", "hd0"). */
void xp__lb_devname(const struct xp__lb_disk *disk, size_t vol, char out[32]);
/* The volume a GRUB device name ("hd0,msdos1", "(hd0,1)", "xen/xvda,gpt2", "hd0")
 * names, by its partition number (the disk part is not looked at: the guest's boot
 * disk is the one read). On a disk without a partition table every device is the
 * whole disk. -1 if no filesystem of the disk is there. */
long xp__lb_vol_of_dev(const struct xp__lb_disk *disk, const char *dev);

/* ---- the entry list ------------------------------------------------------------------ */

/* Appends an entry (strings copied; kernel, initrd, id may be NULL) to lb, at most
 * XP_LOCALBOOT_MAX_ENTRIES (-E2BIG). The index in *index (may be NULL). -ENOMEM. */
int xp__lb_add(struct xp_localboot *lb, const char *title, const char *id, const char *kernel,
	       const char *initrd, const char *args, unsigned partition, size_t *index);

/* The entry `entry` names among lb's entries, as every reader but GRUB 2's takes it:
 * all digits, a 0-based index; else the first entry whose title or id is entry.
 * 0 and *index, or -ENOENT with a diagnostic naming config. */
int xp__lb_pick(const struct xp_localboot *lb, const char *entry, const char *config,
		size_t *index, struct xp_diags *d);

/* The next line of data[*i, len) with its blanks (and a CR) trimmed: its bounds in
 * *a, *b, *i moved past it. false at the end. A comment line ('#' first) or a blank
 * one comes back empty (*a == *b). For the line-based configs (menu.lst, BLS). */
bool xp__lb_line(const char *data, size_t len, size_t *i, size_t *a, size_t *b);

/* An absolute path made of dir and rel (rel absolute: itself), "." and ".." resolved,
 * slashes squeezed; heap, NULL on -ENOMEM. */
char *xp__lb_path_join(const char *dir, const char *rel);

/* ---- the readers ---------------------------------------------------------------------
 * Each reads the config at path on volume vol of disk, whose text is data (len bytes),
 * appends its entries to out->v in menu order and sets out->chosen (entry NULL: the
 * config's default; else as xp_localboot_read takes it). out->kind, config and
 * partition are the caller's. 0 or -errno with a diagnostic, as xp_localboot_read. */

int xp__lb_grub2(const struct xp__lb_disk *disk, size_t vol, const char *path, const char *data,
		 size_t len, const char *entry, struct xp_localboot *out, struct xp_diags *d);
int xp__lb_grub_legacy(const struct xp__lb_disk *disk, size_t vol, const char *path,
		       const char *data, size_t len, const char *entry, struct xp_localboot *out,
		       struct xp_diags *d);
int xp__lb_extlinux(const struct xp__lb_disk *disk, size_t vol, const char *path, const char *data,
		    size_t len, const char *entry, struct xp_localboot *out, struct xp_diags *d);
/* BootLoaderSpec entries alone (no grub.cfg): the *.conf files of the directory path,
 * sorted as GRUB's blscfg sorts them; the default is loader.conf's `default` (a glob
 * of entry ids, /loader/loader.conf beside the entries' directory), else the first.
 * $VAR in options is taken from grubenv (/boot/grub2/grubenv, /grub2/grubenv), as
 * RHEL 8's $kernelopts. */
int xp__lb_bls(const struct xp__lb_disk *disk, size_t vol, const char *path, const char *entry,
	       struct xp_localboot *out, struct xp_diags *d);

/* ---- BootLoaderSpec entries (bls.c), also what grub-script.c's blscfg reads ------------ */

struct xp__bls_entry {
	char *id; /* the file name without .conf */
	char *title, *version, *linux, *efi;
	char *options;	  /* the first `options` line (GRUB's blscfg takes that one) */
	char *options_all; /* every `options` line joined by ' ' (the spec's reading) */
	char **initrd;	  /* every `initrd` line, in order */
	size_t n_initrd;
};

void xp__bls_entry_release(struct xp__bls_entry *e);
/* Reads one entry file (the spec: "KEY VALUE" lines, '#' comments, blank lines
 * ignored; unknown keys kept out). -EINVAL with a diagnostic for a NUL byte;
 * -ENOMEM. */
int xp__bls_parse(const char *data, size_t len, const char *id, struct xp__bls_entry *e,
		  struct xp_diags *d);
/* <0 when a boots before b: GRUB's blscfg order, newest first (version, then the
 * file name, compared as rpm compares versions). */
int xp__bls_cmp(const struct xp__bls_entry *a, const struct xp__bls_entry *b);
/* rpm's version comparison as GRUB's blscfg has it: 1 a newer, 0 same, -1 b newer. */
int xp__bls_vercmp(const char *a, const char *b);
/* The entries of directory dir of vol (the *.conf files not starting with '.'),
 * parsed and sorted. -ENOENT if there is no such directory. */
int xp__bls_load(const struct xp__lb_disk *disk, size_t vol, const char *dir,
		 struct xp__bls_entry **v, size_t *n, struct xp_diags *d);
void xp__bls_free(struct xp__bls_entry *v, size_t n);

/* grubenv (GRUB's envblk: "# GRUB Environment Block" then NAME=VALUE lines, '\'
 * escapes the next byte): calls set for each variable. -EINVAL without the
 * signature. */
int xp__grubenv_parse(const char *data, size_t len,
		      int (*set)(void *ud, const char *name, const char *value), void *ud);

#endif
