/*
 * guest-update.c - a guest's root filesystem brought from one version of its image to
 * another, offline (xenprov/imgdiff.h): the plan read through the read-only filesystem
 * reader (extfs-read.c), the changes written through the guest file layer (guest-fs.c)
 * on a copy of the disk that replaces it by rename(2) once complete.
 *
 * Why a copy and a rename rather than writing the disk in place and undoing on failure:
 * an undo log of libext2fs writes would have to cover the block allocator's metadata as
 * well as the files, and a crash half way would leave a filesystem neither version
 * describes. The copy costs little where it matters: a qcow2 overlay holds only what the
 * guest wrote (a few MiB; its backing file is shared, never copied, never written), and a
 * raw disk is reflinked where the filesystem can (XFS, btrfs), else copied sparse (only
 * its data). Every check runs before the copy is made; until the rename the guest's disk
 * is the old one, after it the new one, whatever fails or is killed between.
 *
 * Not here: the difference itself (tree-diff.c), which guest runs (deploy/), running
 * guests (rsync over ssh, in the command).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "image/blockdev-internal.h"
#include "image/guest-fs.h"
#include "image/guest-root.h"
#include "util/copy.h"
#include "xenprov/blockdev.h"
#include "xenprov/extfs.h"
#include "xenprov/guest.h"
#include "xenprov/imgdiff.h"
#include "xenprov/partition.h"

const char *xp_gupd_action_name(enum xp_gupd_action a)
{
	static const char *const names[] = {"add", "change", "remove", "keep", "conflict", "same"};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

void xp_gupd_plan_release(struct xp_gupd_plan *p)
{
	if (!p)
		return;
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ---- reading the guest ---------------------------------------------------------------- */

struct cmp_sink {
	int fd;
	uint64_t off;
	bool same;
	char *buf;
};

static int cmp_chunk(void *ud, const void *data, size_t len)
{
	struct cmp_sink *s = ud;
	for (size_t done = 0; s->same && done < len;) {
		size_t want = len - done > (1u << 16) ? (1u << 16) : len - done;
		ssize_t k = pread(s->fd, s->buf, want, (off_t)s->off);
		if (k < 0)
			return -errno;
		if ((size_t)k != want || memcmp(s->buf, (const char *)data + done, want) != 0)
			s->same = false;
		done += want;
		s->off += want;
	}
	return 0;
}

/* Does the guest's entry ge (absent: ge NULL) hold what side s of the tree at root says
 * of path? Type, and a regular file's bytes, a symlink's target, a device's number: what
 * the guest's own changes would be (its mode or owner are not compared). 1, 0, -errno. */
