#!/bin/bash
# SPDX-License-Identifier: MIT
# test-mount-helper.sh HELPER: what mount.virtio-vfio makes of the command lines mount(8)
# and fstab give it (-f: print the blk mount command instead of running it).
set -uo pipefail
h=$1 n=0 fail=0
echo "1..6"
check() { # NAME WANT-STATUS WANT-OUTPUT ARGS...
	local name=$1 want=$2 wout=$3 out rc
	shift 3
	out=$("$h" "$@" 2>&1)
	rc=$?
	n=$((n + 1))
	if [ "$rc" = "$want" ] && [[ $out == $wout ]]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name: status $rc, output: $out"
		fail=1
	fi
}
cli='*/virtio-vfio'
check "fstab and systemd options dropped, export options kept" 0 \
	"$cli blk mount -o rw,queues=2,fsname=0000:01:00.0 0000:01:00.0 /mnt/d" \
	0000:01:00.0 /mnt/d -f -o rw,defaults,nofail,_netdev,auto,x-systemd.requires=a.service,x-systemd.device-timeout=5,comment=x,noatime,nosuid,nodev,queues=2 -t fuse.virtio-vfio
check "no options" 0 "$cli blk mount -o fsname=vvdisk0 vvdisk0 /mnt/d" vvdisk0 /mnt/d -f -n -s
check "ro and allow_other" 0 "$cli blk mount -o ro,allow_other,fsname=vvdisk0 vvdisk0 /mnt/d" \
	vvdisk0 /mnt/d -f -oro,allow_other,user,users,noauto
check "unknown option refused" 1 "*unknown option 'bogus'*" vvdisk0 /mnt/d -f -o bogus
check "another type refused" 1 "*type ext4 is not ours*" vvdisk0 /mnt/d -f -t ext4
check "missing mountpoint" 1 "Usage: *" vvdisk0 -f
exit $fail
