/*
 * extfs-xattr.c - an archive entry's extended attributes and POSIX ACLs written to the
 * inode the build made for it (ext2fs_xattr_*), for xp_fs_build().
 *
 * libarchive hands over xattrs as name/value pairs and POSIX.1e ACLs as entries; the
 * ACLs are converted to the Linux xattr format (system.posix_acl_access/_default),
 * which libext2fs turns into ext4's on-disk form.
 *
 * Not here: the inodes and their modes (extfs-build.c).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/extfs-build.h"

/* The MASK of the entry's access ACL, or -1. With a mask, the group bits of the mode
 * are the mask (acl(5), "ACL_MASK"), while libarchive sets them from the ACL's
 * group:: entry when it parses the ACL text. */
int xp_entry_acl_mask(struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;
	if (archive_entry_xattr_reset(e) > 0) {
		while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
			if (!name || strcmp(name, "system.posix_acl_access") != 0)
				continue;
			const unsigned char *v = value;
			for (size_t o = 4; o + 8 <= size; o += 8)
				if (v[o] == 0x10 && v[o + 1] == 0)
					return v[o + 2] & 7;
			return -1;
		}
	}
	if (archive_entry_acl_reset(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) <= 0)
		return -1;
	int t, permset, tag, id;
	while (archive_entry_acl_next(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &t, &permset, &tag, &id,
				      &name) == ARCHIVE_OK)
		if (tag == ARCHIVE_ENTRY_ACL_MASK)
			return permset & 7;
	return -1;
}

/* An ACL entry naming a user or group without an id (GNU tar writes names only):
 * numeric names are ids, other names are looked up as tar does when extracting. */
static int resolve_id(const char *name, bool user, uint32_t *id)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(name, &end, 10);
	if (*name && !*end && !errno && v <= 0xffffffffu) {
		*id = (uint32_t)v;
		return 0;
	}
	char buf[16384];
	if (user) {
		struct passwd pw, *res = NULL;
		if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
			return -ENOENT;
		*id = res->pw_uid;
	} else {
		struct group gr, *res = NULL;
		if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || !res)
			return -ENOENT;
		*id = res->gr_gid;
	}
	return 0;
}

struct acl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

static int cmp_acl(const void *a, const void *b)
{
	const struct acl_ent *x = a, *y = b;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The ACL of `type` in the Linux xattr format (<linux/posix_acl_xattr.h>: a le32
 * version 2, then le16 tag, le16 perm, le32 id per entry, sorted by tag and id), which
 * ext2fs_xattr_set() converts to ext4's on-disk format. *len 0: no ACL to store. */
static int build_acl(struct archive_entry *e, int type, unsigned char *out, size_t cap, size_t *len)
{
	*len = 0;
	int n = archive_entry_acl_reset(e, type);
	if (n <= 0)
		return 0;
	struct acl_ent ents[64];
	size_t k = 0;
	bool have[0x40] = {false};
	int t, permset, tag, id;
	const char *name;
	uint16_t group_class = 0;
	while (archive_entry_acl_next(e, type, &t, &permset, &tag, &id, &name) == ARCHIVE_OK) {
		if (k == sizeof(ents) / sizeof(ents[0]))
			return -E2BIG;
		struct acl_ent a = {.perm = (uint16_t)(permset & 7), .id = 0xffffffffu};
		switch (tag) {
		case ARCHIVE_ENTRY_ACL_USER_OBJ:
			a.tag = 0x01;
			break;
		case ARCHIVE_ENTRY_ACL_USER:
			a.tag = 0x02;
			break;
		case ARCHIVE_ENTRY_ACL_GROUP_OBJ:
			a.tag = 0x04;
			break;
		case ARCHIVE_ENTRY_ACL_GROUP:
			a.tag = 0x08;
			break;
		case ARCHIVE_ENTRY_ACL_MASK:
			a.tag = 0x10;
			break;
		case ARCHIVE_ENTRY_ACL_OTHER:
			a.tag = 0x20;
			break;
		default:
			continue;
		}
		if (a.tag == 0x02 || a.tag == 0x08) {
			if (id < 0 && name && resolve_id(name, a.tag == 0x02, &a.id) == 0)
				id = (int)a.id;
			if (id < 0)
				return -EBADMSG;
			a.id = (uint32_t)id;
		}
		if (a.tag != 0x01 && a.tag != 0x20)
			group_class |= a.perm;
		if (a.tag != 0x02 && a.tag != 0x08 && have[a.tag])
			continue;
		have[a.tag] = true;
		ents[k++] = a;
	}
	bool extended = have[0x02] || have[0x08] || have[0x10];
	if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && !extended)
		return 0; /* the mode says it all; the kernel stores no minimal ACL either */
	if (k == 0)
		return 0;
	unsigned mode = archive_entry_perm(e);
	static const uint16_t base[3] = {0x01, 0x04, 0x20};
	for (int i = 0; i < 3; i++) {
		if (have[base[i]])
			continue;
		if (k == sizeof(ents) / sizeof(ents[0]))
			return -E2BIG;
		unsigned shift = i == 0 ? 6 : i == 1 ? 3 : 0;
		ents[k++] = (struct acl_ent){base[i], (uint16_t)((mode >> shift) & 7), 0xffffffffu};
	}
	if ((have[0x02] || have[0x08]) && !have[0x10]) {
		if (k == sizeof(ents) / sizeof(ents[0]))
			return -E2BIG;
		ents[k++] = (struct acl_ent){0x10, group_class, 0xffffffffu};
	}
	qsort(ents, k, sizeof(ents[0]), cmp_acl);
	size_t need = 4 + 8 * k;
	if (need > cap)
		return -E2BIG;
	unsigned char *p = out;
	uint32_t v = ext2fs_cpu_to_le32(2);
	memcpy(p, &v, 4);
	p += 4;
	for (size_t i = 0; i < k; i++) {
		uint16_t tg = ext2fs_cpu_to_le16(ents[i].tag),
			 pm = ext2fs_cpu_to_le16(ents[i].perm);
		uint32_t idv = ext2fs_cpu_to_le32(ents[i].id);
		memcpy(p, &tg, 2);
		memcpy(p + 2, &pm, 2);
		memcpy(p + 4, &idv, 4);
		p += 8;
	}
	*len = need;
	return 0;
}

