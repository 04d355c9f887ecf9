/*
 * sync-tftp.c - a TFTP root synced (xenprov/sync.h): per system pxelinux.cfg/01-MAC and
 * ipxe/01-MAC rendered by the boot server's own renderers (boot/: the bytes `xenprov
 * serve` would send), GRUB's configs of all systems in 256 files by the MAC's last
 * byte (grub/xenprov-mac-XX.cfg, which grub/grub.cfg sources), the menus and the
 * distros' files copied from the distro store; only the changed systems' files (and
 * their GRUB files) when nothing else changed. Files are compared by digest with the
 * record, written through temporaries made durable before any is renamed, and the
 * files of systems gone removed.
 *
 * Why GRUB's are grouped: the kernel's making of a file (an inode, a directory entry,
 * a journal handle: 30-55 us of CPU) is most of a sync of 10,000 systems, and GRUB,
 * unlike pxelinux and iPXE, can pick a system's part of a larger file itself: its
 * network boot asks for grub.cfg-01-MAC, then grub.cfg-HEXIP, then grub.cfg, and
 * grub.cfg takes the MAC's last byte with `regexp` and sources that byte's file, in
 * which each system's entries stand under a test of $net_default_mac. A third of the
 * files, and a system's change rewrites one file of about 40 systems' entries (10 KB at
 * 10,000 systems).
 *
 * Not here: the run (sync.c), putting files in place (sync-files.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot-internal.h"
#include "sync/sync-internal.h"
#include "util/cleanup.h"
#include "xenprov/template.h"

/* More changed systems than this: render all of them in one read instead. */
#define INCREMENTAL_MAX 1000
/* GRUB's files: one a last byte of a MAC. */
#define GRUB_SHARDS 256
#define GRUB_SHARD_FMT "grub/xenprov-mac-%02x.cfg"
#define GRUB_SHARD_OWNER "grub:%02x"
/* Fewer files than this are each fsync'ed; more, one syncfs(2) for all. */
#define FSYNC_EACH_MAX 32

static int by_want_path(const void *a, const void *b)
{
	return strcmp(((const struct xp__sync_want *)a)->path,
		      ((const struct xp__sync_want *)b)->path);
}

struct tftp {
	struct xp__boot_cache *cache;
	const char *server;    /* next-server, for GRUB's (tftp,S) and iPXE's tftp://S */
	const char *http_base; /* for the autoinstall argument, or NULL */
	struct xp_buf *shard;  /* [GRUB_SHARDS]: each GRUB file's systems' entries */
	bool *touched;	       /* [GRUB_SHARDS]: the GRUB files to render (incremental) */
	struct xp_buf tmp;     /* one system's GRUB config */
};

/* How a system's files are wanted: all of them (a full sync), its own (pxelinux,
 * iPXE: a changed system, its GRUB file marked to render) or its GRUB entries only (a
 * GRUB file rendered again: every system of that byte). */
enum sys_files { SYS_ALL, SYS_OWN, SYS_GRUB };

static int add_rendered(struct xp__sync_wants *W, const char *owner, const struct xp_boot_plan *p,
			int (*render)(const struct xp_boot_plan *, struct xp_buf *),
			const char *prefix, const char *key, bool *skipped)
{
	struct xp__sync_want *w = xp__sync_want_add(W, owner);
	if (!w)
		return -ENOMEM;
	if (asprintf(&w->path, "%s%s", prefix, key) < 0) {
		w->path = NULL;
		return -ENOMEM;
	}
	int r = render(p, &w->data);
	if (r == -EINVAL) { /* iPXE would read an argument as syntax: not written */
		xp__sync_want_release(w);
		W->n--;
		*skipped = true;
		return 0;
	}
	return r < 0 ? r : xp__sync_want_digest(w);
}

/* The pxelinux and iPXE files of a plan, named by key ("01-aa-bb-..." or "default"). */
static int add_plan(struct xp__sync_run *R, struct xp__sync_wants *W, const char *owner,
		    struct xp_boot_plan *p, const char *key)
{
	bool skipped = false;
	int r = add_rendered(W, owner, p, xp__boot_render_pxelinux, "pxelinux.cfg/", key, &skipped);
	if (r == 0)
		r = add_rendered(W, owner, p, xp__boot_render_ipxe, "ipxe/", key, &skipped);
	if (r == 0 && skipped &&
	    xp__sync_warn(
		R, "remove the word from the kernel options",
		"%s%s%s: a kernel option is one iPXE would read as syntax: no iPXE script",
		*owner ? "system '" : "the menu", owner, *owner ? "'" : "") < 0)
		r = -ENOMEM;
	return r;
}

/* Appends GRUB's rendering of p to out without its "# xenprov" line, each line
 * indented by a tab (it stands inside an if). */
