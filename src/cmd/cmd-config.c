/*
 * cmd-config.c - `xenprov config`: read, lint, edit and print xl domain configs.
 * Thin: parse arguments, call libxenprov (xl-config.h, xl-lint.h), print.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xenprov/xl-config.h"
#include "xenprov/xl-lint.h"

/* ---- shared ------------------------------------------------------------------------- */

/* Loads a config; on a read failure prints the error. Syntax diagnostics go to diags. */
static int load(const char *path, struct xp_diags *diags, struct xp_cfg **cfg)
{
	int r = xp_cfg_load(path, diags, cfg);
	if (r == -ENOMEM)
		return cli_error("out of memory");
	if (r == -EFBIG)
		return cli_error("'%s' is larger than %u bytes; not an xl config", path,
				 XP_CFG_MAX_SIZE);
	if (!*cfg)
		return cli_error("cannot read '%s': %s", path, strerror(-r));
	return 0;
}

/* Prints the diagnostics of d of severity sev, naming the file `name` (NULL: as they
 * are), and returns how many. */
static size_t print_sev(const struct xp_diags *d, enum xp_severity sev, const char *name)
{
	size_t n = 0;
	for (size_t k = 0; k < d->n; k++) {
		if (d->v[k].severity != sev)
			continue;
		struct xp_diag g = d->v[k];
		if (name)
			g.file = (char *)name;
		struct xp_diags one = {.v = &g, .n = 1};
		cli_print_diags(stderr, &one);
		n++;
	}
	return n;
}

/* Loads a config that must be free of errors, as `check` finds them: the syntax and
 * the values xl refuses (get and dump; xenprov-config(1) says they refuse such a
 * file). Prints the errors and refuses. For set and unset (lint given), only a syntax
 * error refuses the file: what `check` says of its values goes to *lint, so that an
 * edit may mend a value xl refuses, and check_edit decides on the result. */
static int load_clean(const char *path, struct xp_cfg **cfg, struct xp_diags *lint)
{
	struct xp_diags d;
	xp_diags_init(&d);
	int r = load(path, &d, cfg);
	bool syntax = r == 0 && xp_cfg_has_errors(*cfg);
	if (r == 0 && !syntax && xp_cfg_lint(*cfg, NULL, NULL, &d) < 0)
		r = cli_error("out of memory");
	if (r == 0 && (syntax || !lint) && xp_diags_count(&d, XP_SEV_ERROR)) {
		print_sev(&d, XP_SEV_ERROR, NULL);
		cli_error("'%s' has errors; xl would reject it (see 'xenprov config check')",
			  path);
		r = XP_EXIT_FAIL;
	}
	if (r) {
		xp_cfg_free(*cfg);
		*cfg = NULL;
	} else if (lint) {
		*lint = d;
		return 0;
	}
	xp_diags_release(&d);
	return r;
}

static bool same_diag(const struct xp_diag *a, const struct xp_diag *b)
{
	return a->severity == b->severity &&
	       strcmp(a->code ? a->code : "", b->code ? b->code : "") == 0 &&
	       strcmp(a->msg, b->msg) == 0 &&
	       strcmp(a->text ? a->text : "", b->text ? b->text : "") == 0;
}

/* Checks an edited config with the rules of `check`: an error refuses the edit
 * (printed against "FILE (new)", the text that would have been written), whether the
 * edit made it or did not mend one the file had; a warning
 * the original did not have, or one on the line of a KEY=VALUE just set (an unknown
 * key, with did-you-mean), is printed and the edit goes on (against FILE, which then
 * holds that text, or "FILE (new)" for a dry run). before holds the original's lint;
 * sets/nsets the KEY=VALUE arguments (none for unset). XP_EXIT_OK, or the exit code. */
