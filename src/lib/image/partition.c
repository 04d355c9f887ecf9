/*
 * partition.c - the partition layout of a guest disk (a Linux root partition at 1 MiB,
 * an optional swap partition at the end), its msdos or gpt table written with libfdisk
 * onto an ordinary image file (no root, no loop device), a disk's table made a GPT with
 * an EFI system partition, Linux swap areas written as mkswap(8) writes them and empty
 * FAT32 filesystems as mkfs.fat(8) -F 32 does.
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
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
#define MBR_TYPE_ESP   0xef
#define GPT_TYPE_LINUX "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
#define GPT_TYPE_SWAP  "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"
/* UEFI 2.10, 5.3.3 (the EFI system partition) and GRUB's BIOS boot partition ("Hah!IdontNeedEFI")
 */
#define GPT_TYPE_ESP	   "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_TYPE_BIOS_BOOT "21686148-6449-6E6F-744E-656564454649"
#define GPT_MAX_PARTS	   128

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
			 const char *name, const char *uuid)
{
	struct fdisk_label *lb = fdisk_get_label(cxt, NULL);
	/* a type GUID libfdisk does not know (an image's own) is kept as it is */
	struct fdisk_parttype *type = guid ? fdisk_label_parse_parttype(lb, guid)
					   : fdisk_label_get_parttype_from_code(lb, code);
	if (!type) {
		char code_str[8];
		snprintf(code_str, sizeof(code_str), "0x%02x", code & 0xffu);
		return fail(w, -ENOTSUP, "partition type %s unknown to libfdisk",
			    guid ? guid : code_str);
	}
	struct fdisk_partition *pa = fdisk_new_partition();
	if (!pa) {
		fdisk_unref_parttype(type);
		return fail(w, -ENOMEM, "cannot add partition %zu", partno + 1);
	}
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
	if (r >= 0 && uuid && *uuid)
		r = fdisk_partition_set_uuid(pa, uuid);
	size_t got = 0;
	if (r >= 0)
		r = fdisk_add_partition(cxt, pa, &got);
	fdisk_unref_partition(pa);
	fdisk_unref_parttype(type); /* the partition held its own reference */
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
			  gpt ? GPT_TYPE_LINUX : NULL, "root", NULL);
	if (r < 0)
		return r;
	if (l->swap_size) {
		r = add_partition(w, cxt, 1, l->swap_offset, l->swap_size, MBR_TYPE_SWAP,
				  gpt ? GPT_TYPE_SWAP : NULL, "swap", NULL);
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
	return xp_partition_grow_to(path, offset, false, 0, new_size, NULL, diags);
}

int xp_partition_grow(const char *path, uint64_t offset, bool move_next, uint64_t *new_size,
		      uint64_t *moved_offset, struct xp_diags *diags)
{
	return xp_partition_grow_to(path, offset, move_next, 0, new_size, moved_offset, diags);
}

