/*
 * drift.c - a guest compared with its profile now, and brought back to it in place
 * (xenprov/drift.h): the record's settings against the profile's, the guest's xl
 * config against the one domain create would write now; each difference classified
 * by what applying it needs; then the config edited (xl-config.h's lossless editor),
 * the disk grown (storage.c, image/image-grow.c), the guest's files rewritten
 * (customize.c: xp_guest_refresh) and the record updated.
 *
 * Not here: the edits themselves, the command's output (cmd-domain-drift.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/names.h"
#include "xenprov/domain.h"
#include "xenprov/drift.h"
#include "xenprov/imgstore.h"
#include "xenprov/inventory-json.h"
#include "xenprov/toolstack.h"
#include "xenprov/xl-config.h"

const char *xp_drift_action_name(enum xp_drift_action a)
{
	static const char *const names[] = {
	    [XP_DRIFT_RECORD] = "record", [XP_DRIFT_CONFIG] = "config", [XP_DRIFT_DISK] = "disk",
	    [XP_DRIFT_GUEST] = "guest",	  [XP_DRIFT_RECREATE] = "recreate",
	};
	return xp__name_of(names, sizeof(names) / sizeof(names[0]), a, "unknown");
}

const char *xp_drift_status_name(enum xp_drift_status s)
{
	static const char *const names[] = {
	    [XP_DRIFT_PLANNED] = "planned", [XP_DRIFT_APPLIED] = "applied",
	    [XP_DRIFT_REFUSED] = "refused", [XP_DRIFT_FAILED] = "failed",
	    [XP_DRIFT_LEFT] = "left",
	};
	return xp__name_of(names, sizeof(names) / sizeof(names[0]), s, "unknown");
}

static void item_release(struct xp_drift_item *it)
{
	free(it->key);
	free(it->guest);
	free(it->profile);
	free(it->note);
	for (size_t i = 0; i < it->nxl; i++) {
		free(it->xl[i].setting);
		free(it->xl[i].guest);
		free(it->xl[i].profile);
	}
	free(it->xl);
}

void xp_drift_release(struct xp_drift *dr)
{
	if (!dr)
		return;
	for (size_t i = 0; i < dr->n; i++)
		item_release(&dr->v[i]);
	free(dr->v);
	free(dr->name);
	free(dr->profile);
	memset(dr, 0, sizeof(*dr));
	dr->running = -1;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static char *dup_or_null(const char *s, int *err)
{
	char *c = s ? strdup(s) : NULL;
	if (s && !c)
		*err = -ENOMEM;
	return c;
}

/* The item of key, made (with the recorded and wanted values) if there is none. */
static struct xp_drift_item *item_of(struct xp_drift *dr, const char *key,
				     const struct xp_settings *rec, const struct xp_settings *want)
{
	for (size_t i = 0; i < dr->n; i++)
		if (strcmp(dr->v[i].key, key) == 0)
			return &dr->v[i];
	if (xp_grow(&dr->v, &dr->cap, dr->n, sizeof(*dr->v), 8) < 0)
		return NULL;
	struct xp_drift_item *it = &dr->v[dr->n];
	memset(it, 0, sizeof(*it));
	int err = 0;
	it->key = dup_or_null(key, &err);
	it->guest = dup_or_null(xp_settings_get(rec, key), &err);
	it->profile = dup_or_null(xp_settings_get(want, key), &err);
	it->secret = xp_profile_key_secret(key);
	dr->n++;
	return err ? NULL : it;
}

static int set_note(struct xp_drift_item *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int set_note(struct xp_drift_item *it, const char *fmt, ...)
{
	free(it->note);
	it->note = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&it->note, fmt, ap);
	va_end(ap);
	if (n < 0) {
		it->note = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A size for a sentence: "512 MiB", "1.5 GiB". */
static const char *human(uint64_t b, char out[32])
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v == (double)(uint64_t)v)
		snprintf(out, 32, "%llu %s", (unsigned long long)v, units[u]);
	else
		snprintf(out, 32, "%.1f %s", v, units[u]);
	return out;
}

/* ---- what the profile wants ----------------------------------------------------------- */

/* The profile resolved now, the guest's own values on top. A relative pool (domain
 * create made it absolute with the directory it ran in) counts as the guest's when
 * the recorded one ends with it. */
static int want_settings(struct xp_inv *inv, const struct xp_domain *dom, struct xp_settings *want,
			 struct xp_diags *d)
{
	int r = xp_profile_resolve(inv, dom->profile, want);
	if (r == -ENOENT)
		return xp_diags_refuse(d, r, "profile", dom->profile,
				       "see 'xenprov profile list'",
				       "the profile '%s' of guest '%s' no longer exists",
				       dom->profile, dom->name);
	if (r < 0)
		return xp_diags_refuse(d, r, "profile", dom->profile, NULL,
				       "cannot read profile '%s': %s", dom->profile,
				       xp_inv_errmsg(inv));
	for (size_t i = 0; r == 0 && i < dom->overrides.n; i++)
		r = xp_settings_set(want, dom->overrides.v[i].key, dom->overrides.v[i].value);
	const char *pool = xp_settings_get(want, "pool"), *had = xp_settings_get(&dom->settings, "pool");
	if (r == 0 && pool && pool[0] != '/' && had) {
		size_t n = strlen(pool), m = strlen(had);
		if (m > n && strcmp(had + m - n, pool) == 0 && had[m - n - 1] == '/')
			r = xp_settings_set(want, "pool", had);
	}
	return r;
}

