#!/bin/bash
# image-capture-copy.sh - xenprov's own copy of a local tree (capture-copy.c) against the
# real rsync it stands in for: the same tree captured by both (`image capture` and
# `image capture --rsync`) gives byte-identical manifests and identical trees (types,
# modes, owners, sizes, nanosecond mtimes, link counts, symlink targets, every xattr:
# user, trusted, security.capability, POSIX ACLs, default ACLs), for
#   a tree with hard-link groups across directories (files, a FIFO, a symlink), a
#   device, a FIFO, a socket, sparse files (data in the middle, at the end, none), an
#   empty file, setuid and capability files of another owner, a read-only directory,
#   names with blanks, a newline, bytes above 0x7f, '*', '[', a leading '-', what the
#   default exclusions leave out, the operator's exclusions (unanchored, directory-only,
#   anchored), and a tmpfs mounted inside (--one-file-system: an empty directory; with
#   --all-filesystems: its content);
#   a second capture (a lazy version, the skip of capture-skip.c) after content, mode,
#   touch-only, new directory (with a hard link), removal, rename, a broken hard link
#   (the same bytes: still two files) and excluded changes:
#   both manifests identical and equal to a fresh full capture's, both checked-out trees
#   identical, a touched-only file linked to the first version (no bytes), the sparse
#   file still sparse;
#   a hard-link group whose first path vanishes between the walk and the copy (a test
#   hook): its next path takes its place, as rsync hands a group on, and the rest stay
#   linked to it, with a warning;
#   an interrupted copy (SIGINT while a 4 GiB file is being copied): the capture ends
#   by the signal and leaves nothing;
#   a pattern xenprov's matcher does not take ('+ ' rule syntax) copied by rsync
#   (--json copier), with the same result; a capture as another user than root
#   copied by rsync.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
[ "$(id -u)" = 0 ] || skip "owners, devices and trusted xattrs need root"
need rsync setfattr getfattr setfacl setcap python3 mkfifo mknod
in_private_mounts "$@" || skip "no mount namespace of the test's own (unshare, util-linux)"
scratch src
export XENPROV_STATE_DIR=$T/state
CAP=$T/state/images/captures

R=$T/src
mkdir -p "$R"/{etc/ssh,proc/1,sys/k,dev,run/x,tmp/t,var/tmp,var/cache/apt/archives/partial} \
	"$R"/{a,b,c,ro,opt/skip,opt/keep,usr/lib/cache,usr/share/acl,mnt2,home/u/cache}
