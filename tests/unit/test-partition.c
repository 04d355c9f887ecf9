/*
 * test-partition.c - unit tests of src/lib/image/partition.c: layouts for many disk
 * sizes and labels (alignment, GPT's backup table, msdos's 32-bit limits, every
 * refusal), msdos and gpt tables written on sparse files and read back by util-linux
 * (`sfdisk --json`, `sfdisk -d`, `blkid -p`), swap areas checked byte by byte and by
 * `blkid -p -O` and `swaplabel`, and every error path, libfdisk's included: the libfdisk
 * calls partition.c makes are interposed below so that each can be made to fail.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include <jansson.h>
#include <libfdisk/libfdisk.h>

#include "xenprov/partition.h"
#include "xenprov/util.h"

#define KIB	  (UINT64_C(1) << 10)
#define MIB	  (UINT64_C(1) << 20)
#define GIB	  (UINT64_C(1) << 30)
#define TIB	  (UINT64_C(1) << 40)
#define GPT_TAIL  (33 * UINT64_C(512))
#define GPT_LINUX "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
#define GPT_SWAP  "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"

XP_TEST_SCRATCH("partition")

/* ---- failure injection into libfdisk ------------------------------------------------ */

/* The name of the libfdisk function to fail (NULL: none), and whether to make libfdisk
 * "say" things through the ask callback. The test binary's definitions below take
 * precedence over libfdisk.so's for the calls partition.c makes; they forward to the
 * real functions (dlsym RTLD_NEXT) unless told to fail. */
static const char *inject;
static bool inject_talk;
static unsigned add_calls; /* calls of fdisk_add_partition so far */

static bool hit(const char *name)
{
	return inject && strcmp(inject, name) == 0;
}

static void *real(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p)
		abort();
	return p;
}

/* ISO C has no conversion between object and function pointers; POSIX guarantees
 * dlsym's result can be used so. */
#define REAL(fn)                                                                                   \
	__extension__({                                                                            \
		__typeof__(&fn) f_;                                                                \
		void *p_ = real(#fn);                                                              \
		memcpy(&f_, &p_, sizeof(f_));                                                      \
		f_;                                                                                \
	})

struct fdisk_context *fdisk_new_context(void)
{
	if (hit("fdisk_new_context"))
		return NULL;
	return REAL(fdisk_new_context)();
}

int fdisk_set_ask(struct fdisk_context *cxt,
		  int (*ask_cb)(struct fdisk_context *, struct fdisk_ask *, void *), void *data)
{
	if (hit("fdisk_set_ask"))
		return -EINVAL;
	return REAL(fdisk_set_ask)(cxt, ask_cb, data);
}

int fdisk_save_user_sector_size(struct fdisk_context *cxt, unsigned int phy, unsigned int log)
{
	if (hit("fdisk_save_user_sector_size"))
		return -EINVAL;
	return REAL(fdisk_save_user_sector_size)(cxt, phy, log);
}

int fdisk_assign_device(struct fdisk_context *cxt, const char *fname, int readonly)
{
	if (hit("fdisk_assign_device"))
		return -EACCES;
	return REAL(fdisk_assign_device)(cxt, fname, readonly);
}

int fdisk_create_disklabel(struct fdisk_context *cxt, const char *name)
{
	if (inject_talk) {
		fdisk_info(cxt, "an info message (dropped)");
		fdisk_warnx(cxt, "a warning without errno");
		errno = EROFS;
		fdisk_warn(cxt, "a warning with errno");
	}
	if (hit("fdisk_create_disklabel"))
		return -EIO;
	return REAL(fdisk_create_disklabel)(cxt, name);
}

struct fdisk_parttype *fdisk_label_get_parttype_from_code(const struct fdisk_label *lb,
							  unsigned int code)
{
	if (hit("fdisk_label_get_parttype_from_code"))
		return NULL;
	return REAL(fdisk_label_get_parttype_from_code)(lb, code);
}

struct fdisk_parttype *fdisk_label_parse_parttype(const struct fdisk_label *lb, const char *str)
{
	if (hit("fdisk_label_parse_parttype"))
		return NULL;
	return REAL(fdisk_label_parse_parttype)(lb, str);
}

struct fdisk_partition *fdisk_new_partition(void)
{
	if (hit("fdisk_new_partition"))
		return NULL;
	return REAL(fdisk_new_partition)();
}

int fdisk_partition_set_partno(struct fdisk_partition *pa, size_t num)
{
	if (hit("fdisk_partition_set_partno"))
		return -EINVAL;
	return REAL(fdisk_partition_set_partno)(pa, num);
}

int fdisk_partition_set_name(struct fdisk_partition *pa, const char *name)
{
	if (hit("fdisk_partition_set_name"))
		return -ENOMEM;
	return REAL(fdisk_partition_set_name)(pa, name);
}

int fdisk_add_partition(struct fdisk_context *cxt, struct fdisk_partition *pa, size_t *partno)
{
	add_calls++;
	if (hit("fdisk_add_partition") || (hit("fdisk_add_partition:second") && add_calls == 2))
		return -ERANGE;
	int r = REAL(fdisk_add_partition)(cxt, pa, partno);
	if (r == 0 && hit("fdisk_add_partition:partno"))
		*partno = 7;
	return r;
}

int fdisk_toggle_partition_flag(struct fdisk_context *cxt, size_t partnum, unsigned long flag)
{
	if (hit("fdisk_toggle_partition_flag"))
		return -EIO;
	return REAL(fdisk_toggle_partition_flag)(cxt, partnum, flag);
}

int fdisk_write_disklabel(struct fdisk_context *cxt)
{
	if (hit("fdisk_write_disklabel"))
		return -EIO;
	return REAL(fdisk_write_disklabel)(cxt);
}

int fdisk_deassign_device(struct fdisk_context *cxt, int nosync)
{
	if (hit("fdisk_deassign_device"))
		return -EIO;
	return REAL(fdisk_deassign_device)(cxt, nosync);
}

/* ---- helpers ------------------------------------------------------------------------ */


static bool skipped; /* a case skipped for a missing tool: the binary exits 77 */

static bool have(const char *prog)
{
	bool ok = xp_test_have(prog);
	skipped |= !ok;
	return ok;
}

/* The value of KEY= in `blkid -o export` output, or "" (static buffer). */
static const char *export_value(const char *text, const char *key)
{
	static char v[256];
	size_t kl = strlen(key);
	v[0] = '\0';
	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			snprintf(v, sizeof(v), "%.*s", (int)(len - kl - 1), p + kl + 1);
			break;
		}
		p = e ? e + 1 : NULL;
	}
	return v;
}

static bool has_diag(const struct xp_diags *d, enum xp_severity sev, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == sev && strstr(d->v[i].msg, needle))
			return true;
	return false;
}

/* ---- names ---------------------------------------------------------------------------- */

static void test_label_name(void **state)
{
	(void)state;
	assert_string_equal(xp_label_name(XP_LABEL_MSDOS), "msdos");
	assert_string_equal(xp_label_name(XP_LABEL_GPT), "gpt");
	assert_string_equal(xp_label_name(XP_LABEL_NONE), "none");
	assert_string_equal(xp_label_name((enum xp_label)42), "?");
}

/* ---- layouts ---------------------------------------------------------------------------- */

struct layout_case {
	int line;
	enum xp_label label;
	uint64_t disk, swap;
	int r;
	/* with r == 0: */
	uint64_t root_offset, root_size, swap_offset, swap_out;
};

#define OK(label, disk, swap, ro, rs, so, sw)                                                      \
	{                                                                                          \
		__LINE__, label, disk, swap, 0, ro, rs, so, sw                                     \
	}
