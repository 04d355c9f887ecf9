#!/bin/bash
# serve-pxeboot.sh - the proof that xenprov's boot server network-boots a real machine:
# QEMU (TCG, or KVM where scripts/qemu-accel finds one that works) with a PXE NIC on a
# tap device in a network namespace the test makes, the boot server on the tap's
# address 10.78.0.1, and two boots of Debian's kernel with a tiny test initramfs
# (static busybox + an /init that prints a marker unique to this run and its kernel
# command line on ttyS0, then powers off):
#   (a) pxelinux: a plain PXE client -> DHCP -> pxelinux.0 and ldlinux.c32 over TFTP ->
#       pxelinux.cfg/01-52-54-00-12-34-56 -> KERNEL distros/testdistro/kernel and
#       INITRD distros/testdistro/initrd over TFTP. Proof of the path: pxelinux adds
#       BOOT_IMAGE=distros/testdistro/kernel to the command line the guest prints.
#   (b) iPXE script: QEMU's iPXE ROM (virtio-net) -> DHCP with user class "iPXE" -> the
#       URL http://10.78.0.1:8080/ipxe/01-52-54-00-12-34-56 -> an iPXE script -> kernel
#       and initrd over HTTP. Proof of the path: no BOOT_IMAGE= on the command line.
#   (c) UEFI: OVMF (Debian's ovmf, x86-64 UEFI firmware) network-boots through its own
#       virtio-net driver and PXE stack (the NIC has no iPXE ROM, which would boot
#       itself and skip the firmware's PXE): DHCP with client
#       architecture 7 (option 93) -> the efi64-boot-file, ipxe.efi (Debian's ipxe) over
#       TFTP -> iPXE for UEFI asks DHCP again as "iPXE" -> the script over HTTP -> the
#       kernel (EFI stub) and initrd over HTTP. Proof of the path: the server's log
#       shows ipxe.efi sent over TFTP, and no BOOT_IMAGE= on the command line.
#   (d) ProxyDHCP (xenprov only): busybox udhcpd, in a second namespace on the same
#       bridge, owns the network and hands out addresses (10.78.0.200-220) and no boot
#       file; `xenprov settings set proxy-dhcp on` while the server runs (it picks the
#       change up, and opens port 4011, without a restart). QEMU's iPXE (virtio-net)
#       takes its address from udhcpd and its boot file (the script URL) from xenprov's
#       proxy offer. Proof of the path: iPXE prints an address from udhcpd's range,
#       udhcpd's lease file holds the MAC, and the guest boots the script's kernel.
#       Afterwards udhcpd is stopped and proxy-dhcp set off again.
#   (e) UEFI GRUB: efi64-boot-file set to grubx64.efi while serving; OVMF's PXE loads
#       a GRUB built here with grub-mkimage (Debian's grub-efi-amd64-bin: efinet, tftp,
#       linux ...; prefix (tftp)/grub), which asks the server for grub/grub.cfg-<MAC>
#       as GRUB's network boot does, and follows the config xenprov renders: linux
#       and initrd over TFTP. Proof of the path: GRUB's BOOT_IMAGE=(tftp,...) on the
#       command line and the rendered config in the server's log.
# One server, unchanged between the cases, must answer both the way a PXE server does:
# user class "iPXE" -> the script URL; any other client -> pxelinux.0.
#
# The plain PXE client of (a): QEMU has no PXE ROM other than iPXE, and iPXE sends user
# class "iPXE" in every DHCP request. So case (a) boots QEMU's iPXE ROM (e1000) and,
# through the serial console (SeaBIOS mirrors the BIOS console there with
# -machine graphics=off), lib/pxe-console.py presses Ctrl-B and types
# `set user-class PXEClient` and `autoboot`: iPXE then asks like a non-iPXE PXE ROM,
# loads the file the server names (pxelinux.0) over TFTP and serves its PXE API to it.
#
# A case passes when the marker reaches QEMU's serial log within XP_PXE_TIMEOUT seconds
# (default 360 per case; one took 159 s at load 33 on 2 cores) with the expected command
# line; otherwise the log tail, the server's log and the files it offered are printed.
#
# The server is a switch, XP_PXE_SERVER:
#   xenprov (default): `xenprov serve --interface <tap> --pid-file ...` in the namespace
#       after the settings, distro and system below (the server renders the pxelinux
#       config and the iPXE script itself). While `$XENPROV <command> --help` fails for
#       serve, settings, distro or system, the test exits 77 (skipped): it never passes
#       without the real server.
#   dnsmasq: the harness check. dnsmasq (DHCP + TFTP; --dhcp-userclass=set:ipxe,iPXE
#       picks the boot file) and python3's http.server play the server, with files the
#       test writes the way xenprov is to render them; the test also checks in their logs
#       that each case fetched what it claims (user class, TFTP files, HTTP GETs).
#
# Debian's iPXE waits for an IPv6 router advertisement before it boots (about 15 s of
# its own time; over two minutes of wall time in a loaded TCG guest); lib/pxe-ra.py
# sends empty ones (no prefix, lifetime 0) in the namespace to end that wait.
#
# Environment: XENPROV (the binary), XP_TMP (scratch dir), XP_SRC (source tree, for
# tests/integration/lib/), XP_PXE_SERVER (xenprov|dnsmasq), XP_PXE_CASES (default
# "a b"), XP_PXE_TIMEOUT, XP_PXE_SERVE_ARGS (extra `xenprov serve` arguments, e.g. -v),
# XP_QEMU_ACCEL and the others scripts/qemu-accel reads.
# Needs root (network namespace, tap). Standalone:
#   XENPROV=/path/to/xenprov XP_TMP=/tmp/x XP_SRC=<repo> bash tests/integration/serve-pxeboot.sh
# Exit 0 pass, 1 fail, 77 skip (the reason is printed).
. "$(dirname "$0")/lib/common.sh" --no-xenprov || exit 1
SERVER=${XP_PXE_SERVER:-xenprov}
CASES=${XP_PXE_CASES:-a b c d e}
[ "$SERVER" = dnsmasq ] && CASES=${XP_PXE_CASES:-a b c}
TIMEOUT=${XP_PXE_TIMEOUT:-360}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB=${XP_SRC:+$XP_SRC/tests/integration/lib}
LIB=${LIB:-$HERE/lib}

