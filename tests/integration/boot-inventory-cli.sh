#!/bin/bash
# boot-inventory-cli.sh - end-to-end test of `xenprov distro`, `xenprov system` and
# `xenprov settings` through the real program: help on every verb (the same text as
# `xenprov help CMD VERB`), usage errors (exit 2), refusals (exit 1, the message and the
# library's diagnostics), every verb's effect read back through --json (parsed by
# python3), the table output, references between profiles, distros and systems, and
# settings with their defaults and pools.
#
# Run by CTest with XENPROV (the binary), XP_SRC (the source tree) and XP_TMP (a scratch
# directory this script creates and removes). Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need python3
scratch files
export XENPROV_STATE_DIR=$T/state

# js EXPR: the JSON on stdout, as j, makes the Python expression true.
js() { json_ok "$T/stdout" "$1"; }

K=$T/files/vmlinuz
I=$T/files/initrd.img
echo kernel >"$K"
echo initrd >"$I"
mkdir "$T/files/dir"

# ---- help, on every verb, and usage errors -------------------------------------------------

for cmd in distro system settings; do
	expect_rc 0 "$cmd" -h
	out_has "Usage: xenprov $cmd VERB"
	expect_rc 2 "$cmd"
	expect_rc 2 "$cmd" nosuch
	err_has "'nosuch' is not a verb of '$cmd'"
done
expect_rc 0 --help
for c in distro system settings; do out_has "  $c "; done
for cv in "distro add" "distro edit" "distro show" "distro list" "distro remove" \
	"system add" "system edit" "system show" "system list" "system remove" \
	"settings set" "settings unset" "settings show" "settings keys"; do
	set -- $cv
	expect_rc 0 "$1" "$2" --help
	[[ $(head -1 "$T/stdout") == "Usage: xenprov $1 $2"* ]] || fail "$cv -h: $(head -1 "$T/stdout")"
	ok
	cp "$T/stdout" "$T/usage"
	expect_rc 0 help "$1" "$2"
	cmp -s "$T/usage" "$T/stdout" || fail "'xenprov help $cv' differs from -h"
	ok
	expect_rc 0 "$1" "$2" -h
	cmp -s "$T/usage" "$T/stdout" || fail "'xenprov $cv -h' differs from --help"
	ok
done

expect_rc 2 distro add deb
err_has "--kernel is required"
err_has "Try 'xenprov distro add -h'."
expect_rc 2 distro add --kernel "$K"
err_has "no NAME given"
expect_rc 2 distro add a b --kernel "$K"
err_has "expected one NAME"
expect_rc 2 distro add deb --kernel "$K" --no-initrd
err_has "invalid option '--no-initrd'"
expect_rc 2 distro add deb --kernel
expect_rc 2 distro edit deb
err_has "nothing to change"
expect_rc 2 distro edit deb --initrd "$I" --no-initrd
err_has "give --initrd or --no-initrd, not both"
expect_rc 2 distro edit deb --kernel-options x --no-kernel-options
expect_rc 2 distro show
expect_rc 2 distro show a b
expect_rc 2 distro show deb --yaml
expect_rc 2 distro list extra
expect_rc 2 distro remove
expect_rc 2 system add n1 --distro deb
err_has "--mac is required"
expect_rc 2 system add n1 --mac 52:54:00:00:00:01
err_has "--profile or --distro is required"
expect_rc 2 system add n1 --mac 52:54:00:00:00:01 --profile p --distro d
err_has "give --profile or --distro, not both"
expect_rc 2 system add n1 --mac 52:54:00:00:00:01 --distro d --netboot maybe
err_has "--netboot takes on or off, not 'maybe'"
expect_rc 2 system add n1 --mac 52:54:00:00:00:01 --distro d --no-ip
expect_rc 2 system edit n1
err_has "nothing to change"
expect_rc 2 system edit n1 --ip 10.0.0.1 --no-ip
expect_rc 2 system list --bogus
err_has "invalid option '--bogus'"
expect_rc 2 settings set server
err_has "expected KEY VALUE"
expect_rc 2 settings set a b c
expect_rc 2 settings unset
expect_rc 2 settings show extra
expect_rc 2 settings keys extra
[ ! -e "$T/state" ] || fail "usage errors made the state directory"
ok

# ---- distros --------------------------------------------------------------------------------

