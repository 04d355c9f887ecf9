/*
 * hooks.c - the site's hooks (hooks.h): after a guest's files are written and its disk
 * is closed and synced, the executables of <state>/hooks.d run one after the other,
 * each told about the guest through XP_GUEST_* variables (xenprov-domain(1), HOOKS).
 * They run through xp_spawn_wait: an argv, no shell, stdin /dev/null, the output
 * captured for the message of a failing hook, so the hooks of the many guests a deploy
 * makes at once never interleave on a terminal.
 *
 * Not here: the edits inside the guest (image/guest-edit.c), which hooks directory a
 * guest gets (domain.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/hooks.h"

extern char **environ;

/* An error about the guest's disk in d (may be NULL); returns err. */
static int fail(const struct xp_guest_hooks *h, struct xp_diags *d, int err, const char *code,
		const char *text, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int fail(const struct xp_guest_hooks *h, struct xp_diags *d, int err, const char *code,
		const char *text, const char *fmt, ...)
{
	if (d) {
		va_list ap;
		va_start(ap, fmt);
		xp_diags_addv(d, XP_SEV_ERROR, h->image, 0, 0, code, text, NULL, fmt, ap);
		va_end(ap);
	}
	return err;
}

int xp_guest_hooks_check(const struct xp_guest_hooks *h, struct xp_diags *d)
{
	if (h->dir) {
		struct stat st;
		if (stat(h->dir, &st) < 0) {
			int e = errno;
			return fail(h, d, -e, "hooks", h->dir, "cannot use hooks '%s': %s", h->dir,
				    strerror(e));
		}
		if (!S_ISDIR(st.st_mode))
			return fail(h, d, -ENOTDIR, "hooks", h->dir,
				    "hooks '%s' is not a directory", h->dir);
	}
	if (h->name) {
		bool ok = h->name[0] != '\0';
		for (const unsigned char *p = (const unsigned char *)h->name; ok && *p; p++)
			ok = *p >= 0x20 && *p != 0x7f;
		if (!ok)
			return fail(h, d, -EINVAL, "name", NULL, "invalid guest name");
	}
	return 0;
}

static int visible(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The environment of the hooks: ours, less any XP_GUEST_*, plus the guest's. *envp
 * borrows from environ; *owned (nowned strings) is what to free. */
static int make_env(const struct xp_guest_hooks *h, const struct xp_guest_settings *s,
		    const struct xp_guest_report *rep, char ***envp, char ***owned, size_t *nowned)
{
	struct xp_buf dns = XP_BUF_INIT;
	for (size_t i = 0; i < s->ndns; i++)
		xp_buf_addf(&dns, "%s%s", i ? " " : "", s->dns[i]);
	char fqdn[300] = "", prefix[16] = "", off[32], mac[XP_MAC_STRLEN + 1];
	if (s->hostname)
		snprintf(fqdn, sizeof(fqdn), "%s%s%s", s->hostname, s->domain ? "." : "",
			 s->domain ? s->domain : "");
	unsigned p = xp_guest_prefix(s);
	if (p)
		snprintf(prefix, sizeof(prefix), "%u", p);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)rep->fs_offset);
	if (xp_guest_mac(s, mac) < 0)
		mac[0] = '\0'; /* xp_guest_apply refused it before */
	const char *vars[][2] = {
	    {"XP_GUEST_IMAGE", h->image},
	    {"XP_GUEST_NAME", h->name	    ? h->name
			      : s->hostname ? s->hostname
					    : ""},
	    {"XP_GUEST_HOSTNAME", s->hostname ? s->hostname : ""},
	    {"XP_GUEST_DOMAIN", s->domain ? s->domain : ""},
	    {"XP_GUEST_FQDN", fqdn},
	    {"XP_GUEST_IP", !s->dhcp && s->ip ? s->ip : ""},
	    {"XP_GUEST_PREFIX", prefix},
	    {"XP_GUEST_GATEWAY", !s->dhcp && s->gateway ? s->gateway : ""},
	    {"XP_GUEST_DNS", xp_buf_str(&dns)},
	    {"XP_GUEST_DHCP", s->dhcp ? "1" : "0"},
	    {"XP_GUEST_MAC", mac},
	    {"XP_GUEST_NET_FORMAT", xp_net_format_name(rep->net_format)},
	    {"XP_GUEST_ROOT_UUID", rep->fs_uuid},
	    {"XP_GUEST_SWAP_UUID", rep->swap_uuid},
	    {"XP_GUEST_FS_OFFSET", off},
	};
	size_t nvars = sizeof(vars) / sizeof(vars[0]);
	size_t nenv = 0;
	while (environ && environ[nenv])
		nenv++;
	int r = xp_buf_error(&dns);
	*envp = calloc(nenv + nvars + 1, sizeof(char *));
	*owned = calloc(nvars, sizeof(char *));
	*nowned = nvars;
	if (!*envp || !*owned)
		r = -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; r == 0 && i < nenv; i++)
		if (strncmp(environ[i], "XP_GUEST_", 9) != 0)
			(*envp)[k++] = environ[i];
	for (size_t i = 0; r == 0 && i < nvars; i++) {
		if (asprintf(&(*owned)[i], "%s=%s", vars[i][0], vars[i][1]) < 0) {
			(*owned)[i] = NULL;
			r = -ENOMEM;
			break;
		}
		(*envp)[k++] = (*owned)[i];
	}
	xp_buf_release(&dns);
	return r;
}

