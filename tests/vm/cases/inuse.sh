#!/bin/bash
# SPDX-License-Identifier: MIT
# The in-use guard on real users: attach refuses, and leaves the device bound and working,
# while a btrfs (one or two devices) is mounted, an ext4 sits on a loop device over the disk,
# a process holds the raw disk, dm-linear or LVM is on it, it is swap, it holds an ext4's
# external journal; while the NIC is in another network namespace (ip netns, or a process's)
# with an address, is a bridge or bond member, or carries a VLAN. Once each is released,
# attach works and detach gives the device back. Then a race: a loop mounting the disk while
# attach runs never leaves a mounted filesystem on a disk the kernel lost.
#vm: timeout 420
#vm: blk vin0 serial=vvin0 size=160M
#vm: blk vjn serial=vvjrnl size=160M
#vm: blk vfs serial=vvfs size=160M
#vm: netpair vn0 vn1 mac0=52:54:00:00:1e:a0 mac1=52:54:00:00:1e:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
t_start=$EPOCHREALTIME
drv() { basename "$(readlink -f "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || echo none; }
disk_of() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }
if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
# LVM without udev, and with /etc read-only (the guest's root is this machine's, over 9p).
LVMCONF='activation { udev_sync=0 udev_rules=0 } devices { obtain_device_list_from_udev=0 } backup { backup=0 archive=0 }'

# refused WANT CMD...: exit 1, stderr has WANT; the whole message is printed for the docs.
refused() { vv_refused 1 "$@"; }
# still BDF: nothing was unbound by the refusal.
still() {
	vv_assert_eq "$(drv "$1")" virtio-pci "$1 left on virtio-pci"
	vv_assert_eq "$(cat "/sys/bus/pci/devices/$1/driver_override")" "(null)" "$1 no override"
	[ ! -e "/run/virtio-vfio/$1.driver" ] || vv_die "$1: state recorded by a refusal"
}
# cycle BDF SERIAL|MAC: attach works once released, and detach brings the device back. A
# disk's attach holds its O_EXCL claim across virtio_blk's unbind: that must not hang.
cycle() {
	"$vv" attach "$1" >/dev/null
	vv_assert_eq "$(drv "$1")" vfio-pci "$1 attached once released"
	"$vv" detach "$1" >/dev/null
	case "$2" in
	*:*) vv_wait "vv_bdf_by_mac $2 >/dev/null 2>&1" 100 || vv_die "$2 did not come back" ;;
	*) vv_wait "grep -qx $2 /sys/block/vd*/serial 2>/dev/null" 100 || vv_die "$2 did not come back" ;;
	esac
}

b0=$(vv_bdf_by_serial vvin0)
bj=$(vv_bdf_by_serial vvjrnl)
bf=$(vv_bdf_by_serial vvfs)
n0=$(vv_bdf_by_mac 52:54:00:00:1e:a0)
echo "disk $b0, journal $bj, fs $bf, nic $n0"
mkdir -p /tmp/m /tmp/l /tmp/race

# --- a mounted btrfs: mountinfo shows 0:N, only the source names the disk --------------
d=$(disk_of vvin0)
mkfs.btrfs -q -f "/dev/$d" >/dev/null
mount "/dev/$d" /tmp/m
echo data >/tmp/m/f
refused "/dev/$d is mounted on /tmp/m" "$vv" attach "$b0"
still "$b0"
echo more >>/tmp/m/f && sync && [ "$(wc -l </tmp/m/f)" = 2 ] || vv_die "btrfs stopped working"
umount /tmp/m
cycle "$b0" vvin0

# --- ext4 on a loop device over the disk -----------------------------------------------
d=$(disk_of vvin0)
loop=$(losetup -f --show "/dev/$d")
mkfs.ext4 -q -F "$loop" 2>/dev/null # "contains a btrfs file system": the one above
mount "$loop" /tmp/l
refused "/dev/$d backs loop device $loop, mounted on /tmp/l" "$vv" attach "$b0"
still "$b0"
echo x >/tmp/l/f && sync || vv_die "ext4 on the loop device stopped working"
umount /tmp/l
refused "/dev/$d backs loop device $loop" "$vv" attach "$b0"
losetup -d "$loop"
cycle "$b0" vvin0

# --- a process holding the raw disk open (named, with its command escaped) -------------
d=$(disk_of vvin0)
cp /bin/sleep /tmp/$'evil\e[31m'
/tmp/$'evil\e[31m' 600 7<"/dev/$d" &
holder=$!
vv_wait "[ -e /proc/$holder/fd/7 ]" 50 || vv_die "holder did not start"
refused "/dev/$d is open in process $holder (evil\\x1b[31m)" "$vv" attach "$b0"
still "$b0"
dd if="/proc/$holder/fd/7" bs=4096 count=1 status=none of=/dev/null || vv_die "the holder's fd broke"
kill "$holder"
wait "$holder" 2>/dev/null || true
cycle "$b0" vvin0

