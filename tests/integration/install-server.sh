#!/bin/bash
# install-server.sh - `xenprov install --server` (koan's job) end to end, in network
# namespaces: one `xenprov serve` (its own state), two "dom0s" (namespaces d1 and d2,
# each with its own state directory, pool and config directory) that build guests from
# the profile it serves:
#   - both dom0s install from the same profile at once; each fetches the golden image
#     once (the server's log names each fetch) into a sparse file, a second guest on a
#     dom0 fetches nothing;
#   - registration: every guest made with the token is a system on the server with its
#     MAC, address, host name and netboot off; without a token it is made and says it
#     was not registered; --system S takes S's profile and MAC and updates S;
#   - a fetch killed half way (the link slowed by tc, the client killed by its PID once
#     its partial file has grown) goes on with a range request (the server logs the
#     range); a partial file corrupted before the rest comes is refused by the hash and
#     removed; a cached image changed behind the cache's back is fetched again;
#   - the server's own messages: no such profile, a profile with no image, a token
#     refused; https: a certificate not verified is refused, --ca-file verifies it;
#   - golden images go to the API token's holders only: without it (or with a wrong
#     one) install is refused before anything is made, with a message saying why; a
#     profile with publish-image open is installed without a token (and not
#     registered), and only its image is served to anyone;
#   - the image endpoints probed as an attacker would: no token, a wrong, cut or
#     lengthened token, another scheme; path traversal (../, %2e%2e), %00, names that
#     are not a hash (upper case, overlong, a suffix), percent-encoded hashes, the hash
#     of a file that is not a golden image (the API token's), an unknown hash (401
#     without the token, as a published one: no oracle), ranges past the end, reversed,
#     several, a range without the token, a 64 KiB header, methods that write; a
#     request without the token prepares nothing (no image built, nothing published);
#     a failed preparation is logged with its detail and answered with none (no path);
#     a preparation under way holds up no other request; a golden image changed
#     since it was hashed is not served under the old name; the server stopped while a
#     preparation runs and a request waits behind it answers both and exits cleanly;
#   - the installer path: the guest's system registered with netboot on, the server's
#     pxelinux config for its MAC read (the autoinstall URL on the installer's command
#     line), kernel and initrd fetched, an empty disk at disk-size, on_reboot "destroy";
#     with --wait --start: started, watched until it powers off, switched to pygrub
#     with the profile's on_reboot, netboot off, started again; without --wait, switched
#     later by --disk-boot (--pxeboot: xenprov-pxeboot --local), or deleted with its
#     installer's files. No Xen runs here:
#     lib/fake-xl stands in for xl (XENPROV_XL) and powers the "installer" off itself.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need curl tar python3 tc sha256sum dd cmp

srv_settings
URL=http://10.79.0.1:8080
echo kernel >"$T/vmlinuz-xen"
guest_root "$T/root"
printf '#!/bin/sh\n' >"$T/root/bin/sh"
chmod 755 "$T/root/bin/sh"
tar -C "$T/root" --numeric-owner -czf "$T/root.tar.gz" .
"$X" profile add web --image "$T/root.tar.gz" --disk-size 64M --memory 256 \
	--boot kernel --kernel "$T/vmlinuz-xen" --network static --ip-pool 10.79.0.0/24 \
	--gateway 10.79.0.1 >/dev/null 2>"$T/err" || fail "profile add web: $(cat "$T/err")"
# published to anyone on purpose (its own image: 32 MiB); and one asked for without the
# token only (its image must never be built); one whose preparation fails; one whose
# preparation takes a while (a 2 GiB image to hash)
"$X" profile add pub --parent web --disk-size 32M --publish-image open >/dev/null 2>"$T/err" ||
	fail "profile add pub: $(cat "$T/err")"
"$X" profile add sealed --parent web --disk-size 48M >/dev/null 2>"$T/err" ||
	fail "profile add sealed: $(cat "$T/err")"
cp "$T/root.tar.gz" "$T/gone.tar.gz"
"$X" profile add broken --parent web --image "$T/gone.tar.gz" >/dev/null 2>"$T/err" ||
	fail "profile add broken: $(cat "$T/err")"
rm "$T/gone.tar.gz"
"$X" profile add big --parent web --disk-size 2G >/dev/null 2>"$T/err" ||
	fail "profile add big: $(cat "$T/err")"
# an installer: a distro of the OS family debian and the shipped preseed
echo "installer kernel" >"$T/inst-vmlinuz"
echo "installer initrd" >"$T/inst-initrd"
"$X" distro add inst --kernel "$T/inst-vmlinuz" --initrd "$T/inst-initrd" --os debian \
	--kernel-options "console=hvc0" >/dev/null 2>"$T/err" || fail "distro add: $(cat "$T/err")"
