/*
 * cmd-profile.c - `xenprov profile`: add, edit, show, list, remove, export and import
 * the inventory's profiles (what a guest is; Cobbler's profiles, xen-tools.conf).
 * Thin: parse arguments, call libxenprov (inventory.h; profile-io.h for export and
 * import), print. Every value goes through xp_profile_check, which also normalises it;
 * the store does the rest in transactions.
 *
 * Not here: what deploys do with a profile (cmd-deploy), the store itself.
 */
#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli-inventory.h"
#include "cli.h"
#include "xenprov/imgstore.h"
#include "xenprov/domain.h"
#include "xenprov/image.h"
#include "xenprov/inventory.h"
#include "xenprov/profile-io.h"
#include "xenprov/xl-config.h"

/* ---- shared ------------------------------------------------------------------------- */

#define STATE_DIR_HELP                                                                             \
	"  --state-dir DIR  the inventory's directory (default: $XENPROV_STATE_DIR, else\n"        \
	"                   /var/lib/xenprov as root, else $XDG_STATE_HOME/xenprov)\n"

/* The options of add and edit, one per profile setting (xp_profile_keys). */
#define SETTING_OPTIONS                                                                            \
	"  --parent P              take every setting not set here from profile P\n"               \
	"  --image PATH|DIST|NAME[@V]  root tarball or built image guests are made from\n"         \
	"                          (must exist; stored as an absolute path), or\n"                 \
	"                          debian:bookworm or debian:trixie, made by mmdebstrap,\n"        \
	"                          or a captured image's version (NAME: its latest)\n"             \
	"  --include PKG,...       packages of a debian:SUITE image besides minbase's\n"           \
	"  --install PKG,...       packages installed into the golden image when it is\n"         \
	"                          built (debian:SUITE images only)\n"                             \
	"  --disk-size SIZE        each guest's disk, e.g. 4G (at least 16M)\n"                    \
	"  --memory MIB            memory in MiB, or a size such as 1G (16 MiB to 16 TiB)\n"       \
	"  --vcpus N               virtual CPUs, 1 to 512\n"                                       \
	"  --swap SIZE             swap partition size, 0 for none\n"                              \
	"  --swap-disk SIZE        a swap volume of its own (NAME.swap), the guest's last\n"       \
	"                          disk, in its fstab by UUID; 0 for none\n"                       \
	"  --data-disk SIZE[,fs=ext4|xfs|none][,mount=DIR][,storage=KIND][,pool=P]\n"             \
	"                          a further disk (NAME.data1, ...: xvdb, xvdc, ...), made\n"      \
	"                          empty and formatted (ext4 unless fs= says), with mount=\n"     \
	"                          in the guests' fstab by UUID; repeatable\n"                      \
	"  --fs ext2|ext3|ext4     root filesystem\n"                                              \
	"  --label msdos|gpt|none  partition table\n"                                              \
	"  --storage file|reflink|qcow2|lvm\n"                                                     \
	"                          how each guest's disk is made\n"                                \
	"  --pool DIR|VG           where guest disks go: a directory or an LVM VG\n"               \
	"  --config-dir DIR        where the guests' xl configs go\n"                            \
	"  --bridge BR             the bridge the guests' vifs join\n"                             \
	"  --nic bridge=BR[,network=static|dhcp][,ip-pool=CIDR][,gateway=IP|dhcp]\n"            \
	"        [,mac-prefix=P]   a further NIC (enX1, ...) with its own MAC and address,\n"     \
	"                          matched by MAC in the guest; repeatable\n"                      \
	"  --type pv|pvh           guest type (default pv)\n"                                      \
	"  --boot pygrub|pvgrub|kernel\n"                                                          \
	"                          how guests boot (default pygrub; it and pvgrub need a\n"        \
	"                          kernel in the image's /boot)\n"                                 \
	"  --kernel PATH|from-image\n"                                                             \
	"                          --boot kernel's kernel: a file on this host, or the\n"          \
	"                          image's own (and its initrd); pvgrub: PV GRUB's image\n"        \
	"  --ramdisk PATH          initrd for --boot kernel (a file on this host)\n"               \
	"  --root DEV              root device, e.g. /dev/xvda1, UUID=..., LABEL=...\n"            \
	"  --extra TEXT            further kernel command line\n"                                  \
	"  --network dhcp|static   how guests get their address\n"                                 \
	"  --ip-pool CIDR          addresses for static guests, e.g. 10.0.0.0/24\n"                \
	"  --gateway IP            default gateway for static guests\n"                            \
	"  --dns IP[,IP...]        name servers for static guests\n"                               \
	"  --domain NAME           DNS domain of the guests\n"                                     \
	"  --root-password-hash HASH\n"                                                            \
	"                          root's password as a crypt(5) hash ($y$ or $6$)\n"              \
	"  --root-password-file FILE\n"                                                            \
	"                          read a password (the first line; - for standard\n"              \
	"                          input) and store its yescrypt hash\n"                           \
	"  --ssh-key KEY|FILE      root's SSH public key: a key line, or a file of key lines\n"    \
	"  --mac-prefix XX:XX:XX   prefix of the guests' random MACs (default 00:16:3e)\n"       \
	"  --distro NAME           the distro this profile's systems boot over the network\n"    \
	"                          (xenprov distro add; see xenprov serve)\n"                     \
	"  --timezone ZONE         the guests' time zone, e.g. Europe/Paris (tzdata name)\n"     \
	"  --autoinstall TEMPLATE  the autoinstall template (preseed, kickstart, cloud-init\n"   \
	"                          user-data) its systems fetch from the boot server, and\n"     \
	"                          its guests' cloud-init user-data (xenprov template)\n"        \
	"  --cloud-init on|off     deployed guests get a cloud-init NoCloud seed volume\n"      \
	"                          (ISO 9660, label cidata) as a read-only disk\n"               \
	"  --target-disk DEV       the disk the autoinstall installer writes (vda, sda,\n"      \
	"                          nvme0n1; default: the machine's first whole disk)\n"         \
	"  --wipe on|off           the installer writes over a disk that holds a partition\n"   \
	"                          table (default off: such a disk is refused)\n"               \
	"  --grow on|off           the installer grows the root partition and filesystem to\n" \
	"                          the end of the disk (default on; off: the disk-size)\n"     \
	"  --publish-image token|open\n"                                                          \
	"                          who may fetch the golden image from xenprov serve\n"          \
	"                          (install --server): the API token's holders (default),\n"    \
	"                          or open: the whole boot network (xenprov check warns)\n"     \
	"  --copy-in LOCAL:GUESTDIR[:UID:GID]\n"                                                   \
	"                          copy a host file or directory tree into GUESTDIR\n"            \
	"                          (owner root unless UID:GID); repeatable\n"                     \
	"  --write GUESTPATH:CONTENT\n"                                                            \
	"                          a guest file with this content (secret); repeatable\n"         \
	"  --firstboot-command CMD a shell command run once at the guests' first boot\n"         \
	"                          (systemd guests); repeatable, run in order\n"                 \
	"  --config KEY=VALUE      any further xl setting KEY (profile setting\n"                  \
	"                          config.KEY), VALUE in config syntax or plain text;\n"           \
	"                          repeatable\n"                                                   \
	"\n"                                                                                        \
	"Cobbler's names, in Cobbler's units (so that 'cobbler profile add ...' works as\n"      \
	"'xenprov profile add ...'; '<<inherit>>' takes the parent's value):\n"                  \
	"  --name NAME             the profile's name (instead of the operand NAME)\n"           \
	"  --virt-file-size GB[,GB...]\n"                                                          \
	"                          --disk-size in GB (GiB, as koan gave virt-install);\n"        \
	"                          each further size a blank --data-disk (fs=none)\n"            \
	"  --virt-ram MB           --memory in MB (MiB)\n"                                         \
	"  --virt-cpus N           --vcpus\n"                                                      \
	"  --virt-bridge BR        --bridge\n"                                                     \
	"  --virt-path DIR|VG      --pool: a directory, or a volume group (then --storage\n"     \
	"                          lvm); a partition (/dev/sda4) is refused\n"                   \
	"  --virt-type xenpv|auto  --type pv (auto: the default); xenfv, qemu, kvm, vmware\n"   \
	"                          and openvz are refused: xenprov makes Xen PV and PVH\n"       \
	"                          guests\n"

