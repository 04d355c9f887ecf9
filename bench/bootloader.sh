#!/usr/bin/env bash
# bench/bootloader.sh [XENPROV] - a PV guest's local boot: what its own disk boots read
# and its kernel and initrd copied out, by xenprov (xenprov-pxeboot --local, the program
# libxl runs as bootloader = "xenprov-pxeboot", and `xenprov pxeboot --local`, the same
# code in the whole xenprov) next to Debian's pygrub (xen-utils-4.17,
# /usr/lib/xen-4.17/bin/pygrub -q --output-format=simple), on the same Debian 12 image,
# in one run, wall-clock, with the ratio (issue 13's target: at least 10x), and next to
# the floor: what any bootloader that must write those two files pays.
#
# The floor: the same kernel and initrd, already extracted and in the page cache,
# copied into the same output directory by a process that does nothing else
# (BUILD/bench/xp-copy-floor, bench/tools/copy-floor.c: an O_TMPFILE, copy_file_range
# or sendfile in the kernel, linkat; libc only), and by coreutils' cp for reference.
# Each tool's time above the floor is what it spends on everything but writing the
# files: starting, reading the image and its grub.cfg, choosing the entry.
#
# Each run is timed by xp-bench-time (bench/tools/bench-time.c): wall-clock, what a
# guest's start waits for, and CPU time (user + system), which on a busy machine leaves
# out the wait for a CPU and is the steadier of the two.
#
# Measured on this project's build machine (2 shared CPUs under a load of 8-10, Linux
# 6.18, the image on ext4, release build), median of 7 runs, three rounds, CPU time:
#   (rounds 1 / 2 / 3)      output on ext4 (/var/tmp)     output on tmpfs (/dev/shm)
#   floor                   13.2 / 12.2 / 10.8 ms         30.3 / 24.5 / 21.8 ms
#   xenprov-pxeboot         13.0 / 12.8 / 13.1 ms         28.4 / 28.3 / 24.0 ms
#     above the floor       -0.2 / +0.6 / +2.3 ms         -1.9 / +3.8 / +2.3 ms
#   pygrub                  96.1 / 94.8 / 83.1 ms        114.9 / 103.9 / 95.7 ms
#   ratio                    7.4 / 7.4 / 6.4x              4.0 / 3.7 / 4.0x
#   the floor's ratio        7.3 / 7.8 / 7.7x              3.8 / 4.2 / 4.4x
# Before (main: the bootloader a link to the whole xenprov, 51 libraries; the copy
# into a tmpfs by pread/write; the empty outputs truncated, which ext4 then writes
# out at close), in the same rounds: 24.9 / 25.2 / 25.9 ms on ext4 (floor 12.0 / 12.3 /
# 10.4), 42.5 / 40.3 / 39.7 ms on tmpfs (floor 24.9 / 23.3 / 24.3); 3.5 / 3.7 / 3.3x
# and 2.5 / 2.6 / 2.7x. The wall-clock
# medians of those runs (20-100 ms for 13-28 ms of CPU) mostly measured the load.
# 10x is not met and cannot be: a tenth of pygrub is 8.3-11.5 ms of CPU, less than the floor,
# the kernel copying 44 MB (Debian's kernel of 8.2 MB and initrd of 36.3 MB) from page
# cache to page cache, which any bootloader that writes the files pays. Earlier the
# same day, on a quieter machine, in wall-clock time: pygrub 77 ms, cp of the two files
# 22-28 ms into ext4 and 33-40 ms into tmpfs: at most ~3x and ~2x.
#
# The output directories: a scratch directory on TMPDIR's filesystem (/var/tmp: ext4
# here), then XP_BENCH_OUTDIR (default: a new directory in /dev/shm when that is a
# tmpfs, as libxl's /var/run/xen/bootloader.N.d is on Debian; "none": only the first).
#
# The image: XP_BENCH_IMAGE if set (a raw image whose grub.cfg both can read), else
# made once and cached as $XP_BENCH_CACHE/debian12-localboot.img (/var/tmp/xenprov-bench):
# the bench's Debian bookworm workload with linux-image-amd64 (bench/lib/minbase.sh,
# debootstrap; the deploy bench's guest tarball when it is there), plus the grub.cfg
# Debian's update-grub writes (tests/data/localboot/debian12-grub.cfg, its kernel
# version and filesystem UUID made the image's), built by `xenprov image build` (raw,
# msdos).
#
# Each tool runs XP_BENCH_RUNS (7) times per output directory, in turn, after one
# untimed run each (a warm page cache for all); each run writes into a fresh, empty
# directory. Printed: the median and the best, the time above the floor, the ratios of
# the medians. Every run's kernel and initrd are compared with cmp to pygrub's: they
# must be byte-identical, and the chosen entry's command line the same words.
#
# The xenprov binary: $1, else $XENPROV, else ../xenprov next to this script, else
# build/release/xenprov; xenprov-pxeboot and bench/xp-copy-floor are looked for beside
# it (the build directory's).
# Then the network boot (bench/lib/netboot.sh, root only; XP_BENCH_NET=no leaves it out):
# DHCP, the pxelinux config and a 30 MB kernel and initrd from `xenprov serve` by
# xenprov-pxeboot over HTTP and TFTP, beside udhcpc + curl and udhcpc + tftp-hpa (what
# xenpvnetboot and pypxeboot did).
# Benchmarks never judge timing: the exit status is 1 only when a tool could not run or
# the files differ.
set -u
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
link=$(cd "$(dirname "$0")" && pwd)
say() { printf '%s\n' "$*"; }
die() { say "bootloader: $*" >&2; exit 1; }
fstype() { findmnt -n -o FSTYPE -T "$1" 2>/dev/null | head -1 | grep . || stat -f -c %T "$1"; }
case ${1:-} in -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

