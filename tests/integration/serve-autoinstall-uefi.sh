#!/bin/bash
# serve-autoinstall-uefi.sh - a UEFI machine installs itself from the network, end to
# end (issue 17, UEFI; serve-autoinstall-qemu.sh is the BIOS one, and refuses a disk
# with a table): `xenprov installer build` into the TFTP root, a profile with label gpt
# whose image is a tiny root with GRUB for UEFI (lib/grub-root.sh ... efi: busybox, the
# host's kernel and initramfs, grub-install and GRUB's x86_64-efi modules), a system
# with a reserved address marked --install on, and QEMU with OVMF (its own virtio-net
# driver and PXE, no iPXE ROM; the disk first in the boot order, then the NIC: a blank
# disk fails at once, while OVMF's PXE takes minutes under TCG to give up on a server
# that offers no file; TCG unless scripts/qemu-accel finds a KVM that works) booting
# from `xenprov serve` in a network namespace: the blank disk, then DHCP with client
# architecture 7
# -> ipxe.efi (Debian's ipxe) over TFTP -> DHCP again as iPXE -> the iPXE script by MAC
# (the installer entry, with the token and initrd=initrd for the EFI stub) -> the
# installer's kernel and initramfs -> /init -> `xenprov installer run`, which finds
# /sys/firmware/efi:
#   1. a blank disk: the golden image streamed onto it, its GPT kept with an EFI system
#      partition added at the end of the disk (FAT32 written by xenprov), the edits, the
#      ESP mounted on /boot/efi and in fstab by UUID, chroot grub-install
#      --target=x86_64-efi --removable, the success event (netboot off), a reboot; the
#      disk checked offline: GPT, the ESP's type GUID, fsck.vfat clean with
#      EFI/BOOT/BOOTX64.EFI, a clean ext4 root, fstab's /boot/efi by the ESP's UUID;
#   2. the machine boots again (netboot off; no boot file sent): OVMF boots the disk's
#      EFI/BOOT/BOOTX64.EFI (its variables fresh: no boot entry was written), GRUB, the
#      kernel, and the installed system prints its host name and the address the
#      server leased it on the serial console.
# Passes in about 2.7 minutes under TCG at load 13.
#
# Environment: XENPROV, XP_TMP, XP_SRC, XP_AI_TIMEOUT (seconds per stage, default 300),
# XP_QEMU_ACCEL (and what scripts/qemu-accel reads). Needs root (network namespace,
# tap). Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${XP_AI_TIMEOUT:-300}
SERVER_IP=10.77.0.1
VM_IP=10.77.0.120
MAC=52:54:00:a1:b2:02
HTTP_PORT=8080
TAP=xpau0
BR=xpaubr0
NS=xp-au-$$
IPXE_EFI=/usr/lib/ipxe/ipxe.efi
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B

need_kernel
need_static_busybox
need sfdisk blkid e2fsck debugfs fsck.vfat python3
[ -r "$IPXE_EFI" ] || skip "no $IPXE_EFI (Debian package ipxe)"
QPXE_UEFI=1
. "$HERE/lib/qemu-pxe.sh" || exit 1
. "$HERE/lib/grub-root.sh" || exit 1

# ---- the inventory, the image and the installer ------------------------------------------
qpxe_autoinstall au 10.77.0.100-10.77.0.150 efi
cp "$IPXE_EFI" "$T/tftp/ipxe.efi" || fail "cannot copy $IPXE_EFI"
"$X" profile add inst --image "$T/root.tgz" --disk-size 160M --label gpt --network dhcp \
	--distro plain --extra "console=ttyS0 no_timer_check" >"$T/out" 2>&1 ||
	fail "profile add: $(cat "$T/out")"
# no_timer_check: under TCG on a loaded machine the IO-APIC timer check can panic
"$X" system add vm --mac "$MAC" --ip "$VM_IP" --profile inst --install on \
	--kernel-options "console=ttyS0 no_timer_check" >/dev/null || fail "system add vm"
truncate -s 256M "$T/disk.img" || fail "truncate"
ok

# ---- the network and the server -----------------------------------------------------------
qpxe_net
# Debian's iPXE waits for an IPv6 router advertisement before it boots (serve-pxeboot.sh)
ip netns exec "$NS" python3 "$HERE/lib/pxe-ra.py" "$BR" 3600 >"$T/ra.log" 2>&1 &
RAPID=$!
at_exit kill "$RAPID"
qpxe_serve
ok

