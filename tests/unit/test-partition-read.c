/*
 * test-partition-read.c - xp_partition_read on tables written by sfdisk(8) (msdos and
 * gpt, with names and UUIDs), compared field by field with `sfdisk --json`, read from
 * raw and qcow2 images; damaged GPT headers and entries are refused with -EBADMSG.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testlib.h"

#include "xenprov/blockdev.h"
#include "xenprov/partition.h"

/* One scratch directory for the group (main); the images the tests make stay in it until
 * its teardown removes it. */
XP_TEST_SCRATCH("partition-read")

/* writes a table with sfdisk from a script; the image is size bytes */
static void sfdisk(const char *image, uint64_t size, const char *script)
{
	xp_test_sparse(image, size);
	const char *in = tpath("sfdisk.script");
	xp_test_write(in, script);
	assert_int_equal(xp_test_sh("sfdisk -q '%s' <'%s' >/dev/null", image, in), 0);
}

static int read_table(const char *image, enum xp_label *label, struct xp_part **parts, size_t *n)
{
	struct xp_blockdev *bd;
	int r = xp_blockdev_open(image, &bd);
	assert_int_equal(r, 0);
	r = xp_partition_read(bd, label, parts, n);
	xp_blockdev_close(bd);
	return r;
}

/* The table of image, read: the label and the number of partitions wanted; the
 * partitions (heap, the caller frees). */
static struct xp_part *read_as(const char *image, enum xp_label want_label, size_t want_n)
{
	enum xp_label label;
	struct xp_part *parts;
	size_t n;
	assert_int_equal(read_table(image, &label, &parts, &n), 0);
	assert_int_equal(label, want_label);
	assert_int_equal(n, want_n);
	return parts;
}

/* read_as on a 64 MiB image whose table sfdisk wrote from script. */
static struct xp_part *write_read(const char *image, const char *script, enum xp_label want_label,
				  size_t want_n)
{
	sfdisk(image, 64 << 20, script);
	return read_as(image, want_label, want_n);
}

/* The first partition of the tables below: number 1, 1 MiB in, 10 MiB long, of type. */
static void assert_first(const struct xp_part *parts, const char *type)
{
	assert_int_equal(parts[0].number, 1);
	assert_int_equal(parts[0].offset, 1 << 20);
	assert_int_equal(parts[0].size, 10 << 20);
	assert_string_equal(parts[0].type, type);
}

/* every partition sfdisk --json reports, equal to ours */
static void assert_matches_sfdisk(const char *image, enum xp_label label,
				  const struct xp_part *parts, size_t n)
{
	char *out;
	assert_int_equal(xp_test_run(&out, "sfdisk --json '%s'", image), 0);
	json_error_t err;
	json_t *j = json_loads(out, 0, &err);
	free(out);
	assert_non_null(j);
	json_t *pt = json_object_get(j, "partitiontable");
	assert_string_equal(json_string_value(json_object_get(pt, "label")),
			    label == XP_LABEL_GPT ? "gpt" : "dos");
	json_t *arr = json_object_get(pt, "partitions");
	assert_int_equal(json_array_size(arr), n);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(arr, i);
		const char *node = json_string_value(json_object_get(e, "node"));
		size_t nl = strlen(node);
		unsigned num = 0;
		while (nl > 0 && node[nl - 1] >= '0' && node[nl - 1] <= '9')
			nl--;
		num = (unsigned)atoi(node + nl);
		assert_int_equal(parts[i].number, num);
		assert_int_equal(parts[i].offset,
				 (uint64_t)json_integer_value(json_object_get(e, "start")) * 512);
		assert_int_equal(parts[i].size,
				 (uint64_t)json_integer_value(json_object_get(e, "size")) * 512);
		const char *type = json_string_value(json_object_get(e, "type"));
		assert_string_equal(parts[i].type, type);
		if (label == XP_LABEL_GPT) {
			assert_string_equal(parts[i].uuid,
					    json_string_value(json_object_get(e, "uuid")));
			json_t *name = json_object_get(e, "name");
			assert_string_equal(parts[i].name, name ? json_string_value(name) : "");
		} else {
			assert_string_equal(parts[i].uuid, "");
			assert_string_equal(parts[i].name, "");
		}
	}
	json_decref(j);
}

