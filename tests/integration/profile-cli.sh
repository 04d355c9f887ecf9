#!/bin/bash
# profile-cli.sh - end-to-end test of `xenprov profile` through the real program: help
# and usage errors, exit codes (0 ok, 1 failure, 2 usage), add/edit with every option
# (values checked and normalised, nothing stored on an error), show (own, --resolved,
# --json), list, remove (refused while used), export -> import round trip into a fresh
# inventory, import all-or-nothing, --root-password-file (a yescrypt hash stored, the
# plaintext nowhere in the database), --ssh-key, --image (must exist, made absolute).
#
# Run by CTest with XENPROV (the binary), XP_SRC (the source tree) and XP_TMP (a scratch
# directory this script creates and removes). Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
SRC=${XP_SRC:?set XP_SRC to the source directory}
need python3
scratch
# every command below uses this inventory unless it says --state-dir
export XENPROV_STATE_DIR=$T/state

# names in the current inventory, one line
names() { "$X" profile list --json "$@" | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)))'; }

# refused_import TEXT MESSAGE...: a file of TEXT (printf %b: \n is a newline) imported
# into the inventory $T/fresh is refused (exit 1) with each MESSAGE on stderr.
refused_import() {
	printf '%b' "$1" >"$T/refused.json"
	shift
	expect_rc 1 profile import --state-dir "$T/fresh" "$T/refused.json"
	local m
	for m; do err_has "$m"; done
}

# ---- help and usage errors ------------------------------------------------------------

expect_rc 0 profile -h
out_has "Usage: xenprov profile VERB"
out_has "Verbs:"
expect_rc 0 --help
out_has "profile"
for v in add edit show list remove export import; do
	expect_rc 0 profile "$v" -h
	[[ $(head -1 "$T/stdout") == "Usage: xenprov profile $v"* ]] ||
		fail "profile $v -h: first line is '$(head -1 "$T/stdout")'"
	ok
	out_has "--state-dir DIR"
	cp "$T/stdout" "$T/usage-$v"
	expect_rc 0 help profile "$v"
	cmp -s "$T/usage-$v" "$T/stdout" || fail "'xenprov help profile $v' differs from -h"
	ok
done
expect_rc 0 profile add web --memory 8 --help # -h wins, nothing stored
# every profile key has its option in add's and edit's usage
for k in image disk-size memory vcpus swap fs label storage pool bridge type boot kernel ramdisk \
	root extra network ip-pool gateway dns domain root-password-hash; do
	grep -qF -- "--$k " "$T/usage-add" || fail "add -h lacks --$k"
	grep -qF -- "--$k " "$T/usage-edit" || fail "edit -h lacks --$k"
	ok
done
for o in --parent --root-password-file --ssh-key --config; do
	grep -qF -- "$o " "$T/usage-add" || fail "add -h lacks $o"
	ok
done
grep -qF -- "--unset KEY" "$T/usage-edit" || fail "edit -h lacks --unset"
grep -qF -- "--no-parent" "$T/usage-edit" || fail "edit -h lacks --no-parent"
ok

expect_rc 2 profile
expect_rc 2 profile nosuch
err_has "'nosuch' is not a verb of 'profile'"
expect_rc 2 profile add
err_has "no NAME given"
err_has "Try 'xenprov profile add -h'."
expect_rc 2 profile add a b
err_has "expected one NAME"
expect_rc 2 profile add a --bogus
err_has "invalid option '--bogus'"
expect_rc 2 profile add a --memory
expect_rc 2 profile add a --unset memory # edit only
expect_rc 2 profile add a --config memory
err_has "--config takes KEY=VALUE, got 'memory'"
expect_rc 2 profile add a --parent p --no-parent
expect_rc 2 profile edit a
err_has "nothing to change"
expect_rc 2 profile edit a --parent p --no-parent
err_has "not both"
expect_rc 2 profile edit a --memory 512 --unset memory
err_has "'memory' is both set and unset"
expect_rc 2 profile show
expect_rc 2 profile show a b
expect_rc 2 profile show --yaml a
expect_rc 2 profile list extra
expect_rc 2 profile remove
expect_rc 2 profile import
expect_rc 2 profile import a b
expect_rc 2 profile export --json
[ ! -e "$T/state" ] || fail "usage errors created the state directory"
ok

