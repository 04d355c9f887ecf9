/*
 * sync-dhcp.c - a DHCP server's include file(s) synced (xenprov/sync.h): rendered from
 * every system of the target's subnet when anything changed since the last sync,
 * compared with what is there, checked by the server's own checker as a candidate
 * beside the file, renamed over it once checked and durable. Kea's target has two
 * files (reservations, client classes), checked together.
 *
 * Not here: the text (dhcp-include.c), the checkers (dhcp-check.c), the run (sync.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/sync-internal.h"
#include "util/cleanup.h"

/* The boot files and the next server, as `xenprov serve` has them. */
static int boot_settings(struct xp__sync_run *R, struct xp__sync_boot *b)
{
	memset(b, 0, sizeof(*b));
	const char *ns = xp_settings_get(&R->set, "next-server");
	if (ns)
		snprintf(b->next_server, sizeof(b->next_server), "%s", ns);
	b->bios = xp_settings_get(&R->set, "bios-boot-file");
	b->efi64 = xp_settings_get(&R->set, "efi64-boot-file");
	if (!b->bios)
		b->bios = xp_server_setting_default("bios-boot-file");
	if (!b->efi64)
		b->efi64 = xp_server_setting_default("efi64-boot-file");
	return 0;
}

/* Kea's subnet: the target's, else the one pool's. */
static int kea_subnet(struct xp__sync_run *R, char **out)
{
	*out = NULL;
	if (R->t->subnet)
		return (*out = strdup(R->t->subnet)) ? 0 : -ENOMEM;
	struct xp_server_pool *pv;
	size_t np;
	int r = xp_server_pools(&R->set, &pv, &np, NULL);
	if (r == 0 && np == 1) {
		uint32_t lo = 0, mask = 0;
		struct in_addr a;
		if (inet_pton(AF_INET, pv[0].range_start, &a) == 1)
			lo = ntohl(a.s_addr);
		if (inet_pton(AF_INET, pv[0].netmask, &a) == 1)
			mask = ntohl(a.s_addr);
		uint32_t net = lo & mask;
		if (asprintf(out, "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255, (net >> 8) & 255,
			     net & 255, __builtin_popcount(mask)) < 0)
			*out = NULL;
		r = *out ? 0 : -ENOMEM;
	} else if (r == 0 || r == -EINVAL) {
		r = xp__sync_fail(
		    R, -EINVAL, "give the subnet the reservations are for: --subnet A.B.C.D/N",
		    "Kea's reservations belong to one subnet, and the settings have %s",
		    r == 0 && np ? "several pools" : "no usable pool");
	}
	xp_server_pools_free(pv, np);
	return r;
}

/* ---- DHCP include targets ---------------------------------------------------------- */

