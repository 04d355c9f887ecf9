/*
 * cmd-domain-drift.c - `xenprov domain diff` and `domain update`: where guests differ
 * from their profile now, and what changes in place; and the drift keys `domain list
 * --drift` shows. Thin: the work is in src/lib/deploy/drift.c (xenprov/drift.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xenprov/drift.h"
#include "xenprov/inventory.h"

/* ---- shared ----------------------------------------------------------------------------- */

/* The guests a verb works on: the NAMEs given, or every guest of --profile P. */
struct targets {
	char **names;
	size_t n;
};

static void targets_release(struct targets *t)
{
	xp_strv_free(t->names, t->n);
	memset(t, 0, sizeof(*t));
}

static int targets_of(struct xp_inv *inv, const char *cmd, const char *profile, int argc,
		      char **argv, struct targets *t)
{
	memset(t, 0, sizeof(*t));
	if (profile && argc > 0)
		return cli_usage_error(cmd, "give NAMEs or --profile P, not both");
	if (!profile && argc == 0)
		return cli_usage_error(cmd, "NAME or --profile P is required");
	if (!profile) {
		t->names = calloc((size_t)argc, sizeof(*t->names));
		for (int i = 0; t->names && i < argc; i++)
			if ((t->names[t->n] = strdup(argv[i])))
				t->n++;
		return t->names && t->n == (size_t)argc ? 0 : cli_error("out of memory");
	}
	struct xp_profile p;
	int r = xp_profile_get(inv, profile, &p);
	if (r < 0)
		return cli_inv_result(inv, "profile", "read", profile, r);
	xp_profile_release(&p);
	struct xp_domain *v;
	size_t n;
	if ((r = xp_domain_list(inv, &v, &n)) < 0)
		return cli_error("cannot read the inventory: %s", xp_inv_errmsg(inv));
	t->names = calloc(n ? n : 1, sizeof(*t->names));
	for (size_t i = 0; t->names && i < n; i++)
		if (v[i].profile && strcmp(v[i].profile, profile) == 0 &&
		    (t->names[t->n] = strdup(v[i].name)))
			t->n++;
	xp_domain_list_free(v, n);
	return t->names ? 0 : cli_error("out of memory");
}

/* The end of diff and update: the JSON array (all; NULL for text) printed or the text
 * flushed, what they held released. The exit code: rc, else the output's. */
static int finish(int rc, json_t *all, struct targets *t, struct xp_inv *inv)
{
	int out = all ? cli_print_json(all) : cli_flush();
	targets_release(t);
	xp_inv_close(inv);
	return rc ? rc : out;
}

/* A value as the text views show it. */
static const char *shown(const struct xp_drift_item *it, const char *v, bool secrets,
			 const char *none)
{
	if (!v)
		return none;
	return it->secret && !secrets ? CLI_SECRET_TEXT : v;
}

/* One guest's drift, as a diff: "-KEY = GUEST", "+KEY = PROFILE", the config's
 * settings behind it, and what applying it needs. */
static void print_diff(const struct xp_drift *dr, const char *config, bool secrets)
{
	if (dr->n == 0) {
		printf("%s: no drift from profile %s\n", dr->name, dr->profile);
		return;
	}
	printf("--- %s (the guest: its record and %s)\n", dr->name, config);
	printf("+++ %s (the profile now)\n", dr->profile);
	for (size_t i = 0; i < dr->n; i++) {
		const struct xp_drift_item *it = &dr->v[i];
		bool record_same = (it->guest == it->profile) ||
				   (it->guest && it->profile && strcmp(it->guest, it->profile) == 0);
		if (!record_same) {
			printf("-%s = %s\n", it->key, shown(it, it->guest, secrets, "(unset)"));
			printf("+%s = %s\n", it->key, shown(it, it->profile, secrets, "(unset)"));
		}
		for (size_t k = 0; k < it->nxl; k++) {
			const struct xp_drift_xl *x = &it->xl[k];
			if (record_same) {
				/* the record agrees with the profile: the config was edited */
				printf("-%s = %s (the config's %s)\n", it->key,
				       shown(it, x->guest, secrets, "(absent)"), x->setting);
				printf("+%s = %s\n", it->key,
				       shown(it, x->profile, secrets, "(absent)"));
			} else {
				printf("    config: %s = %s -> %s\n", x->setting,
				       shown(it, x->guest, secrets, "(absent)"),
				       shown(it, x->profile, secrets, "(absent)"));
			}
		}
		printf("    %s: %s\n", xp_drift_action_name(it->action), it->note ? it->note : "");
	}
}

/* ---- diff --------------------------------------------------------------------------------- */