# ---- add ------------------------------------------------------------------------------

mkdir -p "$T/files"
head -c 1024 /dev/zero >"$T/files/debian.tar"
echo kernel >"$T/files/vmlinuz" # boot=kernel's files must be on this host
echo initrd >"$T/files/initrd.img"
expect_rc 0 profile list
out_empty
[ -d "$T/state" ] && [ "$(stat -c %a "$T/state")" = 700 ] || fail "state directory not made 0700"
ok
(cd "$T/files" && "$X" profile add base --image debian.tar --disk-size 8G --memory 1G \
	--vcpus 2 --swap 512M --fs ext4 --label gpt --storage qcow2 --pool /srv/guests \
	--bridge xenbr0 --boot pygrub --root /dev/xvda1 --extra 'console=hvc0 quiet' \
	--network static --ip-pool 10.0.0.77/24 --gateway 10.0.0.1 --dns 10.0.0.1,1.1.1.1 \
	--domain lab.example --config on_crash=restart --config 'vfb=["vnc=1"]' \
	--config maxmem=2048 >"$T/stdout" 2>"$T/err") || fail "add base: exit $?"
ok
out_empty
expect_rc 0 profile show --json base
json_ok "$T/stdout" 'j["name"] == "base" and j["parent"] is None and j["settings"] == {
	"image": "'"$T"'/files/debian.tar", "disk-size": "8589934592", "memory": "1024",
	"vcpus": "2", "swap": "536870912", "fs": "ext4", "label": "gpt", "storage": "qcow2",
	"pool": "/srv/guests", "bridge": "xenbr0", "boot": "pygrub", "root": "/dev/xvda1",
	"extra": "console=hvc0 quiet", "network": "static", "ip-pool": "10.0.0.0/24",
	"gateway": "10.0.0.1", "dns": "10.0.0.1,1.1.1.1", "domain": "lab.example",
	"config.on_crash": "\"restart\"", "config.vfb": "[ \"vnc=1\" ]", "config.maxmem": "2048"}
	and isinstance(j["created"], int) and j["updated"] >= j["created"]'
expect_rc 0 profile add web --parent base --vcpus 4 --memory 2048
expect_rc 0 profile add web01 --parent web --memory 4G --kernel "$T/files/vmlinuz" \
	--ramdisk "$T/files/initrd.img" --boot kernel
expect_rc 1 profile add web
err_is "xenprov: profile 'web' exists (use 'xenprov profile edit')"
expect_rc 1 profile add db --memory 8
err_is "xenprov: memory: between 16 MiB and 16 TiB (got '8')"
expect_rc 1 profile add db --vcpus 2 --fs xfs
err_has "xenprov: fs: unknown filesystem (got 'xfs')"
err_has "hint: ext2, ext3 or ext4"
expect_rc 1 profile add db --ip-pool 10.0.0.0/31
err_has "ip-pool: not a CIDR (got '10.0.0.0/31')"
expect_rc 1 profile add db --dns 1.1.1.1,,8.8.8.8
expect_rc 1 profile add db --disk-size nan
expect_rc 1 profile add db --config 'vfb=[broken'
err_has "config.vfb: not a valid xl value"
expect_rc 1 profile add db --config Bad=1
err_has "'Bad' is not an xl setting name"
expect_rc 1 profile add db --root-password-hash '$1$salt$md5hash'
err_has "root-password-hash: MD5 password hashes are refused"
expect_rc 1 profile add db --parent nosuch
err_is "xenprov: no profile 'nosuch' (the parent)"
expect_rc 1 profile add db --image "$T/files/missing.tar"
err_has "cannot use image '$T/files/missing.tar': No such file or directory"
expect_rc 1 profile add db --image "$T/files"
# a block device is stored by the name given, symbolic link kept: a logical volume's
# /dev/VG/LV (what lvm2 takes for a thin snapshot), not the /dev/dm-N it links to.
# A device node needs root (mknod); without it that case is left out
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/dev/vg" && mknod "$T/dev/dm-7" b 7 0 && ln -s ../dm-7 "$T/dev/vg/golden" ||
		fail "cannot make a block device node in $T/dev"
	expect_rc 0 profile add lvgold --image "$T/dev/vg/golden"
	[ "$("$X" profile show lvgold --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["settings"]["image"])')" = "$T/dev/vg/golden" ] ||
		fail "the block device's path was not kept: $("$X" profile show lvgold --json)"
	expect_rc 0 profile remove lvgold