static int add_grub_body(struct tftp *T, const struct xp_boot_plan *p, struct xp_buf *out)
{
	xp_buf_truncate(&T->tmp, 0);
	int r = xp__boot_render_grub(p, &T->tmp);
	if (r < 0)
		return r;
	const char *s = xp_buf_str(&T->tmp), *nl = strchr(s, '\n');
	for (s = nl ? nl + 1 : s; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (!nl) /* the renderer ends every line */
			return -EINVAL;
		xp_buf_addc(out, '\t');
		xp_buf_add(out, s, (size_t)(nl - s) + 1);
	}
	return xp_buf_error(out);
}

/* A system's entries in its GRUB file: under a test of the MAC GRUB booted from
 * (lower case with colons, as GRUB writes $net_default_mac), its name set so that
 * grub.cfg leaves its menu out. */
static int add_grub_system(struct tftp *T, const struct xp_mac *m, const char *name,
			   const struct xp_boot_plan *p)
{
	struct xp_buf *out = &T->shard[m->b[5]];
	xp_buf_addf(out,
		    "if [ \"$net_default_mac\" = %02x:%02x:%02x:%02x:%02x:%02x ]; then\n"
		    "\tset xenprov_system=",
		    m->b[0], m->b[1], m->b[2], m->b[3], m->b[4], m->b[5]);
	xp_buf_add_squoted(out, name);
	xp_buf_addc(out, '\n');
	int r = add_grub_body(T, p, out);
	xp_buf_adds(out, "fi\n");
	return r < 0 ? r : xp_buf_error(out);
}

/* The GRUB file of last byte k, from the entries gathered in T->shard[k]. */
static int add_grub_shard(struct tftp *T, struct xp__sync_wants *W, unsigned k)
{
	char owner[16];
	snprintf(owner, sizeof(owner), GRUB_SHARD_OWNER, k);
	struct xp__sync_want *w = xp__sync_want_add(W, owner);
	if (!w)
		return -ENOMEM;
	if (asprintf(&w->path, GRUB_SHARD_FMT, k) < 0) {
		w->path = NULL;
		return -ENOMEM;
	}
	xp_buf_addf(&w->data,
		    "# xenprov: GRUB's configs of the systems whose MAC ends in %02x (grub.cfg "
		    "sources this file)\n",
		    k);
	xp_buf_add(&w->data, T->shard[k].s, T->shard[k].len);
	return xp__sync_want_digest(w);
}

/* grub/grub.cfg: the GRUB file of the MAC's last byte sourced, then the menu for a
 * machine no system's entries claimed. GRUB's regexp module (ERE) takes the byte. */
static int add_grub_menu(struct tftp *T, struct xp__sync_wants *W, const struct xp_boot_plan *p)
{
	struct xp__sync_want *w = xp__sync_want_add(W, "");
	if (!w)
		return -ENOMEM;
	if (!(w->path = strdup("grub/grub.cfg")))
		return -ENOMEM;
	struct xp_buf *out = &w->data;
	xp_buf_adds(out, "# xenprov\n"
			 "# A system's entries are in the file of its MAC's last byte.\n"
			 "if regexp --set=1:xenprov_shard '([0-9a-f][0-9a-f])$' "
			 "\"$net_default_mac\"; then\n"
			 "\tsource (tftp");
	if (p->server) {
		xp_buf_addc(out, ',');
		xp_buf_adds(out, p->server);
	}
	xp_buf_adds(out, ")/grub/xenprov-mac-${xenprov_shard}.cfg\n"
			 "fi\n"
			 "if [ -z \"$xenprov_system\" ]; then\n");
	int r = add_grub_body(T, p, out);
	xp_buf_adds(out, "fi\n");
	return r < 0 ? r : xp__sync_want_digest(w);
}

static int add_system(struct xp__sync_run *R, struct tftp *T, struct xp__sync_wants *W,
		      const struct xp_system *s, enum sys_files what)
{
	struct xp_mac m;
	bool warn = what != SYS_GRUB; /* a GRUB file's others were warned of before */
	if (!s->mac || xp_mac_parse(s->mac, &m) < 0)
		return warn && xp__sync_warn(
				   R, NULL, "system '%s': its MAC '%s' does not read: no boot files",
				   s->name, s->mac ? s->mac : "") < 0
			   ? -ENOMEM
			   : 0;
	if (what == SYS_OWN)
		T->touched[m.b[5]] = true;
	struct xp_boot_plan p;
	int r = xp__boot_plan_system(R->inv, T->cache, s, T->http_base, &p);
	if (r == -ENOENT && !warn)
		return 0;
	if (r == -ENOENT)
		return xp__sync_warn(
			   R,
			   "give it a distro whose files are in the store (xenprov system "
			   "edit, xenprov distro edit)",
			   "system '%s' has nothing to boot: no boot files", s->name) < 0
			   ? -ENOMEM
			   : 0;
	if (r < 0)
		return r;
	p.server = T->server;
	char key[3 + XP_MAC_STRLEN + 1];
	snprintf(key, sizeof(key), "01-%02x-%02x-%02x-%02x-%02x-%02x", m.b[0], m.b[1], m.b[2],
		 m.b[3], m.b[4], m.b[5]);
	if (what != SYS_GRUB) {
		R->res->systems++;
		r = add_plan(R, W, s->name, &p, key);
	}
	if (r == 0 && what != SYS_OWN)
		r = add_grub_system(T, &m, s->name, &p);
	xp__boot_plan_release(&p);
	return r;
}

