# common.sh - sourced first by every integration test (tests/integration/*.sh):
#
#   . "$(dirname "$0")/lib/common.sh" || exit 1                # XENPROV names the binary
#   . "$(dirname "$0")/lib/common.sh" --no-xenprov || exit 1   # a test of something else
#
# (`|| exit 1`: a test that could not load this never runs on, with T empty.)
#
# The contract with CTest: exit 0 passed, 1 failed, 77 skipped (SKIP_RETURN_CODE; a
# test that cannot run here never counts as passed). What every test shares, written
# once: skip/need/fail/ok and the count of checks n, the scratch directory T and what
# runs at exit, running xenprov and asserting on what it printed, the JSON checks, a
# mount namespace of the test's own, and bounded waits on a real condition (never a
# fixed sleep standing in for one).
set -u
XP_COMMON=1
PATH=$PATH:/usr/sbin:/sbin
if [ "${1:-}" = --no-xenprov ]; then
	X=${XENPROV:-}
else
	X=${XENPROV:?set XENPROV to the xenprov binary}
	[ -x "$X" ] || { echo "SKIP: no xenprov binary at '$X'"; exit 77; }
fi
n=0 # checks passed

skip() {
	echo "SKIP: $*"
	exit 77
}

# need TOOL...: skipped unless every TOOL is installed.
need() {
	local t
	for t; do command -v "$t" >/dev/null || skip "$t is not installed"; done
}

# need_kernel: kernel, the newest /boot/vmlinuz-*; skipped unless there is one and it
# is readable.
need_kernel() {
	kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
	[ -n "$kernel" ] || skip "no kernel in /boot (Debian package linux-image-amd64)"
	[ -r "$kernel" ] || skip "cannot read '$kernel'"
}

# need_static_busybox: busybox, /bin/busybox linked statically (a guest's whole
# userland); skipped otherwise.
need_static_busybox() {
	busybox=/bin/busybox
	[ -x "$busybox" ] || skip "no $busybox (Debian package busybox-static)"
	if command -v ldd >/dev/null && ! ldd "$busybox" 2>&1 | grep -q 'not a dynamic executable'; then
		skip "$busybox is dynamically linked (install busybox-static, not busybox)"
	fi
}