fi
expect_rc 1 profile add 'bad/name'
err_has "'bad/name' is not a valid profile name"
# the gateway must be one of the pool's hosts, as the values take effect
expect_rc 1 profile add db --ip-pool 10.9.0.0/24 --gateway 10.0.0.1
err_is "xenprov: cannot add profile 'db': gateway 10.0.0.1 is outside ip-pool 10.9.0.0/24: the guests could not reach it"
expect_rc 1 profile add db --parent base --gateway 10.0.1.1
err_is "xenprov: cannot add profile 'db': gateway 10.0.1.1 is outside ip-pool 10.0.0.0/24: the guests could not reach it"
expect_rc 1 profile add db --parent base --ip-pool 10.0.0.8/29
err_has "gateway 10.0.0.1 is outside ip-pool 10.0.0.8/29"
expect_rc 1 profile add db --ip-pool 10.1.0.0/16 --gateway 10.1.255.255
err_has "gateway 10.1.255.255 is the broadcast address of ip-pool 10.1.0.0/16"
[ "$(names)" = "base web web01" ] || fail "a refused add stored something: $(names)"
ok

# ---- secrets: password file, SSH key ----------------------------------------------------

PLAIN='Corr3ct-Horse-Battery-Staple'
printf '%s\nignored second line\n' "$PLAIN" >"$T/files/pw"
printf '# my key\n\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGhvc3Q= me@host\n' >"$T/files/id.pub"
expect_rc 0 profile add sec --root-password-file "$T/files/pw" --ssh-key "$T/files/id.pub"
# the hash is a secret: shown only with --secrets, text and JSON alike
expect_rc 0 profile show --json sec
out_lacks '$y$'
json_ok "$T/stdout" 'j["withheld"] == ["root-password-hash"] and
	set(j["settings"]) == {"ssh-key"}'
expect_rc 0 profile show sec
out_lacks '$y$'
out_has "root-password-hash  (secret: --secrets shows it)"
expect_rc 0 profile show --resolved sec
out_lacks '$y$'
expect_rc 0 profile show --json --secrets sec
json_ok "$T/stdout" 'j["settings"]["root-password-hash"].startswith("$y$") and
	len(j["settings"]["root-password-hash"]) > 40 and
	j["settings"]["ssh-key"] == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGhvc3Q= me@host"'
hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["settings"]["root-password-hash"])' "$T/stdout")
if python3 -W ignore -c 'import crypt' 2>/dev/null; then
	python3 -W ignore -c 'import crypt,sys; sys.exit(crypt.crypt(sys.argv[1], sys.argv[2]) != sys.argv[2])' \
		"$PLAIN" "$hash" || fail "the stored hash does not verify the password"
	ok
fi
# from standard input too, and a fresh salt each time
printf '%s\n' "$PLAIN" | "$X" profile edit sec --root-password-file - >"$T/stdout" 2>"$T/err" ||
	fail "edit --root-password-file -: exit $?"
ok
expect_rc 0 profile show --json --secrets sec
hash2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["settings"]["root-password-hash"])' "$T/stdout")
json_ok "$T/stdout" 'j["settings"]["root-password-hash"].startswith("$y$") and
	j["settings"]["root-password-hash"] != "'"$hash"'"'
