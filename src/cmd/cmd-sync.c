/*
 * cmd-sync.c - `xenprov sync`: the inventory written out for a site's own DHCP and TFTP
 * servers (a TFTP root; include files for dnsmasq, ISC dhcpd, Kea), only what changed,
 * each DHCP file checked by its server before it replaces the old one. Thin: the work
 * is libxenprov's (xenprov/sync.h); the targets a sync names are remembered
 * (xenprov/sync-state.h), so a later bare `xenprov sync` syncs them again.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xenprov/sync-state.h"
#include "xenprov/sync.h"

static const char sync_usage[] =
    "Usage: xenprov sync [--tftp-root DIR] [--dnsmasq FILE] [--isc-dhcpd FILE]\n"
    "                    [--kea FILE [--kea-classes FILE]] [--subnet A.B.C.D/N]\n"
    "                    [--http-base URL|none]\n"
    "                    [--dry-run] [--full] [--force] [--require-check] [-v]\n"
    "       xenprov sync --list | --forget TARGET...\n"
    "\n"
    "Writes the inventory out for a site that keeps its own DHCP and TFTP servers\n"
    "(xenprov serve needs no sync): the boot files of every system into a TFTP root,\n"
    "and host reservations with their PXE boot files as an include file for dnsmasq,\n"
    "ISC dhcpd or Kea. Only what changed since the last sync is rendered and only\n"
    "files whose bytes differ are written (atomically); files of systems gone are\n"
    "removed; a sync with no changes writes nothing. Each DHCP file is checked by the\n"
    "server's own checker (dnsmasq --test, dhcpd -t, kea-dhcp4 -t) before it replaces\n"
    "the old one. Files sync did not write are never replaced (see --force). The\n"
    "targets named are remembered: without any, the remembered ones are synced.\n"
    "\n"
    "  --tftp-root DIR      pxelinux, GRUB and iPXE files and the distros' kernels\n"
    "  --dnsmasq FILE       dnsmasq include (conf-file=FILE in the site's config)\n"
    "  --isc-dhcpd FILE     dhcpd include (include \"FILE\"; in dhcpd.conf)\n"
    "  --kea FILE           Kea: one subnet's reservations, a JSON array\n"
    "  --kea-classes FILE   Kea: the client classes giving netbooting systems their\n"
    "                       boot files (Dhcp4's \"client-classes\"), with --kea\n"
    "  --subnet A.B.C.D/N   the DHCP files hold the systems of this subnet (and those\n"
    "                       without an address); Kea's default: the one pool's subnet\n"
    "  --http-base URL      with --tftp-root: where installers fetch their autoinstall\n"
    "                       files (URL/autoinstall/SYSTEM: e.g. a `xenprov serve\n"
    "                       --http`): the boot files of systems with a template\n"
    "                       carry the argument serve renders (url=, inst.ks=, ...);\n"
    "                       'none' leaves it out. Default: serve's own address,\n"
    "                       http://SERVER[:HTTP-PORT] from the settings server and\n"
    "                       http-port, none when server is not set. Remembered\n"
    "                       with the target; a change rewrites what differs\n"
    "  -n, --dry-run        say what would change; write nothing (DHCP files are still\n"
    "                       checked, in a private directory)\n"
    "  --full               render everything and compare with the files on disk: puts\n"
    "                       back files changed or removed behind sync's back\n"
    "  --force              replace files sync did not write\n"
    "  --require-check      fail a DHCP target whose server's checker is not installed\n"
    "                       (default: warn and write it unchecked)\n"
    "  --list               the remembered targets and when each was synced\n"
    "  --forget             forget the targets named (their files stay)\n"
    "  -v, --verbose        every file written, removed, adopted or left alone\n"
    "  --json               the outcome as JSON\n"
    "  -q, --quiet          no output but errors and warnings\n" CLI_STATE_DIR_HELP
    "  -h, --help           this help\n"
    "\n"
    "Exit status: 0 every target synced, 1 one failed (its old files stay), 2 usage.\n"
    "\n"
    "Example:\n"
    "  xenprov settings set next-server 10.0.0.1\n"
    "  xenprov sync --tftp-root /srv/tftp --dnsmasq /etc/dnsmasq.d/xenprov.conf\n"
    "  xenprov system add web01 --mac 52:54:00:12:34:56 --ip 10.0.0.21 --profile web\n"
    "  xenprov sync && systemctl restart dnsmasq\n";

/* New boot files are staged unnamed, each an open descriptor until it is named (a
 * chunk at a time, as many as the limit allows): the soft limit raised to the hard one
 * (Debian: 1024 soft, 524288 hard), at most 65536 + a margin. */
