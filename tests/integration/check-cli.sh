#!/bin/bash
# check-cli.sh - `xenprov check` finds each problem planted in a broken setup, with its
# severity and the command that fixes it, and nothing in a clean one:
#   server unset, loopback, not this host's; next-server loopback, another host's;
#   the TFTP root missing, or the state directory; boot loaders missing (pxelinux.0,
#   ldlinux.c32, ipxe.efi, grubx64.efi, undionly.kpxe), a symlink out of the root, one
#   no package ships, and --fix linking them from the installed packages (pxelinux,
#   syslinux-common, ipxe, grub-efi-amd64-bin: the same bytes); pools unset and
#   half set; UDP 69 and the HTTP port held by another program (python3, in the
#   server's network namespace); nftables rules that drop DHCP and TFTP (a drop rule, a
#   conditional one, a chain whose policy drops), planted with nft in that namespace;
#   profiles whose distro, image or kernel is missing; a distro whose kernel left the
#   store; systems that cannot netboot; a system marked to install itself without a
#   reservation, and kernel options (a system's, a distro's) with xenprov.* arguments;
#   reservations inside a pool's range, outside
#   every pool, on the server's own address; an address held by a system and a domain;
#   a guest's static address inside a dynamic range; a lease on a reserved address; a
#   guest left half made; a root password of 'cobbler'; a profile (and its child) whose
#   golden image is published to anyone (publish-image open); mmdebstrap missing for a
#   debian:SUITE profile; xl configs with errors and warnings; a missing config
#   directory; a toolstack that does not answer.
# Then a clean setup: xenprov serve running in its namespace, every boot loader, a
# distro, profile, system (reserved, marked to install itself) and config: no finding,
# exit 0.
#
# A Xen hypervisor cannot run here: lib/fake-xl stands in for xl (XENPROV_XL); with
# $XP_FAKE_XL_STATE/no-xen it fails as xl does outside dom0. Domains, a lease and a
# half-made guest are planted in the inventory with python3's sqlite3, as a killed
# create or the DHCP server would leave them.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need python3 nft sha256sum tar cmp
for f in /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 \
	/usr/lib/ipxe/ipxe.efi /usr/lib/ipxe/undionly.kpxe \
	/usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi; do
	[ -e "$f" ] || skip "no $f (scripts/install-deps installs it)"
done

export XP_FAKE_XL_STATE=$T/xl
export XENPROV_XL=$XP_SRC/tests/integration/lib/fake-xl
mkdir -p "$T/xl"
srv_ns 10.79.0.1/24

# xenprov in the server's namespace, where its ports and firewall are; with PATH
# $XP_CHECK_PATH when that is set
XS=$T/xenprov-in-ns
printf '#!/bin/bash\nexec ip netns exec %s env ${XP_CHECK_PATH:+PATH=$XP_CHECK_PATH} %q "$@"\n' \
	"$SRV" "$X" >"$XS"
chmod 755 "$XS"

# ck [ARGS]: `xenprov check --json` in the namespace; its JSON kept for the checks
ck() {
	X=$XS run check --json "$@"
	cp "$T/stdout" "$T/check.json"
}
# lit TEXT: TEXT as a Python string literal
lit() { python3 -c 'import sys; print(repr(sys.argv[1]))' "$1"; }
# has SEVERITY CHECK FIX WHAT: a finding of that severity and check whose fix holds FIX
# and whose text holds WHAT
has() {
	json_ok "$T/check.json" "any(f['severity'] == '$1' and f['check'] == '$2' and not f['fixed']
		and $(lit "$3") in (f['fix'] or '') and $(lit "$4") in f['what'] for f in j['findings'])"
}
# lacks CHECK WHAT: no finding of that check whose text holds WHAT
lacks() {
	json_ok "$T/check.json" "not any(f['check'] == '$1' and $(lit "$2") in f['what'] and not f['fixed']
		for f in j['findings'])"
}
sql() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA foreign_keys = ON")
c.executescript(sys.argv[2])
c.commit()' "$XENPROV_STATE_DIR/inventory.db" "$1" || fail "sql: $1"
}

# ==== a broken setup ==================================================================
export XENPROV_STATE_DIR=$T/state
R=$T/tftp
touch "$XP_FAKE_XL_STATE/no-xen"
mkdir -p "$T/xen"
srv_set config-dir "$T/xen" # not the host's /etc/xen

