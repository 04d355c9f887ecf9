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
set -u

X=${XENPROV:?set XENPROV to the xenprov binary}
T=${XP_TMP:-${TMPDIR:-/tmp}/xp-boot-inventory-cli.$$}

[ -x "$X" ] || { echo "SKIP: no binary at $X"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read JSON"; exit 77; }

rm -rf "$T"
mkdir -p "$T/files" || exit 1
trap 'rm -rf "$T"' EXIT
export XENPROV_STATE_DIR=$T/state

checks=0
die() {
	echo "FAIL (line ${BASH_LINENO[1]}): $*"
	[ -s "$T/err" ] && sed 's/^/  stderr: /' "$T/err" | head -20
	exit 1
}
pass() { checks=$((checks + 1)); }

# x WANT-EXIT ARGS...: runs xenprov (stdout to $T/out, stderr to $T/err).
x() {
	local want=$1
	shift
	"$X" "$@" >"$T/out" 2>"$T/err" </dev/null
	local got=$?
	[ "$got" = "$want" ] || die "xenprov $*: exit $got, want $want"
	pass
}
stderr_is() { [ "$(cat "$T/err")" = "$1" ] || die "stderr: '$(cat "$T/err")', want '$1'"; pass; }
stderr_has() { grep -qF -- "$1" "$T/err" || die "stderr lacks '$1'"; pass; }
stdout_is() { [ "$(cat "$T/out")" = "$1" ] || die "stdout: '$(cat "$T/out")', want '$1'"; pass; }
stdout_has() { grep -qF -- "$1" "$T/out" || die "stdout lacks '$1'"; pass; }
quiet() { [ ! -s "$T/out" ] && [ ! -s "$T/err" ] || die "output where none was expected"; pass; }
# js EXPR: the JSON on stdout, as j, makes the Python expression true.
js() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$T/out" "$1" || die "JSON check failed: $1
  JSON was: $(head -c 600 "$T/out")"
	pass
}

K=$T/files/vmlinuz
I=$T/files/initrd.img
echo kernel >"$K"
echo initrd >"$I"
mkdir "$T/files/dir"

# ---- help, on every verb, and usage errors -------------------------------------------------

for cmd in distro system settings; do
	x 0 "$cmd" -h
	stdout_has "Usage: xenprov $cmd VERB"
	x 2 "$cmd"
	x 2 "$cmd" nosuch
	stderr_has "'nosuch' is not a verb of '$cmd'"
done
x 0 --help
for c in distro system settings; do stdout_has "  $c "; done
for cv in "distro add" "distro edit" "distro show" "distro list" "distro remove" \
	"system add" "system edit" "system show" "system list" "system remove" \
	"settings set" "settings unset" "settings show" "settings keys"; do
	set -- $cv
	x 0 "$1" "$2" --help
	[[ $(head -1 "$T/out") == "Usage: xenprov $1 $2"* ]] || die "$cv -h: $(head -1 "$T/out")"
	pass
	cp "$T/out" "$T/usage"
	x 0 help "$1" "$2"
	cmp -s "$T/usage" "$T/out" || die "'xenprov help $cv' differs from -h"
	pass
	x 0 "$1" "$2" -h
	cmp -s "$T/usage" "$T/out" || die "'xenprov $cv -h' differs from --help"
	pass
done

x 2 distro add deb
stderr_has "--kernel is required"
stderr_has "Try 'xenprov distro add -h'."
x 2 distro add --kernel "$K"
stderr_has "no NAME given"
x 2 distro add a b --kernel "$K"
stderr_has "expected one NAME"
x 2 distro add deb --kernel "$K" --no-initrd
stderr_has "invalid option '--no-initrd'"
x 2 distro add deb --kernel
x 2 distro edit deb
stderr_has "nothing to change"
x 2 distro edit deb --initrd "$I" --no-initrd
stderr_has "give --initrd or --no-initrd, not both"
x 2 distro edit deb --kernel-options x --no-kernel-options
x 2 distro show
x 2 distro show a b
x 2 distro show deb --yaml
x 2 distro list extra
x 2 distro remove
x 2 system add n1 --distro deb
stderr_has "--mac is required"
x 2 system add n1 --mac 52:54:00:00:00:01
stderr_has "--profile or --distro is required"
x 2 system add n1 --mac 52:54:00:00:00:01 --profile p --distro d
stderr_has "give --profile or --distro, not both"
x 2 system add n1 --mac 52:54:00:00:00:01 --distro d --netboot maybe
stderr_has "--netboot takes on or off, not 'maybe'"
x 2 system add n1 --mac 52:54:00:00:00:01 --distro d --no-ip
x 2 system edit n1
stderr_has "nothing to change"
x 2 system edit n1 --ip 10.0.0.1 --no-ip
x 2 system list --bogus
stderr_has "invalid option '--bogus'"
x 2 settings set server
stderr_has "expected KEY VALUE"
x 2 settings set a b c
x 2 settings unset
x 2 settings show extra
x 2 settings keys extra
[ ! -e "$T/state" ] || die "usage errors made the state directory"
pass

