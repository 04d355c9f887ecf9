/*
 * guest-edit.c - per-guest settings written into a guest's disk image with libext2fs,
 * without a mount (xenprov/guest.h): the root filesystem is found with the partition
 * reader, opened read-write through extfs-rwio.c (raw, or qcow2 copy-on-write), and a
 * handful of files are replaced, created or removed. Then the site's hooks run.
 *
 * How files are written: a file that exists as a regular file keeps its inode (owner,
 * mode, extended attributes such as security.selinux) and gets new content; anything
 * else at the path (a symlink, a device) is unlinked and a new regular file made, 0:0
 * 0644 unless said otherwise. Symlinks in the directories above are followed inside
 * the image (ext2fs_namei starts at the image's root), never on the host. Removal
 * follows debugfs's kill_file_by_inode (e2fsprogs debugfs/debugfs.c): drop a link; at
 * zero links free the blocks, the extended attribute block and the inode.
 *
 * The formats written follow their manuals: interfaces(5) (ifupdown), systemd.network(5),
 * netplan's YAML reference, Red Hat's ifcfg (initscripts sysconfig.txt), fstab(5),
 * machine-id(5) (a v4-style random ID as systemd makes them), shadow(5), sshd(8)
 * AUTHORIZED_KEYS, hosts(5) laid out as Debian's netcfg does.
 *
 * Not here: the block-level write paths (qcow2-rw.c, extfs-rwio.c), cloning images.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>
#include <uuid/uuid.h>

#include "image/blockdev-internal.h"
#include "image/extfs-internal.h"
#include "image/rwdisk-internal.h"
#include "xenprov/blockdev.h"
#include "xenprov/extfs.h"
#include "xenprov/guest.h"
#include "xenprov/mac.h"
#include "xenprov/partition.h"

extern char **environ;

#define MAX_EDIT_FILE (16u << 20) /* files we read to edit (shadow, interfaces.d) */
#define SWAP_MAGIC    "SWAPSPACE2"

struct ctx {
	const struct xp_guest_settings *s;
	struct xp_guest_report *rep;
	struct xp_diags *d;
	const char *image;
	ext2_filsys fs;
	uint32_t now;
	char mac[XP_MAC_STRLEN + 1]; /* normalised, "" if none */
	unsigned prefix;	     /* effective */
	bool v6;		     /* ip is IPv6 */
	enum xp_fs_type fstype;
	bool have_swap;
};

const char *xp_net_format_name(enum xp_net_format f)
{
	switch (f) {
	case XP_NET_NONE:
		return "none";
	case XP_NET_IFUPDOWN:
		return "ifupdown";
	case XP_NET_NETWORKD:
		return "networkd";
	case XP_NET_NETPLAN:
		return "netplan";
	case XP_NET_IFCFG:
		return "ifcfg";
	}
	return "unknown";
}

static void free_list(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void xp_guest_report_release(struct xp_guest_report *rep)
{
	if (!rep)
		return;
	free_list(rep->written, rep->nwritten);
	free_list(rep->removed, rep->nremoved);
	rep->written = rep->removed = NULL;
	rep->nwritten = rep->nremoved = 0;
}

static int push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int diag(struct ctx *c, int err, const char *code, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int diag(struct ctx *c, int err, const char *code, const char *text, const char *fmt, ...)
{
	if (c->d) {
		char *msg = NULL;
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) < 0)
			msg = NULL;
		va_end(ap);
		xp_diags_add(c->d, XP_SEV_ERROR, c->image, 0, 0, code, text, NULL, "%s",
			     msg ? msg : "out of memory");
		free(msg);
	}
	return err;
}

