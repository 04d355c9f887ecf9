/*
 * cmd-image-capture.c - `xenprov image capture`, `image versions` and `image rm`: the
 * golden-image store's verbs (the library: image/capture.c, image/imgstore.c).
 */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xenprov/imgstore.h"
#include "xenprov/inventory.h"

/* ---- capture ------------------------------------------------------------------------- */

static const char capture_usage[] =
	"Usage: xenprov image capture SOURCE --name NAME [OPTIONS]\n"
	"       xenprov image capture --show-excludes [--include-default NAME]... [--json]\n"
	"\n"
	"Captures a golden client's tree as a new version NAME@V (1, 2, ...) of a\n"
	"captured image. SOURCE is HOST:DIR (pulled with rsync over ssh), a local\n"
	"directory, a disk image (raw or qcow2) or a guest's name (its disk, read\n"
	"without mounting). Each version is hard-linked to the previous one, so it costs\n"
	"only what changed. A local directory's later captures (as root) write only\n"
	"what changed, a lazy version whose tree its first reader makes.\n"
	"\n"
	"  --name NAME              the image (letters, digits, '.', '_', '-')\n"
	"  --exclude PATTERN        leave out what matches (rsync's exclude pattern,\n"
	"                           '/' anchors it at the tree's top); repeatable\n"
	"  --include-default NAME   switch one default exclusion off; repeatable\n"
	"  --no-default-excludes    switch them all off\n"
	"  --show-excludes          list the default exclusions and exit\n"
	"  --ssh-user USER          log in to HOST as USER\n"
	"  --ssh-command CMD        the remote shell rsync runs (default: ssh)\n"
	"  --message TEXT           a note kept with the version\n"
	"  --all-filesystems        cross into other filesystems mounted below DIR\n"
	"  --rsync                  a local directory: copy it with rsync rather than\n"
	"                           xenprov's own copy (which rsync replaces anyway\n"
	"                           when an exclusion is beyond its matcher)\n"
	"  --json                   the new version as JSON\n"
	"  -q, --quiet              no progress\n" CLI_STATE_DIR_HELP
	"  -h, --help               this help\n";

struct cap_progress {
	struct cli_progress p;
};

/* ^C, a SIGTERM or a hang-up while capturing: rsync (in a process group of its own,
 * which the terminal's ^C does not reach) is stopped and the half-made version
 * removed by the library before we exit */
static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	interrupted = sig;
}
static bool cap_cancelled(void *ud)
{
	(void)ud;
	return interrupted != 0;
}

static void cap_progress(void *ud, const char *line)
{
	struct cap_progress *cp = ud;
	while (*line == ' ')
		line++;
	cli_progress_draw(&cp->p, false, "capturing: %s", line);
}

static int show_excludes(uint64_t off, bool json)
{
	json_t *arr = json ? json_array() : NULL;
	for (size_t i = 0; i < xp_capture_default_count(); i++) {
		const char *name, *what;
		struct xp_buf pats = XP_BUF_INIT;
		if (xp_capture_default(i, &name, &what, &pats) < 0) {
			xp_buf_release(&pats);
			json_decref(arr);
			return cli_error("out of memory");
		}
		bool on = !(off & (1ull << i));
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "name", json_string(name));
			json_object_set_new(o, "what", json_string(what));
			json_object_set_new(o, "patterns", json_string(xp_buf_str(&pats)));
			json_object_set_new(o, "excluded", json_boolean(on));
			json_array_append_new(arr, o);
		} else {
			printf("%-14s %-3s %s\n%18s%s\n", name, on ? "on" : "off", what, "",
			       xp_buf_str(&pats));
		}
		xp_buf_release(&pats);
	}
	return json ? cli_print_json(arr) : cli_flush();
}

static json_t *version_json(const struct xp_imgver *v)
{
	json_t *o = json_object();
	char ref[XP_IMGVER_NAME_MAX + 16];
	snprintf(ref, sizeof(ref), "%s@%u", v->name, v->version);
	json_object_set_new(o, "image", json_string(ref));
	json_object_set_new(o, "name", json_string(v->name));
	json_object_set_new(o, "version", json_integer(v->version));
	json_object_set_new(o, "time", json_integer((json_int_t)v->time));
	json_object_set_new(o, "source", xp_json_text(v->source));
	json_object_set_new(o, "message", xp_json_text(v->message));
	json_object_set_new(o, "files", json_integer((json_int_t)v->files));
	json_object_set_new(o, "bytes", json_integer((json_int_t)v->bytes));
	json_object_set_new(o, "manifest_sha256", json_string(v->manifest_sha256));
	/* a lazy version's tree is made at its first read: no path to give before */
	struct stat st;
	bool there = v->root && stat(v->root, &st) == 0 && S_ISDIR(st.st_mode);
	json_object_set_new(o, "root", there ? xp_json_text(v->root) : json_null());
	json_object_set_new(o, "parent", v->parent ? json_integer(v->parent) : json_null());
	return o;
}

