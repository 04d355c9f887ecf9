/*
 * cli-inventory.c - helpers of the inventory's commands (see cli-inventory.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli-inventory.h"

int cli_state_dir(const char *given, char **out)
{
	*out = NULL;
	if (given)
		return (*out = strdup(given)) ? 0 : cli_error("out of memory");
	int r = xp_state_dir_default(out);
	if (r == -ENOENT)
		return cli_error("no state directory: set XENPROV_STATE_DIR or HOME, or use "
				 "--state-dir");
	return r < 0 ? cli_error("out of memory") : 0;
}

int cli_inv_open(const char *state_dir, struct xp_inv **inv)
{
	char *dflt = NULL;
	*inv = NULL;
	if (!state_dir) {
		int rc = cli_state_dir(NULL, &dflt);
		if (rc)
			return rc;
		state_dir = dflt;
	}
	char why[640];
	int r = xp_inv_open_at(state_dir, NULL, inv, why, sizeof(why));
	if (r == -EPROTO)
		cli_error("the inventory in '%s' was written by a newer xenprov; upgrade xenprov "
			  "to use it",
			  state_dir);
	else if (r < 0 && why[0]) /* the location (its password hidden) and the reason */
		cli_error("cannot open the %s", why);
	else if (r < 0)
		cli_error("cannot open the inventory in '%s': %s", state_dir, strerror(-r));
	free(dflt);
	return r < 0 ? XP_EXIT_FAIL : 0;
}

/* `KIND VERB [--json] NAME`: parses, opens the inventory and runs fn(inv, NAME, ctx);
 * "no KIND 'NAME'" for -ENOENT, else "cannot DOING KIND 'NAME'" with the reason. */
static int by_name(int argc, char **argv, const char *kind, const char *verbword, const char *doing,
		   bool *json, cli_inv_get_fn fn, void *ctx)
{
	char verb[64];
	snprintf(verb, sizeof(verb), "%s %s", kind, verbword);
	struct cli_opts co = {.takes = CLI_STATE_DIR | (json ? CLI_JSON : 0), .operand = "NAME"};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, verb, "", NULL, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	if (json)
		*json = co.json;
	const char *name = argv[optind];
	rc = cli_inv_result(inv, kind, doing, name, fn(inv, name, ctx));
	xp_inv_close(inv);
	return rc;
}

int cli_inv_result(struct xp_inv *inv, const char *kind, const char *doing, const char *name, int r)
{
	if (r == -ENOENT)
		return cli_error("no %s '%s'", kind, name);
	if (r < 0) {
		char what[64];
		snprintf(what, sizeof(what), "%s %s", doing, kind);
		return cli_inv_error(inv, what, name, r);
	}
	return 0;
}

struct remove_ctx {
	int (*remove)(struct xp_inv *inv, const char *name);
};

static int call_remove(struct xp_inv *inv, const char *name, void *ctx)
{
	return ((struct remove_ctx *)ctx)->remove(inv, name);
}

int cli_inv_remove(int argc, char **argv, const char *kind,
		   int (*remove)(struct xp_inv *inv, const char *name))
{
	struct remove_ctx c = {remove};
	return by_name(argc, argv, kind, "remove", "remove", NULL, call_remove, &c);
}

int cli_inv_show(int argc, char **argv, const char *kind, bool *json, cli_inv_get_fn get, void *out)
{
	return by_name(argc, argv, kind, "show", "read", json, get, out);
}

bool cli_inv_name_ok(const char *kind, const char *name, bool valid)
{
	if (!valid)
		cli_error("'%s' is not a valid %s name (1-64 letters, digits, '-', '_', '.'; not "
			  "starting with '-' or '.')",
			  name, kind);
	return valid;
}

int cli_inv_args_done(const char *verb, const char *kind, bool edit, bool any, bool name_valid,
		      const char *name, const char *state_dir, struct xp_inv **inv)
{
	if (edit && !any)
		return cli_usage_error(verb, "nothing to change");
	if (!cli_inv_name_ok(kind, name, name_valid))
		return XP_EXIT_FAIL;
	return cli_inv_open(state_dir, inv);
}

