#!/bin/bash
# make test-xen: xenprov deploys three guests and a real Xen 4.17 (inside QEMU, see
# lab.sh) boots them with `xl create`:
#   xp-kernel  PV, kernel=/ramdisk= from dom0's Debian kernel, root=/dev/xvda1, storage file
#   xp-pygrub  PV, bootloader="pygrub" reading the golden image's /boot/grub/grub.cfg
#   xp-qcow2   PV, kernel=, storage qcow2 (an overlay over the golden image), from a
#              captured image: the busybox tree captured as xp-bb@1 (`image capture` of
#              a directory), deployed, then a marker file added, captured as xp-bb@2 and
#              the stopped guest updated offline (`image update --to xp-bb@2`): it must
#              boot, print the new version's marker and keep its hostname, address and
#              machine-id
# Each guest's /sbin/init (busybox) prints its hostname, IP and machine-id on hvc0, writes
# a file to its disk and powers off; they must equal what xenprov recorded and wrote.
# Then three Debian 12 guests with systemd, from golden images that xenprov builds with
# `image build --dist debian:bookworm` (mmdebstrap, cached on this machine: a warm run
# does not run mmdebstrap), each deployed by `xenprov deploy` with a static address and
# the profile's SSH key:
#   xp-deb-pygrub  bootloader="pygrub" reading the grub.cfg xenprov wrote, ifupdown, file,
#                  a data disk (ext4, mounted at /srv by fstab) and a second NIC on xenbr1
#   xp-deb-pvgrub  PV GRUB (grub-xen-host) as kernel=, systemd-networkd only, qcow2
#   xp-deb-pvh     type="pvh", kernel= and ramdisk= copied from the image, ifupdown, qcow2
# For each, dom0 waits for its SSH, pings it, logs in as root with the profile's key and
# prints `systemctl is-system-running` (the failed units when degraded), the root
# filesystem UUID, /etc/machine-id, the host name, the addresses and the first-boot
# command's journal lines; they must equal what the inventory says and the UUIDs must
# differ. xp-pxe and xp-deb-local boot through xenprov-pxeboot (pxe-setup.sh). xp-deb-pvgrub is started by `xenprov domain start` (xenprov runs in dom0, its
# libraries copied along), must be seen running by `domain show`, and is stopped by
# `xenprov domain shutdown --wait`, then seen stopped. xp-inst and xp-instx are made in
# dom0 by `xenprov install --server` (install-setup.sh): xp-inst from xp-deb-pygrub's
# Debian golden image served by xenprov serve there (with the API token), checked over
# SSH as the Debian guests are; xp-instx by a test installer. XP_XEN_DEBIAN=0 leaves the
# Debian guests (and those that need dom0's xenprov serve) out. xp-lvm (lvm-setup.sh,
# lvm-dom0.sh; XP_XEN_LVM=0 leaves it out): the package installed in dom0 with apt, whose
# xenprov deploys busybox guests with storage lvm on a loop-device volume group there and
# boots them from phy: volumes.
# Exit 0: all passed. Exit 1: a guest check failed, or the lab itself could not be built
# or boot (twice): a skip is not a pass; XP_XEN_ALLOW_SKIP=1 turns that case into
# "SKIPPED: ..." and exit 0 (for a machine known to have no working QEMU). Usage: run-test.sh [XENPROV]
#        run-test.sh --check SERIAL_LOG    only the checks, on the last run's records
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/lvm-setup.sh" # storage lvm in dom0: the placeholder guest xp-lvm
GUESTS="xp-kernel xp-pygrub xp-qcow2"
DEB_GUESTS=""
[ "${XP_XEN_DEBIAN:-1}" = 0 ] || DEB_GUESTS="xp-deb-pygrub xp-deb-pvgrub xp-deb-pvh xp-deb-local"
# booted by xenprov-pxeboot from xenprov serve in dom0 (pxe-setup.sh): xp-pxe over the
# network, and xp-deb-local (a Debian guest above) by LOCALBOOT
PXE_GUESTS=""
[ -z "$DEB_GUESTS" ] || PXE_GUESTS="xp-pxe"
P_MAC=00:16:3e:50:00:01 P_IP=192.168.222.60
# made in dom0 by `xenprov install --server` from xenprov serve there (install-setup.sh):
# xp-inst from the served Debian golden image (xp-deb-pygrub's), xp-instx by a test
# installer, then its disk
INST_GUESTS=""
[ -z "$DEB_GUESTS" ] || INST_GUESTS="xp-inst xp-instx"
# the Debian guest that xenprov itself starts and stops in dom0 (issue 12's lifecycle)
LIFE_GUEST=""
case " $DEB_GUESTS " in *" xp-deb-pvgrub "*) LIFE_GUEST=xp-deb-pvgrub ;; esac
RUN=$LAB/run
P=$RUN/payload # bind-mounted at /payload while xenprov runs, as dom0 will see it

