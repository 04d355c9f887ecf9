/*
 * golden.c - the golden image a profile names, from which every guest's disk is made
 * (xp_golden_prepare). What the file is, is told by its magic bytes:
 *   a root tarball  built once with xp_image_build into <state>/images/<key>.img, a raw
 *                   image, where key is the SHA-256 of the tarball's content and of the
 *                   options that shape the image (same inputs, same image);
 *   NAME, NAME@V    a captured version (image store, imgstore.h; NAME: the latest),
 *                   its tree built like a tarball into <state>/images/<key>.img, key
 *                   from "tree:" and its manifest hash and the same options;
 *   a disk image    (raw, qcow2, or a block device) used as it is, or, when smaller than
 *                   the profile's disk-size, grown once per (image, size) into
 *                   <state>/images/: a sparse raw copy, grown by xp_image_grow
 *                   (image/image-grow.c: its last partition with libfdisk, its
 *                   ext2/3/4 filesystem with e2fsprogs). The source is never written.
 * Images in <state>/images/ are read-only (0444): guests' qcow2 overlays read through
 * them. Each is written as an unnamed temporary and named only when complete.
 *
 * Not here: the guests' disks made from it (storage.c), building an image (image/).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/golden.h"
#include "util/copy.h"
#include "xenprov/domain.h"
#include "xenprov/image.h"
#include "xenprov/imgstore.h"
#include "xenprov/util.h"

void xp_golden_release(struct xp_golden *g)
{
	free(g->path);
	xp_boot_kernels_release(&g->kernels);
	memset(g, 0, sizeof(*g));
}

int xp_golden_copy(const struct xp_golden *src, struct xp_golden *dst)
{
	*dst = *src;
	dst->path = NULL;
	memset(&dst->kernels, 0, sizeof(dst->kernels));
	if (src->path && !(dst->path = strdup(src->path)))
		return -ENOMEM;
	int r = xp_boot_kernels_copy(&src->kernels, &dst->kernels);
	if (r < 0)
		xp_golden_release(dst);
	return r;
}

enum kind {
	K_UNKNOWN = XP_IMAGE_KIND_UNKNOWN,
	K_TARBALL = XP_IMAGE_KIND_TARBALL,
	K_RAW = XP_IMAGE_KIND_RAW,
	K_QCOW2 = XP_IMAGE_KIND_QCOW2,
};

/* What a file holds, by its magic bytes: qcow2 (QEMU's docs/interop/qcow2.txt: "QFI\xfb");
 * compressed streams (gzip RFC 1952, xz, zstd RFC 8878, bzip2, lz4) and POSIX tar ("ustar"
 * at 257) are tarballs; an MBR boot signature (0x55aa at 510), a GPT header ("EFI PART"
 * at 512) or an ext2/3/4 superblock magic (0xef53 at 1080) make a raw disk. */
static enum kind sniff(int fd)
{
	unsigned char b[2048];
	struct stat st;
	/* what lies past the end of a short file reads as zeros, which match no magic */
	if (fstat(fd, &st) < 0 || st.st_size < 4 || xp_pread_full(fd, b, sizeof(b), 0) < 0)
		return K_UNKNOWN;
	if (memcmp(b, "QFI\xfb", 4) == 0)
		return K_QCOW2;
	if ((b[0] == 0x1f && b[1] == 0x8b) ||
	    memcmp(b,
		   "\xfd"
		   "7zXZ\0",
		   6) == 0 ||
	    memcmp(b, "\x28\xb5\x2f\xfd", 4) == 0 || memcmp(b, "BZh", 3) == 0 ||
	    memcmp(b, "\x04\x22\x4d\x18", 4) == 0 || memcmp(b + 257, "ustar", 5) == 0)
		return K_TARBALL;
	if ((b[510] == 0x55 && b[511] == 0xaa) || memcmp(b + 512, "EFI PART", 8) == 0 ||
	    (b[1080] == 0x53 && b[1081] == 0xef))
		return K_RAW;
	return K_UNKNOWN;
}

enum xp_image_kind xp_golden_sniff(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return XP_IMAGE_KIND_UNKNOWN;
	enum kind k = sniff(fd);
	close(fd);
	return (enum xp_image_kind)k;
}

