/*
 * guest-text.h - what xp_guest_apply writes into a guest, as pure text functions
 * (guest-text.c): settings in, the file's bytes out. No image, no I/O, no clock and no
 * randomness (the machine-id's random bytes are an argument), so each format is tested
 * byte for byte without a filesystem (tests/unit/test-guest-text.c).
 *
 * Every writer appends to out (an xp_buf the caller owns) and returns 0, -ENOMEM if the
 * buffer failed, or -EINVAL for settings it cannot write (as said at each). Settings
 * are as xp_guest_apply accepts them (guest.h): the writers do not check addresses or
 * names again, they only derive the values written (the prefix length, the MAC in lower
 * case) with xp_guest_prefix and xp_guest_mac.
 *
 * Not here: where the files go and with which owner and mode (guest-edit.c), writing
 * them into the image (guest-fs.c).
 */
#ifndef XP_GUEST_TEXT_H
#define XP_GUEST_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "xenprov/extfs.h"
#include "xenprov/guest.h"
#include "xenprov/image.h"
#include "xenprov/util.h"

/* /etc/hostname: the host name and a newline. -EINVAL without s->hostname. */
int xp_guest_text_hostname(const struct xp_guest_settings *s, struct xp_buf *out);
/* /etc/hosts (hosts(5)) laid out as Debian's installer writes it: localhost, 127.0.1.1
 * with the FQDN and the short name (the short name alone without s->domain), the IPv6
 * lines. -EINVAL without s->hostname. */
int xp_guest_text_hosts(const struct xp_guest_settings *s, struct xp_buf *out);

/* The network configuration in each format, DHCP (s->dhcp) or static (s->ip, its
 * prefix, s->gateway, s->dns, s->domain as the search domain), for the first NIC and
 * each of s->nics (guest.h: only the first has the name servers and the domain, a
 * further NIC's default route only when it asks for one); -EINVAL for a NIC with
 * neither dhcp nor an address, or a nic index beyond s->nnics. The formats that can
 * match an interface by its address (networkd, netplan, NetworkManager, the .link file)
 * match each NIC by its MAC and are -EINVAL without one: the guest names its interfaces
 * itself (enX0 for a Xen vif under systemd 250 and later, eth0 before), so a name is no
 * way to find it. Interface names are xp_guest_ifname's.
 *
 * ifupdown: /etc/network/interfaces (interfaces(5)) for every NIC, named enXN (or ethN
 * with kernel_names), with a "source" line for the files of /etc/network/interfaces.d
 * first if source_dotd. */
int xp_guest_text_ifupdown(const struct xp_guest_settings *s, bool kernel_names, bool source_dotd,
			   struct xp_buf *out);
/* A systemd .link file (systemd.link(5)) that names NIC nic (by its MAC) enX<nic>, for
 * udev's net_setup_link (which also applies it with net.ifnames=0). */
int xp_guest_text_link(const struct xp_guest_settings *s, unsigned nic, struct xp_buf *out);
/* /etc/resolv.conf (resolv.conf(5)) from the settings alone: a search line for
 * s->domain and a nameserver line for each of s->dns (glibc reads the first 3). */
int xp_guest_text_resolv_conf(const struct xp_guest_settings *s, struct xp_buf *out);
/* A systemd-networkd .network file (systemd.network(5)) for NIC nic, matching [Match]
 * MACAddress=. */
int xp_guest_text_networkd(const struct xp_guest_settings *s, unsigned nic, struct xp_buf *out);
/* A netplan YAML file (netplan's reference, version 2): every NIC matched by macaddress
 * and renamed enX<N> with set-name. */
int xp_guest_text_netplan(const struct xp_guest_settings *s, struct xp_buf *out);
/* A NetworkManager keyfile (nm-settings-keyfile(5)) for NIC nic: an ethernet
 * connection "xenprov" (a further NIC's "xenprov-enX<N>") bound to the interface by
 * [ethernet] mac-address, with a higher autoconnect-priority than connections left in
 * the image; its UUID is made from the 16 random bytes as a version 4 UUID (as for the
 * machine-id). Name servers go to [ipv4] or [ipv6] by their family. */
int xp_guest_text_nm_keyfile(const struct xp_guest_settings *s, unsigned nic,
			     const unsigned char random[16], struct xp_buf *out);
/* Red Hat's ifcfg-eth<nic> (initscripts' sysconfig.txt): DEVICE=eth<nic>, HWADDR with
 * the NIC's MAC (initscripts' rename_device gives the interface with that address the
 * name). */
int xp_guest_text_ifcfg(const struct xp_guest_settings *s, unsigned nic, struct xp_buf *out);

/* Whether an interfaces(5) text configures ifname: an iface or mapping stanza for it, or
 * an auto/allow-* line naming it. */
bool xp_guest_text_ifupdown_configures(const char *text, const char *ifname);
/* Whether a netplan YAML text configures ethernets. */
bool xp_guest_text_netplan_has_ethernets(const char *text);
/* Whether a NetworkManager keyfile text is an ethernet connection: a "type=ethernet" or
 * "type=802-3-ethernet" line. */
