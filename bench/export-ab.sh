#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest: two builds, A (the build named in $VV_BUILD/ab-base)
# and B ($VV_BUILD), on the same disks in the same guest run, alternating over rounds: the
# FUSE export with fio, and the library alone with `blk bench`. Prints each round's numbers
# and, per workload, the median and range of B/A.
# Run with `scripts/bench ab REV`; results are recorded in docs/performance.md.
# VV_BENCH_QUEUES: the mount's workers (-o queues=N, default 1); VV_BENCH_QUEUES_A: A's, when
# they differ (with REV the checked-out commit: one build, one worker against two, say).
# VV_BENCH_ROWS: words, comma
# separated, "_" for a space; only the workloads whose names hold one of them run (e.g. "QD1"
# or "lib,QD1", "4K_randread_QD32": more rounds of those rows in the same time).
#vm: timeout 3000
#vm: topology rootport
#vm: blk va serial=vvab0 size=512M extra=num-queues=2
#vm: blk vb serial=vvab1 size=512M extra=num-queues=2
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

runtime=${VV_BENCH_SECONDS:-10}
rounds=${VV_BENCH_ROUNDS:-3}
queues=${VV_BENCH_QUEUES:-1}
queues_a=${VV_BENCH_QUEUES_A:-$queues}
build_a=$(cat "$VV_BUILD/ab-base")
build_b=$VV_BUILD
bdf0=$(vv_bdf_by_serial vvab0)
bdf1=$(vv_bdf_by_serial vvab1)
"$build_b/cli/virtio-vfio" attach "$bdf0" "$bdf1" >/dev/null
echo "mounts: A with queues=$queues_a, B with queues=$queues"

mount_with() { # build device...
	local build=$1 q=$queues
	shift
	[ "$build" != "$build_a" ] || q=$queues_a
	mkdir -p /tmp/m
	"$build/cli/virtio-vfio" blk mount -o queues="$q" "$@" /tmp/m
	mountpoint -q /tmp/m || vv_die "blk mount $* did not mount /tmp/m"
}
unmount() {
	umount /tmp/m
	for _ in $(seq 100); do pgrep -f "blk mount" >/dev/null || break; sleep 0.1; done
}
# By BDF: build A (older) names the files so; a newer one takes the BDF as a hidden alias.
f0="/tmp/m/${bdf0//:/\\:}" # fio splits file names at ":"
f1="/tmp/m/${bdf1//:/\\:}"

# Same data everywhere: reads of holes would measure QEMU, not the export.
mount_with "$build_b" "$bdf0" "$bdf1"
for t in "$f0" "$f1"; do
	fio --name=fill --filename="$t" --rw=write --bs=1M --size=256M --direct=1 \
		--ioengine=libaio --iodepth=8 --output=/dev/null
done
unmount

