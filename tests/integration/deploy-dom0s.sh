#!/bin/bash
# deploy-dom0s.sh - many dom0s deploying into one PostgreSQL inventory at once (issue
# 20): four "dom0" processes, each `xenprov deploy` of 250 guests in a UTS namespace
# of its own (its host name dom0a..dom0d, the name each guest's record must carry)
# with a state directory and storage pool of its own, all on one throwaway cluster
# (lib/pg-cluster) and one profile, started together. Checked: every deploy made its
# 250; the deploys overlapped in time (each started before any finished); 1,000
# domain rows with 1,000 distinct MACs and 1,000 distinct addresses, in the database
# and in the xl configs written; each row's dom0 is the host that made it.
# A Xen hypervisor cannot run here: lib/fake-xl stands in for xl (XENPROV_XL), as in
# deploy-fleet.sh; the guests' disks are small qcow2 overlays of one 32 MiB golden
# image per dom0.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip (no
# PostgreSQL, or not root: a UTS namespace needs CAP_SYS_ADMIN).
if [ -z "${XP_TEST_PGURL:-}" ]; then
	exec "$(dirname "$0")/lib/pg-cluster" bash "$0" "$@"
fi
. "$(dirname "$0")/lib/common.sh" || exit 1
need tar unshare hostname
[ "$(id -u)" -eq 0 ] || skip "a UTS namespace per dom0 needs root"
scratch
URL=$XP_TEST_PGURL
export XENPROV_INVENTORY=$URL XENPROV_XL=$XP_SRC/tests/integration/lib/fake-xl
pg() { psql -X -A -t -q "$URL" -c "$1"; }

guest_tarball "$T/root.tgz"
# one profile for all: its pool (1,022 addresses) shared by every dom0
expect_rc 0 profile add fleet --image "$T/root.tgz" --disk-size 32M --storage qcow2 \
	--network static --ip-pool 10.80.0.0/22 --gateway 10.80.0.1 --dns 10.80.0.1 \
	--state-dir "$T/a"

hosts="dom0a dom0b dom0c dom0d"
start=$(date +%s)
pids=()
for h in $hosts; do
	mkdir -p "$T/$h/pool" "$T/$h/cfg" "$T/$h/xl"
	# the profile's pool directory is each dom0's own: --set overrides it per run
	XP_FAKE_XL_STATE=$T/$h/xl unshare -u sh -c 'hostname "$1" && shift && exec "$@"' sh "$h" \
		"$X" deploy --profile fleet --count 250 --name "$h-%03d" --jobs 2 \
		--set "pool=$T/$h/pool" --config-dir "$T/$h/cfg" --state-dir "$T/$h" -q \
		>"$T/$h.out" 2>"$T/$h.err" </dev/null &
	pids+=($!)
done
i=0
for h in $hosts; do
	wait "${pids[$i]}" || fail "$h: deploy failed: $(head -5 "$T/$h.err")"
	grep -qx "deploy [0-9]*: 250 created, 0 skipped, 0 failed" "$T/$h.out" ||
		fail "$h: $(cat "$T/$h.out")"
	ok
	i=$((i + 1))
done
echo "four dom0s, 250 guests each: $(($(date +%s) - start)) s"

[ "$(pg "SELECT count(*) FROM deploys WHERE state = 'done'")" = 4 ] || fail "not 4 deploys done"
ok
[ "$(pg "SELECT max(started) <= min(finished) FROM deploys")" = t ] ||
	fail "the deploys did not run at once: $(pg "SELECT id, started, finished FROM deploys")"
ok
[ "$(pg "SELECT count(*), count(DISTINCT mac), count(DISTINCT ip) FROM domains
	 WHERE state = 'ready'")" = "1000|1000|1000" ] ||
	fail "domains, MACs, addresses: $(pg "SELECT count(*), count(DISTINCT mac), count(DISTINCT ip) FROM domains")"
ok
# each guest's dom0 is the host that made it
[ "$(pg "SELECT h.dom0, count(*) FROM domains d JOIN domain_hosts h ON h.domain = d.name
	 WHERE split_part(d.name, '-', 1) = h.dom0 GROUP BY h.dom0 ORDER BY h.dom0" | tr '\n' ' ')" = \
	"dom0a|250 dom0b|250 dom0c|250 dom0d|250 " ] || fail "dom0s: $(pg "SELECT dom0, count(*) FROM domain_hosts GROUP BY dom0")"
ok
# what the configs say: 1,000 configs, 1,000 MACs, 1,000 addresses
cat "$T"/dom0?/cfg/*.cfg >"$T/all.cfg"
[ "$(grep -c '^vif' "$T/all.cfg")" = 1000 ] || fail "not 1000 configs with a vif"
ok
[ "$(grep -o 'mac=[0-9a-f:]*' "$T/all.cfg" | sort -u | wc -l)" = 1000 ] || fail "MACs repeat in the configs"
ok
[ "$(grep -o 'ip=[0-9.]*' "$T/all.cfg" | sort -u | wc -l)" = 1000 ] || fail "addresses repeat in the configs"
ok
# and what the command line shows from another host
expect_rc 0 domain show dom0c-042 --json --state-dir "$T/a"
json_ok "$T/stdout" "j['dom0'] == 'dom0c' and j['state'] == 'ready'"
pass
