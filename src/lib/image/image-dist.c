/*
 * image-dist.c - images of distributions without a hand-made tarball
 * (`xenprov image build --dist debian:SUITE`): Debian's mmdebstrap makes the root and
 * writes it as a tar on a pipe, which the image builder (image-build.c) reads once, as
 * it comes: no temporary tarball, no unpacked tree of ours.
 *
 * One pass needs the filesystem's size before the first byte of the tar. mmdebstrap
 * runs its customize hooks on the finished root before its cleanup and its tar, so a
 * hook of ours lists the root (find -printf, dist-text.h's XP_MANIFEST_FORMAT) into a
 * private directory (mkdtemp, 0700); the first byte on the pipe says the list is
 * complete, and dist-manifest.c sizes the filesystem from it with the estimator of
 * xp_fs_estimate. Then the pipe is built into the image. mmdebstrap's standard error is
 * read by a thread of its own from the start (a full pipe would stall it): its "I:"
 * lines are the progress shown, its last lines the error reported when it fails.
 *
 * The cache key is the distribution's identity (dist-text.c: suite, variant, sorted
 * packages, mirror, and the suite's Release Date: from the mirror's InRelease, fetched
 * by apt's own apt-helper, so apt's proxy and authentication settings apply as they do
 * for mmdebstrap's apt) plus the build options, so a second identical build is a cache
 * hit that never starts mmdebstrap.
 *
 * mmdebstrap runs in a process group of its own (util/spawn.c): when the build fails
 * on our side, SIGTERM to the group makes it unmount, remove its own temporary root and
 * exit (its parent waits for the setup process), then whatever is left is killed.
 *
 * Not here: the text it reads (dist-text.c), the manifest (dist-manifest.c), the build
 * itself (image-build.c, extfs-build.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/dist-text.h"
#include "image/image-build.h"
#include "xenprov/image.h"

#define DEFAULT_MIRROR "http://deb.debian.org/debian"
#define APT_HELPER     "/usr/lib/apt/apt-helper"
/* /dev entries mmdebstrap writes into the tar itself (about 15), with room to spare */
#define DEV_ENTRIES    64
/* What is kept of mmdebstrap's standard error for the error report. */
#define TAIL_LINES     40
#define LINE_MAX_KEPT  512
/* How long mmdebstrap is given to clean up after SIGTERM. */
#define STOP_GRACE     60

bool xp_dist_valid(const char *spec)
{
	return xp_dist_suite(spec) != NULL;
}

bool xp_dist_packages_valid(const char *list)
{
	char **v = NULL;
	size_t n = 0;
	int r = xp_dist_pkgs_add(list, "packages", &v, &n, NULL);
	xp_dist_pkgs_free(v, n);
	return r == 0;
}

void xp_dist_release(struct xp_dist *dist)
{
	xp_dist_pkgs_free(dist->packages, dist->npackages);
	free(dist->mirror);
	memset(dist, 0, sizeof(*dist));
}

static double seconds_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* ---- our private directory ----------------------------------------------------------- */

/* A fresh 0700 directory in $TMPDIR (or /tmp) for the files of one run. */
static int private_dir(char dir[PATH_MAX], struct xp_diags *d)
{
	const char *t = getenv("TMPDIR");
	if (!t || t[0] != '/')
		t = "/tmp";
	if (snprintf(dir, PATH_MAX, "%s/xenprov-dist.XXXXXX", t) >= PATH_MAX)
		return xp_diags_fail(d, -ENAMETOOLONG, t, "tmpdir", NULL, "path too long");
	if (!mkdtemp(dir))
		return xp_diags_fail(d, -errno, t, "tmpdir", "set TMPDIR to a writable directory",
				     "cannot make a temporary directory: %s", strerror(errno));
	return 0;
}

/* Removes the directory and the files in it (it holds nothing else of ours: a
 * directory inside is left, and so is the directory then, rather than recursing into
 * what is not ours). */
static void private_dir_remove(const char *dir)
{
	if (!dir[0])
		return;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		DIR *dh = fdopendir(fd);
		if (dh) {
			struct dirent *e;
			while ((e = readdir(dh)))
				if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
					unlinkat(dirfd(dh), e->d_name, 0);
			closedir(dh);
		} else {
			close(fd);
		}
	}
	rmdir(dir);
}

