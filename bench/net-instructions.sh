#!/bin/bash
# SPDX-License-Identifier: MIT
# Instructions the virtio-net queue layer spends per 64-byte frame, bursts of 32, against the
# in-process fake device, counted by callgrind (the same count on every run of the same
# binary, however loaded the machine): tx = taking buffers from the pool + vv_net_tx_burst
# (reclaim included); rx = vv_net_rx_burst (refill included) + giving the frames back, one
# call per frame or one per burst (vv_net_buf_free_bulk). The fake device's work is outside
# the counted calls. Needs an optimized build (scripts/bench makes one).
# Usage: bench/net-instructions.sh [BUILD_DIR]      (default build-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
[ -d "$build" ] || meson setup "$build" --buildtype=release -Dtests=enabled >/dev/null
ninja -C "$build" tests/fake/vv-bench-net >/dev/null
iters=2000 burst=32
printf '%-4s %-5s %14s %10s\n' path free instructions "per frame"
for shape in "tx one" "rx one" "rx bulk"; do
	read -r dir free <<<"$shape"
	out=$(mktemp)
	valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='app_alloc' \
		--toggle-collect='app_free' --toggle-collect='net_txq_burst' \
		--toggle-collect='net_rxq_burst' \
		"$build/tests/fake/vv-bench-net" "$dir" $burst $iters "$free" >/dev/null 2>&1
	ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	rm -f "$out"
	printf '%-4s %-5s %14s %10s\n' "$dir" "$free" "$ir" \
		"$(awk -v a="$ir" -v n=$((burst * iters)) 'BEGIN { printf "%.1f", a / n }')"
done
