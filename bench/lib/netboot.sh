#!/usr/bin/env bash
# bench/lib/netboot.sh [--runs N] [XENPROV] - the network part of bench/bootloader.sh,
# which runs it after the local boot's (it runs alone too): the bootloader's whole boot,
# DHCP + the pxelinux config + a kernel and initrd of 30 MB (20 + 10, random bytes),
# over HTTP and over TFTP, next to what pypxeboot and xenpvnetboot did by hand: busybox
# udhcpc on an interface that has the guest's MAC (their best case: pypxeboot needed a
# patched udhcpc for that), then tftp-hpa's tftp (pypxeboot's fetcher) or curl.
#
# Needs root: two network namespaces joined by a veth pair, made here and removed at
# exit (xpn-srv-PID: `xenprov serve` on 10.76.0.1, HTTP on 8080; xpn-d0-PID: a dom0
# whose xenbr0 holds the veth, 10.76.0.2, and a third, xpn-g-PID, whose eth0 has the
# guest's MAC for the peers' udhcpc). Only processes started here are stopped, by PID.
# Each run boots a new MAC (the server limits each client's rate of DHCP messages).
# Prints the median and the best of N runs (default 5) and the ratios; it never judges.
set -u
RUNS=5
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
X=${1:-$(dirname "$(readlink -f "$0")")/../../build/release/xenprov}
[ -x "$X" ] || { echo "netboot: no xenprov at '$X'" >&2; exit 1; }
XPB=$(dirname "$X")/xenprov-pxeboot
[ -x "$XPB" ] || { echo "netboot: no xenprov-pxeboot next to '$X'" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "netboot: needs root (network namespaces); skipped"; exit 0; }
for t in ip busybox curl tftp; do
	command -v $t >/dev/null || { echo "netboot: $t is not installed; skipped"; exit 0; }
done

T=$(mktemp -d /tmp/xp-netboot.XXXXXX)
chmod 755 "$T"
SRV=xpn-srv-$$ D0=xpn-d0-$$ G=xpn-g-$$
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	for ns in $SRV $D0 $G; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
for ns in $SRV $D0 $G; do
	ip netns add "$ns" && ip -n "$ns" link set lo up || exit 1
done
ip -n $SRV link add br0 type bridge
ip -n $SRV addr add 10.76.0.1/24 dev br0
ip -n $SRV link set br0 up
ip link add eth0 netns $D0 type veth peer name v0 netns $SRV
ip -n $SRV link set v0 master br0 up
ip -n $D0 link add xenbr0 type bridge
ip -n $D0 link set eth0 master xenbr0 up
ip -n $D0 addr add 10.76.0.2/24 dev xenbr0
ip -n $D0 link set xenbr0 up
ip link add eth0 netns $G type veth peer name v1 netns $SRV
ip -n $SRV link set v1 master br0 up
ip -n $G link set eth0 up

export XENPROV_STATE_DIR=$T/state
mkdir -p "$T/tftp/pxelinux.cfg"
head -c 20000000 /dev/urandom >"$T/vmlinuz"
head -c 10000000 /dev/urandom >"$T/initrd"
"$X" settings set server 10.76.0.1 >/dev/null &&
	"$X" settings set tftp-root "$T/tftp" >/dev/null &&
	"$X" settings set http-port 8080 >/dev/null &&
	"$X" settings set pool.lan.range 10.76.0.100-10.76.0.250 >/dev/null &&
	"$X" settings set pool.lan.netmask 255.255.255.0 >/dev/null &&
	"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" >/dev/null || exit 1
cat >"$T/tftp/pxelinux.cfg/default" <<'C'
DEFAULT deb
LABEL deb
	KERNEL distros/deb/kernel
	INITRD distros/deb/initrd
	APPEND console=hvc0
C
ip netns exec $SRV "$X" serve --user root --interface br0 --pid-file "$T/pid" >"$T/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$T/pid" ] && break; sleep 0.1; done
[ -s "$T/pid" ] || { echo "netboot: the server did not start: $(tail -3 "$T/serve.log")" >&2; exit 1; }
truncate -s 1M "$T/disk"

