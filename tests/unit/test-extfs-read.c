/*
 * test-extfs-read.c - reading ext2/3/4 filesystems made by the real tools (mke2fs -d
 * from a directory tree) through block devices: a bare filesystem image, one at 1 MiB
 * inside a disk partitioned by sfdisk, and that disk converted to qcow2 by qemu-img
 * and by xp_qcow2_from_raw. Results are compared with what was put in and with
 * dumpe2fs.
 */
#include <errno.h>
#include <fcntl.h>
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

#include <cmocka.h>

#include "testlib.h"

#include "xenprov/blockdev.h"
#include "xenprov/extfs.h"
#include "xenprov/partition.h"

#define UUID "0b8c8a71-6d1e-4a39-9f5b-1c2d3e4f5a6b"
#define LONG_TARGET                                                                                \
	"sub/this/is/a/rather/long/symlink/target/that/does/not/fit/in/the/inode/"                 \
	"block/array/so/it/lives/in/a/data/block"
#define BIG_SIZE (300000u)

static bool is_root;

/* One scratch directory for the group (main): the source tree, and the images the
 * tests make, which stay until its teardown removes it. */
XP_TEST_SCRATCH_WITH("extfs-read", make_tree, xp_test_nothing)

static void pattern(unsigned char *buf, size_t len)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
}

/* The source tree, made once (device nodes and owners too as root). */
static int make_tree(void)
{
	is_root = geteuid() == 0;
	const char *src = tpath("src");
	if (xp_test_sh("mkdir -p '%s/sub/deeper'", src) != 0)
		return -1;
	xp_test_write(tpath("src/hello.txt"), "hello world\n");
	xp_test_write(tpath("src/empty"), "");
	xp_test_write(tpath("src/sub/nested.txt"), "nested\n");
	unsigned char *big = malloc(BIG_SIZE);
	if (!big)
		return -1;
	pattern(big, BIG_SIZE);
	xp_test_write_bytes(tpath("src/big.bin"), big, BIG_SIZE);
	free(big);
	if (symlink("hello.txt", tpath("src/link")) < 0 ||
	    symlink(LONG_TARGET, tpath("src/longlink")) < 0 ||
	    symlink("/sub/nested.txt", tpath("src/sub/abslink")) < 0 ||
	    symlink("loop2", tpath("src/loop1")) < 0 || symlink("loop1", tpath("src/loop2")) < 0 ||
	    link(tpath("src/hello.txt"), tpath("src/hard")) < 0)
		return -1;
	if (chmod(tpath("src/sub"), 0750) < 0 || chmod(tpath("src/hello.txt"), 0640) < 0)
		return -1;
	if (xp_test_sh("touch -h -d @1234567890 '%s/hello.txt' '%s/sub'", src, src) != 0)
		return -1;
	/* beyond 2038: the epoch bits of large inodes */
	if (xp_test_sh("touch -d @4102444800 '%s/empty'", src) != 0)
		return -1;
	if (is_root) {
		if (xp_test_sh("mknod '%s/null' c 1 3 && mknod '%s/bigdev' b 259 70000 && "
			       "chown 1234:5678 '%s/sub/nested.txt'",
			       src, src, src) != 0)
			return -1;
	}
	return 0;
}

/* ---- helpers over an opened filesystem ---------------------------------------------- */

struct collect {
	unsigned char *data;
	size_t len;
	int fail_after;
};

static int sink(void *ud, const void *data, size_t len)
{
	struct collect *c = ud;
	if (c->fail_after-- == 0)
		return -ECANCELED;
	unsigned char *n = realloc(c->data, c->len + len);
	if (!n)
		return -ENOMEM;
	memcpy(n + c->len, data, len);
	c->data = n;
	c->len += len;
	return 0;
}

