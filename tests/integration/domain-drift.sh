#!/bin/bash
# domain-drift.sh - guests that drift from their profile, end to end through the real
# program on real configs and disks: `domain diff` (text and --json) after `profile
# edit --memory` and `--config on_crash=...`, a guest's own create values kept, a
# config edited by hand; `domain list --drift`; `domain update` edits the xl config in
# place (a comment and a line of the operator's survive, xenprov config check passes)
# and the inventory's record; disks grown offline (raw msdos, raw gpt, a qcow2
# overlay: sfdisk --dump shows the grown partition, e2fsck -fn is clean, dumpe2fs and
# `image info` show the larger filesystem, qemu-img check is clean and the golden image
# untouched); the SSH key and DNS rewritten in the guest (read back with `image cat`),
# its identity (machine-id, hostname) kept; what cannot change (fs, image, a root
# partition followed by swap, a smaller disk) reported and left; --dry-run changes
# nothing; refusals while the guest runs or may run.
#
# No Xen here: lib/fake-xl, the tests' stand-in for Xen's xl (named in XENPROV_XL),
# says which guests "run" (`fake-xl create CFG` starts one, `destroy NAME` stops it);
# with its no-xen switch, or no xl at all, nothing can tell, and update wants
# --offline.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need e2fsck dumpe2fs resize2fs sfdisk qemu-img python3 tar cmp sha256sum
scratch root/etc/network root/root root/bin cfg
export XENPROV_STATE_DIR=$T/state
S=$T/state
C="--config-dir $T/cfg"
M=$((1024 * 1024))

r=$T/root
echo golden >"$r/etc/hostname"
printf 'root:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
printf 'auto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
head -c 200000 /dev/urandom >"$r/bin/blob"
tar -C "$r" --numeric-owner -czf "$T/root.tgz" .
echo kernel >"$T/vmlinuz"
K1='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l4GKJl one@drift'
K2='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFyRmVx9hZ7AAr4WSH0lCMYzJMCSoUZXbPaYGIQsVdtG two@drift'

# the stand-in toolstack (see the top); until told otherwise, one that answers
export XP_FAKE_XL_STATE=$T/xl
FAKE_XL=$XP_SRC/tests/integration/lib/fake-xl
export XENPROV_XL=$FAKE_XL

expect_rc 0 profile add web --image "$T/root.tgz" --disk-size 64M --memory 512 \
	--ip-pool 10.31.0.0/24 --gateway 10.31.0.1 --dns 10.31.0.1 --bridge br0 \
	--boot kernel --kernel "$T/vmlinuz" --ssh-key "$K1"
expect_rc 0 domain create w1 --profile web $C -q
expect_rc 0 domain create w2 --profile web $C -q --storage qcow2
expect_rc 0 domain create w3 --profile web $C -q --memory 2048 # its own memory
expect_rc 0 profile add gp --parent web --label gpt
expect_rc 0 domain create g1 --profile gp $C -q

# ---- usage ----------------------------------------------------------------------------------
expect_rc 2 domain diff
expect_rc 2 domain update
expect_rc 2 domain update w1 --profile web
err_has "not both"
expect_rc 2 domain update w1 --bogus
expect_rc 0 domain diff -h
out_has "--profile P"
expect_rc 0 domain update -h
out_has "--offline"
expect_rc 1 domain diff nosuch
err_has "no domain 'nosuch'"
expect_rc 1 domain update nosuch
err_has "no domain 'nosuch'"
expect_rc 1 domain diff --profile nosuch
err_has "no profile 'nosuch'"

# ---- no drift -------------------------------------------------------------------------------
expect_rc 0 domain diff w1 w2 w3 g1
out_is "w1: no drift from profile web
w2: no drift from profile web
w3: no drift from profile web
g1: no drift from profile gp"
expect_rc 0 domain diff w1 --json
json_ok "$T/stdout" 'len(j) == 1 and j[0]["domain"] == "w1" and j[0]["profile"] == "web" and j[0]["drift"] == []'
expect_rc 0 domain show w3 --json
json_ok "$T/stdout" 'j["overrides"] == ["memory"] and j["settings"]["memory"] == "2048"'

