#!/bin/bash
# domain-devices.sh - richer guests end to end through the real program: a profile with
# two data disks (ext4 mounted at /srv, and one left raw), a swap volume and a second
# NIC, then `domain create` on file and qcow2 storage, from a systemd-networkd tree and
# a Debian-like tree (ifupdown, systemd-udevd):
#  - the config passes `xenprov config check --host` clean, and Xen's own libxlutil
#    (xlu-check) reads every disk at its vdev (xvda root, xvdb, xvdc data, xvdd swap)
#    and both vifs with their MACs, bridges and addresses;
#  - e2fsck -fn passes the data disk, blkid reads on it and on the swap volume the UUIDs
#    the guest's fstab (read with `xenprov image cat`) names, nofail, and /srv is made;
#    the raw data disk holds nothing, the files are sparse;
#  - the guest's network files (networkd: a .network per NIC; Debian: a .link per NIC
#    and both stanzas in /etc/network/interfaces) name both MACs with their addresses,
#    the default route only on the first;
#  - qcow2 storage: each further disk a fresh qcow2 image (no backing file) that
#    `qemu-img check` passes, holding the same filesystem and UUIDs;
#  - fs=xfs made by mkfs.xfs (xfs_repair -n, blkid), where xfsprogs is installed;
#  - `domain diff` finds no drift on such guests, `domain update` rewrites their
#    network files with the second NIC kept, a changed data-disk is "recreate";
#  - refusals (a bad item, lvm here without device-mapper, a NIC pool with no address
#    left) exit 1 with a clear message and leave no volume; delete removes every
#    volume, `deploy --rollback` too.
#
# Run by CTest with XENPROV, XP_SRC, XP_TMP and XP_XLU_CHECK. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
XLU=${XP_XLU_CHECK:-}
need e2fsck blkid qemu-img python3 tar
[ -x "$XLU" ] || skip "no xlu-check (libxlutil) tool"
scratch cfg roots
export XENPROV_STATE_DIR=$T/state
S=$T/state
C=(--config-dir "$T/cfg")
# has FILE LINE: FILE holds the line LINE
has() { grep -qxF -- "$2" "$1" || { sed 's/^/  | /' "$1"; fail "$(basename "$1") lacks the line '$2'"; }; ok; }
# field JSON-FILE EXPR: a value of the JSON in the file (parsed as d)
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# cat_guest DISK PATH: the guest's file into $T/got
cat_guest() { "$X" image cat "$1" "$2" >"$T/got" 2>"$T/err" || fail "image cat $1 $2"; }
# uuid DEV: what blkid reads there
uuid() { blkid -p -s UUID -o value "$1"; }

# ---- the golden trees --------------------------------------------------------------------

R=$T/roots
for os in nd deb; do
	mkdir -p "$R/$os/etc/systemd/network" "$R/$os/usr/bin" "$R/$os/usr/lib/systemd" "$R/$os/root"
	ln -s usr/bin "$R/$os/bin" && ln -s usr/lib "$R/$os/lib" || fail "symlinks"
	echo golden >"$R/$os/etc/hostname"
	echo 'root:*:19000:0:99999:7:::' >"$R/$os/etc/shadow"
	echo '/dev/xvda1 / ext4 defaults 0 1' >"$R/$os/etc/fstab"
	printf '#!/bin/sh\n' >"$R/$os/usr/bin/sh" && chmod 755 "$R/$os/usr/bin/sh"
	printf 'ELF' >"$R/$os/usr/lib/systemd/systemd"
done
# Debian 12: ifupdown beside systemd-udevd
mkdir -p "$R/deb/etc/network/interfaces.d"
printf 'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n' \
	>"$R/deb/etc/network/interfaces"
printf 'ELF' >"$R/deb/usr/lib/systemd/systemd-udevd"
for os in nd deb; do
	tar -C "$R/$os" --numeric-owner -czf "$T/$os.tar.gz" . || fail "tar $os"
done

# ---- the profile -------------------------------------------------------------------------

expect_rc 0 profile add dev --image "$T/nd.tar.gz" --disk-size 64M --ip-pool 10.50.0.0/24 \
	--gateway 10.50.0.1 --dns 10.50.0.53 --bridge xenbr0 \
	--data-disk 64M,mount=/srv --data-disk 32M,fs=none --swap-disk 16M \
	--nic bridge=xenbr1,ip-pool=10.51.0.0/29
