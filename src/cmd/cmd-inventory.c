/*
 * cmd-inventory.c - `xenprov inventory`: the inventory's database itself: migrate (to
 * this program's schema version) and copy (every table from one database to another,
 * SQLite or PostgreSQL). Thin: parse arguments, call libxenprov (inventory.h:
 * xp_inv_open_raw, xp_inv_migrate, xp_inv_copy), print.
 *
 * Not here: what a location is and where it comes from (store.c), the records.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"

/* The inventory named by location (NULL: --inventory, $XENPROV_INVENTORY, the state
 * directory's), opened as it is; *shown its location for messages, password hidden.
 * 0 or XP_EXIT_FAIL after saying why not. */
static int open_raw(const char *state_dir, const char *location, struct xp_inv **inv, char *shown,
		    size_t len)
{
	char *dir = NULL, *loc = NULL;
	int rc = cli_state_dir(state_dir, &dir);
	if (rc)
		return rc;
	if (xp_inv_location(dir, location, &loc) < 0 || !loc || !*loc || strcmp(loc, "sqlite") == 0)
		snprintf(shown, len, "sqlite:%s/inventory.db", dir);
	else
		xp_inv_location_redact(loc, shown, len);
	free(loc);
	char why[640];
	int r = xp_inv_open_raw(dir, location, inv, why, sizeof(why));
	if (r < 0 && why[0])
		rc = cli_error("cannot open the %s", why);
	else if (r < 0)
		rc = cli_error("cannot open the inventory '%s': %s", shown, strerror(-r));
	free(dir);
	return rc;
}

static const char migrate_usage[] =
    "Usage: xenprov inventory migrate [--dry-run] [--json]\n"
    "\n"
    "Brings the inventory's schema to this xenprov's version, in one transaction,\n"
    "and says from which version to which. Every command migrates the inventory it\n"
    "opens; this does it on purpose (before a copy, or to check a database without\n"
    "changing it). A schema newer than this xenprov is refused.\n"
    "\n"
    "  --dry-run   change nothing: say which versions it would go from and to\n"
    "  --json      {inventory, from, to, latest, changed}\n" CLI_STATE_DIR_HELP
    "  -h, --help  this help\n"
    "\n"
    "Example:\n"
    "  xenprov inventory migrate --inventory postgresql://db.example/xenprov\n";

static int run_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {{"dry-run", no_argument, NULL, 'n'},
						 {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_STATE_DIR | CLI_JSON, .operand = ""};
	bool dry = false;
	int c;
	while ((c = cli_getopt(argc, argv, "", longopts, &co)) != -1) {
		if (c == 'n')
			dry = true;
		else
			return cli_bad_option("inventory migrate", argv);
	}
	int rc = cli_operands(argc, argv, "inventory migrate", &co);
	if (rc)
		return rc;
	struct xp_inv *inv;
	char shown[512];
	if ((rc = open_raw(co.state_dir, NULL, &inv, shown, sizeof(shown))))
		return rc;
	int from, to, latest = xp_inv_schema_latest();
	int r = xp_inv_migrate(inv, dry, &from, &to);
	if (r == -EPROTO)
		rc = cli_error("the inventory '%s' has schema version %d, newer than this xenprov "
			       "(%d): upgrade xenprov to use it",
			       shown, from, latest);
	else if (r < 0)
		rc = cli_inv_error(inv, "migrate", shown, r);
	xp_inv_close(inv);
	if (rc)
		return rc;
	if (co.json)
		return cli_print_json(json_pack("{s:s, s:i, s:i, s:i, s:b, s:b}", "inventory",
						shown, "from", from, "to", to, "latest", latest,
						"changed", !dry && from != to, "dry_run", dry));
	if (from == to)
		printf("inventory '%s': schema version %d, up to date\n", shown, from);
	else
		printf("inventory '%s': schema version %d -> %d%s\n", shown, from, to,
		       dry ? " (dry run: not changed)" : "");
	return cli_flush();
}

static const char copy_usage[] =
    "Usage: xenprov inventory copy --from LOCATION --to LOCATION [--force] [--json]\n"
    "\n"
    "Copies every table of one inventory into another, in one transaction on the\n"
    "target: profiles and their settings, distros, systems, domains, leases,\n"
    "templates, deploys, install attempts... with their ids and references as they\n"
    "are (PostgreSQL's sequences are set past the ids copied). Prints the rows\n"
    "copied per table. A LOCATION is sqlite (the state directory's), sqlite:PATH\n"
    "(a database file, or a directory's inventory.db) or postgresql://HOST/DB\n"
    "(no password in it: PGPASSFILE or a service file). Both must be at this\n"
    "xenprov's schema version ('xenprov inventory migrate' first). The source is\n"
    "read in one snapshot and not changed.\n"
    "\n"
    "  --from LOCATION  the inventory to copy\n"
    "  --to LOCATION    the inventory to fill: refused if it holds any record\n"
    "  --force          replace what the target holds\n"
    "  --json           {from, to, rows, tables: {TABLE: ROWS}}\n" CLI_STATE_DIR_HELP
    "  -h, --help       this help\n"
    "\n"
    "Example:\n"
    "  xenprov inventory copy --from sqlite:/var/lib/xenprov/inventory.db \\\n"
    "      --to postgresql://db.example/xenprov\n";

