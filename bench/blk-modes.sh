#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest (scripts/bench modes): on two identical disks in one
# guest run, the kernel's virtio-blk driver (fio, libaio, direct) against libvirtio-vfio
# driven by `blk bench` in each completion mode, and against our FUSE export (fio).
# Prints IOPS, MB/s, mean latency and ratios to the kernel. Results: docs/performance.md.
#vm: timeout 1800
#vm: topology rootport
#vm: blk vk serial=vvbench-kernel size=512M
#vm: blk vv serial=vvbench-ours size=512M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
runtime=${VV_BENCH_SECONDS:-10}
kdisk=/dev/$(basename "$(dirname "$(grep -lx vvbench-kernel /sys/block/vd*/serial)")")
bdf=$(vv_bdf_by_serial vvbench-ours)
odisk=/dev/$(basename "$(dirname "$(grep -lx vvbench-ours /sys/block/vd*/serial)")")
# Same data on both: reads of holes would measure QEMU, not the drivers.
for t in "$kdisk" "$odisk"; do
	fio --name=fill --filename="$t" --rw=write --bs=1M --size=256M --direct=1 \
		--ioengine=libaio --iodepth=8 --output=/dev/null
done
"$vv" attach "$bdf" >/dev/null
mkdir -p /tmp/m

# fio TARGET ARGS -> "iops mbs lat_us"
fio_run() {
	fio --name=b --filename="$1" $2 --size=256M --direct=1 --ioengine=libaio --time_based \
		--runtime="$runtime" --ramp_time=2 --output-format=json |
		jq -r '.jobs[0] | [(.read.iops + .write.iops), ((.read.bw + .write.bw) / 1000),
			(if .read.iops > 0 then .read.lat_ns.mean else .write.lat_ns.mean end) / 1000]
			| map(. * 10 | floor / 10) | join(" ")'
}
# blk bench MODE ARGS -> "iops mbs lat_us"
lib_run() {
	"$vv" blk bench --json --time "$runtime" --mode "$1" $2 "$bdf" |
		jq -r '[.iops, .mb_per_s, .lat_us.avg] | map(. * 10 | floor / 10) | join(" ")'
}

# name | fio arguments | blk bench arguments
workloads=(
	"4K randread QD1|--rw=randread --bs=4k --iodepth=1|--rw randread --bs 4k --qd 1"
	"4K randread QD32|--rw=randread --bs=4k --iodepth=32|--rw randread --bs 4k --qd 32"
	"4K randwrite QD32|--rw=randwrite --bs=4k --iodepth=32|--rw randwrite --bs 4k --qd 32"
	"1M read QD4|--rw=read --bs=1M --iodepth=4|--rw read --bs 1m --qd 4"
	"1M write QD4|--rw=write --bs=1M --iodepth=4|--rw write --bs 1m --qd 4"
)
declare -A res
for w in "${workloads[@]}"; do
	IFS='|' read -r name fargs largs <<<"$w"
	res["$name|kernel"]=$(fio_run "$kdisk" "$fargs")
	for mode in irq poll hybrid; do
		res["$name|lib $mode"]=$(lib_run $mode "$largs")
	done
done
"$vv" blk mount "$bdf" /tmp/m
for w in "${workloads[@]}"; do
	IFS='|' read -r name fargs largs <<<"$w"
	res["$name|FUSE file"]=$(fio_run /tmp/m/vvbench-ours "$fargs")
done
umount /tmp/m
for _ in $(seq 100); do pgrep -f "blk mount" >/dev/null || break; sleep 0.1; done
"$vv" detach "$bdf" >/dev/null

printf '\n%-18s %-11s %10s %9s %10s %7s %7s\n' workload driver IOPS MB/s "lat us" "x IOPS" "x lat"
for w in "${workloads[@]}"; do
	IFS='|' read -r name _ <<<"$w"
	read -r ki _ kl <<<"${res["$name|kernel"]}"
	for who in kernel "lib irq" "lib poll" "lib hybrid" "FUSE file"; do
		read -r i m l <<<"${res["$name|$who"]}"
		printf '%-18s %-11s %10s %9s %10s %7s %7s\n' "$name" "$who" "$i" "$m" "$l" \
			"$(awk -v a="$i" -v b="$ki" 'BEGIN { printf "%.2fx", b ? a / b : 0 }')" \
			"$(awk -v a="$l" -v b="$kl" 'BEGIN { printf "%.2fx", b ? a / b : 0 }')"
	done
done
echo
