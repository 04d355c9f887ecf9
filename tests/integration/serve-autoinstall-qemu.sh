#!/bin/bash
# serve-autoinstall-qemu.sh - machines install themselves from the network, end to end
# (issue 17, BIOS): the installer built by `xenprov serve` itself on first use (none in
# the TFTP root: the first HTTP request for it waits while it is built into
# STATE/installer/KEY, then gets it), a profile whose image
# is a tiny root with GRUB (lib/grub-root.sh: busybox, the host's kernel and initramfs,
# grub-install; a Debian systemd boot is too slow under TCG for this test), two systems
# with reserved addresses marked --install on, and QEMU machines (iPXE ROM, virtio-net,
# a virtio disk; TCG unless scripts/qemu-accel finds a KVM that works) PXE-booting from
# one `xenprov serve` in a network namespace, each on its own tap in one bridge: DHCP ->
# the iPXE script by MAC (the installer entry, with the token) -> the installer's kernel
# and initramfs -> /init: the NIC with the system's MAC, DHCP, the record, "started" ->
# `xenprov installer run`. Two machines at a time, three stages (lean under TCG):
#   1. at once: vm's disk already holds a partition table: refused without wipe (the
#      failure event with the reason, the mark kept, the machine powered off, the disk
#      as it was); vm2, a blank disk, is stopped (its QEMU killed by PID) half way
#      through the image write: no end reported, the mark kept, no table left on the
#      disk (the installer writes the image's table last);
#   2. at once: vm on a blank disk, and vm2 booting again on its half-written disk: its
#      config, rendered while the killed attempt still runs, gives its new installer
#      the next attempt's token; the first event with it, from vm2's own address, ends
#      the abandoned attempt (the failure event "abandoned", logged), and the killed
#      one's token is refused from then on (probed from a namespace holding that
#      address while vm2's QEMU is stopped with SIGSTOP, between its kernel's start and
#      its DHCP: the new token taken, then the old one refused); both install (the
#      golden image streamed, the per-guest edits, GRUB from the image, the success
#      event: netboot off, the mark cleared, a reboot); both disks checked offline (msdos, a clean ext4 with a UUID
#      of its own, each its own host name, grub.cfg by UUID, GRUB in the MBR), the
#      events from each reserved address;
#   3. vm boots again: the server offers no boot file (netboot off) and logs that answer
#      with the system's name, the BIOS boots the disk, GRUB, the kernel, and the
#      installed system prints its host name and the address the server leased it on
#      the serial console.
# Passes in about 4 minutes under TCG at load.
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
VM2_IP=10.78.0.121
MAC2=52:54:00:a1:b2:02
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
export XENPROV_STATE_DIR=$T/state
for kv in "server $SERVER_IP" "http-port $HTTP_PORT" "tftp-root $T/tftp" \
	"pool.ai.range 10.78.0.100-10.78.0.150" "pool.ai.netmask 255.255.255.0" \
	"pool.ai.router $SERVER_IP" "pool.ai.dns $SERVER_IP"; do
	"$X" settings set $kv >/dev/null || fail "settings set $kv"
done
grub_root "$T/root" "$kernel"
tar -C "$T/root" --numeric-owner -czf "$T/root.tgz" . || fail "tar"
echo kernel >"$T/vmlinuz"
"$X" distro add plain --kernel "$T/vmlinuz" >/dev/null || fail "distro add"
# the image is published with the token only: the installer fetches it with its install
# token (the install grant), as a machine of a site that publishes nothing openly
"$X" profile add inst --image "$T/root.tgz" --disk-size 160M --network dhcp --distro plain \
	--extra "console=ttyS0 no_timer_check" >"$T/out" 2>&1 || fail "profile add: $(cat "$T/out")"
# no_timer_check: under TCG on a loaded machine the IO-APIC timer check can panic
"$X" system add vm --mac "$MAC" --ip "$VM_IP" --profile inst --install on \
	--kernel-options "console=ttyS0 no_timer_check" >/dev/null || fail "system add vm"
"$X" system add vm2 --mac "$MAC2" --ip "$VM2_IP" --profile inst --install on \
	--kernel-options "console=ttyS0 no_timer_check" >/dev/null || fail "system add vm2"
ok
truncate -s 256M "$T/used.img" && echo 'label: dos' | sfdisk -q "$T/used.img" || fail "sfdisk"
sha_used=$(sha256sum <"$T/used.img")
truncate -s 256M "$T/disk.img" && truncate -s 256M "$T/disk2.img" || fail "truncate"

