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
	"                      --names-from FILE | --plan FILE) [--set KEY=VALUE]... [OPTIONS]\n"
	"       xenprov deploy --rollback [ID] [--profile P] [--dry-run] [--yes] [--force]\n"
	"                      [OPTIONS]\n"
	"       xenprov deploy list [--json]\n"
	"       xenprov deploy show ID [--json]\n"
	"\n"
	"Provisions many guests from profile P at once: the golden image is built (or\n"
	"found) once, then every guest gets its disk, MAC, IP, own files and xl config in\n"
	"parallel. Addresses from the profile's ip-pool follow the guests' names. Guests\n"
	"that exist and are complete are skipped, so running the same command again\n"
	"finishes an interrupted deploy; what a killed run left half made is removed and\n"
	"made again. A failing guest is reported and the others go on; a full disk stops\n"
	"starting new guests. Exit 1 if any guest failed. Every run is recorded: 'deploy\n"
	"list' and 'deploy show' show them, --rollback undoes one.\n"
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
	"                       copy-in, write, firstboot-command, data-disk and nic each\n"
	"                       --set adds one item, and the list replaces the profile's\n"
	"  -j, --jobs N         guests made at once (default: the number of CPUs)\n"
	"  --config-dir DIR     where configs go (default: the profile's config-dir, else the\n"
	"                       setting config-dir, else /etc/xen); it must exist\n"
	"  --state-dir DIR      the inventory (default $XENPROV_STATE_DIR, /var/lib/xenprov\n"
	"                       for root, else $XDG_STATE_HOME/xenprov)\n"
	"  --json               JSON-lines events on standard output, then a summary object\n"
	"  -q, --quiet          no progress bar\n"
	"  -h, --help           this help\n"
	"\n"
	"Rollback:\n"
	"  --rollback [ID]      remove every guest of deploy ID (default: the newest deploy\n"
	"                       that has guests; of profile P with --profile). Says which\n"
	"                       deploy and how many guests, and asks on a terminal; without\n"
	"                       one it never asks, and needs ID when more than one deploy\n"
	"                       has guests\n"
	"                       (refused while any of its guests runs)\n"
	"  --dry-run            list the guests and files the rollback would remove (and\n"
	"                       which run); remove nothing\n"
	"  --force              shut running guests down first (destroyed if still running\n"
	"                       after 60 s)\n"
	"  -y, --yes            do not ask (an ID is then needed when more than one deploy\n"
	"                       has guests)\n"
	"\n"
	"Example:\n"
	"  xenprov deploy --profile web --count 100 --name 'web%03d' --jobs 4 \\\n"
	"      --set memory=2G --set config.on_crash=destroy\n"
	"  xenprov deploy list\n"
	"  xenprov deploy --rollback 7 --dry-run\n";

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

/* ---- rollback --------------------------------------------------------------------- */

/* A library call's diagnostics as "xenprov: [NAME: ]MESSAGE" lines with their hints;
 * "xenprov: WHAT: REASON" for an error it gave no diagnostic for (a system error).
 * Returns XP_EXIT_FAIL. */
static int lib_failed(const struct xp_diags *d, int r, const char *what)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct xp_diag *g = &d->v[i];
		fprintf(stderr, "xenprov: %s%s%s%s%s\n",
			g->severity == XP_SEV_ERROR ? "" : xp_severity_name(g->severity),
			g->severity == XP_SEV_ERROR ? "" : ": ", g->file ? g->file : "",
			g->file ? ": " : "", g->msg);
		if (g->hint)
			fprintf(stderr, "    hint: %s\n", g->hint);
	}
	if (xp_diags_count(d, XP_SEV_ERROR) == 0)
		cli_error("%s: %s", what, strerror(-r));
	return XP_EXIT_FAIL;
}

static const char *artifact(const struct xp_rollback_guest *g, const char *kind)
{
	for (size_t i = 0; i < g->nart; i++)
		if (strcmp(g->art[i].kind, kind) == 0)
			return g->art[i].path;
	return NULL;
}

/* "deploy 12 (profile 'web', started 2026-11-25T10:00:00Z)" */
static void deploy_title(const struct xp_deploy_record *rec, char *out, size_t size)
{
	char t[32];
	cli_fmt_time(rec->started, t);
	snprintf(out, size, "deploy %lld (profile '%s', started %s)", (long long)rec->id,
		 rec->profile ? rec->profile : "?", t);
}