# ---- in a private mount namespace: /payload is $P, xenprov writes configs and disks there
if [ "${1:-}" = --deploy ]; then
	set -e
	X=$2
	mkdir -p /payload && mount --bind "$P" /payload
	S="--state-dir /payload/state"
	common=(--disk-size 64M --memory 128 --vcpus 1 --fs ext4 --label msdos --swap 0
		--pool /payload/disks --bridge xenbr0 --network static --ip-pool 192.168.222.0/24
		--gateway 192.168.222.1 --config on_reboot=destroy --config on_crash=destroy)
	kern=(--boot kernel --kernel /payload/vmlinuz --ramdisk /payload/initrd-guest.gz
		--root /dev/xvda1 --extra console=hvc0)
	$X profile add xp-kernel $S --image "$RUN/busybox-root.tar.gz" --storage file "${common[@]}" "${kern[@]}"
	$X image capture "$RUN/bb-v1" --name xp-bb $S -q
	$X profile add xp-qcow2 $S --image xp-bb@1 --storage qcow2 "${common[@]}" "${kern[@]}"
	$X profile add xp-pygrub $S --image "$RUN/pygrub-root.tar.gz" --storage file "${common[@]}" --boot pygrub
	for g in $GUESTS; do
		echo "$g" | $X deploy $S --profile "$g" --names-from - --config-dir /payload -q -j 1
		$X domain show $S --json "$g" >"$RUN/$g.json"
		disk=$(sed -n 's/.*"disk":"\([^"]*\)".*/\1/p' "$RUN/$g.json")
		$X image cat "$disk" /etc/machine-id >"$RUN/$g.machine-id"
		$X image cat "$disk" /etc/hostname >"$RUN/$g.hostname"
		echo "--- /payload/$g.cfg"; cat "/payload/$g.cfg"
	done
	# xp-qcow2 (stopped: never started yet; no toolstack here, so --offline) brought to
	# the captured image's next version; its identity above was read before
	$X image capture "$RUN/bb-v2" --name xp-bb $S -q
	$X image diff $S xp-bb@1 xp-bb@2
	$X image update $S xp-qcow2 --to xp-bb@2 --offline
	$X domain list $S
	$X domain show $S --json xp-qcow2 >"$RUN/xp-qcow2.json"
	disk=$(sed -n 's/.*"disk":"\([^"]*\)".*/\1/p' "$RUN/xp-qcow2.json")
	$X image cat "$disk" /etc/xp-image-marker >"$RUN/xp-qcow2.marker"
	# the Debian guests: one golden image with ifupdown, one with systemd-networkd only
	key=""
	[ -z "$DEB_GUESTS" ] || key=$(cat "$RUN/ssh/id_ed25519.pub")
	deb=(--disk-size 2G --memory 384 --vcpus 1 --fs ext4 --label msdos --swap 0
		--pool /payload/disks --bridge xenbr0 --network static --ip-pool 192.168.222.0/24
		--gateway 192.168.222.1 --dns 192.168.222.1 --domain xp.test --ssh-key "$key"
		--firstboot-command 'echo "XP-FIRSTBOOT $(hostname) one"'
		--firstboot-command 'echo "XP-FIRSTBOOT $(hostname) two"'
		--config on_reboot=destroy --config on_crash=destroy)
	base=systemd-sysv,udev,openssh-server,linux-image-amd64,iproute2
	for g in $DEB_GUESTS; do
		case $g in
		xp-deb-pygrub) how=(--include "$base,ifupdown" --storage file --boot pygrub
			--data-disk 64M,fs=ext4,mount=/srv
			--nic bridge=xenbr1,network=static,ip-pool=192.168.223.0/24) ;;
		xp-deb-pvgrub) how=(--include "$base" --storage qcow2 --boot pvgrub) ;;
		xp-deb-local) how=(--include "$base,ifupdown" --storage file --boot pygrub) ;;
		xp-deb-pvh) how=(--include "$base,ifupdown" --storage qcow2 --boot kernel
			--kernel from-image --type pvh) ;;
		esac
		$X profile add "$g" $S --image debian:bookworm "${deb[@]}" "${how[@]}"
		echo "$g" | $X deploy $S --profile "$g" --names-from - --config-dir /payload -j 1 -q
		$X domain show $S --json "$g" >"$RUN/$g.json"
		disk=$(sed -n 's/.*"disk":"\([^"]*\)".*/\1/p' "$RUN/$g.json")
		$X image cat "$disk" /etc/machine-id >"$RUN/$g.machine-id"
		$X image info --json "$disk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitions"][0]["uuid"])' >"$RUN/$g.uuid"
		ip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip"])' "$RUN/$g.json")
		# the guest with devices: its second NIC's address, its data disk's UUID
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(" ".join(n["ip"] for n in d.get("nics", []) if n.get("ip")))' "$RUN/$g.json" >"$RUN/$g.ip2"
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(" ".join(v["uuid"] for v in d.get("disks", []) if v.get("mount") == "/srv"))' "$RUN/$g.json" >"$RUN/$g.srv"
		sed -e "s/@IP@/$ip/" -e "s/@IP2@/$(cat "$RUN/$g.ip2")/" "$HERE/deb-check.sh" >"/payload/$g.check"
		echo "--- /payload/$g.cfg"; cat "/payload/$g.cfg"
	done
	[ -z "$DEB_GUESTS" ] || cp -r "$RUN/ssh" /payload/ssh
	# xenprov itself in dom0 (the same Debian release: its libraries but glibc's are
	# copied along) for the lifecycle guest: started by `xenprov domain start`, seen
	# running by `domain list`, stopped by `domain shutdown --wait`, then seen stopped
	if [ -n "$DEB_GUESTS" ]; then
		mkdir -p /payload/xp/lib
		cp "$X" /payload/xp/xenprov
		# and libcurl with its own, which xenprov loads (dlopen) for an http:// boot
		curl_so=$(ldconfig -p | awk '$1 == "libcurl.so.4" && /x86-64/ { print $NF; exit }')
		{ ldd "$X"; [ -z "$curl_so" ] || { echo "libcurl.so.4 => $curl_so (0)"; ldd "$curl_so"; }; } |
			awk '$3 ~ /^\// { print $3 }' | sort -u |
			grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
			xargs -r cp -L -t /payload/xp/lib
		. "$HERE/pxe-setup.sh"
		I=$RUN/initrd R=$RUN/r
		. "$HERE/install-setup.sh"
	fi
	if [ -n "$LIFE_GUEST" ]; then
		cat >"/payload/$LIFE_GUEST.start" <<'LIFE'
