/*
 * main.c - the xenprov program: global options and the command table. Each command
 * lives in its own cmd-<name>.c; its usage text is its table entry (one source for
 * -h, `xenprov help CMD` and usage errors).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xp-version.h"

const struct xp_command *const xp_commands[] = {
	&cmd_config,
	&cmd_image,
	&cmd_domain,
	&cmd_profile,
	&cmd_deploy,
	&cmd_distro,
	&cmd_system,
	&cmd_installer,
	&cmd_settings,
	&cmd_inventory,
	&cmd_template,
	&cmd_serve,
	&cmd_import,
	&cmd_pxeboot,
	&cmd_check,
	&cmd_report,
	&cmd_sync,
	&cmd_install,
	&cmd_completion,
	NULL,
};

static const char main_usage[] =
	"Usage: xenprov [--version] [--help] COMMAND [VERB] [ARGS...]\n"
	"\n"
	"xenprov builds and deploys Xen guest domains: xl configs, guest disk images,\n"
	"inventory, deployment and network boot, in one program.\n";

static void print_main_usage(FILE *f)
{
	fputs(main_usage, f);
	fputs("\nCommands:\n", f);
	for (const struct xp_command *const *c = xp_commands; *c; c++)
		if (!(*c)->hidden)
			fprintf(f, "  %-10s %s\n", (*c)->name, (*c)->summary);
	fputs("  help       show a command's usage: xenprov help COMMAND [VERB]\n", f);
	fputs(cli_inventory_help, f);
	fputs("\nRun 'xenprov COMMAND -h' for a command's usage; 'man xenprov-COMMAND' for more.\n",
	      f);
}

static const struct xp_command *find_command(const char *name)
{
	for (const struct xp_command *const *c = xp_commands; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

static int run_help(int argc, char **argv)
{
	if (argc < 2) {
		print_main_usage(stdout);
		return XP_EXIT_OK;
	}
	const struct xp_command *c = find_command(argv[1]);
	if (!c)
		return cli_usage_error("help", "'%s' is not a xenprov command", argv[1]);
	const struct xp_verb *v = NULL;
	if (argc > 2) {
		v = cli_find_verb(c, argv[2]);
		if (!v)
			return cli_usage_error("help", "'%s' is not a verb of '%s'", argv[2],
					       argv[1]);
	}
	cli_print_usage(stdout, c, v);
	return XP_EXIT_OK;
}

int main(int argc, char **argv)
{
	opterr = 0; /* commands say what is wrong themselves */
	/* installed as xenprov-pxeboot (a link to this binary) for xl's bootloader= */
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : argv[0];
	if (base && strcmp(base, "xenprov-pxeboot") == 0) {
		cli_prog = "xenprov-pxeboot";
		if (cli_wants_help(argc, argv)) {
			cli_print_usage(stdout, &cmd_pxeboot, NULL);
			return XP_EXIT_OK;
		}
		return cmd_pxeboot.run(argc, argv);
	}
	if (argc < 2) {
		print_main_usage(stderr);
		return XP_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("xenprov %s\n", XP_VERSION);
		return XP_EXIT_OK;
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		print_main_usage(stdout);
		return XP_EXIT_OK;
	}
	if (strcmp(name, "help") == 0)
		return run_help(argc - 1, argv + 1);
	if (name[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", name);

	const struct xp_command *c = find_command(name);
	if (!c)
		return cli_usage_error(NULL, "'%s' is not a xenprov command", name);
	if (c->verbs)
		return cli_run_verbs(c, argc - 1, argv + 1);
	if (cli_wants_help(argc - 1, argv + 1)) {
		cli_print_usage(stdout, c, NULL);
		return XP_EXIT_OK;
	}
	return c->run(argc - 1, argv + 1);
}
