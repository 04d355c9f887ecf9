#!/bin/bash
# rsync-filter.sh - the library's rsync exclude matcher (src/lib/image/rsync-filter.c)
# against the real rsync: a tree of varied names (dots, brackets, stars, '?', a '\', a
# blank, a newline, bytes above 0x7f, "+ "/"- "/"!" look-alikes; files, directories and
# symlinks of one name at several depths; the paths of a system tree that xenprov's
# default exclusions name) listed by `rsync -a -n --out-format=%n --exclude=P... SRC/
# DST/` (a few sets also copied for real, to show that the list is what a copy
# writes), and the set of paths compared with what xp-rsync-filter-keep (tests/tools)
# keeps of the same tree, for each of:
#   xenprov's default exclusions (capture.c defaults[], guest-edit.c machine_state[])
#   one by one and all together; hand patterns for each rule (anchored, unanchored,
#   trailing '/', '*', '?', '**', "***", classes with '!', '^', ranges, ']' first, '-',
#   POSIX classes, escapes, inner '/', patterns that rsync's match always fails on);
#   several patterns at once; 400 random patterns over the characters that matter,
#   built from a fixed seed (so a failure is the same on every run).
# The class patterns run under LC_ALL=C and C.UTF-8 both. Every pattern the matcher
# accepts must give exactly rsync's set; the ones it refuses ("+ P", "!", "- " alone,
# 4096 bytes or more) must be refused with ENOTSUP, and nothing else may be.
#
# Run by CTest with XP_RSYNC_FILTER_KEEP and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" --no-xenprov || exit 1
need rsync find sort cmp perl
K=${XP_RSYNC_FILTER_KEEP:?set XP_RSYNC_FILTER_KEEP to the xp-rsync-filter-keep binary}
[ -x "$K" ] || skip "no xp-rsync-filter-keep at '$K'"
scratch src

# ---- the tree ----------------------------------------------------------------------
S=$T/src
f() { # f PATH...: empty files, their directories made
	local p
	for p; do
		mkdir -p "$S/$(dirname -- "$p")" && : >"$S/$p" || fail "cannot make $p"
	done
}
dd_() { local p; for p; do mkdir -p "$S/$p" || fail "cannot make $p"; done; }
names=(foo foo.deb .hidden .foo a1 a2 'a[1]' 'a*b' 'a?b' 'ab' 'q?' 'x\y' '\foo' 'sp ace'
	'trail ' '-dash' '- foo' '+ plus' '!bang' '!' '[' ']' 'a]b' 'a-b' '^x' '~t' 'A' 'Z9'
	'b' 'c:d' $'new\nline' $'tab\tx' $'\xe9t\xe9' $'\xc3\xbc' '*' '?' '**' 'foo.d')
for nm in "${names[@]}"; do f "$nm" "d/e/$nm" "x/y/z/$nm" "g/h/$nm" "k/c/d/e/$nm"; done
dd_ g/foo/foo d/foo d/e/e/foo x/foo/.hidden 'a[1]d/a[1]' 'k/c/d/e/f/g/h/i' '.dotdir/.x'
f g/foo/foo/foo d/foo/foo d/.hidden d/a1 'd/a[1]' k/c/d/e/f/g/h/i/foo k/c/d/e/f/g/h/i/j.deb .dotdir/.x/y
ln -s d "$S/ld" && ln -s foo "$S/d/e/lfoo" && ln -s nowhere "$S/x/foo.deb.link" || fail ln
# what a system tree has where xenprov's defaults point
f proc/1/status proc/cpuinfo sys/kernel/x dev/null.f dev/pts/0 run/lock/x tmp/.X11-unix/X0
f var/tmp/f var/tmp/.keep mnt/m/x media/cd/x lost+found/#12 swapfile swap.img swap/x
f var/cache/apt/archives/a.deb var/cache/apt/archives/partial/b.deb \
	var/cache/apt/archives/lock var/cache/apt/pkgcache.bin var/cache/apt/x.deb
f etc/ssh/ssh_host_rsa_key etc/ssh/ssh_host_rsa_key.pub etc/ssh/ssh_config etc/machine-id
f etc/machine-id.old etc/ssh/sub/ssh_host_x
f var/lib/systemd/random-seed var/lib/urandom/random-seed var/lib/random-seed
f var/lib/dhcp/dhclient.eth0.leases var/lib/dhcp/dhclient.leases var/lib/dhcp/other
f var/lib/dhclient/a.lease var/lib/dhclient/b.leases var/lib/NetworkManager/x.lease
f var/lib/NetworkManager/secret_key var/lib/NetworkManager/x.leases var/lib/dhcpcd/eth0.lease
f var/lib/dhcpcd/eth0.lease6 var/lib/dhcpcd/duid var/lib/dhcpcd/secret
f etc/udev/rules.d/70-persistent-net.rules etc/udev/rules.d/other.rules
f usr/proc/x usr/tmp/y home/u/tmp/z home/u/swap srv/etc/machine-id
dd_ proc/self/empty var/cache/apt/archives/partial/sub lost+found/dir

