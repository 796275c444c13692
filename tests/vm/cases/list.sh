#!/bin/bash
# SPDX-License-Identifier: MIT
# `virtio-vfio list` sees the guest's test devices with the right types, groups, drivers,
# kernel names and users, including one bound to vfio-pci and held open; fails cleanly
# without /sys.
#vm: timeout 240
#vm: topology rootbus rootport
#vm: blk vblk0 serial=vvlist0 size=64M
#vm: blk vblk1 serial=vvlist1 size=64M
#vm: netpair vnet0 vnet1 mac0=52:54:00:00:00:a0 mac1=52:54:00:00:00:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
[ -x "$vv" ] || vv_die "$vv not built"

# One device's JSON object by BDF.
dev() { "$vv" list --json | jq -e --arg b "$1" '.devices[] | select(.bdf == $b)'; }
field() { dev "$1" | jq -r "$2"; }
group_of() { basename "$(readlink -f "/sys/bus/pci/devices/$1/iommu_group")"; }

blk0=$(vv_bdf_by_serial vvlist0)
blk1=$(vv_bdf_by_serial vvlist1)
net0=$(vv_bdf_by_mac 52:54:00:00:00:a0)
net1=$(vv_bdf_by_mac 52:54:00:00:00:a1)
echo "devices: blk0=$blk0 blk1=$blk1 net0=$net0 net1=$net1"

# --- every virtio function in sysfs is listed, nothing else ----------------------------
want=0
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] || continue
	id=$(( $(cat "$d/device") ))
	(( id >= 0x1000 && id <= 0x107f )) && want=$((want + 1))
done
got=$("$vv" list --json | jq '.devices | length')
vv_assert_eq "$got" "$want" "number of virtio functions"
"$vv" list --json | jq -e '.version == 1' >/dev/null

# --- blk: type, ids, names, driver, group, kernel name, not in use ---------------------
vv_assert_eq "$(field "$blk0" .type)" blk "blk0 type"
vv_assert_eq "$(field "$blk0" .type_id)" 2 "blk0 type_id"
vv_assert_eq "$(field "$blk0" .device_id)" 1042 "blk0 device_id"
vv_assert_eq "$(field "$blk0" .transitional)" false "blk0 is modern-only"
vv_assert_eq "$(field "$blk0" .device_name)" "Virtio 1.0 block device" "blk0 name from pci.ids"
vv_assert_eq "$(field "$blk0" .driver)" virtio-pci "blk0 driver"
vv_assert_eq "$(field "$blk0" .iommu_group)" "$(group_of "$blk0")" "blk0 group"
disk0=$(basename "$(dirname "$(grep -lx vvlist0 /sys/block/vd*/serial)")")
vv_assert_eq "$(field "$blk0" '.kernel_names | map(.kind + ":" + .name) | join(",")')" \
	"block:$disk0" "blk0 kernel names"
vv_assert_eq "$(field "$blk0" .in_use)" false "blk0 idle"
vv_assert_eq "$(field "$blk0" .in_use_reason)" null "blk0 no reason"

# Each test device has an IOMMU group of its own (intel-iommu, one group per device).
[ "$(group_of "$blk0")" != "$(group_of "$blk1")" ] || vv_die "blk0 and blk1 share a group"

# --- in use: a mounted partition, then a mounted whole disk ----------------------------
disk1=$(basename "$(dirname "$(grep -lx vvlist1 /sys/block/vd*/serial)")")
echo 'type=83' | sfdisk -q "/dev/$disk1"
for _ in $(seq 50); do [ -b "/dev/${disk1}1" ] && break; sleep 0.1; done
mkfs.ext4 -q -F "/dev/${disk1}1"
mkdir -p /tmp/list-mnt
mount "/dev/${disk1}1" /tmp/list-mnt
vv_assert_eq "$(field "$blk1" .in_use)" true "blk1 in use"
vv_assert_eq "$(field "$blk1" .in_use_reason)" "/dev/${disk1}1 is mounted on /tmp/list-mnt" \
	"blk1 reason"
