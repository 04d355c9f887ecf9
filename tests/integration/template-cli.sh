#!/bin/bash
# template-cli.sh - `xenprov template` end to end through the real program, and the
# cloud-init seed volume deployed guests get:
#  - list shows the shipped templates; add (from a file, standard input, a copy),
#    edit, show (text and JSON), remove; a syntax error is refused with its line and
#    column, nothing stored; a partial that is no template is a warning; editing a
#    shipped template stores an override, removing it brings the shipped one back;
#    removing a template a profile or system names is refused;
#  - render for a system and for a profile: the blended variables (system, profile,
#    distro, the server's settings and pool), partials as snippets, --vars with the
#    hash withheld unless --secrets;
#  - no default password: rendering a template that uses root-password-hash for a
#    profile without one fails, naming the template, line and column;
#  - distro --os and system --autoinstall are kept and shown, refused when unknown;
#  - profile --cloud-init on: `domain create` writes a seed volume, an ISO 9660 that
#    blkid reads as LABEL=cidata and xorriso lists, holding user-data, meta-data and
#    network-config rendered for that guest (its MAC, address, SSH key), attached
#    read-only in the config (libxlutil reads it); a preseed named as its user-data is
#    refused before anything is made; delete removes the seed.
# Run by CTest with XENPROV, XP_SRC, XP_TMP and XP_XLU_CHECK. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need python3 tar blkid xorriso
scratch cfg root seed
export XENPROV_STATE_DIR=$T/state
HASH='$y$j9T$abcdefghijklmnop$0123456789012345678901234567890123456789012'
KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk4Yd5cwq9YcyEPeE4sPTt+SL6iT3IpKSxh1SRYV3XZ op@lab'

# ---- the commands ------------------------------------------------------------------------

expect_rc 0 template list
for t in debian-preseed redhat-kickstart cloud-init-user-data cloud-init-meta-data \
	cloud-init-network-config; do
	out_has "$t"
done
expect_rc 0 template show debian-preseed
out_has 'd-i passwd/root-password-crypted password {{{root-password-hash}}}'
printf 'Host {{hostname}} of {{profile}}\n{{> motd}}{{#ssh-keys}}key {{key}}\n{{/ssh-keys}}' >"$T/t1"
expect_rc 0 template add t1 --file "$T/t1"
err_has "it includes 'motd', which is no template"
printf 'motd of {{fqdn}}\n' | "$X" template add motd --file - 2>"$T/err" || fail "add from stdin"
ok
expect_rc 1 template add t1 --file "$T/t1"
err_has "template 't1' exists"
expect_rc 1 template add debian-preseed --file "$T/t1"
err_has "xenprov ships a template 'debian-preseed'"
printf 'a\n  {{#x}}\nb {{y\n' >"$T/bad"
expect_rc 1 template add bad --file "$T/bad"
err_has "bad:3:3: error: a tag opened by '{{' is not closed by '}}'"
err_has "template 'bad' not added"
expect_rc 1 template show bad
err_has "no template 'bad'"
expect_rc 1 template add 'no/slash' --file "$T/t1"
expect_rc 2 template add t2
err_has "give --file or --from"
expect_rc 0 template add t2 --from t1
expect_rc 0 template show t2
out_has 'Host {{hostname}} of {{profile}}'
expect_rc 0 template show t1 --json
json_ok "$T/stdout" 'j["name"] == "t1" and j["stored"] and not j["shipped"] and j["users"] == []'

# ---- inventory: distro family, system template, profile keys -------------------------------

echo kernel >"$T/vmlinuz"
expect_rc 0 distro add deb --kernel "$T/vmlinuz" --os debian
expect_rc 1 distro add bad --kernel "$T/vmlinuz" --os windows
err_has "os: unknown OS family"
expect_rc 0 distro show deb --json
json_ok "$T/stdout" 'j["os"] == "debian"'
expect_rc 0 distro edit deb --no-os
expect_rc 0 distro show deb --json
json_ok "$T/stdout" 'j["os"] is None'
expect_rc 0 distro edit deb --os debian
expect_rc 0 settings set server 10.0.0.1
expect_rc 0 settings set http-port 8080
expect_rc 0 settings set pool.lan.range 10.0.0.100-10.0.0.199
expect_rc 0 settings set pool.lan.netmask 255.255.255.0
expect_rc 0 settings set pool.lan.router 10.0.0.1
expect_rc 0 settings set pool.lan.dns 10.0.0.53
expect_rc 0 settings set pool.lan.domain lab.test
expect_rc 0 profile add web --distro deb --ssh-key "$KEY" --autoinstall t1 --timezone UTC
expect_rc 1 profile add web2 --autoinstall 'x/y'
err_has "autoinstall: not a valid template name"
expect_rc 1 profile add web2 --cloud-init maybe
err_has "cloud-init: not on or off"
expect_rc 0 system add web1 --mac 52:54:00:00:00:01 --ip 10.0.0.21 --profile web
expect_rc 1 system add web2 --mac 52:54:00:00:00:02 --profile web --autoinstall nothing
err_has "no template 'nothing'"
expect_rc 0 system add web2 --mac 52:54:00:00:00:02 --profile web --autoinstall t2
expect_rc 0 system show web2 --json
json_ok "$T/stdout" 'j["autoinstall"] == "t2"'

