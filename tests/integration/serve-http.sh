#!/bin/bash
# serve-http.sh - `xenprov serve`'s HTTP with curl in a network namespace: boot files
# whole and by byte range (206, 416), HEAD, iPXE scripts per MAC, the distro's kernel;
# the JSON API: reading without credentials, writes refused without the token and
# accepted with it (and seen at once by TFTP and DHCP's inventory); traversal refused.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need curl python3 cmp

srv_settings
mkdir -p "$T/secret"
head -c 3000000 /dev/urandom >"$T/vmlinuz"
echo initrd-bytes >"$T/initrd"
echo secret >"$T/secret/passwd"
head -c 100000 /dev/urandom >"$R/pxelinux.0"
chmod 644 "$T/vmlinuz" "$T/initrd" "$R/pxelinux.0"
one_client
# secrets: a profile with a root password hash and a VNC password, a child that
# inherits them, and a system booting from it
HASH='$6$saltsalt$Xq1zPdCq0lGZ3k9mYyZ1d3b0u8nU2bTQ5cVJkq7T8bY'
mkdir -p "$T/srv-keys"
"$X" profile add web --root-password-hash "$HASH" --config vncpasswd=hunter2 \
	--copy-in "$T/srv-keys:/etc/keys" --firstboot-command 'register --token=tok3n-s3cret' \
	--distro deb --memory 512 >/dev/null || fail "profile add web"