case $SERVER in
xenprov) X=${XENPROV:?set XENPROV to the xenprov binary (or XP_PXE_SERVER=dnsmasq)} ;;
dnsmasq) X=${XENPROV:-} ;;
*) fail "XP_PXE_SERVER must be xenprov or dnsmasq, not '$SERVER'" ;;
esac
for c in $CASES; do
	case $c in a | b | c) ;; d | e) [ "$SERVER" = xenprov ] || fail "case $c is xenprov's only" ;;
	*) fail "XP_PXE_CASES holds '$c': only a, b, c, d and e exist" ;; esac
done

# The one machine and the addresses of the test network (inside our own namespace).
SERVER_IP=10.78.0.1
GUEST_IP=10.78.0.50
MAC=52:54:00:12:34:56
MACFILE=01-52-54-00-12-34-56
HTTP_PORT=8080
SCRIPT_URL=http://$SERVER_IP:$HTTP_PORT/ipxe/$MACFILE
TAP=xppxe0
BR=xppxebr0 # the test network's switch: QEMU's tap, and (case d) udhcpd's veth
NS=xp-pxe-$$
NS2=xp-pxe-dhcpd-$$ # case d: the network's own DHCP server

# ---- what the test needs -------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "needs root (network namespace and tap device)"
command -v qemu-system-x86_64 >/dev/null ||
	skip "qemu-system-x86_64 not installed (Debian package qemu-system-x86)"
command -v ip >/dev/null || skip "ip not installed (Debian package iproute2)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
need_kernel
need_static_busybox
PXELINUX=/usr/lib/PXELINUX/pxelinux.0
LDLINUX=/usr/lib/syslinux/modules/bios/ldlinux.c32
[ -r "$PXELINUX" ] || skip "no $PXELINUX (Debian package pxelinux)"
[ -r "$LDLINUX" ] || skip "no $LDLINUX (Debian package syslinux-common)"
# QEMU's own NIC ROMs (efi-e1000.rom, efi-virtio.rom: BIOS + EFI iPXE images from the
# Debian package ipxe-qemu). The pxe-*.rom files next to them are not used: SeaBIOS
# does not offer them as a boot device (seen with virtio-net, QEMU 7.2).
for rom in efi-e1000.rom efi-virtio.rom; do
	[ -r "/usr/share/qemu/$rom" ] || [ -r "/usr/lib/ipxe/qemu/$rom" ] ||
		skip "no iPXE ROM $rom (Debian package ipxe-qemu)"
