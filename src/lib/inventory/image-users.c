/*
 * image-users.c - who uses a version of a captured image (imgstore.h), for `image rm`:
 * profiles whose own image is NAME@V (or NAME, which follows the latest version), and
 * guests whose recorded image version (the domain_images table: image NAME,
 * version V, where the inventory has that table) is NAME@V.
 *
 * Not here: the store itself (image/imgstore.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "inventory/store-internal.h"
#include "xenprov/imgstore.h"
#include "xenprov/inventory.h"

static int add(char ***v, size_t *n, size_t *cap, const char *kind, const char *name)
{
	char *s;
	if (asprintf(&s, "%s %s", kind, name) < 0)
		return -ENOMEM;
	if (xp_grow(v, cap, *n, sizeof(**v), 8) < 0) {
		free(s);
		return -ENOMEM;
	}
	(*v)[(*n)++] = s;
	return 0;
}

/* Whether image value val (a profile's) names name@version. */
static bool names_version(const char *val, const char *name, unsigned version, bool latest)
{
	char n[XP_IMGVER_NAME_MAX + 1];
	unsigned v;
	if (!val || xp_imgver_parse_ref(val, n, &v, NULL) < 0 || strcmp(n, name))
		return false;
	return v == version || (v == 0 && latest);
}

static int has_column(struct xp_inv *inv, bool *has)
{
	struct xp_db_stmt *st;
	*has = false;
	int r = xp__inv_prepare(inv, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
				     "name = 'domain_images'", &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	*has = rc == XP_DB_ROW;
	xp__db_finalize(st);
	return rc == XP_DB_ROW || rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
}

int xp_imgver_users(struct xp_inv *inv, const char *name, unsigned version, bool latest,
		    char ***users, size_t *n, bool *guests_known)
{
	*users = NULL;
	*n = 0;
	size_t cap = 0;
	char **profiles = NULL;
	size_t np = 0;
	int r = xp_profile_list(inv, &profiles, &np);
	for (size_t i = 0; r == 0 && i < np; i++) {
		struct xp_profile p;
		if ((r = xp_profile_get(inv, profiles[i], &p)) < 0)
			break;
		if (names_version(xp_settings_get(&p.set, "image"), name, version, latest))
			r = add(users, n, &cap, "profile", p.name);
		xp_profile_release(&p);
	}
	for (size_t i = 0; i < np; i++)
		free(profiles[i]);
	free(profiles);
	bool has = false;
	if (r == 0)
		r = has_column(inv, &has);
	*guests_known = has;
	if (r == 0 && has) {
		struct xp_db_stmt *st;
		r = xp__inv_prepare(inv, "SELECT domain FROM domain_images WHERE image = ?1 "
					 "AND version = ?2 ORDER BY domain", &st);
		if (r == 0) {
			xp__db_bind_text(st, 1, name);
			xp__db_bind_int64(st, 2, version);
			int rc;
			while (r == 0 && (rc = xp__db_step(st)) == XP_DB_ROW)
				r = add(users, n, &cap, "guest", xp__db_column_text(st, 0));
			if (r == 0 && rc != XP_DB_DONE)
				r = xp__inv_err(inv, rc);
			xp__db_finalize(st);
		}
	}
	if (r < 0) {
		for (size_t i = 0; i < *n; i++)
			free((*users)[i]);
		free(*users);
		*users = NULL;
		*n = 0;
	}
	return r;
}
