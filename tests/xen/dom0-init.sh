#!/bin/bash
# PID 1 of the lab's dom0 (init= on its command line): starts the Xen toolstack, runs
# `xl create` on each /payload/*.cfg in turn (the second virtio disk; or, when there is
# one, /payload/NAME.start, which starts the guest its own way: `xenprov domain start`), runs
# /payload/NAME.check while the guest runs when there is one (it checks the guest from
# dom0, e.g. over SSH, and shuts it down), waits for the guest to power off (at most
# /payload/guest-timeout seconds, default 240), prints its console log between
# XP-CONSOLE-BEGIN/END lines, and powers the machine off. Progress lines start with "XP-".
export PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb
mount -t proc proc /proc; mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1
for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback xen-netback loop bridge; do
	modprobe $m || echo "modprobe $m failed"
done
mkdir -p /var/log/xen/console /var/lib/xen /run/xen
/etc/init.d/xen start
ip link add name xenbr0 type bridge stp_state 0 forward_delay 0 && ip link set xenbr0 up
ip addr add 192.168.222.1/24 dev xenbr0
# a second network for the guest with two NICs
ip link add name xenbr1 type bridge stp_state 0 forward_delay 0 && ip link set xenbr1 up
ip addr add 192.168.223.254/24 dev xenbr1
if xl info >/dev/null; then echo "XP-DOM0-UP $(uname -r)"; else echo "XP-DOM0-NO-XL"; fi
mkdir -p /payload
if mount /dev/vdb /payload; then
	tmo=$(cat /payload/guest-timeout 2>/dev/null || echo 240)
	for cfg in /payload/*.cfg; do
		[ -e "$cfg" ] || continue
		name=$(basename "$cfg" .cfg)
		echo "XP-CREATE-BEGIN $name"
		t0=$(date +%s)
		if [ -f "/payload/$name.start" ]; then
			bash "/payload/$name.start" "$name" >/tmp/xl.log 2>&1
		else
			xl create "$cfg" >/tmp/xl.log 2>&1
		fi
		rc=$?
		# libxl's hotplug scripts have fixed timeouts that a loaded TCG host can
		# hit: the lab's failure, not the guest's; retried once, and said so
		if [ $rc -ne 0 ] && grep -q "because of timeout" /tmp/xl.log; then
			echo "XP-CREATE-RETRY $name (libxl hotplug timeout)"
			cat /tmp/xl.log
			xl destroy "$name" >/dev/null 2>&1
			sleep 5
			if [ -f "/payload/$name.start" ]; then
				bash "/payload/$name.start" "$name" >/tmp/xl.log 2>&1
			else
				xl create "$cfg" >/tmp/xl.log 2>&1
			fi
			rc=$?
		fi
		grep -a "^XP-" /tmp/xl.log
		[ $rc -ne 0 ] && { cat /tmp/xl.log; tail -n 30 /var/log/xen/*.log; }
		echo "XP-CREATE-END $name rc=$rc"
		if [ $rc -eq 0 ] && [ -f "/payload/$name.check" ]; then
			echo "XP-CHECK-BEGIN $name"
			timeout "$tmo" bash "/payload/$name.check" "$name"
			echo "XP-CHECK-END $name rc=$? seconds=$(($(date +%s) - t0))"
		fi
		while xl domid "$name" >/dev/null 2>&1; do
			if [ $(($(date +%s) - t0)) -gt "$tmo" ]; then
				echo "XP-GUEST-TIMEOUT $name"; xl destroy "$name"; break
			fi
			sleep 2
		done
		echo "XP-CONSOLE-BEGIN $name seconds=$(($(date +%s) - t0))"
		tr -d '\r' </var/log/xen/console/guest-"$name".log
		echo "XP-CONSOLE-END $name"
	done
	umount /payload
else
	echo "XP-NO-PAYLOAD"
fi
echo "XP-DOM0-DONE"
sync
busybox poweroff -f
echo o >/proc/sysrq-trigger
sleep 30
