#!/bin/bash
# domain-life.sh - end-to-end test of running guests with `xenprov domain`: the power
# state in list and show (running, stopped, and unknown with exit 0 where no toolstack
# answers), start/shutdown/reboot/destroy of several NAMEs (xl run with the right
# arguments, per-name errors, exit 1 if any failed), shutdown --wait and its timeout,
# console becoming `xl console` (the same process: its parent and exit status), the
# autostart link (made and removed whole, shown, never replacing a file not its own,
# removed with the guest), block-list in text and JSON for a qcow2 overlay guest (its
# backing image and sizes compared with qemu-img's reading of the same headers) and
# what xl says of a running one, delete and deploy --rollback refusing running guests
# and with --force shutting them down first (and destroying one that ignores it).
#
# A Xen hypervisor cannot run in these tests: lib/fake-xl, a shell script keeping the
# domains it "runs" in a state directory, stands in for the toolstack (named by
# XENPROV_XL; it answers list -l with xl's JSON, create, shutdown, reboot, destroy,
# block-list in xl's table, console). The real xl is exercised in the Xen lab
# (tests/xen).
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need qemu-img python3 tar
scratch root/etc root/bin cfg xl
export XENPROV_STATE_DIR=$T/state
S=$T/state
CFG=$T/cfg
C="--config-dir $CFG"
export XP_FAKE_XL_STATE=$T/xl
FAKE_XL=$XP_SRC/tests/integration/lib/fake-xl
export XENPROV_XL=$FAKE_XL

# the calls the fake xl got since the last look
xl_calls() {
	local all
	all=$(cat "$T/xl/log" 2>/dev/null | grep -v '^list -l$')
	: >"$T/xl/log"
	printf '%s\n' "$all" | sed '/^$/d' | tr '\n' ';'
}
calls_are() {
	local got
	got=$(xl_calls)
	[ "$got" = "$1" ] || fail "xl was called with '$got', want '$1'"
	ok
}
# power NAME: what `domain list --json` says of it
power() {
	"$X" domain list --json | python3 -c 'import json,sys; print({d["name"]: d["power"] for d in json.load(sys.stdin)}[sys.argv[1]])' "$1"
}
# domid NAME: its domain id, as `domain show --json` says
domid() {
	"$X" domain show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("domid", "-"))'
}
power_is() {
	local got
	got=$(power "$1")
	[ "$got" = "$2" ] || fail "$1 is $got, want $2"
	ok
}

echo guest >"$T/root/etc/hostname"
printf '#!/bin/sh\n' >"$T/root/bin/sh"
chmod 755 "$T/root/bin/sh"
tar -C "$T/root" --numeric-owner -czf "$T/root.tar.gz" .
echo kernel >"$T/vmlinuz-xen" # boot=kernel: a kernel file on this host is all xenprov checks
expect_rc 0 profile add life --image "$T/root.tar.gz" --disk-size 64M --network dhcp \
	--storage qcow2 --boot kernel --kernel "$T/vmlinuz-xen"
for g in a1 a2 a3; do
	expect_rc 0 domain create $g --profile life $C
done
expect_rc 0 domain create f1 --profile life $C --storage file

# usage
expect_rc 2 domain shutdown
expect_rc 2 domain shutdown a1 --timeout 5
expect_rc 2 domain shutdown a1 --wait --timeout soon
expect_rc 2 domain reboot a1 --wait
expect_rc 2 domain console
expect_rc 2 domain console a1 a2
expect_rc 2 domain autostart a1
expect_rc 2 domain autostart maybe a1
expect_rc 2 domain autostart on
expect_rc 2 domain block-list
expect_rc 2 domain delete a1 --timeout 5
expect_rc 2 domain create b1 --profile life $C --autostart yes
expect_rc 2 deploy --force --profile life --count 1
for v in start shutdown reboot destroy console autostart block-list; do
	expect_rc 0 domain $v -h
	out_has "Usage: xenprov domain $v"
done