for f in "$T/state/inventory.db" "$T/state/inventory.db-wal"; do
	[ -e "$f" ] || continue
	c=$(grep -c -a -- "$PLAIN" "$f")
	[ "$c" = 0 ] || fail "the plaintext password is in $f ($c lines)"
	ok
done
grep -rqa -- "$PLAIN" "$T/state" && fail "the plaintext password is in the state directory"
ok
expect_rc 2 profile add sec2 --root-password-file "$T/files/pw" --root-password-hash '$y$j9T$a$b'
: >"$T/files/empty"
expect_rc 1 profile add sec2 --root-password-file "$T/files/empty"
err_has "holds an empty password"
expect_rc 1 profile add sec2 --root-password-file "$T/files/nosuch"
err_has "cannot read '$T/files/nosuch'"
expect_rc 1 profile add sec2 --ssh-key "$T/files/pw"
grep -qF -- "$PLAIN" "$T/err" && fail "an error message shows the password"
ok
err_has "$T/files/pw:1: ssh-key: line 1 is not an SSH public key"
# --ssh-key: a file of several keys, or the key line itself
KED='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKiK/h2GYqBgjLlLC+3hboiqYEb6siXBvibcrFrvnj7p ed@test'
KEC='ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBNAsI+3QR7jVp9uRaEPFhsJhtt8zljgFtL2b5EwovezDfOYSYDzIhcbvyTLle5mzI++XFDf0u3AVLjsw8XgAcSssih9gzACDiVxtEXro2LfuKEwFGC9iedyzA15C8TVcrw== ec@test'
printf '%s\r\n# second\n%s\n' "$KED" "$KEC" >"$T/files/two.pub"
expect_rc 0 profile add sec2 --ssh-key "$T/files/two.pub"
expect_rc 0 profile show --json sec2
json_ok "$T/stdout" 'j["settings"]["ssh-key"] == "'"$KED"'\n'"$KEC"'"'
expect_rc 0 profile edit sec2 --ssh-key "$KEC"
expect_rc 0 profile show --json sec2
json_ok "$T/stdout" 'j["settings"]["ssh-key"] == "'"$KEC"'"'
expect_rc 0 profile remove sec2
printf 'not a key\n' >"$T/files/bad.pub"
expect_rc 1 profile add sec2 --ssh-key "$T/files/bad.pub"
err_has "ssh-key: line 1 is not an SSH public key"
expect_rc 1 profile add sec2 --ssh-key 'ssh-rsa AAAA a'
err_has "ssh-key: not an SSH public key"
expect_rc 1 profile add sec2 --ssh-key "$T/files/nosuch.pub"
err_has "ssh-key: '$T/files/nosuch.pub' is neither an existing file nor an SSH public key line"
: >"$T/files/nokey.pub"
expect_rc 1 profile add sec2 --ssh-key "$T/files/nokey.pub"
err_has "ssh-key: the file holds no key"

# ---- edit -----------------------------------------------------------------------------

expect_rc 0 profile edit web --memory 3G --unset vcpus --config on_poweroff=destroy
expect_rc 0 profile show --json web
json_ok "$T/stdout" 'j["parent"] == "base" and j["settings"] == {"memory": "3072",
	"config.on_poweroff": "\"destroy\""}'
