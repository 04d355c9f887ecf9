/*
 * imgstore.c - the store of captured images (include/xenprov/imgstore.h): names and
 * references, meta.json, resolving "NAME" / "NAME@V", listing and removing versions,
 * and the making of a new version (.V.partial, renamed into place) that capture.c
 * drives.
 *
 * Not here: the manifest (manifest.c), how a tree is captured (capture.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "image/imgstore-internal.h"
#include "import/import-internal.h"
#include "util/cleanup.h"
#include "xenprov/imgstore.h"

bool xp_imgver_name_valid(const char *name)
{
	if (!name || !*name || strlen(name) > XP_IMGVER_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (p == name || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

int xp_imgver_parse_ref(const char *ref, char name[XP_IMGVER_NAME_MAX + 1], unsigned *version,
			struct xp_diags *d)
{
	const char *at = ref ? strchr(ref, '@') : NULL;
	size_t len = ref ? (at ? (size_t)(at - ref) : strlen(ref)) : 0;
	char buf[XP_IMGVER_NAME_MAX + 1];
	if (!ref || len == 0 || len > XP_IMGVER_NAME_MAX)
		goto bad;
	memcpy(buf, ref, len);
	buf[len] = 0;
	if (!xp_imgver_name_valid(buf))
		goto bad;
	unsigned v = 0;
	if (at) {
		const char *s = at + 1;
		if (*s < '1' || *s > '9')
			goto bad;
		for (; *s; s++) {
			if (*s < '0' || *s > '9' || v > (UINT_MAX - (unsigned)(*s - '0')) / 10)
				goto bad;
			v = v * 10 + (unsigned)(*s - '0');
		}
	}
	memcpy(name, buf, len + 1);
	*version = v;
	return 0;
bad:
	return xp_diags_refuse(d, -EINVAL, "image-ref", ref,
			       "a captured image is NAME (its latest version) or NAME@V (V = 1, 2, "
			       "...), NAME made of letters, digits, '.', '_' and '-'",
			       "not an image reference: '%s'", ref ? ref : "");
}

int xp_imgver_store_dir(const char *state_dir, char **out)
{
	return asprintf(out, "%s/images/captures", state_dir) < 0 ? -ENOMEM : 0;
}

/* <state>/images/captures/NAME. */
int xp__imgver_name_dir(const char *state_dir, const char *name, char **out)
{
	return asprintf(out, "%s/images/captures/%s", state_dir, name) < 0 ? -ENOMEM : 0;
}

void xp_imgver_release(struct xp_imgver *v)
{
	if (!v)
		return;
	free(v->dir);
	free(v->root);
	free(v->manifest);
	free(v->source);
	free(v->message);
	memset(v, 0, sizeof(*v));
}

/* ---- meta.json --------------------------------------------------------------------------- */

static int meta_bad(struct xp_diags *d, const char *file, const char *field, const char *what)
{
	return xp_diags_fail(d, -EBADMSG, file, "meta", NULL, "%s: %s", field, what);
}

