/*
 * xenprov/template.h - autoinstall templates rendered for a machine: the preseed,
 * kickstart or cloud-init files a system's installer fetches from the boot server
 * (/autoinstall/SYSTEM, boot.h), and the cloud-init NoCloud seed volume a deployed
 * guest gets (profile key cloud-init). Templates are Mustache (mustache.h), stored in
 * the inventory or shipped with xenprov (inventory.h, "autoinstall templates"); a
 * template's partials ({{> NAME}}) are other templates: Cobbler's snippets.
 *
 * The variables (one JSON object; Cobbler's "blended" values, one flat namespace):
 *   every effective profile value under its own key (memory, timezone, domain, ...;
 *   the list keys as lists of their items; not write, whose content may be secret,
 *   nor copy-in, the inventory host's paths), then, over them:
 *   name, hostname, domain, fqdn           the machine (domain: the profile's, else
 *                                          its DHCP pool's)
 *   mac, ip, prefix, netmask, gateway      its first NIC (ip: a system's reserved
 *                                          address, which DHCP hands it; null: none)
 *   nameservers (list), has-nameservers
 *   static, dhcp                           how its first NIC is configured
 *   nics                                   every NIC: {index, mac, ip, prefix, netmask,
 *                                          gateway, dhcp, static, default-route,
 *                                          nameservers, has-nameservers, domain}, each
 *                                          key present (null or false when unset) so
 *                                          that nothing falls through to the top
 *   ssh-keys, has-ssh-keys                 root's keys: {key, shell (one sh word, single
 *                                          quoted), json (a JSON string, also a YAML
 *                                          scalar)}
 *   root-password-hash                     required: interpolating it unset is an error
 *   profile, distro, arch, os              what it boots
 *   server, next-server, http-base         the boot server
 *   autoinstall-url                        where its installer fetches the file
 *   kernel-options                         the system's own
 *   instance-id                            cloud-init's: "xenprov-NAME-MAC"
 *
 * Not here: storing templates (inventory.h), serving them (boot.h, net/), the renderer.
 */
#ifndef XENPROV_TEMPLATE_H
#define XENPROV_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "xenprov/inventory.h"
#include "xenprov/util.h"

/* The shipped templates that make cloud-init's NoCloud files. */
#define XP_TEMPLATE_CLOUD_USER_DATA "cloud-init-user-data"
#define XP_TEMPLATE_CLOUD_META_DATA "cloud-init-meta-data"
#define XP_TEMPLATE_CLOUD_NETWORK_CONFIG "cloud-init-network-config"

struct xp_shipped_template {
	const char *name;
	const char *summary;
	const char *text;
};
/* The shipped templates, by name; the last has name NULL. */
extern const struct xp_shipped_template xp_shipped_templates[];
/* The shipped template of that name, or NULL. */
const struct xp_shipped_template *xp_template_shipped(const char *name);

/* ---- the variables ------------------------------------------------------------------------ */

/* A NIC of the machine. */
struct xp_template_nic {
	const char *mac;     /* canonical */
	const char *ip;	     /* NULL: none */
	unsigned prefix;     /* of ip */
	const char *gateway; /* an address, or NULL */
	bool dhcp;	     /* configured by DHCP (then ip may still be what DHCP hands it) */
	bool default_route;  /* its gateway (or DHCP's router) is the default route */
	const char *dns;     /* comma-separated name servers, or NULL */
	const char *domain;  /* DNS search domain, or NULL */
};

/* What a template is rendered for: a system of the boot server or a guest. Every field
 * may be NULL (nnics 0) but name. */
struct xp_template_subject {
	const char *name, *hostname, *domain;
	const char *profile;
	const struct xp_settings *settings; /* the profile's effective values */
	const struct xp_distro *distro;
	const struct xp_settings *server; /* the boot server's settings */
	const char *http_base;		  /* "http://host[:port]" */
	const char *autoinstall_url;
	const char *kernel_options;
	const struct xp_template_nic *nics; /* the first is the machine's own */
	size_t nnics;
};

/* The variables of s (above), a new JSON object. -ENOMEM, or -EINVAL for a stored list
 * value that does not read. */
int xp_template_vars(const struct xp_template_subject *s, json_t **out);

/* Renders template `name` (stored, else shipped) with vars into out: its partials are
 * the inventory's templates; root-password-hash is required. -ENOENT (a diagnostic)
 * when there is no such template; the renderer's errors (mustache.h). */