# nothing set: the server's address, the TFTP root (STATE/tftp, not made), the pools;
# no toolstack
ck
[ "$rc" = 1 ] || fail "check with errors exited $rc, want 1"
ok
has error server "xenprov settings set server 10.79.0.1" "address is not set"
has error tftp-root "mkdir -p $T/state/tftp" "does not exist"
has warning pools "xenprov settings set pool.lan.range" "no DHCP address pool"
has warning toolstack "systemctl start xen" "the toolstack does not answer"
has note ports "systemctl enable --now xenprov-serve" "xenprov serve is not running"
json_ok "$T/check.json" "j['ok'] is False and j['errors'] == 2 and j['warnings'] == 2"
# text: each finding's why and fix
X=$XS run check
[ "$rc" = 1 ] || fail "text check exited $rc"
out_has "error: [server] setting 'server': the boot server's address is not set"
out_has "    fix: xenprov settings set server 10.79.0.1"
out_has "    why: xenprov serve does not start without it"
out_has "2 errors, 2 warnings, 1 note"
X=$XS run check -q
out_lacks "warning:"
out_has "error: [tftp-root]"

# systems reserved before the server and pools are set (which later make them wrong)
mkdir -p "$T/files"
echo kernel-bytes >"$T/files/vmlinuz"
echo initrd-bytes >"$T/files/initrd"
echo guest-kernel >"$T/files/guest-kernel"
tar -C "$T/files" -cf "$T/files/root.tar" vmlinuz
expect_rc 0 distro add deb --kernel "$T/files/vmlinuz" --initrd "$T/files/initrd"
echo other-kernel >"$T/files/vmlinuz2"
expect_rc 0 distro add gone --kernel "$T/files/vmlinuz2"
expect_rc 0 profile add web --distro deb
expect_rc 0 system add s-own --mac 52:54:00:00:00:01 --ip 10.79.0.1 --profile web
expect_rc 0 system add s-far --mac 52:54:00:00:00:02 --ip 10.80.0.5 --profile web
expect_rc 0 system add s-range --mac 52:54:00:00:00:03 --ip 10.79.0.150 --profile web
expect_rc 0 system add s-dup --mac 52:54:00:00:00:04 --ip 10.79.0.60 --profile web
expect_rc 0 system add s-lease --mac 52:54:00:00:00:05 --ip 10.79.0.61 --profile web
expect_rc 0 system add s-gone --mac 52:54:00:00:00:06 --distro gone
expect_rc 0 profile add nodist --distro deb
expect_rc 0 system add s-nodist --mac 52:54:00:00:00:07 --profile nodist
expect_rc 0 profile edit nodist --unset distro --memory 512
expect_rc 0 system add s-inst --mac 52:54:00:00:00:08 --profile web --install on
expect_rc 0 profile add lost --distro nosuch
expect_rc 0 profile add img --image "$T/files/root.tar" --boot kernel --kernel "$T/files/guest-kernel"
expect_rc 0 profile add opened --parent img --publish-image open
expect_rc 0 profile add opened2 --parent opened
expect_rc 0 profile add closed --parent opened --publish-image token
rm "$T/files/root.tar" "$T/files/guest-kernel"
printf 'cobbler\n' >"$T/pw"
expect_rc 0 profile add weakpw --root-password-file "$T/pw"
expect_rc 0 profile add deb12 --image debian:bookworm
expect_rc 0 profile add elsewhere --config-dir "$T/no-such-dir"
# the kernel of distro gone leaves the store
rm -f "$XENPROV_STATE_DIR/distro-files/$(sha256sum <"$T/files/vmlinuz2" | cut -d' ' -f1)"
# a guest holding s-dup's address, one left half made, one with a static address
# inside the range; a lease on s-lease's address for another MAC
now=$(date +%s)
sql "INSERT INTO domains (name, profile, state, mac, ip, storage, disk_path, config_path,
	created, updated) VALUES
	('g-dup', 'web', 'ready', '00:16:3e:00:00:01', '10.79.0.60', 'file', '/x', '/y', 1, 1),
	('g-half', 'web', 'creating', '00:16:3e:00:00:02', NULL, 'file', '/x2', '/y2', 1, 1),
	('g-dyn', 'web', 'ready', '00:16:3e:00:00:03', '10.79.0.120', 'file', '/x3', '/y3', 1, 1);
	INSERT INTO leases (ip, client, mac, hostname, state, expires, updated) VALUES
	($(((10 << 24) + (79 << 16) + 61)), x'0100163e0000ff', '00:16:3e:00:00:ff', 'intruder',
	 'bound', $((now + 3600)), $now);"
