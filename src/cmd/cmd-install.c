/*
 * cmd-install.c - `xenprov install --server URL`: a guest on this host (a dom0) from a
 * profile or system another host's `xenprov serve` serves (koan's job), by its golden
 * image or by the distro's installer; `--list profiles|systems`; `--disk-boot NAME`
 * after an installer. Thin: the work is in src/lib/deploy/install.c and installer.c
 * (xenprov/install.h); the guest's options are domain create's (create-args.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-inventory.h"
#include "cli.h"
#include "create-args.h"
#include "xenprov/install.h"
#include "xenprov/toolstack.h"

static const char install_usage[] =
    "Usage: xenprov install --server URL (--profile P | --system S) --name N\n"
    "                       [--image | --installer] [OVERRIDES...] [--start] [--wait]\n"
    "       xenprov install --server URL --list profiles|systems\n"
    "       xenprov install --disk-boot N [--pxeboot] [--start]\n"
    "\n"
    "Makes guest N on this host from a profile (or a system and its profile) that a\n"
    "xenprov serve at URL serves, koan's job. With --image (the default when the profile\n"
    "has an image) the profile's golden image is fetched by its SHA-256 into\n"
    "STATE/images/remote/ (a fetch cut short goes on with a range; the hash is checked;\n"
    "a second guest fetches nothing) and the guest is made as `domain create` makes it.\n"
    "With --installer (the default for a profile with a distro and no image) its disk is\n"
    "made empty at the profile's disk-size and its config boots the installer the\n"
    "server names for its system, with on_reboot \"destroy\". The served profile's\n"
    "pool and config-dir are this host's own: the settings guest-pool, guest-storage,\n"
    "guest-bridge and config-dir (xenprov settings), then OVERRIDES, apply on top.\n"
    "The golden image needs the server's API token, unless the profile there has\n"
    "publish-image open. With the token the guest is registered on the server as\n"
    "system N (MAC, address, host name, netboot off); without one it is not.\n"
    "\n"
    "  --server URL           the server (default $XENPROV_SERVER): http[s]://HOST[:PORT]\n"
    "  --ca-file FILE         CA certificates for an https server (default: the system's)\n"
    "  --token-file FILE      the server's API token (default $XENPROV_TOKEN): for the\n"
    "                         golden image and to register the guest\n"
    "  --profile P            the served profile\n"
    "  --system S             the served system: its profile, its MAC; registered as S\n"
    "  --name N               the guest's name (and host name)\n"
    "  --image, --installer   the golden image, or the distro's installer\n"
    "  --start                start the guest (xl create); after --wait, start it again\n"
    "  --wait                 installer: start it, wait until it powers the guest off,\n"
    "                         then switch the config to boot the disk (--disk-boot)\n"
    "  --timeout SECONDS      how long --wait waits (default 7200; 0: no bound)\n"
    "  --pxeboot              the disk is booted by xenprov-pxeboot --local, not pygrub\n"
    "  --list KIND            print the served profiles or systems\n"
    "  --disk-boot N          switch guest N, made by --installer, to boot its disk\n"
    "  OVERRIDES              domain create's: --KEY VALUE, --config.NAME VALUE,\n"
    "                         --set KEY=VALUE, --ip, --mac, --mac-prefix, --config-dir,\n"
    "                         --autostart (xenprov-domain(1))\n"
    "  --state-dir DIR        the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  --json                 print the result as JSON\n"
    "  -q, --quiet            no progress display\n"
    "  -h, --help             this help\n"
    "\n"
    "Examples:\n"
    "  xenprov install --server http://10.0.0.1 --profile web --name web7 --memory 2048\n"
    "  XENPROV_SERVER=http://boot xenprov install --system db1 --name db1 --start\n"
    "  xenprov install --server http://boot --profile bookworm-inst --name lady --installer \\\n"
    "      --token-file /etc/xenprov/token --wait --start\n";

enum {
	O_SERVER = O_EXTRA0,
	O_CAFILE,
	O_TOKENFILE,
	O_SYSTEM,
	O_NAME,
	O_IMAGE,
	O_INSTALLER,
	O_START,
	O_WAIT,
	O_TIMEOUT,
	O_PXEBOOT,
	O_LIST,
	O_DISKBOOT,
};

struct iargs {
	const char *server, *ca_file, *token_file, *system, *name, *list, *disk_boot;
	enum xp_install_mode mode;
	bool start, wait, pxeboot;
	unsigned long timeout;
};

static int on_opt(int c, const char *arg, void *ud)
{
	struct iargs *a = ud;
	char *end;
	switch (c) {
	case O_SERVER:
		a->server = arg;
		break;
	case O_CAFILE:
		a->ca_file = arg;
		break;
	case O_TOKENFILE:
		a->token_file = arg;
		break;
	case O_SYSTEM:
		a->system = arg;
		break;
	case O_NAME:
		a->name = arg;
		break;
	case O_LIST:
		a->list = arg;
		break;
	case O_DISKBOOT:
		a->disk_boot = arg;
		break;
	case O_START:
		a->start = true;
		break;
	case O_WAIT:
		a->wait = true;
		break;
	case O_PXEBOOT:
		a->pxeboot = true;
		break;
	case O_IMAGE:
	case O_INSTALLER:
		if (a->mode != XP_INSTALL_AUTO)
			return cli_usage_error("install",
					       "--image and --installer exclude each other");
		a->mode = c == O_IMAGE ? XP_INSTALL_IMAGE : XP_INSTALL_INSTALLER;
		break;
	case O_TIMEOUT:
		errno = 0;
		a->timeout = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-')
			return cli_usage_error("install", "--timeout takes seconds, not '%s'", arg);
		break;
	}
	return 0;
}

/* The token: --token-file's first word, else $XENPROV_TOKEN, else none. */
static int read_token(const char *file, char **out)
{
	*out = NULL;
	if (!file) {
		const char *env = getenv("XENPROV_TOKEN");
		if (env && *env && !(*out = strdup(env)))
			return cli_error("out of memory");
		return 0;
	}
	char *text;
	size_t len;
	int r = xp_read_file(file, 4096, &text, &len);
	if (r < 0)
		return cli_error("cannot read the token file '%s': %s", file,
				 r == -EFBIG ? "it is over 4 KiB" : strerror(-r));
	size_t n = 0;
	while (n < len && text[n] > ' ')
		n++;
	text[n] = '\0';
	if (n == 0) {
		free(text);
		return cli_error("the token file '%s' is empty", file);
	}
	*out = text;
	return 0;
}

