/*
 * cmd-domain-life.c - running guests: `xenprov domain start|shutdown|reboot|destroy NAME...`
 * (xl create/shutdown/reboot/destroy, per-name results), `console NAME` (becomes `xl
 * console`), `autostart on|off NAME...` (the link xendomains reads), `block-list NAME...`
 * (a guest's storage: xl's view and xenprov's), and what list and show add (the power
 * state from the toolstack, autostart). Thin: the work is in src/lib/deploy
 * (xenprov/toolstack.h); cmd-domain.c holds the verb table.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-inventory.h"
#include "cli.h"
#include "domain-life.h"

/* ---- what list and show add -------------------------------------------------------------- */

struct xp_xl *domain_toolstack(void)
{
	struct xp_xl *xl = NULL;
	if (xp_xl_open(NULL, &xl) < 0)
		return NULL;
	(void)xp_xl_refresh(xl); /* its failure is the answer "unknown" */
	return xl;
}

const char *domain_autostart_word(const struct xp_domain *dom)
{
	return dom->config_path && xp_autostart_get(dom->config_path) == 1 ? "on" : "off";
}

void domain_runtime_json(json_t *o, const struct xp_domain *dom, const struct xp_xl *xl)
{
	long domid;
	enum xp_power p = xp_xl_power(xl, dom->name, &domid);
	json_object_set_new(o, "power", json_string(xp_power_name(p)));
	if (p == XP_POWER_RUNNING && domid >= 0)
		json_object_set_new(o, "domid", json_integer(domid));
	json_object_set_new(o, "autostart",
			    json_boolean(strcmp(domain_autostart_word(dom), "on") == 0));
}

void domain_runtime_text(const struct xp_domain *dom, const struct xp_xl *xl)
{
	long domid;
	enum xp_power p = xp_xl_power(xl, dom->name, &domid);
	printf("power:    %s", xp_power_name(p));
	if (p == XP_POWER_RUNNING && domid >= 0)
		printf(" (domid %ld)", domid);
	else if (p == XP_POWER_UNKNOWN)
		printf(" (%s)", xl ? xp_xl_why(xl) : "out of memory");
	char *link = NULL;
	bool on = strcmp(domain_autostart_word(dom), "on") == 0;
	if (on && xp_autostart_link_path(dom->config_path, &link) == 0)
		printf("\nautostart: on (%s)\n", link);
	else
		printf("\nautostart: off\n");
	free(link);
}

int domain_timeout_arg(const char *verb, const char *arg, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v > 86400)
		return cli_usage_error(verb, "invalid --timeout '%s' (seconds, 0-86400)", arg);
	*out = (unsigned)v;
	return 0;
}

/* The inventory's record of name, or an error printed. */
static int get_domain(struct xp_inv *inv, const char *name, struct xp_domain *dom)
{
	int r = xp_domain_get(inv, name, dom);
	if (r == -ENOENT)
		return cli_error("no domain '%s'", name);
	if (r < 0)
		return cli_error("cannot read the inventory: %s", xp_inv_errmsg(inv));
	return 0;
}

/* The verbs of NAME... at argv[first..]: each guest's record handed to fn (with ud),
 * unknown names reported; the inventory opened in state_dir first. 0, or the exit
 * code: 1 if any NAME failed, 2 if none was given. */
static int each_domain(int argc, char **argv, int first, const char *cmd, const char *state_dir,
		       int (*fn)(const struct xp_domain *dom, void *ud), void *ud)
{
	if (first >= argc)
		return cli_usage_error(cmd, "NAME is required");
	struct xp_inv *inv;
	int rc = cli_inv_open(state_dir, &inv);
	if (rc)
		return rc;
	for (int i = first; i < argc; i++) {
		struct xp_domain dom;
		if (get_domain(inv, argv[i], &dom) != 0) {
			rc = XP_EXIT_FAIL;
			continue;
		}
		if (fn(&dom, ud) != 0)
			rc = XP_EXIT_FAIL;
		xp_domain_release(&dom);
	}
	xp_inv_close(inv);
	return rc;
}

/* ---- start, shutdown, reboot, destroy ---------------------------------------------------- */

