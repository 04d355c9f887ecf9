/*
 * xenprov/guest.h - per-guest settings written into a guest's disk image without
 * mounting it: hostname, hosts, network configuration in the guest's own format,
 * fstab, machine-id, the root password hash, root's SSH key; and what makes a clone a
 * machine of its own: new root filesystem and swap UUIDs (and the files naming them),
 * SSH host keys, random seeds, DHCP leases and persistent network rules removed; then
 * what the operator asks for on top: time zone, host files copied in, files written,
 * first-boot commands.
 * Works on raw images (files or block devices, bare filesystem or
 * partitioned) and on qcow2 images, where it writes through the copy-on-write layer:
 * an overlay gains only the clusters written and its backing file is never written.
 *
 * Not here: cloning the image (blockdev.h: xp_qcow2_create_overlay), the xl config, the
 * site's hooks (a deploy step, run by xp_guest_customize after xp_guest_apply:
 * src/lib/deploy/hooks.h).
 */
#ifndef XENPROV_GUEST_H
#define XENPROV_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenprov/mac.h"
#include "xenprov/util.h"

/* What a guest's network is configured with, detected from the image, first match
 * (xp_net_format_name's names):
 *   netplan         /etc/netplan/ exists    -> /etc/netplan/50-xenprov.yaml (0600)
 *   networkmanager  /usr/sbin/NetworkManager (or /sbin/) and its service enabled
 *                   (/etc/systemd/system/multi-user.target.wants/NetworkManager.service)
 *                   -> /etc/NetworkManager/system-connections/xenprov.nmconnection (0600)
 *   ifcfg           /etc/sysconfig/network-scripts/  -> .../ifcfg-eth0
 *   ifupdown        /etc/network/interfaces -> that file (+ interfaces.d, below), and
 *                   with systemd-udevd /etc/systemd/network/10-xenprov-enX0.link naming
 *                   the interface XP_GUEST_IFNAME (else it configures eth0)
 *   networkd        /etc/systemd/network/   -> /etc/systemd/network/10-xenprov.network
 * Ubuntu has netplan and networkd; RHEL 8 and 9 run NetworkManager, which always reads
 * keyfiles (RHEL 9 keeps network-scripts/ for a readme); Debian ships an empty
 * /etc/systemd/network/ next to ifupdown. */
enum xp_net_format {
	XP_NET_NONE,
	XP_NET_IFUPDOWN,
	XP_NET_NETWORKD,
	XP_NET_NETPLAN,
	XP_NET_IFCFG,
	XP_NET_NM,
};

/* The name the guest's interface gets where xenprov names it (ifupdown with
 * systemd-udevd, netplan): the name systemd's naming scheme v250 and later gives the
 * Xen vif with devid 0 (systemd.net-naming-scheme(7)), so that a guest whose initramfs
 * already named it so keeps it, and one with an older systemd gets the same; never a
 * kernel name (ethN), which a rename would race with. At most 15 characters
 * (IFNAMSIZ). Without systemd-udevd (sysvinit with busybox or eudev) ifupdown
 * configures the kernel's name, XP_GUEST_KERNEL_IFNAME. */
#define XP_GUEST_IFNAME	       "enX0"
#define XP_GUEST_KERNEL_IFNAME "eth0"
/* The same names of a guest's NIC number i (0 the first, 1 for the vif with devid 1,
 * ...): "enX<i>", or with kernel "eth<i>" (the kernel numbers Xen's vifs in devid
 * order as they are probed). buf holds 16 bytes. */
const char *xp_guest_ifname(unsigned i, bool kernel, char buf[16]);

const char *xp_net_format_name(enum xp_net_format f);

/* A further NIC of the guest (the vif with devid 1, 2, ...), configured like the
 * first one (the settings' mac, ip, ...), in every network format, matched by its MAC.
 * Only the first NIC's settings carry name servers and the DNS domain. A further NIC
 * gets a default route only through its own gateway: a static gateway, or "dhcp" for
 * the router its DHCP server offers (else that router is not used: networkd's
 * UseGateway=no, netplan's use-routes false, NetworkManager's never-default, ifcfg's
 * DEFROUTE=no; ifupdown's dhcp method has no such setting). */
