/*
 * xenprov/xl-disk.h - Xen `disk=` specifications: parse one into the fields libxl keeps
 * for a disk, list those fields the way libxl's JSON shows them, and write a disk back
 * as a canonical spec string.
 *
 * The grammar is the one of xl-disk-configuration(5) as implemented by libxlutil's
 * xlu_disk_parse() in Xen 4.19 and later, including its corners: positional parameters
 * (target, format, vdev, access), key=value parameters and flags, the deprecated
 * "prefix:" and "vdev:devtype" forms, what may be given twice, and the defaults applied
 * after parsing (raw, read-write; a cdrom is removable and read-only; an empty cdrom has
 * format "empty").
 *
 * Known, deliberate differences from libxlutil:
 *   - Xen 4.17 and 4.18 ship a stale generated lexer that knows neither `trusted` /
 *     `untrusted` nor `grant_usage=` (the latter is new in 4.19); we follow 4.19+.
 *   - libxlutil's scanner aborts the whole program ("flex scanner jammed", exit 2) on a
 *     stray '=' followed by a newline; we report "bad disk syntax" instead.
 *   - A spec is limited to XP_DISK_SPEC_MAX bytes (libxlutil has no limit).
 *
 * Not here: reading xl config files (xenprov/xl-config.h), printing, JSON encoding.
 */
#ifndef XENPROV_XL_DISK_H
#define XENPROV_XL_DISK_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/util.h"

/* Longest accepted spec string, in bytes (without the terminating NUL). Longer specs
 * are refused with -E2BIG before any parsing. */
#define XP_DISK_SPEC_MAX 4096

/* The enumerations mirror libxl's (libxl_types.idl), values included. */
enum xp_disk_backend {
	XP_DISK_BACKEND_UNKNOWN = 0,
	XP_DISK_BACKEND_PHY = 1,
	XP_DISK_BACKEND_TAP = 2,
	XP_DISK_BACKEND_QDISK = 3,
	XP_DISK_BACKEND_STANDALONE = 4,
};

enum xp_disk_format {
	XP_DISK_FORMAT_UNKNOWN = 0,
	XP_DISK_FORMAT_QCOW = 1,
	XP_DISK_FORMAT_QCOW2 = 2,
	XP_DISK_FORMAT_VHD = 3,
	XP_DISK_FORMAT_RAW = 4,
	XP_DISK_FORMAT_EMPTY = 5,
	XP_DISK_FORMAT_QED = 6,
};

enum xp_disk_specification {
	XP_DISK_SPECIFICATION_UNKNOWN = 0,
	XP_DISK_SPECIFICATION_XEN = 1,
	XP_DISK_SPECIFICATION_VIRTIO = 2,
};

/* libxl_defbool: unset ("default"), true or false. */
enum xp_defbool {
	XP_DEFBOOL_DEFAULT = 0,
	XP_DEFBOOL_TRUE = 1,
	XP_DEFBOOL_FALSE = 2,
};

/* libxl_device_disk, field for field, in libxl's order, minus those a spec can never set
 * (backend_domid, transport, irq, base). Strings are owned; NULL means "not given",
 * which is not the same as "" (libxl shows "" but omits NULL). A zeroed struct is
 * libxl_device_disk_init's state. */
struct xp_disk {
	char *backend_domname; /* backend=NAME */
	char *pdev_path;       /* target */
	char *vdev;
	enum xp_disk_backend backend; /* backendtype= */
	enum xp_disk_format format;
	char *script;
	int removable;
	int readwrite;
	int is_cdrom;
	bool direct_io_safe;
	enum xp_defbool discard_enable;
	enum xp_disk_specification specification;
	enum xp_defbool colo_enable;
	enum xp_defbool colo_restore_enable; /* no spec syntax; always default when parsed */
	char *colo_host;
	int colo_port;
	char *colo_export;
	char *active_disk;
	char *hidden_disk;
	enum xp_defbool trusted;
	enum xp_defbool grant_usage;
};

