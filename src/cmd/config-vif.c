/*
 * config-vif.c - `xenprov config vif`: what xl makes of one vif= spec, shown with
 * libxl_device_nic's field names (the JSON form is what libxl_device_nic_to_json prints),
 * or the spec rewritten in canonical form. Thin: the work is in src/lib/xl/vif-spec.c.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "xenprov/xl-vif.h"

#define VIF_USAGE                                                                                  \
	"Usage: xenprov config vif [--json | --table | --canonical] [--] SPEC\n"                   \
	"\n"                                                                                       \
	"Reads SPEC, one item of an xl config's vif= list, the way xl does\n"                      \
	"(xl-network-configuration(5)) and prints the libxl_device_nic it describes as\n"          \
	"JSON, as libxl_device_nic_to_json does: libxl's names and values, defaults left out.\n"  \
	"Warnings (keys xl would ignore, odd forms xl accepts) go to standard error;\n"            \
	"a spec xl would reject is an error (exit 1).\n"                                           \
	"\n"                                                                                       \
	"Options:\n"                                                                               \
	"  --json        JSON output (the default)\n"                                              \
	"  --table       one 'field value' line per field that is set\n"                          \
	"  --canonical   print the spec rewritten in xenprov's canonical form\n"                   \
	"  -h, --help    show this help\n"                                                         \
	"\n"                                                                                       \
	"Keys: mac bridge type model vifname script ip gatewaydev backend rate devid\n"            \
	"      mtu vlan forwarddev colo_*  and the flags trusted, untrusted\n"                     \
	"\n"                                                                                       \
	"Example:\n"                                                                               \
	"  xenprov config vif --json 'mac=00:16:3e:12:34:56,bridge=xenbr0,rate=10Mb/s'\n"          \
	"\n"                                                                                       \
	"Exit status: 0 ok, 1 the spec is invalid, 2 usage error.\n"

static int print_fields(const char *json)
{
	json_error_t err;
	json_t *o = json_loads(json, 0, &err);
	if (!o)
		return cli_error("the spec's values are not valid UTF-8: %s", err.text);
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val)
	{
		if (json_is_string(val))
			printf("%-24s %s\n", key, json_string_value(val));
		else
			printf("%-24s %" JSON_INTEGER_FORMAT "\n", key, json_integer_value(val));
	}
	json_decref(o);
	return cli_flush();
}

static int run(int argc, char **argv)
{
	bool json = false, table = false, canonical = false;
	const char *spec = NULL;
	bool opts = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && strcmp(a, "--") == 0) {
			opts = false;
		} else if (opts && strcmp(a, "--json") == 0) {
			json = true;
		} else if (opts && strcmp(a, "--table") == 0) {
			table = true;
		} else if (opts && strcmp(a, "--canonical") == 0) {
			canonical = true;
		} else if (opts && a[0] == '-' && a[1] != '\0') {
			return cli_usage_error("config vif", "unknown option '%s'", a);
		} else if (spec) {
			return cli_usage_error("config vif", "one SPEC at a time ('%s' is extra)",
					       a);
		} else {
			spec = a;
		}
	}
	if (!spec)
		return cli_usage_error("config vif", "missing SPEC");
	if (json + table + canonical > 1)
		return cli_usage_error("config vif",
				       "--json, --table and --canonical exclude each other");

	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_vif v;
	int r = xp_vif_parse_at(spec, &v, &d, "spec", 1, 1);
	cli_print_diags(stderr, &d);
	xp_diags_release(&d);
	if (r == -EBADMSG || r == -E2BIG)
		return cli_error("invalid vif spec '%.200s'", spec);
	if (r < 0)
		return cli_error("cannot parse vif spec: %s", strerror(-r));

	struct xp_buf out = XP_BUF_INIT;
	r = canonical ? xp_vif_format(&v, &out) : xp_vif_to_json(&v, &out);
	xp_vif_release(&v);
	int rc;
	if (r < 0) {
		rc = cli_error("cannot write the spec: %s", strerror(-r));
	} else if (canonical) {
		printf("%s\n", xp_buf_str(&out));
		rc = cli_flush();
	} else if (!table) {
		json_error_t err;
		json_t *o = json_loads(xp_buf_str(&out), 0, &err);
		rc = o ? cli_print_json(o)
		       : cli_error("the spec's values are not valid UTF-8: %s", err.text);
	} else {
		rc = print_fields(xp_buf_str(&out));
	}
	xp_buf_release(&out);
	return rc;
}

const struct xp_verb config_vif_verb = {
    .name = "vif",
    .summary = "show what xl makes of a vif spec",
    .usage = VIF_USAGE,
    .run = run,
};