/* The SHA-256 of the text in b, as hex (b is released): the name of an image in
 * <state>/images/. -ENOMEM if an append to b failed. */
static int text_key(struct xp_buf *b, char key[65])
{
	unsigned char digest[32];
	int r = xp_buf_error(b);
	if (r == 0)
		r = xp_sha256(b->s, b->len, digest);
	xp_buf_release(b);
	if (r == 0)
		xp_sha256_hex(digest, key);
	return r;
}

/* <state_dir>/images into dir, made if missing. */
static int images_dir(const char *state_dir, char dir[PATH_MAX], struct xp_diags *d)
{
	if (snprintf(dir, PATH_MAX, "%s/images", state_dir) >= PATH_MAX)
		return -ENAMETOOLONG;
	int r = xp_mkdir_p(dir, 0755);
	if (r < 0)
		return xp_diags_fail(d, r, dir, "state", NULL, "cannot create the directory: %s",
				     strerror(-r));
	return 0;
}

/* content: the tarball's SHA-256, or "tree:" and a captured version's manifest hash */
static int golden_key(const char *content, uint64_t size, int fs, int label, uint64_t swap,
		      char key[65])
{
	struct xp_buf b = XP_BUF_INIT;
	/* bump the version when what goes into a golden image changes (v2: ext4 with
	 * metadata_csum_seed, so that old golden images are built again) */
	xp_buf_addf(&b, "xenprov-golden-v2\n%s\nsize=%llu\nfs=%d\nlabel=%d\nswap=%llu\n", content,
		    (unsigned long long)size, fs, label, (unsigned long long)swap);
	return text_key(&b, key);
}

static int u64_setting(const struct xp_settings *s, const char *key, uint64_t *out)
{
	const char *v = xp_settings_get(s, key);
	*out = 0;
	if (!v)
		return 0;
	/* profile values are normalised to bytes (xp_profile_check), but accept sizes */
	return xp_parse_size(v, out);
}

/* The kernels in /boot of the root filesystem at g->root_offset of path (none where it
 * cannot be read: the guests' boot check then says there is no kernel). */
static int find_kernels(const char *path, struct xp_golden *g)
{
	xp_boot_kernels_release(&g->kernels);
	if (g->root_offset < 0)
		return 0;
	struct xp_blockdev *bd;
	struct xp_fs *fs = NULL;
	int r = xp_blockdev_open(path, &bd);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	if (xp_fs_open(bd, (uint64_t)g->root_offset, &fs) == 0) {
		r = xp_fs_boot_kernels(fs, &g->kernels);
		xp_fs_close(fs);
	}
	xp_blockdev_close(bd);
	return r == -ENOMEM ? r : 0;
}

/* Fills the description of an existing golden image. */
static int describe(const char *path, struct xp_golden *g, struct xp_diags *d)
{
	struct xp_image_info info;
	const struct xp_image_volume *root;
	int r = xp_image_info_root(path, &info, &root, d);
	if (r < 0)
		return r;
	g->format = info.format;
	g->size = info.virtual_size;
	g->root_offset = root ? (int64_t)root->offset : -1;
	if (root)
		g->fs_type = root->fs.type;
	xp_image_info_release(&info);
	return find_kernels(path, g);
}

/* Copies a qcow2 (or any) image through its block layer into the raw file dst, leaving
 * holes where a MiB reads as zeros. */
static int copy_blockdev(const char *path, int dst)
{
	struct xp_blockdev *bd;
	int r = xp_blockdev_open(path, &bd);
	if (r < 0)
		return r;
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	uint64_t size = xp_blockdev_size(bd);
	r = buf ? 0 : -ENOMEM;
	for (uint64_t off = 0; r == 0 && off < size; off += cap) {
		size_t n = size - off < cap ? (size_t)(size - off) : cap;
		r = xp_blockdev_pread(bd, buf, n, off);
		if (r < 0)
			break;
		if (xp_all_zero(buf, n))
			continue;
		r = xp_pwrite_full(dst, buf, n, off);
	}
	free(buf);
	xp_blockdev_close(bd);
	return r;
}

