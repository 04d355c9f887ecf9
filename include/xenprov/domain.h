/*
 * xenprov/domain.h - one guest, made from a profile: its disk (from the profile's golden
 * image, by the profile's storage backend), its MAC and IP (allocated from the
 * inventory, never handed out twice), its per-guest files (a hook, below) and its xl
 * config (/etc/xen/NAME.cfg, written with xenprov's own writer), all recorded in the
 * inventory's domains and artifacts tables so that a failure, or a later `delete`,
 * removes exactly what was made.
 *
 * Order of a create (xp_domain_create):
 *   1. resolve the profile, apply and validate the overrides (xp_profile_check);
 *   2. find or build the golden image (<state>/images/, keyed by content hash);
 *   3. ONE transaction: the name is free, the MAC and IP are allocated, the row is
 *      inserted with state 'creating' and its planned artifacts (disk, config); commit.
 *      Two concurrent creates queue on this transaction (BEGIN IMMEDIATE), and the
 *      UNIQUE constraints on domains.mac and domains.ip back it up;
 *   4. the guest's storage; 5. xp_guest_customize(); 6. the config;
 *   7. state 'ready'.
 * A failure in 4-7 removes what was made and the row. A crash leaves the row in state
 * 'creating' with its artifacts listed: xp_domain_delete cleans it up.
 *
 * Not here: the profile store (inventory.h), image building (image.h), the config
 * language (xl-config.h), what is edited inside the guest's filesystem (the
 * xp_guest_customize hook), many guests at once (deploy).
 *
 * Conventions (shared/DESIGN.md section 6): >= 0 success, -errno failure; messages go
 * into the struct xp_diags out-parameter.
 */
#ifndef XENPROV_DOMAIN_H
#define XENPROV_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/blockdev.h"
#include "xenprov/extfs.h"
#include "xenprov/guest.h"
#include "xenprov/image.h"
#include "xenprov/inventory.h"
#include "xenprov/mac.h"
#include "xenprov/util.h"

/* Where guest configs go unless told otherwise. */
#define XP_DOMAIN_CONFIG_DIR "/etc/xen"

/* The config directory of a guest (config-dir.c): given (--config-dir), else the
 * config-dir of s (the guest's effective profile values; may be NULL), else the
 * inventory's setting config-dir, else XP_DOMAIN_CONFIG_DIR. *out: its realpath, a heap
 * string. -ENOENT / -ENOTDIR with one diagnostic (code "config-dir") naming the
 * directory and which of them gave it; -errno of the inventory or the filesystem. */
int xp_domain_config_dir(struct xp_inv *inv, const char *given, const struct xp_settings *s,
			 char **out, struct xp_diags *d);

/* Defaults for what a profile leaves unset. */
#define XP_DOMAIN_DEFAULT_MEMORY 512 /* MiB */
#define XP_DOMAIN_DEFAULT_VCPUS	 1
#define XP_DOMAIN_DEFAULT_BRIDGE "xenbr0"
/* boot=pvgrub: the PV GRUB 2 image of Debian's grub-xen-host, used as the kernel, the
 * way xen-tools writes pvgrub guests (a profile's `kernel` value replaces it). */
#define XP_DOMAIN_PVGRUB_KERNEL "/usr/lib/grub-xen/grub-x86_64-xen.bin"
/* boot=pvgrub with type=pvh: grub-xen-host's GRUB for PVH guests. */
#define XP_DOMAIN_PVGRUB_PVH_KERNEL "/usr/lib/grub-xen/grub-i386-xen_pvh.bin"
/* kernel=from-image: the golden image's own newest kernel and its initramfs, copied
 * once per golden image (xp_boot_image_kernel). */
#define XP_DOMAIN_KERNEL_FROM_IMAGE "from-image"

/* ---- the per-guest customisation hook ------------------------------------------------ */

