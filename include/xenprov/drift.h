/*
 * xenprov/drift.h - where a guest differs from its profile now, and what changes in
 * place (`xenprov domain diff`, `domain update`, `domain list --drift`).
 *
 * A guest's record holds the effective profile values it was made with (or last
 * updated to), and apart from them its own values (domain create's KEY VALUE options,
 * deploy's --set and plan values). What the profile wants of the guest now is the
 * profile resolved now with the guest's own values on top. The two are compared key by
 * key, and the guest's actual xl config with the config domain create would write now
 * (xp_guest_config_text, the guest's MAC, address, disk and UUIDs kept) setting by
 * setting, so that a config edited by hand shows too. Each difference is one item, by
 * profile key, with what applying it needs:
 *
 *   config    memory, vcpus, bridge (the vif), extra and root of a boot=kernel guest,
 *             config.NAME (on_crash, ...): the xl config's settings are edited in
 *             place, comments and layout kept (xp_cfg_set), and written atomically; a
 *             config is read when the guest starts, so they take effect at its next
 *             start (a running guest keeps what it has until then)
 *   disk      disk-size larger than the disk: the disk, its root partition (the last
 *             one) and its ext2/3/4 filesystem grown (xp_storage_grow): raw files,
 *             qcow2 overlays (their virtual size), logical volumes (lvextend); offline
 *   guest     ssh-key, root-password-hash, timezone (set), dns, gateway (a static
 *             guest), domain: the guest's own files rewritten in its filesystem as
 *             domain create wrote them (xp_guest_refresh), its identity kept; offline
 *   record    nothing in the guest needs to change (the config says so already, a
 *             DHCP guest's dns, distro, an ip-pool that still holds the guest's
 *             address, a disk as large already): only the record is brought up to date
 *   recreate  what the guest was made of and cannot change in place: image, include,
 *             install, fs, label, swap, storage, pool, type, boot, kernel, ramdisk,
 *             network, copy-in, write, firstboot-command, a smaller disk, an ip-pool or
 *             mac-prefix the guest's address is outside of, a key unset that left files
 *             in the guest (ssh-key, ...), any key not named above. Reported, never
 *             applied: `domain delete` and `create` make the guest anew.
 *
 * Offline means the guest is not running: its filesystem is written without a mount,
 * which a running guest's kernel would not see (and would overwrite). The toolstack is
 * asked (toolstack.h: running, stopped, unknown); where it cannot tell (no Xen here),
 * the operator's word (opts.offline) is needed, and a guest it runs is always refused.
 *
 * Not here: the edits themselves (xl-config.h, image.h: xp_image_grow, guest.h:
 * xp_guest_update), the record (inventory.h).
 */
#ifndef XENPROV_DRIFT_H
#define XENPROV_DRIFT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "xenprov/inventory.h"
#include "xenprov/util.h"

enum xp_drift_action {
	XP_DRIFT_RECORD,
	XP_DRIFT_CONFIG,
	XP_DRIFT_DISK,
	XP_DRIFT_GUEST,
	XP_DRIFT_RECREATE,
};
/* "record", "config", "disk", "guest", "recreate". */
const char *xp_drift_action_name(enum xp_drift_action a);

enum xp_drift_status {
	XP_DRIFT_PLANNED, /* a diff, or update --dry-run that would apply it */
	XP_DRIFT_APPLIED,
	XP_DRIFT_REFUSED, /* offline work on a guest that runs, or may (see above) */
	XP_DRIFT_FAILED,  /* tried; the diagnostics say why */
	XP_DRIFT_LEFT,	  /* recreate: reported, not applied */
};
/* "planned", "applied", "refused", "failed", "left". */
const char *xp_drift_status_name(enum xp_drift_status s);

/* One setting of the xl config that differs from what the profile makes of it now. */
struct xp_drift_xl {
	char *setting; /* "memory", "on_crash", "vif" */
	char *guest;   /* its value in the guest's config (xl syntax), NULL: absent */
	char *profile; /* the value domain create would write now, NULL: none */
};

