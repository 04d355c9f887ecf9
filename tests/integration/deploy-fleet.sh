#!/bin/bash
# deploy-fleet.sh - running a fleet of deploys: `deploy list` and `deploy show` (text and
# JSON); `--rollback` that names its deploy, refuses without a terminal when more than
# one deploy has guests and no id is given, asks on a terminal (a pty made by
# script(1)), takes --yes, --profile and --dry-run (which lists guests and files and
# removes nothing; with lib/fake-xl standing in for xl, which guests run), refuses a
# running guest before asking, and says "nothing to roll back" without an errno tail; addresses
# that follow the guests' names under --jobs 4 (20 guests listed in reverse order,
# asserted name by name); a pool too small, failing the last names only; where configs
# go (--config-dir, the profile's config-dir, the setting config-dir) and a missing
# config directory as one error before any guest is made.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need python3 tar script
scratch
export XENPROV_STATE_DIR=$T/state

# a small golden root (a kernel for pygrub, the default boot method)
guest_tarball "$T/root.tgz"
mkdir -p "$T/cfg" "$T/pool"
expect_rc 0 profile add web --image "$T/root.tgz" --disk-size 32M --storage qcow2 \
	--network static --ip-pool 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 --pool "$T/pool"
expect_rc 0 profile add db --parent web

# ---- no deploys yet ------------------------------------------------------------------------
expect_rc 0 deploy list
quiet
expect_rc 0 deploy list --json
json_ok "$T/stdout" 'j == []'
expect_rc 1 deploy --rollback
err_is "xenprov: no deploy has guests left to roll back"
expect_rc 1 deploy --rollback --profile web
err_is "xenprov: no deploy of profile 'web' has guests left to roll back"

# ---- addresses follow the names, whatever order the workers finish in -----------------------
# 20 guests named web1..web20, listed in reverse, made 4 at a time: web1 gets the pool's
# first free address (.2: .1 is the gateway and the name server), web20 the 20th
for i in $(seq 20 -1 1); do echo "web$i"; done >"$T/names"
expect_rc 0 deploy --profile web --names-from "$T/names" --jobs 4 --config-dir "$T/cfg" -q
out_is "deploy 1: 20 created, 0 skipped, 0 failed"
expect_rc 0 domain list --json
json_ok "$T/stdout" '{d["name"]: d["ip"] for d in j} == {"web%d" % i: "10.77.0.%d" % (i + 1) for i in range(1, 21)}'
for i in 1 2 9 10 11 20; do
	"$X" config get "$T/cfg/web$i.cfg" vif >"$T/vif" || fail "config get web$i"
	grep -q "ip=10.77.0.$((i + 1))" "$T/vif" || fail "web$i's config has $(cat "$T/vif"), want 10.77.0.$((i + 1))"
	ok
done
# a second deploy goes on from there, in its own name order (--count, 4 at a time)
expect_rc 0 deploy --profile db --count 5 --name 'db%02d' --jobs 4 --config-dir "$T/cfg" -q
expect_rc 0 domain list --json
json_ok "$T/stdout" '{d["name"]: d["ip"] for d in j if d["name"].startswith("db")} == {"db%02d" % i: "10.77.0.%d" % (21 + i) for i in range(1, 6)}'

# a pool too small: its addresses go to the first names, the others fail before any is
# made, saying why; what was made stays
expect_rc 0 profile add tiny --parent web --ip-pool 10.78.0.0/29 --gateway 10.78.0.1 --dns 10.78.0.1
printf 't%d\n' 7 6 5 4 3 2 1 >"$T/tnames"
expect_rc 1 deploy --profile tiny --names-from "$T/tnames" --jobs 4 --config-dir "$T/cfg" -q
out_is "deploy 3: 5 created, 0 skipped, 2 failed"
err_has "xenprov: t6: failed: the ip-pool 10.78.0.0/29 has no free address"
err_has "xenprov: t7: failed: the ip-pool 10.78.0.0/29 has no free address"
expect_rc 0 domain list --json
json_ok "$T/stdout" '{d["name"]: d["ip"] for d in j if d["name"].startswith("t")} == {"t%d" % i: "10.78.0.%d" % (i + 1) for i in range(1, 6)}'
[ ! -e "$T/cfg/t6.cfg" ] && [ ! -e "$T/cfg/t7.cfg" ] || fail "a guest with no address was made"
ok

