/*
 * fuzz-partition-read.c - libFuzzer target for the MBR/GPT reader: the input is the
 * start of a raw disk image. So that the fuzzer gets past the CRC32 checks, an input
 * whose last byte is odd has its GPT header CRC and entries CRC recomputed by the
 * harness before it is read (when the header's fields make that possible).
 *
 * Contracts: 0 or -EBADMSG/-errno; on failure no table is returned; on success every
 * partition has a number, NUL-terminated strings, a name that is valid UTF-8, and a GPT
 * partition a type GUID of 36 characters; XP_LABEL_NONE has no partitions.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-file.h"

#include "xenprov/blockdev.h"
#include "xenprov/partition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (2u << 20)

#define check fuzz_check

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

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* recomputes the CRCs of a GPT header at LBA 1 (512-byte sectors) */
static void fix_crcs(unsigned char *img, size_t size)
{
	if (size < 1024)
		return;
	unsigned char *h = img + 512;
	uint32_t hsize = le32(h + 12);
	uint64_t lba = le32(h + 72) | (uint64_t)le32(h + 76) << 32;
	uint64_t bytes = (uint64_t)le32(h + 80) * le32(h + 84);
	if (lba < size / 512 && bytes <= size - lba * 512)
		put_le32(h + 88, crc32_ieee(img + lba * 512, (size_t)bytes));
	if (hsize >= 92 && hsize <= 512) {
		put_le32(h + 16, 0);
		put_le32(h + 16, crc32_ieee(h, hsize));
	}
}

static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80	      ? 0
			: (*p & 0xe0) == 0xc0 ? 1
			: (*p & 0xf0) == 0xe0 ? 2
			: (*p & 0xf8) == 0xf0 ? 3
					      : -1;
		if (n < 0)
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	unsigned char *img = malloc(size ? size : 1);
	if (!img)
		return 0;
	memcpy(img, data, size);
	if (size && (img[size - 1] & 1))
		fix_crcs(img, size);
	char path[64];
	int fd = fuzz_memfd("fuzz-disk", img, size, 0, path);
	free(img);
	if (fd < 0)
		return 0;
	struct xp_blockdev *bd;
	int r = xp_blockdev_open(path, &bd);
	if (r < 0) {
		/* the input is a qcow2 image we cannot read: fine */
		close(fd);
		return 0;
	}
	enum xp_label label;
	struct xp_part *parts = (struct xp_part *)1;
	size_t n = 99;
	r = xp_partition_read(bd, &label, &parts, &n);
	if (r < 0) {
		check(r == -EBADMSG || r == -ENOTSUP || r == -ENOMEM || r == -ELOOP ||
		      r == -ENOENT || r == -EIO);
		check(parts == NULL && n == 0);
	} else {
		check(label == XP_LABEL_MSDOS || label == XP_LABEL_GPT || label == XP_LABEL_NONE);
		if (label == XP_LABEL_NONE)
			check(n == 0 && parts == NULL);
		for (size_t i = 0; i < n; i++) {
			const struct xp_part *p = &parts[i];
			check(p->number >= 1);
			check(i == 0 || p->number > parts[i - 1].number);
			check(memchr(p->type, '\0', sizeof(p->type)) != NULL);
			check(memchr(p->name, '\0', sizeof(p->name)) != NULL);
			check(memchr(p->uuid, '\0', sizeof(p->uuid)) != NULL);
			check(valid_utf8(p->name));
			if (label == XP_LABEL_GPT)
				check(strlen(p->type) == 36 && strlen(p->uuid) == 36);
			else
				check(p->number <= 4 && p->name[0] == '\0');
			check(p->offset + p->size >= p->offset); /* no wrap */
		}
		free(parts);
	}
	xp_blockdev_close(bd);
	close(fd);
	return 0;
}