# ---- the network and the server -----------------------------------------------------------
qpxe_net
qpxe_serve
# no installer in the TFTP root: the server builds its own (on its builder thread, into
# STATE/installer/KEY) as soon as it starts, since systems are marked, before any
# request: a PXE machine's TFTP request, which cannot wait for a build, finds it built
[ ! -e "$T/tftp/installer" ] || fail "an installer in the TFTP root"
start=$SECONDS
until grep -qF "installer: built for kernel" "$T/serve.log"; do
	[ $((SECONDS - start)) -lt "$TIMEOUT" ] || fail "no build without a request: $(grep installer: "$T/serve.log")"
	sleep 0.2
done
echo "installer built $((SECONDS - start))s after the server started, with no request"
ls "$T"/state/installer/*/initrd >/dev/null 2>&1 || fail "no installer in STATE/installer"
! grep -qF "waits for the installer's build" "$T/serve.log" || fail "a request waited before any was made"
# removed behind the server's back: the next request has it built again and waits for it
rm -rf "$T"/state/installer/*
ip netns exec "$NS" curl -sf --max-time "$TIMEOUT" -o "$T/inst-kernel" \
	"http://$SERVER_IP:$HTTP_PORT/installer/kernel" || fail "installer/kernel over HTTP"
cmp -s "$T/inst-kernel" "$kernel" || fail "installer/kernel is not the host's kernel $kernel"
grep -qF "waits for the installer's build" "$T/serve.log" || fail "the request did not wait for the build"
[ "$(grep -cF "installer: built for kernel" "$T/serve.log")" = 2 ] ||
	fail "not built again: $(grep installer: "$T/serve.log")"
ls "$T"/state/installer/*/initrd >/dev/null 2>&1 || fail "no installer in STATE/installer"
ok

# The machines: vm_boot NAME MAC DISK boots QEMU NAME (vm: qemu-pxe.sh's tap and QPID;
# others: a tap of their own in the bridge, their PID in PID_NAME), serial in
# $T/serial-NAME.log. A reboot or power-off ends QEMU (-no-reboot).
declare -A VPID
vm_cleanup() {
	local p
	for p in "${VPID[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[ -n "${CNS:-}" ] && ip netns del "$CNS" 2>/dev/null
}
at_exit vm_cleanup
fail_context() {
	local f
	for f in "$T"/serial-*.log; do
		echo "---- $f (last 20 lines):"
		tail -n 20 "$f" 2>/dev/null | sed 's/^/    /'
	done
	echo "---- server log (last 40 lines):"
	tail -n 40 "$T/serve.log" 2>/dev/null | sed 's/^/    /'
}
vm_boot() {
	local name=$1 mac=$2 disk=$3 tap=xpai-$1
	if [ "$name" = vm ]; then
		qpxe_boot "$mac" "$disk"
		VPID[vm]=$QPID
		ln -sf serial.log "$T/serial-vm.log" # qpxe_boot's, under this test's name
		return
	fi
	ip -n "$NS" link show "$tap" >/dev/null 2>&1 || {
		ip -n "$NS" tuntap add dev "$tap" mode tap && ip -n "$NS" link set "$tap" master "$BR" &&
			ip -n "$NS" link set "$tap" up
	} || fail "tap $tap"
	: >"$T/serial-$name.log"
	ip netns exec "$NS" qemu-system-x86_64 -machine "accel=$ACCEL,graphics=off" -m 1024 -smp 1 \
		-display none -no-reboot -drive "file=$disk,format=raw,if=virtio" -boot order=nc \
		-serial "file:$T/serial-$name.log" -monitor none \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$mac" </dev/null >"$T/qemu-$name.log" 2>&1 &
	VPID[$name]=$!
}
# vm_until NAME SECONDS WHAT CHECK...: qemu-pxe.sh's qpxe_until for QEMU NAME
vm_until() {
	local saved=$QPID
	QPID=${VPID[$1]}
	shift
	qpxe_until "$@"
	QPID=$saved
}
# vm_done NAME SECONDS WHAT: qemu-pxe.sh's qpxe_done for QEMU NAME
vm_done() {
	local saved=$QPID
	QPID=${VPID[$1]}
	qpxe_done "$2" "$3"
	unset "VPID[$1]"
	[ "$1" = vm ] || QPID=$saved
}
ev() { grep -qE "install: system '$1' \(${2//./\\.}\): $3" "$T/serve.log"; }
token_of() { grep -ao 'xenprov\.token=[0-9a-f]\{64\}' "$1" | head -n 1 | cut -d= -f2; }
shows() {
	"$X" system show "$1" >"$T/show" || fail "system show $1"
	grep -qE "^$2 +$3\$" "$T/show" || fail "$1: $2 is not $3: $(cat "$T/show")"
}

