#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest by `scripts/bench net`: three ways this guest can send
# and receive raw frames on the same virtio-net NIC (one NIC of a pair on an isolated QEMU
# hub), in one guest run, alternating over rounds:
#   DPDK:   dpdk-testpmd (Debian's DPDK 22.11, its virtio PMD over vfio-pci, one queue,
#           hugepages) in txonly and rxonly forwarding modes
#   kernel: the NIC on the kernel's virtio-net, driven by AF_PACKET with memory-mapped rings
#           and PACKET_QDISC_BYPASS (tests/vm/pktmmap.c), the kernel's fastest raw path
#   ours:   `virtio-vfio net bench` (the library's frame API alone) in the same modes
#   ours at A: the same with the build of another revision (`scripts/bench net REV`), for an
#           A/B of a change in the same run
# The partner NIC is attached and driven on the other vCPU: for rxonly by `net bench
# --mode txonly` to our MAC, the generator (the fastest sender this guest has: the kernel's
# partner sent a few thousand frames/s), paced by the receiver (a QEMU hub delivers only
# when the receiving NIC has buffers); otherwise by `net serve`, idle, its receive ring
# posted and its filter on, so that QEMU drops our txonly frames (to 02:00:00:00:00:01, an
# address no one has) without backpressure: an idle NIC with no buffers would stall ours. Every figure is counted on the contender's
# side as testpmd counts: frames the transmit path took, frames the receive path returned;
# bytes are frame bytes without FCS.
# Each measurement is one "VV-BENCH {json}" line; bench/report.py gives medians, ranges and
# ratios to DPDK's figure of the same round. Results: docs/performance.md.
#vm: timeout 5400
#vm: topology rootport
#vm: cpu max
#vm: netpair vnbench vkbench mac0=52:54:00:00:0b:a0 mac1=52:54:00:00:0b:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
pkt=$VV_BUILD/tests/vv-pktmmap
for t in "$vv" "$pkt"; do [ -x "$t" ] || vv_die "$t not built"; done
runtime=${VV_BENCH_SECONDS:-10}
rounds=${VV_BENCH_ROUNDS:-3}
mac=52:54:00:00:0b:a0
pmac=52:54:00:00:0b:a1
sink=02:00:00:00:00:01
sizes=(64 1500)

if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
bdf=$(vv_bdf_by_mac $mac)
pbdf=$(vv_bdf_by_mac $pmac)
# The contender's interrupts (when it is the kernel) on CPU 1 with it; the partner polls on 0.
irqs_to() { # PCI address, CPU mask
	local i
	for i in /sys/bus/pci/devices/$1/msi_irqs/*; do
		[ -e "$i" ] && echo "$2" >"/proc/irq/$(basename "$i")/smp_affinity" 2>/dev/null || true
	done
}
"$vv" attach "$pbdf" >/dev/null
# The partner at rest: filtering, no CPU used.
partner_idle() {
	"$vv" net serve "$pbdf" --ip 198.18.0.2/24 --poll-us 0 --pidfile /tmp/serve.pid \
		>/tmp/serve.out 2>&1 &
	serve=$!
	vv_wait "grep -q serving /tmp/serve.out" 600 || { cat /tmp/serve.out; vv_die "net serve on the partner"; }
}
partner_stop() {
	kill "$(cat /tmp/serve.pid)"
	wait "$serve" || true
}
partner_idle

# DPDK: 2 MiB hugepages (its IOVA-as-PA mode needs them: QEMU's intel-iommu has 39 address
# bits, fewer than a virtual address, so DPDK cannot use virtual addresses as IOVAs).
have_dpdk=1
if ! command -v dpdk-testpmd >/dev/null; then
	echo "no dpdk-testpmd (apt-get install dpdk-dev librte-net-virtio23): DPDK skipped"
	have_dpdk=0
else
	grep -qw sse4_2 /proc/cpuinfo || vv_die "no SSE4.2 in the guest CPU: DPDK needs '#vm: cpu max'"
	echo 256 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	mkdir -p /tmp/huge
	mount -t hugetlbfs nodev /tmp/huge
	echo "hugepages: $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) x 2 MiB"
fi

# share: what bounds the rate, where the contender tells: for txonly the share of frames
# offered to the transmit burst that the ring had no room for (near 1: the device drains
# slower than the driver fills), for rxonly the share of receive bursts that returned
# nothing (near 1: the supply is slower than the receiver).
emit() { # round workload who pps bytes_per_s [lat_us [share]]
	printf 'VV-BENCH {"round":%s,"workload":"%s","who":"%s","pps":%s,"bytes_per_s":%s,"lat_us":%s,"share":%s}\n' \
		"$1" "$2" "$3" "$4" "$5" "${6:-0}" "${7:-null}"
}

# The NIC where each contender needs it: on the kernel's driver and up, or on vfio-pci.
on_kernel() {
	local ifc
	if [ -e "/sys/bus/pci/drivers/vfio-pci/$bdf" ]; then
		"$vv" detach "$bdf" >/dev/null
		vv_wait "grep -qlx $mac /sys/class/net/*/address" 300 || vv_die "the NIC did not come back"
	fi
	ifc=$(if_of $mac)
	irqs_to "$bdf" 2
	ip link set "$ifc" up
	sleep 2 # the link, before the first frame
	echo "$ifc"
}
on_vfio() {
	[ -e "/sys/bus/pci/drivers/vfio-pci/$bdf" ] && return
	ip link set "$(if_of $mac)" down
	"$vv" attach "$bdf" >/dev/null
}

