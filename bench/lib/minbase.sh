# minbase.sh - sourced by bench/deploy.sh and bench/image-build.sh: the shared workload,
# a Debian bookworm minbase root tree as a tarball, made once with debootstrap (as root)
# and kept in the benchmark cache. Uses the caller's say and die.
#
# bench_minbase ARCHIVE CACHE [INCLUDE]: makes ARCHIVE unless it is there; INCLUDE is a
# comma-separated package list added to minbase (debootstrap --include).
bench_minbase() {
	local archive=$1 cache=$2 include=${3:-} rootfs
	[ -s "$archive" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "no '$archive'; making it needs root (debootstrap)"
	command -v debootstrap >/dev/null || die "no '$archive' and no debootstrap to make it"
	mkdir -p "$cache" || die "cannot create '$cache'"
	rootfs=$(mktemp -d "$cache/root.XXXXXX")
	say "making the workload: debootstrap --variant=minbase${include:+ --include=$include} bookworm ${MIRROR:+($MIRROR)}"
	if ! debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$rootfs" \
		${MIRROR:+"$MIRROR"} >"$cache/debootstrap.log" 2>&1; then
		rm -rf "$rootfs"
		die "debootstrap failed; see $cache/debootstrap.log"
	fi
	# as a golden image is shipped: without the downloaded packages and apt's lists
	rm -f "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin
	find "$rootfs/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete
	tar --numeric-owner -C "$rootfs" -czf "$archive.tmp" . && mv "$archive.tmp" "$archive" ||
		die "cannot write '$archive'"
	rm -rf "$rootfs"
}