# ---- no toolstack: every state unknown, never an error --------------------------------
XENPROV_XL=$T/no-such-xl expect_rc 0 domain list
grep -Eq '^a1 +ready +unknown ' "$T/stdout" || fail "list without xl: $(cat "$T/stdout")"; ok
XENPROV_XL=$T/no-such-xl expect_rc 0 domain list --json
json_ok "$T/stdout" 'all(d["power"] == "unknown" and "domid" not in d for d in j)'
XENPROV_XL=$T/no-such-xl expect_rc 0 domain show a1
out_has "power:    unknown ($T/no-such-xl not found)"
XENPROV_XL=$T/no-such-xl expect_rc 1 domain start a1
err_has "no Xen toolstack here ($T/no-such-xl not found)"
XENPROV_XL=$T/no-such-xl expect_rc 0 domain delete a3
# xl there but no Xen under it (outside dom0): its own words
touch "$T/xl/no-xen"
expect_rc 0 domain show a1 --json
json_ok "$T/stdout" 'j["power"] == "unknown" and j["autostart"] is False'
expect_rc 0 domain show a1
out_has "power:    unknown (xl list failed: xencall: error: Could not obtain handle"
expect_rc 1 domain shutdown a1
err_has "no Xen toolstack here (xl list failed: xencall"
rm "$T/xl/no-xen"
# xl.conf's output_format="sxp": not JSON, said so
touch "$T/xl/sxp"
expect_rc 0 domain show a1
out_has 'xl list -l did not print JSON (output_format="sxp" in xl.conf?)'
rm "$T/xl/sxp"
xl_calls >/dev/null

