/*
 * values-internal.h - what the inventory's records (profiles, distros, systems, server
 * settings) share: value checks, a diagnostic helper, reading columns and names. The
 * rules of each kind of record stay in its own file.
 */
#ifndef XP_INVENTORY_VALUES_INTERNAL_H
#define XP_INVENTORY_VALUES_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "inventory/store-internal.h"

/* Adds an error "KEY: MESSAGE" (code KEY, text VALUE) to d (may be NULL); returns
 * -EINVAL. */
int xp__bad_value(struct xp_diags *d, const char *key, const char *value, const char *hint,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A strict dotted quad (inet_pton: four decimal parts, no leading zeros), host order. */
bool xp__ipv4_parse(const char *s, uint32_t *host);
/* A network "A.B.C.D/N" with 8 <= N <= 30 (what an ip-pool takes): its network
 * address (host order, the host bits of A.B.C.D cleared) and N. */
bool xp__cidr_parse(const char *s, uint32_t *net, unsigned *bits);
/* An address a host can have: not 0.0.0.0, 255.255.255.255 or multicast (224/4). */
bool xp__ipv4_host(uint32_t host);
/* Host-order address as dotted text into buf (16 bytes). */
char *xp__ipv4_format(uint32_t host, char buf[16]);
/* One or more RFC 1123 labels separated by dots (letters, digits, '-' not first or
 * last, 1-63 each, 253 in all). */
bool xp__dns_name_valid(const char *s);
/* No control characters (a kernel command line is one line). */
bool xp__one_line(const char *s);
/* A system's or distro's kernel options (NULL: none): one line, and no word claiming
 * the boot server's own arguments (xp_kernel_options_reserved). 0, or -EINVAL with a
 * diagnostic for kernel-options. */
int xp__kernel_options_check(const char *opts, struct xp_diags *d);
/* A setting whose value is an absolute directory path on one line: *out the path
 * without trailing slashes (a heap string), or -EINVAL with a diagnostic for key. */
int xp__dir_check(const char *key, const char *value, char **out, struct xp_diags *d);
/* *out a heap string printed from fmt: 0, or -ENOMEM (*out NULL). */
int xp__dupf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* *out the dotted text of a host-order address, a heap string. 0 or -ENOMEM. */
int xp__ipv4_dup(uint32_t host, char **out);
/* A heap copy of s, or NULL for NULL or "" (optional text columns). 0 or -ENOMEM. */
int xp__dup_opt(const char *s, char **out);

/* The text of column i as a heap string (NULL for NULL). */
char *xp__col_text(struct xp_db_stmt *st, int i);
/* Steps st (prepared; finalized here) to its end and collects its rows into the
 * array *vp points at (some T *; elements of size bytes, room for first to begin
 * with): read(st, element) returns 1 to keep the row, 0 to skip it, or -errno, which
 * stops; a row skipped or failed leaves nothing allocated. On failure every row kept
 * is released (release may be NULL) and the array freed: *vp NULL, *n 0. 0 or -errno. */
int xp__inv_rows(struct xp_inv *inv, struct xp_db_stmt *st, void *vp, size_t *n, size_t size,
		 size_t first, int (*read)(struct xp_db_stmt *st, void *row),
		 void (*release)(void *row));
/* Runs sql (one text column, no parameters) and collects the rows. */
int xp__inv_names(struct xp_inv *inv, const char *sql, char ***names, size_t *n);
/* Runs sql with ?1 bound to arg; 1 if it returns a row, 0 if not, or -errno. */
int xp__inv_exists(struct xp_inv *inv, const char *sql, const char *arg);

/* Prepares sql with ?1 bound to arg (a text, borrowed: it must outlive the
 * statement). 0 or -errno. */
int xp__inv_prepare_arg(struct xp_inv *inv, const char *sql, const char *arg,
			struct xp_db_stmt **st);

/* Runs sql (an INSERT, UPDATE or DELETE with ?1 bound to arg) to its end in the
 * caller's transaction: the number of rows it changed, or -errno. */
int xp__inv_run(struct xp_inv *inv, const char *sql, const char *arg);

/* Runs sql (?1 bound to arg) for its one row of n integers (counts), into v. 0 or
 * -errno. */
int xp__inv_counts(struct xp_inv *inv, const char *sql, const char *arg, int *v, int n);

/* The start of a removal: a transaction level begun (xp_inv_begin) and sql (a DELETE
 * with ?1 bound to arg) run in it. 0 with the level open for the caller to end;
 * -ENOENT if it removed nothing (the level ended, nothing written; the last error is
 * the absent format); or -errno (rolled back). */
int xp__inv_remove(struct xp_inv *inv, const char *sql, const char *arg, const char *absent, ...)
    __attribute__((format(printf, 4, 5)));

/* A record's optional value kept in a table of its own, one row per record (migration
 * 7's distro_os, system_templates: tables, not columns, so that a migration runs again
 * cleanly): with value, table's row keycol = key set to valcol = value (inserted or
 * updated); without, the row removed. In the caller's transaction: 0 or -errno. table
 * and the columns are the caller's constants. */
int xp__inv_side_value(struct xp_inv *inv, const char *table, const char *keycol,
		       const char *valcol, const char *key, const char *value);

/* Runs st (a prepared INSERT, UPDATE or DELETE) to its end and finalizes it: 0, or
 * -errno (the reason in the inventory's last error). */
int xp__inv_step_done(struct xp_inv *inv, struct xp_db_stmt *st);

/* Ends a write at the caller's xp_inv_begin level: runs st (a prepared INSERT,
 * UPDATE or DELETE) to its end, finalizes it, then commits, or rolls back and returns
 * the error if the statement failed. */
int xp__inv_step_commit(struct xp_inv *inv, struct xp_db_stmt *st);

/* The rows of distros (with their store digests) and systems: the query, to which a
 * WHERE or ORDER BY may be appended, and the reader of one row into a struct xp_distro
 * or xp_system (which it fills whole): 1, or -ENOMEM with nothing left allocated. The
 * getters (distro.c, system.c) and the snapshot (snapshot.c) read them alike. */
#define XP__DISTRO_SELECT                                                                         \
	"SELECT name, kernel, initrd, arch, kernel_options, created, updated, kernel_sha256,"     \
	" initrd_sha256, coalesce(distro_os.os, distro_trees.family) FROM distros"                \
	" LEFT JOIN distro_files ON distro_files.distro = name"                                   \
	" LEFT JOIN distro_os ON distro_os.distro = name"                                         \
	" LEFT JOIN distro_trees ON distro_trees.distro = name"
int xp__distro_row(struct xp_db_stmt *st, void *row);
#define XP__SYSTEM_SELECT                                                                         \
	"SELECT name, mac, ip, profile, distro, hostname, netboot, kernel_options, created,"       \
	" updated, template FROM systems LEFT JOIN system_templates ON system = name"
int xp__system_row(struct xp_db_stmt *st, void *row);

#endif
