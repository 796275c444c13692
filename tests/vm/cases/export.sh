#!/bin/bash
# SPDX-License-Identifier: MIT
# The FUSE export's workers and corners: one thread per queue (num-queues=4, -o queues=4) under
# fio verify, with small writes and with 1 MiB ones (past the 32 MiB checked below);
# concurrent unaligned writers inside the same blocks tear nothing; fallocate with
# unaligned edges on a discard=unmap disk, and on a 4 KiB-sector disk without WRITE_ZEROES
# (written zeroes, in pieces); the kernel's driver reads it all back after detach. Clear
# errors for a net device and a device that is not attached.
#vm: platforms stock modern
#vm: timeout 420
#vm: topology rootport
#vm: blk vq4 serial=vvexp-mq size=64M discard extra=num-queues=4
#vm: blk vnz serial=vvexp-nowz size=64M extra=write-zeroes=off,discard=off,logical_block_size=4096,physical_block_size=4096
#vm: netpair vn0 vn1 mac0=52:54:00:00:00:e0 mac1=52:54:00:00:00:e1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
M=$((1 << 20))
disk_of() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }
daemon_of() { pgrep -f "blk mount.*$1"; }
# zero FILE OFFSET LEN: the reference copy of what fallocate does.
zero() { head -c "$3" /dev/zero | dd of="$1" bs=1M iflag=fullblock oflag=seek_bytes seek="$2" conv=notrunc status=none; }
# same FILE REF OFFSET LEN WHAT: FILE (read with O_DIRECT) equals REF there.
same() {
	dd if="$1" bs=1M iflag=direct,skip_bytes,count_bytes skip="$3" count="$4" status=none |
		cmp - <(dd if="$2" bs=1M iflag=skip_bytes,count_bytes skip="$3" count="$4" status=none) ||
		vv_die "$5"
}
mkdir -p /tmp/m

# Clear errors.
bdf=$(vv_bdf_by_serial vvexp-mq)
net=$(vv_bdf_by_mac 52:54:00:00:00:e0)
out=$("$vv" blk mount "$bdf" /tmp/m 2>&1) && vv_die "mounted a device that is not attached"
[[ $out == *"attach $bdf"* ]] || vv_die "not attached: the message should say how: $out"
"$vv" attach "$net" >/dev/null
out=$("$vv" blk mount "$net" /tmp/m 2>&1) && vv_die "mounted a net device"
[[ $out == *"virtio net device, not blk"* ]] || vv_die "net device: $out"
"$vv" detach "$net" >/dev/null
echo "ok: clear errors for a device not attached and a net device"

# Four queues, four workers.
disk=$(disk_of vvexp-mq)
head -c $((32 * M)) /dev/urandom >/tmp/ref
dd if=/tmp/ref of="/dev/$disk" bs=1M oflag=direct status=none
"$vv" attach "$bdf" >/dev/null
"$vv" blk mount -o queues=4 "$bdf" /tmp/m
f=/tmp/m/vvexp-mq
threads=$(ls "/proc/$(daemon_of "$bdf")/task" | wc -l)
[ "$threads" -ge 4 ] || vv_die "expected a worker per queue, found $threads threads"
fio --name=mq --filename="$f" --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--randrepeat=0 --verify_state_save=0 --rw=randwrite --bsrange=512-256k --size=8M --offset=32M --numjobs=4 \
	--offset_increment=8M --ioengine=libaio --iodepth=16 --direct=1 --output=/tmp/fio.out ||
	{ cat /tmp/fio.out; vv_die "fio verify on four workers"; }
echo "ok: fio verify with $threads threads on four queues"
# Writes of 1 MiB, four at a time.
fio --name=big --filename="$f" --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--randrepeat=0 --verify_state_save=0 --rw=write --bs=1M --size=16M --offset=32M \
	--ioengine=libaio --iodepth=4 --direct=1 --output=/tmp/fio.out ||
	{ cat /tmp/fio.out; vv_die "fio verify of 1 MiB writes on four workers"; }
echo "ok: fio verify of 1 MiB writes, four in flight, four workers"

# 32 writers at once, each 300 bytes, packed across the same three 4 KiB blocks: a patched
# edge block must never carry a neighbour's stale bytes.
for round in 1 2 3; do
	for i in $(seq 0 31); do
		head -c 300 /dev/zero | tr '\0' "\\$(printf %03o $((i * 7 + round)))" >/tmp/pat$i
		dd if=/tmp/pat$i of=/tmp/ref bs=300 oflag=seek_bytes seek=$((40960 + i * 300)) \
			conv=notrunc status=none
	done
	for i in $(seq 0 31); do
		dd if=/tmp/pat$i of="$f" bs=300 oflag=direct,seek_bytes seek=$((40960 + i * 300)) \
			conv=notrunc status=none &
	done
	wait
	same "$f" /tmp/ref 36864 16384 "round $round: concurrent unaligned writes tore data"
done
echo "ok: 3 rounds of 32 concurrent unaligned writers"

# fallocate with unaligned edges: punch-hole (WRITE_ZEROES + UNMAP) and zero-range.
fallocate -p -o $((4 * M + 1000)) -l $((3 * M + 5)) "$f"
zero /tmp/ref $((4 * M + 1000)) $((3 * M + 5))
fallocate -z -o $((9 * M + 3)) -l 70000 "$f"
zero /tmp/ref $((9 * M + 3)) 70000
fallocate -p -o 100 -l 200 "$f" # inside one sector
zero /tmp/ref 100 200
same "$f" /tmp/ref 0 $((32 * M)) "unaligned fallocate on the discard disk"
echo "ok: unaligned punch-hole and zero-range read back zeroes, neighbours intact"
umount /tmp/m
vv_wait_gone "$bdf"
"$vv" detach "$bdf" >/dev/null
for _ in $(seq 50); do grep -qx vvexp-mq /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
same "/dev/$(disk_of vvexp-mq)" /tmp/ref 0 $((32 * M)) "the kernel reads different data"
echo "ok: the kernel's driver reads what the export wrote"

# No WRITE_ZEROES, 4 KiB sectors: fallocate writes zeroes, 16 MiB per request.
bdf=$(vv_bdf_by_serial vvexp-nowz)
disk=$(disk_of vvexp-nowz)
head -c $((56 * M)) /dev/urandom >/tmp/ref
dd if=/tmp/ref of="/dev/$disk" bs=1M oflag=direct status=none
"$vv" attach "$bdf" >/dev/null
"$vv" blk mount "$bdf" /tmp/m
f=/tmp/m/vvexp-nowz
vv_assert_eq "$(stat -f -c %S /tmp/m)" 4096 "statfs block size = logical block size"
fallocate -p -o $((2 * M)) -l $((40 * M)) "$f"
zero /tmp/ref $((2 * M)) $((40 * M))
fallocate -z -o $((45 * M + 4095)) -l 8194 "$f"
zero /tmp/ref $((45 * M + 4095)) 8194
fallocate -p -o $((50 * M + 10)) -l 20 "$f"
zero /tmp/ref $((50 * M + 10)) 20
same "$f" /tmp/ref 0 $((56 * M)) "fallocate without WRITE_ZEROES"
echo "ok: fallocate without WRITE_ZEROES: 40 MiB aligned and unaligned edges on 4 KiB sectors"
umount /tmp/m
vv_wait_gone "$bdf"
"$vv" detach "$bdf" >/dev/null
for _ in $(seq 50); do grep -qx vvexp-nowz /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
same "/dev/$(disk_of vvexp-nowz)" /tmp/ref 0 $((56 * M)) "the kernel reads different data"
echo "export: all checks passed"
