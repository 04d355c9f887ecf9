#!/bin/bash
# image-update-ssh.sh - `xenprov image update` of a RUNNING guest: the delta between its
# recorded version and the new one pushed with the real rsync over the real ssh to the
# guest's recorded address, in network namespaces made here: C (xenprov) and G (the
# "guest": the real sshd with a throwaway host key and a test key made here, only
# inside the namespace; the host's ssh configuration is never read: ssh -F /dev/null,
# sshd -f our own file). The guest's root is a directory of the test: sshd's
# ForceCommand (a wrapper written here) runs the rsync server rsync asked for with its
# destination "/" replaced by that directory, so nothing outside the test is written.
#   a guest-changed file refuses the update (listed), the guest's tree untouched;
#   --dry-run changes nothing; a file the guest made in a directory the new version
#   drops refuses the update (listed) unless --override; the update makes the guest's
#   tree equal to the new version except its own files (`image diff` of the two
#   directories lists only /etc/hostname, the network configuration in the dropped
#   /etc/network and the guest's file in the dropped /var/lib/old, which it keeps),
#   removes what the new version removed, and the record names the new version.
#
# No Xen here: lib/fake-xl, the tests' stand-in for Xen's xl (named in XENPROV_XL),
# says the guest is running (`fake-xl create` of its config).
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
[ "$(id -u)" = 0 ] || skip "network namespaces and owners need root"
need ip rsync ssh ssh-keygen python3
in_private_mounts "$@" || skip "no mount namespace of the test's own (unshare, util-linux)"
scratch ssh t guest cfg
. "$(dirname "$0")/lib/sshd-env.sh" || exit 1
export XENPROV_STATE_DIR=$T/state
export XP_FAKE_XL_STATE=$T/xl
export XENPROV_XL=$XP_SRC/tests/integration/lib/fake-xl

# ---- the network, the guest's sshd ------------------------------------------------------------
C=xpuc$$
sshd_netns "$C" xpug$$ 10.89.0.1 10.89.0.2
S=$T/ssh
GR=$T/guest
# the guest's "/" is $GR: only rsync's server, its destination "/" made $GR/
cat >"$S/force" <<EOF
#!/bin/sh
set -f
cmd=\$SSH_ORIGINAL_COMMAND
case "\$cmd" in
"rsync --server "*" . /") exec \${cmd% /} "$GR/" ;;
esac
echo "refused: \$cmd" >&2
exit 1
EOF
chmod 755 "$S/force"
sshd_start "$S" 10.89.0.2 "ForceCommand $S/force"
for i in $(seq 100); do
	# the wrapper refuses what is not rsync's server: a login that got that far works
	ip netns exec "$C" $RSH root@10.89.0.2 true 2>"$T/probe"
	grep -q 'refused: true' "$T/probe" && break
	kill -0 "$SSHD_PID" 2>/dev/null || fail "sshd ended: $(cat "$T/sshd.log")"
	sleep 0.1
done
grep -q 'refused: true' "$T/probe" || fail "ssh to the namespace's sshd does not work: $(cat "$T/sshd.log")"
ok

# xenprov runs in namespace C
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$C" "$XENPROV" >"$T/xp-in-c"
chmod 755 "$T/xp-in-c"
X=$T/xp-in-c

# ---- two versions ---------------------------------------------------------------------------
r=$T/t
guest_root "$r"
mkdir -p "$r/opt" "$r/var/lib/old" "$r/usr/share/doc"
echo 'mine=1' >"$r/opt/tool.conf"
echo gone >"$r/var/lib/old/x"
echo doc >"$r/usr/share/doc/a"
mkdir -p "$r/etc/network/if-up.d" "$r/var/lib/old/sub"
echo hook >"$r/etc/network/if-up.d/hook"
echo y >"$r/var/lib/old/sub/y"
touch -d '2026-01-01 00:00:00' "$r/opt/tool.conf" "$r/etc/hostname"
expect_rc 0 image capture "$r" --name gold -q
echo 'mine=2' >"$r/opt/tool.conf"
echo golden2 >"$r/etc/hostname"
rm -r "$r/var/lib/old" "$r/etc/network"
echo new >"$r/usr/share/doc/b"
mkdir -p "$r/usr/share/new/sub"
echo n >"$r/usr/share/new/sub/n"
chown 1234:4321 "$r/usr/share/doc/b"
chmod 640 "$r/usr/share/doc/b"
ln -s ../doc/a "$r/usr/share/doc/link"
touch -d '2026-02-01 00:00:00' "$r/opt/tool.conf" "$r/etc/hostname"
expect_rc 0 image capture "$r" --name gold -q

