/*
 * xenprov/inventory.h - the inventory: what guests should be (profiles) and what exists
 * (domains, their MACs and IPs, the journal of deploys in progress), in one SQLite
 * database in the state directory.
 *
 * The store: WAL, foreign keys, a busy timeout so that several xenprov commands can run
 * at once, every change in a transaction, versioned schema migrations (PRAGMA
 * user_version) applied on open. The boot server (distros, systems, leases) adds its
 * tables through the same migrations.
 *
 * Not here: building images (image.h), writing configs (xl-config.h), running deploys.
 */
#ifndef XENPROV_INVENTORY_H
#define XENPROV_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/util.h"

struct xp_inv;

/* The state directory: $XENPROV_STATE_DIR, else /var/lib/xenprov for root, else
 * $XDG_STATE_HOME/xenprov (~/.local/state/xenprov). Heap string. */
int xp_state_dir_default(char **out);

/* Opens (creating the directory, mode 0700, and the database) and migrates. The
 * database is where xp_inv_location says: SQLite's STATE/inventory.db by default. */
int xp_inv_open(const char *state_dir, struct xp_inv **ret);
/* The same with a location given (NULL: as xp_inv_open), and why it failed, for a
 * message (why may be NULL; "" when strerror says it all): a location no backend
 * takes, a password in a PostgreSQL URL, the server's refusal. Messages show the
 * location with any password replaced by ***. */
int xp_inv_open_at(const char *state_dir, const char *location, struct xp_inv **ret, char *why,
		   size_t whylen);
/* The same without migrating: the schema as found (xp_inv_schema_version), for
 * xp_inv_migrate and xp_inv_copy; no other call may be made on it. */
int xp_inv_open_raw(const char *state_dir, const char *location, struct xp_inv **ret, char *why,
		    size_t whylen);
/* The schema version this xenprov writes (the number of its migrations). */
int xp_inv_schema_latest(void);
/* Brings an inventory opened raw to xp_inv_schema_latest() in one transaction: *from
 * the version found, *to the version after (with dry_run nothing is changed and *to
 * is the version it would reach). -EPROTO when the schema is newer than this xenprov
 * (the reason in xp_inv_errmsg). */
int xp_inv_migrate(struct xp_inv *inv, bool dry_run, int *from, int *to);
/* Copies every table of the inventory from into to (both opened raw, on either
 * backend) in one transaction on to: rows, their ids and references as they are;
 * PostgreSQL's identity sequences set past the copied ids; the rows the triggers keep
 * (the sync clock and changes) as from has them. from is read in one snapshot.
 * Refused: schemas not both at xp_inv_schema_latest() (-ESTALE: migrate first), a
 * target holding any record (-ENOTEMPTY) unless force, which empties it first. *out
 * (heap, *n entries) the rows copied per table. The reason of a failure in
 * xp_inv_errmsg(to). */
struct xp_inv_copied {
	char table[64];
	int64_t rows;
};
int xp_inv_copy(struct xp_inv *from, struct xp_inv *to, bool force, struct xp_inv_copied **out,
		size_t *n);
/* The file in the state directory that names the inventory's location (its first
 * line), below --inventory and $XENPROV_INVENTORY. */
#define XP_INV_URL_FILE "inventory-url"
/* Where the inventory is, by precedence: given (the command line's --inventory), else
 * $XENPROV_INVENTORY, else the first line of STATE/inventory-url; *out a heap string,
 * NULL for none of them (SQLite in the state directory). Locations: "sqlite" (the
 * default), "sqlite:PATH" (the SQLite database PATH, or PATH/inventory.db for a
 * directory) or a libpq URI "postgresql://[user@]host[:port]/dbname[?param=...]"
 * (postgres:// too), without a password: libpq takes it from PGPASSFILE (~/.pgpass) or
 * a service file (service=NAME, PGSERVICEFILE). 0 or -errno. */
int xp_inv_location(const char *state_dir, const char *given, char **out);
/* Whether location is a PostgreSQL URI. */
bool xp_inv_location_pgsql(const char *location);
/* location with the password of user:PASSWORD@ and of password=... replaced by ***,
 * into buf (len bytes), which is returned. */
const char *xp_inv_location_redact(const char *location, char *buf, size_t len);
/* Whether the inventory is on PostgreSQL. */
bool xp_inv_is_pgsql(const struct xp_inv *inv);
void xp_inv_close(struct xp_inv *inv);
const char *xp_inv_state_dir(const struct xp_inv *inv);
/* Whether the connection to the inventory's database server is lost (PostgreSQL's
 * server stopped or unreachable: every later call fails until xp_inv_reconnect, which
 * only the boot server tries). Never for SQLite. */
bool xp_inv_lost(const struct xp_inv *inv);
/* The last database error's text, for messages. */
const char *xp_inv_errmsg(const struct xp_inv *inv);
/* Why a call failed with r, for a message: the inventory's own refusal for -EEXIST,
 * -ENOENT, -EBUSY and -EPERM when it gave one, strerror with the database's text for -EIO and
 * -EBADMSG, else strerror. Written to buf (len bytes), which is returned. */
const char *xp_inv_reason(const struct xp_inv *inv, int r, char *buf, size_t len);
/* The schema version now in force. */
int xp_inv_schema_version(const struct xp_inv *inv);

/* Durability of this connection's commits: full (the default: fsync at every commit,
 * survives a power cut) or process (WAL without a sync per commit: survives the
 * process being killed, not the machine losing power; what the lease hot path
 * uses). */
int xp_inv_set_durability(struct xp_inv *inv, bool full);

/* Whether this connection's commits checkpoint the WAL into the database themselves
 * (SQLite's default, every 1000 pages). A server that must not stall on a commit turns
 * it off and checkpoints from another connection in another thread. */
int xp_inv_set_autocheckpoint(struct xp_inv *inv, bool on);
/* Copies what the WAL holds into the database as far as no reader needs it (SQLite's
 * PASSIVE checkpoint: never waits for, nor blocks, other connections). */
int xp_inv_checkpoint(struct xp_inv *inv);