static void warn(struct ctx *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(struct ctx *c, const char *code, const char *fmt, ...)
{
	if (!c->d)
		return;
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	xp_diags_add(c->d, XP_SEV_WARNING, c->image, 0, 0, code, NULL, NULL, "%s",
		     msg ? msg : "out of memory");
	free(msg);
}

/* libext2fs failures: -ENOSPC for a full filesystem, else -EIO (corrupt metadata is an
 * I/O failure to our callers) unless the io_manager passed an errno through. */
static int ext_fail(struct ctx *c, errcode_t e, const char *path, const char *what)
{
	int r = xp_ext2_errno(e);
	if (r == -EINVAL || r == -E2BIG)
		r = -EIO;
	if (r == -ENOSPC)
		return diag(c, r, "no-space", path, "'%s': %s: the guest filesystem is full", path,
			    what);
	return diag(c, r, "ext2fs", path, "'%s': %s: %s", path, what, xp_ext2_strerror(e));
}

/* ---- settings ------------------------------------------------------------------------ */

static bool valid_label(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool valid_domain(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 253)
		return false;
	const char *p = s;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (!valid_label(p, l))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

static int addr_family(const char *s)
{
	unsigned char buf[16];
	if (!s)
		return 0;
	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return 0;
}

static bool printable_line(const char *s, bool allow_nl)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n' && allow_nl)
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

static int check_settings(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	if (s->hostname && !valid_label(s->hostname, strlen(s->hostname)))
		return diag(c, -EINVAL, "hostname", s->hostname,
			    "invalid hostname '%s': letters, digits and '-', 1 to 63 of them, "
			    "not starting or ending with '-'",
			    s->hostname);
	if (s->domain && (!valid_domain(s->domain) ||
			  (s->hostname && strlen(s->hostname) + 1 + strlen(s->domain) > 253)))
		return diag(c, -EINVAL, "domain", s->domain, "invalid domain '%s'", s->domain);
	c->mac[0] = '\0';
	if (s->mac) {
		struct xp_mac m;
		if (xp_mac_parse(s->mac, &m) < 0)
			return diag(c, -EINVAL, "mac", s->mac,
				    "invalid MAC address '%s' (expected xx:xx:xx:xx:xx:xx)",
				    s->mac);
		xp_mac_format(&m, c->mac);
	}
	if (!s->dhcp && s->ip) {
		int fam = addr_family(s->ip);
		if (!fam)
			return diag(c, -EINVAL, "ip", s->ip, "invalid IP address '%s'", s->ip);
		c->v6 = fam == AF_INET6;
		unsigned max = c->v6 ? 128 : 32;
		c->prefix = s->prefix ? s->prefix : (c->v6 ? 64 : 24);
		if (c->prefix > max)
			return diag(c, -EINVAL, "prefix", NULL, "invalid prefix length %u for '%s'",
				    s->prefix, s->ip);
		if (s->gateway && addr_family(s->gateway) != fam)
			return diag(c, -EINVAL, "gateway", s->gateway,
				    "invalid gateway '%s' for '%s'", s->gateway, s->ip);
	}
	if (s->ndns && !s->dns)
		return diag(c, -EINVAL, "dns", NULL, "ndns is %zu but dns is NULL", s->ndns);
	for (size_t i = 0; i < s->ndns; i++)
		if (!addr_family(s->dns[i]))
			return diag(c, -EINVAL, "dns", s->dns[i], "invalid name server '%s'",
				    s->dns[i] ? s->dns[i] : "(null)");
	if (s->root_password_hash) {
		const char *h = s->root_password_hash;
		/* the hash itself is never quoted in a diagnostic */
		bool ok = h[0] != '\0';
		for (const unsigned char *p = (const unsigned char *)h; ok && *p; p++)
			if (*p <= 0x20 || *p >= 0x7f || *p == ':')
				ok = false;
		if (!ok)
			return diag(c, -EINVAL, "password-hash", NULL,
				    "invalid root password hash: it must be a non-empty crypt(3) "
				    "string without ':' or white space");
	}
	if (s->ssh_key && (!s->ssh_key[0] || !printable_line(s->ssh_key, true)))
		return diag(c, -EINVAL, "ssh-key", NULL,
			    "invalid SSH key: empty or holding control characters");
	if (s->hooks_dir) {
		struct stat st;
		if (stat(s->hooks_dir, &st) < 0)
			return diag(c, -errno, "hooks", s->hooks_dir, "cannot use hooks '%s': %s",
				    s->hooks_dir, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return diag(c, -ENOTDIR, "hooks", s->hooks_dir,
				    "hooks '%s' is not a directory", s->hooks_dir);
	}
	if (s->name && (!s->name[0] || !printable_line(s->name, false)))
		return diag(c, -EINVAL, "name", NULL, "invalid guest name");
	return 0;
}

/* ---- finding the root filesystem -------------------------------------------------------- */

/* The swap UUID if the area at off is a Linux swap area (any page size up to 64 KiB:
 * "SWAPSPACE2" ends the first page; the UUID is at byte 1036, mkswap(8) and
 * util-linux's include/swapheader.h). */
static bool probe_swap(struct xp_blockdev *bd, uint64_t off, char uuid[37])
{
	static const unsigned pages[] = {4096, 8192, 16384, 65536};
	unsigned char buf[16];
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (xp_blockdev_pread(bd, buf, 10, off + pages[i] - 10) < 0)
			return false;
		if (memcmp(buf, SWAP_MAGIC, 10) != 0)
			continue;
		if (xp_blockdev_pread(bd, buf, 16, off + 1036) < 0)
			return false;
		uuid[0] = '\0';
		for (int k = 0; k < 16; k++)
			if (buf[k])
				uuid_unparse_lower(buf, uuid);
		return true;
	}
	return false;
}

static int find_root(struct ctx *c, uint64_t *root_off)
{
	struct xp_blockdev *bd = NULL;
	char err[512];
	int r = xp_blockdev_open_err(c->image, &bd, err, sizeof(err));
	if (r < 0)
		return diag(c, r, "open", c->image, "%s", err[0] ? err : strerror(-r));
	enum xp_label label;
	struct xp_part *parts = NULL;
	size_t n = 0;
	r = xp_partition_read(bd, &label, &parts, &n);
	if (r < 0) {
		xp_blockdev_close(bd);
		return diag(c, r, "partition", c->image, "cannot read the partition table: %s",
			    strerror(-r));
	}
	size_t ncand = label == XP_LABEL_NONE ? 1 : n;
	bool found = false;
	for (size_t i = 0; i < ncand; i++) {
		uint64_t off = label == XP_LABEL_NONE ? 0 : parts[i].offset;
		char uuid[37];
		if (label != XP_LABEL_NONE && probe_swap(bd, off, uuid)) {
			if (!c->have_swap) {
				c->have_swap = true;
				snprintf(c->rep->swap_uuid, sizeof(c->rep->swap_uuid), "%s", uuid);
				if (!uuid[0])
					warn(c, "swap-uuid",
					     "the swap area of partition %u has no UUID: not in "
					     "/etc/fstab",
					     parts[i].number);
			}
			continue;
		}
		if (found)
			continue;
		struct xp_fs *fs = NULL;
		if (xp_fs_open(bd, off, &fs) < 0)
			continue;
		struct xp_fs_entry e;
		if (xp_fs_stat(fs, "/etc", &e) == 0) {
			bool dir = S_ISDIR(e.mode);
			xp_fs_entry_release(&e);
			struct xp_fs_info info;
			if (dir && xp_fs_info(fs, &info) == 0) {
				found = true;
				*root_off = off;
				c->fstype = info.type;
				snprintf(c->rep->fs_uuid, sizeof(c->rep->fs_uuid), "%s", info.uuid);
			}
		}
		xp_fs_close(fs);
	}
	free(parts);
	xp_blockdev_close(bd);
	if (!found)
		return diag(c, -ENOENT, "no-root", c->image,
			    "no ext2/3/4 filesystem with /etc found in '%s'", c->image);
	return 0;
}

/* ---- files in the guest ------------------------------------------------------------------ */

static void set_owner(struct ext2_inode *in, uint32_t uid, uint32_t gid)
{
	in->i_uid = (uint16_t)uid;
	ext2fs_set_i_uid_high(*in, uid >> 16);
	in->i_gid = (uint16_t)gid;
	ext2fs_set_i_gid_high(*in, gid >> 16);
}

/* Splits an absolute path into its directory's inode and the last name. */
static int lookup_parent(struct ctx *c, const char *path, ext2_ino_t *dir, const char **name)
{
	const char *slash = strrchr(path, '/');
	if (!slash || path[0] != '/' || !slash[1])
		return -EINVAL;
	*name = slash + 1;
	if (slash == path) {
		*dir = EXT2_ROOT_INO;
		return 0;
	}
	char *dpath = strndup(path, (size_t)(slash - path));
	if (!dpath)
		return -ENOMEM;
	errcode_t e = ext2fs_namei_follow(c->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dpath, dir);
	free(dpath);
	if (e == EXT2_ET_FILE_NOT_FOUND || e == EXT2_ET_NO_DIRECTORY)
		return -ENOENT;
	if (e)
		return ext_fail(c, e, path, "looking up its directory");
	if (ext2fs_check_directory(c->fs, *dir))
		return -ENOENT;
	return 0;
}

/* *ino of the entry at path (the final symlink not followed), -ENOENT if none. */
static int lookup(struct ctx *c, const char *path, ext2_ino_t *ino, struct ext2_inode *in)
{
	ext2_ino_t dir;
	const char *name;
	int r = lookup_parent(c, path, &dir, &name);
	if (r < 0)
		return r;
	errcode_t e = ext2fs_lookup(c->fs, dir, name, (int)strlen(name), NULL, ino);
	if (e == EXT2_ET_FILE_NOT_FOUND)
		return -ENOENT;
	if (e)
		return ext_fail(c, e, path, "looking it up");
	if (*ino == 0 || *ino > c->fs->super->s_inodes_count)
		return diag(c, -EIO, "ext2fs", path, "'%s': bad inode number %u", path, *ino);
	if (in) {
		e = ext2fs_read_inode(c->fs, *ino, in);
		if (e)
			return ext_fail(c, e, path, "reading its inode");
	}
	return 0;
}

/* A directory at path, following symlinks inside the image. */
static bool is_dir(struct ctx *c, const char *path)
{
	ext2_ino_t ino;
	if (ext2fs_namei_follow(c->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino))
		return false;
	return ext2fs_check_directory(c->fs, ino) == 0;
}

static bool is_regular(struct ctx *c, const char *path)
{
	ext2_ino_t ino;
	struct ext2_inode in;
	return lookup(c, path, &ino, &in) == 0 && LINUX_S_ISREG(in.i_mode);
}

/* Reads a regular file (not through a final symlink): -ENOENT if absent, -EINVAL if
 * not a regular file. */
static int read_file(struct ctx *c, const char *path, char **data, size_t *len)
{
	ext2_ino_t ino;
	struct ext2_inode in;
	*data = NULL;
	*len = 0;
	int r = lookup(c, path, &ino, &in);
	if (r < 0)
		return r;
	if (!LINUX_S_ISREG(in.i_mode))
		return -EINVAL;
	uint64_t size = EXT2_I_SIZE(&in);
	if (size > MAX_EDIT_FILE)
		return diag(c, -EFBIG, "too-big", path, "'%s' is too big to edit", path);
	char *buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	ext2_file_t f = NULL;
	errcode_t e = ext2fs_file_open2(c->fs, ino, &in, 0, &f);
	size_t got = 0;
	while (!e && got < size) {
		unsigned n = 0;
		e = ext2fs_file_read(f, buf + got, (unsigned)(size - got), &n);
		if (!e && n == 0)
			break;
		got += n;
	}
	if (f && !e)
		e = ext2fs_file_close(f);
	else if (f)
		ext2fs_file_close(f);
	if (e) {
		free(buf);
		return ext_fail(c, e, path, "reading it");
	}
	if (got > size)
		got = (size_t)size; /* inline data reads may return the whole area */
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

/* Drops one link of ino; at zero, frees its blocks, its xattr block and the inode. */
static int release_inode(struct ctx *c, ext2_ino_t ino, const char *path)
{
	struct ext2_inode_large large;
	struct ext2_inode *in = (struct ext2_inode *)&large;
	memset(&large, 0, sizeof(large));
	errcode_t e = ext2fs_read_inode_full(c->fs, ino, in, sizeof(large));
	if (e)
		return ext_fail(c, e, path, "reading its inode");
	if (in->i_links_count > 1) {
		in->i_links_count--;
		in->i_ctime = c->now;
		e = ext2fs_write_inode_full(c->fs, ino, in, sizeof(large));
		return e ? ext_fail(c, e, path, "writing its inode") : 0;
	}
	bool dir = LINUX_S_ISDIR(in->i_mode);
	in->i_links_count = 0;
	in->i_dtime = c->now;
	if (ext2fs_inode_has_valid_blocks2(c->fs, in)) {
		e = ext2fs_punch(c->fs, ino, in, NULL, 0, ~0ULL);
		if (e)
			return ext_fail(c, e, path, "freeing its blocks");
	}
	blk64_t ea = ext2fs_file_acl_block(c->fs, in);
	if (ea) {
		__u32 count = 0;
		e = ext2fs_adjust_ea_refcount3(c->fs, ea, NULL, -1, &count, ino);
		if (e)
			return ext_fail(c, e, path, "releasing its extended attributes");
		if (count == 0)
			ext2fs_block_alloc_stats2(c->fs, ea, -1);
		ext2fs_file_acl_block_set(c->fs, in, 0);
	}
	e = ext2fs_write_inode_full(c->fs, ino, in, sizeof(large));
	if (e)
		return ext_fail(c, e, path, "writing its inode");
	ext2fs_inode_alloc_stats2(c->fs, ino, -1, dir);
	return 0;
}

/* Removes the non-directory at path (-ENOENT if none). */
static int remove_path(struct ctx *c, const char *path, bool report)
{
	ext2_ino_t dir, ino;
	const char *name;
	struct ext2_inode in;
	int r = lookup_parent(c, path, &dir, &name);
	if (r < 0)
		return r;
	r = lookup(c, path, &ino, &in);
	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(in.i_mode))
		return diag(c, -EISDIR, "is-dir", path, "'%s' is a directory", path);
	errcode_t e = ext2fs_unlink(c->fs, dir, name, ino, 0);
	if (e)
		return ext_fail(c, e, path, "unlinking it");
	r = release_inode(c, ino, path);
	if (r < 0)
		return r;
	if (report && push(&c->rep->removed, &c->rep->nremoved, path) < 0)
		return -ENOMEM;
	return 0;
}

static errcode_t link_retry(ext2_filsys fs, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			    int type)
{
	errcode_t e = ext2fs_link(fs, dir, name, ino, type);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(fs, dir);
		if (!e)
			e = ext2fs_link(fs, dir, name, ino, type);
	}
	return e;
}

/* A new empty regular file at dir/name. */
static int create_file(struct ctx *c, ext2_ino_t dir, const char *name, const char *path,
		       mode_t mode, uint32_t uid, uint32_t gid, ext2_ino_t *ret)
{
	ext2_ino_t ino;
	errcode_t e = ext2fs_new_inode(c->fs, dir, LINUX_S_IFREG | 0600, NULL, &ino);
	if (e)
		return ext_fail(c, e, path, "allocating an inode");
	e = link_retry(c->fs, dir, name, ino, EXT2_FT_REG_FILE);
	if (e)
		return ext_fail(c, e, path, "adding it to its directory");
	ext2fs_inode_alloc_stats2(c->fs, ino, +1, 0);

	struct ext2_inode in;
	memset(&in, 0, sizeof(in));
	in.i_mode = (uint16_t)(LINUX_S_IFREG | (mode & 07777));
	set_owner(&in, uid, gid);
	in.i_links_count = 1;
	in.i_atime = in.i_ctime = in.i_mtime = c->now;
	if (ext2fs_has_feature_extents(c->fs->super)) {
		/* as create_inode.c's do_write_internal: an empty extent tree in i_block */
		ext2_extent_handle_t h;
		e = ext2fs_extent_open2(c->fs, ino, &in, &h);
		if (e)
			return ext_fail(c, e, path, "initialising its extents");
		ext2fs_extent_free(h);
	}
	e = ext2fs_write_new_inode(c->fs, ino, &in);
	if (e)
		return ext_fail(c, e, path, "writing its inode");
	*ret = ino;
	return 0;
}

struct wopts {
	mode_t mode; /* of a new file */
	uint32_t uid, gid;
	bool force; /* also impose mode and owner on an existing file */
};

static const struct wopts DEFAULT_FILE = {0644, 0, 0, false};

/* Writes data to the file at path (see the top of the file for what is kept). */
static int write_file(struct ctx *c, const char *path, const char *data, size_t len,
		      const struct wopts *o)
{
	ext2_ino_t dir, ino = 0;
	const char *name;
	struct ext2_inode in;
	int r = lookup_parent(c, path, &dir, &name);
	if (r == -ENOENT)
		return diag(c, r, "no-dir", path, "cannot write '%s': its directory is missing",
			    path);
	if (r < 0)
		return r;
	r = lookup(c, path, &ino, &in);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && LINUX_S_ISDIR(in.i_mode))
		return diag(c, -EISDIR, "is-dir", path, "cannot write '%s': it is a directory",
			    path);
	if (r == 0 && !LINUX_S_ISREG(in.i_mode)) {
		/* a symlink (or stranger): replaced by a regular file */
		r = remove_path(c, path, false);
		if (r < 0)
			return r;
		ino = 0;
	}
	if (!ino) {
		r = create_file(c, dir, name, path, o->mode, o->uid, o->gid, &ino);
		if (r < 0)
			return r;
	}

	ext2_file_t f;
	errcode_t e = ext2fs_file_open2(c->fs, ino, NULL, EXT2_FILE_WRITE, &f);
	if (e)
		return ext_fail(c, e, path, "opening it");
	e = ext2fs_file_set_size2(f, 0);
	size_t done = 0;
	while (!e && done < len) {
		unsigned chunk = len - done > (1u << 20) ? (1u << 20) : (unsigned)(len - done);
		unsigned n = 0;
		e = ext2fs_file_write(f, data + done, chunk, &n);
		if (!e && n == 0)
			e = EXT2_ET_SHORT_WRITE;
		done += n;
	}
	errcode_t ce = ext2fs_file_close(f);
	if (!e)
		e = ce;
	if (e)
		return ext_fail(c, e, path, "writing it");

	struct ext2_inode_large large;
	struct ext2_inode *ip = (struct ext2_inode *)&large;
	memset(&large, 0, sizeof(large));
	e = ext2fs_read_inode_full(c->fs, ino, ip, sizeof(large));
	if (e)
		return ext_fail(c, e, path, "reading its inode");
	ip->i_mtime = ip->i_ctime = c->now;
	if (o->force) {
		ip->i_mode = (uint16_t)(LINUX_S_IFREG | (o->mode & 07777));
		set_owner(ip, o->uid, o->gid);
	}
	e = ext2fs_write_inode_full(c->fs, ino, ip, sizeof(large));
	if (e)
		return ext_fail(c, e, path, "writing its inode");
	if (push(&c->rep->written, &c->rep->nwritten, path) < 0)
		return -ENOMEM;
	return 0;
}

