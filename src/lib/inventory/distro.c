/*
 * distro.c - distros: a kernel and an initrd that machines boot over the network
 * (Cobbler's distros), with the architecture and extra kernel command line. The files
 * are copied into the distro store when a distro is added or changed (distro-files.c),
 * and the row records their digests (table distro_files) and where they came from; a
 * distro in use by a system or named by a profile's `distro` cannot be removed.
 *
 * Not here: serving the files (boot.h), importing distro trees.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/values-internal.h"

static const char *const arches[] = {"x86_64", "i386", "aarch64", NULL};
/* the OS families (inventory.h: what each one's installer reads) */
static const char *const families[] = {"debian", "ubuntu", "redhat", "suse", NULL};

bool xp_distro_os_valid(const char *os)
{
	for (const char *const *f = families; os && *f; f++)
		if (strcmp(*f, os) == 0)
			return true;
	return false;
}

void xp_distro_release(struct xp_distro *d)
{
	free(d->name);
	free(d->kernel);
	free(d->initrd);
	free(d->arch);
	free(d->kernel_options);
	free(d->kernel_sha256);
	free(d->initrd_sha256);
	free(d->os);
	memset(d, 0, sizeof(*d));
}

bool xp_distro_in_store(const struct xp_distro *d)
{
	return d->kernel_sha256 && (!d->initrd || d->initrd_sha256);
}

bool xp_distro_name_valid(const char *name)
{
	return xp_profile_name_valid(name);
}

/* The values that need no file: -EINVAL with a diagnostic per wrong one. regions: the
 * files come from open files, their fields are only recorded. */
static int check(const struct xp_distro *d, bool regions, struct xp_diags *diags)
{
	int r = 0;
	if (!d->name || !xp_distro_name_valid(d->name))
		r = xp__bad_value(diags, "name", d->name, "1-64 letters, digits, '-', '_', '.'",
				  "not a valid distro name");
	if (!d->kernel && !d->kernel_sha256)
		r = xp__bad_value(diags, "kernel", NULL, NULL, "a kernel is required");
	const char *files[][3] = {{"kernel", d->kernel, d->kernel_sha256},
				  {"initrd", d->initrd, d->initrd_sha256}};
	for (int i = 0; i < 2; i++) {
		const char *key = files[i][0], *src = files[i][1], *sha = files[i][2];
		if (src && !*src)
			r = xp__bad_value(diags, key, src, NULL, "must not be empty");
		else if (src && !xp__one_line(src))
			r = xp__bad_value(diags, key, NULL, NULL, "control characters in the path");
		else if (src && !sha && !regions && src[0] != '/' &&
			 strncmp(src, "sha256:", 7) != 0)
			r = xp__bad_value(diags, key, NULL, "give an absolute path",
					  "'%s' is not an absolute path", src);
		if (sha && !regions && !xp_sha256_hex_valid(sha))
			r = xp__bad_value(diags, key, sha, NULL, "not a SHA-256 digest");
	}
	if (d->arch) {
		bool ok = false;
		for (const char *const *a = arches; *a; a++)
			ok |= strcmp(*a, d->arch) == 0;
		if (!ok)
			r = xp__bad_value(diags, "arch", d->arch, "x86_64, i386 or aarch64",
					  "unknown architecture");
	}
	if (xp__kernel_options_check(d->kernel_options, diags) < 0)
		r = -EINVAL;
	if (d->os && !xp_distro_os_valid(d->os))
		r = xp__bad_value(diags, "os", d->os, "debian, ubuntu, redhat or suse",
				  "unknown OS family");
	return r;
}

/* One file of the distro, staged: the file of the store it keeps (sha given: an edit of
 * other fields), the region given, or the source taken into it; and the text recorded
 * as its source. */
static int take_file(struct xp_inv *inv, const char *key, const char *src, const char *sha,
		     const struct xp_distro_region *region, bool confined, struct xp__staged *st,
		     char **source, struct xp_diags *diags)
{
	char ref[72];
	if (sha)
		snprintf(ref, sizeof(ref), "sha256:%s", sha);
	int r = region
		    ? xp__distro_file_stage_region(inv, key, region, src, st, diags)
		    : xp__distro_file_stage(inv, key, sha ? ref : src, confined && !sha, st, diags);
	if (r < 0)
		return r;
	if (src)
		*source = strdup(src);
	else if (asprintf(source, "sha256:%s", st->hex) < 0)
		*source = NULL;
	return *source ? 0 : -ENOMEM;
}

