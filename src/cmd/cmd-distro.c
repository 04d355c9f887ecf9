/*
 * cmd-distro.c - `xenprov distro`: add, edit, show, list and remove the distros the
 * boot server offers (a kernel and an initrd, copied into the distro store; Cobbler's
 * distros). Thin: parse arguments, call libxenprov (inventory.h), print. The library
 * checks the values and copies the files (the command line may name any file the user
 * can read; only the HTTP API is confined to the operator's roots).
 *
 * Not here: serving the files (boot.h), importing distro trees.
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"

#define DISTRO_OPTIONS                                                                             \
	"  --kernel PATH           the kernel: an absolute path to a regular file, copied\n"       \
	"                          into the distro store (or sha256:HEX of a file there)\n"        \
	"  --initrd PATH           the initrd, the same way\n"                                     \
	"  --arch ARCH             x86_64 (the default), i386 or aarch64\n"                        \
	"  --kernel-options TEXT   appended to the kernel command line (no xenprov.* words:\n"   \
	"                          those are the boot server's own)\n"                            \
	"  --os debian|ubuntu|redhat|suse\n"                                                      \
	"                          its OS family: how its installer fetches an autoinstall\n"     \
	"                          file (the boot configs of systems with a template add\n"       \
	"                          auto=true priority=critical url=, autoinstall\n"               \
	"                          ds=nocloud;s=, inst.ks= or autoyast=)\n"

static const char add_usage[] =
    "Usage: xenprov distro add NAME --kernel PATH [--initrd PATH] [--arch ARCH]\n"
    "                          [--kernel-options TEXT] [--os FAMILY]\n"
    "\n"
    "Adds a distro: a kernel and an initrd that the boot server hands to machines\n"
    "booting over the network. The files are copied into the distro store\n"
    "(STATE_DIR/distro-files, named by their SHA-256; distros with the same file\n"
    "share one copy) and served from there: later changes to the originals are not\n"
    "seen until 'xenprov distro edit' takes them again.\n"
    "\n" DISTRO_OPTIONS CLI_STATE_DIR_HELP "  -h, --help              this help\n"
    "\n"
    "Example:\n"
    "  xenprov distro add debian-12 --kernel /srv/debian/linux \\\n"
    "      --initrd /srv/debian/initrd.gz --kernel-options 'priority=critical'\n";

static const char edit_usage[] =
    "Usage: xenprov distro edit NAME [--kernel PATH] [--initrd PATH | --no-initrd]\n"
    "                           [--arch ARCH] [--kernel-options TEXT | --no-kernel-options]\n"
    "                           [--os FAMILY | --no-os]\n"
    "\n"
    "Changes a distro: only what is given; the rest stays. A file given is copied\n"
    "into the distro store again, even from the same path. A distro of an older\n"
    "inventory, whose files are not in the store, is not served until its files are\n"
    "given (--kernel, and --initrd or --no-initrd if it has one).\n"
    "\n" DISTRO_OPTIONS "  --no-initrd             boot the kernel without an initrd\n"
    "  --no-kernel-options     no further kernel command line\n"
    "  --no-os                 no OS family: no autoinstall argument\n" CLI_STATE_DIR_HELP
    "  -h, --help              this help\n"
    "\n"
    "Example: xenprov distro edit debian-12 --kernel-options 'console=ttyS0'\n";

/* add and edit's options: the distro's text fields */
enum { F_KERNEL, F_INITRD, F_ARCH, F_KOPTS, F_OS, F_N };
static const struct cli_field fields[F_N] = {
    [F_KERNEL] = {"kernel", offsetof(struct xp_distro, kernel), false},
    [F_INITRD] = {"initrd", offsetof(struct xp_distro, initrd), true},
    [F_ARCH] = {"arch", offsetof(struct xp_distro, arch), false},
    [F_KOPTS] = {"kernel-options", offsetof(struct xp_distro, kernel_options), true},
    [F_OS] = {"os", offsetof(struct xp_distro, os), true},
};

