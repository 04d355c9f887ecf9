#!/bin/bash
# image-hostfs.sh - `xenprov image build` and the host's filesystems, on small tmpfs
# mounts made in a private mount namespace (unshare --mount: nothing is mounted outside
# this test, and the mounts vanish with it):
#   - a full host disk is reported as the host's ENOSPC on the output's path
#     ("cannot write 'OUT': No space left on device"), never as the guest filesystem
#     being too small, for raw and qcow2 output, and nothing is left behind; a guest
#     filesystem that is really too small still says so;
#   - the image cache on another filesystem than the output (copy_file_range(2) gives
#     EXDEV there) stores the image and serves it back, sparse, in both directions.
#
# Needs root for the mounts: exits 77 otherwise.
# Run by CTest with XENPROV, XP_TMP. Exit 0 pass, 1 fail, 77 skip.
set -u
X=${XENPROV:?}
T=${XP_TMP:-/tmp/xp-image-hostfs.$$}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (tmpfs mounts in a mount namespace)"; exit 77; }
for t in unshare mount tar gzip df timeout; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
if [ "${XP_HOSTFS_INNER:-}" != 1 ]; then
	rm -rf "$T"
	mkdir -p "$T" || exit 1
	# everything below runs in a mount namespace of its own, its mounts private
	XP_HOSTFS_INNER=1 XP_TMP="$T" unshare --mount --propagation private bash "$0"
	rc=$?
	rm -rf "$T"
	exit $rc
fi

mkdir -p "$T/root/etc" "$T/root/data" "$T/full" "$T/cachefs" "$T/out" || exit 1
n=0
fail() { echo "FAIL: $*"; [ -s "$T/err" ] && sed 's/^/  stderr: /' "$T/err" | head -20; exit 1; }
ok() { n=$((n + 1)); }
run() { timeout 120 "$X" "$@" >"$T/stdout" 2>"$T/err"; rc=$?
	# a sanitizer's report (the dev build) does not always change the exit status
	! grep -q -E 'Sanitizer|runtime error' "$T/err" || fail "xenprov $*: sanitizer report"
}
expect_rc() { local w=$1; shift; run "$@"; [ "$rc" = "$w" ] || fail "xenprov $*: exit $rc, want $w"; ok; }
expect_err() { grep -q -F -- "$1" "$T/err" || fail "stderr lacks '$1'"; ok; }
refute_err() { ! grep -q -F -- "$1" "$T/err" || fail "stderr has '$1'"; ok; }

# 24 MiB of incompressible file data, so the image needs that much of the host
echo guest >"$T/root/etc/hostname"
head -c $((24 << 20)) /dev/urandom >"$T/root/data/blob"
tar -C "$T/root" -czf "$T/root.tar.gz" . || fail "tar"
rm -rf "$T/root"

# ---- a full host disk -------------------------------------------------------------------
# 12 MiB of host for a 64 MiB image holding 24 MiB: the host fills while the guest
# filesystem has room to spare
mount -t tmpfs -o size=12m xp-full "$T/full" || fail "cannot mount a tmpfs"
ok
for fmt in raw qcow2; do
	out=$T/full/web.$fmt
	expect_rc 1 image build --from "$T/root.tar.gz" --size 64M --format $fmt --no-cache -q -o "$out"
	expect_err "$out: error: cannot write: No space left on device"
	expect_err "hint: the filesystem holding it on this host is full"
	expect_err "xenprov: cannot write '$out': No space left on device"
	refute_err "the filesystem of"
	refute_err "needs at least"
	refute_err "/proc/self/fd"
	[ -z "$(ls -A "$T/full")" ] || fail "left behind on the full disk: $(ls -A "$T/full")"
	ok
	# the space comes back: nothing is held open or hidden
	[ "$(df -k --output=used "$T/full" | tail -1 | tr -d ' ')" -lt 1024 ] ||
		fail "the full disk stays used: $(df -k "$T/full" | tail -1)"
	ok
done
# a host disk that fills while writing the qcow2 (the raw temporary fits, both do not)
umount "$T/full" && mount -t tmpfs -o size=40m xp-full "$T/full" || fail "remount"
expect_rc 1 image build --from "$T/root.tar.gz" --size 64M --format qcow2 --no-cache -q \
	-o "$T/full/web.qcow2"
expect_err "xenprov: cannot write '$T/full/web.qcow2': No space left on device"
refute_err "the filesystem of"
[ -z "$(ls -A "$T/full")" ] || fail "left behind: $(ls -A "$T/full")"; ok
# with room on the host, a guest filesystem too small for the archive still says so
umount "$T/full" && mount -t tmpfs -o size=128m xp-full "$T/full" || fail "remount"
expect_rc 1 image build --from "$T/root.tar.gz" --size 20M --no-cache -q -o "$T/full/small.img"
expect_err "error: the filesystem of 19 MiB is full at './data/blob': the archive needs at least"
refute_err "cannot write"
expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --no-cache -q -o "$T/full/ok.img"
umount "$T/full"

# ---- the image cache on another filesystem ---------------------------------------------
mount -t tmpfs -o size=128m xp-cache "$T/cachefs" || fail "cannot mount a tmpfs"
[ "$(stat -c %d "$T/cachefs")" != "$(stat -c %d "$T/out")" ] || fail "same filesystem"
ok
C=$T/cachefs/images
expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --cache-dir "$C" -o "$T/out/a.img"
refute_err "not cached"
[ "$(ls "$C" | grep -c '\.img$')" = 1 ] || fail "nothing cached: $(ls -A "$C")"; ok
cached=$(ls "$C"/*.img)
cmp -s "$T/out/a.img" "$cached" || fail "the cached image differs from the image built"; ok
[ "$(stat -c %b "$cached")" -lt $((40 * 2048)) ] || fail "the cached image is not sparse"; ok
expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --cache-dir "$C" -o "$T/out/b.img"
grep -q "from the image cache" "$T/stdout" || fail "not served from the cache: $(cat "$T/stdout")"
ok
cmp -s "$T/out/a.img" "$T/out/b.img" || fail "the image from the cache differs"; ok
[ "$(stat -c %s "$T/out/b.img")" = $((64 << 20)) ] || fail "b.img has the wrong size"; ok
[ "$(stat -c %b "$T/out/b.img")" -lt $((40 * 2048)) ] || fail "b.img is not sparse"; ok
# and the other way: the output on the tmpfs, the cache on the disk
expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --cache-dir "$T/cache2" \
	-o "$T/out/c.img"
expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --cache-dir "$T/cache2" \
	-o "$T/cachefs/d.img"
grep -q "from the image cache" "$T/stdout" || fail "not served from the cache"; ok
cmp -s "$T/out/c.img" "$T/cachefs/d.img" || fail "d.img differs"; ok
umount "$T/cachefs"

echo "image-hostfs: $n checks passed"