# ---- distros --------------------------------------------------------------------------------

x 0 distro list
quiet
x 0 distro list --json
js 'j == []'
x 0 distro add deb --kernel "$K" --initrd "$I" --kernel-options "priority=critical"
quiet
x 0 distro add alma --kernel "$K" --arch aarch64
x 0 distro show deb --json
js 'j["name"] == "deb" and j["kernel"] == "'"$K"'" and j["initrd"] == "'"$I"'"
    and j["arch"] == "x86_64" and j["kernel_options"] == "priority=critical"
    and isinstance(j["created"], int) and j["updated"] == j["created"]'
x 0 distro show alma
stdout_has "initrd          -"
stdout_has "arch            aarch64"
x 0 distro list --json
js '[d["name"] for d in j] == ["alma", "deb"] and j[0]["initrd"] is None'
x 0 distro list
[ "$(head -1 "$T/out" | tr -s ' ')" = "NAME ARCH SERVED KERNEL INITRD" ] || die "list header"
pass
[ "$(sed -n 3p "$T/out" | tr -s ' ')" = "deb x86_64 yes $K $I" ] || die "list row: $(sed -n 3p "$T/out")"
pass

x 1 distro add deb --kernel "$K"
stderr_is "xenprov: distro 'deb' exists (use 'xenprov distro edit')"
x 1 distro add d2 --kernel vmlinuz
stderr_has "error: kernel: 'vmlinuz' is not an absolute path"
stderr_has "hint: give an absolute path"
stderr_has "xenprov: distro 'd2' not added"
x 1 distro add d2 --kernel "$T/files/missing"
stderr_has "kernel: cannot use '$T/files/missing': No such file or directory"
x 1 distro add d2 --kernel "$K" --initrd "$T/files/dir"
stderr_has "initrd: '$T/files/dir' is not a regular file"
x 1 distro add d2 --kernel "$K" --arch sparc
stderr_has "arch: unknown architecture"
stderr_has "hint: x86_64, i386 or aarch64"
x 1 distro add .d2 --kernel "$K"
stderr_has "'.d2' is not a valid distro name"
x 0 distro list --json
js '[d["name"] for d in j] == ["alma", "deb"]'

x 0 distro edit deb --no-initrd --kernel-options "console=ttyS0" --arch i386
quiet
x 0 distro show deb --json
js 'j["initrd"] is None and j["kernel_options"] == "console=ttyS0" and j["arch"] == "i386"
    and j["kernel"] == "'"$K"'"'
x 0 distro edit deb --initrd "$I" --no-kernel-options
x 0 distro show deb --json
js 'j["initrd"] == "'"$I"'" and j["kernel_options"] is None and j["arch"] == "i386"'
x 1 distro edit deb --kernel "$T/files/missing"
stderr_has "xenprov: distro 'deb' not changed"
x 1 distro edit nosuch --arch i386
stderr_is "xenprov: no distro 'nosuch'"
x 1 distro show nosuch
stderr_is "xenprov: no distro 'nosuch'"

# ---- the distro store -----------------------------------------------------------------------

S=$T/state/distro-files
sha() { sha256sum "$1" | cut -d' ' -f1; }
HK=$(sha "$K")
HI=$(sha "$I")
x 0 distro show deb --json
js 'j["kernel_sha256"] == "'"$HK"'" and j["initrd_sha256"] == "'"$HI"'" and j["served"]'
# copies named by their digests, read-only, shared: deb and alma have one kernel
[ "$(ls "$S" | sort | tr '\n' ' ')" = "$(printf '%s\n' "$HK" "$HI" | sort | tr '\n' ' ')" ] ||
	die "the store holds $(ls "$S")"