int cli_fields_parse(int argc, char **argv, const char *verb, bool edit, const struct cli_field *f,
		     size_t n, const struct option *extra,
		     int (*on_extra)(void *ud, int id, const char *arg), void *ud,
		     struct cli_fields *out)
{
	/* ids: field i is 1 + i, its --no- form 1 + CLI_FIELDS_MAX + i */
	struct option opts[2 * CLI_FIELDS_MAX + 16];
	char no_names[CLI_FIELDS_MAX][48];
	size_t k = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n && i < CLI_FIELDS_MAX; i++) {
		opts[k++] = (struct option){f[i].name, required_argument, NULL, 1 + (int)i};
		if (f[i].clearable) {
			snprintf(no_names[i], sizeof(no_names[i]), "no-%s", f[i].name);
			opts[k++] = (struct option){no_names[i], no_argument, NULL,
						    1 + CLI_FIELDS_MAX + (int)i};
		}
	}
	for (const struct option *e = extra; e && e->name && k < sizeof(opts) / sizeof(opts[0]) - 1;
	     e++)
		opts[k++] = *e;
	opts[k] = (struct option){NULL, 0, NULL, 0};
	struct cli_opts co = {.takes = CLI_STATE_DIR};
	int o;
	while ((o = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		if (o == '?' || o == ':')
			return cli_bad_option(verb, argv);
		out->any = true;
		if (o >= 1 && o <= CLI_FIELDS_MAX) {
			out->val[o - 1] = optarg;
		} else if (o > CLI_FIELDS_MAX && o <= 2 * CLI_FIELDS_MAX) {
			if (!edit)
				return cli_bad_option(verb, argv);
			out->clear[o - 1 - CLI_FIELDS_MAX] = true;
		} else {
			if (!on_extra)
				return cli_bad_option(verb, argv);
			int rc = on_extra(ud, o, optarg);
			if (rc)
				return rc;
		}
	}
	out->state_dir = co.state_dir;
	if (argc - optind != 1)
		return cli_usage_error(verb, argc - optind ? "expected one NAME" : "no NAME given");
	for (size_t i = 0; i < n; i++)
		if (out->val[i] && out->clear[i])
			return cli_usage_error(verb, "give --%s or --no-%s, not both", f[i].name,
					       f[i].name);
	return 0;
}

void cli_fields_apply(const struct cli_field *f, size_t n, const struct cli_fields *a, void *rec)
{
	for (size_t i = 0; i < n; i++) {
		char **field = (char **)(void *)((char *)rec + f[i].off);
		if (a->val[i])
			*field = (char *)a->val[i];
		else if (a->clear[i])
			*field = NULL;
	}
}

int cli_inv_get_for_edit(struct xp_inv *inv, const char *kind, const char *name, cli_inv_get_fn get,
			 void *out)
{
	int r = xp_inv_begin(inv);
	if (r == 0)
		r = get(inv, name, out);
	int rc = cli_inv_result(inv, kind, "edit", name, r);
	if (rc)
		xp_inv_rollback(inv);
	return rc;
}

int cli_inv_written(struct xp_inv *inv, const char *kind, bool edit, const char *name,
		    const struct xp_diags *diags, int r)
{
	if (edit && r == 0)
		r = xp_inv_commit(inv);
	else if (edit)
		xp_inv_rollback(inv);
	if (r >= 0)
		return 0;
	if (r == -EINVAL || (r == -EACCES && diags->n))
		return cli_inv_diags(diags, "%s '%s' not %s", kind, name,
				     edit ? "changed" : "added");
	/* the library's own refusal ("KIND 'NAME' exists"), not a constraint of the database */
	size_t kl = strlen(kind);
	const char *msg = xp_inv_errmsg(inv);
	if (!edit && r == -EEXIST && strncmp(msg, kind, kl) == 0 && msg[kl] == ' ')
		return cli_error("%s '%s' exists (use 'xenprov %s edit')", kind, name, kind);
	char what[64];
	snprintf(what, sizeof(what), "%s %s", edit ? "edit" : "add", kind);
	return cli_inv_error(inv, what, name, r);
}

void cli_inv_rows_free(const struct cli_inv_rows *k, void *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		k->release((char *)rows + i * k->size);
	free(rows);
}

int cli_inv_list(int argc, char **argv, const struct cli_inv_rows *k, void **rows, size_t *n)
{
	char verb[64];
	snprintf(verb, sizeof(verb), "%s list", k->kind);
	*rows = NULL;
	*n = 0;
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR, .operand = ""};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, verb, "", NULL, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	char **names = NULL;
	size_t nn = 0;
	/* one snapshot: names and rows agree */
	int r = xp_inv_begin(inv);
	if (r == 0)
		r = k->list(inv, &names, &nn);
	char *v = r == 0 ? calloc(nn ? nn : 1, k->size) : NULL;
	if (r == 0 && !v)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < nn; i++)
		r = k->get(inv, names[i], v + i * k->size);
	xp_inv_rollback(inv); /* read only */
	if (r < 0) {
		char what[64];
		snprintf(what, sizeof(what), "list %ss in", k->kind);
		rc = cli_inv_error(inv, what, xp_inv_state_dir(inv), r);
	}
	xp_inv_close(inv);
	xp_strv_free(names, nn);
	nn = v ? nn : 0;
	if (rc == 0 && co.json) {
		json_t *a = json_array();
		for (size_t i = 0; i < nn; i++)
			json_array_append_new(a, k->to_json(v + i * k->size));
		rc = cli_print_json(a);
	}
	if (rc || co.json) {
		cli_inv_rows_free(k, v, nn);
		return rc;
	}
	*rows = v;
	*n = nn;
	return 0;
}