/* A prebuilt golden image smaller than the profile's disk-size, grown once per (image,
 * disk-size) into <state>/images/<key>.img, a raw image, where key is the SHA-256 of the
 * source's identity (device, inode, size, mtime: a changed source makes a new key) and
 * the size: a sparse copy grown to disk-size by xp_image_grow (its root partition,
 * which must be the last one, to the end with libfdisk, and its root filesystem to fill
 * it with e2fsprogs' resize2fs(8), without mounting it; a guest's disk grows the same
 * way at `domain update`). Growing the golden image once, rather than each guest's disk, serves
 * every backend alike: file copies and reflinks of it, and qcow2 overlays, whose backing
 * file it becomes (no qcow2 writer for resize2fs is needed). The source is never
 * written. On success *g describes the grown image; on failure *g is unchanged and
 * nothing is left in images/ (an unnamed O_TMPFILE, linked only when complete). */
static int grow_golden(const char *state_dir, uint64_t want, struct xp_golden *g,
		       struct xp_diags *d)
{
	struct stat st;
	if (stat(g->path, &st) < 0)
		return xp_diags_fail(d, -errno, g->path, "image", NULL, "cannot open the image: %s",
				     strerror(errno));
	struct xp_buf b = XP_BUF_INIT;
	/* bump v1 when the way an image is grown changes */
	xp_buf_addf(&b, "xenprov-grown-v1\n%s\n%llu:%llu:%lld:%lld.%09ld\nsize=%llu\n", g->path,
		    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		    (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		    (unsigned long long)want);
	char key[65];
	int r = text_key(&b, key);
	if (r < 0)
		return r;

	char dir[PATH_MAX], path[PATH_MAX + 80];
	r = images_dir(state_dir, dir, d);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.img", dir, key);
	struct xp_golden grown = {.root_offset = -1};
	if (stat(path, &st) == 0)
		goto found;

	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return xp_diags_fail(d, -errno, dir, "image", NULL,
				     "cannot create a temporary file (O_TMPFILE): %s",
				     strerror(errno));
	/* xp_image_grow reaches the unnamed file through our /proc entry */
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "/proc/%d/fd/%d", (int)getpid(), fd);
	if (g->format == XP_IMAGE_RAW) {
		int src = open(g->path, O_RDONLY | O_CLOEXEC);
		r = src < 0 ? -errno : 0;
		if (r == 0 && ftruncate(fd, (off_t)g->size) < 0)
			r = -errno;
		if (r == 0)
			r = xp_copy_range(src, 0, fd, 0, (off_t)g->size, 0);
		if (src >= 0)
			close(src);
	} else {
		r = copy_blockdev(g->path, fd);
	}
	if (r < 0) {
		xp_diags_fail(d, r, g->path, "grow", NULL, "cannot copy the image to grow it: %s",
			      strerror(-r));
		goto fail;
	}
	r = xp_image_grow(tmp, want, dir, NULL, d);
	if (r < 0) {
		xp_diags_fail(
		    d, r, g->path, "grow",
		    r == -ENOTSUP ? "put the root partition last, or use a tarball" : NULL,
		    "cannot grow the image to disk-size %llu", (unsigned long long)want);
		goto fail;
	}
	/* guests' qcow2 overlays read through it: keep it from being written */
	if (fchmod(fd, 0444) < 0 || fsync(fd) < 0) {
		r = xp_diags_fail(d, -errno, path, "grow", NULL, "cannot write the grown image: %s",
				  strerror(errno));
		goto fail;
	}
	/* name it: a hidden link first, renamed over any twin a racing create made */
	char named[PATH_MAX + 120];
	snprintf(named, sizeof(named), "%s/.%s.img.%d", dir, key, (int)getpid());
	unlink(named);
	if (linkat(AT_FDCWD, tmp, AT_FDCWD, named, AT_SYMLINK_FOLLOW) < 0 ||
	    rename(named, path) < 0) {
		r = xp_diags_fail(d, -errno, path, "grow", NULL, "cannot name the grown image: %s",
				  strerror(errno));
		unlink(named);
		goto fail;
	}
	close(fd);
	grown.built = true;
found:
	if (!(grown.path = strdup(path)))
		return -ENOMEM;
	r = describe(grown.path, &grown, d);
	if (r < 0) {
		xp_golden_release(&grown);
		return r;
	}
	xp_golden_release(g);
	*g = grown;
	return 0;
fail:
	close(fd);
	return r;
}

