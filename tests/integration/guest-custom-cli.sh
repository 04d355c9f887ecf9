#!/bin/bash
# guest-custom-cli.sh - the customisations through the command line: profile keys
# timezone, copy-in, write and firstboot-command set by `profile add`, shown (write
# withheld), exported and imported; guests made by `domain create` (with per-guest
# overrides) and by `deploy --set` / `--plan`, whose files are read back out of their
# disks with `xenprov image ls/cat` and checked with e2fsck -fn; the refusals, each
# naming its key, and a failed create that leaves nothing behind.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need e2fsck tar python3
scratch
export XENPROV_STATE_DIR=$T/state

# a Debian 12-like golden root with systemd (a stand-in binary), tzdata and ifupdown
r=$T/root
mkdir -p "$r/etc/network" "$r/usr/lib/systemd" "$r/usr/bin" "$r/usr/share/zoneinfo/Europe" \
	"$r/var/lib" "$r/root" "$r/tmp"
ln -s usr/lib "$r/lib"
ln -s usr/bin "$r/bin"
echo 12.5 >"$r/etc/debian_version"
printf 'auto lo\niface lo inet loopback\n' >"$r/etc/network/interfaces"
printf 'root:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
printf 'ELF' >"$r/usr/lib/systemd/systemd"
printf 'TZif2' >"$r/usr/share/zoneinfo/Europe/Paris"
printf 'TZif2' >"$r/usr/share/zoneinfo/UTC"
echo 'golden motd' >"$r/etc/motd"
tar -C "$r" --numeric-owner --owner=0 --group=0 -czf "$T/root.tgz" .
# the same without systemd (a busybox guest)
rm "$r/usr/lib/systemd/systemd"
tar -C "$r" --numeric-owner --owner=0 --group=0 -czf "$T/nosystemd.tgz" .

# a host tree to copy in, given by a relative path (stored absolute)
mkdir -p "$T/site/htdocs/img"
echo '<h1>hi</h1>' >"$T/site/htdocs/index.html"
chmod 0640 "$T/site/htdocs/index.html"
printf '#!/bin/sh\n' >"$T/site/start.sh"
chmod 0755 "$T/site/start.sh"
head -c 2000000 /dev/urandom >"$T/site/htdocs/img/big.bin"
ln -s htdocs/index.html "$T/site/index"
mkdir -p "$T/cfg"

cd "$T" || fail "cd"
expect_rc 0 profile add base --image "$T/root.tgz" --disk-size 64M --swap 0 --network dhcp \
	--timezone Europe/Paris --copy-in site:/srv/www:33:33 \
	--write $'/etc/motd:Welcome to\nthe lab \\o/' --write '/etc/app/app.conf:key=value' \
	--firstboot-command 'echo first-boot >/root/first' \
	--firstboot-command 'systemctl enable nginx'
cd - >/dev/null || fail "cd"

# shown: write withheld unless --secrets; a list one item a line
expect_rc 0 profile show base
out_has "timezone"
out_has "$T/site:/srv/www:33:33"
out_has "write              (secret: --secrets shows it)"
out_has "firstboot-command  echo first-boot >/root/first"
out_has "                   systemctl enable nginx"
out_lacks "Welcome"
expect_rc 0 profile show base --secrets
out_has 'write              /etc/motd:Welcome to\nthe lab \\o/'
out_has "                   /etc/app/app.conf:key=value"
expect_rc 0 profile show base --json
json_ok "$T/stdout" 'j["withheld"] == ["write"] and "write" not in j["settings"] and
	j["settings"]["firstboot-command"] == "echo first-boot >/root/first\nsystemctl enable nginx"'

# exported and imported elsewhere: the same document
expect_rc 0 profile export --secrets
cp "$T/stdout" "$T/export.json"
XENPROV_STATE_DIR=$T/state2 expect_rc 0 profile import "$T/export.json"
XENPROV_STATE_DIR=$T/state2 expect_rc 0 profile export --secrets
cmp -s "$T/stdout" "$T/export.json" || fail "export after import differs"
ok
expect_rc 0 profile export
out_lacks "Welcome"
out_has '"withheld"'

