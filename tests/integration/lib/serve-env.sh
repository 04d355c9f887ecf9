# serve-env.sh - sourced by the tests of `xenprov serve`, after common.sh: a temporary
# directory the unprivileged server can read, network namespaces joined by veth pairs
# to a bridge in the server's namespace (made here, all removed at exit), the server
# started in its namespace and stopped by its PID. No traffic leaves these namespaces.
#
# Needs XENPROV; sets T (the directory), SRV (the server's namespace), X.
[ -n "${XP_COMMON:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh" || exit 1
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
need ip ss
# The namespace names (c1, ...) and their /etc/netns files are this test's own: it runs
# in a mount namespace of its own with private /run/netns and /etc/netns, so serve tests
# run at once (ctest -j) never meet, and the namespaces go when the test does.
in_private_mounts "$@" || skip "no mount namespace of the test's own (unshare, util-linux)"
mkdir -p /run/netns /etc/netns
mount -t tmpfs -o mode=755 xp-run-netns /run/netns &&
	mount -t tmpfs -o mode=755 xp-etc-netns /etc/netns ||
	fail "cannot mount private /run/netns and /etc/netns"
# not scratch's directory under the build tree: the server runs as nobody and must
# read what the test puts here
T=$(mktemp -d /tmp/xp-serve.XXXXXX) || fail "cannot make a directory in /tmp"
chmod 755 "$T"
at_exit rm -rf "$T"
TAG=$$
SRV=xps$TAG
NSES=()
PIDS=()
SRV_PID=
# at exit, before the directory goes: the processes the test started, by PID, then
# its namespaces
serve_cleanup() {
	[ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${NSES[@]}"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
}
at_exit serve_cleanup
fail_context() {
	[ -s "$T/serve.log" ] && sed 's/^/  serve: /' "$T/serve.log" | tail -25
	return 0
}

# srv_set KEY VALUE: one of the server's settings, set; the test fails if it is refused.
srv_set() { "$X" settings set "$@" >/dev/null 2>"$T/err" || fail "settings set $*: $(cat "$T/err")"; }

# srv_settings: the server's inventory in $T/state (XENPROV_STATE_DIR, exported), its
# TFTP root R=$T/tftp (made), its address 10.79.0.1 and HTTP on port 8080.
srv_settings() {
	export XENPROV_STATE_DIR=$T/state
	R=$T/tftp
	mkdir -p "$R"
	srv_set server 10.79.0.1
	srv_set tftp-root "$R"
	srv_set http-port 8080
}

# A namespace with its own resolv.conf (so nothing in it can reach the host's) and lo up.
ns_add() {
	ip netns add "$1" || fail "cannot make network namespace $1"
	NSES+=("$1")
	mkdir -p "/etc/netns/$1"
	echo "nameserver 127.0.0.1" >"/etc/netns/$1/resolv.conf"
	ip -n "$1" link set lo up
}

# The server's namespace: bridge br0 with ADDRESS/PREFIX.
srv_ns() {
	ns_add "$SRV"
	ip -n "$SRV" link add br0 type bridge
	ip -n "$SRV" addr add "$1" dev br0
	ip -n "$SRV" link set br0 up
}

# client_add NAME MAC [BRIDGE_NS BRIDGE]: namespace NAME whose eth0 (MAC) is a veth
# whose other end is in the bridge's namespace (default: the server's br0).
client_add() {
	local name=$1 mac=$2 bns=${3:-$SRV} br=${4:-br0}
	ns_add "$name"
	local peer=v${#NSES[@]}
	ip link add eth0 netns "$name" address "$mac" type veth peer name "$peer" netns "$bns" ||
		fail "cannot make the veth pair of $name"
	ip -n "$bns" link set "$peer" master "$br"
	ip -n "$bns" link set "$peer" up
	ip -n "$name" link set eth0 up
}

# relay_ns NAME UP/PREFIX DOWN/PREFIX DOWN-NET: namespace NAME as a router between
# the server's br0 (its up0 at UP) and a bridge br1 of its own (DOWN, where clients
# join with client_add ... NAME br1), forwarding; the server's namespace routes
# DOWN-NET through it. The relay program is the caller's.
relay_ns() {
	ns_add "$1"
	ip link add up0 netns "$1" type veth peer name "vr${#NSES[@]}" netns "$SRV" ||
		fail "cannot make the relay's veth pair"
	ip -n "$SRV" link set "vr${#NSES[@]}" master br0
	ip -n "$SRV" link set "vr${#NSES[@]}" up
	ip -n "$1" addr add "$2" dev up0
	ip -n "$1" link set up0 up
	ip -n "$1" link add br1 type bridge
	ip -n "$1" addr add "$3" dev br1
	ip -n "$1" link set br1 up
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$SRV" route add "$4" via "${2%/*}"
}

# srv_start [ARGS...]: the server in its namespace, unprivileged, on br0; waits for
# its pid file.
srv_start() {
	rm -f "$T/serve.pid"
	ip netns exec "$SRV" "$X" serve --user nobody --interface br0 --pid-file "$T/serve.pid" \
		"$@" >>"$T/serve.log" 2>&1 &
	SRV_PID=$!
	for _ in $(seq 100); do
		[ -s "$T/serve.pid" ] && return 0
		kill -0 "$SRV_PID" 2>/dev/null || fail "the server exited at start"
		sleep 0.1
	done
	fail "the server did not write its pid file"
}

# srv_reloads: how many reloads the server has logged so far.
srv_reloads() { grep -c "reloaded (" "$T/serve.log"; }
# srv_reloaded_past N: waits until the server has logged more than N reloads (it sees
# an inventory change within a second; 10 s at most, then the test fails).
srv_reloaded_past() {
	wait_until 10 _srv_reloaded_past "$1" || fail "the server did not reload within 10 s"
}
_srv_reloaded_past() { [ "$(srv_reloads)" -gt "$1" ]; }
# srv_reload_logged TEXT: waits until a reload that logged TEXT has finished (10 s).
srv_reload_logged() {
	wait_until 10 _srv_reload_logged "$1" || fail "no reload logged '$1' within 10 s"
}
_srv_reload_logged() {
	awk -v t="$1" 'index($0, t) { seen = 1 } seen && /reloaded \(/ { done = 1 } END { exit !done }' \
		"$T/serve.log"
}

srv_stop() {
	kill -TERM "$SRV_PID" 2>/dev/null
	wait "$SRV_PID"
	local rc=$?
	SRV_PID=
	return $rc
}

# one_client: distro deb ($T/vmlinuz and $T/initrd, made by the caller), system alpha
# (52:54:00:aa:00:01, 10.79.0.50) booting it, the server's namespace on 10.79.0.1/24
# and client c1 as alpha with its address; C runs a command in c1.
one_client() {
	"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" \
		--kernel-options "console=ttyS0" >/dev/null || fail "distro add"
	"$X" system add alpha --mac 52:54:00:aa:00:01 --ip 10.79.0.50 --distro deb \
		>/dev/null || fail "system add"
	srv_ns 10.79.0.1/24
	client_add c1 52:54:00:aa:00:01
	ip -n c1 addr add 10.79.0.50/24 dev eth0
}
C() { ip netns exec c1 "$@"; }

# udhcpc NAMESPACE OUTFILE [ARGS...]: busybox udhcpc on eth0 of NAMESPACE (one lease,
# 5 DISCOVERs 2 s apart, 30 s at most) with a script of the test's own that records
# what it is given (ip, subnet, router, dns, domain, hostname, boot_file, siaddr,
# serverid, lease) in OUTFILE and sets the address, nothing else: a distribution's
# hook script is never run (it would rewrite the host's resolv.conf). Its output in
# OUTFILE.log. val FILE KEY: a value recorded.
udhcpc() {
	local ns=$1 out=$2
	shift 2
	[ -x "$T/udhcpc.sh" ] || udhcpc_script "$T/udhcpc.sh"
	OUT=$out timeout 30 ip netns exec "$ns" busybox udhcpc -i eth0 -f -q -n -t 5 -T 2 \
		-s "$T/udhcpc.sh" "$@" >"$out.log" 2>&1
}
udhcpc_script() {
	cat >"$1" <<'S'
#!/bin/sh
case "$1" in
bound | renew)
	{ echo "ip=$ip"; echo "subnet=$subnet"; echo "router=$router"; echo "dns=$dns"
	  echo "domain=$domain"; echo "hostname=$hostname"; echo "boot_file=$boot_file"
	  echo "siaddr=$siaddr"; echo "serverid=$serverid"; echo "lease=$lease"; } >"$OUT"
	ip addr flush dev "$interface"
	ip addr add "$ip/24" dev "$interface"
	;;
esac
exit 0
S
	chmod +x "$1"
}
val() { sed -n "s/^$2=//p" "$1"; }