/* What the guest's own files must say. Strings are borrowed; NULL when not set. */
struct xp_guest_spec {
	const char *name;		/* the domain name */
	const char *hostname;		/* the guest's host name (the domain name) */
	const char *domain;		/* DNS domain (profile `domain`), or NULL */
	const char *mac;		/* "00:16:3e:xx:xx:xx", the guest's eth0 */
	const char *ip;			/* static IPv4 address, NULL for DHCP */
	unsigned prefix_len;		/* of ip (e.g. 24); 0 for DHCP */
	const char *gateway;		/* IPv4, or NULL */
	const char *dns;		/* "IPV4[,IPV4...]", or NULL */
	const char *root_password_hash; /* crypt(5) hash, or NULL */
	const char *ssh_key;		/* one authorized_keys line for root, or NULL */
	const char *timezone;		/* profile `timezone`, or NULL */
	/* profile list keys copy-in, write, firstboot-command as stored (inventory.h:
	 * xp_profile_list_items reads them), or NULL */
	const char *copy_in;
	const char *write;
	const char *firstboot;
	const char *disk_path;		/* the guest's own disk: file, qcow2 overlay or LV device */
	enum xp_image_format disk_format; /* of disk_path (a qcow2 overlay: QCOW2) */
	const char *golden_path;	  /* the golden image the disk was made from (read-only!) */
	int64_t root_offset;	 /* byte offset of the root filesystem in the disk, -1 unknown */
	enum xp_fs_type fs_type; /* of the root filesystem, when root_offset is known */
	const char *hooks_dir;   /* site hooks (<state>/hooks.d) when it exists, else NULL */
	bool grub;		 /* boots through GRUB's configuration (pygrub, pvgrub) */
	const char *kernel_args; /* with grub: the profile's `extra`, or NULL */
	bool no_sync;		 /* the disk is not fsync'ed (xp_guest_settings.no_sync) */
	/* the further NICs (configured in the guest like the first) and disks (a data
	 * disk with a mount point, a swap volume: in the guest's fstab by UUID), as
	 * recorded; may be NULL with a count of 0 */
	const struct xp_domain_nic *nics;
	size_t nnics;
	const struct xp_domain_volume *volumes;
	size_t nvolumes;
};

/* Edits the guest's files in spec->disk_path (hostname, network, fstab, machine-id,
 * password, ssh keys; new root and swap UUIDs; then the time zone, copy-ins, writes and
 * first-boot commands) with xp_guest_apply (guest.h), then runs
 * the site's hooks (src/lib/deploy/hooks.h). rep (may be NULL) receives
 * xp_guest_apply's report, which the xl config follows (xp_guest_config.guest); release
 * it with xp_guest_report_release. Called by xp_domain_create between storage and
 * config; a failure undoes the create. */
int xp_guest_customize(const struct xp_guest_spec *spec, struct xp_guest_report *rep,
		       struct xp_diags *d);

/* Rewrites the parts (XP_GUEST_EDIT_*, guest.h) of an existing guest's files in
 * spec->disk_path from spec, as xp_guest_customize wrote them (xp_guest_update: the
 * guest keeps its UUIDs, machine-id and host keys; no hooks run). Only the name,
 * network and the settings of those parts of spec are read. The guest must not be
 * running. */
int xp_guest_refresh(const struct xp_guest_spec *spec, unsigned parts, struct xp_diags *d);

/* A domain name: also the guest's host name, so an RFC 1123 label: 1-63 of [A-Za-z0-9-],
 * not starting or ending with '-'. */
bool xp_domain_name_valid(const char *name);