/* Transactions (BEGIN IMMEDIATE: writers queue, readers are not blocked). Nested calls
 * are counted: only the outermost commit commits. A rollback at an inner level dooms
 * the whole transaction: further nested begins and every commit up to the outermost
 * return -ECANCELED, and the outermost commit rolls everything back. */
int xp_inv_begin(struct xp_inv *inv);
/* A read transaction (BEGIN DEFERRED): every read until the matching xp_inv_commit
 * sees one snapshot, and no write lock is taken, so writers (the boot server's lease
 * writes) never wait for the reader. Nested like xp_inv_begin; inside one, it only
 * counts. Writing in it may fail with -EBUSY (SQLite cannot upgrade a snapshot that
 * another connection has since written past). */
int xp_inv_begin_read(struct xp_inv *inv);
int xp_inv_commit(struct xp_inv *inv);
void xp_inv_rollback(struct xp_inv *inv);

/* ---- settings: ordered key/value lists --------------------------------------------- */

struct xp_kv {
	char *key;
	char *value;
};

struct xp_settings {
	struct xp_kv *v;
	size_t n, cap;
};

void xp_settings_release(struct xp_settings *s);
/* Sets key (replacing an earlier value). */
int xp_settings_set(struct xp_settings *s, const char *key, const char *value);
int xp_settings_unset(struct xp_settings *s, const char *key);
const char *xp_settings_get(const struct xp_settings *s, const char *key);
/* The same keys with the same values in the same order. */
bool xp_settings_equal(const struct xp_settings *a, const struct xp_settings *b);

/* ---- profiles ------------------------------------------------------------------------ */

/* The keys a profile may set, with what they take (for --help and validation):
 *   image PATH (tarball or image), disk-size SIZE, memory MIB, vcpus N, swap SIZE,
 *   fs ext2|ext3|ext4, label msdos|gpt|none, storage file|reflink|qcow2|lvm,
 *   pool DIR|VG, bridge IFNAME, boot pygrub|pvgrub|kernel, kernel PATH, ramdisk PATH,
 *   root DEV, extra TEXT, network dhcp|static, ip-pool CIDR, gateway IPV4,
 *   dns IPV4[,IPV4...], domain DNSNAME, root-password-hash CRYPT,
 *   ssh-key KEYLINE[\nKEYLINE...],
 *   mac-prefix XX[:XX...] (1-5 octets; the guests' random MACs start with it),
 *   distro NAME (the distro the profile's systems boot over the network),
 *   timezone ZONE (a tzdata name; the guest image must have it),
 *   autoinstall NAME (the autoinstall template the profile's systems are served),
 *   cloud-init on|off (deployed guests get a NoCloud seed volume, template.h),
 *   copy-in, write, firstboot-command (lists, below; write is secret),
 *   data-disk, nic (lists of further disks and NICs, below), swap-disk SIZE (a swap
 *   volume of its own, 0 for none),
 *   config.NAME VALUE (any further xl setting, value in config syntax; the table
 *   lists config.vncpasswd and config.spicepasswd apart: they are secret; a value
 *   holding "passwd=", such as a vfb spec's vncpasswd=, is refused). */
struct xp_profile_key {
	const char *key;
	const char *arg;  /* placeholder for usage text */
	const char *help;
	unsigned flags;   /* XP_KEY_* */
};
extern const struct xp_profile_key xp_profile_keys[];

/* The key holds a credential (root-password-hash; the xl settings that are
 * passwords: config.vncpasswd, config.spicepasswd). Marked here once, in the
 * key table, and every view obeys it: the HTTP API never shows such a value (with or
 * without the token; it lists the key under "withheld"), the command line's views
 * (profile show, --json, export, domain show) only with --secrets, and no diagnostic
 * or log line quotes one. */
#define XP_KEY_SECRET 0x1u

/* Whether the profile key (a key of xp_profile_keys, config.NAME included) is marked
 * XP_KEY_SECRET. Unknown keys are not. */
bool xp_profile_key_secret(const char *key);

/* The key is a list (copy-in, write, firstboot-command, data-disk, nic): its value
 * holds items in order, each given on its own (a repeatable option, --set KEY=ITEM once
 * per item) and added with xp_profile_list_add. Like any key, a list set on a child
 * profile or a guest replaces its parent's whole list; "" is the empty list (none of
 * the parent's). Items (guest.h has the syntax and bounds of the first three;
 * xp_data_disk_parse and xp_nic_parse, below, of the others):
 *   copy-in LOCAL:GUESTDIR[:UID:GID]  LOCAL an absolute host path
 *   write GUESTPATH:CONTENT            CONTENT at most 64 KiB
 *   firstboot-command CMD              one line, at most 4096 bytes
 *   data-disk SIZE[,fs=ext4|xfs|none][,mount=DIR][,storage=KIND][,pool=DIR|VG]
 *                                      at most XP_DATA_DISKS_MAX, mount points distinct
 *   nic bridge=BR[,network=static|dhcp][,ip-pool=CIDR][,gateway=IPV4|dhcp]
 *       [,mac-prefix=XX:XX:XX]         at most XP_NICS_MAX
 * The stored value (what xp_profile_check takes and returns, export prints and import
 * reads) is the items one a line, write's CONTENT escaped: "\\" for a backslash, "\n"
 * for a newline, "\xHH" for another control byte or a byte of what is not UTF-8; at most
 * XP_GUEST_MAX_ITEMS items and XP_PROFILE_MAX_LIST bytes. */
#define XP_KEY_LIST	    0x2u
#define XP_PROFILE_MAX_LIST (1u << 20)
bool xp_profile_key_list(const char *key);

/* The key's value is the host's business, not the boot network's: copy-in (paths on the
 * host that holds the inventory) and firstboot-command (commands often carry a
 * registration token or a URL with credentials). The command line shows it as any value;
 * the HTTP API, which answers anyone on the boot network, withholds it like a secret
 * (its name under "withheld"). Secret keys are host-only too. */
#define XP_KEY_HOSTONLY 0x4u
bool xp_profile_key_hostonly(const char *key);

/* Adds one item, as given (unescaped), to the list key of s: checked (-EINVAL with a
 * diagnostic naming the key and the item's place; a write item is never quoted),
 * stored as xp_profile_check returns it. An empty item makes the list empty. */