int xp_imgver_meta_parse(const char *json, size_t len, const char *file, struct xp_imgver *out,
			 struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	if (len > (1u << 20))
		return xp_diags_fail(d, -EBADMSG, file, "meta", NULL, "larger than 1 MiB");
	json_error_t err;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (!o)
		return xp_diags_add(d, XP_SEV_ERROR, file, (unsigned)(err.line > 0 ? err.line : 0),
				    (unsigned)(err.column > 0 ? err.column : 0), "meta", NULL, NULL,
				    "not JSON: %s", err.text) < 0
			       ? -ENOMEM
			       : -EBADMSG;
	int r = 0;
	if (!json_is_object(o)) {
		r = meta_bad(d, file, "meta.json", "not an object");
		goto out;
	}
	json_t *name = json_object_get(o, "name"), *ver = json_object_get(o, "version"),
	       *time = json_object_get(o, "time"), *src = json_object_get(o, "source"),
	       *msg = json_object_get(o, "message"), *files = json_object_get(o, "files"),
	       *bytes = json_object_get(o, "bytes"), *mf = json_object_get(o, "manifest_sha256"),
	       *started = json_object_get(o, "started"), *parent = json_object_get(o, "parent");
	if (!json_is_string(name) || !xp_imgver_name_valid(json_string_value(name)))
		r = meta_bad(d, file, "name", "missing or not an image name");
	else if (!json_is_integer(ver) || json_integer_value(ver) < 1 ||
		 json_integer_value(ver) > UINT_MAX)
		r = meta_bad(d, file, "version", "missing or not a number >= 1");
	else if (!json_is_integer(time))
		r = meta_bad(d, file, "time", "missing or not a number");
	else if (started && (!json_is_integer(started) || json_integer_value(started) < 0))
		r = meta_bad(d, file, "started", "not a number of seconds");
	else if (parent && (!json_is_integer(parent) || json_integer_value(parent) < 1 ||
			    json_integer_value(parent) >= json_integer_value(ver)))
		r = meta_bad(d, file, "parent", "not an earlier version");
	else if (!json_is_string(src))
		r = meta_bad(d, file, "source", "missing or not a string");
	else if (msg && !json_is_string(msg))
		r = meta_bad(d, file, "message", "not a string");
	else if (!json_is_integer(files) || json_integer_value(files) < 0)
		r = meta_bad(d, file, "files", "missing or not a count");
	else if (!json_is_integer(bytes) || json_integer_value(bytes) < 0)
		r = meta_bad(d, file, "bytes", "missing or not a count");
	else if (!json_is_string(mf) || !xp_sha256_hex_valid(json_string_value(mf)))
		r = meta_bad(d, file, "manifest_sha256", "missing or not 64 lowercase hex digits");
	if (r < 0)
		goto out;
	snprintf(out->name, sizeof(out->name), "%s", json_string_value(name));
	out->version = (unsigned)json_integer_value(ver);
	out->time = (int64_t)json_integer_value(time);
	out->started = started ? (int64_t)json_integer_value(started) : 0;
	out->parent = parent ? (unsigned)json_integer_value(parent) : 0;
	out->files = (uint64_t)json_integer_value(files);
	out->bytes = (uint64_t)json_integer_value(bytes);
	snprintf(out->manifest_sha256, sizeof(out->manifest_sha256), "%s", json_string_value(mf));
	out->source = strdup(json_string_value(src));
	out->message = strdup(msg ? json_string_value(msg) : "");
	if (!out->source || !out->message) {
		xp_imgver_release(out);
		r = -ENOMEM;
	}
out:
	json_decref(o);
	return r;
}

int xp_imgver_meta_format(const struct xp_imgver *v, struct xp_buf *out)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:I, s:s}", "name", v->name,
			      "version", (json_int_t)v->version, "time", (json_int_t)v->time,
			      "source", v->source ? v->source : "", "message",
			      v->message ? v->message : "", "files", (json_int_t)v->files,
			      "bytes", (json_int_t)v->bytes, "manifest_sha256", v->manifest_sha256);
	if (!o)
		return -ENOMEM;
	if ((v->started && json_object_set_new(o, "started", json_integer(v->started)) < 0) ||
	    (v->parent && json_object_set_new(o, "parent", json_integer(v->parent)) < 0)) {
		json_decref(o);
		return -ENOMEM;
	}
	char *s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(o);
	if (!s)
		return -ENOMEM;
	xp_buf_adds(out, s);
	xp_buf_addc(out, '\n');
	free(s);
	return xp_buf_error(out);
}

/* ---- reading the store ------------------------------------------------------------------ */

/* Loads version `version` of the image whose directory is ndir. -ENOENT when it does
 * not exist (no meta.json), without a diagnostic. */
int xp__imgver_load(const char *ndir, const char *name, unsigned version, struct xp_imgver *out,
		    struct xp_diags *d)
{
	_cleanup_free_ char *meta = NULL, *data = NULL;
	if (asprintf(&meta, "%s/%u/meta.json", ndir, version) < 0)
		return -ENOMEM;
	size_t len = 0;
	int r = xp_read_file(meta, 1u << 20, &data, &len);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return xp_diags_fail(d, r, meta, NULL, NULL, "cannot read: %s", strerror(-r));
	r = xp_imgver_meta_parse(data, len, meta, out, d);
	if (r < 0)
		return r;
	if (strcmp(out->name, name) || out->version != version) {
		xp_diags_fail(d, -EBADMSG, meta, "meta", NULL,
			      "describes %s@%u but lies where %s@%u belongs", out->name,
			      out->version, name, version);
		xp_imgver_release(out);
		return -EBADMSG;
	}
	if (asprintf(&out->dir, "%s/%u", ndir, version) < 0 ||
	    asprintf(&out->root, "%s/%u/root", ndir, version) < 0 ||
	    asprintf(&out->manifest, "%s/%u/manifest", ndir, version) < 0) {
		xp_imgver_release(out);
		return -ENOMEM;
	}
	return 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

/* Whether s is a version directory's name: a decimal number >= 1 without leading
 * zero. */
static bool version_name(const char *s, unsigned *v)
{
	unsigned x = 0;
	if (*s < '1' || *s > '9')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (UINT_MAX - (unsigned)(*s - '0')) / 10)
			return false;
		x = x * 10 + (unsigned)(*s - '0');
	}
	*v = x;
	return true;
}

