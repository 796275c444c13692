#!/bin/bash
# SPDX-License-Identifier: MIT
# The virtio-net driver and `net serve`, on NIC pairs joined by isolated QEMU hubs: one NIC
# ours, its partner on the kernel's driver in a network namespace. Negotiation and control
# requests on QEMU variants, receive filters, frames both ways (merged buffers and chained
# sends for jumbo frames), 100k round trips with the pool back where it started, lwIP
# answering ping, TCP echo and HTTP, link changes from the QEMU monitor, SIGTERM, the
# example program, and the kernel's driver taking the NIC back after detach.
#vm: timeout 1200
#vm: platforms stock modern
#vm: topology rootport
#vm: blk vb serial=vvnet-blk size=16M
#vm: netpair vna vka mac0=52:54:00:00:05:a0 mac1=52:54:00:00:05:a1
#vm: netpair vnb vkb mac0=52:54:00:00:05:b0 mac1=52:54:00:00:05:b1 extra0=mq=on,host_mtu=9000
#vm: netpair vnc vkc mac0=52:54:00:00:05:c0 mac1=52:54:00:00:05:c1 extra0=mrg_rxbuf=off,event_idx=off,indirect_desc=off,ctrl_vq=off,ctrl_rx=off,ctrl_vlan=off,ctrl_rx_extra=off,ctrl_mac_addr=off,guest_announce=off,vectors=2
#vm: netpair vnd vkd mac0=52:54:00:00:05:d0 mac1=52:54:00:00:05:d1 extra0=packed=on,vectors=0
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
netio=$VV_BUILD/tests/vv-netio
peer=$VV_BUILD/tests/vv-netpeer
echo_ex=$VV_BUILD/examples/net-echo
for t in "$vv" "$netio" "$peer" "$echo_ex"; do [ -x "$t" ] || vv_die "$t not built"; done
! "$vv" net --help | grep -q 'not in this build' || vv_die "virtio-vfio built without net serve (liblwip-dev)"

if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
field() { sed -n "s/^$2=//p" <<<"$1"; }
stat_of() { sed -n "s/^$2 //p" <<<"$1"; }
# The kernel's NIC of a pair, alone in namespace $2, up, optionally with address $3.
to_ns() {
	local ifc
	ifc=$(if_of "$1")
	ip netns add "$2"
	ip link set "$ifc" netns "$2"
	ip -n "$2" link set lo up
	ip -n "$2" link set "$ifc" up
	[ -z "${3:-}" ] || ip -n "$2" addr add "$3" dev "$ifc"
	echo "$ifc"
}

blk=$(vv_bdf_by_serial vvnet-blk)
a0=$(vv_bdf_by_mac 52:54:00:00:05:a0)
b0=$(vv_bdf_by_mac 52:54:00:00:05:b0)
c0=$(vv_bdf_by_mac 52:54:00:00:05:c0)
d0=$(vv_bdf_by_mac 52:54:00:00:05:d0)
ka=$(to_ns 52:54:00:00:05:a1 peer 198.18.0.2/24)
kb=$(to_ns 52:54:00:00:05:b1 peerb)
kc=$(to_ns 52:54:00:00:05:c1 peerc)
kd=$(to_ns 52:54:00:00:05:d1 peerd)
echo "ours: a=$a0 b=$b0 c=$c0 d=$d0; kernel: $ka $kb $kc $kd (namespaces peer, peerb, peerc, peerd)"

# --- clear errors before anything is attached ------------------------------------------
set +e
out=$("$vv" net serve "$a0" --ip 198.18.0.1/24 2>&1); rc=$?
set -e
vv_assert_eq "$rc" 1 "not attached: exit status"
grep -q "run '.*attach $a0' first" <<<"$out" || vv_die "not attached: $out"
set +e
out=$("$vv" net serve "$blk" --ip 198.18.0.1/24 2>&1); rc=$?
set -e
vv_assert_eq "$rc" 1 "blk device: exit status"
grep -q "virtio blk device, not net" <<<"$out" || vv_die "blk device: $out"
for bad in 198.18.0.300/24 198.18.0.1 198.18.0.1/33 198.18.0.1/x; do
	set +e
	out=$("$vv" net serve "$a0" --ip "$bad" 2>&1); rc=$?
	set -e
	vv_assert_eq "$rc" 2 "bad address $bad: exit status"
	grep -q "bad address '$bad'" <<<"$out" || vv_die "bad address $bad: $out"