/* Options that map straight to the profile setting of the same name. */
static const char *const plain_keys[] = {
    "disk-size", "memory",  "vcpus", "swap",   "fs",
    "label",	 "storage", "pool",  "config-dir", "bridge", "boot", "type",
    "kernel",	 "ramdisk", "root",  "extra",  "network",
    "ip-pool",	 "gateway", "dns",   "domain", "root-password-hash", "mac-prefix",
    "distro",	 "timezone", "include", "install", "swap-disk", "autoinstall", "cloud-init",
    "target-disk", "wipe", "grow", "publish-image", NULL,
};

/* Options that add one item to the list setting of the same name (repeatable). */
static const char *const list_keys[] = {"copy-in", "write", "firstboot-command", "data-disk",
					"nic", NULL};
#define NLIST_KEYS (sizeof(list_keys) / sizeof(list_keys[0]) - 1)

enum {
	O_PARENT = 256,
	O_NO_PARENT,
	O_UNSET,
	O_IMAGE,
	O_CONFIG,
	O_PW_FILE,
	O_SSH_KEY,
	O_NAME,
	O_VIRT = 448,  /* + index in virt_options */
	O_LIST = 480,  /* + index in list_keys */
	O_PLAIN = 512, /* + index in plain_keys */
};

/* The library's diagnostics (xp_profile_check, profile-io.h), one line each:
 *   xenprov: [warning: ]MESSAGE[ (got 'TEXT')]
 * e.g. "xenprov: memory: between 16 MiB and 16 TiB (got '8')", and the hint indented
 * under it. Secrets are never in a diagnostic's text. */
static void print_diags(const struct xp_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct xp_diag *g = &d->v[i];
		struct xp_buf b = XP_BUF_INIT;
		xp_buf_adds(&b, g->msg);
		if (g->text)
			xp_buf_addf(&b, " (got '%s')", g->text);
		if (g->severity == XP_SEV_WARNING)
			cli_warn("%s", xp_buf_str(&b));
		else
			cli_error("%s", xp_buf_str(&b));
		xp_buf_release(&b);
		if (g->hint)
			fprintf(stderr, "    hint: %s\n", g->hint);
	}
}

/* A library call's end: its diagnostics printed; XP_EXIT_FAIL if it failed (saying
 * "out of memory" for -ENOMEM, which leaves no diagnostic). */
static int lib_diags(int r, const struct xp_diags *d)
{
	print_diags(d);
	if (r == -ENOMEM)
		cli_error("out of memory");
	else if (r < 0 && xp_diags_count(d, XP_SEV_ERROR) == 0)
		cli_error("%s", strerror(-r));
	return r < 0 ? XP_EXIT_FAIL : XP_EXIT_OK;
}

static bool key_known(const char *key)
{
	if (strncmp(key, "config.", 7) == 0)
		return xp_cfg_name_valid(key + 7);
	for (const struct xp_profile_key *k = xp_profile_keys; k->key; k++)
		if (strncmp(k->key, "config.", 7) != 0 && strcmp(k->key, key) == 0)
			return true;
	return false;
}

/* ---- reading secrets and keys -------------------------------------------------------- */

/* The yescrypt hash of the first line of path (crypt(5), libxcrypt crypt_r). The
 * plaintext is wiped before returning and never printed. */
static int hash_password_file(const char *path, char **hash)
{
	char *data = NULL;
	size_t len = 0;
	int r = xp_read_file(path, 4096, &data, &len);
	if (r == -EFBIG)
		return cli_error("'%s' is too big to be a password file", path);
	if (r < 0)
		return cli_error("cannot read '%s': %s", path, strerror(-r));
	/* by len, not as a string: an empty file's buffer is not NUL-terminated
	 * (xp_buf_reserve leaves a fresh allocation unterminated) */
	const char *nl = memchr(data, '\n', len);
	size_t n = nl ? (size_t)(nl - data) : len;
	n = strnlen(data, n);
	if (n > 0 && data[n - 1] == '\r')
		n--;
	data[n] = 0;
	int rc = XP_EXIT_OK;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (n == 0) {
		rc = cli_error("'%s' holds an empty password", path);
	} else if (!cd) {
		rc = cli_error("out of memory");
	} else if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof(salt))) {
		rc = cli_error("cannot make a yescrypt salt: %s", strerror(errno));
	} else {
		const char *h = crypt_r(data, salt, cd);
		if (!h || h[0] == '*')
			rc = cli_error("cannot hash the password of '%s'", path);
		else if (!(*hash = strdup(h)))
			rc = cli_error("out of memory");
	}
	explicit_bzero(data, len);
	free(data);
	if (cd) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	return rc;
}