static int check_edit(const char *path, const struct xp_cfg *cfg, const struct xp_diags *before,
		      char **sets, int nsets, bool dry)
{
	struct xp_diags after;
	xp_diags_init(&after);
	if (xp_cfg_lint(cfg, NULL, NULL, &after) < 0) {
		xp_diags_release(&after);
		return cli_error("out of memory");
	}
	char name[4200];
	snprintf(name, sizeof(name), "%s (new)", path);
	int rc = XP_EXIT_OK;
	if (xp_diags_count(&after, XP_SEV_ERROR)) {
		print_sev(&after, XP_SEV_ERROR, name);
		if (xp_diags_count(before, XP_SEV_ERROR))
			rc = cli_error("'%s' has errors; xl would reject it (see 'xenprov config "
				       "check'), also with the new values: not changed",
				       path);
		else
			rc = cli_error("'%s' not changed: xl would reject it with the new values",
				       path);
	} else {
		for (size_t k = 0; k < after.n; k++) {
			bool old = false, set_here = false;
			for (size_t j = 0; j < before->n && !old; j++)
				old = same_diag(&after.v[k], &before->v[j]);
			for (int i = 0; i < nsets && !set_here; i++) {
				char key[256];
				snprintf(key, sizeof(key), "%.*s", (int)strcspn(sets[i], "="), sets[i]);
				set_here = after.v[k].line && after.v[k].line == xp_cfg_line_of(cfg, key);
			}
			if ((old && !set_here) || after.v[k].severity != XP_SEV_WARNING)
				continue;
			struct xp_diags one = {.v = &after.v[k], .n = 1};
			print_sev(&one, XP_SEV_WARNING, dry ? name : path);
		}
	}
	xp_diags_release(&after);
	return rc;
}

static json_t *value_json(const struct xp_cfg_value *v)
{
	switch (xp_cfg_value_type(v)) {
	case XP_CFG_STRING:
		return xp_json_text(xp_cfg_value_str(v));
	case XP_CFG_NUMBER: {
		long l;
		if (xp_cfg_value_long(v, &l) == 0)
			return json_integer(l);
		/* a number token xl cannot read as one (08, 1e5): its text */
		return json_string(xp_cfg_value_str(v));
	}
	case XP_CFG_LIST: {
		json_t *a = json_array();
		for (size_t i = 0; a && i < xp_cfg_value_len(v); i++)
			json_array_append_new(a, value_json(xp_cfg_value_item(v, i)));
		return a;
	}
	}
	return json_null();
}

static int write_back(const char *path, struct xp_cfg *cfg)
{
	size_t len;
	const char *text = xp_cfg_text(cfg, &len);
	int r = xp_write_atomic(path, text, len, 0644);
	if (r < 0)
		return cli_error("cannot write '%s': %s", path, strerror(-r));
	return XP_EXIT_OK;
}

static void print_diff(const char *path, const char *a, size_t alen, const char *b, size_t blen)
{
	struct xp_buf d = XP_BUF_INIT;
	char bn[4200];
	snprintf(bn, sizeof(bn), "%s (new)", path);
	xp_diff_unified(a, alen, b, blen, path, bn, &d);
	fputs(xp_buf_str(&d), stdout);
	xp_buf_release(&d);
}

/* ---- check ------------------------------------------------------------------------- */

static const char check_usage[] =
	"Usage: xenprov config check [--json] [--host] [--quiet] FILE...\n"
	"\n"
	"Checks xl domain configs as Xen's own parser reads them. Errors are what\n"
	"'xl create' would reject; warnings are what xl accepts but is probably wrong\n"
	"(unknown or duplicate settings, memory above maxmem, no name, a PV guest with\n"
	"nothing to boot, duplicate vdevs, invalid or multicast MACs, a MAC used by two\n"
	"of the FILEs). Exits 1 if any FILE has an error.\n"
	"\n"
	"  --host     also check the files on this host the config needs: disk targets\n"
	"             (phy: devices, images), kernel and ramdisk (unless a bootloader\n"
	"             reads them from the guest's disk), and the bootloader: a path, or a\n"
	"             name found as xl finds it, in Xen's bin directory, else on $PATH\n"
	"             ($XENPROV_XEN_BINDIR names that directory; default: the first of\n"
	"             /usr/libexec/xen/bin, /usr/lib/xen/bin, /usr/local/lib/xen/bin,\n"
	"             /usr/lib/xen-VERSION/bin)\n"
	"  --json     one JSON array: per file its errors, warnings and diagnostics\n"
	"  -q, --quiet  print errors only\n"
	"  -h, --help   this help\n"
	"\n"
	"Example: xenprov config check /etc/xen/*.cfg\n";

