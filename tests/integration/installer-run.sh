#!/bin/bash
# installer-run.sh - `xenprov installer run`, the autoinstall installer's disk work,
# without QEMU: run in a network namespace holding a system's reserved address (the
# boot server issues a token only to the system itself), against `xenprov serve`, with
# the kernel command line taken from the system's rendered iPXE config, onto a disk
# that is a regular file here (--no-bootloader: GRUB and the real block device are
# serve-autoinstall-qemu.sh's):
#   - an image transfer cut short on every try (a proxy that cuts the answers): the
#     install fails and leaves no table behind (a bare image's table comes after it);
#   - a bare filesystem image (profile label none): the msdos table made by the
#     installer with libfdisk, the filesystem in its partition with the system's host
#     name, grown to fill the partition (the whole disk), checked clean, the success
#     event (netboot off, the mark cleared); the image came as a sparse stream (far
#     fewer bytes than its size, the server's log says so), checked against the
#     server's sparse digest (--json digest "sparse": holes not hashed); the same
#     through a proxy that drops ?sparse= (a server older than the stream): the whole
#     image taken, read back and hashed (digest "raw"); through a proxy that flips one
#     data byte of the stream: the sparse digest does not match, the disk read back
#     does not match the SHA-256 either, the install fails saying so and leaves no table;
#     through a proxy that changes the description's sparse digest (as a server whose
#     file's holes moved would not match it): the disk read back matches the SHA-256,
#     installed (digest "readback"), the step saying so;
#   - a partitioned image with swap onto a used disk (garbage under a table): refused without wipe
#     (the failure event with the reason, the disk untouched, the mark kept), then
#     written with --wipe (the image's own table, the swap partition moved to the end
#     of the disk and formatted there, the root partition and filesystem grown up to
#     it, the host name, the fstab naming the swap area's new UUID, no garbage left
#     in the image's holes);
#   - profile grow off: the image's table and filesystem as they were;
#   - data disks (profile data-disk, two disk files): one holding a table refused
#     without wipe before anything is written; then an msdos table and an ext4
#     filesystem filling the first, in the root's fstab by its UUID at its mount point,
#     the second (fs=none) left as it was;
#   - a disk smaller than the image: refused before anything is written;
#   - a system whose kernel options name its disk and allow wipe
#     (xenprov.target-disk=, xenprov.wipe=1): that disk written over;
#   - an image with a kernel and no GRUB, with the boot loader: the install fails at
#     that step saying so (read without mounting), after the edits wrote its grub.cfg;
#   - UEFI (--firmware uefi): a partitioned image with swap made a GPT keeping root and
#     swap, with a FAT32 EFI system partition (its type GUID, fsck.vfat clean) at the
#     end of the disk, the swap partition moved up to it and the root grown up to that
#     (e2fsck clean, the filesystem's size); a bare image into a GPT with root and the
#     ESP, its filesystem grown to fill the root partition; a
#     disk with no room for the ESP refused; a profile with label gpt on a BIOS machine:
#     a BIOS boot partition too; an image with GRUB for BIOS only: refused on UEFI;
#   - the golden images are published with the token only (no profile here publishes
#     openly): the installer gets its own profile's image with its install token (the
#     install grant); probed: that token for another profile or another profile's image,
#     from another system's address, naming another system or none, a wrong token and
#     the token of an attempt that ended are each refused.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need curl sfdisk debugfs e2fsck blkid dumpe2fs fsck.vfat

srv_settings
srv_set pool.p.range 10.79.0.100-10.79.0.150
srv_set pool.p.netmask 255.255.255.0
mkdir -p "$T/root/etc/network" "$T/root/root"
echo golden >"$T/root/etc/hostname"
printf 'root:*:19000:0:99999:7:::\n' >"$T/root/etc/shadow"
printf 'auto lo\niface lo inet loopback\n' >"$T/root/etc/network/interfaces"
tar -C "$T/root" --numeric-owner -czf "$T/root.tgz" . || fail "tar"
mkdir -p "$T/root/boot" && echo kernel >"$T/root/boot/vmlinuz-6.1.0-9-amd64" &&
	echo initrd >"$T/root/boot/initrd.img-6.1.0-9-amd64" || fail "kernel"
tar -C "$T/root" --numeric-owner -czf "$T/kern.tgz" . || fail "tar"
# GRUB for BIOS only: a grub-install, no /usr/lib/grub/x86_64-efi
mkdir -p "$T/root/usr/sbin" && printf '#!/bin/sh\nexit 0\n' >"$T/root/usr/sbin/grub-install" &&
	chmod 755 "$T/root/usr/sbin/grub-install" || fail "grub-install"
