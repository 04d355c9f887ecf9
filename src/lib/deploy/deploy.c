/*
 * deploy.c - many guests at once: see xenprov/deploy.h for the contract.
 *
 * The main thread opens the inventory, records the run, cleans up what an earlier
 * killed run left half made, prepares the golden image once, and decides which guests
 * already exist. Then `jobs` worker threads take guests off a shared index and create
 * them, each through its own SQLite connection (a connection is not shared between
 * threads); the creates serialise only on their short allocation transactions.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xenprov/deploy.h"
#include "xenprov/domain.h"

struct run {
	const struct xp_deploy_opts *o;
	struct xp_deploy_result *res;
	struct xp_diags *diags;
	const struct xp_golden *golden;
	bool *todo; /* per guest: still to create */
	bool *made; /* per guest: created by this run (state "creating" until synced) */
	struct xp_ip_want *ips; /* per guest: its address from a pool, planned up front */
	size_t next;
	size_t done;
	bool stop;
	char stop_why[640];
	struct timespec start;
	pthread_mutex_t lock;
	double prepared_at; /* when the last XP_DEPLOY_PREPARING of bytes was told */
};

static double elapsed(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* The inventory in dir, or -errno with a diagnostic. */
static int open_inventory(const char *dir, struct xp_inv **inv, struct xp_diags *d)
{
	int r = xp_inv_open(dir, inv);
	return r < 0 ? xp_diags_refuse(d, r, "inventory", NULL, NULL,
				       "cannot open the inventory in '%s': %s", dir, strerror(-r))
		     : 0;
}

/* With run->lock held. */
static void emit_code(struct run *run, enum xp_deploy_event_kind kind, const char *name,
		      const char *message, const char *code)
{
	if (!run->o->event)
		return;
	struct xp_deploy_event ev = {
		.kind = kind,
		.name = name,
		.message = message,
		.code = code,
		.done = run->done,
		.total = run->o->n,
		.created = run->res->created,
		.skipped = run->res->skipped,
		.failed = run->res->failed,
		.elapsed = elapsed(&run->start),
	};
	run->o->event(run->o->ud, &ev);
}

static void emit(struct run *run, enum xp_deploy_event_kind kind, const char *name,
		 const char *message)
{
	emit_code(run, kind, name, message, NULL);
}

/* The golden image's build, told as XP_DEPLOY_PREPARING events (before any worker
 * runs: no lock needed): mmdebstrap's phase lines each, the bytes written at most
 * four times a second. */
static void golden_phase(void *ud, const char *line)
{
	emit(ud, XP_DEPLOY_PREPARING, NULL, strncmp(line, "I: ", 3) == 0 ? line + 3 : line);
}

static void golden_progress(void *ud, uint64_t bytes, uint64_t entries)
{
	struct run *run = ud;
	double t = elapsed(&run->start);
	if (t - run->prepared_at < 0.25)
		return;
	run->prepared_at = t;
	char msg[96];
	snprintf(msg, sizeof(msg), "writing: %.1f MiB, %" PRIu64 " entries",
		 (double)bytes / (1024.0 * 1024.0), entries);
	emit(run, XP_DEPLOY_PREPARING, NULL, msg);
}

/* True if warning k of d was already given for the same guest (two checks of one
 * create can find the same thing): each is told once per guest. */
static bool told_before(const struct xp_diags *d, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (d->v[i].severity == XP_SEV_WARNING &&
		    strcmp(d->v[i].code ? d->v[i].code : "", d->v[k].code ? d->v[k].code : "") == 0 &&
		    strcmp(d->v[i].msg ? d->v[i].msg : "", d->v[k].msg ? d->v[k].msg : "") == 0)
			return true;
	return false;
}

static const char *first_error(const struct xp_diags *d, size_t from)
{
	for (size_t i = from; i < d->n; i++)
		if (d->v[i].severity == XP_SEV_ERROR)
			return d->v[i].msg;
	return NULL;
}

/* The keys that choose the golden image (xp_golden_prepare): a guest overriding one
 * prepares its own. */
static bool changes_golden(const struct xp_settings *s)
{
	static const char *const keys[] = {"image",   "disk-size", "fs",	"label",
					   "swap",    "include",   "install", NULL};
	for (const char *const *k = keys; s && *k; k++)
		if (xp_settings_get(s, *k))
			return true;
	return false;
}

/* The run's overrides, then the guest's over them. */
static int merge_overrides(const struct xp_settings *all, const struct xp_settings *guest,
			   struct xp_settings *out)
{
	const struct xp_settings *layers[] = {all, guest};
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; layers[l] && i < layers[l]->n; i++)
			if (xp_settings_set(out, layers[l]->v[i].key, layers[l]->v[i].value) < 0)
				return -ENOMEM;
	return 0;
}