. "$here/lib/xenprov.sh"
bench_xenprov "$link" "${1:-}"
[ -n "$X" ] && [ -x "$X" ] || die "no xenprov binary (give it as the argument)"
PYGRUB=/usr/lib/xen-4.17/bin/pygrub
[ -x "$PYGRUB" ] || die "no $PYGRUB (Debian's xen-utils-4.17)"
RUNS=${XP_BENCH_RUNS:-7}
CACHE=${XP_BENCH_CACHE:-/var/tmp/xenprov-bench}
SRC=$(cd "$here/.." && pwd)

# ---- the tools on xenprov's side ----------------------------------------------------------
"$X" pxeboot --help 2>&1 | grep -q -- '--local' || die "'$X' has no 'pxeboot --local' (too old)"
BDIR=$(cd "$(dirname "$X")" && pwd)
XPB=$BDIR/xenprov-pxeboot
[ -x "$XPB" ] || die "no xenprov-pxeboot beside '$X'"
FLOOR=
for c in "$link/xp-copy-floor" "$BDIR/bench/xp-copy-floor" "$here/../build/release/bench/xp-copy-floor"; do
	[ -x "$c" ] && { FLOOR=$c; break; }
done
[ -n "$FLOOR" ] || die "no xp-copy-floor (bench/tools/copy-floor.c; build the release preset)"
BTIME=$(dirname "$FLOOR")/xp-bench-time
[ -x "$BTIME" ] || die "no $BTIME (bench/tools/bench-time.c; build the release preset)"

