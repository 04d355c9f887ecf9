#!/bin/bash
# image-capture.sh - `xenprov image capture` of a golden client over ssh, `image
# versions`, `image rm`, and images built from captured versions:
#   a golden tree (owners, modes, setuid, hard links, symlinks, a device, a FIFO, a
#   sparse file, xattrs, an ACL, a file capability, and what the default exclusions
#   leave out) captured over ssh from a network namespace running the real sshd (a
#   throwaway host key and test key made here, only inside that namespace; the host's
#   ssh configuration is never read: ssh -F /dev/null, sshd -f our own file);
#   about 1% of it changed, captured again: version 2's own disk usage (du of both
#   versions, which counts shared inodes once) is about the size of the change;
#   images built from both versions hold the source's files (image ls -l, hashes of
#   image cat against the tree at each time), e2fsck -fn clean; the same version
#   again is served from the image cache (its key is the manifest hash);
#   a guest created from a profile whose image is gold@1 holds version 1's files;
#   that guest captured by its name (its disk) holds them, with its own hostname;
#   image diff of the two versions lists exactly the planted changes, and version 2's
#   manifest is a fresh full capture's; a local directory's file rewritten with the
#   same size and its mtime put back is still captured (its ctime), a file only
#   touched stays shared; version 2 removed of version 1 is still whole (its tree
#   listed afresh equals its manifest, e2fsck clean);
#   a local tree's second capture is a lazy version: no tree, a delta about the size
#   of the change, checked out by its first reader (image build --from, image diff)
#   into a full capture's tree; a delta on a delta; image rm of a parent keeps its lazy
#   child whole; a checkout killed with kill -9 leaves no tree that is used;
#   an interrupted capture stops rsync and its remote shell and leaves nothing;
#   --show-excludes, --include-default, --exclude; an unreachable host and a missing
#   name are clear errors that leave nothing behind; image rm refused while a profile
#   uses the version, done with --force.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
[ "$(id -u)" = 0 ] || skip "network namespaces and owners need root"
need ip rsync ssh ssh-keygen e2fsck setfattr getfattr setfacl setcap du sha256sum
in_private_mounts "$@" || skip "no mount namespace of the test's own (unshare, util-linux)"
scratch ssh golden
. "$(dirname "$0")/lib/sshd-env.sh" || exit 1
export XENPROV_STATE_DIR=$T/state

# ---- the network: namespace C (xenprov) and G (the golden client's sshd) ----------------
C=xpcc$$
sshd_netns "$C" xpcg$$ 10.88.0.1 10.88.0.2

# ---- sshd with a throwaway host key, root's login by a test key only --------------------
S=$T/ssh
sshd_start "$S" 10.88.0.2
for i in $(seq 100); do
	ip netns exec "$C" $RSH root@10.88.0.2 true 2>/dev/null && break
	kill -0 "$SSHD_PID" 2>/dev/null || fail "sshd ended: $(cat "$T/sshd.log")"
	sleep 0.1
done
ip netns exec "$C" $RSH root@10.88.0.2 true || fail "ssh to the namespace's sshd does not work"
ok

# xenprov in namespace C
XC() { ip netns exec "$C" "$X" "$@"; }
runc() {
	XC "$@" >"$T/stdout" 2>"$T/err" </dev/null
	rc=$?
	out=$(<"$T/stdout")
	! grep -q -E 'Sanitizer|runtime error' "$T/err" || fail "xenprov $*: sanitizer report"
}

# ---- the golden client's tree ------------------------------------------------------------
GT=$T/golden
guest_root "$GT"
for d in $(seq -w 1 10); do
	mkdir -p "$GT/usr/share/d$d"
	for f in $(seq -w 1 50); do
		head -c 20000 /dev/urandom >"$GT/usr/share/d$d/f$f"
	done
done
chown 1234:4321 "$GT/usr/share/d01/f01"
chmod 4711 "$GT/usr/share/d01/f02"
chmod 0600 "$GT/usr/share/d01/f03"
ln "$GT/usr/share/d02/f01" "$GT/usr/share/d02/hardlink"
ln -s ../d03/f01 "$GT/usr/share/d02/symlink"
mknod "$GT/usr/share/null" c 1 3
mkfifo "$GT/usr/share/fifo"
truncate -s 8M "$GT/usr/share/sparse" && echo tail >>"$GT/usr/share/sparse"
setfattr -n user.golden -v yes "$GT/usr/share/d01/f04"
setfacl -m u:1000:rw "$GT/usr/share/d01/f05"
setcap cap_net_raw+ep "$GT/usr/share/d01/f06"
# what the default exclusions leave out, and the mount points they keep
mkdir -p "$GT/proc/1" "$GT/sys/kernel" "$GT/dev" "$GT/run/lock" "$GT/tmp" "$GT/var/tmp" \
	"$GT/etc/ssh" "$GT/var/lib/dhcp" "$GT/var/lib/systemd" "$GT/var/cache/apt/archives" \
	"$GT/mnt/usb" "$GT/lost+found" "$GT/etc/udev/rules.d" "$GT/data"
echo 1 >"$GT/proc/1/status"
echo x >"$GT/sys/kernel/x"
echo x >"$GT/run/lock/x"
echo x >"$GT/tmp/junk"
echo x >"$GT/var/tmp/junk"
echo x >"$GT/mnt/usb/x"
echo key >"$GT/etc/ssh/ssh_host_ed25519_key"
echo conf >"$GT/etc/ssh/sshd_config"
echo lease >"$GT/var/lib/dhcp/dhclient.eth0.leases"
echo seed >"$GT/var/lib/systemd/random-seed"
echo deb >"$GT/var/cache/apt/archives/x_1_amd64.deb"
echo 0123456789abcdef0123456789abcdef >"$GT/etc/machine-id"
echo net >"$GT/etc/udev/rules.d/70-persistent-net.rules"
head -c 4096 /dev/zero >"$GT/swapfile"
echo skip >"$GT/data/skip-me"
echo keep >"$GT/data/keep-me"

