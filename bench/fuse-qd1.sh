#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest: where a FUSE file's QD1 request spends its time. One
# 4 KiB random read at a time (fio psync), in one guest run, alternating over rounds:
#   kernel psync     the kernel's driver on its own disk: what issue 15's FUSE QD1 target
#                    is held to
#   lib poll         `blk bench --mode poll --qd 1`: our device request alone
#   FUSE             our exported file (`blk mount`, one worker)
#   FUSE null        bench/fuse-null.c: a FUSE file answered from memory, no device: the
#                    round trip through the kernel's FUSE that every FUSE request pays
# and the last three again with fio and the server both on CPU 0 ("same CPU"): the cost of
# waking a thread on the other vCPU, which an idle TCG vCPU makes dear.
# Run with scripts/bench fuse-qd1; results are recorded in docs/performance.md.
#vm: timeout 3000
#vm: topology rootport
#vm: blk vk serial=vvq1-kernel size=256M extra=num-queues=2
#vm: blk vv serial=vvq1-ours size=256M extra=num-queues=2
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
runtime=${VV_BENCH_SECONDS:-10}
rounds=${VV_BENCH_ROUNDS:-3}
size=256M
kdisk=$(vv_disk_by_serial vvq1-kernel)
odisk=$(vv_disk_by_serial vvq1-ours)
bdf=$(vv_bdf_by_serial vvq1-ours)
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "cpus: $(nproc)"

cc -O2 -o /tmp/fuse-null "$VV_REPO/bench/fuse-null.c" $(pkg-config --cflags --libs fuse3) ||
	vv_die "cannot build bench/fuse-null.c"
head -c $size /dev/urandom >/tmp/fill
for t in "$kdisk" "$odisk"; do
	dd if=/tmp/fill of="$t" bs=1M oflag=direct status=none
done
rm /tmp/fill
"$vv" attach "$bdf" >/dev/null
mkdir -p /tmp/m /tmp/n

# fio TARGET [FIO-ARGS...] -> "iops lat_us"
psync() {
	local t=$1
	shift
	fio --name=b --filename="$t" --ioengine=psync --rw=randread --bs=4k --size=$size \
		--direct=1 --time_based --runtime="$runtime" --ramp_time=2 --output-format=json "$@" |
		jq -r '.jobs[0] | [.read.iops, .read.lat_ns.mean / 1000] | map(tostring) | join(" ")'
}
row() { # round who iops lat_us
	printf 'round %s %-22s %10.0f IOPS %8.1f us\n' "$@"
	res["$2,$1"]=$4
}
fuse_ours() { # round label [taskset prefix...]
	local r=$1 label=$2 f
	shift 2
	"$@" "$vv" blk mount "$bdf" /tmp/m
	f=$(find /tmp/m -maxdepth 1 -type f | head -n 1)
	f=${f//:/\\:} # fio splits file names at ":"
	if [ $# -gt 0 ]; then
		row "$r" "$label" $(psync "$f" --cpus_allowed=0)
	else
		row "$r" "$label" $(psync "$f")
	fi
	umount /tmp/m
	vv_wait_gone "$bdf"
}
fuse_null() { # round label [taskset prefix...]
	local r=$1 label=$2 pid
	shift 2
	"$@" /tmp/fuse-null --size $((256 << 20)) /tmp/n &
	pid=$!
	vv_wait "mountpoint -q /tmp/n" 100 || vv_die "fuse-null did not mount"
	if [ $# -gt 0 ]; then
		row "$r" "$label" $(psync /tmp/n/null --cpus_allowed=0)
	else
		row "$r" "$label" $(psync /tmp/n/null)
	fi
	umount /tmp/n
	wait "$pid"
}

declare -A res
who=("kernel psync" "kernel psync same CPU" "lib poll" "FUSE" "FUSE same CPU" "FUSE null"
	"FUSE null same CPU")
for r in $(seq "$rounds"); do
	steps=(kernel lib fuse null)
	# Rotate the order, so no contender always goes first.
	for ((k = 0; k < r - 1; k++)); do steps=("${steps[@]:1}" "${steps[0]}"); done
	for s in "${steps[@]}"; do
		case $s in
		kernel)
			row "$r" "kernel psync" $(psync "$kdisk")
			row "$r" "kernel psync same CPU" $(psync "$kdisk" --cpus_allowed=0)
			;;
		lib)
			row "$r" "lib poll" $("$vv" blk bench --json --time "$runtime" --mode poll \
				--rw randread --bs 4k --qd 1 --size $size "$bdf" 2>/tmp/lib.err |
				jq -r '[.iops, .lat_us.avg] | map(tostring) | join(" ")')
			;;
		fuse)
			fuse_ours "$r" "FUSE"
			fuse_ours "$r" "FUSE same CPU" taskset -c 0
			;;
		null)
			fuse_null "$r" "FUSE null"
			fuse_null "$r" "FUSE null same CPU" taskset -c 0
			;;
		esac
	done
done

# Mean latency per contender: median and range over the rounds, and the median of the
# per-round IOPS ratio to the kernel's psync (at QD1, its latency over ours).
printf '\n%-24s %24s %26s\n' "QD1 4K randread" "mean latency us (range)" "IOPS x kernel psync"
for w in "${who[@]}"; do
	l=() q=()
	for r in $(seq "$rounds"); do
		l+=("${res[$w,$r]}")
		q+=("$(awk -v x="${res[$w,$r]}" -v y="${res["kernel psync,$r"]}" \
			'BEGIN { printf "%.3f", y / x }')")
	done
	stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }'; }
	printf '%-24s %24s %26s\n' "$w" "$(stats "${l[@]}")" "$(stats "${q[@]}")"
done
echo
"$vv" detach "$bdf" >/dev/null
