/*
 * xenprov/sync.h - `xenprov sync`: the inventory written out for sites that keep their
 * own DHCP and TFTP servers (Cobbler's `cobbler sync`), where `xenprov serve`, which
 * renders everything on request, does not run.
 *
 * Targets:
 *   tftp       a TFTP root: per system pxelinux.cfg/01-MAC, grub/grub.cfg-01-MAC and
 *              ipxe/01-MAC, the menus pxelinux.cfg/default, grub/grub.cfg and
 *              ipxe/default, and each distro's distros/NAME/kernel and initrd: the
 *              very files `xenprov serve` renders (boot/, one set of renderers);
 *   dnsmasq    an include file (conf-file=) of dhcp-host lines and the PXE options;
 *   isc-dhcpd  an include file (include "...";) of host declarations and the PXE
 *              statements;
 *   kea        a JSON array of one subnet's reservations (<?include?> it into the
 *              subnet's "reservations"), and optionally (path2) a JSON array of
 *              client classes with the boot files (into Dhcp4's "client-classes").
 * A system with an autoinstall template gets its installer's argument (preseed url=,
 * inst.ks=, ...) pointing at the target's HTTP base, as serve renders it; the
 * kernels are still fetched from the TFTP root.
 * Boot files are decided as `xenprov serve` decides them: BIOS PXE the bios-boot-file,
 * x86-64 UEFI the efi64-boot-file, iPXE its own ipxe/01-MAC script; systems with
 * netboot off none.
 *
 * Incremental (xenprov/sync-state.h): a target remembers the change count it was
 * synced at and the digest of each file it wrote. A sync renders only the systems
 * changed since (everything after a change that is not one system's: a distro, a
 * profile, a setting), writes only files whose bytes differ, removes the files of
 * systems gone, and when nothing changed renders and writes nothing at all. Files are
 * replaced atomically (a temporary beside them, renamed), made durable before they are
 * recorded. A file at a target's path that sync did not write is never replaced (a
 * conflict, reported) unless it already holds the same bytes (then it is adopted) or
 * `force`; so a site's own files, and its main config, are safe.
 *
 * DHCP include files are checked by the server's own checker (dnsmasq --test, dhcpd -t,
 * kea-dhcp4 -t) on a wrapper config of ours that includes the candidate, before the
 * candidate replaces the old file: a refused candidate leaves the old file in place.
 * A checker that is not installed is a warning (the file is written unchecked), or a
 * failure with require_check.
 *
 * Not here: the state's SQL (inventory/), the renderers (boot/).
 */
#ifndef XENPROV_SYNC_H
#define XENPROV_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/inventory.h"
#include "xenprov/util.h"

enum xp_sync_kind { XP_SYNC_TFTP, XP_SYNC_DNSMASQ, XP_SYNC_ISC_DHCPD, XP_SYNC_KEA };

/* "tftp", "dnsmasq", "isc-dhcpd", "kea" (the names the state records). */
const char *xp_sync_kind_name(enum xp_sync_kind k);
/* -EINVAL for another name. */
int xp_sync_kind_parse(const char *name, enum xp_sync_kind *k);

struct xp_sync_target {
	enum xp_sync_kind kind;
	const char *path;      /* the TFTP root, or the include file: absolute */
	const char *path2;     /* kea: the client classes file, or NULL */
	const char *subnet;    /* DHCP targets: only systems with an address in this subnet
				* ("A.B.C.D/N") and those without one; NULL: all. Kea needs
				* one: NULL takes the one pool's subnet */
	const char *http_base; /* tftp: where installers fetch /autoinstall/SYSTEM
				* ("http[s]://HOST[:PORT][/PATH]"): the boot files of a
				* system with a template carry the argument `xenprov
				* serve` renders for it (boot/target.c); "" none; NULL
				* derived from the settings as serve derives its own
				* (server, http-port), none when server is not set */
};

enum xp_sync_action {
	XP_SYNC_WRITE,	  /* written (new or changed) */
	XP_SYNC_REMOVE,	  /* removed: its system is gone or boots nothing now */
	XP_SYNC_ADOPT,	  /* already there with the bytes sync would write: recorded */
	XP_SYNC_CONFLICT, /* there, not written by sync, other bytes: left alone */
};

/* One file's fate, as it is decided (before anything is written). path is relative to
 * the TFTP root, or the include file's own path. */
struct xp_sync_event {
	const struct xp_sync_target *target;
	const char *path;
	enum xp_sync_action action;
};

struct xp_sync_opts {
	bool dry_run;	    /* decide and report, write and record nothing (include files
			     * are still checked, as candidates in a private directory) */
	bool require_check; /* a DHCP server's checker missing fails its target */
	bool full;	    /* render everything and compare with the bytes on disk (files
			     * changed or removed behind sync's back are put back) */
	bool force;	    /* replace files sync did not write */
	void (*event)(void *ctx, const struct xp_sync_event *e); /* may be NULL */
	void *ctx;
};

enum xp_sync_check {
	XP_SYNC_CHECK_NONE,    /* nothing to check: a TFTP root, or no file to write */
	XP_SYNC_CHECK_PASSED,  /* the server's checker took the candidate */
	XP_SYNC_CHECK_MISSING, /* the checker is not installed: written unchecked */
	XP_SYNC_CHECK_REFUSED, /* the checker refused it: the old file stays */
};

struct xp_sync_result {
	int status;	   /* 0, or -errno: this target failed (why: in the diags) */
	bool up_to_date;   /* nothing changed since its last sync: nothing rendered */
	bool rendered_all; /* everything rendered (first sync, a change not one
			    * system's, other options, full) */
	size_t systems;	   /* systems rendered */
	size_t written, removed, unchanged, adopted, conflicts;
	size_t left_out; /* DHCP: systems not in the file (outside the subnet, or a
			  * MAC or address that does not read) */
	enum xp_sync_check check;
	const char *checker; /* the checker's command name (static), or NULL */
};

/* Syncs the n targets in turn, each under a lock of its directory (a concurrent sync
 * of the same target waits), into res[i]. Every warning and error goes into d, with
 * the target's path as its file. 0 when every target synced; else the first failure's
 * -errno (the other targets are synced all the same). */
int xp_sync_run(struct xp_inv *inv, const struct xp_sync_target *t, size_t n,
		const struct xp_sync_opts *o, struct xp_sync_result *res, struct xp_diags *d);

#endif