echo root >"$R/etc/passwd"
setfattr -n user.note -v golden "$R/etc/passwd"
echo 0123456789abcdef0123456789abcdef >"$R/etc/machine-id"
echo key >"$R/etc/ssh/ssh_host_rsa_key"
echo pub >"$R/etc/ssh/ssh_config"
echo 1 >"$R/proc/1/status"
echo k >"$R/sys/k/v"
mknod "$R/dev/null" c 1 3
echo r >"$R/run/x/pid"
echo t >"$R/tmp/t/f"
echo deb >"$R/var/cache/apt/archives/x.deb"
echo keep >"$R/var/cache/apt/archives/lock"
# hard-link groups across directories: a file of three links, a FIFO, a symlink
head -c 20000 /dev/urandom >"$R/a/f"
ln "$R/a/f" "$R/b/f2"
ln "$R/a/f" "$R/c/f3"
head -c 9000 /dev/urandom >"$R/a/hl1" # a pair the second capture finds broken
ln "$R/a/hl1" "$R/b/hl2"
mkfifo "$R/a/fifo"
ln "$R/a/fifo" "$R/b/fifo2"
ln -s ../etc/passwd "$R/a/sym"
ln -P "$R/a/sym" "$R/c/sym2"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$R/a/sock"
# sparse: data in the middle, data at the end, no data at all; an empty file
truncate -s 8M "$R/a/sparse-mid" && printf 'mid' | dd of="$R/a/sparse-mid" bs=1 seek=4000000 conv=notrunc status=none
truncate -s 6M "$R/a/sparse-end" && printf 'end' | dd of="$R/a/sparse-end" bs=1 seek=$((6 * 1024 * 1024 - 3)) conv=notrunc status=none
truncate -s 5M "$R/a/sparse-none"
: >"$R/a/empty"
head -c 3000000 /dev/urandom >"$R/usr/lib/big"
chown 1000:1001 "$R/usr/lib/big"
chmod 4755 "$R/usr/lib/big"
setcap cap_net_raw+ep "$R/usr/lib/big"
setfacl -m u:1234:rx "$R/usr/share/acl"
setfacl -d -m g:55:rwx "$R/usr/share/acl"
echo acl >"$R/usr/share/acl/f"
setfacl -m u:77:r "$R/usr/share/acl/f"
setfattr -h -n trusted.x -v on-a-symlink "$R/a/sym"
for f in 'with blank' $'new\nline' $'hi\xe9gh' '*' 'a[1]' '-lead'; do echo "$f" >"$R/c/$f"; done
echo log >"$R/usr/lib/app.log"
echo log2 >"$R/app.log"
echo c >"$R/usr/lib/cache/x"
echo c >"$R/home/u/cache/y"
echo s >"$R/opt/skip/f"
echo k >"$R/opt/keep/f"
echo not-a-dir >"$R/opt/keep/cache" # 'cache/' is a directory pattern
echo ro >"$R/ro/f"
chmod 0555 "$R/ro"
touch -h -d '2001-02-03 04:05:06.123456789' "$R/a/sym" "$R/c" "$R/usr/lib/big"
mount -t tmpfs -o size=1M xpcopy "$R/mnt2" || fail "cannot mount a tmpfs in the tree"
echo inside >"$R/mnt2/on-tmpfs"
touch -d '2002-01-01' "$R/ro"
EX=(--exclude '*.log' --exclude 'cache/' --exclude /opt/skip)
sleep 2.1 # the tree's ctimes before the first capture's start less a second (whole seconds): the skip applies

# the listing of a tree: every entry's type, mode, owner, size, ns mtime, link count,
# target, and its xattrs (all namespaces, not followed)
listing() {
	(cd "$1" && find . -printf '%p|%y|%m|%U|%G|%s|%T@|%n|%l\n' | LC_ALL=C sort &&
		getfattr -R -h -d -m - -e hex . 2>/dev/null | grep -v '^$' | LC_ALL=C sort)
}
capture_json() { # capture_json EXPECTED-COPIER ARGS...
	local want=$1
	shift
	expect_rc 0 image capture "$@" --json
	json_ok "$T/stdout" "j['copier'] == '$want'"
}

# ---- a first capture: xenprov's copy and rsync's ----------------------------------------
capture_json xenprov "$R" --name nat "${EX[@]}"
capture_json rsync "$R" --name rs --rsync "${EX[@]}"
cmp -s "$CAP/nat/1/manifest" "$CAP/rs/1/manifest" ||
	fail "manifests differ: $(diff "$CAP/rs/1/manifest" "$CAP/nat/1/manifest" | head -20)"
ok
listing "$CAP/nat/1/root" >"$T/nat1"
listing "$CAP/rs/1/root" >"$T/rs1"
diff "$T/rs1" "$T/nat1" >"$T/d" || fail "trees differ: $(head -20 "$T/d")"
ok
# what the copy must have left out and kept (so the equality above is about something)
N=$CAP/nat/1/root
for p in proc/1 sys/k dev/null run/x tmp/t etc/ssh/ssh_host_rsa_key var/cache/apt/archives/x.deb \
	usr/lib/app.log app.log usr/lib/cache home/u/cache var/cache opt/skip mnt2/on-tmpfs; do
	[ ! -e "$N/$p" ] && [ ! -L "$N/$p" ] || fail "$p was copied"
