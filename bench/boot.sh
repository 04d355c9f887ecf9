#!/usr/bin/env bash
# bench/boot.sh [--quick] [--only dhcp|tftp|storm] [--json FILE] [XENPROV] - xenprov's
# boot server (`xenprov serve`: DHCP, TFTP) next to the servers people boot machines
# with today, in one run, with ratios, in network namespaces this script makes.
#
# Everything runs between two network namespaces joined by one veth pair made here and
# removed at exit: the servers in xpb-srv-PID (veth-srv, 10.77.0.1/16), the clients in
# xpb-cli-PID (veth-cli, 10.77.0.2/16); no packet leaves them (the storm adds a third,
# below). Each namespace gets its own /etc/netns/NAME/resolv.conf (no DNS), removed at
# exit too. Only the processes this script starts are ever stopped, by their PIDs.
#
# The PostgreSQL rows (dhcp and storm) share one throwaway cluster made under the scratch
# directory by tests/integration/lib/pg-cluster, sourced (Debian's postgresql-15: initdb
# as nobody, a Unix socket only, fsync off; stopped and removed at exit): a database
# "xenprov" for xenprov's inventory and one "kea" for Kea's leases (`kea-admin db-init
# pgsql`). The servers on it run as nobody (`serve --user nobody`), who owns its socket's
# directory.
#
#   1 dhcp   Kea's perfdhcp (a relay agent's view: unicast to 10.77.0.1, giaddr
#            10.77.0.2, up to 60000 simulated clients) against each server, at the rates
#            500 1000 2000 4000 8000 16000 24000 DORA/s (XP_BENCH_DHCP_RATES; the lowest
#            for the servers on PostgreSQL), XP_BENCH_DHCP_SECS
#            (8) seconds each; each step starts its server on an empty lease database;
#            rate by rate, the servers one after the other (so that on a shared machine
#            each rate's numbers come from the same minute). Servers, each persisting
#            its leases to a file or to PostgreSQL (XP_BENCH_DHCP_SERVERS: a part of them):
#              kea      Kea 2.2 kea-dhcp4, memfile (persist, LFC off), as shipped
#                       (single-threaded), a 10.77.1.1-10.77.250.254 pool; logs: WARN
#              kea-mt   the same with Kea's multi-threading on (2 threads, queue 64)
#              kea-pg   Kea 2.2's PostgreSQL lease backend ("type": "postgresql", "host":
#                       the socket's directory, as libpq takes it), single-threaded
#              kea-pg-mt the same, multi-threaded (2 threads, queue 64: a connection each)
#              dnsmasq  dnsmasq 2.90 --no-ping --quiet-dhcp --dhcp-lease-max 70000,
#                       port=0 (no DNS), --dhcp-leasefile in the scratch directory
#              xenprov  xenprov serve with the same pool (SQLite, the default)
#              xenprov-pg xenprov serve on the cluster's inventory (--inventory's URL in
#                       XENPROV_INVENTORY), one server
#            Per step: completed DORA exchanges (ACKs) per second, drops (1 - ACKs /
#            DISCOVERs sent), the server's CPU (utime+stime from /proc/PID/stat) per
#            exchange and, on PostgreSQL, the cluster's too (the postmaster, the children
#            it reaped and its live ones), leases stored after the step (the lease file's,
#            Kea's lease4 rows, xenprov's bound rows). A server whose drops pass 50% is
#            not asked for the higher rates. Ratios: xenprov against the better Kea
#            (memfile) and xenprov-pg against the better Kea on PostgreSQL (issue 20's
#            target: at least 2x its exchanges/s at under 1% drops) and against xenprov.
#   2 tftp   a random file of XP_BENCH_TFTP_MIB (64) MiB fetched by 1 and by 20
#            concurrent clients: tftp-hpa's tftp (blksize 512), atftp --option "blksize
#            1468", and atftp blksize 1468 + windowsize 64 (RFC 7440; not run against a
#            server that does not acknowledge it, as it would be lockstep), against in.tftpd
#            (tftpd-hpa -L), atftpd (0.8.0, --daemon --no-fork, threads; run from a
#            private copy, as its package conflicts with tftpd-hpa's) and xenprov; and
#            "floor", bench/tools/tftp-floor.c (BUILD/bench/xp-tftp-floor): the least a
#            server can do (a fork per transfer, one send a block, one receive an ACK
#            a window, nothing else), which no server can go below and which is not a
#            peer in the ratios.
#            XP_BENCH_TFTP_CONC ("1 20") and XP_BENCH_TFTP_CLIENTS ("hpa512 atftp1468
#            atftp1468w64") pick a part of it.
#            Each row also gives the server's CPU seconds and CPU seconds per MB delivered,
#            measured fairly: each server runs in a cgroup of its own made for the row
#            (cgroup v2 cpu.stat, else v1 cpuacct), so that the processes in.tftpd forks per
#            transfer and every thread count (without cgroups, the process's own utime +
#            stime, which misses in.tftpd's children: the row says so); and how
#            busy the whole machine was: with clients and server on the same CPUs, a
#            100% busy machine means the clients' share bounds every server.
#            Aggregate MB/s (10^6 bytes); every download's size is checked, and one per
#            run is compared by sha256 with the source file.
#   3 storm  XP_BENCH_STORM_N (200) clients at once, each on its own macvlan (its own
#            MAC) in the client namespace: busybox udhcpc (-q -n, 15 DISCOVERs 4 s apart,
#            about a PXE ROM's patience, with a script of this bench's own that only
#            prints), then an atftp fetch (blksize 1468, as PXE ROMs ask) of a small
#            pxelinux.cfg/default, then of a 20 MB kernel (XP_BENCH_KERNEL_BYTES); the
#            time until the last client is done, against dnsmasq (DHCP + --enable-tftp,
#            --tftp-max above N), xenprov (SQLite), xenprov on PostgreSQL, and two xenprov
#            servers sharing that PostgreSQL inventory and its pool: the second in a third
#            namespace, xpb-srv2-PID (veth-srv2, 10.77.0.3/16, --address), the clients'
#            macvlans on a bridge in the client namespace joining both veths (for every
#            server of the storm); each client fetches from the server that gave its lease
#            (its server identifier). xenprov's inventories hold XP_BENCH_STORM_SYSTEMS
#            (1000) systems, the clients' MACs among them (no reserved addresses: the pool
#            gives them). XP_BENCH_STORM_SERVERS picks a part. Addresses given twice are
#            counted from the clients' leases, and on PostgreSQL from the leases table too
#            (no address or client bound twice, each client's address bound to it there);
#            one is a failure (exit 1).
#            Kernels go to /dev/null (atftp's exit status says whether it completed),
#            but client 1 keeps its copies, compared with the files served. Clients that
#            give up are counted, not fatal.
#
# Measured on PostgreSQL (7 December 2026; 2 CPUs shared with other engineers' builds,
# 1-minute load averages as the bench printed them; every figure one noisy sample):
#   dhcp, after a batch's claims became a few prepared statements (three runs, release
#            build, load 4.5-10): xenprov-pg under 1% drops up to 998, 1,984 and 1,998/s
#            against the better Kea on PostgreSQL's 500, 500 and none (Kea above 1% at
#            every rate in the third): 2.00x, 3.97x, n/a, so the issue's target (2x at
#            under 1% drops) is met where there is a Kea figure; peaks 3,386, 2,538 and
#            3,573/s against Kea's 827, 901 and 1,395. Server + database CPU per
#            exchange at 500/s: 318-328 us against Kea's 706-940 (0.38x-0.45x). xenprov
#            on SQLite in the same runs: under 1% up to 3,999, 1,999 and 3,993/s.
#            Before (three runs earlier that day, three statements an exchange, each
#            parsed every time): at 2,000/s 16% to 86% dropped; 1.00x-2.00x Kea.
#   storm, 200 clients x 20 MB, 1,000 systems (the load average here is mostly the
#            bench's own 200 clients), three runs, total seconds, dnsmasq / xenprov
#            SQLite / xenprov PostgreSQL / two xenprov sharing it: 61.5 / 38.4 / 39.8 /
#            43.0, 54.5 / 35.7 / 38.2 / 37.5, 43.1 / 34.6 / 35.7 / 31.6 (1.2x to 1.6x
#            faster than dnsmasq; two servers on one machine's 2 CPUs no faster than one).
#            Addresses given twice: 0 in every run (200 bound rows, each its client's).
#            But with two servers DHCP itself is slower: all leased in 8 to 18 s against
#            1.6 to 7.8 s for one (busybox resends its first REQUEST, unanswered for 4 s,
#            over and over: 286, 359 and 470 REQUESTs for 200 clients in three runs, 200
#            and 202 with one server), and in the third run 36 clients gave up after
#            three unanswered REQUESTs ("no lease, failing") while the leases table held
#            200 bound rows: their ACKs were committed but too late. Not explained yet.
#
# Options: --quick (2 s steps at 500, 2000 and 8000, an 8 MiB file, 1 and 4 clients, a
# storm of 20 with a 2 MB kernel and 100 systems: a smoke check of the harness, not
# numbers), --only PART (one of dhcp, tftp, storm), --json FILE (the results as JSON
# lines in FILE; without it they are printed at the end, after the tables).
#
# Peers: Debian 12's kea-dhcp4-server, kea-admin (perfdhcp), postgresql-15, dnsmasq,
# tftpd-hpa, atftp, tftp-hpa, busybox; bench_deps installs the missing ones (no service started: a
# temporary policy-rc.d) and unpacks atftpd (`apt-get download`, `dpkg -x`) into
# XP_BENCH_PEERS, by default boot-peers/ beside this script in the build tree.
#
# The xenprov binary: the argument, else $XENPROV, else ../xenprov next to this script
# (when run as BUILD_DIR/bench/bench-boot, a link to this file), else
# build/release/xenprov. Until it has a working `serve`, its rows say "xenprov: not
# available" and the peers are measured all the same. Needs root (namespaces). On a
# machine shared with other work the numbers move: the load average is printed first.
# Benchmarks never judge timing: the exit status is 1 only when a server or client that
# should have run could not.
set -u
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)

say() { printf '%s\n' "$*"; }
die() { say "boot: $*" >&2; exit 1; }
usage() {
	say "usage: bench/boot.sh [--quick] [--only dhcp|tftp|storm] [--json FILE] [XENPROV]"
	exit "${1:-2}"
}