static int write_buf(struct ctx *c, const char *path, struct xp_buf *b, const struct wopts *o)
{
	if (xp_buf_error(b))
		return -ENOMEM;
	return write_file(c, path, xp_buf_str(b), b->len, o);
}

/* A directory at path with this mode and owner (created; an existing one is fixed only
 * if fix). */
static int ensure_dir(struct ctx *c, const char *path, mode_t mode, uint32_t uid, uint32_t gid,
		      bool fix)
{
	ext2_ino_t dir, ino;
	const char *name;
	struct ext2_inode in;
	int r = lookup_parent(c, path, &dir, &name);
	if (r < 0)
		return r == -ENOENT ? diag(c, r, "no-dir", path,
					   "cannot create '%s': its parent is missing", path)
				    : r;
	r = lookup(c, path, &ino, &in);
	bool created = false;
	if (r == -ENOENT) {
		created = true;
		errcode_t e = ext2fs_mkdir(c->fs, dir, 0, name);
		if (e == EXT2_ET_DIR_NO_SPACE) {
			e = ext2fs_expand_dir(c->fs, dir);
			if (!e)
				e = ext2fs_mkdir(c->fs, dir, 0, name);
		}
		if (e)
			return ext_fail(c, e, path, "creating it");
		r = lookup(c, path, &ino, &in);
	}
	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(in.i_mode))
		return diag(c, -ENOTDIR, "not-dir", path, "'%s' is not a directory", path);
	if (!fix && !created)
		return 0;
	in.i_mode = (uint16_t)(LINUX_S_IFDIR | (mode & 07777));
	set_owner(&in, uid, gid);
	in.i_ctime = c->now;
	errcode_t e = ext2fs_write_inode(c->fs, ino, &in);
	return e ? ext_fail(c, e, path, "writing its inode") : 0;
}

