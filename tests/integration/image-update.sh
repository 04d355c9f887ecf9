#!/bin/bash
# image-update.sh - guests brought to a new version of their captured image, end to end
# through the real program on real disks (issue 16's update): two versions captured
# from a local tree with `image capture`; `image diff` lists exactly the planted
# changes (text and --json; also two plain directories); guests deployed from version 1
# (file and qcow2 storage) record gold@1 (`domain list` IMAGE, --json image_version);
# `domain list --drift` marks them once their profile names the latest; `image update
# --dry-run` changes no byte; `image update --to gold@2` gives the same files as a fresh
# guest of version 2 (`image ls -l` of every changed directory and `image cat` hashes)
# except the guest's own files (its hostname stays), the qcow2 overlay stays an overlay
# and its backing file keeps its SHA-256, e2fsck -fn and qemu-img check are clean; a
# file the guest changed itself (written at create) refuses the update, listed, until
# --override; the record then names gold@2 and the drift is gone.
#
# No Xen here: lib/fake-xl, the tests' stand-in for Xen's xl (named in XENPROV_XL),
# says the guests are stopped (none was started), and one started through it is
# running; the running path (rsync over ssh) is not driven here.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need e2fsck qemu-img python3 rsync sha256sum
scratch t cfg
export XENPROV_STATE_DIR=$T/state
S=$T/state
C="--config-dir $T/cfg"
M=$((1024 * 1024))
export XP_FAKE_XL_STATE=$T/xl
export XENPROV_XL=$XP_SRC/tests/integration/lib/fake-xl