int xp_partition_grow_to(const char *path, uint64_t offset, bool move_next, uint64_t limit,
			 uint64_t *new_size, uint64_t *moved_offset, struct xp_diags *diags)
{
	struct writer w = {.path = path, .diags = diags};
	/* libfdisk's expected warning about a GPT backup table that is no longer at the
	 * end (the file grew) is not the caller's business: no diagnostics from asks */
	struct writer quiet = {.path = path, .diags = NULL};
	if (offset % SECTOR || limit % SECTOR)
		return fail(&w, -EINVAL, "offset %llu or limit %llu is not sector aligned",
			    (unsigned long long)offset, (unsigned long long)limit);
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
		else if (limit && fdisk_partition_get_start(p) >= limit / SECTOR)
			continue; /* beyond the limit: stays where it is */
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
	if (limit && limit / SECTOR < end)
		end = limit / SECTOR;
	if (end <= start) {
		r = fail(&w, -EINVAL, "the limit %llu is not past partition %zu",
			 (unsigned long long)limit, partno + 1);
		goto out;
	}
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

/* ---- a GPT with an EFI system partition ------------------------------------------------ */

struct kept {
	size_t partno;
	uint64_t start, size; /* sectors */
	char type[40];	      /* its GPT type GUID */
	char uuid[37];	      /* its GPT partition UUID; "" for a new one (msdos) */
	char name[109];
};

/* A kept partition that can hold the root: not swap, an ESP or a BIOS boot partition. */
static bool root_candidate(const struct kept *k)
{
	return strcasecmp(k->type, GPT_TYPE_SWAP) != 0 && strcasecmp(k->type, GPT_TYPE_ESP) != 0 &&
	       strcasecmp(k->type, GPT_TYPE_BIOS_BOOT) != 0;
}

/* The partitions of the table cxt holds, into k (at most GPT_MAX_PARTS - 2): a GPT's
 * with their type GUIDs, UUIDs and names; an msdos table's with the GPT types of theirs
 * (82 swap, EF the EFI system partition, every other a Linux filesystem). */
static int kept_parts(const struct writer *w, struct fdisk_context *cxt, struct kept *k, size_t *n)
{
	struct fdisk_table *tb = NULL;
	int r = fdisk_get_partitions(cxt, &tb);
	if (r < 0)
		return fail(w, r, "cannot read the partition table");
	bool gpt = fdisk_is_label(cxt, GPT);
	struct fdisk_iter *it = fdisk_new_iter(FDISK_ITER_FORWARD);
	struct fdisk_partition *p;
	*n = 0;
	while (r == 0 && it && fdisk_table_next_partition(tb, it, &p) == 0) {
		if (!fdisk_partition_has_start(p) || !fdisk_partition_has_size(p))
			continue;
		if (fdisk_partition_is_container(p) || fdisk_partition_is_nested(p)) {
			r = fail(w, -ENOTSUP, "an msdos extended partition is not kept");
			break;
		}
		if (*n >= GPT_MAX_PARTS - 2) {
			r = fail(w, -ENOTSUP, "more than %d partitions", GPT_MAX_PARTS - 2);
			break;
		}
		struct fdisk_parttype *t = fdisk_partition_get_type(p);
		const char *ts = t ? fdisk_parttype_get_string(t) : NULL;
		unsigned code = t ? fdisk_parttype_get_code(t) : 0;
		struct kept *e = &k[(*n)++];
		*e = (struct kept){.partno = fdisk_partition_get_partno(p),
				   .start = fdisk_partition_get_start(p),
				   .size = fdisk_partition_get_size(p)};
		const char *uuid = gpt ? fdisk_partition_get_uuid(p) : NULL;
		snprintf(e->type, sizeof(e->type), "%s",
			 gpt && ts		 ? ts
			 : gpt			 ? GPT_TYPE_LINUX
			 : code == MBR_TYPE_SWAP ? GPT_TYPE_SWAP
			 : code == MBR_TYPE_ESP	 ? GPT_TYPE_ESP
						 : GPT_TYPE_LINUX);
		snprintf(e->uuid, sizeof(e->uuid), "%s", uuid && strlen(uuid) == 36 ? uuid : "");
		const char *name = gpt ? fdisk_partition_get_name(p) : NULL;
		bool swap = strcasecmp(e->type, GPT_TYPE_SWAP) == 0;
		snprintf(e->name, sizeof(e->name), "%s",
			 name && *name				  ? name
			 : swap					  ? "swap"
			 : strcasecmp(e->type, GPT_TYPE_ESP) == 0 ? "esp"
								  : "root");
		if (e->partno >= GPT_MAX_PARTS - 2)
			r = fail(w, -ENOTSUP, "partition %zu: GPT keeps %d", e->partno + 1,
				 GPT_MAX_PARTS - 2);
	}
	fdisk_free_iter(it);
	fdisk_unref_table(tb);
	return r;
}

/* A GPT's backup header (the primary's AlternateLBA, UEFI 2.10 table 5.5) where it
 * is not the disk's last sector: zeroed, so that nothing finds that old table. */
static int old_backup_clear(const struct writer *w, uint64_t disk_sectors)
{
	_cleanup_close_ int fd = open(w->path, O_RDWR | O_CLOEXEC);
	unsigned char hdr[SECTOR];
	if (fd < 0 || xp_pread_full(fd, hdr, sizeof(hdr), SECTOR) < 0)
		return fail(w, fd < 0 ? -errno : -EIO, "cannot read the GPT header");
	if (memcmp(hdr, "EFI PART", 8) != 0)
		return 0;
	uint64_t alt = 0;
	for (int i = 7; i >= 0; i--)
		alt = alt << 8 | hdr[32 + i];
	if (alt < 2 || alt >= disk_sectors - 1)
		return 0;
	memset(hdr, 0, sizeof(hdr));
	int r = xp_pwrite_full(fd, hdr, sizeof(hdr), alt * SECTOR);
	return r < 0 ? fail(w, r, "cannot clear the old backup GPT header") : 0;
}

static int gpt_esp(const struct writer *w, struct fdisk_context *cxt, struct xp_gpt_esp *g,
		   uint64_t disk_size)
{
	int r = fdisk_set_ask(cxt, ask_cb, (void *)w);
	if (r >= 0)
		r = fdisk_save_user_sector_size(cxt, SECTOR, SECTOR);
	if (r < 0)
		return fail(w, r, "cannot set up libfdisk");
	if ((r = fdisk_assign_device(cxt, w->path, 0)) < 0)
		return fail(w, r, "cannot open '%s'", w->path);
	struct kept k[GPT_MAX_PARTS];
	size_t n = 0;
	bool had = fdisk_has_label(cxt) && !g->make_root;
	if (had && (r = kept_parts(w, cxt, k, &n)) < 0)
		return r;
	if (!had && !g->make_root)
		return fail(w, -EINVAL, "no partition table");
	if (disk_size < GPT_BACKUP_BYTES + 2 * MIB)
		return fail(w, -ENOSPC, "no room for the EFI system partition");
	uint64_t end = disk_size - GPT_BACKUP_BYTES;
	end -= end % MIB;
	uint64_t need = g->esp_size + (g->bios_boot ? MIB : 0);
	if (end < need + MIB)
		return fail(w, -ENOSPC, "no room for the EFI system partition");
	uint64_t first = end - need; /* where the new partitions begin */
	size_t next = 0;	     /* the first number after the kept ones */
	for (size_t i = 0; i < n; i++) {
		if ((k[i].start + k[i].size) * SECTOR > first)
			return fail(w, -ENOSPC,
				    "partition %zu ends at byte %llu, past %llu where the EFI "
				    "system partition would begin",
				    k[i].partno + 1,
				    (unsigned long long)((k[i].start + k[i].size) * SECTOR),
				    (unsigned long long)first);
		if (k[i].partno + 1 > next)
			next = k[i].partno + 1;
	}
	if (!had) {
		if (first < 2 * MIB)
			return fail(w, -ENOSPC, "no room for the root partition");
		k[n++] = (struct kept){.partno = 0,
				       .start = MIB / SECTOR,
				       .size = (first - MIB) / SECTOR,
				       .type = GPT_TYPE_LINUX,
				       .name = "root"};
		next = 1;
	}

	/* every check passed: only now is anything written (a refused disk stays as it
	 * was) */
	if (fdisk_has_label(cxt) && fdisk_is_label(cxt, GPT) &&
	    (r = old_backup_clear(w, disk_size / SECTOR)) < 0)
		return r;
	if ((r = fdisk_create_disklabel(cxt, "gpt")) < 0)
		return fail(w, r, "cannot create a gpt partition table");
	g->root_number = 0;
	for (size_t i = 0; i < n; i++) {
		r = add_partition(w, cxt, k[i].partno, k[i].start * SECTOR, k[i].size * SECTOR, 0,
				  k[i].type, k[i].name, k[i].uuid);
		if (r < 0)
			return r;
		if (root_candidate(&k[i]) && !g->root_number) {
			g->root_number = (unsigned)k[i].partno + 1;
			g->root_offset = k[i].start * SECTOR;
			g->root_size = k[i].size * SECTOR;
		}
	}
	if (g->bios_boot && (r = add_partition(w, cxt, next++, first, MIB, 0, GPT_TYPE_BIOS_BOOT,
					       "bios", NULL)) < 0)
		return r;
	g->esp_offset = end - g->esp_size;
	g->esp_number = (unsigned)next + 1;
	if ((r = add_partition(w, cxt, next, g->esp_offset, g->esp_size, 0, GPT_TYPE_ESP, "esp",
			       NULL)) < 0)
		return r;
	if ((r = fdisk_write_disklabel(cxt)) < 0)
		return fail(w, r, "cannot write the partition table");
	if ((r = fdisk_deassign_device(cxt, 1)) < 0)
		return fail(w, r, "cannot close '%s'", w->path);
	return 0;
}

int xp_partition_gpt_esp(const char *path, struct xp_gpt_esp *g, struct xp_diags *diags)
{
	if (!path || !g)
		return -EINVAL;
	struct writer w = {.path = path, .diags = diags};
	if (!g->esp_size || g->esp_size % MIB)
		return fail(&w, -EINVAL, "an EFI system partition of %llu bytes, not whole MiB",
			    (unsigned long long)g->esp_size);
	struct stat st;
	if (stat(path, &st) < 0)
		return fail(&w, -errno, "cannot open '%s'", path);
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0)
			return fail(&w, -errno, "cannot read the size of '%s'", path);
	} else if (!S_ISREG(st.st_mode)) {
		return fail(&w, -EINVAL, "'%s' is not a regular file", path);
	}
	size -= size % SECTOR;
	struct fdisk_context *cxt = fdisk_new_context();
	if (!cxt)
		return fail(&w, -ENOMEM, "cannot set up libfdisk");
	int r = gpt_esp(&w, cxt, g, size);
	fdisk_unref_context(cxt);
	return r;
}

