/*
 * guest-custom.c - the customisations an operator asks for on top of a guest's own
 * settings (guest-custom.h), virt-customize's most used: --timezone, --copy-in,
 * --write, --firstboot-command; the syntax of their items (guest.h); and the systemd
 * unit machinery they share with the SSH host key unit (guest-edit.c).
 *
 * Everything is written through the file layer (guest-fs.c): guest paths are resolved
 * inside the image (a symlink on the way points into the guest's tree, never the
 * host's), and a final symlink is replaced, never written through. Host files are read
 * with the walk's own descriptors (openat with O_NOFOLLOW below the source), so a tree
 * changed while it is copied cannot lead the copy out of it.
 *
 * Not here: what the unit and script say (guest-text.c), the order of all the edits
 * (guest-edit.c), how a profile stores these lists (inventory/profile.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/guest-custom.h"
#include "image/guest-text.h"
#include "util/ctype.h"

/* ---- the items' syntax ---------------------------------------------------------------- */

static bool has_control(const char *s, bool tab_ok)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && !(tab_ok && *p == '\t')) || *p == 0x7f)
			return true;
	return false;
}

bool xp_guest_path_valid(const char *path)
{
	size_t len = path ? strlen(path) : 0;
	if (len == 0 || len > XP_GUEST_MAX_PATH || path[0] != '/')
		return false;
	if (len == 1)
		return true;
	if (path[len - 1] == '/' || has_control(path, false) || !xp__utf8_valid(path))
		return false;
	for (const char *p = path; *p;) {
		const char *c = p + 1;
		size_t n = strcspn(c, "/");
		if (n == 0 || n > 255 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		p = c + n;
	}
	return true;
}

/* A uid or gid in decimal: 1 to 10 digits, below 2^32 - 1 ((uid_t)-1 is no owner). */
static bool decimal_id(const char *s, size_t n, uint32_t *out)
{
	if (n == 0 || n > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* A host path a copy-in reads: absolute, not the host's root, no trailing '/', UTF-8
 * without control characters (it is stored in the profile and exported as JSON). */
static const char *local_why(const char *local)
{
	size_t len = strlen(local);
	if (local[0] != '/' || len < 2 || local[len - 1] == '/' || len >= PATH_MAX)
		return "LOCALPATH must be an absolute host path other than /, without a "
		       "trailing '/'";
	if (has_control(local, false) || !xp__utf8_valid(local))
		return "LOCALPATH must be UTF-8 text without control characters";
	return NULL;
}

static const char guestdir_why[] = "GUESTDIR must be an absolute guest path without empty, "
				   "'.' or '..' components or control characters";

int xp_guest_copy_parse(char *item, struct xp_guest_copy *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	char *last = strrchr(item, ':');
	if (!last) {
		*why = "expected LOCALPATH:GUESTDIR or LOCALPATH:GUESTDIR:UID:GID";
		return -EINVAL;
	}
	/* GUESTDIR begins with '/': a last field of digits is the owner's gid */
	if (last[1] != '/' && (!last[1] || strspn(last + 1, "0123456789") != strlen(last + 1))) {
		*why = guestdir_why;
		return -EINVAL;
	}
	if (last[1] != '/') {
		char *mid = NULL;
		for (char *p = last; p > item && !mid;)
			if (*--p == ':')
				mid = p;
		if (!mid || !decimal_id(last + 1, strlen(last + 1), &out->gid) ||
		    !decimal_id(mid + 1, (size_t)(last - mid - 1), &out->uid)) {
			*why = "expected LOCALPATH:GUESTDIR or LOCALPATH:GUESTDIR:UID:GID (the "
			       "owner in decimal)";
			return -EINVAL;
		}
		*mid = '\0';
		last = strrchr(item, ':');
		if (!last) {
			*why = "expected LOCALPATH:GUESTDIR:UID:GID";
			return -EINVAL;
		}
	}
	*last = '\0';
	out->local = item;
	out->dir = last + 1;
	if ((*why = local_why(out->local)) != NULL)
		return -EINVAL;
	if (!xp_guest_path_valid(out->dir)) {
		*why = guestdir_why;
		return -EINVAL;
	}
	return 0;
}

static const char guestpath_why[] = "GUESTPATH must be an absolute guest path of a file, "
				    "without empty, '.' or '..' components or control "
				    "characters";

int xp_guest_write_parse(char *item, struct xp_guest_write *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	char *colon = strchr(item, ':');
	if (!colon) {
		*why = "expected GUESTPATH:CONTENT";
		return -EINVAL;
	}
	*colon = '\0';
	out->path = item;
	out->data = colon + 1;
	out->len = strlen(out->data);
	if (!xp_guest_path_valid(out->path) || strcmp(out->path, "/") == 0) {
		*why = guestpath_why;
		return -EINVAL;
	}
	if (out->len > XP_GUEST_MAX_WRITE) {
		*why = "the content is larger than 64 KiB: copy a file in with copy-in";
		return -EINVAL;
	}
	return 0;
}

int xp_guest_command_check(const char *cmd, const char **why)
{
	size_t len = cmd ? strlen(cmd) : 0;
	if (len == 0)
		*why = "an empty command";
	else if (len > XP_GUEST_MAX_COMMAND)
		*why = "a command is at most 4096 bytes: put a longer script in with write or "
		       "copy-in and run that";
	else if (has_control(cmd, true))
		*why = "a command is one line without control characters: put a script in with "
		       "write or copy-in and run that";
	else if (!xp__utf8_valid(cmd))
		*why = "a command must be UTF-8 text";
	else
		return 0;
	return -EINVAL;
}

int xp_guest_timezone_check(const char *zone, const char **why)
{
	size_t len = zone ? strlen(zone) : 0;
	bool ok = len > 0 && len <= XP_GUEST_MAX_ZONE;
	for (const char *p = zone; ok && *p;) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789_-+.");
		ok = n > 0 && p[0] != '.' && (p[n] == '\0' || (p[n] == '/' && p[n + 1]));
		p += n + (p[n] == '/');
	}
	if (ok)
		return 0;
	*why = "a tzdata zone name such as Europe/Paris or UTC: letters, digits, '_', '-', "
	       "'+' and '.' in components separated by '/'";
	return -EINVAL;
}

/* ---- checks before the image is opened -------------------------------------------------- */

static int bad(const struct xp_guest_diag *dg, const char *key, const char *text,
	       const char *why, size_t i)
{
	return xp_guest_fail(dg, -EINVAL, key, text, "%s: item %zu: %s", key, i + 1, why);
}

int xp__guest_custom_check(const struct xp_guest_diag *dg, const struct xp_guest_settings *s)
{
	const char *why;
	if (s->timezone && xp_guest_timezone_check(s->timezone, &why) < 0)
		return xp_guest_fail(dg, -EINVAL, "timezone", s->timezone, "timezone: %s", why);
	static const struct {
		const char *key;
		size_t off_n;
	} counts[] = {
	    {"copy-in", offsetof(struct xp_guest_settings, ncopy_in)},
	    {"write", offsetof(struct xp_guest_settings, nwrite)},
	    {"firstboot-command", offsetof(struct xp_guest_settings, nfirstboot)},
	};
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++)
		if (*(const size_t *)((const char *)s + counts[k].off_n) > XP_GUEST_MAX_ITEMS)
			return xp_guest_fail(dg, -EINVAL, counts[k].key, NULL,
					     "%s: at most %d items", counts[k].key,
					     XP_GUEST_MAX_ITEMS);
	if ((s->ncopy_in && !s->copy_in) || (s->nwrite && !s->write) ||
	    (s->nfirstboot && !s->firstboot))
		return xp_guest_fail(dg, -EINVAL, "usage", NULL, "a list without its items");
	for (size_t i = 0; i < s->ncopy_in; i++) {
		const struct xp_guest_copy *c = &s->copy_in[i];
		if (!c->local || (why = local_why(c->local)) != NULL)
			return bad(dg, "copy-in", c->local, why ? why : "no LOCALPATH", i);
		if (!xp_guest_path_valid(c->dir))
			return bad(dg, "copy-in", c->dir, guestdir_why, i);
	}
	for (size_t i = 0; i < s->nwrite; i++) {
		const struct xp_guest_write *w = &s->write[i];
		/* the content may be secret: never quoted */
		if (!xp_guest_path_valid(w->path) || strcmp(w->path, "/") == 0)
			return bad(dg, "write", w->path, guestpath_why, i);
		if (w->len > XP_GUEST_MAX_WRITE || (w->len && !w->data))
			return bad(dg, "write", w->path, "the content is larger than 64 KiB", i);
	}
	for (size_t i = 0; i < s->nfirstboot; i++)
		if (xp_guest_command_check(s->firstboot[i], &why) < 0)
			return bad(dg, "firstboot-command", NULL, why, i);
	return 0;
}

/* ---- systemd units ---------------------------------------------------------------------- */

bool xp__guest_has_systemd(struct xp_gfs *fs)
{
	return xp_gfs_exists(fs, "/lib/systemd/systemd") ||
	       xp_gfs_exists(fs, "/usr/lib/systemd/systemd");
}

int xp__guest_unit_install(struct xp_gfs *fs, const char *name, const struct xp_buf *text)
{
	char *path = NULL, *link = NULL;
	int r = -ENOMEM;
	if (asprintf(&path, "%s/%s", XP_UNIT_DIR, name) < 0)
		path = NULL;
	else if (asprintf(&link, "%s/%s", XP_UNIT_WANTS, name) < 0)
		link = NULL;
	else
		r = xp_gfs_mkdirs(fs, XP_UNIT_WANTS);
	if (r == 0)
		r = xp_gfs_write_buf(fs, path, text, &(struct xp_gfs_wopts){0644, 0, 0, true});
	if (r == 0)
		r = xp_gfs_symlink(fs, link, path);
	free(path);
	free(link);
	return r;
}

/* ---- the edits -------------------------------------------------------------------------- */

struct cc {
	struct xp_gfs *fs;
	const struct xp_guest_diag *dg;
	const struct xp_guest_settings *s;
	size_t entries;	 /* copied in so far, all items */
	uint64_t bytes;	 /* of file data copied in so far */
};

/* The directory part of a guest path ("/" for "/name"), heap. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

/* DIR/NAME as a guest path ("/NAME" under "/"), heap; NULL (with a diagnostic for one
 * too long) if it cannot be. */
static char *join(struct cc *c, const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) < 0)
		return NULL;
	if (strlen(p) > XP_GUEST_MAX_PATH) {
		xp_guest_fail(c->dg, -ENAMETOOLONG, "copy-in", NULL,
			      "copy-in: '%s/%s': a guest path longer than %d bytes", dir, name,
			      XP_GUEST_MAX_PATH);
		free(p);
		return NULL;
	}
	return p;
}

