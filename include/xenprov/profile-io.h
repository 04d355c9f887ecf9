/*
 * xenprov/profile-io.h - profiles out of and into an inventory as JSON: what
 * `xenprov profile export` writes and `xenprov profile import` reads, an array of
 * {"name", "parent", "settings": {KEY: VALUE, ...}, "withheld": [KEY, ...]} (each
 * element xp_profile_to_json, inventory-json.h). Both directions order profiles by one
 * rule, xp_profile_order: parents before their children.
 *
 * Nothing here prints. Every problem is a diagnostic whose msg is the whole sentence
 * (e.g. "'FILE': profile 'web': memory: between 16 MiB and 16 TiB"); text, when set, is
 * the offending value, which a printer quotes after it; file names the document; code
 * says which problem it is, for scripts and tests (listed with each function).
 * Secret values are never in a diagnostic.
 *
 * Not here: a profile's JSON itself (inventory-json.h), the checks of its values
 * (xp_profile_check), reading the file or standard input (the caller's).
 */
#ifndef XENPROV_PROFILE_IO_H
#define XENPROV_PROFILE_IO_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "xenprov/inventory.h"

/* Orders profiles parents first: order[0..n) receives the indices of v[0..n) such that
 * a profile comes after its parent when the parent is among v. Profiles with as many
 * ancestors among v keep the order they have in v, so names sorted in v stay sorted
 * within each generation. A parent that is not among v is no error: its child is a root
 * here (the parent may be in an inventory). file (may be NULL) names the source in the
 * messages: "'FILE': profile 'a': ...". -EINVAL with an error diagnostic per problem,
 * order undefined: a name v holds more than once (code "duplicate"; then nothing more is
 * checked), or else the first profile (in v's order) whose parent chain comes back to
 * itself or runs into such a loop (code "cycle"). -ENOMEM. O(n log n). */
int xp_profile_order(const struct xp_profile *v, size_t n, const char *file, size_t *order,
		     struct xp_diags *d);

/* The profiles named in names[0..n) (every profile when n is 0) as a JSON array (*out,
 * a new reference) of xp_profile_to_json(p, secrets), read in one transaction and
 * ordered parents first by xp_profile_order over all the inventory's profiles (names
 * sorted: the same inventory always gives the same bytes). -ENOENT (code "no-profile")
 * for the first name that is not a profile; -errno (code "store") when the inventory
 * cannot be read; -ENOMEM without a diagnostic. */
int xp_profile_export(struct xp_inv *inv, const char *const *names, size_t n, bool secrets,
		      json_t **out, struct xp_diags *d);

/* Profiles read from an export, checked, in the order they are written: parents in the
 * set before their children (xp_profile_order; ties in the document's order). */
struct xp_profile_set {
	struct xp_profile *v;
	/* withheld[i]: the secret keys the export left out of v[i] (keys only, values
	 * empty); an import keeps what the profile has there */
	struct xp_settings *withheld;
	size_t n;
	char *file; /* how messages name the document */
};

void xp_profile_set_release(struct xp_profile_set *s);

/* Reads the document data[0..len) into *out (release it, also after a failure), every
 * value checked and normalised by xp_profile_check (an image need not exist here; a
 * number stands for its decimal text). file names the document in messages ("FILE" or
 * "(stdin)"). Nothing touches an inventory.
 *   -EBADMSG with one diagnostic when the bytes are not JSON (code "json"; line and col
 *   set) or not an array (code "document"): no profile was read;
 *   -EINVAL with a diagnostic per error found in the profiles, all of them: an element
 *   that is not an object, a member other than name, parent, settings and withheld, a
 *   missing or bad name or parent (code "member", "name"), settings not an object, a
 *   value that is not a string or a number (code: its key), a bad value (code: its key,
 *   as xp_profile_check says, text the value unless it is a secret), withheld not an
 *   array of secret keys or naming a key that is set (code "withheld"), then
 *   xp_profile_order's (a duplicate name, a cycle);
 *   -ENOMEM. */
int xp_profile_import_read(const char *data, size_t len, const char *file,
			   struct xp_profile_set *out, struct xp_diags *d);

/* xp_profile_import flags: a profile that exists is replaced (its parent and all its
 * values), not refused. */
#define XP_IMPORT_REPLACE 0x1u

/* Writes the set into the inventory in one transaction (joining the caller's), in
 * order: all or nothing. A profile replaced (XP_IMPORT_REPLACE) keeps its own value of
 * each key s withheld. On success *added and *replaced count them, and d gets a warning
 * (code "withheld") for each withheld key left unset (a profile made here, or one that
 * had no value of its own). On failure nothing is written and d says why (one error):
 *   -EEXIST, a profile exists and flags lack XP_IMPORT_REPLACE (code "exists");
 *   -ENOENT, a parent neither in s nor in the inventory (code "parent");
 *   -ELOOP, a parent that would close a loop with the inventory's profiles (code
 *   "parent");
 *   -errno, the inventory failed (code "store"); -ENOMEM without a diagnostic. */
int xp_profile_import(struct xp_inv *inv, const struct xp_profile_set *s, unsigned flags,
		      size_t *added, size_t *replaced, struct xp_diags *d);

#endif
