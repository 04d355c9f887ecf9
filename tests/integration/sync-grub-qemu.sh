#!/bin/bash
# sync-grub-qemu.sh - a TFTP root written by `xenprov sync`, served by a real DHCP and
# TFTP server (dnsmasq, started here with a config of this test's own: `xenprov serve`
# is not involved), network-booted by real GRUB under QEMU: GRUB's own netboot image
# (grub-mknetdir, i386-pc: the BIOS path, QEMU's iPXE ROM loading core.0 as a PXE
# program) reads sync's grub/grub.cfg, which takes the last byte of the MAC GRUB booted
# from (`regexp` on $net_default_mac) and sources grub/xenprov-mac-XX.cfg, where each
# system's entries stand under a test of its MAC. Proven per boot by the kernel's own
# "Command line:" on the serial console: the host's kernel as the distro's, started
# with the arguments of that machine's system and of no other.
#   alpha 52:54:00:c5:00:01 and beta 52:54:00:c5:01:01 share the file of byte 01: each
#   boots its own entry (hostname=alpha / hostname=beta);
#   gamma 52:54:00:c5:00:02 is in the file of byte 02, incrementally re-synced after a
#   change of its kernel options: it boots the new options;
#   a machine the inventory does not know gets the menu (set by grub.cfg after
#   no file claimed it), whose default is the local disk: GRUB exits and, with
#   nothing else to boot, QEMU's firmware says so.
# Run by CTest with XENPROV, XP_SRC and XP_TMP; XP_QEMU_ACCEL_CACHE from the fixture.
# Exit 0 pass, 1 fail, 77 skip.
HERE=$(dirname "$0")
. "$HERE/lib/common.sh" || exit 1
TIMEOUT=${XP_GRUB_TIMEOUT:-240}
SERVER_IP=10.76.0.1
TAP=xpsg0
BR=xpsgbr0
NS=xp-sg-$$
need_kernel
need dnsmasq grub-mknetdir
[ -r /usr/lib/grub/i386-pc/regexp.mod ] || skip "no GRUB i386-pc modules (Debian package grub-pc-bin)"
. "$HERE/lib/qemu-pxe.sh" || exit 1

