/* config-vif.c - placeholder until the vif spec verb lands. */
#include "cli.h"

static int run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("config vif: not built yet");
}

const struct xp_verb config_vif_verb = {
	.name = "vif",
	.summary = "show what xl makes of a vif spec",
	.usage = "Usage: xenprov config vif SPEC...\n",
	.run = run,
};