/* --rollback --dry-run: what would be removed, removing nothing. */
static int print_plan(const struct xp_rollback_plan *plan, bool json)
{
	if (json) {
		json_t *o = json_object(), *a = json_array();
		json_object_set_new(o, "deploy", xp_deploy_record_to_json(&plan->deploy));
		json_object_set_new(o, "dry_run", json_true());
		for (size_t i = 0; i < plan->n; i++) {
			const struct xp_rollback_guest *g = &plan->guests[i];
			json_t *j = json_object(), *files = json_array();
			json_object_set_new(j, "name", xp_json_text(g->dom.name));
			json_object_set_new(j, "state", xp_json_text(g->dom.state));
			json_object_set_new(j, "storage", xp_json_text(g->dom.storage));
			for (size_t k = 0; k < g->nart; k++) {
				json_t *f = json_object();
				json_object_set_new(f, "kind", xp_json_text(g->art[k].kind));
				json_object_set_new(f, "path", xp_json_text(g->art[k].path));
				json_array_append_new(files, f);
			}
			json_object_set_new(j, "files", files);
			json_object_set_new(j, "running", json_boolean(g->running));
			json_array_append_new(a, j);
		}
		json_object_set_new(o, "guests", a);
		return cli_print_json(o);
	}
	char title[200];
	deploy_title(&plan->deploy, title, sizeof(title));
	printf("%s: would remove %zu guest%s (dry run: nothing removed)\n", title, plan->n,
	       plan->n == 1 ? "" : "s");
	if (plan->n) {
		const char **cells = calloc((plan->n + 1) * 5, sizeof(*cells));
		if (!cells)
			return cli_error("out of memory");
		const char *head[] = {"NAME", "STATE", "STORAGE", "DISK", "CONFIG"};
		memcpy(cells, head, sizeof(head));
		for (size_t i = 0; i < plan->n; i++) {
			const struct xp_rollback_guest *g = &plan->guests[i];
			const char *row[] = {g->dom.name, g->running ? "running" : g->dom.state,
					     g->dom.storage, artifact(g, "disk"),
					     artifact(g, "config")};
			memcpy(&cells[(i + 1) * 5], row, sizeof(row));
		}
		cli_print_table(cells, 5, plan->n + 1);
		free(cells);
	}
	return cli_flush();
}

