/*
 * cmd-report.c - `xenprov report`: how many distros, profiles, systems, domains and
 * leases there are; a table of one kind; or one record with every value that applies
 * to it and where it came from (Cobbler's `cobbler report` and `dumpvars`). Thin:
 * the inventory snapshot (inventory-snapshot.h) for counts and tables, xp_report_explain
 * (report.h) for one record; this file prints.
 *
 * Not here: what is wrong with the inventory (`xenprov check`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli-inventory.h"
#include "xenprov/inventory-snapshot.h"
#include "xenprov/report.h"

static const char report_usage[] =
    "Usage: xenprov report [distros|profiles|systems|domains|leases] [--name NAME]\n"
    "                      [--json] [--secrets] [--state-dir DIR]\n"
    "\n"
    "Without a kind: how many records of each kind the inventory holds. With a kind:\n"
    "a table of them. With --name: that record with every value that applies to it\n"
    "and where each came from (setting, default, distro, parent profile, profile,\n"
    "system, domain, recorded, lease, derived), and the values it overrides beside\n"
    "it: Cobbler's dumpvars. A lease's NAME is its address.\n"
    "\n"
    "  --name NAME  one record of the kind (required kind)\n"
    "  --json       the same as JSON (counts: an object; a table: an array of\n"
    "               objects; one record: its values, each with source and from)\n" CLI_SECRETS_HELP
	CLI_STATE_DIR_HELP "  -h, --help   this help\n"
    "\n"
    "Example:\n"
    "  xenprov report\n"
    "  xenprov report systems\n"
    "  xenprov report systems --name rack1-07\n";

/* The kind as report.h names it ("system"), from "systems" or "system". */
static const char *kind_of(const char *arg)
{
	static const char *const kinds[] = {"distro", "profile", "system", "domain", "lease"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i]);
		if (strncmp(arg, kinds[i], n) == 0 && (!arg[n] || (arg[n] == 's' && !arg[n + 1])))
			return kinds[i];
	}
	return NULL;
}

/* ---- one record ---------------------------------------------------------------------- */

/* "profile 'web'", "setting" */
static void origin_text(const struct xp_origin *o, struct xp_buf *b)
{
	xp_buf_adds(b, o->source);
	if (o->from)
		xp_buf_addf(b, " '%s'", o->from);
}

static const char *shown(const struct xp_report_value *v, const struct xp_origin *o, bool secrets)
{
	return v->secret && !secrets ? CLI_SECRET_TEXT : o->value;
}

static json_t *origin_json(const struct xp_report_value *v, const struct xp_origin *o, bool secrets)
{
	json_t *j = json_object();
	if (v->secret && !secrets)
		json_object_set_new(j, "withheld", json_true());
	else
		json_object_set_new(j, "value", xp_json_text(o->value));
	json_object_set_new(j, "source", json_string(o->source));
	json_object_set_new(j, "from", xp_json_text(o->from));
	return j;
}

static int print_record(const char *kind, const char *name, const struct xp_report *r, bool json,
			bool secrets)
{
	if (json) {
		json_t *o = json_object(), *a = json_array();
		json_object_set_new(o, "kind", json_string(kind));
		json_object_set_new(o, "name", xp_json_text(name));
		for (size_t i = 0; i < r->n; i++) {
			const struct xp_report_value *v = &r->v[i];
			json_t *e = origin_json(v, &v->now, secrets);
			json_object_set_new(e, "key", xp_json_text(v->key));
			json_t *over = json_array();
			for (size_t k = 0; k < v->nshadowed; k++)
				json_array_append_new(over,
						      origin_json(v, &v->shadowed[k], secrets));
			json_object_set_new(e, "overrides", over);
			json_array_append_new(a, e);
		}
		json_object_set_new(o, "values", a);
		return cli_print_json(o);
	}
	size_t rows = r->n + 1;
	const char **cells = calloc(rows * 4, sizeof(*cells));
	struct xp_buf *bufs = calloc(rows * 2, sizeof(*bufs));
	if (!cells || !bufs) {
		free(cells);
		free(bufs);
		return cli_error("out of memory");
	}
	cells[0] = "KEY";
	cells[1] = "VALUE";
	cells[2] = "FROM";
	cells[3] = "OVERRIDES";
	for (size_t i = 0; i < r->n; i++) {
		const struct xp_report_value *v = &r->v[i];
		struct xp_buf *from = &bufs[2 * i], *over = &bufs[2 * i + 1];
		origin_text(&v->now, from);
		for (size_t k = 0; k < v->nshadowed; k++) {
			xp_buf_addf(over, "%s%s (", k ? "; " : "",
				    shown(v, &v->shadowed[k], secrets));
			origin_text(&v->shadowed[k], over);
			xp_buf_addc(over, ')');
		}
		const char **row = &cells[(i + 1) * 4];
		row[0] = v->key;
		row[1] = shown(v, &v->now, secrets);
		row[2] = xp_buf_str(from);
		row[3] = over->len ? xp_buf_str(over) : "";
	}
	cli_print_table(cells, 4, rows);
	for (size_t i = 0; i < rows * 2; i++)
		xp_buf_release(&bufs[i]);
	free(bufs);
	free(cells);
	return cli_flush();
}