pass
[ "$(stat -c %a "$S/$HK")" = 444 ] && cmp -s "$S/$HK" "$K" || die "the store's kernel"
pass
# the original changes: the copy does not, until the distro is given it again
echo kernel-2 >"$K"
x 0 distro show deb --json
js 'j["kernel_sha256"] == "'"$HK"'"'
cmp -s "$S/$HK" <(echo kernel) || die "the store's copy changed with the original"
pass
x 0 distro edit deb --kernel "$K"
x 0 distro show deb --json
js 'j["kernel_sha256"] == "'"$(sha "$K")"'" and j["kernel"] == "'"$K"'"'
[ -e "$S/$HK" ] || die "alma's kernel left the store while alma names it"
pass
x 0 distro show alma --json
js 'j["kernel_sha256"] == "'"$HK"'"'
x 0 distro add bydigest --kernel "sha256:$HK"
x 0 distro show bydigest --json
js 'j["kernel"] == "sha256:'"$HK"'" and j["kernel_sha256"] == "'"$HK"'"'
x 1 distro add bad --kernel "sha256:$(printf '%064d' 0)"
stderr_has "kernel: no such file in the distro store"
x 0 distro remove bydigest
x 0 distro remove alma
[ ! -e "$S/$HK" ] || die "a file no distro names stayed in the store"
pass
x 0 distro add alma --kernel "$K" --arch aarch64
# the state directory's own files are never taken
x 1 distro add d3 --kernel "$T/state/inventory.db"
stderr_has "kernel: '$T/state/inventory.db' is a file of the state directory"
ln "$T/state/inventory.db" "$T/files/inv"
x 1 distro add d3 --kernel "$T/files/inv"
stderr_has "kernel: '$T/files/inv' is a file of the state directory"
rm -f "$T/files/inv"
# a distro of an older inventory (its files served from where they were): listed,
# not served, and not taken again from its recorded paths without being told
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO distros (name, kernel, initrd, created, updated) VALUES (?, ?, ?, 1, 1)",
          ("old", "/etc/shadow", "/etc/passwd"))
c.commit()' "$T/state/inventory.db" || die "python3 sqlite3"
x 0 distro list
grep -q '^old  *x86_64  *no  */etc/shadow  */etc/passwd$' "$T/out" || die "list: $(cat "$T/out")"
pass
x 0 distro show old
stdout_has "kernel-sha256   not in the distro store: not served (xenprov distro edit --kernel PATH takes it)"
x 1 distro edit old --arch i386
stderr_is "xenprov: distro 'old' has files that are not in the distro store (kernel '/etc/shadow', initrd '/etc/passwd'): give --kernel and --initrd (or --no-initrd) to copy them there"
x 1 distro edit old --kernel "$K"
stderr_has "give --kernel and --initrd (or --no-initrd)"
x 0 distro edit old --kernel "$K" --no-initrd
x 0 distro show old --json
js 'j["served"] and j["kernel"] == "'"$K"'" and j["initrd"] is None'
x 0 distro remove old
# roots that would serve the state directory are refused
x 1 settings set tftp-root "$T/state"
stderr_has "holds the state directory '$T/state', whose inventory and API token must never be served"
x 1 settings set tftp-root "$T"
x 1 settings set distro-roots "$T/files:/"
x 0 settings set distro-roots "$T/files/"
x 0 settings show --json
js '{s["key"]: s["value"] for s in j}["distro-roots"] == "'"$T/files"'"'
x 0 settings unset distro-roots

# ---- systems --------------------------------------------------------------------------------

echo '[{"name": "web", "settings": {"distro": "alma", "memory": "512"}}, {"name": "bare"}]' \
	>"$T/profiles.json"
x 0 profile import "$T/profiles.json"

x 0 system add n1 --mac 52-54-00-AB-CD-EF --ip 10.0.0.11 --profile web \
	--hostname n1.lab.example --kernel-options nomodeset
