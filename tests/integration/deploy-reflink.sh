#!/bin/bash
# deploy-reflink.sh - `xenprov deploy` with storage=reflink: 20 guests cloned with
# FICLONE on an XFS filesystem (reflink=1) that the test makes in a loop-mounted file,
# checked like the other backends (hostname and IP inside each image, e2fsck -fn,
# libxlutil); and the clear refusal on a filesystem that cannot reflink.
# Needs root, loop devices and mkfs.xfs: otherwise it reports itself skipped (77).
. "$(dirname "$0")/lib/common.sh" || exit 1
XLU=${XP_XLU_CHECK:-}
need mkfs.xfs findmnt
[ -e /dev/loop-control ] || skip "no loop devices here"
# the loop and tmpfs mounts are the test's own, and go with it
in_private_mounts "$@" || skip "needs root and unshare to loop-mount a filesystem"
scratch mnt cfg
truncate -s 600M "$T/xfs.img"
mkfs.xfs -q -m reflink=1 "$T/xfs.img" || skip "mkfs.xfs cannot make a reflink filesystem"
mount -o loop "$T/xfs.img" "$T/mnt" 2>"$T/err" || skip "cannot loop-mount: $(cat "$T/err")"
export XENPROV_STATE_DIR=$T/mnt/state
used_empty=$(df --output=used -B1 "$T/mnt" | tail -1)

r=$T/root
mkdir -p "$r/etc/network" "$r/bin"
echo golden >"$r/etc/hostname"
printf 'auto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
head -c 2000000 /dev/urandom >"$r/bin/blob"
tar -C "$r" -czf "$T/root.tgz" .
"$X" profile add rl --image "$T/root.tgz" --disk-size 64M --storage reflink --pool "$T/mnt/pool" \
	--network static --ip-pool 10.78.0.0/24 --gateway 10.78.0.1 >/dev/null 2>"$T/err" || fail "profile add"
"$X" deploy --profile rl --count 20 --name 'r%02d' --config-dir "$T/cfg" -q >"$T/out" 2>"$T/err" || fail "deploy reflink"
grep -q '20 created' "$T/out" || fail "summary: $(cat "$T/out")"; ok
used_before=$(df --output=used -B1 "$T/mnt" | tail -1)
for cfg in "$T"/cfg/*.cfg; do
	name=$(basename "$cfg" .cfg)
	disk=$T/mnt/pool/$name.img
	[ "$("$X" image cat "$disk" /etc/hostname)" = "$name" ] || fail "$name: hostname"
	ip=$("$X" config get "$cfg" vif | sed 's/.*ip=\([0-9.]*\).*/\1/')
	"$X" image cat "$disk" /etc/network/interfaces | grep -q "address $ip/24" || fail "$name: ip"
	e2fsck -fn "$disk?offset=1048576" >/dev/null 2>&1 || fail "$name: e2fsck"
	ok
done
if [ -x "$XLU" ]; then "$XLU" "$T"/cfg/*.cfg >/dev/null || fail "libxlutil"; ok; fi
# clones share the golden image's blocks: 20 guests take far less than 20 copies
golden=$(ls "$T"/mnt/state/images/*.img | head -1)
data=$(du -B1 "$golden" | cut -f1)
used=$((used_before - used_empty))
[ "$used" -lt $((data * 10)) ] || fail "the golden image and 20 clones use $used bytes; the golden image alone has $data"; ok
# a filesystem that cannot reflink: a clear refusal, nothing left
"$X" profile add rl2 --parent rl --pool "$T/pool-tmpfs" >/dev/null
mkdir -p "$T/pool-tmpfs"
mount -t tmpfs -o size=64m tmpfs "$T/pool-tmpfs" 2>/dev/null || skip "no tmpfs for the refusal case"
"$X" deploy --profile rl2 --count 1 --name 'x%d' --config-dir "$T/cfg" -q >"$T/out" 2>"$T/err"
rc=$?
umount "$T/pool-tmpfs"
[ $rc = 1 ] || fail "reflink on tmpfs: exit $rc"; ok
grep -qi 'reflink' "$T/err" || fail "no clear reflink message"; ok
[ ! -e "$T/cfg/x1.cfg" ] || fail "refused guest left a config"; ok
pass