static const char start_usage[] =
    "Usage: xenprov domain start [-q] NAME...\n"
    "\n"
    "Starts guests: `xl create CONFIG` with the config `domain create` wrote. A guest\n"
    "that runs already is left as it is. Needs a Xen toolstack (xl, in dom0).\n"
    "Each NAME is done on its own; exit 1 if any failed.\n"
    "\n"
    "  -q, --quiet       print nothing on success\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n"
    "\n"
    "Environment: XENPROV_XL, the xl program to run (default: xl on PATH).\n";

static const char shutdown_usage[] =
    "Usage: xenprov domain shutdown [--wait [--timeout SECS]] [-q] NAME...\n"
    "\n"
    "Asks guests to shut down (`xl shutdown NAME`: the guest's own orderly shutdown).\n"
    "A guest that is not running is left as it is. Each NAME is done on its own; exit 1\n"
    "if any failed.\n"
    "\n"
    "  --wait            wait until the toolstack no longer lists them (all guests are\n"
    "                    asked first, then waited for together)\n"
    "  --timeout SECS    with --wait: give up after SECS seconds (default: no bound);\n"
    "                    the guests still running are failures\n"
    "  -q, --quiet       print nothing on success\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

static const char reboot_usage[] =
    "Usage: xenprov domain reboot [-q] NAME...\n"
    "\n"
    "Asks running guests to reboot (`xl reboot NAME`). A guest that is not running is\n"
    "an error. Each NAME is done on its own; exit 1 if any failed.\n"
    "\n"
    "  -q, --quiet       print nothing on success\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

static const char destroy_usage[] =
    "Usage: xenprov domain destroy [-q] NAME...\n"
    "\n"
    "Stops guests at once (`xl destroy NAME`: pulling the plug; the guest's disk is kept).\n"
    "A guest that is not running is left as it is. Each NAME is done on its own; exit 1\n"
    "if any failed.\n"
    "\n"
    "  -q, --quiet       print nothing on success\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

enum action { A_START, A_SHUTDOWN, A_REBOOT, A_DESTROY };

/* One guest's action; 0, or XP_EXIT_FAIL with the reason printed. *asked: shut down
 * was asked (to wait for). */
static int act(struct xp_xl *xl, enum action a, const struct xp_domain *dom, bool quiet,
	       bool *asked)
{
	static const char *const verbs[] = {"create", "shutdown", "reboot", "destroy"};
	static const char *const done[] = {"started", "shutting down", "rebooting", "destroyed"};
	bool running = xp_xl_power(xl, dom->name, NULL) == XP_POWER_RUNNING;
	if (a == A_START && running) {
		if (!quiet)
			printf("%s: already running\n", dom->name);
		return 0;
	}
	if ((a == A_SHUTDOWN || a == A_DESTROY) && !running) {
		if (!quiet)
			printf("%s: already stopped\n", dom->name);
		return 0;
	}
	if (a == A_REBOOT && !running)
		return cli_error("domain '%s' is not running", dom->name);
	if (a == A_START && strcmp(dom->state, "ready") != 0)
		return cli_error("domain '%s' is not ready (state %s)", dom->name, dom->state);
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_xl_do(xl, verbs[a], NULL, a == A_START ? dom->config_path : dom->name, &d);
	cli_print_messages(&d);
	xp_diags_release(&d);
	if (r < 0)
		return XP_EXIT_FAIL;
	*asked = a == A_SHUTDOWN;
	if (!quiet)
		printf("%s: %s\n", dom->name, done[a]);
	return 0;
}

/* Waits for the guests asked to shut down: each "stopped", or a failure. */
static int wait_stopped(struct xp_xl *xl, const char *const *names, size_t n, unsigned timeout,
			bool quiet)
{
	bool *gone = calloc(n ? n : 1, sizeof(*gone));
	if (!gone)
		return cli_error("out of memory");
	int rc = 0, left = xp_xl_wait_gone(xl, names, n, timeout, gone);
	if (left < 0)
		rc = cli_error("cannot tell whether the guests stopped: %s", xp_xl_why(xl));
	for (size_t i = 0; i < n && left >= 0; i++) {
		if (gone[i] && !quiet)
			printf("%s: stopped\n", names[i]);
		else if (!gone[i])
			rc = cli_error("domain '%s' still runs after %u s", names[i], timeout);
	}
	free(gone);
	return rc;
}