expect_rc 0 distro list
quiet
expect_rc 0 distro list --json
js 'j == []'
expect_rc 0 distro add deb --kernel "$K" --initrd "$I" --kernel-options "priority=critical"
quiet
expect_rc 0 distro add alma --kernel "$K" --arch aarch64
expect_rc 0 distro show deb --json
js 'j["name"] == "deb" and j["kernel"] == "'"$K"'" and j["initrd"] == "'"$I"'"
    and j["arch"] == "x86_64" and j["kernel_options"] == "priority=critical"
    and isinstance(j["created"], int) and j["updated"] == j["created"]'
expect_rc 0 distro show alma
out_has "initrd          -"
out_has "arch            aarch64"
expect_rc 0 distro list --json
js '[d["name"] for d in j] == ["alma", "deb"] and j[0]["initrd"] is None'
expect_rc 0 distro list
[ "$(head -1 "$T/stdout" | tr -s ' ')" = "NAME ARCH SERVED KERNEL INITRD" ] || fail "list header"
ok
[ "$(sed -n 3p "$T/stdout" | tr -s ' ')" = "deb x86_64 yes $K $I" ] || fail "list row: $(sed -n 3p "$T/stdout")"
ok

expect_rc 1 distro add deb --kernel "$K"
err_is "xenprov: distro 'deb' exists (use 'xenprov distro edit')"
expect_rc 1 distro add d2 --kernel vmlinuz
err_has "error: kernel: 'vmlinuz' is not an absolute path"
err_has "hint: give an absolute path"
err_has "xenprov: distro 'd2' not added"
expect_rc 1 distro add d2 --kernel "$T/files/missing"
err_has "kernel: cannot use '$T/files/missing': No such file or directory"
expect_rc 1 distro add d2 --kernel "$K" --initrd "$T/files/dir"
err_has "initrd: '$T/files/dir' is not a regular file"
expect_rc 1 distro add d2 --kernel "$K" --arch sparc
err_has "arch: unknown architecture"
err_has "hint: x86_64, i386 or aarch64"
expect_rc 1 distro add .d2 --kernel "$K"
err_has "'.d2' is not a valid distro name"
expect_rc 0 distro list --json
js '[d["name"] for d in j] == ["alma", "deb"]'

expect_rc 0 distro edit deb --no-initrd --kernel-options "console=ttyS0" --arch i386
quiet
expect_rc 0 distro show deb --json
js 'j["initrd"] is None and j["kernel_options"] == "console=ttyS0" and j["arch"] == "i386"
    and j["kernel"] == "'"$K"'"'
expect_rc 0 distro edit deb --initrd "$I" --no-kernel-options
expect_rc 0 distro show deb --json
js 'j["initrd"] == "'"$I"'" and j["kernel_options"] is None and j["arch"] == "i386"'
expect_rc 1 distro edit deb --kernel "$T/files/missing"
err_has "xenprov: distro 'deb' not changed"
expect_rc 1 distro edit nosuch --arch i386
err_is "xenprov: no distro 'nosuch'"
expect_rc 1 distro show nosuch
err_is "xenprov: no distro 'nosuch'"

# ---- the distro store -----------------------------------------------------------------------

S=$T/state/distro-files
sha() { sha256sum "$1" | cut -d' ' -f1; }
HK=$(sha "$K")
HI=$(sha "$I")
expect_rc 0 distro show deb --json
js 'j["kernel_sha256"] == "'"$HK"'" and j["initrd_sha256"] == "'"$HI"'" and j["served"]'
# copies named by their digests, read-only, shared: deb and alma have one kernel
[ "$(ls "$S" | sort | tr '\n' ' ')" = "$(printf '%s\n' "$HK" "$HI" | sort | tr '\n' ' ')" ] ||
	fail "the store holds $(ls "$S")"
