#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest by `scripts/bench spdk`: issue 15's userspace peer,
# SPDK's virtio-blk driver (bdevperf over its virtio-pci bdev through VFIO, built by
# bench/spdk-build.sh against Debian's DPDK), against the library (`blk bench --mode poll`)
# and the kernel's polled queue, in one guest run, alternating over rounds:
#   qd1   4 KiB random reads one at a time: the time per request from each one's IOPS (no
#         driver's own clock: SPDK reads the TSC, the library CLOCK_MONOTONIC, fio its own),
#         the kernel's with fio reading no clock (--gtod_reduce=1, io_uring, --hipri)
#   qd32  4 KiB random reads, 32 in flight: IOPS; the kernel with io_uring, batched and polled
# SPDK and the library drive the same disk, one after the other, so they meet the same
# device; the kernel its twin, filled with the same data. Both userspace drivers also run on
# a disk backed by QEMU's null-co: with no host I/O left, what differs is the drivers.
# VV_BENCH_ROWS=qd1,qd32 picks parts (default both). Results: docs/performance.md.
#vm: timeout 3600
#vm: topology rootport
#vm: cpu max
#vm: blk vk serial=vvs-kernel size=256M extra=num-queues=2
#vm: blk vv serial=vvs-user size=256M extra=num-queues=2
#vm: blk nv serial=vvs-user-null size=256M backend=null extra=num-queues=2
#vm: append virtio_blk.poll_queues=1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"
. "$VV_REPO/bench/lib/rounds.sh"

vv=$VV_BUILD/cli/virtio-vfio
[ -f "$VV_BUILD/spdk-bdevperf" ] ||
	vv_die "no SPDK build named: run this case with scripts/bench spdk, which builds it"
bdevperf=$(cat "$VV_BUILD/spdk-bdevperf")
runtime=${VV_BENCH_SECONDS:-10}
rounds=${VV_BENCH_ROUNDS:-3}
parts=${VV_BENCH_ROWS:-qd1,qd32}
size=256M
kdisk=$(vv_disk_by_serial vvs-kernel)
bdf=$(vv_bdf_by_serial vvs-user)
bdf0=$(vv_bdf_by_serial vvs-user-null)
echo "cpus: $(nproc)"
[ "$(cat /sys/module/virtio_blk/parameters/poll_queues)" = 1 ] ||
	vv_die "virtio_blk.poll_queues did not reach the module"
[ -x "$bdevperf" ] || vv_die "no bdevperf at $bdevperf"

# Identical data on both file-backed disks, every byte written: reads of holes would
# measure QEMU's sparse file, not a driver.
head -c $size /dev/urandom >/tmp/fill
for t in "$kdisk" "$(vv_disk_by_serial vvs-user)"; do
	dd if=/tmp/fill of="$t" bs=1M oflag=direct status=none
done
rm /tmp/fill
"$vv" attach "$bdf" "$bdf0" >/dev/null

# SPDK's DPDK takes its DMA memory from 2 MiB hugepages, with IOVAs as physical addresses:
# QEMU's intel-iommu has 39 address bits, fewer than a virtual address.
echo 256 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
mkdir -p /tmp/huge
mount -t hugetlbfs nodev /tmp/huge
# SPDK keeps its trace buffer in shared memory (shm_open), which needs /dev/shm.
if ! mountpoint -q /dev/shm; then
	mkdir -p /dev/shm
	mount -t tmpfs shm /dev/shm
fi

