#!/bin/bash
# SPDX-License-Identifier: MIT
# VIRTIO_F_IN_ORDER on QEMU 10 (`in_order=on`), split and packed rings: blk negotiates it
# (`info` names it negotiable), net declines it (src/devs/net_cfg.c: QEMU 10.0.2's in-order
# receive stalls) and works on such a NIC; blk: data the kernel wrote reads back, a 3 MiB
# write, a queue reset (RING_RESET) in order with writes and reads at depth 32-64 on both
# queues, and the kernel reads what we wrote after detach (the deep stress: see below); net:
# 1000 frames each way with every byte checked, jumbo frames in merged receive buffers, 20k
# round trips with the pool back where it started. A net exchange still running after 40 s
# has each side's state logged (the kernel peer's link, qdisc and TX timeouts on the
# console, QEMU's view of both NICs' queues in the run's qmp.log, VV_VM_KEEP=1): our NIC's
# fault or the kernel peer's. To try net in order, drop the decline in net_cfg.c and expect
# IN_ORDER negotiable here and rx_posted one short of the ring (one descriptor stays free).
#vm: platforms modern
#vm: timeout 900
#vm: topology rootport
#vm: blk vio serial=vvio-split size=64M extra=in_order=on,num-queues=2
#vm: blk viop serial=vvio-packed size=64M extra=in_order=on,packed=on,num-queues=2
#vm: netpair vna vka mac0=52:54:00:00:07:a0 mac1=52:54:00:00:07:a1 extra0=in_order=on
#vm: netpair vnb vkb mac0=52:54:00:00:07:b0 mac1=52:54:00:00:07:b1 extra0=in_order=on,packed=on
#vm: netpair vnc vkc mac0=52:54:00:00:07:c0 mac1=52:54:00:00:07:c1 extra0=in_order=on,host_mtu=9000
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
blkio=$VV_BUILD/tests/vv-blkio
netio=$VV_BUILD/tests/vv-netio
peer=$VV_BUILD/tests/vv-netpeer
for t in "$vv" "$blkio" "$netio" "$peer"; do [ -x "$t" ] || vv_die "$t not built"; done

disk_of() { basename "$(dirname "$(grep -lx "$1" /sys/block/vd*/serial)")"; }
if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
negotiable() { # BDF NAME...
	local out
	out=$("$vv" info "$1")
	shift
	for f in "$@"; do
		grep -Eq "^ +[0-9]+ $f +negotiable$" <<<"$out" || vv_die "info: $f not negotiable"
	done
}

# --- blk ----------------------------------------------------------------------------------
for serial in vvio-split vvio-packed; do
	bdf=$(vv_bdf_by_serial "$serial")
	disk=$(disk_of "$serial")
	echo "== $serial ($bdf, /dev/$disk)"
	head -c 1048576 /dev/urandom >/tmp/k-$serial
	dd if=/tmp/k-$serial of="/dev/$disk" bs=65536 oflag=direct conv=fsync status=none
	"$vv" attach "$bdf" >/dev/null
	negotiable "$bdf" IN_ORDER RING_RESET
	want=0; [ "$serial" = vvio-packed ] && want=1
	"$blkio" "$bdf" info | grep -q "packed=$want" || vv_die "$serial: packed should be $want"
	"$blkio" "$bdf" read 0 2048 | cmp - /tmp/k-$serial || vv_die "$serial: read differs"
	head -c 3145728 /dev/urandom >/tmp/w-$serial
	"$blkio" "$bdf" write 4096 6144 </tmp/w-$serial
	# Not here yet: the multiqueue stress and blk bench at depth. Under them QEMU 10.0.2's
	# in-order virtio-blk stopped completing for good: both queues with 255 requests in use,
	# the used index frozen at a multiple of the ring size (x-query-virtio-queue-status),
	# reproduced twice. Upstream QEMU fixed virtqueue_ordered_fill() after 10.0 (6fcf5eba,
	# "fix off-by-one and invalid access"); not confirmed to be that. Run them by hand with
	# VV_INORDER_DEEP=1.
	if [ "${VV_INORDER_DEEP:-0}" = 1 ]; then
		"$blkio" "$bdf" stress 32768 16384
		for mode in irq poll hybrid; do
			out=$("$vv" blk bench --json --time 2 --mode $mode --rw randrw --qd 32 \
				--queues 2 --offset 32m --size 16m --allow-write --verify "$bdf")
			(( $(jq -r .verified_blocks <<<"$out") > 0 )) || vv_die "$serial: $mode: none verified"
		done
	fi
	"$blkio" "$bdf" flush
	"$blkio" "$bdf" ringreset 2>&1 | tee /tmp/rr-$serial
	grep -q 'queue 1 reset after the device broke it' /tmp/rr-$serial ||
		vv_die "$serial: no queue reset"
	"$vv" detach "$bdf" >/dev/null
	for _ in $(seq 50); do grep -qx "$serial" /sys/block/vd*/serial 2>/dev/null && break; sleep 0.1; done
	disk=$(disk_of "$serial")
	dd if="/dev/$disk" bs=1M skip=2 count=3 iflag=direct status=none | cmp - /tmp/w-$serial ||
		vv_die "$serial: the kernel does not read what the driver wrote"
	echo "ok: $serial"