xp() { LD_LIBRARY_PATH=/payload/xp/lib /payload/xp/xenprov "$@" --state-dir /payload/state; }
power() { xp domain show "$1" | sed -n 's/^power: *\([a-z]*\).*/\1/p'; }
xp domain start "$1" || exit 1
echo "XP-LIFE $1 start-ok"
echo "XP-LIFE $1 power=$(power "$1")"
xp domain list | sed "s/^/XP-LIFE $1 list /"
LIFE
		cat >"/payload/$LIFE_GUEST.stop" <<'LIFE'
xp() { LD_LIBRARY_PATH=/payload/xp/lib /payload/xp/xenprov "$@" --state-dir /payload/state; }
power() { xp domain show "$1" | sed -n 's/^power: *\([a-z]*\).*/\1/p'; }
xp domain shutdown --wait --timeout 180 "$1" && echo "XP-LIFE $1 shutdown-ok"
echo "XP-LIFE $1 after=$(power "$1")"
xp domain list | sed "s/^/XP-LIFE $1 list /"
LIFE
	fi
	$X config check /payload/*.cfg
	exit 0
fi

# ---- checks: each guest's console (in serial log $1) against xenprov's records
check_guests() {
	local LOG=$1 fail=0 summary="" g con ip name mid host why net
	for g in $GUESTS; do
		con=$RUN/$g.console
		tr -d '\r' <"$LOG" | sed -n "/^XP-CONSOLE-BEGIN $g /,/^XP-CONSOLE-END $g\$/p" >"$con"
		echo "----- $g: xl create and console (XP lines)"
		tr -d '\r' <"$LOG" | grep -a -E "^XP-CREATE-(BEGIN|END) $g( |\$)|XP-GUEST-TIMEOUT $g"
		grep -a '^XP-GUEST' "$con" || tail -n 20 "$con"
		ip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip"])' "$RUN/$g.json")
		name=$(sed -n 's/.*"name":"\([^"]*\)".*/\1/p' "$RUN/$g.json")
		mid=$(tr -d '\n' <"$RUN/$g.machine-id")
		host=$(tr -d '\n' <"$RUN/$g.hostname")
		why=""
		[ -n "$name" ] && [ -n "$ip" ] && [ -n "$mid" ] || why="$why missing-records"
		[ "$host" = "$name" ] || why="$why xenprov-wrote-hostname=$host"
		grep -aqx "XP-GUEST hostname=$name ip=$ip machine-id=$mid" "$con" ||
			why="$why identity(want hostname=$name ip=$ip machine-id=$mid)"
		grep -aqx "XP-GUEST wrote-ok" "$con" || why="$why no-wrote-ok"
		if [ "$g" = xp-qcow2 ]; then # updated offline to xp-bb@2 before its boot
			[ "$(cat "$RUN/xp-qcow2.marker" 2>/dev/null)" = "$(cat "$RUN/image-mark")" ] ||
				why="$why marker-not-written"
			grep -aqx "XP-GUEST marker=$(cat "$RUN/image-mark")" "$con" ||
				why="$why no-new-version-marker"
			grep -q '"image_version":"xp-bb@2"' "$RUN/xp-qcow2.json" || why="$why not-recorded-xp-bb@2"
		fi
		grep -aqx "XP-GUEST net-ok" "$con" && net=" net-ok" || net=""
		if [ -z "$why" ]; then
			summary="$summary  PASS $g ($name $ip $mid, wrote-ok$net$([ "$g" = xp-qcow2 ] && echo ", updated offline xp-bb@1 -> @2: marker $(cat "$RUN/image-mark")"))\n"
		else
			summary="$summary  FAIL $g:$why\n"
			fail=1
		fi
	done
	local uuids="" lines uuid n
	for g in $DEB_GUESTS; do
		echo "----- $g: xl create, dom0's checks over SSH"
		lines=$RUN/$g.lines
		tr -d '\r' <"$LOG" | grep -a -E "^XP-(CREATE-(BEGIN|END)|CHECK-(BEGIN|END)|GUEST-TIMEOUT) $g( |\$)|^XP-(GUEST|LIFE|PXE) $g " >"$lines"
		cat "$lines"
		ip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip"])' "$RUN/$g.json")
		name=$(sed -n 's/.*"name":"\([^"]*\)".*/\1/p' "$RUN/$g.json")
		mid=$(tr -d '\n' <"$RUN/$g.machine-id")
		uuid=$(tr -d '\n' <"$RUN/$g.uuid")
		why=""
		[ -n "$name" ] && [ -n "$ip" ] && [ -n "$mid" ] && [ -n "$uuid" ] || why="$why missing-records"
		grep -qx "XP-CHECK-END $g rc=0.*" "$lines" || why="$why check-script-failed"
		for want in ping-ok login-ok state=running "uuid=$uuid" "machine-id=$mid" "hostname=$name" \
			"journal XP-FIRSTBOOT $name one" "journal XP-FIRSTBOOT $name two"; do
			grep -qxF "XP-GUEST $g $want" "$lines" || why="$why missing($want)"
		done
		grep -qE "^XP-GUEST $g addr [^ ]+ $ip/24\$" "$lines" || why="$why addr(want $ip/24)"
		# the guest with a data disk and a second NIC: both addresses up and answering,
		# the data disk mounted at /srv
		ip2=$(cat "$RUN/$g.ip2" 2>/dev/null)
		if [ -n "$ip2" ]; then
			grep -qE "^XP-GUEST $g addr [^ ]+ $ip2/24\$" "$lines" || why="$why addr2(want $ip2/24)"
			grep -qxF "XP-GUEST $g ping2-ok" "$lines" || why="$why missing(ping2-ok)"
			grep -qxF "XP-GUEST $g srv=$(cat "$RUN/$g.srv")" "$lines" || why="$why srv-not-mounted"
		fi
		if [ "$g" = xp-deb-local ]; then
			for want in same-kernel same-ramdisk same-args; do
				grep -qxF "XP-PXE $g $want" "$lines" || why="$why pygrub-differs($want)"
			done
		fi
		if [ "$g" = "$LIFE_GUEST" ]; then
			for want in start-ok power=running shutdown-ok after=stopped; do
				grep -qxF "XP-LIFE $g $want" "$lines" || why="$why missing-life($want)"
			done
		fi
		n=$(grep -n "journal XP-FIRSTBOOT" "$lines" | sed -n 's/.*FIRSTBOOT [^ ]* //p' | tr '\n' ' ')
		[ "$n" = "one two " ] || why="$why firstboot-order($n)"
		case " $uuids " in *" $uuid "*) why="$why uuid-not-unique" ;; esac
		uuids="$uuids $uuid"
		if [ -z "$why" ]; then
			summary="$summary  PASS $g ($name $ip, running, ssh, ping, uuid $uuid$([ "$g" = "$LIFE_GUEST" ] && echo ", xenprov domain start/list/shutdown"))\n"
		else
			summary="$summary  FAIL $g:$why\n"
			fail=1
		fi
	done
	local mark
	for g in $PXE_GUESTS; do
		echo "----- $g: booted by xenprov-pxeboot over the network"
		con=$RUN/$g.console
		tr -d '\r' <"$LOG" | sed -n "/^XP-CONSOLE-BEGIN $g /,/^XP-CONSOLE-END $g\$/p" >"$con"
		tr -d '\r' <"$LOG" | grep -a -E "^XP-(CREATE-(BEGIN|END)|SERVE-DOWN) $g( |\$)|XP-GUEST-TIMEOUT $g|^xenprov-pxeboot: "
		grep -a '^XP-GUEST' "$con" || tail -n 20 "$con"
		mark=$(cat "$RUN/pxe-mark")
		if grep -aqE "^XP-GUEST pxe-marker=$mark cmdline=.*xpmark=$mark" "$con"; then
			summary="$summary  PASS $g (kernel and initrd by DHCP + TFTP from xenprov serve, marker $mark)\n"
		else
			summary="$summary  FAIL $g: no marker $mark with its kernel options on the console\n"
			fail=1
		fi
	done
	local rec mid2
	for g in $INST_GUESTS; do
		echo "----- $g: made in dom0 by xenprov install --server"
		con=$RUN/$g.console
		tr -d '\r' <"$LOG" | sed -n "/^XP-CONSOLE-BEGIN $g /,/^XP-CONSOLE-END $g\$/p" >"$con"
		# the lines about it, in a file: grep -q at the end of a pipe would end it early
		# (pipefail then fails the test on tr's SIGPIPE)
		lines=$RUN/$g.lines
		tr -d '\r' <"$LOG" | grep -a -E "^XP-(CREATE-(BEGIN|END)|CHECK-(BEGIN|END)|INST) $g( |\$)|^XP-GUEST $g |XP-GUEST-TIMEOUT $g" >"$lines"
		cat "$lines"
		grep -a -E '^XP-(GUEST|INSTALLER|INSTALLED)' "$con" || tail -n 20 "$con"
		why=""
		grep -aqx "XP-CREATE-END $g rc=0" "$lines" || why="$why install-failed"
		if [ "$g" = xp-inst ]; then
			# the Debian golden image of xp-deb-pygrub, fetched whole (2 GiB) by
			# dom0 from the server with the token; the guest checked over SSH as
			# the other Debian guests are (deb-check.sh)
			rec=$(sed -n "s/^XP-INST $g record //p" "$lines" | head -n 1)
			ip=$(sed -n 's/^ip=\([^ ]*\) .*/\1/p' <<<"$rec")
			mid2=$(sed -n 's/.* machine-id=\([^ ]*\) .*/\1/p' <<<"$rec")
			uuid=$(sed -n 's/.* uuid=\([^ ]*\)$/\1/p' <<<"$rec")
			[ -n "$ip" ] && [ -n "$mid2" ] && [ -n "$uuid" ] || why="$why no-record"
			grep -aqE "^XP-INST $g out $g: image [0-9a-f]{12}: fetched 2048.0 MiB" "$lines" ||
				why="$why not-the-2GiB-image-fetched"
			grep -qx "XP-CHECK-END $g rc=0.*" "$lines" || why="$why check-script-failed"
			for want in ping-ok login-ok state=running "machine-id=$mid2" "hostname=$g" \
				"uuid=$uuid" os=debian-bookworm; do
				grep -qxF "XP-GUEST $g $want" "$lines" || why="$why missing($want)"
			done
			grep -qE "^XP-GUEST $g addr [^ ]+ $ip/24\$" "$lines" || why="$why addr(want $ip/24)"
			[ "$uuid" != "$(cat "$RUN/xp-deb-pygrub.uuid" 2>/dev/null)" ] ||
				why="$why uuid-same-as-xp-deb-pygrub"
			grep -aq "^XP-INST $g out $g: registered on " "$lines" || why="$why not-registered"
			grep -aqE "^XP-INST $g server $g +[0-9a-f:]+ +$ip " "$lines" ||
				why="$why not-on-server"
		else
			grep -aqx "XP-INSTALLED # $g: rendered by xenprov from template debian-preseed" "$con" ||
				why="$why installed-system-lacks-the-preseed"
			grep -aq "^XP-INSTALLED-BOOT root=" "$con" || why="$why not-booted-from-disk"
			grep -aqx "XP-INST $g cfg bootloader = \"pygrub\"" "$lines" ||
				why="$why not-switched-to-pygrub"
			grep -aqx "XP-INST $g cfg on_reboot = \"restart\"" "$lines" ||
				why="$why profile-on_reboot-not-back"
			grep -aq "^XP-INST $g cfg kernel " "$lines" && why="$why installer-kernel-left"
		fi
		if [ -z "$why" ]; then
			summary="$summary  PASS $g ($([ "$g" = xp-inst ] && echo "Debian golden image from xenprov serve with the token, $ip, ssh, running, uuid $uuid, registered" || echo "test installer fetched its preseed, disk boot by pygrub"))\n"
		else
			summary="$summary  FAIL $g:$why\n"
			fail=1
		fi
	done
	lvm_check "$LOG" || fail=1
	local total=$(($(echo $GUESTS $DEB_GUESTS $PXE_GUESTS $INST_GUESTS | wc -w) + 3 * LVM_ON))
	echo "===== test-xen summary ($(($(date +%s) - t_start))s) ====="
	printf "$summary"
	[ $fail -eq 0 ] && echo "test-xen: PASS ($total guests)" || echo "test-xen: FAIL (serial log $LOG)"
	return $fail
}

