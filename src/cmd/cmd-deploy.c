/*
 * cmd-deploy.c - `xenprov deploy`: many guests from one profile, in parallel, with a
 * live progress bar (or JSON-lines events), idempotent and resumable; `--rollback`
 * removes what a deploy made. Thin: the work is in src/lib/deploy/deploy.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xenprov/deploy.h"
#include "xenprov/domain.h"

static const char deploy_usage[] =
	"Usage: xenprov deploy --profile P (--count N [--name FMT] [--first K] |\n"
	"                      --names-from FILE | --plan FILE) [OPTIONS]\n"
	"       xenprov deploy --rollback [ID] [OPTIONS]\n"
	"\n"
	"Provisions many guests from profile P at once: the golden image is built (or\n"
	"found) once, then every guest gets its disk, MAC, IP, own files and xl config in\n"
	"parallel. Guests that exist and are complete are skipped, so running the same\n"
	"command again finishes an interrupted deploy; what a killed run left half made is\n"
	"removed and made again. A failing guest is reported and the others go on; a full\n"
	"disk stops starting new guests. Exit 1 if any guest failed.\n"
	"\n"
	"  --profile P          the profile of the guests\n"
	"  --count N            N guests named by FMT (printf, one integer; default 'guest%03d')\n"
	"  --name FMT           the name pattern for --count, e.g. 'web%03d'\n"
	"  --first K            the first number for FMT (default 1)\n"
	"  --names-from FILE    one guest name a line ('-' for standard input; # comments)\n"
	"  --plan FILE          one guest a line: NAME [ip=A] [mac=M] [KEY=VALUE]... where KEY\n"
	"                       is any profile setting (memory=1024, config.on_crash=destroy)\n"
	"  --set KEY=VALUE      a profile setting for every guest of this deploy (repeatable;\n"
	"                       over the profile's, under --plan's per-guest values); for\n"
	"                       copy-in, write and firstboot-command each --set adds one\n"
	"                       item, and the list replaces the profile's\n"
	"  -j, --jobs N         guests made at once (default: the number of CPUs)\n"
	"  --config-dir DIR     where configs go (default /etc/xen)\n"
	"  --state-dir DIR      the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov\n"
	"                       for root, else $XDG_STATE_HOME/xenprov)\n"
	"  --rollback [ID]      remove every guest of deploy ID (default: the last deploy\n"
	"                       that made guests); refused while any of them runs\n"
	"  --force              with --rollback: shut running guests down first (destroyed\n"
	"                       if still running after 60 s)\n"
	"  --json               JSON-lines events on standard output, then a summary object\n"
	"  -q, --quiet          no progress bar\n"
	"  -h, --help           this help\n"
	"\n"
	"Example:\n"
	"  xenprov deploy --profile web --count 100 --name 'web%03d' --jobs 4 \\\n"
	"      --set memory=2G --set config.on_crash=destroy\n";

/* The guests of the deploy: each one's name, and from --plan its address, MAC and
 * per-guest settings (the strings heap copies, NULL if not given). */
struct guest {
	char *name, *ip, *mac;
	struct xp_settings over;
};
struct guests {
	struct guest *v;
	size_t n, cap;
};

static void guests_release(struct guests *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].name);
		free(g->v[i].ip);
		free(g->v[i].mac);
		xp_settings_release(&g->v[i].over);
	}
	free(g->v);
	memset(g, 0, sizeof(*g));
}

static int guests_add(struct guests *g, const char *name)
{
	if (xp_grow(&g->v, &g->cap, g->n, sizeof(*g->v), 64) < 0)
		return -ENOMEM;
	g->v[g->n] = (struct guest){.name = strdup(name)};
	if (!g->v[g->n].name)
		return -ENOMEM;
	g->n++;
	return 0;
}

/* The count/pattern form. The pattern takes exactly one integer conversion. */
static int from_count(struct guests *g, const char *fmt, long count, long first)
{
	int convs = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		const char *q = p + 1;
		while (*q && strchr("0123456789-+ #", *q))
			q++;
		if (*q != 'd' && *q != 'u' && *q != 'x')
			return cli_usage_error("deploy", "--name '%s': only %%d, %%u or %%x conversions",
					       fmt);
		convs++;
		p = q;
	}
	if (convs != 1)
		return cli_usage_error("deploy", "--name '%s' needs exactly one number (e.g. 'web%%03d')",
				       fmt);
	for (long i = 0; i < count; i++) {
		char name[128];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		int n = snprintf(name, sizeof(name), fmt, (int)(first + i));
#pragma GCC diagnostic pop
		if (n < 0 || (size_t)n >= sizeof(name))
			return cli_usage_error("deploy", "--name '%s' makes names too long", fmt);
		if (guests_add(g, name) < 0)
			return cli_error("out of memory");
	}
	return 0;
}

