/*
 * config-lint.c - checks of an xl config's meaning (`xenprov config check`): what xl
 * would refuse (errors) and what it accepts but is probably a mistake (warnings).
 * The key list is the set of settings xl's parse_config_data() reads (Xen 4.17-4.20).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xenprov/xl-lint.h"
#include "xl/config-internal.h"
#include "xl/lint-internal.h"

const char *const xp_cfg_known_keys[] = {
	"acpi", "acpi_firmware", "acpi_laptop_slate", "acpi_s3", "acpi_s4", "altp2m",
	"altp2m_count", "altp2mhvm", "apic", "arm_sci", "bios", "bios_path_override", "boot",
	"bootloader", "bootloader_args", "bootloader_restrict", "bootloader_user", "builder",
	"cap", "channel", "cmdline", "cpu_weight", "cpuid", "cpus", "cpus_soft", "device_model",
	"device_model_args", "device_model_args_hvm", "device_model_args_pv",
	"device_model_override", "device_model_stubdomain_override",
	"device_model_stubdomain_seclabel", "device_model_user", "device_model_version",
	"device_tree", "disk", "display", "dm_restrict", "driver_domain", "dtdev", "e820_host",
	"extra", "extratime", "firmware", "firmware_override", "gfx_passthru", "gic_version",
	"hap", "hdtype", "hpet", "hvm_pirq", "init_seclabel", "iomem", "ioports", "irqs",
	"kernel", "keymap", "latency", "llc_colors", "localtime", "max_event_channels",
	"max_grant_frames", "max_grant_version", "max_maptrack_frames", "maxmem", "maxvcpus",
	"mca_caps", "memory", "mmio_hole", "ms_vm_genid", "msr_relaxed", "name", "nestedhvm",
	"nographic", "nomigrate", "nr_spis", "nx", "on_crash", "on_poweroff", "on_reboot",
	"on_soft_reset", "on_watchdog", "oos", "opengl", "p9", "pae", "passthrough", "pci",
	"pci_msitranslate", "pci_permissive", "pci_power_mgmt", "pci_seize", "period", "pool",
	"pvcalls", "pvshim", "pvshim_cmdline", "pvshim_extra", "pvshim_path", "ramdisk", "rdm",
	"rdm_mem_boundary", "root", "rtc_timeoffset", "sdl", "seclabel", "serial",
	"shadow_memory", "slice", "smbios", "smbios_firmware", "soundhw", "spice",
	"spice_clipboard_sharing", "spice_image_compression", "spice_streaming_video",
	"spiceagent_mouse", "spicedisable_ticketing", "spicehost", "spicepasswd", "spiceport",
	"spicetls_port", "spiceusbredirection", "spicevdagent", "stdvga", "stubdomain_cmdline",
	"stubdomain_kernel", "stubdomain_memory", "stubdomain_ramdisk", "sve", "tee",
	"timer_mode", "trap_unmapped_accesses", "tsc_mode", "type", "usb", "usbctrl", "usbdev",
	"usbdevice", "usbversion", "uuid", "vcpus", "vdispl", "vendor_device", "vfb", "vga",
	"videoram", "vif", "viridian", "virtio", "vkb", "vkb_device", "vmtrace_buf_kb", "vnc",
	"vncdisplay", "vnclisten", "vncpasswd", "vncunused", "vncviewer", "vnuma", "vpmu",
	"vpt_align", "vsnd", "vtpm", "vuart", "xauthority", "xen_platform_pci",
	"xen_platform_pci_bar_uc", "xend_suspend_evtchn_compat", "xenstore_feature_mask",
	"xenstore_quota", NULL};

/* Settings of xm/xend (or of guest installers) that xl reads no more. */
static const char *const xm_keys[] = {"hostname", "ip", "netmask", "gateway", "dhcp",
				      "on_xend_start", "on_xend_stop", "vscsi", "cpu",
				      "bootargs", "nics", "interface", "netif", NULL};

/* Settings xl reads as lists (a single string is ignored with a warning by xl). */
static const char *const list_keys[] = {
	"channel", "device_model_args", "device_model_args_hvm", "device_model_args_pv",
	"disk", "dtdev", "iomem", "ioports", "irqs", "p9", "pci", "pvcalls", "usbctrl",
	"usbdev", "vdispl", "vfb", "vif", "virtio", "vkb", "vnuma", "vsnd", "vtpm", NULL};

