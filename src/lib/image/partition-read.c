/*
 * partition-read.c - reads the partition table of an image (raw or qcow2, through
 * blockdev.h): msdos (MBR) primary partitions and GPT.
 *
 * MBR: the four primary entries at byte 446 of sector 0 with the 0x55AA signature;
 * extended partitions (types 0x05, 0x0f, 0x85) are skipped, logical partitions are
 * not read yet. A status byte other than 0x00/0x80 means there is no MBR (as libblkid
 * decides), which keeps a FAT boot sector or garbage from being taken for a table.
 *
 * GPT (UEFI 2.10 section 5.3): a protective MBR entry of type 0xEE, then the header at
 * LBA 1 (512-byte sectors, then 4096-byte ones are tried) whose signature, header CRC32,
 * entry size and count and entries CRC32 are all checked; a damaged primary header is
 * an error (-EBADMSG), the backup header is not consulted. Type and partition GUIDs
 * are printed in upper case as fdisk(8) and sfdisk(8) print them; names are converted
 * from UTF-16LE to UTF-8 (truncated at a character boundary to fit xp_part.name).
 *
 * Hand-written on purpose: reading is small and must survive hostile input (fuzzed by
 * fuzz/fuzz-partition-read.c). Writing tables is libfdisk's job (partition.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/blockdev-internal.h"
#include "xenprov/partition.h"

#define GPT_MAX_ENTRIES	      4096
#define GPT_MAX_ENTRIES_BYTES (1u << 20)

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* CRC-32 (IEEE 802.3, reflected, as UEFI specifies for GPT) */
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

/* GUIDs are stored mixed-endian: the first three fields little-endian. */
static void format_guid(const unsigned char *g, char out[37])
{
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", le32(g),
		 (unsigned)(g[4] | g[5] << 8), (unsigned)(g[6] | g[7] << 8), g[8], g[9], g[10],
		 g[11], g[12], g[13], g[14], g[15]);
}

static bool guid_is_zero(const unsigned char *g)
{
	for (int i = 0; i < 16; i++)
		if (g[i])
			return false;
	return true;
}

/* UTF-16LE (units code units) to NUL-terminated UTF-8 in out[outlen]; stops at a NUL
 * unit; invalid surrogates become U+FFFD; never splits a character. */
