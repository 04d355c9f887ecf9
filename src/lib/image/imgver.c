/*
 * imgver.c - a captured image's version found in the image store by its name
 * (xenprov/imgdiff.h): `NAME@V`, or `NAME` for the latest, as
 * <state>/images/captures/NAME/V/ with its meta.json (a version exists when its
 * meta.json does; the store writes it last).
 *
 * Not here: capturing, listing or removing versions (the image store).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/ctype.h"
#include "xenprov/imgdiff.h"

void xp_imgver_ref_release(struct xp_imgver_ref *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->root);
	memset(r, 0, sizeof(*r));
}

static bool valid_name(const char *s, size_t len)
{
	if (!len || len > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!xp__isalnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static bool version_exists(const char *dir, unsigned v)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%u/meta.json", dir, v) < 0)
		return false;
	bool ok = access(p, F_OK) == 0;
	free(p);
	return ok;
}

int xp_imgver_lookup(const char *state_dir, const char *spec, struct xp_imgver_ref *out,
		     struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	const char *at = strchr(spec, '@');
	size_t nlen = at ? (size_t)(at - spec) : strlen(spec);
	if (!valid_name(spec, nlen))
		return -EINVAL;
	unsigned v = 0;
	if (at) {
		char *end;
		errno = 0;
		unsigned long x = strtoul(at + 1, &end, 10);
		if (!(at[1] >= '0' && at[1] <= '9') || *end || errno || x == 0 || x > UINT_MAX)
			return -EINVAL;
		v = (unsigned)x;
	}
	char *dir = NULL;
	if (asprintf(&dir, "%s/images/captures/%.*s", state_dir, (int)nlen, spec) < 0)
		return -ENOMEM;
	int r = 0;
	if (!at) { /* the latest: the highest version whose meta.json is there */
		DIR *dh = opendir(dir);
		struct dirent *de;
		while (dh && (de = readdir(dh)) != NULL) {
			char *end;
			unsigned long x = strtoul(de->d_name, &end, 10);
			if ((de->d_name[0] >= '0' && de->d_name[0] <= '9') && !*end && x > v && x <= UINT_MAX &&
			    version_exists(dir, (unsigned)x))
				v = (unsigned)x;
		}
		if (dh)
			closedir(dh);
		if (!v)
			r = xp_diags_refuse(d, -ENOENT, "image", spec, NULL,
					    "no captured image '%s'", spec);
	} else if (!version_exists(dir, v)) {
		r = xp_diags_refuse(d, -ENOENT, "image", spec, NULL,
				    "no version %u of captured image '%.*s'", v, (int)nlen, spec);
	}
	if (r == 0 && (!(out->name = strndup(spec, nlen)) ||
		       asprintf(&out->root, "%s/%u/root", dir, v) < 0)) {
		out->root = NULL;
		r = -ENOMEM;
	}
	out->version = v;
	free(dir);
	if (r < 0)
		xp_imgver_ref_release(out);
	return r;
}