struct dirent_list {
	char **names;
	size_t n;
	int err;
};

static int list_cb(struct ext2_dir_entry *dirent, int offset, int blocksize, char *buf, void *priv)
{
	(void)offset;
	(void)blocksize;
	(void)buf;
	struct dirent_list *l = priv;
	int len = ext2fs_dirent_name_len(dirent);
	if ((len == 1 && dirent->name[0] == '.') ||
	    (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	char *name = strndup(dirent->name, (size_t)len);
	if (!name || push(&l->names, &l->n, name) < 0) {
		free(name);
		l->err = -ENOMEM;
		return DIRENT_ABORT;
	}
	free(name);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory at path, sorted; none if it is not a directory. */
static int list_dir(struct ctx *c, const char *path, struct dirent_list *l)
{
	ext2_ino_t ino;
	memset(l, 0, sizeof(*l));
	if (ext2fs_namei_follow(c->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino) ||
	    ext2fs_check_directory(c->fs, ino))
		return 0;
	errcode_t e = ext2fs_dir_iterate(c->fs, ino, 0, NULL, list_cb, l);
	if (l->err)
		return l->err;
	if (e)
		return ext_fail(c, e, path, "listing it");
	if (l->n > 1)
		qsort(l->names, l->n, sizeof(*l->names), cmp_str);
	return 0;
}

static void list_release(struct dirent_list *l)
{
	free_list(l->names, l->n);
	memset(l, 0, sizeof(*l));
}

/* ---- the edits --------------------------------------------------------------------------- */

static int edit_hostname(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	if (!s->hostname)
		return 0;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_addf(&b, "%s\n", s->hostname);
	int r = write_buf(c, "/etc/hostname", &b, &DEFAULT_FILE);
	xp_buf_truncate(&b, 0);
	if (r < 0)
		goto out;
	/* hosts(5), as Debian's installer writes it */
	xp_buf_adds(&b, "127.0.0.1\tlocalhost\n");
	if (s->domain)
		xp_buf_addf(&b, "127.0.1.1\t%s.%s\t%s\n", s->hostname, s->domain, s->hostname);
	else
		xp_buf_addf(&b, "127.0.1.1\t%s\n", s->hostname);
	xp_buf_adds(&b, "\n# The following lines are desirable for IPv6 capable hosts\n"
			"::1\tlocalhost ip6-localhost ip6-loopback\n"
			"ff02::1\tip6-allnodes\n"
			"ff02::2\tip6-allrouters\n");
	r = write_buf(c, "/etc/hosts", &b, &DEFAULT_FILE);
out:
	xp_buf_release(&b);
	return r;
}

static enum xp_net_format detect_net(struct ctx *c)
{
	if (is_dir(c, "/etc/netplan"))
		return XP_NET_NETPLAN;
	if (is_dir(c, "/etc/sysconfig/network-scripts"))
		return XP_NET_IFCFG;
	if (is_regular(c, "/etc/network/interfaces"))
		return XP_NET_IFUPDOWN;
	if (is_dir(c, "/etc/systemd/network"))
		return XP_NET_NETWORKD;
	return XP_NET_NONE;
}

/* Whether an interfaces(5) text configures eth0 (an iface, auto or allow- stanza). */
static bool ifupdown_mentions_eth0(const char *text)
{
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];
		if (ll >= sizeof(line))
			ll = sizeof(line) - 1;
		memcpy(line, p, ll);
		line[ll] = '\0';
		char *save = NULL;
		char *w = strtok_r(line, " \t\r", &save);
		if (w && (strcmp(w, "iface") == 0 || strcmp(w, "auto") == 0 ||
			  strncmp(w, "allow-", 6) == 0 || strcmp(w, "mapping") == 0)) {
			bool iface = strcmp(w, "iface") == 0 || strcmp(w, "mapping") == 0;
			while ((w = strtok_r(NULL, " \t\r", &save))) {
				if (strcmp(w, "eth0") == 0)
					return true;
				if (iface)
					break; /* only the first word names the interface */
			}
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return false;
}

/* Removes the files of dir (not keep) whose text satisfies pred. */
static int remove_matching(struct ctx *c, const char *dir, const char *glob, const char *keep,
			   bool (*pred)(const char *text))
{
	struct dirent_list l;
	int r = list_dir(c, dir, &l);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		if ((glob && fnmatch(glob, l.names[i], 0) != 0) ||
		    (keep && strcmp(l.names[i], keep) == 0))
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s/%s", dir, l.names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		char *text;
		size_t len;
		int rr = read_file(c, path, &text, &len);
		if (rr == 0) {
			if (pred(text))
				r = remove_path(c, path, true);
			free(text);
		} else if (rr != -EINVAL && rr != -ENOENT) {
			r = rr;
		}
		free(path);
	}
	list_release(&l);
	return r;
}

static bool netplan_has_ethernets(const char *text)
{
	return strstr(text, "ethernets:") != NULL;
}

static void add_dns_list(struct xp_buf *b, const struct xp_guest_settings *s, const char *sep)
{
	for (size_t i = 0; i < s->ndns; i++)
		xp_buf_addf(b, "%s%s", i ? sep : "", s->dns[i]);
}

static int net_ifupdown(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	struct xp_buf b = XP_BUF_INIT;
	bool dotd = is_dir(c, "/etc/network/interfaces.d");
	xp_buf_adds(&b, "# interfaces(5) file used by ifup(8) and ifdown(8), written by xenprov\n");
	if (dotd)
		xp_buf_adds(&b, "source /etc/network/interfaces.d/*\n");
	xp_buf_adds(&b, "\nauto lo\niface lo inet loopback\n\nauto eth0\n");
	if (s->dhcp) {
		xp_buf_adds(&b, "iface eth0 inet dhcp\n");
	} else {
		xp_buf_addf(&b, "iface eth0 %s static\n\taddress %s/%u\n", c->v6 ? "inet6" : "inet",
			    s->ip, c->prefix);
		if (s->gateway)
			xp_buf_addf(&b, "\tgateway %s\n", s->gateway);
		if (s->ndns) {
			xp_buf_adds(&b, "\tdns-nameservers ");
			add_dns_list(&b, s, " ");
			xp_buf_addc(&b, '\n');
		}
		if (s->domain)
			xp_buf_addf(&b, "\tdns-search %s\n", s->domain);
	}
	int r = write_buf(c, "/etc/network/interfaces", &b, &DEFAULT_FILE);
	xp_buf_release(&b);
	if (r == 0 && dotd)
		r = remove_matching(c, "/etc/network/interfaces.d", NULL, NULL,
				    ifupdown_mentions_eth0);
	if (r == 0 && !s->dhcp && s->ndns) {
		/* without resolvconf, dns-nameservers does nothing: the static resolver
		 * configuration too, unless something manages it (a symlink) */
		ext2_ino_t ino;
		struct ext2_inode in;
		int lr = lookup(c, "/etc/resolv.conf", &ino, &in);
		if (lr == -ENOENT || (lr == 0 && LINUX_S_ISREG(in.i_mode))) {
			struct xp_buf rb = XP_BUF_INIT;
			if (s->domain)
				xp_buf_addf(&rb, "search %s\n", s->domain);
			for (size_t i = 0; i < s->ndns; i++)
				xp_buf_addf(&rb, "nameserver %s\n", s->dns[i]);
			r = write_buf(c, "/etc/resolv.conf", &rb, &DEFAULT_FILE);
			xp_buf_release(&rb);
		} else if (lr < 0) {
			r = lr;
		}
	}
	return r;
}

static int net_networkd(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, "# systemd.network(5), written by xenprov\n[Match]\n");
	if (c->mac[0])
		xp_buf_addf(&b, "MACAddress=%s\n", c->mac);
	else
		xp_buf_adds(&b, "Name=eth0\n");
	xp_buf_adds(&b, "\n[Network]\n");
	if (s->dhcp) {
		xp_buf_adds(&b, "DHCP=yes\n");
	} else {
		xp_buf_addf(&b, "Address=%s/%u\n", s->ip, c->prefix);
		if (s->gateway)
			xp_buf_addf(&b, "Gateway=%s\n", s->gateway);
		for (size_t i = 0; i < s->ndns; i++)
			xp_buf_addf(&b, "DNS=%s\n", s->dns[i]);
	}
	if (s->domain)
		xp_buf_addf(&b, "Domains=%s\n", s->domain);
	int r = write_buf(c, "/etc/systemd/network/10-xenprov.network", &b, &DEFAULT_FILE);
	xp_buf_release(&b);
	return r;
}

static int net_netplan(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, "# netplan configuration, written by xenprov\nnetwork:\n  version: 2\n"
			"  ethernets:\n    eth0:\n");
	if (c->mac[0])
		xp_buf_addf(&b, "      match:\n        macaddress: \"%s\"\n      set-name: eth0\n",
			    c->mac);
	if (s->dhcp) {
		xp_buf_adds(&b, "      dhcp4: true\n");
	} else {
		xp_buf_addf(&b, "      dhcp4: false\n      addresses:\n        - \"%s/%u\"\n",
			    s->ip, c->prefix);
		if (s->gateway)
			xp_buf_addf(&b,
				    "      routes:\n        - to: default\n          via: \"%s\"\n",
				    s->gateway);
		if (s->ndns || s->domain) {
			xp_buf_adds(&b, "      nameservers:\n");
			if (s->ndns) {
				xp_buf_adds(&b, "        addresses: [");
				add_dns_list(&b, s, ", ");
				xp_buf_adds(&b, "]\n");
			}
			if (s->domain)
				xp_buf_addf(&b, "        search: [%s]\n", s->domain);
		}
	}
	/* netplan warns about (and may ignore) world-readable files */
	static const struct wopts np = {0600, 0, 0, false};
	int r = write_buf(c, "/etc/netplan/50-xenprov.yaml", &b, &np);
	xp_buf_release(&b);
	if (r == 0)
		r = remove_matching(c, "/etc/netplan", "*.yaml", "50-xenprov.yaml",
				    netplan_has_ethernets);
	return r;
}

