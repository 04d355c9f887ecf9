#!/bin/bash
# serve-tftp.sh - `xenprov serve`'s TFTP with real clients in a network namespace:
# tftp-hpa (512-byte blocks, a file over 32 MiB so block numbers wrap past 65535, and
# netascii), atftp (blksize 1468 with windowsize 16 and 64) and curl tftp:// download
# byte-exact; configs rendered from the inventory (pxelinux.cfg/01-MAC, HEXIP,
# default); traversal attempts (.., absolute paths, a symlink out of the root) and
# writes are refused; the state directory is never served (a root that holds it stops
# the server at start; its files hard-linked into the root are refused); distros come
# from the distro store only (a symlink planted there, a distro of an older inventory
# naming host paths: not served); 20 transfers at once all complete; names with ESC and
# bytes above 0x7e reach the log escaped; a flood of bad requests costs a few log lines
# a second.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need tftp atftp curl sha256sum python3

srv_settings
mkdir -p "$R/sub" "$T/secret"
head -c $((33 * 1024 * 1024 + 123)) /dev/urandom >"$R/big.bin"
head -c 2048 /dev/urandom >"$R/sub/exact.bin" # a multiple of 512: a last empty block
head -c $((4 * 1024 * 1024 + 7)) /dev/urandom >"$R/par.bin"
printf 'line one\nline two\r\nbare\rcr\n' >"$R/notes.txt"
echo secret >"$T/secret/passwd"
chmod 644 "$R"/par.bin "$R"/big.bin "$R"/sub/exact.bin "$R"/notes.txt
ln -s "$T/secret/passwd" "$R/escape"
ln -s sub/exact.bin "$R/inside"
echo kernel-bytes >"$T/vmlinuz"
echo initrd-bytes >"$T/initrd"
one_client
S=$XENPROV_STATE_DIR
# a TFTP root that holds the state directory: the server will not start
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE server_settings SET value = ? WHERE key = ?", (sys.argv[2], "tftp-root"))
c.commit()' "$S/inventory.db" "$T" || fail "python3 sqlite3"
ip netns exec "$SRV" timeout 20 "$X" serve --tftp --user nobody --interface br0 >"$T/refused.log" 2>&1 &&
	fail "the server started with the state directory inside its TFTP root"
grep -q "the TFTP root '$T' is or holds the state directory '$S'" "$T/refused.log" ||
	fail "no reason given: $(cat "$T/refused.log")"
ok
srv_set tftp-root "$R"
# the state directory's own files linked into the root; a distro of an older inventory
# (files served from their host paths then); a distro whose store file is a symlink
echo 0123456789abcdef0123456789abcdef >"$S/api-token"
ln "$S/inventory.db" "$R/inv.db"
ln "$S/api-token" "$R/token"
FAKE=1111111111111111111111111111111111111111111111111111111111111111
ln -s /etc/passwd "$S/distro-files/$FAKE"
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO distros (name, kernel, initrd, created, updated) VALUES (?, ?, ?, 1, 1)",
          ("old", "/etc/passwd", "/etc/hostname"))
c.execute("INSERT INTO distros (name, kernel, created, updated) VALUES (?, ?, 1, 1)",
          ("planted", "/x"))
c.execute("INSERT INTO distro_files (distro, kernel_sha256) VALUES (?, ?)", ("planted", sys.argv[2]))
c.commit()' "$S/inventory.db" "$FAKE" || fail "python3 sqlite3"
srv_start --tftp
grep -q "distro 'old' is not served: its files are not in the distro store" "$T/serve.log" ||
	fail "no warning about distro 'old'"
ok
same() { cmp -s "$1" "$2" || fail "$3: the download differs from the file"; ok; }

# tftp-hpa: 512-byte blocks, no options; 33 MiB = 67,585 blocks: the numbers wrap
(cd "$T" && C timeout 120 tftp -m binary 10.79.0.1 -c get big.bin hpa.bin) ||
	fail "tftp-hpa could not get big.bin"
same "$R/big.bin" "$T/hpa.bin" "tftp-hpa big.bin"
(cd "$T" && C timeout 20 tftp -m binary 10.79.0.1 -c get sub/exact.bin exact.bin) ||
	fail "tftp-hpa could not get sub/exact.bin"
same "$R/sub/exact.bin" "$T/exact.bin" "tftp-hpa exact.bin"
# netascii: the client turns CR LF back into LF; the bytes come back as they were
(cd "$T" && C timeout 20 tftp -m ascii 10.79.0.1 -c get notes.txt notes.txt) ||
	fail "tftp-hpa netascii get"
