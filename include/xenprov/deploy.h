/*
 * xenprov/deploy.h - many guests at once (`xenprov deploy`): the golden image prepared
 * once, then xp_domain_create for every guest on a pool of worker threads, each with its
 * own inventory connection.
 *
 * Idempotent: a guest that exists, complete ('ready'), from the same profile, is
 * skipped. Crash-safe: a guest left half made by a killed run (its row still says
 * 'creating', with the paths of what it had planned) is cleaned up and made again, so
 * running the same command again finishes the work and leaves no orphan. Every run is
 * recorded in the deploys table and its guests carry its id, so xp_deploy_rollback
 * removes everything one run made. A failing guest is reported and the others go on; a
 * full disk (-ENOSPC) stops starting new guests.
 */
#ifndef XENPROV_DEPLOY_H
#define XENPROV_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/inventory.h"
#include "xenprov/toolstack.h"
#include "xenprov/util.h"

struct xp_deploy_guest {
	const char *name;
	const char *ip;  /* NULL: from the profile's pool, or DHCP */
	const char *mac; /* NULL: random */
	const struct xp_settings *overrides; /* may be NULL */
};

enum xp_deploy_event_kind {
	XP_DEPLOY_GOLDEN,  /* the golden image is ready (message: its path) */
	XP_DEPLOY_CLEANED, /* a half-made guest of an earlier run was removed */
	XP_DEPLOY_SKIPPED, /* exists and is complete */
	XP_DEPLOY_CREATED,
	XP_DEPLOY_FAILED,  /* message: why */
	XP_DEPLOY_STOPPED, /* no more guests started (message: why) */
	XP_DEPLOY_WARNING, /* a guest was made, with a warning (message, code); before
			    * its XP_DEPLOY_CREATED */
	XP_DEPLOY_PREPARING, /* the golden image is being built (message: what is being
			      * done: mmdebstrap's phase, or MiB and entries written); at
			      * most a few a second, before XP_DEPLOY_GOLDEN */
};

struct xp_deploy_event {
	enum xp_deploy_event_kind kind;
	const char *name;    /* the guest, NULL for run-wide events */
	const char *message; /* may be NULL */
	const char *code;    /* XP_DEPLOY_WARNING: the diagnostic's stable code */
	size_t done, total;  /* guests finished (created, skipped or failed) of all */
	size_t created, skipped, failed;
	double elapsed;      /* seconds since the start */
};

/* Called from worker threads, one call at a time. */
typedef void (*xp_deploy_event_fn)(void *ud, const struct xp_deploy_event *ev);

struct xp_deploy_opts {
	const char *state_dir;
	const char *profile;
	const struct xp_deploy_guest *guests;
	size_t n;
	unsigned jobs;          /* worker threads; 0: the number of online CPUs */
	const char *config_dir; /* NULL: /etc/xen */
	xp_deploy_event_fn event;
	void *ud;
	const char *request;    /* recorded with the run (e.g. the command line); may be NULL */
	/* Profile values for every guest of this run (keys as in xp_profile_keys), over
	 * the profile's and under each guest's own overrides; they also choose the golden
	 * image. Validated by xp_domain_create (xp_profile_check). May be NULL. */
	const struct xp_settings *overrides;
};

struct xp_deploy_result {
	int64_t deploy_id;
	size_t created, skipped, failed, cleaned;
	bool stopped; /* stopped early (a full disk) */
};

/* Runs a deploy. Returns 0 when every guest exists at the end, -EIO when some failed
 * (each reported through the event callback and diags), or -errno when the run could
 * not start (no profile, no golden image...). */
int xp_deploy_run(const struct xp_deploy_opts *o, struct xp_deploy_result *res,
		  struct xp_diags *diags);

/* Removes every guest a deploy made (deploy_id 0: the last deploy that made guests;
 * -ENOENT for an unknown id), and marks it
 * rolled back. res->cleaned counts the guests removed. Guests the toolstack runs are
 * refused, all of them and nothing removed (-EBUSY), unless stop->force: then they are
 * shut down first, destroyed after stop->timeout (xp_domains_stop_for_removal); stop
 * may be NULL (refuse). */
int xp_deploy_rollback(const char *state_dir, int64_t deploy_id, const char *config_dir,
		       const struct xp_stop_opts *stop, struct xp_deploy_result *res,
		       struct xp_diags *diags);

#endif