static int run_check(int argc, char **argv)
{
	int host = 0;
	const struct option opts[] = {{"host", no_argument, &host, 1}, {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON | CLI_QUIET};
	int c = cli_parse_flags(argc, argv, "config check", "+", opts, &co);
	if (c)
		return c;
	bool json = co.json, quiet = co.quiet;
	const char *bindir = getenv("XENPROV_XEN_BINDIR");
	struct xp_lint_opts lo = {.host = host,
				  .xen_bindir = bindir && *bindir ? bindir : NULL,
				  .path = getenv("PATH")};
	if (optind >= argc)
		return cli_usage_error("config check", "no FILE given");

	struct xp_lint_set *set;
	if (xp_lint_set_new(&set) < 0)
		return cli_error("out of memory");
	json_t *out = json ? json_array() : NULL;
	int rc = XP_EXIT_OK;
	size_t total_err = 0, total_warn = 0;
	for (int i = optind; i < argc; i++) {
		struct xp_diags d;
		xp_diags_init(&d);
		d.limit = 1000;
		struct xp_cfg *cfg = NULL;
		int r = xp_cfg_load(argv[i], &d, &cfg);
		if (!cfg) {
			if (r == -ENOMEM) {
				xp_diags_release(&d);
				rc = cli_error("out of memory");
				break;
			}
			if (r == -EFBIG)
				xp_diags_add(&d, XP_SEV_ERROR, argv[i], 0, 0, "too-big", NULL, NULL,
					     "larger than %u bytes; not an xl config",
					     XP_CFG_MAX_SIZE);
			else
				xp_diags_add(&d, XP_SEV_ERROR, argv[i], 0, 0, "read", NULL, NULL,
					     "cannot read: %s", strerror(-r));
		} else if (xp_cfg_lint(cfg, &lo, set, &d) < 0) {
			xp_cfg_free(cfg);
			xp_diags_release(&d);
			rc = cli_error("out of memory");
			break;
		}
		size_t ne = xp_diags_count(&d, XP_SEV_ERROR);
		size_t nw = xp_diags_count(&d, XP_SEV_WARNING);
		total_err += ne;
		total_warn += nw;
		if (ne)
			rc = XP_EXIT_FAIL;
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "file", json_string(argv[i]));
			json_object_set_new(o, "ok", json_boolean(ne == 0));
			json_object_set_new(o, "errors", json_integer((json_int_t)ne));
			json_object_set_new(o, "warnings", json_integer((json_int_t)nw));
			json_object_set_new(o, "diagnostics", cli_diags_json(&d));
			json_object_set_new(o, "omitted", json_integer((json_int_t)d.dropped));
			json_array_append_new(out, o);
		} else {
			if (quiet) {
				/* errors only */
				for (size_t k = 0; k < d.n; k++) {
					struct xp_diags one = {.v = &d.v[k], .n = 1};
					if (d.v[k].severity == XP_SEV_ERROR)
						cli_print_diags(stderr, &one);
				}
			} else {
				cli_print_diags(stderr, &d);
			}
		}
		xp_cfg_free(cfg);
		xp_diags_release(&d);
	}
	xp_lint_set_free(set);
	if (json)
	{
		int pr = cli_print_json(out);
		return pr ? pr : rc;
	}
	if (!quiet && rc != XP_EXIT_FAIL && total_err == 0)
		fprintf(stderr, "%d file%s checked: %zu warning%s\n", argc - optind,
			argc - optind == 1 ? "" : "s", total_warn, total_warn == 1 ? "" : "s");
	else if (!quiet)
		fprintf(stderr, "%d file%s checked: %zu error%s, %zu warning%s\n", argc - optind,
			argc - optind == 1 ? "" : "s", total_err, total_err == 1 ? "" : "s",
			total_warn, total_warn == 1 ? "" : "s");
	return rc;
}

/* ---- get --------------------------------------------------------------------------- */

static const char get_usage[] =
	"Usage: xenprov config get [--json] FILE KEY\n"
	"\n"
	"Prints the effective value of KEY (after += and last-wins): a string as its\n"
	"text, a number as written, a list in config syntax. Exits 1 if KEY is not set.\n"
	"\n"
	"  --json     print the value as JSON\n"
	"  -h, --help this help\n"
	"\n"
	"Example: xenprov config get /etc/xen/web01.cfg memory\n";

static int run_get(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON};
	int r = cli_parse_flags(argc, argv, "config get", "+", NULL, &co);
	if (r)
		return r;
	if (argc - optind != 2)
		return cli_usage_error("config get", "expected FILE and KEY");
	const char *path = argv[optind], *key = argv[optind + 1];
	struct xp_cfg *cfg;
	if ((r = load_clean(path, &cfg, NULL)))
		return r;
	const struct xp_cfg_value *v = xp_cfg_lookup(cfg, key);
	if (!v) {
		xp_cfg_free(cfg);
		return cli_error("'%s' is not set in '%s'", key, path);
	}
	if (co.json) {
		r = cli_print_json(value_json(v));
	} else if (xp_cfg_value_type(v) == XP_CFG_LIST) {
		struct xp_buf b = XP_BUF_INIT;
		xp_cfg_write_value(&b, v);
		puts(xp_buf_str(&b));
		xp_buf_release(&b);
	} else {
		puts(xp_cfg_value_str(v));
	}
	xp_cfg_free(cfg);
	return r;
}

