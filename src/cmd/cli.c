/*
 * cli.c - shared command-line plumbing: verb dispatch, usage, errors, diagnostics and
 * JSON printing. Commands stay thin: parse, call the library, print.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const struct xp_verb *cli_find_verb(const struct xp_command *cmd, const char *name)
{
	if (!cmd->verbs)
		return NULL;
	for (const struct xp_verb *const *v = cmd->verbs; *v; v++)
		if (strcmp((*v)->name, name) == 0)
			return *v;
	return NULL;
}

const char cli_inventory_help[] =
    "\nWith --state-dir, --inventory LOCATION names the inventory's database (over\n"
    "$XENPROV_INVENTORY, then the first line of STATE/inventory-url): sqlite\n"
    "(STATE/inventory.db, the default), sqlite:PATH, or a libpq URL\n"
    "postgresql://[USER@]HOST[:PORT]/DB[?sslmode=verify-full&...] with no password\n"
    "in it (libpq reads it from PGPASSFILE, ~/.pgpass or a service file).\n";

void cli_print_usage(FILE *f, const struct xp_command *cmd, const struct xp_verb *verb)
{
	/* every verb that takes --state-dir takes --inventory too (cli_getopt): said
	 * once, here */
	const char *usage = verb ? verb->usage : cmd->usage;
	fprintf(f, "%s", usage);
	if (strstr(usage, "--state-dir"))
		fputs(cli_inventory_help, f);
	if (verb)
		return;
	if (cmd->verbs) {
		fprintf(f, "\nVerbs:\n");
		for (const struct xp_verb *const *v = cmd->verbs; *v; v++)
			fprintf(f, "  %-10s %s\n", (*v)->name, (*v)->summary);
		fprintf(f, "\nRun 'xenprov %s VERB -h' for a verb's options.\n", cmd->name);
	}
}

const char *cli_prog = "xenprov";

int cli_verror(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", cli_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return XP_EXIT_FAIL;
}

int cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = cli_verror(fmt, ap);
	va_end(ap);
	return rc;
}

int cli_usage_error(const char *cmdpath, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmdpath)
		fprintf(stderr, "\nTry 'xenprov %s -h'.\n", cmdpath);
	else
		fprintf(stderr, "\nTry 'xenprov --help'.\n");
	return XP_EXIT_USAGE;
}

int cli_bad_option(const char *cmdpath, char **argv)
{
	const char *a = optind > 0 ? argv[optind - 1] : "?";
	if (optopt && optopt != '?' && a[0] == '-' && a[1] != '-' && strchr(a, optopt))
		return cli_usage_error(cmdpath, "invalid option '-%c' or missing value", optopt);
	return cli_usage_error(cmdpath, "invalid option '%s' or missing value", a);
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int cli_run_verbs(const struct xp_command *cmd, int argc, char **argv)
{
	/* a command that also runs without a verb (`deploy --profile P ...`): whatever
	 * does not start with one of its verbs is its own */
	if (cmd->run && (argc < 2 || !cli_find_verb(cmd, argv[1]))) {
		if (cli_wants_help(argc, argv)) {
			cli_print_usage(stdout, cmd, NULL);
			return XP_EXIT_OK;
		}
		return cmd->run(argc, argv);
	}
	if (argc < 2) {
		cli_print_usage(stderr, cmd, NULL);
		return XP_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cli_print_usage(stdout, cmd, NULL);
		return XP_EXIT_OK;
	}
	const struct xp_verb *v = cli_find_verb(cmd, argv[1]);
	if (!v)
		return cli_usage_error(cmd->name, "'%s' is not a verb of '%s'", argv[1], cmd->name);
	if (cli_wants_help(argc - 1, argv + 1)) {
		cli_print_usage(stdout, cmd, v);
		return XP_EXIT_OK;
	}
	return v->run(argc - 1, argv + 1);
}

/* ---- the options verbs share ---------------------------------------------------------- */

enum { ID_JSON = 0x10000, ID_STATE_DIR, ID_INVENTORY, ID_SECRETS };

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
	       struct cli_opts *co)
{
	/* the verb's table and the shared options it takes, as one getopt_long table; built
	 * again on every call (getopt_long keeps no pointer into it between calls) */
	struct option all[CLI_OPTS_MAX + 4];
	size_t n = 0;
	for (const struct option *o = longopts; o && o->name && n < CLI_OPTS_MAX; o++)
		all[n++] = *o;
	if (co->takes & CLI_JSON)
		all[n++] = (struct option){"json", no_argument, NULL, ID_JSON};
	if (co->takes & CLI_QUIET)
		all[n++] = (struct option){"quiet", no_argument, NULL, 'q'};
	if (co->takes & CLI_STATE_DIR) {
		all[n++] = (struct option){"state-dir", required_argument, NULL, ID_STATE_DIR};
		all[n++] = (struct option){"inventory", required_argument, NULL, ID_INVENTORY};
	}
	if (co->takes & CLI_SECRETS)
		all[n++] = (struct option){"secrets", no_argument, NULL, ID_SECRETS};
	all[n] = (struct option){NULL, 0, NULL, 0};
	char shorts[64];
	snprintf(shorts, sizeof(shorts), "%s%s", shortopts, co->takes & CLI_QUIET ? "q" : "");
	for (;;) {
		int c = getopt_long(argc, argv, shorts, all, NULL);
		if (c == ID_JSON)
			co->json = true;
		else if (c == 'q' && (co->takes & CLI_QUIET))
			co->quiet = true;
		else if (c == ID_STATE_DIR)
			co->state_dir = optarg;
		else if (c == ID_INVENTORY) /* above $XENPROV_INVENTORY, and seen by every
					       open the command makes (serve's, deploy's) */
			setenv("XENPROV_INVENTORY", optarg, 1);
		else if (c == ID_SECRETS)
			co->secrets = true;
		else
			return c;
	}
}

