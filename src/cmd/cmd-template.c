/*
 * cmd-template.c - `xenprov template`: add, edit, show, list, remove and render the
 * autoinstall templates (Mustache: preseed, kickstart, cloud-init) that the boot server
 * serves to systems at /autoinstall/SYSTEM and deploy writes into guests' cloud-init
 * seed volumes (Cobbler's templates and snippets). Thin: parse arguments, call
 * libxenprov (inventory.h, template.h), print.
 *
 * Not here: serving them (`xenprov serve`), the renderer (mustache.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"
#include "xenprov/mustache.h"
#include "xenprov/template.h"

/* ---- add / edit ------------------------------------------------------------------------- */

static const char add_usage[] =
    "Usage: xenprov template add NAME (--file PATH | --from TEMPLATE)\n"
    "\n"
    "Adds a template: Mustache text (sections, inverted sections, partials {{> NAME}}\n"
    "including another template, comments, set delimiters; {{x}} is HTML-escaped,\n"
    "{{{x}}} is not). It is checked before it is stored: a syntax error is reported\n"
    "with its line and column, a partial that is no template is a warning. Shipped\n"
    "templates are changed with 'edit', which stores your version over them.\n"
    "\n"
    "  --file PATH      the text, from a file (- for standard input; at most 256 KiB)\n"
    "  --from TEMPLATE  a copy of another template, e.g. a shipped one\n" CLI_STATE_DIR_HELP
    "  -h, --help       this help\n"
    "\n"
    "Example:\n"
    "  xenprov template add web-preseed --from debian-preseed\n"
    "  xenprov profile edit web --autoinstall web-preseed\n";

static const char edit_usage[] =
    "Usage: xenprov template edit NAME (--file PATH | --from TEMPLATE)\n"
    "\n"
    "Replaces a template's text, checked as 'add' does. Editing a shipped template\n"
    "stores your version, which is used wherever the template is named until it is\n"
    "removed (then the shipped one is used again).\n"
    "\n"
    "  --file PATH      the new text (- for standard input)\n"
    "  --from TEMPLATE  the text of another template\n" CLI_STATE_DIR_HELP
    "  -h, --help       this help\n"
    "\n"
    "Example: xenprov template edit cloud-init-network-config --file net.yaml\n";

enum { O_FILE = 1, O_FROM, O_SYSTEM, O_PROFILE, O_NAME, O_HTTP_BASE, O_VARS, O_FILEPART };

static int run_write(int argc, char **argv)
{
	bool edit = strcmp(argv[0], "edit") == 0;
	const char *verb = edit ? "template edit" : "template add";
	static const struct option opts[] = {
	    {"file", required_argument, NULL, O_FILE},
	    {"from", required_argument, NULL, O_FROM},
	    {NULL, 0, NULL, 0},
	};
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "NAME"};
	const char *file = NULL, *from = NULL;
	int o;
	while ((o = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		if (o == O_FILE)
			file = optarg;
		else if (o == O_FROM)
			from = optarg;
		else
			return cli_bad_option(verb, argv);
	}
	int rc = cli_operands(argc, argv, verb, &co);
	if (rc)
		return rc;
	if (!file == !from)
		return cli_usage_error(verb, "give --file or --from (one of them)");
	const char *name = argv[optind];
	if (!cli_inv_name_ok("template", name, xp_template_name_valid(name)))
		return XP_EXIT_FAIL;
	char *text = NULL;
	size_t len = 0;
	if (file) {
		int r = xp_read_file(file, XP_MUSTACHE_MAX_TEMPLATE, &text, &len);
		if (r == -EFBIG)
			return cli_error("'%s' is larger than %u KiB", file,
					 XP_MUSTACHE_MAX_TEMPLATE / 1024);
		if (r < 0)
			return cli_error("cannot read '%s': %s", strcmp(file, "-") ? file : "-",
					 strerror(-r));
	}
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv))) {
		free(text);
		return rc;
	}
	if (from) {
		struct xp_template t;
		int r = xp_template_get(inv, from, &t);
		if (r < 0) {
			rc = cli_inv_result(inv, "template", "read", from, r);
			goto out;
		}
		text = t.content;
		len = strlen(text);
		t.content = NULL;
		xp_template_release(&t);
	}
	struct xp_diags d;
	xp_diags_init(&d);
	int r = edit ? xp_template_update(inv, name, text, len, &d)
		     : xp_template_add(inv, name, text, len, &d);
	if (r == -ENOENT)
		rc = cli_error("no template '%s' (add it with 'xenprov template add')", name);
	else if (r == -EEXIST)
		rc = cli_error("cannot add template '%s': %s", name, xp_inv_errmsg(inv));
	else if (r == -EINVAL)
		rc = cli_inv_diags(&d, "template '%s' not %s", name, edit ? "changed" : "added");
	else if (r < 0)
		rc = cli_inv_error(inv, edit ? "edit template" : "add template", name, r);
	else
		cli_print_diags(stderr, &d); /* partials that are no template */
	xp_diags_release(&d);