QUICK=0
ONLY=
JSON_FILE=${XP_BENCH_JSON:-}
X=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--only)
		[ $# -ge 2 ] || usage
		ONLY=$2
		shift
		;;
	--only=*) ONLY=${1#--only=} ;;
	--json)
		[ $# -ge 2 ] || usage
		JSON_FILE=$2
		shift
		;;
	--json=*) JSON_FILE=${1#--json=} ;;
	-h | --help) usage 0 ;;
	-*) say "boot: unknown option '$1'" >&2; usage ;;
	*)
		[ -z "$X" ] || usage
		X=$1
		;;
	esac
	shift
done
case $ONLY in '' | dhcp | tftp | storm) ;; *) say "boot: --only takes dhcp, tftp or storm, not '$ONLY'" >&2; usage ;; esac
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

. "$(dirname "$(readlink -f "$0")")/lib/xenprov.sh"
# pg_cluster_start/pg_cluster_stop: the tests' throwaway PostgreSQL cluster, sourced
. "$(dirname "$(readlink -f "$0")")/../tests/integration/lib/pg-cluster"
unset XENPROV_INVENTORY # the SQLite rows are SQLite; the PostgreSQL ones say so (XP_INV)
unset XP_PG_SSL_DIR     # the cluster: a Unix socket only
bench_xenprov "$here" "$X"
[ -n "$X" ] && [ -x "$X" ] && X=$(cd "$(dirname "$X")" && pwd)/$(basename "$X")

# The workload's sizes
if [ $QUICK -eq 1 ]; then
	DHCP_RATES=(500 2000 8000)
	DHCP_SECS=${XP_BENCH_DHCP_SECS:-2}
	TFTP_MIB=${XP_BENCH_TFTP_MIB:-8}
	TFTP_CONC=(1 4)
	STORM_N=${XP_BENCH_STORM_N:-20}
	STORM_SYSTEMS=${XP_BENCH_STORM_SYSTEMS:-100}
	KERNEL_BYTES=${XP_BENCH_KERNEL_BYTES:-2000000}
else
	DHCP_RATES=(500 1000 2000 4000 8000 16000 24000)
	[ -n "${XP_BENCH_DHCP_RATES:-}" ] && read -r -a DHCP_RATES <<<"$XP_BENCH_DHCP_RATES"
	DHCP_SECS=${XP_BENCH_DHCP_SECS:-8}
	TFTP_MIB=${XP_BENCH_TFTP_MIB:-64}
	TFTP_CONC=(1 20)
	[ -n "${XP_BENCH_TFTP_CONC:-}" ] && read -r -a TFTP_CONC <<<"$XP_BENCH_TFTP_CONC"
	STORM_N=${XP_BENCH_STORM_N:-200}
	STORM_SYSTEMS=${XP_BENCH_STORM_SYSTEMS:-1000}
	KERNEL_BYTES=${XP_BENCH_KERNEL_BYTES:-20000000}
fi
[ "$STORM_SYSTEMS" -ge "$STORM_N" ] || STORM_SYSTEMS=$STORM_N # the clients are systems
DHCP_CLIENTS=60000 # perfdhcp -R: fewer than the 63000 addresses of the pool
SRV_IP=10.77.0.1
CLI_IP=10.77.0.2
POOL_LO=10.77.1.1
POOL_HI=10.77.250.254
CLK_TCK=$(getconf CLK_TCK)

# ---- the peers, installed when missing ----------------------------------------------
if [ -n "${XP_BENCH_PEERS:-}" ]; then
	PEERS=$XP_BENCH_PEERS
elif [ -L "$0" ]; then
	PEERS=$here/boot-peers # BUILD_DIR/bench/bench-boot: the build tree
elif [ -n "$X" ]; then
	PEERS=$(dirname "$X")/bench/boot-peers
else
	PEERS=$here/../build/release/bench/boot-peers
fi
ATFTPD=$PEERS/atftpd/usr/sbin/atftpd
# the TFTP floor (bench/tools/tftp-floor.c), beside this script in the build tree
TFTP_FLOOR=
for c in "$here/xp-tftp-floor" "$here/../build/release/bench/xp-tftp-floor"; do
	[ -x "$c" ] && { TFTP_FLOOR=$c; break; }
done
made_policy_rc=0