/* ---- add / edit ---------------------------------------------------------------------- */

struct changes {
	const char *state_dir;
	struct xp_settings set; /* checked, normalised values */
	char **unset;
	size_t nunset;
	const char *parent;
	bool no_parent;
	bool pw_hash_given, pw_file_given;
	const char *name; /* NAME: the operand, or Cobbler's --name */
	/* keys whose own value goes if the profile has one (Cobbler's <<inherit>>) */
	const char *inherit[8];
	size_t ninherit;
};

static void changes_release(struct changes *c)
{
	xp_settings_release(&c->set);
	free(c->unset);
}

/* Checks and normalises one value into c->set; prints what is wrong. */
static int take_value(struct changes *c, const char *key, const char *value)
{
	struct xp_diags d;
	xp_diags_init(&d);
	char *norm = NULL;
	int r = xp_profile_check(key, value, &norm, &d);
	int rc = XP_EXIT_OK;
	if (r == -EINVAL)
		print_diags(&d);
	if (r == -EINVAL)
		rc = XP_EXIT_FAIL;
	else if (r < 0 || xp_settings_set(&c->set, key, norm) < 0)
		rc = cli_error("out of memory");
	free(norm);
	xp_diags_release(&d);
	return rc;
}

static int take_image(struct changes *c, const char *path)
{
	/* a distribution xenprov makes is a name, not a file */
	if (xp_dist_valid(path))
		return take_value(c, "image", path);
	struct stat st;
	/* NAME or NAME@V of a captured image (xenprov image versions): a name, kept as
	 * given; NAME follows the latest version */
	char iname[XP_IMGVER_NAME_MAX + 1];
	unsigned iver;
	if (stat(path, &st) < 0 && errno == ENOENT && xp_imgver_parse_ref(path, iname, &iver, NULL) == 0)
		return take_value(c, "image", path);
	if (stat(path, &st) < 0 && errno == ENOENT && strchr(path, ':') && !strchr(path, '/'))
		return cli_error("cannot use image '%s': not a file, nor a distribution xenprov "
				 "makes (debian:bookworm, debian:trixie)",
				 path);
	if (stat(path, &st) < 0)
		return cli_error("cannot use image '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return cli_error("cannot use image '%s': %s", path, strerror(EISDIR));
	/* a block device by the name given: a logical volume's /dev/VG/LV is what lvm2's
	 * tools take (a thin snapshot of it), the /dev/dm-N it links to is not, and may
	 * name another volume after a reboot */
	if (S_ISBLK(st.st_mode) && path[0] == '/')
		return take_value(c, "image", path);
	char *abs = realpath(path, NULL);
	if (!abs)
		return cli_error("cannot use image '%s': %s", path, strerror(errno));
	int rc = take_value(c, "image", abs);
	free(abs);
	return rc;
}

/* ---- Cobbler's virt options ------------------------------------------------------------ */

/* Cobbler's profile options for guests (cobbler(1), "profile add"), taken in its units
 * and mapped onto xenprov's settings. */
static const char *const virt_options[] = {"virt-file-size", "virt-ram",  "virt-cpus",
					   "virt-bridge",    "virt-path", "virt-type", NULL};

/* Cobbler's "<<inherit>>": on edit the profile's own value of key goes (the parent's
 * applies), if it has one; on add nothing is set. */
static int inherit(struct changes *c, bool edit, const char *key)
{
	if (!edit)
		return 0;
	if (c->ninherit == sizeof(c->inherit) / sizeof(c->inherit[0]))
		return cli_error("too many <<inherit>> values");
	c->inherit[c->ninherit++] = key;
	return 0;
}

/* A number of GB as Cobbler takes it (an integer or a decimal, no unit) as a size in
 * GiB ("4" -> "4G", "1.5" -> "1.5G"); false if v is not one. */
static bool gigabytes(const char *v, char *out, size_t size)
{
	size_t i = strspn(v, "0123456789");
	if (i == 0)
		return false;
	if (v[i] == '.') {
		size_t f = strspn(v + i + 1, "0123456789");
		if (f == 0)
			return false;
		i += 1 + f;
	}
	return !v[i] && snprintf(out, size, "%sG", v) < (int)size;
}

static int take_virt(struct changes *c, bool edit, const char *opt, const char *value)
{
	const char *verb = edit ? "profile edit" : "profile add";
	if (strcmp(value, "<<inherit>>") == 0) {
		if (strcmp(opt, "virt-file-size") == 0)
			return inherit(c, edit, "disk-size");
		if (strcmp(opt, "virt-path") == 0)
			return inherit(c, edit, "pool");
		return inherit(c, edit,
			       strcmp(opt, "virt-ram") == 0	  ? "memory"
			       : strcmp(opt, "virt-cpus") == 0	  ? "vcpus"
			       : strcmp(opt, "virt-bridge") == 0 ? "bridge"
								  : "type");
	}
	if (strcmp(opt, "virt-file-size") == 0) {
		/* "5,6,7": the first the guest's own disk, the others blank further disks
		 * (Cobbler's installers partition them; here they are left unformatted) */
		char *copy = strdup(value), *save = NULL;
		if (!copy)
			return cli_error("out of memory");
		int rc = 0, i = 0;
		for (char *w = strtok_r(copy, ",", &save); w && rc == 0;
		     w = strtok_r(NULL, ",", &save), i++) {
			char size[64], item[96];
			if (!gigabytes(w, size, sizeof(size))) {
				rc = cli_usage_error(verb, "--virt-file-size takes gigabytes, a number "
							   "without a unit (Cobbler's), e.g. 4 or 4,10; "
							   "got '%s'",
						     value);
				break;
			}
			if (i == 0) {
				rc = take_value(c, "disk-size", size);
			} else {
				snprintf(item, sizeof(item), "%s,fs=none", size);
				rc = cli_list_item(&c->set, "data-disk", item);
			}
		}
		free(copy);
		if (rc == 0 && i == 0)
			rc = cli_usage_error(verb, "--virt-file-size takes gigabytes, e.g. 4");
		return rc;
	}
	if (strcmp(opt, "virt-ram") == 0) {
		/* megabytes, an integer: memory takes MiB as a plain number */
		if (!value[0] || value[strspn(value, "0123456789")])
			return cli_usage_error(verb, "--virt-ram takes megabytes, an integer "
						     "without a unit (Cobbler's), e.g. 512; got '%s'",
					       value);
		return take_value(c, "memory", value);
	}
	if (strcmp(opt, "virt-cpus") == 0)
		return take_value(c, "vcpus", value);
	if (strcmp(opt, "virt-bridge") == 0)
		return take_value(c, "bridge", value);
	if (strcmp(opt, "virt-path") == 0) {
		/* Cobbler: a directory (where the image files go), a volume group, or a
		 * partition; several, comma-separated, for several disks */
		if (strchr(value, ','))
			return cli_error("--virt-path '%s': one place for all of a guest's disks "
					 "(a further disk's own is --data-disk ...,pool=P)",
					 value);
		if (strncmp(value, "/dev/", 5) == 0)
			return cli_error("--virt-path '%s': a partition holds one disk, and xenprov "
					 "makes a disk for each guest; give a directory or a volume "
					 "group",
					 value);
		if (value[0] == '/')
			return take_value(c, "pool", value);
		int rc = take_value(c, "pool", value);
		return rc ? rc : take_value(c, "storage", "lvm");
	}
	/* virt-type */
	if (strcmp(value, "xenpv") == 0)
		return take_value(c, "type", "pv");
	if (strcmp(value, "auto") == 0)
		return inherit(c, edit, "type"); /* the default, pv */
	if (strcmp(value, "xenfv") == 0)
		return cli_error("--virt-type xenfv: xenprov makes Xen PV and PVH guests, not fully "
				 "virtualised (HVM) ones; use xenpv, or --type pvh");
	if (!strcmp(value, "qemu") || !strcmp(value, "kvm") || !strcmp(value, "vmware") ||
	    !strcmp(value, "openvz"))
		return cli_error("--virt-type %s: xenprov makes Xen guests only (xenpv)", value);
	return cli_usage_error(verb, "--virt-type takes xenpv or auto (Cobbler's names); got "
				     "'%s'",
			       value);
}

/* Parses the options of add (edit = false) or edit into c, checks NAME (the operand or
 * --name, into c->name) and opens the inventory. Returns 0, or the exit code after printing
 * why not (c released). */
static int parse_changes(int argc, char **argv, bool edit, struct changes *c, struct xp_inv **inv)
{
	const char *verb = edit ? "profile edit" : "profile add";
	struct option opts[64];
	size_t no = 0;
	static const struct option fixed[] = {
	    {"parent", required_argument, NULL, O_PARENT},
	    {"image", required_argument, NULL, O_IMAGE},
	    {"config", required_argument, NULL, O_CONFIG},
	    {"root-password-file", required_argument, NULL, O_PW_FILE},
	    {"ssh-key", required_argument, NULL, O_SSH_KEY},
	    {"no-parent", no_argument, NULL, O_NO_PARENT},
	    {"unset", required_argument, NULL, O_UNSET},
	    {"name", required_argument, NULL, O_NAME},
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (edit || (fixed[i].val != O_NO_PARENT && fixed[i].val != O_UNSET))
			opts[no++] = fixed[i];
	for (size_t i = 0; plain_keys[i]; i++)
		opts[no++] =
		    (struct option){plain_keys[i], required_argument, NULL, O_PLAIN + (int)i};
	for (size_t i = 0; list_keys[i]; i++)
		opts[no++] = (struct option){list_keys[i], required_argument, NULL, O_LIST + (int)i};
	for (size_t i = 0; virt_options[i]; i++)
		opts[no++] =
		    (struct option){virt_options[i], required_argument, NULL, O_VIRT + (int)i};
	opts[no] = (struct option){NULL, 0, NULL, 0};

	memset(c, 0, sizeof(*c));
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "NAME"};
	int o, rc = 0;
	/* options and NAME in any order (getopt permutes) */
	while (rc == 0 && (o = cli_getopt(argc, argv, "", opts, &co)) != -1) {
		switch (o) {
		case O_PARENT:
			c->parent = optarg;
			break;
		case O_NAME:
			c->name = optarg;
			break;
		case O_NO_PARENT:
			c->no_parent = true;
			break;
		case O_UNSET: {
			if (!key_known(optarg)) {
				rc =
				    cli_error("'%s' is not a profile setting (see 'xenprov %s -h')",
					      optarg, verb);
				break;
			}
			char **nu = realloc(c->unset, (c->nunset + 1) * sizeof(*nu));
			if (!nu) {
				rc = cli_error("out of memory");
				break;
			}
			c->unset = nu;
			c->unset[c->nunset++] = optarg;
			break;
		}
		case O_IMAGE:
			rc = take_image(c, optarg);
			break;
		case O_CONFIG: {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				rc = cli_usage_error(verb, "--config takes KEY=VALUE, got '%s'",
						     optarg);
				break;
			}
			char key[300];
			if ((size_t)(eq - optarg) > 256) {
				rc = cli_error("config: setting name too long");
				break;
			}
			snprintf(key, sizeof(key), "config.%.*s", (int)(eq - optarg), optarg);
			rc = take_value(c, key, eq + 1);
			break;
		}
		case O_PW_FILE: {
			char *hash = NULL;
			c->pw_file_given = true;
			rc = hash_password_file(optarg, &hash);
			if (rc == 0)
				rc = take_value(c, "root-password-hash", hash);
			free(hash);
			break;
		}
		case O_SSH_KEY: {
			char *key = NULL;
			rc = cli_ssh_key_arg(optarg, &key);
			if (rc == 0)
				rc = take_value(c, "ssh-key", key);
			free(key);
			break;
		}
		default:
			if (o >= O_VIRT && o < O_LIST) {
				rc = take_virt(c, edit, virt_options[o - O_VIRT], optarg);
				break;
			}
			if (o >= O_LIST && o < O_LIST + (int)NLIST_KEYS) {
				rc = cli_list_item(&c->set, list_keys[o - O_LIST], optarg);
				break;
			}
			if (o >= O_PLAIN && o < O_PLAIN + 64) {
				const char *key = plain_keys[o - O_PLAIN];
				if (strcmp(key, "root-password-hash") == 0)
					c->pw_hash_given = true;
				rc = take_value(c, key, optarg);
				break;
			}
			rc = cli_bad_option(verb, argv);
		}
	}
	c->state_dir = co.state_dir;
	if (rc == 0 && c->pw_hash_given && c->pw_file_given)
		rc = cli_usage_error(verb, "give --root-password-hash or --root-password-file, "
					   "not both");
	if (rc == 0 && c->parent && c->no_parent)
		rc = cli_usage_error(verb, "give --parent or --no-parent, not both");
	for (size_t i = 0; rc == 0 && i < c->nunset; i++)
		if (xp_settings_get(&c->set, c->unset[i]))
			rc = cli_usage_error(verb, "'%s' is both set and unset", c->unset[i]);
	if (rc == 0 && c->parent &&
	    !cli_inv_name_ok("profile", c->parent, xp_profile_name_valid(c->parent)))
		rc = XP_EXIT_FAIL;
	/* Cobbler's --name=N stands for the operand */
	if (rc == 0 && c->name && optind < argc)
		rc = cli_usage_error(verb, "give NAME or --name, not both");
	else if (rc == 0 && !c->name)
		rc = cli_operands(argc, argv, verb, &co);
	if (rc == 0 && !c->name)
		c->name = argv[optind];
	if (rc == 0) {
		bool any = c->set.n || c->nunset || c->ninherit || c->parent || c->no_parent;
		rc = cli_inv_args_done(verb, "profile", edit, any, xp_profile_name_valid(c->name),
				       c->name, c->state_dir, inv);
	}
	if (rc)
		changes_release(c);
	return rc;
}

