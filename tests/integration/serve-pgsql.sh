#!/bin/bash
# serve-pgsql.sh - two `xenprov serve` sharing one PostgreSQL inventory and one pool,
# beside a throwaway cluster (lib/pg-cluster: initdb as nobody, a Unix socket only):
# the two servers are in network namespaces of their own, on one bridge (in a third)
# with the clients, each with its own address (--address) and the same pool.
#  - Kea's perfdhcp against each server at once (relayed, unicast: each server sees only
#    its own clients, and both take addresses from the one pool, in the same order):
#    no address is acknowledged to two clients, from perfdhcp's received leases (-x l)
#    and from the database, where every acknowledged lease is its client's; and no
#    exchange of a server not killed waited 3 s or more (perfdhcp's max delay, offer and
#    ACK), where a conflict between the servers once cost clients their 4 s timeout;
#  - kill -9 of one server in the middle of a run, then a restart: every lease
#    perfdhcp got acknowledged before the kill is still in the database, bound to its
#    client, and the restarted server serves again, with no address given twice;
#  - a system added with the command line while both run is seen by both within a
#    second (each logged its reload), and each offers it its reserved address (busybox
#    udhcpc, with only that server reachable); a burst of 20 commits is a few reloads;
#  - while PostgreSQL is stopped each server logs it and hands out no address (it
#    could not store the lease); boot configs go on being served from the last snapshot
#    of the inventory: a system's pxelinux config by HTTP (curl) and by TFTP (tftp-hpa)
#    with the content served before, a plain file too, each within a second; the API
#    answers 503 within a second (nothing waits for libpq's connect timeout); when it
#    is back both reconnect, serve the next client, and a change made since is served
#    by HTTP and TFTP within a second.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
if [ -z "${XP_TEST_PGURL:-}" ]; then
	exec "$(dirname "$0")/lib/pg-cluster" bash "$0" "$@"
fi
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need busybox perfdhcp psql timeout awk tftp curl
busybox udhcpc --help >/dev/null 2>&1 || skip "busybox has no udhcpc"
export XENPROV_INVENTORY=$XP_TEST_PGURL
export XENPROV_STATE_DIR=$T/state
psql_q() { psql -X -A -t -q "$XP_TEST_PGURL" -c "$1"; }

# ---- the inventory: one pool, both servers' ----------------------------------------------
srv_set pool.lan.range 10.79.0.20-10.79.0.250
srv_set pool.lan.netmask 255.255.255.0
srv_set pool.lan.lease-time 3600
mkdir -p "$T/tftp"
srv_set tftp-root "$T/tftp"
echo kernel >"$T/vmlinuz"
echo initrd >"$T/initrd"
"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" >/dev/null || fail "distro add"
chown -R nobody: "$T/state" # each server's own state directory below, the store here

# ---- the network: bridge br0 in $SRV; servers s1, s2; perfdhcp p1, p2; client c1 ------
srv_ns 10.79.0.254/24
client_add s1 02:00:00:00:00:01
client_add s2 02:00:00:00:00:02
client_add p1 02:00:00:00:01:01
client_add p2 02:00:00:00:01:02
client_add c1 52:54:00:aa:00:01
ip -n s1 addr add 10.79.0.1/24 dev eth0
ip -n s2 addr add 10.79.0.2/24 dev eth0
ip -n p1 addr add 10.79.0.11/24 dev eth0
ip -n p2 addr add 10.79.0.12/24 dev eth0
port_of() { ip -n "$SRV" -o link show master br0 | awk -v n="$1" '{ sub(/@.*/, "", $2); p[++i] = $2 } END { print p[n] }'; }
# the bridge ports of s1 and s2 (made first and second)
PORT_S1=$(port_of 1)
PORT_S2=$(port_of 2)
[ -n "$PORT_S1" ] && [ -n "$PORT_S2" ] || fail "cannot find the servers' bridge ports"