/* On a terminal: "y" or "yes" removes; anything else (or end of input) does not. */
static bool confirmed(const char *title, size_t n, const char *running)
{
	fprintf(stderr, "Roll back %s: remove its %zu guest%s%s, their disks and configs? [y/N] ",
		title, n, n == 1 ? "" : "s", running);
	fflush(stderr);
	char line[32];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = 0;
	return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

/* --rollback [ID]: the deploy is named before anything is removed; it is asked on a
 * terminal (unless --yes); without a terminal (or with --yes) the newest deploy is
 * taken only when it is the only one that has guests, since nobody sees which it is
 * before it goes. */
struct rollback_args {
	int64_t id; /* 0: none given */
	const char *profile;
	bool dry, yes, force;
};

static int rollback(const char *dir, const struct rollback_args *a, const struct cli_opts *co)
{
	struct xp_diags d;
	xp_diags_init(&d);
	int64_t id = a->id;
	const char *profile = a->profile;
	struct xp_stop_opts stop = {.force = a->force, .timeout = XP_STOP_TIMEOUT_DEFAULT};
	struct xp_deploy_rollback_opts ro = {
	    .state_dir = dir, .deploy_id = id, .profile = profile, .stop = &stop};
	struct xp_rollback_plan plan;
	int r = xp_deploy_rollback_plan(&ro, &plan, &d);
	if (r < 0) {
		int rc = lib_failed(&d, r, "cannot roll back");
		xp_diags_release(&d);
		return rc;
	}
	int rc = XP_EXIT_OK;
	char title[200];
	deploy_title(&plan.deploy, title, sizeof(title));
	bool ask = !a->yes && isatty(STDIN_FILENO);
	size_t running = 0;
	for (size_t i = 0; i < plan.n; i++)
		running += plan.guests[i].running;
	if (a->dry) {
		rc = print_plan(&plan, co->json);
		if (running && !co->json)
			fprintf(stderr, "xenprov: %zu of them run%s\n", running,
				a->force ? ": they would be shut down first"
					 : ": the rollback refuses them unless --force");
		goto out;
	}
	if (running && !a->force) { /* refused before asking; the library refuses too */
		for (size_t i = 0; i < plan.n; i++)
			if (plan.guests[i].running)
				cli_error("domain '%s' is running", plan.guests[i].dom.name);
		fprintf(stderr, "    hint: shut them down first, or give --force\n");
		rc = cli_error("cannot roll back: guests are running (nothing was removed)");
		goto out;
	}
	if (id == 0 && !ask && plan.with_guests > 1) {
		rc = cli_error("%zu deploys%s%s%s have guests: name the one to roll back (the newest "
			       "is %lld): xenprov deploy --rollback %lld",
			       plan.with_guests, profile ? " of profile '" : "",
			       profile ? profile : "", profile ? "'" : "",
			       (long long)plan.deploy.id, (long long)plan.deploy.id);
		fprintf(stderr, "    hint: 'xenprov deploy list' shows them; '--dry-run' what one "
				"would remove\n");
		goto out;
	}
	char stopping[64] = ""; /* with --force */
	if (running)
		snprintf(stopping, sizeof(stopping), " (%zu running: shut down first)", running);
	if (ask && !confirmed(title, plan.n, stopping)) {
		rc = cli_error("%s not rolled back: nothing removed", title);
		goto out;
	}
	if (!ask && !co->quiet)
		fprintf(stderr, "xenprov: rolling back %s: removing %zu guest%s%s\n", title, plan.n,
			plan.n == 1 ? "" : "s", stopping);
	/* by the id the plan named, whatever was deployed since */
	ro.deploy_id = plan.deploy.id;
	struct xp_deploy_result res;
	r = xp_deploy_rollback(&ro, &res, &d);
	if (r == -EBUSY) { /* one started since the plan */
		lib_failed(&d, r, "");
		rc = cli_error("cannot roll back: guests are running (nothing was removed)");
		goto out;
	}
	if (r < 0 && r != -EIO) {
		rc = lib_failed(&d, r, "cannot roll back");
		goto out;
	}
	if (d.n)
		lib_failed(&d, r, "");
	if (co->json) {
		json_t *o = json_object();
		json_object_set_new(o, "deploy", json_integer(res.deploy_id));
		json_object_set_new(o, "profile", xp_json_text(plan.deploy.profile));
		json_object_set_new(o, "removed", json_integer((json_int_t)res.cleaned));
		json_object_set_new(o, "failed", json_integer((json_int_t)res.failed));
		rc = cli_print_json(o);
	} else {
		printf("deploy %lld rolled back: %zu guest%s removed%s\n", (long long)res.deploy_id,
		       res.cleaned, res.cleaned == 1 ? "" : "s",
		       res.failed ? ", some could not be" : "");
	}
	if (r == -EIO)
		rc = XP_EXIT_FAIL;
out:
	xp_rollback_plan_release(&plan);
	xp_diags_release(&d);
	return rc;
}

static int deploy_main(int argc, char **argv, struct xp_settings *set)
{
	enum { O_PROFILE = 256, O_COUNT, O_NAME, O_FIRST, O_NAMES, O_PLAN, O_CONFIGDIR,
	       O_ROLLBACK, O_SET, O_DRYRUN, O_FORCE };
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
					     {"dry-run", no_argument, NULL, O_DRYRUN},
					     {"yes", no_argument, NULL, 'y'},
					     {"force", no_argument, NULL, O_FORCE},
					     {NULL, 0, NULL, 0}};
	/* what only a deploy (not a rollback) takes, and what only a rollback takes */
	const char *deploy_only = NULL, *rollback_only = NULL;
	bool dry = false, yes = false, force = false; /* --force: stop running guests */
	const char *profile = NULL, *fmt = "guest%03d", *names_from = NULL, *plan = NULL,
		   *config_dir = NULL;
	long count = -1, first = 1, jobs = 0, rollback_id = -1;
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET | CLI_STATE_DIR, .operand = ""};
	char *end;
	int c, rc;
	while ((c = cli_getopt(argc, argv, "+j:y", opts, &co)) != -1) {
		if (c == O_COUNT || c == O_NAME || c == O_FIRST || c == O_NAMES || c == O_PLAN ||
		    c == 'j')
			deploy_only = argv[optind - 1 - (optarg && optarg == argv[optind - 1])];
		switch (c) {
		case O_DRYRUN:
			dry = true;
			rollback_only = "--dry-run";
			break;
		case 'y':
			yes = true;
			rollback_only = "--yes";
			break;
		case O_FORCE:
			force = true;
			rollback_only = "--force";
			break;
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
		default:
			return cli_bad_option("deploy", argv);
		}
	}
	if ((rc = cli_operands(argc, argv, "deploy", &co)))
		return rc;
	char *dir = NULL;
	if ((rc = cli_state_dir(co.state_dir, &dir)))
		return rc;

	if (rollback_id >= 0 && (set->n || deploy_only)) {
		free(dir);
		return cli_usage_error("deploy", "%s does not go with --rollback",
				       set->n ? "--set" : deploy_only);
	}
	if (rollback_id < 0 && rollback_only) {
		free(dir);
		return cli_usage_error("deploy", "%s goes with --rollback only", rollback_only);
	}
	if (rollback_id >= 0) {
		struct rollback_args ra = {.id = rollback_id, .profile = profile, .dry = dry,
					   .yes = yes, .force = force};
		rc = rollback(dir, &ra, &co);
		free(dir);
		return rc;
	}

	struct xp_diags d;
	xp_diags_init(&d);
	d.limit = 200;
	struct xp_deploy_result res;
	rc = XP_EXIT_OK;
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
	/* per-guest failures were reported as they happened; a run that could not start
	 * says why (a system error's text only where the library gave no reason) */
	if (r < 0 && r != -EIO)
		lib_failed(&d, r, "deploy failed");
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
		       res.lost	     ? " (stopped: the inventory's connection is lost)"
		       : res.stopped ? " (stopped: out of space)"
				     : "");
	}
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