# --- dm-linear over the disk -----------------------------------------------------------
d=$(disk_of vvin0)
dmsetup create vvlin --noudevsync --table "0 65536 linear /dev/$d 0"
dmsetup mknodes vvlin # no udev to make /dev/mapper/vvlin
refused "/dev/$d is held by dm-0 (/dev/mapper/vvlin)" "$vv" attach "$b0"
still "$b0"
dd if=/dev/mapper/vvlin bs=4096 count=1 iflag=direct status=none of=/dev/null || vv_die "dm broke"
dmsetup remove --noudevsync vvlin
cycle "$b0" vvin0

# --- LVM -------------------------------------------------------------------------------
d=$(disk_of vvin0)
lvm pvcreate -q -ff -y --config "$LVMCONF" "/dev/$d" >/dev/null
lvm vgcreate -q --config "$LVMCONF" vvvg "/dev/$d" >/dev/null
lvm lvcreate -q --config "$LVMCONF" -L 16M -n lv vvvg -Zn >/dev/null
refused "/dev/$d is held by dm-" "$vv" attach "$b0"
refused "(LVM volume group vvvg); refusing (release it: vgchange -an vvvg" "$vv" attach "$b0"
still "$b0"
dd if=/dev/mapper/vvvg-lv bs=4096 count=1 iflag=direct status=none of=/dev/null || vv_die "LV broke"
lvm vgchange -q -an --config "$LVMCONF" vvvg >/dev/null
wipefs -q -a "/dev/$d"
cycle "$b0" vvin0

# --- swap ------------------------------------------------------------------------------
d=$(disk_of vvin0)
mkswap -q "/dev/$d" >/dev/null
swapon "/dev/$d"
refused "/dev/$d is in use as swap" "$vv" attach "$b0"
still "$b0"
grep -q "^/dev/$d " /proc/swaps || vv_die "swap gone"
swapoff "/dev/$d"
cycle "$b0" vvin0

# --- an external ext4 journal on the disk ----------------------------------------------
dj=$(disk_of vvjrnl)
df=$(disk_of vvfs)
mke2fs -q -F -O journal_dev -b 4096 "/dev/$dj"
mkfs.ext4 -q -F -b 4096 -J "device=/dev/$dj" "/dev/$df"
mount "/dev/$df" /tmp/m
refused "/dev/$dj is the external journal of a mounted ext4 filesystem" "$vv" attach "$bj"
still "$bj"
echo j >/tmp/m/f && sync || vv_die "ext4 with its external journal stopped working"
umount /tmp/m
cycle "$bj" vvjrnl

# --- a two-device btrfs mounted by its other device ------------------------------------
dj=$(disk_of vvjrnl)
df=$(disk_of vvfs)
mkfs.btrfs -q -f -d single -m single "/dev/$df" "/dev/$dj" >/dev/null
mount -o "device=/dev/$dj" "/dev/$df" /tmp/m
refused "/dev/$dj is a device of the btrfs filesystem mounted on /tmp/m" "$vv" attach "$bj"
still "$bj"
echo b >/tmp/m/f && sync || vv_die "two-device btrfs stopped working"
umount /tmp/m
cycle "$bj" vvjrnl

# --- a NIC in another network namespace (ip netns: a bind mount, no process) -----------
ifc=$(if_of 52:54:00:00:1e:a0)
ip netns add vvc
ip link set "$ifc" netns vvc
ip -n vvc addr add 198.18.30.1/24 dev "$ifc"
refused "interface $ifc in network namespace vvc has address 198.18.30.1; refusing (release it: ip -n vvc addr flush dev $ifc" "$vv" attach "$n0"
still "$n0"
ip -n vvc -4 addr show dev "$ifc" | grep -q 198.18.30.1 || vv_die "address gone"
ip -n vvc addr flush dev "$ifc"
refused "interface $ifc is in network namespace vvc" "$vv" attach "$n0"
ip -n vvc link set "$ifc" netns 1
ip netns del vvc
cycle "$n0" 52:54:00:00:1e:a0

# --- ... a process's namespace (unshare), interface up ---------------------------------
ifc=$(if_of 52:54:00:00:1e:a0)
unshare -n sleep 600 &
nsp=$!
vv_wait "[ \"\$(readlink /proc/$nsp/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]" 50 ||
	vv_die "unshare did not start"
ip link set "$ifc" netns "$nsp"
nsenter -t "$nsp" -n ip link set "$ifc" up
refused "interface $ifc in the network namespace of process $nsp (sleep) is up" "$vv" attach "$n0"
still "$n0"
kill "$nsp"
wait "$nsp" 2>/dev/null || true
# The namespace dies with its last process, and a physical interface comes home.
vv_wait "ip link show $ifc >/dev/null 2>&1" 100 || vv_die "$ifc did not come back from the namespace"
cycle "$n0" 52:54:00:00:1e:a0

