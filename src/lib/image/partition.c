/*
 * partition.c - the partition layout of a guest disk (a Linux root partition at 1 MiB,
 * an optional swap partition at the end), its msdos or gpt table written with libfdisk
 * onto an ordinary image file (no root, no loop device), and Linux swap areas written
 * as mkswap(8) writes them.
 *
 * Not here: reading partition tables back (partition-read.c), filesystems (extfs-*.c),
 * image containers (blockdev.c, qcow2-write.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfdisk/libfdisk.h>
#include <uuid/uuid.h>

#include "util/cleanup.h"
#include "util/names.h"
#include "xenprov/partition.h"

#define MIB    (UINT64_C(1) << 20)
#define SECTOR UINT64_C(512)
/* What GPT keeps at the end of the disk: the backup partition entry array (128 entries
 * of 128 bytes, 32 sectors) and the backup header (1 sector), UEFI 2.10 section 5.3. */
#define GPT_BACKUP_BYTES (33 * SECTOR)
/* msdos partition entries hold the start and the length in 32-bit sector counts. */
#define MSDOS_MAX_SECTORS UINT64_C(0xffffffff)
/* The smallest root partition we lay out. */
#define MIN_ROOT MIB

/* Partition types: util-linux's include/pt-mbr-partnames.h and the Discoverable
 * Partitions Specification's Linux filesystem data and swap GUIDs. */
#define MBR_TYPE_LINUX 0x83
#define MBR_TYPE_SWAP  0x82
#define GPT_TYPE_LINUX "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
#define GPT_TYPE_SWAP  "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"

const char *xp_label_name(enum xp_label l)
{
	static const char *const names[] = {
	    [XP_LABEL_MSDOS] = "msdos", [XP_LABEL_GPT] = "gpt", [XP_LABEL_NONE] = "none"};
	return xp__name_of(names, sizeof(names) / sizeof(names[0]), l, "?");
}

/* ---- layout ------------------------------------------------------------------------ */

int xp_layout_compute(struct xp_layout *l)
{
	if (!l)
		return -EINVAL;
	switch (l->label) {
	case XP_LABEL_NONE:
		/* A bare filesystem has nowhere to put swap. */
		if (l->swap_size)
			return -EINVAL;
		if (!l->disk_size)
			return -ENOSPC;
		l->root_offset = 0;
		l->root_size = l->disk_size;
		l->swap_offset = 0;
		return 0;
	case XP_LABEL_MSDOS:
	case XP_LABEL_GPT:
		break;
	default:
		return -EINVAL;
	}
	if (l->disk_size % SECTOR)
		return -EINVAL;

	uint64_t end = l->disk_size;
	if (l->label == XP_LABEL_GPT) {
		if (end < GPT_BACKUP_BYTES)
			return -ENOSPC;
		end -= GPT_BACKUP_BYTES;
	}
	end -= end % MIB; /* the last partition ends on a MiB boundary too */

	uint64_t swap = l->swap_size;
	if (swap % MIB) {
		if (swap > UINT64_MAX - MIB)
			return -ENOSPC;
		swap += MIB - swap % MIB;
	}
	/* 1 MiB in front of root (the table, and the alignment everyone uses since
	 * fdisk 2.17.1), at least MIN_ROOT of root, then swap. */
	if (end < MIB + MIN_ROOT || end - MIB - MIN_ROOT < swap)
		return -ENOSPC;

	uint64_t root_offset = MIB;
	uint64_t swap_offset = swap ? end - swap : 0;
	uint64_t root_size = (swap ? swap_offset : end) - root_offset;
	if (l->label == XP_LABEL_MSDOS &&
	    (root_size / SECTOR > MSDOS_MAX_SECTORS || swap_offset / SECTOR > MSDOS_MAX_SECTORS ||
	     swap / SECTOR > MSDOS_MAX_SECTORS))
		return -EFBIG;

	l->swap_size = swap;
	l->root_offset = root_offset;
	l->root_size = root_size;
	l->swap_offset = swap_offset;
	return 0;
}

/* ---- writing the table --------------------------------------------------------------- */

