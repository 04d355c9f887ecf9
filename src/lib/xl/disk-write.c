/*
 * disk-write.c - the outward views of a struct xp_disk: the (field, value) list that
 * libxl_device_disk_to_json() prints, and a canonical key=value spec string that reads
 * back to the same disk.
 *
 * Not here: parsing (disk-spec.c), JSON encoding (the command layer owns jansson).
 */
#include <errno.h>
#include <string.h>

#include "xenprov/xl-disk.h"

/* ---- the JSON view ---------------------------------------------------------------- */

struct field_list {
	struct xp_disk_field *v;
	size_t n, cap;
};

static void put(struct field_list *l, const char *name, enum xp_disk_field_kind kind,
		const char *str, long long num)
{
	if (l->n < l->cap)
		l->v[l->n] = (struct xp_disk_field){name, kind, str, num};
	l->n++;
}

/* libxl's generated *_gen_json skips a field equal to its default: a NULL string, a zero
 * number, a false bool, enum value 0, an unset defbool. */
static void put_str(struct field_list *l, const char *name, const char *s)
{
	if (s)
		put(l, name, XP_DISK_FIELD_STRING, s, 0);
}

static void put_int(struct field_list *l, const char *name, long long v)
{
	if (v)
		put(l, name, XP_DISK_FIELD_INTEGER, NULL, v);
}

static void put_defbool(struct field_list *l, const char *name, enum xp_defbool b)
{
	/* libxl_defbool_to_string() spells them this way. */
	if (b == XP_DEFBOOL_TRUE)
		put(l, name, XP_DISK_FIELD_STRING, "True", 0);
	else if (b == XP_DEFBOOL_FALSE)
		put(l, name, XP_DISK_FIELD_STRING, "False", 0);
}

int xp_disk_fields(const struct xp_disk *d, struct xp_disk_field *out, size_t cap)
{
	if (!d || (!out && cap))
		return -EINVAL;
	const char *backend = xp_disk_backend_name(d->backend);
	const char *format = xp_disk_format_name(d->format);
	const char *spec = xp_disk_specification_name(d->specification);
	if (!backend || !format || !spec || (unsigned)d->discard_enable > XP_DEFBOOL_FALSE ||
	    (unsigned)d->colo_enable > XP_DEFBOOL_FALSE ||
	    (unsigned)d->colo_restore_enable > XP_DEFBOOL_FALSE ||
	    (unsigned)d->trusted > XP_DEFBOOL_FALSE || (unsigned)d->grant_usage > XP_DEFBOOL_FALSE)
		return -EINVAL;

	struct field_list l = {out, 0, cap};
	put_str(&l, "backend_domname", d->backend_domname);
	put_str(&l, "pdev_path", d->pdev_path);
	put_str(&l, "vdev", d->vdev);
	if (d->backend != XP_DISK_BACKEND_UNKNOWN)
		put_str(&l, "backend", backend);
	if (d->format != XP_DISK_FORMAT_UNKNOWN)
		put_str(&l, "format", format);
	put_str(&l, "script", d->script);
	put_int(&l, "removable", d->removable);
	put_int(&l, "readwrite", d->readwrite);
	put_int(&l, "is_cdrom", d->is_cdrom);
	if (d->direct_io_safe)
		put(&l, "direct_io_safe", XP_DISK_FIELD_BOOL, NULL, 1);
	put_defbool(&l, "discard_enable", d->discard_enable);
	if (d->specification != XP_DISK_SPECIFICATION_UNKNOWN)
		put_str(&l, "specification", spec);
	put_defbool(&l, "colo_enable", d->colo_enable);
	put_defbool(&l, "colo_restore_enable", d->colo_restore_enable);
	put_str(&l, "colo_host", d->colo_host);
	put_int(&l, "colo_port", d->colo_port);
	put_str(&l, "colo_export", d->colo_export);
	put_str(&l, "active_disk", d->active_disk);
	put_str(&l, "hidden_disk", d->hidden_disk);
	put_defbool(&l, "trusted", d->trusted);
	put_defbool(&l, "grant_usage", d->grant_usage);
	return (int)(l.n < cap ? l.n : cap);
}

/* ---- the canonical spec ----------------------------------------------------------- */

/* A value written as key=VALUE runs to the next ','; it may hold anything else. */
static bool keyval_ok(const char *v)
{
	return !v || !strchr(v, ',');
}

static void add_keyval(struct xp_buf *b, const char *key, const char *v)
{
	if (!v)
		return;
	xp_buf_adds(b, key);
	xp_buf_addc(b, '=');
	xp_buf_adds(b, v);
	xp_buf_addc(b, ',');
}

