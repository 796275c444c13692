#!/bin/bash
# SPDX-License-Identifier: MIT
# A disk resized through the QEMU monitor: the config-change interrupt reaches the driver and
# the exported file takes the new size; data below the old end is intact; I/O past it works.
#vm: timeout 180
#vm: topology rootport
#vm: blk vres serial=vvresize size=32M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
bdf=$(vv_bdf_by_serial vvresize)
"$vv" attach "$bdf" >/dev/null
mkdir -p /tmp/m
"$vv" blk mount "$bdf" /tmp/m
f=/tmp/m/$bdf
vv_assert_eq "$(stat -c %s "$f")" $((32 << 20)) "size before"
head -c 1048576 /dev/urandom >/tmp/pat
dd if=/tmp/pat of="$f" bs=1M seek=31 conv=notrunc,fsync oflag=direct status=none

# The host's QMP relay picks this line up from the console (node name d_<device id>).
echo 'VV-QMP: {"execute": "block_resize", "arguments": {"node-name": "d_vres", "size": 67108864}}' >/dev/console
for _ in $(seq 100); do [ "$(stat -c %s "$f")" = $((64 << 20)) ] && break; sleep 0.1; done
vv_assert_eq "$(stat -c %s "$f")" $((64 << 20)) "size after block_resize"
dd if="$f" bs=1M skip=31 count=1 iflag=direct status=none | cmp - /tmp/pat || vv_die "data moved"
dd if=/tmp/pat of="$f" bs=1M seek=63 conv=notrunc,fsync oflag=direct status=none
dd if="$f" bs=1M skip=63 count=1 iflag=direct status=none | cmp - /tmp/pat ||
	vv_die "I/O past the old end"
umount /tmp/m
for _ in $(seq 100); do pgrep -f "blk mount" >/dev/null || break; sleep 0.1; done
"$vv" detach "$bdf" >/dev/null
echo "resize: all checks passed"