/* --names-from and --plan: one guest a line. */
static int from_file(struct guests *g, const char *path, bool plan)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!f)
		return cli_error("cannot open '%s': %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
		if (!tok)
			continue;
		if (guests_add(g, tok) < 0) {
			rc = cli_error("out of memory");
			break;
		}
		struct guest *gu = &g->v[g->n - 1];
		while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
			char *eq = strchr(tok, '=');
			if (!plan || !eq || eq == tok) {
				rc = cli_error("%s:%u: '%s': expected KEY=VALUE%s", path, lineno, tok,
					       plan ? "" : " (use --plan for per-guest values)");
				break;
			}
			*eq = 0;
			const char *v = eq + 1;
			int r = 0;
			if (strcmp(tok, "ip") == 0)
				r = (gu->ip = strdup(v)) ? 0 : -ENOMEM;
			else if (strcmp(tok, "mac") == 0)
				r = (gu->mac = strdup(v)) ? 0 : -ENOMEM;
			else if (xp_profile_key_list(tok))
				rc = cli_list_item(&gu->over, tok, v); /* one item a word */
			else
				r = xp_settings_set(&gu->over, tok, v);
			if (rc)
				break;
			if (r < 0) {
				rc = cli_error("out of memory");
				break;
			}
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (rc == 0 && g->n == 0)
		rc = cli_error("'%s' names no guest", path);
	return rc;
}

/* --set KEY=VALUE: checked now (xp_profile_check) so that a bad value stops the deploy
 * before anything is made; ssh-key takes a key line or a file (cli_ssh_key_arg). */
static int add_set(struct xp_settings *s, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return cli_usage_error("deploy", "--set takes KEY=VALUE, not '%s'", kv);
	char *key = strndup(kv, (size_t)(eq - kv)), *keys = NULL, *norm = NULL;
	if (!key)
		return cli_error("out of memory");
	const char *value = eq + 1;
	int rc = 0;
	if (xp_profile_key_list(key)) {
		rc = cli_list_item(s, key, value);
		free(key);
		return rc;
	}
	if (strcmp(key, "ssh-key") == 0 && (rc = cli_ssh_key_arg(value, &keys)) == 0)
		value = keys;
	struct xp_diags d;
	xp_diags_init(&d);
	int r = rc ? 0 : xp_profile_check(key, value, &norm, &d);
	if (r == -EINVAL) {
		cli_value_diags(&d, "--set ");
		rc = XP_EXIT_FAIL;
	} else if (!rc && (r < 0 || xp_settings_set(s, key, norm) < 0)) {
		rc = cli_error("out of memory");
	}
	xp_diags_release(&d);
	free(norm);
	free(keys);
	free(key);
	return rc;
}

/* A warning of the run: the same code and message for many guests is told once. */
struct warning {
	char *code, *msg;
	char **names; /* the guests, in the order they finished */
	size_t guests;
};

struct ui {
	bool json;
	struct cli_progress bar;
	struct warning *w;
	size_t nw;
	int err; /* -ENOMEM while counting */
};

#define WARN_NAMES 3 /* guests named in the text line (the first by name); the rest counted */

static void count_warning(struct ui *ui, const struct xp_deploy_event *ev)
{
	const char *code = ev->code ? ev->code : "";
	const char *msg = ev->message ? ev->message : "";
	struct warning *w = NULL;
	for (size_t i = 0; i < ui->nw && !w; i++)
		if (strcmp(ui->w[i].code, code) == 0 && strcmp(ui->w[i].msg, msg) == 0)
			w = &ui->w[i];
	if (!w) {
		struct warning *v = realloc(ui->w, (ui->nw + 1) * sizeof(*v));
		if (!v) {
			ui->err = -ENOMEM;
			return;
		}
		ui->w = v;
		w = &v[ui->nw];
		*w = (struct warning){strdup(code), strdup(msg), NULL, 0};
		if (!w->code || !w->msg) {
			free(w->code), free(w->msg);
			ui->err = -ENOMEM;
			return;
		}
		ui->nw++;
	}
	char **n = realloc(w->names, (w->guests + 1) * sizeof(*n));
	if (!n || !(n[w->guests] = strdup(ev->name ? ev->name : ""))) {
		if (n)
			w->names = n;
		ui->err = -ENOMEM;
		return;
	}
	w->names = n;
	w->guests++;
}

