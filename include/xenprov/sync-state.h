/*
 * xenprov/sync-state.h - what `xenprov sync` remembers in the inventory (migration 6,
 * inventory/sync-state.c): a clock of the changes a sync renders, which systems
 * changed at which count, and per target (a TFTP root, a DHCP server's include file)
 * the count it was synced at and every file it wrote there with its digest. So the
 * next sync renders only the systems changed since (or everything, after a change
 * that is not one system's) and writes only the files whose bytes differ.
 *
 * The clock is kept by triggers on the inventory's tables, so every writer (the
 * command line, the HTTP API, another engineer's new command) counts without knowing.
 * A change of a system (added, edited, renamed, removed) records its name(s) with the
 * new count; a change of a distro, its files, a profile, its settings or a server
 * setting moves `world` to the new count.
 *
 * Not here: rendering and writing the files (sync.h).
 */
#ifndef XENPROV_SYNC_STATE_H
#define XENPROV_SYNC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/inventory.h"

struct xp_sync_clock {
	int64_t seq;   /* the count of the last change */
	int64_t world; /* the count of the last change that is not one system's */
};

/* The clock now (in the caller's transaction, if any: read it in the same snapshot as
 * what is rendered). */
int xp_sync_clock_get(struct xp_inv *inv, struct xp_sync_clock *c);

/* The names of the systems changed (added, edited, renamed from or to, removed) after
 * count seq, sorted; *names a heap array (xp_strv_free). */
int xp_sync_changed_since(struct xp_inv *inv, int64_t seq, char ***names, size_t *n);

/* A target as recorded. */
struct xp_sync_target_rec {
	int64_t id;	 /* 0: not recorded yet (xp_sync_record makes the row) */
	char *kind;	 /* "tftp", "dnsmasq", "isc-dhcpd", "kea" */
	char *path;	 /* the TFTP root or the include file (absolute) */
	char *path2;	 /* kea: the client classes file, or NULL */
	char *subnet;	 /* "A.B.C.D/N" the DHCP files were limited to, or NULL */
	char *options;	 /* a digest of what else decides the files' bytes, or NULL */
	int64_t seq;	 /* the clock's count it was last synced at (0: never) */
	int64_t synced;	 /* unix time of that sync, 0 never */
	char *http_base; /* tftp: the HTTP base the sync was given ("" none), or NULL:
			  * derived from the settings */
};
void xp_sync_target_rec_release(struct xp_sync_target_rec *t);
/* -ENOENT when kind and path were never synced. */
int xp_sync_target_get(struct xp_inv *inv, const char *kind, const char *path,
		       struct xp_sync_target_rec *out);
/* Every recorded target, by kind then path; *v a heap array (release each, free). */
int xp_sync_target_list(struct xp_inv *inv, struct xp_sync_target_rec **v, size_t *n);
/* Forgets a target and its files' records (the files stay). -ENOENT. */
int xp_sync_target_remove(struct xp_inv *inv, const char *kind, const char *path);

/* A file a target holds. */
struct xp_sync_file_rec {
	char *path;	 /* relative to the TFTP root, or the include file's own path */
	char *owner;	 /* the system it is for, "grub:XX" (a GRUB file of MACs ending in XX),
			  * or "" (menus, distro files, includes) */
	char sha256[65]; /* of its bytes as written */
	char *stamp;	 /* include files: "size:mtime_ns:inode" after writing, else NULL */
};
void xp_sync_file_rec_release(struct xp_sync_file_rec *f);
void xp_sync_files_free(struct xp_sync_file_rec *v, size_t n);
/* The files target holds: all of them (owners NULL), or those of the n_owners systems
 * named. Sorted by path; *v a heap array (xp_sync_files_free). */
int xp_sync_files_get(struct xp_inv *inv, int64_t target, char *const *owners, size_t n_owners,
		      struct xp_sync_file_rec **v, size_t *n);

/* Records a completed sync of t in one transaction: t's row (made when t->id is 0, and
 * t->id set), its count, time, subnet and options; the files written (added or
 * replaced: path, owner, digest, stamp) and those removed; and forgets the changes
 * every target has seen since. A dry run records nothing. */
int xp_sync_record(struct xp_inv *inv, struct xp_sync_target_rec *t,
		   const struct xp_sync_file_rec *put, size_t n_put, char *const *removed,
		   size_t n_removed);

#endif