/* ---- set / unset ------------------------------------------------------------------- */

static const char set_usage[] =
	"Usage: xenprov config set [--dry-run] [--string] FILE KEY=VALUE...\n"
	"\n"
	"Sets settings in FILE, changing only the bytes of the statements concerned:\n"
	"the last statement assigning KEY is rewritten in place (its comment kept), or\n"
	"'KEY = VALUE' is appended. The file is replaced atomically.\n"
	"VALUE is read as config syntax when it is one (512, 0x10, \"text\", ['a', 'b']);\n"
	"anything else is taken as a string and quoted for you.\n"
	"\n"
	"  -n, --dry-run  print the change as a unified diff; write nothing\n"
	"  -s, --string   always take VALUE as a string (e.g. a name of digits)\n"
	"  -h, --help     this help\n"
	"\n"
	"Examples:\n"
	"  xenprov config set web01.cfg memory=1024 vcpus=2\n"
	"  xenprov config set web01.cfg name=web01 \"disk=['phy:/dev/vg0/web01,xvda,w']\"\n";

static const char unset_usage[] =
	"Usage: xenprov config unset [--dry-run] FILE KEY...\n"
	"\n"
	"Removes every statement assigning each KEY (with its line when it stands\n"
	"alone). Exits 1, writing nothing, if a KEY is not set.\n"
	"\n"
	"  -n, --dry-run  print the change as a unified diff; write nothing\n"
	"  -h, --help     this help\n";

