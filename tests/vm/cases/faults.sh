#!/bin/bash
# SPDX-License-Identifier: MIT
# Device faults under a mounted export.
# - I/O errors: QEMU fails every request that covers one sector (blkdebug). Reads and writes
#   there get EIO; reads and writes elsewhere, running at the same time, all succeed; the
#   daemon keeps serving and ends cleanly (exit 0) on umount.
# - DEVICE_NEEDS_RESET: a malformed request makes QEMU give up on the device; every
#   request in flight fails with EIO; a new open resets the device and it works again.
# - A read-only DMA mapping: the device reads it, and cannot write it (IOMMU fault).
# - Surprise removal: QEMU device_del under read and write load. The kernel relays the
#   removal to us (the VFIO request interrupt); the daemon aborts the device, fails what is
#   in flight with EIO, unmounts and exits 1 saying why; the kernel then completes the
#   removal (no "blocked" task, the function disappears) and the guest carries on. A daemon
#   mount says why in syslog. `net serve` on a NIC says why and exits non-zero.
#vm: platforms stock modern
#vm: timeout 300
#vm: topology rootport
#vm: blk vfault serial=vvfault0 size=64M ioerror=8192
#vm: blk vgone serial=vvgone0 size=64M
#vm: blk vgone2 serial=vvgone1 size=16M
#vm: netpair vngone vkgone mac0=52:54:00:00:06:a0 mac1=52:54:00:00:06:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio

# --- I/O errors at sector 8192 (4 MiB) ---------------------------------------------------
vv_mount_fg vvfault0

head -c $((4 << 20)) /dev/urandom >/tmp/low
dd if=/tmp/low of="$f" bs=1M conv=notrunc,fsync oflag=direct status=none ||
	vv_die "writing below the bad sector failed"
# Load around the bad sector while it fails, from another process: every byte must check.
# Never right next to it: QEMU merges adjacent requests and fails the merged one whole.
(for _ in $(seq 20); do
	dd if="$f" bs=1M count=3 iflag=direct status=none | cmp -s -n $((3 << 20)) - /tmp/low ||
		exit 1
	dd if=/tmp/low of="$f" bs=1M seek=8 count=4 conv=notrunc oflag=direct status=none || exit 1
done) &
load=$!
bad=0
for _ in $(seq 20); do
	out=$(dd if="$f" of=/dev/null bs=4k skip=1024 count=1 iflag=direct 2>&1) && bad=1
	[[ $out == *"Input/output error"* ]] || bad=1
	out=$(dd if=/dev/zero of="$f" bs=4k seek=1024 count=1 conv=notrunc oflag=direct 2>&1) &&
		bad=1
	[[ $out == *"Input/output error"* ]] || bad=1
done
[ $bad = 0 ] || vv_die "I/O at the bad sector did not fail with EIO: $out"
echo "ok: 20 reads and 20 writes at the bad sector failed with EIO"
wait "$load" || vv_die "I/O next to the failing sector failed or read wrong data"
echo "ok: concurrent I/O elsewhere all succeeded"
# An unaligned write whose edge block is the bad one: its read-modify-write fails too.
out=$(dd if=/dev/zero of="$f" bs=100 seek=$(((4 << 20) / 100)) count=1 conv=notrunc 2>&1) &&
	vv_die "a write through the bad block's read-modify-write succeeded"
echo "ok: unaligned write over the bad block: ${out##*: }"
kill -0 "$mpid" || vv_die "the daemon died: $(cat /tmp/m.err)"
dd if="$f" bs=1M skip=8 count=4 iflag=direct status=none | cmp - /tmp/low ||
	vv_die "data after the errors"
umount /tmp/m
rc=0
wait "$mpid" || rc=$?
vv_assert_eq "$rc" 0 "daemon exit status after the I/O errors"

# --- DEVICE_NEEDS_RESET ---------------------------------------------------------------------
# A malformed request breaks the device: QEMU sets NEEDS_RESET and raises a config
# interrupt; the driver fails the 8 requests in flight with EIO, once each.
"$VV_BUILD/tests/vv-blkio" "$bdf" fault || vv_die "DEVICE_NEEDS_RESET not handled"
echo "ok: DEVICE_NEEDS_RESET failed every request in flight with EIO"
# Opening it again resets it: it works, and the data is intact.
"$VV_BUILD/tests/vv-blkio" "$bdf" read 16384 8192 | cmp - /tmp/low ||
	vv_die "the device after its reset"
echo "ok: the device works again after a reset"
# Memory mapped for the device to read only: QEMU's IOMMU refuses its writes there.
"$VV_BUILD/tests/vv-blkio" "$bdf" readonly 2>&1 | sed 's/^/  /' ||
	vv_die "a read-only DMA mapping was not enforced"
"$VV_BUILD/tests/vv-blkio" "$bdf" read 16384 8192 | cmp - /tmp/low ||
	vv_die "the device after the read-only test"
echo "ok: the device could read but not write a VV_DMA_DEVICE_READ mapping"
"$vv" detach "$bdf" >/dev/null

# --- surprise removal under load ----------------------------------------------------------
vv_mount_fg vvgone0
# Each loop ends only when its dd fails: exit 3 says it did.
(while dd if="$f" of=/dev/null bs=64k count=256 iflag=direct status=none; do :; done
	exit 3) 2>/tmp/rload.err &