# ---- --show-excludes -----------------------------------------------------------------------
expect_rc 0 image capture --show-excludes
for name in proc sys dev run tmp var-tmp mnt media lost-found swap apt-archives dhcp-leases \
	ssh-host-keys machine-id random-seed guest-state; do
	grep -q "^$name  *on " "$T/stdout" || fail "--show-excludes lacks '$name'"
done
ok
# the clone hygiene list of the guests (guest-edit.c), reused
out_has "/var/lib/dhcp/dhclient*.leases"
out_has "/etc/udev/rules.d/70-persistent-net.rules"
out_has "/var/lib/systemd/random-seed"
expect_rc 0 image capture --show-excludes --include-default ssh-host-keys --json
json_ok "$T/stdout" "[e['excluded'] for e in j if e['name'] == 'ssh-host-keys'] == [False]
	and all(e['excluded'] for e in j if e['name'] != 'ssh-host-keys')"
expect_rc 2 image capture --show-excludes --include-default nope
err_has "no default exclusion 'nope'"

# ---- bad input -------------------------------------------------------------------------------
expect_rc 2 image capture "$GT"
err_has "no --name given"
expect_rc 2 image capture "$GT" --name 'a/b'
err_has "not an image name: 'a/b'"
expect_rc 1 image capture "$T/nowhere" --name gold
err_has "no such directory, disk image or host"
runc image capture 10.88.0.9:/ --name gold --ssh-command "$RSH -o ConnectTimeout=2"
[ "$rc" = 1 ] || fail "capture of an unreachable host: exit $rc"
err_has "rsync over ssh failed"
err_has "ssh: connect to host 10.88.0.9"
[ ! -e "$T/state/images/captures/gold" ] || [ -z "$(ls -A "$T/state/images/captures/gold")" ] ||
	fail "a failed capture left $(ls -A "$T/state/images/captures/gold")"
ok

# an interrupted capture (SIGTERM while rsync waits on its remote shell): rsync and its
# remote shell are stopped, the half-made version is removed, xenprov ends by the signal
printf '#!/bin/sh\necho $$ >"%s"\nexec sleep 60\n' "$T/slow-ssh.pid" >"$T/slow-ssh"
chmod 755 "$T/slow-ssh"
"$X" image capture 10.88.0.2:/ --name gold --ssh-command "$T/slow-ssh" -q 2>"$T/err" &
xpid=$!
for i in $(seq 100); do [ -s "$T/slow-ssh.pid" ] && break; sleep 0.1; done
[ -d "$T/state/images/captures/gold/.1.partial" ] || fail "no version being made"
kill -TERM "$xpid"
wait "$xpid"
rc=$?
[ "$rc" = $((128 + 15)) ] || fail "an interrupted capture ended with $rc, not by SIGTERM"
! kill -0 "$(cat "$T/slow-ssh.pid")" 2>/dev/null || fail "the remote shell outlived the capture"
[ -z "$(ls -A "$T/state/images/captures/gold")" ] ||
	fail "an interrupted capture left $(ls -A "$T/state/images/captures/gold")"
ok

# ---- capture 1, over ssh -------------------------------------------------------------------------
runc image capture "10.88.0.2:$GT" --name gold --ssh-user root --ssh-command "$RSH" \
	--exclude '/data/skip*' --message "first" --json
[ "$rc" = 0 ] || fail "capture over ssh: exit $rc: $(cat "$T/err")"
ok
cp "$T/stdout" "$T/v1.json"
json_ok "$T/v1.json" "j['image'] == 'gold@1' and j['previous'] is None and j['message'] == 'first'
	and j['source'] == '10.88.0.2:$GT' and len(j['manifest_sha256']) == 64"
V1=$T/state/images/captures/gold/1/root
[ -d "$V1/usr/share/d01" ] || fail "version 1 has no tree"
for p in proc/1 sys/kernel run/lock tmp/junk var/tmp/junk mnt/usb etc/ssh/ssh_host_ed25519_key \
	var/lib/dhcp/dhclient.eth0.leases var/lib/systemd/random-seed \
	var/cache/apt/archives/x_1_amd64.deb etc/udev/rules.d/70-persistent-net.rules swapfile \
	lost+found data/skip-me; do
	[ ! -e "$V1/$p" ] || fail "the capture kept /$p"
done
for p in proc sys dev run tmp var/tmp mnt etc/ssh/sshd_config data/keep-me; do
	[ -e "$V1/$p" ] || fail "the capture lost /$p"
done
[ -f "$V1/etc/machine-id" ] && [ ! -s "$V1/etc/machine-id" ] || fail "/etc/machine-id is not empty"
ok
# exactness of the tree: owners, modes, links, devices, xattrs, ACL, capability, sparse
[ "$(stat -c '%u:%g %a' "$V1/usr/share/d01/f01")" = "1234:4321 644" ] || fail "owner lost"
[ "$(stat -c %a "$V1/usr/share/d01/f02")" = 4711 ] || fail "setuid mode lost"
[ "$(stat -c %i "$V1/usr/share/d02/f01")" = "$(stat -c %i "$V1/usr/share/d02/hardlink")" ] ||
	fail "hard link lost"
[ "$(readlink "$V1/usr/share/d02/symlink")" = ../d03/f01 ] || fail "symlink lost"
[ "$(stat -c '%F %t:%T' "$V1/usr/share/null")" = "character special file 1:3" ] || fail "device lost"
[ -p "$V1/usr/share/fifo" ] || fail "FIFO lost"
[ "$(getfattr --only-values -n user.golden "$V1/usr/share/d01/f04" 2>/dev/null)" = yes ] ||
	fail "xattr lost"
