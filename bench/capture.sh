#!/usr/bin/env bash
# bench/capture.sh [XENPROV] - `xenprov image capture` of a golden client's tree next to
# plain rsync, in one run, with wall-clock times and ratios.
#
# Workload: the Debian bookworm minbase root of the other benchmarks (bench/lib/
# minbase.sh: /var/tmp/xenprov-bench/bookworm-minbase.tar.gz, XP_BENCH_CACHE), unpacked
# once into the cache (bookworm-minbase.tree/, with owners and xattrs) and copied for
# each run into the scratch directory (not timed), where about 1% of its bytes are
# changed between the two captures (whole files rewritten with new random bytes,
# largest first among those under 1 MiB, until 1% of the tree's bytes).
#
# Measured, each ending with its output on disk (sync -f):
#   rsync      rsync -aHAX TREE/ into an empty directory: the peer the issue names
#   capture-1  xenprov image capture TREE --name bench, the first version (an empty
#              store): xenprov's own copy (capture-copy.c: what rsync -aHAXS
#              --numeric-ids --one-file-system makes with the default exclusions, each
#              file hashed while it is copied), the manifest, meta.json, syncfs
#   capture-1r the same with --rsync: rsync copies, the manifest reads every file back
#              (what capture-1 was before the copy), for comparison
#   capture-2  the second version after the 1% change: xenprov's own walk finds what
#              did not change (capture-skip.c), xenprov's copy copies the rest into
#              the version's delta, the manifest is the delta's
#              merged with the first's lines for the rest: a lazy version, no tree
#   first-read image diff bench@1 bench@2, which checks bench@2 out (its tree from the
#              first's, the delta and the manifest), then the same diff again: the
#              difference is what a lazy version costs its first reader
#   update     xenprov image update of UPDATE_GUESTS (default 100) stopped guests
#              deployed from the first version (qcow2 overlays; deploy not timed) to the
#              second, offline (-j 2: the issue's 2 CPUs), --offline (no toolstack here):
#              per guest the plan (each changed path of the guest compared with the
#              first version), a copy of its overlay, the delta written through
#              libext2fs, the copy renamed over the disk; then back to the first
#              version (update-back), the same delta the other way
# Targets (the issue's): capture-1 within 10% of rsync; capture-2 under 10% of
# capture-1; update of 100 guests under 10 s on 2 CPUs.
#
# Fairness: rsync, capture-1 and capture-2 are interleaved, XP_BENCH_REPEAT times
# (default 5), and the median of each is reported. Before each timed run the outputs
# of the previous one are removed, everything is synced and the kernel's caches are
# dropped (/proc/sys/vm/drop_caches = 3), then the source tree alone is read back into
# the page cache: every run starts the same, with a warm source and nothing else
# cached. Dropping the caches also clears an effect that would otherwise favour
# whichever command runs later: ext4 skips the inode numbers of a tree removed within
# the last minute while their inode table blocks are cached (ialloc.c,
# recently_deleted), which made the first run after a removal 2-4x slower here.
# Wall time is measured, and the CPU time of the command and its children (user +
# system, from /usr/bin/time), which a loaded machine disturbs far less; the load
# average is printed before and after.
#
# Measured (2026-12-07, release build, 2 CPUs shared, load average 9-12, median of 5;
# three runs): rsync 4.69 / 2.99 / 3.01 s wall, 1.11 / 1.01 / 0.97 s CPU; capture-1
# 0.96x / 1.04x / 1.22x rsync wall, 1.14x / 1.17x / 1.22x CPU; capture-2 98% / 106% /
# 111% of capture-1 wall, 88% / 91% / 94% CPU: the second target is not met (a tree per
# version made by --link-dest; docs/ARCHITECTURE.md, "Speed, measured").
# With the skip of a local tree's later captures (capture-skip.c; the same day, load
# average 8-14, two runs): capture-2 19.6% / 36.9% of capture-1 wall, 16.3% / 27.5%
# CPU (0.33 / 0.30 s, against 0.9-1.0 s before): better, still not the tenth (the
# version's tree is made per version; what is left is the kernel making it).
# With lazy versions (no tree at capture, a delta; the same day, load average 2-3, two
# runs): capture-2 0.18 / 0.15 s wall, 15.4% / 12.7% of capture-1, 0.09 / 0.07 s CPU,
# 7.1% / 6.3%: the CPU target met, the wall one not (cold program load and rsync's
# own exit handshake, ~40 ms of sleeping); the first reader's checkout 0.10 / 0.08 s.
# With xenprov's own copy (capture-copy.c), one syncfs a version and libpq/libmicrohttpd
# loaded at first use (the same day, load average 0.85-1.1): rsync 0.97 s; capture-1
# 0.72 s, 0.75x rsync (met); capture-1 --rsync 1.14 s; capture-2 0.09 s, 12.6% of
# capture-1 wall, 5.3% CPU (the wall target not met: ~35 ms of it is the program's
# libraries read cold, ~10 ms the sync); first reader's checkout 0.08 s.
# With every library but libc, jansson and libuuid loaded at first use (shims), then
# without libcrypto (xenprov's own SHA-256; 2026-12-08, UPDATE_GUESTS=0, one run each,
# load average 0.5-1.3): capture-1 0.67 s -> 0.65 s; capture-2 68 ms, 10.2% of
# capture-1 wall -> 51 ms, 7.8% (met), CPU 4.5% -> 3.3%.
# With that and the manifest formatted without printf (2026-12-08, median of 5, load
# average 0.46-0.95, 100 guests): rsync 1.00 s; capture-1 0.70 s, 0.70x rsync;
# capture-2 57 ms (runs 49-63), 8.1% of capture-1 wall, 3.1% CPU; first reader's
# checkout +0.06 s; update of 100 guests 0.93 s, back 1.05 s: every target met.
#
# The xenprov binary: $1, else $XENPROV, else ../xenprov next to this script (as
# BUILD_DIR/bench/bench-capture), else build/release/xenprov. Needs root (owners).
# Benchmarks never judge timing: the exit status is 1 only when something could not
# run.
set -u
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$(readlink -f "$0")")/lib/xenprov.sh"
bench_xenprov "$here" "${1:-}"
CACHE=${XP_BENCH_CACHE:-/var/tmp/xenprov-bench}
ARCHIVE=$CACHE/bookworm-minbase.tar.gz
TREE=$CACHE/bookworm-minbase.tree
REPEAT=${XP_BENCH_REPEAT:-5}
MIRROR=${XP_BENCH_MIRROR:-}

