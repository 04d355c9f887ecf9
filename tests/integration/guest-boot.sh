#!/bin/bash
# guest-boot.sh - guests that boot their own kernel, end to end through the CLI:
#   - pygrub and pvgrub: each guest's /boot/grub/grub.cfg, written where the image has
#     kernels and no GRUB configuration: the newest kernel first, root by the guest's
#     own filesystem UUID (blkid's), the profile's extra and console=hvc0; read back by
#     Xen's own pygrub parser when one is installed; a guest with update-grub gets the
#     /etc/default/grub line too; an image's own configuration is left to it;
#   - kernel=from-image, PV and PVH: the image's newest kernel and initrd copied once
#     per golden image (not per guest, not per deploy), byte for byte, and the configs'
#     kernel=, ramdisk=, root=UUID= (each guest's own) and type;
#   - the refusals, with the reason: at profile add/edit (an image without a kernel,
#     a kernel that is not on this host, a command line GRUB cannot carry), at domain
#     create and deploy (an image that lost its kernels after the profile was made),
#     nothing left behind.
# Tiny roots made here; with /var/tmp/mmtest/bookworm.tar (XP_DEBIAN_TAR: a Debian 12
# mmdebstrap root with linux-image-amd64) the same for a real Debian, else that part
# is left out.
#
# Run by CTest with XENPROV and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need tar blkid sfdisk e2fsck qemu-img cmp python3
scratch cfg host
export XENPROV_STATE_DIR=$T/state
C="--config-dir $T/cfg -q"

# root NAME KERNELS [SHELL]: a tiny root in $T/NAME with the kernels (VERSION, or
# VERSION+initrd), tarred to $T/NAME.tgz; SHELL runs in the root first
root() {
	local r=$T/$1 k v
	mkdir -p "$r/etc/network" "$r/boot" "$r/bin" "$r/root"
	echo golden >"$r/etc/hostname"
	printf 'auto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
	printf 'root:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
	for k in $2; do
		v=${k%+initrd}
		echo "kernel $v $RANDOM" >"$r/boot/vmlinuz-$v"
		[ "$k" = "$v" ] || echo "initrd $v $RANDOM" >"$r/boot/initrd.img-$v"
	done
	[ -z "${3:-}" ] || (cd "$r" && eval "$3") || fail "root $1"
	tar -C "$r" --numeric-owner -czf "$T/$1.tgz" . || fail "tar $1"
}
root k "6.1.0-9-amd64+initrd 6.1.0-10-amd64+initrd"
root nok ""
root tool "6.1.0-10-amd64+initrd" \
	'mkdir -p usr/sbin etc/default && printf "#!/bin/sh\n" >usr/sbin/update-grub &&
	 printf "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"\"\n" >etc/default/grub'
root own "6.1.0-10-amd64+initrd" 'mkdir -p boot/grub && echo "menuentry mine" >boot/grub/grub.cfg'
echo kernel >"$T/host/vmlinuz"
echo pvgrub >"$T/host/pvgrub.bin"
common=(--disk-size 64M --memory 256 --network static --ip-pool 10.31.0.0/24 --gateway 10.31.0.1)

# root_uuid DISK: the UUID blkid reads in the first partition of a raw or qcow2 disk
root_uuid() {
	local img=$1 raw=$T/raw.img start
	if [[ $img == *.qcow2 ]]; then
		qemu-img convert -O raw "$img" "$raw" || return 1
		img=$raw
	fi
	start=$(sfdisk -J "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"] * 512)')
	blkid -p -o value -s UUID -O "$start" "$img"
	e2fsck -fn "$img?offset=$start" >/dev/null 2>&1 || { echo "e2fsck failed" >&2; return 1; }
	rm -f "$raw"
}
cfg_get() { "$X" config get "$T/cfg/$1.cfg" "$2"; }

# ---- refused at profile add, with the reason ------------------------------------------------

expect_rc 1 profile add p --image "$T/nok.tgz" --boot pygrub
err_has "boot pygrub: the image has no kernel in /boot, so pygrub has nothing to boot"
err_has "hint: use an image with a kernel in /boot"
expect_rc 1 profile add p --image "$T/nok.tgz" --boot pvgrub --kernel "$T/host/pvgrub.bin"
err_has "boot pvgrub: the image has no kernel in /boot, so PV GRUB has nothing to boot"
expect_rc 1 profile add p --image "$T/nok.tgz" --boot kernel --kernel from-image
err_has "kernel from-image: the image has no kernel in /boot"
expect_rc 1 profile add p --image "$T/k.tgz" --boot kernel --kernel "$T/host/nope"
err_has "the kernel $T/host/nope is not there on this host"
expect_rc 1 profile add p --image "$T/k.tgz" --boot kernel --kernel "$T/host/vmlinuz" \
	--ramdisk "$T/host"