getfacl -pn "$V1/usr/share/d01/f05" 2>/dev/null | grep -q '^user:1000:rw-' || fail "ACL lost"
getcap "$V1/usr/share/d01/f06" | grep -q cap_net_raw || fail "capability lost"
[ "$(du -k "$V1/usr/share/sparse" | cut -f1)" -lt 1024 ] || fail "sparse file not sparse"
ok

# the manifest: every entry, and its hash is meta.json's
M1=$T/state/images/captures/gold/1/manifest
head -n 1 "$M1" | grep -qx 'xenprov-manifest 1' || fail "manifest format line"
[ "$(sha256sum <"$M1" | cut -d' ' -f1)" = "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest_sha256"])' "$T/v1.json")" ] ||
	fail "manifest_sha256 is not the manifest's SHA-256"
grep -q "^/usr/share/d02/hardlink f 0644 0 0 20000 .* /usr/share/d02/f01\$" "$M1" ||
	fail "the manifest does not show the hard link"
grep -q "^/usr/share/d01/f01 f 0644 1234 4321 20000 [0-9]* $(sha256sum <"$GT/usr/share/d01/f01" | cut -d' ' -f1) " "$M1" ||
	fail "the manifest's entry of d01/f01"
grep -q "^/usr/share/null c 0644 0 0 0 [0-9]* - - 1:3\$" "$M1" || fail "the manifest's device"
ok

# ---- capture 2 after changing about 1% ---------------------------------------------------------
sha_of() { sha256sum <"$1" | cut -d' ' -f1; }
before_f01=$(sha_of "$GT/usr/share/d05/f01")
for f in 01 02 03 04 05; do head -c 20000 /dev/urandom >"$GT/usr/share/d05/f$f"; done
head -c 20000 /dev/urandom >"$GT/usr/share/d05/new"
rm "$GT/usr/share/d06/f50"
chmod 0640 "$GT/usr/share/d07/f01"
change_kb=120
runc image capture "10.88.0.2:$GT" --name gold --ssh-user root --ssh-command "$RSH" \
	--exclude '/data/skip*' --json
[ "$rc" = 0 ] || fail "second capture: exit $rc: $(cat "$T/err")"
cp "$T/stdout" "$T/v2.json"
json_ok "$T/v2.json" "j['image'] == 'gold@2' and j['previous'] == 1 and j['new_bytes'] == 120000"
V2=$T/state/images/captures/gold/2/root
# du of both counts each shared inode once: its second line is version 2's own usage
v2_kb=$(du -sk "$V1" "$V2" | sed -n 2p | cut -f1)
ndirs=$(find "$V2" -type d | wc -l)
# the change, plus a block per directory (directories are never shared) and small slack
max_kb=$((change_kb + 4 * ndirs + 64))
[ "$v2_kb" -ge "$change_kb" ] && [ "$v2_kb" -le "$max_kb" ] ||
	fail "version 2 uses $v2_kb KiB of its own for a change of $change_kb KiB (at most $max_kb)"
echo "version 2's own usage: $v2_kb KiB for a change of $change_kb KiB ($ndirs directories)"
[ "$(stat -c %i "$V1/usr/share/d01/f01")" = "$(stat -c %i "$V2/usr/share/d01/f01")" ] ||
	fail "an unchanged file is not shared with version 1"
[ "$(stat -c %i "$V1/usr/share/d05/f01")" != "$(stat -c %i "$V2/usr/share/d05/f01")" ] ||
	fail "a changed file is shared with version 1"
[ ! -e "$V2/usr/share/d06/f50" ] && [ -e "$V1/usr/share/d06/f50" ] || fail "the removal"
[ "$(stat -c %a "$V2/usr/share/d07/f01")" = 640 ] && [ "$(stat -c %a "$V1/usr/share/d07/f01")" = 644 ] ||
	fail "the mode change (version 1 must keep its own inode)"
ok

# the second capture is exact: image diff lists exactly the planted changes, and the
# manifest of version 2 (made with --link-dest, unchanged files' hashes taken from
# version 1's manifest) is the manifest of a fresh, full capture of the same tree
expect_rc 0 image diff gold@1 gold@2 --json
json_ok "$T/stdout" "sorted((e['path'], e['change']) for e in j) == [
	('/usr/share/d05/f01', 'changed'), ('/usr/share/d05/f02', 'changed'),
	('/usr/share/d05/f03', 'changed'), ('/usr/share/d05/f04', 'changed'),
	('/usr/share/d05/f05', 'changed'), ('/usr/share/d05/new', 'added'),
	('/usr/share/d06/f50', 'removed'), ('/usr/share/d07/f01', 'changed')]
	and [e['what'] for e in j if e['path'] == '/usr/share/d07/f01'] == [['mode']]"
runc image capture "10.88.0.2:$GT" --name fresh --ssh-user root --ssh-command "$RSH" \
	--exclude '/data/skip*' -q
[ "$rc" = 0 ] || fail "fresh capture: exit $rc: $(cat "$T/err")"
cmp "$T/state/images/captures/gold/2/manifest" "$T/state/images/captures/fresh/1/manifest" ||
	fail "gold@2 differs from a full capture of the same tree: $(diff "$T/state/images/captures/gold/2/manifest" "$T/state/images/captures/fresh/1/manifest" | head -5)"
expect_rc 0 image rm fresh@1
ok

