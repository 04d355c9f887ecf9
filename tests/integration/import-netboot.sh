#!/bin/bash
# import-netboot.sh - `xenprov import` of Debian's real netboot tree, the one the
# package debian-installer-12-netboot-amd64 installs (scripts/install-deps), with the
# installed signature file: recognised as debian-netboot 12 (bookworm) for x86_64, its
# kernel and initrd in the store byte for byte, the tree hard-linked or copied into the
# TFTP root with its symlinks (pxelinux.0, pxelinux.cfg), and a second import changing
# nothing. Skipped where the package is not installed.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/import-trees.sh" || exit 1
NB=/usr/lib/debian-installer/images/12/amd64/text
[ -f "$NB/debian-installer/amd64/linux" ] ||
	skip "no $NB (Debian package debian-installer-12-netboot-amd64)"
need sqlite3 sha256sum cmp python3
scratch
export XENPROV_STATE_DIR=$T/state
S=$XENPROV_STATE_DIR

expect_rc 0 import --path "$NB" --name debian12 --json
json_ok "$T/stdout" 'j["signature"] == "debian-netboot" and j["version"] == "12" and j["codename"] == "bookworm" and j["arch"] == "x86_64"'
json_ok "$T/stdout" 'j["kernel"]["path"] == "debian-installer/amd64/linux" and j["initrd"]["path"] == "debian-installer/amd64/initrd.gz"'
json_ok "$T/stdout" 'j["changed"] == {"distro": "added", "tree": "added", "profile": "added"}'
json_ok "$T/stdout" 'j["tree"]["linked"] + j["tree"]["copied"] == j["tree"]["files"] > 100'
for f in linux initrd.gz; do
	hex=$(sha "$NB/debian-installer/amd64/$f")
	cmp -s "$S/distro-files/$hex" "$NB/debian-installer/amd64/$f" || fail "$f in the store differs"
	ok
done
C=$S/tftp/trees/debian12-x86_64
cmp -s "$C/pxelinux.0" "$NB/debian-installer/amd64/pxelinux.0" || fail "pxelinux.0 through its symlink"
ok
[ -f "$C/pxelinux.cfg/default" ] || fail "pxelinux.cfg/default through the directory's symlink"
ok
expect_rc 0 profile show debian12-x86_64 --json
json_ok "$T/stdout" 'j["settings"] == {"distro": "debian12-x86_64"}'

sqlite3 "$S/inventory.db" .dump >"$T/a.sql"
(cd "$S" && find distro-files tftp -printf '%p %i %T@ %s\n' | sort) >"$T/a.files"
expect_rc 0 import --path "$NB" --name debian12 --json
json_ok "$T/stdout" 'j["changed"] == {"distro": "unchanged", "tree": "unchanged", "profile": "kept"}'
sqlite3 "$S/inventory.db" .dump >"$T/b.sql"
(cd "$S" && find distro-files tftp -printf '%p %i %T@ %s\n' | sort) >"$T/b.files"
cmp -s "$T/a.sql" "$T/b.sql" || fail "the second import changed the inventory"
ok
cmp -s "$T/a.files" "$T/b.files" || fail "the second import changed files"
ok
pass