tar -C "$T/root" --numeric-owner -czf "$T/bios.tgz" . || fail "tar"
echo kernel >"$T/vmlinuz"
"$X" distro add plain --kernel "$T/vmlinuz" >/dev/null || fail "distro add"
"$X" profile add bare --image "$T/root.tgz" --disk-size 32M --label none \
	--distro plain >/dev/null 2>"$T/err" || fail "profile add bare: $(cat "$T/err")"
"$X" profile add part --image "$T/root.tgz" --disk-size 32M --swap 8M --distro plain >/dev/null 2>"$T/err" ||
	fail "profile add part: $(cat "$T/err")"
"$X" profile add kern --image "$T/kern.tgz" --disk-size 32M --distro plain >/dev/null 2>"$T/err" ||
	fail "profile add kern: $(cat "$T/err")"
"$X" profile add keep --parent part --grow off >/dev/null 2>"$T/err" ||
	fail "profile add keep: $(cat "$T/err")"
"$X" profile add data --parent part --data-disk 16M,mount=/srv/data \
	--data-disk 16M,fs=none >/dev/null 2>"$T/err" || fail "profile add data: $(cat "$T/err")"
"$X" profile add gptp --image "$T/root.tgz" --disk-size 32M --label gpt --distro plain \
	>/dev/null 2>"$T/err" || fail "profile add gptp: $(cat "$T/err")"
"$X" profile add biosgrub --image "$T/bios.tgz" --disk-size 32M --distro plain \
	>/dev/null 2>"$T/err" || fail "profile add biosgrub: $(cat "$T/err")"
"$X" system add theta --mac 52:54:00:ac:00:08 --ip 10.79.0.67 --profile biosgrub --install on \
	>/dev/null || fail "system add theta"
"$X" system add epsilon --mac 52:54:00:ac:00:05 --ip 10.79.0.64 --profile part --install on \
	>/dev/null || fail "system add epsilon"
"$X" system add zeta --mac 52:54:00:ac:00:06 --ip 10.79.0.65 --profile bare --install on \
	>/dev/null || fail "system add zeta"
"$X" system add eta --mac 52:54:00:ac:00:07 --ip 10.79.0.66 --profile gptp --install on \
	>/dev/null || fail "system add eta"
"$X" system add gamma --mac 52:54:00:ac:00:03 --ip 10.79.0.62 --profile kern --install on \
	>/dev/null || fail "system add gamma"
"$X" system add alpha --mac 52:54:00:ac:00:01 --ip 10.79.0.60 --profile bare --install on \
	>/dev/null || fail "system add alpha"
"$X" system add beta --mac 52:54:00:ac:00:02 --ip 10.79.0.61 --profile part --install on \
	--hostname beta-host >/dev/null || fail "system add beta"
# the operator's own words for the installer's disk: taken (the server's are refused)
"$X" system add delta --mac 52:54:00:ac:00:04 --ip 10.79.0.63 --profile part --install on \
	--kernel-options "console=ttyS0 xenprov.target-disk=$T/d.img xenprov.wipe=1" >/dev/null \
	2>"$T/err" || fail "system add delta: $(cat "$T/err")"
ok
srv_ns 10.79.0.1/24
client_add c1 52:54:00:ac:00:01
ip -n c1 addr add 10.79.0.60/24 dev eth0
client_add c2 52:54:00:ac:00:02
ip -n c2 addr add 10.79.0.61/24 dev eth0
client_add c3 52:54:00:ac:00:03
ip -n c3 addr add 10.79.0.62/24 dev eth0
client_add c4 52:54:00:ac:00:04
ip -n c4 addr add 10.79.0.63/24 dev eth0
for i in 5 6 7 8; do
	client_add c$i 52:54:00:ac:00:0$i
	ip -n c$i addr add 10.79.0.6$((i - 1))/24 dev eth0
done
srv_start --http
U=http://10.79.0.1:8080