static int run_action(int argc, char **argv, enum action a)
{
	char cmd[32];
	snprintf(cmd, sizeof(cmd), "domain %s", argv[0]);
	enum { O_WAIT = 256, O_TIMEOUT };
	static const struct option wait_opts[] = {{"wait", no_argument, NULL, O_WAIT},
						  {"timeout", required_argument, NULL, O_TIMEOUT},
						  {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_QUIET | CLI_STATE_DIR};
	bool wait = false, timed = false;
	unsigned timeout = 0;
	int c, rc;
	while ((c = cli_getopt(argc, argv, "", a == A_SHUTDOWN ? wait_opts : NULL, &co)) != -1) {
		if (c == O_WAIT) {
			wait = true;
		} else if (c == O_TIMEOUT) {
			if ((rc = domain_timeout_arg(cmd, optarg, &timeout)))
				return rc;
			timed = true;
		} else {
			return cli_bad_option(cmd, argv);
		}
	}
	if (timed && !wait)
		return cli_usage_error(cmd, "--timeout goes with --wait");
	if (optind >= argc)
		return cli_usage_error(cmd, "NAME is required");
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)) != 0)
		return rc;
	struct xp_xl *xl = NULL;
	const char **asked = calloc((size_t)argc, sizeof(*asked));
	struct xp_domain *doms = calloc((size_t)argc, sizeof(*doms));
	bool *known = calloc((size_t)argc, sizeof(*known));
	size_t nasked = 0, nknown = 0;
	if (!asked || !doms || !known || xp_xl_open(NULL, &xl) < 0) {
		rc = cli_error("out of memory");
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		known[i] = get_domain(inv, argv[i], &doms[i]) == 0;
		nknown += known[i];
		if (!known[i])
			rc = XP_EXIT_FAIL;
	}
	/* one question to the toolstack for every NAME; none to ask is every NAME's failure */
	if (nknown && xp_xl_refresh(xl) < 0) {
		rc = cli_error("no Xen toolstack here (%s)", xp_xl_why(xl));
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		bool was_asked = false;
		if (!known[i])
			continue;
		if (act(xl, a, &doms[i], co.quiet, &was_asked) != 0)
			rc = XP_EXIT_FAIL;
		if (was_asked)
			asked[nasked++] = doms[i].name;
	}
	if (wait && nasked && wait_stopped(xl, asked, nasked, timeout, co.quiet) != 0)
		rc = XP_EXIT_FAIL;
	if (rc == 0)
		rc = cli_flush();
out:
	for (int i = 0; doms && i < argc; i++)
		xp_domain_release(&doms[i]);
	free(doms);
	free(known);
	free(asked);
	xp_xl_free(xl);
	xp_inv_close(inv);
	return rc;
}

static int run_start(int argc, char **argv)
{
	return run_action(argc, argv, A_START);
}
static int run_shutdown(int argc, char **argv)
{
	return run_action(argc, argv, A_SHUTDOWN);
}
static int run_reboot(int argc, char **argv)
{
	return run_action(argc, argv, A_REBOOT);
}
static int run_destroy(int argc, char **argv)
{
	return run_action(argc, argv, A_DESTROY);
}

/* ---- console ------------------------------------------------------------------------------ */

static const char console_usage[] =
    "Usage: xenprov domain console NAME\n"
    "\n"
    "Attaches to a guest's console: xenprov becomes `xl console NAME` (the same\n"
    "process; leave with Ctrl-]). Its exit status is xl's.\n"
    "\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

static int run_console(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "NAME"};
	int rc = cli_parse_flags(argc, argv, "domain console", "", NULL, &co);
	if (rc)
		return rc;
	const char *name = argv[optind];
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)) != 0)
		return rc;
	struct xp_domain dom;
	rc = get_domain(inv, name, &dom);
	xp_inv_close(inv);
	if (rc)
		return rc;
	xp_domain_release(&dom);
	struct xp_xl *xl;
	if (xp_xl_open(NULL, &xl) < 0)
		return cli_error("out of memory");
	if (!xp_xl_program(xl)) {
		rc = cli_error("no Xen toolstack here (%s)", xp_xl_why(xl));
		xp_xl_free(xl);
		return rc;
	}
	char *prog = strdup(xp_xl_program(xl));
	xp_xl_free(xl);
	if (!prog)
		return cli_error("out of memory");
	/* the terminal is xl's from here: replace this process, so that signals, the
	 * terminal's modes and the exit status are xl's own */
	char *xargv[] = {"xl", "console", (char *)name, NULL};
	fflush(NULL);
	execv(prog, xargv);
	rc = cli_error("cannot run %s: %s", prog, strerror(errno));
	free(prog);
	return rc;
}

