#!/bin/bash
# serve-autoinstall-debian.sh - issue 17's proof with a real Debian: a machine installs
# the real-guests issue's Debian 12 image from the network and boots it with systemd.
# As serve-autoinstall-qemu.sh (BIOS, iPXE ROM, virtio-net, a virtio disk, QEMU
# PXE-booting from `xenprov serve` in a network namespace; TCG unless scripts/qemu-accel
# finds a KVM that works), but the profile's image is a Debian 12 root made by
# mmdebstrap (minbase with systemd-sysv, udev, linux-image-amd64, grub-pc and iproute2,
# systemd-networkd enabled, and a unit, xp-marker.service, that prints
# "XP-INSTALLED host=HOSTNAME addr=ADDRESS init=systemd" on ttyS0 once networkd has an
# address, init being process 1's name),
# cached in /var/tmp/xenprov-inst-debian (XP_INST_DEBIAN_CACHE; made again when missing,
# a cold machine pays about 4 minutes once; skipped when Debian's mirror is out of
# reach). The 1G image onto a blank 2G disk:
#   1. the install: the image streamed, the root grown to the whole disk, the edits,
#      GRUB from the image (its own grub-install and update-grub), the success event
#      (netboot off), a reboot; checked offline (root partition spanning the disk, the
#      filesystem filling it by dumpe2fs, e2fsck clean, the host name);
#   2. the machine boots again: the server offers no boot file, the BIOS boots the disk,
#      Debian's GRUB, kernel and initramfs, systemd, networkd's DHCP lease from the
#      server, and the marker with the host name and the reserved address on the
#      serial console.
# With XP_AI_FIRMWARE=uefi (serve-autoinstall-debian-uefi.sh) the same machine with
# OVMF (lib/qemu-pxe.sh's QPXE_UEFI: the disk first in the boot order, then the NIC):
# ipxe.efi from the TFTP root, the installer finds /sys/firmware/efi, a GPT with an EFI
# system partition at the disk's end, Debian's GRUB for EFI (grub-efi-amd64-bin is in
# the root beside grub-pc) at EFI/BOOT/BOOTX64.EFI; the root keeps the image's size
# there (growing it up to the ESP is not built), checked offline (GPT, the ESP's type,
# fsck.vfat with BOOTX64.EFI, e2fsck, the host name); then OVMF boots the disk and
# Debian prints the same marker.
# Prints each stage's seconds. Environment: XENPROV, XP_TMP, XP_SRC, XP_AI_TIMEOUT
# (seconds per stage, default 900), XP_AI_FIRMWARE (bios, uefi), XP_DEBIAN_MIRROR,
# XP_QEMU_ACCEL. Needs root. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${XP_AI_TIMEOUT:-900}
SERVER_IP=10.76.0.1
VM_IP=10.76.0.120
MAC=52:54:00:a1:b3:01
HTTP_PORT=8080
TAP=xpad0
BR=xpadbr0
NS=xp-ad-$$
MIRROR=${XP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
FIRMWARE=${XP_AI_FIRMWARE:-bios}
IPXE_EFI=/usr/lib/ipxe/ipxe.efi
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
case $FIRMWARE in
bios) ;;
uefi)
	# another machine, network and tap: the two variants may run at once
	MAC=52:54:00:a1:b3:02 TAP=xpadu0 BR=xpadubr0 NS=xp-adu-$$
	SERVER_IP=10.75.0.1 VM_IP=10.75.0.120
	need fsck.vfat
	[ -r "$IPXE_EFI" ] || skip "no $IPXE_EFI (Debian package ipxe)"
	QPXE_UEFI=1
	;;
*) fail "XP_AI_FIRMWARE must be bios or uefi" ;;
esac
CACHE=${XP_INST_DEBIAN_CACHE:-/var/tmp/xenprov-inst-debian}

