#!/bin/bash
# domain-adopt.sh - `xenprov domain adopt`: a machine installed onto a disk of its own
# (the autoinstaller's path) taken into the inventory as an HVM guest. The config it
# writes is read back by xenprov's own `config check --host` and by Xen's libxlutil
# (xlu-check): type hvm, boot from the disk, serial console, the system's MAC on the
# profile's bridge, the profile's memory and vcpus with overrides; a raw file, a qcow2
# file and a block device (a loop device over a file: blkback's phy backend); the
# record (state ready, no profile, the system's MAC and address with the pool's prefix);
# `domain delete` removes config and record and keeps the disk; refusals that leave
# nothing behind: unknown system, missing disk, a directory, a name or config or disk
# already taken, a MAC another domain holds, type/boot overrides, a mounted device.
#
# No Xen here: an HVM guest cannot run under the lab's QEMU/TCG (no nested VMX), so the
# config is proven by Xen's own parser, not by booting it.
#
# Run by CTest with XENPROV, XP_SRC, XP_TMP and XP_XLU_CHECK. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need qemu-img python3
XLU=${XP_XLU_CHECK:-}
[ -x "$XLU" ] || skip "no xlu-check (libxlutil) tool"
in_private_mounts "$@" # the mounted-device refusal below mounts nothing outside the test
scratch cfg
export XENPROV_STATE_DIR=$T/state

expect_rc 0 profile add web --memory 768 --vcpus 2 --bridge br1 --distro later
expect_rc 0 settings set pool.lan.range 10.0.0.100-10.0.0.200
expect_rc 0 settings set pool.lan.netmask 255.255.255.0
expect_rc 0 system add lennox --mac 52:54:00:12:34:56 --ip 10.0.0.21 --profile web --netboot off
expect_rc 0 system add rosse --mac 52:54:00:12:34:57 --profile web
truncate -s 64M "$T/lennox.img"

# ---- refusals first: each leaves no config and no record
expect_rc 2 domain adopt lennox
err_has "--disk PATH is required"
expect_rc 1 domain adopt nobody --disk "$T/lennox.img" --config-dir "$T/cfg"
err_has "no system 'nobody'"
expect_rc 1 domain adopt lennox --disk "$T/missing.img" --config-dir "$T/cfg"
err_has "cannot use the disk $T/missing.img: No such file or directory"
expect_rc 1 domain adopt lennox --disk "$T/cfg" --config-dir "$T/cfg"
err_has "is neither a disk image file nor a block device"
expect_rc 1 domain adopt lennox --disk "$T/lennox.img" --config-dir "$T/cfg" --set type=pv
err_has "type cannot be set for an adopted machine"
expect_rc 1 domain adopt lennox --disk "$T/lennox.img" --config-dir "$T/cfg" --memory lots
expect_rc 1 domain adopt bad_name --system lennox --disk "$T/lennox.img" --config-dir "$T/cfg"
err_has "'bad_name' is not a valid domain name"
echo keep >"$T/cfg/lennox.cfg"
expect_rc 1 domain adopt lennox --disk "$T/lennox.img" --config-dir "$T/cfg"
err_has "$T/cfg/lennox.cfg exists already"
[ "$(cat "$T/cfg/lennox.cfg")" = keep ] || fail "an operator's file was replaced"
ok
rm "$T/cfg/lennox.cfg"
expect_rc 0 domain list --json
json_ok "$T/stdout" 'j == []'

# ---- a raw file
expect_rc 0 domain adopt lennox --disk "$T/lennox.img" --config-dir "$T/cfg" --vcpus 4
out_has "lennox: adopted: file disk $T/lennox.img, mac 52:54:00:12:34:56, ip 10.0.0.21"
err_lacks "still boots from the network"
expect_rc 0 config check --host --json "$T/cfg/lennox.cfg"
json_ok "$T/stdout" 'all(f["ok"] and f["errors"] == 0 for f in j)'
"$XLU" "$T/cfg/lennox.cfg" >"$T/xlu.json" 2>"$T/err" || fail "libxlutil rejects lennox.cfg"
ok
json_ok "$T/xlu.json" 'j["type"] == "hvm" and j["boot"] == "c" and j["serial"] == "pty"'
json_ok "$T/xlu.json" 'j["memory"] == 768 and j["vcpus"] == 4'
json_ok "$T/xlu.json" '[(d["vdev"], d["target"], d["format"]) for d in j["disk"]] ==
	[("xvda", "'"$T"'/lennox.img", "raw")]'