expect_rc 0 profile show dev --json
json_ok "$T/stdout" 'j["settings"]["data-disk"] == "64M,fs=ext4,mount=/srv\n32M,fs=none"'
json_ok "$T/stdout" 'j["settings"]["swap-disk"] == str(16 << 20)'
json_ok "$T/stdout" 'j["settings"]["nic"] == "bridge=xenbr1,network=static,ip-pool=10.51.0.0/29"'
expect_rc 0 profile add dev-deb --parent dev --image "$T/deb.tar.gz"
# bad items: refused with the item's place and why, nothing stored
expect_rc 1 profile add bad --parent dev --data-disk 8M
err_has "data-disk: item 1: an ext4 data disk needs at least 16M (got '8M')"
expect_rc 1 profile add bad --parent dev --nic bridge=xenbr1 --nic network=static
err_has "nic: item 2: bridge= is required (got 'network=static')"
expect_rc 1 profile add bad --parent dev --data-disk 1G,mount=/srv --data-disk 2G,mount=/srv
err_has "data-disk: items 1 and 2: the same mount point /srv"
expect_rc 1 profile show bad

# ---- file storage, systemd-networkd --------------------------------------------------------

expect_rc 0 domain create g1 --profile dev "${C[@]}" --json
cp "$T/stdout" "$T/g1.json"
json_ok "$T/g1.json" '[k["vdev"] for k in j["disks"]] == ["xvdb", "xvdc", "xvdd"]'
json_ok "$T/g1.json" '[k["role"] for k in j["disks"]] == ["data", "data", "swap"]'
json_ok "$T/g1.json" '[k["fs"] for k in j["disks"]] == ["ext4", "none", "swap"]'
json_ok "$T/g1.json" 'j["disks"][0]["mount"] == "/srv" and j["disks"][1]["uuid"] is None'
json_ok "$T/g1.json" 'j["nics"][0]["devid"] == 1 and j["nics"][0]["bridge"] == "xenbr1"'
json_ok "$T/g1.json" 'j["nics"][0]["ip"] == "10.51.0.1" and j["nics"][0]["prefix"] == 29'
mac0=$(field "$T/g1.json" 'd["mac"]') mac1=$(field "$T/g1.json" 'd["nics"][0]["mac"]')
ip0=$(field "$T/g1.json" 'd["ip"]')
data1=$S/disks/g1.data1.img data2=$S/disks/g1.data2.img swap=$S/disks/g1.swap.img
for f in "$data1" "$data2" "$swap"; do
	[ -f "$f" ] || fail "no volume $f"
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
	[ "$(stat -c %b "$f")" -lt $((8 * 1024 * 2)) ] || fail "$f is not sparse"
done
ok
[ "$(stat -c %s "$data1")" = $((64 << 20)) ] && [ "$(stat -c %s "$swap")" = $((16 << 20)) ] ||
	fail "volume sizes"
ok

# the config: clean for xenprov, every device where xl will look for it
# Xen's bin directory is the test's own (XENPROV_XEN_BINDIR, with a pygrub that is never
# run): whatever this machine has installed (a fresh one has no Xen tools) plays no part
mkdir -p "$T/xenbin" && printf '#!/bin/sh\nexit 1\n' >"$T/xenbin/pygrub" && chmod 755 "$T/xenbin/pygrub"
export XENPROV_XEN_BINDIR=$T/xenbin
expect_rc 0 config check --host --json "$T/cfg/g1.cfg"
json_ok "$T/stdout" 'all(f["ok"] and f["errors"] == 0 and f["warnings"] == 0 for f in j)'
"$XLU" "$T/cfg/g1.cfg" >"$T/xlu.json" 2>"$T/err" || fail "libxlutil rejects g1.cfg"
ok
json_ok "$T/xlu.json" '[(d["vdev"], d["target"], d["format"]) for d in j["disk"]] == [
	("xvda", "'"$S"'/disks/g1.img", "raw"), ("xvdb", "'"$data1"'", "raw"),
	("xvdc", "'"$data2"'", "raw"), ("xvdd", "'"$swap"'", "raw")]'
json_ok "$T/xlu.json" 'j["vif"] == ["mac='"$mac0"',bridge=xenbr0,ip='"$ip0"'",
	"mac='"$mac1"',bridge=xenbr1,ip=10.51.0.1"]'

# the disks: formatted, named by the UUIDs the guest's fstab says
e2fsck -fn "$data1" >"$T/err" 2>&1 || fail "e2fsck -fn on the data disk"
ok
[ "$(blkid -p -s TYPE -o value "$data1")" = ext4 ] || fail "the data disk is not ext4"
[ "$(blkid -p -s TYPE -o value "$swap")" = swap ] || fail "the swap volume is no swap area"
[ -z "$(blkid -p -o value "$data2")" ] || fail "fs=none: the disk holds $(blkid -p "$data2")"
ok
cat_guest "$S/disks/g1.img" /etc/fstab
has "$T/got" "UUID=$(uuid "$data1")	/srv	ext4	defaults,nofail	0	2"
has "$T/got" "UUID=$(uuid "$swap")	none	swap	sw,nofail	0	0"
[ "$(uuid "$data1")" = "$(field "$T/g1.json" 'd["disks"][0]["uuid"]')" ] || fail "recorded UUID"
ok
[ "$(grep -c UUID= "$T/got")" = 3 ] || fail "fstab: $(cat "$T/got")"
ok
"$X" image ls -l "$S/disks/g1.img" / >"$T/ls" 2>"$T/err" || fail "image ls"
grep -q '^d.* srv$' "$T/ls" || fail "no /srv in the guest: $(cat "$T/ls")"
ok