int cli_inv_error(struct xp_inv *inv, const char *what, const char *name, int r)
{
	char why[512];
	if (r == -ENOMEM)
		return cli_error("out of memory");
	return cli_error("cannot %s '%s': %s", what, name, xp_inv_reason(inv, r, why, sizeof(why)));
}

int cli_inv_diags(const struct xp_diags *d, const char *fmt, ...)
{
	cli_print_diags(stderr, d);
	va_list ap;
	va_start(ap, fmt);
	int rc = cli_verror(fmt, ap);
	va_end(ap);
	return rc;
}

void cli_value_diags(const struct xp_diags *d, const char *prefix)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].text)
			cli_error("%s%s (got '%s')", prefix, d->v[i].msg, d->v[i].text);
		else
			cli_error("%s%s", prefix, d->v[i].msg);
		if (d->v[i].hint)
			fprintf(stderr, "    hint: %s\n", d->v[i].hint);
	}
}

int cli_list_item(struct xp_settings *s, const char *key, const char *item)
{
	char *abs = NULL, *joined = NULL;
	const char *guest = NULL;
	/* copy-in: GUESTDIR starts at the last ":/" (it holds no ':'); LOCALPATH before it
	 * is taken from here, as --image is */
	for (const char *p = item; strcmp(key, "copy-in") == 0 && (p = strstr(p, ":/")); p++)
		guest = p;
	if (guest) {
		char *local = strndup(item, (size_t)(guest - item));
		if (!local)
			return cli_error("out of memory");
		abs = realpath(local, NULL);
		int e = errno;
		if (!abs) {
			cli_error("copy-in: cannot use '%s': %s", local, strerror(e));
			free(local);
			return XP_EXIT_FAIL;
		}
		free(local);
		if (asprintf(&joined, "%s%s", abs, guest) < 0) {
			free(abs);
			return cli_error("out of memory");
		}
		item = joined;
	}
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_profile_list_add(s, key, item, &d);
	cli_value_diags(&d, "");
	if (r < 0 && d.n == 0)
		cli_error("%s", strerror(-r));
	xp_diags_release(&d);
	free(abs);
	free(joined);
	return r < 0 ? XP_EXIT_FAIL : 0;
}

void cli_fmt_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("xenprov: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_print_fields(const char *const *keys, const char *const *values, size_t n)
{
	int w = 0;
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(keys[i]);
		w = l > w ? l : w;
	}
	for (size_t i = 0; i < n; i++)
		printf("%-*s  %s\n", w, keys[i], values[i] ? values[i] : "-");
}

void cli_print_table(const char *const *cells, size_t ncols, size_t nrows)
{
	int w[16] = {0};
	if (ncols > 16)
		ncols = 16;
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++) {
			const char *v = cells[r * ncols + c];
			int l = v ? (int)strlen(v) : 1;
			w[c] = l > w[c] ? l : w[c];
		}
	struct xp_buf line = XP_BUF_INIT;
	for (size_t r = 0; r < nrows; r++) {
		xp_buf_truncate(&line, 0);
		for (size_t c = 0; c < ncols; c++) {
			const char *v = cells[r * ncols + c];
			xp_buf_addf(&line, "%-*s  ", w[c], v ? v : "-");
		}
		size_t len = line.len;
		while (len > 0 && xp_buf_str(&line)[len - 1] == ' ')
			len--;
		printf("%.*s\n", (int)len, xp_buf_str(&line));
	}
	xp_buf_release(&line);
}

int cli_ssh_key_arg(const char *arg, char **out)
{
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_ssh_key_arg(arg, out, &d);
	for (size_t i = 0; i < d.n; i++) {
		const struct xp_diag *g = &d.v[i];
		if (g->file && g->line)
			cli_error("%s:%u: %s", g->file, g->line, g->msg);
		else if (g->file)
			cli_error("%s: %s", g->file, g->msg);
		else
			cli_error("%s", g->msg);
		if (g->hint)
			fprintf(stderr, "    hint: %s\n", g->hint);
	}
	xp_diags_release(&d);
	if (r == -ENOMEM && d.n == 0)
		cli_error("out of memory");
	return r < 0 ? XP_EXIT_FAIL : 0;
}
