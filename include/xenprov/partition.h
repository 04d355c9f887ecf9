/*
 * xenprov/partition.h - partition tables of guest disks: written with libfdisk (msdos
 * or gpt, 1 MiB aligned, a Linux root partition and an optional swap partition), read
 * back from any image (raw or qcow2), a disk's table made a GPT with an EFI system
 * partition (the autoinstall installer's UEFI machines), and swap areas and FAT32
 * filesystems formatted as mkswap(8) and mkfs.fat(8) -F 32 do.
 */
#ifndef XENPROV_PARTITION_H
#define XENPROV_PARTITION_H

#include <stdbool.h>
#include <stdint.h>

#include "xenprov/util.h"

struct xp_blockdev;

enum xp_label {
	XP_LABEL_MSDOS,
	XP_LABEL_GPT,
	XP_LABEL_NONE, /* a bare filesystem image */
};

const char *xp_label_name(enum xp_label l);

struct xp_layout {
	enum xp_label label;
	uint64_t disk_size;  /* bytes */
	uint64_t swap_size;  /* bytes; 0 for no swap partition */
	/* results, in bytes */
	uint64_t root_offset, root_size;
	uint64_t swap_offset;
};

/* Computes the layout (root first, swap last; 1 MiB aligned; gpt keeps its backup
 * table's 33 sectors free at the end) without writing. swap_size is rounded up to a
 * whole MiB in place. -EINVAL for an unknown label, a disk size not a multiple of 512,
 * or swap without a table; -ENOSPC when less than 1 MiB is left for root; -EFBIG for
 * msdos past its 32-bit sector limit (~2 TiB). On failure *l is unchanged. */
int xp_layout_compute(struct xp_layout *l);

/* Writes the partition table of l onto the file at path (a regular file, or a block
 * device, exactly disk_size bytes long), for layouts xp_layout_compute made only (-EINVAL otherwise).
 * Nothing for XP_LABEL_NONE. Does not fsync: the caller syncs its output once. */
int xp_partition_write(const char *path, const struct xp_layout *l, struct xp_diags *diags);

/* Grows the partition that starts at byte offset of the image file at path (already
 * made longer) to the end of the disk, and rewrites the table (gpt: its backup header
 * and entries are moved to the new end). *new_size receives the partition's size in
 * bytes. -EINVAL no table or a misaligned offset, -ENOENT no partition starts there,
 * -ENOTSUP it is not the last partition. Does not fsync. */
int xp_partition_grow_last(const char *path, uint64_t offset, uint64_t *new_size,
			   struct xp_diags *diags);

/* xp_partition_grow_last, or with move_next, where one partition follows the one at
 * offset (the swap partition of xenprov's layout), that one first moved to the end of
 * the disk (its size kept, its start 1 MiB aligned, its contents not moved: the caller
 * formats it again; *moved_offset, may be NULL, its new byte offset) and the one at
 * offset grown up to it. -ENOTSUP more than one partition follows it (or one without
 * move_next), -ENOSPC the disk has no room to move it. Does not fsync. */
int xp_partition_grow(const char *path, uint64_t offset, bool move_next, uint64_t *new_size,
		      uint64_t *moved_offset, struct xp_diags *diags);

/* xp_partition_grow with an end: limit > 0 (sector aligned), the byte offset the grown
 * partition and a moved one must end at or before instead of the disk's end; the
 * partitions starting at or past limit stay where they are and do not count as following
 * the one at offset (the EFI system partition the installer puts at a GPT disk's end).
 * -EINVAL also for a limit not past the partition's start. */
int xp_partition_grow_to(const char *path, uint64_t offset, bool move_next, uint64_t limit,
			 uint64_t *new_size, uint64_t *moved_offset, struct xp_diags *diags);

/* Formats a Linux swap area (version 1, "SWAPSPACE2", 4 KiB pages) of size bytes at
 * offset of path. uuid may be NULL for a random one; label may be NULL (<= 16 bytes).
 * -EINVAL for a bad UUID or label or an area outside the file, -ENOSPC under 10 pages.
 * Does not fsync. */
int xp_swap_format(const char *path, uint64_t offset, uint64_t size, const char *uuid,
		   const char *label);

/* The partitions xp_partition_gpt_esp adds at the end of a disk. */
struct xp_gpt_esp {
	uint64_t esp_size; /* the EFI system partition's bytes, a whole number of MiB */
	bool bios_boot;	   /* also a 1 MiB BIOS boot partition before it (GRUB's core image
			      on a GPT disk of a BIOS machine) */
	bool make_root;	   /* a disk without a table: a Linux root partition from 1 MiB up
			      to the new ones; else the disk must hold a table */
	/* results, in bytes, and the partitions' numbers (1-based) */
	uint64_t esp_offset, root_offset, root_size;
	unsigned esp_number, root_number;
};

/* Writes onto the disk at path (a regular file or a block device) a GPT that keeps the
 * partitions of its msdos or gpt table at their places, their numbers kept: a GPT's with
 * their type GUIDs, UUIDs and names; an msdos table's with the GPT types of theirs (82
 * swap, EF the EFI system partition, every other a Linux filesystem) and new UUIDs. It
 * adds at the end of the disk (1 MiB aligned, before the backup table) the partitions
 * of g. root_* is the first kept partition that is not swap, an ESP or a BIOS boot
 * partition. The filesystems in the partitions are not touched; an old GPT's backup
 * header (inside the disk, where a smaller image ended) is zeroed, once every check
 * passed: a refused disk is left as it was. -EINVAL no table (and not make_root) or a
 * size not a whole MiB, -ENOSPC the new partitions would overlap one of the table's,
 * -ENOTSUP more than 126 partitions. Does not fsync. */
int xp_partition_gpt_esp(const char *path, struct xp_gpt_esp *g, struct xp_diags *diags);

/* Formats an empty FAT32 filesystem (no label, volume_id its serial, which blkid shows
 * as the UUID "XXXX-XXXX") of size bytes at offset (sector aligned) of path.
 * -ENOSPC below FAT32's 65525 clusters (about 33 MiB), -EINVAL outside the file or
 * device, -EFBIG past FAT32's limits. Does not fsync. */
int xp_fat_format(const char *path, uint64_t offset, uint64_t size, uint32_t volume_id);

struct xp_part {
	unsigned number;    /* 1-based */
	uint64_t offset, size;
	char type[40];      /* "83" / "82" for msdos; the type GUID for gpt */
	char name[109];     /* gpt partition name (UTF-8, 36 UTF-16 units), else "" */
	char uuid[37];      /* gpt partition UUID, else "" */
};

/* Reads an msdos or gpt partition table from an image (the primary GPT header only;
 * logical partitions of an msdos extended partition are not listed). *label is
 * XP_LABEL_NONE and *n 0 when there is none. The caller free()s *parts. */
int xp_partition_read(struct xp_blockdev *bd, enum xp_label *label, struct xp_part **parts,
		      size_t *n);

#endif