# ---- the guest: made from gold@1, running, its tree version 1 and its own hostname ----------
expect_rc 0 profile add web --image gold@1 --disk-size 64M --ip-pool 10.89.0.0/24 \
	--gateway 10.89.0.1 --bridge br0
expect_rc 0 domain create w1 --profile web --config-dir "$T/cfg" -q
expect_rc 0 domain show w1 --json
json_ok "$T/stdout" 'j["ip"] == "10.89.0.2" and j["image_version"] == "gold@1"'
rsync -aHAX --numeric-ids "$XENPROV_STATE_DIR/images/captures/gold/1/root/" "$GR/" || fail "the guest's tree"
echo w1 >"$GR/etc/hostname"
printf 'auto eth0\niface eth0 inet static\n' >"$GR/etc/network/interfaces"
"$XENPROV_XL" create "$T/cfg/w1.cfg" >/dev/null || fail "fake-xl create"
disk_sum=$(sha256sum <"$XENPROV_STATE_DIR/disks/w1.img")
tree_state() { (cd "$GR" && find . -printf '%p %m %U:%G %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }

# ---- a file the guest changed itself ------------------------------------------------------
echo 'local=1' >"$GR/opt/tool.conf"
before=$(tree_state)
expect_rc 1 image update w1 --to gold@2 --ssh-command "$RSH"
out_has "changed by the guest (rsync --checksum):"
out_has "    /opt/tool.conf"
err_has "files the guest changed itself would be overwritten"
[ "$(tree_state)" = "$before" ] || fail "a refused update changed the guest"; ok
echo 'mine=1' >"$GR/opt/tool.conf"
touch -d '2026-01-01 00:00:00' "$GR/opt/tool.conf"

# ---- dry run, then the update ---------------------------------------------------------------
before=$(tree_state)
expect_rc 0 image update w1 --to gold@2 --ssh-command "$RSH" --dry-run
out_has "w1: gold@1 -> (running: rsync over ssh)"
[ "$(tree_state)" = "$before" ] || fail "--dry-run changed the guest"; ok
expect_rc 0 domain show w1 --json
json_ok "$T/stdout" 'j["image_version"] == "gold@1"'

# a file the guest made itself in a directory version 2 drops: refused, then kept
echo mine >"$GR/var/lib/old/sub/mine"
before=$(tree_state)
expect_rc 1 image update w1 --to gold@2 --ssh-command "$RSH"
out_has "    /var/lib/old/sub/mine"
err_has "files the guest changed itself would be overwritten"
[ "$(tree_state)" = "$before" ] || fail "a refused update changed the guest"; ok

expect_rc 0 image update w1 --to gold@2 --ssh-command "$RSH" --override
out_has "w1: updated to gold@2"
# the guest's tree is version 2 but its own files: its hostname, its network
# configuration in /etc/network (which version 2 drops) and what it made in /var/lib/old
expect_rc 0 image diff "$XENPROV_STATE_DIR/images/captures/gold/2/root" "$GR" --json
json_ok "$T/stdout" '[(e["path"], e["change"], e.get("what")) for e in j] == [("/etc/hostname", "changed", ["size", "content", "mtime"]), ("/etc/network", "added", None), ("/etc/network/interfaces", "added", None), ("/var/lib/old", "added", None), ("/var/lib/old/sub", "added", None), ("/var/lib/old/sub/mine", "added", None)]'
[ "$(cat "$GR/etc/hostname")" = w1 ] || fail "the guest's hostname was overwritten"; ok
grep -q 'iface eth0 inet static' "$GR/etc/network/interfaces" || fail "the guest's network configuration was lost"; ok
[ "$(cat "$GR/var/lib/old/sub/mine")" = mine ] || fail "the guest's own file was lost"; ok
[ ! -e "$GR/var/lib/old/x" ] && [ ! -e "$GR/var/lib/old/sub/y" ] && [ ! -e "$GR/etc/network/if-up.d" ] ||
	fail "what version 2 removed is still there"; ok
[ "$(stat -c '%u:%g %a' "$GR/usr/share/doc/b")" = "1234:4321 640" ] || fail "owner and mode of b"; ok
expect_rc 0 domain list
grep -Eq '^w1 +ready +running +off +web +file +gold@2 ' "$T/stdout" || fail "list: $(cat "$T/stdout")"; ok
# a running guest's disk is never written by the host
[ "$(sha256sum <"$XENPROV_STATE_DIR/disks/w1.img")" = "$disk_sum" ] || fail "the running guest's disk was written"; ok

pass