static void more_descriptors(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want =
	    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 + 256 ? 65536 + 256 : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A target's path made absolute: the directory's real path (it must exist) and, for a
 * file, its name. */
static char *absolute(const char *arg, bool dir)
{
	if (dir)
		return realpath(arg, NULL);
	const char *slash = strrchr(arg, '/');
	const char *base = slash ? slash + 1 : arg;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return NULL;
	char *d = slash ? strndup(arg, (size_t)(slash - arg) + (slash == arg)) : strdup(".");
	char *real = d ? realpath(d, NULL) : NULL;
	char *out = NULL;
	if (real && asprintf(&out, "%s/%s", strcmp(real, "/") ? real : "", base) < 0)
		out = NULL;
	free(d);
	free(real);
	return out;
}

struct out {
	bool verbose, json, dry_run, quiet;
	json_t *files; /* per target, with --json */
};

static const char *const action_names[] = {[XP_SYNC_WRITE] = "write",
					   [XP_SYNC_REMOVE] = "remove",
					   [XP_SYNC_ADOPT] = "adopt",
					   [XP_SYNC_CONFLICT] = "conflict"};

static void on_event(void *ctx, const struct xp_sync_event *e)
{
	struct out *o = ctx;
	if (o->json) {
		json_array_append_new(o->files, json_pack("{s:s, s:s}", "path", e->path, "action",
							  action_names[e->action]));
		return;
	}
	if (o->verbose || (o->dry_run && !o->quiet))
		printf("  %-8s %s\n", action_names[e->action], e->path);
}

static const char *const check_names[] = {[XP_SYNC_CHECK_NONE] = "none",
					  [XP_SYNC_CHECK_PASSED] = "passed",
					  [XP_SYNC_CHECK_MISSING] = "missing",
					  [XP_SYNC_CHECK_REFUSED] = "refused"};

static void print_result(const struct xp_sync_target *t, const struct xp_sync_result *r,
			 const struct out *o)
{
	printf("%s %s: ", xp_sync_kind_name(t->kind), t->path);
	if (r->status < 0) {
		printf("failed\n");
		return;
	}
	if (r->up_to_date) {
		printf("up to date\n");
		return;
	}
	printf("%s%zu written", o->dry_run ? "would be: " : "", r->written);
	if (t->kind == XP_SYNC_TFTP)
		printf(", %zu removed", r->removed);
	printf(", %zu unchanged", r->unchanged);
	if (r->adopted)
		printf(", %zu adopted", r->adopted);
	if (r->conflicts)
		printf(", %zu left alone", r->conflicts);
	printf(" (%zu system%s%s)", r->systems, r->systems == 1 ? "" : "s",
	       r->rendered_all ? "" : " changed");
	if (r->check == XP_SYNC_CHECK_PASSED)
		printf("; checked by %s", r->checker);
	else if (r->check == XP_SYNC_CHECK_MISSING)
		printf("; unchecked: no %s", r->checker);
	if (t->kind != XP_SYNC_TFTP && r->written && !o->dry_run)
		printf("; restart or reload the DHCP server to apply");
	putchar('\n');
}

static json_t *result_json(const struct xp_sync_target *t, const struct xp_sync_result *r,
			   json_t *files)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
			      "kind", xp_sync_kind_name(t->kind), "path", t->path, "status",
			      r->status < 0 ? "failed" : "ok", "up_to_date", r->up_to_date,
			      "rendered_all", r->rendered_all, "systems", (json_int_t)r->systems,
			      "written", (json_int_t)r->written, "removed", (json_int_t)r->removed,
			      "unchanged", (json_int_t)r->unchanged, "adopted",
			      (json_int_t)r->adopted, "conflicts", (json_int_t)r->conflicts,
			      "left_out", (json_int_t)r->left_out, "check", check_names[r->check]);
	if (o && t->path2)
		json_object_set_new(o, "path2", json_string(t->path2));
	if (o && t->subnet)
		json_object_set_new(o, "subnet", json_string(t->subnet));
	if (o && r->checker)
		json_object_set_new(o, "checker", json_string(r->checker));
	if (o)
		json_object_set(o, "files", files);
	return o;
}