static const char diff_usage[] =
    "Usage: xenprov domain diff [--json] [--secrets] NAME... | --profile P\n"
    "\n"
    "Shows, value by value, where guests differ from their profile now: the settings\n"
    "recorded when each guest was made (or last updated) and its actual xl config,\n"
    "against the profile's resolved values (the guest's own create options kept).\n"
    "Each difference says what applying it needs: config (edited in place, at the\n"
    "guest's next start), disk (grown offline), guest (its files rewritten offline),\n"
    "record (nothing in the guest) or recreate (cannot change in place). Changes\n"
    "nothing; `domain update` applies them.\n"
    "\n"
    "  --profile P       every guest of profile P\n"
    "  --json            JSON output: an array, one object per guest\n"
    "  --secrets         show secret values (root-password-hash, ...) too\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n"
    "\n"
    "Example:\n"
    "  xenprov profile edit web --memory 1024 && xenprov domain diff web1\n";

enum { O_PROFILE = 256, O_DRY_RUN, O_OFFLINE };

static const struct option diff_opts[] = {
    {"profile", required_argument, NULL, O_PROFILE},
    {NULL, 0, NULL, 0},
};
static const struct option update_opts[] = {
    {"profile", required_argument, NULL, O_PROFILE},
    {"dry-run", no_argument, NULL, O_DRY_RUN},
    {"offline", no_argument, NULL, O_OFFLINE},
    {NULL, 0, NULL, 0},
};

/* The start of diff (opts diff_opts) and update: their options, the inventory opened,
 * the guests named (or --profile's). 0, or the exit code after saying why not. */
static int begin(int argc, char **argv, const char *cmd, const struct option *opts,
		 struct cli_opts *co, int *dry_run, int *offline, struct xp_inv **inv,
		 struct targets *t)
{
	const char *profile = NULL;
	int c, rc;
	optind = 0;
	while ((c = cli_getopt(argc, argv, "", opts, co)) != -1) {
		switch (c) {
		case O_PROFILE:
			profile = optarg;
			break;
		case O_DRY_RUN:
			*dry_run = 1;
			break;
		case O_OFFLINE:
			*offline = 1;
			break;
		default:
			return cli_bad_option(cmd, argv);
		}
	}
	if ((rc = cli_inv_open(co->state_dir, inv)) != 0)
		return rc;
	if ((rc = targets_of(*inv, cmd, profile, argc - optind, argv + optind, t)) != 0)
		xp_inv_close(*inv);
	return rc;
}

static int run_diff(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_SECRETS | CLI_STATE_DIR};
	int unused = 0;
	struct xp_inv *inv;
	struct targets t;
	int rc = begin(argc, argv, "domain diff", diff_opts, &co, &unused, &unused, &inv, &t);
	if (rc)
		return rc;
	json_t *all = co.json ? json_array() : NULL;
	for (size_t i = 0; i < t.n; i++) {
		struct xp_domain dom;
		int r = xp_domain_get(inv, t.names[i], &dom);
		if (r < 0) {
			rc = cli_inv_result(inv, "domain", "read", t.names[i], r);
			continue;
		}
		struct xp_diags d;
		xp_diags_init(&d);
		struct xp_drift dr;
		r = xp_drift_compute(inv, &dom, &dr, &d);
		if (r < 0) {
			fprintf(stderr, "xenprov: cannot compare domain '%s' with its profile\n",
				t.names[i]);
			rc = XP_EXIT_FAIL;
		}
		cli_print_messages(&d);
		xp_diags_release(&d);
		if (r == 0 && all)
			json_array_append_new(all, xp_drift_to_json(&dr, co.secrets));
		else if (r == 0)
			print_diff(&dr, dom.config_path, co.secrets);
		xp_drift_release(&dr);
		xp_domain_release(&dom);
	}
	return finish(rc, all, &t, inv);
}

/* ---- update ----------------------------------------------------------------------------- */

static const char update_usage[] =
    "Usage: xenprov domain update [--dry-run] [--offline] [--json] NAME... | --profile P\n"
    "\n"
    "Applies to guests what changed in their profile, as far as it can change in place\n"
    "(see `domain diff`): the xl config's values (memory, vcpus, on_*, extra, bridge,\n"
    "any config.NAME) are edited in the config, comments and layout kept, written\n"
    "atomically, and take effect at the guest's next start; a larger disk-size grows\n"
    "the disk, its root partition and filesystem; SSH keys, the root password, the\n"
    "time zone and a static guest's DNS settings are rewritten in the guest's files.\n"
    "Disks and files are changed only while the guest is shut down: the toolstack\n"
    "(`xl list -l`) must say it is stopped, or, where no toolstack answers (not in\n"
    "dom0), --offline says so. What cannot change in place (image, storage, fs, ...)\n"
    "is reported and left. The inventory records what was applied.\n"
    "\n"
    "  --profile P       every guest of profile P\n"
    "  --dry-run         show the plan; change nothing\n"
    "  --offline         the guests are shut down (where the toolstack cannot tell)\n"
    "  --json            JSON output: an array, one object per guest, with each\n"
    "                    difference's status\n"
    "  --secrets         show secret values (root-password-hash, ...) too\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status: 0 when everything that can change in place was changed (or, with\n"
    "--dry-run, would be), 1 when something failed or was refused.\n"
    "\n"
    "Example:\n"
    "  xenprov profile edit web --memory 1024 && xenprov domain update --profile web\n";