/* Settings xl reads as numbers. */
static const char *const number_keys[] = {
	"acpi", "acpi_s3", "acpi_s4", "apic", "cap", "cpu_weight", "hap", "hpet",
	"max_event_channels", "max_grant_frames", "max_maptrack_frames", "maxmem", "maxvcpus",
	"memory", "nestedhvm", "nomigrate", "nx", "oos", "pae", "shadow_memory",
	"stubdomain_memory", "vcpus", "videoram", "vncunused", "vnc", "sdl", "localtime",
	"stdvga", "xen_platform_pci", "pci_permissive", "pci_msitranslate", "pci_seize",
	"pci_power_mgmt", "driver_domain", "rtc_timeoffset", NULL};

static const char *const action_keys[] = {"on_poweroff", "on_reboot", "on_watchdog",
					  "on_crash", "on_soft_reset", NULL};
static const char *const actions[] = {"destroy", "restart", "rename-restart", "preserve",
				      "coredump-destroy", "coredump-restart", "soft-reset",
				      NULL};

static int in(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

enum { NKNOWN = sizeof(xp_cfg_known_keys) / sizeof(xp_cfg_known_keys[0]) - 1 };

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* xp_cfg_known_keys is sorted (the unit tests check it): a binary search. */
static int is_known(const char *name)
{
	return bsearch(&name, xp_cfg_known_keys, NKNOWN, sizeof(xp_cfg_known_keys[0]), cmp_key) !=
	       NULL;
}

/* The closest known key within the edit distance, given the known keys' lengths. */
static const char *suggest(const char *name, const size_t *klen)
{
	const char *best = NULL;
	unsigned bestd = 3;
	size_t len = strlen(name);
	unsigned cap = len <= 4 ? 1 : 2;
	for (size_t k = 0; k < NKNOWN; k++) {
		/* the distance is at least the difference of the lengths */
		if ((klen[k] > len ? klen[k] - len : len - klen[k]) > cap)
			continue;
		unsigned d = xp_edit_distance(name, xp_cfg_known_keys[k], cap);
		if (d <= cap && d < bestd) {
			best = xp_cfg_known_keys[k];
			bestd = d;
		}
	}
	return best;
}

static void known_lengths(size_t *klen)
{
	for (size_t k = 0; k < NKNOWN; k++)
		klen[k] = strlen(xp_cfg_known_keys[k]);
}

const char *xp_cfg_suggest_key(const char *name)
{
	size_t klen[NKNOWN];
	known_lengths(klen);
	return suggest(name, klen);
}

int xp_lint_set_new(struct xp_lint_set **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void xp_lint_set_free(struct xp_lint_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		free(set->macs[i].file);
	free(set->macs);
	xp__nidx_release(&set->ix);
	free(set);
}

int xp__lint_diag(struct xp_diags *d, const struct xp_cfg *cfg, enum xp_severity sev,
		  unsigned line, unsigned col, const char *code, const char *text, const char *hint,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = xp_diags_addv(d, sev, xp_cfg_filename(cfg), line, col, code, text, hint, fmt, ap);
	va_end(ap);
	return r;
}

static int check_keys(const struct xp_cfg *cfg, struct xp_diags *d)
{
	int r = 0;
	size_t klen[NKNOWN];
	known_lengths(klen);
	for (size_t i = 0; i < cfg->nset && r == 0; i++) {
		const struct setting *s = &cfg->set[i];
		if (is_known(s->name)) {
			continue;
		} else if (in(xm_keys, s->name)) {
			r = xp__lint_diag(d, cfg, XP_SEV_WARNING, s->line, 1, "xm-key", NULL,
					  NULL, "'%s' is an xm/xend setting that xl ignores",
					  s->name);
		} else {
			const char *sug = suggest(s->name, klen);
			char hint[128];
			if (sug)
				snprintf(hint, sizeof(hint), "did you mean '%s'?", sug);
			r = xp__lint_diag(d, cfg, XP_SEV_WARNING, s->line, 1, "unknown-key",
					  NULL, sug ? hint : NULL,
					  "unknown setting '%s'; xl ignores it", s->name);
		}
	}
	return r;
}

static int check_duplicates(const struct xp_cfg *cfg, struct xp_diags *d)
{
	/* an `=` that a later `=` of the same name overrides: walking backwards, each
	 * setting remembers the line of the `=` seen last (the next one in the file) */
	uint32_t *next = calloc(cfg->nset ? cfg->nset : 1, sizeof(*next));
	uint32_t *overridden = calloc(cfg->nitems ? cfg->nitems : 1, sizeof(*overridden));
	int r = next && overridden ? 0 : -ENOMEM;
	for (size_t i = cfg->nitems; r == 0 && i-- > 0;) {
		const struct item *a = &cfg->items[i];
		if (a->kind != IT_STMT || a->broken || a->append)
			continue;
		overridden[i] = next[a->setting];
		next[a->setting] = xp__cfg_tok(cfg, a->tok).line;
	}
	for (size_t i = 0; r == 0 && i < cfg->nitems; i++) {
		if (!overridden[i])
			continue;
		struct tok ta = xp__cfg_tok(cfg, cfg->items[i].tok);
		r = xp__lint_diag(d, cfg, XP_SEV_WARNING, ta.line, ta.col, "duplicate-key", NULL,
				  "remove one of them; the last assignment wins",
				  "'%.*s' is set again on line %u, which overrides this one",
				  (int)ta.len, cfg->text + ta.off, overridden[i]);
	}
	free(next);
	free(overridden);
	return r;
}

static int check_types(const struct xp_cfg *cfg, struct xp_diags *d)
{
	for (size_t i = 0; i < cfg->nset; i++) {
		const struct setting *s = &cfg->set[i];
		const struct xp_cfg_value *v = &s->value;
		int r = 0;
		if (!is_known(s->name))
			continue; /* the keys of the lists below are all known keys */
		if (in(list_keys, s->name) && v->type != XP_CFG_LIST) {
			r = xp__lint_diag(d, cfg, XP_SEV_WARNING, v->line, v->col, "not-list",
					  NULL, "write it as a list: [ ... ]",
					  "'%s' must be a list; xl ignores a single value", s->name);
		} else if (in(number_keys, s->name)) {
			long l;
			if (v->type == XP_CFG_LIST)
				r = xp__lint_diag(d, cfg, XP_SEV_ERROR, v->line, v->col,
						  "not-number", NULL, NULL,
						  "'%s' must be a number, not a list", s->name);
			else if (s->last_append)
				r = xp__lint_diag(d, cfg, XP_SEV_ERROR, v->line, v->col,
						  "not-number", NULL, "use '='",
						  "xl cannot use '+=' with the number '%s'", s->name);
			else if (xp_cfg_value_long(v, &l) < 0)
				r = xp__lint_diag(d, cfg, XP_SEV_ERROR, v->line, v->col,
						  "not-number", v->u.str, NULL,
						  "'%s' must be a number", s->name);
		} else if (in(action_keys, s->name)) {
			if (v->type == XP_CFG_LIST || !in(actions, v->u.str))
				r = xp__lint_diag(d, cfg, XP_SEV_ERROR, v->line, v->col,
						  "bad-action", xp_cfg_value_str(v),
						  "one of destroy, restart, rename-restart, preserve, "
						  "coredump-destroy, coredump-restart, soft-reset",
						  "invalid action for '%s'", s->name);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_numbers_octal(const struct xp_cfg *cfg, struct xp_diags *d)
{
	/* 010 is 8 to xl: worth a word, as people mean ten */
	for (size_t i = 0; i < cfg->ntoks; i++) {
		if (tk_kind(cfg, i) != TK_NUMBER || tk_len(cfg, i) < 2 ||
		    cfg->text[tk_off(cfg, i)] != '0' || cfg->text[tk_off(cfg, i) + 1] == 'x')
			continue;
		struct tok tk = xp__cfg_tok(cfg, i), *t = &tk;
		char buf[64];
		size_t n = t->len < sizeof(buf) - 1 ? t->len : sizeof(buf) - 1;
		memcpy(buf, cfg->text + t->off, n);
		buf[n] = 0;
		char *ep;
		long v = strtol(buf, &ep, 0);
		int r;
		if (*ep)
			r = xp__lint_diag(d, cfg, XP_SEV_WARNING, t->line, t->col, "octal", buf,
					  "drop the leading zero",
					  "a leading 0 makes xl read an octal number, and this one "
					  "is not valid octal");
		else
			r = xp__lint_diag(d, cfg, XP_SEV_WARNING, t->line, t->col, "octal", buf,
					  "drop the leading zero for decimal",
					  "a leading 0 makes this octal: xl reads %ld", v);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_guest(const struct xp_cfg *cfg, const struct xp_lint_opts *opts,
		       struct xp_diags *d)
{
	int r = 0;
	const char *name;
	if (xp_cfg_get_string(cfg, "name", &name) < 0)
		r = xp__lint_diag(d, cfg, XP_SEV_WARNING, 0, 0, "no-name", NULL,
				  "add name = \"...\"",
				  "no 'name': xl create will refuse to start the guest");
	if (r < 0)
		return r;

	long mem, maxmem;
	if (xp_cfg_get_long(cfg, "memory", &mem) == 0 &&
	    xp_cfg_get_long(cfg, "maxmem", &maxmem) == 0 && mem > maxmem)
		r = xp__lint_diag(d, cfg, XP_SEV_WARNING, xp_cfg_line_of(cfg, "memory"), 0,
				  "memory-maxmem", NULL, "raise maxmem or lower memory",
				  "memory (%ld MiB) is above maxmem (%ld MiB)", mem, maxmem);
	if (r < 0)
		return r;

	/* xl takes any prefix: "h" (and even "") is hvm, "p" is pv (xl_parse.c) */
	const char *type = NULL, *builder = NULL;
	int pv = 1, hvm = 0;
	if (xp_cfg_get_string(cfg, "type", &type) == 0) {
		size_t n = strlen(type);
		const char *full = strncmp(type, "hvm", n) == 0	  ? "hvm"
				   : strncmp(type, "pv", n) == 0  ? "pv"
				   : strncmp(type, "pvh", n) == 0 ? "pvh"
								  : NULL;
		if (!full)
			r = xp__lint_diag(d, cfg, XP_SEV_ERROR, xp_cfg_line_of(cfg, "type"), 0,
					  "bad-type", type, "one of pv, pvh, hvm",
					  "invalid guest type; xl create refuses it");
		else if (strcmp(full, type) != 0)
			r = xp__lint_diag(d, cfg, XP_SEV_WARNING, xp_cfg_line_of(cfg, "type"), 0,
					  "abbreviated-type", type, "write it in full",
					  "xl reads type '%s' as '%s'", type, full);
		pv = full && strcmp(full, "pv") == 0;
		hvm = full && strcmp(full, "hvm") == 0;
	} else if (xp_cfg_get_string(cfg, "builder", &builder) == 0) {
		size_t n = strlen(builder);
		if (strncmp(builder, "hvm", n) == 0)
			pv = 0, hvm = 1;
		else if (strncmp(builder, "generic", n) != 0)
			r = xp__lint_diag(d, cfg, XP_SEV_ERROR, xp_cfg_line_of(cfg, "builder"), 0,
					  "bad-type", builder, "builder is hvm or generic",
					  "invalid builder; xl create refuses it");
	}
	if (r < 0)
		return r;
	if (pv && !xp_cfg_lookup(cfg, "kernel") && !xp_cfg_lookup(cfg, "bootloader"))
		r = xp__lint_diag(d, cfg, XP_SEV_WARNING, 0, 0, "no-boot", NULL,
				  "set kernel = \"...\" or bootloader = \"pygrub\"",
				  "a PV guest needs 'kernel' or 'bootloader'; it has neither");
	if (r == 0 && opts->host)
		r = xp__lint_boot_files(cfg, opts, hvm, d);
	return r;
}

int xp_cfg_lint(const struct xp_cfg *cfg, const struct xp_lint_opts *opts,
		struct xp_lint_set *set, struct xp_diags *diags)
{
	static const struct xp_lint_opts none = {0};
	if (!opts)
		opts = &none;
	int r = check_keys(cfg, diags);
	if (r == 0)
		r = check_duplicates(cfg, diags);
	if (r == 0)
		r = check_types(cfg, diags);
	if (r == 0)
		r = check_numbers_octal(cfg, diags);
	if (r == 0)
		r = check_guest(cfg, opts, diags);
	if (r == 0)
		r = xp__lint_devices(cfg, opts, set, diags);
	xp_diags_sort(diags);
	return r;
}
