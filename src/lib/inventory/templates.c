/*
 * templates.c - autoinstall templates in the inventory (table templates, migration 7):
 * stored by name, checked as Mustache when written, and beside them the templates
 * xenprov ships (template/shipped.c), which a stored template of the same name
 * overrides. Profiles name one with their `autoinstall` key (profile_settings) and
 * systems with their own field (system_templates): removing a template they would
 * lose is refused.
 *
 * Not here: rendering (template/render.c), the variables (template/vars.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/values-internal.h"
#include "xenprov/mustache.h"
#include "xenprov/template.h"

void xp_template_release(struct xp_template *t)
{
	free(t->name);
	free(t->content);
	memset(t, 0, sizeof(*t));
}

bool xp_template_name_valid(const char *name)
{
	return xp_profile_name_valid(name);
}

/* 1 if the inventory stores a template of that name, 0 if not, or -errno. */
static int stored(struct xp_inv *inv, const char *name)
{
	return xp__inv_exists(inv, "SELECT 1 FROM templates WHERE name = ?1", name);
}

/* The checks of a template's content; warnings for the partials it names that are no
 * template (they render as nothing, as Mustache says). */
static int check(struct xp_inv *inv, const char *name, const char *content, size_t len,
		 struct xp_diags *d)
{
	if (!xp_template_name_valid(name))
		return xp__bad_value(d, "name", name, "1-64 letters, digits, '-', '_', '.'",
				     "not a valid template name");
	if (memchr(content, '\0', len))
		return xp__bad_value(d, "content", NULL, NULL,
				     "the template holds a NUL byte: templates are text");
	if (len > XP_MUSTACHE_MAX_TEMPLATE)
		return xp__bad_value(d, "content", NULL, NULL, "larger than %u KiB",
				     XP_MUSTACHE_MAX_TEMPLATE / 1024);
	char **partials;
	size_t n;
	int r = xp_mustache_check(content, len, name, &partials, &n, d);
	if (r == -EBADMSG || r == -EFBIG || r == -ELOOP)
		return -EINVAL;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (strcmp(partials[i], name) == 0)
			continue; /* itself: recursion, bounded when rendered */
		struct xp_template t;
		int e = xp_template_get(inv, partials[i], &t);
		xp_template_release(&t);
		if (e == -ENOENT && d &&
		    xp_diags_add(d, XP_SEV_WARNING, name, 0, 0, "partial", partials[i],
				 "add it with 'xenprov template add'",
				 "it includes '%s', which is no template (it renders as nothing)",
				 partials[i]) < 0)
			e = -ENOMEM;
		if (e < 0 && e != -ENOENT)
			r = e;
	}
	xp_strv_free(partials, n);
	return r;
}

static int store(struct xp_inv *inv, const char *name, const char *content, size_t len,
		 struct xp_diags *d, bool add)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	bool shipped = xp_template_shipped(name) != NULL;
	int e = stored(inv, name);
	if (e < 0) {
		r = e;
		goto fail;
	}
	if (add && (e || shipped)) {
		snprintf(inv->err, sizeof(inv->err),
			 e ? "template '%s' exists"
			   : "xenprov ships a template '%s' (edit it to store your own version)",
			 name);
		xp_inv_commit(inv); /* nothing written */
		return -EEXIST;
	}
	if (!add && !e && !shipped) {
		snprintf(inv->err, sizeof(inv->err), "no template '%s'", name);
		xp_inv_commit(inv);
		return -ENOENT;
	}
	if ((r = check(inv, name, content, len, d)) < 0) {
		xp_inv_commit(inv);
		return r;
	}
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(inv,
				"INSERT INTO templates (name, content, created, updated)"
				" VALUES (?1, ?2, ?3, ?3) ON CONFLICT (name) DO UPDATE SET"
				" content = excluded.content, updated = excluded.updated",
				name, &st);
	if (r < 0)
		goto fail;
	char *text = strndup(content, len);
	if (!text) {
		xp__db_finalize(st);
		r = -ENOMEM;
		goto fail;
	}
	r = xp__db_bind_text(st, 2, text);
	free(text);
	if (r < 0) {
		xp__db_finalize(st);
		goto fail;
	}
	xp__db_bind_int64(st, 3, time(NULL));
	return xp__inv_step_commit(inv, st);
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_template_add(struct xp_inv *inv, const char *name, const char *content, size_t len,
		    struct xp_diags *d)
{
	return store(inv, name, content, len, d, true);
}