/* ---- autostart ---------------------------------------------------------------------------- */

static const char autostart_usage[] =
    "Usage: xenprov domain autostart on|off [-q] NAME...\n"
    "\n"
    "Whether guests start with the host: `on` makes the link CONFIG-DIR/auto/NAME.cfg to\n"
    "the guest's config (the directory xendomains(8) starts at boot and shuts down at\n"
    "halt; made when missing), `off` removes it. The link is made or removed in one\n"
    "step; a file of that name that is not a link to the guest's config is never\n"
    "touched. `domain show` and `list` show the setting; `domain create --autostart on`\n"
    "sets it at creation, `domain delete` removes the link with the guest.\n"
    "\n"
    "  -q, --quiet       print nothing on success\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

struct autostart {
	bool on, quiet;
};

static int autostart_one(const struct xp_domain *dom, void *ud)
{
	const struct autostart *a = ud;
	bool on = a->on;
	struct xp_diags d;
	xp_diags_init(&d);
	char *link = NULL;
	int r = dom->config_path ? xp_autostart_set(dom->config_path, on, &d) : -ENOENT;
	cli_print_messages(&d);
	if (r < 0)
		cli_error("cannot set autostart of domain '%s'%s%s", dom->name, d.n ? "" : ": ",
			  d.n ? "" : strerror(-r));
	else if (a->quiet)
		;
	else if (on && xp_autostart_link_path(dom->config_path, &link) == 0)
		printf("%s: autostart on (%s)\n", dom->name, link);
	else
		printf("%s: autostart off\n", dom->name);
	free(link);
	xp_diags_release(&d);
	return r < 0 ? XP_EXIT_FAIL : 0;
}

static int run_autostart(int argc, char **argv)
{
	const char *cmd = "domain autostart";
	struct cli_opts co = {.takes = CLI_QUIET | CLI_STATE_DIR};
	int rc = cli_parse_flags(argc, argv, cmd, "", NULL, &co);
	if (rc)
		return rc;
	if (optind >= argc)
		return cli_usage_error(cmd, "on or off is required");
	bool on = strcmp(argv[optind], "on") == 0;
	if (!on && strcmp(argv[optind], "off") != 0)
		return cli_usage_error(cmd, "expected on or off, not '%s'", argv[optind]);
	struct autostart a = {.on = on, .quiet = co.quiet};
	rc = each_domain(argc, argv, optind + 1, cmd, co.state_dir, autostart_one, &a);
	return rc ? rc : cli_flush();
}

/* ---- block-list --------------------------------------------------------------------------- */

static const char block_list_usage[] =
    "Usage: xenprov domain block-list [--json] NAME...\n"
    "\n"
    "Shows guests' storage: every disk of the guest's config (read with xenprov's xl\n"
    "parser) with its vdev and device number, backend, format, access, path, the\n"
    "image's virtual size and the space it uses on the host, a qcow2 image's backing\n"
    "file, which disk `domain create` made; and when the guest runs, what `xl\n"
    "block-list` says of each (backend domain, handle, state, event channel, ring\n"
    "reference, backend path), disks attached since included.\n"
    "\n"
    "  --json            JSON output: an array, one object a NAME\n"
    "  --state-dir DIR   the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov)\n"
    "  -h, --help        this help\n";