enum {
	O_NAME = 0x100,
	O_EXCLUDE,
	O_INCLUDE_DEFAULT,
	O_NO_DEFAULTS,
	O_SHOW,
	O_SSH_USER,
	O_SSH_COMMAND,
	O_MESSAGE,
	O_ALLFS,
	O_RSYNC,
};

static int run_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, O_NAME},
		{"exclude", required_argument, NULL, O_EXCLUDE},
		{"include-default", required_argument, NULL, O_INCLUDE_DEFAULT},
		{"no-default-excludes", no_argument, NULL, O_NO_DEFAULTS},
		{"show-excludes", no_argument, NULL, O_SHOW},
		{"ssh-user", required_argument, NULL, O_SSH_USER},
		{"ssh-command", required_argument, NULL, O_SSH_COMMAND},
		{"message", required_argument, NULL, O_MESSAGE},
		{"all-filesystems", no_argument, NULL, O_ALLFS},
		{"rsync", no_argument, NULL, O_RSYNC},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET | CLI_STATE_DIR};
	struct xp_capture_opts o = {0};
	const char **excl = calloc((size_t)argc + 1, sizeof(*excl));
	if (!excl)
		return cli_error("out of memory");
	bool show = false;
	int c, rc = XP_EXIT_OK;
	while ((c = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		switch (c) {
		case O_NAME: o.name = optarg; break;
		case O_EXCLUDE: excl[o.nexcludes++] = optarg; break;
		case O_INCLUDE_DEFAULT: {
			int i = xp_capture_default_find(optarg);
			if (i < 0) {
				free(excl);
				return cli_usage_error("image capture",
						       "no default exclusion '%s' (see --show-excludes)",
						       optarg);
			}
			o.default_off |= 1ull << i;
			break;
		}
		case O_NO_DEFAULTS: o.default_off = ~0ull; break;
		case O_SHOW: show = true; break;
		case O_SSH_USER: o.ssh_user = optarg; break;
		case O_SSH_COMMAND: o.ssh_command = optarg; break;
		case O_MESSAGE: o.message = optarg; break;
		case O_ALLFS: o.all_filesystems = true; break;
		case O_RSYNC: o.use_rsync = true; break;
		default: free(excl); return cli_bad_option("image capture", argv);
		}
	}
	o.excludes = excl;
	if (show) {
		rc = optind < argc ? cli_usage_error("image capture",
						      "--show-excludes takes no SOURCE")
				   : show_excludes(o.default_off, co.json);
		free(excl);
		return rc;
	}
	if (optind >= argc || optind + 1 < argc) {
		free(excl);
		return cli_usage_error("image capture", optind >= argc ? "no SOURCE given"
								     : "unexpected argument '%s'",
				       argv[optind + 1 < argc ? optind + 1 : 0]);
	}
	if (!o.name) {
		free(excl);
		return cli_usage_error("image capture", "no --name given");
	}
	if (!xp_imgver_name_valid(o.name)) {
		free(excl);
		return cli_usage_error("image capture",
				       "not an image name: '%s' (letters, digits, '.', '_' and '-', "
				       "at most 64, starting with a letter or digit)",
				       o.name);
	}
	o.source = argv[optind];
	o.kind = xp_capture_source_kind(o.source);
	char *state = NULL;
	struct xp_domain dom = {0};
	if ((rc = cli_state_dir(co.state_dir, &state))) {
		free(excl);
		return rc;
	}
	o.state_dir = state;
	if (o.kind == XP_CAPTURE_NONE && !strchr(o.source, '/')) {
		/* a guest's name: its root disk */
		struct xp_inv *inv = NULL;
		if (xp_inv_open(state, &inv) == 0 && xp_domain_get(inv, o.source, &dom) == 0 &&
		    dom.disk_path) {
			o.kind = XP_CAPTURE_DISK;
			o.disk = dom.disk_path;
		}
		xp_inv_close(inv);
	}
	struct cap_progress cp;
	cli_progress_init(&cp.p, !co.quiet && !co.json);
	if (cp.p.on)
		o.progress = cap_progress;
	/* without SA_RESTART, so that the library's poll(2) returns at once */
	struct sigaction sa = {.sa_handler = on_signal}, old[3];
	static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	o.ud = &cp;
	o.cancelled = cap_cancelled;
	struct xp_capture_result res;
	struct xp_diags d = {0};
	int r = xp_capture(&o, &res, &d);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	cli_progress_clear(&cp.p, false);
	if (interrupted) {
		if (r == 0)
			xp_imgver_release(&res.version);
		xp_diags_release(&d);
		xp_domain_release(&dom);
		free(state);
		free(excl);
		signal(interrupted, SIG_DFL);
		raise(interrupted);
		return XP_EXIT_FAIL;
	}
	if (r < 0) {
		cli_print_messages(&d);
		if (!d.n)
			cli_error("cannot capture '%s': %s", o.source, strerror(-r));
		rc = XP_EXIT_FAIL;
		goto out;
	}
	if (res.vanished)
		fprintf(stderr, "%s: warning: some files vanished while they were copied: the "
				"version holds the rest\n",
			cli_prog);
	if (co.json) {
		json_t *j = version_json(&res.version);
		json_object_set_new(j, "previous", res.prev_version ? json_integer(res.prev_version)
								    : json_null());
		json_object_set_new(j, "new_bytes", json_integer((json_int_t)res.new_bytes));
		json_object_set_new(j, "skipped", json_integer((json_int_t)res.skipped));
		json_object_set_new(j, "copier", json_string(res.copier ? res.copier : "rsync"));
		json_object_set_new(j, "seconds", json_real(res.seconds));
		rc = cli_print_json(j);
	} else if (!co.quiet) {
		char total[32], changed[32];
		cli_human_size(res.version.bytes, total);
		cli_human_size(res.new_bytes, changed);
		char since[32] = "";
		if (res.prev_version)
			snprintf(since, sizeof(since), " since @%u", res.prev_version);
		printf("captured %s@%u: %" PRIu64 " entries, %s (%s new or changed%s) in %.1f s\n",
		       res.version.name, res.version.version, res.version.files, total, changed,
		       since, res.seconds);
		rc = cli_flush();
	}
	xp_imgver_release(&res.version);
out:
	xp_diags_release(&d);
	xp_domain_release(&dom);
	free(state);
	free(excl);
	return rc;
}

