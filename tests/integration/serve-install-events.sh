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
#     nothing, failure keeps the mark and ends the attempt (the next config has a new
#     token) and logs the reason; success clears the mark, sets netboot off, and the
#     config is then LOCALBOOT;
#   - 210 events posted: the newest 200 kept; a broken STATE/install-key: 500, logged.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need curl timeout

srv_settings
echo kernel >"$T/vmlinuz"
"$X" distro add deb --kernel "$T/vmlinuz" >/dev/null || fail "distro add deb"
"$X" system add alpha --mac 52:54:00:ab:00:01 --ip 10.79.0.50 --distro deb --install on \
	--kernel-options console=ttyS0 >/dev/null || fail "system add alpha --install on"
"$X" system add beta --mac 52:54:00:ab:00:02 --ip 10.79.0.51 --distro deb >/dev/null ||
	fail "system add beta"
"$X" system edit beta --install on >/dev/null || fail "system edit beta --install on"
"$X" system add gamma --mac 52:54:00:ab:00:03 --ip 10.79.0.52 --distro deb >/dev/null ||
	fail "system add gamma"
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
srv_start --http --tftp
U=http://10.79.0.1:8080
get() { # NS PATH: the body in $T/body, the status printed
	ip netns exec "$1" curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$U$2"
}
# post NS SYSTEM BODY-FILE: the status; the answer in $T/body
post() {
	ip netns exec "$1" curl -s -o "$T/body" -w '%{http_code}' --max-time 10 \
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
[ "$(get c1 /pxelinux.cfg/01-52-54-00-ab-00-01)" = 200 ] && [ "$(token_of)" = "$A" ] ||
	fail "\"started\" changed the token"
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
# 8. a key that is not one: a clear error, not a weak token
printf 'short\n' >"$XENPROV_STATE_DIR/install-key"
[ "$(get c1 /pxelinux.cfg/01-52-54-00-ab-00-01)" = 500 ] || fail "a config rendered with a broken key"
log_has "install-key: not 64 hex digits"
srv_stop
pass
