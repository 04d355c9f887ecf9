#!/bin/bash
# guest-net.sh - a guest's network configuration, as `xenprov domain create` writes it,
# brought up by the guest's own tools without booting it (Debian 12's: udev 252,
# ifupdown 0.8, systemd-networkd 252, netplan 0.106, NetworkManager 1.42 are the tools
# of this Debian 12 host). Guests are made from Debian 12-like (ifupdown and
# systemd-udevd), systemd-networkd, netplan and RHEL 9-like (NetworkManager) trees; their
# files are read back with `xenprov image cat`, then in a network namespace of the
# test's own, a veth with the guest's MAC stands for the Xen vif, whose kernel name is
# eth0, and a second one with its second NIC's MAC for the second vif, eth1 (each guest
# has a second NIC on another network, without a gateway):
#  - Debian 12: udev's net_setup_link (`udevadm test-builtin`) reads the guest's .link
#    files and names the interfaces enX0 and enX1, also with net.ifnames=0; ifup brings
#    both up from the guest's /etc/network/interfaces: the pools' addresses, the default
#    route through the first only;
#  - networkd: systemd-networkd configures both interfaces, still called eth0 and eth1
#    (found by their MACs), from the guest's two .network files;
#  - netplan: `netplan generate` renders the guest's YAML to a .link naming each MAC's
#    interface (enX0, enX1) and a .network for each (a veth has no permanent MAC for
#    netplan's PermanentMACAddress= to match, so nothing is brought up here);
#  - NetworkManager: the keyfiles are root's, 0600, and NetworkManager's own parser
#    (`nmcli --offline`) reads each as the connection meant, the second never-default;
#  - /etc/resolv.conf: the build host's file replaced by the profile's name servers and
#    domain, a systemd-resolved symlink kept.
#
# Run by CTest with XENPROV and XP_TMP. Needs root (unshare -mn), ip, udevadm, ifup,
# systemd-networkd, netplan and nmcli (scripts/install-deps); else exit 77. Every
# process it starts runs in the namespace it makes and is ended by its PID.
. "$(dirname "$0")/lib/common.sh" || exit 1
[ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
need unshare ip udevadm ifup netplan nmcli python3 tar timeout
ND=/lib/systemd/systemd-networkd
[ -x $ND ] || skip "no $ND"
id systemd-network >/dev/null 2>&1 || skip "no systemd-network user"
nmcli --offline --version >/dev/null 2>&1 || skip "nmcli has no --offline"
timeout 10 unshare -mn true 2>/dev/null || skip "unshare -mn is not allowed here"

scratch cfg
export XENPROV_STATE_DIR=$T/state
# x ARG...: xenprov ARG... must succeed; its output in $T/out
x() {
	expect_rc 0 "$@"
	cp "$T/stdout" "$T/out"
}
# has FILE TEXT: FILE holds the line TEXT
has() { grep -qxF -- "$2" "$1" || { sed 's/^/  | /' "$1"; fail "$1 lacks the line '$2'"; }; ok; }

# ---- the golden trees -------------------------------------------------------------------

# common ROOT: what every tree has, and the build host's resolv.conf
common() {
	mkdir -p "$1/etc/ssh" "$1/root" "$1/usr/bin" "$1/usr/lib/systemd" "$1/usr/sbin" || exit 1
	ln -s usr/bin "$1/bin" && ln -s usr/lib "$1/lib" && ln -s usr/sbin "$1/sbin" || exit 1
	echo golden >"$1/etc/hostname"
	echo '/dev/xvda1 / ext4 defaults 0 1' >"$1/etc/fstab"
	printf 'nameserver 192.168.99.99\nsearch build-host.example\n' >"$1/etc/resolv.conf"
	printf '#!/bin/sh\n' >"$1/usr/bin/sh" && chmod 755 "$1/usr/bin/sh"
	printf 'ELF' >"$1/usr/lib/systemd/systemd"
}
R=$T/roots
# Debian 12: ifupdown, systemd-udevd, no resolver manager
common "$R/debian"
mkdir -p "$R/debian/etc/network/interfaces.d" "$R/debian/etc/systemd/network"
printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n' \
	>"$R/debian/etc/network/interfaces"
printf 'ELF' >"$R/debian/usr/lib/systemd/systemd-udevd"
# systemd-networkd with systemd-resolved
common "$R/networkd"
mkdir -p "$R/networkd/etc/systemd/network"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$R/networkd/etc/resolv.conf"
printf 'ELF' >"$R/networkd/usr/lib/systemd/systemd-udevd"
# Ubuntu-like: netplan
common "$R/netplan"
mkdir -p "$R/netplan/etc/netplan" "$R/netplan/etc/systemd/network"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$R/netplan/etc/resolv.conf"
# RHEL 9-like: NetworkManager enabled, network-scripts/ with a readme
common "$R/nm"
mkdir -p "$R/nm/etc/NetworkManager/system-connections" "$R/nm/etc/sysconfig/network-scripts" \
	"$R/nm/usr/lib/systemd/system" "$R/nm/etc/systemd/system/multi-user.target.wants"
printf 'ELF' >"$R/nm/usr/sbin/NetworkManager"
printf '[Service]\n' >"$R/nm/usr/lib/systemd/system/NetworkManager.service"
ln -s /usr/lib/systemd/system/NetworkManager.service \
	"$R/nm/etc/systemd/system/multi-user.target.wants/NetworkManager.service"
echo 'ifcfg is deprecated' >"$R/nm/etc/sysconfig/network-scripts/readme-ifcfg-rh.txt"

# ---- the guests, through the CLI ---------------------------------------------------------

GW=10.81.0.1
for os in debian networkd netplan nm; do
	tar -C "$R/$os" --numeric-owner -czf "$T/$os.tar.gz" . || fail "tar $os"
	x profile add "$os" --image "$T/$os.tar.gz" --disk-size 64M --network static \
		--ip-pool 10.81.0.0/24 --gateway $GW --dns 10.81.0.53,10.81.0.54 --domain lab.example \
		--nic bridge=xenbr1,ip-pool=10.82.0.0/24
done
declare -A MAC=([debian]=00:16:3e:51:00:01 [networkd]=00:16:3e:51:00:02
	[netplan]=00:16:3e:51:00:03 [nm]=00:16:3e:51:00:04)
declare -A IP DISK MAC1 IP1
for os in debian networkd netplan nm; do
	x domain create "g-$os" --profile "$os" --mac "${MAC[$os]}" --config-dir "$T/cfg" -q
	x domain show --json "g-$os"
	read -r IP[$os] DISK[$os] MAC1[$os] IP1[$os] < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d["ip"], d["disk"], d["nics"][0]["mac"], d["nics"][0]["ip"])' "$T/out") || fail "domain show g-$os"
	[ -n "${IP[$os]}" ] && [ -f "${DISK[$os]}" ] || fail "g-$os: ip '${IP[$os]}' disk '${DISK[$os]}'"
	[[ ${IP1[$os]} == 10.82.0.* ]] || fail "g-$os: second NIC's address '${IP1[$os]}'"
	mkdir -p "$T/g/$os"
