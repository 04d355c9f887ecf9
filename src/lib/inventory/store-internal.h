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
	char err[512];
};

/* Maps an SQLite result to -errno and keeps its message for xp_inv_errmsg. */
int xp__inv_err(struct xp_inv *inv, int rc);
int xp__inv_exec(struct xp_inv *inv, const char *sql);
int xp__inv_prepare(struct xp_inv *inv, const char *sql, sqlite3_stmt **st);

#endif