/* How the profile's guests would boot, with the values it would have (its parent's,
 * then set's), refused with the reason where it cannot work (xp_boot_check_profile:
 * the image's kernels, files on this host); warnings printed. A missing parent is left
 * to the store to report. */
static int boot_check(struct xp_inv *inv, const char *parent, const struct xp_settings *set)
{
	struct xp_settings eff = {0};
	int r = parent ? xp_profile_resolve(inv, parent, &eff) : 0;
	if (r == -ENOENT || r == -ELOOP)
		r = 0;
	for (size_t i = 0; r == 0 && i < set->n; i++)
		r = xp_settings_set(&eff, set->v[i].key, set->v[i].value);
	struct xp_diags d;
	xp_diags_init(&d);
	if (r == 0)
		r = xp_boot_check_profile(&eff, &d);
	int rc = lib_diags(r, &d);
	xp_diags_release(&d);
	xp_settings_release(&eff);
	return rc;
}

/* The usage of add and edit lists every profile setting: longer than the 4095 bytes
 * ISO C promises a string literal (-Woverlength-strings, part of -Wpedantic); GCC and
 * Clang, the compilers of every build preset, take any length. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
static const char add_usage[] =
    "Usage: xenprov profile add NAME [--parent P] [OPTIONS]\n"
    "\n"
    "Adds a profile: what guests made from it are. Each option sets the profile\n"
    "setting of the same name; values are checked and normalised (sizes to bytes,\n"
    "memory to MiB, networks to their CIDR). A profile with a parent takes every\n"
    "setting it does not set itself from the parent, and so on up the chain.\n"
    "Nothing is stored if any value is wrong.\n"
    "\n" SETTING_OPTIONS STATE_DIR_HELP "  -h, --help              this help\n"
    "\n"
    "Example:\n"
    "  xenprov profile add base --image debian-12.tar.zst --disk-size 8G --memory 1G\n"
    "  xenprov profile add web --parent base --vcpus 4 --config on_crash=restart\n"
    "  xenprov profile add db --parent base --data-disk 20G,mount=/srv --swap-disk 1G \\\n"
    "      --nic bridge=xenbr1,ip-pool=10.1.0.0/24\n";

static int add(struct xp_inv *inv, const char *name, const struct changes *c)
{
	struct xp_profile p = {.name = (char *)name, .parent = (char *)c->parent, .set = c->set};
	int rc = boot_check(inv, p.parent, &p.set);
	if (rc)
		return rc;
	int r = xp_profile_add(inv, &p);
	if (r == -EEXIST)
		return cli_error("profile '%s' exists (use 'xenprov profile edit')", name);
	if (r == -ENOENT)
		return cli_error("no profile '%s' (the parent)", c->parent);
	if (r == -EINVAL)
		return cli_error("cannot add profile '%s': %s", name, xp_inv_errmsg(inv));
	return r < 0 ? cli_inv_error(inv, "add profile", name, r) : 0;
}

static const char edit_usage[] =
    "Usage: xenprov profile edit NAME [OPTIONS] [--unset KEY]... [--parent P|--no-parent]\n"
    "\n"
    "Changes a profile's settings: only those given; the others stay as they are.\n"
    "Values are checked as by 'xenprov profile add'. Nothing is stored if any value\n"
    "is wrong.\n"
    "\n" SETTING_OPTIONS
    "  --unset KEY             remove the profile's own setting KEY (e.g. memory,\n"
    "                          config.on_crash), so that it comes from the parent\n"
    "                          again; repeatable\n"
    "  --no-parent             make the profile stand alone\n" STATE_DIR_HELP
    "  -h, --help              this help\n"
    "\n"
    "Example: xenprov profile edit web --memory 2G --unset swap\n";
#pragma GCC diagnostic pop

/* read, changed and written back in one transaction: no lost update */
static int edit(struct xp_inv *inv, const char *name, const struct changes *c)
{
	struct xp_profile p = {0};
	int rc = 0, r = xp_inv_begin(inv);
	if (r < 0) {
		rc = cli_inv_error(inv, "edit profile", name, r);
		goto out;
	}
	r = xp_profile_get(inv, name, &p);
	if (r == -ENOENT) {
		rc = cli_error("no profile '%s'", name);
		goto fail;
	}
	if (r < 0) {
		rc = cli_inv_error(inv, "read profile", name, r);
		goto fail;
	}
	for (size_t i = 0; i < c->nunset; i++)
		if (xp_settings_unset(&p.set, c->unset[i]) < 0) {
			rc = cli_error("profile '%s' has no setting '%s' of its own", name,
				       c->unset[i]);
			goto fail;
		}
	for (size_t i = 0; i < c->ninherit; i++)
		if (!xp_settings_get(&c->set, c->inherit[i]))
			xp_settings_unset(&p.set, c->inherit[i]); /* none of its own: nothing */
	for (size_t i = 0; i < c->set.n; i++)
		if (xp_settings_set(&p.set, c->set.v[i].key, c->set.v[i].value) < 0) {
			rc = cli_error("out of memory");
			goto fail;
		}
	if (c->parent || c->no_parent) {
		free(p.parent);
		p.parent = NULL;
		if (c->parent && !(p.parent = strdup(c->parent))) {
			rc = cli_error("out of memory");
			goto fail;
		}
	}
	if ((rc = boot_check(inv, p.parent, &p.set)))
		goto fail;
	r = xp_profile_update(inv, &p);
	if (r == -ENOENT)
		rc = cli_error("no profile '%s' (the parent)", p.parent ? p.parent : name);
	else if (r == -ELOOP)
		rc = cli_error("'%s' cannot be the parent of '%s': %s", p.parent, name,
			       xp_inv_errmsg(inv));
	else if (r == -EINVAL)
		rc = cli_error("cannot edit profile '%s': %s", name, xp_inv_errmsg(inv));
	else if (r < 0)
		rc = cli_inv_error(inv, "update profile", name, r);
	if (rc)
		goto fail;
	r = xp_inv_commit(inv);
	if (r < 0)
		rc = cli_inv_error(inv, "update profile", name, r);
	goto out;
fail:
	xp_inv_rollback(inv);
out:
	xp_profile_release(&p);
	return rc;
}

