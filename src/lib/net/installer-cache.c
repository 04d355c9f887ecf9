/*
 * installer-cache.c - the autoinstall installer built by the server itself, on first
 * use, when the TFTP root has none of the operator's (ROOT/installer/kernel|initrd,
 * `xenprov installer build -o ROOT/installer`, which always wins).
 *
 * First use: a request for installer/kernel or installer/initrd, or sooner: the server
 * asks for the build at its start and at each reload while some system is marked to
 * install itself (xp__installer_cache_prewarm), so that a marked machine's first TFTP
 * request normally finds it built. The build (seconds:
 * modules copied, the initramfs compressed) runs on a thread of its own, never on the
 * network threads: those only signal it and answer -EAGAIN until it is done. An HTTP
 * request for the files then waits for the build (its connection suspended, woken when
 * the build ends: bounded by the build, at most WAITERS_MAX waiting, else 503 with
 * Retry-After); a TFTP request, which the event loop cannot hold, gets an error saying
 * the installer is being built (a temporary failure a PXE client's next boot gets
 * past). Built into a fresh directory
 * STATE/installer/.KEY.XXXXXX, which is renamed STATE/installer/KEY once whole (the
 * pair of files appears at once or not at all), then served; other keys' directories
 * are removed. KEY (xp_installer_key) comes from the identities of the kernel (the
 * newest /boot/vmlinuz-*), its modules.dep and every file the build would copy
 * (xenprov itself, libcurl, e2fsck, resize2fs, their libraries, busybox, the modules):
 * an update of any of them is another installer, built on its next use; the key is
 * worked out on the builder's thread (ldd runs), again at most once a minute while
 * one is served.
 *
 * The server may run as another user (--runas) by then: a kernel only root can read
 * (some distributions make /boot/vmlinuz-* 0600) cannot be built from, and the log
 * says so with the command that builds it ahead as root. A failed build is tried again
 * a minute later at the earliest, not at every request.
 *
 * Not here: what the installer holds (deploy/installer-build.c), serving (boot/).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "net/net-internal.h"
#include "xenprov/installer-build.h"

#define RETRY_MS    60000 /* a failed build, or the key looked at again */
#define WAITERS_MAX 64

enum ic_state { IC_NONE, IC_BUILDING, IC_READY, IC_FAILED };

struct installer_cache {
	struct serve *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop, want;
	bool idle; /* the thread waits for work (or has ended) */
	enum ic_state state;
	int64_t checked_ms; /* when the key was last worked out (ready or failed) */
	char root[4200];    /* STATE/installer */
	char dir[4300];	    /* STATE/installer/KEY, while ready */
	char tftp_root[4200];
	char user[256]; /* the server's --user, copied: a build may outlive the server */
	/* requests waiting for the build under way: woken (wake(arg)) when it ends */
	struct {
		void (*wake)(void *);
		void *arg;
	} waiters[WAITERS_MAX];
	size_t n_waiters;
	bool no_waits; /* the server is stopping: nobody waits any more */
};

/* Removes dir/name and what it holds (one level: kernel, initrd). */
static void remove_build(const char *dir, const char *name)
{
	char p[4400];
	static const char *const files[] = {"kernel", "initrd"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s/%s", dir, name, files[i]);
		unlink(p);
	}
	/* a build cut short leaves its temporary files too */
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	DIR *d = opendir(p);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	rmdir(p);
}

/* The other keys' builds, and temporary directories of builds cut short. */
static void remove_others(const char *root, const char *key)
{
	DIR *d = opendir(root);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, key))
			continue;
		remove_build(root, e->d_name);
	}
	if (d)
		closedir(d);
}

