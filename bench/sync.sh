#!/usr/bin/env bash
# bench/sync.sh [--quick] [XENPROV] - `xenprov sync` of a large inventory, wall-clock,
# next to Cobbler's published `cobbler sync` figures (Cobbler is not run here: its
# figures come from its users' reports, cited with their links below).
#
# Workload: XP_BENCH_SYNC_N (10000) systems, half booting a profile's distro, half a
# distro of their own, every tenth with netboot off, each with a reserved address in
# 10.64.0.0/16 (pool.lab); one distro with an 8 MiB kernel and a 32 MiB initrd
# (XP_BENCH_SYNC_KERNEL_MB, XP_BENCH_SYNC_INITRD_MB) of random bytes. The systems go into
# the inventory by SQL (10,000 `system add` processes would take minutes and measure
# nothing of sync); the inventory's triggers count them as any writer's.
# Targets: a TFTP root (2 files a system, GRUB's 256, 3 menus, the distro's 2 files) and the include
# files of dnsmasq and Kea (reservations and classes), both checked by their servers'
# own checkers. As root the files go to a journaled ext4 made for the run in a
# loop-mounted sparse file under the build tree; XP_BENCH_SYNC_DIR names another
# directory (the build tree's own without root); the filesystem is printed.
#
# Measured, each XP_BENCH_SYNC_REPS (5) times, median and range:
#   1 first sync, TFTP root: every file written and made durable
#   2 first sync, dnsmasq + Kea includes: rendered, checked, written
#   3 full sync after a change that is not one system's (a setting no file depends
#     on): every system rendered and compared with the record, nothing written
#   4 full sync with --full: the same, and every file's bytes read back from disk
#   5 full sync that rewrites everything (the distro's kernel options changed): every
#     netbooting system's files and the menus written, as `cobbler sync` writes all
#   6 no change: a bare sync of the three targets (nothing rendered, nothing written)
#   7 one system changed, TFTP root: its 2 files and its GRUB file rendered and written
#   8 one system changed, dnsmasq include: every system rendered (one file), checked
#     by dnsmasq --test, written
# Each run's output is checked (files written, removed, unchanged) so that a number is
# never that of a sync that did something else. The state directory is on the same
# filesystem, SQLite with synchronous=FULL, as in production.
#
# The xenprov binary: $1, else $XENPROV, else ../xenprov next to this script (when run
# as BUILD_DIR/bench/bench-sync, a link to this file), else build/release/xenprov.
# Benchmarks never judge timing: the exit status is 1 only when xenprov or a tool it
# needs could not run or a sync did something other than expected.
set -u
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)
quick=
if [ "${1:-}" = --quick ]; then
	quick=1
	shift
fi
case ${1:-} in -h | --help)
	echo "usage: bench/sync.sh [--quick] [XENPROV]"
	exit 0
	;;
esac
X=${1:-${XENPROV:-}}
if [ -z "$X" ]; then
	for c in "$here/../xenprov" "$here/../build/release/xenprov"; do
		[ -x "$c" ] && { X=$c; break; }
	done
fi
[ -n "$X" ] && [ -x "$X" ] || { echo "sync: no xenprov binary (give it as an argument)" >&2; exit 1; }
for t in sqlite3 dnsmasq kea-dhcp4 python3; do
	command -v "$t" >/dev/null || { echo "sync: $t is not installed (scripts/install-deps)" >&2; exit 1; }
done

N=${XP_BENCH_SYNC_N:-10000}
REPS=${XP_BENCH_SYNC_REPS:-5}
KMB=${XP_BENCH_SYNC_KERNEL_MB:-8}
IMB=${XP_BENCH_SYNC_INITRD_MB:-32}
if [ -n "$quick" ]; then
	N=1000
	REPS=2
	KMB=1
	IMB=1
fi
[ "$N" -ge 2 ] && [ "$N" -le 60000 ] || { echo "sync: XP_BENCH_SYNC_N must be 2..60000" >&2; exit 1; }

die() { echo "sync: $*" >&2; exit 1; }