same "$R/notes.txt" "$T/notes.txt" "netascii notes.txt"

# atftp: blksize 1468 with windowsize 16 and 64 (RFC 7440)
for w in 16 64; do
	C timeout 120 atftp --get -r big.bin -l "$T/at$w.bin" --option "blksize 1468" \
		--option "windowsize $w" 10.79.0.1 >"$T/atftp.log" 2>&1 ||
		fail "atftp windowsize $w: $(tail -3 "$T/atftp.log")"
	same "$R/big.bin" "$T/at$w.bin" "atftp windowsize $w"
done

# curl with tsize and blksize
C timeout 120 curl -sS --tftp-blksize 1468 -o "$T/curl.bin" tftp://10.79.0.1/big.bin ||
	fail "curl tftp:// failed"
same "$R/big.bin" "$T/curl.bin" "curl big.bin"
C curl -sS -o "$T/inside.bin" tftp://10.79.0.1/inside || fail "a symlink inside the root was refused"
same "$R/sub/exact.bin" "$T/inside.bin" "symlink inside the root"

# rendered from the inventory, no sync step
C curl -sS -o "$T/mac.cfg" tftp://10.79.0.1/pxelinux.cfg/01-52-54-00-aa-00-01 ||
	fail "pxelinux.cfg/01-MAC not served"
grep -qi "distros/deb/kernel" "$T/mac.cfg" || fail "pxelinux.cfg/01-MAC: no kernel line: $(cat "$T/mac.cfg")"
grep -q "console=ttyS0" "$T/mac.cfg" || fail "pxelinux.cfg/01-MAC: no kernel options"
ok
C curl -sS -o "$T/ip.cfg" tftp://10.79.0.1/pxelinux.cfg/0A4F0032 || fail "pxelinux.cfg/HEXIP not served"
grep -qi "distros/deb/kernel" "$T/ip.cfg" || fail "pxelinux.cfg/HEXIP: no kernel line"
ok
C curl -sS -o "$T/default.cfg" tftp://10.79.0.1/pxelinux.cfg/default || fail "default not served"
grep -qi "label" "$T/default.cfg" || fail "pxelinux.cfg/default has no entry"
ok
C curl -sS -o "$T/k" tftp://10.79.0.1/distros/deb/kernel || fail "the distro's kernel not served"
same "$T/vmlinuz" "$T/k" "distro kernel"
# a copy in the store: the original may change
echo changed >"$T/vmlinuz"
C curl -sS -o "$T/k" tftp://10.79.0.1/distros/deb/kernel || fail "the distro's kernel not served"
[ "$(cat "$T/k")" = kernel-bytes ] || fail "the served kernel followed its original"
ok
C curl -sS -o "$T/menu" tftp://10.79.0.1/pxelinux.cfg/default || fail "default not served"
grep -qiw "label old" "$T/menu" && fail "a distro that is not served is in the menu"
ok
# a system added while the server runs is served at once
"$X" system add beta --mac 52:54:00:aa:00:02 --distro deb >/dev/null || fail "system add beta"
C curl -sS -o "$T/beta.cfg" tftp://10.79.0.1/pxelinux.cfg/01-52-54-00-aa-00-02 ||
	fail "a system added while serving is not served"
ok

# refusals: nothing outside the root, no writes
refused() { # PATH
	if C timeout 10 curl -sS -o "$T/x" "tftp://10.79.0.1/$1" 2>"$T/curl.err"; then
		fail "'$1' was served: $(head -c 80 "$T/x")"
	fi
	ok
}
refused "../secret/passwd"
refused "sub/../../secret/passwd"
refused "escape"
refused "%2e%2e/secret/passwd"
refused "inv.db"
refused "token"
refused "distros/old/kernel"
refused "distros/old/initrd"
refused "distros/planted/kernel"
C curl -sS -o "$T/x" "tftp://10.79.0.1//etc/passwd" 2>/dev/null && fail "/etc/passwd was served"
ok
(cd "$T" && C timeout 10 tftp 10.79.0.1 -c get ../secret/passwd hpa-escape) >"$T/hpa.out" 2>&1
[ -s "$T/hpa-escape" ] && grep -q secret "$T/hpa-escape" && fail "tftp-hpa got a file outside the root"
ok
echo data >"$T/up.txt"
if (cd "$T" && C timeout 10 tftp 10.79.0.1 -c put up.txt up.txt) 2>&1 | grep -qi "error"; then ok; else
	[ -e "$R/up.txt" ] && fail "a write was accepted"
	ok