static void *worker(void *arg)
{
	struct run *run = arg;
	const struct xp_deploy_opts *o = run->o;
	struct xp_inv *inv = NULL;
	int r = xp_inv_open(o->state_dir, &inv);
	/* the records stay durable (synchronous=FULL) as they are made: a guest's record
	 * is on disk before its disk and config exist, so that even after a power cut no
	 * file is left that no record names */
	for (;;) {
		pthread_mutex_lock(&run->lock);
		while (run->next < o->n && !run->todo[run->next])
			run->next++;
		if (run->stop || run->next >= o->n) {
			pthread_mutex_unlock(&run->lock);
			break;
		}
		size_t i = run->next++;
		pthread_mutex_unlock(&run->lock);

		const struct xp_deploy_guest *g = &o->guests[i];
		struct xp_diags d;
		xp_diags_init(&d);
		struct xp_settings over = {0};
		if (r == 0)
			r = merge_overrides(o->overrides, g->overrides, &over);
		if (r == 0) {
			struct xp_domain_create_opts co = {
				.name = g->name,
				.profile = o->profile,
				.overrides = &over,
				.ip = g->ip ? g->ip : run->ips[i].ip[0] ? run->ips[i].ip : NULL,
				.ip_planned = !g->ip && run->ips[i].ip[0],
				.mac = g->mac,
				.config_dir = o->config_dir,
				.golden = changes_golden(g->overrides) ? NULL : run->golden,
				.deploy_id = run->res->deploy_id,
				.defer_sync = true,
			};
			r = xp_domain_create(inv, &co, NULL, &d);
		}
		xp_settings_release(&over);
		pthread_mutex_lock(&run->lock);
		run->done++;
		if (r == 0) {
			run->res->created++;
			run->made[i] = true;
			/* what domain create would have printed: the caller counts them */
			for (size_t k = 0; k < d.n; k++)
				if (d.v[k].severity == XP_SEV_WARNING && !told_before(&d, k))
					emit_code(run, XP_DEPLOY_WARNING, g->name, d.v[k].msg,
						  d.v[k].code);
			emit(run, XP_DEPLOY_CREATED, g->name, NULL);
		} else {
			run->res->failed++;
			const char *why = first_error(&d, 0);
			const char *msg = why ? why : strerror(-r); /* d lives until the end */
			for (size_t k = 0; k < d.n; k++)
				xp_diags_add(run->diags, d.v[k].severity, g->name, 0, 0, d.v[k].code,
					     d.v[k].text, d.v[k].hint, "%s", d.v[k].msg);
			if (!why)
				xp_diags_add(run->diags, XP_SEV_ERROR, g->name, 0, 0, "create", NULL,
					     NULL, "%s", msg);
			emit(run, XP_DEPLOY_FAILED, g->name, msg);
			if (r == -ENOSPC && !run->stop) {
				/* a full disk fails every guest after it: stop starting them */
				run->stop = true;
				run->res->stopped = true;
				snprintf(run->stop_why, sizeof(run->stop_why),
					 "out of space (%s); no further guests started", msg);
				emit(run, XP_DEPLOY_STOPPED, NULL, run->stop_why);
			}
			if (inv && xp_inv_lost(inv) && !run->stop) {
				/* the database server is gone: every guest after would fail
				 * the same way */
				run->stop = true;
				run->res->stopped = run->res->lost = true;
				snprintf(run->stop_why, sizeof(run->stop_why),
					 "the inventory's database connection is lost (%s); no "
					 "further guests started",
					 msg);
				emit(run, XP_DEPLOY_STOPPED, NULL, run->stop_why);
			}
			if (inv == NULL)
				run->stop = true; /* cannot open the inventory: nothing will work */
			r = inv ? 0 : r;
		}
		pthread_mutex_unlock(&run->lock);
		xp_diags_release(&d);
	}
	xp_inv_close(inv);
	return NULL;
}

