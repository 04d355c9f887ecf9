#!/bin/bash
# deploy-grow.sh - a profile whose image is a prebuilt disk image (not a tarball)
# smaller than its disk-size: every guest's disk is disk-size long and its root
# filesystem fills its partition (grown once per image and size into the state
# directory), for file and qcow2 storage, msdos and gpt tables and a bare filesystem;
# the user's image is never written. Checked with e2fsck -fn, dumpe2fs, sfdisk --verify
# and `xenprov image info`; the refusals (root partition not last) asserted.
#
# Run by CTest with XENPROV and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need e2fsck dumpe2fs resize2fs sfdisk qemu-img sha256sum tar
scratch
export XENPROV_STATE_DIR=$T/state

r=$T/root
guest_root "$r"
head -c 300000 /dev/urandom >"$r/bin/blob"
tar -C "$r" --numeric-owner -czf "$T/root.tgz" .
mkdir -p "$T/cfg" "$T/pool"

M=$((1024 * 1024))
expect_rc 0 image build --from "$T/root.tgz" -o "$T/msdos.img" --size 64M -q --no-cache
expect_rc 0 image build --from "$T/root.tgz" -o "$T/gpt.qcow2" --size 64M --label gpt -q --no-cache
expect_rc 0 image build --from "$T/root.tgz" -o "$T/bare.img" --size 64M --label none --fs ext3 -q --no-cache
expect_rc 0 image build --from "$T/root.tgz" -o "$T/swap.img" --size 64M --swap 8M -q --no-cache
(cd "$T" && sha256sum msdos.img gpt.qcow2 bare.img swap.img) >"$T/sums"

# fs_blocks IMAGE OFFSET: the filesystem's size in bytes (dumpe2fs)
fs_bytes() {
	dumpe2fs -h "$1?offset=$2" 2>/dev/null |
		awk -F: '/^Block count/ {c=$2} /^Block size/ {s=$2} END {print c * s}'
}
# check IMAGE_OF_GUEST(raw) OFFSET: fsck clean, filesystem 256M minus the table's share
check_fs() {
	local img=$1 off=$2 min=$3
	e2fsck -fn "$img?offset=$off" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck -fn $img"; }
	ok
	local b
	b=$(fs_bytes "$img" "$off")
	[ "$b" -ge "$min" ] && [ "$b" -le $((256 * M)) ] || fail "$img: filesystem is $b bytes, want >= $min"
	ok
}

i=0
for case in "msdos.img file" "msdos.img qcow2" "gpt.qcow2 file" "gpt.qcow2 qcow2" "bare.img file" "bare.img qcow2"; do
	set -- $case
	img=$1 st=$2 i=$((i + 1))
	expect_rc 0 profile add p$i --image "$T/$img" --disk-size 256M --storage $st --pool "$T/pool"
	expect_rc 0 deploy --profile p$i --count 2 --name "g${i}x%d" --config-dir "$T/cfg" -q
	for g in g${i}x1 g${i}x2; do
		d=$T/pool/$g.img
		[ $st = qcow2 ] && d=$T/pool/$g.qcow2
		[ -f "$d" ] || fail "$g: no disk $d"
		raw=$d
		if [ $st = qcow2 ]; then
			qemu-img check -q "$d" || fail "qemu-img check $d"
			ok
			qemu-img info --output=json "$d" | grep -q "\"virtual-size\": $((256 * M))," ||
				fail "$g: the overlay's virtual size is not 256M"
			ok
			raw=$T/raw.img
			rm -f "$raw"
			qemu-img convert -O raw "$d" "$raw" || fail "qemu-img convert $d"
		fi
		[ "$(stat -c %s "$raw")" = $((256 * M)) ] || fail "$g: disk is $(stat -c %s "$raw") bytes"
		ok
		off=$M
		[ "$img" = bare.img ] && off=0
		if [ $off != 0 ]; then
			sfdisk --verify "$raw" >"$T/sfd" 2>&1 || { cat "$T/sfd"; fail "sfdisk --verify $g"; }
			grep -q 'No errors detected' "$T/sfd" && ! grep -qi 'mismatch' "$T/sfd" ||
				{ cat "$T/sfd"; fail "sfdisk --verify $g: complaints"; }
			ok
		fi
		check_fs "$raw" $off $((250 * M))
		run image info "$d"
		[ $rc = 0 ] || fail "image info $d"
		grep -q '256.0 MiB virtual' "$T/stdout" || fail "$g: image info: $(head -3 "$T/stdout")"
		grep -qE '^[01] .* (255\.0|256\.0)M +ext' "$T/stdout" || fail "$g: image info, root volume: $(cat "$T/stdout")"
		ok
		run image cat "$d" /etc/hostname
		[ "$(cat "$T/stdout")" = "$g" ] || fail "$g: hostname '$(cat "$T/stdout")' (customised after growing?)"
		ok
	done
done
# grown once per image and size: msdos.img, gpt.qcow2, bare.img
ls "$T/state/images"/*.img >"$T/imgs" 2>/dev/null
[ "$(wc -l <"$T/imgs")" = 3 ] || fail "grown golden images: $(cat "$T/imgs")"
ok
# the user's images are untouched, and still 64M
(cd "$T" && sha256sum -c --quiet sums) || fail "a golden image was written"
ok
e2fsck -fn "$T/msdos.img?offset=$M" >/dev/null 2>&1 || fail "msdos.img no longer checks"
[ "$(fs_bytes "$T/msdos.img" $M)" -lt $((64 * M)) ] || fail "msdos.img's filesystem grew"
ok

# a root partition followed by swap cannot grow: refused, nothing left behind
expect_rc 0 profile add sw --image "$T/swap.img" --disk-size 256M --pool "$T/pool"
expect_rc 1 domain create sw1 --profile sw --config-dir "$T/cfg"
grep -q 'not the last one' "$T/err" || fail "root before swap: $(cat "$T/err")"
ok
[ ! -e "$T/pool/sw1.img" ] && [ ! -e "$T/cfg/sw1.cfg" ] || fail "sw1 left files"
[ "$(ls "$T/state/images" | wc -l)" = 3 ] || fail "a failed grow left a file: $(ls -a "$T/state/images")"
ok
# the same size as the image: used as it is
expect_rc 0 profile add same --image "$T/msdos.img" --disk-size 64M --pool "$T/pool"
expect_rc 0 domain create same1 --profile same --config-dir "$T/cfg"
[ "$(stat -c %s "$T/pool/same1.img")" = $((64 * M)) ] || fail "same1 was grown"
[ "$(ls "$T/state/images" | wc -l)" = 3 ] || fail "an image of the same size was grown"
ok
pass
