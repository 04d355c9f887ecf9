# pxeboot-env.sh - sourced by the bootloader's tests (pxeboot-*.sh) after serve-env.sh:
# "dom0" namespaces whose bridge xenbr0 (with dom0's own address) holds a veth joined
# to the boot network, the bootloader run in one the way libxl runs it, and the answer
# read back the way libxl (simple0, simple) and xend (sxp) read it.
[ -n "${SRV:-}" ] || { echo "FAIL: source serve-env.sh first"; exit 1; }
need python3 cmp timeout
XPB=$(dirname "$X")/xenprov-pxeboot
[ -x "$XPB" ] || fail "the build made no xenprov-pxeboot next to $X"

# dom0_add NAME MAC ADDR/PREFIX [BRIDGE_NS BRIDGE]: namespace NAME as a dom0: eth0
# (MAC), a veth whose peer is on the boot network's bridge, enslaved to xenbr0, which
# has dom0's address (the files are fetched over dom0's own routes, as pypxeboot's).
dom0_add() {
	client_add "$1" "$2" "${4:-$SRV}" "${5:-br0}"
	ip -n "$1" link add xenbr0 type bridge || fail "cannot make xenbr0 in $1"
	ip -n "$1" link set eth0 master xenbr0
	ip -n "$1" addr add "$3" dev xenbr0
	ip -n "$1" link set xenbr0 up
}

# pb NS ARG...: xenprov-pxeboot ARG... in NS, as run does it (rc, $T/stdout, $T/err).
pb() {
	local ns=$1
	shift
	timeout 120 ip netns exec "$ns" "$XPB" "$@" >"$T/stdout" 2>"$T/err" </dev/null
	rc=$?
	out=$(<"$T/stdout")
	! grep -q -E 'Sanitizer|runtime error' "$T/err" || fail "xenprov-pxeboot $*: sanitizer report"
}
# pb_ok NS ARG...: pb, which must succeed.
pb_ok() {
	pb "$@"
	[ "$rc" = 0 ] || fail "xenprov-pxeboot ${*:2}: exit $rc: $(tail -4 "$T/err")"
	ok
}

# libxl_read FILE FORMAT: the answer in FILE read as libxl 4.17 reads simple0
# (parse_bootloader_result: items end at NUL, "KEYWORD", white space, the value; other
# items ignored) and pygrub's simple (newlines), or as xend read sxp; prints
# kernel=..., ramdisk=..., args=... lines (ramdisk and args when present). Exit 1 if
# there is no kernel or the text is not of the format.
libxl_read() {
	python3 - "$1" "$2" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read().decode()
fmt = sys.argv[2]
got = {}
if fmt == "sxp":
    m = re.fullmatch(r'linux \(kernel ([^()\s]+)\)(?:\(ramdisk ([^()\s]+)\))?(?:\(args "([^"\\]*)"\))?', data)
    if not m:
        sys.exit("not sxp: %r" % data)
    got["kernel"], got["ramdisk"], got["args"] = m.groups()
else:
    sep = "\0" if fmt == "simple0" else "\n"
    if not data.endswith(sep):
        sys.exit("the last item is not ended by the separator")
    for item in data.split(sep):
        for kw in ("kernel", "ramdisk", "args"):
            if item.startswith(kw) and len(item) > len(kw) and item[len(kw)].isspace():
                got[kw] = item[len(kw):].lstrip()
for kw in ("kernel", "ramdisk", "args"):
    if got.get(kw) is not None:
        print("%s=%s" % (kw, got[kw]))
sys.exit(0 if got.get("kernel") else 1)
PY
}

# answer FILE FORMAT: libxl_read into the variables K, RD, ARGS; fails the test if
# libxl could not read it.
answer() {
	libxl_read "$1" "$2" >"$T/read" || fail "libxl cannot read the $2 answer: $(od -c "$1" | head -5)"
	K=$(sed -n 's/^kernel=//p' "$T/read")
	RD=$(sed -n 's/^ramdisk=//p' "$T/read")
	ARGS=$(sed -n 's/^args=//p' "$T/read")
	ok
}

# same FILE WANT: FILE is byte for byte WANT.
same() {
	[ -f "$1" ] || fail "no file '$1'"
	cmp -s "$1" "$2" || fail "'$1' is not '$2' ($(stat -c %s "$1") vs $(stat -c %s "$2") bytes)"
	ok
}

# boot_ok NS KERNEL INITRD ARGS PB-ARG...: a boot as libxl runs it (the answer in
# simple0 to $T/answer) that must succeed and give KERNEL's and INITRD's bytes ("":
# no ramdisk) and the command line ARGS ("*": any); the two files are removed after.
boot_ok() {
	local ns=$1 k=$2 i=$3 a=$4
	shift 4
	: >"$T/answer"
	pb_ok "$ns" --output="$T/answer" --output-format=simple0 "$@"
	answer "$T/answer" simple0
	same "$K" "$k"
	if [ -n "$i" ]; then
		same "$RD" "$i"
	else
		[ -z "$RD" ] || fail "a ramdisk '$RD' where none was expected"
	fi
	[ "$a" = "*" ] || [ "$ARGS" = "$a" ] || fail "args '$ARGS', want '$a'"
	ok
	rm -f "$K" ${RD:+"$RD"}
}

# lose NS N: NS's nftables drops the datagram to port 68 numbered N (0: the first)
# that comes in from now on, that one only. lost NS: the test fails unless exactly one
# was dropped; the rule goes.
lose() {
	need nft
	ip netns exec "$1" nft -f - <<N || fail "cannot load the nftables rule"
table inet lose {
	counter dropped { }
	chain in {
		type filter hook input priority 0;
		udp dport 68 numgen inc mod 100000 == $2 counter name dropped drop
	}
}
N
}
lost() {
	ip netns exec "$1" nft list counter inet lose dropped | grep -q "packets 1 " ||
		fail "nftables dropped no datagram: $(ip netns exec "$1" nft list counter inet lose dropped)"
	ip netns exec "$1" nft delete table inet lose
	ok
}

# files_in DIR: how many entries DIR has.
files_in() { find "$1" -mindepth 1 | wc -l; }
