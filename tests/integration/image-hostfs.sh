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
. "$(dirname "$0")/lib/common.sh" || exit 1
need mount tar gzip df timeout findmnt
# everything below runs in a mount namespace of its own, its mounts private
in_private_mounts "$@" || skip "needs root and unshare (tmpfs mounts in a mount namespace)"
scratch root/etc root/data full cachefs out
RUN_TIMEOUT=120

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
	img=$T/full/web.$fmt
	expect_rc 1 image build --from "$T/root.tar.gz" --size 64M --format $fmt --no-cache -q -o "$img"
	err_has "$img: error: cannot write: No space left on device"
	err_has "hint: the filesystem holding it on this host is full"
	err_has "xenprov: cannot write '$img': No space left on device"
	err_lacks "the filesystem of"
	err_lacks "needs at least"
	err_lacks "/proc/self/fd"
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
err_has "xenprov: cannot write '$T/full/web.qcow2': No space left on device"
err_lacks "the filesystem of"
[ -z "$(ls -A "$T/full")" ] || fail "left behind: $(ls -A "$T/full")"; ok
# with room on the host, a guest filesystem too small for the archive still says so
umount "$T/full" && mount -t tmpfs -o size=128m xp-full "$T/full" || fail "remount"
expect_rc 1 image build --from "$T/root.tar.gz" --size 20M --no-cache -q -o "$T/full/small.img"
err_has "error: the filesystem of 19 MiB is full at './data/blob': the archive needs at least"
err_lacks "cannot write"
expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --no-cache -q -o "$T/full/ok.img"
umount "$T/full"

# ---- the image cache on another filesystem ---------------------------------------------
mount -t tmpfs -o size=128m xp-cache "$T/cachefs" || fail "cannot mount a tmpfs"
[ "$(stat -c %d "$T/cachefs")" != "$(stat -c %d "$T/out")" ] || fail "same filesystem"
ok
C=$T/cachefs/images
expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --cache-dir "$C" -o "$T/out/a.img"
err_lacks "not cached"
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

pass
