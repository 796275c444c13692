#!/bin/bash
# SPDX-License-Identifier: MIT
# A machine without an IOMMU: attach refuses, explains how to enable one (firmware, kernel
# command line, QEMU) and what the no-IOMMU mode would cost, and changes nothing; doctor
# fails its IOMMU check with the same advice.
#vm: timeout 120
#vm: iommu off
#vm: blk vn serial=vvnoiommu size=16M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
bdf=$(vv_bdf_by_serial vvnoiommu)
drv() { basename "$(readlink -f "/sys/bus/pci/devices/$1/driver")"; }
before=$(drv "$bdf")

rc=0
out=$("$vv" attach "$bdf" 2>&1 >/dev/null) || rc=$?
echo "attach said: $out"
vv_assert_eq "$rc" 1 "attach: exit status without an IOMMU"
for want in "in no IOMMU group" "intel_iommu=on" "amd_iommu=on" "-device intel-iommu" \
	"vfio.enable_unsafe_noiommu_mode=1" "no isolation"; do
	[[ $out == *"$want"* ]] || vv_die "attach does not say '$want'"
done
vv_assert_eq "$(drv "$bdf")" "$before" "driver unchanged"
[ ! -e "/run/virtio-vfio/$bdf.driver" ] || vv_die "attach recorded state"

rc=0
out=$("$vv" doctor "$bdf") || rc=$?
echo "$out"
vv_assert_eq "$rc" 1 "doctor: exit status without an IOMMU"
grep -q "^\[FAIL\] no IOMMU is enabled: enable VT-d" <<<"$out" || vv_die "doctor: no IOMMU FAIL"
grep -q "enable_unsafe_noiommu_mode" <<<"$out" || vv_die "doctor: no word on no-IOMMU mode"
echo "noiommu: all checks passed"
