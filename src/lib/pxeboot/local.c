/*
 * local.c - LOCALBOOT and --local: what the guest's own disk boots, through the
 * localboot module (xenprov/localboot.h, pygrub's job), reduced to what the
 * bootloader needs: the entry's kernel, initrds and command line, and the files.
 *
 * Not here: reading disks and boot loader configs (localboot.h's implementation).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pxeboot/pxeboot-internal.h"
#include "xenprov/localboot.h"

void xp__pxe_local_free(struct xp__pxe_local *l)
{
	if (l->lb) {
		xp_localboot_release(l->lb);
		free(l->lb);
	}
	free(l->config), free(l->title), free(l->kernel), free(l->args), free(l->kind);
	for (size_t i = 0; i < l->n_initrds; i++)
		free(l->initrds[i]);
	free(l->initrds);
	memset(l, 0, sizeof(*l));
}

int xp__pxe_local_read(const char *disk, const char *entry, struct xp__pxe_local *l,
		       struct xp_diags *d)
{
	memset(l, 0, sizeof(*l));
	struct xp_localboot *lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	int r = xp_localboot_read(disk, entry, lb, d);
	if (r < 0) {
		xp_localboot_release(lb);
		free(lb);
		return r;
	}
	l->lb = lb;
	const struct xp_localboot_entry *e = &lb->v[lb->chosen];
	l->config = strdup(lb->config ? lb->config : "");
	l->title = strdup(e->title ? e->title : "");
	l->kernel = strdup(e->kernel);
	l->args = strdup(e->args ? e->args : "");
	l->kind = strdup(xp_localboot_kind_name(lb->kind));
	if (!l->config || !l->title || !l->kernel || !l->args || !l->kind)
		goto oom;
	for (const char *s = e->initrd; s && *s;) {
		size_t n = strcspn(s, " ");
		if (n) {
			char **nv = realloc(l->initrds, (l->n_initrds + 1) * sizeof(*nv));
			if (!nv)
				goto oom;
			l->initrds = nv;
			if (!(l->initrds[l->n_initrds] = strndup(s, n)))
				goto oom;
			l->n_initrds++;
		}
		s += n + (s[n] == ' ');
	}
	return 0;
oom:
	xp__pxe_local_free(l);
	return -ENOMEM;
}

int xp__pxe_local_extract(const char *disk, const struct xp__pxe_local *l, const char *path, int fd,
			  struct xp_diags *d)
{
	return xp_localboot_extract(disk, l->lb, path, fd, d);
}
