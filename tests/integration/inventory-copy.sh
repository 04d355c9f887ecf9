#!/bin/bash
# inventory-copy.sh - `xenprov inventory migrate` and `xenprov inventory copy` through
# the real program, beside a throwaway PostgreSQL cluster (lib/pg-cluster):
#  - a populated SQLite inventory (distros, profiles with settings and a parent,
#    systems, a template, install attempts and events, domains with a deploy, leases)
#    copied to PostgreSQL and back into a new SQLite file: every table's rows equal
#    to the original's (install events in their order), `xenprov report --json` equal
#    on all three; the counts printed per table; PostgreSQL's sequences past the ids
#    copied (the next deploy row gets a new id);
#  - a target holding records is refused unless --force; schemas at different versions
#    are refused with the advice to migrate; migrate says from/to (--dry-run changes
#    nothing), brings a new database to the current version and refuses a newer one.
# Domains, deploys, leases and install events are written with sqlite3 behind the
# program's back: making them for real needs a toolstack (deploy-fleet.sh) and a DHCP
# client; here only their copying is tested.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip (only
# when PostgreSQL is not installed).
if [ -z "${XP_TEST_PGURL:-}" ]; then
	exec "$(dirname "$0")/lib/pg-cluster" bash "$0" "$@"
fi
. "$(dirname "$0")/lib/common.sh" || exit 1
need sqlite3
scratch a back files
URL=$XP_TEST_PGURL
unset XENPROV_INVENTORY
A=$T/a/inventory.db
pg() { psql -X -A -t -q "$URL" -c "$1"; }

# ---- a populated SQLite inventory ----------------------------------------------------------

printf 'KERNEL' >"$T/files/vmlinuz"
printf 'INITRD' >"$T/files/initrd"
printf 'late: {{hostname}}\n' >"$T/files/tpl"
# a child made before its parent's parent is set: rowid order is not parent order
expect_rc 0 profile add child --memory 256 --state-dir "$T/a"
expect_rc 0 profile add base --vcpus 2 --dns 10.0.0.53 --state-dir "$T/a"
expect_rc 0 profile edit child --parent base --state-dir "$T/a"
expect_rc 0 distro add deb --kernel "$T/files/vmlinuz" --initrd "$T/files/initrd" \
	--state-dir "$T/a"
expect_rc 0 profile edit base --distro deb --state-dir "$T/a"
expect_rc 0 template add late --file "$T/files/tpl" --state-dir "$T/a"
expect_rc 0 settings set server 10.0.0.1 --state-dir "$T/a"
expect_rc 0 settings set pool.lab.range 10.0.0.100-10.0.0.199 --state-dir "$T/a"
expect_rc 0 settings set pool.lab.netmask /24 --state-dir "$T/a"
expect_rc 0 system add n1 --mac 52:54:00:00:00:01 --ip 10.0.0.11 --profile child \
	--install on --autoinstall late --state-dir "$T/a"
expect_rc 0 system add n2 --mac 52:54:00:00:00:02 --distro deb --netboot off --state-dir "$T/a"
sqlite3 "$A" "
INSERT INTO deploys (id, started, finished, state, request) VALUES (7, 100, 200, 'done', '{}');
INSERT INTO domains (name, profile, state, mac, ip, storage, disk_path, config_path, settings,
  deploy_id, created, updated) VALUES
  ('g1', 'child', 'ready', '00:16:3e:00:00:01', '10.0.1.2', 'file', '/x/g1.img', '/etc/xen/g1',
   '{\"memory\":\"256\"}', 7, 100, 150),
  ('g2', 'base', 'ready', '00:16:3e:00:00:02', '10.0.1.3', 'file', '/x/g2.img', '/etc/xen/g2',
   '{}', 7, 100, 160);
INSERT INTO leases VALUES (167772260, X'0152540000000001', '52:54:00:00:00:01', 'n1', 'bound',
  2000000000, 1000), (167772261, X'00ff', NULL, NULL, 'offered', 1999999999, 1001);
INSERT INTO install_events (system, install, time, kind, step, message) VALUES
  ('n1', 1, 300, 'progress', 'partition', 'b'), ('n1', 1, 299, 'progress', 'fetch', 'a'),
  ('n1', 1, 301, 'failure', 'write', 'disk full');
" || fail "cannot write the domains, leases and events"
ok

