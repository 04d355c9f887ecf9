#!/bin/bash
# Run in the lab's dom0 as /payload/xp-lvm.start (dom0-init.sh runs NAME.start for the
# placeholder config xp-lvm.cfg; lvm-setup.sh puts both there): storage lvm on real
# device-mapper, with the INSTALLED package's xenprov.
#  1. apt-get install ./xenprov_*.deb (offline: its dependencies, lvm2 and
#     thin-provisioning-tools are in the dom0 image already, lvm-setup.sh's lvm_prepare)
#  2. a volume group xpvg on a loop device (a sparse file on dom0's disk, the run's
#     throw-away overlay), a thin pool, a thin golden volume holding the busybox image
#  3. deploy xp-lvm-thick (--storage lvm from the tarball: a plain volume the golden
#     image is copied into) and xp-lvm-thin1/2 (--image /dev/xpvg/golden: thin
#     snapshots); `xl create` of their configs (backendtype=phy disks);
#     their consoles must show the recorded hostname, address and machine-id
#  4. `domain delete` of the thick guest and `deploy --rollback` of the thin ones
#     (one of them deactivated first: no device node) remove their volumes
#  5. a deploy of four thick guests killed (kill -9) once the first volume appears; the
#     same deploy again (the resume) leaves no volume that is not a recorded guest's;
#     its rollback; then `lvs` shows only the pool and the golden volume, which this
#     script removes with the volume group
# Each result is one line "XP-LVM ok WHAT ..." or "XP-LVM fail WHAT ...", checked by
# lvm-setup.sh's lvm_check on the host; other "XP-LVM" lines tell what happened.
set -u
L=/payload/lvm
VG=xpvg
C=/var/tmp/xp-lvm-cfg
ST=/var/tmp/xp-lvm-state
t0=$(date +%s)
# the lines go to dom0-init.sh, which prints them when this script ends; what it does
# meanwhile goes to the console too, unmarked
say() {
	echo "XP-LVM $*"
	echo "xp-lvm [$(($(date +%s) - t0))s]: $*" >/dev/console 2>/dev/null
}
ok() { say "ok $*"; }
fail() { say "fail $*"; }
lines() { sed "s/^/XP-LVM $1 /"; } # another program's output, each line marked
vols() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | tr -d ' ' | sort | tr '\n' ' '; }
has_lv() { lvs "$VG/$1" >/dev/null 2>&1; }

for m in dm-mod dm-thin-pool dm-snapshot; do modprobe "$m" || fail "modprobe $m"; done
if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"$L"/xenprov_*.deb >/tmp/xp-lvm-apt.log 2>&1 && [ -x /usr/bin/xenprov ]; then
	ok "install $(dpkg-query -W -f '${Version}' xenprov) $(/usr/bin/xenprov --version | head -n 1)"
else
	tail -n 20 /tmp/xp-lvm-apt.log | lines apt
	fail install
	exit 0
fi
X=/usr/bin/xenprov
xp() { "$X" "$@" --state-dir "$ST"; }

# ---- the volume group, its thin pool and the thin golden volume
mkdir -p "$C" "$ST"
: >/var/log/xen/console/guest-xp-lvm.log # dom0-init.sh prints the placeholder's console
run() { # a setup step: its output shown when it fails
	"$@" >/tmp/xp-lvm-step.log 2>&1 && return 0
	lines "step" </tmp/xp-lvm-step.log
	fail "setup: $*"
	exit 0
}
# this dom0 runs no udev (dom0-init.sh is its init): lvm2 then makes the device nodes
# and /dev/VG/LV links itself and scans /dev, as lvm.conf(5) says for a system without it
cat >/etc/lvm/lvmlocal.conf <<'EOF'
activation {
	udev_sync = 0
	udev_rules = 0
}
devices {
	obtain_device_list_from_udev = 0
}
EOF
truncate -s 1G /var/tmp/xp-lvm.pv
loop=$(losetup -f --show /var/tmp/xp-lvm.pv)
run pvcreate -q "$loop"
run vgcreate -q "$VG" "$loop"
run lvcreate -q -y --type thin-pool -L 512M -n pool "$VG"
run lvcreate -q -y -T "$VG/pool" -V 64M -n golden
run "$X" image build --from "$L/busybox-root.tar.gz" -o /var/tmp/golden.img --size 64M \
	--fs ext4 --label msdos
