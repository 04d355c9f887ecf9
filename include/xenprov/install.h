/*
 * xenprov/install.h - guests built on one host from a profile served by another
 * (`xenprov install --server`, koan's job): the server's side publishes profiles'
 * golden images by the SHA-256 of their content; the dom0's side fetches them (ranges,
 * the hash checked, a cache keyed by it) and makes the guest with xp_domain_create.
 *
 * Server side: publication records live in STATE/published/, one file per content hash
 * (64 hex digits) holding the image's path and identity (device, inode, size, mtime,
 * ctime) when it was hashed. Only xp_golden_publish writes them, and only for a
 * profile's golden image, so the read-only endpoint /images/HASH can serve nothing
 * else; a file that changed since it was hashed is not served.
 *
 * Client side (install.c): the cache is STATE/images/remote/HASH.img (0444), a download
 * in progress STATE/images/remote/HASH.part (resumed with a range), both under an
 * flock of the .part file so that concurrent installs fetch once.
 *
 * Not here: the HTTP service (net/), the HTTP client (http-client.h), making the guest
 * (domain.h), the command line (cmd-install.c).
 */
#ifndef XENPROV_INSTALL_H
#define XENPROV_INSTALL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "xenprov/domain.h"
#include "xenprov/util.h"

/* ---- server: published golden images (deploy/golden-publish.c) ---------------------- */

struct xp_golden_pub {
	char sha256[65];
	/* its sparse digest (xenprov/sparse-stream.h), computed in the same pass over the
	 * same bytes and recorded beside it */
	char sparse_sha256[65];
	uint64_t size;
	const char *format; /* "raw" or "qcow2" (static) */
};

/* Prepares the golden image of the effective profile values s (xp_golden_prepare: a
 * tarball's image is built once into STATE/images) and publishes it: its SHA-256 (read
 * from its record when the file is unchanged since it was hashed, else computed and
 * recorded in STATE/published/HASH, atomically). -ENODATA (diagnostic) for values with
 * no image, -EINVAL for an image that is not a regular file (a block device), the
 * preparation's errors. */
int xp_golden_publish(const char *state_dir, const struct xp_settings *s, struct xp_golden_pub *out,
		      struct xp_diags *d);

/* What xp_golden_publish answered, remembered by the caller (the server's HTTP side)
 * so that asking again costs no preparation (which hashes a tarball) while neither the
 * values nor the profile's image file nor the published file changed. Zero-initialise
 * (lock may then be set: a mutex held around each use of the entries, never across a
 * preparation, for a cache shared by threads); xp_golden_pub_cache_release. */
struct xp_golden_pub_cache {
	struct xp_golden_pub_entry *v;
	size_t n;
	pthread_mutex_t *lock; /* NULL: one thread only */
	unsigned long gen;     /* counts what was remembered: a reader's memo of it is stale
				* when this moved (xp_golden_pub_cache_gen) */
};
void xp_golden_pub_cache_release(struct xp_golden_pub_cache *c);
/* xp_golden_publish through cache c (may be NULL). */
int xp_golden_publish_cached(struct xp_golden_pub_cache *c, const char *state_dir,
			     const struct xp_settings *s, struct xp_golden_pub *out,
			     struct xp_diags *d);
/* What cache c remembers for values s, never preparing anything: 1 and *out when the
 * image of s was published and its file is still the one hashed, else 0. */
int xp_golden_pub_cache_find(struct xp_golden_pub_cache *c, const char *state_dir,
			     const struct xp_settings *s, struct xp_golden_pub *out);
/* c's generation, read under its lock. */
unsigned long xp_golden_pub_cache_gen(struct xp_golden_pub_cache *c);

/* Opens the published image of hash hex (exactly 64 lowercase hex digits, else
 * -EINVAL) read-only: *fd and its *size. -ENOENT when nothing is published under that
 * hash, or the file changed (or is gone) since it was hashed. No diagnostics: the
 * caller answers a network client. */
int xp_golden_published_open(const char *state_dir, const char *hex, int *fd, uint64_t *size);

/* ---- dom0: a guest from a served profile (deploy/install.c) ---------------------------- */

enum xp_install_mode {
	XP_INSTALL_AUTO,      /* the image when the profile has one, else the installer */
	XP_INSTALL_IMAGE,     /* the golden image, fetched */
	XP_INSTALL_INSTALLER, /* the distro's installer on an empty disk (koan --virt) */
};

