/*
 * capture.c - `image capture`: a golden client's tree (HOST:DIR over ssh, or a local
 * directory) pulled by the real rsync(1) into a new version of the image store
 * (imgstore.c), hard-linked to the previous version with --link-dest so a version costs
 * only what changed, then listed into its manifest (manifest.c).
 *
 * The default exclusions are SystemImager's (si_getimage's exclude file) plus what one
 * machine keeps of its own and a clone must not share: the clone hygiene list of
 * xp_guest_apply (xp_guest_machine_state, guest.h), reused, not copied.
 *
 * Not here: argument parsing and output (cmd-image-capture.c), reading a disk image
 * (capture-disk.c), the walk of a local source and the skip of what did not change
 * since the previous capture (capture-skip.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/imgstore-internal.h"
#include "image/rsync-filter.h"
#include "util/cleanup.h"
#include "xenprov/guest.h"
#include "xenprov/imgstore.h"

/* ---- default exclusions ------------------------------------------------------------------- */

/* Each default exclusion: its name (for --include-default / --show-excludes), what it
 * is, and its rsync patterns (anchored at the top of the captured tree). /proc and
 * /sys lose their content, not themselves: a guest made from the image mounts there. */
static const struct {
	const char *name, *what;
	const char *pat[4];
	const char *state; /* or the machine-state patterns containing this word */
} defaults[] = {
    {"proc", "/proc (its content; the mount point stays)", {"/proc/*"}, NULL},
    {"sys", "/sys (its content; the mount point stays)", {"/sys/*"}, NULL},
    {"dev", "/dev/*", {"/dev/*"}, NULL},
    {"run", "/run/*", {"/run/*"}, NULL},
    {"tmp", "/tmp/*", {"/tmp/*"}, NULL},
    {"var-tmp", "/var/tmp/*", {"/var/tmp/*"}, NULL},
    {"mnt", "/mnt/*", {"/mnt/*"}, NULL},
    {"media", "/media/*", {"/media/*"}, NULL},
    {"lost-found", "/lost+found", {"/lost+found"}, NULL},
    {"swap", "swap files", {"/swapfile", "/swap.img", "/swap"}, NULL},
    {"apt-archives", "downloaded packages", {"/var/cache/apt/archives/*.deb"}, NULL},
    {"dhcp-leases", "DHCP client leases", {NULL}, "lease"},
    {"ssh-host-keys", "SSH host keys", {"/etc/ssh/ssh_host_*"}, NULL},
    {"machine-id", "the content of /etc/machine-id (left empty: made at first boot)",
     {"/etc/machine-id"}, NULL},
    {"random-seed", "the random seed", {NULL}, "random-seed"},
    {"guest-state", "per-guest files xenprov itself removes from every guest (DHCP "
		    "identities, secrets, persistent net rules)",
     {NULL}, ""},
};

#define NDEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

/* Whether machine-state pattern p belongs to default i (whose .state is set): the
 * named words to theirs, the rest to "guest-state". */
static bool state_of(size_t i, const char *p)
{
	if (*defaults[i].state)
		return strstr(p, defaults[i].state) != NULL;
	for (size_t k = 0; k < NDEFAULTS; k++)
		if (defaults[k].state && *defaults[k].state && strstr(p, defaults[k].state))
			return false;
	return true;
}

size_t xp_capture_default_count(void)
{
	return NDEFAULTS;
}

int xp_capture_default(size_t i, const char **name, const char **what, struct xp_buf *patterns)
{
	if (i >= NDEFAULTS)
		return -EINVAL;
	*name = defaults[i].name;
	*what = defaults[i].what;
	size_t k = 0;
	if (!defaults[i].state) {
		for (; k < 4 && defaults[i].pat[k]; k++)
			xp_buf_addf(patterns, "%s%s", k ? " " : "", defaults[i].pat[k]);
	} else {
		for (const char *const *p = xp_guest_machine_state(); *p; p++)
			if (state_of(i, *p))
				xp_buf_addf(patterns, "%s%s", k++ ? " " : "", *p);
	}
	return xp_buf_error(patterns);
}

