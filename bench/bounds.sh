#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest: what bounds issue 15's unmet targets, measured in one
# guest run, the contenders alternating over rounds. Each driver runs on a disk backed by a
# file and on one backed by QEMU's null-co (no host I/O): the difference is the host's I/O,
# which every driver pays alike; what is left on the null disk is the driver, QEMU's
# virtqueue and, for a FUSE file, the kernel's FUSE.
#   qd1   A polled 4 KiB random read, one at a time: the kernel's polled queue (io_uring,
#         --hipri) and the library (`blk bench --mode poll`); both also timed from their IOPS,
#         the kernel's with fio reading no clock (--gtod_reduce=1).
#   qd32  4 KiB random reads, 32 in flight: the kernel (io_uring, batched), the library
#         (poll), our FUSE file (fio io_uring, batched), and a FUSE file answered from memory
#         by libfuse's own loop (bench/fuse-null.c): one FUSE server thread's ceiling.
#   1m    1 MiB sequential reads, 4 in flight: the kernel (libaio), our FUSE file, the FUSE
#         file answered from memory, with one writev() per reply and with the reply spliced
#         (fuse-null --splice), and the guest's copy rate with one thread (fio reading a
#         tmpfs file), which issue 15's 1 MiB target is held to.
# VV_BENCH_ROWS=qd1,qd32,1m picks parts (default all). Run with scripts/bench bounds;
# results are recorded in docs/performance.md.
#vm: timeout 3600
#vm: topology rootport
#vm: blk vk serial=vvb-kernel size=256M extra=num-queues=2
#vm: blk vv serial=vvb-ours size=256M extra=num-queues=2
#vm: blk nk serial=vvb-kernel-null size=256M backend=null extra=num-queues=2
#vm: blk nv serial=vvb-ours-null size=256M backend=null extra=num-queues=2
#vm: append virtio_blk.poll_queues=1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"
. "$VV_REPO/bench/lib/rounds.sh"

vv=$VV_BUILD/cli/virtio-vfio
runtime=${VV_BENCH_SECONDS:-10}
rounds=${VV_BENCH_ROUNDS:-3}
parts=${VV_BENCH_ROWS:-qd1,qd32,1m}
size=256M
kdisk=$(vv_disk_by_serial vvb-kernel)
kdisk0=$(vv_disk_by_serial vvb-kernel-null)
odisk=$(vv_disk_by_serial vvb-ours)
bdf=$(vv_bdf_by_serial vvb-ours)
bdf0=$(vv_bdf_by_serial vvb-ours-null)
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "cpus: $(nproc)"
[ "$(cat /sys/module/virtio_blk/parameters/poll_queues)" = 1 ] ||
	vv_die "virtio_blk.poll_queues did not reach the module"

cc -O2 -o /tmp/fuse-null "$VV_REPO/bench/fuse-null.c" $(pkg-config --cflags --libs fuse3) ||
	vv_die "cannot build bench/fuse-null.c"
# Identical data on both file-backed disks, every byte written: reads of holes would
# measure QEMU's sparse file, not a driver.
head -c $size /dev/urandom >/tmp/fill
for t in "$kdisk" "$odisk"; do
	dd if=/tmp/fill of="$t" bs=1M oflag=direct status=none
done
rm /tmp/fill
"$vv" attach "$bdf" >/dev/null
"$vv" attach "$bdf0" >/dev/null
mkdir -p /tmp/m /tmp/n

# fio TARGET FIO-ARGS... -> "iops bytes_per_s lat_us"
fio_run() {
	local t=$1
	shift
	fio --name=b --filename="$t" --size=$size --direct=1 --time_based --runtime="$runtime" \
		--ramp_time=2 --output-format=json "$@" |
		jq -r '.jobs[0] | [.read.iops, .read.bw_bytes, .read.lat_ns.mean / 1000]
			| map(tostring) | join(" ")'
}
lat() { awk '{ print $3 }'; }
per_io() { awk '{ printf "%.2f", 1e6 / $1 }'; } # mean time per request at QD1, from IOPS
iops() { awk '{ print $1 }'; }
mbs() { awk '{ printf "%.1f", $2 / 1e6 }'; }
polled=(--ioengine=io_uring --iodepth=1 --iodepth_batch_submit=1 --iodepth_batch_complete_max=1
	--fixedbufs --registerfiles --hipri --rw=randread --bs=4k)
deep=(--ioengine=io_uring --iodepth=32 --iodepth_batch_submit=32 --iodepth_batch_complete_max=32
	--fixedbufs --registerfiles --rw=randread --bs=4k)
big=(--ioengine=libaio --iodepth=4 --rw=read --bs=1M)
lib() { # BDF QD FIELD: blk bench --mode poll, 4 KiB random reads -> IOPS or mean latency
	"$vv" blk bench --json --time "$runtime" --mode poll --rw randread --bs 4k --qd "$2" \
		--size $size "$1" 2>/tmp/lib.err | jq -r "$3"
}
fuse_ours() { # BDF FILTER FIO-ARGS...: fio on our FUSE file (one worker)
	local bdf=$1 filter=$2 f
	shift 2
	"$vv" blk mount "$bdf" /tmp/m
	f=$(find /tmp/m -maxdepth 1 -type f | head -n 1)
	fio_run "${f//:/\\:}" "$@" | $filter # fio splits file names at ":"
	umount /tmp/m
	vv_wait_gone "$bdf"
}
fuse_null() { # SERVER-ARGS FILTER FIO-ARGS...: fio on bench/fuse-null.c's file
	local sargs=$1 filter=$2 pid
	shift 2
	# shellcheck disable=SC2086 # no argument, or one
	/tmp/fuse-null --size $((256 << 20)) $sargs /tmp/n &
	pid=$!
	vv_wait "mountpoint -q /tmp/n" 100 || vv_die "fuse-null did not mount"
	fio_run /tmp/n/null "$@" | $filter
	umount /tmp/n
	wait "$pid"
}
copy_1() { # -> MB/s: one thread's copies of 1 MiB from the page cache
	head -c $((256 << 20)) /dev/zero >/tmp/copysrc
	fio --name=copy --filename=/tmp/copysrc --rw=read --bs=1M --size=256M --ioengine=psync \
		--time_based --runtime="$runtime" --output-format=json |
		jq -r '.jobs[0].read.bw_bytes / 1e6 * 10 | round / 10'
	rm -f /tmp/copysrc
}

