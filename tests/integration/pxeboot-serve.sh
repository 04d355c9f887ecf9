#!/bin/bash
# pxeboot-serve.sh - the domU network bootloader (xenprov-pxeboot, as libxl runs it)
# against `xenprov serve` in network namespaces: a "dom0" namespace whose xenbr0 holds
# a veth to the boot network. The guest's MAC from --mac, from a vif spec in odd
# spacing, from --config, --domain and the config found by the disk; DHCP, the
# pxelinux config by MAC, by hex IP shortened, over TFTP and HTTP; the kernel and
# initrd written as unique files byte-identical to the distro's; the answer in
# simple0, simple and sxp read as libxl and xend read them; IPAPPEND 1 and 2 expanded;
# a lost first OFFER (dropped by nftables in dom0) and a DHCP relay (ISC dhcrelay);
# nothing left in the output directory when a boot fails; --dry-run; --runas.
# No Xen runs: the bootloader is run with the arguments libxl 4.17 gives it
# (libxl_bootloader.c make_bootloader_args), by the test itself.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
. "$(dirname "$0")/lib/pxeboot-env.sh" || exit 1

srv_settings
srv_set pool.lan.range 10.79.0.100-10.79.0.199
srv_set pool.lan.netmask 255.255.255.0
srv_set pool.lan.router 10.79.0.1
head -c 1000003 /dev/urandom >"$T/vmlinuz"
head -c 300001 /dev/urandom >"$T/initrd"
"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" \
	--kernel-options "console=hvc0 root=/dev/xvda1" >/dev/null || fail "distro add"
"$X" system add guest1 --mac 00:16:3e:11:11:11 --ip 10.79.0.50 --distro deb >/dev/null ||
	fail "system add guest1"
# a guest of its own for the lost OFFER: the server's per-client rate limit must not
# drop a DISCOVER of a MAC booted many times just before
"$X" system add guest6 --mac 00:16:3e:66:66:66 --ip 10.79.0.56 --distro deb >/dev/null ||
	fail "system add guest6"
# plain configs in the TFTP root: guest2 by its MAC, with IPAPPEND 3 and an initrd=
# in APPEND that INITRD overrides; any 10.79.0.x guest without one by the shortened hex
# address 0A4F00; a broken one for guest4 whose initrd is missing
mkdir -p "$R/pxelinux.cfg" "$R/img"
cp "$T/vmlinuz" "$R/img/vmlinuz"
cp "$T/initrd" "$R/img/initrd.gz"
cat >"$R/pxelinux.cfg/01-00-16-3e-22-22-22" <<'C'
MENU TITLE guest two
DEFAULT rescue
LABEL install
	KERNEL img/vmlinuz
	APPEND auto=true
LABEL rescue
	MENU LABEL Rescue system
	KERNEL img/vmlinuz rescue/enable=true
	APPEND root=/dev/xvda1 initrd=img/old.gz quiet
	INITRD img/initrd.gz
	IPAPPEND 3
C
cat >"$R/pxelinux.cfg/0A4F00" <<'C'
DEFAULT by-hex
LABEL by-hex
	LINUX /img/vmlinuz
	APPEND initrd=::img/initrd.gz by=hex
LABEL menu
	KERNEL menu.c32
C
sed 's/by-hex/relayed/' "$R/pxelinux.cfg/0A4F00" >"$R/pxelinux.cfg/01-00-16-3e-55-55-55"
cat >"$R/pxelinux.cfg/01-00-16-3e-44-44-44" <<'C'
DEFAULT broken
LABEL broken
	KERNEL img/vmlinuz
	INITRD img/no-such-initrd
C

srv_ns 10.79.0.1/24
dom0_add d0 52:54:00:d0:00:01 10.79.0.2/24
srv_start
D0=(--interface=xenbr0 --output-directory="$T/out")
truncate -s 64M "$T/disk.img"

# 1. as libxl 4.17 runs it: --output, simple0, --output-directory, bootloader_args
# (here --mac=), the disk last
: >"$T/answer0"
pb_ok d0 --output="$T/answer0" --output-format=simple0 --output-directory="$T/out" \
	--mac=00:16:3e:11:11:11 --interface=xenbr0 "$T/disk.img"
