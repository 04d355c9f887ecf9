#!/bin/bash
# import-cli.sh - `xenprov import` end to end with the real program: a Debian netboot
# tree (copied into the TFTP root by hard links), a Debian netinst as an ISO image made
# by xorriso (served from inside it), a Red Hat tree with .treeinfo (copied, its
# inst.repo= filled in from the server setting, and --available-as), a SUSE tree (the
# warning for install=$tree before the server setting is known). For each: the distro
# NAME-ARCH and its profile exist, the kernel and initrd in the store are the tree's
# bytes, and a second import changes nothing (the inventory's dump, the store's and the
# root's files with their inodes and mtimes compared). A bad path, an unknown tree, a
# file that is no image, a bad signature file and bad options give a clear error and
# leave nothing. --dry-run writes nothing; --json is checked field by field.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/import-trees.sh" || exit 1
need xorriso sqlite3 python3 sha256sum cmp
scratch trees
export XENPROV_STATE_DIR=$T/state
S=$XENPROV_STATE_DIR

# snap NAME: what an import could change: the inventory's rows, the store's files and
# the TFTP root's (inode, mtime, size, mode, link target of each).
snap() {
	sqlite3 "$S/inventory.db" .dump >"$T/$1.sql" || fail "cannot dump the inventory"
	(cd "$S" && find distro-files tftp -printf '%p %i %T@ %s %m %l\n' 2>/dev/null | sort) >"$T/$1.files"
}
same_snap() { # A B WHAT
	cmp -s "$T/$1.sql" "$T/$2.sql" || fail "$3 changed the inventory: $(diff "$T/$1.sql" "$T/$2.sql" | head -5)"
	cmp -s "$T/$1.files" "$T/$2.files" || fail "$3 changed files: $(diff "$T/$1.files" "$T/$2.files" | head -5)"
	ok
}
# store_has DISTRO KEY FILE: the distro's KEY (kernel/initrd) in the store is FILE's bytes.
store_has() {
	"$X" distro show "$1" --json >"$T/show.json" || fail "distro show $1"
	local hex
	hex=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2] + "_sha256"])' \
		"$T/show.json" "$2")
	[ "$hex" = "$(sha "$3")" ] || fail "$1's $2 is $hex, not the digest of $3"
	cmp -s "$S/distro-files/$hex" "$3" || fail "$1's $2 in the store differs from $3"
	ok
}

# ---- usage -------------------------------------------------------------------------------
expect_rc 0 import --help
out_has "Usage: xenprov import --path DIR|ISO --name NAME"
expect_rc 0 help import
out_has "--available-as URL"
expect_rc 2 import --name x
err_has "--path is required"
expect_rc 2 import --path /x
err_has "--name is required"
expect_rc 2 import --path /x --name x --tree mirror
err_has "invalid --tree 'mirror' (copy, iso, none)"
expect_rc 2 import --path /x --name x --tree copy --available-as http://m/
err_has "give --available-as or --tree, not both"
expect_rc 2 import --path /x --name x extra
err_has "unexpected argument 'extra'"

# ---- what fails leaves nothing --------------------------------------------------------------
mkdir -p "$T/trees/unknown/boot"
echo "nothing here" >"$T/trees/unknown/README"
expect_rc 0 settings show # the inventory made, empty
snap empty
expect_rc 1 import --path "$T/trees/nowhere" --name x
err_is "xenprov: cannot use '$T/trees/nowhere': No such file or directory"
expect_rc 1 import --path "$T/trees/unknown" --name x
err_has "xenprov: no signature matches '$T/trees/unknown': not a distribution tree xenprov knows"
err_has "hint: signatures tried: debian-netboot, debian-iso, ubuntu-live"
echo "plain text" >"$T/trees/notes.iso"
expect_rc 1 import --path "$T/trees/notes.iso" --name x
err_has "'$T/trees/notes.iso' is neither a directory nor an ISO 9660 image"
expect_rc 1 import --path /dev/null --name x
err_has "'/dev/null' is neither a directory nor an ISO 9660 image"
tree_debian_netboot "$T/trees/netboot"
expect_rc 1 import --path "$T/trees/netboot" --name x --arch aarch64
err_has "is a debian-netboot tree, but not for aarch64 (it has x86_64)"
expect_rc 1 import --path "$T/trees/netboot" --name x --arch sparc
err_has "unknown architecture 'sparc'"
expect_rc 1 import --path "$T/trees/netboot" --name 'bad name'
err_has "'bad name' is not a valid distro name"
expect_rc 1 import --path "$T/trees/netboot" --name x --available-as 'file:///srv'
err_has "'file:///srv' is not a URL an installer can fetch a tree from"
expect_rc 1 import --path "$T/trees/netboot" --name x --tree iso
err_has "--tree iso serves a tree from inside an ISO image"
echo '{"xenprov-signatures": 1, "signatures": [{"name": "x", "requires": []}]}' >"$T/bad.json"
expect_rc 1 import --path "$T/trees/netboot" --name x --signatures "$T/bad.json"
err_has "xenprov: $T/bad.json: signatures[0] (x): unknown member 'requires'"
err_has "hint: did you mean 'require'?"
expect_rc 1 import --path "$T/trees/netboot" --name x --signatures "$T/none.json"
err_has "cannot read the signature file '$T/none.json': No such file or directory"
expect_rc 1 import --path "$S" --name x
err_has "is or holds the state directory: not a tree to import"
# the dry run says what it is and writes nothing
expect_rc 0 import --path "$T/trees/netboot" --name deb12 --dry-run
out_has "would import $T/trees/netboot (dry run: nothing written)"
out_has "debian-netboot (debian)"
expect_rc 0 import --path "$T/trees/netboot" --name deb12 --dry-run --json
json_ok "$T/stdout" 'j["dry_run"] and j["distro"] == "deb12-x86_64" and "changed" not in j'
snap after-errors
same_snap empty after-errors "a failed import or a dry run"

