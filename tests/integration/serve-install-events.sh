#!/bin/bash
# serve-install-events.sh - the server's side of autoinstall marks (xenprov-system(1)
# --install, autoinstall.h): in network namespaces, with curl as the installer and as
# an attacker on the boot network:
#   - a system not marked: its boot configs are what they were (its distro, no token);
#   - a marked system, asked from its own address: its pxelinux, GRUB and iPXE configs
#     boot installer/kernel and installer/initrd with its own kernel options, then
#     xenprov.server=, xenprov.system=, xenprov.mac= and xenprov.token= (64 hex digits)
#     last; every rendering of one attempt (the three languages, again, HEAD then GET,
#     over TFTP) carries the same token, and the inventory holds no token; asked by
#     another host, or from an address leased to its MAC when it has a reservation, its
#     usual config;
#   - POST /api/systems/NAME/events: a wrong token, another system's token, the right
#     token from another address, a token of an ended attempt (after failure, after
#     success), an unmarked or unknown system: 403, logged; bad JSON, missing or extra
#     members, a bad kind or step, a control character in the message: 400; a body
#     over 4 KiB: 413; GET: 405;
#   - progress and failure are recorded (system show, --json, report), "started" ends
#     nothing (a config rendered while the attempt runs carries the next attempt's
#     token), failure keeps the mark and ends the attempt (the next config has a new
#     token) and logs the reason; success clears the mark, sets netboot off, and the
#     config is then LOCALBOOT;
#   - 210 events posted: the newest 200 kept;
#   - a spoofed PXE DHCP exchange with a marked system's MAC and its reserved address
#     (busybox udhcpc from another namespace, answered with a boot file) and a config
#     read from its address end nothing: the running installer's events are still
#     taken; the next token from another address is refused, and from the system's
#     address ends the running attempt as abandoned (logged, system show); after its
#     success a PXE DHCP with its MAC is answered no boot file, logged;
#   - a broken STATE/install-key: 500, logged.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need curl timeout busybox
busybox udhcpc --help >/dev/null 2>&1 || skip "busybox has no udhcpc"

srv_settings
srv_set pool.lan.range 10.79.0.100-10.79.0.199
srv_set pool.lan.netmask 255.255.255.0
echo kernel >"$T/vmlinuz"
"$X" distro add deb --kernel "$T/vmlinuz" >/dev/null || fail "distro add deb"
"$X" system add alpha --mac 52:54:00:ab:00:01 --ip 10.79.0.50 --distro deb --install on \
	--kernel-options console=ttyS0 >/dev/null || fail "system add alpha --install on"
"$X" system add beta --mac 52:54:00:ab:00:02 --ip 10.79.0.51 --distro deb >/dev/null ||
	fail "system add beta"
"$X" system edit beta --install on >/dev/null || fail "system edit beta --install on"
"$X" system add gamma --mac 52:54:00:ab:00:03 --ip 10.79.0.52 --distro deb >/dev/null ||
	fail "system add gamma"
"$X" system add delta --mac 52:54:00:ab:00:04 --ip 10.79.0.53 --distro deb --install on \
	>/dev/null || fail "system add delta --install on"
"$X" system show alpha | grep -qE '^install +on$' || fail "system show: alpha not marked"
ok
"$X" system edit gamma --install bogus 2>"$T/err" && fail "--install bogus was taken"
grep -qF -- "--install takes on or off, not 'bogus'" "$T/err" || fail "--install bogus: $(cat "$T/err")"
ok

