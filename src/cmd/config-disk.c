/* config-disk.c - placeholder until the disk spec verb lands. */
#include "cli.h"

static int run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("config disk: not built yet");
}

const struct xp_verb config_disk_verb = {
	.name = "disk",
	.summary = "show what xl makes of a disk spec",
	.usage = "Usage: xenprov config disk SPEC...\n",
	.run = run,
};