static const char *status_text(enum xp_drift_status s)
{
	switch (s) {
	case XP_DRIFT_PLANNED:
		return "would apply";
	case XP_DRIFT_APPLIED:
		return "applied";
	case XP_DRIFT_REFUSED:
		return "refused";
	case XP_DRIFT_FAILED:
		return "failed";
	case XP_DRIFT_LEFT:
		return "left";
	}
	return "?";
}

static void print_update(const struct xp_drift *dr, bool dry_run, bool secrets)
{
	if (dr->n == 0) {
		printf("%s: no drift from profile %s: nothing to do\n", dr->name, dr->profile);
		return;
	}
	size_t applied = 0, left = 0;
	for (size_t i = 0; i < dr->n; i++) {
		const struct xp_drift_item *it = &dr->v[i];
		printf("%s: %s: %s -> %s: %s%s (%s): %s\n", dr->name, it->key,
		       shown(it, it->guest, secrets, "(unset)"),
		       shown(it, it->profile, secrets, "(unset)"),
		       dry_run && it->status == XP_DRIFT_REFUSED ? "would be " : "",
		       status_text(it->status), xp_drift_action_name(it->action),
		       it->note ? it->note : "");
		applied += it->status == XP_DRIFT_APPLIED || it->status == XP_DRIFT_PLANNED;
		left += it->status == XP_DRIFT_LEFT;
	}
	printf("%s: %s %zu of %zu difference%s%s\n", dr->name, dry_run ? "would apply" : "applied",
	       applied, dr->n, dr->n == 1 ? "" : "s",
	       left ? "; the rest needs the guest made anew" : "");
	bool config = false;
	for (size_t i = 0; i < dr->n; i++)
		config |= dr->v[i].action == XP_DRIFT_CONFIG && dr->v[i].status != XP_DRIFT_FAILED;
	if (config && dr->running > 0)
		printf("%s: it runs: its config's changes take effect once it is shut down and "
		       "started again (domain shutdown --wait, domain start)\n",
		       dr->name);
}

static int run_update(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_SECRETS | CLI_STATE_DIR};
	int dry_run = 0, offline = 0;
	struct xp_inv *inv;
	struct targets t;
	int rc = begin(argc, argv, "domain update", update_opts, &co, &dry_run, &offline, &inv,
		       &t);
	if (rc)
		return rc;
	const struct xp_drift_update_opts o = {.dry_run = dry_run, .offline = offline};
	json_t *all = co.json ? json_array() : NULL;
	for (size_t i = 0; i < t.n; i++) {
		struct xp_diags d;
		xp_diags_init(&d);
		struct xp_drift dr;
		int r = xp_drift_update(inv, t.names[i], &o, &dr, &d);
		if (r < 0) {
			rc = XP_EXIT_FAIL;
			if (d.n == 0)
				fprintf(stderr, "xenprov: cannot update domain '%s': %s\n",
					t.names[i], strerror(-r));
		}
		cli_print_messages(&d);
		xp_diags_release(&d);
		/* what was done (or refused) is said also after a failure */
		if (dr.name && all)
			json_array_append_new(all, xp_drift_to_json(&dr, co.secrets));
		else if (dr.name)
			print_update(&dr, dry_run, co.secrets);
		xp_drift_release(&dr);
	}
	return finish(rc, all, &t, inv);
}

/* ---- list --drift ------------------------------------------------------------------------ */

json_t *cli_domain_drift_keys(struct xp_inv *inv, const struct xp_domain *dom)
{
	if (!dom->state || strcmp(dom->state, "ready") != 0)
		return json_array(); /* a guest being made or removed has no profile to match */
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_drift dr;
	int r = xp_drift_compute(inv, dom, &dr, &d);
	json_t *keys = NULL;
	if (r == 0) {
		keys = json_array();
		for (size_t i = 0; i < dr.n; i++)
			json_array_append_new(keys, json_string(dr.v[i].key));
		char *want = NULL;
		if (xp_drift_image_version(inv, dom, &want) > 0)
			json_array_append_new(keys, json_string("image-version"));
		free(want);
	} else {
		cli_warn("cannot compare domain '%s' with its profile: %s", dom->name,
			 d.n ? d.v[0].msg : strerror(-r));
	}
	xp_drift_release(&dr);
	xp_diags_release(&d);
	return keys;
}

/* ---- the verbs ---------------------------------------------------------------------------- */

const struct xp_verb domain_diff_verb = {"diff", "show where guests differ from their profile",
					 diff_usage, run_diff};
const struct xp_verb domain_update_verb = {
    "update", "apply profile changes to guests in place", update_usage, run_update};
