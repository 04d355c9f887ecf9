/*
 * store-internal.h - what the inventory's files share: the handle and SQL helpers.
 */
#ifndef XP_INVENTORY_STORE_INTERNAL_H
#define XP_INVENTORY_STORE_INTERNAL_H

#include <stdbool.h>

#include "inventory/db.h"
#include "xenprov/inventory.h"

struct xp_inv {
	struct xp_db *db;
	char *dir;
	int depth;   /* nested xp_inv_begin calls */
	bool doomed; /* an inner level rolled back: the outermost commit rolls back */
	int version; /* schema version */
	/* statements kept prepared for hot paths (the DHCP server's lease writes);
	 * finalized by xp_inv_close */
	struct xp_db_stmt *lease_del, *lease_put;
	/* PostgreSQL's lease claims (xp_lease_claim) */
	struct xp_db_stmt *lease_claim, *lease_drop, *lease_holder;
	/* whether this role may SET LOCAL deadlock_timeout in a claim's transaction: 0
	 * not tried yet, 1 yes, -1 no */
	int claim_deadlock;
	/* the distro store's lock (distro-files.c), held from the first file a
	 * transaction makes or names until it ends; -1 when not held */
	int store_lock;
	bool store_gc; /* remove the store's unnamed files when the transaction ends */
	char err[512];
};

/* Keeps the database's last message for xp_inv_errmsg and returns rc, a -errno from
 * db.h (-EIO for a step's XP_DB_ROW or XP_DB_DONE where the other was expected). */
int xp__inv_err(struct xp_inv *inv, int rc);
int xp__inv_exec(struct xp_inv *inv, const char *sql);
/* A transaction for row-locking writes only: PostgreSQL's BEGIN without the writers'
 * advisory lock or notification (xp_inv_begin), with deadlock_timeout 50 ms in it where
 * claim_deadlock says the role may (in the same round trip); SQLite's BEGIN IMMEDIATE. */
int xp__inv_begin_rows(struct xp_inv *inv);
int xp__inv_prepare(struct xp_inv *inv, const char *sql, struct xp_db_stmt **st);

/* The distro store (distro-files.c). The lock is taken by an import and released by
 * the transaction's end (xp_inv_commit/xp_inv_rollback at the outermost level), after
 * the collection of unnamed files if store_gc asks for it. */
int xp__store_lock(struct xp_inv *inv);
void xp__store_unlock(struct xp_inv *inv);
void xp__store_gc(struct xp_inv *inv);
/* A file on its way into the store: copied in (unnamed) before the transaction, named
 * inside it. */
struct xp__staged {
	int tmp;	/* the copy, unnamed (O_TMPFILE), or under named */
	char named[32]; /* its temporary name where O_TMPFILE is not to be had */
	char hex[65];	/* the SHA-256 of its bytes */
	bool ref;	/* a file already in the store (sha256:HEX): nothing copied */
};
#define XP__STAGED_INIT                                                                            \
	{                                                                                          \
		.tmp = -1                                                                          \
	}
/* Stages the file src (key: the field, for diagnostics): "sha256:HEX" (a file of the
 * store, checked when named), or an absolute path (opened with the caller's rights, or
 * when confined only beneath the allowed roots) copied in and hashed. No lock is taken.
 * -EINVAL or -EACCES (not allowed) with a diagnostic; -ENOMEM, -EIO... */
int xp__distro_file_stage(struct xp_inv *inv, const char *key, const char *src, bool confined,
			  struct xp__staged *st, struct xp_diags *d);
/* Stages len bytes at off of the caller's open file (src: a file of a tree being
 * imported, or the ISO image holding it), recorded as source in messages. -EACCES
 * with a diagnostic when it is one of the state directory's files. */
int xp__distro_file_stage_region(struct xp_inv *inv, const char *key,
				 const struct xp_distro_region *src, const char *source,
				 struct xp__staged *st, struct xp_diags *d);
/* Inside the writer's transaction: takes the store's lock (kept until the transaction
 * ends) and names the staged copy by its digest, or checks that a sha256: file is
 * there (-EINVAL with a diagnostic if not). */
int xp__distro_file_name(struct xp_inv *inv, const char *key, struct xp__staged *st,
			 struct xp_diags *d);
/* Lets go of a staged file (an unnamed copy vanishes). */
void xp__distro_file_drop(struct xp_inv *inv, struct xp__staged *st);

#endif
