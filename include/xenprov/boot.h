/*
 * xenprov/boot.h - the boot files the server hands out, rendered from the inventory on
 * request (no sync step): pxelinux configs, GRUB2 configs, iPXE scripts, and the
 * distros' kernels and initrds; anything else is a plain file beneath the TFTP root.
 * TFTP and HTTP serve through this one resolver, so both see the same files.
 *
 * Paths (relative to the root; a leading '/' is taken away, as TFTP clients send both):
 *   pxelinux.cfg/01-aa-bb-cc-dd-ee-ff   the system with that MAC (ARP type 1)
 *   pxelinux.cfg/C0A8010A               the system with that IP (upper-case hex); the
 *                                       shortened forms pxelinux tries next are served
 *                                       only as plain files
 *   pxelinux.cfg/default                a menu of every distro (local boot first)
 *   grub/grub.cfg-01-aa-bb-cc-dd-ee-ff, grub/grub.cfg-C0A8010A, grub/grub.cfg
 *                                       the same for GRUB2's net boot
 *   ipxe/01-aa-bb-cc-dd-ee-ff           an iPXE script for that MAC (kernel and initrd
 *                                       over HTTP); ipxe/default for unknown MACs
 *   distros/NAME/kernel, distros/NAME/initrd
 *                                       the distro's files, from the distro store
 *                                       (never a host path); none for a distro whose
 *                                       files are not in the store
 *   distros/NAME/tree/PATH              the distro's install tree as `xenprov import`
 *                                       recorded it: trees/NAME/PATH of the root (a
 *                                       copy), or the file PATH inside its ISO image
 *   distros/NAME/image.iso              that image itself (an image's tree only)
 *   installer/kernel, installer/initrd  the root's own (xenprov installer build -o
 *                                       ROOT/installer), else the server's cache
 *                                       (xp_boot_opts.installer): -EAGAIN while it is
 *                                       being built
 * A system with netboot off gets a config that boots the local disk (and the file says
 * so: xp_bootfile.local_system, for the server's log).
 *
 * Not here: sockets and protocols (net/, proto/), the inventory's storage (inventory.h).
 */
#ifndef XENPROV_BOOT_H
#define XENPROV_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "xenprov/inventory.h"
#include "xenprov/util.h"

struct xp_boot;

struct xp_boot_opts {
	const char *tftp_root; /* directory of plain files (pxelinux.0, ldlinux.c32, ...) */
	const char *http_base; /* "http://10.0.0.1:8080": for iPXE scripts' URLs; may be NULL */
	const char *server;    /* the server's address as clients reach it (dotted) */
	/* The autoinstall installer's files when the root has none (installer/kernel,
	 * installer/initrd): installer(ctx, "kernel"|"initrd", &fd) opens the one of a
	 * cache (xenprov serve builds it on first use) into *fd, or returns -EAGAIN (not
	 * there yet: being built), -ENOENT (none, nor to be), -errno. NULL: the root's
	 * files only. Called from TFTP's and HTTP's threads: it must not block. */
	int (*installer)(void *ctx, const char *file, int *fd);
	void *installer_ctx;
	/* Never render a marked system's installer entry (its token, its address taken
	 * from the leases): a snapshot's resolver, whose leases and install state are as
	 * old as the snapshot; such a system boots as if unmarked. */
	bool no_install;
};

/* Borrows inv for its lifetime (each open reads the inventory: changes show at once).
 * Opens the TFTP root as a directory: -ENOENT/-ENOTDIR/-EACCES if it cannot; -EACCES
 * too if it is the state directory or holds it (xp_inv_root_check). */
int xp_boot_new(struct xp_inv *inv, const struct xp_boot_opts *opts, struct xp_boot **ret);
void xp_boot_free(struct xp_boot *b);

/* One file to send: either an open file (fd >= 0, owned; its bytes are the size bytes
 * at offset: 0 and the whole file, but for a file inside an ISO image) or rendered
 * bytes in data. */
struct xp_bootfile {
	int fd;
	struct xp_buf data;
	uint64_t offset;
	uint64_t size;
	const char *type; /* MIME type for HTTP (static string) */
	/* A system's config that sends it to its own disk (netboot off): its name, and
	 * what it was answered ("pxelinux LOCALBOOT", "GRUB exit", "iPXE exit"), for the
	 * server's log; "" and NULL for any other file. */
	char local_system[65];
	const char *local_answer;
};

/* Resolves path. -ENOENT: no such file; -EACCES: the path would leave the root (".."
 * components, a symlink pointing out: refused with openat2 RESOLVE_BENEATH), is not a
 * regular file, or is one of the state directory's own files; -EINVAL: an empty,
 * over-long (> 255 bytes) or otherwise bad name; -ENOMEM, -EIO. */
int xp_boot_open(struct xp_boot *b, const char *path, struct xp_bootfile *out);
/* xp_boot_open for a client at IPv4 address peer (host order; 0: unknown): a system
 * marked to install itself (autoinstall.h) is rendered its installer entry, with a
 * fresh token, only when peer is its own address (its reservation, or an address
 * leased to its MAC); to anyone else (and by xp_boot_open) its usual config, so that
 * no other host on the boot network reads or spends its token. */
int xp_boot_open_from(struct xp_boot *b, const char *path, uint32_t peer,
		      struct xp_bootfile *out);
void xp_bootfile_release(struct xp_bootfile *f);

#endif