/* Whether the row of d->name already holds exactly these values (for a put). */
static int same_row(struct xp_inv *inv, const char *name, const char *kernel, const char *initrd,
		    const char *arch, const char *kopts, const char *ksha, const char *isha)
{
	struct xp_distro old;
	int r = xp_distro_get(inv, name, &old);
	if (r < 0)
		return r;
	const char *ok = old.kernel_options && *old.kernel_options ? old.kernel_options : NULL;
	const char *pairs[][2] = {{old.kernel, kernel},	     {old.initrd, initrd},
				  {old.arch, arch},	     {ok, kopts && *kopts ? kopts : NULL},
				  {old.kernel_sha256, ksha}, {old.initrd_sha256, isha}};
	bool same = true;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		same &= (!pairs[i][0] && !pairs[i][1]) ||
			(pairs[i][0] && pairs[i][1] && !strcmp(pairs[i][0], pairs[i][1]));
	xp_distro_release(&old);
	return same;
}

enum op { OP_ADD, OP_UPDATE, OP_PUT };

struct put_args {
	const struct xp_distro_region *kernel, *initrd;
	int (*also)(struct xp_inv *inv, void *ud);
	void *ud;
	enum xp_distro_put_result result;
};

static int store(struct xp_inv *inv, const struct xp_distro *d, unsigned flags,
		 struct xp_diags *diags, enum op op, struct put_args *pa)
{
	int r = check(d, pa != NULL, diags);
	if (r < 0)
		return r;
	/* the files are copied in before the transaction, so that a large copy never holds
	 * the database's write lock (the DHCP server's lease writes would wait for it),
	 * and named inside it (distro-files.c) */
	bool confined = flags & XP_DISTRO_CONFINED;
	bool initrd = pa ? pa->initrd != NULL : d->initrd || d->initrd_sha256;
	const char *ksha = pa ? NULL : d->kernel_sha256, *isha = pa ? NULL : d->initrd_sha256;
	struct xp__staged ks = XP__STAGED_INIT, is = XP__STAGED_INIT;
	char *ksrc = NULL, *isrc = NULL;
	r = take_file(inv, "kernel", d->kernel, ksha, pa ? pa->kernel : NULL, confined, &ks, &ksrc,
		      diags);
	if (r == 0 && initrd)
		r = take_file(inv, "initrd", d->initrd, isha, pa ? pa->initrd : NULL, confined, &is,
			      &isrc, diags);
	if (r == 0)
		r = xp_inv_begin(inv);
	if (r < 0)
		goto out;
	int e = xp__inv_exists(inv, "SELECT 1 FROM distros WHERE name = ?1", d->name);
	if (e < 0) {
		r = e;
		goto fail;
	}
	bool add = op == OP_ADD || (op == OP_PUT && e == 0);
	if (op != OP_PUT && add == (e == 1)) {
		snprintf(inv->err, sizeof(inv->err), add ? "distro '%s' exists" : "no distro '%s'",
			 d->name);
		xp_inv_commit(inv); /* nothing written */
		r = add ? -EEXIST : -ENOENT;
		goto out;
	}
	if ((r = xp__distro_file_name(inv, "kernel", &ks, diags)) < 0 ||
	    (initrd && (r = xp__distro_file_name(inv, "initrd", &is, diags)) < 0))
		goto fail;
	const char *arch = d->arch ? d->arch : "x86_64";
	if (pa) {
		pa->result = add ? XP_DISTRO_ADDED : XP_DISTRO_UPDATED;
		if (!add && (r = same_row(inv, d->name, ksrc, isrc, arch, d->kernel_options, ks.hex,
					  initrd ? is.hex : NULL)) != 0) {
			if (r < 0)
				goto fail;
			pa->result = XP_DISTRO_UNCHANGED;
			r = pa->also ? pa->also(inv, pa->ud) : 0;
			if (r < 0)
				goto fail;
			r = xp_inv_commit(inv);
			goto out;
		}
	}
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(
	    inv,
	    add ? "INSERT INTO distros (name, kernel, initrd, arch, kernel_options,"
		  " created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
		: "UPDATE distros SET kernel = ?2, initrd = ?3, arch = ?4,"
		  " kernel_options = ?5, updated = ?6 WHERE name = ?1",
	    d->name, &st);
	if (r < 0)
		goto fail;
	xp__db_bind_text(st, 2, ksrc);
	xp__db_bind_text(st, 3, isrc);
	xp__db_bind_text(st, 4, arch);
	if (d->kernel_options && *d->kernel_options)
		xp__db_bind_text(st, 5, d->kernel_options);
	xp__db_bind_int64(st, 6, time(NULL));
	if ((r = xp__inv_step_done(inv, st)) < 0)
		goto fail;
	r = xp__inv_prepare_arg(inv,
				"INSERT INTO distro_files (distro, kernel_sha256, initrd_sha256)"
				" VALUES (?1, ?2, ?3) ON CONFLICT (distro) DO UPDATE SET"
				" kernel_sha256 = excluded.kernel_sha256,"
				" initrd_sha256 = excluded.initrd_sha256",
				d->name, &st);
	if (r < 0)
		goto fail;
	xp__db_bind_text(st, 2, ks.hex);
	if (initrd)
		xp__db_bind_text(st, 3, is.hex);
	inv->store_gc |= !add; /* the files it had may be named by no one now */
	/* the OS family an operator gave (an import records what it found apart, in
	 * distro_trees, and leaves this one as it was) */
	if ((r = xp__inv_step_done(inv, st)) < 0 ||
	    (!pa && (r = xp__inv_side_value(inv, "distro_os", "distro", "os", d->name, d->os)) < 0) ||
	    (pa && pa->also && (r = pa->also(inv, pa->ud)) < 0))
		goto fail;
	r = xp_inv_commit(inv);
	goto out;
fail:
	xp_inv_rollback(inv);
out:
	xp__distro_file_drop(inv, &ks);
	xp__distro_file_drop(inv, &is);
	free(ksrc);
	free(isrc);
	return r;
}