static int parse(int argc, char **argv, bool edit, struct cli_fields *a, struct xp_inv **inv)
{
	const char *verb = edit ? "distro edit" : "distro add";
	int rc = cli_fields_parse(argc, argv, verb, edit, fields, F_N, NULL, NULL, NULL, a);
	if (rc)
		return rc;
	if (!edit && !a->val[F_KERNEL])
		return cli_usage_error(verb, "--kernel is required");
	return cli_inv_args_done(verb, "distro", edit, a->any, xp_distro_name_valid(argv[optind]),
				 argv[optind], a->state_dir, inv);
}

static int get_distro(struct xp_inv *inv, const char *name, void *out)
{
	return xp_distro_get(inv, name, out);
}

/* A distro from before the store: its recorded paths are not taken again behind the
 * operator's back (an older API let anyone with the token set them). */
static int files_unstored(const struct cli_fields *a, const struct xp_distro *d)
{
	if ((a->val[F_KERNEL] || d->kernel_sha256) &&
	    (!d->initrd || d->initrd_sha256 || a->val[F_INITRD] || a->clear[F_INITRD]))
		return 0;
	return cli_error("distro '%s' has files that are not in the distro store (kernel "
			 "'%s'%s%s%s): give --kernel%s to copy them there",
			 d->name, d->kernel, d->initrd ? ", initrd '" : "",
			 d->initrd ? d->initrd : "", d->initrd ? "'" : "",
			 d->initrd ? " and --initrd (or --no-initrd)" : "");
}

/* add, and edit (argv[0]): the distro read, changed and written back in one
 * transaction (no lost update) */
static int run_write(int argc, char **argv)
{
	bool edit = strcmp(argv[0], "edit") == 0;
	struct cli_fields a;
	struct xp_inv *inv;
	int rc = parse(argc, argv, edit, &a, &inv);
	if (rc)
		return rc;
	const char *name = argv[optind];
	struct xp_diags diags;
	xp_diags_init(&diags);
	struct xp_distro d = {.name = (char *)name};
	if (edit && (rc = cli_inv_get_for_edit(inv, "distro", name, get_distro, &d)))
		goto out;
	if (edit && (rc = files_unstored(&a, &d))) {
		xp_inv_rollback(inv);
		goto out;
	}
	/* the strings are borrowed from argv; d's own are freed below */
	struct xp_distro up = d;
	cli_fields_apply(fields, F_N, &a, &up);
	/* a file given is taken again */
	if (a.val[F_KERNEL])
		up.kernel_sha256 = NULL;
	if (a.val[F_INITRD] || a.clear[F_INITRD])
		up.initrd_sha256 = NULL;
	int r = edit ? xp_distro_update(inv, &up, 0, &diags) : xp_distro_add(inv, &up, 0, &diags);
	rc = cli_inv_written(inv, "distro", edit, name, &diags, r);
out:
	if (edit)
		xp_distro_release(&d);
	xp_diags_release(&diags);
	xp_inv_close(inv);
	return rc;
}

static const char show_usage[] =
    "Usage: xenprov distro show [--json] NAME\n"
    "\n"
    "Prints a distro: where its kernel and initrd were taken from and their digests\n"
    "in the distro store, its architecture, kernel options, OS family, and when it\n"
    "was added and last changed.\n"
    "\n"
    "  --json      one JSON object: name, kernel, initrd, kernel_sha256, initrd_sha256,\n"
    "              served (false: files not in the store), arch, kernel_options\n"
    "              (null: none), os (null: none), created, updated (unix seconds)\n"
    CLI_STATE_DIR_HELP
    "  -h, --help  this help\n";

static int run_show(int argc, char **argv)
{
	bool json = false;
	struct xp_distro d;
	int rc = cli_inv_show(argc, argv, "distro", &json, get_distro, &d);
	if (rc)
		return rc;
	if (json) {
		rc = cli_print_json(xp_distro_to_json(&d));
	} else {
		char created[32], updated[32];
		cli_fmt_time(d.created, created);
		cli_fmt_time(d.updated, updated);
		const char *missing = "not in the distro store: not served (xenprov distro edit "
				      "--kernel PATH takes it)";
		const char *keys[] = {"name",		"kernel",	 "kernel-sha256",
				      "initrd",		"initrd-sha256", "arch",
				      "kernel-options", "os",		 "created",
				      "updated"};
		const char *values[] = {d.name,
					d.kernel,
					d.kernel_sha256 ? d.kernel_sha256 : missing,
					d.initrd,
					d.initrd_sha256 || !d.initrd ? d.initrd_sha256 : missing,
					d.arch,
					d.kernel_options,
					d.os,
					created,
					updated};
		cli_print_fields(keys, values, 10);
		rc = cli_flush();
	}
	xp_distro_release(&d);
	return rc;
}