/* The menus and the distros' files: what is not one system's. */
static int add_shared(struct xp__sync_run *R, struct tftp *T, struct xp__sync_wants *W)
{
	struct xp_boot_plan p;
	int r = xp__boot_plan_menu(R->inv, &p);
	if (r < 0)
		return r;
	p.server = T->server;
	r = add_plan(R, W, "", &p, "default");
	if (r == 0)
		r = add_grub_menu(T, W, &p);
	for (size_t i = 0; r == 0 && i < p.n_menu; i++) {
		struct xp_distro d = {0};
		if ((r = xp_distro_get(R->inv, p.menu[i].distro, &d)) < 0)
			break;
		const char *sha[2] = {d.kernel_sha256, d.initrd_sha256};
		static const char *const file[2] = {"kernel", "initrd"};
		for (int k = 0; r == 0 && k < 2; k++) {
			if (!sha[k])
				continue;
			struct xp__sync_want *w = xp__sync_want_add(W, "");
			if (!w || asprintf(&w->path, "distros/%s/%s", d.name, file[k]) < 0) {
				if (w)
					w->path = NULL; /* released with W */
				r = -ENOMEM;
				break;
			}
			if (!(w->src = strdup(sha[k]))) {
				r = -ENOMEM;
				break;
			}
			memcpy(w->sha, sha[k], 65);
		}
		xp_distro_release(&d);
	}
	xp__boot_plan_release(&p);
	return r;
}

/* Renders systems v[0..n) as what says, then releases them. */
static int add_systems(struct xp__sync_run *R, struct tftp *T, struct xp__sync_wants *W,
		       struct xp_system *v, size_t n, enum sys_files what)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = add_system(R, T, W, &v[i], what);
	for (size_t i = 0; i < n; i++)
		xp_system_release(&v[i]);
	free(v);
	return r;
}

/* The last byte of the MAC a recorded system file is named by (pxelinux.cfg/01-...-XX,
 * ipxe/01-...-XX), or -1. */
static int recorded_last_byte(const char *path)
{
	size_t n = strlen(path);
	if (n < 20 || strncmp(path + n - 20, "01-", 3) != 0 || path[n - 3] != '-')
		return -1;
	unsigned v;
	char hex[3] = {path[n - 2], path[n - 1], 0};
	char *end;
	v = (unsigned)strtoul(hex, &end, 16);
	return *end || !strchr("0123456789abcdef", hex[0]) || !strchr("0123456789abcdef", hex[1])
		   ? -1
		   : (int)v;
}

/* Reads what the target should hold: every file (full), or the changed systems' own
 * and the GRUB files of the bytes their MACs end in now or did when last synced (old:
 * their recorded files). */
static int render_tftp(struct xp__sync_run *R, struct xp__sync_wants *W, const char *http_base,
		       const struct xp_sync_file_rec *old, size_t n_old)
{
	struct tftp T = {.server = xp_settings_get(&R->set, "next-server"), .http_base = http_base};
	T.shard = calloc(GRUB_SHARDS, sizeof(*T.shard));
	T.touched = calloc(GRUB_SHARDS, sizeof(*T.touched));
	int r = !T.shard || !T.touched ? -ENOMEM : xp__boot_cache_new(&T.cache);
	struct xp_system *sys = NULL;
	size_t n = 0;
	if (r < 0) {
	} else if (R->full) {
		if ((r = xp_system_all(R->inv, &sys, &n)) == 0)
			r = add_systems(R, &T, W, sys, n, SYS_ALL);
		for (unsigned k = 0; r == 0 && k < GRUB_SHARDS; k++)
			r = add_grub_shard(&T, W, k);
		if (r == 0)
			r = add_shared(R, &T, W);
	} else {
		for (size_t i = 0; r == 0 && i < R->n_changed; i++) {
			struct xp_system s;
			r = xp_system_get(R->inv, R->changed[i], &s);
			if (r == -ENOENT) { /* removed: its files go */
				r = 0;
				continue;
			}
			if (r == 0) {
				r = add_system(R, &T, W, &s, SYS_OWN);
				xp_system_release(&s);
			}
		}
		for (size_t j = 0; j < n_old; j++) {
			int k = recorded_last_byte(old[j].path);
			if (k >= 0)
				T.touched[k] = true;
		}
		for (unsigned k = 0; r == 0 && k < GRUB_SHARDS; k++) {
			if (!T.touched[k])
				continue;
			if ((r = xp_system_mac_last(R->inv, k, &sys, &n)) == 0)
				r = add_systems(R, &T, W, sys, n, SYS_GRUB);
			if (r == 0)
				r = add_grub_shard(&T, W, k);
		}
	}
	if (T.shard)
		for (unsigned k = 0; k < GRUB_SHARDS; k++)
			xp_buf_release(&T.shard[k]);
	free(T.shard);
	free(T.touched);
	xp_buf_release(&T.tmp);
	xp__boot_cache_free(T.cache);
	return r;
}