# ---- 1. a blank disk: installed -------------------------------------------------------------
echo "1. a blank disk (OVMF, accel $ACCEL)"
qpxe_boot "$MAC" "$T/disk.img"
qpxe_until "$TIMEOUT" "the success event" qpxe_log "success done: inst installed on /dev/vda"
qpxe_done 60 "the success (a reboot)"
grep -q "tftp: .*ipxe.efi" "$T/serve.log" || fail "OVMF's PXE did not load ipxe.efi over TFTP"
grep -aq "installed: rebooting" "$T/serial.log" || fail "the installer did not reboot"
grep -qE "install: system 'vm' \(10\.77\.0\.120\): progress bootloader: grub-install --target=x86_64-efi" \
	"$T/serve.log" || fail "the installer did not install GRUB for UEFI"
! grep -q "install: refused" "$T/serve.log" || fail "the server refused an event: $(grep install: "$T/serve.log")"
"$X" system show vm >"$T/show" || fail "system show vm"
grep -qE '^install +off$' "$T/show" && grep -qE '^netboot +off$' "$T/show" ||
	fail "after the success: $(cat "$T/show")"
ok
sfdisk -d "$T/disk.img" >"$T/table" || fail "no partition table on the installed disk"
grep -q '^label: gpt' "$T/table" || fail "not gpt: $(cat "$T/table")"
# part N FIELD: start or size (sectors) of partition N
part() { sed -n "s/.*disk.img$1 : .*$2= *\([0-9]*\).*/\1/p" "$T/table"; }
esp=$(grep -n "type=$ESP_TYPE" "$T/table" | sed -n 's/.*disk.img\([0-9]*\) :.*/\1/p')
[ -n "$esp" ] || fail "no EFI system partition: $(cat "$T/table")"
dd if="$T/disk.img" of="$T/esp.fs" bs=512 skip="$(part "$esp" start)" count="$(part "$esp" size)" \
	status=none || fail "dd"
fsck.vfat -n -l "$T/esp.fs" >"$T/fsck" 2>&1 || fail "fsck.vfat: $(cat "$T/fsck")"
grep -qi "/EFI/BOOT/BOOTX64.EFI" "$T/fsck" || fail "no EFI/BOOT/BOOTX64.EFI on the ESP: $(cat "$T/fsck")"
esp_uuid=$(blkid -p -o value -s UUID "$T/esp.fs")
dd if="$T/disk.img" of="$T/root.fs" bs=512 skip="$(part 1 start)" count="$(part 1 size)" status=none ||
	fail "dd"
e2fsck -fn "$T/root.fs" >"$T/fsck" 2>&1 || fail "e2fsck: $(cat "$T/fsck")"
[ "$(debugfs -R 'cat /etc/hostname' "$T/root.fs" 2>/dev/null)" = vm ] || fail "the host name is not vm"
debugfs -R 'cat /etc/fstab' "$T/root.fs" 2>/dev/null | grep -qE "^UUID=$esp_uuid\s+/boot/efi\s+vfat\s" ||
	fail "fstab lacks the ESP $esp_uuid: $(debugfs -R 'cat /etc/fstab' "$T/root.fs" 2>/dev/null)"
debugfs -R 'ls /boot/grub/x86_64-efi' "$T/root.fs" 2>/dev/null | grep -q normal.mod ||
	fail "grub-install did not put GRUB's modules in /boot/grub/x86_64-efi"
ok

# ---- 2. its own disk: the installed system boots -------------------------------------------
echo "2. the installed system"
lines=$(wc -l <"$T/serve.log")
qpxe_boot "$MAC" "$T/disk.img"
qpxe_until "$TIMEOUT" "the installed system's marker" grep -aq "XP-INSTALLED" "$T/serial.log"
grep -aq "XP-INSTALLED host=vm addr=$VM_IP" "$T/serial.log" ||
	fail "the marker: $(grep -a XP-INSTALLED "$T/serial.log")"
! tail -n +$((lines + 1)) "$T/serve.log" | grep -q "tftp: .*ipxe.efi" ||
	fail "the server sent the installed machine a boot file"
qpxe_done 60 "the marker"
ok
pass