/* ---- what the guest is ------------------------------------------------------------------ */

struct disk {
	bool ok;
	enum xp_image_format format;
	uint64_t size;
	bool root, root_last;	 /* an ext2/3/4 root; it is the last volume */
	char fs_uuid[37], swap_uuid[37];
};

static void read_disk(const char *path, struct disk *k)
{
	memset(k, 0, sizeof(*k));
	struct xp_image_info info;
	const struct xp_image_volume *root;
	if (!path || xp_image_info_root(path, &info, &root, NULL) < 0)
		return;
	k->ok = true;
	k->format = info.format;
	k->size = info.virtual_size;
	k->root = k->root_last = root != NULL;
	if (root)
		snprintf(k->fs_uuid, sizeof(k->fs_uuid), "%s", root->uuid);
	for (size_t i = 0; i < info.n; i++) {
		const struct xp_image_volume *v = &info.volumes[i];
		if (!k->swap_uuid[0] && strcmp(v->kind, "swap") == 0)
			snprintf(k->swap_uuid, sizeof(k->swap_uuid), "%s", v->uuid);
		if (root && v->offset > root->offset)
			k->root_last = false;
	}
	xp_image_info_release(&info);
}

/* The config domain create would write now for the guest: its name, MAC, address and
 * disk, the UUIDs its kernel command line follows (the golden image's, replaced by the
 * disk's), and for kernel=from-image the kernel copies its config names. NULL (with a
 * warning) when the profile makes none now. */
static struct xp_cfg *config_now(const struct xp_domain *dom, const struct xp_settings *want,
				 const struct disk *disk, const struct disk *golden,
				 const struct xp_cfg *cfg, struct xp_diags *d)
{
	struct xp_guest_report rep = {0};
	snprintf(rep.fs_uuid, sizeof(rep.fs_uuid), "%s", disk->fs_uuid);
	snprintf(rep.swap_uuid, sizeof(rep.swap_uuid), "%s", disk->swap_uuid);
	snprintf(rep.old_fs_uuid, sizeof(rep.old_fs_uuid), "%s", golden->fs_uuid);
	snprintf(rep.old_swap_uuid, sizeof(rep.old_swap_uuid), "%s", golden->swap_uuid);
	enum xp_storage st = XP_STORAGE_FILE;
	if (dom->storage)
		xp_storage_from_name(dom->storage, &st);
	const char *kernel = NULL, *ramdisk = NULL;
	xp_cfg_get_string(cfg, "kernel", &kernel);
	xp_cfg_get_string(cfg, "ramdisk", &ramdisk);
	struct xp_guest_config gc = {
	    .name = dom->name,
	    .settings = want,
	    .storage = st,
	    .disk_path = dom->disk_path,
	    .disk_format = disk->ok ? disk->format
			   : st == XP_STORAGE_QCOW2 ? XP_IMAGE_QCOW2
						    : XP_IMAGE_RAW,
	    .mac = dom->mac,
	    .ip = dom->ip,
	    .profile = dom->profile,
	    .guest = &rep,
	    .image_kernel = kernel,
	    .image_ramdisk = ramdisk,
	    /* its further disks and NICs, as recorded: the disk and vif lists create
	     * wrote */
	    .volumes = dom->volumes,
	    .nvolumes = dom->nvolumes,
	    .nics = dom->nics,
	    .nnics = dom->nnics,
	};
	struct xp_buf b = XP_BUF_INIT;
	struct xp_diags why;
	xp_diags_init(&why);
	struct xp_cfg *now = NULL;
	int r = xp_guest_config_text(&gc, &b, &why);
	if (r == 0)
		r = xp_cfg_parse(b.s, b.len, NULL, NULL, &now);
	if (r < 0) {
		xp_cfg_free(now);
		now = NULL;
	}
	if (r < 0 && d) {
		xp_diags_add(d, XP_SEV_WARNING, dom->config_path, 0, 0, "config", NULL, NULL,
			     "%s: the profile makes no config now (%s): the config is not compared",
			     dom->name, why.n ? why.v[why.n - 1].msg : strerror(-r));
	}
	xp_diags_release(&why);
	xp_buf_release(&b);
	return now;
}

/* A value's canonical xl spelling (heap), NULL for none. */
static char *canon(const struct xp_cfg_value *v, int *err)
{
	if (!v)
		return NULL;
	struct xp_buf b = XP_BUF_INIT;
	if (xp_cfg_write_value(&b, v) < 0) {
		xp_buf_release(&b);
		*err = -ENOMEM;
		return NULL;
	}
	return xp_buf_steal(&b);
}