# kernel options claiming the server's xenprov.* arguments, stored before add and edit
# refused them
sql "UPDATE systems SET kernel_options = 'console=ttyS0 xenprov.token=0' WHERE name = 's-far';
	UPDATE distros SET kernel_options = 'quiet xenprov.server=http://x' WHERE name = 'gone';"
# xl configs: one with an error, one with a warning
printf 'name = "bad"\nmemory = "lots"\n' >"$T/xen/bad.cfg"
printf 'name = "odd"\nmemory = 256\nkernel = "%s"\nfrobnicate = 1\n' "$T/files/vmlinuz" >"$T/xen/odd.cfg"
srv_set tftp-root "$R"
mkdir -p "$R"

ck
has error netboot "xenprov profile edit nodist --distro NAME" "names no distro"
has error netboot "xenprov distro edit gone --kernel KERNEL" "not in the distro store"
has error distro "xenprov distro edit gone --kernel KERNEL" "gone from the distro store"
has warning profile "xenprov distro add nosuch" "boots distro 'nosuch', which is not in the inventory"
has error profile "xenprov profile edit img --image PATH" "the image '$T/files/root.tar' of profile 'img' does not exist"
has error profile "xenprov profile edit img --kernel PATH" "the kernel '$T/files/guest-kernel' of profile 'img' does not exist"
has error password "xenprov profile edit weakpw --root-password-file FILE" "gives root the password 'cobbler'"
has warning publish "xenprov profile edit PROFILE --publish-image token" "golden images served to anyone without the API token"
json_ok "$T/check.json" "[f['subject'] for f in j['findings'] if f['check'] == 'publish'] == [\"profiles 'opened' and 'opened2'\"]"
has warning domain "xenprov domain delete NAME" "guests left in state 'creating'"
has warning install "xenprov system edit SYSTEM --ip ADDRESS" "marked to install themselves (--install on) without a reserved address"
json_ok "$T/check.json" "[f['subject'] for f in j['findings'] if 'reserved address' in f['what'] and f['check'] == 'install'] == [\"system 's-inst'\"]"
has warning install "xenprov system edit SYSTEM --kernel-options" "kernel options with xenprov.* arguments"
json_ok "$T/check.json" "any(f['check'] == 'install' and f['subject'] == \"system 's-far'\" for f in j['findings'])"
has warning install "xenprov distro edit gone --kernel-options" "kernel options with xenprov.* arguments ('xenprov.server=http://x')"
has error address "xenprov system edit s-dup --ip ADDRESS" "10.79.0.60 is held by domain 'g-dup' and system 's-dup'"
has warning address "xenprov system edit s-lease --ip ADDRESS" "10.79.0.61 is leased to 00:16:3e:00:00:ff"
has error config "xenprov config set $T/xen/bad.cfg KEY=VALUE" "$T/xen/bad.cfg:2:"
has warning config "" "$T/xen/odd.cfg:4:"
has error config "mkdir -p $T/no-such-dir" "config directory of profile 'elsewhere'"
has error boot-loader "xenprov check --fix" "pxelinux.0 is missing from the TFTP root (package pxelinux has it"
has error boot-loader "xenprov check --fix" "ipxe.efi is missing from the TFTP root (package ipxe has it"
json_ok "$T/check.json" "all(f['check'] != 'tools' for f in j['findings'])"
# without mmdebstrap on PATH (xenprov looks in PATH, /usr/sbin, /sbin)
XP_CHECK_PATH=/nonexistent ck
has error tools "apt-get install mmdebstrap" "mmdebstrap (package mmdebstrap) is not installed"
json_ok "$T/check.json" "[f['subject'] for f in j['findings'] if f['check'] == 'tools'] == [\"profile 'deb12'\"]"