static json_t *size_json(int64_t v)
{
	return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *disk_json(const struct xp_domain *dom, const struct xp_domain_disk *k)
{
	json_t *o = json_object();
	const struct xp_disk *s = &k->disk;
	json_object_set_new(o, "vdev", s->vdev ? json_string(s->vdev) : json_null());
	json_object_set_new(o, "devid", k->devid >= 0 ? json_integer(k->devid) : json_null());
	json_object_set_new(o, "spec", k->spec[0] ? json_string(k->spec) : json_null());
	json_object_set_new(o, "backend", k->backend ? json_string(k->backend) : json_null());
	json_object_set_new(o, "format", s->format != XP_DISK_FORMAT_UNKNOWN
					     ? json_string(xp_disk_format_name(s->format))
					     : json_null());
	json_object_set_new(o, "access", k->spec[0] ? json_string(s->readwrite ? "rw" : "ro")
						    : json_null());
	json_object_set_new(o, "cdrom", json_boolean(s->is_cdrom));
	json_object_set_new(o, "path", s->pdev_path ? json_string(s->pdev_path) : json_null());
	json_object_set_new(o, "xenprov", json_boolean(k->xenprov));
	if (k->xenprov) {
		json_object_set_new(o, "storage", dom->storage ? json_string(dom->storage) : json_null());
		json_object_set_new(o, "golden", dom->golden ? json_string(dom->golden) : json_null());
	}
	if (k->image) {
		json_t *im = json_object();
		json_object_set_new(im, "format", json_string(xp_image_format_name(k->image_format)));
		json_object_set_new(im, "virtual_size", json_integer((json_int_t)k->virtual_size));
		json_object_set_new(im, "disk_usage", size_json(k->used));
		json_object_set_new(im, "block_device", json_boolean(k->block_device));
		json_t *b = json_null();
		if (k->backing) {
			b = json_object();
			json_object_set_new(b, "file", json_string(k->backing));
			json_object_set_new(b, "path", json_string(k->backing_path));
			if (k->backing_read) {
				json_object_set_new(b, "format", json_string(xp_image_format_name(k->backing_format)));
				json_object_set_new(b, "virtual_size", json_integer((json_int_t)k->backing_size));
				json_object_set_new(b, "disk_usage", size_json(k->backing_used));
			}
		}
		json_object_set_new(im, "backing", b);
		json_object_set_new(o, "image", im);
	} else {
		json_object_set_new(o, "image", json_null());
	}
	if (k->error)
		json_object_set_new(o, "error", json_string(k->error));
	json_t *x = json_null();
	if (k->vbd_known) {
		const struct xp_xl_vbd *v = &k->vbd;
		x = json_object();
		json_object_set_new(x, "devid", json_integer(v->devid));
		json_object_set_new(x, "backend_id", json_integer(v->backend_id));
		json_object_set_new(x, "handle", json_integer(v->handle));
		json_object_set_new(x, "state", json_integer(v->state));
		json_object_set_new(x, "state_name", json_string(xp_xenbus_state_name(v->state)));
		json_object_set_new(x, "evtch", json_integer(v->evtch));
		json_object_set_new(x, "ring_ref", json_integer(v->ring_ref));
		json_object_set_new(x, "be_path", json_string(v->be_path));
	}
	json_object_set_new(o, "xl", x);
	return o;
}

/* The text form: a table a guest, then each disk's backing file and xl's row. */
static int print_disks(const struct xp_domain *dom, const struct xp_xl *xl,
		       const struct xp_domain_disk *v, size_t n)
{
	long domid;
	enum xp_power p = xp_xl_power(xl, dom->name, &domid);
	printf("%s: %s", dom->name, xp_power_name(p));
	if (p == XP_POWER_RUNNING)
		printf(" (domid %ld)", domid);
	printf(", %zu disk%s\n", n, n == 1 ? "" : "s");
	enum { NCOL = 9 };
	const char **cells = calloc((n + 1) * NCOL, sizeof(*cells));
	char (*text)[4][32] = calloc(n + 1, sizeof(*text));
	if (!cells || !text) {
		free(cells);
		free(text);
		return cli_error("out of memory");
	}
	static const char *const head[NCOL] = {"VDEV",  "DEVID", "BACKEND", "FORMAT", "ACCESS",
					       "SIZE",  "USED",  "STATE",   "PATH"};
	memcpy(cells, head, sizeof(head));
	for (size_t i = 0; i < n; i++) {
		const struct xp_domain_disk *k = &v[i];
		const char **row = cells + (i + 1) * NCOL;
		if (k->devid >= 0)
			snprintf(text[i][0], 32, "%ld", k->devid);
		if (k->image)
			cli_human_size(k->virtual_size, text[i][1]);
		if (k->used >= 0)
			cli_human_size((uint64_t)k->used, text[i][2]);
		row[0] = k->disk.vdev;
		row[1] = k->devid >= 0 ? text[i][0] : NULL;
		row[2] = k->backend;
		row[3] = k->disk.format != XP_DISK_FORMAT_UNKNOWN ? xp_disk_format_name(k->disk.format)
								 : NULL;
		row[4] = !k->spec[0] ? NULL : k->disk.is_cdrom ? "cdrom"
					  : k->disk.readwrite   ? "rw"
								: "ro";
		row[5] = k->image ? text[i][1] : NULL;
		row[6] = k->used >= 0 ? text[i][2] : NULL;
		row[7] = k->vbd_known ? xp_xenbus_state_name(k->vbd.state) : NULL;
		row[8] = k->spec[0] ? k->disk.pdev_path : "(attached since start)";
	}
	cli_print_table(cells, NCOL, n + 1);
	for (size_t i = 0; i < n; i++) {
		const struct xp_domain_disk *k = &v[i];
		const char *vd = k->disk.vdev ? k->disk.vdev : text[i][0];
		if (k->xenprov)
			printf("  %s: made by xenprov: %s storage, golden image %s\n", vd,
			       dom->storage ? dom->storage : "-", dom->golden ? dom->golden : "-");
		if (k->backing) {
			char size[32] = "?", used[32] = "?";
			if (k->backing_read)
				cli_human_size(k->backing_size, size);
			if (k->backing_used >= 0)
				cli_human_size((uint64_t)k->backing_used, used);
			printf("  %s: backing %s (%s, %s, %s used)\n", vd, k->backing_path,
			       k->backing_read ? xp_image_format_name(k->backing_format) : "unreadable",
			       size, used);
		}
		if (k->vbd_known)
			printf("  %s: xl: BE %ld handle %ld state %ld evt-ch %ld ring-ref %ld BE-path %s\n",
			       vd, k->vbd.backend_id, k->vbd.handle, k->vbd.state, k->vbd.evtch,
			       k->vbd.ring_ref, k->vbd.be_path);
		if (k->error)
			printf("  %s: %s\n", vd, k->error);
	}
	free(cells);
	free(text);
	return 0;
}

struct block_list {
	struct xp_xl *xl;
	json_t *all; /* --json: the array */
};

static int block_list_one(const struct xp_domain *dom, void *ud)
{
	struct block_list *bl = ud;
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_domain_disk *v;
	size_t n;
	int rc = 0, r = xp_domain_disks(dom, bl->xl, &v, &n, &d);
	cli_print_messages(&d);
	xp_diags_release(&d);
	if (r < 0)
		return cli_error("cannot read the disks of domain '%s'%s%s", dom->name,
				 r == -ENOMEM ? ": " : "", r == -ENOMEM ? strerror(-r) : "");
	if (bl->all) {
		json_t *o = json_object(), *a = json_array();
		json_object_set_new(o, "name", json_string(dom->name));
		domain_runtime_json(o, dom, bl->xl);
		for (size_t k = 0; k < n; k++)
			json_array_append_new(a, disk_json(dom, &v[k]));
		json_object_set_new(o, "disks", a);
		json_array_append_new(bl->all, o);
	} else {
		rc = print_disks(dom, bl->xl, v, n);
	}
	xp_domain_disks_free(v, n);
	return rc;
}

static int run_block_list(int argc, char **argv)
{
	const char *cmd = "domain block-list";
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR};
	int rc = cli_parse_flags(argc, argv, cmd, "", NULL, &co);
	if (rc)
		return rc;
	struct block_list bl = {.all = co.json ? json_array() : NULL};
	if (optind < argc)
		bl.xl = domain_toolstack();
	rc = each_domain(argc, argv, optind, cmd, co.state_dir, block_list_one, &bl);
	xp_xl_free(bl.xl);
	if (rc == XP_EXIT_USAGE || !bl.all) {
		json_decref(bl.all);
		return rc ? rc : cli_flush();
	}
	int pr = cli_print_json(bl.all);
	return rc ? rc : pr;
}

/* ---- the verbs ------------------------------------------------------------------------------ */

const struct xp_verb domain_start_verb = {"start", "start guests with xl create", start_usage,
					  run_start};
const struct xp_verb domain_shutdown_verb = {"shutdown", "shut guests down (xl shutdown)",
					     shutdown_usage, run_shutdown};
const struct xp_verb domain_reboot_verb = {"reboot", "reboot guests (xl reboot)", reboot_usage,
					   run_reboot};
const struct xp_verb domain_destroy_verb = {"destroy", "stop guests at once (xl destroy)",
					    destroy_usage, run_destroy};
const struct xp_verb domain_console_verb = {"console", "attach to a guest's console",
					    console_usage, run_console};
const struct xp_verb domain_autostart_verb = {"autostart", "start guests with the host, or not",
					      autostart_usage, run_autostart};
const struct xp_verb domain_block_list_verb = {"block-list", "show guests' storage",
					       block_list_usage, run_block_list};