# ---- a local directory: a change rsync's quick check cannot see -------------------------------------
# A file rewritten with the same size and its mtime put back (touch -r) passes rsync's
# quick check (size and mtime), so --link-dest would link it to the previous version;
# a local source's ctime, which no one can set back, makes the capture hash it and
# copy it again. A file merely touched the same way keeps its inode: it is hashed,
# found the same, and left linked.
LT=$T/local
mkdir -p "$LT/etc" "$LT/srv"
for f in a b c; do head -c 5000 /dev/urandom >"$LT/srv/$f"; done
ln "$LT/srv/a" "$LT/srv/a-link"
expect_rc 0 image capture "$LT" --name loc -q
L1=$T/state/images/captures/loc/1/root
cp -p "$LT/srv/a" "$T/a.ref"
cp -p "$LT/srv/b" "$T/b.ref"
sleep 1.1 # past the first capture's start, to the second
head -c 5000 /dev/urandom >"$T/a.new"
cat "$T/a.new" >"$LT/srv/a" # in place: a-link stays its hard link
touch -r "$T/a.ref" "$LT/srv/a"
touch -r "$T/b.ref" "$LT/srv/b" # the same bytes, its ctime new
[ "$(stat -c '%s %y' "$LT/srv/a")" = "$(stat -c '%s %y' "$T/a.ref")" ] ||
	fail "the planted change does not keep size and mtime"
expect_rc 0 image capture "$LT" --name loc --json
json_ok "$T/stdout" "j['image'] == 'loc@2' and j['new_bytes'] == 5000"
L2=$T/state/images/captures/loc/2/root
# a lazy version (a delta on loc@1, imgstore.h): its tree is made by its first reader
[ ! -e "$L2" ] && [ -d "$T/state/images/captures/loc/2/delta" ] || fail "loc@2 is not a lazy version"
expect_rc 0 image diff loc@1 loc@2
[ -d "$L2" ] || fail "image diff did not check out loc@2"
[ "$(sha_of "$L2/srv/a")" = "$(sha_of "$T/a.new")" ] ||
	fail "the same-size change with its mtime put back was not captured"
[ "$(sha_of "$L1/srv/a")" = "$(sha_of "$T/a.ref")" ] || fail "loc@1 lost its own srv/a"
[ "$(stat -c %i "$L2/srv/a")" = "$(stat -c %i "$L2/srv/a-link")" ] || fail "the hard link was lost"
[ "$(stat -c %i "$L1/srv/b")" = "$(stat -c %i "$L2/srv/b")" ] ||
	fail "a file only touched was copied, not linked"
expect_rc 0 image diff loc@1 loc@2 --json
json_ok "$T/stdout" "sorted((e['path'], e['what']) for e in j) ==
	[('/srv/a', ['content']), ('/srv/a-link', ['content', 'link'])]"
grep -q "^/srv/a f 0644 0 0 5000 [0-9]* $(sha_of "$T/a.new") " "$T/state/images/captures/loc/2/manifest" ||
	fail "loc@2's manifest has not the new srv/a"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); sys.exit(not 0 < m["started"] <= m["time"])' \
	"$T/state/images/captures/loc/2/meta.json" || fail "meta.json's started"
ok

# ---- image versions --------------------------------------------------------------------------------
expect_rc 0 image versions gold
out_has "gold@1"
out_has "gold@2"
out_has "first"
expect_rc 0 image versions gold --json
json_ok "$T/stdout" "[v['version'] for v in j] == [1, 2] and j[0]['files'] == j[1]['files'] and
	j[1]['bytes'] == j[0]['bytes']"
expect_rc 0 image versions
# (fresh, whose only version was removed, keeps its name's directory)
out_is "$(printf 'fresh\ngold\nloc')"
expect_rc 1 image versions nope
err_has "no captured image 'nope'"

# ---- images built from both versions -------------------------------------------------------------
expect_rc 0 image build --from gold@1 -o "$T/v1.img" --label none -q
expect_rc 0 image build --from gold -o "$T/v2.img" --label none -q
for v in 1 2; do
	e2fsck -fn "$T/v$v.img" >"$T/fsck" 2>&1 || fail "e2fsck -fn of v$v.img: $(cat "$T/fsck")"
done
ok
[ "$("$X" image cat "$T/v1.img" /usr/share/d05/f01 | sha256sum | cut -d' ' -f1)" = "$before_f01" ] ||
	fail "v1.img's d05/f01 is not the first version's"
ok
# every regular file of version 2 in v2.img, by hash, as the manifest and the tree say
M2=$T/state/images/captures/gold/2/manifest
awk '$2 == "f" && $1 ~ /^\/usr\/share\/d0[1-5]\// { print $1, $8 }' "$M2" >"$T/files"
[ "$(wc -l <"$T/files")" -ge 250 ] || fail "too few files to compare"
while read -r path sum; do
	[ "$(sha_of "$GT$path")" = "$sum" ] || fail "the manifest's hash of $path is not the tree's"
	"$X" image cat "$T/v2.img" "$path" 2>"$T/err" | sha256sum | grep -q "^$sum " ||
		fail "v2.img's $path differs"
done <"$T/files"
ok
expect_rc 0 image ls -l "$T/v2.img" /usr/share/d01
grep -q '^-rws--x--x .* 0 .* 20000 .* f02$' "$T/stdout" || fail "image ls -l: f02 $(grep f02 "$T/stdout")"
grep -q '^-rw-r--r-- .* 1234  *4321 .* f01$' "$T/stdout" || fail "image ls -l: f01 $(grep f01 "$T/stdout")"
ok
expect_rc 0 image ls -l "$T/v2.img" /usr/share
grep -q '^crw-r--r-- .* 1,  *3 .* null$' "$T/stdout" || fail "image ls -l: the device"
grep -q '^prw-r--r-- .* fifo$' "$T/stdout" || fail "image ls -l: the FIFO"
ok
expect_rc 0 image ls "$T/v2.img" /usr/share/d05
out_has new
expect_rc 0 image ls "$T/v1.img" /usr/share/d05
out_lacks new
# ---- capture of a disk image equals capture of the same tree -------------------------------------
# (the bare filesystem of v2.img; a partitioned qcow2 image, found through its table)
expect_rc 0 image capture "$T/v2.img" --name fromdisk -q
cmp "$M2" "$T/state/images/captures/fromdisk/1/manifest" ||
	fail "the capture of v2.img differs from gold@2: $(diff "$M2" "$T/state/images/captures/fromdisk/1/manifest" | head -5)"