static int by_rec_path(const void *a, const void *b)
{
	return strcmp(((const struct xp_sync_file_rec *)a)->path,
		      ((const struct xp_sync_file_rec *)b)->path);
}

/* An incremental sync's record of the GRUB files it renders again, added to *old (the
 * changed systems' own) and the whole sorted by path, as decide_tftp wants it. */
static int old_grub_files(struct xp__sync_run *R, const struct xp__sync_wants *W,
			  struct xp_sync_file_rec **old, size_t *n_old)
{
	char **owners = NULL;
	size_t n = 0;
	for (size_t i = 0; i < W->n; i++)
		if (strncmp(W->v[i].owner, "grub:", 5) == 0) {
			char **o = realloc(owners, (n + 1) * sizeof(*o));
			if (!o) {
				free(owners);
				return -ENOMEM;
			}
			owners = o;
			owners[n++] = W->v[i].owner;
		}
	struct xp_sync_file_rec *more = NULL;
	size_t n_more = 0;
	int r = n ? xp_sync_files_get(R->inv, R->rec.id, owners, n, &more, &n_more) : 0;
	free(owners);
	if (r < 0 || n_more == 0)
		return r;
	struct xp_sync_file_rec *v = realloc(*old, (*n_old + n_more) * sizeof(*v));
	if (!v) {
		xp_sync_files_free(more, n_more);
		return -ENOMEM;
	}
	memcpy(v + *n_old, more, n_more * sizeof(*v));
	free(more); /* its strings now v's */
	*old = v;
	*n_old += n_more;
	qsort(v, *n_old, sizeof(*v), by_rec_path);
	return 0;
}

/* Decides each file of the TFTP root: W (sorted here) against what the target holds
 * (old, sorted by path). Files to remove go into *gone. */
static int decide_tftp(struct xp__sync_run *R, struct xp__sync_dirs *D, struct xp__sync_wants *W,
		       struct xp_sync_file_rec *old, size_t n_old, struct xp__sync_wants *gone)
{
	if (W->n > 1)
		qsort(W->v, W->n, sizeof(*W->v), by_want_path);
	size_t i = 0, j = 0, conflicts = 0, edited = 0;
	const char *first_conflict = NULL, *first_edited = NULL;
	int r = 0;
	while (r == 0 && (i < W->n || j < n_old)) {
		int cmp = i == W->n ? 1 : j == n_old ? -1 : strcmp(W->v[i].path, old[j].path);
		int dfd;
		const char *base;
		if (cmp > 0) { /* held, no longer wanted: removed if it is as sync left it */
			struct xp__sync_want *g = xp__sync_want_add(gone, old[j].owner);
			if (!g || !(g->path = strdup(old[j].path)))
				return -ENOMEM;
			memcpy(g->sha, old[j].sha256, 65);
			g->act = XP_SYNC_REMOVE;
			r = xp__sync_dir_of(D, g->path, false, &dfd, &base);
			int same = r == 0 ? xp__sync_same(dfd, base, g->sha, NULL) : -ENOENT;
			r = 0;
			if (same == 0 || same == -EISDIR) {
				g->keep = true; /* someone else's now: forgotten, left alone */
				if (xp__sync_warn(
					R, NULL,
					"'%s' was changed since xenprov sync wrote it: left in "
					"place, no longer synced",
					g->path) < 0)
					return -ENOMEM;
			} else if (same == -ENOENT) {
				g->keep = true; /* gone already: only forgotten */
			} else if (same < 0) {
				return xp__sync_fail(R, same, NULL, "cannot read '%s': %s", g->path,
						     strerror(-same));
			} else {
				xp__sync_event(R, g->path, XP_SYNC_REMOVE);
			}
			j++;
			continue;
		}
		struct xp__sync_want *w = &W->v[i++];
		if (cmp == 0) {
			const struct xp_sync_file_rec *o = &old[j++];
			w->keep = strcmp(o->sha256, w->sha) == 0;
			w->act = XP_SYNC_WRITE;
			if (w->keep && R->o->full) { /* the bytes on disk, not the record */
				r = xp__sync_dir_of(D, w->path, false, &dfd, &base);
				int same =
				    r == 0 ? xp__sync_same(dfd, base, w->sha, NULL) : -ENOENT;
				r = 0;
				if (same < 0 && same != -ENOENT && same != -EISDIR)
					return xp__sync_fail(R, same, NULL, "cannot read '%s': %s",
							     w->path, strerror(-same));
				w->keep = same == 1;
				w->fresh = same == -ENOENT;
				if ((same == 0 || same == -EISDIR) && !edited++)
					first_edited = w->path;
			}
			if (!w->keep)
				xp__sync_event(R, w->path, w->act);
			continue;
		}
		/* new to the record: is something there already? */
		r = xp__sync_dir_of(D, w->path, false, &dfd, &base);
		int same = r == 0 ? xp__sync_same(dfd, base, w->sha, NULL) : r;
		r = 0;
		if (same == -ENOENT) {
			w->act = XP_SYNC_WRITE;
			w->fresh = true;
		} else if (same == 1) {
			w->act = XP_SYNC_ADOPT;
		} else if (same == 0 || same == -EISDIR) {
			w->act = same == 0 && R->o->force ? XP_SYNC_WRITE : XP_SYNC_CONFLICT;
			if (w->act == XP_SYNC_CONFLICT && !conflicts++)
				first_conflict = w->path;
		} else {
			return xp__sync_fail(R, same, NULL, "cannot read '%s' in the TFTP root: %s",
					     w->path, strerror(-same));
		}
		xp__sync_event(R, w->path, w->act);
	}
	R->res->conflicts = conflicts;
	/* sync's own files, changed behind its back: full puts them back */
	if (edited &&
	    xp__sync_warn(R, NULL,
			  "%zu file%s xenprov sync wrote %s changed since: replaced (%s%s)", edited,
			  edited == 1 ? "" : "s", edited == 1 ? "was" : "were", first_edited,
			  edited > 1 ? ", ..." : "") < 0)
		return -ENOMEM;
	if (conflicts &&
	    xp__sync_warn(R, "remove them to let xenprov sync write them, or sync with --force",
			  "%zu file%s exist%s that xenprov sync did not write: left as %s (%s%s)",
			  conflicts, conflicts == 1 ? "" : "s", conflicts == 1 ? "s" : "",
			  conflicts == 1 ? "it is" : "they are", first_conflict,
			  conflicts > 1 ? ", ..." : "") < 0)
		return -ENOMEM;
	return 0;
}

