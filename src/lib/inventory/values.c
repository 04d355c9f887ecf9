/*
 * values.c - value checks and SQL helpers shared by distros, systems and the server's
 * settings (see values-internal.h). Pure checks but for the two SQL readers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory/values-internal.h"
#include "util/ctype.h"

int xp__bad_value(struct xp_diags *d, const char *key, const char *value, const char *hint,
		  const char *fmt, ...)
{
	if (d) {
		/* "KEY: MESSAGE" */
		struct xp_buf msg = XP_BUF_INIT;
		xp_buf_addf(&msg, "%s: ", key);
		va_list ap;
		va_start(ap, fmt);
		xp_buf_vaddf(&msg, fmt, ap);
		va_end(ap);
		xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, key, value, hint, "%s", xp_buf_str(&msg));
		xp_buf_release(&msg);
	}
	return -EINVAL;
}

bool xp__ipv4_parse(const char *s, uint32_t *host)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*host = ntohl(a.s_addr);
	return true;
}

bool xp__cidr_parse(const char *s, uint32_t *net, unsigned *bits)
{
	char ip[16];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	char *end;
	long n = strtol(slash + 1, &end, 10);
	uint32_t host;
	if (*end || end == slash + 1 || !(slash[1] >= '0' && slash[1] <= '9') || n < 8 ||
	    n > 30 || !xp__ipv4_parse(ip, &host))
		return false;
	*bits = (unsigned)n;
	*net = host & (~0u << (32 - n));
	return true;
}

bool xp__ipv4_host(uint32_t host)
{
	/* RFC 1122 3.2.1.3: 0.0.0.0 is "this host", 255.255.255.255 the limited
	 * broadcast; RFC 5771: 224.0.0.0/4 is multicast */
	return host != 0 && host != 0xffffffffu && (host >> 28) != 0xe;
}

char *xp__ipv4_format(uint32_t host, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", host >> 24, (host >> 16) & 0xff, (host >> 8) & 0xff,
		 host & 0xff);
	return buf;
}

/* RFC 1123 2.1: a label may start with a digit; RFC 1035 2.3.4: 63 per label, 255 in
 * all on the wire (253 as text without the final dot). */