/* ---- versions ------------------------------------------------------------------------ */

static const char versions_usage[] =
	"Usage: xenprov image versions NAME [--json]\n"
	"       xenprov image versions [--json]\n"
	"\n"
	"Lists the versions of a captured image (oldest first): time, files, size,\n"
	"manifest hash, source and message. Without NAME, the captured images.\n"
	"\n"
	"  --json      JSON output\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n";

static int run_versions(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR, .operand = NULL};
	int c = cli_parse_flags(argc, argv, "image versions", "", NULL, &co);
	if (c)
		return c;
	if (optind + 1 < argc)
		return cli_usage_error("image versions", "unexpected argument '%s'", argv[optind + 1]);
	char *state;
	if (cli_state_dir(co.state_dir, &state))
		return XP_EXIT_FAIL;
	int rc;
	if (optind == argc) {
		char **names;
		size_t n;
		int r = xp_imgver_names(state, &names, &n);
		free(state);
		if (r < 0)
			return cli_error("cannot list the captured images: %s", strerror(-r));
		json_t *arr = co.json ? json_array() : NULL;
		for (size_t i = 0; i < n; i++) {
			if (co.json)
				json_array_append_new(arr, json_string(names[i]));
			else
				printf("%s\n", names[i]);
			free(names[i]);
		}
		free(names);
		return co.json ? cli_print_json(arr) : cli_flush();
	}
	struct xp_imgver *v;
	size_t n;
	struct xp_diags d = {0};
	int r = xp_imgver_list(state, argv[optind], &v, &n, &d);
	free(state);
	if (r < 0) {
		cli_print_messages(&d);
		xp_diags_release(&d);
		return XP_EXIT_FAIL;
	}
	if (co.json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, version_json(&v[i]));
		rc = cli_print_json(arr);
	} else {
		printf("%-20s %-20s %9s %10s  %-12s %s\n", "VERSION", "TIME (UTC)", "FILES", "SIZE",
		       "MANIFEST", "SOURCE / MESSAGE");
		for (size_t i = 0; i < n; i++) {
			char ref[XP_IMGVER_NAME_MAX + 16], when[32] = "-", size[32];
			snprintf(ref, sizeof(ref), "%s@%u", v[i].name, v[i].version);
			time_t t = (time_t)v[i].time;
			struct tm tm;
			if (gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			cli_human_size(v[i].bytes, size);
			printf("%-20s %-20s %9" PRIu64 " %10s  %.12s %s%s%s\n", ref, when, v[i].files,
			       size, v[i].manifest_sha256, v[i].source, v[i].message[0] ? " / " : "",
			       v[i].message);
		}
		rc = cli_flush();
	}
	xp_imgver_list_free(v, n);
	xp_diags_release(&d);
	return rc;
}

