#!/bin/bash
# SPDX-License-Identifier: MIT
# `blk bench` on real devices: each completion mode (irq, poll, hybrid) and workload completes
# I/O and reports it in text and JSON; two queues run two threads; polling a device without
# MSI-X works; a read-only disk refuses write workloads. Correctness, not speed: the speed
# comparison is bench/blk.sh (scripts/bench).
#vm: timeout 360
#vm: topology rootport
#vm: blk vb serial=vvbench0 size=64M extra=num-queues=2
#vm: blk vi serial=vvbench-intx size=16M extra=vectors=0,num-queues=1
#vm: blk vr serial=vvbench-ro size=16M readonly
#vm: blk vp serial=vvbench-packed size=16M extra=packed=on
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
bdf=$(vv_bdf_by_serial vvbench0)
"$vv" attach "$bdf" >/dev/null

for mode in irq poll hybrid; do
	for rw in randread randwrite read write randrw; do
		out=$("$vv" blk bench --json --time 1 --mode $mode --rw $rw --qd 8 --allow-write "$bdf")
		ios=$(jq -r .ios <<<"$out")
		[ "$ios" -gt 0 ] || vv_die "$mode $rw: no I/O: $out"
		[ "$(jq -r .mode <<<"$out")" = $mode ] || vv_die "mode not reported: $out"
		# On a clock read by a system call (this guest's HPET) one request in 64 is timed.
		jq -e '.lat_us.p50 > 0 and .lat_us["p99.9"] >= .lat_us.p50 and
			(.lat_us.timed_every == 1 or .lat_us.timed_every == 64)' <<<"$out" >/dev/null ||
			vv_die "$mode $rw: implausible latencies: $out"
	done
	echo "ok: $mode: all five workloads ($(jq -r '.iops | floor' <<<"$out") IOPS randrw, one request in $(jq -r .lat_us.timed_every <<<"$out") timed)"
done

# SIGTERM and SIGINT end a run early, cleanly: exit 0 and a report of what ran.
for sig in TERM INT; do
	"$vv" blk bench --json --time 60 --qd 8 "$bdf" >/tmp/bench.json &
	pid=$!
	sleep 3
	kill -s $sig $pid
	rc=0
	wait $pid || rc=$?
	vv_assert_eq "$rc" 0 "blk bench: exit status after SIG$sig"
	jq -e '.ios > 0 and .seconds < 30' /tmp/bench.json >/dev/null ||
		vv_die "SIG$sig: no report: $(cat /tmp/bench.json)"
done
echo "ok: SIGTERM and SIGINT stop blk bench with a report"
out=$("$vv" blk bench --time 1 --queues 2 --qd 4 --bs 64k --mode poll "$bdf")
echo "$out"
[[ $out == *"queues=2"*"IOPS"*"p99.9"* ]] || vv_die "text report: $out"
out=$("$vv" blk bench --time 1 --queues 3 "$bdf" 2>&1) && vv_die "3 queues of 2 accepted: $out"
[[ $out == *"has 2 queue(s), 3 asked"* ]] || vv_die "too many queues: $out"

# A write workload destroys data: refused without --allow-write, before the device is opened.
for rw in randwrite write randrw; do
	rc=0
	out=$("$vv" blk bench --time 1 --rw $rw "$bdf" 2>&1) || rc=$?
	vv_assert_eq "$rc" 2 "blk bench --rw $rw without --allow-write: exit status"
	[[ $out == *"overwrites the data in the range; add --allow-write"* ]] || vv_die "$rw: $out"
done
echo "ok: write workloads need --allow-write"