out:
	free(text);
	xp_inv_close(inv);
	return rc;
}

/* ---- show / list / remove ---------------------------------------------------------------- */

static const char show_usage[] =
    "Usage: xenprov template show [--json] NAME\n"
    "\n"
    "Prints a template's text as it is stored (or shipped), unrendered.\n"
    "\n"
    "  --json      one JSON object: name, shipped (xenprov ships one of this name),\n"
    "              stored (the inventory holds one: it overrides a shipped one),\n"
    "              content, created, updated (unix seconds; 0 for a shipped one),\n"
    "              users (the profiles and systems that name it)\n" CLI_STATE_DIR_HELP
    "  -h, --help  this help\n";

static json_t *template_json(struct xp_inv *inv, const struct xp_template *t)
{
	char **users = NULL;
	size_t n = 0;
	json_t *u = json_array();
	if (xp_template_users(inv, t->name, &users, &n) == 0)
		for (size_t i = 0; u && i < n; i++)
			json_array_append_new(u, json_string(users[i]));
	xp_strv_free(users, n);
	return json_pack("{s:o, s:b, s:b, s:o, s:I, s:I, s:o}", "name", xp_json_text(t->name),
			 "shipped", t->shipped, "stored", t->stored, "content",
			 xp_json_text(t->content), "created", (json_int_t)t->created, "updated",
			 (json_int_t)t->updated, "users", u);
}

static int get_template(struct xp_inv *inv, const char *name, void *out)
{
	return xp_template_get(inv, name, out);
}

static int run_show(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_STATE_DIR | CLI_JSON, .operand = "NAME"};
	int rc = cli_parse_flags(argc, argv, "template show", "", NULL, &co);
	struct xp_inv *inv;
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	struct xp_template t;
	int r = get_template(inv, argv[optind], &t);
	if ((rc = cli_inv_result(inv, "template", "read", argv[optind], r)) == 0) {
		if (co.json)
			rc = cli_print_json(template_json(inv, &t));
		else
			rc = (fputs(t.content, stdout), cli_flush());
		xp_template_release(&t);
	}
	xp_inv_close(inv);
	return rc;
}

static const char list_usage[] =
    "Usage: xenprov template list [--json]\n"
    "\n"
    "Lists the templates, sorted by name: NAME, SOURCE (shipped: xenprov's own;\n"
    "stored: the inventory's; stored+shipped: yours over a shipped one), USED BY (how\n"
    "many profiles and systems name it) and, for shipped ones, what they are.\n"
    "\n"
    "  --json      one JSON array of template objects (see 'template show --json')\n"
    CLI_STATE_DIR_HELP "  -h, --help  this help\n";