json_ok "$T/xlu.json" 'j["vif"] == ["mac=52:54:00:12:34:56,bridge=br1"]'
json_ok "$T/xlu.json" 'j["bootloader"] is None and j["kernel"] is None and j["vnc"] is None'
expect_rc 0 domain show lennox --json
json_ok "$T/stdout" 'j["state"] == "ready" and j["profile"] is None and j["storage"] == "file"
	and j["mac"] == "52:54:00:12:34:56" and j["ip"] == "10.0.0.21" and j["prefix"] == 24'

# taken: the name, the disk (as another name), the MAC (another system with it cannot
# exist, so through a second adopt of the same system under another name)
expect_rc 1 domain adopt lennox --disk "$T/lennox.img" --config-dir "$T/cfg"
err_has "a domain 'lennox' exists already"
expect_rc 1 domain adopt angus --system rosse --disk "$T/lennox.img" --config-dir "$T/cfg"
err_has "$T/lennox.img is the disk of domain 'lennox'"
truncate -s 64M "$T/second.img"
expect_rc 1 domain adopt twin --system lennox --disk "$T/second.img" --config-dir "$T/cfg"
err_has "the MAC 52:54:00:12:34:56 of system 'lennox' is domain 'lennox''s"
[ ! -e "$T/cfg/twin.cfg" ] && [ ! -e "$T/cfg/angus.cfg" ] || fail "a refused adopt left a config"
ok

# ---- a qcow2 file, a system still netbooting (warned), a relative path
qemu-img create -q -f qcow2 "$T/rosse.qcow2" 64M || fail "qemu-img create"
(cd "$T" && "$X" domain adopt rosse --disk rosse.qcow2 --config-dir "$T/cfg" --set config.vnc=0 \
	>"$T/stdout" 2>"$T/err") || fail "adopt of a qcow2 disk: $(cat "$T/err")"
ok
err_has "system 'rosse' still boots from the network"
"$XLU" "$T/cfg/rosse.cfg" >"$T/xlu.json" 2>"$T/err" || fail "libxlutil rejects rosse.cfg"
ok
json_ok "$T/xlu.json" '[(d["target"], d["format"]) for d in j["disk"]] == [("'"$T"'/rosse.qcow2", "qcow2")]'
json_ok "$T/xlu.json" 'j["vnc"] == 0'
expect_rc 0 domain show rosse --json
json_ok "$T/stdout" 'j["ip"] is None'

# ---- delete: config and record go, the disks stay
expect_rc 0 domain delete lennox rosse
[ ! -e "$T/cfg/lennox.cfg" ] && [ ! -e "$T/cfg/rosse.cfg" ] || fail "delete left a config"
ok
[ -f "$T/lennox.img" ] && [ -f "$T/rosse.qcow2" ] || fail "delete removed an adopted disk"
ok
qemu-img check -q "$T/rosse.qcow2" || fail "the qcow2 disk is damaged"
ok

# ---- a block device: blkback's phy backend; one in use here is refused
if loop=$(losetup -f --show "$T/lennox.img" 2>/dev/null); then
	at_exit losetup -d "$loop"
	expect_rc 0 domain adopt lennox --disk "$loop" --config-dir "$T/cfg" --autostart on
	out_has "lennox: adopted: phy disk $loop"
	out_has "autostart on"
	[ -L "$T/cfg/auto/lennox.cfg" ] || fail "no autostart link"
	ok
	"$XLU" "$T/cfg/lennox.cfg" >"$T/xlu.json" 2>"$T/err" || fail "libxlutil rejects the phy config"
	ok
	json_ok "$T/xlu.json" '[(d["target"], d.get("backendtype")) for d in j["disk"]] == [("'"$loop"'", "phy")]'
	expect_rc 0 domain delete lennox
	[ -b "$loop" ] && [ ! -e "$T/cfg/auto/lennox.cfg" ] || fail "delete of a phy guest"
	ok
	# in use: a mounted filesystem holds its device exclusively (in this test's own
	# mount namespace where one could be made)
	mkfs.ext4 -q -F "$loop" >/dev/null 2>&1 || fail "mkfs.ext4"
	mkdir -p "$T/mnt"
	if mount "$loop" "$T/mnt" 2>/dev/null; then
		expect_rc 1 domain adopt lennox --disk "$loop" --config-dir "$T/cfg"
		err_has "it is in use here (mounted?)"
		umount "$T/mnt"
	else
		echo "note: cannot mount here: the in-use refusal is not checked"
	fi
else
	echo "note: no loop device here: the block-device path is not checked"
fi

pass