struct xp_drift_item {
	char *key;     /* the profile key: "memory", "config.on_crash", "disk-size" */
	char *guest;   /* the guest's recorded value, NULL: unset */
	char *profile; /* the profile's value now (the guest's own values on top), NULL: unset */
	enum xp_drift_action action;
	char *note;		/* what applying it needs, or why it is not applied (a sentence) */
	struct xp_drift_xl *xl; /* the config's settings behind it that differ */
	size_t nxl;
	bool secret;	     /* xp_profile_key_secret(key): views withhold the values */
	unsigned parts;	     /* guest: the XP_GUEST_EDIT_* parts rewritten (guest.h) */
	enum xp_drift_status status;
};

struct xp_drift {
	char *name, *profile;
	struct xp_drift_item *v; /* in the order of the profile key table (xp_profile_keys) */
	size_t n, cap;
	/* xp_drift_update: 1 the toolstack runs the guest, 0 it does not, -1 it cannot tell
	 * (asked only when config, disk or guest items are planned; else -1) */
	int running;
};

void xp_drift_release(struct xp_drift *dr);

/* Compares the guest dom (a record of xp_domain_get) with its profile now into *out
 * (released by the caller, also after a failure). Reads the profile, the guest's xl
 * config, its disk's and golden image's partition tables and superblocks; writes
 * nothing. Errors with a diagnostic: -ENOENT (the profile or the config is gone),
 * -EINVAL (the guest has no profile, or is not "ready"), -errno. A config the profile
 * cannot make now (e.g. kernel=from-image and no kernel in the guest's config) is a
 * warning: the config is then not compared. */
int xp_drift_compute(struct xp_inv *inv, const struct xp_domain *dom, struct xp_drift *out,
		     struct xp_diags *d);

struct xp_xl;

struct xp_drift_update_opts {
	bool dry_run; /* plan only: each item's status says what would happen */
	/* the toolstack asked whether the guest runs (toolstack.h), refreshed by the call;
	 * NULL: opened as xp_xl_open(NULL) finds it */
	struct xp_xl *xl;
	bool offline; /* the operator says the guest is shut down, where the toolstack
		       * cannot tell (it is never believed over a toolstack that lists it) */
};

/* Brings the guest name as close to its profile as can be done in place: the config
 * items, then the disk, then the guest's files (offline only), then the record, whose
 * settings take the profile's value of every key applied (xp_domain_set_settings).
 * *out (released by the caller) holds the items with their status. 0 when every item
 * but the recreate ones was applied (or planned); -EBUSY when offline work was refused
 * (the guest runs, or may); else the first failure's -errno, with diagnostics, after
 * what could be done was done and recorded. */
int xp_drift_update(struct xp_inv *inv, const char *name, const struct xp_drift_update_opts *o,
		    struct xp_drift *out, struct xp_diags *d);

/* {"domain", "profile", "drift": [{key, guest, profile, action, note, config:
 * [{setting, guest, profile}], status}], "running" (true/false/null, after an update)}.
 * Without secrets a secret key's values are null and "withheld": true. */
json_t *xp_drift_to_json(const struct xp_drift *dr, bool secrets);

/* Whether guest dom's disk holds another version of its captured image than its
 * profile's image names now ("NAME@V", or "NAME": the latest in the image store;
 * xenprov/imgstore.h): 1 and *want ("NAME@V", heap) if it does, 0 (*want NULL) if it
 * holds that version, has no recorded version, or its profile's image is no captured
 * image; -errno. `domain list --drift` shows it as "image-version". */
int xp_drift_image_version(struct xp_inv *inv, const struct xp_domain *dom, char **want);
/* The captured image version guest dom's profile names now (its own image value over
 * the profile's, resolved through the parents): 1 with *value (the image value, heap)
 * and *out (release it) when it names one; 0 when it names none (or the guest has no
 * profile); -errno. */
struct xp_imgver;
int xp_drift_wanted_image(struct xp_inv *inv, const struct xp_domain *dom, char **value,
			  struct xp_imgver *out);

#endif
