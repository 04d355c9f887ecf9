# import-trees.sh - sourced by the tests of `xenprov import`, after common.sh: small
# fake distribution trees in the layouts the signatures describe (data/signatures.json),
# each with a kernel and an initrd of random bytes, and an ISO image of one made by
# xorriso. XENPROV_DATA_DIR points at the repository's data/, as if installed.
[ -n "${XP_COMMON:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/common.sh" || exit 1
export XENPROV_DATA_DIR=${XP_SRC:?set XP_SRC to the source tree}/data

# rnd FILE BYTES: FILE (parents made) of random bytes.
rnd() {
	mkdir -p "$(dirname "$1")"
	head -c "$2" /dev/urandom >"$1" || fail "cannot write $1"
}

# tree_debian_netboot DIR: what debian-installer-12-netboot-amd64 and netboot.tar.gz hold.
tree_debian_netboot() {
	mkdir -p "$1"
	printf 'Debian version:  12 (bookworm)\nInstaller build: 20230607+deb12u15\n' >"$1/version.info"
	rnd "$1/debian-installer/amd64/linux" 300000
	rnd "$1/debian-installer/amd64/initrd.gz" 700001
	rnd "$1/debian-installer/amd64/pxelinux.0" 4000
	mkdir -p "$1/debian-installer/amd64/pxelinux.cfg"
	echo "default install" >"$1/debian-installer/amd64/pxelinux.cfg/default"
	ln -s debian-installer/amd64/pxelinux.0 "$1/pxelinux.0"
	ln -s debian-installer/amd64/pxelinux.cfg "$1/pxelinux.cfg"
}

# tree_debian_media DIR: a netinst's files, with the Xen PV pair in install.amd/xen.
tree_debian_media() {
	mkdir -p "$1/.disk" "$1/dists/bookworm/main/binary-amd64"
	printf 'Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 NETINST with firmware 20240210-11:27' \
		>"$1/.disk/info"
	echo "Codename: bookworm" >"$1/dists/bookworm/Release"
	rnd "$1/dists/bookworm/main/binary-amd64/Packages.gz" 30000
	rnd "$1/install.amd/vmlinuz" 310000
	rnd "$1/install.amd/initrd.gz" 600000
	rnd "$1/install.amd/xen/vmlinuz" 320000
	rnd "$1/install.amd/xen/initrd.gz" 610000
	echo "# xl config of the installer" >"$1/install.amd/xen/xm-debian.cfg"
}

# tree_rocky DIR: a Red Hat tree with a .treeinfo (productmd 1.2) and images-xen.
tree_rocky() {
	mkdir -p "$1/images/pxeboot" "$1/BaseOS/repodata"
	cat >"$1/.treeinfo" <<'EOF'
[header]
type = productmd.treeinfo
version = 1.2

[release]
name = Rocky Linux
short = Rocky
version = 9.3

[general]
family = Rocky Linux
version = 9.3
arch = x86_64
platforms = x86_64,xen

[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img

[images-xen]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img
EOF
	rnd "$1/images/pxeboot/vmlinuz" 200000
	rnd "$1/images/pxeboot/initrd.img" 400000
	echo "<repomd/>" >"$1/BaseOS/repodata/repomd.xml"
}

# tree_sles DIR: a SUSE tree with its content file.
tree_sles() {
	mkdir -p "$1"
	printf 'PRODUCT SUSE_SLES\nVERSION 15.5\nLABEL SUSE Linux Enterprise Server 15 SP5\n' >"$1/content"
	rnd "$1/boot/x86_64/loader/linux" 200000
	rnd "$1/boot/x86_64/loader/initrd" 300000
}

# make_iso DIR ISO: DIR as an ISO 9660 image with Rock Ridge and Joliet names.
make_iso() {
	xorriso -as mkisofs -quiet -r -J -V XENPROV -o "$2" "$1" >"$T/xorriso.log" 2>&1 ||
		fail "xorriso could not make $2: $(tail -3 "$T/xorriso.log")"
}

# sha FILE: its SHA-256.
sha() { sha256sum "$1" | cut -d' ' -f1; }
