#!/bin/bash
# sync-cli.sh - `xenprov sync` end to end through the command line, on files: a TFTP
# root and a dnsmasq include written from an inventory; incremental (a second sync
# writes nothing and every mtime stays, one system changed rewrites its two files and its GRUB file
# only, a system removed loses its files); --dry-run writes nothing; the targets are
# remembered (a bare `xenprov sync`), listed and forgotten; a file sync did not write
# is never replaced (--force replaces it); the state directory is refused as a TFTP
# root; usage errors; --json; a system with an autoinstall template boots with its
# installer's argument pointing at --http-base (default: serve's own address), and a
# changed base rewrites its files.
#
# The DHCP servers themselves (dnsmasq, Kea, dhcpd handing the reservations out in
# network namespaces, a broken include refused by the checker) are sync-dhcp.sh's.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need dnsmasq python3 stat
scratch tftp dhcp
export XENPROV_STATE_DIR=$T/state
R=$T/tftp
F=$T/dhcp/xenprov.conf

# usage: nothing remembered yet, options that go together
expect_rc 0 sync --help
out_has "Usage: xenprov sync"
expect_rc 2 sync
err_has "nothing to sync: name a target"
expect_rc 2 sync --kea-classes "$T/dhcp/c.json"
err_has "--kea-classes goes with --kea"
expect_rc 2 sync --subnet 10.0.0.0/24
err_has "--subnet goes with the DHCP targets it limits"
expect_rc 2 sync --tftp-root "$R" --subnet 10.0.0.0/24
err_has "--subnet limits DHCP files only"
expect_rc 2 sync --forget
err_has "--forget needs the targets to forget"
expect_rc 2 sync --list --tftp-root "$R"
err_has "--list takes no target"
expect_rc 2 sync --tftp-root "$R" --tftp-root "$R"
err_has "--tftp-root given twice"
expect_rc 2 sync --bogus
expect_rc 1 sync --tftp-root "$T/missing"
err_has "cannot use '$T/missing': No such file or directory"
expect_rc 1 sync --dnsmasq "$F" --subnet 10.0.0.1/24
err_has "'10.0.0.1/24' is not a subnet"
expect_rc 0 sync --list
out_has "no targets"

# the inventory: a distro, three systems (one with netboot off)
run settings set server 10.0.0.1
echo kernel >"$T/vmlinuz"
echo initrd >"$T/initrd"
expect_rc 0 distro add deb --kernel "$T/vmlinuz" --initrd "$T/initrd" --kernel-options console=ttyS0
expect_rc 0 system add alpha --mac 52:54:00:aa:00:01 --ip 10.0.0.50 --distro deb
expect_rc 0 system add beta --mac 52:54:00:aa:00:02 --ip 10.0.0.51 --distro deb
expect_rc 0 system add gamma --mac 52:54:00:aa:00:03 --distro deb --netboot off

# the state directory is never a TFTP root
expect_rc 1 sync --tftp-root "$T"
err_has "is, or holds, the state directory"

# a dry run decides and says, writes nothing, records nothing
expect_rc 0 sync --dry-run --tftp-root "$R" --dnsmasq "$F"
out_has "dry run: nothing is written"
out_has "  write    pxelinux.cfg/01-52-54-00-aa-00-01"
out_has "tftp $R: would be: 267 written, 0 removed, 0 unchanged (3 systems)"
out_has "dnsmasq $F: would be: 1 written"
out_has "checked by dnsmasq"
[ -z "$(find "$R" "$T/dhcp" -mindepth 1)" ] || fail "a dry run wrote: $(find "$R" "$T/dhcp" -mindepth 1)"
ok
expect_rc 0 sync --list
out_has "no targets"