t_start=$(date +%s)
ts() { echo "[$(($(date +%s) - t_start))s] $*"; }
mkdir -p "$LAB" && exec 9>"$LAB/lock"
flock -w 1200 9 || { echo "test-xen: FAIL: another test-xen holds $LAB/lock"; exit 1; }
if [ "${1:-}" = --check ]; then
	check_guests "$2"
	exit
fi
X=$(realpath "${1:-build/release/xenprov}")
[ -x "$X" ] || { echo "test-xen: no xenprov at $X"; exit 1; }

ts "building the lab (cached in $LAB)"
# the lab itself failed: not a pass, unless the caller allows a skip
lab_failed() {
	if [ "${XP_XEN_ALLOW_SKIP:-0}" = 1 ]; then
		echo "SKIPPED: $*"
		exit 0
	fi
	echo "test-xen: FAIL: $* (XP_XEN_ALLOW_SKIP=1 makes this a skip)"
	exit 1
}
lab_build || lab_failed "the Xen lab could not be built (debootstrap/apt failed)"
ts "storage lvm: the package, the dom0 root's lvm2"
lvm_prepare || { echo "test-xen: FAIL: the package or the dom0 root for storage lvm"; exit 1; }
KVER=$(ls "$LAB/rootfs/lib/modules" | sort -V | tail -1)