# one guest: everything in its disk
expect_rc 0 domain create g1 --profile base --config-dir "$T/cfg" -q
d=$XENPROV_STATE_DIR/disks/g1.img
e2fsck -fn "$d?offset=1048576" >"$T/fsck" 2>&1 || fail "e2fsck on g1: $(cat "$T/fsck")"
ok
ls_is() { # DISK PATH WANT: the `image ls -l` line of PATH, less its size and time
	local got
	got=$("$X" image ls -l "$1" "$2" | awk '{ $5 = ""; $6 = ""; $7 = ""; print }' | tr -s ' ')
	[ "$got" = "$3" ] || fail "$2: '$got', want '$3'"
	ok
}
cat_is() { # DISK PATH WANT
	local got
	got=$("$X" image cat "$1" "$2") || fail "no $2 in $1"
	[ "$got" = "$3" ] || fail "$2: '$got', want '$3'"
	ok
}
ls_is "$d" /etc/localtime "lrwxrwxrwx 1 0 0 localtime -> /usr/share/zoneinfo/Europe/Paris"
cat_is "$d" /etc/timezone "Europe/Paris"
ls_is "$d" /srv/www/site/start.sh "-rwxr-xr-x 1 33 33 start.sh"
ls_is "$d" /srv/www/site/htdocs/index.html "-rw-r----- 1 33 33 index.html"
ls_is "$d" /srv/www/site/index "lrwxrwxrwx 1 0 0 index -> htdocs/index.html"
cat_is "$d" /srv/www/site/htdocs/index.html "<h1>hi</h1>"
"$X" image cat "$d" /srv/www/site/htdocs/img/big.bin | cmp -s - "$T/site/htdocs/img/big.bin" ||
	fail "big.bin differs"
ok
cat_is "$d" /etc/motd $'Welcome to\nthe lab \\o/'
cat_is "$d" /etc/app/app.conf "key=value"
cat_is "$d" /var/lib/xenprov/firstboot.d/0001 "echo first-boot >/root/first"
cat_is "$d" /var/lib/xenprov/firstboot.d/0002 "systemctl enable nginx"
ls_is "$d" /etc/systemd/system/multi-user.target.wants/xenprov-firstboot.service \
	"lrwxrwxrwx 1 0 0 xenprov-firstboot.service -> /etc/systemd/system/xenprov-firstboot.service"
"$X" image cat "$d" /etc/systemd/system/xenprov-firstboot.service | grep -qx 'ExecStart=/usr/local/lib/xenprov/firstboot' ||
	fail "the unit's ExecStart"
ok
ls_is "$d" /usr/local/lib/xenprov/firstboot "-rwxr-xr-x 1 0 0 firstboot"
# the domain's record withholds the secret too
expect_rc 0 domain show g1 --json
out_lacks "Welcome"

# per-guest values replace the profile's lists; an empty item gives none
expect_rc 0 domain create g2 --profile base --config-dir "$T/cfg" -q --timezone UTC \
	--firstboot-command 'echo only' --set 'write=/etc/g2:two' --set copy-in=
d2=$XENPROV_STATE_DIR/disks/g2.img
ls_is "$d2" /etc/localtime "lrwxrwxrwx 1 0 0 localtime -> /usr/share/zoneinfo/UTC"
cat_is "$d2" /var/lib/xenprov/firstboot.d/0001 "echo only"
"$X" image ls "$d2" /var/lib/xenprov/firstboot.d | grep -q 0002 && fail "g2 has the profile's commands"
ok
cat_is "$d2" /etc/g2 "two"
cat_is "$d2" /etc/motd "golden motd"
"$X" image ls "$d2" /srv >/dev/null 2>&1 && fail "g2 got the profile's copy-in"
ok
e2fsck -fn "$d2?offset=1048576" >"$T/fsck" 2>&1 || fail "e2fsck on g2: $(cat "$T/fsck")"
ok