static int list_targets(struct xp_inv *inv, bool json)
{
	struct xp_sync_target_rec *v;
	size_t n;
	int r = xp_sync_target_list(inv, &v, &n);
	if (r < 0)
		return cli_error("cannot read the sync targets: %s",
				 xp_inv_reason(inv, r, (char[256]){0}, 256));
	json_t *a = json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		if (a) {
			json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "kind", v[i].kind, "path",
					      v[i].path, "seq", (json_int_t)v[i].seq, "synced",
					      (json_int_t)v[i].synced);
			if (o && v[i].path2)
				json_object_set_new(o, "path2", json_string(v[i].path2));
			if (o && v[i].subnet)
				json_object_set_new(o, "subnet", json_string(v[i].subnet));
			if (o && v[i].http_base)
				json_object_set_new(o, "http_base", json_string(v[i].http_base));
			json_array_append_new(a, o);
		} else {
			char when[32] = "never";
			if (v[i].synced)
				cli_fmt_time(v[i].synced, when);
			const char *hb = v[i].http_base;
			printf("%-10s %s%s%s%s%s%s%s  (synced %s)\n", v[i].kind, v[i].path,
			       v[i].path2 ? " + " : "", v[i].path2 ? v[i].path2 : "",
			       v[i].subnet ? " subnet " : "", v[i].subnet ? v[i].subnet : "",
			       hb ? " http-base " : "", hb ? (*hb ? hb : "none") : "", when);
		}
		xp_sync_target_rec_release(&v[i]);
	}
	free(v);
	if (a)
		return cli_print_json(a);
	if (!n)
		printf(
		    "no targets: name one (xenprov sync --tftp-root DIR, --dnsmasq FILE, ...)\n");
	return cli_flush();
}

enum {
	O_TFTP = 256,
	O_DNSMASQ,
	O_ISC,
	O_KEA,
	O_KEA_CLASSES,
	O_SUBNET,
	O_HTTP_BASE,
	O_FULL,
	O_FORCE,
	O_REQUIRE,
	O_LIST,
	O_FORGET
};