done
set +e
out=$("$vv" net serve "$a0" 2>&1); rc=$?
set -e
vv_assert_eq "$rc" 2 "no --ip: exit status"

"$vv" attach "$a0" "$b0" "$c0" "$d0" >/dev/null

# --- negotiation and capabilities, per variant -----------------------------------------
info=$("$netio" "$a0" info)
echo "$info"
vv_assert_eq "$(field "$info" mac)" 52:54:00:00:05:a0 "a: the device's MAC"
vv_assert_eq "$(field "$info" mac_from_device)" 1 "a: MAC from the device"
vv_assert_eq "$(field "$info" link)" up "a: link up"
vv_assert_eq "$(field "$info" irq)" per-queue "a: a vector per queue"
vv_assert_eq "$(field "$info" max_pairs)" 1 "a: one pair without MQ"
vv_assert_eq "$(field "$info" caps)" "link_status,ctrl,promisc,allmulti,set_mac,mrg_rxbuf," "a: caps"
ctrl=$("$netio" "$a0" ctrl)
echo "$ctrl"
for kv in pairs0=EINVAL pairs1=ok pairs_over=EOPNOTSUPP mtu9000=EOPNOTSUPP mtu1400=ok mtu67=EINVAL \
	promisc_on=ok promisc_off=ok allmulti_on=ok allmulti_off=ok mac_mcast=EINVAL mac_set=ok \
	mac_back=ok; do
	grep -qx "$kv" <<<"$ctrl" || vv_die "a: expected $kv"
done

info=$("$netio" --pairs 4 "$b0" info)
echo "$info"
vv_assert_eq "$(field "$info" caps)" "link_status,mtu,ctrl,promisc,allmulti,set_mac,mq,mrg_rxbuf," "b: caps"
vv_assert_eq "$(field "$info" max_mtu)" 9000 "b: the device's MTU"
vv_assert_eq "$(field "$info" mtu)" 9000 "b: MTU starts at the device's"
# A hub port has one queue: MQ is offered with one pair, so 4 asked gives 1 prepared.
vv_assert_eq "$(field "$info" max_pairs)" 1 "b: max pairs"
vv_assert_eq "$(field "$info" pairs)" 1 "b: pairs prepared"
ctrl=$("$netio" --pairs 4 "$b0" ctrl)
echo "$ctrl"
for kv in pairs0=EINVAL pairs1=ok pairs_max=ok pairs_over=EINVAL active_pairs=1 mtu9000=ok \
	mtu1400=ok mtu_over=EINVAL promisc_on=ok; do
	grep -qx "$kv" <<<"$ctrl" || vv_die "b: expected $kv"
done

info=$("$netio" "$c0" info)
echo "$info"
vv_assert_eq "$(field "$info" caps)" "link_status," "c: caps without control queue or MRG_RXBUF"
vv_assert_eq "$(field "$info" irq)" shared "c: queues share a vector"
ctrl=$("$netio" "$c0" ctrl)
echo "$ctrl"
for kv in pairs1=ok pairs_over=EOPNOTSUPP promisc_on=EOPNOTSUPP allmulti_on=EOPNOTSUPP mac_set=EOPNOTSUPP \
	mtu9000=EOPNOTSUPP; do
	grep -qx "$kv" <<<"$ctrl" || vv_die "c: expected $kv"
done

info=$("$netio" "$d0" info)
echo "$info"
vv_assert_eq "$(field "$info" irq)" poll "d: no MSI-X, polled"
(( $(field "$info" features) & (1 << 34) )) || vv_die "d: packed ring not negotiated"

echo "== capabilities ok"

