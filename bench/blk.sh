#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest: fio on the kernel's virtio-blk driver and fio on our
# FUSE file, over two identical devices in the same guest run. Prints a table with ratios.
# Run with scripts/bench; results are recorded in docs/performance.md.
#vm: timeout 1500
#vm: topology rootport
#vm: blk vk serial=vvbench-kernel size=512M
#vm: blk vv serial=vvbench-ours size=512M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
runtime=${VV_BENCH_SECONDS:-15}
kdisk=/dev/$(basename "$(dirname "$(grep -lx vvbench-kernel /sys/block/vd*/serial)")")
bdf=$(vv_bdf_by_serial vvbench-ours)
"$vv" attach "$bdf" >/dev/null
mkdir -p /tmp/m
"$vv" blk mount "$bdf" /tmp/m
ours=/tmp/m/vvbench-ours # the file is named by the serial

# Same data on both: reads of holes would measure QEMU, not the drivers.
for t in "$kdisk" "$ours"; do
	fio --name=fill --filename="$t" --rw=write --bs=1M --size=256M --direct=1 \
		--ioengine=libaio --iodepth=8 --output=/dev/null
done

# name | fio arguments | metric
workloads=(
	"4K randread QD1|--rw=randread --bs=4k --iodepth=1|iops"
	"4K randread QD32|--rw=randread --bs=4k --iodepth=32|iops"
	"4K randwrite QD32|--rw=randwrite --bs=4k --iodepth=32|iops"
	"1M seq read QD4|--rw=read --bs=1M --iodepth=4|bw"
	"1M seq write QD4|--rw=write --bs=1M --iodepth=4|bw"
)
run() { # target args metric -> number
	local out
	out=$(fio --name=b --filename="$1" $2 --size=256M --direct=1 --ioengine=libaio \
		--time_based --runtime="$runtime" --ramp_time=2 --output-format=json)
	if [ "$3" = iops ]; then
		jq '[.jobs[0].read.iops, .jobs[0].write.iops] | add | floor' <<<"$out"
	else
		jq '[.jobs[0].read.bw, .jobs[0].write.bw] | add / 1024 | floor' <<<"$out" # MiB/s
	fi
}

# The ceiling for any FUSE export here: FUSE copies every byte once inside the guest, and
# under TCG a guest copy is emulated. Copies of 1 MiB from tmpfs (page cache) measure it.
head -c $((256 << 20)) /dev/zero >/tmp/copysrc
for jobs in 1 2; do
	bw=$(fio --name=copy --filename=/tmp/copysrc --rw=read --bs=1M --size=256M --ioengine=psync \
		--numjobs=$jobs --group_reporting --time_based --runtime="$runtime" --output-format=json |
		jq '.jobs[0].read.bw / 1024 | floor')
	echo "guest copy ceiling, $jobs thread(s): $bw MiB/s"
done
rm -f /tmp/copysrc

printf '\n%-20s %12s %12s %7s\n' workload kernel virtio-vfio ratio
for w in "${workloads[@]}"; do
	IFS='|' read -r name args metric <<<"$w"
	k=$(run "$kdisk" "$args" "$metric")
	o=$(run "$ours" "$args" "$metric")
	unit=$([ "$metric" = iops ] && echo IOPS || echo MiB/s)
	printf '%-20s %12s %12s %7s\n' "$name" "$k $unit" "$o $unit" \
		"$(awk -v a="$o" -v b="$k" 'BEGIN { printf "%.2fx", b ? a / b : 0 }')"
done

# Two workers (-o queues=2): what they change for large sequential I/O.
umount /tmp/m
for _ in $(seq 100); do pgrep -f "blk mount" >/dev/null || break; sleep 0.1; done
"$vv" blk mount -o queues=2 "$bdf" /tmp/m
for w in "${workloads[@]:3}"; do
	IFS='|' read -r name args metric <<<"$w"
	o=$(run "$ours" "$args" "$metric")
	printf '%-20s %12s %12s\n' "$name" "queues=2" "$o MiB/s"
done
echo
umount /tmp/m
for _ in $(seq 100); do pgrep -f "blk mount" >/dev/null || break; sleep 0.1; done
"$vv" detach "$bdf" >/dev/null
