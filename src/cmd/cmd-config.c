/*
 * cmd-config.c - `xenprov config`: read, lint, edit and print xl domain configs.
 */
#include "cli.h"

static const struct xp_verb *const config_verbs[] = {
	&config_disk_verb,
	&config_vif_verb,
	NULL,
};

const struct xp_command cmd_config = {
	.name = "config",
	.summary = "read, lint, edit and print xl domain configs",
	.usage = "Usage: xenprov config VERB [OPTIONS] ...\n",
	.verbs = config_verbs,
};