/* /etc/localtime a symlink to the zone (localtime(5); absolute, as Debian's tzdata
 * makes it), and /etc/timezone for the Debian family, which reads it too. */
static int apply_timezone(struct cc *c)
{
	const char *zone = c->s->timezone;
	if (!zone)
		return 0;
	char *target = NULL;
	if (asprintf(&target, "/usr/share/zoneinfo/%s", zone) < 0)
		return -ENOMEM;
	int r = 0;
	if (!xp_gfs_is_dir(c->fs, "/usr/share/zoneinfo"))
		xp_guest_warn(c->dg, "timezone",
			      "timezone: the image has no /usr/share/zoneinfo (tzdata is not "
			      "installed): /etc/localtime names %s, which is missing until it "
			      "is, and the guest keeps UTC till then",
			      target);
	else if (!xp_gfs_exists(c->fs, target) || xp_gfs_is_dir(c->fs, target))
		r = xp_guest_fail(c->dg, -ENOENT, "timezone", zone,
				  "timezone: the image has no time zone '%s' (no file %s)", zone,
				  target);
	if (r == 0)
		r = xp_gfs_symlink(c->fs, "/etc/localtime", target);
	mode_t mode;
	if (r == 0 && (xp_gfs_exists(c->fs, "/etc/debian_version") ||
		       xp_gfs_lstat(c->fs, "/etc/timezone", &mode) == 0)) {
		struct xp_buf b = XP_BUF_INIT;
		r = xp_guest_text_timezone(zone, &b);
		if (r == 0)
			r = xp_gfs_write_buf(c->fs, "/etc/timezone", &b, &XP_GFS_FILE);
		xp_buf_release(&b);
	}
	free(target);
	return r;
}

