#!/bin/bash
# serve-dhcp.sh - `xenprov serve`'s DHCP with real clients in network namespaces:
# busybox udhcpc and ISC dhclient get their reserved address, router, DNS servers,
# domain, and a boot file only when they are network boot clients (PXEClient vendor
# class, iPXE user class); dynamic clients get distinct addresses from the pool; a
# reservation of the server's own, the router's, the network or the broadcast address
# or one off the pools (an older inventory; settings changed since) is never handed
# out, logged once; the API refuses such a reservation like the CLI; dropped packets
# are logged a few a second, the names in them escaped; leases
# survive a kill -9 of the server (a restarted server gives a renewing client its
# address back and nobody else that address); a client behind ISC dhcrelay gets an
# address of the relay's subnet, answered through the relay (giaddr); a system with
# netboot off gets no boot file; SIGTERM stops the server cleanly.
#
# Our own client scripts only record what they are given and set the address: a
# distribution's hook script is never run (it would rewrite the host's resolv.conf).
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need busybox dhclient dhcrelay sqlite3 curl python3 timeout
busybox udhcpc --help >/dev/null 2>&1 || { echo "SKIP: busybox has no udhcpc"; exit 77; }

srv_settings
srv_set pool.lan.range 10.79.0.100-10.79.0.199
srv_set pool.lan.netmask 255.255.255.0
srv_set pool.lan.router 10.79.0.1
srv_set pool.lan.dns 10.79.0.53,10.79.0.54
srv_set pool.lan.domain test.lan
srv_set pool.lan.lease-time 600
srv_set pool.far.range 10.80.0.100-10.80.0.150
srv_set pool.far.netmask 255.255.255.0
srv_set pool.far.router 10.80.0.1
echo kernel >"$T/vmlinuz"
echo initrd >"$T/initrd"
"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" >/dev/null || fail "distro add"
"$X" system add alpha --mac 52:54:00:aa:00:01 --ip 10.79.0.50 --distro deb --hostname alpha >/dev/null ||
	fail "system add alpha"
"$X" system add beta --mac 52:54:00:aa:00:02 --ip 10.79.0.51 --distro deb >/dev/null ||
	fail "system add beta"
"$X" system add gamma --mac 52:54:00:aa:00:09 --ip 10.79.0.59 --distro deb --netboot off >/dev/null ||
	fail "system add gamma"

# dhclient's script: record the values, set the address, nothing else (udhcpc's is
# serve-env.sh's)
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
chmod +x "$T/dhclient.sh"
cat >"$T/dhclient.conf" <<'S'
request subnet-mask, routers, domain-name-servers, domain-name, host-name;
send vendor-class-identifier "PXEClient:Arch:00000:UNDI:002001";
S

expect() { # FILE KEY WANT
	local got
	got=$(val "$1" "$2")
	[ "$got" = "$3" ] || fail "$(basename "$1"): $2 is '$got', want '$3'"
	ok
}

# reservations that must never be handed out, as an older inventory may hold them (the
# CLI and the API refuse them now, see below): the broadcast, the network, the
# server's own and router's address, and one in no pool's subnet
for r in "bcast 52:54:00:dd:00:01 10.79.0.255" "net 52:54:00:dd:00:02 10.79.0.0" \
	"own 52:54:00:dd:00:03 10.79.0.1" "offnet 52:54:00:dd:00:04 192.168.77.7"; do
	set -- $r
	sqlite3 "$XENPROV_STATE_DIR/inventory.db" "INSERT INTO systems (name, mac, ip, distro,
		netboot, created, updated) VALUES ('$1', '$2', '$3', 'deb', 1, 0, 0)" ||
		fail "cannot insert system $1"
done

srv_ns 10.79.0.1/24
client_add c1 52:54:00:aa:00:01
client_add c2 52:54:00:aa:00:02
client_add c3 52:54:00:bb:00:03
client_add c4 52:54:00:bb:00:04
client_add c5 52:54:00:bb:00:05
client_add c9 52:54:00:aa:00:09
client_add d1 52:54:00:dd:00:01
client_add d2 52:54:00:dd:00:02
client_add d3 52:54:00:dd:00:03
client_add d4 52:54:00:dd:00:04
client_add d5 52:54:00:dd:00:05
srv_start
# privileges dropped once the sockets are bound
uid=$(awk '/^Uid:/ {print $2}' "/proc/$SRV_PID/status")
[ "$uid" = "$(id -u nobody)" ] || fail "the server runs as uid $uid, not nobody"
ok

