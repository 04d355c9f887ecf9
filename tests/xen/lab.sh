#!/bin/bash
# A Xen 4.17 host inside QEMU for tests: sourced by run-test.sh. QEMU runs under TCG
# (-cpu qemu64,+svm), or under KVM (-cpu host) where scripts/qemu-accel finds one that
# works; XP_QEMU_ACCEL=tcg|kvm forces it.
#   lab_build          dom0 root (Debian bookworm via debootstrap) and boot files, cached
#                      under $LAB (the dom0 image is remade only when dom0-init.sh changes)
#   lab_boot P T LOG   boots Xen + dom0 with the ext4 image P as /payload, dom0 runs
#                      `xl create` on every /payload/*.cfg; serial console to LOG.
#                      Returns 0 when dom0 came up (marker XP-DOM0-UP), 2 when it did not.
LAB=${XP_XEN_LAB:-/var/tmp/xenprov-xen-lab}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

lab_build() {
	local root=$LAB/rootfs need="" p
	mkdir -p "$LAB"
	for p in qemu-system-x86 qemu-utils debootstrap busybox-static e2fsprogs cpio kmod; do
		dpkg -s $p >/dev/null 2>&1 || need="$need $p"
	done
	if [ -n "$need" ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need || return 1
	fi
	if [ ! -x "$root/usr/lib/xen-4.17/bin/xl" ]; then
		rm -rf "$root" "$root.tmp"
		timeout 900 debootstrap --variant=minbase \
			--include=xen-utils-4.17,xen-hypervisor-4.17-amd64,linux-image-amd64,initramfs-tools,kmod,udev,iproute2,busybox,qemu-system-xen,util-linux,e2fsprogs,openssh-client,iputils-ping,grub-xen-host \
			bookworm "$root.tmp" ${MIRROR:+"$MIRROR"} >"$LAB/debootstrap.log" 2>&1 \
			|| { echo "debootstrap failed, see $LAB/debootstrap.log"; tail -5 "$LAB/debootstrap.log"; return 1; }
		mv "$root.tmp" "$root"
	fi
	# dom0 logs in to the Debian guests and pings them (run-test.sh's checks) and
	# boots one with PV GRUB: added to a root cached before they were in the list
	if [ ! -x "$root/usr/bin/ssh" ] || [ ! -f "$root/usr/lib/grub-xen/grub-x86_64-xen.bin" ] ||
		[ ! -x "$root/usr/bin/ping" ]; then
		{ chroot "$root" apt-get update -q && chroot "$root" apt-get install -y -q \
			--no-install-recommends openssh-client iputils-ping grub-xen-host; } \
			>"$LAB/apt.log" 2>&1 ||
			{ echo "apt-get in the dom0 root failed, see $LAB/apt.log"; tail -5 "$LAB/apt.log"; return 1; }
		rm -f "$LAB/dom0.key" # the dom0 image is made again
	fi
	KVER=$(ls "$root/lib/modules" | sort -V | tail -1)
	local key
	key=$(cat "$HERE/dom0-init.sh" "$HERE/lab.sh" | sha256sum | cut -c1-16)
	[ -f "$LAB/dom0.img" ] && [ "$(cat "$LAB/dom0.key" 2>/dev/null)" = "$key" ] && return 0
	install -m 0755 "$HERE/dom0-init.sh" "$root/sbin/xp-dom0-init"
	grep -q '^XENCONSOLED_ARGS=' "$root/etc/default/xen" ||
		echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' >>"$root/etc/default/xen"
	zcat "$root/boot/xen-4.17-amd64.gz" >"$LAB/xen" # QEMU's multiboot loader wants ELF32
	cp "$root/boot/vmlinuz-$KVER" "$LAB/vmlinuz"
	cp "$root/boot/initrd.img-$KVER" "$LAB/initrd.img"
	rm -f "$LAB/dom0.img" && truncate -s 2G "$LAB/dom0.img.tmp"
	mke2fs -q -F -t ext4 -d "$root" "$LAB/dom0.img.tmp" && mv "$LAB/dom0.img.tmp" "$LAB/dom0.img" && echo "$key" >"$LAB/dom0.key"
}

lab_boot() {
	local payload=$1 tmo=$2 log=$3 pid start accel cpu=qemu64,+svm
	rm -f "$LAB/dom0-run.qcow2" "$log"
	qemu-img create -q -f qcow2 -F raw -b "$LAB/dom0.img" "$LAB/dom0-run.qcow2" || return 2
	accel=$("$HERE/../../scripts/qemu-accel" -v) || { echo "lab: scripts/qemu-accel failed"; return 2; }
	[ "$accel" = tcg ] || cpu=host
	echo "lab: QEMU with -accel $accel -cpu $cpu"
	qemu-system-x86_64 -machine pc -accel "$accel" -cpu "$cpu" -m 2048 -smp 2 \
		-nographic -monitor none -serial "file:$log" -no-reboot -net none \
		-kernel "$LAB/xen" \
		-append "console=com1 com1=115200,8n1 dom0_mem=768M,max:768M dom0_max_vcpus=2 noreboot" \
		-initrd "$LAB/vmlinuz console=hvc0 root=/dev/vda rw init=/sbin/xp-dom0-init panic=-1,$LAB/initrd.img" \
		-drive "file=$LAB/dom0-run.qcow2,if=virtio,format=qcow2" \
		-drive "file=$payload,if=virtio,format=raw" </dev/null >"$log.qemu" 2>&1 &
	pid=$!
	# the lab's guests are timed by the guests' own timeouts: on a machine shared with
	# other work, QEMU's session (its autogroup, where plain nice does not reach
	# across sessions) is given the CPU first; best effort, root only
	echo -10 >"/proc/$pid/autogroup" 2>/dev/null || true
	start=$(date +%s)
	while kill -0 $pid 2>/dev/null; do
		local el=$(($(date +%s) - start))
		if [ $el -gt "$tmo" ] || { [ $el -gt "${XP_XEN_DOM0_WAIT:-300}" ] && ! grep -aq XP-DOM0-UP "$log"; }; then
			echo "lab: stopping QEMU after ${el}s"
			kill $pid; sleep 2; kill -9 $pid 2>/dev/null
			break
		fi
		sleep 3
	done
	wait $pid 2>/dev/null
	echo "lab: QEMU ran $(($(date +%s) - start))s"
	grep -aq XP-DOM0-UP "$log" || return 2
	return 0
}
