#!/bin/bash
# image-content.sh - `xenprov image build` end to end on a real tree holding every kind
# of entry (devices, FIFOs, setuid/setgid/sticky, owners, nanosecond mtimes, symlinks,
# hard links, sparse files, xattrs, POSIX ACLs, long and non-ASCII names), tarred by GNU
# tar with --xattrs --acls -S: every entry read back with debugfs must match the tree
# (type, mode, uid, gid, size, mtime, link target, rdev, xattrs, link count, sha256),
# and e2fsck -fn must call the filesystem clean. Needs root (mknod, chown, trusted.*):
# exit 77 (skipped) otherwise.
. "$(dirname "$0")/lib/common.sh" || exit 1
[ "$(id -u)" = 0 ] || skip "needs root"
need tar setfattr setfacl getfacl mknod mkfifo debugfs e2fsck python3
scratch tree
R=$T/tree
cd "$R" || exit 1
# a filesystem without user xattrs or ACLs cannot make the tree
if ! setfattr -n user.probe -v 1 . 2>/dev/null || ! setfacl -m u:1000:r . 2>/dev/null; then
	skip "$T lacks xattr or ACL support"
fi
setfattr -x user.probe .
setfacl -b .

mkdir -p etc usr/bin var/lib dev run tmp home/alice srv/share 'données' deep
chmod 0755 . etc usr usr/bin var var/lib dev run home srv
printf 'root:x:0:0:root:/root:/bin/sh\n' >etc/passwd
head -c 2500000 /dev/urandom >var/lib/blob
truncate -s 20M var/lib/sparse
printf 'middle' | dd of=var/lib/sparse bs=1 seek=$((7 << 20)) conv=notrunc status=none
head -c 300000 /dev/zero >var/lib/zeros
printf 'tail' >>var/lib/zeros
: >var/lib/empty
printf '#!/bin/sh\n' >usr/bin/su && chmod 4755 usr/bin/su
printf 'wall' >usr/bin/wall && chgrp 5 usr/bin/wall && chmod 2755 usr/bin/wall
chmod 1777 tmp
printf 'mine\n' >home/alice/notes && chown -R 1000:1000 home/alice
printf 'big ids\n' >home/alice/ids && chown 70000:80000 home/alice/ids
ln -s passwd etc/passwd.link
ln -s "$(printf '../%.0s' $(seq 1 60))etc/passwd" usr/bin/long.link
ln etc/passwd etc/passwd.hard1
ln etc/passwd usr/bin/passwd.hard2
mknod dev/null c 1 3 && chmod 666 dev/null
mknod dev/sda b 8 0
mknod dev/nvme b 259 70000
mkfifo run/fifo
printf 'café\n' >'données/café.txt'
p=deep
for i in $(seq 1 12); do p="$p/directory-level-$i-with-a-rather-long-name"; done
mkdir -p "$p" && printf 'deep\n' >"$p/leaf"
printf 'ping' >usr/bin/ping
setfattr -n user.comment -v hello usr/bin/ping
setfattr -n trusted.origin -v tree usr/bin/ping
setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= usr/bin/ping
setfacl -m u:1000:rwx,g:100:r-x srv/share
setfacl -d -m u::rwx,g::r-x,o::-,g:100:rwx srv/share
printf 'acl\n' >srv/share/file && setfacl -m u:1001:rw srv/share/file
touch -h -d '2020-01-02 03:04:05.123456789' etc/passwd usr/bin/su etc/passwd.link
touch -d '1999-12-31 23:59:59.5' srv/share
cd - >/dev/null || exit 1

tar --xattrs --acls --xattrs-include='*' -S --numeric-owner -C "$R" -czpf "$T/root.tar.gz" . ||
	fail "tar"

expect_rc 0 image build --from "$T/root.tar.gz" --size 64M --label none -o "$T/img" --no-cache -q
echo "ok   image build"

e2fsck -fn "$T/img" >"$T/err" 2>&1 || fail "e2fsck -fn"
echo "ok   e2fsck -fn clean"

python3 - "$R" "$T/img" "$T" <<'EOF'
import hashlib, os, re, stat, subprocess, sys

tree, img, work = sys.argv[1], sys.argv[2], sys.argv[3]
fails = 0

def debugfs(cmds):
    """Runs debugfs requests in one process; returns each request's output."""
    path = os.path.join(work, 'debugfs.cmds')
    with open(path, 'w', encoding='utf-8', errors='surrogateescape') as f:
        for c in cmds:
            f.write(c + '\n')
    out = subprocess.run(['debugfs', '-f', path, img], capture_output=True).stdout
    out = out.decode('utf-8', 'surrogateescape')
    parts = re.split(r'^debugfs: ', out, flags=re.M)[1:]
    return parts

def q(p):
    return '"' + p.replace('"', '\\"') + '"'

entries = []
for dirpath, dirnames, filenames in os.walk(tree):
    for n in dirnames + filenames:
        full = os.path.join(dirpath, n)
        entries.append('/' + os.path.relpath(full, tree))
entries.sort()

stats = debugfs(['stat ' + q(p) for p in entries])
eal = debugfs(['ea_list ' + q(p) for p in entries])
assert len(stats) == len(entries) and len(eal) == len(entries), (len(stats), len(entries))