# cmdline NS MAC: the system's iPXE config, asked from its own address, its installer
# kernel's words into $T/cmdline (a fresh token each time)
cmdline() {
	ip netns exec "$1" curl -sf --max-time 10 -o "$T/ipxe" "$U/ipxe/01-${2//:/-}" ||
		fail "no iPXE config for $2"
	grep -o 'xenprov\.[a-z-]*=[^ ]*' "$T/ipxe" | tr '\n' ' ' >"$T/cmdline"
	grep -q 'xenprov.token=[0-9a-f]\{64\}' "$T/cmdline" || fail "no token: $(cat "$T/ipxe")"
}
# run NS ARGS...: installer run in NS, its status; output in $T/out, $T/err
run() {
	local ns=$1
	shift
	ip netns exec "$ns" "$X" installer run --cmdline "$T/cmdline" "$@" >"$T/out" 2>"$T/err"
}
# via PORT IMG: alpha installed onto a new blank 64M disk IMG through the proxy on PORT
# (below), --json; its status
via() {
	truncate -s 64M "$2"
	cmdline c1 52:54:00:ac:00:01
	http_proxy=http://127.0.0.1:$1 run c1 --disk "$2" --no-bootloader --json
}
log() { wait_until 10 grep -qF -- "$1" "$T/serve.log" || fail "the server's log lacks '$1'"; }
# part IMG N: partition N's start and size in sectors ("START SIZE"), from sfdisk
part() {
	sfdisk -J "$1" | python3 -c 'import json,sys; p=[q for q in json.load(sys.stdin)["partitiontable"]["partitions"] if q["node"].endswith(sys.argv[1])][0]; print(p["start"], p["size"])' "$2"
}
# fs_of IMG N OUT: partition N of IMG copied to OUT, checked clean by e2fsck -fn
fs_of() {
	local at
	at=($(part "$1" "$2")) || fail "no partition $2 in $1"
	dd if="$1" of="$3" bs=512 skip="${at[0]}" count="${at[1]}" status=none
	e2fsck -fn "$3" >"$T/fsck" 2>&1 || fail "e2fsck $1 partition $2: $(cat "$T/fsck")"
}
# fs_bytes FS: the filesystem's size as dumpe2fs reads it (block count x block size)
fs_bytes() {
	dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Block count/ {c = $2} /^Block size/ {s = $2}
		END {print c * s}'
}

# ---- a transfer cut short: no table left behind ------------------------------------------
# an HTTP proxy in alpha's namespace (libcurl takes http_proxy; the server still sees
# alpha's address) that passes every request on but, on port 3128, cuts each image
# answer after 3000 bytes of its body, so that every try of the installer's comes
# short; on port 3129 it drops the image requests' query (?sparse=FROM), as a server
# older than the sparse stream would ignore it; on port 3130 it flips one bit of each
# image answer's 200th body byte (the first extent's data: past the stream's header and
# first record, and the chunk size line); on port 3131 it answers the image's
# description with another sparse digest (zeros)
cat >"$T/cutproxy.py" <<'PY'
import re, socket, sys, threading
def flip(data):
    b = bytearray(data)
    b[data.index(b"\r\n\r\n") + 4 + 200] ^= 0x01
    return bytes(b)
def other_digest(data):
    return re.sub(rb'("sparse_sha256": *")[0-9a-f]{64}"', rb'\g<1>' + b"0" * 64 + b'"', data)
def pump(c):
    f = c.makefile("rb")
    line = f.readline().decode()
    method, url, ver = line.split()
    rest = url.split("://", 1)[1]
    hostport, path = rest.split("/", 1)
    host, port = hostport.split(":")
    hdrs, length = [], 0
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k = h.split(b":", 1)[0].lower()
        if k == b"content-length":
            length = int(h.split(b":", 1)[1])
        if k not in (b"proxy-connection", b"connection"):
            hdrs.append(h)
    body = f.read(length) if length else b""
    if strip and path.startswith("images/"):
        path = path.split("?", 1)[0]
    u = socket.create_connection((host, int(port)))
    u.sendall(("%s /%s HTTP/1.1\r\n" % (method, path)).encode() + b"".join(hdrs) +
              b"Connection: close\r\n\r\n" + body)
    edit = None
    if mode == "flip" and path.startswith("images/"):
        edit = flip
    if mode == "digest" and path.startswith("api/profiles/") and path.endswith("/image"):
        edit = other_digest
    if edit:  # the whole answer read, edited, passed on
        data = b""
        while True:
            d = u.recv(65536)
            if not d:
                break
            data += d
        c.sendall(edit(data))
        u.close()
        c.close()
        return
    cut = mode == "cut" and path.startswith("images/")
    got, head = b"", None
    while True:
        d = u.recv(65536)
        if not d:
            break
        if cut and head is None:
            got += d
            if b"\r\n\r\n" in got:
                head = got.index(b"\r\n\r\n") + 4
                d, got = got, b""
            else:
                continue
        c.sendall(d if not cut else d[: max(0, head + 3000 - len(got))])
        if cut:
            got += d
            if len(got) >= head + 3000:
                break
    u.close()
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
mode = sys.argv[2]
strip = mode == "strip"
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    threading.Thread(target=pump, args=(c,), daemon=True).start()
PY
ip netns exec c1 python3 "$T/cutproxy.py" 3128 cut &
PIDS+=($!)
ip netns exec c1 python3 "$T/cutproxy.py" 3129 strip &
PIDS+=($!)
ip netns exec c1 python3 "$T/cutproxy.py" 3130 flip &
PIDS+=($!)
ip netns exec c1 python3 "$T/cutproxy.py" 3131 digest &
PIDS+=($!)
for port in 3128 3129 3130 3131; do
	wait_until 10 ip netns exec c1 curl -s -o /dev/null --max-time 1 -x "http://127.0.0.1:$port" "$U/" ||
		fail "the proxy on $port did not start"
