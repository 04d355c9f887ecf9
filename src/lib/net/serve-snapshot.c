/*
 * serve-snapshot.c - the boot server's last good copy of a PostgreSQL inventory, so
 * that boot configs and distro files go on being served while the database is out of
 * reach (issue 20). After every reload the main loop asks for a snapshot; a thread of
 * its own (never the main loop nor libmicrohttpd's: a copy and a connection take
 * their time) opens a connection of its own, copies the inventory into a SQLite file
 * (xp_inv_copy: every table, read in one snapshot), syncs it and renames it over
 * STATE/snapshots/serve-PID.db. While the database is away the TFTP resolver (main
 * loop) and the HTTP thread each open that file and read it instead, read-only in
 * effect: nothing that writes is answered from it (the API and DHCP refuse).
 *
 * A file is renamed over only while no reader has the previous one open: SQLite's WAL
 * and its index are named after the path, and the first connection to a file rebuilds
 * the index, which is what a file with no reader gets. One file per process: two
 * servers sharing a state directory keep theirs apart; a killed server's is removed by
 * the next start (its pid is gone).
 *
 * Not here: when the database is away and back (serve.c), the copy (inventory/copy.c).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "xenprov/util.h"

/* The snapshots' directory in the state directory. */
static void snap_dir(const struct serve *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s/snapshots", s->opts->state_dir);
}

/* The database file and SQLite's companions of path removed. */
static void remove_db(const char *path)
{
	char p[4360];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", path);
	unlink(p);
}

/* Snapshots of servers that are gone (serve-PID.db, PID no longer running). */
static void remove_stale(const struct serve *s)
{
	char dir[4200];
	snap_dir(s, dir, sizeof(dir));
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		int pid, n = 0;
		if (sscanf(e->d_name, "serve-%d.db%n", &pid, &n) != 1 || n <= 0 || pid <= 0 ||
		    (e->d_name[n] && strcmp(e->d_name + n, ".tmp") != 0))
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char path[4500];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		remove_db(path);
	}
	closedir(d);
}

/* One snapshot: the inventory copied into tmp, then renamed over the snapshot unless a
 * reader has it open or the database went away meanwhile (then the copy is dropped:
 * the next reload asks again). */
static int take(struct serve *s, const char *tmp)
{
	struct snapshot *sn = &s->snap;
	int64_t t0 = xp__serve_now_ms();
	struct xp_inv *from = NULL, *to = NULL;
	char why[640], loc[4340];
	remove_db(tmp);
	snprintf(loc, sizeof(loc), "sqlite:%s", tmp);
	int r = xp_inv_open_raw(s->opts->state_dir, NULL, &from, why, sizeof(why));
	if (r == 0 && (r = xp_inv_open_at(s->opts->state_dir, loc, &to, why, sizeof(why))) < 0)
		snprintf(why, sizeof(why), "cannot make '%s': %s", tmp, strerror(-r));
	struct xp_inv_copied *counts = NULL;
	size_t n = 0;
	if (r == 0 && (r = xp_inv_copy(from, to, true, &counts, &n)) < 0)
		snprintf(why, sizeof(why), "%s", xp_inv_errmsg(to));
	int64_t rows = 0;
	for (size_t i = 0; i < n; i++)
		rows += counts[i].rows;
	free(counts);
	xp_inv_close(from);
	xp_inv_close(to); /* the last connection: SQLite folds its WAL into the file */
	if (r == 0)
		r = xp_fsync_path(tmp);
	if (r < 0) {
		remove_db(tmp);
		xp__serve_log(s, LOG_DEBUG, "the inventory's snapshot not taken: %s",
			      why[0] ? why : strerror(-r));
		return r;
	}
	pthread_mutex_lock(&sn->lock);
	bool swap = sn->readers == 0 && !atomic_load(&s->pg_away);
	if (swap && rename(tmp, sn->path) < 0) {
		r = -errno;
		swap = false;
	}
	if (swap) {
		sn->gen++;
		sn->taken = time(NULL);
	}
	pthread_mutex_unlock(&sn->lock);
	if (!swap) {
		remove_db(tmp);
		if (r < 0)
			xp__serve_log(s, LOG_WARNING,
				      "cannot keep the inventory's snapshot '%s': %s", sn->path,
				      strerror(-r));
		return r;
	}
	char dir[4200];
	snap_dir(s, dir, sizeof(dir));
	xp_fsync_path(dir);
	xp__serve_log(s, LOG_DEBUG, "the inventory's snapshot taken: %lld rows in %lld ms",
		      (long long)rows, (long long)(xp__serve_now_ms() - t0));
	return 0;
}

