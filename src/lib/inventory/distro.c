/*
 * distro.c - distros: a kernel and an initrd on the server that machines boot over the
 * network (Cobbler's distros), with the architecture and extra kernel command line.
 * Files are checked when a distro is added or changed (absolute, existing, regular);
 * a distro in use by a system or named by a profile's `distro` cannot be removed.
 *
 * Not here: serving the files (boot.h), importing distro trees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "inventory/values-internal.h"

static const char *const arches[] = {"x86_64", "i386", "aarch64", NULL};

void xp_distro_release(struct xp_distro *d)
{
	free(d->name);
	free(d->kernel);
	free(d->initrd);
	free(d->arch);
	free(d->kernel_options);
	memset(d, 0, sizeof(*d));
}

bool xp_distro_name_valid(const char *name)
{
	return xp_profile_name_valid(name);
}

/* An absolute path to an existing regular file (following symlinks). */
static int check_file(const char *key, const char *path, struct xp_diags *diags)
{
	if (!*path)
		return xp__bad_value(diags, key, path, NULL, "must not be empty");
	if (path[0] != '/')
		return xp__bad_value(diags, key, NULL, "give an absolute path",
				     "'%s' is not an absolute path", path);
	if (!xp__one_line(path))
		return xp__bad_value(diags, key, NULL, NULL, "control characters in the path");
	struct stat st;
	if (stat(path, &st) < 0)
		return xp__bad_value(diags, key, NULL, NULL, "cannot use '%s': %s", path,
				     strerror(errno));
	if (!S_ISREG(st.st_mode))
		return xp__bad_value(diags, key, NULL, NULL, "'%s' is not a regular file", path);
	return 0;
}

/* Every value of d, each wrong one reported; -EINVAL if any. */
static int check(const struct xp_distro *d, struct xp_diags *diags)
{
	int r = 0;
	if (!d->name || !xp_distro_name_valid(d->name))
		r = xp__bad_value(diags, "name", d->name, "1-64 letters, digits, '-', '_', '.'",
				  "not a valid distro name");
	if (!d->kernel)
		r = xp__bad_value(diags, "kernel", NULL, NULL, "a kernel is required");
	else if (check_file("kernel", d->kernel, diags) < 0)
		r = -EINVAL;
	if (d->initrd && check_file("initrd", d->initrd, diags) < 0)
		r = -EINVAL;
	if (d->arch) {
		bool ok = false;
		for (const char *const *a = arches; *a; a++)
			ok |= strcmp(*a, d->arch) == 0;
		if (!ok)
			r = xp__bad_value(diags, "arch", d->arch, "x86_64, i386 or aarch64",
					  "unknown architecture");
	}
	if (d->kernel_options && !xp__one_line(d->kernel_options))
		r = xp__bad_value(diags, "kernel-options", NULL, NULL, "must be one line");
	return r;
}

static int store(struct xp_inv *inv, const struct xp_distro *d, struct xp_diags *diags, bool add)
{
	int r = check(d, diags);
	if (r < 0)
		return r;
	if ((r = xp_inv_begin(inv)) < 0)
		return r;
	int e = xp__inv_exists(inv, "SELECT 1 FROM distros WHERE name = ?1", d->name);
	if (e < 0) {
		r = e;
		goto fail;
	}
	if (add == (e == 1)) {
		snprintf(inv->err, sizeof(inv->err), add ? "distro '%s' exists" : "no distro '%s'",
			 d->name);
		xp_inv_commit(inv); /* nothing written */
		return add ? -EEXIST : -ENOENT;
	}
	sqlite3_stmt *st;
	r = xp__inv_prepare(inv,
			    add ? "INSERT INTO distros (name, kernel, initrd, arch, kernel_options,"
				  " created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
				: "UPDATE distros SET kernel = ?2, initrd = ?3, arch = ?4,"
				  " kernel_options = ?5, updated = ?6 WHERE name = ?1",
			    &st);
	if (r < 0)
		goto fail;
	sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->kernel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, d->initrd, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, d->arch ? d->arch : "x86_64", -1, SQLITE_STATIC);
	if (d->kernel_options && *d->kernel_options)
		sqlite3_bind_text(st, 5, d->kernel_options, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
	return xp__inv_step_commit(inv, st);
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_distro_add(struct xp_inv *inv, const struct xp_distro *d, struct xp_diags *diags)
{
	return store(inv, d, diags, true);
}

int xp_distro_update(struct xp_inv *inv, const struct xp_distro *d, struct xp_diags *diags)
{
	return store(inv, d, diags, false);
}

int xp_distro_get(struct xp_inv *inv, const char *name, struct xp_distro *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st;
	int r =
	    xp__inv_prepare(inv,
			    "SELECT name, kernel, initrd, arch, kernel_options, created, updated"
			    " FROM distros WHERE name = ?1",
			    &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->name = xp__col_text(st, 0);
		out->kernel = xp__col_text(st, 1);
		out->initrd = xp__col_text(st, 2);
		out->arch = xp__col_text(st, 3);
		out->kernel_options = xp__col_text(st, 4);
		out->created = sqlite3_column_int64(st, 5);
		out->updated = sqlite3_column_int64(st, 6);
		if (!out->name || !out->kernel || !out->arch ||
		    (!out->initrd && sqlite3_column_type(st, 2) != SQLITE_NULL) ||
		    (!out->kernel_options && sqlite3_column_type(st, 4) != SQLITE_NULL))
			r = -ENOMEM;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : xp__inv_err(inv, rc);
	}
	sqlite3_finalize(st);
	if (r < 0)
		xp_distro_release(out);
	return r;
}

int xp_distro_list(struct xp_inv *inv, char ***names, size_t *n)
{
	return xp__inv_names(inv, "SELECT name FROM distros ORDER BY name", names, n);
}

int xp_distro_remove(struct xp_inv *inv, const char *name)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	sqlite3_stmt *st;
	r = xp__inv_prepare(inv,
			    "SELECT (SELECT count(*) FROM distros WHERE name = ?1),"
			    "       (SELECT count(*) FROM systems WHERE distro = ?1),"
			    "       (SELECT count(*) FROM profile_settings"
			    "        WHERE key = 'distro' AND value = ?1)",
			    &st);
	if (r < 0)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int found = sqlite3_column_int(st, 0), systems = sqlite3_column_int(st, 1),
	    profiles = sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		r = xp__inv_err(inv, rc);
		goto fail;
	}
	if (!found || systems || profiles) {
		if (!found)
			snprintf(inv->err, sizeof(inv->err), "no distro '%s'", name);
		else
			snprintf(inv->err, sizeof(inv->err), "%d system%s and %d profile%s use it",
				 systems, systems == 1 ? "" : "s", profiles,
				 profiles == 1 ? "" : "s");
		xp_inv_commit(inv); /* nothing written */
		return found ? -EBUSY : -ENOENT;
	}
	r = xp__inv_prepare(inv, "DELETE FROM distros WHERE name = ?1", &st);
	if (r < 0)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return xp__inv_step_commit(inv, st);
fail:
	xp_inv_rollback(inv);
	return r;
}
