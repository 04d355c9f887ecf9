/*
 * domain-disks.c - a guest's storage (`xenprov domain block-list`): the disks its xl
 * config names (read with xenprov's own parser and disk-spec reader), each image read
 * through its headers as qemu-img reads them (format, virtual size, backing file; space
 * used from the host's block count), which one `domain create` made, and when the guest
 * runs, the toolstack's view of each (`xl block-list`, matched by device number).
 *
 * Not here: running xl (toolstack.c), the image formats (src/lib/image/).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xenprov/toolstack.h"
#include "xenprov/xl-config.h"

void xp_domain_disks_free(struct xp_domain_disk *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].spec);
		xp_disk_release(&v[i].disk);
		free(v[i].backing);
		free(v[i].backing_path);
		free(v[i].error);
		free(v[i].vbd.be_path);
	}
	free(v);
}

static void set_error(struct xp_domain_disk *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(struct xp_domain_disk *k, const char *fmt, ...)
{
	if (k->error)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&k->error, fmt, ap) < 0)
		k->error = NULL;
	va_end(ap);
}

/* The space a file takes on the host (what qemu-img calls its actual size). */
static int64_t used_of(const struct stat *st)
{
	return S_ISREG(st->st_mode) ? (int64_t)st->st_blocks * 512 : -1;
}

/* backing name resolved against the directory of the image naming it, as QEMU and
 * xp_blockdev_open resolve it */
static char *resolve(const char *image, const char *name)
{
	const char *slash = strrchr(image, '/');
	char *out = NULL;
	if (name[0] == '/' || !slash)
		return strdup(name);
	if (asprintf(&out, "%.*s/%s", (int)(slash - image), image, name) < 0)
		return NULL;
	return out;
}

/* The image at the disk's target: its headers and the backing file's. */
static int read_image(struct xp_domain_disk *k)
{
	const char *path = k->disk.pdev_path;
	struct stat st;
	if (!path || !*path || k->disk.format == XP_DISK_FORMAT_EMPTY)
		return 0; /* an empty CD-ROM drive */
	if (stat(path, &st) < 0) {
		set_error(k, "cannot read %s: %s", path, strerror(errno));
		return 0;
	}
	k->block_device = S_ISBLK(st.st_mode);
	k->used = used_of(&st);
	struct xp_blockdev *bd;
	int r = xp_blockdev_open(path, &bd);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* a backing file gone, say: the top image's own header still says what
		 * it is; blockdev reads whole chains, so only the error is known here */
		set_error(k, "cannot read the image %s: %s", path, strerror(-r));
		return 0;
	}
	k->image = true;
	k->image_format = xp_blockdev_format(bd);
	k->virtual_size = xp_blockdev_size(bd);
	const char *b = xp_blockdev_backing(bd);
	if (b && (!(k->backing = strdup(b)) || !(k->backing_path = resolve(path, b))))
		r = -ENOMEM;
	xp_blockdev_close(bd);
	if (r < 0 || !k->backing)
		return r;
	struct xp_blockdev *bb;
	if (xp_blockdev_open(k->backing_path, &bb) == 0) {
		k->backing_read = true;
		k->backing_format = xp_blockdev_format(bb);
		k->backing_size = xp_blockdev_size(bb);
		xp_blockdev_close(bb);
		k->backing_used = stat(k->backing_path, &st) == 0 ? used_of(&st) : -1;
	}
	return 0;
}

int xp_domain_disks(const struct xp_domain *dom, struct xp_xl *xl, struct xp_domain_disk **v,
		    size_t *n, struct xp_diags *d)
{
	*v = NULL;
	*n = 0;
	if (!dom->config_path)
		return xp_diags_refuse(d, -ENOENT, "config", dom->name, NULL,
				       "domain '%s' has no config", dom->name);
	struct xp_cfg *cfg;
	int r = xp_cfg_load(dom->config_path, d, &cfg);
	if (r < 0)
		return r;
	if (xp_cfg_has_errors(cfg)) {
		xp_cfg_free(cfg);
		return xp_diags_fail(d, -EBADMSG, dom->config_path, "config",
				     "see 'xenprov config check'", "the config does not parse");
	}
	const struct xp_cfg_value *list;
	r = xp_cfg_get_list(cfg, "disk", &list);
	size_t count = r == 0 ? xp_cfg_value_len(list) : 0;
	if (r == -EINVAL) {
		xp_cfg_free(cfg);
		return xp_diags_fail(d, -EBADMSG, dom->config_path, "config", NULL,
				     "disk is not a list");
	}
	r = 0;
	struct xp_xl_vbd *vbds = NULL;
	size_t nvbd = 0;
	if (xl && xp_xl_power(xl, dom->name, NULL) == XP_POWER_RUNNING &&
	    xp_xl_block_list(xl, dom->name, &vbds, &nvbd, d) < 0)
		nvbd = 0; /* said in d; the host's side is still worth showing */
	*v = calloc(count + nvbd + 1, sizeof(**v));
	if (!*v) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count && r == 0; i++) {
		struct xp_domain_disk *k = &(*v)[(*n)++];
		k->devid = -1;
		k->used = -1;
		k->backing_used = -1;
		const char *spec = xp_cfg_value_str(xp_cfg_value_item(list, i));
		if (!(k->spec = strdup(spec ? spec : ""))) {
			r = -ENOMEM;
			break;
		}
		struct xp_diags own;
		xp_diags_init(&own);
		if (!spec || xp_disk_parse_one(spec, &k->disk, &own) < 0) {
			set_error(k, "not a disk spec%s%s", own.n ? ": " : "",
				  own.n ? own.v[0].msg : "");
			xp_diags_release(&own);
			continue;
		}
		xp_diags_release(&own);
		long id = xp_vdev_devid(k->disk.vdev);
		k->devid = id >= 0 ? id : -1;
		k->backend = k->disk.backend != XP_DISK_BACKEND_UNKNOWN
				 ? xp_disk_backend_name(k->disk.backend)
				 : xp_xl_disk_backend(xl, dom->name, k->disk.vdev);
		k->xenprov = dom->disk_path && k->disk.pdev_path &&
			     strcmp(dom->disk_path, k->disk.pdev_path) == 0;
		r = read_image(k);
		for (size_t j = 0; j < nvbd && k->devid >= 0; j++)
			if (vbds[j].devid == k->devid) {
				k->vbd = vbds[j];
				vbds[j].be_path = NULL; /* moved */
				k->vbd_known = true;
				break;
			}
	}
	/* what the toolstack has beyond the config: attached since (xl block-attach) */
	for (size_t j = 0; j < nvbd && r == 0; j++) {
		if (!vbds[j].be_path)
			continue;
		struct xp_domain_disk *k = &(*v)[(*n)++];
		k->used = k->backing_used = -1;
		k->devid = vbds[j].devid;
		k->vbd = vbds[j];
		vbds[j].be_path = NULL;
		k->vbd_known = true;
		if (!(k->spec = strdup("")))
			r = -ENOMEM;
	}
out:
	xp_xl_vbds_free(vbds, nvbd);
	xp_cfg_free(cfg);
	if (r < 0) {
		xp_domain_disks_free(*v, *n);
		*v = NULL;
		*n = 0;
	}
	return r;
}
