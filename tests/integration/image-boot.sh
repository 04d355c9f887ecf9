#!/bin/bash
# image-boot.sh - the proof that `xenprov image build` makes disks a Linux kernel boots:
# a tiny root tarball (Debian's static busybox and an /init script) is built into an
# msdos-partitioned ext4 image, raw and qcow2, and each is booted in QEMU (KVM when
# scripts/qemu-accel finds one that works, else TCG) with Debian's own kernel and
# initrd, root=/dev/vda1 on virtio-blk. The guest's /init prints a marker on the serial
# console, writes a file to the root filesystem, remounts it read-only and powers off.
# The test then checks the marker, the file the guest wrote, and that the filesystem is
# clean (e2fsck -fn).
# A third image, GPT with a swap partition, must boot too, and the guest must be able
# to swapon the swap area xenprov formatted.
#
# A reference image made with standard tools (sfdisk + mke2fs -d) is booted too when
# the xenprov images fail (to tell a xenprov bug from a broken kernel/QEMU setup), when
# `xenprov image build` does not exist yet, or always with XP_BOOT_REFERENCE=1.
#
# Environment: XENPROV (the binary), XP_TMP (scratch dir), XP_BOOT_TIMEOUT (seconds per
# boot, default 180), XP_QEMU_ACCEL and the others scripts/qemu-accel reads. Exit 0
# pass, 1 fail, 77 skip (missing qemu-system-x86, kernel, busybox-static or e2fsprogs;
# the reason is printed).
. "$(dirname "$0")/lib/common.sh" || exit 1
TIMEOUT=${XP_BOOT_TIMEOUT:-180}
QEMU_ACCEL=$(cd "$(dirname "$0")/../../scripts" && pwd)/qemu-accel

# ---- what the test needs -------------------------------------------------------------
command -v qemu-system-x86_64 >/dev/null ||
	skip "qemu-system-x86_64 not installed (Debian package qemu-system-x86)"