/* ---- rm -------------------------------------------------------------------------------- */

static const char rm_usage[] =
	"Usage: xenprov image rm NAME@V [--force]\n"
	"\n"
	"Removes version V of a captured image. Refused while a profile's image is\n"
	"NAME@V (or NAME, when V is the latest version) or a guest was made from it,\n"
	"unless --force. Files other versions share with it stay theirs, and a lazy\n"
	"version made on it gets its own tree first.\n"
	"\n"
	"  --force     remove it even so\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n";

static int run_rm(int argc, char **argv)
{
	static int force;
	force = 0;
	static const struct option opts[] = {{"force", no_argument, &force, 1}, {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "NAME@V"};
	int c = cli_parse_flags(argc, argv, "image rm", "", opts, &co);
	if (c)
		return c;
	const char *ref = argv[optind];
	char name[XP_IMGVER_NAME_MAX + 1];
	unsigned version;
	struct xp_diags d = {0};
	if (xp_imgver_parse_ref(ref, name, &version, &d) < 0 || version == 0) {
		xp_diags_release(&d);
		return cli_usage_error("image rm", "not NAME@V: '%s' (name the version to remove)",
				       ref);
	}
	char *state;
	if (cli_state_dir(co.state_dir, &state))
		return XP_EXIT_FAIL;
	int rc = XP_EXIT_OK;
	struct xp_imgver latest = {0};
	int r = xp_imgver_resolve(state, name, &latest, &d);
	if (r == 0) {
		struct xp_imgver v;
		r = xp_imgver_resolve(state, ref, &v, &d);
		xp_imgver_release(&v);
	}
	if (r < 0) {
		cli_print_messages(&d);
		rc = XP_EXIT_FAIL;
		goto out;
	}
	if (!force) {
		struct xp_inv *inv;
		if (cli_inv_open(co.state_dir, &inv)) {
			rc = XP_EXIT_FAIL;
			goto out;
		}
		char **users;
		size_t n;
		bool guests_known;
		r = xp_imgver_users(inv, name, version, latest.version == version, &users, &n,
				    &guests_known);
		xp_inv_close(inv);
		if (r < 0) {
			rc = cli_error("cannot read the inventory: %s", strerror(-r));
			goto out;
		}
		if (n) {
			struct xp_buf b = XP_BUF_INIT;
			for (size_t i = 0; i < n; i++) {
				xp_buf_addf(&b, "%s%s", i ? ", " : "", users[i]);
				free(users[i]);
			}
			free(users);
			rc = cli_error("%s is in use (by %s): not removed\n    hint: change them "
				       "first, or use --force",
				       ref, xp_buf_str(&b));
			xp_buf_release(&b);
			goto out;
		}
		free(users);
	}
	r = xp_imgver_remove(state, name, version, &d);
	if (r < 0) {
		cli_print_messages(&d);
		rc = XP_EXIT_FAIL;
	}
out:
	xp_imgver_release(&latest);
	xp_diags_release(&d);
	free(state);
	return rc;
}

const struct xp_verb image_capture_verb = {
	"capture", "capture a golden client's tree as a new version of an image", capture_usage,
	run_capture};
const struct xp_verb image_versions_verb = {"versions", "list the versions of a captured image",
					    versions_usage, run_versions};
const struct xp_verb image_rm_verb = {"rm", "remove a version of a captured image", rm_usage,
				      run_rm};