# --- receive filters through the control queue -----------------------------------------
# Test frames to us, to a stranger, to a multicast group and to everyone; which arrive?
filter_case() { # BDF NS IF MODE OUR-MAC -> "to_us N other_unicast N multicast N broadcast N"
	local bdf=$1 ns=$2 ifc=$3 mode=$4 mac=$5 log=/tmp/filter.log
	"$netio" "$bdf" filter "$mode" 8 >"$log" 2>&1 &
	local pid=$!
	vv_wait_for "$log" 20 '^ready'
	for dst in "$mac" 02:00:00:00:00:99 01:00:5e:00:00:99 ff:ff:ff:ff:ff:ff; do
		ip netns exec "$ns" "$peer" send "$ifc" "$dst" 20 100 >/dev/null
	done
	wait "$pid" || { cat "$log"; vv_die "filter $mode failed"; }
	grep '^to_us' "$log"
}
amac=52:54:00:00:05:a0
vv_assert_eq "$(filter_case "$a0" peer "$ka" nopromisc $amac)" \
	"to_us 20 other_unicast 0 multicast 0 broadcast 20" "a: promiscuous off"
vv_assert_eq "$(filter_case "$a0" peer "$ka" promisc $amac)" \
	"to_us 20 other_unicast 20 multicast 20 broadcast 20" "a: promiscuous on"
vv_assert_eq "$(filter_case "$a0" peer "$ka" allmulti $amac)" \
	"to_us 20 other_unicast 0 multicast 20 broadcast 20" "a: all-multicast"
# A new address: frames to it arrive, frames to the old one do not.
vv_assert_eq "$(filter_case "$a0" peer "$ka" mac=02:00:00:00:00:99 $amac)" \
	"to_us 20 other_unicast 0 multicast 0 broadcast 20" "a: MAC_ADDR_SET"
# Without CTRL_RX the device keeps its default (QEMU: promiscuous) and nothing fails.
vv_assert_eq "$(filter_case "$c0" peerc "$kc" default 52:54:00:00:05:c0)" \
	"to_us 20 other_unicast 20 multicast 20 broadcast 20" "c: no control queue, no filter"

# --- frames both ways, every byte checked -----------------------------------------------
both_ways() { # BDF OUR-MAC NS IF KERNEL-MAC COUNT SIZE [MINSEGS]
	local bdf=$1 mac=$2 ns=$3 ifc=$4 kmac=$5 count=$6 size=$7 minsegs=${8:-1} log=/tmp/rx.log
	"$netio" "$bdf" recv "$count" 60 >"$log" 2>&1 &
	local pid=$!
	# Not before our NIC is open, its receive ring filled: QEMU drops what reaches it while
	# it is reset (a fixed second was not always enough under load, case inorder).
	vv_wait_for "$log" 20 '^ready'
	ip netns exec "$ns" "$peer" send "$ifc" "$mac" "$count" "$size" >/dev/null
	wait "$pid" || { cat "$log"; vv_die "$bdf: receiving $count x $size failed"; }
	cat "$log"
	grep -q "^frames $count bytes $((count * size)) bad 0" "$log" || vv_die "$bdf: rx"
	local segs
	segs=$(sed -n 's/.* maxsegs \([0-9]*\)$/\1/p' "$log")
	(( segs >= minsegs )) || vv_die "$bdf: frames of $size in $segs buffer(s), want >= $minsegs"
	grep -q " app=0$" "$log" || vv_die "$bdf: buffers held after rx"
	ip netns exec "$ns" "$peer" recv "$ifc" "$count" 60 >"$log" 2>&1 &
	pid=$!
	sleep 1
	"$netio" "$bdf" send "$kmac" "$count" "$size" | tee /tmp/tx.log
	wait "$pid" || { cat "$log"; vv_die "$bdf: kernel did not get $count x $size"; }
	grep -q "^frames $count bytes $((count * size)) bad 0" "$log" || vv_die "$bdf: tx: $(cat "$log")"
	grep -q "tx_inflight=0 app=0$" /tmp/tx.log || vv_die "$bdf: buffers held after tx"
	echo "ok: $bdf: $count frames of $size both ways"
}
both_ways "$a0" $amac peer "$ka" 52:54:00:00:05:a1 1000 1514
both_ways "$c0" 52:54:00:00:05:c0 peerc "$kc" 52:54:00:00:05:c1 1000 1514
both_ways "$d0" 52:54:00:00:05:d0 peerd "$kd" 52:54:00:00:05:d1 1000 1514
# Jumbo frames: merged receive buffers (MRG_RXBUF) and chained sends.
ip -n peerb link set "$kb" mtu 9000
both_ways "$b0" 52:54:00:00:05:b0 peerb "$kb" 52:54:00:00:05:b1 300 8000 4