# bench_deps: apt-get install of the peer packages that are not installed yet, with
# package services kept from starting by a policy-rc.d made for the install (and
# removed after it, only when this made it); then atftpd, whose package conflicts with
# tftpd-hpa's, downloaded and unpacked into $PEERS instead of installed.
bench_deps() {
	local p need=()
	for p in kea-admin kea-dhcp4-server postgresql-15 dnsmasq tftpd-hpa atftp tftp-hpa iproute2; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
	done
	command -v busybox >/dev/null || need+=(busybox-static)
	if [ ${#need[@]} -gt 0 ]; then
		say "installing: ${need[*]}"
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\n# xenprov bench/boot.sh: no service starts while it installs\nexit 101\n' \
				>/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy_rc=1
		fi
		local rc=0
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >"$PEERS.apt.log" 2>&1 ||
			{ apt-get update -q >>"$PEERS.apt.log" 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >>"$PEERS.apt.log" 2>&1; } || rc=1
		if [ $made_policy_rc -eq 1 ]; then
			rm -f /usr/sbin/policy-rc.d
			made_policy_rc=0
		fi
		[ $rc -eq 0 ] || { say "boot: apt-get install failed; see $PEERS.apt.log" >&2; return 1; }
		rm -f "$PEERS.apt.log"
	fi
	if [ ! -x "$ATFTPD" ]; then
		say "fetching atftpd into $PEERS/atftpd (apt-get download, dpkg -x)"
		rm -rf "$PEERS/atftpd" "$PEERS/deb" && mkdir -p "$PEERS/deb" || return 1
		(cd "$PEERS/deb" && apt-get download atftpd >download.log 2>&1) ||
			{ say "boot: apt-get download atftpd failed; see $PEERS/deb/download.log" >&2; return 1; }
		dpkg -x "$PEERS"/deb/atftpd_*.deb "$PEERS/atftpd" || return 1
		rm -rf "$PEERS/deb"
	fi
	return 0
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, servers on ports 67 and 69)"
mkdir -p "$PEERS" || die "cannot create '$PEERS'"
bench_deps || die "the peers are not installed"
for c in perfdhcp kea-dhcp4 kea-admin dnsmasq in.tftpd tftp atftp busybox ip ss timeout sha256sum; do
	command -v "$c" >/dev/null || die "no '$c' after bench_deps"
done

# ---- scratch, namespaces, cleanup ------------------------------------------------------
NS_S=xpb-srv-$$
NS_C=xpb-cli-$$
W=$(mktemp -d "${XP_BENCH_TMP:-/var/tmp}/xenprov-bench-boot.XXXXXX") || die "no scratch directory"
chmod 755 "$W" # in.tftpd runs as tftp, atftpd as nobody: both read the TFTP root
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SHM=$(mktemp -d /dev/shm/xenprov-bench-boot.XXXXXX) || die "no directory in /dev/shm"
else
	SHM=$W/dl
	mkdir -p "$SHM"
fi
declare -A started # PID -> what, for every process this script started and has not reaped
ns_made=()

stop_pid() { # PID: TERM, then KILL after 3 s; only PIDs in ${started[@]}
	local pid=$1 i
	[ -n "${started[$pid]:-}" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "started[$pid]"
}
cleanup() {
	local pid ns
	for pid in "${!started[@]}"; do stop_pid "$pid"; done
	cg_cleanup
	for ns in "${ns_made[@]}"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	[ $made_policy_rc -eq 1 ] && rm -f /usr/sbin/policy-rc.d
	pg_cluster_stop
	rm -rf "$W" "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_add() { # NAME: a namespace of this run's, its lo up, no DNS
	ip netns add "$1" || return 1
	ns_made+=("$1")
	mkdir -p "/etc/netns/$1" &&
		printf '# xenprov bench/boot.sh: no DNS in this namespace\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
			>"/etc/netns/$1/resolv.conf" || return 1
	ip -n "$1" link set lo up
}
netns_up() {
	ns_add "$NS_S" && ns_add "$NS_C" || return 1
	ip link add name veth-srv netns "$NS_S" type veth peer name veth-cli netns "$NS_C" &&
		ip -n "$NS_S" addr add "$SRV_IP/16" dev veth-srv &&
		ip -n "$NS_C" addr add "$CLI_IP/16" dev veth-cli &&
		ip -n "$NS_S" link set veth-srv up &&
		ip -n "$NS_C" link set veth-cli up || return 1
	local i
	for ((i = 0; i < 50; i++)); do # until the link is up on both ends
		ip -n "$NS_C" -o link show veth-cli | grep -q 'state UP' &&
			ip -n "$NS_S" -o link show veth-srv | grep -q 'state UP' && return 0
		sleep 0.1
	done
	return 1
}
netns_up || die "cannot make the network namespaces (ip netns, veth)"
in_srv() { ip netns exec "$NS_S" "$@"; }
in_cli() { ip netns exec "$NS_C" "$@"; }

# ---- servers --------------------------------------------------------------------------
# srv_start NAME PORTS CMD...: CMD in the server namespace ($SNS, else $NS_S; ip netns
# exec and env exec it, so $! is the server), output in $W/NAME.log; waits until every
# UDP port in PORTS (comma-separated), free before, is bound. Sets SRV_PID. 1 if a port
# was taken, or the server died or did not bind within 15 s.
SRV_PID=
SNS=
udp_bound() { [ -n "$(ip netns exec "${SNS:-$NS_S}" ss -H -uln "sport = :$1" 2>/dev/null)" ]; }
srv_start() {
	local name=$1 ports=$2 i p ok
	shift 2
	for p in ${ports//,/ }; do
		if udp_bound "$p"; then
			echo "UDP port $p is already taken in ${SNS:-$NS_S}" >"$W/$name.log"
			return 1
		fi
	done
	# not through in_srv: a function in the background would be a subshell, and $! its PID
	ip netns exec "${SNS:-$NS_S}" "$@" >"$W/$name.log" 2>&1 </dev/null &
	SRV_PID=$!
	started[$SRV_PID]=$name
	for ((i = 0; i < 150; i++)); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		ok=1
		for p in ${ports//,/ }; do
			udp_bound "$p" || { ok=0; break; }
		done
		[ $ok -eq 1 ] && return 0
		sleep 0.1
	done
	stop_pid "$SRV_PID"
	return 1
}
srv_stop() { [ -n "$SRV_PID" ] && stop_pid "$SRV_PID"; SRV_PID=; }
srv_fail() { # NAME: why it could not start, from its log
	printf 'could not start: %s' "$(tail -n 2 "$W/$1.log" 2>/dev/null | tr '\n' ' ')"
}
machine_ticks() { # BUSY/TOTAL jiffies of all CPUs, from /proc/stat
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6 "/" t; exit }' /proc/stat
}
# A server's CPU, children and threads included: each TFTP server runs in a cgroup of
# its own made here (in.tftpd forks a process per transfer, which /proc/PID/stat of the
# parent does not count). cgroup v2 (cpu.stat usage_usec, in every cgroup) where it is
# mounted, at /sys/fs/cgroup or a hybrid's /sys/fs/cgroup/unified, else v1's cpuacct
# (cpuacct.usage, ns). Without either, the rows fall back to the process's own ticks
# and say so.
CG_ROOT=
CG_KIND=
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	CG_ROOT=/sys/fs/cgroup CG_KIND=v2
elif [ -e /sys/fs/cgroup/unified/cgroup.procs ]; then
	CG_ROOT=/sys/fs/cgroup/unified CG_KIND=v2
elif [ -e /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
	CG_ROOT=/sys/fs/cgroup/cpuacct CG_KIND=v1
fi
CG_MADE=()
CG_DIR=
cg_join() { # PID...: a new cgroup holding them (CG_DIR), or CG_DIR empty
	CG_DIR=
	[ -n "$CG_ROOT" ] || return 0
	local d=$CG_ROOT/xenprov-bench-$$-${#CG_MADE[@]} p
	mkdir "$d" 2>/dev/null || return 0
	CG_MADE+=("$d")
	for p in "$@"; do
		echo "$p" >"$d/cgroup.procs" 2>/dev/null || { CG_DIR=; return 0; }
	done
	CG_DIR=$d
}
cg_usec() { # DIR: the CPU its processes used, microseconds
	if [ "$CG_KIND" = v2 ]; then
		awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"
	else
		echo $(($(cat "$1/cpuacct.usage") / 1000))
	fi
}
cg_cleanup() { # each cgroup made, once its processes are gone (they were stopped)
	local d p
	for d in "${CG_MADE[@]}"; do
		if [ -e "$d/cgroup.procs" ]; then
			while read -r p; do
				# shellcheck disable=SC2015
				[ -n "$p" ] && echo "$p" >"$CG_ROOT/cgroup.procs" 2>/dev/null || true
			done <"$d/cgroup.procs"
		fi
		rmdir "$d" 2>/dev/null
	done
	CG_MADE=()
}
cpu_ticks() { # PID: utime + stime of the process (all its threads)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) } # past the command name
	# shellcheck disable=SC2086
	set -- $s
	echo $((${12} + ${13}))
}

# xenprov: usable when it has `serve`
XP_OK=0
XP_WHY="not available"
if [ -z "$X" ]; then
	XP_WHY="not available (no xenprov binary; pass it as the argument or \$XENPROV)"
elif "$X" serve --help >/dev/null 2>&1; then
	XP_OK=1
else
	XP_WHY="not available ('$X serve --help' fails: no boot server in this build)"
fi
# Which inventory the next xenprov command uses: SQLite in its state directory, or, with
# XP_INV set, the PostgreSQL database XP_INV (the bench's cluster).
XP_INV=
# xp DIR ARGS...: xenprov ARGS with the state directory DIR (and XP_INV)
xp() {
	local e=(XENPROV_STATE_DIR="$1")
	[ -n "$XP_INV" ] && e+=(XENPROV_INVENTORY="$XP_INV")
	shift
	env "${e[@]}" "$X" "$@"
}
# xp_state DIR TFTP_ROOT: a fresh xenprov state with the bench's pool (on PostgreSQL the
# settings are the database's, set again)
xp_state() {
	local d=$1 root=$2
	mkdir -p "$d" || return 1
	{
		xp "$d" settings set server "$SRV_IP" &&
			xp "$d" settings set pool.bench.range "$POOL_LO-$POOL_HI" &&
			xp "$d" settings set pool.bench.netmask 255.255.0.0 &&
			xp "$d" settings set tftp-root "$root" &&
			xp "$d" settings set http-port 8080
	} >"$d.settings.log" 2>&1
}
# xp_start TAG ROOT PORTS: xenprov serve on a fresh state in $W/TAG-state (a copy of the
# state directory XP_TPL when set; its settings set unless XP_SET=0), on XP_INV when set (as nobody, who owns the cluster's
# socket directory, and with --address XP_ADDR when set), on interface XP_IF (veth-srv)
XP_TPL=
XP_ADDR=
XP_IF=veth-srv
XP_SET=1 # 0: the settings are not set again (a second server on the first one's database,
#          whose writes would make the first reload as the run begins)
xp_start() {
	local tag=$1 root=$2 ports=$3 st=$W/$1-state
	local e=(XENPROV_STATE_DIR="$st") o=()
	rm -rf "$st"
	if [ -n "$XP_TPL" ]; then cp -a "$XP_TPL" "$st" || return 1; fi
	if [ "$XP_SET" -eq 1 ]; then
		xp_state "$st" "$root" || { cp "$st.settings.log" "$W/$tag.log"; return 1; }
	fi
	[ -n "$XP_INV" ] && { e+=(XENPROV_INVENTORY="$XP_INV"); o+=(--user nobody); }
	[ -n "$XP_ADDR" ] && o+=(--address "$XP_ADDR")
	# shellcheck disable=SC2086 # XP_BENCH_SERVE_ARGS: words added to serve's, e.g. --tftp-spin 0
	srv_start "$tag" "$ports" env "${e[@]}" "$X" serve --interface "$XP_IF" "${o[@]}" \
		--pid-file "$W/$tag.pid" ${XP_BENCH_SERVE_ARGS:-} || return 1
	# the process to measure is the one in its pid file, when it wrote one
	local p
	p=$(cat "$W/$tag.pid" 2>/dev/null)
	[ -n "$p" ] && [ -d "/proc/$p" ] && XP_CPU_PID=$p || XP_CPU_PID=$SRV_PID
	return 0
}

# Kea's configuration (JSON); $1: the lease file, or "pgsql": the database kea in the
# bench's cluster (libpq takes the socket's directory as the host); $2: 1 for
# multi-threading
kea_conf() {
	local db="{ \"type\": \"memfile\", \"persist\": true, \"name\": \"$1\", \"lfc-interval\": 0 }"
	[ "$1" = pgsql ] && db="{ \"type\": \"postgresql\", \"name\": \"kea\", \"host\": \"$PG_DIR\", \"user\": \"xenprov\" }"
	cat <<EOF
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "veth-srv" ] },
  "lease-database": $db,
  "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1800,
  "multi-threading": { "enable-multi-threading": $([ "$2" -eq 1 ] && echo true || echo false),
                       "thread-pool-size": 2, "packet-queue-size": 64 },
  "subnet4": [ { "id": 1, "subnet": "10.77.0.0/16",
                 "pools": [ { "pool": "$POOL_LO - $POOL_HI" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                 "output_options": [ { "output": "$W/kea-dhcp4.out" } ] } ]
} }
EOF
}
# kea_start TAG MT [pgsql]: kea-dhcp4 on an empty lease file $W/TAG.leases, or on the
# PostgreSQL database kea, emptied
kea_start() {
	local tag=$1 mt=$2 db=${3:-$W/$1.leases}
	rm -f "$W/$tag.leases"*
	if [ "$db" = pgsql ]; then
		pg_q kea 'TRUNCATE lease4, lease4_stat' >"$W/$tag.log" 2>&1 || return 1
	fi
	kea_conf "$db" "$mt" >"$W/$tag.json"
	srv_start "$tag" 67 env KEA_PIDFILE_DIR="$W" KEA_LOCKFILE_DIR="$W" kea-dhcp4 -c "$W/$tag.json"
}
# dnsmasq_start TAG [ARGS...]: DHCP only (port=0: no DNS), lease file $W/TAG.leases
dnsmasq_start() {
	local tag=$1 ports=67
	shift
	case " $* " in *" --enable-tftp "*) ports=67,69 ;; esac
	rm -f "$W/$tag.leases"
	srv_start "$tag" "$ports" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --no-resolv \
		--no-hosts --user=root --pid-file= --interface=veth-srv --bind-interfaces --no-ping \
		--dhcp-range="$POOL_LO,$POOL_HI,255.255.0.0,1h" --dhcp-lease-max=70000 \
		--dhcp-leasefile="$W/$tag.leases" --quiet-dhcp --log-facility=- "$@"
}

# ---- JSON lines and ratios ---------------------------------------------------------------
JSON=()
json() { JSON+=("{\"bench\":\"boot\",$1}"); }
num() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (b == 0) print "null"; else printf f, a / b }'; }
# ratio A B: A/B of two higher-is-better numbers, "n/a" without both
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a <= 0 || b <= 0) print "n/a"; else printf "%.2fx\n", a / b }'; }

now_us() { echo "${EPOCHREALTIME/./}"; }
# xp_skip PART: true, and a JSON line saying so, when $s is a xenprov row and xenprov is
# not available
xp_skip() {
	case $s in xenprov*) [ $XP_OK -eq 0 ] || return 1 ;; *) return 1 ;; esac
	json "\"part\":\"$1\",\"server\":\"$s\",\"available\":false"
}
failed=0
T_START=$(now_us)

