/*
 * cmd-system.c - `xenprov system`: add, edit, show, list and remove the machines (or
 * domUs) the boot server knows by MAC: each with an optional reserved IPv4 address,
 * and what it boots, a profile's distro or a distro (Cobbler's systems).
 * Thin: parse arguments, call libxenprov (inventory.h), print. The library checks the
 * values and stores the MAC canonical.
 *
 * Not here: dynamic addresses (leases), the boot files (boot.h).
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"
#include "xenprov/autoinstall.h"

#define SYSTEM_OPTIONS                                                                             \
	"  --mac MAC               its MAC, xx:xx:xx:xx:xx:xx or xx-xx-xx-xx-xx-xx (unicast)\n"    \
	"  --ip ADDR               the IPv4 address reserved for it (default: one from a\n"        \
	"                          pool of the boot server); in a pool's subnet, not its\n"        \
	"                          network, broadcast or router address, nor the server's\n"       \
	"  --profile P             it boots the distro of profile P (refused when P names\n"     \
	"                          none, itself or by inheritance, unless --netboot off)\n"      \
	"  --distro D              it boots distro D\n"                                            \
	"  --hostname NAME         its host name (default: the system's name)\n"                   \
	"  --netboot on|off        off: offer no boot file; it boots its own disk (default on)\n"  \
	"  --install on|off        on: it installs itself on its next network boot: its boot\n"  \
	"                          config then boots the installer (xenprov-installer(1)),\n"    \
	"                          with a token good for that system and one install attempt\n" \
	"                          (the same at every rendering; a reported failure ends the\n" \
	"                          attempt); off: no longer, the token refused (default off).\n" \
	"                          A successful install sets --install off and --netboot off.\n" \
	"                          Give it --ip: without a reservation, any address leased to\n" \
	"                          its MAC gets the installer's entry and token\n"               \
	"  --kernel-options TEXT   appended to its kernel command line (no xenprov.* words:\n"   \
	"                          those are the boot server's own)\n"                            \
	"  --autoinstall TEMPLATE  the autoinstall template it is served at\n"                    \
	"                          /autoinstall/NAME (default: its profile's autoinstall);\n"    \
	"                          its boot config then points its installer there\n"

static const char add_usage[] =
    "Usage: xenprov system add NAME --mac MAC (--profile P | --distro D) [--ip ADDR]\n"
    "                          [--hostname NAME] [--netboot on|off] [--install on|off]\n"
    "                          [--kernel-options TEXT] [--autoinstall TEMPLATE]\n"
    "\n"
    "Adds a system: a machine the boot server knows by its MAC. It gets its reserved\n"
    "address (or one from a pool) and boots the distro of its profile, or its own\n"
    "distro. MAC and address are each one system's only.\n"
    "\n" SYSTEM_OPTIONS CLI_STATE_DIR_HELP "  -h, --help              this help\n"
    "\n"
    "Example:\n"
    "  xenprov system add web1 --mac 52:54:00:12:34:56 --ip 10.0.0.11 --profile web\n";

static const char edit_usage[] =
    "Usage: xenprov system edit NAME [--mac MAC] [--ip ADDR | --no-ip]\n"
    "                           [--profile P | --distro D] [--hostname NAME | --no-hostname]\n"
    "                           [--netboot on|off] [--install on|off]\n"
    "                           [--kernel-options TEXT | --no-kernel-options]\n"
    "                           [--autoinstall TEMPLATE | --no-autoinstall]\n"
    "\n"
    "Changes a system: only what is given; the rest stays. --profile replaces its\n"
    "distro and --distro its profile.\n"
    "\n" SYSTEM_OPTIONS "  --no-ip                 no reserved address: one from a pool\n"
    "  --no-hostname           the host name is the system's name again\n"
    "  --no-kernel-options     no further kernel command line\n"
    "  --no-autoinstall        its profile's autoinstall template again (if any)\n"
    CLI_STATE_DIR_HELP
    "  -h, --help              this help\n"
    "\n"
    "Example: xenprov system edit web1 --netboot off\n";

/* add and edit's options: the system's text fields, and --netboot */
enum { F_MAC, F_IP, F_PROFILE, F_DISTRO, F_HOSTNAME, F_KOPTS, F_AUTOINSTALL, F_N };
static const struct cli_field fields[F_N] = {
    [F_MAC] = {"mac", offsetof(struct xp_system, mac), false},
    [F_IP] = {"ip", offsetof(struct xp_system, ip), true},
    [F_PROFILE] = {"profile", offsetof(struct xp_system, profile), false},
    [F_DISTRO] = {"distro", offsetof(struct xp_system, distro), false},
    [F_HOSTNAME] = {"hostname", offsetof(struct xp_system, hostname), true},
    [F_KOPTS] = {"kernel-options", offsetof(struct xp_system, kernel_options), true},
    [F_AUTOINSTALL] = {"autoinstall", offsetof(struct xp_system, autoinstall), true},
};
enum { O_NETBOOT = 1024, O_INSTALL };
static const struct option extra[] = {
    {"netboot", required_argument, NULL, O_NETBOOT},
    {"install", required_argument, NULL, O_INSTALL},
    {NULL, 0, NULL, 0},
};

