#!/bin/bash
# SPDX-License-Identifier: MIT
# The FUSE file under load and in its corners: fio verify (crc32c, random sizes and offsets,
# several jobs, direct and buffered, unaligned), fallocate punch/zero reading back zeroes,
# mmap, read-only devices and -o ro, a small-ring device without event_idx/indirect, and a
# packed-ring device.
#vm: timeout 480
#vm: topology rootport
#vm: blk vf serial=vvfio0 size=128M
#vm: blk vs serial=vvfio-small size=64M extra=queue-size=64,num-queues=1,event_idx=off,indirect_desc=off
#vm: blk vr serial=vvfio-ro size=16M readonly
#vm: blk vp serial=vvfio-packed size=64M extra=packed=on,queue-size=128
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
mkdir -p /tmp/m
fio_verify() {
	fio --output-format=terse --terse-version=3 "$@" >/tmp/fio.out 2>/tmp/fio.err ||
		{ cat /tmp/fio.err /tmp/fio.out; vv_die "fio verify failed: $*"; }
	echo "ok: fio $*" | cut -c1-160
}

bdf=$(vv_bdf_by_serial vvfio0)
"$vv" attach "$bdf" >/dev/null
"$vv" blk mount "$bdf" /tmp/m
f=/tmp/m/vvfio0

common=(--filename="$f" --verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=0
	--verify_state_save=0)
fio_verify --name=direct "${common[@]}" --rw=randwrite --bsrange=512-256k --size=16M \
	--numjobs=4 --offset_increment=16M --ioengine=libaio --iodepth=16 --direct=1
fio_verify --name=buffered-unaligned "${common[@]}" --rw=randwrite --bsrange=1000-70000 \
	--bs_unaligned=1 --size=8M --offset=80M --numjobs=2 --offset_increment=8M --ioengine=psync
fio_verify --name=seq "${common[@]}" --rw=write --bs=1M --size=16M --offset=100M \
	--ioengine=libaio --iodepth=4 --direct=1

# fallocate promises zeroes.
dd if=/dev/urandom of="$f" bs=1M count=4 seek=112 conv=notrunc,fsync status=none
fallocate -p -o $((112 << 20)) -l $((1 << 20)) "$f"
fallocate -z -o $((114 << 20)) -l 65536 "$f"
dd if="$f" bs=1M skip=112 count=1 iflag=direct status=none | cmp - <(head -c 1048576 /dev/zero) ||
	vv_die "punched range does not read back as zeroes"
dd if="$f" bs=65536 skip=$((114 * 16)) count=1 iflag=direct status=none |
	cmp - <(head -c 65536 /dev/zero) || vv_die "zeroed range does not read back as zeroes"
echo "ok: fallocate punch-hole and zero-range read back zeroes"
fallocate -o 0 -l 4096 "$f" # plain allocation inside the device: nothing to do, success

"$VV_BUILD/tests/vv-mmapcheck" "$f" 12345 100000
truncate -s 1M "$f" 2>/dev/null && vv_die "truncate succeeded"
echo "ok: size changes refused"
umount /tmp/m
vv_wait_gone "$bdf"

# -o ro on a writable device.
"$vv" blk mount -o ro "$bdf" /tmp/m
vv_assert_eq "$(stat -c %a "$f")" 400 "read-only export mode"
dd if=/dev/zero of="$f" bs=4096 count=1 conv=notrunc 2>/dev/null && vv_die "write through -o ro"
head -c 4096 "$f" >/dev/null
umount /tmp/m
vv_wait_gone "$bdf"
"$vv" detach "$bdf" >/dev/null

# A read-only device.
bdf=$(vv_bdf_by_serial vvfio-ro)
"$vv" attach "$bdf" >/dev/null
"$vv" blk mount "$bdf" /tmp/m
err=$(dd if=/dev/zero of=/tmp/m/vvfio-ro bs=4096 count=1 conv=notrunc 2>&1) && vv_die "write to RO"
[[ $err == *"Read-only file system"* ]] || vv_die "expected EROFS, got: $err"
echo "ok: read-only device gives EROFS"
umount /tmp/m
vv_wait_gone "$bdf"
"$vv" detach "$bdf" >/dev/null

# Small ring, no event_idx, no indirect descriptors.
bdf=$(vv_bdf_by_serial vvfio-small)
"$vv" attach "$bdf" >/dev/null
"$vv" blk mount "$bdf" /tmp/m
fio_verify --name=small --filename=/tmp/m/vvfio-small --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--rw=randwrite --bsrange=4k-1M --size=16M --numjobs=2 --offset_increment=16M \
	--ioengine=libaio --iodepth=32 --direct=1
umount /tmp/m
vv_wait_gone "$bdf"
"$vv" detach "$bdf" >/dev/null
# A packed ring under the FUSE export.
bdf=$(vv_bdf_by_serial vvfio-packed)
"$vv" attach "$bdf" >/dev/null
"$vv" blk mount "$bdf" /tmp/m
fio_verify --name=packed --filename=/tmp/m/vvfio-packed --verify=crc32c --verify_fatal=1 \
	--do_verify=1 --rw=randwrite --bsrange=512-1M --bs_unaligned=1 --size=16M --numjobs=2 \
	--offset_increment=16M --ioengine=libaio --iodepth=32 --direct=1
umount /tmp/m
vv_wait_gone "$bdf"
"$vv" detach "$bdf" >/dev/null
echo "fio: all checks passed"
