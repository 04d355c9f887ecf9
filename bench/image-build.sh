#!/usr/bin/env bash
# bench/image-build.sh [XENPROV] - `xenprov image build` next to the ways people build a
# guest disk from a root tarball today, in one run, with wall-clock times and ratios.
#
# Workload: a Debian bookworm minbase root (debootstrap --variant=minbase, then the
# downloaded .debs and apt lists removed, as for a golden image), made once and cached
# as a tar.gz under /var/tmp/xenprov-bench (XP_BENCH_CACHE), built into a
# 1 GiB msdos-partitioned ext3 disk (root partition at 1 MiB).
#
# Peers, each ending with its output on disk (sync of the file, or umount + sync):
#   book      the Book of Xen's way, as root: truncate, sfdisk, losetup --offset,
#             mkfs.ext3, mount, tar xzf, umount, sync (needs root and loop devices)
#   mke2fs-dd tar x into a directory, mke2fs -t ext3 -d DIR on a file, dd it into the
#             disk at 1 MiB (conv=notrunc,sparse)
#   mke2fs-off  the same without the splice: mke2fs -E offset=1MiB -d DIR onto the disk
#   qcow2     the fastest raw peer, then qemu-img convert -O qcow2
#   pigz      pigz -dc ARCHIVE >/dev/null: decompressing the archive, the physical floor
#             the issue names (zlib's inflate)
#   igzip     igzip -dc ARCHIVE >/dev/null: the same with ISA-L's inflate, which xenprov
#             uses for gzip: the floor xenprov itself could reach (reported, not a target)
#   xenprov   xenprov image build --no-cache, raw and qcow2
# Images of distributions (`image build --dist`), apart: mmdebstrap's own time writing
# its tar to /dev/null next to `xenprov image build --dist --no-cache` (the same suite,
# variant, packages and mirror), and xenprov's time on top of mmdebstrap's (the issue's
# target: under 10% added). mmdebstrap downloads its packages each time, so each side
# runs XP_BENCH_DIST_REPEAT times (default 1), best kept. XP_BENCH_DIST=0 leaves it out;
# it needs root, mmdebstrap and the mirror (XP_BENCH_DIST_MIRROR, default
# http://deb.debian.org/debian); XP_BENCH_DIST_INCLUDE adds packages (e.g. the issue's
# systemd-sysv,udev,openssh-server,linux-image-amd64,ifupdown).
# Each is run XP_BENCH_REPEAT times (default 3) and the best time is kept; the archive
# is read once beforehand so that all of them find it in the page cache. Removing the
# mke2fs peers' staging directory is left out of their time (it is done, and synced,
# before the next run); on a slow disk it can cost more than the build itself.
#
# The xenprov binary: $1, else $XENPROV, else ../xenprov next to this script (when run
# as BUILD_DIR/bench/bench-image-build, a link to this file), else build/release/xenprov.
# Every output is synced (sync FILE) inside its timed region, xenprov's too. Benchmarks
# never judge timing: the exit status is 1 only when something could not run.
set -u
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$(readlink -f "$0")")/lib/xenprov.sh"
bench_xenprov "$here" "${1:-}"
CACHE=${XP_BENCH_CACHE:-/var/tmp/xenprov-bench}
ARCHIVE=$CACHE/bookworm-minbase.tar.gz
MIRROR=${XP_BENCH_MIRROR:-} # empty: debootstrap's own default mirror
REPEAT=${XP_BENCH_REPEAT:-3}
SIZE_MIB=1024
MIB=1048576

say() { printf '%s\n' "$*"; }
die() { say "image-build: $*" >&2; exit 1; }

# ---- the workload, made once ----------------------------------------------------------
. "$(dirname "$(readlink -f "$0")")/lib/minbase.sh"
bench_minbase "$ARCHIVE" "$CACHE"