struct system_args {
	struct cli_fields f;
	const char *verb;
	int netboot; /* -1: not given */
	int install; /* -1: not given */
};

static int on_netboot(void *ud, int id, const char *arg)
{
	struct system_args *a = ud;
	const char *opt = id == O_INSTALL ? "--install" : "--netboot";
	if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
		return cli_usage_error(a->verb, "%s takes on or off, not '%s'", opt, arg);
	*(id == O_INSTALL ? &a->install : &a->netboot) = strcmp(arg, "on") == 0;
	return 0;
}

static int parse(int argc, char **argv, bool edit, struct system_args *a, struct xp_inv **inv)
{
	const char *verb = edit ? "system edit" : "system add";
	*a = (struct system_args){.verb = verb, .netboot = -1, .install = -1};
	int rc = cli_fields_parse(argc, argv, verb, edit, fields, F_N, extra, on_netboot, a, &a->f);
	if (rc)
		return rc;
	a->f.any |= a->install >= 0;
	const char *const *v = a->f.val;
	if (v[F_PROFILE] && v[F_DISTRO])
		return cli_usage_error(verb, "give --profile or --distro, not both");
	if (!edit && !v[F_MAC])
		return cli_usage_error(verb, "--mac is required");
	if (!edit && !v[F_PROFILE] && !v[F_DISTRO])
		return cli_usage_error(verb, "--profile or --distro is required");
	return cli_inv_args_done(verb, "system", edit, a->f.any, xp_system_name_valid(argv[optind]),
				 argv[optind], a->f.state_dir, inv);
}

static int get_system(struct xp_inv *inv, const char *name, void *out)
{
	return xp_system_get(inv, name, out);
}

/* add, and edit (argv[0]): the system read, changed and written back in one
 * transaction (no lost update) */
