/*
 * xlu-check.c - a test tool, not a test: reads xl config files with Xen's own libxlutil
 * and prints, one line per file, what xl would see, as JSON:
 *   {"file":..., "name":..., "memory":N, "vcpus":N, "bootloader":..., "kernel":...,
 *    "type":..., "boot":..., "serial":..., "vnc":N,
 *    "disk":[{"target":..., "format":..., "vdev":..., "readwrite":N[, "backendtype":...]}],
 *    "vif":[...]}
 * (null for what the file does not set; backendtype only where the spec names one).
 * Exit 1 if libxlutil rejects a file or a disk spec. Used by the integration tests to
 * check every config xenprov writes against the real parser.
 */
#include <jansson.h>
#include <libxlutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *str_or_null(XLU_Config *c, const char *key)
{
	const char *v;
	return xlu_cfg_get_string(c, key, &v, 1) == 0 ? json_string(v) : json_null();
}

int main(int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		FILE *devnull = fopen("/dev/null", "w");
		XLU_Config *c = xlu_cfg_init(devnull, argv[i]);
		if (!c || xlu_cfg_readfile(c, argv[i]) != 0) {
			fprintf(stderr, "xlu-check: libxlutil rejects %s\n", argv[i]);
			rc = 1;
			if (c)
				xlu_cfg_destroy(c);
			fclose(devnull);
			continue;
		}
		json_t *o = json_object();
		json_object_set_new(o, "file", json_string(argv[i]));
		json_object_set_new(o, "name", str_or_null(c, "name"));
		long l;
		json_object_set_new(o, "memory",
				    xlu_cfg_get_long(c, "memory", &l, 1) == 0 ? json_integer(l) : json_null());
		json_object_set_new(o, "vcpus",
				    xlu_cfg_get_long(c, "vcpus", &l, 1) == 0 ? json_integer(l) : json_null());
		json_object_set_new(o, "bootloader", str_or_null(c, "bootloader"));
		json_object_set_new(o, "kernel", str_or_null(c, "kernel"));
		json_object_set_new(o, "type", str_or_null(c, "type"));
		json_object_set_new(o, "boot", str_or_null(c, "boot"));
		json_object_set_new(o, "serial", str_or_null(c, "serial"));
		json_object_set_new(o, "vnc",
				    xlu_cfg_get_long(c, "vnc", &l, 1) == 0 ? json_integer(l) : json_null());
		XLU_ConfigList *list;
		int n;
		json_t *disks = json_array();
		if (xlu_cfg_get_list(c, "disk", &list, &n, 1) == 0) {
			for (int k = 0; k < n; k++) {
				const char *spec = xlu_cfg_get_listitem(list, k);
				libxl_device_disk d;
				libxl_device_disk_init(&d);
				char *copy = strdup(spec ? spec : "");
				if (!spec || xlu_disk_parse(c, 1, (const char **)&copy, &d) != 0) {
					fprintf(stderr, "xlu-check: %s: bad disk '%s'\n", argv[i],
						spec ? spec : "(not a string)");
					rc = 1;
				} else {
					json_t *dj = json_object();
					json_object_set_new(dj, "target", json_string(d.pdev_path ? d.pdev_path : ""));
					json_object_set_new(dj, "format",
							    json_string(libxl_disk_format_to_string(d.format)));
					json_object_set_new(dj, "vdev", json_string(d.vdev ? d.vdev : ""));
					json_object_set_new(dj, "readwrite", json_integer(d.readwrite));
					if (d.backend != LIBXL_DISK_BACKEND_UNKNOWN)
						json_object_set_new(
						    dj, "backendtype",
						    json_string(libxl_disk_backend_to_string(d.backend)));
					json_array_append_new(disks, dj);
				}
				free(copy);
				libxl_device_disk_dispose(&d);
			}
		}
		json_object_set_new(o, "disk", disks);
		json_t *vifs = json_array();
		if (xlu_cfg_get_list(c, "vif", &list, &n, 1) == 0)
			for (int k = 0; k < n; k++) {
				const char *spec = xlu_cfg_get_listitem(list, k);
				json_array_append_new(vifs, json_string(spec ? spec : ""));
			}
		json_object_set_new(o, "vif", vifs);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
		xlu_cfg_destroy(c);
		fclose(devnull);
	}
	return rc;
}