# ---- the guests' pieces: an initramfs that mounts root= and switches to it, two root tarballs
ts "making guest initramfs and root tarballs"
rm -rf "$RUN" && mkdir -p "$RUN/initrd" "$P/disks" "$RUN/r/bin"
I=$RUN/initrd
mkdir -p $I/bin $I/dev $I/proc $I/sys $I/newroot $I/lib/modules
cp /bin/busybox $I/bin/
for m in xen-blkfront ext4 xen-netfront; do
	modprobe -d "$LAB/rootfs" -S "$KVER" --show-depends $m | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r f; do cp "$f" $I/lib/modules/ && basename "$f" >>$I/lib/modules/order; done
cat >$I/init <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod /lib/modules/$m 2>/dev/null; done </lib/modules/order
root=$(sed -n 's/.*root=\([^ ]*\).*/\1/p' /proc/cmdline)
for i in $(seq 100); do [ -b "$root" ] && break; sleep 0.1; done
if ! mount -t ext4 -o rw "$root" /newroot; then
	echo "XP-GUEST initramfs: cannot mount $root"; cat /proc/partitions; poweroff -f
fi
mount --move /dev /newroot/dev; umount /proc /sys
exec switch_root /newroot /sbin/init
EOF
chmod +x $I/init
(cd $I && find . | cpio -H newc -o --quiet | gzip -1) >"$P/initrd-guest.gz"
# the initrd xp-pxe fetches over the network: it prints the marker it was built with
# and the command line it was given, and powers off
head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RUN/pxe-mark"
cp -a "$I" "$RUN/initrd-pxe"
cat >"$RUN/initrd-pxe/init" <<EOF2
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "XP-GUEST pxe-marker=$(cat "$RUN/pxe-mark") cmdline=\$(cat /proc/cmdline)"
poweroff -f
EOF2
chmod +x "$RUN/initrd-pxe/init"
(cd "$RUN/initrd-pxe" && find . | cpio -H newc -o --quiet | gzip -1) >"$P/initrd-pxe.gz"
cp "$LAB/vmlinuz" "$P/vmlinuz"

