/*
 * cmd-domain.c - `xenprov domain`: make one guest from a profile (disk, MAC, IP, config
 * in /etc/xen), delete it, list and show what the inventory holds and what the toolstack
 * says of it. Running guests (start, shutdown, ...) is cmd-domain-life.c's; the drift
 * verbs (diff, update) are cmd-domain-drift.c's.
 * Thin: the work is in src/lib/deploy (xenprov/domain.h) and the inventory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli-inventory.h"
#include "cli.h"
#include "create-args.h"
#include "domain-life.h"
#include "xenprov/domain.h"
#include "xenprov/inventory.h"


/* ---- shared -------------------------------------------------------------------------- */

/* Diagnostics as "xenprov: [FILE: ]MESSAGE" lines with their hints. */
static void print_diags(const struct xp_diags *d)
{
	cli_print_messages(d);
}

static void progress_fn(void *ud, uint64_t bytes, uint64_t entries)
{
	cli_progress_draw(ud, false, "xenprov: building the golden image: %.1f MiB, %" PRIu64 " entries",
			  (double)bytes / (1024.0 * 1024.0), entries);
}

/* mmdebstrap's phase lines, for a debian:SUITE image, until its tar begins */
static void phase_fn(void *ud, const char *line)
{
	cli_progress_draw(ud, true, "xenprov: building the golden image: mmdebstrap: %s (%.0f s)",
			  strncmp(line, "I: ", 3) == 0 ? line + 3 : line, cli_progress_elapsed(ud));
}

/* ---- create ----------------------------------------------------------------------------- */

static const char create_usage[] =
    "Usage: xenprov domain create NAME --profile P [--ip A[/N]] [--mac M] [OVERRIDES...]\n"
    "\n"
    "Makes a guest from a profile: its disk from the profile's golden image (a root\n"
    "tarball, or a debian:SUITE release with the packages of include and install, is\n"
    "built once into STATE/images/ and reused), a MAC address (random in\n"
    "Xen's 00:16:3e, never one another domain has), an IP from the profile's ip-pool\n"
    "(the lowest free one), the guest's own files, and its xl config CONFIG-DIR/NAME.cfg.\n"
    "Everything is recorded in the inventory; a failure leaves nothing behind.\n"
    "\n"
    "Storage (profile value `storage`): file (a sparse copy of the golden image in the\n"
    "pool directory), reflink (a clone, on btrfs or XFS), qcow2 (an overlay backed by\n"
    "the golden image), lvm (a logical volume in the volume group `pool`). The pool\n"
    "defaults to STATE/disks.\n"
    "\n"
    "  --profile P            the profile the guest is made from (required)\n"
    "  --ip A[/N]             this address instead of the pool's next free one\n"
    "  --mac M                this MAC address instead of a random one\n"
    "  --mac-prefix XX:XX:XX  random MACs in this prefix (default Xen's 00:16:3e)\n"
    "  --KEY VALUE            any profile value for this guest only, e.g. --memory 1024,\n"
    "                         --storage qcow2, --pool /srv/xen, --vcpus 2, --bridge br0\n"
    "  --config.NAME VALUE    any further xl setting (VALUE in config syntax)\n"
    "  --set KEY=VALUE        the same, for any KEY\n"
    "  --timezone ZONE, --copy-in LOCAL:GUESTDIR[:UID:GID], --write GUESTPATH:CONTENT,\n"
    "  --firstboot-command CMD\n"
    "                         the profile's customisations, for this guest: each list\n"
    "                         given (repeat the option) replaces the profile's\n"
    "  --data-disk SIZE[,fs=ext4|xfs|none][,mount=DIR][,storage=KIND][,pool=P],\n"
    "  --nic bridge=BR[,network=static|dhcp][,ip-pool=CIDR][,gateway=IP|dhcp]\n"
    "      [,mac-prefix=P], --swap-disk SIZE\n"
    "                         further disks (NAME.data1, ... at xvdb, ...; NAME.swap\n"
    "                         last) and NICs (enX1, ...), as the profile's: each list\n"
    "                         given replaces the profile's (xenprov-profile(1))\n"
    "  --config-dir DIR       where configs go (default: the profile's config-dir,\n"
    "                         else the setting config-dir, else /etc/xen)\n"
    "  --autostart on|off     start the guest with the host: the link CONFIG-DIR/auto/\n"
    "                         NAME.cfg that xendomains reads (default off)\n"
    "  --state-dir DIR        the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  --json                 print the new domain as JSON\n"
    "  -q, --quiet            no progress display\n"
    "  -h, --help             this help\n"
    "\n"
    "Example:\n"
    "  xenprov domain create web1 --profile bookworm --memory 1024 --storage qcow2\n";


