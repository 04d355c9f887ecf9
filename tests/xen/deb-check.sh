#!/bin/bash
# Run by dom0-init.sh in dom0 while a Debian guest runs (run-test.sh copies it to
# /payload/NAME.check with @IP@ replaced by the guest's address): waits for the guest's
# SSH, pings it, logs in as root with the profile's key, prints what run-test.sh checks
# as "XP-GUEST NAME ..." lines, then powers the guest off.
name=$1 ip=@IP@ ip2="@IP2@" # ip2: the second NIC's address, when the guest has one
key=/tmp/xp-id
install -m 0600 /payload/ssh/id_ed25519 "$key"
ssh_() {
	ssh -i "$key" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=5 -o LogLevel=ERROR "root@$ip" "$@"
}
t0=$(date +%s)
up=""
while [ $(($(date +%s) - t0)) -lt 600 ]; do
	ssh_ true 2>/dev/null && { up=1; break; }
	sleep 5
done
if [ -z "$up" ]; then
	echo "XP-GUEST $name ssh-down after $(($(date +%s) - t0))s"
	ip neigh show dev xenbr0 | sed "s/^/XP-GUEST $name neigh /"
	# what is there to see while the guest still runs: its state and its console
	xl list | sed "s/^/XP-GUEST $name xl-list /"
	tail -n 60 "/var/log/xen/console/guest-$name.log" 2>&1 | tr -d '\r' |
		sed "s/^/XP-GUEST $name console /"
	exit 1
fi
echo "XP-GUEST $name ssh-up after $(($(date +%s) - t0))s"
ping -c 2 -W 5 "$ip" >/dev/null && echo "XP-GUEST $name ping-ok" || echo "XP-GUEST $name ping-failed"
if [ -n "$ip2" ]; then
	ping -c 2 -W 5 "$ip2" >/dev/null && echo "XP-GUEST $name ping2-ok" || echo "XP-GUEST $name ping2-failed"
fi
# shellcheck disable=SC2016 # expanded in the guest
ssh_ 'n=$(hostname)
st=$(timeout 240 systemctl is-system-running --wait)
echo "XP-GUEST $n state=$st"
[ "$st" = running ] || systemctl --failed --no-legend --plain | sed "s/^/XP-GUEST $n failed-unit /"
echo "XP-GUEST $n uuid=$(findmnt -no UUID /)"
echo "XP-GUEST $n machine-id=$(cat /etc/machine-id)"
echo "XP-GUEST $n hostname=$n"
echo "XP-GUEST $n os=$(. /etc/os-release && echo "$ID-$VERSION_CODENAME")"
ip -br -4 addr show scope global | while read -r i s a; do echo "XP-GUEST $n addr $i $a"; done
systemctl --no-legend --plain list-units "xenprov-*" | sed "s/^/XP-GUEST $n unit /"
journalctl -b -o cat --no-pager | grep "^XP-FIRSTBOOT" | sed "s/^/XP-GUEST $n journal /"
echo "XP-GUEST $n kernel=$(uname -r) cmdline=$(cat /proc/cmdline)"
findmnt -no UUID /srv >/dev/null 2>&1 && echo "XP-GUEST $n srv=$(findmnt -no UUID /srv)"
echo "XP-GUEST $n login-ok"' 2>&1
# stopped by /payload/NAME.stop when there is one (`xenprov domain shutdown`), else
# from inside
if [ -f "/payload/$name.stop" ]; then
	bash "/payload/$name.stop" "$name"
else
	ssh_ 'systemctl poweroff' >/dev/null 2>&1
fi
exit 0