/* Runs the hook at path: 0, or -EIO with a diagnostic. *ran: it ran (to its end). */
static int run_one(const struct xp_guest_hooks *h, const char *path, char *const envp[], bool *ran,
		   struct xp_diags *d)
{
	char *argv[] = {(char *)path, (char *)h->image, NULL};
	/* what a hook prints is kept for the message if it fails (deploys run many guests
	 * at once: their hooks' output must not interleave on a terminal) */
	struct xp_buf out = XP_BUF_INIT;
	int hrc = xp_spawn_wait(argv, envp, &out);
	const char *o = xp_buf_str(&out);
	int r = 0;
	*ran = hrc >= 0;
	if (hrc < 0)
		r = fail(h, d, -EIO, "hook", path, "cannot run hook '%s': %s", path,
			 strerror(-hrc));
	else if (hrc >= XP_SPAWN_SIGNALED)
		r = fail(h, d, -EIO, "hook", path, "hook '%s' was killed by signal %d%s%s", path,
			 hrc - XP_SPAWN_SIGNALED, *o ? ": " : "", o);
	else if (hrc > 0)
		r = fail(h, d, -EIO, "hook", path, "hook '%s' failed (exit status %d)%s%s", path,
			 hrc, *o ? ": " : "", o);
	xp_buf_release(&out);
	return r;
}

int xp_guest_hooks_run(const struct xp_guest_hooks *h, const struct xp_guest_settings *s,
		       const struct xp_guest_report *rep, size_t *nrun, struct xp_diags *d)
{
	if (nrun)
		*nrun = 0;
	if (!h->dir)
		return 0;
	struct dirent **names = NULL;
	int n = scandir(h->dir, &names, visible, by_name);
	if (n < 0) {
		int e = errno;
		return fail(h, d, -e, "hooks", h->dir, "cannot read hooks '%s': %s", h->dir,
			    strerror(e));
	}
	char **envp = NULL, **owned = NULL;
	size_t nowned = 0;
	int r = make_env(h, s, rep, &envp, &owned, &nowned);
	for (int i = 0; r == 0 && i < n; i++) {
		char *path = NULL;
		if (asprintf(&path, "%s/%s", h->dir, names[i]->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0) {
			bool ran = false;
			r = run_one(h, path, envp, &ran, d);
			if (ran && nrun)
				(*nrun)++;
		}
		free(path);
	}
	for (size_t i = 0; owned && i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(envp);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}