# ---- PostgreSQL: the tests' throwaway cluster, in the scratch directory -------------------
# (pg-cluster: initdb as nobody, a Unix socket only, fsync off for both its users: commits
# cost a WAL write and a round trip, not a disk flush; the same for Kea and xenprov)
PG_OK=0
PG_WHY="not run (no PostgreSQL row in this part)"
# pg_ticks: CPU ticks of the whole cluster, the postmaster (with its children that ended)
# and its live children (the backends), from /proc; 0 without a cluster
pg_ticks() {
	local pm p t=0 st
	[ $PG_OK -eq 1 ] && pm=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) && [ -n "$pm" ] || { echo 0; return; }
	for p in "$pm" $(cat "/proc/$pm/task/"*/children 2>/dev/null); do
		st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		st=${st##*) }
		# shellcheck disable=SC2086
		set -- $st
		t=$((t + ${12} + ${13}))
		[ "$p" = "$pm" ] && t=$((t + ${14} + ${15}))
	done
	echo "$t"
}
# pg_xacts SERVER: transactions committed and rolled back in its database so far (the
# statistics of the backends that ended, and those flushed by the live ones)
pg_xacts() {
	local db=xenprov
	case $1 in kea-pg*) db=kea ;; *-pg*) ;; *) return 0 ;; esac
	pg_q postgres "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$db'" 2>/dev/null
}
pg_q() { "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -U xenprov -d "$1" -c "$2"; }
if want dhcp || want storm; then
	if pg_cluster_start "$W" >"$W/pg-cluster.log" 2>&1; then
		PG_OK=1
		# xenprov's schema, made by its first command (the servers' leases are emptied
		# before each run)
		if [ $XP_OK -eq 1 ] && ! XP_INV=$PG_URL xp "$W/pg-init" settings set server "$SRV_IP" >>"$W/pg-cluster.log" 2>&1; then
			PG_OK=0
			PG_WHY="xenprov cannot use the cluster: $(tail -n 2 "$W/pg-cluster.log" | tr '\n' ' ')"
			failed=1
		fi
	else
		PG_WHY="no PostgreSQL cluster: $(tail -n 2 "$W/pg-cluster.log" | tr '\n' ' ')"
		failed=1
	fi
fi

say "boot servers: xenprov serve vs Kea, dnsmasq, tftpd-hpa, atftpd$([ $QUICK -eq 1 ] && echo '  (--quick: a smoke check, not numbers)')"
say "machine:  $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); scratch $W, downloads in $SHM"
say "network:  $NS_S (veth-srv $SRV_IP/16) <-> $NS_C (veth-cli $CLI_IP/16)"
if [ $XP_OK -eq 1 ]; then say "xenprov:  $X"; else say "xenprov:  $XP_WHY"; fi
if [ $PG_OK -eq 1 ]; then
	say "postgres: $("$PG_BIN/postgres" --version), a throwaway cluster on the socket $PG_DIR (fsync off)"
elif want dhcp || want storm; then
	say "postgres: $PG_WHY"
fi
awk -v n="$(nproc)" '{ exit !($1 > n) }' /proc/loadavg &&
	say "note:     the load average is above the CPU count: other work competes, numbers move from run to run"
say

# =======================================================================================
# 1 DHCP
# =======================================================================================
declare -A D # D[server,rate,{eps,drop,cpu,leases}]; D[server,why]
DHCP_SERVERS=(kea kea-mt kea-pg kea-pg-mt dnsmasq xenprov xenprov-pg)
[ -n "${XP_BENCH_DHCP_SERVERS:-}" ] && read -r -a DHCP_SERVERS <<<"$XP_BENCH_DHCP_SERVERS"

# dhcp_step SERVER RATE: one ladder step on a freshly started server. 0 on a measurement.
dhcp_step() {
	local s=$1 r=$2 cpu_pid c0 c1 d0 d1 x0 x1 out sent acks leases
	case $s in
	kea) kea_start dhcp-kea 0 || { D[$s,why]=$(srv_fail dhcp-kea); return 1; } ;;
	kea-mt) kea_start dhcp-kea-mt 1 || { D[$s,why]=$(srv_fail dhcp-kea-mt); return 1; } ;;
	dnsmasq) dnsmasq_start dhcp-dnsmasq || { D[$s,why]=$(srv_fail dhcp-dnsmasq); return 1; } ;;
	kea-pg) kea_start dhcp-kea-pg 0 pgsql || { D[$s,why]=$(srv_fail dhcp-kea-pg); return 1; } ;;
	kea-pg-mt) kea_start dhcp-kea-pg-mt 1 pgsql || { D[$s,why]=$(srv_fail dhcp-kea-pg-mt); return 1; } ;;
	xenprov) xp_start dhcp-xenprov "$W/empty-root" 67 || { D[$s,why]=$(srv_fail dhcp-xenprov); return 1; } ;;
	xenprov-pg)
		pg_q xenprov 'TRUNCATE leases' >"$W/dhcp-xenprov-pg.log" 2>&1 &&
			XP_INV=$PG_URL xp_start dhcp-xenprov-pg "$W/empty-root" 67 || { D[$s,why]=$(srv_fail dhcp-xenprov-pg); return 1; } ;;
	esac
	cpu_pid=$SRV_PID
	case $s in xenprov*) cpu_pid=$XP_CPU_PID ;; esac
	c0=$(cpu_ticks "$cpu_pid")
	d0=$(pg_ticks)
	x0=$(pg_xacts "$s")
	out=$W/perfdhcp-$s-$r.txt
	in_cli timeout $((DHCP_SECS + 60)) perfdhcp -4 -l veth-cli -r "$r" -R "$DHCP_CLIENTS" -p "$DHCP_SECS" \
		"$SRV_IP" >"$out" 2>&1
	c1=$(cpu_ticks "$cpu_pid")
	d1=$(pg_ticks)
	kill -0 "$SRV_PID" 2>/dev/null || { D[$s,why]="died under perfdhcp -r $r: $(tail -n 2 "$W/dhcp-$s.log" | tr '\n' ' ')"; srv_stop; return 1; }
	srv_stop
	x1=$(pg_xacts "$s") # its backends flushed their counts as they ended
	# perfdhcp's two blocks: DISCOVER-OFFER, then REQUEST-ACK
	sent=$(awk '/Statistics for: DISCOVER-OFFER/ { b = 1 } b == 1 && /^sent packets:/ { print $3; exit }' "$out")
	acks=$(awk '/Statistics for: REQUEST-ACK/ { b = 1 } b == 1 && /^received packets:/ { print $3; exit }' "$out")
	if [ -z "$sent" ] || [ -z "$acks" ] || [ "$sent" -eq 0 ]; then
		D[$s,why]="perfdhcp -r $r gave no statistics: $(tail -n 2 "$out" | tr '\n' ' ')"
		return 1
	fi
	case $s in
	kea-pg*) leases=$(pg_q kea 'SELECT count(*) FROM lease4' 2>/dev/null) ;;
	kea*) leases=$(awk -F, '/^10\.77\./ { a[$1] } END { print length(a) }' "$W/dhcp-$s.leases"* 2>/dev/null) ;;
	dnsmasq) leases=$(awk 'END { print NR }' "$W/dhcp-$s.leases" 2>/dev/null) ;;
	xenprov-pg) leases=$(pg_q xenprov "SELECT count(*) FROM leases WHERE state = 'bound'" 2>/dev/null) ;;
	*) leases=null ;;
	esac
	[ -n "$leases" ] || leases=null
	D[$s,$r,eps]=$(num "$acks" "$DHCP_SECS" %.0f)
	D[$s,$r,drop]=$(awk -v a="$acks" -v s="$sent" 'BEGIN { printf "%.2f", 100 * (1 - a / s) }')
	D[$s,$r,cpu]=$(awk -v t=$((c1 - c0)) -v a="$acks" -v hz="$CLK_TCK" 'BEGIN { if (a == 0) print "null"; else printf "%.1f", t * 1e6 / hz / a }')
	D[$s,$r,leases]=$leases
	# on PostgreSQL, the database's CPU per exchange too (the whole cluster's, as it
	# serves just this server)
	D[$s,$r,dbcpu]=null
	D[$s,$r,tx]=null
	case $s in *-pg*)
		D[$s,$r,dbcpu]=$(awk -v t=$((d1 - d0)) -v a="$acks" -v hz="$CLK_TCK" 'BEGIN { if (a == 0) print "null"; else printf "%.1f", t * 1e6 / hz / a }')
		[ -n "$x0" ] && [ -n "$x1" ] && D[$s,$r,tx]=$(num $((x1 - x0)) "$acks" %.2f) ;;
	esac
	json "\"part\":\"dhcp\",\"server\":\"$s\",\"rate\":$r,\"seconds\":$DHCP_SECS,\"clients\":$DHCP_CLIENTS,\"discovers_sent\":$sent,\"acks\":$acks,\"exchanges_per_s\":${D[$s,$r,eps]},\"drops_pct\":${D[$s,$r,drop]},\"cpu_us_per_exchange\":${D[$s,$r,cpu]},\"db_cpu_us_per_exchange\":${D[$s,$r,dbcpu]},\"db_transactions_per_exchange\":${D[$s,$r,tx]},\"leases_in_file\":$leases"
	return 0
}