static int explain(struct xp_inv *inv, const char *kind, const char *name, bool json, bool secrets)
{
	struct xp_report r;
	int e = xp_report_explain(inv, kind, name, &r);
	if (e == -ENOENT)
		return cli_error("no %s '%s'", kind, name);
	if (e < 0)
		return cli_inv_error(inv, "report", name, e);
	int rc = print_record(kind, name, &r, json, secrets);
	xp_report_release(&r);
	return rc;
}

/* ---- counts and tables ------------------------------------------------------------------ */

/* Whether a distro's files are in the store (it can be served). */
static bool in_store(const struct xp_distro *d)
{
	return d->kernel_sha256 != NULL;
}

/* The systems that boot each distro and belong to each profile. */
struct uses {
	size_t *distro_systems, *profile_systems, *profile_domains;
};

static int uses_count(const struct xp_inv_snapshot *s, struct uses *u)
{
	u->distro_systems = calloc(s->ndistros + 1, sizeof(size_t));
	u->profile_systems = calloc(s->nprofiles + 1, sizeof(size_t));
	u->profile_domains = calloc(s->nprofiles + 1, sizeof(size_t));
	if (!u->distro_systems || !u->profile_systems || !u->profile_domains)
		return -ENOMEM;
	for (size_t i = 0; i < s->nsystems; i++) {
		const struct xp_system *sys = &s->systems[i];
		const struct xp_snap_profile *p = xp_snap_profile_find(s, sys->profile);
		if (p)
			u->profile_systems[p - s->profiles]++;
		const char *distro = sys->distro;
		if (!distro && sys->profile)
			distro = xp_snap_profile_value(s, sys->profile, "distro", NULL);
		const struct xp_distro *d = xp_snap_distro_find(s, distro);
		if (d)
			u->distro_systems[d - s->distros]++;
	}
	for (size_t i = 0; i < s->ndomains; i++) {
		const struct xp_snap_profile *p = xp_snap_profile_find(s, s->domains[i].profile);
		if (p)
			u->profile_domains[p - s->profiles]++;
	}
	return 0;
}

static void uses_release(struct uses *u)
{
	free(u->distro_systems);
	free(u->profile_systems);
	free(u->profile_domains);
}

static bool lease_active(const struct xp_dhcp_lease *l, int64_t now)
{
	return l->state == XP_LEASE_BOUND && l->expires > now;
}

static const char *lease_state(const struct xp_dhcp_lease *l)
{
	return l->state == XP_LEASE_RELEASED   ? "released"
	       : l->state == XP_LEASE_DECLINED ? "declined"
	       : l->state == XP_LEASE_OFFERED  ? "offered"
					       : "bound";
}

