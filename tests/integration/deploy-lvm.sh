#!/bin/bash
# deploy-lvm.sh - storage=lvm needs device-mapper and lvm2's tools. Where they are
# missing (these build machines have no device-mapper) the test checks the clear
# refusal and reports itself skipped (77), never passed: LVM itself is untested here.
set -u
X=${XENPROV:?}
T=${XP_TMP:-/tmp/xp-deploy-lvm.$$}
rm -rf "$T"
mkdir -p "$T/root/etc" "$T/cfg" || exit 1
trap 'rm -rf "$T"' EXIT
export XENPROV_STATE_DIR=$T/state
echo golden >"$T/root/etc/hostname"
tar -C "$T/root" -czf "$T/root.tgz" .
if [ -e /dev/mapper/control ] && command -v lvcreate >/dev/null && [ -n "${XP_TEST_VG:-}" ]; then
	echo "SKIP: an LVM run needs a volume group set up by hand (XP_TEST_VG); not automated yet"
	exit 77
fi
"$X" profile add lv --image "$T/root.tgz" --disk-size 32M --storage lvm --pool vg0 >/dev/null || { echo "FAIL: profile add"; exit 1; }
"$X" deploy --profile lv --count 1 --name 'l%d' --config-dir "$T/cfg" -q >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || { echo "FAIL: deploy with lvm here: exit $rc"; exit 1; }
grep -q 'device-mapper' "$T/err" || { echo "FAIL: no clear message: $(cat "$T/err")"; exit 1; }
echo "SKIP: no device-mapper here; storage=lvm is refused clearly, LVM itself is not tested"
exit 77
