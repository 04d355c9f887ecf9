/*
 * test-extfs-build.c - unit tests of xp_fs_build(), xp_fs_make() (an empty filesystem)
 * and xp_fs_estimate()
 * (src/lib/image/extfs-build.c and friends). Archives are made in code with
 * libarchive's write API; every filesystem is checked with the real tools: e2fsck -fn
 * must call it clean, debugfs reads every attribute back.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "testlib.h"

#include "xenprov/extfs.h"

XP_TEST_SCRATCH("extfs-build")

static const char *tmp(const char *name)
{
	return xp_test_path(tmpdir, name);
}

/* ---- archive writing ------------------------------------------------------------ */

struct ar {
	struct archive *a;
};

static struct archive *ar_open(const char *path, bool gz)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	if (gz)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	return a;
}

static void ar_close(struct archive *a)
{
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static struct archive_entry *ent(const char *path, unsigned type, unsigned perm)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_mtime(e, 1234567890, 123456789);
	return e;
}

static void put(struct archive *a, struct archive_entry *e, const void *data, size_t len)
{
	if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) &&
	    !archive_entry_sparse_count(e))
		archive_entry_set_size(e, (la_int64_t)len);
	int r = archive_write_header(a, e);
	if (r != ARCHIVE_OK)
		fprintf(stderr, "%s: %s\n", archive_entry_pathname(e), archive_error_string(a));
	assert_int_equal(r, ARCHIVE_OK);
	if (len)
		assert_int_equal(archive_write_data(a, data, len), (ssize_t)len);
	archive_entry_free(e);
}

static void put_file(struct archive *a, const char *path, unsigned perm, const char *s)
{
	put(a, ent(path, AE_IFREG, perm), s, strlen(s));
}

static void put_dir(struct archive *a, const char *path, unsigned perm)
{
	put(a, ent(path, AE_IFDIR, perm), NULL, 0);
}

/* ---- running tools ---------------------------------------------------------------- */

/* "img?offset=N" as e2fsprogs' tools take it */
static const char *dev(const char *img, uint64_t offset)
{
	static char b[4][4300];
	static int k;
	char *s = b[k++ % 4];
	snprintf(s, sizeof(b[0]), "%s?offset=%llu", img, (unsigned long long)offset);
	return s;
}

static char *debugfs(const char *img, uint64_t offset, const char *req)
{
	return xp_test_out("debugfs -R '%s' '%s' 2>/dev/null", req, dev(img, offset));
}

static void assert_stat(const char *img, uint64_t offset, const char *path, const char *needle)
{
	char req[4200];
	snprintf(req, sizeof(req), "stat \"%s\"", path);
	char *out = debugfs(img, offset, req);
	xp_test_assert_contains(out, needle);
	free(out);
}

/* Reads a file back with debugfs dump. */
static char *dump(const char *img, uint64_t offset, const char *path, size_t *len)
{
	char req[8500], out[4300];
	snprintf(out, sizeof(out), "%s/dump.out", tmpdir);
	unlink(out);
	snprintf(req, sizeof(req), "dump \"%s\" %s", path, out);
	free(debugfs(img, offset, req));
	if (access(out, F_OK) != 0) {
		char *ls = debugfs(img, offset, "ls -l /");
		fprintf(stderr, "cannot dump %s; / holds:\n%s\n", path, ls);
		free(ls);
	}
	return xp_test_read(out, len);
}

static int build(const char *img, uint64_t offset, uint64_t size, const char *archive,
		 enum xp_fs_type type, struct xp_fs_stats *st, struct xp_diags *d)
{
	struct xp_fs_opts o = {.type = type, .label = "test", .reserved_percent = -1};
	return xp_fs_build(img, offset, size, archive, &o, NULL, NULL, st, d);
}

static void print_diags(const struct xp_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "diag: %s: %s\n", d->v[i].code, d->v[i].msg);
}

/* ---- the archive with every kind of entry ------------------------------------------ */

static const unsigned char cap_v2[20] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x30, 0x00, 0x00};

static char long_target[301];
static char long_path[1200];