say() { printf '%s\n' "$*"; }
die() { say "capture: $*" >&2; exit 1; }

[ -n "$X" ] && [ -x "$X" ] || die "no xenprov binary (give it as the argument or XENPROV)"
[ "$(id -u)" -eq 0 ] || die "needs root (a root tree's owners)"
command -v rsync >/dev/null || die "no rsync"

# ---- the workload, made once ----------------------------------------------------------
. "$(dirname "$(readlink -f "$0")")/lib/minbase.sh"
bench_minbase "$ARCHIVE" "$CACHE"
if [ ! -e "$TREE/.complete" ]; then
	rm -rf "$TREE.tmp" && mkdir -p "$TREE.tmp" &&
		tar --numeric-owner --xattrs --xattrs-include='*' -xzpf "$ARCHIVE" -C "$TREE.tmp" &&
		rm -rf "$TREE" && mv "$TREE.tmp" "$TREE" && : >"$TREE/.complete" ||
		die "cannot unpack '$ARCHIVE' into '$TREE'"
fi

W=$(mktemp -d "${XP_BENCH_TMP:-/var/tmp}/xenprov-bench-capture.XXXXXX") || die "no scratch directory"
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

rsync -aHAX --exclude=/.complete "$TREE/" "$W/tree/" || die "cannot copy the tree"
files=$(find "$W/tree" | wc -l)
tree_bytes=$(find "$W/tree" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
# the files rewritten between the captures: about 1% of the bytes
find "$W/tree" -type f -size -1024k -printf '%s %p\n' | sort -rn |
	awk -v want=$((tree_bytes / 100)) '{ if (s >= want) exit; s += $1; print $2 }' >"$W/change"
change_bytes=$(xargs -a "$W/change" -d '\n' stat -c %s | awk '{ s += $1 } END { printf "%d", s }')
say "workload: $TREE (from $ARCHIVE)"
say "          $files entries, $((tree_bytes / 1024)) KiB of files; the change: $(wc -l <"$W/change") files, $((change_bytes / 1024)) KiB ($(awk -v c="$change_bytes" -v t="$tree_bytes" 'BEGIN { printf "%.2f", 100 * c / t }')%)"
say "machine:  $(nproc) CPUs; scratch $W ($(df -T "$W" | awk 'NR == 2 { print $2 }')); median of $REPEAT interleaved runs, caches dropped before each"
say "xenprov:  $X"
say

# ---- timing ------------------------------------------------------------------------------
declare -A runs cpus best cpu
now_us() { echo "${EPOCHREALTIME/./}"; }
# settle: everything written, every cache dropped, the source tree alone read back
settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches || die "cannot drop the caches (needs root)"
	tar -cf - -C "$W/tree" . | cat >/dev/null
}
# timed NAME COMMAND...: runs it after settle, adds its wall and CPU time (ms) to NAME's
# runs; dies on failure
timed() {
	local name=$1 t0 t1
	shift
	settle
	t0=$(now_us)
	# the command is a function of this script: run by a bash of its own (exported)
	/usr/bin/time -f '%U %S' -o "$W/$name.cpu" bash -c '"$@"' _ "$@" >"$W/$name.log" 2>&1 ||
		die "$name failed: $(tail -n 3 "$W/$name.log" | tr '\n' ' ')"
	t1=$(now_us)
	runs[$name]+=" $(((t1 - t0) / 1000))"
	cpus[$name]+=" $(awk '{ printf "%d", ($1 + $2) * 1000 }' "$W/$name.cpu")"
}
# median "N N N...": the middle value (the lower middle of an even count)
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
change() {
	local f
	while IFS= read -r f; do
		head -c "$(stat -c %s "$f")" /dev/urandom >"$f.new" && chmod --reference="$f" "$f.new" &&
			chown --reference="$f" "$f.new" && mv "$f.new" "$f" || return 1
	done <"$W/change"
}
m_rsync() { rsync -aHAX "$W/tree/" "$W/out/" && sync -f "$W/out"; }
m_capture() { "$X" image capture "$W/tree" --name bench --state-dir "$W/state" -q; }
m_capture_rsync() { "$X" image capture "$W/tree" --name bench --rsync --state-dir "$W/state-r" -q; }
m_diff() { "$X" image diff bench@1 bench@2 --state-dir "$W/state" >/dev/null; }
export W X
export -f m_rsync m_capture m_capture_rsync m_diff