#define ERR(label, disk, swap, r)                                                                  \
	{                                                                                          \
		__LINE__, label, disk, swap, r, 0, 0, 0, 0                                         \
	}

static const struct layout_case layouts[] = {
    /* msdos: root from 1 MiB to the last whole MiB */
    OK(XP_LABEL_MSDOS, 64 * MIB, 0, MIB, 63 * MIB, 0, 0),
    OK(XP_LABEL_MSDOS, 64 * MIB + 7 * 512, 0, MIB, 63 * MIB, 0, 0),
    OK(XP_LABEL_MSDOS, 65 * MIB - 512, 0, MIB, 63 * MIB, 0, 0),
    OK(XP_LABEL_MSDOS, GIB, 128 * MIB, MIB, 895 * MIB, 896 * MIB, 128 * MIB),
    OK(XP_LABEL_MSDOS, GIB + 512, 128 * MIB, MIB, 895 * MIB, 896 * MIB, 128 * MIB),
    OK(XP_LABEL_MSDOS, 2 * MIB, 0, MIB, MIB, 0, 0),
    OK(XP_LABEL_MSDOS, 3 * MIB, MIB, MIB, MIB, 2 * MIB, MIB),
    ERR(XP_LABEL_MSDOS, 2 * MIB - 512, 0, -ENOSPC),
    ERR(XP_LABEL_MSDOS, 3 * MIB - 512, MIB, -ENOSPC),
    ERR(XP_LABEL_MSDOS, 0, 0, -ENOSPC),
    ERR(XP_LABEL_MSDOS, 512, 0, -ENOSPC),
    /* swap rounds up to a whole MiB */
    OK(XP_LABEL_MSDOS, 64 * MIB, 1, MIB, 62 * MIB, 63 * MIB, MIB),
    OK(XP_LABEL_MSDOS, 64 * MIB, MIB + 1, MIB, 61 * MIB, 62 * MIB, 2 * MIB),
    OK(XP_LABEL_MSDOS, 64 * MIB, 62 * MIB, MIB, MIB, 2 * MIB, 62 * MIB),
    ERR(XP_LABEL_MSDOS, 64 * MIB, 62 * MIB + 1, -ENOSPC),
    ERR(XP_LABEL_MSDOS, 64 * MIB, 63 * MIB, -ENOSPC),
    ERR(XP_LABEL_MSDOS, 64 * MIB, UINT64_MAX, -ENOSPC),
    ERR(XP_LABEL_MSDOS, 64 * MIB, UINT64_MAX - MIB, -ENOSPC),
    ERR(XP_LABEL_MSDOS, 64 * MIB, UINT64_MAX - MIB + 1, -ENOSPC),
    /* sizes must be whole sectors */
    ERR(XP_LABEL_MSDOS, 64 * MIB + 1, 0, -EINVAL),
    ERR(XP_LABEL_GPT, 64 * MIB + 511, 0, -EINVAL),
    /* msdos: 32-bit sector counts; 2 TiB is the largest root */
    OK(XP_LABEL_MSDOS, 2 * TIB, 0, MIB, 2 * TIB - MIB, 0, 0),
    OK(XP_LABEL_MSDOS, 2 * TIB + MIB - 512, 0, MIB, 2 * TIB - MIB, 0, 0),
    ERR(XP_LABEL_MSDOS, 2 * TIB + MIB, 0, -EFBIG),   /* root too long */
    ERR(XP_LABEL_MSDOS, 2 * TIB + MIB, MIB, -EFBIG), /* swap starts too far */
    ERR(XP_LABEL_MSDOS, 5 * TIB, 4 * TIB, -EFBIG),   /* swap too long */
    ERR(XP_LABEL_MSDOS, UINT64_MAX - 511, 0, -EFBIG),
    /* gpt: the backup table's 33 sectors at the end */
    OK(XP_LABEL_GPT, 64 * MIB, 0, MIB, 62 * MIB, 0, 0),
    OK(XP_LABEL_GPT, 64 * MIB + GPT_TAIL, 0, MIB, 63 * MIB, 0, 0),
    OK(XP_LABEL_GPT, 64 * MIB + GPT_TAIL - 512, 0, MIB, 62 * MIB, 0, 0),
    OK(XP_LABEL_GPT, GIB, 100 * MIB, MIB, 922 * MIB, 923 * MIB, 100 * MIB),
    OK(XP_LABEL_GPT, 2 * MIB + GPT_TAIL, 0, MIB, MIB, 0, 0),
    OK(XP_LABEL_GPT, 3 * MIB, 0, MIB, MIB, 0, 0),
    OK(XP_LABEL_GPT, 4 * TIB, 0, MIB, 4 * TIB - 2 * MIB, 0, 0),
    OK(XP_LABEL_GPT, 5 * TIB, 4 * TIB, MIB, TIB - 2 * MIB, TIB - MIB, 4 * TIB),
    ERR(XP_LABEL_GPT, 2 * MIB + GPT_TAIL - 512, 0, -ENOSPC),
    ERR(XP_LABEL_GPT, 3 * MIB, MIB, -ENOSPC),
    ERR(XP_LABEL_GPT, GPT_TAIL - 512, 0, -ENOSPC),
    ERR(XP_LABEL_GPT, 0, 0, -ENOSPC),
    /* none: the whole disk is the filesystem, no swap */
    OK(XP_LABEL_NONE, 64 * MIB, 0, 0, 64 * MIB, 0, 0),
    OK(XP_LABEL_NONE, 12345, 0, 0, 12345, 0, 0),
    OK(XP_LABEL_NONE, 1, 0, 0, 1, 0, 0),
    ERR(XP_LABEL_NONE, 64 * MIB, MIB, -EINVAL),
    ERR(XP_LABEL_NONE, 0, 0, -ENOSPC),
    /* no such label */
    ERR((enum xp_label)3, 64 * MIB, 0, -EINVAL),
    ERR((enum xp_label) - 1, 64 * MIB, 0, -EINVAL),
};

static void test_layout_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		const struct layout_case *c = &layouts[i];
		struct xp_layout l = {.label = c->label,
				      .disk_size = c->disk,
				      .swap_size = c->swap,
				      .root_offset = 99,
				      .root_size = 99,
				      .swap_offset = 99};
		int r = xp_layout_compute(&l);
		if (r != c->r)
			fail_msg("line %d: r=%d, want %d", c->line, r, c->r);
		if (r < 0) {
			/* a refusal changes nothing */
			if (l.swap_size != c->swap || l.root_offset != 99 || l.root_size != 99 ||
			    l.swap_offset != 99)
				fail_msg("line %d: layout changed on error", c->line);
			continue;
		}
		if (l.root_offset != c->root_offset || l.root_size != c->root_size ||
		    l.swap_offset != c->swap_offset || l.swap_size != c->swap_out)
			fail_msg("line %d: root %" PRIu64 "+%" PRIu64 " swap %" PRIu64 "+%" PRIu64,
				 c->line, l.root_offset, l.root_size, l.swap_offset, l.swap_size);
		assert_int_equal(l.label, c->label);
		assert_true(l.disk_size == c->disk);
	}
	assert_int_equal(xp_layout_compute(NULL), -EINVAL);
}