int xp_profile_list_add(struct xp_settings *s, const char *key, const char *item,
			struct xp_diags *d);
/* The items of a list key's stored value, as given (write's CONTENT unescaped), heap
 * strings; free with xp_profile_list_free (which wipes them: a write may be secret).
 * -EINVAL for a malformed stored value (xp_profile_check refuses it). */
int xp_profile_list_items(const char *key, const char *value, char ***items, size_t *n);
void xp_profile_list_free(char **items, size_t n);

/* ---- further disks and NICs: the items of data-disk and nic ----------------------------- */

/* A guest's disks are xvda (its root disk, from the golden image), then its data disks
 * in order, then its swap volume: at most 25 further disks (xvdb to xvdz). */
#define XP_DATA_DISKS_MAX 24
/* Its NICs: the first from the profile's bridge, network, ip-pool, gateway and
 * mac-prefix (devid 0), then one per nic item (devid 1, 2, ...). */
#define XP_NICS_MAX 15

enum xp_data_fs {
	XP_DATA_FS_EXT4,
	XP_DATA_FS_XFS,
	XP_DATA_FS_NONE,
};
/* "ext4", "xfs", "none"; NULL for another value. */
const char *xp_data_fs_name(enum xp_data_fs fs);

/* A data disk: an empty volume of size bytes on the guest's storage (or its own),
 * formatted (not mounted) with fs, named by its UUID in the guest's fstab at mount. */
struct xp_data_disk {
	uint64_t size;	     /* bytes, a whole number of MiB */
	enum xp_data_fs fs;  /* ext4 unless given */
	const char *mount;   /* absolute guest directory, or NULL: not in fstab */
	const char *storage; /* file, reflink, qcow2 or lvm; NULL: the guest's storage */
	const char *pool;    /* a directory or a volume group; NULL: the guest's pool (or,
				for another kind of storage than the guest's, the default
				directory; lvm needs one) */
};
/* Reads a data-disk item "SIZE[,fs=ext4|xfs|none][,mount=DIR][,storage=KIND][,pool=P]"
 * in place (item is cut with NULs; out points into it). SIZE as xp_parse_size reads
 * it, a whole number of MiB, at least 16 MiB for ext4, 300 MiB for xfs (mkfs.xfs's
 * floor), 1 MiB for none; mount an absolute guest path (xp_guest_path_valid), not "/",
 * without white space, ',' or '#' (fstab(5) fields), and not with fs=none; each option
 * at most once. -EINVAL with *why (a static sentence) if not. */
int xp_data_disk_parse(char *item, struct xp_data_disk *out, const char **why);
/* The stored form of d: "SIZE,fs=FS[,mount=DIR][,storage=KIND][,pool=P]", SIZE in the
 * largest unit that is exact (10G, 1536M). */
int xp_data_disk_format(const struct xp_data_disk *d, struct xp_buf *out);

/* A further NIC. */
struct xp_nic_spec {
	const char *bridge;	/* the bridge its vif joins */
	bool dhcp;		/* network dhcp; else static, from ip_pool */
	const char *ip_pool;	/* "A.B.C.D/N" (8 <= N <= 30), with !dhcp */
	const char *gateway;	/* a default route through this IPv4 address (static) or
				   through the DHCP server's router ("dhcp"); NULL: none, only
				   the first NIC's gateway is the guest's default route */
	const char *mac_prefix; /* its random MAC's prefix; NULL: the first NIC's */
};
/* Reads a nic item "bridge=BR[,network=static|dhcp][,ip-pool=CIDR][,gateway=IPV4|dhcp]
 * [,mac-prefix=XX:XX:XX]" in place. bridge is required (an interface name of 1-15
 * characters); network is static with an ip-pool and dhcp without one unless given
 * (static needs an ip-pool, dhcp takes none); a static NIC's gateway lies in its
 * ip-pool, not at its network or broadcast address, a DHCP NIC's is "dhcp";
 * mac-prefix as xp_mac_prefix_parse reads it. -EINVAL with *why if not. */
int xp_nic_parse(char *item, struct xp_nic_spec *out, const char **why);
/* The stored form: "bridge=BR,network=dhcp|static[,ip-pool=NET/N][,gateway=G]
 * [,mac-prefix=xx:xx]", the pool's address its network's, the prefix in lower case. */
int xp_nic_format(const struct xp_nic_spec *n, struct xp_buf *out);

/* Validates and normalises one profile value (sizes to bytes, memory to MiB, ...).
 * -EINVAL with a diagnostic saying what is wrong; *out is a heap string. */
int xp_profile_check(const char *key, const char *value, char **out, struct xp_diags *d);

/* 0 if line[0..len) is one SSH public key line, "TYPE BASE64 [COMMENT]" (no options
 * field, no control characters), TYPE one of ssh-ed25519, ssh-rsa,
 * ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com,
 * sk-ecdsa-sha2-nistp256@openssh.com, whose base64 blob begins with TYPE as an SSH
 * string (RFC 4253 section 6.6); else -EINVAL. */
int xp_ssh_key_check(const char *line, size_t len);

/* The value of an --ssh-key argument: arg is either a key line itself (it begins with a
 * key type and a blank) or the path of an existing file of key lines (blank lines and
 * '#' comments skipped); every key line is checked with xp_ssh_key_check. *out (heap)
 * receives the key lines joined by '\n'. -EINVAL (a diagnostic names the file and line
 * or says what arg is not), -ENOENT/-EACCES... when the file cannot be read. */
int xp_ssh_key_arg(const char *arg, char **out, struct xp_diags *d);

struct xp_profile {
	char *name;
	char *parent; /* NULL for none */
	struct xp_settings set; /* this profile's own values */
	int64_t created, updated; /* unix seconds */
};

void xp_profile_release(struct xp_profile *p);
bool xp_profile_name_valid(const char *name);

/* Each call is one transaction (or a part of the caller's). A refusal (-EINVAL for a
 * bad name or settings, -EEXIST, -ENOENT, -ELOOP, -EBUSY) changes nothing and leaves
 * the caller's transaction usable; other failures doom it (see xp_inv_begin).
 *
 * Add and update check the settings as they take effect through the parent chain, for
 * the profile and every profile below it: -EINVAL (xp_inv_errmsg says which profile
 * and why) if one would have a gateway outside its ip-pool, or at the pool's network
 * or broadcast address. */