done
truncate -s 64M "$T/a.img"
cmdline c1 52:54:00:ac:00:01
http_proxy=http://127.0.0.1:3128 run c1 --disk "$T/a.img" --no-bootloader &&
	fail "an image cut short was installed"
grep -qF "the image came short" "$T/err" || fail "cut short: $(cat "$T/err")"
log "install: system 'alpha' (10.79.0.60): failure image: "
# the bare image's table comes after the image: none on the disk, the next attempt
# goes ahead without wipe (below)
[ "$(head -c 1024 "$T/a.img" | tr -d '\0' | wc -c)" = 0 ] || fail "a table before the image"
ok

# ---- a bare filesystem: partitioned here ------------------------------------------------------
cmdline c1 52:54:00:ac:00:01
run c1 --disk "$T/a.img" --no-bootloader --json || fail "installer run (bare): $(cat "$T/err")"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["partitioned"] is True and j["profile"] == "bare" and j["image_size"] == 32 << 20 and j["root_size"] == 63 << 20, j' "$T/out" ||
	fail "json: $(cat "$T/out")"
# the image came as a sparse stream: its data only, far less than its 32 MiB
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["sparse"] is True and 0 < j["received"] < 8 << 20 and j["digest"] == "sparse", j' "$T/out" ||
	fail "not a sparse transfer: $(cat "$T/out")"
log "to 10.79.0.60: sparse from 0 of 33554432, with its system's install token"
ok
# a server that ignores ?sparse= (the proxy drops it) answers the whole image: taken,
# with the table fetched first and the disk read back and hashed, as before the stream
"$X" system edit alpha --netboot on --install on >/dev/null || fail "system edit alpha"
via 3129 "$T/o.img" ||
	fail "installer run (an older server): $(cat "$T/err")"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["sparse"] is False and j["root_size"] == 63 << 20 and j["digest"] == "raw", j' "$T/out" ||
	fail "json (an older server): $(cat "$T/out")"
log "to 10.79.0.60: bytes 0-33554431 of 33554432, with its system's install token"
fs_of "$T/o.img" 1 "$T/o.fs"
[ "$(debugfs -R 'cat /etc/hostname' "$T/o.fs" 2>/dev/null)" = alpha ] || fail "alpha's host name (older server)"
log "install: system 'alpha' (10.79.0.60): success done: bare installed on $T/a.img"
"$X" system show alpha >"$T/show" || fail "system show"
grep -qE '^install +off$' "$T/show" && grep -qE '^netboot +off$' "$T/show" || fail "alpha: $(cat "$T/show")"
ok
sfdisk -d "$T/a.img" >"$T/table" || fail "no table"
grep -q '^label: dos' "$T/table" && grep -q 'a.img1 : start= *2048' "$T/table" &&
	! grep -q 'a.img2' "$T/table" || fail "the table: $(cat "$T/table")"
[ "$(part "$T/a.img" 1)" = "2048 129024" ] || fail "alpha's partition: $(part "$T/a.img" 1)"
fs_of "$T/a.img" 1 "$T/a.fs"
# the 32M image's filesystem grown to the whole partition (63M of the 64M disk)
[ "$(fs_bytes "$T/a.fs")" = $((63 << 20)) ] || fail "alpha's root not grown: $(fs_bytes "$T/a.fs")"
[ "$(debugfs -R 'cat /etc/hostname' "$T/a.fs" 2>/dev/null)" = alpha ] || fail "alpha's host name"
ok
# a byte flipped on the way (the proxy): neither the sparse digest nor, read back, the
# SHA-256 matches; the install fails saying so, before the table is made
"$X" system edit alpha --netboot on --install on >/dev/null || fail "system edit alpha"
via 3130 "$T/flip.img" &&
	fail "an image with a flipped byte was installed"
grep -qF "does not match its sparse digest" "$T/err" && grep -qF "reading the disk back" "$T/err" &&
	grep -qF "the image received does not match its SHA-256" "$T/err" ||
	fail "flipped byte: $(cat "$T/err")"
log "install: system 'alpha' (10.79.0.60): failure image: "
grep -F "install: system 'alpha' (10.79.0.60): failure image: " "$T/serve.log" |
	grep -qF "does not match its SHA-256" || fail "the failure event lacks the reason"