struct names {
	char **v;
	size_t n;
};

static int collect_name(char *name, char *value, size_t value_len, void *data)
{
	(void)value;
	(void)value_len;
	struct names *ns = data;
	char **nv = realloc(ns->v, (ns->n + 1) * sizeof(*nv));
	if (!nv)
		return XATTR_ABORT;
	ns->v = nv;
	ns->v[ns->n] = strdup(name);
	if (ns->v[ns->n])
		ns->n++;
	return 0;
}

static int xattr_set(struct xp_fsb *c, struct ext2_xattr_handle *h, const char *name,
		     const void *value, size_t size)
{
	errcode_t err = ext2fs_xattr_set(h, name, value, size);
	if (!err)
		return 0;
	if (err == EXT2_ET_EA_NO_SPACE)
		return xp_fsb_fail(c, -E2BIG, "xattr", c->entry_name,
				   "'%s': extended attributes do not fit in one block (at '%s')",
				   c->entry_name, name);
	return xp_fsb_ext2_fail(c, err, "setting an extended attribute");
}

/* Sets the entry's xattrs and POSIX ACLs on ino; with replace, removes the inode's
 * existing ones first. */
int xp_fsb_apply_xattrs(struct xp_fsb *c, ext2_ino_t ino, struct archive_entry *e, bool replace)
{
	int nx = archive_entry_xattr_reset(e);
	int na = archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E);
	if (nx <= 0 && na <= 0 && !replace)
		return 0;
	struct ext2_xattr_handle *h = NULL;
	errcode_t err = ext2fs_xattrs_open(c->fs, ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	if (err) {
		if (h)
			ext2fs_xattrs_close(&h);
		return xp_fsb_ext2_fail(c, err, "reading extended attributes");
	}
	int r = 0;
	if (replace) {
		struct names ns = {NULL, 0};
		ext2fs_xattrs_iterate(h, collect_name, &ns);
		for (size_t i = 0; i < ns.n; i++) {
			if (!r) {
				err = ext2fs_xattr_remove(h, ns.v[i]);
				if (err)
					r = xp_fsb_ext2_fail(c, err,
							     "removing an extended attribute");
			}
			free(ns.v[i]);
		}
		free(ns.v);
	}
	bool raw_acl[2] = {false, false};
	if (nx > 0) {
		archive_entry_xattr_reset(e);
		const char *name;
		const void *value;
		size_t size;
		while (!r && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
			if (!name || !*name)
				continue;
			/* GNU tar --xattrs-include='*' also stores the ACLs as raw xattrs, with
			 * numeric ids: those win over the textual ACL */
			if (strcmp(name, "system.posix_acl_access") == 0)
				raw_acl[0] = true;
			if (strcmp(name, "system.posix_acl_default") == 0)
				raw_acl[1] = true;
			r = xattr_set(c, h, name, value, size);
		}
	}
	static const struct {
		int type;
		const char *name;
	} acls[] = {
	    {ARCHIVE_ENTRY_ACL_TYPE_ACCESS, "system.posix_acl_access"},
	    {ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, "system.posix_acl_default"},
	};
	for (size_t i = 0; !r && na > 0 && i < 2; i++) {
		if (raw_acl[i])
			continue;
		unsigned char buf[4 + 8 * 64];
		size_t len;
		int ar = build_acl(e, acls[i].type, buf, sizeof(buf), &len);
		if (ar < 0)
			r = xp_fsb_fail(c, -EBADMSG, "acl", c->entry_name, "'%s': invalid %s ACL",
					c->entry_name, i ? "default" : "access");
		else if (len)
			r = xattr_set(c, h, acls[i].name, buf, len);
	}
	err = ext2fs_xattrs_close(&h);
	if (!r && err)
		r = xp_fsb_ext2_fail(c, err, "writing extended attributes");
	return r;
}