# the first sync: every file, the include checked by dnsmasq
expect_rc 0 sync --tftp-root "$R" --dnsmasq "$F"
out_has "tftp $R: 267 written, 0 removed, 0 unchanged (3 systems)"
out_has "dnsmasq $F: 1 written, 0 unchanged (3 systems); checked by dnsmasq"
for f in pxelinux.cfg/01-52-54-00-aa-00-0{1,2,3} grub/xenprov-mac-{00,0{1,2,3},ff}.cfg \
	ipxe/01-52-54-00-aa-00-0{1,2,3} pxelinux.cfg/default grub/grub.cfg ipxe/default \
	distros/deb/kernel distros/deb/initrd; do
	[ -f "$R/$f" ] || fail "no $f in the TFTP root"
done
ok
# GRUB's configs: 256 files by the MAC's last byte (grub.cfg sources the one of the MAC)
[ "$(find "$R" -type f | wc -l)" = 267 ] || fail "files beside the 267: $(find "$R" -type f)"
[ ! -e "$R/grub/grub.cfg-01-52-54-00-aa-00-01" ] || fail "a GRUB file per MAC"
grep -q "if \[ \"\$net_default_mac\" = 52:54:00:aa:00:01 \]" "$R/grub/xenprov-mac-01.cfg" &&
	grep -q 'console=ttyS0.*hostname=alpha' "$R/grub/xenprov-mac-01.cfg" || fail "alpha's GRUB entries: $(cat "$R/grub/xenprov-mac-01.cfg")"
grep -q 'source (tftp,10.0.0.1)/grub/xenprov-mac-${xenprov_shard}.cfg' "$R/grub/grub.cfg" || fail "grub.cfg sources no file: $(cat "$R/grub/grub.cfg")"
ok
grep -q 'LOCALBOOT 0' "$R/pxelinux.cfg/01-52-54-00-aa-00-03" || fail "gamma (netboot off) does not boot its disk"
grep -q 'console=ttyS0.*hostname=alpha' "$R/pxelinux.cfg/01-52-54-00-aa-00-01" || fail "alpha's pxelinux config"
cmp -s "$R/distros/deb/kernel" "$T/vmlinuz" || fail "the distro's kernel differs"
grep -qx 'dhcp-host=52:54:00:aa:00:01,set:xenprov-netboot,10.0.0.50,alpha' "$F" || fail "alpha's dhcp-host: $(cat "$F")"
grep -qx 'dhcp-host=52:54:00:aa:00:03,gamma' "$F" || fail "gamma's dhcp-host"
ok
dnsmasq --test --conf-file="$F" >/dev/null 2>&1 || fail "dnsmasq --test refuses the include"
ok

# every file's name, size and modification time (nanoseconds)
snapshot() { (cd "$R" && find . -type f -printf '%P %s %T@\n' | sort) >"$1"; stat -c '%n %s %.9Y' "$F" >>"$1"; }
snapshot "$T/s1"

# remembered: a bare sync syncs both; nothing changed, nothing written
expect_rc 0 sync
out_has "tftp $R: up to date"
out_has "dnsmasq $F: up to date"
snapshot "$T/s2"
cmp -s "$T/s1" "$T/s2" || fail "a sync with no changes wrote: $(diff "$T/s1" "$T/s2")"
ok
expect_rc 0 sync --list
out_has "tftp       $R  (synced "
out_has "dnsmasq    $F  (synced "

# one system changed: its three files, nothing else (the include: its host name)
expect_rc 0 system edit alpha --kernel-options quiet
expect_rc 0 sync --dry-run
out_has "  write    grub/xenprov-mac-01.cfg"
out_lacks "aa-00-02"
snapshot "$T/s3"
cmp -s "$T/s1" "$T/s3" || fail "a dry run wrote: $(diff "$T/s1" "$T/s3")"
ok
expect_rc 0 sync -v
out_has "tftp $R: 3 written, 0 removed, 0 unchanged (1 system changed)"
out_has "dnsmasq $F: 0 written, 1 unchanged (3 systems)"
snapshot "$T/s4"
changed=$(diff "$T/s1" "$T/s4" | sed -n 's/^> \([^ ]*\) .*/\1/p' | sort | tr '\n' ' ')
[ "$changed" = "grub/xenprov-mac-01.cfg ipxe/01-52-54-00-aa-00-01 pxelinux.cfg/01-52-54-00-aa-00-01 " ] ||
	fail "one system changed rewrote: '$changed'"
