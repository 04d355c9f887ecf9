/*
 * installer-init.c - the autoinstall installer's /init and its udhcpc script, as text
 * put into the initramfs by installer-build.c. Busybox sh (ash). What it does now:
 * mounts proc, sys and dev; loads the modules /etc/xenprov/modules lists, in order;
 * reads xenprov.server=, xenprov.system=, xenprov.mac= and xenprov.token= from the
 * kernel command line (boot/target.c puts them there); brings up the interface with
 * that MAC; DHCP on it (busybox udhcpc with the script below, never a distribution's);
 * fetches the system's record from the server's API; posts "started" (autoinstall.h).
 *
 * Not yet: the target disk, partitions, the image, the boot loader. Until then it
 * posts a failure saying so (the server keeps the mark) and powers the machine off
 * rather than reboot into the installer again and again.
 */
#include "deploy/installer-init.h"

const char xp__installer_init[] =
    "#!/bin/busybox sh\n"
    "# xenprov autoinstall installer: /init (xenprov installer build)\n"
    "/bin/busybox mkdir -p /proc /sys /dev /tmp /run /usr/bin /sbin /usr/sbin\n"
    "/bin/busybox --install -s\n"
    "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\n"
    "mount -t proc proc /proc\n"
    "mount -t sysfs sysfs /sys\n"
    "mount -t devtmpfs devtmpfs /dev 2>/dev/null\n"
    "say() { echo \"xenprov-installer: $*\"; }\n"
    "# event KIND STEP [MESSAGE]: posted to the server with the install's token\n"
    "event() {\n"
    "\tmsg=$(printf '%s' \"$3\" | tr -d '\"\\\\\\000-\\037' | cut -c1-1000)\n"
    "\tbody=\"{\\\"token\\\":\\\"$token\\\",\\\"kind\\\":\\\"$1\\\",\\\"step\\\":\\\"$2\\\"\"\n"
    "\t[ -n \"$msg\" ] && body=\"$body,\\\"message\\\":\\\"$msg\\\"\"\n"
    "\twget -q -O /tmp/event.out --header 'Content-Type: application/json' \\\n"
    "\t\t--post-data \"$body}\" \"$server/api/systems/$system/events\" ||\n"
    "\t\tsay \"cannot post the event $1 $2 to $server\"\n"
    "}\n"
    "die() {\n"
    "\tsay \"$*\"\n"
    "\t[ -n \"$net\" ] && event failure \"${step:-init}\" \"$*\"\n"
    "\tsay 'powering off in 10 s'\n"
    "\tsleep 10\n"
    "\tpoweroff -f\n"
    "}\n"
    "while read -r m; do\n"
    "\tinsmod \"/lib/modules/$m\" 2>/dev/null || say \"cannot load $m\"\n"
    "done </etc/xenprov/modules\n"
    "for w in $(cat /proc/cmdline); do\n"
    "\tcase \"$w\" in\n"
    "\txenprov.server=*) server=${w#*=} ;;\n"
    "\txenprov.system=*) system=${w#*=} ;;\n"
    "\txenprov.mac=*) mac=${w#*=} ;;\n"
    "\txenprov.token=*) token=${w#*=} ;;\n"
    "\tesac\n"
    "done\n"
    "[ -n \"$server\" ] && [ -n \"$system\" ] && [ -n \"$mac\" ] && [ -n \"$token\" ] ||\n"
    "\tdie 'the kernel command line lacks xenprov.server=, xenprov.system=, xenprov.mac= or "
    "xenprov.token='\n"
    "say \"system $system, server $server\"\n"
    "step=network\n"
    "iface=\n"
    "for i in 1 2 3 4 5 6 7 8 9 10; do\n"
    "\tfor d in /sys/class/net/*; do\n"
    "\t\t[ \"$(cat \"$d/address\" 2>/dev/null)\" = \"$mac\" ] && iface=${d##*/}\n"
    "\tdone\n"
    "\t[ -n \"$iface\" ] && break\n"
    "\tsleep 1\n"
    "done\n"
    "[ -n \"$iface\" ] || die \"no network interface has the MAC $mac\"\n"
    "ip link set lo up\n"
    "ip link set \"$iface\" up\n"
    "udhcpc -i \"$iface\" -s /etc/xenprov/udhcpc.sh -f -q -n -t 10 -T 2 ||\n"
    "\tdie \"no DHCP answer on $iface ($mac)\"\n"
    "net=1\n"
    "step=record\n"
    "wget -q -O /tmp/system.json \"$server/api/systems/$system\" ||\n"
    "\tdie \"cannot fetch the record of $system from $server\"\n"
    "event progress started \"$iface $(ip -4 -o addr show dev \"$iface\" | awk '{print $4}')\"\n"
    "say 'started'\n"
    "step=disk\n"
    "die 'this installer cannot partition or write disks yet'\n";

const char xp__installer_udhcpc[] =
    "#!/bin/sh\n"
    "# xenprov installer's udhcpc script: the address and the default route, nothing else\n"
    "case \"$1\" in\n"
    "deconfig)\n"
    "\tip -4 addr flush dev \"$interface\"\n"
    "\tip link set \"$interface\" up\n"
    "\t;;\n"
    "bound | renew)\n"
    "\tip -4 addr flush dev \"$interface\"\n"
    "\tifconfig \"$interface\" \"$ip\" netmask \"${subnet:-255.255.255.0}\"\n"
    "\tif [ -n \"$router\" ]; then\n"
    "\t\tip route add default via \"${router%% *}\" dev \"$interface\"\n"
    "\tfi\n"
    "\t;;\n"
    "esac\n"
    "exit 0\n";