/* The settings xlcfg.c writes, each with the profile key behind it; a setting the
 * profile sets as config.NAME is that key's. */
static const char *const written[][2] = {
    {"name", "name"},	  {"type", "type"},	{"memory", "memory"},
    {"vcpus", "vcpus"},	  {"bootloader", "boot"}, {"kernel", "kernel"},
    {"ramdisk", "ramdisk"}, {"root", "root"},	  {"extra", "extra"},
    {"disk", "storage"},	  {"vif", "bridge"},	  {"on_poweroff", "config.on_poweroff"},
    {"on_reboot", "config.on_reboot"}, {"on_crash", "config.on_crash"},
};

static bool is_written(const char *setting)
{
	for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
		if (strcmp(written[i][0], setting) == 0)
			return true;
	return false;
}

/* The profile key behind an xl setting of the guest's config. */
static void key_of(const char *setting, const struct xp_settings *rec,
		   const struct xp_settings *want, char *key, size_t cap)
{
	snprintf(key, cap, "config.%s", setting);
	if (xp_settings_get(rec, key) || xp_settings_get(want, key))
		return;
	for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
		if (strcmp(written[i][0], setting) == 0)
			snprintf(key, cap, "%s", written[i][1]);
}

static int add_xl(struct xp_drift_item *it, const char *setting, char *guest, char *profile)
{
	struct xp_drift_xl *v = realloc(it->xl, (it->nxl + 1) * sizeof(*v));
	char *s = strdup(setting);
	if (!v || !s) {
		if (v)
			it->xl = v;
		free(s);
		free(guest);
		free(profile);
		return -ENOMEM;
	}
	it->xl = v;
	it->xl[it->nxl++] = (struct xp_drift_xl){s, guest, profile};
	return 0;
}

/* One setting: its value in now (what create writes now) against the guest's config. */
static int compare_setting(struct xp_drift *dr, const char *name, const struct xp_settings *rec,
			   const struct xp_settings *want, const struct xp_cfg *cfg,
			   const struct xp_cfg *now)
{
	int err = 0;
	char key[160];
	char *p = canon(xp_cfg_lookup(now, name), &err);
	char *g = canon(xp_cfg_lookup(cfg, name), &err);
	if (err || same(p, g)) {
		free(p);
		free(g);
		return err;
	}
	key_of(name, rec, want, key, sizeof(key));
	struct xp_drift_item *it = item_of(dr, key, rec, want);
	return it ? add_xl(it, name, g, p) : -ENOMEM;
}

/* The settings xenprov manages in the guest's config: those create writes now, those it
 * writes for some profile (an extra the profile no longer has), and the config.NAME of
 * the record; the operator's own settings are not compared. */
static int compare_config(struct xp_drift *dr, const struct xp_settings *rec,
			  const struct xp_settings *want, const struct xp_cfg *cfg,
			  const struct xp_cfg *now)
{
	int err = 0;
	for (size_t i = 0; err == 0 && i < xp_cfg_count(now); i++)
		err = compare_setting(dr, xp_cfg_name_at(now, i), rec, want, cfg, now);
	for (size_t i = 0; err == 0 && i < sizeof(written) / sizeof(written[0]); i++)
		if (!xp_cfg_lookup(now, written[i][0]))
			err = compare_setting(dr, written[i][0], rec, want, cfg, now);
	for (size_t i = 0; err == 0 && i < rec->n; i++) {
		const char *k = rec->v[i].key;
		if (strncmp(k, "config.", 7) == 0 && xp_cfg_name_valid(k + 7) &&
		    !is_written(k + 7) && !xp_cfg_lookup(now, k + 7))
			err = compare_setting(dr, k + 7, rec, want, cfg, now);
	}
	return err;
}

static int compare_settings(struct xp_drift *dr, const struct xp_settings *rec,
			    const struct xp_settings *want)
{
	for (size_t i = 0; i < want->n; i++)
		if (!same(want->v[i].value, xp_settings_get(rec, want->v[i].key)) &&
		    !item_of(dr, want->v[i].key, rec, want))
			return -ENOMEM;
	for (size_t i = 0; i < rec->n; i++)
		if (!xp_settings_get(want, rec->v[i].key) && !item_of(dr, rec->v[i].key, rec, want))
			return -ENOMEM;
	return 0;
}

/* ---- what applying needs ------------------------------------------------------------------ */

static bool boots_kernel(const struct xp_settings *want)
{
	const char *boot = xp_settings_get(want, "boot");
	return boot && strcmp(boot, "kernel") == 0;
}