ok
[ "$(stat -c %a "$S/$HK")" = 444 ] && cmp -s "$S/$HK" "$K" || fail "the store's kernel"
ok
# the original changes: the copy does not, until the distro is given it again
echo kernel-2 >"$K"
expect_rc 0 distro show deb --json
js 'j["kernel_sha256"] == "'"$HK"'"'
cmp -s "$S/$HK" <(echo kernel) || fail "the store's copy changed with the original"
ok
expect_rc 0 distro edit deb --kernel "$K"
expect_rc 0 distro show deb --json
js 'j["kernel_sha256"] == "'"$(sha "$K")"'" and j["kernel"] == "'"$K"'"'
[ -e "$S/$HK" ] || fail "alma's kernel left the store while alma names it"
ok
expect_rc 0 distro show alma --json
js 'j["kernel_sha256"] == "'"$HK"'"'
expect_rc 0 distro add bydigest --kernel "sha256:$HK"
expect_rc 0 distro show bydigest --json
js 'j["kernel"] == "sha256:'"$HK"'" and j["kernel_sha256"] == "'"$HK"'"'
expect_rc 1 distro add bad --kernel "sha256:$(printf '%064d' 0)"
err_has "kernel: no such file in the distro store"
expect_rc 0 distro remove bydigest
expect_rc 0 distro remove alma
[ ! -e "$S/$HK" ] || fail "a file no distro names stayed in the store"
ok
expect_rc 0 distro add alma --kernel "$K" --arch aarch64
# the state directory's own files are never taken
expect_rc 1 distro add d3 --kernel "$T/state/inventory.db"
err_has "kernel: '$T/state/inventory.db' is a file of the state directory"
ln "$T/state/inventory.db" "$T/files/inv"
expect_rc 1 distro add d3 --kernel "$T/files/inv"
err_has "kernel: '$T/files/inv' is a file of the state directory"
rm -f "$T/files/inv"
# a distro of an older inventory (its files served from where they were): listed,
# not served, and not taken again from its recorded paths without being told
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO distros (name, kernel, initrd, created, updated) VALUES (?, ?, ?, 1, 1)",
          ("old", "/etc/shadow", "/etc/passwd"))
c.commit()' "$T/state/inventory.db" || fail "python3 sqlite3"
expect_rc 0 distro list
grep -q '^old  *x86_64  *no  */etc/shadow  */etc/passwd$' "$T/stdout" || fail "list: $(cat "$T/stdout")"
ok
expect_rc 0 distro show old
out_has "kernel-sha256   not in the distro store: not served (xenprov distro edit --kernel PATH takes it)"
expect_rc 1 distro edit old --arch i386
err_is "xenprov: distro 'old' has files that are not in the distro store (kernel '/etc/shadow', initrd '/etc/passwd'): give --kernel and --initrd (or --no-initrd) to copy them there"
expect_rc 1 distro edit old --kernel "$K"
err_has "give --kernel and --initrd (or --no-initrd)"
expect_rc 0 distro edit old --kernel "$K" --no-initrd
expect_rc 0 distro show old --json
js 'j["served"] and j["kernel"] == "'"$K"'" and j["initrd"] is None'
expect_rc 0 distro remove old
# roots that would serve the state directory are refused
expect_rc 1 settings set tftp-root "$T/state"
err_has "holds the state directory '$T/state', whose inventory and API token must never be served"
expect_rc 1 settings set tftp-root "$T"
expect_rc 1 settings set distro-roots "$T/files:/"
expect_rc 0 settings set distro-roots "$T/files/"
expect_rc 0 settings show --json
js '{s["key"]: s["value"] for s in j}["distro-roots"] == "'"$T/files"'"'
expect_rc 0 settings unset distro-roots

# ---- systems --------------------------------------------------------------------------------

echo '[{"name": "web", "settings": {"distro": "alma", "memory": "512"}}, {"name": "bare"}]' \
	>"$T/profiles.json"
expect_rc 0 profile import "$T/profiles.json"

# a profile that cannot be netbooted (no distro, after inheritance) is refused, with
# the reason, unless the system boots its own disk; one whose distro is not there yet
# is a warning
expect_rc 1 system add n1 --mac 52-54-00-AB-CD-EF --profile bare
err_has "error: profile: 'bare' cannot be netbooted: it names no distro, nor does any profile it inherits from"
err_has "hint: give the profile a distro (xenprov profile edit P --distro D), boot a distro of its own (--distro D), or --netboot off"
err_has "xenprov: system 'n1' not added"
expect_rc 0 profile add bare2 --parent bare
expect_rc 1 system add n1 --mac 52-54-00-AB-CD-EF --profile bare2
err_has "'bare2' cannot be netbooted"
expect_rc 0 profile add later --distro not-yet
expect_rc 0 system add n9 --mac 52-54-00-00-00-99 --profile later
err_is "xenprov: warning: profile 'later' names distro 'not-yet', which is not in the inventory: the system is not served until it is
    hint: xenprov distro add NAME ..."
expect_rc 0 system remove n9
expect_rc 0 profile remove later
expect_rc 0 system add n1 --mac 52-54-00-AB-CD-EF --ip 10.0.0.11 --profile web \
	--hostname n1.lab.example --kernel-options nomodeset