# ---- the image ------------------------------------------------------------------------------
IMG=${XP_BENCH_IMAGE:-}
if [ -z "$IMG" ]; then
	IMG=$CACHE/debian12-localboot.img
	if [ ! -s "$IMG" ]; then
		. "$here/lib/minbase.sh"
		ARCHIVE=$CACHE/bookworm-guest.tar.gz
		[ -s "$ARCHIVE" ] || { ARCHIVE=$CACHE/bookworm-kernel.tar.gz; bench_minbase "$ARCHIVE" "$CACHE" linux-image-amd64; }
		W=$(mktemp -d "$CACHE/lb.XXXXXX") || die "cannot make a scratch directory in $CACHE"
		ver=$(tar -tzf "$ARCHIVE" | sed -n 's|^\./boot/vmlinuz-||p' | sort -V | tail -1)
		[ -n "$ver" ] || die "no /boot/vmlinuz-* in $ARCHIVE"
		uuid=$(cat /proc/sys/kernel/random/uuid)
		mkdir -p "$W/boot/grub"
		sed -e "s/6\.1\.0-57-amd64/$ver/g" -e "s/3790621e-9f89-4248-85d4-bcd41c912ca9/$uuid/g" \
			"$SRC/tests/data/localboot/debian12-grub.cfg" >"$W/boot/grub/grub.cfg"
		gzip -dc "$ARCHIVE" >"$W/root.tar" && tar -C "$W" -rf "$W/root.tar" ./boot/grub/grub.cfg ||
			die "cannot add grub.cfg to the workload"
		"$X" image build -q --no-cache --from "$W/root.tar" -o "$IMG" --uuid "$uuid" ||
			die "xenprov image build failed"
		rm -rf "$W"
	fi
fi
[ -s "$IMG" ] || die "no image '$IMG'"

OUT=$(mktemp -d "${TMPDIR:-/var/tmp}/xp-bench-lb.XXXXXX") || die "cannot make a scratch directory"
SHM=
case ${XP_BENCH_OUTDIR:-} in
none) ;;
"")
	if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
		SHM=$(mktemp -d /dev/shm/xp-bench-lb.XXXXXX) || die "cannot make a directory in /dev/shm"
	fi
	;;
*) SHM=$(mktemp -d "$XP_BENCH_OUTDIR/xp-bench-lb.XXXXXX") || die "cannot make a directory in $XP_BENCH_OUTDIR" ;;
esac
trap 'rm -rf "$OUT" ${SHM:+"$SHM"}' EXIT
say "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; Linux $(uname -r)"
say "image: $IMG ($(du -h --apparent-size "$IMG" | cut -f1), $(du -h "$IMG" | cut -f1) allocated, on $(fstype "$IMG"))"
say "xenprov-pxeboot: $XPB --local --output-format=simple ($(ldd "$XPB" 2>/dev/null | grep -c '=>') shared libraries)"
say "xenprov pxeboot: $X pxeboot --local --output-format=simple ($(ldd "$X" 2>/dev/null | grep -c '=>') shared libraries)"
say "pygrub: $PYGRUB -q --output-format=simple"
say "floor: $FLOOR DIR KERNEL INITRD; cp: cp KERNEL INITRD DIR"

# timed DIR CMD...: CMD run with DIR fresh and empty (its output in $OUT/out); in t its
# wall-clock time, in c the CPU time (user + system) it and its children used, in
# microseconds, measured by xp-bench-time (bench/tools/bench-time.c)
timed() {
	local dir=$1
	shift
	rm -rf "$dir" && mkdir "$dir" || die "cannot make '$dir'"
	"$BTIME" "$OUT/time" "$@" >"$OUT/out" 2>"$OUT/err" </dev/null ||
		die "$* failed: $(tail -3 "$OUT/err")"
	read -r t c <"$OUT/time" || die "xp-bench-time wrote nothing"
}
field() { sed -n "s/^$1 //p" "$OUT/out"; }
# the tools, by name: each runs into directory $1
run_tool() {
	local d=$1
	case $2 in
	pygrub) timed "$d" "$PYGRUB" -q --output-format=simple --output-directory="$d" "$IMG" ;;
	xpb) timed "$d" "$XPB" --local --output-format=simple --output-directory="$d" "$IMG" ;;
	xp) timed "$d" "$X" pxeboot --local --output-format=simple --output-directory="$d" "$IMG" ;;
	floor) timed "$d" "$FLOOR" "$d" "$OUT/py.kernel" "$OUT/py.initrd" ;;
	cp) timed "$d" cp "$OUT/py.kernel" "$OUT/py.initrd" "$d/" ;;
	esac
}
# check NAME: this run's files are pygrub's, byte for byte, and so are the arguments
check() {
	cmp -s "$(field kernel)" "$OUT/py.kernel" || die "$1: the kernel differs from pygrub's"
	cmp -s "$(field ramdisk)" "$OUT/py.initrd" || die "$1: the initrd differs from pygrub's"
	# shellcheck disable=SC2046
	[ "$(echo $(field args))" = "$(echo $(cat "$OUT/py.args"))" ] ||
		die "$1: the command lines differ: '$(field args)' and '$(cat "$OUT/py.args")'"
}
run_tool "$OUT/d" pygrub
cp "$(field kernel)" "$OUT/py.kernel" && cp "$(field ramdisk)" "$OUT/py.initrd" || die "no files from pygrub"
field args >"$OUT/py.args"
run_tool "$OUT/d" xpb
check xenprov-pxeboot
say "kernel $(stat -c %s "$OUT/py.kernel") bytes, initrd $(stat -c %s "$OUT/py.initrd") bytes: byte-identical; args: $(cat "$OUT/py.args")"

