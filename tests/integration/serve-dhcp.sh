#!/bin/bash
# serve-dhcp.sh - `xenprov serve`'s DHCP with real clients in network namespaces:
# busybox udhcpc and ISC dhclient get their reserved address, router, DNS servers,
# domain and boot file; dynamic clients get distinct addresses from the pool; leases
# survive a kill -9 of the server (a restarted server gives a renewing client its
# address back and nobody else that address); a client behind ISC dhcrelay gets an
# address of the relay's subnet, answered through the relay (giaddr); a system with
# netboot off gets no boot file; SIGTERM stops the server cleanly.
#
# Our own client scripts only record what they are given and set the address: a
# distribution's hook script is never run (it would rewrite the host's resolv.conf).
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/serve-env.sh"
need busybox dhclient dhcrelay sqlite3 curl python3
busybox udhcpc --help >/dev/null 2>&1 || { echo "SKIP: busybox has no udhcpc"; exit 77; }

export XENPROV_STATE_DIR=$T/state
set_() { "$X" settings set "$@" >/dev/null 2>"$T/err" || fail "settings set $*: $(cat "$T/err")"; }
set_ server 10.79.0.1
set_ pool.lan.range 10.79.0.100-10.79.0.199
set_ pool.lan.netmask 255.255.255.0
set_ pool.lan.router 10.79.0.1
set_ pool.lan.dns 10.79.0.53,10.79.0.54
set_ pool.lan.domain test.lan
set_ pool.lan.lease-time 600
set_ pool.far.range 10.80.0.100-10.80.0.150
set_ pool.far.netmask 255.255.255.0
set_ pool.far.router 10.80.0.1
set_ tftp-root "$T/tftp"
set_ http-port 8080
mkdir -p "$T/tftp"
echo kernel >"$T/vmlinuz"
echo initrd >"$T/initrd"
"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" >/dev/null || fail "distro add"
"$X" system add alpha --mac 52:54:00:aa:00:01 --ip 10.79.0.50 --distro deb --hostname alpha >/dev/null ||
	fail "system add alpha"
"$X" system add beta --mac 52:54:00:aa:00:02 --ip 10.79.0.51 --distro deb >/dev/null ||
	fail "system add beta"
"$X" system add gamma --mac 52:54:00:aa:00:09 --ip 10.79.0.59 --distro deb --netboot off >/dev/null ||
	fail "system add gamma"

# the client scripts: record the values, set the address, nothing else
cat >"$T/udhcpc.sh" <<'S'
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
cat >"$T/dhclient.sh" <<'S'
#!/bin/sh
case "$reason" in
BOUND | RENEW | REBOOT)
	{ echo "ip=$new_ip_address"; echo "router=$new_routers"
	  echo "dns=$new_domain_name_servers"; echo "domain=$new_domain_name"
	  echo "hostname=$new_host_name"; echo "boot_file=$new_filename"
	  echo "mask=$new_subnet_mask"; } >"$OUT"
	ip addr add "$new_ip_address/24" dev "$interface"
	;;
esac
exit 0
S
chmod +x "$T/udhcpc.sh" "$T/dhclient.sh"
cat >"$T/dhclient.conf" <<'S'
request subnet-mask, routers, domain-name-servers, domain-name, host-name;
S

udhcpc() { # NAMESPACE OUTFILE [ARGS...]
	local ns=$1 out=$2
	shift 2
	OUT=$out timeout 30 ip netns exec "$ns" busybox udhcpc -i eth0 -f -q -n -t 5 -T 2 \
		-s "$T/udhcpc.sh" "$@" >"$out.log" 2>&1
}
val() { sed -n "s/^$2=//p" "$1"; }
expect() { # FILE KEY WANT
	local got
	got=$(val "$1" "$2")
	[ "$got" = "$3" ] || fail "$(basename "$1"): $2 is '$got', want '$3'"
	ok
}

srv_ns 10.79.0.1/24
client_add c1 52:54:00:aa:00:01
client_add c2 52:54:00:aa:00:02
client_add c3 52:54:00:bb:00:03
client_add c4 52:54:00:bb:00:04
client_add c5 52:54:00:bb:00:05
client_add c9 52:54:00:aa:00:09
srv_start
# privileges dropped once the sockets are bound
uid=$(awk '/^Uid:/ {print $2}' "/proc/$SRV_PID/status")
[ "$uid" = "$(id -u nobody)" ] || fail "the server runs as uid $uid, not nobody"
ok

# 1. udhcpc, reserved
udhcpc c1 "$T/c1.env" || fail "udhcpc in c1 got no lease: $(tail -3 "$T/c1.env.log")"
expect "$T/c1.env" ip 10.79.0.50
expect "$T/c1.env" router 10.79.0.1
expect "$T/c1.env" dns "10.79.0.53 10.79.0.54"
expect "$T/c1.env" domain test.lan
expect "$T/c1.env" hostname alpha
expect "$T/c1.env" subnet 255.255.255.0
expect "$T/c1.env" boot_file pxelinux.0
expect "$T/c1.env" siaddr 10.79.0.1
expect "$T/c1.env" serverid 10.79.0.1
expect "$T/c1.env" lease 600
ip netns exec c1 curl -s -o "$T/leases.json" http://10.79.0.1:8080/api/leases || fail "GET /api/leases"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); l=[x for x in v if x["ip"]=="10.79.0.50"]; assert l and l[0]["mac"]=="52:54:00:aa:00:01" and l[0]["state"]=="bound", v' "$T/leases.json" ||
	fail "the API does not list alpha's lease: $(cat "$T/leases.json")"
