#!/bin/bash
# image-dist.sh - images of a Debian release without a tarball, with the real mmdebstrap
# and Debian's mirror (the host's apt sources' one), two mmdebstrap runs in all:
#   - `image build --dist debian:bookworm --variant minbase` (no kernel, to keep it
#     quick) streams mmdebstrap's tar into the image: sfdisk sees the table, e2fsck -fn
#     finds the filesystem clean, /etc/debian_version says 12, /dev holds mmdebstrap's
#     own entries and apt's package lists are gone (the tar is what mmdebstrap's
#     cleanup left), and the size estimated from the hook's list is exact enough to
#     build with no headroom at all; --json tells the suite, packages, release date and
#     both times;
#   - the same build again is a cache hit that never runs mmdebstrap (a stand-in that
#     fails the test is first on PATH), byte for byte the same image;
#   - a profile's `image debian:bookworm`: `domain create` makes its golden image from
#     the same cache entry (no mmdebstrap either), and uses it, with a warning, when the
#     mirror cannot be reached (no release date); packages with a tarball image are
#     refused by `profile add`, `domain create --install` and `deploy --set install=`;
#   - a package that does not exist fails with mmdebstrap's own words and leaves
#     nothing: no image, no cache entry, no temporary directory (TMPDIR is the test's,
#     mmdebstrap's root goes there too), no process;
#   - usage errors, and an unprivileged user without subordinate ids gets the reason
#     before mmdebstrap starts.
# Needs root, mmdebstrap and the network to Debian's mirror: exits 77 otherwise.
# Run by CTest with XENPROV, XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need mmdebstrap sfdisk e2fsck python3 timeout
[ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap --mode=root)"
[ -x /usr/lib/apt/apt-helper ] || skip "needs apt's apt-helper"
scratch tmp xdg fake out
timeout 30 /usr/lib/apt/apt-helper download-file \
	http://deb.debian.org/debian/dists/bookworm/InRelease "$T/probe" >/dev/null 2>&1 ||
	skip "Debian's mirror cannot be reached"
export TMPDIR=$T/tmp XDG_CACHE_HOME=$T/xdg
CACHE=$T/xdg/xenprov/images
RUN_TIMEOUT=600
# a stand-in mmdebstrap for the runs that must not start one
printf '#!/bin/sh\necho "the stand-in mmdebstrap ran" >&2\nexit 99\n' >"$T/fake/mmdebstrap"
chmod 755 "$T/fake/mmdebstrap"
REAL_PATH=$PATH
nothing_left() { # the test's TMPDIR is empty: no temporary directory of ours or mmdebstrap's
	[ -z "$(ls -A "$T/tmp")" ] || fail "left in TMPDIR: $(ls -A "$T/tmp")"
	ok
}

# ---- usage -------------------------------------------------------------------------------
expect_rc 2 image build --dist debian:sid -o "$T/out/x.img"
err_has "invalid --dist 'debian:sid' (debian:bookworm, debian:trixie)"
expect_rc 2 image build --dist debian:bookworm --from "$T/probe" -o "$T/out/x.img"
err_has "--from and --dist exclude each other"
expect_rc 2 image build --from "$T/probe" --include udev -o "$T/out/x.img"
err_has "--include, --variant and --mirror go with --dist"
expect_rc 2 image build --dist debian:bookworm --variant buildd -o "$T/out/x.img"
err_has "invalid --variant 'buildd' (minbase, standard)"
expect_rc 1 image build --dist debian:bookworm --include Bad -o "$T/out/x.img"
err_has "include: 'Bad' is not a package name"
expect_rc 1 image build --dist debian:bookworm --mirror ftp://x/debian -o "$T/out/x.img"
err_has "not a mirror URI: 'ftp://x/debian'"

# an unprivileged user without subordinate ids: told why, before mmdebstrap starts
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 &&
	! grep -qs '^nobody:' /etc/subuid; then
	chmod 1777 "$T/tmp" "$T/out"
	chmod 755 "$T" "$T/fake"
	PATH=$T/fake:$REAL_PATH
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$X" image build \
		--dist debian:bookworm --no-cache -o "$T/out/nobody.img" >"$T/stdout" 2>"$T/err"
	rc=$?
	PATH=$REAL_PATH
	[ "$rc" = 1 ] || fail "unprivileged build: exit $rc"
	ok
	err_has "mmdebstrap cannot make a root without root here:"
	err_has "hint: run it as root, or give the user subordinate ids"
	err_lacks "stand-in"
	[ ! -e "$T/out/nobody.img" ] || fail "an image was left"
	nothing_left
	chmod 700 "$T/tmp" "$T/out"
fi