static int run_write(int argc, char **argv)
{
	bool edit = strcmp(argv[0], "edit") == 0;
	struct system_args a;
	struct xp_inv *inv;
	int rc = parse(argc, argv, edit, &a, &inv);
	if (rc)
		return rc;
	const char *name = argv[optind];
	struct xp_diags diags;
	xp_diags_init(&diags);
	struct xp_system s = {.name = (char *)name, .netboot = true};
	if (edit && (rc = cli_inv_get_for_edit(inv, "system", name, get_system, &s)))
		goto out;
	/* the new strings are borrowed from argv; s's own are freed below */
	struct xp_system up = s;
	/* --profile replaces the distro and --distro the profile */
	if (a.f.val[F_PROFILE] || a.f.val[F_DISTRO])
		up.profile = up.distro = NULL;
	cli_fields_apply(fields, F_N, &a.f, &up);
	if (a.netboot >= 0)
		up.netboot = a.netboot;
	/* the system and its mark in one transaction (edit's is open already) */
	bool mark = a.install >= 0;
	int r = !edit && mark ? xp_inv_begin(inv) : 0;
	if (r == 0)
		r = edit ? xp_system_update(inv, &up, &diags) : xp_system_add(inv, &up, &diags);
	if (r == 0 && mark)
		r = xp_install_mark(inv, name, a.install);
	if (!edit && mark)
		r = r == 0 ? xp_inv_commit(inv) : (xp_inv_rollback(inv), r);
	rc = cli_inv_written(inv, "system", edit, name, &diags, r);
	for (size_t i = 0; rc == 0 && i < diags.n; i++) { /* warnings of what was written */
		cli_warn("%s", diags.v[i].msg);
		if (diags.v[i].hint)
			fprintf(stderr, "    hint: %s\n", diags.v[i].hint);
	}
out:
	if (edit)
		xp_system_release(&s);
	xp_diags_release(&diags);
	xp_inv_close(inv);
	return rc;
}

static const char show_usage[] =
    "Usage: xenprov system show [--json] NAME\n"
    "\n"
    "Prints a system: its MAC, reserved address, what it boots, host name, whether\n"
    "it boots over the network, whether it is marked to install itself (--install),\n"
    "its kernel options, its own autoinstall template, when it was added and last\n"
    "changed, and the steps of its last install (time, kind, step, message; the\n"
    "newest 200 are kept).\n"
    "\n"
    "  --json      one JSON object: name, mac, ip, profile, distro, hostname,\n"
    "              kernel_options (null: none), netboot (true/false), autoinstall\n"
    "              (null: none of its own), created, updated (unix seconds),\n"
    "              install {marked, id, attempt (the current one while marked, else\n"
    "              the next), events: [{time, kind, step, message}]}\n"
    CLI_STATE_DIR_HELP "  -h, --help  this help\n";

/* show's record: the system and its install state */
struct shown {
	struct xp_system s;
	struct xp_install_state in;
};

static int get_shown(struct xp_inv *inv, const char *name, void *out)
{
	struct shown *sh = out;
	memset(&sh->in, 0, sizeof(sh->in));
	int r = xp_system_get(inv, name, &sh->s);
	if (r == 0 && (r = xp_install_get(inv, name, &sh->in)) < 0)
		xp_system_release(&sh->s);
	return r;
}

/* The last install's steps, one a line: TIME KIND STEP [MESSAGE] */
static void print_install(const struct xp_install_state *in)
{
	for (size_t i = 0; i < in->n_ev; i++) {
		char t[32];
		cli_fmt_time(in->ev[i].time, t);
		printf("  %s  %-8s  %s%s%s\n", t, in->ev[i].kind, in->ev[i].step,
		       in->ev[i].message ? "  " : "", in->ev[i].message ? in->ev[i].message : "");
	}
}

static int run_show(int argc, char **argv)
{
	bool json = false;
	struct shown sh;
	struct xp_system s;
	int rc = cli_inv_show(argc, argv, "system", &json, get_shown, &sh);
	if (rc)
		return rc;
	s = sh.s;
	if (json) {
		json_t *o = xp_system_to_json(&s);
		if (o)
			json_object_set_new(o, "install", xp_install_state_to_json(&sh.in));
		rc = cli_print_json(o);
	} else {
		char created[32], updated[32];
		cli_fmt_time(s.created, created);
		cli_fmt_time(s.updated, updated);
		const char *keys[] = {"name",	     "mac",	"ip",	   "profile",
				      "distro",	     "hostname", "netboot", "install",
				      "kernel-options", "autoinstall", "created", "updated"};
		const char *values[] = {s.name,
					s.mac,
					s.ip,
					s.profile,
					s.distro,
					s.hostname,
					s.netboot ? "on" : "off",
					sh.in.marked ? "on" : "off",
					s.kernel_options,
					s.autoinstall,
					created,
					updated};
		cli_print_fields(keys, values, 12);
		if (sh.in.n_ev) {
			printf("last install (#%lld, attempt %lld):\n", (long long)sh.in.id,
			       (long long)sh.in.attempt);
			print_install(&sh.in);
		}
		rc = cli_flush();
	}
	xp_system_release(&s);
	xp_install_state_release(&sh.in);
	return rc;
}

