/*
 * image-build.c - the guest disk build pipeline (`xenprov image build`): cache lookup,
 * size, a sparse temporary file, partition table, filesystem from the archive, swap,
 * qcow2 conversion, then an atomic rename into place. The temporary files are unnamed
 * (O_TMPFILE) where the filesystem allows, so a crash or kill leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/extfs-internal.h"
#include "image/image-build.h"
#include "util/cleanup.h"
#include "util/copy.h"
#include "xenprov/image.h"

#define MIB (1024ull * 1024)

/* ---- temporary files ------------------------------------------------------------- */

struct tmpfile {
	int fd;
	char path[2 * PATH_MAX + 64]; /* /proc/self/fd/N, or the named fallback */
	char named[2 * PATH_MAX + 64];
	char dir[PATH_MAX];
};

static void tmp_init(struct tmpfile *t)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

static int tmp_open(struct tmpfile *t, const char *output)
{
	snprintf(t->dir, sizeof(t->dir), "%s", output);
	char *slash = strrchr(t->dir, '/');
	if (slash == t->dir)
		t->dir[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(t->dir, sizeof(t->dir), ".");
	t->fd = open(t->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (t->fd >= 0) {
		snprintf(t->path, sizeof(t->path), "/proc/self/fd/%d", t->fd);
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	/* a filesystem without O_TMPFILE: a named temporary, removed on failure */
	const char *base = strrchr(output, '/') ? strrchr(output, '/') + 1 : output;
	snprintf(t->named, sizeof(t->named), "%s/.%s.XXXXXX", t->dir, base);
	t->fd = mkostemp(t->named, O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	fchmod(t->fd, 0644);
	snprintf(t->path, sizeof(t->path), "%s", t->named);
	return 0;
}

static void tmp_discard(struct tmpfile *t)
{
	if (t->named[0])
		unlink(t->named);
	if (t->fd >= 0)
		close(t->fd);
	tmp_init(t);
}

/* Gives the temporary file the name `output`, replacing any file there. */
static int tmp_commit(struct tmpfile *t, const char *output)
{
	if (fsync(t->fd) < 0)
		return -errno;
	if (!t->named[0]) {
		/* link the unnamed file under a temporary name, then rename over output */
		const char *base = strrchr(output, '/') ? strrchr(output, '/') + 1 : output;
		for (int i = 0; i < 100; i++) {
			snprintf(t->named, sizeof(t->named), "%s/.%s.%d.%d", t->dir, base,
				 (int)getpid(), i);
			if (linkat(AT_FDCWD, t->path, AT_FDCWD, t->named, AT_SYMLINK_FOLLOW) == 0)
				break;
			if (errno != EEXIST) {
				t->named[0] = 0;
				return -errno;
			}
		}
	}
	if (rename(t->named, output) < 0)
		return -errno;
	t->named[0] = 0;
	int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	close(t->fd);
	t->fd = -1;
	return 0;
}

/* A failure to write the image: a full host disk (ENOSPC, EDQUOT) is said as such, with
 * the code "write" that xp_fs_build gives it too, so that it never reads like the
 * guest filesystem being too small; anything else as "what: error". */
static void output_error(struct xp_diags *diags, const char *output, int r, const char *code,
			 const char *what)
{
	if (r == -ENOSPC || r == -EDQUOT)
		xp_diags_add(diags, XP_SEV_ERROR, output, 0, 0, "write", NULL, XP_HOST_FULL_HINT,
			     "cannot write: %s", strerror(-r));
	else
		xp_diags_add(diags, XP_SEV_ERROR, output, 0, 0, code, NULL, NULL, "%s: %s", what,
			     strerror(-r));
}

/* ---- cache key ----------------------------------------------------------------------- */

static int image_key(const struct xp_image_opts *o, const char *content, char key[65])
{
	unsigned char digest[32];
	struct xp_buf b = XP_BUF_INIT;
	/* every option that changes the bytes of the result; bump the version when the
	 * builder changes what it writes (v2: ext4 with metadata_csum_seed) */
	xp_buf_addf(&b,
		    "xenprov-image-v2\n%s\nsize=%llu\nheadroom=%u\nfs=%d\nlabel=%s\n"
		    "uuid=%s\ninodes=%llu\nreserved=%d\ntable=%d\nswap=%llu\nformat=%d\n",
		    content, (unsigned long long)o->size, o->headroom_percent, (int)o->fs.type,
		    o->fs.label ? o->fs.label : "", o->fs.uuid ? o->fs.uuid : "",
		    (unsigned long long)o->fs.inodes, o->fs.reserved_percent, (int)o->label,
		    (unsigned long long)o->swap_size, (int)o->format);
	/* an empty archive is an error without allow-empty: a cached image of one must not
	 * be served to a build that would refuse it (added only when set, so the keys of
	 * every other build stay as they were) */
	if (o->fs.allow_empty)
		xp_buf_addf(&b, "allow-empty\n");
	if (xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ENOMEM;
	}
	int r = xp_sha256(b.s, b.len, digest);
	xp_buf_release(&b);
	xp_sha256_hex(digest, key);
	return r;
}

int xp_image_cache_dir_default(char **out)
{
	*out = NULL;
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n = 0;
	if (geteuid() == 0 && !x)
		*out = strdup("/var/cache/xenprov/images");
	else if (x && *x)
		n = asprintf(out, "%s/xenprov/images", x);
	else if (home && *home)
		n = asprintf(out, "%s/.cache/xenprov/images", home);
	else
		return -ENOENT;
	if (n < 0)
		*out = NULL;
	return *out ? 0 : -ENOMEM;
}

/* A random UUID makes every build different, which defeats the cache; a cached image
 * with a random UUID is still a fine golden image, as clones get fresh UUIDs anyway. */
static int from_cache(const struct xp_image_opts *o, const char *key, struct xp_diags *diags)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.img", o->cache_dir, key);
	int src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		/* a cache that cannot be read is no reason not to build */
		if (errno != ENOENT)
			xp_diags_add(diags, XP_SEV_WARNING, o->cache_dir, 0, 0, "cache", NULL, NULL,
				     "cannot read the image cache: %s", strerror(errno));
		return 1;
	}
	struct tmpfile t;
	tmp_init(&t);
	int r = tmp_open(&t, o->output);
	if (r == 0)
		r = xp_copy_file(src, t.fd, XP_COPY_CLONE);
	if (r == 0)
		r = tmp_commit(&t, o->output);
	if (r < 0) {
		char what[PATH_MAX + 64];
		snprintf(what, sizeof(what), "cannot copy the cached image %s", path);
		output_error(diags, o->output, r, "cache", what);
		tmp_discard(&t);
	}
	close(src);
	return r;
}

int xp__image_lookup(const struct xp_image_opts *o, const char *content,
		     struct xp_image_result *res, struct xp_diags *diags)
{
	int r = image_key(o, content, res->key);
	if (r < 0)
		return r;
	r = from_cache(o, res->key, diags);
	res->from_cache = r == 0;
	return r;
}

static int to_cache(const struct xp_image_opts *o, const char *key)
{
	int m = xp_mkdir_p(o->cache_dir, 0755);
	if (m < 0)
		return m;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.img", o->cache_dir, key);
	int src = open(o->output, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -errno;
	struct tmpfile t;
	tmp_init(&t);
	int r = tmp_open(&t, path);
	if (r == 0)
		r = xp_copy_file(src, t.fd, XP_COPY_CLONE);
	if (r == 0)
		r = tmp_commit(&t, path);
	if (r < 0)
		tmp_discard(&t);
	close(src);
	return r;
}

/* ---- the build --------------------------------------------------------------------- */

/* A cheap guess of the archive's uncompressed size: a plain tar's own size, or a
 * single-member gzip's ISIZE trailer (RFC 1952; mod 2^32, so only trusted when it is
 * not smaller than the compressed size). 0 when unknown (xz, zstd, bzip2). */
static uint64_t uncompressed_guess(const char *archive, uint64_t file_size)
{
	int fd = open(archive, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	unsigned char head[512], tail[4];
	uint64_t guess = 0;
	ssize_t n = pread(fd, head, sizeof(head), 0);
	if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b && file_size >= 18 &&
	    pread(fd, tail, 4, (off_t)file_size - 4) == 4) {
		uint64_t isize = (uint64_t)tail[0] | (uint64_t)tail[1] << 8 |
				 (uint64_t)tail[2] << 16 | (uint64_t)tail[3] << 24;
		if (isize >= file_size)
			guess = isize;
	} else if (n == (ssize_t)sizeof(head) && memcmp(head + 257, "ustar", 5) == 0) {
		guess = file_size;
	}
	close(fd);
	return guess;
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

int xp__image_check_opts(const struct xp_image_opts *o, struct xp_diags *diags)
{
	if (o->label == XP_LABEL_NONE && o->swap_size) {
		xp_diags_add(diags, XP_SEV_ERROR, NULL, 0, 0, "swap-no-table", NULL,
			     "use --label msdos or gpt, or drop --swap",
			     "a swap partition needs a partition table");
		return -EINVAL;
	}
	return 0;
}

int xp__image_layout(const struct xp_image_opts *o, uint64_t fs_bytes, struct xp_layout *l,
		     struct xp_diags *diags)
{
	l->label = o->label;
	l->swap_size = o->swap_size;
	if (o->size) {
		l->disk_size = o->size;
	} else {
		/* the table's overhead: 1 MiB in front, 1 MiB behind for gpt's backup */
		uint64_t extra = o->label == XP_LABEL_NONE ? 0 : 2 * MIB;
		l->disk_size = round_up(fs_bytes, MIB) + extra + round_up(o->swap_size, MIB);
	}
	int r = xp_layout_compute(l);
	if (r < 0)
		xp_diags_add(diags, XP_SEV_ERROR, NULL, 0, 0, "size", NULL, NULL,
			     "a %llu MiB disk cannot hold the partitions asked for",
			     (unsigned long long)(l->disk_size / MIB));
	return r;
}

int xp__image_too_small(const struct xp_image_opts *o, const struct xp_layout *l, uint64_t need,
			const char *what, struct xp_diags *diags)
{
	if (need <= l->root_size)
		return 0;
	uint64_t disk_need = need + (l->disk_size - l->root_size);
	xp_diags_add(diags, XP_SEV_ERROR, o->output, 0, 0, "too-small", NULL,
		     "use --size auto, or a larger --size",
		     "a %llu MiB disk is too small: %s needs a filesystem of at least %llu MiB "
		     "(a disk of %llu MiB)",
		     (unsigned long long)(l->disk_size >> 20), what,
		     (unsigned long long)((need + MIB - 1) >> 20),
		     (unsigned long long)((disk_need + MIB - 1) >> 20));
	return -ENOSPC;
}

int xp__image_write(const struct xp_image_opts *o, const char *archive, const char *archive_name,
		    int (*ready)(void *rud, struct xp_diags *diags), void *rud,
		    xp_progress_fn progress, void *ud, struct xp_image_result *res,
		    struct xp_diags *diags)
{
	const struct xp_layout *l = &res->layout;
	struct tmpfile raw;
	tmp_init(&raw);
	int r = tmp_open(&raw, o->output);
	if (r < 0) {
		xp_diags_add(diags, XP_SEV_ERROR, o->output, 0, 0, "output", NULL, NULL,
			     "cannot create the image: %s", strerror(-r));
		return r;
	}
	if (ftruncate(raw.fd, (off_t)l->disk_size) < 0) {
		r = -errno;
		output_error(diags, o->output, r, "output", "cannot size the image");
		goto fail;
	}
	r = xp_partition_write(raw.path, l, diags);
	if (r < 0)
		goto fail;
	/* a raw file converted to qcow2 is thrown away: no point writing it to the disk */
	struct xp_fs_opts fs = o->fs;
	fs.scratch = o->format == XP_IMAGE_QCOW2;
	fs.output_name = o->output; /* not the temporary's /proc/self/fd/N */
	if (archive_name)
		fs.archive_name = archive_name;
	r = xp_fs_build(raw.path, l->root_offset, l->root_size, archive, &fs, progress, ud,
			&res->fs, diags);
	if (r < 0)
		goto fail;
	if (ready && (r = ready(rud, diags)) < 0)
		goto fail;
	if (o->swap_size) {
		r = xp_swap_format(raw.path, l->swap_offset, l->swap_size, NULL, "swap");
		if (r < 0) {
			output_error(diags, o->output, r, "swap",
				     "cannot format the swap partition");
			goto fail;
		}
	}
	if (o->format == XP_IMAGE_QCOW2) {
		/* the qcow2 writer puts its result in place atomically itself */
		r = xp_qcow2_from_raw(raw.path, o->output, 0);
		if (r < 0) {
			output_error(diags, o->output, r, "qcow2", "cannot write the qcow2 image");
			goto fail;
		}
		tmp_discard(&raw);
	} else {
		r = tmp_commit(&raw, o->output);
		if (r < 0) {
			output_error(diags, o->output, r, "output",
				     "cannot put the image in place");
			goto fail;
		}
	}
	if (o->cache_dir && res->key[0]) {
		int c = to_cache(o, res->key);
		if (c < 0)
			xp_diags_add(diags, XP_SEV_WARNING, o->cache_dir, 0, 0, "cache", NULL, NULL,
				     "the image was built but not cached: %s", strerror(-c));
	}
	return 0;
fail:
	tmp_discard(&raw);
	return r;
}

int xp_image_build(const struct xp_image_opts *o, xp_progress_fn progress, void *ud,
		   struct xp_image_result *res, struct xp_diags *diags)
{
	memset(res, 0, sizeof(*res));
	if (!o->archive || !o->output)
		return -EINVAL;
	int r = xp__image_check_opts(o, diags);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(o->archive, &st) < 0) {
		int e = -errno;
		xp_diags_add(diags, XP_SEV_ERROR, o->archive, 0, 0, "archive", NULL, NULL,
			     "cannot open the archive: %s", strerror(errno));
		return e;
	}
	/* the archive is read more than once (hashed for the cache, measured, built): a
	 * FIFO or a device would hang the build or give each pass other bytes, and a
	 * FIFO's open(2) alone waits for a writer. A directory is read as the tar of its
	 * content (archive-src.c), each pass walking it anew. */
	bool dir = S_ISDIR(st.st_mode);
	if (!S_ISREG(st.st_mode) && !dir) {
		const char *kind = S_ISFIFO(st.st_mode)	  ? "a FIFO"
				   : S_ISCHR(st.st_mode)  ? "a character device"
				   : S_ISBLK(st.st_mode)  ? "a block device"
				   : S_ISSOCK(st.st_mode) ? "a socket"
							  : "something else";
		xp_diags_add(diags, XP_SEV_ERROR, o->archive, 0, 0, "archive", NULL,
			     "save the archive to a file first",
			     "is %s, not a regular file (the archive is read more than once)", kind);
		return -EINVAL;
	}
	/* a directory is cached only under the identity its caller vouches for (a
	 * captured version's manifest hash): its bytes are not one file to hash */
	if (o->cache_dir && (!dir || o->content)) {
		char content[80];
		if (dir) {
			snprintf(content, sizeof(content), "tree:%s", o->content);
		} else {
			/* the SHA-256 of a tarball's bytes is its content */
			unsigned char digest[32];
			r = xp_sha256_file(o->archive, digest);
			if (r < 0)
				return r;
			xp_sha256_hex(digest, content);
		}
		if ((r = xp__image_lookup(o, content, res, diags)) <= 0)
			return r;
	}

	/* the size: given, or the content plus headroom */
	uint64_t fs_bytes = 0;
	if (!o->size) {
		r = xp_fs_estimate(o->archive, &o->fs, o->headroom_percent, &fs_bytes, diags);
		if (r < 0)
			return r;
	}
	r = xp__image_layout(o, fs_bytes, &res->layout, diags);
	if (r < 0)
		return r;

	/* too small? say so before writing anything: when the archive is plainly bigger
	 * than the filesystem, measure exactly what it needs (a headers-only pass) */
	if (o->size && !dir &&
	    uncompressed_guess(o->archive, (uint64_t)st.st_size) > res->layout.root_size) {
		uint64_t need;
		r = xp_fs_estimate(o->archive, &o->fs, 0, &need, diags);
		if (r == 0)
			r = xp__image_too_small(o, &res->layout, need, "the archive", diags);
		if (r < 0)
			return r;
	}
	return xp__image_write(o, o->archive, NULL, NULL, NULL, progress, ud, res, diags);
}
