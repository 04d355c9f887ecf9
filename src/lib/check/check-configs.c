/*
 * check-configs.c - every xl config (NAME.cfg) in the config directories, read and
 * linted as `xenprov config check --host` does (xl-config.h, xl-lint.h): the setting
 * config-dir (/etc/xen by default) and each profile's own config-dir. One lint set for
 * all, so a MAC two guests share is found. Cobbler's check_for_ksvalidator validates
 * the kickstarts it serves; xenprov validates the configs xl will start.
 *
 * Not here: the lint itself (lib/xl/).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check/check-internal.h"
#include "xenprov/xl-config.h"
#include "xenprov/xl-lint.h"

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files a directory's xl configs are: regular NAME.cfg files, sorted. */
static int configs(const char *dir, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	size_t cap = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || de->d_name[0] == '.' || strcmp(de->d_name + len - 4, ".cfg") != 0)
			continue;
		struct xp_buf path = XP_BUF_INIT;
		xp_buf_addf(&path, "%s/%s", dir, de->d_name);
		struct stat st;
		if (xp_buf_error(&path) || stat(xp_buf_str(&path), &st) < 0 ||
		    !S_ISREG(st.st_mode)) {
			xp_buf_release(&path);
			continue;
		}
		if (xp_grow(out, &cap, *n, sizeof(**out), 16) < 0) {
			xp_buf_release(&path);
			r = -ENOMEM;
			break;
		}
		(*out)[(*n)++] = xp_buf_steal(&path);
	}
	closedir(d);
	if (r == 0 && *n)
		qsort(*out, *n, sizeof(**out), by_path);
	return r;
}

/* One file's lint as findings: its errors as one (the first quoted), its warnings as
 * another. */
static int file_findings(struct xp__check_ctx *c, const char *path, const struct xp_diags *d)
{
	static const struct {
		enum xp_severity sev;
		const char *why;
	} kinds[] = {
	    {XP_SEV_ERROR, "xl create refuses a config with an error (or its guest fails to "
			   "start): the guest does not run"},
	    {XP_SEV_WARNING, "xl accepts it, but it is probably not what was meant"},
	};
	int r = 0;
	for (size_t k = 0; r == 0 && k < 2; k++) {
		size_t count = xp_diags_count(d, kinds[k].sev);
		const struct xp_diag *first = NULL;
		for (size_t i = 0; i < d->n && !first; i++)
			if (d->v[i].severity == kinds[k].sev)
				first = &d->v[i];
		if (!count || !first)
			continue;
		char fix[4400];
		if (first->hint)
			snprintf(fix, sizeof(fix), "%s (see: xenprov config check --host %s)",
				 first->hint, path);
		else
			snprintf(
			    fix, sizeof(fix),
			    "xenprov config set %s KEY=VALUE (see: xenprov config check --host "
			    "%s)",
			    path, path);
		char more[64] = "";
		if (count > 1)
			snprintf(more, sizeof(more), " (and %zu more %s%s)", count - 1,
				 xp_severity_name(kinds[k].sev), count > 2 ? "s" : "");
		r = xp__check_add(c, kinds[k].sev, "config", path, kinds[k].why, fix,
				  "%s:%u: %s%s%s%s", path, first->line, first->msg,
				  first->text ? " ('" : "", first->text ? first->text : "",
				  first->text ? "')" : "");
		if (r == 0 && more[0]) {
			/* the count goes with the finding's text */
			struct xp_finding *f = &c->out->v[c->out->n - 1];
			struct xp_buf b = XP_BUF_INIT;
			xp_buf_addf(&b, "%s%s", f->what, more);
			char *w = xp_buf_steal(&b);
			if (!w)
				return -ENOMEM;
			free(f->what);
			f->what = w;
			f->count = count;
		}
	}
	return r;
}

int xp__check_configs(struct xp__check_ctx *c)
{
	const struct xp_inv_snapshot *s = c->snap;
	/* the directories: the setting's, then each profile's own (distinct) */
	const char *dirs[64];
	bool defaulted[64];
	const char *owner[64];
	size_t nd = 0;
	const char *setting = xp__check_setting(c, "config-dir");
	if (setting) {
		owner[nd] = NULL;
		defaulted[nd] = xp_settings_get(&c->defaulted, "config-dir") != NULL;
		dirs[nd++] = setting;
	}
	for (size_t i = 0; i < s->nprofiles && nd < 64; i++) {
		const char *d = xp_settings_get(&s->profiles[i].own, "config-dir");
		bool seen = false;
		for (size_t k = 0; d && k < nd && !seen; k++)
			seen = strcmp(dirs[k], d) == 0;
		if (!d || seen)
			continue;
		owner[nd] = s->profiles[i].name;
		defaulted[nd] = false;
		dirs[nd++] = d;
	}
	struct xp_lint_set *set;
	int r = xp_lint_set_new(&set);
	if (r < 0)
		return r;
	struct xp_lint_opts lo = {
	    .host = true, .xen_bindir = c->opts->xen_bindir, .path = c->opts->path};
	for (size_t k = 0; r == 0 && k < nd; k++) {
		char **files;
		size_t n;
		int e = configs(dirs[k], &files, &n);
		if (e == -ENOMEM) {
			r = e;
			break;
		}
		if (e < 0) {
			/* /etc/xen missing on a host without Xen: the toolstack check says so */
			if (defaulted[k] && e == -ENOENT)
				continue;
			char subject[4200], fix[4300];
			snprintf(subject, sizeof(subject), "%s", dirs[k]);
			snprintf(fix, sizeof(fix), "mkdir -p %s", dirs[k]);
			r = xp__check_add(
			    c, XP_SEV_ERROR, "config", subject,
			    "deploy and domain create write guests' configs there and "
			    "refuse to start without it",
			    e == -ENOENT ? fix : NULL,
			    "the config directory of %s%s%s cannot be read: %s",
			    owner[k] ? "profile '" : "the setting 'config-dir'",
			    owner[k] ? owner[k] : "", owner[k] ? "'" : "", strerror(-e));
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			struct xp_diags d;
			xp_diags_init(&d);
			d.limit = 100;
			struct xp_cfg *cfg = NULL;
			e = xp_cfg_load(files[i], &d, &cfg);
			if (!cfg && e == -ENOMEM)
				r = e;
			else if (!cfg)
				xp_diags_add(&d, XP_SEV_ERROR, files[i], 0, 0, "read", NULL, NULL,
					     "cannot read: %s", strerror(-e));
			else if (xp_cfg_lint(cfg, &lo, set, &d) < 0)
				r = -ENOMEM;
			if (r == 0)
				r = file_findings(c, files[i], &d);
			xp_cfg_free(cfg);
			xp_diags_release(&d);
			free(files[i]);
		}
		free(files);
	}
	xp_lint_set_free(set);
	return r;
}