static void utf16le_to_utf8(const unsigned char *in, size_t units, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < units; i++) {
		uint32_t c = (uint32_t)in[2 * i] | (uint32_t)in[2 * i + 1] << 8;
		if (c == 0)
			break;
		if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
			uint32_t lo = (uint32_t)in[2 * i + 2] | (uint32_t)in[2 * i + 3] << 8;
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				c = 0xfffd;
			}
		} else if (c >= 0xd800 && c <= 0xdfff) {
			c = 0xfffd;
		}
		unsigned char b[4];
		size_t n;
		if (c < 0x80) {
			b[0] = (unsigned char)c;
			n = 1;
		} else if (c < 0x800) {
			b[0] = (unsigned char)(0xc0 | c >> 6);
			b[1] = (unsigned char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			b[0] = (unsigned char)(0xe0 | c >> 12);
			b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (unsigned char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			b[0] = (unsigned char)(0xf0 | c >> 18);
			b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
			b[3] = (unsigned char)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (o + n + 1 > outlen)
			break;
		memcpy(out + o, b, n);
		o += n;
	}
	out[o] = '\0';
}

static int read_gpt(struct xp_blockdev *bd, unsigned ss, struct xp_part **parts, size_t *n)
{
	unsigned char *hdr = malloc(ss);
	unsigned char *ents = NULL;
	struct xp_part *v = NULL;
	size_t count = 0;
	int r;

	if (!hdr)
		return -ENOMEM;
	r = xp_blockdev_pread(bd, hdr, ss, ss);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	if (memcmp(hdr, "EFI PART", 8) != 0)
		goto out;
	uint32_t hsize = le32(hdr + 12);
	if (hsize < 92 || hsize > ss)
		goto out;
	uint32_t hcrc = le32(hdr + 16);
	memset(hdr + 16, 0, 4);
	if (crc32_ieee(hdr, hsize) != hcrc)
		goto out;
	if (le64(hdr + 24) != 1) /* MyLBA */
		goto out;
	uint64_t first_usable = le64(hdr + 40), last_usable = le64(hdr + 48);
	uint64_t entries_lba = le64(hdr + 72);
	uint32_t nent = le32(hdr + 80), esize = le32(hdr + 84), ecrc = le32(hdr + 88);
	if (first_usable > last_usable)
		goto out;
	/* entry size: 128 * 2^n (UEFI); counts bounded so a table is at most 1 MiB */
	if (esize < 128 || (esize & (esize - 1)) != 0 || nent > GPT_MAX_ENTRIES ||
	    (uint64_t)nent * esize > GPT_MAX_ENTRIES_BYTES)
		goto out;
	if (entries_lba < 2 || entries_lba > UINT64_MAX / ss)
		goto out;
	size_t ebytes = (size_t)nent * esize;
	ents = malloc(ebytes ? ebytes : 1);
	if (!ents) {
		r = -ENOMEM;
		goto out;
	}
	r = xp_blockdev_pread(bd, ents, ebytes, entries_lba * ss);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	if (crc32_ieee(ents, ebytes) != ecrc)
		goto out;

	v = calloc(nent ? nent : 1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < nent; i++) {
		const unsigned char *e = ents + (size_t)i * esize;
		if (guid_is_zero(e))
			continue;
		uint64_t first = le64(e + 32), last = le64(e + 40);
		if (first > last || last > UINT64_MAX / ss - 1)
			goto out;
		struct xp_part *p = &v[count++];
		p->number = i + 1;
		p->offset = first * ss;
		p->size = (last - first + 1) * ss;
		format_guid(e, p->type);
		format_guid(e + 16, p->uuid);
		utf16le_to_utf8(e + 56, 36, p->name, sizeof(p->name));
	}
	*parts = v;
	*n = count;
	v = NULL;
	r = 0;
out:
	free(hdr);
	free(ents);
	free(v);
	return r;
}

int xp_partition_read(struct xp_blockdev *bd, enum xp_label *label, struct xp_part **parts,
		      size_t *n)
{
	unsigned char mbr[512];
	if (!bd || !label || !parts || !n)
		return -EINVAL;
	*label = XP_LABEL_NONE;
	*parts = NULL;
	*n = 0;

	int r = xp_blockdev_pread(bd, mbr, sizeof(mbr), 0);
	if (r < 0)
		return r;
	if (mbr[510] != 0x55 || mbr[511] != 0xaa)
		return 0;
	bool protective = false;
	for (int i = 0; i < 4; i++) {
		const unsigned char *e = mbr + 446 + 16 * i;
		if (e[0] != 0x00 && e[0] != 0x80)
			return 0; /* not a partition table */
		if (e[4] == 0xee)
			protective = true;
	}

	if (protective) {
		/* 512-byte sectors first, then 4 KiB ones */
		r = read_gpt(bd, 512, parts, n);
		if (r == -EBADMSG && xp_blockdev_size(bd) >= 2 * 4096) {
			unsigned char sig[8];
			int r2 = xp_blockdev_pread(bd, sig, sizeof(sig), 4096);
			if (r2 < 0)
				return r2;
			if (memcmp(sig, "EFI PART", 8) == 0)
				r = read_gpt(bd, 4096, parts, n);
		}
		if (r < 0)
			return r;
		*label = XP_LABEL_GPT;
		return 0;
	}

	struct xp_part *v = calloc(4, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t count = 0;
	for (int i = 0; i < 4; i++) {
		const unsigned char *e = mbr + 446 + 16 * i;
		uint8_t type = e[4];
		uint32_t start = le32(e + 8), sectors = le32(e + 12);
		if (type == 0 || sectors == 0)
			continue;
		if (type == 0x05 || type == 0x0f || type == 0x85)
			continue; /* extended: logical partitions not read yet */
		struct xp_part *p = &v[count++];
		p->number = (unsigned)i + 1;
		p->offset = (uint64_t)start * 512;
		p->size = (uint64_t)sectors * 512;
		/* as sfdisk(8) prints it: "83", "82", "c" */
		snprintf(p->type, sizeof(p->type), "%x", type);
	}
	*label = XP_LABEL_MSDOS;
	*parts = v;
	*n = count;
	return 0;
}

int xp__image_open_table(const char *path, struct xp_diags *d, struct xp_blockdev **bd,
			 enum xp_label *label, struct xp_part **parts, size_t *n)
{
	*parts = NULL;
	*n = 0;
	int r = xp__blockdev_open(path, bd, d);
	if (r < 0)
		return r;
	r = xp_partition_read(*bd, label, parts, n);
	if (r < 0) {
		xp_blockdev_close(*bd);
		*bd = NULL;
		if (d)
			xp_diags_add(d, XP_SEV_ERROR, path, 0, 0, "partition", path, NULL,
				     "cannot read the partition table: %s", strerror(-r));
		return r;
	}
	return 0;
}