/* set, and unset (argv[0]) */
static int run_edit(int argc, char **argv)
{
	bool unset = strcmp(argv[0], "unset") == 0;
	static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
					     {"string", no_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	const char *verb = unset ? "config unset" : "config set";
	bool dry = false, as_string = false;
	int c;
	while ((c = getopt_long(argc, argv, unset ? "+n" : "+ns", opts, NULL)) != -1) {
		if (c == 'n')
			dry = true;
		else if (c == 's' && !unset)
			as_string = true;
		else
			return cli_bad_option(verb, argv);
	}
	if (argc - optind < 2)
		return cli_usage_error(verb, unset ? "expected FILE and KEY..."
						   : "expected FILE and KEY=VALUE...");
	const char *path = argv[optind];
	for (int i = optind + 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		char name[256];
		size_t nl = unset ? strlen(argv[i]) : (eq ? (size_t)(eq - argv[i]) : 0);
		if ((!unset && !eq) || nl == 0 || nl >= sizeof(name))
			return cli_usage_error(verb, "expected KEY=VALUE, got '%s'", argv[i]);
		memcpy(name, argv[i], nl);
		name[nl] = 0;
		if (!xp_cfg_name_valid(name))
			return cli_usage_error(verb,
					       "'%s' is not a valid setting name "
					       "(lowercase letters, digits, '.', '_')",
					       name);
	}

	int lock = -1;
	if (!dry && strcmp(path, "-") != 0) {
		lock = xp_lock_dir_of(path, true);
		if (lock < 0)
			return cli_error("cannot lock the directory of '%s': %s", path,
					 strerror(-lock));
	}
	struct xp_cfg *cfg;
	struct xp_diags before;
	int r = load_clean(path, &cfg, &before);
	if (r) {
		xp_unlock(lock);
		return r;
	}
	size_t olen;
	const char *otext = xp_cfg_text(cfg, &olen);
	char *orig = strndup(otext, olen);
	if (!orig) {
		xp_diags_release(&before);
		xp_cfg_free(cfg);
		xp_unlock(lock);
		return cli_error("out of memory");
	}
	int rc = XP_EXIT_OK;
	for (int i = optind + 1; i < argc && rc == XP_EXIT_OK; i++) {
		if (unset) {
			r = xp_cfg_unset(cfg, argv[i]);
			if (r == -ENOENT)
				rc = cli_error("'%s' is not set in '%s'", argv[i], path);
			else if (r < 0)
				rc = cli_error("cannot unset '%s': %s", argv[i], strerror(-r));
			continue;
		}
		char *eq = strchr(argv[i], '=');
		*eq = 0;
		const char *value = eq + 1;
		char *canon = NULL;
		struct xp_buf q = XP_BUF_INIT;
		if (!as_string && xp_cfg_parse_value(value, &canon) < 0 &&
		    (value[0] == '[' || value[0] == '"' || value[0] == '\'')) {
			/* meant as config syntax, but broken: do not guess */
			rc = cli_error("'%s' is not a valid value for '%s' (a quoted string, a "
				       "number or a [list]); use --string to store it as text",
				       value, argv[i]);
		} else if (as_string || !canon) {
			if (xp_cfg_quote(&q, value, strlen(value)) < 0)
				rc = cli_error("cannot quote the value of '%s'", argv[i]);
			value = xp_buf_str(&q);
		} else {
			value = canon;
		}
		if (rc == XP_EXIT_OK && (r = xp_cfg_set(cfg, argv[i], value)) < 0)
			rc = cli_error("cannot set '%s': %s", argv[i], strerror(-r));
		free(canon);
		xp_buf_release(&q);
		*eq = '=';
	}
	/* the values are checked as `check` checks them: an edit never writes a file that
	 * check (and xl) would reject */
	if (rc == XP_EXIT_OK)
		rc = check_edit(path, cfg, &before, unset ? NULL : argv + optind + 1,
				unset ? 0 : argc - optind - 1, dry);
	xp_diags_release(&before);
	if (rc == XP_EXIT_OK) {
		size_t nlen;
		const char *ntext = xp_cfg_text(cfg, &nlen);
		if (dry)
			print_diff(path, orig, olen, ntext, nlen);
		else if (nlen != olen || memcmp(orig, ntext, olen) != 0) {
			if (strcmp(path, "-") == 0)
				fwrite(ntext, 1, nlen, stdout);
			else
				rc = write_back(path, cfg);
		} else if (strcmp(path, "-") == 0) {
			fwrite(ntext, 1, nlen, stdout);
		}
	}
	free(orig);
	xp_cfg_free(cfg);
	xp_unlock(lock);
	return rc;
}

/* ---- fmt --------------------------------------------------------------------------- */

static const char fmt_usage[] =
	"Usage: xenprov config fmt [--check] [--fix] [--diff] [--stdout] FILE...\n"
	"\n"
	"Rewrites each FILE in the one canonical layout: one 'name = value' per line,\n"
	"comments kept, blank lines collapsed, strings re-quoted, short lists on one\n"
	"line and long ones one item per line. Settings and their values never change.\n"
	"FILE '-' reads standard input and writes standard output.\n"
	"\n"
	"  --check     write nothing; list the files that are not formatted, exit 1 if any\n"
	"  --diff      write nothing; print what would change as a unified diff\n"
	"  --stdout    print the result instead of rewriting FILE\n"
	"  --fix       also repair what xl rejects but is safe to repair: Windows (CR LF)\n"
	"              line endings and a missing newline at the end of the file\n"
	"  -h, --help  this help\n";

static int run_fmt(int argc, char **argv)
{
	static const struct option opts[] = {{"check", no_argument, NULL, 'c'},
					     {"fix", no_argument, NULL, 'f'},
					     {"diff", no_argument, NULL, 'd'},
					     {"stdout", no_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	bool check = false, diff = false, to_stdout = false;
	unsigned flags = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			check = true;
			break;
		case 'f':
			flags |= XP_CFG_FMT_FIX;
			break;
		case 'd':
			diff = true;
			break;
		case 'o':
			to_stdout = true;
			break;
		default:
			return cli_bad_option("config fmt", argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("config fmt", "no FILE given");
	int rc = XP_EXIT_OK;
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		bool is_stdin = strcmp(path, "-") == 0;
		struct xp_diags d;
		xp_diags_init(&d);
		d.limit = 20;
		int lock = -1;
		if (!check && !diff && !to_stdout && !is_stdin) {
			lock = xp_lock_dir_of(path, true);
			if (lock < 0) {
				rc = cli_error("cannot lock the directory of '%s': %s", path,
					       strerror(-lock));
				continue;
			}
		}
		struct xp_cfg *cfg = NULL;
		if (load(path, &d, &cfg) != 0) {
			rc = XP_EXIT_FAIL;
			xp_diags_release(&d);
			xp_unlock(lock);
			continue;
		}
		struct xp_buf out = XP_BUF_INIT;
		int r = xp_cfg_format(cfg, flags, &out);
		if (r == -EBADMSG) {
			cli_print_diags(stderr, &d);
			bool fixable = true;
			for (size_t k = 0; k < d.n; k++)
				if (d.v[k].severity == XP_SEV_ERROR && d.v[k].code &&
				    strcmp(d.v[k].code, "crlf") && strcmp(d.v[k].code, "comment-at-eof"))
					fixable = false;
			if (fixable && !(flags & XP_CFG_FMT_FIX))
				rc = cli_error("'%s' has errors that --fix can repair", path);
			else
				rc = cli_error("'%s' has errors; fix them first", path);
		} else if (r < 0) {
			rc = cli_error("cannot format '%s': %s", path, strerror(-r));
		} else {
			size_t len;
			const char *text = xp_cfg_text(cfg, &len);
			bool same = len == out.len && memcmp(text, xp_buf_str(&out), len) == 0;
			if (check) {
				if (!same) {
					printf("%s\n", path);
					rc = XP_EXIT_FAIL;
				}
			} else if (diff) {
				print_diff(path, text, len, xp_buf_str(&out), out.len);
			} else if (to_stdout || is_stdin) {
				fwrite(xp_buf_str(&out), 1, out.len, stdout);
			} else if (!same) {
				r = xp_write_atomic(path, xp_buf_str(&out), out.len, 0644);
				if (r < 0)
					rc = cli_error("cannot write '%s': %s", path, strerror(-r));
			}
		}
		xp_buf_release(&out);
		xp_cfg_free(cfg);
		xp_diags_release(&d);
		xp_unlock(lock);
	}
	return rc;
}

/* ---- dump -------------------------------------------------------------------------- */

static const char dump_usage[] =
	"Usage: xenprov config dump [--json] FILE\n"
	"\n"
	"Prints the effective settings of FILE, as xl sees them after += and last-wins:\n"
	"one 'name = value' per line, or with --json one JSON object whose keys are the\n"
	"settings' names and whose values are strings, numbers and (nested) arrays.\n"
	"\n"
	"  --json      JSON output\n"
	"  -h, --help  this help\n";

static int run_dump(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON, .operand = "FILE"};
	int r = cli_parse_flags(argc, argv, "config dump", "+", NULL, &co);
	if (r)
		return r;
	struct xp_cfg *cfg;
	if ((r = load_clean(argv[optind], &cfg, NULL)))
		return r;
	if (co.json) {
		json_t *o = json_object();
		for (size_t i = 0; o && i < xp_cfg_count(cfg); i++)
			json_object_set_new(o, xp_cfg_name_at(cfg, i),
					    value_json(xp_cfg_value_at(cfg, i)));
		r = cli_print_json(o);
	} else {
		struct xp_buf b = XP_BUF_INIT;
		for (size_t i = 0; i < xp_cfg_count(cfg); i++) {
			xp_buf_addf(&b, "%s = ", xp_cfg_name_at(cfg, i));
			xp_cfg_write_value(&b, xp_cfg_value_at(cfg, i));
			xp_buf_addc(&b, '\n');
		}
		fputs(xp_buf_str(&b), stdout);
		xp_buf_release(&b);
	}
	xp_cfg_free(cfg);
	return r;
}

/* ---- table ------------------------------------------------------------------------- */

static const struct xp_verb check_verb = {"check", "lint configs: what xl rejects, what looks wrong",
					  check_usage, run_check};
static const struct xp_verb get_verb = {"get", "print the effective value of a setting",
					get_usage, run_get};
static const struct xp_verb set_verb = {"set", "change settings in place, atomically",
					set_usage, run_edit};
static const struct xp_verb unset_verb = {"unset", "remove settings", unset_usage, run_edit};
static const struct xp_verb fmt_verb = {"fmt", "rewrite configs in the canonical layout",
					fmt_usage, run_fmt};
static const struct xp_verb dump_verb = {"dump", "print all effective settings (--json)",
					 dump_usage, run_dump};

static const struct xp_verb *const config_verbs[] = {
	&check_verb, &get_verb,		&set_verb,	  &unset_verb, &fmt_verb,
	&dump_verb,  &config_disk_verb, &config_vif_verb, NULL,
};

const struct xp_command cmd_config = {
	.name = "config",
	.summary = "read, lint, edit and print xl domain configs",
	.usage = "Usage: xenprov config VERB [OPTIONS] ARGS...\n"
		 "\n"
		 "Reads and writes Xen domain configs (xl.cfg(5)) exactly as Xen's own parser\n"
		 "reads them, keeping comments and layout when editing.\n",
	.verbs = config_verbs,
};