expect_rc 1 profile edit web --unset swap
err_is "xenprov: profile 'web' has no setting 'swap' of its own"
expect_rc 1 profile edit web --unset colour
err_has "'colour' is not a profile setting"
expect_rc 1 profile edit web --memory 8
err_has "memory: between 16 MiB and 16 TiB (got '8')"
expect_rc 1 profile edit ghost --memory 512
err_is "xenprov: no profile 'ghost'"
expect_rc 1 profile edit base --parent web01
err_has "'web01' cannot be the parent of 'base'"
expect_rc 1 profile edit base --parent base
expect_rc 1 profile edit web --parent nosuch
err_has "no profile 'nosuch'"
expect_rc 1 profile edit base --ip-pool 10.9.0.0/24
err_is "xenprov: cannot edit profile 'base': gateway 10.0.0.1 is outside ip-pool 10.9.0.0/24: the guests could not reach it"
expect_rc 1 profile edit base --gateway 10.0.0.0
err_has "gateway 10.0.0.0 is the network address of ip-pool 10.0.0.0/24"
# a profile below the one edited is checked too, and named
expect_rc 0 profile add gw-child --parent base --gateway 10.0.0.200
expect_rc 1 profile edit base --ip-pool 10.0.0.0/25
err_is "xenprov: cannot edit profile 'base': gateway 10.0.0.200 is outside ip-pool 10.0.0.0/25 in profile 'gw-child', which takes settings from it: its guests could not reach it"
expect_rc 0 profile show --json base
json_ok "$T/stdout" 'j["settings"]["ip-pool"] == "10.0.0.0/24" and j["settings"]["gateway"] == "10.0.0.1"'
expect_rc 0 profile edit base --ip-pool 10.0.0.77/24 --gateway 10.0.0.254
expect_rc 0 profile edit base --gateway 10.0.0.1
expect_rc 0 profile remove gw-child
expect_rc 0 profile show --json web
json_ok "$T/stdout" 'j["parent"] == "base" and j["settings"]["memory"] == "3072"'
expect_rc 0 profile show --json base
json_ok "$T/stdout" 'j["parent"] is None'
expect_rc 0 profile add solo --memory 512 --parent base
expect_rc 0 profile edit solo --no-parent
expect_rc 0 profile show --json solo
json_ok "$T/stdout" 'j["parent"] is None and j["settings"] == {"memory": "512"}'
expect_rc 0 profile edit solo --parent web --unset memory
expect_rc 0 profile show --json solo
json_ok "$T/stdout" 'j["parent"] == "web" and j["settings"] == {}'

# ---- show -----------------------------------------------------------------------------

expect_rc 0 profile show web01
out_has "name     web01"
out_has "parent   web"
[[ $(grep '^memory' "$T/stdout") =~ ^memory\ +4096$ ]] || fail "show: $(grep '^memory' "$T/stdout")"
ok
out_lacks "bridge"
expect_rc 0 profile show --resolved web01
out_has "FROM"
[[ $(grep '^memory' "$T/stdout") =~ ^memory\ +4096\ +web01$ ]] || fail "resolved memory line"
ok
[[ $(grep '^bridge' "$T/stdout") =~ ^bridge\ +xenbr0\ +base$ ]] || fail "resolved bridge line"
ok
[[ $(grep '^config.on_poweroff' "$T/stdout") =~ \ web$ ]] || fail "resolved on_poweroff line"
ok
[[ $(grep '^disk-size' "$T/stdout") =~ 8589934592\ \(8\ GiB\) ]] || fail "resolved disk-size line"
ok
expect_rc 0 profile show --resolved --json web01
json_ok "$T/stdout" 'j["name"] == "web01" and j["parent"] == "web" and
	j["settings"]["memory"] == "4096" and j["from"]["memory"] == "web01" and
	j["settings"]["bridge"] == "xenbr0" and j["from"]["bridge"] == "base" and
	j["settings"]["boot"] == "kernel" and j["from"]["boot"] == "web01" and
	j["from"]["config.on_poweroff"] == "web" and set(j["from"]) == set(j["settings"]) and
	len(j["settings"]) == 24'
expect_rc 1 profile show nosuch
err_is "xenprov: no profile 'nosuch'"

# ---- list -----------------------------------------------------------------------------

expect_rc 0 profile list
[ "$(head -1 "$T/stdout" | tr -s ' ')" = "NAME PARENT IMAGE STORAGE" ] || fail "list header"
ok
[[ $(grep '^web01 ' "$T/stdout") =~ ^web01\ +web\ +$T/files/debian.tar\ +qcow2$ ]] ||
	fail "list line: $(grep '^web01 ' "$T/stdout")"