/* Adds a profile: -EEXIST if the name is taken, -ENOENT if the parent is missing. */
int xp_profile_add(struct xp_inv *inv, const struct xp_profile *p);
/* Replaces a profile's parent and values: -ENOENT, or -ELOOP if the parent chain
 * would come back to it. */
int xp_profile_update(struct xp_inv *inv, const struct xp_profile *p);
int xp_profile_get(struct xp_inv *inv, const char *name, struct xp_profile *out);
/* Names, sorted. */
int xp_profile_list(struct xp_inv *inv, char ***names, size_t *n);
/* -ENOENT; -EBUSY if a profile, a domain or a system still uses it. */
int xp_profile_remove(struct xp_inv *inv, const char *name);
/* The effective values: the parent chain's, each overridden by its child's. */
int xp_profile_resolve(struct xp_inv *inv, const char *name, struct xp_settings *out);
/* The profile and its ancestors as stored, the profile first (*v, *n of them), read in
 * one read transaction (or the caller's). -ENOENT when one of them is missing, -ELOOP
 * for a chain that does not end. Free with xp_profile_chain_free. */
int xp_profile_chain(struct xp_inv *inv, const char *name, struct xp_profile **v, size_t *n);
void xp_profile_chain_free(struct xp_profile *v, size_t n);

/* ---- distros: a kernel and initrd to boot over the network ------------------------- */

/* A distro's files live in the distro store, STATE/distro-files/: copied there when the
 * distro is added or changed, named by the SHA-256 of their contents (distros with the
 * same file share one copy), removed when no distro names them any more. The boot
 * server serves a distro only from there. A distro of an older inventory, added when
 * files were served from where they were, has no files in the store: it is listed, but
 * not served until it is changed with its files given again. */
struct xp_distro {
	char *name;
	/* Where each file was taken from: an absolute path, or "sha256:HEX" for a file of
	 * the store named by its digest. On add/update, what to take (see below). */
	char *kernel;
	char *initrd; /* or NULL: none */
	/* The files in the store: 64 lower-case hex digits; NULL for none, or for a
	 * distro whose files are not in the store. On add/update, a digest given here
	 * keeps that file of the store (it must be there) and the field beside it is only
	 * recorded as its source; else the field beside it is taken. */
	char *kernel_sha256;
	char *initrd_sha256;
	char *arch;           /* "x86_64" (default), "i386", "aarch64" */
	char *kernel_options; /* appended to the kernel command line, or NULL */
	/* Its OS family, which says how its installer finds an autoinstall file (the
	 * argument the boot configs add, boot.h): "debian" (preseed: auto=true
	 * priority=critical url=), "ubuntu" (cloud-init's NoCloud over HTTP:
	 * autoinstall ds=nocloud;s=), "redhat" (kickstart: inst.ks=), "suse" (AutoYaST:
	 * autoyast=); NULL: none known, no argument. xp_distro_os_valid checks it. Read
	 * back, the operator's (add/update) or else the family `xenprov import` found in
	 * its tree (xp_distro_tree.family); xp_distro_put leaves the operator's as it was. */
	char *os;
	int64_t created, updated;
};

/* Whether os is one of the OS families above. */
bool xp_distro_os_valid(const char *os);

/* Flags of xp_distro_add/update. CONFINED: the caller acts for someone who may only name
 * files the operator allowed (the HTTP API): paths must lie beneath the TFTP root, the
 * store or a distro-roots directory, and are opened from there with RESOLVE_BENEATH (a
 * ".." or a symlink that leaves it is refused). Without it, any file the caller can
 * read (the command line). Either way never a file of the state directory
 * (xp_inv_is_state_file). */
#define XP_DISTRO_CONFINED 0x1u

void xp_distro_release(struct xp_distro *d);
/* Same rules as profile names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
bool xp_distro_name_valid(const char *name);
/* Its files are in the store: it can be served. */
bool xp_distro_in_store(const struct xp_distro *d);
/* Takes the files into the store, then adds the distro. -EEXIST; -EINVAL with a
 * diagnostic (relative, missing or not regular file, unknown digest, bad arch...);
 * -EACCES with a diagnostic when a file is not one the caller may take (CONFINED and
 * outside the roots, a state directory file, unreadable). */
int xp_distro_add(struct xp_inv *inv, const struct xp_distro *d, unsigned flags,
		  struct xp_diags *diags);
/* Replaces every field but name/created, as add: -ENOENT. */
int xp_distro_update(struct xp_inv *inv, const struct xp_distro *d, unsigned flags,
		     struct xp_diags *diags);
int xp_distro_get(struct xp_inv *inv, const char *name, struct xp_distro *out);
int xp_distro_list(struct xp_inv *inv, char ***names, size_t *n);
/* -ENOENT; -EBUSY while a system or profile still names it. */
int xp_distro_remove(struct xp_inv *inv, const char *name);
/* Where a distro file's bytes are when they are not a path of their own: len bytes at
 * off of an open file (a file of a tree being imported, or the ISO image holding it).
 * The descriptor is borrowed. */
struct xp_distro_region {
	int fd;
	uint64_t off, len;
};
/* What xp_distro_put did. */
enum xp_distro_put_result { XP_DISTRO_UNCHANGED, XP_DISTRO_ADDED, XP_DISTRO_UPDATED };
/* Adds distro d, or replaces it when it exists, its kernel (and initrd, unless NULL)
 * taken from the regions; d->kernel and d->initrd are recorded as where they came from,
 * any one line of text ("/srv/debian.iso:install.amd/vmlinuz"), and the digests in d
 * are ignored. The files are copied into the store before the transaction; inside it
 * the row is written unless it already says exactly this (the same sources, digests,
 * arch and kernel options: *result UNCHANGED and nothing written), then also(inv, ud),
 * if given, runs in the same transaction, and its failure (< 0) undoes the whole.
 * Errors as xp_distro_add's. */
