#!/usr/bin/env bash
# bench/deploy.sh [XENPROV] - `xenprov deploy` of many guests next to the ways people
# make Xen guests today, in one run, wall-clock, with per-guest times and ratios.
#
# Workload (the deploy and real-guests issues), XP_BENCH_WORKLOAD:
#   guest (default)  a bootable Debian 12 guest: debootstrap --variant=minbase
#                    --include=systemd-sysv,udev,openssh-server,linux-image-amd64,ifupdown
#                    (systemd-networkd is in systemd), booted by pygrub: every guest also
#                    gets its own filesystem UUID, grub.cfg, ifupdown and networkd configs;
#   minbase          debootstrap --variant=minbase bookworm alone (no init, no kernel).
# Made once and cached by bench/lib/minbase.sh as /var/tmp/xenprov-bench/bookworm-WORKLOAD
# .tar.gz (XP_BENCH_CACHE). 4 GiB disks, no swap, static IPs, every guest with its own
# hostname, network, DNS, fstab, machine-id, root password hash and SSH key.
#
#   a  xenprov deploy: XP_BENCH_N (100) qcow2 guests, --jobs 2 (XP_BENCH_JOBS)
#   b  xenprov deploy: N reflink guests on an XFS (reflink=1) made in a loop-mounted
#      sparse file (root); skipped, and said so, where that cannot be made
#   c  xenprov deploy: N raw `file` guests (sparse copies), in MB/s of image data,
#      next to `cp --sparse=always` of the same golden image to N files
#   d  Debian's xen-tools, xen-create-image --install-method=tar --install-source=TARBALL
#      --dir DIR --size 4G --noswap --ip ... --hostname ..., one guest after the other:
#      d1 with --hooks=0 (disk, mkfs, mount, tar x, umount, config: no customisation),
#         XP_BENCH_XT_N guests (default 5);
#      d2 as shipped (all hooks: its bookworm hooks run apt-get update and install
#         openssh-server etc. from XP_BENCH_MIRROR inside the guest), XP_BENCH_XT_FULL_N
#         guests (default 1; 0 skips it; needs the network)
#   e  the Book of Xen per-guest script: truncate, sfdisk, losetup --offset, mkfs.ext3,
#      mount, tar xzf, umount; XP_BENCH_BOOK_N guests (default 3), scaled per guest
#
# The golden image (built once per state directory from the tarball) is made before
# the timed runs and its build time printed on its own: a deploy pays it once, not per
# guest. Every timed region ends with `sync -f` of the filesystem written, so every
# method's result is on disk. Each xenprov run uses a fresh inventory; its guests are
# then rolled back (timed too) to free the space. Durable inventory: SQLite with
# synchronous=FULL, as in production.
#
# The xenprov binary: $1, else $XENPROV, else ../xenprov next to this script (when run
# as BUILD_DIR/bench/bench-deploy, a link to this file), else build/release/xenprov.
# Run as root for b, d and e. Benchmarks never judge timing: the exit status is 1 only
# when xenprov itself could not run.
set -u
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$(readlink -f "$0")")/lib/xenprov.sh"
bench_xenprov "$here" "${1:-}"
CACHE=${XP_BENCH_CACHE:-/var/tmp/xenprov-bench}
WORKLOAD=${XP_BENCH_WORKLOAD:-guest}
case $WORKLOAD in
guest)
	INCLUDE=systemd-sysv,udev,openssh-server,linux-image-amd64,ifupdown
	BOOT=(--boot pygrub) ;;
minbase)
	INCLUDE=
	BOOT=() ;;
*) echo "deploy: XP_BENCH_WORKLOAD is guest or minbase, not '$WORKLOAD'" >&2; exit 1 ;;
esac
ARCHIVE=$CACHE/bookworm-$WORKLOAD.tar.gz
MIRROR=${XP_BENCH_MIRROR:-} # empty: debootstrap's own default mirror
N=${XP_BENCH_N:-100}
JOBS=${XP_BENCH_JOBS:-2}
XT_N=${XP_BENCH_XT_N:-5}
XT_FULL_N=${XP_BENCH_XT_FULL_N:-1}
BOOK_N=${XP_BENCH_BOOK_N:-3}
TARGET_S=1.5 # the issue's target: N qcow2 or reflink guests in 1.5 s
SIZE=4G
SIZE_MIB=4096
MIB=1048576

