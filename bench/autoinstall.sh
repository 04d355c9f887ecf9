#!/usr/bin/env bash
# bench/autoinstall.sh [XENPROV] - the autoinstall installer's disk work (`xenprov
# installer run`, what a machine netbooted into the installer does between its start and
# its reboot) for the Debian bookworm minbase image onto a blank disk, beside `xenprov
# image build`'s own time for the same image; and the server's aggregate rate with 10
# installers at once, beside the same server's HTTP boot file rate.
#
# Network namespaces made here and removed at exit: the server (`xenprov serve --http`)
# in xpa-srv-PID with a bridge (10.75.0.1/24), and one namespace per machine,
# xpa-cN-PID, whose eth0 (a veth in the bridge) has its system's MAC and reserved
# address, as installer-run.sh does without QEMU; no packet leaves them. Only the
# processes this script starts are stopped, by their PIDs. The disks are sparse files.
#
#   1 image build  `xenprov image build --from minbase.tar.gz --size SIZE` into a new
#                  file (the builder the server uses for the golden image), best of 2;
#                  a warm-up install first, which has the server prepare (build and
#                  hash) its golden image: not counted
#   2 one install  `installer run --disk FILE --no-bootloader` for a system marked
#                  --install on, its kernel command line read from its iPXE config
#                  (with the token): the record, the disk checks, the image as a
#                  sparse stream (its data extents; hashed as it comes), the root
#                  grown, the per-guest edits, the success event; wall clock,
#                  best of 2, and the ratio to (1) (target: under 2x)
#   2b onto a loop  the same onto a loop device (`losetup -f --show -P` of a blank file in
#                  XP_BENCH_DISKS, detached after each run), as a real machine installs
#                  onto a block device: the root filesystem grown through its partition
#                  node, holes made zeros with BLKZEROOUT; skipped, saying so, where
#                  losetup cannot attach one (a container without loop devices). Where
#                  one attaches but the kernel makes no partitions of it (no loopNp1,
#                  a container's loop devices), the root cannot be grown through its
#                  partition node: the loop install and one onto a file are both
#                  measured with --no-grow instead, side by side, and say so
#   3 ten at once  10 systems, each `installer run` in its own namespace, started
#                  together: the time until the last one is done, the aggregate rate
#                  (image bytes written / seconds)
#   4 boot files   10 curl at once of a random file of the same size as the image from
#                  the same server's HTTP (/FILE beneath the TFTP root, as kernels and
#                  initrds are served), aggregate rate; the ratio of (3) to it
#
# Workload: the minbase tarball of bench/lib/minbase.sh (XP_BENCH_CACHE, default
# /var/tmp/xenprov-bench; made with debootstrap when missing), an image of
# XP_BENCH_AI_MIB MiB (default 512). Scratch in XP_BENCH_TMP (default /var/tmp), the
# disks in XP_BENCH_DISKS (default /dev/shm, so that ten disks' writes measure the
# server and the installer, not this machine's disk), and the installer's TMPDIR there
# too (its initramfs has only RAM: a disk file's root filesystem is grown in a copy
# there, which a block device's partition node spares).
# Needs root (namespaces), curl. Prints a table; never judges the numbers.
#
# One run (2026-12-07, build/dev/xenprov: ASan, load 10-15 on 2 shared cores, 512 MiB):
#   image build 1.87 s, one installer run 2.46 s (1.32x); ten at once 14.2 s, 379 MB/s
#   in aggregate against 949 MB/s for ten HTTP boot file fetches (0.40x).
# With the sparse stream (2026-12-07, build/release/xenprov, load 5-9, 512 MiB): image
#   build 0.78 s, one installer run 1.48 s (1.90x; main's binary then: 4.0x); ten at
#   once 12.7 s, 424 MB/s against 1,085 MB/s of boot files (0.39x).
# With the sparse digest (2026-12-07, build/release/xenprov, three runs at load 1.4, 1.2
#   and 2.1): image build 0.24, 0.25, 0.24 s; one installer run 0.36, 0.35, 0.34 s (1.50x,
#   1.40x, 1.42x; the installer hashes the 128 MiB of data, not the 512 MiB); ten at once
#   4.0, 3.8, 3.0 s, 1,329 to 1,778 MB/s against ~1,900 MB/s of boot files (0.71x to
#   0.92x). Loop devices attach in this container but get no partitions, so the loop
#   install ran with --no-grow: 0.74 to 0.93 s, against 0.16 to 0.25 s onto a file.
set -u
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf '%s\n' "$*"; }
die() { say "autoinstall: $*" >&2; exit 1; }
. "$here/lib/xenprov.sh"
bench_xenprov "$(dirname "$0")" "${1:-}"
[ -n "$X" ] && [ -x "$X" ] || die "no xenprov binary (give its path)"
X=$(cd "$(dirname "$X")" && pwd)/$(basename "$X")
[ "$(id -u)" = 0 ] || die "needs root for network namespaces"
for t in curl ip tar; do command -v $t >/dev/null || die "needs $t"; done
MIB=${XP_BENCH_AI_MIB:-512}
N=10
CACHE=${XP_BENCH_CACHE:-/var/tmp/xenprov-bench}
ARCHIVE=$CACHE/bookworm-minbase.tar.gz
. "$here/lib/minbase.sh"
bench_minbase "$ARCHIVE" "$CACHE"