err_has "the ramdisk $T/host is not a regular file on this host"
expect_rc 1 profile add p --image "$T/k.tgz" --boot kernel --kernel from-image --ramdisk "$T/host/vmlinuz"
err_has "a ramdisk cannot be given with it"
# PV GRUB is loaded by xl on the Xen host, which need not be this one: a warning
expect_rc 0 profile add pv0 --image "$T/k.tgz" --boot pvgrub --kernel "$T/host/nope"
err_has "warning: PV GRUB's image $T/host/nope is not there on this host"
expect_rc 1 profile add p --image "$T/k.tgz" --extra 'quiet;reboot'
err_has "boot pygrub: the kernel command line goes into the guest's grub.cfg"
expect_rc 1 profile add p --image "$T/k.tgz" --type hvm
err_has "type: unknown guest type (got 'hvm')"
expect_rc 1 profile show p
# an image without a kernel and no boot method: stored, with a warning
expect_rc 0 profile add quiet --image "$T/nok.tgz"
err_has "warning: the image has no kernel in /boot and no boot method is set"
# a child's values are checked with its parent's
expect_rc 0 profile add base --image "$T/nok.tgz" --boot kernel --kernel "$T/host/vmlinuz"
expect_rc 1 profile add child --parent base --boot pygrub
err_has "the image has no kernel in /boot"
# edit: refused and nothing changed
expect_rc 1 profile edit base --kernel from-image
err_has "kernel from-image: the image has no kernel in /boot"
expect_rc 0 profile show base --json
json_ok "$T/stdout" 'j["settings"]["kernel"] == "'"$T"'/host/vmlinuz"'
# import: what add refuses is imported with a warning naming the profile (an export
# from another host may name files this host gets later); domain create refuses it
printf '[{"name": "imp", "settings": {"image": "%s", "boot": "pygrub"}}]\n' "$T/nok.tgz" >"$T/imp.json"
expect_rc 0 profile import "$T/imp.json"
err_has "warning: profile 'imp': boot pygrub: the image has no kernel in /boot, so pygrub has nothing to boot (its guests cannot be made until this is fixed)"
mkdir -p "$T/cfg-imp"
expect_rc 1 domain create impg --profile imp --config-dir "$T/cfg-imp" --pool "$T/pool-imp"
err_has "boot pygrub: the image has no kernel in /boot"

# ---- pygrub: the grub.cfg each guest gets --------------------------------------------------

