# bench/lib/xenprov.sh - sourced by the benchmarks: which xenprov binary they measure.
#
# bench_xenprov LINKDIR [ARG]: sets X to ARG when given, else $XENPROV, else
# LINKDIR/../xenprov (a benchmark run as BUILD_DIR/bench/bench-NAME, a link to its
# script, finds the build's program beside its bench directory), else the source tree's
# build/release/xenprov. X stays empty when there is none; the caller says so.
bench_xenprov() {
	local src c
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	X=${2:-${XENPROV:-}}
	[ -n "$X" ] && return 0
	for c in "$1/../xenprov" "$src/../build/release/xenprov"; do
		[ -x "$c" ] && { X=$c; return 0; }
	done
	return 0
}