static void fetch_progress(void *ud, uint64_t done, uint64_t total)
{
	cli_progress_draw(ud, false, "xenprov: fetching the golden image: %.1f of %.1f MiB",
			  (double)done / 1048576.0, (double)total / 1048576.0);
}

static int list(const struct iargs *a, const struct cli_opts *co)
{
	json_t *v;
	struct xp_diags d = {0};
	int r = xp_install_list(a->server, a->ca_file, a->list, &v, &d);
	cli_print_messages(&d);
	xp_diags_release(&d);
	if (r < 0)
		return XP_EXIT_FAIL;
	if (co->json)
		return cli_print_json(v);
	bool prof = strcmp(a->list, "profiles") == 0;
	printf(prof ? "%-24s %-8s %s\n" : "%-24s %-17s %-15s %-20s %s\n", "NAME",
	       prof ? "FROM" : "MAC", prof ? "IMAGE/DISTRO" : "IP", "PROFILE", "NETBOOT");
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		if (prof) {
			json_t *eff = json_object_get(e, "effective");
			const char *img = json_string_value(json_object_get(eff, "image"));
			const char *dis = json_string_value(json_object_get(eff, "distro"));
			printf("%-24s %-8s %s\n", name ? name : "?",
			       img   ? "image"
			       : dis ? "distro"
				     : "-",
			       img   ? img
			       : dis ? dis
				     : "-");
		} else {
			const char *mac = json_string_value(json_object_get(e, "mac"));
			const char *ip = json_string_value(json_object_get(e, "ip"));
			const char *pr = json_string_value(json_object_get(e, "profile"));
			printf("%-24s %-17s %-15s %-20s %s\n", name ? name : "?", mac ? mac : "-",
			       ip ? ip : "-", pr ? pr : "-",
			       json_is_true(json_object_get(e, "netboot")) ? "on" : "off");
		}
	}
	json_decref(v);
	return XP_EXIT_OK;
}

