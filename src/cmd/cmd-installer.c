/*
 * cmd-installer.c - `xenprov installer build`: the autoinstall installer's kernel and
 * initramfs (installer-build.h). Thin: parse, call the library, print.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xenprov/installer-build.h"

static const char build_usage[] =
    "Usage: xenprov installer build [-o DIR] [--kernel PATH] [--modules LIST] [--busybox PATH]\n"
    "                               [--json]\n"
    "\n"
    "Makes the autoinstall installer that systems marked with 'xenprov system edit NAME\n"
    "--install on' boot: DIR/kernel, a copy of the kernel, and DIR/initrd, a gzip\n"
    "newc cpio with the kernel's network and disk modules (virtio_net, virtio_blk,\n"
    "virtio_pci, xen-netfront, xen-blkfront, e1000, e1000e, igb, ixgbe, ahci, nvme and\n"
    "their dependencies; those built in are skipped), busybox (static), this xenprov\n"
    "with its shared libraries, and an /init that brings up the system's NIC, runs DHCP,\n"
    "fetches its record and reports to the server. The boot server serves DIR as\n"
    "installer/ beneath its TFTP root: build it there.\n"
    "\n"
    "  -o, --output DIR   where to write kernel and initrd (default: ./installer)\n"
    "  --kernel PATH      the kernel, named vmlinuz-RELEASE with its modules in\n"
    "                     /lib/modules/RELEASE (default: the newest /boot/vmlinuz-*)\n"
    "  --modules LIST     more modules, by name, comma separated (as modules.dep\n"
    "                     names them, without .ko; '-' and '_' alike); each must exist\n"
    "  --busybox PATH     a static busybox (default: /bin/busybox, busybox-static)\n"
    "  --json             print {release, modules, libraries, initrd_size, kernel,\n"
    "                     initrd}\n"
    "  -h, --help         this help\n"
    "\n"
    "Example: xenprov installer build -o /srv/tftp/installer --modules mlx4_en,bnx2\n";

static int run_build(int argc, char **argv)
{
	enum { O_KERNEL = 1, O_MODULES, O_BUSYBOX, O_OUTPUT };
	const struct option opts[] = {{"output", required_argument, NULL, O_OUTPUT},
				      {"kernel", required_argument, NULL, O_KERNEL},
				      {"modules", required_argument, NULL, O_MODULES},
				      {"busybox", required_argument, NULL, O_BUSYBOX},
				      {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON, .operand = ""};
	struct xp_installer_opts o = {0};
	const char *out = "installer", *modules = NULL;
	int c;
	while ((c = cli_getopt(argc, argv, "o:", opts, &co)) != -1) {
		if (c == 'o' || c == O_OUTPUT)
			out = optarg;
		else if (c == O_KERNEL)
			o.kernel = optarg;
		else if (c == O_MODULES)
			modules = optarg;
		else if (c == O_BUSYBOX)
			o.busybox = optarg;
		else
			return cli_bad_option("installer build", argv);
	}
	int rc = cli_operands(argc, argv, "installer build", &co);
	if (rc)
		return rc;
	char *list = modules ? strdup(modules) : NULL, *save = NULL;
	const char **extra = NULL;
	size_t n = 0;
	if (modules && (!list || !(extra = calloc(strlen(modules) + 1, sizeof(*extra)))))
		return cli_error("out of memory");
	for (char *t = list ? strtok_r(list, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
		if (strchr(t, '/') || strchr(t, ' ')) {
			free(list);
			free(extra);
			return cli_usage_error("installer build", "'%s' is not a module name", t);
		}
		extra[n++] = t;
	}
	o.extra = extra;
	o.n_extra = n;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_installer_result res;
	int r = xp_installer_build(&o, out, &res, &d);
	if (r < 0) {
		if (d.n)
			cli_print_diags(stderr, &d);
		else
			cli_error("cannot build the installer in '%s': %s", out, strerror(-r));
		rc = XP_EXIT_FAIL;
	} else if (co.json) {
		char k[4200], i[4200];
		snprintf(k, sizeof(k), "%s/kernel", out);
		snprintf(i, sizeof(i), "%s/initrd", out);
		rc = cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "release",
					      res.release, "modules", (json_int_t)res.n_modules,
					      "libraries", (json_int_t)res.n_libs, "initrd_size",
					      (json_int_t)res.initrd_size, "kernel", k, "initrd", i));
	} else {
		printf("installer for kernel %s: %zu modules, %zu libraries, initrd %llu bytes\n"
		       "  %s/kernel\n  %s/initrd\n",
		       res.release, res.n_modules, res.n_libs, res.initrd_size, out, out);
		rc = cli_flush();
	}
	xp_diags_release(&d);
	free(list);
	free(extra);
	return rc;
}

static const struct xp_verb build_verb = {"build", "make the autoinstall installer's kernel and initrd",
					  build_usage, run_build};
static const struct xp_verb *const installer_verbs[] = {&build_verb, NULL};

const struct xp_command cmd_installer = {
    .name = "installer",
    .summary = "the autoinstall installer that marked systems boot",
    .usage = "Usage: xenprov installer VERB [OPTIONS]\n"
	     "\n"
	     "The installer a system marked with 'xenprov system edit NAME --install on'\n"
	     "boots from the network (xenprov-installer(1)).\n",
    .verbs = installer_verbs,
};