say() { printf '%s\n' "$*"; }
die() { say "deploy: $*" >&2; exit 1; }
root() { [ "$(id -u)" -eq 0 ]; }

[ -n "$X" ] && [ -x "$X" ] || die "no xenprov binary (pass it as \$1 or \$XENPROV)"
"$X" deploy -h >/dev/null 2>&1 || die "'$X' has no deploy command"
X=$(cd "$(dirname "$X")" && pwd)/$(basename "$X")

# ---- the workload, made once (bench/lib/minbase.sh, shared with image-build.sh) -----
. "$(dirname "$(readlink -f "$0")")/lib/minbase.sh"
bench_minbase "$ARCHIVE" "$CACHE" "$INCLUDE"

W=$(mktemp -d "${XP_BENCH_TMP:-/var/tmp}/xenprov-bench-deploy.XXXXXX") || die "no scratch directory"
xfs_loop=
book_loop=
xt_logs=()
cleanup() {
	for m in "$W/book-mnt" "$W/xfs"; do
		mountpoint -q "$m" 2>/dev/null && umount "$m"
	done
	[ -n "$book_loop" ] && losetup -d "$book_loop" 2>/dev/null
	[ -n "$xfs_loop" ] && losetup -d "$xfs_loop" 2>/dev/null
	# xen-tools leaves its mounts under /tmp only on failure; its logs are ours to remove
	for l in "${xt_logs[@]}"; do rm -f "$l"; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- timing --------------------------------------------------------------------------------
declare -A T note # microseconds per method; notes
now_us() { echo "${EPOCHREALTIME/./}"; }
secs() { awk -v t="$1" 'BEGIN { printf "%.2f", t / 1e6 }'; }
ms() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.1f", t / 1e3 / n }'; }
# ratio A B: A/B of two times, and B/A ("N times faster") when A is the smaller
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a <= 0 || b <= 0) { print "n/a"; exit }
		r = a / b
		printf (r < 0.01 ? "%.4fx" : "%.2fx"), r
		if (r < 1) printf (b / a < 2 ? "  (%.2f times as fast)" : "  (%.0f times faster)"), b / a
		printf "\n" }'
}

# timed NAME DIR CMD...: runs CMD, then sync -f DIR; the wall time in T[NAME], the
# output in $W/NAME.log. 1 if CMD failed (its last lines go into note[NAME]).
timed() {
	local name=$1 dir=$2 t0 rc
	shift 2
	sync
	t0=$(now_us)
	"$@" >"$W/$name.log" 2>&1
	rc=$?
	sync -f "$dir"
	T[$name]=$(($(now_us) - t0))
	if [ $rc -ne 0 ]; then
		note[$name]="failed (exit $rc): $(tail -n 3 "$W/$name.log" | tr '\n' ' ')"
		return 1
	fi
	return 0
}

# ---- the run -----------------------------------------------------------------------------
cat "$ARCHIVE" >/dev/null # into the page cache for everyone
files=$(tar -tzf "$ARCHIVE" | wc -l)
say "workload: $ARCHIVE ($WORKLOAD${INCLUDE:+: minbase + $INCLUDE}${BOOT:+, ${BOOT[*]}})"
say "          $(du -k "$ARCHIVE" | cut -f1) KiB compressed, $files entries"
say "guests:   $N per xenprov run, $SIZE disks, no swap, static IPs, --jobs $JOBS"
say "machine:  $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); scratch $W ($(df -T "$W" | awk 'NR == 2 { print $2 }'))"
say "xenprov:  $X"
say

# root's password hash and SSH key for every guest (the per-guest files are written)
ssh-keygen -q -t ed25519 -N '' -C bench -f "$W/key" </dev/null >/dev/null 2>&1 ||
	printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchBenchBenchBenchBenchBenchBenchBenchBen bench\n' >"$W/key.pub"
HASH='$6$benchsalt$0kQCiHldjG5kuj8v4yzRhjGa58r4Kq.bbzhE43OQbldhEO7AGV.3.DNU3G9BMAIW5y72HXigxRHEilIdGP80o0' # openssl passwd -6 -salt benchsalt bench