def bad(path, what, got, want):
    global fails
    fails += 1
    print(f'FAIL {path}: {what}: image has {got!r}, tree has {want!r}')

types = {'regular': stat.S_IFREG, 'directory': stat.S_IFDIR, 'symlink': stat.S_IFLNK,
         'character special': stat.S_IFCHR, 'block special': stat.S_IFBLK,
         'FIFO': stat.S_IFIFO, 'socket': stat.S_IFSOCK}
dumps, xattr_reqs = [], []
for p, out in zip(entries, stats):
    st = os.lstat(tree + p)
    m = re.search(r'Type: (.+?)\s+Mode:\s+(\d+)', out)
    if not m:
        bad(p, 'stat', out.strip()[:200], 'an inode')
        continue
    if types.get(m.group(1)) != stat.S_IFMT(st.st_mode):
        bad(p, 'type', m.group(1), stat.S_IFMT(st.st_mode))
    if int(m.group(2), 8) != stat.S_IMODE(st.st_mode):
        bad(p, 'mode', m.group(2), oct(stat.S_IMODE(st.st_mode)))
    m = re.search(r'User:\s+(\d+)\s+Group:\s+(\d+)', out)
    if (int(m.group(1)), int(m.group(2))) != (st.st_uid, st.st_gid):
        bad(p, 'owner', m.groups(), (st.st_uid, st.st_gid))
    size = int(re.search(r'Size: (\d+)', out).group(1))
    if not stat.S_ISDIR(st.st_mode) and size != st.st_size:
        bad(p, 'size', size, st.st_size)
    m = re.search(r'mtime: 0x([0-9a-f]+):([0-9a-f]+)', out)
    sec, extra = int(m.group(1), 16), int(m.group(2), 16)
    sec += (extra & 3) << 32
    if (sec, extra >> 2) != (st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9):
        bad(p, 'mtime', (sec, extra >> 2), divmod(st.st_mtime_ns, 10**9))
    links = int(re.search(r'Links: (\d+)', out).group(1))
    if links != st.st_nlink:
        bad(p, 'links', links, st.st_nlink)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        m = re.search(r'Device major/minor number: (\d+):(\d+)', out)
        got = (int(m.group(1)), int(m.group(2))) if m else None
        if got != (os.major(st.st_rdev), os.minor(st.st_rdev)):
            bad(p, 'rdev', got, (os.major(st.st_rdev), os.minor(st.st_rdev)))
    if stat.S_ISLNK(st.st_mode) and 'Fast link dest: ' in out:
        got = re.search(r'Fast link dest: "(.*)"', out).group(1)
        if got != os.readlink(tree + p):
            bad(p, 'link target', got, os.readlink(tree + p))
    elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
        dumps.append(p)
    names = re.findall(r'^\s+(\S+) \(\d+\)', eal[entries.index(p)], flags=re.M)
    want = sorted(os.listxattr(tree + p, follow_symlinks=False))
    if sorted(names) != want:
        bad(p, 'xattr names', sorted(names), want)
    for n in want:
        xattr_reqs.append((p, n))

# content (regular files) and targets (symlinks), by sha256 of what debugfs dumps
outs = [os.path.join(work, f'dump{i}') for i in range(len(dumps))]
debugfs([f'dump {q(p)} {o}' for p, o in zip(dumps, outs)])
for p, o in zip(dumps, outs):
    st = os.lstat(tree + p)
    if stat.S_ISLNK(st.st_mode):
        want = os.readlink(tree + p).encode('utf-8', 'surrogateescape')
    else:
        with open(tree + p, 'rb') as f:
            want = f.read()
    try:
        with open(o, 'rb') as f:
            got = f.read()
    except OSError:
        got = None
    if got is None or hashlib.sha256(got).hexdigest() != hashlib.sha256(want).hexdigest():
        bad(p, 'sha256', got and hashlib.sha256(got).hexdigest(),
            hashlib.sha256(want).hexdigest())

# xattr values: debugfs ea_get converts ACLs back to the Linux xattr format, as getxattr
vals = [os.path.join(work, f'xattr{i}') for i in range(len(xattr_reqs))]
debugfs([f'ea_get -f {o} {q(p)} {n}' for (p, n), o in zip(xattr_reqs, vals)])
for (p, n), o in zip(xattr_reqs, vals):
    want = os.getxattr(tree + p, n, follow_symlinks=False)
    try:
        with open(o, 'rb') as f:
            got = f.read()
    except OSError:
        got = None
    if got and n.startswith('system.posix_acl_'):
        # libext2fs converts ACLs back with id 0, the kernel with -1, for the entries
        # that have no id (USER_OBJ, GROUP_OBJ, MASK, OTHER)
        def norm(v):
            b = bytearray(v)
            for o in range(4, len(b) - 7, 8):
                if b[o] in (0x01, 0x04, 0x10, 0x20):
                    b[o + 4:o + 8] = b'\xff\xff\xff\xff'
            return bytes(b)
        got, want = norm(got), norm(want)
    if got != want:
        bad(p, 'xattr ' + n, got, want)

print(f'{"ok  " if not fails else "FAIL"} {len(entries)} entries compared, '
      f'{len(dumps)} contents, {len(xattr_reqs)} xattr values; {fails} differences')
sys.exit(1 if fails else 0)
EOF
