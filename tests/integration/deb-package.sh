#!/bin/bash
# deb-package.sh - the Debian package, built and installed as an administrator would
# (issue 19's proof):
#   - scripts/build-deb (what `make deb` runs: dpkg-buildpackage -us -uc -b on a copy of
#     the tree, then lintian, which must find no error and no warning) builds
#     xenprov_VERSION_amd64.deb, and the source tree is as clean for git after as before;
#   - a fresh Debian 12 root made by mmdebstrap (minbase, systemd, man-db; cached per
#     machine in /var/tmp/xenprov-deb-root, made again when missing; the network it uses
#     is Debian's mirror only), where `apt-get install ./xenprov_*.deb` resolves the
#     dependencies from the mirror, and every Recommends resolves too (simulated);
#   - inside it (chroot): xenprov --version says the package's version, the
#     xenprov-pxeboot runs, `man -w xenprov-deploy` finds the page, `xenprov image
#     build` of a small tarball makes an image e2fsck finds clean (in the image cache,
#     /var/cache/xenprov), `systemd-analyze verify` passes the unit, which is enabled and
#     was not started (the maintainer scripts start nothing on install), the xenprov
#     system user exists (sysusers.d), /var/lib/xenprov is 0700 and /var/cache/xenprov
#     0755 (tmpfiles.d), bash and zsh completion and the examples are installed;
#   - `dpkg -r` removes every file of the package and keeps the state; `dpkg -P` removes
#     the cache and the unit's enablement but keeps the state (the inventory), as
#     README.Debian says: removing it is the administrator's documented step.
#
# The package build reuses its build directory (BUILD/tests/deb-build) between runs, so
# only the first run compiles everything (about 100 s on two cores; an unchanged tree
# about 10 s, then lintian about 10 s). Installing into the cached root takes about a
# minute (most of it apt). Making the root (first run only) about 40 s.
#
# Needs root (chroot, mounts in a namespace of its own), dpkg-dev, debhelper, lintian,
# rsync, mmdebstrap, and Debian's mirror: exits 77 without them. Nothing is installed on
# this host: everything happens in the throwaway root under the scratch directory.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" --no-xenprov || exit 1
SRC=${XP_SRC:?set XP_SRC to the source directory}
[ "$(id -u)" = 0 ] || skip "needs root (chroot, mounts)"
need dpkg-buildpackage dh lintian rsync mmdebstrap unshare chroot flock
in_private_mounts "$@" || skip "cannot make a mount namespace"
scratch
MIRROR=${XP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${XP_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
CACHE=${XP_DEB_ROOT_CACHE:-/var/tmp/xenprov-deb-root}

# ---- the package --------------------------------------------------------------------------

clean_state() { [ -e "$SRC/.git" ] && git -C "$SRC" status --porcelain --ignored=no 2>/dev/null; }
before=$(clean_state)
OUT=$(dirname "$T")/deb-build
t0=$SECONDS
"$SRC/scripts/build-deb" "$OUT" >"$T/build.out" 2>"$T/err" || fail "scripts/build-deb failed"
echo "package built and lintian clean in $((SECONDS - t0)) s"
ok
deb=$(tail -n 1 "$T/build.out")
version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
[ "$deb" = "$OUT/xenprov_${version}_$(dpkg --print-architecture).deb" ] && [ -f "$deb" ] ||
	fail "build-deb printed '$deb', not xenprov_${version}_ARCH.deb"
ok
grep -q "lintian: no errors or warnings" "$T/err" || fail "build-deb said nothing of lintian"
ok
[ "$(clean_state)" = "$before" ] || fail "the build changed the source tree: $(clean_state | head -5)"
ok
# what dpkg-deb says of it: the dependencies dh_shlibdeps computed, the programs as
# Recommends and Suggests
dpkg-deb -f "$deb" Depends >"$T/depends"
grep -q 'libc6 (>=' "$T/depends" && grep -q 'libjansson4' "$T/depends" ||
	fail "Depends has no shared-library dependencies: $(cat "$T/depends")"
ok
# the libraries xenprov loads at run time (dlopen), which dh_shlibdeps cannot see
for p in libcurl4 libpq5 libmicrohttpd12 libarchive13 libcrypt1 libext2fs2 libfdisk1 \
	libsqlite3-0; do
	grep -qw "$p" "$T/depends" || fail "Depends lacks $p: $(cat "$T/depends")"
done
ok
for p in mmdebstrap rsync qemu-utils lvm2 xen-utils libisal2 libssl3; do
	dpkg-deb -f "$deb" Recommends | grep -qw "$p" || fail "Recommends lacks $p"
done
for p in pxelinux syslinux-common ipxe grub-efi-amd64-bin; do
	dpkg-deb -f "$deb" Suggests | grep -qw "$p" || fail "Suggests lacks $p"
done
ok

# ---- a fresh Debian 12 root ---------------------------------------------------------------

# The root's tarball, made once per machine (again when missing): minbase, systemd
# (systemd-analyze, systemd-sysusers, systemd-tmpfiles) and man-db.
ROOT_TAR=$CACHE/bookworm-v1.tar
mkdir -p "$CACHE/archives/partial"
exec 9>"$CACHE/lock"
flock 9
if [ ! -s "$ROOT_TAR" ]; then
	t0=$SECONDS
	mmdebstrap --variant=minbase --include=systemd,man-db --format=tar bookworm \
		"$ROOT_TAR.tmp" "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
		"deb $SECURITY bookworm-security main" >"$T/mmdebstrap.log" 2>&1 || {
		rm -f "$ROOT_TAR.tmp"
		grep -qiE 'could not resolve|failed to fetch|unable to connect|temporary failure' \
			"$T/mmdebstrap.log" && skip "Debian's mirror cannot be reached"
		cat "$T/mmdebstrap.log" >"$T/err"
		fail "mmdebstrap failed"
	}
	mv "$ROOT_TAR.tmp" "$ROOT_TAR"
	echo "root made in $((SECONDS - t0)) s"
fi
flock -u 9
R=$T/root
mkdir "$R"
tar -xf "$ROOT_TAR" -C "$R" --numeric-owner || fail "cannot unpack $ROOT_TAR"
ok
cp -L /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc" || fail "cannot mount /proc in the root"
# apt's downloads kept from one run to the next
mount --bind "$CACHE/archives" "$R/var/cache/apt/archives" || fail "cannot mount the apt cache"
cp "$deb" "$R/tmp/"
debname=$(basename "$deb")

# inroot COMMAND...: COMMAND in the root (chroot, a clean environment), its standard
# output in $T/stdout and out, standard error in $T/err, exit status in rc.
inroot() {
	chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root \
		DEBIAN_FRONTEND=noninteractive "$@" >"$T/stdout" 2>"$T/err" </dev/null
	rc=$?
	out=$(<"$T/stdout")
}
# must COMMAND...: inroot, which must succeed.
must() {
	inroot "$@"
	[ "$rc" = 0 ] || fail "in the root: $* (exit $rc)"
	ok
}

t0=$SECONDS
inroot apt-get update
if [ "$rc" != 0 ]; then
	grep -qiE 'could not resolve|failed to fetch|unable to connect|temporary failure' "$T/err" &&
		skip "Debian's mirror cannot be reached"
	fail "apt-get update failed in the root"
fi
# every Recommends resolves (simulated: not installed, to keep the root small)
must apt-get install -s "/tmp/$debname"
for p in mmdebstrap rsync qemu-utils lvm2 xen-utils-4.17; do
	grep -q "^Inst $p " "$T/stdout" || fail "apt would not install the recommended $p"
done
ok
must apt-get install -y --no-install-recommends "/tmp/$debname"
echo "installed with its dependencies in $((SECONDS - t0)) s"
must dpkg-query -W -f '${Status} ${Version}' xenprov
[ "$out" = "install ok installed $version" ] || fail "dpkg-query: '$out'"
ok

# ---- inside it ----------------------------------------------------------------------------

must xenprov --version
[ "$out" = "xenprov $version" ] || fail "xenprov --version: '$out', want 'xenprov $version'"
ok
# what it loads at run time (dlopen) was installed with it
must ldconfig -p
for so in libcurl.so.4 libpq.so.5 libmicrohttpd.so.12; do
	grep -q "^[[:space:]]*$so " "$T/stdout" || fail "the root has no $so"
done
ok
must xenprov-pxeboot --help
grep -q "Usage: xenprov-pxeboot" "$T/stdout" || fail "xenprov-pxeboot --help: $out"
ok
must man -w xenprov-deploy
[ "$out" = /usr/share/man/man1/xenprov-deploy.1.gz ] || fail "man -w xenprov-deploy: '$out'"
ok
for page in $(cd "$SRC/docs" && ls ./*.1); do
	[ -f "$R/usr/share/man/man1/${page#./}.gz" ] || fail "man page $page not installed"
done
ok
# a small tarball, built into a bare ext4 image as root: the image cache is
# /var/cache/xenprov (the package's directory)
mkdir -p "$T/small/etc" "$T/small/bin"
echo small >"$T/small/etc/hostname"
printf '#!/bin/sh\necho hello\n' >"$T/small/bin/hello"
chmod 755 "$T/small/bin/hello"
tar -czf "$R/tmp/small.tar.gz" -C "$T/small" . || fail "cannot make the tarball"
must xenprov image build --from /tmp/small.tar.gz -o /tmp/small.img --label none --size 16M -q
must e2fsck -fn /tmp/small.img
must xenprov image cat /tmp/small.img /etc/hostname
[ "$out" = small ] || fail "xenprov image cat: '$out'"
ok
ls "$R/var/cache/xenprov/images/"* >/dev/null 2>&1 || fail "no image in /var/cache/xenprov/images"
ok
# the unit: verified by systemd, enabled, not started by any maintainer script
unit=/lib/systemd/system/xenprov-serve.service
must systemd-analyze verify "$unit"
grep -q '^ExecStart=/usr/bin/xenprov serve ' "$R$unit" || fail "ExecStart= is not /usr/bin/xenprov"
ok
[ -L "$R/etc/systemd/system/multi-user.target.wants/xenprov-serve.service" ] ||
	fail "xenprov-serve.service is not enabled"
ok
[ "$(systemctl --root="$R" is-enabled xenprov-serve.service 2>/dev/null)" = enabled ] ||
	fail "systemctl --root is-enabled: not enabled"
ok
# (an upgrade try-restarts it: only a running one; removal stops it)
! grep -qE '(deb-systemd-invoke|systemctl)( +--[a-z-]+)* +(start|restart)\b' \
	"$R/var/lib/dpkg/info/xenprov.postinst" || fail "the postinst starts the service"
ok
grep -q 'try-restart' "$R/var/lib/dpkg/info/xenprov.postinst" || fail "an upgrade does not restart it"
ok
grep -q "deb-systemd-invoke stop xenprov-serve.service" "$R/var/lib/dpkg/info/xenprov.prerm" ||
	fail "removal does not stop the service"
ok
[ ! -e "$R/var/lib/dpkg/info/xenprov.preinst" ] ||
	! grep -q 'deb-systemd-invoke stop' "$R/var/lib/dpkg/info/xenprov.preinst" ||
	fail "the preinst stops the service before an upgrade (try-restart would not start it again)"
ok
# the user (sysusers.d) and the directories (tmpfiles.d)
must getent passwd xenprov
IFS=: read -r _ _ uid gid _ home shell <<<"$out"
[ "$uid" -lt 1000 ] && [ "$home" = /var/lib/xenprov ] && [ "$shell" = /usr/sbin/nologin ] ||
	fail "the xenprov user: '$out'"
ok
must getent group xenprov
[ "$(cut -d: -f3 <<<"$out")" = "$gid" ] || fail "xenprov's group: '$out' (gid $gid)"
ok
[ "$(stat -c '%a %U %G' "$R/var/lib/xenprov")" = "700 root root" ] ||
	fail "/var/lib/xenprov: $(stat -c '%a %U %G' "$R/var/lib/xenprov")"
ok
[ "$(stat -c '%a %U' "$R/var/cache/xenprov")" = "755 root" ] ||
	fail "/var/cache/xenprov: $(stat -c '%a %U' "$R/var/cache/xenprov")"
ok
# completion (the generated script: sourced, it registers _xenprov) and the examples
must bash -c '. /usr/share/bash-completion/completions/xenprov && complete -p xenprov'
grep -q -- '-F _xenprov' "$T/stdout" || fail "completion not registered: $out"
ok
head -n 1 "$R/usr/share/zsh/vendor-completions/_xenprov" | grep -q '^#compdef xenprov' ||
	fail "no zsh completion"
ok
for f in examples/pvh.cfg examples/pv-pygrub.cfg README.Debian README.systemd.gz copyright; do
	[ -f "$R/usr/share/doc/xenprov/$f" ] || fail "/usr/share/doc/xenprov/$f missing"
done
ok
# state, as an administrator makes it: it must outlive remove and purge
must xenprov settings set server 10.0.0.1
[ -f "$R/var/lib/xenprov/inventory.db" ] || fail "no inventory in /var/lib/xenprov"
ok

# ---- remove, purge -------------------------------------------------------------------------

dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' >"$T/files"
must dpkg -r xenprov
while read -r f; do
	[ ! -e "$R$f" ] && [ ! -L "$R$f" ] || fail "dpkg -r left $f"
done <"$T/files"
ok
[ -f "$R/var/lib/xenprov/inventory.db" ] && [ -d "$R/var/cache/xenprov/images" ] ||
	fail "dpkg -r removed the state or the cache"
ok
must dpkg -P xenprov
[ ! -e "$R/var/cache/xenprov" ] || fail "dpkg -P left /var/cache/xenprov"
ok
[ ! -e "$R/etc/systemd/system/multi-user.target.wants/xenprov-serve.service" ] ||
	fail "dpkg -P left the unit's enablement"
ok
[ -f "$R/var/lib/xenprov/inventory.db" ] || fail "dpkg -P removed the state (README.Debian keeps it)"
ok
inroot dpkg-query -W -f '${Status}' xenprov
[ "$rc" != 0 ] || [ "$out" = "unknown ok not-installed" ] || fail "still known to dpkg: '$out'"
ok
grep -q 'rm -rf /var/lib/xenprov' "$SRC/debian/README.Debian" ||
	fail "README.Debian does not say how to remove the state"
ok

pass
