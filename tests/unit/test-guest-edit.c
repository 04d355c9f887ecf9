/*
 * test-guest-edit.c - per-guest settings written into images (xp_guest_apply) and the
 * writable qcow2 layer under it, checked with the real tools: images made by mke2fs -d
 * from trees made here (Debian 12 with ifupdown and systemd-udevd, a busybox/sysvinit
 * one without udev, systemd-networkd, netplan, NetworkManager, Red Hat ifcfg), with
 * resolv.conf a regular file, a symlink into systemd-resolved or absent, bare
 * and partitioned by sfdisk with a mkswap'ed swap partition, raw and qcow2 (qemu-img
 * convert, xp_qcow2_from_raw, overlays from xp_qcow2_create_overlay and qemu-img
 * create); verified with e2fsck -fn, debugfs, dumpe2fs, blkid, qemu-img check/map/convert
 * and the backing files' SHA-256; where netplan and nmcli are installed, the netplan file
 * through `netplan generate` and the keyfile through NetworkManager's own parser
 * (tests/integration/guest-net.sh brings the interfaces up in a network namespace).
 * test_clones makes two guests of one golden disk for each filesystem kind (ext2, ext3,
 * ext4 with and without metadata_csum_seed, ext4 with gdt_csum), one a raw copy and one
 * a qcow2 overlay, and checks that they are separate machines: their own UUIDs
 * everywhere, no shared machine state.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "guest-fixtures.h"
#include "image/rwdisk-internal.h"
#include "xenprov/blockdev.h"
#include "xenprov/guest.h"
#include "xenprov/util.h"

#define SWAP_UUID "d1c2b3a4-1234-4cde-8f00-aabbccddeeff"
/* resolv.conf as the static settings (static_settings) write it */
#define RESOLV_STATIC                                                                              \
	"# resolv.conf(5), written by xenprov from the guest's name servers and domain\n"          \
	"search example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"
#define MIB	  (1024ull * 1024)

#define SHADOW                                                                                     \
	"root:*:19000:0:99999:7:::\n"                                                              \
	"daemon:*:19000:0:99999:7:::\n"                                                            \
	"admin:$y$j9T$abc$def:19001:0:99999:7:::\n"                                                \
	"nobody:*:19000:0:99999:7:::\n"

static bool is_root;

XP_TEST_SCRATCH_WITH("guest-edit", make_trees, xp_test_nothing)

static void put(const char *rel, const char *content, mode_t mode)
{
	const char *path = tpath(rel);
	xp_test_write(path, content);
	assert_int_equal(chmod(path, mode), 0);
}

static void sha(const char *path, char hex[65])
{
	unsigned char d[32];
	assert_int_equal(xp_sha256_file(path, d), 0);
	xp_sha256_hex(d, hex);
}

/* ---- trees ----------------------------------------------------------------------------- */

static void common_tree(const char *t)
{
	assert_int_equal(xp_test_sh("mkdir -p '%s/%s/etc/ssh' '%s/%s/var/lib/dbus' '%s/%s/root' "
				    "'%s/%s/etc/systemd/network'",
				    tmpdir, t, tmpdir, t, tmpdir, t, tmpdir, t),
			 0);
	char rel[256];
#define P(x) (snprintf(rel, sizeof(rel), "%s/%s", t, x), rel)
	put(P("etc/hostname"), "golden\n", 0644);
	put(P("etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 golden\n", 0644);
	put(P("etc/fstab"), "/dev/xvda1 / ext4 defaults 0 1\n", 0644);
	put(P("etc/machine-id"), "0123456789abcdef0123456789abcdef\n", 0444);
	put(P("var/lib/dbus/machine-id"), "0123456789abcdef0123456789abcdef\n", 0444);
	put(P("etc/shadow"), SHADOW, 0640);
	put(P("etc/ssh/sshd_config"), "PermitRootLogin prohibit-password\n", 0644);
	put(P("etc/ssh/ssh_host_ed25519_key"), "PRIVATE\n", 0600);
	put(P("etc/ssh/ssh_host_ed25519_key.pub"), "ssh-ed25519 AAAA golden\n", 0644);
	put(P("etc/ssh/ssh_host_rsa_key"), "PRIVATE\n", 0600);
	put(P("etc/ssh/ssh_host_rsa_key.pub"), "ssh-rsa AAAA golden\n", 0644);
	put(P("etc/resolv.conf"), "nameserver 10.0.0.1\n", 0644);
#undef P
	assert_int_equal(xp_test_sh("chmod 0700 '%s/%s/root'", tmpdir, t), 0);
	if (is_root)
		assert_int_equal(xp_test_sh("chown 0:42 '%s/%s/etc/shadow'", tmpdir, t), 0);
}

/* A Debian-like tree with ifupdown in t: its interfaces file, an interfaces.d file for
 * eth0 and one for eth1. */
static void ifupdown_tree(const char *t)
{
	common_tree(t);
	assert_int_equal(xp_test_sh("mkdir -p '%s/%s/etc/network/interfaces.d'", tmpdir, t), 0);
	char rel[256];
#define P(x) (snprintf(rel, sizeof(rel), "%s/%s", t, x), rel)
	put(P("etc/network/interfaces"),
	    "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n", 0644);
	put(P("etc/network/interfaces.d/50-cloud-init"), "auto eth0\niface eth0 inet dhcp\n", 0644);
	put(P("etc/network/interfaces.d/60-eth1"), "auto eth1\niface eth1 inet dhcp\n", 0644);
#undef P
}

/* The golden trees the images are built from, made once. */
static int make_trees(void)
{
	/* Debian 12 with ifupdown: merged /usr, systemd and its udevd, a stanza for the
	 * interface under its name from an earlier boot (enX0) to be replaced */
	ifupdown_tree("debian");
	assert_int_equal(
	    xp_test_sh("cd '%s/debian' && mkdir -p usr/lib/systemd usr/sbin usr/bin && "
		       "ln -s usr/lib lib && ln -s usr/sbin sbin && ln -s usr/bin bin && "
		       "printf 'ELF' >usr/lib/systemd/systemd && "
		       "printf 'ELF' >usr/lib/systemd/systemd-udevd && "
		       "printf 'allow-hotplug enX0\\niface enX0 inet dhcp\\n' "
		       ">etc/network/interfaces.d/40-enX0",
		       tmpdir),
	    0);
	/* busybox with ifupdown, no udev: the kernel names the interface */
	ifupdown_tree("busybox");
	assert_int_equal(
	    xp_test_sh("cd '%s/busybox' && rm -rf etc/systemd && mkdir -p bin etc/init.d && "
		       "printf 'ELF' >bin/busybox && ln -s busybox bin/sh",
		       tmpdir),
	    0);
	/* systemd-networkd only, disabled as Debian ships it (its service and socket, no
	 * wait-online unit), with the socket already enabled */
	common_tree("networkd");
	put("networkd/etc/systemd/network/80-dhcp.network",
	    "[Match]\nName=en*\n[Network]\nDHCP=yes\n", 0644);
	assert_int_equal(
	    xp_test_sh("cd '%s/networkd' && mkdir -p usr/lib/systemd/system "
		       "etc/systemd/system/sockets.target.wants && printf 'ELF' >usr/lib/systemd/systemd && "
		       "echo '[Service]' >usr/lib/systemd/system/systemd-networkd.service && "
		       "echo '[Socket]' >usr/lib/systemd/system/systemd-networkd.socket && "
		       "ln -s /usr/lib/systemd/system/systemd-networkd.socket "
		       "etc/systemd/system/sockets.target.wants/systemd-networkd.socket",
		       tmpdir),
	    0);
	/* machine-id symlinks: /etc's (dangling in the image) is replaced by a file, dbus's
	 * (to /etc/machine-id) left alone; an existing /root/.ssh gets fixed */
	assert_int_equal(
	    xp_test_sh("cd '%s/networkd' && rm -f etc/machine-id var/lib/dbus/machine-id && "
		       "ln -s /run/machine-id etc/machine-id && "
		       "ln -s /etc/machine-id var/lib/dbus/machine-id && "
		       "mkdir -m 0755 root/.ssh && echo old > root/.ssh/authorized_keys && "
		       "chmod 0644 root/.ssh/authorized_keys",
		       tmpdir),
	    0);
	if (is_root)
		assert_int_equal(xp_test_sh("chown -R 1000:1000 '%s/networkd/root/.ssh'", tmpdir),
				 0);
	assert_int_equal(xp_test_sh("rm -f '%s/networkd/etc/shadow' && "
				    "ln -sf ../run/systemd/resolve/stub-resolv.conf "
				    "'%s/networkd/etc/resolv.conf'",
				    tmpdir, tmpdir),
			 0);
	/* Ubuntu with netplan */
	common_tree("netplan");
	assert_int_equal(xp_test_sh("mkdir -p '%s/netplan/etc/netplan'", tmpdir), 0);
	put("netplan/etc/netplan/50-cloud-init.yaml",
	    "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n", 0600);
	put("netplan/etc/netplan/01-bridges.yaml", "network:\n  version: 2\n  bridges: {}\n", 0600);
	/* RHEL 9-like: NetworkManager enabled, a readme in network-scripts, the image's own
	 * ethernet connection and a bridge connection; no resolver manager */
	common_tree("nm");
	assert_int_equal(
	    xp_test_sh(
		"cd '%s/nm' && mkdir -p usr/sbin usr/lib/systemd/system "
		"etc/sysconfig/network-scripts "
		"etc/NetworkManager/system-connections etc/systemd/system/multi-user.target.wants "
		"&& "
		"printf 'ELF' >usr/sbin/NetworkManager && "
		"printf '[Service]\\n' >usr/lib/systemd/system/NetworkManager.service && "
		"ln -s /usr/lib/systemd/system/NetworkManager.service "
		"etc/systemd/system/multi-user.target.wants/NetworkManager.service && "
		"echo 'ifcfg files are deprecated' "
		">etc/sysconfig/network-scripts/readme-ifcfg-rh.txt && "
		"chmod 0700 etc/NetworkManager/system-connections",
		tmpdir),
	    0);
	put("nm/etc/NetworkManager/system-connections/Wired connection 1.nmconnection",
	    "[connection]\nid=Wired connection 1\ntype=ethernet\ninterface-name=eth0\n\n"
	    "[ipv4]\nmethod=auto\n",
	    0600);
	put("nm/etc/NetworkManager/system-connections/br0.nmconnection",
	    "[connection]\nid=br0\ntype=bridge\ninterface-name=br0\n", 0600);
	/* Red Hat with ifcfg */
	common_tree("ifcfg");
	assert_int_equal(xp_test_sh("mkdir -p '%s/ifcfg/etc/sysconfig/network-scripts'", tmpdir),
			 0);
	put("ifcfg/etc/sysconfig/network-scripts/ifcfg-lo", "DEVICE=lo\nONBOOT=yes\n", 0644);
	put("ifcfg/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nBOOTPROTO=dhcp\n",
	    0644);
	assert_int_equal(
	    xp_test_sh("setfattr -n security.selinux -v system_u:object_r:net_conf_t:s0 "
		       "'%s/ifcfg/etc/sysconfig/network-scripts/ifcfg-eth0' 2>/dev/null || "
		       "true",
		       tmpdir),
	    0);
	return 0;
}

/* ---- images ------------------------------------------------------------------------------ */

/* The mke2fs options of the test images: ext4 as xenprov's golden images have it,
 * with metadata_csum_seed (test_clones makes the others). */
#define MKFS_GOLDEN "-t ext4 -O metadata_csum_seed"

/* A bare filesystem image of tree, made by mke2fs with mkfs (its type and features). */
static void make_bare_fs(const char *tree, const char *img, unsigned mib, const char *mkfs)
{
	assert_int_equal(xp_test_sh("rm -f '%s' && truncate -s %uM '%s' && mke2fs -q -F %s -U %s "
				    "-d '%s' '%s' >/dev/null",
				    tpath(img), mib, tpath(img), mkfs, FS_UUID, tpath(tree),
				    tpath(img)),
			 0);
}

static void make_bare(const char *tree, const char *img, unsigned mib)
{
	make_bare_fs(tree, img, mib, MKFS_GOLDEN);
}

/* A partitioned disk: the filesystem at 1 MiB (48 MiB), swap after it (8 MiB). */
static void make_disk_fs(const char *tree, const char *img, const char *mkfs)
{
	const char *fs = tpath("part.fs"), *sw = tpath("part.swap"), *d = tpath(img);
	assert_int_equal(
	    xp_test_sh("rm -f '%s' '%s' '%s' && truncate -s 58M '%s' && "
		       "printf 'label: dos\\nstart=2048, size=98304, type=83\\n"
		       "start=100352, type=82\\n' | sfdisk -q '%s' >/dev/null && "
		       "truncate -s 48M '%s' && mke2fs -q -F %s -U %s -d '%s' '%s' && "
		       "truncate -s 8M '%s' && mkswap -U %s '%s' >/dev/null 2>&1 && "
		       "dd if='%s' of='%s' bs=1M seek=1 conv=notrunc,sparse status=none && "
		       "dd if='%s' of='%s' bs=1M seek=49 conv=notrunc,sparse status=none && "
		       "rm -f '%s' '%s'",
		       fs, sw, d, d, d, fs, mkfs, FS_UUID, tpath(tree), fs, sw, SWAP_UUID, sw, fs,
		       d, sw, d, fs, sw),
	    0);
}

static void make_disk(const char *tree, const char *img)
{
	make_disk_fs(tree, img, MKFS_GOLDEN);
}

/* The UUID blkid reads at byte off of img, without its newline (heap). */
static char *blkid_uuid(const char *img, uint64_t off)
{
	char *u = xp_test_out("blkid -p -o value -s UUID -O %llu '%s'", (unsigned long long)off,
			      tpath(img));
	u[strcspn(u, "\n")] = '\0';
	return u;
}

/* "'path?offset=N'" for debugfs and e2fsck */
static const char *at(const char *img, uint64_t off)
{
	static char buf[8][1300];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "'%s?offset=%llu'", tpath(img), (unsigned long long)off);
	return buf[k];
}