srv_ns 10.79.0.1/24
client_add c1 52:54:00:ab:00:01 # alpha's installer
ip -n c1 addr add 10.79.0.50/24 dev eth0
client_add c2 52:54:00:bb:00:09 # an attacker on the boot network
ip -n c2 addr add 10.79.0.99/24 dev eth0
client_add c3 52:54:00:ab:00:02 # beta's installer
ip -n c3 addr add 10.79.0.51/24 dev eth0
# (all before any traffic: a port added later may change the bridge's MAC behind the
# clients' ARP caches)
client_add c4 52:54:00:ab:00:04 # delta's installer
ip -n c4 addr add 10.79.0.53/24 dev eth0
client_add c5 52:54:00:ab:00:04 # an attacker with delta's MAC (section 8)
srv_start --dhcp --http --tftp
U=http://10.79.0.1:8080
get() { # NS PATH: the body in $T/body, the status printed
	ip netns exec "$1" curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$U$2"
}
# post NS SYSTEM BODY-FILE: the status; the answer in $T/body
post() {
	ip netns exec "$1" curl -sS -o "$T/body" -w '%{http_code}' --max-time 10 \
		-H 'Content-Type: application/json' --data-binary "@$3" "$U/api/systems/$2/events"
}
# event NS SYSTEM WANT JSON: posts JSON and wants status WANT
event() {
	printf '%s' "$4" >"$T/ev.json"
	local got
	got=$(post "$1" "$2" "$T/ev.json")
	[ "$got" = "$3" ] || fail "event for $2 ($4): HTTP $got, want $3: $(head -c 300 "$T/body")"
	ok
}
log_has() {
	wait_until 5 grep -qF -- "$1" "$T/serve.log" || fail "the server's log lacks '$1'"
	ok
}
token_of() { sed -n 's/.*xenprov\.token=\([0-9a-f]*\).*/\1/p' "$T/body" | head -1; }

# 1. gamma is not marked: its config boots its distro, no token
[ "$(get c2 /pxelinux.cfg/01-52-54-00-ab-00-03)" = 200 ] || fail "gamma's pxelinux config"
grep -qF distros/deb/kernel "$T/body" || fail "gamma's config: $(cat "$T/body")"
! grep -qF xenprov. "$T/body" || fail "gamma's config has installer arguments"
ok

