/*
 * cmd-check.c - `xenprov check`: what on this host would stop provisioning, each
 * finding with its severity, what, why and the command that fixes it (Cobbler's
 * `cobbler check`). Thin: parse arguments, call libxenprov (check.h), print.
 *
 * Not here: the checks (lib/check/).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"
#include "xenprov/check.h"

static const char check_usage[] =
    "Usage: xenprov check [--fix] [--json] [-q] [--state-dir DIR]\n"
    "       xenprov check --list\n"
    "\n"
    "Looks for what would stop provisioning from this host and prints each finding:\n"
    "its severity, what is wrong, why it matters and the command that fixes it. It\n"
    "checks the boot server's addresses (server, next-server), its TFTP root and the\n"
    "boot loaders each firmware path loads from it, the DHCP pools, the ports xenprov\n"
    "serve binds and firewall rules that drop them, the inventory's consistency\n"
    "(profiles, distros, systems that cannot netboot, reservations, addresses held\n"
    "twice, half-made guests, well-known root passwords), the programs profiles\n"
    "need, every xl config of the config directories (as 'config check --host') and\n"
    "the toolstack. Exits 1 if an error remains, 0 with warnings and notes only.\n"
    "\n"
    "  --fix        link the missing boot loaders into the TFTP root from the Debian\n"
    "               packages that ship them (pxelinux, syslinux-common, ipxe,\n"
    "               grub-efi-amd64-bin), or copy them across filesystems\n"
    "  --json       one JSON object: ok, errors, warnings, notes, fixed, findings\n"
    "  --list       the checks, in the order they run, and what each looks at\n"
    "  -q, --quiet  print errors only\n" CLI_STATE_DIR_HELP "  -h, --help   this help\n"
    "\n"
    "Example: xenprov check && xenprov serve\n";

static json_t *finding_json(const struct xp_finding *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "severity", json_string(xp_severity_name(f->severity)));
	json_object_set_new(o, "check", json_string(f->check));
	json_object_set_new(o, "subject", xp_json_text(f->subject));
	json_object_set_new(o, "what", xp_json_text(f->what));
	json_object_set_new(o, "why", xp_json_text(f->why));
	json_object_set_new(o, "fix", xp_json_text(f->fix));
	json_object_set_new(o, "count", json_integer((json_int_t)f->count));
	json_object_set_new(o, "fixed", json_boolean(f->fixed));
	return o;
}

static void print_finding(const struct xp_finding *f)
{
	printf("%s: [%s] ", f->fixed ? "fixed" : xp_severity_name(f->severity), f->check);
	if (f->subject && !strstr(f->what, f->subject))
		printf("%s: ", f->subject);
	printf("%s\n", f->what);
	if (f->why && !f->fixed)
		printf("    why: %s\n", f->why);
	if (f->fix && !f->fixed)
		printf("    fix: %s\n", f->fix);
}

static int list(void)
{
	const char *name, *about;
	for (size_t i = 0; xp_check_info(i, &name, &about); i++)
		printf("%-12s %s\n", name, about);
	return cli_flush();
}

static int run_check(int argc, char **argv)
{
	int fix = 0, want_list = 0;
	const struct option opts[] = {{"fix", no_argument, &fix, 1},
				      {"list", no_argument, &want_list, 1},
				      {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET | CLI_STATE_DIR, .operand = ""};
	int rc = cli_parse_flags(argc, argv, "check", "", opts, &co);
	if (rc)
		return rc;
	if (want_list)
		return list();
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	const char *bindir = getenv("XENPROV_XEN_BINDIR");
	struct xp_check_opts o = {
	    .fix = fix, .xen_bindir = bindir && *bindir ? bindir : NULL, .path = getenv("PATH")};
	struct xp_findings f = {0};
	int r = xp_check_run(inv, &o, &f);
	if (r < 0) {
		rc = r == -ENOMEM ? cli_error("out of memory")
				  : cli_error("cannot check: %s", xp_inv_errmsg(inv));
		goto out;
	}
	size_t ne = xp_findings_count(&f, XP_SEV_ERROR);
	size_t nw = xp_findings_count(&f, XP_SEV_WARNING);
	size_t nn = xp_findings_count(&f, XP_SEV_NOTE);
	size_t nf = 0;
	for (size_t i = 0; i < f.n; i++)
		nf += f.v[i].fixed;
	if (co.json) {
		json_t *o2 = json_object(), *a = json_array();
		for (size_t i = 0; i < f.n; i++)
			json_array_append_new(a, finding_json(&f.v[i]));
		json_object_set_new(o2, "ok", json_boolean(ne == 0));
		json_object_set_new(o2, "errors", json_integer((json_int_t)ne));
		json_object_set_new(o2, "warnings", json_integer((json_int_t)nw));
		json_object_set_new(o2, "notes", json_integer((json_int_t)nn));
		json_object_set_new(o2, "fixed", json_integer((json_int_t)nf));
		json_object_set_new(o2, "findings", a);
		rc = cli_print_json(o2);
	} else {
		for (size_t i = 0; i < f.n; i++)
			if (!co.quiet || (f.v[i].severity == XP_SEV_ERROR && !f.v[i].fixed))
				print_finding(&f.v[i]);
		if (!co.quiet) {
			if (ne + nw + nn + nf == 0)
				printf("no problem found\n");
			else
				printf("%zu error%s, %zu warning%s, %zu note%s", ne,
				       ne == 1 ? "" : "s", nw, nw == 1 ? "" : "s", nn,
				       nn == 1 ? "" : "s");
			if (nf)
				printf(", %zu fixed", nf);
			if (ne + nw + nn + nf)
				printf("\n");
		}
		rc = cli_flush();
	}
	if (rc == 0 && ne)
		rc = XP_EXIT_FAIL;
out:
	xp_findings_release(&f);
	xp_inv_close(inv);
	return rc;
}

const struct xp_command cmd_check = {
    .name = "check",
    .summary = "what would stop provisioning here, and how to fix it",
    .usage = check_usage,
    .run = run_check,
};