/* Adds the filesystem of path's directory to devs/fds (once per filesystem). */
static int add_fs(const char *path, dev_t *devs, int *fds, size_t *n, size_t max)
{
	char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	free(dir);
	if (fd < 0)
		return -e;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	for (size_t i = 0; i < *n; i++)
		if (devs[i] == st.st_dev) {
			close(fd);
			return 0;
		}
	if (*n == max) { /* more filesystems than expected: sync this one now */
		int r = syncfs(fd) < 0 ? -errno : 0;
		close(fd);
		return r;
	}
	devs[*n] = st.st_dev;
	fds[(*n)++] = fd;
	return 0;
}

/* The run's guests are written without fsync (disks, their files, configs):
 * one syncfs(2) per filesystem they are on makes them durable together, far cheaper
 * than an fsync per guest (each waits for that guest's data alone, one after the
 * other); then one durable transaction marks them "ready". Until then they are
 * "creating": a crash before leaves them half made, and the next run makes them again.
 * Called after the workers, from the calling thread. */
static int finish_sync(struct run *run, struct xp_inv *inv)
{
	const struct xp_deploy_opts *o = run->o;
	enum { MAXFS = 16 };
	dev_t devs[MAXFS];
	int fds[MAXFS];
	size_t nfs = 0;
	int r = 0;
	for (size_t i = 0; i < o->n && r == 0; i++) {
		if (!run->made[i])
			continue;
		struct xp_domain dom;
		r = xp_domain_get(inv, o->guests[i].name, &dom);
		if (r < 0)
			break;
		if (dom.disk_path && (!dom.storage || strcmp(dom.storage, "lvm") != 0))
			r = add_fs(dom.disk_path, devs, fds, &nfs, MAXFS);
		if (r == 0 && dom.config_path)
			r = add_fs(dom.config_path, devs, fds, &nfs, MAXFS);
		xp_domain_release(&dom);
	}
	for (size_t k = 0; k < nfs; k++) {
		if (r == 0 && syncfs(fds[k]) < 0)
			r = -errno;
		close(fds[k]);
	}
	if (r < 0) {
		xp_diags_add(run->diags, XP_SEV_ERROR, NULL, 0, 0, "sync", NULL,
			     "run the deploy again: it makes them anew",
			     "cannot make the guests' disks and configs durable: %s; they are "
			     "left half made",
			     strerror(-r));
		return r;
	}
	r = xp_inv_begin(inv);
	for (size_t i = 0; i < o->n && r == 0; i++)
		if (run->made[i])
			r = xp_domain_set_state(inv, o->guests[i].name, "ready");
	if (r == 0)
		r = xp_inv_commit(inv);
	else
		xp_inv_rollback(inv);
	if (r < 0)
		xp_diags_add(run->diags, XP_SEV_ERROR, NULL, 0, 0, "inventory", NULL, NULL,
			     "cannot record the guests as ready: %s", xp_inv_errmsg(inv));
	return r;
}

/* xp_boot_check for the run, its errors only: a warning is each guest's, told with the
 * other warnings of the guests made (grouped by code). */
static int boot_check(const struct xp_settings *s, const struct xp_boot_kernels *k,
		      struct xp_diags *diags)
{
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_boot_check(s, k, true, &d);
	for (size_t i = 0; r < 0 && i < d.n; i++)
		xp_diags_add(diags, d.v[i].severity, d.v[i].file, 0, 0, d.v[i].code, d.v[i].text,
			     d.v[i].hint, "%s", d.v[i].msg);
	xp_diags_release(&d);
	return r;
}

/* Guest i's value of key: its own (--plan), else the run's (profile and --set, in s).
 * Its own is normalised with xp_profile_check into *own (to be freed); an invalid one
 * is NULL here (its create reports it). */
static const char *guest_value(const struct xp_deploy_guest *g, const struct xp_settings *s,
			       const char *key, char **own)
{
	*own = NULL;
	const char *v = g->overrides ? xp_settings_get(g->overrides, key) : NULL;
	if (!v)
		return xp_settings_get(s, key);
	return xp_profile_check(key, v, own, NULL) == 0 ? *own : NULL;
}