R=$RUN/r
mkdir -p $R/etc/network $R/sbin $R/proc $R/sys $R/dev $R/tmp $R/root
cp /bin/busybox $R/bin/
for a in $(busybox --list); do [ -e $R/bin/$a ] || ln -s busybox $R/bin/$a; done
echo localhost >$R/etc/hostname
printf '127.0.0.1 localhost\n' >$R/etc/hosts
printf 'auto lo\niface lo inet loopback\n' >$R/etc/network/interfaces
: >$R/etc/machine-id
cat >$R/sbin/init <<'EOF'
#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
echo 1 >/proc/sys/kernel/printk # no kernel messages inside the lines checked
exec >/dev/hvc0 2>&1
ip=$(sed -n 's/^[[:space:]]*address[[:space:]]*\([0-9.]*\).*/\1/p' /etc/network/interfaces | head -n 1)
echo "XP-GUEST hostname=$(cat /etc/hostname) ip=$ip machine-id=$(cat /etc/machine-id)"
echo "XP-GUEST root=$(awk '$2 == "/" { print $1 }' /proc/mounts | tail -n 1) kernel=$(uname -r)"
[ -f /etc/xp-image-marker ] && echo "XP-GUEST marker=$(cat /etc/xp-image-marker)"
if [ -n "$ip" ] && ip link set eth0 up && ip addr add "$ip/24" dev eth0; then
	ping -c 1 -W 5 192.168.222.1 >/dev/null && echo "XP-GUEST net-ok" || echo "XP-GUEST net-failed"