static void make_everything(const char *path, bool gz)
{
	/* libarchive's pax writer needs a UTF-8 locale for non-ASCII names; the builder is
	 * run in both "C" and "C.UTF-8" below */
	char *saved = strdup(setlocale(LC_CTYPE, NULL));
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	struct archive *a = ar_open(path, gz);
	struct archive_entry *e;

	/* "." sets the root's metadata */
	e = ent("./", AE_IFDIR, 0750);
	archive_entry_set_mtime(e, 1000000000, 0);
	put(a, e, NULL, 0);
	/* children before their directory; the directory's entry fixes its metadata */
	put_file(a, "./late/child", 0600, "child\n");
	e = ent("./late", AE_IFDIR, 0701);
	archive_entry_set_uid(e, 5);
	archive_entry_set_gid(e, 6);
	put(a, e, NULL, 0);
	put_dir(a, "etc", 0755);
	put_file(a, "etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n");
	e = ent("usr/bin/su", AE_IFREG, 04755);
	put(a, e, "#!/bin/sh\n", 10);
	e = ent("usr/bin/wall", AE_IFREG, 02755);
	archive_entry_set_gid(e, 5);
	put(a, e, "wall", 4);
	put_dir(a, "tmp", 01777);
	e = ent("home/user/file", AE_IFREG, 0640);
	archive_entry_set_uid(e, 70000);
	archive_entry_set_gid(e, 80000);
	archive_entry_set_atime(e, 1300000000, 5);
	archive_entry_set_ctime(e, 1400000000, 7);
	put(a, e, "data", 4);
	e = ent("bin/sh", AE_IFLNK, 0777);
	archive_entry_set_symlink(e, "dash");
	put(a, e, NULL, 0);
	memset(long_target, 'x', 300);
	memcpy(long_target, "../", 3);
	e = ent("bin/long", AE_IFLNK, 0777);
	archive_entry_set_symlink(e, long_target);
	put(a, e, NULL, 0);
	e = ent("etc/passwd-link", AE_IFREG, 0644);
	archive_entry_set_hardlink(e, "etc/passwd");
	put(a, e, NULL, 0);
	e = ent("dev/null", AE_IFCHR, 0666);
	archive_entry_set_rdevmajor(e, 1);
	archive_entry_set_rdevminor(e, 3);
	put(a, e, NULL, 0);
	e = ent("dev/nvme", AE_IFBLK, 0660);
	archive_entry_set_rdevmajor(e, 259);
	archive_entry_set_rdevminor(e, 70000);
	put(a, e, NULL, 0);
	put(a, ent("run/fifo", AE_IFIFO, 0644), NULL, 0);
	/* no socket: neither libarchive's nor GNU tar's writers archive them */
	/* xattrs and ACLs */
	e = ent("usr/bin/ping", AE_IFREG, 0755);
	archive_entry_xattr_add_entry(e, "security.capability", cap_v2, sizeof(cap_v2));
	archive_entry_xattr_add_entry(e, "user.comment", "hello", 5);
	archive_entry_xattr_add_entry(e, "trusted.t", "T", 1);
	archive_entry_xattr_add_entry(e, "security.selinux", "system_u:object_r:bin_t:s0", 27);
	put(a, e, "ping", 4);
	e = ent("srv/shared", AE_IFDIR, 0770);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
				    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_WRITE |
					ARCHIVE_ENTRY_ACL_EXECUTE,
				    ARCHIVE_ENTRY_ACL_USER, 1000, "alice");
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS,
				    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_WRITE |
					ARCHIVE_ENTRY_ACL_EXECUTE,
				    ARCHIVE_ENTRY_ACL_MASK, -1, NULL);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT,
				    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_WRITE |
					ARCHIVE_ENTRY_ACL_EXECUTE,
				    ARCHIVE_ENTRY_ACL_USER_OBJ, -1, NULL);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT,
				    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_EXECUTE,
				    ARCHIVE_ENTRY_ACL_GROUP_OBJ, -1, NULL);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, 0, ARCHIVE_ENTRY_ACL_OTHER,
				    -1, NULL);
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, ARCHIVE_ENTRY_ACL_READ,
				    ARCHIVE_ENTRY_ACL_GROUP, 2000, "staff");
	archive_entry_acl_add_entry(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT,
				    ARCHIVE_ENTRY_ACL_READ | ARCHIVE_ENTRY_ACL_EXECUTE,
				    ARCHIVE_ENTRY_ACL_MASK, -1, NULL);
	put(a, e, NULL, 0);
	/* a sparse entry: 4 KiB of A at 0, 4 KiB of B at 8 MiB, 10 MiB in all */
	e = ent("var/sparse", AE_IFREG, 0644);
	archive_entry_set_size(e, 10 << 20);
	archive_entry_sparse_add_entry(e, 0, 4096);
	archive_entry_sparse_add_entry(e, 8 << 20, 4096);
	/* libarchive's pax writer takes the logical content and drops the holes */
	static unsigned char ab[10 << 20];
	memset(ab, 'A', 4096);
	memset(ab + (8 << 20), 'B', 4096);
	put(a, e, ab, sizeof(ab));
	/* zeros inside a plain entry become a hole too */
	static unsigned char zeros[(1 << 20) + 2];
	zeros[sizeof(zeros) - 2] = 'x';
	zeros[sizeof(zeros) - 1] = '\n';
	put(a, ent("var/zeros", AE_IFREG, 0644), zeros, sizeof(zeros));
	/* a larger file with random content */
	static unsigned char rnd[3 << 20];
	srand(7);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)rand();
	put(a, ent("var/random", AE_IFREG, 0644), rnd, sizeof(rnd));
	/* names */
	put_file(a,
		 "donn\xc3\xa9"
		 "es/caf\xc3\xa9.txt",
		 0644, "caf\xc3\xa9\n");
	size_t n = 0;
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(long_path + n, sizeof(long_path) - n, "%s%049d", i ? "/" : "",
				      i);
	put_file(a, long_path, 0644, "deep\n");
	/* duplicates: the later wins */
	put_file(a, "dup", 0644, "one\n");
	put_file(a, "dup", 0600, "two, longer\n");
	e = ent("dupdir", AE_IFDIR, 0755);
	archive_entry_xattr_add_entry(e, "user.a", "1", 1);
	put(a, e, NULL, 0);
	put_file(a, "dupdir/kept", 0644, "kept\n");
	e = ent("dupdir", AE_IFDIR, 0711);
	archive_entry_xattr_add_entry(e, "user.b", "2", 1);
	put(a, e, NULL, 0);
	/* a symlink replaced by a file, a file replaced by a directory */
	e = ent("swap1", AE_IFLNK, 0777);
	archive_entry_set_symlink(e, "nowhere");
	put(a, e, NULL, 0);
	put_file(a, "swap1", 0644, "now a file\n");
	put_file(a, "swap2", 0644, "a file\n");
	put_dir(a, "swap2", 0755);
	put_file(a, "swap2/inside", 0644, "in\n");
	/* a hard link whose path is later replaced: the other name keeps the content */
	put_file(a, "hl/a", 0644, "shared\n");
	e = ent("hl/b", AE_IFREG, 0644);
	archive_entry_set_hardlink(e, "hl/a");
	put(a, e, NULL, 0);
	put_file(a, "hl/a", 0644, "new a\n");
	ar_close(a);
	setlocale(LC_CTYPE, saved);
	free(saved);
}