[ "$(head -c 1024 "$T/flip.img" | tr -d '\0' | wc -c)" = 0 ] || fail "a table after a corrupt image"
sfdisk -d "$T/flip.img" >/dev/null 2>&1 && fail "a table after a corrupt image: $(sfdisk -d "$T/flip.img")"
ok
# a sparse digest that does not match (the proxy changes it): the disk read back holds
# the image of the SHA-256, installed
via 3131 "$T/rb.img" ||
	fail "installer run (another sparse digest): $(cat "$T/err")"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["sparse"] is True and j["digest"] == "readback", j' "$T/out" ||
	fail "json (another sparse digest): $(cat "$T/out")"
grep -qF "does not match its sparse digest 000000000000" "$T/err" && grep -qF "reading the disk back" "$T/err" ||
	fail "the fallback not told: $(cat "$T/err")"
fs_of "$T/rb.img" 1 "$T/rb.fs"
[ "$(debugfs -R 'cat /etc/hostname' "$T/rb.fs" 2>/dev/null)" = alpha ] || fail "alpha's host name (read back)"
ok

# ---- a disk with a table: refused, then --wipe ----------------------------------------------
# a used disk: garbage everywhere under its table, which the image's holes must not keep
python3 -c 'open(__import__("sys").argv[1], "wb").write(b"GARBAGE!" * (8 << 20))' "$T/b.img" &&
	echo 'label: dos' | sfdisk -q "$T/b.img" || fail "sfdisk"
before=$(sha256sum <"$T/b.img")
cmdline c2 52:54:00:ac:00:02
run c2 --disk "$T/b.img" --no-bootloader && fail "a disk with a table was written over without wipe"
grep -qF "already holds a partition table: not written over without wipe" "$T/err" || fail "refusal: $(cat "$T/err")"
log "install: system 'beta' (10.79.0.61): failure disk: $T/b.img already holds a partition table"
[ "$(sha256sum <"$T/b.img")" = "$before" ] || fail "the refused disk changed"
"$X" system show beta | grep -qE '^install +on$' || fail "beta's mark went with the failure"
ok
truncate -s 16M "$T/small.img"
cmdline c2 52:54:00:ac:00:02
run c2 --disk "$T/small.img" --no-bootloader && fail "a disk smaller than the image was taken"
grep -qF "the disk holds 16777216 bytes, the image is 33554432" "$T/err" || fail "small: $(cat "$T/err")"
[ "$(head -c 16M "$T/small.img" | tr -d '\0' | wc -c)" = 0 ] || fail "the small disk was written"
ok
cmdline c2 52:54:00:ac:00:02
run c2 --disk "$T/b.img" --no-bootloader --wipe || fail "installer run --wipe: $(cat "$T/err")"
log "install: system 'beta' (10.79.0.61): success done: part installed"
sfdisk -d "$T/b.img" >"$T/table"
grep -q '^label: dos' "$T/table" && grep -q 'b.img2 .*type=82' "$T/table" || fail "beta's table: $(cat "$T/table")"
# the 8M swap partition moved to the end of the 64M disk, the root grown up to it
[ "$(part "$T/b.img" 1)" = "2048 112640" ] && [ "$(part "$T/b.img" 2)" = "114688 16384" ] ||
	fail "beta's partitions: $(cat "$T/table")"
fs_of "$T/b.img" 1 "$T/b.fs"
[ "$(fs_bytes "$T/b.fs")" = $((55 << 20)) ] || fail "beta's root not grown: $(fs_bytes "$T/b.fs")"
[ "$(blkid -p -o value -s TYPE -O $((114688 * 512)) "$T/b.img")" = swap ] || fail "no swap area at the end"
suuid=$(blkid -p -o value -s UUID -O $((114688 * 512)) "$T/b.img")
debugfs -R 'cat /etc/fstab' "$T/b.fs" 2>/dev/null | grep -qP "^UUID=$suuid\tnone\tswap\t" ||
	fail "the fstab lacks the moved swap area $suuid: $(debugfs -R 'cat /etc/fstab' "$T/b.fs" 2>/dev/null | tr '\n' '|')"
[ "$(debugfs -R 'cat /etc/hostname' "$T/b.fs" 2>/dev/null)" = beta-host ] || fail "beta's host name"
# the image's 32 MiB hold no garbage: its holes were made zeros on the disk
[ "$(head -c 32M "$T/b.img" | grep -c GARBAGE)" = 0 ] || fail "garbage left in the image's holes"
ok