static int counts(const struct xp_inv_snapshot *s, bool json)
{
	size_t served = 0, netboot = 0, ready = 0, active = 0;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < s->ndistros; i++)
		served += in_store(&s->distros[i]);
	for (size_t i = 0; i < s->nsystems; i++)
		netboot += s->systems[i].netboot;
	for (size_t i = 0; i < s->ndomains; i++)
		ready += strcmp(s->domains[i].state, "ready") == 0;
	for (size_t i = 0; i < s->nleases; i++)
		active += lease_active(&s->leases[i], now);
	const struct {
		const char *kind;
		size_t total;
		const char *part;
		size_t n;
	} c[] = {
	    {"distros", s->ndistros, "served", served},	  {"profiles", s->nprofiles, NULL, 0},
	    {"systems", s->nsystems, "netboot", netboot}, {"domains", s->ndomains, "ready", ready},
	    {"leases", s->nleases, "active", active},
	};
	size_t nc = sizeof(c) / sizeof(c[0]);
	if (json) {
		json_t *o = json_object();
		for (size_t i = 0; i < nc; i++) {
			json_t *e = json_object();
			json_object_set_new(e, "total", json_integer((json_int_t)c[i].total));
			if (c[i].part)
				json_object_set_new(e, c[i].part, json_integer((json_int_t)c[i].n));
			json_object_set_new(o, c[i].kind, e);
		}
		return cli_print_json(o);
	}
	for (size_t i = 0; i < nc; i++) {
		printf("%-9s %zu", c[i].kind, c[i].total);
		if (c[i].part)
			printf(" (%zu %s)", c[i].n, c[i].part);
		printf("\n");
	}
	return cli_flush();
}

/* A table: ncols headers, then each row's cells (NULL: "-"); or, as JSON, an array of
 * objects keyed by the lower-cased headers (NULL: null). cells has (rows + 1) * ncols
 * entries, the first row the headers. */
static int table(const char *const *cells, size_t ncols, size_t rows, bool json)
{
	if (!json) {
		cli_print_table(cells, ncols, rows + 1);
		return cli_flush();
	}
	json_t *a = json_array();
	for (size_t r = 1; r <= rows; r++) {
		json_t *o = json_object();
		for (size_t c = 0; c < ncols; c++) {
			char key[32];
			size_t k = 0;
			for (const char *h = cells[c]; *h && k < sizeof(key) - 1; h++)
				key[k++] = (char)(*h >= 'A' && *h <= 'Z' ? *h - 'A' + 'a' : *h);
			key[k] = 0;
			json_object_set_new(o, key, xp_json_text(cells[r * ncols + c]));
		}
		json_array_append_new(a, o);
	}
	return cli_print_json(a);
}

