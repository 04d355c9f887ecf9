/*
 * distro-trees.c - the install trees `xenprov import` made reachable for distros
 * (migration 6): how each is offered (copied into the TFTP root, served from inside an
 * ISO image, or served elsewhere), what it was imported from and what import found;
 * for an image, where each of its files lies in it and the image's identity (size,
 * inode, mtime) when it was read, so the boot server never serves bytes of an image
 * that has changed since as files whose places were read from the old one.
 *
 * The image's path is written here only by the command line's import (the operator
 * names it); the HTTP API can neither set nor change it, so the token gives no way to
 * have the server read a file outside what the operator chose.
 *
 * Not here: finding trees (import/), serving (boot/boot.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inventory/values-internal.h"

void xp_distro_tree_release(struct xp_distro_tree *t)
{
	free(t->distro);
	free(t->mode);
	free(t->source);
	free(t->url);
	free(t->signature);
	free(t->family);
	free(t->version);
	memset(t, 0, sizeof(*t));
}

int xp_distro_tree_get(struct xp_inv *inv, const char *distro, struct xp_distro_tree *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_db_stmt *st;
	int r =
	    xp__inv_prepare_arg(inv,
				"SELECT distro, mode, source, url, signature, family, version,"
				" iso_size, iso_ino, iso_mtime FROM distro_trees WHERE distro = ?1",
				distro, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	if (rc == XP_DB_ROW) {
		char **text[] = {&out->distro,	  &out->mode,	&out->source, &out->url,
				 &out->signature, &out->family, &out->version};
		for (int i = 0; i < 7; i++) {
			*text[i] = xp__col_text(st, i);
			if (!*text[i] && !xp__db_column_null(st, i))
				r = -ENOMEM;
		}
		out->iso_size = (uint64_t)xp__db_column_int64(st, 7);
		out->iso_ino = (uint64_t)xp__db_column_int64(st, 8);
		out->iso_mtime_ns = xp__db_column_int64(st, 9);
		if (r == 0 &&
		    (!out->distro || !out->mode || !out->source || !out->signature || !out->family))
			r = -EBADMSG;
	} else {
		r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
	}
	xp__db_finalize(st);
	if (r < 0)
		xp_distro_tree_release(out);
	return r;
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether the record of t->distro says exactly t and files: 1, 0, or -errno. */
static int same_record(struct xp_inv *inv, const struct xp_distro_tree *t,
		       const struct xp_distro_tree_file *files, size_t n)
{
	struct xp_distro_tree old;
	int r = xp_distro_tree_get(inv, t->distro, &old);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	bool iso = strcmp(t->mode, "iso") == 0;
	bool same = same_text(old.mode, t->mode) && same_text(old.source, t->source) &&
		    same_text(old.url, t->url) && same_text(old.signature, t->signature) &&
		    same_text(old.family, t->family) && same_text(old.version, t->version) &&
		    (!iso || (old.iso_size == t->iso_size && old.iso_ino == t->iso_ino &&
			      old.iso_mtime_ns == t->iso_mtime_ns));
	xp_distro_tree_release(&old);
	if (!same)
		return 0;
	struct xp_db_stmt *st;
	r = xp__inv_prepare_arg(inv,
				"SELECT path, off, size FROM distro_tree_files WHERE distro = ?1"
				" ORDER BY path",
				t->distro, &st);
	if (r < 0)
		return r;
	size_t i = 0;
	int rc = XP_DB_DONE;
	while (same && (rc = xp__db_step(st)) == XP_DB_ROW) {
		const char *p = xp__db_column_text(st, 0);
		same = i < n && p && strcmp(p, files[i].path) == 0 &&
		       (uint64_t)xp__db_column_int64(st, 1) == files[i].off &&
		       (uint64_t)xp__db_column_int64(st, 2) == files[i].size;
		i++;
	}
	if (same && rc != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	return r < 0 ? r : same && i == n;
}

int xp_distro_tree_put(struct xp_inv *inv, const struct xp_distro_tree *t,
		       const struct xp_distro_tree_file *files, size_t n, bool *changed)
{
	*changed = false;
	if (!t->distro || !t->mode || !t->source || !t->signature || !t->family ||
	    (strcmp(t->mode, "copy") && strcmp(t->mode, "iso") && strcmp(t->mode, "external")) ||
	    (n && strcmp(t->mode, "iso")))
		return -EINVAL;
	for (size_t i = 1; i < n; i++)
		if (strcmp(files[i - 1].path, files[i].path) >= 0)
			return -EINVAL;
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	int e = xp__inv_exists(inv, "SELECT 1 FROM distros WHERE name = ?1", t->distro);
	if (e <= 0) {
		if (e == 0)
			snprintf(inv->err, sizeof(inv->err), "no distro '%s'", t->distro);
		r = e == 0 ? -ENOENT : e;
		goto fail;
	}
	if ((r = same_record(inv, t, files, n)) != 0) {
		if (r < 0)
			goto fail;
		return xp_inv_commit(inv); /* nothing written */
	}
	bool iso = strcmp(t->mode, "iso") == 0;
	struct xp_db_stmt *st;
	if ((r = xp__inv_run(inv, "DELETE FROM distro_trees WHERE distro = ?1", t->distro)) < 0 ||
	    (r = xp__inv_prepare_arg(
		 inv,
		 "INSERT INTO distro_trees (distro, mode, source, url, signature, family, version,"
		 " iso_size, iso_ino, iso_mtime) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
		 t->distro, &st)) < 0)
		goto fail;
	const char *text[] = {t->mode, t->source, t->url, t->signature, t->family, t->version};
	for (int i = 0; i < 6; i++)
		xp__db_bind_text(st, i + 2, text[i]);
	if (iso) {
		xp__db_bind_int64(st, 8, t->iso_size);
		xp__db_bind_int64(st, 9, t->iso_ino);
		xp__db_bind_int64(st, 10, t->iso_mtime_ns);
	}
	if ((r = xp__inv_step_done(inv, st)) < 0)
		goto fail;
	if (n) {
		r = xp__inv_prepare_arg(inv,
					"INSERT INTO distro_tree_files (distro, path, off, size)"
					" VALUES (?1, ?2, ?3, ?4)",
					t->distro, &st);
		if (r < 0)
			goto fail;
		for (size_t i = 0; i < n && r == 0; i++) {
			xp__db_bind_text(st, 2, files[i].path);
			xp__db_bind_int64(st, 3, files[i].off);
			xp__db_bind_int64(st, 4, files[i].size);
			int rc = xp__db_step(st);
			if (rc != XP_DB_DONE)
				r = xp__inv_err(inv, rc);
			xp__db_reset(st);
		}
		xp__db_finalize(st);
		if (r < 0)
			goto fail;
	}
	*changed = true;
	return xp_inv_commit(inv);
fail:
	xp_inv_rollback(inv);
	return r;
}

int xp_distro_tree_drop(struct xp_inv *inv, const char *distro, bool *changed)
{
	*changed = false;
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	r = xp__inv_run(inv, "DELETE FROM distro_trees WHERE distro = ?1", distro);
	if (r < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	*changed = r > 0;
	return xp_inv_commit(inv);
}

int xp_distro_tree_open(struct xp_inv *inv, const char *distro, const char *path, int *fd,
			uint64_t *off, uint64_t *size)
{
	*fd = -1;
	struct xp_distro_tree t;
	int r = xp_distro_tree_get(inv, distro, &t);
	if (r < 0)
		return r;
	if (strcmp(t.mode, "iso") != 0 || t.source[0] != '/') {
		xp_distro_tree_release(&t);
		return -ENOENT;
	}
	*off = 0;
	*size = t.iso_size;
	if (path) {
		struct xp_db_stmt *st;
		r = xp__inv_prepare_arg(inv,
					"SELECT off, size FROM distro_tree_files"
					" WHERE distro = ?1 AND path = ?2",
					distro, &st);
		if (r < 0)
			goto out;
		xp__db_bind_text(st, 2, path);
		int rc = xp__db_step(st);
		if (rc == XP_DB_ROW) {
			*off = (uint64_t)xp__db_column_int64(st, 0);
			*size = (uint64_t)xp__db_column_int64(st, 1);
		} else {
			r = rc == XP_DB_DONE ? -ENOENT : xp__inv_err(inv, rc);
		}
		xp__db_finalize(st);
		if (r < 0)
			goto out;
	}
	/* O_PATH first, as every file served (xp_inv_open_servable) */
	int pfd = open(t.source, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		r = errno == ENOENT || errno == ENOTDIR ? -ENOENT : -EACCES;
		goto out;
	}
	struct stat sb;
	if (fstat(pfd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != t.iso_size ||
	    (uint64_t)sb.st_ino != t.iso_ino ||
	    (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec != t.iso_mtime_ns ||
	    *off > t.iso_size || *size > t.iso_size - *off) {
		close(pfd);
		r = -ENOENT; /* not the image that was read */
		goto out;
	}
	r = xp_inv_open_servable(inv, pfd);
	close(pfd);
	if (r >= 0) {
		*fd = r;
		r = 0;
	} else if (r != -ENOENT) {
		r = -EACCES;
	}
out:
	xp_distro_tree_release(&t);
	return r;
}
