#!/bin/bash
# SPDX-License-Identifier: MIT
# `virtio-vfio net bench` on a NIC pair joined by an isolated QEMU hub, the kernel's partner in
# a network namespace: refusals; txonly whose frames the partner counts (64 and 9000 bytes,
# chained buffers); rxonly counting exactly the frames the partner sent; fwd turning the
# partner's round trips around; rtt through the partner's reflector (at most 5% lost); text and JSON output.
# Also the kernel's PACKET_MMAP tool of `scripts/bench net` (tests/vm/pktmmap.c).
#vm: timeout 600
#vm: topology rootport
#vm: netpair vnq vkq mac0=52:54:00:00:0c:a0 mac1=52:54:00:00:0c:a1 extra0=host_mtu=9000 extra1=host_mtu=9000
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
peer=$VV_BUILD/tests/vv-netpeer
pkt=$VV_BUILD/tests/vv-pktmmap
for t in "$vv" "$peer" "$pkt"; do [ -x "$t" ] || vv_die "$t not built"; done
mac=52:54:00:00:0c:a0
pmac=52:54:00:00:0c:a1
if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
bdf=$(vv_bdf_by_mac $mac)
pif=$(if_of $pmac)
ip netns add peer
ip link set "$pif" netns peer
# No IPv6 on the partner: its router solicitations and MLD reports would be frames we count.
ip netns exec peer sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec peer sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip netns exec peer sysctl -qw "net.ipv6.conf.$pif.disable_ipv6=1"
ip -n peer link set lo up
ip -n peer link set "$pif" mtu 9000 up
P() { ip netns exec peer "$@"; }
j() { jq -r "$1" /tmp/nb.json; }

# --- refusals ----------------------------------------------------------------------------
vv_refused 1 "attach $bdf' first" "$vv" net bench --time 1 "$bdf"
for bad in "--mode nope" "--size 63" "--size 9001" "--burst 0" "--burst 513" "--time 0" \
	"--queue-pairs 0" "--dst 01:00:5e:00:00:01" "--dst 52:54:00:00:0c" "--bogus"; do
	# shellcheck disable=SC2086
	vv_refused 2 "" "$vv" net bench $bad "$bdf"
done
vv_refused 2 "needs --dst MAC" "$vv" net bench --mode rtt "$bdf"
vv_refused 2 "give one DEVICE" "$vv" net bench
"$vv" net --help | grep -q 'net bench' || vv_die "net --help does not name bench"
"$vv" net bench --help | grep -q -- '--queue-pairs' || vv_die "net bench --help"

# The kernel's PACKET_MMAP tool, NIC still on the kernel's driver: frames the partner counts.
ifc=$(if_of $mac)
ip link set "$ifc" up
sleep 2
P "$peer" count "$pif" 6 >/tmp/count.out &
sleep 1
out=$("$pkt" tx "$ifc" $pmac 64 2)
wait
echo "pktmmap tx: $out; partner: $(cat /tmp/count.out)"
sent=$(awk '{print $2}' <<<"$out")
got=$(awk '{print $2}' /tmp/count.out)
[ "$sent" -gt 1000 ] || vv_die "pktmmap sent only $sent frames"
[ "$got" -gt 0 ] && [ "$got" -le "$sent" ] || vv_die "partner counted $got of $sent"
"$pkt" rx "$ifc" 4 >/tmp/rx.out &
sleep 1
P "$peer" send "$pif" $mac 500 100 >/dev/null
wait
vv_assert_eq "$(awk '{print $2}' /tmp/rx.out)" 500 "pktmmap rx: frames"
ip link set "$ifc" down

"$vv" attach "$bdf" >/dev/null
vv_refused 1 "has 1 queue pair(s), 2 asked" "$vv" net bench --queue-pairs 2 --time 1 "$bdf"