# fail MESSAGE: the test fails, naming the line of the test script it was at, then
# fail_context's lines.
fail() {
	local i=$((${#BASH_LINENO[@]} - 2))
	echo "FAIL (line ${BASH_LINENO[i]}): $*"
	fail_context
	exit 1
}

# What fail shows after its message: the last command's standard error. A test may
# redefine it (serve-env.sh shows the server's log).
fail_context() {
	[ -s "${T:-}/err" ] && sed 's/^/  stderr: /' "$T/err" | head -20
	return 0
}

ok() { n=$((n + 1)); }

# ---- exit ----------------------------------------------------------------------------

XP_AT_EXIT=()
# at_exit COMMAND [ARG...]: run when the test exits, however it exits; the last one
# registered runs first. A function name runs with the variables' values at exit.
at_exit() { XP_AT_EXIT+=("$(printf '%q ' "$@")"); }
xp_exit() {
	local rc=$? i
	for ((i = ${#XP_AT_EXIT[@]} - 1; i >= 0; i--)); do eval "${XP_AT_EXIT[i]}"; done
	exit $rc
}
trap xp_exit EXIT
trap 'exit 1' INT TERM HUP

# ---- the scratch directory -------------------------------------------------------------

# scratch [SUBDIR...]: T, the test's scratch directory (XP_TMP, which CTest sets to one
# under the build tree, else /tmp/xp-NAME.PID), emptied and made with its SUBDIRs;
# removed at exit (kept if XP_KEEP_TMP=1, to look at after a failure).
scratch() {
	T=$(realpath -m "${XP_TMP:-${TMPDIR:-/tmp}/xp-$(basename "$0" .sh).$$}")
	rm -rf "$T"
	mkdir -p "$T" || fail "cannot make the scratch directory $T"
	local d
	for d; do mkdir -p "$T/$d" || fail "cannot make $T/$d"; done
	at_exit scratch_remove "$T"
}
scratch_remove() {
	[ "${XP_KEEP_TMP:-}" = 1 ] && return 0
	# what the test mounted under it (only in a namespace of its own: in_private_mounts)
	if [ -n "${XP_PRIVATE_MOUNTS:-}" ]; then
		findmnt -rno TARGET | grep -F "$1/" | sort -r | xargs -r -d '\n' umount -l
	fi
	rm -rf "$1"
}

# in_private_mounts "$@": runs this test again in a mount namespace of its own (mounts
# it makes are private and go with it) and never returns there; returns at once in the
# namespace, and 1 where none can be made (not root, no unshare). Call before scratch.
in_private_mounts() {
	[ -n "${XP_PRIVATE_MOUNTS:-}" ] && return 0
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || return 1
	unshare --mount --propagation private true 2>/dev/null || return 1
	export XP_PRIVATE_MOUNTS=1
	trap - EXIT
	exec unshare --mount --propagation private bash "$0" "$@"
}

# guest_root DIR: a small Debian-like root to build golden images from (a host name,
# ifupdown's interfaces, a shadow file); a test adds what else it needs.
guest_root() {
	mkdir -p "$1/etc/network" "$1/root" "$1/bin"
	echo golden >"$1/etc/hostname"
	printf 'auto lo\niface lo inet loopback\n' >"$1/etc/network/interfaces"
	printf 'root:*:19000:0:99999:7:::\n' >"$1/etc/shadow"
}

# guest_tarball OUT: guest_root in $T/root with a kernel for pygrub (the default boot
# method) and a /bin/sh, packed as the tarball OUT: the golden root of deploy tests.
guest_tarball() {
	guest_root "$T/root"
	mkdir -p "$T/root/boot"
	echo kernel >"$T/root/boot/vmlinuz-6.1.0-1-amd64"
	printf '#!/bin/sh\n' >"$T/root/bin/sh"
	tar -C "$T/root" --numeric-owner -czf "$1" .
}

# ---- running xenprov -------------------------------------------------------------------

# run ARG...: xenprov ARG... with no standard input; its exit status in rc, its
# standard output in $T/stdout and in out (so a test keeps no variable of its own by
# that name), its standard error in $T/err. RUN_TIMEOUT
# (seconds) bounds it when set. A sanitizer's report fails the test (the dev build's
# does not always change the exit status).
run() {
	local bound=()
	[ -n "${RUN_TIMEOUT:-}" ] && bound=(timeout "$RUN_TIMEOUT")
	"${bound[@]}" "$X" "$@" >"$T/stdout" 2>"$T/err" </dev/null
	rc=$?
	out=$(<"$T/stdout")
	! grep -q -E 'Sanitizer|runtime error' "$T/err" || fail "xenprov $*: sanitizer report"
}

# expect_rc WANT ARG...: run, and the exit status must be WANT.
expect_rc() {
	local want=$1
	shift
	run "$@"
	[ "$rc" = "$want" ] || fail "xenprov $*: exit $rc, want $want"
	ok
}

# What the last run printed.
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr of the last command lacks '$1'"; ok; }
err_lacks() { ! grep -qF -- "$1" "$T/err" || fail "stderr of the last command has '$1'"; ok; }
err_is() { [ "$(<"$T/err")" = "$1" ] || fail "stderr is '$(<"$T/err")', want '$1'"; ok; }
out_has() { grep -qF -- "$1" "$T/stdout" || fail "stdout of the last command lacks '$1'"; ok; }
out_lacks() { ! grep -qF -- "$1" "$T/stdout" || fail "stdout of the last command has '$1'"; ok; }
out_is() { [ "$(<"$T/stdout")" = "$1" ] || fail "stdout is '$(<"$T/stdout")', want '$1'"; ok; }
out_empty() {
	[ ! -s "$T/stdout" ] || fail "stdout of the last command is not empty: $(head -3 "$T/stdout")"
	ok
}
quiet() { [ ! -s "$T/stdout" ] && [ ! -s "$T/err" ] || fail "output where none was expected"; ok; }

# state_dir_option WORDS...: `xenprov WORDS --state-dir $T/other`, a directory not there
# yet, makes the inventory in it and prints nothing; with a plain file ($T/plain) it
# fails, saying why. $T/other keeps the inventory it made.
state_dir_option() {
	expect_rc 0 "$@" --state-dir "$T/other"
	quiet
	[ -f "$T/other/inventory.db" ] || fail "--state-dir was not used"
	ok
	: >"$T/plain"
	expect_rc 1 "$@" --state-dir "$T/plain"
	err_has "cannot open the inventory in '$T/plain': Not a directory"
}

# ---- JSON ------------------------------------------------------------------------------

# json_ok JSON-FILE EXPR: the JSON in the file (parsed as j) must make the Python
# expression EXPR true; load(PATH) parses another file. Python starts slowly, so the
# checks are collected here (the file is copied) and run together by json_run_checks,
# which pass runs.
nj=0
json_ok() {
	nj=$((nj + 1))
	cp "$1" "$T/json.$nj"
	printf '%s\0%s\0%s\0' "${BASH_LINENO[0]}" "$T/json.$nj" "$2" >>"$T/json-checks"
}
json_run_checks() {
	[ -s "$T/json-checks" ] || return 0
	python3 - "$T/json-checks" <<'PY' || fail "JSON checks (see above)"
import json, sys
def load(path):
    with open(path) as f:
        return json.load(f)
parts = open(sys.argv[1]).read().split("\0")[:-1]
bad = 0
for i in range(0, len(parts), 3):
    line, path, expr = parts[i:i + 3]
    try:
        j = load(path)
    except ValueError as e:
        print("FAIL: line %s: not JSON (%s): %r" % (line, e, open(path).read()[:300]))
        bad += 1
        continue
    if not eval("(" + expr + ")"):
        print("FAIL: line %s: %s" % (line, " ".join(expr.split())))
        print("  JSON was:", json.dumps(j)[:600])
        bad += 1
sys.exit(1 if bad else 0)
PY
	n=$((n + nj))
	rm -f "$T/json-checks"
	nj=0
}

# pass: the JSON checks collected, then "NAME: N checks passed" and exit 0.
pass() {
	json_run_checks
	echo "$(basename "$0" .sh): $n checks passed"
	exit 0
}

# ---- waiting on a real condition --------------------------------------------------------

# wait_until SECONDS COMMAND [ARG...]: runs COMMAND every 0.1 s until it succeeds (0)
# or SECONDS have passed (1). A bound on readiness, never a timing assertion.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# udp_bound NS PORT PID: process PID has a UDP socket bound to PORT in network
# namespace NS (NS "-": this one).
udp_bound() {
	local ss=(ss -Hulnp "sport = :$2")
	[ "$1" = - ] || ss=(ip netns exec "$1" "${ss[@]}")
	"${ss[@]}" 2>/dev/null | grep -q "pid=$3,"
}

# alive PID: the process runs (an exited child not yet waited for, a zombie, does not;
# kill -0 would say it does).
alive() { ps -o stat= -p "$1" 2>/dev/null | grep -q '^[^Z]'; }

# wait_udp NS PORT PID [SECONDS]: waits until PID, a server the test started, has
# bound UDP PORT in NS (udp_bound); 1 when PID exits first or after SECONDS (10).
wait_udp() {
	local end=$((SECONDS + ${4:-10}))
	until udp_bound "$1" "$2" "$3"; do
		alive "$3" && [ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