ok
[[ $(grep '^sec ' "$T/stdout") =~ ^sec\ +-\ +-\ +-$ ]] || fail "list line: $(grep '^sec ' "$T/stdout")"
ok
expect_rc 0 profile list --json
json_ok "$T/stdout" '[p["name"] for p in j] == ["base", "sec", "solo", "web", "web01"] and
	j[4] == {"name": "web01", "parent": "web", "image": "'"$T"'/files/debian.tar",
	         "storage": "qcow2"} and
	j[1] == {"name": "sec", "parent": None, "image": None, "storage": None}'

# ---- export / import ------------------------------------------------------------------

# --secrets: everything, the hash too (a backup, a move to another server)
expect_rc 0 profile export --secrets
cp "$T/stdout" "$T/all.json"
json_ok "$T/all.json" '[p["name"] for p in j] == ["base", "sec", "web", "solo", "web01"] and
	all(set(p) == {"name", "parent", "settings"} for p in j) and
	j[1]["settings"]["root-password-hash"] == "'"$hash2"'"'
expect_rc 0 profile export web01 base
json_ok "$T/stdout" '[p["name"] for p in j] == ["base", "web01"]'
expect_rc 1 profile export base nosuch
err_is "xenprov: no profile 'nosuch'"
out_empty
expect_rc 0 profile import --state-dir "$T/copy" "$T/all.json"
out_has "imported 5 profiles: 5 added, 0 replaced"
expect_rc 0 profile export --secrets --state-dir "$T/copy"
cp "$T/stdout" "$T/copy.json"
cmp -s "$T/all.json" "$T/copy.json" || { diff -u "$T/all.json" "$T/copy.json" | head; fail "round trip differs"; }
ok
json_ok "$T/copy.json" 'j == load("'"$T"'/all.json")'
expect_rc 0 profile show --resolved --json --state-dir "$T/copy" web01
json_ok "$T/stdout" 'j["settings"]["bridge"] == "xenbr0" and j["from"]["bridge"] == "base"'
# from standard input, in any order (children before parents)
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(json.dumps(j[::-1]))' \
	"$T/all.json" >"$T/reversed.json"
"$X" profile import --state-dir "$T/copy2" - <"$T/reversed.json" >"$T/stdout" 2>"$T/err" ||
	fail "import - : exit $?"
ok
[ "$("$X" profile export --secrets --state-dir "$T/copy2")" = "$(cat "$T/all.json")" ] ||
	fail "import of a reversed file differs"
ok
# without --secrets the hash is left out and named; import keeps the value a replaced
# profile has, and says so when a profile it makes gets none
expect_rc 0 profile export
out_lacks '$y$'
cp "$T/stdout" "$T/redacted.json"
json_ok "$T/redacted.json" '[p for p in j if p["name"] == "sec"][0] == {"name": "sec",
	"parent": None, "settings": {"ssh-key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGhvc3Q= me@host"},
	"withheld": ["root-password-hash"]} and all("withheld" not in p for p in j if p["name"] != "sec")'
expect_rc 0 profile import --state-dir "$T/copy2" --replace "$T/redacted.json"
[ ! -s "$T/err" ] || fail "import --replace of a redacted export warned: $(cat "$T/err")"
ok
expect_rc 0 profile show --json --secrets --state-dir "$T/copy2" sec
json_ok "$T/stdout" 'j["settings"]["root-password-hash"] == "'"$hash2"'"'
expect_rc 0 profile import --state-dir "$T/copy3" "$T/redacted.json"
err_is "xenprov: warning: profile 'sec': root-password-hash was withheld from the export ('profile export --secrets' carries it); it is not set"
expect_rc 0 profile show --json --secrets --state-dir "$T/copy3" sec
json_ok "$T/stdout" '"root-password-hash" not in j["settings"] and j["withheld"] == []'
refused_import '[{"name": "w", "settings": {}, "withheld": ["memory"]}]\n' \
	"\"withheld\": 'memory' is not a secret key"
