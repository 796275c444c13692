#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest: the same fio workloads on the kernel's virtio-blk
# driver, on our FUSE file (`blk mount`) and over NBD (`nbdkit virtio-vfio`, fio's nbd engine
# on a Unix socket), three identical disks in one guest run. Prints a table with ratios to
# the kernel. Run with `scripts/bench nbd`; results are recorded in docs/performance.md.
#vm: timeout 2400
#vm: topology rootport
#vm: blk vk serial=vvbench-kernel size=512M
#vm: blk vf serial=vvbench-fuse size=512M
#vm: blk vn serial=vvbench-nbd size=512M
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
plugin=$VV_BUILD/nbdkit/nbdkit-virtio-vfio-plugin.so
runtime=${VV_BENCH_SECONDS:-15}
[ -f "$plugin" ] || vv_die "no nbdkit plugin in $VV_BUILD (nbdkit-plugin-dev missing?)"
kdisk=/dev/$(basename "$(dirname "$(grep -lx vvbench-kernel /sys/block/vd*/serial)")")
fbdf=$(vv_bdf_by_serial vvbench-fuse)
nbdf=$(vv_bdf_by_serial vvbench-nbd)
"$vv" attach "$fbdf" "$nbdf" >/dev/null
mkdir -p /tmp/m
"$vv" blk mount "$fbdf" /tmp/m
fuse="/tmp/m/${fbdf//:/\\:}" # fio splits file names at ":"
asan=$(ldd "$plugin" | awk '/libasan/ {print $3}') # an unsanitized build is expected here
LD_PRELOAD=$asan nbdkit -U /tmp/nbd.sock --pidfile /tmp/nbdkit.pid "$plugin" device="$nbdf"
vv_wait "nbdinfo --size 'nbd+unix:///?socket=/tmp/nbd.sock' >/dev/null 2>&1" 300 ||
	vv_die "nbdkit does not answer"
nbd=(--ioengine=nbd --uri='nbd+unix:///?socket=/tmp/nbd.sock')

# Same data on all three: reads of holes would measure QEMU, not the drivers.
for t in "$kdisk" "$fuse"; do
	fio --name=fill --filename="$t" --rw=write --bs=1M --size=256M --direct=1 \
		--ioengine=libaio --iodepth=8 --output=/dev/null
done
fio --name=fill "${nbd[@]}" --rw=write --bs=1M --size=256M --iodepth=8 --output=/dev/null

# name | fio arguments | metric
workloads=(
	"4K randread QD1|--rw=randread --bs=4k --iodepth=1|iops"
	"4K randread QD32|--rw=randread --bs=4k --iodepth=32|iops"
	"4K randwrite QD32|--rw=randwrite --bs=4k --iodepth=32|iops"
	"1M seq read QD4|--rw=read --bs=1M --iodepth=4|bw"
	"1M seq write QD4|--rw=write --bs=1M --iodepth=4|bw"
)
# target (a file, or "nbd") args metric -> number
run() {
	local out target
	if [ "$1" = nbd ]; then
		target=("${nbd[@]}")
	else
		target=(--filename="$1" --direct=1 --ioengine=libaio)
	fi
	# The nbd engine says "fio: connected to NBD server" before the JSON.
	out=$(fio --name=b "${target[@]}" $2 --size=256M --time_based --runtime="$runtime" \
		--ramp_time=2 --output-format=json | sed -n '/^{/,$p')
	if [ "$3" = iops ]; then
		jq '[.jobs[0].read.iops, .jobs[0].write.iops] | add | floor' <<<"$out"
	else
		jq '[.jobs[0].read.bw, .jobs[0].write.bw] | add / 1024 | floor' <<<"$out" # MiB/s
	fi
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b ? a / b : 0 }'
}

printf '\n%-20s %12s %12s %12s %7s %7s\n' workload kernel fuse nbd fuse/k nbd/k
for w in "${workloads[@]}"; do
	IFS='|' read -r name args metric <<<"$w"
	k=$(run "$kdisk" "$args" "$metric")
	f=$(run "$fuse" "$args" "$metric")
	n=$(run nbd "$args" "$metric")
	unit=$([ "$metric" = iops ] && echo IOPS || echo MiB/s)
	printf '%-20s %12s %12s %12s %7s %7s\n' "$name" "$k $unit" "$f $unit" "$n $unit" \
		"$(ratio "$f" "$k")" "$(ratio "$n" "$k")"
done
echo

# nbdcopy, the NBD tool for whole disks: the 512 MiB disk read to null:, its defaults.
start=$(date +%s%N)
nbdcopy 'nbd+unix:///?socket=/tmp/nbd.sock' null:
ms=$((($(date +%s%N) - start) / 1000000))
echo "nbdcopy 512 MiB to null: $((512 * 1000 / (ms ? ms : 1))) MiB/s"

kill "$(cat /tmp/nbdkit.pid)"
umount /tmp/m
for _ in $(seq 100); do pgrep -f "blk mount|nbdkit" >/dev/null || break; sleep 0.1; done
"$vv" detach "$fbdf" "$nbdf" >/dev/null