static void check_everything(const char *img, uint64_t off, enum xp_fs_type type)
{
	xp_test_assert_fsck_clean(img, off);
	assert_stat(img, off, "/", "Mode:  0750");
	assert_stat(img, off, "/", "mtime: 0x3b9aca00");
	assert_stat(img, off, "/late", "Mode:  0701");
	assert_stat(img, off, "/late", "User:     5   Group:     6");
	assert_stat(img, off, "/usr/bin/su", "Mode:  04755");
	assert_stat(img, off, "/usr/bin/wall", "Mode:  02755");
	assert_stat(img, off, "/usr/bin/wall", "Group:     5");
	assert_stat(img, off, "/tmp", "Mode:  01777");
	assert_stat(img, off, "/home/user/file", "User: 70000   Group: 80000");
	/* seconds and nanoseconds << 2 in the extra field */
	assert_stat(img, off, "/home/user/file", "mtime: 0x499602d2:1d6f3454");
	assert_stat(img, off, "/home/user/file", "atime: 0x4d7c6d00:00000014");
	assert_stat(img, off, "/home/user/file", "ctime: 0x53724e00:0000001c");
	assert_stat(img, off, "/bin/sh", "Fast link dest: \"dash\"");
	size_t len;
	char *s = dump(img, off, "/bin/long", &len);
	assert_int_equal(len, 300);
	assert_memory_equal(s, long_target, 300);
	free(s);
	assert_stat(img, off, "/etc/passwd", "Links: 2");
	char *ino1 = debugfs(img, off, "ls -l /etc");
	xp_test_assert_contains(ino1, "passwd-link");
	free(ino1);
	s = dump(img, off, "/etc/passwd-link", &len);
	assert_int_equal(len, 30);
	assert_memory_equal(s, "root:x:0:0:root:/root:/bin/sh\n", 30);
	free(s);
	assert_stat(img, off, "/dev/null", "Type: character special");
	assert_stat(img, off, "/dev/null", "Device major/minor number: 01:03");
	assert_stat(img, off, "/dev/nvme", "Type: block special");
	assert_stat(img, off, "/dev/nvme", "Device major/minor number: 259:70000");
	assert_stat(img, off, "/run/fifo", "Type: FIFO");
	char *ea = debugfs(img, off, "ea_list /usr/bin/ping");
	xp_test_assert_contains(ea, "user.comment (5) = \"hello\"");
	xp_test_assert_contains(ea, "trusted.t (1) = \"T\"");
	xp_test_assert_contains(ea, "security.selinux (27) = \"system_u:object_r:bin_t:s0\\000\"");
	xp_test_assert_contains(ea, "security.capability (20)");
	free(ea);
	ea = debugfs(img, off, "ea_list /srv/shared");
	/* debugfs shows ACLs in the Linux xattr format ext2fs_xattr_get converts back to */
	/* debugfs shows ext4's on-disk ACL format: version 1, short entries for the
	 * USER_OBJ, GROUP_OBJ, MASK and OTHER tags */
	xp_test_assert_contains(
	    ea, "system.posix_acl_access (28) = 01 00 00 00 01 00 07 00 02 00 07 00 "
		"e8 03 00 00 04 00 07 00 10 00 07 00 20 00 00 00");
	xp_test_assert_contains(
	    ea, "system.posix_acl_default (28) = 01 00 00 00 01 00 07 00 04 00 05 00 "
		"08 00 04 00 d0 07 00 00 10 00 05 00 20 00 00 00");
	free(ea);
	/* sparse and zero runs stay holes */
	assert_stat(img, off, "/var/sparse", "Size: 10485760");
	assert_stat(img, off, "/var/sparse",
		    type == XP_FS_EXT4 ? "Blockcount: 16" : "Blockcount: 32"); /* + ind, dind */
	assert_stat(img, off, "/var/zeros",
		    type == XP_FS_EXT4 ? "Blockcount: 8" : "Blockcount: 16"); /* + ind */
	s = dump(img, off, "/var/sparse", &len);
	assert_int_equal(len, 10 << 20);
	assert_true(s[0] == 'A' && s[4095] == 'A' && s[4096] == 0 && s[(8 << 20)] == 'B' &&
		    s[(8 << 20) + 4095] == 'B' && s[(8 << 20) + 4096] == 0);
	free(s);
	s = dump(img, off, "/var/zeros", &len);
	assert_int_equal(len, (1 << 20) + 2);
	assert_true(s[0] == 0 && s[1 << 20] == 'x');
	free(s);
	s = dump(img, off, "/var/random", &len);
	assert_int_equal(len, 3 << 20);
	srand(7);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] != (unsigned char)rand())
			fail_msg("random differs at %zu", i);
	free(s);
	s = dump(img, off,
		 "/donn\xc3\xa9"
		 "es/caf\xc3\xa9.txt",
		 &len);
	assert_int_equal(len, 6);
	free(s);
	char lp[1300];
	snprintf(lp, sizeof(lp), "/%s", long_path);
	s = dump(img, off, lp, &len);
	assert_int_equal(len, 5);
	free(s);
	s = dump(img, off, "/dup", &len);
	assert_int_equal(len, 12);
	assert_memory_equal(s, "two, longer\n", 12);
	free(s);
	assert_stat(img, off, "/dup", "Mode:  0600");
	assert_stat(img, off, "/dupdir", "Mode:  0711");
	ea = debugfs(img, off, "ea_list /dupdir");
	xp_test_assert_contains(ea, "user.b (1) = \"2\"");
	assert_null(strstr(ea, "user.a"));
	free(ea);
	s = dump(img, off, "/dupdir/kept", &len);
	assert_int_equal(len, 5);
	free(s);
	assert_stat(img, off, "/swap1", "Type: regular");
	assert_stat(img, off, "/swap2", "Type: directory");
	s = dump(img, off, "/swap2/inside", &len);
	assert_int_equal(len, 3);
	free(s);
	s = dump(img, off, "/hl/b", &len);
	assert_int_equal(len, 7);
	assert_memory_equal(s, "shared\n", 7);
	free(s);
	s = dump(img, off, "/hl/a", &len);
	assert_int_equal(len, 6);
	free(s);
	assert_stat(img, off, "/hl/b", "Links: 1");
	char *ls = debugfs(img, off, "ls /lost+found");
	xp_test_assert_contains(ls, "..");
	free(ls);
	char *sb = xp_test_out("dumpe2fs -h '%s' 2>/dev/null", dev(img, off));
	xp_test_assert_contains(sb, "Filesystem volume name:   test");
	xp_test_assert_contains(sb, "Block size:               4096");
	if (type == XP_FS_EXT4) {
		xp_test_assert_contains(
		    sb, "has_journal ext_attr resize_inode dir_index filetype extent "
			"64bit flex_bg metadata_csum_seed sparse_super large_file huge_file "
			"dir_nlink extra_isize metadata_csum\n");
		/* the seed is the one the UUID gives, as mke2fs sets it */
		xp_test_assert_contains(sb, "Checksum seed:");
		assert_stat(img, off, "/var/random", "EXTENTS:");
	} else if (type == XP_FS_EXT3) {
		xp_test_assert_contains(sb, "has_journal ext_attr resize_inode dir_index filetype "
					    "sparse_super large_file\n");
	} else {
		xp_test_assert_contains(sb, "ext_attr resize_inode dir_index filetype sparse_super "
					    "large_file\n");
	}
	free(sb);
}

