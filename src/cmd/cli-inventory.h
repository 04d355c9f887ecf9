/*
 * cli-inventory.h - what the inventory's commands (distro, system, settings) share:
 * opening the inventory named by --state-dir, library failures as messages, times and
 * JSON strings for output.
 */
#ifndef XP_CLI_INVENTORY_H
#define XP_CLI_INVENTORY_H

#include <jansson.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "xenprov/inventory.h"

/* The commands (cmd-distro.c, cmd-system.c, cmd-settings.c). */
extern const struct xp_command cmd_distro;
extern const struct xp_command cmd_system;
extern const struct xp_command cmd_settings;
extern const struct xp_command cmd_template;
/* cmd-check.c, cmd-report.c */
extern const struct xp_command cmd_check;
extern const struct xp_command cmd_report;
/* cmd-inventory.c */
extern const struct xp_command cmd_inventory;

#define CLI_STATE_DIR_HELP                                                                         \
	"  --state-dir DIR  the inventory's directory (default: $XENPROV_STATE_DIR, else\n"        \
	"                   /var/lib/xenprov as root, else $XDG_STATE_HOME/xenprov)\n"

/* The state directory: given (--state-dir), else the default (xp_state_dir_default),
 * into *out (heap). 0, or XP_EXIT_FAIL after printing why not. */
int cli_state_dir(const char *given, char **out);

/* Opens the inventory in state_dir (NULL: the default). 0, or XP_EXIT_FAIL after
 * printing why not. */
int cli_inv_open(const char *state_dir, struct xp_inv **inv);

/* The remove verb of KIND ("distro", "system"): parses NAME and --state-dir, calls
 * remove; "no KIND 'NAME'" for -ENOENT, the inventory's reason for the rest. */
int cli_inv_remove(int argc, char **argv, const char *kind,
		   int (*remove)(struct xp_inv *inv, const char *name));

/* Reads one record: get(inv, name, out) with a struct of KIND. */
typedef int (*cli_inv_get_fn)(struct xp_inv *inv, const char *name, void *out);

/* The reading half of the show verb of KIND: parses [--json] NAME and --state-dir and
 * reads the record into out ("no KIND 'NAME'" for -ENOENT). 0, or the exit code after
 * printing why not. */
int cli_inv_show(int argc, char **argv, const char *kind, bool *json, cli_inv_get_fn get,
		 void *out);

/* A kind of record the list verb reads: how the names are listed and a record (of
 * size bytes) read, shown as JSON and released. */
struct cli_inv_rows {
	const char *kind; /* "distro" */
	size_t size;
	int (*list)(struct xp_inv *inv, char ***names, size_t *n);
	cli_inv_get_fn get;
	json_t *(*to_json)(const void *row);
	void (*release)(void *row);
};

/* The list verb of a kind: parses [--json] and --state-dir, lists the names and reads
 * every record in one snapshot. With --json it prints them (one JSON array) itself and
 * gives none back; else they are in *rows (heap, *n of them, for cli_inv_rows_free).
 * 0, or the exit code after printing why not. */
int cli_inv_list(int argc, char **argv, const struct cli_inv_rows *k, void **rows, size_t *n);
void cli_inv_rows_free(const struct cli_inv_rows *k, void *rows, size_t n);

/* A library result about NAME of KIND as the exit code: 0 for r >= 0, "no KIND
 * 'NAME'" for -ENOENT, else "cannot DOING KIND 'NAME': REASON". */
int cli_inv_result(struct xp_inv *inv, const char *kind, const char *doing, const char *name,
		   int r);

/* "'NAME' is not a valid KIND name (...)" unless valid; returns valid. */
bool cli_inv_name_ok(const char *kind, const char *name, bool valid);

/* The end of add/edit argument parsing: "nothing to change" for an edit without
 * options, the name's check, the inventory opened. 0 or the exit code. */
int cli_inv_args_done(const char *verb, const char *kind, bool edit, bool any, bool name_valid,
		      const char *name, const char *state_dir, struct xp_inv **inv);

/* The text options of an inventory record's add and edit, as a table: --NAME VALUE
 * sets the record's string at off (offsetof of a char *); on edit, a clearable field's
 * --no-NAME sets it to NULL. */