if want dhcp; then
	mkdir -p "$W/empty-root" && chmod 755 "$W/empty-root"
	say "1) DHCP: perfdhcp -r RATE -R $DHCP_CLIENTS -p $DHCP_SECS (relayed DORA), each step on a fresh server, leases persisted"
	for s in "${DHCP_SERVERS[@]}"; do
		xp_skip dhcp && D[$s,why]=$XP_WHY
		case $s in kea-pg* | xenprov-pg) [ $PG_OK -eq 1 ] || D[$s,why]=$PG_WHY ;; esac
	done
	# Kea's schema in a database of its own in the cluster (kea-admin, as Kea's docs say)
	if [ $PG_OK -eq 1 ] && [[ " ${DHCP_SERVERS[*]} " == *" kea-pg"* ]]; then
		if ! { pg_q postgres 'CREATE DATABASE kea' &&
			kea-admin db-init pgsql -h "$PG_DIR" -u xenprov -n kea; } >"$W/kea-admin.log" 2>&1; then
			for s in kea-pg kea-pg-mt; do D[$s,why]="kea-admin db-init pgsql failed: $(tail -n 2 "$W/kea-admin.log" | tr '\n' ' ')"; done
			failed=1
		fi
	fi
	# rate by rate, the servers one after the other: on a shared machine each rate's
	# numbers come from about the same minute
	for r in "${DHCP_RATES[@]}"; do
		say "  (load average $(cut -d' ' -f1-3 /proc/loadavg))"
		for s in "${DHCP_SERVERS[@]}"; do
			# not available, failed, or more than 50% dropped at a lower rate
			[ -n "${D[$s,why]:-}" ] || [ -n "${D[$s,sat]:-}" ] && continue
			if ! dhcp_step "$s" "$r"; then
				failed=1
				continue
			fi
			say "  $s -r $r: ${D[$s,$r,eps]} exchanges/s, ${D[$s,$r,drop]}% drops, ${D[$s,$r,cpu]} us CPU/exchange$([ "${D[$s,$r,dbcpu]}" = null ] || echo " + ${D[$s,$r,dbcpu]} us in PostgreSQL, ${D[$s,$r,tx]} transactions/exchange")"
			awk -v d="${D[$s,$r,drop]}" 'BEGIN { exit !(d > 50) }' && D[$s,sat]=$r
		done
	done
	say
	say "  completed exchanges/s (drops %) [server CPU us per exchange] at each offered rate:"
	printf '  %-10s' server
	for r in "${DHCP_RATES[@]}"; do printf ' %27s' "-r $r"; done
	printf '  %s\n' "leases stored at the last step"
	for s in "${DHCP_SERVERS[@]}"; do
		printf '  %-10s' "$s"
		if [ -n "${D[$s,why]:-}" ] && [ -z "${D[$s,${DHCP_RATES[0]},eps]:-}" ]; then
			printf ' %s\n' "${D[$s,why]}"
			continue
		fi
		last=
		for r in "${DHCP_RATES[@]}"; do
			if [ -n "${D[$s,$r,eps]:-}" ]; then
				printf ' %27s' "${D[$s,$r,eps]} (${D[$s,$r,drop]}) [${D[$s,$r,cpu]}]"
				last=${D[$s,$r,leases]}
			else
				printf ' %27s' "-"
			fi
		done
		[ "$last" = null ] && last="n/a (its own store)"
		printf '  %s\n' "$last"
		[ -n "${D[$s,why]:-}" ] && say "             stopped: ${D[$s,why]}"
	done
	sat=
	for s in "${DHCP_SERVERS[@]}"; do sat+=${D[$s,sat]:-}; done
	[ -n "$sat" ] && say "  ('-': not run, the server dropped more than 50% at a lower rate)"
	say "  (dnsmasq rewrites its whole lease file on every lease change; kea-pg* and xenprov-pg"
	say "  store leases in the cluster: Kea's lease4 rows, xenprov's bound rows of leases)"
	# per server: the highest completed exchanges/s with < 1% drops, and CPU per exchange
	# at the lowest rate (the same load for all)
	declare -A best1 cpu0 cpu0pg peak
	r0=${DHCP_RATES[0]}
	for s in "${DHCP_SERVERS[@]}"; do
		for r in "${DHCP_RATES[@]}"; do
			[ -n "${D[$s,$r,eps]:-}" ] || continue
			awk -v a="${D[$s,$r,eps]}" -v b="${peak[$s]:-0}" 'BEGIN { exit !(a > b) }' && peak[$s]=${D[$s,$r,eps]}
			awk -v d="${D[$s,$r,drop]}" 'BEGIN { exit !(d < 1) }' &&
				awk -v a="${D[$s,$r,eps]}" -v b="${best1[$s]:-0}" 'BEGIN { exit !(a > b) }' && best1[$s]=${D[$s,$r,eps]}
		done
		cpu0[$s]=${D[$s,$r0,cpu]:-}
		[ "${D[$s,$r0,dbcpu]:-null}" = null ] ||
			cpu0pg[$s]=$(awk -v a="${D[$s,$r0,cpu]}" -v b="${D[$s,$r0,dbcpu]}" 'BEGIN { printf "%.1f", a + b }')
	done
	say
	say "  best exchanges/s with < 1% drops; the most at any drops; CPU per exchange at -r $r0:"
	for s in "${DHCP_SERVERS[@]}"; do
		if [ -z "${peak[$s]:-}" ]; then
			printf '  %-10s %s\n' "$s" "${D[$s,why]:-no measurement}"
			continue
		fi
		printf '  %-10s %8s exchanges/s   peak %8s   %8s us CPU/exchange%s\n' "$s" "${best1[$s]:-none}" "${peak[$s]:-n/a}" "${cpu0[$s]:-n/a}" \
			"${cpu0pg[$s]:+ (server + PostgreSQL: ${cpu0pg[$s]})}"
	done
	kbest=kea # the better Kea: by exchanges/s at < 1% drops, else by peak
	awk -v a="${best1[kea-mt]:-0}" -v b="${best1[kea]:-0}" -v pa="${peak[kea-mt]:-0}" -v pb="${peak[kea]:-0}" \
		'BEGIN { exit !(a > b || (a == b && pa > pb)) }' && kbest=kea-mt
	say
	say "  ratios (xenprov / $kbest, the better Kea; higher is better for exchanges/s):"
	jr() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.3f", a / b; else print "null" }'; }
	if [ $XP_OK -eq 1 ] && [ -n "${peak[xenprov]:-}" ]; then
		say "    exchanges/s at < 1% drops: $(ratio "${best1[xenprov]:-}" "${best1[$kbest]:-}")  (target >= 2.00x)"
		say "    CPU per exchange at -r $r0: $(ratio "${cpu0[xenprov]:-}" "${cpu0[$kbest]:-}")  (target <= 0.50x, at the same rate)"
		say "    peak exchanges/s (any drops): $(ratio "${peak[xenprov]}" "${peak[$kbest]:-}")"
		say "    exchanges/s at < 1% drops vs dnsmasq: $(ratio "${best1[xenprov]:-}" "${best1[dnsmasq]:-}")"
		json "\"part\":\"dhcp-ratio\",\"vs\":\"$kbest\",\"exchanges_ratio\":$(jr "${best1[xenprov]:-}" "${best1[$kbest]:-}"),\"cpu_ratio\":$(jr "${cpu0[xenprov]:-}" "${cpu0[$kbest]:-}"),\"peak_ratio\":$(jr "${peak[xenprov]}" "${peak[$kbest]:-}")"
	elif [ $XP_OK -eq 1 ]; then
		say "    xenprov: no measurement${D[xenprov,why]:+ (${D[xenprov,why]})}"
	else
		say "    xenprov: $XP_WHY"
	fi
	# on PostgreSQL: xenprov-pg against the better Kea on PostgreSQL, and against itself on
	# SQLite
	kpg=kea-pg
	awk -v a="${best1[kea-pg-mt]:-0}" -v b="${best1[kea-pg]:-0}" -v pa="${peak[kea-pg-mt]:-0}" -v pb="${peak[kea-pg]:-0}" \
		'BEGIN { exit !(a > b || (a == b && pa > pb)) }' && kpg=kea-pg-mt
	say "  on PostgreSQL (xenprov-pg / $kpg, the better Kea on PostgreSQL):"
	if [ -n "${peak[xenprov-pg]:-}" ]; then
		say "    exchanges/s at < 1% drops: $(ratio "${best1[xenprov-pg]:-}" "${best1[$kpg]:-}")  (target >= 2.00x)"
		say "    CPU per exchange at -r $r0, server + PostgreSQL: $(ratio "${cpu0pg[xenprov-pg]:-}" "${cpu0pg[$kpg]:-}")"
		say "    peak exchanges/s (any drops): $(ratio "${peak[xenprov-pg]}" "${peak[$kpg]:-}")"
		say "    exchanges/s at < 1% drops vs xenprov on SQLite: $(ratio "${best1[xenprov-pg]:-}" "${best1[xenprov]:-}")"
		json "\"part\":\"dhcp-ratio-pgsql\",\"vs\":\"$kpg\",\"exchanges_ratio\":$(jr "${best1[xenprov-pg]:-}" "${best1[$kpg]:-}"),\"cpu_ratio\":$(jr "${cpu0pg[xenprov-pg]:-}" "${cpu0pg[$kpg]:-}"),\"peak_ratio\":$(jr "${peak[xenprov-pg]}" "${peak[$kpg]:-}"),\"vs_sqlite\":$(jr "${best1[xenprov-pg]:-}" "${best1[xenprov]:-}")"
	else
		say "    xenprov-pg: ${D[xenprov-pg,why]:-no measurement}"
	fi
	say
fi

# =======================================================================================
# 2 TFTP
# =======================================================================================
# tftp_clients CLIENT N SERVER FILE OUTDIR: N clients at once (CLIENT: hpa512, atftp1468,
# atftp1468w64), each to OUTDIR/I; prints the wall time in microseconds and, per client,
# "I RC". Runs in the client namespace (bash -c, exported); every client has a time limit.
tftp_clients() {
	local client=$1 n=$2 srv=$3 file=$4 out=$5 i t0 t1
	local -a pids=()
	trap 'kill $(jobs -p) 2>/dev/null; exit 1' TERM
	t0=${EPOCHREALTIME/./}
	for ((i = 1; i <= n; i++)); do
		case $client in
		hpa512) timeout 600 tftp -m binary "$srv" -c get "$file" "$out/$i" >"$out/$i.log" 2>&1 & ;;
		atftp1468) timeout 600 atftp --option "blksize 1468" -g -r "$file" -l "$out/$i" "$srv" >"$out/$i.log" 2>&1 & ;;
		atftp1468w64) timeout 600 atftp --option "blksize 1468" --option "windowsize 64" -g -r "$file" -l "$out/$i" "$srv" >"$out/$i.log" 2>&1 & ;;
		esac
		pids+=($!)
	done
	for ((i = 1; i <= n; i++)); do
		wait "${pids[i - 1]}"
		echo "rc $i $?"
	done
	t1=${EPOCHREALTIME/./}
	echo "us $((t1 - t0))"
}
export -f tftp_clients

declare -A F # F[server,client,n] MB/s; F[server,why]; F[server,w64]
TFTP_SERVERS=(in.tftpd atftpd xenprov)
[ -n "$TFTP_FLOOR" ] && TFTP_SERVERS+=(floor)
TFTP_CLIENTS=(hpa512 atftp1468 atftp1468w64)
[ -n "${XP_BENCH_TFTP_CLIENTS:-}" ] && read -r -a TFTP_CLIENTS <<<"$XP_BENCH_TFTP_CLIENTS"
declare -A CLABEL=([hpa512]="tftp-hpa blksize 512" [atftp1468]="atftp blksize 1468" [atftp1468w64]="atftp 1468 + windowsize 64")

tftp_start() { # SERVER ROOT
	case $1 in
	in.tftpd) srv_start tftp-in.tftpd 69 in.tftpd -L -s "$2" -a "$SRV_IP:69" ;;
	atftpd) srv_start tftp-atftpd 69 "$ATFTPD" --daemon --no-fork --port 69 --bind-address "$SRV_IP" \
		--logfile /dev/null -m 100 "$2" ;;
	xenprov) xp_start tftp-xenprov "$2" 67,69 ;;
	floor) srv_start tftp-floor 69 "$TFTP_FLOOR" "$SRV_IP" "$2" ;;
	esac
}

