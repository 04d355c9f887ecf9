#!/bin/bash
# test-hooks.sh - the test-only hooks (XENPROV_TEST_* variables the integration tests
# set, e.g. XENPROV_TEST_CHECKOUT_STALL) are read only by a build with XP_TEST_HOOKS,
# which the dev preset sets and the release preset and the package do not:
#   every source file under src/ that names one, compiled as this build compiles it
#   (compile_commands.json) but without XP_TEST_HOOKS, yields an object that holds no
#   XENPROV_TEST_ name, so nothing in a release build can read it; compiled with it, the
#   object does (the check is not blind); the same of the hooks that are functions
#   (xp__*_test_*: their symbol).
#
# Run by CTest with XP_SRC and XP_BUILD (the build tree). Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" --no-xenprov || exit 1
need python3 nm
db=${XP_BUILD:-}/compile_commands.json
[ -f "$db" ] || skip "no compile_commands.json in the build tree '${XP_BUILD:-}'"
scratch

# compile SOURCE on|off OBJECT: SOURCE compiled by its own command in $db, -o OBJECT,
# with -DXP_TEST_HOOKS=1 (on) or without any -DXP_TEST_HOOKS (off)
compile() {
	python3 - "$db" "$@" <<'EOF'
import json, os, shlex, subprocess, sys
db, src, mode, obj = sys.argv[1:]
src = os.path.realpath(src)
for e in json.load(open(db)):
    path = os.path.realpath(os.path.join(e["directory"], e["file"]))
    if path != src:
        continue
    argv = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a.startswith("-DXP_TEST_HOOKS"):
            continue
        out.append(a)
    if mode == "on":
        out.append("-DXP_TEST_HOOKS=1")
    out += ["-o", obj]
    sys.exit(subprocess.run(out, cwd=e["directory"]).returncode)
print(f"{src}: not in {db}", file=sys.stderr)
sys.exit(2)
EOF
}

files=$(grep -rlF --include='*.c' XENPROV_TEST_ "$XP_SRC/src" | sort)
[ -n "$files" ] || skip "no source under src/ names a XENPROV_TEST_ variable"
for f in $files; do
	rel=${f#"$XP_SRC"/}
	compile "$f" off "$T/off.o" 2>"$T/err" || fail "$rel does not compile without XP_TEST_HOOKS"
	! grep -qaF XENPROV_TEST_ "$T/off.o" ||
		fail "$rel without XP_TEST_HOOKS (a release build) still reads $(grep -aoE 'XENPROV_TEST_[A-Z_]+' "$T/off.o" | sort -u | tr '\n' ' ')"
	ok
	compile "$f" on "$T/on.o" 2>"$T/err" || fail "$rel does not compile with XP_TEST_HOOKS"
	grep -qaF XENPROV_TEST_ "$T/on.o" || fail "$rel with XP_TEST_HOOKS holds no XENPROV_TEST_ name"
	ok
done
# Hooks that are functions (xp__NAME_test_WHAT, e.g. xp__sha256_test_path: which
# compression SHA-256 uses): defined only with XP_TEST_HOOKS, so a release build's
# object has no such symbol, and the tests that call them are built only where it is.
hooks=$(grep -rlE --include='*.c' 'xp__[a-z0-9_]+_test_[a-z0-9_]+\(' "$XP_SRC/src" | sort)
[ -n "$hooks" ] || fail "no source under src/ defines a xp__*_test_* hook (sha256.c did)"
for f in $hooks; do
	rel=${f#"$XP_SRC"/}
	compile "$f" off "$T/off.o" 2>"$T/err" || fail "$rel does not compile without XP_TEST_HOOKS"
	! nm "$T/off.o" | grep -qE ' T xp__[a-z0-9_]+_test_' ||
		fail "$rel without XP_TEST_HOOKS (a release build) defines $(nm "$T/off.o" | grep -oE 'xp__[a-z0-9_]+_test_[a-z0-9_]+' | tr '\n' ' ')"
	ok
	compile "$f" on "$T/on.o" 2>"$T/err" || fail "$rel does not compile with XP_TEST_HOOKS"
	nm "$T/on.o" | grep -qE ' T xp__[a-z0-9_]+_test_' || fail "$rel with XP_TEST_HOOKS defines no test hook"
	ok
done
echo "PASS: test-hooks ($n checks: $(echo "$files" $hooks | wc -w) files)"