"$X" profile add inst --distro inst --disk-size 32M --autoinstall debian-preseed \
	--root-password-hash '$6$saltsalt$Xq1zPdCq0lGZ3k9mYyZ1d3b0u8nU2bTQ5cVJkq7T8bY' \
	--config 'on_reboot="preserve"' >/dev/null 2>"$T/err" ||
	fail "profile add inst: $(cat "$T/err")"

srv_ns 10.79.0.1/24
client_add d1 52:54:00:dd:00:01
client_add d2 52:54:00:dd:00:02
ip -n d1 addr add 10.79.0.11/24 dev eth0
ip -n d2 addr add 10.79.0.12/24 dev eth0
# the server's port towards d1 (tc slows it for the resume tests)
peer=$(ip -n d1 -o link show eth0 | sed -n 's/.*eth0@if\([0-9]*\):.*/\1/p')
P1=$(ip -n "$SRV" -o link show | awk -F': ' -v i="$peer" '$1 == i { sub(/@.*/, "", $2); print $2 }')
[ -n "$P1" ] || fail "cannot find d1's port on the bridge"
srv_start --http
wait_until 10 test -s "$T/state/api-token" || fail "no API token"
cp "$T/state/api-token" "$T/token"
unset XENPROV_STATE_DIR

# dom0 N's command: xenprov in namespace dN with its own state directory and configs
mkdir -p "$T/d1/cfg" "$T/d2/cfg" "$T/d3/cfg"
D() {
	local ns=$1 st=$2
	shift 2
	ip netns exec "$ns" env XENPROV_STATE_DIR="$T/$st" XENPROV_SERVER=$URL "$X" "$@"
}
drun() { # drun NS STATE ARGS...: as run, in a dom0
	local ns=$1 st=$2
	shift 2
	ip netns exec "$ns" env XENPROV_STATE_DIR="$T/$st" XENPROV_SERVER=$URL "$X" "$@" \
		>"$T/stdout" 2>"$T/err" </dev/null
	rc=$?
	! grep -q -E 'Sanitizer|runtime error' "$T/err" || fail "xenprov $*: sanitizer report"
}
want() { [ "$rc" = "$1" ] || fail "exit $rc, want $1: $(cat "$T/stdout" "$T/err")"; ok; }
image_fetches() { grep -c "http: image $HASH to $1: bytes 0-" "$T/serve.log"; }

# ---- listing ----
drun d1 d1 install --list profiles
want 0
out_has "web"
grep -q "^inst  *distro  *inst" "$T/stdout" || fail "list profiles: $(cat "$T/stdout")"
ok
drun d1 d1 install --list profiles --json
want 0
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert {p["name"] for p in a} == {"web","inst","pub","sealed","broken","big"}' \
	"$T/stdout" || fail "list --json"
ok

# ---- two dom0s at once, same profile ----
D d1 d1 install --profile web --name g1a --ip 10.79.0.101 --config-dir "$T/d1/cfg" \
	--token-file "$T/token" >"$T/o1" 2>"$T/e1" &
p1=$!
D d2 d2 install --profile web --name g2a --ip 10.79.0.102 --config-dir "$T/d2/cfg" \
	--token-file "$T/token" >"$T/o2" 2>"$T/e2" &
p2=$!
wait $p1 || fail "d1's install: $(cat "$T/o1" "$T/e1")"
wait $p2 || fail "d2's install: $(cat "$T/o2" "$T/e2")"
ok
for i in 1 2; do
	grep -q "image .*: fetched 64.0 MiB" "$T/o$i" || fail "dom0 $i fetched nothing: $(cat "$T/o$i")"
	grep -q "registered on $URL as system g${i}a" "$T/o$i" || fail "dom0 $i: not registered"
	! grep -q -E 'Sanitizer|runtime error' "$T/e$i" || fail "sanitizer report"