rload=$!
# nocreat: after the removal the writer must fail, not write a new file into the tmpfs under
# the mountpoint (tmpfs takes O_DIRECT since Linux 6.6).
(while dd if=/dev/urandom of="$f" bs=64k seek=512 count=64 conv=notrunc,nocreat oflag=direct \
	status=none; do :; done
	exit 3) 2>/tmp/wload.err &
wload=$!
sleep 2
kill -0 "$rload" && kill -0 "$wload" || vv_die "the load did not run"
dmesg -c >/dev/null
echo 'VV-QMP: {"execute": "device_del", "arguments": {"id": "vgone"}}' >/dev/console

# pciehp waits 5 s for a cancel of the attention button, then removes the function.
if ! vv_wait "! kill -0 $mpid 2>/dev/null" 300; then
	dmesg | tail -n 30
	cat /tmp/m.err
	for t in /proc/$mpid/task/*; do echo "$t: $(cat "$t/comm") $(cat "$t/wchan")"; cat "$t/stack"; done
	vv_die "the daemon did not exit after device_del"
fi
rc=0
wait "$mpid" || rc=$?
vv_assert_eq "$rc" 1 "daemon exit status after removal"
err=$(cat /tmp/m.err)
[[ $err == *"being removed"* && $err == *"device lost"* ]] || vv_die "no reason given: $err"
# Exit 1 is expected here, so a sanitizer's report (also exit 1) must be looked for.
[[ $err != *Sanitizer* && $err != *"runtime error"* ]] || vv_die "sanitizer report: $err"
echo "ok: the daemon said: $(tr '\n' '|' </tmp/m.err)"
mountpoint -q /tmp/m && vv_die "still mounted after removal"
vv_wait "[ ! -e /sys/bus/pci/devices/$bdf ]" 300 || vv_die "$bdf not removed: $(dmesg | tail)"
echo "ok: $bdf is gone"
rc=0
wait "$rload" || rc=$?
vv_assert_eq "$rc" 3 "the reader's end: an error"
rc=0
wait "$wload" || rc=$?
vv_assert_eq "$rc" 3 "the writer's end: an error"
echo "ok: readers and writers failed: $(tail -n 1 /tmp/rload.err) / $(tail -n 1 /tmp/wload.err)"
log=$(dmesg)
echo "$log" | grep -i "vfio\|pciehp" | sed 's/^/dmesg: /'
[[ $log != *"blocked for more than"* ]] || vv_die "a task hung in the kernel"
n=$(echo "$log" | grep -c "Relaying device request" || true)
[ "$n" -le 2 ] || vv_die "the kernel had to ask $n times"

# --- the same for a daemon: its reason reaches syslog ---------------------------------------
busybox syslogd -n -O /tmp/syslog.log &
slog=$!
vv_wait "[ -S /dev/log ]" 50 || vv_die "syslogd did not start"
bdf=$(vv_bdf_by_serial vvgone1)
"$vv" attach "$bdf" >/dev/null
"$vv" blk mount "$bdf" /tmp/m
mpid=$(pgrep -f "blk mount $bdf")
echo 'VV-QMP: {"execute": "device_del", "arguments": {"id": "vgone2"}}' >/dev/console
vv_wait "! kill -0 $mpid 2>/dev/null" 300 || vv_die "the daemon did not exit after device_del"
mountpoint -q /tmp/m && vv_die "still mounted after removal"
vv_wait "grep -q 'device lost' /tmp/syslog.log" 50 || vv_die "syslog: $(cat /tmp/syslog.log)"
grep "virtio-vfio" /tmp/syslog.log | sed 's/^/syslog: /'
grep -q "Sanitizer\|runtime error" /tmp/syslog.log && vv_die "sanitizer report in syslog"
kill "$slog"
vv_wait "[ ! -e /sys/bus/pci/devices/$bdf ]" 300 || vv_die "$bdf not removed"
echo "ok: the daemon's reason is in syslog, and $bdf is gone"

# --- surprise removal of a NIC under net serve ----------------------------------------------
bdf=$(vv_bdf_by_mac 52:54:00:00:06:a0)
"$vv" attach "$bdf" >/dev/null
"$vv" net serve "$bdf" --ip 198.18.1.1/24 >/tmp/serve.log 2>&1 &
spid=$!
vv_wait "grep -q serving /tmp/serve.log" 300 || vv_die "net serve: $(cat /tmp/serve.log)"
echo 'VV-QMP: {"execute": "device_del", "arguments": {"id": "vngone"}}' >/dev/console
vv_wait "! kill -0 $spid 2>/dev/null" 300 || vv_die "net serve did not exit after device_del"
rc=0
wait "$spid" || rc=$?
[ "$rc" != 0 ] || vv_die "net serve exited 0 after losing its NIC"
grep -q "being removed" /tmp/serve.log || vv_die "net serve gave no reason: $(cat /tmp/serve.log)"
if grep -q "Sanitizer\|runtime error" /tmp/serve.log; then
	cat /tmp/serve.log
	vv_die "sanitizer report from net serve"
fi
echo "ok: net serve exited $rc: $(grep "being removed" /tmp/serve.log)"
vv_wait "[ ! -e /sys/bus/pci/devices/$bdf ]" 300 || vv_die "$bdf not removed: $(dmesg | tail)"
echo "ok: $bdf is gone"

# The guest carries on: the CLI, and the other disk back on the kernel's driver.
"$vv" list >/dev/null
dd if="/dev/$(basename "$(dirname "$(grep -lx vvfault0 /sys/block/vd*/serial)")")" bs=1M \
	skip=8 count=4 iflag=direct status=none | cmp - /tmp/low || vv_die "the other disk"
echo "faults: all checks passed"