/* Whether the IPv4 address ip lies in pool "A.B.C.D/N". */
static bool in_pool(const char *ip, const char *pool)
{
	char net[INET_ADDRSTRLEN];
	const char *slash = strchr(pool, '/');
	struct in_addr a, n;
	if (!ip || !slash || (size_t)(slash - pool) >= sizeof(net))
		return false;
	memcpy(net, pool, (size_t)(slash - pool));
	net[slash - pool] = '\0';
	char *end;
	long len = strtol(slash + 1, &end, 10);
	if (*end || len < 0 || len > 32 || inet_pton(AF_INET, net, &n) != 1 ||
	    inet_pton(AF_INET, ip, &a) != 1)
		return false;
	uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
	return (ntohl(a.s_addr) & mask) == (ntohl(n.s_addr) & mask);
}

static bool one_of(const char *key, const char *const *keys)
{
	for (; *keys; keys++)
		if (strcmp(key, *keys) == 0)
			return true;
	return false;
}

static int classify(struct xp_drift_item *it, const struct xp_domain *dom,
		    const struct xp_settings *want, const struct disk *disk)
{
	static const char *const in_config[] = {"memory", "vcpus", "bridge", "extra", "root", NULL};
	static const char *const boot_keys[] = {"type", "boot", "kernel", "ramdisk", NULL};
	const char *k = it->key;
	bool is_set = it->profile != NULL;
	char a[32], b[32];

	if (strncmp(k, "config.", 7) == 0 || one_of(k, in_config)) {
		if (it->nxl) {
			it->action = XP_DRIFT_CONFIG;
			return set_note(it, "edited in place in the xl config %s (comments kept); "
					    "takes effect at the guest's next start",
					dom->config_path);
		}
		if ((strcmp(k, "extra") == 0 || strcmp(k, "root") == 0) && !boots_kernel(want)) {
			it->action = XP_DRIFT_RECREATE;
			return set_note(it, "a pygrub or PV GRUB guest reads its kernel command line "
					    "from its own GRUB configuration, which xenprov does not "
					    "rewrite: change it in the guest, or recreate the guest");
		}
		it->action = XP_DRIFT_RECORD;
		return set_note(it, "the config says so already: only the record changes");
	}
	if (strcmp(k, "disk-size") == 0) {
		uint64_t size = 0;
		if (!is_set || xp_parse_size(it->profile, &size) < 0) {
			it->action = XP_DRIFT_RECORD;
			return set_note(it, "no disk size asked: the disk stays as it is");
		}
		if (!disk->ok) {
			it->action = XP_DRIFT_RECREATE;
			return set_note(it, "the disk %s cannot be read", dom->disk_path);
		}
		if (size == disk->size) {
			it->action = XP_DRIFT_RECORD;
			return set_note(it, "the disk has %s already: only the record changes",
					human(size, a));
		}
		if (size < disk->size) {
			it->action = XP_DRIFT_RECREATE;
			return set_note(it, "a disk is never shrunk: the disk keeps %s",
					human(disk->size, a));
		}
		if (!disk->root || !disk->root_last) {
			it->action = XP_DRIFT_RECREATE;
			return set_note(it, "%s: the disk's root filesystem cannot grow",
					!disk->root ? "no ext2/3/4 root filesystem"
						    : "a partition follows the root partition");
		}
		it->action = XP_DRIFT_DISK;
		return set_note(it,
				"the disk grows from %s to %s, its root partition and filesystem "
				"with it; offline: the guest must be shut down",
				human(disk->size, a), human(size, b));
	}
	if (strcmp(k, "ssh-key") == 0 || strcmp(k, "root-password-hash") == 0 ||
	    strcmp(k, "timezone") == 0) {
		const char *file = k[0] == 's' ? "/root/.ssh/authorized_keys"
				   : k[0] == 'r' ? "/etc/shadow"
						 : "/etc/localtime";
		if (!is_set) {
			it->action = XP_DRIFT_RECREATE;
			return set_note(it,
					"unset: xenprov does not take back what it wrote into %s; "
					"change it in the guest, or recreate the guest",
					file);
		}
		it->action = XP_DRIFT_GUEST;
		it->parts = k[0] == 's'	  ? XP_GUEST_EDIT_SSH_KEY
			    : k[0] == 'r' ? XP_GUEST_EDIT_PASSWORD
					  : XP_GUEST_EDIT_CUSTOM;
		return set_note(it, "%s rewritten in the guest's filesystem; offline: the guest "
				    "must be shut down",
				file);
	}
	if (strcmp(k, "dns") == 0 || strcmp(k, "gateway") == 0 || strcmp(k, "domain") == 0) {
		bool hosts = k[1] == 'o'; /* domain */
		if (!dom->ip && !hosts) {
			it->action = XP_DRIFT_RECORD;
			return set_note(it, "a DHCP guest learns it from its DHCP server: only the "
					    "record changes");
		}
		it->action = XP_DRIFT_GUEST;
		it->parts = (hosts ? XP_GUEST_EDIT_HOSTS : 0) | (dom->ip ? XP_GUEST_EDIT_NETWORK : 0);
		return set_note(it, "%s%s rewritten in the guest's filesystem; offline: the guest "
				    "must be shut down",
				hosts ? "/etc/hosts" : "",
				!dom->ip ? ""
				: hosts	 ? ", its network configuration and /etc/resolv.conf"
					 : "its network configuration and /etc/resolv.conf");
	}
	if (strcmp(k, "distro") == 0 || strcmp(k, "autoinstall") == 0) {
		it->action = XP_DRIFT_RECORD;
		return set_note(it, "network boot only, nothing of the guest: only the record "
				    "changes");
	}
	if (strcmp(k, "publish-image") == 0) {
		it->action = XP_DRIFT_RECORD;
		return set_note(it, "who may fetch the golden image from the server, nothing of "
				    "the guest: only the record changes");
	}
	if (strcmp(k, "ip-pool") == 0 && (!is_set || in_pool(dom->ip, it->profile) || !dom->ip)) {
		it->action = XP_DRIFT_RECORD;
		return set_note(it, "the guest keeps its address%s%s: only the record changes",
				dom->ip ? " " : "", dom->ip ? dom->ip : "");
	}
	if (strcmp(k, "mac-prefix") == 0 &&
	    (!is_set || (dom->mac && strncasecmp(dom->mac, it->profile, strlen(it->profile)) == 0))) {
		it->action = XP_DRIFT_RECORD;
		return set_note(it, "the guest's MAC%s%s is in it: only the record changes",
				dom->mac ? " " : "", dom->mac ? dom->mac : "");
	}
	it->action = XP_DRIFT_RECREATE;
	if (strcmp(k, "ip-pool") == 0 || strcmp(k, "mac-prefix") == 0)
		return set_note(it, "the guest's %s %s is outside it; a new one needs a new guest "
				    "(domain delete, then create)",
				k[0] == 'i' ? "address" : "MAC",
				(k[0] == 'i' ? dom->ip : dom->mac) ? (k[0] == 'i' ? dom->ip : dom->mac)
								   : "(none)");
	if (one_of(k, boot_keys))
		return set_note(it, "how the guest boots is made with it (its config and its "
				    "files together): recreate the guest (domain delete, then "
				    "create)");
	return set_note(it, "what the guest was made of: only a new guest gets it (domain "
			    "delete, then create)");
}