done
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
IPXE_EFI=/usr/lib/ipxe/ipxe.efi
case " $CASES " in
*" c "* | *" e "*)
	[ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] || skip "no $OVMF_CODE (Debian package ovmf)"
	[ -r "$IPXE_EFI" ] || skip "no $IPXE_EFI (Debian package ipxe)"
	;;
esac
case " $CASES " in
*" e "*)
	command -v grub-mkimage >/dev/null || skip "no grub-mkimage (Debian package grub-common)"
	[ -r /usr/lib/grub/x86_64-efi/efinet.mod ] ||
		skip "no GRUB x86_64-efi modules (Debian package grub-efi-amd64-bin)"
	;;
esac
for tool in cpio gzip python3 timeout; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done
for f in pxe-ra.py pxe-console.py; do
	[ -r "$LIB/$f" ] || fail "no $LIB/$f (set XP_SRC to the source tree)"
done
command -v mkfifo >/dev/null || skip "mkfifo not installed"
if [ "$SERVER" = dnsmasq ]; then
	command -v dnsmasq >/dev/null || skip "dnsmasq not installed (Debian package dnsmasq-base)"
else
	# the commands the test drives; until all exist the test is skipped, never passed
	missing=
	for cmd in serve settings distro system; do
		"$X" "$cmd" --help >/dev/null 2>&1 || missing="$missing $cmd"
	done
	[ -z "$missing" ] ||
		skip "xenprov commands not available yet:$missing ('$X <command> --help' fails); XP_PXE_SERVER=dnsmasq checks the harness"
fi

# the accelerator that works here, found by a probe (scripts/qemu-accel), never guessed
ACCEL=$("$HERE/../../scripts/qemu-accel" -v) || fail "scripts/qemu-accel failed"

scratch
cd "$T" || fail "cannot enter '$T'"

# ---- cleanup: everything this test started, by PID, then the tap and the namespace -------
PIDS=()
pxe_cleanup() {
	local p
	if [ -s "$T/serve.pid" ]; then PIDS+=("$(cat "$T/serve.pid")"); fi
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		# wait only reaps our own children; the pid-file's server may be a grandchild
		wait "$p" 2>/dev/null
		kill -0 "$p" 2>/dev/null && sleep 0.5 && kill -9 "$p" 2>/dev/null
	done
	if ip netns list | grep -qw "$NS"; then
		ip -n "$NS" link del "$TAP" 2>/dev/null
		ip netns del "$NS"
	fi
	if ip netns list | grep -qw "$NS2"; then
		ip netns del "$NS2"
	fi
}
at_exit pxe_cleanup

# stop PID: kills one process this test started and forgets it.
stop() {
	local p=$1 keep=() q
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	PIDS=("${keep[@]}")
}

# ---- the guest: busybox + /init, printing a marker unique to this run ---------------------
MARKER=XENPROV-PXE-OK-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p initramfs/bin initramfs/dev initramfs/proc initramfs/sys || fail "mkdir"
cp "$busybox" initramfs/bin/busybox || fail "cannot copy $busybox"
for a in sh mount cat echo poweroff; do ln -s busybox "initramfs/bin/$a"; done
# The marker is in /init only: not on any command line, not in any server file, so the
# only way for it to reach the serial log is this kernel running this initramfs.
cat >initramfs/init <<EOF
#!/bin/sh
# xenprov PXE boot test guest: say who booted us, then stop.
PATH=/bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
echo "$MARKER cmdline=[\$(cat /proc/cmdline)]" >/dev/console
poweroff -f
EOF
chmod 755 initramfs/init
(cd initramfs && find . | cpio -o -H newc --owner=0:0 --quiet | gzip -9n) >initrd.img ||
	fail "cannot build initrd.img"