quiet
expect_rc 0 system add n2 --mac 52:54:00:00:00:02 --distro deb --netboot off
expect_rc 0 system show n1 --json
js 'j == {"name": "n1", "mac": "52:54:00:ab:cd:ef", "ip": "10.0.0.11", "profile": "web",
    "distro": None, "hostname": "n1.lab.example", "netboot": True,
    "kernel_options": "nomodeset", "autoinstall": None, "created": j["created"], "updated": j["updated"],
    "install": {"marked": False, "id": 0, "attempt": 0, "events": []}}'
expect_rc 0 system show n2
out_has "netboot         off"
out_has "ip              -"
expect_rc 0 system list --json
js '[s["name"] for s in j] == ["n1", "n2"] and j[1]["netboot"] is False
    and j[1]["distro"] == "deb" and j[1]["ip"] is None'
expect_rc 0 system list
[ "$(head -1 "$T/stdout" | tr -s ' ')" = "NAME MAC IP BOOTS NETBOOT" ] || fail "list header"
ok
[ "$(sed -n 2p "$T/stdout" | tr -s ' ')" = "n1 52:54:00:ab:cd:ef 10.0.0.11 profile:web on" ] ||
	fail "list row: $(sed -n 2p "$T/stdout")"
ok
[ "$(sed -n 3p "$T/stdout" | tr -s ' ')" = "n2 52:54:00:00:00:02 - distro:deb off" ] ||
	fail "list row: $(sed -n 3p "$T/stdout")"
ok

expect_rc 1 system add n1 --mac 52:54:00:00:00:09 --distro deb
err_is "xenprov: system 'n1' exists (use 'xenprov system edit')"
expect_rc 1 system add n3 --mac 52:54:00:AB:CD:EF --distro deb
err_is "xenprov: cannot add system 'n3': MAC 52:54:00:ab:cd:ef belongs to system 'n1'"
expect_rc 1 system add n3 --mac 52:54:00:00:00:03 --ip 10.0.0.11 --distro deb
err_is "xenprov: cannot add system 'n3': IP 10.0.0.11 belongs to system 'n1'"
expect_rc 1 system add n3 --mac 52:54:00:00:00:03 --profile nosuch
err_is "xenprov: cannot add system 'n3': no profile 'nosuch'"
expect_rc 1 system add n3 --mac 52:54:00:00:00:03 --distro nosuch
err_is "xenprov: cannot add system 'n3': no distro 'nosuch'"
expect_rc 1 system add n3 --mac 01:00:5e:00:00:01 --distro deb
err_has "error: mac: a multicast address cannot be a machine's"
expect_rc 1 system add n3 --mac 52:54:00:00:03 --distro deb
err_has "error: mac: not a MAC address"
expect_rc 1 system add n3 --mac 52:54:00:00:00:03 --ip 255.255.255.255 --distro deb
err_has "ip: 0.0.0.0, 255.255.255.255 and multicast addresses cannot be a machine's"
expect_rc 1 system add n3 --mac 52:54:00:00:00:03 --ip 10.0.0 --distro deb
err_has "ip: not an IPv4 address"
expect_rc 1 system add n3 --mac 52:54:00:00:00:03 --distro deb --hostname bad_name
err_has "hostname: not a host name (RFC 1123)"
expect_rc 1 system add n3 --mac 01:00:5e:00:00:01 --ip 0.0.0.0 --distro deb
err_has "error: mac:"
err_has "error: ip:"
err_has "xenprov: system 'n3' not added"
expect_rc 0 system list --json
js 'len(j) == 2'

expect_rc 0 system edit n1 --distro deb --no-ip --no-hostname --netboot off --mac 52:54:00:AB:CD:E0
quiet
expect_rc 0 system show n1 --json
js 'j["distro"] == "deb" and j["profile"] is None and j["ip"] is None
    and j["hostname"] is None and j["netboot"] is False and j["mac"] == "52:54:00:ab:cd:e0"
    and j["kernel_options"] == "nomodeset"'
expect_rc 1 system edit n1 --profile bare2 --netboot on
err_has "'bare2' cannot be netbooted"
expect_rc 0 system edit n1 --profile bare2 --netboot off
expect_rc 1 system edit n1 --netboot on
err_has "xenprov: system 'n1' not changed"
expect_rc 0 system edit n1 --profile web --ip 10.0.0.12 --netboot on --no-kernel-options
expect_rc 0 system show n1 --json
js 'j["profile"] == "web" and j["distro"] is None and j["ip"] == "10.0.0.12"
    and j["netboot"] is True and j["kernel_options"] is None'