# ---- a first build -------------------------------------------------------------------------
img=$T/out/deb12.img
expect_rc 0 image build --dist debian:bookworm --variant minbase --headroom 0 --json -o "$img"
cp "$T/stdout" "$T/first.json"
json_ok "$T/first.json" 'j["dist"] == "debian:bookworm" and j["suite"] == "bookworm"'
json_ok "$T/first.json" 'j["variant"] == "minbase" and j["packages"] == []'
json_ok "$T/first.json" 'j["cached"] is False and j["mmdebstrap_ran"] is True'
json_ok "$T/first.json" '__import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["release_date"])'
json_ok "$T/first.json" 'j["mmdebstrap_seconds"] > 1 and 0 <= j["xenprov_seconds"] < j["seconds"]'
json_ok "$T/first.json" 'j["mirror"].startswith("http") and len(j["key"]) == 64'
json_ok "$T/first.json" 'j["entries"] > 5000 and j["content_bytes"] > 50 << 20'
nothing_left
# the table, the filesystem, the release inside
sfdisk -d "$img" >"$T/sfdisk" || fail "sfdisk cannot read the table"
grep -q "start= *2048, .*type=83" "$T/sfdisk" || fail "no Linux partition at 1 MiB: $(cat "$T/sfdisk")"
ok
e2fsck -fn "$img?offset=1048576" >"$T/fsck" 2>&1 || fail "e2fsck -fn: $(tail -5 "$T/fsck")"
ok
expect_rc 0 image cat "$img" /etc/debian_version
[[ "$out" == 12.* ]] || fail "/etc/debian_version is '$out'"
ok
# /dev from mmdebstrap's own entries; apt's lists cleaned up before the tar
expect_rc 0 image ls "$img" /dev
for d in null zero urandom console ptmx; do
	grep -qx "$d" "$T/stdout" || fail "/dev lacks $d: $(tr '\n' ' ' <"$T/stdout")"
done
ok
expect_rc 0 image ls "$img" /var/lib/apt/lists
out_lacks "_Packages"
# the size came from the hook's list and fits with no headroom: full, not overfull
expect_rc 0 image info --json "$img"
json_ok "$T/stdout" 'j["partitions"][0]["free"] < j["partitions"][0]["size"] * 0.2'

# ---- again: from the cache, mmdebstrap never runs -------------------------------------------
PATH=$T/fake:$REAL_PATH
expect_rc 0 image build --dist debian:bookworm --variant minbase --headroom 0 --json -o "$T/out/again.img"
PATH=$REAL_PATH
err_lacks "stand-in"
json_ok "$T/stdout" 'j["cached"] is True and j["mmdebstrap_ran"] is False'
json_ok "$T/stdout" 'j["key"] == load("'"$T/first.json"'")["key"]'
json_ok "$T/stdout" 'j["release_date"] == load("'"$T/first.json"'")["release_date"]'
cmp -s "$img" "$T/out/again.img" || fail "the cached image differs from the first"
ok
[ "$(ls "$CACHE" | wc -l)" = 1 ] || fail "cache: $(ls "$CACHE")"
ok

# ---- a profile's debian:bookworm: its golden image from the same cache entry -------------------
S=(--state-dir "$T/state")
expect_rc 0 profile add deb "${S[@]}" --image debian:bookworm --network dhcp --pool "$T/out"
PATH=$T/fake:$REAL_PATH
expect_rc 0 domain create g1 "${S[@]}" --profile deb --config-dir "$T/out" --json -q
PATH=$REAL_PATH
err_lacks "stand-in"
json_ok "$T/stdout" 'j["settings"]["image"] == "debian:bookworm" and j["golden"].endswith(".img")'
golden=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["golden"])' <"$T/stdout")
cmp -s "$img" "$golden" || fail "the golden image is not the cached build"
ok
ls "$T/state/images/"*.latest >/dev/null 2>&1 || fail "no .latest link to the golden image"
ok
# the mirror unreachable (apt-helper through a proxy that refuses): no release date, so
# the golden image last built of the same set is used, with a warning, and no mmdebstrap
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
PATH=$T/fake:$REAL_PATH
expect_rc 0 domain create g3 "${S[@]}" --profile deb --config-dir "$T/out" --json -q
PATH=$REAL_PATH
unset http_proxy https_proxy
err_lacks "stand-in"
err_has "cannot learn the release date of bookworm"
err_has "using the golden image last built of it"
json_ok "$T/stdout" 'j["golden"] == "'"$golden"'"'
# packages only go into images xenprov makes
touch "$T/root.tar"
tar -cf "$T/root.tar" -C "$T/fake" . || fail "tar"
expect_rc 1 profile add tb "${S[@]}" --image "$T/root.tar" --install vim
err_has "install needs an image made by xenprov (debian:bookworm or debian:trixie)"
expect_rc 0 profile add tb "${S[@]}" --image "$T/root.tar" --network dhcp --pool "$T/out"
expect_rc 1 domain create g2 "${S[@]}" --profile tb --install vim --config-dir "$T/out" -q
err_has "install needs an image made by xenprov"
[ ! -e "$T/out/g2.img" ] || fail "a disk was left for g2"
ok
expect_rc 1 deploy "${S[@]}" --profile tb --count 1 --name 'd%d' --set install=vim \
	--config-dir "$T/out" -q
err_has "install needs an image made by xenprov"
[ ! -e "$T/out/d1.img" ] || fail "a disk was left for d1"
ok
nothing_left

# ---- a package that does not exist: mmdebstrap's words, nothing left -------------------------
pkg=xenprov-no-such-package-$$
expect_rc 1 image build --dist debian:bookworm --include "$pkg" -o "$T/out/bad.img"
err_has "error: mmdebstrap failed (exit status"
err_has "E: Unable to locate package $pkg"
err_has "xenprov: cannot build '$T/out/bad.img'"
err_lacks "Input/output error"
[ ! -e "$T/out/bad.img" ] || fail "an image was left"
ok
ls -A "$T/out" | grep -q '^\.' && fail "a temporary was left in the output's directory: $(ls -A "$T/out")"
ok
[ "$(ls "$CACHE" | wc -l)" = 1 ] || fail "a cache entry was added: $(ls "$CACHE")"
ok
nothing_left
! pgrep -f "$pkg" >/dev/null || fail "a process of the failed run is left: $(pgrep -af "$pkg")"
ok

pass