# A fresh xenprov world: STATE, CFG, a profile `b` with the storage and pool given.
# xp_setup TAG STATE_DIR STORAGE POOL
xp_setup() {
	local tag=$1 state=$2 storage=$3 pool=$4
	mkdir -p "$state" "$W/$tag-cfg" "$pool" || return 1
	"$X" profile add b --state-dir "$state" --image "$ARCHIVE" --disk-size "$SIZE" \
		--swap 0 --storage "$storage" --pool "$pool" --network static \
		--ip-pool 10.20.0.0/16 --gateway 10.20.0.1 --dns 10.20.0.2,10.20.0.3 \
		--domain bench.example --root-password-hash "$HASH" --ssh-key "$W/key.pub" \
		"${BOOT[@]}" >"$W/$tag-profile.log" 2>&1
}

# The golden image, built once (not per guest): a one-guest deploy, rolled back.
# xp_golden TAG STATE_DIR
xp_golden() {
	local tag=$1 state=$2
	timed "$tag-golden" "$state" "$X" deploy --state-dir "$state" --profile b --count 1 \
		--name "warm%d" --config-dir "$W/$tag-cfg" -q &&
		"$X" deploy --state-dir "$state" --rollback -q >/dev/null 2>&1
}

# The measured deploy of N guests, checked, then rolled back (timed).
# xp_run TAG STATE_DIR POOL
xp_run() {
	local tag=$1 state=$2 pool=$3 made used0
	used0=$(df -Pk "$pool" | awk 'NR == 2 { print $3 }')
	timed "$tag" "$pool" "$X" deploy --state-dir "$state" --profile b --count "$N" \
		--name "g%03d" --jobs "$JOBS" --config-dir "$W/$tag-cfg" -q || return 1
	made=$(ls "$W/$tag-cfg" | wc -l)
	[ "$made" -eq "$N" ] || note[$tag]="$made configs for $N guests"
	# one guest read back, untimed: what a deploy promises is in the disk
	local g1
	g1=$(ls "$pool" | grep -m1 '^g001\.')
	if [ -n "$g1" ]; then
		local hn
		hn=$("$X" image cat "$pool/$g1" /etc/hostname 2>/dev/null)
		[ "$hn" = "g001" ] || note[$tag]="${note[$tag]:-}g001's /etc/hostname is '$hn', not g001"
	fi
	du_k[$tag]=$(($(df -Pk "$pool" | awk 'NR == 2 { print $3 }') - used0))
	timed "$tag-rollback" "$pool" "$X" deploy --state-dir "$state" --rollback -q
}
declare -A du_k

report_xp() { # TAG LABEL
	local tag=$1 label=$2
	if [ -n "${T[$tag-golden]:-}" ]; then
		printf '  %-34s %8s s  (once, not per guest)\n' "golden image build" "$(secs "${T[$tag-golden]}")"
	fi
	if [ -z "${note[$tag]:-}" ] && [ -n "${T[$tag]:-}" ]; then
		printf '  %-34s %8s s  %8s ms/guest  +%d KiB used on its filesystem\n' "$label" "$(secs "${T[$tag]}")" \
			"$(ms "${T[$tag]}" "$N")" "${du_k[$tag]:-0}"
		[ -n "${T[$tag-rollback]:-}" ] &&
			printf '  %-34s %8s s  %8s ms/guest\n' "rollback of the $N" "$(secs "${T[$tag-rollback]}")" \
				"$(ms "${T[$tag-rollback]}" "$N")"
	fi
	[ -n "${note[$tag]:-}" ] && say "  $label: ${note[$tag]}"
	[ -n "${note[$tag-golden]:-}" ] && say "  golden image: ${note[$tag-golden]}"
	return 0
}

# ---- a: qcow2 -------------------------------------------------------------------------
say "a) xenprov deploy, $N qcow2 guests:"
S=$W/a-state
if xp_setup a "$S" qcow2 "$W/a-pool" && xp_golden a "$S"; then
	xp_run a "$S" "$W/a-pool"
else
	note[a]=${note[a-golden]:-"cannot set up: $(tail -n 2 "$W/a-profile.log" | tr '\n' ' ')"}
fi
report_xp a "deploy $N qcow2"
say

# ---- b: reflink on a loop-mounted XFS ------------------------------------------------------
say "b) xenprov deploy, $N reflink guests:"
b_why=
if ! root; then
	b_why="needs root to make and mount an XFS"