/* Grows *g when the profile's disk-size is larger than a prebuilt image (file, not a
 * block device) whose root filesystem was found. */
static int maybe_grow(const char *state_dir, const struct xp_settings *s, struct xp_golden *g,
		      struct xp_diags *d)
{
	uint64_t want;
	if (u64_setting(s, "disk-size", &want) < 0)
		return xp_diags_fail(d, -EINVAL, NULL, "size", NULL,
				     "bad disk-size in the profile");
	if (want <= g->size)
		return 0;
	if (g->root_offset < 0)
		return xp_diags_fail(
		    d, -EINVAL, g->path, "grow", "use an image with an ext2/3/4 root",
		    "disk-size %llu is larger than the image, whose root filesystem is "
		    "not ext2/3/4 and cannot be grown",
		    (unsigned long long)want);
	return grow_golden(state_dir, want, g, d);
}

/* The options of an image built by xenprov, from the profile's disk-size, swap, fs and
 * label. */
static int build_opts(const struct xp_settings *s, struct xp_image_opts *o, struct xp_diags *d)
{
	uint64_t size, swap;
	if (u64_setting(s, "disk-size", &size) < 0 || u64_setting(s, "swap", &swap) < 0)
		return xp_diags_fail(d, -EINVAL, NULL, "size", NULL,
				     "bad disk-size or swap in the profile");
	const char *fs = xp_settings_get(s, "fs"), *label = xp_settings_get(s, "label");
	*o = (struct xp_image_opts){
	    .size = size,
	    .fs = {.type = XP_FS_EXT4, .reserved_percent = -1},
	    .label = XP_LABEL_MSDOS,
	    .swap_size = swap,
	    .format = XP_IMAGE_RAW,
	};
	if (fs && strcmp(fs, "ext2") == 0)
		o->fs.type = XP_FS_EXT2;
	else if (fs && strcmp(fs, "ext3") == 0)
		o->fs.type = XP_FS_EXT3;
	if (label && strcmp(label, "gpt") == 0)
		o->label = XP_LABEL_GPT;
	else if (label && strcmp(label, "none") == 0)
		o->label = XP_LABEL_NONE;
	return 0;
}

/* The options' part of a golden image's key. */
static void opts_key(struct xp_buf *b, const struct xp_image_opts *o)
{
	xp_buf_addf(b, "size=%llu\nfs=%d\nlabel=%d\nswap=%llu\n", (unsigned long long)o->size,
		    (int)o->fs.type, (int)o->label, (unsigned long long)o->swap_size);
}

/* Points <images>/<latest>.latest at name (a relative symlink, replaced atomically). */
static void set_latest(const char *dir, const char *latest, const char *name)
{
	char link[PATH_MAX + 80], tmp[PATH_MAX + 100];
	snprintf(link, sizeof(link), "%s/%s.latest", dir, latest);
	snprintf(tmp, sizeof(tmp), "%s/.%s.latest.%d", dir, latest, (int)getpid());
	unlink(tmp);
	if (symlink(name, tmp) < 0 || rename(tmp, link) < 0)
		unlink(tmp);
}

/* A distribution image (`image debian:SUITE`): made by mmdebstrap through
 * xp_image_build_dist once per identity (suite, variant, packages of include and
 * install, mirror, the suite's release date) and options, into <state>/images/<key>.img.
 * <images>/<key without the date>.latest names the last one built, which is used (with
 * a warning) when the release date cannot be learnt, as offline. */