static int guest_matches(struct xp_fs *fs, const struct xp_fs_entry *ge, const char *root,
			 const char *path, const struct xp_tstat *s)
{
	if (!ge || !s->mode)
		return !ge && !s->mode;
	if ((ge->mode & S_IFMT) != (s->mode & S_IFMT))
		return 0;
	if (S_ISLNK(s->mode))
		return ge->link && s->target && strcmp(ge->link, s->target) == 0;
	if (S_ISCHR(s->mode) || S_ISBLK(s->mode))
		return makedev(ge->rdev_major, ge->rdev_minor) == s->rdev;
	if (!S_ISREG(s->mode))
		return 1;
	if (ge->size != s->size)
		return 0;
	char *host = NULL;
	if (asprintf(&host, "%s%s", root, path) < 0)
		return -ENOMEM;
	struct cmp_sink sink = {.same = true, .buf = malloc(1u << 16)};
	sink.fd = open(host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(host);
	int r = sink.fd < 0 ? -errno : !sink.buf ? -ENOMEM : 0;
	if (r == 0)
		r = xp_fs_read(fs, path, cmp_chunk, &sink);
	if (sink.fd >= 0)
		close(sink.fd);
	free(sink.buf);
	return r < 0 ? r : sink.same;
}

/* The number of entries of diff removed directly below the directory entry i. */
static size_t removed_children(const struct xp_tdiff *diff, size_t i)
{
	const char *dir = diff->v[i].path;
	size_t len = strlen(dir), k = 0;
	for (size_t j = i + 1; j < diff->n; j++) {
		const char *p = diff->v[j].path;
		if (strncmp(p, dir, len) != 0 || p[len] != '/')
			break; /* pre-order: what is below dir follows it */
		if (!strchr(p + len + 1, '/') && diff->v[j].kind != XP_TDIFF_ADDED &&
		    (diff->v[j].kind == XP_TDIFF_REMOVED || (diff->v[j].what & XP_TDIFF_TYPE)))
			k++;
	}
	return k;
}

int xp_guest_update_plan(const char *image, const char *old_root, const char *new_root,
			 const struct xp_tdiff *diff, struct xp_gupd_plan *plan,
			 struct xp_diags *d)
{
	memset(plan, 0, sizeof(*plan));
	struct xp__guest_root gr;
	int r = xp__guest_find_root(image, d, true, &gr);
	if (r < 0)
		return r;
	struct xp_fs *fs = gr.fs;
	plan->root_off = gr.off;
	plan->v = calloc(diff->n ? diff->n : 1, sizeof(*plan->v));
	if (!plan->v)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < diff->n; i++) {
		const struct xp_tdiff_entry *e = &diff->v[i];
		struct xp_gupd_item *it = &plan->v[plan->n++];
		it->entry = i;
		if (xp_guest_own_path(e->path)) {
			it->action = XP_GUPD_KEEP;
			plan->keep++;
			continue;
		}
		struct xp_fs_entry ge;
		int sr = xp_fs_stat(fs, e->path, &ge);
		if (sr < 0 && sr != -ENOENT && sr != -ENOTDIR) {
			xp_fs_entry_release(&ge);
			r = xp_diags_fail(d, sr, image, "read", NULL, "cannot read '%s' in '%s': %s",
					  e->path, image, strerror(-sr));
			break;
		}
		const struct xp_fs_entry *gp = sr == 0 ? &ge : NULL;
		int as_new = guest_matches(fs, gp, new_root, e->path, &e->new);
		int as_old = as_new == 1 ? 0 : guest_matches(fs, gp, old_root, e->path, &e->old);
		if (as_new < 0 || as_old < 0) {
			r = xp_diags_fail(d, as_new < 0 ? as_new : as_old, image, "read", NULL,
					  "cannot compare '%s' of '%s' with the image: %s", e->path,
					  image, strerror(-(as_new < 0 ? as_new : as_old)));
		} else if (as_new && (e->kind != XP_TDIFF_CHANGED || S_ISDIR(e->new.mode) ||
				      !(e->what & ~(unsigned)(XP_TDIFF_CONTENT | XP_TDIFF_SIZE)))) {
			/* the guest has it as the new version (a changed entry's mode, owner,
			 * times and attributes are still applied, below) */
			it->action = XP_GUPD_SAME;
		} else if (as_new || as_old) {
			it->action = e->kind == XP_TDIFF_ADDED	   ? XP_GUPD_ADD
				     : e->kind == XP_TDIFF_REMOVED ? XP_GUPD_REMOVE
								   : XP_GUPD_CHANGE;
			if (S_ISDIR(e->old.mode) && gp && S_ISDIR(gp->mode) &&
			    (e->kind == XP_TDIFF_REMOVED || (e->what & XP_TDIFF_TYPE))) {
				/* a directory to remove must hold only what the update removes */
				struct xp_fs_entry *kids;
				size_t nk;
				if (xp_fs_list(fs, e->path, &kids, &nk) == 0) {
					xp_fs_list_free(kids, nk);
					if (nk > removed_children(diff, i)) {
						it->action = XP_GUPD_CONFLICT;
						it->why = "holds files the guest added";
					}
				}
			}
		} else {
			it->action = XP_GUPD_CONFLICT;
			it->why = !gp			? "missing in the guest"
				  : e->kind == XP_TDIFF_ADDED ? "added by the guest"
							      : "changed by the guest";
		}
		if (r == 0) {
			switch (it->action) {
			case XP_GUPD_ADD:
				plan->add++;
				break;
			case XP_GUPD_CHANGE:
				plan->change++;
				break;
			case XP_GUPD_REMOVE:
				plan->remove++;
				break;
			case XP_GUPD_CONFLICT:
				plan->conflict++;
				break;
			case XP_GUPD_SAME:
				plan->same++;
				break;
			case XP_GUPD_KEEP:
				plan->keep++;
				break;
			}
		}
		xp_fs_entry_release(&ge);
	}
	xp__guest_root_close(&gr);
	if (r < 0)
		xp_gupd_plan_release(plan);
	return r;
}