elif ! command -v mkfs.xfs >/dev/null; then
	b_why="no mkfs.xfs (xfsprogs)"
else
	truncate -s 24G "$W/xfs.img" &&
		mkfs.xfs -q -m reflink=1 "$W/xfs.img" >/dev/null 2>&1 &&
		xfs_loop=$(losetup --show -f "$W/xfs.img" 2>/dev/null) &&
		mkdir -p "$W/xfs" && mount "$xfs_loop" "$W/xfs" 2>/dev/null ||
		b_why="cannot make a reflink XFS in a loop device here (loop devices? XFS module?)"
fi
if [ -z "$b_why" ]; then
	say "  (XFS reflink=1 on $xfs_loop; state and pool on it, as FICLONE cannot cross filesystems)"
	S=$W/xfs/state
	if xp_setup b "$S" reflink "$W/xfs/pool" && xp_golden b "$S"; then
		xp_run b "$S" "$W/xfs/pool"
	else
		note[b]=${note[b-golden]:-"cannot set up: $(tail -n 2 "$W/b-profile.log" | tr '\n' ' ')"}
	fi
	report_xp b "deploy $N reflink"
	umount "$W/xfs" && losetup -d "$xfs_loop" && xfs_loop= && rm -f "$W/xfs.img"
else
	say "  skipped: $b_why"
fi
say

