#!/bin/bash
# serve-autoinstall-qemu.sh - a machine installs itself from the network, end to end
# (issue 17, BIOS): `xenprov installer build` into the TFTP root, a profile whose image
# is a tiny root with GRUB (lib/grub-root.sh: busybox, the host's kernel and initramfs,
# grub-install; a Debian systemd boot is too slow under TCG for this test), a system
# with a reserved address marked --install on, and QEMU (iPXE ROM, virtio-net, a virtio
# disk; TCG unless scripts/qemu-accel finds a KVM that works) PXE-booting from `xenprov
# serve` in a network namespace: DHCP -> the iPXE script by MAC (the installer entry,
# with the token) -> the installer's kernel and initramfs -> /init: the NIC with the
# system's MAC, DHCP, the record, "started" -> `xenprov installer run`.
#   1. a disk that already holds a partition table: refused without wipe (the failure
#      event with the reason, the mark kept, the machine powered off, the disk as it was);
#   2. a blank disk: the golden image streamed onto it, the per-guest edits, GRUB from
#      the image (chroot grub-install), the success event (netboot off, the mark
#      cleared), a reboot; the disk checked offline (msdos table, a clean ext4 with a
#      UUID of its own, the host name and grub.cfg written);
#   3. the machine boots again: the server offers no boot file (netboot off), the BIOS
#      boots the disk, GRUB, the kernel, and the installed system prints its host name
#      and the address the server leased it on the serial console.
# Passes in about 3 minutes under TCG on a quiet machine.
#
# Environment: XENPROV, XP_TMP, XP_SRC, XP_AI_TIMEOUT (seconds per stage, default 240),
# XP_QEMU_ACCEL (and what scripts/qemu-accel reads). Needs root (network namespace,
# tap). Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${XP_AI_TIMEOUT:-240}
SERVER_IP=10.78.0.1
VM_IP=10.78.0.120
MAC=52:54:00:a1:b2:01
HTTP_PORT=8080
TAP=xpai0
BR=xpaibr0
NS=xp-ai-$$

need_kernel
need_static_busybox
need sfdisk blkid e2fsck debugfs
. "$HERE/lib/qemu-pxe.sh" || exit 1
. "$HERE/lib/grub-root.sh" || exit 1

# ---- the inventory, the image and the installer ------------------------------------------
qpxe_autoinstall ai 10.78.0.100-10.78.0.150
# the image is published with the token only: the installer fetches it with its install
# token (the install grant), as a machine of a site that publishes nothing openly
"$X" profile add inst --image "$T/root.tgz" --disk-size 160M --network dhcp --distro plain \
	--extra "console=ttyS0 no_timer_check" >"$T/out" 2>&1 || fail "profile add: $(cat "$T/out")"
# no_timer_check: under TCG on a loaded machine the IO-APIC timer check can panic
"$X" system add vm --mac "$MAC" --ip "$VM_IP" --profile inst --install on \
	--kernel-options "console=ttyS0 no_timer_check" >/dev/null || fail "system add vm"
ok
truncate -s 256M "$T/used.img" && echo 'label: dos' | sfdisk -q "$T/used.img" || fail "sfdisk"
sha_used=$(sha256sum <"$T/used.img")
truncate -s 256M "$T/disk.img" || fail "truncate"

# ---- the network and the server -----------------------------------------------------------
qpxe_net
qpxe_serve
ok

# ---- 1. a disk with a partition table, no wipe: refused -------------------------------------
echo "1. a disk with a partition table (accel $ACCEL)"
qpxe_boot "$MAC" "$T/used.img"
qpxe_until "$TIMEOUT" "the refusal" qpxe_log "install: system 'vm'"
qpxe_until 60 "the failure event" qpxe_log "failure disk: /dev/vda already holds a partition table"
qpxe_done 60 "the refusal"
grep -qE "install: system 'vm' \(10\.78\.0\.120\): progress started" "$T/serve.log" ||
	fail "no started event from the reserved address"
[ "$(sha256sum <"$T/used.img")" = "$sha_used" ] || fail "the refused disk was written"
"$X" system show vm >"$T/show" || fail "system show vm"
grep -qE '^install +on$' "$T/show" || fail "the mark is gone after a failure: $(cat "$T/show")"
ok

# ---- 2. a blank disk: installed -------------------------------------------------------------
echo "2. a blank disk"
: >"$T/serve.log.1"
qpxe_boot "$MAC" "$T/disk.img"
qpxe_until "$TIMEOUT" "the success event" qpxe_log "success done: inst installed on /dev/vda"
qpxe_done 60 "the success (a reboot)"
grep -aq "installed: rebooting" "$T/serial.log" || fail "the installer did not reboot"
for s in image customize bootloader; do
	grep -qE "install: system 'vm' \(10\.78\.0\.120\): progress $s" "$T/serve.log" ||
		fail "no progress event $s"
done
! grep -q "install: refused" "$T/serve.log" || fail "the server refused an event: $(grep install: "$T/serve.log")"
"$X" system show vm >"$T/show" || fail "system show vm"
grep -qE '^install +off$' "$T/show" && grep -qE '^netboot +off$' "$T/show" ||
	fail "after the success: $(cat "$T/show")"
ok
sfdisk -J "$T/disk.img" >"$T/table" || fail "no partition table on the installed disk"
grep -q '"label":"dos"\|"label": "dos"' "$T/table" || fail "not msdos: $(cat "$T/table")"
start=$(sfdisk -d "$T/disk.img" | sed -n 's/.*start= *\([0-9]*\).*/\1/p' | head -n 1)
size=$(sfdisk -d "$T/disk.img" | sed -n 's/.*size= *\([0-9]*\).*/\1/p' | head -n 1)
dd if="$T/disk.img" of="$T/root.fs" bs=512 skip="$start" count="$size" status=none ||
	fail "dd"
e2fsck -fn "$T/root.fs" >"$T/fsck" 2>&1 || fail "e2fsck: $(cat "$T/fsck")"
[ "$(debugfs -R 'cat /etc/hostname' "$T/root.fs" 2>/dev/null)" = vm ] || fail "the host name is not vm"
uuid=$(blkid -p -o value -s UUID "$T/root.fs")
debugfs -R 'cat /boot/grub/grub.cfg' "$T/root.fs" 2>/dev/null | grep -q "root=UUID=$uuid" ||
	fail "grub.cfg does not boot the root by its UUID $uuid"
debugfs -R 'ls /boot/grub/i386-pc' "$T/root.fs" 2>/dev/null | grep -q normal.mod ||
	fail "grub-install did not put GRUB's modules in /boot/grub/i386-pc"
dd if="$T/disk.img" bs=512 count=1 status=none | grep -aq GRUB || fail "no GRUB in the MBR"
ok

# ---- 3. its own disk: the installed system boots -------------------------------------------
echo "3. the installed system"
qpxe_boot "$MAC" "$T/disk.img"
qpxe_until "$TIMEOUT" "the installed system's marker" grep -aq "XP-INSTALLED" "$T/serial.log"
grep -aq "Nothing to boot" "$T/serial.log" || fail "the server offered the installed machine a boot file"
grep -aq "XP-INSTALLED host=vm addr=$VM_IP" "$T/serial.log" ||
	fail "the marker: $(grep -a XP-INSTALLED "$T/serial.log")"
qpxe_done 60 "the marker"
ok
pass
