/*
 * cmd-installer.c - `xenprov installer build`: the autoinstall installer's kernel and
 * initramfs (installer-build.h). Thin: parse, call the library, print.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xenprov/installer-build.h"
#include "xenprov/installer-run.h"
#include "xenprov/inventory.h"

static const char build_usage[] =
    "Usage: xenprov installer build [-o DIR] [--kernel PATH] [--modules LIST] [--busybox PATH]\n"
    "                               [--json]\n"
    "\n"
    "Makes the autoinstall installer that systems marked with 'xenprov system edit NAME\n"
    "--install on' boot: DIR/kernel, a copy of the kernel, and DIR/initrd, a gzip\n"
    "newc cpio with the kernel's network and disk modules (virtio_net, virtio_blk,\n"
    "virtio_pci, xen-netfront, xen-blkfront, e1000, e1000e, igb, ixgbe, ahci, nvme and\n"
    "their dependencies; those built in are skipped), busybox (static), this xenprov\n"
    "with its shared libraries, e2fsck and resize2fs with theirs (to grow the root), and\n"
    "an /init that brings up the system's NIC, runs DHCP,\n"
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
	if (r == 0 && res.sanitized)
		cli_warn("this xenprov is a sanitizer (dev) build: the installer carries libasan "
			 "and libubsan; build it with a release build's xenprov");
	xp_diags_release(&d);
	free(list);
	free(extra);
	return rc;
}

static const char run_usage[] =
    "Usage: xenprov installer run [--disk DEV] [--wipe] [--no-bootloader] [--no-grow]\n"
    "                             [--data-disk DEV]... [--server URL] [--system NAME]\n"
    "                             [--mac MAC] [--token T] [--cmdline FILE] [--target DIR]\n"
    "                             [--firmware bios|uefi] [--json]\n"
    "\n"
    "The installer's own verb: the autoinstall installer's /init runs it once the\n"
    "network is up, inside the initramfs of 'xenprov installer build'. It installs the\n"
    "system the boot server named on the kernel command line (xenprov.server=,\n"
    "xenprov.system=, xenprov.mac=, xenprov.token=) onto this machine's disk, and\n"
    "WRITES OVER THAT DISK:\n"
    "  - the system's record and its profile from the server's API;\n"
    "  - the target disk: --disk, else xenprov.target-disk= (a system's own, through\n"
    "    its --kernel-options), else the profile's target-disk, else the first whole\n"
    "    disk of /sys/block (not removable, read-only, loop, ram...); a disk that holds\n"
    "    a partition table is refused unless --wipe, xenprov.wipe=1 or profile wipe on;\n"
    "  - the profile's golden image (profile publish-image open: the installer has no\n"
    "    API token) streamed onto it (a partitioned image as it is,\n"
    "    its swap partition included; a bare filesystem, profile label none, into the\n"
    "    msdos partition made here), resumed if cut short, read back and checked by\n"
    "    SHA-256;\n"
    "  - on a UEFI machine (/sys/firmware/efi) or for profile label gpt: the table\n"
    "    made a GPT keeping the image's partitions, with a 64 MiB EFI system partition\n"
    "    (FAT32) at the end of the disk (on BIOS also a BIOS boot partition);\n"
    "  - the root partition grown to the end of the disk (a swap partition after it\n"
    "    moved to the end) and its filesystem to fill it, e2fsck then resize2fs\n"
    "    (--no-grow or profile grow off: the image's size kept; not yet with the\n"
    "    GPT's ESP after the root);\n"
    "  - the profile's data-disk items onto the machine's other disks (--data-disk,\n"
    "    else the whole disks after the root disk in /sys/block, by name): a table as\n"
    "    the profile's label, an ext4 filesystem filling it, refused like the root\n"
    "    disk when it holds a table without wipe;\n"
    "  - the edits of 'domain create': host name, network by MAC, machine-id, UUIDs,\n"
    "    fstab by UUID (the data disks' mount= too), SSH keys;\n"
    "  - GRUB from the image (BIOS): the root mounted on DIR, /dev, /proc and /sys\n"
    "    bound in, chroot grub-install --target=i386-pc DISK, then update-grub if the\n"
    "    image has it (debian:SUITE: profile include linux-image-amd64,grub-pc);\n"
    "    UEFI: the ESP on DIR/boot/efi and in fstab by UUID, chroot grub-install\n"
    "    --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram\n"
    "    (EFI/BOOT/BOOTX64.EFI; profile include linux-image-amd64,grub-efi-amd64).\n"
    "Each step is posted to the server as an install event; then success (the server\n"
    "sets netboot off) or the failure with its reason. /init reboots or powers off.\n"
    "\n"
    "  --disk DEV|PATH    the disk to install onto (vda, /dev/vda; another absolute\n"
    "                     path, a device or an image file, is taken as it is)\n"
    "  --wipe             write over a disk that holds a partition table\n"
    "  --no-bootloader    no GRUB (a disk booted some other way)\n"
    "  --no-grow          keep the root partition and filesystem at the image's size\n"
    "  --data-disk DEV|PATH\n"
    "                     the disk of the profile's next data-disk item (repeatable;\n"
    "                     default: the other whole disks of /sys/block)\n"
    "  --server URL, --system NAME, --mac MAC, --token T\n"
    "                     instead of the kernel command line's\n"
    "  --cmdline FILE     the kernel command line (default: /proc/cmdline)\n"
    "  --target DIR       where the new root is mounted for GRUB (default: /target)\n"
    "  --firmware F       bios or uefi, instead of what /sys/firmware/efi tells\n"
    "  --json             print {disk, profile, sha256, image_size, disk_size,\n"
    "                     partitioned, uefi, root_size, sparse, received, digest,\n"
    "                     fetch_seconds, total_seconds}\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit status: 0 installed (success posted), 1 failed (failure posted), 2 usage.\n";

static void run_step(void *ud, const char *step, const char *what)
{
	(void)ud;
	fprintf(stderr, "xenprov installer: %s: %s\n", step, what);
}

static int run_run(int argc, char **argv)
{
	enum {
		O_DISK = 1,
		O_WIPE,
		O_NOBOOT,
		O_SERVER,
		O_SYSTEM,
		O_MAC,
		O_TOKEN,
		O_CMDLINE,
		O_TARGET,
		O_FIRMWARE,
		O_NOGROW,
		O_DATA
	};
	const struct option opts[] = {{"disk", required_argument, NULL, O_DISK},
				      {"wipe", no_argument, NULL, O_WIPE},
				      {"no-bootloader", no_argument, NULL, O_NOBOOT},
				      {"server", required_argument, NULL, O_SERVER},
				      {"system", required_argument, NULL, O_SYSTEM},
				      {"mac", required_argument, NULL, O_MAC},
				      {"token", required_argument, NULL, O_TOKEN},
				      {"cmdline", required_argument, NULL, O_CMDLINE},
				      {"target", required_argument, NULL, O_TARGET},
				      {"firmware", required_argument, NULL, O_FIRMWARE},
				      {"no-grow", no_argument, NULL, O_NOGROW},
				      {"data-disk", required_argument, NULL, O_DATA},
				      {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON, .operand = ""};
	struct xp_installer_run_opts o = {.step = run_step};
	const char *data[XP_DATA_DISKS_MAX];
	int c;
	while ((c = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		switch (c) {
		case O_DISK:
			o.disk = optarg;
			break;
		case O_WIPE:
			o.wipe = true;
			break;
		case O_NOBOOT:
			o.no_bootloader = true;
			break;
		case O_SERVER:
			o.server = optarg;
			break;
		case O_SYSTEM:
			o.system = optarg;
			break;
		case O_MAC:
			o.mac = optarg;
			break;
		case O_TOKEN:
			o.token = optarg;
			break;
		case O_CMDLINE:
			o.cmdline = optarg;
			break;
		case O_TARGET:
			o.target = optarg;
			break;
		case O_NOGROW:
			o.no_grow = true;
			break;
		case O_DATA:
			if (o.n_data_disks == XP_DATA_DISKS_MAX) {
				cli_error("at most %d --data-disk", XP_DATA_DISKS_MAX);
				return XP_EXIT_USAGE;
			}
			data[o.n_data_disks++] = optarg;
			o.data_disks = data;
			break;
		case O_FIRMWARE:
			o.firmware = optarg;
			break;
		default:
			return cli_bad_option("installer run", argv);
		}
	}
	int rc = cli_operands(argc, argv, "installer run", &co);
	if (rc)
		return rc;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_installer_run_result res;
	int r = xp_installer_run(&o, &res, &d);
	if (r < 0) {
		if (d.n)
			cli_print_diags(stderr, &d);
		else
			cli_error("cannot install: %s", strerror(-r));
		rc = XP_EXIT_FAIL;
	} else if (co.json) {
		rc = cli_print_json(json_pack(
		    "{s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:I, s:b, s:I, s:s, s:f, s:f}", "disk",
		    res.disk, "profile", res.profile, "sha256", res.sha256, "image_size",
		    (json_int_t)res.image_size, "disk_size", (json_int_t)res.disk_size,
		    "partitioned", res.partitioned, "uefi", res.uefi, "root_size",
		    (json_int_t)res.root_size, "sparse", res.sparse, "received",
		    (json_int_t)res.received, "digest", res.digest, "fetch_seconds",
		    res.fetch_seconds, "total_seconds", res.total_seconds));
	} else {
		printf("installed profile %s on %s: %llu bytes (image %.12s) in %.1f s\n",
		       res.profile, res.disk, (unsigned long long)res.image_size, res.sha256,
		       res.total_seconds);
		rc = cli_flush();
	}
	xp_diags_release(&d);
	return rc;
}

static const struct xp_verb run_verb = {
    "run", "the installer's own: install this machine's disk (run by its /init)", run_usage,
    run_run};
static const struct xp_verb build_verb = {
    "build", "make the autoinstall installer's kernel and initrd", build_usage, run_build};
static const struct xp_verb *const installer_verbs[] = {&build_verb, &run_verb, NULL};

const struct xp_command cmd_installer = {
    .name = "installer",
    .summary = "the autoinstall installer that marked systems boot",
    .usage = "Usage: xenprov installer VERB [OPTIONS]\n"
	     "\n"
	     "The installer a system marked with 'xenprov system edit NAME --install on'\n"
	     "boots from the network (xenprov-installer(1)).\n",
    .verbs = installer_verbs,
};