/* One override; ssh-key takes a key line or a file of them (cli_ssh_key_arg); a list
 * key (copy-in, write, firstboot-command) one more item (cli_list_item). */
static int set_override(struct xp_settings *s, const char *key, const char *value)
{
	if (xp_profile_key_list(key))
		return cli_list_item(s, key, value);
	char *keys = NULL;
	if (strcmp(key, "ssh-key") == 0) {
		int rc = cli_ssh_key_arg(value, &keys);
		if (rc != 0)
			return rc;
		value = keys;
	}
	int r = xp_settings_set(s, key, value);
	free(keys);
	return r < 0 ? cli_error("out of memory") : 0;
}

static int add_override(struct xp_settings *s, const char *kv, const char *cmd)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return cli_usage_error(cmd, "--set takes KEY=VALUE, not '%s'", kv);
	char *key = strndup(kv, (size_t)(eq - kv));
	if (!key)
		return cli_error("out of memory");
	int rc = set_override(s, key, eq + 1);
	free(key);
	return rc;
}

void create_args_release(struct create_args *a)
{
	xp_settings_release(&a->over);
	free(a->opts);
	free(a->args);
}

int create_args_parse(const char *cmd, int argc, char **argv, const struct option *extra,
		      size_t nextra, int (*on_extra)(int c, const char *arg, void *ud), void *ud,
		      struct create_args *a)
{
	memset(a, 0, sizeof(*a));
	size_t nkeys = 0;
	while (xp_profile_keys[nkeys].key)
		nkeys++;
	static const struct option fixed[] = {
	    {"profile", required_argument, NULL, O_PROFILE},
	    {"ip", required_argument, NULL, O_IP},
	    {"mac", required_argument, NULL, O_MAC},
	    {"mac-prefix", required_argument, NULL, O_MACPREFIX},
	    {"set", required_argument, NULL, O_SET},
	    {"config-dir", required_argument, NULL, O_CONFIGDIR},
	    {"autostart", required_argument, NULL, O_AUTOSTART},
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct option *opts = a->opts = calloc(nfixed + nextra + nkeys + 1, sizeof(*opts));
	char **args = a->args = calloc((size_t)argc + 1, sizeof(*args));
	struct xp_settings *over = &a->over;
	int rc = XP_EXIT_FAIL, nargs = 0;
	if (!opts || !args)
		return cli_error("out of memory");
	memcpy(opts, fixed, sizeof(fixed));
	size_t no = nfixed;
	for (size_t i = 0; i < nextra; i++)
		opts[no++] = extra[i];
	for (size_t i = 0; i < nkeys; i++)
		if (!strchr(xp_profile_keys[i].key, '.'))
			opts[no++] = (struct option){xp_profile_keys[i].key, required_argument,
						     NULL, O_KEY0 + (int)i};

	/* --config.NAME VALUE (and --config.NAME=VALUE) cannot be getopt options: take them
	 * out first */
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				args[nargs++] = argv[i++];
			break;
		}
		if (strncmp(argv[i], "--config.", 9) != 0) {
			args[nargs++] = argv[i];
			continue;
		}
		const char *key = argv[i] + 2, *eq = strchr(key, '=');
		char *k = eq ? strndup(key, (size_t)(eq - key)) : strdup(key);
		const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!k || !v) {
			free(k);
			return k ? cli_usage_error(cmd, "%s needs a value", argv[i])
				 : cli_error("out of memory");
		}
		int r = xp_settings_set(over, k, v);
		free(k);
		if (r < 0)
			return cli_error("out of memory");
	}
	a->nargs = nargs;

	struct xp_domain_create_opts *o = &a->o;
	a->co = (struct cli_opts){.takes = CLI_JSON | CLI_QUIET | CLI_STATE_DIR};
	int c;
	optind = 0;
	while ((c = cli_getopt(nargs, args, "", opts, &a->co)) != -1) {
		switch (c) {
		case O_PROFILE:
			o->profile = optarg;
			break;
		case O_IP:
			o->ip = optarg;
			break;
		case O_MAC:
			o->mac = optarg;
			break;
		case O_MACPREFIX:
			if (xp_mac_prefix_parse(optarg, a->prefix, &o->mac_prefix_len) < 0)
				return cli_usage_error(cmd,
						       "invalid --mac-prefix '%s' (1-5 octets, "
						       "unicast, e.g. 00:16:3e)",
						       optarg);
			o->mac_prefix = a->prefix;
			break;
		case O_SET:
			if ((rc = add_override(over, optarg, cmd)) != 0)
				return rc;
			break;
		case O_CONFIGDIR:
			o->config_dir = optarg;
			break;
		case O_AUTOSTART:
			if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
				return cli_usage_error(cmd, "--autostart takes on or off, not '%s'",
						       optarg);
			o->autostart = strcmp(optarg, "on") == 0;
			break;
		default:
			if (c >= O_KEY0 && c < O_KEY0 + (int)nkeys) {
				if ((rc = set_override(over, xp_profile_keys[c - O_KEY0].key,
						       optarg)) != 0)
					return rc;
				break;
			}
			if (c >= O_EXTRA0 && c < O_KEY0 && on_extra) {
				if ((rc = on_extra(c, optarg, ud)) != 0)
					return rc;
				break;
			}
			return cli_bad_option(cmd, args);
		}
	}
	o->overrides = over;
	return 0;
}