# ---- the disk and wipe from the system's kernel options --------------------------------------
truncate -s 64M "$T/d.img" && echo 'label: dos' | sfdisk -q "$T/d.img" || fail "sfdisk"
cmdline c4 52:54:00:ac:00:04
grep -qF "xenprov.target-disk=$T/d.img" "$T/cmdline" || fail "delta's command line: $(cat "$T/cmdline")"
run c4 --no-bootloader || fail "installer run (delta): $(cat "$T/err")"
log "install: system 'delta' (10.79.0.63): success done: part installed on $T/d.img"
ok

# ---- grow off: the image's own sizes ------------------------------------------------------
"$X" system edit delta --profile keep --netboot on --install on >/dev/null || fail "system edit delta"
truncate -s 64M "$T/k.img"
cmdline c4 52:54:00:ac:00:04
run c4 --disk "$T/k.img" --no-bootloader --json || fail "installer run (keep): $(cat "$T/err")"
[ "$(part "$T/k.img" 1)" = "2048 47104" ] && [ "$(part "$T/k.img" 2)" = "49152 16384" ] ||
	fail "grow off moved the partitions: $(sfdisk -d "$T/k.img")"
fs_of "$T/k.img" 1 "$T/k.fs"
[ "$(fs_bytes "$T/k.fs")" = $((23 << 20)) ] || fail "grow off grew the root: $(fs_bytes "$T/k.fs")"
ok

# ---- data disks -------------------------------------------------------------------------
"$X" system edit delta --profile data --netboot on --install on \
	--kernel-options console=ttyS0 >/dev/null || fail "system edit delta"
truncate -s 64M "$T/r.img" "$T/e2.img"
truncate -s 32M "$T/e1.img" && echo 'label: dos' | sfdisk -q "$T/e1.img" || fail "sfdisk"
cmdline c4 52:54:00:ac:00:04
run c4 --disk "$T/r.img" --data-disk "$T/e1.img" --data-disk "$T/e2.img" --no-bootloader &&
	fail "a data disk holding a table was written over without wipe"
grep -qF "$T/e1.img already holds a partition table" "$T/err" || fail "data refusal: $(cat "$T/err")"
log "install: system 'delta' (10.79.0.63): failure disk: $T/e1.img already holds a partition table"
[ "$(tr -d '\0' <"$T/r.img" | wc -c)" = 0 ] || fail "the root disk was written before the data disks were checked"
ok
truncate -s 0 "$T/e1.img" && truncate -s 32M "$T/e1.img"
cmdline c4 52:54:00:ac:00:04
run c4 --disk "$T/r.img" --data-disk "$T/e1.img" --data-disk "$T/e2.img" --no-bootloader ||
	fail "installer run (data): $(cat "$T/err")"
log "install: system 'delta' (10.79.0.63): success done: data installed on $T/r.img"
sfdisk -d "$T/e1.img" | grep -q '^label: dos' && [ "$(part "$T/e1.img" 1)" = "2048 63488" ] ||
	fail "the data disk's table: $(sfdisk -d "$T/e1.img")"
fs_of "$T/e1.img" 1 "$T/e1.fs"
[ "$(fs_bytes "$T/e1.fs")" = $((31 << 20)) ] || fail "the data filesystem: $(fs_bytes "$T/e1.fs")"
duuid=$(blkid -p -o value -s UUID "$T/e1.fs")
fs_of "$T/r.img" 1 "$T/r.fs"
debugfs -R 'cat /etc/fstab' "$T/r.fs" 2>/dev/null | grep -qP "^UUID=$duuid\t/srv/data\text4\t" ||
	fail "the fstab lacks the data disk $duuid: $(debugfs -R 'cat /etc/fstab' "$T/r.fs" 2>/dev/null | tr '\n' '|')"
[ "$(tr -d '\0' <"$T/e2.img" | wc -c)" = 0 ] || fail "the fs=none data disk was written"
ok

# ---- no GRUB in the image -------------------------------------------------------------------
truncate -s 64M "$T/c.img"
cmdline c3 52:54:00:ac:00:03
run c3 --disk "$T/c.img" --target "$T/mnt" && fail "an image without GRUB was installed"
grep -qF "the image has no GRUB (no grub-install): it cannot boot this machine" "$T/err" ||
	fail "no GRUB: $(cat "$T/err")"
log "install: system 'gamma' (10.79.0.62): failure bootloader: the image has no GRUB"
[ ! -e "$T/mnt" ] || fail "something was mounted for an image without GRUB"
fs_of "$T/c.img" 1 "$T/c.fs"
debugfs -R 'cat /boot/grub/grub.cfg' "$T/c.fs" 2>/dev/null | grep -q 'linux /boot/vmlinuz-6.1.0-9-amd64 root=UUID=' ||
	fail "no grub.cfg from the edits"