expect_rc 1 system edit n1 --mac 52:54:00:00:00:02
err_is "xenprov: cannot edit system 'n1': MAC 52:54:00:00:00:02 belongs to system 'n2'"
expect_rc 1 system edit n1 --ip 224.0.0.1
err_has "xenprov: system 'n1' not changed"
expect_rc 1 system edit nosuch --netboot on
err_is "xenprov: no system 'nosuch'"
expect_rc 1 system show nosuch
err_is "xenprov: no system 'nosuch'"

# ---- references: what is in use is not removed ------------------------------------------------

expect_rc 1 distro remove deb
err_is "xenprov: cannot remove distro 'deb': 1 system and 0 profiles use it"
expect_rc 1 distro remove alma
err_is "xenprov: cannot remove distro 'alma': 0 systems and 1 profile use it"
expect_rc 1 profile remove web
err_has "cannot remove profile 'web': 0 profiles, 0 domains and 1 system use it"
expect_rc 1 distro remove nosuch
err_is "xenprov: no distro 'nosuch'"
expect_rc 0 system remove n2
quiet
expect_rc 1 system remove n2
err_is "xenprov: no system 'n2'"
expect_rc 0 distro remove deb
expect_rc 0 system remove n1
expect_rc 0 profile remove web
expect_rc 0 distro remove alma
expect_rc 0 distro list --json
js 'j == []'
expect_rc 0 system list --json
js 'j == []'

# ---- settings ---------------------------------------------------------------------------------

expect_rc 0 settings keys
for k in server next-server tftp-root http-port bios-boot-file efi64-boot-file proxy-dhcp \
	offer-hold config-dir pool.NAME.range pool.NAME.netmask pool.NAME.router pool.NAME.dns \
	pool.NAME.domain pool.NAME.lease-time; do
	grep -q "^$k " "$T/stdout" || fail "settings keys lacks $k"
	ok
done
expect_rc 0 settings show --json
js '{s["key"]: (s["value"], s["default"]) for s in j} == {
    "tftp-root": ("'"$T"'/state/tftp", True), "http-port": ("80", True),
    "bios-boot-file": ("pxelinux.0", True), "efi64-boot-file": ("ipxe.efi", True),
    "proxy-dhcp": ("off", True), "offer-hold": ("30", True), "config-dir": ("/etc/xen", True)}'
err_has "warning: 'server' is not set"
expect_rc 0 settings set server 10.0.0.1
quiet
expect_rc 0 settings set http-port 8080
expect_rc 0 settings set pool.lab.range 10.0.0.100-10.0.0.199
expect_rc 0 settings show
err_is "xenprov: warning: pool lab: no netmask (set pool.lab.netmask)"
expect_rc 0 settings set pool.lab.netmask /24
expect_rc 0 settings set pool.lab.lease-time 12h
expect_rc 0 settings set pool.lab.dns 10.0.0.1,1.1.1.1
expect_rc 0 settings show --json
js '[s["key"] for s in j] == ["server", "next-server", "tftp-root", "http-port",
    "bios-boot-file", "efi64-boot-file", "proxy-dhcp", "offer-hold", "config-dir", "pool.lab.range",
    "pool.lab.netmask", "pool.lab.dns", "pool.lab.lease-time"]'
js '{s["key"]: (s["value"], s["default"]) for s in j}["next-server"] == ("10.0.0.1", True)'
js '{s["key"]: (s["value"], s["default"]) for s in j}["pool.lab.netmask"] == ("255.255.255.0", False)'
js '{s["key"]: s["value"] for s in j}["pool.lab.lease-time"] == "43200"'
js '{s["key"]: s["value"] for s in j}["http-port"] == "8080"'
[ ! -s "$T/err" ] || fail "warnings for a complete pool"
ok
expect_rc 0 settings show
grep -q "^http-port  *8080$" "$T/stdout" || fail "http-port row: $(grep http-port "$T/stdout")"
ok
grep -q "^proxy-dhcp  *off  *(default)$" "$T/stdout" || fail "proxy-dhcp row"
ok

