#!/bin/bash
# serve-http.sh - `xenprov serve`'s HTTP with curl in a network namespace: boot files
# whole and by byte range (206, 416), HEAD, iPXE scripts per MAC, the distro's kernel;
# the JSON API: reading without credentials, writes refused without the token and
# accepted with it (and seen at once by TFTP and DHCP's inventory); traversal refused.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need curl python3 cmp

export XENPROV_STATE_DIR=$T/state
R=$T/tftp
mkdir -p "$R" "$T/secret"
"$X" settings set server 10.79.0.1 >/dev/null || fail "settings"
"$X" settings set tftp-root "$R" >/dev/null || fail "settings"
"$X" settings set http-port 8080 >/dev/null || fail "settings"
head -c 3000000 /dev/urandom >"$T/vmlinuz"
echo initrd-bytes >"$T/initrd"
echo secret >"$T/secret/passwd"
head -c 100000 /dev/urandom >"$R/pxelinux.0"
chmod 644 "$T/vmlinuz" "$T/initrd" "$R/pxelinux.0"
one_client
srv_start --http --tftp
U=http://10.79.0.1:8080
code() { C curl -s -o "$T/body" -w '%{http_code}' "$@"; }
want() { # CODE ARGS...
	local w=$1 got
	shift
	got=$(code "$@")
	[ "$got" = "$w" ] || fail "curl $*: HTTP $got, want $w: $(head -c 200 "$T/body")"
	ok
}

# --interface br0: HTTP listens on br0 only. In the server's own namespace, a
# connection to 127.0.0.1 arrives on lo and must find nothing listening; the same
# request on br0's address is served.
ip netns exec "$SRV" curl -s -o /dev/null --max-time 5 http://127.0.0.1:8080/pxelinux.0 &&
	fail "HTTP answered on lo although the server serves br0 only"
ok
ip netns exec "$SRV" curl -s -o /dev/null --max-time 5 http://10.79.0.1:8080/pxelinux.0 ||
	fail "HTTP did not answer on br0's address"
ok

# boot files, whole and in parts
want 200 "$U/distros/deb/kernel"
cmp -s "$T/body" "$T/vmlinuz" || fail "the kernel over HTTP differs"
ok
want 206 -r 1000-1999 "$U/distros/deb/kernel"
cmp -s "$T/body" <(tail -c +1001 "$T/vmlinuz" | head -c 1000) || fail "range 1000-1999 differs"
ok
want 206 -r -500 "$U/distros/deb/kernel"
cmp -s "$T/body" <(tail -c 500 "$T/vmlinuz") || fail "the suffix range differs"
ok
want 206 -r 2999000- "$U/distros/deb/kernel"
cmp -s "$T/body" <(tail -c 1000 "$T/vmlinuz") || fail "the open range differs"
ok
want 416 -r 5000000-5000010 "$U/distros/deb/kernel"
C curl -s -I "$U/pxelinux.0" >"$T/head" || fail "HEAD failed"
grep -qi "^content-length: 100000" "$T/head" || fail "HEAD: no Content-Length 100000: $(cat "$T/head")"
grep -qi "^accept-ranges: bytes" "$T/head" || fail "HEAD: no Accept-Ranges"
ok
want 200 "$U/pxelinux.0"
cmp -s "$T/body" "$R/pxelinux.0" || fail "pxelinux.0 over HTTP differs"
ok
want 404 "$U/nothing-here"

# iPXE script per MAC, the kernel and initrd by HTTP
want 200 "$U/ipxe/01-52-54-00-aa-00-01"
head -1 "$T/body" | grep -q '^#!ipxe' || fail "the iPXE script does not start with #!ipxe"
grep -q "$U/distros/deb/kernel" "$T/body" || fail "the iPXE script does not load the kernel by HTTP: $(cat "$T/body")"
grep -q "console=ttyS0" "$T/body" || fail "the iPXE script lacks the kernel options"
ok

# traversal
want_not200() {
	local got
	got=$(code --path-as-is "$1")
	[ "$got" != 200 ] || fail "$1 was served"
	ok
}
want_not200 "$U/../secret/passwd"
want_not200 "$U/%2e%2e/secret/passwd"
want_not200 "$U/..%2fsecret%2fpasswd"

# the API: reads for everyone
want 200 "$U/api/systems"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert [s["name"] for s in v]==["alpha"], v; assert v[0]["mac"]=="52:54:00:aa:00:01"' "$T/body" ||
	fail "GET /api/systems: $(cat "$T/body")"
ok
want 200 "$U/api/distros/deb"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["kernel"].endswith("/vmlinuz"), v' "$T/body" ||
	fail "GET /api/distros/deb: $(cat "$T/body")"
ok
want 404 "$U/api/systems/nobody"
want 200 "$U/api/profiles"
# writes need the token
body='{"mac": "52:54:00:aa:00:02", "ip": "10.79.0.51", "distro": "deb"}'
want 401 -X PUT -d "$body" "$U/api/systems/beta"
want 401 -X PUT -H "Authorization: Bearer 0123456789abcdef0123456789abcdef" -d "$body" "$U/api/systems/beta"
TOKEN=$(cat "$XENPROV_STATE_DIR/api-token")
[ "$(stat -c %a "$XENPROV_STATE_DIR/api-token")" = 600 ] || fail "the token file is not mode 600"
ok
want 201 -X PUT -H "Authorization: Bearer $TOKEN" -d "$body" "$U/api/systems/beta"
"$X" system show beta --json >"$T/beta.json" || fail "beta is not in the inventory after PUT"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["ip"]=="10.79.0.51", v' "$T/beta.json" ||
	fail "system show beta: $(cat "$T/beta.json")"
ok
want 400 -X PUT -H "Authorization: Bearer $TOKEN" -d '{"mac": "not-a-mac", "distro": "deb"}' "$U/api/systems/bad"
want 400 -X PUT -H "Authorization: Bearer $TOKEN" -d 'not json' "$U/api/systems/bad"
want 409 -X PUT -H "Authorization: Bearer $TOKEN" -d '{"mac": "52:54:00:aa:00:01", "distro": "deb"}' "$U/api/systems/dup"
want 405 -X DELETE -H "Authorization: Bearer $TOKEN" "$U/api/profiles/x"
C curl -s -o "$T/b.cfg" tftp://10.79.0.1/pxelinux.cfg/01-52-54-00-aa-00-02 || fail "a system made by the API is not served by TFTP"
ok
want 401 -X DELETE "$U/api/systems/beta"
want 200 -X DELETE -H "Authorization: Bearer $TOKEN" "$U/api/systems/beta"
want 404 "$U/api/systems/beta"

# SIGHUP reloads
kill -HUP "$SRV_PID"
for _ in $(seq 50); do grep -q "reloaded (SIGHUP)" "$T/serve.log" && break; sleep 0.1; done
grep -q "reloaded (SIGHUP)" "$T/serve.log" || fail "SIGHUP did not reload"
want 200 "$U/api/systems/alpha"

srv_stop || fail "the server exited with an error on SIGTERM"
echo "PASS: $n checks"