static int by_guest_name(const void *a, const void *b, void *ud)
{
	const struct xp_deploy_guest *g = ud;
	return strverscmp(g[*(const size_t *)a].name, g[*(const size_t *)b].name);
}

/* The addresses of the guests to make that take one from a pool (no ip of their own,
 * network not dhcp, an ip-pool: as xp_domain_create decides), planned in the order of
 * their names (numbers compared as numbers: web9 before web10) before any is made, so
 * that they do not depend on which worker gets to its allocation first. A guest whose
 * pool has no address left fails here, before the others start: made by a worker, it
 * would take one planned for another. Each create still checks its address in its own
 * transaction: one another command took meanwhile (another dom0 deploying into a
 * shared inventory) gives that guest the pool's next free address there instead. */
static int plan_addresses(struct run *run, struct xp_inv *inv, const struct xp_settings *s)
{
	const struct xp_deploy_opts *o = run->o;
	size_t *order = calloc(o->n ? o->n : 1, sizeof(*order)), n = 0, nused = 0, cap;
	char **own = calloc(o->n ? o->n * 4 : 1, sizeof(*own)), **used = NULL;
	int r = order && own ? xp_domain_ips(inv, &used, &nused) : -ENOMEM;
	cap = nused;
	/* the addresses --plan gives are taken too, whichever guest comes first */
	for (size_t i = 0; r == 0 && i < o->n; i++) {
		if (!o->guests[i].ip)
			continue;
		if ((r = xp_grow(&used, &cap, nused, sizeof(*used), 16)) < 0)
			break;
		used[nused] = strndup(o->guests[i].ip, strcspn(o->guests[i].ip, "/"));
		r = used[nused++] ? 0 : -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < o->n; i++) {
		const struct xp_deploy_guest *g = &o->guests[i];
		if (!run->todo[i] || g->ip)
			continue;
		char **mine = &own[i * 4];
		const char *net = guest_value(g, s, "network", &mine[0]);
		struct xp_ip_want *w = &run->ips[i];
		w->pool = guest_value(g, s, "ip-pool", &mine[1]);
		w->gateway = guest_value(g, s, "gateway", &mine[2]);
		w->reserved = guest_value(g, s, "dns", &mine[3]);
		if (w->pool && !(net && strcmp(net, "dhcp") == 0))
			order[n++] = i;
	}
	if (r == 0) {
		qsort_r(order, n, sizeof(*order), by_guest_name, (void *)o->guests);
		/* in name order, then back in place */
		struct xp_ip_want *w = calloc(n ? n : 1, sizeof(*w));
		r = w ? 0 : -ENOMEM;
		for (size_t k = 0; r == 0 && k < n; k++)
			w[k] = run->ips[order[k]];
		if (r == 0)
			r = xp_ip_pool_pick_many(w, n, (const char *const *)used, nused);
		for (size_t k = 0; r == 0 && k < n; k++)
			run->ips[order[k]] = w[k];
		free(w);
	}
	for (size_t k = 0; r == 0 && k < n; k++) {
		size_t i = order[k];
		const struct xp_ip_want *w = &run->ips[i];
		if (w->r != -ENOSPC)
			continue; /* -EINVAL: the create reports it */
		run->todo[i] = false;
		run->res->failed++;
		run->done++;
		char msg[96];
		snprintf(msg, sizeof(msg), "the ip-pool %s has no free address", w->pool);
		xp_diags_add(run->diags, XP_SEV_ERROR, o->guests[i].name, 0, 0, "ip", w->pool,
			     "enlarge the pool, or delete guests", "%s", msg);
		emit(run, XP_DEPLOY_FAILED, o->guests[i].name, msg);
	}
	/* the strings the plan points at are the settings' and the guests' own: the
	 * addresses are copied, the pointers are not used after this */
	for (size_t i = 0; i < o->n; i++)
		run->ips[i].pool = run->ips[i].gateway = run->ips[i].reserved = NULL;
	for (size_t i = 0; own && i < o->n * 4; i++)
		free(own[i]);
	free(own);
	free(order);
	xp_strv_free(used, nused);
	return r;
}