# --offset/--size: I/O stays in the range. Mark the disk outside it, write inside it, and the
# marks are intact; --verify checks every block the run wrote, on both queues, in every mode.
"$vv" detach "$bdf" >/dev/null
disk=/dev/$(basename "$(dirname "$(grep -lx vvbench0 /sys/block/vd*/serial)")")
dd if=/dev/urandom of=/tmp/marks bs=1M count=64 status=none
dd if=/tmp/marks of="$disk" bs=1M oflag=direct status=none
"$vv" attach "$bdf" >/dev/null
for mode in irq poll hybrid; do
	out=$("$vv" blk bench --json --time 2 --mode $mode --rw randrw --rwmixread 30 --queues 2 \
		--qd 16 --bs 8k --offset 16m --size 8m --allow-write --verify "$bdf")
	jq -e '.offset == 16777216 and .size == 8388608 and .rwmixread == 30 and
		.verified_blocks > 0' <<<"$out" >/dev/null || vv_die "$mode range/verify: $out"
done
out=$("$vv" blk bench --json --time 2 --rw write --qd 4 --bs 64k --offset 40m --size 4m \
	--allow-write --verify "$bdf")
[ "$(jq -r .verified_blocks <<<"$out")" = 64 ] || vv_die "sequential write over 4m: $out"
echo "ok: --offset/--size/--rwmixread/--verify ($(jq -r .verified_blocks <<<"$out") blocks checked)"
out=$("$vv" blk bench --time 1 --offset 60m --size 8m "$bdf" 2>&1) && vv_die "range past the end: $out"
[[ $out == *"ends past the disk"* ]] || vv_die "range past the end: $out"
out=$("$vv" blk bench --time 1 --offset 1000 "$bdf" 2>&1) && vv_die "unaligned offset: $out"
[[ $out == *"multiples of 512"* ]] || vv_die "unaligned offset: $out"
out=$("$vv" blk bench --time 1 --verify "$bdf" 2>&1) && vv_die "--verify on reads: $out"
[[ $out == *"use a write workload"* ]] || vv_die "--verify on reads: $out"
"$vv" detach "$bdf" >/dev/null
disk=/dev/$(basename "$(dirname "$(grep -lx vvbench0 /sys/block/vd*/serial)")")
cmp <(head -c 16M /tmp/marks) <(head -c 16M "$disk") || vv_die "blk bench wrote below --offset"
cmp <(tail -c +$((24 * 1048576 + 1)) /tmp/marks | head -c $((16 * 1048576))) \
	<(tail -c +$((24 * 1048576 + 1)) "$disk" | head -c $((16 * 1048576))) ||
	vv_die "blk bench wrote past --offset + --size"
cmp <(tail -c +$((44 * 1048576 + 1)) /tmp/marks) <(tail -c +$((44 * 1048576 + 1)) "$disk") ||
	vv_die "blk bench wrote past the end of the sequential range"
echo "ok: nothing written outside the ranges"
"$vv" attach "$bdf" >/dev/null
"$vv" detach "$bdf" >/dev/null

bdf=$(vv_bdf_by_serial vvbench-intx)
"$vv" attach "$bdf" >/dev/null
out=$("$vv" blk bench --json --time 1 --mode irq --qd 4 "$bdf")
[ "$(jq -r .ios <<<"$out")" -gt 0 ] || vv_die "no MSI-X: $out"
echo "ok: a device without MSI-X is polled"
"$vv" detach "$bdf" >/dev/null

bdf=$(vv_bdf_by_serial vvbench-packed)
"$vv" attach "$bdf" >/dev/null
for mode in irq poll hybrid; do
	out=$("$vv" blk bench --json --time 1 --mode $mode --rw randrw --qd 16 --allow-write --verify "$bdf")
	[ "$(jq -r .ios <<<"$out")" -gt 0 ] || vv_die "packed $mode: $out"
done
echo "ok: a packed ring in every mode"
"$vv" detach "$bdf" >/dev/null

bdf=$(vv_bdf_by_serial vvbench-ro)
"$vv" attach "$bdf" >/dev/null
out=$("$vv" blk bench --time 1 --rw randwrite --allow-write "$bdf" 2>&1) && vv_die "wrote a read-only disk"
[[ $out == *"read-only device"* ]] || vv_die "write workload on a read-only disk: $out"
"$vv" blk bench --time 1 --rw randread "$bdf" >/dev/null
"$vv" detach "$bdf" >/dev/null
echo "bench: all checks passed"