/* One more entry of a copy-in, within the bounds. */
static int count_entry(struct cc *c, const char *hpath, uint64_t bytes)
{
	if (++c->entries > XP_GUEST_MAX_COPY_ENTRIES)
		return xp_guest_fail(c->dg, -EFBIG, "copy-in", hpath,
				     "copy-in: more than %d files, directories and symlinks "
				     "(at '%s')",
				     XP_GUEST_MAX_COPY_ENTRIES, hpath);
	if (bytes > XP_GUEST_MAX_COPY_BYTES - c->bytes)
		return xp_guest_fail(c->dg, -EFBIG, "copy-in", hpath,
				     "copy-in: more than %llu GiB of file data (at '%s')",
				     (unsigned long long)(XP_GUEST_MAX_COPY_BYTES >> 30), hpath);
	c->bytes += bytes;
	return 0;
}

static int host_fail(struct cc *c, int err, const char *hpath, const char *what)
{
	return xp_guest_fail(c->dg, -err, "copy-in", hpath, "copy-in: cannot %s '%s': %s", what,
			     hpath, strerror(err));
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the open directory fd, sorted (so a copy is the same every time), at
 * most XP_GUEST_MAX_COPY_ENTRIES of them. */
static int read_names(struct cc *c, int fd, const char *hpath, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		return host_fail(c, e, hpath, "read the directory");
	}
	int r = 0;
	size_t cap = 0;
	struct dirent *de;
	errno = 0;
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n >= XP_GUEST_MAX_COPY_ENTRIES) {
			r = xp_guest_fail(c->dg, -EFBIG, "copy-in", hpath,
					  "copy-in: the directory '%s' holds more than %d entries",
					  hpath, XP_GUEST_MAX_COPY_ENTRIES);
			break;
		}
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nv = realloc(*names, nc * sizeof(**names));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*names = nv;
			cap = nc;
		}
		if (!((*names)[*n] = strdup(de->d_name)))
			r = -ENOMEM;
		else
			(*n)++;
		errno = 0;
	}
	if (r == 0 && errno)
		r = host_fail(c, errno, hpath, "read the directory");
	closedir(d);
	if (r == 0 && *n > 1)
		qsort(*names, *n, sizeof(**names), cmp_name);
	return r;
}

