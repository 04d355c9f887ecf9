/*
 * profile-io.c - profiles out of and into the inventory as JSON (xenprov/profile-io.h):
 * the export, the import's reading and checking of a document, and its all-or-nothing
 * write; one parents-first order (xp_profile_order) for both directions.
 *
 * Not here: a profile's JSON (json.c), the checks of its values (profile.c), files and
 * printing (the command).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/inventory-json.h"
#include "xenprov/profile-io.h"

/* ---- messages ------------------------------------------------------------------------ */

/* A document's errors are xp_diags_fail calls whose message is the whole sentence,
 * "'FILE': " first (profile-io.h), the prefix built once per function or element. */

/* The inventory failed: "cannot WHAT 'NAME': REASON", with the database's own words for
 * I/O errors and corruption (code "store"). Returns r; -ENOMEM leaves no message (there
 * is no memory to write one). */
static int store_error(struct xp_inv *inv, struct xp_diags *d, int r, const char *what,
		       const char *name)
{
	char why[512];
	if (r == -ENOMEM)
		return r;
	return xp_diags_fail(d, r, NULL, "store", NULL, "cannot %s '%s': %s", what, name,
			     xp_inv_reason(inv, r, why, sizeof(why)));
}

/* ---- the order ----------------------------------------------------------------------- */

struct name_ix {
	const char *name;
	size_t i;
};