entries=$(find "$S" -mindepth 1 -printf x | wc -c)
[ "$entries" -gt 300 ] || fail "the tree has only $entries entries"

# ---- one comparison ------------------------------------------------------------------
cases=0 refused=0 nonempty=0
# check [--copy] LOCALE -- PATTERN...: what rsync would copy (a dry run's list of names,
# its \#ooo escapes decoded; --copy: what a real copy wrote) equals the matcher's set
check() {
	local copy= loc p
	[ "$1" = --copy ] && { copy=1; shift; }
	loc=$1
	shift 2
	local args=()
	for p; do args+=("--exclude=$p"); done
	if [ -n "$copy" ]; then
		rm -rf "$T/dst"
		LC_ALL=$loc rsync -a "${args[@]}" "$S/" "$T/dst/" 2>"$T/err" ||
			fail "rsync failed for $(printf '[%q] ' "$@")"
		(cd "$T/dst" && find . -mindepth 1 -printf '/%P\0') | sort -z >"$T/want"
	else
		LC_ALL=$loc rsync -a -n -8 --out-format=%n "${args[@]}" "$S/" "$T/none/" \
			>"$T/list" 2>"$T/err" || fail "rsync failed for $(printf '[%q] ' "$@")"
		perl -ne 'chomp; next if $_ eq "./"; s{/$}{}; s/\\#([0-7]{3})/chr(oct $1)/ge;
			print "/$_\0"' "$T/list" | sort -z >"$T/want"
	fi
	"$K" "$S" "$@" 2>"$T/err" | sort -z >"$T/got"
	local rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || fail "the matcher refused (exit $rc) $(printf '[%q] ' "$@")"
	if ! cmp -s "$T/want" "$T/got"; then
		echo "patterns: $(printf '[%q] ' "$@") (LC_ALL=$loc)"
		diff <(tr '\0' '\n' <"$T/want") <(tr '\0' '\n' <"$T/got") | head -20 |
			sed 's/^</  rsync only:/; s/^>/  matcher only:/'
		fail "the matcher and rsync differ"
	fi
	[ "$(tr -cd '\0' <"$T/want" | wc -c)" -lt "$entries" ] && nonempty=$((nonempty + 1))
	cases=$((cases + 1))
	ok
}
# refused PATTERN...: the matcher says ENOTSUP
refused() {
	"$K" "$S" "$@" >/dev/null 2>"$T/err"
	local rc=$?
	[ "$rc" = 3 ] && grep -qx ENOTSUP "$T/err" ||
		fail "not refused (exit $rc): $(printf '[%q] ' "$@")"
	refused=$((refused + 1))
	ok
}

# ---- xenprov's defaults --------------------------------------------------------------
defaults=(/proc/\* /sys/\* /dev/\* /run/\* /tmp/\* /var/tmp/\* /mnt/\* /media/\*
	/lost+found /swapfile /swap.img /swap /var/cache/apt/archives/\*.deb
	/etc/ssh/ssh_host_\* /etc/machine-id
	/var/lib/systemd/random-seed /var/lib/urandom/random-seed /var/lib/random-seed
	/var/lib/dhcp/dhclient\*.leases /var/lib/dhclient/\*.lease /var/lib/dhclient/\*.leases
	/var/lib/NetworkManager/\*.lease /var/lib/NetworkManager/secret_key
	/var/lib/dhcpcd/\*.lease /var/lib/dhcpcd/\*.lease6 /var/lib/dhcpcd/duid
	/var/lib/dhcpcd/secret /etc/udev/rules.d/70-persistent-net.rules)
for p in "${defaults[@]}"; do check C -- "$p"; done
check C -- "${defaults[@]}"
check --copy C -- "${defaults[@]}" # the dry run's list is what a copy writes
check --copy C -- foo/ '*.deb' '/d/***' '[[:punct:]]*' $'new?line' '**/e/foo/'
check --copy C --