static void *snapshot_main(void *arg)
{
	struct serve *s = arg;
	struct snapshot *sn = &s->snap;
	char tmp[4320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", sn->path);
	pthread_mutex_lock(&sn->lock);
	for (;;) {
		while (!sn->want && !sn->stop)
			pthread_cond_wait(&sn->cond, &sn->lock);
		if (sn->stop)
			break;
		sn->want = false;
		pthread_mutex_unlock(&sn->lock);
		take(s, tmp);
		pthread_mutex_lock(&sn->lock);
	}
	pthread_mutex_unlock(&sn->lock);
	return NULL;
}

void xp__snapshot_init(struct serve *s)
{
	struct snapshot *sn = &s->snap;
	pthread_mutex_init(&sn->lock, NULL);
	pthread_cond_init(&sn->cond, NULL);
	sn->init = true;
}

int xp__snapshot_start(struct serve *s)
{
	struct snapshot *sn = &s->snap;
	char dir[4200];
	snap_dir(s, dir, sizeof(dir));
	int r = xp_mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	snprintf(sn->path, sizeof(sn->path), "%s/serve-%d.db", dir, (int)getpid());
	remove_stale(s);
	remove_db(sn->path);
	sn->want = true; /* the first: what setup read */
	r = -pthread_create(&sn->thread, NULL, snapshot_main, s);
	sn->running = r == 0;
	return r;
}

void xp__snapshot_request(struct serve *s)
{
	struct snapshot *sn = &s->snap;
	if (!sn->running)
		return;
	pthread_mutex_lock(&sn->lock);
	sn->want = true;
	pthread_cond_signal(&sn->cond);
	pthread_mutex_unlock(&sn->lock);
}

int xp__snapshot_open(struct serve *s, const struct xp_settings *st, struct snapshot_view *v)
{
	struct snapshot *sn = &s->snap;
	if (v->inv)
		return 0;
	pthread_mutex_lock(&sn->lock);
	int r = -ENOENT;
	if (sn->gen > 0) {
		char loc[4320];
		snprintf(loc, sizeof(loc), "sqlite:%s", sn->path);
		r = xp_inv_open_at(s->opts->state_dir, loc, &v->inv, NULL, 0);
		if (r == 0 && (r = xp__serve_open_boot(s, st, v->inv, true, &v->boot)) < 0) {
			xp_inv_close(v->inv);
			v->inv = NULL;
		}
		if (r == 0) {
			sn->readers++;
			v->taken = sn->taken;
		}
	}
	pthread_mutex_unlock(&sn->lock);
	return r;
}

void xp__snapshot_close(struct serve *s, struct snapshot_view *v)
{
	if (!v->inv)
		return;
	xp_boot_free(v->boot);
	xp_inv_close(v->inv);
	v->boot = NULL;
	v->inv = NULL;
	pthread_mutex_lock(&s->snap.lock);
	s->snap.readers--;
	pthread_mutex_unlock(&s->snap.lock);
}

void xp__snapshot_stop(struct serve *s)
{
	struct snapshot *sn = &s->snap;
	if (!sn->init)
		return;
	if (sn->running) {
		pthread_mutex_lock(&sn->lock);
		sn->stop = true;
		pthread_cond_signal(&sn->cond);
		pthread_mutex_unlock(&sn->lock);
		pthread_join(sn->thread, NULL);
		sn->running = false;
		remove_db(sn->path);
	}
	pthread_cond_destroy(&sn->cond);
	pthread_mutex_destroy(&sn->lock);
	sn->init = false;
}