int xp_template_render(struct xp_inv *inv, const char *name, const json_t *vars,
		       struct xp_buf *out, struct xp_diags *d);

/* ---- a system's autoinstall files --------------------------------------------------------- */

/* What /autoinstall/SYSTEM[/FILE] serves: the system's template (MAIN, and USER_DATA:
 * its installer's file, cloud-init's user-data for a NoCloud one), cloud-init's
 * meta-data and network-config (the shipped or overriding templates of those names),
 * and vendor-data (empty). */
enum xp_autoinstall_file {
	XP_AUTOINSTALL_MAIN,
	XP_AUTOINSTALL_USER_DATA,
	XP_AUTOINSTALL_META_DATA,
	XP_AUTOINSTALL_NETWORK_CONFIG,
	XP_AUTOINSTALL_VENDOR_DATA,
};
/* The file of that name ("user-data", ...; "" is MAIN): 0 and *f, or -ENOENT. */
int xp_autoinstall_file_parse(const char *name, enum xp_autoinstall_file *f);

/* The template system s is served: its own, else its profile's `autoinstall` through
 * the parent chain. Heap string; -ENOENT when it has none. */
int xp_autoinstall_template_name(struct xp_inv *inv, const struct xp_system *s, char **name);

/* The variables of system s, read from the inventory (its profile, distro, the server
 * settings and the pool its address is in). http_base may be NULL (no
 * autoinstall-url then). */
int xp_autoinstall_vars(struct xp_inv *inv, const struct xp_system *s, const char *http_base,
			json_t **out, struct xp_diags *d);

/* File f of system s rendered into out; the template used in *used (may be NULL; heap).
 * -ENOENT with a diagnostic when the system has no template (or the template is gone);
 * the renderer's errors. */
int xp_autoinstall_render(struct xp_inv *inv, const struct xp_system *s,
			  enum xp_autoinstall_file f, const char *http_base, struct xp_buf *out,
			  char **used, struct xp_diags *d);

/* The kernel command-line words by which the installer of OS family os (xp_distro.os)
 * fetches its file at url (http_base/autoinstall/SYSTEM), appended to out separated by
 * spaces: debian "auto=true priority=critical url=URL", ubuntu "autoinstall
 * ds=nocloud;s=URL/", redhat "inst.ks=URL", suse "autoyast=URL"; nothing when os or
 * url is NULL or os unknown. */
void xp_autoinstall_boot_args(const char *os, const char *url, struct xp_buf *out);

/* The base URL of the boot server's HTTP as its clients reach it, "http://SERVER" or
 * "http://SERVER:PORT", from the settings st (server; http-port unless port is not 0),
 * into buf; "" when server is not set. */
void xp_autoinstall_http_base(const struct xp_settings *st, unsigned port, char *buf,
			      size_t size);

/* ---- cloud-init's NoCloud seed volume ----------------------------------------------------- */

/* The files of a seed, rendered. */
struct xp_cloud_seed {
	struct xp_buf user_data, meta_data, network_config;
};
void xp_cloud_seed_release(struct xp_cloud_seed *s);

/* Renders the seed of subject s: user-data from template user_data (NULL:
 * cloud-init-user-data), which must be cloud-init user data (its first line
 * "#cloud-config", a "#!" script, "#include" or a MIME "Content-Type:"; -EINVAL with
 * a diagnostic otherwise: a preseed named by mistake), meta-data and network-config
 * from their templates. */
int xp_cloud_seed_render(struct xp_inv *inv, const struct xp_template_subject *s,
			 const char *user_data, struct xp_cloud_seed *out, struct xp_diags *d);

/* Writes the seed as an ISO 9660 volume with Rock Ridge and Joliet names (libarchive),
 * volume identifier "cidata" (what cloud-init's NoCloud looks for, blkid's LABEL),
 * holding user-data, meta-data and network-config, padded with zeros to exactly size
 * bytes (XP_CLOUD_SEED_SIZE): made unnamed (O_TMPFILE) in path's directory, mode 0600
 * (it may hold a password hash), named path only when whole; never over a file that
 * exists (-EEXIST). -EFBIG when the files do not fit. */
#define XP_CLOUD_SEED_SIZE (1u << 20)
int xp_cloud_seed_write(const struct xp_cloud_seed *s, const char *path, uint64_t size,
			struct xp_diags *d);

#endif