/* The order of the profile key table; config.NAME at its entry, by name. */
static size_t rank(const char *key)
{
	size_t i;
	bool config = strncmp(key, "config.", 7) == 0;
	for (i = 0; xp_profile_keys[i].key; i++)
		if (strcmp(xp_profile_keys[i].key, config ? "config.NAME" : key) == 0)
			return i;
	return i;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct xp_drift_item *a = pa, *b = pb;
	size_t ra = rank(a->key), rb = rank(b->key);
	return ra != rb ? (ra < rb ? -1 : 1) : strcmp(a->key, b->key);
}

int xp_drift_compute(struct xp_inv *inv, const struct xp_domain *dom, struct xp_drift *out,
		     struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	out->running = -1;
	int err = 0;
	out->name = dup_or_null(dom->name, &err);
	out->profile = dup_or_null(dom->profile, &err);
	if (err)
		return err;
	if (!dom->profile)
		return xp_diags_refuse(d, -EINVAL, "profile", dom->name, NULL,
				       "guest '%s' has no profile to compare with", dom->name);
	if (!dom->state || strcmp(dom->state, "ready") != 0)
		return xp_diags_refuse(d, -EINVAL, "state", dom->state,
				       "delete it, or finish it with 'xenprov deploy'",
				       "guest '%s' is not ready (state %s)", dom->name,
				       dom->state ? dom->state : "unknown");
	struct xp_settings want = {0};
	struct xp_cfg *cfg = NULL, *now = NULL;
	int r = want_settings(inv, dom, &want, d);
	if (r < 0)
		goto out;
	r = xp_cfg_load(dom->config_path, NULL, &cfg);
	if (r == -EBADMSG) {
		r = xp_diags_fail(d, r, dom->config_path, "config",
				  "see 'xenprov config check'",
				  "the guest's config has errors xl would reject");
		goto out;
	}
	if (r < 0) {
		xp_diags_fail(d, r, dom->config_path, "config", NULL,
			      "cannot read the guest's config: %s", strerror(-r));
		goto out;
	}
	struct disk disk, golden;
	read_disk(dom->disk_path, &disk);
	read_disk(dom->golden, &golden);
	now = config_now(dom, &want, &disk, &golden, cfg, d);
	if (now && (r = compare_config(out, &dom->settings, &want, cfg, now)) < 0)
		goto out;
	if ((r = compare_settings(out, &dom->settings, &want)) < 0)
		goto out;
	/* a disk smaller than its record says (made from a smaller image, replaced) */
	uint64_t size;
	const char *ds = xp_settings_get(&want, "disk-size");
	if (ds && disk.ok && xp_parse_size(ds, &size) == 0 && size > disk.size &&
	    !item_of(out, "disk-size", &dom->settings, &want)) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; r == 0 && i < out->n; i++)
		r = classify(&out->v[i], dom, &want, &disk);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), item_cmp);
out:
	xp_cfg_free(now);
	xp_cfg_free(cfg);
	xp_settings_release(&want);
	return r;
}

