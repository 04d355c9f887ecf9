/*
 * xlcfg.c - a guest's xl domain config (xl.cfg(5)), written with xenprov's own writers:
 * strings through xp_cfg_quote, the disk spec through xp_disk_format
 * (xl-disk-configuration(5) key=value form), the vif spec through xp_vif_format
 * (xl-network-configuration(5)). The text is parsed back with xp_cfg_parse before it is
 * used, so a config xl would reject is never written.
 *
 * What goes in: name; type = "pv" or "pvh" (the profile's `type`: xenprov's images
 * boot with pygrub, PV GRUB, a dom0 kernel or their own), or "hvm" for an adopted
 * machine (domain adopt: boot "c", serial "pty"); memory (MiB) and vcpus; the
 * boot method; disk (the root disk, then the further ones: data disks, the swap
 * volume, the cloud-init seed, read-only); vif (the first NIC, then the further ones); the on_*
 * actions xl's own defaults would pick (destroy, restart, restart), written out so that
 * the file says what happens; then the profile's config.NAME values, each replacing a
 * setting of the same name above or appended in profile order.
 *
 * Not here: where the file goes and when (domain.c), the meaning of the settings beyond
 * the few above (xl-lint.h checks those).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/domain.h"
#include "xenprov/xl-config.h"
#include "xenprov/xl-disk.h"
#include "xenprov/xl-vif.h"

struct entry {
	const char *name;
	char *value; /* config-language text */
};

struct entries {
	struct entry v[64];
	size_t n;
	int err;
};

/* Sets name (replacing an earlier entry). Takes ownership of value. */
static void put(struct entries *e, const char *name, char *value)
{
	if (!value) {
		e->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].name, name) == 0) {
			free(e->v[i].value);
			e->v[i].value = value;
			return;
		}
	if (e->n == sizeof(e->v) / sizeof(e->v[0])) {
		free(value);
		e->err = -E2BIG;
		return;
	}
	e->v[e->n++] = (struct entry){name, value};
}

static char *quoted(const char *s)
{
	struct xp_buf b = XP_BUF_INIT;
	if (xp_cfg_quote(&b, s, strlen(s)) < 0) {
		xp_buf_release(&b);
		return NULL;
	}
	return xp_buf_steal(&b);
}

/* A list of the n quoted specs, one a line when there are several. */
static char *list_of(const struct xp_buf *specs, size_t n)
{
	struct xp_buf b = XP_BUF_INIT;
	xp_buf_adds(&b, n > 1 ? "[\n" : "[ ");
	for (size_t i = 0; i < n; i++) {
		if (n > 1)
			xp_buf_adds(&b, "    ");
		if (xp_cfg_quote(&b, specs[i].s, specs[i].len) < 0) {
			xp_buf_release(&b);
			return NULL;
		}
		xp_buf_adds(&b, n > 1 ? ",\n" : " ");
	}
	xp_buf_adds(&b, "]");
	return xp_buf_steal(&b);
}

static char *number(const char *s, long dflt)
{
	char *out = NULL;
	if (s)
		return strdup(s);
	return asprintf(&out, "%ld", dflt) < 0 ? NULL : out;
}

/* A kernel command line value (root, extra, cmdline) with the guest's old UUIDs
 * replaced by its new ones (heap, NULL if out of memory): a profile that boots with
 * root=UUID= of its golden image boots each clone from the clone's own filesystem. */
static char *follow(const struct xp_guest_config *c, const char *value)
{
	if (!c->guest)
		return strdup(value);
	struct xp_buf b = XP_BUF_INIT;
	if (xp_guest_uuids_follow(c->guest, value, strlen(value), &b) < 0) {
		xp_buf_release(&b);
		return NULL;
	}
	return xp_buf_steal(&b);
}

/* Whether the kernel command line s has a parameter word (a prefix ending in '=', like
 * "console=", matches any value). */
