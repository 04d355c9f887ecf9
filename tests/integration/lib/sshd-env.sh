# sshd-env.sh - the real sshd as a test's remote host, in network namespaces the test
# makes (sourced after common.sh, after in_private_mounts and scratch): throwaway host
# and user keys made here, sshd's own config, the host's ssh configuration never read
# (ssh -F /dev/null). Used by image-capture.sh (a golden client) and
# image-update-ssh.sh (a running guest).

SSHD=${XP_SSHD:-$(command -v sshd || echo /usr/sbin/sshd)}
[ -x "$SSHD" ] || skip "no sshd (Debian package openssh-server; or XP_SSHD=PATH)"

# sshd_netns CLIENT SERVER CLIENT_ADDR SERVER_ADDR: a private /run (the namespaces'
# names and sshd's privilege separation directory are this mount namespace's own),
# sshd's user where the host has none (in the test's own copy of /etc/passwd), and two
# network namespaces joined by a veth pair (eth0 in each, addresses /24), removed at
# exit with the sshd sshd_start started.
sshd_netns() {
	mount -t tmpfs -o mode=755 xp-run /run || fail "cannot mount a private /run"
	mkdir -p /run/netns /run/sshd
	chmod 755 /run/sshd
	if ! getent passwd sshd >/dev/null; then
		cp /etc/passwd "$T/passwd" && echo 'sshd:x:64999:65534::/run/sshd:/usr/sbin/nologin' >>"$T/passwd" &&
			mount --bind "$T/passwd" /etc/passwd || fail "cannot give sshd its user"
	fi
	SSHD_NS_C=$1 SSHD_NS_G=$2
	SSHD_PID=
	at_exit sshd_netns_cleanup
	ip netns add "$1" && ip netns add "$2" || fail "cannot make the network namespaces"
	ip link add eth0 netns "$1" type veth peer name eth0 netns "$2" || fail "cannot make the veth pair"
	ip -n "$1" addr add "$3/24" dev eth0
	ip -n "$2" addr add "$4/24" dev eth0
	local ns
	for ns in "$1" "$2"; do
		ip -n "$ns" link set lo up
		ip -n "$ns" link set eth0 up
	done
}

sshd_netns_cleanup() {
	[ -n "$SSHD_PID" ] && kill -KILL "$SSHD_PID" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$SSHD_NS_C" 2>/dev/null
	ip netns del "$SSHD_NS_G" 2>/dev/null
}

# sshd_start DIR ADDR [CONFIG-LINE]...: keys in DIR (host_key, id: root's login), sshd
# in the server namespace listening on ADDR with its log in $T/sshd.log (SSHD_PID), and
# RSH: the ssh command that logs in with the test key and knows only that host key.
sshd_start() {
	local dir=$1 addr=$2 line
	shift 2
	ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" || fail "ssh-keygen (host key)"
	ssh-keygen -q -t ed25519 -N '' -f "$dir/id" || fail "ssh-keygen (test key)"
	cp "$dir/id.pub" "$dir/authorized_keys"
	echo "$addr $(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
	cat >"$dir/sshd_config" <<SSHD
ListenAddress $addr
Port 22
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
SSHD
	for line in "$@"; do echo "$line" >>"$dir/sshd_config"; done
	ip netns exec "$SSHD_NS_G" "$SSHD" -D -e -f "$dir/sshd_config" 2>"$T/sshd.log" &
	SSHD_PID=$!
	RSH="ssh -F /dev/null -i $dir/id -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$dir/known_hosts -o StrictHostKeyChecking=yes -o ConnectTimeout=5"
}
