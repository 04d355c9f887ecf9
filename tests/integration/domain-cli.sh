#!/bin/bash
# domain-cli.sh - end-to-end test of `xenprov domain` through the real program: a profile
# made with `xenprov profile add`, guests created with file and qcow2 storage in a scratch
# state directory and config directory, list/show (text and --json), the configs passed
# through `xenprov config check` and `config get`, the disks checked with qemu-img, two
# guests' root and swap UUIDs (blkid) new and their own in fstab and the config, then
# every refusal (duplicate name, a MAC or IP already taken, bad override values, a
# missing image, an exhausted pool, lvm without device-mapper, start without Xen) exits 1
# with a clear message and leaves nothing behind; delete removes what create made.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need qemu-img python3 tar cmp
"$X" profile -h >/dev/null 2>&1 || skip "this xenprov has no profile command"
scratch root/etc/network root/bin cfg
export XENPROV_STATE_DIR=$T/state
S=$T/state
C="--config-dir $T/cfg"
# the set of guests' files and inventory rows is exactly what is expected
inventory() { "$X" domain list --json | python3 -c 'import json,sys; print(" ".join(d["name"] for d in json.load(sys.stdin)))'; }
expect_state() {
	local want_names=$1 want_files=$2 got
	got=$(inventory)
	[ "$got" = "$want_names" ] || fail "inventory holds '$got', want '$want_names'"
	got=$( (cd "$T" && ls cfg; ls "$S/disks" 2>/dev/null) | sort | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want_files" ] || fail "files are '$got', want '$want_files'"
	ok
}

# a tiny root
r=$T/root
echo guest >"$r/etc/hostname"
echo '/dev/xvda1 / ext4 defaults 0 1' >"$r/etc/fstab"
echo 'root:*:19000:0:99999:7:::' >"$r/etc/shadow"
printf 'auto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
printf '#!/bin/sh\n' >"$r/bin/sh"
chmod 755 "$r/bin/sh"
echo kernel >"$T/vmlinuz-xen" # a kernel on this host for --boot kernel
tar -C "$r" --numeric-owner -czf "$T/root.tar.gz" .

expect_rc 0 profile add web --image "$T/root.tar.gz" --disk-size 64M --memory 256 \
	--ip-pool 10.20.0.0/29 --gateway 10.20.0.1 --bridge br0
expect_rc 0 profile add dyn --image "$T/root.tar.gz" --disk-size 64M --network dhcp

# usage
expect_rc 2 domain
expect_rc 2 domain create
expect_rc 2 domain create a1
expect_rc 2 domain create a1 --profile web --bogus
expect_rc 2 domain create a1 b1 --profile web
expect_rc 2 domain create a1 --profile web --mac-prefix 01:00
expect_rc 2 domain show
expect_rc 0 domain create -h
grep -q -- '--storage' "$T/stdout" || fail "create -h lacks the overrides"; ok
expect_rc 0 domain list
[ ! -s "$T/stdout" ] || fail "an empty list prints something"; ok

# file storage from the pool
expect_rc 0 domain create a1 --profile web $C
grep -q 'a1: created: file disk' "$T/stdout" || fail "create a1 says: $(cat "$T/stdout")"; ok
expect_rc 0 domain show a1 --json
python3 - "$T/stdout" "$S" "$T/cfg" <<'EOF' || fail "show a1 --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == "a1" and d["state"] == "ready" and d["storage"] == "file", d
assert d["ip"] == "10.20.0.2" and d["prefix"] == 29, d
assert d["mac"].startswith("00:16:3e:"), d
assert d["disk"] == sys.argv[2] + "/disks/a1.img", d
assert d["config"] == sys.argv[3] + "/a1.cfg", d
assert d["settings"]["memory"] == "256", d
assert d["golden"].startswith(sys.argv[2] + "/images/"), d
EOF
ok
mac1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mac"])' "$T/stdout")
golden=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["golden"])' "$T/stdout")
# a copy of the golden image, then made a1's own: same size, its own hostname
[ "$(stat -c %s "$S/disks/a1.img")" = "$(stat -c %s "$golden")" ] || fail "a1.img is not the golden image's size"; ok
cmp -s "$S/disks/a1.img" "$golden" && fail "a1.img was not customised"; ok
[ "$("$X" image cat "$S/disks/a1.img" /etc/hostname)" = a1 ] || fail "a1's hostname"; ok
[ "$(stat -c %b "$S/disks/a1.img")" -lt $((32 * 1024 * 2)) ] || fail "a1.img is not sparse"; ok
expect_rc 0 config check "$T/cfg/a1.cfg"
expect_rc 0 config get "$T/cfg/a1.cfg" memory
[ "$(cat "$T/stdout")" = 256 ] || fail "memory is $(cat "$T/stdout")"; ok
expect_rc 0 config get "$T/cfg/a1.cfg" vif
grep -q "mac=$mac1,bridge=br0,ip=10.20.0.2" "$T/stdout" || fail "vif is $(cat "$T/stdout")"; ok
expect_rc 0 config get "$T/cfg/a1.cfg" disk
grep -q "format=raw,vdev=xvda,access=rw,target=$S/disks/a1.img" "$T/stdout" || fail "disk is $(cat "$T/stdout")"; ok
expect_rc 0 config get "$T/cfg/a1.cfg" bootloader
[ "$(cat "$T/stdout")" = pygrub ] || fail "bootloader is $(cat "$T/stdout")"; ok