# the operator's own lines in w1's config (kept by every edit below)
sed -i '1a # site note: keep this comment\nmaxmem = 4096 # ours' "$T/cfg/w1.cfg"

# ---- profile edit --memory, --config on_crash ------------------------------------------------
expect_rc 0 profile edit web --memory 1024 --config on_crash=preserve
expect_rc 0 domain diff w1
out_has "--- w1 (the guest: its record and $T/cfg/w1.cfg)"
out_has "+++ web (the profile now)"
out_has "-memory = 512"
out_has "+memory = 1024"
out_has '    config: memory = 512 -> 1024'
out_has '-config.on_crash = (unset)'
out_has '+config.on_crash = "preserve"'
out_has '    config: on_crash = "restart" -> "preserve"'
out_has "takes effect at the guest's next start"
out_lacks "vcpus"
expect_rc 0 domain diff --profile web --json
json_ok "$T/stdout" '[d["domain"] for d in j] == ["w1", "w2", "w3"]'
json_ok "$T/stdout" '[e["key"] for e in j[0]["drift"]] == ["memory", "config.on_crash"]'
json_ok "$T/stdout" 'j[0]["drift"][0] == {"key": "memory", "guest": "512", "profile": "1024", "action": "config", "note": j[0]["drift"][0]["note"], "config": [{"setting": "memory", "guest": "512", "profile": "1024"}], "status": "planned"}'
json_ok "$T/stdout" 'j[0]["drift"][1]["config"] == [{"setting": "on_crash", "guest": "\"restart\"", "profile": "\"preserve\""}]'
# w3's own memory is its own: only on_crash
json_ok "$T/stdout" '[e["key"] for e in j[2]["drift"]] == ["config.on_crash"]'
# g1's profile is a child of web: it drifts too
expect_rc 0 domain diff g1 --json
json_ok "$T/stdout" '[e["key"] for e in j[0]["drift"]] == ["memory", "config.on_crash"]'

# ---- list --drift -----------------------------------------------------------------------------
expect_rc 0 domain list --drift
out_has "DRIFT"
grep -qE '^w1 .* memory,config\.on_crash$' "$T/stdout" || fail "list --drift: $(cat "$T/stdout")"
ok
grep -qE '^w3 .* config\.on_crash$' "$T/stdout" || fail "list --drift, w3: $(cat "$T/stdout")"
ok
expect_rc 0 domain list
out_lacks "DRIFT"
expect_rc 0 domain list --drift --json
json_ok "$T/stdout" '{d["name"]: d["drift"] for d in j} == {"g1": ["memory", "config.on_crash"], "w1": ["memory", "config.on_crash"], "w2": ["memory", "config.on_crash"], "w3": ["config.on_crash"]}'