run dd if=/var/tmp/golden.img of="/dev/$VG/golden" bs=1M conv=sparse,fsync status=none
ok "vg $VG on $loop: $(vols)"
lvs -a "$VG" 2>&1 | lines lvs

common=(--disk-size 64M --memory 128 --vcpus 1 --fs ext4 --label msdos --swap 0
	--storage lvm --pool "$VG" --bridge xenbr0 --network static --ip-pool 192.168.222.0/24
	--gateway 192.168.222.1 --config on_reboot=destroy --config on_crash=destroy
	--boot kernel --kernel /payload/vmlinuz --ramdisk /payload/initrd-guest.gz
	--root /dev/xvda1 --extra console=hvc0)
xp profile add lvm-thick --image "$L/busybox-root.tar.gz" "${common[@]}" 2>&1 | lines out
xp profile add lvm-thin --image "/dev/$VG/golden" "${common[@]}" 2>&1 | lines out

# ---- deploy: a thick volume, two thin snapshots
deploy() { # PROFILE NAME...: one deploy
	local p=$1
	shift
	printf '%s\n' "$@" | xp deploy --profile "$p" --names-from - --config-dir "$C" -q -j 1 2>&1
}
GUESTS="xp-lvm-thick xp-lvm-thin1 xp-lvm-thin2"
if deploy lvm-thick xp-lvm-thick | lines out && deploy lvm-thin xp-lvm-thin1 xp-lvm-thin2 | lines out; then :; fi
for g in $GUESTS; do
	js=$(xp domain show --json "$g" 2>&1)
	ip=$(printf '%s' "$js" | sed -n 's/.*"ip":"\([^"]*\)".*/\1/p')
	disk=$(printf '%s' "$js" | sed -n 's/.*"disk":"\([^"]*\)".*/\1/p')
	if [ -z "$disk" ] || [ ! -b "$disk" ]; then
		printf '%s\n' "$js" | lines out
		fail "deploy $g: no volume ($disk)"
		continue
	fi
	mid=$("$X" image cat "$disk" /etc/machine-id)
	seg=$(lvs --noheadings -o segtype "${disk#/dev/}" | tr -d ' ')
	size=$(blockdev --getsize64 "$disk")
	want=linear
	case $g in *thin*) want=thin ;; esac
	[ "$seg" = "$want" ] && ok "deploy $g $disk segtype=$seg size=$size" ||
		fail "deploy $g: segtype $seg, want $want"
	d=$(grep '^disk' "$C/$g.cfg")
	case $d in *backendtype=phy*"target=$disk"*) ok "config $g $d" ;;
	*) lines cfg <"$C/$g.cfg"; fail "config $g: want backendtype=phy and target=$disk" ;; esac
	echo "$ip $mid" >"/var/tmp/$g.rec"
done
lvs -a "$VG" 2>&1 | lines lvs

# ---- boot them all at once, then their consoles against the records
for g in $GUESTS; do
	[ -f "$C/$g.cfg" ] || continue
	if ! xl create "$C/$g.cfg" >"/tmp/xl-$g.log" 2>&1; then
		# libxl's fixed hotplug timeouts on a loaded TCG host: retried once (dom0-init.sh)
		xl destroy "$g" >/dev/null 2>&1
		sleep 3
		xl create "$C/$g.cfg" >"/tmp/xl-$g.log" 2>&1 || { lines xl <"/tmp/xl-$g.log"; fail "xl create $g"; }
	fi
done
tb=$(date +%s)
while [ $(($(date +%s) - tb)) -lt 300 ]; do
	up=""
	for g in $GUESTS; do xl domid "$g" >/dev/null 2>&1 && up="$up $g"; done
	[ -z "$up" ] && break
	sleep 2
done
for g in $up; do fail "boot $g: still running after 300s"; xl destroy "$g"; done
say "guests ran $(($(date +%s) - tb))s"
for g in $GUESTS; do
	con=/var/log/xen/console/guest-$g.log
	tr -d '\r' <"$con" 2>/dev/null | grep -a '^XP-GUEST' | lines "console $g"
	read -r ip mid <"/var/tmp/$g.rec" 2>/dev/null || continue
	if tr -d '\r' <"$con" | grep -aqx "XP-GUEST hostname=$g ip=$ip machine-id=$mid" &&
		tr -d '\r' <"$con" | grep -aqx "XP-GUEST wrote-ok"; then
		ok "boot $g hostname=$g ip=$ip machine-id=$mid wrote-ok"
	else
		tr -d '\r' <"$con" 2>/dev/null | tail -n 15 | lines "console-tail $g"
		fail "boot $g: want hostname=$g ip=$ip machine-id=$mid and wrote-ok on its console"
	fi