#define XP_GUEST_MAX_NICS 16 /* the first and 15 further ones: enX0 to enX15 */
struct xp_guest_nic {
	const char *mac;     /* needed */
	bool dhcp;	     /* DHCP, else the static ip */
	const char *ip;	     /* IPv4 or IPv6 address, with !dhcp */
	unsigned prefix;     /* of ip (0: 24 or 64) */
	const char *gateway; /* an address of ip's family, "dhcp" with dhcp, or NULL */
};

/* A further line of /etc/fstab: a data disk's filesystem or a swap volume, found by its
 * UUID. */
struct xp_guest_mount {
	const char *uuid; /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
	const char *type; /* "ext2", "ext3", "ext4", "xfs" or "swap" */
	const char *dir;  /* the mount point (xp_guest_path_valid, no blanks), made in the
			     guest if missing; NULL for swap */
};

/* Borrowed strings; NULL (or 0/false) leaves that part of the guest alone. */
struct xp_guest_settings {
	const char *hostname;	/* short name, an RFC 1123 label: /etc/hostname, /etc/hosts */
	const char *domain;	/* DNS domain: the FQDN in /etc/hosts, the DNS search domain */
	const char *mac;	/* "aa:bb:cc:dd:ee:ff": the guest's interface is found by it;
				   needed with dhcp or ip */
	const char *ip;		/* IPv4 or IPv6 address: static configuration */
	unsigned prefix;	/* with ip: prefix length (0: 24 for IPv4, 64 for IPv6) */
	const char *gateway;	/* with ip, may be NULL */
	const char *const *dns; /* with ip: name servers */
	size_t ndns;
	bool dhcp;			/* DHCP (ip is then ignored) */
	const struct xp_guest_nic *nics; /* the further NICs, with the first's dhcp or ip */
	size_t nnics;
	const struct xp_guest_mount *mounts; /* further fstab lines, in order */
	size_t nmounts;
	const char *root_password_hash; /* crypt(3) hash for root in /etc/shadow; never
					   logged. /etc/shadow must exist and have root */
	const char *ssh_key;		/* root's authorized_keys (one or more lines) */
	/* The guest boots its own kernel through GRUB's configuration (pygrub, PV GRUB):
	 * it must have a kernel in /boot; where it has no GRUB configuration yet,
	 * /boot/grub/grub.cfg is written for its kernels (see xp_guest_apply). */
	bool grub;
	const char *kernel_args; /* with grub: further kernel command line (the profile's
				    `extra`), as xp_guest_kernel_args_valid accepts; may be NULL */
	bool no_sync; /* the image is not fsync'ed (its writeback is started): the caller
		       * makes it durable (xp_deploy_run: one syncfs per filesystem) */

	/* What the operator asks for on top (virt-customize's most used; profile keys
	 * timezone, copy-in, write, firstboot-command), applied after every edit above,
	 * in this order, so that they may replace any file xenprov wrote: */
	const char *timezone; /* tzdata zone name: /etc/localtime, /etc/timezone */
	const struct xp_guest_copy *copy_in; /* host files and trees copied in */
	size_t ncopy_in;
	const struct xp_guest_write *write; /* files of a given content */
	size_t nwrite;
	const char *const *firstboot; /* shell command lines run once at first boot, in
					 order (systemd images only) */
	size_t nfirstboot;
};

/* Whether args can go on the kernel command line of a grub.cfg and of
 * /etc/default/grub: printable ASCII without quotes, '$', backslash, '`', ';', '{',
 * '}', '|', '&', '<' or '>', which GRUB's script or the shell would read as syntax.
 * NULL is valid. */
bool xp_guest_kernel_args_valid(const char *args);

/* ---- customisations ---------------------------------------------------------------------- */

