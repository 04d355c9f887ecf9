#!/bin/bash
# dlopen-libs.sh - the libraries xenprov loads at their first use rather than links
# (libcurl, libpq, libmicrohttpd: src/lib/util/dlib.c; libcrypto where the CPU has no
# SHA extensions: src/lib/util/sha256.c; libarchive, ISA-L, libxcrypt,
# libext2fs, libfdisk, SQLite behind their shims, src/lib/util/shim-*.c): ldd names
# none of them nor what they
# bring (TLS, Kerberos, LDAP, GnuTLS, libxml2, ICU); with one made unloadable (/dev/null
# bound over it, in a mount namespace of the test's own) what needs it fails with a
# message naming the library and the package, and what does not is untouched (a
# capture of a local tree, and the next one after a change, needs none of them).
# Run by CTest with XENPROV and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need ldd ldconfig
in_private_mounts "$@" || skip "needs root and unshare (a mount namespace)"
scratch state
export XENPROV_STATE_DIR=$T/state

ldd "$X" >"$T/ldd" || fail "ldd $X failed"
for l in libcurl libpq libmicrohttpd libssl libcrypto libgnutls libkrb5 libgssapi_krb5 libldap \
	libarchive libxml2 libicuuc libisal libcrypt libext2fs libcom_err libfdisk libblkid \
	libsqlite3; do
	! grep -q "^[[:space:]]*$l[.-]" "$T/ldd" || fail "ldd names $l: $(grep "$l" "$T/ldd")"
	ok
done

# where the loader finds a soname (this machine's architecture's)
lib_path() {
	local p
	p=$(ldconfig -p | awk -v so="$1" '$1 == so && /x86-64|x32|AArch64|64bit/ { print $NF; exit }')
	[ -n "$p" ] || p=$(ldconfig -p | awk -v so="$1" '$1 == so { print $NF; exit }')
	[ -n "$p" ] && realpath "$p"
}
PQ=$(lib_path libpq.so.5) || skip "no libpq.so.5 here"
MHD=$(lib_path libmicrohttpd.so.12) || skip "no libmicrohttpd.so.12 here"
ARCHIVE=$(lib_path libarchive.so.13) || skip "no libarchive.so.13 here"
XCRYPT=$(lib_path libcrypt.so.1) || skip "no libcrypt.so.1 here"
EXT2FS=$(lib_path libext2fs.so.2) || skip "no libext2fs.so.2 here"
FDISK=$(lib_path libfdisk.so.1) || skip "no libfdisk.so.1 here"
SQLITE=$(lib_path libsqlite3.so.0) || skip "no libsqlite3.so.0 here"
ISAL=$(lib_path libisal.so.2) || ISAL=
CRYPTO=$(lib_path libcrypto.so.3) || CRYPTO=
guest_tarball "$T/root.tar.gz"
printf 'secret\n' >"$T/password"
PGURL="postgresql:///xp?host=$T/no-server"

# with the libraries: a tarball is read, a password hashed
expect_rc 0 image build --from "$T/root.tar.gz" --size 16M --no-cache -q -o "$T/a.img"
[ -s "$T/a.img" ] || fail "no image built"
ok
expect_rc 0 profile add p1 --image "$T/root.tar.gz" --root-password-file "$T/password"
# ISA-L is optional: without it a tar.gz is inflated by libarchive's gzip filter, the
# same image
if [ -n "$ISAL" ]; then
	mount --bind /dev/null "$ISAL" || fail "cannot bind /dev/null over $ISAL"
	expect_rc 0 image build --from "$T/root.tar.gz" --size 16M --no-cache -q -o "$T/a2.img"
	umount "$ISAL" || fail "cannot give ISA-L back"
	expect_rc 0 image ls -l "$T/a.img"
	mv "$T/stdout" "$T/ls.a"
	expect_rc 0 image ls -l "$T/a2.img"
	cmp -s "$T/ls.a" "$T/stdout" || fail "the image made without ISA-L differs: $(diff "$T/ls.a" "$T/stdout" | head -5)"
	ok
fi
# a guest with an ext4 data disk, its golden image made (and cached) from the tarball
mkdir -p "$T/cfg" "$T/pool"
expect_rc 0 profile add dd --image "$T/root.tar.gz" --disk-size 32M --storage file \
	--pool "$T/pool" --data-disk 16M,fs=ext4 --network dhcp
XENPROV_XL=/nonexistent expect_rc 0 deploy --profile dd --count 1 --name 'dda%d' --config-dir "$T/cfg" -q
expect_rc 0 profile show p1 --json
out_has '"withheld":["root-password-hash"]' # stored (shown to no one)

# with the libraries: libpq is loaded and the connection is what fails
XENPROV_INVENTORY=$PGURL expect_rc 1 distro list
err_has "$T/no-server/.s.PGSQL"
err_lacks "could not be loaded"

