/*
 * cli.h - what every command file shares: the command and verb tables, usage text
 * (one source per command: the table entry), error printing and JSON output.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage.
 */
#ifndef XP_CLI_H
#define XP_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "xenprov/inventory-json.h"
#include "xenprov/util.h"

enum { XP_EXIT_OK = 0, XP_EXIT_FAIL = 1, XP_EXIT_USAGE = 2 };

struct xp_verb {
	const char *name;
	const char *summary;
	/* Usage text: the synopsis line(s), a blank line, then the options. Printed by -h,
	 * `xenprov help CMD VERB` and on usage errors. */
	const char *usage;
	/* argv[0] is the verb's name. */
	int (*run)(int argc, char **argv);
};

struct xp_command {
	const char *name;
	const char *summary;
	const char *usage;
	/* run (a command without verbs), or a NULL-terminated verb table, or both: then
	 * argv[1] naming a verb runs it, anything else runs run (deploy: `deploy list`,
	 * `deploy --profile P ...`). */
	int (*run)(int argc, char **argv);
	const struct xp_verb *const *verbs;
	/* left out of `xenprov --help` and of completion (`xenprov completion`) */
	bool hidden;
};

extern const struct xp_command *const xp_commands[];

/* Verbs, one per file where they are big enough to deserve one. */
extern const struct xp_command cmd_config;
extern const struct xp_command cmd_image;
extern const struct xp_command cmd_deploy;
extern const struct xp_command cmd_domain;
extern const struct xp_command cmd_profile;
extern const struct xp_command cmd_serve;
extern const struct xp_command cmd_import;
extern const struct xp_command cmd_pxeboot;
extern const struct xp_command cmd_sync;
extern const struct xp_command cmd_installer;
extern const struct xp_command cmd_install;
extern const struct xp_command cmd_completion;
extern const struct xp_verb config_disk_verb;
extern const struct xp_verb config_vif_verb;
extern const struct xp_verb domain_diff_verb;
extern const struct xp_verb domain_update_verb;
extern const struct xp_verb image_capture_verb;
extern const struct xp_verb image_versions_verb;
extern const struct xp_verb image_rm_verb;
extern const struct xp_verb image_diff_verb;
extern const struct xp_verb image_update_verb;

/* Runs cmd's verb named by argv[1]. */
int cli_run_verbs(const struct xp_command *cmd, int argc, char **argv);
/* Prints the usage of cmd, or of its verb; one that takes --state-dir is followed by
 * cli_inventory_help. */
void cli_print_usage(FILE *f, const struct xp_command *cmd, const struct xp_verb *verb);
/* What --inventory takes, the one text every usage shows it by. */
extern const char cli_inventory_help[];
/* Looks a verb up by name in a command's table (NULL if none). */
const struct xp_verb *cli_find_verb(const struct xp_command *cmd, const char *name);

/* The name errors begin with: "xenprov", or the name the program was run by when
 * that name chose the command ("xenprov-pxeboot"). */
extern const char *cli_prog;

/* "xenprov: MESSAGE\n" on stderr; returns XP_EXIT_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_error with a va_list. */
int cli_verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* "xenprov: MESSAGE\nTry 'xenprov CMD VERB -h'.\n" (cmdpath NULL: --help); returns 2. */
int cli_usage_error(const char *cmdpath, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* For getopt's '?': "xenprov: unknown option '--x' (or a missing value)". Returns 2. */
int cli_bad_option(const char *cmdpath, char **argv);
/* True if argv has -h or --help before any "--". */
bool cli_wants_help(int argc, char **argv);

/* ---- the options verbs share ---------------------------------------------------------- */

/* Which of the shared options a verb takes (cli_opts.takes). */
enum { CLI_JSON = 1u, CLI_QUIET = 2u, CLI_STATE_DIR = 4u, CLI_SECRETS = 8u };

/* The shared options, parsed in one place for every verb that takes them. */
struct cli_opts {
	unsigned takes;	       /* CLI_JSON | CLI_QUIET | CLI_STATE_DIR | CLI_SECRETS */
	bool json;	       /* --json */
	bool quiet;	       /* -q, --quiet */
	bool secrets;	       /* --secrets: views show secret values (xp_profile_key_secret) */
	const char *state_dir; /* --state-dir DIR (borrowed from argv); NULL: the default */
	/* The verb's operands, after the options (cli_operands): "NAME" exactly one NAME,
	 * "KEY VALUE" exactly those two, "" none, NULL any number (the verb checks them). */
	const char *operand;
};

/* getopt_long over a verb's own options (shortopts; longopts NULL-terminated, at most
 * CLI_OPTS_MAX, or NULL) and the shared ones co->takes names, which it handles itself
 * (the verb's own ids stay below 0x10000, and it has no -q of its own). Returns the
 * next of the verb's own options, 0 for one of them that set its flag, -1 after the
 * last option, '?' for an unknown option or a missing value (see cli_bad_option). */
#define CLI_OPTS_MAX 120
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       struct cli_opts *co);

/* Checks the operands at argv[optind..] against co->operand: "no NAME given",
 * "expected one NAME", "expected KEY VALUE", "unexpected argument 'X'". 0, or the
 * exit code of a usage error (for verb). */
int cli_operands(int argc, char **argv, const char *verb, const struct cli_opts *co);

/* The whole argument parsing of a verb whose own options are all flags (longopts
 * entries with a flag pointer, which getopt_long sets to val; or none): shortopts is
 * "+" to stop at the first operand, "" to take options after them too; then
 * cli_operands. The operands are left at argv[optind..]. 0, or the exit code of a
 * usage error (for verb). */
int cli_parse_flags(int argc, char **argv, const char *verb, const char *shortopts,
		    const struct option *longopts, struct cli_opts *co);

/* A library's messages for an operator, one a line: "xenprov: [warning: ][FILE: ]MSG",
 * each with its "    hint: " line. */
void cli_print_messages(const struct xp_diags *d);
/* A size for people: "512 B", "64 MiB", "1.5 GiB" (4 significant digits). */
void cli_human_size(uint64_t v, char out[32]);

/* Human form "file:line:col: severity: msg [text]" plus hint lines. */
void cli_print_diags(FILE *f, const struct xp_diags *d);
json_t *cli_diags_json(const struct xp_diags *d);

/* A one-line progress display on standard error, for long work: drawn only when asked
 * for (not --quiet, not --json) and standard error is a terminal, redrawn in place at
 * most ten times a second. Erase it before printing anything else. */
struct cli_progress {
	bool on;    /* drawing at all */
	bool drawn; /* a line is on the screen */
	struct timespec start, last;
};
void cli_progress_init(struct cli_progress *p, bool want);
/* Seconds since cli_progress_init. */
double cli_progress_elapsed(const struct cli_progress *p);
/* Draws the line (a 'printf' format) unless one was drawn less than 0.1 s ago; force
 * draws it anyway (a change the operator must see). */
void cli_progress_draw(struct cli_progress *p, bool force, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Erases the line, if one is drawn (keep: end it with a newline instead). */
void cli_progress_clear(struct cli_progress *p, bool keep);

/* Flushes standard output: 0, or XP_EXIT_FAIL after "cannot write output: REASON" if
 * it could not be written. */
int cli_flush(void);

/* Prints a JSON value (pretty when stdout is a terminal, compact otherwise) and a
 * newline, then frees it. Returns 0 or XP_EXIT_FAIL. */
int cli_print_json(json_t *v);

#endif