/* Properties over many sizes: alignment, order, fit, and that no MiB is wasted. */
static void test_layout_properties(void **state)
{
	(void)state;
	uint64_t seed = 0x9e3779b97f4a7c15u;
	unsigned ok = 0;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		enum xp_label label = (enum xp_label)((seed >> 60) % 3);
		uint64_t disk = ((seed >> 8) % (8 * GIB)) & ~UINT64_C(511);
		if (i % 7 == 0)
			disk %= 8 * MIB;
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		uint64_t swap =
		    label == XP_LABEL_NONE || i % 3 == 0 ? 0 : (seed >> 20) % (disk + 1);
		struct xp_layout l = {.label = label, .disk_size = disk, .swap_size = swap};
		int r = xp_layout_compute(&l);
		uint64_t usable =
		    label == XP_LABEL_GPT ? (disk > GPT_TAIL ? disk - GPT_TAIL : 0) : disk;
		uint64_t end = usable / MIB * MIB;
		uint64_t swap_mib = (swap + MIB - 1) / MIB * MIB;
		if (label == XP_LABEL_NONE) {
			assert_int_equal(r, disk ? 0 : -ENOSPC);
			if (r == 0)
				assert_true(l.root_offset == 0 && l.root_size == disk);
			continue;
		}
		if (end < 2 * MIB + swap_mib) {
			assert_int_equal(r, -ENOSPC);
			continue;
		}
		assert_int_equal(r, 0);
		ok++;
		assert_true(l.root_offset == MIB);
		assert_true(l.root_size % MIB == 0 && l.root_size >= MIB);
		assert_true(l.swap_size == swap_mib);
		if (swap) {
			assert_true(l.swap_offset % MIB == 0);
			assert_true(l.swap_offset == l.root_offset + l.root_size);
			assert_true(l.swap_offset + l.swap_size == end);
		} else {
			assert_true(l.swap_offset == 0);
			assert_true(l.root_offset + l.root_size == end);
		}
		/* the last partition is at most a MiB (plus GPT's tail) short of the end */
		assert_true(disk - end < MIB + (label == XP_LABEL_GPT ? GPT_TAIL : 0));
	}
	assert_true(ok > 5000);
}

/* ---- writing tables ------------------------------------------------------------------- */

struct write_case {
	enum xp_label label;
	uint64_t disk, swap;
	const char *warning; /* the one libfdisk warning expected, if any */
};

static const struct write_case writes[] = {
    {XP_LABEL_MSDOS, 64 * MIB, 0, NULL},
    {XP_LABEL_MSDOS, GIB, 128 * MIB, NULL},
    {XP_LABEL_MSDOS, 2 * MIB, 0, NULL},
    {XP_LABEL_MSDOS, 100 * MIB + 3 * 512, 5 * MIB + 1, NULL},
    {XP_LABEL_GPT, 64 * MIB, 0, NULL},
    {XP_LABEL_GPT, GIB, 100 * MIB, NULL},
    {XP_LABEL_GPT, 3 * MIB, 0, NULL},
    {XP_LABEL_GPT, 100 * MIB + 3 * 512, 5 * MIB + 1, NULL},
    {XP_LABEL_GPT, 3 * TIB, 4 * GIB, NULL},
    /* the largest msdos disk we lay out: the partition is fine, libfdisk still warns
     * that the disk is one sector over what msdos can describe */
    {XP_LABEL_MSDOS, 2 * TIB, 0, "DOS partition table format cannot be used"},
};

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		fail_msg("no integer '%s'", key);
	return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* Checks the table on path against l with `sfdisk --json` and `sfdisk -d`. */
static void check_table(const char *path, const struct xp_layout *l)
{
	char *out = NULL;
	assert_int_equal(xp_test_run(&out, "sfdisk --json '%s' 2>/dev/null", path), 0);
	json_error_t jerr;
	json_t *root = json_loads(out, 0, &jerr);
	if (!root)
		fail_msg("sfdisk --json: %s\n%s", jerr.text, out);
	free(out);
	json_t *pt = json_object_get(root, "partitiontable");
	bool gpt = l->label == XP_LABEL_GPT;
	assert_string_equal(jstr(pt, "label"), gpt ? "gpt" : "dos");
	assert_int_equal(jint(pt, "sectorsize"), 512);
	if (gpt)
		assert_true(jint(pt, "lastlba") == (json_int_t)(l->disk_size / 512 - 34));
	json_t *parts = json_object_get(pt, "partitions");
	assert_int_equal(json_array_size(parts), l->swap_size ? 2 : 1);

	json_t *p = json_array_get(parts, 0);
	assert_true(jint(p, "start") == (json_int_t)(l->root_offset / 512));
	assert_true(jint(p, "size") == (json_int_t)(l->root_size / 512));
	if (gpt) {
		assert_string_equal(jstr(p, "type"), GPT_LINUX);
		assert_string_equal(jstr(p, "name"), "root");
		assert_int_equal(strlen(jstr(p, "uuid")), 36);
		assert_null(json_object_get(p, "bootable"));
	} else {
		assert_string_equal(jstr(p, "type"), "83");
		assert_true(json_is_true(json_object_get(p, "bootable")));
	}
	if (l->swap_size) {
		p = json_array_get(parts, 1);
		assert_true(jint(p, "start") == (json_int_t)(l->swap_offset / 512));
		assert_true(jint(p, "size") == (json_int_t)(l->swap_size / 512));
		if (gpt) {
			assert_string_equal(jstr(p, "type"), GPT_SWAP);
			assert_string_equal(jstr(p, "name"), "swap");
			assert_string_not_equal(jstr(p, "uuid"),
						jstr(json_array_get(parts, 0), "uuid"));
		} else {
			assert_string_equal(jstr(p, "type"), "82");
			assert_null(json_object_get(p, "bootable"));
		}
	}
	json_decref(root);

	/* the dump form, line by line as sfdisk prints it */
	assert_int_equal(xp_test_run(&out, "sfdisk -d '%s' 2>/dev/null", path), 0);
	char want[512];
	snprintf(want, sizeof(want), "label: %s\n", gpt ? "gpt" : "dos");
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s1 : start=%12" PRIu64 ", size=%12" PRIu64 ", type=%s%s",
		 path, l->root_offset / 512, l->root_size / 512, gpt ? GPT_LINUX : "83",
		 gpt ? ", uuid=" : ", bootable\n");
	if (!strstr(out, want))
		fail_msg("sfdisk -d lacks '%s':\n%s", want, out);
	if (gpt)
		assert_non_null(strstr(out, "name=\"root\"\n"));
	if (l->swap_size) {
		snprintf(want, sizeof(want),
			 "%s2 : start=%12" PRIu64 ", size=%12" PRIu64 ", type=%s", path,
			 l->swap_offset / 512, l->swap_size / 512, gpt ? GPT_SWAP : "82\n");
		if (!strstr(out, want))
			fail_msg("sfdisk -d lacks '%s':\n%s", want, out);
		if (gpt)
			assert_non_null(strstr(out, "name=\"swap\"\n"));
	}
	free(out);

	/* sfdisk's own consistency checks find nothing wrong */
	assert_int_equal(xp_test_run(&out, "sfdisk --verify '%s' 2>&1", path), 0);
	free(out);
	/* blkid agrees on the table type */
	assert_int_equal(xp_test_run(&out, "blkid -p -o export '%s'", path), 0);
	assert_string_equal(export_value(out, "PTTYPE"), gpt ? "gpt" : "dos");
	assert_string_equal(export_value(out, "TYPE"), "");
	free(out);
}

static void test_write_tables(void **state)
{
	(void)state;
	if (!have("sfdisk") || !have("blkid"))
		skip();
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		const struct write_case *c = &writes[i];
		const char *path = tpath("table.img");
		xp_test_sparse(path, c->disk);
		struct xp_layout l = {
		    .label = c->label, .disk_size = c->disk, .swap_size = c->swap};
		assert_int_equal(xp_layout_compute(&l), 0);
		struct xp_diags d;
		xp_diags_init(&d);
		int r = xp_partition_write(path, &l, &d);
		if (r != 0)
			fail_msg("case %zu: %d %s", i, r, d.n ? d.v[0].msg : "");
		if (c->warning) {
			assert_int_equal(d.n, 1);
			assert_true(has_diag(&d, XP_SEV_WARNING, c->warning));
		} else if (d.n != 0) {
			fail_msg("case %zu: unexpected diagnostic: %s", i, d.v[0].msg);
		}
		xp_diags_release(&d);
		/* same size, still sparse */
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_true((uint64_t)st.st_size == c->disk);
		assert_true((uint64_t)st.st_blocks * 512 < 4 * MIB);
		check_table(path, &l);
	}
}