/* How many new files may be staged at once: they are unnamed until linked, each an
 * open descriptor meanwhile, so as many as the descriptor limit allows, less a margin
 * (replacements are staged under a name and closed: they hold none). */
static size_t fd_budget(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 64;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 + 128)
		return 65536;
	return rl.rlim_cur > 64 + 128 ? (size_t)rl.rlim_cur - 128 : 64;
}

/* Opens the store's file of w for copying (a plain blocking read: the store opens it
 * O_NONBLOCK, never a FIFO), or -1 for a rendered file. */
static int source(struct xp__sync_run *R, const struct xp__sync_want *w, int *src)
{
	*src = -1;
	if (!w->src)
		return 0;
	int r = xp_distro_file_open(R->inv, w->src, src);
	if (r < 0)
		return xp__sync_fail(R, r, "run xenprov sync again (a distro changed meanwhile?)",
				     "cannot open the distro store's file %s for '%s': %s", w->src,
				     w->path, strerror(-r));
	int fl = fcntl(*src, F_GETFL);
	if (fl >= 0)
		(void)fcntl(*src, F_SETFL, fl & ~O_NONBLOCK);
	return 0;
}

/* One file being put in place. */
struct job {
	size_t want;
	int dirfd, unnamed, src;
	const char *base;
	int r;
	bool staged; /* staged, not yet named: to drop on failure */
};

/* A pass over a batch: every job staged, or every job named, by a thread per
 * directory (slices). The kernel's work per file (an inode, a directory entry, a
 * journal handle) is most of a first sync's time, and it runs in parallel across
 * directories: 30,000 files took 1.0 s in one thread, 0.55 s in two. */
struct pass {
	const struct xp__sync_dirs *D;
	const struct xp__sync_wants *W;
	struct job *v;
	size_t from, to;
	bool stage;
};

static void *run_pass(void *arg)
{
	struct pass *p = arg;
	for (size_t k = p->from; k < p->to; k++) {
		struct job *j = &p->v[k];
		const struct xp__sync_want *w = &p->W->v[j->want];
		if (!p->stage) {
			j->r = xp__sync_name(j->dirfd, j->base, j->unnamed);
			j->staged = false; /* named, or dropped by the failure */
		} else if ((j->r = xp__sync_stage(p->D, j->dirfd, j->base, w->data.s, w->data.len,
						  j->src, 0644, w->fresh, false, &j->unnamed)) <
			   0) {
			j->unnamed = -1;
		} else {
			j->staged = true;
		}
	}
	return NULL;
}

/* The slices of a batch's n jobs (sorted by path, so grouped by directory): one per
 * directory of at least 256 jobs, at most 4, smaller groups joined to their neighbour.
 * Threads working in different directories never wait for each other's directory
 * lock; a thread a directory runs two at a time on two CPUs. */
static size_t slices(const struct job *v, size_t n, size_t from[4], size_t to[4])
{
	size_t k = 0;
	from[0] = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i].dirfd != v[i - 1].dirfd && i - from[k] >= 256 && k < 3 && n - i >= 256)
			from[++k] = i;
	for (size_t i = 0; i < k; i++)
		to[i] = from[i + 1];
	to[k] = n;
	return k + 1;
}