struct writer {
	const char *path;
	struct xp_diags *diags;
};

static int fail(const struct writer *w, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an error about the image and returns r (a -errno). */
static int fail(const struct writer *w, int r, const char *fmt, ...)
{
	if (w->diags) {
		/* "MESSAGE: the errno's text" */
		struct xp_buf msg = XP_BUF_INIT;
		va_list ap;
		va_start(ap, fmt);
		xp_buf_vaddf(&msg, fmt, ap);
		va_end(ap);
		xp_diags_add(w->diags, XP_SEV_ERROR, w->path, 0, 0, "partition", NULL, NULL,
			     "%s: %s", xp_buf_str(&msg), strerror(-r));
		xp_buf_release(&msg);
	}
	return r;
}

/* libfdisk talks to its caller through "ask" callbacks; without one it stays silent.
 * Its warnings become diagnostics; it asks no questions on the calls made here, and any
 * question is answered with the default. */
static int ask_cb(struct fdisk_context *cxt, struct fdisk_ask *ask, void *data)
{
	(void)cxt;
	const struct writer *w = data;
	int type = fdisk_ask_get_type(ask);

	if ((type == FDISK_ASKTYPE_WARN || type == FDISK_ASKTYPE_WARNX) && w->diags) {
		const char *m = fdisk_ask_print_get_mesg(ask);
		int e = type == FDISK_ASKTYPE_WARN ? fdisk_ask_print_get_errno(ask) : 0;
		xp_diags_add(w->diags, XP_SEV_WARNING, w->path, 0, 0, "partition", NULL, NULL,
			     "libfdisk: %s%s%s", m ? m : "?", e ? ": " : "", e ? strerror(e) : "");
	}
	return 0;
}

static int add_partition(const struct writer *w, struct fdisk_context *cxt, size_t partno,
			 uint64_t offset, uint64_t size, unsigned code, const char *guid,
			 const char *name)
{
	struct fdisk_label *lb = fdisk_get_label(cxt, NULL);
	struct fdisk_parttype *type = guid ? fdisk_label_get_parttype_from_string(lb, guid)
					   : fdisk_label_get_parttype_from_code(lb, code);
	if (!type) {
		char code_str[8];
		snprintf(code_str, sizeof(code_str), "0x%02x", code & 0xffu);
		return fail(w, -ENOTSUP, "partition type %s unknown to libfdisk",
			    guid ? guid : code_str);
	}
	struct fdisk_partition *pa = fdisk_new_partition();
	if (!pa)
		return fail(w, -ENOMEM, "cannot add partition %zu", partno + 1);
	int r = fdisk_partition_set_partno(pa, partno);
	if (r >= 0)
		r = fdisk_partition_set_start(pa, offset / SECTOR);
	if (r >= 0)
		r = fdisk_partition_set_size(pa, size / SECTOR);
	/* Exactly the size asked for: libfdisk would otherwise align the end itself. */
	if (r >= 0)
		r = fdisk_partition_size_explicit(pa, 1);
	if (r >= 0)
		r = fdisk_partition_set_type(pa, type);
	if (r >= 0 && guid)
		r = fdisk_partition_set_name(pa, name);
	size_t got = 0;
	if (r >= 0)
		r = fdisk_add_partition(cxt, pa, &got);
	fdisk_unref_partition(pa);
	if (r < 0)
		return fail(w, r, "cannot add partition %zu (%s) at byte %llu, %llu bytes",
			    partno + 1, name, (unsigned long long)offset, (unsigned long long)size);
	if (got != partno)
		return fail(w, -EIO, "libfdisk made partition %zu, not %zu", got + 1, partno + 1);
	return 0;
}

static int write_table(const struct writer *w, struct fdisk_context *cxt, const struct xp_layout *l)
{
	bool gpt = l->label == XP_LABEL_GPT;
	int r = fdisk_set_ask(cxt, ask_cb, (void *)w);
	/* Our offsets are in 512-byte sectors whatever the file system reports. */
	if (r >= 0)
		r = fdisk_save_user_sector_size(cxt, SECTOR, SECTOR);
	if (r < 0)
		return fail(w, r, "cannot set up libfdisk");
	r = fdisk_assign_device(cxt, w->path, 0);
	if (r < 0)
		return fail(w, r, "cannot open '%s'", w->path);
	/* Old signatures at the start of the disk (a bare filesystem, another table)
	 * would make blkid see two things; wipe them as sfdisk --wipe=auto does. */
	fdisk_enable_wipe(cxt, 1);

	r = fdisk_create_disklabel(cxt, gpt ? "gpt" : "dos");
	if (r < 0)
		return fail(w, r, "cannot create a %s partition table", xp_label_name(l->label));
	r = add_partition(w, cxt, 0, l->root_offset, l->root_size, MBR_TYPE_LINUX,
			  gpt ? GPT_TYPE_LINUX : NULL, "root");
	if (r < 0)
		return r;
	if (l->swap_size) {
		r = add_partition(w, cxt, 1, l->swap_offset, l->swap_size, MBR_TYPE_SWAP,
				  gpt ? GPT_TYPE_SWAP : NULL, "swap");
		if (r < 0)
			return r;
	}
	/* The boot flag old BIOS boot code (and some bootloaders) look for. */
	if (!gpt) {
		r = fdisk_toggle_partition_flag(cxt, 0, DOS_FLAG_ACTIVE);
		if (r < 0)
			return fail(w, r, "cannot mark partition 1 bootable");
	}
	r = fdisk_write_disklabel(cxt);
	if (r < 0)
		return fail(w, r, "cannot write the partition table");
	/* No fsync here: the image builder syncs the whole file once before renaming. */
	r = fdisk_deassign_device(cxt, 1);
	if (r < 0)
		return fail(w, r, "cannot close '%s'", w->path);
	return 0;
}

int xp_partition_write(const char *path, const struct xp_layout *l, struct xp_diags *diags)
{
	if (!path || !l)
		return -EINVAL;
	struct writer w = {.path = path, .diags = diags};

	if (l->label == XP_LABEL_NONE)
		return 0;
	if (l->label != XP_LABEL_MSDOS && l->label != XP_LABEL_GPT)
		return fail(&w, -EINVAL, "unknown partition table type %d", (int)l->label);

	/* Only layouts made by xp_layout_compute: the checks of the geometry live there. */
	struct xp_layout want = {
	    .label = l->label, .disk_size = l->disk_size, .swap_size = l->swap_size};
	int r = xp_layout_compute(&want);
	if (r < 0)
		return fail(&w, r, "no %s layout for a disk of %llu bytes with %llu bytes of swap",
			    xp_label_name(l->label), (unsigned long long)l->disk_size,
			    (unsigned long long)l->swap_size);
	if (want.swap_size != l->swap_size || want.root_offset != l->root_offset ||
	    want.root_size != l->root_size || want.swap_offset != l->swap_offset)
		return fail(&w, -EINVAL, "the layout was not made by xp_layout_compute");

	struct stat st;
	if (stat(path, &st) < 0)
		return fail(&w, -errno, "cannot open '%s'", path);
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) { /* the autoinstall installer's target disk */
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
			r = -errno;
			if (fd >= 0)
				close(fd);
			return fail(&w, r, "cannot read the size of '%s'", path);
		}
		close(fd);
	} else if (!S_ISREG(st.st_mode)) {
		return fail(&w, -EINVAL, "'%s' is not a regular file", path);
	}
	if (size != l->disk_size)
		return fail(&w, -EINVAL, "'%s' is %llu bytes long, the layout is for %llu", path,
			    (unsigned long long)size, (unsigned long long)l->disk_size);

	struct fdisk_context *cxt = fdisk_new_context();
	if (!cxt)
		return fail(&w, -ENOMEM, "cannot set up libfdisk");
	r = write_table(&w, cxt, l);
	fdisk_unref_context(cxt); /* also closes the file after a failure */
	return r;
}

