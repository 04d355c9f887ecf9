#!/usr/bin/env bash
# bench/install.sh [XENPROV] - `xenprov install --server` (koan's job) over a network
# namespace link: how fast the first guest's golden image comes, beside curl fetching
# the same file from the same server, and what a guest from the dom0's cache costs
# beyond the local create.
#
# Two network namespaces joined by one veth pair made here and removed at exit: the
# server (`xenprov serve --http`) in xpi-srv-PID (10.78.0.1/24), the "dom0" in
# xpi-d0-PID (10.78.0.2/24); no packet leaves them. Only the processes this script
# starts are stopped, by their PIDs.
#
#   1 first guest  the profile's golden image (a tarball built into a raw image of
#                  XP_BENCH_INSTALL_MIB MiB, default 512) fetched into an empty cache:
#                  the client's own transfer time (bytes / seconds it reports: the
#                  SHA-256 is taken as the bytes arrive), and the whole install (wall
#                  clock: API, transfer, the guest's sparse copy and edits, the config)
#   2 curl         curl -o FILE of the same /images/HASH with the API token (to a file
#                  in the same directory, as the client writes; no hash), best of 3
#   3 cached       a second guest from the cached image (wall clock, best of 5), beside
#                  `xenprov domain create` of a local profile whose image is that cached
#                  file (best of 5), each after a sync; and install's own part, which
#                  its --json reports (before the create: the API round trips and the
#                  cache's identity check; after it: registration), best and worst
#
# Needs root (namespaces), curl, tar. Prints a table; never judges the numbers.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/xenprov.sh"
bench_xenprov "$(dirname "$0")" "${1:-}"
[ -n "$X" ] && [ -x "$X" ] || { echo "install.sh: no xenprov binary (give its path)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "install.sh: needs root for network namespaces" >&2; exit 1; }
for t in curl tar ip python3; do
	command -v $t >/dev/null || { echo "install.sh: needs $t" >&2; exit 1; }
done
MIB=${XP_BENCH_INSTALL_MIB:-512}
T=$(mktemp -d /tmp/xp-bench-install.XXXXXX)
chmod 755 "$T"
SRV=xpi-srv-$$
D0=xpi-d0-$$
SRV_PID=
cleanup() {
	[ -n "$SRV_PID" ] && kill -TERM "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	ip netns del "$SRV" 2>/dev/null
	ip netns del "$D0" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ip netns add "$SRV" && ip netns add "$D0" || exit 1
ip link add veth-s netns "$SRV" type veth peer name veth-d netns "$D0" || exit 1
ip -n "$SRV" addr add 10.78.0.1/24 dev veth-s
ip -n "$D0" addr add 10.78.0.2/24 dev veth-d
for ns in "$SRV" "$D0"; do
	ip -n "$ns" link set lo up
done
ip -n "$SRV" link set veth-s up
ip -n "$D0" link set veth-d up

# the server's inventory: a profile whose image is a small root, built to MIB MiB
export XENPROV_STATE_DIR=$T/srv
mkdir -p "$T/root/etc/network" "$T/root/bin" "$T/cfg"
echo golden >"$T/root/etc/hostname"
printf 'root:*:19000:0:99999:7:::\n' >"$T/root/etc/shadow"
# incompressible content (a transfer never sees holes: HTTP sends every byte anyway)
head -c $((MIB / 2))M /dev/urandom >"$T/root/bin/payload"
tar -C "$T/root" --numeric-owner -cf "$T/root.tar" .
"$X" settings set server 10.78.0.1 >/dev/null
"$X" settings set http-port 8080 >/dev/null
"$X" profile add web --image "$T/root.tar" --disk-size "${MIB}M" --network dhcp >/dev/null ||
	exit 1
ip netns exec "$SRV" "$X" serve --http --pid-file "$T/serve.pid" >"$T/serve.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do [ -s "$T/serve.pid" ] && break; sleep 0.1; done
URL=http://10.78.0.1:8080
# the golden image built and hashed once, before anything is timed
# (golden images go to the API token only: xenprov serve made it at its start)
for _ in $(seq 50); do [ -s "$T/srv/api-token" ] && break; sleep 0.1; done
ip netns exec "$D0" curl -sf -H "Authorization: Bearer $(cat "$T/srv/api-token")" \
	"$URL/api/profiles/web/image" -o "$T/image.json" || {
	echo "install.sh: the server did not publish the image" >&2
	cat "$T/serve.log" >&2
	exit 1
}
HASH=$(sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p' "$T/image.json")
TOKEN=$T/srv/api-token
unset XENPROV_STATE_DIR

now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
D() { ip netns exec "$D0" env XENPROV_STATE_DIR="$T/d0" "$X" "$@"; }

# 1 the first guest
sync
t0=$(now)
D install --server $URL --profile web --name g0 --config-dir "$T/cfg" --token-file "$TOKEN" -q \
	>"$T/first" 2>/dev/null || exit 1
t1=$(now)
xp_line=$(grep "image .*: fetched" "$T/first")
xp_mbs=$(sed -n 's/.*(\([0-9.]*\) MB\/s).*/\1/p' <<<"$xp_line")
first_ms=$(ms "$t0" "$t1")

# 2 curl, the same file, best of 3
best_curl=0
for i in 1 2 3; do
	rm -f "$T/d0/curl.img"
	s=$(ip netns exec "$D0" curl -sf -H "Authorization: Bearer $(cat "$TOKEN")" \
		-o "$T/d0/curl.img" -w '%{speed_download}' "$URL/images/$HASH")
	best_curl=$(awk -v a="$best_curl" -v b="$s" 'BEGIN { print (b > a) ? b : a }')
done
rm -f "$T/d0/curl.img"
curl_mbs=$(awk -v b="$best_curl" 'BEGIN { printf "%.1f", b / 1e6 }')

# 3 a guest from the cache, beside the local create of the same image: each pair
# after a sync, the guests removed after each (so no writeback of one is in another)
D profile add local --image "$T/d0/images/remote/$HASH.img" --disk-size "${MIB}M" \
	--network dhcp >/dev/null 2>&1 || exit 1
: >"$T/cached"
: >"$T/local"
: >"$T/own"
for i in 1 2 3 4 5; do
	sync
	t0=$(now)
	D install --server $URL --profile web --name c$i --config-dir "$T/cfg" -q --json \
		--token-file "$TOKEN" >"$T/c.json" 2>/dev/null || exit 1
	t1=$(now)
	ms "$t0" "$t1" >>"$T/cached"
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["seconds"]
print(round((s["before_create"] + s["register"]) * 1000, 1))' "$T/c.json" >>"$T/own"
	sync
	t0=$(now)
	D domain create l$i --profile local --config-dir "$T/cfg" -q >/dev/null 2>&1 || exit 1
	t1=$(now)
	ms "$t0" "$t1" >>"$T/local"
	D domain delete c$i >/dev/null 2>&1
	D domain delete l$i >/dev/null 2>&1
done
cached=$(sort -n "$T/cached" | head -n 1)
local_ms=$(sort -n "$T/local" | head -n 1)
own=$(sort -n "$T/own" | head -n 1)
own_max=$(sort -n "$T/own" | tail -n 1)

printf '\nxenprov install over a veth link, a %d MiB golden image (%s)\n' "$MIB" "$("$X" --version)"
printf '%-44s %12s\n' "measure" "value"
printf '%-44s %10s MB/s\n' "first guest: xenprov's fetch" "$xp_mbs"
printf '%-44s %10s MB/s\n' "curl -o FILE, same URL (best of 3)" "$curl_mbs"
printf '%-44s %10s\n' "ratio xenprov / curl" "$(awk -v a="$xp_mbs" -v b="$curl_mbs" 'BEGIN { printf "%.2f", a / b }')"
printf '%-44s %10s ms\n' "first guest, whole install" "$first_ms"
printf '%-44s %10s ms\n' "cached: install (best of 5)" "$cached"
printf '%-44s %10s ms\n' "local: domain create, same image (best of 5)" "$local_ms"
printf '%-44s %10s ms\n' "  difference" "$((cached - local_ms))"
printf '%-44s %10s ms\n' "install's own part when cached (best)" "$own"
printf '%-44s %10s ms\n' "install's own part when cached (worst of 5)" "$own_max"