/* add, and edit (argv[0]) */
static int run_write(int argc, char **argv)
{
	bool editing = strcmp(argv[0], "edit") == 0;
	struct changes c;
	struct xp_inv *inv;
	int rc = parse_changes(argc, argv, editing, &c, &inv);
	if (rc)
		return rc;
	rc = editing ? edit(inv, c.name, &c) : add(inv, c.name, &c);
	xp_inv_close(inv);
	changes_release(&c);
	return rc;
}

/* ---- show ---------------------------------------------------------------------------- */

/* A profile's chain, itself first; c->n profiles (xp_profile_chain). */
struct chain {
	struct xp_profile *v;
	size_t n;
};

/* "4294967296 (4 GiB)" for the keys holding bytes; the value alone otherwise; a
 * secret's stand-in unless secrets. */
static void print_value(const char *key, const char *value, bool secrets, struct xp_buf *b)
{
	if (!secrets && xp_profile_key_secret(key)) {
		xp_buf_adds(b, CLI_SECRET_TEXT);
		return;
	}
	xp_buf_adds(b, value);
	if (strcmp(key, "disk-size") != 0 && strcmp(key, "swap") != 0 &&
	    strcmp(key, "swap-disk") != 0)
		return;
	unsigned long long v = strtoull(value, NULL, 10);
	char human[32];
	cli_human_size(v, human);
	if (v >= 1024)
		xp_buf_addf(b, " (%s)", human);
}