# the header line of a table of the TFTP settings against the servers
tftp_table_head() {
	printf '  %-28s %-8s' client clients
	for s in "${TFTP_SERVERS[@]}"; do printf ' %10s' "$s"; done
	printf ' %16s\n' "xenprov/best"
}

# tftp_run SERVER CLIENT N: one measurement; sets F[...] or F[server,why]
tftp_run() {
	local s=$1 c=$2 n=$3 out=$SHM/tftp res us bad=0 i sz
	rm -rf "$out" && mkdir -p "$out"
	local cpu_pid=$SRV_PID c0 c1 m0 m1
	[ "$s" = xenprov ] && cpu_pid=$XP_CPU_PID
	cg_join "$cpu_pid"
	local cg=$CG_DIR
	if [ -n "$cg" ]; then c0=$(cg_usec "$cg"); else c0=$(cpu_ticks "$cpu_pid"); fi
	m0=$(machine_ticks)
	res=$(in_cli bash -c 'tftp_clients "$@"' tftp_clients "$c" "$n" "$SRV_IP" bench.bin "$out")
	if [ -n "$cg" ]; then c1=$(cg_usec "$cg"); else c1=$(cpu_ticks "$cpu_pid"); fi
	m1=$(machine_ticks)
	# the server's CPU (its cgroup: children and threads too), and how busy the whole
	# machine was (all CPUs = 100%)
	if [ -n "$cg" ]; then
		F[$s,$c,$n,cpu]=$(awk -v t=$((c1 - c0)) 'BEGIN { printf "%.3f", t / 1e6 }')
	else
		F[$s,$c,$n,cpu]=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
		F[$s,$c,$n,note]="CPU of the server's process only (no cgroup)"
	fi
	# CPU seconds per MB delivered (10^6 bytes)
	F[$s,$c,$n,cpumb]=$(awk -v t="${F[$s,$c,$n,cpu]}" -v b="$TFTP_BYTES" -v n="$n" 'BEGIN { printf "%.4f", t / (b * n / 1e6) }')
	F[$s,$c,$n,busy]=$(awk -v a="$m0" -v b="$m1" 'BEGIN { split(a, x, "/"); split(b, y, "/"); if (y[2] > x[2]) printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]); else print "?" }')
	us=$(awk '$1 == "us" { print $2 }' <<<"$res")
	for ((i = 1; i <= n; i++)); do
		sz=$(stat -c %s "$out/$i" 2>/dev/null || echo 0)
		[ "$sz" -eq "$TFTP_BYTES" ] || { bad=$((bad + 1)); [ $bad -eq 1 ] && F[$s,$c,$n,note]="client $i: $sz of $TFTP_BYTES bytes, $(awk -v i="$i" '$1 == "rc" && $2 == i { print "exit " $3 }' <<<"$res"): $(tail -n 1 "$out/$i.log")"; }
	done
	local ok=true
	if [ $bad -eq 0 ]; then
		[ "$(sha256sum <"$out/1" | cut -d' ' -f1)" = "$TFTP_SHA" ] || { ok=false; F[$s,$c,$n,note]="client 1's copy differs (sha256)"; }
	else
		ok=false
	fi
	rm -rf "$out"
	if [ "$ok" = true ] && [ -n "$us" ]; then
		F[$s,$c,$n]=$(awk -v b="$TFTP_BYTES" -v n="$n" -v us="$us" 'BEGIN { printf "%.1f", b * n / us }')
		F[$s,$c,$n,s]=$(awk -v us="$us" 'BEGIN { printf "%.2f", us / 1e6 }')
	else
		failed=1
		F[$s,$c,$n,note]="${F[$s,$c,$n,note]:-no timing}; $bad of $n incomplete"
	fi
	json "\"part\":\"tftp\",\"server\":\"$s\",\"client\":\"$c\",\"clients\":$n,\"bytes_each\":$TFTP_BYTES,\"seconds\":${F[$s,$c,$n,s]:-null},\"mb_per_s\":${F[$s,$c,$n]:-null},\"server_cpu_s\":${F[$s,$c,$n,cpu]:-null},\"server_cpu_s_per_mb\":${F[$s,$c,$n,cpumb]:-null},\"verified\":$ok"
}

if want tftp; then
	TROOT=$W/tftp-root
	mkdir -p "$TROOT" && chmod 755 "$TROOT"
	head -c $((TFTP_MIB * 1048576)) /dev/urandom >"$TROOT/bench.bin" && chmod 644 "$TROOT/bench.bin" ||
		die "cannot write the TFTP test file"
	head -c 3000 /dev/urandom >"$TROOT/probe.bin" && chmod 644 "$TROOT/probe.bin"
	TFTP_BYTES=$(stat -c %s "$TROOT/bench.bin")
	TFTP_SHA=$(sha256sum <"$TROOT/bench.bin" | cut -d' ' -f1)
	say "2) TFTP: a $TFTP_MIB MiB random file, ${TFTP_CONC[*]} concurrent client(s); aggregate MB/s (10^6 bytes/s)"
	for s in "${TFTP_SERVERS[@]}"; do
		xp_skip tftp && { F[$s,why]=$XP_WHY; continue; }
		if ! tftp_start "$s" "$TROOT"; then
			F[$s,why]=$(srv_fail "tftp-$s")
			failed=1
			continue
		fi
		# does it acknowledge windowsize (RFC 7440)?
		if in_cli atftp --trace --option "blksize 1468" --option "windowsize 64" -g -r probe.bin -l /dev/null \
			"$SRV_IP" 2>&1 | grep -q 'received OACK.*windowsize'; then
			F[$s,w64]=yes
		else
			F[$s,w64]=no
		fi
		srv_stop
	done
	# setting by setting, the servers one after the other (each started for it): on a
	# shared machine each setting's numbers come from about the same minute
	for c in "${TFTP_CLIENTS[@]}"; do
		for n in "${TFTP_CONC[@]}"; do
			for s in "${TFTP_SERVERS[@]}"; do
				[ -n "${F[$s,w64]:-}" ] || continue # not available, or could not start
				# without windowsize acknowledged, it would be the blksize 1468 run again
				[ "$c" = atftp1468w64 ] && [ "${F[$s,w64]}" = no ] && continue
				if ! tftp_start "$s" "$TROOT"; then
					F[$s,$c,$n,note]=$(srv_fail "tftp-$s")
					failed=1
				else
					tftp_run "$s" "$c" "$n"
					srv_stop
				fi
				say "  $s, $n x ${CLABEL[$c]}: ${F[$s,$c,$n]:-failed} MB/s${F[$s,$c,$n,s]:+ (${F[$s,$c,$n,s]} s, server CPU ${F[$s,$c,$n,cpu]} s = ${F[$s,$c,$n,cpumb]} s/MB, machine ${F[$s,$c,$n,busy]}% busy)}${F[$s,$c,$n,note]:+  ${F[$s,$c,$n,note]}}"
			done
		done
	done
	say
	say "  aggregate MB/s:"
	tftp_table_head
	for c in "${TFTP_CLIENTS[@]}"; do
		for n in "${TFTP_CONC[@]}"; do
			printf '  %-28s %-8s' "${CLABEL[$c]}" "$n"
			bestp=0
			bestn=
			for s in "${TFTP_SERVERS[@]}"; do
				v=${F[$s,$c,$n]:-}
				if [ -n "$v" ]; then
					printf ' %10s' "$v"
				elif [ "$c" = atftp1468w64 ] && [ "${F[$s,w64]:-}" = no ]; then
					printf ' %10s' "-*"
				elif [ "$s" = xenprov ] && [ $XP_OK -eq 0 ]; then
					printf ' %10s' "n/a"
				else
					printf ' %10s' "failed"
				fi
				if [ "$s" != xenprov ] && [ "$s" != floor ] && [ -n "${F[$s,$c,$n]:-}" ] &&
					awk -v a="${F[$s,$c,$n]}" -v b="$bestp" 'BEGIN { exit !(a > b) }'; then
					bestp=${F[$s,$c,$n]}
					bestn=$s
				fi
			done
			if [ -n "${F[xenprov,$c,$n]:-}" ]; then
				printf ' %9s (%s)\n' "$(ratio "${F[xenprov,$c,$n]}" "$bestp")" "$bestn"
				json "\"part\":\"tftp-ratio\",\"client\":\"$c\",\"clients\":$n,\"vs\":\"$bestn\",\"ratio\":$(awk -v a="${F[xenprov,$c,$n]}" -v b="$bestp" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }')"
			else
				printf ' %16s\n' "n/a"
			fi
		done
	done
	for s in "${TFTP_SERVERS[@]}"; do
		[ "${F[$s,w64]:-}" = no ] && say "  * $s does not acknowledge windowsize (RFC 7440): not run, it would be the blksize 1468 row"
		[ -n "${F[$s,why]:-}" ] && say "  $s: ${F[$s,why]}"
	done
	say "  target: xenprov / best peer >= 1.50x at each setting"
	say
	# issue 20: CPU seconds per MB delivered, against the peer that needs the least
	say "  server CPU seconds per MB delivered (its cgroup: threads and children):"
	tftp_table_head
	for c in "${TFTP_CLIENTS[@]}"; do
		for n in "${TFTP_CONC[@]}"; do
			printf '  %-28s %-8s' "${CLABEL[$c]}" "$n"
			bestp=
			bestn=
			for s in "${TFTP_SERVERS[@]}"; do
				v=${F[$s,$c,$n]:+${F[$s,$c,$n,cpumb]:-}}
				printf ' %10s' "${v:--}"
				if [ "$s" != xenprov ] && [ "$s" != floor ] && [ -n "$v" ] &&
					{ [ -z "$bestp" ] || awk -v a="$v" -v b="$bestp" 'BEGIN { exit !(a < b) }'; }; then
					bestp=$v
					bestn=$s
				fi
			done
			v=${F[xenprov,$c,$n]:+${F[xenprov,$c,$n,cpumb]:-}}
			if [ -n "$v" ] && [ -n "$bestp" ]; then
				printf ' %9s (%s)\n' "$(awk -v a="$v" -v b="$bestp" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')" "$bestn"
				json "\"part\":\"tftp-cpu-ratio\",\"client\":\"$c\",\"clients\":$n,\"vs\":\"$bestn\",\"ratio\":$(awk -v a="$v" -v b="$bestp" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }')"
			else
				printf ' %16s\n' "n/a"
			fi
		done
	done
	say "  target (issue 20): xenprov / least peer <= 0.50x at each setting, its MB/s no lower than the best peer's"
	say