static int net_ifcfg(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b,
		    "# written by xenprov\nDEVICE=eth0\nNAME=eth0\nTYPE=Ethernet\nONBOOT=yes\n");
	if (c->mac[0])
		xp_buf_addf(&b, "HWADDR=%s\n", c->mac);
	if (s->dhcp) {
		xp_buf_adds(&b, "BOOTPROTO=dhcp\n");
	} else if (c->v6) {
		xp_buf_addf(&b, "BOOTPROTO=none\nIPV6INIT=yes\nIPV6_AUTOCONF=no\nIPV6ADDR=%s/%u\n",
			    s->ip, c->prefix);
		if (s->gateway)
			xp_buf_addf(&b, "IPV6_DEFAULTGW=%s\n", s->gateway);
	} else {
		xp_buf_addf(&b, "BOOTPROTO=none\nIPADDR=%s\nPREFIX=%u\n", s->ip, c->prefix);
		if (s->gateway)
			xp_buf_addf(&b, "GATEWAY=%s\n", s->gateway);
	}
	if (!s->dhcp)
		for (size_t i = 0; i < s->ndns; i++)
			xp_buf_addf(&b, "DNS%zu=%s\n", i + 1, s->dns[i]);
	if (s->domain)
		xp_buf_addf(&b, "DOMAIN=%s\n", s->domain);
	int r = write_buf(c, "/etc/sysconfig/network-scripts/ifcfg-eth0", &b, &DEFAULT_FILE);
	xp_buf_release(&b);
	return r;
}

