/*
 * cmd-import.c - `xenprov import` (Cobbler's `cobbler import`): a distribution's
 * install tree, a directory or an ISO image, recognised and made bootable in one
 * command. Thin: parse the options, call xp_import (xenprov/import.h), print what it
 * found and did, as text or --json.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"
#include "xenprov/import.h"

static const char import_usage[] =
    "Usage: xenprov import --path DIR|ISO --name NAME [--arch ARCH]\n"
    "                      [--available-as URL | --tree copy|iso|none] [--generic]\n"
    "                      [--signatures FILE] [--dry-run] [--json] [-q]\n"
    "\n"
    "Recognises a distribution's install tree (a netboot tree, a mounted or copied DVD,\n"
    "or an ISO image, read without mounting it) by the signatures of the signature\n"
    "file, copies its kernel and initrd into the distro store, makes the tree\n"
    "reachable over the boot server's HTTP at /distros/NAME-ARCH/tree/, and adds the\n"
    "distro NAME-ARCH and a profile of the same name that boots it. Importing the same\n"
    "tree again changes nothing.\n"
    "\n"
    "  --path DIR|ISO        the tree: a directory, or an ISO 9660 image\n"
    "  --name NAME           the distro and profile are NAME-ARCH\n"
    "  --arch ARCH           x86_64, i386 or aarch64 (amd64, arm64 too); needed only\n"
    "                        when the tree holds several\n"
    "  --available-as URL    the tree is served there already: it is left where it is\n"
    "  --tree copy|iso|none  copy: into TFTP-ROOT/trees/NAME-ARCH, hard-linked where it\n"
    "                        can be (a directory's default); iso: served from inside\n"
    "                        the image (an image's default); none: kernel and initrd\n"
    "                        only\n"
    "  --generic             the generic kernel, even where the tree has one for Xen PV\n"
    "                        guests (install.amd/xen/, .treeinfo's images-xen)\n"
    "  --signatures FILE     the signature file (default: $XENPROV_DATA_DIR/\n"
    "                        signatures.json, else the one installed with xenprov)\n"
    "  --dry-run             say what the tree is and what would be done; write nothing\n"
    "  --json                one JSON object of what was found and done\n"
    "  -q, --quiet           print nothing but errors and warnings\n" CLI_STATE_DIR_HELP
    "  -h, --help            this help\n"
    "\n"
    "Examples:\n"
    "  xenprov import --path /srv/iso/debian-12.5.0-amd64-netinst.iso --name debian12\n"
    "  xenprov import --path /mnt/dvd --name rocky9 --available-as http://mirror/rocky/9/\n";

static const char *change_name(enum xp_import_change c)
{
	return c == XP_IMPORT_ADDED ? "added" : c == XP_IMPORT_UPDATED ? "updated" : "unchanged";
}

static json_t *file_json(const char *path, const char *sha)
{
	if (!path)
		return json_null();
	json_t *o = json_object();
	json_object_set_new(o, "path", xp_json_text(path));
	json_object_set_new(o, "sha256", xp_json_text(sha));
	return o;
}

static json_t *report_json(const struct xp_import_report *r, bool dry_run, const struct xp_diags *d)
{
	json_t *o = json_object(), *tree = json_object(), *ch = json_object(), *w = json_array();
	const char *text[][2] = {
	    {"distro", r->distro},	 {"profile", r->profile},
	    {"signature", r->signature}, {"family", r->family},
	    {"summary", r->summary},	 {"arch", r->arch},
	    {"version", r->version},	 {"codename", r->codename},
	    {"label", r->label},	 {"kernel_options", r->kernel_options}};
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		json_object_set_new(o, text[i][0], xp_json_text(text[i][1]));
	json_object_set_new(o, "kernel", file_json(r->kernel, r->kernel_sha256));
	json_object_set_new(o, "initrd", file_json(r->initrd, r->initrd_sha256));
	json_object_set_new(o, "xen", json_boolean(r->xen));
	json_object_set_new(o, "iso", json_boolean(r->iso));
	json_object_set_new(tree, "mode", json_string(xp_import_tree_name(r->tree)));
	json_object_set_new(tree, "path", xp_json_text(r->tree_path));
	json_object_set_new(tree, "url", xp_json_text(r->tree_url));
	json_object_set_new(tree, "dir", xp_json_text(r->tree_dir));
	json_object_set_new(tree, "files", json_integer((json_int_t)r->files));
	if (r->tree == XP_IMPORT_TREE_COPY && !dry_run) {
		const struct {
			const char *k;
			size_t v;
		} counts[] = {{"linked", r->linked},
			      {"copied", r->copied},
			      {"kept", r->kept},
			      {"removed", r->removed},
			      {"left_out", r->left_out}};
		for (size_t i = 0; i < 5; i++)
			json_object_set_new(tree, counts[i].k,
					    json_integer((json_int_t)counts[i].v));
	}
	json_object_set_new(o, "tree", tree);
	if (!dry_run) {
		json_object_set_new(ch, "distro", json_string(change_name(r->distro_change)));
		json_object_set_new(ch, "tree", json_string(change_name(r->tree_change)));
		json_object_set_new(ch, "profile",
				    json_string(r->profile_added ? "added" : "kept"));
		json_object_set_new(o, "changed", ch);
	} else {
		json_decref(ch);
	}
	json_object_set_new(o, "dry_run", json_boolean(dry_run));
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == XP_SEV_WARNING)
			json_array_append_new(w, xp_json_text(d->v[i].msg));
	json_object_set_new(o, "warnings", w);
	return o;
}

static void print_report(const struct xp_import_report *r, const char *path, bool dry_run)
{
	char found[512], version[160], kernel[256], initrd[256], tree[512], distro[160],
	    profile[160];
	snprintf(found, sizeof(found), "%s (%s)%s%s", r->signature, r->family,
		 r->summary ? ": " : "", r->summary ? r->summary : "");
	snprintf(version, sizeof(version), "%s%s%s%s", r->version ? r->version : "-",
		 r->codename ? " (" : "", r->codename ? r->codename : "", r->codename ? ")" : "");
	snprintf(kernel, sizeof(kernel), "%s%s%s%s", r->kernel, r->xen ? " (Xen PV)" : "",
		 r->kernel_sha256 ? "  sha256:" : "", r->kernel_sha256 ? r->kernel_sha256 : "");
	snprintf(initrd, sizeof(initrd), "%s%s%s", r->initrd ? r->initrd : "-",
		 r->initrd_sha256 ? "  sha256:" : "", r->initrd_sha256 ? r->initrd_sha256 : "");
	switch (r->tree) {
	case XP_IMPORT_TREE_COPY:
		if (dry_run)
			snprintf(tree, sizeof(tree), "%zu files, to be copied into the TFTP root",
				 r->files);
		else
			snprintf(tree, sizeof(tree),
				 "%zu files in %s (%zu linked, %zu copied, %zu kept, %zu removed)",
				 r->files, r->tree_dir ? r->tree_dir : "-", r->linked, r->copied,
				 r->kept, r->removed);
		break;
	case XP_IMPORT_TREE_ISO:
		snprintf(tree, sizeof(tree), "%zu files, served from inside the image", r->files);
		break;
	case XP_IMPORT_TREE_EXTERNAL:
		snprintf(tree, sizeof(tree), "left where it is, served at %s", r->tree_url);
		break;
	default:
		snprintf(tree, sizeof(tree), "not offered (--tree none)");
		break;
	}
	snprintf(distro, sizeof(distro), "%s%s%s", r->distro, dry_run ? "" : ": ",
		 dry_run ? "" : change_name(r->distro_change));
	snprintf(profile, sizeof(profile), "%s%s%s", r->profile, dry_run ? "" : ": ",
		 dry_run	    ? ""
		 : r->profile_added ? "added"
				    : "kept as it was");
	const char *url = r->tree == XP_IMPORT_TREE_NONE ? NULL
			  : r->tree_url			 ? r->tree_url
					: "(not known until the server setting is set)";
	printf("%s %s%s\n", dry_run ? "would import" : "imported", path,
	       dry_run ? " (dry run: nothing written)" : "");
	const char *keys[] = {"found",	 "label", "version", "arch",   "kernel", "initrd",
			      "options", "tree",  "url",     "distro", "profile"};
	const char *values[] = {found,	r->label,	   version, r->arch, kernel,
				initrd, r->kernel_options, tree,    url,     distro,
				profile};
	cli_print_fields(keys, values, sizeof(keys) / sizeof(keys[0]));
}

static int run_import(int argc, char **argv)
{
	enum { O_PATH = 256, O_NAME, O_ARCH, O_AVAILABLE, O_TREE, O_GENERIC, O_SIGS, O_DRY };
	static const struct option opts[] = {{"path", required_argument, NULL, O_PATH},
					     {"name", required_argument, NULL, O_NAME},
					     {"arch", required_argument, NULL, O_ARCH},
					     {"available-as", required_argument, NULL, O_AVAILABLE},
					     {"tree", required_argument, NULL, O_TREE},
					     {"generic", no_argument, NULL, O_GENERIC},
					     {"signatures", required_argument, NULL, O_SIGS},
					     {"dry-run", no_argument, NULL, O_DRY},
					     {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET | CLI_STATE_DIR, .operand = ""};
	struct xp_import_opts o = {0};
	const char *cmd = "import";
	int c;
	while ((c = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		switch (c) {
		case O_PATH:
			o.path = optarg;
			break;
		case O_NAME:
			o.name = optarg;
			break;
		case O_ARCH:
			o.arch = optarg;
			break;
		case O_AVAILABLE:
			o.available_as = optarg;
			break;
		case O_TREE:
			if (xp_import_tree_parse(optarg, &o.tree) < 0)
				return cli_usage_error(cmd, "invalid --tree '%s' (copy, iso, none)",
						       optarg);
			break;
		case O_GENERIC:
			o.generic = true;
			break;
		case O_SIGS:
			o.signatures = optarg;
			break;
		case O_DRY:
			o.dry_run = true;
			break;
		default:
			return cli_bad_option(cmd, argv);
		}
	}
	int rc = cli_operands(argc, argv, cmd, &co);
	if (rc)
		return rc;
	if (!o.path)
		return cli_usage_error(cmd, "--path is required");
	if (!o.name)
		return cli_usage_error(cmd, "--name is required");
	if (o.available_as && o.tree != XP_IMPORT_TREE_AUTO)
		return cli_usage_error(cmd, "give --available-as or --tree, not both");
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_import_report rep;
	int r = xp_import(inv, &o, &rep, &d);
	cli_print_messages(&d);
	if (r < 0) {
		if (xp_diags_count(&d, XP_SEV_ERROR) == 0)
			cli_error("cannot import '%s': %s", o.path, strerror(-r));
		rc = XP_EXIT_FAIL;
	} else if (co.json) {
		rc = cli_print_json(report_json(&rep, o.dry_run, &d));
	} else if (!co.quiet) {
		print_report(&rep, o.path, o.dry_run);
		rc = cli_flush();
	}
	xp_import_report_release(&rep);
	xp_diags_release(&d);
	xp_inv_close(inv);
	return rc;
}

const struct xp_command cmd_import = {
    .name = "import",
    .summary = "recognise a distribution tree or ISO and make it bootable",
    .usage = import_usage,
    .run = run_import,
};