declare -A SPID
# start N: server N in namespace sN, answering as 10.79.0.N; its log $T/sN.log
start() {
	local s=$1
	rm -f "$T/s$s.pid"
	ip netns exec "s$s" "$X" serve --dhcp --http --http-port 8080 --tftp --user nobody --interface eth0 \
		--address "10.79.0.$s" --pid-file "$T/s$s.pid" -v >>"$T/s$s.log" 2>&1 &
	SPID[$s]=$!
	PIDS+=("$!")
	wait_until 20 test -s "$T/s$s.pid" || fail "server $s did not start: $(tail -n 5 "$T/s$s.log")"
	kill -0 "${SPID[$s]}" 2>/dev/null || fail "server $s exited at start: $(tail -n 5 "$T/s$s.log")"
}
fail_context() {
	for k in 1 2; do [ -s "$T/s$k.log" ] && sed "s/^/  s$k: /" "$T/s$k.log" | tail -15; done
	return 0
}
"$X" serve --dhcp --address 10.79.0.300 >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "'10.79.0.300' is not an IPv4 address" "$T/err" ||
	fail "serve took --address 10.79.0.300: $(cat "$T/err")"
start 1
start 2
ok

# ---- perfdhcp against both at once, busybox clients beside, s1 killed in the middle ----
# perfdhcp N: its own 100 clients (MACs listed), 200 in all for the pool's 231
# addresses, so that the servers compete for most of them
for k in 1 2; do
	for i in $(seq 0 99); do printf '02:%02x:00:00:00:%02x\n' "$k" "$i"; done >"$T/macs$k"
done
# perf N SECONDS RUN: perfdhcp from pN to server N (relayed: unicast, giaddr pN's
# address), 100 exchanges a second; -x l prints each lease it receives (offers and
# ACKs) as ",ADDRESS,"
perf() {
	ip netns exec "p$1" timeout $(($2 + 20)) perfdhcp -4 -l "10.79.0.1$1" -r 100 -p "$2" \
		-M "$T/macs$1" -x l "10.79.0.$1" >"$T/perf$1-$3.txt" 2>&1
}
got_addrs() { sed -n 's/^,\([0-9.]*\),.*/\1/p' "$@" | sort -u; }
drops() { awk '/Statistics for: DISCOVER-OFFER/ { b = 1 } b && /^drops ratio:/ { print $3; exit }' "$1"; }
acks() { awk '/Statistics for: REQUEST-ACK/ { b = 1 } b && /^received packets:/ { print $3; exit }' "$1"; }
# max_delay FILE EXCHANGE: perfdhcp's longest wait for an answer, in ms ("max delay: N ms")
max_delay() { awk -v x="Statistics for: $2" 'index($0, x) { b = 1 } b && /^max delay:/ { print $3; exit }' "$1"; }
# busybox clients u1..u12 (broadcast: both servers hear them), one every 0.25 s; each
# records the address acknowledged and which server did (serverid)
NU=12
for i in $(seq $NU); do client_add "u$i" "$(printf '52:54:00:bb:00:%02x' "$i")"; done
udhcpc_script "$T/udhcpc.sh"
uclient() { OUT=$T/u$1.out timeout 20 ip netns exec "u$1" busybox udhcpc -i eth0 -f -q -n -t 5 \
	-T 1 -s "$T/udhcpc.sh" >"$T/u$1.log" 2>&1; }

perf 1 8 a &
PF1=$!
perf 2 8 a &
PF2=$!
UP=()
for i in $(seq $NU); do
	sleep 0.25
	uclient "$i" &
	UP+=($!)
