/*
 * testlib.h - what the unit tests share: a scratch directory under XP_TEST_TMP (the
 * build's test directory) and its removal; whether SQLite's locks on an inventory are
 * intact. Header-only; include after cmocka.h.
 */
#ifndef XP_TESTLIB_H
#define XP_TESTLIB_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Makes XP_TEST_TMP/NAME-XXXXXX into buf (size len). 0, or -1. */
static inline int xp_test_mkdtemp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s-XXXXXX", XP_TEST_TMP, name);
	return mkdtemp(buf) ? 0 : -1;
}

/* Removes dir and everything in it. 0, or -1. */
static inline int xp_test_rmtree(const char *dir)
{
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Whether another process sees this one's lock on the WAL index's "dead man switch"
 * byte of the inventory in state, which every SQLite connection to a WAL database holds
 * shared while it is open (sqlite3's os_unix.c: UNIX_SHM_DMS, byte 128 of the -shm
 * file). Closing any descriptor of the file in this process drops it: code that opens
 * the inventory's files behind SQLite's back must not. */
static inline bool xp_test_dms_held(const char *state)
{
	pid_t me = getpid(), pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char p[4300];
		snprintf(p, sizeof(p), "%s/inventory.db-shm", state);
		int fd = open(p, O_RDWR);
		struct flock fl = {
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 128, .l_len = 1};
		if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0)
			_exit(2);
		_exit(fl.l_type != F_UNLCK && fl.l_pid == me ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 2);
	return WEXITSTATUS(status) == 0;
}

#endif