/* parts (n, read from img, then freed) are what sfdisk --json says img holds; so are
 * those read through a qcow2 copy of img, q. */
static void assert_sfdisk_agrees(const char *img, const char *q, enum xp_label label,
				 struct xp_part *parts, size_t n)
{
	assert_matches_sfdisk(img, label, parts, n);
	free(parts);
	assert_int_equal(xp_qcow2_from_raw(img, q, 0), 0);
	parts = read_as(q, label, n);
	assert_matches_sfdisk(img, label, parts, n);
	free(parts);
}

static void test_msdos(void **state)
{
	(void)state;
	const char *img = tpath("dos.img");
	struct xp_part *parts = write_read(img,
					   "label: dos\nlabel-id: 0x12345678\n"
					   "start=2048, size=20480, type=83, bootable\n"
					   "start=22528, size=8192, type=82\n"
					   "start=40960, size=2048, type=c\n",
					   XP_LABEL_MSDOS, 3);
	assert_first(parts, "83");
	assert_string_equal(parts[1].type, "82");
	assert_string_equal(parts[2].type, "c"); /* sfdisk prints "c": no leading zero */
	/* sfdisk agrees, also through qcow2 */
	const char *q = tpath("dos.qcow2");
	assert_sfdisk_agrees(img, q, XP_LABEL_MSDOS, parts, 3);

	/* a hole in the numbering and an extended partition (skipped, no crash) */
	parts = write_read(img,
			   "label: dos\n"
			   "1 : start=2048, size=4096, type=83\n"
			   "3 : start=8192, size=40960, type=5\n"
			   "5 : start=10240, size=4096, type=83\n",
			   XP_LABEL_MSDOS, 1);
	assert_int_equal(parts[0].number, 1);
	free(parts);
}