int xp_distro_put(struct xp_inv *inv, const struct xp_distro *d,
		  const struct xp_distro_region *kernel, const struct xp_distro_region *initrd,
		  int (*also)(struct xp_inv *inv, void *ud), void *ud,
		  enum xp_distro_put_result *result, struct xp_diags *diags);
/* Opens the store's file of that digest for reading (O_NONBLOCK, no symlink followed):
 * 0 and *fd; -EINVAL (not a digest), -ENOENT, -EACCES (not a regular file). */
int xp_distro_file_open(struct xp_inv *inv, const char *sha256, int *fd);

/* ---- distro trees: what `xenprov import` made reachable (distro-trees.c) ------------- */

/* A distro's install tree as the boot server offers it at distros/NAME/tree/: "copy"
 * (TFTP-ROOT/trees/NAME, plain files), "iso" (the files of the ISO image at source,
 * each where the image holds it), or "external" (served elsewhere, at url). Removed with
 * the distro (a copy's files stay where they are). */
struct xp_distro_tree {
	char *distro;
	char *mode;   /* "copy", "iso", "external" */
	char *source; /* the directory or image imported */
	char *url;    /* external: its URL; else NULL */
	char *signature, *family, *version; /* what import found (version may be NULL) */
	/* iso: the image as it was read (a file changed since is not served) */
	uint64_t iso_size, iso_ino;
	int64_t iso_mtime_ns;
};
/* A file of an image's tree: path (relative, no leading '/'), where its bytes are. */
struct xp_distro_tree_file {
	const char *path;
	uint64_t off, size;
};
void xp_distro_tree_release(struct xp_distro_tree *t);
/* -ENOENT: no tree recorded for that distro. */
int xp_distro_tree_get(struct xp_inv *inv, const char *distro, struct xp_distro_tree *out);
/* Records t (its distro must exist; -ENOENT) with the image's files (mode "iso"; n 0
 * otherwise), sorted by path in byte order (-EINVAL if not), replacing what was
 * recorded. *changed false when the record already said exactly this: nothing
 * written. Part of the caller's transaction when there is one. */
int xp_distro_tree_put(struct xp_inv *inv, const struct xp_distro_tree *t,
		       const struct xp_distro_tree_file *files, size_t n, bool *changed);
/* Forgets distro's tree (*changed false: there was none). */
int xp_distro_tree_drop(struct xp_inv *inv, const char *distro, bool *changed);
/* For the boot server: the image of distro's "iso" tree, opened for reading (*fd),
 * and where file path lies in it ([*off, *off + *size); path NULL: the whole image).
 * -ENOENT: no such file, no image tree, or the image is not the one read at import
 * (its size, inode or mtime differ: import it again); -EACCES: not a file that may be
 * served (xp_inv_open_servable). */
int xp_distro_tree_open(struct xp_inv *inv, const char *distro, const char *path, int *fd,
			uint64_t *off, uint64_t *size);

/* ---- what the boot server may serve ----------------------------------------------------- */

/* -EACCES if dir (its real path) is the state directory, one of its ancestors, or "/":
 * serving it would serve the inventory and the API token. 0 otherwise, also when dir
 * does not exist. */
int xp_inv_root_check(struct xp_inv *inv, const char *dir);
/* Whether the file fd refers to is one of the state directory's own files
 * (inventory.db and its -wal, -shm, -journal; api-token), by identity: a hard link or
 * a bind mount of one is one too. Files the server hands out must not be. Give it an
 * O_PATH descriptor: closing a real descriptor of the inventory drops every fcntl(2)
 * lock this process's SQLite connections hold on it (O_PATH descriptors do not). */
bool xp_inv_is_state_file(struct xp_inv *inv, int fd);
/* Opens for reading (O_RDONLY | O_CLOEXEC, blocking) the file the O_PATH descriptor
 * pathfd refers to, once it is known to be a regular file and not one of the state
 * directory's: the descriptor, or -EACCES, or -errno. pathfd stays open. */
int xp_inv_open_servable(struct xp_inv *inv, int pathfd);

/* ---- systems: machines (or domUs) the boot server knows by MAC --------------------- */

struct xp_system {
	char *name;
	char *mac;            /* canonical "aa:bb:cc:dd:ee:ff" */
	char *ip;             /* dotted quad reserved for it, or NULL (dynamic) */
	char *profile;        /* exactly one of profile and distro is set */
	char *distro;
	char *hostname;       /* NULL: the system's name */
	bool netboot;         /* false: no boot file is offered; the machine boots its disk */
	char *kernel_options; /* NULL for none */
	/* The autoinstall template it is served (a template's name, stored or shipped:
	 * xp_template_get finds it), or NULL: its profile's `autoinstall`, if any. */
	char *autoinstall;
	int64_t created, updated;
};

void xp_system_release(struct xp_system *s);
bool xp_system_name_valid(const char *name);
/* The first word of kernel options opts (a system's or distro's) that claims one of the
 * boot server's own arguments, whose key begins "xenprov." (in any case, quotes
 * aside: the installer's xenprov.server=, .system=, .mac= and .token= are the server's
 * to give), but for the operator's xenprov.target-disk= and xenprov.wipe= (the
 * installer's disk, installer-run.h): where it starts and its length (*len); NULL when
 * none does. Adds and edits
 * refuse such options; `xenprov check` reports ones stored before. */
const char *xp_kernel_options_reserved(const char *opts, size_t *len);
/* -EEXIST (name, MAC or IP taken), -ENOENT (profile/distro missing), -EINVAL with a
 * diagnostic (bad MAC/IP/hostname, both or neither of profile and distro, an IP that
 * xp_system_ip_check refuses under the server settings in force). The MAC is stored
 * canonical whatever the input spelling. A refusal changes nothing and leaves the
 * caller's transaction usable. */
int xp_system_add(struct xp_inv *inv, const struct xp_system *s, struct xp_diags *diags);
int xp_system_update(struct xp_inv *inv, const struct xp_system *s, struct xp_diags *diags);
int xp_system_get(struct xp_inv *inv, const char *name, struct xp_system *out);
/* Lookups for the boot server: -ENOENT when no system has it, -EINVAL when mac or ip
 * cannot be read. mac in any spelling xp_mac_parse takes; ip dotted. */