/* ---- resolving: mirror and release date -------------------------------------------- */

/* The suite's InRelease from the mirror into the private directory, by apt-helper. */
static int fetch_release(const struct xp_dist *dist, const char *dir, char iso[21],
			 struct xp_diags *d)
{
	char *url = NULL, *dest = NULL;
	if (asprintf(&url, "%s/dists/%s/InRelease", dist->mirror, dist->suite) < 0)
		return -ENOMEM;
	if (asprintf(&dest, "%s/InRelease", dir) < 0) {
		free(url);
		return -ENOMEM;
	}
	/* apt-helper as root hands the download to the user _apt, which cannot enter our
	 * 0700 directory: it would warn and download as root anyway, so say so at once.
	 * The timeouts bound a mirror that does not answer. */
	char *argv[16];
	int n = 0;
	argv[n++] = APT_HELPER;
	argv[n++] = "-o";
	argv[n++] = "Acquire::http::Timeout=30";
	argv[n++] = "-o";
	argv[n++] = "Acquire::https::Timeout=30";
	argv[n++] = "-o";
	argv[n++] = "Acquire::Retries=0";
	if (geteuid() == 0) {
		argv[n++] = "-o";
		argv[n++] = "APT::Sandbox::User=root";
	}
	argv[n++] = "download-file";
	argv[n++] = url;
	argv[n++] = dest;
	argv[n] = NULL;
	struct xp_buf out = XP_BUF_INIT;
	int r = xp_spawn_wait(argv, NULL, &out);
	if (r != 0) {
		/* apt's own message, its last line ("E: Failed to fetch ...") */
		const char *msg = xp_buf_str(&out), *last = strrchr(msg, '\n');
		xp_diags_add(d, XP_SEV_WARNING, url, 0, 0, "release", NULL,
			     "the image is built, but not cached",
			     "cannot learn the release date of %s: %s", dist->suite,
			     r < 0 ? strerror(-r) : last ? last + 1 : *msg ? msg : "apt-helper failed");
		r = r < 0 ? r : -EIO;
	}
	xp_buf_release(&out);
	char *data = NULL;
	size_t len = 0;
	if (r == 0) {
		r = xp_read_file(dest, XP_RELEASE_MAX, &data, &len);
		if (r == -EFBIG)
			xp_diags_add(d, XP_SEV_WARNING, url, 0, 0, "release", NULL, NULL,
				     "larger than %u MiB: not a Release file; the image is not "
				     "cached",
				     XP_RELEASE_MAX >> 20);
		else if (r < 0)
			xp_diags_add(d, XP_SEV_WARNING, dest, 0, 0, "release", NULL, NULL,
				     "cannot read: %s", strerror(-r));
	}
	if (r == 0) {
		struct xp_diags pd;
		xp_diags_init(&pd);
		r = xp_release_date(data, len, dist->suite, url, iso, &pd);
		/* a mirror that serves something else: the build goes on, uncached */
		for (size_t i = 0; i < pd.n; i++)
			xp_diags_add(d, XP_SEV_WARNING, pd.v[i].file, 0, 0, pd.v[i].code, NULL,
				     "the image is built, but not cached", "%s", pd.v[i].msg);
		xp_diags_release(&pd);
	}
	free(data);
	unlink(dest);
	free(url);
	free(dest);
	return r;
}

/* The SHA-256 (hex) of the identity text of dist with the release date `date`. */
static int identity_of(const struct xp_dist *dist, const char *date, char hex[65])
{
	struct xp_buf b = XP_BUF_INIT;
	unsigned char digest[32];
	int r = xp_dist_identity(&b, dist->spec, dist->variant, dist->packages, dist->npackages,
				 dist->mirror, date);
	if (r == 0)
		r = xp_sha256(b.s, b.len, digest);
	xp_buf_release(&b);
	if (r == 0)
		xp_sha256_hex(digest, hex);
	return r;
}

