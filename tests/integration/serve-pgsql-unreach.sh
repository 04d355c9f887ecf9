#!/bin/bash
# serve-pgsql-unreach.sh - `xenprov serve` whose PostgreSQL, reached over TCP, goes out
# of reach without answering (issue 20): its host down, SYNs unanswered, where libpq's
# PQreset would wait for the kernel's SYN retries (minutes) and the main loop with it.
# Everything runs in a network namespace of the test's own (lo only, removed with the
# test): the throwaway cluster (lib/pg-cluster, XP_PG_TCP=1) on its 127.0.0.1, the
# server there, tftp-hpa and curl as clients. Proven:
#  - PostgreSQL restarted behind an nftables rule of that namespace that drops every
#    SYN to its port: the server logs the lost connection, its reconnection attempts get
#    no answer and are given up after 10 s each (logged: "no answer within 10 s");
#    meanwhile, for 16 s, a system's pxelinux config is answered by TFTP (tftp-hpa) and
#    by HTTP (curl --max-time 2) within 2 s every time, as served before (the snapshot);
#  - the rule removed: the server reconnects on its schedule (1, 2, 4... s apart) and a
#    change made by the command line is served by HTTP and TFTP within 2 s of that.
# With the blocking PQreset the TFTP answers stop for as long as each attempt hangs.
# Run by CTest with XENPROV. Exit 0 pass, 1 fail, 77 skip.
if [ -z "${XP_TEST_PGURL:-}" ]; then
	if [ -z "${XP_UNREACH_NS:-}" ]; then
		[ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
		for t in unshare nft ip tftp curl; do
			command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
		done
		export XP_UNREACH_NS=1 XP_PRIVATE_MOUNTS=1
		exec unshare --net --mount --propagation private bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
	fi
	export XP_PG_TCP=1
	exec "$(dirname "$0")/lib/pg-cluster" bash "$0" "$@"
fi
. "$(dirname "$0")/lib/common.sh" || exit 1
need nft tftp curl timeout
T=$(mktemp -d /tmp/xp-unreach.XXXXXX) || fail "cannot make a directory in /tmp"
chmod 755 "$T" # the server runs as nobody
at_exit scratch_remove "$T" # kept with XP_KEEP_TMP=1
SRV_PID=
at_exit eval '[ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null'
fail_context() {
	[ -s "$T/serve.log" ] && sed 's/^/  serve: /' "$T/serve.log" | tail -25
	return 0
}
[ -n "${XP_TEST_PGPORT:-}" ] || fail "the cluster does not listen on TCP"
export XENPROV_INVENTORY="postgresql://127.0.0.1:$XP_TEST_PGPORT/xenprov?user=xenprov"
export XENPROV_STATE_DIR=$T/state
srv_set() { "$X" settings set "$@" >/dev/null 2>"$T/err" || fail "settings set $*: $(cat "$T/err")"; }
srv_set server 127.0.0.1
mkdir -p "$T/tftp"
srv_set tftp-root "$T/tftp"
echo kernel >"$T/vmlinuz"
echo initrd >"$T/initrd"
"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" >/dev/null || fail "distro add"
"$X" system add alpha --mac 52:54:00:aa:00:01 --distro deb >/dev/null || fail "system add"
chown -R nobody: "$T/state"
CFG=pxelinux.cfg/01-52-54-00-aa-00-01

"$X" serve --http --http-port 8080 --tftp --user nobody --pid-file "$T/serve.pid" -v \
	>>"$T/serve.log" 2>&1 &
SRV_PID=$!
wait_until 20 test -s "$T/serve.pid" || fail "the server did not start"
wait_until 10 grep -q "snapshot taken" "$T/serve.log" || fail "no snapshot of the inventory taken"
# http_get OUT / tftp_get OUT: the config, 2 s at most; the time it took in ms in $ms
http_get() {
	local t0=$(date +%s%N)
	code=$(curl -s -o "$1" -w '%{http_code}' --max-time 2 "http://127.0.0.1:8080/$CFG")
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$code" = 200 ]
}
tftp_get() {
	local t0=$(date +%s%N) r
	rm -f "$1"
	(cd "$T" && timeout 2 tftp -m binary 127.0.0.1 -c get "$CFG" "$1") >/dev/null 2>&1 && [ -s "$1" ]
	r=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	return $r
}
http_get "$T/before" && grep -q deb "$T/before" || fail "alpha's config is not served by HTTP ($code)"
tftp_get "$T/before.tftp" && cmp -s "$T/before" "$T/before.tftp" || fail "TFTP does not serve alpha's config as HTTP does"
ok

# ---- out of reach: every SYN to PostgreSQL's port dropped, then PostgreSQL restarted
# (its backends end their connections: lost at once; no new one gets an answer) ----
nft -f - <<EOF || fail "cannot add the nftables rule"
table inet xp_unreach {
	chain out {
		type filter hook output priority 0;
		tcp dport $XP_TEST_PGPORT tcp flags & (syn | ack) == syn drop
	}
}
EOF
nft_clean() { nft delete table inet xp_unreach 2>/dev/null; }
at_exit nft_clean
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
runuser -u nobody -- "$pgbin/pg_ctl" restart -D "$XP_TEST_PGDIR/data" -m fast -w -t 30 >/dev/null ||
	fail "cannot restart PostgreSQL"
wait_until 5 grep -q "database is out of reach" "$T/serve.log" || fail "the server did not log the lost connection"
ok
# 16 s of requests, one of each a second: each answered within 2 s, as before
t_end=$(($(date +%s) + 16))
n_req=0
max_t=0
max_h=0
while [ "$(date +%s)" -lt "$t_end" ]; do
	tftp_get "$T/away.tftp" && cmp -s "$T/before" "$T/away.tftp" ||
		fail "TFTP did not answer alpha's config within 2 s while PostgreSQL is out of reach ($ms ms, after $n_req rounds)"
	[ "$ms" -gt "$max_t" ] && max_t=$ms
	http_get "$T/away" && cmp -s "$T/before" "$T/away" ||
		fail "HTTP did not answer alpha's config within 2 s while PostgreSQL is out of reach ($code, $ms ms)"
	[ "$ms" -gt "$max_h" ] && max_h=$ms
	n_req=$((n_req + 1))
	sleep 0.5
done
[ "$n_req" -ge 8 ] || fail "only $n_req rounds of requests in 16 s"
grep -q "still out of reach (no answer within 10 s)" "$T/serve.log" ||
	fail "no reconnection attempt was given up after 10 s: the SYNs were not dropped"
echo "PostgreSQL out of reach for 16 s: $n_req rounds, TFTP at most $max_t ms, HTTP at most $max_h ms"
ok

# ---- back: the rule removed; reconnected on the schedule, a change served at once ----
nft delete table inet xp_unreach || fail "cannot remove the nftables rule"
t0=$(date +%s%N)
wait_until 45 grep -q "database is back: reconnected" "$T/serve.log" ||
	fail "the server did not reconnect within 45 s of PostgreSQL being reachable"
back=$((($(date +%s%N) - t0) / 1000000))
"$X" system edit alpha --hostname later >/dev/null || fail "system edit"
t0=$(date +%s%N)
until http_get "$T/after" && grep -q hostname=later "$T/after"; do
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 2000 ] || fail "HTTP does not serve the change within 2 s"
	sleep 0.05
done
hms=$((($(date +%s%N) - t0) / 1000000))
until tftp_get "$T/after.tftp" && grep -q hostname=later "$T/after.tftp"; do
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 2000 ] || fail "TFTP does not serve the change within 2 s"
	sleep 0.05
done
echo "reachable again: reconnected after $back ms (the backoff's schedule); the change served by HTTP after $hms ms, by TFTP after $((($(date +%s%N) - t0) / 1000000)) ms"
ok
kill -TERM "$SRV_PID"
wait "$SRV_PID" || fail "the server did not stop cleanly"
SRV_PID=
ok
pass