/* The counts of a run's end, as the deploys table keeps them. */
static struct xp_deploy_counts counts_of(const struct xp_deploy_opts *o,
					 const struct xp_deploy_result *res)
{
	return (struct xp_deploy_counts){(int64_t)o->n, (int64_t)res->created,
					 (int64_t)res->skipped, (int64_t)res->failed,
					 (int64_t)res->cleaned};
}

int xp_deploy_run(const struct xp_deploy_opts *o, struct xp_deploy_result *res,
		  struct xp_diags *diags)
{
	memset(res, 0, sizeof(*res));
	struct run run = {.o = o, .res = res, .diags = diags, .prepared_at = -1};
	clock_gettime(CLOCK_MONOTONIC, &run.start);
	pthread_mutex_init(&run.lock, NULL);
	struct xp_inv *inv = NULL;
	struct xp_settings s = {0};
	struct xp_golden golden = {0};
	int r = 0;

	for (size_t i = 0; i < o->n; i++)
		for (size_t k = i + 1; k < o->n; k++)
			if (strcmp(o->guests[i].name, o->guests[k].name) == 0) {
				xp_diags_add(diags, XP_SEV_ERROR, o->guests[i].name, 0, 0,
					     "duplicate-name", NULL, NULL,
					     "'%s' is asked for twice", o->guests[i].name);
				return -EINVAL;
			}
	run.todo = calloc(o->n ? o->n : 1, sizeof(*run.todo));
	run.made = calloc(o->n ? o->n : 1, sizeof(*run.made));
	run.ips = calloc(o->n ? o->n : 1, sizeof(*run.ips));
	if (!run.todo || !run.made || !run.ips) {
		free(run.todo);
		free(run.made);
		free(run.ips);
		return -ENOMEM;
	}
	if ((r = open_inventory(o->state_dir, &inv, diags)) < 0)
		goto out;
	r = xp_profile_resolve(inv, o->profile, &s);
	if (r < 0) {
		xp_diags_add(diags, XP_SEV_ERROR, NULL, 0, 0, "profile", NULL,
			     "see 'xenprov profile list'", r == -ENOENT ? "no profile '%s'"
									 : "cannot read profile '%s'",
			     o->profile);
		goto out;
	}
	/* the run's overrides, checked once here (each create checks them again) and
	 * applied for the golden image */
	for (size_t i = 0; o->overrides && i < o->overrides->n; i++) {
		char *norm = NULL;
		r = xp_profile_check(o->overrides->v[i].key, o->overrides->v[i].value, &norm,
				     diags);
		if (r == 0 && xp_settings_set(&s, o->overrides->v[i].key, norm) < 0)
			r = -ENOMEM;
		free(norm);
		if (r < 0)
			goto out;
	}
	/* where the configs go: one error, before anything is made or cleaned up (each
	 * create decides again, with its own values: a guest's --plan may name another) */
	char *cdir = NULL;
	if ((r = xp_domain_config_dir(inv, o->config_dir, &s, &cdir, diags)) < 0)
		goto out;
	free(cdir);

	/* what exists: complete guests of this profile are skipped; what a killed run left
	 * half made is removed, to be made again */
	for (size_t i = 0; i < o->n; i++) {
		struct xp_domain dom;
		int g = xp_domain_get(inv, o->guests[i].name, &dom);
		if (g == -ENOENT) {
			run.todo[i] = true;
			continue;
		}
		if (g < 0) {
			r = g;
			goto out;
		}
		if (strcmp(dom.state, "ready") == 0) {
			if (dom.profile && strcmp(dom.profile, o->profile) == 0) {
				res->skipped++;
				run.done++;
				emit(&run, XP_DEPLOY_SKIPPED, o->guests[i].name, NULL);
			} else {
				res->failed++;
				run.done++;
				xp_diags_add(diags, XP_SEV_ERROR, o->guests[i].name, 0, 0, "exists",
					     NULL, "delete it, or pick another name",
					     "a domain '%s' exists already, from profile '%s'",
					     o->guests[i].name, dom.profile ? dom.profile : "?");
				emit(&run, XP_DEPLOY_FAILED, o->guests[i].name,
				     "exists already, from another profile");
			}
		} else {
			struct xp_diags d;
			xp_diags_init(&d);
			g = xp_domain_delete(inv, o->guests[i].name, false, &d);
			xp_diags_release(&d);
			if (g < 0) {
				res->failed++;
				run.done++;
				xp_diags_add(diags, XP_SEV_ERROR, o->guests[i].name, 0, 0, "cleanup",
					     NULL, NULL,
					     "cannot remove what an earlier run left half made: %s",
					     strerror(-g));
				emit(&run, XP_DEPLOY_FAILED, o->guests[i].name,
				     "cannot clean up an earlier attempt");
			} else {
				res->cleaned++;
				emit(&run, XP_DEPLOY_CLEANED, o->guests[i].name, NULL);
				run.todo[i] = true;
			}
		}
		xp_domain_release(&dom);
	}