/* ---- writing the guest ---------------------------------------------------------------- */

struct apply {
	struct xp_gfs *g;
	const char *new_root;
	const char *image;
	struct xp_diags *d;
	bool override;
};

/* Whether item it changes the guest, and how: the action a conflict takes with
 * override is its entry's kind's. */
static enum xp_gupd_action effective(const struct apply *a, const struct xp_gupd_item *it,
				     const struct xp_tdiff_entry *e)
{
	if (it->action != XP_GUPD_CONFLICT)
		return it->action;
	if (!a->override)
		return XP_GUPD_KEEP;
	return e->kind == XP_TDIFF_ADDED ? XP_GUPD_ADD
	       : e->kind == XP_TDIFF_REMOVED ? XP_GUPD_REMOVE
					     : XP_GUPD_CHANGE;
}

/* Removes what the guest has at path: a non-directory, or an empty directory (one that
 * is not empty stays, with a warning: what the guest added in it is its own). */
static int remove_path(struct apply *a, const char *path)
{
	mode_t mode;
	int r = xp_gfs_lstat(a->g, path, &mode);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (!S_ISDIR(mode))
		return xp_gfs_remove(a->g, path, true);
	char **names;
	size_t n;
	r = xp_gfs_list(a->g, path, &names, &n);
	if (r < 0)
		return r;
	xp_gfs_names_free(names, n);
	if (n && a->override) {
		xp_diags_add(a->d, XP_SEV_WARNING, a->image, 0, 0, "kept", path, NULL,
			     "'%s' is kept: it holds files the guest added", path);
		return 0;
	}
	return xp_gfs_rmdir(a->g, path);
}

/* The extended attributes of the host file at host (not followed), set on path. */
static int copy_xattrs(struct apply *a, const char *host, const char *path)
{
	struct xp_xattrs x;
	int r = xp_xattrs_read(host, &x);
	if (r < 0)
		return xp_diags_fail(a->d, r, host, "read", NULL,
				     "cannot read the extended attributes of '%s': %s", host,
				     r == -E2BIG ? "beyond the kernel's bounds" : strerror(-r));
	struct xp_gfs_xattr *v = calloc(x.n ? x.n : 1, sizeof(*v));
	if (!v) {
		xp_xattrs_release(&x);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x.n; i++)
		v[i] = (struct xp_gfs_xattr){x.v[i].name, x.v[i].value, x.v[i].len};
	r = xp_gfs_set_xattrs(a->g, path, v, x.n);
	free(v);
	xp_xattrs_release(&x);
	return r;
}

static int set_meta(struct apply *a, const char *path, const struct xp_tstat *s)
{
	const struct xp_gfs_meta m = {s->mode & 07777, s->uid, s->gid, s->mtime, s->mtime_ns};
	return xp_gfs_set_meta(a->g, path, &m);
}