static void build_everything(enum xp_fs_type type, uint64_t offset, bool gz)
{
	const char *arch = tmp(gz ? "all.tar.gz" : "all.tar");
	make_everything(arch, gz);
	const char *img = tmp("all.img");
	xp_test_sparse(img, offset + (64 << 20));
	struct xp_diags d = {0};
	struct xp_fs_stats st;
	int r = build(img, offset, 64 << 20, arch, type, &st, &d);
	print_diags(&d);
	assert_int_equal(r, 0);
	xp_diags_release(&d);
	assert_int_equal(st.hardlinks, 2);
	assert_int_equal(st.devices, 2);
	assert_int_equal(st.fifos, 1);
	assert_true(st.symlinks >= 3);
	assert_int_equal(st.block_size, 4096);
	assert_int_equal(st.blocks_total, 16384);
	assert_true(st.blocks_free > 0 && st.blocks_free < st.blocks_total);
	assert_int_equal(strlen(st.uuid), 36);
	check_everything(img, offset, type);
}

static void test_ext4_everything(void **state)
{
	(void)state;
	build_everything(XP_FS_EXT4, 0, true);
}

static void test_ext3_everything_offset(void **state)
{
	(void)state;
	setlocale(LC_CTYPE, "C.UTF-8");
	build_everything(XP_FS_EXT3, 1 << 20, false);
	setlocale(LC_CTYPE, "C");
}

static void test_ext2_everything_offset(void **state)
{
	(void)state;
	build_everything(XP_FS_EXT2, 1 << 20, true);
}

/* Bytes before the offset and after offset + size stay as they were. */
static void test_offset_untouched(void **state)
{
	(void)state;
	const char *arch = tmp("small.tar");
	struct archive *a = ar_open(arch, false);
	put_file(a, "f", 0644, "x");
	ar_close(a);
	const char *img = tmp("off.img");
	xp_test_sparse(img, (3 << 20) + (16 << 20));
	int fd = open(img, O_RDWR);
	static unsigned char pat[1 << 20];
	memset(pat, 0xa5, sizeof(pat));
	assert_int_equal(pwrite(fd, pat, sizeof(pat), 0), (ssize_t)sizeof(pat));
	assert_int_equal(pwrite(fd, pat, sizeof(pat), (2 << 20) + (16 << 20)),
			 (ssize_t)sizeof(pat));
	/* junk inside the region must not confuse anything */
	assert_int_equal(pwrite(fd, pat, sizeof(pat), (2 << 20) + (4 << 20)), (ssize_t)sizeof(pat));
	struct xp_diags d = {0};
	struct xp_fs_opts o = {.type = XP_FS_EXT4,
			       .uuid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
			       .reserved_percent = 0,
			       .inodes = 5000};
	struct xp_fs_stats st;
	assert_int_equal(xp_fs_build(img, 2 << 20, 16 << 20, arch, &o, NULL, NULL, &st, &d), 0);
	assert_string_equal(st.uuid, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	assert_true(st.inodes_total >= 5000 && st.inodes_total < 6000);
	static unsigned char back[1 << 20];
	assert_int_equal(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	assert_memory_equal(back, pat, sizeof(pat));
	assert_int_equal(pread(fd, back, sizeof(back), (2 << 20) + (16 << 20)),
			 (ssize_t)sizeof(back));
	assert_memory_equal(back, pat, sizeof(pat));
	assert_int_equal(pread(fd, back, sizeof(back), 1 << 20), (ssize_t)sizeof(back));
	for (size_t i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0);
	close(fd);
	xp_test_assert_fsck_clean(img, 2 << 20);
	char *sb = xp_test_out("dumpe2fs -h '%s' 2>/dev/null", dev(img, 2 << 20));
	xp_test_assert_contains(sb,
				"Filesystem UUID:          0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	xp_test_assert_contains(sb, "Reserved block count:     0\n");
	free(sb);
	xp_diags_release(&d);
}

/* 20,000 names in one directory, on ext4 and ext3. */
static void test_big_directory(void **state)
{
	(void)state;
	const char *arch = tmp("bigdir.tar.gz");
	struct archive *a = ar_open(arch, true);
	put_dir(a, "big", 0755);
	char name[64];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "big/file-with-a-longish-name-%05d", i);
		put_file(a, name, 0644, i % 2 ? "odd\n" : "");
	}
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "big/sub%03d", i);
		put_dir(a, name, 0755);
	}
	ar_close(a);
	for (int t = XP_FS_EXT3; t <= XP_FS_EXT4; t++) {
		const char *img = tmp("bigdir.img");
		xp_test_sparse(img, 128 << 20);
		struct xp_diags d = {0};
		struct xp_fs_stats st;
		int r = build(img, 0, 128 << 20, arch, (enum xp_fs_type)t, &st, &d);
		print_diags(&d);
		assert_int_equal(r, 0);
		assert_int_equal(st.files, 20000);
		assert_int_equal(st.dirs, 301);
		xp_test_assert_fsck_clean(img, 0);
		assert_stat(img, 0, "/big/file-with-a-longish-name-00000", "Size: 0");
		assert_stat(img, 0, "/big/file-with-a-longish-name-19999", "Size: 4");
		assert_stat(img, 0, "/big", "Links: 302");
		char *ls = debugfs(img, 0, "ls /big");
		xp_test_assert_contains(ls, "file-with-a-longish-name-12345");
		xp_test_assert_contains(ls, "sub299");
		free(ls);
		xp_diags_release(&d);
	}
}