# ---- update: the config ------------------------------------------------------------------------
cp "$T/cfg/w1.cfg" "$T/w1.before"
expect_rc 0 domain update w1 --dry-run
out_has "w1: memory: 512 -> 1024: would apply (config)"
out_has "w1: would apply 2 of 2 differences"
cmp -s "$T/cfg/w1.cfg" "$T/w1.before" || fail "--dry-run changed the config"
ok
# the config changes while the guest runs: they wait for its next start
"$FAKE_XL" create "$T/cfg/w1.cfg" || fail "fake-xl create"
expect_rc 0 domain update w1
out_has "w1: it runs: its config's changes take effect once it is shut down and started again"
"$FAKE_XL" destroy w1 || fail "fake-xl destroy"
out_has "w1: memory: 512 -> 1024: applied (config)"
out_has "w1: config.on_crash: (unset) -> \"preserve\": applied (config)"
grep -qx '# site note: keep this comment' "$T/cfg/w1.cfg" || fail "the comment was lost"
ok
grep -qx 'maxmem = 4096 # ours' "$T/cfg/w1.cfg" || fail "the operator's line was lost"
ok
grep -qx 'memory = 1024' "$T/cfg/w1.cfg" || fail "memory: $(cat "$T/cfg/w1.cfg")"
ok
grep -qx 'on_crash = "preserve"' "$T/cfg/w1.cfg" || fail "on_crash: $(cat "$T/cfg/w1.cfg")"
ok
# exactly those two lines changed
diff "$T/w1.before" "$T/cfg/w1.cfg" | grep '^[<>]' | sort >"$T/changed"
printf '%s\n' '< memory = 512' '< on_crash = "restart"' '> memory = 1024' '> on_crash = "preserve"' | sort >"$T/want"
cmp -s "$T/changed" "$T/want" || fail "changed lines: $(cat "$T/changed")"
ok
expect_rc 0 config check "$T/cfg/w1.cfg"
# no temporary left beside it
[ "$(ls -A "$T/cfg" | grep -c w1)" = 1 ] || fail "files beside w1.cfg: $(ls -A "$T/cfg")"
ok
expect_rc 0 domain show w1 --json
json_ok "$T/stdout" 'j["settings"]["memory"] == "1024" and j["settings"]["config.on_crash"] == "\"preserve\""'
expect_rc 0 domain diff w1
out_is "w1: no drift from profile web"

# a config edited by hand: back to the profile's value
sed -i 's/^memory = 1024$/memory = 3000/' "$T/cfg/w1.cfg"
expect_rc 0 domain diff w1
out_has "-memory = 3000 (the config's memory)"
out_has "+memory = 1024"
expect_rc 0 domain update w1
grep -qx 'memory = 1024' "$T/cfg/w1.cfg" || fail "hand edit not undone: $(cat "$T/cfg/w1.cfg")"
ok

# a config.NAME unset in the profile: the setting goes back to what create writes
expect_rc 0 profile edit web --unset config.on_crash
expect_rc 0 domain diff w1 --json
json_ok "$T/stdout" 'j[0]["drift"][0]["key"] == "config.on_crash" and j[0]["drift"][0]["profile"] is None and j[0]["drift"][0]["config"][0]["profile"] == "\"restart\""'
expect_rc 0 domain update w1
grep -qx 'on_crash = "restart"' "$T/cfg/w1.cfg" || fail "on_crash back: $(cat "$T/cfg/w1.cfg")"
ok
expect_rc 0 domain show w1 --json
json_ok "$T/stdout" '"config.on_crash" not in j["settings"]'
grep -qx '# site note: keep this comment' "$T/cfg/w1.cfg" || fail "the comment was lost"
ok

# vcpus, the bridge (the vif keeps the guest's MAC and address) and a boot=kernel
# guest's kernel command line
mac1=$(sed -n 's/^vif = \[ "mac=\([^,]*\),.*/\1/p' "$T/cfg/w1.cfg")
expect_rc 0 profile edit web --vcpus 2 --bridge br1 --extra quiet
expect_rc 0 domain diff w1 --json
json_ok "$T/stdout" '[(e["key"], e["action"], [x["setting"] for x in e["config"]]) for e in j[0]["drift"]] == [("vcpus", "config", ["vcpus"]), ("bridge", "config", ["vif"]), ("extra", "config", ["extra"])]'
expect_rc 0 domain update w1
grep -qx 'vcpus = 2' "$T/cfg/w1.cfg" || fail "vcpus: $(cat "$T/cfg/w1.cfg")"
ok
grep -qx "vif = \[ \"mac=$mac1,bridge=br1,ip=10.31.0.2\" \]" "$T/cfg/w1.cfg" || fail "vif: $(cat "$T/cfg/w1.cfg")"
ok
grep -qx 'extra = "quiet"' "$T/cfg/w1.cfg" || fail "extra: $(cat "$T/cfg/w1.cfg")"
ok
expect_rc 0 config check "$T/cfg/w1.cfg"
expect_rc 0 profile edit web --unset vcpus --unset bridge --unset extra
expect_rc 0 domain update w1
grep -qx 'vcpus = 1' "$T/cfg/w1.cfg" && ! grep -q '^extra' "$T/cfg/w1.cfg" &&
	grep -q 'bridge=xenbr0' "$T/cfg/w1.cfg" || fail "unset: $(cat "$T/cfg/w1.cfg")"
