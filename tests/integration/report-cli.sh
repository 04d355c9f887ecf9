#!/bin/bash
# report-cli.sh - `xenprov report`: the counts of each kind of record, a table of each
# kind (text and JSON), and one record with every value and where it came from
# (Cobbler's dumpvars): a system over its profile, the profile's parent, its distro
# and the server's settings (stored and default), each overridden value beside the one
# in force, the boot command line the server writes, secrets withheld unless
# --secrets; a domain's own values, its profile's and those it was made with that the
# profile no longer gives; a lease; usage errors.
#
# A domain and a lease are planted in the inventory with python3's sqlite3, as
# `domain create` and the DHCP server write them (no image is built here).
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need python3
scratch files
export XENPROV_STATE_DIR=$T/state
echo kernel-bytes >"$T/files/vmlinuz"
echo initrd-bytes >"$T/files/initrd"

sql() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript(sys.argv[2])
c.commit()' "$XENPROV_STATE_DIR/inventory.db" "$1" || fail "sql: $1"
}

# an empty inventory: counts of nothing, empty tables
expect_rc 0 report
out_has "systems   0 (0 netboot)"
expect_rc 0 report systems --json
out_is "[]"

expect_rc 0 settings set server 10.0.0.1
expect_rc 0 settings set http-port 8080
expect_rc 0 settings set config-dir "$T"
expect_rc 0 distro add deb --kernel "$T/files/vmlinuz" --initrd "$T/files/initrd" \
	--kernel-options console=ttyS0
expect_rc 0 profile add base --memory 512 --vcpus 2 --distro deb --config-dir "$T/files"
HASH='$6$salt$Kdcnm9ZGQTCyKPWfpmQ5rGE9bxZmL4RKHD0AO5iqk3QpEYfhNyx0VvFmtTgGL6HwTbqwyyhfF9MLvWpTUWm3S.'
expect_rc 0 profile add web --parent base --memory 1024 --root-password-hash "$HASH"
expect_rc 0 system add rack1 --mac 52:54:00:00:00:01 --ip 10.0.0.50 --profile web \
	--hostname r1 --kernel-options quiet
expect_rc 0 system add rack2 --mac 52:54:00:00:00:02 --distro deb --netboot off
now=$(date +%s)
sql "INSERT INTO domains (name, profile, state, mac, ip, storage, disk_path, config_path,
	settings, created, updated) VALUES ('g1', 'web', 'ready', '00:16:3e:00:00:01',
	'10.0.0.60', 'qcow2', '/srv/g1.qcow2', '/etc/xen/g1.cfg',
	'{\"settings\": {\"memory\": \"2048\", \"vcpus\": \"2\", \"bridge\": \"xenbr0\"},
	  \"golden\": \"/srv/golden.img\", \"prefix\": 24, \"overrides\": {\"memory\": \"2048\"}}',
	1, 1);
	INSERT INTO leases (ip, client, mac, hostname, state, expires, updated) VALUES
	($(((10 << 24) + 120)), x'01525400000009', '52:54:00:00:00:09', 'pxe1', 'bound',
	 $((now + 3600)), $now);"

# ---- counts ----------------------------------------------------------------------------
expect_rc 0 report
out_has "distros   1 (1 served)"
out_has "profiles  2"
out_has "systems   2 (1 netboot)"
out_has "domains   1 (1 ready)"
out_has "leases    1 (1 active)"
expect_rc 0 report --json
json_ok "$T/stdout" "j['systems'] == {'total': 2, 'netboot': 1} and j['profiles'] == {'total': 2}
	and j['leases'] == {'total': 1, 'active': 1} and j['distros']['served'] == 1"

# ---- tables ----------------------------------------------------------------------------
expect_rc 0 report systems
[ "$(sed -n 1p "$T/stdout" | tr -s ' ')" = "NAME MAC IP PROFILE DISTRO NETBOOT" ] ||
	fail "systems header: $(sed -n 1p "$T/stdout")"
ok
[ "$(sed -n 2p "$T/stdout" | tr -s ' ')" = "rack1 52:54:00:00:00:01 10.0.0.50 web deb on" ] ||
	fail "rack1's row: $(sed -n 2p "$T/stdout")"
ok
[ "$(sed -n 3p "$T/stdout" | tr -s ' ')" = "rack2 52:54:00:00:00:02 - - deb off" ] ||
	fail "rack2's row: $(sed -n 3p "$T/stdout")"
ok
expect_rc 0 report system --json # the singular too
json_ok "$T/stdout" "[s['name'] for s in j] == ['rack1', 'rack2'] and j[1]['ip'] is None
	and j[0]['distro'] == 'deb' and j[0]['netboot'] == 'on'"
