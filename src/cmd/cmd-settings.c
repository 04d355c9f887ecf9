/*
 * cmd-settings.c - `xenprov settings`: set, unset and show the boot server's settings
 * (its address, boot files, TFTP root, HTTP port, proxy DHCP, address pools) and
 * config-dir (where guests' xl configs go), and list the keys. Thin: parse arguments, call libxenprov (inventory.h), print. The library
 * checks and normalises every value (xp_server_setting_check) and knows the defaults.
 *
 * Not here: the server that reads them (`xenprov serve`).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"

static const char set_usage[] =
    "Usage: xenprov settings set KEY VALUE\n"
    "\n"
    "Sets one of the boot server's settings, or config-dir (where guests' xl configs\n"
    "go, after --config-dir and the profile's config-dir). The value is checked and\n"
    "stored normalised (addresses dotted, netmasks dotted, lease times in seconds).\n"
    "'xenprov settings keys' lists the keys; pool keys are pool.NAME.KEY.\n"
    "Systems whose reserved address the new settings make unusable (outside the\n"
    "pools' subnets, a router's, the server's...) are named in warnings.\n"
    "\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n"
    "\n"
    "Example:\n"
    "  xenprov settings set server 10.0.0.1\n"
    "  xenprov settings set config-dir /srv/xen\n"
    "  xenprov settings set pool.lab.range 10.0.0.100-10.0.0.199\n"
    "  xenprov settings set pool.lab.netmask /24\n";

static int run_set(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "KEY VALUE"};
	int rc = cli_parse_flags(argc, argv, "settings set", "", NULL, &co);
	if (rc)
		return rc;
	const char *key = argv[optind], *value = argv[optind + 1];
	/* checked before the inventory is opened: a typo changes nothing anywhere */
	struct xp_diags diags;
	xp_diags_init(&diags);
	char *norm = NULL;
	int r = xp_server_setting_check(key, value, &norm, &diags);
	free(norm);
	if (r == -EINVAL)
		rc = cli_inv_diags(&diags, "'%s' not set", key);
	else if (r < 0)
		rc = cli_error("out of memory");
	xp_diags_release(&diags);
	if (rc)
		return rc;
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	r = xp_server_setting_set(inv, key, value, &diags);
	if (r == -EINVAL)
		rc = cli_inv_diags(&diags, "'%s' not set", key);
	else if (r < 0)
		rc = cli_inv_error(inv, "set", key, r);
	else
		cli_print_diags(stderr, &diags); /* reservations the change made unusable */
	xp_diags_release(&diags);
	xp_inv_close(inv);
	return rc;
}

static const char unset_usage[] =
    "Usage: xenprov settings unset KEY\n"
    "\n"
    "Removes a setting: its default applies again (see 'xenprov settings keys').\n"
    "\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n"
    "\n"
    "Example: xenprov settings unset pool.lab.router\n";

static int run_unset(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "KEY"};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, "settings unset", "", NULL, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	const char *key = argv[optind];
	struct xp_diags diags;
	xp_diags_init(&diags);
	int r = xp_server_setting_unset(inv, key, &diags);
	if (r == -ENOENT)
		rc = cli_error("'%s' is not set", key);
	else if (r < 0)
		rc = cli_inv_error(inv, "unset", key, r);
	else
		cli_print_diags(stderr, &diags);
	xp_diags_release(&diags);
	xp_inv_close(inv);
	return rc;
}

static const char show_usage[] =
    "Usage: xenprov settings show [--json]\n"
    "\n"
    "Prints the settings in force: those set, and the defaults of the others\n"
    "(marked). Problems that would keep a pool from serving (a range without a\n"
    "netmask, a router outside the subnet, ...) are printed as warnings.\n"
    "\n"
    "  --json      one JSON array of {key, value, default (true: not set)}\n" CLI_STATE_DIR_HELP
    "  -h, --help  this help\n";

/* Warnings about what keeps the stored settings from serving, and the systems' reserved
 * addresses they make unusable (in sys, from xp_system_ip_audit). */
static void warn_problems(const struct xp_settings *stored, const struct xp_diags *sys)
{
	struct xp_server_pool *pools;
	size_t n;
	struct xp_diags d;
	xp_diags_init(&d);
	if (xp_server_pools(stored, &pools, &n, &d) == 0)
		xp_server_pools_free(pools, n);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "xenprov: warning: %s\n", d.v[i].msg);
	if (!xp_settings_get(stored, "server"))
		fprintf(stderr, "xenprov: warning: 'server' is not set: the boot server needs "
				"its address (xenprov settings set server ADDR)\n");
	for (size_t i = 0; i < sys->n; i++)
		fprintf(stderr, "xenprov: warning: %s\n", sys->v[i].msg);
	xp_diags_release(&d);
}

