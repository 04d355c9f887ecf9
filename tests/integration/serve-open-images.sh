#!/bin/bash
# serve-open-images.sh - on SQLite, the HTTP thread's set of openly published golden
# images (http-images.c open_hash) follows what it depends on, the profiles and the
# publications, not every write: lease writes (what the DHCP side commits, many a
# second under load; written here by sqlite3, another connection, as the DHCP loop's
# is to the HTTP thread) and a system added move data_version (the server logs its
# reloads) but rebuild nothing, while the image keeps being served without the token;
# a profile closed and opened again rebuilds it each time, and is refused and served
# accordingly. The rebuilds are counted by the server's debug line.
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
. "$(dirname "$0")/lib/serve-env.sh" || exit 1
need curl python3 sqlite3 mkfs.ext4 truncate

srv_settings
echo kernel >"$T/vmlinuz"
echo initrd >"$T/initrd"
one_client
truncate -s 8M "$T/gold.raw" && mkfs.ext4 -q -F "$T/gold.raw" && chown nobody: "$T/gold.raw" ||
	fail "gold.raw"
"$X" profile add pubp --image "$T/gold.raw" --publish-image open >/dev/null 2>"$T/err" ||
	fail "profile add pubp: $(cat "$T/err")"
srv_start --http -v
U=http://10.79.0.1:8080
code() { C curl -s -o "$T/body" -w '%{http_code}' --max-time 60 "$@"; }
rebuilds() { grep -c "openly published images' set rebuilt" "$T/serve.log"; }

[ "$(code "$U/api/profiles/pubp/image")" = 200 ] || fail "pubp's image: $(cat "$T/body")"
hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T/body") ||
	fail "pubp's image: $(cat "$T/body")"
[ "$(code -r 0-0 "$U/images/$hash")" = 206 ] || fail "the open image is not served"
b0=$(rebuilds)
[ "$b0" -ge 1 ] || fail "no rebuild of the open set logged (is the debug line there?)"
ok

# lease writes: data_version moves (the main loop reloads), the set is not rebuilt
r0=$(grep -c 'reloaded (inventory changed)' "$T/serve.log")
for i in $(seq 5); do
	sqlite3 "$T/state/inventory.db" ".timeout 5000" \
		"INSERT OR REPLACE INTO leases VALUES (167399200 + $i, x'0152540000000$i',
		 '52:54:00:00:00:0$i', NULL, 'bound', 4000000000, strftime('%s'))" ||
		fail "sqlite3: lease write $i"
	[ "$(code -r 0-0 "$U/images/$hash")" = 206 ] || fail "the open image refused after lease write $i"
	sleep 0.3
done
"$X" system add beta --mac 52:54:00:aa:00:02 --distro deb >/dev/null || fail "system add beta"
sleep 1.2 # the main loop's data_version poll: once a second
[ "$(code -r 0-0 "$U/images/$hash")" = 206 ] || fail "the open image refused after system add"
[ "$(grep -c 'reloaded (inventory changed)' "$T/serve.log")" -gt "$r0" ] ||
	fail "the writes were not seen as inventory changes: nothing proven"
[ "$(rebuilds)" = "$b0" ] ||
	fail "lease writes and a system rebuilt the open set: $(($(rebuilds) - b0)) rebuild(s)"
ok

# a profile closed: rebuilt, refused; opened again: rebuilt, served
"$X" profile edit pubp --publish-image token >/dev/null 2>"$T/err" || fail "profile edit: $(cat "$T/err")"
[ "$(code -r 0-0 "$U/images/$hash")" = 401 ] || fail "a closed profile's image is served without the token"
[ "$(rebuilds)" = $((b0 + 1)) ] || fail "closing the profile made $(($(rebuilds) - b0)) rebuild(s), want 1"
"$X" profile edit pubp --publish-image open >/dev/null 2>"$T/err" || fail "profile edit: $(cat "$T/err")"
[ "$(code -r 0-0 "$U/images/$hash")" = 206 ] || fail "the image opened again is not served"
[ "$(rebuilds)" = $((b0 + 2)) ] || fail "opening it again made $(($(rebuilds) - b0 - 1)) rebuild(s), want 1"
ok
pass
