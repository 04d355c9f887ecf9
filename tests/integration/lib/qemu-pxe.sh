# qemu-pxe.sh - sourced by the tests that PXE-boot QEMU from `xenprov serve` (after
# common.sh, with NS, TAP, BR, SERVER_IP set): the checks (root, QEMU, /dev/net/tun,
# the iPXE ROM), the accelerator (scripts/qemu-accel: TCG unless a KVM works), the
# scratch directory T (entered), the cleanup of QEMU and the server by their PIDs and of
# the namespace, and what a failure prints. Then, in the test's own order:
#   qpxe_net            the namespace NS with bridge BR (SERVER_IP/24) and tap TAP in it
#   qpxe_serve          `xenprov serve -v` on BR in NS (SPID), its log in $T/serve.log
#   qpxe_boot MAC [DISK]  QEMU booting from the network on TAP (QPID), serial in
#                       $T/serial.log; with DISK (a raw file) a virtio disk too, booted
#                       when the network offers nothing (-boot order=nc); a reboot
#                       ends QEMU (-no-reboot). With QPXE_UEFI=1 (set before sourcing):
#                       OVMF (Debian's ovmf; its variables a fresh copy per boot) and
#                       its own virtio-net driver and PXE (no iPXE ROM); the disk first
#                       in the boot order, then the NIC (OVMF gives up on a PXE server
#                       that offers no boot file only after a minute or more under TCG,
#                       then tries PXE over IPv6: a blank disk fails at once)
#   qpxe_server POOL RANGE  the autoinstall tests' server: its settings (SERVER_IP,
#                       HTTP_PORT, TFTP root $T/tftp, pool POOL over RANGE), the
#                       installer built into $T/tftp/installer, distro plain
#   qpxe_autoinstall POOL RANGE [efi]  qpxe_server, and lib/grub-root.sh's root (with
#                       efi: GRUB for UEFI) as $T/root.tgz
#   qpxe_done SECONDS WHAT  QEMU ends by itself (a reboot or power-off) within SECONDS
#   qpxe_log TEXT       the server's log holds TEXT
[ "$(id -u)" = 0 ] || skip "needs root (network namespace and tap device)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (Debian package qemu-system-x86)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
need ip timeout
[ -r /usr/share/qemu/efi-virtio.rom ] || [ -r /usr/lib/ipxe/qemu/efi-virtio.rom ] ||
	skip "no iPXE ROM efi-virtio.rom (Debian package ipxe-qemu)"
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
if [ "${QPXE_UEFI:-}" = 1 ]; then
	[ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] || skip "no $OVMF_CODE (Debian package ovmf)"
fi
ACCEL=$("$(dirname "${BASH_SOURCE[0]}")/../../../scripts/qemu-accel" -v) || fail "scripts/qemu-accel failed"
scratch tftp
cd "$T" || fail "cannot enter '$T'"