# ---- a Debian netboot tree: copied by hard links ------------------------------------------------
expect_rc 0 import --path "$T/trees/netboot" --name deb12
out_has "imported $T/trees/netboot"
out_has "version  12 (bookworm)"
out_has "distro   deb12-x86_64: added"
out_has "profile  deb12-x86_64: added"
store_has deb12-x86_64 kernel "$T/trees/netboot/debian-installer/amd64/linux"
store_has deb12-x86_64 initrd "$T/trees/netboot/debian-installer/amd64/initrd.gz"
C=$S/tftp/trees/deb12-x86_64
[ "$(stat -c %i "$C/debian-installer/amd64/linux")" = "$(stat -c %i "$T/trees/netboot/debian-installer/amd64/linux")" ] ||
	fail "the copy of the netboot tree is not a hard link"
ok
[ "$(readlink "$C/pxelinux.cfg")" = debian-installer/amd64/pxelinux.cfg ] || fail "symlink not made again"
ok
expect_rc 0 profile show deb12-x86_64 --json
json_ok "$T/stdout" 'j["settings"] == {"distro": "deb12-x86_64"}'
expect_rc 0 distro show deb12-x86_64 --json
json_ok "$T/stdout" 'j["arch"] == "x86_64" and j["kernel"].endswith("/netboot/debian-installer/amd64/linux") and j["kernel_options"] is None'
snap netboot1
expect_rc 0 import --path "$T/trees/netboot" --name deb12 --json
json_ok "$T/stdout" 'j["changed"] == {"distro": "unchanged", "tree": "unchanged", "profile": "kept"}'
json_ok "$T/stdout" 'j["tree"]["linked"] == 0 and j["tree"]["copied"] == 0 and j["tree"]["kept"] == 7 and j["tree"]["removed"] == 0'
snap netboot2
same_snap netboot1 netboot2 "a second import of the netboot tree"

# ---- a Debian netinst ISO: served from inside the image ----------------------------------------
tree_debian_media "$T/trees/media"
make_iso "$T/trees/media" "$T/trees/debian.iso"
expect_rc 0 import --path "$T/trees/debian.iso" --name debian --json
json_ok "$T/stdout" 'j["signature"] == "debian-iso" and j["iso"] and j["xen"]'
json_ok "$T/stdout" 'j["kernel"]["path"] == "install.amd/xen/vmlinuz" and j["initrd"]["path"] == "install.amd/xen/initrd.gz"'
json_ok "$T/stdout" 'j["version"] == "12.5.0" and j["codename"] == "Bookworm" and j["label"].startswith("Debian GNU/Linux 12.5.0")'
json_ok "$T/stdout" 'j["tree"]["mode"] == "iso" and j["tree"]["path"] == "/distros/debian-x86_64/tree/" and j["tree"]["url"] is None and j["tree"]["files"] == 8'
json_ok "$T/stdout" 'j["changed"] == {"distro": "added", "tree": "added", "profile": "added"}'
store_has debian-x86_64 kernel "$T/trees/media/install.amd/xen/vmlinuz"
store_has debian-x86_64 initrd "$T/trees/media/install.amd/xen/initrd.gz"
[ ! -e "$S/tftp/trees/debian-x86_64" ] || fail "an image's tree was copied"
ok
snap iso1
expect_rc 0 import --path "$T/trees/debian.iso" --name debian --json
json_ok "$T/stdout" 'j["changed"] == {"distro": "unchanged", "tree": "unchanged", "profile": "kept"}'
snap iso2
same_snap iso1 iso2 "a second import of the ISO"
# --generic: the generic pair replaces the Xen one (an update), --tree copy copies it
expect_rc 0 import --path "$T/trees/debian.iso" --name debian --generic --tree copy --json
json_ok "$T/stdout" 'j["kernel"]["path"] == "install.amd/vmlinuz" and not j["xen"] and j["tree"]["copied"] == 8'
json_ok "$T/stdout" 'j["changed"] == {"distro": "updated", "tree": "updated", "profile": "kept"}'
store_has debian-x86_64 kernel "$T/trees/media/install.amd/vmlinuz"
diff -r "$T/trees/media" "$S/tftp/trees/debian-x86_64" >/dev/null || fail "the image's copy differs from its tree"
ok
# the store keeps no file that no distro names any more
[ ! -e "$S/distro-files/$(sha "$T/trees/media/install.amd/xen/vmlinuz")" ] || fail "the old kernel is still in the store"
ok