done
for p in proc sys dev run tmp mnt2 etc/ssh/ssh_config opt/keep/cache opt/keep/f \
	a/sock a/fifo c/sym2 'c/with blank' $'c/new\nline' $'c/hi\xe9gh' 'c/*' 'c/a[1]' c/-lead; do
	[ -e "$N/$p" ] || [ -L "$N/$p" ] || fail "$p is missing"
done
[ "$(stat -c %h "$N/a/f")" = 3 ] && [ "$(stat -c %i "$N/a/f")" = "$(stat -c %i "$N/c/f3")" ] ||
	fail "the hard-link group was not kept"
[ "$(stat -c %i "$N/a/sym")" = "$(stat -c %i "$N/c/sym2")" ] || fail "the hard-linked symlink"
[ -S "$N/a/sock" ] && [ -p "$N/b/fifo2" ] || fail "the socket or the FIFO"
[ ! -s "$N/etc/machine-id" ] || fail "machine-id kept its content"
getcap "$N/usr/lib/big" | grep -q cap_net_raw || fail "the file capability was lost"
[ "$(stat -c %a:%u:%g "$N/usr/lib/big")" = 4755:1000:1001 ] || fail "setuid or owner lost"
getfacl -p "$N/usr/share/acl" 2>/dev/null | grep -q '^default:group:55:rwx' || fail "default ACL lost"
[ "$(stat -c %b "$N/a/sparse-mid")" -lt 64 ] && [ "$(stat -c %b "$N/a/sparse-none")" -lt 8 ] ||
	fail "a sparse file lost its holes: $(stat -c %b "$N/a/sparse-mid") blocks"
[ "$(sha256sum <"$N/a/sparse-end")" = "$(sha256sum <"$R/a/sparse-end")" ] || fail "sparse-end's bytes"
ok

# the other filesystem's content with --all-filesystems, by both
capture_json xenprov "$R" --name nat-all --all-filesystems "${EX[@]}"
capture_json rsync "$R" --name rs-all --all-filesystems --rsync "${EX[@]}"
cmp -s "$CAP/nat-all/1/manifest" "$CAP/rs-all/1/manifest" || fail "--all-filesystems manifests differ"
[ -f "$CAP/nat-all/1/root/mnt2/on-tmpfs" ] || fail "--all-filesystems did not enter the tmpfs"
diff <(listing "$CAP/rs-all/1/root") <(listing "$CAP/nat-all/1/root") >"$T/d" ||
	fail "--all-filesystems trees differ: $(head -20 "$T/d")"
ok

# ---- a second capture: the skip, a lazy version, by both -------------------------------
sleep 1.1 # past the first captures' start
head -c 7000 /dev/urandom >"$R/b/new-content"
head -c 20000 /dev/urandom >"$R/a/f" # in place: the group of three keeps its links
chmod 0600 "$R/etc/passwd"
touch -r "$R/usr/lib/big" "$R/usr/lib/big" # its ctime only (the same mtime)
mkdir -p "$R/newdir/sub"
echo n >"$R/newdir/sub/f"
ln "$R/newdir/sub/f" "$R/newdir/f-link"
rm "$R/c/with blank"
mv "$R/opt/keep" "$R/opt/kept"
cp -p "$R/b/hl2" "$R/b/hl2.new" && mv "$R/b/hl2.new" "$R/b/hl2" # the same bytes, two files now
chmod 1770 "$R/mnt2" # a mount point whose attributes changed: remade empty, not entered
echo t2 >"$R/tmp/t/g"
echo l >"$R/newdir/x.log"
printf 'mid2' | dd of="$R/a/sparse-mid" bs=1 seek=2000000 conv=notrunc status=none
capture_json xenprov "$R" --name nat "${EX[@]}"
json_ok "$T/stdout" "j['parent'] == 1 and j['skipped'] > 0"
capture_json rsync "$R" --name rs --rsync "${EX[@]}"
capture_json xenprov "$R" --name fresh "${EX[@]}"
# rsync's own --link-dest links both halves of the broken pair to the one base inode
# (each passes its quick check): b/hl2 is left out of the comparison with rsync's path;
# the comparison with a fresh capture below holds it (two files)
nohl() { grep -v '^/b/hl2 ' "$1"; }
diff <(nohl "$CAP/rs/2/manifest") <(nohl "$CAP/nat/2/manifest") >"$T/d" ||
	fail "second manifests differ: $(head -20 "$T/d")"