# ---- the network: a namespace, a tap in it, the router advertiser ------------------------
ip netns add "$NS" || skip "cannot create a network namespace ('ip netns add' failed)"
ip -n "$NS" link set lo up || fail "lo up in $NS"
ip -n "$NS" tuntap add dev "$TAP" mode tap || fail "cannot create tap $TAP in $NS"
ip -n "$NS" link add "$BR" type bridge || fail "cannot create bridge $BR in $NS"
ip -n "$NS" link set "$TAP" master "$BR" || fail "$TAP into $BR"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$BR.accept_dad=0" >/dev/null 2>&1
ip -n "$NS" addr add "$SERVER_IP/24" dev "$BR" || fail "address on $BR"
ip -n "$NS" link set "$TAP" up || fail "$TAP up"
ip -n "$NS" link set "$BR" up || fail "$BR up"
ip netns exec "$NS" python3 "$LIB/pxe-ra.py" "$BR" 3600 >"$T/ra.log" 2>&1 &
PIDS+=($!)

mkdir -p tftp || fail "mkdir tftp"
cp "$PXELINUX" "$LDLINUX" tftp/ || fail "cannot copy pxelinux.0 and ldlinux.c32"
case " $CASES " in *" c "* | *" e "*) cp "$IPXE_EFI" tftp/ipxe.efi || fail "cannot copy $IPXE_EFI" ;; esac
case " $CASES " in
*" e "*)
	grub-mkimage -O x86_64-efi -o tftp/grubx64.efi -p '(tftp)/grub' \
		efinet tftp net linux normal configfile echo test gzio ||
		fail "grub-mkimage could not build grubx64.efi"
	;;
esac

# ---- the server -----------------------------------------------------------------------------
SERVER_LOG=
# dnsmasq mode: the files xenprov is to render, written by hand.
dnsmasq_files() {
	mkdir -p tftp/distros/testdistro tftp/pxelinux.cfg tftp/ipxe || return 1
	cp "$kernel" tftp/distros/testdistro/kernel || return 1
	cp initrd.img tftp/distros/testdistro/initrd || return 1
	cat >"tftp/pxelinux.cfg/$MACFILE" <<-EOF || return 1
		DEFAULT linux
		LABEL linux
		  KERNEL distros/testdistro/kernel
		  INITRD distros/testdistro/initrd
		  APPEND console=ttyS0 panic=-1 no_timer_check
	EOF
	cat >"tftp/ipxe/$MACFILE" <<-EOF || return 1
		#!ipxe
		kernel http://$SERVER_IP:$HTTP_PORT/distros/testdistro/kernel initrd=initrd console=ttyS0 panic=-1 no_timer_check
		initrd http://$SERVER_IP:$HTTP_PORT/distros/testdistro/initrd
		boot
	EOF
}

# dnsmasq_start: DHCP + TFTP, the boot file chosen by user class like a PXE server's.
dnsmasq_start() {
	SERVER_LOG=$T/dnsmasq.log
	ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
		--user=root --group=root --interface="$BR" --bind-interfaces \
		--dhcp-authoritative --dhcp-range=10.78.0.100,10.78.0.150,255.255.255.0,1h \
		--dhcp-host="$MAC,$GUEST_IP" --dhcp-leasefile="$T/dnsmasq.leases" \
		--enable-tftp --tftp-root="$T/tftp" \
		--dhcp-userclass=set:ipxe,iPXE "--dhcp-boot=tag:ipxe,$SCRIPT_URL" \
		--dhcp-match=set:efi64,option:client-arch,7 \
		"--dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,$SERVER_IP" \
		"--dhcp-boot=tag:!ipxe,tag:!efi64,pxelinux.0,,$SERVER_IP" \
		--log-dhcp --log-facility="$SERVER_LOG" >"$T/dnsmasq.out" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	# ready once its DHCP and TFTP sockets are bound (10 s at most each)
	wait_udp "$NS" 67 "$pid" && wait_udp "$NS" 69 "$pid" || {
		echo "dnsmasq did not bind UDP ports 67 and 69:"
		cat "$T/dnsmasq.out" "$SERVER_LOG" 2>/dev/null
		return 1
	}
}

# xp ARGS...: one xenprov command of the setup, shown, and fatal if it fails.
xp() {
	local words
	words=$(printf ' %q' "$@")
	echo "\$ xenprov$words"
	"$X" "$@" || fail "xenprov$words (exit $?)"
}