/* ---- areas of a file or device ----------------------------------------------------------- */

/* Opens path for writing size bytes at offset into *fdp: -EINVAL where they would not lie
 * inside the regular file or block device (of another kind, such as /dev/full, as it
 * is). */
static int open_area(const char *path, uint64_t offset, uint64_t size, int *fdp)
{
	if (offset > UINT64_MAX - size)
		return -EINVAL;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	uint64_t have = 0;
	int r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && S_ISBLK(st.st_mode))
		r = ioctl(fd, BLKGETSIZE64, &have) < 0 ? -errno : 0;
	else if (r == 0)
		have = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
	if (r == 0 && offset + size > have)
		r = -EINVAL;
	if (r < 0) {
		close(fd);
		return r;
	}
	*fdp = fd;
	return 0;
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
	_cleanup_close_ int fd = -1;
	int r = open_area(path, offset, size, &fd); /* the area must lie inside the image */
	if (r < 0)
		return r;

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

/* ---- FAT32 ---------------------------------------------------------------------------- */

/*
 * An empty FAT32 filesystem, as mkfs.fat(8) -F 32 makes one: for the EFI system
 * partition the autoinstall installer adds to a UEFI machine's disk (UEFI 2.10, 13.3:
 * the ESP holds FAT32 on fixed media), so the installer's initramfs needs no mkfs.fat.
 * The layout follows Microsoft's "FAT: General Overview of On-Disk Format" (fatgen103):
 * 32 reserved sectors (the boot sector at 0, FSInfo at 1, their backups at 6 and 7), two
 * FATs, then the data area whose first cluster (2) is the empty root directory. Files
 * in it are grub-install's business, through the kernel's vfat.
 */