quiet
x 0 system add n2 --mac 52:54:00:00:00:02 --distro deb --netboot off
x 0 system show n1 --json
js 'j == {"name": "n1", "mac": "52:54:00:ab:cd:ef", "ip": "10.0.0.11", "profile": "web",
    "distro": None, "hostname": "n1.lab.example", "netboot": True,
    "kernel_options": "nomodeset", "created": j["created"], "updated": j["updated"]}'
x 0 system show n2
stdout_has "netboot         off"
stdout_has "ip              -"
x 0 system list --json
js '[s["name"] for s in j] == ["n1", "n2"] and j[1]["netboot"] is False
    and j[1]["distro"] == "deb" and j[1]["ip"] is None'
x 0 system list
[ "$(head -1 "$T/out" | tr -s ' ')" = "NAME MAC IP BOOTS NETBOOT" ] || die "list header"
pass
[ "$(sed -n 2p "$T/out" | tr -s ' ')" = "n1 52:54:00:ab:cd:ef 10.0.0.11 profile:web on" ] ||
	die "list row: $(sed -n 2p "$T/out")"
pass
[ "$(sed -n 3p "$T/out" | tr -s ' ')" = "n2 52:54:00:00:00:02 - distro:deb off" ] ||
	die "list row: $(sed -n 3p "$T/out")"
pass

x 1 system add n1 --mac 52:54:00:00:00:09 --distro deb
stderr_is "xenprov: system 'n1' exists (use 'xenprov system edit')"
x 1 system add n3 --mac 52:54:00:AB:CD:EF --distro deb
stderr_is "xenprov: cannot add system 'n3': MAC 52:54:00:ab:cd:ef belongs to system 'n1'"
x 1 system add n3 --mac 52:54:00:00:00:03 --ip 10.0.0.11 --distro deb
stderr_is "xenprov: cannot add system 'n3': IP 10.0.0.11 belongs to system 'n1'"
x 1 system add n3 --mac 52:54:00:00:00:03 --profile nosuch
stderr_is "xenprov: cannot add system 'n3': no profile 'nosuch'"
x 1 system add n3 --mac 52:54:00:00:00:03 --distro nosuch
stderr_is "xenprov: cannot add system 'n3': no distro 'nosuch'"
x 1 system add n3 --mac 01:00:5e:00:00:01 --distro deb
stderr_has "error: mac: a multicast address cannot be a machine's"
x 1 system add n3 --mac 52:54:00:00:03 --distro deb
stderr_has "error: mac: not a MAC address"
x 1 system add n3 --mac 52:54:00:00:00:03 --ip 255.255.255.255 --distro deb
stderr_has "ip: 0.0.0.0, 255.255.255.255 and multicast addresses cannot be a machine's"
x 1 system add n3 --mac 52:54:00:00:00:03 --ip 10.0.0 --distro deb
stderr_has "ip: not an IPv4 address"
x 1 system add n3 --mac 52:54:00:00:00:03 --distro deb --hostname bad_name
stderr_has "hostname: not a host name (RFC 1123)"
x 1 system add n3 --mac 01:00:5e:00:00:01 --ip 0.0.0.0 --distro deb
stderr_has "error: mac:"
stderr_has "error: ip:"
stderr_has "xenprov: system 'n3' not added"
x 0 system list --json
js 'len(j) == 2'

x 0 system edit n1 --distro deb --no-ip --no-hostname --netboot off --mac 52:54:00:AB:CD:E0
quiet
x 0 system show n1 --json
js 'j["distro"] == "deb" and j["profile"] is None and j["ip"] is None
    and j["hostname"] is None and j["netboot"] is False and j["mac"] == "52:54:00:ab:cd:e0"
    and j["kernel_options"] == "nomodeset"'
x 0 system edit n1 --profile web --ip 10.0.0.12 --netboot on --no-kernel-options
x 0 system show n1 --json
js 'j["profile"] == "web" and j["distro"] is None and j["ip"] == "10.0.0.12"
    and j["netboot"] is True and j["kernel_options"] is None'
x 1 system edit n1 --mac 52:54:00:00:00:02
stderr_is "xenprov: cannot edit system 'n1': MAC 52:54:00:00:00:02 belongs to system 'n2'"
x 1 system edit n1 --ip 224.0.0.1
stderr_has "xenprov: system 'n1' not changed"
x 1 system edit nosuch --netboot on
stderr_is "xenprov: no system 'nosuch'"
x 1 system show nosuch
stderr_is "xenprov: no system 'nosuch'"