fi

# =======================================================================================
# 3 boot storm
# =======================================================================================
# storm_clients N SERVER OUTDIR SCRIPT: N boots at once, client I on macvlan sI: DHCP,
# config, kernel (from the server that gave the lease; SERVER if none said). Writes
# OUTDIR/I.t: "I START DHCP_DONE CFG_DONE END STATUS ADDRESS SERVER" (times in µs).
storm_clients() {
	local n=$1 srv=$2 out=$3 script=$4 i
	trap 'kill $(jobs -p) 2>/dev/null; exit 1' TERM
	storm_one() {
		local i=$1 t0 t1 t2 t3 st=ok kout=/dev/null
		[ "$i" -eq 1 ] && kout=$out/kernel.1
		t0=${EPOCHREALTIME/./}
		timeout 120 busybox udhcpc -i "s$i" -f -q -n -t 15 -T 4 -A 1 -s "$script" >"$out/$i.dhcp" 2>&1 || st=dhcp
		t1=${EPOCHREALTIME/./}
		# the files from the server that gave the lease (its server identifier)
		local ip=- sv=$srv a='' b=''
		read -r a b < <(awk '$1 == "bound" { print $2, $3; exit }' "$out/$i.dhcp")
		[ -n "$a" ] && ip=$a
		[ -n "$b" ] && sv=$b
		[ $st = ok ] && { timeout 120 atftp --option "blksize 1468" -g -r pxelinux.cfg/default -l "$out/$i.cfg" "$sv" >"$out/$i.log" 2>&1 || st=config; }
		t2=${EPOCHREALTIME/./}
		[ $st = ok ] && { timeout 600 atftp --option "blksize 1468" -g -r vmlinuz -l "$kout" "$sv" >>"$out/$i.log" 2>&1 || st=kernel; }
		t3=${EPOCHREALTIME/./}
		echo "$i $t0 $t1 $t2 $t3 $st $ip $sv" >"$out/$i.t"
	}
	for ((i = 1; i <= n; i++)); do storm_one "$i" & done
	wait
}
export -f storm_clients

declare -A SM # SM[server,{s,dhcp,p50,p95,fail,why,leased,twice,by,db*}]
STORM_SERVERS=(dnsmasq xenprov xenprov-pg xenprov-pg2)
[ -n "${XP_BENCH_STORM_SERVERS:-}" ] && read -r -a STORM_SERVERS <<<"$XP_BENCH_STORM_SERVERS"
declare -A SLABEL=([dnsmasq]="dnsmasq" [xenprov]="xenprov, SQLite" [xenprov-pg]="xenprov, PostgreSQL"
	[xenprov-pg2]="2 x xenprov, one PostgreSQL")
NS_S2=xpb-srv2-$$
SRV2_IP=10.77.0.3
mac_of() { printf '02:77:00:00:%02x:%02x' $(($1 >> 8)) $(($1 & 255)); }

# storm_net: the second server's namespace, xpb-srv2-PID (veth-srv2, 10.77.0.3/16), and
# a bridge br-cli in the client namespace joining veth-cli and veth-cli2, which takes
# the client namespace's address; the clients' macvlans are made on it (the same path
# for every server of the storm)
storm_net() {
	ns_add "$NS_S2" &&
		ip link add name veth-srv2 netns "$NS_S2" type veth peer name veth-cli2 netns "$NS_C" &&
		ip -n "$NS_C" link add br-cli type bridge forward_delay 0 stp_state 0 &&
		ip -n "$NS_C" addr del "$CLI_IP/16" dev veth-cli &&
		ip -n "$NS_C" link set veth-cli master br-cli &&
		ip -n "$NS_C" link set veth-cli2 master br-cli &&
		ip -n "$NS_C" addr add "$CLI_IP/16" dev br-cli &&
		ip -n "$NS_S2" addr add "$SRV2_IP/16" dev veth-srv2 &&
		ip -n "$NS_C" link set veth-cli2 up &&
		ip -n "$NS_C" link set br-cli up &&
		ip -n "$NS_S2" link set veth-srv2 up || return 1
	local i
	for ((i = 0; i < 50; i++)); do
		ip -n "$NS_C" -o link show br-cli | grep -q 'state UP' &&
			ip -n "$NS_S2" -o link show veth-srv2 | grep -q 'state UP' && return 0
		sleep 0.1
	done
	return 1
}

# storm_inv TPL: a xenprov state directory (and, with XP_INV, the PostgreSQL database)
# holding the storm's inventory: a distro, STORM_SYSTEMS systems, the first STORM_N of
# them the clients' MACs; xp_start copies it (XP_TPL) for each run
storm_inv() {
	local d=$1 i t0
	t0=$(now_us)
	xp_state "$d" "$SROOT" && xp "$d" distro add bench --kernel "$W/storm-k" --initrd "$W/storm-i" \
		>>"$d.settings.log" 2>&1 || return 1
	for ((i = 1; i <= STORM_SYSTEMS; i++)); do echo "h$i --mac $(mac_of "$i") --distro bench"; done >"$W/storm-systems"
	# four at a time: each add is a process and a commit
	local e=(XENPROV_STATE_DIR="$d")
	[ -n "$XP_INV" ] && e+=(XENPROV_INVENTORY="$XP_INV")
	xargs -P 4 -L 1 env "${e[@]}" "$X" system add <"$W/storm-systems" >>"$d.settings.log" 2>&1 || return 1
	[ "$(xp "$d" system list --json | grep -o '"mac"' | wc -l)" -eq "$STORM_SYSTEMS" ] || return 1
	say "   $STORM_SYSTEMS systems added to the $([ -n "$XP_INV" ] && echo PostgreSQL || echo SQLite) inventory in $(awk -v us=$(($(now_us) - t0)) 'BEGIN { printf "%.0f", us / 1e6 }') s"
	[ -z "$XP_INV" ] || chown -R nobody: "$d" # the servers on PostgreSQL run as nobody
}

# storm_dups SERVER: addresses given twice, from the clients' leases (each ADDRESS of
# the times file once) and, on PostgreSQL, from the leases table: no address bound to two
# clients or client with two, and every client's address bound to it there
storm_dups() {
	local s=$1 f=$W/storm-$1.times db=$W/storm-$1.db
	SM[$s,leased]=$(awk '$7 ~ /^10\./' "$f" | wc -l)
	SM[$s,twice]=$(awk '$7 ~ /^10\./ { n[$7]++ } END { d = 0; for (a in n) if (n[a] > 1) d++; print d }' "$f")
	SM[$s,by]=$(awk '$7 ~ /^10\./ { n[$8]++ } END { for (k in n) printf "%s%s %d", (c++ ? ", " : ""), k, n[k] }' "$f")
	case $s in xenprov-pg*) ;; *) return 0 ;; esac
	pg_q xenprov "SELECT mac, (ip >> 24) || '.' || ((ip >> 16) & 255) || '.' || ((ip >> 8) & 255) || '.' || (ip & 255)
		FROM leases WHERE state = 'bound'" | tr '|' ' ' >"$db" || { SM[$s,dbrows]=null; return 1; }
	SM[$s,dbrows]=$(awk 'END { print NR }' "$db")
	SM[$s,dbtwice]=$(awk '{ m[$1]++; a[$2]++ } END { d = 0; for (k in m) if (m[k] > 1) d++; for (k in a) if (a[k] > 1) d++; print d }' "$db")
	SM[$s,dbmiss]=$(awk 'FILENAME == ARGV[1] { mac[$1] = $2; next } FILENAME == ARGV[2] { ip[$1] = $2; next }
		$7 ~ /^10\./ && ip[mac[$1]] != $7 { n++ } END { print n + 0 }' "$W/storm-macs" "$db" "$f")
}

