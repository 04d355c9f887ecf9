#!/bin/bash
# pxeboot-dnsmasq.sh - the domU network bootloader against dnsmasq, a boot server
# xenprov did not write (its own DHCP, PXE options and TFTP server, which knows no
# windowsize), in network namespaces: a reserved address and the pxelinux config by
# MAC over TFTP; a boot file that is an http:// URL (the files then come over HTTP
# from its directory, as lpxelinux does); pxelinux's options 209 and 210 (RFC 5071);
# a lost first ACK (the REQUEST is sent again); a dnsmasq DHCP relay. No Xen runs:
# the bootloader is run with libxl 4.17's arguments by the test.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
. "$(dirname "$0")/lib/pxeboot-env.sh" || exit 1
need dnsmasq

R=$T/tftp
mkdir -p "$R/pxelinux.cfg" "$R/img" "$R/boot/pxelinux.cfg" "$T/www/boot/pxelinux.cfg" "$T/www/boot/img"
head -c 2000001 /dev/urandom >"$R/img/vmlinuz"
head -c 500007 /dev/urandom >"$R/img/initrd"
cp "$R/img/vmlinuz" "$R/img/initrd" "$T/www/boot/img/"
cat >"$R/pxelinux.cfg/01-00-16-3e-11-11-11" <<'C'
DEFAULT linux
LABEL linux
	KERNEL img/vmlinuz
	INITRD img/initrd
	APPEND root=/dev/xvda1 console=hvc0
	IPAPPEND 2
C
cat >"$T/www/boot/pxelinux.cfg/default" <<'C'
DEFAULT web
LABEL web
	KERNEL img/vmlinuz
	APPEND initrd=img/initrd over=http
C
# 209 names the config; 210's prefix replaces the boot file's directory
cat >"$R/boot/special.cfg" <<'C'
DEFAULT special
LABEL special
	KERNEL ::img/vmlinuz
	INITRD /img/initrd
	APPEND via=209
C
srv_ns 10.78.0.1/24
ip netns exec "$SRV" python3 -m http.server 8081 --bind 10.78.0.1 --directory "$T/www" \
	>"$T/http.log" 2>&1 &
PIDS+=($!)
cat >"$T/dnsmasq.conf" <<C
port=0
interface=br0
bind-interfaces
user=root
dhcp-leasefile=$T/dnsmasq.leases
dhcp-range=10.78.0.100,10.78.0.150,255.255.255.0,10m
dhcp-range=10.81.0.100,10.81.0.150,255.255.255.0,10m
dhcp-option=option:router,10.78.0.1
dhcp-host=00:16:3e:11:11:11,10.78.0.60
dhcp-host=00:16:3e:77:77:77,set:web
dhcp-host=00:16:3e:88:88:88,set:opt
dhcp-boot=tag:web,http://10.78.0.1:8081/boot/pxelinux.0
dhcp-boot=tag:!web,pxelinux.0
dhcp-option-force=tag:opt,209,special.cfg
dhcp-option-force=tag:opt,210,boot/
enable-tftp
tftp-root=$R
log-dhcp
C
ip netns exec "$SRV" dnsmasq --conf-file="$T/dnsmasq.conf" --no-daemon >"$T/dnsmasq.log" 2>&1 &
DNSMASQ=$!
PIDS+=($DNSMASQ)
fail_context() { tail -20 "$T/dnsmasq.log" | sed 's/^/  dnsmasq: /'; }
wait_udp "$SRV" 67 $DNSMASQ || fail "dnsmasq did not bind port 67"
_http_up() { ip netns exec "$SRV" ss -Hltn "sport = :8081" | grep -q .; }
wait_until 10 _http_up || fail "python's http.server did not listen: $(cat "$T/http.log")"
dom0_add d0 52:54:00:d0:00:02 10.78.0.2/24
D0=(--interface=xenbr0 --output-directory="$T/out")
truncate -s 16M "$T/disk.img"

# 1. a reservation, the config by MAC over dnsmasq's TFTP (blksize taken, windowsize
# not: dnsmasq knows none), IPAPPEND 2
boot_ok d0 "$R/img/vmlinuz" "$R/img/initrd" "root=/dev/xvda1 console=hvc0 BOOTIF=01-00-16-3e-11-11-11" \
	"${D0[@]}" --mac=00:16:3e:11:11:11 "$T/disk.img"
err_has "lease 10.78.0.60 from 10.78.0.1 (1 DISCOVER, 1 REQUEST)"
err_has "config tftp://10.78.0.1/pxelinux.cfg/01-00-16-3e-11-11-11"
err_has "kernel tftp://10.78.0.1/img/vmlinuz: 2000001 bytes"
err_has "(TFTP blksize 1468, windowsize 1)"
err_has "released 10.78.0.60"
# the RELEASE reached dnsmasq: the address is free again (its lease file drops it)
wait_until 5 sh -c "! grep -q '10.78.0.60' '$T/dnsmasq.leases'" ||
	fail "dnsmasq still holds the lease: $(cat "$T/dnsmasq.leases")"
ok

# 2. a boot file that is an http:// URL: the config and files from its directory
boot_ok d0 "$R/img/vmlinuz" "$R/img/initrd" "over=http" "${D0[@]}" --mac=00:16:3e:77:77:77 "$T/disk.img"
err_has "config http://10.78.0.1:8081/boot/pxelinux.cfg/default"
err_has "kernel http://10.78.0.1:8081/boot/img/vmlinuz: 2000001 bytes"

# 3. options 209 and 210: that config, under that prefix, no search
boot_ok d0 "$R/img/vmlinuz" "$R/img/initrd" "via=209" "${D0[@]}" --mac=00:16:3e:88:88:88 "$T/disk.img"
err_has "config tftp://10.78.0.1/boot/special.cfg"
err_has "kernel tftp://10.78.0.1/img/vmlinuz: 2000001 bytes"
err_has "initrd tftp://10.78.0.1//img/initrd: 500007 bytes"

# 4. a lost first ACK: dom0's nftables drops the second datagram to port 68; the
# REQUEST is sent again
lose d0 1
boot_ok d0 "$R/img/vmlinuz" "$R/img/initrd" "*" "${D0[@]}" --mac=00:16:3e:11:11:11 "$T/disk.img"
err_has "lease 10.78.0.60 from 10.78.0.1 (1 DISCOVER, 2 REQUEST)"
lost d0

# 5. through dnsmasq as a DHCP relay (its --dhcp-relay) on 10.81.0.0/24
relay_ns rl$TAG 10.78.0.3/24 10.81.0.1/24 10.81.0.0/24
dom0_add d1 52:54:00:d1:00:02 10.81.0.2/24 rl$TAG br1
ip -n d1 route add default via 10.81.0.1
ip netns exec rl$TAG dnsmasq --port=0 --no-daemon --user=root --pid-file="$T/relay.pid" \
	--interface=br1 --dhcp-relay=10.81.0.1,10.78.0.1 >"$T/relay.log" 2>&1 &
PIDS+=($!)
wait_udp rl$TAG 67 $! || fail "the dnsmasq relay did not bind port 67: $(tail -5 "$T/relay.log")"
boot_ok d1 "$R/img/vmlinuz" "$R/img/initrd" "*" "${D0[@]}" --mac=00:16:3e:11:11:11 "$T/disk.img"
grep -q "lease 10.81.0.1[0-5][0-9] from 10.78.0.1 via relay 10.81.0.1" "$T/err" ||
	fail "no lease through the relay: $(cat "$T/err")"
ok
echo "PASS: $n checks"