if [ "$SERVER" = dnsmasq ]; then
	dnsmasq_files || fail "cannot write the server's files under $T/tftp"
	dnsmasq_start || fail "dnsmasq did not start"
	ip netns exec "$NS" python3 -m http.server "$HTTP_PORT" --bind "$SERVER_IP" \
		--directory "$T/tftp" >"$T/http.log" 2>&1 &
	PIDS+=($!)
else
	export XENPROV_STATE_DIR=$T/state
	xp settings set server "$SERVER_IP"
	xp settings set pool.pxe.range 10.78.0.100-10.78.0.150
	xp settings set pool.pxe.netmask 255.255.255.0
	xp settings set tftp-root "$T/tftp"
	xp settings set http-port "$HTTP_PORT"
	# no_timer_check: under TCG on a loaded machine the kernel's IO-APIC timer check can
	# miss its ticks and panic ("IO-APIC + timer doesn't work!"); the check proves
	# nothing about booting from xenprov
	xp distro add testdistro --kernel "$kernel" --initrd "$T/initrd.img" \
		--kernel-options "console=ttyS0 panic=-1 no_timer_check"
	xp system add guest1 --mac "$MAC" --ip "$GUEST_IP" --distro testdistro
	SERVER_LOG=$T/serve.log
	# XP_PXE_SERVE_ARGS: extra arguments, e.g. -v to log every request
	read -r -a extra <<<"${XP_PXE_SERVE_ARGS:-}"
	echo "\$ xenprov serve --interface $BR --pid-file $T/serve.pid ${extra[*]} (in $NS)"
	ip netns exec "$NS" "$X" serve --interface "$BR" --pid-file "$T/serve.pid" "${extra[@]}" \
		>"$SERVER_LOG" 2>&1 &
	PIDS+=($!)
	serve_pid=$!
	# ready when it has written its pid file (bounded: a server that never does fails)
	for _ in $(seq 1 100); do
		[ -s "$T/serve.pid" ] && break
		kill -0 "$serve_pid" 2>/dev/null || break
		sleep 0.2
	done
	if ! [ -s "$T/serve.pid" ] || ! kill -0 "$serve_pid" 2>/dev/null; then
		echo "server log:"; sed 's/^/    /' "$SERVER_LOG"
		fail "xenprov serve did not start (no pid file $T/serve.pid after 20 s, or it exited)"
	fi
fi

# The HTTP side must listen before a guest asks (python's start-up, or a server that
# writes its pid file first, can be slow on a loaded machine); bounded at 30 s.
for _ in $(seq 1 60); do
	ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$SERVER_IP/$HTTP_PORT" 2>/dev/null && break
	sleep 0.5
done
ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$SERVER_IP/$HTTP_PORT" 2>/dev/null || {
	echo "server log:"; sed 's/^/    /' "$SERVER_LOG" "$T/http.log" 2>/dev/null
	fail "nothing listens on http://$SERVER_IP:$HTTP_PORT/ after 30 s"
}

# ---- one boot --------------------------------------------------------------------------------
report=()
failures=0

# show_failure CASE LOG: what a failed case saw, to tell a server bug from a guest bug.
show_failure() {
	echo "---- last 40 lines of the serial log $2:"
	tail -n 40 "$2" | sed 's/^/    /'
	echo "---- qemu's own output:"
	sed 's/^/    /' "$2.qemu"
	echo "---- server log $SERVER_LOG (last 40 lines):"
	tail -n 40 "$SERVER_LOG" 2>/dev/null | sed 's/^/    /'
	[ ! -s "$2.console" ] || { echo "---- pxe-console.py:"; sed 's/^/    /' "$2.console"; }
	if [ -s "$T/http.log" ]; then
		echo "---- http log:"; tail -n 20 "$T/http.log" | sed 's/^/    /'
	fi
	echo "---- files under the tftp root:"
	(cd "$T/tftp" && find . -type f | sort | sed 's/^/    /')
	if [ -f "$T/tftp/pxelinux.cfg/$MACFILE" ]; then
		echo "---- pxelinux.cfg/$MACFILE:"; sed 's/^/    /' "$T/tftp/pxelinux.cfg/$MACFILE"
	fi
	echo "---- GET $SCRIPT_URL (what an iPXE client is given):"
	ip netns exec "$NS" python3 -c '
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        sys.stdout.write("HTTP %d\n%s" % (r.status, r.read(4096).decode("utf-8", "replace")))
except Exception as e:
    print("error:", e)' "$SCRIPT_URL" 2>&1 | sed 's/^/    /'
}