fi
echo "written by $(cat /etc/hostname)" >/xp-written.txt && sync &&
	grep -q "written by" /xp-written.txt && echo "XP-GUEST wrote-ok"
sync
poweroff -f
EOF
chmod +x $R/sbin/init
tar -C $R --owner=0 --group=0 -czf "$RUN/busybox-root.tar.gz" .
# the same tree as a captured image's two versions (xp-qcow2): the second adds a marker
cp -a $R "$RUN/bb-v1" && cp -a $R "$RUN/bb-v2"
head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/image-v2-/' >"$RUN/image-mark"
cp "$RUN/image-mark" "$RUN/bb-v2/etc/xp-image-marker"
mkdir -p $R/boot/grub
cp "$LAB/vmlinuz" $R/boot/vmlinuz
cp "$P/initrd-guest.gz" $R/boot/initrd.img
cat >$R/boot/grub/grub.cfg <<'EOF'
set default=0
set timeout=0
menuentry 'xenprov test guest' {
	linux /boot/vmlinuz root=/dev/xvda1 console=hvc0
	initrd /boot/initrd.img
}
EOF
tar -C $R --owner=0 --group=0 -czf "$RUN/pygrub-root.tar.gz" .

if [ -n "$DEB_GUESTS" ]; then
	# dom0's key for the guests' root; a systemd guest under TCG takes minutes
	mkdir -p "$RUN/ssh" && ssh-keygen -q -t ed25519 -N '' -C xenprov-test-xen -f "$RUN/ssh/id_ed25519"
	echo 900 >"$P/guest-timeout"
