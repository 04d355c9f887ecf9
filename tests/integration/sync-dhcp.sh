#!/bin/bash
# sync-dhcp.sh - the include files `xenprov sync` writes, loaded by the real DHCP
# servers in network namespaces (a bridge in the servers' namespace, one veth per
# client), each started by this test with a config of its own that includes them:
# dnsmasq, Kea (kea-dhcp4: the reservations in its subnet, the client classes in
# Dhcp4) and ISC dhcpd. For each, busybox udhcpc gets the reserved address and host
# name, and the boot file `xenprov serve` would give: none to a plain client, the BIOS
# file to a PXE ROM (vendor class PXEClient, no architecture), the UEFI file to an x86-64
# UEFI one (option 93 = 7), the iPXE script of its own MAC to iPXE (user class iPXE); a
# system with netboot off gets its address and no file; a client the inventory does
# not know gets a pool address and no file.
# Then a broken include: a value planted behind the inventory's back that the server
# refuses (a host name dnsmasq finds bad, a next server dhcpd and Kea cannot read) is
# refused by the server's own checker, the sync fails naming the line, and the old
# file stays as it was (the server still loads it). Last, the checker missing (an empty
# file mounted over /usr/sbin/dnsmasq in this test's own mount namespace): written
# unchecked with a warning, or refused with --require-check.
#
# udhcpc runs with serve-env.sh's script, which only records what it is given and
# sets the address.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need busybox dnsmasq dhcpd kea-dhcp4 sqlite3 timeout
busybox udhcpc --help >/dev/null 2>&1 || skip "busybox has no udhcpc"
fail_context() {
	local f
	for f in "$T"/*.log "$T/err"; do
		[ -s "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" | tail -15
	done
	return 0
}

export XENPROV_STATE_DIR=$T/state
srv_set server 10.79.0.1
srv_set pool.lan.range 10.79.0.100-10.79.0.199
srv_set pool.lan.netmask 255.255.255.0
echo kernel >"$T/vmlinuz"
"$X" distro add deb --kernel "$T/vmlinuz" >/dev/null || fail "distro add"
"$X" system add alpha --mac 52:54:00:aa:00:01 --ip 10.79.0.50 --distro deb >/dev/null ||
	fail "system add alpha"
"$X" system add beta --mac 52:54:00:aa:00:02 --ip 10.79.0.51 --distro deb --netboot off \
	>/dev/null || fail "system add beta"
mkdir -p "$T/etc"
DM=$T/etc/xenprov-dnsmasq.conf
ISC=$T/etc/xenprov-dhcpd.conf
KEA=$T/etc/xenprov-reservations.json
KEAC=$T/etc/xenprov-classes.json
expect_rc 0 sync --dnsmasq "$DM" --isc-dhcpd "$ISC" --kea "$KEA" --kea-classes "$KEAC"
out_has "dnsmasq $DM: 1 written, 0 unchanged (2 systems); checked by dnsmasq"
out_has "isc-dhcpd $ISC: 1 written, 0 unchanged (2 systems); checked by dhcpd"
out_has "kea $KEA: 2 written, 0 unchanged (2 systems); checked by kea-dhcp4"

srv_ns 10.79.0.1/24
client_add c1 52:54:00:aa:00:01
client_add c2 52:54:00:aa:00:02
client_add c3 52:54:00:bb:00:03

expect() { # FILE KEY WANT
	local got
	got=$(val "$1" "$2")
	[ "$got" = "$3" ] || fail "$SERVER: $(basename "$1"): $2 is '$got', want '$3'"
	ok
}

# what every server must hand out, as `xenprov serve` would
clients() {
	local o=$T/$SERVER
	udhcpc c1 "$o.plain" || fail "$SERVER: udhcpc in c1 got no lease"
	expect "$o.plain" ip 10.79.0.50
	expect "$o.plain" hostname alpha
	expect "$o.plain" boot_file ""
	udhcpc c1 "$o.bios" -V PXEClient:Arch:00000:UNDI:002001 || fail "$SERVER: PXE BIOS client"
	expect "$o.bios" ip 10.79.0.50
	expect "$o.bios" boot_file pxelinux.0
	expect "$o.bios" siaddr 10.79.0.1
	udhcpc c1 "$o.efi" -V PXEClient:Arch:00007:UNDI:003016 -x 0x5d:0007 ||
		fail "$SERVER: PXE UEFI client"
	expect "$o.efi" boot_file ipxe.efi
	expect "$o.efi" siaddr 10.79.0.1
	udhcpc c1 "$o.ipxe" -V PXEClient:Arch:00000:UNDI:002001 -x 0x4d:69505845 ||
		fail "$SERVER: iPXE client"
	expect "$o.ipxe" boot_file 'ipxe/01-${netX/mac:hexhyp}'
	udhcpc c2 "$o.off" -V PXEClient:Arch:00000:UNDI:002001 || fail "$SERVER: udhcpc in c2"
	expect "$o.off" ip 10.79.0.51
	expect "$o.off" hostname beta
	expect "$o.off" boot_file ""
	udhcpc c3 "$o.unknown" -V PXEClient:Arch:00000:UNDI:002001 || fail "$SERVER: udhcpc in c3"
	case "$(val "$o.unknown" ip)" in 10.79.0.1[0-9][0-9]) ok ;; *) fail "$SERVER: c3 got '$(val "$o.unknown" ip)'" ;; esac
	expect "$o.unknown" boot_file ""
}

# start_server NAME PORT ARG...: ARG... in the servers' namespace, its output in
# $T/NAME.log; waits until it has bound UDP port 67.
start_server() {
	SERVER=$1
	shift
	ip netns exec "$SRV" "$@" >"$T/$SERVER.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	wait_udp "$SRV" 67 "$SERVER_PID" || fail "$SERVER did not start"
	ok
}
stop_server() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null
	ok
}

# 1. dnsmasq: DHCP only (port=0: no DNS), the include by conf-file=
cat >"$T/dnsmasq.conf" <<EOF
port=0
interface=br0
bind-interfaces
dhcp-range=10.79.0.100,10.79.0.199,255.255.255.0
dhcp-leasefile=$T/dnsmasq.leases
conf-file=$DM
EOF
start_server dnsmasq dnsmasq --keep-in-foreground --log-dhcp --log-facility=- \
	--pid-file="$T/dnsmasq.pid" --conf-file="$T/dnsmasq.conf"
clients
stop_server

# 2. Kea: the reservations in the subnet, the classes in Dhcp4
cat >"$T/kea.conf" <<EOF
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["br0"]},
  "lease-database": {"type": "memfile", "persist": false},
  "valid-lifetime": 600,
  "client-classes": <?include "$KEAC"?>,
  "subnet4": [{"id": 1, "subnet": "10.79.0.0/24",
    "pools": [{"pool": "10.79.0.100-10.79.0.199"}],
    "reservations": <?include "$KEA"?>}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}],
    "severity": "INFO"}]
}}
EOF
start_server kea env KEA_PIDFILE_DIR="$T" KEA_LOCKFILE_DIR="$T" kea-dhcp4 -c "$T/kea.conf"
clients
stop_server

# 3. ISC dhcpd: the include after the site's subnet
touch "$T/dhcpd.leases"
cat >"$T/dhcpd.conf" <<EOF
authoritative;
subnet 10.79.0.0 netmask 255.255.255.0 { range 10.79.0.100 10.79.0.199; }
include "$ISC";
EOF
start_server dhcpd dhcpd -4 -f -cf "$T/dhcpd.conf" -lf "$T/dhcpd.leases" -pf "$T/dhcpd.pid" br0
clients
stop_server

# 4. a broken include: refused by the server's own checker, the old file stays
cp "$DM" "$T/dm.good"
cp "$ISC" "$T/isc.good"
cat "$KEA" "$KEAC" >"$T/kea.good"
db=$XENPROV_STATE_DIR/inventory.db
sqlite3 "$db" "UPDATE systems SET hostname = '-bad' WHERE name = 'alpha'" || fail "sqlite3"
expect_rc 1 sync --dnsmasq "$DM"
err_has "dnsmasq refused the new file, which was not written:"
err_has "bad DHCP host name at line"
err_has "dhcp-host=52:54:00:aa:00:01,set:xenprov-netboot,10.79.0.50,-bad"
out_has "dnsmasq $DM: failed"
cmp -s "$DM" "$T/dm.good" || fail "the refused include replaced the good one"
ok
dnsmasq --test --conf-file="$DM" >/dev/null 2>&1 || fail "the file in place no longer loads"
ok
sqlite3 "$db" "UPDATE systems SET hostname = NULL WHERE name = 'alpha';
	INSERT INTO server_settings VALUES ('next-server', '10.79.0.300')" || fail "sqlite3"
expect_rc 1 sync --isc-dhcpd "$ISC" --kea "$KEA" --kea-classes "$KEAC"
err_has "dhcpd refused the new file, which was not written:"
err_has "next-server 10.79.0.300;"
err_has "kea-dhcp4 refused the new file, which was not written:"
err_has "Error encountered: "
cmp -s "$ISC" "$T/isc.good" || fail "the refused dhcpd include replaced the good one"
cat "$KEA" "$KEAC" | cmp -s - "$T/kea.good" || fail "the refused Kea files replaced the good ones"
ok
[ -z "$(find "$T/etc" -name '.*')" ] || fail "candidates left: $(find "$T/etc" -name '.*')"
ok
sqlite3 "$db" "DELETE FROM server_settings WHERE key = 'next-server'" || fail "sqlite3"
expect_rc 0 sync
out_has "dnsmasq $DM: 0 written, 1 unchanged"

# 5. no checker: written unchecked with a warning; refused with --require-check
: >"$T/no-dnsmasq"
mount --bind "$T/no-dnsmasq" /usr/sbin/dnsmasq || fail "cannot mount over /usr/sbin/dnsmasq"
at_exit umount /usr/sbin/dnsmasq
expect_rc 0 system edit alpha --hostname alpha1
cp "$DM" "$T/dm.before"
expect_rc 1 sync --dnsmasq "$DM" --require-check
err_has "dnsmasq is not installed: the file cannot be checked, and --require-check refuses to write it unchecked"
cmp -s "$DM" "$T/dm.before" || fail "--require-check wrote the file unchecked"
ok
expect_rc 0 sync --dnsmasq "$DM"
err_has "warning: $DM: dnsmasq is not installed: written unchecked"
out_has "unchecked: no dnsmasq"
grep -q 'dhcp-host=52:54:00:aa:00:01,set:xenprov-netboot,10.79.0.50,alpha1' "$DM" ||
	fail "the unchecked file was not written"
ok
pass