ok
expect_rc 0 domain diff w1
out_is "w1: no drift from profile web"

# ---- update: disks, offline -----------------------------------------------------------------
expect_rc 0 domain update w2 w3 g1 # their config first
expect_rc 0 domain show w2 --json
golden=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["golden"])' "$T/stdout")
sha256sum "$golden" >"$T/golden.sum"
mid_before=$("$X" image cat "$S/disks/w1.img" /etc/machine-id)
expect_rc 0 profile edit web --disk-size 128M
expect_rc 0 domain diff w1
out_has "-disk-size = $((64 * M))"
out_has "+disk-size = $((128 * M))"
out_has "disk: the disk grows from 64 MiB to 128 MiB"
# no toolstack answers (xl outside dom0): --offline is needed
touch "$T/xl/no-xen"
expect_rc 1 domain update w1
err_has "its disk and files are changed only with --offline"
err_has "cannot tell whether guest 'w1' runs: "
rm "$T/xl/no-xen"
out_has "w1: disk-size: $((64 * M)) -> $((128 * M)): refused (disk)"
[ "$(stat -c %s "$S/disks/w1.img")" = $((64 * M)) ] || fail "a refused update grew the disk"
ok
expect_rc 0 domain diff w1 --json
json_ok "$T/stdout" '[e["key"] for e in j[0]["drift"]] == ["disk-size"]'
XENPROV_XL=$T/no-such-xl expect_rc 1 domain update w1
err_has "its disk and files are changed only with --offline"
# the toolstack runs it: refused, --offline or not
"$FAKE_XL" create "$T/cfg/w1.cfg" || fail "fake-xl create"
expect_rc 1 domain update w1 --offline
err_has "guest 'w1' is running"
[ "$(stat -c %s "$S/disks/w1.img")" = $((64 * M)) ] || fail "the disk of a running guest grew"
ok
expect_rc 1 domain update w1 --dry-run --json
json_ok "$T/stdout" 'j[0]["running"] is True and j[0]["drift"][0]["status"] == "refused"'
expect_rc 1 domain update w1 --dry-run
out_has "would be refused (disk)"
"$FAKE_XL" destroy w1 || fail "fake-xl destroy"
expect_rc 0 domain update w1 w2 g1
out_has "w1: disk-size: $((64 * M)) -> $((128 * M)): applied (disk)"
out_has "w2: disk-size: $((64 * M)) -> $((128 * M)): applied (disk)"
out_has "g1: disk-size: $((64 * M)) -> $((128 * M)): applied (disk)"

# fs_bytes IMAGE OFFSET: the filesystem's size (dumpe2fs)
fs_bytes() {
	dumpe2fs -h "$1?offset=$2" 2>/dev/null |
		awk -F: '/^Block count/ {c=$2} /^Block size/ {s=$2} END {print c * s}'
}
# grown RAW: 128M, the partition to the end (sfdisk --dump), the filesystem in it
grown() {
	local raw=$1 g=$2 last=$3
	[ "$(stat -c %s "$raw")" = $((128 * M)) ] || fail "$g: the disk is $(stat -c %s "$raw") bytes"
	ok
	sfdisk --dump "$raw" >"$T/dump" 2>&1 || fail "$g: sfdisk --dump"
	grep -qE "start= *2048, size= *$last," "$T/dump" || { cat "$T/dump"; fail "$g: partition not grown"; }
	ok
	sfdisk --verify "$raw" >"$T/verify" 2>&1 && grep -q 'No errors detected' "$T/verify" &&
		! grep -qi 'mismatch' "$T/verify" ||
		{ cat "$T/verify"; fail "$g: sfdisk --verify"; }
	ok
	e2fsck -fn "$raw?offset=$M" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "$g: e2fsck -fn"; }
	ok
	local b
	b=$(fs_bytes "$raw" $M)
	[ "$b" -gt $((120 * M)) ] && [ "$b" -le $((127 * M)) ] || fail "$g: filesystem is $b bytes"
	ok
}
grown "$S/disks/w1.img" w1 $(((128 - 1) * 2048))
grown "$S/disks/g1.img" g1 $(((128 - 1) * 2048 - 33))
qemu-img check -q "$S/disks/w2.qcow2" || fail "qemu-img check w2"
ok
qemu-img info --output=json "$S/disks/w2.qcow2" | grep -q "\"virtual-size\": $((128 * M))," ||
	fail "w2's virtual size: $(qemu-img info "$S/disks/w2.qcow2")"
