/*
 * fat-format.c - an empty FAT32 filesystem written at an offset of a file or block
 * device, as mkfs.fat(8) -F 32 makes one: for the EFI system partition the autoinstall
 * installer adds to a UEFI machine's disk (UEFI 2.10, 13.3: the ESP holds FAT32 on
 * fixed media), so the installer's initramfs needs no mkfs.fat.
 *
 * The layout follows Microsoft's "FAT: General Overview of On-Disk Format" (fatgen103):
 * 32 reserved sectors (the boot sector at 0, FSInfo at 1, their backups at 6 and 7), two
 * FATs, then the data area whose first cluster (2) is the empty root directory.
 *
 * Not here: files in it (grub-install writes them through the kernel's vfat), reading it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "xenprov/partition.h"

#define SECTOR	       512u
#define RESERVED       32u /* sectors before the first FAT, as mkfs.fat uses for FAT32 */
#define FSINFO_SECTOR  1u
#define BACKUP_SECTOR  6u
#define FAT32_MIN_CLUS 65525u	   /* fewer clusters is FAT16 (fatgen103, "FAT type") */
#define FAT32_MAX_CLUS 0x0ffffff5u /* cluster numbers are 28 bits, the top ones reserved */

static void le16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void le32(unsigned char *p, uint32_t v)
{
	le16(p, v);
	le16(p + 2, v >> 16);
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
	if (!path || offset % SECTOR || offset > UINT64_MAX - size)
		return -EINVAL;
	uint64_t total = size / SECTOR;
	if (total > UINT32_MAX)
		return -EFBIG;
	if (offset / SECTOR > UINT32_MAX)
		return -EFBIG; /* BPB_HiddSec is 32 bits */
	unsigned spc = cluster_sectors(total);
	/* each FAT: 4 bytes per cluster and for the two reserved entries; fatgen103's
	 * closed form over-estimates a little, which only leaves some entries unused */
	if (total < RESERVED + 2)
		return -ENOSPC;
	uint64_t tmp1 = total - RESERVED, tmp2 = (256u * spc + 2) / 2;
	uint64_t fat = (tmp1 + tmp2 - 1) / tmp2;
	if (total < RESERVED + 2 * fat)
		return -ENOSPC;
	uint64_t clusters = (total - RESERVED - 2 * fat) / spc;
	if (clusters < FAT32_MIN_CLUS)
		return -ENOSPC;
	if (clusters > FAT32_MAX_CLUS || fat * (SECTOR / 4) < clusters + 2)
		return -EFBIG;

	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	uint64_t have = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &have) < 0)
		return -errno;
	if (offset + size > have)
		return -EINVAL; /* the filesystem must lie inside the file or device */

	/* the reserved sectors, both FATs and the root directory's cluster: zeros first */
	uint64_t clear = (RESERVED + 2 * fat + spc) * SECTOR;
	_cleanup_free_ unsigned char *zero = calloc(1, 1u << 20);
	if (!zero)
		return -ENOMEM;
	for (uint64_t at = 0; at < clear;) {
		size_t n = clear - at < (1u << 20) ? (size_t)(clear - at) : 1u << 20;
		int r = xp_pwrite_full(fd, zero, n, offset + at);
		if (r < 0)
			return r;
		at += n;
	}

	unsigned char bs[SECTOR] = {0xeb, 0x58, 0x90}; /* jmp over the BPB; nop */
	memcpy(bs + 3, "XENPROV ", 8);
	le16(bs + 11, SECTOR);
	bs[13] = (unsigned char)spc;
	le16(bs + 14, RESERVED);
	bs[16] = 2;    /* FATs */
	bs[21] = 0xf8; /* media: fixed disk */
	le16(bs + 24, 63);
	le16(bs + 26, 255);
	le32(bs + 28, (uint32_t)(offset / SECTOR)); /* hidden: the partition's start */
	le32(bs + 32, (uint32_t)total);
	le32(bs + 36, (uint32_t)fat);
	le32(bs + 44, 2); /* the root directory's first cluster */
	le16(bs + 48, FSINFO_SECTOR);
	le16(bs + 50, BACKUP_SECTOR);
	bs[64] = 0x80; /* drive number */
	bs[66] = 0x29; /* the extended boot signature: the three fields below are valid */
	le32(bs + 67, volume_id);
	memcpy(bs + 71, "NO NAME    ", 11);
	memcpy(bs + 82, "FAT32   ", 8);
	bs[510] = 0x55;
	bs[511] = 0xaa;

	unsigned char fsi[SECTOR] = {0};
	le32(fsi, 0x41615252);
	le32(fsi + 484, 0x61417272);
	le32(fsi + 488, (uint32_t)(clusters - 1)); /* free: all but the root's */
	le32(fsi + 492, 3);			   /* where to look for a free one */
	le32(fsi + 508, 0xaa550000);

	/* FAT[0] the media byte, FAT[1] end of chain (clean, no error), FAT[2] the root
	 * directory's one cluster */
	unsigned char head[12];
	le32(head, 0x0ffffff8);
	le32(head + 4, 0x0fffffff);
	le32(head + 8, 0x0fffffff);

	int r = 0;
	for (unsigned b = 0; r == 0 && b <= BACKUP_SECTOR; b += BACKUP_SECTOR) {
		r = xp_pwrite_full(fd, bs, SECTOR, offset + (uint64_t)b * SECTOR);
		if (r == 0)
			r = xp_pwrite_full(fd, fsi, SECTOR,
					   offset + (uint64_t)(b + FSINFO_SECTOR) * SECTOR);
	}
	for (unsigned i = 0; r == 0 && i < 2; i++)
		r = xp_pwrite_full(fd, head, sizeof(head), offset + (RESERVED + i * fat) * SECTOR);
	if (r < 0)
		return r;
	int tmp = fd;
	fd = -1;
	if (close(tmp) < 0)
		return -errno;
	return 0;
}