static void check_contents(struct xp_fs *fs)
{
	struct xp_fs_entry e;

	/* stat */
	assert_int_equal(xp_fs_stat(fs, "/hello.txt", &e), 0);
	assert_string_equal(e.name, "hello.txt");
	assert_int_equal(e.mode, S_IFREG | 0640);
	assert_int_equal(e.size, 12);
	assert_int_equal(e.mtime, 1234567890);
	assert_int_equal(e.nlink, 2);
	assert_null(e.link);
	uint32_t hello_ino = e.ino;
	xp_fs_entry_release(&e);
	assert_int_equal(xp_fs_stat(fs, "/hard", &e), 0);
	assert_int_equal(e.ino, hello_ino);
	xp_fs_entry_release(&e);

	assert_int_equal(xp_fs_stat(fs, "/empty", &e), 0);
	assert_int_equal(e.size, 0);
	assert_int_equal(e.mtime, 4102444800LL);
	xp_fs_entry_release(&e);

	assert_int_equal(xp_fs_stat(fs, "/link", &e), 0);
	assert_true(S_ISLNK(e.mode));
	assert_string_equal(e.link, "hello.txt");
	assert_int_equal(e.size, 9);
	xp_fs_entry_release(&e);
	assert_int_equal(xp_fs_stat(fs, "/longlink", &e), 0);
	assert_string_equal(e.link, LONG_TARGET);
	xp_fs_entry_release(&e);

	assert_int_equal(xp_fs_stat(fs, "/sub/", &e), 0);
	assert_string_equal(e.name, "sub");
	assert_int_equal(e.mode, S_IFDIR | 0750);
	assert_int_equal(e.mtime, 1234567890);
	assert_int_equal(e.nlink, 3);
	xp_fs_entry_release(&e);

	assert_int_equal(xp_fs_stat(fs, "/", &e), 0);
	assert_string_equal(e.name, "/");
	assert_int_equal(e.ino, 2);
	assert_true(S_ISDIR(e.mode));
	xp_fs_entry_release(&e);

	assert_int_equal(xp_fs_stat(fs, "//sub//nested.txt", &e), 0);
	assert_string_equal(e.name, "nested.txt");
	assert_int_equal(e.size, 7);
	if (is_root) {
		assert_int_equal(e.uid, 1234);
		assert_int_equal(e.gid, 5678);
	}
	xp_fs_entry_release(&e);

	if (is_root) {
		assert_int_equal(xp_fs_stat(fs, "/null", &e), 0);
		assert_true(S_ISCHR(e.mode));
		assert_int_equal(e.rdev_major, 1);
		assert_int_equal(e.rdev_minor, 3);
		xp_fs_entry_release(&e);
		assert_int_equal(xp_fs_stat(fs, "/bigdev", &e), 0);
		assert_true(S_ISBLK(e.mode));
		assert_int_equal(e.rdev_major, 259);
		assert_int_equal(e.rdev_minor, 70000);
		xp_fs_entry_release(&e);
	}

	assert_int_equal(xp_fs_stat(fs, "/missing", &e), -ENOENT);
	assert_null(e.name);
	assert_int_equal(xp_fs_stat(fs, "/sub/missing", &e), -ENOENT);
	assert_int_equal(xp_fs_stat(fs, "hello.txt", &e), -EINVAL);
	assert_int_equal(xp_fs_stat(fs, "", &e), -EINVAL);
	assert_int_equal(xp_fs_stat(fs, "/hello.txt/x", &e), -ENOTDIR);

	/* list */
	struct xp_fs_entry *v;
	size_t n;
	assert_int_equal(xp_fs_list(fs, "/", &v, &n), 0);
	const char *want_root[] = {"big.bin",  "bigdev", "empty", "hard",	"hello.txt", "link",
				   "longlink", "loop1",	 "loop2", "lost+found", "null",	     "sub"};
	size_t k = 0;
	for (size_t i = 0; i < sizeof(want_root) / sizeof(want_root[0]); i++) {
		if (!is_root &&
		    (strcmp(want_root[i], "null") == 0 || strcmp(want_root[i], "bigdev") == 0))
			continue;
		assert_true(k < n);
		assert_string_equal(v[k].name, want_root[i]);
		k++;
	}
	assert_int_equal(k, n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].name, "link") == 0)
			assert_string_equal(v[i].link, "hello.txt");
		if (strcmp(v[i].name, "big.bin") == 0)
			assert_int_equal(v[i].size, BIG_SIZE);
	}
	xp_fs_list_free(v, n);

	assert_int_equal(xp_fs_list(fs, "/sub", &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "abslink");
	assert_string_equal(v[0].link, "/sub/nested.txt");
	assert_string_equal(v[1].name, "deeper");
	assert_string_equal(v[2].name, "nested.txt");
	xp_fs_list_free(v, n);
	assert_int_equal(xp_fs_list(fs, "/sub/deeper", &v, &n), 0);
	assert_int_equal(n, 0);
	xp_fs_list_free(v, n);
	assert_int_equal(xp_fs_list(fs, "/hello.txt", &v, &n), -ENOTDIR);
	assert_int_equal(xp_fs_list(fs, "/missing", &v, &n), -ENOENT);
	xp_fs_list_free(NULL, 0);

	/* read */
	struct collect c = {NULL, 0, -1};
	assert_int_equal(xp_fs_read(fs, "/hello.txt", sink, &c), 0);
	assert_int_equal(c.len, 12);
	assert_memory_equal(c.data, "hello world\n", 12);
	free(c.data);
	c = (struct collect){NULL, 0, -1};
	assert_int_equal(xp_fs_read(fs, "/link", sink, &c), 0); /* followed */
	assert_memory_equal(c.data, "hello world\n", 12);
	free(c.data);
	c = (struct collect){NULL, 0, -1};
	assert_int_equal(xp_fs_read(fs, "/sub/abslink", sink, &c), 0); /* inside the image */
	assert_int_equal(c.len, 7);
	assert_memory_equal(c.data, "nested\n", 7);
	free(c.data);
	c = (struct collect){NULL, 0, -1};
	assert_int_equal(xp_fs_read(fs, "/big.bin", sink, &c), 0);
	assert_int_equal(c.len, BIG_SIZE);
	unsigned char *big = malloc(BIG_SIZE);
	pattern(big, BIG_SIZE);
	assert_memory_equal(c.data, big, BIG_SIZE);
	free(big);
	free(c.data);
	c = (struct collect){NULL, 0, -1};
	assert_int_equal(xp_fs_read(fs, "/empty", sink, &c), 0);
	assert_int_equal(c.len, 0);
	c = (struct collect){NULL, 0, 1}; /* the sink fails on its second chunk */
	assert_int_equal(xp_fs_read(fs, "/big.bin", sink, &c), -ECANCELED);
	free(c.data);
	c = (struct collect){NULL, 0, -1};
	assert_int_equal(xp_fs_read(fs, "/sub", sink, &c), -EISDIR);
	assert_int_equal(xp_fs_read(fs, "/missing", sink, &c), -ENOENT);
	assert_int_equal(xp_fs_read(fs, "/loop1", sink, &c), -ELOOP);
	if (is_root)
		assert_int_equal(xp_fs_read(fs, "/null", sink, &c), -EINVAL);
	assert_int_equal(xp_fs_read(fs, "/hello.txt", NULL, &c), -EINVAL);
	assert_null(c.data);
}