ok
# the overlay gained only what changed: a few MiB, not the disk
[ "$(stat -c %s "$S/disks/w2.qcow2")" -lt $((16 * M)) ] || fail "w2.qcow2 is $(stat -c %s "$S/disks/w2.qcow2") bytes"
ok
sha256sum -c --quiet "$T/golden.sum" || fail "the golden image was written"
ok
qemu-img convert -O raw "$S/disks/w2.qcow2" "$T/w2.raw" || fail "qemu-img convert"
grown "$T/w2.raw" w2 $(((128 - 1) * 2048))
expect_rc 0 image info "$S/disks/w2.qcow2"
out_has "128.0 MiB virtual"
grep -qE '^1 .* 127\.0M +ext4' "$T/stdout" || fail "image info w2: $(cat "$T/stdout")"
ok
# the guests kept who they are, and their files
[ "$("$X" image cat "$S/disks/w1.img" /etc/hostname)" = w1 ] || fail "w1's hostname"
ok
[ "$("$X" image cat "$S/disks/w1.img" /etc/machine-id)" = "$mid_before" ] || fail "w1's machine-id changed"
ok
cmp -s <("$X" image cat "$S/disks/w2.qcow2" /bin/blob) "$r/bin/blob" || fail "w2's files"
ok
expect_rc 0 domain show w1 --json
json_ok "$T/stdout" 'j["settings"]["disk-size"] == str(128 * 1024 * 1024)'
expect_rc 0 domain diff w1 w2 g1
out_is "w1: no drift from profile web
w2: no drift from profile web
g1: no drift from profile gp"

# a bare filesystem (no partition table) in a raw file and in a qcow2 overlay
expect_rc 0 profile add bare --image "$T/root.tgz" --disk-size 64M --label none --fs ext3 \
	--boot kernel --kernel "$T/vmlinuz"
expect_rc 0 domain create b1 --profile bare $C -q
expect_rc 0 domain create b2 --profile bare $C -q --storage qcow2
expect_rc 0 profile edit bare --disk-size 96M
expect_rc 0 domain update b1 b2
qemu-img convert -O raw "$S/disks/b2.qcow2" "$T/b2.raw" || fail "qemu-img convert b2"
for raw in "$S/disks/b1.img" "$T/b2.raw"; do
	[ "$(stat -c %s "$raw")" = $((96 * M)) ] || fail "$raw: $(stat -c %s "$raw") bytes"
	e2fsck -fn "$raw" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck -fn $raw"; }
	[ "$(fs_bytes "$raw" 0)" = $((96 * M)) ] || fail "$raw: filesystem $(fs_bytes "$raw" 0) bytes"
	ok
done
qemu-img check -q "$S/disks/b2.qcow2" || fail "qemu-img check b2"
ok

# ---- update: the guest's files (SSH key, DNS) --------------------------------------------------
expect_rc 0 profile edit web --ssh-key "$K2" --dns 10.31.0.53,10.31.0.54
expect_rc 0 domain diff w1 --json
json_ok "$T/stdout" '[(e["key"], e["action"]) for e in j[0]["drift"]] == [("dns", "guest"), ("ssh-key", "guest")]'
expect_rc 0 domain update --profile web
[ "$("$X" image cat "$S/disks/w1.img" /root/.ssh/authorized_keys)" = "$K2" ] || fail "w1's key"
ok
[ "$("$X" image cat "$S/disks/w2.qcow2" /root/.ssh/authorized_keys)" = "$K2" ] || fail "w2's key"
ok
"$X" image cat "$S/disks/w1.img" /etc/resolv.conf >"$T/resolv"
grep -qx 'nameserver 10.31.0.53' "$T/resolv" && grep -qx 'nameserver 10.31.0.54' "$T/resolv" &&
	! grep -q 10.31.0.1 "$T/resolv" || fail "w1's resolv.conf: $(cat "$T/resolv")"