void create_print(const struct xp_domain *dom, bool autostart)
{
	printf("%s: created: %s disk %s, mac %s", dom->name, dom->storage, dom->disk_path,
	       dom->mac);
	if (dom->ip)
		printf(", ip %s/%u", dom->ip, dom->prefix_len);
	for (size_t i = 0; i < dom->nvolumes; i++)
		printf(", %s disk %s", dom->volumes[i].role, dom->volumes[i].path);
	for (size_t i = 0; i < dom->nnics; i++) {
		printf(", mac %s", dom->nics[i].mac);
		if (dom->nics[i].ip)
			printf(", ip %s/%u", dom->nics[i].ip, dom->nics[i].prefix_len);
	}
	printf(", config %s%s\n", dom->config_path, autostart ? ", autostart on" : "");
}

static int run_create(int argc, char **argv)
{
	const char *cmd = "domain create";
	struct create_args a;
	struct xp_inv *inv = NULL;
	int rc = create_args_parse(cmd, argc, argv, NULL, 0, NULL, NULL, &a);
	if (rc != 0)
		goto out;
	rc = XP_EXIT_FAIL;
	int nargs = a.nargs;
	char **args = a.args;
	struct xp_domain_create_opts o = a.o;
	struct cli_opts co = a.co;
	if (optind >= nargs) {
		rc = cli_usage_error(cmd, "NAME is required");
		goto out;
	}
	if (optind + 1 < nargs) {
		rc = cli_usage_error(cmd, "unexpected argument '%s'", args[optind + 1]);
		goto out;
	}
	o.name = args[optind];
	if (!o.profile) {
		rc = cli_usage_error(cmd, "--profile P is required");
		goto out;
	}
	if ((rc = cli_inv_open(co.state_dir, &inv)) != 0)
		goto out;
	struct cli_progress prog;
	cli_progress_init(&prog, !co.quiet && !co.json);
	o.progress = progress_fn;
	o.phase = phase_fn;
	o.progress_ud = &prog;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_domain dom;
	int r = xp_domain_create(inv, &o, &dom, &d);
	cli_progress_clear(&prog, false);
	if (r < 0) {
		fprintf(stderr, "xenprov: cannot create domain '%s'\n", o.name);
		if (d.n == 0)
			fprintf(stderr, "xenprov: %s\n", strerror(-r));
		print_diags(&d);
		xp_diags_release(&d);
		rc = XP_EXIT_FAIL;
		goto out;
	}
	print_diags(&d); /* warnings */
	xp_diags_release(&d);
	if (co.json) {
		rc = cli_print_json(xp_domain_to_json(&dom, false));
	} else {
		create_print(&dom, o.autostart);
		rc = XP_EXIT_OK;
	}
	xp_domain_release(&dom);
out:
	xp_inv_close(inv);
	create_args_release(&a);
	return rc;
}

/* ---- delete ----------------------------------------------------------------------------- */