# 1. udhcpc, reserved: a plain client (vendor class "udhcp 1.x") gets no boot file
udhcpc c1 "$T/c1.env" || fail "udhcpc in c1 got no lease: $(tail -3 "$T/c1.env.log")"
expect "$T/c1.env" ip 10.79.0.50
expect "$T/c1.env" router 10.79.0.1
expect "$T/c1.env" dns "10.79.0.53 10.79.0.54"
expect "$T/c1.env" domain test.lan
expect "$T/c1.env" hostname alpha
expect "$T/c1.env" subnet 255.255.255.0
expect "$T/c1.env" boot_file ""
case "$(val "$T/c1.env" siaddr)" in "" | 0.0.0.0) ok ;; *) fail "a plain client got siaddr $(val "$T/c1.env" siaddr)" ;; esac
expect "$T/c1.env" serverid 10.79.0.1
expect "$T/c1.env" lease 600
# the same machine as a PXE client (option 60 PXEClient) gets the BIOS file and the next
# server; as iPXE (user class "iPXE", no PXEClient) the script URL
udhcpc c1 "$T/c1p.env" -V PXEClient:Arch:00000:UNDI:002001 || fail "udhcpc -V PXEClient in c1"
expect "$T/c1p.env" ip 10.79.0.50
expect "$T/c1p.env" boot_file pxelinux.0
expect "$T/c1p.env" siaddr 10.79.0.1
udhcpc c1 "$T/c1i.env" -x 0x4d:69505845 || fail "udhcpc with user class iPXE in c1"
expect "$T/c1i.env" boot_file http://10.79.0.1:8080/ipxe/01-52-54-00-aa-00-01
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

# 4. netboot off: an address, no boot file, even as a PXE client
udhcpc c9 "$T/c9.env" -V PXEClient:Arch:00000:UNDI:002001 || fail "udhcpc in c9 got no lease"
expect "$T/c9.env" ip 10.79.0.59
expect "$T/c9.env" boot_file ""

# 4b. reservations never handed out: each of those clients gets a pool address and its
# hostname; each refusal is logged once, however often the server reloads
for c in d1:bcast d2:net d3:own d4:offnet; do
	udhcpc "${c%%:*}" "$T/${c%%:*}.env" || fail "udhcpc in ${c%%:*} got no lease"
	a=$(val "$T/${c%%:*}.env" ip)
	inpool "$a" || fail "${c#*:}'s client got $a, not a pool address"
	expect "$T/${c%%:*}.env" hostname "${c#*:}"
done
grep -q "system 'bcast' (52:54:00:dd:00:01): 10.79.0.255 is the broadcast address of its subnet: not handed out" "$T/serve.log" ||
	fail "the refused broadcast reservation was not logged"
grep -q "system 'net' (52:54:00:dd:00:02): 10.79.0.0 is the network address of its subnet" "$T/serve.log" ||
	fail "the refused network reservation was not logged"
grep -q "system 'own' (52:54:00:dd:00:03): 10.79.0.1 is the server's own address" "$T/serve.log" ||
	fail "the refused reservation of the server's address was not logged"
grep -q "system 'offnet' (52:54:00:dd:00:04): 192.168.77.7 is in no pool's subnet" "$T/serve.log" ||
	fail "the refused off-net reservation was not logged"
ok
# the CLI and the API refuse them now
"$X" system add bcast2 --mac 52:54:00:dd:00:11 --ip 10.79.0.255 --distro deb 2>"$T/err" &&
	fail "system add with the broadcast address was accepted"
grep -q "error: ip: 10.79.0.255 is the broadcast address of pool lan's subnet 10.79.0.0/24" "$T/err" ||
	fail "system add .255: $(cat "$T/err")"