static int cmp_name_ix(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The index in v of the profile called name (ix sorted, names unique), or SIZE_MAX. */
static size_t find(const struct name_ix *ix, size_t n, const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ix[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(ix[lo].name, name) == 0 ? ix[lo].i : SIZE_MAX;
}

/* depth[] while it is computed: ancestors among v, or one of these */
#define UNSEEN	SIZE_MAX
#define ON_PATH (SIZE_MAX - 1)
#define IN_LOOP (SIZE_MAX - 2)

int xp_profile_order(const struct xp_profile *v, size_t n, const char *file, size_t *order,
		     struct xp_diags *d)
{
	size_t m = n ? n : 1;
	struct name_ix *ix = malloc(m * sizeof(*ix));
	size_t *depth = malloc(m * sizeof(*depth));
	size_t *path = malloc((m + 1) * sizeof(*path));
	struct xp_buf pre = XP_BUF_INIT;
	if (file)
		xp_buf_addf(&pre, "'%s': ", file);
	int r = 0;
	if (!ix || !depth || !path) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ix[i] = (struct name_ix){v[i].name, i};
		depth[i] = UNSEEN;
	}
	qsort(ix, n, sizeof(*ix), cmp_name_ix);
	for (size_t i = 1; i < n; i++)
		if (strcmp(ix[i].name, ix[i - 1].name) == 0)
			r = xp_diags_fail(d, -EINVAL, file, "duplicate", NULL,
					  "%sprofile '%s' appears more than once", xp_buf_str(&pre),
					  ix[i].name);
	if (r)
		goto out;

	/* Each profile's depth, walking up its chain only as far as the first profile whose
	 * depth is known, so every profile is walked once: O(n) steps of O(log n). A chain
	 * that meets a profile of its own walk is a loop; every profile of that walk (the
	 * loop and those leading into it) has an endless chain. */
	for (size_t i = 0; i < n; i++) {
		size_t len = 0, j = i, next = 0; /* next: the depth of path[len - 1] */
		bool loop = false;
		while (depth[j] == UNSEEN) {
			depth[j] = ON_PATH;
			path[len++] = j;
			j = v[j].parent ? find(ix, n, v[j].parent) : SIZE_MAX;
			if (j == SIZE_MAX)
				break; /* a root here */
		}
		if (j != SIZE_MAX) {
			loop = depth[j] == ON_PATH || depth[j] == IN_LOOP;
			next = loop ? 0 : depth[j] + 1;
		}
		while (len-- > 0)
			depth[path[len]] = loop ? IN_LOOP : next++;
	}
	for (size_t i = 0; i < n; i++)
		if (depth[i] == IN_LOOP) {
			/* the first only, not each profile of the loop or leading into it */
			r = xp_diags_fail(d, -EINVAL, file, "cycle", NULL,
					  "%sprofile '%s': its parent chain is a cycle",
					  xp_buf_str(&pre), v[i].name);
			goto out;
		}

	/* a counting sort by depth: stable, so each generation keeps v's order */
	memset(path, 0, (m + 1) * sizeof(*path));
	for (size_t i = 0; i < n; i++)
		path[depth[i] + 1]++;
	for (size_t k = 1; k <= n; k++)
		path[k] += path[k - 1];
	for (size_t i = 0; i < n; i++)
		order[path[depth[i]]++] = i;
out:
	xp_buf_release(&pre);
	free(ix);
	free(depth);
	free(path);
	return r;
}

/* ---- export -------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int xp_profile_export(struct xp_inv *inv, const char *const *names, size_t n, bool secrets,
		      json_t **out, struct xp_diags *d)
{
	*out = NULL;
	char **all = NULL;
	size_t nall = 0;
	int r = xp_inv_begin(inv); /* one consistent snapshot */
	if (r < 0)
		return store_error(inv, d, r, "list profiles in", xp_inv_state_dir(inv));
	r = xp_profile_list(inv, &all, &nall);
	if (r < 0) {
		xp_inv_rollback(inv);
		return store_error(inv, d, r, "list profiles in", xp_inv_state_dir(inv));
	}
	size_t m = nall ? nall : 1;
	struct xp_profile *v = calloc(m, sizeof(*v));
	size_t *order = calloc(m, sizeof(*order));
	bool *wanted = calloc(m, sizeof(*wanted));
	if (!v || !order || !wanted)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < nall; i++)
		if ((r = xp_profile_get(inv, all[i], &v[i])) < 0)
			r = store_error(inv, d, r, "read profile", all[i]);
	xp_inv_rollback(inv); /* read only */

	for (size_t k = 0; r == 0 && k < n; k++) {
		char **hit = bsearch(&names[k], all, nall, sizeof(*all), cmp_str);
		if (hit)
			wanted[hit - all] = true;
		else
			r = xp_diags_fail(d, -ENOENT, NULL, "no-profile", NULL, "no profile '%s'",
					  names[k]);
	}
	/* the inventory's names are sorted (xp_profile_list): so is each generation */
	if (r == 0)
		r = xp_profile_order(v, nall, NULL, order, d);
	json_t *a = r == 0 ? json_array() : NULL;
	if (r == 0 && !a)
		r = -ENOMEM;
	for (size_t k = 0; r == 0 && k < nall; k++)
		if ((n == 0 || wanted[order[k]]) &&
		    json_array_append_new(a, xp_profile_to_json(&v[order[k]], secrets)) < 0)
			r = -ENOMEM;
	if (r == 0)
		*out = a;
	else
		json_decref(a);
	for (size_t i = 0; v && i < nall; i++)
		xp_profile_release(&v[i]);
	free(v);
	free(order);
	free(wanted);
	xp_strv_free(all, nall);
	return r;
}

/* ---- import: reading ----------------------------------------------------------------- */

void xp_profile_set_release(struct xp_profile_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		xp_profile_release(&s->v[i]);
		xp_settings_release(&s->withheld[i]);
	}
	free(s->v);
	free(s->withheld);
	free(s->file);
	memset(s, 0, sizeof(*s));
}

/* One value of "settings": checked and normalised into p. Returns 1 (an error, with its
 * diagnostics, prefixed with where), 0, or -ENOMEM. */