# ---- deploy list and show -----------------------------------------------------------------------
expect_rc 0 deploy list
[ "$(head -1 "$T/stdout" | tr -s ' ')" = "ID PROFILE STARTED STATE TOTAL CREATED SKIPPED FAILED LEFT" ] ||
	fail "list header: $(head -1 "$T/stdout")"
ok
sed 1d "$T/stdout" | tr -s ' ' | cut -d' ' -f1,2,4- >"$T/rows"
printf '%s\n' "1 web done 20 20 0 0 20" "2 db done 5 5 0 0 5" "3 tiny failed 7 5 0 2 5" |
	cmp -s - "$T/rows" || fail "list rows: $(cat "$T/rows")"
ok
grep -Eq '^1 +web +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z ' "$T/stdout" || fail "list start time: $(cat "$T/stdout")"
ok
expect_rc 0 deploy list --json
json_ok "$T/stdout" '[(d["id"], d["profile"], d["state"], d["total"], d["created"], d["skipped"], d["failed"], d["cleaned"], d["guests"]) for d in j] ==
	[(1, "web", "done", 20, 20, 0, 0, 0, 20), (2, "db", "done", 5, 5, 0, 0, 0, 5), (3, "tiny", "failed", 7, 5, 0, 2, 0, 5)]'
json_ok "$T/stdout" 'all(d["finished"] >= d["started"] > 0 for d in j) and "--names-from" in j[0]["request"]'
expect_rc 0 deploy show 2
out_has "profile   db"
out_has "state     done"
out_has "created   5"
out_has "left      5"
grep -Eq "^db03 +ready +10\.77\.0\.24 +qcow2 +$T/pool/db03\.qcow2 +$T/cfg/db03\.cfg$" "$T/stdout" ||
	fail "show's guest row: $(cat "$T/stdout")"
ok
expect_rc 0 deploy show 2 --json
json_ok "$T/stdout" 'j["deploy"]["id"] == 2 and j["deploy"]["profile"] == "db" and j["deploy"]["guests"] == 5'
json_ok "$T/stdout" '[g["name"] for g in j["guests"]] == ["db01", "db02", "db03", "db04", "db05"] and
	j["guests"][0]["config"] == "'"$T"'/cfg/db01.cfg" and j["guests"][0]["ip"] == "10.77.0.22"'
expect_rc 1 deploy show 99
err_is "xenprov: no deploy 99 (see 'xenprov deploy list')"
expect_rc 2 deploy show x1
expect_rc 2 deploy show
expect_rc 0 deploy list -h
out_has "Usage: xenprov deploy list [--json]"
# the verbs beside the deploy itself: both are in its help
expect_rc 0 deploy -h
out_has "Usage: xenprov deploy --profile P (--count N"
out_has "xenprov deploy list [--json]"
out_has "xenprov deploy show ID [--json]"
out_has "Verbs:"
expect_rc 0 help deploy show
out_has "Usage: xenprov deploy show ID [--json]"