int xp_template_update(struct xp_inv *inv, const char *name, const char *content, size_t len,
		       struct xp_diags *d)
{
	return store(inv, name, content, len, d, false);
}

int xp_template_get(struct xp_inv *inv, const char *name, struct xp_template *out)
{
	memset(out, 0, sizeof(*out));
	const struct xp_shipped_template *sh = xp_template_shipped(name);
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(
	    inv, "SELECT content, created, updated FROM templates WHERE name = ?1", name, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		out->stored = true;
		out->content = xp__col_text(st, 0);
		out->created = xp__db_column_int64(st, 1);
		out->updated = xp__db_column_int64(st, 2);
	} else if (rc == XP_DB_DONE && sh) {
		out->content = strdup(sh->text);
	} else {
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	if (r == 0) {
		out->shipped = sh != NULL;
		out->name = strdup(name);
		if (!out->name || !out->content)
			r = -ENOMEM;
	}
	if (r < 0)
		xp_template_release(out);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int xp_template_list(struct xp_inv *inv, char ***names, size_t *n)
{
	int r = xp__inv_names(inv, "SELECT name FROM templates ORDER BY name", names, n);
	if (r < 0)
		return r;
	size_t cap = *n;
	for (const struct xp_shipped_template *t = xp_shipped_templates; t->name; t++) {
		bool have = false;
		for (size_t i = 0; i < *n && !have; i++)
			have = strcmp((*names)[i], t->name) == 0;
		if (have)
			continue;
		char *s = strdup(t->name);
		if (!s || xp_grow(names, &cap, *n, sizeof(char *), 8) < 0) {
			free(s);
			xp_strv_free(*names, *n);
			*names = NULL;
			*n = 0;
			return -ENOMEM;
		}
		(*names)[(*n)++] = s;
	}
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_names);
	return 0;
}

int xp_template_users(struct xp_inv *inv, const char *name, char ***users, size_t *n)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv,
				    "SELECT 'profile ' || profile FROM profile_settings"
				    " WHERE key = 'autoinstall' AND value = ?1"
				    " UNION SELECT 'system ' || system FROM system_templates"
				    " WHERE template = ?1 ORDER BY 1",
				    name, &st);
	if (r < 0)
		return r;
	*users = NULL;
	*n = 0;
	size_t cap = 0;
	int rc;
	while ((rc = xp__db_step(st)) == XP_DB_ROW) {
		char *s = xp__col_text(st, 0);
		if (!s || xp_grow(users, &cap, *n, sizeof(char *), 4) < 0) {
			free(s);
			r = -ENOMEM;
			break;
		}
		(*users)[(*n)++] = s;
	}
	if (r == 0 && rc != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	if (r < 0) {
		xp_strv_free(*users, *n);
		*users = NULL;
		*n = 0;
	}
	return r;
}

int xp_template_remove(struct xp_inv *inv, const char *name)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	bool shipped = xp_template_shipped(name) != NULL;
	int e = stored(inv, name);
	if (e < 0)
		goto fail_e;
	if (!e) {
		snprintf(inv->err, sizeof(inv->err),
			 shipped ? "template '%s' is shipped with xenprov: it cannot be removed"
				 : "no template '%s'",
			 name);
		xp_inv_commit(inv);
		return shipped ? -EPERM : -ENOENT;
	}
	if (!shipped) {
		char **users;
		size_t n;
		if ((e = xp_template_users(inv, name, &users, &n)) < 0)
			goto fail_e;
		if (n) {
			snprintf(inv->err, sizeof(inv->err), "%s%s name%s it", users[0],
				 n > 1 ? " and others" : "", n > 1 ? "" : "s");
			xp_strv_free(users, n);
			xp_inv_commit(inv);
			return -EBUSY;
		}
	}
	if ((e = xp__inv_run(inv, "DELETE FROM templates WHERE name = ?1", name)) < 0)
		goto fail_e;
	return xp_inv_commit(inv);
fail_e:
	xp_inv_rollback(inv);
	return e;
}