# --- a bridge member, a bond member, a VLAN on top -------------------------------------
ifc=$(if_of 52:54:00:00:1e:a0)
ip link add vvbr0 type bridge
ip link set "$ifc" master vvbr0
refused "interface $ifc is a member of bridge vvbr0" "$vv" attach "$n0"
still "$n0"
ip link set "$ifc" nomaster
ip link del vvbr0
ip link add vvbond0 type bond
ip link set "$ifc" down
ip link set "$ifc" master vvbond0
refused "interface $ifc is a member of bond vvbond0" "$vv" attach "$n0"
still "$n0"
ip link set "$ifc" nomaster
ip link del vvbond0
ip link set "$ifc" down
ip link add link "$ifc" name vvvlan type vlan id 7
refused "interface $ifc carries vlan vvvlan" "$vv" attach "$n0"
still "$n0"
ip link del vvvlan
cycle "$n0" 52:54:00:00:1e:a0

# --- --force names what it overrides ---------------------------------------------------
d=$(disk_of vvin0)
sleep 600 7<"/dev/$d" &
holder=$!
vv_wait "[ -e /proc/$holder/fd/7 ]" 50 || vv_die "holder did not start"
out=$("$vv" attach --force "$b0" 2>&1 >/dev/null)
echo "MSG	$out"
case "$out" in *"in use: /dev/$d is open in process $holder (sleep); attaching anyway (--force)"*) ;;
*) vv_die "--force did not say what it overrides: $out" ;; esac
vv_assert_eq "$(drv "$b0")" vfio-pci "forced attach"
kill "$holder"
wait "$holder" 2>/dev/null || true
"$vv" detach "$b0" >/dev/null
vv_wait "grep -qx vvin0 /sys/block/vd*/serial 2>/dev/null" 100 || vv_die "vvin0 did not come back"

# --- detach: the group owner cannot slip in between the check and the unbind -----------
"$vv" attach --owner nobody "$b0" >/dev/null
g=$(basename "$(readlink -f "/sys/bus/pci/devices/$b0/iommu_group")")
setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 600 7<>"/dev/vfio/$g" &
holder=$!
vv_wait "[ -e /proc/$holder/fd/7 ]" 50 || vv_die "group holder did not start"
before=$(stat -c '%u:%g %a' "/dev/vfio/$g")
refused "/dev/vfio/$g is open in process $holder (sleep); refusing (release it: end process $holder" "$vv" detach "$b0"
vv_assert_eq "$(stat -c '%u:%g %a' "/dev/vfio/$g")" "$before" "the node's owner is left as it was"
kill "$holder"
wait "$holder" 2>/dev/null || true
"$vv" detach "$b0" >/dev/null
vv_wait "grep -qx vvin0 /sys/block/vd*/serial 2>/dev/null" 100 || vv_die "vvin0 did not come back"
echo "ok: detach refused while the owner held the group, then gave the disk back"

# --- the race: a loop mounting the disk while attach runs ------------------------------
d=$(disk_of vvin0)
mkfs.ext4 -q -F "/dev/$d"
rounds=30 attached=0 refusals=0
t0=$EPOCHREALTIME
for r in $(seq "$rounds"); do
	d=$(disk_of vvin0)
	# The mounter keeps trying until it mounts or the disk is gone.
	(for _ in $(seq 400); do
		mount -t ext4 "/dev/$d" /tmp/race 2>/dev/null && exit 0
		[ -e "/dev/$d" ] || exit 1
	done) &
	m=$!
	sleep "0.0$((r % 10))"
	set +e
	"$vv" attach "$b0" >/dev/null 2>/tmp/race.err
	rc=$?
	set -e
	wait "$m" || true
	if [ "$(drv "$b0")" = vfio-pci ]; then
		[ "$rc" = 0 ] || vv_die "round $r: attach exited $rc but the disk is on vfio-pci"
		! grep -q " /tmp/race " /proc/self/mountinfo ||
			vv_die "round $r: a filesystem is mounted on a disk the kernel lost"
		attached=$((attached + 1))
		"$vv" detach "$b0" >/dev/null
		vv_wait "grep -qx vvin0 /sys/block/vd*/serial 2>/dev/null" 100 || vv_die "vvin0 lost"
	else
		[ "$rc" = 1 ] || vv_die "round $r: attach exited $rc and the disk stayed"
		grep -q "is in use\|held exclusively" /tmp/race.err || vv_die "round $r: $(cat /tmp/race.err)"
		refusals=$((refusals + 1))
		grep -q " /tmp/race " /proc/self/mountinfo && umount /tmp/race
	fi
done
secs=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000000))
echo "ok: race, $rounds rounds in ${secs}s: $attached attached with nothing mounted, $refusals refused"

echo "inuse: all checks passed in $(((${EPOCHREALTIME/./} - ${t_start/./}) / 1000000))s"