struct xp_domain_create_opts {
	const char *name;
	const char *profile;
	/* The profile's effective values, given instead of reading profile from the
	 * inventory (a profile served by another host: xenprov install, install.h); profile
	 * then only names it in messages, and the record names no local profile. NULL:
	 * profile is read from the inventory. */
	const struct xp_settings *values;
	/* No golden image: the guest's disk is made empty at the profile's disk-size (an
	 * installer fills it: xenprov install --installer), its files are not edited, and
	 * the values must boot it otherwise (boot kernel, an installer's kernel). */
	bool empty_disk;
	/* Per-guest profile values (keys as in xp_profile_keys, config.NAME included);
	 * validated and normalised with xp_profile_check. May be NULL. */
	const struct xp_settings *overrides;
	const char *ip;	 /* "A" or "A/N": instead of the pool's next free address. NULL: the
			  * pool's (network=static or an ip-pool set), else DHCP */
	const char *mac; /* instead of a random one. NULL: random in mac_prefix */
	/* ip is a plan (deploy's up-front pick from the pool), not a demand: taken
	 * meanwhile by another process (another dom0 deploying into a shared
	 * inventory), the pool's next free address is used instead. */
	bool ip_planned;
	/* Prefix of random MACs, 1-5 octets; NULL/0: Xen's OUI 00:16:3e. */
	const uint8_t *mac_prefix;
	size_t mac_prefix_len;
	const char *config_dir; /* NULL: as xp_domain_config_dir decides (must exist) */
	/* Random source for MACs; NULL: getrandom(2). */
	xp_random_fn rnd;
	void *rnd_ud;
	/* Progress of a golden image build (bytes written; mmdebstrap's phase lines for a
	 * debian:SUITE image, until its tar begins); each may be NULL. */
	xp_progress_fn progress;
	xp_phase_fn phase;
	void *progress_ud;
	/* A golden image already prepared with xp_golden_prepare for the same image
	 * settings: used as it is (deploy prepares it once for all its guests). NULL:
	 * prepared here. */
	const struct xp_golden *golden;
	/* The deploy this guest belongs to (domains.deploy_id); 0 for none. */
	int64_t deploy_id;
	/* Durability is the caller's: the disk (unless lvm), the guest's files and the xl
	 * config are written without fsync, and the domain is left in state "creating",
	 * not "ready". The caller syncs the filesystems of the disk and the config, then
	 * sets the state "ready" (xp_deploy_run does, once for all its guests); a guest
	 * left "creating" is half made (a later deploy removes and makes it again). */
	bool defer_sync;
	/* Started at the host's boot: the autostart link CONFIG-DIR/auto/NAME.cfg made
	 * after the config (xp_autostart_set, xenprov/toolstack.h). */
	bool autostart;
};

/* Creates a guest (the steps at the top). *out (may be NULL) receives the record.
 * Errors, each with a diagnostic: -EINVAL (bad name or override, the profile has no
 * image, --ip outside any known prefix...), -ENOENT (no such profile, the image is
 * missing), -EEXIST (the name, MAC or IP is taken, or the disk or config file exists and
 * is not xenprov's), -ENOSPC (the ip-pool is exhausted), -ENOTSUP (storage lvm where
 * there is no device-mapper / lvm2; reflink where the pool's filesystem cannot), or the
 * -errno of the step that failed. On failure nothing is left behind. */
int xp_domain_create(struct xp_inv *inv, const struct xp_domain_create_opts *o,
		     struct xp_domain *out, struct xp_diags *d);

/* xp_domain_get with its failure as a diagnostic: "no domain 'NAME'" (-ENOENT), or the
 * inventory's reason. */
int xp_domain_find(struct xp_inv *inv, const char *name, struct xp_domain *out,
		   struct xp_diags *d);

/* Deletes a guest: its autostart link (when it is xenprov's), its config, its storage
 * (unless keep_storage) and its record. Missing files are not an error (a half-made
 * guest can be deleted). -ENOENT if there is no such domain. Whether the guest runs is
 * the caller's to check first (xp_domains_stop_for_removal, xenprov/toolstack.h). */
int xp_domain_delete(struct xp_inv *inv, const char *name, bool keep_storage, struct xp_diags *d);

/* ---- adopt (adopt.c) ----------------------------------------------------------------- */

/* A machine installed by the autoinstaller (or by hand) onto a disk of its own, taken
 * into the inventory as an HVM guest (the Book of Xen's makeconf.pl): an xl config that
 * boots its disk through its own boot loader (type "hvm", boot "c", the first serial
 * port on the console), its NIC with the system record's MAC on the bridge. */
