/*
 * seed.c - cloud-init's NoCloud seed volume (xenprov/template.h): user-data, meta-data
 * and network-config rendered from their templates for one guest, written without
 * mounting anything as an ISO 9660 volume by libarchive (archive_write_set_format_
 * iso9660, with Rock Ridge and Joliet so that the names keep their case and dashes),
 * volume identifier "cidata": what cloud-init's NoCloud data source looks for on the
 * guest's disks (cloud-init docs, "NoCloud": a filesystem labelled cidata).
 *
 * Not here: where the volume goes and how the guest gets it (deploy/devices.c,
 * xlcfg.c: a read-only disk of its own).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenprov/template.h"

void xp_cloud_seed_release(struct xp_cloud_seed *s)
{
	/* user-data and meta-data may hold a password hash */
	struct xp_buf *v[] = {&s->user_data, &s->meta_data, &s->network_config};
	for (size_t i = 0; i < 3; i++) {
		if (v[i]->s)
			explicit_bzero(v[i]->s, v[i]->cap);
		xp_buf_release(v[i]);
	}
}

/* What cloud-init takes as user data (cloud-init docs, "User data formats"). */
static bool user_data_format(const char *s)
{
	static const char *const starts[] = {"#cloud-config", "#!", "#include", "#cloud-boothook",
					     "Content-Type:", "## template: jinja", NULL};
	for (const char *const *p = starts; *p; p++)
		if (strncmp(s, *p, strlen(*p)) == 0)
			return true;
	return false;
}

int xp_cloud_seed_render(struct xp_inv *inv, const struct xp_template_subject *s,
			 const char *user_data, struct xp_cloud_seed *out, struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	json_t *vars;
	int r = xp_template_vars(s, &vars);
	if (r < 0)
		return r;
	const char *ud = user_data ? user_data : XP_TEMPLATE_CLOUD_USER_DATA;
	r = xp_template_render(inv, ud, vars, &out->user_data, d);
	if (r == 0 && !user_data_format(xp_buf_str(&out->user_data)))
		r = xp_diags_refuse(d, -EINVAL, "cloud-init", ud,
				    "name a cloud-config template in the profile's autoinstall, "
				    "or unset it (then cloud-init-user-data is used)",
				    "template '%s' is not cloud-init user data (it must begin with "
				    "#cloud-config, #!, #include or a MIME header)",
				    ud);
	if (r == 0)
		r = xp_template_render(inv, XP_TEMPLATE_CLOUD_META_DATA, vars, &out->meta_data, d);
	if (r == 0)
		r = xp_template_render(inv, XP_TEMPLATE_CLOUD_NETWORK_CONFIG, vars,
				       &out->network_config, d);
	json_decref(vars);
	if (r < 0)
		xp_cloud_seed_release(out);
	return r;
}

static int add_file(struct archive *a, const char *name, const struct xp_buf *b)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0400);
	archive_entry_set_size(e, (la_int64_t)b->len);
	archive_entry_set_mtime(e, 0, 0); /* the same files, the same bytes */
	int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
	if (r == 0 && b->len && archive_write_data(a, b->s, b->len) != (la_ssize_t)b->len)
		r = -EIO;
	archive_entry_free(e);
	return r;
}

int xp_cloud_seed_write(const struct xp_cloud_seed *s, const char *path, uint64_t size,
			struct xp_diags *d)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return xp_diags_fail(d, -EEXIST, path, "cloud-init", "remove it, or pick another name",
				     "the seed volume exists already");
	char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0'; /* "/x": "/" */
	const char *where = slash ? dir : ".";
	int fd = open(where, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int r = fd < 0 ? -errno : 0;
	if (r < 0)
		xp_diags_fail(d, r, path, "cloud-init", NULL, "cannot make a temporary file in %s: %s",
			      where, strerror(-r));
	free(dir);
	if (r < 0)
		return r;
	struct archive *a = archive_write_new();
	if (!a) {
		close(fd);
		return -ENOMEM;
	}
	/* volume-id: the label; no 300 KiB padding at the end (the volume is padded to
	 * its size here); Rock Ridge and Joliet are the writer's defaults */
	if (archive_write_set_format_iso9660(a) != ARCHIVE_OK ||
	    archive_write_set_option(a, "iso9660", "volume-id", "cidata") != ARCHIVE_OK ||
	    archive_write_set_option(a, "iso9660", "pad", NULL) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK)
		r = -EIO;
	if (r == 0)
		r = add_file(a, "meta-data", &s->meta_data);
	if (r == 0)
		r = add_file(a, "network-config", &s->network_config);
	if (r == 0)
		r = add_file(a, "user-data", &s->user_data);
	if (archive_write_close(a) != ARCHIVE_OK && r == 0)
		r = -EIO;
	if (r == -EIO)
		xp_diags_fail(d, r, path, "cloud-init", NULL, "cannot write the ISO 9660 volume: %s",
			      archive_error_string(a) ? archive_error_string(a) : "libarchive failed");
	archive_write_free(a);
	off_t end = r == 0 ? lseek(fd, 0, SEEK_END) : 0;
	if (r == 0 && (end < 0 || (uint64_t)end > size))
		r = xp_diags_fail(d, -EFBIG, path, "cloud-init", NULL,
				  "the cloud-init files do not fit in a %llu KiB volume",
				  (unsigned long long)(size >> 10));
	if (r == 0 && (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0))
		r = xp_diags_fail(d, -errno, path, "cloud-init", NULL, "cannot write %s: %s", path,
				  strerror(errno));
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (r == 0 && linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0)
		r = xp_diags_fail(d, -errno, path, "cloud-init", NULL, "cannot name %s: %s", path,
				  strerror(errno));
	close(fd);
	return r;
}