/* Bounds of what xp_guest_apply takes (and the profile stores): each list holds at most
 * XP_GUEST_MAX_ITEMS items; a first-boot command is one line of at most
 * XP_GUEST_MAX_COMMAND bytes; a written file's content at most XP_GUEST_MAX_WRITE
 * bytes (larger files: copy-in); all copy-ins of a guest together at most
 * XP_GUEST_MAX_COPY_ENTRIES files, directories and symlinks, XP_GUEST_MAX_COPY_BYTES
 * bytes of file data, directories nested at most XP_GUEST_MAX_COPY_DEPTH deep; a guest
 * path at most XP_GUEST_MAX_PATH bytes, a time zone name XP_GUEST_MAX_ZONE. */
#define XP_GUEST_MAX_ITEMS	 64
#define XP_GUEST_MAX_COMMAND	 4096
#define XP_GUEST_MAX_WRITE	 (64u << 10)
#define XP_GUEST_MAX_COPY_ENTRIES 65536
#define XP_GUEST_MAX_COPY_BYTES	 (4ull << 30)
#define XP_GUEST_MAX_COPY_DEPTH	 64
#define XP_GUEST_MAX_PATH	 4095
#define XP_GUEST_MAX_ZONE	 128

/* A host file, or a directory and everything below it, copied into a guest directory
 * (`cp -r LOCAL DIR` inside the guest): DIR/basename(LOCAL). */
struct xp_guest_copy {
	const char *local; /* absolute host path; a final symlink is followed, those below
			      it are copied as symlinks */
	const char *dir;   /* absolute guest directory (made if missing, 0:0 0755) */
	uint32_t uid, gid; /* owner of what is copied (0:0 unless the item says) */
};

/* A guest file of a given content. */
struct xp_guest_write {
	const char *path; /* absolute guest path */
	const char *data;
	size_t len;
};

/* Whether path is a guest path the customisations take: absolute, at most
 * XP_GUEST_MAX_PATH bytes, no empty, "." or ".." component, no trailing '/' (but "/"
 * itself), no control characters. Symlinks on the way are resolved inside the guest's
 * filesystem when it is written, never on the host. */
bool xp_guest_path_valid(const char *path);

/* What one machine keeps of its own and a clone must not share (random seeds, DHCP
 * client leases and identities, the udev rule naming eth0 after the old MAC), as
 * xp_guest_apply removes it from every guest: absolute "DIR/GLOB" patterns (the glob
 * only in the last component, fnmatch(3) with FNM_PERIOD), NULL-terminated, static.
 * `image capture` leaves the same out of a golden image. */
const char *const *xp_guest_machine_state(void);

/* Reads a copy-in item "LOCAL:DIR" or "LOCAL:DIR:UID:GID" (the owner in decimal) in
 * place: item is cut with NULs and out points into it. DIR is after the last ':' left
 * once an owner is taken off (LOCAL may hold ':', DIR may not). LOCAL: absolute, not
 * "/"; DIR: xp_guest_path_valid. -EINVAL with *why (a static sentence) if not. */
int xp_guest_copy_parse(char *item, struct xp_guest_copy *out, const char **why);
/* Reads a write item "PATH:CONTENT" in place (PATH is before the first ':'; CONTENT,
 * possibly empty, is the rest, at most XP_GUEST_MAX_WRITE bytes). PATH:
 * xp_guest_path_valid and not "/". -EINVAL with *why if not. */
int xp_guest_write_parse(char *item, struct xp_guest_write *out, const char **why);
/* Whether cmd can be a first-boot command: not empty, one line (no control characters
 * but tabs), at most XP_GUEST_MAX_COMMAND bytes. -EINVAL with *why if not. */
int xp_guest_command_check(const char *cmd, const char **why);
/* Whether zone can be a tzdata zone name (Europe/Paris, America/Argentina/Salta,
 * Etc/GMT+5, UTC): components of letters, digits, '_', '-', '+', '.', not starting
 * with '.', separated by single '/', at most XP_GUEST_MAX_ZONE bytes. Whether the
 * guest has it is checked when it is applied. -EINVAL with *why if not. */
int xp_guest_timezone_check(const char *zone, const char **why);