ok
grep -q 'quiet hostname=alpha' "$R/pxelinux.cfg/01-52-54-00-aa-00-01" || fail "alpha's new options"
ok

# one system removed: its files go, and its reservation
expect_rc 0 system remove beta
expect_rc 0 sync --json
json_ok "$T/stdout" '[(t["kind"], t["removed"], t["written"], t["check"]) for t in j["targets"]] == [("dnsmasq", 0, 1, "passed"), ("tftp", 2, 1, "none")]'
json_ok "$T/stdout" 'sorted((f["path"], f["action"]) for f in j["targets"][1]["files"]) == [("grub/xenprov-mac-02.cfg", "write"), ("ipxe/01-52-54-00-aa-00-02", "remove"), ("pxelinux.cfg/01-52-54-00-aa-00-02", "remove")]'
json_ok "$T/stdout" 'j["dry_run"] is False and j["messages"] == []'
for f in pxelinux.cfg/01-52-54-00-aa-00-02 ipxe/01-52-54-00-aa-00-02; do
	[ ! -e "$R/$f" ] || fail "$f is still there"
done
ok
! grep -q 52:54:00:aa:00:02 "$F" || fail "beta's reservation is still in the include"
! grep -q beta "$R/grub/xenprov-mac-02.cfg" || fail "beta's GRUB entries are still there"
ok

# behind sync's back: a file removed comes back with --full only
rm "$R/ipxe/01-52-54-00-aa-00-01"
expect_rc 0 sync
out_has "tftp $R: up to date"
expect_rc 0 sync --full --tftp-root "$R"
out_has "tftp $R: 1 written, 0 removed, 264 unchanged (2 systems)"
[ -f "$R/ipxe/01-52-54-00-aa-00-01" ] || fail "--full did not put the file back"
ok

# a file sync wrote, changed behind its back: --full puts it back, saying so
echo "DEFAULT site" >"$T/site-menu"
cp "$T/site-menu" "$R/pxelinux.cfg/default"
expect_rc 0 sync --tftp-root "$R" --full
err_has "warning: $R: 1 file xenprov sync wrote was changed since: replaced (pxelinux.cfg/default)"
! cmp -s "$T/site-menu" "$R/pxelinux.cfg/default" || fail "--full left the changed menu"
ok
# a file sync did not write is left alone: the site's own menu in a new root; the
# site's own config
mkdir -p "$T/tftp2/pxelinux.cfg"
cp "$T/site-menu" "$T/tftp2/pxelinux.cfg/default"
expect_rc 0 sync --tftp-root "$T/tftp2"
err_has "warning: $T/tftp2: 1 file exists that xenprov sync did not write: left as it is (pxelinux.cfg/default)"
out_has ", 1 left alone"
cmp -s "$T/site-menu" "$T/tftp2/pxelinux.cfg/default" || fail "the site's menu was replaced"
ok
expect_rc 0 sync --forget --tftp-root "$T/tftp2"
expect_rc 0 system add delta --mac 52:54:00:aa:00:04 --distro deb
printf 'port=0\n' >"$T/dhcp/dnsmasq.conf"
expect_rc 1 sync --dnsmasq "$T/dhcp/dnsmasq.conf"
err_has "'$T/dhcp/dnsmasq.conf' exists and was not written by xenprov sync: not replaced"
out_has "dnsmasq $T/dhcp/dnsmasq.conf: failed"
[ "$(cat "$T/dhcp/dnsmasq.conf")" = port=0 ] || fail "the site's config was replaced"
ok
expect_rc 0 sync --dnsmasq "$T/dhcp/dnsmasq.conf" --force
grep -q 'dhcp-host=52:54:00:aa:00:04' "$T/dhcp/dnsmasq.conf" || fail "--force did not replace it"
ok

