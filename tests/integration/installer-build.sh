#!/bin/bash
# installer-build.sh - `xenprov installer build` makes the autoinstall installer: a copy
# of the host's kernel and a gzip newc initramfs that cpio(1) lists with /init, the
# udhcpc script, the modules the network and disks need (and their dependencies from
# modules.dep, listed dependencies first for /init), a static busybox, xenprov and every
# library ldd(1) names, the loader included; extracted, its xenprov runs under chroot
# from the libraries inside (--version), and its busybox too. --modules adds one with
# its dependency; an unknown module, a kernel not named vmlinuz-RELEASE and a dynamic
# busybox are refused with clear errors and nothing written.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need cpio zcat ldd chroot unshare
[ "$(id -u)" = 0 ] || skip "chroot needs root"
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$KERNEL" ] || skip "no /boot/vmlinuz-* on this host"
REL=${KERNEL#/boot/vmlinuz-}
[ -f "/lib/modules/$REL/modules.dep" ] || skip "no modules for $REL"
[ -x /bin/busybox ] || skip "no busybox"
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || skip "busybox is not busybox-static"
T=$XP_TMP/inst
rm -rf "$T"
mkdir -p "$T"
at_exit rm -rf "$T"

"$X" installer build -o "$T/out" --modules vfat --json >"$T/json" 2>"$T/err" ||
	fail "installer build: $(cat "$T/err")"
python3 - "$T/json" "$REL" <<'PY' || fail "--json: $(cat "$T/json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["release"] == sys.argv[2] and j["modules"] >= 11 and j["libraries"] >= 2, j
assert j["initrd_size"] > 0, j
PY
ok
cmp -s "$KERNEL" "$T/out/kernel" || fail "the kernel is not a copy of $KERNEL"
ok
zcat "$T/out/initrd" | cpio -t --quiet >"$T/list" 2>"$T/err" || fail "cpio -t: $(cat "$T/err")"
zcat "$T/out/initrd" | cpio -tv --quiet 2>/dev/null | grep -q ' init$' || fail "no /init"
ok
has() { grep -qxF -- "$1" "$T/list" || fail "the initramfs lacks $1"; ok; }
for f in init etc/xenprov/udhcpc.sh etc/xenprov/modules bin/busybox bin/xenprov dev/console; do
	has "$f"
done
for m in virtio_net virtio_blk virtio_pci xen-netfront xen-blkfront e1000 e1000e igb ixgbe ahci nvme ext4 \
	crc32c_generic vfat fat; do
	p=$(grep -E "(^|/)$m\.ko(\.[a-z]+)?:" "/lib/modules/$REL/modules.dep" | cut -d: -f1)
	if [ -z "$p" ]; then
		grep -qE "/$m\.ko" "/lib/modules/$REL/modules.builtin" || fail "$m: neither module nor built in"
		continue
	fi
	has "lib/modules/$REL/$p"
done
# every library ldd names, at its own path
ldd "$X" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' >"$T/libs"
[ -s "$T/libs" ] || fail "ldd named no library"
while read -r l; do has "${l#/}"; done <"$T/libs"
# /init's list: every module's dependencies before it
mkdir "$T/root"
(cd "$T/root" && zcat "$T/out/initrd" | cpio -id --quiet) || fail "cpio -id"
python3 - "$T/root/etc/xenprov/modules" "/lib/modules/$REL/modules.dep" "$REL" <<'PY' ||
import sys
order = [l.strip().split("/", 1)[1] for l in open(sys.argv[1]) if l.strip()]
deps = {}
for l in open(sys.argv[2]):
    k, _, v = l.partition(":")
    deps[k] = v.split()
pos = {m: i for i, m in enumerate(order)}
for m in order:
    for d in deps[m]:
        assert d in pos and pos[d] < pos[m], (m, d)
assert any(m.endswith("/failover.ko") for m in order), order
PY
	fail "the module order is not dependencies first: $(cat "$T/root/etc/xenprov/modules")"
ok
head -1 "$T/root/init" | grep -qxF '#!/bin/busybox sh' || fail "/init is not a busybox script"
sh -n "$T/root/init" && sh -n "$T/root/etc/xenprov/udhcpc.sh" || fail "a script has a syntax error"
ok
# the copy runs from the libraries inside (proc mounted for the sanitizer builds)
mkdir -p "$T/root/proc"
out=$(unshare --mount --fork sh -c "mount -t proc proc '$T/root/proc' &&
	exec chroot '$T/root' /bin/xenprov --version" 2>"$T/err") ||
	fail "xenprov under chroot: $(cat "$T/err")"
echo "$out" | grep -q '^xenprov ' || fail "xenprov --version under chroot: $out"
ok
chroot "$T/root" /bin/busybox sh -c 'echo ok' | grep -qx ok || fail "busybox under chroot"
ok
# libcurl, loaded at the first request (not named by ldd), is inside too: `installer
# run` under chroot gets as far as its request to a closed port (not "cannot load")
echo "xenprov.server=http://127.0.0.1:9 xenprov.system=vm xenprov.mac=52:54:00:00:00:01 xenprov.token=t" >"$T/root/cmdline"
unshare --mount --fork sh -c "mount -t proc proc '$T/root/proc' &&
	exec chroot '$T/root' /bin/xenprov installer run --cmdline /cmdline" >"$T/out.run" 2>"$T/err"
[ $? = 1 ] || fail "installer run under chroot: $(cat "$T/err")"
grep -q "127.0.0.1" "$T/err" && ! grep -qi "libcurl" "$T/err" || fail "installer run under chroot: $(cat "$T/err")"
ok

# refusals: nothing written
"$X" installer build -o "$T/bad" --modules no_such_module 2>"$T/err" && fail "an unknown module was taken"
grep -qF "kernel $REL has no module 'no_such_module'" "$T/err" || fail "unknown module: $(cat "$T/err")"
[ ! -e "$T/bad" ] || fail "a refused build wrote $T/bad"
ok
cp "$KERNEL" "$T/kernel-odd"
"$X" installer build -o "$T/bad" --kernel "$T/kernel-odd" 2>"$T/err" && fail "a kernel without a release was taken"
grep -qF "cannot tell the kernel's release from its name" "$T/err" || fail "odd kernel: $(cat "$T/err")"
ok
"$X" installer build -o "$T/bad" --busybox /bin/sh 2>"$T/err" && fail "a dynamic busybox was taken"
grep -qF "busybox is not a static program" "$T/err" || fail "dynamic busybox: $(cat "$T/err")"
ok
"$X" installer build --bogus 2>/dev/null
[ $? = 2 ] || fail "an unknown option is not a usage error"
ok
pass