int xp_system_find_mac(struct xp_inv *inv, const char *mac, struct xp_system *out);
int xp_system_find_ip(struct xp_inv *inv, const char *ip, struct xp_system *out);
int xp_system_list(struct xp_inv *inv, char ***names, size_t *n);
/* Every system, in name order, read by one query (for whoever needs them all: a sync
 * of 10,000 systems). *v is a heap array; release each element, then free it. */
int xp_system_all(struct xp_inv *inv, struct xp_system **v, size_t *n);
/* The systems whose MAC's last byte is last, in name order (a synced TFTP root's GRUB
 * file for that byte holds theirs). *v as xp_system_all's. */
int xp_system_mac_last(struct xp_inv *inv, unsigned last, struct xp_system **v, size_t *n);
/* -ENOENT. */
int xp_system_remove(struct xp_inv *inv, const char *name);

/* Whether ip (dotted) may be a system's reserved address under the server settings st
 * (as xp_server_settings_get returns them): never the server's own address (the
 * server and next-server settings); and, when this server hands out addresses
 * (proxy-dhcp off and the pools usable, see xp_server_pools), only in a pool's subnet,
 * and neither that subnet's network or broadcast address nor a pool's router (RFC 950:
 * the all-zeros and all-ones host numbers are no host's). Without usable pools (none
 * yet, one half set, ProxyDHCP) nothing but the first rule can be checked: the pools
 * are checked when they are set (xp_system_ip_audit). 0, or -EINVAL with a diagnostic
 * (key "ip") saying which rule; -ENOMEM. */
int xp_system_ip_check(const struct xp_settings *st, const char *ip, struct xp_diags *d);

/* The systems whose reserved address xp_system_ip_check refuses under st: a warning
 * in d for each ("system 'NAME': ip: ..."), in name order. The number of them, or
 * -errno. Such a reservation is left as it is (settings are changed one key at a
 * time, and renumbering a network changes its pool before its systems); the boot
 * server serves the system without it. */
int xp_system_ip_audit(struct xp_inv *inv, const struct xp_settings *st, struct xp_diags *d);

/* ---- autoinstall templates (templates.c) ------------------------------------------------ */

/* Templates (Mustache, xenprov/mustache.h; rendered by xenprov/template.h) are stored in
 * the inventory by name, or shipped with xenprov (xp_template_shipped). A stored template
 * of a shipped one's name overrides it everywhere; removing it brings the shipped one
 * back. Profiles name one with their `autoinstall` key, systems with their own
 * autoinstall field. */
struct xp_template {
	char *name;
	char *content;
	bool shipped; /* xenprov ships a template of this name */
	bool stored;  /* the inventory holds one: the content is it (overriding a shipped
		       * one of the same name) */
	int64_t created, updated; /* 0 for a shipped one not stored */
};
void xp_template_release(struct xp_template *t);
/* Same rules as profile names. */
bool xp_template_name_valid(const char *name);
/* Stores a template (add: a new name, -EEXIST when the inventory has it or xenprov
 * ships it, which is changed with update instead; update: -ENOENT when neither has it,
 * and a shipped one is stored as its override). The content is checked: no NUL, at
 * most XP_MUSTACHE_MAX_TEMPLATE bytes, valid Mustache (-EINVAL with diagnostics, the
 * syntax errors with their line and column); a partial it names that is no template
 * is a warning in d. */
int xp_template_add(struct xp_inv *inv, const char *name, const char *content, size_t len,
		    struct xp_diags *d);
int xp_template_update(struct xp_inv *inv, const char *name, const char *content, size_t len,
		       struct xp_diags *d);
/* The stored template of that name, else the shipped one: -ENOENT if neither. */
int xp_template_get(struct xp_inv *inv, const char *name, struct xp_template *out);
/* Every template's name, stored and shipped, sorted, each once. */
int xp_template_list(struct xp_inv *inv, char ***names, size_t *n);
/* Removes a stored template: -ENOENT if there is none; -EPERM for a shipped one that
 * is not overridden (nothing to remove); -EBUSY while a profile or a system names a
 * template that would then be gone (an override can always be removed: the shipped
 * one takes its place). */
int xp_template_remove(struct xp_inv *inv, const char *name);
/* The profiles and systems that name template `name`: "profile P" and "system S"
 * strings, sorted, heap (xp_strv_free). */
int xp_template_users(struct xp_inv *inv, const char *name, char ***users, size_t *n);

/* ---- boot server settings ------------------------------------------------------------ */

/* The keys `xenprov settings` takes (server, next-server, tftp-root, http-port,
 * bios-boot-file, efi64-boot-file, proxy-dhcp, pool.NAME.range|netmask|router|dns|
 * domain|lease-time, ...): key is a pattern where NAME stands for a pool name. */
extern const struct xp_profile_key xp_server_keys[];
/* Validates and normalises one value; -EINVAL with a diagnostic (unknown key with a
 * did-you-mean, bad value). */
int xp_server_setting_check(const char *key, const char *value, char **out,
			    struct xp_diags *d);
/* Stores a value; then adds to d a warning for each system whose reserved address the
 * settings now in force make unusable (xp_system_ip_audit): the change is kept. */
int xp_server_setting_set(struct xp_inv *inv, const char *key, const char *value,
			  struct xp_diags *d);
/* -ENOENT if it was not set. Warns as xp_server_setting_set does; d may be NULL. */
int xp_server_setting_unset(struct xp_inv *inv, const char *key, struct xp_diags *d);
/* Every stored setting, sorted by key. */
int xp_server_settings_get(struct xp_inv *inv, struct xp_settings *out);

/* The default of a key (a static string: http-port 80, bios-boot-file pxelinux.0,
 * efi64-boot-file ipxe.efi, proxy-dhcp off, offer-hold 30, pool.NAME.lease-time 3600),
 * or NULL for a key without a fixed one: server (none), next-server (the server's
 * value), tftp-root (STATE_DIR/tftp), the other pool keys, unknown keys. */
const char *xp_server_setting_default(const char *key);