fi
[ ! -e "$R/up.txt" ] || fail "a write created a file"

# names a client sent reach the log escaped (tftp-hpa: ESC and a terminal sequence,
# atftp: bytes above 0x7e), and nothing raw reaches it at all
sleep 1.2 # a fresh second of the log's rate limit (the refusals above used it up)
(cd "$T" && C timeout 10 tftp 10.79.0.1 -c get $'esc\e[2Jname\x7f' x) >/dev/null 2>&1
C timeout 10 atftp --get -r $'caf\xc3\xa9\xff' -l "$T/x" 10.79.0.1 >/dev/null 2>&1
sleep 1.2
grep -qF "tftp: refused 'esc\x1b[2Jname\x7f' to 10.79.0.50: bad file name" "$T/serve.log" ||
	fail "the name with ESC was not logged escaped: $(grep -a esc "$T/serve.log" | head -2)"
grep -qF "tftp: refused 'caf\xc3\xa9\xff' to 10.79.0.50: bad file name" "$T/serve.log" ||
	fail "the name with high bytes was not logged escaped: $(grep -a caf "$T/serve.log" | head -2)"
LC_ALL=C grep -n '[^ -~]' "$T/serve.log" | head -3 | grep . && fail "raw control or high bytes in the log"
ok

# a flood of bad requests for 3 seconds (missing files, names with ESC, '..'): a few
# lines a second and one counting the rest, not a line per request
sleep 1.2 # a fresh second of the log's rate limit
before=$(wc -l <"$T/serve.log")
C python3 - "$T/flood.count" <<'PY' || fail "cannot send the flood"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the errors back are not read
s.setblocking(False)
end = time.monotonic() + 3
n = 0
while time.monotonic() < end and n < 300000:
    name = (b"missing-%d" % n, b"bad\x1b[31m\xff%d" % n, b"../secret/%d" % n)[n % 3]
    try:
        s.sendto(b"\x00\x01" + name + b"\x00octet\x00", ("10.79.0.1", 69))
        n += 1
    except BlockingIOError:
        time.sleep(0.0005)
open(sys.argv[1], "w").write("%d\n" % n)
PY
sleep 2.2 # the last second's count
after=$(wc -l <"$T/serve.log")
sent=$(cat "$T/flood.count")
[ "$sent" -ge 3000 ] || fail "the flood sent only $sent requests"
lines=$((after - before))
[ "$lines" -le 70 ] || fail "$sent bad requests made $lines log lines, want at most 70"
[ "$lines" -ge 2 ] || fail "$sent bad requests were not logged at all"
echo "flood: $sent requests, $lines log lines"
tail -n "$lines" "$T/serve.log" | grep -q "tftp: [0-9]* more message(s) like these in the last second not logged (at most 10 a second); the last: " ||
	fail "no line counts the refused requests left out: $(tail -n "$lines" "$T/serve.log" | head -5)"
LC_ALL=C grep -n '[^ -~]' "$T/serve.log" | head -3 | grep . && fail "raw control or high bytes in the log"
ok

# 20 transfers at once
pids=()
for i in $(seq 20); do
	C timeout 180 curl -sS --tftp-blksize 1468 -o "$T/par$i.bin" tftp://10.79.0.1/par.bin &
	pids+=($!)
done
for i in $(seq 20); do wait "${pids[$((i - 1))]}" || fail "parallel transfer $i failed"; done
for i in $(seq 20); do cmp -s "$R/par.bin" "$T/par$i.bin" || fail "parallel transfer $i differs"; done
ok

# SIGTERM during a transfer: the transfer finishes, then the server exits cleanly
(cd "$T" && C timeout 120 tftp -m binary 10.79.0.1 -c get par.bin term.bin) &
tp=$!
for _ in $(seq 50); do [ -s "$T/term.bin" ] && break; sleep 0.1; done
[ -s "$T/term.bin" ] || fail "the transfer to interrupt did not start"
kill -TERM "$SRV_PID"
wait "$tp" || fail "the transfer in flight failed when the server was told to stop"
cmp -s "$R/par.bin" "$T/term.bin" || fail "the transfer in flight at SIGTERM differs"
ok
wait "$SRV_PID" || fail "the server exited with an error on SIGTERM"
SRV_PID=
grep -q "refused" "$T/serve.log" || fail "no refusal was logged"
ok
echo "PASS: $n checks"