bool xp__dns_name_valid(const char *s)
{
	size_t total = strlen(s);
	if (total == 0 || total > 253)
		return false;
	const char *label = s;
	for (;;) {
		size_t len = strcspn(label, ".");
		if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
			return false;
		for (size_t i = 0; i < len; i++) {
			char c = label[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-'))
				return false;
		}
		if (label[len] == 0)
			return true;
		label += len + 1;
	}
}

bool xp__one_line(const char *s)
{
	for (const char *p = (const char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool kopt_sep(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

const char *xp_kernel_options_reserved(const char *opts, size_t *len)
{
	size_t n;
	for (const char *w = xp__word(opts ? opts : "", kopt_sep, &n); n;
	     w = xp__word(w + n, kopt_sep, &n)) {
		size_t q = strspn(w, "\"'"); /* a quoted word is still that word to the kernel */
		/* the operator's own words for the installer's disk (installer-run.h) */
		bool own = (n - q > 20 && strncmp(w + q, "xenprov.target-disk=", 20) == 0) ||
			   (n - q > 13 && strncmp(w + q, "xenprov.wipe=", 13) == 0);
		if (!own && n - q >= 8 && strncasecmp(w + q, "xenprov.", 8) == 0) {
			*len = n;
			return w;
		}
	}
	return NULL;
}

int xp__kernel_options_check(const char *opts, struct xp_diags *d)
{
	if (!opts)
		return 0;
	if (!xp__one_line(opts))
		return xp__bad_value(d, "kernel-options", NULL, NULL, "must be one line");
	size_t n;
	const char *w = xp_kernel_options_reserved(opts, &n);
	if (w)
		return xp__bad_value(
		    d, "kernel-options", NULL,
		    "the server puts xenprov.server=, xenprov.system=, xenprov.mac= "
		    "and xenprov.token= on an installer's command line itself",
		    "'%.*s': xenprov.* arguments are the boot server's own", (int)n, w);
	return 0;
}

int xp__dir_check(const char *key, const char *value, char **out, struct xp_diags *d)
{
	if (value[0] != '/' || !xp__one_line(value))
		return xp__bad_value(d, key, value, "give an absolute path",
				     "not an absolute directory path");
	size_t len = strlen(value);
	while (len > 1 && value[len - 1] == '/')
		len--;
	*out = strndup(value, len);
	return *out ? 0 : -ENOMEM;
}

int xp__dupf(char **out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int xp__ipv4_dup(uint32_t host, char **out)
{
	char buf[16];
	return xp__dupf(out, "%s", xp__ipv4_format(host, buf));
}

int xp__dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s || !*s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

char *xp__col_text(struct xp_db_stmt *st, int i)
{
	const char *t = xp__db_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

int xp__inv_rows(struct xp_inv *inv, struct xp_db_stmt *st, void *vp, size_t *n, size_t size,
		 size_t first, int (*read)(struct xp_db_stmt *st, void *row),
		 void (*release)(void *row))
{
	char *v = NULL;
	size_t cap = 0;
	int r = 0, rc = XP_DB_DONE;
	*n = 0;
	while (r == 0 && (rc = xp__db_step(st)) == XP_DB_ROW) {
		if ((r = xp_grow(&v, &cap, *n, size, first)) < 0)
			break;
		r = read(st, v + *n * size);
		if (r > 0) {
			(*n)++;
			r = 0;
		}
	}
	if (r == 0 && rc != XP_DB_DONE)
		r = xp__inv_err(inv, rc);
	xp__db_finalize(st);
	if (r < 0) {
		for (size_t i = 0; release && i < *n; i++)
			release(v + i * size);
		free(v);
		v = NULL;
		*n = 0;
	}
	memcpy(vp, &v, sizeof(v)); /* vp points at some T *: no aliasing through void ** */
	return r;
}

static int read_name(struct xp_db_stmt *st, void *row)
{
	char **name = row;
	return (*name = xp__col_text(st, 0)) ? 1 : -ENOMEM;
}

static void free_name(void *row)
{
	free(*(char **)row);
}

int xp__inv_names(struct xp_inv *inv, const char *sql, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	struct xp_db_stmt *st;
	int r = xp__inv_prepare(inv, sql, &st);
	if (r < 0)
		return r;
	return xp__inv_rows(inv, st, names, n, sizeof(**names), 16, read_name, free_name);
}

int xp__inv_prepare_arg(struct xp_inv *inv, const char *sql, const char *arg,
			struct xp_db_stmt **st)
{
	int r = xp__inv_prepare(inv, sql, st);
	if (r == 0)
		xp__db_bind_text(*st, 1, arg);
	return r;
}

/* sql with ?1 bound to arg, stepped once: the step's SQLite code (XP_DB_ROW,
 * XP_DB_DONE, an error), or -errno if it could not be prepared. */
static int step_once(struct xp_inv *inv, const char *sql, const char *arg)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, sql, arg, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	xp__db_finalize(st);
	return rc;
}

int xp__inv_exists(struct xp_inv *inv, const char *sql, const char *arg)
{
	int rc = step_once(inv, sql, arg);
	if (rc < 0)
		return rc;
	return rc == XP_DB_ROW ? 1 : rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
}

int xp__inv_run(struct xp_inv *inv, const char *sql, const char *arg)
{
	int rc = step_once(inv, sql, arg);
	if (rc < 0)
		return rc;
	return rc == XP_DB_DONE ? xp__db_changes(inv->db) : xp__inv_err(inv, rc);
}

int xp__inv_counts(struct xp_inv *inv, const char *sql, const char *arg, int *v, int n)
{
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, sql, arg, &st);
	if (r < 0)
		return r;
	int rc = xp__db_step(st);
	for (int i = 0; i < n; i++)
		v[i] = rc == XP_DB_ROW ? xp__db_column_int(st, i) : 0;
	xp__db_finalize(st);
	return rc == XP_DB_ROW ? 0 : xp__inv_err(inv, rc);
}

int xp__inv_remove(struct xp_inv *inv, const char *sql, const char *arg, const char *absent, ...)
{
	int r = xp_inv_begin(inv);
	if (r < 0)
		return r;
	r = xp__inv_run(inv, sql, arg);
	if (r < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	if (r == 0) {
		va_list ap;
		va_start(ap, absent);
		vsnprintf(inv->err, sizeof(inv->err), absent, ap);
		va_end(ap);
		xp_inv_commit(inv); /* nothing written */
		return -ENOENT;
	}
	return 0;
}

int xp__inv_step_done(struct xp_inv *inv, struct xp_db_stmt *st)
{
	int rc = xp__db_step(st);
	xp__db_finalize(st);
	return rc == XP_DB_DONE ? 0 : xp__inv_err(inv, rc);
}

int xp__inv_step_commit(struct xp_inv *inv, struct xp_db_stmt *st)
{
	int r = xp__inv_step_done(inv, st);
	if (r < 0) {
		xp_inv_rollback(inv);
		return r;
	}
	return xp_inv_commit(inv);
}

int xp__inv_side_value(struct xp_inv *inv, const char *table, const char *keycol,
		       const char *valcol, const char *key, const char *value)
{
	char sql[256];
	if (value)
		snprintf(sql, sizeof(sql),
			 "INSERT INTO %s (%s, %s) VALUES (?1, ?2) ON CONFLICT (%s) DO UPDATE SET"
			 " %s = excluded.%s",
			 table, keycol, valcol, keycol, valcol, valcol);
	else
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?1", table, keycol);
	struct xp_db_stmt *st;
	int r = xp__inv_prepare_arg(inv, sql, key, &st);
	if (r < 0)
		return r;
	if (value)
		xp__db_bind_text(st, 2, value);
	return xp__inv_step_done(inv, st);
}