static int copy_entry(struct cc *c, const struct xp_guest_copy *item, int fd,
		      const struct stat *sb, const char *hpath, const char *gpath,
		      unsigned depth);

/* The entries of the host directory fd (hpath) into the guest directory gpath. */
static int copy_children(struct cc *c, const struct xp_guest_copy *item, int fd,
			 const char *hpath, const char *gpath, unsigned depth)
{
	char **names;
	size_t n;
	int r = read_names(c, fd, hpath, &names, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char *hchild = NULL, *gchild = join(c, gpath, names[i]);
		if (!gchild || asprintf(&hchild, "%s/%s", hpath, names[i]) < 0) {
			r = gchild ? -ENOMEM : -ENAMETOOLONG;
			free(gchild);
			break;
		}
		struct stat cs;
		if (fstatat(fd, names[i], &cs, AT_SYMLINK_NOFOLLOW) < 0) {
			r = host_fail(c, errno, hchild, "read");
		} else if (S_ISLNK(cs.st_mode)) {
			/* copied as a symlink, its target as it is: the guest resolves it in its
			 * own tree */
			char target[PATH_MAX];
			ssize_t len = readlinkat(fd, names[i], target, sizeof(target));
			if (len < 0)
				r = host_fail(c, errno, hchild, "read the symlink");
			else if ((size_t)len >= sizeof(target))
				r = host_fail(c, ENAMETOOLONG, hchild, "read the symlink");
			if (r == 0) {
				target[len] = '\0';
				r = count_entry(c, hchild, 0);
			}
			if (r == 0)
				r = xp_gfs_symlink(c->fs, gchild, target);
		} else if (S_ISREG(cs.st_mode) || S_ISDIR(cs.st_mode)) {
			/* opened from the directory without following a symlink: what was
			 * stat'ed, or a failure if it was swapped meanwhile */
			int cfd = openat(fd, names[i],
					 O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
					     (S_ISDIR(cs.st_mode) ? O_DIRECTORY : 0));
			struct stat os;
			if (cfd < 0 || fstat(cfd, &os) < 0)
				r = host_fail(c, errno, hchild, "open");
			else if ((os.st_mode & S_IFMT) != (cs.st_mode & S_IFMT))
				r = host_fail(c, EAGAIN, hchild, "copy (it changed while read)");
			else
				r = copy_entry(c, item, cfd, &os, hchild, gchild, depth + 1);
			if (cfd >= 0)
				close(cfd);
		} else {
			r = xp_guest_fail(c->dg, -EINVAL, "copy-in", hchild,
					  "copy-in: cannot copy '%s': not a regular file, directory "
					  "or symbolic link",
					  hchild);
		}
		free(hchild);
		free(gchild);
	}
	xp_gfs_names_free(names, n);
	return r;
}

