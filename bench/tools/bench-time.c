/*
 * bench-time.c - xp-bench-time RESULT CMD...: runs CMD (its standard input, output and
 * error are this program's) and writes to the file RESULT one line, "WALL CPU": the
 * wall-clock time from just before fork(2) to the end of wait4(2), and the CPU time
 * (user + system, from wait4's rusage: CMD and the children it waited for), both in
 * microseconds. Exits with CMD's status (127: it could not be run).
 *
 * For bench/bootloader.sh: the shell's own clock costs a fork for `date` and its `times`
 * has millisecond steps, too coarse for what is left of a local boot above its floor.
 * This program's own start is outside what it measures. Not installed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long usec(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000LL + (b->tv_nsec - a->tv_nsec) / 1000;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: xp-bench-time RESULT CMD...\n", stderr);
		return 2;
	}
	FILE *res = fopen(argv[1], "we");
	if (!res) {
		fprintf(stderr, "xp-bench-time: cannot open '%s': %s\n", argv[1], strerror(errno));
		return 127;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "xp-bench-time: cannot run '%s': %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		fprintf(stderr, "xp-bench-time: fork: %s\n", strerror(errno));
		return 127;
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "xp-bench-time: wait: %s\n", strerror(errno));
			return 127;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
			ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	fprintf(res, "%lld %lld\n", usec(&t0, &t1), cpu);
	if (fclose(res) != 0)
		return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