# ---- references: what is in use is not removed ------------------------------------------------

x 1 distro remove deb
stderr_is "xenprov: cannot remove distro 'deb': 1 system and 0 profiles use it"
x 1 distro remove alma
stderr_is "xenprov: cannot remove distro 'alma': 0 systems and 1 profile use it"
x 1 profile remove web
stderr_has "cannot remove profile 'web': 0 profiles, 0 domains and 1 system use it"
x 1 distro remove nosuch
stderr_is "xenprov: no distro 'nosuch'"
x 0 system remove n2
quiet
x 1 system remove n2
stderr_is "xenprov: no system 'n2'"
x 0 distro remove deb
x 0 system remove n1
x 0 profile remove web
x 0 distro remove alma
x 0 distro list --json
js 'j == []'
x 0 system list --json
js 'j == []'

# ---- settings ---------------------------------------------------------------------------------

x 0 settings keys
for k in server next-server tftp-root http-port bios-boot-file efi64-boot-file proxy-dhcp \
	offer-hold pool.NAME.range pool.NAME.netmask pool.NAME.router pool.NAME.dns \
	pool.NAME.domain pool.NAME.lease-time; do
	grep -q "^$k " "$T/out" || die "settings keys lacks $k"
	pass
done
x 0 settings show --json
js '{s["key"]: (s["value"], s["default"]) for s in j} == {
    "tftp-root": ("'"$T"'/state/tftp", True), "http-port": ("80", True),
    "bios-boot-file": ("pxelinux.0", True), "efi64-boot-file": ("ipxe.efi", True),
    "proxy-dhcp": ("off", True), "offer-hold": ("30", True)}'
stderr_has "warning: 'server' is not set"
x 0 settings set server 10.0.0.1
quiet
x 0 settings set http-port 8080
x 0 settings set pool.lab.range 10.0.0.100-10.0.0.199
x 0 settings show
stderr_is "xenprov: warning: pool lab: no netmask (set pool.lab.netmask)"
x 0 settings set pool.lab.netmask /24
x 0 settings set pool.lab.lease-time 12h
x 0 settings set pool.lab.dns 10.0.0.1,1.1.1.1
x 0 settings show --json
js '[s["key"] for s in j] == ["server", "next-server", "tftp-root", "http-port",
    "bios-boot-file", "efi64-boot-file", "proxy-dhcp", "offer-hold", "pool.lab.range",
    "pool.lab.netmask", "pool.lab.dns", "pool.lab.lease-time"]'
js '{s["key"]: (s["value"], s["default"]) for s in j}["next-server"] == ("10.0.0.1", True)'
js '{s["key"]: (s["value"], s["default"]) for s in j}["pool.lab.netmask"] == ("255.255.255.0", False)'
js '{s["key"]: s["value"] for s in j}["pool.lab.lease-time"] == "43200"'
js '{s["key"]: s["value"] for s in j}["http-port"] == "8080"'
[ ! -s "$T/err" ] || die "warnings for a complete pool"
pass
x 0 settings show
grep -q "^http-port  *8080$" "$T/out" || die "http-port row: $(grep http-port "$T/out")"
pass
grep -q "^proxy-dhcp  *off  *(default)$" "$T/out" || die "proxy-dhcp row"
pass

# a value fine alone, wrong for its pool: set, and a warning
x 0 settings set pool.lab.router 10.0.1.1
x 0 settings show
stderr_is "xenprov: warning: pool lab: the router 10.0.1.1 is outside the subnet 10.0.0.0/24"
x 0 settings unset pool.lab.router
x 1 settings set http-port 80x
stderr_has "error: http-port: a port number from 1 to 65535"
stderr_has "xenprov: 'http-port' not set"
x 1 settings set tftproot /srv/tftp
stderr_has "error: tftproot: unknown server setting"
stderr_has "hint: did you mean 'tftp-root'?"
x 1 settings set pool.lab.netmask 255.0.255.0
stderr_has "pool.lab.netmask: not a subnet mask"
x 0 settings show --json
js '{s["key"]: s["value"] for s in j}["http-port"] == "8080"'
x 0 settings unset http-port
quiet
x 1 settings unset http-port
stderr_is "xenprov: 'http-port' is not set"
x 0 settings show --json
js '{s["key"]: (s["value"], s["default"]) for s in j}["http-port"] == ("80", True)'