static int run_show(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR, .operand = ""};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, "settings show", "", NULL, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	struct xp_settings stored = {0}, eff = {0}, dflt = {0};
	struct xp_diags sys;
	xp_diags_init(&sys);
	int r = xp_inv_begin(inv); /* one snapshot */
	if (r == 0)
		r = xp_server_settings_get(inv, &stored);
	if (r == 0)
		r = xp_server_settings_effective(inv, &eff, &dflt);
	if (r == 0 && (r = xp_system_ip_audit(inv, &stored, &sys)) > 0)
		r = 0;
	xp_inv_rollback(inv); /* read only */
	if (r < 0)
		rc = cli_inv_error(inv, "read the settings in", xp_inv_state_dir(inv), r);
	xp_inv_close(inv);
	if (rc == 0)
		warn_problems(&stored, &sys);
	xp_diags_release(&sys);
	if (rc == 0 && co.json) {
		json_t *a = json_array();
		for (size_t i = 0; i < eff.n; i++) {
			json_t *j = json_object();
			json_object_set_new(j, "key", json_string(eff.v[i].key));
			json_object_set_new(j, "value", xp_json_text(eff.v[i].value));
			json_object_set_new(
			    j, "default",
			    json_boolean(xp_settings_get(&dflt, eff.v[i].key) != NULL));
			json_array_append_new(a, j);
		}
		rc = cli_print_json(a);
	} else if (rc == 0) {
		const char **cells = calloc((eff.n + 1) * 3, sizeof(*cells));
		if (!cells) {
			rc = cli_error("out of memory");
		} else {
			cells[0] = "KEY";
			cells[1] = "VALUE";
			cells[2] = "";
			for (size_t i = 0; i < eff.n; i++) {
				cells[(i + 1) * 3] = eff.v[i].key;
				cells[(i + 1) * 3 + 1] = eff.v[i].value;
				cells[(i + 1) * 3 + 2] =
				    xp_settings_get(&dflt, eff.v[i].key) ? "(default)" : "";
			}
			cli_print_table(cells, 3, eff.n + 1);
			free(cells);
			rc = cli_flush();
		}
	}
	xp_settings_release(&stored);
	xp_settings_release(&eff);
	xp_settings_release(&dflt);
	return rc;
}

static const char keys_usage[] =
    "Usage: xenprov settings keys\n"
    "\n"
    "Lists the keys 'xenprov settings set' takes, what each takes, its default and\n"
    "what it is for. In pool.NAME.KEY, NAME is a pool's name (letters, digits, '-',\n"
    "'_'); a pool needs at least a range and a netmask.\n"
    "\n"
    "  -h, --help  this help\n";

static int run_keys(int argc, char **argv)
{
	/* --state-dir is taken, as by every verb of settings, and not needed */
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = ""};
	int rc = cli_parse_flags(argc, argv, "settings keys", "", NULL, &co);
	if (rc)
		return rc;
	size_t n = 0;
	while (xp_server_keys[n].key)
		n++;
	const char **cells = calloc((n + 1) * 4, sizeof(*cells));
	if (!cells)
		return cli_error("out of memory");
	const char *head[] = {"KEY", "VALUE", "DEFAULT", "MEANING"};
	memcpy(cells, head, sizeof(head));
	for (size_t i = 0; i < n; i++) {
		const struct xp_profile_key *k = &xp_server_keys[i];
		const char *dflt = xp_server_setting_default(k->key);
		if (strcmp(k->key, "next-server") == 0)
			dflt = "server";
		else if (strcmp(k->key, "tftp-root") == 0)
			dflt = "STATE_DIR/tftp";
		const char *row[] = {k->key, k->arg, dflt, k->help};
		memcpy(&cells[(i + 1) * 4], row, sizeof(row));
	}
	cli_print_table(cells, 4, n + 1);
	free(cells);
	return cli_flush();
}

static const struct xp_verb set_verb = {"set", "set a setting", set_usage, run_set};
static const struct xp_verb unset_verb = {"unset", "remove a setting (its default applies)",
					  unset_usage, run_unset};
static const struct xp_verb show_verb = {"show", "print the settings in force", show_usage,
					 run_show};
static const struct xp_verb keys_verb = {"keys", "list the keys and what they take", keys_usage,
					 run_keys};

static const struct xp_verb *const settings_verbs[] = {
    &set_verb, &unset_verb, &show_verb, &keys_verb, NULL,
};

const struct xp_command cmd_settings = {
    .name = "settings",
    .summary = "settings: the boot server's (address, boot files, pools), config-dir",
    .usage = "Usage: xenprov settings VERB [OPTIONS] ARGS...\n"
	     "\n"
	     "The boot server's ('xenprov serve') settings: the address clients reach it\n"
	     "at, its TFTP root and HTTP port, the boot files it offers, whether it is a\n"
	     "proxy DHCP server, and its address pools (pool.NAME.*); and config-dir,\n"
	     "where guests' xl configs go. They live in the inventory, inventory.db in\n"
	     "the state directory.\n",
    .verbs = settings_verbs,
};