# qcow2 storage, overrides, an address asked for
expect_rc 0 domain create a2 --profile web $C --storage qcow2 --memory 1G --vcpus 2 \
	--ip 10.20.0.5 --config.on_crash preserve --set config.maxmem=2048
expect_rc 0 config check "$T/cfg/a2.cfg"
qemu-img check -q "$S/disks/a2.qcow2" || fail "qemu-img check a2.qcow2"; ok
qemu-img info --output=json "$S/disks/a2.qcow2" >"$T/info" || fail "qemu-img info"
python3 - "$T/info" "$golden" <<'EOF' || fail "a2.qcow2's backing file"
import json, sys
i = json.load(open(sys.argv[1]))
assert i["format"] == "qcow2" and i["backing-filename"] == sys.argv[2], i
assert i["backing-filename-format"] == "raw" and i["virtual-size"] == 64 << 20, i
EOF
ok
for kv in memory=1024 vcpus=2 on_crash=preserve maxmem=2048; do
	expect_rc 0 config get "$T/cfg/a2.cfg" "${kv%%=*}"
	[ "$(cat "$T/stdout")" = "${kv#*=}" ] || fail "${kv%%=*} is $(cat "$T/stdout")"; ok
done
expect_rc 0 config get "$T/cfg/a2.cfg" disk
grep -q "format=qcow2,vdev=xvda,access=rw,target=$S/disks/a2.qcow2" "$T/stdout" || fail "disk is $(cat "$T/stdout")"; ok
# the golden image was built once
[ "$(ls "$S/images" | wc -l)" = 1 ] || fail "more than one golden image: $(ls "$S/images")"; ok

# dhcp: no ip= at all
expect_rc 0 domain create d1 --profile dyn $C --storage qcow2
expect_rc 0 config get "$T/cfg/d1.cfg" vif
grep -q 'ip=' "$T/stdout" && fail "a dhcp guest has an ip: $(cat "$T/stdout")"; ok