done
ok
HASH=$(sha256sum "$T"/d1/images/remote/*.img | awk '{print $1}')
[ "${#HASH}" = 64 ] || fail "no image in d1's cache"
cmp -s "$T/d1/images/remote/$HASH.img" "$T/d2/images/remote/$HASH.img" || fail "the caches differ"
[ "$(stat -c %a "$T/d1/images/remote/$HASH.img")" = 444 ] || fail "the cached image is writable"
# its zeros were not written: as sparse as the server's (64 MiB, a few MiB of data)
kib=$(du -k "$T/d1/images/remote/$HASH.img" | cut -f1)
echo "the cached 64 MiB image holds $kib KiB"
[ "$kib" -lt 16384 ] || fail "the cached image is not sparse: $kib KiB"
ok
# the server's published image is the golden image it built, byte for byte
cmp -s "$T/d1/images/remote/$HASH.img" "$(ls "$T"/state/images/*.img | head -n 1)" ||
	fail "the cached image differs from the server's golden image"
[ "$(image_fetches 10.79.0.11)" = 1 ] && [ "$(image_fetches 10.79.0.12)" = 1 ] ||
	fail "each dom0 fetched the image once: $(grep "http: image" "$T/serve.log")"
ok
# the guests are made as domain create makes them: a config xl reads, the disk a copy
D d1 d1 config check "$T/d1/cfg/g1a.cfg" >/dev/null || fail "g1a's config does not check"
grep -q "ip=10.79.0.101" "$T/d1/cfg/g1a.cfg" || fail "g1a's vif has no address"
[ -s "$T/d1/disks/g1a.img" ] && [ -s "$T/d2/disks/g2a.img" ] || fail "no disks"
D d1 d1 image cat "$T/d1/disks/g1a.img" /etc/hostname >"$T/h" || fail "image cat"
[ "$(cat "$T/h")" = g1a ] || fail "g1a's host name is '$(cat "$T/h")'"
D d1 d1 domain show g1a --json >"$T/j" || fail "domain show g1a"
ok

# ---- the second guest on a dom0 fetches nothing ----
t0=$(date +%s%N)
drun d1 d1 install --profile web --name g1b --ip 10.79.0.103 --config-dir "$T/d1/cfg" \
	--token-file "$T/token"
t1=$(date +%s%N)
want 0
out_has "cached, nothing fetched"
[ "$(image_fetches 10.79.0.11)" = 1 ] || fail "the second guest fetched the image again"
ok
echo "second guest on d1 (cached image, local create included): $(((t1 - t0) / 1000000)) ms"
drun d2 d2 install --profile web --name g2b --ip 10.79.0.104 --config-dir "$T/d2/cfg" \
	--token-file "$T/token" --json
want 0
python3 - "$T/stdout" <<'P' || fail "install --json: $(cat "$T/stdout")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["image"]["cached"] is True and j["image"]["fetched"] == 0, j
assert j["registered"] is True and j["mode"] == "image" and j["domain"]["name"] == "g2b", j
P
ok

# ---- without a token: the image is refused, nothing is made ----
drun d1 d1 install --profile web --name g1c --ip 10.79.0.105 --config-dir "$T/d1/cfg"
want 1
err_has "serves the golden image of profile 'web' with its API token only, and none was given"
err_has "hint: give it with --token-file FILE or XENPROV_TOKEN"
[ ! -e "$T/d1/cfg/g1c.cfg" ] && [ ! -e "$T/d1/disks/g1c.img" ] || fail "g1c was made without the token"
grep -q "image of profile 'web' to 10.79.0.11: refused, no API token$" "$T/serve.log" ||
	fail "the refusal is not logged"
ok
# a token refused: the server's own message, and what it means
echo wrongtokenwrongtoken >"$T/bad-token"
XENPROV_TOKEN=$(cat "$T/bad-token") drun d1 d1 install --profile web --name g1d --ip 10.79.0.106 \
	--config-dir "$T/d1/cfg"
want 1
err_has "refused the API token given for the golden image of profile 'web'"
err_has "golden images are served with the API token only"
[ ! -e "$T/d1/cfg/g1d.cfg" ] || fail "g1d was made with a wrong token"
grep -q "image of profile 'web' to 10.79.0.11: refused, no API token (a wrong token)" \
	"$T/serve.log" || fail "the wrong token is not logged"
ok
# a profile published openly: made without a token, not registered
drun d1 d1 install --profile pub --name g1c --ip 10.79.0.105 --config-dir "$T/d1/cfg"
want 0
grep -q "image .*: fetched 32.0 MiB" "$T/stdout" || fail "pub: $(cat "$T/stdout")"
out_has "g1c: not registered on $URL: no API token"
HPUB=$(sed -n 's/.*image \([0-9a-f]\{12\}\): fetched.*/\1/p' "$T/stdout")
HPUB=$(basename "$(ls "$T"/d1/images/remote/"$HPUB"*.img)" .img)
[ "${#HPUB}" = 64 ] && [ "$HPUB" != "$HASH" ] || fail "pub's image: '$HPUB'"
ok

# ---- registration: every guest made with the token is a system on the server ----
curl -sf "$URL/api/systems" -o "$T/systems" --interface 10.79.0.1 2>/dev/null ||
	ip netns exec d1 curl -sf "$URL/api/systems" -o "$T/systems" || fail "GET /api/systems"
for g in g1a g1b g2a g2b; do
	st=d1
	[ "${g:1:1}" = 2 ] && st=d2
	mac=$(D d1 "$st" domain show "$g" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["mac"])')
	python3 - "$T/systems" "$g" "$mac" <<'P' || fail "system $g on the server"
import json, sys
s = {x["name"]: x for x in json.load(open(sys.argv[1]))}
x = s[sys.argv[2]]
assert x["mac"] == sys.argv[3] and x["netboot"] is False and x["profile"] == "web", x
assert x["hostname"] == sys.argv[2] and x["ip"] and x["ip"].startswith("10.79.0.10"), x
P
done
python3 -c 'import json,sys; s={x["name"] for x in json.load(open(sys.argv[1]))}; assert "g1c" not in s and "g1d" not in s' \
	"$T/systems" || fail "an unregistered guest is on the server"
ok

# ---- --system: the served system's profile and MAC; registered under its name ----
got=$(ip netns exec d1 curl -s -w '%{http_code}' -X PUT \
	-H "Authorization: Bearer $(cat "$T/token")" \
	-d '{"mac": "00:16:3e:00:00:99", "profile": "web", "netboot": false}' \
	"$URL/api/systems/sys1" -o "$T/put")
[ "$got" = 201 ] || fail "PUT /api/systems/sys1: HTTP $got $(cat "$T/put")"
drun d1 d1 install --system sys1 --name g1e --ip 10.79.0.110 --config-dir "$T/d1/cfg" \
	--token-file "$T/token"
want 0
out_has "registered on $URL as system sys1"
grep -q "mac=00:16:3e:00:00:99" "$T/d1/cfg/g1e.cfg" || fail "g1e has not the system's MAC"
ip netns exec d1 curl -sf "$URL/api/systems/sys1" -o "$T/sys1" || fail "GET sys1"
python3 -c 'import json,sys; x=json.load(open(sys.argv[1])); assert x["netboot"] is False and x["ip"] == "10.79.0.110" and x["hostname"] == "g1e", x' \
	"$T/sys1" || fail "sys1 on the server: $(cat "$T/sys1")"
ok

# ---- the server's own messages ----
drun d1 d1 install --profile nope --name x1
want 1
err_has "no profile 'nope'"
drun d1 d1 install --profile inst --name x1 --image
want 1
err_has "profile 'inst' has no image"
drun d1 d1 install --system nosuch --name x1
want 1
err_has "no system 'nosuch'"
drun d1 d1 install --profile web --name x1 --server http://10.79.0.1:9
want 1
err_has "10.79.0.1:9"
drun d1 d1 install --profile web --name x1 --server ftp://10.79.0.1
want 2

# ---- https: the certificate is verified, against --ca-file when given (openssl
# s_server stands in for a TLS proxy: its -www page is no JSON, which is the point) ----
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.pem" \
		-days 2 -subj /CN=10.79.0.1 -addext subjectAltName=IP:10.79.0.1 2>/dev/null ||
		fail "openssl req"
	ip netns exec "$SRV" openssl s_server -accept 8443 -cert "$T/tls.pem" -key "$T/tls.key" \
		-www -quiet >/dev/null 2>&1 &
	PIDS+=("$!")
	tls_up() { ip netns exec d1 bash -c 'exec 3<>/dev/tcp/10.79.0.1/8443' 2>/dev/null; }
	wait_until 10 tls_up || fail "s_server did not listen"
	drun d1 d1 install --server https://10.79.0.1:8443 --profile web --name t1
	want 1
	err_has "certificate"
	drun d1 d1 install --server https://10.79.0.1:8443 --profile web --name t1 \
		--ca-file "$T/tls.pem"
	want 1
	err_has "the answer is not JSON"
	err_lacks "certificate"
fi

# ---- a fetch killed half way goes on with a range ----
tc -n "$SRV" qdisc add dev "$P1" root tbf rate 40mbit burst 32k latency 400ms ||
	fail "tc cannot slow the link"
# the command itself in the background (ip netns exec and env exec it): its PID is $!
ip netns exec d1 env XENPROV_STATE_DIR="$T/d3" "$X" install --server $URL --profile web \
	--name g3a --ip 10.79.0.107 --config-dir "$T/d3/cfg" --token-file "$T/token" >"$T/o3" 2>&1 &
p3=$!
PIDS+=("$p3")
part=$T/d3/images/remote/$HASH.part
part_grew() { [ "$(stat -c %s "$part" 2>/dev/null || echo 0)" -gt 8000000 ]; }
wait_until 60 part_grew || fail "the slowed fetch did not start"
kill -KILL "$p3"
wait "$p3" 2>/dev/null
have=$(stat -c %s "$part")
[ "$have" -lt 67108864 ] || fail "the fetch was not cut short"
ok
tc -n "$SRV" qdisc del dev "$P1" root
drun d1 d3 install --profile web --name g3a --ip 10.79.0.107 --config-dir "$T/d3/cfg" \
	--token-file "$T/token"
want 0
out_has "resumed"
from=$(sed -n 's/.*resumed at byte \([0-9]*\).*/\1/p' "$T/stdout")
[ -n "$from" ] && [ "$from" -ge "$have" ] || fail "resumed at '$from', the part held $have"
grep -q "http: image $HASH to 10.79.0.11: bytes $from-67108863 of 67108864" "$T/serve.log" ||
	fail "the server saw no range from $from: $(grep 'http: image' "$T/serve.log")"
cmp -s "$T/d3/images/remote/$HASH.img" "$T/d1/images/remote/$HASH.img" || fail "resumed image differs"
[ ! -e "$part" ] || fail "the partial file is left"
ok

# ---- a corrupted partial fetch is refused by the hash ----
mkdir -p "$T/d4/cfg"
tc -n "$SRV" qdisc add dev "$P1" root tbf rate 40mbit burst 32k latency 400ms
ip netns exec d1 env XENPROV_STATE_DIR="$T/d4" "$X" install --server $URL --profile web \
	--name g4a --ip 10.79.0.108 --config-dir "$T/d4/cfg" --token-file "$T/token" >"$T/o4" 2>&1 &
p4=$!
PIDS+=("$p4")
part=$T/d4/images/remote/$HASH.part
wait_until 60 part_grew || fail "the slowed fetch did not start"
kill -KILL "$p4"
wait "$p4" 2>/dev/null
tc -n "$SRV" qdisc del dev "$P1" root
printf 'corrupt' | dd of="$part" bs=1 seek=4096 conv=notrunc status=none
drun d1 d4 install --profile web --name g4a --ip 10.79.0.108 --config-dir "$T/d4/cfg" \
	--token-file "$T/token"
want 1
err_has "does not match its SHA-256 $HASH"
[ ! -e "$part" ] && [ ! -e "$T/d4/images/remote/$HASH.img" ] || fail "the bad image is kept"
D d1 d4 domain list --json | python3 -c 'import json,sys; assert json.load(sys.stdin) == []' ||
	fail "a guest was made from a bad image"
ok
drun d1 d4 install --profile web --name g4a --ip 10.79.0.108 --config-dir "$T/d4/cfg" \
	--token-file "$T/token"
want 0
out_has "fetched 64.0 MiB"
# a cached image changed behind the cache's back: hashed again, removed, fetched again
img=$T/d4/images/remote/$HASH.img
chmod u+w "$img"
printf 'X' | dd of="$img" bs=1 seek=1000 conv=notrunc status=none
drun d1 d4 install --profile web --name g4b --ip 10.79.0.109 --config-dir "$T/d4/cfg" \
	--token-file "$T/token"
want 0
err_has "no longer matches its SHA-256: removed, fetched again"
out_has "fetched 64.0 MiB"
cmp -s "$img" "$T/d1/images/remote/$HASH.img" || fail "the image fetched again differs"
ok

# ---- the image endpoints, probed ----
TOK=$(cat "$T/token")
code() { ip netns exec d2 curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' "$@"; }
expect_code() {
	local want=$1
	shift
	local got
	got=$(code "$@")
	[ "$got" = "$want" ] || fail "curl $*: HTTP $got, want $want ($(head -c 200 "$T/body" | tr -d "\0"))"
	ok
}
A=(-H "Authorization: Bearer $TOK")
# with the token: ranges
expect_code 206 "${A[@]}" -H "Range: bytes=100-199" "$URL/images/$HASH"
[ "$(stat -c %s "$T/body")" = 100 ] || fail "a range of 100 bytes gave $(stat -c %s "$T/body")"
cmp -s "$T/body" <(dd if="$img" bs=1 skip=100 count=100 status=none) || fail "the range's bytes differ"
ok
expect_code 416 "${A[@]}" -H "Range: bytes=67108864-" "$URL/images/$HASH"
expect_code 416 "${A[@]}" -H "Range: bytes=99999999999999999999-" "$URL/images/$HASH"
expect_code 416 "${A[@]}" -H "Range: bytes=-0" "$URL/images/$HASH"
expect_code 416 "${A[@]}" -H "Range: bytes=200-100" "$URL/images/$HASH"
expect_code 206 "${A[@]}" -H "Range: bytes=-99999999999999999999" "$URL/images/$HASH"
[ "$(stat -c %s "$T/body")" = 67108864 ] || fail "a suffix past the start: not the whole file"
ok
expect_code 200 "${A[@]}" -H "Range: bytes=0-1,5-9" "$URL/images/$HASH" # several: the whole file
[ "$(stat -c %s "$T/body")" = 67108864 ] || fail "several ranges: not the whole file"
ok
# without the token, or with a wrong one: 401 and no byte of the image, whatever the
# range, the method or the spelling of the token
for h in "" "Authorization: Bearer wrongtokenwrongtoken" "Authorization: Bearer ${TOK:0:32}" \
	"Authorization: Bearer ${TOK}x" "Authorization: Bearer  $TOK" "Authorization: Basic $TOK" \
	"Authorization: $TOK" "X-Token: $TOK"; do
	expect_code 401 -H "$h" "$URL/images/$HASH"
	expect_code 401 -H "$h" -H "Range: bytes=0-99" "$URL/images/$HASH"
	expect_code 401 -H "$h" "$URL/api/profiles/web/image"
	[ "$(stat -c %s "$T/body")" -lt 400 ] || fail "a refusal of $(stat -c %s "$T/body") bytes"
	grep -q "served with the API token only" "$T/body" || fail "the refusal says: $(cat "$T/body")"
	! grep -q "$HASH" "$T/body" || fail "the refusal names the hash"
	ok
done
expect_code 401 -I "$URL/images/$HASH"
grep -qi '^WWW-Authenticate: Bearer' "$T/head" || fail "a 401 without WWW-Authenticate: $(cat "$T/head")"
ok
# an unknown hash: 401 without the token, as a published one (nothing learnt); 404 with it
unknown=$(printf 'x' | sha256sum | awk '{print $1}')
expect_code 401 "$URL/images/$unknown"
expect_code 404 "${A[@]}" "$URL/images/$unknown"
# a hash spelt with percent-escapes is the same name: refused without the token, served
# with it
enc=$(printf '%s' "$HASH" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g')
expect_code 401 "$URL/images/$enc"
expect_code 206 "${A[@]}" -H "Range: bytes=0-0" "$URL/images/$enc"
# names that are not a hash: 400 with or without the token
for t in "" "${A[@]}"; do
	H=()
	[ -n "$t" ] && H=("${A[@]}")
	expect_code 400 "${H[@]}" --path-as-is "$URL/images/../api-token"
	expect_code 400 "${H[@]}" --path-as-is "$URL/images/%2e%2e/api-token"
	expect_code 400 "${H[@]}" --path-as-is "$URL/images/..%2fapi-token"
	expect_code 400 "${H[@]}" "$URL/images/${HASH^^}"
	expect_code 400 "${H[@]}" "$URL/images/$HASH/x"
	expect_code 400 "${H[@]}" "$URL/images/${HASH}0"
	expect_code 400 "${H[@]}" "$URL/images/${HASH:0:63}"
	expect_code 400 "$URL/images/$HASH%00"
	expect_code 400 "${H[@]}" "$URL/images/"
	expect_code 400 "${H[@]}" "$URL/images/$(printf 'a%.0s' $(seq 200))"
	expect_code 400 "${H[@]}" "$URL/images/$(printf 'a%.0s' $(seq 5000))"
	[ -n "$t" ] && break
done
tok=$(sha256sum "$T/state/api-token" | awk '{print $1}')
db=$(sha256sum "$T/state/inventory.db" | awk '{print $1}')
tar=$(sha256sum "$T/root.tar.gz" | awk '{print $1}')
for h in "$tok" "$db" "$tar"; do
	expect_code 404 "${A[@]}" "$URL/images/$h"
	expect_code 401 "$URL/images/$h"
done
grep -q "$TOK" "$T/body" && fail "the token leaked"
for m in PUT DELETE POST; do
	expect_code 405 -X "$m" "$URL/images/$HASH"
	expect_code 405 -X "$m" "$URL/api/profiles/web/image"
done
# a header of 64 KiB: refused, the server lives on
big=$(head -c 65536 /dev/zero | tr '\0' a)
got=$(code -H "X-Big: $big" "$URL/images/$HASH")
[ "$got" = 431 ] || [ "$got" = 413 ] || [ "$got" = 400 ] || [ "$got" = 000 ] ||
	fail "a 64 KiB header got HTTP $got"
alive "$SRV_PID" || fail "the server died of a large header"
expect_code 206 "${A[@]}" -H "Range: bytes=0-0" "$URL/images/$HASH"
# the profile published openly: its image (and only it) to anyone, with ranges
expect_code 200 "$URL/api/profiles/pub/image"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["sha256"] == sys.argv[2]' \
	"$T/body" "$HPUB" || fail "pub's image: $(cat "$T/body")"
ok
expect_code 206 -H "Range: bytes=4096-8191" "$URL/images/$HPUB"
cmp -s "$T/body" <(dd if="$T/d1/images/remote/$HPUB.img" bs=4096 skip=1 count=1 status=none) ||
	fail "pub's range differs"
ok
expect_code 401 "$URL/images/$HASH"
# which hashes are open follows the inventory (the server remembers the set between
# changes): pub closed, its image is refused without the token; opened again, served
XENPROV_STATE_DIR=$T/state "$X" profile edit pub --publish-image token >/dev/null 2>"$T/err" || fail "profile edit pub: $(cat "$T/err")"
expect_code 401 "$URL/images/$HPUB"
XENPROV_STATE_DIR=$T/state "$X" profile edit pub --publish-image open >/dev/null 2>"$T/err" || fail "profile edit pub: $(cat "$T/err")"
expect_code 206 -H "Range: bytes=0-0" "$URL/images/$HPUB"
ok
# asked without the token, a profile's image is neither built nor published
before=$(ls "$T/state/images" "$T/state/published" | wc -l)
expect_code 401 "$URL/api/profiles/sealed/image"
expect_code 401 -H "Authorization: Bearer wrongtokenwrongtoken" "$URL/api/profiles/sealed/image"
sleep 0.5
[ "$(ls "$T/state/images" "$T/state/published" | wc -l)" = "$before" ] ||
	fail "a request without the token made files: $(ls "$T/state/images" "$T/state/published")"
ok
# a failed preparation: its detail in the server's log, none to the client
expect_code 500 "${A[@]}" "$URL/api/profiles/broken/image"
grep -q "cannot prepare its golden image (its log says why)" "$T/body" || fail "500 says: $(cat "$T/body")"
! grep -q -e "$T" -e "gone.tar" "$T/body" || fail "the 500 names a path of the server: $(cat "$T/body")"
grep -q "profile 'broken': cannot prepare its golden image (asked by 10.79.0.12): .*gone.tar.gz" \
	"$T/serve.log" || fail "the failure's detail is not logged"
ok
# a preparation under way (a 2 GiB image hashed: a second or more) holds up no other
# request: they are answered while the request that asked for it still waits
ip netns exec d1 curl -s "${A[@]}" -o "$T/big" "$URL/api/profiles/big/image" &
pbig=$!
PIDS+=("$pbig")
big_made() {
	local f
	for f in "$T"/state/images/*.img; do
		[ "$(stat -c %s "$f")" = 2147483648 ] && return 0
	done
	return 1
}
wait_until 60 big_made || fail "the big image is not being made"
t0=$(date +%s%N)
expect_code 200 "$URL/api/"
expect_code 206 "${A[@]}" -H "Range: bytes=0-0" "$URL/images/$HASH"
t1=$(date +%s%N)
alive "$pbig" || fail "the 2 GiB image was hashed before two small requests were answered"
echo "two requests while a 2 GiB image is hashed: $(((t1 - t0) / 1000000)) ms"
wait "$pbig" || fail "the big image's request failed"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["size"] == 2147483648' "$T/big" ||
	fail "big: $(cat "$T/big")"
ok
# a golden image changed since it was hashed is not served under the old name; asking
# the API again hashes it again (touch changes no byte: the same name comes back)
gold=$(for f in "$T"/state/images/*.img; do [ "$(stat -c %s "$f")" = 67108864 ] && echo "$f"; done | head -n 1)
[ -n "$gold" ] || fail "no 64 MiB golden image on the server"
touch "$gold"
expect_code 404 "${A[@]}" "$URL/images/$HASH"
expect_code 200 "${A[@]}" "$URL/api/profiles/web/image"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["sha256"] == sys.argv[2]' \
	"$T/body" "$HASH" || fail "the image's hash changed"
expect_code 206 "${A[@]}" -H "Range: bytes=0-0" "$URL/images/$HASH"
expect_code 404 "$URL/api/profiles/nope/image"
grep -q "no profile 'nope'" "$T/body" || fail "no profile: $(cat "$T/body")"
ok

# ---- the installer path (a fake xl stands in for Xen's: no hypervisor runs here) ----
export XENPROV_XL=$XP_SRC/tests/integration/lib/fake-xl
export XP_FAKE_XL_STATE=$T/xl
mkdir -p "$T/xl"
echo 300 >"$T/xl/poweroff-lady"
drun d1 d1 install --profile inst --name lady --config-dir "$T/d1/cfg" \
	--token-file "$T/token" --wait --start --timeout 60
want 0
out_has "lady: installer $T/d1/installers/lady/kernel, command line: "
out_has "lady: the installer is done; boots its disk (pygrub)"
out_has "lady: started from its disk"
first=$(ls "$T"/xl/created-lady.* | sort -t. -k2 -n | head -n 1)
last=$(ls "$T"/xl/created-lady.* | sort -t. -k2 -n | tail -n 1)
[ "$first" != "$last" ] || fail "lady was started once, not twice"
grep -q '^on_reboot = "destroy"' "$first" || fail "the installer's on_reboot: $(cat "$first")"
grep -q "auto=true priority=critical url=http://10.79.0.1:8080/autoinstall/lady" "$first" ||
	fail "no autoinstall URL on the installer's command line: $(cat "$first")"
grep -q "console=hvc0" "$first" || fail "the distro's options are missing"
grep -q '^kernel = ' "$first" || fail "the installer config has no kernel"
grep -q '^bootloader = "pygrub"' "$last" || fail "not switched to pygrub: $(cat "$last")"
grep -q '^on_reboot = "preserve"' "$last" || fail "the profile's on_reboot is not back"
! grep -q -E '^(kernel|ramdisk|extra) =' "$last" || fail "the installer's boot is left"
cmp -s "$last" "$T/d1/cfg/lady.cfg" || fail "the config started is not the one written"
[ "$(stat -c %s "$T/d1/disks/lady.img")" = 33554432 ] || fail "lady's disk is not 32 MiB"
[ "$(du -k "$T/d1/disks/lady.img" | cut -f1)" -lt 64 ] || fail "lady's empty disk is not sparse"
[ ! -e "$T/d1/installers/lady" ] || fail "the installer's files are left"
ip netns exec d1 curl -sf "$URL/api/systems/lady" -o "$T/lady" || fail "lady is not on the server"
python3 -c 'import json,sys; x=json.load(open(sys.argv[1])); assert x["netboot"] is False and x["profile"] == "inst", x' \
	"$T/lady" || fail "lady's system: $(cat "$T/lady")"
D d1 d1 domain show lady --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["settings"]; assert s.get("boot") == "pygrub" and "kernel" not in s, s' ||
	fail "lady's record still boots the installer"
ok
# without --wait: made, said how to go on; deleted before the switch, its installer's
# files go with it
drun d1 d1 install --profile inst --name quick --config-dir "$T/d1/cfg" --token-file "$T/token"
want 0
out_has "when the installer has powered it off: xenprov install --disk-boot quick"
grep -q '^on_reboot = "destroy"' "$T/d1/cfg/quick.cfg" || fail "quick's installer config"
[ -s "$T/d1/installers/quick/kernel" ] && [ -s "$T/d1/installers/quick/initrd" ] ||
	fail "quick's installer files are missing"
cmp -s "$T/d1/installers/quick/kernel" "$T/inst-vmlinuz" || fail "the installer's kernel differs"
drun d1 d1 domain delete quick
want 0
[ ! -e "$T/d1/installers/quick" ] || fail "the installer's files outlive the guest"
# --disk-boot by xenprov-pxeboot --local (the build's link beside xenprov, on PATH)
drun d1 d1 install --profile inst --name quick2 --config-dir "$T/d1/cfg" --token-file "$T/token"
want 0
PATH="$(dirname "$X"):$PATH" drun d1 d1 install --disk-boot quick2 --pxeboot
want 0
out_has "quick2: boots its disk (xenprov-pxeboot --local)"
grep -q "^bootloader = \"$(dirname "$X")/xenprov-pxeboot\"" "$T/d1/cfg/quick2.cfg" &&
	grep -q '^bootloader_args = \[ "--local" \]' "$T/d1/cfg/quick2.cfg" ||
	fail "quick2 is not booted by xenprov-pxeboot --local: $(cat "$T/d1/cfg/quick2.cfg")"
D d1 d1 config check "$T/d1/cfg/quick2.cfg" >/dev/null || fail "quick2's config does not check"
drun d1 d1 install --disk-boot quick2
want 1
err_has "was not made by the installer path (or was switched already)"
ok
# the image path started (the fake xl's copy of what it was given is the config);
# --wait there is refused before anything is made
drun d1 d1 install --profile web --name g1f --ip 10.79.0.111 --config-dir "$T/d1/cfg" --start \
	--token-file "$T/token"
want 0
out_has "g1f: started"
cmp -s "$T/xl/created-g1f."* "$T/d1/cfg/g1f.cfg" || fail "g1f was not started from its config"
drun d1 d1 install --profile web --name g1g --ip 10.79.0.112 --config-dir "$T/d1/cfg" --wait
want 1
err_has "there is no installer to wait for"
[ ! -e "$T/d1/cfg/g1g.cfg" ] || fail "g1g was made"
ok
# the installer path without a token: refused before anything is made
drun d1 d1 install --profile inst --name tramp --config-dir "$T/d1/cfg"
want 1
err_has "needs the guest's system on the server"
[ ! -e "$T/d1/cfg/tramp.cfg" ] || fail "a config was left"
ok
# --disk-boot of a guest the installer did not make
drun d1 d1 install --disk-boot g1a
want 1
err_has "was not made by the installer path"

# stopped while a preparation runs (the 2 GiB image touched: hashed again) and another
# request waits behind it: each gets an answer (200, or 503 past the drain time), and
# the server exits cleanly (under the sanitizers: nothing leaked)
touch "$(for f in "$T"/state/images/*.img; do [ "$(stat -c %s "$f")" = 2147483648 ] && echo "$f"; done | head -n 1)"
ip netns exec d1 curl -s -o "$T/s1" -w '%{http_code}' "${A[@]}" "$URL/api/profiles/big/image" >"$T/c1" &
q1=$!
sleep 0.3
ip netns exec d2 curl -s -o "$T/s2" -w '%{http_code}' "${A[@]}" "$URL/api/profiles/web/image" >"$T/c2" &
q2=$!
sleep 0.3
srv_stop || fail "the server did not stop cleanly with preparations under way"
wait "$q1" "$q2"
for c in c1 c2; do
	case $(cat "$T/$c") in 200 | 503) ;; *) fail "a request waiting at the stop got HTTP $(cat "$T/$c")" ;; esac
done
echo "at the stop: the preparation's request $(cat "$T/c1"), the one waiting $(cat "$T/c2")"
ok
pass