/* ---- estimate ------------------------------------------------------------------------ */

static void test_estimate_fits(void **state)
{
	(void)state;
	const char *arch = tmp("est.tar.gz");
	struct archive *a = ar_open(arch, true);
	static unsigned char rnd[1 << 20];
	srand(3);
	for (int f = 0; f < 24; f++) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)rand();
		char name[64];
		snprintf(name, sizeof(name), "data/d%02d/file%02d", f % 5, f);
		put(a, ent(name, AE_IFREG, 0644), rnd, sizeof(rnd) - (size_t)f * 1000);
	}
	for (int i = 0; i < 3000; i++) {
		char name[64];
		snprintf(name, sizeof(name), "many/%04d/small", i);
		put_file(a, name, 0644, "small file\n");
	}
	ar_close(a);
	const char *all = tmp("all.tar");
	make_everything(all, false);
	const char *archives[2] = {arch, all};
	for (int k = 0; k < 2; k++) {
		for (int t = XP_FS_EXT2; t <= XP_FS_EXT4; t++) {
			struct xp_fs_opts o = {.type = (enum xp_fs_type)t, .reserved_percent = -1};
			struct xp_diags d = {0};
			uint64_t bytes = 0, more = 0;
			assert_int_equal(xp_fs_estimate(archives[k], &o, 0, &bytes, &d), 0);
			assert_int_equal(xp_fs_estimate(archives[k], &o, 50, &more, &d), 0);
			assert_true(more > bytes);
			assert_int_equal(bytes % (1 << 20), 0);
			const char *img = tmp("est.img");
			xp_test_sparse(img, bytes);
			struct xp_fs_stats st;
			int r = xp_fs_build(img, 0, bytes, archives[k], &o, NULL, NULL, &st, &d);
			print_diags(&d);
			assert_int_equal(r, 0);
			xp_test_assert_fsck_clean(img, 0);
			/* and it is tight: less than a fifth is left over (the small archive
			 * gets the journal's and 10 MiB sparse file's worth more) */
			if (k == 0 && st.blocks_free * 5 >= st.blocks_total)
				fail_msg("archive %d type %d: %llu MiB, %llu of %llu blocks free",
					 k, t, (unsigned long long)(bytes >> 20),
					 (unsigned long long)st.blocks_free,
					 (unsigned long long)st.blocks_total);
			xp_diags_release(&d);
		}
	}
}

/* ---- errors --------------------------------------------------------------------------- */

static int build_one(const char *arch, struct xp_diags *d)
{
	const char *img = tmp("err.img");
	xp_test_sparse(img, 32 << 20);
	struct xp_fs_stats st;
	return build(img, 0, 32 << 20, arch, XP_FS_EXT4, &st, d);
}

static void expect_error(const char *arch, int err, const char *code, const char *text)
{
	struct xp_diags d = {0};
	int r = build_one(arch, &d);
	if (r != err)
		print_diags(&d);
	assert_int_equal(r, err);
	assert_true(d.n >= 1);
	bool found = false;
	for (size_t i = 0; i < d.n; i++)
		if (strcmp(d.v[i].code, code) == 0 && (!text || strstr(d.v[i].msg, text)))
			found = true;
	if (!found)
		print_diags(&d);
	assert_true(found);
	xp_diags_release(&d);
}

static void test_unsafe_paths(void **state)
{
	(void)state;
	const char *bad[] = {"/etc/passwd", "../escape", "a/../../escape", "./a/b/../../../x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *arch = tmp("bad.tar");
		struct archive *a = ar_open(arch, false);
		put_file(a, "ok", 0644, "fine");
		put_file(a, bad[i], 0644, "evil");
		ar_close(a);
		expect_error(arch, -EPERM, "unsafe-path", bad[i]);
	}
	/* ".." that stays inside is fine */
	const char *arch = tmp("inside.tar");
	struct archive *a = ar_open(arch, false);
	put_file(a, "a/../b", 0644, "fine");
	ar_close(a);
	struct xp_diags d = {0};
	assert_int_equal(build_one(arch, &d), 0);
	assert_stat(tmp("err.img"), 0, "/b", "Size: 4");
	xp_diags_release(&d);
}

static void test_missing_hardlink(void **state)
{
	(void)state;
	const char *arch = tmp("hl.tar");
	struct archive *a = ar_open(arch, false);
	struct archive_entry *e = ent("usr/link", AE_IFREG, 0644);
	archive_entry_set_hardlink(e, "usr/nothere");
	put(a, e, NULL, 0);
	ar_close(a);
	expect_error(arch, -ENOENT, "missing-link-target", "usr/link");
}

static void make_random_tgz(const char *path, size_t mib)
{
	struct archive *a = ar_open(path, true);
	static unsigned char rnd[1 << 20];
	srand(11);
	for (size_t f = 0; f < mib; f++) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)rand();
		char name[32];
		snprintf(name, sizeof(name), "blob%02zu", f);
		put(a, ent(name, AE_IFREG, 0644), rnd, sizeof(rnd));
	}
	ar_close(a);
}