static char *cat(const char *img, uint64_t off, const char *path)
{
	return xp_test_out("debugfs -R 'cat %s' %s 2>/dev/null", path, at(img, off));
}

static char *dstat(const char *img, uint64_t off, const char *path)
{
	return xp_test_out("debugfs -R 'stat %s' %s 2>/dev/null", path, at(img, off));
}

/* Fails the test unless the file at path in the filesystem at off of img holds want. */
static void assert_file_is(const char *img, uint64_t off, const char *path, const char *want)
{
	char *s = cat(img, off, path);
	assert_string_equal(s, want);
	free(s);
}

static bool exists(const char *img, uint64_t off, const char *path)
{
	char *s = xp_test_out("debugfs -R 'stat %s' %s 2>&1", path, at(img, off));
	bool r = strstr(s, "Inode:") != NULL;
	free(s);
	return r;
}

static void assert_fsck_clean(const char *img, uint64_t off)
{
	xp_test_assert_fsck_clean(tpath(img), off);
}

static bool is_hex32(const char *s)
{
	if (strlen(s) != 33 || s[32] != '\n')
		return false;
	for (int i = 0; i < 32; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

static bool report_has(const struct xp_guest_report *rep, bool written, const char *path)
{
	char **v = written ? rep->written : rep->removed;
	size_t n = written ? rep->nwritten : rep->nremoved;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], path) == 0)
			return true;
	return false;
}