static int by_name(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Each warning once, with the number of guests it concerns and the first of them. */
static void print_warnings(const struct ui *ui)
{
	for (size_t i = 0; i < ui->nw; i++) {
		const struct warning *w = &ui->w[i];
		qsort(w->names, w->guests, sizeof(*w->names), by_name);
		fprintf(stderr, "xenprov: warning: %s (%zu guest%s: ", w->msg, w->guests,
			w->guests == 1 ? "" : "s");
		for (size_t k = 0; k < w->guests && k < WARN_NAMES; k++)
			fprintf(stderr, "%s%s", k ? ", " : "", w->names[k]);
		fprintf(stderr, "%s)\n", w->guests > WARN_NAMES ? ", ..." : "");
	}
}

static json_t *warnings_json(const struct ui *ui)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ui->nw; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "code", xp_json_text(ui->w[i].code));
		json_object_set_new(o, "message", xp_json_text(ui->w[i].msg));
		json_object_set_new(o, "guests", json_integer((json_int_t)ui->w[i].guests));
		json_array_append_new(a, o);
	}
	return a;
}

static void ui_release(struct ui *ui)
{
	for (size_t i = 0; i < ui->nw; i++) {
		for (size_t k = 0; k < ui->w[i].guests; k++)
			free(ui->w[i].names[k]);
		free(ui->w[i].code), free(ui->w[i].msg), free(ui->w[i].names);
	}
	free(ui->w);
}

static void event(void *ud, const struct xp_deploy_event *ev)
{
	struct ui *ui = ud;
	static const char *const kinds[] = {"golden",  "cleaned", "skipped",  "created",
					    "failed",  "stopped", "warning", "preparing"};
	if (ev->kind == XP_DEPLOY_WARNING)
		count_warning(ui, ev);
	if (ui->json) {
		json_t *o = json_object();
		json_object_set_new(o, "event", json_string(kinds[ev->kind]));
		if (ev->name)
			json_object_set_new(o, "name", xp_json_text(ev->name));
		if (ev->code)
			json_object_set_new(o, "code", xp_json_text(ev->code));
		if (ev->message)
			json_object_set_new(o, "message", xp_json_text(ev->message));
		json_object_set_new(o, "done", json_integer((json_int_t)ev->done));
		json_object_set_new(o, "total", json_integer((json_int_t)ev->total));
		json_object_set_new(o, "failed", json_integer((json_int_t)ev->failed));
		json_object_set_new(o, "elapsed", json_real(ev->elapsed));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		fflush(stdout);
		json_decref(o);
		return;
	}
	if (ev->kind == XP_DEPLOY_FAILED || ev->kind == XP_DEPLOY_STOPPED ||
	    ev->kind == XP_DEPLOY_CLEANED) {
		cli_progress_clear(&ui->bar, false);
		if (ev->kind == XP_DEPLOY_FAILED)
			fprintf(stderr, "xenprov: %s: failed: %s\n", ev->name, ev->message);
		else if (ev->kind == XP_DEPLOY_CLEANED)
			fprintf(stderr, "xenprov: %s: removed what an earlier run left half made\n",
				ev->name);
		else
			fprintf(stderr, "xenprov: stopped: %s\n", ev->message);
	}
	if (!ui->bar.on)
		return;
	if (ev->kind == XP_DEPLOY_PREPARING) {
		cli_progress_draw(&ui->bar, true, "building the golden image: %s (%.0f s)",
				  ev->message, ev->elapsed);
		return;
	}
	double rate = ev->elapsed > 0 ? (double)(ev->created) / ev->elapsed : 0;
	size_t left = ev->total - ev->done;
	size_t w = 30, fill = ev->total ? ev->done * w / ev->total : w;
	char bar[64];
	for (size_t i = 0; i < w; i++)
		bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
	bar[w] = 0;
	/* every event is drawn: the last one must be on the screen when the run ends */
	cli_progress_draw(&ui->bar, true, "[%s] %zu/%zu  %.1f/s  ETA %.0fs  failed %zu", bar,
			  ev->done, ev->total, rate, rate > 0 ? (double)left / rate : 0.0, ev->failed);
}

