/*
 * domain-life.h - the running side of `xenprov domain` (cmd-domain-life.c): its verbs,
 * for cmd-domain.c's table, and what list and show add from the toolstack.
 */
#ifndef XP_DOMAIN_LIFE_H
#define XP_DOMAIN_LIFE_H

#include <jansson.h>

#include "xenprov/inventory.h"
#include "xenprov/toolstack.h"

extern const struct xp_verb domain_start_verb;
extern const struct xp_verb domain_shutdown_verb;
extern const struct xp_verb domain_reboot_verb;
extern const struct xp_verb domain_destroy_verb;
extern const struct xp_verb domain_console_verb;
extern const struct xp_verb domain_autostart_verb;
extern const struct xp_verb domain_block_list_verb;

/* The toolstack, asked once (`xl list -l`); what it cannot tell is "unknown", never an
 * error. NULL only when out of memory (every state is then unknown too). */
struct xp_xl *domain_toolstack(void);
/* Adds "power" (running, stopped, unknown), "domid" (when running) and "autostart"
 * to a domain's JSON object. xl may be NULL. */
void domain_runtime_json(json_t *o, const struct xp_domain *dom, const struct xp_xl *xl);
/* The same as `show`'s text lines "power: ..." and "autostart: ...". */
void domain_runtime_text(const struct xp_domain *dom, const struct xp_xl *xl);
/* "on" or "off": the guest's autostart link. */
const char *domain_autostart_word(const struct xp_domain *dom);

/* --timeout SECS: 0..86400. 0, or the exit code of a usage error. */
int domain_timeout_arg(const char *verb, const char *arg, unsigned *out);

#endif