grep -q '^/b/hl2 f 0644 0 0 9000 [0-9]* [0-9a-f]* - -$' "$CAP/nat/2/manifest" ||
	fail "the broken hard link was joined again: $(grep '^/b/hl2 ' "$CAP/nat/2/manifest")"
cmp -s "$CAP/nat/2/manifest" "$CAP/fresh/1/manifest" ||
	fail "the lazy manifest is not a full capture's: $(diff "$CAP/fresh/1/manifest" "$CAP/nat/2/manifest" | head)"
ok
[ ! -e "$CAP/nat/2/root" ] && [ -d "$CAP/nat/2/delta" ] || fail "nat@2 is not a lazy version"
[ -e "$CAP/nat/2/delta/usr/lib/big" ] &&
	[ "$(stat -c %i "$CAP/nat/2/delta/usr/lib/big")" = "$(stat -c %i "$CAP/nat/1/root/usr/lib/big")" ] ||
	fail "a file only touched was copied, not linked to the first version"
# the delta's own bytes: du of both counts an inode shared with version 1 once
own=$(du -sk "$CAP/nat/1/root" "$CAP/nat/2/delta" | sed -n 2p | cut -f1)
[ "$own" -lt 200 ] || fail "the delta is $own KiB of its own for about 30 KiB of change"
expect_rc 0 image diff nat@1 nat@2
expect_rc 0 image diff rs@1 rs@2
diff <(listing "$CAP/rs/2/root" | cut -d'|' -f1-7,9 | grep -v '^\./b/hl2|') \
	<(listing "$CAP/nat/2/root" | cut -d'|' -f1-7,9 | grep -v '^\./b/hl2|') >"$T/d" ||
	fail "checked-out trees differ: $(head -20 "$T/d")"
diff <(listing "$CAP/fresh/1/root" | cut -d'|' -f1-7,9) <(listing "$CAP/nat/2/root" | cut -d'|' -f1-7,9) >"$T/d" ||
	fail "nat@2 differs from a fresh capture: $(head -20 "$T/d")"
[ "$(stat -c %b "$CAP/nat/2/root/a/sparse-mid")" -lt 64 ] || fail "the changed sparse file lost its holes"
ok