static uint64_t dumpe2fs_field(const char *image, uint64_t offset, const char *field)
{
	/* libext2fs reads "name?offset=N" (ext2fs_open2's io options) */
	char *out = xp_test_out("dumpe2fs -h '%s?offset=%llu' 2>/dev/null | sed -n 's/^%s: *//p'",
				image, (unsigned long long)offset, field);
	unsigned long long v = 0;
	assert_int_equal(sscanf(out, "%llu", &v), 1);
	free(out);
	return v;
}

static void check_info(struct xp_fs *fs, const char *image, uint64_t offset, enum xp_fs_type type)
{
	struct xp_fs_info info;
	assert_int_equal(xp_fs_info(fs, &info), 0);
	assert_int_equal(info.type, type);
	assert_string_equal(info.uuid, UUID);
	assert_string_equal(info.label, "xp-root-label");
	assert_int_equal(info.block_size, 4096);
	assert_int_equal(info.blocks_total, 16 << 20 >> 12);
	if (image) {
		assert_int_equal(info.blocks_free, dumpe2fs_field(image, offset, "Free blocks"));
		assert_int_equal(info.inodes_free, dumpe2fs_field(image, offset, "Free inodes"));
		assert_int_equal(info.inodes_total, dumpe2fs_field(image, offset, "Inode count"));
	}
	assert_true(info.blocks_free > 0 && info.blocks_free < info.blocks_total);
}