static const char delete_usage[] =
    "Usage: xenprov domain delete [--keep-storage] [--force [--timeout SECS]] NAME...\n"
    "\n"
    "Deletes guests made by `domain create`: the autostart link, the config, the disk,\n"
    "the further disks (data disks, swap volume) and the inventory record. A half-made\n"
    "guest (a create that was killed) is cleaned up the same way. A guest the toolstack\n"
    "runs is refused, unless --force.\n"
    "\n"
    "  --keep-storage    keep the disks\n"
    "  --force           shut running guests down first (`xl shutdown`, all at once),\n"
    "                    and destroy (`xl destroy`) those still running after the timeout\n"
    "  --timeout SECS    how long --force waits for the shutdown (default 60; 0: destroy\n"
    "                    at once)\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

static int run_delete(int argc, char **argv)
{
	const char *cmd = "domain delete";
	enum { O_KEEP = 256, O_FORCE, O_TIMEOUT };
	static const struct option opts[] = {{"keep-storage", no_argument, NULL, O_KEEP},
					     {"force", no_argument, NULL, O_FORCE},
					     {"timeout", required_argument, NULL, O_TIMEOUT},
					     {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_STATE_DIR};
	struct xp_stop_opts stop = {.timeout = XP_STOP_TIMEOUT_DEFAULT};
	bool keep = false, timed = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		if (c == O_KEEP)
			keep = true;
		else if (c == O_FORCE)
			stop.force = true;
		else if (c == O_TIMEOUT && !(rc = domain_timeout_arg(cmd, optarg, &stop.timeout)))
			timed = true;
		else
			return c == O_TIMEOUT ? rc : cli_bad_option(cmd, argv);
	}
	if (timed && !stop.force)
		return cli_usage_error(cmd, "--timeout goes with --force");
	if (optind >= argc)
		return cli_usage_error(cmd, "NAME is required");
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	/* running guests first: refused each, or stopped together */
	size_t n = (size_t)(argc - optind);
	int *stopped = calloc(n, sizeof(*stopped));
	struct xp_diags sd;
	xp_diags_init(&sd);
	if (!stopped || xp_domains_stop_for_removal(&stop, (const char *const *)argv + optind, n,
						    stopped, &sd) == -ENOMEM) {
		free(stopped);
		xp_inv_close(inv);
		return cli_error("out of memory");
	}
	print_diags(&sd);
	xp_diags_release(&sd);
	for (int i = optind; i < argc; i++) {
		if (stopped[i - optind] < 0) {
			fprintf(stderr, "xenprov: cannot delete domain '%s'\n", argv[i]);
			rc = XP_EXIT_FAIL;
			continue;
		}
		struct xp_diags d;
		xp_diags_init(&d);
		int r = xp_domain_delete(inv, argv[i], keep, &d);
		if (r < 0) {
			fprintf(stderr, "xenprov: cannot delete domain '%s'\n", argv[i]);
			if (d.n == 0)
				fprintf(stderr, "xenprov: %s\n", strerror(-r));
			rc = XP_EXIT_FAIL;
		}
		print_diags(&d);
		xp_diags_release(&d);
	}
	free(stopped);
	xp_inv_close(inv);
	return rc;
}

/* ---- adopt ------------------------------------------------------------------------------ */

static const char adopt_usage[] =
    "Usage: xenprov domain adopt NAME --disk PATH [--system S] [OVERRIDES...]\n"
    "\n"
    "Takes a machine that installed itself onto a disk of its own (the autoinstaller,\n"
    "`xenprov system edit S --install on`, or by hand) into the inventory as an HVM\n"
    "guest: writes its xl config CONFIG-DIR/NAME.cfg (type hvm, booting the disk's own\n"
    "boot loader, the console on the first serial port: `xl console NAME`), its NIC\n"
    "with the system record's MAC on the bridge, and records the domain. Memory, vcpus\n"
    "and bridge come from the system's profile unless given here. The disk stays\n"
    "yours: `domain delete` removes the config and the record, never the disk.\n"
    "\n"
    "  --disk PATH            the machine's disk: a raw or qcow2 image file, or a block\n"
    "                         device (/dev/VG/LV, /dev/sdX; served by blkback)\n"
    "  --system S             the system record it was installed as (default NAME)\n"
    "  --memory MIB, --vcpus N, --bridge BR\n"
    "                         instead of the profile's\n"
    "  --set KEY=VALUE        any other profile value, e.g. --set config.vnc=0\n"
    "  --config-dir DIR       where the config goes (default: the profile's config-dir,\n"
    "                         else the setting config-dir, else /etc/xen)\n"
    "  --autostart on|off     start the guest with the host (default off)\n"
    "  --state-dir DIR        the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  --json                 print the new domain as JSON\n"
    "  -h, --help             this help\n"
    "\n"
    "Example:\n"
    "  xenprov domain adopt lennox --disk /xen/lennox/root.img --memory 1024\n";