# every table's rows, sorted (and install events in their own order): one file per db
dump_sqlite() {
	local db=$1 out=$2 t
	: >"$out"
	for t in $(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"); do
		echo "== $t" >>"$out"
		sqlite3 -cmd '.mode quote' "$db" "SELECT * FROM \"$t\"" | LC_ALL=C sort >>"$out"
	done
	echo "== install_events in order" >>"$out"
	sqlite3 -cmd '.mode quote' "$db" "SELECT * FROM install_events ORDER BY rowid" >>"$out"
}
dump_sqlite "$A" "$T/dump-a"
grep -q "X'0152540000000001'" "$T/dump-a" || fail "the dump lacks the lease's client id"
ok
expect_rc 0 report --json --secrets --state-dir "$T/a"
cp "$T/stdout" "$T/report-a"
for k in profiles systems domains leases distros; do
	expect_rc 0 report "$k" --json --secrets --state-dir "$T/a"
	cp "$T/stdout" "$T/report-a-$k"
done

# ---- migrate -------------------------------------------------------------------------------

latest=$(sqlite3 "$A" "PRAGMA user_version")
expect_rc 0 inventory migrate --state-dir "$T/a" --json
json_ok "$T/stdout" "j['from'] == j['to'] == j['latest'] == $latest and not j['changed']"
# a new PostgreSQL database: nothing yet, then the whole schema
pg "CREATE SCHEMA fresh" || fail "psql failed"
FRESH="$URL&options=-csearch_path%3Dfresh"
expect_rc 0 inventory migrate --dry-run --state-dir "$T/a" --inventory "$FRESH"
out_has "schema version 0 -> $latest (dry run: not changed)"
[ "$(pg "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'fresh'")" = 0 ] ||
	fail "--dry-run made tables"
ok
expect_rc 0 inventory migrate --state-dir "$T/a" --inventory "$FRESH"
out_has "schema version 0 -> $latest"
[ "$(pg "SELECT version FROM fresh.xenprov_schema")" = "$latest" ] || fail "not migrated"
ok
expect_rc 0 inventory migrate --state-dir "$T/a" --inventory "$FRESH"
out_has "schema version $latest, up to date"

# ---- SQLite -> PostgreSQL ------------------------------------------------------------------

expect_rc 0 inventory copy --from "sqlite:$A" --to "$FRESH" --state-dir "$T/a" --json
json_ok "$T/stdout" "j['tables']['profiles'] == 2 and j['tables']['leases'] == 2 and \
j['tables']['install_events'] == 3 and j['tables']['domains'] == 2 and \
j['tables']['systems'] == 2 and j['tables']['profile_settings'] >= 4 and \
j['rows'] == sum(j['tables'].values()) and 'xenprov_schema' not in j['tables']"
[ "$(pg "SELECT count(*) FROM fresh.domains")" = 2 ] || fail "PostgreSQL holds no domains"
ok
[ "$(pg "SELECT encode(client, 'hex') FROM fresh.leases WHERE ip = 167772260")" = \
	0152540000000001 ] || fail "a lease's client id changed on the way"
ok
# the same reports from PostgreSQL
expect_rc 0 report --json --secrets --state-dir "$T/a" --inventory "$FRESH"
cmp -s "$T/stdout" "$T/report-a" || fail "report --json differs on PostgreSQL: $(diff "$T/report-a" "$T/stdout" | head -5)"
ok
for k in profiles systems domains leases distros; do
	expect_rc 0 report "$k" --json --secrets --state-dir "$T/a" --inventory "$FRESH"
	cmp -s "$T/stdout" "$T/report-a-$k" || fail "report $k --json differs on PostgreSQL"
	ok
done

# a target with records: refused, then replaced with --force
expect_rc 1 inventory copy --from "sqlite:$A" --to "$FRESH" --state-dir "$T/a"
err_has "holds records"
err_has "--force"
expect_rc 0 inventory copy --from "sqlite:$A" --to "$FRESH" --force --state-dir "$T/a"
out_has "profiles             2"
out_has "copied "
[ "$(pg "SELECT count(*) FROM fresh.profiles")" = 2 ] || fail "--force did not replace"
ok

# ---- PostgreSQL -> a new SQLite file -------------------------------------------------------

B=$T/back/copy.db
expect_rc 0 inventory migrate --state-dir "$T/a" --inventory "sqlite:$B"
out_has "schema version 0 -> $latest"
expect_rc 0 inventory copy --from "$FRESH" --to "sqlite:$B" --state-dir "$T/a"
dump_sqlite "$B" "$T/dump-b"
cmp -s "$T/dump-a" "$T/dump-b" || fail "the tables differ after the round trip: $(diff "$T/dump-a" "$T/dump-b" | head -10)"
ok
expect_rc 0 report --json --secrets --state-dir "$T/a" --inventory "sqlite:$B"
cmp -s "$T/stdout" "$T/report-a" || fail "report --json differs after the round trip"
ok
# sqlite:DIR means DIR/inventory.db
expect_rc 0 report --json --secrets --state-dir "$T/back" --inventory "sqlite:$T/a"
cmp -s "$T/stdout" "$T/report-a" || fail "sqlite:DIR is not DIR/inventory.db"
ok

# PostgreSQL's sequences: past the ids copied
id=$(pg "INSERT INTO fresh.deploys (started, state, request) VALUES (1, 'done', '{}') RETURNING id")
[ "$id" -gt 7 ] || fail "the next deploy id is $id, not past the copied 7"
ok

# ---- versions ------------------------------------------------------------------------------

sqlite3 "$B" "PRAGMA user_version = $((latest - 1))" || fail "sqlite3 failed"
expect_rc 1 inventory copy --from "sqlite:$B" --to "$FRESH" --force --state-dir "$T/a"
err_has "the schemas differ"
err_has "xenprov inventory migrate"
expect_rc 0 inventory migrate --dry-run --json --state-dir "$T/a" --inventory "sqlite:$B"
json_ok "$T/stdout" "j['from'] == $((latest - 1)) and j['to'] == $latest and not j['changed']"
[ "$(sqlite3 "$B" "PRAGMA user_version")" = $((latest - 1)) ] || fail "--dry-run migrated"
ok
expect_rc 0 inventory migrate --state-dir "$T/a" --inventory "sqlite:$B"
out_has "schema version $((latest - 1)) -> $latest"
expect_rc 0 inventory copy --from "sqlite:$B" --to "$FRESH" --force --state-dir "$T/a"
sqlite3 "$B" "PRAGMA user_version = $((latest + 1))" || fail "sqlite3 failed"
expect_rc 1 inventory migrate --state-dir "$T/a" --inventory "sqlite:$B"
err_has "schema version $((latest + 1)), newer than this xenprov"
expect_rc 2 inventory copy --from "$FRESH" --state-dir "$T/a"
err_has "both --from and --to"
pass