# ---- hand patterns, one rule each ----------------------------------------------------
hand=(foo foo/ /foo /foo/ foo.deb '*.deb' '*' '?' '??' '.*' .hidden '*/' 'd/foo' 'd/foo/'
	/d/foo 'e/foo' 'e/foo/' 'd/*/foo' '/*/foo' '/*/*' '*/*/foo' '**/foo' '**foo' 'd/**'
	'd/**/foo' '/d/**' 'd/***' '/d/***' '/d/***/' 'foo/***' '**' '***' '/**' '/***' '**/'
	'a[1]' 'a\[1\]' 'a\[1]' 'a[[]1]' '[a-c]*' '[!a-z]*' '[^a-z]*' '[]]' '[]a]*' '[!]]*'
	'a[-]b' 'a[b-]*' '[-a]*' '[a-]' '[[]' '[\]]' '[\-]*' '[a\-c]*' '[+--]*' '[z-a]*'
	'[[:alpha:]]' '[[:digit:]]*' '[[:upper:]]*' '[[:punct:]]*' '[[:space:]]*'
	'[[:alpha:][:digit:]]?' '[[:alnum:]]' '[![:alnum:]]*' '[[:lower:]]-*' '[[:xdigit:]]'
	'[[:print:]]*' '[[:graph:]]' '[[:cntrl:]]*' '[[:blank:]]*' '[[:alpha:]-z]*'
	'[[:foo:]]*' '[[:alpha:' '[[:]*' '[[:a]*' '[[::]]*' 'a[' '[a-' '[' '[!' 'x\' 'foo\'
	'a\*b' 'a\?b' 'a*b' 'x\y' 'x\\y' '\foo' '\f*' '\\foo' 'a?b' '*b' 'q\?' '-dash' '- foo'
	'- - foo' '!bang' '!' '- !' '+ plus' '- + plus' 'trail ' 'trail' 'sp ace' 'sp?ace'
	'/k/c/*/e' 'c/d/e' 'c/d/' 'e/f/g/h/i/foo' '*/foo/' '/x/y/z/*' '*[/]*' '[/]' 'a/'
	'//' '/' 'd//foo' '/d/e/' '/d/e' 'ld/' 'ld' 'lfoo/' 'd/e/l*' $'\xe9t\xe9' '*t?'
	$'?\xbc' '?*' '*?*?*?*?*?*?' '*.d*b' 'foo*' '*oo' 'f**o' 'd/e/**/foo' 'y/**/foo'
	'z/**' '**/z/*' '**/e/foo/' '*/e/**/' '**/.*' '.*/' '/.dotdir/.x/***' '/proc/*/'
	'lost+found/' '*+*' '[+]*' $'new\nline' $'new?line' $'*\t*' '.' '..' './foo' 'foo/.'
	'*/.' '~*' '^*' '[\^]*' '[!^]*' '[!!]*' 'c:d' 'c[:]d' '[:d]*' ':' '*:*')
for p in "${hand[@]}"; do
	case $p in
	'+ '* | '!') refused "$p" ;;
	*) check C -- "$p" ;;
	esac
done
refused '- '
refused "$(printf 'a%.0s' {1..4096})"
refused foo '+ bar' # one refused pattern refuses the set
check C -- "$(printf 'a%.0s' {1..4095})"
check C -- ''
check C -- '' foo ''

# the classes again, under C.UTF-8 (rsync classifies by LC_CTYPE)
if locale -a 2>/dev/null | grep -qix 'c.utf-\?8'; then
	for p in "${hand[@]}"; do
		case $p in *'[['*) check C.UTF-8 -- "$p" ;; esac
	done
	check C.UTF-8 -- $'\xe9t\xe9' '?*'
fi

# ---- several at once -----------------------------------------------------------------
check C -- foo/ '*.deb' '/d/***' 'x/y/z/*'
check C -- '/d/e/' 'e/' '**/foo' '.*'
check C -- 'a[1]' '[[:upper:]]*' '- \foo' 'q\?' '/k/c/d/e/f/***'
check C -- "${defaults[@]}" foo .hidden '**/e/**/' 'a?b'

# ---- random patterns -----------------------------------------------------------------
# 400 patterns of 1-8 pieces from the characters that decide rsync's matching and the
# tree's names; a fixed seed: the same patterns each run (XP_RSYNC_FILTER_RANDOM=N
# XP_RSYNC_FILTER_SEED=S for a longer run of other ones).
RANDOM=${XP_RSYNC_FILTER_SEED:-4242}
is_refused() { case $1 in '+ '* | '!' | '- ') return 0 ;; esac; return 1; }
prev=!
pieces=('*' '**' '***' '?' '[' ']' '!' '^' '-' '/' '\' ':' '[:alpha:]' 'a' 'b' 'd' 'e'
	'f' 'o' 'foo' '.' '1' 'z' '+' ' ' 'x')
for ((i = 0; i < ${XP_RSYNC_FILTER_RANDOM:-400}; i++)); do
	p=
	for ((k = RANDOM % 8 + 1; k > 0; k--)); do p+=${pieces[RANDOM % ${#pieces[@]}]}; done
	if is_refused "$p"; then refused "$p"; else check C -- "$p"; fi
	# and every fourth with the one before it
	if [ $((i % 4)) = 3 ] && ! is_refused "$p" && ! is_refused "$prev"; then
		check C -- "$prev" "$p"
	fi
	prev=$p
done

[ "$nonempty" -gt 150 ] || fail "only $nonempty of $cases comparisons excluded anything"
echo "$cases pattern sets agree with rsync ($nonempty exclude something), $refused refused"
pass