/* Everything a Debian guest with static settings must show; img is raw. */
static void verify_debian(const char *img, uint64_t off, bool swap)
{
	assert_fsck_clean(img, off);
	assert_file_is(img, off, "/etc/hostname", "web01\n");
	char *s = cat(img, off, "/etc/hosts");
	xp_test_assert_contains(s, "127.0.0.1\tlocalhost\n");
	xp_test_assert_contains(s, "127.0.1.1\tweb01.example.com\tweb01\n");
	xp_test_assert_contains(s, "::1\tlocalhost ip6-localhost ip6-loopback\n");
	free(s);
	/* under systemd-udevd the interface is named by a .link file matching its MAC,
	 * and ifupdown configures that name (Debian 12 would call it enX0 itself) */
	assert_file_is(img, off, "/etc/network/interfaces",
		       "# interfaces(5) file used by ifup(8) and ifdown(8), written by "
		       "xenprov\nsource /etc/network/interfaces.d/*\n\n"
		       "auto lo\niface lo inet loopback\n\n"
		       "auto enX0\niface enX0 inet static\n\taddress 192.0.2.10/24\n"
		       "\tgateway 192.0.2.1\n\tdns-nameservers 192.0.2.53 2001:db8::53\n"
		       "\tdns-search example.com\n");
	assert_file_is(img, off, "/etc/systemd/network/10-xenprov-enX0.link",
		       "# systemd.link(5), written by xenprov: the interface with this MAC "
		       "address\n# is enX0, the name /etc/network/interfaces configures.\n"
		       "[Match]\nMACAddress=00:16:3e:12:34:56\n\n[Link]\nName=enX0\n");
	s = dstat(img, off, "/etc/systemd/network/10-xenprov-enX0.link");
	xp_test_assert_contains(s, "Mode:  0644");
	xp_test_assert_contains(s, "User:     0   Group:     0");
	free(s);
	/* the stanzas for the interface under either name went, eth1's stayed */
	assert_false(exists(img, off, "/etc/network/interfaces.d/50-cloud-init"));
	assert_false(exists(img, off, "/etc/network/interfaces.d/40-enX0"));
	assert_true(exists(img, off, "/etc/network/interfaces.d/60-eth1"));
	/* the build host's resolv.conf (a regular file) became the profile's */
	assert_file_is(img, off, "/etc/resolv.conf", RESOLV_STATIC);

	/* fstab by the new UUIDs, as blkid reads them */
	char *fsu = blkid_uuid(img, off), line[128];
	assert_int_equal(strlen(fsu), 36);
	assert_string_not_equal(fsu, FS_UUID);
	s = cat(img, off, "/etc/fstab");
	snprintf(line, sizeof(line), "UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n", fsu);
	xp_test_assert_contains(s, line);
	xp_test_assert_lacks(s, FS_UUID);
	if (swap) {
		char *swu = blkid_uuid(img, 49 * MIB);
		assert_int_equal(strlen(swu), 36);
		assert_string_not_equal(swu, SWAP_UUID);
		snprintf(line, sizeof(line), "UUID=%s\tnone\tswap\tsw\t0\t0\n", swu);
		xp_test_assert_contains(s, line);
		free(swu);
	} else {
		xp_test_assert_lacks(s, "swap");
	}
	free(s);
	free(fsu);

	/* machine-id */
	s = cat(img, off, "/etc/machine-id");
	assert_true(is_hex32(s));
	assert_string_not_equal(s, "0123456789abcdef0123456789abcdef\n");
	char *s2 = cat(img, off, "/var/lib/dbus/machine-id");
	assert_string_equal(s, s2);
	free(s);
	free(s2);

	/* shadow: only root's second field changed; mode and group kept */
	assert_file_is(img, off, "/etc/shadow",
		       "root:" HASH ":19000:0:99999:7:::\n"
		       "daemon:*:19000:0:99999:7:::\n"
		       "admin:$y$j9T$abc$def:19001:0:99999:7:::\n"
		       "nobody:*:19000:0:99999:7:::\n");
	s = dstat(img, off, "/etc/shadow");
	xp_test_assert_contains(s, "Mode:  0640");
	if (is_root)
		xp_test_assert_contains(s, "Group:    42");
	free(s);

	/* root's key */
	assert_file_is(img, off, "/root/.ssh/authorized_keys", KEY "\n");
	s = dstat(img, off, "/root/.ssh/authorized_keys");
	xp_test_assert_contains(s, "Mode:  0600");
	xp_test_assert_contains(s, "User:     0   Group:     0");
	free(s);
	s = dstat(img, off, "/root/.ssh");
	xp_test_assert_contains(s, "Mode:  0700");
	xp_test_assert_contains(s, "Type: directory");
	free(s);

	/* host keys gone, the rest of /etc/ssh kept */
	s = xp_test_out("debugfs -R 'ls -l /etc/ssh' %s 2>/dev/null", at(img, off));
	xp_test_assert_lacks(s, "ssh_host_");
	xp_test_assert_contains(s, "sshd_config");
	free(s);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_debian_partitioned_raw(void **state)
{
	(void)state;
	make_disk("debian", "deb.raw");
	struct xp_guest_settings s = static_settings();
	struct xp_guest_report rep;
	struct xp_diags d = {0};
	int r = xp_guest_apply(tpath("deb.raw"), &s, &rep, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "diag: %s\n", d.v[i].msg);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(rep.net_format, XP_NET_IFUPDOWN);
	assert_string_equal(xp_net_format_name(rep.net_format), "ifupdown");
	assert_int_equal(rep.fs_offset, MIB);
	assert_string_equal(rep.old_fs_uuid, FS_UUID);
	assert_string_equal(rep.old_swap_uuid, SWAP_UUID);
	char *u = blkid_uuid("deb.raw", MIB);
	assert_string_equal(rep.fs_uuid, u);
	free(u);
	u = blkid_uuid("deb.raw", 49 * MIB);
	assert_string_equal(rep.swap_uuid, u);
	free(u);
	assert_false(rep.csum_seed_set);
	assert_true(report_has(&rep, true, "/etc/hostname"));
	assert_true(report_has(&rep, true, "/etc/shadow"));
	assert_true(report_has(&rep, true, "/etc/network/interfaces"));
	assert_true(report_has(&rep, true, "/root/.ssh/authorized_keys"));
	assert_true(report_has(&rep, false, "/etc/ssh/ssh_host_ed25519_key"));
	assert_true(report_has(&rep, false, "/etc/ssh/ssh_host_rsa_key.pub"));
	assert_true(report_has(&rep, false, "/etc/network/interfaces.d/50-cloud-init"));
	assert_true(report_has(&rep, false, "/etc/network/interfaces.d/40-enX0"));
	assert_true(report_has(&rep, true, "/etc/systemd/network/10-xenprov-enX0.link"));
	assert_true(report_has(&rep, true, "/etc/resolv.conf"));
	assert_int_equal(rep.nremoved, 6);
	xp_guest_report_release(&rep);
	xp_diags_release(&d);
	verify_debian("deb.raw", MIB, true);

	/* a second apply (keys already gone, files already ours) changes the machine-id;
	 * with DHCP the static resolv.conf goes, for the DHCP client to write */
	char *m1 = cat("deb.raw", MIB, "/etc/machine-id");
	s.dhcp = true;
	assert_int_equal(xp_guest_apply(tpath("deb.raw"), &s, &rep, NULL), 0);
	assert_int_equal(rep.nremoved, 1);
	assert_true(report_has(&rep, false, "/etc/resolv.conf"));
	xp_guest_report_release(&rep);
	char *m2 = cat("deb.raw", MIB, "/etc/machine-id");
	assert_true(is_hex32(m2));
	assert_string_not_equal(m1, m2);
	free(m1);
	free(m2);
	char *i = cat("deb.raw", MIB, "/etc/network/interfaces");
	xp_test_assert_contains(i, "auto enX0\niface enX0 inet dhcp\n");
	xp_test_assert_lacks(i, "address");
	xp_test_assert_lacks(i, "eth0");
	free(i);
	assert_false(exists("deb.raw", MIB, "/etc/resolv.conf"));
	assert_true(exists("deb.raw", MIB, "/etc/systemd/network/10-xenprov-enX0.link"));
	/* static again: resolv.conf is made anew */
	s.dhcp = false;
	assert_int_equal(xp_guest_apply(tpath("deb.raw"), &s, &rep, NULL), 0);
	assert_true(report_has(&rep, true, "/etc/resolv.conf"));
	xp_guest_report_release(&rep);
	i = cat("deb.raw", MIB, "/etc/resolv.conf");
	xp_test_assert_contains(i, "\nsearch example.com\nnameserver 192.0.2.53\n");
	free(i);
	i = dstat("deb.raw", MIB, "/etc/resolv.conf");
	xp_test_assert_contains(i, "Mode:  0644");
	free(i);
	assert_fsck_clean("deb.raw", MIB);
}

/* The static settings applied to img, made bare from tree: the network format found
 * is format, the image's own file removed was removed; the filesystem is clean. */
static void apply_static(const char *tree, const char *img, enum xp_net_format format,
			 const char *removed)
{
	make_bare(tree, img, 32);
	struct xp_guest_settings s = static_settings();
	struct xp_guest_report rep;
	assert_int_equal(xp_guest_apply(tpath(img), &s, &rep, NULL), 0);
	assert_int_equal(rep.net_format, format);
	assert_true(report_has(&rep, false, removed));
	xp_guest_report_release(&rep);
	assert_fsck_clean(img, 0);
}

/* Without systemd-udevd (busybox, sysvinit with mdev) nothing renames the interface:
 * ifupdown configures the kernel's eth0 and no .link file is written. */
static void test_busybox_eth0(void **state)
{
	(void)state;
	apply_static("busybox", "bb.raw", XP_NET_IFUPDOWN,
		     "/etc/network/interfaces.d/50-cloud-init");
	assert_file_is("bb.raw", 0, "/etc/network/interfaces",
		       "# interfaces(5) file used by ifup(8) and ifdown(8), written by "
		       "xenprov\nsource /etc/network/interfaces.d/*\n\n"
		       "auto lo\niface lo inet loopback\n\n"
		       "auto eth0\niface eth0 inet static\n\taddress 192.0.2.10/24\n"
		       "\tgateway 192.0.2.1\n\tdns-nameservers 192.0.2.53 2001:db8::53\n"
		       "\tdns-search example.com\n");
	assert_false(exists("bb.raw", 0, "/etc/systemd"));
	assert_true(exists("bb.raw", 0, "/etc/network/interfaces.d/60-eth1"));
	assert_file_is("bb.raw", 0, "/etc/resolv.conf", RESOLV_STATIC);
}

static void test_networkd_bare(void **state)
{
	(void)state;
	make_bare("networkd", "nd.raw", 32);
	struct xp_guest_settings s = {
	    .hostname = "db1", .mac = "00:16:3e:aa:bb:cc", .dhcp = true, .ssh_key = KEY};
	struct xp_guest_report rep;
	assert_int_equal(xp_guest_apply(tpath("nd.raw"), &s, &rep, NULL), 0);
	assert_int_equal(rep.net_format, XP_NET_NETWORKD);
	assert_int_equal(rep.fs_offset, 0);
	assert_string_equal(rep.swap_uuid, "");
	xp_guest_report_release(&rep);
	assert_fsck_clean("nd.raw", 0);
	char *n = cat("nd.raw", 0, "/etc/systemd/network/10-xenprov.network");
	xp_test_assert_contains(n,
				"[Match]\nMACAddress=00:16:3e:aa:bb:cc\n\n[Network]\nDHCP=yes\n");
	free(n);
	/* networkd enabled as `systemctl enable` would: the units the image has */
	const char *links[][2] = {
	    {"/etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
	     "/usr/lib/systemd/system/systemd-networkd.service"},
	    {"/etc/systemd/system/dbus-org.freedesktop.network1.service",
	     "/usr/lib/systemd/system/systemd-networkd.service"},
	    {"/etc/systemd/system/sockets.target.wants/systemd-networkd.socket",
	     "/usr/lib/systemd/system/systemd-networkd.socket"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		n = dstat("nd.raw", 0, links[i][0]);
		xp_test_assert_contains(n, "Type: symlink");
		char dest[160];
		snprintf(dest, sizeof(dest), "link dest: \"%s\"", links[i][1]);
		xp_test_assert_contains(n, dest);
		free(n);
	}
	assert_false(exists("nd.raw", 0,
			    "/etc/systemd/system/network-online.target.wants/"
			    "systemd-networkd-wait-online.service"));
	n = dstat("nd.raw", 0, "/root/.ssh");
	xp_test_assert_contains(n, "Mode:  0700");
	xp_test_assert_contains(n, "User:     0   Group:     0");
	free(n);
	n = dstat("nd.raw", 0, "/root/.ssh/authorized_keys");
	xp_test_assert_contains(n, "Mode:  0600");
	xp_test_assert_contains(n, "User:     0   Group:     0");
	free(n);
	assert_file_is("nd.raw", 0, "/root/.ssh/authorized_keys", KEY "\n");
	n = cat("nd.raw", 0, "/etc/hosts");
	xp_test_assert_contains(n, "127.0.1.1\tdb1\n");
	free(n);
	n = cat("nd.raw", 0, "/etc/fstab");
	char *u = blkid_uuid("nd.raw", 0), line[64];
	snprintf(line, sizeof(line), "UUID=%s\t/\text4\t", u);
	xp_test_assert_contains(n, line);
	xp_test_assert_lacks(n, "swap");
	free(u);
	free(n);
	n = dstat("nd.raw", 0, "/etc/machine-id");
	xp_test_assert_contains(n, "Type: regular");
	free(n);
	n = cat("nd.raw", 0, "/etc/machine-id");
	assert_true(is_hex32(n));
	free(n);
	n = dstat("nd.raw", 0, "/var/lib/dbus/machine-id");
	xp_test_assert_contains(n, "Type: symlink");
	free(n);
	/* the symlinked resolv.conf is left alone (networkd has its own DNS) */
	n = dstat("nd.raw", 0, "/etc/resolv.conf");
	xp_test_assert_contains(n, "Type: symlink");
	free(n);

	/* static networkd: the name servers go to networkd (and through it to
	 * systemd-resolved), the resolv.conf symlink into /run/systemd/resolve stays */
	struct xp_guest_settings st = {.ip = "2001:db8::10",
				       .gateway = "2001:db8::1",
				       .dns = DNS,
				       .ndns = 1,
				       .domain = "example.org",
				       .mac = "00:16:3e:aa:bb:cd"};
	struct xp_guest_report rep2;
	assert_int_equal(xp_guest_apply(tpath("nd.raw"), &st, &rep2, NULL), 0);
	assert_false(report_has(&rep2, true, "/etc/resolv.conf"));
	assert_false(report_has(&rep2, false, "/etc/resolv.conf"));
	xp_guest_report_release(&rep2);
	assert_file_is("nd.raw", 0, "/etc/systemd/network/10-xenprov.network",
		       "# systemd.network(5), written by xenprov\n[Match]\n"
		       "MACAddress=00:16:3e:aa:bb:cd\n\n"
		       "[Network]\nAddress=2001:db8::10/64\nGateway=2001:db8::1\n"
		       "DNS=192.0.2.53\nDomains=example.org\n");
	n = dstat("nd.raw", 0, "/etc/resolv.conf");
	xp_test_assert_contains(n, "Type: symlink");
	xp_test_assert_contains(n, "link dest: \"../run/systemd/resolve/stub-resolv.conf\"");
	free(n);
	assert_false(exists("nd.raw", 0, "/etc/systemd/network/10-xenprov-enX0.link"));
	n = cat("nd.raw", 0, "/etc/hostname");
	assert_string_equal(n, "db1\n"); /* no hostname given: left alone */
	free(n);
	assert_fsck_clean("nd.raw", 0);
}

/* Further NICs and disks: a .network per NIC by its MAC (the first with the name
 * servers), and fstab lines by UUID with their mount points made; in an ifupdown image
 * with udev, a .link per NIC and a stanza each. */
static void test_further_devices(void **state)
{
	(void)state;
	static const struct xp_guest_nic nics[] = {
	    {.mac = "00:16:3e:00:00:02", .ip = "10.2.0.5", .prefix = 16},
	    {.mac = "00:16:3e:00:00:03", .dhcp = true},
	};
	static const struct xp_guest_mount mounts[] = {
	    {"11111111-2222-4333-8444-555555555555", "ext4", "/srv/data"},
	    {"21111111-2222-4333-8444-555555555555", "swap", NULL},
	};
	struct xp_guest_settings s = {.mac = "00:16:3e:00:00:01",
				      .ip = "192.0.2.7",
				      .gateway = "192.0.2.1",
				      .dns = DNS,
				      .ndns = 1,
				      .nics = nics,
				      .nnics = 2,
				      .mounts = mounts,
				      .nmounts = 2};
	make_bare("networkd", "dev.raw", 32);
	struct xp_guest_report rep;
	assert_int_equal(xp_guest_apply(tpath("dev.raw"), &s, &rep, NULL), 0);
	assert_true(report_has(&rep, true, "/etc/systemd/network/10-xenprov-enX1.network"));
	assert_true(report_has(&rep, true, "/etc/systemd/network/10-xenprov-enX2.network"));
	xp_guest_report_release(&rep);
	assert_fsck_clean("dev.raw", 0);
	char *n = cat("dev.raw", 0, "/etc/systemd/network/10-xenprov.network");
	xp_test_assert_contains(n, "MACAddress=00:16:3e:00:00:01\n");
	xp_test_assert_contains(n, "DNS=192.0.2.53\n");
	free(n);
	assert_file_is("dev.raw", 0, "/etc/systemd/network/10-xenprov-enX1.network",
		       "# systemd.network(5), written by xenprov\n[Match]\n"
		       "MACAddress=00:16:3e:00:00:02\n\n[Network]\nAddress=10.2.0.5/16\n"
		       "\n[Link]\nRequiredForOnline=no\n");
	n = cat("dev.raw", 0, "/etc/systemd/network/10-xenprov-enX2.network");
	xp_test_assert_contains(n, "MACAddress=00:16:3e:00:00:03\n\n[Network]\nDHCP=yes\n");
	xp_test_assert_contains(n, "[DHCPv4]\nUseGateway=no\n");
	free(n);
	n = cat("dev.raw", 0, "/etc/fstab");
	xp_test_assert_contains(
	    n, "UUID=11111111-2222-4333-8444-555555555555\t/srv/data\text4\tdefaults,nofail\t0\t2\n"
	       "UUID=21111111-2222-4333-8444-555555555555\tnone\tswap\tsw,nofail\t0\t0\n");
	free(n);
	n = dstat("dev.raw", 0, "/srv/data");
	xp_test_assert_contains(n, "Type: directory");
	free(n);

	/* ifupdown with udev: a .link per NIC, a stanza each; the image's own for eth1 goes */
	make_bare("debian", "devd.raw", 32);
	assert_int_equal(xp_guest_apply(tpath("devd.raw"), &s, NULL, NULL), 0);
	for (int i = 0; i < 3; i++) {
		char path[96], want[64];
		snprintf(path, sizeof(path), "/etc/systemd/network/10-xenprov-enX%d.link", i);
		n = cat("devd.raw", 0, path);
		snprintf(want, sizeof(want), "MACAddress=00:16:3e:00:00:0%d\n", i + 1);
		xp_test_assert_contains(n, want);
		snprintf(want, sizeof(want), "Name=enX%d\n", i);
		xp_test_assert_contains(n, want);
		free(n);
	}
	n = cat("devd.raw", 0, "/etc/network/interfaces");
	xp_test_assert_contains(n, "\nauto enX1\niface enX1 inet static\n\taddress 10.2.0.5/16\n");
	xp_test_assert_contains(n, "\nauto enX2\niface enX2 inet dhcp\n");
	free(n);
	assert_fsck_clean("devd.raw", 0);
}

/* Extracts path from the filesystem at off of img into the host file dest. */
static void dump(const char *img, uint64_t off, const char *path, const char *dest)
{
	assert_int_equal(
	    xp_test_sh("rm -f '%s' && debugfs -R 'dump \"%s\" %s' %s >/dev/null 2>&1 && "
		       "test -f '%s'",
		       dest, path, dest, at(img, off), dest),
	    0);
}

static void test_netplan(void **state)
{
	(void)state;
	apply_static("netplan", "np.raw", XP_NET_NETPLAN, "/etc/netplan/50-cloud-init.yaml");
	assert_file_is("np.raw", 0, "/etc/netplan/50-xenprov.yaml",
		       "# netplan configuration, written by xenprov\n"
		       "network:\n  version: 2\n  ethernets:\n    enX0:\n"
		       "      match:\n        macaddress: \"00:16:3e:12:34:56\"\n"
		       "      set-name: enX0\n      dhcp4: false\n      addresses:\n"
		       "        - \"192.0.2.10/24\"\n      routes:\n        - to: default\n"
		       "          via: \"192.0.2.1\"\n      nameservers:\n"
		       "        addresses: [192.0.2.53, 2001:db8::53]\n"
		       "        search: [example.com]\n");
	char *n = dstat("np.raw", 0, "/etc/netplan/50-xenprov.yaml");
	xp_test_assert_contains(n, "Mode:  0600");
	free(n);
	assert_false(exists("np.raw", 0, "/etc/netplan/50-cloud-init.yaml"));
	assert_true(exists("np.raw", 0, "/etc/netplan/01-bridges.yaml"));
	if (xp_test_run(NULL, "python3 -c 'import yaml' 2>/dev/null") == 0) {
		dump("np.raw", 0, "/etc/netplan/50-xenprov.yaml", tpath("np.yaml"));
		assert_int_equal(
		    xp_test_sh("python3 -c 'import yaml,sys; d=yaml.safe_load(open(sys.argv[1])); "
			       "e=d[\"network\"][\"ethernets\"][\"enX0\"]; "
			       "assert e[\"addresses\"]==[\"192.0.2.10/24\"]; "
			       "assert e[\"match\"]=={\"macaddress\":\"00:16:3e:12:34:56\"}' '%s'",
			       tpath("np.yaml")),
		    0);
	}
	/* netplan itself (netplan.io, scripts/install-deps) renders it for systemd: a
	 * .link that names the interface by its MAC and a .network for that name */
	if (system("command -v netplan >/dev/null 2>&1") == 0) {
		assert_int_equal(xp_test_sh("rm -rf '%s' && mkdir -p '%s/etc/netplan'",
					    tpath("nproot"), tpath("nproot")),
				 0);
		dump("np.raw", 0, "/etc/netplan/50-xenprov.yaml",
		     tpath("nproot/etc/netplan/50-xenprov.yaml"));
		assert_int_equal(xp_test_sh("chmod 0600 '%s/etc/netplan/50-xenprov.yaml' && "
					    "netplan generate --root-dir '%s'",
					    tpath("nproot"), tpath("nproot")),
				 0);
		char *link = xp_test_out("cat '%s/run/systemd/network/10-netplan-enX0.link'",
					 tpath("nproot"));
		xp_test_assert_contains(link, "[Match]\nPermanentMACAddress=00:16:3e:12:34:56\n");
		xp_test_assert_contains(link, "[Link]\nName=enX0\n");
		free(link);
		char *net = xp_test_out("cat '%s/run/systemd/network/10-netplan-enX0.network'",
					tpath("nproot"));
		xp_test_assert_contains(net, "Name=enX0\n");
		xp_test_assert_contains(net, "Address=192.0.2.10/24\n");
		xp_test_assert_contains(net,
					"DNS=192.0.2.53\nDNS=2001:db8::53\nDomains=example.com\n");
		xp_test_assert_contains(net, "Gateway=192.0.2.1\n");
		free(net);
	}
}

/* NetworkManager in use (installed, its service enabled): a keyfile bound to the MAC,
 * root's and 0600 (NetworkManager ignores it else), the image's other ethernet
 * connection removed, its bridge kept; ahead of the network-scripts directory RHEL 9
 * keeps. Installed but disabled, it is not used. */
static void test_networkmanager(void **state)
{
	(void)state;
	static const char kf[] = "/etc/NetworkManager/system-connections/xenprov.nmconnection";
	make_bare("nm", "nm.raw", 32);
	struct xp_guest_settings s = static_settings();
	struct xp_guest_report rep;
	struct xp_diags d = {0};
	assert_int_equal(xp_guest_apply(tpath("nm.raw"), &s, &rep, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(rep.net_format, XP_NET_NM);
	assert_string_equal(xp_net_format_name(rep.net_format), "networkmanager");
	assert_true(report_has(&rep, true, kf));
	assert_true(report_has(&rep, true, "/etc/resolv.conf"));
	assert_true(report_has(
	    &rep, false, "/etc/NetworkManager/system-connections/Wired connection 1.nmconnection"));
	xp_guest_report_release(&rep);
	assert_fsck_clean("nm.raw", 0);
	char *n = cat("nm.raw", 0, kf);
	/* the UUID is random: its place and form, then the rest byte for byte */
	const char *u = strstr(n, "\nuuid=");
	assert_non_null(u);
	u += 6;
	assert_int_equal(strspn(u, "0123456789abcdef-"), 36);
	assert_true(u[8] == '-' && u[13] == '-' && u[14] == '4' && u[18] == '-' && u[23] == '-');
	assert_non_null(strchr("89ab", u[19]));
	char *rest = strdup(u + 36);
	assert_string_equal(rest, "\ntype=ethernet\nautoconnect-priority=100\n\n"
				  "[ethernet]\nmac-address=00:16:3E:12:34:56\n\n"
				  "[ipv4]\nmethod=manual\naddress1=192.0.2.10/24,192.0.2.1\n"
				  "dns=192.0.2.53;\ndns-search=example.com;\n\n"
				  "[ipv6]\nmethod=auto\ndns=2001:db8::53;\n");
	assert_true(strncmp(n,
			    "# nm-settings-keyfile(5), written by xenprov\n[connection]\n"
			    "id=xenprov\nuuid=",
			    (size_t)(u - n)) == 0);
	char uuid1[37];
	memcpy(uuid1, u, 36);
	uuid1[36] = '\0';
	free(rest);
	free(n);
	n = dstat("nm.raw", 0, kf);
	xp_test_assert_contains(n, "Mode:  0600");
	xp_test_assert_contains(n, "User:     0   Group:     0");
	free(n);
	assert_true(exists("nm.raw", 0, "/etc/NetworkManager/system-connections/br0.nmconnection"));
	assert_file_is("nm.raw", 0, "/etc/resolv.conf", RESOLV_STATIC);
	assert_false(exists("nm.raw", 0, "/etc/sysconfig/network-scripts/ifcfg-eth0"));

	/* NetworkManager's own parser reads it as the connection meant (nmcli's offline
	 * mode, NetworkManager 1.42 and later, reads a keyfile on standard input) */
	if (system("nmcli --offline --version >/dev/null 2>&1") == 0) {
		dump("nm.raw", 0, kf, tpath("kf.nmconnection"));
		char *v = xp_test_out(
		    "nmcli --offline connection modify connection.autoconnect-priority 100 "
		    "<'%s' 2>&1; echo rc=$?",
		    tpath("kf.nmconnection"));
		xp_test_assert_contains(v, "\nid=xenprov\n");
		xp_test_assert_contains(v, uuid1);
		xp_test_assert_contains(v, "\nmac-address=00:16:3E:12:34:56\n");
		xp_test_assert_contains(v, "\naddress1=192.0.2.10/24,192.0.2.1\n");
		xp_test_assert_contains(v, "\ndns=192.0.2.53;\n");
		xp_test_assert_contains(v, "\ndns=2001:db8::53;\n");
		xp_test_assert_contains(v, "\ndns-search=example.com;\n");
		xp_test_assert_contains(v, "rc=0\n");
		xp_test_assert_lacks(v, "rror");
		free(v);
	}

	/* a second apply: a new UUID, the file stays root's 0600 */
	s.dhcp = true;
	assert_int_equal(xp_guest_apply(tpath("nm.raw"), &s, NULL, NULL), 0);
	n = cat("nm.raw", 0, kf);
	xp_test_assert_lacks(n, uuid1);
	xp_test_assert_contains(
	    n, "\n[ipv4]\nmethod=auto\ndns-search=example.com;\n\n[ipv6]\nmethod=auto\n");
	free(n);
	n = dstat("nm.raw", 0, kf);
	xp_test_assert_contains(n, "Mode:  0600");
	free(n);
	assert_false(exists("nm.raw", 0, "/etc/resolv.conf")); /* DHCP: NetworkManager's */

	/* NetworkManager installed but not enabled: the image's network-scripts count */
	assert_int_equal(xp_test_sh("rm -rf '%s' && cp -a '%s' '%s' && rm '%s/etc/systemd/system/"
				    "multi-user.target.wants/NetworkManager.service'",
				    tpath("nmoff"), tpath("nm"), tpath("nmoff"), tpath("nmoff")),
			 0);
	make_bare("nmoff", "nmoff.raw", 32);
	s.dhcp = false;
	assert_int_equal(xp_guest_apply(tpath("nmoff.raw"), &s, &rep, NULL), 0);
	assert_int_equal(rep.net_format, XP_NET_IFCFG);
	xp_guest_report_release(&rep);
	assert_false(exists("nmoff.raw", 0, kf));
	assert_true(exists("nmoff.raw", 0, "/etc/sysconfig/network-scripts/ifcfg-eth0"));
}

static void test_ifcfg(void **state)
{
	(void)state;
	make_bare("ifcfg", "rh.raw", 32);
	char *before = dstat("rh.raw", 0, "/etc/sysconfig/network-scripts/ifcfg-eth0");
	struct xp_guest_settings s = static_settings();
	struct xp_guest_report rep;
	assert_int_equal(xp_guest_apply(tpath("rh.raw"), &s, &rep, NULL), 0);
	assert_int_equal(rep.net_format, XP_NET_IFCFG);
	xp_guest_report_release(&rep);
	assert_fsck_clean("rh.raw", 0);
	assert_file_is("rh.raw", 0, "/etc/sysconfig/network-scripts/ifcfg-eth0",
		       "# written by xenprov\nDEVICE=eth0\nNAME=eth0\nTYPE=Ethernet\n"
		       "ONBOOT=yes\nHWADDR=00:16:3e:12:34:56\nBOOTPROTO=none\n"
		       "IPADDR=192.0.2.10\nPREFIX=24\nGATEWAY=192.0.2.1\n"
		       "DNS1=192.0.2.53\nDNS2=2001:db8::53\nDOMAIN=example.com\n");
	/* the inode is kept: same number, same extended attributes */
	char *after = dstat("rh.raw", 0, "/etc/sysconfig/network-scripts/ifcfg-eth0");
	assert_true(strncmp(before, after, strcspn(before, " ") + 8) == 0);
	if (strstr(before, "security.selinux"))
		xp_test_assert_contains(after, "security.selinux");
	free(before);
	free(after);
}

/* qemu-img check exit 0 and "No errors" */
static void assert_qcheck(const char *img)
{
	char *s = xp_test_out("qemu-img check '%s' 2>&1; echo rc=$?", tpath(img));
	if (!strstr(s, "No errors were found") || !strstr(s, "rc=0")) {
		fprintf(stderr, "qemu-img check %s:\n%s\n", img, s);
		fail();
	}
	xp_test_assert_lacks(s, "leaked");
	free(s);
}

/* Bytes the image itself holds (depth 0 data) per qemu-img map. */
static uint64_t own_bytes(const char *img)
{
	char *s = xp_test_out("qemu-img map --output=json '%s' | python3 -c 'import json,sys; "
			      "print(sum(e[\"length\"] for e in json.load(sys.stdin) "
			      "if e[\"depth\"]==0 and e[\"data\"]))'",
			      tpath(img));
	uint64_t v = strtoull(s, NULL, 10);
	free(s);
	return v;
}

static void test_qcow2_overlays(void **state)
{
	(void)state;
	make_disk("debian", "gold.raw");
	assert_int_equal(xp_test_sh("qemu-img convert -O qcow2 '%s' '%s'", tpath("gold.raw"),
				    tpath("gold.qcow2")),
			 0);
	char gold_raw[65], gold_q[65];
	sha(tpath("gold.raw"), gold_raw);
	sha(tpath("gold.qcow2"), gold_q);
	struct xp_guest_settings s = static_settings();

	/* overlays by xenprov over the qcow2 golden (relative backing name) and over the
	 * raw golden; one by qemu-img */
	assert_int_equal(
	    xp_qcow2_create_overlay(tpath("g1.qcow2"), "gold.qcow2", XP_IMAGE_QCOW2, 58 * MIB), 0);
	assert_int_equal(
	    xp_qcow2_create_overlay(tpath("g2.qcow2"), tpath("gold.raw"), XP_IMAGE_RAW, 58 * MIB),
	    0);
	assert_int_equal(xp_test_sh("qemu-img create -q -f qcow2 -b gold.qcow2 -F qcow2 '%s'",
				    tpath("g3.qcow2")),
			 0);
	const char *ovl[] = {"g1.qcow2", "g2.qcow2", "g3.qcow2"};
	char *ids[3];
	for (int k = 0; k < 3; k++) {
		struct xp_guest_report rep;
		struct xp_diags d = {0};
		int r = xp_guest_apply(tpath(ovl[k]), &s, &rep, &d);
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "diag: %s\n", d.v[i].msg);
		assert_int_equal(r, 0);
		assert_string_equal(rep.old_swap_uuid, SWAP_UUID);
		assert_int_equal(strlen(rep.swap_uuid), 36);
		assert_string_not_equal(rep.swap_uuid, SWAP_UUID);
		xp_guest_report_release(&rep);
		xp_diags_release(&d);
		assert_qcheck(ovl[k]);
		uint64_t own = own_bytes(ovl[k]);
		struct stat st;
		assert_int_equal(stat(tpath(ovl[k]), &st), 0);
		fprintf(stderr, "%s: %llu bytes of data in the overlay, file %llu bytes\n", ovl[k],
			(unsigned long long)own, (unsigned long long)st.st_size);
		assert_true(own > 0);
		assert_true(own <= 4 * MIB);
		assert_true((uint64_t)st.st_size <= 5 * MIB);
		char raw[64];
		snprintf(raw, sizeof(raw), "%s.raw", ovl[k]);
		assert_int_equal(
		    xp_test_sh("qemu-img convert -O raw '%s' '%s'", tpath(ovl[k]), tpath(raw)), 0);
		verify_debian(raw, MIB, true);
		ids[k] = cat(raw, MIB, "/etc/machine-id");
	}
	assert_string_not_equal(ids[0], ids[1]);
	assert_string_not_equal(ids[0], ids[2]);
	assert_string_not_equal(ids[1], ids[2]);
	for (int k = 0; k < 3; k++)
		free(ids[k]);
	char now[65];
	sha(tpath("gold.raw"), now);
	assert_string_equal(now, gold_raw);
	sha(tpath("gold.qcow2"), now);
	assert_string_equal(now, gold_q);

	/* a standalone qcow2 (xp_qcow2_from_raw, no backing): written in place or COW from
	 * zeros */
	assert_int_equal(xp_qcow2_from_raw(tpath("gold.raw"), tpath("solo.qcow2"), 0), 0);
	assert_int_equal(xp_guest_apply(tpath("solo.qcow2"), &s, NULL, NULL), 0);
	assert_qcheck("solo.qcow2");
	assert_int_equal(
	    xp_test_sh("qemu-img convert -O raw '%s' '%s'", tpath("solo.qcow2"), tpath("solo.raw")),
	    0);
	verify_debian("solo.raw", MIB, true);
}

/* The writable qcow2 layer on its own: partial-cluster copy-on-write over a backing
 * pattern, and with 512-byte clusters enough allocations to need new refcount blocks and
 * a bigger refcount table. */
static void pattern(unsigned char *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16);
	}
}

static void test_qcow2_rw_layer(void **state)
{
	(void)state;
	const size_t size = 4 * MIB;
	unsigned char *base = malloc(size), *want = malloc(size), *got = malloc(size);
	assert_non_null(base);
	assert_non_null(want);
	assert_non_null(got);
	pattern(base, size, 1);
	xp_test_write_bytes(tpath("pat.raw"), base, size);
	char before[65];
	sha(tpath("pat.raw"), before);
	assert_int_equal(xp_qcow2_create_overlay(tpath("pat.qcow2"), "pat.raw", XP_IMAGE_RAW, size),
			 0);

	struct xp_qcow2_rw *q;
	assert_int_equal(xp_qcow2_rw_open(tpath("pat.qcow2"), &q, NULL), 0);
	memcpy(want, base, size);
	unsigned char bytes[200];
	pattern(bytes, sizeof(bytes), 7);
	/* mid-cluster, across a cluster boundary, at the very end */
	const uint64_t offs[] = {70000, 131000, size - sizeof(bytes)};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(xp_qcow2_rw_pwrite(q, bytes, sizeof(bytes), offs[i]), 0);
		memcpy(want + offs[i], bytes, sizeof(bytes));
	}
	assert_int_equal(xp_qcow2_rw_pread(q, got, size, 0), 0);
	assert_memory_equal(got, want, size);
	assert_int_equal(xp_qcow2_rw_pwrite(q, bytes, 1, size), -EINVAL);
	assert_int_equal(xp_qcow2_rw_close(q), 0);
	assert_qcheck("pat.qcow2");
	assert_int_equal(
	    xp_test_sh("qemu-img convert -O raw '%s' '%s'", tpath("pat.qcow2"), tpath("pat.out")),
	    0);
	FILE *f = fopen(tpath("pat.out"), "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, size, f), size);
	fclose(f);
	assert_memory_equal(got, want, size);
	char after[65];
	sha(tpath("pat.raw"), after);
	assert_string_equal(before, after);
	/* clusters 1, 2 and 63: only what was written */
	assert_int_equal(own_bytes("pat.qcow2"), 3 * 65536);

	/* 512-byte clusters: a refcount block covers 256 clusters, the one-cluster table
	 * 64 blocks; 40 MiB of scattered writes needs more of both */
	const uint64_t vsize = 64 * MIB;
	assert_int_equal(xp_test_sh("qemu-img create -q -f qcow2 -o cluster_size=512 '%s' %llu",
				    tpath("small.qcow2"), (unsigned long long)vsize),
			 0);
	assert_int_equal(xp_qcow2_rw_open(tpath("small.qcow2"), &q, NULL), 0);
	unsigned char blk[700];
	for (uint64_t off = 0; off < 40 * MIB; off += 2048) {
		pattern(blk, sizeof(blk), (uint32_t)off);
		assert_int_equal(xp_qcow2_rw_pwrite(q, blk, sizeof(blk), off + 300), 0);
	}
	pattern(blk, sizeof(blk), 99);
	assert_int_equal(xp_qcow2_rw_pread(q, blk, sizeof(blk), 300), 0);
	unsigned char exp[700];
	pattern(exp, sizeof(exp), 0);
	assert_memory_equal(blk, exp, sizeof(exp));
	assert_int_equal(xp_qcow2_rw_close(q), 0);
	assert_qcheck("small.qcow2");
	/* check every run through qemu's reading */
	assert_int_equal(xp_test_sh("qemu-img convert -O raw '%s' '%s'", tpath("small.qcow2"),
				    tpath("small.out")),
			 0);
	f = fopen(tpath("small.out"), "rb");
	assert_non_null(f);
	unsigned char *all = malloc(41 * MIB);
	assert_non_null(all);
	assert_int_equal(fread(all, 1, 41 * MIB, f), 41 * MIB);
	fclose(f);
	for (uint64_t off = 0; off < 40 * MIB; off += 2048) {
		pattern(exp, sizeof(exp), (uint32_t)off);
		if (memcmp(all + off + 300, exp, sizeof(exp)) != 0) {
			fprintf(stderr, "mismatch at %llu\n", (unsigned long long)off);
			fail();
		}
		assert_int_equal(all[off], 0);
	}
	free(all);
	free(base);
	free(want);
	free(got);
}

struct bad_case {
	const char *what;
	struct xp_guest_settings s;
	const char *code;
};

/* Debian-like guests need their SSH host keys made at first boot: with systemd and
 * sshd in the image a oneshot unit and its multi-user.target.wants link are written;
 * without systemd (sysvinit) or without sshd, nothing. */
static void test_hostkey_unit(void **state)
{
	(void)state;
	static const char unit[] = "/etc/systemd/system/xenprov-ssh-hostkeys.service";
	static const char wants[] =
	    "/etc/systemd/system/multi-user.target.wants/xenprov-ssh-hostkeys.service";
	/* merged /usr: /lib and /sbin are symlinks into /usr, as on Debian 12 */
	common_tree("sysd");
	assert_int_equal(
	    xp_test_sh("cd '%s/sysd' && mkdir -p usr/lib/systemd usr/sbin && "
		       "ln -s usr/lib lib && ln -s usr/sbin sbin && "
		       "printf 'ELF' >usr/lib/systemd/systemd && printf 'ELF' >usr/sbin/sshd && "
		       "chmod 755 usr/lib/systemd/systemd usr/sbin/sshd",
		       tmpdir),
	    0);
	make_bare("sysd", "sysd.raw", 32);
	struct xp_guest_settings s = {.hostname = "k1"};
	struct xp_guest_report rep;
	for (int round = 0; round < 2; round++) { /* twice: the second replaces the first */
		assert_int_equal(xp_guest_apply(tpath("sysd.raw"), &s, &rep, NULL), 0);
		assert_true(report_has(&rep, true, unit));
		assert_true(report_has(&rep, true, wants));
		assert_true(report_has(&rep, false, "/etc/ssh/ssh_host_ed25519_key") ==
			    (round == 0));
		xp_guest_report_release(&rep);
		assert_fsck_clean("sysd.raw", 0);
		char *n = cat("sysd.raw", 0, unit);
		xp_test_assert_contains(n, "\n[Unit]\n");
		xp_test_assert_contains(n,
					"\nConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n");
		xp_test_assert_contains(n, "\nBefore=ssh.service sshd.service\n");
		xp_test_assert_contains(
		    n, "\n[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -A\n");
		xp_test_assert_contains(n, "\n[Install]\nWantedBy=multi-user.target\n");
		free(n);
		n = dstat("sysd.raw", 0, unit);
		xp_test_assert_contains(n, "Type: regular");
		xp_test_assert_contains(n, "Mode:  0644");
		xp_test_assert_contains(n, "User:     0   Group:     0");
		free(n);
		n = dstat("sysd.raw", 0, wants);
		xp_test_assert_contains(n, "Type: symlink");
		xp_test_assert_contains(
		    n, "link dest: \"/etc/systemd/system/xenprov-ssh-hostkeys.service\"");
		free(n);
	}
	/* systemd itself reads the unit without a complaint, where its tools are here */
	if (xp_test_sh("command -v systemd-analyze >/dev/null && test -x /usr/bin/ssh-keygen") ==
	    0) {
		assert_int_equal(
		    xp_test_sh("cd '%s' && rm -f xenprov-ssh-hostkeys.service && "
			       "debugfs -R 'dump %s xenprov-ssh-hostkeys.service' sysd.raw "
			       ">/dev/null 2>&1",
			       tmpdir, unit),
		    0);
		char *v = xp_test_out("cd '%s' && timeout 60 systemd-analyze verify --man=no "
				      "./xenprov-ssh-hostkeys.service 2>&1; echo rc=$?",
				      tmpdir);
		assert_string_equal(v, "rc=0\n");
		free(v);
	}

	/* sysvinit (no systemd binary): nothing; the host keys still go */
	common_tree("sysv");
	assert_int_equal(xp_test_sh("mkdir -p '%s/sysv/usr/sbin' '%s/sysv/etc/init.d' && "
				    "printf 'ELF' >'%s/sysv/usr/sbin/sshd'",
				    tmpdir, tmpdir, tmpdir),
			 0);
	make_bare("sysv", "sysv.raw", 32);
	assert_int_equal(xp_guest_apply(tpath("sysv.raw"), &s, &rep, NULL), 0);
	assert_false(report_has(&rep, true, unit));
	assert_true(report_has(&rep, false, "/etc/ssh/ssh_host_rsa_key"));
	xp_guest_report_release(&rep);
	assert_false(exists("sysv.raw", 0, unit));
	assert_false(exists("sysv.raw", 0, "/etc/systemd/system"));

	/* systemd without sshd: nothing */
	common_tree("nosshd");
	assert_int_equal(xp_test_sh("mkdir -p '%s/nosshd/usr/lib/systemd' && "
				    "printf 'ELF' >'%s/nosshd/usr/lib/systemd/systemd'",
				    tmpdir, tmpdir),
			 0);
	make_bare("nosshd", "nosshd.raw", 32);
	assert_int_equal(xp_guest_apply(tpath("nosshd.raw"), &s, NULL, NULL), 0);
	assert_false(exists("nosshd.raw", 0, unit));
	assert_fsck_clean("nosshd.raw", 0);
}

static void test_invalid_settings(void **state)
{
	(void)state;
	make_bare("debian", "inv.raw", 32);
	char h0[65], h1[65];
	sha(tpath("inv.raw"), h0);
	static const char *const bad_dns[] = {"192.0.2.1", "not-an-ip"};
	/* further NICs and fstab lines xp_guest_apply refuses */
	static const struct xp_guest_nic nic_bad_mac[] = {{.mac = "00:16:3e:00", .dhcp = true}};
	static const struct xp_guest_nic nic_no_mac[] = {{.dhcp = true}};
	static const struct xp_guest_nic nic_same_mac[] = {{.mac = "00:16:3E:12:34:56", .dhcp = true}};
	static const struct xp_guest_nic nic_twice[] = {{.mac = "00:16:3e:00:00:09", .dhcp = true},
							{.mac = "00:16:3e:00:00:09", .dhcp = true}};
	static const struct xp_guest_nic nic_ip[] = {{.mac = "00:16:3e:00:00:09", .ip = "10.0.0"}};
	static const struct xp_guest_nic nic_none[] = {{.mac = "00:16:3e:00:00:09"}};
	static const struct xp_guest_nic nic_prefix[] = {
	    {.mac = "00:16:3e:00:00:09", .ip = "10.0.0.1", .prefix = 40}};
	static const struct xp_guest_nic nic_gw[] = {
	    {.mac = "00:16:3e:00:00:09", .ip = "10.0.0.1", .gateway = "fe80::1"}};
	static const struct xp_guest_nic nic_dhcp_gw[] = {
	    {.mac = "00:16:3e:00:00:09", .dhcp = true, .gateway = "10.0.0.1"}};
	static const struct xp_guest_mount mnt_rel[] = {
	    {"11111111-2222-4333-8444-555555555555", "ext4", "srv"}};
	static const struct xp_guest_mount mnt_type[] = {
	    {"11111111-2222-4333-8444-555555555555", "zfs", "/srv"}};
	static const struct xp_guest_mount mnt_uuid[] = {{"1111", "ext4", "/srv"}};
	const struct xp_guest_settings first = {.mac = "00:16:3e:12:34:56", .dhcp = true};
#define WITH_NICS(v, n) {.mac = first.mac, .dhcp = true, .nics = (v), .nnics = (n)}
	const struct bad_case cases[] = {
	    {"nic mac", WITH_NICS(nic_bad_mac, 1), "mac"},
	    {"nic no mac", WITH_NICS(nic_no_mac, 1), "mac"},
	    {"nic the first's mac", WITH_NICS(nic_same_mac, 1), "mac"},
	    {"nic mac twice", WITH_NICS(nic_twice, 2), "mac"},
	    {"nic ip", WITH_NICS(nic_ip, 1), "ip"},
	    {"nic neither dhcp nor ip", WITH_NICS(nic_none, 1), "ip"},
	    {"nic prefix", WITH_NICS(nic_prefix, 1), "prefix"},
	    {"nic gateway family", WITH_NICS(nic_gw, 1), "gateway"},
	    {"nic dhcp gateway", WITH_NICS(nic_dhcp_gw, 1), "gateway"},
	    {"nic count without nics", {.mac = first.mac, .dhcp = true, .nnics = 1}, "usage"},
	    {"nics without the first's network", {.mac = first.mac, .nics = nic_twice, .nnics = 1},
	     "nic"},
	    {"mount relative", {.mounts = mnt_rel, .nmounts = 1}, "mount"},
	    {"mount type", {.mounts = mnt_type, .nmounts = 1}, "mount"},
	    {"mount uuid", {.mounts = mnt_uuid, .nmounts = 1}, "mount"},
	    {"hostname", {.hostname = "-bad"}, "hostname"},
	    {"hostname dot", {.hostname = "a.b"}, "hostname"},
	    {"hostname long",
	     {.hostname = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	     "hostname"},
	    {"domain", {.hostname = "a", .domain = "ex..com"}, "domain"},
	    {"mac", {.mac = "00:16:3e:12:34"}, "mac"},
	    {"network without mac", {.ip = "192.0.2.3"}, "mac"},
	    {"dhcp without mac", {.dhcp = true}, "mac"},
	    {"ip", {.ip = "192.0.2.300"}, "ip"},
	    {"prefix", {.ip = "192.0.2.3", .prefix = 33}, "prefix"},
	    {"gateway family", {.ip = "192.0.2.3", .gateway = "2001:db8::1"}, "gateway"},
	    {"dns", {.ip = "192.0.2.3", .dns = bad_dns, .ndns = 2}, "dns"},
	    {"hash colon", {.root_password_hash = "$6$a:b"}, "password-hash"},
	    {"hash empty", {.root_password_hash = ""}, "password-hash"},
	    {"key control", {.ssh_key = "ssh-ed25519 AAAA\001"}, "ssh-key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xp_diags d = {0};
		struct xp_guest_report rep;
		int r = xp_guest_apply(tpath("inv.raw"), &cases[i].s, &rep, &d);
		if (r != -EINVAL || d.n != 1 || strcmp(d.v[0].code, cases[i].code) != 0) {
			fprintf(stderr, "case %s: r=%d n=%zu code=%s\n", cases[i].what, r, d.n,
				d.n ? d.v[0].code : "");
			fail();
		}
		if (cases[i].s.root_password_hash && cases[i].s.root_password_hash[0])
			xp_test_assert_lacks(d.v[0].msg, cases[i].s.root_password_hash);
		assert_int_equal(rep.nwritten, 0);
		xp_guest_report_release(&rep);
		xp_diags_release(&d);
	}
	sha(tpath("inv.raw"), h1);
	assert_string_equal(h0, h1); /* nothing touched */
	assert_int_equal(xp_guest_apply(NULL, &cases[0].s, NULL, NULL), -EINVAL);
	assert_int_equal(xp_guest_apply(tpath("inv.raw"), NULL, NULL, NULL), -EINVAL);
}

static void test_image_errors(void **state)
{
	(void)state;
	struct xp_guest_settings s = {.hostname = "x"};
	struct xp_diags d = {0};

	/* no image */
	assert_int_equal(xp_guest_apply(tpath("missing.raw"), &s, NULL, &d), -ENOENT);
	assert_string_equal(d.v[0].code, "open");
	xp_diags_release(&d);

	/* zeros: no filesystem */
	assert_int_equal(xp_test_sh("truncate -s 8M '%s'", tpath("zero.raw")), 0);
	assert_int_equal(xp_guest_apply(tpath("zero.raw"), &s, NULL, &d), -ENOENT);
	assert_string_equal(d.v[0].code, "no-root");
	xp_diags_release(&d);

	/* a filesystem without /etc */
	assert_int_equal(
	    xp_test_sh("mkdir -p '%s' && truncate -s 8M '%s' && mke2fs -q -F -t ext4 -d '%s' "
		       "'%s'",
		       tpath("emptytree"), tpath("noetc.raw"), tpath("emptytree"),
		       tpath("noetc.raw")),
	    0);
	assert_int_equal(xp_guest_apply(tpath("noetc.raw"), &s, NULL, &d), -ENOENT);
	assert_string_equal(d.v[0].code, "no-root");
	xp_diags_release(&d);

	/* a password but no /etc/shadow */
	make_bare("networkd", "nosh.raw", 32);
	struct xp_guest_settings ps = {.root_password_hash = HASH};
	assert_int_equal(xp_guest_apply(tpath("nosh.raw"), &ps, NULL, &d), -ENOENT);
	assert_string_equal(d.v[d.n - 1].code, "no-shadow");
	xp_test_assert_lacks(d.v[d.n - 1].msg, HASH);
	xp_diags_release(&d);
	assert_fsck_clean("nosh.raw", 0);

	/* a shadow without root */
	assert_int_equal(xp_test_sh("rm -rf '%s' && cp -a '%s' '%s'", tpath("noroot"),
				    tpath("debian"), tpath("noroot")),
			 0);
	put("noroot/etc/shadow", "daemon:*:19000:0:99999:7:::\n", 0640);
	make_bare("noroot", "noroot.raw", 32);
	assert_int_equal(xp_guest_apply(tpath("noroot.raw"), &ps, NULL, &d), -ENOENT);
	assert_string_equal(d.v[d.n - 1].code, "no-root-user");
	xp_diags_release(&d);

	/* busy */
	make_bare("debian", "busy.raw", 32);
	int fd = open(tpath("busy.raw"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(xp_guest_apply(tpath("busy.raw"), &s, NULL, &d), -EBUSY);
	xp_diags_release(&d);
	close(fd);

	/* a full filesystem */
	assert_int_equal(xp_test_sh("rm -rf '%s' && cp -a '%s' '%s'", tpath("full"),
				    tpath("debian"), tpath("full")),
			 0);
	make_bare("full", "full.raw", 8);
	char *fb = xp_test_out("dumpe2fs -h '%s' 2>/dev/null | sed -n 's/^Free blocks: *//p'",
			       tpath("full.raw"));
	size_t keylen = (size_t)(strtoull(fb, NULL, 10) + 16) * 4096;
	free(fb);
	char *big = malloc(keylen + 1);
	assert_non_null(big);
	memset(big, 'k', keylen);
	big[keylen] = '\0';
	struct xp_guest_settings ks = {.ssh_key = big};
	int r = xp_guest_apply(tpath("full.raw"), &ks, NULL, &d);
	free(big);
	assert_int_equal(r, -ENOSPC);
	assert_string_equal(d.v[d.n - 1].code, "no-space");
	xp_diags_release(&d);
	assert_fsck_clean("full.raw", 0);

	/* ea_inode without metadata_csum: its value hashes use the UUID */
	assert_int_equal(xp_test_sh("rm -f '%s' && truncate -s 32M '%s' && mke2fs -q -F -t ext4 -O "
				    "^metadata_csum,ea_inode -d '%s' '%s'",
				    tpath("eai.raw"), tpath("eai.raw"), tpath("debian"),
				    tpath("eai.raw")),
			 0);
	assert_int_equal(xp_guest_apply(tpath("eai.raw"), &s, NULL, &d), -ENOTSUP);
	assert_string_equal(d.v[d.n - 1].code, "ea-inode");
	xp_diags_release(&d);
	assert_fsck_clean("eai.raw", 0);

	/* a group descriptor whose checksum is already wrong is not made right (that would
	 * hide the damage from e2fsck) */
	make_bare_fs("debian", "badgd.raw", 32, "-t ext4 -O ^metadata_csum,uninit_bg");
	assert_int_equal(xp_test_sh("debugfs -w -R 'set_bg 1 checksum 0x1234' '%s' >/dev/null 2>&1",
				    tpath("badgd.raw")),
			 0);
	assert_int_equal(xp_guest_apply(tpath("badgd.raw"), &s, NULL, &d), -EIO);
	assert_string_equal(d.v[d.n - 1].code, "group-checksum");
	xp_diags_release(&d);

	/* qcow2 with an internal snapshot: not writable */
	make_bare("debian", "snap.raw", 32);
	assert_int_equal(
	    xp_test_sh("qemu-img convert -O qcow2 '%s' '%s' && qemu-img snapshot -c s1 '%s'",
		       tpath("snap.raw"), tpath("snap.qcow2"), tpath("snap.qcow2")),
	    0);
	assert_int_equal(xp_guest_apply(tpath("snap.qcow2"), &s, NULL, &d), -ENOTSUP);
	xp_test_assert_contains(d.v[d.n - 1].msg, "snapshots");
	xp_diags_release(&d);
}

/* ---- clones ------------------------------------------------------------------------------ */

#define SWAP_UUID_UPPER "D1C2B3A4-1234-4CDE-8F00-AABBCCDDEEFF"

/* What names the golden image's UUIDs, as a Debian guest with GRUB has it, and what it
 * must not touch: a longer hex run holding the UUID, a file outside the list. */
#define GRUB_CFG(fs, swap)                                                                         \
	"search --no-floppy --fs-uuid --set=root " fs "\n"                                         \
	"linux /boot/vmlinuz root=UUID=" fs " ro resume=UUID=" swap " quiet\n"                     \
	"# not a UUID of ours: a" FS_UUID " " FS_UUID "0 " FS_UUID "-1\n"

/* A golden tree that names its UUIDs in the boot loader's files and holds one machine's
 * state: random seeds, DHCP leases and identities, udev's persistent net rules. */
static void make_clone_tree(void)
{
	common_tree("clone");
	assert_int_equal(
	    xp_test_sh(
		"cd '%s/clone' && mkdir -p boot/grub boot/loader/entries etc/default etc/grub.d "
		"etc/initramfs-tools/conf.d etc/kernel etc/network etc/udev/rules.d "
		"var/lib/systemd var/lib/urandom var/lib/dhcp var/lib/dhclient "
		"var/lib/NetworkManager var/lib/dhcpcd",
		tmpdir),
	    0);
	put("clone/etc/network/interfaces", "auto lo\niface lo inet loopback\n", 0644);
	put("clone/boot/grub/grub.cfg", GRUB_CFG(FS_UUID, SWAP_UUID_UPPER), 0444);
	put("clone/boot/grub/menu.lst", "kernel /vmlinuz root=UUID=" FS_UUID "\n", 0644);
	put("clone/etc/default/grub", "GRUB_CMDLINE_LINUX=\"root=UUID=" FS_UUID "\"\n", 0644);
	put("clone/etc/kernel/cmdline", "root=UUID=" FS_UUID " ro\n", 0644);
	put("clone/etc/initramfs-tools/conf.d/resume", "RESUME=UUID=" SWAP_UUID "\n", 0644);
	put("clone/boot/loader/entries/debian.conf", "options root=UUID=" FS_UUID " ro\n", 0644);
	put("clone/boot/loader/entries/notes.txt", FS_UUID "\n", 0644);
	put("clone/etc/grub.d/40_custom", "# " FS_UUID "\n", 0755);
	static const char *const state[] = {
	    "var/lib/systemd/random-seed",
	    "var/lib/urandom/random-seed",
	    "var/lib/random-seed",
	    "var/lib/dhcp/dhclient.eth0.leases",
	    "var/lib/dhcp/dhclient6.leases",
	    "var/lib/dhclient/dhclient--eth0.lease",
	    "var/lib/dhclient/dhclient.leases",
	    "var/lib/NetworkManager/internal-5e3f-eth0.lease",
	    "var/lib/NetworkManager/secret_key",
	    "var/lib/dhcpcd/eth0.lease",
	    "var/lib/dhcpcd/eth0.lease6",
	    "var/lib/dhcpcd/duid",
	    "var/lib/dhcpcd/secret",
	    "etc/udev/rules.d/70-persistent-net.rules",
	};
	for (size_t i = 0; i < sizeof(state) / sizeof(state[0]); i++) {
		char rel[200];
		snprintf(rel, sizeof(rel), "clone/%s", state[i]);
		put(rel, "golden machine state\n", 0600);
	}
	/* kept: another program's state, a DHCP server's leases, other rules */
	put("clone/var/lib/dhcp/dhcpd.leases", "server\n", 0644);
	put("clone/var/lib/NetworkManager/NetworkManager.state", "[main]\n", 0644);
	put("clone/etc/udev/rules.d/80-local.rules", "# local\n", 0644);
}

/* Removed from every clone, and reported. */
static const char *const clone_removed[] = {
    "/var/lib/systemd/random-seed",
    "/var/lib/urandom/random-seed",
    "/var/lib/random-seed",
    "/var/lib/dhcp/dhclient.eth0.leases",
    "/var/lib/dhcp/dhclient6.leases",
    "/var/lib/dhclient/dhclient--eth0.lease",
    "/var/lib/dhclient/dhclient.leases",
    "/var/lib/NetworkManager/internal-5e3f-eth0.lease",
    "/var/lib/NetworkManager/secret_key",
    "/var/lib/dhcpcd/eth0.lease",
    "/var/lib/dhcpcd/eth0.lease6",
    "/var/lib/dhcpcd/duid",
    "/var/lib/dhcpcd/secret",
    "/etc/udev/rules.d/70-persistent-net.rules",
};

struct clone_kind {
	const char *name, *mkfs, *fstype;
	bool seeded;	 /* metadata_csum_seed turned on by the apply */
	bool seed_after; /* metadata_csum_seed there afterwards */
};

/* One guest of a clone_kind, read back from raw (a raw image): everything that names the
 * old UUIDs names the new ones, no state is left, the filesystem is clean. uuid gets the
 * guest's filesystem and swap UUIDs. */
static void verify_clone(const struct clone_kind *k, const char *raw,
			 const struct xp_guest_report *rep, char uuid[2][40])
{
	assert_fsck_clean(raw, MIB);
	char *fsu = blkid_uuid(raw, MIB), *swu = blkid_uuid(raw, 49 * MIB);
	assert_string_equal(rep->old_fs_uuid, FS_UUID);
	assert_string_equal(rep->old_swap_uuid, SWAP_UUID);
	assert_string_equal(rep->fs_uuid, fsu);
	assert_string_equal(rep->swap_uuid, swu);
	assert_string_not_equal(fsu, FS_UUID);
	assert_string_not_equal(swu, SWAP_UUID);
	assert_int_equal(rep->csum_seed_set, k->seeded);
	snprintf(uuid[0], 40, "%s", fsu);
	snprintf(uuid[1], 40, "%s", swu);

	char *sb = xp_test_out("dumpe2fs -h %s 2>/dev/null", at(raw, MIB));
	if (k->seed_after)
		xp_test_assert_contains(sb, "metadata_csum_seed");
	else
		xp_test_assert_lacks(sb, "metadata_csum_seed");
	free(sb);

	char want[1024];
	char *s = cat(raw, MIB, "/etc/fstab");
	snprintf(want, sizeof(want),
		 "UUID=%s\t/\t%s\terrors=remount-ro\t0\t1\nUUID=%s\tnone\tswap\tsw\t0\t0\n", fsu,
		 k->fstype, swu);
	xp_test_assert_contains(s, want);
	free(s);
	s = cat(raw, MIB, "/boot/grub/grub.cfg");
	/* the new UUIDs are lower case, whatever case the file had */
	snprintf(want, sizeof(want),
		 "search --no-floppy --fs-uuid --set=root %s\n"
		 "linux /boot/vmlinuz root=UUID=%s ro resume=UUID=%s quiet\n"
		 "# not a UUID of ours: a" FS_UUID " " FS_UUID "0 " FS_UUID "-1\n",
		 fsu, fsu, swu);
	assert_string_equal(s, want);
	free(s);
	s = dstat(raw, MIB, "/boot/grub/grub.cfg");
	xp_test_assert_contains(s, "Mode:  0444"); /* its inode kept */
	free(s);
	/* the other files that named them: before, the UUID (0 fs, 1 swap), after; -1: the
	 * file is left as it was (before alone) */
	static const struct {
		const char *path, *before, *after;
		int which;
	} follow[] = {
	    {"/boot/grub/menu.lst", "kernel /vmlinuz root=UUID=", "\n", 0},
	    {"/etc/default/grub", "GRUB_CMDLINE_LINUX=\"root=UUID=", "\"\n", 0},
	    {"/etc/kernel/cmdline", "root=UUID=", " ro\n", 0},
	    {"/etc/initramfs-tools/conf.d/resume", "RESUME=UUID=", "\n", 1},
	    {"/boot/loader/entries/debian.conf", "options root=UUID=", " ro\n", 0},
	    {"/boot/loader/entries/notes.txt", FS_UUID "\n", "", -1},
	    {"/etc/grub.d/40_custom", "# " FS_UUID "\n", "", -1},
	};
	const char *const uuids[] = {fsu, swu};
	for (size_t i = 0; i < sizeof(follow) / sizeof(follow[0]); i++) {
		s = cat(raw, MIB, follow[i].path);
		snprintf(want, sizeof(want), "%s%s%s", follow[i].before,
			 follow[i].which < 0 ? "" : uuids[follow[i].which], follow[i].after);
		assert_string_equal(s, want);
		free(s);
	}
	for (size_t i = 0; i < sizeof(clone_removed) / sizeof(clone_removed[0]); i++) {
		if (exists(raw, MIB, clone_removed[i])) {
			fprintf(stderr, "%s: %s is still there\n", raw, clone_removed[i]);
			fail();
		}
		assert_true(report_has(rep, false, clone_removed[i]));
	}
	assert_true(exists(raw, MIB, "/var/lib/dhcp/dhcpd.leases"));
	assert_true(exists(raw, MIB, "/var/lib/NetworkManager/NetworkManager.state"));
	assert_true(exists(raw, MIB, "/etc/udev/rules.d/80-local.rules"));
	free(fsu);
	free(swu);
}

static void test_clones(void **state)
{
	(void)state;
	make_clone_tree();
	const struct clone_kind kinds[] = {
	    {"ext2", "-t ext2", "ext2", false, false},
	    {"ext3", "-t ext3", "ext3", false, false},
	    /* xenprov's golden ext4 */
	    {"ext4 metadata_csum_seed", MKFS_GOLDEN, "ext4", false, true},
	    /* made elsewhere (Debian's mke2fs.conf): the seed is turned on */
	    {"ext4 metadata_csum", "-t ext4 -O metadata_csum,^metadata_csum_seed", "ext4", true,
	     true},
	    /* crc16 group descriptor checksums, which cover the UUID */
	    {"ext4 uninit_bg", "-t ext4 -O ^metadata_csum,uninit_bg", "ext4", false, false},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct clone_kind *k = &kinds[i];
		fprintf(stderr, "clones of %s\n", k->name);
		make_disk_fs("clone", "cl-gold.raw", k->mkfs);
		char gold[65], now[65];
		sha(tpath("cl-gold.raw"), gold);
		/* one guest a sparse copy, one a qcow2 overlay over the golden image */
		assert_int_equal(xp_test_sh("cp --sparse=always '%s' '%s'", tpath("cl-gold.raw"),
					    tpath("cl-1.raw")),
				 0);
		assert_int_equal(xp_test_sh("rm -f '%s'", tpath("cl-2.qcow2")), 0);
		assert_int_equal(xp_qcow2_create_overlay(tpath("cl-2.qcow2"), tpath("cl-gold.raw"),
							 XP_IMAGE_RAW, 58 * MIB),
				 0);
		struct xp_guest_settings s = {.hostname = "clone"};
		struct xp_guest_report rep[2];
		const char *img[2] = {"cl-1.raw", "cl-2.qcow2"};
		for (int g = 0; g < 2; g++) {
			struct xp_diags d = {0};
			int r = xp_guest_apply(tpath(img[g]), &s, &rep[g], &d);
			for (size_t j = 0; j < d.n; j++)
				fprintf(stderr, "diag: %s: %s\n", d.v[j].code, d.v[j].msg);
			assert_int_equal(r, 0);
			/* a warning only where the feature was turned on */
			assert_int_equal(d.n, k->seeded ? 1 : 0);
			if (k->seeded)
				assert_string_equal(d.v[0].code, "csum-seed");
			xp_diags_release(&d);
		}
		assert_qcheck("cl-2.qcow2");
		assert_int_equal(xp_test_sh("qemu-img convert -O raw '%s' '%s'",
					    tpath("cl-2.qcow2"), tpath("cl-2.raw")),
				 0);
		char uuid[2][2][40];
		verify_clone(k, "cl-1.raw", &rep[0], uuid[0]);
		verify_clone(k, "cl-2.raw", &rep[1], uuid[1]);
		/* two guests of one image are two machines */
		assert_string_not_equal(uuid[0][0], uuid[1][0]);
		assert_string_not_equal(uuid[0][1], uuid[1][1]);
		xp_guest_report_release(&rep[0]);
		xp_guest_report_release(&rep[1]);
		/* and the golden image is what it was */
		sha(tpath("cl-gold.raw"), now);
		assert_string_equal(now, gold);
		char *u = blkid_uuid("cl-gold.raw", MIB);
		assert_string_equal(u, FS_UUID);
		free(u);
	}
}

static void test_nothing_requested(void **state)
{
	(void)state;
	make_bare("debian", "min.raw", 32);
	struct xp_guest_settings s = {0};
	struct xp_guest_report rep;
	assert_int_equal(xp_guest_apply(tpath("min.raw"), &s, &rep, NULL), 0);
	/* always: fstab, machine-ids; host keys removed */
	assert_int_equal(rep.nwritten, 3);
	assert_true(report_has(&rep, true, "/etc/fstab"));
	assert_true(report_has(&rep, true, "/etc/machine-id"));
	assert_true(report_has(&rep, true, "/var/lib/dbus/machine-id"));
	assert_int_equal(rep.nremoved, 4);
	assert_int_equal(rep.net_format, XP_NET_IFUPDOWN);
	xp_guest_report_release(&rep);
	assert_file_is("min.raw", 0, "/etc/hostname", "golden\n");
	assert_file_is("min.raw", 0, "/etc/shadow", SHADOW);
	char *h = cat("min.raw", 0, "/etc/network/interfaces.d/50-cloud-init");
	xp_test_assert_contains(h, "iface eth0");
	free(h);
	assert_false(exists("min.raw", 0, "/root/.ssh"));
	assert_fsck_clean("min.raw", 0);
}

/* xp_guest_update rewrites only the parts asked for: the SSH key of a guest that was
 * applied once, its hostname, machine-id and host-key state as they were; no part, or
 * an unknown one, is refused. */
static void test_update_parts(void **state)
{
	(void)state;
	make_bare("debian", "upd.raw", 32);
	struct xp_guest_settings s = {.hostname = "upd1", .ssh_key = "ssh-ed25519 AAAA one"};
	assert_int_equal(xp_guest_apply(tpath("upd.raw"), &s, NULL, NULL), 0);
	char *mid = cat("upd.raw", 0, "/etc/machine-id");
	struct xp_guest_settings u = {.hostname = "other", .ssh_key = "ssh-ed25519 AAAA two"};
	struct xp_guest_report rep;
	assert_int_equal(xp_guest_update(tpath("upd.raw"), &u, XP_GUEST_EDIT_SSH_KEY, &rep, NULL), 0);
	assert_int_equal(rep.nwritten, 1);
	assert_true(report_has(&rep, true, "/root/.ssh/authorized_keys"));
	assert_int_equal(rep.nremoved, 0);
	xp_guest_report_release(&rep);
	assert_file_is("upd.raw", 0, "/root/.ssh/authorized_keys", "ssh-ed25519 AAAA two\n");
	assert_file_is("upd.raw", 0, "/etc/hostname", "upd1\n");
	char *mid2 = cat("upd.raw", 0, "/etc/machine-id");
	assert_string_equal(mid, mid2);
	free(mid);
	free(mid2);
	assert_fsck_clean("upd.raw", 0);
	struct xp_diags d;
	xp_diags_init(&d);
	assert_int_equal(xp_guest_update(tpath("upd.raw"), &u, 0, NULL, &d), -EINVAL);
	assert_int_equal(xp_guest_update(tpath("upd.raw"), &u, 64, NULL, &d), -EINVAL);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0].code, "usage");
	xp_diags_release(&d);
}

/* A qcow2 image grown in place (xp_qcow2_rw_resize, xp_rwdisk_resize): its old content
 * kept, the new range zeros where nothing backs it and writable, the header's size and
 * L1 table what qemu-img reads; shrinking, unaligned sizes and a growth the L1 table's
 * clusters cannot map are refused, with nothing written. */
static void test_qcow2_rw_resize(void **state)
{
	(void)state;
	const size_t size = 4 * MIB;
	unsigned char *base = malloc(size), *got = malloc(16 * MIB);
	assert_non_null(base);
	assert_non_null(got);
	pattern(base, size, 3);
	xp_test_write_bytes(tpath("gr.raw"), base, size);
	assert_int_equal(xp_qcow2_create_overlay(tpath("gr.qcow2"), "gr.raw", XP_IMAGE_RAW, size),
			 0);
	struct xp_qcow2_rw *q;
	assert_int_equal(xp_qcow2_rw_open(tpath("gr.qcow2"), &q, NULL), 0);
	assert_int_equal(xp_qcow2_rw_resize(q, size - 512), -EINVAL);
	assert_int_equal(xp_qcow2_rw_resize(q, size + 100), -EINVAL);
	assert_int_equal(xp_qcow2_rw_resize(q, size), 0);
	assert_int_equal(xp_qcow2_rw_resize(q, 16 * MIB), 0);
	assert_int_equal(xp_qcow2_rw_size(q), 16 * MIB);
	unsigned char bytes[300];
	pattern(bytes, sizeof(bytes), 9);
	assert_int_equal(xp_qcow2_rw_pwrite(q, bytes, sizeof(bytes), 10 * MIB + 5), 0);
	assert_int_equal(xp_qcow2_rw_pread(q, got, 16 * MIB, 0), 0);
	assert_memory_equal(got, base, size);
	assert_memory_equal(got + 10 * MIB + 5, bytes, sizeof(bytes));
	assert_true(xp_all_zero(got + size, 10 * MIB + 5 - size));
	assert_int_equal(xp_qcow2_rw_close(q), 0);
	assert_qcheck("gr.qcow2");
	assert_int_equal(xp_test_sh("qemu-img info --output=json '%s' | grep -q "
				    "'\"virtual-size\": 16777216,'",
				    tpath("gr.qcow2")),
			 0);
	assert_int_equal(
	    xp_test_sh("qemu-img convert -O raw '%s' '%s'", tpath("gr.qcow2"), tpath("gr.out")), 0);
	size_t outlen;
	char *out = xp_test_read(tpath("gr.out"), &outlen);
	assert_int_equal(outlen, 16 * MIB);
	assert_memory_equal(out, base, size);
	assert_memory_equal(out + 10 * MIB + 5, bytes, sizeof(bytes));
	free(out);

	/* 512-byte clusters: an L2 table maps 32 KiB, the one-cluster L1 table 64 of them */
	assert_int_equal(xp_test_sh("qemu-img create -q -f qcow2 -o cluster_size=512 '%s' 1M",
				    tpath("tiny.qcow2")),
			 0);
	char before[65], after[65];
	sha(tpath("tiny.qcow2"), before);
	struct xp_rwdisk *rw;
	assert_int_equal(xp_rwdisk_open(tpath("tiny.qcow2"), 0, &rw, NULL), 0);
	assert_int_equal(xp_rwdisk_resize(rw, 2 * MIB + 512), -ENOTSUP);
	xp_test_assert_contains(xp_rwdisk_errmsg(rw), "L1 entries");
	assert_int_equal(xp_rwdisk_size(rw), 1 * MIB);
	assert_int_equal(xp_rwdisk_close(rw), 0);
	sha(tpath("tiny.qcow2"), after);
	assert_string_equal(before, after);
	assert_int_equal(xp_rwdisk_open(tpath("tiny.qcow2"), 0, &rw, NULL), 0);
	assert_int_equal(xp_rwdisk_resize(rw, 2 * MIB), 0);
	assert_int_equal(xp_rwdisk_close(rw), 0);
	assert_qcheck("tiny.qcow2");
	/* a raw file grows by its length; a device only as far as it is */
	assert_int_equal(xp_rwdisk_open(tpath("gr.raw"), 0, &rw, NULL), 0);
	assert_int_equal(xp_rwdisk_resize(rw, size - 1), -EINVAL);
	assert_int_equal(xp_rwdisk_resize(rw, 8 * MIB), 0);
	assert_int_equal(xp_rwdisk_close(rw), 0);
	struct stat st;
	assert_int_equal(stat(tpath("gr.raw"), &st), 0);
	assert_int_equal(st.st_size, 8 * MIB);
	free(base);
	free(got);
}

int main(void)
{
	is_root = geteuid() == 0;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_debian_partitioned_raw),
	    cmocka_unit_test(test_networkd_bare),
	    cmocka_unit_test(test_busybox_eth0),
	    cmocka_unit_test(test_netplan),
	    cmocka_unit_test(test_networkmanager),
	    cmocka_unit_test(test_ifcfg),
	    cmocka_unit_test(test_qcow2_rw_layer),
	    cmocka_unit_test(test_qcow2_rw_resize),
	    cmocka_unit_test(test_update_parts),
	    cmocka_unit_test(test_qcow2_overlays),
	    cmocka_unit_test(test_hostkey_unit),
	    cmocka_unit_test(test_invalid_settings),
	    cmocka_unit_test(test_further_devices),
	    cmocka_unit_test(test_image_errors),
	    cmocka_unit_test(test_nothing_requested),
	    cmocka_unit_test(test_clones),
	};
	return xp_test_run_group("mke2fs debugfs e2fsck sfdisk mkswap blkid qemu-img python3",
				 tests, setup, teardown);
}
