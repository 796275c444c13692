#!/bin/bash
# SPDX-License-Identifier: MIT
# A disk resized through the QEMU monitor: the config-change interrupt reaches the driver and
# the exported file takes the new size; data below the old end is intact; I/O past it works.
# Then grown and shrunk while the page cache is busy with the file (buffered readers, a loop
# device without direct I/O, a shared writable mapping): the export must not wait on pages
# its own worker has to fill, keeps serving, and ends cleanly.
#vm: timeout 240
#vm: topology rootport
#vm: blk vres serial=vvresize size=32M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
resize() {
	echo "VV-QMP: {\"execute\": \"block_resize\", \"arguments\": {\"node-name\": \"d_vres\", \"size\": $1}}" >/dev/console
	vv_wait "[ \"\$(stat -c %s $f)\" = $1 ]" 300 ||
		vv_die "size after block_resize to $1: $(stat -c %s "$f")"
}

vv_mount_fg vvresize
vv_assert_eq "$(stat -c %s "$f")" $((32 << 20)) "size before"
head -c 1048576 /dev/urandom >/tmp/pat
dd if=/tmp/pat of="$f" bs=1M seek=31 conv=notrunc,fsync oflag=direct status=none

# The host's QMP relay picks this line up from the console (node name d_<device id>).
resize $((64 << 20))
dd if="$f" bs=1M skip=31 count=1 iflag=direct status=none | cmp - /tmp/pat || vv_die "data moved"
dd if=/tmp/pat of="$f" bs=1M seek=63 conv=notrunc,fsync oflag=direct status=none
dd if="$f" bs=1M skip=63 count=1 iflag=direct status=none | cmp - /tmp/pat ||
	vv_die "I/O past the old end"
echo "ok: grown to 64 MiB, data intact, I/O past the old end"

# --- resizes under page-cache users --------------------------------------------------------
dd if=/tmp/pat of="$f" bs=1M count=1 conv=notrunc,fsync oflag=direct status=none
loop=$(losetup -f --show "$f")
# Each loop runs until told to stop (/tmp/stop), and exits 3 on an error.
(while [ ! -e /tmp/stop ]; do
	dd if="$f" of=/dev/null bs=64k count=512 status=none || exit 3
done) &
buffered=$!
(while [ ! -e /tmp/stop ]; do
	dd if="$loop" of=/dev/null bs=64k count=256 status=none || exit 3
	dd if=/dev/urandom of="$loop" bs=64k seek=64 count=16 conv=notrunc status=none || exit 3
done) &
looped=$!
(while [ ! -e /tmp/stop ]; do
	"$VV_BUILD/tests/vv-mmapcheck" "$f" $((2 << 20)) 65536 >/dev/null || exit 3
done) &
mapped=$!
sleep 2
for size in $((48 << 20)) $((64 << 20)) $((40 << 20)) $((64 << 20)); do
	resize "$size"
	sleep 1
	kill -0 "$mpid" || vv_die "the daemon died: $(cat /tmp/m.err)"
done
echo "ok: shrunk and grown 4 times under buffered, loop and mmap users"
touch /tmp/stop
for p in $buffered $looped $mapped; do
	rc=0
	wait "$p" || rc=$?
	vv_assert_eq "$rc" 0 "a page-cache user's end (pid $p)"
done
dd if="$f" bs=1M count=1 iflag=direct status=none | cmp - /tmp/pat || vv_die "data after resizes"
losetup -d "$loop"
umount /tmp/m
rc=0
wait "$mpid" || rc=$?
vv_assert_eq "$rc" 0 "daemon exit status"
grep -q "Sanitizer\|runtime error" /tmp/m.err && vv_die "sanitizer report: $(cat /tmp/m.err)"
"$vv" detach "$bdf" >/dev/null
echo "resize: all checks passed"