/* ---- list and show ----------------------------------------------------------------- */

static const char list_usage[] =
	"Usage: xenprov deploy list [--json]\n"
	"\n"
	"Lists the deploys, oldest first: id, profile, when it started, its state\n"
	"(running, done, failed, rolled-back), the guests asked for, created, skipped and\n"
	"failed, and how many of its guests are left (what --rollback would remove).\n"
	"A count the run did not record (it was killed) is '-'.\n"
	"\n"
	"  --json      one JSON array of {id, profile, state, started, finished, request,\n"
	"              total, created, skipped, failed, cleaned, guests}\n" CLI_STATE_DIR_HELP
	"  -h, --help  this help\n";

static const char show_usage[] =
	"Usage: xenprov deploy show ID [--json]\n"
	"\n"
	"Shows deploy ID: its record (as 'deploy list' has it, with the command line and\n"
	"when it finished) and the guests it made that are left, with their state,\n"
	"address and files.\n"
	"\n"
	"  --json      one JSON object {deploy: {...as deploy list...}, guests: [...as\n"
	"              domain show --json...]}\n" CLI_STATE_DIR_HELP
	"  -h, --help  this help\n";

/* A count as text into buf: "-" where it was not recorded. */
static const char *count_text(int64_t v, char buf[24])
{
	if (v < 0)
		return "-";
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

static int run_list(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR, .operand = ""};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, "deploy list", "", NULL, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	struct xp_deploy_record *v;
	size_t n;
	int r = xp_deploy_record_list(inv, &v, &n);
	if (r < 0) {
		rc = cli_inv_error(inv, "read the deploys in", xp_inv_state_dir(inv), r);
		xp_inv_close(inv);
		return rc;
	}
	xp_inv_close(inv);
	if (co.json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, xp_deploy_record_to_json(&v[i]));
		rc = cli_print_json(a);
	} else if (n) {
		enum { COLS = 9, TEXT = 8 };
		const char **cells = calloc((n + 1) * COLS, sizeof(*cells));
		char (*text)[24] = calloc(n * TEXT, sizeof(*text));
		if (!cells || !text) {
			rc = cli_error("out of memory");
		} else {
			const char *head[COLS] = {"ID",	     "PROFILE", "STARTED", "STATE", "TOTAL",
						  "CREATED", "SKIPPED", "FAILED",  "LEFT"};
			memcpy(cells, head, sizeof(head));
			for (size_t i = 0; i < n; i++) {
				const struct xp_deploy_record *d = &v[i];
				char(*t)[24] = &text[i * TEXT];
				snprintf(t[0], 24, "%lld", (long long)d->id);
				cli_fmt_time(d->started, t[1]);
				snprintf(t[7], 24, "%lld", (long long)d->guests);
				const char *row[COLS] = {t[0],
							 d->profile,
							 t[1],
							 d->state,
							 count_text(d->counts.total, t[2]),
							 count_text(d->counts.created, t[3]),
							 count_text(d->counts.skipped, t[4]),
							 count_text(d->counts.failed, t[5]),
							 t[7]};
				memcpy(&cells[(i + 1) * COLS], row, sizeof(row));
			}
			cli_print_table(cells, COLS, n + 1);
			rc = cli_flush();
		}
		free(cells);
		free(text);
	}
	xp_deploy_record_list_free(v, n);
	return rc;
}