done
# cat_guest OS PATH: the guest's file into $T/g/OS/<its name>, that path in $got
cat_guest() {
	got=$T/g/$1/$(basename "$2")
	"$X" image cat "${DISK[$1]}" "$2" >"$got" 2>"$T/err" || fail "image cat g-$1 $2"
}
# ns SCRIPT: runs bash SCRIPT in a new mount and network namespace (private mounts, a
# read-only sysfs of the namespace, so systemd tools see no udev to wait for), with
# eth0 a veth carrying $mac and eth1 one carrying $mac1, whose peers are up; its output
# in $T/ns.log
ns() {
	timeout 120 unshare -mn bash -euc "
mount --make-rprivate /
mount -t sysfs -o ro sysfs /sys
mount -t tmpfs tmpfs /run
ip link add eth0 address $mac type veth peer name peer0
ip link set peer0 up
ip link add eth1 address $mac1 type veth peer name peer1
ip link set peer1 up
$1" >"$T/ns.log" 2>&1 || { sed 's/^/  ns: /' "$T/ns.log" | tail -40; fail "namespace: $2"; }
	ok
}

# ---- Debian 12: the .link names it, ifupdown brings it up ----------------------------------

os=debian mac=${MAC[debian]} ip=${IP[debian]} mac1=${MAC1[debian]} ip1=${IP1[debian]}
cat_guest debian /etc/systemd/network/10-xenprov-enX1.link
link1=$got
has "$link1" "MACAddress=$mac1"
has "$link1" "Name=enX1"
cat_guest debian /etc/systemd/network/10-xenprov-enX0.link
link=$got
cat_guest debian /etc/network/interfaces
ifs=$got
has "$link" "MACAddress=$mac"
has "$link" "Name=enX0"
has "$ifs" "auto enX0"
has "$ifs" "iface enX0 inet static"
has "$ifs" "auto enX1"
has "$ifs" "iface enX1 inet static"
grep -q eth0 "$ifs" && fail "the Debian guest's interfaces still names eth0: $(cat "$ifs")"
ok
mkdir -p "$T/deb/link" "$T/deb/state" "$T/deb/interfaces.d"
cp "$link" "$link1" "$T/deb/link/"
ns "
mount --bind '$T/deb/link' /etc/systemd/network
for i in 0 1; do
	for cmdline in '' net.ifnames=0; do
		SYSTEMD_PROC_CMDLINE=\$cmdline udevadm test-builtin net_setup_link \
			/sys/class/net/eth\$i >'$T/deb/udev.out' 2>/dev/null
		grep -qx ID_NET_NAME=enX\$i '$T/deb/udev.out' || { cat '$T/deb/udev.out'; exit 1; }
		grep -qx ID_NET_LINK_FILE=/etc/systemd/network/10-xenprov-enX\$i.link \
			'$T/deb/udev.out'
	done
	ip link set eth\$i name enX\$i