bool xp_guest_text_nm_is_ethernet(const char *text);

/* /etc/fstab (fstab(5)): the root filesystem (fs_type) by UUID, the swap area by UUID
 * unless swap_uuid is NULL or "", then each of mounts by UUID: a filesystem at its
 * mount point with defaults,nofail (pass 2, XFS 0), a swap volume with sw,nofail.
 * -EINVAL for a mount xp_guest_apply would refuse (guest.h, struct xp_guest_mount). */
int xp_guest_text_fstab(const char *root_uuid, enum xp_fs_type fs_type, const char *swap_uuid,
			const struct xp_guest_mount *mounts, size_t nmounts, struct xp_buf *out);
/* /etc/machine-id (machine-id(5)): 32 lower-case hex digits and a newline, from 16
 * random bytes made a version 4, variant 1 UUID as systemd's sd_id128_randomize does. */
int xp_guest_text_machine_id(const unsigned char random[16], struct xp_buf *out);
/* /etc/shadow (shadow(5)) with root's second field replaced by hash: the len bytes of
 * old (the current file) otherwise byte for byte. -ENOENT if no line starts with
 * "root:". out then holds the hash: clear it before freeing. */
int xp_guest_text_shadow(const char *old, size_t len, const char *hash, struct xp_buf *out);
/* root's authorized_keys (sshd(8) AUTHORIZED_KEYS FILE FORMAT): keys, ending in a
 * newline. */
int xp_guest_text_authorized_keys(const char *keys, struct xp_buf *out);
/* The first-boot unit (systemd.unit(5)) that makes the SSH host keys xp_guest_apply
 * removed: a oneshot `ssh-keygen -A` while /etc/ssh/ssh_host_ed25519_key is missing,
 * before ssh.service and sshd.service, wanted by multi-user.target. */
int xp_guest_text_hostkey_unit(struct xp_buf *out);

/* /boot/grub/grub.cfg for the kernels k (newest first, at least one) in the subset of
 * GRUB 2's script both pygrub and PV GRUB read: set default=0 and timeout=1, then one
 * menuentry per kernel that finds the root filesystem by root_uuid (search --fs-uuid)
 * and boots the kernel with root=UUID=root_uuid (root=root_dev for a kernel without an
 * initramfs, which cannot find a filesystem by UUID), ro, console=hvc0 unless args
 * name a console, and args; then its initrd. -EINVAL without a kernel or a UUID, or
 * for args that xp_guest_kernel_args_valid refuses. */
int xp_guest_text_grub_cfg(const struct xp_boot_kernels *k, const char *root_uuid,
			   const char *root_dev, const char *args, struct xp_buf *out);
/* /etc/default/grub (the len bytes of old, which may be NULL) with, appended unless a
 * line of its own has it already, GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=hvc0
 * ARGS" (console=hvc0 left out when args name a console): what the guest's
 * grub-mkconfig then writes into every entry. Returns 1 if the line was appended, 0 if
 * it was there; -EINVAL for args xp_guest_kernel_args_valid refuses. */
int xp_guest_text_default_grub(const char *old, size_t len, const char *args, struct xp_buf *out);

/* The first-boot commands' files (guest-custom.c writes them, the script runs them). */
#define XP_FIRSTBOOT_UNIT    "xenprov-firstboot.service"
#define XP_FIRSTBOOT_SCRIPT  "/usr/local/lib/xenprov/firstboot"
#define XP_FIRSTBOOT_PENDING "/var/lib/xenprov/firstboot.d"
#define XP_FIRSTBOOT_DONE    "/var/lib/xenprov/firstboot.done"
/* Where `systemctl enable` puts the link of a unit WantedBy=multi-user.target. */
#define XP_UNIT_DIR   "/etc/systemd/system"
#define XP_UNIT_WANTS XP_UNIT_DIR "/multi-user.target.wants"

/* The first-boot unit (systemd.unit(5), systemd.service(5)): a oneshot running
 * XP_FIRSTBOOT_SCRIPT while XP_FIRSTBOOT_PENDING is not empty, after
 * network-online.target, its output to the journal, wanted by multi-user.target. */
int xp_guest_text_firstboot_unit(struct xp_buf *out);
/* XP_FIRSTBOOT_SCRIPT, a POSIX sh script: each file of XP_FIRSTBOOT_PENDING in name
 * order run by /bin/sh (stdin /dev/null), announced and its exit status logged; one
 * that succeeds is moved to XP_FIRSTBOOT_DONE; the first that fails ends the run with
 * its status (it and those after it run at the next boot); when none is left, the
 * unit's multi-user.target.wants link is removed. */
int xp_guest_text_firstboot_script(struct xp_buf *out);
/* A first-boot command's file: the command line and a newline. */
int xp_guest_text_firstboot_command(const char *cmd, struct xp_buf *out);
/* /etc/timezone (Debian's tzdata): the zone name and a newline. */
int xp_guest_text_timezone(const char *zone, struct xp_buf *out);

#endif
