#!/bin/bash
# serve-autoinstall.sh - `xenprov serve` hands each system its rendered autoinstall file
# at /autoinstall/NAME (and /autoinstall/by-mac/MAC), to that system's own address only,
# and its boot configs point the installer there with the distro's own argument. In
# network namespaces, with curl and busybox udhcpc as the clients:
#   - a system with a reserved address gets its preseed; another client on the network
#     asking for it gets 403 (and the server logs the refusal); with the API token the
#     operator gets it from anywhere;
#   - a system known only by its MAC gets an address from the DHCP pool (udhcpc), then
#     its file by name and by MAC from that address; from another address, 403;
#   - pxelinux, GRUB and iPXE configs carry auto=true priority=critical url=... for a
#     Debian distro, inst.ks= for a Red Hat one, ds=nocloud;s=.../ for an Ubuntu one,
#     whose cloud-init files (user-data, meta-data, network-config) are served too;
#   - a profile without a password hash: the preseed is not served (500, the reason in
#     the body and the log), never rendered with a made-up password;
#   - the server's log names each file served and to whom.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need curl busybox timeout
busybox udhcpc --help >/dev/null 2>&1 || skip "busybox has no udhcpc"

srv_settings
srv_set pool.lan.range 10.79.0.100-10.79.0.199
srv_set pool.lan.netmask 255.255.255.0
srv_set pool.lan.router 10.79.0.1
srv_set pool.lan.dns 10.79.0.53
srv_set pool.lan.domain test.lan
echo kernel >"$T/vmlinuz"
echo initrd >"$T/initrd"
HASH='$6$saltsalt$Xq1zPdCq0lGZ3k9mYyZ1d3b0u8nU2bTQ5cVJkq7T8bY'
KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk4Yd5cwq9YcyEPeE4sPTt+SL6iT3IpKSxh1SRYV3XZ op@lab'
"$X" distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" --os debian >/dev/null ||
	fail "distro add deb"
"$X" distro add rh --kernel "$T/vmlinuz" --initrd "$T/initrd" --os redhat >/dev/null ||
	fail "distro add rh"
"$X" distro add ubu --kernel "$T/vmlinuz" --initrd "$T/initrd" --os ubuntu >/dev/null ||
	fail "distro add ubu"
"$X" distro add plain --kernel "$T/vmlinuz" >/dev/null || fail "distro add plain"
"$X" profile add web --distro deb --root-password-hash "$HASH" --ssh-key "$KEY" \
	--autoinstall debian-preseed --timezone Europe/Paris >/dev/null || fail "profile add web"
"$X" profile add nopw --distro deb --autoinstall debian-preseed >/dev/null ||
	fail "profile add nopw"
# alpha: reserved address; beta: known by its MAC only (an address from the pool)
"$X" system add alpha --mac 52:54:00:aa:00:01 --ip 10.79.0.50 --profile web >/dev/null ||
	fail "system add alpha"
"$X" system add beta --mac 52:54:00:aa:00:02 --profile web >/dev/null || fail "system add beta"
"$X" system add rhel --mac 52:54:00:aa:00:03 --ip 10.79.0.53 --distro rh \
	--autoinstall redhat-kickstart >/dev/null || fail "system add rhel"
"$X" profile add cloud --distro ubu --ssh-key "$KEY" --autoinstall cloud-init-user-data \
	>/dev/null || fail "profile add cloud"
"$X" system add ubuntu --mac 52:54:00:aa:00:04 --ip 10.79.0.54 --profile cloud >/dev/null ||
	fail "system add ubuntu"
"$X" system add nopass --mac 52:54:00:aa:00:05 --ip 10.79.0.55 --profile nopw >/dev/null ||
	fail "system add nopass"
# a template and an OS, but the distro has no OS family: no argument
"$X" system add other --mac 52:54:00:aa:00:06 --ip 10.79.0.56 --distro plain \
	--autoinstall debian-preseed >/dev/null || fail "system add other"
# a system of a Debian distro without a template: no argument either
"$X" system add bare --mac 52:54:00:aa:00:07 --ip 10.79.0.57 --distro deb >/dev/null ||
	fail "system add bare"