steps=()
[[ ,$parts, != *,qd1,* ]] || steps+=(kpoll kpollg kpoll0 lib1 lib10)
[[ ,$parts, != *,qd32,* ]] || steps+=(kdeep kdeep0 lib32 lib320 fuse32 fuse320 null32)
[[ ,$parts, != *,1m,* ]] || steps+=(kbig fuse fuse0 null nulls copy)
for r in $(seq "$rounds"); do
	s=("${steps[@]}")
	# Rotate the order, so no contender always goes first.
	for ((k = 0; k < r - 1; k++)); do s=("${s[@]:1}" "${s[0]}"); done
	for step in "${s[@]}"; do
		case $step in
		kpoll) row "$r" "kernel polled" "$(fio_run "$kdisk" "${polled[@]}" | lat)" us ;;
		# fio reads the clock several times a request, each read an emulated HPET access in
		# this guest (see "clocksource" above): the kernel with no clock reads at all
		# (--gtod_reduce=1), timed from its IOPS, as "lib poll, 1/IOPS" is.
		kpollg) row "$r" "kernel polled, gtod_reduce" \
			"$(fio_run "$kdisk" "${polled[@]}" --gtod_reduce=1 | per_io)" us ;;
		kpoll0) row "$r" "kernel polled, null disk" "$(fio_run "$kdisk0" "${polled[@]}" | lat)" us ;;
		lib1)
			read -r v i < <(lib "$bdf" 1 '"\(.lat_us.avg) \(.iops)"')
			row "$r" "lib poll" "$v" us
			row "$r" "lib poll, 1/IOPS" "$(echo "$i" | per_io)" us
			;;
		lib10) row "$r" "lib poll, null disk" "$(lib "$bdf0" 1 .lat_us.avg)" us ;;
		kdeep) row "$r" "kernel io_uring" "$(fio_run "$kdisk" "${deep[@]}" | iops)" IOPS ;;
		kdeep0) row "$r" "kernel io_uring, null disk" "$(fio_run "$kdisk0" "${deep[@]}" | iops)" IOPS ;;
		lib32) row "$r" "lib poll QD32" "$(lib "$bdf" 32 .iops)" IOPS ;;
		lib320) row "$r" "lib poll QD32, null disk" "$(lib "$bdf0" 32 .iops)" IOPS ;;
		fuse32) row "$r" "FUSE QD32" "$(fuse_ours "$bdf" iops "${deep[@]}")" IOPS ;;
		fuse320) row "$r" "FUSE QD32, null disk" "$(fuse_ours "$bdf0" iops "${deep[@]}")" IOPS ;;
		null32) row "$r" "FUSE null QD32" "$(fuse_null "" iops "${deep[@]}")" IOPS ;;
		kbig) row "$r" "kernel libaio" "$(fio_run "$kdisk" "${big[@]}" | mbs)" MB/s ;;
		fuse) row "$r" "FUSE" "$(fuse_ours "$bdf" mbs "${big[@]}")" MB/s ;;
		fuse0) row "$r" "FUSE, null disk" "$(fuse_ours "$bdf0" mbs "${big[@]}")" MB/s ;;
		null) row "$r" "FUSE null" "$(fuse_null "" mbs "${big[@]}")" MB/s ;;
		nulls) row "$r" "FUSE null, splice" "$(fuse_null --splice mbs "${big[@]}")" MB/s ;;
		copy) row "$r" "copy, 1 thread" "$(copy_1)" MB/s ;;
		esac
	done
done

if [[ ,$parts, == *,qd1,* ]]; then
	table "QD1 4K polled, latency us" "kernel polled" "kernel polled" "lib poll" \
		"kernel polled, gtod_reduce" "lib poll, 1/IOPS" \
		"kernel polled, null disk" "lib poll, null disk"
	table "QD1 on the null disk" "kernel polled, null disk" "lib poll, null disk"
fi
if [[ ,$parts, == *,qd32,* ]]; then
	table "QD32 4K randread, IOPS" "kernel io_uring" "kernel io_uring" "lib poll QD32" \
		"FUSE QD32" "kernel io_uring, null disk" "lib poll QD32, null disk" \
		"FUSE QD32, null disk" "FUSE null QD32"
fi
if [[ ,$parts, == *,1m,* ]]; then
	table "1M read QD4, MB/s" "copy, 1 thread" "copy, 1 thread" "kernel libaio" "FUSE" \
		"FUSE, null disk" "FUSE null" "FUSE null, splice"
fi
echo
"$vv" detach "$bdf" >/dev/null
"$vv" detach "$bdf0" >/dev/null
