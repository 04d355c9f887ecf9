# install-setup.sh - sourced by run-test.sh --deploy after pxe-setup.sh (in its mount
# namespace, /payload is the payload; xenprov and its libraries on /payload/xp, the
# server's state /payload/serve-state): the guests `xenprov install --server` makes in
# dom0 from the `xenprov serve` that pxe-setup.sh runs there (issue 15).
#   xp-inst   the image path: profile xp-inst-img on the server, whose image is the
#             Debian 12 golden image run-test.sh built for xp-deb-pygrub (`image build
#             --dist debian:bookworm`'s, reused: no second mmdebstrap), 2 GiB raw;
#             the server (in dom0) hashes it once when first asked, dom0's install
#             fetches it with the API token by its hash into its cache (hashed as it
#             arrives, its zero blocks left as holes: a few hundred MiB on the payload
#             disk), makes the guest there (pygrub, a static address, the profile's
#             SSH key), registers it, starts it (install --start); then deb-check.sh
#             (/payload/xp-inst.check) logs in over SSH as for the other Debian guests:
#             its host name, address, machine-id and root UUID must be what dom0's
#             inventory and its disk say, /etc/os-release must say debian-bookworm
#   xp-instx  the installer path: profile xp-instx-prof (distro xp-testinst: the
#             dom0 kernel and a test installer's initrd, OS family debian, the shipped
#             preseed): install --installer --wait --start registers the system, boots
#             the installer with the autoinstall URL the server renders, which gets a
#             lease from the server, fetches its preseed over HTTP, writes a prepared
#             disk image (a grub.cfg, kernel, initramfs and an init that prints what
#             the installer wrote) to its empty disk with the preseed's first lines in
#             it, and powers off; install switches the config to pygrub and starts it
#             again: the console must show the installer's and the installed system's
#             lines
# (the profile's on_reboot is xl's default, "restart": the installer's config says
# "destroy", the switched one "restart" again)
# Needs: X, RUN, I (the guests' initramfs tree), R (the busybox root), P, HERE, key (the
# Debian guests' SSH public key), RUN/xp-deb-pygrub.json (its golden image); writes
# /payload/inst-*, /payload/NAME.cfg placeholders (dom0-init walks /payload/*.cfg; the
# real configs are written by xenprov in dom0, into /payload/inst) and NAME.start.
SS="--state-dir /payload/serve-state"
mkdir -p /payload/inst /payload/dom0-state
# the image path's profile: the Debian golden image of xp-deb-pygrub (a raw file in
# /payload/state/images, the same path in dom0), published by the server (in dom0)
# the first time it is asked for
gold=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["golden"])' "$RUN/xp-deb-pygrub.json")
case $gold in /payload/state/images/*.img) ;; *) echo "no Debian golden image: '$gold'" >&2; exit 1 ;; esac
# the deploy's state directory (0700) searchable by whichever user xenprov serve runs
# as in dom0; its files keep their own modes (the image 0444, the inventory 0600)
chmod 0755 /payload/state
$X profile add $SS xp-inst-img --image "$gold" --disk-size 2G --memory 384 --vcpus 1 \
	--fs ext4 --label msdos --swap 0 --bridge xenbr0 --network static \
	--ip-pool 192.168.222.0/24 --gateway 192.168.222.1 --dns 192.168.222.1 --domain xp.test \
	--ssh-key "$key" --boot pygrub --config on_reboot=destroy --config on_crash=destroy >/dev/null
sed -e "s/@IP@/192.168.222.70/" -e "s/@IP2@//" "$HERE/deb-check.sh" >/payload/xp-inst.check

# the installed system: a disk image with pygrub's grub.cfg, the kernel, the
# initramfs and an init printing what the installer left in /xp-installed.txt
D=$RUN/instdisk
rm -rf "$D" && cp -a "$R" "$D"
cat >"$D/sbin/init" <<'EOF'
#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc
exec >/dev/hvc0 2>&1
echo "XP-INSTALLED-BOOT root=$(awk '$2 == "/" { print $1 }' /proc/mounts | tail -n 1)"
sed 's/^/XP-INSTALLED /' /xp-installed.txt
sync
poweroff -f
EOF
chmod +x "$D/sbin/init"
tar -C "$D" --owner=0 --group=0 -czf "$RUN/instdisk.tar.gz" .
$X image build --from "$RUN/instdisk.tar.gz" -o "$RUN/instdisk.img" --size 48M --fs ext4 \
	--label msdos >/dev/null
# the test installer: the guests' initramfs (blkfront, netfront, ext4) with the disk
# image, a DHCP client script and an init that does the install
II=$RUN/initrd-inst
rm -rf "$II" && cp -a "$I" "$II"
cp "$RUN/instdisk.img" "$II/disk.img"
cat >"$II/bin/dhcp.sh" <<'EOF'
#!/bin/busybox sh
case "$1" in bound | renew) ip addr add "$ip/${mask:-24}" dev "$interface" ;; esac
exit 0
EOF
chmod +x "$II/bin/dhcp.sh"
cat >"$II/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
exec >/dev/hvc0 2>&1
while read -r m; do insmod /lib/modules/$m 2>/dev/null; done </lib/modules/order
url=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^url=//p' | head -n 1)
echo "XP-INSTALLER url=$url"
for i in $(seq 50); do ip link show eth0 >/dev/null 2>&1 && break; sleep 0.2; done
ip link set eth0 up
udhcpc -i eth0 -q -n -t 10 -T 2 -s /bin/dhcp.sh >/dev/null 2>&1 || echo "XP-INSTALLER no-lease"
wget -q -O /answer "$url" && echo "XP-INSTALLER fetched $(wc -l </answer) lines" ||
	echo "XP-INSTALLER fetch-failed"
for i in $(seq 100); do [ -b /dev/xvda ] && break; sleep 0.1; done
dd if=/disk.img of=/dev/xvda bs=1M conv=fsync 2>/dev/null && echo "XP-INSTALLER disk-written"
blockdev --rereadpt /dev/xvda
for i in $(seq 50); do [ -b /dev/xvda1 ] && break; sleep 0.1; done
mkdir -p /mnt
if mount -t ext4 /dev/xvda1 /mnt; then
	head -n 3 /answer >/mnt/xp-installed.txt
	umount /mnt && echo "XP-INSTALLER wrote $(head -n 1 /answer)"
fi
sync
poweroff -f
EOF
chmod +x "$II/init"
(cd "$II" && find . | cpio -H newc -o --quiet | gzip -1) >/payload/initrd-inst.gz
$X distro add $SS xp-testinst --kernel /payload/vmlinuz --initrd /payload/initrd-inst.gz \
	--kernel-options "console=hvc0" --os debian >/dev/null
$X profile add $SS xp-instx-prof --distro xp-testinst --disk-size 64M --memory 256 \
	--bridge xenbr0 --network dhcp --autoinstall debian-preseed \
	--root-password-hash '$6$saltsalt$Xq1zPdCq0lGZ3k9mYyZ1d3b0u8nU2bTQ5cVJkq7T8bY' \
	--config on_crash=destroy >/dev/null

# dom0's own settings: where its guests' disks go
$X settings set --state-dir /payload/dom0-state guest-pool /payload/inst-disks >/dev/null
for g in xp-inst xp-instx; do
	cat >"/payload/$g.cfg" <<CFG
# a placeholder for dom0-init's walk: xenprov install writes the real config in dom0,
# /payload/inst/$g.cfg (install-setup.sh)
name = "$g"
memory = 128
bootloader = "pygrub"
CFG
done
cat >/payload/xp/install-env.sh <<'ENV'
xp() { LD_LIBRARY_PATH=/payload/xp/lib /payload/xp/xenprov "$@"; }
export XENPROV_STATE_DIR=/payload/dom0-state XENPROV_SERVER=http://192.168.222.250
ENV
cat >/payload/xp-inst.start <<'ST'
bash /payload/xp/serve-up.sh || exit 1
. /payload/xp/install-env.sh
t0=$(date +%s%N)
xp install --profile xp-inst-img --name "$1" --ip 192.168.222.70 --config-dir /payload/inst \
	--token-file /payload/serve-state/api-token --start -q >/tmp/inst.out 2>&1
rc=$?
sed "s/^/XP-INST $1 out /" /tmp/inst.out
[ $rc -eq 0 ] || exit $rc
echo "XP-INST $1 seconds-ms=$((($(date +%s%N) - t0) / 1000000))"
xp domain show "$1" --json >/tmp/inst.json
disk=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["disk"])' /tmp/inst.json)
ip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip"])' /tmp/inst.json)
uuid=$(xp image info --json "$disk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitions"][0]["uuid"])')
echo "XP-INST $1 record ip=$ip machine-id=$(xp image cat "$disk" /etc/machine-id) uuid=$uuid"
echo "XP-INST $1 cache $(du -k /payload/dom0-state/images/remote/*.img | tr '\t' ' ')"
xp install --list systems | sed "s/^/XP-INST $1 server /"
ST
cat >/payload/xp-instx.start <<'ST'
bash /payload/xp/serve-up.sh || exit 1
. /payload/xp/install-env.sh
xp install --profile xp-instx-prof --name "$1" --installer --config-dir /payload/inst \
	--token-file /payload/serve-state/api-token --wait --start --timeout 600 -q \
	>/tmp/inst.out 2>&1
rc=$?
sed "s/^/XP-INST $1 out /" /tmp/inst.out
grep -E '^(bootloader|on_reboot|kernel) ' /payload/inst/"$1".cfg | sed "s/^/XP-INST $1 cfg /"
exit $rc
ST