# the server's address: loopback, another host's; next-server the same
srv_set server 127.0.0.1
ck
has error server "xenprov settings set server 10.79.0.1" "server is 127.0.0.1, a loopback address"
srv_set server 10.9.9.9
ck
has error server "xenprov settings set server 10.79.0.1" "server 10.9.9.9 is not an address of this host"
srv_set server 10.79.0.1
srv_set next-server 127.0.0.2
ck
has error server "xenprov settings unset next-server" "next-server is 127.0.0.2, a loopback address"
json_ok "$T/check.json" "not any(f['subject'] == \"setting 'server'\" for f in j['findings'])"
srv_set next-server 10.9.9.10
ck
has warning server "xenprov settings unset next-server" "next-server 10.9.9.10 is not an address of this host"
expect_rc 0 settings unset next-server

# the reservations against the pools (now set): s-own is the server's address
srv_set pool.lan.range 10.79.0.100-10.79.0.199
ck
has error pools "" "pool lan"
srv_set pool.lan.netmask 255.255.255.0
srv_set pool.lan.router 10.79.0.254
ck
lacks pools ""
has error address "xenprov system edit s-own --ip ADDRESS" "the reservation 10.79.0.1 of system 's-own' is the boot server's own address"
has error address "add a pool for their subnet" "reserved addresses in no pool's subnet"
json_ok "$T/check.json" "any(f['check'] == 'address' and f['subject'] == \"system 's-far'\" for f in j['findings'])"
has warning address "xenprov system edit SYSTEM --ip ADDRESS (outside 10.79.0.100-10.79.0.199)" "reserved addresses inside pool lan's dynamic range 10.79.0.100-10.79.0.199"
has error address "xenprov settings set pool.lan.range FIRST-LAST" "static addresses inside pool lan's dynamic range"
json_ok "$T/check.json" "any(f['subject'] == \"domain 'g-dyn'\" and f['count'] == 1 for f in j['findings'])"

# the TFTP root: the state directory itself (refused by settings set: planted)
sql "UPDATE server_settings SET value = '$XENPROV_STATE_DIR' WHERE key = 'tftp-root'"
ck
has error tftp-root "xenprov settings set tftp-root /srv/tftp" "is or holds the state directory"
srv_set tftp-root "$R"

# boot loaders: pxelinux.0 there, ldlinux.c32 not; ipxe.efi a symlink out of the root;
# then the iPXE and GRUB files by name; a file no package ships
cp /usr/lib/PXELINUX/pxelinux.0 "$R/"
ln -s /usr/lib/ipxe/ipxe.efi "$R/ipxe.efi"
ck
has error boot-loader "xenprov check --fix" "ldlinux.c32 is missing from the TFTP root (package syslinux-common has it"
json_ok "$T/check.json" "any(f['check'] == 'boot-loader' and 'loads ldlinux.c32' in f['why'] for f in j['findings'])"
has error boot-loader "xenprov check --fix" "ipxe.efi is a symlink the server refuses"
lacks boot-loader "pxelinux.0"
ck --fix
json_ok "$T/check.json" "sorted(f['what'].split()[0] for f in j['findings'] if f['fixed']) == ['ipxe.efi', 'ldlinux.c32']"
json_ok "$T/check.json" "not any(f['check'] == 'boot-loader' and not f['fixed'] for f in j['findings'])"
json_ok "$T/check.json" "j['fixed'] == 2"
cmp -s "$R/ldlinux.c32" /usr/lib/syslinux/modules/bios/ldlinux.c32 || fail "ldlinux.c32 differs from the package's"
ok
[ ! -L "$R/ipxe.efi" ] && cmp -s "$R/ipxe.efi" /usr/lib/ipxe/ipxe.efi || fail "ipxe.efi not replaced by the package's"
ok
X=$XS run check --fix
out_lacks "fixed:"
srv_set bios-boot-file undionly.kpxe
srv_set efi64-boot-file boot/grubx64.efi
ck
has error boot-loader "xenprov check --fix" "undionly.kpxe is missing from the TFTP root (package ipxe has it"
has error boot-loader "xenprov check --fix" "boot/grubx64.efi is missing from the TFTP root (package grub-efi-amd64-bin has it"
X=$XS run check --fix
out_has "fixed: [boot-loader]"
cmp -s "$R/undionly.kpxe" /usr/lib/ipxe/undionly.kpxe || fail "undionly.kpxe not linked"
ok
cmp -s "$R/boot/grubx64.efi" /usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi || fail "grubx64.efi not linked"
ok
srv_set bios-boot-file custom.0
ck
has error boot-loader "cp YOUR-BOOT-LOADER $R/custom.0" "custom.0 is missing from the TFTP root, and no Debian package xenprov knows ships it"
expect_rc 0 settings unset bios-boot-file
expect_rc 0 settings unset efi64-boot-file