static void add_defbool(struct xp_buf *b, enum xp_defbool v, const char *yes, const char *no)
{
	if (v == XP_DEFBOOL_DEFAULT)
		return;
	xp_buf_adds(b, v == XP_DEFBOOL_TRUE ? yes : no);
	xp_buf_addc(b, ',');
}

int xp_disk_format(const struct xp_disk *d, struct xp_buf *out)
{
	if (!d || !out)
		return -EINVAL;
	const char *format = xp_disk_format_name(d->format);
	const char *backend = xp_disk_backend_name(d->backend);
	const char *spec = xp_disk_specification_name(d->specification);
	bool empty_target = !d->pdev_path || !*d->pdev_path;

	if (!format || !backend || !spec || !d->vdev)
		return -EINVAL;
	if (!keyval_ok(d->vdev) || !keyval_ok(d->backend_domname) || !keyval_ok(d->script) ||
	    !keyval_ok(d->colo_host) || !keyval_ok(d->colo_export) || !keyval_ok(d->active_disk) ||
	    !keyval_ok(d->hidden_disk))
		return -EINVAL;
	/* target= takes the rest of the line, so a newline would end it early. */
	if (d->pdev_path && strchr(d->pdev_path, '\n'))
		return -EINVAL;
	if (!d->pdev_path && !d->is_cdrom)
		return -EINVAL;
	/* The parser makes every cdrom removable and read-only, and nothing else removable;
	 * an empty cdrom always ends up with format "empty". */
	if ((d->removable != 0) != (d->is_cdrom != 0) || (d->is_cdrom && d->readwrite) ||
	    (d->is_cdrom && empty_target && d->format != XP_DISK_FORMAT_EMPTY))
		return -EINVAL;
	if (d->colo_restore_enable != XP_DEFBOOL_DEFAULT ||
	    (unsigned)d->discard_enable > XP_DEFBOOL_FALSE ||
	    (unsigned)d->colo_enable > XP_DEFBOOL_FALSE ||
	    (unsigned)d->trusted > XP_DEFBOOL_FALSE || (unsigned)d->grant_usage > XP_DEFBOOL_FALSE)
		return -EINVAL;

	struct xp_buf b = XP_BUF_INIT;
	if (d->format != XP_DISK_FORMAT_UNKNOWN)
		add_keyval(&b, "format", format);
	add_keyval(&b, "vdev", d->vdev);
	if (d->is_cdrom)
		xp_buf_adds(&b, "devtype=cdrom,");
	else
		xp_buf_adds(&b, d->readwrite ? "access=rw," : "access=ro,");
	add_keyval(&b, "backend", d->backend_domname);
	if (d->backend != XP_DISK_BACKEND_UNKNOWN)
		add_keyval(&b, "backendtype", backend);
	if (d->specification != XP_DISK_SPECIFICATION_UNKNOWN)
		add_keyval(&b, "specification", spec);
	add_keyval(&b, "script", d->script);
	if (d->direct_io_safe)
		xp_buf_adds(&b, "direct-io-safe,");
	add_defbool(&b, d->discard_enable, "discard", "no-discard");
	add_defbool(&b, d->colo_enable, "colo", "no-colo");
	add_keyval(&b, "colo-host", d->colo_host);
	if (d->colo_port)
		xp_buf_addf(&b, "colo-port=%d,", d->colo_port);
	add_keyval(&b, "colo-export", d->colo_export);
	add_keyval(&b, "active-disk", d->active_disk);
	add_keyval(&b, "hidden-disk", d->hidden_disk);
	add_defbool(&b, d->trusted, "trusted", "untrusted");
	add_defbool(&b, d->grant_usage, "grant_usage=1", "grant_usage=0");
	if (d->pdev_path) {
		xp_buf_adds(&b, "target=");
		xp_buf_adds(&b, d->pdev_path);
		/* The parser drops one trailing ',' of the target; give it one to drop. */
		size_t n = strlen(d->pdev_path);
		if (n > 0 && d->pdev_path[n - 1] == ',')
			xp_buf_addc(&b, ',');
	} else if (b.len > 0) {
		xp_buf_truncate(&b, b.len - 1); /* the last ',' */
	}

	int r = xp_buf_error(&b);
	if (r == 0 && b.len > XP_DISK_SPEC_MAX)
		r = -E2BIG;
	if (r == 0) {
		xp_buf_add(out, b.s, b.len);
		r = xp_buf_error(out);
	}
	xp_buf_release(&b);
	return r;
}