/* ---- the toolstack ------------------------------------------------------------------------ */

/* 1 if the toolstack runs the guest, 0 if it answered without it, -1 if nothing answers
 * (toolstack.h: xl list -l); why not, as a note in d (may be NULL). */
static int running(struct xp_xl *given, const char *name, struct xp_diags *d)
{
	struct xp_xl *own = NULL, *xl = given;
	if (!xl && xp_xl_open(NULL, &own) < 0)
		return -1;
	if (!xl)
		xl = own;
	xp_xl_refresh(xl);
	enum xp_power p = xp_xl_power(xl, name, NULL);
	if (p == XP_POWER_UNKNOWN && d)
		xp_diags_add(d, XP_SEV_NOTE, NULL, 0, 0, "toolstack", NULL, NULL,
			     "cannot tell whether guest '%s' runs: %s", name,
			     xp_xl_why(xl) ? xp_xl_why(xl) : "the toolstack does not answer");
	xp_xl_free(own);
	return p == XP_POWER_RUNNING ? 1 : p == XP_POWER_STOPPED ? 0 : -1;
}

/* ---- applying ------------------------------------------------------------------------------ */

static void mark(struct xp_drift *dr, enum xp_drift_action a, enum xp_drift_status s)
{
	for (size_t i = 0; i < dr->n; i++)
		if (dr->v[i].action == a)
			dr->v[i].status = s;
}

/* The config items: every setting set or removed in one edit of the file, written
 * atomically under the lock `config set` takes. */
static int apply_config(struct xp_drift *dr, const struct xp_domain *dom,
			const struct xp_settings *want, struct xp_diags *d)
{
	int lock = xp_lock_dir_of(dom->config_path, true);
	if (lock < 0)
		return xp_diags_fail(d, lock, dom->config_path, "config", NULL,
				     "cannot lock the config's directory: %s", strerror(-lock));
	struct xp_cfg *cfg = NULL;
	int r = xp_cfg_load(dom->config_path, NULL, &cfg);
	if (r < 0) {
		xp_diags_fail(d, r, dom->config_path, "config", NULL,
			      "cannot read the guest's config: %s",
			      r == -EBADMSG ? "it has errors" : strerror(-r));
		goto out;
	}
	for (size_t i = 0; r == 0 && i < dr->n; i++) {
		const struct xp_drift_item *it = &dr->v[i];
		for (size_t k = 0; it->action == XP_DRIFT_CONFIG && r == 0 && k < it->nxl; k++) {
			const struct xp_drift_xl *x = &it->xl[k];
			r = x->profile ? xp_cfg_set(cfg, x->setting, x->profile)
				       : xp_cfg_unset(cfg, x->setting);
			if (r == -ENOENT)
				r = 0;
			if (r < 0)
				xp_diags_fail(d, r, dom->config_path, "config", NULL,
					      "cannot set %s in the config: %s", x->setting,
					      r == -EBADMSG ? "the result would not be valid"
							    : strerror(-r));
		}
	}
	size_t len;
	const char *text = xp_cfg_text(cfg, &len);
	if (r == 0 && (r = xp_write_atomic(dom->config_path, text, len, 0644)) < 0)
		xp_diags_fail(d, r, dom->config_path, "config", NULL, "cannot write the config: %s",
			      strerror(-r));
	/* a config that now carries a secret is root's alone, as domain create writes it */
	for (size_t i = 0; r == 0 && i < want->n; i++)
		if (strncmp(want->v[i].key, "config.", 7) == 0 &&
		    xp_profile_key_secret(want->v[i].key) && chmod(dom->config_path, 0600) < 0)
			r = xp_diags_fail(d, -errno, dom->config_path, "config", NULL,
					  "cannot make the config private: %s", strerror(errno));
out:
	xp_cfg_free(cfg);
	xp_unlock(lock);
	mark(dr, XP_DRIFT_CONFIG, r == 0 ? XP_DRIFT_APPLIED : XP_DRIFT_FAILED);
	return r;
}

static int apply_disk(struct xp_inv *inv, struct xp_drift *dr, const struct xp_domain *dom,
		      const struct xp_settings *want, struct xp_diags *d)
{
	uint64_t size = 0;
	xp_parse_size(xp_settings_get(want, "disk-size"), &size);
	enum xp_storage st = XP_STORAGE_FILE;
	if (dom->storage)
		xp_storage_from_name(dom->storage, &st);
	/* temporary copies of the filesystem go beside the disk (the same filesystem, room
	 * for a copy is room for the disk's growth), a volume's into the state directory */
	char *dir = NULL;
	if (st == XP_STORAGE_LVM) {
		dir = strdup(xp_inv_state_dir(inv));
	} else {
		const char *slash = strrchr(dom->disk_path, '/');
		dir = slash && slash != dom->disk_path
			  ? strndup(dom->disk_path, (size_t)(slash - dom->disk_path))
			  : strdup(slash ? "/" : ".");
	}
	if (!dir)
		return -ENOMEM;
	struct xp_image_grown g;
	int r = xp_storage_grow(st, dom->disk_path, size, dir, &g, d);
	free(dir);
	if (r < 0)
		xp_diags_fail(d, r, dom->disk_path, "disk", NULL, "cannot grow the disk of '%s'",
			      dom->name);
	mark(dr, XP_DRIFT_DISK, r == 0 ? XP_DRIFT_APPLIED : XP_DRIFT_FAILED);
	return r;
}

