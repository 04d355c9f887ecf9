/*
 * fuzz-image-read.c - libFuzzer target for what `xenprov image info`, `image ls -l` and
 * `image cat` do with an image nobody checked: the input is the image file (qcow2 or,
 * failing the magic, raw; a partition table or a bare ext2/3/4 filesystem), opened
 * from a memfd. The harness describes it (xp_image_info), opens its filesystem
 * (xp_image_open_fs), stats and lists the root, walks the tree a few levels down
 * (stat, list, read every regular file, read every symlink), and looks up paths that
 * go through symlinks, "..", missing names and files used as directories.
 *
 * The corpus (fuzz/corpus/image-read/) holds small valid images made by mke2fs -d and
 * xenprov itself, raw and qcow2, so that mutations start inside real metadata.
 *
 * Contracts checked beyond "no crash, no leak, no hang": every call returns 0 or a
 * known -errno; a failed stat or list hands back nothing to free (the entry and the
 * array are empty); a listed name is non-empty and has no '/'; a read never delivers
 * more than the file's size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-file.h"

#include "xenprov/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT  (2u << 20)
#define MAX_DEPTH  3
#define MAX_VISITS 200	      /* entries looked at per input */
#define MAX_READ   (1u << 20) /* bytes read per file before the sink stops */

#define check fuzz_check

/* an image's own errors, and the filesystem reader's */
static int known_error(int r)
{
	return fuzz_image_errno(r) || r == -EFBIG || r == -EROFS || r == -EOVERFLOW ||
	       r == -ERANGE;
}

struct sink {
	uint64_t got;
};

static int sink_fn(void *ud, const void *data, size_t len)
{
	struct sink *s = ud;
	(void)data;
	s->got += len;
	return s->got > MAX_READ ? -EFBIG : 0;
}

struct walk {
	struct xp_fs *fs;
	unsigned visits;
};

/* What `image ls -l PATH` does: stat, then list when it is a directory. */
static void ls_l(struct walk *w, const char *path, unsigned depth);

static void cat(struct walk *w, const char *path, uint64_t size)
{
	struct sink s = {0};
	int r = xp_fs_read(w->fs, path, sink_fn, &s);
	check(r == 0 || known_error(r));
	if (r == 0)
		check(s.got <= size);
}

static void ls_l(struct walk *w, const char *path, unsigned depth)
{
	if (w->visits++ >= MAX_VISITS)
		return;
	struct xp_fs_entry st;
	int r = xp_fs_stat(w->fs, path, &st);
	check(r == 0 || known_error(r));
	if (r < 0) {
		check(st.name == NULL && st.link == NULL);
		return;
	}
	check(st.name && st.name[0]);
	if (S_ISLNK(st.mode))
		check(st.link != NULL);
	bool dir = S_ISDIR(st.mode);
	if (S_ISREG(st.mode))
		cat(w, path, st.size);
	xp_fs_entry_release(&st);
	if (!dir && !S_ISLNK(st.mode))
		return;
	/* ls follows a symlink given as PATH (ls(1) without -d) */
	struct xp_fs_entry *es = (struct xp_fs_entry *)1;
	size_t n = 1;
	r = xp_fs_list(w->fs, path, &es, &n);
	check(r == 0 || known_error(r));
	if (r < 0) {
		check(es == NULL && n == 0);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		check(es[i].name && es[i].name[0] && !strchr(es[i].name, '/'));
		if (!dir || depth >= MAX_DEPTH)
			continue;
		char child[4096];
		int len = snprintf(child, sizeof(child), "%s%s%s", path,
				   path[strlen(path) - 1] == '/' ? "" : "/", es[i].name);
		if (len > 0 && (size_t)len < sizeof(child))
			ls_l(w, child, depth + 1);
	}
	xp_fs_list_free(es, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	char path[64];
	int fd = fuzz_memfd("fuzz-image-read", data, size, 0, path);
	if (fd < 0)
		return 0;

	/* image info */
	struct xp_image_info info;
	int r = xp_image_info(path, &info);
	check(r == 0 || known_error(r));
	if (r == 0)
		xp_image_info_release(&info);

	/* image ls -l / cat, on the first filesystem found */
	struct xp_blockdev *bd = NULL;
	struct xp_fs *fs = NULL;
	r = xp_image_open_fs(path, 0, &bd, &fs);
	check(r == 0 || known_error(r));
	if (r == 0) {
		struct walk w = {.fs = fs};
		ls_l(&w, "/", 0);
		/* lookups the walk does not make */
		static const char *const extra[] = {"/.",
						    "/..",
						    "//",
						    "/lost+found/",
						    "/missing",
						    "/etc/hostname/x",
						    "/bin/../etc/hostname",
						    "/link/",
						    "/loop",
						    "/dir/link/x"};
		for (size_t i = 0; i < sizeof(extra) / sizeof(*extra); i++) {
			w.visits = 0;
			ls_l(&w, extra[i], MAX_DEPTH);
			cat(&w, extra[i], UINT64_MAX);
		}
		xp_fs_close(fs);
		xp_blockdev_close(bd);
	}
	close(fd);
	return 0;
}