expect_rc 0 profile add pyg --image "$T/k.tgz" --boot pygrub --extra quiet "${common[@]}"
err_lacks warning
expect_rc 0 domain create g1 --profile pyg $C
expect_rc 0 domain create g2 --profile pyg $C --storage qcow2
[ "$(cfg_get g1 bootloader)" = pygrub ] && [ "$(cfg_get g1 type)" = pv ] || fail "g1's config"
ok
for g in g1:img g2:qcow2; do
	name=${g%:*} disk=$T/state/disks/${g%:*}.${g#*:}
	uuid=$(root_uuid "$disk") && [ ${#uuid} = 36 ] || fail "$name: root UUID '$uuid'"
	eval "uuid_$name=$uuid"
	"$X" image cat "$disk" /boot/grub/grub.cfg >"$T/$name.grub.cfg" || fail "$name: no grub.cfg"
	cat >"$T/want.grub.cfg" <<EOF
# Written by xenprov for pygrub and PV GRUB: the kernels in /boot, the newest first.
# The guest's update-grub, where it has one, writes this file anew.
set default=0
set timeout=1

menuentry 'Linux 6.1.0-10-amd64' {
	search --no-floppy --fs-uuid --set=root $uuid
	linux /boot/vmlinuz-6.1.0-10-amd64 root=UUID=$uuid ro console=hvc0 quiet
	initrd /boot/initrd.img-6.1.0-10-amd64
}

menuentry 'Linux 6.1.0-9-amd64' {
	search --no-floppy --fs-uuid --set=root $uuid
	linux /boot/vmlinuz-6.1.0-9-amd64 root=UUID=$uuid ro console=hvc0 quiet
	initrd /boot/initrd.img-6.1.0-9-amd64
}
EOF
	diff -u "$T/want.grub.cfg" "$T/$name.grub.cfg" || fail "$name's grub.cfg"
	ok
done
[ "$uuid_g1" != "$uuid_g2" ] || fail "g1 and g2 share a root UUID"
ok
# Xen's own pygrub parser (tools/pygrub's GrubConf.py) reads it, where Xen's tools are
for d in /usr/lib/xen-*/lib/python /usr/lib/python3/dist-packages; do
	[ -f "$d/grub/GrubConf.py" ] || continue
	PYTHONPATH=$d python3 -m grub.GrubConf grub2 "$T/g1.grub.cfg" >"$T/pygrub.out" 2>&1 ||
		fail "pygrub's parser: $(cat "$T/pygrub.out")"
	grep -q "kernel: (None, '/boot/vmlinuz-6.1.0-10-amd64')" "$T/pygrub.out" &&
		grep -q "args: root=UUID=$uuid_g1 ro console=hvc0 quiet" "$T/pygrub.out" ||
		fail "pygrub's parser read: $(cat "$T/pygrub.out")"
	ok
	break
done

# pvgrub: PV GRUB's image is the kernel, the guest's grub.cfg the same
expect_rc 0 profile add pvg --parent pyg --boot pvgrub --kernel "$T/host/pvgrub.bin"
expect_rc 0 domain create v1 --profile pvg $C
[ "$(cfg_get v1 kernel)" = "$T/host/pvgrub.bin" ] || fail "v1's kernel"
ok
"$X" image cat "$T/state/disks/v1.img" /boot/grub/grub.cfg | grep -q "root=UUID=$(root_uuid "$T/state/disks/v1.img") " ||
	fail "v1's grub.cfg"
ok
# PVH loads grub-xen-host's PVH build unless the profile names one
expect_rc 0 profile add pvh --parent pyg --boot pvgrub --type pvh
expect_rc 0 domain create v2 --profile pvh $C
[ "$(cfg_get v2 kernel)" = /usr/lib/grub-xen/grub-i386-xen_pvh.bin ] && [ "$(cfg_get v2 type)" = pvh ] || fail "v2's config"
ok
if [ ! -e /usr/lib/grub-xen/grub-i386-xen_pvh.bin ]; then
	err_has "warning: PV GRUB's image /usr/lib/grub-xen/grub-i386-xen_pvh.bin is not there on this host"
	err_has "hint: install Debian's grub-xen-host on the Xen host"
fi

# a guest with its own GRUB tooling: the grub.cfg to boot now, and /etc/default/grub's
# line for its update-grub; an image's own configuration is kept
expect_rc 0 profile add tool --parent pyg --image "$T/tool.tgz"
expect_rc 0 domain create t1 --profile tool $C
"$X" image cat "$T/state/disks/t1.img" /etc/default/grub >"$T/t1.default" || fail "t1's /etc/default/grub"
printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n# xenprov: the Xen console and the profile'"'"'s kernel command line\nGRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=hvc0 quiet"\n' >"$T/want.default"
diff -u "$T/want.default" "$T/t1.default" || fail "t1's /etc/default/grub"
ok
"$X" image cat "$T/state/disks/t1.img" /boot/grub/grub.cfg | grep -q "^menuentry 'Linux 6.1.0-10-amd64'" || fail "t1's grub.cfg"
ok
expect_rc 0 profile add own --parent pyg --image "$T/own.tgz"
expect_rc 0 domain create o1 --profile own $C
[ "$("$X" image cat "$T/state/disks/o1.img" /boot/grub/grub.cfg)" = "menuentry mine" ] || fail "o1's own grub.cfg was replaced"
ok

# ---- kernel from-image: one copy per golden image --------------------------------------------

expect_rc 0 profile add fi --parent pyg --boot kernel --kernel from-image --type pvh --storage qcow2
expect_rc 0 deploy --profile fi --count 3 --name f%d $C
expect_rc 0 deploy --profile fi --count 5 --name f%d $C
"$X" domain show f1 --json >"$T/f1.json" || fail "domain show f1"
golden=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["golden"])' "$T/f1.json")
kdirs=$(ls -d "$T"/state/images/*.kernel)
[ "$(echo "$kdirs" | wc -l)" = 1 ] && [ "$kdirs" = "${golden%.img}.kernel" ] || fail "kernel copies: $kdirs"
ok
cmp "$kdirs/vmlinuz-6.1.0-10-amd64" "$T/k/boot/vmlinuz-6.1.0-10-amd64" &&
	cmp "$kdirs/initrd.img-6.1.0-10-amd64" "$T/k/boot/initrd.img-6.1.0-10-amd64" || fail "the copy differs"
ok
[ "$(stat -c %a "$kdirs/vmlinuz-6.1.0-10-amd64")" = 444 ] || fail "the copy is writable"
ok
inode=$(stat -c %i "$kdirs/vmlinuz-6.1.0-10-amd64")
uuids=""
for i in 1 2 3 4 5; do
	[ "$(cfg_get f$i type)" = pvh ] || fail "f$i: type $(cfg_get f$i type)"
	[ "$(cfg_get f$i kernel)" = "$kdirs/vmlinuz-6.1.0-10-amd64" ] || fail "f$i: kernel $(cfg_get f$i kernel)"
	[ "$(cfg_get f$i ramdisk)" = "$kdirs/initrd.img-6.1.0-10-amd64" ] || fail "f$i: ramdisk"
	u=$(root_uuid "$T/state/disks/f$i.qcow2") || fail "f$i's UUID"
	[ "$(cfg_get f$i root)" = "UUID=$u" ] || fail "f$i: root $(cfg_get f$i root), its filesystem is $u"
	[ "$(cfg_get f$i extra)" = "ro console=hvc0 quiet" ] || fail "f$i: extra $(cfg_get f$i extra)"
	uuids="$uuids $u"
	ok
done
[ "$(echo $uuids | tr ' ' '\n' | sort -u | wc -l)" = 5 ] || fail "the guests share UUIDs: $uuids"
ok
# a guest made alone later uses the same copy; PV the same way
expect_rc 0 domain create f9 --profile fi --type pv $C
[ "$(cfg_get f9 type)" = pv ] && [ "$(cfg_get f9 kernel)" = "$kdirs/vmlinuz-6.1.0-10-amd64" ] || fail "f9's config"
[ "$(stat -c %i "$kdirs/vmlinuz-6.1.0-10-amd64")" = "$inode" ] || fail "the copy was made again"
ok

# ---- refused when the guests are made ----------------------------------------------------------

# the profile's image lost its kernels after the profile was stored
cp "$T/k.tgz" "$T/later.tgz"
expect_rc 0 profile add later --image "$T/later.tgz" --boot pygrub "${common[@]}"
cp "$T/nok.tgz" "$T/later.tgz"
expect_rc 1 domain create l1 --profile later $C
err_has "boot pygrub: the image has no kernel in /boot, so pygrub has nothing to boot"
expect_rc 1 deploy --profile later --count 2 --name l%d $C
err_has "the image has no kernel in /boot"
expect_rc 0 domain list --json
json_ok "$T/stdout" 'not [d for d in j if d["name"].startswith("l")]'
[ ! -e "$T/cfg/l1.cfg" ] && [ ! -e "$T/state/disks/l1.img" ] || fail "l1 left something behind"
ok
# a kernel removed from this host since
cp "$T/host/vmlinuz" "$T/host/gone"
expect_rc 0 profile add gone --image "$T/k.tgz" --boot kernel --kernel "$T/host/gone" "${common[@]}"
rm "$T/host/gone"
expect_rc 1 domain create gone1 --profile gone $C
err_has "the kernel $T/host/gone is not there on this host"
# a guest's own value is checked too
expect_rc 1 domain create g9 --profile pyg $C --extra 'a$b'
err_has "the kernel command line goes into the guest's grub.cfg"

# ---- a real Debian 12 root (a local mmdebstrap tarball; CI's real Debian is the Xen lab's) --

DEB=${XP_DEBIAN_TAR:-/var/tmp/mmtest/bookworm.tar}
if [ -r "$DEB" ]; then
	kver=$(tar -tf "$DEB" | sed -n 's|^\./boot/vmlinuz-||p' | sort -V | tail -1)
	[ -n "$kver" ] || fail "no kernel in $DEB"
	expect_rc 0 profile add deb "${common[@]}" --image "$DEB" --disk-size 2G --boot pygrub --storage qcow2
	RUN_TIMEOUT=600 expect_rc 0 domain create d1 --profile deb $C
	u=$(root_uuid "$T/state/disks/d1.qcow2") || fail "d1's UUID"
	"$X" image cat "$T/state/disks/d1.qcow2" /boot/grub/grub.cfg >"$T/d1.grub.cfg" || fail "d1's grub.cfg"
	grep -qx "	linux /boot/vmlinuz-$kver root=UUID=$u ro console=hvc0" "$T/d1.grub.cfg" &&
		grep -qx "	initrd /boot/initrd.img-$kver" "$T/d1.grub.cfg" || fail "d1's grub.cfg: $(cat "$T/d1.grub.cfg")"
	ok
	expect_rc 0 profile add debk --parent deb --boot kernel --kernel from-image
	expect_rc 0 deploy --profile debk --count 2 --name dk%d $C
	k=$(cfg_get dk1 kernel)
	[ "$k" = "$(cfg_get dk2 kernel)" ] && [ "${k##*/}" = "vmlinuz-$kver" ] || fail "dk kernel $k"
	tar -xOf "$DEB" "./boot/vmlinuz-$kver" | cmp - "$k" || fail "dk's kernel differs from the image's"
	tar -xOf "$DEB" "./boot/initrd.img-$kver" | cmp - "$(cfg_get dk1 ramdisk)" || fail "dk's initrd differs"
	ok
else
	echo "(no $DEB: the real Debian part is left out)"
fi
pass