# deploy: --set adds items (and replaces the profile's list), --plan per guest
printf 'p1 firstboot-command=echo-p1 timezone=UTC\np2\n' >"$T/plan"
expect_rc 0 deploy --profile base --plan "$T/plan" --config-dir "$T/cfg" -q \
	--set 'write=/etc/deployed:yes' --set 'firstboot-command=echo d1' \
	--set 'firstboot-command=echo d2'
for g in p1 p2; do
	dg=$XENPROV_STATE_DIR/disks/$g.img
	cat_is "$dg" /etc/deployed "yes"
	cat_is "$dg" /srv/www/site/htdocs/index.html "<h1>hi</h1>"
	e2fsck -fn "$dg?offset=1048576" >"$T/fsck" 2>&1 || fail "e2fsck on $g: $(cat "$T/fsck")"
	ok
done
dg=$XENPROV_STATE_DIR/disks/p1.img
cat_is "$dg" /var/lib/xenprov/firstboot.d/0001 "echo-p1"
ls_is "$dg" /etc/localtime "lrwxrwxrwx 1 0 0 localtime -> /usr/share/zoneinfo/UTC"
dg=$XENPROV_STATE_DIR/disks/p2.img
cat_is "$dg" /var/lib/xenprov/firstboot.d/0001 "echo d1"
cat_is "$dg" /var/lib/xenprov/firstboot.d/0002 "echo d2"
ls_is "$dg" /etc/localtime "lrwxrwxrwx 1 0 0 localtime -> /usr/share/zoneinfo/Europe/Paris"

# refusals at add, each naming its key; a write's content never echoed
expect_rc 1 profile add bad --timezone ../etc/shadow
err_has "timezone: a tzdata zone name"
expect_rc 1 profile add bad --copy-in "$T/none:/opt"
err_has "copy-in: cannot use '$T/none'"
expect_rc 1 profile add bad --copy-in "$T/site:opt"
err_has "copy-in: item 1: GUESTDIR must be an absolute guest path"
expect_rc 1 profile add bad --write 'etc/motd:s3cret'
err_has "write: item 1: GUESTPATH must be"
err_lacks "s3cret"
expect_rc 1 profile add bad --firstboot-command $'echo a\necho b'
err_has "firstboot-command: item 1: a command is one line"
expect_rc 1 deploy --profile base --count 1 --set 'firstboot-command='$'a\rb' --config-dir "$T/cfg"
err_has "firstboot-command: item 1"
expect_rc 1 profile show bad
expect_rc 0 profile edit base --unset write
expect_rc 0 profile show base --secrets
out_lacks "Welcome"

# refused when applied: a zone the image lacks; first-boot commands without systemd.
# Nothing is left behind.
expect_rc 1 domain create g3 --profile base --config-dir "$T/cfg" -q --timezone Mars/Olympus
err_has "timezone: the image has no time zone 'Mars/Olympus'"
[ ! -e "$XENPROV_STATE_DIR/disks/g3.img" ] && [ ! -e "$T/cfg/g3.cfg" ] || fail "g3 left files"
ok
expect_rc 1 domain show g3
expect_rc 0 profile add bb --parent base --image "$T/nosystemd.tgz"
expect_rc 1 domain create g4 --profile bb --config-dir "$T/cfg" -q
err_has "firstboot-command: the image has no systemd"
expect_rc 0 domain create g4 --profile bb --config-dir "$T/cfg" -q --set firstboot-command=
"$X" image ls "$XENPROV_STATE_DIR/disks/g4.img" /var/lib/xenprov >/dev/null 2>&1 &&
	fail "g4 has first-boot files"
ok
pass