static const char show_usage[] =
    "Usage: xenprov profile show [--json] [--resolved] [--secrets] NAME\n"
    "\n"
    "Prints a profile: its parent, when it was made and changed, and its own\n"
    "settings. With --resolved, the settings guests made from it get: those of the\n"
    "parent chain, each overridden by its child's, with the profile each comes from.\n"
    "Secret values (root-password-hash, write, config.vncpasswd, config.spicepasswd)\n"
    "are shown only with --secrets.\n"
    "\n"
    "  --json        one JSON object: name, parent, created, updated (unix seconds),\n"
    "                settings, withheld (the secret keys left out); with --resolved\n"
    "                also \"from\" (setting -> profile)\n"
    "  --resolved    the effective settings through the parent chain\n"
    "  --secrets     show secret values too\n" STATE_DIR_HELP "  -h, --help    this help\n";

static int run_show(int argc, char **argv)
{
	int resolved = 0;
	const struct option opts[] = {{"resolved", no_argument, &resolved, 1}, {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_JSON | CLI_SECRETS | CLI_STATE_DIR, .operand = "NAME"};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, "profile show", "", opts, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	const char *name = argv[optind];
	struct chain ch;
	int r = xp_profile_chain(inv, name, &ch.v, &ch.n);
	xp_inv_close(inv);
	if (r == -ENOENT)
		return cli_error("no profile '%s'", name);
	if (r == -ELOOP)
		return cli_error("the parent chain of '%s' is too long", name);
	if (r < 0)
		return cli_error("cannot read profile '%s': %s", name, strerror(-r));

	/* the effective values and where each comes from, root first */
	struct xp_settings eff = {0}, from = {0};
	size_t first = resolved ? ch.n : 1;
	for (size_t i = first; i-- > 0;)
		for (size_t k = 0; k < ch.v[i].set.n; k++)
			if (xp_settings_set(&eff, ch.v[i].set.v[k].key, ch.v[i].set.v[k].value) <
				0 ||
			    xp_settings_set(&from, ch.v[i].set.v[k].key, ch.v[i].name) < 0)
				rc = XP_EXIT_FAIL;
	if (rc) {
		rc = cli_error("out of memory");
	} else if (co.json) {
		const struct xp_profile *p = &ch.v[0];
		json_t *j = json_object(), *f = json_object(), *withheld = json_array();
		json_object_set_new(j, "name", json_string(p->name));
		json_object_set_new(j, "parent", p->parent ? json_string(p->parent) : json_null());
		json_object_set_new(j, "created", json_integer(p->created));
		json_object_set_new(j, "updated", json_integer(p->updated));
		for (size_t i = 0; i < eff.n; i++)
			json_object_set_new(f, from.v[i].key, json_string(from.v[i].value));
		json_object_set_new(j, "settings", xp_settings_to_json(&eff, co.secrets, withheld));
		json_object_set_new(j, "withheld", withheld);
		if (resolved)
			json_object_set_new(j, "from", f);
		else
			json_decref(f);
		rc = cli_print_json(j);
	} else {
		const struct xp_profile *p = &ch.v[0];
		char created[32], updated[32];
		cli_fmt_time(p->created, created);
		cli_fmt_time(p->updated, updated);
		struct xp_buf b = XP_BUF_INIT;
		xp_buf_addf(&b, "name     %s\n", p->name);
		xp_buf_addf(&b, "parent   %s\n", p->parent ? p->parent : "-");
		xp_buf_addf(&b, "created  %s\n", created);
		xp_buf_addf(&b, "updated  %s\n", updated);
		int kw = 3, vw = 5;
		for (size_t i = 0; i < eff.n; i++) {
			int l = (int)strlen(eff.v[i].key);
			kw = l > kw ? l : kw;
			struct xp_buf v = XP_BUF_INIT;
			print_value(eff.v[i].key, eff.v[i].value, co.secrets, &v);
			l = (int)v.len;
			vw = l > vw && l < 60 ? l : vw;
			xp_buf_release(&v);
		}
		if (eff.n) {
			xp_buf_addc(&b, '\n');
			if (resolved)
				xp_buf_addf(&b, "%-*s  %-*s  %s\n", kw, "KEY", vw, "VALUE", "FROM");
		}
		for (size_t i = 0; i < eff.n; i++) {
			struct xp_buf v = XP_BUF_INIT;
			print_value(eff.v[i].key, eff.v[i].value, co.secrets, &v);
			/* a value of several lines (ssh-key, the list keys): its first line in
			 * the row, the others under it in the value column */
			const char *val = xp_buf_str(&v), *nl = strchr(val, '\n');
			int len1 = nl ? (int)(nl - val) : (int)strlen(val);
			if (resolved)
				xp_buf_addf(&b, "%-*s  %-*.*s  %s\n", kw, eff.v[i].key, vw, len1, val,
					    from.v[i].value);
			else
				xp_buf_addf(&b, "%-*s  %.*s\n", kw, eff.v[i].key, len1, val);
			for (const char *q = nl; q; q = strchr(q + 1, '\n')) {
				const char *e = strchr(q + 1, '\n');
				xp_buf_addf(&b, "%-*s  %.*s\n", kw, "",
					    (int)(e ? e - q - 1 : (ptrdiff_t)strlen(q + 1)), q + 1);
			}
			xp_buf_release(&v);
		}
		fputs(xp_buf_str(&b), stdout);
		xp_buf_release(&b);
		rc = cli_flush();
	}
	xp_settings_release(&eff);
	xp_settings_release(&from);
	xp_profile_chain_free(ch.v, ch.n);
	return rc;
}

/* ---- list ---------------------------------------------------------------------------- */

static const char list_usage[] =
    "Usage: xenprov profile list [--json]\n"
    "\n"
    "Lists the profiles, sorted by name: name, parent, and the image and storage\n"
    "guests made from each get (through the parent chain).\n"
    "\n"
    "  --json      one JSON array of {name, parent, image, storage} (null: unset)\n" STATE_DIR_HELP
    "  -h, --help  this help\n";

static int run_list(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_JSON | CLI_STATE_DIR, .operand = ""};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, "profile list", "", NULL, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	char **names;
	size_t n;
	int r = xp_profile_list(inv, &names, &n);
	if (r < 0) {
		rc = cli_inv_error(inv, "list profiles in", xp_inv_state_dir(inv), r);
		xp_inv_close(inv);
		return rc;
	}
	struct row {
		struct xp_profile p;
		struct xp_settings eff;
	} *rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		rc = cli_error("out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		r = xp_profile_get(inv, names[i], &rows[i].p);
		if (r == 0)
			r = xp_profile_resolve(inv, names[i], &rows[i].eff);
		if (r == -ENOENT) /* removed meanwhile */
			continue;
		if (r < 0)
			rc = cli_inv_error(inv, "read profile", names[i], r);
	}
	xp_inv_close(inv);
	if (rc == 0 && co.json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			if (!rows[i].p.name)
				continue;
			const char *img = xp_settings_get(&rows[i].eff, "image");
			const char *sto = xp_settings_get(&rows[i].eff, "storage");
			json_t *j = json_object();
			json_object_set_new(j, "name", json_string(rows[i].p.name));
			json_object_set_new(j, "parent",
					    rows[i].p.parent ? json_string(rows[i].p.parent)
							     : json_null());
			json_object_set_new(j, "image", img ? xp_json_text(img) : json_null());
			json_object_set_new(j, "storage", sto ? json_string(sto) : json_null());
			json_array_append_new(a, j);
		}
		rc = cli_print_json(a);
	} else if (rc == 0 && n) {
		int w[3] = {4, 6, 5};
		for (size_t i = 0; i < n; i++) {
			if (!rows[i].p.name)
				continue;
			const char *img = xp_settings_get(&rows[i].eff, "image");
			int l0 = (int)strlen(rows[i].p.name);
			int l1 = rows[i].p.parent ? (int)strlen(rows[i].p.parent) : 1;
			int l2 = img ? (int)strlen(img) : 1;
			w[0] = l0 > w[0] ? l0 : w[0];
			w[1] = l1 > w[1] ? l1 : w[1];
			w[2] = l2 > w[2] && l2 < 60 ? l2 : w[2];
		}
		printf("%-*s  %-*s  %-*s  %s\n", w[0], "NAME", w[1], "PARENT", w[2], "IMAGE",
		       "STORAGE");
		for (size_t i = 0; i < n; i++) {
			if (!rows[i].p.name)
				continue;
			const char *img = xp_settings_get(&rows[i].eff, "image");
			const char *sto = xp_settings_get(&rows[i].eff, "storage");
			printf("%-*s  %-*s  %-*s  %s\n", w[0], rows[i].p.name, w[1],
			       rows[i].p.parent ? rows[i].p.parent : "-", w[2], img ? img : "-",
			       sto ? sto : "-");
		}
		rc = cli_flush();
	}
	for (size_t i = 0; rows && i < n; i++) {
		xp_profile_release(&rows[i].p);
		xp_settings_release(&rows[i].eff);
	}
	free(rows);
	xp_strv_free(names, n);
	return rc;
}