static const char list_usage[] =
    "Usage: xenprov distro list [--json]\n"
    "\n"
    "Lists the distros, sorted by name: name, architecture, kernel and initrd (where\n"
    "they were taken from), and SERVED: no for a distro whose files are not in the\n"
    "distro store.\n"
    "\n"
    "  --json      one JSON array of {name, kernel, initrd, kernel_sha256,\n"
    "              initrd_sha256, served, arch, kernel_options, os}\n" CLI_STATE_DIR_HELP
    "  -h, --help  this help\n";

static json_t *distro_json(const void *row)
{
	return xp_distro_to_json(row);
}

static void distro_release(void *row)
{
	xp_distro_release(row);
}

static const struct cli_inv_rows distros = {
    "distro", sizeof(struct xp_distro), xp_distro_list, get_distro, distro_json, distro_release};

static int run_list(int argc, char **argv)
{
	void *rows;
	size_t n;
	int rc = cli_inv_list(argc, argv, &distros, &rows, &n);
	struct xp_distro *v = rows;
	if (rc == 0 && n) {
		const char **cells = calloc((n + 1) * 5, sizeof(*cells));
		if (!cells) {
			rc = cli_error("out of memory");
		} else {
			const char *head[] = {"NAME", "ARCH", "SERVED", "KERNEL", "INITRD"};
			memcpy(cells, head, sizeof(head));
			for (size_t i = 0; i < n; i++) {
				cells[(i + 1) * 5 + 0] = v[i].name;
				cells[(i + 1) * 5 + 1] = v[i].arch;
				cells[(i + 1) * 5 + 2] = xp_distro_in_store(&v[i]) ? "yes" : "no";
				cells[(i + 1) * 5 + 3] = v[i].kernel;
				cells[(i + 1) * 5 + 4] = v[i].initrd;
			}
			cli_print_table(cells, 5, n + 1);
			free(cells);
			rc = cli_flush();
		}
	}
	cli_inv_rows_free(&distros, rows, n);
	return rc;
}

static const char remove_usage[] =
    "Usage: xenprov distro remove NAME\n"
    "\n"
    "Removes a distro. Refused while a system boots it or a profile names it (its\n"
    "distro setting). Its copies in the distro store are removed unless another\n"
    "distro shares them; the files they were taken from are left as they are.\n"
    "\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n";

static int run_remove(int argc, char **argv)
{
	return cli_inv_remove(argc, argv, "distro", xp_distro_remove);
}

static const struct xp_verb add_verb = {"add", "add a distro", add_usage, run_write};
static const struct xp_verb edit_verb = {"edit", "change a distro's files or options", edit_usage,
					 run_write};
static const struct xp_verb show_verb = {"show", "print a distro", show_usage, run_show};
static const struct xp_verb list_verb = {"list", "list the distros", list_usage, run_list};
static const struct xp_verb remove_verb = {"remove", "remove an unused distro", remove_usage,
					   run_remove};

static const struct xp_verb *const distro_verbs[] = {
    &add_verb, &edit_verb, &show_verb, &list_verb, &remove_verb, NULL,
};

const struct xp_command cmd_distro = {
    .name = "distro",
    .summary = "the kernels and initrds machines boot over the network",
    .usage = "Usage: xenprov distro VERB [OPTIONS] ARGS...\n"
	     "\n"
	     "Distros are kernels and initrds that the boot server ('xenprov serve')\n"
	     "hands to machines booting over the network: systems that name one, or\n"
	     "whose profile does. They live in the inventory, inventory.db in the state\n"
	     "directory, their files in its distro store (distro-files/).\n",
    .verbs = distro_verbs,
};