static void test_truncated_and_corrupt(void **state)
{
	(void)state;
	const char *arch = tmp("rand.tar.gz");
	make_random_tgz(arch, 4);
	struct stat st;
	assert_int_equal(stat(arch, &st), 0);
	/* cut in half */
	const char *cut = tmp("cut.tar.gz");
	char *out = xp_test_out("head -c %lld '%s' > '%s'", (long long)st.st_size / 2, arch, cut);
	free(out);
	expect_error(cut, -EBADMSG, "archive", "blob0");
	/* corrupt deflate data (a reserved block type). Bytes changed inside the stored
	 * blocks of incompressible data go unnoticed: libarchive stops at the tar end
	 * marker and never reads the gzip CRC. */
	const char *bad = tmp("bad.tar.gz");
	const char *all = tmp("all.tar.gz");
	make_everything(all, true);
	out = xp_test_out("cp '%s' '%s'", all, bad);
	free(out);
	int fd = open(bad, O_RDWR);
	unsigned char junk[64];
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 10), (ssize_t)sizeof(junk));
	close(fd);
	expect_error(bad, -EBADMSG, "archive", NULL);
	/* not an archive at all */
	const char *txt = tmp("not.tar");
	out = xp_test_out("head -c 3000 /dev/urandom > '%s'", txt);
	free(out);
	expect_error(txt, -EBADMSG, "archive", NULL);
	/* a broken uncompressed tar header in the middle */
	const char *plain = tmp("plain.tar");
	struct archive *a = ar_open(plain, false);
	put_file(a, "first", 0644, "1");
	put_file(a, "second", 0644, "2");
	put_file(a, "third", 0644, "3");
	ar_close(a);
	fd = open(plain, O_RDWR);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 2048 + 100), (ssize_t)sizeof(junk));
	close(fd);
	struct xp_diags d = {0};
	int r = build_one(plain, &d);
	assert_true(r == -EBADMSG);
	xp_diags_release(&d);
	/* no such archive */
	expect_error(tmp("nothing.tar"), -ENOENT, "archive", NULL);
}

/* Gzip as gzip(1) reads it (archive-src.c): several members one after another, zero
 * padding after the last; data after it, a flipped byte in stored (uncompressed) deflate
 * blocks and a bad CRC in the trailer are errors even though the tar end marker comes
 * before them. */
static void test_gzip_stream(void **state)
{
	(void)state;
	const char *plain = tmp("gzall.tar");
	make_everything(plain, false);
	struct stat st;
	assert_int_equal(stat(plain, &st), 0);
	assert_true(st.st_size > 7777);
	/* two members, split at an offset inside a tar header block */
	const char *multi = tmp("multi.tar.gz");
	char *out =
	    xp_test_out("head -c 7777 '%s' | gzip -c > '%s' && tail -c +7778 '%s' | gzip -1 -c "
			">> '%s' && echo ok",
			plain, multi, plain, multi);
	assert_string_equal(out, "ok\n");
	free(out);
	/* where the first member ends in it */
	out = xp_test_out("head -c 7777 '%s' | gzip -c | wc -c", plain);
	long boundary = atol(out);
	free(out);
	assert_true(boundary > 18);
	const char *img = tmp("gz.img");
	xp_test_sparse(img, 64 << 20);
	struct xp_fs_stats fst;
	struct xp_diags d = {0};
	int r = build(img, 0, 64 << 20, multi, XP_FS_EXT4, &fst, &d);
	print_diags(&d);
	assert_int_equal(r, 0);
	check_everything(img, 0, XP_FS_EXT4);
	xp_diags_release(&d);
	/* the same stream from a pipe, written a few bytes at a time, so that gzip headers,
	 * deflate blocks and the member boundary are split across reads */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pfd[0]);
		FILE *in = fopen(multi, "rb");
		static unsigned char chunk[1 << 16];
		size_t n, k = 0;
		long at = 0;
		for (;;) {
			/* 1 to 7 bytes at a time near the start and the member boundary */
			bool tiny = at < 4096 || (at > boundary - 4096 && at < boundary + 4096);
			size_t want = tiny ? 1 + k++ % 7 : sizeof(chunk);
			if (!in || (n = fread(chunk, 1, want, in)) == 0)
				break;
			if (write(pfd[1], chunk, n) != (ssize_t)n)
				_exit(1);
			at += (long)n;
			if (tiny)
				usleep(20);
		}
		_exit(in ? 0 : 1);
	}
	close(pfd[1]);
	int saved = dup(0);
	assert_int_equal(dup2(pfd[0], 0), 0);
	close(pfd[0]);
	xp_test_sparse(img, 64 << 20);
	r = build(img, 0, 64 << 20, "-", XP_FS_EXT4, &fst, &d);
	dup2(saved, 0);
	close(saved);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	print_diags(&d);
	assert_int_equal(r, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_everything(img, 0, XP_FS_EXT4);
	xp_diags_release(&d);
	/* zero padding after the last member */
	const char *padded = tmp("padded.tar.gz");
	out = xp_test_out("cat '%s' > '%s' && head -c 5000 /dev/zero >> '%s' && echo ok", multi,
			  padded, padded);
	free(out);
	assert_int_equal(build_one(padded, &d), 0);
	xp_diags_release(&d);
	/* something else after it */
	const char *junk = tmp("junk.tar.gz");
	out = xp_test_out("cat '%s' > '%s' && printf 'trailing junk' >> '%s' && echo ok", multi,
			  junk, junk);
	free(out);
#ifdef XP_HAVE_ISAL
	expect_error(junk, -EBADMSG, "archive", "data after the end of the gzip stream");
	/* a byte flipped inside stored blocks of random data: only the CRC can tell */
	const char *arch = tmp("rnd.tar.gz");
	make_random_tgz(arch, 2);
	assert_int_equal(stat(arch, &st), 0);
	const char *flip = tmp("flip.tar.gz");
	out = xp_test_out("cp '%s' '%s' && echo ok", arch, flip);
	free(out);
	int fd = open(flip, O_RDWR);
	assert_true(fd >= 0);
	unsigned char b;
	assert_int_equal(pread(fd, &b, 1, st.st_size / 2), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, st.st_size / 2), 1);
	close(fd);
	expect_error(flip, -EBADMSG, "archive", "checksum");
	/* the CRC in the trailer itself, read only after the tar end marker */
	const char *crc = tmp("crc.tar.gz");
	out = xp_test_out("cp '%s' '%s' && echo ok", arch, crc);
	free(out);
	fd = open(crc, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, st.st_size - 8), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, st.st_size - 8), 1);
	close(fd);
	expect_error(crc, -EBADMSG, "archive", "checksum");
#else
	/* libarchive's gzip filter ignores what follows the last member */
	assert_int_equal(build_one(junk, &d), 0);
	xp_diags_release(&d);
#endif
}

