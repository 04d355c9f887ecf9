/*
 * test-installer-build.c - the key of the server's cache of built installers
 * (xp_installer_key, installer-build.h): every file a build copies is in it by its
 * identity, so that an update of any of them is a new key, and the server builds the
 * installer again. Each input is a copy in a scratch directory (the options' overrides:
 * kernel, modules_root, busybox, self, sbin, libcurl; a library that ldd names, through
 * LD_LIBRARY_PATH, which ldd's loader obeys), changed one at a time (its modification
 * time set, or its bytes rewritten in place with its times put back): each change makes
 * a key unlike every one before it; nothing changed, the same key. What the build
 * itself writes is tested by tests/integration/installer-build.sh.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "xenprov/http-client.h"
#include "xenprov/installer-build.h"

XP_TEST_SCRATCH("installer-key")

#define REL "9.9.9-xptest"

/* The first line of a shell command's output, or NULL. */
static char *first_line(const char *cmd)
{
	char *out = xp_test_out("%s", cmd);
	if (out)
		out[strcspn(out, "\n")] = '\0';
	if (out && !out[0]) {
		free(out);
		out = NULL;
	}
	return out;
}

static void copy(const char *from, const char *to)
{
	assert_int_equal(xp_test_sh("cp '%s' '%s'", from, to), 0);
}

/* A file's modification time set to t (its change time moves too). */
static void retime(const char *path, time_t t)
{
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A file's first byte rewritten in place (the same inode, size and times): its change
 * time alone moves. */
static void rewrite_keep_times(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, 0), 1);
	assert_int_equal(pwrite(fd, &c, 1, 0), 1);
	close(fd);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The keys seen so far: each must be new. */
static char seen[32][17];
static size_t n_seen;

static void key_is_new(const struct xp_installer_opts *o, const char *what)
{
	char key[17], kernel[4096];
	struct xp_diags d = {0};
	int r = xp_installer_key(o, key, kernel, sizeof(kernel), &d);
	if (r != 0)
		fprintf(stderr, "%s: %s: %s\n", what, d.n && d.v[0].file ? d.v[0].file : "",
			d.n ? d.v[0].msg : strerror(-r));
	xp_diags_release(&d);
	assert_int_equal(r, 0);
	assert_int_equal(strlen(key), 16);
	for (size_t i = 0; i < n_seen; i++)
		if (strcmp(seen[i], key) == 0) {
			fprintf(stderr, "%s: the key did not change (%s)\n", what, key);
			fail();
		}
	assert_true(n_seen < sizeof(seen) / sizeof(*seen));
	memcpy(seen[n_seen++], key, sizeof(key));
}

