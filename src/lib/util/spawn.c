/*
 * spawn.c - running another program and waiting for it: posix_spawn with an argv (never
 * a shell), standard input from /dev/null, its output either left where ours goes or
 * captured for the caller's diagnostic. lvm2's tools, resize2fs, site hooks and xl all
 * run through here; a long-running producer (mmdebstrap) runs with its output on pipes
 * in a process group of its own (xp_spawn_piped), stopped as a whole (xp_spawn_stop).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xenprov/util.h"

extern char **environ;

#define CAPTURE_MAX 8192 /* of a tool's output: enough for any diagnostic */

int xp_program_path(const char *name, char **out)
{
	*out = NULL;
	if (!name || !*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		*out = strdup(name);
		return *out ? 0 : -ENOMEM;
	}
	/* PATH, then where root's tools live when a user's PATH lacks them */
	const char *path = getenv("PATH");
	struct xp_buf dirs = XP_BUF_INIT;
	xp_buf_addf(&dirs, "%s:/usr/sbin:/sbin", path ? path : "");
	if (xp_buf_error(&dirs)) {
		xp_buf_release(&dirs);
		return -ENOMEM;
	}
	int r = -ENOENT;
	for (const char *p = xp_buf_str(&dirs); *p && r == -ENOENT;) {
		size_t n = strcspn(p, ":");
		char *cand;
		if (n > 0 && asprintf(&cand, "%.*s/%s", (int)n, p, name) >= 0) {
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(cand, X_OK) == 0) {
				*out = cand;
				r = 0;
			} else {
				free(cand);
			}
		}
		p += n + (p[n] == ':');
	}
	xp_buf_release(&dirs);
	return r;
}

int xp_spawn_wait(char *const argv[], char *const envp[], struct xp_buf *out)
{
	int pfd[2] = {-1, -1};
	if (out && pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc != 0)
		goto closed;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (rc == 0 && out) {
		rc = posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
		if (rc == 0)
			rc = posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	}
	pid_t pid = -1;
	char *prog = NULL;
	if (rc == 0) {
		int pr = xp_program_path(argv[0], &prog);
		rc = pr < 0 ? -pr : posix_spawn(&pid, prog, &fa, NULL, argv, envp ? envp : environ);
	}
	free(prog);
	posix_spawn_file_actions_destroy(&fa);
closed:
	if (out)
		close(pfd[1]);
	if (rc != 0) {
		if (out)
			close(pfd[0]);
		return -rc;
	}
	if (out) {
		char buf[1024];
		ssize_t n;
		while ((n = read(pfd[0], buf, sizeof(buf))) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (out->len < CAPTURE_MAX)
				xp_buf_add(out, buf, (size_t)n);
		}
		close(pfd[0]);
		/* the trailing newlines and blanks are no part of a message */
		size_t len = out->len;
		while (len && strchr("\n\r\t ", xp_buf_str(out)[len - 1]))
			len--;
		xp_buf_truncate(out, len);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : XP_SPAWN_SIGNALED + WTERMSIG(status);
}

int xp_spawn_piped(char *const argv[], char *const envp[], pid_t *pid, int *out, int *err)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	*pid = -1;
	*out = *err = -1;
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		int e = -errno;
		if (po[0] >= 0) {
			close(po[0]);
			close(po[1]);
		}
		return e;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc != 0)
		goto closed;
	rc = posix_spawnattr_init(&at);
	if (rc != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto closed;
	}
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	/* a process group of its own, so that xp_spawn_stop reaches everything it starts;
	 * the signals a program expects at their defaults, none blocked (ours may ignore
	 * SIGPIPE, which a pipeline needs to end) */
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	if (rc == 0)
		rc = posix_spawnattr_setpgroup(&at, 0);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(&at, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&at, &def);
	if (rc == 0)
		rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
							POSIX_SPAWN_SETSIGDEF);
	char *prog = NULL;
	if (rc == 0) {
		int pr = xp_program_path(argv[0], &prog);
		rc = pr < 0 ? -pr : posix_spawn(pid, prog, &fa, &at, argv, envp ? envp : environ);
	}
	free(prog);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