# ---- 1. vm: a disk with a partition table, refused; vm2: killed half way --------------------
echo "1. vm on a disk with a partition table, vm2 stopped half way (accel $ACCEL)"
vm_boot vm "$MAC" "$T/used.img"
vm_boot vm2 "$MAC2" "$T/disk2.img"
# vm2: the image step begun and some megabytes on its disk, then its QEMU killed. Both
# waits poll every 0.1 s, not qpxe_until's 2 s: on a quiet machine the guest writes the
# whole image (and its table, written last) in about 2 s
QPXE_POLL=0.1 vm_until vm2 "$TIMEOUT" "the image step" ev vm2 "$VM2_IP" "progress image"
blocks() { [ "$(du -k "$T/disk2.img" | cut -f1)" -gt 8192 ]; }
QPXE_POLL=0.1 vm_until vm2 60 "8 MiB of the image written" blocks
! ev vm2 "$VM2_IP" "progress customize" || fail "vm2's image was written whole before the kill"
kill -KILL "${VPID[vm2]}" && wait "${VPID[vm2]}" 2>/dev/null
unset "VPID[vm2]"
echo "vm2 killed with $(du -k "$T/disk2.img" | cut -f1) KiB written"
old_token=$(token_of "$T/serial-vm2.log")
[ -n "$old_token" ] || fail "no token on vm2's kernel command line"
shows vm2 install on
! ev vm2 "$VM2_IP" "(success|failure)" || fail "vm2 reported an end: $(grep "'vm2'" "$T/serve.log")"
# the table is written last: the half-written disk holds none
[ "$(dd if="$T/disk2.img" bs=1 skip=510 count=2 status=none | od -An -tx1 | tr -d ' ')" != 55aa ] ||
	fail "the killed install left a partition table"
# vm: refused
vm_until vm "$TIMEOUT" "the failure event" qpxe_log "failure disk: /dev/vda already holds a partition table"
vm_done vm 60 "the refusal"
ev vm "$VM_IP" "progress started" || fail "no started event from the reserved address"
[ "$(sha256sum <"$T/used.img")" = "$sha_used" ] || fail "the refused disk was written"
shows vm install on
ok

# ---- 2. both at once: vm on a blank disk, vm2 again on its half-written one ------------------
echo "2. vm on a blank disk and vm2 again, at once"
vm_boot vm "$MAC" "$T/disk.img"
vm_boot vm2 "$MAC2" "$T/disk2.img"
# vm2's new installer: its kernel started (its command line printed), no DHCP yet. The
# machine is held (SIGSTOP) while a namespace with its address posts events: the new
# attempt's token taken (it ends the killed attempt), then the killed attempt's token
# refused (the same request otherwise)
has_token() { [ -n "$(token_of "$T/serial-vm2.log")" ]; }
vm_until vm2 "$TIMEOUT" "the new installer's kernel" has_token
kill -STOP "${VPID[vm2]}" || fail "SIGSTOP"
new_token=$(token_of "$T/serial-vm2.log")
[ "$new_token" != "$old_token" ] || fail "vm2's next attempt has the killed one's token"
# its installer has no address yet (the first attempt's "started" only), or the probe's
# namespace would hold it too
[ "$(grep -c "install: system 'vm2' ([0-9.]*): progress started" "$T/serve.log")" = 1 ] ||
	fail "vm2's new installer started before the probe"
CNS=xp-aic-$$
ip netns add "$CNS" && ip -n "$NS" link add xpaic0 type veth peer name eth0 netns "$CNS" &&
	ip -n "$NS" link set xpaic0 master "$BR" && ip -n "$NS" link set xpaic0 up &&
	ip -n "$CNS" addr add "$VM2_IP/24" dev eth0 && ip -n "$CNS" link set eth0 up ||
	fail "the probing namespace"
post() {
	ip netns exec "$CNS" curl -s --max-time 10 -o /dev/null -w '%{http_code}' \
		-H 'Content-Type: application/json' \
		-d "{\"token\":\"$1\",\"kind\":\"progress\",\"step\":\"probe\",\"message\":\"$2\"}" \
		"http://$SERVER_IP:$HTTP_PORT/api/systems/vm2/events"
}
reach() { ip netns exec "$CNS" curl -s -o /dev/null --max-time 2 "http://$SERVER_IP:$HTTP_PORT/"; }
wait_until 10 reach || fail "the probing namespace cannot reach the server"
# the PXE boot and the config rendered ended nothing: the abandoned attempt ends with
# the new token's first event
! grep -q "'vm2'.*booted again" "$T/serve.log" || fail "vm2's attempt ended before its new token was used"
[ "$(post "$new_token" new)" = 200 ] || fail "the new attempt's token was refused"
qpxe_log "install: system 'vm2' ($VM2_IP) booted again before its install ended" ||
	fail "the abandoned attempt's end is not logged"
