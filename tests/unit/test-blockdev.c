/*
 * test-blockdev.c - raw and qcow2 block devices, checked against QEMU's own tools:
 * images we write pass `qemu-img check` and read back equal through qemu-img convert,
 * images qemu-img/qemu-io write (v2, v3, backing files, zero clusters, compressed
 * clusters) read equal to what qemu-img convert says, and every malformed header is
 * refused with its exact error.
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
#include <jansson.h>

#include "testlib.h"

#include "image/blockdev-internal.h"
#include "xenprov/blockdev.h"

XP_TEST_SCRATCH("blockdev")

/* qemu-img check: exit 0 and no corruptions or leaks in its JSON */
static void assert_qemu_check(const char *path)
{
	char *out = xp_test_out("qemu-img check --output=json '%s'", path);
	json_error_t jerr;
	json_t *j = json_loads(out, 0, &jerr);
	if (!j)
		fprintf(stderr, "qemu-img check: %s\n", out);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "check-errors")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "corruptions")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "leaks")), 0);
	json_decref(j);
	free(out);
	assert_int_equal(xp_test_sh("qemu-img check -q '%s'", path), 0);
}

static uint64_t qemu_virtual_size(const char *path, char *fmt, size_t fmtlen)
{
	char *out = xp_test_out("qemu-img info --output=json '%s'", path);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	uint64_t v = (uint64_t)json_integer_value(json_object_get(j, "virtual-size"));
	if (fmt)
		snprintf(fmt, fmtlen, "%s", json_string_value(json_object_get(j, "format")));
	json_decref(j);
	free(out);
	return v;
}

static void write_at(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* deterministic, non-zero pattern */
static void pattern(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)((x >> 16) | 1);
	}
}

static void fill_pattern(const char *path, uint64_t off, size_t len, uint32_t seed)
{
	unsigned char *b = malloc(len);
	assert_non_null(b);
	pattern(b, len, seed);
	write_at(path, off, b, len);
	free(b);
}