[ -x /usr/bin/time ] || die "no /usr/bin/time (apt-get install time)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 0; i < REPEAT; i++)); do
	rm -rf "$W/out" "$W/state" "$W/state-r"
	timed rsync m_rsync
	rm -rf "$W/out"
	timed capture-1 m_capture
	timed capture-1r m_capture_rsync
	rm -rf "$W/state-r"
	change || die "cannot change the tree"
	timed capture-2 m_capture
	# the lazy version's delta, before its first reader makes its tree (none: the skip
	# did not apply, not root, and the first-read figures would mean nothing)
	[ -d "$W/state/images/captures/bench/2/delta" ] && [ ! -e "$W/state/images/captures/bench/2/root" ] ||
		die "capture-2 made no lazy version (the skip did not apply: run as root)"
	delta_kib=$(du -sk "$W/state/images/captures/bench/1/root" "$W/state/images/captures/bench/2/delta" |
		sed -n 2p | cut -f1)
	# its first reader: image diff checks bench@2 out, then compares; the same diff
	# again compares only: the difference is what the checkout costs that reader
	timed first-read m_diff
	timed diff m_diff
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
"$X" image versions bench --state-dir "$W/state" >"$W/versions" || die "image versions failed"
for n in rsync capture-1 capture-1r capture-2 first-read diff; do
	best[$n]=$(median "${runs[$n]}")
	cpu[$n]=$(median "${cpus[$n]}")
done