int cli_parse_flags(int argc, char **argv, const char *verb, const char *shortopts,
		    const struct option *longopts, struct cli_opts *co)
{
	int c;
	while ((c = cli_getopt(argc, argv, shortopts, longopts, co)) != -1)
		if (c != 0)
			return cli_bad_option(verb, argv);
	return cli_operands(argc, argv, verb, co);
}

int cli_operands(int argc, char **argv, const char *verb, const struct cli_opts *co)
{
	if (!co->operand)
		return 0;
	int n = argc - optind, want = 0;
	for (const char *w = co->operand; *w; w += strcspn(w, " ")) {
		w += strspn(w, " ");
		want += *w != 0;
	}
	if (n == want)
		return 0;
	if (want == 0)
		return cli_usage_error(verb, "unexpected argument '%s'", argv[optind]);
	if (want == 1)
		return cli_usage_error(verb, n ? "expected one %s" : "no %s given", co->operand);
	return cli_usage_error(verb, "expected %s", co->operand);
}

void cli_print_messages(const struct xp_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct xp_diag *g = &d->v[i];
		fprintf(stderr, "%s: %s%s%s%s\n", cli_prog,
			g->severity == XP_SEV_WARNING ? "warning: " : "", g->file ? g->file : "",
			g->file ? ": " : "", g->msg);
		if (g->hint)
			fprintf(stderr, "    hint: %s\n", g->hint);
	}
}

void cli_human_size(uint64_t v, char out[32])
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int u = 0;
	double x = (double)v;
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	snprintf(out, 32, "%.4g %s", x, units[u]);
}

void cli_print_diags(FILE *f, const struct xp_diags *d)
{
	bool color = isatty(fileno(f)) && getenv("NO_COLOR") == NULL;
	for (size_t i = 0; i < d->n; i++) {
		const struct xp_diag *g = &d->v[i];
		const char *sev = xp_severity_name(g->severity);
		const char *on = "", *off = "";
		if (color) {
			on = g->severity == XP_SEV_ERROR ? "\033[1;31m"
			     : g->severity == XP_SEV_WARNING ? "\033[1;35m"
							     : "\033[1;36m";
			off = "\033[0m";
		}
		if (g->file)
			fprintf(f, "%s:", g->file);
		if (g->line)
			fprintf(f, "%u:", g->line);
		if (g->line && g->col)
			fprintf(f, "%u:", g->col);
		fprintf(f, "%s%s%s%s: %s", g->file || g->line ? " " : "", on, sev, off, g->msg);
		if (g->text)
			fprintf(f, " near '%s'", g->text);
		fputc('\n', f);
		if (g->hint)
			fprintf(f, "    hint: %s\n", g->hint);
	}
	if (d->dropped)
		fprintf(f, "(%zu more messages not shown)\n", d->dropped);
}

json_t *cli_diags_json(const struct xp_diags *d)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < d->n; i++) {
		const struct xp_diag *g = &d->v[i];
		json_t *o = json_object();
		json_object_set_new(o, "severity", json_string(xp_severity_name(g->severity)));
		if (g->file)
			json_object_set_new(o, "file", json_string(g->file));
		if (g->line)
			json_object_set_new(o, "line", json_integer(g->line));
		if (g->col)
			json_object_set_new(o, "column", json_integer(g->col));
		if (g->code)
			json_object_set_new(o, "code", json_string(g->code));
		json_object_set_new(o, "message", json_string(g->msg));
		if (g->text)
			json_object_set_new(o, "text", json_stringn(g->text, strlen(g->text)));
		if (g->hint)
			json_object_set_new(o, "hint", json_string(g->hint));
		json_array_append_new(a, o);
	}
	return a;
}

int cli_print_json(json_t *v)
{
	if (!v)
		return cli_error("out of memory");
	size_t flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER;
	if (isatty(STDOUT_FILENO))
		flags |= JSON_INDENT(2);
	else
		flags |= JSON_COMPACT;
	int r = json_dumpf(v, stdout, flags);
	json_decref(v);
	fputc('\n', stdout);
	if (r < 0)
		return cli_error("cannot write output: %s", strerror(errno));
	return cli_flush();
}

int cli_flush(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_error("cannot write output: %s", strerror(errno));
	return XP_EXIT_OK;
}

/* ---- progress ------------------------------------------------------------------------- */

void cli_progress_init(struct cli_progress *p, bool want)
{
	memset(p, 0, sizeof(*p));
	p->on = want && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

double cli_progress_elapsed(const struct cli_progress *p)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return seconds_between(&p->start, &now);
}

void cli_progress_draw(struct cli_progress *p, bool force, const char *fmt, ...)
{
	if (!p->on)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && p->drawn && seconds_between(&p->last, &now) < 0.1)
		return;
	p->last = now;
	va_list ap;
	va_start(ap, fmt);
	/* back to the start of the line, the text, then the rest of the old line erased */
	fputc('\r', stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\033[K", stderr);
	va_end(ap);
	fflush(stderr);
	p->drawn = true;
}

void cli_progress_clear(struct cli_progress *p, bool keep)
{
	if (!p->drawn)
		return;
	fputs(keep ? "\n" : "\r\033[K", stderr);
	fflush(stderr);
	p->drawn = false;
}