refused_import '[{"name": "w", "settings": {"root-password-hash": "$6$s$h"}, "withheld": ["root-password-hash"]}]\n' \
	"root-password-hash is both set and withheld"
refused_import '[{"name": "w", "withheld": "root-password-hash"}]\n' \
	"\"withheld\" is not an array of secret keys"
# existing profiles: refused, or replaced with --replace
expect_rc 1 profile import --state-dir "$T/copy" "$T/all.json"
err_has "profile 'base' exists (use --replace)"
err_has "nothing imported"
printf '[{"name": "web", "parent": null, "settings": {"memory": 512}},
	{"name": "newone", "parent": "web", "settings": {"vcpus": "3"}}]\n' >"$T/replace.json"
expect_rc 0 profile import --state-dir "$T/copy" --replace "$T/replace.json"
out_has "imported 2 profiles: 1 added, 1 replaced"
expect_rc 0 profile export --state-dir "$T/copy" web newone
json_ok "$T/stdout" 'j == [{"name": "web", "parent": None, "settings": {"memory": "512"}},
	{"name": "newone", "parent": "web", "settings": {"vcpus": "3"}}]'
# one bad value: nothing imported
python3 - "$T/all.json" "$T/bad.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j[3]["settings"]["memory"] = "8"
json.dump(j, open(sys.argv[2], "w"))
PY
expect_rc 1 profile import --state-dir "$T/fresh" "$T/bad.json"
err_has "profile 'solo': memory: between 16 MiB and 16 TiB (got '8')"
err_has "1 error; nothing imported"
[ "$(names --state-dir "$T/fresh")" = "" ] || fail "a refused import stored something"
ok
# a failure found only while importing (a missing parent) also undoes the rest
refused_import '[{"name": "a", "settings": {}}, {"name": "b", "parent": "zz"}]\n' \
	"profile 'b': no profile 'zz' (the parent)"
[ "$(names --state-dir "$T/fresh")" = "" ] || fail "a failed import stored something"
ok
refused_import '[{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}]\n' \
	"its parent chain is a cycle"
refused_import '[{"name": "a"}, {"name": "a"}]\n' "profile 'a' appears more than once"
refused_import '[{"name": "a", "colour": "blue", "settings": {"vcpus": true, "nosuch": "1"}}, 7]\n' \
	"item 1: unknown member 'colour'" "profile 'a': vcpus: not a string" \
	"profile 'a': nosuch: unknown profile setting" "item 2: not an object" \
	"4 errors; nothing imported"
refused_import '[{"name": "a",' "is not valid JSON"
refused_import '{"name": "a"}' "expected an array of profiles"
expect_rc 1 profile import --state-dir "$T/fresh" "$T/nosuch.json"
err_has "cannot read '$T/nosuch.json'"
[ "$(names --state-dir "$T/fresh")" = "" ] || fail "refused imports stored something"
ok

# ---- remove ---------------------------------------------------------------------------

expect_rc 1 profile remove base
err_is "xenprov: cannot remove profile 'base': 1 profile and 0 domains use it; children: 'web'"
expect_rc 1 profile remove web
err_has "children: 'solo', 'web01'"
expect_rc 1 profile remove nosuch
err_is "xenprov: no profile 'nosuch'"
expect_rc 0 profile remove web01
out_empty
expect_rc 0 profile remove solo
expect_rc 0 profile remove web
[ "$(names)" = "base sec" ] || fail "after remove: $(names)"
ok

# ---- the state directory --------------------------------------------------------------

state_dir_option profile list
sqlite_ok=0
command -v sqlite3 >/dev/null && sqlite_ok=1
python3 -c 'import sqlite3' 2>/dev/null && sqlite_ok=2
if [ $sqlite_ok = 2 ]; then
	python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version = 99"); c.commit()' \
		"$T/other/inventory.db"
	expect_rc 1 profile list --state-dir "$T/other"
	err_has "was written by a newer xenprov"
fi

pass
