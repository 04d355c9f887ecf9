#!/bin/bash
# serve-install-debian.sh - the proof that a real installer starts from xenprov's
# autoinstall: Debian 12's own network installer (the netboot tree of the Debian
# package debian-installer-12-netboot-amd64), brought in by `xenprov import`,
# PXE-booted by QEMU (iPXE ROM, virtio-net; TCG unless scripts/qemu-accel finds a KVM
# that works) from `xenprov serve` in a network namespace: DHCP -> the iPXE script over
# HTTP -> the installer's kernel and initrd over HTTP, with the argument the boot config
# adds for the system's template (auto=true priority=critical url=.../autoinstall/vm).
# The installer configures its network by DHCP (an address from the pool: the system
# has no reservation, so the server lets it have its file because that address is
# leased to its MAC) and fetches its preseed.
#
# Passes when, within XP_DI_TIMEOUT seconds (default 300; the installer under TCG
# takes minutes to get there), the server's log shows /autoinstall/vm served to the
# guest's leased address, and the guest's serial console shows the kernel command line
# carrying the URL. QEMU is then stopped by its PID: the install itself (which would
# need Debian's mirror) is not the point.
#
# Environment: XENPROV, XP_TMP, XP_SRC, XP_DI_TIMEOUT, XP_QEMU_ACCEL (and what
# scripts/qemu-accel reads). Needs root (network namespace, tap). Exit 0 pass, 1 fail,
# 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${XP_DI_TIMEOUT:-300}
DI=/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
SERVER_IP=10.77.0.1
MAC=52:54:00:de:b1:20
HTTP_PORT=8080
TAP=xpdi0
BR=xpdibr0
NS=xp-di-$$

[ -r "$DI/linux" ] && [ -r "$DI/initrd.gz" ] ||
	skip "no Debian installer netboot files in $DI (Debian package debian-installer-12-netboot-amd64)"
. "$HERE/lib/qemu-pxe.sh" || exit 1

# ---- the inventory: the installer as a distro, a system with the preseed --------------
export XENPROV_STATE_DIR=$T/state
HASH='$6$xenprovtest$ZC1ZbW8K6Z3m7mWvQ8Fq3yI0Xo0M7g2T8jvR8Q0G3kYwF9pHq2nLrX8c6K1s3yZ5v7Q2m4T6w8Y0a2C4e6G8i0'
KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk4Yd5cwq9YcyEPeE4sPTt+SL6iT3IpKSxh1SRYV3XZ op@lab'
for kv in "server $SERVER_IP" "http-port $HTTP_PORT" "tftp-root $T/tftp" \
	"pool.di.range 10.77.0.100-10.77.0.150" "pool.di.netmask 255.255.255.0" \
	"pool.di.router $SERVER_IP" "pool.di.dns $SERVER_IP" "pool.di.domain di.test"; do
	"$X" settings set $kv >/dev/null || fail "settings set $kv"
done
# no_timer_check: under TCG on a loaded machine the IO-APIC timer check can panic
# the installer comes in as the Cobbler workflow brings it: `xenprov import` of the
# package's netboot tree (recognised as Debian 12, its OS family debian: the preseed
# argument follows from it, no --os given)
XENPROV_DATA_DIR=$XP_SRC/data "$X" import --path "${DI%/debian-installer/amd64}" \
	--name debian12 >"$T/import.out" 2>&1 ||
	fail "import of the netboot tree: $(cat "$T/import.out")"
"$X" distro show debian12-x86_64 --json >"$T/distro.json" || fail "import made no distro debian12-x86_64"
json_ok "$T/distro.json" 'j["os"] in (None, "debian") and j["kernel_sha256"]'
"$X" distro edit debian12-x86_64 --kernel-options "console=ttyS0 no_timer_check" >/dev/null ||
	fail "distro edit"
"$X" profile add installer --distro debian12-x86_64 --autoinstall debian-preseed \
	--root-password-hash "$HASH" --ssh-key "$KEY" >/dev/null || fail "profile add"
"$X" system add vm --mac "$MAC" --profile installer >/dev/null || fail "system add vm"
URL=http://$SERVER_IP:$HTTP_PORT/autoinstall/vm

# ---- the network and the server -----------------------------------------------------------
qpxe_net
qpxe_serve
ok
# the boot config the installer gets carries its argument (the iPXE script, by MAC)
ip netns exec "$NS" timeout 10 bash -c "exec 3<>/dev/tcp/$SERVER_IP/$HTTP_PORT; printf 'GET /ipxe/01-${MAC//:/-} HTTP/1.0\r\n\r\n' >&3; cat <&3" >"$T/script" ||
	fail "cannot fetch the iPXE script"
grep -qF "auto=true priority=critical url=$URL" "$T/script" || fail "the iPXE script lacks the URL: $(cat "$T/script")"
ok

# ---- the boot ----------------------------------------------------------------------------
echo "booting Debian's installer (accel $ACCEL, up to ${TIMEOUT}s for its preseed request)"
qpxe_boot "$MAC"
served() { grep -qE "autoinstall: /autoinstall/vm served to 10\.77\.0\.1[0-9][0-9] \(system 'vm', template debian-preseed\)" "$T/serve.log"; }
qpxe_until "$TIMEOUT" "the preseed request" served
ok
kill -KILL "$QPID" 2>/dev/null
wait "$QPID" 2>/dev/null
QPID=
# the installer's kernel command line, as the kernel printed it on the serial console
grep -a "Kernel command line:" "$T/serial.log" | grep -qF "auto=true priority=critical url=$URL" ||
	fail "the kernel command line lacks the URL: $(grep -a 'Kernel command line' "$T/serial.log")"
ok
grep -a "Kernel command line:" "$T/serial.log" | grep -qF "hostname=vm" || fail "no hostname=vm"
ok
# what it got was its preseed, to its leased address only: nothing refused, no error
! grep -q "autoinstall: refused\|autoinstall: cannot render" "$T/serve.log" ||
	fail "the server refused or failed a request: $(grep autoinstall "$T/serve.log")"
ok
pass