answer "$T/answer0" simple0
case "$K" in "$T/out/boot_kernel."??????) ok ;; *) fail "kernel file '$K'" ;; esac
case "$RD" in "$T/out/boot_ramdisk."??????) ok ;; *) fail "ramdisk file '$RD'" ;; esac
same "$K" "$T/vmlinuz"
same "$RD" "$T/initrd"
[ "$(files_in "$T/out")" = 2 ] || fail "the output directory holds $(files_in "$T/out") files, want 2"
case "$ARGS" in *console=hvc0*root=/dev/xvda1*) ok ;; *) fail "args '$ARGS'" ;; esac
case "$ARGS" in *initrd=*) fail "args still name the initrd: '$ARGS'" ;; *) ok ;; esac
err_has "lease 10.79.0.50 from 10.79.0.1"
err_has "config tftp://10.79.0.1/pxelinux.cfg/01-00-16-3e-11-11-11"
err_has "released 10.79.0.50"
grep -q "xenprov-pxeboot: kernel tftp://10.79.0.1/distros/deb/kernel: 1000003 bytes" "$T/err" ||
	fail "no kernel line: $(cat "$T/err")"
ok
rm -f "$T/out"/*

# 2. the MAC from a vif spec as bootloader_args may hold it (pypxeboot's regex missed
# lower case and spaces): spaces around ',' and '=', upper case, its bridge the
# interface; the answer in simple (newlines) and sxp
pb_ok d0 --output="$T/answer1" --output-format=simple --output-directory="$T/out" \
	"  mac = 00:16:3E:11:11:11 ,  bridge = xenbr0 " "$T/disk.img"
answer "$T/answer1" simple
same "$K" "$T/vmlinuz"
same "$RD" "$T/initrd"
err_has "DHCP on xenbr0 for 00:16:3e:11:11:11"
rm -f "$T/out"/*
pb_ok d0 --output-directory="$T/out" --output-format=sxp --vif="bridge=xenbr0,mac=00:16:3e:11:11:11" \
	"$T/disk.img"
printf '%s' "$out" >"$T/answer2"
answer "$T/answer2" sxp
same "$K" "$T/vmlinuz"
same "$RD" "$T/initrd"
case "$ARGS" in *console=hvc0*) ok ;; *) fail "sxp args '$ARGS'" ;; esac
rm -f "$T/out"/*

# 3. the MAC from the guest's xl config: --config=FILE, --domain=NAME in --config-dir,
# and, with neither, the config whose disk= is the disk libxl passed
mkdir -p "$T/xen"
cat >"$T/xen/web1.cfg" <<C
name = "web1"
bootloader = "xenprov-pxeboot"
disk = ['format=raw, vdev=xvda, access=rw, target=$T/disk.img']
vif = [ 'bridge=xenbr0, mac=00:16:3e:11:11:11', 'mac=00:16:3e:99:99:99' ]
C
cat >"$T/xen/other.cfg" <<C
disk = ['$T/other.img,raw,xvda,w']
vif = ['mac=00:16:3e:99:99:99']
C
cat >"$T/xen/nomac.cfg" <<C
vif = ['bridge=xenbr0']
C
for how in "--config=$T/xen/web1.cfg" "--domain=web1" ""; do
	pb_ok d0 --output="$T/answer3" --output-format=simple0 --output-directory="$T/out" \
		--config-dir="$T/xen" $how "$T/disk.img"
	answer "$T/answer3" simple0
	same "$K" "$T/vmlinuz"
	err_has "lease 10.79.0.50"
	rm -f "$T/out"/*
done
# a vif without mac=: the error says what to add; nothing is written
: >"$T/answer4"
pb d0 --output="$T/answer4" --output-format=simple0 --output-directory="$T/out" \
	--config="$T/xen/nomac.cfg" "$T/disk.img"
[ "$rc" = 1 ] || fail "a vif without mac=: exit $rc"
err_has "vif[0]: the vif 'bridge=xenbr0' has no mac="
err_has "hint: add mac=xx:xx:xx:xx:xx:xx to the vif, or --mac=... to bootloader_args"
[ ! -s "$T/answer4" ] || fail "an answer was written"
pb d0 --output="$T/answer4" --output-directory="$T/out" "$T/disk.img"
[ "$rc" = 1 ] || fail "no MAC anywhere: exit $rc"
err_has "no config in '/etc/xen' uses the disk '$T/disk.img'"
[ "$(files_in "$T/out")" = 0 ] || fail "files left in the output directory: $(ls "$T/out")"
ok

# 4. over HTTP (xenprov serve's port 8080 holds the same tree)
boot_ok d0 "$T/vmlinuz" "$T/initrd" "*" "${D0[@]}" --mac=00:16:3e:11:11:11 \
	--http=http://10.79.0.1:8080 "$T/disk.img"
err_has "config http://10.79.0.1:8080/pxelinux.cfg/01-00-16-3e-11-11-11"
err_has "kernel http://10.79.0.1:8080/distros/deb/kernel: 1000003 bytes"

# 5. a plain config by MAC: its DEFAULT label, KERNEL's extra words, INITRD over
# APPEND's initrd=, IPAPPEND 3 expanded with the lease (ip=CLIENT:SERVER:GW:MASK and
# BOOTIF=01-MAC); the lease is kept since the guest was given its address; libxl's
# --args= (xl's extra=) comes last
pb_ok d0 --output="$T/answer6" --output-format=simple0 "${D0[@]}" --mac=00:16:3e:22:22:22 \
	--args="console=hvc0" "$T/disk.img"
answer "$T/answer6" simple0
same "$K" "$T/vmlinuz"
same "$RD" "$T/initrd"
ip2=$(sed -n 's/.*lease \(10\.79\.0\.1[0-9][0-9]\) from.*/\1/p' "$T/err")
[ -n "$ip2" ] || fail "guest2 got no pool address: $(cat "$T/err")"
want="rescue/enable=true root=/dev/xvda1 quiet ip=$ip2:10.79.0.1:10.79.0.1:255.255.255.0 BOOTIF=01-00-16-3e-22-22-22 console=hvc0"
[ "$ARGS" = "$want" ] || fail "args '$ARGS', want '$want'"
ok
err_has "keeping the lease of $ip2: the guest was given it (IPAPPEND 1)"
err_has "menu 'guest two'"
rm -f "$T/out"/*
# --label picks another; --keep-lease keeps it
pb_ok d0 --output="$T/answer6" --output-format=simple0 "${D0[@]}" --mac=00:16:3e:22:22:22 \
	--label=install --keep-lease "$T/disk.img"
answer "$T/answer6" simple0
[ "$ARGS" = "auto=true" ] || fail "label install: args '$ARGS'"
[ -z "$RD" ] || fail "label install has no initrd, got '$RD'"
[ "$(files_in "$T/out")" = 1 ] || fail "label install: $(files_in "$T/out") files"
err_has "(--keep-lease)"
rm -f "$T/out"/*

# 6. --dry-run: pxelinux's search down to the hex address shortened (0A4F00), "/" and
# "::" names, nothing fetched but the config, nothing written; --json
run pxeboot --dry-run --mac 00:16:3e:33:33:33 --interface xenbr0 --timeout 10
[ "$rc" = 1 ] || fail "dry run outside the namespace: exit $rc"
err_has "no interface 'xenbr0' in dom0"
timeout 60 ip netns exec d0 "$X" pxeboot --dry-run --mac 00:16:3e:33:33:33 --interface xenbr0 \
	>"$T/stdout" 2>"$T/err" || fail "dry run: $(cat "$T/err")"
grep -q "^lease:   10.79.0.1[0-9][0-9]/24 from 10.79.0.1, router 10.79.0.1, next server 10.79.0.1, file pxelinux.0$" "$T/stdout" ||
	fail "dry run lease line: $(cat "$T/stdout")"
out_has "config:  tftp://10.79.0.1/pxelinux.cfg/0A4F00"
out_has "label:   by-hex"
out_has "kernel:  tftp://10.79.0.1//img/vmlinuz"
out_has "initrd:  tftp://10.79.0.1/img/initrd.gz"
out_has "args:    by=hex"
err_has "(3 names not found before it)"
timeout 60 ip netns exec d0 "$X" pxeboot --dry-run --json --mac 00:16:3e:11:11:11 -i xenbr0 \
	>"$T/stdout" 2>"$T/err" || fail "dry run --json: $(cat "$T/err")"
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
assert p["lease"]["ip"] == "10.79.0.50" and p["lease"]["prefix"] == 24, p
assert p["kernel"] == "tftp://10.79.0.1/distros/deb/kernel", p
assert p["initrd"] == ["tftp://10.79.0.1/distros/deb/initrd"], p
assert "console=hvc0" in p["args"] and p["local"] is False, p
' "$T/stdout" || fail "dry run JSON: $(cat "$T/stdout")"
ok

# 7. failures leave nothing behind: the kernel fetched and its initrd missing; a label
# that boots a COM32 module; a label that does not exist
for c in "--mac=00:16:3e:44:44:44|initrd tftp://10.79.0.1/img/no-such-initrd: no such file on the server" \
	"--mac=00:16:3e:33:33:33 --label=menu|label 'menu' boots a COM32 module ('menu.c32')" \
	"--mac=00:16:3e:11:11:11 --label=nosuch|no label 'nosuch'"; do
	: >"$T/answer7"
	pb d0 --output="$T/answer7" --output-format=simple0 "${D0[@]}" ${c%%|*} "$T/disk.img"
	[ "$rc" = 1 ] || fail "${c%%|*}: exit $rc"
	err_has "${c#*|}"
	[ "$(files_in "$T/out")" = 0 ] || fail "${c%%|*}: files left: $(ls "$T/out")"
	[ ! -s "$T/answer7" ] || fail "${c%%|*}: an answer was written"
	ok
done

# 8. a lost first OFFER: dom0's nftables drops the first datagram to port 68; the
# DISCOVER is sent again and the boot goes on
lose d0 0
boot_ok d0 "$T/vmlinuz" "$T/initrd" "*" "${D0[@]}" --mac=00:16:3e:66:66:66 "$T/disk.img"
err_has "lease 10.79.0.56 from 10.79.0.1 (2 DISCOVER, 1 REQUEST)"
lost d0

# 9. through a DHCP relay: dom0 d1 on 10.80.0.0/24 behind ISC dhcrelay (giaddr
# 10.80.0.1); the files come over dom0's route through the relay's router
need dhcrelay
srv_set pool.far.range 10.80.0.100-10.80.0.150
srv_set pool.far.netmask 255.255.255.0
srv_set pool.far.router 10.80.0.1
relay_ns rl$TAG 10.79.0.3/24 10.80.0.1/24 10.80.0.0/24
dom0_add d1 52:54:00:d1:00:01 10.80.0.2/24 rl$TAG br1
ip -n d1 route add default via 10.80.0.1
ip netns exec rl$TAG dhcrelay -4 -d -q -iu up0 -id br1 10.79.0.1 >"$T/relay.log" 2>&1 &
PIDS+=($!)
wait_udp rl$TAG 67 $! || fail "dhcrelay did not bind port 67: $(tail -5 "$T/relay.log")"
srv_reloaded_past 0
boot_ok d1 "$T/vmlinuz" "$T/initrd" "by=hex" "${D0[@]}" --mac=00:16:3e:55:55:55 "$T/disk.img"
grep -q "lease 10.80.0.1[0-4][0-9] from 10.79.0.1 via relay 10.80.0.1" "$T/err" ||
	fail "no lease through the relay: $(cat "$T/err")"
ok
rm -f "$T/out"/*

# 10. --runas (libxl's bootloader_restrict): the network work as nobody, the files
# still named in a directory only root may write
mkdir -m 700 "$T/rootonly"
pb_ok d0 --output="$T/answer10" --output-format=simple0 --output-directory="$T/rootonly" \
	--runas="$(id -u nobody)" --quiet --mac=00:16:3e:11:11:11 --interface=xenbr0 "$T/disk.img"
answer "$T/answer10" simple0
same "$K" "$T/vmlinuz"
same "$RD" "$T/initrd"
[ ! -s "$T/err" ] || fail "--quiet printed: $(cat "$T/err")"
ok
echo "PASS: $n checks"