struct xp_domain_adopt_opts {
	const char *name;   /* the domain's name (an RFC 1123 label, as for create) */
	const char *system; /* the system record it was installed as; NULL: name */
	const char *disk;   /* its disk: a raw or qcow2 file, or a block device */
	/* memory, vcpus, bridge, config.NAME... for this guest (profile keys, checked
	 * with xp_profile_check); may be NULL. Applied over the system's profile. */
	const struct xp_settings *overrides;
	const char *config_dir; /* NULL: as xp_domain_config_dir decides */
	bool autostart;		/* the link CONFIG-DIR/auto/NAME.cfg */
};
/* Writes the config (atomically; an existing file is refused) and records the domain
 * (state ready, no profile: it was not made from one here, so it never drifts) with
 * the system's MAC and reserved address, both checked free among the domains. The disk
 * is the operator's: it is not an artifact of the domain, so `domain delete` keeps it.
 * Warnings: the system still netboots, or is still marked for install. Errors, each
 * with a diagnostic: -EINVAL (bad name, a disk that is neither a file nor a block
 * device, a bad override), -ENOENT (no such system or disk), -EEXIST (the domain, its
 * config, the MAC or the address exists), or the -errno of the step that failed; on
 * failure nothing is left behind. */
int xp_domain_adopt(struct xp_inv *inv, const struct xp_domain_adopt_opts *o,
		    struct xp_domain *out, struct xp_diags *d);

/* ---- allocation (alloc.c) ------------------------------------------------------------ */

/* The lowest address of pool ("A.B.C.D/N", 8 <= N <= 30) that is not the network
 * address, the broadcast address, gateway (may be NULL) or one of used[] (dotted quads;
 * anything unparsable is ignored). Writes it to out (INET_ADDRSTRLEN bytes) and the
 * prefix to *prefix_len. -EINVAL for a bad pool or gateway, -ENOSPC if none is free. */
int xp_ip_pool_pick(const char *pool, const char *gateway, const char *const *used, size_t nused,
		    char out[16], unsigned *prefix_len);

/* Checks an address asked for ("A" or "A/N"): inside pool (may be NULL) it must not be
 * the network, broadcast or gateway address, and N defaults to the pool's; outside it
 * (or with no pool) N must be given. Writes the bare address to out. -EINVAL. */
int xp_ip_check(const char *spec, const char *pool, const char *gateway, char out[16],
		unsigned *prefix_len, struct xp_diags *d);

/* Inside an open transaction of inv: a random MAC in prefix (NULL: Xen's OUI) that no
 * domain has. -EAGAIN if 64 draws all collided. */
int xp_domain_alloc_mac(struct xp_inv *inv, const uint8_t *prefix, size_t prefix_len,
			xp_random_fn rnd, void *ud, char out[XP_MAC_STRLEN + 1]);
/* Inside an open transaction of inv: xp_ip_pool_pick over the addresses domains hold
 * and the reserved ones ("A[,B...]", e.g. the profile's DNS servers; may be NULL). */
int xp_domain_alloc_ip(struct xp_inv *inv, const char *pool, const char *gateway,
		       const char *reserved, char out[16], unsigned *prefix_len);

/* ---- the golden image (golden.c) ----------------------------------------------------- */

/* The golden image of a set of profile values. */
struct xp_golden {
	char *path; /* absolute */
	enum xp_image_format format;
	uint64_t size;	     /* virtual size in bytes */
	int64_t root_offset; /* first ext2/3/4 volume's offset, -1 if none found */
	enum xp_fs_type fs_type;
	bool built; /* built by this call (not found in <state>/images) */
	/* the kernels in /boot of the root filesystem (found at root_offset): what pygrub,
	 * PV GRUB and kernel=from-image boot */
	struct xp_boot_kernels kernels;
};

void xp_golden_release(struct xp_golden *g);
/* A deep copy of src into dst. -ENOMEM (dst then released). */
int xp_golden_copy(const struct xp_golden *src, struct xp_golden *dst);