/* Runs a pass over the jobs v[0..n). */
static void run_passes(const struct pass *proto, struct job *v, size_t n)
{
	size_t from[4], to[4];
	size_t t = n ? slices(v, n, from, to) : 0;
	pthread_t th[4];
	struct pass p[4];
	bool started[4] = {false};
	for (size_t i = 0; i < t; i++) {
		p[i] = *proto;
		p[i].v = v;
		p[i].from = from[i];
		p[i].to = to[i];
		if (i + 1 < t)
			started[i] = pthread_create(&th[i], NULL, run_pass, &p[i]) == 0;
		if (!started[i]) /* the last slice, or one no thread could take */
			run_pass(&p[i]);
	}
	for (size_t i = 0; i < t; i++)
		if (started[i])
			pthread_join(th[i], NULL);
}

/* syncfs(2) of the TFTP root's filesystem in a thread of its own, so that the disk
 * writes back one batch while the CPUs stage the next and name the one before. */
struct syncer {
	pthread_t th;
	int fd, r;
	bool running;
};

static void *run_syncfs(void *arg)
{
	struct syncer *s = arg;
	s->r = syncfs(s->fd) < 0 ? -errno : 0;
	return NULL;
}

static void syncer_start(struct syncer *s, int fd)
{
	s->fd = fd;
	s->r = 0;
	s->running = pthread_create(&s->th, NULL, run_syncfs, s) == 0;
	if (!s->running) /* no thread: synced here */
		run_syncfs(s);
}

static int syncer_wait(struct syncer *s)
{
	if (s->running)
		pthread_join(s->th, NULL);
	s->running = false;
	return s->r;
}

/* A batch: the jobs v[from..to). */
struct batch {
	size_t from, to;
};

/* Makes the few staged files of b (at most FSYNC_EACH_MAX) durable together: the
 * writeback of each started (sync_file_range(2)), then each fsync'ed, so that one
 * journal commit carries them all. An fsync as each was written committed the
 * journal once a file: on a journaled disk, most of a one-system sync. */