int xp_dist_resolve(const struct xp_dist_opts *o, struct xp_dist *out, struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	const char *suite = xp_dist_suite(o->dist);
	if (!suite)
		return xp_diags_fail(d, -EINVAL, NULL, "dist", "debian:bookworm or debian:trixie",
				     "unknown distribution '%s'", o->dist ? o->dist : "");
	const char *variant = o->variant ? o->variant : "minbase";
	if (strcmp(variant, "minbase") != 0 && strcmp(variant, "standard") != 0)
		return xp_diags_fail(d, -EINVAL, NULL, "variant", "minbase or standard",
				     "unknown variant '%s'", variant);
	snprintf(out->spec, sizeof(out->spec), "%s", o->dist);
	snprintf(out->suite, sizeof(out->suite), "%s", suite);
	snprintf(out->variant, sizeof(out->variant), "%s", variant);
	int r = 0;
	if (o->include && *o->include)
		r = xp_dist_pkgs_add(o->include, "include", &out->packages, &out->npackages, d);
	if (r == 0 && o->install && *o->install)
		r = xp_dist_pkgs_add(o->install, "install", &out->packages, &out->npackages, d);
	if (r < 0)
		goto fail;
	xp_dist_pkgs_sort(out->packages, &out->npackages);
	if (o->mirror) {
		r = xp_dist_mirror_norm(o->mirror, &out->mirror);
		if (r == -EINVAL)
			xp_diags_fail(d, r, NULL, "mirror",
				      "an http://, https:// or file:/ URI of a Debian mirror",
				      "not a mirror URI: '%.200s'", o->mirror);
	} else {
		r = xp_apt_mirror_find(o->etc_apt ? o->etc_apt : "/etc/apt", &out->mirror, d);
		if (r == 0 && !out->mirror && !(out->mirror = strdup(DEFAULT_MIRROR)))
			r = -ENOMEM;
	}
	if (r < 0)
		goto fail;

	char dir[PATH_MAX] = "";
	r = private_dir(dir, d);
	if (r < 0)
		goto fail;
	r = fetch_release(out, dir, out->release_date, d);
	private_dir_remove(dir);
	if (r == -ENOMEM)
		goto fail;
	if (r < 0)
		out->release_date[0] = 0;
	r = identity_of(out, "", out->undated);
	if (r == 0 && out->release_date[0])
		r = identity_of(out, out->release_date, out->identity);
	if (r < 0)
		goto fail;
	return 0;
fail:
	xp_dist_release(out);
	return r;
}

/* ---- how mmdebstrap may run --------------------------------------------------------- */

/* Whether `who` (a name or a uid) has an entry in /etc/subuid or /etc/subgid
 * (subuid(5): NAME:START:COUNT). */
static bool has_subids(const char *file, const char *name, uid_t id)
{
	char *data = NULL;
	size_t len = 0;
	if (xp_read_file(file, 4u << 20, &data, &len) < 0)
		return false;
	char ids[24];
	snprintf(ids, sizeof(ids), "%u", (unsigned)id);
	bool found = false;
	for (char *save = NULL, *l = strtok_r(data, "\n", &save); l && !found;
	     l = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(l, ":");
		if (l[n] != ':')
			continue;
		found = (name && strlen(name) == n && strncmp(l, name, n) == 0) ||
			(strlen(ids) == n && strncmp(l, ids, n) == 0);
	}
	free(data);
	return found;
}

/* Can this process make a user namespace? (A child tries; the kernel, a sysctl or a
 * security module may refuse.) */
static bool userns_works(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* mmdebstrap's --mode: root as root; unshare where an unprivileged user may map the
 * ids a root needs (mmdebstrap(1) "unshare": user namespaces, newuidmap/newgidmap of
 * uidmap, ranges in /etc/subuid and /etc/subgid); else -EPERM with the reason. */
static int pick_mode(const char **mode, struct xp_diags *d)
{
	if (geteuid() == 0) {
		*mode = "root";
		return 0;
	}
	*mode = "unshare";
	uid_t uid = getuid();
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp);
	const char *name = pwp ? pwp->pw_name : NULL;
	const char *why = NULL;
	char *p = NULL;
	bool maps = xp_program_path("newuidmap", &p) == 0;
	free(p);
	maps = maps && xp_program_path("newgidmap", &p) == 0;
	if (maps)
		free(p);
	if (!userns_works())
		why = "this system does not let unprivileged users make user namespaces";
	else if (!maps)
		why = "newuidmap and newgidmap (package uidmap) are not installed";
	else if (!has_subids("/etc/subuid", name, uid) || !has_subids("/etc/subgid", name, uid))
		why = "the user has no subordinate id ranges in /etc/subuid and /etc/subgid";
	if (!why)
		return 0;
	return xp_diags_fail(d, -EPERM, NULL, "mmdebstrap",
			     "run it as root, or give the user subordinate ids: apt-get install "
			     "uidmap; usermod --add-subuids 100000-165535 --add-subgids "
			     "100000-165535 USER",
			     "mmdebstrap cannot make a root without root here: %s", why);
}

