# pxe-setup.sh - sourced by run-test.sh --deploy (in its mount namespace, /payload is the
# payload): the guests that boot through `xenprov-pxeboot` (issue 13) on real Xen.
#   xp-pxe        a busybox guest with bootloader = xenprov-pxeboot and
#                 bootloader_args = ["--mac=...", "--interface=xenbr0"]: DHCP from
#                 `xenprov serve` running in dom0 on xenbr0, its pxelinux config, the
#                 kernel and an initrd made for it (it prints the marker it was built
#                 with, MARK) fetched over TFTP from the server (in a network
#                 namespace of dom0 bridged to xenbr0, as a boot server elsewhere); the console must show the marker and the
#                 distro's kernel options
#   xp-deb-local  a Debian 12 guest (file disk, raw) whose system has netboot off: the
#                 server's config says LOCALBOOT and xenprov-pxeboot boots the kernel of
#                 the guest's own disk (its grub.cfg); it must pass the Debian checks, and
#                 before it boots, dom0 runs Debian's pygrub and `xenprov-pxeboot --local`
#                 on the same disk: kernel and initrd byte-identical, the same arguments
# Needs: X (xenprov), RUN, MARK, P_MAC/P_IP for xp-pxe, xp-deb-local deployed (its
# record in $RUN/xp-deb-local.json) and xenprov copied to /payload/xp. Writes /payload/serve-state,
# /payload/xp/xenprov-pxeboot (a wrapper: xenprov's libraries are on the payload),
# /payload/xp/serve-up.sh, /payload/NAME.start for both guests, and their configs.
SS="--state-dir /payload/serve-state"
MARK=$(cat "$RUN/pxe-mark")
mkdir -p /payload/serve-state
$X settings set $SS server 192.168.222.250 >/dev/null
$X settings set $SS pool.lab.range 192.168.222.100-192.168.222.150 >/dev/null
$X settings set $SS pool.lab.netmask 255.255.255.0 >/dev/null
$X distro add $SS pxe --kernel /payload/vmlinuz --initrd /payload/initrd-pxe.gz \
	--kernel-options "console=hvc0 xpmark=$MARK" >/dev/null
$X system add $SS xp-pxe --mac "$P_MAC" --ip "$P_IP" --distro pxe >/dev/null

# xp-pxe: a disk only because libxl hands the bootloader one
truncate -s 16M /payload/disks/xp-pxe.img
cat >/payload/xp-pxe.cfg <<CFG
# booted by xenprov-pxeboot from xenprov serve in dom0 (test-xen, pxe-setup.sh)
name = "xp-pxe"
memory = 128
vcpus = 1
bootloader = "/payload/xp/xenprov-pxeboot"
bootloader_args = [ "--mac=$P_MAC", "--interface=xenbr0" ]
disk = [ "format=raw,vdev=xvda,access=rw,target=/payload/disks/xp-pxe.img" ]
vif = [ "mac=$P_MAC,bridge=xenbr0" ]
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
CFG

# xp-deb-local: made by deploy like the other Debian guests (run-test.sh's loop); here
# its bootloader becomes xenprov-pxeboot and its system boots locally
L_MAC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mac"])' "$RUN/xp-deb-local.json")
L_IP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip"])' "$RUN/xp-deb-local.json")
$X system add $SS xp-deb-local --mac "$L_MAC" --ip "$L_IP" --distro pxe --netboot off >/dev/null
$X config set /payload/xp-deb-local.cfg 'bootloader="/payload/xp/xenprov-pxeboot"' \
	"bootloader_args=[\"--mac=$L_MAC\", \"--interface=xenbr0\"]" >/dev/null

# in dom0: xenprov's own libraries from the payload; the server started once, before
# the first guest that needs it
cat >/payload/xp/xenprov-pxeboot <<'W'
#!/bin/bash
LD_LIBRARY_PATH=/payload/xp/lib exec -a xenprov-pxeboot /payload/xp/xenprov "$@"
W
chmod 0755 /payload/xp/xenprov-pxeboot
cat >/payload/xp/serve-up.sh <<'UP'
# xenprov serve as a boot server elsewhere on the guests' network: in a network
# namespace of dom0, its veth a port of xenbr0, at 192.168.222.250
[ -s /run/xp-serve.pid ] && kill -0 "$(cat /run/xp-serve.pid)" 2>/dev/null && exit 0
ip netns add xpsrv && ip link add xpsrv0 type veth peer name xpsrv1 &&
	ip link set xpsrv1 master xenbr0 up && ip link set xpsrv0 netns xpsrv &&
	ip -n xpsrv addr add 192.168.222.250/24 dev xpsrv0 && ip -n xpsrv link set xpsrv0 up &&
	ip -n xpsrv link set lo up || { echo "XP-SERVE-DOWN no namespace"; exit 1; }
LD_LIBRARY_PATH=/payload/xp/lib ip netns exec xpsrv /payload/xp/xenprov serve \
	--state-dir /payload/serve-state --interface xpsrv0 --pid-file /run/xp-serve.pid \
	>/tmp/xp-serve.log 2>&1 &
for _ in $(seq 100); do [ -s /run/xp-serve.pid ] && exit 0; sleep 0.2; done
echo "XP-SERVE-DOWN"; cat /tmp/xp-serve.log; exit 1
UP
cat >/payload/xp-pxe.start <<'ST'
bash /payload/xp/serve-up.sh || exit 1
xl create "/payload/$1.cfg"
ST
cat >/payload/xp-deb-local.start <<'ST'
bash /payload/xp/serve-up.sh || exit 1
# Debian's pygrub and xenprov-pxeboot --local on the same disk, before it boots
disk=/payload/disks/$1.img
pg=/usr/lib/xen-4.17/bin/pygrub
# as libxl runs a bootloader: the output file exists (libxl's is a FIFO; pygrub opens
# it without O_CREAT), no terminal (-q: pygrub's menu stays off)
rm -rf /tmp/pg /tmp/xpl && mkdir -p /tmp/pg /tmp/xpl && : >/tmp/pg.out && : >/tmp/xpl.out
$pg -q --output-format=simple --output-directory=/tmp/pg --output=/tmp/pg.out "$disk" \
	</dev/null >/tmp/pg.log 2>&1 || { echo "XP-PXE $1 pygrub-failed"; sed "s/^/XP-PXE $1 pygrub: /" /tmp/pg.log; }
/payload/xp/xenprov-pxeboot --local --output-format=simple --output-directory=/tmp/xpl \
	--output=/tmp/xpl.out "$disk" </dev/null >/tmp/xpl.log 2>&1 ||
	{ echo "XP-PXE $1 local-failed"; sed "s/^/XP-PXE $1 local: /" /tmp/xpl.log; }
val() { sed -n "s/^$1 //p" "$2" | head -n 1; }
cmp -s "$(val kernel /tmp/pg.out)" "$(val kernel /tmp/xpl.out)" && echo "XP-PXE $1 same-kernel"
cmp -s "$(val ramdisk /tmp/pg.out)" "$(val ramdisk /tmp/xpl.out)" && echo "XP-PXE $1 same-ramdisk"
a=$(val args /tmp/pg.out | tr -s ' ' | sed 's/^ //; s/ $//')
b=$(val args /tmp/xpl.out | tr -s ' ' | sed 's/^ //; s/ $//')
echo "XP-PXE $1 pygrub-args=$a"
echo "XP-PXE $1 local-args=$b"
[ -n "$a" ] && [ "$a" = "$b" ] && echo "XP-PXE $1 same-args"
rm -rf /tmp/pg /tmp/xpl
xl create "/payload/$1.cfg"
ST