# 2. alpha is marked: each of the three configs boots the installer, its own options
# first and xenprov's last, with one token
A=
for p in pxelinux.cfg/01-52-54-00-ab-00-01 grub/grub.cfg-52-54-00-ab-00-01 ipxe/01-52-54-00-ab-00-01; do
	[ "$(get c1 "/$p")" = 200 ] || fail "alpha's $p"
	grep -qF installer/kernel "$T/body" && grep -qF installer/initrd "$T/body" ||
		fail "alpha's $p does not boot the installer: $(cat "$T/body")"
	grep -qF "xenprov.server=$U " "$T/body" && grep -qF "xenprov.system=alpha " "$T/body" &&
		grep -qF "xenprov.mac=52:54:00:ab:00:01 " "$T/body" &&
		grep -qF console=ttyS0 "$T/body" ||
		fail "alpha's $p lacks the server, the system or its options: $(cat "$T/body")"
	tok=$(token_of)
	[ ${#tok} = 64 ] || fail "alpha's $p: no 64-digit token: $(cat "$T/body")"
	[ -n "$A" ] || A=$tok
	[ "$tok" = "$A" ] || fail "alpha's $p carries another token than its first config"
	ok
done
[ "$(get c1 /pxelinux.cfg/01-52-54-00-ab-00-01)" = 200 ] || fail "alpha's config again"
grep -qE "APPEND console=ttyS0 xenprov\.server=$U xenprov\.system=alpha xenprov\.mac=52:54:00:ab:00:01 xenprov\.token=$A\$" "$T/body" ||
	fail "xenprov's arguments are not last, after alpha's own: $(cat "$T/body")"
ok
# rendered again and again (HEAD then GET, a TFTP read as a retransmit or a spoofed
# RRQ would make): the same token, which the installer holding it can still use
ip netns exec c1 curl -sI --max-time 10 -o /dev/null "$U/pxelinux.cfg/01-52-54-00-ab-00-01" ||
	fail "HEAD of alpha's config"
ip netns exec c1 curl -s --max-time 10 -o "$T/body" tftp://10.79.0.1/pxelinux.cfg/01-52-54-00-ab-00-01 ||
	fail "alpha's config over TFTP"
[ "$(token_of)" = "$A" ] || fail "a TFTP read gave another token: $(cat "$T/body")"
[ "$(get c1 /ipxe/01-52-54-00-ab-00-01)" = 200 ] && [ "$(token_of)" = "$A" ] ||
	fail "a later render gave another token"
ok
# a stranger asking for alpha's config gets its usual one: no token; over TFTP's path
# too (the same resolver, the peer passed in)
for p in pxelinux.cfg/01-52-54-00-ab-00-01 grub/grub.cfg-52-54-00-ab-00-01 ipxe/01-52-54-00-ab-00-01; do
	[ "$(get c2 "/$p")" = 200 ] || fail "alpha's $p to a stranger"
	grep -qF distros/deb/kernel "$T/body" && ! grep -qF xenprov. "$T/body" ||
		fail "a stranger got alpha's installer config: $(cat "$T/body")"
	ok
done
# alpha has a reservation: an address leased to its MAC (a host that asked DHCP with
# it) is not alpha's
python3 - "$XENPROV_STATE_DIR/inventory.db" <<'PY' || fail "cannot plant a lease"
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
now = int(time.time())
c.execute("INSERT INTO leases (ip, client, mac, hostname, state, expires, updated)"
          " VALUES (?, x'01525400ab0001', '52:54:00:ab:00:01', 'x', 'bound', ?, ?)",
          ((10 << 24) + (79 << 16) + 99, now + 3600, now))
c.commit()
PY
[ "$(get c2 /pxelinux.cfg/01-52-54-00-ab-00-01)" = 200 ] || fail "alpha's config to its MAC's lease"
grep -qF distros/deb/kernel "$T/body" && ! grep -qF xenprov. "$T/body" ||
	fail "an address leased to alpha's MAC got its installer config: $(cat "$T/body")"
ok
[ "$(get c3 /pxelinux.cfg/01-52-54-00-ab-00-02)" = 200 ] || fail "beta's config"
B=$(token_of)
[ ${#B} = 64 ] && [ "$B" != "$A" ] || fail "beta's config has no token of its own"
# the inventory holds no token; the key is the server's, private
for f in "$XENPROV_STATE_DIR"/inventory.db*; do
	! grep -qaF "$A" "$f" || fail "alpha's token is in $f"
done
[ "$(stat -c %a "$XENPROV_STATE_DIR/install-key")" = 600 ] || fail "install-key is not 0600"
ok

# 3. refusals
event c2 alpha 403 "{\"token\":\"$A\",\"kind\":\"progress\",\"step\":\"started\"}"
log_has "install: refused an event for system 'alpha' from 10.79.0.99"
event c1 alpha 403 "{\"token\":\"$B\",\"kind\":\"progress\",\"step\":\"started\"}"
event c1 alpha 403 "{\"token\":\"${A%?}x\",\"kind\":\"success\",\"step\":\"done\"}"
[ "${A: -1}" = 0 ] && W=${A%?}1 || W=${A%?}0
event c1 alpha 403 "{\"token\":\"$W\",\"kind\":\"success\",\"step\":\"done\"}"
event c1 alpha 403 "{\"token\":\"short\",\"kind\":\"success\",\"step\":\"done\"}"
event c1 gamma 403 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"done\"}"
event c1 nosuch 403 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"done\"}"
event c2 alpha 400 "{\"token\":\"$A\",\"kind\":\"success\""
event c2 alpha 400 "[\"$A\"]"
event c2 alpha 400 ""
event c2 alpha 400 "{\"token\":\"$A\",\"kind\":\"done\",\"step\":\"done\"}"
event c2 alpha 400 "{\"token\":\"$A\",\"kind\":\"success\"}"
event c2 alpha 400 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"Bad Step\"}"
event c2 alpha 400 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"x\",\"netboot\":true}"
event c2 alpha 400 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"x\",\"message\":\"a\\nb\"}"
event c2 alpha 400 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"x\",\"message\":7}"
event c2 alpha 400 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"x\",\"step\":\"y\"}"
big=$(head -c 5000 /dev/zero | tr '\0' a)
event c1 alpha 413 "{\"token\":\"$A\",\"kind\":\"failure\",\"step\":\"x\",\"message\":\"$big\"}"
[ "$(get c2 /api/systems/alpha/events)" = 405 ] || fail "GET of events was not 405"
ok
"$X" system show alpha | grep -qE '^install +on$' || fail "a refused event changed alpha"
"$X" system show alpha | grep -qE '^netboot +on$' || fail "a refused event changed netboot"
! "$X" system show alpha | grep -q "last install" || fail "a refused event was recorded"
ok

# 4. progress ("started" ends nothing: the config still carries A), then failure:
# recorded, the mark kept, the attempt ended
event c1 alpha 200 "{\"token\":\"$A\",\"kind\":\"progress\",\"step\":\"started\"}"
log_has "install: system 'alpha' (10.79.0.50): progress started"
# the live token, from another address than alpha's: refused
event c2 alpha 403 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"done\"}"
# a config rendered while the attempt runs is for the machine's next boot: the next
# attempt's token; rendering it ends nothing (A is still taken, below)
[ "$(get c1 /pxelinux.cfg/01-52-54-00-ab-00-01)" = 200 ] || fail "alpha's config, attempt running"
N=$(token_of)
[ ${#N} = 64 ] && [ "$N" != "$A" ] || fail "a config rendered while the attempt runs: $(cat "$T/body")"
event c1 alpha 200 "{\"token\":\"$A\",\"kind\":\"failure\",\"step\":\"disk\",\"message\":\"no disk\"}"
log_has "install: system 'alpha' (10.79.0.50): failure disk: no disk (it installs again"
event c1 alpha 403 "{\"token\":\"$A\",\"kind\":\"success\",\"step\":\"done\"}"
"$X" system show alpha >"$T/show" || fail "system show alpha"
grep -qE '^install +on$' "$T/show" || fail "failure cleared the mark: $(cat "$T/show")"
grep -qF 'last install (#1, attempt 2):' "$T/show" || fail "system show: $(cat "$T/show")"
grep -qE 'progress +started' "$T/show" && grep -qE 'failure +disk +no disk' "$T/show" ||
	fail "system show lacks the install's steps: $(cat "$T/show")"
ok
"$X" report systems --name alpha >"$T/report" || fail "report systems --name alpha"
grep -qF "progress started; failure disk: no disk" "$T/report" || fail "report: $(cat "$T/report")"
ok

# 5. the next boot: a new token, stable in its turn; success clears the mark, netboot
# off, LOCALBOOT
[ "$(get c1 /pxelinux.cfg/01-52-54-00-ab-00-01)" = 200 ] || fail "alpha's config, second boot"
A2=$(token_of)
[ ${#A2} = 64 ] && [ "$A2" != "$A" ] || fail "no new token after the failure"
[ "$A2" = "$N" ] || fail "the second attempt's token is not the one rendered while the first ran"
[ "$(get c1 /grub/grub.cfg-52-54-00-ab-00-01)" = 200 ] && [ "$(token_of)" = "$A2" ] ||
	fail "the second attempt's token changed between renders"
event c1 alpha 200 "{\"token\":\"$A2\",\"kind\":\"progress\",\"step\":\"started\"}"
event c1 alpha 200 "{\"token\":\"$A2\",\"kind\":\"success\",\"step\":\"done\"}"
log_has "install: system 'alpha' (10.79.0.50): success done (netboot off, install mark cleared)"
event c1 alpha 403 "{\"token\":\"$A2\",\"kind\":\"progress\",\"step\":\"started\"}"
"$X" system show --json alpha >"$T/json" || fail "system show --json alpha"
python3 - "$T/json" <<'PY' || fail "system show --json: $(cat "$T/json")"
import json, sys
s = json.load(open(sys.argv[1]))
i = s["install"]
assert s["netboot"] is False and i["marked"] is False and i["id"] == 1, s
assert i["attempt"] == 3, i
assert [(e["kind"], e["step"]) for e in i["events"]] == [
    ("progress", "started"), ("failure", "disk"), ("progress", "started"),
    ("success", "done")], i
PY
ok
[ "$(get c1 /pxelinux.cfg/01-52-54-00-ab-00-01)" = 200 ] || fail "alpha's config after install"
grep -qi localboot "$T/body" && ! grep -qF xenprov.token "$T/body" ||
	fail "alpha's config after install is not LOCALBOOT: $(cat "$T/body")"
ok
# beta's token still works for beta only; 210 events: the newest 200 kept
ip netns exec c3 python3 - "$U" "$B" <<'PY' || fail "posting beta's 210 events"
import http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
for i in range(210):
    body = json.dumps({"token": sys.argv[2], "kind": "progress", "step": "p%d" % i})
    c.request("POST", "/api/systems/beta/events", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, (i, r.status)
PY
"$X" system show --json beta | python3 -c 'import json,sys
ev = json.load(sys.stdin)["install"]["events"]
assert len(ev) == 200 and ev[0]["step"] == "p10" and ev[-1]["step"] == "p209", (len(ev), ev[:1], ev[-1:])' ||
	fail "beta's events are not its newest 200"
ok
# 6. marked again: a new install (id 2, attempt 1), its own events
"$X" system edit alpha --install on --netboot on >/dev/null || fail "system edit alpha --install on"
"$X" system show --json alpha | python3 -c 'import json,sys; i=json.load(sys.stdin)["install"]; assert i["marked"] and i["id"]==2 and i["attempt"]==1 and i["events"]==[], i' ||
	fail "a new mark is not a new install"
ok
# 7. kernel options cannot claim the server's arguments
"$X" system edit gamma --kernel-options "console=ttyS0 xenprov.server=http://10.79.0.99" 2>"$T/err" &&
	fail "xenprov.server= was taken as a kernel option"
grep -qF "kernel-options: 'xenprov.server=http://10.79.0.99': xenprov.* arguments are the boot server's own" "$T/err" ||
	fail "xenprov.* kernel option: $(cat "$T/err")"
ok
# 8. an attacker on the boot network cannot end or disturb a running install. delta's
# installer (c4, its reserved address) runs attempt 1; a host with delta's MAC (c5)
# sends DHCP as a PXE ROM would (busybox udhcpc: option 60 PXEClient, its reserved
# address asked for, broadcast replies): the server ACKs it (the lease, so the spoof
# was answered as a machine's network boot), and the running installer's token goes on
# being taken, the attempt unended. A config read from delta's address (what a TFTP RRQ
# with that source address, which anyone can send, makes the server render) carries
# the next attempt's token and ends nothing either; that token from another address is
# refused. Only its use from delta's address (what the machine, killed and booted
# again, does) ends the running attempt as abandoned.
cat >"$T/udhcpc.sh" <<'S'
#!/bin/sh
# the lease recorded, nothing configured: the attacker takes no address
case "$1" in bound | renew) echo "ip=$ip boot_file=$boot_file" >"$OUT" ;; esac
exit 0
S
chmod +x "$T/udhcpc.sh"
spoof_dhcp() { # the PXE DHCP exchange of delta's MAC from c5: 0 when it was ACKed
	rm -f "$T/c5.env"
	OUT=$T/c5.env timeout 30 ip netns exec c5 busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 -B \
		-V PXEClient:Arch:00000:UNDI:002001 -r 10.79.0.53 -s "$T/udhcpc.sh" \
		>"$T/c5.log" 2>&1 && grep -qF "ip=10.79.0.53 " "$T/c5.env"
}
spoof() {
	spoof_dhcp || fail "the spoofed DHCP got no ACK: $(tail -3 "$T/c5.log") $(cat "$T/c5.env")"
	ok
}
[ "$(get c4 /ipxe/01-52-54-00-ab-00-04)" = 200 ] || fail "delta's config"
D=$(token_of)
[ ${#D} = 64 ] || fail "delta's config has no token: $(cat "$T/body")"
event c4 delta 200 "{\"token\":\"$D\",\"kind\":\"progress\",\"step\":\"started\"}"
spoof
grep -qE "boot_file=.+" "$T/c5.env" ||
	fail "the spoofed DHCP was not answered as a network boot: $(cat "$T/c5.env")"
event c4 delta 200 "{\"token\":\"$D\",\"kind\":\"progress\",\"step\":\"image\"}"
[ "$(get c4 /pxelinux.cfg/01-52-54-00-ab-00-04)" = 200 ] || fail "delta's config, attempt running"
D2=$(token_of)
[ ${#D2} = 64 ] && [ "$D2" != "$D" ] || fail "delta's next token: $(cat "$T/body")"
ip netns exec c4 curl -s --max-time 10 -o "$T/body" tftp://10.79.0.1/pxelinux.cfg/01-52-54-00-ab-00-04 ||
	fail "delta's config over TFTP"
[ "$(token_of)" = "$D2" ] || fail "a TFTP read rendered another token than HTTP"
spoof
event c4 delta 200 "{\"token\":\"$D\",\"kind\":\"progress\",\"step\":\"customize\"}"
event c2 delta 403 "{\"token\":\"$D2\",\"kind\":\"progress\",\"step\":\"started\"}"
event c4 delta 200 "{\"token\":\"$D\",\"kind\":\"progress\",\"step\":\"bootloader\"}"
! grep -q "'delta'.*booted again" "$T/serve.log" || fail "a spoof ended delta's attempt"
"$X" system show --json delta | python3 -c 'import json,sys
i = json.load(sys.stdin)["install"]
assert i["marked"] and i["attempt"] == 1, i
assert [e["step"] for e in i["events"]] == ["started", "image", "customize", "bootloader"], i' ||
	fail "delta's attempt was disturbed"
ok
# the machine killed and booted again: its new installer reports with the next token
event c4 delta 200 "{\"token\":\"$D2\",\"kind\":\"progress\",\"step\":\"started\"}"
log_has "install: system 'delta' (10.79.0.53) booted again before its install ended: its running attempt is abandoned"
event c4 delta 403 "{\"token\":\"$D\",\"kind\":\"progress\",\"step\":\"image\"}"
event c4 delta 200 "{\"token\":\"$D2\",\"kind\":\"progress\",\"step\":\"image\"}"
"$X" system show delta >"$T/show" || fail "system show delta"
grep -qF 'last install (#1, attempt 2):' "$T/show" &&
	grep -qE "failure +abandoned +attempt 1 ended: the machine booted from the network again and attempt 2's installer reported" "$T/show" ||
	fail "delta's abandoned attempt: $(cat "$T/show")"
ok
# its success: netboot off; a PXE DHCP of its MAC is then answered no boot file, logged
# once the ACK left
event c4 delta 200 "{\"token\":\"$D2\",\"kind\":\"success\",\"step\":\"done\"}"
# (the server sees netboot off at its next reload, within a second)
local_logged() {
	spoof_dhcp && grep -qF "dhcp: system 'delta' (52:54:00:ab:00:04): netboot off, answered no boot file: boots locally" "$T/serve.log"
}
wait_until 20 local_logged || fail "no DHCP answer to delta sent it to its disk, logged"
ok
# 9. a key that is not one: a clear error, not a weak token
printf 'short\n' >"$XENPROV_STATE_DIR/install-key"
[ "$(get c1 /pxelinux.cfg/01-52-54-00-ab-00-01)" = 500 ] || fail "a config rendered with a broken key"
log_has "install-key: not 64 hex digits"
srv_stop
pass