/* The golden image for settings (profile values): if `image` is a disk image (qcow2 or
 * raw, told by its magic bytes: qcow2 header, MBR/GPT signature or ext superblock), that
 * file as it is; if it is a root tarball, a raw image built once into
 * <state_dir>/images/<key>.img with the profile's disk-size, fs, label and swap, where
 * key is the SHA-256 of the tarball's content and those options (same inputs, same
 * image: it is built only the first time). A disk image file smaller than the profile's
 * disk-size is grown once into <state_dir>/images/<key>.img (raw; key: the SHA-256 of
 * the source's path, device, inode, size and mtime and of disk-size): its last (root)
 * partition grown to the end with libfdisk and its ext2/3/4 root filesystem with
 * resize2fs(8); the source is never written, and that grown image is the golden image
 * of every backend. -ENOENT if the image is missing, -EINVAL if it is neither (or is
 * smaller than disk-size with no ext2/3/4 root), -ENOTSUP if its root partition is not
 * the last one, -EIO if resize2fs fails. */
int xp_golden_prepare(const char *state_dir, const struct xp_settings *s, xp_progress_fn progress,
		      xp_phase_fn phase, void *ud, struct xp_golden *out, struct xp_diags *d);

/* ---- how a guest boots (guest-boot.c) ------------------------------------------------ */

/* The profile values that decide it: `type` (pv, the default, or pvh), `boot` (pygrub,
 * the default; pvgrub; kernel), `kernel` (a path on this host, or "from-image"),
 * `ramdisk`, `extra`. What cannot work is refused with the reason:
 *   - boot=kernel with a kernel or ramdisk path that is not a file on this host; with
 *     kernel=from-image and a ramdisk (the image's own initramfs goes with its kernel)
 *     or an image without a kernel in /boot;
 *   - boot=pygrub or pvgrub (set) and an image without a kernel in /boot; pvgrub with
 *     kernel=from-image; an `extra` that cannot go into a grub.cfg
 *     (xp_guest_kernel_args_valid).
 * Warnings: an unset boot (pygrub by default) with an image without a kernel (the
 * guests' configs can only fail to boot until `boot` says how); pvgrub when its GRUB
 * image (the profile's `kernel`, else XP_DOMAIN_PVGRUB_KERNEL, or for pvh
 * XP_DOMAIN_PVGRUB_PVH_KERNEL; Debian's grub-xen-host) is not on this host (xl loads
 * it on the Xen host, which need not be the one writing the config).
 * PVH boots with kernel= (a path or from-image) or a bootloader: xl.cfg(5), "PVH guest
 * options": no firmware, "booted using the Direct Kernel Boot method or the
 * bootloader option".
 *
 * kernels: what the image's /boot holds, or NULL where that is not known (the image is
 * not built yet, or not a local file). complete: the settings make a guest now
 * (domain create, deploy), so boot=kernel without a kernel is refused too; a profile
 * may leave that to a child. -EINVAL or -ENOENT with diagnostics. */
int xp_boot_check(const struct xp_settings *s, const struct xp_boot_kernels *kernels, bool complete,
		  struct xp_diags *d);
/* xp_boot_check of a profile's effective values at `profile add`/`edit`, with the
 * kernels of its image read where the image is a local file (a root tarball's headers,
 * or a disk image's root filesystem), else not known. */
int xp_boot_check_profile(const struct xp_settings *s, struct xp_diags *d);
/* Whether the settings boot through GRUB's configuration (boot pygrub, also unset, or
 * pvgrub): the guest's grub.cfg is then written where the image has none
 * (xp_guest_spec.grub). */
bool xp_boot_grub(const struct xp_settings *s);
/* kernel=from-image: the newest kernel of g (and its initramfs), copied once per golden
 * image into <state_dir>/images/<key>.kernel/ (key: the golden image's own key where it
 * was built into <state_dir>/images, else the SHA-256 of its path and identity), files
 * 0444, the directory made complete under a temporary name and then renamed, so
 * concurrent creates share one copy. *kernel and *ramdisk (heap; *ramdisk NULL for a
 * kernel without an initramfs) are their paths. -ENOENT (with a diagnostic) if g has
 * no kernel. */
int xp_boot_image_kernel(const char *state_dir, const struct xp_golden *g, char **kernel,
			 char **ramdisk, struct xp_diags *d);

/* ---- storage (storage.c) ------------------------------------------------------------- */