need sfdisk blkid e2fsck debugfs dumpe2fs mmdebstrap flock
. "$HERE/lib/qemu-pxe.sh" || exit 1

# ---- the Debian root, made once per machine -------------------------------------------------
ROOT_TAR=$CACHE/bookworm-inst-v3.tar
mkdir -p "$CACHE" || fail "cannot make $CACHE"
exec 9>"$CACHE/lock"
flock 9
if [ ! -s "$ROOT_TAR" ]; then
	t0=$SECONDS
	# the marker: once networkd has an address (or after 120 s without one)
	marker='#!/bin/sh
for i in $(seq 120); do
	a=$(ip -4 -o addr show scope global | sed -n "s/.* inet \([0-9.]*\).*/\1/p" | head -n 1)
	[ -n "$a" ] && break
	sleep 1
done
echo "XP-INSTALLED host=$(cat /etc/hostname) addr=$a init=$(cat /proc/1/comm)"'
	unit='[Unit]
Description=xenprov install marker
After=network-online.target
Wants=network-online.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/xp-marker
StandardOutput=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target'
	mmdebstrap --variant=minbase \
		--include=systemd-sysv,udev,linux-image-amd64,grub-pc,grub-efi-amd64-bin,iproute2 \
		--customize-hook="printf '%s\n' '$marker' >\"\$1/usr/local/sbin/xp-marker\"" \
		--customize-hook='chmod 755 "$1/usr/local/sbin/xp-marker"' \
		--customize-hook="printf '%s\n' '$unit' >\"\$1/etc/systemd/system/xp-marker.service\"" \
		--customize-hook='chroot "$1" systemctl enable systemd-networkd xp-marker.service' \
		--customize-hook='sed -i "s/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=1/" "$1/etc/default/grub"' \
		--format=tar bookworm "$ROOT_TAR.tmp" "deb $MIRROR bookworm main" \
		>"$T/mmdebstrap.log" 2>&1 || {
		rm -f "$ROOT_TAR.tmp"
		grep -qiE 'could not resolve|failed to fetch|unable to connect|temporary failure' \
			"$T/mmdebstrap.log" && skip "Debian's mirror cannot be reached"
		fail "mmdebstrap failed: $(tail -n 20 "$T/mmdebstrap.log")"
	}
	mv "$ROOT_TAR.tmp" "$ROOT_TAR" || fail "mv"
	echo "Debian root made in $((SECONDS - t0)) s"
fi
flock -u 9
tar -xOf "$ROOT_TAR" ./etc/systemd/system/xp-marker.service | grep -q TTYPath=/dev/ttyS0 ||
	fail "$ROOT_TAR has no marker unit: remove it to have it made again"

# ---- the inventory and the installer -------------------------------------------------------
if [ "$FIRMWARE" = uefi ]; then
	qpxe_server adu 10.75.0.100-10.75.0.150
	cp "$IPXE_EFI" "$T/tftp/ipxe.efi" || fail "cannot copy $IPXE_EFI"
else
	qpxe_server ad 10.76.0.100-10.76.0.150
fi
# no_timer_check: under TCG on a loaded machine the IO-APIC timer check can panic
"$X" profile add debian --image "$ROOT_TAR" --disk-size 1G --network dhcp --distro plain \
	--extra "console=ttyS0 no_timer_check" >"$T/out" 2>&1 || fail "profile add: $(cat "$T/out")"
"$X" system add deb1 --mac "$MAC" --ip "$VM_IP" --profile debian --install on \
	--kernel-options "console=ttyS0 no_timer_check" >/dev/null || fail "system add"
truncate -s 2G "$T/disk.img" || fail "truncate"
ok

qpxe_net
qpxe_serve
ok