static int durable_each(struct xp__sync_run *R, const struct xp__sync_wants *W, const struct job *v,
			struct batch b)
{
	int fd[FSYNC_EACH_MAX];
	size_t n = b.to - b.from;
	for (size_t k = 0; k < n; k++) {
		const struct job *j = &v[b.from + k];
		fd[k] = j->unnamed >= 0 ? j->unnamed : xp__sync_tmp_open(j->dirfd, j->base);
		if (fd[k] >= 0)
			(void)sync_file_range(fd[k], 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	int r = 0;
	for (size_t k = 0; k < n; k++) {
		const struct job *j = &v[b.from + k];
		int e = fd[k] < 0 ? fd[k] : fsync(fd[k]) < 0 ? -errno : 0;
		if (fd[k] >= 0 && j->unnamed < 0)
			close(fd[k]);
		if (e < 0 && r == 0)
			r = xp__sync_fail(R, e, NULL, "cannot write '%s': %s", W->v[j->want].path,
					  strerror(-e));
	}
	return r;
}

/* Stages batch b: its directories and sources resolved in this thread (they change D),
 * then the files written by the pass's threads. 0, or the first failure (reported). */
static int stage_batch(struct xp__sync_run *R, struct xp__sync_dirs *D, struct xp__sync_wants *W,
		       struct job *v, struct batch b, bool each)
{
	int r = 0;
	size_t k = b.from;
	for (; r == 0 && k < b.to; k++) {
		struct job *j = &v[k];
		const char *path = W->v[j->want].path;
		if ((r = xp__sync_dir_of(D, path, true, &j->dirfd, &j->base)) < 0)
			xp__sync_fail(R, r, NULL, "cannot make the directory of '%s': %s", path,
				      strerror(-r));
		else
			r = source(R, &W->v[j->want], &j->src);
	}
	struct pass p = {.D = D, .W = W, .stage = true};
	if (r == 0)
		run_passes(&p, v + b.from, b.to - b.from);
	for (k = b.from; k < b.to; k++) {
		if (v[k].src >= 0)
			close(v[k].src);
		v[k].src = -1;
		if (v[k].r < 0 && r == 0)
			r = xp__sync_fail(R, v[k].r, NULL, "cannot write '%s': %s",
					  W->v[v[k].want].path, strerror(-v[k].r));
	}
	if (r == 0 && each)
		r = durable_each(R, W, v, b);
	return r;
}

/* Names batch b (staged and durable), its directories marked to be synced. */
static int name_batch(struct xp__sync_run *R, struct xp__sync_dirs *D, struct xp__sync_wants *W,
		      struct job *v, struct batch b)
{
	struct pass p = {.D = D, .W = W, .stage = false};
	run_passes(&p, v + b.from, b.to - b.from);
	int r = 0;
	for (size_t k = b.from; k < b.to; k++) {
		if (v[k].r == 0)
			xp__sync_dirs_mark(D, v[k].dirfd);
		else if (r == 0)
			r = xp__sync_fail(R, v[k].r, NULL, "cannot put '%s' in place: %s",
					  W->v[v[k].want].path, strerror(-v[k].r));
	}
	return r;
}

/* Whether paths a and b are in the same directory. */
static bool same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	size_t la = sa ? (size_t)(sa - a) : 0, lb = sb ? (size_t)(sb - b) : 0;
	return la == lb && memcmp(a, b, la) == 0;
}

/* The batches of the n jobs (sorted by path, so grouped by directory): each of at most
 * a quarter of them (at least 1,024) and of at most half the descriptor budget of new
 * files (two batches are staged at once). The jobs are first reordered in four rounds,
 * round q the q-th quarter of every directory's, and the batches cut from that order,
 * so that each holds its share of every directory and each pass has several
 * directories for its threads (cut from the sorted order, the first and last batch
 * held one directory each and ran in one thread: the kernel serialises the entries
 * made in a directory). *out a heap array. */
static int make_batches(const struct xp__sync_wants *W, struct job *v, size_t n, bool each,
			struct batch **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	size_t *grp = NULL, ng = 0, gcap = 0; /* the directories' runs: grp[i]..grp[i+1] */
	for (size_t k = 0; k <= n; k++) {
		if (k > 0 && k < n && same_dir(W->v[v[k].want].path, W->v[v[k - 1].want].path))
			continue;
		if (xp_grow(&grp, &gcap, ng, sizeof(*grp), 8) < 0) {
			free(grp);
			return -ENOMEM;
		}
		grp[ng++] = k;
	}
	struct job *w = malloc((n ? n : 1) * sizeof(*w));
	if (!w) {
		free(grp);
		return -ENOMEM;
	}
	size_t m = 0;
	for (size_t q = 0; q < 4; q++)
		for (size_t g = 0; g + 1 < ng; g++) {
			size_t len = grp[g + 1] - grp[g];
			size_t lo = grp[g] + len * q / 4, hi = grp[g] + len * (q + 1) / 4;
			for (size_t i = lo; i < hi; i++)
				w[m++] = v[i];
		}
	memcpy(v, w, n * sizeof(*v));
	free(w);
	free(grp);
	size_t size = each ? n : (n + 3) / 4;
	if (size < 1024)
		size = 1024;
	size_t fresh_max = fd_budget() / 2;
	struct batch *b = NULL;
	size_t nb = 0, cap = 0;
	for (size_t k = 0; k < n;) {
		if (xp_grow(&b, &cap, nb, sizeof(*b), 8) < 0) {
			free(b);
			return -ENOMEM;
		}
		size_t from = k, fresh = 0;
		for (; k < n && k - from < size; k++) {
			if (W->v[v[k].want].fresh && fresh++ == fresh_max)
				break;
		}
		b[nb++] = (struct batch){from, k};
	}
	*out = b;
	*n_out = nb;
	return 0;
}

/* Puts the files decided WRITE in place, in batches: each staged, made durable (few
 * files fsync'ed together, one syncfs(2) a batch for many), then named. The syncfs of a
 * batch runs while the next is staged and the one before named: writeback overlaps
 * the CPUs' work. Then removes those of gone. A failure drops what is staged; files
 * already named hold the new bytes, which the next sync adopts. */
static int write_tftp(struct xp__sync_run *R, struct xp__sync_dirs *D, struct xp__sync_wants *W,
		      struct xp__sync_wants *gone)
{
	size_t n = 0;
	for (size_t i = 0; i < W->n; i++)
		if (!W->v[i].keep && W->v[i].act == XP_SYNC_WRITE)
			n++;
	bool each = n <= FSYNC_EACH_MAX;
	struct job *v = calloc(n ? n : 1, sizeof(*v));
	struct batch *b = NULL;
	size_t nb = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0, k = 0; i < W->n; i++)
		if (!W->v[i].keep && W->v[i].act == XP_SYNC_WRITE)
			v[k++] = (struct job){.want = i, .dirfd = -1, .unnamed = -1, .src = -1};
	int r = make_batches(W, v, n, each, &b, &nb);
	int root = xp__sync_dirs_root(D);
	struct syncer s = {0};
	/* batch k is staged while k-1 is made durable; k-1 named while k is */
	for (size_t k = 0; r == 0 && k <= nb; k++) {
		if (k < nb)
			r = stage_batch(R, D, W, v, b[k], each);
		int sr = k > 0 && !each ? syncer_wait(&s) : 0;
		if (r == 0 && sr < 0)
			r = xp__sync_fail(R, sr, NULL, "cannot sync the TFTP root's filesystem: %s",
					  strerror(-sr));
		if (r == 0 && k < nb && !each)
			syncer_start(&s, root);
		if (r == 0 && k > 0)
			r = name_batch(R, D, W, v, b[k - 1]);
	}
	(void)syncer_wait(&s);
	/* staged, not named: dropped */
	for (size_t k = 0; k < n; k++)
		if (v[k].staged)
			xp__sync_unstage(v[k].dirfd, v[k].base, v[k].unnamed);
	free(b);
	free(v);
	for (size_t g = 0; r == 0 && g < gone->n; g++) {
		struct xp__sync_want *w = &gone->v[g];
		int dfd;
		const char *base;
		if (w->keep)
			continue;
		if ((r = xp__sync_dir_of(D, w->path, false, &dfd, &base)) < 0 ||
		    (r = xp__sync_unlink(D, dfd, base)) < 0)
			xp__sync_fail(R, r, NULL, "cannot remove '%s': %s", w->path, strerror(-r));
	}
	int sd = xp__sync_dirs_sync(D);
	if (r == 0 && sd < 0)
		r = xp__sync_fail(R, sd, NULL, "cannot sync the TFTP root's directories: %s",
				  strerror(-sd));
	return r;
}