/* A file's stamp: what a change behind sync's back would change. */
static void stamp_of(const struct stat *st, char out[96])
{
	snprintf(out, 96, "%lld:%lld.%09ld:%llu", (long long)st->st_size,
		 (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
		 (unsigned long long)st->st_ino);
}

/* The hosts of the systems in the target's subnet; res->left_out counts the rest. */
static int hosts(struct xp__sync_run *R, const char *subnet, struct xp_system *sys, size_t n,
		 struct xp__sync_host **out, size_t *nout)
{
	uint32_t net = 0, mask = 0;
	if (subnet && !xp__sync_cidr_parse(subnet, &net, &mask))
		return xp__sync_fail(R, -EINVAL,
				     "A.B.C.D/N with no host bits set, e.g. 10.0.0.0/24",
				     "'%s' is not a subnet", subnet);
	struct xp__sync_host *h = calloc(n ? n : 1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	size_t k = 0, outside = 0;
	for (size_t i = 0; i < n; i++) {
		int r = xp__sync_host_from(&sys[i], &h[k], R->d);
		if (r < 0) {
			free(h);
			return r;
		}
		if (r > 0) {
			R->res->left_out++;
			continue;
		}
		struct in_addr a;
		if (subnet && h[k].ip[0] && inet_pton(AF_INET, h[k].ip, &a) == 1 &&
		    (ntohl(a.s_addr) & mask) != net) {
			outside++;
			continue;
		}
		k++;
	}
	R->res->left_out += outside;
	if (outside &&
	    xp__sync_warn(R, NULL, "%zu system%s left out: %s address%s outside %s", outside,
			  outside == 1 ? "" : "s", outside == 1 ? "its" : "their",
			  outside == 1 ? " is" : "es are", subnet) < 0) {
		free(h);
		return -ENOMEM;
	}
	*out = h;
	*nout = k;
	return 0;
}

/* The include file(s) of a DHCP target, rendered into W (path absolute). */
static int render_dhcp(struct xp__sync_run *R, const char *subnet, struct xp__sync_wants *W)
{
	struct xp_system *sys = NULL;
	size_t n = 0;
	int r = xp_system_all(R->inv, &sys, &n);
	if (r < 0)
		return xp__sync_fail(R, r, NULL, "cannot read the systems: %s",
				     xp_inv_reason(R->inv, r, (char[256]){0}, 256));
	struct xp__sync_host *h = NULL;
	size_t nh = 0;
	struct xp__sync_boot b;
	boot_settings(R, &b);
	if ((r = hosts(R, subnet, sys, n, &h, &nh)) == 0) {
		R->res->systems = nh;
		bool netboot = false;
		for (size_t i = 0; i < nh; i++)
			netboot |= h[i].netboot;
		if (netboot && !b.next_server[0])
			r = xp__sync_fail(
			    R, -EINVAL,
			    "xenprov settings set next-server ADDR (the TFTP server), or "
			    "server ADDR",
			    "netbooting systems need a TFTP server to be named, and neither "
			    "next-server nor server is set");
	}
	struct xp__sync_want *w = r == 0 ? xp__sync_want_add(W, "") : NULL;
	if (r == 0 && !w)
		r = -ENOMEM;
	if (r == 0 && !(w->path = strdup(R->t->path)))
		r = -ENOMEM;
	if (r == 0) {
		switch (R->t->kind) {
		case XP_SYNC_DNSMASQ:
			r = xp__sync_dnsmasq(h, nh, &b, &w->data, R->d);
			break;
		case XP_SYNC_ISC_DHCPD:
			r = xp__sync_isc(h, nh, &b, &w->data, R->d);
			break;
		default:
			r = xp__sync_kea_hosts(h, nh, &w->data, R->d);
			break;
		}
	}
	if (r == 0)
		r = xp__sync_want_digest(w);
	if (r == 0 && R->t->kind == XP_SYNC_KEA && R->t->path2) {
		if (!b.next_server[0])
			r = xp__sync_fail(
			    R, -EINVAL, "xenprov settings set next-server ADDR",
			    "Kea's boot file classes need a TFTP server to be named, and "
			    "neither next-server nor server is set");
		else if (!(w = xp__sync_want_add(W, "")) || !(w->path = strdup(R->t->path2)))
			r = -ENOMEM;
		else if ((r = xp__sync_kea_classes(&b, &w->data, R->d)) == 0)
			r = xp__sync_want_digest(w);
	}
	free(h);
	for (size_t i = 0; i < n; i++)
		xp_system_release(&sys[i]);
	free(sys);
	return r;
}

/* Whether the recorded include files are untouched since they were written. */
static bool stamps_hold(const struct xp_sync_file_rec *old, size_t n_old)
{
	for (size_t i = 0; i < n_old; i++) {
		struct stat st;
		char now[96];
		if (!old[i].stamp || stat(old[i].path, &st) < 0)
			return false;
		stamp_of(&st, now);
		if (strcmp(now, old[i].stamp) != 0)
			return false;
	}
	return true;
}

static const struct xp_sync_file_rec *old_of(const struct xp_sync_file_rec *old, size_t n,
					     const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(old[i].path, path) == 0)
			return &old[i];
	return NULL;
}

/* Decides each include file: kept (the recorded bytes, untouched on disk), written,
 * adopted (already there) or a conflict (a file sync did not write). */
static int decide_includes(struct xp__sync_run *R, struct xp__sync_wants *W,
			   const struct xp_sync_file_rec *old, size_t n_old)
{
	for (size_t i = 0; i < W->n; i++) {
		struct xp__sync_want *w = &W->v[i];
		const struct xp_sync_file_rec *o = old_of(old, n_old, w->path);
		char *slash = strrchr(w->path, '/');
		_cleanup_close_ int dfd = -1;
		if (slash) {
			*slash = 0;
			dfd = open(*w->path ? w->path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			*slash = '/';
		}
		if (dfd < 0)
			return xp__sync_fail(R, -ENOENT, NULL,
					     "cannot open the directory of '%s': %s", w->path,
					     strerror(slash ? errno : ENOENT));
		struct stat st;
		int same = xp__sync_same(dfd, slash + 1, w->sha, &st);
		char stamp[96];
		if (same >= 0)
			stamp_of(&st, stamp);
		if (same == -ENOENT) {
			w->act = XP_SYNC_WRITE;
		} else if (same < 0 && same != -EISDIR) {
			return xp__sync_fail(R, same, NULL, "cannot read '%s': %s", w->path,
					     strerror(-same));
		} else if (o && o->stamp && same >= 0 && strcmp(o->stamp, stamp) == 0) {
			/* ours, as we left it */
			w->keep = same == 1;
			w->act = XP_SYNC_WRITE;
		} else if (same == 1) {
			w->act = XP_SYNC_ADOPT;
		} else if (o && same == 0) {
			if (xp__sync_warn(R, NULL,
					  "'%s' was changed since xenprov sync wrote it: replaced",
					  w->path) < 0)
				return -ENOMEM;
			w->act = XP_SYNC_WRITE;
		} else {
			w->act = R->o->force && same == 0 ? XP_SYNC_WRITE : XP_SYNC_CONFLICT;
		}
		if (!w->keep)
			xp__sync_event(R, w->path, w->act);
	}
	return 0;
}

/* Writes the include files decided, after the server's checker took them. */
static int write_includes(struct xp__sync_run *R, struct xp__sync_wants *W, const char *subnet,
			  const char *options)
{
	size_t n_write = 0, n_conflict = 0;
	for (size_t i = 0; i < W->n; i++) {
		struct xp__sync_want *w = &W->v[i];
		if (w->keep)
			R->res->unchanged++;
		else if (w->act == XP_SYNC_CONFLICT)
			n_conflict++;
		else if (w->act == XP_SYNC_ADOPT)
			R->res->adopted++;
		else
			n_write++;
	}
	R->res->written = n_write;
	R->res->conflicts = n_conflict;
	if (n_conflict) {
		for (size_t i = 0; i < W->n; i++)
			if (W->v[i].act == XP_SYNC_CONFLICT && !W->v[i].keep)
				xp__sync_fail(
				    R, -EEXIST,
				    "name a file of its own (the site's main config includes it), "
				    "or --force to replace this one",
				    "'%s' exists and was not written by xenprov sync: not replaced",
				    W->v[i].path);
		return -EEXIST;
	}
	/* candidates: beside the files (renamed into place once checked), or for a dry
	 * run in a private directory */
	char *tmpdir = NULL;
	int r = 0;
	if (R->o->dry_run && (r = xp__sync_tmpdir(&tmpdir)) < 0)
		return xp__sync_fail(R, r, NULL, "cannot make a temporary directory: %s",
				     strerror(-r));
	char *cand[2] = {NULL, NULL};
	struct xp__sync_dirs *dirs[2] = {NULL, NULL};
	const char *bases[2] = {NULL, NULL};
	int dfd[2] = {-1, -1};
	struct stat old_st;
	for (size_t i = 0; r == 0 && i < W->n; i++) {
		struct xp__sync_want *w = &W->v[i];
		if (w->keep || w->act == XP_SYNC_ADOPT) {
			cand[i] = strdup(w->path); /* the checker reads the file in place */
			r = cand[i] ? 0 : -ENOMEM;
			continue;
		}
		char *slash = strrchr(w->path, '/');
		bases[i] = slash + 1;
		if (R->o->dry_run) {
			if (asprintf(&cand[i], "%s/%zu-%s", tmpdir, i, bases[i]) < 0) {
				cand[i] = NULL;
				r = -ENOMEM;
			} else {
				r = xp_write_atomic_flags(cand[i], w->data.s, w->data.len, 0600,
							  XP_WRITE_NOSYNC);
			}
			continue;
		}
		*slash = 0;
		r = xp__sync_dirs_open(*w->path ? w->path : "/", &dirs[i]);
		*slash = '/';
		if (r < 0)
			break;
		dfd[i] = xp__sync_dirs_root(dirs[i]);
		/* a file replaced keeps its mode (a site may have made it 0640 for its
		 * server's group) */
		mode_t mode = fstatat(dfd[i], bases[i], &old_st, AT_SYMLINK_NOFOLLOW) == 0 &&
				      S_ISREG(old_st.st_mode)
				  ? old_st.st_mode & 07777
				  : 0644;
		int unnamed; /* never: a candidate is read by its path */
		if ((r = xp__sync_stage(dirs[i], dfd[i], bases[i], w->data.s, w->data.len, -1, mode,
					false, true, &unnamed)) == 0)
			r = xp__sync_tmp_path(w->path, &cand[i]);
	}
	if (r < 0) {
		xp__sync_fail(R, r, NULL, "cannot write a candidate of '%s': %s", R->t->path,
			      strerror(-r));
		goto out;
	}
	if (n_write) {
		struct xp_buf why = XP_BUF_INIT;
		const char *checker = NULL;
		int c = xp__sync_check(R->t->kind, cand[0], W->n > 1 ? cand[1] : NULL, subnet,
				       &checker, &why);
		R->res->checker = checker;
		if (c == 0) {
			R->res->check = XP_SYNC_CHECK_PASSED;
		} else if (c == -ENOENT) {
			R->res->check = XP_SYNC_CHECK_MISSING;
			if (R->o->require_check)
				r = xp__sync_fail(
				    R, -ENOENT, "install it, or sync without --require-check",
				    "%s is not installed: the file cannot be checked, and "
				    "--require-check refuses to write it unchecked",
				    checker);
			else if (xp__sync_warn(R,
					       "install it to have every file checked before it is "
					       "written",
					       "%s is not installed: written unchecked",
					       checker) < 0)
				r = -ENOMEM;
		} else if (c == -EINVAL) {
			R->res->check = XP_SYNC_CHECK_REFUSED;
			r = xp__sync_fail(R, -EINVAL,
					  "the file in place is the one of the last good sync",
					  "%s refused the new file, which was not written:\n%s",
					  checker, xp_buf_str(&why));
		} else {
			r = xp__sync_fail(R, c, NULL, "cannot run %s: %s", checker, strerror(-c));
		}
		xp_buf_release(&why);
	}
	if (r < 0 || R->o->dry_run)
		goto out;
	/* the candidates are checked and durable: their names, then the directories */
	struct xp_sync_file_rec put[2];
	memset(put, 0, sizeof(put));
	size_t n_put = 0;
	for (size_t i = 0; r == 0 && i < W->n; i++) {
		struct xp__sync_want *w = &W->v[i];
		if (w->keep)
			continue;
		if (w->act == XP_SYNC_WRITE) {
			if ((r = xp__sync_install(dirs[i], dfd[i], bases[i], -1)) == 0)
				r = xp__sync_dirs_sync(dirs[i]);
			if (r == 0) {
				free(cand[i]);
				cand[i] = NULL; /* renamed: nothing to remove */
			}
		}
		struct stat st;
		char stamp[96];
		if (r == 0 && stat(w->path, &st) < 0)
			r = -errno;
		if (r < 0) {
			xp__sync_fail(R, r, NULL, "cannot put '%s' in place: %s", w->path,
				      strerror(-r));
			break;
		}
		stamp_of(&st, stamp);
		put[n_put] =
		    (struct xp_sync_file_rec){.path = w->path, .owner = "", .stamp = stamp};
		memcpy(put[n_put].sha256, w->sha, 65);
		/* the stamp must outlive the loop */
		if (!(put[n_put].stamp = strdup(stamp)))
			r = -ENOMEM;
		n_put++;
	}
	if (r == 0) /* a file kept keeps its record */
		r = xp__sync_record(R, put, n_put, NULL, 0, R->t->subnet, options);
	for (size_t i = 0; i < n_put; i++)
		free(put[i].stamp);
out:
	for (size_t i = 0; i < 2; i++) {
		if (cand[i] && dfd[i] >= 0 && bases[i])
			xp__sync_unstage(dfd[i], bases[i], -1);
		free(cand[i]);
		xp__sync_dirs_free(dirs[i]);
	}
	xp__sync_tmpdir_remove(tmpdir);
	return r;
}

int xp__sync_dhcp(struct xp__sync_run *R)
{
	_cleanup_free_ char *subnet = NULL;
	char options[65];
	struct xp__sync_wants W = {0};
	struct xp_sync_file_rec *old = NULL;
	size_t n_old = 0;
	int r = 0;
	if (R->t->kind == XP_SYNC_KEA)
		r = kea_subnet(R, &subnet);
	else if (R->t->subnet && !(subnet = strdup(R->t->subnet)))
		r = -ENOMEM;
	if (r == 0)
		r = xp__sync_options_digest(R->t, subnet, NULL, options);
	if (r == 0 && R->rec.id)
		r = xp_sync_files_get(R->inv, R->rec.id, NULL, 0, &old, &n_old);
	if (r < 0)
		goto done;
	bool same_opts = R->rec.id && R->rec.options && strcmp(R->rec.options, options) == 0;
	if (!R->o->full && same_opts && R->clock.world <= R->rec.seq && R->n_changed == 0 &&
	    n_old == (R->t->path2 ? 2u : 1u) && stamps_hold(old, n_old)) {
		R->res->up_to_date = true;
		R->res->unchanged = n_old;
		xp__sync_end_read(R, &r);
		goto done;
	}
	R->res->rendered_all = true;
	r = render_dhcp(R, subnet, &W);
	if (r == 0)
		r = decide_includes(R, &W, old, n_old);
	xp__sync_end_read(R, &r);
	if (r == 0)
		r = write_includes(R, &W, subnet, options);
done:
	xp_sync_files_free(old, n_old);
	xp__sync_wants_release(&W);
	return r;
}