/* Values derived from settings s as xp_guest_apply accepts them, the same for every
 * file written (and for the site's hooks, deploy/hooks.h):
 * xp_guest_prefix: the prefix length of a static address: s->prefix, or 24 for IPv4 and
 *   64 for IPv6 when it is 0; 0 without a static address (s->dhcp, or no s->ip).
 * xp_guest_mac: s->mac as "xx:xx:xx:xx:xx:xx" in lower case into mac ("" without
 *   one); -EINVAL if xp_mac_parse (mac.h) does not read it. */
unsigned xp_guest_prefix(const struct xp_guest_settings *s);
int xp_guest_mac(const struct xp_guest_settings *s, char mac[XP_MAC_STRLEN + 1]);

struct xp_guest_report {
	enum xp_net_format net_format;
	uint64_t fs_offset;	/* byte offset of the root filesystem in the image */
	char fs_uuid[37];	/* root filesystem UUID: the new one (in /etc/fstab) */
	char swap_uuid[37];	/* swap area UUID: the new one; "" if no swap */
	char old_fs_uuid[37];	/* the UUIDs the image had before (a golden image's) */
	char old_swap_uuid[37]; /* "" if no swap or its area had no UUID */
	bool csum_seed_set;	/* metadata_csum_seed was turned on (see xp_guest_apply) */
	char **written;		/* paths in the guest written (created or replaced), in order */
	size_t nwritten;
	char **removed; /* paths in the guest removed */
	size_t nremoved;
	char *boot_kernel;     /* with grub: the newest kernel in /boot ("/boot/vmlinuz-..."),
				  else NULL */
	bool grub_cfg_written; /* with grub: /boot/grub/grub.cfg was written by xenprov */
};

void xp_guest_report_release(struct xp_guest_report *rep);

/* Whether path (absolute, inside a guest) is one of a guest's own files, which a guest
 * keeps when its image is updated to another version and a capture leaves out: what
 * xp_guest_apply writes or removes per guest (hostname, hosts, mailname, fstab,
 * machine-id, resolv.conf, shadow, SSH host keys, root's authorized_keys, the network
 * configuration of every format, the boot loader files naming the guest's UUIDs,
 * xenprov's units and first-boot commands, the time zone) and the machine state a
 * clone must not share (random seeds, DHCP leases, DUIDs, persistent net rules). */
bool xp_guest_own_path(const char *path);

/* Appends text (len bytes) to out with every whole occurrence of rep's old UUIDs
 * (old_fs_uuid, old_swap_uuid; hex digits in either case, not within a longer run of
 * hex digits and '-') replaced by the new ones. What names a clone's disks follows them
 * this way: the guest's boot loader and initramfs files (xp_guest_apply) and the kernel
 * command line of its xl config (deploy/xlcfg.c). Returns the number of replacements,
 * or -ENOMEM. */
int xp_guest_uuids_follow(const struct xp_guest_report *rep, const char *text, size_t len,
			  struct xp_buf *out);