# ---- 1. the install ------------------------------------------------------------------------
echo "1. the install ($FIRMWARE, accel $ACCEL)"
t0=$SECONDS
qpxe_boot "$MAC" "$T/disk.img"
qpxe_until "$TIMEOUT" "the success event" qpxe_log "success done: debian installed on /dev/vda"
qpxe_done 120 "the success (a reboot)"
echo "install: $((SECONDS - t0)) s from power-on to the reboot"
steps="image customize bootloader"
[ "$FIRMWARE" = uefi ] && steps="$steps firmware" || steps="$steps grow"
for s in $steps; do
	grep -qE "install: system 'deb1' \(${VM_IP//./\\.}\): progress $s" "$T/serve.log" ||
		fail "no progress event $s"
done
"$X" system show deb1 | grep -qE '^netboot +off$' || fail "netboot still on"
sfdisk -J "$T/disk.img" >"$T/table" || fail "no partition table"
read -r start size < <(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["partitiontable"]["partitions"]; print(p[0]["start"], p[0]["size"])' "$T/table")
if [ "$FIRMWARE" = uefi ]; then
	# a GPT, the image's root where it was, the ESP (FAT32, GRUB's removable path) last
	read -r label esp_start esp_size esp_type < <(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["partitiontable"]; p=t["partitions"][-1]; print(t["label"], p["start"], p["size"], p["type"])' "$T/table")
	[ "$label" = gpt ] && [ "$esp_type" = "$ESP_TYPE" ] || fail "no GPT with an ESP last: $(cat "$T/table")"
	dd if="$T/disk.img" of="$T/esp.fs" bs=512 skip="$esp_start" count="$esp_size" status=none || fail "dd esp"
	fsck.vfat -n "$T/esp.fs" >"$T/fsck.vfat" 2>&1 || fail "fsck.vfat: $(cat "$T/fsck.vfat")"
	MTOOLS_SKIP_CHECK=1 mdir -i "$T/esp.fs" ::/EFI/BOOT 2>/dev/null | grep -qi 'BOOTX64 *EFI' ||
		python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if b"BOOTX64 EFI" in d else 1)' "$T/esp.fs" ||
		fail "no EFI/BOOT/BOOTX64.EFI on the ESP"
	rm -f "$T/esp.fs"
fi
dd if="$T/disk.img" of="$T/root.fs" bs=512 skip="$start" count="$size" status=none || fail "dd"
e2fsck -fn "$T/root.fs" >"$T/fsck" 2>&1 || fail "e2fsck: $(cat "$T/fsck")"
bytes=$(dumpe2fs -h "$T/root.fs" 2>/dev/null | awk -F: '/^Block count/ {c = $2} /^Block size/ {s = $2} END {print c * s}')
if [ "$FIRMWARE" = bios ]; then
	[ "$((start + size))" = $((2 << 21)) ] || fail "the root partition does not reach the end: $(cat "$T/table")"
	[ "$bytes" = $((size * 512)) ] || fail "the root filesystem holds $bytes bytes, its partition $((size * 512))"
fi
[ "$(debugfs -R 'cat /etc/hostname' "$T/root.fs" 2>/dev/null)" = deb1 ] || fail "the host name"
rm -f "$T/root.fs"
ok

# ---- 2. Debian boots from its disk ------------------------------------------------------------
echo "2. the installed Debian"
t0=$SECONDS
qpxe_boot "$MAC" "$T/disk.img"
qpxe_until "$TIMEOUT" "the installed system's marker" grep -aq "XP-INSTALLED" "$T/serial.log"
echo "boot: $((SECONDS - t0)) s from power-on to the marker"
if [ "$FIRMWARE" = bios ]; then
	grep -aq "Nothing to boot" "$T/serial.log" || fail "the server offered the installed machine a boot file"
fi
# the unit's own line: systemd is process 1 and ran it once networkd had the lease
grep -aq "XP-INSTALLED host=deb1 addr=$VM_IP init=systemd" "$T/serial.log" ||
	fail "the marker: $(grep -a XP-INSTALLED "$T/serial.log")"
ok
pass
