/*
 * buf.c - a growable NUL-terminated byte buffer with a sticky allocation error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/util.h"

void xp_buf_init(struct xp_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void xp_buf_release(struct xp_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

int xp_buf_reserve(struct xp_buf *b, size_t extra)
{
	if (b->err)
		return b->err;
	if (extra > SIZE_MAX / 2 - b->len - 1)
		return b->err = -ENOMEM;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	char *ns = realloc(b->s, ncap);
	if (!ns)
		return b->err = -ENOMEM;
	ns[b->len] = 0; /* a fresh buffer is a valid empty string */
	b->s = ns;
	b->cap = ncap;
	return 0;
}

void xp_buf_add(struct xp_buf *b, const void *data, size_t len)
{
	if (xp_buf_reserve(b, len) < 0)
		return;
	if (len)
		memcpy(b->s + b->len, data, len);
	b->len += len;
	b->s[b->len] = 0;
}

void xp_buf_adds(struct xp_buf *b, const char *s)
{
	xp_buf_add(b, s, strlen(s));
}

void xp_buf_addc(struct xp_buf *b, char c)
{
	xp_buf_add(b, &c, 1);
}

void xp_buf_vaddf(struct xp_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if (xp_buf_reserve(b, (size_t)n) < 0)
		return;
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void xp_buf_addf(struct xp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xp_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void xp_buf_add_squoted(struct xp_buf *b, const char *s)
{
	xp_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			xp_buf_adds(b, "'\\''");
		else
			xp_buf_addc(b, *s);
	}
	xp_buf_addc(b, '\'');
}

void xp_buf_add_dquoted(struct xp_buf *b, const char *s)
{
	xp_buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			xp_buf_addc(b, '\\');
		xp_buf_addc(b, *s);
	}
	xp_buf_addc(b, '"');
}

void xp_buf_truncate(struct xp_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->s[len] = 0;
	}
}

char *xp_buf_steal(struct xp_buf *b)
{
	if (b->err)
		return NULL;
	char *s = b->s;
	if (!s)
		s = strdup("");
	memset(b, 0, sizeof(*b));
	return s;
}

const char *xp_buf_str(const struct xp_buf *b)
{
	return b->s ? b->s : "";
}

int xp_buf_error(const struct xp_buf *b)
{
	return b->err;
}

int xp_grow(void *vp, size_t *cap, size_t n, size_t size, size_t first)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : first;
	if (ncap < n + 1 || ncap > SIZE_MAX / size)
		return -ENOMEM;
	void *old, *nv;
	memcpy(&old, vp, sizeof(old)); /* vp points at some T *: no aliasing through void ** */
	if (!(nv = realloc(old, ncap * size)))
		return -ENOMEM;
	memcpy(vp, &nv, sizeof(nv));
	*cap = ncap;
	return 0;
}
