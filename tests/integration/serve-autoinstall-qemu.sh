#!/bin/bash
# serve-autoinstall-qemu.sh - the autoinstall installer boots and reports: `xenprov
# installer build` into the TFTP root, a system marked --install on, and QEMU (iPXE
# ROM, virtio-net, TCG unless scripts/qemu-accel finds a KVM that works) PXE-booting
# from `xenprov serve` in a network namespace: DHCP -> the iPXE script by MAC (the
# installer entry, with the token: the guest asks from its leased address) -> the
# installer's kernel and initramfs over HTTP -> /init loads the modules, brings up the
# NIC with the system's MAC, runs DHCP with its own udhcpc script, fetches the system's
# record and posts "started" with the token. Passes when the server's log shows that
# event from the guest's leased address within XP_AI_TIMEOUT seconds (default 150; about
# a minute under TCG on a quiet machine), then the installer's "failure disk" (it
# cannot write disks yet) and the mark still on. QEMU is then stopped by its PID.
#
# Environment: XENPROV, XP_TMP, XP_SRC, XP_AI_TIMEOUT, XP_QEMU_ACCEL (and what
# scripts/qemu-accel reads). Needs root (network namespace, tap). Exit 0 pass, 1 fail,
# 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${XP_AI_TIMEOUT:-150}
SERVER_IP=10.78.0.1
MAC=52:54:00:a1:b2:01
HTTP_PORT=8080
TAP=xpai0
BR=xpaibr0
NS=xp-ai-$$

ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no /boot/vmlinuz-* to build the installer from"
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || skip "no busybox-static"
. "$HERE/lib/qemu-pxe.sh" || exit 1

# ---- the inventory and the installer -------------------------------------------------
export XENPROV_STATE_DIR=$T/state
for kv in "server $SERVER_IP" "http-port $HTTP_PORT" "tftp-root $T/tftp" \
	"pool.ai.range 10.78.0.100-10.78.0.150" "pool.ai.netmask 255.255.255.0" \
	"pool.ai.router $SERVER_IP" "pool.ai.dns $SERVER_IP"; do
	"$X" settings set $kv >/dev/null || fail "settings set $kv"
done
"$X" installer build -o "$T/tftp/installer" >"$T/build.out" 2>&1 ||
	fail "installer build: $(cat "$T/build.out")"
echo kernel >"$T/vmlinuz"
"$X" distro add plain --kernel "$T/vmlinuz" >/dev/null || fail "distro add"
# no_timer_check: under TCG on a loaded machine the IO-APIC timer check can panic
"$X" system add vm --mac "$MAC" --distro plain --install on \
	--kernel-options "console=ttyS0 no_timer_check" >/dev/null || fail "system add vm"
ok

# ---- the network and the server -----------------------------------------------------------
qpxe_net
qpxe_serve
ok
# ---- the boot ----------------------------------------------------------------------------
echo "booting the installer (accel $ACCEL, up to ${TIMEOUT}s for its started event)"
qpxe_boot "$MAC"
started() { grep -qE "install: system 'vm' \(10\.78\.0\.1[0-9][0-9]\): progress started" "$T/serve.log"; }
qpxe_until "$TIMEOUT" "the started event" started
ok
wait_until 30 grep -qF "install: system 'vm'" "$T/serve.log" &&
	wait_until 30 grep -qF "failure disk: this installer cannot partition or write disks yet" "$T/serve.log" ||
	fail "no failure event for the disk step"
ok
kill -KILL "$QPID" 2>/dev/null
wait "$QPID" 2>/dev/null
QPID=
grep -a "Kernel command line:" "$T/serial.log" | grep -qF "xenprov.system=vm xenprov.mac=$MAC xenprov.token=" ||
	fail "the kernel command line lacks the installer's arguments: $(grep -a 'Kernel command line' "$T/serial.log")"
ok
"$X" system show vm >"$T/show" || fail "system show vm"
grep -qE '^install +on$' "$T/show" && grep -qE 'progress +started' "$T/show" ||
	fail "system show: $(cat "$T/show")"
ok
! grep -q "install: refused" "$T/serve.log" || fail "the server refused an event: $(grep install: "$T/serve.log")"
ok
pass