done

# --- net ----------------------------------------------------------------------------------
to_ns() { # MAC NS: the kernel's NIC of a pair, alone in namespace NS, up
	local ifc
	ifc=$(if_of "$1")
	ip netns add "$2"
	ip link set "$ifc" netns "$2"
	ip -n "$2" link set lo up
	ip -n "$2" link set "$ifc" up
	echo "$ifc"
}
# What each side of a stuck exchange sees: the kernel peer's counters, qdisc backlog and TX
# timeouts here, and QEMU's state of both NICs' receive and transmit queues through QMP
# (x-query-virtio-queue-status; the replies land in the run's qmp.log).
net_state() { # NS IF OUR-ID KERNEL-ID
	echo "== stuck: $3 (ours) and $4 (the kernel's $2 in $1)"
	ip -n "$1" -s link show "$2" || true
	ip netns exec "$1" tc -s qdisc show dev "$2" || true
	echo "tx_timeout $(ip netns exec "$1" cat "/sys/class/net/$2/queues/tx-0/tx_timeout" 2>&1)"
	dmesg | grep -E 'NETDEV WATCHDOG|virtio_net' | tail -n 5 || true
	for id in "$3" "$4"; do
		for q in 0 1; do
			echo "VV-QMP: {\"execute\": \"x-query-virtio-queue-status\", \"arguments\": {\"path\": \"/machine/peripheral/$id/virtio-backend\", \"queue\": $q}}" >/dev/console
		done
	done
	sleep 3
}
# Waits for PID; if it still runs after 40 s (an exchange takes a few; the receiver gives up
# at 60), logs both sides while its rings are live, then waits on. Returns PID's status.
wait_net() { # PID NS IF OUR-ID KERNEL-ID
	local end=$((SECONDS + 40))
	while kill -0 "$1" 2>/dev/null && ((SECONDS < end)); do sleep 0.5; done
	if kill -0 "$1" 2>/dev/null; then net_state "$2" "$3" "$4" "$5"; fi
	wait "$1"
}
both_ways() { # BDF OUR-MAC NS IF KERNEL-MAC COUNT SIZE OUR-ID KERNEL-ID
	local bdf=$1 mac=$2 ns=$3 ifc=$4 kmac=$5 count=$6 size=$7 log=/tmp/rx.log pid
	"$netio" "$bdf" recv "$count" 60 >"$log" 2>&1 &
	pid=$!
	# Not before our NIC is open: QEMU drops what reaches it while it is reset (under load
	# a second was not always enough: the first frame went missing).
	vv_wait_for "$log" 20 '^ready'
	ip netns exec "$ns" "$peer" send "$ifc" "$mac" "$count" "$size" >/dev/null
	wait_net "$pid" "$ns" "$ifc" "$8" "$9" ||
		{ cat "$log"; vv_die "$bdf: receiving $count x $size failed"; }
	cat "$log"
	grep -q "^frames $count bytes $((count * size)) bad 0" "$log" || vv_die "$bdf: rx"
	grep -q " app=0$" "$log" || vv_die "$bdf: buffers held after rx"
	ip netns exec "$ns" "$peer" recv "$ifc" "$count" 60 >"$log" 2>&1 &
	pid=$!
	sleep 1
	"$netio" "$bdf" send "$kmac" "$count" "$size" >/tmp/tx.log 2>&1 &
	wait_net $! "$ns" "$ifc" "$8" "$9" || { cat /tmp/tx.log; vv_die "$bdf: sending failed"; }
	cat /tmp/tx.log
	wait_net "$pid" "$ns" "$ifc" "$8" "$9" ||
		{ cat "$log"; vv_die "$bdf: the kernel did not get $count x $size"; }
	grep -q "^frames $count bytes $((count * size)) bad 0" "$log" || vv_die "$bdf: tx"
	grep -q "tx_inflight=0 app=0$" /tmp/tx.log || vv_die "$bdf: buffers held after tx"
	echo "ok: $bdf: $count frames of $size both ways"
}
roundtrips() { # BDF OUR-MAC NS IF COUNT
	local log=/tmp/reflect.log pid pool ring
	"$netio" "$1" reflect 600 >"$log" 2>&1 &
	pid=$!
	vv_wait_for "$log" 20 '^ready'
	ip netns exec "$3" "$peer" gen "$4" "$2" 300 64 32 "$5"
	kill -TERM "$pid"
	wait "$pid" || { cat "$log"; vv_die "$1: reflector failed"; }
	cat "$log"
	pool=$(grep '^pool ' "$log")
	ring=$("$netio" "$1" info | sed -n 's/^rx_ring=//p')
	grep -q "rx_posted=$ring tx_inflight=0 app=0" <<<"$pool" || vv_die "$1: pool not back: $pool"
	(( $(sed -n 's/^reflected \([0-9]*\).*/\1/p' "$log") >= $5 )) || vv_die "$1: too few reflected"
}