/* ---- growing the last partition ------------------------------------------------------- */

int xp_partition_grow_last(const char *path, uint64_t offset, uint64_t *new_size,
			   struct xp_diags *diags)
{
	return xp_partition_grow(path, offset, false, new_size, NULL, diags);
}

int xp_partition_grow(const char *path, uint64_t offset, bool move_next, uint64_t *new_size,
		      uint64_t *moved_offset, struct xp_diags *diags)
{
	struct writer w = {.path = path, .diags = diags};
	/* libfdisk's expected warning about a GPT backup table that is no longer at the
	 * end (the file grew) is not the caller's business: no diagnostics from asks */
	struct writer quiet = {.path = path, .diags = NULL};
	if (offset % SECTOR)
		return fail(&w, -EINVAL, "offset %llu is not sector aligned",
			    (unsigned long long)offset);
	struct fdisk_context *cxt = fdisk_new_context();
	if (!cxt)
		return fail(&w, -ENOMEM, "cannot set up libfdisk");
	struct fdisk_table *tb = NULL;
	struct fdisk_partition *pa = NULL, *grown = NULL, *moved = NULL;
	size_t partno = SIZE_MAX, next = SIZE_MAX;
	fdisk_sector_t next_start = 0, next_size = 0;
	unsigned n_later = 0;
	int r = fdisk_set_ask(cxt, ask_cb, &quiet);
	if (r == 0)
		r = fdisk_assign_device(cxt, path, 0);
	if (r < 0) {
		r = fail(&w, r, "cannot open the partition table");
		goto out;
	}
	if (!fdisk_has_label(cxt)) {
		r = fail(&w, -EINVAL, "no partition table");
		goto out;
	}
	r = fdisk_get_partitions(cxt, &tb);
	if (r < 0) {
		r = fail(&w, r, "cannot read the partition table");
		goto out;
	}
	/* the partition at offset must be the last one on the disk */
	uint64_t start = offset / SECTOR;
	struct fdisk_iter *it = fdisk_new_iter(FDISK_ITER_FORWARD);
	struct fdisk_partition *p;
	bool later = false;
	while (it && fdisk_table_next_partition(tb, it, &p) == 0) {
		if (!fdisk_partition_has_start(p))
			continue;
		if (fdisk_partition_get_start(p) == start)
			partno = fdisk_partition_get_partno(p);
		else if (fdisk_partition_get_start(p) > start) {
			n_later++;
			next = fdisk_partition_get_partno(p);
			next_start = fdisk_partition_get_start(p);
			next_size = fdisk_partition_get_size(p);
		}
	}
	fdisk_free_iter(it);
	later = n_later > 1 || (n_later == 1 && !move_next);
	if (partno == SIZE_MAX) {
		r = fail(&w, -ENOENT, "no partition starts at byte %llu",
			 (unsigned long long)offset);
		goto out;
	}
	if (later) {
		r = fail(&w, -ENOTSUP, "partition %zu is not the last one and cannot grow",
			 partno + 1);
		goto out;
	}
	/* its end: the last usable sector (msdos: the disk's last; gpt: the one before the
	 * backup entries, which libfdisk moves to the new end of a grown disk) */
	fdisk_sector_t last = fdisk_get_last_lba(cxt);
	if (last < start) {
		r = fail(&w, -EINVAL, "the disk ends before partition %zu", partno + 1);
		goto out;
	}
	fdisk_sector_t end = last + 1;
	if (n_later == 1) {
		/* the one partition after it (swap) moves to the end of the disk, its start
		 * 1 MiB aligned and its size kept; what it held is not moved (the caller
		 * formats it again) */
		fdisk_sector_t align = MIB / SECTOR;
		end = end > next_size ? (end - next_size) / align * align : 0;
		if (end < next_start) {
			r = fail(&w, -ENOSPC, "no room to move partition %zu to the end", next + 1);
			goto out;
		}
		moved = fdisk_new_partition();
		r = moved ? fdisk_partition_set_start(moved, end) : -ENOMEM;
		if (r == 0)
			r = fdisk_partition_set_size(moved, next_size);
		if (r == 0)
			r = fdisk_partition_size_explicit(moved, 1);
		if (r == 0)
			r = fdisk_set_partition(cxt, next, moved);
		if (r < 0) {
			r = fail(&w, r, "cannot move partition %zu to the end", next + 1);
			goto out;
		}
		if (moved_offset)
			*moved_offset = (uint64_t)end * SECTOR;
	}
	grown = fdisk_new_partition();
	if (!grown) {
		r = fail(&w, -ENOMEM, "cannot set up libfdisk");
		goto out;
	}
	r = fdisk_partition_set_size(grown, end - start);
	if (r == 0)
		r = fdisk_partition_size_explicit(grown, 1);
	if (r == 0)
		r = fdisk_set_partition(cxt, partno, grown);
	if (r == 0)
		r = fdisk_write_disklabel(cxt);
	if (r == 0)
		r = fdisk_get_partition(cxt, partno, &pa);
	if (r < 0) {
		r = fail(&w, r, "cannot grow partition %zu", partno + 1);
		goto out;
	}
	*new_size = fdisk_partition_get_size(pa) * SECTOR;
	r = fdisk_deassign_device(cxt, 0);
	if (r < 0)
		r = fail(&w, r, "cannot write the partition table");
out:
	fdisk_unref_partition(pa);
	fdisk_unref_partition(grown);
	fdisk_unref_partition(moved);
	fdisk_unref_table(tb);
	fdisk_unref_context(cxt);
	return r;
}