done
mkdir -p /etc/network/interfaces.d
mount --bind '$T/deb/interfaces.d' /etc/network/interfaces.d
ifup -v -i '$ifs' --state-dir '$T/deb/state' --no-scripts enX0 enX1
ip -4 -o addr show dev enX0 >'$T/deb/addr'
ip -4 -o addr show dev enX1 >'$T/deb/addr1'
ip -4 route show default >'$T/deb/route'
" "Debian 12 guest"
grep -q "inet $ip/24 " "$T/deb/addr" || fail "enX0 has not $ip/24: $(cat "$T/deb/addr")"
ok
grep -q "inet $ip1/24 " "$T/deb/addr1" || fail "enX1 has not $ip1/24: $(cat "$T/deb/addr1")"
ok
grep -q "^default via $GW dev enX0" "$T/deb/route" || fail "no default route via $GW: $(cat "$T/deb/route")"
ok
[ "$(wc -l <"$T/deb/route")" = 1 ] || fail "more than one default route: $(cat "$T/deb/route")"
ok
cat_guest debian /etc/resolv.conf
rc=$got
has "$rc" "search lab.example"
has "$rc" "nameserver 10.81.0.53"
has "$rc" "nameserver 10.81.0.54"
grep -q 192.168.99.99 "$rc" && fail "the build host's name server is still in resolv.conf"
ok

# ---- systemd-networkd: matched by MAC, configured -----------------------------------------

mac=${MAC[networkd]} ip=${IP[networkd]} mac1=${MAC1[networkd]} ip1=${IP1[networkd]}
cat_guest networkd /etc/systemd/network/10-xenprov.network
net=$got
has "$net" "MACAddress=$mac"
has "$net" "DNS=10.81.0.53"
cat_guest networkd /etc/systemd/network/10-xenprov-enX1.network
net1=$got
has "$net1" "MACAddress=$mac1"
has "$net1" "Address=$ip1/24"
mkdir -p "$T/nd/network"
cp "$net" "$net1" "$T/nd/network/"
ns "
mount --bind '$T/nd/network' /etc/systemd/network
mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp
chown -R systemd-network:systemd-network /run/systemd/netif
$ND >'$T/nd/networkd.log' 2>&1 &
pid=\$!
trap 'kill \$pid 2>/dev/null || true' EXIT
trap 'exit 1' TERM INT
for i in \$(seq 1 40); do
	ip -4 route show default | grep -q 'via $GW dev eth0' &&
		ip -4 -o addr show dev eth1 | grep -q '$ip1/' && break
	sleep 0.5
