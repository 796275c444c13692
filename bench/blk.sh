#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest by scripts/bench: every way this guest can drive a
# virtio-blk disk, on two identical, fully prefilled disks, over the same 256 MiB range, in
# one guest run, alternating over rounds.
#   kernel: fio with libaio; with io_uring, submissions and completions batched; with
#           io_uring on a polled queue (virtio_blk.poll_queues=1, --hipri)
#   FUSE:   the same fio jobs on our exported file (libaio, io_uring batched), one worker
#           and two (queues=2)
#   lib:    `blk bench` (the library alone) in irq, poll and hybrid modes, and the same fio
#           jobs through the fio engine (fio/virtio-vfio-fio.so) in irq and poll modes, batched
#           like the kernel's io_uring row
#   ublk:   the same fio jobs on /dev/ublkbN of `blk export --ublk` (ublk/), where the kernel
#           has ublk (the modern platform; skipped on 6.1)
#   NBD:    the same fio jobs over NBD (fio's nbd engine, a Unix socket) to
#           `nbdkit virtio-vfio` (nbdkit/), and nbdcopy of the range to null:
# and the guest's memory copy rate, which bounds any FUSE export (FUSE copies each byte).
# Each measurement is one "VV-BENCH {json}" line on the console; scripts/bench turns them
# into medians, ranges and ratios (bench/report.py). Results: docs/performance.md.
#vm: timeout 5400
#vm: topology rootport
#vm: blk vk serial=vvbench-kernel size=256M extra=num-queues=2
#vm: blk vv serial=vvbench-ours size=256M extra=num-queues=2
#vm: append virtio_blk.poll_queues=1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
engine=$VV_BUILD/fio/virtio-vfio-fio.so
plugin=$VV_BUILD/nbdkit/nbdkit-virtio-vfio-plugin.so
runtime=${VV_BENCH_SECONDS:-10}
rounds=${VV_BENCH_ROUNDS:-3}
size=256M
kdisk=$(vv_disk_by_serial vvbench-kernel)
odisk=$(vv_disk_by_serial vvbench-ours)
bdf=$(vv_bdf_by_serial vvbench-ours)
# Where the kernel distrusts the TSC (TCG), every precise clock read is a system call.
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
[ "$(cat /sys/module/virtio_blk/parameters/poll_queues)" = 1 ] ||
	vv_die "virtio_blk.poll_queues did not reach the module"

# Identical data on both, every byte written: reads of holes would measure QEMU, not drivers.
head -c $size /dev/urandom >/tmp/fill
for t in "$kdisk" "$odisk"; do
	dd if=/tmp/fill of="$t" bs=1M oflag=direct status=none
done
rm /tmp/fill
cmp "$kdisk" "$odisk" || vv_die "the two disks differ after the fill"
"$vv" attach "$bdf" >/dev/null
mkdir -p /tmp/m

# name | fio arguments | blk bench arguments | queue depth
workloads=(
	"4K randread QD1|--rw=randread --bs=4k|--rw randread --bs 4k|1"
	"4K randread QD32|--rw=randread --bs=4k|--rw randread --bs 4k|32"
	"4K randwrite QD32|--rw=randwrite --bs=4k|--rw randwrite --bs 4k --allow-write|32"
	"1M read QD4|--rw=read --bs=1M|--rw read --bs 1m|4"
	"1M write QD4|--rw=write --bs=1M|--rw write --bs 1m --allow-write|4"
)

emit() { # round workload who iops bytes_per_s lat_us
	printf 'VV-BENCH {"round":%s,"workload":"%s","who":"%s","iops":%s,"bytes_per_s":%s,"lat_us":%s}\n' \
		"$@"
}