static int run_list(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_STATE_DIR | CLI_JSON, .operand = ""};
	int rc = cli_parse_flags(argc, argv, "template list", "", NULL, &co);
	struct xp_inv *inv;
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	char **names;
	size_t n;
	/* one snapshot of the names and their records */
	int r = xp_inv_begin(inv);
	if (r == 0)
		r = xp_template_list(inv, &names, &n);
	if (r < 0) {
		rc = cli_inv_error(inv, "list", "templates", r);
		goto out;
	}
	json_t *all = co.json ? json_array() : NULL;
	char (*counts)[24] = calloc(n ? n : 1, sizeof(*counts));
	const char **cells = calloc((n + 1) * 4, sizeof(*cells));
	if (!counts || !cells)
		rc = cli_error("out of memory");
	const char *head[] = {"NAME", "SOURCE", "USED BY", "WHAT"};
	if (cells)
		memcpy(cells, head, sizeof(head));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct xp_template t;
		if ((r = xp_template_get(inv, names[i], &t)) < 0) {
			rc = cli_inv_error(inv, "read template", names[i], r);
			break;
		}
		if (all) {
			json_array_append_new(all, template_json(inv, &t));
		} else {
			char **users;
			size_t nu = 0;
			if (xp_template_users(inv, t.name, &users, &nu) == 0)
				xp_strv_free(users, nu);
			snprintf(counts[i], sizeof(counts[i]), "%zu", nu);
			const struct xp_shipped_template *sh = xp_template_shipped(t.name);
			const char *row[] = {names[i],
					     t.stored && t.shipped ? "stored+shipped"
					     : t.stored	       ? "stored"
								       : "shipped",
					     counts[i], sh && !t.stored ? sh->summary : NULL};
			memcpy(&cells[(i + 1) * 4], row, sizeof(row));
		}
		xp_template_release(&t);
	}
	xp_inv_commit(inv);
	if (rc == 0 && all)
		rc = cli_print_json(all);
	else if (rc == 0) {
		cli_print_table(cells, 4, n + 1);
		rc = cli_flush();
	} else {
		json_decref(all);
	}
	free(counts);
	free(cells);
	xp_strv_free(names, n);
out:
	xp_inv_close(inv);
	return rc;
}

static const char remove_usage[] =
    "Usage: xenprov template remove NAME\n"
    "\n"
    "Removes a stored template. Refused while a profile (its autoinstall) or a\n"
    "system names it; removing your version of a shipped template brings the\n"
    "shipped one back. Shipped templates themselves cannot be removed.\n"
    "\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n";

static int run_remove(int argc, char **argv)
{
	return cli_inv_remove(argc, argv, "template", xp_template_remove);
}

/* ---- render -------------------------------------------------------------------------------- */

static const char render_usage[] =
    "Usage: xenprov template render [NAME] --system S [--file FILE] [--http-base URL]\n"
    "       xenprov template render NAME --profile P [--name HOST]\n"
    "       xenprov template render [NAME] (--system S | --profile P) --vars [--secrets]\n"
    "\n"
    "Renders a template as a machine gets it: for system S (without NAME: the template\n"
    "S is served, its own or its profile's autoinstall), or for a machine HOST of\n"
    "profile P. A template that uses root-password-hash fails when none is set: no\n"
    "default password is ever made up.\n"
    "\n"
    "  --system S        the variables of system S: its profile, distro, address, the\n"
    "                    boot server's settings\n"
    "  --profile P       the variables of a machine of profile P, without a system\n"
    "  --name HOST       that machine's name (default: P)\n"
    "  --file FILE       with --system and no NAME: user-data, meta-data or\n"
    "                    network-config, as /autoinstall/S/FILE serves it\n"
    "  --http-base URL   the boot server's URL (default: from the settings server and\n"
    "                    http-port)\n"
    "  --vars            print the variables (JSON) instead of rendering\n"
    "  --secrets         with --vars: show root-password-hash (withheld otherwise)\n"
    CLI_STATE_DIR_HELP "  -h, --help        this help\n"
    "\n"
    "Example: xenprov template render --system web1\n";