# ---- a hard-link group's first path vanishing mid-capture ---------------------------------
# (XENPROV_TEST_COPY_VANISH_FIRSTS, a dev build's hook: the first path of each group of
# regular files is removed from the source between the walk and the copy)
if XENPROV_TEST_COPY_VANISH_FIRSTS=1 "$X" --help >/dev/null 2>&1 &&
	strings "$X" | grep -q XENPROV_TEST_COPY_VANISH_FIRSTS; then
	V=$T/vsrc
	mkdir -p "$V/a" "$V/b" "$V/c"
	head -c 50000 /dev/urandom >"$V/a/g1" && ln "$V/a/g1" "$V/b/g2" && ln "$V/a/g1" "$V/c/g3"
	head -c 7000 /dev/urandom >"$V/a/p1" && ln "$V/a/p1" "$V/b/p2"
	echo solo >"$V/a/solo"
	sum_g=$(sha256sum <"$V/a/g1" | cut -d' ' -f1)
	sum_p=$(sha256sum <"$V/a/p1" | cut -d' ' -f1)
	XENPROV_TEST_COPY_VANISH_FIRSTS=1 expect_rc 0 image capture "$V" --name van --json
	json_ok "$T/stdout" "j['copier'] == 'xenprov'"
	err_has "warning: some files vanished"
	# the source lost one path of each group: the version has exactly what is left
	(cd "$V" && find . -type f | sort) >"$T/v.src"
	(cd "$CAP/van/1/root" && find . -type f | sort) >"$T/v.cap"
	diff "$T/v.src" "$T/v.cap" >"$T/d" || fail "the version is not what the source kept: $(cat "$T/d")"
	[ "$(wc -l <"$T/v.cap")" = 4 ] || fail "want 4 files (2 of g, 1 of p, solo): $(cat "$T/v.cap")"
	ok
	g=$(cd "$CAP/van/1/root" && find . -name 'g[123]' | sort)
	set -- $g
	[ $# = 2 ] && [ "$(stat -c %i "$CAP/van/1/root/$1")" = "$(stat -c %i "$CAP/van/1/root/$2")" ] &&
		[ "$(stat -c %h "$CAP/van/1/root/$1")" = 2 ] ||
		fail "the group's two paths left are not one inode of two links: $g"
	[ "$(sha256sum <"$CAP/van/1/root/$1" | cut -d' ' -f1)" = "$sum_g" ] || fail "the group's content"
	p=$(cd "$CAP/van/1/root" && find . -name 'p[12]')
	[ "$(stat -c %h "$CAP/van/1/root/$p")" = 1 ] &&
		[ "$(sha256sum <"$CAP/van/1/root/$p" | cut -d' ' -f1)" = "$sum_p" ] ||
		fail "the pair's one path left: $p"
	# the manifest: the group's hash on its first path left, the other names it
	grep -q "^${1#.} f .* $sum_g - -\$" "$CAP/van/1/manifest" &&
		grep -q "^${2#.} f .* $sum_g - ${1#.}\$" "$CAP/van/1/manifest" ||
		fail "the manifest's group: $(grep ' f ' "$CAP/van/1/manifest")"
	ok
else
	echo "note: this build has no test hooks (XP_TEST_HOOKS): the vanished group's part not run" >&2
fi

# ---- an interrupted copy: SIGINT while a large file is copied -----------------------------
I=$T/isrc
# 4 GiB (allocated, read as zeros): seconds to copy, against the tenth of a second in
# which the copy looks at the cancel; had it finished, the version would be kept
mkdir -p "$I/d" && fallocate -l 4G "$I/d/big" && echo small >"$I/small"
"$X" image capture "$I" --name intr -q 2>"$T/err" &
xpid=$!
for i in $(seq 200); do [ -e "$CAP/intr/.1.partial/root/d/big" ] && break; sleep 0.05; done
[ -e "$CAP/intr/.1.partial/root/d/big" ] || fail "the large file's copy was not seen begun"
kill -INT "$xpid"
wait "$xpid"
rc=$?
[ "$rc" = $((128 + 2)) ] || fail "an interrupted capture ended with $rc, not by SIGINT: $(cat "$T/err")"
[ -z "$(ls -A "$CAP/intr")" ] || fail "an interrupted capture left $(ls -A "$CAP/intr")"
ok
rm -rf "$I"

# ---- a pattern only rsync matches: rsync copies, the same result --------------------------
capture_json rsync "$R" --name plus --exclude '+ keepme' "${EX[@]}"
capture_json rsync "$R" --name plus2 --rsync --exclude '+ keepme' "${EX[@]}"
cmp -s "$CAP/plus/1/manifest" "$CAP/plus2/1/manifest" || fail "the fallback's manifest"
ok
# ---- not root: rsync copies (it keeps what that user may, quietly) ----------------------
if command -v setpriv >/dev/null; then
	mkdir -p "$T/nobody/tree/d" "$T/nobody/state" && echo x >"$T/nobody/tree/d/f" &&
		chown -R 65534:65534 "$T/nobody" && chmod 755 "$T"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$X" image capture "$T/nobody/tree" \
		--name nob --state-dir "$T/nobody/state" --json >"$T/stdout" 2>"$T/err" ||
		fail "a capture as nobody failed: $(cat "$T/err")"
	json_ok "$T/stdout" "j['copier'] == 'rsync' and j['files'] >= 3"
	ok
fi
umount "$R/mnt2"
pass