ok
TOKEN=$(cat "$XENPROV_STATE_DIR/api-token") || fail "no API token"
for ip in 10.79.0.255 10.79.0.0 10.79.0.1 192.168.77.8; do
	code=$(ip netns exec c1 curl -s -o "$T/put.json" -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $TOKEN" \
		-d "{\"mac\": \"52:54:00:dd:00:12\", \"ip\": \"$ip\", \"distro\": \"deb\"}" \
		http://10.79.0.1:8080/api/systems/viaapi) || fail "curl PUT"
	[ "$code" = 400 ] || fail "PUT of a system at $ip: HTTP $code, want 400: $(cat "$T/put.json")"
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e.startswith("ip: " + sys.argv[2] + " is "), e' \
		"$T/put.json" "$ip" || fail "PUT at $ip: $(cat "$T/put.json")"
	ok
done
"$X" system show viaapi >/dev/null 2>&1 && fail "a refused PUT stored the system"
ok
# a settings change after a system was added: its reservation becomes the router's;
# kept with a warning, and the server stops handing it out
"$X" system add delta --mac 52:54:00:dd:00:05 --ip 10.79.0.60 --distro deb >/dev/null ||
	fail "system add delta"
"$X" settings set pool.lan.router 10.79.0.60 2>"$T/err" || fail "settings set router"
grep -q "warning: system 'delta': ip: 10.79.0.60 is the router of pool lan" "$T/err" ||
	fail "no warning for delta: $(cat "$T/err")"
# the reload that takes the new router in refuses delta's reservation
srv_reload_logged "system 'delta' (52:54:00:dd:00:05): 10.79.0.60 is a pool's router"
udhcpc d5 "$T/d5.env" || fail "udhcpc in d5 got no lease"
a=$(val "$T/d5.env" ip)
inpool "$a" || fail "delta got $a after its address became the router's"
grep -q "system 'delta' (52:54:00:dd:00:05): 10.79.0.60 is a pool's router: not handed out" "$T/serve.log" ||
	fail "delta's refused reservation was not logged"
reloads=$(srv_reloads)
"$X" settings set pool.lan.router 10.79.0.1 2>/dev/null || fail "settings set router back"
srv_reloaded_past "$reloads"
for name in bcast net own offnet; do
	k=$(grep -c "system '$name' (" "$T/serve.log")
	[ "$k" = 1 ] || fail "the refusal of $name's reservation was logged $k times, want once"
done
ok

# 4c. a burst of DISCOVERs far over a client's rate (10, then 5 a second): the drops are
# logged ten a second at most with one line for the rest, and the host name and vendor class
# the client sent (an ESC sequence, BEL, a byte above 0x7e) are escaped
ip netns exec d5 python3 - <<'PY' || fail "cannot send the burst"
import socket, struct
def opt(code, v):
    return bytes([code, len(v)]) + v
pkt = (struct.pack("!BBBBIHHIIII", 1, 1, 6, 0, 0x5eed, 0, 0x8000, 0, 0, 0, 0)
       + bytes.fromhex("525400dd00ee") + bytes(10 + 64 + 128) + b"\x63\x82\x53\x63"
       + opt(53, b"\x01") + opt(12, b"\x1b[31mevil\xff") + opt(60, b"vend\x07or") + b"\xff")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
for _ in range(300):
    s.sendto(pkt, ("255.255.255.255", 67))
PY
sleep 2.5 # the count of the lines left out comes at the next second
grep -qF "dropped DISCOVER of 52:54:00:dd:00:ee host '\x1b[31mevil\xff' vendor 'vend\x07or' from 10.79.0." "$T/serve.log" ||
	fail "no drop line with the escaped names: $(grep dropped "$T/serve.log" | head -3)"
k=$(grep -c "dropped DISCOVER of 52:54:00:dd:00:ee" "$T/serve.log")
[ "$k" -ge 1 ] && [ "$k" -le 25 ] || fail "$k lines for one client's burst of 300, want a few"
grep -q "dhcp: [0-9]* more message(s) like these in the last second not logged (at most 10 a second); the last: dropped a packet of 52:54:00:dd:00:ee from 10.79.0.[0-9]*:[0-9]*: client over its rate limit" "$T/serve.log" ||
	fail "no line counting the drops left out"
LC_ALL=C grep -n '[^ -~]' "$T/serve.log" | head -3 | grep . && fail "raw control or high bytes in the log"
ok

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
relay_ns rl$TAG 10.79.0.2/24 10.80.0.1/24 10.80.0.0/24
client_add c6 52:54:00:cc:00:06 rl$TAG br1
ip netns exec rl$TAG dhcrelay -4 -d -q -iu up0 -id br1 10.79.0.1 >"$T/relay.log" 2>&1 &
PIDS+=($!)
# ready once its UDP port 67 is bound: it opens that socket after its packet sockets on
# up0 and br1
wait_udp rl$TAG 67 $! || fail "dhcrelay did not bind port 67 within 10 s: $(tail -5 "$T/relay.log")"
udhcpc c6 "$T/c6.env" || fail "c6 got no lease through the relay: $(tail -5 "$T/relay.log")"
a6=$(val "$T/c6.env" ip)
case "$a6" in 10.80.0.1[0-4][0-9] | 10.80.0.150) ok ;; *) fail "c6 got '$a6' through the relay, want 10.80.0.100-150" ;; esac
expect "$T/c6.env" router 10.80.0.1

# 7. SIGTERM: a clean exit, the pid file removed
srv_stop || fail "the server exited with an error on SIGTERM"
[ ! -s "$T/serve.pid" ] || fail "the pid file still names the stopped server"
ok
echo "PASS: $n checks"
