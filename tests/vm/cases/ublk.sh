#!/bin/bash
# SPDX-License-Identifier: MIT
# blk export --ublk: a virtio-blk function driven in userspace as a real block device,
# /dev/ublkbN, on the modern platform (6.12 has ublk_drv; 6.1 has not: see badinput).
# - Refused with clear messages: usage errors, a 9p device, a device still on the kernel's
#   driver, --recover with nothing to recover, a second export of the same device.
# - The block device has the disk's size, block size, discard and write-zeroes, a write
#   cache; the kernel's data reads back through it.
# - fio crc32c verify at depth 32 on both queues (a job pinned to each CPU: blk-mq maps each
#   CPU to its own queue), 4 KiB and mixed sizes up to 512 KiB; each queue served requests;
#   SIGTERM exits 0 and removes the block device; served again, the data is there, and
#   `virtio-vfio status` shows the export (by BDF and by /dev/ublkbN) with its counters.
# - A GPT partition table (sfdisk), ext4 on a partition, files written, fsck clean, discard.
# - kill -9 of the server under a write load that fsyncs each file: /dev/ublkbN stays with
#   its filesystem mounted, the writer waits; --recover picks it up, the writer goes on, and
#   every file whose fsync returned is intact; no I/O error anywhere, fsck clean.
# - QMP block_resize: 6.12's ublk cannot change a started device's size (UBLK_CMD_UPDATE_SIZE
#   came later): the old size stays and I/O keeps working.
# - SIGTERM: the block device goes away, the device is flushed; after detach the kernel's
#   own driver reads the same bytes (the whole disk's checksum) and the same partitions.
# - a second disk with a 16-entry virtqueue and no indirect descriptors, exported at depth
#   128: fio verify passes while most requests wait for room on the ring.
# - device_del of that disk under a write load: the writer gets I/O errors, the server
#   says why and exits, /dev/ublkbN goes away and the kernel completes the removal.
#vm: timeout 1200
#vm: platforms modern
#vm: topology rootport
#vm: blk vublk serial=vvublk0 size=128M discard extra=num-queues=2
#vm: blk vugone serial=vvublk1 size=32M extra=queue-size=16,indirect_desc=off
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
[ -e /dev/ublk-control ] || modprobe ublk_drv 2>/dev/null || true
[ -e /dev/ublk-control ] || vv_die "no /dev/ublk-control on $(uname -r)"
sanitizer_free() {
	! grep -q "Sanitizer\|runtime error" "$1" || vv_die "sanitizer report in $1: $(cat "$1")"
}
# A daemon (not our child) has ended: gone, or a zombie nobody reaps.
dead() { [ ! -d "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# sfdisk -d without what names the disk: ublkb0p1 and vda1 are the same partition 1.
ptable() { sfdisk -d "$1" | grep -v '^device:\|^label-id' | sed -E 's|^/dev/[^ ]*[^0-9]([0-9]+) :|PART\1 :|'; }
kname() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }
# Runs the export in the foreground, in the background of this shell, its output in
# /tmp/$1.out and /tmp/$1.err; sets dev (the block device) and upid. $2...: the arguments.
export_fg() {
	local tag=$1
	shift
	"$vv" blk export --ublk -F "$@" >"/tmp/$tag.out" 2>"/tmp/$tag.err" &
	upid=$!
	vv_wait "grep -q /dev/ublkb /tmp/$tag.out" 600 ||
		vv_die "export did not come up: $(cat "/tmp/$tag.err")"
	dev=$(grep -o '/dev/ublkb[0-9]*' "/tmp/$tag.out")
	vv_wait "[ -b $dev ]" 100 || vv_die "$dev is no block device"
	echo "served: $(cat "/tmp/$tag.out")"
}

bdf=$(vv_bdf_by_serial vvublk0)
gone=$(vv_bdf_by_serial vvublk1)
kdisk=/dev/$(kname vvublk0)
ninep=$("$vv" list --json | jq -r '.devices[] | select(.type == "9p") | .bdf')
head -c $((1 << 20)) /dev/urandom >/tmp/pre
dd if=/tmp/pre of="$kdisk" bs=1M oflag=direct status=none

# --- refusals ------------------------------------------------------------------------------
vv_refused 2 "say how to export: --ublk" "$vv" blk export "$bdf"
vv_refused 2 "give one DEVICE" "$vv" blk export --ublk
vv_refused 2 "--depth wants a number from 1 to 1024, not '0'" "$vv" blk export --ublk --depth 0 "$bdf"
vv_refused 2 "--recover keeps the queues and depth" "$vv" blk export --ublk --recover --queues 1 "$bdf"
vv_refused 1 "is a virtio 9p device, not blk" "$vv" blk export --ublk "$ninep"
vv_refused 1 "is bound to virtio-pci, not vfio-pci: run 'virtio-vfio attach $bdf' first" \
	"$vv" blk export --ublk "$bdf"
"$vv" attach "$bdf" >/dev/null
vv_refused 1 "no /dev/ublkbN of $bdf waits for a server" "$vv" blk export --ublk --recover "$bdf"

# --- the export in the foreground: the device's parameters, fio verify on both queues ------
export_fg fio "$bdf"
b=$(basename "$dev")
vv_assert_eq "$(blockdev --getsize64 "$dev")" $((128 << 20)) "size"
vv_assert_eq "$(blockdev --getss "$dev")" 512 "logical block size"
vv_assert_eq "$(cat /sys/block/$b/queue/write_cache)" "write back" "volatile write cache"
[ "$(cat /sys/block/$b/queue/discard_max_bytes)" -gt 0 ] || vv_die "no discard"
[ "$(cat /sys/block/$b/queue/write_zeroes_max_bytes)" -gt 0 ] || vv_die "no write zeroes"
vv_assert_eq "$(ls /sys/block/$b/mq | wc -l)" 2 "blk-mq queues (one per virtqueue)"
cmp -n $((1 << 20)) /tmp/pre "$dev" || vv_die "the kernel's data does not read back"
echo "ok: the kernel's data reads back through $dev"
vv_refused 1 "is in use" "$vv" blk export --ublk "$bdf"
# Each job pinned to its own CPU: blk-mq sends a CPU's requests to that CPU's queue.
for rw in randwrite write; do
	bs=--bs=4k
	[ $rw = write ] && bs=--bsrange=4k-512k
	timeout 600 fio --name=v --filename="$dev" --direct=1 --ioengine=io_uring --iodepth=32 \
		--rw=$rw $bs --size=24M --numjobs=2 --offset_increment=32M \
		--cpus_allowed=0-1 --cpus_allowed_policy=split --verify=crc32c --verify_fatal=1 \
		--group_reporting >/tmp/fio.out 2>&1 || vv_die "fio $rw: $(tail -n 30 /tmp/fio.out)"
	grep -E "err=|WRITE:|READ:" /tmp/fio.out
	! grep -q "verify:" /tmp/fio.out || vv_die "fio verify: $(grep verify: /tmp/fio.out)"
done
sum_fio=$(head -c $((96 << 20)) "$dev" | md5sum)
kill -TERM $upid
set +e
wait $upid
rc=$?
set -e
cat /tmp/fio.err
vv_assert_eq "$rc" 0 "exit status after SIGTERM"
vv_wait "[ ! -e $dev ]" 100 || vv_die "$dev is still there after SIGTERM"
sanitizer_free /tmp/fio.err
for q in 0 1; do
	grep -Eq "queue $q served [1-9][0-9]* reads .* [1-9][0-9]* writes" /tmp/fio.err ||
		vv_die "queue $q served no reads or writes"
done
echo "ok: both queues served"

# --- in the background, with JSON and a pidfile ---------------------------------------------
out=$("$vv" blk export --ublk --json --pidfile /tmp/u.pid serial:vvublk0)
echo "$out"
dev=$(jq -r .device <<<"$out")
vv_assert_eq "$(jq .version <<<"$out")" 1 "JSON version"
vv_assert_eq "$(jq .queues <<<"$out")" 2 "one ublk queue per virtqueue"
vv_assert_eq "$(jq .pid <<<"$out")" "$(cat /tmp/u.pid)" "the pidfile names the server"
vv_wait "[ -b $dev ]" 100 || vv_die "$dev is no block device"
vv_assert_eq "$(head -c $((96 << 20)) "$dev" | md5sum)" "$sum_fio" "fio's data, served again"
st=$("$vv" status --json "$bdf")
vv_assert_eq "$(jq -r '.processes[0].command' <<<"$st")" "blk export" "status: the command"
vv_assert_eq "$(jq -r '.processes[0].devices[0].path' <<<"$st")" "$dev" "status: the block device"
[ "$(jq '.processes[0].devices[0].reads' <<<"$st")" -gt 0 ] || vv_die "status: no reads counted: $st"
[ "$(jq '.processes[0].devices[0].bytes_read' <<<"$st")" -ge $((96 << 20)) ] ||
	vv_die "status: fewer bytes read than the 96 MiB just checked: $st"
echo "ok: status counts $(jq -c '.processes[0].devices[0] | {reads, bytes_read, writes}' <<<"$st")"
"$vv" status "$dev" | tee /tmp/status.out
grep -q "blk export" /tmp/status.out || vv_die "status by path does not show the export"

# --- a partition table, ext4, fsck, discard ------------------------------------------------
printf 'label: gpt\n,48M\n,\n' | sfdisk -q "$dev"
vv_wait "[ -b ${dev}p1 ] && [ -b ${dev}p2 ]" 100 || vv_die "no partitions: $(ls /dev/ublk*)"
echo "ok: partitions $(ls ${dev}p*)"
mkfs.ext4 -q -F "${dev}p1"
mkdir -p /tmp/fs
mount "${dev}p1" /tmp/fs
for i in 1 2 3; do head -c $((3 << 20)) /dev/urandom >/tmp/fs/f$i; done
(cd /tmp/fs && md5sum f1 f2 f3) >/tmp/files.md5
fstrim -v /tmp/fs || vv_die "fstrim"
umount /tmp/fs
fsck.ext4 -fn "${dev}p1" >/tmp/fsck.out 2>&1 || vv_die "fsck: $(cat /tmp/fsck.out)"
echo "ok: fsck clean"
blkdiscard -f -z -o $((100 << 20)) -l $((1 << 20)) "$dev"
vv_assert_eq "$(head -c $((101 << 20)) "$dev" | tail -c $((1 << 20)) | tr -d '\0' | wc -c)" 0 \
	"write zeroes reads back zeroes"

# --- kill -9 under a write load, and --recover ---------------------------------------------
mount "${dev}p1" /tmp/fs
: >/tmp/acked
# Each file's checksum is recorded once its fsync returned: that write was acknowledged.
(
	i=0
	while [ ! -e /tmp/stop ]; do
		i=$((i + 1))
		dd if=/dev/urandom of=/tmp/fs/w$i bs=64k count=2 conv=fsync status=none || exit 1
		(cd /tmp/fs && md5sum w$i) >>/tmp/acked
	done
) &
writer=$!
vv_wait "[ \$(wc -l </tmp/acked) -ge 10 ]" 600 || vv_die "the writer did not start"
upid=$(cat /tmp/u.pid)
kill -9 "$upid"
vv_wait "dead $upid" 100 || vv_die "the server outlived kill -9"
sleep 1
n=$(wc -l </tmp/acked)
sleep 2
[ -b "$dev" ] || vv_die "$dev went away with its server"
mountpoint -q /tmp/fs || vv_die "the filesystem was unmounted"
kill -0 $writer || vv_die "the writer failed while the server was dead"
vv_assert_eq "$(wc -l </tmp/acked)" "$n" "no write acknowledged while the server is dead"
vv_refused 1 "waits for its server (it died): 'blk export --ublk --recover" \
	"$vv" blk export --ublk "$bdf"
rout=$("$vv" blk export --ublk --recover --pidfile /tmp/u.pid "$bdf" 2>/tmp/recover.err) ||
	vv_die "recover: $(cat /tmp/recover.err)"
echo "recovered: $rout"
[[ $rout == *"$dev recovered"* ]] || vv_die "recover printed '$rout'"
vv_wait "[ \$(wc -l </tmp/acked) -ge $((n + 10)) ]" 600 || vv_die "the writer did not go on"
touch /tmp/stop
wait $writer || vv_die "the writer failed"
(cd /tmp/fs && md5sum -c --quiet /tmp/acked) || vv_die "an acknowledged write is lost"
(cd /tmp/fs && md5sum -c --quiet /tmp/files.md5) || vv_die "the files before the kill changed"
echo "ok: $(wc -l </tmp/acked) fsync'd files intact across kill -9 and --recover ($n before)"
umount /tmp/fs
fsck.ext4 -fn "${dev}p1" >/tmp/fsck.out 2>&1 || vv_die "fsck after recover: $(cat /tmp/fsck.out)"
! dmesg | grep -E "I/O error.*ublkb|EXT4-fs error|Buffer I/O error" ||
	vv_die "I/O errors during the kill and recover"
echo "ok: fsck clean, no I/O error in the kernel's log"

# --- resize: the device grows, ublk (6.12) keeps the size it started with ------------------
echo 'VV-QMP: {"execute": "block_resize", "arguments": {"node-name": "d_vublk", "size": 201326592}}' >/dev/console
sleep 3
vv_assert_eq "$(blockdev --getsize64 "$dev")" $((128 << 20)) "size unchanged (no UBLK_CMD_UPDATE_SIZE in 6.12)"
dd if="$dev" of=/dev/null bs=1M count=4 iflag=direct status=none || vv_die "I/O after resize"
sum_final=$(head -c $((128 << 20)) "$dev" | md5sum)
parts=$(ptable "$dev")

# --- SIGTERM, detach, the kernel reads the same ---------------------------------------------
upid=$(cat /tmp/u.pid)
kill -TERM "$upid"
vv_wait "dead $upid" 300 || vv_die "the server did not stop on SIGTERM"
vv_wait "[ ! -e $dev ]" 100 || vv_die "$dev is still there"
[ ! -e /tmp/u.pid ] || vv_die "the pidfile was left"
"$vv" detach "$bdf" >/dev/null
vv_wait "grep -qx vvublk0 /sys/block/vd*/serial 2>/dev/null" 100 || vv_die "no kernel disk"
kdisk=/dev/$(kname vvublk0)
vv_assert_eq "$(head -c $((128 << 20)) "$kdisk" | md5sum)" "$sum_final" "the kernel reads every byte the same"
vv_assert_eq "$(ptable "$kdisk" 2>/dev/null)" "$parts" "the kernel sees the same partitions"
vv_wait "[ -b ${kdisk}1 ]" 100 || vv_die "no ${kdisk}1"
mount "${kdisk}1" /tmp/fs
(cd /tmp/fs && md5sum -c --quiet /tmp/files.md5 && md5sum -c --quiet /tmp/acked) ||
	vv_die "the kernel reads other files"
umount /tmp/fs
echo "ok: the kernel's driver reads the same disk ($sum_fio before the partitions)"

# --- removal under load ------------------------------------
"$vv" attach "$gone" >/dev/null
export_fg gone --queues 1 --depth 128 "$gone"
# 128 tags on a virtqueue of 16 descriptors without indirect ones (a 4 KiB request takes 3):
# most requests wait for room, in order, and all of them complete right.
timeout 600 fio --name=v --filename="$dev" --direct=1 --ioengine=io_uring --iodepth=128 \
	--rw=randwrite --bs=4k --size=8M --verify=crc32c --verify_fatal=1 >/tmp/fio.out 2>&1 ||
	vv_die "fio on a full virtqueue: $(tail -n 30 /tmp/fio.out)"
grep -E "err=" /tmp/fio.out
echo "ok: fio verify at depth 128 on a virtqueue of 16"
# The subshell's own status, not set -e's: the writer is meant to fail.
(
	rc=0
	dd if=/dev/urandom of="$dev" bs=64k count=100000 oflag=direct status=none 2>/tmp/dd.err || rc=$?
	echo $rc >/tmp/dd.rc
) &
vv_wait "[ \$(\"$vv\" status --json $gone | jq '.processes[0].devices[0].writes') -gt 20 ]" 600 ||
	vv_die "the writer does not write: $(cat /tmp/dd.err)"
echo 'VV-QMP: {"execute": "device_del", "arguments": {"id": "vugone"}}' >/dev/console
vv_wait "dead $upid" 600 || vv_die "the server did not end on removal: $(cat /tmp/gone.err)"
set +e
wait $upid
rc=$?
set -e
cat /tmp/gone.err
vv_assert_eq "$rc" 1 "the server's exit status after losing its device"
grep -q "the device is being removed" /tmp/gone.err || vv_die "no word of the removal"
grep -q "device lost: I/O in flight failed with EIO; removing $dev" /tmp/gone.err ||
	vv_die "no word of the loss"
if ! vv_wait "[ -e /tmp/dd.rc ]" 300; then
	for p in $(pgrep -x dd); do
		echo "dd $p: $(cat /proc/$p/wchan) $(tr '\n' ' ' </proc/$p/stack 2>/dev/null)"
	done
	ls -l /dev/ublk* 2>&1
	vv_die "the writer hangs on $dev"
fi
[ "$(cat /tmp/dd.rc)" != 0 ] || vv_die "the writer saw no error"
echo "ok: the writer saw: $(head -n 1 /tmp/dd.err)"
vv_wait "[ ! -e $dev ]" 100 || vv_die "$dev is still there"
vv_wait "[ ! -e /sys/bus/pci/devices/$gone ]" 300 || vv_die "the kernel did not complete the removal"
sanitizer_free /tmp/gone.err
echo "ok: removal under load"