static int read_value(const char *file, const char *where, const char *key, json_t *val,
		      struct xp_profile *p, struct xp_diags *d)
{
	char num[64];
	const char *text = NULL;
	if (json_is_string(val)) {
		text = json_string_value(val);
	} else if (json_is_integer(val)) {
		/* "memory": 1024 is as good as "1024" */
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(val));
		text = num;
	}
	if (!text) {
		xp_diags_fail(d, 0, file, key, NULL, "%s%s: not a string", where, key);
		return 1;
	}
	struct xp_diags cd;
	xp_diags_init(&cd);
	char *norm = NULL;
	int r = xp_profile_check(key, text, &norm, &cd);
	for (size_t i = 0; d && r == -EINVAL && i < cd.n; i++)
		xp_diags_add(d, XP_SEV_ERROR, file, 0, 0, cd.v[i].code, cd.v[i].text, cd.v[i].hint,
			     "%s%s", where, cd.v[i].msg);
	if (r == 0)
		r = xp_settings_set(&p->set, key, norm);
	free(norm);
	xp_diags_release(&cd);
	return r == -EINVAL ? 1 : r;
}

/* Array element j, the index-th, into p and withheld; wb holds the messages' prefix.
 * Returns the number of errors it found (each with its diagnostics), or -ENOMEM. */
static int read_item(const char *file, size_t index, json_t *j, struct xp_profile *p,
		     struct xp_settings *withheld, struct xp_buf *wb, struct xp_diags *d)
{
	xp_buf_truncate(wb, 0);
	xp_buf_addf(wb, "'%s': item %zu: ", file, index + 1);
	const char *where = xp_buf_str(wb);
	if (!json_is_object(j)) {
		xp_diags_fail(d, 0, file, "member", NULL, "%snot an object", where);
		return 1;
	}
	int errors = 0, r;
	const char *k;
	json_t *val;
	json_object_foreach(j, k, val)
	{
		if (strcmp(k, "name") != 0 && strcmp(k, "parent") != 0 &&
		    strcmp(k, "settings") != 0 && strcmp(k, "withheld") != 0) {
			xp_diags_fail(d, 0, file, "member", NULL,
				      "%sunknown member '%s' (name, parent, settings, withheld)",
				      where, k);
			errors++;
		}
	}
	const char *name = json_string_value(json_object_get(j, "name"));
	if (!name) {
		xp_diags_fail(d, 0, file, "member", NULL, "%s\"name\" missing or not a string",
			      where);
		return errors + 1;
	}
	if (!xp_profile_name_valid(name)) {
		xp_diags_fail(d, 0, file, "name", NULL, "%s'%s' is not a valid profile name", where,
			      name);
		return errors + 1;
	}
	xp_buf_truncate(wb, 0);
	xp_buf_addf(wb, "'%s': profile '%s': ", file, name);
	where = xp_buf_str(wb);
	if (!(p->name = strdup(name)))
		return -ENOMEM;
	json_t *parent = json_object_get(j, "parent");
	if (parent && !json_is_null(parent)) {
		const char *pn = json_string_value(parent);
		if (!pn || !xp_profile_name_valid(pn)) {
			xp_diags_fail(d, 0, file, "member", NULL,
				      "%s\"parent\" is not a profile name", where);
			errors++;
		} else if (!(p->parent = strdup(pn))) {
			return -ENOMEM;
		}
	}
	json_t *settings = json_object_get(j, "settings");
	if (settings && !json_is_object(settings)) {
		xp_diags_fail(d, 0, file, "member", NULL, "%s\"settings\" is not an object", where);
		return errors + 1;
	}
	json_object_foreach(settings, k, val)
	{
		if ((r = read_value(file, where, k, val, p, d)) < 0)
			return r;
		errors += r;
	}
	json_t *wh = json_object_get(j, "withheld");
	if (wh && !json_is_array(wh)) {
		xp_diags_fail(d, 0, file, "withheld", NULL,
			      "%s\"withheld\" is not an array of secret keys", where);
		return errors + 1;
	}
	for (size_t i = 0; i < json_array_size(wh); i++) {
		const char *key = json_string_value(json_array_get(wh, i));
		if (!key || !xp_profile_key_secret(key)) {
			xp_diags_fail(d, 0, file, "withheld", NULL,
				      "%s\"withheld\": %s%s%s is not a secret key", where,
				      key ? "'" : "", key ? key : "an element", key ? "'" : "");
			errors++;
		} else if (xp_settings_get(&p->set, key)) {
			xp_diags_fail(d, 0, file, "withheld", NULL, "%s%s is both set and withheld",
				      where, key);
			errors++;
		} else if (xp_settings_set(withheld, key, "") < 0) {
			return -ENOMEM;
		}
	}
	return errors;
}