static int edit_network(struct ctx *c)
{
	enum xp_net_format f = detect_net(c);
	c->rep->net_format = f;
	if (!c->s->dhcp && !c->s->ip)
		return 0;
	switch (f) {
	case XP_NET_IFUPDOWN:
		return net_ifupdown(c);
	case XP_NET_NETWORKD:
		return net_networkd(c);
	case XP_NET_NETPLAN:
		return net_netplan(c);
	case XP_NET_IFCFG:
		return net_ifcfg(c);
	case XP_NET_NONE:
		break;
	}
	warn(c, "no-network-format",
	     "no known network configuration in the image (ifupdown, systemd-networkd, "
	     "netplan, ifcfg): network settings not written");
	return 0;
}

static int edit_fstab(struct ctx *c)
{
	static const char *const types[] = {"ext2", "ext3", "ext4"};
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, "# /etc/fstab: static file system information, written by xenprov.\n"
			"# <file system> <mount point> <type> <options> <dump> <pass>\n");
	xp_buf_addf(&b, "UUID=%s\t/\t%s\terrors=remount-ro\t0\t1\n", c->rep->fs_uuid,
		    types[c->fstype]);
	if (c->rep->swap_uuid[0])
		xp_buf_addf(&b, "UUID=%s\tnone\tswap\tsw\t0\t0\n", c->rep->swap_uuid);
	int r = write_buf(c, "/etc/fstab", &b, &DEFAULT_FILE);
	xp_buf_release(&b);
	return r;
}

static int edit_machine_id(struct ctx *c)
{
	unsigned char id[16];
	int r = xp_getrandom(NULL, id, sizeof(id));
	if (r < 0)
		return diag(c, r, "random", NULL, "getrandom: %s", strerror(-r));
	/* systemd's sd_id128_randomize: a version 4, variant 1 UUID's bits */
	id[6] = (unsigned char)((id[6] & 0x0f) | 0x40);
	id[8] = (unsigned char)((id[8] & 0x3f) | 0x80);
	char text[34];
	for (int i = 0; i < 16; i++)
		snprintf(text + i * 2, 3, "%02x", id[i]);
	text[32] = '\n';
	text[33] = '\0';
	if (!is_dir(c, "/etc"))
		return 0;
	r = write_file(c, "/etc/machine-id", text, 33, &(struct wopts){0444, 0, 0, false});
	if (r == 0 && is_regular(c, "/var/lib/dbus/machine-id"))
		r = write_file(c, "/var/lib/dbus/machine-id", text, 33, &DEFAULT_FILE);
	return r;
}

static int edit_shadow(struct ctx *c)
{
	const char *hash = c->s->root_password_hash;
	if (!hash)
		return 0;
	char *text;
	size_t len;
	int r = read_file(c, "/etc/shadow", &text, &len);
	if (r == -ENOENT || r == -EINVAL)
		return diag(c, -ENOENT, "no-shadow", "/etc/shadow",
			    "cannot set the root password: no regular /etc/shadow in the image");
	if (r < 0)
		return r;
	/* the line of root: "root:" at the start of a line */
	const char *line = NULL;
	for (const char *p = text; p && p < text + len;) {
		if (strncmp(p, "root:", 5) == 0) {
			line = p;
			break;
		}
		p = memchr(p, '\n', (size_t)(text + len - p));
		if (p)
			p++;
	}
	if (!line) {
		free(text);
		return diag(c, -ENOENT, "no-root-user", "/etc/shadow",
			    "cannot set the root password: /etc/shadow has no line for root");
	}
	const char *f2 = line + 5;
	const char *eol = memchr(f2, '\n', (size_t)(text + len - f2));
	if (!eol)
		eol = text + len;
	const char *end2 = memchr(f2, ':', (size_t)(eol - f2));
	if (!end2)
		end2 = eol;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_add(&b, text, (size_t)(f2 - text));
	xp_buf_adds(&b, hash);
	xp_buf_add(&b, end2, (size_t)(text + len - end2));
	r = write_buf(c, "/etc/shadow", &b, &(struct wopts){0640, 0, 0, false});
	/* the hash was in the buffer: clear it before freeing */
	if (b.s)
		explicit_bzero(b.s, b.cap);
	xp_buf_release(&b);
	free(text);
	return r;
}

