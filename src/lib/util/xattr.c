/*
 * xattr.c - reading all the extended attributes of a file (xattr(7)) into memory, bounded:
 * the manifest's hash of them, the tree comparison and the offline update's copy read
 * them here, one loop for the three. Not here: writing them (guest-fs.c, extfs-extract.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "xenprov/util.h"

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct xp_xattr *)a)->name, ((const struct xp_xattr *)b)->name);
}

void xp_xattrs_release(struct xp_xattrs *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].value);
	free(x->v);
	free(x->names);
	memset(x, 0, sizeof(*x));
}

/* The name list of path: *list (heap, NUL-terminated names) of *len bytes. A list that
 * grew between the size asked and the read (ERANGE) is asked again. */
static int read_list(const char *path, char **list, size_t *len)
{
	*list = NULL;
	*len = 0;
	for (int tries = 0; tries < 8; tries++) {
		ssize_t n = llistxattr(path, NULL, 0);
		if (n < 0)
			return errno == ENOTSUP || errno == ENODATA ? 0 : -errno;
		if (n == 0)
			return 0;
		if ((size_t)n > XP_XATTR_LIST_MAX)
			return -E2BIG;
		char *l = malloc((size_t)n + 1);
		if (!l)
			return -ENOMEM;
		ssize_t k = llistxattr(path, l, (size_t)n);
		if (k < 0) {
			int e = errno;
			free(l);
			if (e == ERANGE)
				continue;
			return e == ENOTSUP || e == ENODATA ? 0 : -e;
		}
		/* the list ends in a NUL; one that does not is not a list */
		if (k > 0 && l[k - 1] != 0) {
			free(l);
			return -EBADMSG;
		}
		*list = l;
		*len = (size_t)k;
		return 0;
	}
	return -EAGAIN;
}

/* The value of attribute name: heap, *len bytes. 0; 1 if it went away (ENODATA). */
static int read_value(const char *path, const char *name, void **val, size_t *len)
{
	for (int tries = 0; tries < 8; tries++) {
		ssize_t n = lgetxattr(path, name, NULL, 0);
		if (n < 0)
			return errno == ENODATA ? 1 : -errno;
		if ((size_t)n > XP_XATTR_VALUE_MAX)
			return -E2BIG;
		char *v = malloc((size_t)n + 1);
		if (!v)
			return -ENOMEM;
		ssize_t k = lgetxattr(path, name, v, (size_t)n);
		if (k < 0) {
			int e = errno;
			free(v);
			if (e == ERANGE)
				continue;
			return e == ENODATA ? 1 : -e;
		}
		*val = v;
		*len = (size_t)k;
		return 0;
	}
	return -EAGAIN;
}

int xp_xattrs_read(const char *path, struct xp_xattrs *out)
{
	memset(out, 0, sizeof(*out));
	size_t len;
	int r = read_list(path, &out->names, &len);
	if (r < 0 || !out->names)
		return r;
	size_t k = 0;
	for (size_t i = 0; i < len; i += strlen(out->names + i) + 1)
		k++;
	out->v = calloc(k ? k : 1, sizeof(*out->v));
	if (!out->v) {
		xp_xattrs_release(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i += strlen(out->names + i) + 1) {
		struct xp_xattr *x = &out->v[out->n];
		x->name = out->names + i;
		r = read_value(path, x->name, &x->value, &x->len);
		if (r < 0) {
			xp_xattrs_release(out);
			return r;
		}
		if (r == 0)
			out->n++;
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_name);
	return 0;
}
