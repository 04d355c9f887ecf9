/*
 * copy.c - one inventory's tables copied into another (`xenprov inventory copy`):
 * SQLite or PostgreSQL on either side, in one transaction on the target, the source
 * read in one snapshot.
 *
 * The tables and their columns come from the target's catalog (sqlite_master and
 * pragma_table_info, information_schema and pg_constraint), so a table a migration
 * adds is copied with no change here; parents go before children by the foreign keys
 * the catalog names, a profile after its parent (the one table that references
 * itself), install events in the order they happened (SQLite's rowid, PostgreSQL's
 * identity seq). The rows the triggers keep (the sync clock and the systems changed
 * since it, migration 8) are copied last, over what the triggers wrote while the
 * other tables went in. Values go as their column's kind: integers, bytes, text.
 *
 * Not here: the schema itself (store.c; both sides must be at this program's version),
 * what any table means.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/store-internal.h"

/* Written by triggers while the others are copied: copied after them, replacing it. */
static const char *const kept_by_triggers[] = {"sync_changed", "sync_clock", NULL};

enum kind { K_TEXT, K_INT, K_BLOB };

struct col {
	char *name;
	enum kind kind;
	bool identity; /* PostgreSQL's GENERATED ... AS IDENTITY: its sequence set after */
};

struct table {
	char *name;
	struct col *cols;
	size_t ncols;
	char **refs; /* the tables its foreign keys reference (not itself) */
	size_t nrefs;
	bool placed;
};

static int fail(struct xp_inv *to, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct xp_inv *to, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(to->err, sizeof(to->err), fmt, ap);
	va_end(ap);
	return r;
}

/* A failure of a statement on inv (the source or the target) as to's reason. */
static int db_fail(struct xp_inv *to, struct xp_inv *inv, const char *side, int r)
{
	return fail(to, r < 0 ? r : -EIO, "%s: %s", side, xp__db_errmsg(inv->db));
}

static bool kept(const char *name)
{
	for (size_t i = 0; kept_by_triggers[i]; i++)
		if (strcmp(kept_by_triggers[i], name) == 0)
			return true;
	return false;
}

/* Runs sql (one text parameter, arg, unless NULL) and adds each row's first column to
 * *v (heap strings); the second and third, if asked, to kinds and ids. */
static int strings(struct xp_inv *inv, const char *sql, const char *arg, char ***v, size_t *n,
		   struct col **cols)
{
	struct xp_db_stmt *st;
	int r = xp__db_prepare(inv->db, sql, &st);
	if (r < 0)
		return r;
	if (arg && (r = xp__db_bind_text(st, 1, arg)) < 0) {
		xp__db_finalize(st);
		return r;
	}
	while ((r = xp__db_step(st)) == XP_DB_ROW) {
		const char *s = xp__db_column_text(st, 0);
		if (!s)
			continue;
		if (cols) {
			struct col *c = realloc(*cols, (*n + 1) * sizeof(**cols));
			if (!c) {
				r = -ENOMEM;
				break;
			}
			*cols = c;
			const char *type = xp__db_column_text(st, 1);
			type = type ? type : "";
			c[*n].kind = strcasestr(type, "int") ? K_INT
				     : strcasestr(type, "blob") || strcasestr(type, "bytea")
					 ? K_BLOB
					 : K_TEXT;
			const char *id = xp__db_column_text(st, 2);
			c[*n].identity = id && strcmp(id, "YES") == 0;
			if (!(c[*n].name = strdup(s))) {
				r = -ENOMEM;
				break;
			}
		} else {
			char **w = realloc(*v, (*n + 1) * sizeof(**v));
			if (!w) {
				r = -ENOMEM;
				break;
			}
			*v = w;
			if (!(w[*n] = strdup(s))) {
				r = -ENOMEM;
				break;
			}
		}
		(*n)++;
	}
	xp__db_finalize(st);
	return r == XP_DB_DONE ? 0 : r;
}

static int table_names(struct xp_inv *inv, char ***v, size_t *n)
{
	return strings(
	    inv,
	    xp__db_sql(inv->db,
		       "SELECT name FROM sqlite_master WHERE type = 'table'"
		       " AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
		       "SELECT table_name FROM information_schema.tables"
		       " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
		       " AND table_name <> 'xenprov_schema' ORDER BY table_name"),
	    NULL, v, n, NULL);
}

static int columns(struct xp_inv *inv, const char *table, struct col **cols, size_t *n)
{
	return strings(
	    inv,
	    xp__db_sql(inv->db, "SELECT name, type, 'NO' FROM pragma_table_info(?1) ORDER BY cid",
		       "SELECT column_name, data_type, is_identity"
		       " FROM information_schema.columns WHERE table_schema = current_schema()"
		       " AND table_name = ?1 ORDER BY ordinal_position"),
	    table, NULL, n, cols);
}