# forgotten: no longer synced by a bare sync, its files stay
expect_rc 0 sync --forget --dnsmasq "$T/dhcp/dnsmasq.conf"
out_has "forgot dnsmasq $T/dhcp/dnsmasq.conf (its files stay)"
expect_rc 1 sync --forget --dnsmasq "$T/dhcp/nothing.conf"
err_has "no dnsmasq target '$T/dhcp/nothing.conf' was synced"
expect_rc 0 sync --list --json
json_ok "$T/stdout" 'sorted(t["kind"] for t in j) == ["dnsmasq", "tftp"] and all(t["synced"] > 0 for t in j)'
[ -f "$T/dhcp/dnsmasq.conf" ] || fail "a forgotten target's file went"
ok
# a relative path is taken from the working directory
(cd "$T" && "$X" sync --dnsmasq dhcp/rel.conf >/dev/null 2>"$T/err") || fail "a relative path: $(cat "$T/err")"
[ -f "$T/dhcp/rel.conf" ] || fail "no dhcp/rel.conf"
ok
expect_rc 0 sync --forget --json --dnsmasq "$T/dhcp/rel.conf"
json_ok "$T/stdout" 'j == {"forgotten": [{"kind": "dnsmasq", "path": "'"$T"'/dhcp/rel.conf"}]}'

# autoinstall: a system with a template and a distro with an OS family boots with its
# installer's argument, pointing at --http-base (by default serve's own address)
expect_rc 2 sync --dnsmasq "$F" --http-base http://10.0.0.1
err_has "--http-base goes with the --tftp-root whose boot files carry it"
mkdir "$T/tftp3"
expect_rc 1 sync --tftp-root "$T/tftp3" --http-base ftp://10.0.0.1
err_has "'ftp://10.0.0.1' is not an HTTP base URL"
expect_rc 0 distro add inst --kernel "$T/vmlinuz" --os debian
expect_rc 0 system add eps --mac 52:54:00:aa:00:05 --distro inst --autoinstall debian-preseed
P3=$T/tftp3/pxelinux.cfg/01-52-54-00-aa-00-05
expect_rc 0 sync --tftp-root "$T/tftp3"
grep -q 'APPEND auto=true priority=critical url=http://10.0.0.1/autoinstall/eps hostname=eps$' "$P3" || fail "eps's pxelinux config: $(cat "$P3")"
grep -q 'url=http://10.0.0.1/autoinstall/eps hostname=eps$' "$T/tftp3/grub/xenprov-mac-05.cfg" || fail "eps's GRUB config"
grep -q '^kernel tftp://10.0.0.1/distros/inst/kernel auto=true priority=critical url=http://10.0.0.1/autoinstall/eps hostname=eps$' "$T/tftp3/ipxe/01-52-54-00-aa-00-05" || fail "eps's iPXE script: $(cat "$T/tftp3/ipxe/01-52-54-00-aa-00-05")"
! grep -q url= "$T/tftp3/pxelinux.cfg/01-52-54-00-aa-00-01" || fail "alpha (no template) got an autoinstall argument"
ok
expect_rc 0 sync --tftp-root "$T/tftp3" --http-base http://10.0.0.9:8080/
out_has "tftp $T/tftp3: 3 written, 0 removed,"
grep -q 'url=http://10.0.0.9:8080/autoinstall/eps hostname=eps$' "$P3" || fail "the new base: $(cat "$P3")"
ok
expect_rc 0 sync --list
out_has "tftp       $T/tftp3 http-base http://10.0.0.9:8080/  (synced "
expect_rc 0 sync --tftp-root "$T/tftp3" --http-base none
out_has "tftp $T/tftp3: 3 written, 0 removed,"
! grep -q url= "$P3" || fail "--http-base none left the argument: $(cat "$P3")"
ok
expect_rc 0 sync --list --json
json_ok "$T/stdout" '[t.get("http_base") for t in j if t["path"] == "'"$T"'/tftp3"] == [""]'
expect_rc 0 sync --forget --tftp-root "$T/tftp3"
pass