W=$(mktemp -d "${XP_BENCH_TMP:-/var/tmp}/xenprov-bench-run.XXXXXX") || die "no scratch directory"
loopdev=
cleanup() {
	mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt"
	[ -n "$loopdev" ] && losetup -d "$loopdev" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

files=$(tar -tzf "$ARCHIVE" | wc -l)
unpacked_kib=$(gzip -l "$ARCHIVE" | awk 'NR == 2 { printf "%d", $2 / 1024 }')
cat "$ARCHIVE" >/dev/null # into the page cache for everyone
say "workload: $ARCHIVE"
say "          $(du -k "$ARCHIVE" | cut -f1) KiB compressed, $unpacked_kib KiB of tar, $files entries"
say "target:   ${SIZE_MIB} MiB disk, msdos, ext3 root partition at 1 MiB; best of $REPEAT runs"
say "machine:  $(nproc) CPUs; scratch $W ($(df -T "$W" | awk 'NR == 2 { print $2 }'))"
say

# ---- timing ------------------------------------------------------------------------------
declare -A best note
now_us() { echo "${EPOCHREALTIME/./}"; }

# measure NAME FUNCTION: best wall time of REPEAT runs of FUNCTION, in microseconds.
measure() {
	local name=$1 fn=$2 i t0 t1 dt
	best[$name]=
	for ((i = 0; i < REPEAT; i++)); do
		rm -rf "$W/out" && mkdir -p "$W/out"
		sync
		t0=$(now_us)
		if ! "$fn" >"$W/$name.log" 2>&1; then
			note[$name]="failed: $(tail -n 3 "$W/$name.log" | tr '\n' ' ')"
			best[$name]=
			return 1
		fi
		t1=$(now_us)
		dt=$((t1 - t0))
		if [ -z "${best[$name]}" ] || [ "$dt" -lt "${best[$name]}" ]; then
			best[$name]=$dt
		fi
	done
	printf '  %-14s %8.2f s\n' "$name" "$(awk -v t="${best[$name]}" 'BEGIN { print t / 1e6 }')"
}

partition() { # msdos table, one bootable Linux partition from 1 MiB to the end
	echo 'start=2048, type=83, bootable' | sfdisk -q "$1" >/dev/null
}

m_book() {
	local img=$W/out/book.raw
	truncate -s "${SIZE_MIB}M" "$img" &&
		partition "$img" &&
		loopdev=$(losetup --show -f --offset $MIB --sizelimit $(((SIZE_MIB - 1) * MIB)) "$img") &&
		mkfs.ext3 -q "$loopdev" &&
		mkdir -p "$W/mnt" && mount "$loopdev" "$W/mnt" &&
		tar --numeric-owner -xzpf "$ARCHIVE" -C "$W/mnt" &&
		umount "$W/mnt" &&
		losetup -d "$loopdev" && loopdev= &&
		sync "$img"
}

m_mke2fs_dd() {
	local img=$W/out/mke2fs-dd.raw dir=$W/out/root fs=$W/out/fs.img
	mkdir "$dir" &&
		tar --numeric-owner -xzpf "$ARCHIVE" -C "$dir" &&
		mke2fs -q -F -t ext3 -d "$dir" "$fs" $((SIZE_MIB - 1))M &&
		truncate -s "${SIZE_MIB}M" "$img" &&
		partition "$img" &&
		dd if="$fs" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none &&
		sync "$img"
}

m_mke2fs_off() {
	local img=$W/out/mke2fs-off.raw dir=$W/out/root
	mkdir "$dir" &&
		tar --numeric-owner -xzpf "$ARCHIVE" -C "$dir" &&
		truncate -s "${SIZE_MIB}M" "$img" &&
		partition "$img" &&
		mke2fs -q -F -t ext3 -E offset=$MIB -d "$dir" "$img" $((SIZE_MIB - 1))M &&
		sync "$img"
}

raw_for_qcow2=
m_qcow2_convert() { # only the conversion; the raw image is made beforehand, untimed
	qemu-img convert -O qcow2 "$raw_for_qcow2" "$W/out/peer.qcow2" && sync "$W/out/peer.qcow2"
}

m_pigz() {
	if command -v pigz >/dev/null; then
		pigz -dc "$ARCHIVE" >/dev/null
	else
		gzip -dc "$ARCHIVE" >/dev/null
	fi
}

m_igzip() { igzip -dc "$ARCHIVE" >/dev/null; }

m_xenprov_raw() {
	"$X" image build --from "$ARCHIVE" --size "${SIZE_MIB}M" --fs ext3 --label msdos \
		--no-cache -q -o "$W/out/xenprov.raw" && sync "$W/out/xenprov.raw"
}

m_xenprov_qcow2() {
	"$X" image build --from "$ARCHIVE" --size "${SIZE_MIB}M" --fs ext3 --label msdos \
		--format qcow2 --no-cache -q -o "$W/out/xenprov.qcow2" && sync "$W/out/xenprov.qcow2"
}

# ---- the run -------------------------------------------------------------------------
say "peers:"
if [ "$(id -u)" -ne 0 ]; then
	note[book]="skipped: needs root (losetup, mount)"
elif ! losetup -f >/dev/null 2>&1; then
	note[book]="skipped: no free loop device here"
else
	measure book m_book
fi
[ "$(id -u)" -eq 0 ] || say "  note: not root, so the tar x peers cannot keep file owners"
measure mke2fs-dd m_mke2fs_dd
measure mke2fs-off m_mke2fs_off

# the fastest raw peer, and its qcow2 conversion
fastest_raw=
for p in book mke2fs-dd mke2fs-off; do
	[ -n "${best[$p]:-}" ] || continue
	if [ -z "$fastest_raw" ] || [ "${best[$p]}" -lt "${best[$fastest_raw]}" ]; then
		fastest_raw=$p
	fi
done
if [ -n "$fastest_raw" ] && command -v qemu-img >/dev/null; then
	# make that peer's raw image once more, untimed, and time only the conversion
	mkdir -p "$W/keep"
	rm -rf "$W/out" && mkdir -p "$W/out"
	fn=m_${fastest_raw//-/_}
	if "$fn" >/dev/null 2>&1; then
		mv "$W/out/$fastest_raw.raw" "$W/keep/peer.raw"
		raw_for_qcow2=$W/keep/peer.raw
		measure qemu-img m_qcow2_convert >/dev/null
		best[qcow2]=$((best[$fastest_raw] + best[qemu-img]))
		printf '  %-14s %8.2f s  (%s %.2f s + qemu-img convert %.2f s)\n' qcow2 \
			"$(awk -v t="${best[qcow2]}" 'BEGIN { print t / 1e6 }')" "$fastest_raw" \
			"$(awk -v t="${best[$fastest_raw]}" 'BEGIN { print t / 1e6 }')" \
			"$(awk -v t="${best[qemu-img]}" 'BEGIN { print t / 1e6 }')"
		rm -f "$W/keep/peer.raw"
	fi
fi
measure pigz m_pigz
if command -v igzip >/dev/null; then
	measure igzip m_igzip
else
	note[igzip]="skipped: igzip (Debian package isal) not installed"
fi

say
say "xenprov ($X):"
xenprov_ok=1
if [ -z "$X" ] || [ ! -x "$X" ]; then
	note[xenprov]="not found (pass the binary as \$1 or \$XENPROV)"
	xenprov_ok=0
elif ! "$X" image build -h >/dev/null 2>&1; then
	note[xenprov]="'xenprov image build' is not available in this binary"
	xenprov_ok=0
else
	measure xenprov-raw m_xenprov_raw
	# not timed: the result is a sound filesystem (a fast broken image proves nothing)
	if [ -n "${best[xenprov-raw]:-}" ]; then
		if e2fsck -fn "$W/out/xenprov.raw?offset=$MIB" >"$W/fsck.log" 2>&1; then
			say "  (xenprov.raw: e2fsck -fn clean, $(du -k "$W/out/xenprov.raw" | cut -f1) KiB allocated)"
		else
			note[xenprov-raw]="built an image e2fsck -fn rejects: $(tail -n 2 "$W/fsck.log" | tr '\n' ' ')"
		fi
	fi
	measure xenprov-qcow2 m_xenprov_qcow2
fi

# ---- images of distributions ------------------------------------------------------------
DIST_MIRROR=${XP_BENCH_DIST_MIRROR:-http://deb.debian.org/debian}
DIST_INCLUDE=${XP_BENCH_DIST_INCLUDE:-}
DIST_REPEAT=${XP_BENCH_DIST_REPEAT:-1}
m_mmdebstrap() {
	mmdebstrap --mode=root --variant=minbase --format=tar -q \
		${DIST_INCLUDE:+--include="$DIST_INCLUDE"} bookworm - "$DIST_MIRROR" >/dev/null
}
m_xenprov_dist() {
	"$X" image build --dist debian:bookworm --variant minbase --mirror "$DIST_MIRROR" \
		${DIST_INCLUDE:+--include "$DIST_INCLUDE"} --no-cache --json -q \
		-o "$W/out/dist.raw" >"$W/dist.json" && sync "$W/out/dist.raw"
}
dist_added= # xenprov's own account of its time on top of mmdebstrap's, best run
if [ "${XP_BENCH_DIST:-1}" = 0 ]; then
	note[dist]="left out (XP_BENCH_DIST=0)"
elif [ "$(id -u)" -ne 0 ] || ! command -v mmdebstrap >/dev/null; then
	note[dist]="skipped: needs root and mmdebstrap"
elif [ $xenprov_ok -ne 1 ]; then
	note[dist]="skipped: no xenprov"
else
	say
	say "image build --dist debian:bookworm (minbase${DIST_INCLUDE:+ + $DIST_INCLUDE}, $DIST_MIRROR), best of $DIST_REPEAT:"
	saved_repeat=$REPEAT
	REPEAT=$DIST_REPEAT
	measure mmdebstrap m_mmdebstrap
	measure xenprov-dist m_xenprov_dist
	REPEAT=$saved_repeat
	if [ -n "${best[xenprov-dist]:-}" ] && [ -s "$W/dist.json" ]; then
		read -r mm_s ours_s pct < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]));