/* reads the whole device and compares it with the file at ref (zeros past its end) */
static void assert_reads_as(struct xp_blockdev *bd, const char *ref)
{
	int fd = open(ref, O_RDONLY);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint64_t size = xp_blockdev_size(bd);
	assert_true(size >= (uint64_t)st.st_size);
	size_t bs = 3 << 20; /* not a multiple of the cluster size: reads straddle clusters */
	unsigned char *a = malloc(bs), *b = malloc(bs);
	assert_non_null(a);
	assert_non_null(b);
	for (uint64_t off = 0; off < size; off += bs) {
		size_t n = size - off < bs ? (size_t)(size - off) : bs;
		assert_int_equal(xp_blockdev_pread(bd, a, n, off), 0);
		memset(b, 0, n);
		ssize_t got = pread(fd, b, n, (off_t)off);
		assert_true(got >= 0);
		if (memcmp(a, b, n) != 0) {
			size_t i = 0;
			while (a[i] == b[i])
				i++;
			fail_msg("differs at byte %llu: %02x != %02x",
				 (unsigned long long)(off + i), a[i], b[i]);
		}
	}
	/* beyond the end: zeros */
	memset(a, 0xff, 4096);
	assert_int_equal(xp_blockdev_pread(bd, a, 4096, size), 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(a[i], 0);
	free(a);
	free(b);
	close(fd);
}

static void assert_image_equals(const char *image, const char *ref)
{
	struct xp_blockdev *bd = NULL;
	assert_int_equal(xp_blockdev_open(image, &bd), 0);
	assert_reads_as(bd, ref);
	xp_blockdev_close(bd);
}

/* ---- raw ------------------------------------------------------------------------- */

static void test_raw(void **state)
{
	(void)state;
	const char *raw = tpath("plain.raw");
	xp_test_sparse(raw, 5 << 20);
	fill_pattern(raw, 4096, 10000, 1);
	fill_pattern(raw, (5 << 20) - 100, 100, 2);
	struct xp_blockdev *bd = NULL;
	assert_int_equal(xp_blockdev_open(raw, &bd), 0);
	assert_int_equal(xp_blockdev_format(bd), XP_IMAGE_RAW);
	assert_int_equal(xp_blockdev_size(bd), 5 << 20);
	assert_null(xp_blockdev_backing(bd));
	assert_reads_as(bd, raw);
	xp_blockdev_close(bd);
	assert_string_equal(xp_image_format_name(XP_IMAGE_RAW), "raw");
	assert_string_equal(xp_image_format_name(XP_IMAGE_QCOW2), "qcow2");
	xp_blockdev_close(NULL);
}

/* ---- xp_qcow2_from_raw ------------------------------------------------------------ */

static void convert_and_verify(const char *raw, const char *q, unsigned cluster_bits,
			       uint64_t expect_vsize)
{
	assert_int_equal(xp_qcow2_from_raw(raw, q, cluster_bits), 0);
	struct stat st;
	assert_int_equal(stat(q, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_qemu_check(q);
	char fmt[32];
	assert_int_equal(qemu_virtual_size(q, fmt, sizeof(fmt)), expect_vsize);
	assert_string_equal(fmt, "qcow2");

	struct xp_blockdev *bd = NULL;
	assert_int_equal(xp_blockdev_open(q, &bd), 0);
	assert_int_equal(xp_blockdev_format(bd), XP_IMAGE_QCOW2);
	assert_int_equal(xp_blockdev_size(bd), expect_vsize);
	assert_reads_as(bd, raw);
	xp_blockdev_close(bd);

	/* what QEMU reads out of our image is the raw file (padded to 512 bytes) */
	const char *back = tpath("back.raw");
	assert_int_equal(xp_test_sh("qemu-img convert -O raw '%s' '%s'", q, back), 0);
	assert_int_equal(xp_test_sh("truncate -s %llu '%s'", (unsigned long long)expect_vsize, raw),
			 0);
	assert_int_equal(xp_test_sh("cmp -s '%s' '%s'", raw, back), 0);
	unlink(back);
}

static void test_from_raw_patterns(void **state)
{
	(void)state;
	const char *raw = tpath("pat.raw"), *q = tpath("pat.qcow2");
	uint64_t size = 200ULL << 20;
	xp_test_sparse(raw, size);
	fill_pattern(raw, 0, 512, 1);		       /* first sector only */
	fill_pattern(raw, (1 << 20) + 100, 300000, 2); /* unaligned, spans clusters */
	fill_pattern(raw, 10 << 20, 5 << 20, 3);       /* a large run */
	fill_pattern(raw, (100ULL << 20) - 10, 20, 4); /* across a cluster boundary */
	fill_pattern(raw, size - 65536, 65536, 5);     /* the last cluster */
	{
		/* written zeros: data as far as SEEK_DATA knows, but must stay unallocated */
		unsigned char *z = calloc(1, 4 << 20);
		write_at(raw, 50 << 20, z, 4 << 20);
		free(z);
	}
	convert_and_verify(raw, q, 0, size);
	struct stat st;
	assert_int_equal(stat(q, &st), 0);
	/* 5 MiB + ~300 KiB + 3 clusters of data + metadata: well under 7 MiB */
	assert_true(st.st_size < (7 << 20));
	assert_true(st.st_size > (5 << 20));
	unlink(raw);
	unlink(q);
}

static void test_from_raw_cluster_sizes(void **state)
{
	(void)state;
	static const unsigned bits[] = {9, 12, 16, 21};
	const char *raw = tpath("cs.raw"), *q = tpath("cs.qcow2");
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		xp_test_sparse(raw, 9 << 20);
		fill_pattern(raw, 3, 70000, (uint32_t)i);
		fill_pattern(raw, (6 << 20) + 4097, 1 << 20, (uint32_t)i + 10);
		convert_and_verify(raw, q, bits[i], 9 << 20);
	}
	/* 512-byte clusters over 64 MiB: more than one L2 table (each maps 32 KiB)
	 * and several refcount blocks */
	xp_test_sparse(raw, 64 << 20);
	for (uint64_t off = 0; off < (64 << 20); off += (1 << 20) + 512)
		fill_pattern(raw, off, 1000, (uint32_t)off);
	convert_and_verify(raw, q, 9, 64 << 20);
	unlink(raw);
	unlink(q);
}

static void test_from_raw_odd_and_empty(void **state)
{
	(void)state;
	const char *raw = tpath("odd.raw"), *q = tpath("odd.qcow2");
	/* not a multiple of 512: the virtual size rounds up, the tail reads as zeros */
	xp_test_sparse(raw, 1000001);
	fill_pattern(raw, 999000, 1001, 7);
	convert_and_verify(raw, q, 0, 1000448);

	xp_test_sparse(raw, 0);
	convert_and_verify(raw, q, 0, 0);

	/* fully allocated, no holes at all */
	unlink(raw);
	fill_pattern(raw, 0, 3 << 20, 9);
	convert_and_verify(raw, q, 0, 3 << 20);
	unlink(raw);
	unlink(q);
}

static void test_from_raw_errors(void **state)
{
	(void)state;
	const char *raw = tpath("e.raw");
	xp_test_sparse(raw, 1 << 20);
	assert_int_equal(xp_qcow2_from_raw(raw, tpath("e.qcow2"), 8), -EINVAL);
	assert_int_equal(xp_qcow2_from_raw(raw, tpath("e.qcow2"), 22), -EINVAL);
	assert_int_equal(xp_qcow2_from_raw(tpath("missing.raw"), tpath("e.qcow2"), 0), -ENOENT);
	assert_int_equal(xp_qcow2_from_raw(tmpdir, tpath("e.qcow2"), 0), -EISDIR);
	assert_int_equal(xp_qcow2_from_raw(raw, tpath("no/such/dir/e.qcow2"), 0), -ENOENT);
	assert_int_equal(xp_qcow2_from_raw(NULL, tpath("e.qcow2"), 0), -EINVAL);
	assert_int_equal(access(tpath("e.qcow2"), F_OK), -1);
	unlink(raw);
}

/* ---- images made by QEMU ---------------------------------------------------------- */

/* our reading of image == qemu-img convert's */
static void assert_same_as_qemu(const char *image)
{
	const char *ref = tpath("qemu-ref.raw");
	assert_int_equal(xp_test_sh("qemu-img convert -O raw '%s' '%s'", image, ref), 0);
	assert_image_equals(image, ref);
	unlink(ref);
}

static void test_read_qemu_images(void **state)
{
	(void)state;
	static const char *opts[] = {
	    "compat=1.1",
	    "compat=0.10",
	    "compat=1.1,cluster_size=4096",
	    "compat=1.1,cluster_size=2M",
	    "compat=1.1,refcount_bits=64",
	};
	const char *q = tpath("qemu.qcow2");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		unlink(q);
		assert_int_equal(
		    xp_test_sh("qemu-img create -q -f qcow2 -o %s '%s' 8M", opts[i], q), 0);
		assert_int_equal(
		    xp_test_sh("qemu-io -c 'write -P 0xab 0 64k' -c 'write -P 0xcd 1000k 8k' "
			       "-c 'write -P 0x11 8100k 92k' '%s' >/dev/null",
			       q),
		    0);
		struct xp_blockdev *bd = NULL;
		assert_int_equal(xp_blockdev_open(q, &bd), 0);
		assert_int_equal(xp_blockdev_format(bd), XP_IMAGE_QCOW2);
		assert_int_equal(xp_blockdev_size(bd), 8 << 20);
		unsigned char b[4];
		assert_int_equal(xp_blockdev_pread(bd, b, 4, 65534), 0);
		assert_int_equal(b[0], 0xab);
		assert_int_equal(b[1], 0xab);
		assert_int_equal(b[2], 0);
		assert_int_equal(b[3], 0);
		xp_blockdev_close(bd);
		assert_same_as_qemu(q);
	}
	unlink(q);
}

static void test_read_backing_and_zero_clusters(void **state)
{
	(void)state;
	const char *base = tpath("base.qcow2"), *ov = tpath("ov.qcow2"), *raw = tpath("base.raw");
	unlink(base);
	unlink(ov);
	assert_int_equal(xp_test_sh("qemu-img create -q -f qcow2 '%s' 4M", base), 0);
	assert_int_equal(
	    xp_test_sh("qemu-io -c 'write -P 0xab 0 256k' -c 'write -P 0x5a 3M 1M' '%s' "
		       ">/dev/null",
		       base),
	    0);
	/* relative backing name, resolved against the overlay's directory */
	assert_int_equal(
	    xp_test_sh("cd '%s' && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2 "
		       "6M",
		       tmpdir),
	    0);
	/* a zero cluster over backing data, and an explicitly written one */
	assert_int_equal(xp_test_sh("qemu-io -c 'write -z 64k 64k' -c 'write -P 0x77 128k 4k' "
				    "-c 'write -z -u 3M 128k' '%s' >/dev/null",
				    ov),
			 0);
	struct xp_blockdev *bd = NULL;
	assert_int_equal(xp_blockdev_open(ov, &bd), 0);
	assert_string_equal(xp_blockdev_backing(bd), "base.qcow2");
	assert_int_equal(xp_blockdev_size(bd), 6 << 20);
	unsigned char b[3];
	assert_int_equal(xp_blockdev_pread(bd, b, 1, 64 << 10), 0);
	assert_int_equal(b[0], 0); /* zero cluster hides the 0xab below */
	assert_int_equal(xp_blockdev_pread(bd, b, 3, (128 << 10) + 4095), 0);
	assert_int_equal(b[0], 0x77);
	assert_int_equal(b[1], 0xab); /* copied from the backing file on write */
	assert_int_equal(xp_blockdev_pread(bd, b, 1, 0), 0);
	assert_int_equal(b[0], 0xab); /* read through */
	xp_blockdev_close(bd);
	assert_same_as_qemu(ov);

	/* a raw backing file given as an absolute path */
	xp_test_sparse(raw, 2 << 20);
	fill_pattern(raw, 1000, 100000, 3);
	unlink(ov);
	assert_int_equal(xp_test_sh("qemu-img create -q -f qcow2 -b '%s' -F raw '%s' 3M", raw, ov),
			 0);
	assert_same_as_qemu(ov);
	assert_image_equals(ov, raw);
	unlink(base);
	unlink(ov);
	unlink(raw);
}

static void test_compressed_cluster(void **state)
{
	(void)state;
	const char *raw = tpath("c.raw"), *q = tpath("c.qcow2");
	xp_test_sparse(raw, 1 << 20);
	unsigned char text[8192];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "compressible "[i % 13];
	write_at(raw, 200000, text, sizeof(text));
	assert_int_equal(xp_test_sh("qemu-img convert -c -O qcow2 '%s' '%s'", raw, q), 0);
	struct xp_blockdev *bd = NULL;
	assert_int_equal(xp_blockdev_open(q, &bd), 0);
	unsigned char b[16];
	assert_int_equal(xp_blockdev_pread(bd, b, 16, 0), 0); /* unallocated: fine */
	assert_int_equal(xp_blockdev_pread(bd, b, 16, 200000), -ENOTSUP);
	assert_non_null(strstr(xp_blockdev_errmsg(bd), "compressed"));
	xp_blockdev_close(bd);
	/* through an overlay, the message names the backing file */
	const char *ov = tpath("c-ov.qcow2");
	assert_int_equal(xp_qcow2_create_overlay(ov, "c.qcow2", XP_IMAGE_QCOW2, 1 << 20), 0);
	assert_int_equal(xp_blockdev_open(ov, &bd), 0);
	assert_int_equal(xp_blockdev_pread(bd, b, 16, 200000), -ENOTSUP);
	assert_non_null(strstr(xp_blockdev_errmsg(bd), "compressed"));
	assert_non_null(strstr(xp_blockdev_errmsg(bd), "c.qcow2"));
	xp_blockdev_close(bd);
	unlink(ov);
	unlink(raw);
	unlink(q);
}

/* ---- overlays ---------------------------------------------------------------------- */

static void test_create_overlay(void **state)
{
	(void)state;
	const char *raw = tpath("ovbase.raw"), *ov = tpath("ovl.qcow2"), *ov2 = tpath("ovl2.qcow2");
	xp_test_sparse(raw, 32 << 20);
	fill_pattern(raw, 12345, 3 << 20, 5);
	/* relative to the overlay's directory */
	assert_int_equal(xp_qcow2_create_overlay(ov, "ovbase.raw", XP_IMAGE_RAW, 32 << 20), 0);
	assert_qemu_check(ov);
	assert_int_equal(qemu_virtual_size(ov, NULL, 0), 32 << 20);
	char *info = xp_test_out("qemu-img info --output=json '%s'", ov);
	json_t *j = json_loads(info, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "backing-filename")),
			    "ovbase.raw");
	assert_string_equal(json_string_value(json_object_get(j, "backing-filename-format")),
			    "raw");
	json_decref(j);
	free(info);

	struct xp_blockdev *bd = NULL;
	assert_int_equal(xp_blockdev_open(ov, &bd), 0);
	assert_string_equal(xp_blockdev_backing(bd), "ovbase.raw");
	assert_reads_as(bd, raw);
	xp_blockdev_close(bd);
	assert_same_as_qemu(ov);

	/* an overlay of our overlay, larger than its backing file; then QEMU writes */
	assert_int_equal(xp_qcow2_create_overlay(ov2, ov, XP_IMAGE_QCOW2, 64 << 20), 0);
	assert_qemu_check(ov2);
	assert_int_equal(
	    xp_test_sh("qemu-io -c 'write -P 0x42 0 64k' -c 'write -P 0x43 40M 1M' '%s' "
		       ">/dev/null",
		       ov2),
	    0);
	assert_qemu_check(ov2);
	assert_same_as_qemu(ov2);

	/* overlays of huge disks: the L1 table spans clusters */
	assert_int_equal(xp_qcow2_create_overlay(ov2, ov, XP_IMAGE_QCOW2, 16ULL << 40), 0);
	assert_qemu_check(ov2);
	assert_int_equal(qemu_virtual_size(ov2, NULL, 0), 16ULL << 40);

	/* errors */
	char longname[1100];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(xp_qcow2_create_overlay(ov2, longname, XP_IMAGE_RAW, 1 << 20),
			 -ENAMETOOLONG);
	assert_int_equal(xp_qcow2_create_overlay(ov2, "", XP_IMAGE_RAW, 1 << 20), -EINVAL);
	assert_int_equal(xp_qcow2_create_overlay(ov2, "x", (enum xp_image_format)7, 1 << 20),
			 -EINVAL);
	assert_int_equal(xp_qcow2_create_overlay(ov2, "x", XP_IMAGE_RAW, 1ULL << 63), -EFBIG);
	unlink(raw);
	unlink(ov);
	unlink(ov2);
}