fi

ts "deploying with $X"
unshare -m --propagation private "$0" --deploy "$X" >"$RUN/deploy.log" 2>&1 || {
	cat "$RUN/deploy.log"; echo "test-xen: FAIL: xenprov could not deploy the guests"; exit 1; }
cat "$RUN/deploy.log"
lvm_payload
truncate -s 8G "$RUN/payload.img"
mke2fs -q -F -t ext4 -d "$P" "$RUN/payload.img" || { echo "test-xen: cannot pack the payload"; exit 1; }

# ---- boot; a lab that does not come up at all is retried once, then skipped
SER=$LAB/serial-$(date +%Y%m%d-%H%M%S)
for attempt in 1 2; do
	ts "booting Xen + dom0 (attempt $attempt), serial log $SER.$attempt"
	lab_boot "$RUN/payload.img" $((720 + 300 * LVM_ON + $(echo $DEB_GUESTS $INST_GUESTS | wc -w) * 600)) "$SER.$attempt"
	brc=$?
	[ $brc -eq 0 ] && break
	echo "lab: Xen/dom0 did not come up (no XP-DOM0-UP); last lines:"
	tail -n 5 "$SER.$attempt" | tr -d '\r'
done
if [ $brc -ne 0 ]; then
	lab_failed "the Xen lab did not boot twice (no dom0 marker), see $SER.*"
fi
LOG=$SER.$attempt
ls -t "$LAB"/serial-* | tail -n +7 | xargs -r rm -f

check_guests "$LOG"
exit