# fio TARGET ENGINE-ARGS QD FIO-ARGS -> "iops bytes_per_s lat_us"
fio_run() {
	fio --name=b --filename="$1" $2 --iodepth="$3" $4 --size=$size --direct=1 \
		--time_based --runtime="$runtime" --ramp_time=2 --output-format=json |
		jq -r '.jobs[0] | [(.read.iops + .write.iops), (.read.bw_bytes + .write.bw_bytes),
			(if .read.iops > 0 then .read.lat_ns.mean else .write.lat_ns.mean end) / 1000]
			| map(tostring) | join(" ")'
}
libaio="--ioengine=libaio"
# Batched: one io_uring_enter submits up to QD requests and reaps what is done.
batch() { echo "--iodepth_batch_submit=$1 --iodepth_batch_complete_max=$1"; }
uring_batch() { echo "--ioengine=io_uring $(batch "$1") --fixedbufs --registerfiles"; }
uring_poll() { echo "$(uring_batch "$1") --hipri"; }

kernel_round() {
	local r=$1 w name fargs largs qd
	for w in "${workloads[@]}"; do
		IFS='|' read -r name fargs largs qd <<<"$w"
		emit "$r" "$name" "kernel libaio" $(fio_run "$kdisk" "$libaio" "$qd" "$fargs")
		emit "$r" "$name" "kernel io_uring" $(fio_run "$kdisk" "$(uring_batch "$qd")" "$qd" "$fargs")
		# One request at a time, one system call each: what the FUSE file at QD1 is held to.
		[ "$qd" != 1 ] ||
			emit "$r" "$name" "kernel psync" $(fio_run "$kdisk" --ioengine=psync 1 "$fargs")
		# 1 MiB polled reads hung fio in this guest (Linux 6.1): polled requests are 4 KiB.
		[[ $name == 4K* ]] || continue
		emit "$r" "$name" "kernel polled" $(fio_run "$kdisk" "$(uring_poll "$qd")" "$qd" "$fargs")
	done
}
fuse_round() { # round queues
	local r=$1 q=$2 w name fargs largs qd f tag=""
	[ "$q" = 1 ] || tag=" q$q"
	"$vv" blk mount -o queues="$q" "$bdf" /tmp/m
	f=$(find /tmp/m -maxdepth 1 -type f | head -n 1)
	f=${f//:/\\:} # fio splits file names at ":"
	for w in "${workloads[@]}"; do
		IFS='|' read -r name fargs largs qd <<<"$w"
		# Two workers only matter where one is the bottleneck: deep and large I/O.
		[ "$q" = 1 ] || [ "$qd" != 1 ] || continue
		emit "$r" "$name" "FUSE$tag libaio" $(fio_run "$f" "$libaio" "$qd" "$fargs")
		[ "$q" = 1 ] || continue
		emit "$r" "$name" "FUSE io_uring" $(fio_run "$f" "$(uring_batch "$qd")" "$qd" "$fargs")
		[ "$qd" != 1 ] || emit "$r" "$name" "FUSE psync" $(fio_run "$f" --ioengine=psync 1 "$fargs")
	done
	umount /tmp/m
	vv_wait_gone "$bdf"
}
lib_round() {
	local r=$1 w name fargs largs qd mode
	for w in "${workloads[@]}"; do
		IFS='|' read -r name fargs largs qd <<<"$w"
		for mode in irq poll hybrid; do
			emit "$r" "$name" "lib $mode" $("$vv" blk bench --json --time "$runtime" \
				--mode $mode $largs --qd "$qd" --size $size "$bdf" |
				jq -r '[.iops, .bytes_per_s, .lat_us.avg] | map(tostring) | join(" ")')
		done
		[ -f "$engine" ] || continue # meson skipped the engine (no fio source)
		# Batched like the kernel's io_uring row: one doorbell per batch, not per request.
		for mode in irq poll; do
			emit "$r" "$name" "fio engine $mode" $(fio_run "${bdf//:/\\:}" \
				"--thread --ioengine=external:$engine --vv_mode=$mode $(batch "$qd")" \
				"$qd" "$fargs")
		done
	done
}
nbd_round() {
	local r=$1 w name fargs largs qd uri='nbd+unix:///?socket=/tmp/nbd.sock' t0 ms
	[ -f "$plugin" ] || return 0 # meson skipped the plugin (no nbdkit-plugin-dev)
	rm -f /tmp/nbd.sock # a killed nbdkit leaves its socket behind
	nbdkit -U /tmp/nbd.sock --pidfile /tmp/nbdkit.pid "$plugin" device="$bdf"
	vv_wait "nbdinfo --size '$uri' >/dev/null 2>&1" 300 || vv_die "nbdkit does not answer"
	for w in "${workloads[@]}"; do
		IFS='|' read -r name fargs largs qd <<<"$w"
		# The nbd engine says "fio: connected to NBD server" before the JSON.
		emit "$r" "$name" "NBD (nbdkit)" $(fio --name=b --ioengine=nbd --uri="$uri" $fargs \
			--iodepth="$qd" --size=$size --time_based --runtime="$runtime" --ramp_time=2 \
			--output-format=json | sed -n '/^{/,$p' |
			jq -r '.jobs[0] | [(.read.iops + .write.iops), (.read.bw_bytes + .write.bw_bytes),
			(if .read.iops > 0 then .read.lat_ns.mean else .write.lat_ns.mean end) / 1000]
			| map(tostring) | join(" ")')
	done
	t0=$(date +%s%N)
	nbdcopy "$uri" null:
	ms=$((($(date +%s%N) - t0) / 1000000))
	emit "$r" "nbdcopy" "nbdcopy to null:" 0 $((256 * 1048576 * 1000 / (ms ? ms : 1))) 0
	kill "$(cat /tmp/nbdkit.pid)"
	vv_wait_gone "$bdf"
}
# /dev/ublkbN from `blk export --ublk`: only where the kernel has ublk (not 6.1).
ublk_round() {
	local r=$1 w name fargs largs qd dev
	[ -e /dev/ublk-control ] || modprobe ublk_drv 2>/dev/null || true
	[ -e /dev/ublk-control ] || return 0
	dev=$("$vv" blk export --ublk --json --pidfile /tmp/ublk.pid "$bdf" | jq -r .device)
	for w in "${workloads[@]}"; do
		IFS='|' read -r name fargs largs qd <<<"$w"
		emit "$r" "$name" "ublk libaio" $(fio_run "$dev" "$libaio" "$qd" "$fargs")
		emit "$r" "$name" "ublk io_uring" $(fio_run "$dev" "$(uring_batch "$qd")" "$qd" "$fargs")
	done
	kill "$(cat /tmp/ublk.pid)"
	vv_wait "[ ! -e $dev ] && ! pgrep -f 'blk export.*$bdf' >/dev/null" 300 ||
		vv_die "blk export --ublk did not stop"
}
# FUSE copies every byte once inside the guest, and under TCG a guest copy is emulated:
# copies of 1 MiB from tmpfs (page cache) measure what bounds a FUSE export here.
copy_round() {
	local r=$1 jobs
	head -c $((256 << 20)) /dev/zero >/tmp/copysrc
	for jobs in 1 2; do
		emit "$r" "copy 1M" "guest copy, $jobs thread(s)" $(fio --name=copy \
			--filename=/tmp/copysrc --rw=read --bs=1M --size=256M --ioengine=psync \
			--numjobs=$jobs --group_reporting --time_based --runtime="$runtime" \
			--output-format=json | jq -r '.jobs[0] | [.read.iops, .read.bw_bytes,
			.read.lat_ns.mean / 1000] | map(tostring) | join(" ")')
	done
	rm -f /tmp/copysrc
}

# Each round runs every group; the order rotates so that no contender always goes first.
# VV_BENCH_GROUPS picks some of them, comma-separated (a kernel argument carries it):
# kernel_round,fuse_round_1,ublk_round compares ublk with the kernel and the FUSE file.
groups=(kernel_round "fuse_round_1" lib_round nbd_round "fuse_round_2" copy_round ublk_round)
if [ -n "${VV_BENCH_GROUPS:-}" ]; then
	IFS=, read -ra groups <<<"$VV_BENCH_GROUPS"
fi
fuse_round_1() { fuse_round "$1" 1; }
fuse_round_2() { fuse_round "$1" 2; }
for r in $(seq 1 "$rounds"); do
	for i in $(seq 0 $((${#groups[@]} - 1))); do
		g=${groups[$(((i + r - 1) % ${#groups[@]}))]}
		echo "round $r: $g"
		"$g" "$r"
	done
done
"$vv" detach "$bdf" >/dev/null
echo "VV-BENCH-DONE runtime=$runtime rounds=$rounds"