DPID=
dnsmasq_stop() { [ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null; DPID=; }
at_exit dnsmasq_stop
fail_context() {
	echo "---- serial console (last 30 lines):"
	tail -n 30 "$T/serial.log" 2>/dev/null | sed 's/^/    /'
	echo "---- qemu:"
	sed 's/^/    /' "$T/serial.log.qemu" 2>/dev/null
	echo "---- dnsmasq (last 30 lines):"
	tail -n 30 "$T/dnsmasq.log" 2>/dev/null | sed 's/^/    /'
}

# ---- the inventory and the sync -------------------------------------------------------------
export XENPROV_STATE_DIR=$T/state
"$X" settings set server "$SERVER_IP" >/dev/null || fail "settings set server"
cp "$kernel" "$T/vmlinuz" || fail "cannot copy $kernel"
# panic=1 with QEMU's -no-reboot: the kernel, finding no root, ends QEMU
"$X" distro add host --kernel "$T/vmlinuz" --kernel-options "console=ttyS0 panic=1 no_timer_check" \
	>/dev/null || fail "distro add"
"$X" system add alpha --mac 52:54:00:c5:00:01 --distro host >/dev/null || fail "system add alpha"
"$X" system add beta --mac 52:54:00:c5:01:01 --distro host --kernel-options "xp.who=beta" \
	>/dev/null || fail "system add beta"
"$X" system add gamma --mac 52:54:00:c5:00:02 --distro host >/dev/null || fail "system add gamma"
mkdir -p "$T/tftp" && chmod 755 "$T/tftp"
expect_rc 0 sync --tftp-root "$T/tftp"
out_has "tftp $T/tftp: 266 written, 0 removed, 0 unchanged (3 systems)"
"$X" system edit gamma --kernel-options "xp.who=gamma-v2" >/dev/null || fail "system edit gamma"
expect_rc 0 sync --tftp-root "$T/tftp"
out_has "tftp $T/tftp: 3 written, 0 removed, 0 unchanged (1 system changed)"
[ ! -e "$T/tftp/grub/grub.cfg-01-52-54-00-c5-00-01" ] || fail "a per-MAC GRUB file was written"
grep -q 'hostname=gamma' "$T/tftp/grub/xenprov-mac-02.cfg" || fail "gamma is not in the file of 02"
# GRUB's own netboot image and modules into the same root (grub/i386-pc/core.0: its prefix
# is the TFTP root's grub/, where sync's grub.cfg is)
grub-mknetdir --net-directory="$T/tftp" --subdir=grub -d /usr/lib/grub/i386-pc >"$T/mknetdir.out" 2>&1 ||
	fail "grub-mknetdir: $(cat "$T/mknetdir.out")"
[ -s "$T/tftp/grub/i386-pc/core.0" ] || fail "grub-mknetdir made no core.0"
ok

# ---- dnsmasq: DHCP and TFTP on the namespace's bridge ---------------------------------------
qpxe_net
cat >"$T/dnsmasq.conf" <<EOF
port=0
interface=$BR
bind-interfaces
user=root
dhcp-range=10.76.0.100,10.76.0.150,255.255.255.0,1h
dhcp-boot=grub/i386-pc/core.0
enable-tftp
tftp-root=$T/tftp
dhcp-leasefile=$T/leases
log-dhcp
log-queries
log-facility=$T/dnsmasq.log
EOF
ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file="$T/dnsmasq.conf" \
	--pid-file="$T/dnsmasq.pid" >"$T/dnsmasq.out" 2>&1 &
DPID=$!
wait_until 10 test -s "$T/dnsmasq.pid" || fail "dnsmasq did not start: $(cat "$T/dnsmasq.out")"
ok

# boots MAC WANT...: GRUB boots the kernel with a command line holding every WANT
boots() {
	local mac=$1 line
	shift
	echo "boot $mac (accel $ACCEL)"
	qpxe_boot "$mac"
	qpxe_until "$TIMEOUT" "the kernel's command line" grep -aq "Command line:" "$T/serial.log"
	line=$(grep -a -m1 "Command line:" "$T/serial.log" | tr -d "\r")
	for w in "$@"; do
		case " $line " in *" $w "*) ;; *) fail "$mac: '$w' is not on the command line: $line" ;; esac
	done
	kill -KILL "$QPID" 2>/dev/null
	wait "$QPID" 2>/dev/null
	QPID=
	grep -q "sent.*grub/xenprov-mac-${mac##*:}.cfg" "$T/dnsmasq.log" ||
		fail "$mac: dnsmasq did not send grub/xenprov-mac-${mac##*:}.cfg"
	ok
	echo "$line" | sed 's/^/  /'
}
boots 52:54:00:c5:00:01 hostname=alpha console=ttyS0
! grep -a "Command line:" "$T/serial.log" | grep -q "xp.who" || fail "alpha got another's options"
boots 52:54:00:c5:01:01 hostname=beta xp.who=beta
boots 52:54:00:c5:00:02 hostname=gamma xp.who=gamma-v2

# a machine of no system: the menu, its default the local disk: GRUB exits to the firmware
echo "boot an unknown machine"
qpxe_boot 52:54:00:c5:09:09
qpxe_until "$TIMEOUT" "the firmware's end" grep -aqiE "no bootable device|boot failed" "$T/serial.log" \
	"$T/serial.log.qemu"
! grep -aq "Command line:" "$T/serial.log" || fail "an unknown machine booted a kernel"
grep -q "sent.*grub/xenprov-mac-09.cfg" "$T/dnsmasq.log" || fail "no file of byte 09 was fetched"
ok
pass
