#!/bin/bash
# config-cli.sh - end-to-end test of `xenprov config` through the real program: help and
# usage errors, exit codes (0 ok, 1 failure, 2 usage), check (text and --json), get,
# set/unset (exact bytes, file mode, atomic rename, --dry-run, refusing broken files,
# new values checked as check checks them: errors refused, unknown keys warned about),
# fmt (--check, idempotence, --fix), dump --json, disk and vif.
#
# Run by CTest with XENPROV (the binary), XP_SRC (the source tree) and XP_TMP (a scratch
# directory this script creates and removes). Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
SRC=${XP_SRC:?set XP_SRC to the source directory}
EX=$SRC/examples
FX=$SRC/tests/data/configs
need python3
scratch

same_file() { cmp -s "$1" "$2" || { diff -u "$1" "$2" | head -30; fail "$3"; }; ok; }
inode() { stat -c %i "$1"; }

# ---- help, version, usage errors -------------------------------------------------------

expect_rc 0 --help
out_has "Usage: xenprov"
out_has "config"
expect_rc 0 --version
[[ $out =~ ^xenprov\ [0-9]+\.[0-9]+ ]] || fail "--version prints '$out'"
ok
expect_rc 0 config -h
out_has "Verbs:"
for v in check get set unset fmt dump disk vif; do
	expect_rc 0 config "$v" -h
	[[ $(head -1 "$T/stdout") == "Usage: xenprov config $v "* ]] ||
		fail "config $v -h: first line is '$(head -1 "$T/stdout")'"
	ok
	cp "$T/stdout" "$T/usage-$v"
done
expect_rc 0 help config set
same_file "$T/usage-set" "$T/stdout" "'xenprov help config set' differs from 'config set -h'"
expect_rc 0 config set "$EX/pvh.cfg" --help
same_file "$T/usage-set" "$T/stdout" "'config set FILE --help' differs from 'config set -h'"

expect_rc 2
expect_rc 2 nosuch
err_has "'nosuch' is not a xenprov command"
expect_rc 2 --bogus
expect_rc 2 config
expect_rc 2 config nosuch
err_has "'nosuch' is not a verb of 'config'"
err_has "Try 'xenprov config -h'"
expect_rc 2 config check
err_has "no FILE given"
expect_rc 2 config check --bogus "$EX/pvh.cfg"
expect_rc 2 config get "$EX/pvh.cfg"
expect_rc 2 config get "$EX/pvh.cfg" name memory
expect_rc 2 config set "$EX/pvh.cfg"
expect_rc 2 config set "$EX/pvh.cfg" memory
err_has "expected KEY=VALUE, got 'memory'"
expect_rc 2 config set "$EX/pvh.cfg" Memory=1
err_has "'Memory' is not a valid setting name"
expect_rc 2 config unset "$EX/pvh.cfg"
expect_rc 2 config unset -s "$EX/pvh.cfg" memory
expect_rc 2 config fmt
expect_rc 2 config dump
expect_rc 2 config dump "$EX/pvh.cfg" "$EX/hvm.cfg"
expect_rc 2 config disk
err_has "no disk spec given"
expect_rc 2 config disk --yaml x
expect_rc 2 config vif
expect_rc 2 config vif a b
expect_rc 2 config vif --json --canonical bridge=xenbr0
err_has "exclude each other"
expect_rc 2 config vif --table --canonical bridge=xenbr0

# ---- check -------------------------------------------------------------------------------