static void test_gpt(void **state)
{
	(void)state;
	const char *img = tpath("gpt.img");
	struct xp_part *parts =
	    write_read(img,
		       "label: gpt\n"
		       "label-id: 5B4C3D2E-1F00-4A11-9B22-334455667788\n"
		       "start=2048, size=20480, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, "
		       "uuid=11111111-2222-4333-8444-555555555555, name=\"root fs\"\n"
		       "start=22528, size=8192, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, "
		       "name=\"swäp ✓\"\n"
		       "start=40960, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n"
		       /* 36 UTF-16 units of 3-byte characters: truncated to fit 71 bytes */
		       "start=43008, size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, "
		       "name=\"✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓\"\n",
		       XP_LABEL_GPT, 4);
	assert_first(parts, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
	assert_string_equal(parts[0].uuid, "11111111-2222-4333-8444-555555555555");
	assert_string_equal(parts[0].name, "root fs");
	assert_string_equal(parts[1].name, "swäp ✓");
	assert_string_equal(parts[2].name, "");
	assert_int_equal(strlen(parts[3].name), 108); /* all 36 characters, 3 bytes each */
	assert_int_equal(parts[3].number, 4);
	assert_string_equal(parts[3].name, "✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓");
	free(parts);

	/* first three against sfdisk --json (the 4th name is longer than xp_part.name) */
	parts = write_read(
	    img,
	    "label: gpt\n"
	    "start=2048, size=20480, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=\"root\"\n"
	    "start=22528, size=8192, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, "
	    "name=\"swäp ✓\"\n"
	    "5 : start=40960, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n",
	    XP_LABEL_GPT, 3);
	assert_int_equal(parts[2].number, 5);
	/* and through qcow2 */
	const char *q = tpath("gpt.qcow2");
	assert_sfdisk_agrees(img, q, XP_LABEL_GPT, parts, 3);
}

/* ---- damaged tables ------------------------------------------------------------------- */

static uint32_t crc32_ieee(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* patches the GPT header at LBA 1: set a 32-bit field, then fix the CRC if asked */
static void patch_header(const char *img, size_t off, uint32_t val, int fix_crc)
{
	int fd = open(img, O_RDWR);
	assert_true(fd >= 0);
	unsigned char h[512];
	assert_int_equal(pread(fd, h, 512, 512), 512);
	put_le32(h + off, val);
	if (fix_crc) {
		put_le32(h + 16, 0);
		put_le32(h + 16, crc32_ieee(h, 92));
	}
	assert_int_equal(pwrite(fd, h, 512, 512), 512);
	close(fd);
}

static void test_gpt_damaged(void **state)
{
	(void)state;
	const char *img = tpath("bad.img");
	static const char *script =
	    "label: gpt\nstart=2048, size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n";
	enum xp_label label;
	struct xp_part *parts;
	size_t n;
	struct {
		const char *what;
		size_t off;
		uint32_t val;
		int fix_crc;
	} cases[] = {
	    {"header CRC", 40, 4096, 0},       /* first usable LBA changed, CRC stale */
	    {"signature", 0, 0x58494645, 1},   /* "EFIXPART" */
	    {"header size small", 12, 91, 1},  /* below 92 */
	    {"header size large", 12, 513, 1}, /* beyond the sector */
	    {"entry size 100", 84, 100, 1},    /* not 128 * 2^n */
	    {"entry size 0", 84, 0, 1},	       /* */
	    {"entry count absurd", 80, 0x7fffffff, 1},
	    {"entries CRC", 88, 0xdeadbeef, 1}, /* entries CRC mismatch */
	    {"entries LBA 0", 72, 0, 1},	/* inside the MBR */
	    {"my LBA", 24, 7, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sfdisk(img, 8 << 20, script);
		patch_header(img, cases[i].off, cases[i].val, cases[i].fix_crc);
		parts = (struct xp_part *)1;
		int r = read_table(img, &label, &parts, &n);
		if (r != -EBADMSG)
			fail_msg("%s: %d", cases[i].what, r);
		assert_null(parts);
		assert_int_equal(n, 0);
	}
	/* an entry changed: the entries CRC no longer matches */
	sfdisk(img, 8 << 20, script);
	int fd = open(img, O_RDWR);
	assert_int_equal(pwrite(fd, "X", 1, 1024 + 56), 1);
	close(fd);
	assert_int_equal(read_table(img, &label, &parts, &n), -EBADMSG);
	/* an entry whose last LBA is before its first (CRCs recomputed) */
	sfdisk(img, 8 << 20, script);
	fd = open(img, O_RDWR);
	unsigned char ents[128 * 128];
	assert_int_equal(pread(fd, ents, sizeof(ents), 1024), (ssize_t)sizeof(ents));
	put_le32(ents + 40, 100);
	put_le32(ents + 44, 0);
	assert_int_equal(pwrite(fd, ents, sizeof(ents), 1024), (ssize_t)sizeof(ents));
	close(fd);
	patch_header(img, 88, crc32_ieee(ents, sizeof(ents)), 1);
	assert_int_equal(read_table(img, &label, &parts, &n), -EBADMSG);
}

static void test_no_table(void **state)
{
	(void)state;
	const char *img = tpath("none.img");
	xp_test_sparse(img, 1 << 20);
	assert_null(read_as(img, XP_LABEL_NONE, 0));
	/* the boot signature, but a status byte no MBR has: not a table */
	int fd = open(img, O_WRONLY);
	assert_int_equal(pwrite(fd, "\x55\xaa", 2, 510), 2);
	assert_int_equal(pwrite(fd, "\x42", 1, 446), 1);
	close(fd);
	free(read_as(img, XP_LABEL_NONE, 0));
	/* an empty MBR: msdos with no partitions */
	fd = open(img, O_WRONLY);
	assert_int_equal(pwrite(fd, "\x00", 1, 446), 1);
	close(fd);
	free(read_as(img, XP_LABEL_MSDOS, 0));
	/* a file smaller than a sector */
	assert_int_equal(truncate(img, 100), 0);
	free(read_as(img, XP_LABEL_NONE, 0));
	enum xp_label label;
	struct xp_part *parts;
	size_t n;
	assert_int_equal(xp_partition_read(NULL, &label, &parts, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_msdos),
	    cmocka_unit_test(test_gpt),
	    cmocka_unit_test(test_gpt_damaged),
	    cmocka_unit_test(test_no_table),
	};
	return xp_test_run_group("sfdisk", tests, setup, teardown);
}
