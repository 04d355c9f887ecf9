#!/bin/bash
# dlopen-libs.sh - the libraries xenprov loads at their first use rather than links
# (libcurl, libpq, libmicrohttpd: src/lib/util/dlib.c): ldd names none of them nor
# what they bring (TLS, Kerberos, LDAP, GnuTLS); with one made unloadable (/dev/null
# bound over it, in a mount namespace of the test's own) what needs it fails with a
# message naming the library and the package, and what does not is untouched.
# Run by CTest with XENPROV and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need ldd ldconfig
in_private_mounts "$@" || skip "needs root and unshare (a mount namespace)"
scratch state
export XENPROV_STATE_DIR=$T/state

ldd "$X" >"$T/ldd" || fail "ldd $X failed"
for l in libcurl libpq libmicrohttpd libssl libgnutls libkrb5 libgssapi_krb5 libldap; do
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
PGURL="postgresql:///xp?host=$T/no-server"

# with the libraries: libpq is loaded and the connection is what fails
XENPROV_INVENTORY=$PGURL expect_rc 1 distro list
err_has "$T/no-server/.s.PGSQL"
err_lacks "could not be loaded"

mount --bind /dev/null "$PQ" || fail "cannot bind /dev/null over $PQ"
mount --bind /dev/null "$MHD" || fail "cannot bind /dev/null over $MHD"
XENPROV_INVENTORY=$PGURL expect_rc 1 distro list
err_has "libpq.so.5 could not be loaded: "
err_has "; apt-get install libpq5"
err_lacks ".s.PGSQL" # no connection was tried
# the embedded inventory and everything else need neither
expect_rc 0 --version
expect_rc 0 distro list
RUN_TIMEOUT=60 run serve --http --http-port 1 --address 127.0.0.1 --user root
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "serve without libmicrohttpd: exit $rc"
ok
err_has "libmicrohttpd.so.12 could not be loaded: "
err_has "; apt-get install libmicrohttpd12"
pass