/* The open host file or directory fd (hpath, stat sb) to the guest path gpath, with
 * its permission bits and item's owner. */
static int copy_entry(struct cc *c, const struct xp_guest_copy *item, int fd,
		      const struct stat *sb, const char *hpath, const char *gpath, unsigned depth)
{
	mode_t mode = sb->st_mode & 07777;
	if (S_ISREG(sb->st_mode)) {
		int r = count_entry(c, hpath, (uint64_t)sb->st_size);
		if (r == 0)
			r = xp_gfs_write_fd(c->fs, gpath, fd, (uint64_t)sb->st_size,
					    &(struct xp_gfs_wopts){mode, item->uid, item->gid, true});
		return r;
	}
	if (!S_ISDIR(sb->st_mode))
		return xp_guest_fail(c->dg, -EINVAL, "copy-in", hpath,
				     "copy-in: cannot copy '%s': not a regular file or directory",
				     hpath);
	if (depth > XP_GUEST_MAX_COPY_DEPTH)
		return xp_guest_fail(c->dg, -EFBIG, "copy-in", hpath,
				     "copy-in: '%s' is nested more than %d directories deep",
				     hpath, XP_GUEST_MAX_COPY_DEPTH);
	int r = count_entry(c, hpath, 0);
	if (r == 0)
		r = xp_gfs_mkdir(c->fs, gpath, mode, item->uid, item->gid, true);
	if (r == 0)
		r = copy_children(c, item, fd, hpath, gpath, depth);
	return r;
}

/* `cp -r LOCAL DIR` inside the guest: DIR made if missing, LOCAL (a symlink to it
 * followed) becomes DIR/basename(LOCAL). */
static int copy_in(struct cc *c, const struct xp_guest_copy *item)
{
	int fd = open(item->local, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		int r = host_fail(c, errno, item->local, "open");
		if (fd >= 0)
			close(fd);
		return r;
	}
	int r = xp_gfs_mkdirs(c->fs, item->dir);
	char *gpath = r == 0 ? join(c, item->dir, strrchr(item->local, '/') + 1) : NULL;
	if (r == 0 && !gpath)
		r = -ENAMETOOLONG;
	if (r == 0)
		r = copy_entry(c, item, fd, &sb, item->local, gpath, 0);
	free(gpath);
	close(fd);
	return r;
}