/* The numbered directories of ndir (versions or not), ascending. */
static int version_numbers(const char *ndir, unsigned **nums, size_t *n)
{
	*nums = NULL;
	*n = 0;
	DIR *dir = opendir(ndir);
	if (!dir)
		return -errno;
	size_t cap = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		unsigned v;
		if (!version_name(de->d_name, &v))
			continue;
		if ((r = xp_grow(nums, &cap, *n, sizeof(**nums), 16)) < 0)
			break;
		(*nums)[(*n)++] = v;
	}
	closedir(dir);
	if (r < 0) {
		free(*nums);
		*nums = NULL;
		*n = 0;
		return r;
	}
	if (*n)
		qsort(*nums, *n, sizeof(**nums), cmp_unsigned);
	return 0;
}

static int no_image(struct xp_diags *d, const char *name, const char *state_dir)
{
	return xp_diags_refuse(d, -ENOENT, "no-image", name,
			       "'xenprov image capture SOURCE --name NAME' makes one",
			       "no captured image '%s' in %s/images/captures", name, state_dir);
}

int xp_imgver_list(const char *state_dir, const char *name, struct xp_imgver **v, size_t *n,
		   struct xp_diags *d)
{
	*v = NULL;
	*n = 0;
	if (!xp_imgver_name_valid(name))
		return xp_diags_refuse(d, -EINVAL, "image-ref", name, NULL,
				       "not an image name: '%s'", name ? name : "");
	_cleanup_free_ char *ndir = NULL;
	_cleanup_free_ unsigned *nums = NULL;
	size_t nn = 0;
	int r = xp__imgver_name_dir(state_dir, name, &ndir);
	if (r < 0)
		return r;
	r = version_numbers(ndir, &nums, &nn);
	if (r == -ENOENT || r == -ENOTDIR)
		return no_image(d, name, state_dir);
	if (r < 0)
		return xp_diags_fail(d, r, ndir, NULL, NULL, "cannot list: %s", strerror(-r));
	struct xp_imgver *out = nn ? calloc(nn, sizeof(*out)) : NULL;
	if (nn && !out)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < nn; i++) {
		r = xp__imgver_load(ndir, name, nums[i], &out[k], d);
		if (r == -ENOENT)
			continue; /* a directory without meta.json is no version */
		if (r < 0) {
			xp_imgver_list_free(out, k);
			return r;
		}
		k++;
	}
	*v = out;
	*n = k;
	if (k == 0) {
		free(out);
		*v = NULL;
	}
	return 0;
}

void xp_imgver_list_free(struct xp_imgver *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		xp_imgver_release(&v[i]);
	free(v);
}

int xp_imgver_resolve(const char *state_dir, const char *ref, struct xp_imgver *out,
		      struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	char name[XP_IMGVER_NAME_MAX + 1];
	unsigned version;
	int r = xp_imgver_parse_ref(ref, name, &version, d);
	if (r < 0)
		return r;
	if (version) {
		_cleanup_free_ char *ndir = NULL;
		if ((r = xp__imgver_name_dir(state_dir, name, &ndir)) < 0)
			return r;
		r = xp__imgver_load(ndir, name, version, out, d);
		if (r != -ENOENT)
			return r;
	}
	struct xp_imgver *all;
	size_t n;
	r = xp_imgver_list(state_dir, name, &all, &n, d);
	if (r < 0)
		return r;
	if (n && !version) {
		*out = all[n - 1];
		memset(&all[n - 1], 0, sizeof(all[n - 1]));
		xp_imgver_list_free(all, n);
		return 0;
	}
	struct xp_buf have = XP_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		xp_buf_addf(&have, "%s%s@%u", i ? ", " : "", name, all[i].version);
	xp_imgver_list_free(all, n);
	if (version)
		r = xp_diags_refuse(d, -ENOENT, "no-version", ref,
				    n ? "its versions are listed by 'xenprov image versions NAME'"
				      : NULL,
				    "image '%s' has no version %u (%s%s)", name, version,
				    n ? "there are " : "it has none", xp_buf_str(&have));
	else
		r = xp_diags_refuse(d, -ENOENT, "no-version", ref, NULL,
				    "image '%s' has no versions left", name);
	xp_buf_release(&have);
	return r;
}