static void mkfs(const char *image, const char *type, const char *extra)
{
	assert_int_equal(
	    xp_test_sh(
		"mke2fs -q -F -t %s -b 4096 -L xp-root-label -U %s %s -d '%s' '%s' 16M >/dev/null",
		type, UUID, extra, tpath("src"), image),
	    0);
	/* mke2fs 1.47.0 -d drops the epoch bits of times past 2038: set them */
	assert_int_equal(
	    xp_test_sh("debugfs -w -R 'sif /empty mtime_extra 1' '%s' >/dev/null 2>&1", image), 0);
}

/* ---- tests ----------------------------------------------------------------------- */

/* The filesystem at off of image, opened; *bd, the block device it is read through. */
static struct xp_fs *fs_at(const char *image, uint64_t off, struct xp_blockdev **bd)
{
	struct xp_fs *fs;
	assert_int_equal(xp_blockdev_open(image, bd), 0);
	assert_int_equal(xp_fs_open(*bd, off, &fs), 0);
	return fs;
}

/* Closes what fs_at opened. */
static void fs_done(struct xp_fs *fs, struct xp_blockdev *bd)
{
	xp_fs_close(fs);
	xp_blockdev_close(bd);
}

static void test_bare_ext4(void **state)
{
	(void)state;
	const char *img = tpath("bare.img");
	mkfs(img, "ext4", "");
	xp_test_assert_fsck_clean(img, 0);
	struct xp_blockdev *bd;
	struct xp_fs *fs = fs_at(img, 0, &bd);
	check_info(fs, img, 0, XP_FS_EXT4);
	check_contents(fs);
	fs_done(fs, bd);
}

static void test_types(void **state)
{
	(void)state;
	const char *img = tpath("types.img");
	static const struct {
		const char *t;
		enum xp_fs_type type;
	} types[] = {{"ext2", XP_FS_EXT2}, {"ext3", XP_FS_EXT3}, {"ext4", XP_FS_EXT4}};
	for (size_t i = 0; i < 3; i++) {
		unlink(img);
		mkfs(img, types[i].t, "");
		struct xp_blockdev *bd;
		struct xp_fs *fs = fs_at(img, 0, &bd);
		check_info(fs, NULL, 0, types[i].type);
		check_contents(fs);
		fs_done(fs, bd);
	}
	/* ext4 with inline data: small files and directories live in the inode */
	unlink(img);
	mkfs(img, "ext4", "-O inline_data");
	struct xp_blockdev *bd;
	struct xp_fs *fs = fs_at(img, 0, &bd);
	check_contents(fs);
	fs_done(fs, bd);
}

static void open_partitioned(const char *image, enum xp_image_format fmt)
{
	struct xp_blockdev *bd;
	struct xp_fs *fs;
	enum xp_label label;
	struct xp_part *parts;
	size_t n;
	assert_int_equal(xp_blockdev_open(image, &bd), 0);
	assert_int_equal(xp_blockdev_format(bd), fmt);
	assert_int_equal(xp_partition_read(bd, &label, &parts, &n), 0);
	assert_int_equal(label, XP_LABEL_MSDOS);
	assert_int_equal(n, 1);
	assert_int_equal(parts[0].offset, 1 << 20);
	assert_int_equal(parts[0].size, 16 << 20);
	assert_int_equal(xp_fs_open(bd, parts[0].offset, &fs), 0);
	free(parts);
	check_info(fs, NULL, 0, XP_FS_EXT4);
	check_contents(fs);
	xp_fs_close(fs);
	/* nothing at the start of the disk but the table */
	assert_int_equal(xp_fs_open(bd, 0, &fs), -EINVAL);
	assert_null(fs);
	xp_blockdev_close(bd);
}