/* ---- remove -------------------------------------------------------------------------- */

static const char remove_usage[] =
    "Usage: xenprov profile remove NAME\n"
    "\n"
    "Removes a profile. Refused while another profile has it as its parent or a\n"
    "domain was made from it.\n"
    "\n" STATE_DIR_HELP "  -h, --help  this help\n";

static int run_remove(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "NAME"};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, "profile remove", "", NULL, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	const char *name = argv[optind];
	int r = xp_profile_remove(inv, name);
	if (r == -ENOENT) {
		rc = cli_error("no profile '%s'", name);
	} else if (r == -EBUSY) {
		/* name the children: that is what the user has to deal with */
		struct xp_buf kids = XP_BUF_INIT;
		char **names;
		size_t n;
		if (xp_profile_list(inv, &names, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				struct xp_profile p;
				if (xp_profile_get(inv, names[i], &p) < 0)
					continue;
				if (p.parent && strcmp(p.parent, name) == 0)
					xp_buf_addf(&kids, "%s'%s'", kids.len ? ", " : "", p.name);
				xp_profile_release(&p);
			}
			xp_strv_free(names, n);
		}
		rc = cli_error("cannot remove profile '%s': %s%s%s", name, xp_inv_errmsg(inv),
			       kids.len ? "; children: " : "", xp_buf_str(&kids));
		xp_buf_release(&kids);
	} else if (r < 0) {
		rc = cli_inv_error(inv, "remove profile", name, r);
	}
	xp_inv_close(inv);
	return rc;
}

/* ---- export -------------------------------------------------------------------------- */