int xp_imgver_lookup(const char *state_dir, const char *from, struct xp_imgver *out,
		     struct xp_diags *d)
{
	struct stat st;
	char name[XP_IMGVER_NAME_MAX + 1];
	unsigned version;
	if (!from || lstat(from, &st) == 0 || xp_imgver_parse_ref(from, name, &version, NULL) < 0)
		return 0;
	struct xp_diags inner = {0};
	int r = xp_imgver_resolve(state_dir, from, out, &inner);
	if (r == 0) {
		xp_diags_release(&inner);
		return 1;
	}
	if (r == -ENOENT)
		r = xp_diags_refuse(d, -ENOENT, "no-image", from,
				    inner.n && inner.v[0].hint ? inner.v[0].hint
				    : "a tarball, a disk image, or NAME[@V] of 'xenprov image versions'",
				    "'%s': no such file or captured image (%s)", from,
				    inner.n ? inner.v[0].msg : "not found");
	else if (d)
		for (size_t i = 0; i < inner.n; i++)
			xp_diags_add(d, inner.v[i].severity, inner.v[i].file, inner.v[i].line,
				     inner.v[i].col, inner.v[i].code, inner.v[i].text, inner.v[i].hint,
				     "%s", inner.v[i].msg);
	xp_diags_release(&inner);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int xp_imgver_names(const char *state_dir, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	_cleanup_free_ char *sdir = NULL;
	if (xp_imgver_store_dir(state_dir, &sdir) < 0)
		return -ENOMEM;
	DIR *dir = opendir(sdir);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	size_t cap = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!xp_imgver_name_valid(de->d_name))
			continue;
		char *s = strdup(de->d_name);
		if (!s || (r = xp_grow(names, &cap, *n, sizeof(**names), 16)) < 0) {
			free(s);
			r = -ENOMEM;
			break;
		}
		(*names)[(*n)++] = s;
	}
	closedir(dir);
	if (r < 0) {
		for (size_t i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n = 0;
		return r;
	}
	if (*n)
		qsort(*names, *n, sizeof(**names), cmp_str);
	return 0;
}

/* ---- making and removing versions -------------------------------------------------------- */

/* Removes what interrupted captures and removals left in ndir (".N.partial",
 * ".N.removing"). Called under the name's lock. */
static int sweep(const char *ndir)
{
	_cleanup_close_ int dfd = open(ndir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *dir = fdopendir(dup(dfd));
	if (!dir)
		return -errno;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(dir))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] != '.' || l < 3)
			continue;
		bool partial = l > 8 && strcmp(de->d_name + l - 8, ".partial") == 0;
		bool removing = l > 9 && strcmp(de->d_name + l - 9, ".removing") == 0;
		bool checkout = l > 9 && strcmp(de->d_name + l - 9, ".root.tmp") == 0;
		if (partial || removing || checkout)
			r = xp__tree_remove(dfd, de->d_name);
	}
	closedir(dir);
	return r;
}

