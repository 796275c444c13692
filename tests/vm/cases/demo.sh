#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's demo: what virtio-vfio sees in a guest with a disk and two NICs.
#vm: timeout 180
#vm: topology rootport
#vm: blk vblk0 serial=vvdemo0 size=64M
#vm: netpair vnet0 vnet1 mac0=52:54:00:00:00:d0 mac1=52:54:00:00:00:d1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
echo
echo "### virtio-vfio list"
"$vv" list
echo
echo "### virtio-vfio list --json (block devices)"
"$vv" list --json | jq -c '.devices[] | select(.type == "blk")'
echo
# The demo doubles as a check: the disk was found by its serial and is idle.
bdf=$(vv_bdf_by_serial vvdemo0)
"$vv" list --json | jq -e --arg b "$bdf" \
	'.devices[] | select(.bdf == $b and .type == "blk" and .in_use == false)' >/dev/null
echo "demo: disk vvdemo0 is $bdf, free to attach"