enum xp_storage {
	XP_STORAGE_FILE,    /* a sparse raw copy of the golden image */
	XP_STORAGE_REFLINK, /* an FICLONE clone of it (btrfs, XFS with reflink, ...) */
	XP_STORAGE_QCOW2,   /* a qcow2 overlay whose backing file is the golden image */
	XP_STORAGE_LVM,	    /* a logical volume in VG `pool` (a thin snapshot when the
			     * golden image is a thin LV itself) */
	XP_STORAGE_PHY,	    /* a block device the operator named (domain adopt): served
			     * by blkback, never made, grown or removed by xenprov */
};

const char *xp_storage_name(enum xp_storage s);
int xp_storage_from_name(const char *name, enum xp_storage *out);

/* 0 if lvm2's tools and device-mapper are usable here, -ENOTSUP if not (no
 * /dev/mapper/control, or no lvcreate/lvremove on PATH or in /sbin, /usr/sbin). */
int xp_lvm_available(void);

/* The "VG/LV" (lvm2's tools' form) of a logical volume's device path, into out (cap
 * bytes): /dev/VG/LV, or device-mapper's /dev/mapper/VG-LV, where a '-' inside either
 * name is doubled (dmsetup(8)): "/dev/mapper/my--vg-root" is "my-vg/root". -EINVAL for
 * any other path (a dm name with no single '-', an empty part, a further '/'),
 * -ENAMETOOLONG if out is too small. Says nothing of whether the volume exists. */
int xp_lv_name(const char *path, char *out, size_t cap);

/* The path of a guest's disk: <pool>/<name>.img (file, reflink), <pool>/<name>.qcow2,
 * /dev/<pool>/<name> (lvm). Heap string. */
int xp_storage_path(enum xp_storage s, const char *pool, const char *name, char **out);
/* The path of a guest's further disk: as xp_storage_path's, of the name
 * <name>.<volume> ("web1.data1", "web1.swap"): a domain name has no '.', so it is never
 * another guest's disk. */
int xp_storage_volume_path(enum xp_storage s, const char *pool, const char *name,
			   const char *volume, char **out);

/* Makes the guest's disk at path (from xp_storage_path) from the golden image. Never
 * replaces an existing file (-EEXIST). For lvm, pool is the volume group. *format is
 * the disk's format (qcow2 for an overlay or a copy of a qcow2 golden image). With
 * XP_STORAGE_NOSYNC a file or reflink disk is not fsync'ed, only its writeback started:
 * the caller syncs the pool's filesystem (a qcow2 overlay, a few KiB, and an lvm volume
 * are always synced). On failure nothing is left at path. */
#define XP_STORAGE_NOSYNC 1u
int xp_storage_create(enum xp_storage s, const struct xp_golden *g, const char *pool,
		      const char *name, const char *path, unsigned flags,
		      enum xp_image_format *format, struct xp_diags *d);
/* Removes a guest's disk. A missing one is not an error. */
int xp_storage_remove(enum xp_storage s, const char *path, struct xp_diags *d);
/* Grows a guest's disk at path to size bytes with its root partition and filesystem
 * (xp_image_grow, image.h; tmpdir holds its temporary copies): a logical volume is
 * extended with lvextend(8) first (to whole extents: it may come out larger, and is
 * filled as it is). The guest must not be running. -ENOTSUP for lvm without lvm2,
 * else xp_image_grow's errors. */
int xp_storage_grow(enum xp_storage s, const char *path, uint64_t size, const char *tmpdir,
		    struct xp_image_grown *res, struct xp_diags *d);

/* What xp_storage_create_volume writes on a new volume. */
enum xp_volume_content {
	XP_VOLUME_EMPTY, /* nothing: zeros (a data disk with fs none) */
	XP_VOLUME_EXT4,	 /* an empty ext4 filesystem (xp_fs_make) */
	XP_VOLUME_XFS,	 /* an empty XFS filesystem, by mkfs.xfs(8) */
	XP_VOLUME_SWAP,	 /* a Linux swap area (xp_swap_format) */
};