/* Parses the nspecs strings specs[] as the components of ONE disk, as xlu_disk_parse
 * does with nspecs > 1 (`xl block-attach DOM A B C`): state such as "a deprecated
 * prefix was seen" carries over from one string to the next. nspecs == 0 yields the
 * "no vdev specified" error.
 *
 * On success returns 0 and fills *out (overwritten, not released first: pass a zeroed
 * or released struct); release it with xp_disk_release. Warnings (a stray '=' at the
 * very end of a spec, which libxlutil silently ignores) may be added to diags.
 *
 * On failure *out is left zeroed and the return is
 *   -EBADMSG  the spec is invalid; diags (if not NULL) holds one XP_SEV_ERROR per
 *             problem, in the order libxlutil reports them, each with libxlutil's own
 *             message text ("unknown value for format"), the offending input as text
 *             (may be NULL), a stable code (below) and usually a hint;
 *   -E2BIG    a spec is longer than XP_DISK_SPEC_MAX (code "too-long");
 *   -EINVAL   specs is NULL with nspecs > 0, a specs[i] is NULL, or out is NULL;
 *   -ENOMEM.
 * Positions: diag.line is the 1-based index of the spec in specs[] and diag.col the
 * 1-based byte offset of the offending text within it; both are 0 for problems of the
 * whole disk ("no vdev specified"). diag.file is NULL.
 * Codes: "unknown-value", "respecified", "unknown-parameter", "unknown-prefix",
 * "too-many-positional", "syntax", "no-vdev", "no-target", "too-long", and for the
 * warning, "stray-equals". */
int xp_disk_parse(const char *const *specs, size_t nspecs, struct xp_disk *out,
		  struct xp_diags *diags);

/* Convenience for one spec string. */
int xp_disk_parse_one(const char *spec, struct xp_disk *out, struct xp_diags *diags);

/* Frees the strings and zeroes the struct. Accepts NULL and zeroed structs. */
void xp_disk_release(struct xp_disk *disk);

/* Deep copy into a zeroed or released *dst. -ENOMEM on failure (dst left zeroed). */
int xp_disk_copy(struct xp_disk *dst, const struct xp_disk *src);

/* True if the two disks hold the same values (strings compared by content, NULL only
 * equal to NULL). */
bool xp_disk_equal(const struct xp_disk *a, const struct xp_disk *b);

/* libxl's lowercase names for the enumeration values ("qcow2", "phy", "virtio", ...), as
 * libxl_disk_format_to_string() and friends give them; NULL for an out-of-range value.
 * The _from_name functions return -EINVAL for an unknown name. */
const char *xp_disk_format_name(enum xp_disk_format f);
const char *xp_disk_backend_name(enum xp_disk_backend b);
const char *xp_disk_specification_name(enum xp_disk_specification s);
int xp_disk_format_from_name(const char *name, enum xp_disk_format *out);
int xp_disk_backend_from_name(const char *name, enum xp_disk_backend *out);
int xp_disk_specification_from_name(const char *name, enum xp_disk_specification *out);

/* ---- the JSON view --------------------------------------------------------------- */

enum xp_disk_field_kind {
	XP_DISK_FIELD_STRING,  /* str */
	XP_DISK_FIELD_INTEGER, /* num */
	XP_DISK_FIELD_BOOL,    /* num: 0 or 1, a JSON true/false */
};

/* One (name, value) pair as libxl_device_disk_to_json() emits it: libxl's field name,
 * enums as their lowercase name, defbools as the strings "True"/"False". */
struct xp_disk_field {
	const char *name; /* static */
	enum xp_disk_field_kind kind;
	const char *str; /* borrowed from the disk or static */
	long long num;
};

/* Enough room for every field of struct xp_disk. */
#define XP_DISK_FIELDS_MAX 24

/* Fills out[] with the fields libxl_device_disk_to_json() would print for this disk, in
 * its order, leaving out what it leaves out (NULL strings, zero integers, false bools,
 * UNKNOWN enums, default defbools). Returns the number of fields (<= cap; at most
 * XP_DISK_FIELDS_MAX), or -EINVAL for an enum value out of range. The strings borrow
 * from disk. */
int xp_disk_fields(const struct xp_disk *disk, struct xp_disk_field *out, size_t cap);

/* ---- writing --------------------------------------------------------------------- */

/* Appends to out a canonical key=value spec for the disk, e.g.
 *   "format=qcow2,vdev=xvda,access=rw,target=/var/lib/xen/images/web1.qcow2"
 * that xp_disk_parse (and xl) read back to an equal disk. Order: format, vdev, access or
 * devtype=cdrom, backend, backendtype, specification, script, then flags and colo
 * parameters, and target= last, since it takes the rest of the string.
 * A format of UNKNOWN is written as nothing (read back as raw). Returns 0, -ENOMEM,
 * -E2BIG if the result would exceed XP_DISK_SPEC_MAX, or -EINVAL (out unchanged) for a
 * disk no spec can express: vdev NULL; a value other than the target holding ',', or
 * the target holding a newline; pdev_path NULL on a non-cdrom; removable differing from
 * is_cdrom; a read-write cdrom; an empty cdrom whose format is not "empty";
 * colo_restore_enable set (it has no spec syntax). colo_port 0 is libxl's default and
 * is not written. */
int xp_disk_format(const struct xp_disk *disk, struct xp_buf *out);

#endif
