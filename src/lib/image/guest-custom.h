/*
 * guest-custom.h - what the operator asks for on top of a guest's own settings
 * (guest-custom.c): the time zone, host files and trees copied in, files of a given
 * content, first-boot commands; and the systemd unit machinery these and the SSH host
 * key unit (guest-edit.c) share. Called by xp_guest_apply (guest-edit.c) with the
 * filesystem it opened; everything goes through the file layer (guest-fs.c).
 *
 * Not here: the items' syntax and checks (guest.h: xp_guest_copy_parse... in
 * guest-custom.c too, but public), the text of the unit and script (guest-text.c), the
 * profile's storage of them (inventory/profile.c).
 */
#ifndef XP_GUEST_CUSTOM_H
#define XP_GUEST_CUSTOM_H

#include <stdbool.h>

#include "image/guest-fs.h"
#include "xenprov/guest.h"

/* Checks the customisations of s before the image is opened (-EINVAL with a
 * diagnostic whose code is the profile key: timezone, copy-in, write,
 * firstboot-command): the bounds of guest.h, the items' syntax, every copy-in source an
 * absolute path. */
int xp__guest_custom_check(const struct xp_guest_diag *dg, const struct xp_guest_settings *s);

/* Applies them in order: time zone, copy-ins, writes, first-boot commands. */
int xp__guest_custom_apply(struct xp_gfs *fs, const struct xp_guest_diag *dg,
			   const struct xp_guest_settings *s);

/* Whether the image runs systemd: /lib/systemd/systemd or /usr/lib/systemd/systemd. */
bool xp__guest_has_systemd(struct xp_gfs *fs);

/* Installs a unit as `systemctl enable` would for WantedBy=multi-user.target: text
 * (0:0 0644) at XP_UNIT_DIR/name, and the symlink XP_UNIT_WANTS/name to it, making the
 * directories that are missing. */
int xp__guest_unit_install(struct xp_gfs *fs, const char *name, const struct xp_buf *text);

#endif
