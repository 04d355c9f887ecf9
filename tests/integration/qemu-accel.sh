#!/bin/bash
# qemu-accel.sh - scripts/qemu-accel, the one place that picks QEMU's accelerator, on a
# machine whose /dev/kvm is present but unusable. The test runs the helper in a mount
# namespace of its own whose /dev holds a writable kvm node (so a guess from the device
# node says kvm), with a stand-in qemu-system-x86_64 first on PATH that behaves like
# the machine at hand:
#   hang    -accel kvm never returns (what Linux guests do on nested KVM without
#           vmx/svm); the helper must answer tcg, within its bound
#   refuse  -accel kvm fails at once ("Could not access KVM kernel module"): tcg
#   works   -accel kvm runs the real QEMU (under TCG): the probe guest really boots
#           and exits with its status, so the helper must answer kvm
# plus XP_QEMU_ACCEL forcing the answer without a probe, a bad XP_QEMU_ACCEL refused,
# and XP_QEMU_ACCEL_CACHE answering from an earlier probe. Then, outside the namespace,
# the real QEMU on the real /dev/kvm: on a CPU without vmx/svm the answer must be tcg.
# Last, no test, benchmark or script starts qemu-system-x86_64 without the helper.
#
# Run by CTest with XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" --no-xenprov || exit 1
# the helper's own knobs come from each case below, never from the caller
unset XP_QEMU_ACCEL XP_QEMU_ACCEL_CACHE XP_QEMU_PROBE_TIMEOUT
S=${XP_SRC:?set XP_SRC to the source tree}
HELPER=$S/scripts/qemu-accel
now_ms() { echo $(($(date +%s%N) / 1000000)); }

command -v qemu-system-x86_64 >/dev/null ||
	skip "qemu-system-x86_64 not installed (Debian package qemu-system-x86)"
REAL_QEMU=$(command -v qemu-system-x86_64)