static int edit_ssh_key(struct ctx *c)
{
	const char *key = c->s->ssh_key;
	if (!key)
		return 0;
	int r = ensure_dir(c, "/root", 0700, 0, 0, false);
	if (r == 0)
		r = ensure_dir(c, "/root/.ssh", 0700, 0, 0, true);
	if (r < 0)
		return r;
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, key);
	if (b.len && b.s[b.len - 1] != '\n')
		xp_buf_addc(&b, '\n');
	r = write_buf(c, "/root/.ssh/authorized_keys", &b, &(struct wopts){0600, 0, 0, true});
	xp_buf_release(&b);
	return r;
}

static int remove_host_keys(struct ctx *c)
{
	struct dirent_list l;
	int r = list_dir(c, "/etc/ssh", &l);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		const char *n = l.names[i];
		if (fnmatch("ssh_host_*_key", n, 0) != 0 &&
		    fnmatch("ssh_host_*_key.pub", n, 0) != 0)
			continue;
		char *path = NULL;
		if (asprintf(&path, "/etc/ssh/%s", n) < 0) {
			r = -ENOMEM;
			break;
		}
		ext2_ino_t ino;
		struct ext2_inode in;
		r = lookup(c, path, &ino, &in);
		if (r == 0 && !LINUX_S_ISDIR(in.i_mode))
			r = remove_path(c, path, true);
		free(path);
	}
	list_release(&l);
	return r;
}

/* The first-boot unit that makes the host keys remove_host_keys took away: Debian's
 * openssh-server makes them only in its postinst, not at boot (Red Hat's sshd-keygen
 * and cloud images do it themselves; the unit is then a no-op by its condition). */
#define HOSTKEY_UNIT "xenprov-ssh-hostkeys.service"
#define HOSTKEY_UNIT_PATH "/etc/systemd/system/" HOSTKEY_UNIT
#define HOSTKEY_WANTS "/etc/systemd/system/multi-user.target.wants"
static const char hostkey_unit[] =
	"# Written by xenprov: the golden image's SSH host keys were removed so that every\n"
	"# guest has its own; this makes them at first boot (systemd.unit(5)).\n"
	"[Unit]\n"
	"Description=Generate the SSH host keys (xenprov, first boot)\n"
	"ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n"
	"Before=ssh.service sshd.service\n"
	"\n"
	"[Service]\n"
	"Type=oneshot\n"
	"ExecStart=/usr/bin/ssh-keygen -A\n"
	"RemainAfterExit=yes\n"
	"\n"
	"[Install]\n"
	"WantedBy=multi-user.target\n";

/* Something at path, following symlinks inside the image. */
static bool exists_follow(struct ctx *c, const char *path)
{
	ext2_ino_t ino;
	return ext2fs_namei_follow(c->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino) == 0;
}

/* A symlink at path to target, replacing whatever non-directory is there. */
static int write_symlink(struct ctx *c, const char *path, const char *target)
{
	ext2_ino_t dir, ino;
	const char *name;
	struct ext2_inode in;
	int r = lookup_parent(c, path, &dir, &name);
	if (r < 0)
		return r;
	r = lookup(c, path, &ino, &in);
	if (r == 0 && LINUX_S_ISDIR(in.i_mode))
		return diag(c, -EISDIR, "is-dir", path, "cannot write '%s': it is a directory",
			    path);
	if (r == 0)
		r = remove_path(c, path, false);
	if (r < 0 && r != -ENOENT)
		return r;
	errcode_t e = ext2fs_symlink(c->fs, dir, 0, name, target);
	if (e == EXT2_ET_DIR_NO_SPACE) {
		e = ext2fs_expand_dir(c->fs, dir);
		if (!e)
			e = ext2fs_symlink(c->fs, dir, 0, name, target);
	}
	if (e)
		return ext_fail(c, e, path, "creating the symlink");
	return push(&c->rep->written, &c->rep->nwritten, path) < 0 ? -ENOMEM : 0;
}

/* With systemd and sshd in the image: the unit and its multi-user.target.wants link
 * (what `systemctl enable` makes). A sysvinit image gets nothing. */
static int add_hostkey_unit(struct ctx *c)
{
	bool systemd = exists_follow(c, "/lib/systemd/systemd") ||
		       exists_follow(c, "/usr/lib/systemd/systemd");
	bool sshd = exists_follow(c, "/usr/sbin/sshd") || exists_follow(c, "/sbin/sshd");
	if (!systemd || !sshd)
		return 0;
	int r = ensure_dir(c, "/etc/systemd", 0755, 0, 0, false);
	if (r == 0)
		r = ensure_dir(c, "/etc/systemd/system", 0755, 0, 0, false);
	if (r == 0)
		r = ensure_dir(c, HOSTKEY_WANTS, 0755, 0, 0, false);
	if (r == 0)
		r = write_file(c, HOSTKEY_UNIT_PATH, hostkey_unit, sizeof(hostkey_unit) - 1,
			       &(struct wopts){0644, 0, 0, true});
	if (r == 0)
		r = write_symlink(c, HOSTKEY_WANTS "/" HOSTKEY_UNIT, HOSTKEY_UNIT_PATH);
	return r;
}

/* ---- the session ------------------------------------------------------------------------- */

