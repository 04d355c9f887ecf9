# grub-root.sh - sourced by the autoinstall tests: grub_root DIR KERNEL makes in DIR a
# tiny root that a BIOS machine boots from its own disk once the installer has put it
# there: Debian's static busybox, the host's kernel and its initramfs (initramfs-tools:
# it finds root=UUID=), virtio_net with its dependencies, the host's grub-install with
# the libraries ldd names and GRUB's i386-pc modules (Debian package grub-pc-bin), no
# grub.cfg (the installer's edits write one for the kernels in /boot), and an /sbin/init
# that takes a DHCP lease and prints on the serial console
#   XP-INSTALLED host=HOSTNAME addr=ADDRESS
# then powers off. grub_root DIR KERNEL efi: GRUB's x86_64-efi modules instead (Debian
# package grub-efi-amd64-bin), for `grub-install --target=x86_64-efi` on a UEFI machine.
# Needs the caller's need_static_busybox and common.sh's fail.
grub_root() {
	local r=$1 kernel=$2 rel m lib grub=i386-pc
	[ "${3:-}" = efi ] && grub=x86_64-efi
	rel=${kernel##*/vmlinuz-}
	[ -r "/boot/initrd.img-$rel" ] || skip "no /boot/initrd.img-$rel for the installed system"
	[ -x /usr/sbin/grub-install ] || skip "no grub-install (Debian package grub2-common)"
	[ "$grub" = i386-pc ] && [ ! -d /usr/lib/grub/i386-pc ] &&
		skip "no GRUB for BIOS (Debian package grub-pc-bin)"
	[ "$grub" = x86_64-efi ] && [ ! -r /usr/lib/grub/x86_64-efi/kernel.img ] &&
		skip "no GRUB for UEFI (Debian package grub-efi-amd64-bin)"
	mkdir -p "$r"/{bin,sbin,dev,proc,sys,tmp,run,root,boot,etc/network,usr/sbin,usr/lib/grub} \
		"$r/lib/modules/$rel" || fail "grub_root: mkdir"
	cp "$busybox" "$r/bin/busybox" || fail "grub_root: busybox"
	for m in sh mount cat hostname ip ifconfig udhcpc insmod poweroff sync awk chmod; do
		ln -sf busybox "$r/bin/$m"
	done
	cp "$kernel" "$r/boot/vmlinuz-$rel" && cp "/boot/initrd.img-$rel" "$r/boot/initrd.img-$rel" ||
		fail "grub_root: kernel"
	for m in $(grep -E '^kernel/drivers/net/virtio_net.ko:' "/lib/modules/$rel/modules.dep" | tr -d :); do
		[ -r "/lib/modules/$rel/$m" ] && cp "/lib/modules/$rel/$m" "$r/lib/modules/$rel/"
	done
	cp /usr/sbin/grub-install "$r/usr/sbin/" && cp -a "/usr/lib/grub/$grub" "$r/usr/lib/grub/" ||
		fail "grub_root: grub"
	for lib in $(ldd /usr/sbin/grub-install | grep -o '/[^ ]*'); do
		mkdir -p "$r${lib%/*}" && cp -L "$lib" "$r$lib" || fail "grub_root: $lib"
	done
	echo golden >"$r/etc/hostname"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
	printf 'auto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
	cat >"$r/sbin/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
for m in failover net_failover virtio_net; do
	[ -e /lib/modules/*/$m.ko ] && insmod /lib/modules/*/$m.ko 2>/dev/null
done
ip link set lo up
# the initramfs's udev may have renamed eth0 (ens3): the first NIC but lo
for i in /sys/class/net/*; do [ "${i##*/}" = lo ] || nic=${i##*/}; done
ip link set "$nic" up
cat >/tmp/dhcp.sh <<'S'
#!/bin/sh
[ "$1" = bound ] && ifconfig "$interface" "$ip" netmask "$subnet" && echo "$ip" >/tmp/ip
exit 0
S
chmod 755 /tmp/dhcp.sh
udhcpc -i "$nic" -s /tmp/dhcp.sh -q -n -t 10 -T 2 >/dev/null 2>&1
echo "XP-INSTALLED host=$(cat /etc/hostname) addr=$(cat /tmp/ip 2>/dev/null)"
sync
poweroff -f
INIT
	chmod 755 "$r/sbin/init"
}