# QEMU's own complaints about what a driver did, on the console (qemu_log_mask's
# LOG_GUEST_ERROR): e.g. 10.0.2's in-order fill failing to find a buffer it popped.
echo 'VV-QMP: {"execute": "human-monitor-command", "arguments": {"command-line": "log guest_errors"}}' >/dev/console
a0=$(vv_bdf_by_mac 52:54:00:00:07:a0)
b0=$(vv_bdf_by_mac 52:54:00:00:07:b0)
c0=$(vv_bdf_by_mac 52:54:00:00:07:c0)
ka=$(to_ns 52:54:00:00:07:a1 pa)
kb=$(to_ns 52:54:00:00:07:b1 pb)
kc=$(to_ns 52:54:00:00:07:c1 pc)
"$vv" attach "$a0" "$b0" "$c0" >/dev/null
# virtio-net declines IN_ORDER (net_cfg.c): the devices offer it, the driver does not take
# it, and traffic on them is whole.
for bdf in "$a0" "$b0" "$c0"; do
	"$vv" info "$bdf" | grep -Eq '^ +35 IN_ORDER *$' ||
		vv_die "$bdf: IN_ORDER offered and declined expected"
done
both_ways "$a0" 52:54:00:00:07:a0 pa "$ka" 52:54:00:00:07:a1 1000 1514 vna vka
both_ways "$b0" 52:54:00:00:07:b0 pb "$kb" 52:54:00:00:07:b1 1000 1514 vnb vkb
ip -n pc link set "$kc" mtu 9000
both_ways "$c0" 52:54:00:00:07:c0 pc "$kc" 52:54:00:00:07:c1 300 8000 vnc vkc
roundtrips "$a0" 52:54:00:00:07:a0 pa "$ka" 20000
roundtrips "$b0" 52:54:00:00:07:b0 pb "$kb" 20000
"$vv" detach "$a0" "$b0" "$c0" >/dev/null
echo "ok: in order, blk and net"