	r = xp_deploy_record_start(inv, o->profile, o->n, o->request, &res->deploy_id);
	if (r < 0) {
		xp_diags_add(diags, XP_SEV_ERROR, NULL, 0, 0, "inventory", NULL, NULL,
			     "cannot record the deploy: %s", xp_inv_errmsg(inv));
		goto out;
	}
	if ((r = plan_addresses(&run, inv, &s)) < 0) {
		xp_diags_add(diags, XP_SEV_ERROR, NULL, 0, 0, "ip", NULL, NULL,
			     "cannot plan the guests' addresses: %s", strerror(-r));
		struct xp_deploy_counts c = counts_of(o, res);
		xp_deploy_record_finish(inv, res->deploy_id, "failed", &c);
		goto out;
	}

	size_t todo = 0;
	for (size_t i = 0; i < o->n; i++)
		todo += run.todo[i];
	if (todo) {
		/* how the guests boot, checked once for the run (each create checks its own
		 * values again): before the golden image is built, and with its kernels;
		 * kernel=from-image's copy is made here, once, for every guest */
		r = boot_check(&s, NULL, diags);
		if (r == 0)
			r = xp_golden_prepare(o->state_dir, &s, golden_progress, golden_phase, &run,
					      &golden, diags);
		if (r == 0)
			r = boot_check(&s, &golden.kernels, diags);
		const char *boot = xp_settings_get(&s, "boot"), *kernel = xp_settings_get(&s, "kernel");
		if (r == 0 && boot && strcmp(boot, "kernel") == 0 &&
		    strcmp(kernel, XP_DOMAIN_KERNEL_FROM_IMAGE) == 0) {
			char *k = NULL, *rd = NULL;
			r = xp_boot_image_kernel(o->state_dir, &golden, &k, &rd, diags);
			free(k);
			free(rd);
		}
		if (r < 0) {
			struct xp_deploy_counts c = counts_of(o, res);
			xp_deploy_record_finish(inv, res->deploy_id, "failed", &c);
			goto out;
		}
		emit(&run, XP_DEPLOY_GOLDEN, NULL, golden.path);
		run.golden = &golden;
		unsigned jobs = o->jobs;
		if (!jobs) {
			long c = sysconf(_SC_NPROCESSORS_ONLN);
			jobs = c > 0 ? (unsigned)c : 1;
		}
		if (jobs > todo)
			jobs = (unsigned)todo;
		if (jobs > 64)
			jobs = 64;
		pthread_t th[64];
		unsigned started = 0;
		for (; started < jobs; started++)
			if (pthread_create(&th[started], NULL, worker, &run) != 0)
				break;
		if (started == 0)
			worker(&run);
		for (unsigned k = 0; k < started; k++)
			pthread_join(th[k], NULL);
		if (res->created && finish_sync(&run, inv) < 0) {
			res->failed += res->created;
			res->created = 0;
		}
	}
	r = res->failed ? -EIO : 0;
	struct xp_deploy_counts c = counts_of(o, res);
	xp_deploy_record_finish(inv, res->deploy_id, res->failed ? "failed" : "done", &c);
out:
	xp_golden_release(&golden);
	xp_settings_release(&s);
	xp_inv_close(inv);
	free(run.todo);
	free(run.made);
	free(run.ips);
	pthread_mutex_destroy(&run.lock);
	return r;
}

