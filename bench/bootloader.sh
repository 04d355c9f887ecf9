#!/usr/bin/env bash
# bench/bootloader.sh [XENPROV] - a PV guest's local boot: what its own disk boots read
# and its kernel and initrd copied out, by xenprov (`xenprov pxeboot --local`, the
# library's localboot.h) next to Debian's pygrub (xen-utils-4.17,
# /usr/lib/xen-4.17/bin/pygrub -q --output-format=simple), on the same Debian 12 image,
# in one run, wall-clock, with the ratio (issue 13's target: at least 10x).
#
# The image: XP_BENCH_IMAGE if set (a raw image whose grub.cfg both can read), else
# made once and cached as $XP_BENCH_CACHE/debian12-localboot.img (/var/tmp/xenprov-bench):
# the bench's Debian bookworm workload with linux-image-amd64 (bench/lib/minbase.sh,
# debootstrap; the deploy bench's guest tarball when it is there), plus the grub.cfg
# Debian's update-grub writes (tests/data/localboot/debian12-grub.cfg, its kernel
# version and filesystem UUID made the image's), built by `xenprov image build` (raw,
# msdos).
#
# Each tool runs XP_BENCH_RUNS (7) times, alternately, after one untimed run each (a
# warm page cache for both); printed: the median and the best, and the ratio of the
# medians. Every run's kernel and initrd are compared with cmp to pygrub's: they must
# be byte-identical, and the chosen entry's command line the same words.
#
# xenprov's column is `xenprov pxeboot --local --output-format=simple
# --output-directory=DIR DISK` when the xenprov binary has it; until then the library's
# own test tool, BUILD/tests/xp-localboot (tests/tools/localboot-run.c, the same
# library call), stands in, and the output says so. The xenprov binary: $1, else
# $XENPROV, else ../xenprov next to this script, else build/release/xenprov.
# Then the network boot (bench/lib/netboot.sh, root only): DHCP, the pxelinux config and
# a 30 MB kernel and initrd from `xenprov serve` by xenprov-pxeboot over HTTP and TFTP,
# beside udhcpc + curl and udhcpc + tftp-hpa (what xenpvnetboot and pypxeboot did).
# Benchmarks never judge timing: the exit status is 1 only when a tool could not run or
# the files differ.
set -u
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
link=$(cd "$(dirname "$0")" && pwd)
say() { printf '%s\n' "$*"; }
die() { say "bootloader: $*" >&2; exit 1; }
case ${1:-} in -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

. "$here/lib/xenprov.sh"
bench_xenprov "$link" "${1:-}"
[ -n "$X" ] && [ -x "$X" ] || die "no xenprov binary (give it as the argument)"
PYGRUB=/usr/lib/xen-4.17/bin/pygrub
[ -x "$PYGRUB" ] || die "no $PYGRUB (Debian's xen-utils-4.17)"
RUNS=${XP_BENCH_RUNS:-7}
CACHE=${XP_BENCH_CACHE:-/var/tmp/xenprov-bench}
SRC=$(cd "$here/.." && pwd)

# ---- the tool on xenprov's side ----------------------------------------------------------
if "$X" pxeboot --help 2>&1 | grep -q -- '--local'; then
	XP=("$X" pxeboot --local --output-format=simple)
	XNAME="xenprov pxeboot --local"
else
	TOOL=
	for c in "$link/../tests/xp-localboot" "$here/../build/release/tests/xp-localboot" \
		"$(dirname "$X")/tests/xp-localboot"; do
		[ -x "$c" ] && { TOOL=$c; break; }
	done
	[ -n "$TOOL" ] || die "no 'xenprov pxeboot --local' and no xp-localboot test tool (build the tests)"
	XP=("$TOOL")
	XNAME="xp-localboot (the library's local boot; 'xenprov pxeboot --local' is not in this xenprov yet)"
fi

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
trap 'rm -rf "$OUT"' EXIT
say "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
say "image: $IMG ($(du -h --apparent-size "$IMG" | cut -f1), $(du -h "$IMG" | cut -f1) allocated)"
say "xenprov: $XNAME"
say "pygrub: $PYGRUB -q --output-format=simple"

# one TOOL...: runs it into a fresh directory, its output in $OUT/out; the seconds in t
one() {
	rm -rf "$OUT/d" && mkdir "$OUT/d"
	local t0 t1
	t0=$(date +%s%N)
	"$@" --output-directory="$OUT/d" "$IMG" >"$OUT/out" 2>"$OUT/err" </dev/null
	local rc=$?
	t1=$(date +%s%N)
	[ $rc = 0 ] || die "$* failed: $(tail -3 "$OUT/err")"
	t=$(((t1 - t0) / 1000))
}
field() { sed -n "s/^$1 //p" "$OUT/out"; }
keep() { # NAME: keeps this run's files as NAME.kernel, NAME.initrd, NAME.args
	cp "$(field kernel)" "$OUT/$1.kernel" && cp "$(field ramdisk)" "$OUT/$1.initrd" || die "no files from $1"
	field args >"$OUT/$1.args"
}
one "$PYGRUB" -q --output-format=simple
keep py
one "${XP[@]}"
keep xp
cmp -s "$OUT/py.kernel" "$OUT/xp.kernel" || die "the kernels differ"
cmp -s "$OUT/py.initrd" "$OUT/xp.initrd" || die "the initrds differ"
# shellcheck disable=SC2046
[ "$(echo $(cat "$OUT/py.args"))" = "$(echo $(cat "$OUT/xp.args"))" ] ||
	die "the command lines differ: '$(cat "$OUT/py.args")' and '$(cat "$OUT/xp.args")'"
say "kernel $(stat -c %s "$OUT/xp.kernel") bytes, initrd $(stat -c %s "$OUT/xp.initrd") bytes: byte-identical; args: $(cat "$OUT/xp.args")"

declare -a TP TX
for ((i = 0; i < RUNS; i++)); do
	one "$PYGRUB" -q --output-format=simple
	TP+=("$t")
	one "${XP[@]}"
	cmp -s "$(field kernel)" "$OUT/py.kernel" && cmp -s "$(field ramdisk)" "$OUT/py.initrd" ||
		die "run $i: xenprov's files differ from pygrub's"
	TX+=("$t")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
best() { printf '%s\n' "$@" | sort -n | head -1; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }
mp=$(median "${TP[@]}") mx=$(median "${TX[@]}")
say ""
printf '%-28s %12s %12s\n' "local boot ($RUNS runs)" median best
printf '%-28s %12s %12s\n' "pygrub" "$(ms "$mp")" "$(ms "$(best "${TP[@]}")")"
printf '%-28s %12s %12s\n' "xenprov" "$(ms "$mx")" "$(ms "$(best "${TX[@]}")")"
say ""
say "ratio (median): xenprov is $(awk -v a="$mp" -v b="$mx" 'BEGIN { printf "%.1fx", a / (b ? b : 1) }') faster than pygrub (target: 10x)"

# ---- the network boot ------------------------------------------------------------------------
say ""
"$here/lib/netboot.sh" "$X" || die "the network boot's part failed"