ok

# 2. ISC dhclient, reserved
timeout 40 ip netns exec c2 dhclient -1 -v -e "OUT=$T/c2.env" -cf "$T/dhclient.conf" -sf "$T/dhclient.sh" \
	-lf "$T/c2.leases" -pf "$T/c2.pid" eth0 >"$T/c2.log" 2>&1 ||
	fail "dhclient in c2 got no lease: $(tail -5 "$T/c2.log")"
[ -s "$T/c2.pid" ] && kill "$(cat "$T/c2.pid")" 2>/dev/null
[ -s "$T/c2.env" ] || fail "dhclient ran no script: $(tail -8 "$T/c2.log")"
expect "$T/c2.env" ip 10.79.0.51
expect "$T/c2.env" router 10.79.0.1
expect "$T/c2.env" dns "10.79.0.53 10.79.0.54"
expect "$T/c2.env" domain test.lan
expect "$T/c2.env" hostname beta
expect "$T/c2.env" mask 255.255.255.0
expect "$T/c2.env" boot_file pxelinux.0

# 3. dynamic clients: distinct addresses from the pool
udhcpc c3 "$T/c3.env" || fail "udhcpc in c3 got no lease"
udhcpc c4 "$T/c4.env" || fail "udhcpc in c4 got no lease"
a3=$(val "$T/c3.env" ip)
a4=$(val "$T/c4.env" ip)
inpool() { local o=${1##10.79.0.}; [ "${1%.*}" = 10.79.0 ] && [ "$o" -ge 100 ] && [ "$o" -le 199 ]; }
inpool "$a3" || fail "c3 got $a3, outside the pool"
inpool "$a4" || fail "c4 got $a4, outside the pool"
[ "$a3" != "$a4" ] || fail "c3 and c4 both got $a3"
ok

# 4. netboot off: an address, no boot file
udhcpc c9 "$T/c9.env" || fail "udhcpc in c9 got no lease"
expect "$T/c9.env" ip 10.79.0.59
expect "$T/c9.env" boot_file ""

# 5. the leases are in the inventory, and survive kill -9
rows=$(sqlite3 "$XENPROV_STATE_DIR/inventory.db" "SELECT count(*) FROM leases WHERE state='bound'")
[ "$rows" -ge 5 ] || fail "$rows bound leases stored, want at least 5"
ok
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
SRV_PID=
srv_start
grep -q "stored lease(s) restored" "$T/serve.log" || fail "the restarted server restored no lease"
ok
# a new client must not get c3's or c4's address
udhcpc c5 "$T/c5.env" || fail "udhcpc in c5 got no lease after the restart"
a5=$(val "$T/c5.env" ip)
inpool "$a5" || fail "c5 got $a5"
[ "$a5" != "$a3" ] && [ "$a5" != "$a4" ] || fail "after kill -9, c5 got $a5, already leased"
ok
# c3 renews (INIT-REBOOT asking for its address) and keeps it
udhcpc c3 "$T/c3b.env" -r "$a3" || fail "c3 could not renew"
expect "$T/c3b.env" ip "$a3"

# 6. through a relay: client c6 on 10.80.0.0/24 behind ISC dhcrelay
ns_add rl$TAG
ip link add up0 netns rl$TAG type veth peer name vrl netns "$SRV"
ip -n "$SRV" link set vrl master br0
ip -n "$SRV" link set vrl up
ip -n rl$TAG addr add 10.79.0.2/24 dev up0
ip -n rl$TAG link set up0 up
ip -n rl$TAG link add br1 type bridge
ip -n rl$TAG addr add 10.80.0.1/24 dev br1
ip -n rl$TAG link set br1 up
ip netns exec rl$TAG sysctl -qw net.ipv4.ip_forward=1
ip -n "$SRV" route add 10.80.0.0/24 via 10.79.0.2
client_add c6 52:54:00:cc:00:06 rl$TAG br1
ip netns exec rl$TAG dhcrelay -4 -d -q -iu up0 -id br1 10.79.0.1 >"$T/relay.log" 2>&1 &
PIDS+=($!)
sleep 1
udhcpc c6 "$T/c6.env" || fail "c6 got no lease through the relay: $(tail -5 "$T/relay.log")"
a6=$(val "$T/c6.env" ip)
case "$a6" in 10.80.0.1[0-4][0-9] | 10.80.0.150) ok ;; *) fail "c6 got '$a6' through the relay, want 10.80.0.100-150" ;; esac
expect "$T/c6.env" router 10.80.0.1

# 7. SIGTERM: a clean exit, the pid file removed
srv_stop || fail "the server exited with an error on SIGTERM"
[ ! -s "$T/serve.pid" ] || fail "the pid file still names the stopped server"
ok
echo "PASS: $n checks"