int xp__sync_tftp(struct xp__sync_run *R)
{
	char options[65];
	struct xp__sync_dirs *D = NULL;
	struct xp__sync_wants W = {0}, gone = {0};
	struct xp_sync_file_rec *old = NULL;
	size_t n_old = 0;
	/* the HTTP base in force: the target's, else serve's own from the settings */
	char http_base[512];
	if (R->t->http_base)
		snprintf(http_base, sizeof(http_base), "%s", R->t->http_base);
	else
		xp_autoinstall_http_base(&R->set, 0, http_base, sizeof(http_base));
	for (size_t n = strlen(http_base); n && http_base[n - 1] == '/';)
		http_base[--n] = '\0';
	const char *base = *http_base ? http_base : NULL;
	int r = xp__sync_options_digest(R->t, NULL, base, options);
	if (r < 0)
		return r;
	if ((r = xp_inv_root_check(R->inv, R->t->path)) < 0)
		return xp__sync_fail(
		    R, r, "give the TFTP server a directory of its own",
		    "the TFTP root is, or holds, the state directory '%s': its inventory "
		    "and API token would be served",
		    xp_inv_state_dir(R->inv));
	if ((r = xp__sync_dirs_open(R->t->path, &D)) < 0)
		return xp__sync_fail(R, r, NULL, "cannot open the TFTP root: %s", strerror(-r));
	bool same_opts = R->rec.id && R->rec.options && strcmp(R->rec.options, options) == 0;
	R->full = R->o->full || !same_opts || R->clock.world > R->rec.seq ||
		  R->n_changed > INCREMENTAL_MAX;
	if (!R->full && R->n_changed == 0) {
		R->res->up_to_date = true;
		xp__sync_end_read(R, &r);
		goto done;
	}
	R->res->rendered_all = R->full;
	if (R->rec.id)
		r = xp_sync_files_get(R->inv, R->rec.id, R->full ? NULL : R->changed,
				      R->full ? 0 : R->n_changed, &old, &n_old);
	if (r == 0)
		r = render_tftp(R, &W, base, old, n_old);
	if (r == 0 && !R->full && R->rec.id)
		r = old_grub_files(R, &W, &old, &n_old);
	if (r == 0)
		r = decide_tftp(R, D, &W, old, n_old, &gone);
	xp__sync_end_read(R, &r);
	for (size_t i = 0; i < W.n; i++)
		if (W.v[i].keep)
			R->res->unchanged++;
		else if (W.v[i].act == XP_SYNC_ADOPT)
			R->res->adopted++;
		else if (W.v[i].act == XP_SYNC_WRITE)
			R->res->written++;
	for (size_t i = 0; i < gone.n; i++)
		R->res->removed += !gone.v[i].keep;
	if (r < 0 || R->o->dry_run)
		goto done;
	if ((r = write_tftp(R, D, &W, &gone)) < 0)
		goto done;
	/* recorded: what was written or adopted, what was removed or forgotten */
	struct xp_sync_file_rec *put = calloc(W.n ? W.n : 1, sizeof(*put));
	char **removed = calloc(gone.n ? gone.n : 1, sizeof(*removed));
	size_t n_put = 0;
	if (!put || !removed) {
		r = -ENOMEM;
	} else {
		for (size_t i = 0; i < W.n; i++) {
			struct xp__sync_want *w = &W.v[i];
			if (w->keep || w->act == XP_SYNC_CONFLICT)
				continue;
			put[n_put].path = w->path;
			put[n_put].owner = w->owner;
			memcpy(put[n_put].sha256, w->sha, 65);
			n_put++;
		}
		for (size_t i = 0; i < gone.n; i++)
			removed[i] = gone.v[i].path;
		r = xp__sync_record(R, put, n_put, removed, gone.n, NULL, options);
	}
	free(put);
	free(removed);
done:
	xp_sync_files_free(old, n_old);
	xp__sync_wants_release(&W);
	xp__sync_wants_release(&gone);
	xp__sync_dirs_free(D);
	return r;
}