static const char list_usage[] =
    "Usage: xenprov system list [--json]\n"
    "\n"
    "Lists the systems, sorted by name: name, MAC, reserved address, what each\n"
    "boots (profile:P or distro:D) and whether it boots over the network.\n"
    "\n"
    "  --json      one JSON array of {name, mac, ip, profile, distro, hostname,\n"
    "              netboot, kernel_options, autoinstall}\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n";

static json_t *system_json(const void *row)
{
	return xp_system_to_json(row);
}

static void system_release(void *row)
{
	xp_system_release(row);
}

static const struct cli_inv_rows systems = {
    "system", sizeof(struct xp_system), xp_system_list, get_system, system_json, system_release};

static int run_list(int argc, char **argv)
{
	void *rows;
	size_t n;
	int rc = cli_inv_list(argc, argv, &systems, &rows, &n);
	struct xp_system *v = rows;
	if (rc == 0 && n) {
		const char **cells = calloc((n + 1) * 5, sizeof(*cells));
		char **boots = calloc(n, sizeof(*boots));
		if (!cells || !boots) {
			rc = cli_error("out of memory");
		} else {
			const char *head[] = {"NAME", "MAC", "IP", "BOOTS", "NETBOOT"};
			memcpy(cells, head, sizeof(head));
			for (size_t i = 0; i < n; i++) {
				const struct xp_system *s = &v[i];
				if (asprintf(&boots[i], "%s:%s", s->profile ? "profile" : "distro",
					     s->profile ? s->profile : s->distro) < 0)
					boots[i] = NULL;
				const char *row[] = {s->name, s->mac, s->ip, boots[i],
						     s->netboot ? "on" : "off"};
				memcpy(&cells[(i + 1) * 5], row, sizeof(row));
			}
			cli_print_table(cells, 5, n + 1);
			rc = cli_flush();
		}
		for (size_t i = 0; boots && i < n; i++)
			free(boots[i]);
		free(boots);
		free(cells);
	}
	cli_inv_rows_free(&systems, rows, n);
	return rc;
}

static const char remove_usage[] =
    "Usage: xenprov system remove NAME\n"
    "\n"
    "Removes a system: the boot server forgets its MAC and reserved address.\n"
    "\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n";

static int run_remove(int argc, char **argv)
{
	return cli_inv_remove(argc, argv, "system", xp_system_remove);
}

static const struct xp_verb add_verb = {"add", "add a system", add_usage, run_write};
static const struct xp_verb edit_verb = {"edit", "change a system", edit_usage, run_write};
static const struct xp_verb show_verb = {"show", "print a system", show_usage, run_show};
static const struct xp_verb list_verb = {"list", "list the systems", list_usage, run_list};
static const struct xp_verb remove_verb = {"remove", "remove a system", remove_usage, run_remove};

static const struct xp_verb *const system_verbs[] = {
    &add_verb, &edit_verb, &show_verb, &list_verb, &remove_verb, NULL,
};

const struct xp_command cmd_system = {
    .name = "system",
    .summary = "the machines the boot server knows by MAC",
    .usage = "Usage: xenprov system VERB [OPTIONS] ARGS...\n"
	     "\n"
	     "Systems are the machines (or domUs) the boot server ('xenprov serve')\n"
	     "knows by MAC: each gets its reserved address, or one from a pool, and\n"
	     "boots the distro of its profile, or its own distro. They live in the\n"
	     "inventory, inventory.db in the state directory.\n",
    .verbs = system_verbs,
};
