#!/bin/bash
# SPDX-License-Identifier: MIT
# Profile, run inside the test guest: where the guest's CPUs go while fio reads our FUSE file
# from a disk backed by QEMU's null-co (no host I/O, so the FUSE file is the bottleneck:
# bench/bounds.sh): 4 KiB random reads at QD32 (io_uring, batched), then 1 MiB sequential
# reads at QD4 (libaio). perf samples both vCPUs (cpu-clock, the only event a TCG guest
# has) and prints the hottest symbols by task.
# Run with: tests/vm/run --build-dir build-bench -v bench/fuse-profile.sh
#vm: timeout 1200
#vm: topology rootport
#vm: blk nv serial=vvp-null size=256M backend=null extra=num-queues=2
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
runtime=${VV_BENCH_SECONDS:-10}
bdf=$(vv_bdf_by_serial vvp-null)
command -v perf >/dev/null || vv_die "no perf in this root (apt-get install linux-perf)"
"$vv" attach "$bdf" >/dev/null
mkdir -p /tmp/m
"$vv" blk mount "$bdf" /tmp/m
f=$(find /tmp/m -maxdepth 1 -type f | head -n 1)
profile() { # title FIO-ARGS...
	local title=$1 fio
	shift
	fio --name=b --filename="${f//:/\\:}" --size=256M --direct=1 --time_based \
		--runtime=$((runtime + 4)) --output-format=json "$@" >/tmp/fio.json &
	fio=$!
	sleep 2
	perf record -q -e cpu-clock -F 997 -a -o /tmp/perf.data -- sleep "$runtime" 2>/dev/null
	wait "$fio"
	echo "PROFILE-BEGIN $title: $(jq -r '.jobs[0].read | "\(.iops | floor) IOPS, \(.bw_bytes / 1e6 | floor) MB/s"' /tmp/fio.json)"
	perf report -i /tmp/perf.data --no-children --sort comm,dso --stdio 2>/dev/null |
		grep -v '^#' | grep -v '^$' | sed -n '1,20p'
	echo
	perf report -i /tmp/perf.data --no-children --sort comm,sym --stdio 2>/dev/null |
		grep -v '^#' | grep -v '^$' | sed -n '1,60p'
	echo "PROFILE-END"
}
profile "4K randread QD32" --ioengine=io_uring --iodepth=32 --iodepth_batch_submit=32 \
	--iodepth_batch_complete_max=32 --fixedbufs --registerfiles --rw=randread --bs=4k
profile "1M read QD4" --ioengine=libaio --iodepth=4 --rw=read --bs=1M
umount /tmp/m
vv_wait_gone "$bdf"
"$vv" detach "$bdf" >/dev/null
