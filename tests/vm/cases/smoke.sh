#!/bin/bash
# SPDX-License-Identifier: MIT
# The test bed itself: IOMMU groups, devices found by serial and MAC, a vfio-pci round trip.
#vm: platforms stock modern
#vm: timeout 120
#vm: topology rootbus rootport
#vm: blk vblk0 serial=vvsmoke0 size=16M
#vm: netpair vnet0 vnet1 mac0=52:54:00:00:00:c0 mac1=52:54:00:00:00:c1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

blk=$(vv_bdf_by_serial vvsmoke0)
vv_assert_eq "$(basename "$(readlink -f /sys/bus/pci/devices/$blk/driver)")" virtio-pci "blk driver"
[ -e "/sys/bus/pci/devices/$blk/iommu_group" ] || vv_die "blk has no IOMMU group"
g=$(basename "$(readlink -f /sys/bus/pci/devices/$blk/iommu_group)")
vv_assert_eq "$(ls /sys/kernel/iommu_groups/$g/devices | grep -v "$blk" | while read -r d; do
	[ "$(cat /sys/bus/pci/devices/$d/class)" = 0x060400 ] || echo "$d"; done)" "" "blk alone in its group"
grep -q "IR-PCI-MSI" /proc/interrupts || vv_die "no remapped MSI interrupts"
net0=$(vv_bdf_by_mac 52:54:00:00:00:c0)
net1=$(vv_bdf_by_mac 52:54:00:00:00:c1)
echo "blk=$blk net0=$net0 net1=$net1 topology=$VV_TOPOLOGY platform=$VV_PLATFORM kernel=$(uname -r)"
vv_bind_vfio "$net1"
g=$(basename "$(readlink -f /sys/bus/pci/devices/$net1/iommu_group)")
[ -c "/dev/vfio/$g" ] || vv_die "/dev/vfio/$g missing"
vv_unbind_vfio "$net1"
for _ in $(seq 50); do vv_bdf_by_mac 52:54:00:00:00:c1 >/dev/null 2>&1 && break; sleep 0.1; done
vv_assert_eq "$(vv_bdf_by_mac 52:54:00:00:00:c1)" "$net1" "net1 interface back"
echo "smoke: all checks passed"