/* Writing a new table over an old one, or over a bare filesystem, leaves only the new
 * table for blkid to find (libfdisk wipes the old signatures). */
static void test_write_over_old(void **state)
{
	(void)state;
	if (!have("sfdisk") || !have("blkid"))
		skip();
	const char *path = tpath("over.img");
	struct xp_layout gpt = {.label = XP_LABEL_GPT, .disk_size = 64 * MIB, .swap_size = MIB};
	struct xp_layout dos = {.label = XP_LABEL_MSDOS, .disk_size = 64 * MIB};
	assert_int_equal(xp_layout_compute(&gpt), 0);
	assert_int_equal(xp_layout_compute(&dos), 0);

	xp_test_sparse(path, 64 * MIB);
	assert_int_equal(xp_partition_write(path, &gpt, NULL), 0);
	assert_int_equal(xp_partition_write(path, &dos, NULL), 0);
	check_table(path, &dos);
	assert_int_equal(xp_partition_write(path, &gpt, NULL), 0);
	check_table(path, &gpt);

	if (have("mke2fs")) {
		xp_test_sparse(path, 64 * MIB);
		assert_int_equal(
		    xp_test_run(NULL, "mke2fs -q -F -t ext4 '%s' >/dev/null 2>&1", path), 0);
		assert_int_equal(xp_partition_write(path, &dos, NULL), 0);
		check_table(path, &dos);
	}
}

/* A disk made larger: the swap partition after the root moves to the new end and the
 * root grows up to it, giving the table xp_layout_compute makes for the larger disk
 * (msdos and gpt); without move_next the swap partition is in the way. */
static void test_grow_moves_swap(void **state)
{
	(void)state;
	if (!have("sfdisk") || !have("blkid"))
		skip();
	const enum xp_label labels[] = {XP_LABEL_MSDOS, XP_LABEL_GPT};
	for (size_t i = 0; i < 2; i++) {
		const char *path = tpath("grow.img");
		struct xp_layout small = {
		    .label = labels[i], .disk_size = 32 * MIB, .swap_size = 8 * MIB};
		struct xp_layout big = small;
		big.disk_size = 96 * MIB;
		assert_int_equal(xp_layout_compute(&small), 0);
		assert_int_equal(xp_layout_compute(&big), 0);
		xp_test_sparse(path, 32 * MIB);
		assert_int_equal(xp_partition_write(path, &small, NULL), 0);
		assert_int_equal(truncate(path, 96 * MIB), 0);
		uint64_t size = 0, moved = 0;
		struct xp_diags d;
		xp_diags_init(&d);
		assert_int_equal(xp_partition_grow_last(path, small.root_offset, &size, &d),
				 -ENOTSUP);
		xp_diags_release(&d);
		assert_int_equal(
		    xp_partition_grow(path, small.root_offset, true, &size, &moved, NULL), 0);
		assert_true(size == big.root_size);
		assert_true(moved == big.swap_offset);
		check_table(path, &big);
	}
}

static void test_write_none(void **state)
{
	(void)state;
	struct xp_layout l = {.label = XP_LABEL_NONE, .disk_size = MIB};
	assert_int_equal(xp_layout_compute(&l), 0);
	/* nothing to write: the file is not even looked at */
	assert_int_equal(xp_partition_write(tpath("does-not-exist"), &l, NULL), 0);
	const char *path = tpath("none.img");
	xp_test_sparse(path, MIB);
	assert_int_equal(xp_partition_write(path, &l, NULL), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_blocks, 0);
}

/* Each refusal: the error code, a diagnostic naming the file, and the file untouched. */
static void expect_write_error(const char *path, const struct xp_layout *l, int want,
			       const char *needle)
{
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_partition_write(path, l, &d);
	if (r != want)
		fail_msg("%s: r=%d (%s), want %d", needle, r, d.n ? d.v[d.n - 1].msg : "-", want);
	if (!has_diag(&d, XP_SEV_ERROR, needle))
		fail_msg("no error diagnostic with '%s' (%zu: %s)", needle, d.n,
			 d.n ? d.v[0].msg : "-");
	assert_string_equal(d.v[d.n - 1].file, path);
	assert_string_equal(d.v[d.n - 1].code, "partition");
	xp_diags_release(&d);
	/* also without a diagnostics collection */
	assert_int_equal(xp_partition_write(path, l, NULL), want);
}

static void test_write_errors(void **state)
{
	(void)state;
	const char *path = tpath("err.img");
	xp_test_sparse(path, 64 * MIB);
	struct xp_layout l = {.label = XP_LABEL_MSDOS, .disk_size = 64 * MIB, .swap_size = MIB};
	assert_int_equal(xp_layout_compute(&l), 0);

	assert_int_equal(xp_partition_write(NULL, &l, NULL), -EINVAL);
	assert_int_equal(xp_partition_write(path, NULL, NULL), -EINVAL);

	struct xp_layout bad = l;
	bad.label = (enum xp_label)9;
	expect_write_error(path, &bad, -EINVAL, "unknown partition table type 9");

	bad = l;
	bad.disk_size = 512;
	expect_write_error(path, &bad, -ENOSPC, "no msdos layout for a disk of 512 bytes");
	bad = l;
	bad.disk_size = 1000;
	expect_write_error(path, &bad, -EINVAL, "no msdos layout");

	/* a layout that xp_layout_compute would not make */
	const char *mismatch = "the layout was not made by xp_layout_compute";
	bad = l;
	bad.root_size -= MIB;
	expect_write_error(path, &bad, -EINVAL, mismatch);
	bad = l;
	bad.root_offset = 2 * MIB;
	expect_write_error(path, &bad, -EINVAL, mismatch);
	bad = l;
	bad.swap_offset += 512;
	expect_write_error(path, &bad, -EINVAL, mismatch);
	bad = l;
	bad.swap_size = 1; /* not yet rounded */
	expect_write_error(path, &bad, -EINVAL, mismatch);

	/* the file */
	expect_write_error(tpath("missing.img"), &l, -ENOENT, "cannot open");
	expect_write_error(tmpdir, &l, -EINVAL, "is not a regular file");
	xp_test_sparse(path, 64 * MIB - 512);
	expect_write_error(path, &l, -EINVAL, "is 67108352 bytes long, the layout is for 67108864");
	xp_test_sparse(path, 64 * MIB);

	/* nothing was written by any of the refusals */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_blocks, 0);
}

struct inject_case {
	const char *fn;
	enum xp_label label;
	int r;
	const char *needle;
};