static int xl_start(struct xp_xl *xl, const char *cfg, const char *name)
{
	struct xp_diags d = {0};
	int r = xp_xl_do(xl, "create", NULL, cfg, &d);
	cli_print_messages(&d);
	xp_diags_release(&d);
	if (r < 0)
		return cli_error("cannot start '%s'", name);
	return 0;
}

static int disk_boot(struct xp_inv *inv, const struct iargs *a, const char *name)
{
	char *pxe = NULL;
	if (a->pxeboot && xp_program_path("xenprov-pxeboot", &pxe) < 0)
		return cli_error("xenprov-pxeboot is not on PATH: boot by pygrub (no --pxeboot)");
	struct xp_diags d = {0};
	int r = xp_install_disk_boot(inv, name, pxe, &d);
	cli_print_messages(&d);
	xp_diags_release(&d);
	free(pxe);
	if (r < 0)
		return cli_error("cannot switch '%s' to boot its disk", name);
	return 0;
}

static int run_install(int argc, char **argv)
{
	const char *cmd = "install";
	static const struct option own[] = {
	    {"server", required_argument, NULL, O_SERVER},
	    {"ca-file", required_argument, NULL, O_CAFILE},
	    {"token-file", required_argument, NULL, O_TOKENFILE},
	    {"system", required_argument, NULL, O_SYSTEM},
	    {"name", required_argument, NULL, O_NAME},
	    {"image", no_argument, NULL, O_IMAGE},
	    {"installer", no_argument, NULL, O_INSTALLER},
	    {"start", no_argument, NULL, O_START},
	    {"wait", no_argument, NULL, O_WAIT},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"pxeboot", no_argument, NULL, O_PXEBOOT},
	    {"list", required_argument, NULL, O_LIST},
	    {"disk-boot", required_argument, NULL, O_DISKBOOT},
	};
	struct iargs ia = {.timeout = 7200};
	struct create_args ca;
	struct xp_inv *inv = NULL;
	struct xp_xl *xl = NULL;
	char *token = NULL;
	struct xp_install_result res = {0};
	int rc =
	    create_args_parse(cmd, argc, argv, own, sizeof(own) / sizeof(own[0]), on_opt, &ia, &ca);
	if (rc != 0)
		goto out;
	rc = XP_EXIT_FAIL;
	if (optind < ca.nargs) {
		rc = cli_usage_error(cmd, "unexpected argument '%s' (the name is --name N)",
				     ca.args[optind]);
		goto out;
	}
	if (!ia.server && getenv("XENPROV_SERVER") && *getenv("XENPROV_SERVER"))
		ia.server = getenv("XENPROV_SERVER");
	if (ia.disk_boot) {
		if ((rc = cli_inv_open(ca.co.state_dir, &inv)) != 0 ||
		    (rc = disk_boot(inv, &ia, ia.disk_boot)) != 0)
			goto out;
		printf("%s: boots its disk (%s)\n", ia.disk_boot,
		       ia.pxeboot ? "xenprov-pxeboot --local" : "pygrub");
		struct xp_domain dom;
		if (ia.start && xp_domain_get(inv, ia.disk_boot, &dom) == 0) {
			if ((rc = xp_xl_open(NULL, &xl)) < 0 ||
			    (rc = xl_start(xl, dom.config_path, dom.name)) != 0) {
				xp_domain_release(&dom);
				rc = rc < 0 ? cli_error("out of memory") : rc;
				goto out;
			}
			printf("%s: started\n", dom.name);
			xp_domain_release(&dom);
		}
		rc = XP_EXIT_OK;
		goto out;
	}
	if (!ia.server) {
		rc = cli_usage_error(cmd, "--server URL is required (or XENPROV_SERVER)");
		goto out;
	}
	if (strncmp(ia.server, "http://", 7) != 0 && strncmp(ia.server, "https://", 8) != 0) {
		rc = cli_usage_error(
		    cmd, "--server takes http://HOST[:PORT] or https://..., not '%s'", ia.server);
		goto out;
	}
	if (ia.list) {
		if (strcmp(ia.list, "profiles") != 0 && strcmp(ia.list, "systems") != 0) {
			rc = cli_usage_error(cmd, "--list takes profiles or systems, not '%s'",
					     ia.list);
			goto out;
		}
		rc = list(&ia, &ca.co);
		goto out;
	}
	if (!ia.name) {
		rc = cli_usage_error(cmd, "--name N is required");
		goto out;
	}
	if (!!ca.o.profile == !!ia.system) {
		rc = cli_usage_error(cmd, "give one of --profile P and --system S");
		goto out;
	}
	if ((rc = read_token(ia.token_file, &token)) != 0)
		goto out;
	rc = XP_EXIT_FAIL;
	if ((rc = cli_inv_open(ca.co.state_dir, &inv)) != 0)
		goto out;
	struct cli_progress prog;
	cli_progress_init(&prog, !ca.co.quiet && !ca.co.json);
	struct xp_install_opts o = {
	    .server = ia.server,
	    .ca_file = ia.ca_file,
	    .token = token,
	    .profile = ca.o.profile,
	    .system = ia.system,
	    .mode = ia.mode,
	    .wait = ia.wait,
	    .create = ca.o,
	    .progress = fetch_progress,
	    .progress_ud = &prog,
	};
	o.create.name = ia.name;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_install(inv, &o, &res, &d);
	cli_progress_clear(&prog, false);
	if (r < 0 && !res.dom.name) {
		fprintf(stderr, "xenprov: cannot install '%s' from %s\n", ia.name, ia.server);
		if (d.n == 0)
			fprintf(stderr, "xenprov: %s\n", strerror(-r));
		cli_print_messages(&d);
		xp_diags_release(&d);
		rc = XP_EXIT_FAIL;
		goto out;
	}
	cli_print_messages(&d); /* warnings; or why the guest made was not registered */
	xp_diags_release(&d);
	bool installer = res.mode == XP_INSTALL_INSTALLER;
	if (!ca.co.json) {
		create_print(&res.dom, ca.o.autostart);
		if (!installer && res.cached)
			printf("%s: image %.12s: cached, nothing fetched\n", ia.name, res.sha256);
		else if (!installer)
			printf("%s: image %.12s: fetched %.1f MiB in %.2f s (%.1f MB/s)%s\n",
			       ia.name, res.sha256, (double)res.fetched / 1048576.0,
			       res.fetch_seconds,
			       res.fetch_seconds > 0 ? (double)res.fetched / 1e6 / res.fetch_seconds
						     : 0.0,
			       res.resumed_from ? ", resumed" : "");
		if (!installer && res.resumed_from)
			printf("%s: resumed at byte %" PRIu64 "\n", ia.name, res.resumed_from);
		if (installer)
			printf("%s: installer %s, command line: %s\n", ia.name, res.kernel,
			       res.cmdline);
		if (res.registered)
			printf("%s: registered on %s as system %s\n", ia.name, ia.server,
			       ia.system ? ia.system : ia.name);
		else if (!token && !ia.system)
			printf("%s: not registered on %s: no API token (--token-file F or "
			       "XENPROV_TOKEN)\n",
			       ia.name, ia.server);
	}
	if (r < 0) {
		fprintf(stderr, "xenprov: '%s' was made here but not registered on %s\n", ia.name,
			ia.server);
		rc = XP_EXIT_FAIL;
		goto out;
	}
	if (ca.co.json) {
		json_t *j =
		    json_pack("{s:o, s:s, s:s, s:b}", "domain", xp_domain_to_json(&res.dom, false),
			      "profile", res.profile, "mode", installer ? "installer" : "image",
			      "registered", res.registered);
		if (j && !installer)
			json_object_set_new(
			    j, "image",
			    json_pack("{s:s, s:I, s:b, s:I, s:I, s:f}", "sha256", res.sha256,
				      "size", (json_int_t)res.image_size, "cached", res.cached,
				      "fetched", (json_int_t)res.fetched, "resumed_from",
				      (json_int_t)res.resumed_from, "seconds", res.fetch_seconds));
		if (j && !installer)
			json_object_set_new(j, "seconds",
					    json_pack("{s:f, s:f, s:f}", "before_create",
						      res.before_create_seconds, "create",
						      res.create_seconds, "register",
						      res.register_seconds));
		if (j && installer)
			json_object_set_new(
			    j, "installer",
			    json_pack("{s:s, s:o, s:s}", "kernel", res.kernel, "ramdisk",
				      res.ramdisk ? json_string(res.ramdisk) : json_null(),
				      "cmdline", res.cmdline));
		if ((rc = cli_print_json(j)) != 0)
			goto out;
	}
	if (!ia.start && !ia.wait) {
		if (installer && !ca.co.json)
			printf(
			    "%s: start it (xl create %s); when the installer has powered it off: "
			    "xenprov install --disk-boot %s\n",
			    ia.name, res.dom.config_path, ia.name);
		rc = XP_EXIT_OK;
		goto out;
	}
	if (xp_xl_open(NULL, &xl) < 0) {
		rc = cli_error("out of memory");
		goto out;
	}
	if ((rc = xl_start(xl, res.dom.config_path, ia.name)) != 0)
		goto out;
	if (!ca.co.json)
		printf("%s: started%s\n", ia.name, installer ? " (the installer)" : "");
	if (!ia.wait) {
		rc = XP_EXIT_OK;
		goto out;
	}
	/* the installer runs until it powers the guest off (on_reboot destroy: or reboots) */
	const char *names[] = {ia.name};
	bool gone = false;
	int left = xp_xl_wait_gone(xl, names, 1, (unsigned)ia.timeout, &gone);
	if (left < 0) {
		rc = cli_error("cannot watch '%s': %s", ia.name,
			       xp_xl_why(xl) ? xp_xl_why(xl) : strerror(-left));
		goto out;
	}
	if (left > 0) {
		rc = cli_error("the installer of '%s' still runs after %lu s", ia.name, ia.timeout);
		goto out;
	}
	if ((rc = disk_boot(inv, &ia, ia.name)) != 0)
		goto out;
	if (!ca.co.json)
		printf("%s: the installer is done; boots its disk (%s)\n", ia.name,
		       ia.pxeboot ? "xenprov-pxeboot --local" : "pygrub");
	if (token && !ia.system) { /* the installer no longer: netboot off */
		struct xp_diags d2 = {0};
		r = xp_install_netboot_off(&o, ia.name, res.profile, res.dom.mac, res.dom.ip, &d2);
		cli_print_messages(&d2);
		xp_diags_release(&d2);
		if (r < 0) {
			rc = cli_error("cannot set netboot off for system '%s' on %s", ia.name,
				       ia.server);
			goto out;
		}
	}
	if (ia.start) {
		if ((rc = xl_start(xl, res.dom.config_path, ia.name)) != 0)
			goto out;
		if (!ca.co.json)
			printf("%s: started from its disk\n", ia.name);
	}
	rc = XP_EXIT_OK;
out:
	xp_install_result_release(&res);
	xp_xl_free(xl);
	xp_inv_close(inv);
	free(token);
	create_args_release(&ca);
	return rc;
}

const struct xp_command cmd_install = {
    .name = "install",
    .summary = "build a guest here from a profile a remote xenprov serves (koan)",
    .usage = install_usage,
    .run = run_install,
};