static bool has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	bool prefix = n && word[n - 1] == '=';
	for (const char *p = s; p && (p = strstr(p, word)); p++)
		if ((p == s || p[-1] == ' ') && (prefix || p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static bool kernel_cmdline_key(const char *key)
{
	return strcmp(key, "root") == 0 || strcmp(key, "extra") == 0 || strcmp(key, "cmdline") == 0;
}

static int disk_spec(const char *path, const char *vdev, bool qcow2, bool lvm, bool ro,
		     struct xp_buf *out)
{
	struct xp_disk disk = {0};
	disk.pdev_path = (char *)path;
	disk.vdev = (char *)vdev;
	disk.format = qcow2 ? XP_DISK_FORMAT_QCOW2 : XP_DISK_FORMAT_RAW;
	disk.readwrite = !ro;
	/* a logical volume is a block device: blkback serves it directly */
	if (lvm)
		disk.backend = XP_DISK_BACKEND_PHY;
	return xp_disk_format(&disk, out);
}

static int vif_spec(const char *mac, const char *bridge, const char *ip, struct xp_buf *out)
{
	struct xp_vif v;
	xp_vif_init(&v);
	int r = xp_mac_parse(mac, &v.mac);
	if (r == 0) {
		v.bridge = (char *)bridge;
		v.ip = (char *)ip;
		r = xp_vif_format(&v, out);
	}
	/* the strings are borrowed: do not release them */
	return r;
}

/* The config list of the n specs (r: 0 if they were all written) into *value; the
 * specs released. */
static int specs_list(struct xp_buf *specs, size_t n, int r, char **value)
{
	if (r == 0 && !(*value = list_of(specs, n)))
		r = -ENOMEM;
	for (size_t i = 0; i < n; i++)
		xp_buf_release(&specs[i]);
	free(specs);
	return r;
}

/* disk = [ the root disk at xvda, the further disks at theirs ]: each in its own
 * format (a further qcow2 disk is a qcow2 image of its own) and backend. */
static int disks_value(const struct xp_guest_config *c, char **value, struct xp_diags *d)
{
	size_t n = 1 + c->nvolumes;
	struct xp_buf *specs = calloc(n, sizeof(*specs));
	if (!specs)
		return -ENOMEM;
	int r = disk_spec(c->disk_path, "xvda", c->disk_format == XP_IMAGE_QCOW2,
			  c->storage == XP_STORAGE_LVM || c->storage == XP_STORAGE_PHY, false,
			  &specs[0]);
	const char *path = c->disk_path;
	for (size_t i = 0; r == 0 && i < c->nvolumes; i++) {
		const struct xp_domain_volume *k = &c->volumes[i];
		path = k->path;
		/* the cloud-init seed is read, never written, by the guest */
		r = disk_spec(k->path, k->vdev, strcmp(k->storage, "qcow2") == 0,
			      strcmp(k->storage, "lvm") == 0, strcmp(k->role, "seed") == 0,
			      &specs[1 + i]);
	}
	r = specs_list(specs, n, r, value);
	if (r < 0 && r != -ENOMEM)
		r = xp_diags_fail(d, r, NULL, "disk", NULL,
				  "the disk '%s' cannot be written as a disk spec", path);
	return r;
}

/* vif = [ the first NIC, the further NICs in devid order ]: each with its MAC, bridge
 * and static address. */
static int vifs_value(const struct xp_guest_config *c, char **value, struct xp_diags *d)
{
	size_t n = 1 + c->nnics;
	struct xp_buf *specs = calloc(n, sizeof(*specs));
	if (!specs)
		return -ENOMEM;
	const char *bridge = xp_settings_get(c->settings, "bridge");
	int r = vif_spec(c->mac, bridge ? bridge : XP_DOMAIN_DEFAULT_BRIDGE, c->ip, &specs[0]);
	for (size_t i = 0; r == 0 && i < c->nnics; i++)
		r = vif_spec(c->nics[i].mac, c->nics[i].bridge, c->nics[i].ip, &specs[1 + i]);
	r = specs_list(specs, n, r, value);
	if (r < 0 && r != -ENOMEM)
		r = xp_diags_fail(d, r, NULL, "vif", NULL,
				  "the network settings cannot be written as a vif spec");
	return r;
}

int xp_guest_config_text(const struct xp_guest_config *c, struct xp_buf *out, struct xp_diags *d)
{
	const struct xp_settings *s = c->settings;
	struct entries e = {.n = 0};
	int r = 0;

	const char *type = xp_settings_get(s, "type");
	bool pvh = type && strcmp(type, "pvh") == 0;
	bool hvm = type && strcmp(type, "hvm") == 0;
	put(&e, "name", quoted(c->name));
	put(&e, "type", quoted(hvm ? "hvm" : pvh ? "pvh" : "pv"));
	put(&e, "memory", number(xp_settings_get(s, "memory"), XP_DOMAIN_DEFAULT_MEMORY));
	put(&e, "vcpus", number(xp_settings_get(s, "vcpus"), XP_DOMAIN_DEFAULT_VCPUS));

	const char *boot = xp_settings_get(s, "boot");
	const char *kernel = xp_settings_get(s, "kernel");
	if (hvm) {
		/* an adopted machine (domain adopt): its firmware boots its disk's own
		 * boot loader, as it did on the network-installed machine; the console is
		 * the first serial port (xl console NAME) */
		put(&e, "boot", quoted("c"));
		put(&e, "serial", quoted("pty"));
	} else if (!boot || strcmp(boot, "pygrub") == 0) {
		put(&e, "bootloader", quoted("pygrub"));
	} else if (strcmp(boot, "pvgrub") == 0) {
		/* PV GRUB 2 (Debian grub-xen-host) is loaded as the guest's kernel and reads
		 * the guest's own /boot/grub/grub.cfg, as xen-tools sets it up; a PVH guest
		 * loads grub-xen-host's PVH build */
		put(&e, "kernel",
		    quoted(kernel ? kernel
			   : pvh  ? XP_DOMAIN_PVGRUB_PVH_KERNEL
				  : XP_DOMAIN_PVGRUB_KERNEL));
	} else if (strcmp(boot, "kernel") == 0) {
		if (!kernel) {
			r = xp_diags_fail(d, -EINVAL, NULL, "kernel", NULL,
					  "boot kernel needs a kernel (the profile has none)");
			goto out;
		}
		const char *ramdisk = xp_settings_get(s, "ramdisk");
		const char *root = xp_settings_get(s, "root");
		const char *label = xp_settings_get(s, "label");
		const char *extra = xp_settings_get(s, "extra");
		bool own = strcmp(kernel, XP_DOMAIN_KERNEL_FROM_IMAGE) == 0;
		char uuid_root[48] = "";
		if (own) {
			if (!c->image_kernel) {
				r = xp_diags_fail(
				    d, -EINVAL, NULL, "kernel", NULL,
				    "kernel from-image: no copy of the image's kernel");
				goto out;
			}
			kernel = c->image_kernel;
			ramdisk = c->image_ramdisk;
			/* the image's initramfs finds the guest's own filesystem by its UUID;
			 * a kernel alone cannot (root=UUID= is the initramfs's work) */
			if (ramdisk && c->guest && c->guest->fs_uuid[0])
				snprintf(uuid_root, sizeof(uuid_root), "UUID=%s",
					 c->guest->fs_uuid);
		}
		put(&e, "kernel", quoted(kernel));
		if (ramdisk)
			put(&e, "ramdisk", quoted(ramdisk));
		/* the first partition, or the whole disk for an image without a table */
		if (!root)
			root = uuid_root[0]			     ? uuid_root
			       : label && strcmp(label, "none") == 0 ? "/dev/xvda"
								     : "/dev/xvda1";
		char *v = follow(c, root);
		put(&e, "root", v ? quoted(v) : NULL);
		free(v);
		/* the image's own kernel: root read-only until its fsck ran and console on
		 * Xen's (PVH has no other), as the grub.cfg written for pygrub and PV GRUB
		 * says; what the profile's extra says itself wins */
		char *own_extra = NULL;
		if (own) {
			bool ro = !has_word(extra, "ro") && !has_word(extra, "rw");
			bool console = !has_word(extra, "console=");
			if (asprintf(&own_extra, "%s%s%s%s", ro ? "ro" : "",
				     console ? (ro ? " console=hvc0" : "console=hvc0") : "",
				     extra && (ro || console) ? " " : "", extra ? extra : "") < 0) {
				r = -ENOMEM;
				goto out;
			}
			extra = *own_extra ? own_extra : NULL;
		}
		if (extra) {
			v = follow(c, extra);
			put(&e, "extra", v ? quoted(v) : NULL);
			free(v);
		}
		free(own_extra);
	} else {
		r = xp_diags_fail(d, -EINVAL, NULL, "boot", NULL, "unknown boot method '%s'", boot);
		goto out;
	}

	char *value = NULL;
	if ((r = disks_value(c, &value, d)) < 0)
		goto out;
	put(&e, "disk", value);
	if ((r = vifs_value(c, &value, d)) < 0)
		goto out;
	put(&e, "vif", value);
	/* xl.cfg(5) "Event Actions"; these are also xl's defaults */
	put(&e, "on_poweroff", quoted("destroy"));
	put(&e, "on_reboot", quoted("restart"));
	put(&e, "on_crash", quoted("restart"));

	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->v[i].key, "config.", 7) == 0)
			put(&e, s->v[i].key + 7,
			    kernel_cmdline_key(s->v[i].key + 7) ? follow(c, s->v[i].value)
								: strdup(s->v[i].value));
	if (e.err) {
		r = e.err;
		goto out;
	}

	size_t start = out->len;
	xp_buf_addf(out, "# %s: xl domain config written by xenprov domain %s", c->name,
		    hvm ? "adopt" : "create");
	if (c->profile)
		xp_buf_addf(out, " (profile %s)", c->profile);
	xp_buf_adds(out, "\n");
	for (size_t i = 0; i < e.n; i++)
		xp_buf_addf(out, "%s = %s\n", e.v[i].name, e.v[i].value);
	if ((r = xp_buf_error(out)) < 0)
		goto out;

	/* read it back: what we hand out must be what xl reads */
	struct xp_cfg *cfg = NULL;
	r = xp_cfg_parse(out->s + start, out->len - start, NULL, d, &cfg);
	xp_cfg_free(cfg);
	if (r < 0) {
		xp_buf_truncate(out, start);
		if (r == -EBADMSG)
			xp_diags_fail(d, r, NULL, "config", NULL,
				      "a profile config.NAME value makes the config invalid");
	}
out:
	for (size_t i = 0; i < e.n; i++)
		free(e.v[i].value);
	return r;
}

int xp_guest_config_write(const struct xp_guest_config *c, const char *path, struct xp_diags *d)
{
	struct xp_buf b = XP_BUF_INIT;
	int r = xp_guest_config_text(c, &b, d);
	/* a config that carries a secret (config.vncpasswd, config.spicepasswd: the profile
	 * key table's XP_KEY_SECRET) is root's alone; xl runs as root and reads it still */
	mode_t mode = 0644;
	for (size_t i = 0; c->settings && i < c->settings->n; i++)
		if (strncmp(c->settings->v[i].key, "config.", 7) == 0 &&
		    xp_profile_key_secret(c->settings->v[i].key))
			mode = 0600;
	if (r == 0) {
		r = xp_write_atomic_flags(path, b.s, b.len, mode,
					  c->no_sync ? XP_WRITE_NOSYNC : 0);
		if (r < 0)
			xp_diags_fail(d, r, NULL, "config", NULL, "cannot write %s: %s", path,
				      strerror(-r));
	}
	xp_buf_release(&b);
	return r;
}