# ---- render -----------------------------------------------------------------------------

expect_rc 0 template render --system web1
out_is "Host web1 of web
motd of web1.lab.test
key $KEY"
expect_rc 0 template render motd --profile web --name box
out_is "motd of box"
expect_rc 0 template render --system web1 --vars
cp "$T/stdout" "$T/vars.json"
json_ok "$T/vars.json" 'j["name"] == "web1" and j["ip"] == "10.0.0.21" and j["netmask"] == "255.255.255.0"'
json_ok "$T/vars.json" 'j["gateway"] == "10.0.0.1" and j["nameservers"] == ["10.0.0.53"] and j["domain"] == "lab.test"'
json_ok "$T/vars.json" 'j["os"] == "debian" and j["distro"] == "deb" and j["server"] == "10.0.0.1"'
json_ok "$T/vars.json" 'j["autoinstall-url"] == "http://10.0.0.1:8080/autoinstall/web1"'
json_ok "$T/vars.json" 'j["ssh-keys"][0]["key"] == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk4Yd5cwq9YcyEPeE4sPTt+SL6iT3IpKSxh1SRYV3XZ op@lab"'
json_ok "$T/vars.json" 'j["root-password-hash"] is None and j["timezone"] == "UTC"'
# no default password: the preseed needs the hash and says where it is used
expect_rc 1 template render debian-preseed --system web1
err_has "debian-preseed:16:43: error: root-password-hash is not set"
err_has "cannot render debian-preseed for system 'web1'"
expect_rc 1 template render redhat-kickstart --profile web
err_has "redhat-kickstart:9:20: error: root-password-hash is not set"
expect_rc 0 profile edit web --root-password-hash "$HASH"
expect_rc 0 template render debian-preseed --system web1
out_has "d-i passwd/root-password-crypted password $HASH"
expect_rc 0 template render --system web1 --vars
json_ok "$T/stdout" 'j["root-password-hash"].startswith("(secret")'
expect_rc 0 template render --system web1 --vars --secrets
json_ok "$T/stdout" 'j["root-password-hash"].startswith("$y$")'
expect_rc 0 template render redhat-kickstart --system web1
out_has "rootpw --iscrypted $HASH"
out_has "sshkey --username=root \"$KEY\""
expect_rc 2 template render t1
err_has "give --system or --profile"

# ---- overriding a shipped template; removal ----------------------------------------------

printf 'instance-id: custom-{{name}}\n' >"$T/md"
expect_rc 0 template edit cloud-init-meta-data --file "$T/md"
expect_rc 0 template list --json
json_ok "$T/stdout" '[t for t in j if t["name"] == "cloud-init-meta-data"][0]["stored"] and [t for t in j if t["name"] == "cloud-init-meta-data"][0]["shipped"]'
expect_rc 0 template render --system web1 --file meta-data
out_is "instance-id: custom-web1"
expect_rc 0 template remove cloud-init-meta-data
expect_rc 0 template render --system web1 --file meta-data
out_has "instance-id: xenprov-web1-52-54-00-00-00-01"
expect_rc 1 template remove cloud-init-meta-data
err_has "shipped with xenprov: it cannot be removed"
expect_rc 1 template remove t1
err_has "profile web names it"
expect_rc 1 template remove t2
err_has "system web2 names it"
expect_rc 0 system edit web2 --no-autoinstall
expect_rc 0 template remove t2
expect_rc 1 template remove t2
err_has "no template 't2'"
expect_rc 1 template edit nothing --file "$T/t1"
err_has "no template 'nothing'"

# ---- the cloud-init seed of a deployed guest -------------------------------------------------

guest_root "$T/root"
tar -C "$T/root" --numeric-owner -czf "$T/root.tar.gz" . || fail "tar"
expect_rc 0 profile add ci --image "$T/root.tar.gz" --disk-size 32M --ip-pool 10.60.0.0/24 \
	--gateway 10.60.0.1 --dns 10.60.0.53 --domain ci.test --ssh-key "$KEY" \
	--root-password-hash "$HASH" --cloud-init on --boot kernel --kernel "$T/vmlinuz" \
	--swap-disk 16M
