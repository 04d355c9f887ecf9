/*
 * install-internal.h - what install.c (the image path) and installer.c (the installer
 * path, koan's --virt) share: the server's URLs, the served profile's values
 * made this host's, registration.
 */
#ifndef XP_DEPLOY_INSTALL_INTERNAL_H
#define XP_DEPLOY_INSTALL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "xenprov/install.h"

double xp__install_now(void);
/* A request to the server's API at path (method NULL: GET; a body is sent with the
 * token), its JSON answer into *out (may be NULL). Errors carry the server's message. */
int xp__install_request(const struct xp_install_opts *o, const char *method, const char *path,
			const char *body, json_t **out, struct xp_diags *d);
/* GET of a golden image's description at path (/api/profiles/NAME/image) with the token
 * (and o->grant_system), the server given an hour to prepare it. */
int xp__install_image_request(const struct xp_install_opts *o, const char *path, json_t **out,
			      struct xp_diags *d);
/* GET of the image at url (size bytes in all) from byte have on, written to the device
 * fd at at + its offset in the image, with "Range: bytes=have-" when have > 0 (a 200
 * starts over), the token sent when o has one; *reached: the offset in the image
 * written up to (the autoinstall installer, installer-run.c). Errors with a diagnostic. */
int xp__install_download(const struct xp_install_opts *o, const char *url, int fd, uint64_t at,
			 uint64_t have, uint64_t size, uint64_t *reached, struct xp_diags *d);
/* server (its trailing '/'s dropped) + path, heap. */
int xp__install_url(const char *server, const char *path, char **out);
/* The served profile's effective values without the dropped keys
 * (xp_install_key_dropped), this host's guest-storage, guest-pool and guest-bridge on
 * top. */
int xp__install_values(struct xp_inv *inv, json_t *profile, struct xp_settings *out,
		       struct xp_diags *d);
/* PUT /api/systems/SYSTEM with the token: mac, ip (may be NULL), profile, the host name
 * (the guest's name), netboot. */
int xp__install_register(const struct xp_install_opts *o, const char *system, const char *profile,
			 const char *mac, const char *ip, bool netboot, struct xp_diags *d);

/* The installer path (installer.c): the guest c->name made with an empty disk booting
 * the installer the server's pxelinux config names for its system. */
int xp__install_installer(struct xp_inv *inv, const struct xp_install_opts *o,
			  struct xp_domain_create_opts *c, const char *profile, json_t *pj,
			  struct xp_install_result *res, struct xp_diags *d);

/* The installer's files of guest name (STATE/installers/NAME), removed: a guest deleted
 * before its switch to disk boot leaves none. */
void xp__installer_forget(const char *state_dir, const char *name);

#endif