static int dist_golden(const char *state_dir, const struct xp_settings *s, const char *image,
		       xp_progress_fn progress, xp_phase_fn phase, void *ud, struct xp_golden *out,
		       struct xp_diags *d)
{
	struct xp_image_opts o;
	int r = build_opts(s, &o, d);
	if (r < 0)
		return r;
	struct xp_dist_opts dopts = {.dist = image,
				     .include = xp_settings_get(s, "include"),
				     .install = xp_settings_get(s, "install")};
	struct xp_dist dist;
	r = xp_dist_resolve(&dopts, &dist, d);
	if (r < 0)
		return r;
	char dir[PATH_MAX], key[65], latest[65];
	r = images_dir(state_dir, dir, d);
	struct xp_buf b = XP_BUF_INIT;
	/* the identity without the date: what the last build of it is found by */
	xp_buf_addf(&b, "xenprov-golden-latest-v1\ndist:%s\n", dist.undated);
	opts_key(&b, &o);
	if (r == 0)
		r = text_key(&b, latest);
	else
		xp_buf_release(&b);
	if (r == 0 && dist.identity[0]) {
		xp_buf_addf(&b, "xenprov-golden-v2\ndist:%s\n", dist.identity);
		opts_key(&b, &o);
		r = text_key(&b, key);
	} else if (r == 0) {
		/* no release date: the last image built of it, if any */
		char link[PATH_MAX + 80], target[128];
		snprintf(link, sizeof(link), "%s/%s.latest", dir, latest);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n == 68 && memcmp(target + 64, ".img", 4) == 0) {
			memcpy(key, target, 64);
			key[64] = 0;
			xp_diags_add(d, XP_SEV_WARNING, image, 0, 0, "release", NULL, NULL,
				     "using the golden image last built of it, which may be older "
				     "than the mirror's");
		} else {
			r = xp_diags_fail(d, -ENOENT, image, "release",
					  "check the network and the mirror in the apt sources",
					  "no golden image can be named without the release date, and "
					  "none was built before");
		}
	}
	char *path = NULL;
	if (r == 0 && asprintf(&path, "%s/%s.img", dir, key) < 0)
		r = -ENOMEM;
	struct stat st;
	if (r == 0 && stat(path, &st) < 0) {
		/* as for a tarball: a racing create builds too, and one of the twins wins.
		 * Through the machine's image cache (that of `image build`): a state
		 * directory of its own, as a test's or a second inventory's, finds what
		 * another built without running mmdebstrap again */
		struct xp_image_result res;
		char *cache = NULL;
		xp_image_cache_dir_default(&cache);
		o.output = path;
		o.cache_dir = cache;
		r = xp_image_build_dist(&o, &dist, progress, phase, ud, &res, d);
		free(cache);
		if (r == 0) {
			chmod(path, 0444);
			out->built = true;
			char name[80];
			snprintf(name, sizeof(name), "%s.img", key);
			set_latest(dir, latest, name);
		}
	}
	xp_dist_release(&dist);
	if (r == 0 && !(out->path = realpath(path, NULL)))
		r = -errno;
	free(path);
	if (r == 0)
		r = describe(out->path, out, d);
	if (r < 0)
		xp_golden_release(out);
	return r;
}

/* A root tarball or a captured version's tree (archive: its root directory), built
 * once into <state>/images/<key>.img, key from content (the tarball's SHA-256, or
 * "tree:" and the version's manifest hash) and the options that shape the image. */
/* The golden image of archive (a tarball or a tree), or with ver of that captured
 * version's tree, checked out (xp_imgver_root: the name's lock, a tree made on a lazy
 * version's first read) only when the image must be built, not when it is cached. */
static int build_golden(const char *state_dir, const struct xp_settings *s, const char *archive,
			const struct xp_imgver *ver, const char *content, xp_progress_fn progress,
			void *ud, struct xp_golden *out, struct xp_diags *d)
{
	struct xp_image_opts o;
	int r = build_opts(s, &o, d);
	if (r < 0)
		return r;
	o.archive = archive;
	char key[65];
	r = golden_key(content, o.size, (int)o.fs.type, (int)o.label, o.swap_size, key);
	if (r < 0)
		return r;
	char dir[PATH_MAX];
	r = images_dir(state_dir, dir, d);
	if (r < 0)
		return r;
	char *path = NULL;
	if (asprintf(&path, "%s/%s.img", dir, key) < 0)
		return -ENOMEM;
	struct stat st;
	if (stat(path, &st) < 0) {
		/* xp_image_build writes a temporary file and renames it into place, so two
		 * creates that race here both build and one of the identical results wins */
		struct xp_image_result res;
		o.output = path;
		if (ver && (r = xp_imgver_root(state_dir, ver, &o.archive, d)) < 0) {
			free(path);
			return r;
		}
		r = xp_image_build(&o, progress, ud, &res, d);
		if (r < 0) {
			free(path);
			return r;
		}
		/* guests' qcow2 overlays read through it: keep it from being written */
		chmod(path, 0444);
		out->built = true;
	}
	out->path = realpath(path, NULL);
	free(path);
	if (!out->path)
		return -errno;
	r = describe(out->path, out, d);
	if (r < 0)
		xp_golden_release(out);
	return r;
}

