/*
 * toolstack.c - Xen's toolstack through its `xl` program: which domains run (`xl list
 * -l`, JSON read with jansson), the verbs that change that (create, shutdown, reboot,
 * destroy), waiting for domains to go, and `xl block-list`'s rows. The one place
 * xenprov runs xl; why xl rather than libxl is in xenprov/toolstack.h.
 *
 * Not here: what xenprov keeps on the host beside (lifecycle.c: autostart, stopping
 * before removal; domain-disks.c: a guest's storage).
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xenprov/toolstack.h"

/* `xl list -l` prints every domain's whole config: generous, but bounded */
#define LIST_MAX (64u << 20)

struct xp_xl {
	char *program; /* NULL: not found */
	json_t *list;  /* the last `xl list -l`, NULL: unknown */
	char why[256]; /* why unknown */
};

int xp_xl_open(const char *program, struct xp_xl **ret)
{
	*ret = NULL;
	struct xp_xl *xl = calloc(1, sizeof(*xl));
	if (!xl)
		return -ENOMEM;
	const char *env = getenv(XP_XL_ENV);
	const char *name = program ? program : env && *env ? env : "xl";
	int r = xp_program_path(name, &xl->program);
	if (r == -ENOMEM) {
		free(xl);
		return r;
	}
	/* a path given is used only if it is a program */
	if (xl->program && strchr(name, '/') && access(xl->program, X_OK) < 0) {
		free(xl->program);
		xl->program = NULL;
	}
	if (!xl->program)
		snprintf(xl->why, sizeof(xl->why), "%s not found", name);
	else
		snprintf(xl->why, sizeof(xl->why), "not asked yet");
	*ret = xl;
	return 0;
}

void xp_xl_free(struct xp_xl *xl)
{
	if (!xl)
		return;
	free(xl->program);
	json_decref(xl->list);
	free(xl);
}

const char *xp_xl_program(const struct xp_xl *xl)
{
	return xl->program;
}

const char *xp_xl_why(const struct xp_xl *xl)
{
	return xl->list ? NULL : xl->why;
}

/* The first line of what xl said, for a message. */
static void first_line(char *out, size_t size, const char *text)
{
	size_t n = strcspn(text, "\n");
	snprintf(out, size, "%.*s", (int)n, text);
}

int xp_xl_refresh(struct xp_xl *xl)
{
	json_decref(xl->list);
	xl->list = NULL;
	if (!xl->program)
		return -ENOENT;
	char *argv[] = {xl->program, "list", "-l", NULL};
	struct xp_buf out = XP_BUF_INIT, err = XP_BUF_INIT;
	int r = xp_spawn_capture(argv, &out, LIST_MAX, &err);
	if (r < 0) {
		snprintf(xl->why, sizeof(xl->why), "cannot run %s: %s", xl->program,
			 strerror(-r));
	} else if (r != 0) {
		/* not in dom0, xenstored down...: xl's own words say which */
		char line[200];
		first_line(line, sizeof(line), xp_buf_str(&err));
		snprintf(xl->why, sizeof(xl->why), "xl list failed%s%s", line[0] ? ": " : "",
			 line);
		r = -EIO;
	} else {
		/* an empty output is an empty list: xl prints nothing when it has no
		 * configuration to show */
		json_error_t je;
		json_t *j = out.len ? json_loadb(xp_buf_str(&out), out.len, 0, &je) : json_array();
		if (!j || !json_is_array(j)) {
			json_decref(j);
			snprintf(xl->why, sizeof(xl->why),
				 "xl list -l did not print JSON (output_format=\"sxp\" in "
				 "xl.conf?)");
			r = -EBADMSG;
		} else {
			xl->list = j;
		}
	}
	xp_buf_release(&out);
	xp_buf_release(&err);
	return r;
}

const char *xp_power_name(enum xp_power p)
{
	return p == XP_POWER_RUNNING ? "running" : p == XP_POWER_STOPPED ? "stopped" : "unknown";
}

/* The list's entry of the domain named name: {"domid": N, "config": {"c_info":
 * {"name": ...}, "disks": [...], ...}}, as xl's printf_info_one_json writes it. */
static json_t *find(const struct xp_xl *xl, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(xl->list, i, e) {
		json_t *cfg = json_object_get(e, "config");
		const char *n = json_string_value(
		    json_object_get(json_object_get(cfg, "c_info"), "name"));
		if (n && strcmp(n, name) == 0)
			return e;
	}
	return NULL;
}