/* Applies s to the image at image_path (raw or qcow2, detected).
 *
 * The root filesystem is the first ext2/3/4 filesystem holding /etc: a bare one at
 * offset 0, or a partition of an msdos/gpt table. A swap partition is recognised by
 * its signature; its UUID is in the swap header (byte 1036).
 *
 * New identities, always: the root filesystem gets a random UUID, as `tune2fs -U
 * random` gives it, by a superblock write and no rewrite of metadata checksums: with
 * metadata_csum_seed (xenprov's golden ext4 images have it) or without metadata_csum
 * (ext2, ext3) the checksums stay valid as they are (group descriptors with gdt_csum
 * are recomputed); an ext4 with metadata_csum but without the seed gets
 * metadata_csum_seed first, set to the seed its checksums were made with, as `tune2fs -O
 * metadata_csum_seed` does (rep->csum_seed_set, and a warning: the guest then needs
 * Linux >= 4.4 and e2fsprogs >= 1.43, and a GRUB that reads its own /boot >= 2.12 or
 * Debian's 2.06-13). ea_inode without metadata_csum is refused (-ENOTSUP). The first
 * swap partition gets a random UUID in its header (also one that had none). What names
 * the old UUIDs follows them (xp_guest_uuids_follow), in the regular files among
 * /boot/grub/grub.cfg, /boot/grub2/grub.cfg, /boot/grub/menu.lst, /etc/default/grub,
 * /etc/kernel/cmdline, /etc/initramfs-tools/conf.d/resume and the .conf files of
 * /boot/loader/entries (each rewritten only where it names one).
 *
 * Written, each with the owner and mode of the file it replaces (its inode is kept, so
 * extended attributes such as SELinux labels stay), else 0:0 0644:
 *   /etc/hostname, /etc/hosts (with hostname); the network configuration (dhcp or ip;
 *   see enum xp_net_format): the keyfile 0:0 0600 always, the .link file of ifupdown
 *   when the image has systemd-udevd (/lib/systemd/systemd-udevd or
 *   /usr/lib/systemd/systemd-udevd); with ip, /etc/resolv.conf from s->dns and s->domain
 *   unless it is a symbolic link (a resolver manager's: systemd-resolved, resolvconf);
 *   /etc/fstab (root by UUID, swap by UUID; always); /etc/machine-id (32 random hex
 *   digits, always) and /var/lib/dbus/machine-id if that is a regular file; root's
 *   second field of /etc/shadow (everything else kept byte for byte);
 *   /root/.ssh/authorized_keys (replaced; 0:0 0600, /root/.ssh 0:0 0700).
 * With s->grub: the newest of the kernels in /boot (xp_boot_kernels_pick, image.h) is
 * reported; none is an error (-ENOENT). Where the image has no GRUB configuration
 * (/boot/grub/grub.cfg, /boot/grub2/grub.cfg, /boot/grub/menu.lst), /boot/grub/grub.cfg
 * is written for them (image/guest-text.h: each kernel found by the new root UUID,
 * console=hvc0 and s->kernel_args on its command line), 0:0 0644; and if the guest has
 * GRUB tooling of its own (update-grub, grub-mkconfig or grub2-mkconfig in /usr/sbin or
 * /sbin), which writes that file anew when a kernel is installed, /etc/default/grub
 * gets the line that puts console=hvc0 and s->kernel_args into what it writes. A
 * configuration the image has is left to it (its old UUIDs follow, below).
 * With systemd (/lib/systemd/systemd or /usr/lib/systemd/systemd) and sshd
 * (/usr/sbin/sshd or /sbin/sshd) in the image, always: the first-boot unit
 * /etc/systemd/system/xenprov-ssh-hostkeys.service (oneshot `ssh-keygen -A`, only while
 * /etc/ssh/ssh_host_ed25519_key is missing, before ssh.service and sshd.service), 0:0
 * 0644, and its symlink in multi-user.target.wants (as `systemctl enable` makes); a
 * sysvinit image gets nothing (its hooks must make the host keys).
 * Removed: /etc/ssh/ssh_host_*_key and .pub (always); what one machine keeps of its
 * own and a clone must not share (always; virt-sysprep's random-seed,
 * dhcp-client-state and udev-persistent-net): the random seeds /var/lib/systemd/
 * random-seed, /var/lib/urandom/random-seed and /var/lib/random-seed, the DHCP client
 * leases /var/lib/dhcp/dhclient*.leases, *.lease and *.leases in /var/lib/dhclient,
 * *.lease in /var/lib/NetworkManager, *.lease and *.lease6 in /var/lib/dhcpcd, the DHCP
 * client identities and IPv6 address secrets /var/lib/dhcpcd/duid, /var/lib/dhcpcd/
 * secret and /var/lib/NetworkManager/secret_key (made anew at boot), and
 * /etc/udev/rules.d/70-persistent-net.rules; with dhcp, a regular /etc/resolv.conf (the
 * DHCP client writes it); for ifupdown the files of /etc/network/interfaces.d that
 * configure eth0 or XP_GUEST_IFNAME, for netplan the other .yaml files of /etc/netplan
 * that configure ethernets, for NetworkManager the other ethernet connections of
 * /etc/NetworkManager/system-connections.
 * Then the customisations, in this order, after all of the above (so that they may
 * replace any of it; a write replaces what a copy-in brought):
 *   timezone: /etc/localtime a symlink to /usr/share/zoneinfo/ZONE; -ENOENT (code
 *     "timezone") if the image has /usr/share/zoneinfo but not ZONE there as a file, a
 *     warning if it has no /usr/share/zoneinfo (tzdata missing); /etc/timezone "ZONE\n"
 *     where /etc/debian_version or /etc/timezone exists.
 *   copy_in: GUESTDIR and the directories above it made if missing (0:0 0755); the
 *     host file or tree LOCAL becomes GUESTDIR/basename(LOCAL): directories and regular
 *     files with their permission bits and the item's owner (existing ones given them;
 *     a file keeps its inode), symlinks below LOCAL as symlinks with their target text;
 *     anything else is refused (-EINVAL, code "copy-in"); the bounds of
 *     XP_GUEST_MAX_COPY_* are -EFBIG; a host file that cannot be read is its -errno.
 *   write: the file with that content (an existing regular file keeps its inode,
 *     owner and mode; else 0:0 0644), its directories made if missing (0:0 0755).
 *   firstboot: with systemd in the image (else -ENOTSUP, code "firstboot-command"),
 *     each command in /var/lib/xenprov/firstboot.d/NNNN (0001 first; 0:0 0600, the
 *     directory 0700), the script /usr/local/lib/xenprov/firstboot (0755) that runs
 *     them, and the unit /etc/systemd/system/xenprov-firstboot.service with its
 *     multi-user.target.wants link (guest-text.h says what they do).
 * Every path is resolved inside the image: a symlink on the way leads within the
 * guest's tree, a final symlink is replaced rather than written through.
 * The image is closed and synced on return.
 *
 * rep (may be NULL) is filled even on failure with what was done; release it.
 * Errors, each with a diagnostic in d (may be NULL): -EINVAL invalid settings (among
 * them dhcp or ip without mac, customisations beyond their syntax or bounds, whose
 * diagnostic's code is the profile key and never quotes a write's content; nothing is
 * touched), -ENOENT no ext2/3/4 filesystem
 * with /etc (or no root in /etc/shadow), -ENOSPC the guest filesystem (or the host) is
 * full, -EBUSY the image is being edited, -ENOTSUP an image feature we cannot write
 * (qcow2 snapshots, journal to recover, ea_inode without metadata_csum), -EIO I/O
 * errors and corrupt filesystems, other -errno. After a failure
 * the image may be partly edited (its filesystem and qcow2 metadata stay consistent):
 * callers discard it. */