ok
expect_rc 0 image build --from gold@2 -o "$T/v2p.qcow2" --swap 8M -q
expect_rc 0 image capture "$T/v2p.qcow2" --name fromdisk --json
json_ok "$T/stdout" "j['image'] == 'fromdisk@2' and j['previous'] == 1 and j['new_bytes'] == 0"
cmp "$M2" "$T/state/images/captures/fromdisk/2/manifest" || fail "the capture of v2p.qcow2 differs from gold@2"
F2=$T/state/images/captures/fromdisk/2/root
[ "$(stat -c %i "$F2/usr/share/d01/f01")" = "$(stat -c %i "$T/state/images/captures/fromdisk/1/root/usr/share/d01/f01")" ] ||
	fail "the second disk capture does not share unchanged files with the first"
getcap "$F2/usr/share/d01/f06" | grep -q cap_net_raw || fail "capability lost through the disk"
ok
: >"$T/notadisk"
expect_rc 1 image capture "$T/notadisk" --name fromdisk
[ ! -e "$T/state/images/captures/fromdisk/3" ] && [ -z "$(ls -A "$T/state/images/captures/fromdisk" | grep -v '^[12]$')" ] ||
	fail "a failed disk capture left $(ls -A "$T/state/images/captures/fromdisk")"
ok

# the same version again comes from the image cache (keyed by the manifest hash)
expect_rc 0 image build --from gold@2 -o "$T/v2b.img" --label none --cache-dir "$T/cache" --json
json_ok "$T/stdout" "j['cached'] == False"
expect_rc 0 image build --from gold@2 -o "$T/v2c.img" --label none --cache-dir "$T/cache" --json
json_ok "$T/stdout" "j['cached'] == True"
expect_rc 1 image build --from gold@7 -o "$T/x.img"
err_has "'gold@7': no such file or captured image"
err_has "there are gold@1, gold@2"