int xp__imgver_begin(const char *state_dir, const char *name, struct xp_imgver_new *nv,
		     struct xp_diags *d)
{
	_cleanup_free_ char *lockpath = NULL;
	_cleanup_free_ unsigned *nums = NULL;
	size_t nn = 0;
	memset(nv, 0, sizeof(*nv));
	nv->lock = -1;
	if (!xp_imgver_name_valid(name))
		return xp_diags_refuse(d, -EINVAL, "image-ref", name,
				       "letters, digits, '.', '_' and '-', at most 64, starting "
				       "with a letter or digit",
				       "not an image name: '%s'", name ? name : "");
	int r = xp__imgver_name_dir(state_dir, name, &nv->ndir);
	if (r < 0)
		return r;
	if ((r = xp_mkdir_p(nv->ndir, 0755)) < 0) {
		xp_diags_fail(d, r, nv->ndir, NULL, NULL, "cannot create: %s", strerror(-r));
		goto fail;
	}
	/* the lock is the name's directory's (xp_lock_dir_of of a path in it) */
	if (asprintf(&lockpath, "%s/lock", nv->ndir) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = xp_lock_dir_of(lockpath, false);
	if (r == -EWOULDBLOCK) {
		r = xp_diags_refuse(d, -EBUSY, "busy", name, "wait for it to finish",
				    "image '%s' is being captured or changed by another xenprov",
				    name);
		goto fail;
	}
	if (r < 0) {
		xp_diags_fail(d, r, nv->ndir, NULL, NULL, "cannot lock: %s", strerror(-r));
		goto fail;
	}
	nv->lock = r;
	if ((r = sweep(nv->ndir)) < 0) {
		xp_diags_fail(d, r, nv->ndir, NULL, NULL,
			      "cannot remove what an interrupted capture left: %s", strerror(-r));
		goto fail;
	}
	if ((r = version_numbers(nv->ndir, &nums, &nn)) < 0)
		goto fail;
	nv->version = nn ? nums[nn - 1] + 1 : 1;
	/* the previous version: the latest with a meta.json */
	for (size_t i = nn; i-- > 0;) {
		r = xp__imgver_load(nv->ndir, name, nums[i], &nv->prev, d);
		if (r == 0) {
			nv->has_prev = true;
			break;
		}
		if (r != -ENOENT)
			goto fail;
	}
	if (asprintf(&nv->partial, "%s/.%u.partial", nv->ndir, nv->version) < 0 ||
	    asprintf(&nv->root, "%s/root", nv->partial) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	if (mkdir(nv->partial, 0755) < 0 || mkdir(nv->root, 0755) < 0) {
		r = -errno;
		xp_diags_fail(d, r, nv->partial, NULL, NULL, "cannot create: %s", strerror(-r));
		goto fail;
	}
	snprintf(nv->name, sizeof(nv->name), "%s", name);
	return 0;
fail:
	xp__imgver_abort(nv);
	return r;
}

int xp__imgver_to_delta(struct xp_imgver_new *nv, struct xp_diags *d)
{
	char *delta = NULL;
	if (asprintf(&delta, "%s/delta", nv->partial) < 0)
		return -ENOMEM;
	if (rename(nv->root, delta) < 0) {
		int r = -errno;
		free(delta);
		return xp_diags_fail(d, r, nv->root, NULL, NULL, "cannot rename: %s", strerror(-r));
	}
	free(nv->root);
	nv->root = delta;
	nv->lazy = true;
	return 0;
}

void xp__imgver_abort(struct xp_imgver_new *nv)
{
	if (nv->partial && nv->ndir) {
		int dfd = open(nv->ndir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)xp__tree_remove(dfd, strrchr(nv->partial, '/') + 1);
			close(dfd);
		}
	}
	xp_unlock(nv->lock);
	free(nv->ndir);
	free(nv->partial);
	free(nv->root);
	xp_imgver_release(&nv->prev);
	memset(nv, 0, sizeof(*nv));
	nv->lock = -1;
}

int xp__imgver_commit(struct xp_imgver_new *nv, const char *manifest_text, size_t manifest_len,
		      struct xp_imgver *meta, struct xp_diags *d)
{
	_cleanup_free_ char *mpath = NULL, *jpath = NULL, *final = NULL;
	_cleanup_close_ int nfd = -1;
	struct xp_buf json = XP_BUF_INIT;
	int r = -ENOMEM;
	if (asprintf(&mpath, "%s/manifest", nv->partial) < 0 ||
	    asprintf(&jpath, "%s/meta.json", nv->partial) < 0 ||
	    asprintf(&final, "%s/%u", nv->ndir, nv->version) < 0)
		goto out;
	unsigned char dg[32];
	if ((r = xp_sha256(manifest_text, manifest_len, dg)) < 0)
		goto out;
	xp_sha256_hex(dg, meta->manifest_sha256);
	snprintf(meta->name, sizeof(meta->name), "%s", nv->name);
	meta->version = nv->version;
	meta->parent = nv->lazy ? nv->prev.version : 0;
	if ((r = xp_imgver_meta_format(meta, &json)) < 0)
		goto out;
	/* the two files, then one syncfs for them and all the capture wrote (the tree or
	 * delta, srcindex), then the rename: a version whose directory is there is whole on
	 * disk (.V.partial is never read as a version; each file's own fsync would be one
	 * journal commit more) */
	if ((r = xp_write_atomic_flags(mpath, manifest_text, manifest_len, 0644,
				       XP_WRITE_NOSYNC)) < 0 ||
	    (r = xp_write_atomic_flags(jpath, json.s, json.len, 0644, XP_WRITE_NOSYNC)) < 0) {
		xp_diags_fail(d, r, nv->partial, NULL, NULL, "cannot write: %s", strerror(-r));
		goto out;
	}
	/* through the lock's descriptor, opened when the version began: syncfs reports the
	 * filesystem's writeback errors since the descriptor was opened, so one during the
	 * capture (a page of the tree lost in writeback) fails the version too */
	if (syncfs(nv->lock) < 0) {
		r = -errno;
		xp_diags_fail(d, r, nv->partial, NULL, NULL, "cannot sync: %s", strerror(-r));
		goto out;
	}
	if (rename(nv->partial, final) < 0) {
		r = -errno;
		xp_diags_fail(d, r, final, NULL, NULL, "cannot rename into place: %s", strerror(-r));
		goto out;
	}
	nfd = open(nv->ndir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd >= 0)
		(void)fsync(nfd);
	free(nv->partial);
	nv->partial = NULL; /* nothing left to remove */
	r = 0;
out:
	xp_buf_release(&json);
	return r;
}

int xp_imgver_remove(const char *state_dir, const char *name, unsigned version,
		     struct xp_diags *d)
{
	_cleanup_free_ char *ndir = NULL, *lockpath = NULL, *from = NULL, *to = NULL;
	if (!xp_imgver_name_valid(name))
		return xp_diags_refuse(d, -EINVAL, "image-ref", name, NULL,
				       "not an image name: '%s'", name ? name : "");
	if (xp__imgver_name_dir(state_dir, name, &ndir) < 0 ||
	    asprintf(&lockpath, "%s/lock", ndir) < 0 ||
	    asprintf(&from, "%s/%u", ndir, version) < 0 ||
	    asprintf(&to, "%s/.%u.removing", ndir, version) < 0)
		return -ENOMEM;
	struct xp_imgver v;
	int r = xp__imgver_load(ndir, name, version, &v, d);
	if (r == -ENOENT)
		return xp_diags_refuse(d, -ENOENT, "no-version", name, NULL,
				       "image '%s' has no version %u", name, version);
	if (r < 0)
		return r;
	xp_imgver_release(&v);
	int lock = xp_lock_dir_of(lockpath, false);
	if (lock == -EWOULDBLOCK)
		return xp_diags_refuse(d, -EBUSY, "busy", name, "wait for it to finish",
				       "image '%s' is being captured or changed by another xenprov",
				       name);
	if (lock < 0)
		return xp_diags_fail(d, lock, ndir, NULL, NULL, "cannot lock: %s", strerror(-lock));
	/* a lazy version on this one is checked out first: its tree needs this one's */
	_cleanup_free_ unsigned *nums = NULL;
	size_t nn = 0;
	r = version_numbers(ndir, &nums, &nn);
	for (size_t i = 0; r == 0 && i < nn; i++) {
		struct xp_imgver w;
		if (nums[i] <= version)
			continue;
		int lr = xp__imgver_load(ndir, name, nums[i], &w, NULL);
		if (lr == -ENOENT)
			continue; /* no version there (a partial one's directory) */
		if (lr < 0) { /* unreadable: it may be a delta on this one, never orphaned */
			r = xp_diags_fail(d, lr, ndir, NULL, "repair or remove it first",
					  "cannot read version %u of '%s': %s", nums[i], name,
					  strerror(-lr));
			break;
		}
		if (w.parent == version)
			r = xp__imgver_checkout_locked(ndir, &w, d);
		xp_imgver_release(&w);
	}
	if (r < 0) {
		xp_unlock(lock);
		return r;
	}
	if (rename(from, to) < 0) {
		r = -errno;
		xp_diags_fail(d, r, from, NULL, NULL, "cannot remove: %s", strerror(-r));
	} else {
		_cleanup_close_ int dfd = open(ndir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			r = -errno;
		else {
			(void)fsync(dfd);
			r = xp__tree_remove(dfd, strrchr(to, '/') + 1);
		}
		if (r < 0)
			xp_diags_fail(d, r, to, NULL, NULL, "cannot delete: %s", strerror(-r));
	}
	xp_unlock(lock);
	return r;
}
