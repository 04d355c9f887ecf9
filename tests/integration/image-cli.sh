#!/bin/bash
# image-cli.sh - end-to-end test of `xenprov image` through the real program, checked
# with the real tools: sfdisk (table), e2fsck -fn (filesystem), qemu-img check/info
# (qcow2), blkid (swap); image info/ls/cat read back what was built; the cache; and
# every failure leaves no output file behind.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need sfdisk e2fsck qemu-img blkid python3 tar
scratch root out
no_leftovers() {
	local extra
	extra=$(ls -A "$T/out" | grep -v -x -F -f <(printf '%s\n' "$@") || true)
	[ -z "$extra" ] || fail "left behind in the output directory: $extra"
	ok
}

# a small root: files, a big one with a hole, dirs, symlink, hard link
r=$T/root
mkdir -p "$r/etc" "$r/bin" "$r/var/log" "$r/usr/share/doc"
echo "guest" >"$r/etc/hostname"
printf 'root:x:0:0::/root:/bin/sh\n' >"$r/etc/passwd"
head -c 3000000 /dev/urandom >"$r/usr/share/doc/blob"
ln -s ../usr/share/doc/blob "$r/bin/link"
ln "$r/etc/hostname" "$r/etc/hostname.hard"
truncate -s 5M "$r/var/log/sparse"
echo tail >>"$r/var/log/sparse"
tar -C "$r" --numeric-owner -cSzf "$T/root.tar.gz" .
sum_blob=$(sha256sum <"$r/usr/share/doc/blob" | cut -d' ' -f1)

# usage errors
expect_rc 2 image build
expect_rc 2 image build --from "$T/root.tar.gz"
expect_rc 2 image build --from "$T/root.tar.gz" -o "$T/out/x.img" --size 12Q
expect_rc 2 image build --from "$T/root.tar.gz" -o "$T/out/x.img" --fs xfs
expect_rc 2 image build --from "$T/root.tar.gz" -o "$T/out/x.img" --uuid nope
expect_rc 2 image build --from "$T/root.tar.gz" -o "$T/out/x.img" --bogus
expect_rc 0 image build -h
grep -q -- '--reserved-percent' "$T/stdout" || fail "build -h lacks --reserved-percent"; ok
expect_rc 2 image ls
expect_rc 2 image cat "$T/out/x.img"

# raw, msdos, ext4 (the defaults)
expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --no-cache -q -o "$T/out/a.img"
no_leftovers a.img
[ "$(stat -c %s "$T/out/a.img")" = $((64 * 1024 * 1024)) ] || fail "a.img is not 64 MiB"; ok
[ "$(stat -c %b "$T/out/a.img")" -lt $((40 * 1024 * 2)) ] || fail "a.img is not sparse"; ok
sfdisk -d "$T/out/a.img" >"$T/table" || fail "sfdisk cannot read a.img"
grep -q 'label: dos' "$T/table" || fail "not an msdos table"; ok
grep -q 'start=        2048.*type=83' "$T/table" || { cat "$T/table"; fail "root partition not at 1 MiB, type 83"; }; ok
e2fsck -fn "$T/out/a.img?offset=1048576" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck -fn a.img"; }; ok
expect_rc 0 image info --json "$T/out/a.img"
python3 - "$T/stdout" <<'PY' || fail "image info --json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["format"] == "raw", j
assert j["virtual_size"] == 64 << 20, j
assert j["table"] == "msdos", j
p = j["partitions"][0]
assert p["partition"] == 1 and p["offset"] == 1 << 20 and p["filesystem"] == "ext4", p
assert p["used"] > 8 << 20 and p["free"] > 0, p
PY
ok
expect_rc 0 image ls "$T/out/a.img" /etc
for f in hostname hostname.hard passwd; do grep -qx "$f" "$T/stdout" || fail "ls /etc lacks $f"; ok; done
expect_rc 0 image ls -l "$T/out/a.img" /bin
grep -q 'link -> ../usr/share/doc/blob' "$T/stdout" || fail "ls -l /bin: $(cat "$T/stdout")"; ok
expect_rc 0 image ls --json "$T/out/a.img" /etc/hostname
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))[0]; assert e["nlink"]==2 and e["size"]==6 and e["type"]=="file", e' "$T/stdout" || fail "hard link count"; ok
expect_rc 0 image cat "$T/out/a.img" /etc/hostname
[ "$(cat "$T/stdout")" = guest ] || fail "cat /etc/hostname"; ok
run image cat "$T/out/a.img" /usr/share/doc/blob
[ "$(sha256sum <"$T/stdout" | cut -d' ' -f1)" = "$sum_blob" ] || fail "cat blob: content differs"; ok
expect_rc 1 image cat "$T/out/a.img" /nonexistent
grep -q "nonexistent" "$T/err" || fail "no path in the error"; ok

