#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark, run inside the test guest: raw frames between two NICs on one isolated QEMU hub,
# first both on the kernel's virtio-net (kernel to kernel), then one of them on our driver
# (the same NIC, attached), against the same kernel peer. Prints a table with ratios.
# Run with an optimized build without sanitizers, under the VM lock:
#   meson setup build-net-rel --buildtype=release && ninja -C build-net-rel
#   flock /tmp/vv-vm.lock tests/vm/run --build-dir build-net-rel -v bench/net-stack.sh
# Results are recorded in docs/performance.md ("virtio-net").
#vm: timeout 1500
#vm: topology rootport
#vm: netpair vbo vbk mac0=52:54:00:00:07:a0 mac1=52:54:00:00:07:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
netio=$VV_BUILD/tests/vv-netio
peer=$VV_BUILD/tests/vv-netpeer
secs=${VV_BENCH_SECONDS:-10}
omac=52:54:00:00:07:a0
kmac=52:54:00:00:07:a1
if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
bdf=$(vv_bdf_by_mac $omac)
ours_if=$(if_of $omac)
peer_if=$(if_of $kmac)
ip netns add peer
ip link set "$peer_if" netns peer
ip -n peer link set lo up
ip -n peer link set "$peer_if" up
ip -n peer addr add 198.18.0.2/24 dev "$peer_if"
ip link set "$ours_if" up
ip addr add 198.18.0.1/24 dev "$ours_if"
P() { ip netns exec peer "$@"; }
num() { sed -n "s/.*$1 \\([0-9.]*\\).*/\\1/p" | tail -n 1; }
declare -A K O

# Round trips: the peer keeps WINDOW frames in flight through a reflector on the NIC under
# test (MACs swapped in place), and counts what comes back.
roundtrip() { # SIZE REFLECTOR... -> "fps mbps"
	local size=$1 out
	shift
	"$@" >/tmp/refl.log 2>&1 &
	local pid=$!
	sleep 2
	out=$(P "$peer" gen "$peer_if" $omac "$secs" "$size" 32)
	kill -TERM $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	echo "$(num fps <<<"$out") $(num mbps <<<"$out")"
}
# One way: SENDER... blasts for $secs, the receiver counts (rate over the time frames came).
oneway() { # COUNTER... -- SENDER...
	local -a counter=() sender=()
	while [ "$1" != -- ]; do counter+=("$1"); shift; done
	shift
	sender=("$@")
	"${counter[@]}" >/tmp/count.log 2>&1 &
	local pid=$!
	sleep 2
	"${sender[@]}" >/tmp/send.log 2>&1
	wait $pid
	echo "$(num fps </tmp/count.log) $(num mbps </tmp/count.log)"
}

run_all() { # kernel|ours
	local -n R=$1
	local side=$1 refl cnt
	for size in 64 1514; do
		if [ "$side" = K ]; then
			R[rt$size]=$(roundtrip $size "$peer" reflect "$ours_if" $((secs + 4)))
			R[tx$size]=$(oneway P "$peer" count "$peer_if" $((secs + 4)) -- \
				"$peer" blast "$ours_if" $kmac "$secs" $size)
			R[rx$size]=$(oneway "$peer" count "$ours_if" $((secs + 4)) -- \
				P "$peer" blast "$peer_if" $omac "$secs" $size)
		else
			R[rt$size]=$(roundtrip $size "$netio" "$bdf" reflect $((secs + 4)) 50)
			R[rtpoll$size]=$(roundtrip $size "$netio" "$bdf" reflect $((secs + 4)) 1000000)
			R[tx$size]=$(oneway P "$peer" count "$peer_if" $((secs + 4)) -- \
				"$netio" "$bdf" blast $kmac "$secs" $size)
			R[rx$size]=$(oneway "$netio" "$bdf" count $((secs + 4)) -- \
				P "$peer" blast "$peer_if" $omac "$secs" $size)
		fi
	done
}

