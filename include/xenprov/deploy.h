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
 * full disk (-ENOSPC) stops starting new guests. The guests' addresses from a pool are
 * planned before any is made, in the order of their names (xp_ip_pool_pick_many), so
 * they do not depend on which worker finishes first; the config directory is checked
 * once, before anything is made.
 */
#ifndef XENPROV_DEPLOY_H
#define XENPROV_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/domain.h"
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
	const char *config_dir; /* NULL: the profile's config-dir, the setting config-dir,
				 * /etc/xen (xp_domain_config_dir) */
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
	bool stopped; /* stopped early (a full disk, or lost below) */
	bool lost;    /* the inventory's database connection was lost (PostgreSQL) */
};

/* Runs a deploy. Returns 0 when every guest exists at the end, -EIO when some failed
 * (each reported through the event callback and diags), or -errno when the run could
 * not start (no profile, no golden image...). */
int xp_deploy_run(const struct xp_deploy_opts *o, struct xp_deploy_result *res,
		  struct xp_diags *diags);

/* ---- rollback ---------------------------------------------------------------------- */

struct xp_deploy_rollback_opts {
	const char *state_dir;
	/* The deploy; 0: the newest deploy that still has guests (of profile, if given). */
	int64_t deploy_id;
	const char *profile; /* with deploy_id 0: among this profile's deploys; NULL: any */
	/* Guests the toolstack runs: refused, or with stop->force shut down first
	 * (xp_domains_stop_for_removal); NULL: refused. */
	const struct xp_stop_opts *stop;
};

/* What a rollback would remove: the deploy, and each of its guests with the files
 * and volumes removed with it (its artifacts: kind "config" and "disk"). */
struct xp_rollback_guest {
	struct xp_domain dom;
	struct xp_artifact *art;
	size_t nart;
	/* the toolstack runs it: the rollback refuses it, or with stop->force shuts it
	 * down first */
	bool running;
};
struct xp_rollback_plan {
	struct xp_deploy_record deploy;
	/* How many deploys still have guests (this one included), of the profile asked
	 * when one was: a caller choosing the newest for its user can tell when that was
	 * not the only one. */
	size_t with_guests;
	struct xp_rollback_guest *guests; /* in name order */
	size_t n;
};
void xp_rollback_plan_release(struct xp_rollback_plan *plan);

/* The guests deploy id made that are left, in name order (xp_domain_list_free). Run
 * it in a transaction of inv for one snapshot. */
int xp_deploy_guests(struct xp_inv *inv, int64_t id, struct xp_domain **v, size_t *n);

/* Reads what xp_deploy_rollback with the same options would remove, removing and
 * stopping nothing (the toolstack is only asked which guests run). -ENOENT with a
 * diagnostic (code "rollback") for an unknown id, or when no deploy (of the profile)
 * has guests left. */
int xp_deploy_rollback_plan(const struct xp_deploy_rollback_opts *o, struct xp_rollback_plan *plan,
			    struct xp_diags *diags);

/* Removes every guest a deploy made, as xp_domain_delete does (config, storage,
 * record; in name order), and marks the deploy rolled back. Every guest is checked
 * before any is removed (rollback_stop in deploy.c, the one place where guests are
 * refused or stopped): guests the toolstack runs are refused, all of them and nothing
 * removed (-EBUSY, a diagnostic each), unless o->stop->force: then they are shut down
 * first, destroyed after o->stop->timeout, and one that could not be stopped keeps its
 * disk (counted failed). -ENOENT as xp_deploy_rollback_plan; -EIO when some guest could
 * not be removed (the others were). res->deploy_id is the deploy, res->cleaned counts
 * the guests removed, res->failed those that could not be. */
int xp_deploy_rollback(const struct xp_deploy_rollback_opts *o, struct xp_deploy_result *res,
		       struct xp_diags *diags);

/* ---- a deploy's addresses (alloc.c) -------------------------------------------------- */

/* An address wanted from a pool, for one of a deploy's guests. */
struct xp_ip_want {
	const char *pool;     /* "A.B.C.D/N" (8 <= N <= 30); NULL: none wanted */
	const char *gateway;  /* may be NULL */
	const char *reserved; /* "A[,B...]": addresses not for guests (the profile's DNS
			       * servers); may be NULL */
	/* out: r 0 and the address in ip (with its prefix), "" where none was wanted;
	 * -ENOSPC: the pool has no free address left; -EINVAL: a bad pool or gateway */
	char ip[16];
	unsigned prefix;
	int r;
};

/* The addresses of n guests at once, given in the order they are to be handed out (a
 * deploy gives its guests in name order): each gets the lowest address of its pool
 * that is not the network, broadcast or its gateway's, not one of its reserved ones,
 * not one of used[] (dotted quads; the unparsable are ignored) and not one an earlier
 * guest got, as xp_domain_alloc_ip would give them if the guests were made one after
 * the other. Linear in the pools' sizes and n. 0, or -ENOMEM. */
int xp_ip_pool_pick_many(struct xp_ip_want *want, size_t n, const char *const *used,
			 size_t nused);

#endif