# ---- image rm ------------------------------------------------------------------------------------------
expect_rc 0 profile add golden1 --image gold@1 --disk-size 64M
expect_rc 0 profile add goldlatest --image gold --disk-size 64M
# xenprov check: a profile's captured image is there, or it is not
expect_rc 0 profile add goldmissing --image gold@9 --disk-size 64M
run check --json
json_ok "$T/stdout" "[f['what'] for f in j['findings'] if f['check'] == 'profile'] ==
	[\"the image 'gold@9' of profile 'goldmissing' does not exist\"]"
expect_rc 0 profile remove goldmissing
# a guest of the profile: its disk from the golden image of gold@1 (deploy's path).
# A Xen hypervisor cannot run here: lib/fake-xl stands in for xl.
mkdir -p "$T/cfg" "$T/xl"
XENPROV_XL=$XP_SRC/tests/integration/lib/fake-xl XP_FAKE_XL_STATE=$T/xl \
	expect_rc 0 domain create g1 --profile golden1 --config-dir "$T/cfg" --network dhcp
[ "$("$X" image cat "$T/state/disks/g1.img" /usr/share/d05/f01 | sha_of /dev/stdin)" = "$before_f01" ] ||
	fail "the guest of gold@1 does not hold version 1's file"
"$X" image ls "$T/state/disks/g1.img" /usr/share/d05 | grep -qx new && fail "the guest of gold@1 has version 2's file"
ok
# a guest's name as the source: its disk, read without mounting
expect_rc 0 image capture g1 --name fromguest --json
json_ok "$T/stdout" "j['image'] == 'fromguest@1' and j['source'] == 'g1'"
FG=$T/state/images/captures/fromguest/1/root
[ "$(sha_of "$FG/usr/share/d05/f01")" = "$before_f01" ] || fail "the guest's capture lacks version 1's file"
[ "$(cat "$FG/etc/hostname")" = g1 ] || fail "the guest's capture has not the guest's hostname"
[ ! -s "$FG/etc/machine-id" ] || fail "the guest's machine-id was captured"
ok
expect_rc 1 image rm gold@1
# the guest too: the inventory records the version its disk holds (domain_images)
err_has "gold@1 is in use (by profile golden1, guest g1)"
expect_rc 1 image rm gold@2
err_has "gold@2 is in use (by profile goldlatest)"
expect_rc 2 image rm gold
err_has "not NAME@V"
expect_rc 0 image rm gold@1 --force
[ ! -e "$T/state/images/captures/gold/1" ] || fail "gold@1 is still there"
[ "$(sha_of "$V2/usr/share/d01/f01")" = "$(sha_of "$GT/usr/share/d01/f01")" ] ||
	fail "removing version 1 harmed version 2"
# version 2 whole without version 1: its tree listed afresh is its manifest, and an
# image built from it is clean
expect_rc 0 image capture "$V2" --name afterrm -q
cmp "$M2" "$T/state/images/captures/afterrm/1/manifest" ||
	fail "gold@2 without gold@1 is not what it was: $(diff "$M2" "$T/state/images/captures/afterrm/1/manifest" | head -5)"
expect_rc 0 image build --from gold@2 -o "$T/v2r.img" --label none -q
e2fsck -fn "$T/v2r.img" >"$T/fsck" 2>&1 || fail "e2fsck -fn of v2r.img: $(cat "$T/fsck")"
ok
expect_rc 1 image rm gold@1
err_has "image 'gold' has no version 1"
expect_rc 0 image versions gold --json
json_ok "$T/stdout" "[v['version'] for v in j] == [2]"

# ---- a local directory's second capture: xenprov's own walk skips what did not change -------
# The tree is made two seconds before its first capture, so its ctimes are older than
# that capture's start less a second: the second capture links what did not change
# without rsync (--json's skipped) and gives rsync the rest. Two directories swapped
# whose files keep size, mode, owner and mtime are caught (the srcindex records each
# directory's inode); what the exclusions left out stays out; the result is a fresh
# full capture's, to the nanosecond, xattrs and ACLs included.
KT=$T/skiptree
mkdir -p "$KT/etc" "$KT/usr/a" "$KT/usr/b" "$KT/tmp/junk" "$KT/keep" "$KT/s1" "$KT/s2"
for i in 1 2 3 4 5 6; do
	head -c 3000 /dev/urandom >"$KT/usr/a/f$i"
	head -c 100 /dev/urandom >"$KT/usr/b/g$i"
done
head -c 700 /dev/urandom >"$KT/s1/f"
head -c 700 /dev/urandom >"$KT/s2/f"
touch -r "$KT/s1/f" "$KT/s2/f"
echo junk >"$KT/tmp/junk/y"
echo 0123456789abcdef >"$KT/etc/machine-id"
ln "$KT/usr/a/f1" "$KT/usr/b/hl"
ln -s ../a/f2 "$KT/usr/b/sl"
setfattr -n user.golden -v yes "$KT/usr/a/f2"
setfacl -m u:1000:rwx "$KT/keep" && setfacl -d -m u:1000:rwx "$KT/keep"
echo k >"$KT/keep/k"
sleep 2.1
expect_rc 0 image capture "$KT" --name skip --json
json_ok "$T/stdout" "j['image'] == 'skip@1' and j['skipped'] == 0"
K1=$T/state/images/captures/skip/1/root
[ -s "$T/state/images/captures/skip/1/srcindex" ] || fail "no srcindex for the next capture"
s1_sha=$(sha_of "$KT/s1/f")
s2_sha=$(sha_of "$KT/s2/f")
# the changes: one file rewritten, one added, one removed, the swap, an excluded file added
head -c 3000 /dev/urandom >"$KT/usr/a/f3"
echo new >"$KT/usr/b/new"
rm "$KT/usr/a/f4"
mv "$KT/s1" "$KT/s0" && mv "$KT/s2" "$KT/s1" && mv "$KT/s0" "$KT/s2"
echo more >"$KT/tmp/junk/z"
expect_rc 0 image capture "$KT" --name skip --json
# unchanged and linked by the walk: f2 f5 f6 g1-g6 sl machine-id(recreated, so not) hl f1
json_ok "$T/stdout" "j['image'] == 'skip@2' and j['skipped'] >= 10 and j['new_bytes'] == 3000 + 4 + 1400"
K2=$T/state/images/captures/skip/2/root
KD=$T/state/images/captures/skip/2/delta
# ---- lazy versions: the second capture writes only a delta, checked out on first read ----
# no tree yet; the delta's own usage is about the change (the 3000 + 4 + 1400 bytes sent,
# a block each, plus the directories the delta needs: /, /etc, /usr, /usr/a, /usr/b,
# /s1, /s2 and their entries)
[ ! -e "$K2" ] || fail "skip@2's tree was made by its capture"
[ -d "$KD" ] || fail "skip@2 has no delta"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["parent"] != 1)' \
	"$T/state/images/captures/skip/2/meta.json" || fail "skip@2's meta.json does not name its parent"
kd_kb=$(du -sk "$K1" "$KD" | sed -n 2p | cut -f1)
kd_n=$(find "$KD" | wc -l)
[ "$kd_kb" -le 64 ] && [ "$kd_n" -le 16 ] ||
	fail "skip@2's delta is $kd_kb KiB, $kd_n entries, for a change of 5 KiB: $(cd "$KD" && find . | head -20)"
[ ! -e "$KD/usr/a/f5" ] && [ ! -e "$KD/keep" ] || fail "the delta holds unchanged entries"
echo "skip@2's delta: $kd_kb KiB, $kd_n entries"
# a reader checks it out (image build --from, as deploy and profiles take an image)
expect_rc 0 image build --from skip@2 -o "$T/skip2.img" --label none -q
[ -d "$K2" ] || fail "image build --from skip@2 did not check it out"
[ -z "$(ls -A "$T/state/images/captures/skip" | grep 'root.tmp')" ] || fail "a checkout left its temporary"
e2fsck -fn "$T/skip2.img" >"$T/fsck" 2>&1 || fail "e2fsck -fn of skip2.img: $(cat "$T/fsck")"
ok
[ "$(stat -c %i "$K1/usr/a/f5")" = "$(stat -c %i "$K2/usr/a/f5")" ] || fail "an unchanged file was not linked"
[ "$(stat -c %i "$K2/usr/a/f1")" = "$(stat -c %i "$K2/usr/b/hl")" ] || fail "the skip lost a hard link"
[ "$(sha_of "$K2/usr/a/f3")" = "$(sha_of "$KT/usr/a/f3")" ] || fail "the rewritten file was not captured"
[ "$(sha_of "$K2/s1/f")" = "$s2_sha" ] && [ "$(sha_of "$K2/s2/f")" = "$s1_sha" ] ||
	fail "the swapped directories were taken for the old ones"