srv_ns 10.79.0.1/24
client_add c1 52:54:00:aa:00:01 # alpha
ip -n c1 addr add 10.79.0.50/24 dev eth0
client_add c2 52:54:00:bb:00:09 # a stranger on the boot network
ip -n c2 addr add 10.79.0.99/24 dev eth0
client_add c3 52:54:00:aa:00:02 # beta, by DHCP
client_add c4 52:54:00:aa:00:04 # ubuntu
ip -n c4 addr add 10.79.0.54/24 dev eth0
client_add c5 52:54:00:aa:00:05 # nopass
ip -n c5 addr add 10.79.0.55/24 dev eth0
srv_start --dhcp --http --tftp
U=http://10.79.0.1:8080
# get NS PATH [CURL ARGS...]: the HTTP status; the body in $T/body
get() {
	local ns=$1 path=$2
	shift 2
	ip netns exec "$ns" curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$@" "$U$path"
}
want() { # CODE NS PATH [CURL ARGS...]
	local w=$1 got
	shift
	got=$(get "$@")
	[ "$got" = "$w" ] || fail "GET $2 from $1: HTTP $got, want $w: $(head -c 300 "$T/body")"
	ok
}
body_has() { grep -qF -- "$1" "$T/body" || fail "the body lacks '$1': $(head -c 600 "$T/body")"; ok; }
body_lacks() { ! grep -qF -- "$1" "$T/body" || fail "the body has '$1'"; ok; }
log_has() {
	wait_until 5 grep -qF -- "$1" "$T/serve.log" || fail "the server's log lacks '$1'"
	ok
}

# 1. alpha from its own reserved address: its preseed, hash and key in it
want 200 c1 /autoinstall/alpha
body_has "d-i passwd/root-password-crypted password $HASH"
body_has "d-i netcfg/get_hostname string alpha"
body_has "d-i time/zone string Europe/Paris"
body_has "echo '$KEY' >>/target/root/.ssh/authorized_keys"
log_has "autoinstall: /autoinstall/alpha served to 10.79.0.50 (system 'alpha', template debian-preseed)"

# 2. a stranger asking for alpha's file: refused, logged, nothing of it in the answer
want 403 c2 /autoinstall/alpha
body_lacks saltsalt
log_has "autoinstall: refused the file of system 'alpha' to 10.79.0.99: not its address"
want 403 c2 /autoinstall/by-mac/52:54:00:aa:00:01
want 403 c2 /autoinstall/alpha/user-data
# alpha asking for another system's file: refused too
want 403 c1 /autoinstall/ubuntu
# the operator, with the API token, from anywhere
TOKEN=$(cat "$XENPROV_STATE_DIR/api-token")
want 200 c2 /autoinstall/alpha -H "Authorization: Bearer $TOKEN"
body_has "$HASH"
log_has "served to 10.79.0.99 (system 'alpha', template debian-preseed, with the API token)"
want 403 c2 /autoinstall/alpha -H "Authorization: Bearer 0000$TOKEN"
# unknown systems and files
want 404 c1 /autoinstall/nobody
want 404 c1 /autoinstall/alpha/passwd
want 404 c1 /autoinstall/alpha/user-data/x
want 404 c1 /autoinstall/by-mac/zz
want 404 c1 /autoinstall/
# read-only
got=$(ip netns exec c1 curl -s -o /dev/null -w '%{http_code}' -X PUT -d x "$U/autoinstall/alpha")
[ "$got" = 405 ] || fail "PUT /autoinstall/alpha: HTTP $got, want 405"
ok

# 3. beta has no reservation: before it has a lease nothing is its address; after
# udhcpc got one from the pool, that address gets its file, by name and by MAC
ip -n c3 addr add 10.79.0.98/24 dev eth0
want 403 c3 /autoinstall/beta
ip -n c3 addr flush dev eth0
cat >"$T/udhcpc.sh" <<'S'
#!/bin/sh
case "$1" in
bound | renew)
	echo "ip=$ip" >"$OUT"
	ip addr flush dev "$interface"
	ip addr add "$ip/24" dev "$interface"
	;;
esac
exit 0
S
chmod +x "$T/udhcpc.sh"
OUT=$T/c3.env timeout 30 ip netns exec c3 busybox udhcpc -i eth0 -f -q -n -t 5 -T 2 \
	-s "$T/udhcpc.sh" >"$T/c3.log" 2>&1 || fail "udhcpc in c3 got no lease: $(tail -3 "$T/c3.log")"