storm_run() { # SERVER
	local s=$1 out=$SHM/storm t0 t1 fails n_ok p spids=()
	rm -rf "$out" && mkdir -p "$out"
	case $s in
	dnsmasq) dnsmasq_start storm-dnsmasq --enable-tftp --tftp-root="$SROOT" --tftp-max=$((STORM_N + 50)) --quiet-tftp ||
		{ SM[$s,why]=$(srv_fail storm-dnsmasq); return 1; } ;;
	xenprov) XP_TPL=$W/storm-sqlite xp_start storm-xenprov "$SROOT" 67,69 ||
		{ SM[$s,why]=$(srv_fail storm-xenprov); return 1; } ;;
	xenprov-pg)
		pg_q xenprov 'TRUNCATE leases' >"$W/storm-xenprov-pg.log" 2>&1 &&
			XP_INV=$PG_URL XP_TPL=$W/storm-pg xp_start storm-xenprov-pg "$SROOT" 67,69 ||
			{ SM[$s,why]=$(srv_fail storm-xenprov-pg); return 1; } ;;
	xenprov-pg2) # one in each server namespace, each answering as its own address
		pg_q xenprov 'TRUNCATE leases' >"$W/storm-xenprov-pg2-1.log" 2>&1 &&
			XP_INV=$PG_URL XP_TPL=$W/storm-pg XP_ADDR=$SRV_IP xp_start storm-xenprov-pg2-1 "$SROOT" 67,69 ||
			{ SM[$s,why]=$(srv_fail storm-xenprov-pg2-1); return 1; }
		p=$SRV_PID
		SNS=$NS_S2 XP_IF=veth-srv2 XP_INV=$PG_URL XP_TPL=$W/storm-pg XP_ADDR=$SRV2_IP XP_SET=0 \
			xp_start storm-xenprov-pg2-2 "$SROOT" 67,69 ||
			{ SM[$s,why]=$(srv_fail storm-xenprov-pg2-2); stop_pid "$p"; return 1; }
		spids+=("$p") ;;
	esac
	spids+=("$SRV_PID")
	SRV_PID=
	t0=$(now_us)
	in_cli bash -c 'storm_clients "$@"' storm_clients "$STORM_N" "$SRV_IP" "$out" "$W/udhcpc-script"
	t1=$(now_us)
	for p in "${spids[@]}"; do
		kill -0 "$p" 2>/dev/null || { SM[$s,died]+="${started[$p]} died; "; failed=1; }
		stop_pid "$p"
	done
	cat "$out"/*.t >"$W/storm-$s.times" 2>/dev/null
	storm_dups "$s" || failed=1
	# what the clients sent: DISCOVERs and REQUESTs (busybox resends a REQUEST after 4 s
	# without an answer, and gives up after three)
	SM[$s,disc]=$(cat "$out"/*.dhcp 2>/dev/null | grep -c 'broadcasting discover')
	SM[$s,req]=$(cat "$out"/*.dhcp 2>/dev/null | grep -c 'broadcasting select')
	n_ok=$(awk '$6 == "ok"' "$W/storm-$s.times" | wc -l)
	fails=$((STORM_N - n_ok)) # a client without a line failed too
	local verified=false
	[ -f "$out/kernel.1" ] && [ "$(sha256sum <"$out/kernel.1" | cut -d' ' -f1)" = "$KERNEL_SHA" ] && verified=true
	local cfg_ok
	cfg_ok=$(cmp -s "$out/1.cfg" "$SROOT/pxelinux.cfg/default" && echo true || echo false)
	SM[$s,s]=$(awk -v us=$((t1 - t0)) 'BEGIN { printf "%.2f", us / 1e6 }')
	SM[$s,fail]=$fails
	# per client: seconds from its start to its end; DHCP: from the first start to the last lease
	SM[$s,p50]=$(awk '$6 == "ok" { print ($5 - $2) / 1e6 }' "$W/storm-$s.times" | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.2f", a[int((NR + 1) / 2)]; else print "null" }')
	SM[$s,p95]=$(awk '$6 == "ok" { print ($5 - $2) / 1e6 }' "$W/storm-$s.times" | sort -n | awk '{ a[NR] = $1 } END { if (NR) { i = int(NR * 0.95 + 0.5); if (i < 1) i = 1; printf "%.2f", a[i] } else print "null" }')
	SM[$s,dhcp]=$(awk 'NR == 1 || $2 < m { m = $2 } $3 > d { d = $3 } END { if (NR) printf "%.2f", (d - m) / 1e6; else print "null" }' "$W/storm-$s.times")
	json "\"part\":\"storm\",\"server\":\"$s\",\"clients\":$STORM_N,\"systems\":$([ "$s" = dnsmasq ] && echo null || echo "$STORM_SYSTEMS"),\"kernel_bytes\":$KERNEL_BYTES,\"seconds\":${SM[$s,s]},\"failed\":$fails,\"dhcp_done_s\":${SM[$s,dhcp]},\"client_p50_s\":${SM[$s,p50]},\"client_p95_s\":${SM[$s,p95]},\"kernel_verified\":$verified,\"config_verified\":$cfg_ok,\"leased\":${SM[$s,leased]},\"discovers\":${SM[$s,disc]},\"requests\":${SM[$s,req]},\"addresses_twice\":${SM[$s,twice]},\"db_bound\":${SM[$s,dbrows]:-null},\"db_twice\":${SM[$s,dbtwice]:-null},\"db_not_the_clients\":${SM[$s,dbmiss]:-null}"
	# an address given twice is a failure of the server, not a timing
	[ "${SM[$s,twice]}" -eq 0 ] && [ "${SM[$s,dbtwice]:-0}" -eq 0 ] && [ "${SM[$s,dbmiss]:-0}" -eq 0 ] || failed=1
	# clients that gave up are a result; no client done, or a wrong copy, is a failure
	if [ "$n_ok" -eq 0 ] || { [ -f "$out/1.t" ] && [ "$(awk '{ print $6 }' "$out/1.t")" = ok ] && { [ $verified = false ] || [ "$cfg_ok" = false ]; }; }; then
		failed=1
	fi
	if [ "$fails" -gt 0 ] || [ $verified = false ] || [ "$cfg_ok" = false ]; then
		SM[$s,why]="$fails of $STORM_N clients failed ($(awk '$6 != "ok" { print $6 }' "$W/storm-$s.times" | sort | uniq -c | tr '\n' ' ')); client 1's kernel verified: $verified, config: $cfg_ok"
	fi
	[ -n "${SM[$s,died]:-}" ] && SM[$s,why]="${SM[$s,died]}${SM[$s,why]:-}"
	rm -rf "$out"
	return 0
}

if want storm; then
	SROOT=$W/storm-root
	mkdir -p "$SROOT/pxelinux.cfg" && chmod 755 "$SROOT" "$SROOT/pxelinux.cfg"
	printf 'DEFAULT bench\nLABEL bench\n  KERNEL vmlinuz\n  APPEND console=ttyS0 root=/dev/xvda1 ro quiet\n' >"$SROOT/pxelinux.cfg/default"
	head -c "$KERNEL_BYTES" /dev/urandom >"$SROOT/vmlinuz" || die "cannot write the kernel file"
	chmod 644 "$SROOT/vmlinuz" "$SROOT/pxelinux.cfg/default"
	KERNEL_SHA=$(sha256sum <"$SROOT/vmlinuz" | cut -d' ' -f1)
	# the bench's own udhcpc script: it prints, it configures nothing
	printf '#!/bin/sh\n# xenprov bench/boot.sh: prints the lease, changes nothing\n[ "$1" = bound ] && echo "bound $ip $serverid"\nexit 0\n' >"$W/udhcpc-script"
	chmod 755 "$W/udhcpc-script"
	storm_net || die "cannot make the second server's namespace and the client bridge"
	for ((i = 1; i <= STORM_N; i++)); do echo "$i $(mac_of "$i")"; done >"$W/storm-macs"
	{
		for ((i = 1; i <= STORM_N; i++)); do
			echo "link add s$i address $(mac_of "$i") link br-cli type macvlan mode private"
			echo "link set s$i up"
		done
	} >"$W/macvlan.batch"
	ip -n "$NS_C" -batch "$W/macvlan.batch" >/dev/null 2>&1 || die "cannot make $STORM_N macvlan interfaces in $NS_C"
	say "3) boot storm: $STORM_N clients at once (one macvlan, one MAC each, on a bridge reaching both server"
	say "   namespaces): udhcpc, then atftp (blksize 1468) of pxelinux.cfg/default and a $KERNEL_BYTES-byte"
	say "   kernel from the server that gave the lease; xenprov's inventory holds $STORM_SYSTEMS systems, the"
	say "   clients among them"
	echo kernel >"$W/storm-k" && echo initrd >"$W/storm-i" || die "cannot write the distro's files"
	for s in "${STORM_SERVERS[@]}"; do
		case $s in
		xenprov*)
			xp_skip storm && { SM[$s,why]=$XP_WHY; continue; } ;;&
		xenprov-pg*)
			[ $PG_OK -eq 1 ] || { SM[$s,why]=$PG_WHY; continue; }
			[ -d "$W/storm-pg" ] || XP_INV=$PG_URL storm_inv "$W/storm-pg" ||
				{ SM[$s,why]="cannot make the inventory: $(tail -n 2 "$W/storm-pg.settings.log" | tr '\n' ' ')"; failed=1; continue; } ;;
		xenprov)
			[ -d "$W/storm-sqlite" ] || storm_inv "$W/storm-sqlite" ||
				{ SM[$s,why]="cannot make the inventory: $(tail -n 2 "$W/storm-sqlite.settings.log" | tr '\n' ' ')"; failed=1; continue; } ;;
		esac
		storm_run "$s" || failed=1
		say "   ${SLABEL[$s]}: ${SM[$s,s]:-failed} s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	done
	printf '  %-28s %8s %12s %11s %11s %7s %6s\n' server "total s" "all leased s" "client p50" "client p95" failed twice
	for s in "${STORM_SERVERS[@]}"; do
		if [ -n "${SM[$s,s]:-}" ]; then
			printf '  %-28s %8s %12s %11s %11s %7s %6s\n' "${SLABEL[$s]}" "${SM[$s,s]}" "${SM[$s,dhcp]}" "${SM[$s,p50]}" "${SM[$s,p95]}" "${SM[$s,fail]}" "${SM[$s,twice]}"
		fi
		[ -n "${SM[$s,why]:-}" ] && say "    $s: ${SM[$s,why]}"
	done
	say "  (twice: addresses leased to two clients, from the clients' own leases)"
	for s in "${STORM_SERVERS[@]}"; do
		[ -n "${SM[$s,s]:-}" ] && say "  ${SLABEL[$s]}: the clients sent ${SM[$s,disc]} DISCOVERs and ${SM[$s,req]} REQUESTs"
	done
	for s in xenprov-pg xenprov-pg2; do
		[ -n "${SM[$s,dbrows]:-}" ] || continue
		say "  ${SLABEL[$s]}: ${SM[$s,leased]} clients leased (by ${SM[$s,by]}); the leases table: ${SM[$s,dbrows]} bound rows,"
		say "    ${SM[$s,dbtwice]:-?} addresses or clients bound twice, ${SM[$s,dbmiss]:-?} clients whose address is not bound to them there"
	done
	for s in xenprov xenprov-pg xenprov-pg2; do
		[ -n "${SM[$s,s]:-}" ] && [ -n "${SM[dnsmasq,s]:-}" ] || continue
		say "  ratio, dnsmasq time / ${SLABEL[$s]} time (above 1.00x xenprov is faster): $(ratio "${SM[dnsmasq,s]}" "${SM[$s,s]}")"
		json "\"part\":\"storm-ratio\",\"server\":\"$s\",\"vs\":\"dnsmasq\",\"speedup\":$(awk -v a="${SM[dnsmasq,s]}" -v b="${SM[$s,s]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }')"
	done
	if [ -n "${SM[xenprov-pg,s]:-}" ] && [ -n "${SM[xenprov-pg2,s]:-}" ]; then
		say "  ratio, one server's time / two servers' time, on PostgreSQL: $(ratio "${SM[xenprov-pg,s]}" "${SM[xenprov-pg2,s]}")"
		json "\"part\":\"storm-ratio\",\"server\":\"xenprov-pg2\",\"vs\":\"xenprov-pg\",\"speedup\":$(awk -v a="${SM[xenprov-pg,s]}" -v b="${SM[xenprov-pg2,s]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }')"
	fi
	say
fi

say "elapsed: $((($(now_us) - T_START) / 1000000)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
say

# ---- JSON lines ---------------------------------------------------------------------------
if [ -n "$JSON_FILE" ]; then
	printf '%s\n' "${JSON[@]}" >"$JSON_FILE" || die "cannot write '$JSON_FILE'"
	say "results as JSON lines: $JSON_FILE"
else
	say "results (JSON lines):"
	printf '%s\n' "${JSON[@]}"
fi
exit $failed