/* The values in force: every global key in xp_server_keys order (the stored value, else
 * its default, next-server and tftp-root included; keys with neither are left out),
 * then each pool's keys in that order, pools sorted by name. defaulted (may be NULL)
 * gets those of them that are defaults, not stored. */
int xp_server_settings_effective(struct xp_inv *inv, struct xp_settings *out,
				 struct xp_settings *defaulted);

/* One DHCP address pool, from the pool.NAME.* settings, values normalised (dotted
 * addresses, netmask dotted). */
struct xp_server_pool {
	char *name;
	char *range_start, *range_end; /* first and last address handed out */
	char *netmask;
	char *router;   /* NULL: none */
	char *domain;   /* NULL: none */
	char **dns;     /* n_dns addresses, 0 to 4 */
	size_t n_dns;
	uint32_t lease_time; /* seconds (default 3600) */
};

/* The pools of s (as xp_server_settings_get returns), sorted by name. -EINVAL, with a
 * diagnostic per problem (code "pool.NAME" or the bad key), if any pool has no range or
 * no netmask, a range not inside one subnet of its netmask or covering the subnet's
 * network or broadcast address, a router outside that subnet or inside the range, a
 * range overlapping another pool's, or a bad value. Free with xp_server_pools_free. */
int xp_server_pools(const struct xp_settings *s, struct xp_server_pool **v, size_t *n,
		    struct xp_diags *d);
void xp_server_pools_free(struct xp_server_pool *v, size_t n);

/* ---- domain records (domains.c) ------------------------------------------------------ */

/* What exists: one row per guest that xenprov made or is making, with the artifacts
 * (files, volumes) planned for it, so that a failure or a later delete removes exactly
 * those. The deploy layer (domain.h) decides what to make; these functions only keep
 * the record. */
/* A guest's further disk (domain_disks): a data disk or its swap volume. */
struct xp_domain_volume {
	char *vdev;	/* "xvdb", "xvdc", ...: its place in the config's disk list */
	char *role;	/* "data" or "swap" */
	char *storage;	/* "file", "reflink", "qcow2" or "lvm" */
	char *path;	/* the file or the logical volume */
	uint64_t size;	/* bytes */
	char *fs;	/* "ext4", "xfs", "none" or "swap" */
	char *uuid;	/* of its filesystem or swap area; NULL for fs none */
	char *mount;	/* its mount point in the guest's fstab, or NULL */
};

/* A guest's further NIC (domain_nics); the first is the domain's own mac and ip. */
struct xp_domain_nic {
	unsigned devid;	     /* 1, 2, ...: its place in the config's vif list */
	char *mac;	     /* lowercase xx:xx:xx:xx:xx:xx, no other domain's */
	char *ip;	     /* NULL for DHCP */
	unsigned prefix_len; /* of ip */
	char *bridge;
	char *gateway;	     /* its default route (an address or "dhcp"), or NULL */
};

struct xp_domain {
	char *name;
	char *profile;
	char *state;	     /* "creating", "ready", "deleting" or "failed" */
	char *mac;	     /* lowercase xx:xx:xx:xx:xx:xx */
	char *ip;	     /* NULL for DHCP */
	unsigned prefix_len; /* of ip, 0 for DHCP */
	char *storage;	     /* "file", "reflink", "qcow2" or "lvm" */
	char *disk_path;
	char *config_path;
	char *golden;		     /* the golden image the disk came from */
	struct xp_settings settings; /* the effective profile values (profile + overrides),
				      * as made or last updated (xenprov/drift.h) */
	/* the guest's own values among settings (domain create's KEY VALUE options,
	 * deploy's --set and plan values); empty for a guest recorded before they were */
	struct xp_settings overrides;
	int64_t created, updated;    /* unix seconds */
	/* the captured image version its disk holds, "NAME@V" (made from it, or updated to
	 * it by `image update`); NULL when its image is no captured version */
	char *image_version;
	/* the dom0 that made it (its host name); NULL for a guest recorded before
	 * domains said (schema 14) */
	char *dom0;
	struct xp_domain_volume *volumes; /* the further disks, in vdev order */
	size_t nvolumes;
	struct xp_domain_nic *nics; /* the further NICs, in devid order */
	size_t nnics;
};

void xp_domain_release(struct xp_domain *dom);
void xp_domain_list_free(struct xp_domain *v, size_t n);

/* -ENOENT if there is no such domain. */
int xp_domain_get(struct xp_inv *inv, const char *name, struct xp_domain *out);
/* All domains, sorted by name. */
int xp_domain_list(struct xp_inv *inv, struct xp_domain **v, size_t *n);

/* 1 if some domain holds the MAC or the IP (on any of its NICs), 0 if not. */
int xp_domain_mac_taken(struct xp_inv *inv, const char *mac);
int xp_domain_ip_taken(struct xp_inv *inv, const char *ip);
/* The name of the domain that holds the MAC (ip false) or IP (ip true) on any of its
 * NICs, heap string; -ENOENT if none does. */
int xp_domain_holder(struct xp_inv *inv, bool ip, const char *value, char **name);
/* Every IP address a domain holds on any NIC (dotted quads), in no particular order. */
int xp_domain_ips(struct xp_inv *inv, char ***v, size_t *n);

/* A new record, in state 'creating', with its two planned artifacts ("disk" at
 * disk_path, "config" at config_path) and its further disks (planned too: a delete
 * removes them). Strings are borrowed; ip and golden may be NULL, prefix_len 0 and
 * deploy_id 0 (no deploy). -EEXIST-like SQLite errors for a taken name, MAC or IP (the
 * UNIQUE columns, and triggers across the domains' and their NICs' tables). Run it
 * inside the caller's transaction together with the checks and allocations it depends
 * on. */
struct xp_domain_new {
	const char *name, *profile, *mac, *ip;
	unsigned prefix_len;
	const char *storage, *disk_path, *config_path, *golden;
	const struct xp_settings *settings; /* the effective profile values */
	const struct xp_settings *overrides; /* the guest's own among them; may be NULL */
	int64_t deploy_id;
	const struct xp_domain_volume *volumes; /* may be NULL with nvolumes 0 */
	size_t nvolumes;
	/* the disk is the operator's (domain adopt): not an artifact, never removed */
	bool disk_kept;
	/* the dom0 recorded as making it; NULL: this host's name (uname's nodename) */
	const char *dom0;
};
int xp_domain_insert(struct xp_inv *inv, const struct xp_domain_new *d);
/* Records a further NIC of domain name (after xp_domain_insert, in the same
 * transaction, so that the next NIC's allocation sees its MAC and IP). Errors as
 * xp_domain_insert's for a taken MAC or IP. */