/* ---- rollback ---------------------------------------------------------------------- */

/* The deploy a rollback is about: o->deploy_id, or the newest that has guests (of
 * o->profile); *with_guests: how many deploys (of o->profile) have. -ENOENT with a
 * diagnostic when there is none. */
static int rollback_target(struct xp_inv *inv, const struct xp_deploy_rollback_opts *o,
			   int64_t *id, size_t *with_guests, struct xp_diags *d)
{
	int64_t last;
	int r = xp_deploy_record_last_with_domains(inv, o->profile, &last, with_guests);
	if (r < 0)
		return xp_diags_refuse(d, r, "inventory", NULL, NULL,
				       "cannot read the deploys: %s", xp_inv_errmsg(inv));
	*id = o->deploy_id;
	if (*id > 0) {
		r = xp_deploy_record_find(inv, *id);
		if (r == -ENOENT)
			return xp_diags_refuse(d, r, "rollback", NULL, "see 'xenprov deploy list'",
					       "no deploy %lld", (long long)*id);
		return r < 0 ? xp_diags_refuse(d, r, "inventory", NULL, NULL,
					       "cannot read the deploys: %s", xp_inv_errmsg(inv))
			     : 0;
	}
	if (last <= 0) {
		if (o->profile)
			return xp_diags_refuse(d, -ENOENT, "rollback", NULL, NULL,
					       "no deploy of profile '%s' has guests left to roll "
					       "back",
					       o->profile);
		return xp_diags_refuse(d, -ENOENT, "rollback", NULL, NULL,
				       "no deploy has guests left to roll back");
	}
	*id = last;
	return 0;
}

/* The one place where a rollback refuses or stops guests, called with every guest of
 * the deploy before any is removed: the ones the toolstack runs are refused (res[i]
 * -EBUSY, a diagnostic each; -EBUSY returned, so nothing is removed), or with
 * stop->force shut down first (xp_domains_stop_for_removal); res[i] < 0 for a guest
 * that could not be stopped, which then keeps its disk. */
static int rollback_stop(const struct xp_deploy_rollback_opts *o, char *const *names, size_t n,
			 int *res, struct xp_diags *d)
{
	int r = xp_domains_stop_for_removal(o->stop, (const char *const *)names, n, res, d);
	if (r < 0 && r != -ENOMEM && o->stop && o->stop->force)
		r = 0; /* each guest's own result is in res[] */
	return r;
}

int xp_deploy_guests(struct xp_inv *inv, int64_t id, struct xp_domain **v, size_t *n)
{
	char **names;
	size_t nn;
	*v = NULL;
	*n = 0;
	int r = xp_deploy_record_domains(inv, id, &names, &nn);
	if (r < 0)
		return r;
	if (!(*v = calloc(nn ? nn : 1, sizeof(**v))))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < nn; i++) {
		if ((r = xp_domain_get(inv, names[i], &(*v)[*n])) == 0)
			(*n)++;
		else if (r == -ENOENT)
			r = 0; /* removed meanwhile (the caller holds no transaction) */
	}
	xp_strv_free(names, nn);
	if (r < 0) {
		xp_domain_list_free(*v, *n);
		*v = NULL;
		*n = 0;
	}
	return r;
}

void xp_rollback_plan_release(struct xp_rollback_plan *plan)
{
	xp_deploy_record_release(&plan->deploy);
	for (size_t i = 0; i < plan->n; i++) {
		xp_domain_release(&plan->guests[i].dom);
		xp_artifacts_free(plan->guests[i].art, plan->guests[i].nart);
	}
	free(plan->guests);
	memset(plan, 0, sizeof(*plan));
}

/* Which of the plan's guests the toolstack runs, asking it only (as a rollback without
 * --force does, which stops nothing): their refusals are not the plan's errors. */