static int run_adopt(int argc, char **argv)
{
	const char *cmd = "domain adopt";
	enum { O_DISK = 256, O_SYSTEM, O_ASET, O_CDIR, O_AUTO, O_MEM, O_VCPUS, O_BRIDGE };
	static const struct option opts[] = {{"disk", required_argument, NULL, O_DISK},
					     {"system", required_argument, NULL, O_SYSTEM},
					     {"set", required_argument, NULL, O_ASET},
					     {"config-dir", required_argument, NULL, O_CDIR},
					     {"autostart", required_argument, NULL, O_AUTO},
					     {"memory", required_argument, NULL, O_MEM},
					     {"vcpus", required_argument, NULL, O_VCPUS},
					     {"bridge", required_argument, NULL, O_BRIDGE},
					     {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR};
	struct xp_domain_adopt_opts o = {0};
	struct xp_settings over = {0};
	int c, rc = 0;
	while (rc == 0 && (c = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		switch (c) {
		case O_DISK:
			o.disk = optarg;
			break;
		case O_SYSTEM:
			o.system = optarg;
			break;
		case O_ASET:
			rc = add_override(&over, optarg, cmd);
			break;
		case O_CDIR:
			o.config_dir = optarg;
			break;
		case O_AUTO:
			if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
				rc = cli_usage_error(cmd, "--autostart takes on or off, not '%s'",
						     optarg);
			o.autostart = strcmp(optarg, "on") == 0;
			break;
		case O_MEM:
		case O_VCPUS:
		case O_BRIDGE:
			rc = set_override(&over,
					  c == O_MEM ? "memory" : c == O_VCPUS ? "vcpus" : "bridge",
					  optarg);
			break;
		default:
			rc = cli_bad_option(cmd, argv);
		}
	}
	if (rc == 0 && optind >= argc)
		rc = cli_usage_error(cmd, "NAME is required");
	else if (rc == 0 && optind + 1 < argc)
		rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	else if (rc == 0 && !o.disk)
		rc = cli_usage_error(cmd, "--disk PATH is required");
	struct xp_inv *inv = NULL;
	if (rc == 0)
		rc = cli_inv_open(co.state_dir, &inv);
	if (rc != 0) {
		xp_settings_release(&over);
		return rc;
	}
	o.name = argv[optind];
	o.overrides = &over;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_domain dom;
	int r = xp_domain_adopt(inv, &o, &dom, &d);
	if (r < 0) {
		fprintf(stderr, "xenprov: cannot adopt '%s'\n", o.name);
		if (d.n == 0)
			fprintf(stderr, "xenprov: %s\n", strerror(-r));
		rc = XP_EXIT_FAIL;
	}
	print_diags(&d);
	xp_diags_release(&d);
	if (r == 0 && co.json) {
		rc = cli_print_json(xp_domain_to_json(&dom, false));
	} else if (r == 0) {
		printf("%s: adopted: %s disk %s, mac %s", dom.name, dom.storage, dom.disk_path,
		       dom.mac);
		if (dom.ip)
			printf(", ip %s", dom.ip);
		printf(", config %s%s\n", dom.config_path, o.autostart ? ", autostart on" : "");
	}
	if (r == 0)
		xp_domain_release(&dom);
	xp_settings_release(&over);
	xp_inv_close(inv);
	return rc;
}

/* ---- list, show --------------------------------------------------------------------------- */

static const char list_usage[] =
    "Usage: xenprov domain list [--json] [--drift]\n"
    "\n"
    "Lists the guests in the inventory: name, state (of the record: ready, creating,\n"
    "...), power (from the toolstack, `xl list -l`: running, stopped, or unknown where\n"
    "no toolstack answers), autostart, profile, storage, the captured image version its\n"
    "disk holds (NAME@V, `image update`; - for other images), MAC and IP.\n"
    "\n"
    "  --json            JSON output (an array of what `show --json` prints)\n"
    "  --drift           also where each guest differs from its profile now (see\n"
    "                    `domain diff`): a DRIFT column of profile keys, \"drift\" in\n"
    "                    the JSON (null where it cannot be compared); image-version\n"
    "                    when the guest's disk holds an older or other version of its\n"
    "                    captured image than the profile's image names (NAME: the\n"
    "                    latest, NAME@V: that one)\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

static const char show_usage[] =
    "Usage: xenprov domain show [--json] [--secrets] NAME\n"
    "\n"
    "Shows one guest's record: state, power (running and its domain id, stopped, or\n"
    "unknown and why: from the toolstack), autostart (and its link), profile, MAC, IP,\n"
    "storage, disk, its further disks (vdev, role, storage, filesystem, size, path,\n"
    "UUID, mount point) and NICs (devid, MAC, address, bridge), config, golden image\n"
    "and the profile values it was made with. Secret values (root-password-hash, ...)\n"
    "are shown only with --secrets; the JSON names them in \"withheld\".\n"
    "\n"
    "  --json            JSON output\n"
    "  --secrets         show secret values too\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

static int run_list(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR, .operand = ""};
	struct xp_inv *inv;
	int drift = 0;
	const struct option opts[] = {{"drift", no_argument, &drift, 1}, {NULL, 0, NULL, 0}};
	int rc = cli_parse_flags(argc, argv, "domain list", "", opts, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	struct xp_domain *v;
	size_t n;
	int r = xp_domain_list(inv, &v, &n);
	if (r < 0) {
		rc = cli_error("cannot read the inventory: %s", xp_inv_errmsg(inv));
		xp_inv_close(inv);
		return rc;
	}
	struct xp_xl *xl = n ? domain_toolstack() : NULL;
	if (co.json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *j = xp_domain_to_json(&v[i], false);
			if (j)
				domain_runtime_json(j, &v[i], xl);
			if (j && drift) {
				json_t *keys = cli_domain_drift_keys(inv, &v[i]);
				json_object_set_new(j, "drift", keys ? keys : json_null());
			}
			json_array_append_new(a, j);
		}
		rc = cli_print_json(a);
	} else {
		/* the IP last, unpadded, unless the DRIFT column follows it */
		int ipw = drift ? -15 : 0;
		if (n)
			printf("%-20s %-9s %-8s %-4s %-16s %-8s %-14s %-17s %*s%s\n", "NAME",
			       "STATE", "POWER", "AUTO", "PROFILE", "STORAGE", "IMAGE", "MAC", ipw,
			       "IP", drift ? " DRIFT" : "");
		for (size_t i = 0; i < n; i++) {
			printf("%-20s %-9s %-8s %-4s %-16s %-8s %-14s %-17s %*s", v[i].name,
			       v[i].state, xp_power_name(xp_xl_power(xl, v[i].name, NULL)),
			       domain_autostart_word(&v[i]), v[i].profile ? v[i].profile : "-",
			       v[i].storage ? v[i].storage : "-",
			       v[i].image_version ? v[i].image_version : "-",
			       v[i].mac ? v[i].mac : "-", ipw, v[i].ip ? v[i].ip : "dhcp");
			json_t *keys = drift ? cli_domain_drift_keys(inv, &v[i]) : NULL;
			for (size_t k = 0; keys && k < json_array_size(keys); k++)
				printf("%s%s", k ? "," : " ",
				       json_string_value(json_array_get(keys, k)));
			if (drift && (!keys || json_array_size(keys) == 0))
				printf(" %s", keys ? "-" : "?");
			json_decref(keys);
			printf("\n");
		}
	}
	xp_xl_free(xl);
	xp_domain_list_free(v, n);
	xp_inv_close(inv);
	return rc;
}

static int run_show(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_SECRETS | CLI_STATE_DIR};
	int rc = cli_parse_flags(argc, argv, "domain show", "", NULL, &co);
	if (rc)
		return rc;
	if (optind >= argc)
		return cli_usage_error("domain show", "NAME is required");
	if (optind + 1 < argc)
		return cli_usage_error("domain show", "unexpected argument '%s'", argv[optind + 1]);
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)) != 0)
		return rc;
	struct xp_domain dom;
	int r = xp_domain_get(inv, argv[optind], &dom);
	if (r < 0) {
		rc = r == -ENOENT ? cli_error("no domain '%s'", argv[optind])
				  : cli_error("cannot read the inventory: %s", xp_inv_errmsg(inv));
		xp_inv_close(inv);
		return rc;
	}
	struct xp_xl *xl = domain_toolstack();
	if (co.json) {
		json_t *j = xp_domain_to_json(&dom, co.secrets);
		if (j)
			domain_runtime_json(j, &dom, xl);
		rc = cli_print_json(j);
	} else {
		printf("name:     %s\nstate:    %s\n", dom.name, dom.state);
		domain_runtime_text(&dom, xl);
		printf("profile:  %s\nmac:      %s\n", dom.profile ? dom.profile : "-",
		       dom.mac ? dom.mac : "-");
		if (dom.ip)
			printf("ip:       %s/%u\n", dom.ip, dom.prefix_len);
		else
			printf("ip:       dhcp\n");
		printf("storage:  %s\ndisk:     %s\n", dom.storage ? dom.storage : "-",
		       dom.disk_path ? dom.disk_path : "-");
		for (size_t i = 0; i < dom.nvolumes; i++) {
			const struct xp_domain_volume *k = &dom.volumes[i];
			printf("%-10s%s %s %s %llu MiB %s", k->vdev, k->role, k->storage, k->fs,
			       (unsigned long long)(k->size >> 20), k->path);
			if (k->uuid)
				printf(" UUID=%s", k->uuid);
			if (k->mount)
				printf(" on %s", k->mount);
			printf("\n");
		}
		for (size_t i = 0; i < dom.nnics; i++) {
			const struct xp_domain_nic *n = &dom.nics[i];
			char ip[32] = "dhcp";
			if (n->ip)
				snprintf(ip, sizeof(ip), "%s/%u", n->ip, n->prefix_len);
			printf("nic %-6u%s %s bridge %s%s%s\n", n->devid, n->mac, ip, n->bridge,
			       n->gateway ? " gateway " : "", n->gateway ? n->gateway : "");
		}
		printf("config:   %s\ngolden:   %s\n", dom.config_path ? dom.config_path : "-",
		       dom.golden ? dom.golden : "-");
		if (dom.image_version)
			printf("image:    %s\n", dom.image_version);
		if (dom.dom0)
			printf("dom0:     %s\n", dom.dom0);
		time_t t = (time_t)dom.created;
		char when[64];
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", localtime(&t));
		printf("created:  %s\n", when);
		if (dom.settings.n)
			printf("settings:\n");
		for (size_t i = 0; i < dom.settings.n; i++)
			printf("  %s = %s\n", dom.settings.v[i].key,
			       co.secrets || !xp_profile_key_secret(dom.settings.v[i].key)
				   ? dom.settings.v[i].value
				   : CLI_SECRET_TEXT);
		rc = XP_EXIT_OK;
	}
	xp_xl_free(xl);
	xp_domain_release(&dom);
	xp_inv_close(inv);
	return rc;
}