/* A file of the given content, its directories made when missing; an existing file
 * keeps its inode, owner and mode (XP_GFS_FILE), a new one is 0:0 0644. */
static int write_file(struct cc *c, const struct xp_guest_write *w)
{
	char *dir = dir_of(w->path);
	if (!dir)
		return -ENOMEM;
	int r = xp_gfs_mkdirs(c->fs, dir);
	if (r == 0)
		r = xp_gfs_write(c->fs, w->path, w->data ? w->data : "", w->len, &XP_GFS_FILE);
	free(dir);
	return r;
}

/* The commands as files of XP_FIRSTBOOT_PENDING (0:0 0700; each 0600, named by its
 * place, 0001 first), the script that runs them and the unit that runs the script. */
static int firstboot(struct cc *c)
{
	const struct xp_guest_settings *s = c->s;
	if (!s->nfirstboot)
		return 0;
	if (!xp__guest_has_systemd(c->fs))
		return xp_guest_fail(
		    c->dg, -ENOTSUP, "firstboot-command", NULL,
		    "firstboot-command: the image has no systemd (/lib/systemd/systemd or "
		    "/usr/lib/systemd/systemd), whose unit runs the first-boot commands; "
		    "for a sysvinit or busybox guest, copy an init script in instead");
	int r = xp_gfs_mkdirs(c->fs, XP_FIRSTBOOT_PENDING);
	if (r == 0)
		r = xp_gfs_mkdir(c->fs, XP_FIRSTBOOT_PENDING, 0700, 0, 0, true);
	for (size_t i = 0; r == 0 && i < s->nfirstboot; i++) {
		char path[sizeof(XP_FIRSTBOOT_PENDING) + 24];
		snprintf(path, sizeof(path), "%s/%04zu", XP_FIRSTBOOT_PENDING, i + 1);
		struct xp_buf b = XP_BUF_INIT;
		r = xp_guest_text_firstboot_command(s->firstboot[i], &b);
		if (r == 0)
			r = xp_gfs_write_buf(c->fs, path, &b,
					     &(struct xp_gfs_wopts){0600, 0, 0, true});
		xp_buf_release(&b);
	}
	char *dir = r == 0 ? dir_of(XP_FIRSTBOOT_SCRIPT) : NULL;
	if (r == 0 && !dir)
		r = -ENOMEM;
	if (r == 0)
		r = xp_gfs_mkdirs(c->fs, dir);
	free(dir);
	struct xp_buf script = XP_BUF_INIT, unit = XP_BUF_INIT;
	if (r == 0)
		r = xp_guest_text_firstboot_script(&script);
	if (r == 0)
		r = xp_gfs_write_buf(c->fs, XP_FIRSTBOOT_SCRIPT, &script,
				     &(struct xp_gfs_wopts){0755, 0, 0, true});
	if (r == 0)
		r = xp_guest_text_firstboot_unit(&unit);
	if (r == 0)
		r = xp__guest_unit_install(c->fs, XP_FIRSTBOOT_UNIT, &unit);
	xp_buf_release(&script);
	xp_buf_release(&unit);
	return r;
}

int xp__guest_custom_apply(struct xp_gfs *fs, const struct xp_guest_diag *dg,
			   const struct xp_guest_settings *s)
{
	struct cc c = {.fs = fs, .dg = dg, .s = s};
	int r = apply_timezone(&c);
	for (size_t i = 0; r == 0 && i < s->ncopy_in; i++)
		r = copy_in(&c, &s->copy_in[i]);
	for (size_t i = 0; r == 0 && i < s->nwrite; i++)
		r = write_file(&c, &s->write[i]);
	if (r == 0)
		r = firstboot(&c);
	return r;
}