ok

# ---- UEFI: a GPT with an EFI system partition ----------------------------------------------
ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
# part_of IMG N FIELD: start or size of partition N in sfdisk -d's dump of IMG
part_of() { sfdisk -d "$1" | sed -n "s/.*${1##*/}$2 : .*$3= *\([0-9]*\).*/\1/p"; }
# esp_ok IMG N: partition N is an ESP, clean FAT32 at the end of the disk
esp_ok() {
	grep -q "${1##*/}$2 : .*type=$ESP" "$T/table" || fail "no ESP as partition $2: $(cat "$T/table")"
	dd if="$1" of="$T/esp.fs" bs=512 skip="$(part_of "$1" "$2" start)" \
		count="$(part_of "$1" "$2" size)" status=none
	[ "$(blkid -p -o value -s VERSION "$T/esp.fs")" = FAT32 ] || fail "the ESP is not FAT32"
	fsck.vfat -n "$T/esp.fs" >"$T/fsck" 2>&1 || fail "fsck.vfat: $(cat "$T/fsck")"
	[ $(($(part_of "$1" "$2" start) + $(part_of "$1" "$2" size))) -eq $((127 * 2048)) ] ||
		fail "the ESP does not end the disk: $(cat "$T/table")"
}
# a disk with no room for the ESP beside the image: refused
truncate -s 64M "$T/e.img"
cmdline c5 52:54:00:ac:00:05
run c5 --disk "$T/e.img" --no-bootloader --firmware uefi && fail "no room for the ESP, yet installed"
grep -qF "cannot make a GPT with an EFI system partition" "$T/err" || fail "no room: $(cat "$T/err")"
log "install: system 'epsilon' (10.79.0.64): failure firmware:"
# refused before anything was written: the disk is still blank (its next attempt needs
# no wipe)
cmp -s -n $((64 << 20)) "$T/e.img" /dev/zero || fail "the refused disk was written"
ok
truncate -s 128M "$T/e.img"
cmdline c5 52:54:00:ac:00:05
run c5 --disk "$T/e.img" --no-bootloader --firmware uefi --json ||
	fail "installer run (uefi): $(cat "$T/err")"
grep -q '"uefi": *true' "$T/out" || fail "json: $(cat "$T/out")"
log "install: system 'epsilon' (10.79.0.64): progress firmware"
log "install: system 'epsilon' (10.79.0.64): success done: part installed on $T/e.img"
sfdisk -d "$T/e.img" >"$T/table" || fail "no table"
grep -q '^label: gpt' "$T/table" && grep -q 'e.img1 : start= *2048,.*type=0FC63DAF' "$T/table" &&
	grep -q 'e.img2 : .*type=0657FD6D' "$T/table" || fail "epsilon's table: $(cat "$T/table")"
esp_ok "$T/e.img" 3
sstart=$(part_of "$T/e.img" 2 start)
[ "$(blkid -p -o value -s TYPE -O $((sstart * 512)) "$T/e.img")" = swap ] || fail "the swap area moved"
# the ESP at the disk's end stays: the 8M swap partition moved up to it (63 MiB), the
# root partition and filesystem grown up to the swap partition
[ "$(part "$T/e.img" 1)" = "2048 110592" ] && [ "$(part "$T/e.img" 2)" = "112640 16384" ] ||
	fail "epsilon's root not grown up to the ESP: $(cat "$T/table")"
dd if="$T/e.img" of="$T/e.fs" bs=512 skip=2048 count="$(part_of "$T/e.img" 1 size)" status=none
e2fsck -fn "$T/e.fs" >"$T/fsck" 2>&1 || fail "e2fsck: $(cat "$T/fsck")"
[ "$(fs_bytes "$T/e.fs")" = $((54 << 20)) ] || fail "epsilon's root fs not grown: $(fs_bytes "$T/e.fs")"
[ "$(debugfs -R 'cat /etc/hostname' "$T/e.fs" 2>/dev/null)" = epsilon ] || fail "epsilon's host name"
ok
# a bare image: root and the ESP made here
truncate -s 128M "$T/z.img"
cmdline c6 52:54:00:ac:00:06
run c6 --disk "$T/z.img" --no-bootloader --firmware uefi || fail "installer run (uefi, bare): $(cat "$T/err")"
sfdisk -d "$T/z.img" >"$T/table" || fail "no table"
grep -q '^label: gpt' "$T/table" && grep -q 'z.img1 : start= *2048,.*type=0FC63DAF' "$T/table" ||
	fail "zeta's table: $(cat "$T/table")"
