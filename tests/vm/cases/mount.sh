#!/bin/bash
# SPDX-License-Identifier: MIT
# `blk mount`: the disk as a file over FUSE. Whole-device checksum, unaligned direct and
# buffered writes against a reference copy, losetup + mkfs.ext4 + a tree + fsck, umount, and
# the kernel's own driver reading the same tree after detach. Also a 4 KiB-sector disk.
#vm: timeout 420
#vm: topology rootport
#vm: blk vf0 serial=vvfuse0 size=96M
#vm: blk vf4k serial=vvfuse4k size=32M extra=logical_block_size=4096,physical_block_size=4096
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
disk_of() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }

bdf=$(vv_bdf_by_serial vvfuse0)
disk=$(disk_of vvfuse0)
head -c $((8 << 20)) /dev/urandom | dd of="/dev/$disk" bs=1M oflag=direct conv=fsync status=none
dd if="/dev/$disk" of=/tmp/ref bs=1M iflag=direct status=none
"$vv" attach "$bdf" >/dev/null
mkdir -p /tmp/mnt /tmp/mnt2

# Clear errors first.
set +e
out=$("$vv" blk mount "$bdf" /tmp/nonexistent 2>&1); rc=$?
set -e
[ $rc = 1 ] && [[ $out == *"mountpoint /tmp/nonexistent"* ]] || vv_die "missing mountpoint: $rc $out"

"$vv" blk mount "$bdf" /tmp/mnt
f=/tmp/mnt/vvfuse0
vv_assert_eq "$(stat -c %s "$f")" $((96 << 20)) "file size = capacity"
vv_assert_eq "$(stat -c %a "$f")" 600 "mode 0600"
vv_assert_eq "$(ls /tmp/mnt)" vvfuse0 "one file, named by the serial"
vv_assert_eq "$(stat -c %i "/tmp/mnt/$bdf")" "$(stat -c %i "$f")" "the BDF opens the same file"

set +e
out=$("$vv" blk mount "$bdf" /tmp/mnt2 2>&1); rc=$?
set -e
[ $rc = 1 ] || vv_die "second mount of the same device succeeded"
echo "second mount refused: $out"

vv_assert_eq "$(sha256sum <"$f" | cut -c1-64)" "$(sha256sum </tmp/ref | cut -c1-64)" \
	"whole-device checksum through the file"

# Unaligned writes, direct and buffered, mirrored on the reference copy.
i=0
for spec in "777 17 direct" "1 4099 direct" "5000 3 direct" "513 1000 buffered" \
	"4096 2 direct" "100000 7 buffered" "3 99999 direct"; do
	set -- $spec
	head -c "$1" /dev/urandom >/tmp/chunk
	flag=$([ "$3" = direct ] && echo oflag=direct || echo conv=fsync)
	dd if=/tmp/chunk of="$f" bs="$1" seek="$2" count=1 conv=notrunc $flag status=none
	dd if=/tmp/chunk of=/tmp/ref bs="$1" seek="$2" count=1 conv=notrunc status=none
	i=$((i + 1))
done
cmp "$f" /tmp/ref || vv_die "unaligned writes read back wrong"
echo "ok: $i unaligned writes read back"

# losetup --direct-io, mkfs, a tree, fsck.
loop=$(losetup --direct-io=on -f --show "$f")
mkfs.ext4 -q -F "$loop"
mkdir -p /tmp/fs && mount "$loop" /tmp/fs
cp -a /usr/share/misc /usr/share/common-licenses /tmp/fs/
sync
umount /tmp/fs
fsck.ext4 -fn "$loop" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; vv_die "fsck found errors"; }
losetup -d "$loop"
echo "ok: mkfs, tree, fsck clean over losetup --direct-io"

umount /tmp/mnt
vv_wait_gone "$bdf"
"$vv" detach "$bdf" >/dev/null
for _ in $(seq 50); do grep -qx vvfuse0 /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
disk=$(disk_of vvfuse0)
mount -o ro "/dev/$disk" /tmp/fs
diff -r --no-dereference /usr/share/misc /tmp/fs/misc &&
	diff -r --no-dereference /usr/share/common-licenses /tmp/fs/common-licenses ||
	vv_die "the kernel sees a different tree"
umount /tmp/fs
echo "ok: the kernel's driver reads the same tree"

# A 4 KiB-sector disk: unaligned I/O becomes 4 KiB read-modify-write.
bdf4=$(vv_bdf_by_serial vvfuse4k)
disk4=$(disk_of vvfuse4k)
dd if="/dev/$disk4" of=/tmp/ref4 bs=1M iflag=direct status=none
"$vv" attach "$bdf4" >/dev/null
"$vv" blk mount "$bdf4" /tmp/mnt
f=/tmp/mnt/vvfuse4k
for spec in "777 17" "512 9" "4096 3" "6000 5"; do
	set -- $spec
	head -c "$1" /dev/urandom >/tmp/chunk
	dd if=/tmp/chunk of="$f" bs="$1" seek="$2" count=1 conv=notrunc oflag=direct status=none
	dd if=/tmp/chunk of=/tmp/ref4 bs="$1" seek="$2" count=1 conv=notrunc status=none
done
cmp "$f" /tmp/ref4 || vv_die "4k device: unaligned writes read back wrong"
loop=$(losetup --direct-io=on --sector-size 4096 -f --show "$f")
mkfs.ext4 -q -F "$loop" && fsck.ext4 -fn "$loop" >/dev/null || vv_die "4k device: mkfs/fsck"
losetup -d "$loop"
# SIGTERM ends the daemon cleanly and unmounts.
kill -TERM "$(pgrep -f "blk mount $bdf4")"
vv_wait_gone "$bdf4"
mountpoint -q /tmp/mnt && vv_die "still mounted after SIGTERM"
"$vv" detach "$bdf4" >/dev/null
echo "mount: all checks passed"
