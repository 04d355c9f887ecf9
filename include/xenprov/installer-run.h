/*
 * xenprov/installer-run.h - the autoinstall installer's disk work (`xenprov installer
 * run`, run by the installer's /init once its network is up): the system's record and
 * profile from the server's JSON API, the target disk chosen and checked, the profile's
 * golden image written onto it (partitioned by the image builder, or a bare filesystem
 * put into a partition made here; on a UEFI machine or for label gpt, a GPT with an
 * EFI system partition), the per-guest edits of `domain create`, GRUB installed from
 * the image for the machine's firmware, and every step reported to the server as an
 * install event (autoinstall.h) with the token from the kernel command line.
 *
 * Not here: the installer's kernel and initramfs (installer-build.h), the server's side
 * of the events (net/http-install.c), rebooting (the /init script).
 */
#ifndef XENPROV_INSTALLER_RUN_H
#define XENPROV_INSTALLER_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "xenprov/util.h"

struct xp_installer_run_opts {
	/* what boot/target.c put on the kernel command line: xenprov.server=,
	 * xenprov.system=, xenprov.mac=, xenprov.token=; NULL: read from cmdline */
	const char *server, *system, *mac, *token;
	const char *cmdline; /* NULL: /proc/cmdline (also read for xenprov.target-disk= and
			      * xenprov.wipe=, a system's own through its kernel options) */
	const char *disk;    /* the target disk (vda, /dev/vda, or another absolute path: a
			      * device or an image file, as it is); NULL: xenprov.target-disk=
			      * (the same forms), else the profile's target-disk (a name),
			      * else the first whole disk */
	bool wipe;	     /* write over a partition table (or xenprov.wipe=1, profile wipe on) */
	bool no_bootloader;  /* leave GRUB out (a disk booted some other way) */
	const char *firmware;  /* "bios" or "uefi"; NULL: xp_installer_firmware's guess */
	bool no_grow;	     /* keep the root at the image's size (or profile grow off) */
	/* the data disks, in the order of the profile's data-disk items (devices or image
	 * files); NULL: the whole disks of sys_block after the root disk, by name */
	const char *const *data_disks;
	size_t n_data_disks;
	const char *sys_block; /* NULL: /sys/block */
	const char *dev_dir;   /* NULL: /dev */
	const char *target;    /* where the new root is mounted for GRUB; NULL: /target */
	/* told of each step as it starts (may be NULL) */
	void (*step)(void *ud, const char *step, const char *what);
	void *ud;
};

struct xp_installer_run_result {
	char disk[512];	   /* the device written, /dev/NAME */
	char profile[128]; /* the system's profile */
	char sha256[65];   /* the image's */
	uint64_t image_size;
	uint64_t disk_size;
	bool partitioned; /* the table was made here (a bare filesystem image) */
	bool uefi;	  /* installed for UEFI: a GPT, an EFI system partition, GRUB for EFI */
	uint64_t root_size; /* bytes of the root filesystem, grown or not */
	bool sparse;	    /* the image came as a sparse stream (its data extents only) */
	uint64_t received;  /* the image's bytes that crossed the network */
	/* how the image was checked: "sparse" (its data and extent list against the
	 * server's sparse digest: holes not hashed), "readback" (the sparse digest did not
	 * match: the disk read back against the SHA-256), "raw" (the SHA-256, holes hashed as
	 * zeros: an older server, or the image whole) */
	char digest[16];
	double fetch_seconds, total_seconds;
	char failed_step[32]; /* the step a failure happened in ("" on success) */
};

/* Installs the system onto its disk, as above, posting "progress" events at each step,
 * then "success" (the server then sets netboot off). On failure the failure event is
 * posted with the step and the first diagnostic's message, and the error returned with
 * its diagnostic: -EINVAL (the command line or the record lacks something), -ENODEV (no
 * disk), -EEXIST (the disk holds a partition table and wipe was not given), -ENOSPC (the
 * disk is smaller than the image, or has no room for the ESP), -ENOTSUP (a qcow2 image),
 * -ENOENT (the image has no grub-install, or on UEFI no GRUB for EFI), the server's
 * and the edits' errors. */
int xp_installer_run(const struct xp_installer_run_opts *o, struct xp_installer_run_result *res,
		     struct xp_diags *d);

/* The size of the EFI system partition the installer adds: FAT32 needs 33 MiB at least;
 * GRUB's removable image takes a few. */
#define XP_INSTALLER_ESP_SIZE (UINT64_C(64) << 20)

/* The machine's firmware: name "uefi" or "bios" as given (-EINVAL for another), NULL:
 * UEFI when sys_efi (NULL: /sys/firmware/efi, which a kernel booted by UEFI has)
 * exists. */
int xp_installer_firmware(const char *name, const char *sys_efi, bool *uefi);

/* The target disk among the whole disks in sys_block (NULL: /sys/block): the first by
 * name that is not a loop, ram, zram, optical, floppy, md or device-mapper device, not
 * removable, not read-only and not empty. Its name into name. -ENODEV if there is none. */
int xp_installer_pick_disk(const char *sys_block, char *name, size_t size);

#endif