# ---- update: guests of version 1 brought to version 2 (the last run's store) ---------------
GUESTS=${UPDATE_GUESTS:-100}
if [ "$GUESTS" -gt 0 ]; then
	mkdir -p "$W/cfg" "$W/disks" && echo "not booted" >"$W/vmlinuz"
	XU() { XENPROV_XL=/nonexistent "$X" "$@" --state-dir "$W/state"; }
	XU profile add ubench --image bench@1 --storage qcow2 --pool "$W/disks" --disk-size 1G \
		--swap 0 --network static --ip-pool 10.200.0.0/16 --gateway 10.200.0.1 --bridge br0 \
		--boot kernel --kernel "$W/vmlinuz" >"$W/profile.log" 2>&1 || die "profile add: $(tail -n 3 "$W/profile.log")"
	XU deploy --profile ubench --count "$GUESTS" --name 'u%03d' --config-dir "$W/cfg" -j "$(nproc)" -q \
		>"$W/deploy.log" 2>&1 || die "deploy: $(tail -n 3 "$W/deploy.log")"
	names=$(seq -f 'u%03g' 1 "$GUESTS")
	XU image update $names --to bench@2 --offline --dry-run --json >"$W/plan.json" ||
		die "update --dry-run failed"
	plan=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))[0]["counts"]; print("%d added, %d changed, %d removed, %d kept" % (c["add"], c["change"], c["remove"], c["keep"]))' "$W/plan.json")
	m_update() { XU image update $names --to "$1" --offline -j 2 -q && sync -f "$W/disks"; }
	export names
	export -f XU m_update
	timed update m_update bench@2
	timed update-back m_update bench@1
	for n in update update-back; do best[$n]=$(median "${runs[$n]}"); done
fi
own_kib=$(du -sk "$W/state/images/captures/bench/1/root" "$W/state/images/captures/bench/2/root" |
	sed -n 2p | cut -f1)

secs() { awk -v t="$1" 'BEGIN { printf "%.2f", t / 1e3 }'; }
say "load average: $load_before before, $load_after after the timed runs"
say "                 wall (median)   CPU user+sys (median)"
say "  rsync -aHAX    $(secs "${best[rsync]}") s          $(secs "${cpu[rsync]}") s"
say "  capture-1      $(secs "${best[capture-1]}") s          $(secs "${cpu[capture-1]}") s   wall $(awk -v a="${best[capture-1]}" -v b="${best[rsync]}" 'BEGIN { printf "%.2fx", a / b }') rsync, CPU $(awk -v a="${cpu[capture-1]}" -v b="${cpu[rsync]}" 'BEGIN { printf "%.2fx", a / b }') (target: at most 1.10)"
say "  capture-1r     $(secs "${best[capture-1r]}") s          $(secs "${cpu[capture-1r]}") s   wall $(awk -v a="${best[capture-1r]}" -v b="${best[rsync]}" 'BEGIN { printf "%.2fx", a / b }') rsync: the first capture copied by rsync (--rsync), for comparison"
say "  capture-2      $(secs "${best[capture-2]}") s          $(secs "${cpu[capture-2]}") s   wall $(awk -v a="${best[capture-2]}" -v b="${best[capture-1]}" 'BEGIN { printf "%.1f%%", 100 * a / b }'), CPU $(awk -v a="${cpu[capture-2]}" -v b="${cpu[capture-1]}" 'BEGIN { printf "%.1f%%", 100 * a / b }') of capture-1 (target: under 10%)"
for n in rsync capture-1 capture-1r capture-2; do say "    $n runs (ms wall):${runs[$n]}"; done
say "  version 2 costs $own_kib KiB of its own (du of both versions) for a change of $((change_bytes / 1024)) KiB; its delta, before checkout: $delta_kib KiB"
say "  first read     $(secs "${best[first-read]}") s          $(secs "${cpu[first-read]}") s   image diff bench@1 bench@2 checking bench@2 out; the diff alone $(secs "${best[diff]}") s, $(secs "${cpu[diff]}") s CPU: the checkout costs its first reader $(secs $((best[first-read] - best[diff]))) s wall, $(secs $((cpu[first-read] - cpu[diff]))) s CPU ($(awk -v a="$((best[first-read] - best[diff]))" -v b="${best[capture-1]}" 'BEGIN { printf "%.1f%%", 100 * a / b }') of capture-1's wall)"
if [ "$GUESTS" -gt 0 ]; then
	say "  update         $(secs "${best[update]}") s   $GUESTS stopped qcow2 guests bench@1 -> bench@2, offline, -j 2 (target: under 10 s for 100); per guest: $plan"
	say "  update-back    $(secs "${best[update-back]}") s   the same guests back to bench@1"
fi