static int run_copy(int argc, char **argv)
{
	static const struct option longopts[] = {{"from", required_argument, NULL, 'f'},
						 {"to", required_argument, NULL, 't'},
						 {"force", no_argument, NULL, 'F'},
						 {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_STATE_DIR | CLI_JSON, .operand = ""};
	const char *src = NULL, *dst = NULL;
	bool force = false;
	int c;
	while ((c = cli_getopt(argc, argv, "", longopts, &co)) != -1) {
		if (c == 'f')
			src = optarg;
		else if (c == 't')
			dst = optarg;
		else if (c == 'F')
			force = true;
		else
			return cli_bad_option("inventory copy", argv);
	}
	int rc = cli_operands(argc, argv, "inventory copy", &co);
	if (rc)
		return rc;
	if (!src || !dst)
		return cli_usage_error("inventory copy", "both --from and --to are needed");
	if (strcmp(src, dst) == 0)
		return cli_usage_error("inventory copy", "--from and --to name the same inventory");
	struct xp_inv *from = NULL, *to = NULL;
	char sfrom[512], sto[512];
	if ((rc = open_raw(co.state_dir, src, &from, sfrom, sizeof(sfrom))) ||
	    (rc = open_raw(co.state_dir, dst, &to, sto, sizeof(sto)))) {
		xp_inv_close(from);
		return rc;
	}
	struct xp_inv_copied *counts = NULL;
	size_t n = 0;
	int r = xp_inv_copy(from, to, force, &counts, &n);
	int latest = xp_inv_schema_latest();
	if (r == -ESTALE && xp_inv_schema_version(from) != xp_inv_schema_version(to))
		rc = cli_error("cannot copy: the schemas differ ('%s' is at version %d, '%s' at "
			       "%d); run 'xenprov inventory migrate --inventory LOCATION' on the "
			       "one behind version %d first",
			       sfrom, xp_inv_schema_version(from), sto, xp_inv_schema_version(to),
			       latest);
	else if (r == -ESTALE)
		rc = cli_error("cannot copy: %s; run 'xenprov inventory migrate --inventory "
			       "LOCATION' on both first",
			       xp_inv_errmsg(to));
	else if (r == -ENOTEMPTY)
		rc = cli_error("cannot copy into '%s': %s", sto, xp_inv_errmsg(to));
	else if (r < 0)
		rc = cli_error("cannot copy '%s' to '%s': %s (%s)", sfrom, sto, strerror(-r),
			       xp_inv_errmsg(to));
	xp_inv_close(from);
	xp_inv_close(to);
	if (rc) {
		free(counts);
		return rc;
	}
	int64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += counts[i].rows;
	if (co.json) {
		json_t *tables = json_object();
		for (size_t i = 0; tables && i < n; i++)
			json_object_set_new(tables, counts[i].table, json_integer(counts[i].rows));
		free(counts);
		return cli_print_json(json_pack("{s:s, s:s, s:I, s:o*}", "from", sfrom, "to", sto,
						"rows", (json_int_t)total, "tables", tables));
	}
	for (size_t i = 0; i < n; i++)
		printf("%-20s %lld\n", counts[i].table, (long long)counts[i].rows);
	printf("copied %lld rows in %zu tables from '%s' to '%s'\n", (long long)total, n, sfrom,
	       sto);
	free(counts);
	return cli_flush();
}

static const struct xp_verb migrate_verb = {
    "migrate", "bring the inventory's schema to this xenprov's version", migrate_usage,
    run_migrate};
static const struct xp_verb copy_verb = {
    "copy", "copy every table from one inventory to another (SQLite, PostgreSQL)", copy_usage,
    run_copy};

static const struct xp_verb *const inventory_verbs[] = {&migrate_verb, &copy_verb, NULL};

const struct xp_command cmd_inventory = {
    .name = "inventory",
    .summary = "the inventory's database: migrate its schema, copy it (SQLite, PostgreSQL)",
    .usage = "Usage: xenprov inventory VERB [OPTIONS]\n"
	     "\n"
	     "The inventory's database itself: SQLite's inventory.db in the state\n"
	     "directory by default, or PostgreSQL (--inventory postgresql://...).\n",
    .verbs = inventory_verbs,
};