int xp_domain_nic_insert(struct xp_inv *inv, const char *name, const struct xp_domain_nic *nic);
void xp_domain_volumes_free(struct xp_domain_volume *v, size_t n);
void xp_domain_nics_free(struct xp_domain_nic *v, size_t n);
/* Sets the state ("ready", "deleting", "failed") and the update time. */
int xp_domain_set_state(struct xp_inv *inv, const char *name, const char *state);
/* Replaces the recorded effective settings (after `domain update` changed the guest),
 * in a transaction of its own; the rest of the record stays. -ENOENT if there is no
 * such domain. */
int xp_domain_set_settings(struct xp_inv *inv, const char *name, const struct xp_settings *s);
/* Records that domain name's disk holds version version of captured image image
 * (replacing what was recorded). -ENOENT if there is no such domain. */
int xp_domain_set_image_version(struct xp_inv *inv, const char *name, const char *image,
				unsigned version);
/* Removes the record, its artifacts', further disks' and NICs' records (not the
 * files). */
int xp_domain_forget(struct xp_inv *inv, const char *name);

struct xp_artifact {
	char *kind; /* "config" or "disk" */
	char *path;
};
/* The artifacts planned for a domain, sorted by kind. */
int xp_domain_artifacts(struct xp_inv *inv, const char *name, struct xp_artifact **v,
			size_t *n);
void xp_artifacts_free(struct xp_artifact *v, size_t n);

/* ---- deploy runs (deploys.c) ---------------------------------------------------------- */

/* A deploy run is recorded when it starts (state 'running', its profile and how many
 * guests it was asked for) and ends as 'done', 'failed' or 'rolled-back'; the domains
 * it made carry its id. */
struct xp_deploy_counts {
	int64_t total, created, skipped, failed, cleaned; /* -1: not recorded (a killed
							   * run, or one recorded
							   * before xenprov kept them) */
};
struct xp_deploy_record {
	int64_t id;
	char *profile; /* NULL only for an old run whose guests are all gone */
	char *state;   /* "running", "done", "failed" or "rolled-back" */
	char *request; /* the command line */
	int64_t started, finished; /* unix seconds; finished 0 while running or if killed */
	struct xp_deploy_counts counts;
	int64_t guests; /* guests left: domains that carry its id */
};
void xp_deploy_record_release(struct xp_deploy_record *rec);
void xp_deploy_record_list_free(struct xp_deploy_record *v, size_t n);

int xp_deploy_record_start(struct xp_inv *inv, const char *profile, size_t total,
			   const char *request, int64_t *id);
/* Sets the state and the end time, and the counts of the run's end (counts->total is
 * not changed) unless counts is NULL. */
int xp_deploy_record_finish(struct xp_inv *inv, int64_t id, const char *state,
			    const struct xp_deploy_counts *counts);
/* 0 if run id is recorded, -ENOENT if not. */
int xp_deploy_record_find(struct xp_inv *inv, int64_t id);
/* -ENOENT if run id is not recorded. */
int xp_deploy_record_get(struct xp_inv *inv, int64_t id, struct xp_deploy_record *out);
/* Every run, oldest first. */
int xp_deploy_record_list(struct xp_inv *inv, struct xp_deploy_record **v, size_t *n);
/* The newest deploy that still has domains: *id, or 0 if none has; *count (may be
 * NULL): how many deploys have. profile (may be NULL): that profile's deploys only. */
int xp_deploy_record_last_with_domains(struct xp_inv *inv, const char *profile, int64_t *id,
				       size_t *count);
/* The names of the domains deploy id made, sorted. */
int xp_deploy_record_domains(struct xp_inv *inv, int64_t id, char ***names, size_t *n);

/* A number that changes whenever another connection commits to the database (SQLite's
 * data_version): the boot server polls it to pick up inventory changes without a sync
 * step. -ENOTSUP on PostgreSQL, where xp_inv_listen takes its place. */
int xp_inv_data_version(struct xp_inv *inv, int64_t *out);

/* PostgreSQL (-ENOTSUP on SQLite): this connection hears every later commit of a
 * writer's transaction (xp_inv_begin notifies; LISTEN here). Returns the connection's
 * socket, to be polled for reading, or -errno. Give it a connection of its own: what
 * arrives while another statement runs is only seen at the next xp_inv_notified. */
int xp_inv_listen(struct xp_inv *inv);
/* Reads what arrived: 1 if a writer committed since the last call, 0 if not, -EIO when
 * the connection is lost (reconnect, listen again, and assume everything changed). */
int xp_inv_notified(struct xp_inv *inv);
/* PostgreSQL: connects again (blocking; a transaction in progress is lost). 0 (also on
 * SQLite) or -errno with the reason in xp_inv_errmsg. */
int xp_inv_reconnect(struct xp_inv *inv);
/* The same in steps, for a caller whose loop must never wait on the database (the boot
 * server's). xp_inv_reconnect_start begins (0 or -errno; 0 on SQLite); until
 * xp_inv_reconnect_poll returns 1 the connection counts as lost (xp_inv_lost) and
 * every call on it fails at once. xp_inv_reconnect_poll goes as far as it can without
 * waiting and may be called at any time: 1 connected again (1 on SQLite), 0 not yet
 * (wait until *fd is ready for *events, POLLIN or POLLOUT; the socket may change from
 * one call to the next), -errno failed (xp_inv_errmsg; lost until the next start).
 * Nothing gives up by itself (a host whose SYNs go unanswered takes the kernel's
 * retries): the caller's deadline does, then a new start. */
int xp_inv_reconnect_start(struct xp_inv *inv);
int xp_inv_reconnect_poll(struct xp_inv *inv, int *fd, short *events);

void xp_strv_free(char **v, size_t n);

#endif
