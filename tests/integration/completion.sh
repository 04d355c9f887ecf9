#!/bin/bash
# completion.sh - bash completion, generated from the command table: the script the
# build wrote (BUILD/completion/xenprov, what `cmake --install` installs) is what
# `xenprov completion bash` prints, bash reads it, and sourced (inside a function, as
# bash-completion's loader does) its _xenprov completes real command lines: commands and
# verbs exactly as `xenprov --help` and `xenprov help CMD` list them, a verb's options,
# the values its usage names (choices, files), the "--opt=value" form, names from the
# inventory (profiles, distros, systems; from --state-dir when the line has one),
# settings keys; and `xenprov completion names` is silent whatever fails (no inventory,
# which it never makes; a damaged one; an unknown kind). zsh: the _xenprov the build
# wrote (`xenprov completion zsh`, the same tables through bashcompinit), found by
# compinit in an interactive zsh on a pty (zpty), completes a command, an option, its
# choices and the inventory's names as keys are typed.
#
# Run by CTest with XENPROV (the binary), XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need zsh
scratch files zsh
export XENPROV_STATE_DIR=$T/state
F=$(dirname "$X")/completion/xenprov

# ---- the script ------------------------------------------------------------------------

[ -f "$F" ] && [ -f "${F%/*}/_xenprov" ] || fail "no $F or _xenprov: the build makes them (xp-completion)"
"$X" completion bash >"$T/script" 2>"$T/err" || fail "xenprov completion bash failed"
cmp -s "$F" "$T/script" || fail "$F differs from 'xenprov completion bash'"
ok
"$X" completion zsh >"$T/zsh/_xenprov" 2>"$T/err" || fail "xenprov completion zsh failed"
cmp -s "${F%/*}/_xenprov" "$T/zsh/_xenprov" || fail "_xenprov differs from 'xenprov completion zsh'"
ok
bash -n "$T/script" 2>"$T/err" || fail "bash cannot parse the script"
ok
# hidden from the command list, documented by its own help
expect_rc 0 --help
out_lacks completion
expect_rc 0 completion -h
out_has "the bash completion script"