int xp_guest_apply(const char *image_path, const struct xp_guest_settings *s,
		   struct xp_guest_report *rep, struct xp_diags *d);

/* The parts of a guest that xp_guest_update rewrites, each as xp_guest_apply writes it: */
#define XP_GUEST_EDIT_HOSTS    1u  /* /etc/hostname, /etc/hosts (hostname, domain) */
#define XP_GUEST_EDIT_NETWORK  2u  /* the network configuration and /etc/resolv.conf */
#define XP_GUEST_EDIT_PASSWORD 4u  /* root's hash in /etc/shadow */
#define XP_GUEST_EDIT_SSH_KEY  8u  /* /root/.ssh/authorized_keys */
#define XP_GUEST_EDIT_CUSTOM   16u /* the customisations s carries (time zone, ...) */
#define XP_GUEST_EDIT_ALL      31u

/* Rewrites the parts (XP_GUEST_EDIT_*, at least one) of an existing guest's files from
 * s, as xp_guest_apply writes them, and nothing else: the guest keeps its identity (its
 * UUIDs, machine-id, SSH host keys, random seed). For settings that changed after the
 * guest was made (`xenprov domain update`); the guest must not be running. Errors as
 * xp_guest_apply's; -EINVAL for no part or an unknown one. */
int xp_guest_update(const char *image_path, const struct xp_guest_settings *s, unsigned parts,
		    struct xp_guest_report *rep, struct xp_diags *d);

#endif
