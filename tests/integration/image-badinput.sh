#!/bin/bash
# image-badinput.sh - `xenprov image` given bad input: every case a clear error, exit 1,
# nothing left behind, no hang and (the dev build runs under ASan/LSan, whose leak
# report changes the exit code) no leak.
#   - archives with nothing in them: 0 bytes, an empty .gz/.xz, a tar of no entries
#     (refused unless --allow-empty; 0 bytes always, as GNU tar refuses it);
#   - --from a FIFO (open(2) alone would wait for a writer), a character device (a
#     directory is no bad input: it builds, as the tar of its content);
#   - `image ls -l` and `image cat` on corrupt filesystems: a directory whose block is
#     out of range (stat works, the listing fails: the stat's entry once leaked), a
#     directory entry whose name holds a '/'.
# The host-side failures (a full host disk, a cache on another filesystem) need root
# and a mount namespace: image-hostfs.sh.
#
# Run by CTest with XENPROV, XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need tar gzip xz mke2fs debugfs python3 timeout
scratch in out root/etc root/dir
# every run is bounded: a hang is a failure (exit 124), not a stuck test
RUN_TIMEOUT=60
no_output() { [ -z "$(ls -A "$T/out")" ] || fail "left behind: $(ls -A "$T/out")"; ok; }

# ---- archives with nothing in them ----------------------------------------------------
: >"$T/in/zero.tar"
printf '' | gzip >"$T/in/empty.tar.gz"
printf '' | xz >"$T/in/empty.tar.xz"
tar -cf "$T/in/none.tar" -T /dev/null
gzip -c "$T/in/none.tar" >"$T/in/none.tar.gz"
[ "$(stat -c %s "$T/in/none.tar")" -gt 0 ] || fail "tar made no end marker"; ok

for size in auto 16M; do
	for a in zero.tar empty.tar.gz empty.tar.xz; do
		expect_rc 1 image build --from "$T/in/$a" --size $size --no-cache -q -o "$T/out/x.img"
		case $a in
		zero.tar) err_has "zero.tar: error: is 0 bytes: not a tar archive" ;;
		*) err_has "$a: error: decompresses to 0 bytes: not a tar archive" ;;
		esac
		err_has "xenprov: cannot build '$T/out/x.img'"
		no_output
		# not even with --allow-empty: 0 bytes are no archive at all
		expect_rc 1 image build --from "$T/in/$a" --size $size --allow-empty --no-cache -q \
			-o "$T/out/x.img"
		err_has "0 bytes: not a tar archive"
		no_output
	done
	for a in none.tar none.tar.gz; do
		expect_rc 1 image build --from "$T/in/$a" --size $size --no-cache -q -o "$T/out/x.img"
		err_has "$a: error: the archive has no entries"
		err_has "hint: use --allow-empty"
		err_has "No data available"
		no_output
	done
done
# --allow-empty: a filesystem with lost+found and nothing else
expect_rc 0 image build --from "$T/in/none.tar.gz" --allow-empty --no-cache -q -o "$T/out/e.img"
expect_rc 0 image ls "$T/out/e.img"
[ "$(cat "$T/stdout")" = "lost+found" ] || fail "the empty image holds: $(cat "$T/stdout")"; ok
rm -f "$T/out/e.img"
# the cache never hands out an empty image to a build that would refuse one
expect_rc 0 image build --from "$T/in/none.tar" --allow-empty --cache-dir "$T/cache" -q \
	-o "$T/out/e.img"
expect_rc 1 image build --from "$T/in/none.tar" --cache-dir "$T/cache" -q -o "$T/out/f.img"
err_has "the archive has no entries"
rm -f "$T/out/e.img"
no_output

# ---- --from something that is not a regular file ------------------------------------
mkfifo "$T/in/fifo"
expect_rc 1 image build --from "$T/in/fifo" --no-cache -q -o "$T/out/x.img"
err_has "fifo: error: is a FIFO, not a regular file"
err_has "hint: save the archive to a file first"
no_output
# with the cache on, too (the archive is hashed first)
expect_rc 1 image build --from "$T/in/fifo" --cache-dir "$T/cache" -q -o "$T/out/x.img"
err_has "is a FIFO, not a regular file"
no_output
# a FIFO with a writer behind it: still refused, not read (the writer is ours, by PID)
(tar -C "$T/root" -cf - . >"$T/in/fifo") 2>/dev/null &
writer=$!
expect_rc 1 image build --from "$T/in/fifo" --no-cache -q -o "$T/out/x.img"
err_has "is a FIFO, not a regular file"
kill "$writer" 2>/dev/null
exec 3<>"$T/in/fifo" # lets a writer blocked in open(2) go, then end on EPIPE
exec 3>&-
wait "$writer" 2>/dev/null
expect_rc 1 image build --from /dev/zero --no-cache -q -o "$T/out/x.img"
err_has "/dev/zero: error: is a character device, not a regular file"
expect_rc 1 image build --from /dev/null --size 16M --no-cache -q -o "$T/out/x.img"
err_has "is a character device"
no_output
# a directory is no bad input: it is read as the tar of its content (image-capture.sh)
expect_rc 0 image build --from "$T/root" --no-cache -q -o "$T/out/x.img"
rm -f "$T/out/x.img"

# ---- image ls / cat on corrupt filesystems -------------------------------------------
r=$T/root
echo guest >"$r/etc/hostname"
for i in 1 2 3; do echo "$i" >"$r/dir/f$i"; done
echo x >"$r/slashXname"
mke2fs -q -F -t ext2 -b 1024 -N 32 -d "$r" "$T/in/fs.img" 512 >/dev/null 2>&1 ||
	fail "mke2fs -d failed"
expect_rc 0 image ls -l "$T/in/fs.img" /dir
[ "$(wc -l <"$T/stdout")" = 3 ] || fail "ls /dir: $(cat "$T/stdout")"; ok

# /dir's first block out of range: stat of /dir works, listing it fails
cp "$T/in/fs.img" "$T/in/baddir.img"
debugfs -w -R "set_inode_field /dir block[0] 999999" "$T/in/baddir.img" >/dev/null 2>&1
expect_rc 1 image ls -l "$T/in/baddir.img" /dir
err_has "xenprov: cannot list '/dir' in '$T/in/baddir.img'"
expect_rc 1 image ls "$T/in/baddir.img" /dir/f1
expect_rc 1 image cat "$T/in/baddir.img" /dir/f1
err_has "cannot read '/dir/f1'"
expect_rc 0 image cat "$T/in/baddir.img" /etc/hostname
[ "$(cat "$T/stdout")" = guest ] || fail "cat /etc/hostname: $(cat "$T/stdout")"; ok

# a directory entry whose name holds a '/': no path reaches it, ls must not print it
python3 - "$T/in/fs.img" "$T/in/slash.img" <<'EOF' || fail "cannot make slash.img"
import sys
b = open(sys.argv[1], 'rb').read()
assert b.count(b'slashXname') == 1
open(sys.argv[2], 'wb').write(b.replace(b'slashXname', b'slash/name'))
EOF
expect_rc 1 image ls "$T/in/slash.img" /
err_has "xenprov: cannot list '/' in '$T/in/slash.img': Bad message"
expect_rc 0 image ls "$T/in/slash.img" /dir

pass