static const struct inject_case injections[] = {
    {"fdisk_new_context", XP_LABEL_MSDOS, -ENOMEM, "cannot set up libfdisk"},
    {"fdisk_set_ask", XP_LABEL_MSDOS, -EINVAL, "cannot set up libfdisk"},
    {"fdisk_save_user_sector_size", XP_LABEL_GPT, -EINVAL, "cannot set up libfdisk"},
    {"fdisk_assign_device", XP_LABEL_MSDOS, -EACCES, "cannot open"},
    {"fdisk_create_disklabel", XP_LABEL_GPT, -EIO, "cannot create a gpt partition table"},
    {"fdisk_create_disklabel", XP_LABEL_MSDOS, -EIO, "cannot create a msdos partition table"},
    {"fdisk_label_get_parttype_from_code", XP_LABEL_MSDOS, -ENOTSUP,
     "partition type 0x83 unknown to libfdisk"},
    {"fdisk_label_parse_parttype", XP_LABEL_GPT, -ENOTSUP,
     "partition type 0FC63DAF-8483-4772-8E79-3D69D8477DE4 unknown to libfdisk"},
    {"fdisk_new_partition", XP_LABEL_MSDOS, -ENOMEM, "cannot add partition 1"},
    {"fdisk_partition_set_partno", XP_LABEL_GPT, -EINVAL,
     "cannot add partition 1 (root) at byte 1048576, 65011712 bytes"},
    {"fdisk_partition_set_name", XP_LABEL_GPT, -ENOMEM, "cannot add partition 1 (root)"},
    {"fdisk_add_partition", XP_LABEL_MSDOS, -ERANGE,
     "cannot add partition 1 (root) at byte 1048576, 66060288 bytes"},
    {"fdisk_add_partition:partno", XP_LABEL_GPT, -EIO, "libfdisk made partition 8, not 1"},
    {"fdisk_toggle_partition_flag", XP_LABEL_MSDOS, -EIO, "cannot mark partition 1 bootable"},
    {"fdisk_write_disklabel", XP_LABEL_GPT, -EIO, "cannot write the partition table"},
    {"fdisk_deassign_device", XP_LABEL_MSDOS, -EIO, "cannot close"},
};

static void test_write_libfdisk_failures(void **state)
{
	(void)state;
	const char *path = tpath("inject.img");
	for (size_t i = 0; i < sizeof(injections) / sizeof(injections[0]); i++) {
		const struct inject_case *c = &injections[i];
		xp_test_sparse(path, 64 * MIB);
		struct xp_layout l = {.label = c->label, .disk_size = 64 * MIB};
		assert_int_equal(xp_layout_compute(&l), 0);
		inject = c->fn;
		expect_write_error(path, &l, c->r, c->needle);
		inject = NULL;
	}
	/* the swap partition's own failure */
	struct xp_layout l = {.label = XP_LABEL_GPT, .disk_size = 64 * MIB, .swap_size = MIB};
	assert_int_equal(xp_layout_compute(&l), 0);
	xp_test_sparse(path, 64 * MIB);
	inject = "fdisk_add_partition:partno";
	/* partition 1 succeeds first and is reported as 8: the error is about partition 1 */
	expect_write_error(path, &l, -EIO, "libfdisk made partition 8, not 1");
	/* root goes in, swap does not */
	inject = "fdisk_add_partition:second";
	struct xp_diags d;
	xp_diags_init(&d);
	add_calls = 0;
	assert_int_equal(xp_partition_write(path, &l, &d), -ERANGE);
	assert_int_equal(add_calls, 2);
	assert_true(has_diag(&d, XP_SEV_ERROR,
			     "cannot add partition 2 (swap) at byte 65011712, 1048576 bytes"));
	xp_diags_release(&d);
	inject = NULL;
	/* and nothing reached the file: libfdisk writes only in fdisk_write_disklabel */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_blocks, 0);
}

/* libfdisk's warnings become warning diagnostics; its info messages are dropped. */
static void test_write_libfdisk_talks(void **state)
{
	(void)state;
	const char *path = tpath("talk.img");
	xp_test_sparse(path, 64 * MIB);
	struct xp_layout l = {.label = XP_LABEL_MSDOS, .disk_size = 64 * MIB};
	assert_int_equal(xp_layout_compute(&l), 0);
	struct xp_diags d;
	xp_diags_init(&d);
	inject_talk = true;
	assert_int_equal(xp_partition_write(path, &l, &d), 0);
	assert_int_equal(xp_partition_write(path, &l, NULL), 0);
	inject_talk = false;
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	assert_string_equal(d.v[0].msg, "libfdisk: a warning without errno");
	assert_string_equal(d.v[1].msg, "libfdisk: a warning with errno: Read-only file system");
	assert_string_equal(d.v[1].file, path);
	xp_diags_release(&d);
	if (have("sfdisk"))
		check_table(path, &l);
}

/* ---- swap ------------------------------------------------------------------------------ */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void read_at(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void test_swap_header_bytes(void **state)
{
	(void)state;
	const char *path = tpath("swap-bytes.img");
	xp_test_sparse(path, 16 * MIB);
	/* garbage where the header goes: boot bits must come out zero */
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	unsigned char junk[8192];
	memset(junk, 0xa5, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 4 * MIB), (ssize_t)sizeof(junk));
	close(fd);

	const char *uuid = "0b4f6d7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
	uint64_t size = 40 * 4096 + 4095; /* a partial last page is not counted */
	assert_int_equal(xp_swap_format(path, 4 * MIB, size, uuid, "guest-swap"), 0);
	unsigned char page[4096];
	read_at(path, 4 * MIB, page, sizeof(page));
	for (size_t i = 0; i < 1024; i++)
		assert_int_equal(page[i], 0);
	assert_int_equal(le32(page + 1024), 1);	 /* version */
	assert_int_equal(le32(page + 1028), 39); /* last_page */
	assert_int_equal(le32(page + 1032), 0);	 /* nr_badpages */
	static const unsigned char want_uuid[16] = {0x0b, 0x4f, 0x6d, 0x7e, 0x1c, 0x2d, 0x4e, 0x5f,
						    0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b};
	assert_memory_equal(page + 1036, want_uuid, 16);
	assert_memory_equal(page + 1052, "guest-swap\0\0\0\0\0\0", 16);
	for (size_t i = 1068; i < 4086; i++)
		assert_int_equal(page[i], 0);
	assert_memory_equal(page + 4086, "SWAPSPACE2", 10);
	/* the second page of the junk is left as it was: mkswap writes one page */
	read_at(path, 4 * MIB + 4096, page, sizeof(page));
	assert_int_equal(page[0], 0xa5);

	/* a 16-byte label fills the field without a NUL; no label leaves it zero */
	assert_int_equal(xp_swap_format(path, 0, MIB, uuid, "0123456789abcdef"), 0);
	read_at(path, 0, page, sizeof(page));
	assert_memory_equal(page + 1052, "0123456789abcdef", 16);
	assert_int_equal(le32(page + 1028), 255);
	assert_int_equal(xp_swap_format(path, 0, MIB, uuid, NULL), 0);
	read_at(path, 0, page, sizeof(page));
	for (size_t i = 1052; i < 1068; i++)
		assert_int_equal(page[i], 0);
	assert_int_equal(xp_swap_format(path, 0, MIB, uuid, ""), 0);
	read_at(path, 0, page, sizeof(page));
	for (size_t i = 1052; i < 1068; i++)
		assert_int_equal(page[i], 0);

	/* the smallest area mkswap accepts: 10 pages */
	assert_int_equal(xp_swap_format(path, 0, 10 * 4096, NULL, NULL), 0);
	read_at(path, 0, page, sizeof(page));
	assert_int_equal(le32(page + 1028), 9);
}