ok
"$X" image cat "$S/disks/w1.img" /etc/network/interfaces >"$T/ifaces"
grep -q '10.31.0.53' "$T/ifaces" || fail "w1's interfaces: $(cat "$T/ifaces")"
ok
[ "$("$X" image cat "$S/disks/w1.img" /etc/machine-id)" = "$mid_before" ] || fail "w1's machine-id changed"
ok
e2fsck -fn "$S/disks/w1.img?offset=$M" >/dev/null 2>&1 || fail "e2fsck -fn w1 after the key"
ok
qemu-img check -q "$S/disks/w2.qcow2" || fail "qemu-img check w2 after the key"
ok
expect_rc 0 domain show w1 --json
json_ok "$T/stdout" 'j["settings"]["ssh-key"].endswith("two@drift") and j["settings"]["dns"] == "10.31.0.53,10.31.0.54"'

# ---- what cannot change in place: reported, left ------------------------------------------------
expect_rc 0 profile edit web --fs ext3 --disk-size 96M
expect_rc 0 domain diff w1 --json
json_ok "$T/stdout" '[(e["key"], e["action"]) for e in j[0]["drift"]] == [("disk-size", "recreate"), ("fs", "recreate")]'
json_ok "$T/stdout" '"never shrunk" in j[0]["drift"][0]["note"]'
cp "$T/cfg/w1.cfg" "$T/w1.before"
cp --sparse=always "$S/disks/w1.img" "$T/w1.img.before"
expect_rc 0 domain update w1 --json
json_ok "$T/stdout" '[e["status"] for e in j[0]["drift"]] == ["left", "left"]'
cmp -s "$T/cfg/w1.cfg" "$T/w1.before" || fail "a recreate item changed the config"
ok
cmp -s "$S/disks/w1.img" "$T/w1.img.before" || fail "a recreate item changed the disk"
ok
expect_rc 0 domain diff w1 --json
json_ok "$T/stdout" '[e["key"] for e in j[0]["drift"]] == ["disk-size", "fs"]'
expect_rc 0 profile edit web --unset fs --disk-size 128M

# a root partition followed by swap cannot grow: recreate, never tried
expect_rc 0 profile add sw --image "$T/root.tgz" --disk-size 64M --swap 8M --boot kernel --kernel "$T/vmlinuz"
expect_rc 0 domain create s1 --profile sw $C -q
expect_rc 0 profile edit sw --disk-size 128M
expect_rc 0 domain diff s1
out_has "recreate: a partition follows the root partition"
expect_rc 0 domain update s1
out_has "s1: disk-size: $((64 * M)) -> $((128 * M)): left (recreate)"
[ "$(stat -c %s "$S/disks/s1.img")" = $((64 * M)) ] || fail "s1's disk changed"
ok

# a guest whose config is gone cannot be compared
expect_rc 0 domain create t1 --profile web $C -q
rm "$T/cfg/t1.cfg"
expect_rc 1 domain diff t1
err_has "cannot compare domain 't1' with its profile"
err_has "$T/cfg/t1.cfg: cannot read the guest's config: No such file or directory"
expect_rc 0 domain list --drift --json
json_ok "$T/stdout" '[d["drift"] for d in j if d["name"] == "t1"] == [None]'
err_has "cannot compare domain 't1'"
expect_rc 0 domain list --drift
grep -qE '^t1 .* \?$' "$T/stdout" || fail "list --drift, t1: $(cat "$T/stdout")"
ok
pass