static bool built(const char *dir)
{
	char p[4400];
	struct stat st;
	snprintf(p, sizeof(p), "%s/kernel", dir);
	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	snprintf(p, sizeof(p), "%s/initrd", dir);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Wakes every waiting request. Under c->lock. */
static void wake_all(struct installer_cache *c)
{
	for (size_t i = 0; i < c->n_waiters; i++)
		c->waiters[i].wake(c->waiters[i].arg);
	c->n_waiters = 0;
}

/* The build (or the one there already) for the current key into c->dir. 0 or -errno,
 * logged (but the last line, when the server stopped meanwhile: done, below, in
 * builder_main, into *done). */
static int build(struct installer_cache *c, char *dir, size_t size, char *done, size_t dsize)
{
	struct serve *s = c->s;
	struct xp_installer_opts o = {0};
	struct xp_diags d = {0};
	char key[17], kernel[4096];
	int r = xp_installer_key(&o, key, kernel, sizeof(kernel), &d);
	if (r == 0) {
		snprintf(dir, size, "%s/%s", c->root, key);
		if (built(dir)) {
			xp_diags_release(&d);
			return 0;
		}
	}
	char tmp[4300] = "";
	bool made = false;
	if (r == 0 && (mkdir(c->root, 0755) < 0 && errno != EEXIST))
		r = xp_diags_fail(&d, -errno, c->root, NULL, NULL, "cannot make it: %s",
				  strerror(errno));
	if (r == 0) {
		snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", c->root, key);
		if (!(made = mkdtemp(tmp) != NULL))
			r = xp_diags_fail(&d, -errno, c->root, NULL, NULL, "cannot write in it: %s",
					  strerror(errno));
	}
	struct xp_installer_result res;
	int64_t t0 = xp__serve_now_ms();
	if (r == 0) {
		/* under the lock: the server (s) is not freed while it is held, and a
		 * stopped one is told nothing */
		pthread_mutex_lock(&c->lock);
		if (!c->stop)
			xp__serve_log(s, LOG_INFO,
				      "installer: building it for kernel %s, into %s",
				      kernel, dir);
		pthread_mutex_unlock(&c->lock);
		r = xp_installer_build(&o, tmp, &res, &d);
	}
	if (r == 0) {
		chmod(tmp, 0755);
		int dfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		/* whole or not at all; another server's build of the same key may have won
		 * (then ours goes), or a partial one is in the way (then it goes) */
		int e = rename(tmp, dir) < 0 ? errno : 0;
		if ((e == EEXIST || e == ENOTEMPTY) && built(dir)) {
			remove_build(c->root, tmp + strlen(c->root) + 1);
			made = false;
			e = 0;
		} else if (e == EEXIST || e == ENOTEMPTY) {
			remove_build(c->root, dir + strlen(c->root) + 1);
			e = rename(tmp, dir) < 0 ? errno : 0;
		}
		if (e)
			r = xp_diags_fail(&d, -e, dir, NULL, NULL, "cannot put it in place: %s",
					  strerror(e));
		else
			made = false;
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	if (r < 0) {
		if (made)
			remove_build(c->root, tmp + strlen(c->root) + 1);
		const char *user = c->user[0] ? c->user : NULL;
		bool denied = r == -EACCES || r == -EPERM;
		snprintf(done, dsize, "installer: cannot build it%s%s%s: %s%s%s%s%s%s",
			 user ? " as user '" : "", user ? user : "", user ? "'" : "",
			 d.n && d.v[0].file ? d.v[0].file : "", d.n && d.v[0].file ? ": " : "",
			 d.n ? d.v[0].msg : strerror(-r),
			 denied ? "; build it ahead as root: xenprov installer build -o " : "",
			 denied ? c->tftp_root : "", denied ? "/installer" : "");
		xp_diags_release(&d);
		return r;
	}
	xp_diags_release(&d);
	pthread_mutex_lock(&c->lock);
	bool stopped = c->stop; /* then the next server's builds are not ours to remove */
	pthread_mutex_unlock(&c->lock);
	if (!stopped)
		remove_others(c->root, key);
	snprintf(done, dsize,
		 "installer: built for kernel %s in %.1f s (%zu modules, %zu libraries, "
		 "initramfs %llu bytes): %s%s%s%s",
		 res.release, (double)(xp__serve_now_ms() - t0) / 1000, res.n_modules, res.n_libs,
		 res.initrd_size, dir,
		 res.sanitized
		     ? "; this xenprov is a sanitizer (dev) build: the installer "
		       "carries libasan and libubsan; run a release build's xenprov serve, "
		       "or build the installer with one: build/release/xenprov installer "
		       "build -o "
		     : "",
		 res.sanitized ? c->tftp_root : "", res.sanitized ? "/installer" : "");
	return 0;
}

static void *builder_main(void *arg)
{
	struct installer_cache *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->want && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stop)
			break;
		c->want = false;
		c->idle = false;
		bool was_ready = c->state == IC_READY;
		if (!was_ready)
			c->state = IC_BUILDING;
		pthread_mutex_unlock(&c->lock);
		char dir[4300] = "", done[8192] = "";
		int r = build(c, dir, sizeof(dir), done, sizeof(done));
		pthread_mutex_lock(&c->lock);
		if (c->stop) /* the server is gone (see xp__installer_cache_free) */
			break;
		if (done[0] && (r < 0 || !was_ready || strcmp(dir, c->dir) != 0))
			xp__serve_log(c->s, r < 0 ? LOG_ERR : LOG_INFO, "%s", done);
		c->checked_ms = xp__serve_now_ms();
		if (r == 0) {
			snprintf(c->dir, sizeof(c->dir), "%s", dir);
			c->state = IC_READY;
		} else if (!was_ready) {
			c->state = IC_FAILED;
		} /* else: the one served goes on being served */
		wake_all(c);
	}
	c->idle = true;
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int xp__installer_cache_new(struct serve *s, const char *tftp_root, struct installer_cache **ret)
{
	struct installer_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->s = s;
	c->idle = true;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	snprintf(c->root, sizeof(c->root), "%s/installer", s->opts->state_dir);
	snprintf(c->tftp_root, sizeof(c->tftp_root), "%s", tftp_root);
	snprintf(c->user, sizeof(c->user), "%s", s->opts->user ? s->opts->user : "");
	*ret = c;
	return 0;
}

int xp__installer_cache_start(struct installer_cache *c)
{
	int r = pthread_create(&c->thread, NULL, builder_main, c);
	c->running = r == 0;
	return -r;
}

void xp__installer_cache_stop_waits(struct installer_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->no_waits = true;
	wake_all(c);
	pthread_mutex_unlock(&c->lock);
}

void xp__installer_cache_free(struct installer_cache *c)
{
	if (!c)
		return;
	if (c->running) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		bool busy = !c->idle;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		if (busy) {
			/* a build under way (tens of seconds) does not hold the stop up: the
			 * thread is left to the process's end, touching nothing of the
			 * server's once it sees stop (its temporary directory is removed by
			 * the next server's build); c stays for it */
			pthread_detach(c->thread);
			return;
		}
		pthread_join(c->thread, NULL);
	}
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Asks for a build (or a look at the key) unless one is under way, or one failed or
 * was checked less than RETRY_MS ago. Under c->lock. */
static void want(struct installer_cache *c, int64_t now)
{
	if (!c->running || c->state == IC_BUILDING || c->want)
		return;
	if ((c->state == IC_READY || c->state == IC_FAILED) && now - c->checked_ms < RETRY_MS)
		return;
	c->want = true;
	pthread_cond_signal(&c->cond);
}

void xp__installer_cache_prewarm(struct installer_cache *c)
{
	/* the operator's own installer is served instead: nothing to build */
	char p[4300];
	snprintf(p, sizeof(p), "%s/installer/kernel", c->tftp_root);
	if (access(p, F_OK) == 0)
		return;
	pthread_mutex_lock(&c->lock);
	want(c, xp__serve_now_ms());
	pthread_mutex_unlock(&c->lock);
}

int xp__installer_cache_wait(struct installer_cache *c, void (*wake)(void *), void *arg)
{
	int r = -EALREADY;
	pthread_mutex_lock(&c->lock);
	if (c->no_waits)
		r = -ESHUTDOWN;
	else if ((c->state == IC_BUILDING || c->want) && c->n_waiters < WAITERS_MAX) {
		c->waiters[c->n_waiters].wake = wake;
		c->waiters[c->n_waiters++].arg = arg;
		r = 0;
	} else if (c->state == IC_BUILDING || c->want) {
		r = -EBUSY;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

int xp__installer_cache_file(void *ctx, const char *file, int *fd)
{
	struct installer_cache *c = ctx;
	int r = -EAGAIN;
	pthread_mutex_lock(&c->lock);
	want(c, xp__serve_now_ms());
	if (file && c->state == IC_READY) {
		char p[4400];
		snprintf(p, sizeof(p), "%s/%s", c->dir, file);
		*fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		r = *fd >= 0 ? 0 : errno == ENOENT ? -EAGAIN : -errno;
		if (r == -EAGAIN) { /* removed behind the server's back: built again */
			c->state = IC_NONE;
			want(c, xp__serve_now_ms());
		}
	} else if (c->state == IC_FAILED) {
		r = -ENOENT; /* logged when it failed */
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}
