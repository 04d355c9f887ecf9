/*
 * localboot.c - what a guest's own disk boots, without mounting it (localboot.h): the
 * disk opened with the image readers (raw, qcow2 or a block device; msdos, GPT or no
 * table; ext2/3/4 through libext2fs), its filesystems searched for a boot loader
 * config in pygrub's order, the config handed to its reader (grub-script.c,
 * grub-legacy.c, extlinux.c, bls.c), and the chosen entry's files copied out.
 *
 * Also what the readers share: the files of a volume (on an image, or held in memory
 * for the tests and fuzz targets), GRUB's device names, the entry list, paths.
 *
 * Copying a kernel is the hot path of a PV guest's start (pygrub's job): on a raw image
 * (or a block device) the file's extents are copied from the image file to the output
 * by xp_copy_range (util/copy.h: copy_file_range(2), else sendfile(2) across
 * filesystems), so its bytes never pass through user space (nor through libext2fs's
 * block cache), and its holes stay holes; anywhere else (qcow2, an output that is no
 * regular file, inline data) through xp_fs_read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/localboot-internal.h"
#include "image/blockdev-internal.h"
#include "util/copy.h"
#include "util/names.h"
#include "xenprov/blockdev.h"
#include "xenprov/extfs.h"

#define MAX_EXTRACT (1ull << 30)
#define MAX_LINKS   16
#define MAX_NAMES   4096

const char *xp_localboot_kind_name(enum xp_localboot_kind k)
{
	static const char *const names[] = {[XP_LOCALBOOT_GRUB2] = "grub2",
					    [XP_LOCALBOOT_BLS] = "bls",
					    [XP_LOCALBOOT_GRUB_LEGACY] = "grub-legacy",
					    [XP_LOCALBOOT_EXTLINUX] = "extlinux"};
	return xp__name_of(names, sizeof(names) / sizeof(names[0]), k, "unknown");
}

void xp_localboot_release(struct xp_localboot *lb)
{
	if (!lb)
		return;
	for (size_t i = 0; i < lb->n; i++) {
		struct xp_localboot_entry *e = &lb->v[i];
		free(e->title);
		free(e->id);
		free(e->kernel);
		free(e->initrd);
		free(e->args);
	}
	free(lb->v);
	free(lb->config);
	memset(lb, 0, sizeof(*lb));
}

/* ---- paths, names, entries ------------------------------------------------------------ */

char *xp__lb_path_join(const char *dir, const char *rel)
{
	struct xp_buf b = XP_BUF_INIT;
	const char *parts[2] = {rel[0] == '/' ? "" : dir, rel};
	for (size_t k = 0; k < 2; k++) {
		for (const char *s = parts[k]; *s;) {
			while (*s == '/')
				s++;
			size_t n = strcspn(s, "/");
			if (n == 0)
				break;
			if (n == 1 && s[0] == '.') {
				; /* stays */
			} else if (n == 2 && s[0] == '.' && s[1] == '.') {
				char *last = b.s ? strrchr(b.s, '/') : NULL;
				xp_buf_truncate(&b, last ? (size_t)(last - b.s) : 0);
			} else {
				xp_buf_addc(&b, '/');
				xp_buf_add(&b, s, n);
			}
			s += n;
		}
	}
	if (b.len == 0)
		xp_buf_addc(&b, '/');
	char *r = xp_buf_steal(&b);
	xp_buf_release(&b);
	return r;
}

bool xp__lb_line(const char *data, size_t len, size_t *i, size_t *a, size_t *b)
{
	if (*i >= len)
		return false;
	size_t eol = *i;
	while (eol < len && data[eol] != '\n')
		eol++;
	*a = *i;
	*b = eol;
	*i = eol + 1;
	while (*a < *b && (data[*a] == ' ' || data[*a] == '\t'))
		(*a)++;
	while (*b > *a && (data[*b - 1] == ' ' || data[*b - 1] == '\t' || data[*b - 1] == '\r'))
		(*b)--;
	if (*a < *b && data[*a] == '#')
		*b = *a;
	return true;
}

