#!/bin/bash
# SPDX-License-Identifier: MIT
# Instructions the virtqueue engine spends per request (vv_vq_add + vv_vq_kick + vv_vq_get,
# inclusive) at batch 32, against the in-process fake device, counted by callgrind: the same
# count on every run of the same binary. Needs an optimized build (scripts/bench makes one).
# ORDER: "any" (no VIRTIO_F_IN_ORDER), "inorder1" (IN_ORDER, a used entry per buffer, as
# QEMU writes them) and "inorder" (IN_ORDER, one used entry per batch): the A/B in one run.
# Calls: "one" (vv_vq_add, vv_vq_get), "many" (vv_vq_add_many, vv_vq_get_many) and "driver"
# (vv_vq_add per request, vv_vq_get_many: the blk driver's path).
# Then the whole virtio-blk request (vv-bench-blk): submit, kick (which adds the staged
# requests to the ring) and complete.
# Usage: bench/vq-instructions.sh [BUILD_DIR]      (default build-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
[ -d "$build" ] || meson setup "$build" --buildtype=release -Dtests=enabled >/dev/null
ninja -C "$build" tests/fake/vv-bench-vq tests/fake/vv-bench-blk >/dev/null
iters=2000 batch=32
orders=${ORDERS:-any inorder1 inorder}
printf '%-7s %-9s %-9s %-5s %-8s %14s %10s\n' layout chain request calls order instructions \
	"per req"
for layout in split packed; do
	for shape in "direct 3 one" "indirect 3 one" "direct 1 one" "direct 3 many" \
		"indirect 3 many" "direct 1 many" "direct 3 driver"; do
		read -r chain nseg api <<<"$shape"
		for order in $orders; do
			out=$(mktemp)
			valgrind --tool=callgrind --callgrind-out-file="$out" \
				--toggle-collect='vv_vq_add*' --toggle-collect=vv_vq_kick \
				--toggle-collect='vv_vq_get*' \
				"$build/tests/fake/vv-bench-vq" $batch $iters $chain $layout $nseg \
				$api $order >/dev/null 2>&1
			ir=$(callgrind_annotate "$out" 2>/dev/null |
				awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
			rm -f "$out"
			printf '%-7s %-9s %-9s %-5s %-8s %14s %10s\n' "$layout" "$chain" \
				"$([ "$nseg" = 3 ] && echo "blk (3)" || echo "1 buffer")" "$api" \
				"$order" "$ir" \
				"$(awk -v a="$ir" -v n=$((batch * iters)) 'BEGIN { printf "%.1f", a / n }')"
		done
	done
done

# The whole virtio-blk request on top: blk_queue_rw() (what vv_blk_submit_rw() calls) per 4 KiB
# read, one blk_queue_kick() per batch, blk_queue_poll() with the completion callbacks.
echo
printf '%-7s %-9s %-8s %14s %10s\n' layout request order instructions "per req"
for layout in split packed; do
	for order in any inorder1; do
		out=$(mktemp)
		valgrind --tool=callgrind --callgrind-out-file="$out" \
			--toggle-collect=blk_queue_rw --toggle-collect=blk_queue_kick \
			--toggle-collect=blk_queue_poll \
			"$build/tests/fake/vv-bench-blk" $batch $iters $layout direct $order \
			>/dev/null 2>&1
		ir=$(callgrind_annotate "$out" 2>/dev/null |
			awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
		rm -f "$out"
		printf '%-7s %-9s %-8s %14s %10s\n' "$layout" "blk read" "$order" "$ir" \
			"$(awk -v a="$ir" -v n=$((batch * iters)) 'BEGIN { printf "%.1f", a / n }')"
	done
done