#define CLI_FIELDS_MAX 8
struct cli_field {
	const char *name;
	size_t off;
	bool clearable;
};
struct cli_fields {
	const char *val[CLI_FIELDS_MAX]; /* given values (borrowed from argv), NULL if not */
	bool clear[CLI_FIELDS_MAX];	 /* --no-NAME given */
	const char *state_dir;
	bool any; /* some option other than --state-dir */
};
/* Parses the options of `KIND add|edit NAME` (verb "KIND add"/"KIND edit"): the fields
 * of f[0..n), --state-dir, and the command's own options in extra (getopt_long
 * entries whose val is >= 1024; NULL-terminated), handed with their argument to
 * on_extra(ud, val, optarg), which returns 0 or an exit code. Refuses an option given
 * with its --no- form ("give --X or --no-X, not both"), a --no- form on add, and
 * anything but one NAME (left at argv[optind]). 0 or the exit code (2). */
int cli_fields_parse(int argc, char **argv, const char *verb, bool edit, const struct cli_field *f,
		     size_t n, const struct option *extra, int (*on_extra)(void *ud, int id, const char *arg),
		     void *ud, struct cli_fields *out);
/* Sets each field given in a of the record rec to its value (borrowed), or to NULL
 * where --no-NAME was given. */
void cli_fields_apply(const struct cli_field *f, size_t n, const struct cli_fields *a, void *rec);

/* The start of an edit: a transaction, and NAME read into out (rolled back and the
 * reason printed when it cannot be). 0 or the exit code. */
int cli_inv_get_for_edit(struct xp_inv *inv, const char *kind, const char *name, cli_inv_get_fn get,
			 void *out);

/* The end of an add (edit false) or edit of KIND NAME whose write returned r: on edit
 * the transaction committed (r 0) or rolled back; then 0, or the exit code after
 * printing why not: the library's diagnostics of refused values ("KIND 'NAME' not
 * added"), "KIND 'NAME' exists (use 'xenprov KIND edit')", or the inventory's reason. */
int cli_inv_written(struct xp_inv *inv, const char *kind, bool edit, const char *name,
		    const struct xp_diags *diags, int r);

/* "xenprov: cannot WHAT 'NAME': REASON": the database's own text for refusals and I/O
 * errors. Returns XP_EXIT_FAIL. */
int cli_inv_error(struct xp_inv *inv, const char *what, const char *name, int r);

/* Prints a library's diagnostics (cli_print_diags) and "xenprov: SUMMARY". Returns
 * XP_EXIT_FAIL. */
int cli_inv_diags(const struct xp_diags *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The value of an --ssh-key argument (a key line, or a file of key lines), through
 * xp_ssh_key_arg; its errors printed as "xenprov: [FILE[:LINE]: ]MESSAGE" with the hint.
 * 0, or XP_EXIT_FAIL. *out is a heap string. */
int cli_ssh_key_arg(const char *arg, char **out);

/* A profile value's diagnostics (xp_profile_check, xp_profile_list_add) as
 * "xenprov: PREFIXMESSAGE[ (got 'TEXT')]" lines, each with its hint. */
void cli_value_diags(const struct xp_diags *d, const char *prefix);

/* One item of a profile list key (copy-in, write, firstboot-command: inventory.h) given
 * on the command line, added to s's list with xp_profile_list_add; copy-in's LOCALPATH
 * (before the last ":/") must exist and is stored as its realpath(3). Errors printed as
 * "xenprov: MESSAGE (got 'TEXT')" with the hint. 0, or XP_EXIT_FAIL. */
int cli_list_item(struct xp_settings *s, const char *key, const char *item);

/* "2026-11-25T23:00:00Z". */
void cli_fmt_time(int64_t t, char out[32]);


/* Prints "key  value" lines, keys padded to the longest; NULL values as "-". */
void cli_print_fields(const char *const *keys, const char *const *values, size_t n);

/* Prints a table: nrows rows of ncols cells, row-major, the first row the header;
 * columns padded to their widest cell (the last not padded), NULL cells as "-". */
void cli_print_table(const char *const *cells, size_t ncols, size_t nrows);


/* ---- secrets (xp_profile_key_secret) -------------------------------------------------- */

/* What text views print instead of a secret value. */
#define CLI_SECRET_TEXT "(secret: --secrets shows it)"
/* The option the views that can show secrets take, and its help line. */
#define CLI_SECRETS_HELP "  --secrets   show secret values (root-password-hash, ...) too\n"

/* "xenprov: warning: MESSAGE" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The keys in which a guest differs from its profile now (`domain list --drift`,
 * cmd-domain-drift.c): a JSON array ([] for a guest that is not ready), or NULL after a
 * warning when it cannot be compared. */
json_t *cli_domain_drift_keys(struct xp_inv *inv, const struct xp_domain *dom);

#endif