# ---- rollback ------------------------------------------------------------------------------
count_guests() { "$X" domain list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
[ "$(count_guests)" = 30 ] || fail "30 guests before the rollbacks, not $(count_guests)"
ok
# no terminal, no id, three deploys with guests: refused, nothing removed
expect_rc 1 deploy --rollback
err_has "xenprov: 3 deploys have guests: name the one to roll back (the newest is 3): xenprov deploy --rollback 3"
err_has "hint: 'xenprov deploy list' shows them"
expect_rc 1 deploy --rollback --yes
err_has "3 deploys have guests"
[ "$(count_guests)" = 30 ] || fail "a refused rollback removed guests"
ok
# --dry-run lists the guests and their files and removes nothing
expect_rc 0 deploy --rollback 2 --dry-run
out_has "deploy 2 (profile 'db', started "
out_has "would remove 5 guests (dry run: nothing removed)"
grep -Eq "^db05 +ready +qcow2 +$T/pool/db05\.qcow2 +$T/cfg/db05\.cfg$" "$T/stdout" || fail "dry run row: $(cat "$T/stdout")"
ok
expect_rc 0 deploy --rollback 2 --dry-run --json
json_ok "$T/stdout" 'j["dry_run"] and j["deploy"]["id"] == 2 and len(j["guests"]) == 5 and
	j["guests"][0]["files"] == [{"kind": "config", "path": "'"$T"'/cfg/db01.cfg"}, {"kind": "disk", "path": "'"$T"'/pool/db01.qcow2"}] and
	not any(g["running"] for g in j["guests"])'
# without an id a dry run names the deploy a rollback would take, and says so
expect_rc 0 deploy --rollback --dry-run
out_has "deploy 3 (profile 'tiny'"
[ "$(count_guests)" = 30 ] && [ -e "$T/cfg/db05.cfg" ] && [ -e "$T/pool/db05.qcow2" ] || fail "a dry run removed something"
ok
expect_rc 2 deploy --dry-run --profile web --count 1
err_has "--dry-run goes with --rollback only"
expect_rc 2 deploy --rollback 2 --count 3
err_has "--count does not go with --rollback"

# on a terminal it asks: "n" (or nothing) removes nothing, "y" goes ahead
tty_run() { # ANSWER ARG...: xenprov ARG... on a pty (script(1)) fed ANSWER
	local answer=$1
	shift
	printf '%s\n' "$answer" | script -qec "$(printf '%q ' "$X" "$@")" /dev/null >"$T/tty" 2>&1
	rc=$?
}
tty_run n deploy --rollback
[ "$rc" = 1 ] || fail "declined on a terminal: exit $rc: $(cat "$T/tty")"
grep -q "Roll back deploy 3 (profile 'tiny', started .*): remove its 5 guests, their disks and configs? \[y/N\]" "$T/tty" ||
	fail "no question: $(cat "$T/tty")"
grep -q "deploy 3 (profile 'tiny'.*) not rolled back: nothing removed" "$T/tty" || fail "declined: $(cat "$T/tty")"
ok
[ "$(count_guests)" = 30 ] || fail "a declined rollback removed guests"
ok
tty_run y deploy --rollback
[ "$rc" = 0 ] || fail "confirmed on a terminal: exit $rc: $(cat "$T/tty")"
grep -q "deploy 3 rolled back: 5 guests removed" "$T/tty" || fail "confirmed: $(cat "$T/tty")"
ok
[ "$(count_guests)" = 25 ] && [ ! -e "$T/cfg/t1.cfg" ] && [ ! -e "$T/pool/t1.qcow2" ] || fail "the confirmed rollback left guests"
ok
# --yes on a terminal asks nothing
tty_run "" deploy --rollback 2 --yes
[ "$rc" = 0 ] && grep -q "deploy 2 rolled back: 5 guests removed" "$T/tty" || fail "--yes: exit $rc: $(cat "$T/tty")"
ok
! grep -q 'Roll back' "$T/tty" || fail "--yes asked"
ok
# one deploy with guests left: no id needed, even without a terminal; it is named first
expect_rc 0 deploy --rollback --profile web --json
err_has "xenprov: rolling back deploy 1 (profile 'web', started "
err_has "): removing 20 guests"
json_ok "$T/stdout" 'j == {"deploy": 1, "profile": "web", "removed": 20, "failed": 0}'
[ "$(count_guests)" = 0 ] || fail "guests left after the last rollback"
ok
[ -z "$(find "$T/cfg" "$T/pool" -mindepth 1)" ] || fail "files left: $(find "$T/cfg" "$T/pool" -mindepth 1)"
ok
expect_rc 0 deploy list --json
json_ok "$T/stdout" '[(d["id"], d["state"], d["guests"]) for d in j] == [(1, "rolled-back", 0), (2, "rolled-back", 0), (3, "rolled-back", 0)]'
# a running guest (the toolstack is lib/fake-xl, a stand-in for xl: no Xen runs here):
# a dry run says so, a rollback refuses it before asking (domain-life.sh has --force)
mkdir -p "$T/xl"
export XENPROV_XL=$XP_SRC/tests/integration/lib/fake-xl XP_FAKE_XL_STATE=$T/xl
expect_rc 0 deploy --profile web --count 2 --name 'run%d' --config-dir "$T/cfg" -q
expect_rc 0 domain start run1
expect_rc 0 deploy --rollback --dry-run
grep -Eq "^run1 +running +qcow2 " "$T/stdout" && grep -Eq "^run2 +ready +qcow2 " "$T/stdout" ||
	fail "dry run with a running guest: $(cat "$T/stdout")"
ok
err_is "xenprov: 1 of them run: the rollback refuses them unless --force"
expect_rc 0 deploy --rollback --dry-run --json
json_ok "$T/stdout" '[g["running"] for g in j["guests"]] == [True, False]'
tty_run y deploy --rollback
[ "$rc" = 1 ] || fail "a rollback of a running guest: exit $rc: $(cat "$T/tty")"
! grep -q 'Roll back' "$T/tty" || fail "asked although it must refuse: $(cat "$T/tty")"
grep -q "xenprov: domain 'run1' is running" "$T/tty" &&
	grep -q "cannot roll back: guests are running (nothing was removed)" "$T/tty" || fail "refusal: $(cat "$T/tty")"
ok
[ -e "$T/cfg/run1.cfg" ] && [ -e "$T/cfg/run2.cfg" ] || fail "a refused rollback removed a guest"
ok
expect_rc 0 deploy --rollback --force
err_has "removing 2 guests (1 running: shut down first)"
err_has "xenprov: note: domain 'run1' was shut down"
out_is "deploy 4 rolled back: 2 guests removed"
unset XENPROV_XL XP_FAKE_XL_STATE

# nothing left: one message, no errno tail
expect_rc 1 deploy --rollback
err_is "xenprov: no deploy has guests left to roll back"
err_lacks "No such file or directory"
expect_rc 1 deploy --rollback 42
err_is "xenprov: no deploy 42
    hint: see 'xenprov deploy list'"

# ---- where configs go -----------------------------------------------------------------------------
# a missing config directory is one error, before any guest is made or recorded
expect_rc 0 settings set config-dir "$T/xen"
err_is "warning: the directory $T/xen does not exist (yet)
    hint: make it before the next deploy"
expect_rc 1 deploy --profile web --count 5 --name 'm%d' -j 4
err_is "xenprov: the config directory $T/xen (the setting config-dir) does not exist"
out_empty
expect_rc 1 deploy --profile web --count 5 --name 'm%d' --config-dir "$T/none"
err_is "xenprov: the config directory $T/none (--config-dir) does not exist"
expect_rc 0 domain list --json
json_ok "$T/stdout" 'j == []'
[ -z "$(ls "$T/pool")" ] || fail "a refused deploy made disks: $(ls "$T/pool")"
ok
expect_rc 0 deploy list --json
json_ok "$T/stdout" 'len(j) == 4'
# the setting, then the profile's, then --config-dir
mkdir -p "$T/xen" "$T/xen-db" "$T/xen-opt"
expect_rc 0 settings show --json
json_ok "$T/stdout" '{s["key"]: (s["value"], s["default"]) for s in j}["config-dir"] == ("'"$T"'/xen", False)'
expect_rc 0 deploy --profile web --count 2 --name 's%d' -q
[ -e "$T/xen/s1.cfg" ] && [ -e "$T/xen/s2.cfg" ] || fail "the setting config-dir was not used: $(ls "$T/xen")"
ok
expect_rc 0 profile edit db --config-dir "$T/xen-db/"
expect_rc 0 profile show db --json
json_ok "$T/stdout" 'j["settings"]["config-dir"] == "'"$T"'/xen-db"'
expect_rc 0 deploy --profile db --count 1 --name 'p%d' -q
[ -e "$T/xen-db/p1.cfg" ] || fail "the profile's config-dir was not used"
ok
expect_rc 0 domain create p2 --profile db
[ -e "$T/xen-db/p2.cfg" ] || fail "domain create did not use the profile's config-dir"
ok
expect_rc 0 deploy --profile db --count 1 --name 'o%d' --config-dir "$T/xen-opt" -q
[ -e "$T/xen-opt/o1.cfg" ] && [ ! -e "$T/xen-db/o1.cfg" ] || fail "--config-dir did not come first"
ok
expect_rc 1 profile edit db --config-dir relative/dir
err_has "config-dir: not an absolute directory path"
expect_rc 1 settings set config-dir relative
expect_rc 0 settings unset config-dir

pass