closed:
	close(po[1]);
	close(pe[1]);
	if (rc != 0) {
		close(po[0]);
		close(pe[0]);
		*pid = -1;
		return -rc;
	}
	*out = po[0];
	*err = pe[0];
	return 0;
}

static bool past(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : XP_SPAWN_SIGNALED + WTERMSIG(status);
}

int xp_spawn_wait_draining(pid_t pid, int drain_fd, unsigned seconds, int *status)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += seconds;
	char sink[65536];
	for (;;) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			*status = exit_status(st);
			return 1;
		}
		if (w < 0 && errno != EINTR)
			return -errno;
		if (past(&deadline))
			return 0;
		struct pollfd p = {.fd = drain_fd, .events = POLLIN};
		if (drain_fd >= 0 && poll(&p, 1, 50) > 0) {
			if (xp_read_some(drain_fd, sink, sizeof(sink)) <= 0)
				drain_fd = -1;
		} else if (drain_fd < 0) {
			struct timespec nap = {0, 50 * 1000 * 1000};
			nanosleep(&nap, NULL);
		}
	}
}

int xp_spawn_stop(pid_t pid, int drain_fd, unsigned grace_seconds)
{
	int status = 0;
	/* the whole group, as a terminal's ^C reaches it: the program's own children
	 * get the signal too, and it cleans up after them; what it still writes is read
	 * and dropped, as a write to a closed pipe would fail it another way */
	kill(-pid, SIGTERM);
	int r = xp_spawn_wait_draining(pid, drain_fd, grace_seconds, &status);
	if (r < 0)
		return r;
	if (r == 0) {
		kill(-pid, SIGKILL);
		int st;
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return -errno;
		status = exit_status(st);
	}
	/* whatever of the group outlived its leader (a group's id is not reused while a
	 * member lives, so this reaches no stranger) */
	kill(-pid, SIGKILL);
	return status;
}

int xp_spawn_reap(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return exit_status(status);
}

int xp_spawn_capture(char *const argv[], struct xp_buf *out, size_t max, struct xp_buf *err)
{
	pid_t pid;
	int fo, fe;
	int r = xp_spawn_piped(argv, NULL, &pid, &fo, &fe);
	if (r < 0)
		return r;
	/* both pipes at once: a program blocked on a full standard error never finishes
	 * its standard output */
	struct pollfd p[2] = {{.fd = fo, .events = POLLIN}, {.fd = fe, .events = POLLIN}};
	char buf[16384];
	r = 0;
	while (r == 0 && (p[0].fd >= 0 || p[1].fd >= 0)) {
		if (poll(p, 2, -1) < 0) {
			if (errno != EINTR)
				r = -errno;
			continue;
		}
		for (int i = 0; i < 2 && r == 0; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = xp_read_some(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
			} else if (i == 0) {
				if (out->len + (size_t)n > max)
					r = -EFBIG;
				else
					xp_buf_add(out, buf, (size_t)n);
			} else if (err && err->len < CAPTURE_MAX) {
				xp_buf_add(err, buf, (size_t)n);
			}
		}
	}
	if (r == 0 && (xp_buf_error(out) || (err && xp_buf_error(err))))
		r = -ENOMEM;
	if (r < 0) {
		xp_spawn_stop(pid, p[0].fd, 5);
	} else {
		r = xp_spawn_reap(pid);
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	if (err) {
		size_t len = err->len;
		while (len && strchr("\n\r\t ", xp_buf_str(err)[len - 1]))
			len--;
		xp_buf_truncate(err, len);
	}
	return r;
}

/* ---- argument vectors ----------------------------------------------------------- */

void xp_argv_add(struct xp_argv *a, const char *fmt, ...)
{
	if (a->err)
		return;
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0 || xp_grow(&a->v, &a->cap, a->n + 1, sizeof(*a->v), 32) < 0) {
		if (n >= 0)
			free(s);
		a->err = -ENOMEM;
		return;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void xp_argv_release(struct xp_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

void xp_argv_rsync(struct xp_argv *a, const char *rsh, bool dense)
{
	xp_argv_add(a, "rsync");
	xp_argv_add(a, dense ? "-aHAX" : "-aHAXS");
	xp_argv_add(a, "--numeric-ids");
	if (rsh)
		xp_argv_add(a, "--rsh=%s", rsh);
}