mac() { printf '00:16:3e:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $(($1 % 256)); }
now() { date +%s%N; }
# one boot; prints its seconds; fails the bench if the files differ
xp_boot() { # PROTO-ARGS...
	local m t0 t1 k r
	m=$(mac $RANDOM)
	rm -rf "$T/out"
	t0=$(now)
	ip netns exec $D0 "$XPB" --output="$T/answer" --output-format=simple0 --output-directory="$T/out" \
		--quiet --mac="$m" --interface=xenbr0 "$@" "$T/disk" || return 1
	t1=$(now)
	k=$(tr '\0' '\n' <"$T/answer" | sed -n 's/^kernel //p')
	r=$(tr '\0' '\n' <"$T/answer" | sed -n 's/^ramdisk //p')
	cmp -s "$k" "$T/vmlinuz" && cmp -s "$r" "$T/initrd" || { echo "netboot: files differ" >&2; return 1; }
	echo "$(((t1 - t0) / 1000000))"
}
# the peers: udhcpc on an interface with the guest's MAC, then the fetcher
peer_boot() { # http|tftp
	local m t0 t1
	m=$(mac $RANDOM)
	ip -n $G link set eth0 down
	ip -n $G link set eth0 address "$m"
	ip -n $G link set eth0 up
	ip -n $G addr flush dev eth0
	rm -f "$T/pk" "$T/pi"
	t0=$(now)
	ip netns exec $G busybox udhcpc -q -n -f -i eth0 -t 10 -T 1 -V PXEClient:Arch:00000:UNDI:002001 \
		-s "$T/udhcpc.sh" >/dev/null 2>&1 || return 1
	if [ "$1" = http ]; then
		ip netns exec $G curl -sf -o "$T/cfg" http://10.76.0.1:8080/pxelinux.cfg/default &&
			ip netns exec $G curl -sf -o "$T/pk" http://10.76.0.1:8080/distros/deb/kernel &&
			ip netns exec $G curl -sf -o "$T/pi" http://10.76.0.1:8080/distros/deb/initrd || return 1
	else
		(cd "$T" && ip netns exec $G tftp 10.76.0.1 -m binary -c get pxelinux.cfg/default cfg &&
			ip netns exec $G tftp 10.76.0.1 -m binary -c get distros/deb/kernel pk &&
			ip netns exec $G tftp 10.76.0.1 -m binary -c get distros/deb/initrd pi) || return 1
	fi
	t1=$(now)
	cmp -s "$T/pk" "$T/vmlinuz" && cmp -s "$T/pi" "$T/initrd" || { echo "netboot: peer files differ" >&2; return 1; }
	echo "$(((t1 - t0) / 1000000))"
}
cat >"$T/udhcpc.sh" <<'S'
#!/bin/sh
[ "$1" = bound ] && ip addr add "$ip/24" dev "$interface"
exit 0
S
chmod +x "$T/udhcpc.sh"

# median and best of RUNS runs of a command printing milliseconds
measure() {
	local v=() i x
	for ((i = 0; i < RUNS; i++)); do
		x=$("$@") || { echo "fail"; return; }
		v+=("$x")
	done
	printf '%s\n' "${v[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%d %d\n", a[int((NR + 1) / 2)], a[1]}'
}
row() { # NAME "MEDIAN BEST" [BASE_MEDIAN]
	set -- "$1" $2 "${3:-}"
	if [ "$2" = fail ]; then
		printf '  %-34s failed\n' "$1"
		return
	fi
	local ratio=""
	[ -n "$4" ] && [ "$4" -gt 0 ] && ratio=$(awk -v a="$2" -v b="$4" 'BEGIN {printf "  (%.1fx xenprov'"'"'s time)", a / b}')
	printf '  %-34s %6.3f s  (best %.3f s)%s\n' "$1" "$(awk -v m="$2" 'BEGIN {print m / 1000}')" \
		"$(awk -v m="$3" 'BEGIN {print m / 1000}')" "$ratio"
}

echo "netboot: DHCP + pxelinux config + 20 MB kernel + 10 MB initrd, $RUNS runs each (median)"
xh=$(measure xp_boot --http=http://10.76.0.1:8080/)
xt=$(measure xp_boot)
xt8=$(measure xp_boot --blksize=8192)
ph=$(measure peer_boot http)
pt=$(measure peer_boot tftp)
row "xenprov-pxeboot, HTTP" "$xh"
row "xenprov-pxeboot, TFTP 1468 x 64" "$xt"
row "xenprov-pxeboot, TFTP 8192 x 64" "$xt8"
row "udhcpc + curl (xenpvnetboot-like)" "$ph" "${xh%% *}"
row "udhcpc + tftp-hpa (pypxeboot-like)" "$pt" "${xt%% *}"
