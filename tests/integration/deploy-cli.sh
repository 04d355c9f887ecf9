#!/bin/bash
# deploy-cli.sh - `xenprov deploy` end to end: 20 guests with file and with qcow2
# storage, every config read by Xen's libxlutil (xlu-check), every guest's own files
# read back out of its image (hostname, network, fstab, machine-id, shadow), its root
# filesystem UUID (blkid) its own and not the golden image's, e2fsck -fn and qemu-img
# check on every disk; idempotence, kill -9 mid-way then resume with no
# orphan, rollback, a full disk, and the refusals.
#
# Run by CTest with XENPROV, XP_SRC, XP_TMP and XP_XLU_CHECK. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
XLU=${XP_XLU_CHECK:-}
need e2fsck blkid qemu-img python3 tar
[ -x "$XLU" ] || skip "no xlu-check (libxlutil) tool"
# the full-disk case at the end mounts a tmpfs: in a mount namespace of the test's own,
# where it can be made (root), so that the mount goes with the test
in_private_mounts "$@"
scratch
export XENPROV_STATE_DIR=$T/state

# a Debian-like golden root
r=$T/root
mkdir -p "$r/etc/network/interfaces.d" "$r/etc/ssh" "$r/root" "$r/bin" "$r/var/lib/dbus"
echo golden >"$r/etc/hostname"
printf 'auto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
printf 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
chmod 640 "$r/etc/shadow"
echo 0123456789abcdef0123456789abcdef >"$r/etc/machine-id"
echo key >"$r/etc/ssh/ssh_host_ed25519_key"
echo pub >"$r/etc/ssh/ssh_host_ed25519_key.pub"
printf '#!/bin/sh\n' >"$r/bin/sh"
mkdir -p "$r/boot" # a kernel for pygrub, the default boot method
echo kernel >"$r/boot/vmlinuz-6.1.0-1-amd64"
tar -C "$r" --numeric-owner -czf "$T/root.tgz" .
HASH='$y$j9T$abcdefghijklmnopqrstu.$0123456789012345678901234567890123456789012'
mkdir -p "$T/cfg" "$T/pool"

expect_rc 0 profile add base --image "$T/root.tgz" --disk-size 64M --fs ext4 --memory 256 \
	--network static --ip-pool 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 \
	--domain example.test --root-password-hash "$HASH" --pool "$T/pool"
expect_rc 0 profile add files --parent base --storage file
expect_rc 0 profile add cow --parent base --storage qcow2