done
ip -4 -o addr show dev eth0 >'$T/nd/addr'
ip -4 -o addr show dev eth1 >'$T/nd/addr1'
ip -4 route show default >'$T/nd/route'
grep -h '^NETWORK_FILE=\|^DNS=\|^DOMAINS=' /run/systemd/netif/links/* >'$T/nd/state' || true
" "systemd-networkd guest"
grep -q "inet $ip/24 " "$T/nd/addr" || { tail "$T/nd/networkd.log"; fail "eth0 has not $ip/24: $(cat "$T/nd/addr")"; }
ok
grep -q "^default via $GW dev eth0" "$T/nd/route" || fail "no default route via $GW: $(cat "$T/nd/route")"
ok
grep -q "inet $ip1/24 " "$T/nd/addr1" || { tail "$T/nd/networkd.log"; fail "eth1 has not $ip1/24: $(cat "$T/nd/addr1")"; }
ok
[ "$(wc -l <"$T/nd/route")" = 1 ] || fail "more than one default route: $(cat "$T/nd/route")"
ok
has "$T/nd/state" "NETWORK_FILE=/etc/systemd/network/10-xenprov-enX1.network"
has "$T/nd/state" "NETWORK_FILE=/etc/systemd/network/10-xenprov.network"
has "$T/nd/state" "DNS=10.81.0.53 10.81.0.54"
has "$T/nd/state" "DOMAINS=lab.example"
"$X" image ls -l "${DISK[networkd]}" /etc/resolv.conf >"$T/out" 2>"$T/err" || fail "image ls"
grep -q -- '-> ../run/systemd/resolve/stub-resolv.conf' "$T/out" || fail "resolv.conf: $(cat "$T/out")"
ok

# ---- netplan: rendered to a .link naming each NIC and a .network for it ---------------------

mac=${MAC[netplan]} ip=${IP[netplan]} mac1=${MAC1[netplan]} ip1=${IP1[netplan]}
mkdir -p "$T/np/etc/netplan"
cat_guest netplan /etc/netplan/50-xenprov.yaml
yaml=$got
cp "$yaml" "$T/np/etc/netplan/" && chmod 600 "$T/np/etc/netplan/50-xenprov.yaml"
netplan generate --root-dir "$T/np" 2>"$T/err" || fail "netplan generate"
ok
has "$T/np/run/systemd/network/10-netplan-enX0.link" "PermanentMACAddress=$mac"
has "$T/np/run/systemd/network/10-netplan-enX0.link" "Name=enX0"
has "$T/np/run/systemd/network/10-netplan-enX0.network" "Name=enX0"
has "$T/np/run/systemd/network/10-netplan-enX0.network" "Address=$ip/24"
has "$T/np/run/systemd/network/10-netplan-enX0.network" "Gateway=$GW"
has "$T/np/run/systemd/network/10-netplan-enX0.network" "DNS=10.81.0.53"
has "$T/np/run/systemd/network/10-netplan-enX0.network" "Domains=lab.example"
has "$T/np/run/systemd/network/10-netplan-enX1.link" "PermanentMACAddress=$mac1"
has "$T/np/run/systemd/network/10-netplan-enX1.link" "Name=enX1"
has "$T/np/run/systemd/network/10-netplan-enX1.network" "Address=$ip1/24"
! grep -q '^Gateway=\|^DNS=' "$T/np/run/systemd/network/10-netplan-enX1.network" ||
	fail "the second NIC has a gateway or DNS: $(cat "$T/np/run/systemd/network/10-netplan-enX1.network")"
ok

# ---- NetworkManager: a keyfile per NIC, which its parser reads ----------------------------

mac=${MAC[nm]} ip=${IP[nm]} mac1=${MAC1[nm]} ip1=${IP1[nm]}
kf=/etc/NetworkManager/system-connections/xenprov.nmconnection
"$X" image ls -l "${DISK[nm]}" $kf >"$T/out" 2>"$T/err" || fail "image ls $kf"
grep -q '^-rw------- .* 0 \+0 ' "$T/out" || fail "the keyfile is not root's 0600: $(cat "$T/out")"
ok
cat_guest nm $kf
key=$got
nmcli --offline connection modify connection.autoconnect-priority 100 <"$key" >"$T/nm.out" 2>"$T/err" ||
	fail "nmcli cannot read the keyfile: $(cat "$key")"
ok
has "$T/nm.out" "type=ethernet"
has "$T/nm.out" "mac-address=${mac^^}"
has "$T/nm.out" "address1=$ip/24,$GW"
has "$T/nm.out" "dns=10.81.0.53;10.81.0.54;"
has "$T/nm.out" "dns-search=lab.example;"
has "$T/nm.out" "method=manual"
kf=/etc/NetworkManager/system-connections/xenprov-enX1.nmconnection
"$X" image ls -l "${DISK[nm]}" $kf >"$T/out" 2>"$T/err" || fail "image ls $kf"
grep -q '^-rw------- .* 0 \+0 ' "$T/out" || fail "the keyfile is not root's 0600: $(cat "$T/out")"
ok
cat_guest nm $kf
nmcli --offline connection modify connection.autoconnect-priority 100 <"$got" >"$T/nm.out" 2>"$T/err" ||
	fail "nmcli cannot read the keyfile: $(cat "$got")"
ok
has "$T/nm.out" "id=xenprov-enX1"
has "$T/nm.out" "mac-address=${mac1^^}"
has "$T/nm.out" "address1=$ip1/24"
has "$T/nm.out" "never-default=true"
cat_guest nm /etc/resolv.conf
rc=$got
has "$rc" "nameserver 10.81.0.53"
grep -q 192.168.99.99 "$rc" && fail "the build host's name server is still in the RHEL guest's resolv.conf"
ok

pass
