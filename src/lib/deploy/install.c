/*
 * install.c - `xenprov install --server`: a guest made on this host (a dom0) from a
 * profile another host's `xenprov serve` serves (xenprov/install.h). The profile comes
 * over the JSON API; its golden image by its content hash, into a cache keyed by that
 * hash (a download cut short resumed with a range; the whole file's SHA-256 checked
 * before it is named); the guest is then made by xp_domain_create, exactly as `domain
 * create` makes one, with this host's settings and the operator's overrides on top;
 * last, with the token, the guest is registered on the server as a system.
 *
 * Not here: the installer path (installer.c), HTTP (util/http-client.c), the server's
 * side (golden-publish.c, net/http-images.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deploy/install-internal.h"
#include "deploy/published.h"
#include "xenprov/http-client.h"
#include "xenprov/install.h"

#define JSON_MAX   (16u << 20)
#define IMAGE_WAIT 3600 /* seconds the server may take to prepare a golden image */

void xp_install_result_release(struct xp_install_result *r)
{
	if (!r)
		return;
	xp_domain_release(&r->dom);
	free(r->profile);
	free(r->kernel);
	free(r->ramdisk);
	free(r->cmdline);
	memset(r, 0, sizeof(*r));
}

bool xp_install_key_dropped(const char *key)
{
	static const char *const keys[] = {"image", "include",	  "install",
					   "pool",  "config-dir", "publish-image"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int xp__install_url(const char *server, const char *path, char **out)
{
	size_t n = strlen(server);
	while (n && server[n - 1] == '/')
		n--;
	if (asprintf(out, "%.*s%s", (int)n, server, path) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A request to the server's API at path (method NULL: GET), its JSON answer into *out
 * (may be NULL). The token is sent with a body (a change) or when auth says (what the
 * server gives to its holders only); the server may stay silent idle seconds (0: the
 * HTTP client's default). Errors carry the server's message. */
static int request_idle(const struct xp_install_opts *o, const char *method, const char *path,
			const char *body, bool auth, unsigned idle, json_t **out,
			struct xp_diags *d)
{
	char *url;
	if (xp__install_url(o->server, path, &url) < 0)
		return -ENOMEM;
	struct xp_http_req q = {
	    .url = url,
	    .method = method,
	    .body = body,
	    .body_len = body ? strlen(body) : 0,
	    .token = body || auth ? o->token : NULL,
	    .grant_system = auth ? o->grant_system : NULL,
	    .ca_file = o->ca_file,
	    .max = JSON_MAX,
	    .idle = idle,
	};
	struct xp_http_resp resp;
	int r = xp_http_request(&q, &resp, d);
	if (r == -ENOENT) /* the server's own words: "no profile 'x'" */
		r = xp_diags_fail(d, r, NULL, "server", NULL, "%s: %s", o->server,
				  resp.error ? resp.error : "not found");
	if (r == 0 && out) {
		json_error_t je;
		*out = json_loadb(resp.body.s ? resp.body.s : "", resp.body.len, 0, &je);
		if (!*out)
			r = xp_diags_fail(d, -EBADMSG, NULL, "server", NULL,
					  "%s: the answer is not JSON: %s", url, je.text);
	}
	xp_http_resp_release(&resp);
	free(url);
	return r;
}

/* request_idle, the token with a body only, the client's default silence */
static int request(const struct xp_install_opts *o, const char *method, const char *path,
		   const char *body, json_t **out, struct xp_diags *d)
{
	return request_idle(o, method, path, body, false, 0, out, d);
}

double xp__install_now(void)
{
	return now();
}

int xp__install_request(const struct xp_install_opts *o, const char *method, const char *path,
			const char *body, json_t **out, struct xp_diags *d)
{
	return request(o, method, path, body, out, d);
}

int xp__install_image_request(const struct xp_install_opts *o, const char *path, json_t **out,
			      struct xp_diags *d)
{
	return request_idle(o, NULL, path, NULL, true, IMAGE_WAIT, out, d);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int xp_install_list(const char *server, const char *ca_file, const char *kind, json_t **out,
		    struct xp_diags *d)
{
	*out = NULL;
	if (strcmp(kind, "profiles") != 0 && strcmp(kind, "systems") != 0)
		return xp_diags_refuse(d, -EINVAL, "list", kind, "profiles or systems",
				       "cannot list '%s'", kind);
	struct xp_install_opts o = {.server = server, .ca_file = ca_file};
	char path[32];
	snprintf(path, sizeof(path), "/api/%s", kind);
	int r = request(&o, NULL, path, NULL, out, d);
	if (r == 0 && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		r = xp_diags_fail(d, -EBADMSG, NULL, "server", NULL, "%s: /api/%s is not a list",
				  server, kind);
	}
	return r;
}

/* ---- the image cache ------------------------------------------------------------------ */

/* A download into the part file, hashed as it arrives: the bytes already there (have)
 * were hashed before the request, so the hash is the whole file's at the end and the
 * file is never read again. */
struct sink {
	int fd;
	struct xp_http_resp *resp;
	struct xp_sha256 *sha;
	uint64_t have, total;
	bool started;
	const struct xp_install_opts *o;
};

#define BLOCK 4096

static bool zeros(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* len bytes at off in fd, the 4 KiB blocks (of the file) that are all zeros left out:
 * the part file grows only by what is written past its end, so they stay holes that
 * read as zeros (a golden image of 2 GiB holds a few hundred MiB). The size is set at
 * the end (ftruncate), and a resumed fetch hashes the holes as the zeros they were. */
static int write_sparse(int fd, const unsigned char *p, size_t len, uint64_t off)
{
	size_t i = 0, run = 0; /* the bytes from i - run to i are to be written */
	while (i < len) {
		size_t n = BLOCK - (size_t)((off + i) % BLOCK);
		if (n > len - i)
			n = len - i;
		if (!zeros(p + i, n)) {
			run += n;
		} else if (run) {
			int r = xp_pwrite_full(fd, p + i - run, run, off + i - run);
			if (r < 0)
				return r;
			run = 0;
		}
		i += n;
	}
	return run ? xp_pwrite_full(fd, p + len - run, run, off + len - run) : 0;
}

static int on_data(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct sink *s = ctx;
	if (!s->started) {
		s->started = true;
		if (!s->resp->ranged && s->have) { /* a 200: the whole file, from byte 0 */
			if (ftruncate(s->fd, 0) < 0)
				return -errno;
			int r = xp_sha256_restart(s->sha);
			if (r < 0)
				return r;
			s->have = 0;
		} else if (s->resp->ranged && s->resp->range_start != s->have) {
			return -EPROTO; /* not the bytes asked for: a hole, or bytes twice */
		}
	}
	int r = write_sparse(s->fd, data, len, s->have + off);
	if (r == 0)
		r = xp_sha256_add(s->sha, data, len);
	if (r == 0 && s->o->progress)
		s->o->progress(s->o->progress_ud, s->have + off + len, s->total);
	return r;
}

/* The GET of the image at url (size bytes) from byte have on, its body to write. */
static struct xp_http_req image_req(const struct xp_install_opts *o, const char *url,
				   uint64_t have, uint64_t size,
				   int (*write)(void *, uint64_t, const void *, size_t), void *ctx)
{
	return (struct xp_http_req){
	    .url = url,
	    .token = o->token,
	    .grant_system = o->grant_system,
	    .ca_file = o->ca_file,
	    .range_from = have,
	    .max = size,
	    .write = write,
	    .ctx = ctx,
	};
}

/* ---- a download onto a device (the autoinstall installer) ---------------------------- */

struct dev_sink {
	int fd;
	struct xp_http_resp *resp;
	uint64_t at, have, base;
	bool started;
	const struct xp_install_opts *o;
};

static int on_dev_data(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct dev_sink *s = ctx;
	if (!s->started) { /* a 206 goes on where it was asked to; a 200 starts over */
		s->started = true;
		s->base = s->resp->ranged ? s->resp->range_start : 0;
		if (s->resp->ranged && s->base != s->have)
			return -EPROTO; /* not the bytes asked for: a hole, or bytes twice */
	}
	return xp_pwrite_full(s->fd, data, len, s->at + s->base + off);
}

int xp__install_download(const struct xp_install_opts *o, const char *url, int fd, uint64_t at,
			 uint64_t have, uint64_t size, uint64_t *reached, struct xp_diags *d)
{
	struct xp_http_resp resp;
	struct dev_sink s = {.fd = fd, .resp = &resp, .at = at, .have = have, .o = o};
	struct xp_http_req q = image_req(o, url, have, size, on_dev_data, &s);
	int r = xp_http_request(&q, &resp, d);
	*reached = s.started ? s.base + resp.bytes : have;
	if (r == -ENOENT)
		r = xp_diags_fail(d, r, NULL, "server", NULL, "%s: %s", url,
				  resp.error ? resp.error : "not found");
	xp_http_resp_release(&resp);
	return r;
}

/* Whether the cached img (in dirfd) is the image of hex: its record's identity, else
 * its hash (then recorded). 1 yes, 0 no (removed), -errno. */
static int cached_ok(int dirfd, const char *img, const char *hex, struct xp_diags *d)
{
	struct stat st;
	if (stat(img, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	char rec[80], *path = NULL;
	snprintf(rec, sizeof(rec), "%s.ok", hex);
	struct xp__ident want, have;
	xp__ident_of(&st, &have);
	int r = xp__record_read(dirfd, rec, &path, &want, NULL);
	bool same = r == 0 && strcmp(path, img) == 0 && xp__ident_eq(&want, &have);
	free(path);
	if (same)
		return 1;
	unsigned char dg[32];
	char got[65];
	if ((r = xp_sha256_file(img, dg)) < 0)
		return r;
	xp_sha256_hex(dg, got);
	if (strcmp(got, hex) != 0) {
		xp_diags_add(d, XP_SEV_WARNING, img, 0, 0, "cache", NULL, NULL,
			     "the cached image changed since it was checked and no longer matches "
			     "its SHA-256: removed, fetched again");
		unlinkat(dirfd, rec, 0);
		return unlink(img) < 0 && errno != ENOENT ? -errno : 0;
	}
	char file[4200]; /* DIR/HEX.img -> DIR/HEX.ok */
	snprintf(file, sizeof(file), "%.*s.ok", (int)(strlen(img) - 4), img);
	r = xp__record_write(file, img, &have, NULL);
	return r < 0 ? r : 1;
}

/* STATE/images/remote, made if missing, into out. */
static int cache_dir(const char *state_dir, char *out, size_t size)
{
	snprintf(out, size, "%s/images", state_dir);
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(out, size, "%s/images/remote", state_dir);
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The image hex (size bytes, at url) in this host's cache: *path (heap). */
static int fetch_image(const char *state_dir, const struct xp_install_opts *o, const char *hex,
		       uint64_t size, const char *url, struct xp_install_result *res, char **path,
		       struct xp_diags *d)
{
	char dir[4096], img[4200], part[4200], rec[4200];
	struct xp_sha256 *sha = NULL;
	int r = cache_dir(state_dir, dir, sizeof(dir));
	if (r < 0)
		return xp_diags_fail(d, r, dir, "cache", NULL, "cannot make the image cache: %s",
				     strerror(-r));
	snprintf(img, sizeof(img), "%s/%s.img", dir, hex);
	snprintf(part, sizeof(part), "%s/%s.part", dir, hex);
	snprintf(rec, sizeof(rec), "%s/%s.ok", dir, hex);
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (dirfd < 0 || fd < 0) {
		r = xp_diags_fail(d, -errno, part, "cache", NULL, "cannot open: %s",
				  strerror(errno));
		goto out;
	}
	/* one fetch at a time per image: a second install waits, then finds it cached */
	if (flock(fd, LOCK_EX) < 0) {
		r = xp_diags_fail(d, -errno, part, "cache", NULL, "cannot lock: %s",
				  strerror(errno));
		goto out;
	}
	r = cached_ok(dirfd, img, hex, d);
	if (r < 0) {
		xp_diags_fail(d, r, img, "cache", NULL, "cannot read the cached image: %s",
			      strerror(-r));
		goto out;
	}
	if (r == 1) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size == 0 && st.st_nlink > 0)
			unlink(part);
		res->cached = true;
		r = 0;
		goto done;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	uint64_t have = (uint64_t)st.st_size;
	if (have > size) {
		if (ftruncate(fd, 0) < 0) {
			r = xp_diags_fail(d, -errno, part, "cache", NULL, "cannot truncate: %s",
					  strerror(errno));
			goto out;
		}
		have = 0;
	}
	/* what an earlier run fetched is hashed once, then the rest as it arrives */
	if ((r = xp_sha256_new(&sha)) < 0 || (r = xp_sha256_add_fd(sha, fd)) < 0) {
		r = xp_diags_fail(d, r, part, "cache", NULL, "cannot read: %s", strerror(-r));
		goto out;
	}
	if (have < size) {
		struct xp_http_resp resp;
		struct sink s = {
		    .fd = fd, .resp = &resp, .sha = sha, .have = have, .total = size, .o = o};
		struct xp_http_req q = image_req(o, url, have, size, on_data, &s);
		res->resumed_from = have;
		double t0 = now();
		r = xp_http_request(&q, &resp, d);
		res->fetch_seconds = now() - t0;
		res->fetched = resp.bytes;
		/* the zeros at the end were never written (write_sparse): the file's length,
		 * once every byte came */
		if (r == 0 && s.have + resp.bytes == size && ftruncate(fd, (off_t)size) < 0)
			r = xp_diags_fail(d, -errno, part, "cache", NULL, "cannot extend: %s",
					  strerror(errno));
		if (r == -ENOENT)
			r = xp_diags_fail(d, r, NULL, "server", NULL, "%s: %s", url,
					  resp.error ? resp.error : "not found");
		xp_http_resp_release(&resp);
		if (r < 0)
			goto out; /* the part is kept: the next run goes on from it */
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size) {
		r = xp_diags_fail(d, -EIO, url, "fetch", NULL,
				  "the image came short: %jd of %" PRIu64
				  " bytes (run again to go on)",
				  (intmax_t)st.st_size, size);
		goto out;
	}
	unsigned char dg[32];
	char got[65];
	if ((r = xp_sha256_final(sha, dg)) < 0 || fsync(fd) < 0) {
		r = xp_diags_fail(d, r < 0 ? r : -errno, part, "cache", NULL, "cannot check: %s",
				  strerror(r < 0 ? -r : errno));
		goto out;
	}
	xp_sha256_hex(dg, got);
	if (strcmp(got, hex) != 0) {
		unlink(part);
		r = xp_diags_fail(
		    d, -EBADMSG, url, "sha256", "run the command again to fetch it anew",
		    "the image fetched does not match its SHA-256 %s (its bytes hash to "
		    "%s): removed",
		    hex, got);
		goto out;
	}
	if (fchmod(fd, 0444) < 0 || rename(part, img) < 0 || fstat(fd, &st) < 0) {
		r = xp_diags_fail(d, -errno, img, "cache", NULL, "cannot keep the image: %s",
				  strerror(errno));
		goto out;
	}
	struct xp__ident id;
	xp__ident_of(&st, &id);
	if ((r = xp__record_write(rec, img, &id, NULL)) < 0) {
		xp_diags_fail(d, r, rec, "cache", NULL, "cannot record the image: %s",
			      strerror(-r));
		goto out;
	}
	fsync(dirfd);
done:
	if (!(*path = strdup(img)))
		r = -ENOMEM;
out:
	xp_sha256_free(sha);
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

/* ---- the guest ------------------------------------------------------------------------ */

int xp__install_values(struct xp_inv *inv, json_t *profile, struct xp_settings *out,
		       struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	json_t *eff = json_object_get(profile, "effective");
	if (!json_is_object(eff))
		return xp_diags_fail(d, -EBADMSG, NULL, "server", NULL,
				     "the server sent the profile without its values");
	const char *k;
	json_t *v;
	int r = 0;
	json_object_foreach(eff, k, v)
	{
		if (r == 0 && json_is_string(v) && !xp_install_key_dropped(k))
			r = xp_settings_set(out, k, json_string_value(v));
	}
	/* this host's own: where its guests' disks go, how, on which bridge */
	struct xp_settings st = {0};
	if (r == 0 && (r = xp_server_settings_get(inv, &st)) < 0)
		xp_diags_fail(d, r, NULL, "inventory", NULL, "cannot read the settings: %s",
			      xp_inv_errmsg(inv));
	static const char *const own[][2] = {
	    {"guest-storage", "storage"}, {"guest-pool", "pool"}, {"guest-bridge", "bridge"}};
	for (size_t i = 0; r == 0 && i < 3; i++) {
		const char *val = xp_settings_get(&st, own[i][0]);
		if (val)
			r = xp_settings_set(out, own[i][1], val);
	}
	xp_settings_release(&st);
	if (r < 0)
		xp_settings_release(out);
	return r;
}

/* The system record of the guest on the server, with the token. */
int xp__install_register(const struct xp_install_opts *o, const char *system, const char *profile,
			 const char *mac, const char *ip, bool netboot, struct xp_diags *d)
{
	json_t *b = json_pack("{s:s, s:o, s:s, s:s, s:b}", "mac", mac, "ip",
			      ip ? json_string(ip) : json_null(), "profile", profile, "hostname",
			      o->create.name, "netboot", netboot);
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL, path[300];
	json_decref(b);
	if (!body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/api/systems/%s", system);
	int r = request(o, "PUT", path, body, NULL, d);
	free(body);
	return r;
}

int xp_install_netboot_off(const struct xp_install_opts *o, const char *system, const char *profile,
			   const char *mac, const char *ip, struct xp_diags *d)
{
	return xp__install_register(o, system, profile, mac, ip, false, d);
}

/* Why the server refused the image: no token given, or the token given refused. */
static void image_refused(const struct xp_install_opts *o, const char *profile, struct xp_diags *d)
{
	if (o->token)
		xp_diags_fail(d, -EACCES, NULL, "token",
			      "the token is the server's STATE/api-token",
			      "%s refused the API token given for the golden image of profile '%s'",
			      o->server, profile);
	else
		xp_diags_fail(d, -EACCES, NULL, "token",
			      "give it with --token-file FILE or XENPROV_TOKEN (the server's "
			      "STATE/api-token), or set publish-image open on the profile there",
			      "%s serves the golden image of profile '%s' with its API token only, "
			      "and none was given",
			      o->server, profile);
}

static int install_profile(const struct xp_install_opts *o, char **name, json_t **profile,
			   json_t **system, struct xp_diags *d)
{
	char path[300];
	int r;
	*profile = *system = NULL;
	*name = NULL;
	const char *pn = o->profile;
	if (o->system) {
		if (!xp_system_name_valid(o->system))
			return xp_diags_refuse(d, -EINVAL, "system", o->system, NULL,
					       "'%s' is not a system name", o->system);
		snprintf(path, sizeof(path), "/api/systems/%s", o->system);
		if ((r = request(o, NULL, path, NULL, system, d)) < 0)
			return r;
		pn = jstr(*system, "profile");
		if (!pn)
			return xp_diags_refuse(d, -EINVAL, "system", o->system, NULL,
					       "system '%s' has no profile (only a distro)",
					       o->system);
	}
	if (!pn || !xp_profile_name_valid(pn))
		return xp_diags_refuse(d, -EINVAL, "profile", pn, NULL,
				       "'%s' is not a profile name", pn ? pn : "");
	snprintf(path, sizeof(path), "/api/profiles/%s", pn);
	if ((r = request(o, NULL, path, NULL, profile, d)) < 0)
		return r;
	return (*name = strdup(pn)) ? 0 : -ENOMEM;
}

int xp_install(struct xp_inv *inv, const struct xp_install_opts *o, struct xp_install_result *res,
	       struct xp_diags *d)
{
	memset(res, 0, sizeof(*res));
	double t0 = now();
	json_t *profile = NULL, *system = NULL, *image = NULL;
	struct xp_settings vals = {0};
	char *img = NULL, *url = NULL, path[300];
	if (!o->create.name || !xp_domain_name_valid(o->create.name))
		return xp_diags_refuse(d, -EINVAL, "name", o->create.name,
				       "1-63 letters, digits and '-' (it is also the host name)",
				       "'%s' is not a valid domain name",
				       o->create.name ? o->create.name : "");
	int r = install_profile(o, &res->profile, &profile, &system, d);
	if (r < 0)
		goto out;
	json_t *eff = json_object_get(profile, "effective");
	bool has_image = jstr(eff, "image") != NULL, has_distro = jstr(eff, "distro") != NULL;
	res->mode = o->mode != XP_INSTALL_AUTO ? o->mode
		    : has_image || !has_distro ? XP_INSTALL_IMAGE
					       : XP_INSTALL_INSTALLER;
	if (o->wait && res->mode == XP_INSTALL_IMAGE) {
		r = xp_diags_refuse(
		    d, -EINVAL, "wait", NULL, "--wait is for --installer",
		    "profile '%s' is installed from its image: there is no installer "
		    "to wait for",
		    res->profile);
		goto out;
	}
	if ((r = xp__install_values(inv, profile, &vals, d)) < 0)
		goto out;
	struct xp_domain_create_opts c = o->create;
	c.profile = res->profile;
	c.values = &vals;
	if (!c.mac && system)
		c.mac = jstr(system, "mac");
	if (res->mode == XP_INSTALL_INSTALLER) {
		r = xp__install_installer(inv, o, &c, res->profile, profile, res, d);
		goto out;
	}

	/* the golden image: published by the server, fetched by its hash */
	snprintf(path, sizeof(path), "/api/profiles/%s/image", res->profile);
	/* the server may first build and hash the image (minutes for gigabytes): it
	 * sends nothing meanwhile */
	if ((r = xp__install_image_request(o, path, &image, d)) < 0) {
		if (r == -ENOENT)
			r = -ENODATA;
		if (r == -EACCES)
			image_refused(o, res->profile, d);
		goto out;
	}
	const char *hex = jstr(image, "sha256"), *iurl = jstr(image, "url");
	json_t *sz = json_object_get(image, "size");
	if (!hex || !xp_sha256_hex_valid(hex) || !iurl || iurl[0] != '/' || !json_is_integer(sz) ||
	    json_integer_value(sz) < 0) {
		r = xp_diags_fail(d, -EBADMSG, NULL, "server", NULL,
				  "%s: the image's description is not understood", o->server);
		goto out;
	}
	memcpy(res->sha256, hex, 65);
	res->image_size = (uint64_t)json_integer_value(sz);
	if ((r = xp__install_url(o->server, iurl, &url)) < 0)
		goto out;
	r = fetch_image(xp_inv_state_dir(inv), o, hex, res->image_size, url, res, &img, d);
	if (r == -EACCES)
		image_refused(o, res->profile, d);
	if (r < 0)
		goto out;
	if ((r = xp_settings_set(&vals, "image", img)) < 0)
		goto out;
	double t1 = now();
	res->before_create_seconds = t1 - t0;
	r = xp_domain_create(inv, &c, &res->dom, d);
	double t2 = now();
	res->create_seconds = t2 - t1;
	if (r < 0)
		goto out;
	if (o->token)
		r = xp__install_register(o, o->system ? o->system : o->create.name, res->profile,
					 res->dom.mac, res->dom.ip, false, d);
	res->register_seconds = now() - t2;
	res->registered = o->token && r == 0;
out:
	json_decref(profile);
	json_decref(system);
	json_decref(image);
	xp_settings_release(&vals);
	free(img);
	free(url);
	return r;
}
