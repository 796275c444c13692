#!/bin/bash
# SPDX-License-Identifier: MIT
# attach / info / raw I/O through the library / detach, checked against what the kernel's own
# driver reads and writes; and every refusal: in use, 9p root, non-virtio, malformed, missing.
#vm: platforms stock modern
#vm: timeout 300
#vm: topology rootbus rootport
#vm: blk vblk0 serial=vvattach0 size=64M
#vm: blk vblk1 serial=vvattach1 size=32M
#vm: netpair vnet0 vnet1 mac0=52:54:00:00:00:b0 mac1=52:54:00:00:00:b1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
rawio=$VV_BUILD/tests/vv-rawio
drv() { basename "$(readlink -f "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || echo none; }
disk_of() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }
# Runs a command that must fail with exit 1 and print $2 on stderr.
refused() { vv_refused 1 "$@"; }

blk0=$(vv_bdf_by_serial vvattach0)
blk1=$(vv_bdf_by_serial vvattach1)
net0=$(vv_bdf_by_mac 52:54:00:00:00:b0)
net1=$(vv_bdf_by_mac 52:54:00:00:00:b1)
disk0=$(disk_of vvattach0)
short0=${blk0#0000:}

# --- the kernel writes a pattern the library must read back ---------------------------
head -c 65536 /dev/urandom >/tmp/pat1
dd if=/tmp/pat1 of="/dev/$disk0" bs=4096 oflag=direct conv=fsync status=none

# --- doctor sees a healthy setup -------------------------------------------------------
"$vv" doctor "$blk0" | tee /tmp/doctor.txt
grep -q "interrupt remapping is active" /tmp/doctor.txt || vv_die "doctor: no IR"
grep -q "^0 problems" /tmp/doctor.txt || vv_die "doctor found problems"

# --- attach (short BDF form), idempotent -----------------------------------------------
"$vv" attach "$short0" | tee /tmp/attach.txt
grep -q "^$blk0: attached (was virtio-pci)" /tmp/attach.txt || vv_die "attach output"
vv_assert_eq "$(drv "$blk0")" vfio-pci "blk0 driver after attach"
[ ! -e "/sys/block/$disk0" ] || vv_die "/sys/block/$disk0 still there after attach"
"$vv" attach "$blk0" | grep -q "already attached" || vv_die "second attach not idempotent"
vv_assert_eq "$(cat /run/virtio-vfio/$blk0.driver)" virtio-pci "recorded original driver"

# --- info: the values QEMU was given ---------------------------------------------------
"$vv" info "$blk0"
info=$("$vv" info --json "$blk0")
vv_assert_eq "$(jq -r .type <<<"$info")" blk "info type"
vv_assert_eq "$(jq -r .config.capacity_sectors <<<"$info")" 131072 "capacity of 64 MiB"
vv_assert_eq "$(jq -r .config.serial <<<"$info")" vvattach0 "serial via GET_ID"
vv_assert_eq "$(jq -r .config.block_size <<<"$info")" 512 "block size"
vv_assert_eq "$(jq -r '.queues | length' <<<"$info")" "$(jq -r .config.num_queues <<<"$info")" "queues = num_queues (QEMU: one per vCPU)"
vv_assert_eq "$(jq -r '.queues[0].max_size' <<<"$info")" 256 "queue size 256"
vv_assert_eq "$(jq -r '.capabilities.common.bar' <<<"$info")" 4 "common cfg in BAR4"
jq -e '.capabilities.msix_vectors >= 2' <<<"$info" >/dev/null || vv_die "MSI-X vectors"
jq -e '.feature_names | index("ACCESS_PLATFORM")' <<<"$info" >/dev/null || vv_die "no AP"

# --- raw I/O through the library: interrupts, polling, and plain rings -----------------
"$rawio" "$blk0" read 0 128 >/tmp/got1
cmp /tmp/pat1 /tmp/got1 || vv_die "library read differs from what the kernel wrote"
"$rawio" --poll --plain "$blk0" read 8 8 | cmp - <(tail -c +4097 /tmp/pat1 | head -c 4096) ||
	vv_die "polled plain-ring read differs"
head -c 131072 /dev/urandom >/tmp/pat2
"$rawio" "$blk0" write 256 256 </tmp/pat2
"$rawio" --poll "$blk0" read 256 256 | cmp - /tmp/pat2 || vv_die "read-after-write differs"

# --- detach: the kernel sees the disk again, with our writes -------------------------
"$vv" detach "$blk0" | tee /tmp/detach.txt
grep -q "^$blk0: detached, back on virtio-pci" /tmp/detach.txt || vv_die "detach output"
vv_assert_eq "$(drv "$blk0")" virtio-pci "blk0 driver after detach"
for _ in $(seq 50); do grep -qx vvattach0 /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
disk0=$(disk_of vvattach0)
dd if="/dev/$disk0" bs=4096 count=32 skip=32 iflag=direct status=none | cmp - /tmp/pat2 ||
	vv_die "kernel does not read what the library wrote"
dd if="/dev/$disk0" bs=4096 count=16 iflag=direct status=none | cmp - /tmp/pat1 ||
	vv_die "kernel lost the original pattern"
"$vv" detach "$blk0" | grep -q "not attached" || vv_die "second detach not idempotent"
[ ! -e "/run/virtio-vfio/$blk0.driver" ] || vv_die "state file left behind"

# --- net: attach, info (MAC, queue pairs), detach; the interface comes back -------------
"$vv" attach "$net1"
ninfo=$("$vv" info --json "$net1")
vv_assert_eq "$(jq -r .config.mac <<<"$ninfo")" 52:54:00:00:00:b1 "net1 MAC"
vv_assert_eq "$(jq -r .config.max_queue_pairs <<<"$ninfo")" 1 "net1 queue pairs"
jq -e '.queues | length >= 2' <<<"$ninfo" >/dev/null || vv_die "net queues"
"$vv" detach "$net1"
for _ in $(seq 50); do vv_bdf_by_mac 52:54:00:00:00:b1 >/dev/null 2>&1 && break; sleep 0.1; done
vv_assert_eq "$(vv_bdf_by_mac 52:54:00:00:00:b1)" "$net1" "net1 interface is back"

# --- refusals: nothing changes ----------------------------------------------------------
disk1=$(disk_of vvattach1)
mkfs.ext4 -q -F "/dev/$disk1"
mkdir -p /tmp/m1 && mount "/dev/$disk1" /tmp/m1
refused "/dev/$disk1 is mounted on /tmp/m1" "$vv" attach "$blk1"
vv_assert_eq "$(drv "$blk1")" virtio-pci "mounted disk left alone"
umount /tmp/m1

if0=$(basename "$(dirname "$(grep -lx 52:54:00:00:00:b0 /sys/class/net/*/address)")")
ip link set "$if0" up
refused "interface $if0 is up" "$vv" attach "$net0"
vv_assert_eq "$(drv "$net0")" virtio-pci "up NIC left alone"
# --force overrides, and detach brings it back
"$vv" attach --force "$net0" 2>&1 | grep -q "attached" || vv_die "attach --force"
vv_assert_eq "$(drv "$net0")" vfio-pci "forced attach"
"$vv" detach "$net0" >/dev/null

ninep=$("$vv" list --json | jq -r '.devices[] | select(.type == "9p") | .bdf')
refused "9p share hostroot is mounted on /" "$vv" attach "$ninep"
refused "not a virtio device" "$vv" attach 00:00.0
vv_refused 2 "is not a device name" "$vv" attach 00:zz.0
vv_refused 2 "is not a device name" "$vv" attach "../../x"
refused "no such PCI device" "$vv" attach 0000:0f:1f.7
refused "not vfio-pci" "$vv" info "$blk1"

# A process holding the group: detach refuses.
"$vv" attach "$blk1" >/dev/null
g=$(basename "$(readlink -f "/sys/bus/pci/devices/$blk1/iommu_group")")
sleep 600 9<>"/dev/vfio/$g" &
holder=$!
for _ in $(seq 50); do [ -e "/proc/$holder/fd/9" ] && break; sleep 0.1; done
refused "is open in process" "$vv" detach "$blk1"
kill "$holder"; wait "$holder" 2>/dev/null || true
"$vv" detach "$blk1" >/dev/null
vv_assert_eq "$(drv "$blk1")" virtio-pci "blk1 back"

# SIGTERM at any moment of attach or detach: the function ends on one driver or the other,
# never on none (the bind sequence holds signals until it is over).
land=""
for i in $(seq 0 19); do
	for cmd in attach detach; do
		"$vv" $cmd "$blk1" >/dev/null 2>&1 &
		p=$!
		sleep "0.0$((i % 10))"
		kill -TERM $p 2>/dev/null || true
		wait $p 2>/dev/null || true
		d=$(drv "$blk1")
		case "$d" in
		vfio-pci | virtio-pci) land="$land $d" ;;
		*) vv_die "SIGTERM during $cmd left $blk1 on no driver ($d)" ;;
		esac
	done
done
"$vv" detach "$blk1" >/dev/null
vv_assert_eq "$(drv "$blk1")" virtio-pci "blk1 back after the signals"
echo "ok: 40 SIGTERMs during attach/detach, the function always on a driver:$(echo $land | tr ' ' '\n' | sort | uniq -c | tr -s ' \n' ' ')"

echo "attach: all checks passed"