static void test_key_inputs(void **st)
{
	(void)st;
	/* the host's real inputs, copied */
	char *bb = first_line("command -v busybox");
	char *e2 = first_line("command -v e2fsck || ls /sbin/e2fsck /usr/sbin/e2fsck 2>/dev/null");
	char *rs = first_line(
	    "command -v resize2fs || ls /sbin/resize2fs /usr/sbin/resize2fs 2>/dev/null");
	char *ext2fs = e2 ? first_line("ldd \"$(command -v e2fsck || echo /sbin/e2fsck)\" | "
				       "sed -n 's/.*libext2fs[^ ]* => \\(\\/[^ ]*\\).*/\\1/p'")
			  : NULL;
	char *self = first_line("command -v env");
	if (!bb || !e2 || !rs || !ext2fs || !self ||
	    xp_test_sh("file -L '%s' | grep -q 'statically linked'", bb) != 0) {
		free(bb), free(e2), free(rs), free(ext2fs), free(self);
		skip(); /* no static busybox or e2fsprogs here */
	}
	void *so = dlopen(XP_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	struct link_map *lm = NULL;
	assert_non_null(so);
	assert_int_equal(dlinfo(so, RTLD_DI_LINKMAP, &lm), 0);

	assert_int_equal(xp_test_sh("mkdir -p '%s' '%s' '%s' '%s/%s/kernel'", tpath("boot"),
				    tpath("sbin"), tpath("lib"), tpath("modules"), REL),
			 0);
	char kernel[4400], moddir[4400], dep[8800], mod[8800], libcurl[4400], lib[4400];
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz-" REL, tpath("boot"));
	snprintf(moddir, sizeof(moddir), "%s/" REL, tpath("modules"));
	snprintf(dep, sizeof(dep), "%s/modules.dep", moddir);
	snprintf(mod, sizeof(mod), "%s/kernel/virtio_net.ko", moddir);
	snprintf(libcurl, sizeof(libcurl), "%s/%s", tpath("lib"), XP_LIBCURL_SONAME);
	snprintf(lib, sizeof(lib), "%s/%s", tpath("lib"), strrchr(ext2fs, '/') + 1);
	xp_test_write(kernel, "a kernel\n");
	xp_test_write(dep, "kernel/virtio_net.ko: kernel/failover.ko\nkernel/failover.ko:\n"
			   "kernel/dummy.ko:\n");
	xp_test_write(mod, "a module\n");
	xp_test_write(xp_test_path(moddir, "kernel/failover.ko"), "its dependency\n");
	xp_test_write(xp_test_path(moddir, "kernel/dummy.ko"), "a module asked for\n");
	copy(bb, tpath("busybox"));
	copy(self, tpath("xenprov"));
	copy(e2, xp_test_path(tpath("sbin"), "e2fsck"));
	copy(rs, xp_test_path(tpath("sbin"), "resize2fs"));
	copy(lm->l_name, libcurl);
	copy(ext2fs, lib);
	dlclose(so);

	struct xp_installer_opts o = {.kernel = kernel,
				      .modules_root = tpath("modules"),
				      .busybox = tpath("busybox"),
				      .self = tpath("xenprov"),
				      .sbin = tpath("sbin"),
				      .libcurl = libcurl};
	n_seen = 0;
	key_is_new(&o, "the first key");
	/* nothing changed: the same key */
	char key[17], kpath[4096];
	struct xp_diags d = {0};
	assert_int_equal(xp_installer_key(&o, key, kpath, sizeof(kpath), &d), 0);
	assert_string_equal(key, seen[0]);
	assert_string_equal(kpath, kernel);
	/* each input changed in turn */
	const char *inputs[] = {kernel,
				dep,
				mod,
				tpath("busybox"),
				tpath("xenprov"),
				xp_test_path(tpath("sbin"), "e2fsck"),
				xp_test_path(tpath("sbin"), "resize2fs"),
				libcurl};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		retime(inputs[i], (time_t)(1000000 + i));
		key_is_new(&o, inputs[i]);
	}
	/* rewritten in place, its times put back: the change time tells */
	rewrite_keep_times(xp_test_path(tpath("sbin"), "e2fsck"));
	key_is_new(&o, "e2fsck rewritten in place");
	/* a library ldd names for e2fsck (found first in LD_LIBRARY_PATH, as an update
	 * would put another there): it is in the key by its identity */
	assert_int_equal(setenv("LD_LIBRARY_PATH", tpath("lib"), 1), 0);
	key_is_new(&o, "libext2fs found in LD_LIBRARY_PATH");
	retime(lib, 2000000);
	key_is_new(&o, lib);
	unsetenv("LD_LIBRARY_PATH");
	/* back to the host's library: the key before it */
	char base[17];
	assert_int_equal(xp_installer_key(&o, base, kpath, sizeof(kpath), &d), 0);
	assert_string_equal(base, seen[n_seen - 3]);
	/* another module asked for: another module list (a dependency already in it
	 * changes nothing) */
	const char *extra[] = {"failover"};
	o.extra = extra;
	o.n_extra = 1;
	assert_int_equal(xp_installer_key(&o, key, kpath, sizeof(kpath), &d), 0);
	assert_string_equal(key, base);
	extra[0] = "dummy";
	key_is_new(&o, "--modules dummy");
	o.n_extra = 0;
	/* a missing input fails the key as it would fail the build */
	assert_int_equal(unlink(xp_test_path(tpath("sbin"), "resize2fs")), 0);
	assert_int_equal(xp_installer_key(&o, key, kpath, sizeof(kpath), &d), -ENOENT);
	assert_true(d.n > 0);
	xp_test_assert_contains(d.v[0].msg, "resize2fs");
	xp_diags_release(&d);
	free(bb), free(e2), free(rs), free(ext2fs), free(self);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    xp_test_in_scratch(test_key_inputs),
	};
	return xp_test_run_group("ldd file", tests, NULL, NULL);
}
