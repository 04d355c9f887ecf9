#!/bin/bash
# pxeboot-local.sh - the bootloader's own disk paths: --local (pygrub's job, no
# network) and a LOCALBOOT label from `xenprov serve` (a system with netboot off), on
# a raw msdos image and a qcow2 GPT image made by `xenprov image build` from a root
# holding two kernels, their initrds and a grub.cfg. What the disk's config is and how
# it is read is the localboot module's (its own tests, localboot.sh); here: the
# program's handling of it: the arguments (--local, --entry, --dry-run, libxl's), the
# files copied out byte for byte as unique files, the answer, nothing left on failure;
# and how they are copied: from a raw image in the kernel (copy_file_range, sendfile
# to another filesystem such as the tmpfs libxl's /var/run/xen is), not by read(2).
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
. "$(dirname "$0")/lib/pxeboot-env.sh" || exit 1
need tar strace
UUID=3790621e-9f89-4248-85d4-bcd41c912ca9
G=$T/root
mkdir -p "$G/boot/grub" "$G/etc"
head -c 1500001 /dev/urandom >"$G/boot/vmlinuz-6.1.0-99-amd64"
head -c 700001 /dev/urandom >"$G/boot/initrd.img-6.1.0-99-amd64"
head -c 900001 /dev/urandom >"$G/boot/vmlinuz-6.1.0-98-amd64"
head -c 300003 /dev/urandom >"$G/boot/extra.img"
echo guest >"$G/etc/hostname"
cat >"$G/boot/grub/grub.cfg" <<C
set default="0"
menuentry 'Debian GNU/Linux' {
	search --no-floppy --fs-uuid --set=root $UUID
	linux	/boot/vmlinuz-6.1.0-99-amd64 root=UUID=$UUID ro quiet
	initrd	/boot/initrd.img-6.1.0-99-amd64
}
menuentry 'Rescue' {
	linux	/boot/vmlinuz-6.1.0-98-amd64 root=UUID=$UUID ro single
}
menuentry 'Two initrds' {
	linux	/boot/vmlinuz-6.1.0-99-amd64 root=UUID=$UUID ro
	initrd	/boot/initrd.img-6.1.0-99-amd64 /boot/extra.img
}
C
cat "$G/boot/initrd.img-6.1.0-99-amd64" "$G/boot/extra.img" >"$T/two-initrds"
tar -C "$G" -cf "$T/root.tar" . || fail "tar"
for img in "msdos.img --label msdos" "gpt.qcow2 --label gpt --format qcow2"; do
	set -- $img
	run image build -q --from "$T/root.tar" -o "$T/$1" --uuid "$UUID" "${@:2}"
	[ "$rc" = 0 ] || fail "image build $1: $(<"$T/err")"
done

run pxeboot --local --dry-run "$T/msdos.img"
[ "$rc" = 0 ] || fail "--local --dry-run: exit $rc: $(<"$T/err")"
out_has "disk:    grub2 config /boot/grub/grub.cfg"
out_has "label:   Debian GNU/Linux"
out_has "kernel:  /boot/vmlinuz-6.1.0-99-amd64"
out_has "initrd:  /boot/initrd.img-6.1.0-99-amd64"
out_has "args:    root=UUID=$UUID ro quiet"