[ ! -e "$K2/usr/a/f4" ] && [ -e "$K2/usr/b/new" ] || fail "the removed or added file is wrong"
[ -z "$(ls -A "$K2/tmp")" ] || fail "the skip captured what /tmp/* excludes: $(ls -A "$K2/tmp")"
[ ! -s "$K2/etc/machine-id" ] || fail "the skip captured /etc/machine-id's content"
expect_rc 0 image capture "$KT" --name skipfresh -q
KF=$T/state/images/captures/skipfresh/1/root
cmp "$T/state/images/captures/skip/2/manifest" "$T/state/images/captures/skipfresh/1/manifest" ||
	fail "skip@2 differs from a full capture: $(diff "$T/state/images/captures/skip/2/manifest" "$T/state/images/captures/skipfresh/1/manifest" | head -5)"
tree_of() { (cd "$1" && find . -printf '%P %y %m %U %G %s %T@ %l\n' | sort && getfattr -R -d -m - -h . 2>/dev/null); }
[ "$(tree_of "$K2")" = "$(tree_of "$KF")" ] ||
	fail "skip@2's tree is not a full capture's: $(diff <(tree_of "$K2") <(tree_of "$KF") | head -5)"
ok
# other exclusion options: nothing is skipped, and the new pattern holds
expect_rc 0 image capture "$KT" --name skip --exclude /usr/b/g1 --json
json_ok "$T/stdout" "j['image'] == 'skip@3' and j['skipped'] == 0"
[ ! -e "$T/state/images/captures/skip/3/root/usr/b/g1" ] || fail "--exclude was ignored"
ok

# ---- lazy versions: a delta on a delta, image rm of a parent, an interrupted checkout ----
# lazy@2 is a delta on lazy@1 and lazy@3 one on lazy@2 (rsync links to lazy@1's tree,
# the nearest there is); image rm lazy@1 checks out lazy@2 first; lazy@3 is then checked
# out from lazy@2's tree; a checkout killed (kill -9) in the middle leaves no tree that
# is used, and the next reader makes it whole. Each equals a fresh full capture.
ZT=$T/lazytree
mkdir -p "$ZT/etc" "$ZT/usr/a" "$ZT/usr/b" "$ZT/var"
for i in 1 2 3 4 5 6 7 8; do head -c 2000 /dev/urandom >"$ZT/usr/a/f$i"; done
ln "$ZT/usr/a/f1" "$ZT/usr/b/hl"
setfattr -n user.z -v 1 "$ZT/usr/a/f2"
setfacl -m u:1000:rx "$ZT/usr/b"
sleep 2.1
expect_rc 0 image capture "$ZT" --name lazy -q
Z=$T/state/images/captures/lazy
sleep 1.1
head -c 2000 /dev/urandom >"$ZT/usr/a/f3"
chmod 0700 "$ZT/var"
expect_rc 0 image capture "$ZT" --name lazy --json
# f2 f4-f8 unchanged (f1 and hl, a hard-link group, go to rsync, which makes it in the delta)
json_ok "$T/stdout" "j['image'] == 'lazy@2' and j['skipped'] == 6 and j['root'] is None and j['parent'] == 1"
[ ! -e "$Z/2/root" ] || fail "lazy@2's tree was made by its capture"
sleep 1.1
rm "$ZT/usr/a/f4"
echo n >"$ZT/usr/b/new"
setfattr -n user.z -v 2 "$ZT/usr/a/f2"
expect_rc 0 image capture "$ZT" --name lazy --json
# f5-f8 (f3 changed just before capture 2 began: checked again)
json_ok "$T/stdout" "j['image'] == 'lazy@3' and j['skipped'] == 4"
[ ! -e "$Z/2/root" ] && [ ! -e "$Z/3/root" ] || fail "lazy@3's capture checked out lazy@2"
expect_rc 0 image capture "$ZT" --name lazyfresh -q
cmp "$Z/3/manifest" "$T/state/images/captures/lazyfresh/1/manifest" ||
	fail "lazy@3 differs from a full capture: $(diff "$Z/3/manifest" "$T/state/images/captures/lazyfresh/1/manifest" | head -5)"
expect_rc 0 image rm lazy@1
[ -d "$Z/2/root" ] && [ ! -e "$Z/3/root" ] || fail "image rm lazy@1 did not check out lazy@2 (only)"
# a checkout killed half made: XENPROV_TEST_CHECKOUT_STALL (tests only) makes it wait,
# its entries made, before the directories' attributes and the rename
XENPROV_TEST_CHECKOUT_STALL=30 "$X" image diff lazy@2 lazy@3 >/dev/null 2>&1 &
kpid=$!
for i in $(seq 100); do [ -d "$Z/.3.root.tmp" ] && break; sleep 0.1; done
[ -d "$Z/.3.root.tmp" ] || fail "the stalled checkout did not start"
sleep 0.5
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
[ ! -e "$Z/3/root" ] || fail "a killed checkout left a tree in use"
expect_rc 0 image build --from lazy@3 -o "$T/lazy3.img" --label none -q
[ -d "$Z/3/root" ] && [ ! -e "$Z/.3.root.tmp" ] || fail "the checkout after a killed one"
e2fsck -fn "$T/lazy3.img" >"$T/fsck" 2>&1 || fail "e2fsck -fn of lazy3.img: $(cat "$T/fsck")"
ZF=$T/state/images/captures/lazyfresh/1/root
[ "$(tree_of "$Z/3/root")" = "$(tree_of "$ZF")" ] ||
	fail "lazy@3's tree is not a full capture's: $(diff <(tree_of "$Z/3/root") <(tree_of "$ZF") | head -5)"