mount --bind /dev/null "$PQ" || fail "cannot bind /dev/null over $PQ"
mount --bind /dev/null "$MHD" || fail "cannot bind /dev/null over $MHD"
for l in "$ARCHIVE" "$XCRYPT" $ISAL; do
	mount --bind /dev/null "$l" || fail "cannot bind /dev/null over $l"
done
XENPROV_INVENTORY=$PGURL expect_rc 1 distro list
err_has "libpq.so.5 could not be loaded: "
err_has "; apt-get install libpq5"
err_lacks ".s.PGSQL" # no connection was tried
# the embedded inventory and everything else need neither
expect_rc 0 --version
expect_rc 0 distro list
# a tarball needs libarchive: the command ends as the loader would have ended it at
# start (127), naming the library and its package, and leaves nothing behind
expect_rc 127 image build --from "$T/root.tar.gz" --size 16M --no-cache -q -o "$T/b.img"
err_has "cannot load libarchive.so.13, which this command needs: "
err_has "apt-get install libarchive13"
[ ! -e "$T/b.img" ] || fail "a half-made b.img was left"
ok
# an empty filesystem (a data disk's, as `installer run` makes one in an initramfs that
# has no libarchive) reads no archive: a second guest from the cached golden image
XENPROV_XL=/nonexistent expect_rc 0 deploy --profile dd --count 1 --name 'ddb%d' --config-dir "$T/cfg" -q
[ -s "$T/pool/ddb1.data1.img" ] || fail "no data disk of ddb1 in the pool: $(ls "$T/pool")"
e2fsck -fn "$T/pool/ddb1.data1.img" >"$T/fsck" 2>&1 || fail "ddb1's data disk: $(cat "$T/fsck")"
ok
expect_rc 127 profile add p2 --image "$T/root.tar.gz" --root-password-file "$T/password"
err_has "cannot load libcrypt.so.1, which this command needs: "
err_has "apt-get install libcrypt1"
RUN_TIMEOUT=60 run serve --http --http-port 1 --address 127.0.0.1 --user root
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "serve without libmicrohttpd: exit $rc"
ok
err_has "libmicrohttpd.so.12 could not be loaded: "
err_has "; apt-get install libmicrohttpd12"

# the filesystem, partition and inventory libraries too: reading an image needs
# libext2fs, building one libfdisk as well (libarchive given back), the inventory SQLite
for l in "$EXT2FS" "$FDISK" "$SQLITE"; do
	mount --bind /dev/null "$l" || fail "cannot bind /dev/null over $l"
done
expect_rc 127 image info "$T/a.img"
err_has "cannot load libext2fs.so.2, which this command needs: "
err_has "apt-get install libext2fs2"
expect_rc 127 distro list
err_has "cannot load libsqlite3.so.0, which this command needs: "
err_has "apt-get install libsqlite3-0"
umount "$ARCHIVE" "$EXT2FS" || fail "cannot give libarchive and libext2fs back"
expect_rc 127 image build --from "$T/root.tar.gz" --size 16M --no-cache -q -o "$T/c.img"
err_has "cannot load libfdisk.so.1, which this command needs: "
err_has "apt-get install libfdisk1"
[ ! -e "$T/c.img" ] || fail "a half-made c.img was left"
ok
for l in "$ARCHIVE" "$EXT2FS" $CRYPTO; do
	mount --bind /dev/null "$l" || fail "cannot bind /dev/null over $l"
done
# with none of libpq, libmicrohttpd, libarchive, ISA-L, libxcrypt, libext2fs, libfdisk,
# SQLite, nor libcrypto (the hashes by the SHA extensions, or by the portable code where
# libcrypto would have been loaded; on a CPU with the extensions libcrypto is never
# asked for, so its absence there proves only that): --version, and a local tree's
# captures (xenprov's own copy, every file hashed, the hash checked), before and after
# a change
expect_rc 0 --version
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/golden" && tar -C "$T/golden" -xzf "$T/root.tar.gz"
	expect_rc 0 image capture "$T/golden" --name g -q
	echo changed >"$T/golden/etc/hostname"
	expect_rc 0 image capture "$T/golden" --name g -q
	want=$(sha256sum <"$T/golden/etc/hostname" | cut -d' ' -f1)
	grep -q "^/etc/hostname f .* $want - -\$" "$XENPROV_STATE_DIR/images/captures/g/2/manifest" ||
		fail "the manifest's hash of /etc/hostname is not sha256sum's ($want)"
	ok
	expect_rc 0 image versions g --json
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert [x["version"] for x in v] == [1, 2], v' "$T/stdout" || fail "image versions: $(cat "$T/stdout")"
	ok
fi
pass