static int run_sync(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"tftp-root", required_argument, NULL, O_TFTP},
	    {"dnsmasq", required_argument, NULL, O_DNSMASQ},
	    {"isc-dhcpd", required_argument, NULL, O_ISC},
	    {"kea", required_argument, NULL, O_KEA},
	    {"kea-classes", required_argument, NULL, O_KEA_CLASSES},
	    {"subnet", required_argument, NULL, O_SUBNET},
	    {"http-base", required_argument, NULL, O_HTTP_BASE},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"full", no_argument, NULL, O_FULL},
	    {"force", no_argument, NULL, O_FORCE},
	    {"require-check", no_argument, NULL, O_REQUIRE},
	    {"list", no_argument, NULL, O_LIST},
	    {"forget", no_argument, NULL, O_FORGET},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET | CLI_STATE_DIR, .operand = ""};
	struct xp_sync_opts so = {0};
	struct out o = {0};
	const char *arg[5] = {NULL}; /* tftp, dnsmasq, isc, kea, kea-classes */
	const char *subnet = NULL, *http_base = NULL;
	bool list = false, forget = false;
	int c;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "nv", longopts, &co)) != -1) {
		switch (c) {
		case O_TFTP:
		case O_DNSMASQ:
		case O_ISC:
		case O_KEA:
		case O_KEA_CLASSES:
			if (arg[c - O_TFTP])
				return cli_usage_error("sync",
						       "%s given twice: one file each "
						       "(run sync again for another)",
						       argv[optind - 2]);
			arg[c - O_TFTP] = optarg;
			break;
		case O_SUBNET:
			subnet = optarg;
			break;
		case O_HTTP_BASE:
			http_base = strcmp(optarg, "none") == 0 ? "" : optarg;
			break;
		case 'n':
			so.dry_run = true;
			break;
		case O_FULL:
			so.full = true;
			break;
		case O_FORCE:
			so.force = true;
			break;
		case O_REQUIRE:
			so.require_check = true;
			break;
		case O_LIST:
			list = true;
			break;
		case O_FORGET:
			forget = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		default:
			return cli_bad_option("sync", argv);
		}
	}
	int rc = cli_operands(argc, argv, "sync", &co);
	if (rc)
		return rc;
	if (arg[4] && !arg[3])
		return cli_usage_error("sync", "--kea-classes goes with --kea (the reservations "
					       "name the class it defines)");
	bool named = arg[0] || arg[1] || arg[2] || arg[3];
	if (list && (named || forget))
		return cli_usage_error("sync", "--list takes no target");
	if (forget && !named)
		return cli_usage_error("sync", "--forget needs the targets to forget");
	if (subnet && !named)
		return cli_usage_error("sync", "--subnet goes with the DHCP targets it limits");
	if (subnet && !arg[1] && !arg[2] && !arg[3])
		return cli_usage_error("sync", "--subnet limits DHCP files only");
	if (http_base && !arg[0])
		return cli_usage_error("sync", "--http-base goes with the --tftp-root whose boot "
					       "files carry it");

	/* the named targets, made absolute */
	struct xp_sync_target t[4];
	char *paths[5] = {NULL};
	size_t n = 0;
	static const enum xp_sync_kind kinds[4] = {XP_SYNC_TFTP, XP_SYNC_DNSMASQ, XP_SYNC_ISC_DHCPD,
						   XP_SYNC_KEA};
	for (int i = 0; i < 5; i++) {
		if (!arg[i])
			continue;
		if (!(paths[i] = absolute(arg[i], i == 0))) {
			rc = cli_error("cannot use '%s': %s", arg[i],
				       errno ? strerror(errno) : "not a file name");
			goto out;
		}
	}
	for (int i = 0; i < 4; i++)
		if (paths[i])
			t[n++] = (struct xp_sync_target){.kind = kinds[i],
							 .path = paths[i],
							 .path2 = i == 3 ? paths[4] : NULL,
							 .subnet = i ? subnet : NULL,
							 .http_base = i ? NULL : http_base};

	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)))
		goto out;
	if (list) {
		rc = list_targets(inv, co.json);
		xp_inv_close(inv);
		goto out;
	}
	if (forget) {
		json_t *gone = co.json ? json_array() : NULL;
		for (size_t i = 0; i < n; i++) {
			int r = xp_sync_target_remove(inv, xp_sync_kind_name(t[i].kind), t[i].path);
			if (r < 0)
				rc = cli_error("cannot forget %s: %s", t[i].path,
					       xp_inv_reason(inv, r, (char[256]){0}, 256));
			else if (gone)
				json_array_append_new(gone, json_pack("{s:s, s:s}", "kind",
								      xp_sync_kind_name(t[i].kind),
								      "path", t[i].path));
			else if (!co.quiet)
				printf("forgot %s %s (its files stay)\n",
				       xp_sync_kind_name(t[i].kind), t[i].path);
		}
		if (gone && cli_print_json(json_pack("{s:o}", "forgotten", gone)) && rc == 0)
			rc = XP_EXIT_FAIL;
		xp_inv_close(inv);
		goto out;
	}
	/* no target named: the remembered ones */
	struct xp_sync_target_rec *recs = NULL;
	size_t n_recs = 0;
	struct xp_sync_target *tv = t;
	if (!named) {
		int r = xp_sync_target_list(inv, &recs, &n_recs);
		if (r < 0) {
			rc = cli_error("cannot read the sync targets: %s",
				       xp_inv_reason(inv, r, (char[256]){0}, 256));
		} else if (!n_recs) {
			rc = cli_usage_error("sync", "nothing to sync: name a target (--tftp-root "
						     "DIR, --dnsmasq FILE, --isc-dhcpd FILE, --kea "
						     "FILE); later syncs remember it");
		} else if (!(tv = calloc(n_recs, sizeof(*tv)))) {
			rc = cli_error("out of memory");
		} else {
			for (size_t i = 0; i < n_recs; i++) {
				enum xp_sync_kind k = XP_SYNC_TFTP;
				(void)xp_sync_kind_parse(recs[i].kind, &k);
				tv[i] = (struct xp_sync_target){.kind = k,
								.path = recs[i].path,
								.path2 = recs[i].path2,
								.subnet = recs[i].subnet,
								.http_base = recs[i].http_base};
			}
			n = n_recs;
		}
	}
	if (rc == 0) {
		struct xp_sync_result *res = calloc(n, sizeof(*res));
		json_t *all = co.json ? json_array() : NULL;
		struct xp_diags d;
		xp_diags_init(&d);
		o.json = co.json;
		o.quiet = co.quiet;
		o.dry_run = so.dry_run;
		so.event = on_event;
		so.ctx = &o;
		if (!res) {
			rc = cli_error("out of memory");
		} else {
			if (so.dry_run && !co.json && !co.quiet)
				printf("dry run: nothing is written\n");
			more_descriptors();
			for (size_t i = 0; i < n; i++) {
				o.files = json_array();
				int r = xp_sync_run(inv, &tv[i], 1, &so, &res[i], &d);
				if (r < 0)
					rc = XP_EXIT_FAIL;
				if (all)
					json_array_append_new(
					    all, result_json(&tv[i], &res[i], o.files));
				else if (!co.quiet || r < 0)
					print_result(&tv[i], &res[i], &o);
				json_decref(o.files);
			}
			if (all) {
				json_t *doc =
				    json_pack("{s:b, s:o, s:o}", "dry_run", so.dry_run, "targets",
					      all, "messages", cli_diags_json(&d));
				if (cli_print_json(doc) && rc == 0)
					rc = XP_EXIT_FAIL;
			} else {
				cli_print_messages(&d);
				if (cli_flush() && rc == 0)
					rc = XP_EXIT_FAIL;
			}
		}
		xp_diags_release(&d);
		free(res);
	}
	if (tv != t)
		free(tv);
	for (size_t i = 0; i < n_recs; i++)
		xp_sync_target_rec_release(&recs[i]);
	free(recs);
	xp_inv_close(inv);
out:
	for (int i = 0; i < 5; i++)
		free(paths[i]);
	return rc;
}

const struct xp_command cmd_sync = {
    .name = "sync",
    .summary = "write boot files and DHCP includes for a site's own servers",
    .usage = sync_usage,
    .run = run_sync,
};