esp_ok "$T/z.img" 2
# the root partition from 1 MiB up to the ESP (63 MiB), its filesystem grown to fill it
[ "$(part "$T/z.img" 1)" = "2048 126976" ] || fail "zeta's root partition: $(cat "$T/table")"
dd if="$T/z.img" of="$T/z.fs" bs=512 skip=2048 count=126976 status=none
e2fsck -fn "$T/z.fs" >"$T/fsck" 2>&1 || fail "e2fsck: $(cat "$T/fsck")"
[ "$(fs_bytes "$T/z.fs")" = $((62 << 20)) ] || fail "zeta's root fs not grown: $(fs_bytes "$T/z.fs")"
ok
# label gpt on a BIOS machine: a BIOS boot partition for GRUB's core image too
truncate -s 128M "$T/g.img"
cmdline c7 52:54:00:ac:00:07
run c7 --disk "$T/g.img" --no-bootloader --firmware bios || fail "installer run (gpt, bios): $(cat "$T/err")"
sfdisk -d "$T/g.img" >"$T/table" || fail "no table"
grep -q 'g.img2 : .*type=21686148-6449-6E6F-744E-656564454649' "$T/table" ||
	fail "no BIOS boot partition: $(cat "$T/table")"
esp_ok "$T/g.img" 3
# an image with GRUB for BIOS only, on UEFI: the failure says so, nothing mounted
truncate -s 128M "$T/t.img"
cmdline c8 52:54:00:ac:00:08
run c8 --disk "$T/t.img" --firmware uefi --target "$T/mnt8" && fail "no GRUB for UEFI, yet installed"
grep -qF "the image has no GRUB for UEFI (no /usr/lib/grub/x86_64-efi)" "$T/err" ||
	fail "no GRUB for UEFI: $(cat "$T/err")"
log "install: system 'theta' (10.79.0.67): failure bootloader: the image has no GRUB for UEFI"
[ ! -e "$T/mnt8" ] || fail "something was mounted for an image without GRUB for UEFI"
run c7 --disk "$T/g.img" --firmware efi && fail "--firmware efi taken"
grep -qF "'efi' is not a firmware: bios or uefi" "$T/err" || fail "--firmware efi: $(cat "$T/err")"
ok

# ---- the install grant, probed -----------------------------------------------------------
# gamma's failure ended its attempt: the token it used is dead, the next boot's is live
old_tok=$(sed -n 's/.*xenprov\.token=\([0-9a-f]*\).*/\1/p' "$T/cmdline")
cmdline c3 52:54:00:ac:00:03
tok=$(sed -n 's/.*xenprov\.token=\([0-9a-f]*\).*/\1/p' "$T/cmdline")
[ -n "$tok" ] && [ "$tok" != "$old_tok" ] || fail "no new token after the failed attempt"
ok
# code NS TOKEN SYSTEM PATH: the HTTP status of a GET of PATH from NS with those
code() {
	local h=()
	[ -n "$3" ] && h=(-H "X-Xenprov-System: $3")
	ip netns exec "$1" curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -r 0-99 \
		-H "Authorization: Bearer $2" "${h[@]}" "$U$4"
}
[ "$(code c3 "$tok" gamma /api/profiles/kern/image)" = 200 ] || fail "the grant: $(cat "$T/body")"
hkern=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T/body") ||
	fail "the image's description"
[ "$(code c3 "$tok" gamma "/images/$hkern")" = 206 ] || fail "the grant's image: $(cat "$T/body")"
ok
api=$(cat "$T/state/api-token")
[ "$(code c1 "$api" "" /api/profiles/part/image)" = 200 ] || fail "the API token: $(cat "$T/body")"
hpart=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T/body")
for probe in "c3 $tok gamma /api/profiles/part/image" "c3 $tok gamma /images/$hpart" \
	"c4 $tok gamma /api/profiles/kern/image" "c4 $tok gamma /images/$hkern" \
	"c3 $tok beta /api/profiles/kern/image" "c3 $tok - /api/profiles/kern/image" \
	"c3 $tok - /images/$hkern" "c3 $old_tok gamma /api/profiles/kern/image" \
	"c3 $old_tok gamma /images/$hkern" \
	"c3 $(printf '0%.0s' $(seq 64)) gamma /api/profiles/kern/image" \
	"c3 ${tok}00 gamma /images/$hkern" "c3 $tok ../gamma /images/$hkern"; do
	set -- $probe
	sys=$3
	[ "$sys" = - ] && sys=
	got=$(code "$1" "$2" "$sys" "$4")
	[ "$got" = 401 ] || fail "probe '$probe': $got, want 401: $(cat "$T/body")"
done
ok
pass
