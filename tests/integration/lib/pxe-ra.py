#!/usr/bin/env python3
"""pxe-ra.py - a tiny IPv6 router advertiser for the PXE boot test (serve-pxeboot.sh).

Debian's iPXE configures IPv6 next to DHCPv4 and waits for a router advertisement
(about 15 s of router solicitations) before it boots. This script, run inside the test's
network namespace, multicasts a minimal RFC 4861 section 4.2 Router Advertisement (no
managed/other flags, router lifetime 0: "I am not a default router", no prefix) to
ff02::1 on one interface every second, so iPXE ends its IPv6 autoconfiguration at once.

It is NOT a router: it sends no prefix, answers nothing, and takes no part in the test's
verdict. Until the interface has a link-local address (a tap gets one only once QEMU
opens it) sending fails; those errors are ignored. Usage: pxe-ra.py IFNAME [SECONDS].
Exits when killed or after SECONDS (default 600).
"""
import socket
import struct
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: pxe-ra.py IFNAME [SECONDS]\n")
        return 2
    ifname = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
    ifindex = socket.if_nametoindex(ifname)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    # RFC 4861 6.1.2: hop limit 255 or the receiver drops the advertisement
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    # type 134, code 0, checksum (the kernel fills it in for ICMPv6 raw sockets),
    # cur hop limit 64, flags 0 (M=0 O=0), router lifetime 0, reachable 0, retrans 0
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            sock.sendto(ra, ("ff02::1", 0, 0, ifindex))
        except OSError:
            pass  # no link-local address yet (QEMU has not opened the tap)
        time.sleep(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