static void test_partitioned_raw_and_qcow2(void **state)
{
	(void)state;
	const char *disk = tpath("disk.img"), *fsimg = tpath("part.img");
	const char *q1 = tpath("disk-qemu.qcow2"), *q2 = tpath("disk-xp.qcow2");
	unlink(disk);
	assert_int_equal(
	    xp_test_sh("truncate -s 40M '%s' && printf 'label: dos\\nstart=2048, size=32768, "
		       "type=83\\n' | sfdisk -q '%s'",
		       disk, disk),
	    0);
	/* the filesystem made apart and copied in at 1 MiB */
	mkfs(fsimg, "ext4", "");
	assert_int_equal(
	    xp_test_sh("dd if='%s' of='%s' bs=1M seek=1 conv=notrunc,sparse status=none", fsimg,
		       disk),
	    0);
	open_partitioned(disk, XP_IMAGE_RAW);
	/* blocks_free etc. against dumpe2fs on the embedded filesystem */
	struct xp_blockdev *bd;
	struct xp_fs *fs = fs_at(disk, 1 << 20, &bd);
	check_info(fs, disk, 1 << 20, XP_FS_EXT4);
	fs_done(fs, bd);
	assert_int_equal(xp_test_sh("qemu-img convert -O qcow2 '%s' '%s'", disk, q1), 0);
	open_partitioned(q1, XP_IMAGE_QCOW2);
	assert_int_equal(xp_qcow2_from_raw(disk, q2, 0), 0);
	open_partitioned(q2, XP_IMAGE_QCOW2);
	/* an overlay over the qcow2 reads the same filesystem */
	assert_int_equal(xp_qcow2_create_overlay(tpath("disk-ov.qcow2"), "disk-xp.qcow2",
						 XP_IMAGE_QCOW2, 40 << 20),
			 0);
	open_partitioned(tpath("disk-ov.qcow2"), XP_IMAGE_QCOW2);
}

static void test_open_errors(void **state)
{
	(void)state;
	const char *img = tpath("zeros.img");
	assert_int_equal(xp_test_sh("truncate -s 4M '%s'", img), 0);
	struct xp_blockdev *bd;
	struct xp_fs *fs = (struct xp_fs *)1;
	assert_int_equal(xp_blockdev_open(img, &bd), 0);
	assert_int_equal(xp_fs_open(bd, 0, &fs), -EINVAL);
	assert_null(fs);
	assert_int_equal(xp_fs_open(bd, 4 << 20, &fs), -EINVAL);
	assert_int_equal(xp_fs_open(bd, UINT64_MAX, &fs), -EINVAL);
	assert_int_equal(xp_fs_open(NULL, 0, &fs), -EINVAL);
	xp_blockdev_close(bd);

	/* a filesystem cut short: the superblock reads, the rest is past the end */
	const char *cut = tpath("cut.img");
	mkfs(cut, "ext4", "");
	assert_int_equal(truncate(cut, 8192), 0);
	assert_int_equal(xp_blockdev_open(cut, &bd), 0);
	/* libext2fs reads the superblock and group descriptors at open; the root
	 * directory is past the end */
	assert_int_equal(xp_fs_open(bd, 0, &fs), 0);
	struct xp_fs_entry *v;
	size_t n;
	assert_int_equal(xp_fs_list(fs, "/", &v, &n), -EIO);
	xp_fs_close(fs);
	assert_int_equal(truncate(cut, 1500), 0); /* the superblock itself cut */
	xp_blockdev_close(bd);
	assert_int_equal(xp_blockdev_open(cut, &bd), 0);
	assert_int_equal(xp_fs_open(bd, 0, &fs), -EINVAL);
	xp_blockdev_close(bd);
	xp_fs_close(NULL);
	xp_fs_entry_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bare_ext4),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_partitioned_raw_and_qcow2),
	    cmocka_unit_test(test_open_errors),
	};
	return xp_test_run_group("mke2fs sfdisk qemu-img", tests, setup, teardown);
}