enum xp_power xp_xl_power(const struct xp_xl *xl, const char *name, long *domid)
{
	if (domid)
		*domid = -1;
	if (!xl || !xl->list)
		return XP_POWER_UNKNOWN;
	json_t *e = find(xl, name);
	if (!e)
		return XP_POWER_STOPPED;
	if (domid && json_is_integer(json_object_get(e, "domid")))
		*domid = (long)json_integer_value(json_object_get(e, "domid"));
	return XP_POWER_RUNNING;
}

const char *xp_xl_disk_backend(const struct xp_xl *xl, const char *name, const char *vdev)
{
	json_t *e = xl && xl->list ? find(xl, name) : NULL;
	size_t i;
	json_t *disk;
	json_array_foreach(json_object_get(json_object_get(e, "config"), "disks"), i, disk) {
		const char *v = json_string_value(json_object_get(disk, "vdev"));
		const char *b = json_string_value(json_object_get(disk, "backend"));
		if (v && vdev && strcmp(v, vdev) == 0)
			return b && strcmp(b, "unknown") != 0 ? b : NULL;
	}
	return NULL;
}

int xp_xl_do(struct xp_xl *xl, const char *verb, const char *option, const char *arg,
	     struct xp_diags *d)
{
	if (!xl->program)
		return xp_diags_fail(d, -ENOENT, NULL, "toolstack", NULL,
				     "no Xen toolstack here (%s)", xl->why);
	char *argv[5];
	size_t k = 0;
	argv[k++] = xl->program;
	argv[k++] = (char *)verb;
	if (option)
		argv[k++] = (char *)option;
	argv[k++] = (char *)arg;
	argv[k] = NULL;
	struct xp_buf out = XP_BUF_INIT;
	int r = xp_spawn_wait(argv, NULL, &out);
	if (r < 0)
		r = xp_diags_fail(d, r, NULL, "toolstack", NULL, "cannot run %s: %s", xl->program,
				  strerror(-r));
	else if (r != 0)
		r = xp_diags_fail(d, -EIO, NULL, "xl", NULL, "xl %s%s%s %s failed%s%s", verb,
				  option ? " " : "", option ? option : "", arg,
				  out.len ? ": " : "", xp_buf_str(&out));
	xp_buf_release(&out);
	return r;
}

int xp_xl_wait_gone(struct xp_xl *xl, const char *const *names, size_t n, unsigned seconds,
		    bool *gone)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int r = xp_xl_refresh(xl);
		if (r < 0)
			return r;
		int left = 0;
		for (size_t i = 0; i < n; i++) {
			bool g = xp_xl_power(xl, names[i], NULL) != XP_POWER_RUNNING;
			if (gone)
				gone[i] = g;
			left += !g;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		double spent = (double)(now.tv_sec - start.tv_sec) +
			       (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (left == 0 || (seconds && spent >= seconds))
			return left;
		struct timespec nap = {0, 500 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
}

/* ---- block-list ---------------------------------------------------------------------- */

void xp_xl_vbds_free(struct xp_xl_vbd *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].be_path);
	free(v);
}

const char *xp_xenbus_state_name(long state)
{
	/* enum xenbus_state, xen/include/public/io/xenbus.h */
	static const char *const names[] = {"unknown",	   "initialising", "initwait",
					    "initialised", "connected",	   "closing",
					    "closed",	   "reconfiguring", "reconfigured"};
	return state >= 0 && state < (long)(sizeof(names) / sizeof(names[0])) ? names[state]
									       : "unknown";
}

static bool num(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* One row: "%-5d %-3d %-6d %-5d %-6d %-8d %-30s" (xl_block.c, main_blocklist): devid,
 * backend id, frontend id, state, event channel, ring ref, backend path. */
static int parse_row(char *line, struct xp_xl_vbd *v)
{
	char *f[8], *save = NULL;
	size_t k = 0;
	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (k == 7)
			return -EBADMSG;
		f[k++] = t;
	}
	if (k < 6)
		return -EBADMSG;
	if (!num(f[0], &v->devid) || !num(f[1], &v->backend_id) || !num(f[2], &v->handle) ||
	    !num(f[3], &v->state) || !num(f[4], &v->evtch) || !num(f[5], &v->ring_ref))
		return -EBADMSG;
	v->be_path = strdup(k == 7 ? f[6] : "");
	return v->be_path ? 0 : -ENOMEM;
}

