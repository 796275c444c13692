#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 of `blk mount` under write load: the stale mount is detected and the message says
# how to clear it; after umount a new `blk mount` of the same device works (it resets the
# device first); everything fsync'd before the kill reads back intact, through the new
# mount and through the kernel's driver after detach. SIGINT and SIGTERM under write load
# end the daemon with exit 0, and every write acknowledged before them is on the disk.
#vm: platforms stock modern
#vm: timeout 240
#vm: topology rootport
#vm: blk vc serial=vvcrash0 size=64M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
disk_of() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }
bdf=$(vv_bdf_by_serial vvcrash0)
"$vv" attach "$bdf" >/dev/null
mkdir -p /tmp/m
"$vv" blk mount "$bdf" /tmp/m
f=/tmp/m/vvcrash0

# 8 MiB that must survive: written and fsync'd before the kill.
head -c $((8 << 20)) /dev/urandom >/tmp/kept
dd if=/tmp/kept of="$f" bs=1M conv=notrunc,fsync status=none
# Write load elsewhere on the disk, then kill -9 in the middle of it.
(while :; do dd if=/dev/urandom of="$f" bs=64k seek=256 count=256 conv=notrunc oflag=direct \
	status=none 2>/dev/null || break; done) &
load=$!
sleep 2
pid=$(pgrep -f "blk mount $bdf")
kill -9 "$pid"
wait "$load" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done

out=$("$vv" blk mount "$bdf" /tmp/m 2>&1) && vv_die "mounted over a stale mount"
[[ $out == *"stale FUSE mount"*"umount /tmp/m"* ]] || vv_die "stale mount not explained: $out"
echo "ok: stale mount detected: $out"
umount /tmp/m
"$vv" blk mount "$bdf" /tmp/m
dd if="$f" bs=1M count=8 iflag=direct status=none | cmp - /tmp/kept ||
	vv_die "fsync'd data lost after kill -9"
echo "ok: a new mount after kill -9 works and the fsync'd data is intact"
umount /tmp/m
for _ in $(seq 100); do pgrep -f "blk mount $bdf" >/dev/null || break; sleep 0.1; done

# SIGINT and SIGTERM under write load: the daemon drains, flushes, resets and exits 0, and
# every write it acknowledged before the signal is on the disk. Each writer logs the 64 KiB
# blocks (from 32 MiB on) whose write returned.
head -c $((4 << 16)) /dev/urandom >/tmp/pats
for sig in INT TERM; do
	"$vv" blk mount -F "$bdf" /tmp/m 2>/tmp/sig.err &
	mpid=$!
	for _ in $(seq 100); do mountpoint -q /tmp/m && break; sleep 0.1; done
	: >/tmp/acked.$sig
	# nocreat: once the export is gone a write must fail, not create a file in the tmpfs
	# under the mountpoint (tmpfs takes O_DIRECT since Linux 6.6: an "acknowledged" write
	# that never reached the disk).
	(for i in $(seq 0 499); do
		dd if=/tmp/pats bs=64k skip=$((i % 4)) count=1 of="$f" seek=$((512 + i)) \
			conv=notrunc,nocreat oflag=direct status=none 2>/dev/null || exit 0
		echo "$i" >>/tmp/acked.$sig
	done) &
	load=$!
	sleep 2
	kill -s "$sig" "$mpid"
	rc=0
	wait "$mpid" || rc=$?
	vv_assert_eq "$rc" 0 "blk mount: exit status after SIG$sig under write load"
	wait "$load" || true
	mountpoint -q /tmp/m && vv_die "still mounted after SIG$sig"
	[ -s /tmp/acked.$sig ] || vv_die "no write was acknowledged before SIG$sig"
	echo "ok: SIG$sig: exit 0, unmounted, $(wc -l </tmp/acked.$sig) writes acknowledged"
	cp /tmp/acked.$sig /tmp/acked
done

"$vv" detach "$bdf" >/dev/null
for _ in $(seq 50); do grep -qx vvcrash0 /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
disk=/dev/$(disk_of vvcrash0)
dd if="$disk" bs=1M count=8 iflag=direct status=none | cmp - /tmp/kept ||
	vv_die "the kernel reads different data"
# The last round's acknowledged writes, through the kernel's driver.
while read -r i; do
	dd if="$disk" bs=64k skip=$((512 + i)) count=1 iflag=direct status=none |
		cmp -s - <(dd if=/tmp/pats bs=64k skip=$((i % 4)) count=1 status=none) ||
		vv_die "acknowledged block $i lost after SIGTERM"
done </tmp/acked
echo "ok: every write acknowledged before SIGTERM reads back through the kernel's driver"
echo "crash: all checks passed"