# clones are machines of their own: each guest's root filesystem and swap area have new
# UUIDs (blkid), which its fstab and the kernel command line of its config name
# uuids IMAGE: "ROOT SWAP", the UUIDs blkid reads in the first and second partitions
uuids() {
	local img=$1 raw=$T/uuids.raw starts
	if [ "$(qemu-img info --output=json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')" = qcow2 ]; then
		qemu-img convert -O raw "$img" "$raw" || return 1
		img=$raw
	fi
	starts=$(sfdisk -J "$img" | python3 -c 'import json,sys; print(" ".join(str(p["start"] * 512) for p in json.load(sys.stdin)["partitiontable"]["partitions"]))')
	set -- $starts
	echo "$(blkid -p -o value -s UUID -O "$1" "$img") $(blkid -p -o value -s UUID -O "$2" "$img")"
	e2fsck -fn "$img?offset=$1" >/dev/null 2>&1 || { e2fsck -fn "$img?offset=$1"; return 1; }
	rm -f "$raw"
}
if command -v blkid >/dev/null && command -v sfdisk >/dev/null && command -v e2fsck >/dev/null; then
	expect_rc 0 profile add sw --image "$T/root.tar.gz" --disk-size 64M --swap 8M --network dhcp \
		--boot kernel --kernel "$T/vmlinuz-xen"
	expect_rc 0 domain create u1 --profile sw $C
	expect_rc 0 domain show u1 --json
	ugolden=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["golden"])' "$T/stdout")
	read -r groot gswap <<<"$(uuids "$ugolden")" || fail "the golden image's UUIDs"
	[ ${#groot} = 36 ] && [ ${#gswap} = 36 ] || fail "golden UUIDs '$groot' '$gswap'"; ok
	# the kernel command line names the golden image's root: each guest's config its own
	expect_rc 0 domain create u2 --profile sw $C --storage qcow2 --root "UUID=$groot" \
		--extra "console=hvc0 resume=UUID=$gswap"
	read -r r1 s1 <<<"$(uuids "$S/disks/u1.img")" || fail "u1's UUIDs"
	read -r r2 s2 <<<"$(uuids "$S/disks/u2.qcow2")" || fail "u2's UUIDs"
	for u in "$r1" "$s1" "$r2" "$s2"; do [ ${#u} = 36 ] || fail "a guest UUID is '$u'"; done; ok
	[ "$(printf '%s\n' "$groot" "$gswap" "$r1" "$s1" "$r2" "$s2" | sort -u | wc -l)" = 6 ] ||
		fail "UUIDs shared: golden $groot $gswap, u1 $r1 $s1, u2 $r2 $s2"; ok
	for g in u1:img:$r1:$s1 u2:qcow2:$r2:$s2; do
		IFS=: read -r name ext ru su <<<"$g"
		"$X" image cat "$S/disks/$name.$ext" /etc/fstab >"$T/fstab" || fail "$name's fstab"
		grep -Eq "^UUID=$ru[[:space:]]+/[[:space:]]+ext4" "$T/fstab" || fail "$name's fstab root: $(cat "$T/fstab")"; ok
		grep -Eq "^UUID=$su[[:space:]]+none[[:space:]]+swap" "$T/fstab" || fail "$name's fstab swap: $(cat "$T/fstab")"; ok
	done
	expect_rc 0 config get "$T/cfg/u2.cfg" root
	[ "$(cat "$T/stdout")" = "UUID=$r2" ] || fail "u2's root is $(cat "$T/stdout"), want UUID=$r2"; ok
	expect_rc 0 config get "$T/cfg/u2.cfg" extra
	[ "$(cat "$T/stdout")" = "console=hvc0 resume=UUID=$s2" ] || fail "u2's extra is $(cat "$T/stdout")"; ok
	expect_rc 0 domain delete u1 u2
	expect_rc 0 profile remove sw
else
	echo "note: no blkid, sfdisk or e2fsck: the clones' UUIDs are not checked"
fi

# --ssh-key: a file of keys, a key line, --set ssh-key=LINE; a bad key refused
KED='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKiK/h2GYqBgjLlLC+3hboiqYEb6siXBvibcrFrvnj7p ed@test'
KSK='sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fAAAADnNzaDo= sk@test'
printf '# two keys\n%s\n\n%s\n' "$KED" "$KSK" >"$T/keys.pub"
expect_rc 0 domain create k1 --profile dyn $C --storage qcow2 --ssh-key "$T/keys.pub"
[ "$("$X" image cat "$S/disks/k1.qcow2" /root/.ssh/authorized_keys)" = "$KED
$KSK" ] || fail "k1's authorized_keys"; ok
expect_rc 0 domain create k2 --profile dyn $C --storage qcow2 --ssh-key "$KED"
[ "$("$X" image cat "$S/disks/k2.qcow2" /root/.ssh/authorized_keys)" = "$KED" ] || fail "k2's authorized_keys"; ok
expect_rc 0 domain create k3 --profile dyn $C --storage qcow2 --set "ssh-key=$KSK"
[ "$("$X" image cat "$S/disks/k3.qcow2" /root/.ssh/authorized_keys)" = "$KSK" ] || fail "k3's authorized_keys"; ok
expect_rc 1 domain create k4 --profile dyn $C --ssh-key "$T/nosuch.pub"
err_has "ssh-key: '$T/nosuch.pub' is neither an existing file nor an SSH public key line"
expect_rc 1 domain create k4 --profile dyn $C --ssh-key 'ssh-ed25519 AAAA x'
err_has "ssh-key: not an SSH public key"
printf '%s\nnot a key\n' "$KED" >"$T/bad.pub"
expect_rc 1 domain create k4 --profile dyn $C --set "ssh-key=$T/bad.pub"
err_has "$T/bad.pub:2: ssh-key: line 2 is not an SSH public key"
[ ! -e "$S/disks/k4.img" ] && [ ! -e "$T/cfg/k4.cfg" ] || fail "a refused k4 left files"; ok
# the record's root password hash is a secret: shown only with --secrets
SH='$6$saltsalt$SecretHashSecretHashSecretHash'
expect_rc 0 domain create k5 --profile dyn $C --storage qcow2 --root-password-hash "$SH"
"$X" image cat "$S/disks/k5.qcow2" /etc/shadow | grep -qF "root:$SH:" || fail "k5's root hash"; ok
expect_rc 0 domain show k5
grep -qF 'SecretHash' "$T/stdout" && fail "domain show prints the hash: $(cat "$T/stdout")"; ok
grep -qF 'root-password-hash = (secret: --secrets shows it)' "$T/stdout" || fail "show k5: $(cat "$T/stdout")"; ok
expect_rc 0 domain show k5 --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["withheld"]==["root-password-hash"] and "root-password-hash" not in d["settings"], d' "$T/stdout" ||
	fail "show k5 --json: $(cat "$T/stdout")"; ok
expect_rc 0 domain list --json
grep -qF 'SecretHash' "$T/stdout" && fail "domain list --json prints the hash"; ok
expect_rc 0 domain show k5 --json --secrets
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["settings"]["root-password-hash"]==sys.argv[2] and d["withheld"]==[], d' "$T/stdout" "$SH" ||
	fail "show k5 --json --secrets: $(cat "$T/stdout")"; ok
expect_rc 2 domain list --secrets
expect_rc 0 domain delete k1 k2 k3 k5

expect_rc 0 domain list
[ "$(wc -l <"$T/stdout")" = 4 ] || fail "list: $(cat "$T/stdout")"; ok
grep -q '^a2 .*qcow2 .*10.20.0.5$' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
grep -q '^d1 .*dhcp$' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
expect_rc 0 domain show a2
grep -q '^ip: *10.20.0.5/29$' "$T/stdout" || fail "show: $(cat "$T/stdout")"; ok
state="a1 a2 d1"
files="a1.cfg a1.img a2.cfg a2.qcow2 d1.cfg d1.qcow2"
expect_state "$state" "$files"

# refusals: exit 1, a clear message, nothing left behind
expect_rc 1 domain create a1 --profile web $C
err_has "a domain 'a1' exists already"
expect_rc 1 domain create b1 --profile web $C --mac "$mac1"
err_has "the MAC $mac1 is taken by domain 'a1'"
expect_rc 1 domain create b1 --profile web $C --mac 00:16:3E:zz:00:01
err_has "is not a MAC address"
expect_rc 1 domain create b1 --profile web $C --ip 10.20.0.2
err_has "the IP 10.20.0.2 is taken by domain 'a1'"
expect_rc 1 domain create b1 --profile web $C --ip 10.20.0.7
err_has "broadcast address"
expect_rc 1 domain create b1 --profile web $C --ip 10.20.0.1
err_has "is the gateway"
expect_rc 1 domain create b1 --profile web $C --memory 1
err_has "memory"
expect_rc 1 domain create b1 --profile web $C --storage zfs
err_has "unknown storage"
expect_rc 1 domain create b1 --profile web $C --vcpus lots
err_has "vcpus"
expect_rc 1 domain create b1 --profile web $C --set colour=blue
err_has "colour"
expect_rc 1 domain create b1 --profile web $C --image "$T/missing.tar.gz"
err_has "No such file or directory"
expect_rc 1 domain create b1 --profile nope $C
err_has "no profile 'nope'"
expect_rc 1 domain create b_1 --profile web $C
err_has "not a valid domain name"
expect_rc 1 domain create b1 --profile web --config-dir "$T/nonexistent"
err_has "does not exist"
expect_rc 1 domain create b1 --profile web $C --storage lvm --pool vg0
err_has "device-mapper"
echo 'name = "b1"' >"$T/cfg/b1.cfg"
expect_rc 1 domain create b1 --profile web $C
err_has "exists already"
grep -q '"b1"' "$T/cfg/b1.cfg" || fail "a foreign config was touched"; ok
rm "$T/cfg/b1.cfg"
expect_state "$state" "$files"

# fill the pool (/29: .1 gateway; .2, .5 taken; .3 .4 .6 free), then one more
expect_rc 0 domain create b1 --profile web $C --storage qcow2
expect_rc 0 domain create b2 --profile web $C --storage qcow2
expect_rc 0 domain create b3 --profile web $C --storage qcow2
for g in b1:10.20.0.3 b2:10.20.0.4 b3:10.20.0.6; do
	expect_rc 0 domain show "${g%%:*}" --json
	grep -q "\"ip\": *\"${g#*:}\"" "$T/stdout" || fail "${g%%:*} is not at ${g#*:}: $(cat "$T/stdout")"; ok
done
expect_rc 1 domain create b4 --profile web $C --storage qcow2
err_has "the ip-pool 10.20.0.0/29 has no free address"
expect_rc 0 domain list --json
python3 - "$T/stdout" <<'EOF' || fail "duplicate MACs or IPs"
import json, sys
l = json.load(open(sys.argv[1]))
macs = [d["mac"] for d in l]; ips = [d["ip"] for d in l if d["ip"]]
assert len(set(macs)) == len(macs) and len(set(ips)) == len(ips), l
EOF
ok
expect_rc 0 config check "$T"/cfg/*.cfg

# start: no Xen here
if command -v xl >/dev/null && [ -e /proc/xen ]; then
	echo "note: a Xen toolstack is present; start is not exercised"
else
	expect_rc 1 domain start a1
	err_has "no Xen toolstack here"
fi
expect_rc 1 domain start nope
err_has "no domain 'nope'"

# delete
expect_rc 0 domain delete b1 b2 b3
expect_rc 0 domain delete d1 --keep-storage
[ -e "$S/disks/d1.qcow2" ] || fail "--keep-storage removed the disk"; ok
rm "$S/disks/d1.qcow2"
expect_rc 1 domain delete d1
err_has "no domain 'd1'"
expect_state "a1 a2" "a1.cfg a1.img a2.cfg a2.qcow2"
expect_rc 0 domain delete a1 a2
expect_state "" ""
[ -e "$golden" ] || fail "the golden image went with the guests"; ok

pass