"$vv" list | grep -qx "$blk1: /dev/${disk1}1 is mounted on /tmp/list-mnt" ||
	vv_die "table lacks the in-use note for $blk1"
umount /tmp/list-mnt
vv_assert_eq "$(field "$blk1" .in_use)" false "blk1 idle after umount"

# --- net: both NICs, one up ------------------------------------------------------------
if0=$(basename "$(dirname "$(grep -lx 52:54:00:00:00:a0 /sys/class/net/*/address)")")
vv_assert_eq "$(field "$net0" .type)" net "net0 type"
vv_assert_eq "$(field "$net0" .device_name)" "Virtio 1.0 network device" "net0 name"
vv_assert_eq "$(field "$net0" '.kernel_names[0].name')" "$if0" "net0 interface"
vv_assert_eq "$(field "$net0" .in_use)" false "net0 down and idle"
ip link set "$if0" up
vv_assert_eq "$(field "$net0" .in_use_reason)" "interface $if0 is up" "net0 up"
ip link set "$if0" down
ip addr add 198.18.0.1/24 dev "$if0"
vv_assert_eq "$(field "$net0" .in_use_reason)" "interface $if0 has address 198.18.0.1" \
	"net0 with address"
ip addr flush dev "$if0"

# --- the guest's own 9p root: listed and in use ---------------------------------------
ninep=$("$vv" list --json | jq -r '.devices[] | select(.type == "9p") | .bdf')
[ -n "$ninep" ] || vv_die "9p root device not listed"
vv_assert_eq "$(field "$ninep" .in_use_reason)" "9p share hostroot is mounted on /" "9p root"
if [ "$(field "$ninep" .transitional)" = true ]; then
	vv_assert_eq "$(field "$ninep" .device_id)" 1009 "transitional 9p id"
fi

# --- vfio-pci: bound by the test, then held open --------------------------------------
vv_bind_vfio "$net1"
trap 'vv_unbind_vfio "$net1" || true' EXIT
g=$(group_of "$net1")
vv_assert_eq "$(field "$net1" .driver)" vfio-pci "net1 on vfio-pci"
vv_assert_eq "$(field "$net1" .iommu_group)" "$g" "net1 group"
vv_assert_eq "$(field "$net1" '.kernel_names | length')" 0 "net1 has no kernel names"
vv_assert_eq "$(field "$net1" .in_use)" false "net1 not open"
"$vv" list | grep -E "^$net1 +net +1af4:1041 +vfio-pci +$g +- +no " >/dev/null ||
	vv_die "table line for $net1 wrong: $("$vv" list | grep "^$net1")"
# A separate holder, so that no process the checks start inherits the group fd.
sleep 600 9<>"/dev/vfio/$g" &
holder=$!
for _ in $(seq 50); do
	[ -e "/proc/$holder/fd/9" ] && [ "$(cat "/proc/$holder/comm")" = sleep ] && break
	sleep 0.1
done
vv_assert_eq "$(field "$net1" .in_use_reason)" "/dev/vfio/$g is open in process $holder (sleep)" \
	"net1 held open"
kill "$holder"
wait "$holder" 2>/dev/null || true
vv_unbind_vfio "$net1"
trap - EXIT
vv_assert_eq "$(field "$net1" .driver)" virtio-pci "net1 back on virtio-pci"

# --- no /sys: a clear error and exit 1 -------------------------------------------------
set +e
err=$(unshare -m sh -c "mount -t tmpfs none /sys && '$vv' list" 2>&1 >/dev/null)
rc=$?
set -e
vv_assert_eq "$rc" 1 "exit status without /sys"
case "$err" in
*"cannot read /sys/bus/pci/devices"*) ;;
*) vv_die "unexpected message without /sys: $err" ;;
esac

echo "list: all checks passed"