QPID=
SPID=
qpxe_cleanup() {
	[ -n "$QPID" ] && kill -KILL "$QPID" 2>/dev/null
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
at_exit qpxe_cleanup
fail_context() {
	echo "---- serial console (last 30 lines):"
	tail -n 30 "$T/serial.log" 2>/dev/null | sed 's/^/    /'
	echo "---- qemu:"
	sed 's/^/    /' "$T/serial.log.qemu" 2>/dev/null
	echo "---- server log (last 30 lines):"
	tail -n 30 "$T/serve.log" 2>/dev/null | sed 's/^/    /'
}

qpxe_net() {
	ip netns add "$NS" || skip "cannot create a network namespace"
	ip -n "$NS" link set lo up
	ip -n "$NS" tuntap add dev "$TAP" mode tap || fail "tap"
	ip -n "$NS" link add "$BR" type bridge || fail "bridge"
	ip -n "$NS" link set "$TAP" master "$BR" || fail "tap into bridge"
	ip -n "$NS" addr add "$SERVER_IP/24" dev "$BR" || fail "address"
	ip -n "$NS" link set "$TAP" up && ip -n "$NS" link set "$BR" up || fail "links up"
}

# -v: every DHCP exchange in the log, to tell a server's fault from the client's
qpxe_serve() {
	ip netns exec "$NS" "$X" serve -v --interface "$BR" --pid-file "$T/serve.pid" >"$T/serve.log" 2>&1 &
	SPID=$!
	wait_until 20 test -s "$T/serve.pid" || fail "xenprov serve did not start"
}

qpxe_boot() {
	local disk=() fw=() nic=
	: >"$T/serial.log"
	[ -z "${2:-}" ] || disk=(-drive "file=$2,format=raw,if=virtio" -boot order=nc)
	[ -n "${2:-}" ] || disk=(-boot n)
	if [ "${QPXE_UEFI:-}" = 1 ]; then
		# OVMF orders its boot options by bootindex (-boot order is BIOS's)
		cp "$OVMF_VARS" "$T/ovmf-vars.fd" || fail "cannot copy $OVMF_VARS"
		fw=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
			-drive "if=pflash,format=raw,unit=1,file=$T/ovmf-vars.fd")
		nic=,romfile=,bootindex=2
		[ -z "${2:-}" ] || disk=(-drive "file=$2,format=raw,if=none,id=d0"
			-device virtio-blk-pci,drive=d0,bootindex=1)
		[ -n "${2:-}" ] || disk=()
	fi
	ip netns exec "$NS" qemu-system-x86_64 -machine "accel=$ACCEL,graphics=off" -m 1024 -smp 1 \
		-display none -no-reboot "${fw[@]}" "${disk[@]}" -serial "file:$T/serial.log" \
		-monitor none -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$1$nic" </dev/null >"$T/serial.log.qemu" 2>&1 &
	QPID=$!
}

qpxe_server() {
	local kv
	export XENPROV_STATE_DIR=$T/state
	for kv in "server $SERVER_IP" "http-port $HTTP_PORT" "tftp-root $T/tftp" \
		"pool.$1.range $2" "pool.$1.netmask 255.255.255.0" \
		"pool.$1.router $SERVER_IP" "pool.$1.dns $SERVER_IP"; do
		"$X" settings set $kv >/dev/null || fail "settings set $kv"
	done
	"$X" installer build -o "$T/tftp/installer" >"$T/build.out" 2>&1 ||
		fail "installer build: $(cat "$T/build.out")"
	echo kernel >"$T/vmlinuz"
	"$X" distro add plain --kernel "$T/vmlinuz" >/dev/null || fail "distro add"
}

qpxe_autoinstall() {
	qpxe_server "$1" "$2"
	grub_root "$T/root" "$kernel" "${3:-}"
	tar -C "$T/root" --numeric-owner -czf "$T/root.tgz" . || fail "tar"
}

qpxe_done() {
	local start=$SECONDS
	while kill -0 "$QPID" 2>/dev/null; do
		[ $((SECONDS - start)) -lt "$1" ] || fail "QEMU still running ${1}s after $2"
		sleep 2
	done
	wait "$QPID" 2>/dev/null
	QPID=
}
qpxe_log() { grep -qF "$1" "$T/serve.log"; }

# qpxe_until SECONDS WHAT CHECK...: runs CHECK every QPXE_POLL seconds (default 2) until
# it succeeds; fails when QEMU exits first or SECONDS pass since the boot ("no WHAT
# within ..."). Prints how long it took.
qpxe_until() {
	local limit=$1 what=$2 start=$SECONDS
	shift 2
	until "$@"; do
		kill -0 "$QPID" 2>/dev/null || fail "QEMU exited before $what"
		[ $((SECONDS - start)) -lt "$limit" ] || fail "no $what within ${limit}s"
		sleep "${QPXE_POLL:-2}"
	done
	echo "$what after $((SECONDS - start))s"
}
