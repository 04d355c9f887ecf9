/*
 * create-args.h - what `domain create` and `install` share (cmd-domain.c): the options
 * that describe one guest (--profile, --ip, --mac, --mac-prefix, --config-dir,
 * --autostart, every profile key as --KEY VALUE, --config.NAME VALUE, --set KEY=VALUE,
 * the shared --json, -q, --state-dir) parsed once, and the line that reports a guest
 * made.
 */
#ifndef XP_CMD_CREATE_ARGS_H
#define XP_CMD_CREATE_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "xenprov/domain.h"

/* option ids: the shared ones, a command's own from O_EXTRA0, the profile keys' */
enum {
	O_PROFILE = 256,
	O_IP,
	O_MAC,
	O_MACPREFIX,
	O_SET,
	O_CONFIGDIR,
	O_AUTOSTART,
	O_EXTRA0 = 500,
	O_KEY0 = 1000
};

struct create_args {
	struct xp_domain_create_opts o; /* overrides point at over, mac_prefix at prefix */
	struct xp_settings over;
	uint8_t prefix[5];
	struct cli_opts co;
	char **args; /* the arguments getopt saw; the operands from optind on */
	int nargs;
	struct option *opts;
};

/* Parses argv (from the verb's name on, as cli_getopt takes it) into a (released by the
 * caller whatever the result): the command's own options extra[] (ids from O_EXTRA0)
 * go to on_extra, which returns 0 or an exit code. 0, or the exit code of an error. */
int create_args_parse(const char *cmd, int argc, char **argv, const struct option *extra,
		      size_t nextra, int (*on_extra)(int c, const char *arg, void *ud), void *ud,
		      struct create_args *a);
void create_args_release(struct create_args *a);

/* "NAME: created: STORAGE disk PATH, mac M[, ip A/N]..., config PATH" */
void create_print(const struct xp_domain *dom, bool autostart);

#endif