/* Makes path as the new tree has it (entry e), or adjusts what is there. */
static int put_entry(struct apply *a, const struct xp_tdiff_entry *e, enum xp_gupd_action act)
{
	const char *path = e->path;
	const struct xp_tstat *s = &e->new;
	char *host = NULL;
	if (asprintf(&host, "%s%s", a->new_root, path) < 0)
		return -ENOMEM;
	mode_t gmode = 0;
	int r = xp_gfs_lstat(a->g, path, &gmode);
	bool there = r == 0;
	if (r < 0 && r != -ENOENT)
		goto out;
	r = 0;
	/* only attributes changed, and the guest has the right kind of thing: adjust */
	bool adjust = act == XP_GUPD_CHANGE && there && (gmode & S_IFMT) == (s->mode & S_IFMT) &&
		      !(e->what & (XP_TDIFF_TYPE | XP_TDIFF_CONTENT | XP_TDIFF_SIZE |
				   XP_TDIFF_TARGET | XP_TDIFF_RDEV | XP_TDIFF_LINK));
	if (S_ISDIR(s->mode)) {
		if (there && !S_ISDIR(gmode))
			r = remove_path(a, path);
		if (r == 0)
			r = xp_gfs_mkdir(a->g, path, s->mode & 07777, s->uid, s->gid, true);
	} else if (!adjust) {
		if (there && S_ISDIR(gmode))
			r = remove_path(a, path);
		else if (there && S_ISREG(s->mode))
			/* a new inode: the guest's old one may be hard-linked elsewhere */
			r = xp_gfs_remove(a->g, path, false);
		if (r < 0)
			goto out;
		if (S_ISREG(s->mode) && e->link && xp_gfs_is_regular(a->g, e->link)) {
			r = xp_gfs_link(a->g, e->link, path);
			goto out; /* the inode has its attributes already */
		} else if (S_ISREG(s->mode)) {
			int fd = open(host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				r = xp_diags_fail(a->d, -errno, host, "read", NULL,
						  "cannot open '%s': %s", host, strerror(errno));
				goto out;
			}
			const struct xp_gfs_wopts o = {s->mode & 07777, s->uid, s->gid, true};
			r = xp_gfs_write_fd(a->g, path, fd, s->size, &o);
			close(fd);
		} else if (S_ISLNK(s->mode)) {
			r = xp_gfs_symlink(a->g, path, s->target);
		} else {
			r = xp_gfs_mknod(a->g, path, s->mode, major(s->rdev), minor(s->rdev));
		}
	}
	if (r == 0)
		r = set_meta(a, path, s);
	if (r == 0 && !S_ISLNK(s->mode) &&
	    (act == XP_GUPD_ADD || !adjust || (e->what & XP_TDIFF_XATTR)))
		r = copy_xattrs(a, host, path);
out:
	free(host);
	return r;
}

static int apply_all(struct apply *a, const struct xp_tdiff *diff, const struct xp_gupd_plan *plan)
{
	int r = 0;
	/* removals first, from the deepest: what is below a directory goes before it */
	for (size_t k = plan->n; r == 0 && k-- > 0;) {
		const struct xp_gupd_item *it = &plan->v[k];
		const struct xp_tdiff_entry *e = &diff->v[it->entry];
		enum xp_gupd_action act = effective(a, it, e);
		if (act == XP_GUPD_REMOVE || (act == XP_GUPD_CHANGE && (e->what & XP_TDIFF_TYPE)))
			r = remove_path(a, e->path);
	}
	for (size_t k = 0; r == 0 && k < plan->n; k++) {
		const struct xp_gupd_item *it = &plan->v[k];
		const struct xp_tdiff_entry *e = &diff->v[it->entry];
		enum xp_gupd_action act = effective(a, it, e);
		if (act == XP_GUPD_ADD || act == XP_GUPD_CHANGE)
			r = put_entry(a, e, act);
		else if (act == XP_GUPD_SAME && e->kind == XP_TDIFF_CHANGED &&
			 !(e->what & XP_TDIFF_TYPE))
			r = put_entry(a, e, XP_GUPD_CHANGE); /* content there, attributes not */
	}
	return r;
}

/* A new name beside path for its copy: ".BASE.xp-update.XXXXXX" in its directory. */
static int temp_beside(const char *path, char **tmp)
{
	char *dup1 = strdup(path), *dup2 = strdup(path);
	int r = dup1 && dup2 ? 0 : -ENOMEM;
	if (r == 0) {
		unsigned char rnd[6];
		r = xp_getrandom(NULL, rnd, sizeof(rnd));
		if (r == 0 && asprintf(tmp, "%s/.%s.xp-update.%02x%02x%02x%02x%02x%02x",
				       dirname(dup1), basename(dup2), rnd[0], rnd[1], rnd[2], rnd[3],
				       rnd[4], rnd[5]) < 0)
			r = -ENOMEM;
	}
	free(dup1);
	free(dup2);
	return r;
}

