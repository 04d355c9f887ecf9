#!/bin/bash
# Storage lvm on real device-mapper, in make test-xen: sourced by run-test.sh, which
# calls these (the dom0 side is lvm-dom0.sh):
#   lvm_prepare     the package (scripts/build-deb into build/deb, without lintian, or
#                   $XP_XEN_DEB), and
#                   lvm2, thin-provisioning-tools and the package's dependencies in the
#                   lab's dom0 root (chroot apt-get with the host's mirror, once: the dom0
#                   image is remade only when something was installed). The package
#                   itself is installed at dom0's boot, by lvm-dom0.sh with apt-get
#                   (offline, as its dependencies are there): a new build then costs
#                   seconds in dom0, never a new dom0 image.
#   lvm_payload     the package, the busybox root tarball and lvm-dom0.sh into
#                   /payload/lvm, started by dom0-init.sh as the placeholder guest xp-lvm
#                   (/payload/xp-lvm.cfg, a comment, and /payload/xp-lvm.start)
#   lvm_check LOG   the "XP-LVM ok|fail" lines in the serial log: every result
#                   expected, no failure; appends to check_guests' summary, returns 1 on
#                   a failure
# XP_XEN_LVM=0 leaves it all out.
LVM_ON=${XP_XEN_LVM:-1}
LVM_DEB=""

lvm_prepare() {
	[ "$LVM_ON" = 1 ] || return 0
	local root=$LAB/rootfs need="" p a deps
	LVM_DEB=${XP_XEN_DEB:-}
	if [ -z "$LVM_DEB" ]; then
		LVM_DEB=$(XP_DEB_LINTIAN=0 "$HERE/../../scripts/build-deb" "$HERE/../../build/deb" | tail -n 1) ||
			{ echo "lvm: scripts/build-deb failed"; return 1; }
	fi
	[ -f "$LVM_DEB" ] || { echo "lvm: no package at $LVM_DEB"; return 1; }
	# Depends: "a (>= 1), b | c, ...": each met by any of its alternatives that is
	# installed, else the first is installed (the versions: the same release's)
	deps=$(dpkg-deb -f "$LVM_DEB" Depends | tr ',' '\n' | sed 's/([^)]*)//g; s/[[:space:]]//g')
	for p in lvm2 thin-provisioning-tools $deps; do
		for a in ${p//|/ }; do
			chroot "$root" dpkg -s "$a" >/dev/null 2>&1 && continue 2
		done
		need="$need ${p%%|*}"
	done
	[ -n "$need" ] || return 0
	echo "lvm: installing into the dom0 root:$need"
	{ chroot "$root" apt-get update -q && DEBIAN_FRONTEND=noninteractive chroot "$root" \
		apt-get install -y -q --no-install-recommends $need; } >"$LAB/apt-lvm.log" 2>&1 ||
		{ echo "lvm: apt-get in the dom0 root failed, see $LAB/apt-lvm.log"; tail -5 "$LAB/apt-lvm.log"; return 1; }
	rm -f "$LAB/dom0.key" # the dom0 image is made again
	lab_build
}

lvm_payload() {
	[ "$LVM_ON" = 1 ] || return 0
	mkdir -p "$P/lvm"
	cp "$LVM_DEB" "$RUN/busybox-root.tar.gz" "$P/lvm/"
	install -m 0755 "$HERE/lvm-dom0.sh" "$P/xp-lvm.start"
	echo "# a placeholder: dom0-init.sh runs xp-lvm.start (lvm-dom0.sh), which makes the LVM guests" >"$P/xp-lvm.cfg"
}

lvm_check() {
	[ "$LVM_ON" = 1 ] || return 0
	local LOG=$1 lines=$RUN/xp-lvm.lines why="" w
	tr -d '\r' <"$LOG" | grep -a -E "^XP-(CREATE-(BEGIN|END) xp-lvm( |\$)|LVM )" >"$lines"
	echo "----- xp-lvm: storage lvm in dom0, xenprov from the package"
	cat "$lines"
	grep -qx "XP-CREATE-END xp-lvm rc=0" "$lines" || why="$why script-failed"
	for w in install vg "deploy xp-lvm-thick" "deploy xp-lvm-thin1" "deploy xp-lvm-thin2" \
		"config xp-lvm-thick" "config xp-lvm-thin1" "config xp-lvm-thin2" \
		"boot xp-lvm-thick" "boot xp-lvm-thin1" "boot xp-lvm-thin2" \
		"delete xp-lvm-thick" "rollback xp-lvm-thin1" resume "no orphan" "rollback of the resumed" \
		lvs-clean lvs-empty; do
		grep -q "^XP-LVM ok $w\\b" "$lines" || why="$why missing($w)"
	done
	grep -q "^XP-LVM fail " "$lines" && why="$why$(sed -n 's/^XP-LVM fail \([^:]*\).*/ fail(\1)/p' "$lines" | tr -d '\n')"
	if [ -z "$why" ]; then
		summary="$summary  PASS xp-lvm (package installed; thick volume and thin snapshots booted from phy:; delete, rollback, killed deploy resumed: no volume left; $(sed -n 's/^XP-LVM done //p' "$lines"))\n"
		return 0
	fi
	summary="$summary  FAIL xp-lvm:$why\n"
	return 1
}