/* 0 if content can be made here, -ENOTSUP (with a diagnostic) where XFS is asked for
 * and mkfs.xfs (xfsprogs) is not installed. */
int xp_storage_volume_check(enum xp_volume_content content, struct xp_diags *d);

/* Makes a new volume of size bytes at path (xp_storage_volume_path: a file in a pool
 * directory made if missing, or /dev/VG/LV) holding content with the given UUID
 * (not with EMPTY): file and reflink a sparse raw file (a new volume has nothing to
 * share), qcow2 a fresh qcow2 image of that virtual size (no backing file) holding only
 * the clusters the content wrote (made as a raw temporary, converted and removed), lvm a
 * volume lvcreate makes (signatures wiped, start zeroed). Never over an existing file
 * (-EEXIST); the volume is synced (fsync or, for qcow2, the converted image's
 * fdatasync) whatever the guest's own disk is; on failure nothing is left at path.
 * Errors, each with a diagnostic: -EEXIST, -ENOTSUP (lvm or XFS missing), -ENOSPC, the
 * -errno of what failed. */
int xp_storage_create_volume(enum xp_storage s, const char *path, uint64_t size,
			     enum xp_volume_content content, const char *uuid, struct xp_diags *d);

/* ---- the xl config (xlcfg.c) ---------------------------------------------------------- */

struct xp_guest_config {
	const char *name;
	const struct xp_settings *settings; /* effective profile values */
	enum xp_storage storage;
	const char *disk_path;
	enum xp_image_format disk_format;
	const char *mac;
	const char *ip;	     /* NULL: none in the vif */
	const char *profile; /* for the header comment; may be NULL */
	/* What xp_guest_apply changed in the guest's disk (may be NULL): the kernel command
	 * line (root, extra, and config.root/extra/cmdline) names its new root and swap
	 * UUIDs where it named the old ones (xp_guest_uuids_follow). */
	const struct xp_guest_report *guest;
	/* kernel=from-image: the copies of the image's kernel and initramfs
	 * (xp_boot_image_kernel); ramdisk may be NULL */
	const char *image_kernel, *image_ramdisk;
	bool no_sync; /* xp_guest_config_write: atomic, but not fsync'ed (defer_sync) */
	/* the further disks (each at its vdev, after xvda) and NICs (a vif each, after
	 * the first, in devid order), as recorded; may be NULL with a count of 0 */
	const struct xp_domain_volume *volumes;
	size_t nvolumes;
	const struct xp_domain_nic *nics;
	size_t nnics;
};

/* The guest's xl config text: name, type (the profile's `type`: "pv" or "pvh"; "hvm"
 * only in an adopted guest's values: boot "c" from its disk and serial "pty", no boot
 * loader or kernel), memory,
 * vcpus, the boot method (bootloader = "pygrub"; PV GRUB's image as kernel, the PVH one
 * for pvh; or kernel/ramdisk/root/extra: with kernel=from-image c->image_kernel and
 * c->image_ramdisk, root=UUID= of the guest's root filesystem (c->guest) where there
 * is an initramfs to find it, and console=hvc0 before `extra` unless it names a
 * console), disk =
 * [ 'format=..,vdev=xvda,access=rw[,backendtype=phy],target=PATH', one spec per further
 * disk at its vdev ], vif = [ 'mac=..,bridge=..[,ip=..]', one spec per further NIC ],
 * on_poweroff/on_reboot/on_crash, then the profile's
 * config.NAME values (a config.NAME for a setting written above replaces it); the
 * kernel command line follows c->guest's UUIDs. The text
 * is parsed back before it is returned: -EBADMSG (with diagnostics) if xl would not read
 * it, -EINVAL for a boot=kernel profile without a kernel. */
int xp_guest_config_text(const struct xp_guest_config *c, struct xp_buf *out, struct xp_diags *d);
/* xp_guest_config_text written to path with xp_write_atomic: mode 0644, or 0600 when it
 * carries a secret profile value (config.vncpasswd, config.spicepasswd). */
int xp_guest_config_write(const struct xp_guest_config *c, const char *path, struct xp_diags *d);

#endif