static int edit(struct ctx *c, uint64_t off)
{
	struct xp_rwdisk *disk = NULL;
	char err[512];
	int r = xp_rwdisk_open(c->image, &disk, err, sizeof(err));
	if (r < 0)
		return diag(c, r, "open", c->image, "%s", err[0] ? err : strerror(-r));
	char name[64];
	r = xp_extfs_rwio_name(disk, off, name, sizeof(name));
	if (r < 0) {
		xp_rwdisk_close(disk);
		return r;
	}
	errcode_t e = ext2fs_open2(name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
				   xp_extfs_rwio_manager(), &c->fs);
	if (e) {
		c->fs = NULL;
		r = ext_fail(c, e, c->image, "opening the root filesystem");
		xp_rwdisk_close(disk);
		return r;
	}
	ext2_filsys fs = c->fs;
	if (ext2fs_has_feature_journal_needs_recovery(fs->super)) {
		r = diag(c, -ENOTSUP, "needs-recovery", c->image,
			 "the root filesystem has a journal to recover (it was not cleanly "
			 "unmounted): run e2fsck on it first");
	} else if (fs->super->s_state & EXT2_ERROR_FS) {
		r = diag(c, -EIO, "fs-errors", c->image,
			 "the root filesystem is marked as having errors: run e2fsck on it first");
	} else if ((e = ext2fs_read_bitmaps(fs)) != 0) {
		r = ext_fail(c, e, c->image, "reading the allocation bitmaps");
	}
	/* the edits, in order; the first failure stops the rest */
	static int (*const edits[])(struct ctx *) = {
		edit_hostname, edit_network,	 edit_fstab,	   edit_machine_id,
		edit_shadow,   edit_ssh_key,	 remove_host_keys, add_hostkey_unit,
	};
	for (size_t i = 0; r == 0 && i < sizeof(edits) / sizeof(edits[0]); i++)
		r = edits[i](c);

	/* always closed: after a failure the filesystem's bitmaps and counts still match
	 * what was allocated */
	e = ext2fs_close_free(&c->fs);
	if (e && r == 0)
		r = ext_fail(c, e, c->image, "writing the filesystem metadata");
	int cr = xp_rwdisk_close(disk);
	if (cr < 0 && r == 0)
		r = diag(c, cr, "write", c->image, "cannot write '%s': %s", c->image,
			 strerror(-cr));
	return r;
}

static int run_hooks(struct ctx *c)
{
	const struct xp_guest_settings *s = c->s;
	if (!s->hooks_dir)
		return 0;
	DIR *dir = opendir(s->hooks_dir);
	if (!dir)
		return diag(c, -errno, "hooks", s->hooks_dir, "cannot read hooks '%s': %s",
			    s->hooks_dir, strerror(errno));
	char **names = NULL;
	size_t n = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (push(&names, &n, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	closedir(dir);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);

	/* the environment: ours replaces any inherited XP_GUEST_* */
	struct xp_buf dns = XP_BUF_INIT;
	add_dns_list(&dns, s, " ");
	char fqdn[300] = "", prefix[16] = "", off[32];
	if (s->hostname)
		snprintf(fqdn, sizeof(fqdn), "%s%s%s", s->hostname, s->domain ? "." : "",
			 s->domain ? s->domain : "");
	if (!s->dhcp && s->ip)
		snprintf(prefix, sizeof(prefix), "%u", c->prefix);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)c->rep->fs_offset);
	const char *vars[][2] = {
	    {"XP_GUEST_IMAGE", c->image},
	    {"XP_GUEST_NAME", s->name	    ? s->name
			      : s->hostname ? s->hostname
					    : ""},
	    {"XP_GUEST_HOSTNAME", s->hostname ? s->hostname : ""},
	    {"XP_GUEST_DOMAIN", s->domain ? s->domain : ""},
	    {"XP_GUEST_FQDN", fqdn},
	    {"XP_GUEST_IP", !s->dhcp && s->ip ? s->ip : ""},
	    {"XP_GUEST_PREFIX", prefix},
	    {"XP_GUEST_GATEWAY", !s->dhcp && s->gateway ? s->gateway : ""},
	    {"XP_GUEST_DNS", xp_buf_str(&dns)},
	    {"XP_GUEST_DHCP", s->dhcp ? "1" : "0"},
	    {"XP_GUEST_MAC", c->mac},
	    {"XP_GUEST_NET_FORMAT", xp_net_format_name(c->rep->net_format)},
	    {"XP_GUEST_ROOT_UUID", c->rep->fs_uuid},
	    {"XP_GUEST_SWAP_UUID", c->rep->swap_uuid},
	    {"XP_GUEST_FS_OFFSET", off},
	};
	size_t nvars = sizeof(vars) / sizeof(vars[0]);
	size_t nenv = 0;
	while (environ && environ[nenv])
		nenv++;
	char **envp = calloc(nenv + nvars + 1, sizeof(char *));
	char **owned = calloc(nvars, sizeof(char *));
	if (!envp || !owned)
		r = -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; r == 0 && i < nenv; i++)
		if (strncmp(environ[i], "XP_GUEST_", 9) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0; r == 0 && i < nvars; i++) {
		if (asprintf(&owned[i], "%s=%s", vars[i][0], vars[i][1]) < 0) {
			owned[i] = NULL;
			r = -ENOMEM;
			break;
		}
		envp[k++] = owned[i];
	}

	for (size_t i = 0; r == 0 && i < n; i++) {
		char *path = NULL;
		if (asprintf(&path, "%s/%s", s->hooks_dir, names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
			free(path);
			continue;
		}
		char *argv[] = {path, (char *)c->image, NULL};
		/* what a hook prints is kept for the message if it fails (deploys run many
		 * guests at once: their hooks' output must not interleave on a terminal) */
		struct xp_buf out = XP_BUF_INIT;
		int hrc = xp_spawn_wait(argv, envp, &out);
		const char *o = xp_buf_str(&out);
		if (hrc < 0)
			r = diag(c, -EIO, "hook", path, "cannot run hook '%s': %s", path,
				 strerror(-hrc));
		else
			c->rep->hooks_run++;
		if (hrc >= XP_SPAWN_SIGNALED)
			r = diag(c, -EIO, "hook", path, "hook '%s' was killed by signal %d%s%s", path,
				 hrc - XP_SPAWN_SIGNALED, *o ? ": " : "", o);
		else if (hrc > 0)
			r = diag(c, -EIO, "hook", path, "hook '%s' failed (exit status %d)%s%s",
				 path, hrc, *o ? ": " : "", o);
		xp_buf_release(&out);
		free(path);
		if (hrc < 0)
			break;
	}
	for (size_t i = 0; owned && i < nvars; i++)
		free(owned[i]);
	free(owned);
	free(envp);
	xp_buf_release(&dns);
	free_list(names, n);
	return r;
}

int xp_guest_apply(const char *image_path, const struct xp_guest_settings *s,
		   struct xp_guest_report *rep, struct xp_diags *d)
{
	struct xp_guest_report local;
	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	struct ctx c = {.s = s, .rep = rep, .d = d, .image = image_path};
	if (!image_path || !s) {
		if (d)
			xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "usage", NULL, NULL,
				     "no image or no settings");
		return -EINVAL;
	}
	time_t now = time(NULL);
	c.now = (uint32_t)now;
	int r = check_settings(&c);
	uint64_t off = 0;
	if (r == 0)
		r = find_root(&c, &off);
	if (r == 0) {
		rep->fs_offset = off;
		r = edit(&c, off);
	}
	if (r == 0)
		r = run_hooks(&c);
	if (rep == &local)
		xp_guest_report_release(&local);
	return r;
}