# --- 100k round trips: the pool ends where it started ----------------------------------
roundtrips() { # BDF OUR-MAC NS IF COUNT
	local log=/tmp/reflect.log
	"$netio" "$1" reflect 600 >"$log" 2>&1 &
	local pid=$!
	vv_wait_for "$log" 20 '^ready'
	ip netns exec "$3" "$peer" gen "$4" "$2" 300 64 32 "$5"
	kill -TERM "$pid"
	wait "$pid" || { cat "$log"; vv_die "$1: reflector failed"; }
	cat "$log"
	local pool ring
	pool=$(grep '^pool ' "$log")
	ring=$("$netio" "$1" info | sed -n 's/^rx_ring=//p')
	grep -q "rx_posted=$ring tx_inflight=0 app=0" <<<"$pool" || vv_die "$1: pool not back: $pool"
	grep -q "refill_empty=0" "$log" || vv_die "$1: the receive ring ran dry"
	local total free
	total=$(sed 's/.*total=\([0-9]*\).*/\1/' <<<"$pool")
	free=$(sed 's/.*free=\([0-9]*\).*/\1/' <<<"$pool")
	vv_assert_eq "$free" "$((total - ring))" "$1: every buffer back in the pool or on the ring"
	local n
	n=$(sed -n 's/^reflected \([0-9]*\).*/\1/p' "$log")
	(( n >= $5 )) || vv_die "$1: reflected only $n of $5"
}
roundtrips "$a0" $amac peer "$ka" 100000
roundtrips "$c0" 52:54:00:00:05:c0 peerc "$kc" 20000
roundtrips "$d0" 52:54:00:00:05:d0 peerd "$kd" 20000
echo "== data paths ok"

