#!/bin/bash
# SPDX-License-Identifier: MIT
# VIRTIO_F_RING_RESET (QEMU offers queue_reset by default): one queue of a two-queue disk is
# broken while the other has requests on the device; the driver resets that queue alone
# (virtio 1.2 section 4.1.4.3.2), its requests fail with EIO, it serves again, the other
# queue's requests complete with their data and the device is never aborted. Split and packed
# rings. Then `info` names the feature negotiable, and the kernel reads what we wrote.
#vm: platforms stock modern
#vm: timeout 300
#vm: blk vrr serial=vvrr-split size=64M extra=num-queues=2
#vm: blk vrrp serial=vvrr-packed size=64M extra=num-queues=2,packed=on
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
blkio=$VV_BUILD/tests/vv-blkio

for serial in vvrr-split vvrr-packed; do
	bdf=$(vv_bdf_by_serial "$serial")
	echo "== $serial ($bdf)"
	"$vv" attach "$bdf" >/dev/null
	"$vv" info "$bdf" >/tmp/info-$serial
	grep -E '^ +40 RING_RESET +negotiable$' /tmp/info-$serial ||
		vv_die "$serial: info does not show RING_RESET negotiable"
	"$vv" info --json "$bdf" | grep -q '"RING_RESET"' || vv_die "$serial: not in info --json"
	"$blkio" "$bdf" ringreset 2>&1 | tee /tmp/rr-$serial
	grep -q 'queue 1 reset after the device broke it: 8 request(s) in flight failed' \
		/tmp/rr-$serial || vv_die "$serial: the library did not say it reset the queue"
	if grep -q 'device aborted' /tmp/rr-$serial; then vv_die "$serial: device aborted"; fi
	# The blocks queue 1 wrote last, through the kernel's driver after detach.
	"$blkio" "$bdf" read 0 8 >/tmp/blk0-$serial
	"$vv" detach "$bdf" >/dev/null
	for _ in $(seq 50); do grep -qx "$serial" /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
	disk=$(basename "$(dirname "$(grep -lx "$serial" /sys/block/vd*/serial)")")
	dd if="/dev/$disk" bs=4096 count=1 iflag=direct status=none | cmp - /tmp/blk0-$serial ||
		vv_die "$serial: the kernel reads other data"
	echo "ok: $serial"
done
