#!/bin/bash
# SPDX-License-Identifier: MIT
# A device that stops answering under a mounted export: QEMU throttles the disk's writes to
# 50 bytes a second, so a 4 KiB write stays on the device for over a minute. SIGTERM stops
# intake and gives it the 30 s deadline; then the device is aborted, the writer gets EIO,
# and the daemon unmounts and exits 1 saying why. (QEMU's reset drains the throttled request
# at once, so the abort itself does not wait; a device that ignores its reset has Bus
# Master cleared instead.)
#vm: timeout 300
#vm: topology rootport
#vm: blk vstuck serial=vvstuck size=32M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
vv_mount_fg vvstuck
head -c 65536 /dev/urandom >/tmp/pat
dd if=/tmp/pat of="$f" bs=64k conv=notrunc,fsync oflag=direct status=none ||
	vv_die "a write before the throttle"

echo 'VV-QMP: {"execute": "block_set_io_throttle", "arguments": {"id": "/machine/peripheral/vstuck/virtio-backend", "bps": 0, "bps_rd": 0, "bps_wr": 50, "iops": 0, "iops_rd": 0, "iops_wr": 0}}' >/dev/console
sleep 2
# The first write fills the throttle's bucket; the next waits for it to drain.
dd if=/dev/zero of="$f" bs=4k seek=32 count=1 conv=notrunc oflag=direct status=none
# set +e: the subshell must outlive dd's failure to say how it ended.
(set +e
	dd if=/dev/zero of="$f" bs=4k seek=64 count=1 conv=notrunc oflag=direct 2>/tmp/dd.err
	echo $? >/tmp/dd.rc) &
sleep 5
[ ! -e /tmp/dd.rc ] || vv_die "the write was not held by the device: $(cat /tmp/dd.err)"
echo "ok: a write is held by the device"

start=$(date +%s)
kill -TERM "$mpid"
vv_wait "! kill -0 $mpid 2>/dev/null" 1200 || vv_die "the daemon did not end: $(cat /tmp/m.err)"
secs=$(($(date +%s) - start))
rc=0
wait "$mpid" || rc=$?
vv_assert_eq "$rc" 1 "daemon exit status after giving up on the device"
err=$(cat /tmp/m.err)
[[ $err == *"no answer 30 s after stop"* && $err == *"device lost"* ]] ||
	vv_die "no reason given: $err"
[[ $err != *Sanitizer* && $err != *"runtime error"* ]] || vv_die "sanitizer report: $err"
[ "$secs" -ge 30 ] || vv_die "gave up after ${secs}s, before the 30 s deadline"
echo "ok: the daemon gave up after ${secs}s and said: $(tr '\n' '|' </tmp/m.err)"
if ! vv_wait "[ -e /tmp/dd.rc ]" 100; then
	for p in $(pgrep -f "seek=64"); do
		echo "$p: $(cat /proc/$p/cmdline | tr '\0' ' ') wchan $(cat /proc/$p/wchan)"
		cat "/proc/$p/stack"
	done
	dmesg | tail -n 20
	vv_die "the held write never ended"
fi
[ "$(cat /tmp/dd.rc)" != 0 ] && grep -q "Input/output error" /tmp/dd.err ||
	vv_die "the held write: exit $(cat /tmp/dd.rc), $(cat /tmp/dd.err)"
echo "ok: the held write failed: $(tail -n 1 /tmp/dd.err)"
mountpoint -q /tmp/m && vv_die "still mounted"

# The device is not hurt: the kernel's driver reads what was written before.
"$vv" detach "$bdf" >/dev/null
disk=/dev/$(basename "$(dirname "$(grep -lx vvstuck /sys/block/vd*/serial)")")
dd if="$disk" bs=64k count=1 iflag=direct status=none | cmp - /tmp/pat ||
	vv_die "the data written before the stall"
echo "stuck: all checks passed"
