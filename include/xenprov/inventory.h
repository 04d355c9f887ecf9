/*
 * xenprov/inventory.h - the inventory: what guests should be (profiles) and what exists
 * (domains, their MACs and IPs, the journal of deploys in progress), in one SQLite
 * database in the state directory.
 *
 * The store: WAL, foreign keys, a busy timeout so that several xenprov commands can run
 * at once, every change in a transaction, versioned schema migrations (PRAGMA
 * user_version) applied on open. The boot server (distros, systems, leases) adds its
 * tables through the same migrations.
 *
 * Not here: building images (image.h), writing configs (xl-config.h), running deploys.
 */
#ifndef XENPROV_INVENTORY_H
#define XENPROV_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/util.h"

struct xp_inv;

/* The state directory: $XENPROV_STATE_DIR, else /var/lib/xenprov for root, else
 * $XDG_STATE_HOME/xenprov (~/.local/state/xenprov). Heap string. */
int xp_state_dir_default(char **out);

/* Opens (creating the directory, mode 0700, and the database) and migrates. */
int xp_inv_open(const char *state_dir, struct xp_inv **ret);
void xp_inv_close(struct xp_inv *inv);
const char *xp_inv_state_dir(const struct xp_inv *inv);
/* The last database error's text, for messages. */
const char *xp_inv_errmsg(const struct xp_inv *inv);
/* The schema version now in force. */
int xp_inv_schema_version(const struct xp_inv *inv);

/* Transactions (BEGIN IMMEDIATE: writers queue, readers are not blocked). Nested calls
 * are counted: only the outermost commit commits. A rollback at an inner level dooms
 * the whole transaction: further nested begins and every commit up to the outermost
 * return -ECANCELED, and the outermost commit rolls everything back. */
int xp_inv_begin(struct xp_inv *inv);
int xp_inv_commit(struct xp_inv *inv);
void xp_inv_rollback(struct xp_inv *inv);

/* ---- settings: ordered key/value lists --------------------------------------------- */

struct xp_kv {
	char *key;
	char *value;
};

struct xp_settings {
	struct xp_kv *v;
	size_t n, cap;
};

void xp_settings_release(struct xp_settings *s);
/* Sets key (replacing an earlier value). */
int xp_settings_set(struct xp_settings *s, const char *key, const char *value);
int xp_settings_unset(struct xp_settings *s, const char *key);
const char *xp_settings_get(const struct xp_settings *s, const char *key);

/* ---- profiles ------------------------------------------------------------------------ */

/* The keys a profile may set, with what they take (for --help and validation):
 *   image PATH (tarball or image), disk-size SIZE, memory MIB, vcpus N, swap SIZE,
 *   fs ext2|ext3|ext4, label msdos|gpt|none, storage file|reflink|qcow2|lvm,
 *   pool DIR|VG, bridge IFNAME, boot pygrub|pvgrub|kernel, kernel PATH, ramdisk PATH,
 *   root DEV, extra TEXT, network dhcp|static, ip-pool CIDR, gateway IPV4,
 *   dns IPV4[,IPV4...], domain DNSNAME, root-password-hash CRYPT, ssh-key KEYLINE,
 *   mac-prefix XX[:XX...] (1-5 octets; the guests' random MACs start with it),
 *   config.NAME VALUE (any further xl setting, value in config syntax). */
struct xp_profile_key {
	const char *key;
	const char *arg;  /* placeholder for usage text */
	const char *help;
};
extern const struct xp_profile_key xp_profile_keys[];

/* Validates and normalises one profile value (sizes to bytes, memory to MiB, ...).
 * -EINVAL with a diagnostic saying what is wrong; *out is a heap string. */
int xp_profile_check(const char *key, const char *value, char **out, struct xp_diags *d);

struct xp_profile {
	char *name;
	char *parent; /* NULL for none */
	struct xp_settings set; /* this profile's own values */
	int64_t created, updated; /* unix seconds */
};

void xp_profile_release(struct xp_profile *p);
bool xp_profile_name_valid(const char *name);

/* Each call is one transaction (or a part of the caller's). A refusal (-EINVAL for a
 * bad name, -EEXIST, -ENOENT, -ELOOP, -EBUSY) changes nothing and leaves the caller's
 * transaction usable; other failures doom it (see xp_inv_begin). */

/* Adds a profile: -EEXIST if the name is taken, -ENOENT if the parent is missing. */
int xp_profile_add(struct xp_inv *inv, const struct xp_profile *p);
/* Replaces a profile's parent and values: -ENOENT, or -ELOOP if the parent chain
 * would come back to it. */
int xp_profile_update(struct xp_inv *inv, const struct xp_profile *p);
int xp_profile_get(struct xp_inv *inv, const char *name, struct xp_profile *out);
/* Names, sorted. */
int xp_profile_list(struct xp_inv *inv, char ***names, size_t *n);
/* -ENOENT; -EBUSY if a profile or a domain still uses it. */
int xp_profile_remove(struct xp_inv *inv, const char *name);
/* The effective values: the parent chain's, each overridden by its child's. */
int xp_profile_resolve(struct xp_inv *inv, const char *name, struct xp_settings *out);

void xp_strv_free(char **v, size_t n);

#endif