"$X" profile add web2 --parent web >/dev/null || fail "profile add web2"
"$X" system add gamma --mac 52:54:00:aa:00:03 --profile web >/dev/null || fail "system add gamma"
srv_start --http --tftp
U=http://10.79.0.1:8080
code() { C curl -s -o "$T/body" -w '%{http_code}' "$@"; }
want() { # CODE ARGS...
	local w=$1 got
	shift
	got=$(code "$@")
	[ "$got" = "$w" ] || fail "curl $*: HTTP $got, want $w: $(head -c 300 "$T/body" | tr "\n" " ")"
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
# a malformed range is a 416, never the whole file or another slice
want 416 -H 'Range: bytes=--1' "$U/distros/deb/kernel"
want 416 -H 'Range: bytes=5-3' "$U/pxelinux.0"
want 416 -H 'Range: bytes=+1-2' "$U/pxelinux.0"
# %00 is refused, not taken as the end of the name
want 400 --path-as-is "$U/pxelinux.0%00.txt"
want 400 --path-as-is "$U/pxelinux.0%00/../x"
want 400 "$U/api/systems/alpha%00x"
want 200 "$U/pxelinux.0?x=%00" # the query is not part of the name
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
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert [s["name"] for s in v]==["alpha","gamma"], v; assert v[0]["mac"]=="52:54:00:aa:00:01"' "$T/body" ||
	fail "GET /api/systems: $(cat "$T/body")"
ok
want 200 "$U/api/distros/deb"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["kernel"].endswith("/vmlinuz"), v' "$T/body" ||
	fail "GET /api/distros/deb: $(cat "$T/body")"
ok
want 404 "$U/api/systems/nobody"
want 200 "$U/api/profiles"

# the anonymous view holds no secret: the hash and the VNC password are withheld
# (named, not shown) in settings and in effective, for the profile and its child, and
# so are the host-only keys (copy-in's host paths, first-boot commands); the token
# shows no more; the rendered boot files and the log never hold them
WH='["root-password-hash", "config.vncpasswd", "copy-in", "firstboot-command"]'
no_secret() { # WHAT
	! grep -q -e 'saltsalt' -e hunter2 -e tok3n -e srv-keys "$T/body" ||
		fail "$1 holds a secret: $(cat "$T/body")"
	ok
}
want 200 "$U/api/profiles"
no_secret "GET /api/profiles"
python3 -c '
import json, sys
v = {p["name"]: p for p in json.load(open(sys.argv[1]))}
for n in ("web", "web2"):
    p = v[n]
    assert sorted(p["withheld"]) == sorted(json.loads(sys.argv[2])), p
    assert not set(json.loads(sys.argv[2])) & set(p["effective"]), p
    assert p["effective"]["memory"] == "512", p
assert "root-password-hash" not in v["web"]["settings"], v["web"]
assert v["web2"]["settings"] == {}, v["web2"]
' "$T/body" "$WH" || fail "GET /api/profiles: $(cat "$T/body")"
ok
for p in web web2; do
	want 200 "$U/api/profiles/$p"
	no_secret "GET /api/profiles/$p"
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert sorted(v["withheld"])==sorted(json.loads(sys.argv[2])), v' "$T/body" "$WH" ||
		fail "GET /api/profiles/$p: $(cat "$T/body")"
	ok
	want 200 -H "Authorization: Bearer $(cat "$XENPROV_STATE_DIR/api-token")" "$U/api/profiles/$p"
	no_secret "GET /api/profiles/$p with the token"
done
for f in ipxe/01-52-54-00-aa-00-03 pxelinux.cfg/01-52-54-00-aa-00-03 grub/grub.cfg-01-52-54-00-aa-00-03; do
	want 200 "$U/$f"
	grep -q "distros/deb/kernel" "$T/body" || fail "$f does not boot deb: $(cat "$T/body")"
	no_secret "$f"
done
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

# distros over the API: the token names only files beneath the TFTP root, the distro
# store or distro-roots; never /etc/shadow, the token or the inventory, however named
A="Authorization: Bearer $TOKEN"
S=$XENPROV_STATE_DIR
put_distro() { # WANT-CODE JSON
	want "$1" -X PUT -H "$A" -d "$2" "$U/api/distros/x"
}
forbidden() { # JSON
	put_distro 403 "$1"
	grep -q -e "is not beneath a directory the API may take files from" \
		-e "is a file of the state directory" "$T/body" || fail "403 without the reason: $(cat "$T/body")"
	ok
}
ln -s "$T/secret/passwd" "$R/link-out"
ln "$S/inventory.db" "$R/inv.db"
cp "$T/initrd" "$R/initrd.ok"
forbidden '{"kernel": "/etc/shadow"}'
forbidden '{"kernel": "'"$R"'/pxelinux.0", "initrd": "'"$S"'/api-token"}'
forbidden '{"kernel": "'"$S"'/inventory.db"}'
forbidden '{"kernel": "'"$S"'/distro-files/../inventory.db"}'
forbidden '{"kernel": "'"$R"'/../secret/passwd"}'
forbidden '{"kernel": "'"$R"'/link-out"}'
forbidden '{"kernel": "'"$R"'/inv.db"}'
forbidden '{"kernel": "'"$T"'/vmlinuz"}' # deb's own original: not beneath a root
put_distro 400 '{"kernel": "sha256:../../api-token"}'
put_distro 400 '{"kernel": "relative/path"}'
want 404 "$U/api/distros/x"
ls "$S/distro-files" | grep -v -e "^$(sha256sum "$T/vmlinuz" | cut -c1-64)$" -e "^$(sha256sum "$T/initrd" | cut -c1-64)$" |
	grep -q . && fail "a refused PUT left a file in the store: $(ls "$S/distro-files")"
ok
# the same bytes under the TFTP root are fine: copied, and served from the copy
put_distro 201 '{"kernel": "'"$R"'/pxelinux.0", "initrd": "'"$R"'/initrd.ok"}'
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["kernel_sha256"]==sys.argv[2] and v["served"], v' \
	"$T/body" "$(sha256sum "$R/pxelinux.0" | cut -c1-64)" || fail "PUT x: $(cat "$T/body")"
ok
rm "$R/initrd.ok"
want 200 "$U/distros/x/initrd"
cmp -s "$T/body" "$T/initrd" || fail "x's initrd is not the copy"
ok
# GET, then PUT back what it says about deb's files, by digest: accepted
want 200 "$U/api/distros/deb"
KD=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel_sha256"])' "$T/body")
put_distro 200 '{"kernel": "sha256:'"$KD"'", "kernel_options": "quiet"}'
want 200 "$U/distros/x/kernel"
cmp -s "$T/body" "$T/vmlinuz" || fail "x's kernel by digest is not deb's"
ok
want 200 -X DELETE -H "$A" "$U/api/distros/x"
# a distro of an older inventory, naming host paths: listed, never served
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO distros (name, kernel, created, updated) VALUES (?, ?, 1, 1)",
          ("old", "/etc/shadow"))
c.commit()' "$S/inventory.db" || fail "python3 sqlite3"
want 200 "$U/api/distros/old"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["served"] is False and v["kernel_sha256"] is None, v' "$T/body" ||
	fail "GET /api/distros/old: $(cat "$T/body")"
ok
want 404 "$U/distros/old/kernel"
want 403 "$U/inv.db"
C curl -s -o "$T/x" tftp://10.79.0.1/inv.db && fail "TFTP served a hard link of the inventory"
ok

# SIGHUP reloads
kill -HUP "$SRV_PID"
for _ in $(seq 50); do grep -q "reloaded (SIGHUP)" "$T/serve.log" && break; sleep 0.1; done
grep -q "reloaded (SIGHUP)" "$T/serve.log" || fail "SIGHUP did not reload"
want 200 "$U/api/systems/alpha"

srv_stop || fail "the server exited with an error on SIGTERM"
! grep -q -e saltsalt -e hunter2 "$T/serve.log" || fail "the log holds a secret"
ok
echo "PASS: $n checks"