# The partner sends to us for $1 seconds, frames of $2 bytes; its own count on the console.
gen_start() { # $1 is ignored: the generator runs until gen_stop
	partner_stop
	taskset -c 0 "$vv" net bench --json --mode txonly --size "$2" --time 3600 --dst $mac \
		"$pbdf" >/tmp/gen.out 2>/dev/null &
	gen=$!
	# Sending once its thread runs (opening the device takes seconds under TCG).
	vv_wait "[ \$(ls /proc/$gen/task 2>/dev/null | wc -l) -ge 2 ]" 600 ||
		vv_die "the partner's generator did not start"
	sleep 0.5
}
gen_stop() {
	kill -INT "$gen" # net bench stops and reports what ran
	wait "$gen" || true
	echo "  partner sent: $(jq -r '"\(.pps | floor) frames/s, its ring full for \(.tx_refused_share // "?") of those offered"' /tmp/gen.out)" >&2
	partner_idle
}

kernel_round() {
	local r=$1 ifc size out
	ifc=$(on_kernel)
	for size in "${sizes[@]}"; do
		out=$(taskset -c 1 "$pkt" tx "$ifc" $sink "$size" "$runtime" 2>/dev/null)
		emit "$r" "txonly ${size}B" "kernel PACKET_MMAP" \
			"$(awk '{print $8}' <<<"$out")" "$(awk '{print $4 / $6}' <<<"$out")"
		gen_start $((runtime + 3)) "$size"
		out=$(taskset -c 1 "$pkt" rx "$ifc" "$runtime" 2>/dev/null)
		gen_stop
		emit "$r" "rxonly ${size}B" "kernel PACKET_MMAP" \
			"$(awk '{print $8}' <<<"$out")" "$(awk '{print $4 / $6}' <<<"$out")"
	done
}

ours() { # cli mode size -> "pps bytes_per_s p50_us share"
	taskset -c 1 "$1" net bench --json --mode "$2" --size "$3" --time "$runtime" "${@:4}" \
		"$bdf" | jq -r '[.pps, .bytes_per_s, (.rtt_us.p50 // 0),
			(if .mode == "rxonly" then .rx_empty_share else .tx_refused_share end // "null")]
			| map(tostring) | join(" ")'
}
ours_round() { # round [cli who]
	local r=$1 cli=${2:-$vv} who=${3:-ours (net bench)} size
	on_vfio
	for size in "${sizes[@]}"; do
		emit "$r" "txonly ${size}B" "$who" $(ours "$cli" txonly "$size")
		gen_start $((runtime + 3)) "$size"
		emit "$r" "rxonly ${size}B" "$who" $(ours "$cli" rxonly "$size")
		gen_stop
	done
}
# A: the build scripts/bench made of another revision, the same rows.
build_a=$(cat "$VV_BUILD/ab-base" 2>/dev/null || true)
ours_a_round() {
	ours_round "$1" "$build_a/cli/virtio-vfio" "ours at A (net bench)"
}

# testpmd, interactive on a fifo: "start", port statistics twice $runtime apart, "stop".
# The rate is the difference of its counters over the time between the two readings, taken
# with our clock (DPDK calibrates its TSC under TCG, which need not match).
dpdk_run() { # mode size -> /tmp/tp.res: "pps bytes_per_s"
	local mode=$1 size=$2 t1 t2 rx=RX
	[ "$mode" = txonly ] && rx=TX
	rm -f /tmp/tp.in /tmp/tp.log
	mkfifo /tmp/tp.in
	dpdk-testpmd -l 0,1 -n 1 --iova-mode=pa --huge-dir /tmp/huge --file-prefix vvbench \
		-a "$bdf" --log-level=lib.eal:error -- -i --forward-mode="$mode" --txpkts="$size" \
		--burst=32 --rxq=1 --txq=1 --rxd=256 --txd=256 --eth-peer=0,$sink --record-burst-stats \
		</tmp/tp.in >/tmp/tp.log 2>&1 &
	local tp=$!
	exec 8>/tmp/tp.in
	vv_wait "grep -q 'testpmd> ' /tmp/tp.log" 3000 || { cat /tmp/tp.log >&2; vv_die "testpmd did not start"; }
	# The partner's generator only once testpmd is up: its start-up under TCG takes a while.
	[ "$mode" = txonly ] || gen_start $((runtime + 5)) "$size"
	echo "start" >&8
	sleep 2
	t1=$(date +%s%N)
	echo "show port stats 0" >&8
	sleep "$runtime"
	t2=$(date +%s%N)
	echo "show port stats 0" >&8
	sleep 1
	echo "stop" >&8
	echo "quit" >&8
	exec 8>&-
	wait $tp || { cat /tmp/tp.log >&2; vv_die "testpmd failed"; }
	[ "$mode" = txonly ] || gen_stop
	grep -E "^ +(RX|TX)-(packets|errors|nombuf)" /tmp/tp.log | tail -n 3 | sed 's/^ */  testpmd: /' >&2
	# "TX-packets: N  TX-errors: N  TX-bytes: N", once per reading ("stop" prints
	# "TX-packets: N  TX-dropped: N  TX-total: N" lines too: not those).
	grep -E "^ +$rx-packets:.*$rx-bytes:" /tmp/tp.log | tail -n 2 | awk -v dt=$((t2 - t1)) '
		{ p[NR] = $2; b[NR] = $NF }
		END { if (NR < 2) exit 1; s = dt / 1e9; printf "%.0f %.0f\n", (p[2] - p[1]) / s, (b[2] - b[1]) / s }' >/tmp/tp.res ||
		{ cat /tmp/tp.log >&2; vv_die "no port statistics from testpmd"; }
	# The share, from what "stop" prints over the whole forwarding run: frames the transmit
	# burst refused ("TX-dropped" of "TX-total": txonly drops what the ring did not take),
	# receive bursts that returned nothing ("RX-bursts : N [P% of 0 pkts ...",
	# --record-burst-stats).
	if [ "$mode" = txonly ]; then
		grep -E "^ +TX-packets:.*TX-dropped:.*TX-total:" /tmp/tp.log | tail -n 1 |
			awk '{ print ($NF > 0 ? $4 / $NF : "null") }'
	else
		grep -oE "RX-bursts : [0-9]+ \[[0-9]+% of 0 pkts" /tmp/tp.log | tail -n 1 |
			sed -E 's/.*\[([0-9]+)%.*/\1/' | awk '{ print $1 / 100 }'
	fi | awk 'NF { s = $1 } END { print s == "" ? "null" : s }' >/tmp/tp.share
}
dpdk_round() {
	local r=$1 size
	[ "$have_dpdk" = 1 ] || return 0
	on_vfio
	for size in "${sizes[@]}"; do
		dpdk_run txonly "$size"
		emit "$r" "txonly ${size}B" "DPDK testpmd" $(cat /tmp/tp.res) 0 "$(cat /tmp/tp.share)"
		dpdk_run rxonly "$size"
		emit "$r" "rxonly ${size}B" "DPDK testpmd" $(cat /tmp/tp.res) 0 "$(cat /tmp/tp.share)"
	done
}

# Each round runs every group; the order rotates so that no contender always goes first.
# VV_BENCH_GROUPS picks some of them, comma-separated.
groups=(dpdk_round kernel_round ours_round)
[ -z "$build_a" ] || groups+=(ours_a_round)
if [ -n "${VV_BENCH_GROUPS:-}" ]; then
	IFS=, read -ra groups <<<"$VV_BENCH_GROUPS"
fi
for r in $(seq 1 "$rounds"); do
	for i in $(seq 0 $((${#groups[@]} - 1))); do
		g=${groups[$(((i + r - 1) % ${#groups[@]}))]}
		echo "round $r: $g"
		"$g" "$r"
	done
done
on_kernel >/dev/null
partner_stop
"$vv" detach "$pbdf" >/dev/null
echo "VV-BENCH-DONE runtime=$runtime rounds=$rounds"