/* ---- the command ------------------------------------------------------------------------ */

static const struct xp_verb create_verb = {"create", "make a guest from a profile", create_usage,
					   run_create};
static const struct xp_verb delete_verb = {"delete", "delete guests: config, disks, record",
					   delete_usage, run_delete};
static const struct xp_verb list_verb = {"list", "list the guests in the inventory", list_usage,
					 run_list};
static const struct xp_verb show_verb = {"show", "show one guest's record", show_usage, run_show};
static const struct xp_verb adopt_verb = {"adopt", "record an installed machine as an HVM guest",
					  adopt_usage, run_adopt};

static const struct xp_verb *const domain_verbs[] = {
    &create_verb,	    &delete_verb,	   &list_verb,
    &show_verb,		    &domain_start_verb,	   &domain_shutdown_verb,
    &domain_reboot_verb,    &domain_destroy_verb,  &domain_console_verb,
    &domain_autostart_verb, &domain_block_list_verb, &domain_diff_verb,
    &domain_update_verb,    &adopt_verb,		   NULL};

const struct xp_command cmd_domain = {
    .name = "domain",
    .summary = "make, delete, list, start, stop and update guests",
    .usage = "Usage: xenprov domain VERB [OPTIONS] ARGS...\n"
	     "\n"
	     "One guest at a time: its disk from a profile's golden image, its MAC and IP,\n"
	     "its xl config in /etc/xen, all recorded in the inventory; and running it\n"
	     "through Xen's toolstack (xl).\n",
    .verbs = domain_verbs,
};