static int references(struct xp_inv *inv, const char *table, char ***v, size_t *n)
{
	return strings(inv,
		       xp__db_sql(inv->db,
				  "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)"
				  " WHERE \"table\" <> ?1",
				  "SELECT DISTINCT r.relname FROM pg_constraint c"
				  " JOIN pg_class t ON t.oid = c.conrelid"
				  " JOIN pg_class r ON r.oid = c.confrelid"
				  " WHERE c.contype = 'f' AND t.relname = ?1 AND r.relname <> ?1"
				  " AND t.relnamespace = current_schema()::regnamespace"),
		       table, v, n, NULL);
}

/* Keeps the target's columns the source has too: a column of one dialect only
 * (PostgreSQL's install_events.seq, SQLite's rowid) is made by the target itself. */
static int common_columns(struct xp_inv *from, struct xp_inv *to, struct table *t)
{
	struct col *src = NULL;
	size_t nsrc = 0, k = 0;
	int r = columns(from, t->name, &src, &nsrc);
	if (r < 0)
		return db_fail(to, from, "the source", r);
	for (size_t i = 0; i < t->ncols; i++) {
		bool both = false;
		for (size_t j = 0; !both && j < nsrc; j++)
			both = strcmp(src[j].name, t->cols[i].name) == 0;
		if (both)
			t->cols[k++] = t->cols[i];
		else
			free(t->cols[i].name);
	}
	t->ncols = k;
	for (size_t j = 0; j < nsrc; j++)
		free(src[j].name);
	free(src);
	return 0;
}

static void tables_free(struct table *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].name);
		for (size_t k = 0; k < t[i].ncols; k++)
			free(t[i].cols[k].name);
		free(t[i].cols);
		xp_strv_free(t[i].refs, t[i].nrefs);
	}
	free(t);
}

/* to's tables with their columns, parents before children; the source must have the
 * same tables. */