# 1. --local as libxl runs it (bootloader_args = ['--local']), both images; --entry
for img in msdos.img gpt.qcow2; do
	truncate -s 0 "$T/a1"
	timeout 60 "$XPB" --output="$T/a1" --output-format=simple0 --output-directory="$T/out" \
		--local "$T/$img" >"$T/stdout" 2>"$T/err" || fail "--local $img: $(<"$T/err")"
	answer "$T/a1" simple0
	same "$K" "$G/boot/vmlinuz-6.1.0-99-amd64"
	same "$RD" "$G/boot/initrd.img-6.1.0-99-amd64"
	[ "$ARGS" = "root=UUID=$UUID ro quiet" ] || fail "$img: args '$ARGS'"
	err_has "the disk's grub2 config /boot/grub/grub.cfg, entry 'Debian GNU/Linux'"
	rm -f "$T/out"/*
done
timeout 60 "$XPB" --output="$T/a2" --output-format=sxp --output-directory="$T/out" --local \
	--entry=Rescue --args="console=hvc0" "$T/msdos.img" 2>"$T/err" || fail "--entry: $(<"$T/err")"
answer "$T/a2" sxp
same "$K" "$G/boot/vmlinuz-6.1.0-98-amd64"
[ -z "$RD" ] || fail "the rescue entry has no initrd, got '$RD'"
[ "$ARGS" = "root=UUID=$UUID ro single console=hvc0" ] || fail "--entry args '$ARGS'"
ok
rm -f "$T/out"/*
# an entry with two initrds: one ramdisk, the first then the second (raw and qcow2);
# from the raw image every byte of the three files goes from the image to the output
# in the kernel: the successful copy_file_range and sendfile calls strace sees add up
# to their sizes. The output directory: $T/out, and a tmpfs when there is one apart
# from $T's filesystem (libxl's /var/run/xen is one): there copy_file_range cannot
# (EXDEV) and sendfile does it.
OUTS=$T/out
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$T")" ]; then
	SHM=$(mktemp -d /dev/shm/xp-pxeboot-local.XXXXXX) || fail "mktemp in /dev/shm"
	at_exit rm -rf "$SHM"
	OUTS="$OUTS $SHM"
fi
want=$(($(stat -c %s "$G/boot/vmlinuz-6.1.0-99-amd64") + $(stat -c %s "$T/two-initrds")))
for o in $OUTS; do
	for img in msdos.img gpt.qcow2; do
		timeout 60 "$XPB" --output="$T/a5" --output-format=simple0 --output-directory="$o" \
			--local --entry='Two initrds' "$T/$img" 2>"$T/err" ||
			fail "two initrds, $img into $o: $(<"$T/err")"
		answer "$T/a5" simple0
		same "$K" "$G/boot/vmlinuz-6.1.0-99-amd64"
		same "$RD" "$T/two-initrds"
		rm -f "$o"/*
	done
	# the same under strace (LeakSanitizer cannot run under ptrace; the run above had it)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout 60 strace -f -qq \
		-e trace=copy_file_range,sendfile -e status=successful -o "$T/strace" "$XPB" \
		--output="$T/a5" --output-format=simple0 --output-directory="$o" --local \
		--entry='Two initrds' "$T/msdos.img" 2>"$T/err" || fail "two initrds under strace: $(<"$T/err")"
	answer "$T/a5" simple0
	same "$RD" "$T/two-initrds"
	rm -f "$o"/*
	inkernel=$(sed -n 's/.*) = \([0-9][0-9]*\)$/\1/p' "$T/strace" | awk '{ s += $1 } END { print s + 0 }')
	[ "$inkernel" = "$want" ] ||
		fail "into $o: $inkernel bytes copied in the kernel, want $want: $(cat "$T/strace")"
	ok
done
# no such entry: exit 1, nothing left, nothing written
: >"$T/a3"
timeout 60 "$XPB" --output="$T/a3" --output-format=simple0 --output-directory="$T/out" --local \
	--entry=nosuch "$T/msdos.img" 2>"$T/err" && fail "--entry=nosuch succeeded"
[ "$(files_in "$T/out")" = 0 ] || fail "files left: $(ls "$T/out")"
[ ! -s "$T/a3" ] || fail "an answer was written"
ok
# --local needs the disk
run pxeboot --local --dry-run
[ "$rc" = 2 ] || fail "--local without a disk: exit $rc"
err_has "--local needs the guest's DISK"

# 2. LOCALBOOT from the boot server: a system with netboot off gets a config that
# boots the local disk; the bootloader boots the disk's default entry
srv_settings
srv_set pool.lan.range 10.79.0.100-10.79.0.199
srv_set pool.lan.netmask 255.255.255.0
echo k >"$T/vmlinuz"
echo i >"$T/initrd"
"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" >/dev/null || fail "distro add"
"$X" system add local1 --mac 00:16:3e:aa:aa:aa --ip 10.79.0.70 --distro deb --netboot off \
	>/dev/null || fail "system add"
srv_ns 10.79.0.1/24
dom0_add d0 52:54:00:d0:00:09 10.79.0.2/24
srv_start
pb_ok d0 --output="$T/a4" --output-format=simple0 --output-directory="$T/out" \
	--mac=00:16:3e:aa:aa:aa --interface=xenbr0 "$T/gpt.qcow2"
answer "$T/a4" simple0
same "$K" "$G/boot/vmlinuz-6.1.0-99-amd64"
same "$RD" "$G/boot/initrd.img-6.1.0-99-amd64"
[ "$ARGS" = "root=UUID=$UUID ro quiet" ] || fail "LOCALBOOT args '$ARGS'"
err_has "label 'local': LOCALBOOT, the guest's own disk"
err_has "released 10.79.0.70"
rm -f "$T/out"/*
# the dry run says what it would boot
timeout 60 ip netns exec d0 "$X" pxeboot --dry-run --mac 00:16:3e:aa:aa:aa -i xenbr0 \
	"$T/gpt.qcow2" >"$T/stdout" 2>"$T/err" || fail "LOCALBOOT dry run: $(<"$T/err")"
out_has "label:   local (Boot from local disk)"
out_has "disk:    grub2 config /boot/grub/grub.cfg"
out_has "kernel:  /boot/vmlinuz-6.1.0-99-amd64"
# without a disk, LOCALBOOT is an error that says so
timeout 60 ip netns exec d0 "$X" pxeboot --dry-run --mac 00:16:3e:aa:aa:aa -i xenbr0 \
	>"$T/stdout" 2>"$T/err" && fail "LOCALBOOT without a disk succeeded"
err_has "label 'local' boots the guest's own disk (LOCALBOOT) and no disk was given"
echo "PASS: $n checks"