# ---- start, reboot, shutdown, destroy ------------------------------------------------------
power_is a1 stopped
expect_rc 0 domain start a1 a2
out_is "a1: started
a2: started"
calls_are "create $CFG/a1.cfg;create $CFG/a2.cfg;"
power_is a1 running
expect_rc 0 domain list
grep -Eq '^a1 +ready +running +off ' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
grep -Eq '^f1 +ready +stopped +off ' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
expect_rc 0 domain show a2 --json
json_ok "$T/stdout" 'j["power"] == "running" and j["domid"] == 2'
expect_rc 0 domain show a1
out_has "power:    running (domid 1)"
# per-name: an unknown name fails alone; a running guest is left as it is
expect_rc 1 domain start nope a1 f1
err_has "no domain 'nope'"
out_is "a1: already running
f1: started"
calls_are "create $CFG/f1.cfg;"
expect_rc 0 domain reboot a1
out_is "a1: rebooting"
calls_are "reboot a1;"
expect_rc 1 domain reboot a3x a2
err_has "no domain 'a3x'"
calls_are "reboot a2;"
expect_rc 0 domain destroy f1
out_is "f1: destroyed"
calls_are "destroy f1;"
expect_rc 1 domain reboot f1
err_has "domain 'f1' is not running"
expect_rc 0 domain destroy f1
out_is "f1: already stopped"
calls_are ""
# shutdown: asked, gone when the guest has shut down
expect_rc 0 domain shutdown a1
out_is "a1: shutting down"
calls_are "shutdown a1;"
power_is a1 stopped
expect_rc 0 domain shutdown -q a1
out_empty
# --wait: both asked first, then waited for together (each takes 3 s here: a2 is asked
# while a1 still shuts down, as the fake xl records)
expect_rc 0 domain start a1
echo 3000 >"$T/xl/shutdown-delay"
rm -f "$T/xl/shutdown-pending"
expect_rc 0 domain shutdown --wait a1 a2
out_is "a1: shutting down
a2: shutting down
a1: stopped
a2: stopped"
[ "$(cat "$T/xl/shutdown-pending")" = "a1:
a2: a1" ] || fail "shutdown --wait did not ask a2 while a1 shut down: $(cat "$T/xl/shutdown-pending")"; ok
calls_are "create $CFG/a1.cfg;shutdown a1;shutdown a2;"
power_is a2 stopped
# a guest that ignores the request: --timeout bounds the wait, and it is a failure
rm "$T/xl/shutdown-delay"
expect_rc 0 domain start a1
touch "$T/xl/stubborn-a1"
expect_rc 1 domain shutdown --wait --timeout 1 a1
err_has "domain 'a1' still runs after 1 s"
power_is a1 running
# a failing xl: its own words, per name
expect_rc 0 domain destroy f1
touch "$T/xl/fail-create"
expect_rc 1 domain start f1 a2
err_has "xl create $CFG/f1.cfg failed: Parsing config from $CFG/f1.cfg"
err_has "failed to run bootloader: -3"
err_has "xl create $CFG/a2.cfg failed"
rm "$T/xl/fail-create"
expect_rc 0 domain start f1
xl_calls >/dev/null

# ---- console: xenprov becomes xl console -------------------------------------------------
echo 7 >"$T/xl/console-rc"
expect_rc 7 domain console a1
# the fake xl's parent is this shell: xenprov's process was replaced, not forked
out_is "console of a1, parent $$"
calls_are "console a1;"
expect_rc 1 domain console nope
err_has "no domain 'nope'"
XENPROV_XL=$T/no-such-xl expect_rc 1 domain console a1
err_has "no Xen toolstack here"

# ---- autostart -------------------------------------------------------------------------------
[ ! -e "$CFG/auto" ] || fail "an auto directory before any autostart"; ok
expect_rc 0 domain autostart on a1 a2
out_is "a1: autostart on ($CFG/auto/a1.cfg)
a2: autostart on ($CFG/auto/a2.cfg)"
[ "$(readlink "$CFG/auto/a1.cfg")" = "$CFG/a1.cfg" ] || fail "auto/a1.cfg -> $(readlink "$CFG/auto/a1.cfg")"; ok
# made whole: the two links and nothing else (no temporary left)
[ "$(ls -A "$CFG/auto" | tr '\n' ' ')" = "a1.cfg a2.cfg " ] || fail "auto holds: $(ls -A "$CFG/auto")"; ok
expect_rc 0 domain autostart on a1
out_is "a1: autostart on ($CFG/auto/a1.cfg)"
expect_rc 0 domain show a1
out_has "autostart: on ($CFG/auto/a1.cfg)"
expect_rc 0 domain list
grep -Eq '^a1 +ready +running +on ' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
grep -Eq '^f1 +ready +running +off ' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
expect_rc 0 domain autostart off a2
out_is "a2: autostart off"
[ ! -e "$CFG/auto/a2.cfg" ] && [ ! -L "$CFG/auto/a2.cfg" ] || fail "auto/a2.cfg is still there"; ok
expect_rc 0 domain show a2 --json
json_ok "$T/stdout" 'j["autostart"] is False'
# what is not a link to the guest's config is not ours: never replaced nor removed
echo 'name = "other"' >"$CFG/auto/a2.cfg"
expect_rc 1 domain autostart on a2
err_has "$CFG/auto/a2.cfg exists and is not a link to $CFG/a2.cfg"
expect_rc 1 domain autostart off a2 nope
err_has "$CFG/auto/a2.cfg exists and is not a link to $CFG/a2.cfg"
err_has "no domain 'nope'"
grep -q other "$CFG/auto/a2.cfg" || fail "a foreign auto/a2.cfg was touched"; ok
rm "$CFG/auto/a2.cfg"
# at create
expect_rc 0 domain create a4 --profile life $C --autostart on
out_has "autostart on"
[ "$(readlink "$CFG/auto/a4.cfg")" = "$CFG/a4.cfg" ] || fail "create --autostart on made no link"; ok
expect_rc 0 domain create a5 --profile life $C --autostart off
[ ! -e "$CFG/auto/a5.cfg" ] || fail "create --autostart off made a link"; ok

# ---- block-list ---------------------------------------------------------------------------------
golden=$("$X" domain show a2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["golden"])')
qemu-img info --output=json "$S/disks/a2.qcow2" >"$T/a2.info" || fail "qemu-img info a2"
qemu-img info --output=json "$golden" >"$T/golden.info" || fail "qemu-img info golden"
expect_rc 0 domain block-list a2 --json
json_ok "$T/stdout" 'len(j) == 1 and j[0]["name"] == "a2" and j[0]["power"] == "stopped" and len(j[0]["disks"]) == 1'
json_ok "$T/stdout" 'j[0]["disks"][0]["vdev"] == "xvda" and j[0]["disks"][0]["devid"] == 51712 and j[0]["disks"][0]["format"] == "qcow2" and j[0]["disks"][0]["access"] == "rw" and j[0]["disks"][0]["xl"] is None and j[0]["disks"][0]["backend"] is None'
json_ok "$T/stdout" "j[0]['disks'][0]['path'] == '$S/disks/a2.qcow2' and j[0]['disks'][0]['xenprov'] and j[0]['disks'][0]['storage'] == 'qcow2' and j[0]['disks'][0]['golden'] == '$golden'"
# the image as qemu-img reads the same headers: virtual size, space used, backing file
json_ok "$T/stdout" "(lambda i, q, g: i['format'] == q['format'] == 'qcow2' and i['virtual_size'] == q['virtual-size'] and i['disk_usage'] == q['actual-size'] and i['backing']['file'] == q['backing-filename'] == '$golden' and i['backing']['format'] == q['backing-filename-format'] == g['format'] == 'raw' and i['backing']['virtual_size'] == g['virtual-size'] and i['backing']['disk_usage'] == g['actual-size'])(j[0]['disks'][0]['image'], load('$T/a2.info'), load('$T/golden.info'))"
expect_rc 0 domain block-list a2
out_has "a2: stopped, 1 disk"
grep -Eq '^xvda +51712 +- +qcow2 +rw +64 MiB .* +- +'"$S/disks/a2.qcow2"'$' "$T/stdout" || fail "block-list a2: $(cat "$T/stdout")"; ok
out_has "xvda: made by xenprov: qcow2 storage, golden image $golden"
out_has "xvda: backing $golden (raw, 64 MiB, "
# running: xl block-list's row joins it, and libxl's choice of backend
id1=$(domid a1)
expect_rc 0 domain block-list a1 f1 --json
json_ok "$T/stdout" '[g["name"] for g in j] == ["a1", "f1"] and all(g["power"] == "running" for g in j)'
json_ok "$T/stdout" 'j[0]["disks"][0]["xl"] == {"devid": 51712, "backend_id": 0, "handle": '$id1', "state": 4, "state_name": "connected", "evtch": 10, "ring_ref": 8, "be_path": "/local/domain/0/backend/qdisk/'$id1'/51712"} and j[0]["disks"][0]["backend"] == "qdisk" and j[0]["domid"] == '$id1
qemu-img info --output=json "$S/disks/f1.img" >"$T/f1.info" || fail "qemu-img info f1"
json_ok "$T/stdout" "(lambda d, q: d['format'] == 'raw' and d['image']['format'] == 'raw' and d['image']['backing'] is None and d['image']['virtual_size'] == q['virtual-size'] and d['image']['disk_usage'] == q['actual-size'])(j[1]['disks'][0], load('$T/f1.info'))"
expect_rc 0 domain block-list a1
out_has "a1: running (domid $id1), 1 disk"
grep -Eq '^xvda +51712 +qdisk +qcow2 +rw +64 MiB .* connected +'"$S/disks/a1.qcow2"'$' "$T/stdout" || fail "block-list a1: $(cat "$T/stdout")"; ok
out_has "xvda: xl: BE 0 handle $id1 state 4 evt-ch 10 ring-ref 8 BE-path /local/domain/0/backend/qdisk/$id1/51712"
# a disk attached since (xl block-attach) and a second config disk that is not there
echo '51744 0   1      4     12     9        /local/domain/0/backend/vbd/1/51744' >"$T/xl/extra-vbd"
expect_rc 0 config set "$CFG/a1.cfg" "disk=[ 'format=qcow2,vdev=xvda,access=rw,target=$S/disks/a1.qcow2', 'format=raw,vdev=xvdb,access=ro,target=$T/missing.img' ]"
expect_rc 0 domain block-list a1 --json
json_ok "$T/stdout" 'len(j[0]["disks"]) == 3 and j[0]["disks"][1]["vdev"] == "xvdb" and j[0]["disks"][1]["devid"] == 51728 and j[0]["disks"][1]["access"] == "ro" and j[0]["disks"][1]["xenprov"] is False and j[0]["disks"][1]["image"] is None and "No such file or directory" in j[0]["disks"][1]["error"] and j[0]["disks"][1]["xl"] is None'
json_ok "$T/stdout" 'j[0]["disks"][2]["vdev"] is None and j[0]["disks"][2]["devid"] == 51744 and j[0]["disks"][2]["xl"]["be_path"] == "/local/domain/0/backend/vbd/1/51744"'
expect_rc 0 domain block-list a1
grep -Eq '^- +51744 .* connected +\(attached since start\)$' "$T/stdout" || fail "block-list a1: $(cat "$T/stdout")"; ok
out_has "xvdb: cannot read $T/missing.img: No such file or directory"
rm "$T/xl/extra-vbd"
expect_rc 1 domain block-list nope a2
err_has "no domain 'nope'"
json_run_checks

# ---- delete and deploy --rollback with running guests -------------------------------------------
# a1 ignores shutdown (stubborn), f1 and a4 run, a2 and a5 are stopped
expect_rc 0 domain start a4
xl_calls >/dev/null
expect_rc 1 domain delete a1
err_has "domain 'a1' is running"
err_has "hint: shut it down first, or give --force"
err_has "cannot delete domain 'a1'"
calls_are ""
[ -e "$CFG/a1.cfg" ] && [ -e "$S/disks/a1.qcow2" ] && [ -L "$CFG/auto/a1.cfg" ] || fail "a refused delete removed files"; ok
# per name: the stopped one goes, the running one stays
expect_rc 1 domain delete a5 f1
err_has "domain 'f1' is running"
[ ! -e "$CFG/a5.cfg" ] && [ -e "$CFG/f1.cfg" ] || fail "delete a5 f1 removed the wrong ones"; ok
# --force: shut down first; the guest that ignores it destroyed after the timeout
expect_rc 0 domain delete --force --timeout 1 a1 f1 a4
calls_are "shutdown a1;shutdown f1;shutdown a4;destroy a1;"
err_has "domain 'f1' was shut down"
err_has "warning: domain 'a1' did not shut down within 1 s: destroying it"
for g in a1 f1 a4; do
	[ ! -e "$CFG/$g.cfg" ] || fail "$g's config is left"; ok
done
[ ! -e "$S/disks/a1.qcow2" ] && [ ! -e "$S/disks/f1.img" ] || fail "a disk is left"; ok
# the autostart links went with their guests, first
[ -z "$(ls -A "$CFG/auto")" ] || fail "auto holds: $(ls -A "$CFG/auto")"; ok
expect_rc 0 domain list
[ "$(awk 'NR > 1 {print $1}' "$T/stdout" | tr '\n' ' ')" = "a2 " ] || fail "left: $(cat "$T/stdout")"; ok

expect_rc 0 deploy --profile life --count 2 --name 'r%d' $C -q
expect_rc 0 domain start r1
xl_calls >/dev/null
expect_rc 1 deploy --rollback
err_has "domain 'r1' is running"
err_has "cannot roll back: guests are running (nothing was removed)"
[ -e "$CFG/r1.cfg" ] && [ -e "$CFG/r2.cfg" ] || fail "a refused rollback removed a guest"; ok
calls_are ""
expect_rc 0 deploy --rollback --force
out_has "2 guests removed"
calls_are "shutdown r1;"
[ ! -e "$CFG/r1.cfg" ] && [ ! -e "$CFG/r2.cfg" ] || fail "rollback --force left a guest"; ok
power_is a2 stopped

pass
