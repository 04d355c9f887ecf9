#!/bin/bash
# profile-cobbler.sh - Cobbler's profile options as `profile add` and `profile edit`
# take them, in Cobbler's units: the Book of Xen's command with only the program's name
# changed (`--name=bar --distro=foo --virt-file-size=4 --virt-ram=128`), each
# --virt-* option stored as the xenprov setting it means (GB as GiB, MB as MiB, a
# directory or a volume group as the pool, xenpv as pv, further sizes as blank data
# disks), Cobbler's <<inherit>> and auto, and a clear refusal of what has no meaning
# here (xenfv, kvm, a partition, several paths, sizes with units), nothing stored.
#
# Run by CTest with XENPROV, XP_SRC and XP_TMP. Exit 0 pass, 1 fail, 77 skip.
. "$(dirname "$0")/lib/common.sh" || exit 1
need python3
scratch pool
export XENPROV_STATE_DIR=$T/state

# The Book of Xen: `cobbler profile add --name=bar --distro=foo --virt-file-size=4
# --virt-ram=128`
expect_rc 0 profile add --name=bar --distro=foo --virt-file-size=4 --virt-ram=128
expect_rc 0 profile show --json bar
json_ok "$T/stdout" "j['name'] == 'bar' and j['settings'] == {'distro': 'foo',
	'disk-size': str(4 << 30), 'memory': '128'}"

# every alias, the sizes' list, a directory pool
expect_rc 0 profile add --name=baz --parent=bar --virt-file-size=4.5,10,2 --virt-cpus=2 \
	--virt-bridge=xenbr0 --virt-path="$T/pool" --virt-type=xenpv
expect_rc 0 profile show --json baz
json_ok "$T/stdout" "j['parent'] == 'bar' and j['settings'] == {'disk-size': str(9 << 29),
	'data-disk': '10G,fs=none\n2G,fs=none', 'vcpus': '2', 'bridge': 'xenbr0',
	'pool': '$T/pool', 'type': 'pv'}"
# a volume group: storage lvm; the space-separated form of the options too
expect_rc 0 profile add vg --virt-path VolGroup00 --virt-ram 512
expect_rc 0 profile show --json vg
json_ok "$T/stdout" "j['settings'] == {'pool': 'VolGroup00', 'storage': 'lvm', 'memory': '512'}"

# edit: <<inherit>> takes the parent's value again, auto the default type; a key the
# profile does not set itself is no error
expect_rc 0 profile edit --name=baz --virt-cpus='<<inherit>>' --virt-type=auto \
	--virt-ram='<<inherit>>' --virt-bridge=xenbr1
expect_rc 0 profile show --json baz
json_ok "$T/stdout" "'vcpus' not in j['settings'] and 'type' not in j['settings']
	and j['settings']['bridge'] == 'xenbr1' and 'memory' not in j['settings']"
# on add, <<inherit>> sets nothing
expect_rc 0 profile add --name=kid --parent=bar --virt-ram='<<inherit>>' --virt-cpus=1
expect_rc 0 profile show --json kid
json_ok "$T/stdout" "j['settings'] == {'vcpus': '1'}"

# refused, with why, nothing stored
refused() { # RC MESSAGE ARGS...: profile add of 'no' refused
	local want=$1 msg=$2
	shift 2
	expect_rc "$want" profile add --name=no "$@"
	err_has "$msg"
	expect_rc 1 profile show no
}
refused 1 "--virt-type xenfv: xenprov makes Xen PV and PVH guests, not fully virtualised (HVM) ones" \
	--virt-type=xenfv
refused 1 "--virt-type kvm: xenprov makes Xen guests only (xenpv)" --virt-type=kvm
refused 1 "--virt-type qemu: xenprov makes Xen guests only" --virt-type=qemu
refused 2 "--virt-type takes xenpv or auto (Cobbler's names); got 'hvm'" --virt-type=hvm
refused 1 "--virt-path '/dev/sda4': a partition holds one disk" --virt-path=/dev/sda4
refused 1 "one place for all of a guest's disks" --virt-path=VolGroup00,VolGroup00
refused 2 "--virt-file-size takes gigabytes, a number without a unit (Cobbler's), e.g. 4 or 4,10; got '4G'" \
	--virt-file-size=4G
refused 2 "--virt-file-size takes gigabytes" --virt-file-size=4,,x
refused 2 "--virt-ram takes megabytes, an integer without a unit (Cobbler's), e.g. 512; got '1G'" \
	--virt-ram=1G
refused 1 "memory: " --virt-ram=8 # below xenprov's floor: the setting's own check
expect_rc 2 profile add named --name=other --virt-ram=128
err_has "give NAME or --name, not both"
expect_rc 1 profile show other
expect_rc 1 profile edit --name=nosuch --virt-ram=256
err_has "no profile 'nosuch'"

# the usage names them
expect_rc 0 profile add -h
out_has "--virt-file-size GB[,GB...]"
out_has "--name NAME"
pass