nex=$(ls "$EX"/*.cfg | wc -l)
expect_rc 0 config check "$EX"/*.cfg
out_empty
err_has "$nex files checked: 0 warnings"

expect_rc 1 config check "$FX/broken-bare-word.cfg"
out_empty
err_has "broken-bare-word.cfg:2:14: error: a bare word is not a value"
err_has "hint: quote it"
err_has "1 file checked: 1 error"

expect_rc 1 config check "$FX/broken-negative-number.cfg" "$FX/broken-python-arith.cfg"
err_has "broken-negative-number.cfg:2:18: error: not a valid number"
err_has "broken-python-arith.cfg:3:14: error: unexpected '+': this looks like Python"
err_has "2 files checked: 2 errors"

# every line of a failing check names file:line:col (or file: for whole-file problems)
expect_rc 1 config check -q "$FX"/broken-*.cfg
out_empty
! grep -q "warning:" "$T/err" || fail "check -q printed a warning"
ok
! grep -q "files checked" "$T/err" || fail "check -q printed the summary"
ok
bad=$(grep -v '^    hint: ' "$T/err" | grep -Ev '^[^:]+\.cfg:[0-9]+:[0-9]+: error: ' | head -3)
[ -z "$bad" ] || fail "check -q: lines without file:line:col: error: $bad"
ok

expect_rc 1 config check "$T/no-such.cfg"
err_has "no-such.cfg: error: cannot read: No such file or directory"

# a good file and a broken one: exit 1, but both reported
cat >"$T/lint.cfg" <<'EOF'
name = "lint"
kernel = "/boot/vmlinuz"
type = "pvm"
memory = 2048
maxmem = 1024
on_crash = "explode"
vcpus = 010
vif = 'bridge=xenbr0'
hostname = "lint"
memroy = 5
vcpus = [ 1 ]
EOF
expect_rc 1 config check "$T/lint.cfg"
err_has "lint.cfg:6:12: error: invalid action for 'on_crash' near 'explode'"
err_has "lint.cfg:10:1: warning: unknown setting 'memroy'; xl ignores it"
err_has "hint: did you mean 'memory'?"
err_has "1 file checked: 3 errors, 6 warnings"

expect_rc 1 config check --json "$EX/pvh.cfg" "$T/lint.cfg" "$T/no-such.cfg"
[ ! -s "$T/err" ] || fail "check --json wrote to stderr"
ok
json_ok "$T/stdout" 'isinstance(j, list) and len(j) == 3'
json_ok "$T/stdout" 'j[0]["ok"] is True and j[0]["errors"] == 0 and j[0]["diagnostics"] == []'
json_ok "$T/stdout" 'j[1]["file"].endswith("lint.cfg") and j[1]["ok"] is False'
json_ok "$T/stdout" 'j[1]["errors"] == 3 and j[1]["warnings"] == 6 and len(j[1]["diagnostics"]) == 9'
json_ok "$T/stdout" 'sorted(d["code"] for d in j[1]["diagnostics"] if d["severity"] == "error") ==
	["bad-action", "bad-type", "not-number"]'
json_ok "$T/stdout" 'sorted(d["code"] for d in j[1]["diagnostics"] if d["severity"] == "warning") ==
	["duplicate-key", "memory-maxmem", "not-list", "octal", "unknown-key", "xm-key"]'
json_ok "$T/stdout" '[d for d in j[1]["diagnostics"] if d["code"] == "bad-action"] ==
	[{"severity": "error", "file": j[1]["file"], "line": 6, "column": 12, "code": "bad-action",
	  "message": "invalid action for '"'"'on_crash'"'"'", "text": "explode",
	  "hint": "one of destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset"}]'
json_ok "$T/stdout" 'j[2]["ok"] is False and j[2]["diagnostics"][0]["code"] == "read"'

# disk and vif lists: items read as xl reads them, vdevs and MACs (across files)
cat >"$T/dev1.cfg" <<'EOF'
name = "dev1"
kernel = "/boot/vmlinuz"
disk = [ 'phy:/dev/vg0/a,xvda,w', '/x,xvda,w', 'phy:/dev/vg0/b,xvda,w' ]
vif = [ 'mac=00:16:3e:00:00:01,bridge=xenbr0', 'mac=zz' ]
EOF
cat >"$T/dev2.cfg" <<'EOF'
name = "dev2"
kernel = "/boot/vmlinuz"
disk = [ 'file:/nonexistent/xenprov-test/dev2.img,xvda,w' ]
vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:01' ]
EOF
expect_rc 0 config check "$T/dev2.cfg"
expect_rc 1 config check --host "$T/dev2.cfg"
err_has "dev2.cfg:3:10: error: disk 0: '/nonexistent/xenprov-test/dev2.img' does not exist on this host"
# --host: the files a guest boots from. Xen's bin directory and PATH are the test's own
# (XENPROV_XEN_BINDIR, PATH), so whatever this machine has installed plays no part.
mkdir -p "$T/xenbin" "$T/pathbin" "$T/boot"
printf '#!/bin/sh\n' >"$T/xenbin/pygrub"
printf '#!/bin/sh\n' >"$T/pathbin/mybl"
printf '#!/bin/sh\n' >"$T/pathbin/noexec"
chmod 755 "$T/xenbin/pygrub" "$T/pathbin/mybl"
chmod 644 "$T/pathbin/noexec"
echo kernel >"$T/boot/vmlinuz"
echo initrd >"$T/boot/initrd.img"
host() { XENPROV_XEN_BINDIR=$T/xenbin PATH=$T/pathbin:$PATH expect_rc "$@"; }
boot_cfg() { # NAME LINES...: a config of those lines
	local f=$T/$1.cfg
	shift
	printf 'name = "x"\n' >"$f"
	printf '%s\n' "$@" >>"$f"
}
boot_cfg k1 "kernel = \"$T/boot/vmlinuz\"" "ramdisk = \"$T/boot/initrd.img\""
host 0 config check --host "$T/k1.cfg"
boot_cfg k2 "kernel = \"$T/boot/nokernel\"" "ramdisk = \"$T/boot/noinitrd\""
host 0 config check "$T/k2.cfg"
host 1 config check --host "$T/k2.cfg"
err_has "k2.cfg:2:10: error: kernel '$T/boot/nokernel' does not exist on this host"
err_has "k2.cfg:3:11: error: ramdisk '$T/boot/noinitrd' does not exist on this host"
host 1 config check --host --json "$T/k2.cfg"
json_ok "$T/stdout" '[d["code"] for d in j[0]["diagnostics"]] == ["missing-kernel", "missing-ramdisk"]'
# with a bootloader, kernel and ramdisk are paths in the guest's disk: not looked for here
boot_cfg b1 'bootloader = "pygrub"' 'kernel = "/boot/vmlinuz-in-guest"'
host 0 config check --host "$T/b1.cfg"
# a name: in Xen's bin directory, else on PATH, as xl runs it
boot_cfg b2 'bootloader = "mybl"'
host 0 config check --host "$T/b2.cfg"
boot_cfg b3 'bootloader = "nosuchloader"'
host 1 config check --host "$T/b3.cfg"
err_has "b3.cfg:2:14: error: bootloader 'nosuchloader' is neither in Xen's bin directory nor on PATH"
err_has "hint: xl runs a bootloader given by name from Xen's bin directory ($T/xenbin), else from PATH"
# pygrub is in the bin directory only: without it there (and not on PATH) it is missing
XENPROV_XEN_BINDIR=$T/pathbin PATH=$T/pathbin expect_rc 1 config check --host "$T/b1.cfg"
err_has "bootloader 'pygrub' is neither in Xen's bin directory nor on PATH"
# a path: as it is
boot_cfg b4 "bootloader = \"$T/xenbin/pygrub\""
host 0 config check --host "$T/b4.cfg"
boot_cfg b5 "bootloader = \"$T/xenbin/gone\""
host 1 config check --host --json "$T/b5.cfg"
json_ok "$T/stdout" 'j[0]["diagnostics"][0]["code"] == "missing-bootloader" and
	j[0]["diagnostics"][0]["message"] == "bootloader '"'$T/xenbin/gone'"' does not exist on this host"'
boot_cfg b6 'bootloader = "noexec"'
host 1 config check --host "$T/b6.cfg"
err_has "error: bootloader 'noexec' ($T/pathbin/noexec) is not executable"
# HVM: xl runs no bootloader, so its kernel is a file of this host
boot_cfg h1 'type = "hvm"' 'bootloader = "pygrub"' "kernel = \"$T/boot/nokernel\""
host 1 config check --host "$T/h1.cfg"
err_has "kernel '$T/boot/nokernel' does not exist on this host"
err_lacks "bootloader"
expect_rc 1 config check "$T/dev1.cfg" "$T/dev2.cfg"
err_has "dev1.cfg:3:39: error: disk 1: unknown value for format near 'xvda'"
err_has "dev1.cfg:4:53: error: invalid MAC address near 'zz'"
expect_rc 1 config check --json "$T/dev1.cfg" "$T/dev2.cfg"
json_ok "$T/stdout" '[(d["code"], d["line"], d["column"]) for d in j[0]["diagnostics"]] ==
	[("unknown-value", 3, 39), ("duplicate-vdev", 3, 48), ("bad-mac", 4, 53)]'
json_ok "$T/stdout" '[d["code"] for d in j[1]["diagnostics"]] == ["duplicate-mac"] and
	"also used at " + j[0]["file"] + ":4" in j[1]["diagnostics"][0]["message"]'

# more messages than check keeps (1,000 a file): the error is shown, the counts and the
# exit status are those of the whole file, and the rest is counted, not silently lost
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("name = \"big\"\nkernel = \"/boot/vmlinuz\"\n")
    for i in range(1200):
        f.write("zz_unknown_%d = 1\n" % i)
    f.write("memory = \"lots\"\n")
' "$T/many.cfg"
expect_rc 1 config check "$T/many.cfg"
err_has "many.cfg:1203:10: error: 'memory' must be a number near 'lots'"
err_has "(201 more messages not shown)"
err_has "1 file checked: 1 error, 1200 warnings"
[ "$(grep -c "warning: unknown setting" "$T/err")" = 999 ] || fail "not 999 warnings shown"
ok
expect_rc 1 config check --json "$T/many.cfg"
json_ok "$T/stdout" 'j[0]["ok"] is False and j[0]["errors"] == 1 and j[0]["warnings"] == 1200'
json_ok "$T/stdout" 'len(j[0]["diagnostics"]) == 1000 and j[0]["omitted"] == 201'
json_ok "$T/stdout" '[d["line"] for d in j[0]["diagnostics"] if d["severity"] == "error"] == [1203]'
expect_rc 0 config check --json "$EX/pvh.cfg"
json_ok "$T/stdout" 'j[0]["omitted"] == 0'

# the language errors of the fixtures, by code, in one run
codes="bare-word:broken-bare-word python:broken-python-arith uppercase:broken-uppercase-name
	number:broken-float-number escape:broken-hex-escape crlf:broken-crlf
	comment-at-eof:broken-comment-last-line unterminated-string:broken-unterminated-string
	syntax:broken-missing-value append-type:broken-append-string-to-list"
files=()
for f in $codes; do files+=("$FX/${f#*:}.cfg"); done
expect_rc 1 config check --json "${files[@]}" "$FX/escapes-octal-dropped.cfg"
i=0
for f in $codes; do
	json_ok "$T/stdout" "not j[$i][\"ok\"] and \"${f%%:*}\" in
		[d.get(\"code\") for d in j[$i][\"diagnostics\"] if d[\"severity\"] == \"error\"]"
	i=$((i + 1))
done
json_ok "$T/stdout" 'j[-1]["ok"] and "escape-dropped" in [d["code"] for d in j[-1]["diagnostics"]]'

# ---- get ---------------------------------------------------------------------------------

P=$EX/pv-pygrub.cfg
expect_rc 0 config get "$P" name
[ "$out" = "mail01" ] || fail "get name: '$out'"
ok
expect_rc 0 config get "$P" memory
[ "$out" = "2048" ] || fail "get memory: '$out'"
ok
expect_rc 0 config get "$P" vif
[ "$out" = '[ "mac=00:16:3e:00:00:21, bridge=xenbr0" ]' ] || fail "get vif: '$out'"
ok
expect_rc 0 config get --json "$P" disk
json_ok "$T/stdout" 'j == ["format=raw, vdev=xvda, access=rw, target=/dev/vg0/mail01-disk",
	"format=raw, vdev=xvdb, access=rw, target=/dev/vg0/mail01-spool"]'
expect_rc 0 config get "$FX/numbers-hex-octal.cfg" memory
[ "$out" = "0x400" ] || fail "get memory of numbers-hex-octal.cfg: '$out'"
ok
expect_rc 0 config get --json "$FX/numbers-hex-octal.cfg" memory
json_ok "$T/stdout" 'j == 1024'
expect_rc 0 config get "$FX/append-strings.cfg" extra
[ "$out" = "console=hvc0 root=/dev/xvda1 ro quiet" ] || fail "get of += strings: '$out'"
ok
expect_rc 0 config get "$FX/duplicate-keys.cfg" memory
[ "$out" = "1024" ] || fail "get: the last assignment should win: '$out'"
ok
expect_rc 1 config get "$P" nosuch
out_empty
err_has "'nosuch' is not set in '$P'"
expect_rc 1 config get "$FX/broken-bare-word.cfg" name
err_has "has errors; xl would reject it"
expect_rc 1 config get "$T/no-such.cfg" name
err_has "cannot read '$T/no-such.cfg': No such file or directory"

# ---- set ---------------------------------------------------------------------------------

S=$T/s.cfg
cp "$P" "$S"
chmod 600 "$S"
cp "$S" "$T/s.orig"
ino=$(inode "$S")

# --dry-run: a unified diff, the file untouched
expect_rc 0 config set --dry-run "$S" memory=4096
out_has "--- $S"
out_has "+++ $S (new)"
out_has "-memory = 2048"
out_has "+memory = 4096"
same_file "$T/s.orig" "$S" "set --dry-run changed the file"
[ "$(inode "$S")" = "$ino" ] || fail "set --dry-run replaced the file"
ok
expect_rc 0 config set -n "$S" memory=2048
out_empty

expect_rc 0 config set "$S" memory=4096 name=mail02 extra=console=hvc0 "vcpus=0x4"
out_empty
sed -e 's/^memory = 2048$/memory = 4096/' -e 's/^name = "mail01"$/name = "mail02"/' \
	-e 's/^vcpus = 2$/vcpus = 0x4/' "$T/s.orig" >"$T/s.want"
echo 'extra = "console=hvc0"' >>"$T/s.want"
same_file "$T/s.want" "$S" "set changed other bytes than the intended ones"
[ "$(stat -c %a "$S")" = 600 ] || fail "set changed the mode to $(stat -c %a "$S")"
ok
[ "$(inode "$S")" != "$ino" ] || fail "set wrote in place (same inode), not by rename"
ok
leftover=$(find "$T" -maxdepth 1 -name '.s.cfg.*')
[ -z "$leftover" ] || fail "set left a temporary file: $leftover"
ok
expect_rc 0 config get --json "$S" vcpus
json_ok "$T/stdout" 'j == 4'

# a trailing comment is kept; a list value; --string
expect_rc 0 config set "$S" bootloader=grub "bootloader_args=['--entry=1']"
grep -qx 'bootloader = "grub"               # searched in Xen'"'"'s libexec directory' "$S" ||
	fail "set lost the trailing comment: $(grep '^bootloader =' "$S")"
ok
expect_rc 0 config get --json "$S" bootloader_args
json_ok "$T/stdout" 'j == ["--entry=1"]'
expect_rc 0 config set "$S" name=1234
expect_rc 0 config get --json "$S" name
json_ok "$T/stdout" 'j == 1234'
expect_rc 0 config set --string "$S" name=1234
grep -qx 'name = "1234"' "$S" || fail "set --string: $(grep '^name' "$S")"
ok
expect_rc 0 config get --json "$S" name
json_ok "$T/stdout" 'j == "1234"'
expect_rc 0 config check "$S"

# set rewrites the last += statement as =
cp "$FX/append-strings.cfg" "$T/app.cfg"
expect_rc 0 config set "$T/app.cfg" extra=quiet
grep -qx 'extra = "quiet"' "$T/app.cfg" || fail "set did not rewrite the last += of extra"
ok
expect_rc 0 config get "$T/app.cfg" extra
[ "$out" = "quiet" ] || fail "get after set over +=: '$out'"
ok

# a broken file is refused and left alone
cp "$FX/broken-bare-word.cfg" "$T/broken.cfg"
expect_rc 1 config set "$T/broken.cfg" memory=1024
err_has "has errors; xl would reject it"
same_file "$FX/broken-bare-word.cfg" "$T/broken.cfg" "set changed a broken file"
expect_rc 1 config set "$T/no-such.cfg" memory=1
[ ! -e "$T/no-such.cfg" ] || fail "set created a missing file"
ok

# set checks the new values with the rules of check: a value xl refuses is not written
cat >"$T/v.cfg" <<'EOF'
name = "v"
kernel = "/boot/vmlinuz"
memory = 512
EOF
cp "$T/v.cfg" "$T/v.orig"
ino=$(inode "$T/v.cfg")
for kv in on_crash=reboot memory=lots "vcpus=[1]" "disk=['bogus:/x,xvda,w']" \
	"vif=['mac=00:16:3e:00:00,bridge=br0']"; do
	expect_rc 1 config set "$T/v.cfg" "$kv"
	err_has "$T/v.cfg (new):"
	err_has ": error: "
	err_has "xenprov: '$T/v.cfg' not changed: xl would reject it with the new values"
	same_file "$T/v.orig" "$T/v.cfg" "set $kv wrote a file check rejects"
done
expect_rc 1 config set "$T/v.cfg" on_crash=reboot
err_has "$T/v.cfg (new):4:12: error: invalid action for 'on_crash' near 'reboot'"
err_has "hint: one of destroy, restart"
# one bad value among good ones refuses them all; --dry-run says the same, prints no diff
expect_rc 1 config set "$T/v.cfg" memory=1024 on_crash=reboot vcpus=2
same_file "$T/v.orig" "$T/v.cfg" "a refused set wrote its good values"
expect_rc 1 config set -n "$T/v.cfg" on_crash=reboot
out_empty
err_has "not changed: xl would reject it with the new values"
[ "$(inode "$T/v.cfg")" = "$ino" ] || fail "a refused set replaced the file"
ok
expect_rc 0 config check "$T/v.cfg"
# an unknown key is a warning with did-you-mean, and the set goes on
expect_rc 0 config set "$T/v.cfg" memroy=1024
err_has "$T/v.cfg:4:1: warning: unknown setting 'memroy'; xl ignores it"
err_has "hint: did you mean 'memory'?"
grep -qx 'memroy = 1024' "$T/v.cfg" || fail "set memroy=1024 was not written"
ok
expect_rc 0 config set "$T/v.cfg" memroy=2048
err_has "warning: unknown setting 'memroy'"
expect_rc 0 config set -n "$T/v.cfg" memroy=4096
err_has "$T/v.cfg (new):4:1: warning: unknown setting 'memroy'"
out_has "+memroy = 4096"
# a known key brings no warning, nor do the file's old warnings
expect_rc 0 config set "$T/v.cfg" vcpus=2
[ ! -s "$T/err" ] || fail "set vcpus=2 warned: $(cat "$T/err")"
ok
expect_rc 0 config unset "$T/v.cfg" memroy

# a file whose values check rejects: get and dump refuse it, an edit must mend it
cat >"$T/e.cfg" <<'EOF'
name = "e"
kernel = "/boot/vmlinuz"
on_crash = "reboot"
EOF
cp "$T/e.cfg" "$T/e.orig"
for verb in "get F name" "get --json F name" "dump F" "set F memory=512" "unset F name"; do
	# shellcheck disable=SC2086 # the verb's words, F the file
	set -- ${verb//F/$T/e.cfg}
	v=$1
	expect_rc 1 config "$@"
	out_empty
	err_has ":12: error: invalid action for 'on_crash' near 'reboot'"
	case $v in
	get | dump)
		err_has "xenprov: '$T/e.cfg' has errors; xl would reject it (see 'xenprov config check')"
		;;
	*) err_has "has errors; xl would reject it (see 'xenprov config check'), also with the new values: not changed" ;;
	esac
	same_file "$T/e.orig" "$T/e.cfg" "config $verb changed a file with errors"
done
expect_rc 0 config set "$T/e.cfg" on_crash=restart
[ ! -s "$T/err" ] || fail "the mending set printed: $(cat "$T/err")"
ok
expect_rc 0 config check "$T/e.cfg"
expect_rc 0 config get "$T/e.cfg" on_crash
[ "$out" = restart ] || fail "get after the mending set: '$out'"
ok
cp "$T/e.orig" "$T/e.cfg"
expect_rc 0 config unset "$T/e.cfg" on_crash
expect_rc 0 config check "$T/e.cfg"

# standard input to standard output
printf 'name = "a"\nmemory = 1\n' | "$X" config set - memory=2 >"$T/stdout" 2>"$T/err" ||
	fail "set - failed"
printf 'name = "a"\nmemory = 2\n' | cmp -s - "$T/stdout" || fail "set - printed: $(cat "$T/stdout")"
ok

# ---- unset -------------------------------------------------------------------------------

cp "$S" "$T/s.before-unset"
expect_rc 0 config unset -n "$S" extra
out_has '-extra = "console=hvc0"'
same_file "$T/s.before-unset" "$S" "unset --dry-run changed the file"
expect_rc 1 config unset "$S" extra nosuch
err_has "'nosuch' is not set in '$S'"
same_file "$T/s.before-unset" "$S" "a failed unset changed the file"
expect_rc 0 config unset "$S" extra bootloader_args
grep -v -e '^extra = ' -e '^bootloader_args = ' "$T/s.before-unset" >"$T/s.want"
same_file "$T/s.want" "$S" "unset changed other bytes than the statements removed"
[ "$(stat -c %a "$S")" = 600 ] || fail "unset changed the mode"
ok
expect_rc 1 config get "$S" extra
expect_rc 0 config unset "$T/app.cfg" extra
! grep -q '^extra' "$T/app.cfg" || fail "unset left an extra statement"
ok
grep -qx '# += on strings concatenates.' "$T/app.cfg" || fail "unset removed a comment"
ok

# ---- fmt ---------------------------------------------------------------------------------

F=$T/f.cfg
cp "$FX/comments-everywhere.cfg" "$F"
expect_rc 0 config dump --json "$F"
cp "$T/stdout" "$T/f.dump-before"
expect_rc 1 config fmt --check "$F"
[ "$out" = "$F" ] || fail "fmt --check printed '$out'"
ok
same_file "$FX/comments-everywhere.cfg" "$F" "fmt --check changed the file"
expect_rc 0 config fmt --diff "$F"
out_has "--- $F"
same_file "$FX/comments-everywhere.cfg" "$F" "fmt --diff changed the file"
expect_rc 0 config fmt --stdout "$F"
cp "$T/stdout" "$T/f.stdout"
same_file "$FX/comments-everywhere.cfg" "$F" "fmt --stdout changed the file"
expect_rc 0 config fmt "$F"
out_empty
cmp -s "$F" "$FX/comments-everywhere.cfg" && fail "fmt did not change an unformatted file"
ok
"$X" config fmt --stdout "$F" >"$T/f.twice" || fail "fmt --stdout of a formatted file"
same_file "$F" "$T/f.twice" "fmt is not idempotent"
expect_rc 0 config fmt --check "$F"
out_empty
cp "$F" "$T/f.once"
expect_rc 0 config fmt "$F"
same_file "$T/f.once" "$F" "fmt twice changed the bytes"
expect_rc 0 config dump --json "$F"
json_ok "$T/stdout" "j == load('$T/f.dump-before')"

# every example: formatted in one run, then formatted already
mkdir "$T/ex"
cp "$EX"/*.cfg "$T/ex/"
expect_rc 0 config fmt "$T"/ex/*.cfg
expect_rc 0 config fmt --check "$T"/ex/*.cfg
out_empty
expect_rc 0 config check -q "$T"/ex/*.cfg

printf 'name="in"\nmemory=5\n' | "$X" config fmt - >"$T/stdout" || fail "fmt - failed"
printf 'name = "in"\nmemory = 5\n' | cmp -s - "$T/stdout" || fail "fmt - printed: $(cat "$T/stdout")"
ok

# --fix: CR LF and a missing final newline
cp "$FX/broken-crlf.cfg" "$T/crlf.cfg"
expect_rc 1 config fmt "$T/crlf.cfg"
err_has "has errors that --fix can repair"
same_file "$FX/broken-crlf.cfg" "$T/crlf.cfg" "fmt without --fix changed a CR LF file"
expect_rc 0 config fmt --fix "$T/crlf.cfg"
! grep -q $'\r' "$T/crlf.cfg" || fail "fmt --fix left a carriage return"
ok
expect_rc 0 config check "$T/crlf.cfg"
cp "$FX/broken-comment-last-line.cfg" "$T/eof.cfg"
expect_rc 0 config fmt --fix "$T/eof.cfg"
[ "$(tail -c 1 "$T/eof.cfg" | od -An -c | tr -d ' ')" = '\n' ] || fail "fmt --fix: no final newline"
ok
grep -q '^# final comment without newline$' "$T/eof.cfg" || fail "fmt --fix lost the last comment"
ok
expect_rc 0 config check "$T/eof.cfg"
cp "$FX/broken-bare-word.cfg" "$T/bare.cfg"
expect_rc 1 config fmt --fix "$T/bare.cfg"
err_has "has errors; fix them first"
same_file "$FX/broken-bare-word.cfg" "$T/bare.cfg" "fmt --fix changed an unrepairable file"

# ---- dump --------------------------------------------------------------------------------

cat >"$T/d.cfg" <<'EOF'
# dump fixture: strings, escapes, numbers, lists, += and last-wins
name = "d"
kernel = '/boot/vmlinuz'
memory = 0x400 ; vcpus = 010
revision = 08
extra = "console=hvc0"
extra += ' root=/dev/xvda1'
quote = "say \"hi\"\tnow"
disk = [ 'phy:/dev/vg0/d,xvda,w', ]
disk += [ "phy:/dev/vg0/e,xvdb,w" ]
pci = [ [ 'a', 1 ], [] ]
memory = 512
EOF
cat >"$T/d.want.json" <<'EOF'
{"name": "d", "kernel": "/boot/vmlinuz", "memory": 512, "vcpus": 8, "revision": "08",
 "extra": "console=hvc0 root=/dev/xvda1", "quote": "say \"hi\"\tnow",
 "disk": ["phy:/dev/vg0/d,xvda,w", "phy:/dev/vg0/e,xvdb,w"], "pci": [["a", 1], []]}
EOF
expect_rc 0 config dump --json "$T/d.cfg"
json_ok "$T/stdout" "j == load('$T/d.want.json') and list(j) == list(load('$T/d.want.json'))"
expect_rc 0 config dump "$T/d.cfg"
cat >"$T/d.want" <<'EOF'
name = "d"
kernel = "/boot/vmlinuz"
memory = 512
vcpus = 010
revision = 08
extra = "console=hvc0 root=/dev/xvda1"
quote = 'say "hi"\tnow'
disk = [ "phy:/dev/vg0/d,xvda,w", "phy:/dev/vg0/e,xvdb,w" ]
pci = [ [ "a", 1 ], [] ]
EOF
same_file "$T/d.want" "$T/stdout" "dump (text) differs from the expected output"
expect_rc 1 config dump "$FX/broken-python-dict.cfg"
out_empty
err_has "has errors; xl would reject it"

# ---- disk --------------------------------------------------------------------------------

expect_rc 0 config disk 'phy:/dev/vg0/a,xvda,w'
json_ok "$T/stdout" 'j == {"pdev_path": "/dev/vg0/a", "vdev": "xvda", "format": "raw", "readwrite": 1}'
expect_rc 0 config disk --json 'format=qcow2, vdev=xvdb, access=ro, target=/srv/b.qcow2'
json_ok "$T/stdout" 'j == {"pdev_path": "/srv/b.qcow2", "vdev": "xvdb", "format": "qcow2"}'
expect_rc 0 config disk ',,hdc:cdrom,r'
json_ok "$T/stdout" 'j.get("is_cdrom") == 1 and j.get("removable") == 1 and j.get("format") == "empty" and "readwrite" not in j'
expect_rc 0 config disk --canonical '/srv/c.img,raw,xvdc,w'
[ "$out" = "format=raw,vdev=xvdc,access=rw,target=/srv/c.img" ] || fail "disk --canonical: '$out'"
ok
expect_rc 0 config disk "$out"
json_ok "$T/stdout" 'j == {"pdev_path": "/srv/c.img", "vdev": "xvdc", "format": "raw", "readwrite": 1}'
expect_rc 1 config disk '/x,xvda,w'
out_empty
err_has "xenprov: invalid disk spec '/x,xvda,w': unknown value for format 'xvda' (column 4)"
err_has "xenprov: hint:"

# ---- vif ---------------------------------------------------------------------------------

expect_rc 0 config vif --json 'mac=00:16:3e:12:34:56,bridge=xenbr0,rate=10Mb/s'
json_ok "$T/stdout" 'j == {"mac": "00:16:3e:12:34:56", "bridge": "xenbr0",
	"rate_bytes_per_interval": 62500, "rate_interval_usecs": 50000}'
expect_rc 0 config vif 'mac=00:16:3e:12:34:56,bridge=xenbr0'
json_ok "$T/stdout" 'j == {"mac": "00:16:3e:12:34:56", "bridge": "xenbr0"}'
expect_rc 0 config vif --table 'mac=00:16:3e:12:34:56,bridge=xenbr0'
grep -Eqx 'mac +00:16:3e:12:34:56' "$T/stdout" || fail "vif: no 'mac' line: $out"
ok
grep -Eqx 'bridge +xenbr0' "$T/stdout" || fail "vif: no 'bridge' line: $out"
ok
expect_rc 0 config vif --json 'type=ioemu,model=e1000,vifname=web0,mtu=9000'
json_ok "$T/stdout" 'j == {"mtu": 9000, "model": "e1000", "ifname": "web0", "nictype": "vif_ioemu"}'
expect_rc 0 config vif --canonical 'bridge=xenbr1, mac=00:16:3E:AA:BB:CC'
canon=$out
expect_rc 0 config vif --json "$canon"
json_ok "$T/stdout" 'j == {"mac": "00:16:3e:aa:bb:cc", "bridge": "xenbr1"}'
expect_rc 0 config vif 'mac=01:16:3e:12:34:56'
err_has "multicast"
expect_rc 1 config vif --json 'mac=00:16:3e:12:34'
out_empty
err_has "spec:1:19: error: MAC address with fewer than six groups"
err_has "xenprov: invalid vif spec 'mac=00:16:3e:12:34'"

# regressions: files over the size limit, empty files, symlinks, xl's type prefixes,
# broken list values, top-level usage hints
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$T/big.cfg"
expect_rc 1 config check "$T/big.cfg"
err_has "larger than"
printf '' >"$T/empty.cfg"
expect_rc 0 config fmt --check "$T/empty.cfg"
expect_rc 0 config fmt --stdout "$T/empty.cfg"
out_empty
printf 'name = "l"\nmemory = 1\n' >"$T/real.cfg"
ln -sf real.cfg "$T/link.cfg"
expect_rc 0 config set "$T/link.cfg" memory=2
[ -L "$T/link.cfg" ] || fail "set replaced the symlink with a file"
ok
grep -qx 'memory = 2' "$T/real.cfg" || fail "set did not change the symlink's target"
ok
printf 'name = "t"\ntype = "h"\n' >"$T/type.cfg"
expect_rc 0 config check "$T/type.cfg"
err_has "xl reads type 'h' as 'hvm'"
printf 'name = "t"\ntype = "pvhx"\n' >"$T/type.cfg"
expect_rc 1 config check "$T/type.cfg"
cp "$T/real.cfg" "$T/list.cfg"
expect_rc 1 config set "$T/list.cfg" 'disk=[unclosed'
err_has "not a valid value"
same_file "$T/real.cfg" "$T/list.cfg" "a refused set changed the file"
expect_rc 2 nosuchcommand
err_has "Try 'xenprov --help'."
expect_rc 2 config check --bogus x.cfg
err_has "invalid option '--bogus'"

pass