static int sync_dir_of(const char *path)
{
	char *dup = strdup(path);
	if (!dup)
		return -ENOMEM;
	int fd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dup);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int xp_guest_update_apply(const char *image, const char *new_root, const struct xp_tdiff *diff,
			  const struct xp_gupd_plan *plan, bool override, unsigned flags,
			  struct xp_diags *d)
{
	if (plan->conflict && !override) {
		return xp_diags_fail(d, -EEXIST, image, "conflict", "--override replaces them",
				     "%zu file(s) the guest changed itself would be overwritten",
				     plan->conflict);
	}
	/* nothing to write (the guest is at the version already, or keeps all): no copy */
	const struct apply probe = {NULL, new_root, image, d, override};
	bool work = false;
	for (size_t k = 0; !work && k < plan->n; k++) {
		const struct xp_tdiff_entry *e = &diff->v[plan->v[k].entry];
		enum xp_gupd_action act = effective(&probe, &plan->v[k], e);
		work = act == XP_GUPD_ADD || act == XP_GUPD_CHANGE || act == XP_GUPD_REMOVE ||
		       (act == XP_GUPD_SAME && e->kind == XP_TDIFF_CHANGED);
	}
	if (!work)
		return 0;
	int src = open(image, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return xp_diags_fail(d, -errno, image, "open", NULL, "cannot open '%s': %s", image,
				     strerror(errno));
	struct stat st;
	if (fstat(src, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(src);
		return xp_diags_fail(d, -ENOTSUP, image, "not-file", NULL,
				     "'%s' is not a regular file: only file and qcow2 disks are "
				     "updated offline",
				     image);
	}
	/* the disk's own lock, as every editor of it takes (guest-fs.c through rwio) */
	if (flock(src, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(src);
		return xp_diags_fail(d, e == EWOULDBLOCK ? -EBUSY : -e, image, "busy", NULL,
				     "'%s' is being edited by another program", image);
	}
	char *tmp = NULL;
	int r = temp_beside(image, &tmp);
	int dst = -1;
	if (r == 0) {
		dst = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
		if (dst < 0)
			r = xp_diags_fail(d, -errno, tmp, "create", NULL, "cannot create '%s': %s",
					  tmp, strerror(errno));
	}
	if (r == 0) {
		r = xp_copy_file(src, dst, XP_COPY_CLONE);
		if (r < 0)
			xp_diags_fail(d, r, image, "copy", NULL, "cannot copy '%s': %s", image,
				      strerror(-r));
	}
	if (r == 0 && (fchown(dst, st.st_uid, st.st_gid) < 0 && errno != EPERM))
		r = -errno;
	if (dst >= 0)
		close(dst);
	struct xp_guest_report rep;
	memset(&rep, 0, sizeof(rep));
	if (r == 0) {
		const struct xp_guest_diag dg = {d, image};
		struct xp_gfs *g = NULL;
		r = xp_gfs_open(tmp, plan->root_off, (uint32_t)time(NULL),
				(flags & XP_GUPD_NOSYNC) ? XP_GFS_NOSYNC : 0, &rep, &dg, &g);
		if (r == 0) {
			struct apply a = {g, new_root, image, d, override};
			r = xp_gfs_close(g, apply_all(&a, diff, plan));
		}
	}
	xp_guest_report_release(&rep);
	if (r == 0 && rename(tmp, image) < 0)
		r = xp_diags_fail(d, -errno, image, "rename", NULL, "cannot replace '%s': %s",
				  image, strerror(errno));
	if (r == 0 && !(flags & XP_GUPD_NOSYNC))
		r = sync_dir_of(image);
	if (r < 0 && tmp)
		unlink(tmp);
	free(tmp);
	close(src);
	return r;
}