# ---- version 1 and version 2 -------------------------------------------------------------
r=$T/t
mkdir -p "$r/etc/network" "$r/bin" "$r/usr/share/doc" "$r/root" "$r/var/lib/old" "$r/opt"
echo golden >"$r/etc/hostname"
printf 'root:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
printf 'auto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
head -c 300000 /dev/urandom >"$r/bin/blob"
echo one >"$r/etc/motd"
echo doc >"$r/usr/share/doc/a"
echo gone >"$r/var/lib/old/x"
ln -s motd "$r/etc/motd.link"
echo 'setting=1' >"$r/etc/app.conf"
echo 'mine=1' >"$r/opt/tool.conf"
touch -h -d '2026-01-01 00:00:00' "$r"/etc/* "$r/opt/tool.conf" "$r/usr/share/doc/a"
expect_rc 0 image capture "$r" --name gold -q
# the planted changes (times moved, so rsync's quick check sees every one)
echo two >"$r/etc/motd"
echo 'setting=2' >"$r/etc/app.conf"
chmod 600 "$r/etc/app.conf"
echo 'mine=2' >"$r/opt/tool.conf"
echo new >"$r/usr/share/doc/b"
ln "$r/usr/share/doc/b" "$r/usr/share/doc/b2"
rm -r "$r/var/lib/old"
ln -sfn app.conf "$r/etc/motd.link"
touch -h -d '2026-01-01 00:00:00' "$r/etc/motd.link" # only its target changes
mkdir "$r/srv"
echo marker-v2 >"$r/srv/marker"
echo golden2 >"$r/etc/hostname"
touch -d '2026-02-01 00:00:00' "$r/etc/motd" "$r/etc/app.conf" "$r/opt/tool.conf" "$r/etc/hostname"
expect_rc 0 image capture "$r" --name gold -q

# ---- diff ---------------------------------------------------------------------------------
expect_rc 2 image diff gold@1
expect_rc 1 image diff gold@1 gold@9
expect_rc 0 image diff gold@1 gold@2
out_is "changed  f 0600 0:0 10 /etc/app.conf (mode 0644 -> 0600, content, mtime)
changed  f 0644 0:0 8 /etc/hostname (size 7 -> 8, content, mtime)
changed  f 0644 0:0 4 /etc/motd (content, mtime)
changed  l 0777 0:0 8 /etc/motd.link (target motd -> app.conf)
changed  f 0644 0:0 7 /opt/tool.conf (content, mtime)
added    d 0755 0:0 0 /srv
added    f 0644 0:0 10 /srv/marker
added    f 0644 0:0 4 /usr/share/doc/b
added    f 0644 0:0 4 /usr/share/doc/b2 (hard link of /usr/share/doc/b)
removed  d 0755 0:0 0 /var/lib/old
removed  f 0644 0:0 5 /var/lib/old/x"
expect_rc 0 image diff gold --json gold@1
json_ok "$T/stdout" '[(e["path"], e["change"]) for e in j][:2] == [("/etc/app.conf", "changed"), ("/etc/hostname", "changed")]'
json_ok "$T/stdout" 'j[0]["what"] == ["mode", "content", "mtime"] and j[0]["old"]["mode"] == "0600" and j[0]["new"]["mode"] == "0644"'
# two directories, as the trees of the store
expect_rc 0 image diff "$S/images/captures/gold/1/root" "$S/images/captures/gold/2/root" --json
json_ok "$T/stdout" 'len(j) == 11 and j[8]["link"] == "/usr/share/doc/b"'

# ---- guests of version 1 ------------------------------------------------------------------
expect_rc 0 profile add web --image gold@1 --disk-size 64M --ip-pool 10.32.0.0/24 \
	--gateway 10.32.0.1 --bridge br0
expect_rc 0 domain create w1 --profile web $C -q
expect_rc 0 domain create w2 --profile web $C -q --storage qcow2
# w3 changed /opt/tool.conf itself (its own content, written at create)
expect_rc 0 domain create w3 --profile web $C -q --storage qcow2 --write '/opt/tool.conf:local=1'
expect_rc 0 profile add web2 --image gold@2 --disk-size 64M --ip-pool 10.32.1.0/24 \
	--gateway 10.32.1.1 --bridge br0
expect_rc 0 domain create f2 --profile web2 $C -q --storage qcow2
expect_rc 0 domain list
grep -Eq '^w1 +ready +stopped +off +web +file +gold@1 ' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
grep -Eq '^f2 +ready +stopped +off +web2 +qcow2 +gold@2 ' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
expect_rc 0 domain list --drift --json
json_ok "$T/stdout" '{d["name"]: (d["image_version"], d["drift"]) for d in j} == {"w1": ("gold@1", []), "w2": ("gold@1", []), "w3": ("gold@1", []), "f2": ("gold@2", [])}'
# the profile follows the latest: its guests of version 1 drift
expect_rc 0 profile edit web --image gold
expect_rc 0 domain list --drift
# (the recorded image value differs from the profile's too: `domain diff`'s image)
grep -Eq '^w2 .* image,image-version$' "$T/stdout" || fail "list --drift: $(cat "$T/stdout")"; ok
grep -Eq '^f2 .* -$' "$T/stdout" || fail "list --drift: $(cat "$T/stdout")"; ok

backing=$(qemu-img info --output=json "$S/disks/w2.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["full-backing-filename"])')
[ -f "$backing" ] || fail "w2 has no backing file"; ok
backing_sum=$(sha256sum <"$backing")
sums() { sha256sum "$S/disks/w1.img" "$S/disks/w2.qcow2" "$S/disks/w3.qcow2"; }
before=$(sums)

# ---- usage and refusals -------------------------------------------------------------------
expect_rc 2 image update w1
err_has "--to NAME@V is required"
expect_rc 2 image update --to gold@2
expect_rc 1 image update nope --to gold@2
expect_rc 1 image update w1 --to gold@7
# no toolstack to say whether the guests run: the operator's word (--offline) is needed
XENPROV_XL=$T/no-such-xl expect_rc 1 image update w1 --to gold@2
err_has "give --offline if it is stopped"
[ "$(sums)" = "$before" ] || fail "a refused update changed a disk"; ok

# ---- dry run ------------------------------------------------------------------------------
expect_rc 0 image update w1 w2 --to gold@2 --dry-run
out_has "w1: gold@1 -> 4 to add, 4 to change, 2 to remove, 1 kept (its own), 0 conflict(s)"
out_has "  keep     /etc/hostname"
out_has "  remove   /var/lib/old/x"
expect_rc 0 image update w1 w2 --to gold@2 --dry-run --json
json_ok "$T/stdout" '[g["name"] for g in j] == ["w1", "w2"] and j[0]["counts"] == {"add": 4, "change": 4, "remove": 2, "keep": 1, "conflict": 0}'
[ "$(sums)" = "$before" ] || fail "--dry-run changed a disk"; ok

# ---- a conflict ---------------------------------------------------------------------------
expect_rc 1 image update w3 --to gold@2
out_has "  conflict /opt/tool.conf: changed by the guest"
err_has "overwritten"
[ "$(sums)" = "$before" ] || fail "a refused update changed a disk"; ok
ls "$S/disks" | grep -q xp-update && fail "a refused update left a temporary"; ok

# ---- the update ---------------------------------------------------------------------------
expect_rc 0 image update w1 w2 --to gold -j 2 -q
expect_rc 0 image update w3 --to gold@2 --override
out_has "w3: updated to gold@2"
[ "$(sha256sum <"$backing")" = "$backing_sum" ] || fail "the backing file was written"; ok
for g in w2 w3; do
	b=$(qemu-img info --output=json "$S/disks/$g.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("full-backing-filename", ""))')
	[ "$b" = "$backing" ] || fail "$g is no longer an overlay of the golden image ($b)"; ok
	qemu-img check "$S/disks/$g.qcow2" >"$T/qcheck" 2>&1 || { cat "$T/qcheck"; fail "qemu-img check $g"; }; ok
done
e2fsck -fn "$S/disks/w1.img?offset=$M" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck -fn w1"; }; ok
for g in w2 w3 f2; do
	qemu-img convert -O raw "$S/disks/$g.qcow2" "$T/$g.raw" || fail "qemu-img convert $g"
	e2fsck -fn "$T/$g.raw?offset=$M" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck -fn $g"; }; ok
done

# the same files as the fresh guest of version 2, but the guest's own
own='hostname|hosts|fstab|machine-id|resolv.conf|shadow|network'
listing() { # DISK: `image ls -l` of every directory the update touched, own files left out
	for d in / /etc /opt /srv /usr/share/doc /var/lib /bin; do
		echo "== $d"
		# a directory's time is when something in it last changed: not compared
		"$XENPROV" image ls -l "$1" "$d" | grep -Ev " ($own)( |$)" |
			sed -E 's/^(d.*) [0-9-]{10} [0-9:]{5} /\1 /'

	done
}
listing "$S/disks/f2.qcow2" >"$T/want"
for disk in "$S/disks/w1.img" "$S/disks/w2.qcow2" "$S/disks/w3.qcow2"; do
	listing "$disk" >"$T/got"
	diff -u "$T/want" "$T/got" || fail "$disk: listing differs from a fresh guest of version 2"; ok
	for f in /etc/app.conf /etc/motd /opt/tool.conf /srv/marker /usr/share/doc/b2 /bin/blob; do
		[ "$("$XENPROV" image cat "$disk" "$f" | sha256sum)" = "$(sha256sum <"$r$f")" ] ||
			fail "$disk: $f differs from version 2"; ok
	done
	# its own hostname stays (the image's is not written over it)
	[ "$("$XENPROV" image cat "$disk" /etc/hostname)" != golden2 ] || fail "$disk: hostname overwritten"; ok
done
[ "$("$XENPROV" image cat "$S/disks/w1.img" /etc/hostname)" = w1 ] || fail "w1's hostname"; ok
expect_rc 0 image ls -l "$S/disks/w1.img" /usr/share/doc
grep -Eq '^-rw-r--r-- +2 .* b2$' "$T/stdout" || fail "b2 is not a hard link: $(cat "$T/stdout")"; ok

expect_rc 0 domain list --drift --json
json_ok "$T/stdout" '{d["name"]: (d["image_version"], d["drift"]) for d in j} == {"w1": ("gold@2", []), "w2": ("gold@2", []), "w3": ("gold@2", []), "f2": ("gold@2", [])}'
# nothing left to do: a second run changes no byte (no copy is even made)
before=$(sums)
expect_rc 0 image update w1 w2 --to gold@2 -q
[ "$(sums)" = "$before" ] || fail "a second update changed a disk"; ok
inode=$(stat -c %i "$S/disks/w2.qcow2")
expect_rc 0 image update w2 --to gold@2 -q
[ "$(stat -c %i "$S/disks/w2.qcow2")" = "$inode" ] || fail "a no-op update replaced the disk"; ok
ls "$S/disks" | grep -q xp-update && fail "an update left a temporary"; ok

pass