expect_rc 0 report profiles --json
json_ok "$T/stdout" "{p['name']: (p['parent'], p['distro'], p['systems'], p['domains']) for p in j}
	== {'base': (None, 'deb', '0', '0'), 'web': ('base', 'deb', '1', '1')}"
expect_rc 0 report distros --json
json_ok "$T/stdout" "j == [{'name': 'deb', 'arch': 'x86_64', 'served': 'yes',
	'kernel': '$T/files/vmlinuz', 'systems': '2'}]"
expect_rc 0 report domains
out_has "g1"
out_has "10.0.0.60"
expect_rc 0 report leases --json
json_ok "$T/stdout" "len(j) == 1 and j[0]['ip'] == '10.0.0.120' and j[0]['mac'] == '52:54:00:00:00:09'
	and j[0]['hostname'] == 'pxe1' and j[0]['state'] == 'bound'"

# ---- one system, every value and where it came from -----------------------------------
expect_rc 0 report systems --name rack1
row() { grep -E "^$1 " "$T/stdout" | tr -s ' '; }
is_row() {
	[ "$(row "$1")" = "$2" ] || fail "row $1: '$(row "$1")', want '$2'"
	ok
}
is_row memory "memory 1024 profile 'web' 512 (parent profile 'base')"
is_row vcpus "vcpus 2 parent profile 'base'"
is_row server "server 10.0.0.1 setting"
is_row http-port "http-port 8080 setting"
is_row bios-boot-file "bios-boot-file pxelinux.0 default"
is_row config-dir "config-dir $T/files parent profile 'base' $T (setting)"
is_row distro "distro deb parent profile 'base'"
is_row distro.kernel-options "distro.kernel-options console=ttyS0 distro 'deb'"
is_row mac "mac 52:54:00:00:00:01 system 'rack1'"
is_row hostname "hostname r1 system 'rack1'"
is_row boot.command-line \
	"boot.command-line console=ttyS0 quiet hostname=r1 derived 'distro.kernel-options, kernel-options, hostname'"
is_row root-password-hash "root-password-hash (secret: --secrets shows it) profile 'web'"
out_lacks "$HASH"
expect_rc 0 report systems --name rack1 --secrets
is_row root-password-hash "root-password-hash $HASH profile 'web'"
expect_rc 0 report systems --name rack1 --json
json_ok "$T/stdout" "j['kind'] == 'system' and j['name'] == 'rack1'"
json_ok "$T/stdout" "[v for v in j['values'] if v['key'] == 'memory'] == [{'key': 'memory',
	'value': '1024', 'source': 'profile', 'from': 'web',
	'overrides': [{'value': '512', 'source': 'parent profile', 'from': 'base'}]}]"
json_ok "$T/stdout" "[(v['source'], v['from']) for v in j['values'] if v['key'] == 'tftp-root']
	== [('default', None)]"
json_ok "$T/stdout" "[v.get('withheld'), 'value' in v] == [True, False]
	for v in j['values'] if v['key'] == 'root-password-hash'"
# a system with netboot off and a distro of its own: no command line
expect_rc 0 report systems --name rack2
is_row distro "distro deb system 'rack2'"
is_row hostname "hostname rack2 derived 'rack2'"
is_row netboot "netboot off system 'rack2'"
out_lacks "boot.command-line"

# ---- a profile, a distro, a domain, a lease ---------------------------------------------
expect_rc 0 report profiles --name web
is_row memory "memory 1024 profile 'web' 512 (parent profile 'base')"
is_row distro.kernel "distro.kernel $T/files/vmlinuz distro 'deb'"
out_lacks "system"
expect_rc 0 report distros --name deb
is_row distro.served "distro.served yes distro 'deb'"
is_row server "server 10.0.0.1 setting"
expect_rc 0 report domains --name g1
is_row memory "memory 2048 domain 'g1' 1024 (profile 'web')"
is_row vcpus "vcpus 2 parent profile 'base'"
is_row bridge "bridge xenbr0 recorded 'g1'"
is_row state "state ready domain 'g1'"
is_row prefix "prefix 24 domain 'g1'"
expect_rc 0 report leases --name 10.0.0.120
is_row hostname "hostname pxe1 lease '10.0.0.120'"

# ---- errors -------------------------------------------------------------------------------
expect_rc 1 report systems --name nosuch
err_has "xenprov: no system 'nosuch'"
expect_rc 1 report leases --name 10.0.0.99
err_has "no lease '10.0.0.99'"
expect_rc 2 report hosts
err_has "'hosts' is not a kind of record"
expect_rc 2 report --name rack1
err_has "--name needs a kind"
expect_rc 2 report systems extra
err_has "unexpected argument 'extra'"
expect_rc 0 report -h
out_has "Usage: xenprov report"
pass
