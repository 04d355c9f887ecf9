/*
 * lifecycle.c - what a running guest needs from the host beside the toolstack: the
 * autostart link xendomains(8) reads at boot (CONFIG-DIR/auto/NAME.cfg, a symbolic link
 * to the guest's config, as Debian's xen-utils-common and xen-tools make it), and
 * stopping guests before their disks are removed (domain delete, deploy --rollback).
 *
 * Not here: running xl (toolstack.c), a guest's storage (domain-disks.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenprov/toolstack.h"

/* ---- autostart ------------------------------------------------------------------------- */

int xp_autostart_link_path(const char *config_path, char **out)
{
	*out = NULL;
	const char *slash = strrchr(config_path, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	int n = asprintf(out, "%.*s/auto/%s", (int)(slash - config_path), config_path, slash + 1);
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* 1 if link (lstat'ed as st) is a symbolic link leading to config_path. */
static int leads_to(const char *link, const char *config_path)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = 0;
	if (strcmp(target, config_path) == 0)
		return 1;
	/* another spelling of the same file (a relative link, a symlinked /etc/xen) */
	char *a = realpath(link, NULL), *b = realpath(config_path, NULL);
	int same = a && b && strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

int xp_autostart_get(const char *config_path)
{
	char *link;
	int r = xp_autostart_link_path(config_path, &link);
	if (r < 0)
		return r;
	struct stat st;
	r = lstat(link, &st) == 0 && S_ISLNK(st.st_mode) ? leads_to(link, config_path) : 0;
	free(link);
	return r;
}

/* fsync of the directory holding path: the link's making or removal is durable */
static void sync_dir_of(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return;
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

int xp_autostart_set(const char *config_path, bool on, struct xp_diags *d)
{
	char *link;
	int r = xp_autostart_link_path(config_path, &link);
	if (r < 0)
		return r;
	struct stat st;
	bool there = lstat(link, &st) == 0;
	bool ours = there && S_ISLNK(st.st_mode) && leads_to(link, config_path);
	if (there && !ours) {
		r = xp_diags_refuse(d, -EEXIST, "autostart", link,
				    "xenprov replaces or removes only its own link to the config",
				    "%s exists and is not a link to %s", link, config_path);
	} else if (on && !ours) {
		char *dir = strdup(link);
		if (!dir) {
			r = -ENOMEM;
			goto out;
		}
		*strrchr(dir, '/') = 0;
		r = xp_mkdir_p(dir, 0755);
		if (r < 0)
			xp_diags_fail(d, r, dir, "autostart", NULL, "cannot make the directory: %s",
				      strerror(-r));
		free(dir);
		/* symlink(2) makes the name in one step: xendomains sees no link or the
		 * whole link, never a part of one; the name was free a moment ago, and a
		 * link that appeared since is refused (EEXIST), never replaced */
		if (r == 0 && symlink(config_path, link) < 0)
			r = xp_diags_fail(d, -errno, link, "autostart", NULL,
					  "cannot make the autostart link: %s", strerror(errno));
		if (r == 0)
			sync_dir_of(link);
	} else if (!on && ours) {
		if (unlink(link) < 0 && errno != ENOENT)
			r = xp_diags_fail(d, -errno, link, "autostart", NULL,
					  "cannot remove the autostart link: %s", strerror(errno));
		else
			sync_dir_of(link);
	}
out:
	free(link);
	return r;
}

/* ---- stopping before removal ----------------------------------------------------------- */

int xp_domains_stop_for_removal(const struct xp_stop_opts *o, const char *const *names,
				size_t n, int *res, struct xp_diags *d)
{
	static const struct xp_stop_opts refuse = {.timeout = XP_STOP_TIMEOUT_DEFAULT};
	if (!o)
		o = &refuse;
	for (size_t i = 0; i < n; i++)
		res[i] = 0;
	struct xp_xl *xl;
	int r = xp_xl_open(o->xl, &xl);
	if (r < 0)
		return r;
	/* no toolstack to ask: nothing runs them here */
	if (n == 0 || xp_xl_refresh(xl) < 0)
		goto out;
	const char **run = calloc(n, sizeof(*run));
	size_t *at = calloc(n, sizeof(*at));
	bool *gone = calloc(n, sizeof(*gone));
	size_t nrun = 0;
	if (!run || !at || !gone) {
		r = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (xp_xl_power(xl, names[i], NULL) != XP_POWER_RUNNING)
			continue;
		if (!o->force) {
			res[i] = xp_diags_refuse(d, -EBUSY, "running", names[i],
						 "shut it down first, or give --force",
						 "domain '%s' is running", names[i]);
			r = -EBUSY;
			continue;
		}
		run[nrun] = names[i];
		at[nrun++] = i;
	}
	if (!o->force || nrun == 0)
		goto done;
	/* all asked at once, then waited for together: a fleet stops in the time of
	 * its slowest guest, not the sum; no time to shut down (timeout 0): destroyed
	 * at once */
	for (size_t k = 0; k < nrun && o->timeout; k++) {
		struct xp_diags own;
		xp_diags_init(&own);
		if (xp_xl_do(xl, "shutdown", NULL, run[k], &own) < 0)
			xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "shutdown", run[k], NULL,
				     "%s; it will be destroyed",
				     own.n ? own.v[0].msg : "xl shutdown failed");
		xp_diags_release(&own);
	}
	int left = o->timeout ? xp_xl_wait_gone(xl, run, nrun, o->timeout, gone) : (int)nrun;
	if (left < 0) {
		for (size_t k = 0; k < nrun; k++)
			res[at[k]] = xp_diags_refuse(d, -EIO, "toolstack", run[k], NULL,
						     "cannot tell whether domain '%s' stopped: %s",
						     run[k], xp_xl_why(xl));
		r = -EIO;
		goto done;
	}
	for (size_t k = 0; k < nrun; k++) {
		if (gone[k]) {
			xp_diags_add(d, XP_SEV_NOTE, NULL, 0, 0, "stopped", run[k], NULL,
				     "domain '%s' was shut down", run[k]);
			continue;
		}
		if (o->timeout)
			xp_diags_add(d, XP_SEV_WARNING, NULL, 0, 0, "destroyed", run[k], NULL,
				     "domain '%s' did not shut down within %u s: destroying it",
				     run[k], o->timeout);
		else
			xp_diags_add(d, XP_SEV_NOTE, NULL, 0, 0, "destroyed", run[k], NULL,
				     "domain '%s' is destroyed (no time given to shut down)",
				     run[k]);
		if ((res[at[k]] = xp_xl_do(xl, "destroy", NULL, run[k], d)) < 0 && r == 0)
			r = res[at[k]];
	}
	/* xl destroy returns when the domain is gone; say so only of what the toolstack
	 * no longer lists */
	if (left > 0 && xp_xl_refresh(xl) == 0)
		for (size_t k = 0; k < nrun; k++)
			if (res[at[k]] == 0 && xp_xl_power(xl, run[k], NULL) == XP_POWER_RUNNING) {
				res[at[k]] = xp_diags_refuse(d, -EBUSY, "running", run[k], NULL,
							     "domain '%s' still runs after xl destroy",
							     run[k]);
				if (r == 0)
					r = -EBUSY;
			}
done:
	free(run);
	free(at);
	free(gone);
out:
	xp_xl_free(xl);
	return r;
}
