/*
 * installer.c - `xenprov install --installer`, koan's --virt path: the guest gets an
 * empty disk at its profile's disk-size and boots the distro's installer, which fills
 * it. What the installer boots, with which command line (the autoinstall URL
 * included), is what the server renders for the guest's system: its pxelinux config
 * (boot/target.c, read over HTTP as any network boot client reads it, and parsed by the
 * pxelinux reader), so the server decides it once for every client. The config says
 * on_reboot = "destroy": the installer's reboot ends the guest; xp_install_disk_boot
 * then rewrites the config to boot the guest's own disk.
 *
 * The installer's files and what the profile said of the boot before the installer
 * took it over are kept in STATE/installers/NAME/ until the switch.
 *
 * Not here: the image path and what both share (install.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/install-internal.h"
#include "xenprov/http-client.h"
#include "xenprov/pxelinux.h"
#include "xenprov/xl-config.h"

/* the profile keys the installer's boot replaces, kept to be given back */
static const char *const boot_keys[] = {"boot",	 "kernel", "ramdisk",
					"extra", "root",   "config.on_reboot"};
#define NBOOT (sizeof(boot_keys) / sizeof(boot_keys[0]))

static int installer_dir(const char *state_dir, const char *name, bool make, char *out, size_t size)
{
	snprintf(out, size, "%s/installers", state_dir);
	if (make && mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(out, size, "%s/installers/%s", state_dir, name);
	if (make && mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The installer's files in dir, and dir. */
static void remove_files(const char *dir)
{
	char f[4400];
	static const char *const files[] = {"kernel", "initrd", "kernel.part", "initrd.part",
					    "profile-boot.json"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(f, sizeof(f), "%s/%s", dir, files[i]);
		unlink(f);
	}
	rmdir(dir);
}

void xp__installer_forget(const char *state_dir, const char *name)
{
	char dir[4200];
	installer_dir(state_dir, name, false, dir, sizeof(dir));
	remove_files(dir);
}

struct file_sink {
	int fd;
};

static int to_file(void *ctx, uint64_t off, const void *data, size_t len)
{
	(void)off;
	return xp_write_full(((struct file_sink *)ctx)->fd, data, len);
}

/* The files of list ("A[,B...]", pxelinux's INITRD) relative to the server, one after
 * the other into path (initrds concatenated: the kernel unpacks each). */
static int fetch_files(const struct xp_install_opts *o, const char *list, const char *path,
		       struct xp_diags *d)
{
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.part", path);
	struct file_sink s = {.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
	if (s.fd < 0)
		return xp_diags_fail(d, -errno, tmp, "installer", NULL, "cannot write: %s",
				     strerror(errno));
	char *copy = strdup(list), *save = NULL;
	int r = copy ? 0 : -ENOMEM;
	for (char *f = copy ? strtok_r(copy, ",", &save) : NULL; f && r == 0;
	     f = strtok_r(NULL, ",", &save)) {
		char *url = NULL;
		if (strncmp(f, "http://", 7) == 0 || strncmp(f, "https://", 8) == 0)
			url = strdup(f);
		else
			r = asprintf(&url, "%s%s%s", o->server, f[0] == '/' ? "" : "/", f) < 0
				? -ENOMEM
				: 0;
		if (!url) {
			r = -ENOMEM;
			break;
		}
		struct xp_http_req q = {
		    .url = url, .ca_file = o->ca_file, .write = to_file, .ctx = &s};
		struct xp_http_resp resp;
		r = xp_http_request(&q, &resp, d);
		if (r == -ENOENT)
			r = xp_diags_fail(d, r, NULL, "server", NULL, "%s: %s", url,
					  resp.error ? resp.error : "not found");
		xp_http_resp_release(&resp);
		free(url);
	}
	free(copy);
	if (r == 0 && (fsync(s.fd) < 0 || rename(tmp, path) < 0))
		r = xp_diags_fail(d, -errno, path, "installer", NULL, "cannot keep: %s",
				  strerror(errno));
	close(s.fd);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* A MAC for the guest before it is made: the system on the server needs it first. */
static int draw_mac(struct xp_inv *inv, const struct xp_domain_create_opts *c,
		    const struct xp_settings *vals, char out[XP_MAC_STRLEN + 1], struct xp_diags *d)
{
	uint8_t prefix[5];
	size_t plen = 0;
	const char *ps = xp_settings_get(vals, "mac-prefix");
	const uint8_t *pp = c->mac_prefix;
	if (pp)
		plen = c->mac_prefix_len;
	else if (ps && xp_mac_prefix_parse(ps, prefix, &plen) == 0)
		pp = prefix;
	int r = xp_inv_begin(inv);
	if (r == 0) {
		r = xp_domain_alloc_mac(inv, pp, pp ? plen : 0, c->rnd, c->rnd_ud, out);
		xp_inv_rollback(inv);
	}
	return r < 0 ? xp_diags_refuse(d, r, "mac", NULL, NULL, "cannot draw a MAC address: %s",
				       strerror(-r))
		     : 0;
}

int xp__install_installer(struct xp_inv *inv, const struct xp_install_opts *o,
			  struct xp_domain_create_opts *c, const char *profile, json_t *pj,
			  struct xp_install_result *res, struct xp_diags *d)
{
	json_t *eff = json_object_get(pj, "effective");
	json_t *dv = json_object_get(eff, "distro");
	if (!json_is_string(dv))
		return xp_diags_refuse(d, -ENODATA, "profile", profile, NULL,
				       "profile '%s' has no distro: it has no installer to run",
				       profile);
	struct xp_settings vals = {0};
	struct xp_pxelinux_cfg cfg = {0};
	struct xp_buf cmd = XP_BUF_INIT;
	json_t *saved = json_object();
	char mac[XP_MAC_STRLEN + 1], dir[4200] = "", kpath[4300], ipath[4300], path[64],
				     *text = NULL;
	int r = xp__install_values(inv, pj, &vals, d);
	if (r < 0 || !saved)
		goto out;
	for (size_t i = 0; i < NBOOT; i++) {
		const char *v = xp_settings_get(&vals, boot_keys[i]);
		json_object_set_new(saved, boot_keys[i], v ? json_string(v) : json_null());
	}
	if (c->mac) {
		snprintf(mac, sizeof(mac), "%s", c->mac);
	} else if ((r = draw_mac(inv, c, &vals, mac, d)) < 0) {
		goto out;
	}
	/* the system first: what the server renders for it is what the installer boots */
	const char *system = o->system ? o->system : c->name;
	if (!o->system) {
		if (!o->token) {
			r = xp_diags_refuse(
			    d, -EACCES, "token", NULL,
			    "give the API token (--token-file F or XENPROV_TOKEN), or "
			    "--system S of a system the server has",
			    "the installer path needs the guest's system on the "
			    "server, and registering it needs the token");
			goto out;
		}
		if ((r = xp__install_register(o, system, profile, mac, NULL, true, d)) < 0)
			goto out;
	}
	char dashed[XP_MAC_STRLEN + 1];
	snprintf(dashed, sizeof(dashed), "%s", mac);
	for (char *p = dashed; *p; p++)
		if (*p == ':')
			*p = '-';
	char *url = NULL;
	snprintf(path, sizeof(path), "/pxelinux.cfg/01-%s", dashed);
	if ((r = xp__install_url(o->server, path, &url)) < 0)
		goto out;
	struct xp_http_req q = {.url = url, .ca_file = o->ca_file, .max = XP_PXELINUX_MAX_SIZE};
	struct xp_http_resp resp;
	r = xp_http_request(&q, &resp, d);
	if (r == 0)
		r = xp_pxelinux_parse(resp.body.s ? resp.body.s : "", resp.body.len, url, &cfg, d);
	else if (r == -ENOENT)
		r = xp_diags_fail(d, r, NULL, "server", NULL, "%s: %s", url,
				  resp.error ? resp.error : "not found");
	xp_http_resp_release(&resp);
	free(url);
	if (r < 0)
		goto out;
	const struct xp_pxelinux_label *l = xp_pxelinux_boot_label(&cfg);
	if (!l || (l->kind != XP_PXELINUX_LINUX && l->kind != XP_PXELINUX_KERNEL) || !l->kernel) {
		r = xp_diags_refuse(d, -EINVAL, "system", system, "is its netboot off?",
				    "the server boots system '%s' with no installer kernel",
				    system);
		goto out;
	}
	/* the command line as pxelinux passes it, its initrd= words left to the ramdisk */
	if (l->append) {
		char *a = strdup(l->append), *save = NULL;
		for (char *w = a ? strtok_r(a, " ", &save) : NULL; w;
		     w = strtok_r(NULL, " ", &save))
			if (strncmp(w, "initrd=", 7) != 0) {
				if (cmd.len)
					xp_buf_addc(&cmd, ' ');
				xp_buf_adds(&cmd, w);
			}
		free(a);
	}
	if ((r = installer_dir(xp_inv_state_dir(inv), c->name, true, dir, sizeof(dir))) < 0) {
		xp_diags_fail(d, r, dir, "installer", NULL, "cannot make the directory: %s",
			      strerror(-r));
		goto out;
	}
	snprintf(kpath, sizeof(kpath), "%s/kernel", dir);
	snprintf(ipath, sizeof(ipath), "%s/initrd", dir);
	if ((r = fetch_files(o, l->kernel, kpath, d)) < 0 ||
	    (l->initrd && (r = fetch_files(o, l->initrd, ipath, d)) < 0))
		goto out;
	/* what the profile said of its boot, given back by xp_install_disk_boot */
	char spath[4300];
	snprintf(spath, sizeof(spath), "%s/profile-boot.json", dir);
	text = json_dumps(saved, JSON_COMPACT);
	if (!text || (r = xp_write_atomic(spath, text, strlen(text), 0600)) < 0) {
		r = xp_diags_fail(d, text ? r : -ENOMEM, spath, "installer", NULL,
				  "cannot write: %s", strerror(text ? -r : ENOMEM));
		goto out;
	}
	for (size_t i = 0; i < NBOOT; i++)
		xp_settings_unset(&vals, boot_keys[i]);
	if ((r = xp_settings_set(&vals, "boot", "kernel")) < 0 ||
	    (r = xp_settings_set(&vals, "kernel", kpath)) < 0 ||
	    (l->initrd && (r = xp_settings_set(&vals, "ramdisk", ipath)) < 0) ||
	    (cmd.len && (r = xp_settings_set(&vals, "extra", cmd.s)) < 0) ||
	    (r = xp_settings_set(&vals, "config.on_reboot", "\"destroy\"")) < 0)
		goto out;
	c->values = &vals;
	c->empty_disk = true;
	c->mac = mac;
	if ((r = xp_domain_create(inv, c, &res->dom, d)) < 0)
		goto out;
	res->kernel = strdup(kpath);
	res->ramdisk = l->initrd ? strdup(ipath) : NULL;
	res->cmdline = strdup(cmd.len ? cmd.s : "");
	/* registered (netboot on, for the installer) when the system was made here */
	res->registered = !o->system;
out:
	if (r < 0 && dir[0] && strstr(dir, "/installers/"))
		remove_files(dir); /* nothing made: the files go too */
	free(text);
	json_decref(saved);
	xp_buf_release(&cmd);
	xp_pxelinux_cfg_release(&cfg);
	xp_settings_release(&vals);
	return r;
}

/* ---- after the installer ---------------------------------------------------------------- */

int xp_install_disk_boot(struct xp_inv *inv, const char *name, const char *pxeboot,
			 struct xp_diags *d)
{
	struct xp_domain dom;
	int r = xp_domain_find(inv, name, &dom, d);
	if (r < 0)
		return r;
	char dir[4200], spath[4300], *text = NULL;
	size_t len;
	installer_dir(xp_inv_state_dir(inv), name, false, dir, sizeof(dir));
	snprintf(spath, sizeof(spath), "%s/profile-boot.json", dir);
	struct xp_cfg *cfg = NULL;
	struct xp_buf out = XP_BUF_INIT;
	struct xp_settings s = {0};
	json_t *saved = NULL;
	if ((r = xp_read_file(spath, 65536, &text, &len)) < 0) {
		r = xp_diags_fail(d, r, spath, "installer", NULL,
				  "guest '%s' was not made by the installer path (or was switched "
				  "already)",
				  name);
		goto out;
	}
	saved = json_loadb(text, len, 0, NULL);
	if (!json_is_object(saved)) {
		r = xp_diags_fail(d, -EBADMSG, spath, "installer", NULL, "not JSON");
		goto out;
	}
	const char *on_reboot = json_string_value(json_object_get(saved, "config.on_reboot"));
	if ((r = xp_cfg_load(dom.config_path, d, &cfg)) < 0)
		goto out;
	static const char *const gone[] = {"kernel", "ramdisk", "extra", "root", "cmdline"};
	for (size_t i = 0; i < 5 && r >= 0; i++) {
		r = xp_cfg_unset(cfg, gone[i]);
		if (r == -ENOENT)
			r = 0;
	}
	struct xp_buf bl = XP_BUF_INIT;
	if (pxeboot)
		xp_cfg_quote(&bl, pxeboot, strlen(pxeboot));
	else
		xp_buf_adds(&bl, "\"pygrub\"");
	if (r >= 0)
		r = xp_cfg_set(cfg, "bootloader", bl.s);
	xp_buf_release(&bl);
	if (r >= 0 && pxeboot)
		r = xp_cfg_set(cfg, "bootloader_args", "[ \"--local\" ]");
	if (r >= 0)
		r = xp_cfg_set(cfg, "on_reboot", on_reboot ? on_reboot : "\"restart\"");
	size_t tlen = 0;
	const char *ctext = r >= 0 ? xp_cfg_text(cfg, &tlen) : NULL;
	if (r >= 0)
		xp_buf_add(&out, ctext, tlen);
	if (r >= 0 && (r = xp_buf_error(&out)) >= 0 && xp_cfg_has_errors(cfg))
		r = -EBADMSG;
	if (r < 0) {
		r = xp_diags_fail(d, r, dom.config_path, "config", NULL,
				  "cannot rewrite the config: %s", strerror(-r));
		goto out;
	}
	if ((r = xp_write_atomic(dom.config_path, out.s, out.len, 0644)) < 0) {
		xp_diags_fail(d, r, dom.config_path, "config", NULL, "cannot write: %s",
			      strerror(-r));
		goto out;
	}
	/* the record: the profile's boot values back, the installer's gone */
	for (size_t i = 0; i < dom.settings.n && r == 0; i++)
		r = xp_settings_set(&s, dom.settings.v[i].key, dom.settings.v[i].value);
	for (size_t i = 0; i < NBOOT && r >= 0; i++) {
		const char *v = json_string_value(json_object_get(saved, boot_keys[i]));
		r = v ? xp_settings_set(&s, boot_keys[i], v) : xp_settings_unset(&s, boot_keys[i]);
		if (r == -ENOENT)
			r = 0;
	}
	const char *boot = xp_settings_get(&s, "boot");
	if (r >= 0 && (!boot || strcmp(boot, "kernel") == 0))
		r = xp_settings_set(&s, "boot", "pygrub");
	if (r >= 0)
		r = xp_domain_set_settings(inv, name, &s);
	if (r < 0) {
		xp_diags_fail(d, r, NULL, "inventory", NULL, "cannot record the guest: %s",
			      xp_inv_errmsg(inv));
		goto out;
	}
	remove_files(dir);
	r = 0;
out:
	free(text);
	json_decref(saved);
	xp_cfg_free(cfg);
	xp_buf_release(&out);
	xp_settings_release(&s);
	xp_domain_release(&dom);
	return r;
}