# ports: UDP 69 and TCP 8080 (the HTTP port) held by python3 in the namespace
srv_set http-port 8080
ip netns exec "$SRV" python3 -c 'import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 69))
t = socket.socket(); t.bind(("0.0.0.0", 8080)); t.listen()
time.sleep(300)' &
HOG=$!
PIDS+=("$HOG")
wait_udp "$SRV" 69 "$HOG" || fail "python3 did not bind UDP 69"
ck
has error ports "kill $HOG" "UDP port 69 is held by python3 (pid $HOG"
has error ports "kill $HOG" "TCP port 8080 is held by python3 (pid $HOG"
lacks ports "port 67"
kill "$HOG"
wait "$HOG" 2>/dev/null

# firewall: a drop rule for DHCP, a conditional one for TFTP, a chain dropping by policy
ip netns exec "$SRV" nft -f - <<'NFT' || fail "nft could not load the rules"
table inet filter {
	chain input {
		type filter hook input priority 0; policy accept;
		udp dport 67 drop
		iifname "eth9" udp dport 69 drop
	}
}
table ip guard {
	chain in {
		type filter hook input priority 10; policy drop;
		tcp dport 8080 accept
		ct state established accept
	}
}
NFT
ck
has error firewall "nft insert rule inet filter input udp dport 67 accept" "the rule 'inet filter input' (handle"
has warning firewall "nft insert rule inet filter input udp dport 69 accept" "under its other conditions"
has error firewall "nft insert rule ip guard in udp dport 69 accept" "the chain 'ip guard in' drops UDP port 69 (TFTP) by its policy"
has error firewall "nft insert rule ip guard in udp dport 67 accept" "the chain 'ip guard in' drops UDP port 67 (DHCP) by its policy"
lacks firewall "TCP port 8080"
ip netns exec "$SRV" nft flush ruleset

# the toolstack answers (the fake xl): no finding
rm -f "$XP_FAKE_XL_STATE/no-xen"
ck
lacks toolstack ""

# ==== a clean setup ===================================================================
export XENPROV_STATE_DIR=$T/clean
R=$T/tftp-clean
mkdir -p "$R" "$T/xen-clean"
srv_settings_clean() {
	srv_set server 10.79.0.1
	srv_set tftp-root "$R"
	srv_set http-port 8080
	srv_set config-dir "$T/xen-clean"
	srv_set pool.lan.range 10.79.0.100-10.79.0.199
	srv_set pool.lan.netmask /24
	srv_set pool.lan.router 10.79.0.254
}
srv_settings_clean
expect_rc 0 distro add deb --kernel "$T/files/vmlinuz" --initrd "$T/files/initrd"
expect_rc 0 profile add web --distro deb --memory 256
expect_rc 0 system add alpha --mac 52:54:00:aa:00:01 --ip 10.79.0.50 --profile web --install on
truncate -s 64M "$T/g1.img"
printf 'name = "g1"\nmemory = 256\nkernel = "%s"\ndisk = [ "format=raw,vdev=xvda,target=%s" ]\nvif = [ "mac=00:16:3e:11:22:33,bridge=br0" ]\n' \
	"$T/files/vmlinuz" "$T/g1.img" >"$T/xen-clean/g1.cfg"
chmod -R a+rX "$T"
# the boot loaders, linked by --fix: fixed, and the run passes
X=$XS run check --fix
[ "$rc" = 1 ] && fail "check --fix failed on the clean setup: $(cat "$T/stdout")"
out_has "pxelinux.0 was missing from the TFTP root: now linked from /usr/lib/PXELINUX/pxelinux.0 (package pxelinux)"
srv_start
ck
[ "$rc" = 0 ] || fail "check of the clean setup exited $rc: $(cat "$T/stdout")"
ok
json_ok "$T/check.json" "j['findings'] == [] and j['ok'] is True and j['errors'] == 0"
X=$XS run check
[ "$rc" = 0 ] || fail "text check of the clean setup exited $rc"
out_is "no problem found"
srv_stop || fail "the server did not stop cleanly"
pass