expect_rc 0 domain create g1 --profile ci --config-dir "$T/cfg" --json
cp "$T/stdout" "$T/g1.json"
json_ok "$T/g1.json" '[k["role"] for k in j["disks"]] == ["swap", "seed"]'
json_ok "$T/g1.json" 'j["disks"][1]["vdev"] == "xvdc" and j["disks"][1]["fs"] == "iso9660"'
seed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["disks"][1]["path"])' "$T/g1.json")
mac=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mac"])' "$T/g1.json")
[ -f "$seed" ] && [ "$(stat -c %a "$seed")" = 600 ] || fail "no seed volume, or not 0600: $seed"
ok
[ "$(stat -c %s "$seed")" = $((1 << 20)) ] || fail "the seed is not 1 MiB"
ok
[ "$(blkid -p -s LABEL -o value "$seed")" = cidata ] || fail "blkid: $(blkid -p "$seed")"
[ "$(blkid -p -s TYPE -o value "$seed")" = iso9660 ] || fail "blkid TYPE: $(blkid -p "$seed")"
ok
xorriso -indev "$seed" -find / -type f 2>/dev/null | sort >"$T/files"
printf "'/meta-data'\n'/network-config'\n'/user-data'\n" | cmp -s - "$T/files" ||
	fail "the seed holds: $(cat "$T/files")"
ok
xorriso -osirrox on -indev "$seed" -extract / "$T/seed" >/dev/null 2>&1 || fail "xorriso -extract"
head -1 "$T/seed/user-data" | grep -qx '#cloud-config' || fail "user-data is not cloud-config"
grep -qF "  - \"$KEY\"" "$T/seed/user-data" || fail "user-data lacks the key"
grep -qF "password: \"$HASH\"" "$T/seed/user-data" || fail "user-data lacks the hash"
grep -qx "hostname: g1" "$T/seed/user-data" || fail "user-data: hostname"
grep -qx "fqdn: g1.ci.test" "$T/seed/user-data" || fail "user-data: fqdn"
grep -qx "local-hostname: g1" "$T/seed/meta-data" || fail "meta-data"
grep -qx "instance-id: xenprov-g1-${mac//:/-}" "$T/seed/meta-data" || fail "meta-data: instance-id"
grep -qF "macaddress: \"$mac\"" "$T/seed/network-config" || fail "network-config: MAC"
grep -qx "      - 10.60.0.2/24" "$T/seed/network-config" || fail "network-config: address $(cat "$T/seed/network-config")"
grep -qx "        via: 10.60.0.1" "$T/seed/network-config" || fail "network-config: gateway"
grep -qx "        - 10.60.0.53" "$T/seed/network-config" || fail "network-config: DNS"
ok
python3 -c 'import sys, yaml
for f in sys.argv[1:]: yaml.safe_load(open(f))' "$T/seed/user-data" "$T/seed/meta-data" \
	"$T/seed/network-config" 2>"$T/err" || { python3 -c 'import yaml' 2>/dev/null && fail "not YAML: $(cat "$T/err")"; }
ok
# attached read-only, after the swap volume
grep -qF "format=raw,vdev=xvdc,access=ro,target=$seed" "$T/cfg/g1.cfg" ||
	fail "the config lacks the seed: $(grep -A4 '^disk' "$T/cfg/g1.cfg")"
ok
if [ -x "${XP_XLU_CHECK:-}" ]; then
	"$XP_XLU_CHECK" "$T/cfg/g1.cfg" >"$T/xlu.json" 2>"$T/err" || fail "libxlutil rejects g1.cfg: $(cat "$T/err")"
	json_ok "$T/xlu.json" '[(d["vdev"], d["readwrite"]) for d in j["disk"]] == [("xvda", 1), ("xvdb", 1), ("xvdc", 0)]'
fi
expect_rc 0 domain diff g1
out_has "no drift"
# a preseed as cloud-init user data is refused before anything is made
expect_rc 0 profile add ci-bad --parent ci --autoinstall debian-preseed
expect_rc 1 domain create g2 --profile ci-bad --config-dir "$T/cfg"
err_has "template 'debian-preseed' is not cloud-init user data"
[ ! -e "$(dirname "$seed")/g2.cidata.img" ] && [ ! -e "$T/cfg/g2.cfg" ] || fail "g2 left files"
ok
expect_rc 0 domain delete g1
[ ! -e "$seed" ] || fail "delete left the seed"
ok
pass