#define FAT_SECTOR	       512u
#define FAT_RESERVED       32u /* sectors before the first FAT, as mkfs.fat uses for FAT32 */
#define FAT_FSINFO  1u
#define FAT_BACKUP  6u
#define FAT32_MIN_CLUS 65525u	   /* fewer clusters is FAT16 (fatgen103, "FAT type") */
#define FAT32_MAX_CLUS 0x0ffffff5u /* cluster numbers are 28 bits, the top ones reserved */

static void put_le16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

/* Sectors per cluster: fatgen103's table for FAT32 (512-byte sectors), 1 below 260 MiB
 * so that a small ESP still has the clusters FAT32 needs. */
static unsigned cluster_sectors(uint64_t sectors)
{
	if (sectors <= 532480)
		return 1;
	if (sectors <= 16777216)
		return 8;
	if (sectors <= 33554432)
		return 16;
	if (sectors <= 67108864)
		return 32;
	return 64;
}

int xp_fat_format(const char *path, uint64_t offset, uint64_t size, uint32_t volume_id)
{
	if (!path || offset % FAT_SECTOR || offset > UINT64_MAX - size)
		return -EINVAL;
	uint64_t total = size / FAT_SECTOR;
	if (total > UINT32_MAX)
		return -EFBIG;
	if (offset / FAT_SECTOR > UINT32_MAX)
		return -EFBIG; /* BPB_HiddSec is 32 bits */
	unsigned spc = cluster_sectors(total);
	/* each FAT: 4 bytes per cluster and for the two reserved entries; fatgen103's
	 * closed form over-estimates a little, which only leaves some entries unused */
	if (total < FAT_RESERVED + 2)
		return -ENOSPC;
	uint64_t tmp1 = total - FAT_RESERVED, tmp2 = (256u * spc + 2) / 2;
	uint64_t fat = (tmp1 + tmp2 - 1) / tmp2;
	if (total < FAT_RESERVED + 2 * fat)
		return -ENOSPC;
	uint64_t clusters = (total - FAT_RESERVED - 2 * fat) / spc;
	if (clusters < FAT32_MIN_CLUS)
		return -ENOSPC;
	if (clusters > FAT32_MAX_CLUS || fat * (FAT_SECTOR / 4) < clusters + 2)
		return -EFBIG;

	_cleanup_close_ int fd = -1;
	int r = open_area(path, offset, size, &fd);
	if (r < 0)
		return r;

	/* the reserved sectors, both FATs and the root directory's cluster: zeros first */
	uint64_t clear = (FAT_RESERVED + 2 * fat + spc) * FAT_SECTOR;
	_cleanup_free_ unsigned char *zero = calloc(1, 1u << 20);
	if (!zero)
		return -ENOMEM;
	for (uint64_t at = 0; at < clear;) {
		size_t n = clear - at < (1u << 20) ? (size_t)(clear - at) : 1u << 20;
		if ((r = xp_pwrite_full(fd, zero, n, offset + at)) < 0)
			return r;
		at += n;
	}

	unsigned char bs[FAT_SECTOR] = {0xeb, 0x58, 0x90}; /* jmp over the BPB; nop */
	memcpy(bs + 3, "XENPROV ", 8);
	put_le16(bs + 11, FAT_SECTOR);
	bs[13] = (unsigned char)spc;
	put_le16(bs + 14, FAT_RESERVED);
	bs[16] = 2;    /* FATs */
	bs[21] = 0xf8; /* media: fixed disk */
	put_le16(bs + 24, 63);
	put_le16(bs + 26, 255);
	put_le32(bs + 28, (uint32_t)(offset / FAT_SECTOR)); /* hidden: the partition's start */
	put_le32(bs + 32, (uint32_t)total);
	put_le32(bs + 36, (uint32_t)fat);
	put_le32(bs + 44, 2); /* the root directory's first cluster */
	put_le16(bs + 48, FAT_FSINFO);
	put_le16(bs + 50, FAT_BACKUP);
	bs[64] = 0x80; /* drive number */
	bs[66] = 0x29; /* the extended boot signature: the three fields below are valid */
	put_le32(bs + 67, volume_id);
	memcpy(bs + 71, "NO NAME    ", 11);
	memcpy(bs + 82, "FAT32   ", 8);
	bs[510] = 0x55;
	bs[511] = 0xaa;

	unsigned char fsi[FAT_SECTOR] = {0};
	put_le32(fsi, 0x41615252);
	put_le32(fsi + 484, 0x61417272);
	put_le32(fsi + 488, (uint32_t)(clusters - 1)); /* free: all but the root's */
	put_le32(fsi + 492, 3);			   /* where to look for a free one */
	put_le32(fsi + 508, 0xaa550000);

	/* FAT[0] the media byte, FAT[1] end of chain (clean, no error), FAT[2] the root
	 * directory's one cluster */
	unsigned char head[12];
	put_le32(head, 0x0ffffff8);
	put_le32(head + 4, 0x0fffffff);
	put_le32(head + 8, 0x0fffffff);

	for (unsigned b = 0; r == 0 && b <= FAT_BACKUP; b += FAT_BACKUP) {
		r = xp_pwrite_full(fd, bs, FAT_SECTOR, offset + (uint64_t)b * FAT_SECTOR);
		if (r == 0)
			r = xp_pwrite_full(fd, fsi, FAT_SECTOR,
					   offset + (uint64_t)(b + FAT_FSINFO) * FAT_SECTOR);
	}
	for (unsigned i = 0; r == 0 && i < 2; i++)
		r = xp_pwrite_full(fd, head, sizeof(head), offset + (FAT_RESERVED + i * fat) * FAT_SECTOR);
	if (r < 0)
		return r;
	int tmp = fd;
	fd = -1;
	if (close(tmp) < 0)
		return -errno;
	return 0;
}
