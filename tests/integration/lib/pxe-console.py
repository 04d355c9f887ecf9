#!/usr/bin/env python3
"""pxe-console.py - the serial console of the PXE boot test's case (a) (serve-pxeboot.sh).

QEMU's iPXE ROMs send DHCP user class "iPXE", so a boot server that gives iPXE clients
an iPXE script and every other PXE client pxelinux.0 never offers them pxelinux.0. This
script makes the ROM behave like a plain PXE ROM: on QEMU's serial console (SeaBIOS
mirrors the BIOS console there with -machine graphics=off, keyboard included) it presses
Ctrl-B until iPXE's shell prompt appears, then types
    set user-class PXEClient
    autoboot
so iPXE's DHCP requests carry user class "PXEClient" and it boots whatever file the
server names (pxelinux.0 over TFTP). Everything QEMU writes is copied to LOG.

Timing: iPXE shows "Press Ctrl-B for the iPXE command line" for 2 s only, and under a
loaded TCG guest a key can arrive later than that. So Ctrl-B is pressed every 0.25 s from
iPXE's "starting execution" (after the option ROM's own Ctrl-B prompt, which opens a
different menu) until "iPXE>" shows; a pending Ctrl-B is taken by the banner at once,
and extra ones are a harmless cursor-left in the shell. The BIOS keyboard buffer holds
only 16 keys, so commands are typed one key at a time, each after the previous one's
echo.

It does NOT judge the boot: serve-pxeboot.sh reads LOG. If it never reaches the shell,
iPXE boots as itself and the test sees a boot without pxelinux.

Usage: pxe-console.py PIPE LOG - PIPE is the path given to QEMU's
`-chardev pipe,path=PIPE` (the FIFOs PIPE.in and PIPE.out must exist). Exits when QEMU
closes the console (EOF on PIPE.out).
"""
import os
import select
import sys
import time

STARTED = b"starting execution"
PROMPT = b"iPXE>"
COMMANDS = [b"set user-class PXEClient", b"autoboot"]


class Console:
    def __init__(self, pipe, log):
        # QEMU opens both FIFOs read-write, so these opens do not block
        self.out = os.open(pipe + ".out", os.O_RDONLY)
        self.inp = os.open(pipe + ".in", os.O_WRONLY)
        self.log = log
        self.seen = b""
        self.eof = False

    def pump(self, timeout):
        """Copies what QEMU wrote within TIMEOUT seconds to the log; False on EOF."""
        ready, _, _ = select.select([self.out], [], [], timeout)
        if not ready:
            return True
        chunk = os.read(self.out, 4096)
        if not chunk:
            self.eof = True
            return False
        self.log.write(chunk)
        self.seen += chunk
        return True

    def wait_for(self, text, start, timeout=None, every=None, key=None):
        """Waits until TEXT is in the output after offset START; presses KEY every EVERY s."""
        end = None if timeout is None else time.monotonic() + timeout
        last = 0.0
        while text not in self.seen[start:]:
            if end is not None and time.monotonic() > end:
                return False
            if key is not None and time.monotonic() - last >= every:
                os.write(self.inp, key)
                last = time.monotonic()
            if not self.pump(0.05 if key is not None else 1.0):
                return False
        return True

    def type_line(self, line):
        for byte in line:
            mark = len(self.seen)
            os.write(self.inp, bytes([byte]))
            # the echo (or 3 s, whichever first): never more than one key in flight
            end = time.monotonic() + 3.0
            while len(self.seen) == mark and time.monotonic() < end:
                if not self.pump(0.05):
                    return False
        os.write(self.inp, b"\r")
        return True


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: pxe-console.py PIPE LOG\n")
        return 2
    with open(sys.argv[2], "ab", buffering=0) as log:
        con = Console(sys.argv[1], log)
        ok = con.wait_for(STARTED, 0)
        if ok:
            ok = con.wait_for(PROMPT, len(con.seen), timeout=120, every=0.25, key=b"\x02")
        for command in COMMANDS:
            if not ok:
                break
            # let the stray Ctrl-Bs drain, then type on a quiet line
            quiet_end = time.monotonic() + 1.0
            while time.monotonic() < quiet_end and con.pump(0.1):
                pass
            mark = len(con.seen)
            ok = con.type_line(command) and con.wait_for(b"\n", mark, timeout=30)
            if ok and command != COMMANDS[-1]:
                ok = con.wait_for(PROMPT, mark)
            sys.stderr.write("typed %r: %s\n" % (command, "ok" if ok else "no echo/prompt"))
        if not ok and not con.eof:
            sys.stderr.write("pxe-console: gave up driving iPXE; copying the console only\n")
        while con.pump(1.0) or not con.eof:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