# the network: a .network per NIC, each by its MAC, the default route on the first only
cat_guest "$S/disks/g1.img" /etc/systemd/network/10-xenprov.network
has "$T/got" "MACAddress=$mac0"
has "$T/got" "Address=$ip0/24"
has "$T/got" "Gateway=10.50.0.1"
has "$T/got" "DNS=10.50.0.53"
cat_guest "$S/disks/g1.img" /etc/systemd/network/10-xenprov-enX1.network
has "$T/got" "MACAddress=$mac1"
has "$T/got" "Address=10.51.0.1/29"
! grep -q '^Gateway=\|^DNS=' "$T/got" || fail "the second NIC has a gateway or DNS: $(cat "$T/got")"
ok

# ---- qcow2 storage, Debian (ifupdown and udev) ---------------------------------------------

expect_rc 0 domain create g2 --profile dev-deb --storage qcow2 "${C[@]}" --json
cp "$T/stdout" "$T/g2.json"
mac0=$(field "$T/g2.json" 'd["mac"]') mac1=$(field "$T/g2.json" 'd["nics"][0]["mac"]')
ip0=$(field "$T/g2.json" 'd["ip"]')
[ "$(field "$T/g2.json" 'd["nics"][0]["ip"]')" = 10.51.0.2 ] || fail "g2's second address"
ok
for v in data1 data2 swap; do
	q=$S/disks/g2.$v.qcow2
	qemu-img check -q "$q" || fail "qemu-img check $q"
	qemu-img info --output=json "$q" >"$T/info" || fail "qemu-img info $q"
	json_ok "$T/info" 'j["format"] == "qcow2" and "backing-filename" not in j'
done
json_ok "$T/info" 'j["virtual-size"] == 16 << 20'
qemu-img convert -O raw "$S/disks/g2.data1.qcow2" "$T/data1.raw" || fail "qemu-img convert"
e2fsck -fn "$T/data1.raw" >"$T/err" 2>&1 || fail "e2fsck -fn on the qcow2 data disk"
ok
qemu-img convert -O raw "$S/disks/g2.swap.qcow2" "$T/swap.raw" || fail "qemu-img convert"
cat_guest "$S/disks/g2.qcow2" /etc/fstab
has "$T/got" "UUID=$(uuid "$T/data1.raw")	/srv	ext4	defaults,nofail	0	2"
has "$T/got" "UUID=$(uuid "$T/swap.raw")	none	swap	sw,nofail	0	0"
expect_rc 0 config check --host "$T/cfg/g2.cfg"
"$XLU" "$T/cfg/g2.cfg" >"$T/xlu.json" 2>"$T/err" || fail "libxlutil rejects g2.cfg"
json_ok "$T/xlu.json" '[d["format"] for d in j["disk"]] == ["qcow2"] * 4'
json_ok "$T/xlu.json" '[d["vdev"] for d in j["disk"]] == ["xvda", "xvdb", "xvdc", "xvdd"]'
# each NIC named by a .link file of its MAC, both configured by ifupdown
cat_guest "$S/disks/g2.qcow2" /etc/systemd/network/10-xenprov-enX0.link
has "$T/got" "MACAddress=$mac0"
has "$T/got" "Name=enX0"
cat_guest "$S/disks/g2.qcow2" /etc/systemd/network/10-xenprov-enX1.link
has "$T/got" "MACAddress=$mac1"
has "$T/got" "Name=enX1"
cat_guest "$S/disks/g2.qcow2" /etc/network/interfaces
has "$T/got" "iface enX0 inet static"
has "$T/got" "	address $ip0/24"
has "$T/got" "iface enX1 inet static"
has "$T/got" "	address 10.51.0.2/29"
[ "$(grep -c gateway "$T/got")" = 1 ] || fail "one default route: $(cat "$T/got")"
ok

# ---- diff and update know the further disks and NICs ------------------------------------------