static int plan(struct xp_inv *from, struct xp_inv *to, struct table **out, size_t *nout)
{
	char **names = NULL, **other = NULL;
	size_t n = 0, nother = 0;
	struct table *t = NULL, *sorted = NULL;
	int r = table_names(to, &names, &n);
	if (r < 0) {
		r = db_fail(to, to, "the target", r);
		goto out;
	}
	if ((r = table_names(from, &other, &nother)) < 0) {
		r = db_fail(to, from, "the source", r);
		goto out;
	}
	bool same = n == nother;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(names[i], other[i]) == 0;
	if (!same) {
		r = fail(to, -ESTALE, "the two inventories have different tables (%zu and %zu)",
			 nother, n);
		goto out;
	}
	t = calloc(n ? n : 1, sizeof(*t));
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	if (!t || !sorted) {
		r = fail(to, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		t[i].name = names[i];
		names[i] = NULL;
		if ((r = columns(to, t[i].name, &t[i].cols, &t[i].ncols)) < 0 ||
		    (r = references(to, t[i].name, &t[i].refs, &t[i].nrefs)) < 0) {
			r = db_fail(to, to, "the target", r);
			goto out;
		}
		if ((r = common_columns(from, to, &t[i])) < 0)
			goto out;
	}
	/* Kahn's order, kept tables last */
	size_t k = 0;
	for (int pass_kept = 0; pass_kept < 2; pass_kept++) {
		for (bool moved = true; moved;) {
			moved = false;
			for (size_t i = 0; i < n; i++) {
				if (t[i].placed || kept(t[i].name) != (pass_kept == 1))
					continue;
				bool ready = true;
				for (size_t j = 0; ready && j < t[i].nrefs; j++)
					for (size_t m = 0; m < n; m++)
						if (strcmp(t[m].name, t[i].refs[j]) == 0 &&
						    !t[m].placed)
							ready = false;
				if (ready) {
					t[i].placed = moved = true;
					sorted[k++] = t[i];
				}
			}
		}
	}
	if (k != n) {
		r = fail(to, -ELOOP, "the tables' foreign keys form a cycle");
		goto out;
	}
	free(t);
	t = NULL;
	*out = sorted;
	*nout = n;
	sorted = NULL;
	r = 0;
out:
	xp_strv_free(names, n);
	xp_strv_free(other, nother);
	if (t)
		tables_free(t, n);
	free(sorted);
	return r;
}

/* A table's name or a column's as an SQL identifier (the catalog's names are plain
 * lowercase words; quoted all the same). */
static void ident(struct xp_buf *b, const char *name)
{
	xp_buf_addf(b, "\"%s\"", name);
}

static int count_rows(struct xp_inv *inv, const char *table, int64_t *rows)
{
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_addf(&b, "SELECT count(*) FROM ");
	ident(&b, table);
	struct xp_db_stmt *st = NULL;
	int r = xp_buf_str(&b) ? xp__db_prepare(inv->db, xp_buf_str(&b), &st) : -ENOMEM;
	xp_buf_release(&b);
	if (r < 0)
		return r;
	r = xp__db_step(st);
	*rows = r == XP_DB_ROW ? xp__db_column_int64(st, 0) : 0;
	xp__db_finalize(st);
	return r == XP_DB_ROW ? 0 : r < 0 ? r : -EIO;
}

static int empty_target(struct xp_inv *to, const struct table *t, size_t n, bool force)
{
	if (force) { /* children first; the kept tables are emptied before they are
			copied (deleting a system writes them) */
		for (size_t i = n; i-- > 0;) {
			if (kept(t[i].name))
				continue;
			struct xp_buf b = XP_BUF_INIT;
			xp_buf_addf(&b, "DELETE FROM ");
			ident(&b, t[i].name);
			int r = xp_buf_str(&b) ? xp__db_exec(to->db, xp_buf_str(&b)) : -ENOMEM;
			xp_buf_release(&b);
			if (r < 0)
				return db_fail(to, to, "the target", r);
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t rows;
		int r = count_rows(to, t[i].name, &rows);
		if (r < 0)
			return db_fail(to, to, "the target", r);
		if (rows > 0 && !kept(t[i].name))
			return fail(to, -ENOTEMPTY,
				    "the target holds records (%lld in %s); --force replaces them",
				    (long long)rows, t[i].name);
	}
	return 0;
}

/* Whether the source is SQLite and the table has a rowid (not WITHOUT ROWID). */
static bool has_rowid(struct xp_inv *from, const char *table)
{
	if (xp_inv_is_pgsql(from))
		return false;
	struct xp_db_stmt *st;
	if (xp__db_prepare(from->db,
			   "SELECT sql NOT LIKE '%WITHOUT ROWID%' FROM sqlite_master"
			   " WHERE type = 'table' AND name = ?1",
			   &st) < 0)
		return false;
	bool yes = xp__db_bind_text(st, 1, table) == 0 && xp__db_step(st) == XP_DB_ROW &&
		   xp__db_column_int(st, 0) != 0;
	xp__db_finalize(st);
	return yes;
}

static int copy_table(struct xp_inv *from, struct xp_inv *to, const struct table *t, int64_t *rows)
{
	struct xp_buf sel = XP_BUF_INIT, ins = XP_BUF_INIT;
	bool pg_to = xp_inv_is_pgsql(to), identity = false;
	bool profiles = strcmp(t->name, "profiles") == 0;
	if (profiles) /* parents first: by depth in the tree */
		xp_buf_addf(&sel, "WITH RECURSIVE d(n, depth) AS (SELECT name, 0 FROM profiles"
				  " WHERE parent IS NULL UNION ALL SELECT p.name, d.depth + 1"
				  " FROM profiles p JOIN d ON p.parent = d.n) ");
	xp_buf_addf(&sel, "SELECT ");
	xp_buf_addf(&ins, "INSERT INTO ");
	ident(&ins, t->name);
	xp_buf_addf(&ins, " (");
	for (size_t k = 0; k < t->ncols; k++) {
		xp_buf_addf(&sel, "%s", k ? ", " : "");
		ident(&sel, t->name);
		xp_buf_addf(&sel, ".");
		ident(&sel, t->cols[k].name);
		xp_buf_addf(&ins, "%s", k ? ", " : "");
		ident(&ins, t->cols[k].name);
		identity = identity || t->cols[k].identity;
	}
	xp_buf_addf(&sel, " FROM ");
	ident(&sel, t->name);
	if (profiles)
		xp_buf_addf(&sel, " JOIN d ON d.n = profiles.name ORDER BY d.depth, profiles.name");
	else /* the order rows were made in: SQLite's rowid, PostgreSQL's first column (an
		identity key where a table has one) */
		xp_buf_addf(&sel, " ORDER BY %s", has_rowid(from, t->name) ? "rowid" : "1");
	xp_buf_addf(&ins, ")%s VALUES (", pg_to && identity ? " OVERRIDING SYSTEM VALUE" : "");
	for (size_t k = 0; k < t->ncols; k++)
		xp_buf_addf(&ins, "%s?%zu", k ? ", " : "", k + 1);
	xp_buf_addf(&ins, ")");
	struct xp_db_stmt *s = NULL, *w = NULL;
	int r = !xp_buf_str(&sel) || !xp_buf_str(&ins) ? fail(to, -ENOMEM, "out of memory") : 0;
	if (r == 0 && (r = xp__db_prepare(from->db, xp_buf_str(&sel), &s)) < 0)
		r = db_fail(to, from, "the source", r);
	if (r == 0 && (r = xp__db_prepare(to->db, xp_buf_str(&ins), &w)) < 0)
		r = db_fail(to, to, "the target", r);
	*rows = 0;
	while (r == 0) {
		int rc = xp__db_step(s);
		if (rc == XP_DB_DONE)
			break;
		if (rc != XP_DB_ROW) {
			r = db_fail(to, from, "the source", rc);
			break;
		}
		for (size_t k = 0; r == 0 && k < t->ncols; k++) {
			int i = (int)k;
			size_t len;
			const void *p;
			if (xp__db_column_null(s, i))
				r = xp__db_bind_null(w, i + 1);
			else if (t->cols[k].kind == K_INT)
				r = xp__db_bind_int64(w, i + 1, xp__db_column_int64(s, i));
			else if (t->cols[k].kind == K_BLOB)
				r = (p = xp__db_column_blob(s, i, &len)) || len == 0
					? xp__db_bind_blob(w, i + 1, p ? p : "", len)
					: -ENOMEM;
			else
				r = xp__db_bind_text(w, i + 1, xp__db_column_text(s, i));
		}
		if (r == 0 && (rc = xp__db_step(w)) != XP_DB_DONE)
			r = rc < 0 ? rc : -EIO;
		if (r < 0) {
			r = db_fail(to, to, t->name, r);
			break;
		}
		xp__db_reset(w);
		xp__db_clear_bindings(w);
		(*rows)++;
	}
	xp__db_finalize(s);
	xp__db_finalize(w);
	xp_buf_release(&sel);
	xp_buf_release(&ins);
	return r;
}

/* PostgreSQL's identity columns: their sequences past the ids copied, so the next
 * row made gets a new one. */
static int set_sequences(struct xp_inv *to, const struct table *t)
{
	for (size_t k = 0; k < t->ncols; k++) {
		if (!t->cols[k].identity)
			continue;
		struct xp_buf b = XP_BUF_INIT;
		xp_buf_addf(&b,
			    "SELECT setval(pg_get_serial_sequence('%s', '%s'),"
			    " COALESCE((SELECT max(",
			    t->name, t->cols[k].name);
		ident(&b, t->cols[k].name);
		xp_buf_addf(&b, ") FROM ");
		ident(&b, t->name);
		xp_buf_addf(&b, "), 0) + 1, false)");
		int r = xp_buf_str(&b) ? xp__db_exec(to->db, xp_buf_str(&b)) : -ENOMEM;
		xp_buf_release(&b);
		if (r < 0)
			return db_fail(to, to, t->name, r);
	}
	return 0;
}

int xp_inv_copy(struct xp_inv *from, struct xp_inv *to, bool force, struct xp_inv_copied **out,
		size_t *nout)
{
	*out = NULL;
	*nout = 0;
	to->err[0] = '\0';
	int latest = xp_inv_schema_latest();
	if (from->version != latest || to->version != latest)
		return fail(to, -ESTALE,
			    "the source's schema is version %d, the target's %d, this xenprov's %d",
			    from->version, to->version, latest);
	struct table *t = NULL;
	size_t n = 0;
	int r = xp_inv_begin_read(from);
	if (r < 0)
		return db_fail(to, from, "the source", r);
	if ((r = xp_inv_begin(to)) < 0) {
		xp_inv_rollback(from);
		return db_fail(to, to, "the target", r);
	}
	struct xp_inv_copied *counts = NULL;
	if ((r = plan(from, to, &t, &n)) < 0)
		goto out;
	if (!(counts = calloc(n ? n : 1, sizeof(*counts)))) {
		r = fail(to, -ENOMEM, "out of memory");
		goto out;
	}
	if ((r = empty_target(to, t, n, force)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		snprintf(counts[i].table, sizeof(counts[i].table), "%s", t[i].name);
		if (kept(t[i].name)) { /* what the triggers wrote goes */
			struct xp_buf b = XP_BUF_INIT;
			xp_buf_addf(&b, "DELETE FROM ");
			ident(&b, t[i].name);
			r = xp_buf_str(&b) ? xp__db_exec(to->db, xp_buf_str(&b)) : -ENOMEM;
			xp_buf_release(&b);
			if (r < 0) {
				r = db_fail(to, to, t[i].name, r);
				goto out;
			}
		}
		if ((r = copy_table(from, to, &t[i], &counts[i].rows)) < 0)
			goto out;
		if (xp_inv_is_pgsql(to) && (r = set_sequences(to, &t[i])) < 0)
			goto out;
	}
	r = xp_inv_commit(to);
	if (r < 0)
		r = db_fail(to, to, "the target", r);
	xp_inv_rollback(from);
	tables_free(t, n);
	if (r < 0) {
		free(counts);
		return r;
	}
	*out = counts;
	*nout = n;
	return 0;
out:
	xp_inv_rollback(to);
	xp_inv_rollback(from);
	tables_free(t, n);
	free(counts);
	return r;
}