# name | fio arguments (--filename given), or "lib" and blk bench's | metric. The "lib" rows
# run unmounted; of the FUSE rows, the last three have both disks in one mount, the others
# the first disk alone.
workloads=(
	"lib 4K randread QD32 poll|lib --rw randread --bs 4k --qd 32|iops"
	"lib 1M read QD4 poll|lib --rw read --bs 1m --qd 4|bw"
	"lib 4K randread QD1 poll|lib --rw randread --bs 4k --qd 1|iops"
	"4K randread QD32|--filename=$f0 --rw=randread --bs=4k --iodepth=32|iops"
	"4K randwrite QD32|--filename=$f0 --rw=randwrite --bs=4k --iodepth=32|iops"
	"4K randread QD1|--filename=$f0 --rw=randread --bs=4k --iodepth=1|iops"
	"4K randread QD1 psync|--filename=$f0 --rw=randread --bs=4k --ioengine=psync|iops"
	"1M seq read QD4|--filename=$f0 --rw=read --bs=1M --iodepth=4|bw"
	"128K seq read QD4|--filename=$f0 --rw=read --bs=128k --iodepth=4|bw"
	"256K seq read QD4|--filename=$f0 --rw=read --bs=256k --iodepth=4|bw"
	"1M seq write QD4|--filename=$f0 --rw=write --bs=1M --iodepth=4|bw"
	"2 disks in one mount 4K randread QD32|--filename=$f0:$f1 --rw=randread --bs=4k --iodepth=32 --file_service_type=random|iops"
	"2 disks in one mount 4K randwrite QD32|--filename=$f0:$f1 --rw=randwrite --bs=4k --iodepth=32 --file_service_type=random|iops"
	"2 disks in one mount 1M seq write QD4|--filename=$f0:$f1 --rw=write --bs=1M --iodepth=4 --file_service_type=random|bw"
)
if [ -n "${VV_BENCH_ROWS:-}" ]; then
	keep=()
	for w in "${workloads[@]}"; do
		IFS=, read -ra words <<<"$VV_BENCH_ROWS"
		for word in "${words[@]}"; do
			[[ ${w%%|*} == *"${word//_/ }"* ]] && { keep+=("$w"); break; }
		done
	done
	[ ${#keep[@]} -gt 0 ] || vv_die "VV_BENCH_ROWS=$VV_BENCH_ROWS matches no workload"
	workloads=("${keep[@]}")
fi
# The rows from here on have both disks in one mount.
first2=${#workloads[@]}
for i in "${!workloads[@]}"; do
	[[ ${workloads[$i]} == "2 disks"* ]] && { first2=$i; break; }
done
run() { # build args metric -> number
	local out
	if [ "${2%% *}" = lib ]; then
		"$1/cli/virtio-vfio" blk bench --json --time "$runtime" --mode poll --size 256M \
			${2#lib } "$bdf0" >/tmp/lib.json 2>/tmp/lib.err &
		# How much of its memory is in transparent huge pages (the DMA buffers can be).
		sleep 1
		echo "thp $1: AnonHugePages $(awk '/^AnonHugePages/ { s += $2 } END { print s }' \
			"/proc/$!/smaps" 2>/dev/null) kB" >&2
		wait $! || { cat /tmp/lib.err >&2; return 1; }
		jq "if \"$3\" == \"iops\" then .iops else .bytes_per_s / 1048576 end | floor" \
			/tmp/lib.json
		return
	fi
	# libaio unless the row names another engine (fio takes an option's last value).
	out=$(fio --name=b --ioengine=libaio $2 --size=256M --direct=1 --time_based \
		--runtime="$runtime" --ramp_time=2 --output-format=json)
	if [ "$3" = iops ]; then
		jq '[.jobs[0].read.iops, .jobs[0].write.iops] | add | floor' <<<"$out"
	else
		jq '[.jobs[0].read.bw, .jobs[0].write.bw] | add / 1024 | floor' <<<"$out" # MiB/s
	fi
}

declare -A res
for r in $(seq "$rounds"); do
	# Alternate which build goes first, so neither always meets a warmer disk.
	order="a b"
	[ $((r % 2)) = 0 ] && order="b a"
	for who in $order; do
		build=$build_a
		[ "$who" = b ] && build=$build_b
		mounted=
		for i in "${!workloads[@]}"; do
			IFS='|' read -r name args metric <<<"${workloads[$i]}"
			if [ "${args%% *}" != lib ] && [ -z "$mounted" ]; then
				mount_with "$build" "$bdf0"
				mounted=1
			fi
			[ "$i" = "$first2" ] && { unmount; mount_with "$build" "$bdf0" "$bdf1"; }
			res[$who,$i,$r]=$(run "$build" "$args" "$metric")
			echo "round $r $who: $name ${res[$who,$i,$r]}"
		done
		[ -z "$mounted" ] || unmount
	done
done

printf '\n%-46s %22s %22s %s\n' workload "A (median, range)" "B (median, range)" "B/A median (range)"
for i in "${!workloads[@]}"; do
	IFS='|' read -r name args metric <<<"${workloads[$i]}"
	a=() b=() q=()
	for r in $(seq "$rounds"); do
		a+=("${res[a,$i,$r]}")
		b+=("${res[b,$i,$r]}")
		q+=("$(awk -v x="${res[b,$i,$r]}" -v y="${res[a,$i,$r]}" 'BEGIN { printf "%.3f", y ? x / y : 0 }')")
	done
	stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%g (%g-%g)", m, v[1], v[NR] }'; }
	unit=$([ "$metric" = iops ] && echo IOPS || echo MiB/s)
	printf '%-46s %22s %22s %s\n' "$name ($unit)" "$(stats "${a[@]}")" "$(stats "${b[@]}")" \
		"$(stats "${q[@]}")"
done
echo
"$build_b/cli/virtio-vfio" detach "$bdf0" "$bdf1" >/dev/null