need_kernel
initrd=/boot/initrd.img-${kernel#/boot/vmlinuz-}
[ -r "$initrd" ] || skip "no readable '$initrd' (initramfs-tools did not make one?)"
need_static_busybox
need sfdisk mke2fs e2fsck debugfs qemu-img timeout

scratch
cd "$T" || fail "cannot enter '$T'"

# ---- the guest: busybox + /init --------------------------------------------------------
mkdir -p root/bin root/sbin root/dev root/proc root/sys root/tmp root/run root/etc
cp "$busybox" root/bin/busybox
for a in sh ash mount umount echo cat sync mkdir uname date sleep ls grep swapon swapoff; do
	ln -s busybox "root/bin/$a"
done
for a in poweroff reboot halt; do
	ln -s ../bin/busybox "root/sbin/$a"
done
cat >root/init <<'EOF'
#!/bin/sh
# xenprov boot test guest: prove the root filesystem is mounted read-write, then stop.
PATH=/bin:/sbin
[ -e /proc/mounts ] || mount -t proc proc /proc
[ -d /sys/kernel ] || mount -t sysfs sysfs /sys
tag=none
for w in $(cat /proc/cmdline); do
	case $w in xp_tag=*) tag=${w#xp_tag=} ;; esac
done
fs=?; dev=?; mode=?
while read -r d m t o rest; do
	if [ "$m" = / ]; then dev=$d; fs=$t; mode=${o%%,*}; fi
done </proc/mounts
# a second partition is the swap area xenprov formatted: the kernel must take it
swap=none
if [ -b /dev/vda2 ]; then
	swap=failed
	swapon /dev/vda2 && grep -q '^/dev/vda2 ' /proc/swaps && swap=on
	swapoff /dev/vda2
fi
echo "tag=$tag kernel=$(uname -r)" >/xenprov-boot-ok && sync
written=no
[ -s /xenprov-boot-ok ] && written=yes
mount -o remount,ro / && sync
echo "XENPROV-BOOT-OK tag=$tag fs=$fs dev=$dev mode=$mode written=$written swap=$swap" >/dev/console
poweroff -f
EOF
chmod 755 root/init
ln -s ../init root/sbin/init
echo 'root:x:0:0:root:/:/bin/sh' >root/etc/passwd
tar --numeric-owner --owner=0 --group=0 -C root -czf root.tar.gz . || fail "cannot make root.tar.gz"

# ---- helpers -----------------------------------------------------------------------------

# The byte offset of partition 1 of a raw image.
part1_offset() {
	local start
	start=$(sfdisk -d "$1" 2>/dev/null | sed -n 's/.*1 : start= *\([0-9]*\),.*/\1/p')
	[ -n "$start" ] || return 1
	echo $((start * 512))
}

# the accelerator that works here, found by a probe (scripts/qemu-accel), never guessed
accel=$("$QEMU_ACCEL" -v) || fail "scripts/qemu-accel failed"

failures=0
report=()

# boot NAME FILE FORMAT [SWAP]: boots the image and checks what the guest did; SWAP is
# what the guest must say about /dev/vda2 (none, or on).
boot() {
	local name=$1 file=$2 format=$3 swap=${4:-none} log=$T/$1.serial start end rc
	echo "== boot $name ($file, $format, accel $accel, timeout ${TIMEOUT}s)"
	start=$(date +%s.%N)
	timeout "$TIMEOUT" qemu-system-x86_64 -machine "accel=$accel" -m 512 -smp 1 \
		-nographic -no-reboot -nic none \
		-kernel "$kernel" -initrd "$initrd" \
		-append "root=/dev/vda1 rootfstype=ext4 console=ttyS0 panic=-1 no_timer_check rw init=/init xp_tag=$name" \
		-drive "file=$file,format=$format,if=virtio" \
		</dev/null >"$log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	local secs
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	local want="XENPROV-BOOT-OK tag=$name fs=ext4 dev=/dev/vda1 mode=rw written=yes swap=$swap"
	if ! grep -qF "$want" "$log"; then
		echo "FAIL $name: no '$want' on the serial console (qemu exit $rc, ${secs}s); last lines:"
		tail -n 25 "$log" | sed 's/^/    /'
		report+=("$name: FAIL after ${secs}s")
		return 1
	fi
	[ $rc -eq 0 ] || echo "note: qemu exited $rc"
	# what the guest wrote, read back from the image, and a clean filesystem
	local raw=$file
	if [ "$format" = qcow2 ]; then
		qemu-img check -q "$file" || { echo "FAIL $name: qemu-img check after boot"; return 1; }
		raw=$T/$name.after.raw
		qemu-img convert -O raw "$file" "$raw" || return 1
	fi
	local off got
	off=$(part1_offset "$raw") || { echo "FAIL $name: no partition 1 after boot"; return 1; }
	got=$(debugfs -R 'cat /xenprov-boot-ok' "$raw?offset=$off" 2>/dev/null)
	if [ "$got" != "tag=$name kernel=${kernel#/boot/vmlinuz-}" ]; then
		echo "FAIL $name: the guest's file reads '$got'"
		return 1
	fi
	if ! e2fsck -fn "$raw?offset=$off" >"$T/$name.fsck" 2>&1; then
		echo "FAIL $name: e2fsck -fn after boot:"; sed 's/^/    /' "$T/$name.fsck"
		return 1
	fi
	[ "$raw" = "$file" ] || rm -f "$raw"
	echo "ok   $name: booted, wrote its file, clean filesystem (${secs}s)"
	report+=("$name: ok ${secs}s")
	return 0
}

# The reference: the same root, partitioned and formatted with standard tools.
reference() {
	local img=$T/reference.raw
	rm -f "$img"
	truncate -s 64M "$img"
	echo 'start=2048, type=83, bootable' | sfdisk -q "$img" >/dev/null || return 1
	local off
	off=$(part1_offset "$img") || return 1
	mke2fs -q -F -t ext4 -E "offset=$off" -d root "$img" 63M >/dev/null || return 1
	boot reference "$img" raw
}

# ---- xenprov images ------------------------------------------------------------------
if ! "$X" image build -h >/dev/null 2>&1; then
	echo "xenprov image build is not available yet; booting the reference image only"
	if reference; then
		printf '%s\n' "${report[@]}"
		skip "'xenprov image build' does not exist yet (the reference image boots)"
	fi
	fail "the reference image (sfdisk + mke2fs -d) does not boot: kernel/initrd/QEMU problem"
fi

build() { # build OUT ARGS...
	local out=$1
	shift
	echo "== xenprov image build --from root.tar.gz --size 64M --fs ext4 --no-cache $* -o $out"
	if ! "$X" image build --from root.tar.gz --size 64M --fs ext4 --no-cache "$@" -o "$out"; then
		echo "FAIL: xenprov image build $* -o $out"
		return 1
	fi
}

if build disk.raw; then
	off=$(part1_offset disk.raw)
	if [ -z "$off" ]; then
		echo "FAIL raw: no partition 1 in disk.raw:"; sfdisk -d disk.raw
		failures=$((failures + 1))
	elif ! e2fsck -fn "disk.raw?offset=$off" >raw.fsck 2>&1; then
		echo "FAIL raw: e2fsck -fn of the built image:"; sed 's/^/    /' raw.fsck
		failures=$((failures + 1))
	else
		boot raw disk.raw raw || failures=$((failures + 1))
	fi
else
	failures=$((failures + 1))
fi

if build disk.qcow2 --format qcow2; then
	if ! qemu-img check -q disk.qcow2; then
		echo "FAIL qcow2: qemu-img check of the built image"
		failures=$((failures + 1))
	else
		boot qcow2 disk.qcow2 qcow2 || failures=$((failures + 1))
	fi
else
	failures=$((failures + 1))
fi

# GPT with a swap partition: the table, and the swap area the kernel must accept
if build disk-gpt.raw --label gpt --swap 16M; then
	boot gpt-swap disk-gpt.raw raw on || failures=$((failures + 1))
else
	failures=$((failures + 1))
fi

if [ $failures -ne 0 ] || [ "${XP_BOOT_REFERENCE:-0}" = 1 ]; then
	if reference; then
		[ $failures -eq 0 ] || echo "the reference image boots: the failure is xenprov's"
	else
		echo "the reference image does not boot either: kernel/initrd/QEMU problem"
	fi
fi

printf '%s\n' "${report[@]}"
[ $failures -eq 0 ] || exit 1
exit 0