# qcow2 (from the file name), ext3, gpt, swap
expect_rc 0 image build --from "$T/root.tar.gz" --size 96M --fs ext3 --label gpt --swap 16M --no-cache -q -o "$T/out/b.qcow2"
no_leftovers a.img b.qcow2
qemu-img check "$T/out/b.qcow2" >"$T/check" 2>&1 || { cat "$T/check"; fail "qemu-img check b.qcow2"; }; ok
vs=$(qemu-img info --output=json "$T/out/b.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
[ "$vs" = $((96 * 1024 * 1024)) ] || fail "qcow2 virtual size $vs"; ok
qemu-img convert -O raw "$T/out/b.qcow2" "$T/b.raw" || fail "qemu-img convert"
sfdisk -d "$T/b.raw" >"$T/table" || fail "sfdisk b.raw"
grep -q 'label: gpt' "$T/table" || fail "not gpt"; ok
[ "$(grep -c '^/' "$T/table")" = 2 ] || { cat "$T/table"; fail "want 2 partitions"; }; ok
grep -qi '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F' "$T/table" || fail "no swap partition type"; ok
e2fsck -fn "$T/b.raw?offset=1048576" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck b (ext3)"; }; ok
expect_rc 0 image info --json "$T/out/b.qcow2"
python3 - "$T/stdout" <<'PY' || fail "image info b.qcow2"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["format"] == "qcow2" and j["table"] == "gpt", j
kinds = [p["filesystem"] for p in j["partitions"]]
assert kinds == ["ext3", "swap"], kinds
PY
ok
expect_rc 0 image cat "$T/out/b.qcow2" /etc/passwd
grep -q '^root:x:0:0' "$T/stdout" || fail "cat through qcow2"; ok

# a bare filesystem, ext2
expect_rc 0 image build --from "$T/root.tar.gz" --size 32M --fs ext2 --label none --fs-label guestroot --no-cache -q -o "$T/out/c.img"
e2fsck -fn "$T/out/c.img" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck c.img"; }; ok
[ "$(blkid -o value -s LABEL "$T/out/c.img")" = guestroot ] || fail "fs label"; ok
[ "$(blkid -o value -s TYPE "$T/out/c.img")" = ext2 ] || fail "fs type"; ok

# auto size
expect_rc 0 image build --from "$T/root.tar.gz" --no-cache -q -o "$T/out/d.img"
e2fsck -fn "$T/out/d.img?offset=1048576" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck d.img (auto)"; }; ok

# the cache: a second build is served from it, byte for byte the same
expect_rc 0 image build --from "$T/root.tar.gz" --size 48M --uuid 0a0b0c0d-1111-2222-3333-444455556666 --cache-dir "$T/cache" -q -o "$T/out/e1.img"
expect_rc 0 image build --from "$T/root.tar.gz" --size 48M --uuid 0a0b0c0d-1111-2222-3333-444455556666 --cache-dir "$T/cache" --json -o "$T/out/e2.img"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["cached"] is True' "$T/stdout" || fail "second build not from the cache"; ok
cmp -s "$T/out/e1.img" "$T/out/e2.img" || fail "cached image differs"; ok
expect_rc 0 image build --from "$T/root.tar.gz" --size 48M --uuid 0a0b0c0d-1111-2222-3333-444455556666 --cache-dir "$T/cache" --no-cache --json -o "$T/out/e3.img"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["cached"] is False' "$T/stdout" || fail "--no-cache used the cache"; ok
rm -f "$T/out/"e*.img "$T/out/d.img"

# the swap header covers exactly its partition, whatever the disk size
expect_rc 0 image build --from "$T/root.tar.gz" --size 33M --swap 8M --no-cache -q -o "$T/out/s.img"
python3 - "$T/out/s.img" <<'PY' || fail "swap header size differs from its partition"
import json, subprocess, sys, struct
img = sys.argv[1]
t = json.loads(subprocess.check_output(["sfdisk", "--json", img]))["partitiontable"]
swap = [p for p in t["partitions"] if p["type"] == "82"][0]
off, size = swap["start"] * 512, swap["size"] * 512
with open(img, "rb") as f:
    f.seek(off + 4096 - 10); assert f.read(10) == b"SWAPSPACE2"
    f.seek(off + 1024); version, last_page = struct.unpack("<II", f.read(8))
assert version == 1 and (last_page + 1) * 4096 == size, (last_page, size)
PY
ok
rm -f "$T/out/s.img"
# --headroom 0 means none: smaller than the default 30
expect_rc 0 image build --from "$T/root.tar.gz" --headroom 0 --no-cache -q -o "$T/out/h0.img"
expect_rc 0 image build --from "$T/root.tar.gz" --no-cache -q -o "$T/out/h30.img"
[ "$(stat -c %s "$T/out/h0.img")" -lt "$(stat -c %s "$T/out/h30.img")" ] || fail "--headroom 0 is not smaller than the default"; ok
e2fsck -fn "$T/out/h0.img?offset=1048576" >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "e2fsck h0.img"; }; ok
rm -f "$T/out/h0.img" "$T/out/h30.img"
expect_rc 2 image cat "$T/out/a.img" etc/hostname
expect_rc 2 image build --from "$T/root.tar.gz" --size 1000 -o "$T/out/odd.img"
# a cache that cannot be read only warns
expect_rc 0 image build --from "$T/root.tar.gz" --size 32M --cache-dir "$T/root.tar.gz/sub" -q -o "$T/out/cw.img"
grep -q 'cache' "$T/err" || fail "no warning about the unreadable cache"; ok
rm -f "$T/out/cw.img"