/* blkid (libblkid's swap prober) reads what we wrote, at an offset inside a disk. */
static void test_swap_blkid(void **state)
{
	(void)state;
	if (!have("blkid"))
		skip();
	const char *path = tpath("swap-disk.img");
	struct xp_layout l = {.label = XP_LABEL_GPT, .disk_size = 256 * MIB, .swap_size = 64 * MIB};
	assert_int_equal(xp_layout_compute(&l), 0);
	xp_test_sparse(path, l.disk_size);
	assert_int_equal(xp_partition_write(path, &l, NULL), 0);
	const char *uuid = "5d2c4e3a-9f1b-4c7d-8e6f-a1b2c3d4e5f6";
	assert_int_equal(xp_swap_format(path, l.swap_offset, l.swap_size, uuid, "swap0"), 0);

	char *out = NULL;
	assert_int_equal(
	    xp_test_run(&out, "blkid -p -O %" PRIu64 " -o export '%s'", l.swap_offset, path), 0);
	assert_string_equal(export_value(out, "TYPE"), "swap");
	assert_string_equal(export_value(out, "UUID"), uuid);
	assert_string_equal(export_value(out, "LABEL"), "swap0");
	assert_string_equal(export_value(out, "VERSION"), "1");
	free(out);
	/* the table is still intact, and still only a table at offset 0 */
	check_table(path, &l);

	/* a random UUID each time when none is given */
	char first[64];
	assert_int_equal(xp_swap_format(path, l.swap_offset, l.swap_size, NULL, NULL), 0);
	assert_int_equal(
	    xp_test_run(&out, "blkid -p -O %" PRIu64 " -o export '%s'", l.swap_offset, path), 0);
	snprintf(first, sizeof(first), "%s", export_value(out, "UUID"));
	assert_int_equal(strlen(first), 36);
	assert_string_equal(export_value(out, "LABEL"), "");
	free(out);
	assert_int_equal(xp_swap_format(path, l.swap_offset, l.swap_size, NULL, NULL), 0);
	assert_int_equal(
	    xp_test_run(&out, "blkid -p -O %" PRIu64 " -o export '%s'", l.swap_offset, path), 0);
	assert_string_equal(export_value(out, "TYPE"), "swap");
	assert_string_not_equal(export_value(out, "UUID"), first);
	free(out);

	/* upper-case UUIDs are accepted and written as bytes */
	assert_int_equal(xp_swap_format(path, l.swap_offset, l.swap_size,
					"5D2C4E3A-9F1B-4C7D-8E6F-A1B2C3D4E5F6", NULL),
			 0);
	assert_int_equal(
	    xp_test_run(&out, "blkid -p -O %" PRIu64 " -o export '%s'", l.swap_offset, path), 0);
	assert_string_equal(export_value(out, "UUID"), uuid);
	free(out);
}

/* swaplabel(8) reads (and rewrites) the same header fields. */
static void test_swap_swaplabel(void **state)
{
	(void)state;
	if (!have("swaplabel"))
		skip();
	const char *path = tpath("swapfile");
	xp_test_sparse(path, 8 * MIB);
	const char *uuid = "11111111-2222-4333-8444-555555555555";
	assert_int_equal(xp_swap_format(path, 0, 8 * MIB, uuid, "my swap"), 0);
	char *out = NULL;
	assert_int_equal(xp_test_run(&out, "swaplabel '%s' 2>&1", path), 0);
	assert_non_null(strstr(out, "LABEL: my swap\n"));
	assert_non_null(strstr(out, "UUID:  11111111-2222-4333-8444-555555555555\n"));
	free(out);
	/* swaplabel's rewrite lands where we put the label */
	assert_int_equal(xp_test_run(NULL, "swaplabel -L other '%s' 2>&1", path), 0);
	unsigned char page[4096];
	read_at(path, 0, page, sizeof(page));
	assert_memory_equal(page + 1052, "other\0", 6);
	assert_memory_equal(page + 4086, "SWAPSPACE2", 10);
}

static void test_swap_errors(void **state)
{
	(void)state;
	const char *path = tpath("swap-err.img");
	xp_test_sparse(path, 4 * MIB);
	const char *uuid = "0b4f6d7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

	assert_int_equal(xp_swap_format(NULL, 0, MIB, NULL, NULL), -EINVAL);
	/* malformed UUIDs */
	assert_int_equal(xp_swap_format(path, 0, MIB, "", NULL), -EINVAL);
	assert_int_equal(xp_swap_format(path, 0, MIB, "not-a-uuid", NULL), -EINVAL);
	assert_int_equal(xp_swap_format(path, 0, MIB, "0b4f6d7e-1c2d-4e5f-8a9b-0c1d2e3f4a5", NULL),
			 -EINVAL);
	assert_int_equal(
	    xp_swap_format(path, 0, MIB, "0b4f6d7e-1c2d-4e5f-8a9b-0c1d2e3f4a5bb", NULL), -EINVAL);
	assert_int_equal(xp_swap_format(path, 0, MIB, "0b4f6d7e11c2d-4e5f-8a9b-0c1d2e3f4a5b", NULL),
			 -EINVAL);
	/* a label longer than the 16-byte field */
	assert_int_equal(xp_swap_format(path, 0, MIB, uuid, "0123456789abcdefg"), -EINVAL);
	/* fewer than 10 pages */
	assert_int_equal(xp_swap_format(path, 0, 10 * 4096 - 1, uuid, NULL), -ENOSPC);
	assert_int_equal(xp_swap_format(path, 0, 0, uuid, NULL), -ENOSPC);
	/* last_page does not fit 32 bits */
	assert_int_equal(xp_swap_format(path, 0, (UINT64_C(1) << 32) * 4096 + 4096, uuid, NULL),
			 -EFBIG);
	/* offset + size wraps */
	assert_int_equal(xp_swap_format(path, UINT64_MAX - 4096, MIB, uuid, NULL), -EINVAL);
	/* the area must lie inside the file */
	assert_int_equal(xp_swap_format(path, 3 * MIB + 4096, MIB, uuid, NULL), -EINVAL);
	assert_int_equal(xp_swap_format(path, 0, 4 * MIB + 4096, uuid, NULL), -EINVAL);
	/* the file */
	assert_int_equal(xp_swap_format(tpath("missing"), 0, MIB, uuid, NULL), -ENOENT);
	assert_int_equal(xp_swap_format(tmpdir, 0, MIB, uuid, NULL), -EISDIR);
	/* none of that wrote a byte */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_blocks, 0);

	/* a write error: /dev/full is a device of any size that refuses every write */
	if (access("/dev/full", W_OK) == 0)
		assert_int_equal(xp_swap_format("/dev/full", 0, MIB, uuid, NULL), -ENOSPC);

	/* exactly at the end is fine; a 4 TiB sparse file is fine too */
	assert_int_equal(xp_swap_format(path, 3 * MIB, MIB, uuid, NULL), 0);
	xp_test_sparse(path, 4 * TIB);
	assert_int_equal(xp_swap_format(path, TIB, 3 * TIB, uuid, NULL), 0);
	unsigned char page[4096];
	read_at(path, TIB, page, sizeof(page));
	assert_int_equal(le32(page + 1028), (uint32_t)(3 * TIB / 4096 - 1));
	unlink(path);
}

/* ---- a GPT with an EFI system partition, FAT32 ------------------------------------------ */

#define GPT_ESP	 "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_BIOS "21686148-6449-6E6F-744E-656564454649"

/* sfdisk -d's line for partition n of path ("" if none; static buffer). */
static const char *dump_line(const char *path, unsigned n)
{
	static char line[1024];
	char *out = NULL, want[600]; /* the path's whole: a shorter prefix finds "device:" */
	line[0] = '\0';
	assert_int_equal(xp_test_run(&out, "sfdisk -d '%s' 2>/dev/null", path), 0);
	assert_non_null(strstr(out, "label: gpt"));
	snprintf(want, sizeof(want), "%s%u :", path, n);
	const char *p = strstr(out, want);
	if (p) {
		const char *e = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
	}
	free(out);
	return line;
}

/* An image's table (msdos with swap, gpt) on a disk grown past it: made a GPT that
 * keeps both partitions where they were, with the ESP (and a BIOS boot partition) at
 * the end; a blank disk gets a root partition; sfdisk agrees. */