int xp_golden_prepare(const char *state_dir, const struct xp_settings *s, xp_progress_fn progress,
		      xp_phase_fn phase, void *ud, struct xp_golden *out, struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	out->root_offset = -1;
	const char *image = xp_settings_get(s, "image");
	if (!image || !*image)
		return xp_diags_fail(d, -EINVAL, NULL, "no-image",
				     "set one: xenprov profile edit P --image PATH",
				     "the profile names no image");
	if (xp_dist_valid(image))
		return dist_golden(state_dir, s, image, progress, phase, ud, out, d);
	const char *pk = xp_settings_get(s, "install")   ? "install"
			 : xp_settings_get(s, "include") ? "include"
							 : NULL;
	if (pk)
		return xp_diags_fail(d, -EINVAL, image, pk,
				     "use image debian:bookworm or debian:trixie, which xenprov "
				     "makes with mmdebstrap",
				     "%s needs an image made by xenprov: packages cannot be "
				     "installed into a tarball or a built image",
				     pk);
	/* NAME or NAME@V: a captured version's tree, built like a tarball, named by its
	 * manifest hash */
	struct xp_imgver v;
	int lr = xp_imgver_lookup(state_dir, image, &v, d);
	if (lr < 0)
		return lr;
	if (lr == 1) {
		char content[80];
		snprintf(content, sizeof(content), "tree:%s", v.manifest_sha256);
		lr = build_golden(state_dir, s, NULL, &v, content, progress, ud, out, d);
		xp_imgver_release(&v);
		return lr;
	}
	struct stat st;
	if (stat(image, &st) < 0) {
		int e = errno;
		return xp_diags_fail(d, -e, image, "image", NULL, "cannot open the image: %s",
				     strerror(e));
	}
	/* a block device (an LV or a disk) is a raw golden image */
	if (S_ISBLK(st.st_mode)) {
		if (!(out->path = strdup(image)))
			return -ENOMEM;
		out->format = XP_IMAGE_RAW;
		int r = describe(image, out, d);
		if (r < 0)
			xp_golden_release(out);
		return r;
	}
	if (!S_ISREG(st.st_mode))
		return xp_diags_fail(d, -EINVAL, image, "image", NULL, "not a file");
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return xp_diags_fail(d, -e, image, "image", NULL, "cannot open the image: %s",
				     strerror(e));
	}
	enum kind k = sniff(fd);
	close(fd);
	if (k == K_UNKNOWN)
		return xp_diags_fail(d, -EINVAL, image, "image",
				     "a root tarball (.tar, .tar.gz, ...) or a raw "
				     "or qcow2 disk image",
				     "neither a root tarball nor a disk image");
	if (k == K_RAW || k == K_QCOW2) {
		out->path = realpath(image, NULL);
		if (!out->path)
			return -errno;
		int r = describe(out->path, out, d);
		if (r == 0)
			r = maybe_grow(state_dir, s, out, d);
		if (r < 0)
			xp_golden_release(out);
		return r;
	}

	/* a tarball: built once, named by what goes into it */
	unsigned char digest[32];
	char content[65];
	int r = xp_sha256_file(image, digest);
	if (r < 0)
		return xp_diags_fail(d, r, image, "image", NULL, "cannot read the archive: %s",
				     strerror(-r));
	xp_sha256_hex(digest, content);
	return build_golden(state_dir, s, image, NULL, content, progress, ud, out, d);
}