# --- txonly: every frame the burst took, the partner's NIC received ----------------------
for size in 64 9000; do
	P "$peer" count "$pif" 8 >/tmp/count.out &
	sleep 1
	"$vv" net bench --json --mode txonly --size $size --time 3 --dst $pmac "$bdf" >/tmp/nb.json
	wait
	echo "txonly $size: $(j '[.tx_frames, .pps, .gbps] | map(tostring) | join(" ")'); partner: $(cat /tmp/count.out)"
	vv_assert_eq "$(j .version)" 1 "json version"
	vv_assert_eq "$(j .mode)" txonly "json mode"
	vv_assert_eq "$(j .size)" $size "json size"
	tx=$(j .tx_frames)
	[ "$tx" -gt 0 ] || vv_die "txonly $size: nothing sent"
	vv_assert_eq "$(j .tx_bytes)" $((tx * size)) "txonly $size: bytes are frame bytes"
	# Every frame offered was taken or refused (and refused ones offered again).
	vv_assert_eq "$(j '.tx_offered - .tx_refused')" "$tx" "txonly $size: offered - refused"
	j '.tx_refused_share >= 0 and .tx_refused_share < 1' | grep -qx true ||
		vv_die "txonly $size: tx_refused_share $(j .tx_refused_share)"
	got=$(awk '{print $2}' /tmp/count.out)
	# The partner's socket may miss some under load, never see more than we sent.
	[ "$got" -gt 0 ] && [ "$got" -le "$tx" ] || vv_die "txonly $size: partner counted $got of $tx"
done
# Text output, default destination (filtered by the partner's NIC).
out=$("$vv" net bench --time 1 "$bdf")
echo "$out"
grep -q 'frames/s, .* Gbit/s' <<<"$out" || vv_die "text output: $out"

# --- rxonly: exactly what the partner sent ------------------------------------------------
"$vv" net bench --json --mode rxonly --burst 64 --time 6 "$bdf" >/tmp/nb.json &
sleep 2
P "$peer" send "$pif" $mac 2000 200 >/dev/null
wait
echo "rxonly: $(j '[.rx_frames, .rx_bytes] | map(tostring) | join(" ")')"
vv_assert_eq "$(j .rx_frames)" 2000 "rxonly: frames"
vv_assert_eq "$(j .rx_bytes)" $((2000 * 200)) "rxonly: bytes"
vv_assert_eq "$(j .tx_frames)" 0 "rxonly: nothing sent"
# 2000 frames in a 6 s run of polls: most polls found nothing.
j '.rx_polls > 0 and .rx_empty_polls < .rx_polls and .rx_empty_share > 0.5' | grep -qx true ||
	vv_die "rxonly: $(j '[.rx_polls, .rx_empty_polls, .rx_empty_share] | map(tostring) | join(" ")')"

# --- fwd: the partner's round trips come back ---------------------------------------------
"$vv" net bench --json --mode fwd --time 7 "$bdf" >/tmp/nb.json &
sleep 2
out=$(P "$peer" gen "$pif" $mac 3 128 16)
wait
echo "fwd: $(j '[.rx_frames, .tx_frames] | map(tostring) | join(" ")'); partner: $out"
frames=$(sed -n 's/.*frames \([0-9]*\).*/\1/p' <<<"$out")
[ "$frames" -gt 100 ] || vv_die "fwd: only $frames round trips"
[ "$(j .tx_frames)" -ge "$frames" ] || vv_die "fwd: sent $(j .tx_frames) < $frames returned"

# --- rtt through the partner's reflector --------------------------------------------------
P "$peer" reflect "$pif" 8 >/dev/null &
sleep 1
"$vv" net bench --json --mode rtt --time 3 --dst $pmac "$bdf" >/tmp/nb.json
wait
echo "rtt: $(j '[.rx_frames, .lost, .rtt_us.p50, .rtt_us.p99] | map(tostring) | join(" ")')"
[ "$(j .rx_frames)" -gt 10 ] || vv_die "rtt: $(j .rx_frames) round trips"
# A frame not back in 100 ms counts as lost: a loaded 2-core host stalls the guest at times.
[ $(($(j .lost) * 20)) -le "$(j .rx_frames)" ] || vv_die "rtt: $(j .lost) lost of $(j .rx_frames)"
awk -v a="$(j .rtt_us.p50)" -v b="$(j .rtt_us.p99)" 'BEGIN { exit !(a > 0 && b >= a) }' ||
	vv_die "rtt percentiles"

"$vv" detach "$bdf" >/dev/null
echo "net bench: all checks passed"