/* ---- swap ------------------------------------------------------------------------------ */

/*
 * The version 1 swap header, as mkswap(8) writes it and the kernel reads it
 * (include/linux/swap.h, union swap_header): the first 4 KiB page of the area holds
 *   1024 bytes of boot bits (zeros),
 *   u32 version (1), u32 last_page, u32 nr_badpages (0), u8 uuid[16], char label[16],
 *   then zeros,
 *   and "SWAPSPACE2" in the last 10 bytes of the page.
 * Integers are in the guest's byte order; Xen guests (x86, arm64) are little-endian.
 */
#define SWAP_PAGE      4096u
#define SWAP_MIN_PAGES 10u /* mkswap's MIN_GOODPAGES */
#define SWAP_INFO      1024u
#define SWAP_MAGIC     "SWAPSPACE2"
#define SWAP_LABEL_MAX 16u

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

int xp_swap_format(const char *path, uint64_t offset, uint64_t size, const char *uuid,
		   const char *label)
{
	if (!path)
		return -EINVAL;
	uuid_t u;
	if (uuid) {
		if (uuid_parse(uuid, u) < 0)
			return -EINVAL;
	} else {
		uuid_generate(u);
	}
	size_t label_len = label ? strlen(label) : 0;
	if (label_len > SWAP_LABEL_MAX)
		return -EINVAL; /* mkswap truncates with a warning; we refuse */
	uint64_t pages = size / SWAP_PAGE;
	if (pages < SWAP_MIN_PAGES)
		return -ENOSPC;
	if (pages - 1 > UINT32_MAX)
		return -EFBIG;
	if (offset > UINT64_MAX - size)
		return -EINVAL;

	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) && offset + size > (uint64_t)st.st_size)
		return -EINVAL; /* the area must lie inside the image */

	unsigned char page[SWAP_PAGE];
	memset(page, 0, sizeof(page));
	put_le32(page + SWAP_INFO, 1);
	put_le32(page + SWAP_INFO + 4, (uint32_t)(pages - 1));
	put_le32(page + SWAP_INFO + 8, 0);
	memcpy(page + SWAP_INFO + 12, u, sizeof(uuid_t));
	if (label_len)
		memcpy(page + SWAP_INFO + 28, label, label_len);
	memcpy(page + SWAP_PAGE - strlen(SWAP_MAGIC), SWAP_MAGIC, strlen(SWAP_MAGIC));

	/* One page, in one call: a short write to a regular file means it is full. */
	ssize_t n = pwrite(fd, page, sizeof(page), (off_t)offset);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(page))
		return -ENOSPC;
	int tmp = fd;
	fd = -1;
	if (close(tmp) < 0)
		return -errno;
	return 0;
}