int xp_xl_block_list(struct xp_xl *xl, const char *name, struct xp_xl_vbd **v, size_t *n,
		     struct xp_diags *d)
{
	*v = NULL;
	*n = 0;
	if (!xl->program)
		return xp_diags_fail(d, -ENOENT, NULL, "toolstack", NULL,
				     "no Xen toolstack here (%s)", xl->why);
	char *argv[] = {xl->program, "block-list", (char *)name, NULL};
	struct xp_buf out = XP_BUF_INIT, err = XP_BUF_INIT;
	int r = xp_spawn_capture(argv, &out, 1u << 20, &err);
	if (r < 0) {
		r = xp_diags_fail(d, r, NULL, "toolstack", NULL, "cannot run %s: %s", xl->program,
				  strerror(-r));
		goto out;
	}
	if (r != 0) {
		r = xp_diags_fail(d, -EIO, NULL, "xl", NULL, "xl block-list %s failed%s%s", name,
				  err.len ? ": " : "", xp_buf_str(&err));
		goto out;
	}
	char *text = xp_buf_steal(&out), *save = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line && r == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		if (++lineno == 1 && strncmp(line, "Vdev", 4) == 0)
			continue; /* the header */
		if (line[strspn(line, " \t\r")] == 0)
			continue;
		if ((r = xp_grow(v, &cap, *n, sizeof(**v), 4)) < 0)
			break;
		memset(&(*v)[*n], 0, sizeof(**v));
		r = parse_row(line, &(*v)[*n]);
		if (r == 0)
			(*n)++;
		else if (r == -EBADMSG)
			xp_diags_fail(d, r, NULL, "xl", NULL,
				      "xl block-list %s: line %u is not a block device row", name,
				      lineno);
	}
	free(text);
	/* xl block-list says an unknown domain on standard error and still exits 0 */
	if (r == 0 && *n == 0 && err.len)
		r = xp_diags_fail(d, -EIO, NULL, "xl", NULL, "xl block-list %s failed: %s", name,
				  xp_buf_str(&err));
	if (r < 0) {
		xp_xl_vbds_free(*v, *n);
		*v = NULL;
		*n = 0;
	}
out:
	xp_buf_release(&out);
	xp_buf_release(&err);
	return r;
}

/* ---- vdev numbers ----------------------------------------------------------------------- */

/* PREFIX + disk letters (a..z, aa.., as libxl's device_virtdisk_matches reads them) +
 * an optional partition without leading zero. */
static bool virtdisk(const char *vdev, const char *prefix, long max_disk, long max_part,
		     long *disk, long *part)
{
	size_t pl = strlen(prefix);
	if (strncmp(vdev, prefix, pl) != 0)
		return false;
	const char *p = vdev + pl;
	long i = -1;
	for (; *p >= 'a' && *p <= 'z'; p++) {
		i = (i + 1) * 26 + (*p - 'a');
		if (i > max_disk)
			return false;
	}
	if (i < 0)
		return false;
	*disk = i;
	*part = 0;
	if (!*p)
		return true;
	if (*p == '0')
		return false;
	return num(p, part) && *part >= 0 && *part <= max_part;
}

long xp_vdev_devid(const char *vdev)
{
	/* libxl__device_disk_dev_number (libxl_device.c); docs/misc/vbd-interface.txt */
	long disk, part;
	int used = -1, di, pi;
	if (!vdev || !*vdev)
		return -EINVAL;
	if ((sscanf(vdev, "d%dp%d%n", &di, &pi, &used) >= 2 && used == (int)strlen(vdev) &&
	     di >= 0 && di < (1 << 20) && pi >= 0 && pi < 256 && (disk = di, part = pi, true)) ||
	    virtdisk(vdev, "xvd", (1 << 20) - 1, 255, &disk, &part))
		return disk <= 15 && part <= 15 ? (202L << 8) | (disk << 4) | part
						 : (1L << 28) | (disk << 8) | part;
	if (vdev[0] >= '0' && vdev[0] <= '9') {
		char *end;
		errno = 0;
		unsigned long ul = strtoul(vdev, &end, 0);
		if (!errno && !*end && ul <= INT_MAX)
			return (long)ul;
	}
	if (virtdisk(vdev, "hd", 3, 63, &disk, &part))
		return ((disk < 2 ? 3L : 22L) << 8) | ((disk & 1) << 6) | part;
	if (virtdisk(vdev, "sd", 15, 15, &disk, &part))
		return (8L << 8) | (disk << 4) | part;
	return -EINVAL;
}
