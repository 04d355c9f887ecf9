/*
 * http-images.c - profiles' golden images for `xenprov install --server` on other hosts
 * (xenprov/install.h): /api/profiles/NAME/image prepares and publishes a profile's golden
 * image and answers its SHA-256, size and URL; /images/HASH serves a published image,
 * read-only, with ranges (a download cut short is resumed). Only what a record in
 * STATE/published names is ever served, and only while the file is the one hashed:
 * the whole boot network may read it, as it may read the profile (whose secret keys
 * are never in the image: they are applied per guest, on the dom0).
 *
 * Every image request is logged (limited like every line about a client): who fetched
 * which image, and which bytes.
 *
 * Not here: the records (deploy/golden-publish.c), ranges (http.c).
 */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "net/http-internal.h"
#include "xenprov/install.h"

enum MHD_Result xp__http_image(struct http_srv *h, struct MHD_Connection *c, const char *hex)
{
	uint32_t ip;
	char peer[INET_ADDRSTRLEN] = "?", esc[4 * 80 + 1], range[96];
	xp__http_peer(c, &ip, peer);
	int fd;
	uint64_t size;
	int r = xp_golden_published_open(h->s->opts->state_dir, hex, &fd, &size);
	if (r < 0) {
		size_t l = strlen(hex);
		xp_escape(esc, sizeof(esc), hex, l > 80 ? 80 : l);
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING, "image '%s' to %s: %s", esc, peer,
				  r == -EINVAL ? "not a SHA-256" : "not published");
		return r == -EINVAL ? xp__http_reply_error(
					  c, MHD_HTTP_BAD_REQUEST,
					  "an image is named by its SHA-256 (64 hex digits)")
				    : xp__http_reply_error(c, MHD_HTTP_NOT_FOUND,
							   "no published image of that SHA-256");
	}
	enum MHD_Result res =
	    xp__http_reply_range(c, fd, 0, size, NULL, "application/octet-stream", range);
	xp__serve_limited(h->s, SRC_HTTP, LOG_INFO, "image %s to %s: %s of %llu", hex, peer, range,
			  (unsigned long long)size);
	return res;
}

enum MHD_Result xp__http_profile_image(struct http_srv *h, struct MHD_Connection *c,
				       const char *name)
{
	struct xp_settings eff = {0};
	char msg[512];
	int r = xp_profile_resolve(h->inv, name, &eff);
	if (r == -ENOENT) {
		snprintf(msg, sizeof(msg), "no profile '%s'", name);
		return xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, msg);
	}
	if (r < 0)
		return xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
					    "cannot read the inventory");
	struct xp_diags d = {0};
	struct xp_golden_pub pub;
	/* a tarball's image is built here the first time: the HTTP thread waits for it */
	r = xp_golden_publish_cached(&h->pubs, h->s->opts->state_dir, &eff, &pub, &d);
	xp_settings_release(&eff);
	enum MHD_Result res;
	if (r == -ENODATA) {
		snprintf(msg, sizeof(msg), "profile '%s' has no image", name);
		res = xp__http_reply_error(c, MHD_HTTP_NOT_FOUND, msg);
	} else if (r < 0) {
		snprintf(msg, sizeof(msg), "profile '%s': %s", name,
			 d.n ? d.v[0].msg : "cannot prepare its golden image");
		xp__serve_log(h->s, LOG_ERR, "http: %s", msg);
		res = xp__http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
	} else {
		char url[80];
		snprintf(url, sizeof(url), "/images/%s", pub.sha256);
		res = xp__http_reply_json(
		    c, MHD_HTTP_OK,
		    json_pack("{s:s, s:s, s:I, s:s, s:s}", "profile", name, "sha256", pub.sha256,
			      "size", (json_int_t)pub.size, "format", pub.format, "url", url));
	}
	xp_diags_release(&d);
	return res;
}