per_io() { awk '{ printf "%.2f", 1e6 / $1 }'; } # mean time per request at QD1, from IOPS
kernel() { # FIO-ARGS... -> IOPS
	fio --name=b --filename="$kdisk" --size=$size --direct=1 --time_based --runtime="$runtime" \
		--ramp_time=2 --gtod_reduce=1 --ioengine=io_uring --fixedbufs --registerfiles \
		--hipri --rw=randread --bs=4k --output-format=json "$@" | jq -r '.jobs[0].read.iops'
}
lib() { # BDF QD -> IOPS
	"$vv" blk bench --json --time "$runtime" --mode poll --rw randread --bs 4k --qd "$2" \
		--size $size "$1" 2>/tmp/lib.err | jq -r .iops
}
spdk() { # BDF QD -> IOPS: bdevperf on one core (vCPU 1), as the library polls on one thread
	cat >/tmp/spdk.json <<-EOF
		{"subsystems": [{"subsystem": "bdev", "config": [
		  {"method": "bdev_virtio_attach_controller",
		   "params": {"name": "vvs", "trtype": "pci", "traddr": "$1", "dev_type": "blk"}},
		  {"method": "bdev_wait_for_examine"}]}]}
	EOF
	# SPDK's own libraries (it builds shared ones against a shared DPDK) are beside bdevperf.
	LD_LIBRARY_PATH=${bdevperf%/examples/*}/lib "$bdevperf" --json /tmp/spdk.json -m 0x2 -s 256 --iova-mode pa --huge-dir /tmp/huge \
		--pci-allowed "$1" -q "$2" -o 4096 -w randread -t "$runtime" >/tmp/spdk.out 2>&1 ||
		{ cat /tmp/spdk.out >&2; vv_die "bdevperf failed"; }
	tr -d '\r' </tmp/spdk.out | awk '$1 == "Total" && $3 > 0 { print $3 }' | grep . ||
		{ cat /tmp/spdk.out >&2; vv_die "no Total line from bdevperf"; }
}

steps=()
[[ ,$parts, != *,qd1,* ]] || steps+=(k1 l1 s1 l10 s10)
[[ ,$parts, != *,qd32,* ]] || steps+=(k32 l32 s32 l320 s320)
for r in $(seq "$rounds"); do
	s=("${steps[@]}")
	# Rotate the order, so no contender always goes first.
	for ((k = 0; k < r - 1; k++)); do s=("${s[@]:1}" "${s[0]}"); done
	for step in "${s[@]}"; do
		# A failed run ends the case: the figure is assigned last, not passed as an argument.
		case $step in
		k1) w="kernel polled" u=us v=$(kernel --iodepth=1 | per_io) ;;
		l1) w="lib poll" u=us v=$(lib "$bdf" 1 | per_io) ;;
		s1) w=SPDK u=us v=$(spdk "$bdf" 1 | per_io) ;;
		l10) w="lib poll, null disk" u=us v=$(lib "$bdf0" 1 | per_io) ;;
		s10) w="SPDK, null disk" u=us v=$(spdk "$bdf0" 1 | per_io) ;;
		k32) w="kernel polled QD32" u=IOPS v=$(kernel --iodepth=32 --iodepth_batch_submit=32 \
			--iodepth_batch_complete_max=32) ;;
		l32) w="lib poll QD32" u=IOPS v=$(lib "$bdf" 32) ;;
		s32) w="SPDK QD32" u=IOPS v=$(spdk "$bdf" 32) ;;
		l320) w="lib poll QD32, null disk" u=IOPS v=$(lib "$bdf0" 32) ;;
		s320) w="SPDK QD32, null disk" u=IOPS v=$(spdk "$bdf0" 32) ;;
		esac
		row "$r" "$w" "$v" "$u"
	done
done

if [[ ,$parts, == *,qd1,* ]]; then
	table "QD1 4K randread, us per request" SPDK SPDK "lib poll" "kernel polled"
	table "QD1 on the null disk" "SPDK, null disk" "SPDK, null disk" "lib poll, null disk"
	table "QD1 against the kernel" "kernel polled" "lib poll" SPDK
fi
if [[ ,$parts, == *,qd32,* ]]; then
	table "QD32 4K randread, IOPS" "SPDK QD32" "SPDK QD32" "lib poll QD32" "kernel polled QD32"
	table "QD32 on the null disk" "SPDK QD32, null disk" "SPDK QD32, null disk" \
		"lib poll QD32, null disk"
	table "QD32 against the kernel" "kernel polled QD32" "lib poll QD32" "SPDK QD32"
fi
echo
umount /tmp/huge
"$vv" detach "$bdf" "$bdf0" >/dev/null