# ---- SUSE before the server's address is known: install=$tree left out ---------------------------
tree_sles "$T/trees/sles"
expect_rc 0 import --path "$T/trees/sles" --name sles15
err_has "xenprov: warning: kernel option 'install=\$tree' left out: the tree's URL is not known"
err_has "hint: set the server's address (xenprov settings set server IPV4) and import again"
out_has "url      (not known until the server setting is set)"
expect_rc 0 distro show sles15-x86_64 --json
json_ok "$T/stdout" 'j["kernel_options"] is None'
expect_rc 0 settings set server 10.0.0.1
expect_rc 0 settings set http-port 8080
expect_rc 0 import --path "$T/trees/sles" --name sles15 --json
json_ok "$T/stdout" 'j["kernel_options"] == "install=http://10.0.0.1:8080/distros/sles15-x86_64/tree/" and j["changed"]["distro"] == "updated" and j["warnings"] == []'
store_has sles15-x86_64 initrd "$T/trees/sles/boot/x86_64/loader/initrd"

# ---- a Red Hat tree: .treeinfo, then --available-as --------------------------------------------
tree_rocky "$T/trees/rocky"
expect_rc 0 import --path "$T/trees/rocky" --name rocky9 --json
json_ok "$T/stdout" 'j["signature"] == "redhat-treeinfo" and j["family"] == "redhat" and j["version"] == "9.3" and j["label"] == "Rocky Linux" and j["xen"]'
json_ok "$T/stdout" 'j["kernel_options"] == "inst.repo=http://10.0.0.1:8080/distros/rocky9-x86_64/tree/"'
store_has rocky9-x86_64 kernel "$T/trees/rocky/images/pxeboot/vmlinuz"
expect_rc 0 import --path "$T/trees/rocky" --name rocky9 --available-as http://mirror.example/rocky/9 --json
json_ok "$T/stdout" 'j["tree"]["mode"] == "external" and j["tree"]["url"] == "http://mirror.example/rocky/9/"'
json_ok "$T/stdout" 'j["kernel_options"] == "inst.repo=http://mirror.example/rocky/9/" and j["changed"]["tree"] == "updated"'
snap ext1
expect_rc 0 import --path "$T/trees/rocky" --name rocky9 --available-as http://mirror.example/rocky/9
out_has "tree     left where it is, served at http://mirror.example/rocky/9/"
snap ext2
same_snap ext1 ext2 "a second import with --available-as"
# --tree none forgets the tree
expect_rc 0 import --path "$T/trees/rocky" --name rocky9 --tree none --json
json_ok "$T/stdout" 'j["tree"]["mode"] == "none" and j["changed"]["tree"] == "updated" and j["kernel_options"] is None'

# the profile is the operator's once it exists: left as it is, with a warning
expect_rc 0 profile edit deb12-x86_64 --distro rocky9-x86_64
expect_rc 0 import --path "$T/trees/netboot" --name deb12
err_has "warning: profile 'deb12-x86_64' exists and boots distro 'rocky9-x86_64': left as it is"
expect_rc 0 profile show deb12-x86_64 --json
json_ok "$T/stdout" 'j["settings"] == {"distro": "rocky9-x86_64"}'

expect_rc 0 distro list
for d in deb12-x86_64 debian-x86_64 rocky9-x86_64 sles15-x86_64; do out_has "$d"; done
pass