# proxy_on: case d's network: udhcpd in its own namespace on the bridge owns the
# addresses; xenprov switches to ProxyDHCP while it runs.
DHCPD_PID=
proxy_on() {
	ip netns add "$NS2" || return 1
	ip -n "$NS2" link set lo up
	ip link add xppxed0 netns "$NS" type veth peer name xppxed1 netns "$NS2" || return 1
	ip -n "$NS" link set xppxed0 master "$BR" && ip -n "$NS" link set xppxed0 up || return 1
	ip -n "$NS2" addr add 10.78.0.2/24 dev xppxed1 && ip -n "$NS2" link set xppxed1 up || return 1
	cat >"$T/udhcpd.conf" <<-EOF
		start 10.78.0.200
		end 10.78.0.220
		interface xppxed1
		lease_file $T/udhcpd.leases
		max_leases 21
		option subnet 255.255.255.0
		option lease 3600
	EOF
	: >"$T/udhcpd.leases"
	ip netns exec "$NS2" busybox udhcpd -f "$T/udhcpd.conf" >"$T/udhcpd.log" 2>&1 &
	DHCPD_PID=$!
	PIDS+=("$DHCPD_PID")
	# ready once its DHCP socket is bound (10 s at most)
	wait_udp "$NS2" 67 "$DHCPD_PID" || {
		echo "udhcpd did not bind UDP port 67:"
		cat "$T/udhcpd.log"
		return 1
	}
	live_set proxy-dhcp on
}

# proxy_off: back to an address server, udhcpd and its namespace gone.
proxy_off() {
	[ -n "$DHCPD_PID" ] && stop "$DHCPD_PID"
	DHCPD_PID=
	ip netns del "$NS2" 2>/dev/null
	live_set proxy-dhcp off
}

# live_set KEY VALUE: a setting changed while the server runs; returns once the server
# has reloaded (it notices inventory changes within a second and logs each reload).
live_set() {
	local n0 n
	n0=$(grep -c "reloaded" "$SERVER_LOG")
	xp settings set "$1" "$2"
	for n in $(seq 1 50); do
		[ "$(grep -c "reloaded" "$SERVER_LOG")" -gt "$n0" ] && return 0
		sleep 0.2
	done
	echo "the server did not reload after $1 $2"
	return 1
}