# ---- c: file (sparse copies), against cp --sparse=always ------------------------------------
say "c) xenprov deploy, $N raw file guests (sparse copies), and cp --sparse=always:"
S=$W/c-state
golden=
if xp_setup c "$S" file "$W/c-pool" && xp_golden c "$S"; then
	golden=$(ls "$S"/images/*.img 2>/dev/null | head -n 1)
fi
if [ -n "$golden" ]; then
	data=$(($(stat -c '%b * %B' "$golden")))
	need=$((data * N * 12 / 10 / 1024))
	free=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
	say "  golden image: $(awk -v b="$data" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of data in $SIZE ($golden)"
	if [ "$need" -gt "$free" ]; then
		say "  skipped: $N copies need ~$((need / 1048576)) GiB, $((free / 1048576)) GiB free in $W"
		golden=
	fi
else
	note[c]=${note[c-golden]:-"cannot set up: $(tail -n 2 "$W/c-profile.log" | tr '\n' ' ')"}
fi
cp_run() {
	local i
	mkdir -p "$W/cp" || return 1
	for ((i = 1; i <= N; i++)); do
		cp --sparse=always "$golden" "$W/cp/g$(printf %03d "$i").img" || return 1
	done
}
if [ -n "$golden" ]; then
	xp_run c "$S" "$W/c-pool"
	report_xp c "deploy $N file"
	if timed cp "$W" cp_run; then
		rm -rf "$W/cp"
		printf '  %-34s %8s s  %8s ms/guest\n' "cp --sparse=always x $N" "$(secs "${T[cp]}")" "$(ms "${T[cp]}" "$N")"
	else
		rm -rf "$W/cp"
		say "  cp: ${note[cp]}"
	fi
	mbs() { awk -v b="$data" -v n="$N" -v t="$1" 'BEGIN { printf "%.0f", b * n / 1e6 / (t / 1e6) }'; }
	[ -n "${T[c]:-}" ] && [ -z "${note[c]:-}" ] &&
		say "  xenprov file: $(mbs "${T[c]}") MB/s of image data (including per-guest files, configs, inventory)"
	[ -n "${T[cp]:-}" ] && [ -z "${note[cp]:-}" ] &&
		say "  cp --sparse=always: $(mbs "${T[cp]}") MB/s of image data (copies only)"
else
	report_xp c "deploy $N file"
fi
say

# ---- d: xen-tools ----------------------------------------------------------------------------
say "d) xen-tools xen-create-image --install-method=tar, one guest after the other:"
d_why=
if ! root; then
	d_why="needs root (loop mount, chroot)"
elif ! command -v xen-create-image >/dev/null; then
	d_why="xen-tools is not installed (apt-get install xen-tools)"
elif ! losetup -f >/dev/null 2>&1; then
	d_why="no free loop device (it mounts each image with -o loop)"
fi
# xt_umount IMAGE: unmounts what xen-tools left mounted from IMAGE (its loop device)
xt_umount() {
	local dev m
	for dev in $(losetup -j "$1" -O NAME -n 2>/dev/null); do
		for m in $(findmnt -rn -S "$dev" -o TARGET); do umount "$m" && rmdir "$m" 2>/dev/null; done
		losetup -d "$dev" 2>/dev/null
	done
	return 0
}
# xt_one TAG I HOOKS: one xen-create-image. With --hooks=0 on a minbase root (no
# openssh-server, so no /etc/ssh) xen-tools 4.9.2 dies after writing the disk and the
# config, reading the host key fingerprints, and leaves the image mounted: that is
# counted as done when disk and config exist, and the unmount is part of its time.
xt_one() {
	local tag=$1 i=$2 hooks=$3 name=xpbench-$1-$2 rc
	xen-create-image --hostname "$name" \
		--ip "10.30.0.$((i + 1))" --netmask 255.255.0.0 --gateway 10.30.0.1 \
		--nameserver 10.30.0.2 \
		--install-method=tar --install-source="$ARCHIVE" --dist bookworm \
		${MIRROR:+--mirror "$MIRROR"} --dir "$W/xt-$tag" --size "$SIZE" --noswap --fs ext4 \
		--output "$W/xt-$tag/cfg" --hooks="$hooks"
	rc=$?
	local img=$W/xt-$tag/domains/$name/disk.img
	xt_umount "$img"
	if [ $rc -ne 0 ] && [ -s "$W/xt-$tag/cfg/$name.cfg" ] && [ -f "$img" ]; then
		echo "xen-create-image exited $rc after writing disk and config (accepted)"
		return 0
	fi
	return $rc
}
# xt TAG COUNT HOOKS: COUNT guests; T[TAG] is the total
xt() {
	local tag=$1 count=$2 hooks=$3 i name
	local total=0
	mkdir -p "$W/xt-$tag/cfg"
	for ((i = 1; i <= count; i++)); do
		name=xpbench-$tag-$i
		xt_logs+=("/var/log/xen-tools/$name.log")
		if ! timed "xt-$tag-$i" "$W" xt_one "$tag" "$i" "$hooks"; then
			note[xt-$tag]=${note[xt-$tag-$i]}
			return 1
		fi
		grep -q 'accepted' "$W/xt-$tag-$i.log" && note[xt-$tag-exit]=1
		total=$((total + T[xt-$tag-$i]))
		rm -rf "$W/xt-$tag/domains/$name" # the space, untimed
	done
	T[xt-$tag]=$total
}
if [ -z "$d_why" ]; then
	say "  (as ships: needs /etc/xen or --output, and --mirror when the dom0's sources.list"
	say "   has no Debian entry; runs as root with loop devices)"
	if [ "$XT_N" -gt 0 ] && xt nohooks "$XT_N" 0; then
		printf '  %-34s %8s s  %8s ms/guest\n' "d1 --hooks=0 x $XT_N" "$(secs "${T[xt-nohooks]}")" \
			"$(ms "${T[xt-nohooks]}" "$XT_N")"
		[ -n "${note[xt-nohooks-exit]:-}" ] &&
			say "     (exits 2 at the end, in its SSH host key fingerprint step (with --hooks=0 no keys"
		[ -n "${note[xt-nohooks-exit]:-}" ] &&
			say "      are made); disk and config were written; the mount it leaves is unmounted, timed)"
	else
		say "  d1: ${note[xt-nohooks]:-not run (XP_BENCH_XT_N=0)}"
	fi
	if [ "$XT_FULL_N" -gt 0 ] && xt hooks "$XT_FULL_N" 1; then
		printf '  %-34s %8s s  %8s ms/guest  (apt over the network: %s)\n' \
			"d2 all hooks x $XT_FULL_N" "$(secs "${T[xt-hooks]}")" "$(ms "${T[xt-hooks]}" "$XT_FULL_N")" "$MIRROR"
	else
		say "  d2: ${note[xt-hooks]:-not run (XP_BENCH_XT_FULL_N=0)}"
	fi
else
	say "  skipped: $d_why"
fi
say

# ---- e: the Book of Xen's per-guest script ---------------------------------------------------
say "e) the Book of Xen per-guest script (truncate, sfdisk, losetup, mkfs.ext3, mount, tar xzf, umount):"
book_one() { # NAME
	local img=$W/book/$1.img
	mkdir -p "$W/book" "$W/book-mnt" &&
		truncate -s "$SIZE" "$img" &&
		echo 'start=2048, type=83, bootable' | sfdisk -q "$img" >/dev/null &&
		book_loop=$(losetup --show -f --offset $MIB --sizelimit $(((SIZE_MIB - 1) * MIB)) "$img") &&
		mkfs.ext3 -q "$book_loop" &&
		mount "$book_loop" "$W/book-mnt" &&
		tar --numeric-owner -xzpf "$ARCHIVE" -C "$W/book-mnt" &&
		umount "$W/book-mnt" &&
		losetup -d "$book_loop" && book_loop=
}
book_all() {
	local i
	for ((i = 1; i <= BOOK_N; i++)); do
		book_one "b$i" || return 1
	done
}
if ! root; then
	say "  skipped: needs root (losetup, mount)"
elif ! losetup -f >/dev/null 2>&1; then
	say "  skipped: no free loop device"
elif [ "$BOOK_N" -gt 0 ] && timed book "$W" book_all; then
	rm -rf "$W/book"
	printf '  %-34s %8s s  %8s ms/guest\n' "book x $BOOK_N" "$(secs "${T[book]}")" "$(ms "${T[book]}" "$BOOK_N")"
else
	rm -rf "$W/book"
	say "  ${note[book]:-not run (XP_BENCH_BOOK_N=0)}"
fi
say

# ---- per guest and ratios --------------------------------------------------------------------
per() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.0f", t / n }'; } # microseconds per guest
declare -A P
for k in a b c; do
	[ -n "${T[$k]:-}" ] && [ -z "${note[$k]:-}" ] && P[$k]=$(per "${T[$k]}" "$N")
done
[ -n "${T[cp]:-}" ] && [ -z "${note[cp]:-}" ] && P[cp]=$(per "${T[cp]}" "$N")
[ -n "${T[xt-nohooks]:-}" ] && P[xt0]=$(per "${T[xt-nohooks]}" "$XT_N")
[ -n "${T[xt-hooks]:-}" ] && P[xt1]=$(per "${T[xt-hooks]}" "$XT_FULL_N")
[ -n "${T[book]:-}" ] && [ -z "${note[book]:-}" ] && P[book]=$(per "${T[book]}" "$BOOK_N")

say "per guest (wall clock / guests):"
for k in a:"xenprov qcow2" b:"xenprov reflink" c:"xenprov file" cp:"cp --sparse=always" \
	xt0:"xen-tools --hooks=0" xt1:"xen-tools all hooks" book:"Book of Xen script"; do
	key=${k%%:*}
	[ -n "${P[$key]:-}" ] && printf '  %-22s %10s ms\n' "${k#*:}" "$(ms "${P[$key]}" 1)"
done
say
say "ratios (time per guest / time per guest; below 1.00x xenprov is faster):"
for x in a:qcow2 b:reflink c:file; do
	key=${x%%:*}
	[ -n "${P[$key]:-}" ] || continue
	for p in xt0:"xen-tools --hooks=0" xt1:"xen-tools all hooks" book:"Book of Xen"; do
		pk=${p%%:*}
		[ -n "${P[$pk]:-}" ] && say "  xenprov ${x#*:} vs ${p#*:}: $(ratio "${P[$key]}" "${P[$pk]}")"
	done
done
[ -n "${P[c]:-}" ] && [ -n "${P[cp]:-}" ] &&
	say "  xenprov file vs cp --sparse=always: $(ratio "${P[c]}" "${P[cp]}")"
say
say "target: $N guests in ${TARGET_S} s (qcow2 or reflink):"
for x in a:qcow2 b:reflink; do
	key=${x%%:*}
	if [ -n "${P[$key]:-}" ]; then
		verdict=$(awk -v t="${T[$key]}" -v g="$TARGET_S" 'BEGIN { print (t / 1e6 <= g) ? "met" : "not met" }')
		say "  ${x#*:}: $(secs "${T[$key]}") s for $N: $verdict"
	else
		say "  ${x#*:}: no number"
	fi
done

for k in "${!note[@]}"; do
	case $k in *-rollback) say "note: $k: ${note[$k]}" ;; esac
done
[ -n "${P[a]:-}" ] || exit 1
exit 0