check_guests() { # PREFIX FORMAT
	local prefix=$1 fmt=$2
	"$XLU" "$T"/cfg/$prefix*.cfg >"$T/xlu.json" 2>"$T/err" || fail "libxlutil rejects a config"
	ok
	python3 - "$T/xlu.json" "$T/pool" "$fmt" "$prefix" <<'PY' || fail "configs as libxlutil reads them"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
pool, fmt, prefix = sys.argv[2], sys.argv[3], sys.argv[4]
assert len(rows) == 20, len(rows)
macs, ips = set(), set()
for r in rows:
    name = r["name"]
    assert name.startswith(prefix) and r["memory"] == 256 and r["vcpus"] == 1, r
    assert r["bootloader"] == "pygrub" and r["type"] == "pv", r
    d = r["disk"][0]
    ext = "qcow2" if fmt == "qcow2" else "img"
    assert d == {"target": f"{pool}/{name}.{ext}", "format": fmt, "vdev": "xvda", "readwrite": 1}, d
    v = dict(kv.split("=") for kv in r["vif"][0].split(","))
    macs.add(v["mac"]); ips.add(v["ip"])
    assert v["mac"].startswith("00:16:3e:") and v["ip"].startswith("10.77.0.") and v["bridge"] == "xenbr0", v
assert len(macs) == 20 and len(ips) == 20
PY
	ok
	local ids="" fsids=""
	for cfg in "$T"/cfg/$prefix*.cfg; do
		local name disk ip raw
		name=$(basename "$cfg" .cfg)
		disk=$("$X" config get "$cfg" disk | sed 's/.*target=\([^"]*\)".*/\1/')
		ip=$("$X" config get "$cfg" vif | sed 's/.*ip=\([0-9.]*\).*/\1/')
		[ "$("$X" image cat "$disk" /etc/hostname)" = "$name" ] || fail "$name: hostname"
		"$X" image cat "$disk" /etc/network/interfaces | grep -q "address $ip/24" || fail "$name: interfaces lacks $ip"
		"$X" image cat "$disk" /etc/hosts | grep -q "$name.example.test" || fail "$name: hosts"
		"$X" image cat "$disk" /etc/shadow | grep -qF "root:$HASH:" || fail "$name: root hash"
		"$X" image cat "$disk" /etc/shadow | grep -q '^daemon:\*:19000' || fail "$name: other shadow lines"
		local mid
		mid=$("$X" image cat "$disk" /etc/machine-id)
		[[ $mid =~ ^[0-9a-f]{32}$ ]] && [ "$mid" != 0123456789abcdef0123456789abcdef ] || fail "$name: machine-id '$mid'"
		ids="$ids $mid"
		"$X" image ls "$disk" /etc/ssh | grep -q host_ && fail "$name: ssh host keys left"
		local uuid
		uuid=$("$X" image info --json "$disk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitions"][0]["uuid"])')
		"$X" image cat "$disk" /etc/fstab | grep -Eq "^UUID=$uuid[[:space:]]+/[[:space:]]" || fail "$name: fstab root UUID"
		raw=$disk
		if [ "$fmt" = qcow2 ]; then
			qemu-img check -q "$disk" || fail "$name: qemu-img check"
			raw=$T/conv.raw
			qemu-img convert -O raw "$disk" "$raw" || fail "$name: convert"
		fi
		e2fsck -fn "$raw?offset=1048576" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "$name: e2fsck"; }
		# the root filesystem's UUID as blkid reads it: the guest's own, in its fstab
		local fsid
		fsid=$(blkid -p -o value -s UUID -O 1048576 "$raw")
		[ "$fsid" = "$uuid" ] || fail "$name: blkid reads UUID '$fsid', image info '$uuid'"
		fsids="$fsids $fsid"
		ok
	done
	[ "$(echo $ids | tr ' ' '\n' | sort -u | wc -l)" = 20 ] || fail "machine-ids are not unique"
	ok
	# 20 guests, 20 root filesystem UUIDs, none the golden image's
	local golden_id
	golden_id=$(blkid -p -o value -s UUID -O 1048576 "$(ls "$T"/state/images/*.img | head -1)")
	[ ${#golden_id} = 36 ] || fail "the golden image's UUID is '$golden_id'"
	[ "$(echo $fsids $golden_id | tr ' ' '\n' | sort -u | wc -l)" = 21 ] ||
		fail "root UUIDs shared (golden $golden_id):$fsids"
	ok
}

# 20 guests with file storage, 20 with qcow2 overlays
# (the first deploy builds the golden image: "preparing" events tell its progress,
# before the "golden" event)
expect_rc 0 deploy --profile files --count 20 --name 'f%02d' --config-dir "$T/cfg" --json
python3 - "$T/stdout" <<'PY' || fail "file deploy events: $(head -c 2000 "$T/stdout")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e.get("event") for e in ev]
assert ev[-1]["created"] == 20 and ev[-1]["failed"] == 0, ev[-1]
assert "preparing" in kinds and kinds.index("preparing") < kinds.index("golden"), kinds
assert all(e["message"].startswith("writing: ") for e in ev if e.get("event") == "preparing"), ev
assert "preparing" not in kinds[kinds.index("golden"):], kinds
PY
ok
check_guests f raw
expect_rc 0 deploy --profile cow --count 20 --name 'q%02d' --config-dir "$T/cfg" --json
tail -1 "$T/stdout" | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["created"]==20 and s["failed"]==0, s' || fail "qcow2 summary"; ok
[ "$(grep -c '"event":"created"' "$T/stdout")" = 20 ] || fail "20 created events"; ok
check_guests q qcow2
golden=$(ls "$T"/state/images/*.img | head -1)
sum_golden=$(sha256sum <"$golden")

# idempotent: nothing made again, nothing touched
stat -c %Y "$T"/cfg/q*.cfg >"$T/mtimes"
expect_rc 0 deploy --profile cow --count 20 --name 'q%02d' --config-dir "$T/cfg" -q
grep -q '0 created, 20 skipped, 0 failed' "$T/stdout" || fail "rerun: $(cat "$T/stdout")"; ok
stat -c %Y "$T"/cfg/q*.cfg | cmp -s - "$T/mtimes" || fail "a rerun touched configs"; ok

# kill -9 while a guest is half made, then the same command finishes with no orphans.
# A site hook holds k010 once its disk is made and customised, before its config is
# written: it says so (a file) and waits on a FIFO (600 s at most), and the deploy is
# killed right then, never before nor after it is done.
mkdir -p "$T/state/hooks.d"
mkfifo "$T/hold.fifo" || fail "mkfifo"
cat >"$T/state/hooks.d/50-hold" <<HOOK
#!/bin/bash
[ "\$XP_GUEST_NAME" = k010 ] || exit 0
exec 3<>"$T/hold.fifo"
: >"$T/held"
read -r -t 600 _ <&3
HOOK
chmod 755 "$T/state/hooks.d/50-hold"
"$X" deploy --profile cow --count 120 --name 'k%03d' --config-dir "$T/cfg" -q -j 2 >/dev/null 2>"$T/err" &
pid=$!
# at exit, whatever happened: the deploy killed, the hook let go
hold_cleanup() {
	alive "$pid" && kill -9 "$pid"
	[ -e "$T/held" ] && timeout 10 bash -c 'echo go >"$1"' - "$T/hold.fifo"
	return 0
}
at_exit hold_cleanup
held_or_ended() { [ -e "$T/held" ] || ! alive "$pid"; }
wait_until 120 held_or_ended
[ -e "$T/held" ] || fail "the deploy did not reach k010's hook (it ended, or 120 s passed)"
alive "$pid" || fail "the deploy ended while its hook held k010"
kill -9 "$pid"
wait "$pid" 2>/dev/null
timeout 10 bash -c 'echo go >"$1"' - "$T/hold.fifo" || fail "cannot let the hook go"
rm -f "$T/held" "$T/state/hooks.d/50-hold"
ok
# what the kill left: k010's disk, made and customised, no config, its row 'creating'
[ -e "$T/pool/k010.qcow2" ] || fail "killed: k010 has no disk"
[ ! -e "$T/cfg/k010.cfg" ] || fail "killed: k010 has a config, so it was not half made"
[ "$(ls "$T/cfg" | grep -c '^k')" -lt 120 ] || fail "killed: all 120 configs were made"
python3 - "$T/state/inventory.db" <<'PY' || fail "inventory after the kill"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
state = db.execute("select state from domains where name = 'k010'").fetchone()
assert state == ("creating",), state
PY
ok
expect_rc 0 deploy --profile cow --count 120 --name 'k%03d' --config-dir "$T/cfg" -q -j 2
[ "$(ls "$T/cfg" | grep -c '^k.*\.cfg$')" = 120 ] || fail "resume: configs"; ok
[ "$(ls "$T/pool" | grep -c '^k.*\.qcow2$')" = 120 ] || fail "resume: disks"; ok
[ -z "$(ls -A "$T/pool" "$T/cfg" | grep -v -e '\.qcow2$' -e '\.img$' -e '\.cfg$' -e ':$' -e '^$')" ] || fail "stray files: $(ls -A "$T/pool" "$T/cfg")"; ok
python3 - "$T/state/inventory.db" <<'PY' || fail "inventory after resume"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
states = dict(db.execute("select state, count(*) from domains group by state").fetchall())
assert states == {"ready": 160}, states
PY
ok
[ "$(sha256sum <"$golden")" = "$sum_golden" ] || fail "the golden image changed"; ok

# rollback removes exactly one deploy's guests (named by its id: several deploys have
# guests, so a rollback without a terminal needs it; deploy-fleet.sh has the rest)
expect_rc 0 deploy --profile files --count 3 --name 'rb%d' --config-dir "$T/cfg" -q
rb=$(sed -n 's/^deploy \([0-9]*\): 3 created.*/\1/p' "$T/stdout")
[ -n "$rb" ] || fail "no deploy id in: $(cat "$T/stdout")"; ok
expect_rc 1 deploy --rollback
err_has "deploys have guests: name the one to roll back (the newest is $rb)"
expect_rc 0 deploy --rollback "$rb"
grep -q '3 guests removed' "$T/stdout" || fail "rollback: $(cat "$T/stdout")"; ok
[ "$(ls "$T/cfg" | grep -c '^rb')" = 0 ] && [ "$(ls "$T/pool" | grep -c '^rb')" = 0 ] || fail "rollback left files"; ok

# refusals
printf 'p1 ip=10.77.0.2\n' >"$T/plan"
expect_rc 1 deploy --profile files --plan "$T/plan" --config-dir "$T/cfg" -q
grep -q 'p1' "$T/err" || fail "taken IP not reported"; ok
[ ! -e "$T/cfg/p1.cfg" ] && [ ! -e "$T/pool/p1.img" ] || fail "a refused guest left files"; ok
expect_rc 1 deploy --profile files --count 1 --name 'q%02d' --first 1 --config-dir "$T/cfg" -q
grep -q 'from another profile' "$T/err" || fail "name of another profile's guest not refused"; ok
expect_rc 1 profile add bad --memory 8
expect_rc 1 deploy --profile nosuch --count 1 --config-dir "$T/cfg" -q
cp "$T/root.tgz" "$T/gone.tgz"
expect_rc 0 profile add gone --parent base --image "$T/gone.tgz" --disk-size 48M
rm "$T/gone.tgz"
expect_rc 1 deploy --profile gone --count 2 --name 'g%d' --config-dir "$T/cfg" -q
[ "$(ls "$T/cfg" | grep -c '^g')" = 0 ] || fail "missing image left configs"; ok
expect_rc 1 deploy --profile files --count 1 --name 'bad_%d' --config-dir "$T/cfg" -q
grep -q "'bad_1' is not a valid domain name" "$T/err" || fail "invalid name message"; ok
expect_rc 1 deploy --rollback 999
grep -q 'no deploy 999' "$T/err" || fail "unknown deploy id"; ok
expect_rc 0 deploy --profile files --count 2 --name 'rc%d' --config-dir "$T/cfg" -q
expect_rc 0 deploy --profile files --count 2 --name 'rc%d' --config-dir "$T/cfg" -q
# the newest deploy that has guests is the first of the two (the rerun made none)
expect_rc 0 deploy --rollback --dry-run
out_has "would remove 2 guests"
rc_id=$(sed -n "s/^deploy \([0-9]*\) (profile 'files'.*/\1/p" "$T/stdout")
[ -n "$rc_id" ] || fail "no deploy id in: $(cat "$T/stdout")"; ok
expect_rc 0 deploy --rollback "$rc_id"
grep -q '2 guests removed' "$T/stdout" || fail "rollback after a skip-only rerun: $(cat "$T/stdout")"; ok
# --set KEY=VALUE: for every guest of the deploy, under --plan's per-guest values
KED='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKiK/h2GYqBgjLlLC+3hboiqYEb6siXBvibcrFrvnj7p ed@test'
printf 'sp1 memory=2048\nsp2\n' >"$T/plan"
expect_rc 0 deploy --profile files --plan "$T/plan" --config-dir "$T/cfg" -q \
	--set memory=1G --set vcpus=2 --set config.on_crash=preserve --set "ssh-key=$KED" \
	--set disk-size=96M
for g in sp1:2048 sp2:1024; do
	name=${g%%:*}
	for kv in memory=${g#*:} vcpus=2 on_crash=preserve; do
		"$X" config get "$T/cfg/$name.cfg" "${kv%%=*}" >"$T/v" || fail "$name: config get"
		[ "$(cat "$T/v")" = "${kv#*=}" ] || fail "$name: ${kv%%=*} is $(cat "$T/v"), want ${kv#*=}"
		ok
	done
	[ "$("$X" image cat "$T/pool/$name.img" /root/.ssh/authorized_keys)" = "$KED" ] ||
		fail "$name: --set ssh-key not in authorized_keys"
	ok
	# disk-size chose a golden image of its own size
	[ "$(stat -c %s "$T/pool/$name.img")" = $((96 << 20)) ] || fail "$name: --set disk-size not applied"
	ok
done
expect_rc 1 deploy --profile files --count 2 --name 'sx%d' --config-dir "$T/cfg" -q --set memory=8
grep -q -- "--set memory: " "$T/err" || fail "--set memory=8: $(cat "$T/err")"; ok
expect_rc 1 deploy --profile files --count 2 --name 'sx%d' --config-dir "$T/cfg" -q --set colour=blue
grep -q -- "--set colour: unknown profile setting" "$T/err" || fail "--set colour: $(cat "$T/err")"; ok
expect_rc 1 deploy --profile files --count 2 --name 'sx%d' --config-dir "$T/cfg" -q --set ssh-key=nokey
grep -q -- "is neither an existing file nor an SSH public key line" "$T/err" || fail "--set ssh-key=nokey"; ok
expect_rc 2 deploy --profile files --count 2 --name 'sx%d' --config-dir "$T/cfg" -q --set memory
expect_rc 2 deploy --rollback --set memory=1G
[ "$(ls "$T/cfg" | grep -c '^sx')" = 0 ] && [ "$(ls "$T/pool" | grep -c '^sx')" = 0 ] || fail "a refused --set made guests"; ok
expect_rc 0 domain delete sp1 sp2

# warnings: each told once with the number of guests (text), one event per guest (--json)
mkdir -p "$T/bare/etc"
echo bare >"$T/bare/etc/hostname"
cp -p "$r/etc/shadow" "$T/bare/etc/shadow"
tar -C "$T/bare" --numeric-owner -czf "$T/bare.tgz" .
expect_rc 0 profile add bare --parent files --image "$T/bare.tgz"
expect_rc 0 deploy --profile bare --count 5 --name 'wn%d' --config-dir "$T/cfg" -q
[ "$(grep -c 'no known network configuration' "$T/err")" = 1 ] || fail "warning not told once: $(cat "$T/err")"; ok
grep -q 'no known network configuration in the image .*(5 guests: wn1, wn2, wn3, \.\.\.)$' "$T/err" ||
	fail "warning without its guest count: $(cat "$T/err")"
ok
# a warning two checks of one create find is told once per guest
expect_rc 0 profile add pvg --parent files --boot pvgrub --kernel "$T/no-pv-grub.bin"
expect_rc 0 deploy --profile pvg --count 2 --name 'pv%d' --config-dir "$T/cfg" -q
grep -q "PV GRUB's image $T/no-pv-grub.bin is not there on this host.*(2 guests: pv1, pv2)$" "$T/err" ||
	fail "PV GRUB warning not told once per guest: $(cat "$T/err")"
ok
expect_rc 0 domain delete pv1 pv2
printf 'wg1 ip=10.78.0.5/24\nwg2 ip=10.78.0.6/24\nwg3\n' >"$T/plan"
expect_rc 0 deploy --profile files --plan "$T/plan" --config-dir "$T/cfg" --json
python3 - "$T/stdout" <<'PY' || fail "warning events: $(cat "$T/stdout")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
w = [e for e in ev if e["event"] == "warning"]
assert sorted(e["name"] for e in w) == ["wg1", "wg2"], w
assert all(e["code"] == "gateway" and e["message"] ==
           "the gateway 10.77.0.1 is outside 10.78.0.0/24; the guest gets no default route" for e in w), w
s = ev[-1]
assert s["event"] == "summary" and s["created"] == 3, s
assert s["warnings"] == [{"code": "gateway", "message": w[0]["message"], "guests": 2}], s
PY
ok
expect_rc 0 domain delete wn1 wn2 wn3 wn4 wn5 wg1 wg2 wg3

# a profile's MAC prefix
expect_rc 0 profile add lab --parent files --mac-prefix 02:ab:cd
expect_rc 0 deploy --profile lab --count 2 --name 'mp%d' --config-dir "$T/cfg" -q
for g in mp1 mp2; do
	"$X" config get "$T/cfg/$g.cfg" vif | grep -q 'mac=02:ab:cd:' || fail "$g: MAC not in the profile's prefix"
	ok
done
expect_rc 2 deploy --profile files --count 2 --name 'bad'
expect_rc 2 deploy --profile files
expect_rc 0 deploy -h

# a full disk: a small tmpfs as the pool; the deploy stops cleanly. Where no mount
# namespace of the test's own can be had, the case cannot run: the test is skipped (77),
# never passed, whatever the checks above said.
[ -n "${XP_PRIVATE_MOUNTS:-}" ] ||
	skip "the full-disk case needs root and unshare (a tmpfs in a mount namespace); $n other checks passed"
mkdir -p "$T/full"
mount -t tmpfs -o size=12m xp-full "$T/full" ||
	skip "the full-disk case cannot mount a tmpfs here; $n other checks passed"
head -c 3000000 /dev/urandom >"$r/blob"
tar -C "$r" --numeric-owner -czf "$T/big.tgz" .
expect_rc 0 profile add full --parent base --image "$T/big.tgz" --storage file --pool "$T/full"
expect_rc 1 deploy --profile full --count 10 --name 'z%d' --config-dir "$T/cfg" -q -j 1
grep -qi 'space' "$T/err" || fail "full disk: no clear message"; ok
grep -q 'stopped' "$T/err" "$T/stdout" || fail "full disk: the deploy did not stop"; ok
for f in "$T"/full/*.img; do
	name=$(basename "$f" .img)
	[ -e "$T/cfg/$name.cfg" ] || fail "full disk: half-made $f left"
done
ok
umount "$T/full"

pass