# a value fine alone, wrong for its pool: set, and a warning
expect_rc 0 settings set pool.lab.router 10.0.1.1
expect_rc 0 settings show
err_is "xenprov: warning: pool lab: the router 10.0.1.1 is outside the subnet 10.0.0.0/24"
expect_rc 0 settings unset pool.lab.router
expect_rc 1 settings set http-port 80x
err_has "error: http-port: a port number from 1 to 65535"
err_has "xenprov: 'http-port' not set"
expect_rc 1 settings set tftproot /srv/tftp
err_has "error: tftproot: unknown server setting"
err_has "hint: did you mean 'tftp-root'?"
expect_rc 1 settings set pool.lab.netmask 255.0.255.0
err_has "pool.lab.netmask: not a subnet mask"
expect_rc 0 settings show --json
js '{s["key"]: s["value"] for s in j}["http-port"] == "8080"'
expect_rc 0 settings unset http-port
quiet
expect_rc 1 settings unset http-port
err_is "xenprov: 'http-port' is not set"
expect_rc 0 settings show --json
js '{s["key"]: (s["value"], s["default"]) for s in j}["http-port"] == ("80", True)'

# ---- reserved addresses: never the server's own, a router, .0, .255 or off the pools -------

expect_rc 0 distro add deb --kernel "$K"
expect_rc 0 settings set pool.lab.router 10.0.0.254
refused_ip() { # MESSAGE IP: system add r1 with that address fails, saying why
	expect_rc 1 system add r1 --mac 52:54:00:00:01:01 --ip "$2" --distro deb
	err_has "error: ip: $1"
	err_has "xenprov: system 'r1' not added"
}
refused_ip "10.0.0.1 is the boot server's own address (setting 'server')" 10.0.0.1
refused_ip "10.0.0.254 is the router of pool lab (pool.lab.router)" 10.0.0.254
refused_ip "10.0.0.0 is the network address of pool lab's subnet 10.0.0.0/24" 10.0.0.0
refused_ip "10.0.0.255 is the broadcast address of pool lab's subnet 10.0.0.0/24" 10.0.0.255
refused_ip "192.168.7.7 is in no pool's subnet (lab 10.0.0.0/24)" 192.168.7.7
err_has "hint: DHCP hands out reserved addresses on its pools' subnets only"
expect_rc 0 system list --json
js 'j == []'
expect_rc 0 system add r1 --mac 52:54:00:00:01:01 --ip 10.0.0.20 --distro deb
quiet
for ip in 10.0.0.1 10.0.0.254 10.0.0.0 10.0.0.255 192.168.7.7; do
	expect_rc 1 system edit r1 --ip "$ip"
	err_has "error: ip: $ip "
	err_has "xenprov: system 'r1' not changed"
done
expect_rc 0 system show r1 --json
js 'j["ip"] == "10.0.0.20"'
# settings that make a reservation unusable: kept, with a warning naming the system
expect_rc 0 settings set pool.lab.router 10.0.0.20
err_has "warning: system 'r1': ip: 10.0.0.20 is the router of pool lab (pool.lab.router)"
err_has "the boot server serves it without its reservation"
expect_rc 0 settings show
err_has "xenprov: warning: system 'r1': ip: 10.0.0.20 is the router of pool lab"
expect_rc 0 settings unset pool.lab.router
quiet
expect_rc 0 settings set server 10.0.0.20
err_has "warning: system 'r1': ip: 10.0.0.20 is the boot server's own address (setting 'server')"
expect_rc 0 settings set server 10.0.0.1
quiet
expect_rc 0 settings set pool.lab.netmask /25
expect_rc 0 settings set pool.lab.range 10.0.0.200-10.0.0.210
err_has "warning: system 'r1': ip: 10.0.0.20 is in no pool's subnet (lab 10.0.0.128/25)"
expect_rc 0 settings show --json
js '{s["key"]: s["value"] for s in j}["pool.lab.range"] == "10.0.0.200-10.0.0.210"'
err_has "warning: system 'r1': ip: 10.0.0.20 is in no pool's subnet"
expect_rc 0 settings set pool.lab.range 10.0.0.100-10.0.0.120
quiet
expect_rc 0 system remove r1
expect_rc 0 distro remove deb

# ---- the state directory ------------------------------------------------------------------------

state_dir_option distro list
expect_rc 1 system list --state-dir "$T/plain"
err_has "cannot open the inventory in '$T/plain': Not a directory"

# serve's numeric options are checked before anything starts (exit 2, nothing bound)
for bad in x -1 100001 1.5 ''; do
	expect_rc 2 serve --tftp-spin "$bad"
	err_has "--tftp-spin takes 0 to 100000 microseconds, not '$bad'"
done
for bad in 0 65537 9999999999999999999 abc; do
	expect_rc 2 serve --max-tftp "$bad"
	err_has "--max-tftp takes 1 to 65536, not '$bad'"
done
expect_rc 0 serve --help
out_has "--tftp-spin USEC"

pass