int xp_capture_default_find(const char *name)
{
	for (size_t i = 0; i < NDEFAULTS; i++)
		if (strcmp(defaults[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

/* ---- the source ----------------------------------------------------------------------------- */

enum xp_capture_kind xp_capture_source_kind(const char *source)
{
	const char *colon = strchr(source, ':'), *slash = strchr(source, '/');
	/* rsync's rule: a colon before any slash makes it remote */
	if (colon && colon != source && (!slash || colon < slash))
		return XP_CAPTURE_SSH;
	struct stat st;
	if (stat(source, &st) == 0 && S_ISDIR(st.st_mode))
		return XP_CAPTURE_DIR;
	if (stat(source, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return XP_CAPTURE_DISK;
	return XP_CAPTURE_NONE;
}

/* ---- running rsync ---------------------------------------------------------------------------- */

/* Every exclusion in force, in rsync's order: the defaults not switched off, then the
 * operator's. */
struct patterns {
	char **v;
	size_t n, cap;
};

static void patterns_release(struct patterns *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static int patterns_add(struct patterns *p, const char *s)
{
	char *c = strdup(s);
	if (!c || xp_grow(&p->v, &p->cap, p->n, sizeof(*p->v), 32) < 0) {
		free(c);
		return -ENOMEM;
	}
	p->v[p->n++] = c;
	return 0;
}

static int patterns_get(const struct xp_capture_opts *o, struct patterns *p)
{
	memset(p, 0, sizeof(*p));
	int r = 0;
	for (size_t i = 0; r == 0 && i < NDEFAULTS; i++) {
		if (o->default_off & (1ull << i))
			continue;
		struct xp_buf pats = XP_BUF_INIT;
		const char *n, *w;
		r = xp_capture_default(i, &n, &w, &pats);
		char *save = NULL;
		for (char *t = r == 0 && pats.s ? strtok_r(pats.s, " ", &save) : NULL; r == 0 && t;
		     t = strtok_r(NULL, " ", &save))
			r = patterns_add(p, t);
		xp_buf_release(&pats);
	}
	for (size_t i = 0; r == 0 && i < o->nexcludes; i++)
		r = patterns_add(p, o->excludes[i]);
	if (r < 0)
		patterns_release(p);
	return r;
}

/* Reads rsync's two pipes until both close: progress lines (split at '\r' and '\n')
 * from its standard output to o->progress, its standard error kept (the last 8 KiB)
 * for the diagnostic. */
static bool pump(const struct xp_capture_opts *o, int out, int err, struct xp_buf *errbuf)
{
	bool cancelled = false;
	struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
	char line[512];
	size_t ll = 0;
	char buf[4096];
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		/* a signal (EINTR) or once a second: has the caller given up? */
		if (o->cancelled && o->cancelled(o->ud)) {
			cancelled = true;
			break;
		}
		int pr = poll(p, 2, 1000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = xp_read_some(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				p[i].fd = -1;
				continue;
			}
			if (i == 1) {
				if (errbuf->len > 8192)
					xp_buf_truncate(errbuf, 0);
				xp_buf_add(errbuf, buf, (size_t)n);
				continue;
			}
			for (ssize_t k = 0; k < n; k++) {
				if (buf[k] == '\r' || buf[k] == '\n') {
					line[ll] = 0;
					if (ll && o->progress)
						o->progress(o->ud, line);
					ll = 0;
				} else if (ll < sizeof(line) - 1) {
					line[ll++] = buf[k];
				}
			}
		}
	}
	close(out);
	close(err);
	return cancelled;
}

/* rsync's exit codes (rsync(1), EXIT VALUES) that mean the source was not reached. */
static bool unreachable(int st)
{
	return st == 255 || st == 5 || st == 10 || st == 12 || st == 35;
}

static void trim(struct xp_buf *b)
{
	while (b->len && (b->s[b->len - 1] == '\n' || b->s[b->len - 1] == ' '))
		xp_buf_truncate(b, b->len - 1);
}

static int run_rsync(const struct xp_capture_opts *o, const char *from, const char *to,
		     const char *link_dest, const char *link_dest2, bool dense,
		     const char *files_from, bool recopy, bool *vanished, struct xp_diags *d)
{
	struct xp_argv a = {0};
	xp_argv_rsync(&a, o->ssh_command, dense);
	/* the quick check compares sizes and mtimes to the second by default: a file changed
	 * to the same size within one second would be linked to the old version; with a
	 * negative window the nanoseconds count too (the receiver, here, is rsync >= 3.1.3) */
	xp_argv_add(&a, "--modify-window=-1");
	if (!o->all_filesystems)
		xp_argv_add(&a, "--one-file-system");
	if (o->progress) {
		xp_argv_add(&a, "--info=progress2");
		xp_argv_add(&a, "--no-inc-recursive");
	}
	if (link_dest)
		xp_argv_add(&a, "--link-dest=%s", link_dest);
	if (link_dest2)
		xp_argv_add(&a, "--link-dest=%s", link_dest2);
	if (files_from) {
		/* exactly these entries (NUL-separated, relative to from; the filter rules
		 * apply to them as to any), their directories there already: to recopy
		 * (verify_recent), whatever their sizes and times say; else what the skip
		 * (capture-skip.c) left to rsync, a directory with its content */
		xp_argv_add(&a, "--files-from=%s", files_from);
		xp_argv_add(&a, "--from0");
		xp_argv_add(&a, recopy ? "--ignore-times" : "--recursive");
		xp_argv_add(&a, "--no-implied-dirs");
	}
	struct patterns pats;
	if (patterns_get(o, &pats) < 0)
		a.err = -ENOMEM;
	for (size_t i = 0; i < pats.n; i++)
		xp_argv_add(&a, "--exclude=%s", pats.v[i]);
	patterns_release(&pats);
	xp_argv_add(&a, "%s", from);
	xp_argv_add(&a, "%s", to);
	if (a.err) {
		xp_argv_release(&a);
		return -ENOMEM;
	}
	pid_t pid;
	int out, err;
	int r = xp_spawn_piped(a.v, NULL, &pid, &out, &err);
	xp_argv_release(&a);
	if (r == -ENOENT)
		return xp_diags_fail(d, r, NULL, "no-rsync", "apt-get install rsync",
				     "rsync is not installed");
	if (r < 0)
		return xp_diags_fail(d, r, NULL, NULL, NULL, "cannot run rsync: %s", strerror(-r));
	struct xp_buf eb = XP_BUF_INIT;
	if (pump(o, out, err, &eb)) {
		/* rsync runs in a process group of its own: stop it and what it started
		 * (its receiver, ssh) before the half-made version goes */
		(void)xp_spawn_stop(pid, -1, 5);
		xp_buf_release(&eb);
		return xp_diags_fail(d, -ECANCELED, NULL, "cancelled", NULL,
				     "capture of '%s' interrupted: nothing kept", o->source);
	}
	int st = xp_spawn_reap(pid);
	trim(&eb);
	*vanished = st == 24;
	if (st == 0 || st == 24) {
		r = 0;
	} else if (st < 0) {
		r = xp_diags_fail(d, st, NULL, NULL, NULL, "rsync: %s", strerror(-st));
	} else if (st >= XP_SPAWN_SIGNALED) {
		r = xp_diags_fail(d, -EINTR, NULL, "rsync", NULL, "rsync was killed by signal %d%s%s",
				  st - XP_SPAWN_SIGNALED, eb.len ? ":\n" : "", xp_buf_str(&eb));
	} else if (unreachable(st) && o->kind == XP_CAPTURE_SSH) {
		r = xp_diags_fail(d, -EHOSTUNREACH, NULL, "unreachable",
				  "check that the host answers ssh as the user given (--ssh-user), "
				  "and that rsync is installed there",
				  "cannot capture '%s': rsync over ssh failed (exit %d)%s%s", o->source,
				  st, eb.len ? ":\n" : "", xp_buf_str(&eb));
	} else {
		r = xp_diags_fail(d, -EIO, NULL, "rsync", NULL,
				  "cannot capture '%s': rsync failed (exit %d)%s%s", o->source, st,
				  eb.len ? ":\n" : "", xp_buf_str(&eb));
	}
	xp_buf_release(&eb);
	return r;
}

/* /etc/machine-id left empty (machine-id(5): systemd writes a new one at first boot)
 * where the tree has an /etc. */
static int empty_machine_id(const char *root, struct xp_diags *d)
{
	_cleanup_free_ char *etc = NULL, *mid = NULL;
	struct stat st;
	if (asprintf(&etc, "%s/etc", root) < 0 || asprintf(&mid, "%s/etc/machine-id", root) < 0)
		return -ENOMEM;
	if (lstat(etc, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	int fd = open(mid, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return errno == EEXIST ? 0 : xp_diags_fail(d, -errno, mid, NULL, NULL,
							  "cannot create: %s", strerror(errno));
	int r = fchown(fd, 0, 0) < 0 && geteuid() == 0 ? -errno : 0;
	if (r == 0 && fchmod(fd, 0444) < 0)
		r = -errno;
	/* the time of the directory's other entries is not ours to choose: the epoch, the
	 * same for every capture of the same tree */
	struct timespec ts[2] = {{0, 0}, {0, 0}};
	if (r == 0 && futimens(fd, ts) < 0)
		r = -errno;
	close(fd);
	/* and /etc keeps the times the source gave it: a capture of the same tree lists
	 * the same, whenever it is made */
	struct timespec et[2] = {st.st_atim, st.st_mtim};
	if (r == 0 && utimensat(AT_FDCWD, etc, et, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	return r < 0 ? xp_diags_fail(d, r, mid, NULL, NULL, "cannot set: %s", strerror(-r)) : 0;
}

/* ---- capture ---------------------------------------------------------------------------------- */

/* Who copies a local tree: xenprov itself (capture-copy.c) when its filter matches every
 * exclusion as rsync would and the operator did not ask for rsync, else rsync. */
struct copier {
	bool native;
	struct xp_rsync_filter *filter;
	struct xp_copied **copied; /* what the native copy wrote, and its hashes */
	const struct xp_manifest *base_m; /* a lazy version: the manifest of link_dest */
	size_t *ncopied;
};

static int copier_pick(const struct xp_capture_opts *o, struct copier *cp, struct xp_diags *d)
{
	cp->native = false;
	/* as another user rsync -a keeps what it may (no owners, no trusted xattrs, no
	 * devices) without failing: that is rsync's to decide */
	if (o->kind != XP_CAPTURE_DIR || o->use_rsync || geteuid() != 0)
		return 0;
	struct patterns pats;
	int r = patterns_get(o, &pats);
	if (r == 0)
		r = xp_rsync_filter_new((const char *const *)pats.v, pats.n, &cp->filter);
	patterns_release(&pats);
	if (r == -ENOTSUP)
		return 0; /* a pattern only rsync matches exactly: rsync copies */
	if (r < 0)
		return xp_diags_fail(d, r, NULL, NULL, NULL, "cannot read the exclusions: %s",
				     strerror(-r));
	cp->native = true;
	return 0;
}

int xp_capture_fill(const struct xp_capture_opts *o, const char *from, const char *root,
		    const char *link_dest, const char *link_dest2, bool dense, bool *vanished,
		    struct xp_diags *d)
{
	int r = run_rsync(o, from, root, link_dest, link_dest2, dense, NULL, false, vanished, d);
	if (r == 0 && !(o->default_off & (1ull << xp_capture_default_find("machine-id"))))
		r = empty_machine_id(root, d);
	return r;
}

/* rsync links a file to the previous version when its size and mtime match (its quick
 * check, rsync(1) --link-dest; here to the nanosecond, --modify-window=-1), so a file
 * rewritten with the same size whose mtime was put back (touch -d, tar, a restore)
 * would keep the previous version's bytes. A local source also has ctime, which every
 * change of content or attributes sets and no one can set back: each regular file of
 * the source whose ctime is at or after the previous capture began (`recent`, noted by
 * the walk of capture-skip.c) and
 * which rsync linked to the previous version is hashed, and when its bytes are not the
 * previous version's it is copied again (rsync --ignore-times of exactly those files).
 * Usually there is none: a changed file has a new mtime or size and is copied anyway. */
static int verify_recent(const struct xp_capture_opts *o, const struct xp_imgver_new *nv,
			 const char *from, const char *to, const char *prev_root,
			 const struct xp_manifest *prev, char *const *recent, size_t nrecent,
			 bool dense, bool *vanished, struct xp_diags *d)
{
	struct xp_buf list = XP_BUF_INIT;
	int r = 0;
	for (size_t i = 0; r == 0 && i < nrecent; i++) {
		const char *rel = recent[i];
		_cleanup_free_ char *np = NULL, *pp = NULL, *sp = NULL;
		struct stat ns, ps;
		if (asprintf(&np, "%s%s", nv->root, rel) < 0 ||
		    asprintf(&pp, "%s%s", prev_root, rel) < 0 ||
		    asprintf(&sp, "%s%s", o->source, rel) < 0) {
			r = -ENOMEM;
			break;
		}
		if (lstat(np, &ns) < 0 || lstat(pp, &ps) < 0 || !S_ISREG(ns.st_mode) ||
		    ns.st_dev != ps.st_dev || ns.st_ino != ps.st_ino)
			continue; /* not captured, or copied by rsync: hashed as it is */
		const struct xp_manifest_entry *e = xp_manifest_find(prev, rel);
		char hex[65] = "";
		int fd = open(sp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		unsigned char dg[32];
		if (fd >= 0 && xp_sha256_fd(fd, dg) == 0)
			xp_sha256_hex(dg, hex);
		if (fd >= 0)
			close(fd);
		if (e && e->type == 'f' && strcmp(e->sha256, hex) == 0)
			continue; /* the same bytes: touched, not changed */
		xp_buf_add(&list, rel + 1, strlen(rel)); /* relative, with its NUL */
	}
	if (r == 0 && xp_buf_error(&list))
		r = -ENOMEM;
	if (r < 0 || list.len == 0) {
		xp_buf_release(&list);
		return r;
	}
	_cleanup_free_ char *lpath = NULL;
	if (asprintf(&lpath, "%s/recopy", nv->partial) < 0) {
		xp_buf_release(&list);
		return -ENOMEM;
	}
	r = xp_write_atomic(lpath, list.s, list.len, 0600);
	if (r < 0) {
		xp_buf_release(&list);
		return xp_diags_fail(d, r, lpath, NULL, NULL, "cannot write: %s", strerror(-r));
	}
	bool v2 = false;
	r = run_rsync(o, from, to, NULL, NULL, dense, lpath, true, &v2, d);
	*vanished = *vanished || v2;
	(void)unlink(lpath);
	/* the recopy renamed a new file into each one's directory, which rsync (given the
	 * files, not the directories) leaves with the time of that: the source's put back */
	for (size_t off = 0; r == 0 && off < list.len; off += strlen(list.s + off) + 1) {
		_cleanup_free_ char *sp = NULL, *np = NULL;
		char *slash = strrchr(list.s + off, '/');
		int pl = slash ? (int)(slash - (list.s + off)) : 0;
		if (asprintf(&sp, "%s/%.*s", o->source, pl, list.s + off) < 0 ||
		    asprintf(&np, "%s/%.*s", nv->root, pl, list.s + off) < 0) {
			r = -ENOMEM;
			break;
		}
		struct stat st;
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {0}};
		if (lstat(sp, &st) == 0 && S_ISDIR(st.st_mode)) {
			ts[1] = st.st_mtim;
			(void)utimensat(AT_FDCWD, np, ts, AT_SYMLINK_NOFOLLOW);
		}
	}
	xp_buf_release(&list);
	return r;
}

/* The new tree of a skip (capture-skip.c): the entries it left to rsync copied (linked
 * to the previous version where rsync finds them the same), then the directories it made
 * given their attributes, then /etc/machine-id emptied as xp_capture_fill does. */
static int skip_fill(const struct xp_capture_opts *o, const struct xp_imgver_new *nv,
		     struct xp_capture_skip *sk, const char *from, const char *to,
		     const char *link_dest, bool dense, const struct copier *cp, bool *vanished,
		     struct xp_diags *d)
{
	int r = 0;
	if (sk->nlisted && cp->native) {
		r = xp__capture_copy(o, cp->filter, nv->root, sk->list.s, sk->list.len, link_dest,
				     cp->base_m, cp->copied, cp->ncopied, vanished, d);
	} else if (sk->nlisted) {
		_cleanup_free_ char *lpath = NULL;
		if (asprintf(&lpath, "%s/changed", nv->partial) < 0)
			return -ENOMEM;
		if ((r = xp_write_atomic(lpath, sk->list.s, sk->list.len, 0600)) < 0)
			return xp_diags_fail(d, r, lpath, NULL, NULL, "cannot write: %s",
					     strerror(-r));
		r = run_rsync(o, from, to, link_dest, NULL, dense, lpath, false, vanished, d);
		(void)unlink(lpath);
	}
	if (r == 0)
		r = xp__capture_skip_finish(sk, o->source, nv->root, d);
	if (r == 0 && !(o->default_off & (1ull << xp_capture_default_find("machine-id"))))
		r = empty_machine_id(nv->root, d);
	return r;
}

/* A first capture of a local tree by xenprov's own copy, then /etc/machine-id emptied as
 * xp_capture_fill does. */
static int native_fill(const struct xp_capture_opts *o, const struct xp_imgver_new *nv,
		       const struct copier *cp, bool *vanished, struct xp_diags *d)
{
	int r = xp__capture_copy(o, cp->filter, nv->root, NULL, 0, NULL, NULL, cp->copied,
				 cp->ncopied, vanished, d);
	if (r == 0 && !(o->default_off & (1ull << xp_capture_default_find("machine-id"))))
		r = empty_machine_id(nv->root, d);
	return r;
}

/* The previous version's tree, checked out if it is a lazy version (the name's lock is
 * held), as rsync's --link-dest. */
static int prev_tree(const struct xp_imgver_new *nv, char **link_dest, struct xp_diags *d)
{
	int r = xp__imgver_checkout_locked(nv->ndir, &nv->prev, d);
	if (r == 0 && !(*link_dest = realpath(nv->prev.root, NULL)))
		r = xp_diags_fail(d, -errno, nv->prev.root, NULL, NULL, "cannot open: %s",
				  strerror(errno));
	return r;
}

static int add_copy(struct xp_manifest *m, const struct xp_manifest_entry *e)
{
	if (xp_grow(&m->v, &m->cap, m->n, sizeof(*m->v), 256) < 0)
		return -ENOMEM;
	struct xp_manifest_entry c = *e;
	c.path = strdup(e->path);
	c.extra = e->extra ? strdup(e->extra) : NULL;
	if (!c.path || (e->extra && !c.extra)) {
		free(c.path);
		free(c.extra);
		return -ENOMEM;
	}
	m->v[m->n++] = c;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct xp_manifest_entry *)a)->path,
		      ((const struct xp_manifest_entry *)b)->path);
}

/* A lazy version's manifest: the delta's (m, scanned) and, for what the skip found
 * unchanged (the entries it did not give rsync, the directories not in the delta), the
 * previous manifest's lines: the same inodes, unchanged since (capture-skip.c). */
static int lazy_manifest(struct xp_manifest *m, const struct xp_manifest *prev,
			 const struct xp_capture_skip *sk)
{
	size_t nd = m->n;
	int r = 0;
	for (size_t off = 0; r == 0 && off < sk->linked.len;
	     off += strlen(sk->linked.s + off) + 1) {
		const char *p = sk->linked.s + off;
		const struct xp_manifest_entry *e = xp_manifest_find(prev, p);
		struct xp_manifest delta = {.v = m->v, .n = nd, .cap = nd}; /* sorted */
		if (e && !xp_manifest_find(&delta, p))
			r = add_copy(m, e);
	}
	for (size_t i = 0; r == 0 && i < sk->ndirs; i++) {
		const struct xp_manifest_entry *e =
		    sk->dirs[i].made ? NULL : xp_manifest_find(prev, sk->dirs[i].rel);
		if (e)
			r = add_copy(m, e);
	}
	if (r == 0 && m->n > nd)
		qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
	return r;
}

int xp_capture(const struct xp_capture_opts *o, struct xp_capture_result *res,
	       struct xp_diags *d)
{
	memset(res, 0, sizeof(*res));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (o->kind == XP_CAPTURE_NONE)
		return xp_diags_refuse(d, -ENOENT, "source", o->source,
				       "HOST:DIR (over ssh), a directory, a disk image or a guest",
				       "cannot capture '%s': no such directory, disk image or host",
				       o->source);
	struct xp_imgver_new nv;
	int r = xp__imgver_begin(o->state_dir, o->name, &nv, d);
	if (r < 0)
		return r;
	/* when this capture began to read the source (verify_recent of the next one) */
	int64_t started = (int64_t)time(NULL);
	_cleanup_free_ char *from = NULL, *link_dest = NULL;
	struct xp_manifest prev = {0}, m = {0};
	struct xp_buf text = XP_BUF_INIT;
	struct xp_capture_skip sk = {0};
	_cleanup_free_ struct xp_copied *copied = NULL;
	size_t ncopied = 0;
	struct copier cp = {.copied = &copied, .ncopied = &ncopied};
	/* the tree rsync links to and the manifest of it (for the scan's and verify_recent's
	 * same-inode rule): the previous version's, checked out, or for a lazy version the
	 * nearest tree below the previous version (rsync's quick check decides each link) */
	struct xp_imgver base = {0};
	struct xp_manifest basem = {0};
	const struct xp_manifest *pm = &prev;
	if (nv.has_prev && (r = xp_manifest_read(nv.prev.manifest, &prev, d)) < 0)
		goto out;
	if (o->kind == XP_CAPTURE_DISK) {
		if (nv.has_prev && (r = prev_tree(&nv, &link_dest, d)) < 0)
			goto out;
		r = xp__capture_disk(o, &nv, link_dest, &res->vanished, d);
		res->copier = "libext2fs";
	} else {
		/* rsync copies a directory's content when its name ends in '/' */
		size_t l = strlen(o->source);
		if (o->kind == XP_CAPTURE_SSH && o->ssh_user && !strchr(o->source, '@'))
			r = asprintf(&from, "%s@%s%s", o->ssh_user, o->source,
				     o->source[l - 1] == '/' ? "" : "/");
		else
			r = asprintf(&from, "%s%s", o->source, o->source[l - 1] == '/' ? "" : "/");
		if (r < 0) {
			r = -ENOMEM;
			goto out;
		}
		/* a local tree: walked once first (capture-skip.c). -S costs rsync a scan
		 * of every byte for runs of zeros (about a tenth of a local capture's time):
		 * a tree without a sparse file is copied without it. The files changed
		 * since the previous capture began (its meta's `started`, a second early:
		 * the filesystem's clock is the kernel's coarse one, which may lag time(2)
		 * by a tick; all of them when it has none) are noted for verify_recent.
		 * And from the second capture on, what did not change since the previous
		 * one is linked by that walk: rsync gets only the rest. */
		bool dense = false;
		if (o->kind == XP_CAPTURE_DIR) {
			int64_t recent = !nv.has_prev	       ? -1
					 : nv.prev.started > 0 ? nv.prev.started - 1
							       : 0;
			if ((r = xp__capture_skip_walk(&sk, o, nv.has_prev ? nv.prev.dir : NULL,
						       nv.has_prev ? &prev : NULL,
						       nv.has_prev ? nv.prev.started : 0, recent,
						       d)) < 0)
				goto out;
			dense = !sk.sparse;
		}
		/* xenprov's own copy for a first capture and a lazy one (a later capture
		 * without the skip is rsync's: --link-dest links what did not change) */
		if (o->kind == XP_CAPTURE_DIR && (!nv.has_prev || sk.active) &&
		    (r = copier_pick(o, &cp, d)) < 0)
			goto out;
		if (sk.active && sk.new_mount && !cp.native)
			sk.active = false;
		bool mid = !(o->default_off & (1ull << xp_capture_default_find("machine-id")));
		if (sk.active) {
			/* a lazy version: only what changed, in V/delta */
			if ((r = xp__imgver_to_delta(&nv, d)) < 0 ||
			    (r = xp__capture_skip_make_dirs(&sk, nv.root, mid, d)) < 0 ||
			    (r = xp__imgver_base(nv.ndir, &nv.prev, &base, d)) < 0)
				goto out;
			if (!(link_dest = realpath(base.root, NULL))) {
				r = xp_diags_fail(d, -errno, base.root, NULL, NULL,
						  "cannot open: %s", strerror(errno));
				goto out;
			}
			if (base.version != nv.prev.version) {
				if ((r = xp_manifest_read(base.manifest, &basem, d)) < 0)
					goto out;
				pm = &basem;
			}
		} else if (nv.has_prev && (r = prev_tree(&nv, &link_dest, d)) < 0) {
			goto out;
		}
		_cleanup_free_ char *to = NULL;
		if (asprintf(&to, "%s/", nv.root) < 0) {
			r = -ENOMEM;
			goto out;
		}
		cp.base_m = pm;
		if (sk.active)
			r = skip_fill(o, &nv, &sk, from, to, link_dest, dense, &cp, &res->vanished,
				      d);
		else if (cp.native)
			r = native_fill(o, &nv, &cp, &res->vanished, d);
		else
			r = xp_capture_fill(o, from, to, link_dest, NULL, dense, &res->vanished, d);
		res->skipped = sk.active ? sk.nlinked : 0;
		res->copier = cp.native ? "xenprov" : "rsync";
		/* xenprov's copy links to the base only what it hashed equal: nothing to
		 * verify */
		if (r == 0 && o->kind == XP_CAPTURE_DIR && nv.has_prev && sk.nverify && !cp.native)
			r = verify_recent(o, &nv, from, to, link_dest, pm, sk.verify, sk.nverify,
					  dense, &res->vanished, d);
	}
	if (r < 0)
		goto out;
	if (o->kind == XP_CAPTURE_DIR) {
		/* the source's directories, for the next capture's skip */
		_cleanup_free_ char *ipath = NULL;
		if (asprintf(&ipath, "%s/srcindex", nv.partial) < 0) {
			r = -ENOMEM;
			goto out;
		}
		/* 0600: it names the source's directories, the excluded ones too */
		/* synced by the commit's syncfs with the rest of the version */
		if ((r = xp_write_atomic_flags(ipath, sk.index.s, sk.index.len, 0600,
					       XP_WRITE_NOSYNC)) < 0) {
			xp_diags_fail(d, r, ipath, NULL, NULL, "cannot write: %s", strerror(-r));
			goto out;
		}
	}
	if (o->progress)
		o->progress(o->ud, "listing and hashing the new version");
	if ((r = xp__manifest_scan_known(nv.root, nv.has_prev ? pm : NULL, link_dest, copied,
					 ncopied, &m, d)) < 0)
		goto out;
	if (nv.lazy && (r = lazy_manifest(&m, &prev, &sk)) < 0)
		goto out;
	if ((r = xp_manifest_format(&m, &text)) < 0)
		goto out;
	struct xp_imgver meta = {.time = (int64_t)time(NULL),
				 .started = started,
				 .source = (char *)o->source,
				 .message = (char *)(o->message ? o->message : "")};
	xp_manifest_totals(&m, &meta.files, &meta.bytes);
	/* what this version costs: its files that are not the previous version's inodes */
	for (size_t i = 0; i < m.n; i++) {
		const struct xp_manifest_entry *e = &m.v[i];
		if (e->type == 'f' && !e->extra) {
			const struct xp_manifest_entry *p = nv.has_prev ? xp_manifest_find(&prev, e->path) : NULL;
			if (!p || strcmp(p->sha256, e->sha256))
				res->new_bytes += e->size;
		}
	}
	if ((r = xp__imgver_commit(&nv, text.s, text.len, &meta, d)) < 0)
		goto out;
	r = xp_imgver_resolve(o->state_dir, nv.name, &res->version, d);
	if (r == 0 && res->version.version != nv.version)
		r = xp_diags_fail(d, -EAGAIN, NULL, NULL, NULL, "the new version vanished");
	if (nv.has_prev)
		res->prev_version = nv.prev.version;
out:;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	xp_buf_release(&text);
	xp__capture_skip_release(&sk);
	xp_manifest_release(&prev);
	xp_manifest_release(&basem);
	xp_imgver_release(&base);
	xp_rsync_filter_free(cp.filter);
	xp_manifest_release(&m);
	xp__imgver_abort(&nv);
	return r;
}