/* Puts v and withheld of s in the order order[0..s->n). */
static int permute(struct xp_profile_set *s, const size_t *order)
{
	size_t m = s->n ? s->n : 1;
	struct xp_profile *v = malloc(m * sizeof(*v));
	struct xp_settings *w = malloc(m * sizeof(*w));
	if (!v || !w) {
		free(v);
		free(w);
		return -ENOMEM;
	}
	for (size_t k = 0; k < s->n; k++) {
		v[k] = s->v[order[k]];
		w[k] = s->withheld[order[k]];
	}
	free(s->v);
	free(s->withheld);
	s->v = v;
	s->withheld = w;
	return 0;
}

int xp_profile_import_read(const char *data, size_t len, const char *file,
			   struct xp_profile_set *out, struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	if (!file)
		file = "(input)";
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (d)
			xp_diags_add(d, XP_SEV_ERROR, file, je.line > 0 ? (unsigned)je.line : 0,
				     je.column > 0 ? (unsigned)je.column : 0, "json", NULL, NULL,
				     "'%s' is not valid JSON: %s (line %d, column %d)", file,
				     je.text, je.line, je.column);
		return -EBADMSG;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		xp_diags_fail(d, 0, file, "document", NULL,
			      "'%s': expected an array of profiles (as 'xenprov profile export' "
			      "writes)",
			      file);
		return -EBADMSG;
	}

	size_t n = json_array_size(root), m = n ? n : 1;
	out->v = calloc(m, sizeof(*out->v));
	out->withheld = calloc(m, sizeof(*out->withheld));
	out->file = strdup(file);
	size_t *order = calloc(m, sizeof(*order));
	struct xp_buf where = XP_BUF_INIT;
	int r = 0, errors = 0;
	if (!out->v || !out->withheld || !out->file || !order)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		int e = read_item(file, i, json_array_get(root, i), &out->v[i], &out->withheld[i],
				  &where, d);
		out->n++;
		if (e < 0)
			r = e;
		else
			errors += e;
	}
	json_decref(root);
	xp_buf_release(&where);
	if (r < 0)
		goto out;
	/* the elements without a usable name are errors already: the order sees the others */
	size_t k = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (out->v[i].name) {
			out->v[k] = out->v[i];
			out->withheld[k++] = out->withheld[i];
		} else {
			xp_profile_release(&out->v[i]);
			xp_settings_release(&out->withheld[i]);
		}
	}
	out->n = k;
	r = xp_profile_order(out->v, out->n, file, order, d);
	if (r == 0 && errors)
		r = -EINVAL;
	if (r == 0)
		r = permute(out, order);
out:
	free(order);
	if (r < 0)
		xp_profile_set_release(out);
	return r;
}

/* ---- import: writing ----------------------------------------------------------------- */

static int warn_withheld(struct xp_diags *warn, const char *name, const char *key)
{
	return xp_diags_add(warn, XP_SEV_WARNING, NULL, 0, 0, "withheld", NULL, NULL,
			    "profile '%s': %s was withheld from the export ('profile export "
			    "--secrets' carries it); it is not set",
			    name, key);
}

/* Replaces the profile called p->name with p, keeping the replaced profile's own value of
 * each key withheld names; a warning in warn for each it has none of. */
