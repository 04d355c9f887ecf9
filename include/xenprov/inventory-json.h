/*
 * xenprov/inventory-json.h - the JSON of each inventory record, written once for every
 * view: the command line's --json, `profile export` and the boot server's HTTP API.
 * Secret values (profile keys marked XP_KEY_SECRET) appear only when asked for; left
 * out, their keys are named in a "withheld" array so that "set" and "unset" stay
 * distinguishable without the value.
 *
 * Every function returns a new reference (NULL only when memory runs out).
 */
#ifndef XENPROV_INVENTORY_JSON_H
#define XENPROV_INVENTORY_JSON_H

#include <stdbool.h>

#include <jansson.h>

#include "xenprov/inventory.h"

/* A JSON string of text (NULL: JSON null); bytes that are not UTF-8 become U+FFFD, so
 * a value from an image or a client never makes the whole document fail. */
json_t *xp_json_text(const char *text);

/* Names key in withheld (an array of key names) unless it is there already. */
void xp_json_withheld_add(json_t *withheld, const char *key);

/* Settings as an object KEY: VALUE. Without secrets, a secret key is left out and its
 * name appended to withheld (an array; once per key). */
json_t *xp_settings_to_json(const struct xp_settings *s, bool secrets, json_t *withheld);

/* {name, kernel, initrd, kernel_sha256, initrd_sha256, served, arch, kernel_options, os,
 * created, updated} */
json_t *xp_distro_to_json(const struct xp_distro *d);
/* {name, mac, ip, profile, distro, hostname, netboot, kernel_options, autoinstall,
 * created, updated} */
json_t *xp_system_to_json(const struct xp_system *s);
/* {name, parent, settings (its own values), withheld (only when some are)}; what
 * `profile export` writes and `profile import` reads. */
json_t *xp_profile_to_json(const struct xp_profile *p, bool secrets);
/* {name, profile, state, mac, ip, prefix (when known), storage, disk, config, golden,
 * settings (the effective values), withheld, overrides (the keys among settings that
 * are the guest's own), created, updated} */
json_t *xp_domain_to_json(const struct xp_domain *dom, bool secrets);
/* {id, profile, state, started, finished (null until it ends), request, total,
 * created, skipped, failed, cleaned (each null where not recorded), guests (left)} */
json_t *xp_deploy_record_to_json(const struct xp_deploy_record *rec);

#endif