static void test_nospace(void **state)
{
	(void)state;
	const char *arch = tmp("rand20.tar.gz");
	make_random_tgz(arch, 20);
	const char *img = tmp("small.img");
	xp_test_sparse(img, 12 << 20);
	struct xp_diags d = {0};
	struct xp_fs_stats st;
	int r = build(img, 0, 12 << 20, arch, XP_FS_EXT4, &st, &d);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].code, "nospace");
	const char *p = strstr(d.v[0].msg, "needs at least ");
	assert_non_null(p);
	unsigned long mib = strtoul(p + strlen("needs at least "), NULL, 10);
	assert_true(mib >= 20 && mib < 40);
	xp_diags_release(&d);
	/* and that size works */
	xp_test_sparse(img, (uint64_t)mib << 20);
	r = build(img, 0, (uint64_t)mib << 20, arch, XP_FS_EXT4, &st, &d);
	print_diags(&d);
	assert_int_equal(r, 0);
	xp_test_assert_fsck_clean(img, 0);
	xp_diags_release(&d);
	/* too many entries for the inodes asked for */
	const char *many = tmp("many.tar");
	struct archive *a = ar_open(many, false);
	for (int i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%03d", i);
		put_file(a, name, 0644, "");
	}
	ar_close(a);
	xp_test_sparse(img, 16 << 20);
	struct xp_fs_opts o = {.type = XP_FS_EXT2, .reserved_percent = -1, .inodes = 100};
	r = xp_fs_build(img, 0, 16 << 20, many, &o, NULL, NULL, &st, &d);
	assert_int_equal(r, -ENOSPC);
	assert_true(d.n >= 1);
	xp_diags_release(&d);
	uint64_t bytes;
	assert_int_equal(xp_fs_estimate(many, &o, 0, &bytes, &d), -ENOSPC);
	assert_string_equal(d.v[0].code, "inodes");
	xp_diags_release(&d);
}

static void test_bad_options(void **state)
{
	(void)state;
	const char *arch = tmp("opt.tar");
	struct archive *a = ar_open(arch, false);
	put_file(a, "f", 0644, "x");
	ar_close(a);
	const char *img = tmp("opt.img");
	xp_test_sparse(img, 16 << 20);
	struct xp_diags d = {0};
	struct xp_fs_stats st;
	struct xp_fs_opts o = {
	    .type = XP_FS_EXT4, .label = "a-label-longer-than-16", .reserved_percent = -1};
	assert_int_equal(xp_fs_build(img, 0, 16 << 20, arch, &o, NULL, NULL, &st, &d), -EINVAL);
	o.label = NULL;
	o.uuid = "not-a-uuid";
	assert_int_equal(xp_fs_build(img, 0, 16 << 20, arch, &o, NULL, NULL, &st, &d), -EINVAL);
	o.uuid = NULL;
	o.reserved_percent = 51;
	assert_int_equal(xp_fs_build(img, 0, 16 << 20, arch, &o, NULL, NULL, &st, &d), -EINVAL);
	o.reserved_percent = -1;
	/* the file is smaller than offset + size */
	assert_int_equal(xp_fs_build(img, 1 << 20, 16 << 20, arch, &o, NULL, NULL, &st, &d),
			 -EINVAL);
	assert_int_equal(xp_fs_build(tmp("none.img"), 0, 16 << 20, arch, &o, NULL, NULL, &st, &d),
			 -ENOENT);
	assert_int_equal(xp_fs_build(img, 0, 4 << 20, arch, &o, NULL, NULL, &st, &d), -ENOSPC);
	assert_int_equal(xp_fs_build(NULL, 0, 16 << 20, arch, &o, NULL, NULL, &st, &d), -EINVAL);
	assert_true(d.n >= 6);
	xp_diags_release(&d);
}

struct prog {
	unsigned calls;
	uint64_t last_bytes, last_entries;
	bool monotonic;
};

static void on_progress(void *ud, uint64_t bytes, uint64_t entries)
{
	struct prog *p = ud;
	if (bytes < p->last_bytes || entries < p->last_entries)
		p->monotonic = false;
	p->calls++;
	p->last_bytes = bytes;
	p->last_entries = entries;
}

static void test_progress_and_stats(void **state)
{
	(void)state;
	const char *arch = tmp("prog.tar.gz");
	make_random_tgz(arch, 6);
	const char *img = tmp("prog.img");
	xp_test_sparse(img, 32 << 20);
	struct xp_fs_opts o = {.type = XP_FS_EXT3, .reserved_percent = 10};
	struct prog p = {.monotonic = true};
	struct xp_fs_stats st;
	struct xp_diags d = {0};
	assert_int_equal(xp_fs_build(img, 0, 32 << 20, arch, &o, on_progress, &p, &st, &d), 0);
	assert_true(p.calls >= 6);
	assert_true(p.monotonic);
	assert_int_equal(p.last_bytes, 6 << 20);
	assert_int_equal(p.last_entries, 6);
	assert_int_equal(st.entries, 6);
	assert_int_equal(st.files, 6);
	assert_int_equal(st.content_bytes, 6 << 20);
	char *sb = xp_test_out("dumpe2fs -h '%s' 2>/dev/null", img);
	char want[64];
	snprintf(want, sizeof(want), "Free blocks:              %llu\n",
		 (unsigned long long)st.blocks_free);
	xp_test_assert_contains(sb, want);
	snprintf(want, sizeof(want), "Free inodes:              %llu\n",
		 (unsigned long long)st.inodes_free);
	xp_test_assert_contains(sb, want);
	snprintf(want, sizeof(want), "Reserved block count:     %llu\n",
		 (unsigned long long)(st.blocks_total / 10));
	xp_test_assert_contains(sb, want);
	free(sb);
	/* the image stays sparse: about the content plus metadata is allocated */
	struct stat s;
	assert_int_equal(stat(img, &s), 0);
	assert_true((uint64_t)s.st_blocks * 512 < (12u << 20));
	xp_test_assert_fsck_clean(img, 0);
	xp_diags_release(&d);
}