/* ---- malformed images ------------------------------------------------------------- */

static void put32(const char *path, uint64_t off, uint32_t v)
{
	unsigned char b[4];
	xp_put_be32(b, v);
	write_at(path, off, b, 4);
}

static void put64(const char *path, uint64_t off, uint64_t v)
{
	unsigned char b[8];
	xp_put_be64(b, v);
	write_at(path, off, b, 8);
}

/* a fresh, valid 4 MiB image with 64 KiB of data at 0 */
static const char *good_image(void)
{
	const char *raw = tpath("good.raw"), *q = tpath("bad.qcow2");
	xp_test_sparse(raw, 4 << 20);
	fill_pattern(raw, 0, 65536, 1);
	assert_int_equal(xp_qcow2_from_raw(raw, q, 0), 0);
	unlink(raw);
	return q;
}

/* Opens path; on failure the one "open" error's message into err. */
static int open_err(const char *path, char *err, size_t len)
{
	struct xp_blockdev *bd = NULL;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp__blockdev_open(path, &bd, &d);
	err[0] = 0;
	if (r == 0) {
		xp_blockdev_close(bd);
		assert_int_equal(d.n, 0);
	} else {
		assert_null(bd);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].code, "open");
		snprintf(err, len, "%s", d.v[0].msg);
	}
	xp_diags_release(&d);
	return r;
}