void xp__lb_devname(const struct xp__lb_disk *disk, size_t vol, char out[32])
{
	unsigned p = disk->vols[vol].partition;
	if (p == 0)
		snprintf(out, 32, "hd0");
	else
		snprintf(out, 32, "hd0,%s%u", disk->label == XP_LABEL_GPT ? "gpt" : "msdos", p);
}

long xp__lb_vol_of_dev(const struct xp__lb_disk *disk, const char *dev)
{
	unsigned want = 0;
	if (disk->label != XP_LABEL_NONE) {
		const char *comma = strchr(dev, ',');
		if (!comma)
			return -1;
		const char *p = comma + 1;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			p++;
		char *end;
		unsigned long n = strtoul(p, &end, 10);
		if (end == p || n == 0 || n > 4096)
			return -1;
		want = (unsigned)n;
	}
	for (size_t i = 0; i < disk->n; i++)
		if (disk->vols[i].partition == want)
			return (long)i;
	return -1;
}

int xp__lb_add(struct xp_localboot *lb, const char *title, const char *id, const char *kernel,
	       const char *initrd, const char *args, unsigned partition, size_t *index)
{
	if (lb->n >= XP_LOCALBOOT_MAX_ENTRIES)
		return -E2BIG;
	/* capacity: 8, then each power of two reached doubles it */
	if (lb->n == 0 || (lb->n >= 8 && (lb->n & (lb->n - 1)) == 0)) {
		size_t want = lb->n == 0 ? 8 : lb->n * 2;
		struct xp_localboot_entry *nv = realloc(lb->v, want * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		lb->v = nv;
	}
	struct xp_localboot_entry *e = &lb->v[lb->n];
	memset(e, 0, sizeof(*e));
	e->title = strdup(title ? title : "");
	e->id = id ? strdup(id) : NULL;
	e->kernel = kernel ? strdup(kernel) : NULL;
	e->initrd = initrd ? strdup(initrd) : NULL;
	e->args = strdup(args ? args : "");
	e->partition = partition;
	if (!e->title || !e->args || (id && !e->id) || (kernel && !e->kernel) ||
	    (initrd && !e->initrd)) {
		free(e->title);
		free(e->id);
		free(e->kernel);
		free(e->initrd);
		free(e->args);
		return -ENOMEM;
	}
	if (index)
		*index = lb->n;
	lb->n++;
	return 0;
}

int xp__lb_pick(const struct xp_localboot *lb, const char *entry, const char *config,
		size_t *index, struct xp_diags *d)
{
	bool digits = *entry != '\0';
	for (const char *s = entry; *s; s++)
		digits = digits && *s >= '0' && *s <= '9';
	if (digits) {
		unsigned long long k = strtoull(entry, NULL, 10);
		if (k < lb->n) {
			*index = (size_t)k;
			return 0;
		}
		return xp_diags_fail(d, -ENOENT, config, "no-entry", NULL,
				     "has no entry %s: its entries are 0 to %zu", entry,
				     lb->n ? lb->n - 1 : 0);
	}
	for (size_t i = 0; i < lb->n; i++)
		if (strcmp(lb->v[i].title, entry) == 0 || (lb->v[i].id && strcmp(lb->v[i].id, entry) == 0)) {
			*index = i;
			return 0;
		}
	return xp_diags_fail(d, -ENOENT, config, "no-entry", NULL,
			     "has no entry '%s' (a title, or a 0-based index)", entry);
}

/* ---- the files of a volume --------------------------------------------------------- */

/* A disk held in memory: the file at path, or whether a directory is there. */
static const struct xp__lb_file *mem_file(const struct xp__lb_disk *disk, size_t vol,
					  const char *path, bool *dir)
{
	size_t pl = strlen(path);
	*dir = false;
	for (size_t i = 0; i < disk->nfiles; i++) {
		const struct xp__lb_file *f = &disk->files[i];
		if (f->vol != vol)
			continue;
		if (strcmp(f->path, path) == 0)
			return f;
		if (strncmp(f->path, path, pl) == 0 && (pl == 1 || f->path[pl] == '/'))
			*dir = true;
	}
	return NULL;
}

/* The path symlinks lead path to in fs (the last one followed), and what is there. */
static int follow(struct xp_fs *fs, const char *path, char **final, struct xp_fs_entry *e)
{
	char *cur = strdup(path);
	if (!cur)
		return -ENOMEM;
	for (unsigned hop = 0; hop < MAX_LINKS; hop++) {
		int r = xp_fs_stat(fs, cur, e);
		if (r < 0) {
			free(cur);
			return r;
		}
		if (!S_ISLNK(e->mode)) {
			*final = cur;
			return 0;
		}
		char *up = xp__lb_path_join(cur, "..");
		char *next = up && e->link ? xp__lb_path_join(up, e->link) : NULL;
		free(up);
		free(cur);
		xp_fs_entry_release(e);
		if (!next)
			return -ENOMEM;
		cur = next;
	}
	free(cur);
	return -ELOOP;
}

int xp__lb_stat(const struct xp__lb_disk *disk, size_t vol, const char *path, bool *dir,
		uint64_t *size)
{
	char *p = xp__lb_path_join("/", path);
	if (!p)
		return -ENOMEM;
	int r = 0;
	if (!disk->vols[vol].fs) {
		const struct xp__lb_file *f = mem_file(disk, vol, p, dir);
		if (f)
			*size = f->len;
		else if (*dir)
			*size = 0;
		else
			r = -ENOENT;
	} else {
		char *final = NULL;
		struct xp_fs_entry e;
		r = follow(disk->vols[vol].fs, p, &final, &e);
		if (r == 0) {
			*dir = S_ISDIR(e.mode);
			*size = e.size;
			xp_fs_entry_release(&e);
			free(final);
		}
	}
	free(p);
	return r;
}

struct sink {
	struct xp_buf b;
	size_t max;
};

static int to_buf(void *ud, const void *data, size_t len)
{
	struct sink *s = ud;
	if (s->b.len + len > s->max)
		return -EFBIG;
	xp_buf_add(&s->b, data, len);
	return xp_buf_error(&s->b);
}

int xp__lb_read(const struct xp__lb_disk *disk, size_t vol, const char *path, size_t max,
		char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	char *p = xp__lb_path_join("/", path);
	if (!p)
		return -ENOMEM;
	int r;
	struct sink s = {.b = XP_BUF_INIT, .max = max};
	if (!disk->vols[vol].fs) {
		bool dir;
		const struct xp__lb_file *f = mem_file(disk, vol, p, &dir);
		r = f ? (f->len > max ? -EFBIG : 0) : dir ? -EISDIR : -ENOENT;
		if (r == 0)
			xp_buf_add(&s.b, f->data, f->len);
	} else {
		r = xp_fs_read(disk->vols[vol].fs, p, to_buf, &s);
	}
	free(p);
	if (r == 0) {
		xp_buf_reserve(&s.b, 1);
		*len = s.b.len;
		*data = xp_buf_steal(&s.b);
		r = *data ? 0 : -ENOMEM;
	}
	xp_buf_release(&s.b);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void xp__lb_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int xp__lb_list(const struct xp__lb_disk *disk, size_t vol, const char *path, char ***names,
		size_t *n)
{
	*names = NULL;
	*n = 0;
	char *p = xp__lb_path_join("/", path);
	if (!p)
		return -ENOMEM;
	char **v = NULL;
	size_t k = 0, cap = 0;
	int r = 0;
	if (!disk->vols[vol].fs) {
		bool dir;
		const struct xp__lb_file *f = mem_file(disk, vol, p, &dir);
		size_t pl = strlen(p);
		if (!dir)
			r = f ? -ENOTDIR : -ENOENT;
		for (size_t i = 0; r == 0 && i < disk->nfiles; i++) {
			const struct xp__lb_file *g = &disk->files[i];
			if (g->vol != vol || strncmp(g->path, p, pl) != 0 ||
			    (pl > 1 && g->path[pl] != '/'))
				continue;
			const char *c = g->path + pl + (pl > 1);
			size_t cl = strcspn(c, "/");
			bool seen = false;
			for (size_t j = 0; j < k && !seen; j++)
				seen = strlen(v[j]) == cl && strncmp(v[j], c, cl) == 0;
			if (seen || cl == 0 || k >= MAX_NAMES)
				continue;
			if (xp_grow(&v, &cap, k, sizeof(*v), 16) < 0 || !(v[k] = strndup(c, cl)))
				r = -ENOMEM;
			else
				k++;
		}
	} else {
		struct xp_fs_entry *e = NULL;
		size_t m = 0;
		r = xp_fs_list(disk->vols[vol].fs, p, &e, &m);
		for (size_t i = 0; r == 0 && i < m && k < MAX_NAMES; i++) {
			if (xp_grow(&v, &cap, k, sizeof(*v), 16) < 0 || !(v[k] = strdup(e[i].name)))
				r = -ENOMEM;
			else
				k++;
		}
		xp_fs_list_free(e, m);
	}
	free(p);
	if (r < 0) {
		xp__lb_names_free(v, k);
		return r;
	}
	qsort(v, k, sizeof(*v), cmp_str);
	*names = v;
	*n = k;
	return 0;
}

/* ---- the disk ------------------------------------------------------------------------ */

struct opened {
	struct xp_blockdev *bd;
	struct xp__lb_disk disk;
	uint64_t *offsets; /* of each volume */
};

static void close_disk(struct opened *o)
{
	for (size_t i = 0; i < o->disk.n; i++)
		xp_fs_close(o->disk.vols[i].fs);
	free(o->disk.vols);
	free(o->offsets);
	xp_blockdev_close(o->bd);
	memset(o, 0, sizeof(*o));
}

/* Opens the image and every ext2/3/4 filesystem on it (only: partition `only` if not
 * -1). */
static int open_disk(const char *path, long only, struct opened *o, struct xp_diags *d)
{
	memset(o, 0, sizeof(*o));
	struct xp_part *parts = NULL;
	size_t n = 0;
	enum xp_label label;
	int r = xp__image_open_table(path, d, &o->bd, &label, &parts, &n);
	if (r < 0)
		return r;
	o->disk.label = label;
	size_t cnt = n ? n : 1;
	o->disk.vols = calloc(cnt, sizeof(*o->disk.vols));
	o->offsets = calloc(cnt, sizeof(*o->offsets));
	if (!o->disk.vols || !o->offsets) {
		free(parts);
		close_disk(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cnt; i++) {
		unsigned part = n ? parts[i].number : 0;
		uint64_t off = n ? parts[i].offset : 0;
		if (only >= 0 && part != (unsigned long)only)
			continue;
		struct xp_fs *fs;
		int q = xp_fs_open(o->bd, off, &fs);
		if (q == -ENOMEM) {
			r = q;
			break;
		}
		if (q < 0)
			continue; /* swap, another filesystem, nothing */
		struct xp__lb_vol *v = &o->disk.vols[o->disk.n];
		struct xp_fs_info info;
		if (xp_fs_info(fs, &info) == 0) {
			memcpy(v->uuid, info.uuid, sizeof(v->uuid));
			memcpy(v->label, info.label, sizeof(v->label));
		}
		v->partition = part;
		v->fs = fs;
		o->offsets[o->disk.n++] = off;
	}
	free(parts);
	if (r < 0) {
		close_disk(o);
		return r;
	}
	return 0;
}

enum cand_kind { C_FILE, C_DIR };

struct cand {
	enum xp_localboot_kind kind;
	const char *path;
};

/* pygrub's order (its cfg_list), BLS entries alone after grub.cfg, syslinux's own
 * names beside extlinux's. */
static const struct cand cands[] = {
    {XP_LOCALBOOT_GRUB2, "/boot/grub/grub.cfg"},
    {XP_LOCALBOOT_GRUB2, "/grub/grub.cfg"},
    {XP_LOCALBOOT_GRUB2, "/boot/grub2/grub.cfg"},
    {XP_LOCALBOOT_GRUB2, "/grub2/grub.cfg"},
    {XP_LOCALBOOT_BLS, "/boot/loader/entries"},
    {XP_LOCALBOOT_BLS, "/loader/entries"},
    {XP_LOCALBOOT_EXTLINUX, "/boot/isolinux/isolinux.cfg"},
    {XP_LOCALBOOT_EXTLINUX, "/boot/extlinux/extlinux.conf"},
    {XP_LOCALBOOT_EXTLINUX, "/boot/extlinux.conf"},
    {XP_LOCALBOOT_EXTLINUX, "/extlinux/extlinux.conf"},
    {XP_LOCALBOOT_EXTLINUX, "/extlinux.conf"},
    {XP_LOCALBOOT_EXTLINUX, "/boot/syslinux/syslinux.cfg"},
    {XP_LOCALBOOT_EXTLINUX, "/syslinux/syslinux.cfg"},
    {XP_LOCALBOOT_EXTLINUX, "/syslinux.cfg"},
    {XP_LOCALBOOT_GRUB_LEGACY, "/boot/grub/menu.lst"},
    {XP_LOCALBOOT_GRUB_LEGACY, "/boot/grub/grub.conf"},
    {XP_LOCALBOOT_GRUB_LEGACY, "/grub/menu.lst"},
    {XP_LOCALBOOT_GRUB_LEGACY, "/grub/grub.conf"},
};

/* Whether dir of vol holds a *.conf (BLS entries alone need one to count). */
static bool has_conf(const struct xp__lb_disk *disk, size_t vol, const char *dir)
{
	char **names;
	size_t n;
	if (xp__lb_list(disk, vol, dir, &names, &n) < 0)
		return false;
	bool any = false;
	for (size_t i = 0; i < n && !any; i++) {
		size_t l = strlen(names[i]);
		any = names[i][0] != '.' && l > 5 && strcmp(names[i] + l - 5, ".conf") == 0;
	}
	xp__lb_names_free(names, n);
	return any;
}

int xp__lb_read_disk(const struct xp__lb_disk *disk, const char *name, const char *entry,
		     struct xp_localboot *out, struct xp_diags *d)
{
	for (size_t v = 0; v < disk->n; v++)
		for (size_t c = 0; c < sizeof(cands) / sizeof(cands[0]); c++) {
			bool dir;
			uint64_t size;
			const struct cand *k = &cands[c];
			if (xp__lb_stat(disk, v, k->path, &dir, &size) < 0 ||
			    dir != (k->kind == XP_LOCALBOOT_BLS))
				continue;
			if (k->kind == XP_LOCALBOOT_BLS && !has_conf(disk, v, k->path))
				continue;
			out->kind = k->kind;
			out->partition = disk->vols[v].partition;
			if (!(out->config = strdup(k->path)))
				return -ENOMEM;
			if (k->kind == XP_LOCALBOOT_BLS)
				return xp__lb_bls(disk, v, k->path, entry, out, d);
			char *data = NULL;
			size_t len = 0;
			int r = xp__lb_read(disk, v, k->path, XP_LOCALBOOT_MAX_CONFIG, &data, &len);
			if (r < 0) {
				free(data);
				return xp_diags_fail(d, r == -EFBIG ? -EINVAL : r == -ENOMEM ? r : -EIO,
						     k->path, "config", NULL, "cannot be read: %s",
						     r == -EFBIG ? "over 1 MiB" : strerror(-r));
			}
			r = k->kind == XP_LOCALBOOT_GRUB2
				? xp__lb_grub2(disk, v, k->path, data, len, entry, out, d)
			    : k->kind == XP_LOCALBOOT_EXTLINUX
				? xp__lb_extlinux(disk, v, k->path, data, len, entry, out, d)
				: xp__lb_grub_legacy(disk, v, k->path, data, len, entry, out, d);
			free(data);
			return r;
		}
	return xp_diags_fail(d, -ENOENT, name, "no-config", NULL,
			     "no boot loader config (grub.cfg, /boot/loader/entries, extlinux.conf, "
			     "menu.lst) in any ext2/3/4 filesystem of the disk");
}

int xp_localboot_read(const char *disk, const char *entry, struct xp_localboot *out,
		      struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	if (!disk || !out)
		return -EINVAL;
	struct opened o;
	int r = open_disk(disk, -1, &o, d);
	if (r < 0)
		return r == -ENOMEM || r == -ENOENT || r == -EACCES || r == -EISDIR ? r : -EIO;
	if (o.disk.n == 0)
		r = xp_diags_fail(d, -ENOENT, disk, "no-filesystem", NULL,
				  "holds no ext2/3/4 filesystem");
	else
		r = xp__lb_read_disk(&o.disk, disk, entry, out, d);
	close_disk(&o);
	return r;
}

/* ---- copying a file out ------------------------------------------------------------ */

/* A raw image's file, run by run (xp_fs_map), from the image file to out at at + the
 * run's offset: xp_copy_range (util/copy.h), in the kernel. out is sized first, so a
 * hole of the file stays one. */
struct copy {
	int in, out;
	uint64_t base; /* the filesystem's offset in the image */
	off_t at;      /* where the file starts in out */
};

static int copy_run(void *ud, uint64_t foff, uint64_t dev, uint64_t len)
{
	const struct copy *c = ud;
	if (dev == UINT64_MAX)
		return 0; /* a hole or an unwritten extent: out is sized, zeros already */
	return xp_copy_range(c->in, (off_t)(c->base + dev), c->out, c->at + (off_t)foff, (off_t)len,
			     0);
}

/* The file at path of fs (size bytes) into out at its position, from the raw image in
 * at base. -ENOTSUP where this cannot be done (out is no regular file, the file's data
 * is inline) and nothing was written. */
static int copy_mapped(struct xp_fs *fs, const char *path, uint64_t size, int in, uint64_t base,
		       int out)
{
	struct stat st;
	off_t at = lseek(out, 0, SEEK_CUR);
	if (in < 0 || at < 0 || fstat(out, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOTSUP;
	/* whatever was past the position is replaced; the runs land in the sized file,
	 * allocated at once (xp_copy_reserve). No truncation where there is nothing to cut
	 * (a new, empty file): on ext4 that is a file being replaced (auto_da_alloc,
	 * ext4(5)), written out at its close, in the bootloader's time */
	if (st.st_size > at && ftruncate(out, at) < 0)
		return -errno;
	int r = xp_copy_reserve(out, at, (off_t)size);
	if (r < 0)
		return r;
	struct copy c = {.in = in, .out = out, .base = base, .at = at};
	uint64_t mapped;
	r = xp_fs_map(fs, path, copy_run, &c, &mapped);
	if (r == -ENOTSUP && ftruncate(out, at) < 0) /* nothing copied: as it was */
		r = -errno;
	if (r == 0 && lseek(out, at + (off_t)size, SEEK_SET) < 0) /* after it, as write(2) */
		r = -errno;
	return r;
}

static int to_fd(void *ud, const void *data, size_t len)
{
	return xp_write_full(*(int *)ud, data, len);
}

int xp_localboot_extract(const char *disk, const struct xp_localboot *lb, const char *path,
			 int fd, struct xp_diags *d)
{
	if (!disk || !lb || !path || path[0] != '/')
		return xp_diags_fail(d, -EINVAL, disk, "extract", NULL,
				     "'%s' is not an absolute path inside the guest's filesystem",
				     path ? path : "");
	unsigned part = lb->n && lb->chosen < lb->n ? lb->v[lb->chosen].partition : lb->partition;
	struct opened o;
	int r = open_disk(disk, part, &o, d);
	if (r < 0)
		return r;
	if (o.disk.n == 0) {
		close_disk(&o);
		return xp_diags_fail(d, -ENOENT, disk, "extract", NULL,
				     "has no ext2/3/4 filesystem on partition %u", part);
	}
	struct xp_fs *fs = o.disk.vols[0].fs;
	char *final = NULL;
	struct xp_fs_entry e;
	uint64_t size = 0;
	r = follow(fs, path, &final, &e);
	if (r == 0) {
		if (S_ISDIR(e.mode))
			r = -EISDIR;
		else if (!S_ISREG(e.mode))
			r = -EINVAL;
		else if (e.size > MAX_EXTRACT)
			r = -EFBIG;
		size = e.size;
		xp_fs_entry_release(&e);
	}
	if (r == 0) {
		r = copy_mapped(fs, final, size, xp__blockdev_raw_fd(o.bd), o.offsets[0], fd);
		if (r == -ENOTSUP) /* qcow2, inline data, a pipe: through libext2fs */
			r = xp_fs_read(fs, final, to_fd, &fd);
	}
	free(final);
	close_disk(&o);
	if (r < 0)
		return xp_diags_fail(d, r, disk, "extract", NULL, "cannot copy '%s'%s: %s", path,
				     part ? "" : " from the disk",
				     r == -EFBIG   ? "over 1 GiB"
				     : r == -EINVAL ? "not a regular file"
						    : strerror(-r));
	return 0;
}