median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
best() { printf '%s\n' "$@" | sort -n | head -1; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / (b ? b : 1) }'; }
TOOLS=(floor cp xpb xp pygrub)
declare -A LABEL=([floor]="floor: xp-copy-floor" [cp]="cp" [xpb]="xenprov-pxeboot --local"
	[xp]="xenprov pxeboot --local" [pygrub]="pygrub")
# bench DIR: every tool RUNS times into DIR, in turn, and the table: wall-clock (what a
# guest's start waits for) and CPU time (steadier on a busy machine: it leaves out the
# time spent waiting for a CPU)
bench() {
	local dir=$1 tool i
	declare -A T=() C=() M=() MC=()
	for tool in "${TOOLS[@]}"; do run_tool "$dir" "$tool"; done # untimed
	for ((i = 0; i < RUNS; i++)); do
		for tool in "${TOOLS[@]}"; do
			run_tool "$dir" "$tool"
			case $tool in xpb | xp | pygrub) check "$tool" ;; esac
			T[$tool]+="$t "
			C[$tool]+="$c "
		done
	done
	for tool in "${TOOLS[@]}"; do
		# shellcheck disable=SC2086
		M[$tool]=$(median ${T[$tool]}) MC[$tool]=$(median ${C[$tool]})
	done
	say ""
	say "output directory: $(dirname "$dir") ($(fstype "$(dirname "$dir")")); load average $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-25s %10s %10s %12s   %10s %12s\n' "local boot ($RUNS runs)" "wall: med" best "above floor" "CPU: med" "above floor"
	for tool in "${TOOLS[@]}"; do
		# shellcheck disable=SC2086
		printf '%-25s %10s %10s %12s   %10s %12s\n' "${LABEL[$tool]}" "$(ms "${M[$tool]}")" \
			"$(ms "$(best ${T[$tool]})")" "$([ "$tool" = floor ] || ms $((M[$tool] - M[floor])))" \
			"$(ms "${MC[$tool]}")" "$([ "$tool" = floor ] || ms $((MC[$tool] - MC[floor])))"
	done
	say "ratio (medians): xenprov-pxeboot is $(ratio "${M[pygrub]}" "${M[xpb]}") faster than pygrub" \
		"in wall-clock time, $(ratio "${MC[pygrub]}" "${MC[xpb]}") in CPU time (target: 10x);" \
		"xenprov pxeboot: $(ratio "${M[pygrub]}" "${M[xp]}"), $(ratio "${MC[pygrub]}" "${MC[xp]}")"
	say "the floor alone allows at most $(ratio "${M[pygrub]}" "${M[floor]}") (CPU: $(ratio "${MC[pygrub]}" "${MC[floor]}")):" \
		"10x needs $(ms $((M[pygrub] / 10))) in all (CPU: $(ms $((MC[pygrub] / 10)))), the floor is" \
		"$(ms "${M[floor]}") ($(ms "${MC[floor]}"))"
}
bench "$OUT/d"
[ -n "$SHM" ] && bench "$SHM/d"

# ---- the network boot ------------------------------------------------------------------------
[ "${XP_BENCH_NET:-yes}" = no ] && exit 0
say ""
"$here/lib/netboot.sh" "$X" || die "the network boot's part failed"