# ---- reserved addresses: never the server's own, a router, .0, .255 or off the pools -------

x 0 distro add deb --kernel "$K"
x 0 settings set pool.lab.router 10.0.0.254
refused_ip() { # MESSAGE IP: system add r1 with that address fails, saying why
	x 1 system add r1 --mac 52:54:00:00:01:01 --ip "$2" --distro deb
	stderr_has "error: ip: $1"
	stderr_has "xenprov: system 'r1' not added"
}
refused_ip "10.0.0.1 is the boot server's own address (setting 'server')" 10.0.0.1
refused_ip "10.0.0.254 is the router of pool lab (pool.lab.router)" 10.0.0.254
refused_ip "10.0.0.0 is the network address of pool lab's subnet 10.0.0.0/24" 10.0.0.0
refused_ip "10.0.0.255 is the broadcast address of pool lab's subnet 10.0.0.0/24" 10.0.0.255
refused_ip "192.168.7.7 is in no pool's subnet (lab 10.0.0.0/24)" 192.168.7.7
stderr_has "hint: DHCP hands out reserved addresses on its pools' subnets only"
x 0 system list --json
js 'j == []'
x 0 system add r1 --mac 52:54:00:00:01:01 --ip 10.0.0.20 --distro deb
quiet
for ip in 10.0.0.1 10.0.0.254 10.0.0.0 10.0.0.255 192.168.7.7; do
	x 1 system edit r1 --ip "$ip"
	stderr_has "error: ip: $ip "
	stderr_has "xenprov: system 'r1' not changed"
done
x 0 system show r1 --json
js 'j["ip"] == "10.0.0.20"'
# settings that make a reservation unusable: kept, with a warning naming the system
x 0 settings set pool.lab.router 10.0.0.20
stderr_has "warning: system 'r1': ip: 10.0.0.20 is the router of pool lab (pool.lab.router)"
stderr_has "the boot server serves it without its reservation"
x 0 settings show
stderr_has "xenprov: warning: system 'r1': ip: 10.0.0.20 is the router of pool lab"
x 0 settings unset pool.lab.router
quiet
x 0 settings set server 10.0.0.20
stderr_has "warning: system 'r1': ip: 10.0.0.20 is the boot server's own address (setting 'server')"
x 0 settings set server 10.0.0.1
quiet
x 0 settings set pool.lab.netmask /25
x 0 settings set pool.lab.range 10.0.0.200-10.0.0.210
stderr_has "warning: system 'r1': ip: 10.0.0.20 is in no pool's subnet (lab 10.0.0.128/25)"
x 0 settings show --json
js '{s["key"]: s["value"] for s in j}["pool.lab.range"] == "10.0.0.200-10.0.0.210"'
stderr_has "warning: system 'r1': ip: 10.0.0.20 is in no pool's subnet"
x 0 settings set pool.lab.range 10.0.0.100-10.0.0.120
quiet
x 0 system remove r1
x 0 distro remove deb

# ---- the state directory ------------------------------------------------------------------------

x 0 distro list --state-dir "$T/other"
quiet
[ -f "$T/other/inventory.db" ] || die "--state-dir was not used"
pass
: >"$T/plain"
x 1 system list --state-dir "$T/plain"
stderr_has "cannot open the inventory in '$T/plain': Not a directory"

# serve's numeric options are checked before anything starts (exit 2, nothing bound)
for bad in x -1 100001 1.5 ''; do
	x 2 serve --tftp-spin "$bad"
	stderr_has "--tftp-spin takes 0 to 100000 microseconds, not '$bad'"
done
for bad in 0 65537 9999999999999999999 abc; do
	x 2 serve --max-tftp "$bad"
	stderr_has "--max-tftp takes 1 to 65536, not '$bad'"
done
x 0 serve --help
stdout_has "--tftp-spin USEC"

echo "boot-inventory-cli: $checks checks passed"
exit 0