BETA_IP=$(sed -n 's/^ip=//p' "$T/c3.env")
case $BETA_IP in 10.79.0.1[0-9][0-9]) ok ;; *) fail "beta's lease is '$BETA_IP'" ;; esac
want 200 c3 /autoinstall/beta
body_has "d-i netcfg/get_hostname string beta"
want 200 c3 /autoinstall/by-mac/52-54-00-AA-00-02
body_has "d-i netcfg/get_hostname string beta"
log_has "autoinstall: /autoinstall/by-mac/52-54-00-AA-00-02 served to $BETA_IP (system 'beta'"
want 403 c2 /autoinstall/beta
want 403 c1 /autoinstall/by-mac/52:54:00:aa:00:02

# 4. the boot configs point each installer at its file, in the distro's own words
want 200 c2 /pxelinux.cfg/01-52-54-00-aa-00-01
body_has "auto=true priority=critical url=$U/autoinstall/alpha"
body_has "hostname=alpha"
want 200 c2 /grub/grub.cfg-01-52-54-00-aa-00-01
body_has "auto=true priority=critical url=$U/autoinstall/alpha"
want 200 c2 /ipxe/01-52-54-00-aa-00-01
body_has "auto=true priority=critical url=$U/autoinstall/alpha"
want 200 c2 /pxelinux.cfg/0A4F0035 # rhel, by its address
body_has "inst.ks=$U/autoinstall/rhel"
body_lacks "auto=true"
want 200 c2 /pxelinux.cfg/01-52-54-00-aa-00-04
body_has "autoinstall ds=nocloud;s=$U/autoinstall/ubuntu/"
want 200 c2 /grub/grub.cfg-01-52-54-00-aa-00-04
body_has "'ds=nocloud;s=$U/autoinstall/ubuntu/'" # GRUB reads ';' as syntax: quoted
for mac in 01-52-54-00-aa-00-06 01-52-54-00-aa-00-07; do # no OS family; no template
	want 200 c2 /pxelinux.cfg/$mac
	body_lacks "/autoinstall/"
done
# over TFTP too (the same resolver)
if command -v tftp >/dev/null; then
	(cd "$T" && ip netns exec c2 timeout 10 tftp 10.79.0.1 -c get pxelinux.cfg/01-52-54-00-aa-00-01 tftp-cfg) ||
		fail "tftp get of alpha's pxelinux config"
	grep -qF "url=$U/autoinstall/alpha" "$T/tftp-cfg" || fail "the TFTP config lacks the url"
	ok
fi

# 5. cloud-init's NoCloud files for the Ubuntu system, at the prefix ds= names
want 200 c4 /autoinstall/ubuntu/user-data
head -1 "$T/body" | grep -qx '#cloud-config' || fail "user-data does not start with #cloud-config"
body_has "hostname: ubuntu"
body_has "  - \"$KEY\""
body_lacks "chpasswd" # its profile has no hash: root's password stays locked
want 200 c4 /autoinstall/ubuntu/meta-data
body_has "instance-id: xenprov-ubuntu-52-54-00-aa-00-04"
body_has "local-hostname: ubuntu"
want 200 c4 /autoinstall/ubuntu/network-config
body_has 'macaddress: "52:54:00:aa:00:04"'
body_has "dhcp4: true"
want 200 c4 /autoinstall/ubuntu/vendor-data
[ ! -s "$T/body" ] || fail "vendor-data is not empty"
ok

# 6. no password hash: the preseed is not rendered, never with a default
want 500 c5 /autoinstall/nopass
body_has "root-password-hash is not set"
log_has "autoinstall: cannot render the file of system 'nopass' for 10.79.0.55: debian-preseed:"

# 7. a template changed while the server runs is served at once (no sync)
printf '#cloud-config\nhostname: {{hostname}}-custom\n' >"$T/ud"
"$X" template add ud2 --file "$T/ud" >/dev/null || fail "template add ud2"
"$X" system edit ubuntu --autoinstall ud2 >/dev/null || fail "system edit ubuntu"
want 200 c4 /autoinstall/ubuntu/user-data
body_has "hostname: ubuntu-custom"

# no secret ever in the log
! grep -q saltsalt "$T/serve.log" || fail "the server's log holds the password hash"
ok
srv_stop || fail "the server did not stop cleanly"
ok
pass