# Where the files go. As root, by default, a journaled ext4 made in a loop-mounted sparse
# file (a TFTP root's usual filesystem, whatever the build tree is on: a root ext4
# without a journal skips each recently freed inode when it allocates one, which makes
# every file made after a removal crawl); else XP_BENCH_SYNC_DIR, else the build tree.
base=${XP_BENCH_SYNC_DIR:-$here/sync-work}
mkdir -p "$base" || die "cannot make $base"
W=$base/run.$$
loop=
cleanup() {
	if [ -n "$loop" ]; then
		umount "$W" 2>/dev/null
		losetup -d "$loop" 2>/dev/null
		rm -f "$base/fs.$$.img"
		rmdir "$W" 2>/dev/null
	else
		rm -rf "$W"
	fi
	rmdir "$base" 2>/dev/null
}
trap cleanup EXIT
mkdir -p "$W" || die "cannot make $W"
if [ -z "${XP_BENCH_SYNC_DIR:-}" ] && [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null &&
	truncate -s 4G "$base/fs.$$.img" && mkfs.ext4 -q -F -i 4096 "$base/fs.$$.img" &&
	loop=$(losetup --show -f "$base/fs.$$.img" 2>/dev/null) && mount "$loop" "$W"; then
	:
elif [ -n "$loop" ]; then
	losetup -d "$loop"
	loop=
fi
export XENPROV_STATE_DIR=$W/state
R=$W/tftp
mkdir -p "$R" "$W/dhcp"
DM=$W/dhcp/xenprov-dnsmasq.conf
KEA=$W/dhcp/xenprov-reservations.json
KEAC=$W/dhcp/xenprov-classes.json

xp() { "$X" "$@" >"$W/out" 2>"$W/err" || die "xenprov $* failed: $(cat "$W/err")"; }

echo "bench-sync: $N systems; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  xenprov: $X"
dev=$(df --output=source "$W" | tail -1)
journal="without a journal"
case $dev in
/dev/loop*) journal="with a journal (a loop-mounted file, made for this run)" ;;
/dev/*) [ -e "/proc/fs/jbd2/$(basename "$dev")-8" ] && journal="with a journal" ;;
esac
echo "  files on: $(df --output=fstype "$W" | tail -1) $journal ($dev), $W"
"$X" --version >/dev/null 2>&1 || die "cannot run $X"

# the inventory
xp settings set server 10.64.0.1
xp settings set pool.lab.range 10.64.200.1-10.64.255.254
xp settings set pool.lab.netmask 255.255.0.0
head -c $((KMB << 20)) /dev/urandom >"$W/vmlinuz"
head -c $((IMB << 20)) /dev/urandom >"$W/initrd"
xp distro add deb12 --kernel "$W/vmlinuz" --initrd "$W/initrd" --kernel-options "console=ttyS0 quiet"
xp profile add web --distro deb12
t0=$EPOCHREALTIME
sqlite3 "$XENPROV_STATE_DIR/inventory.db" >/dev/null "
PRAGMA busy_timeout = 10000;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO systems (name, mac, ip, profile, distro, netboot, kernel_options, created, updated)
SELECT printf('node%05d', i),
       printf('52:54:00:%02x:%02x:%02x', i >> 16, (i >> 8) & 255, i & 255),
       printf('10.64.%d.%d', 1 + i / 250, 1 + i % 250),
       CASE WHEN i % 2 = 0 THEN 'web' END, CASE WHEN i % 2 = 1 THEN 'deb12' END,
       i % 10 != 0, CASE WHEN i % 3 = 0 THEN 'ip=dhcp' END, 0, 0
FROM n;" || die "cannot insert the systems"
awk -v n="$N" -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "  inventory: %d systems inserted in %.2f s\n", n, b - a }'

# time_run NAME CMD...: runs CMD, appends its wall time (seconds) to $W/t.NAME
time_run() {
	local name=$1
	shift
	local a=$EPOCHREALTIME
	"$@" >"$W/out" 2>"$W/err" || die "$* failed: $(cat "$W/err")"
	local b=$EPOCHREALTIME
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f\n", b - a }' >>"$W/t.$name"
}
# expect TEXT: the last run printed it
expect() { grep -qF -- "$1" "$W/out" || die "expected '$1', got: $(cat "$W/out")"; }
# stats NAME: "median min max" in seconds
stats() { sort -g "$W/t.$1" | awk '{ v[NR] = $1 } END { printf "%.4f %.4f %.4f", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

# per system pxelinux and iPXE files, GRUB's 256 (one a MAC's last byte), 3 menus, 2
# distro files
files=$((2 * N + 256 + 5))
dirs=(--tftp-root "$R")
dhcp=(--dnsmasq "$DM" --kea "$KEA" --kea-classes "$KEAC" --subnet 10.64.0.0/16)

# 1, 2: first syncs, each on an empty target (forgotten and emptied between runs)
for ((i = 0; i < REPS; i++)); do
	rm -rf "$R" && mkdir -p "$R" && sync -f "$R"
	"$X" sync --forget "${dirs[@]}" >/dev/null 2>&1
	time_run first-tftp "$X" sync "${dirs[@]}"
	expect "tftp $R: $files written, 0 removed, 0 unchanged ($N systems)"
	rm -f "$DM" "$KEA" "$KEAC"
	"$X" sync --forget --dnsmasq "$DM" >/dev/null 2>&1
	"$X" sync --forget --kea "$KEA" >/dev/null 2>&1
	time_run first-dhcp "$X" sync "${dhcp[@]}"
	expect "dnsmasq $DM: 1 written, 0 unchanged ($N systems); checked by dnsmasq"
	expect "kea $KEA: 2 written, 0 unchanged ($N systems); checked by kea-dhcp4"
done
# 3-5: full syncs; 6: no change at all
netboot=$((N - N / 10))
# the GRUB files holding a netbooting system (system i's MAC ends in i & 255)
declare -A bytes=()
for ((i = 1; i <= N; i++)); do
	[ $((i % 10)) -ne 0 ] && bytes[$((i & 255))]=1
done
rewritten=$((2 * netboot + ${#bytes[@]} + 3))
for ((i = 0; i < REPS; i++)); do
	xp settings set offer-hold $((40 + i))
	time_run world "$X" sync "${dirs[@]}"
	expect "tftp $R: 0 written, 0 removed, $files unchanged ($N systems)"
	time_run full "$X" sync --full "${dirs[@]}"
	expect "tftp $R: 0 written, 0 removed, $files unchanged ($N systems)"
	xp distro edit deb12 --kernel-options "console=ttyS0 quiet run=$i"
	time_run rewrite "$X" sync "${dirs[@]}"
	expect "tftp $R: $rewritten written, 0 removed, $((files - rewritten)) unchanged ($N systems)"
	xp sync "${dhcp[@]}" # the includes see the changes too, untimed
	time_run nochange "$X" sync
	expect "tftp $R: up to date"
	expect "dnsmasq $DM: up to date"
done
# 5, 6: one system changed (by the command line, untimed), then synced
for ((i = 0; i < REPS; i++)); do
	xp system edit node00042 --kernel-options "quiet run=$i"
	time_run one-tftp "$X" sync "${dirs[@]}"
	expect "tftp $R: 3 written, 0 removed, 0 unchanged (1 system changed)"
	xp system edit node00043 --hostname "h$i"
	time_run one-dnsmasq "$X" sync --dnsmasq "$DM"
	expect "dnsmasq $DM: 1 written, 0 unchanged ($N systems); checked by dnsmasq"
	xp sync "${dirs[@]}" # the TFTP root sees that change too, untimed
done
# what one checker run costs, apart (it is part of 2 and 6)
for ((i = 0; i < REPS; i++)); do
	time_run check-dnsmasq dnsmasq --test --conf-file="$DM"
done

row() { # LABEL NAME
	read -r med lo hi <<<"$(stats "$2")"
	printf '  %-52s %9.3f s  (%.3f-%.3f)\n' "$1" "$med" "$lo" "$hi"
}
echo
echo "xenprov sync, $N systems, median of $REPS (min-max):"
row "1 first sync, TFTP root ($files files)" first-tftp
row "2 first sync, dnsmasq + Kea includes (checked)" first-dhcp
row "3 full sync, all rendered, nothing to write" world
row "4 full sync --full (every file read back)" full
row "5 full sync, $rewritten files rewritten" rewrite
row "6 no change (3 targets)" nochange
row "7 one system changed, TFTP root" one-tftp
row "8 one system changed, dnsmasq include (checked)" one-dnsmasq
row "  of which dnsmasq --test alone" check-dnsmasq

full=$(stats rewrite | cut -d' ' -f1)
first=$(stats first-tftp | cut -d' ' -f1)
one=$(stats one-tftp | cut -d' ' -f1)
echo
echo "Cobbler's published figures (its users' reports; Cobbler not run here):"
echo "  - 'if the number of systems a single cobbler instance manages gets over a couple of"
echo "    thousand, cobbler sync takes very long (we usually see over 10 mins)'; writing the"
echo "    PXE files to /tftpboot is 90% of it."
echo "    https://github.com/cobbler/cobbler/pull/2601 (which added 'cobbler sync --systems')"
echo "  - 3.2.x: a cobbler sync takes 3-5 seconds; 3.3.3 and 3.4.0: 15-20 minutes, ever"
echo "    slower as systems are added."
echo "    https://github.com/cobbler/cobbler/issues/3169"
echo "  - 2.4: 2 min 25 s with ~1,200 systems (the TFTP part the longest);"
echo "    https://github.com/cobbler/cobbler/issues/609 ; after its fix, 9.2 s with 542"
echo "    systems: https://github.com/cobbler/cobbler/pull/808"
echo
awk -v n="$N" -v full="$full" -v first="$first" -v one="$one" 'BEGIN {
	printf "Ratios (Cobbler figure / xenprov median; Cobbler'\''s with fewer systems):\n"
	printf "  full sync, all rewritten: 600 s (PR 2601, ~2,000+ systems) / %.3f s (%d) = %.0fx\n", full, n, 600 / full
	printf "  first sync:  600 s / %.3f s = %.0fx\n", first, 600 / first
	printf "  full sync:   145 s (issue 609, ~1,200) / %.3f s = %.0fx\n", full, 145 / full
	printf "  full sync:   9.2 s (PR 808, 542) / %.3f s = %.0fx\n", full, 9.2 / full
	printf "  one system:  %.1f ms (Cobbler: no published figure for sync --systems)\n", one * 1000
}'