static void test_gpt_esp(void **state)
{
	(void)state;
	if (!have("sfdisk"))
		skip();
	const char *path = tpath("esp.img");
	char *out = NULL;
	for (int gpt = 0; gpt < 2; gpt++) {
		struct xp_layout l = {.label = gpt ? XP_LABEL_GPT : XP_LABEL_MSDOS,
				      .disk_size = 64 * MIB,
				      .swap_size = 8 * MIB};
		xp_test_sparse(path, 64 * MIB);
		assert_int_equal(xp_layout_compute(&l), 0);
		assert_int_equal(xp_partition_write(path, &l, NULL), 0);
		assert_int_equal(truncate(path, 200 * MIB), 0);
		struct xp_gpt_esp g = {.esp_size = 64 * MIB, .bios_boot = gpt};
		struct xp_diags d;
		xp_diags_init(&d);
		int r = xp_partition_gpt_esp(path, &g, &d);
		if (r != 0)
			fail_msg("%s: %d %s", gpt ? "gpt" : "msdos", r,
				 d.n ? d.v[d.n - 1].msg : "");
		xp_diags_release(&d);
		/* the end: 200 MiB less the backup table, down to a MiB: 199 MiB */
		assert_true(g.esp_offset == 135 * MIB);
		assert_int_equal(g.root_number, 1);
		assert_true(g.root_offset == l.root_offset && g.root_size == l.root_size);
		assert_int_equal(g.esp_number, gpt ? 4 : 3);
		char want[128];
		snprintf(want, sizeof(want), "start=%12u, size=%12llu, type=%s", 2048,
			 (unsigned long long)(l.root_size / 512), GPT_LINUX);
		assert_non_null(strstr(dump_line(path, 1), want));
		snprintf(want, sizeof(want), "start=%12llu, size=%12u, type=%s",
			 (unsigned long long)(l.swap_offset / 512), 16384, GPT_SWAP);
		assert_non_null(strstr(dump_line(path, 2), want));
		snprintf(want, sizeof(want), "start=      276480, size=      131072, type=%s",
			 GPT_ESP);
		assert_non_null(strstr(dump_line(path, g.esp_number), want));
		if (gpt) {
			snprintf(want, sizeof(want),
				 "start=      274432, size=        2048, type=%s", GPT_BIOS);
			assert_non_null(strstr(dump_line(path, 3), want));
			/* the image's backup header, at its old end, is gone */
			unsigned char sec[512];
			read_at(path, 64 * MIB - 512, sec, sizeof(sec));
			assert_true(memcmp(sec, "EFI PART", 8) != 0);
		}
		assert_int_equal(xp_test_run(&out, "sfdisk --verify '%s' 2>&1", path), 0);
		free(out);
	}

	/* a blank disk: root from 1 MiB up to the ESP; a table there is not kept */
	for (int i = 0; i < 2; i++) {
		struct xp_gpt_esp g = {.esp_size = 64 * MIB, .make_root = true};
		assert_int_equal(xp_partition_gpt_esp(path, &g, NULL), 0);
		assert_true(g.root_offset == MIB && g.root_size == 134 * MIB);
		assert_int_equal(g.root_number, 1);
		assert_int_equal(g.esp_number, 2);
		assert_non_null(strstr(dump_line(path, 2), GPT_ESP));
		assert_string_equal(dump_line(path, 3), "");
	}
	unlink(path);
}

static void test_gpt_esp_errors(void **state)
{
	(void)state;
	const char *path = tpath("esp-err.img");
	struct xp_gpt_esp g = {.esp_size = 64 * MIB};
	struct xp_diags d;
	xp_diags_init(&d);
	xp_test_sparse(path, 200 * MIB);
	assert_int_equal(xp_partition_gpt_esp(NULL, &g, NULL), -EINVAL);
	assert_int_equal(xp_partition_gpt_esp(path, NULL, NULL), -EINVAL);
	/* no table to keep */
	assert_int_equal(xp_partition_gpt_esp(path, &g, &d), -EINVAL);
	assert_true(has_diag(&d, XP_SEV_ERROR, "no partition table"));
	/* not a whole MiB, none */
	g.esp_size = 64 * MIB + 512;
	assert_int_equal(xp_partition_gpt_esp(path, &g, NULL), -EINVAL);
	g.esp_size = 0;
	assert_int_equal(xp_partition_gpt_esp(path, &g, NULL), -EINVAL);
	g.esp_size = 64 * MIB;
	/* the image fills the disk: no room at its end */
	struct xp_layout l = {.label = XP_LABEL_MSDOS, .disk_size = 200 * MIB};
	assert_int_equal(xp_layout_compute(&l), 0);
	assert_int_equal(xp_partition_write(path, &l, NULL), 0);
	assert_int_equal(xp_partition_gpt_esp(path, &g, &d), -ENOSPC);
	assert_true(has_diag(&d, XP_SEV_ERROR, "past"));
	/* a disk too small for root and the ESP */
	xp_test_sparse(path, 65 * MIB);
	g.make_root = true;
	assert_int_equal(xp_partition_gpt_esp(path, &g, NULL), -ENOSPC);
	/* not a file or a disk, none */
	assert_int_equal(xp_partition_gpt_esp(tmpdir, &g, NULL), -EINVAL);
	assert_int_equal(xp_partition_gpt_esp(tpath("missing"), &g, NULL), -ENOENT);
	xp_diags_release(&d);
	unlink(path);
}

/* sfdisk makes path (size MiB, sparse) with the table script. */
static void sfdisk_make(const char *path, unsigned mib, const char *script)
{
	char *out = NULL;
	xp_test_sparse(path, (uint64_t)mib * MIB);
	assert_int_equal(xp_test_run(&out, "printf '%s' | sfdisk -q '%s' 2>&1", script, path), 0);
	free(out);
}

/* An image's own partitions keep their types (its ESP stays an ESP, and is not taken for
 * the root), a GPT's their UUIDs and names; an msdos table's EF partition becomes an
 * ESP. */
static void test_gpt_esp_keeps_types(void **state)
{
	(void)state;
	if (!have("sfdisk"))
		skip();
	const char *path = tpath("keep.img");
	sfdisk_make(path, 64,
		    "label: gpt\\n"
		    "start=2048, size=4096, type=" GPT_ESP
		    ", uuid=11111111-2222-3333-4444-555555555555, name=own-esp\\n"
		    "start=6144, size=32768, type=4F68BCE3-E8CD-44B1-9690-53D8CF7B9D6F, "
		    "uuid=66666666-7777-8888-9999-AAAAAAAAAAAA\\n");
	assert_int_equal(truncate(path, 200 * MIB), 0);
	struct xp_gpt_esp g = {.esp_size = 64 * MIB};
	assert_int_equal(xp_partition_gpt_esp(path, &g, NULL), 0);
	assert_int_equal(g.root_number, 2);
	assert_true(g.root_offset == 6144 * 512ull && g.root_size == 32768 * 512ull);
	assert_int_equal(g.esp_number, 3);
	const char *l = dump_line(path, 1);
	assert_non_null(strstr(l, "type=" GPT_ESP));
	assert_non_null(strstr(l, "uuid=11111111-2222-3333-4444-555555555555"));
	assert_non_null(strstr(l, "name=\"own-esp\""));
	l = dump_line(path, 2);
	assert_non_null(strstr(l, "type=4F68BCE3-E8CD-44B1-9690-53D8CF7B9D6F"));
	assert_non_null(strstr(l, "uuid=66666666-7777-8888-9999-AAAAAAAAAAAA"));
	/* msdos: 82 swap, EF an ESP, 83 Linux */
	sfdisk_make(path, 64,
		    "label: dos\\nstart=2048, size=4096, type=ef\\n"
		    "start=6144, size=32768, type=83\\nstart=38912, size=8192, type=82\\n");
	assert_int_equal(truncate(path, 200 * MIB), 0);
	g = (struct xp_gpt_esp){.esp_size = 64 * MIB};
	assert_int_equal(xp_partition_gpt_esp(path, &g, NULL), 0);
	assert_int_equal(g.root_number, 2);
	assert_non_null(strstr(dump_line(path, 1), "type=" GPT_ESP));
	assert_non_null(strstr(dump_line(path, 2), "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"));
	assert_non_null(strstr(dump_line(path, 3), "type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"));
	unlink(path);
}