static void test_open_errors(void **state)
{
	(void)state;
	char err[512];
	const char *q;

	assert_int_equal(open_err(tpath("does-not-exist"), err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "does-not-exist"));
	assert_int_equal(open_err(tmpdir, err, sizeof(err)), -EISDIR);
	assert_int_equal(open_err("/dev/null", err, sizeof(err)), -EINVAL);

	/* truncated headers */
	q = tpath("trunc.qcow2");
	unlink(q);
	write_at(q, 0, "QFI\xfb\0\0\0\3\0\0", 10);
	assert_int_equal(open_err(q, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "truncated"));
	q = good_image();
	assert_int_equal(truncate(q, 80), 0);
	assert_int_equal(open_err(q, err, sizeof(err)), -EBADMSG);

	struct {
		const char *what;
		uint64_t off;
		int width; /* 4 or 8 */
		uint64_t val;
		int err;
	} cases[] = {
	    {"version 1", 4, 4, 1, -ENOTSUP},
	    {"version 4", 4, 4, 4, -ENOTSUP},
	    {"cluster bits 8", 20, 4, 8, -EBADMSG},
	    {"cluster bits 22", 20, 4, 22, -EBADMSG},
	    {"cluster bits huge", 20, 4, 0xffffffff, -EBADMSG},
	    {"encrypted", 32, 4, 1, -ENOTSUP},
	    {"absurd size", 24, 8, UINT64_MAX, -EBADMSG},
	    {"size beyond the L1 table", 24, 8, 1ULL << 40, -EBADMSG},
	    {"absurd L1 size", 36, 4, 0xffffffff, -EBADMSG},
	    {"L1 beyond the file", 36, 4, 1u << 20, -EBADMSG},
	    {"L1 offset unaligned", 40, 8, 65536 + 8, -EBADMSG},
	    {"L1 offset beyond the file", 40, 8, 1ULL << 40, -EBADMSG},
	    {"L1 offset zero", 40, 8, 0, -EBADMSG},
	    {"L1 offset absurd", 40, 8, UINT64_MAX & ~65535ULL, -EBADMSG},
	    {"external data file", 72, 8, QCOW2_INCOMPAT_DATA_FILE, -ENOTSUP},
	    {"extended L2", 72, 8, QCOW2_INCOMPAT_EXTL2, -ENOTSUP},
	    {"unknown incompatible feature", 72, 8, 1ULL << 40, -ENOTSUP},
	    {"refcount order 7", 96, 4, 7, -EBADMSG},
	    {"header length short", 100, 4, 96, -EBADMSG},
	    {"header length unaligned", 100, 4, 105, -EBADMSG},
	    {"header length beyond a cluster", 100, 4, 65544, -EBADMSG},
	    {"backing name beyond the cluster", 8, 8, 65530, -EBADMSG},
	    {"backing name inside the header", 8, 8, 16, -EBADMSG},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q = good_image();
		if (cases[i].width == 4)
			put32(q, cases[i].off, (uint32_t)cases[i].val);
		else
			put64(q, cases[i].off, cases[i].val);
		if (cases[i].off == 8)
			put32(q, 16, 10); /* backing name length */
		int r = open_err(q, err, sizeof(err));
		if (r != cases[i].err)
			fail_msg("%s: %d (%s), expected %d", cases[i].what, r, err, cases[i].err);
	}

	/* backing name too long, and with a NUL in it */
	q = good_image();
	put64(q, 8, 200);
	put32(q, 16, 2000);
	assert_int_equal(open_err(q, err, sizeof(err)), -EBADMSG);
	q = good_image();
	put64(q, 8, 200);
	put32(q, 16, 4);
	write_at(q, 200, "a\0b", 4);
	assert_int_equal(open_err(q, err, sizeof(err)), -EBADMSG);
	/* a header extension running past the cluster */
	q = good_image();
	put32(q, 112, QCOW2_EXT_BACKING_FORMAT);
	put32(q, 116, 70000);
	assert_int_equal(open_err(q, err, sizeof(err)), -EBADMSG);
	/* dirty and corrupt bits are fine for reading */
	q = good_image();
	put64(q, 72, QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
	assert_int_equal(open_err(q, err, sizeof(err)), 0);
}

static void test_backing_errors(void **state)
{
	(void)state;
	char err[512];
	const char *a = tpath("loop-a.qcow2"), *b = tpath("loop-b.qcow2");
	/* a -> b -> a */
	assert_int_equal(xp_qcow2_create_overlay(a, "loop-b.qcow2", XP_IMAGE_QCOW2, 1 << 20), 0);
	assert_int_equal(xp_qcow2_create_overlay(b, "loop-a.qcow2", XP_IMAGE_QCOW2, 1 << 20), 0);
	assert_int_equal(open_err(a, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "chain"));
	/* itself, with the format probed (no format extension): patch the ext type */
	assert_int_equal(xp_qcow2_create_overlay(a, "loop-a.qcow2", XP_IMAGE_QCOW2, 1 << 20), 0);
	put32(a, 112, 0x12345678); /* unknown extension: skipped */
	assert_int_equal(open_err(a, err, sizeof(err)), -ELOOP);

	/* a chain of exactly 16 images opens; 17 does not */
	char name[64], prev[64];
	const char *raw = tpath("chain-0.raw");
	xp_test_sparse(raw, 1 << 20);
	fill_pattern(raw, 0, 100, 1);
	snprintf(prev, sizeof(prev), "chain-0.raw");
	for (int i = 1; i <= 16; i++) {
		snprintf(name, sizeof(name), "chain-%d.qcow2", i);
		assert_int_equal(xp_qcow2_create_overlay(tpath(name), prev,
							 i == 1 ? XP_IMAGE_RAW : XP_IMAGE_QCOW2,
							 1 << 20),
				 0);
		snprintf(prev, sizeof(prev), "%s", name);
	}
	assert_int_equal(open_err(tpath("chain-15.qcow2"), err, sizeof(err)), 0);
	assert_image_equals(tpath("chain-15.qcow2"), raw);
	assert_int_equal(open_err(tpath("chain-16.qcow2"), err, sizeof(err)), -ELOOP);

	/* missing backing file */
	assert_int_equal(xp_qcow2_create_overlay(a, "nowhere.raw", XP_IMAGE_RAW, 1 << 20), 0);
	assert_int_equal(open_err(a, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nowhere.raw"));
	/* declared qcow2, but raw */
	assert_int_equal(xp_qcow2_create_overlay(a, "chain-0.raw", XP_IMAGE_QCOW2, 1 << 20), 0);
	assert_int_equal(open_err(a, err, sizeof(err)), -EBADMSG);
	/* declared raw, but qcow2: read as raw (QEMU does the same) */
	assert_int_equal(xp_qcow2_create_overlay(a, "chain-1.qcow2", XP_IMAGE_RAW, 1 << 20), 0);
	struct xp_blockdev *bd = NULL;
	assert_int_equal(xp_blockdev_open(a, &bd), 0);
	unsigned char m[4];
	assert_int_equal(xp_blockdev_pread(bd, m, 4, 0), 0);
	assert_memory_equal(m, "QFI\xfb", 4);
	xp_blockdev_close(bd);
	/* an unknown backing format */
	assert_int_equal(xp_qcow2_create_overlay(a, "chain-0.raw", XP_IMAGE_RAW, 1 << 20), 0);
	write_at(a, 120, "vmdk\0\0\0\0", 8);
	put32(a, 116, 4);
	assert_int_equal(open_err(a, err, sizeof(err)), -ENOTSUP);
	unlink(a);
	unlink(b);
}

static void test_bad_tables(void **state)
{
	(void)state;
	const char *q = good_image();
	struct xp_blockdev *bd = NULL;
	unsigned char b[8];
	/* find the L1 table and break its first entry in several ways */
	unsigned char h[48];
	int fd = open(q, O_RDONLY);
	assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	uint64_t l1 = xp_be64(h + 40);
	static const uint64_t bad[] = {
	    1ULL << 50 | QCOW2_OFLAG_COPIED,	/* beyond the file */
	    (65536 + 512) | QCOW2_OFLAG_COPIED, /* unaligned */
	    65536 | 1,				/* reserved bits */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q = good_image();
		put64(q, l1, bad[i]);
		assert_int_equal(xp_blockdev_open(q, &bd), 0);
		assert_int_equal(xp_blockdev_pread(bd, b, 8, 0), -EBADMSG);
		assert_true(strlen(xp_blockdev_errmsg(bd)) > 0);
		/* beyond the mapped range still reads zeros */
		assert_int_equal(xp_blockdev_pread(bd, b, 8, 4 << 20), 0);
		xp_blockdev_close(bd);
	}
	/* an L2 entry pointing to an unaligned cluster */
	q = good_image();
	fd = open(q, O_RDONLY);
	unsigned char l1e[8];
	assert_int_equal(pread(fd, l1e, 8, (off_t)l1), 8);
	close(fd);
	uint64_t l2 = xp_be64(l1e) & QCOW2_OFFSET_MASK;
	put64(q, l2, 65536 + 512);
	assert_int_equal(xp_blockdev_open(q, &bd), 0);
	assert_int_equal(xp_blockdev_pread(bd, b, 8, 0), -EBADMSG);
	xp_blockdev_close(bd);
	/* and a data cluster past the end of the file: zeros, as QEMU reads them */
	q = good_image();
	put64(q, l2, (1ULL << 40) | QCOW2_OFLAG_COPIED);
	assert_int_equal(xp_blockdev_open(q, &bd), 0);
	memset(b, 0xff, 8);
	assert_int_equal(xp_blockdev_pread(bd, b, 8, 0), 0);
	assert_int_equal(b[0], 0);
	assert_int_equal(xp_blockdev_pread(NULL, b, 8, 0), -EINVAL);
	xp_blockdev_close(bd);
	unlink(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_from_raw_patterns),
	    cmocka_unit_test(test_from_raw_cluster_sizes),
	    cmocka_unit_test(test_from_raw_odd_and_empty),
	    cmocka_unit_test(test_from_raw_errors),
	    cmocka_unit_test(test_read_qemu_images),
	    cmocka_unit_test(test_read_backing_and_zero_clusters),
	    cmocka_unit_test(test_compressed_cluster),
	    cmocka_unit_test(test_create_overlay),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_backing_errors),
	    cmocka_unit_test(test_bad_tables),
	};
	return xp_test_run_group("qemu-img qemu-io", tests, setup, teardown);
}