static int replace(struct xp_inv *inv, const struct xp_profile *p,
		   const struct xp_settings *withheld, struct xp_diags *warn)
{
	if (!withheld->n)
		return xp_profile_update(inv, p);
	struct xp_profile cur, next = {.name = p->name, .parent = p->parent};
	int r = xp_profile_get(inv, p->name, &cur);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < p->set.n; i++)
		r = xp_settings_set(&next.set, p->set.v[i].key, p->set.v[i].value);
	for (size_t i = 0; r == 0 && i < withheld->n; i++) {
		const char *key = withheld->v[i].key, *value = xp_settings_get(&cur.set, key);
		r = value ? xp_settings_set(&next.set, key, value)
			  : warn_withheld(warn, p->name, key);
	}
	if (r == 0)
		r = xp_profile_update(inv, &next);
	xp_settings_release(&next.set);
	xp_profile_release(&cur);
	return r;
}

/* Writes one profile of s: added, or replaced (*was_replaced). */
static int import_one(struct xp_inv *inv, const struct xp_profile_set *s, size_t i, unsigned flags,
		      bool *was_replaced, struct xp_diags *warn, struct xp_diags *d)
{
	const struct xp_profile *p = &s->v[i];
	int r = xp_profile_add(inv, p);
	*was_replaced = r == -EEXIST && (flags & XP_IMPORT_REPLACE);
	if (*was_replaced)
		r = replace(inv, p, &s->withheld[i], warn);
	else
		for (size_t k = 0; r == 0 && k < s->withheld[i].n; k++)
			r = warn_withheld(warn, p->name, s->withheld[i].v[k].key);
	if (r == -EEXIST)
		return xp_diags_fail(d, r, NULL, "exists", NULL,
				     "profile '%s' exists (use --replace)", p->name);
	if (r == -ENOENT && p->parent)
		return xp_diags_fail(d, r, NULL, "parent", NULL,
				     "profile '%s': no profile '%s' (the parent), here or in '%s'",
				     p->name, p->parent, s->file);
	if (r == -ELOOP && p->parent)
		return xp_diags_fail(d, r, NULL, "parent", NULL,
				     "profile '%s': '%s' cannot be its parent: %s", p->name,
				     p->parent, xp_inv_errmsg(inv));
	if (r == -EINVAL) /* the values do not hold together (a gateway outside ip-pool) */
		return xp_diags_fail(d, r, NULL, "store", NULL, "cannot import profile '%s': %s",
				     p->name, xp_inv_errmsg(inv));
	if (r < 0)
		return store_error(inv, d, r, "import profile", p->name);
	return 0;
}

int xp_profile_import(struct xp_inv *inv, const struct xp_profile_set *s, unsigned flags,
		      size_t *added, size_t *replaced, struct xp_diags *d)
{
	*added = *replaced = 0;
	/* the warnings wait for the commit: a failed import says only why it failed */
	struct xp_diags warn;
	xp_diags_init(&warn);
	size_t na = 0, nr = 0;
	int r = xp_inv_begin(inv);
	if (r < 0)
		return store_error(inv, d, r, "import into", xp_inv_state_dir(inv));
	for (size_t i = 0; r == 0 && i < s->n; i++) {
		bool was_replaced;
		r = import_one(inv, s, i, flags, &was_replaced, &warn, d);
		nr += r == 0 && was_replaced;
		na += r == 0 && !was_replaced;
	}
	if (r < 0) {
		xp_inv_rollback(inv);
	} else if ((r = xp_inv_commit(inv)) < 0) {
		r = store_error(inv, d, r, "import into", xp_inv_state_dir(inv));
	} else {
		*added = na;
		*replaced = nr;
		for (size_t i = 0; d && i < warn.n; i++) {
			const struct xp_diag *g = &warn.v[i];
			xp_diags_add(d, g->severity, g->file, g->line, g->col, g->code, g->text,
				     g->hint, "%s", g->msg);
		}
	}
	xp_diags_release(&warn);
	return r;
}