# ---- in the namespace: the stand-ins --------------------------------------------------
if [ "${1:-}" = --in-ns ]; then
	T=$2
	# a /dev of our own with a kvm node anyone may write (no driver behind it need work)
	mount -t tmpfs -o mode=755 xp-dev /dev || fail "cannot mount a private /dev"
	kvm_node=/dev/kvm
	mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 &&
		mknod -m 666 /dev/urandom c 1 9 && mknod -m 666 "$kvm_node" c 10 232 ||
		fail "cannot make the device nodes of the private /dev"
	[ -c "$kvm_node" ] && [ -w "$kvm_node" ] || fail "the simulated $kvm_node is not a writable node"

	# fake MODE: a qemu-system-x86_64 behaving as MODE under -accel kvm, the real QEMU
	# otherwise; each call is logged to $T/calls
	fake() {
		rm -rf "$T/bin" && mkdir -p "$T/bin"
		cat >"$T/bin/qemu-system-x86_64" <<-EOF
			#!/bin/bash
			echo "\$*" >>"$T/calls"
			case " \$* " in
			*" -accel kvm "*) ;;
			*) exec "$REAL_QEMU" "\$@" ;;
			esac
			case $1 in
			hang) exec sleep 1000 ;;
			refuse) echo "Could not access KVM kernel module: No such device" >&2; exit 1 ;;
			works)
				args=()
				for a in "\$@"; do [ "\$a" = kvm ] && a=tcg; args+=("\$a"); done
				exec "$REAL_QEMU" "\${args[@]}" ;;
			esac
		EOF
		chmod 755 "$T/bin/qemu-system-x86_64"
		: >"$T/calls"
	}
	# ask WANT [ENV...]: runs the helper with the stand-in first on PATH and ENV set;
	# its answer must be WANT. Sets ELAPSED (ms).
	ask() {
		local want=$1 got start rc
		shift
		start=$(now_ms)
		got=$(env PATH="$T/bin:$PATH" "$@" timeout 120 "$HELPER" -v 2>"$T/why")
		rc=$?
		ELAPSED=$(($(now_ms) - start))
		[ $rc = 124 ] && fail "the helper did not return within 120 s"
		[ $rc = 0 ] || fail "the helper exited $rc: $(cat "$T/why")"
		[ "$got" = "$want" ] || fail "the helper answered '$got', want '$want' ($*): $(cat "$T/why")"
		echo "ok   $want in ${ELAPSED} ms ($*): $(cat "$T/why")"
	}

	# present but unusable: the probe hangs; tcg, within the bound (plus the 2 s that
	# timeout -k grants QEMU to stop, and slack for a loaded machine)
	fake hang
	ask tcg XP_QEMU_PROBE_TIMEOUT=3
	[ "$ELAPSED" -le $(((3 + 2 + 10) * 1000)) ] ||
		fail "the helper took ${ELAPSED} ms with a 3 s probe bound"
	grep -q -- '-accel kvm' "$T/calls" || fail "the helper answered tcg without probing KVM"
	grep -q "no answer within 3s" "$T/why" || fail "-v does not say the probe timed out"

	fake refuse
	ask tcg XP_QEMU_PROBE_TIMEOUT=3
	grep -q "Could not access KVM kernel module" "$T/why" || fail "-v does not give QEMU's reason"

	# a KVM that works: the probe guest (real mode -> protected -> long mode -> exit)
	# runs for real, under TCG, and must finish all its stages
	fake works
	ask kvm XP_QEMU_PROBE_TIMEOUT=60

	# forced, without a probe
	fake hang
	ask kvm XP_QEMU_ACCEL=kvm
	ask tcg XP_QEMU_ACCEL=tcg
	[ ! -s "$T/calls" ] || fail "XP_QEMU_ACCEL set, yet the helper ran QEMU: $(cat "$T/calls")"
	out=$(env XP_QEMU_ACCEL=yes "$HELPER" 2>&1)
	rc=$?
	[ $rc = 2 ] || fail "XP_QEMU_ACCEL=yes: exit $rc, want 2"
	[ "$out" = "qemu-accel: XP_QEMU_ACCEL is 'yes', not kvm or tcg" ] ||
		fail "XP_QEMU_ACCEL=yes: '$out'"
	echo "ok   XP_QEMU_ACCEL=yes refused: $out"

	# the cache: a probe's answer is kept, and later calls read it without QEMU; a file
	# without an answer in it is probed over
	fake works
	rm -f "$T/cache"
	ask kvm XP_QEMU_PROBE_TIMEOUT=60 XP_QEMU_ACCEL_CACHE="$T/cache"
	[ "$(cat "$T/cache")" = kvm ] || fail "the cache holds '$(cat "$T/cache")', want kvm"
	fake hang
	ask kvm XP_QEMU_PROBE_TIMEOUT=3 XP_QEMU_ACCEL_CACHE="$T/cache"
	[ ! -s "$T/calls" ] || fail "an answer was cached, yet the helper ran QEMU"
	echo garbage >"$T/cache"
	ask tcg XP_QEMU_PROBE_TIMEOUT=3 XP_QEMU_ACCEL_CACHE="$T/cache"
	[ "$(cat "$T/cache")" = tcg ] || fail "the cache holds '$(cat "$T/cache")', want tcg"
	exit 0
fi

# ---- outside: set up, enter the namespace, then the real QEMU ----------------------------
[ "$(id -u)" = 0 ] || skip "a private /dev with a kvm node needs root"
need unshare timeout mknod
scratch
unshare --mount --propagation private bash "$0" --in-ns "$T" || exit 1

# the real QEMU on the real /dev/kvm: without vmx/svm in the CPU, KVM cannot run a
# guest at hardware speed, whatever /dev/kvm says
got=$("$HELPER" -v 2>"$T/why")
echo "the real QEMU here: $got ($(cat "$T/why"); /dev/kvm: $(ls -l /dev/kvm 2>&1))"
if ! grep -qw -e vmx -e svm /proc/cpuinfo; then
	[ "$got" = tcg ] || fail "no vmx/svm in this CPU, yet the helper answered '$got'"
	echo "ok   tcg on a CPU without vmx/svm"
fi

# every QEMU started by a test, a benchmark or a script takes -accel from the helper
bad=$(cd "$S" && grep -rlE 'qemu-system-x86_64 .*-(accel|machine)|qemu-system-x86_64 \\$' \
	tests bench scripts | xargs -r grep -L 'qemu-accel')
[ -z "$bad" ] || fail "starts QEMU without scripts/qemu-accel: $bad"
echo "ok   every QEMU in tests/, bench/ and scripts/ asks scripts/qemu-accel"
exit 0