/* An empty archive and an archive from standard input. */
static void test_empty_and_stdin(void **state)
{
	(void)state;
	const char *arch = tmp("empty.tar");
	struct archive *a = ar_open(arch, false);
	ar_close(a);
	struct xp_diags d = {0};
	/* a tar of no entries: an error unless allowed (then an e2fsck-clean filesystem) */
	expect_error(arch, -ENODATA, "no-entries", "the archive has no entries");
	struct xp_fs_opts o = {.type = XP_FS_EXT4, .reserved_percent = -1, .allow_empty = true};
	uint64_t bytes = 0;
	assert_int_equal(xp_fs_estimate(arch, &o, 0, &bytes, &d), 0);
	assert_true(bytes >= 8 << 20);
	o.allow_empty = false;
	assert_int_equal(xp_fs_estimate(arch, &o, 0, &bytes, &d), -ENODATA);
	o.allow_empty = true;
	xp_test_sparse(tmp("err.img"), 32 << 20);
	assert_int_equal(xp_fs_build(tmp("err.img"), 0, 32 << 20, arch, &o, NULL, NULL, NULL, &d),
			 0);
	xp_test_assert_fsck_clean(tmp("err.img"), 0);
	/* 0 bytes, plain or compressed, is no tar archive: refused even when allowed */
	const char *zero = tmp("zero.tar");
	FILE *f = fopen(zero, "w");
	assert_non_null(f);
	fclose(f);
	const char *zgz = tmp("zero.tar.gz");
	free(xp_test_out("gzip -c </dev/null >'%s'", zgz));
	for (int k = 0; k < 2; k++) {
		const char *z = k ? zgz : zero;
		expect_error(z, -EBADMSG, "empty-input",
			     k ? "decompresses to 0 bytes" : "is 0 bytes");
		xp_test_sparse(tmp("err.img"), 32 << 20);
		assert_int_equal(
		    xp_fs_build(tmp("err.img"), 0, 32 << 20, z, &o, NULL, NULL, NULL, &d),
		    -EBADMSG);
		assert_int_equal(xp_fs_estimate(z, &o, 0, &bytes, &d), -EBADMSG);
	}
	xp_diags_release(&d);
	const char *t = tmp("stdin.tar.gz");
	make_everything(t, true);
	int saved = dup(0);
	int fd = open(t, O_RDONLY);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	const char *img = tmp("stdin.img");
	xp_test_sparse(img, 64 << 20);
	struct xp_fs_stats st;
	int r = build(img, 0, 64 << 20, "-", XP_FS_EXT4, &st, &d);
	dup2(saved, 0);
	close(saved);
	print_diags(&d);
	assert_int_equal(r, 0);
	check_everything(img, 0, XP_FS_EXT4);
	xp_diags_release(&d);
}

/* xp_fs_make: an empty filesystem (a guest's data disk) with the UUID asked for, at an
 * offset, e2fsck-clean; a file stays sparse; too small or bad options refused. */
static void test_make_empty(void **state)
{
	(void)state;
	static const char uuid[] = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
	const char *img = tmp("data.img");
	struct xp_diags d = {0};
	for (int type = XP_FS_EXT2; type <= XP_FS_EXT4; type++) {
		xp_test_sparse(img, (1 << 20) + (256u << 20));
		struct xp_fs_opts o = {.type = (enum xp_fs_type)type, .uuid = uuid,
				       .reserved_percent = -1, .label = "data"};
		struct xp_fs_stats st;
		assert_int_equal(xp_fs_make(img, 1 << 20, 256u << 20, &o, &st, &d), 0);
		assert_int_equal(d.n, 0);
		assert_string_equal(st.uuid, uuid);
		assert_int_equal(st.entries, 0);
		xp_test_assert_fsck_clean(img, 1 << 20);
		char *got =
		    xp_test_out("blkid -p -o value -s UUID -O %d '%s' | tr -d '\\n'", 1 << 20, img);
		assert_string_equal(got, uuid);
		free(got);
		/* the root and lost+found, nothing else */
		got = xp_test_out("debugfs -R 'ls -l' '%s?offset=%d' 2>/dev/null | awk '{print $NF}'"
				  " | grep -v '^$' | tr '\\n' ' '",
				  img, 1 << 20);
		assert_string_equal(got, ". .. lost+found ");
		free(got);
	}
	/* sparse: the metadata, not the 256 MiB (the journal's blocks stay holes) */
	struct stat sb;
	assert_int_equal(stat(img, &sb), 0);
	assert_true((uint64_t)sb.st_blocks * 512 < (16u << 20));
	/* a random UUID without one; too small; a bad UUID */
	struct xp_fs_opts o = {.type = XP_FS_EXT4, .reserved_percent = -1};
	struct xp_fs_stats st;
	assert_int_equal(xp_fs_make(img, 0, 64u << 20, &o, &st, &d), 0);
	assert_string_not_equal(st.uuid, uuid);
	xp_test_assert_fsck_clean(img, 0);
	assert_int_equal(xp_fs_make(img, 0, 1 << 20, &o, NULL, &d), -ENOSPC);
	assert_true(d.n > 0);
	xp_diags_release(&d);
	o.uuid = "not-a-uuid";
	assert_int_equal(xp_fs_make(img, 0, 64u << 20, &o, NULL, &d), -EINVAL);
	xp_diags_release(&d);
	assert_int_equal(xp_fs_make(NULL, 0, 64u << 20, &o, NULL, &d), -EINVAL);
	assert_int_equal(xp_fs_make(img, 0, 64u << 20, NULL, NULL, &d), -EINVAL);
	xp_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ext4_everything),
	    cmocka_unit_test(test_ext3_everything_offset),
	    cmocka_unit_test(test_ext2_everything_offset),
	    cmocka_unit_test(test_offset_untouched),
	    cmocka_unit_test(test_big_directory),
	    cmocka_unit_test(test_estimate_fits),
	    cmocka_unit_test(test_unsafe_paths),
	    cmocka_unit_test(test_missing_hardlink),
	    cmocka_unit_test(test_truncated_and_corrupt),
	    cmocka_unit_test(test_gzip_stream),
	    cmocka_unit_test(test_nospace),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_progress_and_stats),
	    cmocka_unit_test(test_empty_and_stdin),
	    cmocka_unit_test(test_make_empty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