# --- net serve: lwIP on our NIC, the kernel's stack on the other -----------------------
serve_log=/tmp/serve.log
"$vv" net serve "$a0" --ip 198.18.0.1/24 >"$serve_log" 2>&1 &
serve=$!
trap 'kill -TERM $serve 2>/dev/null || true' EXIT
vv_wait_for "$serve_log" 30 "serving 198.18.0.1/24 on $amac, link up"
in_peer() { ip netns exec peer "$@"; }
page() { in_peer curl -sf -m 20 http://198.18.0.1/; }

in_peer ping -c 3 -W 5 198.18.0.1
in_peer ip neigh show 198.18.0.1 | grep -q "lladdr $amac" || vv_die "ARP: $(in_peer ip neigh)"
got=$(printf 'hello, virtio' | in_peer nc -N -w 20 198.18.0.1 7)
vv_assert_eq "$got" "hello, virtio" "TCP echo of a few bytes"
head -c $((8 << 20)) /dev/urandom >/tmp/big
in_peer nc -N -w 60 198.18.0.1 7 </tmp/big >/tmp/big.out
cmp /tmp/big /tmp/big.out || vv_die "TCP echo of 8 MiB differs ($(stat -c %s /tmp/big.out) bytes back)"
echo "ok: TCP echo of 8 MiB exact"
p=$(page)
echo "$p"
vv_assert_eq "$(stat_of "$p" device)" "$a0" "page: device"
vv_assert_eq "$(stat_of "$p" link)" up "page: link"
in_peer wget -q -T 20 -O - http://198.18.0.1/ | grep -q "^mac $amac" || vv_die "wget"

# Idle, the driver thread sleeps on the eventfd: it must not burn a CPU.
sleep 1
cpu() { awk '{ print $14 + $15 }' "/proc/$serve/stat"; }
t0=$(cpu); sleep 4; t1=$(cpu)
echo "idle: $((t1 - t0)) ticks of CPU in 4 s"
(( t1 - t0 < 40 )) || vv_die "net serve uses $((t1 - t0)) ticks in 4 s idle"

# 100k pings each way through lwIP: every receive buffer comes back.
before=$(page)
in_peer ping -f -q -c 100000 -W 5 198.18.0.1 | tail -n 2
after=$(page)
echo "$after"
for k in bufs_total bufs_rx_posted rx_refill_empty; do
	vv_assert_eq "$(stat_of "$after" $k)" "$(stat_of "$before" $k)" "ping -f: $k"
done
vv_assert_eq "$(stat_of "$after" bufs_rx_posted)" "$(stat_of "$after" rx_ring)" "ping -f: ring full"
vv_assert_eq "$(stat_of "$after" bufs_lwip)" 0 "ping -f: lwIP holds no receive buffer"
# What the application holds is exactly lwIP's plus the batch in hand: nothing leaked.
vv_assert_eq "$(stat_of "$after" bufs_app)" \
	"$(( $(stat_of "$after" bufs_lwip) + $(stat_of "$after" bufs_batch) ))" "ping -f: no leak"
(( $(stat_of "$after" rx_packets) - $(stat_of "$before" rx_packets) >= 100000 )) || vv_die "rx count"
(( $(stat_of "$after" tx_packets) - $(stat_of "$before" tx_packets) >= 100000 )) || vv_die "tx count"

# Link down and up from the QEMU monitor: the config interrupt reaches the driver.
echo 'VV-QMP: {"execute": "set_link", "arguments": {"name": "vna", "up": false}}' >/dev/console
vv_wait_for "$serve_log" 30 "$a0: link down"
if in_peer ping -c 2 -W 1 198.18.0.1 >/dev/null; then vv_die "ping through a downed link"; fi
echo 'VV-QMP: {"execute": "set_link", "arguments": {"name": "vna", "up": true}}' >/dev/console
vv_wait_for "$serve_log" 30 "$a0: link up" || true
if ! grep -q "$a0: link up" "$serve_log"; then
	grep vfio /proc/interrupts
	cat /proc/$serve/stack 2>/dev/null || true
	for t in /proc/$serve/task/*; do echo "$t: $(cat $t/comm) $(cat $t/wchan 2>/dev/null) $(awk '{print $3}' $t/stat)"; done
	vv_die "link up not seen"
fi
in_peer ping -c 2 -W 5 198.18.0.1 >/dev/null
p=$(page)
vv_assert_eq "$(stat_of "$p" link)" up "page: link after set_link"
vv_assert_eq "$(stat_of "$p" link_changes)" 2 "page: link changes"

kill -TERM "$serve"
rc=0; wait "$serve" || rc=$?
trap - EXIT
vv_assert_eq "$rc" 0 "net serve: exit status after SIGTERM"
grep -q "$a0: stopped" "$serve_log" || vv_die "no clean stop: $(cat "$serve_log")"
cat "$serve_log"

# --- the example program answers ARP and ping ----------------------------------------------
in_peer ip neigh flush all
"$echo_ex" "$a0" 198.18.0.1 >/tmp/echo.log 2>&1 &
ex=$!
vv_wait_for /tmp/echo.log 20 answering
in_peer ping -c 5 -i 0.2 -W 5 198.18.0.1 >/dev/null || vv_die "the example does not answer"
kill -TERM "$ex"
wait "$ex" || vv_die "example exit status"
grep -Eq '^([5-9]|[0-9]{2,}) replies' /tmp/echo.log || vv_die "example: $(cat /tmp/echo.log)"
echo "ok: examples/net-echo"

# --- detach: the kernel's driver takes the NIC back -------------------------------------------
"$vv" detach "$a0" "$b0" "$c0" "$d0" >/dev/null
for _ in $(seq 100); do grep -qx $amac /sys/class/net/*/address 2>/dev/null && break; sleep 0.1; done
ifa=$(if_of $amac)
vv_assert_eq "$(basename "$(readlink -f "/sys/class/net/$ifa/device/driver")")" virtio_net \
	"$a0 back on virtio_net"
ip addr add 198.18.0.1/24 dev "$ifa"
ip link set "$ifa" up
ping -c 3 -W 5 198.18.0.2 >/dev/null || vv_die "the kernel's driver cannot reach the peer"
echo "net: all checks passed"
