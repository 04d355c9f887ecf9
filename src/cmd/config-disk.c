/*
 * config-disk.c - `xenprov config disk`: shows what xl makes of a `disk=` spec, as the
 * JSON `xl -N block-attach` prints (libxl_device_disk_to_json), or as a canonical spec.
 *
 * Not here: the parsing itself (src/lib/xl/disk-spec.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "xenprov/xl-disk.h"

static const char usage[] =
    "Usage: xenprov config disk [--json | --canonical] SPEC...\n"
    "\n"
    "Parses a Xen disk specification exactly as xl does (xl-disk-configuration(5))\n"
    "and prints the disk libxl would get. Several SPEC arguments are the parts of ONE\n"
    "disk, as with 'xl block-attach DOMAIN SPEC...'.\n"
    "\n"
    "Options:\n"
    "  --json        print the disk as the JSON object 'xl -N block-attach' prints:\n"
    "                libxl's field names and values, defaults left out (the default)\n"
    "  --canonical   print the disk as a canonical key=value spec instead\n"
    "  -h, --help    show this help\n"
    "  --            end of options (for a SPEC starting with '-')\n"
    "\n"
    "Exit status: 0 the spec is valid, 1 it is not (the reason is printed on stderr),\n"
    "2 usage error.\n"
    "\n"
    "Examples:\n"
    "  xenprov config disk 'phy:/dev/vg0/web1-disk,xvda,w'\n"
    "  {\"pdev_path\":\"/dev/vg0/web1-disk\",\"vdev\":\"xvda\",\"format\":\"raw\","
    "\"readwrite\":1}\n"
    "  xenprov config disk --canonical '/srv/web1.qcow2,qcow2,xvda,w'\n"
    "  format=qcow2,vdev=xvda,access=rw,target=/srv/web1.qcow2\n";

/* Writes s with control bytes escaped, so a message stays on one line. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* The spec a diagnostic is about: its own, or all of them for whole-disk problems. */
static void put_subject(FILE *f, const struct xp_diag *g, char **specs, size_t nspecs)
{
	if (g->line >= 1 && g->line <= nspecs) {
		put_escaped(f, specs[g->line - 1]);
		return;
	}
	for (size_t i = 0; i < nspecs; i++) {
		if (i)
			fputc(' ', f);
		put_escaped(f, specs[i]);
	}
}

static void print_diags(const struct xp_diags *d, char **specs, size_t nspecs)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct xp_diag *g = &d->v[i];
		bool err = g->severity == XP_SEV_ERROR;
		fputs(err ? "xenprov: invalid disk spec '" : "xenprov: warning: disk spec '",
		      stderr);
		put_subject(stderr, g, specs, nspecs);
		fprintf(stderr, "': %s", g->msg);
		if (g->text) {
			fputs(" '", stderr);
			put_escaped(stderr, g->text);
			fputc('\'', stderr);
		}
		if (g->col)
			fprintf(stderr, " (column %u)", g->col);
		fputc('\n', stderr);
		if (g->hint)
			fprintf(stderr, "xenprov: hint: %s\n", g->hint);
	}
	if (d->dropped)
		fprintf(stderr, "xenprov: (%zu more messages not shown)\n", d->dropped);
}

static json_t *disk_json(const struct xp_disk *disk)
{
	struct xp_disk_field f[XP_DISK_FIELDS_MAX];
	int n = xp_disk_fields(disk, f, XP_DISK_FIELDS_MAX);
	json_t *o = json_object();
	if (n < 0 || !o) {
		json_decref(o);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		json_t *v = f[i].kind == XP_DISK_FIELD_STRING	 ? json_string(f[i].str)
			    : f[i].kind == XP_DISK_FIELD_INTEGER ? json_integer(f[i].num)
								 : json_boolean(f[i].num);
		/* A spec is not necessarily UTF-8; say so rather than drop the field. */
		if (!v && f[i].kind == XP_DISK_FIELD_STRING)
			v = json_stringn_nocheck(f[i].str, strlen(f[i].str));
		if (!v || json_object_set_new(o, f[i].name, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int run(int argc, char **argv)
{
	bool canonical = false;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--json") == 0)
			canonical = false;
		else if (strcmp(a, "--canonical") == 0)
			canonical = true;
		else if (a[0] == '-' && a[1] != '\0')
			return cli_usage_error("config disk", "unknown option '%s'", a);
		else
			break;
	}
	if (i >= argc)
		return cli_usage_error("config disk", "no disk spec given");

	char **specs = argv + i;
	size_t nspecs = (size_t)(argc - i);
	struct xp_disk disk = {0};
	struct xp_diags diags;
	xp_diags_init(&diags);

	int r = xp_disk_parse((const char *const *)specs, nspecs, &disk, &diags);
	print_diags(&diags, specs, nspecs);
	xp_diags_release(&diags);
	if (r == -ENOMEM)
		return cli_error("out of memory");
	if (r < 0)
		return XP_EXIT_FAIL;

	int ret;
	if (canonical) {
		struct xp_buf b = XP_BUF_INIT;
		r = xp_disk_format(&disk, &b);
		if (r < 0) {
			ret = cli_error("cannot write disk as a spec: %s", strerror(-r));
		} else {
			puts(xp_buf_str(&b));
			ret = cli_flush();
		}
		xp_buf_release(&b);
	} else {
		ret = cli_print_json(disk_json(&disk));
	}
	xp_disk_release(&disk);
	return ret;
}

const struct xp_verb config_disk_verb = {
    .name = "disk",
    .summary = "show what xl makes of a disk spec",
    .usage = usage,
    .run = run,
};