static int apply_guest(struct xp_drift *dr, const struct xp_domain *dom,
		       const struct xp_settings *want, struct xp_diags *d)
{
	unsigned parts = 0;
	for (size_t i = 0; i < dr->n; i++)
		if (dr->v[i].action == XP_DRIFT_GUEST)
			parts |= dr->v[i].parts;
	struct xp_guest_spec spec = {
	    .name = dom->name,
	    .hostname = dom->name,
	    .domain = xp_settings_get(want, "domain"),
	    .mac = dom->mac,
	    .ip = dom->ip,
	    .prefix_len = dom->ip ? dom->prefix_len : 0,
	    .gateway = xp_settings_get(want, "gateway"),
	    .dns = xp_settings_get(want, "dns"),
	    .root_password_hash = xp_settings_get(want, "root-password-hash"),
	    .ssh_key = xp_settings_get(want, "ssh-key"),
	    .timezone = xp_settings_get(want, "timezone"),
	    .disk_path = dom->disk_path,
	    /* the network files and fstab cover the further NICs and disks too */
	    .nics = dom->nics,
	    .nnics = dom->nnics,
	    .volumes = dom->volumes,
	    .nvolumes = dom->nvolumes,
	};
	int r = xp_guest_refresh(&spec, parts, d);
	if (r < 0)
		xp_diags_fail(d, r, dom->disk_path, "guest", NULL,
			      "cannot rewrite the files of '%s': %s", dom->name, strerror(-r));
	mark(dr, XP_DRIFT_GUEST, r == 0 ? XP_DRIFT_APPLIED : XP_DRIFT_FAILED);
	return r;
}

/* The record: every key applied takes the profile's value. */
static int record(struct xp_inv *inv, const struct xp_drift *dr, const struct xp_domain *dom,
		  struct xp_diags *d)
{
	struct xp_settings s = {0};
	int r = 0;
	bool changed = false;
	for (size_t i = 0; r == 0 && i < dom->settings.n; i++)
		r = xp_settings_set(&s, dom->settings.v[i].key, dom->settings.v[i].value);
	for (size_t i = 0; r == 0 && i < dr->n; i++) {
		const struct xp_drift_item *it = &dr->v[i];
		if (it->status != XP_DRIFT_APPLIED || same(it->guest, it->profile))
			continue;
		changed = true;
		r = it->profile ? xp_settings_set(&s, it->key, it->profile)
				: xp_settings_unset(&s, it->key);
		if (r == -ENOENT)
			r = 0;
	}
	if (r == 0 && changed && (r = xp_domain_set_settings(inv, dom->name, &s)) < 0)
		xp_diags_fail(d, r, NULL, "inventory", NULL, "cannot record the changes: %s",
			      xp_inv_errmsg(inv));
	xp_settings_release(&s);
	return r;
}

int xp_drift_update(struct xp_inv *inv, const char *name, const struct xp_drift_update_opts *o,
		    struct xp_drift *out, struct xp_diags *d)
{
	memset(out, 0, sizeof(*out));
	out->running = -1;
	struct xp_domain dom;
	int r = xp_domain_find(inv, name, &dom, d);
	if (r < 0)
		return r;
	struct xp_settings want = {0};
	r = xp_drift_compute(inv, &dom, out, d);
	if (r == 0)
		r = want_settings(inv, &dom, &want, NULL);
	if (r < 0)
		goto out;