done
sleep 0.5
# kill -9 of s1; what the clients had acknowledged by then, kept
kill -KILL "${SPID[1]}"
wait "${SPID[1]}" 2>/dev/null
mkdir "$T/before-kill"
cp "$T"/u*.out "$T/before-kill/" 2>/dev/null
wait "${UP[@]}" 2>/dev/null
n_before=$(ls "$T/before-kill" | wc -l)
n_from_s1=$(cat "$T"/before-kill/*.out 2>/dev/null | grep -c '^serverid=10.79.0.1$')
[ "$n_from_s1" -ge 1 ] ||
	fail "no busybox client was acknowledged by s1 before the kill ($n_before by anyone): nothing proven"
ok
start 1 # back, on the same database
wait "$PF1"
wait "$PF2"
for k in 1 2; do
	a=$(acks "$T/perf$k-a.txt")
	[ -n "$a" ] && [ "$a" -gt 0 ] || fail "perfdhcp $k got no ACK: $(tail -n 5 "$T/perf$k-a.txt")"
done
ok
# the restarted s1 serves again, beside s2
perf 1 3 b &
PF1=$!
perf 2 3 b &
PF2=$!
wait "$PF1"
wait "$PF2"
a=$(acks "$T/perf1-b.txt")
[ -n "$a" ] && [ "$a" -gt 0 ] || fail "the restarted s1 acknowledged nothing: $(tail -n 5 "$T/perf1-b.txt")"
ok
# no exchange waited 3 s or more (s1's first run ends with its kill: its unanswered
# exchanges are drops, not delays, but its second run counts)
for f in perf1-b perf2-a perf2-b; do
	for x in DISCOVER-OFFER REQUEST-ACK; do
		d=$(max_delay "$T/$f.txt" "$x")
		[ -n "$d" ] || fail "$f: perfdhcp reported no max delay for $x: $(tail -n 5 "$T/$f.txt")"
		awk -v d="$d" 'BEGIN { exit !(d < 3000) }' || fail "$f: an exchange ($x) waited $d ms"
	done
done
ok
echo "perfdhcp ACKs: s1 $(acks "$T/perf1-a.txt") (killed at 3.5 s) + $(acks "$T/perf1-b.txt"), s2 $(acks "$T/perf2-a.txt") ($(drops "$T/perf2-a.txt")% of DISCOVERs unanswered) + $(acks "$T/perf2-b.txt") ($(drops "$T/perf2-b.txt")%); max delay (ms) s1 b $(max_delay "$T/perf1-b.txt" REQUEST-ACK), s2 a $(max_delay "$T/perf2-a.txt" REQUEST-ACK), b $(max_delay "$T/perf2-b.txt" REQUEST-ACK); busybox before the kill: $n_before, $n_from_s1 by s1"

# ---- no address given to two clients ------------------------------------------------------
# perfdhcp's clients: what s1's were offered or acknowledged, s2's never were
got_addrs "$T"/perf1-*.txt >"$T/addrs1"
got_addrs "$T"/perf2-*.txt >"$T/addrs2"
[ -s "$T/addrs1" ] && [ -s "$T/addrs2" ] || fail "perfdhcp printed no leases"
both=$(comm -12 "$T/addrs1" "$T/addrs2")
[ -z "$both" ] || fail "given to clients of both servers: $(echo $both)"
ok
# the busybox clients: each its own address, none of them perfdhcp's
for f in "$T"/u*.out; do val "$f" ip; done | sort >"$T/uaddrs"
[ -s "$T/uaddrs" ] || fail "no busybox client got an address"
[ -z "$(uniq -d "$T/uaddrs")" ] || fail "busybox clients share addresses: $(uniq -d "$T/uaddrs")"
[ -z "$(comm -12 "$T/uaddrs" <(sort -u "$T/addrs1" "$T/addrs2"))" ] ||
	fail "a busybox client's address was perfdhcp's too: $(comm -12 "$T/uaddrs" <(sort -u "$T/addrs1" "$T/addrs2"))"
ok
# the database: each bound lease's client got that address from the server it talks
# to, and holds no other
psql_q "SELECT (ip >> 24) || '.' || ((ip >> 16) & 255) || '.' || ((ip >> 8) & 255) || '.' || (ip & 255), mac
	FROM leases WHERE state = 'bound'" | tr '|' ' ' >"$T/db-bound" || fail "psql failed"
[ -s "$T/db-bound" ] || fail "no bound lease in the database"
while read -r addr mac; do
	case $mac in
	02:01:*) grep -qx "$addr" "$T/addrs1" || fail "$addr bound to $mac in the database, never given to perfdhcp 1" ;;
	02:02:*) grep -qx "$addr" "$T/addrs2" || fail "$addr bound to $mac in the database, never given to perfdhcp 2" ;;
	52:54:00:bb:*) grep -qx "$addr" "$T/uaddrs" || fail "$addr bound to $mac in the database, not what that client got" ;;
	*) fail "a bound lease of an unknown client: $addr $mac" ;;
	esac
done <"$T/db-bound"
dup=$(awk '{ print $2 }' "$T/db-bound" | sort | uniq -d)
[ -z "$dup" ] || fail "clients with two bound leases: $dup"
ok
# every lease acknowledged before the kill is in the database, its client's
for f in "$T"/before-kill/*.out; do
	addr=$(val "$f" ip)
	i=$(basename "$f" .out)
	mac=$(printf '52:54:00:bb:00:%02x' "${i#u}")
	grep -qx "$addr $mac" "$T/db-bound" || fail "$addr, acknowledged to $mac before the kill ($(val "$f" serverid)), is not in the database"
done
ok

# ---- a system added while both run: served by both within a second --------------------
# cfg N: the pxelinux config server N's HTTP gives the new system (in $T/cfgN), its status
cfg() { ip netns exec p1 curl -s -o "$T/cfg$1" -w '%{http_code}' --max-time 5 \
	"http://10.79.0.$1:8080/pxelinux.cfg/01-52-54-00-aa-00-01"; }
[ "$(cfg 2)" = 404 ] || fail "s2's HTTP served a config for a system not added yet"
r1=$(grep -c 'reloaded (' "$T/s1.log")
r2=$(grep -c 'reloaded (' "$T/s2.log")
"$X" system add late --mac 52:54:00:aa:00:01 --ip 10.79.0.10 --distro deb >/dev/null ||
	fail "system add"
sleep 1
[ "$(grep -c 'reloaded (' "$T/s1.log")" -gt "$r1" ] || fail "s1 did not reload within a second"
[ "$(grep -c 'reloaded (' "$T/s2.log")" -gt "$r2" ] || fail "s2 did not reload within a second"
for k in 1 2; do
	[ "$(cfg $k)" = 200 ] && grep -q deb "$T/cfg$k" || fail "s$k's HTTP does not serve the new system's config"
done
ok
# each server alone on the bridge in turn offers the reservation
for k in 1 2; do
	other=$((3 - k))
	port=PORT_S$other
	ip -n "$SRV" link set "${!port}" down
	OUT=$T/c1-$k.out timeout 20 ip netns exec c1 busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 \
		-s "$T/udhcpc.sh" >"$T/c1-$k.log" 2>&1
	ip -n "$SRV" link set "${!port}" up
	[ "$(val "$T/c1-$k.out" ip)" = 10.79.0.10 ] ||
		fail "s$k gave the new system '$(val "$T/c1-$k.out" ip)', not its reservation 10.79.0.10"
	[ "$(val "$T/c1-$k.out" serverid)" = "10.79.0.$k" ] ||
		fail "the reservation came from '$(val "$T/c1-$k.out" serverid)', not s$k"
	ok
done

# a profile publishing its image openly: served without the token by either server,
# until it is closed (the open hashes follow PostgreSQL's notified changes)
truncate -s 8M "$T/gold.raw" && mkfs.ext4 -q -F "$T/gold.raw" && chown nobody: "$T/gold.raw" || fail "gold.raw"
"$X" profile add pubp --image "$T/gold.raw" --publish-image open >/dev/null 2>"$T/err" ||
	fail "profile add pubp: $(cat "$T/err")"
sleep 1
ip netns exec p1 curl -s -o "$T/pub.json" --max-time 60 "http://10.79.0.1:8080/api/profiles/pubp/image" ||
	fail "s1: no answer for pubp's image"
hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T/pub.json") ||
	fail "s1: pubp's image: $(tr -d "\n" <"$T/pub.json"); $(grep pubp "$T/s1.log" | tail -n 2 | tr "\n" " ")"
code() { ip netns exec p1 curl -s -o /dev/null -w '%{http_code}' --max-time 10 -r 0-0 "$1"; }
[ "$(code "http://10.79.0.1:8080/images/$hash")" = 206 ] || fail "s1 does not serve the open image"
"$X" profile edit pubp --publish-image token >/dev/null 2>"$T/err" || fail "profile edit: $(cat "$T/err")"
sleep 1
[ "$(code "http://10.79.0.1:8080/images/$hash")" = 401 ] || fail "s1 serves a closed profile's image without the token"
ok

# a burst of commits is a few reloads, not one each, and the last of them is served
r2=$(grep -c 'reloaded (' "$T/s2.log")
t0=$(date +%s%N)
for i in $(seq 20); do
	"$X" system add "burst$i" --mac "$(printf '52:54:00:cc:00:%02x' "$i")" --distro deb >/dev/null ||
		fail "system add burst$i"
done
secs=$((($(date +%s%N) - t0) / 1000000000 + 1))
sleep 1
reloads=$(($(grep -c 'reloaded (' "$T/s2.log") - r2))
[ "$reloads" -ge 1 ] && [ "$reloads" -le $((secs * 2 + 2)) ] ||
	fail "20 commits in ${secs}s made s2 reload $reloads times"
ip netns exec p1 curl -s -o "$T/burst.cfg" --max-time 5 \
	"http://10.79.0.2:8080/pxelinux.cfg/01-52-54-00-cc-00-14" && grep -q deb "$T/burst.cfg" ||
	fail "the burst's last system is not served"
ok

# ---- PostgreSQL away, then back: no address it cannot store, then reconnected ------------
# what both serve for the system 'late' before: the snapshot must give the same
LATE=pxelinux.cfg/01-52-54-00-aa-00-01
wait_until 5 grep -q "snapshot taken" "$T/s2.log" || fail "s2 took no snapshot of the inventory"
sleep 1 # the snapshot after the burst's last reload
echo "s2's last snapshot of the inventory: $(grep 'snapshot taken' "$T/s2.log" | tail -n 1 | sed 's/.*taken: //')"
cfg 2 >/dev/null && cp "$T/cfg2" "$T/late.before" && grep -q deb "$T/late.before" ||
	fail "s2 does not serve late's config before PostgreSQL stops"
ip netns exec p1 curl -s -o "$T/burst.before" --max-time 5 \
	"http://10.79.0.2:8080/pxelinux.cfg/01-52-54-00-cc-00-14" || fail "the burst's last config"
# tftp_get N FILE OUT: FILE from server N by tftp-hpa (binary), into OUT
tftp_get() { rm -f "$3" && (cd "$T" && timeout 5 ip netns exec p1 tftp -m binary "10.79.0.$1" -c get "$2" "$3") >/dev/null 2>&1 && [ -s "$3" ]; }
tftp_get 2 "$LATE" "$T/late.tftp.before" && cmp -s "$T/late.before" "$T/late.tftp.before" ||
	fail "s2's TFTP does not serve late's config as its HTTP does"
ok
# curl_timed URL OUT: the status code, and how long the answer took in ms in $ms; at
# most 1 s allowed (--max-time: 000 past it)
curl_timed() {
	local t0=$(date +%s%N)
	code=$(ip netns exec p1 curl -s -o "$2" -w '%{http_code}' --max-time 1 "$1")
	ms=$((($(date +%s%N) - t0) / 1000000))
}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# pg_stop N / pg_start N: PostgreSQL stopped (started, as lib/pg-cluster started it:
# pg_ctl start does not reuse postmaster.opts), until both servers logged the Nth loss
# (reconnection)
pg_stop() {
	local nth=$1
	runuser -u nobody -- "$pgbin/pg_ctl" stop -D "$XP_TEST_PGDIR/data" -m fast -w -t 30 >/dev/null ||
		fail "cannot stop PostgreSQL"
	for k in 1 2; do
		wait_until 5 eval '[ "$(grep -c "database is out of reach" "$T/s$k.log")" -ge "$nth" ]' ||
			fail "s$k did not log the lost connection"
	done
}
pg_start() {
	local nth=$1
	runuser -u nobody -- "$pgbin/pg_ctl" start -D "$XP_TEST_PGDIR/data" -w -t 30 -l "$XP_TEST_PGDIR/server.log" \
		-o "-c listen_addresses='' -c unix_socket_directories='$XP_TEST_PGDIR' -c fsync=off \
		    -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		>/dev/null || fail "cannot start PostgreSQL again"
	for k in 1 2; do
		wait_until 15 eval '[ "$(grep -c "database is back: reconnected" "$T/s$k.log")" -ge "$nth" ]' ||
			fail "s$k did not reconnect within 15 s"
	done
}
pg_stop 1
# a new client gets nothing (its lease could not be stored); plain files still go out
client_add c2 52:54:00:dd:00:01
OUT=$T/c2.out timeout 10 ip netns exec c2 busybox udhcpc -i eth0 -f -q -n -t 2 -T 1 \
	-s "$T/udhcpc.sh" >"$T/c2.log" 2>&1
[ ! -s "$T/c2.out" ] || fail "an address was handed out while PostgreSQL was away: $(cat "$T/c2.out")"
echo plain >"$T/tftp/plain.txt"
for k in 1 2; do
	curl_timed "http://10.79.0.$k:8080/plain.txt" "$T/plain.out"
	[ "$code" = 200 ] && [ "$(cat "$T/plain.out")" = plain ] ||
		fail "s$k: a plain file of the TFTP root is not served within 1 s while PostgreSQL is away ($code, $ms ms)"
	tms=$ms
	curl_timed "http://10.79.0.$k:8080/$LATE" "$T/late.away"
	[ "$code" = 200 ] || fail "s$k: late's config not served while PostgreSQL is away ($code, $ms ms)"
	cmp -s "$T/late.before" "$T/late.away" ||
		fail "s$k served late's config differently while PostgreSQL is away: $(cat "$T/late.away")"
	cms=$ms
	curl_timed "http://10.79.0.$k:8080/api/systems" "$T/api.away"
	[ "$code" = 503 ] && grep -q "out of reach" "$T/api.away" ||
		fail "s$k: the API answered $code in $ms ms while PostgreSQL is away: $(cat "$T/api.away")"
	echo "PostgreSQL away, s$k: plain file in $tms ms, late's config in $cms ms, API 503 in $ms ms"
	ok
	tftp_get "$k" "$LATE" "$T/late.tftp.away" && cmp -s "$T/late.before" "$T/late.tftp.away" ||
		fail "s$k's TFTP does not serve late's config from the snapshot: $(cat "$T/late.tftp.away" 2>&1)"
	ok
done
grep -q "served from the inventory's snapshot" "$T/s2.log" || fail "s2 did not log that it serves the snapshot"
ip netns exec p1 curl -s -o "$T/burst.away" --max-time 1 \
	"http://10.79.0.2:8080/pxelinux.cfg/01-52-54-00-cc-00-14" && cmp -s "$T/burst.before" "$T/burst.away" ||
	fail "the burst's last system is not in the snapshot"
# a system the snapshot does not know is still not found
[ "$(ip netns exec p1 curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
	"http://10.79.0.2:8080/pxelinux.cfg/01-52-54-00-ee-00-01")" = 404 ] || fail "an unknown MAC got a config"
ok
pg_start 1
ok
ip netns exec c1 ip addr flush dev eth0
OUT=$T/c1-3.out timeout 20 ip netns exec c1 busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 \
	-s "$T/udhcpc.sh" >"$T/c1-3.log" 2>&1
[ "$(val "$T/c1-3.out" ip)" = 10.79.0.10 ] || fail "no lease after PostgreSQL's restart"
# HTTP's own connection is back too (reset by the main loop), and HTTP and TFTP serve a
# change made since within a second
"$X" system edit late --hostname later >/dev/null || fail "system edit"
t0=$(date +%s%N)
cfg_has() { cfg "$1" >/dev/null && grep -q "$2" "$T/cfg$1"; }
until cfg_has 2 hostname=later; do
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 1000 ] ||
		fail "s2's HTTP does not serve the change made after PostgreSQL's restart within 1 s: $(cat "$T/cfg2")"
	sleep 0.05
done
hms=$((($(date +%s%N) - t0) / 1000000))
until tftp_get 2 "$LATE" "$T/late.tftp.after" && grep -q hostname=later "$T/late.tftp.after"; do
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 1000 ] ||
		fail "s2's TFTP does not serve the change made after PostgreSQL's restart within 1 s"
	sleep 0.05
done
echo "PostgreSQL back: the change served by HTTP after $hms ms, by TFTP after $((($(date +%s%N) - t0) / 1000000)) ms"
[ "$(ip netns exec p1 curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://10.79.0.2:8080/api/systems)" = 200 ] ||
	fail "s2's API does not answer after PostgreSQL's restart"
ok
# a second outage serves the snapshot taken since the first: the change is in it
sleep 1.5
pg_stop 2
curl_timed "http://10.79.0.2:8080/$LATE" "$T/late.away2"
[ "$code" = 200 ] && grep -q hostname=later "$T/late.away2" ||
	fail "the second outage's snapshot lacks the change made after the first ($code): $(cat "$T/late.away2")"
tftp_get 2 "$LATE" "$T/late.tftp.away2" && cmp -s "$T/late.away2" "$T/late.tftp.away2" ||
	fail "s2's TFTP does not serve the second outage's snapshot as HTTP does"
pg_start 2
ok
for k in 1 2; do
	kill -TERM "${SPID[$k]}"
	wait "${SPID[$k]}" || fail "s$k did not stop cleanly"
done
ok
pass
