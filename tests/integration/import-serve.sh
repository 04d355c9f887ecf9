#!/bin/bash
# import-serve.sh - what `xenprov import` makes reachable, fetched from `xenprov serve`
# by real clients in network namespaces: a Debian netinst ISO image's files served from
# inside the image over HTTP (whole, by byte range, HEAD) and TFTP (tftp-hpa: the
# file's bytes start mid-page in the image), the image itself, a copied netboot tree's
# files, the distros' kernels from the store; a path out of the tree refused; and the
# image replaced after import no longer served until it is imported again.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
. "$(dirname "$0")/lib/import-trees.sh" || exit 1
need xorriso curl tftp cmp sha256sum

srv_settings
tree_debian_media "$T/media"
tree_debian_netboot "$T/netboot"
make_iso "$T/media" "$T/debian.iso"
chmod -R a+rX "$T/media" "$T/netboot" "$T/debian.iso"
"$X" import --path "$T/debian.iso" --name debian >/dev/null 2>"$T/err" || fail "import of the ISO: $(cat "$T/err")"
"$X" import --path "$T/netboot" --name deb12 >/dev/null 2>"$T/err" || fail "import of the netboot tree: $(cat "$T/err")"
srv_ns 10.79.0.1/24
client_add c1 52:54:00:aa:00:01
ip -n c1 addr add 10.79.0.50/24 dev eth0
C() { ip netns exec c1 "$@"; }
srv_start --http --tftp
U=http://10.79.0.1:8080
get() { # URL FILE [CURL ARGS...]: HTTP 200 or 206 into FILE
	local u=$1 f=$2 code
	shift 2
	code=$(C curl -s -o "$f" -w '%{http_code}' "$@" "$u")
	[ "$code" = 200 ] || [ "$code" = 206 ] || fail "GET $u: HTTP $code"
}
status() { C curl -s -o /dev/null -w '%{http_code}' "$@"; }

# the image's files, from inside it
for f in install.amd/vmlinuz install.amd/initrd.gz install.amd/xen/initrd.gz .disk/info \
	dists/bookworm/Release dists/bookworm/main/binary-amd64/Packages.gz; do
	get "$U/distros/debian-x86_64/tree/$f" "$T/got"
	cmp -s "$T/got" "$T/media/$f" || fail "$f served from the image differs"
	ok
done
get "$U/distros/debian-x86_64/tree/install.amd/initrd.gz" "$T/got" -r 1000-1999
cmp -s "$T/got" <(tail -c +1001 "$T/media/install.amd/initrd.gz" | head -c 1000) || fail "a range of a file in the image differs"
ok
C curl -sI "$U/distros/debian-x86_64/tree/install.amd/vmlinuz" >"$T/head" || fail "HEAD"
grep -qi "^content-length: 310000" "$T/head" || fail "HEAD gives the wrong length: $(cat "$T/head")"
ok
get "$U/distros/debian-x86_64/image.iso" "$T/got"
cmp -s "$T/got" "$T/debian.iso" || fail "the image served differs"
ok
# over TFTP too: the resolver is the same, the bytes start mid-page in the image
(cd "$T" && C timeout 60 tftp -m binary 10.79.0.1 -c get distros/debian-x86_64/tree/install.amd/initrd.gz tftp.bin) ||
	fail "tftp get of a file in the image"
cmp -s "$T/tftp.bin" "$T/media/install.amd/initrd.gz" || fail "the file in the image over TFTP differs"
ok
# the distro's kernel: the store's copy of the Xen PV kernel
get "$U/distros/debian-x86_64/kernel" "$T/got"
cmp -s "$T/got" "$T/media/install.amd/xen/vmlinuz" || fail "the distro's kernel differs"
ok
# the copied netboot tree, through the same path and as plain files of the root
get "$U/distros/deb12-x86_64/tree/version.info" "$T/got"
cmp -s "$T/got" "$T/netboot/version.info" || fail "the copied tree's file differs"
ok
get "$U/distros/deb12-x86_64/tree/pxelinux.0" "$T/got"
cmp -s "$T/got" "$T/netboot/debian-installer/amd64/pxelinux.0" || fail "a symlink of the copied tree"
ok
get "$U/trees/deb12-x86_64/debian-installer/amd64/linux" "$T/got"
cmp -s "$T/got" "$T/netboot/debian-installer/amd64/linux" || fail "the copy as a plain file"
ok
# what is not there, or out of the tree
[ "$(status "$U/distros/debian-x86_64/tree/install.amd")" = 404 ] || fail "a directory of the image was served"
ok
[ "$(status "$U/distros/debian-x86_64/tree/no/such")" = 404 ] || fail "a missing file was served"
ok
[ "$(status --path-as-is "$U/distros/debian-x86_64/tree/../../deb12-x86_64/kernel")" = 403 ] ||
	fail "a path out of the tree was not refused"
ok
[ "$(status "$U/distros/deb12-x86_64/image.iso")" = 404 ] || fail "a copied tree has no image"
ok

# the image replaced after import: not served until imported again
tree_debian_media "$T/media2"
make_iso "$T/media2" "$T/debian.iso.new"
chmod a+r "$T/debian.iso.new"
mv "$T/debian.iso.new" "$T/debian.iso"
[ "$(status "$U/distros/debian-x86_64/tree/install.amd/vmlinuz")" = 404 ] ||
	fail "a file of a replaced image was served from the old places"
ok
"$X" import --path "$T/debian.iso" --name debian >/dev/null 2>"$T/err" || fail "import again: $(cat "$T/err")"
get "$U/distros/debian-x86_64/tree/install.amd/vmlinuz" "$T/got"
cmp -s "$T/got" "$T/media2/install.amd/vmlinuz" || fail "the new image's file differs"
ok
get "$U/distros/debian-x86_64/kernel" "$T/got"
cmp -s "$T/got" "$T/media2/install.amd/xen/vmlinuz" || fail "the distro's kernel was not taken again"
ok
srv_stop || fail "the server did not stop cleanly"
ok
pass