/* A disk refused for want of room is left as it was: an old GPT's backup header inside
 * it (where a smaller image ended) is not zeroed. */
static void test_gpt_esp_refused_untouched(void **state)
{
	(void)state;
	if (!have("sfdisk"))
		skip();
	const char *path = tpath("refused.img");
	struct xp_layout l = {.label = XP_LABEL_GPT, .disk_size = 64 * MIB};
	xp_test_sparse(path, 64 * MIB);
	assert_int_equal(xp_layout_compute(&l), 0);
	assert_int_equal(xp_partition_write(path, &l, NULL), 0);
	assert_int_equal(truncate(path, 100 * MIB), 0);
	unsigned char before[32], after[32], sec[512];
	assert_int_equal(xp_sha256_file(path, before), 0);
	struct xp_gpt_esp g = {.esp_size = 64 * MIB};
	assert_int_equal(xp_partition_gpt_esp(path, &g, NULL), -ENOSPC);
	assert_int_equal(xp_sha256_file(path, after), 0);
	assert_memory_equal(before, after, 32);
	read_at(path, 64 * MIB - 512, sec, sizeof(sec));
	assert_memory_equal(sec, "EFI PART", 8);
	unlink(path);
}

/* Growth up to a limit: the ESP at the disk's end stays, the swap partition moves up to
 * it and the root grows up to the swap partition; a limit not past the root: -EINVAL. */
static void test_grow_to_limit(void **state)
{
	(void)state;
	if (!have("sfdisk"))
		skip();
	const char *path = tpath("limit.img");
	/* root 1-24 MiB, swap 24-32 MiB, the ESP 63-127 MiB of a 128 MiB disk */
	sfdisk_make(path, 128,
		    "label: gpt\\nstart=2048, size=47104, type=L\\n"
		    "start=49152, size=16384, type=S\\n"
		    "start=129024, size=131072, type=" GPT_ESP "\\n");
	uint64_t size = 0, moved = 0;
	assert_int_equal(xp_partition_grow(path, MIB, true, &size, &moved, NULL), -ENOTSUP);
	assert_int_equal(xp_partition_grow_to(path, MIB, true, 63 * MIB, &size, &moved, NULL), 0);
	assert_true(moved == 55 * MIB && size == 54 * MIB);
	assert_non_null(strstr(dump_line(path, 1), "start=        2048, size=      110592"));
	assert_non_null(strstr(dump_line(path, 2), "start=      112640, size=       16384"));
	assert_non_null(strstr(dump_line(path, 3), "start=      129024, size=      131072"));
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_partition_grow_to(path, MIB, true, MIB, &size, &moved, &d), -EINVAL);
	assert_true(has_diag(&d, XP_SEV_ERROR, "is not past partition 1"));
	assert_int_equal(xp_partition_grow_to(path, MIB, true, MIB + 1, &size, &moved, NULL),
			 -EINVAL);
	xp_diags_release(&d);
	unlink(path);
}

/* FAT32 as fsck.fat and blkid read it: clean, the volume ID as the UUID; the BPB's
 * fields at an offset */
static void test_fat_format(void **state)
{
	(void)state;
	const char *path = tpath("fat.img");
	char *out = NULL;
	xp_test_sparse(path, 64 * MIB);
	assert_int_equal(xp_fat_format(path, 0, 64 * MIB, 0x1234abcd), 0);
	if (have("fsck.vfat")) {
		assert_int_equal(xp_test_run(&out, "fsck.vfat -n '%s' 2>&1", path), 0);
		free(out);
	}
	if (have("blkid")) {
		assert_int_equal(xp_test_run(&out, "blkid -p -o export '%s'", path), 0);
		assert_string_equal(export_value(out, "TYPE"), "vfat");
		assert_string_equal(export_value(out, "VERSION"), "FAT32");
		assert_string_equal(export_value(out, "UUID"), "1234-ABCD");
		free(out);
	}
	/* at 1 MiB of a disk: hidden sectors 2048, the backup boot sector at 6 */
	xp_test_sparse(path, 200 * MIB);
	assert_int_equal(xp_fat_format(path, MIB, 199 * MIB, 7), 0);
	unsigned char bs[512], bk[512];
	read_at(path, MIB, bs, sizeof(bs));
	read_at(path, MIB + 6 * 512, bk, sizeof(bk));
	assert_memory_equal(bs, bk, sizeof(bs));
	assert_int_equal(le32(bs + 28), 2048);
	assert_int_equal(le32(bs + 32), 199 * 2048);
	assert_int_equal(le32(bs + 67), 7);
	assert_int_equal(bs[510], 0x55);
	assert_int_equal(bs[511], 0xaa);

	/* the errors */
	assert_int_equal(xp_fat_format(NULL, 0, 64 * MIB, 0), -EINVAL);
	assert_int_equal(xp_fat_format(path, 100, 64 * MIB, 0), -EINVAL);	  /* misaligned */
	assert_int_equal(xp_fat_format(path, UINT64_MAX - 511, MIB, 0), -EINVAL); /* wraps */
	assert_int_equal(xp_fat_format(path, 0, 32 * MIB, 0), -ENOSPC);		  /* FAT16's size */
	assert_int_equal(xp_fat_format(path, 0, 0, 0), -ENOSPC);
	assert_int_equal(xp_fat_format(path, 0, 4 * TIB, 0), -EFBIG);
	assert_int_equal(xp_fat_format(path, 150 * MIB, 64 * MIB, 0), -EINVAL); /* outside */
	assert_int_equal(xp_fat_format(tpath("missing"), 0, 64 * MIB, 0), -ENOENT);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_name),
	    cmocka_unit_test(test_layout_table),
	    cmocka_unit_test(test_layout_properties),
	    cmocka_unit_test(test_write_tables),
	    cmocka_unit_test(test_write_over_old),
	    cmocka_unit_test(test_grow_moves_swap),
	    cmocka_unit_test(test_write_none),
	    cmocka_unit_test(test_write_errors),
	    cmocka_unit_test(test_write_libfdisk_failures),
	    cmocka_unit_test(test_write_libfdisk_talks),
	    cmocka_unit_test(test_swap_header_bytes),
	    cmocka_unit_test(test_swap_blkid),
	    cmocka_unit_test(test_swap_swaplabel),
	    cmocka_unit_test(test_swap_errors),
	    cmocka_unit_test(test_gpt_esp),
	    cmocka_unit_test(test_gpt_esp_errors),
	    cmocka_unit_test(test_gpt_esp_keeps_types),
	    cmocka_unit_test(test_gpt_esp_refused_untouched),
	    cmocka_unit_test(test_grow_to_limit),
	    cmocka_unit_test(test_fat_format),
	};
	int r = cmocka_run_group_tests(tests, setup, teardown);
	if (r == 0 && skipped) {
		puts("SKIP: some cases need sfdisk, blkid and swaplabel (util-linux, fdisk)");
		return 77; /* CTest: skipped, never passed */
	}
	return r;
}