[ "$(post "$old_token" old)" = 403 ] || fail "the killed attempt's token was taken"
ip netns del "$CNS" && CNS=
ip -n "$NS" neigh flush to "$VM2_IP" 2>/dev/null
kill -CONT "${VPID[vm2]}" || fail "SIGCONT"
ok
vm_until vm "$TIMEOUT" "vm's success event" ev vm "$VM_IP" "success done: inst installed on /dev/vda"
vm_until vm2 "$TIMEOUT" "vm2's success event" ev vm2 "$VM2_IP" "success done: inst installed on /dev/vda"
vm_done vm 60 "the success (a reboot)"
vm_done vm2 60 "the success (a reboot)"
for m in vm vm2; do
	grep -aq "installed: rebooting" "$T/serial-$m.log" || fail "$m's installer did not reboot"
	shows $m install off
	shows $m netboot off
done
ip=$VM_IP
for m in vm vm2; do
	for s in image customize bootloader; do
		ev $m "$ip" "progress $s" || fail "no progress event $s from $m"
	done
	ip=$VM2_IP
done
# one refusal: the probe's (the installers' own events all taken)
[ "$(grep -c 'install: refused' "$T/serve.log")" = 1 ] ||
	fail "the server refused events: $(grep 'install: refused' "$T/serve.log")"
"$X" system show vm2 >"$T/show" || fail "system show vm2"
grep -qE 'failure +abandoned +attempt 1 ended' "$T/show" ||
	fail "vm2's abandoned attempt is not in its record: $(cat "$T/show")"
ok
# each disk offline: its own host name, filesystem UUID and grub.cfg
declare -A uuid
for m in vm vm2; do
	img=$T/disk.img
	[ $m = vm ] || img=$T/disk2.img
	sfdisk -J "$img" >"$T/table" || fail "no partition table on $m's disk"
	grep -q '"label":"dos"\|"label": "dos"' "$T/table" || fail "not msdos: $(cat "$T/table")"
	start=$(sfdisk -d "$img" | sed -n 's/.*start= *\([0-9]*\).*/\1/p' | head -n 1)
	size=$(sfdisk -d "$img" | sed -n 's/.*size= *\([0-9]*\).*/\1/p' | head -n 1)
	# the whole root partition: the installer grew it to the disk's end
	dd if="$img" of="$T/root.fs" bs=512 skip="$start" count="$size" status=none ||
		fail "dd"
	e2fsck -fn "$T/root.fs" >"$T/fsck" 2>&1 || fail "e2fsck $m: $(cat "$T/fsck")"
	[ "$(debugfs -R 'cat /etc/hostname' "$T/root.fs" 2>/dev/null)" = $m ] || fail "the host name is not $m"
	uuid[$m]=$(blkid -p -o value -s UUID "$T/root.fs")
	debugfs -R 'cat /boot/grub/grub.cfg' "$T/root.fs" 2>/dev/null | grep -q "root=UUID=${uuid[$m]}" ||
		fail "$m's grub.cfg does not boot the root by its UUID ${uuid[$m]}"
	debugfs -R 'ls /boot/grub/i386-pc' "$T/root.fs" 2>/dev/null | grep -q normal.mod ||
		fail "grub-install did not put GRUB's modules in $m's /boot/grub/i386-pc"
	dd if="$img" bs=512 count=1 status=none | grep -aq GRUB || fail "no GRUB in $m's MBR"
done
[ -n "${uuid[vm]}" ] && [ "${uuid[vm]}" != "${uuid[vm2]}" ] || fail "the two roots share UUID ${uuid[vm]}"
ok

# ---- 3. its own disk: the installed system boots -------------------------------------------
echo "3. the installed system"
vm_boot vm "$MAC" "$T/disk.img"
vm_until vm "$TIMEOUT" "the installed system's marker" grep -aq "XP-INSTALLED" "$T/serial.log"
grep -aq "Nothing to boot" "$T/serial.log" || fail "the server offered the installed machine a boot file"
grep -aq "XP-INSTALLED host=vm addr=$VM_IP" "$T/serial.log" ||
	fail "the marker: $(grep -a XP-INSTALLED "$T/serial.log")"
qpxe_log "dhcp: system 'vm' ($MAC): netboot off, answered no boot file: boots locally" ||
	fail "the server's log lacks the local-boot answer"
vm_done vm 60 "the marker"
ok
pass
