#!/bin/bash
# SPDX-License-Identifier: MIT
# The README's demo: find a disk, take it from the kernel, look at it through VFIO, read
# from it with the library, export it as a file, put a filesystem on it, give it back.
#vm: timeout 180
#vm: topology rootport
#vm: blk vblk0 serial=vvdemo0 size=64M
#vm: netpair vnet0 vnet1 mac0=52:54:00:00:00:d0 mac1=52:54:00:00:00:d1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
step() { printf '\n### %s\n' "$*"; }

bdf=$("$vv" list --json | jq -r '.devices[] | select(.type == "blk") | .bdf')
disk=$("$vv" list --json | jq -r '.devices[] | select(.type == "blk") | .kernel_names[0].name')
echo "hello from the kernel's driver" | dd of="/dev/$disk" bs=512 conv=sync,fsync oflag=direct status=none

step "virtio-vfio list"
"$vv" list
step "virtio-vfio attach $bdf"
"$vv" attach "$bdf"
step "virtio-vfio info $bdf"
"$vv" info "$bdf"
step "sector 0, read through libvirtio-vfio (tests/vm/rawio.c)"
"$VV_BUILD/tests/vv-rawio" "$bdf" read 0 1 2>/dev/null | tr -d '\0'
step "virtio-vfio blk mount $bdf /tmp/disks"
mkdir -p /tmp/disks /tmp/fs
"$vv" blk mount "$bdf" /tmp/disks
ls -l /tmp/disks
step "losetup, mkfs.ext4, mount, write files"
loop=$(losetup --direct-io=on -f --show /tmp/disks/vvdemo0)
mkfs.ext4 -q "$loop"
mount "$loop" /tmp/fs
cp -a /usr/share/common-licenses /tmp/fs/
df -h /tmp/fs | tail -n 1
umount /tmp/fs
losetup -d "$loop"
umount /tmp/disks
for _ in $(seq 100); do pgrep -f "blk mount $bdf" >/dev/null || break; sleep 0.1; done
step "virtio-vfio detach $bdf"
"$vv" detach "$bdf"
step "the kernel's own driver mounts the same disk"
for _ in $(seq 50); do [ -b "/dev/$disk" ] && break; sleep 0.1; done
mount -o ro "/dev/$disk" /tmp/fs
ls /tmp/fs/common-licenses | head -n 4
umount /tmp/fs

# The demo doubles as a check: the disk is back on the kernel's driver, and idle.
"$vv" list --json | jq -e --arg b "$bdf" \
	'.devices[] | select(.bdf == $b and .driver == "virtio-pci" and .in_use == false)' >/dev/null
echo
echo "demo: done"