expect_rc 0 domain diff g1 g2
out_has "g1: no drift from profile dev"
out_has "g2: no drift from profile dev-deb"
# a new name server: the guest's network files rewritten, the second NIC's stanza kept
expect_rc 0 profile edit dev --dns 10.50.0.54
expect_rc 0 domain update g2 --offline
cat_guest "$S/disks/g2.qcow2" /etc/network/interfaces
has "$T/got" "	dns-nameservers 10.50.0.54"
has "$T/got" "iface enX1 inet static"
has "$T/got" "	address 10.51.0.2/29"
cat_guest "$S/disks/g2.qcow2" /etc/fstab
has "$T/got" "UUID=$(uuid "$T/data1.raw")	/srv	ext4	defaults,nofail	0	2"
expect_rc 0 profile edit dev --dns 10.50.0.53
# a changed disk or NIC list is what the guest was made of
expect_rc 0 profile edit dev-deb --data-disk 128M
expect_rc 0 domain diff g2
out_has "+data-disk = 128M,fs=ext4"
out_has "recreate"
expect_rc 0 profile edit dev-deb --unset data-disk

# ---- XFS -----------------------------------------------------------------------------------

if command -v mkfs.xfs >/dev/null && command -v xfs_repair >/dev/null; then
	expect_rc 0 domain create g3 --profile dev --data-disk 300M,fs=xfs,mount=/var/lib/db \
		--swap-disk 0 --nic '' "${C[@]}" --json
	cp "$T/stdout" "$T/g3.json"
	json_ok "$T/g3.json" 'len(j["disks"]) == 1 and j["nics"] == []'
	x=$S/disks/g3.data1.img
	xfs_repair -n "$x" >"$T/err" 2>&1 || fail "xfs_repair -n on the XFS data disk"
	[ "$(blkid -p -s TYPE -o value "$x")" = xfs ] || fail "not XFS"
	ok
	cat_guest "$S/disks/g3.img" /etc/fstab
	has "$T/got" "UUID=$(uuid "$x")	/var/lib/db	xfs	defaults,nofail	0	0"
	"$XLU" "$T/cfg/g3.cfg" >"$T/xlu.json" 2>"$T/err" || fail "libxlutil rejects g3.cfg"
	json_ok "$T/xlu.json" 'len(j["disk"]) == 2 and len(j["vif"]) == 1'
	expect_rc 0 domain delete g3
else
	echo "note: no xfsprogs here: fs=xfs not tested"
fi

# ---- refusals: nothing left behind -----------------------------------------------------------

volumes() { (cd "$S/disks" && ls) | tr '\n' ' '; }
before=$(volumes)
expect_rc 1 domain create g4 --profile dev --data-disk 16M,mount=srv "${C[@]}"
err_has "data-disk: item 1: mount= is an absolute guest directory other than /"
if ! { [ -c /dev/mapper/control ] && (exec 3<>/dev/mapper/control) 2>/dev/null; }; then # no node, or no driver behind it
	expect_rc 1 domain create g4 --profile dev --data-disk 16M,storage=lvm,pool=vg0 "${C[@]}"
	err_has "data disk 1: storage lvm needs device-mapper"
fi
# the NIC pool (/29: .1 to .6) has 4 addresses left; g4 to g7 take them, g8 finds none
for g in g4 g5 g6 g7; do expect_rc 0 domain create $g --profile dev "${C[@]}" -q; done
before=$(volumes)
expect_rc 1 domain create g8 --profile dev "${C[@]}"
err_has "NIC 1: the ip-pool 10.51.0.0/29 has no free address"
[ "$(volumes)" = "$before" ] || fail "a refused create left volumes: $(volumes)"
ok
[ ! -e "$T/cfg/g8.cfg" ] || fail "a refused create left a config"
ok
expect_rc 1 domain show g8

# ---- delete and rollback remove every volume ----------------------------------------------------

expect_rc 0 domain delete g1 g2 g4 g5 g6 g7
[ -z "$(volumes)" ] || fail "delete left: $(volumes)"
ok
expect_rc 0 deploy --profile dev --count 2 --name 'r%d' "${C[@]}" -q
[ "$(volumes)" = "r1.data1.img r1.data2.img r1.img r1.swap.img r2.data1.img r2.data2.img r2.img r2.swap.img " ] ||
	fail "deploy made: $(volumes)"
ok
"$XLU" "$T/cfg/r1.cfg" "$T/cfg/r2.cfg" >/dev/null 2>"$T/err" || fail "libxlutil rejects r1/r2"
e2fsck -fn "$S/disks/r2.data1.img" >"$T/err" 2>&1 || fail "e2fsck -fn on a deployed data disk"
ok
expect_rc 0 deploy --rollback -q
[ -z "$(volumes)" ] || fail "rollback left: $(volumes)"
ok
expect_rc 0 domain list --json
out_is "[]"

pass