[ "$(stat -c %i "$Z/3/root/usr/a/f1")" = "$(stat -c %i "$Z/3/root/usr/b/hl")" ] || fail "lazy@3 lost a hard link"
getfacl -pn "$Z/3/root/usr/b" 2>/dev/null | grep -q '^user:1000:r-x' || fail "lazy@3 lost an ACL"
expect_rc 0 image diff lazy@2 lazy@3 --json
# f2's only change is an xattr: a change all the same
json_ok "$T/stdout" "set(e['path'] for e in j) == {'/usr/a/f2', '/usr/a/f4', '/usr/b/new'}"
json_ok "$T/stdout" "[e['change'] for e in j if e['path'] == '/usr/a/f2'] == ['changed']"
# a capture without the skip (other exclusion options) on a lazy version checks it out
# for rsync's --link-dest first; nothing changed, so both equal the fresh capture
expect_rc 0 image capture "$ZT" --name lazy -q
[ -d "$Z/4/delta" ] && [ ! -e "$Z/4/root" ] || fail "lazy@4 is not a lazy version"
expect_rc 0 image capture "$ZT" --name lazy --exclude /usr/a/f8 --json
json_ok "$T/stdout" "j['image'] == 'lazy@5' and j['skipped'] == 0"
[ -d "$Z/4/root" ] && [ -d "$Z/5/root" ] && [ ! -e "$Z/5/delta" ] || fail "lazy@5 without the skip"
[ "$(tree_of "$Z/4/root")" = "$(tree_of "$ZF")" ] || fail "lazy@4 checked out by a capture differs"
[ "$(stat -c %i "$Z/4/root/usr/a/f5")" = "$(stat -c %i "$Z/5/root/usr/a/f5")" ] ||
	fail "lazy@5 does not share unchanged files with lazy@4"
ok

# ---- a lazy version's first reader who cannot make its tree -------------------------------
# lazyu@2 is lazy (a local tree captured twice). A user who cannot write the store
# (nobody, as a server running as its own user reads root's store) is told that the
# version is not checked out yet and what it takes, by image diff, image update and
# image build --from alike, and nothing is left; once root has read it, nobody reads it
# as it is. A reference whose checkout fails for another reason (here: a directory
# owned by a uid that a user namespace does not map, so its owner cannot be set,
# EINVAL) is that checkout's own error, not "neither NAME, NAME@V nor a directory".
UT=$T/lazyuser
mkdir -p "$UT/etc" "$UT/owned" "$UT/usr"
for i in 1 2 3; do echo "u$i" >"$UT/usr/f$i"; done
echo o >"$UT/owned/f"
chown 1234:1234 "$UT/owned"
sleep 2.1
expect_rc 0 image capture "$UT" --name lazyu -q
sleep 1.1
echo changed >"$UT/usr/f2"
expect_rc 0 image capture "$UT" --name lazyu --json
json_ok "$T/stdout" "j['image'] == 'lazyu@2' and j['root'] is None and j['parent'] == 1"
U=$T/state/images/captures/lazyu
[ -d "$U/2/delta" ] && [ ! -e "$U/2/root" ] || fail "lazyu@2 is not a lazy version"
chmod o+rx "$T/state" "$T/state/images" "$T/state/images/captures"
# as_nobody ARGS...: xenprov ARGS as user nobody (no groups), its output in $T/stdout and $T/err
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$X" "$@" >"$T/stdout" 2>"$T/err" </dev/null
	rc=$?
	! grep -q -E 'Sanitizer|runtime error' "$T/err" || fail "xenprov $* as nobody: sanitizer report"
}
for cmd in "image diff lazyu@1 lazyu@2" "image build --from lazyu@2 -o $T/nobody.img --label none -q"; do
	# shellcheck disable=SC2086 # words
	as_nobody $cmd
	[ "$rc" = 1 ] || fail "xenprov $cmd as nobody: exit $rc, want 1"
	err_has "version 2 of lazyu is not checked out yet and this user cannot write the image store $T/state/images/captures"
	err_has "hint: run the command once as root or as the store's owner (uid 0)"
	err_lacks "neither NAME"
	[ ! -e "$U/2/root" ] && [ ! -e "$U/.2.root.tmp" ] && [ ! -e "$T/nobody.img" ] ||
		fail "xenprov $cmd as nobody left something"
done
# a directory owned by an unmapped uid: the checkout's own error (exit 1), in the words
# of the checkout, and nothing left
if unshare --user --map-root-user true 2>/dev/null; then
	for cmd in "image diff lazyu@1 lazyu@2" "image update --to lazyu@2 noguest"; do
		# shellcheck disable=SC2086 # words
		unshare --user --map-root-user "$X" $cmd >"$T/stdout" 2>"$T/err" </dev/null
		rc=$?
		[ "$rc" = 1 ] || fail "xenprov $cmd, its checkout failing: exit $rc, want 1"
		err_has "/owned: cannot check out lazyu@2: Invalid argument"
		err_lacks "neither NAME"
		[ ! -e "$U/2/root" ] && [ ! -e "$U/.2.root.tmp" ] || fail "the failed checkout left something"
	done
else
	echo "note: no user namespace here: a checkout failing with EINVAL not tried"
fi
# not a reference at all: the usage error, still
expect_rc 2 image diff lazyu@1 'no good@1'
err_has "'no good@1' is neither NAME, NAME@V nor a directory"
# root reads it (its checkout), then nobody reads it as it is
expect_rc 0 image diff lazyu@1 lazyu@2
[ -d "$U/2/root" ] || fail "root's image diff did not check lazyu@2 out"
as_nobody image diff lazyu@1 lazyu@2
[ "$rc" = 0 ] || fail "image diff as nobody after the checkout: exit $rc: $(cat "$T/err")"
out_has "/usr/f2"
ok

json_run_checks
echo "PASS: image-capture ($n checks)"