/* ---- running mmdebstrap --------------------------------------------------------------- */

struct run {
	pid_t pid;
	int out, err;
	bool reaped;
	int status;
	pthread_t reader;
	bool reader_started;
	pthread_mutex_t lock;
	char *lines[TAIL_LINES]; /* the last lines of standard error, a ring */
	size_t nlines, first;
	char phase[LINE_MAX_KEPT]; /* the last "I:" line */
	char tempdir[LINE_MAX_KEPT]; /* mmdebstrap's temporary root, from its "I:" line */
	unsigned phase_seq;
	struct timespec start;
	double seconds;
};

static void keep_line(struct run *r, const char *l, size_t n)
{
	if (n && l[n - 1] == '\r')
		n--;
	if (n >= LINE_MAX_KEPT)
		n = LINE_MAX_KEPT - 1;
	char *copy = strndup(l, n);
	pthread_mutex_lock(&r->lock);
	if (copy) {
		size_t at = (r->first + r->nlines) % TAIL_LINES;
		if (r->nlines == TAIL_LINES) {
			free(r->lines[r->first]);
			r->first = (r->first + 1) % TAIL_LINES;
			at = (r->first + TAIL_LINES - 1) % TAIL_LINES;
		} else {
			r->nlines++;
		}
		r->lines[at] = copy;
	}
	if (n > 3 && strncmp(l, "I: ", 3) == 0) {
		memcpy(r->phase, l, n);
		r->phase[n] = 0;
		r->phase_seq++;
		/* "I: using /tmp/mmdebstrap.XXXXXXXXXX as tempdir" (mmdebstrap's own
		 * words): kept, to make sure it is gone when mmdebstrap was stopped */
		static const char pre[] = "I: using /", post[] = " as tempdir";
		size_t a = sizeof(pre) - 2, b = sizeof(post) - 1;
		if (n > a + b && strncmp(l, pre, a + 1) == 0 && strncmp(l + n - b, post, b) == 0) {
			char *dir = r->tempdir;
			memcpy(dir, l + a, n - a - b);
			dir[n - a - b] = 0;
			const char *base = strrchr(dir, '/');
			if (strncmp(base, "/mmdebstrap.", 12) != 0 || strstr(dir, "/../") ||
			    strchr(base + 12, '/') || strlen(base) < 13)
				dir[0] = 0;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

/* The standard error reader: lines into the ring, to the end of the pipe. */
static void *read_stderr(void *arg)
{
	struct run *r = arg;
	char buf[4096], line[LINE_MAX_KEPT];
	size_t ln = 0;
	for (;;) {
		ssize_t n = xp_read_some(r->err, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				keep_line(r, line, ln);
				ln = 0;
			} else if (ln < sizeof(line) - 1) {
				/* control bytes other than tab would reach a terminal: kept as '?'
				 * (a line longer than kept is cut) */
				unsigned char c = (unsigned char)buf[i];
				line[ln++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
			}
		}
	}
	if (ln)
		keep_line(r, line, ln);
	return NULL;
}

/* mmdebstrap's failure: its exit status and its own error lines ("E: ..."), else its
 * last lines. */
static int report_failure(struct run *r, struct xp_diags *d)
{
	struct xp_buf b = XP_BUF_INIT;
	if (r->status >= XP_SPAWN_SIGNALED)
		xp_buf_addf(&b, "mmdebstrap was killed by signal %d", r->status - XP_SPAWN_SIGNALED);
	else
		xp_buf_addf(&b, "mmdebstrap failed (exit status %d)", r->status);
	pthread_mutex_lock(&r->lock);
	size_t errs = 0;
	for (size_t i = 0; i < r->nlines; i++)
		errs += strncmp(r->lines[(r->first + i) % TAIL_LINES], "E: ", 3) == 0;
	size_t from = errs ? 0 : r->nlines > 6 ? r->nlines - 6 : 0;
	xp_buf_adds(&b, from < r->nlines ? ":" : "");
	for (size_t i = from; i < r->nlines; i++) {
		const char *l = r->lines[(r->first + i) % TAIL_LINES];
		if (!errs || strncmp(l, "E: ", 3) == 0)
			xp_buf_addf(&b, "\n    %s", l);
	}
	pthread_mutex_unlock(&r->lock);
	xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "mmdebstrap", NULL, NULL, "%s", xp_buf_str(&b));
	xp_buf_release(&b);
	return -EIO;
}

/* Reaps mmdebstrap after its output ended: 0 if it succeeded, else its failure. */
static int finish(struct run *r, struct xp_diags *d)
{
	if (!r->reaped) {
		r->status = xp_spawn_reap(r->pid);
		r->reaped = true;
		r->seconds = seconds_since(&r->start);
	}
	if (r->reader_started) {
		pthread_join(r->reader, NULL);
		r->reader_started = false;
	}
	if (r->status < 0)
		return xp_diags_fail(d, r->status, NULL, "mmdebstrap", NULL,
				     "cannot wait for mmdebstrap: %s", strerror(-r->status));
	return r->status ? report_failure(r, d) : 0;
}

static int ready(void *rud, struct xp_diags *d)
{
	return finish(rud, d);
}

/* Is anything mounted at or below dir (/proc/self/mountinfo, proc(5))? */
static bool mounts_below(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return true;
	size_t n = strlen(dir);
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	while (!found && getline(&line, &cap, f) > 0) {
		/* the fifth field is the mount point, octal-escaped (\040 for a space);
		 * our directory names hold nothing that is escaped */
		char *save = NULL, *fld = strtok_r(line, " ", &save);
		for (int i = 1; fld && i < 5; i++)
			fld = strtok_r(NULL, " ", &save);
		found = fld && strncmp(fld, dir, n) == 0 && (fld[n] == 0 || fld[n] == '/');
	}
	free(line);
	fclose(f);
	return found;
}

/* After mmdebstrap ended: its temporary root, if it is still there (it removes it
 * itself, also when it fails or is stopped; a SIGKILL at the end of the grace would
 * leave it), removed on its filesystem alone and never with anything mounted in it. */
static void remove_leftover(struct run *r, struct xp_diags *d)
{
	struct stat st;
	if (!r->tempdir[0] || lstat(r->tempdir, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	int rc = -EBUSY;
	if (!mounts_below(r->tempdir)) {
		char *argv[] = {"rm", "-rf", "--one-file-system", "--preserve-root", r->tempdir,
				NULL};
		rc = xp_spawn_wait(argv, NULL, NULL);
	}
	if (rc != 0)
		xp_diags_add(d, XP_SEV_WARNING, r->tempdir, 0, 0, "mmdebstrap", NULL,
			     "remove it when nothing is mounted in it",
			     "mmdebstrap's temporary root was left behind");
}

/* Ends a run that did not finish: mmdebstrap and its group stopped (what it still
 * writes on its output is read and dropped, so that it ends as after ^C), the reader
 * joined, its temporary root gone. */
static void stop(struct run *r, struct xp_diags *d)
{
	bool stopped = false;
	if (r->pid > 0 && !r->reaped) {
		r->status = xp_spawn_stop(r->pid, r->out, STOP_GRACE);
		r->reaped = true;
		r->seconds = seconds_since(&r->start);
		stopped = true;
	}
	if (r->out >= 0)
		close(r->out);
	r->out = -1;
	if (r->reader_started) {
		pthread_join(r->reader, NULL);
		r->reader_started = false;
	}
	if (stopped)
		remove_leftover(r, d);
}

static void run_release(struct run *r, struct xp_diags *d)
{
	stop(r, d);
	if (r->err >= 0)
		close(r->err);
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[(r->first + i) % TAIL_LINES]);
	pthread_mutex_destroy(&r->lock);
}

/* The customize hook: the finished root listed into `manifest`, without what
 * mmdebstrap's cleanup removes before its tar (apt's lists and caches, downloaded
 * packages, /tmp) and /dev (its entries are written into the tar by mmdebstrap), on one
 * filesystem (not the /proc, /sys and /dev mounted in it while it runs). */
static int hook_command(struct xp_buf *b, const char *manifest)
{
	xp_buf_adds(b, "cd \"$1\" && exec find . -xdev \\( -path './dev/*' -o -path './tmp/*'"
		       " -o -path './var/cache/apt/archives/*.deb' -o -path './var/cache/apt/*.bin'"
		       " -o \\( -path './var/lib/apt/lists/*' ! -name lock ! -name partial \\) \\)"
		       " -prune -o -printf '" XP_MANIFEST_FORMAT "' > ");
	xp_buf_add_squoted(b, manifest);
	return xp_buf_error(b);
}

/* Starts mmdebstrap, its output on a pipe. */
static int start(struct run *r, const struct xp_dist *dist, const char *manifest,
		 struct xp_diags *d)
{
	const char *mode;
	int rc = pick_mode(&mode, d);
	if (rc < 0)
		return rc;
	struct xp_buf hook = XP_BUF_INIT, inc = XP_BUF_INIT, modeopt = XP_BUF_INIT,
		      variant = XP_BUF_INIT, hookopt = XP_BUF_INIT;
	rc = hook_command(&hook, manifest);
	xp_buf_addf(&modeopt, "--mode=%s", mode);
	xp_buf_addf(&variant, "--variant=%s", dist->variant);
	xp_buf_addf(&hookopt, "--customize-hook=%s", xp_buf_str(&hook));
	xp_buf_adds(&inc, "--include=");
	for (size_t i = 0; i < dist->npackages; i++)
		xp_buf_addf(&inc, "%s%s", i ? "," : "", dist->packages[i]);
	if (rc == 0 && (xp_buf_error(&inc) || xp_buf_error(&modeopt) || xp_buf_error(&variant) ||
			xp_buf_error(&hookopt)))
		rc = -ENOMEM;
	if (rc == 0) {
		char *argv[12];
		int n = 0;
		argv[n++] = "mmdebstrap";
		argv[n++] = modeopt.s;
		argv[n++] = variant.s;
		argv[n++] = "--format=tar";
		if (dist->npackages)
			argv[n++] = inc.s;
		argv[n++] = hookopt.s;
		argv[n++] = (char *)dist->suite;
		argv[n++] = "-";
		argv[n++] = dist->mirror;
		argv[n] = NULL;
		clock_gettime(CLOCK_MONOTONIC, &r->start);
		rc = xp_spawn_piped(argv, NULL, &r->pid, &r->out, &r->err);
		if (rc == -ENOENT)
			xp_diags_fail(d, rc, NULL, "mmdebstrap", "apt-get install mmdebstrap",
				      "mmdebstrap is not installed");
		else if (rc < 0)
			xp_diags_fail(d, rc, NULL, "mmdebstrap", NULL, "cannot run mmdebstrap: %s",
				      strerror(-rc));
	}
	if (rc == 0) {
		int e = pthread_create(&r->reader, NULL, read_stderr, r);
		if (e) {
			rc = -e;
		} else {
			r->reader_started = true;
		}
	}
	xp_buf_release(&hook);
	xp_buf_release(&inc);
	xp_buf_release(&modeopt);
	xp_buf_release(&variant);
	xp_buf_release(&hookopt);
	return rc;
}

/* Until the tar starts (or the pipe ends): mmdebstrap's "I:" lines to phase. 1 when
 * there is output, 0 when the pipe ended without any. */
static int wait_output(struct run *r, xp_phase_fn phase, void *ud)
{
	unsigned seen = 0;
	for (;;) {
		struct pollfd p = {.fd = r->out, .events = POLLIN};
		int n = poll(&p, 1, 100);
		if (n < 0 && errno != EINTR)
			return -errno;
		char line[LINE_MAX_KEPT];
		bool show = false;
		pthread_mutex_lock(&r->lock);
		if (r->phase_seq != seen) {
			seen = r->phase_seq;
			memcpy(line, r->phase, sizeof(line));
			show = true;
		}
		pthread_mutex_unlock(&r->lock);
		if (show && phase)
			phase(ud, line);
		if (n > 0 && (p.revents & POLLIN))
			return 1;
		if (n > 0 && (p.revents & (POLLHUP | POLLERR)))
			return 0;
	}
}

int xp_image_build_dist(const struct xp_image_opts *o, const struct xp_dist *dist,
			xp_progress_fn progress, xp_phase_fn phase, void *ud,
			struct xp_image_result *res, struct xp_diags *diags)
{
	memset(res, 0, sizeof(*res));
	if (!o->output || !dist || !dist->mirror)
		return -EINVAL;
	int rc = xp__image_check_opts(o, diags);
	if (rc < 0)
		return rc;
	if (o->cache_dir && dist->identity[0] &&
	    (rc = xp__image_lookup(o, dist->identity, res, diags)) <= 0)
		return rc;

	char dir[PATH_MAX] = "", manifest[PATH_MAX + 16];
	rc = private_dir(dir, diags);
	if (rc < 0)
		return rc;
	snprintf(manifest, sizeof(manifest), "%s/manifest", dir);
	struct run r = {.pid = -1, .out = -1, .err = -1};
	pthread_mutex_init(&r.lock, NULL);
	rc = start(&r, dist, manifest, diags);
	if (rc == 0) {
		res->mmdebstrap_ran = true;
		rc = wait_output(&r, phase, ud);
		if (rc == 0) {
			/* no tar at all: mmdebstrap failed (or says nothing of why) */
			rc = finish(&r, diags);
			if (rc == 0)
				rc = xp_diags_fail(diags, -EIO, NULL, "mmdebstrap", NULL,
						   "mmdebstrap wrote no tar");
		} else if (rc < 0) {
			xp_diags_fail(diags, rc, NULL, "mmdebstrap", NULL,
				      "cannot read mmdebstrap's output: %s", strerror(-rc));
		} else {
			rc = 0;
		}
	}

	/* the size, from the list the hook made before the tar began */
	char *data = NULL;
	size_t len = 0;
	uint64_t fs_bytes = 0, need = 0;
	if (rc == 0) {
		rc = xp_read_file(manifest, XP_MANIFEST_MAX, &data, &len);
		if (rc < 0)
			xp_diags_fail(diags, rc, manifest, "manifest", NULL,
				      "cannot read the list of the root mmdebstrap made: %s",
				      strerror(-rc));
	}
	if (rc == 0)
		rc = xp_manifest_estimate(data, len, manifest, DEV_ENTRIES, &o->fs,
					  o->size ? 0 : o->headroom_percent, o->size ? &need : &fs_bytes,
					  NULL, diags);
	free(data);
	if (rc == 0)
		rc = xp__image_layout(o, fs_bytes, &res->layout, diags);
	if (rc == 0 && o->size)
		rc = xp__image_too_small(o, &res->layout, need, "the distribution", diags);

	/* the tar, as it comes */
	if (rc == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", r.out);
		rc = xp__image_write(o, path, "mmdebstrap's output", ready, &r, progress, ud, res,
				     diags);
	}
	if (rc == -EBADMSG && r.pid > 0 && !r.reaped &&
	    xp_spawn_wait_draining(r.pid, r.out, STOP_GRACE, &r.status) == 1) {
		/* a tar cut short or broken may be mmdebstrap's failure: then its own words
		 * say why, once it has ended by itself (it removes its root first) */
		r.reaped = true;
		r.seconds = seconds_since(&r.start);
		kill(-r.pid, SIGKILL); /* the rest of its group, if any */
		if (r.status)
			finish(&r, diags);
	}
	/* on our own failure it is stopped, and says nothing: the error is ours */
	stop(&r, diags);
	res->mmdebstrap_seconds = r.seconds;
	run_release(&r, diags);
	private_dir_remove(dir);
	return rc;
}