static int plan_running(const struct xp_deploy_rollback_opts *o, struct xp_rollback_plan *plan,
			struct xp_diags *diags)
{
	struct xp_stop_opts ask = {.xl = o->stop ? o->stop->xl : NULL};
	char **names = calloc(plan->n ? plan->n : 1, sizeof(*names));
	int *res = calloc(plan->n ? plan->n : 1, sizeof(*res));
	int r = names && res ? 0 : -ENOMEM;
	for (size_t i = 0; r == 0 && i < plan->n; i++)
		names[i] = plan->guests[i].dom.name;
	struct xp_diags own;
	xp_diags_init(&own);
	if (r == 0 && (r = xp_domains_stop_for_removal(&ask, (const char *const *)names, plan->n,
						       res, &own)) == -EBUSY)
		r = 0;
	for (size_t i = 0; r == 0 && i < plan->n; i++)
		plan->guests[i].running = res[i] == -EBUSY;
	if (r < 0)
		xp_diags_refuse(diags, r, "toolstack", NULL, NULL,
				"cannot tell which guests run: %s",
				own.n ? own.v[0].msg : strerror(-r));
	xp_diags_release(&own);
	free(names);
	free(res);
	return r;
}

int xp_deploy_rollback_plan(const struct xp_deploy_rollback_opts *o, struct xp_rollback_plan *plan,
			    struct xp_diags *diags)
{
	memset(plan, 0, sizeof(*plan));
	struct xp_inv *inv;
	int r = open_inventory(o->state_dir, &inv, diags);
	if (r < 0)
		return r;
	int64_t id;
	struct xp_domain *doms = NULL;
	size_t n = 0;
	r = xp_inv_begin(inv); /* one snapshot */
	if (r == 0)
		r = rollback_target(inv, o, &id, &plan->with_guests, diags);
	if (r == 0)
		r = xp_deploy_record_get(inv, id, &plan->deploy);
	if (r == 0)
		r = xp_deploy_guests(inv, id, &doms, &n);
	if (r == 0 && !(plan->guests = calloc(n ? n : 1, sizeof(*plan->guests))))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct xp_rollback_guest *g = &plan->guests[i];
		r = xp_domain_artifacts(inv, doms[i].name, &g->art, &g->nart);
		if (r < 0)
			break;
		g->dom = doms[i]; /* moved */
		memset(&doms[i], 0, sizeof(doms[i]));
		plan->n++;
	}
	xp_inv_rollback(inv); /* read only */
	if (r == 0)
		r = plan_running(o, plan, diags);
	if (r < 0 && xp_diags_count(diags, XP_SEV_ERROR) == 0)
		xp_diags_refuse(diags, r, "inventory", NULL, NULL, "cannot read the deploy: %s",
				xp_inv_errmsg(inv));
	xp_domain_list_free(doms, n);
	xp_inv_close(inv);
	if (r < 0)
		xp_rollback_plan_release(plan);
	return r;
}

int xp_deploy_rollback(const struct xp_deploy_rollback_opts *o, struct xp_deploy_result *res,
		       struct xp_diags *diags)
{
	memset(res, 0, sizeof(*res));
	struct xp_inv *inv;
	int r = open_inventory(o->state_dir, &inv, diags);
	if (r < 0)
		return r;
	int64_t id;
	size_t with;
	char **names = NULL;
	size_t n = 0;
	r = rollback_target(inv, o, &id, &with, diags);
	if (r < 0)
		goto out;
	res->deploy_id = id;
	if ((r = xp_deploy_record_domains(inv, id, &names, &n)) < 0) {
		xp_diags_refuse(diags, r, "inventory", NULL, NULL, "cannot read the deploy: %s",
				xp_inv_errmsg(inv));
		goto out;
	}
	/* every guest is checked before any is removed: a refusal removes nothing */
	int *stopped = calloc(n ? n : 1, sizeof(*stopped));
	r = stopped ? rollback_stop(o, names, n, stopped, diags) : -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (stopped[i] < 0) { /* still running: its disk is kept */
			res->failed++;
			continue;
		}
		int d = xp_domain_delete(inv, names[i], false, diags);
		if (d < 0 && d != -ENOENT)
			res->failed++;
		else
			res->cleaned++;
	}
	free(stopped);
	if (r == 0 && (r = xp_deploy_record_finish(inv, id, "rolled-back", NULL)) < 0)
		xp_diags_refuse(diags, r, "inventory", NULL, NULL,
				"cannot record the rollback: %s", xp_inv_errmsg(inv));
	if (r == 0 && res->failed)
		r = -EIO;
out:
	xp_strv_free(names, n);
	xp_inv_close(inv);
	return r;
}