done

# ---- domain delete, deploy --rollback: their volumes go
xp domain delete xp-lvm-thick >/tmp/xp-lvm-del.log 2>&1
rc=$?
lines out </tmp/xp-lvm-del.log
[ $rc = 0 ] && ! has_lv xp-lvm-thick && ok "delete xp-lvm-thick" ||
	fail "delete xp-lvm-thick: rc=$rc, volumes: $(vols)"
# one of them inactive, as after a reboot that did not activate it: no device node, but
# the volume is there and must go too
lvchange -q -an "$VG/xp-lvm-thin2" 2>&1 | lines out
[ -e "/dev/$VG/xp-lvm-thin2" ] && fail "lvchange -an: /dev/$VG/xp-lvm-thin2 still there"
xp deploy --rollback --yes >/tmp/xp-lvm-rb.log 2>&1
rc=$?
lines out </tmp/xp-lvm-rb.log
left=""
for g in xp-lvm-thin1 xp-lvm-thin2; do has_lv "$g" && left="$left $g"; done
[ $rc = 0 ] && [ -z "$left" ] && ok "rollback xp-lvm-thin1 xp-lvm-thin2" ||
	fail "rollback: rc=$rc, volumes left:$left"

# ---- a deploy killed half way, then resumed
K="xp-lvm-k1 xp-lvm-k2 xp-lvm-k3 xp-lvm-k4"
printf '%s\n' $K >/var/tmp/xp-lvm-k.names
"$X" deploy --state-dir "$ST" --profile lvm-thick --names-from /var/tmp/xp-lvm-k.names \
	--config-dir "$C" -q -j 1 >/tmp/xp-lvm-k.log 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null && [ ! -e "/dev/$VG/xp-lvm-k1" ]; do sleep 0.1; done
if kill -9 "$pid" 2>/dev/null; then
	wait "$pid" 2>/dev/null
	# an lvcreate it started runs to its end (it was not killed)
	while pgrep -x lvcreate >/dev/null; do sleep 0.2; done
	say "killed the deploy with volumes: $(vols)"
	xp domain list 2>&1 | lines killed
	if printf '%s\n' $K | xp deploy --profile lvm-thick --names-from - --config-dir "$C" -q -j 1 \
		>/tmp/xp-lvm-r.log 2>&1; then
		lines out </tmp/xp-lvm-r.log
		ok "resume"
	else
		lines out </tmp/xp-lvm-r.log
		fail "resume"
	fi
	# every volume but the pool and the golden one is a recorded, ready guest's disk
	orphans=""
	for v in $(vols); do
		case $v in pool | golden) continue ;; esac
		xp domain show "$v" 2>/dev/null | grep -q '^state: *ready' || orphans="$orphans $v"
	done
	missing=""
	for g in $K; do has_lv "$g" || missing="$missing $g"; done
	[ -z "$orphans$missing" ] && ok "no orphan after the resume: $(vols)" ||
		fail "after the resume: orphans:$orphans missing:$missing"
	xp deploy --rollback --yes >/tmp/xp-lvm-rb.log 2>&1 && ok "rollback of the resumed deploy" ||
		fail "rollback of the resumed deploy"
	lines out </tmp/xp-lvm-rb.log
else
	lines out </tmp/xp-lvm-k.log
	fail "kill: the deploy ended before its first volume appeared"
fi

# ---- nothing left but what this script made; then that goes too
v=$(vols)
[ "$v" = "golden pool " ] && ok "lvs-clean: $v" || fail "lvs: left: $v"
xp domain list 2>&1 | lines left
lvremove -q -f "$VG" >/dev/null && vgremove -q -f "$VG" >/dev/null && pvremove -q "$loop" >/dev/null
losetup -d "$loop"
n=$(lvs --noheadings 2>/dev/null | wc -l)
[ "$n" = 0 ] && ok "lvs-empty" || fail "lvs: $n volumes after vgremove"
say "done $(($(date +%s) - t0))s"
exit 0
