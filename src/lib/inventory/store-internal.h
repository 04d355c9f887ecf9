/*
 * store-internal.h - what the inventory's files share: the handle and SQL helpers.
 */
#ifndef XP_INVENTORY_STORE_INTERNAL_H
#define XP_INVENTORY_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>

#include "xenprov/inventory.h"

struct xp_inv {
	sqlite3 *db;
	char *dir;
	int depth;   /* nested xp_inv_begin calls */
	bool doomed; /* an inner level rolled back: the outermost commit rolls back */
	int version; /* schema version */
	/* statements kept prepared for hot paths (the DHCP server's lease writes);
	 * finalized by xp_inv_close */
	sqlite3_stmt *lease_del, *lease_put;
	/* the distro store's lock (distro-files.c), held from the first file a
	 * transaction makes or names until it ends; -1 when not held */
	int store_lock;
	bool store_gc; /* remove the store's unnamed files when the transaction ends */
	char err[512];
};

/* Maps an SQLite result to -errno and keeps its message for xp_inv_errmsg. */
int xp__inv_err(struct xp_inv *inv, int rc);
int xp__inv_exec(struct xp_inv *inv, const char *sql);
int xp__inv_prepare(struct xp_inv *inv, const char *sql, sqlite3_stmt **st);

/* The distro store (distro-files.c). The lock is taken by an import and released by
 * the transaction's end (xp_inv_commit/xp_inv_rollback at the outermost level), after
 * the collection of unnamed files if store_gc asks for it. */
int xp__store_lock(struct xp_inv *inv);
void xp__store_unlock(struct xp_inv *inv);
void xp__store_gc(struct xp_inv *inv);
/* Puts the file src (key: the field, for diagnostics) into the store and gives its
 * digest in hex: src is "sha256:HEX" (a file of the store), or an absolute path (opened
 * with the caller's rights, or when confined only beneath the allowed roots). Takes the
 * store lock. -EINVAL or -EACCES (not allowed) with a diagnostic; -ENOMEM, -EIO... */
int xp__distro_file_import(struct xp_inv *inv, const char *key, const char *src, bool confined,
			   char hex[65], struct xp_diags *d);

#endif