m, o = j["mmdebstrap_seconds"], j["xenprov_seconds"]
print("%.2f %.2f %.1f" % (m, o, 100 * o / m if m else 0))' "$W/dist.json")
		dist_added="$ours_s s ($pct% of mmdebstrap's ${mm_s} s in that run)"
		say "  (its last run: mmdebstrap ${mm_s} s inside, xenprov ${ours_s} s on top: $pct%)"
	fi
fi

for k in "${!note[@]}"; do
	say "  $k: ${note[$k]}"
done

# ---- ratios ------------------------------------------------------------------------------
ratio() { # ratio A B: "A/B" of two microsecond counts
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'
}
say
say "ratios (time / time; below 1.00x xenprov is faster):"
if [ $xenprov_ok -eq 1 ] && [ -n "${best[xenprov-raw]:-}" ]; then
	[ -n "$fastest_raw" ] &&
		say "  xenprov raw   vs fastest raw peer ($fastest_raw): $(ratio "${best[xenprov-raw]}" "${best[$fastest_raw]}")"
	for p in book mke2fs-dd mke2fs-off; do
		[ -n "${best[$p]:-}" ] && [ "$p" != "$fastest_raw" ] &&
			say "  xenprov raw   vs $p: $(ratio "${best[xenprov-raw]}" "${best[$p]}")"
	done
	[ -n "${best[qcow2]:-}" ] && [ -n "${best[xenprov-qcow2]:-}" ] &&
		say "  xenprov qcow2 vs fastest qcow2 peer: $(ratio "${best[xenprov-qcow2]}" "${best[qcow2]}")"
	[ -n "${best[pigz]:-}" ] && {
		say "  xenprov raw   vs pigz floor: $(ratio "${best[xenprov-raw]}" "${best[pigz]}")"
		[ -n "${best[xenprov-qcow2]:-}" ] &&
			say "  xenprov qcow2 vs pigz floor: $(ratio "${best[xenprov-qcow2]}" "${best[pigz]}")"
	}
	[ -n "${best[igzip]:-}" ] &&
		say "  xenprov raw   vs igzip floor: $(ratio "${best[xenprov-raw]}" "${best[igzip]}")"
else
	say "  (no xenprov numbers)"
fi
if [ -n "$fastest_raw" ] && [ -n "${best[pigz]:-}" ]; then
	say "  fastest raw peer vs pigz floor: $(ratio "${best[$fastest_raw]}" "${best[pigz]}")"
fi
if [ -n "${best[mmdebstrap]:-}" ] && [ -n "${best[xenprov-dist]:-}" ]; then
	say "  xenprov --dist vs mmdebstrap to /dev/null: $(ratio "${best[xenprov-dist]}" "${best[mmdebstrap]}")" \
		"(target: under 1.10x; both download their packages, so the network's and"
	say "      the machine's variation is in it: xenprov's own account of its time on top of"
	say "      mmdebstrap's is ${dist_added:-?})"
fi

[ $xenprov_ok -eq 1 ] && [ -n "${best[xenprov-raw]:-}" ] && [ -n "${best[xenprov-qcow2]:-}" ] || exit 1
exit 0