struct render_args {
	const char *name, *system, *profile, *host, *http_base, *file;
	bool vars;
	struct cli_opts co;
};

static int render_parse(int argc, char **argv, struct render_args *a)
{
	static const struct option opts[] = {
	    {"system", required_argument, NULL, O_SYSTEM},
	    {"profile", required_argument, NULL, O_PROFILE},
	    {"name", required_argument, NULL, O_NAME},
	    {"http-base", required_argument, NULL, O_HTTP_BASE},
	    {"file", required_argument, NULL, O_FILEPART},
	    {"vars", no_argument, NULL, O_VARS},
	    {NULL, 0, NULL, 0},
	};
	const char *verb = "template render";
	memset(a, 0, sizeof(*a));
	a->co = (struct cli_opts){.takes = CLI_STATE_DIR | CLI_SECRETS, .operand = NULL};
	int o;
	while ((o = cli_getopt(argc, argv, "", opts, &a->co)) != -1) {
		switch (o) {
		case O_SYSTEM:
			a->system = optarg;
			break;
		case O_PROFILE:
			a->profile = optarg;
			break;
		case O_NAME:
			a->host = optarg;
			break;
		case O_HTTP_BASE:
			a->http_base = optarg;
			break;
		case O_FILEPART:
			a->file = optarg;
			break;
		case O_VARS:
			a->vars = true;
			break;
		default:
			return cli_bad_option(verb, argv);
		}
	}
	if (optind + 1 < argc)
		return cli_usage_error(verb, "unexpected argument '%s'", argv[optind + 1]);
	a->name = optind < argc ? argv[optind] : NULL;
	if (!a->system == !a->profile)
		return cli_usage_error(verb, "give --system or --profile (one of them)");
	if (a->profile && !a->name && !a->vars)
		return cli_usage_error(verb, "--profile needs a template NAME");
	if (a->host && !a->profile)
		return cli_usage_error(verb, "--name goes with --profile");
	if (a->file && (a->name || !a->system))
		return cli_usage_error(verb, "--file goes with --system and no NAME");
	if (a->co.secrets && !a->vars)
		return cli_usage_error(verb, "--secrets goes with --vars");
	return 0;
}

/* The variables of --profile P for machine HOST. */
static int profile_vars(struct xp_inv *inv, const struct render_args *a, const char *base,
			json_t **vars, struct xp_diags *d)
{
	struct xp_settings prof = {0}, server = {0};
	int r = xp_profile_resolve(inv, a->profile, &prof);
	if (r < 0)
		return r == -ENOENT ? xp_diags_refuse(d, r, "profile", a->profile, NULL,
						      "no profile '%s'", a->profile)
				    : r;
	struct xp_distro distro = {0};
	const char *dn = xp_settings_get(&prof, "distro");
	bool have = dn && xp_distro_get(inv, dn, &distro) == 0;
	if ((r = xp_server_settings_get(inv, &server)) == 0) {
		struct xp_template_nic nic = {.dhcp = true, .default_route = true,
					      .dns = xp_settings_get(&prof, "dns"),
					      .domain = xp_settings_get(&prof, "domain")};
		struct xp_template_subject s = {
		    .name = a->host ? a->host : a->profile,
		    .profile = a->profile,
		    .settings = &prof,
		    .distro = have ? &distro : NULL,
		    .server = &server,
		    .http_base = *base ? base : NULL,
		    .nics = &nic,
		    .nnics = 1,
		};
		r = xp_template_vars(&s, vars);
	}
	xp_distro_release(&distro);
	xp_settings_release(&prof);
	xp_settings_release(&server);
	return r;
}