W=$(mktemp -d "${XP_BENCH_TMP:-/var/tmp}/xp-bench-autoinstall.XXXXXX") || die "no scratch directory"
chmod 755 "$W"
# the disks in memory, through a link: the installer takes a --disk beginning /dev/ for
# a device's name
D=$(mktemp -d "${XP_BENCH_DISKS:-/dev/shm}/xp-bench-autoinstall.XXXXXX") || die "no disk directory"
ln -s "$D" "$W/disks" || die "ln"
SRV=xpa-srv-$$
declare -A started # PID -> what
ns_made=()
loop_dev= # the loop device attached here, if any
cleanup() {
	local p ns
	[ -z "$loop_dev" ] || losetup -d "$loop_dev" 2>/dev/null
	for p in "${!started[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	for ns in "${ns_made[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$W" "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# ---- the server and the machines ---------------------------------------------------------
export XENPROV_STATE_DIR=$W/state
for kv in "server 10.75.0.1" "http-port 8080" "tftp-root $W/tftp" \
	"pool.a.range 10.75.0.100-10.75.0.200" "pool.a.netmask 255.255.255.0"; do
	"$X" settings set $kv >/dev/null || die "settings set $kv"
done
mkdir -p "$W/tftp"
echo kernel >"$W/vmlinuz"
"$X" distro add plain --kernel "$W/vmlinuz" >/dev/null || die "distro add"
"$X" profile add mb --image "$ARCHIVE" --disk-size "${MIB}M" --network dhcp --distro plain \
	>/dev/null 2>"$W/err" || die "profile add: $(cat "$W/err")"
ip netns add "$SRV" && ns_made+=("$SRV") || die "ip netns add"
ip -n "$SRV" link set lo up
ip -n "$SRV" link add br0 type bridge && ip -n "$SRV" addr add 10.75.0.1/24 dev br0 &&
	ip -n "$SRV" link set br0 up || die "bridge"
for ((i = 1; i <= N; i++)); do
	mac=$(printf '52:54:00:ab:00:%02x' "$i")
	ns=xpa-c$i-$$
	ip netns add "$ns" && ns_made+=("$ns") || die "ip netns add $ns"
	ip link add eth0 netns "$ns" address "$mac" type veth peer name "v$i" netns "$SRV" &&
		ip -n "$SRV" link set "v$i" master br0 && ip -n "$SRV" link set "v$i" up &&
		ip -n "$ns" addr add "10.75.0.$((10 + i))/24" dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$ns" link set lo up || die "the namespace of machine $i"
	"$X" system add "m$i" --mac "$mac" --ip "10.75.0.$((10 + i))" --profile mb --install on \
		>/dev/null 2>"$W/err" || die "system add m$i: $(cat "$W/err")"
done
ip netns exec "$SRV" "$X" serve --http >"$W/serve.log" 2>&1 </dev/null &
SRV_PID=$!
started[$SRV_PID]=serve
up() { ip netns exec xpa-c1-$$ curl -s -o /dev/null --max-time 1 http://10.75.0.1:8080/; }
for ((i = 0; i < 100; i++)); do up && break; sleep 0.1; done
up || die "xenprov serve did not start: $(tail -n 5 "$W/serve.log")"

# cmdline I: machine I's kernel command line, from its iPXE config asked from its own
# address (its install token), into $W/cmdline-I; marks it again first when an install
# ended its mark
cmdline() {
	"$X" system edit "m$1" --netboot on --install on >/dev/null || die "system edit m$1"
	ip netns exec "xpa-c$1-$$" curl -sf --max-time 10 -o "$W/ipxe-$1" \
		"http://10.75.0.1:8080/ipxe/01-52-54-00-ab-00-$(printf %02x "$1")" || die "no iPXE config for m$1"
	grep -o 'xenprov\.[a-z-]*=[^ ]*' "$W/ipxe-$1" | tr '\n' ' ' >"$W/cmdline-$1"
	grep -q 'xenprov.token=' "$W/cmdline-$1" || die "no token for m$1: $(cat "$W/ipxe-$1")"
}
# install I: installer run for machine I onto a new blank disk; status in $W/rc-I
install() {
	rm -f "$W/disks/disk-$1.img"
	truncate -s "$((MIB + 64))M" "$W/disks/disk-$1.img"
	TMPDIR=$D ip netns exec "xpa-c$1-$$" "$X" installer run --disk "$W/disks/disk-$1.img" --no-bootloader \
		--cmdline "$W/cmdline-$1" --json >"$W/run-$1.json" 2>"$W/run-$1.err"
	echo $? >"$W/rc-$1"
}
check() {
	[ "$(cat "$W/rc-$1")" = 0 ] || die "installer run m$1 failed: $(cat "$W/run-$1.err")"
}

say "autoinstall bench: $X, image ${MIB} MiB (minbase), load $(cut -d' ' -f1-3 /proc/loadavg)"
# ---- warm-up: the server prepares the golden image ---------------------------------------
cmdline 1
t0=$(now)
install 1
check 1
warm=$(secs "$t0" "$(now)")

# ---- 1. image build ------------------------------------------------------------------------
best_build=
for r in 1 2; do
	rm -f "$W/built.img"
	t0=$(now)
	"$X" image build --from "$ARCHIVE" -o "$W/built.img" --size "${MIB}M" --no-cache \
		>/dev/null 2>"$W/err" || die "image build: $(cat "$W/err")"
	t=$(secs "$t0" "$(now)")
	[ -z "$best_build" ] || awk -v a="$t" -v b="$best_build" 'BEGIN { exit !(a < b) }' && best_build=$t
done
rm -f "$W/built.img"

# ---- 2. one install --------------------------------------------------------------------------
best_one=
for r in 1 2; do
	cmdline 1
	t0=$(now)
	install 1
	t=$(secs "$t0" "$(now)")
	check 1
	[ -z "$best_one" ] || awk -v a="$t" -v b="$best_one" 'BEGIN { exit !(a < b) }' && best_one=$t
done
size=$(sed -n 's/.*"image_size": *\([0-9]*\).*/\1/p' "$W/run-1.json")
digest=$(sed -n 's/.*"digest": *"\([a-z]*\)".*/\1/p' "$W/run-1.json")

# ---- 2b. one install onto a loop device --------------------------------------------------------
best_loop=
loop_note=
loop_grow=
best_nogrow=
# does the kernel make a loop device's partitions here? (a table on a small file)
truncate -s 8M "$W/disks/probe.img"
if ! echo 'start=2048, type=83' | sfdisk -q "$W/disks/probe.img" 2>/dev/null; then
	loop_note="sfdisk failed on a probe file"
elif ! loop_dev=$(losetup -f --show -P "$W/disks/probe.img" 2>"$W/err"); then
	loop_dev=
	loop_note="no loop device here: $(head -n 1 "$W/err")"
else
	sleep 0.2
	[ -e "/sys/block/${loop_dev#/dev/}/${loop_dev#/dev/}p1" ] || loop_grow=--no-grow
	losetup -d "$loop_dev" || die "losetup -d $loop_dev"
	loop_dev=
fi
rm -f "$W/disks/probe.img"
# one install onto the disk $1 (a device or a file) with the options after it: its time
one_install() {
	local disk=$1 t0
	shift
	cmdline 1
	t0=$(now)
	TMPDIR=$D ip netns exec "xpa-c1-$$" "$X" installer run --disk "$disk" --no-bootloader \
		--cmdline "$W/cmdline-1" --json "$@" >"$W/run-1.json" 2>"$W/run-1.err"
	echo $? >"$W/rc-1"
	secs "$t0" "$(now)"
}
for r in 1 2; do
	[ -z "$loop_note" ] || break
	rm -f "$W/disks/loop.img"
	truncate -s "$((MIB + 64))M" "$W/disks/loop.img"
	loop_dev=$(losetup -f --show -P "$W/disks/loop.img") || die "losetup"
	t=$(one_install "$loop_dev" $loop_grow)
	losetup -d "$loop_dev" || die "losetup -d $loop_dev"
	loop_dev=
	check 1
	[ -z "$best_loop" ] || awk -v a="$t" -v b="$best_loop" 'BEGIN { exit !(a < b) }' && best_loop=$t
	if [ -n "$loop_grow" ]; then
		rm -f "$W/disks/disk-1.img"
		truncate -s "$((MIB + 64))M" "$W/disks/disk-1.img"
		t=$(one_install "$W/disks/disk-1.img" --no-grow)
		check 1
		[ -z "$best_nogrow" ] || awk -v a="$t" -v b="$best_nogrow" 'BEGIN { exit !(a < b) }' && best_nogrow=$t
	fi
done
rm -f "$W/disks/loop.img"
[ -n "$size" ] || die "no image_size in installer run's --json: $(cat "$W/run-1.json")"

# ---- 3. ten at once --------------------------------------------------------------------------
for ((i = 1; i <= N; i++)); do cmdline "$i"; done
t0=$(now)
pids=()
for ((i = 1; i <= N; i++)); do
	install "$i" &
	pids+=($!)
done
wait "${pids[@]}"
ten=$(secs "$t0" "$(now)")
for ((i = 1; i <= N; i++)); do check "$i"; rm -f "$W/disks/disk-$i.img"; done

# ---- 4. boot files over HTTP -----------------------------------------------------------------
head -c "$size" /dev/urandom >"$W/tftp/bootfile.bin"
t0=$(now)
pids=()
for ((i = 1; i <= N; i++)); do
	ip netns exec "xpa-c$i-$$" curl -sf -o /dev/null http://10.75.0.1:8080/bootfile.bin &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
[ $fails = 0 ] || die "$fails boot file downloads failed"
files=$(secs "$t0" "$(now)")

rate() { awk -v n="$N" -v s="$size" -v t="$1" 'BEGIN { printf "%.0f", n * s / t / 1e6 }'; }
say ""
printf '%-52s %10s\n' "what" "result"
printf '%-52s %9ss\n' "warm-up install (the server builds the golden image)" "$warm"
printf '%-52s %9ss\n' "1 image build (minbase, ${MIB} MiB), best of 2" "$best_build"
printf '%-52s %9ss\n' "2 installer run, one machine, best of 2" "$best_one"
printf '%-52s %9sx\n' "  ratio to image build (target < 2x)" \
	"$(awk -v a="$best_one" -v b="$best_build" 'BEGIN { printf "%.2f", a / b }')"
printf '%-52s %10s\n' "  the image checked by (installer run --json digest)" "$digest"
ratio() { awk -v a="$1" -v b="$best_build" 'BEGIN { printf "%.2f", a / b }'; }
if [ -n "$best_loop" ] && [ -z "$loop_grow" ]; then
	printf '%-52s %9ss\n' "2b installer run onto a loop device, best of 2" "$best_loop"
	printf '%-52s %9sx\n' "  ratio to image build (target < 2x)" "$(ratio "$best_loop")"
elif [ -n "$best_loop" ]; then
	say "2b the kernel makes no partitions of loop devices here: measured with --no-grow"
	printf '%-52s %9ss\n' "  installer run --no-grow onto a loop device, best of 2" "$best_loop"
	printf '%-52s %9sx\n' "    ratio to image build" "$(ratio "$best_loop")"
	printf '%-52s %9ss\n' "  installer run --no-grow onto a file, best of 2" "$best_nogrow"
	printf '%-52s %9sx\n' "    ratio to image build" "$(ratio "$best_nogrow")"
else
	printf '%-52s %s\n' "2b installer run onto a loop device" "skipped: $loop_note"
fi
printf '%-52s %9ss\n' "3 ten installer runs at once: the last done" "$ten"
printf '%-52s %6s MB/s\n' "  aggregate image rate" "$(rate "$ten")"
printf '%-52s %9ss\n' "4 ten HTTP boot file fetches at once ($((size / 1048576)) MiB)" "$files"
printf '%-52s %6s MB/s\n' "  aggregate boot file rate" "$(rate "$files")"
printf '%-52s %9sx\n' "  installers' rate / boot file rate" \
	"$(awk -v a="$ten" -v b="$files" 'BEGIN { printf "%.2f", b / a }')"