# failures leave nothing behind
expect_rc 1 image build --from "$T/root.tar.gz" --size 4M --no-cache -q -o "$T/out/small.img"
grep -qi 'need' "$T/err" || fail "too small: no size needed in: $(cat "$T/err")"; ok
head -c 20000 "$T/root.tar.gz" >"$T/trunc.tar.gz"
expect_rc 1 image build --from "$T/trunc.tar.gz" --size 64M --no-cache -q -o "$T/out/trunc.img"
python3 - "$T" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
for name, member in (("abs", "/etc/evil"), ("climb", "etc/../../evil")):
    with tarfile.open(f"{d}/{name}.tar", "w") as t:
        data = b"x"
        i = tarfile.TarInfo(member); i.size = 1
        t.addfile(i, io.BytesIO(data))
with tarfile.open(f"{d}/hardlink.tar", "w") as t:
    i = tarfile.TarInfo("etc/link"); i.type = tarfile.LNKTYPE; i.linkname = "etc/missing"
    t.addfile(i)
PY
expect_rc 1 image build --from "$T/abs.tar" --size 16M --no-cache -q -o "$T/out/abs.img"
grep -q '/etc/evil' "$T/err" || fail "absolute path not named: $(cat "$T/err")"; ok
expect_rc 1 image build --from "$T/climb.tar" --size 16M --no-cache -q -o "$T/out/climb.img"
grep -q 'evil' "$T/err" || fail "climbing path not named"; ok
expect_rc 1 image build --from "$T/hardlink.tar" --size 16M --no-cache -q -o "$T/out/hl.img"
grep -q 'missing' "$T/err" || fail "missing hard link target not named"; ok
expect_rc 1 image build --from "$T/nonexistent.tar" --size 16M --no-cache -q -o "$T/out/ne.img"
no_leftovers a.img b.qcow2 c.img

# an existing image is replaced only on success
cp "$T/out/a.img" "$T/a.copy"
expect_rc 1 image build --from "$T/trunc.tar.gz" --size 64M --no-cache -q -o "$T/out/a.img"
cmp -s "$T/out/a.img" "$T/a.copy" || fail "a failed build changed the existing image"; ok
no_leftovers a.img b.qcow2 c.img

pass