# boot CASE: one network boot; 0 when the marker came with the expected command line.
boot() {
	local c=$1 nic what log=$T/serial-$1.log start secs qpid cpid= line cmdline rc serial
	local slog=1 hlog=1 firmware=(-boot n) bootindex= mem=256
	case $c in
	a) nic=e1000 what="pxelinux over TFTP, plain PXE client" ;;
	b) nic=virtio-net-pci what="iPXE script over HTTP" ;;
	d) nic=virtio-net-pci what="ProxyDHCP: udhcpd's address, xenprov's boot script"
		proxy_on || return 1 ;;
	e) nic=virtio-net-pci what="UEFI GRUB: grubx64.efi, grub.cfg-MAC and the kernel over TFTP"
		live_set efi64-boot-file grubx64.efi || return 1
		mem=512 # GRUB for EFI says "out of memory" loading the kernel with 256 MiB
		cp "$OVMF_VARS" "$T/ovmf-vars.fd" || return 1
		firmware=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
			-drive "if=pflash,format=raw,unit=1,file=$T/ovmf-vars.fd")
		bootindex=,romfile=,bootindex=1 ;;
	c) nic=virtio-net-pci what="UEFI PXE: ipxe.efi over TFTP, then the iPXE script over HTTP"
		cp "$OVMF_VARS" "$T/ovmf-vars.fd" || return 1
		firmware=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
			-drive "if=pflash,format=raw,unit=1,file=$T/ovmf-vars.fd")
		bootindex=,romfile=,bootindex=1 ;;
	esac
	local fw="$nic with QEMU's iPXE ROM"
	[ -z "$bootindex" ] || fw="OVMF, $nic without a ROM"
	echo "== case ($c): $what ($fw, server $SERVER, accel $ACCEL, timeout ${TIMEOUT}s)"
	# where this case's lines start in the server's logs (one server for both cases)
	[ -f "$SERVER_LOG" ] && slog=$(($(wc -l <"$SERVER_LOG") + 1))
	[ -f "$T/http.log" ] && hlog=$(($(wc -l <"$T/http.log") + 1))
	: >"$log"
	if [ "$c" = a ]; then
		# the console through lib/pxe-console.py, which turns iPXE into a plain PXE client
		rm -f "$T/console-a.in" "$T/console-a.out"
		mkfifo "$T/console-a.in" "$T/console-a.out" || return 1
		serial=(-chardev "pipe,id=s0,path=$T/console-a" -serial chardev:s0)
	else
		serial=(-serial "file:$log")
	fi
	start=$(date +%s.%N)
	# graphics=off makes SeaBIOS mirror the firmware's screen (iPXE, pxelinux) on ttyS0
	ip netns exec "$NS" qemu-system-x86_64 -machine "accel=$ACCEL,graphics=off" -m "$mem" -smp 1 \
		-display none -no-reboot "${firmware[@]}" "${serial[@]}" -monitor none \
		-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
		-device "$nic,netdev=n0,mac=$MAC$bootindex" \
		</dev/null >"$log.qemu" 2>&1 &
	qpid=$!
	PIDS+=("$qpid")
	if [ "$c" = a ]; then
		python3 "$LIB/pxe-console.py" "$T/console-a" "$log" 2>"$log.console" &
		cpid=$!
		PIDS+=("$cpid")
	fi
	line=
	while :; do
		line=$(grep -a -m1 -F "$MARKER" "$log")
		[ -n "$line" ] && break
		kill -0 "$qpid" 2>/dev/null || break
		# SeaBIOS found nothing to boot: waiting for its 60 s retry would not help
		grep -aq 'No bootable device' "$log" && break
		secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a }')
		[ "$secs" -lt "$TIMEOUT" ] || break
		sleep 1
	done
	# the guest powers off after the marker: give QEMU a moment to exit by itself
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || break; sleep 0.5; done
	stop "$qpid"
	[ -z "$cpid" ] || stop "$cpid"
	[ -n "$line" ] || line=$(grep -a -m1 -F "$MARKER" "$log")
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ -z "$line" ]; then
		echo "FAIL ($c): no marker $MARKER on the serial console after ${secs}s"
		show_failure "$c" "$log"
		report+=("($c) $what: FAIL after ${secs}s")
		return 1
	fi
	cmdline=${line#*cmdline=[}
	cmdline=${cmdline%]*}
	rc=0
	local opt
	for opt in console=ttyS0 panic=-1 no_timer_check; do
		case " $cmdline " in
		*" $opt "*) ;;
		*) echo "FAIL ($c): the distro's kernel option $opt is not on the command line: [$cmdline]"
			rc=1 ;;
		esac
	done
	case $c in
	a) case " $cmdline " in
		*" BOOT_IMAGE=distros/testdistro/kernel "*) ;;
		*) echo "FAIL (a): booted without pxelinux (no BOOT_IMAGE=distros/testdistro/kernel): [$cmdline]"
			rc=1 ;;
		esac ;;
	b | c | d) case " $cmdline " in
		*" BOOT_IMAGE="*) echo "FAIL ($c): booted through pxelinux, not the iPXE script: [$cmdline]"
			rc=1 ;;
		esac ;;
	e) case " $cmdline " in
		*" BOOT_IMAGE=(tftp"*) ;;
		*) echo "FAIL (e): not booted by GRUB over TFTP (no BOOT_IMAGE=(tftp...): [$cmdline]"
			rc=1 ;;
		esac
		local elines
		elines=$(tail -n "+$slog" "$SERVER_LOG")
		for want in grubx64.efi "grub/grub.cfg-" distros/testdistro/kernel distros/testdistro/initrd; do
			grep -q "tftp: sent '$want" <<<"$elines" ||
				{ echo "FAIL (e): the server's log does not show $want sent over TFTP"; rc=1; }
		done
		xp settings unset efi64-boot-file >/dev/null ;;
	esac
	if [ "$c" = d ]; then
		# the address came from udhcpd, the boot file from xenprov's proxy offer
		grep -aq "net0: 10\.78\.0\.2[0-2][0-9]/" "$log" ||
			{ echo "FAIL (d): iPXE did not configure an address of udhcpd's range:";
			grep -a "net0:" "$log" | sed 's/^/    /'; rc=1; }
		kill -USR1 "$DHCPD_PID" 2>/dev/null # udhcpd writes its lease file
		sleep 1
		busybox dumpleases -f "$T/udhcpd.leases" 2>&1 | grep -qi "$MAC" ||
			{ echo "FAIL (d): udhcpd's lease file does not hold $MAC:";
			busybox dumpleases -f "$T/udhcpd.leases" 2>&1 | sed 's/^/    /'; rc=1; }
		grep -q "dhcp: .*port 4011" "$SERVER_LOG" &&
			{ echo "FAIL (d): the server could not open port 4011"; rc=1; }
		proxy_off || { echo "FAIL (d): could not switch ProxyDHCP off again"; rc=1; }
	fi
	if [ "$c" = c ]; then
		# the firmware's PXE stack loaded the UEFI boot file, not the BIOS one
		local clines
		clines=$(tail -n "+$slog" "$SERVER_LOG")
		if [ "$SERVER" = dnsmasq ]; then
			grep -q "sent $T/tftp/ipxe.efi to $GUEST_IP" <<<"$clines" ||
				{ echo "FAIL (c): ipxe.efi was not sent over TFTP"; rc=1; }
		else
			grep -q "tftp: sent 'ipxe.efi' to $GUEST_IP" <<<"$clines" ||
				{ echo "FAIL (c): the server's log does not show ipxe.efi sent over TFTP"; rc=1; }
		fi
		grep -q "pxelinux.0" <<<"$clines" &&
			{ echo "FAIL (c): the BIOS boot file was asked for"; rc=1; }
	fi
	if [ "$SERVER" = dnsmasq ]; then
		# the harness itself: the files must have come the way the case claims
		local want
		local slines hlines
		slines=$(tail -n "+$slog" "$SERVER_LOG")
		hlines=$(tail -n "+$hlog" "$T/http.log")
		case $c in
		a) grep -q 'user class: PXEClient' <<<"$slines" ||
			{ echo "FAIL (a): the client did not ask with user class PXEClient"; rc=1; }
			grep -q 'user class: iPXE' <<<"$slines" &&
			{ echo "FAIL (a): the client asked as iPXE too (the console missed the shell)"; rc=1; }
			for want in pxelinux.0 ldlinux.c32 "pxelinux.cfg/$MACFILE" \
			distros/testdistro/kernel distros/testdistro/initrd; do
			grep -q "sent $T/tftp/$want to $GUEST_IP" <<<"$slines" ||
				{ echo "FAIL (a): dnsmasq did not send $want over TFTP"; rc=1; }
		done ;;
		b) grep -q 'user class: iPXE' <<<"$slines" ||
			{ echo "FAIL (b): the client did not ask with user class iPXE"; rc=1; }
			grep -q 'sent /' <<<"$slines" &&
			{ echo "FAIL (b): dnsmasq sent files over TFTP"; rc=1; }
			for want in "ipxe/$MACFILE" distros/testdistro/kernel distros/testdistro/initrd; do
			grep -q "^$GUEST_IP .*\"GET /$want HTTP/1.[01]\" 200" <<<"$hlines" ||
				{ echo "FAIL (b): no HTTP GET /$want answered 200"; rc=1; }
		done ;;
		esac
	fi
	if [ $rc -ne 0 ]; then
		show_failure "$c" "$log"
		report+=("($c) $what: FAIL after ${secs}s")
		return 1
	fi
	echo "ok   ($c): $line (${secs}s)"
	report+=("($c) $what: ok ${secs}s")
}

for c in $CASES; do
	boot "$c" || failures=$((failures + 1))
done

printf '%s\n' "${report[@]}"
[ $failures -eq 0 ] || exit 1
exit 0