static const char export_usage[] =
    "Usage: xenprov profile export [--secrets] [NAME...]\n"
    "\n"
    "Prints profiles as JSON on standard output: an array of\n"
    "{\"name\", \"parent\", \"settings\": {KEY: VALUE, ...}}, parents before their\n"
    "children, as 'xenprov profile import' reads it. Without NAME, all profiles.\n"
    "Secret values (root-password-hash, ...) are left out unless --secrets, and\n"
    "named in \"withheld\": [KEY, ...]; import keeps what the profile has there.\n"
    "\n" CLI_SECRETS_HELP STATE_DIR_HELP "  -h, --help  this help\n"
    "\n"
    "Example: xenprov profile export > profiles.json\n";

static int run_export(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_SECRETS | CLI_STATE_DIR};
	struct xp_inv *inv;
	int rc = cli_parse_flags(argc, argv, "profile export", "", NULL, &co);
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		return rc;
	struct xp_diags d;
	xp_diags_init(&d);
	json_t *a;
	int r = xp_profile_export(inv, (const char *const *)argv + optind, (size_t)(argc - optind),
				  co.secrets, &a, &d);
	xp_inv_close(inv);
	rc = lib_diags(r, &d);
	/* indented always: exports are files people read, diff and keep */
	if (rc == 0 && (json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
			fputc('\n', stdout) == EOF))
		rc = cli_error("cannot write output: %s", strerror(errno));
	else if (rc == 0)
		rc = cli_flush();
	json_decref(a);
	xp_diags_release(&d);
	return rc;
}

/* ---- import -------------------------------------------------------------------------- */

/* The boot check of profile add, after an import: an export from another host often
 * names files this host gets later, so what add would refuse is a warning here (domain
 * create and deploy still refuse it). */
static void import_boot_check(struct xp_inv *inv, const char *name)
{
	struct xp_settings eff = {0};
	struct xp_diags d;
	xp_diags_init(&d);
	if (xp_profile_resolve(inv, name, &eff) == 0)
		(void)xp_boot_check_profile(&eff, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "xenprov: warning: profile '%s': %s%s\n", name, d.v[i].msg,
			d.v[i].severity == XP_SEV_ERROR
			    ? " (its guests cannot be made until this is fixed)"
			    : "");
	xp_diags_release(&d);
	xp_settings_release(&eff);
}

static const char import_usage[] =
    "Usage: xenprov profile import [--replace] FILE|-\n"
    "\n"
    "Adds the profiles of a JSON file as 'xenprov profile export' writes it ('-':\n"
    "standard input), in any order: parents in the file are made first. Every value\n"
    "is checked as by 'xenprov profile add' (images need not exist here). It is all\n"
    "or nothing: one bad value, or one profile that exists already (without\n"
    "--replace), and nothing is imported. Secret keys the export withheld keep the\n"
    "value a replaced profile has here; elsewhere they stay unset (with a warning).\n"
    "\n"
    "  --replace   replace profiles that exist (their parent and all their "
    "settings)\n" STATE_DIR_HELP "  -h, --help  this help\n"
    "\n"
    "Example: xenprov profile export | ssh host2 xenprov profile import --replace -\n";

static int run_import(int argc, char **argv)
{
	int replace = 0;
	const struct option opts[] = {{"replace", no_argument, &replace, 1}, {NULL, 0, NULL, 0}};
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "FILE"};
	int rc = cli_parse_flags(argc, argv, "profile import", "", opts, &co);
	if (rc)
		return rc;
	const char *file = argv[optind];
	const char *shown = strcmp(file, "-") == 0 ? "(stdin)" : file;
	char *data;
	size_t len;
	int r = xp_read_file(file, 64u << 20, &data, &len);
	if (r == -EFBIG)
		return cli_error("'%s' is larger than 64 MiB", shown);
	if (r < 0)
		return cli_error("cannot read '%s': %s", shown, strerror(-r));

	/* everything checked before the inventory is opened */
	struct xp_diags d;
	xp_diags_init(&d);
	struct xp_profile_set set;
	r = xp_profile_import_read(data, len, shown, &set, &d);
	free(data);
	rc = lib_diags(r, &d);
	if (r == -EINVAL) {
		size_t errors = xp_diags_count(&d, XP_SEV_ERROR);
		cli_error("'%s': %zu error%s; nothing imported", shown, errors,
			  errors == 1 ? "" : "s");
	}
	xp_diags_release(&d);
	struct xp_inv *inv;
	if (rc || (rc = cli_inv_open(co.state_dir, &inv)))
		goto out;
	size_t added, replaced;
	r = xp_profile_import(inv, &set, replace ? XP_IMPORT_REPLACE : 0, &added, &replaced, &d);
	rc = lib_diags(r, &d);
	xp_diags_release(&d);
	if (rc)
		cli_error("nothing imported");
	else {
		printf("imported %zu profile%s: %zu added, %zu replaced\n", added + replaced,
		       added + replaced == 1 ? "" : "s", added, replaced);
		for (size_t i = 0; i < set.n; i++)
			import_boot_check(inv, set.v[i].name);
	}
	xp_inv_close(inv);
out:
	xp_profile_set_release(&set);
	return rc;
}

/* ---- table --------------------------------------------------------------------------- */

static const struct xp_verb add_verb = {"add", "add a profile", add_usage, run_write};
static const struct xp_verb edit_verb = {"edit", "change some of a profile's settings", edit_usage,
					 run_write};
static const struct xp_verb show_verb = {"show", "print a profile (--resolved: effective)",
					 show_usage, run_show};
static const struct xp_verb list_verb = {"list", "list the profiles", list_usage, run_list};
static const struct xp_verb remove_verb = {"remove", "remove an unused profile", remove_usage,
					   run_remove};
static const struct xp_verb export_verb = {"export", "print profiles as JSON", export_usage,
					   run_export};
static const struct xp_verb import_verb = {"import", "add profiles from JSON, all or nothing",
					   import_usage, run_import};

static const struct xp_verb *const profile_verbs[] = {
    &add_verb, &edit_verb, &show_verb, &list_verb, &remove_verb, &export_verb, &import_verb, NULL,
};

const struct xp_command cmd_profile = {
    .name = "profile",
    .summary = "the inventory's profiles: what guests are",
    .usage = "Usage: xenprov profile VERB [OPTIONS] ARGS...\n"
	     "\n"
	     "Profiles say what guests made from them are: image, disk, memory, network,\n"
	     "boot, keys and further xl settings. A profile can inherit from a parent.\n"
	     "They live in the inventory, inventory.db in the state directory\n"
	     "(--state-dir, $XENPROV_STATE_DIR, /var/lib/xenprov as root, else\n"
	     "$XDG_STATE_HOME/xenprov).\n",
    .verbs = profile_verbs,
};