	/* offline work only on a guest known not to run, or said to be shut down; the
	 * toolstack is asked for config changes too, so that the caller can say a running
	 * guest needs a restart */
	bool offline_work = false, config_work = false;
	for (size_t i = 0; i < out->n; i++) {
		offline_work |= out->v[i].action == XP_DRIFT_DISK || out->v[i].action == XP_DRIFT_GUEST;
		config_work |= out->v[i].action == XP_DRIFT_CONFIG;
	}
	bool offline = false;
	if (offline_work || config_work)
		/* xl's own words help where the operator did not say the guest is down */
		out->running = running(o ? o->xl : NULL, name,
				       offline_work && !(o && o->offline) ? d : NULL);
	if (offline_work) {
		offline = out->running == 0 || (out->running < 0 && o && o->offline);
		if (!offline) {
			for (size_t i = 0; i < out->n; i++)
				if (out->v[i].action == XP_DRIFT_DISK ||
				    out->v[i].action == XP_DRIFT_GUEST)
					out->v[i].status = XP_DRIFT_REFUSED;
			if (d && out->running > 0)
				xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "running", name,
					     "shut it down (xenprov domain shutdown --wait), then "
					     "update again",
					     "guest '%s' is running: its disk and files are not "
					     "changed while it runs",
					     name);
			else if (d)
				xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "running", name,
					     "shut the guest down, then give --offline",
					     "cannot tell whether guest '%s' runs (no Xen toolstack "
					     "answers here): its disk and files are changed only "
					     "with --offline",
					     name);
		}
	}
	mark(out, XP_DRIFT_RECREATE, XP_DRIFT_LEFT);
	if (o && o->dry_run)
		goto out;

	int first = 0;
	bool any_config = false, any_disk = false, any_guest = false;
	for (size_t i = 0; i < out->n; i++) {
		any_config |= out->v[i].action == XP_DRIFT_CONFIG;
		any_disk |= out->v[i].action == XP_DRIFT_DISK;
		any_guest |= out->v[i].action == XP_DRIFT_GUEST;
	}
	if (any_config && (r = apply_config(out, &dom, &want, d)) < 0 && !first)
		first = r;
	if (offline && any_disk && (r = apply_disk(inv, out, &dom, &want, d)) < 0 && !first)
		first = r;
	if (offline && any_guest && (r = apply_guest(out, &dom, &want, d)) < 0 && !first)
		first = r;
	mark(out, XP_DRIFT_RECORD, XP_DRIFT_APPLIED);
	if ((r = record(inv, out, &dom, d)) < 0 && !first)
		first = r;
	r = first ? first : offline_work && !offline ? -EBUSY : 0;
out:
	if (r == 0 && o && o->dry_run && offline_work && !offline)
		r = -EBUSY;
	xp_settings_release(&want);
	xp_domain_release(&dom);
	return r;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

json_t *xp_drift_to_json(const struct xp_drift *dr, bool secrets)
{
	json_t *o = json_object(), *a = json_array();
	json_object_set_new(o, "domain", xp_json_text(dr->name));
	json_object_set_new(o, "profile", xp_json_text(dr->profile));
	for (size_t i = 0; i < dr->n; i++) {
		const struct xp_drift_item *it = &dr->v[i];
		bool hide = it->secret && !secrets;
		json_t *e = json_object(), *xl = json_array();
		json_object_set_new(e, "key", xp_json_text(it->key));
		json_object_set_new(e, "guest", hide ? json_null() : xp_json_text(it->guest));
		json_object_set_new(e, "profile", hide ? json_null() : xp_json_text(it->profile));
		if (hide)
			json_object_set_new(e, "withheld", json_true());
		json_object_set_new(e, "action", json_string(xp_drift_action_name(it->action)));
		json_object_set_new(e, "note", xp_json_text(it->note));
		for (size_t k = 0; k < it->nxl; k++) {
			json_t *x = json_object();
			json_object_set_new(x, "setting", xp_json_text(it->xl[k].setting));
			json_object_set_new(x, "guest",
					    hide ? json_null() : xp_json_text(it->xl[k].guest));
			json_object_set_new(x, "profile",
					    hide ? json_null() : xp_json_text(it->xl[k].profile));
			json_array_append_new(xl, x);
		}
		json_object_set_new(e, "config", xl);
		json_object_set_new(e, "status", json_string(xp_drift_status_name(it->status)));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "drift", a);
	json_object_set_new(o, "running", dr->running < 0 ? json_null() : json_boolean(dr->running));
	return o;
}

int xp_drift_wanted_image(struct xp_inv *inv, const struct xp_domain *dom, char **value,
			  struct xp_imgver *out)
{
	*value = NULL;
	memset(out, 0, sizeof(*out));
	if (!dom->profile)
		return 0;
	struct xp_settings eff = {0};
	int r = xp_profile_resolve(inv, dom->profile, &eff);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	/* the guest's own image value, where it gave one, wins as everywhere in drift */
	const char *img = xp_settings_get(&dom->overrides, "image");
	if (!img)
		img = xp_settings_get(&eff, "image");
	r = img ? xp_imgver_lookup(xp_inv_state_dir(inv), img, out, NULL) : 0;
	if (r == 1 && !(*value = strdup(img)))
		r = -ENOMEM;
	if (r != 1) {
		xp_imgver_release(out);
		r = r == -ENOMEM ? r : 0;
	}
	xp_settings_release(&eff);
	return r;
}

int xp_drift_image_version(struct xp_inv *inv, const struct xp_domain *dom, char **want)
{
	*want = NULL;
	if (!dom->image_version)
		return 0;
	char *value;
	struct xp_imgver ref;
	int r = xp_drift_wanted_image(inv, dom, &value, &ref);
	if (r <= 0)
		return r;
	free(value);
	r = 0;
	if (asprintf(want, "%s@%u", ref.name, ref.version) < 0) {
		*want = NULL;
		r = -ENOMEM;
	} else if (strcmp(*want, dom->image_version) != 0) {
		r = 1;
	} else {
		free(*want);
		*want = NULL;
	}
	xp_imgver_release(&ref);
	return r;
}
