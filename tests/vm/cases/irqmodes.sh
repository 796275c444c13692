#!/bin/bash
# SPDX-License-Identifier: MIT
# The MSI-X plan and its fallbacks on real devices: one vector per queue, one shared vector
# when there are fewer vectors than queues, and polling without MSI-X. I/O works in each.
#vm: timeout 180
#vm: topology rootport
#vm: blk vper serial=vvirq-per size=16M extra=num-queues=2
#vm: blk vshared serial=vvirq-shared size=16M extra=num-queues=4,vectors=2
#vm: blk vpoll serial=vvirq-poll size=16M extra=vectors=0
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
rawio=$VV_BUILD/tests/vv-rawio

check() {
	local serial=$1 want_mode=$2 bdf disk
	bdf=$(vv_bdf_by_serial "$serial")
	disk=$(basename "$(dirname "$(grep -lx "$serial" /sys/block/vd*/serial)")")
	head -c 8192 /dev/urandom >/tmp/pat-$serial
	dd if=/tmp/pat-$serial of="/dev/$disk" bs=4096 oflag=direct conv=fsync status=none
	"$vv" attach "$bdf" >/dev/null
	"$rawio" --all-queues "$bdf" read 0 16 >/tmp/got-$serial 2>/tmp/log-$serial
	cat /tmp/log-$serial
	cmp /tmp/pat-$serial /tmp/got-$serial || vv_die "$serial: data differs"
	grep -q "irq mode $want_mode," /tmp/log-$serial || vv_die "$serial: expected irq mode $want_mode"
	"$vv" detach "$bdf" >/dev/null
	echo "ok: $serial in irq mode $want_mode"
}

check vvirq-per 0    # 3 vectors for 2 queues + config: one each
check vvirq-shared 1 # 2 vectors for 4 queues: config + one shared
check vvirq-poll 2   # no MSI-X at all: polled
echo "irqmodes: all checks passed"