int xp_distro_add(struct xp_inv *inv, const struct xp_distro *d, unsigned flags,
		  struct xp_diags *diags)
{
	return store(inv, d, flags, diags, OP_ADD, NULL);
}

int xp_distro_update(struct xp_inv *inv, const struct xp_distro *d, unsigned flags,
		     struct xp_diags *diags)
{
	return store(inv, d, flags, diags, OP_UPDATE, NULL);
}

int xp_distro_put(struct xp_inv *inv, const struct xp_distro *d,
		  const struct xp_distro_region *kernel, const struct xp_distro_region *initrd,
		  int (*also)(struct xp_inv *inv, void *ud), void *ud,
		  enum xp_distro_put_result *result, struct xp_diags *diags)
{
	if (!kernel || !d->kernel || (initrd && !d->initrd))
		return -EINVAL;
	struct put_args pa = {kernel, initrd, also, ud, XP_DISTRO_UNCHANGED};
	int r = store(inv, d, 0, diags, OP_PUT, &pa);
	if (r >= 0 && result)
		*result = pa.result;
	return r;
}

int xp__distro_row(struct xp_db_stmt *st, void *row)
{
	struct xp_distro *out = row;
	memset(out, 0, sizeof(*out));
	out->name = xp__col_text(st, 0);
	out->kernel = xp__col_text(st, 1);
	out->initrd = xp__col_text(st, 2);
	out->arch = xp__col_text(st, 3);
	out->kernel_options = xp__col_text(st, 4);
	out->created = xp__db_column_int64(st, 5);
	out->updated = xp__db_column_int64(st, 6);
	out->kernel_sha256 = xp__col_text(st, 7);
	out->initrd_sha256 = xp__col_text(st, 8);
	out->os = xp__col_text(st, 9); /* the operator's, else what import found */
	if (out->os && !xp_distro_os_valid(out->os)) {
		free(out->os); /* written behind the library's back: none */
		out->os = NULL;
	}
	if (!out->name || !out->kernel || !out->arch ||
	    (!out->initrd && !xp__db_column_null(st, 2)) ||
	    (!out->kernel_options && !xp__db_column_null(st, 4)) ||
	    (!out->kernel_sha256 && !xp__db_column_null(st, 7)) ||
	    (!out->initrd_sha256 && !xp__db_column_null(st, 8))) {
		xp_distro_release(out);
		return -ENOMEM;
	}
	/* a digest written behind the library's back is not a name to open */
	if ((out->kernel_sha256 && !xp_sha256_hex_valid(out->kernel_sha256)) ||
	    (out->initrd_sha256 && !xp_sha256_hex_valid(out->initrd_sha256))) {
		free(out->kernel_sha256);
		free(out->initrd_sha256);
		out->kernel_sha256 = out->initrd_sha256 = NULL;
	}
	return 1;
}

int xp_distro_get(struct xp_inv *inv, const char *name, struct xp_distro *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, XP__DISTRO_SELECT " WHERE name = ?1", name, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW)
		r = xp__distro_row(st, out) < 0 ? -ENOMEM : 0;
	else
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	xp__db_finalize(st);
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
	int c[3];
	r = xp__inv_counts(inv,
			   "SELECT (SELECT count(*) FROM distros WHERE name = ?1),"
			   "       (SELECT count(*) FROM systems WHERE distro = ?1),"
			   "       (SELECT count(*) FROM profile_settings"
			   "        WHERE key = 'distro' AND value = ?1)",
			   name, c, 3);
	if (r < 0)
		goto fail;
	int found = c[0], systems = c[1], profiles = c[2];
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
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(inv, "DELETE FROM distros WHERE name = ?1", name, &st);
	if (r < 0)
		goto fail;
	inv->store_gc = true; /* its files go unless another distro shares them */
	return xp__inv_step_commit(inv, st);
fail:
	xp_inv_rollback(inv);
	return r;
}