struct xp_install_opts {
	const char *server;  /* http[s]://HOST[:PORT][/], the base of its API */
	const char *ca_file; /* CA certificates for https, or NULL: the system's */
	const char *token;   /* the server's API token, or NULL: no registration */
	/* token is not the API token but the install token of this system (the
	 * autoinstall installer: xenprov installer run): it is sent with the golden
	 * image's requests only, beside "X-Xenprov-System: NAME"; or NULL */
	const char *grant_system;
	const char *profile; /* the served profile; or */
	const char *system;  /* a served system: its profile (and MAC, when not given) */
	enum xp_install_mode mode;
	/* the caller waits for an installer to finish (--wait): refused on the image path
	 * before anything is made */
	bool wait;
	/* the guest as xp_domain_create makes it: name, overrides (on top of the served
	 * profile and of this host's settings guest-storage, guest-pool, guest-bridge),
	 * ip, mac, config_dir, autostart... Its profile and values are set by xp_install. */
	struct xp_domain_create_opts create;
	/* download progress (bytes so far, of total); may be NULL */
	void (*progress)(void *ud, uint64_t done, uint64_t total);
	void *progress_ud;
};

struct xp_install_result {
	struct xp_domain dom; /* the guest made */
	char *profile;	      /* the served profile's name */
	enum xp_install_mode mode;
	char sha256[65]; /* the image's (image mode) */
	uint64_t image_size;
	bool cached;	       /* the image was in this host's cache: nothing fetched */
	uint64_t fetched;      /* bytes fetched this time */
	uint64_t resumed_from; /* where a range request began, 0 for none */
	double fetch_seconds;
	bool registered; /* the system record was written on the server */
	/* wall-clock seconds: before the guest is made (the API, the image's fetch or the
	 * cache's check), making it (xp_domain_create), registering it */
	double before_create_seconds, create_seconds, register_seconds;
	/* installer mode: the installer's kernel and initrd on this host, its command line */
	char *kernel, *ramdisk, *cmdline;
};

void xp_install_result_release(struct xp_install_result *r);

/* The served profile values that name the server's own host (its paths) and are never
 * taken: image (replaced by the fetched copy), include and install (the image's
 * build), pool and config-dir; and publish-image (the server's serving of it). */
bool xp_install_key_dropped(const char *key);

/* Makes guest o->create.name on this host from the profile (or system) served at
 * o->server: reads it over the JSON API; in image mode fetches the golden image into
 * the cache STATE/images/remote/ (a download cut short resumed with a range, the whole
 * file's SHA-256 compared with the server's before it is used; a cached image whose
 * identity changed is hashed again) and makes the guest with xp_domain_create; in
 * installer mode (installer.c) an empty disk and the installer's files. Then, with a
 * token, registers it: the system NAME (its MAC, address, host name, the profile,
 * netboot off) written on the server. Errors carry the server's own message: -ENOENT
 * (no such profile or system), -ENODATA (no image), -EACCES (the token refused),
 * -EBADMSG (an image whose hash is wrong: removed), xp_domain_create's. A failure to
 * register after the guest is made returns the error with res->dom filled. */
int xp_install(struct xp_inv *inv, const struct xp_install_opts *o, struct xp_install_result *res,
	       struct xp_diags *d);

/* After the installer powered guest name off: its config rewritten (atomically, in
 * place: xp_cfg_set) to boot its own disk, by pygrub, or with pxeboot (the path of
 * xenprov-pxeboot; NULL: pygrub) and bootloader_args ["--local"], the installer's
 * kernel, ramdisk, extra and root taken out, on_reboot the profile's own again; its
 * record's boot values the profile's (boot pygrub where it was kernel); the
 * installer's files removed. -ENOENT when the guest was not made by the installer
 * path (or is switched already). */
int xp_install_disk_boot(struct xp_inv *inv, const char *name, const char *pxeboot,
			 struct xp_diags *d);

/* The guest's system on the server (registered by the installer path with netboot on,
 * for its installer) set netboot off, with o->token: it boots its own disk now. */
int xp_install_netboot_off(const struct xp_install_opts *o, const char *system, const char *profile,
			   const char *mac, const char *ip, struct xp_diags *d);

/* GET of the served collection kind ("profiles" or "systems") into *out (a JSON array). */
int xp_install_list(const char *server, const char *ca_file, const char *kind, json_t **out,
		    struct xp_diags *d);

#endif