static int run_render(int argc, char **argv)
{
	struct render_args a;
	int rc = render_parse(argc, argv, &a);
	struct xp_inv *inv;
	if (rc || (rc = cli_inv_open(a.co.state_dir, &inv)))
		return rc;
	enum xp_autoinstall_file f = XP_AUTOINSTALL_MAIN;
	if (a.file && xp_autoinstall_file_parse(a.file, &f) < 0) {
		xp_inv_close(inv);
		return cli_usage_error("template render",
				       "--file takes user-data, meta-data or network-config");
	}
	char base[256] = "";
	struct xp_settings st = {0};
	if (a.http_base)
		snprintf(base, sizeof(base), "%s", a.http_base);
	else if (xp_server_settings_get(inv, &st) == 0)
		xp_autoinstall_http_base(&st, 0, base, sizeof(base));
	xp_settings_release(&st);
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_system sys = {0};
	struct xp_buf out = XP_BUF_INIT;
	json_t *vars = NULL;
	int r = 0;
	if (a.system) {
		r = xp_system_get(inv, a.system, &sys);
		if (r < 0) {
			rc = cli_inv_result(inv, "system", "read", a.system, r);
			goto out;
		}
	}
	if (a.vars || a.name)
		r = a.system ? xp_autoinstall_vars(inv, &sys, *base ? base : NULL, &vars, &d)
			     : profile_vars(inv, &a, base, &vars, &d);
	if (r == 0 && a.vars) {
		if (!a.co.secrets && json_is_string(json_object_get(vars, "root-password-hash")))
			json_object_set_new(vars, "root-password-hash",
					    json_string(CLI_SECRET_TEXT));
		rc = cli_print_json(json_incref(vars));
		goto out;
	}
	if (r == 0)
		r = a.name ? xp_template_render(inv, a.name, vars, &out, &d)
			   : xp_autoinstall_render(inv, &sys, f, *base ? base : NULL, &out, NULL, &d);
	if (r < 0) {
		cli_print_diags(stderr, &d);
		rc = r == -ENOMEM ? cli_error("out of memory")
				  : cli_error("cannot render %s for %s '%s'",
					      a.name ? a.name : "the autoinstall template",
					      a.system ? "system" : "profile",
					      a.system ? a.system : a.profile);
		goto out;
	}
	fwrite(out.s ? out.s : "", 1, out.len, stdout);
	rc = cli_flush();
out:
	if (out.s)
		explicit_bzero(out.s, out.cap); /* it may hold the password hash */
	xp_buf_release(&out);
	json_decref(vars);
	xp_system_release(&sys);
	xp_diags_release(&d);
	xp_inv_close(inv);
	return rc;
}

static const struct xp_verb add_verb = {"add", "add a template", add_usage, run_write};
static const struct xp_verb edit_verb = {"edit", "replace a template's text", edit_usage,
					 run_write};
static const struct xp_verb show_verb = {"show", "print a template", show_usage, run_show};
static const struct xp_verb list_verb = {"list", "list the templates", list_usage, run_list};
static const struct xp_verb remove_verb = {"remove", "remove a stored template", remove_usage,
					   run_remove};
static const struct xp_verb render_verb = {"render", "render a template for a system or profile",
					   render_usage, run_render};

static const struct xp_verb *const template_verbs[] = {
    &add_verb, &edit_verb, &show_verb, &list_verb, &remove_verb, &render_verb, NULL,
};

const struct xp_command cmd_template = {
    .name = "template",
    .summary = "autoinstall templates: preseed, kickstart, cloud-init",
    .usage = "Usage: xenprov template VERB [OPTIONS] ARGS...\n"
	     "\n"
	     "Templates are the files a machine's installer fetches from the boot server\n"
	     "(/autoinstall/SYSTEM: a Debian preseed, a kickstart, cloud-init's NoCloud\n"
	     "files) and the cloud-init seed deployed guests get, written in Mustache and\n"
	     "rendered per machine. xenprov ships debian-preseed, redhat-kickstart and\n"
	     "cloud-init-user-data, -meta-data and -network-config; profiles and systems\n"
	     "name one with --autoinstall. None holds a default password.\n",
    .verbs = template_verbs,
};