# Ping flood rate (ICMP echo round trips per second) through a whole stack: the kernel's,
# then lwIP on our driver with different polling windows.
pingrate() { # -> pings per second
	local n=20000 t0 t1
	t0=$(date +%s.%N)
	P ping -f -q -c $n -W 5 198.18.0.1 >/dev/null
	t1=$(date +%s.%N)
	awk -v n=$n -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

# TCP echo of 16 MiB through a whole stack (nc in the peer's namespace): MiB/s each way.
head -c $((16 << 20)) /dev/urandom >/tmp/tcp.in
tcprate() {
	local t0 t1
	t0=$(date +%s.%N)
	P nc -N -w 60 198.18.0.1 7 </tmp/tcp.in >/tmp/tcp.out
	t1=$(date +%s.%N)
	cmp -s /tmp/tcp.in /tmp/tcp.out || { echo "TCP echo differs" >&2; echo 0; return; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", 16 / (b - a) }'
}

run_all K
K[ping]=$(pingrate)
"$peer" tcpecho - 7 120 &
echo_pid=$!
sleep 1
K[tcp]=$(tcprate)
kill $echo_pid 2>/dev/null || true
wait $echo_pid 2>/dev/null || true
ip addr flush dev "$ours_if"
ip link set "$ours_if" down
"$vv" attach "$bdf" >/dev/null
run_all O
for poll in 0 50 1000; do
	"$vv" net serve "$bdf" --ip 198.18.0.1/24 --poll-us $poll >/tmp/serve.log 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q serving /tmp/serve.log && break; sleep 0.1; done
	P ip neigh flush all
	P ping -c 1 -W 5 198.18.0.1 >/dev/null
	O[ping$poll]=$(pingrate)
	O[tcp$poll]=$(tcprate)
	kill -TERM $pid
	wait $pid
done
"$vv" detach "$bdf" >/dev/null

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b ? a / b : 0 }'; }
printf '\n%-34s %14s %14s %7s\n' workload kernel virtio-vfio ratio
for size in 64 1514; do
	for w in rt tx rx; do
		case $w in
		rt) name="round trip ${size} B, window 32" ;;
		tx) name="send ${size} B (to the kernel NIC)" ;;
		rx) name="receive ${size} B (from it)" ;;
		esac
		read -r kf km <<<"${K[$w$size]}"
		read -r of om <<<"${O[$w$size]}"
		printf '%-34s %9s fps %9s fps %7s\n' "$name" "$kf" "$of" "$(ratio "$of" "$kf")"
		printf '%-34s %8s Mb/s %8s Mb/s\n' "" "$km" "$om"
	done
	read -r of om <<<"${O[rtpoll$size]}"
	read -r kf km <<<"${K[rt$size]}"
	printf '%-34s %13s %9s fps %7s\n' "round trip ${size} B, busy polling" "" "$of" \
		"$(ratio "$of" "$kf")"
done
printf '%-34s %9s /s %9s /s %7s\n' "ping -f, kernel vs lwIP poll 0" "${K[ping]}" "${O[ping0]}" \
	"$(ratio "${O[ping0]}" "${K[ping]}")"
for poll in 50 1000; do
	printf '%-34s %12s %9s /s %7s\n' "ping -f, lwIP --poll-us $poll" "" "${O[ping$poll]}" \
		"$(ratio "${O[ping$poll]}" "${K[ping]}")"
done
printf '%-34s %8s MiB/s %6s MiB/s %7s\n' "TCP echo 16 MiB, lwIP poll 0" "${K[tcp]}" "${O[tcp0]}" \
	"$(ratio "${O[tcp0]}" "${K[tcp]}")"
for poll in 50 1000; do
	printf '%-34s %14s %6s MiB/s %7s\n' "TCP echo 16 MiB, --poll-us $poll" "" "${O[tcp$poll]}" \
		"$(ratio "${O[tcp$poll]}" "${K[tcp]}")"
done
echo