/* The table of a kind from the snapshot. */
static int kind_table(const struct xp_inv_snapshot *s, const char *kind, bool json)
{
	struct uses u = {0};
	size_t rows = 0, ncols = 0;
	if (uses_count(s, &u) < 0) {
		uses_release(&u);
		return cli_error("out of memory");
	}
	if (!strcmp(kind, "distro"))
		rows = s->ndistros, ncols = 5;
	else if (!strcmp(kind, "profile"))
		rows = s->nprofiles, ncols = 6;
	else if (!strcmp(kind, "system"))
		rows = s->nsystems, ncols = 6;
	else if (!strcmp(kind, "domain"))
		rows = s->ndomains, ncols = 5;
	else
		rows = s->nleases, ncols = 5;
	const char **cells = calloc((rows + 1) * ncols, sizeof(*cells));
	char(*nums)[2][24] = calloc(rows + 1, sizeof(*nums));
	if (!cells || !nums) {
		free(cells);
		free(nums);
		uses_release(&u);
		return cli_error("out of memory");
	}
	static const char *const heads[][6] = {
	    {"NAME", "ARCH", "SERVED", "KERNEL", "SYSTEMS"},
	    {"NAME", "PARENT", "DISTRO", "IMAGE", "SYSTEMS", "DOMAINS"},
	    {"NAME", "MAC", "IP", "PROFILE", "DISTRO", "NETBOOT"},
	    {"NAME", "PROFILE", "STATE", "MAC", "IP"},
	    {"IP", "MAC", "HOSTNAME", "STATE", "EXPIRES"},
	};
	size_t h = !strcmp(kind, "distro")    ? 0
		   : !strcmp(kind, "profile") ? 1
		   : !strcmp(kind, "system")  ? 2
		   : !strcmp(kind, "domain")  ? 3
					      : 4;
	for (size_t c = 0; c < ncols; c++)
		cells[c] = heads[h][c];
	for (size_t i = 0; i < rows; i++) {
		const char **row = &cells[(i + 1) * ncols];
		if (h == 0) {
			const struct xp_distro *d = &s->distros[i];
			snprintf(nums[i][0], 24, "%zu", u.distro_systems[i]);
			const char *r[] = {d->name, d->arch, in_store(d) ? "yes" : "no", d->kernel,
					   nums[i][0]};
			memcpy(row, r, sizeof(r));
		} else if (h == 1) {
			const struct xp_snap_profile *p = &s->profiles[i];
			snprintf(nums[i][0], 24, "%zu", u.profile_systems[i]);
			snprintf(nums[i][1], 24, "%zu", u.profile_domains[i]);
			const char *r[] = {p->name,
					   p->parent,
					   xp_snap_profile_value(s, p->name, "distro", NULL),
					   xp_snap_profile_value(s, p->name, "image", NULL),
					   nums[i][0],
					   nums[i][1]};
			memcpy(row, r, sizeof(r));
		} else if (h == 2) {
			const struct xp_system *y = &s->systems[i];
			const char *distro = y->distro;
			if (!distro && y->profile)
				distro = xp_snap_profile_value(s, y->profile, "distro", NULL);
			const char *r[] = {y->name,    y->mac, y->ip,
					   y->profile, distro, y->netboot ? "on" : "off"};
			memcpy(row, r, sizeof(r));
		} else if (h == 3) {
			const struct xp_snap_domain *d = &s->domains[i];
			const char *r[] = {d->name, d->profile, d->state, d->mac, d->ip};
			memcpy(row, r, sizeof(r));
		} else {
			const struct xp_dhcp_lease *l = &s->leases[i];
			uint32_t a = l->ip;
			snprintf(nums[i][0], 24, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
				 (a >> 8) & 255, a & 255);
			snprintf(nums[i][1], 24, "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0],
				 l->mac[1], l->mac[2], l->mac[3], l->mac[4], l->mac[5]);
			row[0] = nums[i][0];
			row[1] = nums[i][1];
			row[2] = l->hostname[0] ? l->hostname : NULL;
			row[3] = lease_state(l);
		}
	}
	/* leases' expiry times: an array of their own, as the cells only borrow */
	char(*times)[32] = h == 4 ? calloc(rows + 1, sizeof(*times)) : NULL;
	int rc = 0;
	if (h == 4 && !times) {
		rc = cli_error("out of memory");
	} else {
		for (size_t i = 0; h == 4 && i < rows; i++) {
			cli_fmt_time(s->leases[i].expires, times[i]);
			cells[(i + 1) * ncols + 4] = times[i];
		}
		rc = table(cells, ncols, rows, json);
	}
	free(times);
	free(cells);
	free(nums);
	uses_release(&u);
	return rc;
}

static int run_report(int argc, char **argv)
{
	const char *name = NULL;
	enum { O_NAME = 1 };
	const struct option opts[] = {{"name", required_argument, NULL, O_NAME},
				      {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON | CLI_SECRETS | CLI_STATE_DIR};
	int o;
	while ((o = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		if (o == O_NAME)
			name = optarg;
		else if (o != 0)
			return cli_bad_option("report", argv);
	}
	const char *kind = NULL;
	if (optind < argc) {
		if (!(kind = kind_of(argv[optind])))
			return cli_usage_error("report",
					       "'%s' is not a kind of record (distros, "
					       "profiles, systems, domains, leases)",
					       argv[optind]);
		optind++;
	}
	if (optind < argc)
		return cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
	if (name && !kind)
		return cli_usage_error("report",
				       "--name needs a kind: xenprov report systems "
				       "--name %s",
				       name);
	struct xp_inv *inv;
	int rc = cli_inv_open(co.state_dir, &inv);
	if (rc)
		return rc;
	if (name) {
		rc = explain(inv, kind, name, co.json, co.secrets);
	} else {
		struct xp_inv_snapshot s;
		int e = xp_snapshot_read(inv, &s);
		if (e < 0) {
			rc = cli_inv_error(inv, "read", "inventory", e);
		} else {
			rc = kind ? kind_table(&s, kind, co.json) : counts(&s, co.json);
			xp_snapshot_release(&s);
		}
	}
	xp_inv_close(inv);
	return rc;
}

const struct xp_command cmd_report = {
    .name = "report",
    .summary = "counts, tables, and one record's values with where each came from",
    .usage = report_usage,
    .run = run_report,
};