/* deploy show's text: the record as "key  value" lines, then its guests. */
static int print_show(const struct xp_deploy_record *rec, const struct xp_domain *doms, size_t n)
{
	char id[24], left[24], started[32], finished[32], c[5][24];
	snprintf(id, sizeof(id), "%lld", (long long)rec->id);
	snprintf(left, sizeof(left), "%lld", (long long)rec->guests);
	cli_fmt_time(rec->started, started);
	if (rec->finished)
		cli_fmt_time(rec->finished, finished);
	const struct xp_deploy_counts *k = &rec->counts;
	const char *keys[] = {"id",	 "profile", "state",   "started", "finished", "request",
			      "total",	 "created", "skipped", "failed",  "cleaned",  "left"};
	const char *vals[] = {id,
			      rec->profile,
			      rec->state,
			      started,
			      rec->finished ? finished : NULL,
			      rec->request,
			      count_text(k->total, c[0]),
			      count_text(k->created, c[1]),
			      count_text(k->skipped, c[2]),
			      count_text(k->failed, c[3]),
			      count_text(k->cleaned, c[4]),
			      left};
	cli_print_fields(keys, vals, sizeof(keys) / sizeof(keys[0]));
	if (n) {
		enum { COLS = 6 };
		const char **cells = calloc((n + 1) * COLS, sizeof(*cells));
		if (!cells)
			return cli_error("out of memory");
		const char *head[COLS] = {"NAME", "STATE", "IP", "STORAGE", "DISK", "CONFIG"};
		memcpy(cells, head, sizeof(head));
		for (size_t i = 0; i < n; i++) {
			const struct xp_domain *g = &doms[i];
			const char *row[COLS] = {g->name,    g->state ,   g->ip ? g->ip : "dhcp",
						 g->storage, g->disk_path, g->config_path};
			memcpy(&cells[(i + 1) * COLS], row, sizeof(row));
		}
		putchar('\n');
		cli_print_table(cells, COLS, n + 1);
		free(cells);
	}
	return cli_flush();
}

static int run_show(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR, .operand = "ID"};
	int rc = cli_parse_flags(argc, argv, "deploy show", "", NULL, &co);
	if (rc)
		return rc;
	char *end;
	long long id = strtoll(argv[optind], &end, 10);
	if (*end || id < 1 || argv[optind][0] == '+' || argv[optind][0] == ' ')
		return cli_usage_error("deploy show", "invalid deploy id '%s'", argv[optind]);
	struct xp_inv *inv;
	if ((rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	struct xp_deploy_record rec;
	struct xp_domain *doms = NULL;
	size_t n = 0;
	int r = xp_inv_begin(inv); /* one snapshot */
	if (r == 0 && (r = xp_deploy_record_get(inv, id, &rec)) == 0 &&
	    (r = xp_deploy_guests(inv, id, &doms, &n)) < 0)
		xp_deploy_record_release(&rec);
	xp_inv_rollback(inv); /* read only */
	if (r == -ENOENT)
		rc = cli_error("no deploy %lld (see 'xenprov deploy list')", id);
	else if (r < 0)
		rc = cli_inv_error(inv, "read deploy", argv[optind], r);
	xp_inv_close(inv);
	if (r < 0)
		return rc;
	if (co.json) {
		json_t *o = json_object(), *a = json_array();
		json_object_set_new(o, "deploy", xp_deploy_record_to_json(&rec));
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, xp_domain_to_json(&doms[i], false));
		json_object_set_new(o, "guests", a);
		rc = cli_print_json(o);
	} else {
		rc = print_show(&rec, doms, n);
	}
	xp_domain_list_free(doms, n);
	xp_deploy_record_release(&rec);
	return rc;
}

static const struct xp_verb list_verb = {"list", "list the deploys: profile, time, counts, guests left",
					 list_usage, run_list};
static const struct xp_verb show_verb = {"show", "show one deploy and the guests it made",
					 show_usage, run_show};
static const struct xp_verb *const deploy_verbs[] = {&list_verb, &show_verb, NULL};

const struct xp_command cmd_deploy = {
	.name = "deploy",
	.summary = "provision many guests from a profile, in parallel, resumable",
	.usage = deploy_usage,
	/* `deploy --profile ...` and `--rollback` run without a verb */
	.run = run_deploy,
	.verbs = deploy_verbs,
};