# comp WORD...: what _xenprov offers for the command line WORD... (the last word is the
# one being completed; "" a new one; COMP_WORDS[0] is this xenprov), sorted, one a line,
# in $T/comp; anything the script wrote on standard error in $T/err.
comp() {
	bash -c '
		load() { . "$1"; } # as bash-completion loads it: inside a function
		load "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_xenprov
		((${#COMPREPLY[@]})) && printf "%s\n" "${COMPREPLY[@]}" | sort
		true' _ "$T/script" "$X" "$@" >"$T/comp" 2>"$T/err" || fail "_xenprov failed for: $*"
	[ ! -s "$T/err" ] || fail "_xenprov wrote on stderr for: $*"
}
# comp_is WANT WORD...: comp WORD... offers exactly WANT (space separated, any order).
comp_is() {
	local want=$1
	shift
	comp "$@"
	local got
	got=$(tr '\n' ' ' <"$T/comp" | sed 's/ $//')
	want=$(printf '%s\n' $want | sort | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || fail "completing '$*': got '$got', want '$want'"
	ok
}
# comp_has WORD...: the last comp offered WORD... (among others).
comp_has() {
	local w
	for w; do grep -qxF -- "$w" "$T/comp" || fail "completion lacks '$w': $(tr '\n' ' ' <"$T/comp")"; done
	ok
}

# ---- commands, verbs and options, as the program lists them -----------------------------

commands=$("$X" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF && $1 != "help" {print $1}')
[ -n "$commands" ] || fail "no commands in xenprov --help"
comp_is "$commands help --version --help" ""
comp_is "domain deploy distro" d
for c in domain profile settings image; do
	verbs=$("$X" help "$c" | sed -n '/^Verbs:/,/^$/p' | awk 'NR > 1 && NF {print $1}')
	comp_is "$verbs" "$c" ""
done
comp_is "domain" help dom
comp_is "$("$X" help image | sed -n '/^Verbs:/,/^$/p' | awk 'NR > 1 && NF {print $1}')" help image ""
# a verb's options, from its usage text (every one its -h lists)
comp domain create web --
for o in $("$X" help domain create | grep -oE '^ {2,8}(-[a-z], )?--[a-z][a-z-]*( |$)' | grep -oE -- '--[a-z-]+'); do
	comp_has "$o"
done
comp_is "--storage" domain create web --sto
comp_is "--fs --fs-label" image build --fs
# values the usage names: choices, and files for FILE, PATH
comp_is "ext2 ext3 ext4" image build --fs ""
comp_is "pygrub pvgrub kernel" profile add web --boot ""
comp_is "qcow2" profile add web --storage = q
comp_is "msdos gpt none" image build -o x.img --fs=ext4 --label ""
touch "$T/files/root.tar" "$T/files/rootfs.img"
comp_is "$T/files/root.tar $T/files/rootfs.img" image build --from "$T/files/r"
comp_is "$T/files/rootfs.img" image info "$T/files/rootfs"
# after an option's value (-j N, the short name of --jobs), options again
comp_is "--profile" deploy -j 4 --pro
comp_is "distros profiles systems domains leases" report ""
comp_is "" deploy --count ""
# settings keys, from the server's key table
comp settings set ""
comp_has server tftp-root http-port pool.
comp_is "" settings set server ""

# ---- names from the inventory -----------------------------------------------------------

tar -cf "$T/files/root.tar" -C "$T/files" --files-from /dev/null
expect_rc 0 profile add web --image "$T/files/root.tar"
expect_rc 0 profile add db --image "$T/files/root.tar"
printf 'kernel' >"$T/files/vmlinuz"
expect_rc 0 distro add deb12 --kernel "$T/files/vmlinuz"
expect_rc 0 system add rack1 --mac 52:54:00:00:00:01 --distro deb12
expect_rc 0 profile add other --image "$T/files/root.tar" --state-dir "$T/other"
comp_is "db web" profile show ""
comp_is "web" deploy --profile w
comp_is "db web" profile add x --parent ""
comp_is "deb12" system add s2 --mac 52:54:00:00:00:02 --distro ""
comp_is "rack1" system show ""
comp_is "" profile add ""
# the inventory of the line's --state-dir, both forms
comp_is "other" profile show --state-dir "$T/other" ""
comp_is "other" profile show --state-dir = "$T/other" ""
expect_rc 0 completion names profile
out_is "$(printf 'db\nweb')"
expect_rc 0 completion names distro --state-dir "$T/state"
out_is deb12

# silent, whatever fails: no inventory (and none made), a damaged one, an unknown kind
XENPROV_STATE_DIR=$T/none expect_rc 1 completion names profile
quiet
[ ! -e "$T/none" ] || fail "completion names made $T/none"
ok
mkdir -p "$T/bad"
head -c 4096 /dev/urandom >"$T/bad/inventory.db"
XENPROV_STATE_DIR=$T/bad expect_rc 1 completion names profile
quiet
XENPROV_STATE_DIR=$T/bad comp_is "" profile show ""
expect_rc 1 completion names nosuchkind
quiet
expect_rc 2 completion names
err_has "no KIND given"

# ---- zsh ----------------------------------------------------------------------------------

# An interactive zsh on a pty (zsh/zpty) with compinit finding _xenprov: keys typed,
# each completion waited for by its text on the screen (bounded by timeout, no sleep).
XENPROV_STATE_DIR=$T/state timeout 60 zsh -f -c '
	zmodload zsh/zpty || exit 3
	zpty z "TERM=dumb PS1=\"> \" zsh -f -i"
	zpty -w z "PATH=$1:\$PATH; fpath=($2 \$fpath); autoload -U compinit; compinit -u -D; print RE\"\"ADY"
	zpty -r z out "*READY*"
	# expect KEYS PATTERN: type KEYS; the screen must come to match PATTERN
	expect() {
		zpty -w -n z "$1"
		zpty -r z out "*$2" || exit 4
		print -r -- "matched: $2"
		zpty -w -n z $'"'"'\C-u'"'"'
	}
	expect $'"'"'xenprov sett\t'"'"' "xenprov settings *"
	expect $'"'"'xenprov domain create x --stor\t'"'"' "--storage *"
	expect $'"'"'xenprov domain create x --storage \t\t'"'"' "file*lvm*qcow2*reflink*"
	expect $'"'"'xenprov profile show \t\t'"'"' "db*web*"
	zpty -d z
' _ "$(dirname "$X")" "$T/zsh" >"$T/zsh.out" 2>&1
zrc=$?
[ "$zrc" = 0 ] || fail "zsh completion (exit $zrc): $(tail -3 "$T/zsh.out")"
[ "$(grep -c '^matched: ' "$T/zsh.out")" = 4 ] || fail "zsh: $(cat "$T/zsh.out")"
ok

pass
