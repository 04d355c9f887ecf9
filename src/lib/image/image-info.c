/*
 * image-info.c - what an image is made of (`xenprov image info`) and opening the
 * filesystem inside it (`image ls`, `image cat`): container, partition table, and per
 * partition an ext2/3/4 filesystem or a swap area. Read-only, no mount.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/blockdev-internal.h"
#include "xenprov/image.h"

static void uuid_str(const unsigned char *u, char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

/* A Linux swap area: "SWAPSPACE2" at the end of the first 4 KiB page; the UUID at
 * byte 1036 and the label at 1052 (mkswap's header after 1 KiB of boot bits). */
static int probe_swap(struct xp_blockdev *bd, struct xp_image_volume *v)
{
	unsigned char page[4096];
	if (v->size < sizeof(page) || xp_blockdev_pread(bd, page, sizeof(page), v->offset) < 0)
		return 0;
	if (memcmp(page + 4096 - 10, "SWAPSPACE2", 10) != 0)
		return 0;
	snprintf(v->kind, sizeof(v->kind), "swap");
	uuid_str(page + 1036, v->uuid);
	memcpy(v->label, page + 1052, 16);
	v->label[16] = 0;
	return 1;
}

static const char *fs_kind(enum xp_fs_type t)
{
	return t == XP_FS_EXT4 ? "ext4" : t == XP_FS_EXT3 ? "ext3" : "ext2";
}

static void probe(struct xp_blockdev *bd, struct xp_image_volume *v)
{
	struct xp_fs *fs;
	if (xp_fs_open(bd, v->offset, &fs) == 0) {
		if (xp_fs_info(fs, &v->fs) == 0) {
			snprintf(v->kind, sizeof(v->kind), "%s", fs_kind(v->fs.type));
			memcpy(v->uuid, v->fs.uuid, sizeof(v->uuid));
			memcpy(v->label, v->fs.label, sizeof(v->label));
		}
		xp_fs_close(fs);
		return;
	}
	probe_swap(bd, v);
}

int xp_image_info(const char *path, struct xp_image_info *out)
{
	memset(out, 0, sizeof(*out));
	struct xp_blockdev *bd;
	int r = xp_blockdev_open(path, &bd);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(path, &st) == 0)
		out->file_size = (uint64_t)st.st_blocks * 512;
	out->format = xp_blockdev_format(bd);
	out->virtual_size = xp_blockdev_size(bd);
	if (xp_blockdev_backing(bd) && !(out->backing = strdup(xp_blockdev_backing(bd)))) {
		r = -ENOMEM;
		goto out;
	}
	struct xp_part *parts = NULL;
	size_t n = 0;
	r = xp_partition_read(bd, &out->label, &parts, &n);
	if (r < 0)
		goto out;
	out->volumes = calloc(n ? n : 1, sizeof(*out->volumes));
	if (!out->volumes) {
		free(parts);
		r = -ENOMEM;
		goto out;
	}
	if (n == 0) {
		struct xp_image_volume *v = &out->volumes[0];
		v->size = out->virtual_size;
		probe(bd, v);
		out->n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct xp_image_volume *v = &out->volumes[i];
		v->partition = parts[i].number;
		v->offset = parts[i].offset;
		v->size = parts[i].size;
		snprintf(v->type, sizeof(v->type), "%s", parts[i].type);
		probe(bd, v);
		out->n++;
	}
	free(parts);
out:
	xp_blockdev_close(bd);
	if (r < 0)
		xp_image_info_release(out);
	return r;
}

int xp_image_info_root(const char *path, struct xp_image_info *out,
		       const struct xp_image_volume **root, struct xp_diags *d)
{
	int r = xp_image_info(path, out);
	if (r < 0)
		return xp_diags_fail(d, r, path, "image", NULL, "cannot read the image: %s",
				     strerror(-r));
	for (size_t i = 0; root && i < out->n; i++)
		if (strncmp(out->volumes[i].kind, "ext", 3) == 0) {
			*root = &out->volumes[i];
			return 0;
		}
	if (root)
		*root = NULL;
	return 0;
}

void xp_image_info_release(struct xp_image_info *info)
{
	free(info->backing);
	free(info->volumes);
	memset(info, 0, sizeof(*info));
}

int xp_image_open_fs(const char *path, unsigned partition, struct xp_blockdev **bdp,
		     struct xp_fs **fsp)
{
	struct xp_blockdev *bd;
	enum xp_label label;
	struct xp_part *parts;
	size_t n;
	int r = xp__image_open_table(path, NULL, &bd, &label, &parts, &n);
	if (r < 0)
		return r;
	r = -EINVAL; /* no filesystem found */
	if (n == 0) {
		if (partition <= 1)
			r = xp_fs_open(bd, 0, fsp);
		else
			r = -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		if (partition && parts[i].number != partition)
			continue;
		r = xp_fs_open(bd, parts[i].offset, fsp);
		if (r == 0 || partition)
			break;
	}
	if (partition && n && r == -EINVAL) {
		int found = 0;
		for (size_t i = 0; i < n; i++)
			found |= parts[i].number == partition;
		if (!found)
			r = -ENOENT;
	}
	free(parts);
	if (r < 0) {
		xp_blockdev_close(bd);
		return r;
	}
	*bdp = bd;
	return 0;
}
