#!/bin/bash
# config-disk.sh - drives `xenprov config disk`: JSON output, canonical output, error
# messages and exit codes (0 ok, 1 invalid spec, 2 usage).
. "$(dirname "$0")/lib/common.sh" || exit 1
scratch
fails=0

expect() { # expect NAME WANT-RC WANT-STDOUT WANT-STDERR-SUBSTRING -- ARGS...
	local name=$1 want_rc=$2 want_out=$3 want_err=$4
	shift 5
	local out err=$T/err rc
	out=$("$X" config disk "$@" 2>"$err")
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc"; cat "$err"; fails=$((fails + 1))
	elif [ -n "$want_out" ] && [ "$out" != "$want_out" ]; then
		echo "FAIL $name: stdout"; echo "  got:  $out"; echo "  want: $want_out"
		fails=$((fails + 1))
	elif [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$err"; then
		echo "FAIL $name: stderr lacks '$want_err'"; cat "$err"; fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}

expect legacy 0 '{"pdev_path":"/dev/vg/x","vdev":"xvda","format":"raw","readwrite":1}' '' -- \
	'phy:/dev/vg/x,xvda,w'
expect json-flag 0 '{"pdev_path":"","vdev":"hdc","format":"empty","removable":1,"is_cdrom":1}' '' -- \
	--json ',,hdc:cdrom,r'
expect several-specs 0 '{"pdev_path":"/x","vdev":"hda","format":"raw","readwrite":1}' '' -- \
	format=raw vdev=hda target=/x
expect bools 0 '{"pdev_path":"/x","vdev":"x","format":"raw","readwrite":1,"direct_io_safe":true,"discard_enable":"False","trusted":"True"}' '' -- \
	'direct-io-safe,no-discard,trusted,vdev=x,target=/x'
expect canonical 0 'format=qcow2,vdev=xvda,access=rw,target=/srv/web1.qcow2' '' -- \
	--canonical '/srv/web1.qcow2,qcow2,xvda,w'
expect dash-dash 0 '' '' -- -- '-weird,,xvda'
expect invalid 1 '' "xenprov: invalid disk spec '/x,xvda,w': unknown value for format 'xvda' (column 4)" -- \
	'/x,xvda,w'
expect invalid-hint 1 '' "xenprov: hint: the second positional parameter is the format" -- '/x,xvda,w'
expect no-vdev 1 '' "xenprov: invalid disk spec 'a raw': no vdev specified" -- a raw
expect newline-escaped 1 '' "invalid disk spec 'x,=\\n': bad disk syntax '=' (column 3)" -- $'x,=\n'
expect stray-equals 0 '' "warning: disk spec '/x,,xvda,w=': stray '=' at end of spec ignored" -- \
	'/x,,xvda,w='
expect no-spec 2 '' 'no disk spec given' --
expect bad-option 2 '' "unknown option '--yaml'" -- --yaml x

# -h prints the whole usage, so only compare the first line.
out=$("$X" config disk -h | head -1)
[ "$out" = "Usage: xenprov config disk [--json | --canonical] SPEC..." ] || {
	echo "FAIL help-first-line: $out"; fails=$((fails + 1)); }

[ "$fails" = 0 ] && echo "all ok" || { echo "$fails failed"; exit 1; }