static int deploy_main(int argc, char **argv, struct xp_settings *set)
{
	enum { O_PROFILE = 256, O_COUNT, O_NAME, O_FIRST, O_NAMES, O_PLAN, O_CONFIGDIR,
	       O_ROLLBACK, O_SET, O_FORCE };
	static const struct option opts[] = {{"profile", required_argument, NULL, O_PROFILE},
					     {"count", required_argument, NULL, O_COUNT},
					     {"name", required_argument, NULL, O_NAME},
					     {"first", required_argument, NULL, O_FIRST},
					     {"names-from", required_argument, NULL, O_NAMES},
					     {"plan", required_argument, NULL, O_PLAN},
					     {"set", required_argument, NULL, O_SET},
					     {"jobs", required_argument, NULL, 'j'},
					     {"config-dir", required_argument, NULL, O_CONFIGDIR},
					     {"rollback", optional_argument, NULL, O_ROLLBACK},
					     {"force", no_argument, NULL, O_FORCE},
					     {NULL, 0, NULL, 0}};
	const char *profile = NULL, *fmt = "guest%03d", *names_from = NULL, *plan = NULL,
		   *config_dir = NULL;
	long count = -1, first = 1, jobs = 0, rollback_id = -1;
	bool force = false; /* --force: --rollback stops running guests */
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET | CLI_STATE_DIR, .operand = ""};
	char *end;
	int c, rc;
	while ((c = cli_getopt(argc, argv, "+j:", opts, &co)) != -1) {
		switch (c) {
		case O_SET:
			if ((rc = add_set(set, optarg)) != 0)
				return rc;
			break;
		case O_PROFILE:
			profile = optarg;
			break;
		case O_COUNT:
			count = strtol(optarg, &end, 10);
			if (*end || count < 1 || count > 100000)
				return cli_usage_error("deploy", "invalid --count '%s' (1-100000)", optarg);
			break;
		case O_NAME:
			fmt = optarg;
			break;
		case O_FIRST:
			first = strtol(optarg, &end, 10);
			if (*end || first < 0 || first > 1000000000)
				return cli_usage_error("deploy", "invalid --first '%s'", optarg);
			break;
		case O_NAMES:
			names_from = optarg;
			break;
		case O_PLAN:
			plan = optarg;
			break;
		case 'j':
			jobs = strtol(optarg, &end, 10);
			if (*end || jobs < 1 || jobs > 64)
				return cli_usage_error("deploy", "invalid --jobs '%s' (1-64)", optarg);
			break;
		case O_CONFIGDIR:
			config_dir = optarg;
			break;
		case O_ROLLBACK:
			rollback_id = 0;
			/* --rollback ID as well as --rollback=ID */
			if (!optarg && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
				optarg = argv[optind++];
			if (optarg) {
				rollback_id = strtol(optarg, &end, 10);
				if (*end || rollback_id < 1)
					return cli_usage_error("deploy", "invalid deploy id '%s'", optarg);
			}
			break;
		case O_FORCE:
			force = true;
			break;
		default:
			return cli_bad_option("deploy", argv);
		}
	}
	if ((rc = cli_operands(argc, argv, "deploy", &co)))
		return rc;
	char *dir = NULL;
	if (co.state_dir)
		dir = strdup(co.state_dir);
	else if (xp_state_dir_default(&dir) < 0)
		return cli_error("cannot find the state directory (give --state-dir)");
	if (!dir)
		return cli_error("out of memory");

	struct xp_diags d;
	xp_diags_init(&d);
	d.limit = 200;
	struct xp_deploy_result res;
	rc = XP_EXIT_OK;
	if (force && rollback_id < 0) {
		free(dir);
		return cli_usage_error("deploy", "--force goes with --rollback");
	}
	if (rollback_id >= 0 && set->n) {
		free(dir);
		return cli_usage_error("deploy", "--set does not go with --rollback");
	}
	if (rollback_id >= 0) {
		struct xp_stop_opts stop = {.force = force, .timeout = XP_STOP_TIMEOUT_DEFAULT};
		int r = xp_deploy_rollback(dir, rollback_id, config_dir, &stop, &res, &d);
		cli_print_diags(stderr, &d);
		if (r == -EBUSY)
			rc = cli_error("cannot roll back: guests are running (nothing was removed)");
		else if (r < 0 && r != -EIO)
			rc = cli_error("cannot roll back: %s", strerror(-r));
		else if (co.json) {
			json_t *o = json_object();
			json_object_set_new(o, "deploy", json_integer(res.deploy_id));
			json_object_set_new(o, "removed", json_integer((json_int_t)res.cleaned));
			json_object_set_new(o, "failed", json_integer((json_int_t)res.failed));
			rc = cli_print_json(o);
		} else {
			printf("deploy %lld rolled back: %zu guest%s removed%s\n",
			       (long long)res.deploy_id, res.cleaned, res.cleaned == 1 ? "" : "s",
			       res.failed ? ", some could not be" : "");
		}
		if (r == -EIO)
			rc = XP_EXIT_FAIL;
		xp_diags_release(&d);
		free(dir);
		return rc;
	}

	if (!profile) {
		free(dir);
		return cli_usage_error("deploy", "--profile is required");
	}
	int sources = (count > 0) + (names_from != NULL) + (plan != NULL);
	if (sources != 1) {
		free(dir);
		return cli_usage_error("deploy", "give one of --count, --names-from or --plan");
	}
	struct guests g = {0};
	if (count > 0)
		rc = from_count(&g, fmt, count, first);
	else
		rc = from_file(&g, names_from ? names_from : plan, plan != NULL);
	/* the library's view of the guests: their strings borrowed */
	struct xp_deploy_guest *dg = rc ? NULL : calloc(g.n, sizeof(*dg));
	if (rc == 0 && !dg)
		rc = cli_error("out of memory");
	for (size_t i = 0; rc == 0 && i < g.n; i++) {
		const struct guest *gu = &g.v[i];
		if (!xp_domain_name_valid(gu->name))
			rc = cli_error("'%s' is not a valid domain name (1-63 letters, digits, '-')",
				       gu->name);
		dg[i] = (struct xp_deploy_guest){
		    .name = gu->name, .ip = gu->ip, .mac = gu->mac, .overrides = &gu->over};
	}
	if (rc) {
		free(dg);
		guests_release(&g);
		free(dir);
		return rc;
	}

	struct xp_buf req = XP_BUF_INIT;
	for (int i = 0; i < argc; i++)
		xp_buf_addf(&req, "%s%s", i ? " " : "", argv[i]);
	struct ui ui = {.json = co.json};
	cli_progress_init(&ui.bar, !co.json && !co.quiet);
	struct xp_deploy_opts o = {.state_dir = dir,
				   .profile = profile,
				   .guests = dg,
				   .n = g.n,
				   .jobs = (unsigned)jobs,
				   .config_dir = config_dir,
				   .event = event,
				   .ud = &ui,
				   .request = xp_buf_str(&req),
				   .overrides = set};
	int r = xp_deploy_run(&o, &res, &d);
	cli_progress_clear(&ui.bar, true);
	/* per-guest failures were reported as they happened; print the rest */
	if (r < 0 && r != -EIO)
		cli_print_diags(stderr, &d);
	if (co.json) {
		json_t *s = json_object();
		json_object_set_new(s, "event", json_string("summary"));
		json_object_set_new(s, "deploy", json_integer(res.deploy_id));
		json_object_set_new(s, "total", json_integer((json_int_t)g.n));
		json_object_set_new(s, "created", json_integer((json_int_t)res.created));
		json_object_set_new(s, "skipped", json_integer((json_int_t)res.skipped));
		json_object_set_new(s, "failed", json_integer((json_int_t)res.failed));
		json_object_set_new(s, "cleaned", json_integer((json_int_t)res.cleaned));
		json_object_set_new(s, "stopped", json_boolean(res.stopped));
		json_object_set_new(s, "warnings", warnings_json(&ui));
		json_dumpf(s, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(s);
	} else if (r == 0 || r == -EIO) {
		print_warnings(&ui);
		printf("deploy %lld: %zu created, %zu skipped, %zu failed%s\n",
		       (long long)res.deploy_id, res.created, res.skipped, res.failed,
		       res.stopped ? " (stopped: out of space)" : "");
	}
	if (r < 0 && r != -EIO && !co.json)
		cli_error("deploy failed: %s", strerror(-r));
	rc = r < 0 ? XP_EXIT_FAIL : XP_EXIT_OK;
	if (ui.err < 0) {
		cli_error("deploy: cannot count the warnings: %s", strerror(-ui.err));
		rc = XP_EXIT_FAIL;
	}
	ui_release(&ui);
	xp_buf_release(&req);
	free(dg);
	guests_release(&g);
	xp_diags_release(&d);
	free(dir);
	return rc;
}

static int run_deploy(int argc, char **argv)
{
	struct xp_settings set = {0};
	int rc = deploy_main(argc, argv, &set);
	xp_settings_release(&set);
	return rc;
}

const struct xp_command cmd_deploy = {
	.name = "deploy",
	.summary = "provision many guests from a profile, in parallel, resumable",
	.usage = deploy_usage,
	.run = run_deploy,
};
