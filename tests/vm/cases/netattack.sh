#!/bin/bash
# SPDX-License-Identifier: MIT
# `net serve` against a hostile peer on its hub (vv-netattack, from the kernel's side, with an
# address no interface has): connections to ports 7 and 80 flooded with out-of-order one-byte
# segments, echo never acknowledged, HTTP pages asked for and left unacknowledged. Meanwhile an
# honest client (the kernel's stack) keeps getting ping, TCP echo and the HTTP page, the
# receive ring stays full, and when the attacker goes silent everything it made the server
# hold is given back: the buffer pool is full again and no connection of it is left.
#vm: timeout 480
#vm: topology rootport
#vm: netpair vnh vkh mac0=52:54:00:00:08:a0 mac1=52:54:00:00:08:a1
set -euo pipefail
. "$VV_REPO/tests/vm/lib/guest.sh"

vv=$VV_BUILD/cli/virtio-vfio
attack=$VV_BUILD/tests/vv-netattack
for t in "$vv" "$attack"; do [ -x "$t" ] || vv_die "$t not built"; done
! "$vv" net --help | grep -q 'not in this build' || vv_die "virtio-vfio built without net serve (liblwip-dev)"

# Shorter than the idle timeout (30 s): the flooding connections outlive the attack.
ATTACK_S=20
ATTACK_RATE=3000
ours=52:54:00:00:08:a0
if_of() { basename "$(dirname "$(grep -lx "$1" /sys/class/net/*/address)")"; }
stat_of() { sed -n "s/^$2 //p" <<<"$1"; }
bdf=$(vv_bdf_by_mac $ours)
ifc=$(if_of 52:54:00:00:08:a1)
ip netns add peer
ip link set "$ifc" netns peer
ip -n peer link set lo up
ip -n peer link set "$ifc" up
ip -n peer addr add 198.18.0.2/24 dev "$ifc"
# Segments to the attacker's address reach the kernel too (its MAC): dropped, never answered.
ip netns exec peer sysctl -qw net.ipv4.ip_forward=0
in_peer() { ip netns exec peer "$@"; }
page() { in_peer curl -sf -m 20 http://198.18.0.1/; }
# The honest client: ping, an echo and the page, each must work; the page is printed.
honest() {
	local got p t0 t1 t2
	t0=$(date +%s%3N)
	in_peer ping -c 2 -i 0.5 -W 5 198.18.0.1 >/dev/null || vv_die "$1: no ping reply"
	t1=$(date +%s%3N)
	got=$(printf 'honest %s' "$1" | in_peer nc -N -w 20 198.18.0.1 7) ||
		vv_die "$1: TCP echo failed"
	vv_assert_eq "$got" "honest $1" "$1: TCP echo" >/dev/null
	t2=$(date +%s%3N)
	p=$(page) || vv_die "$1: no HTTP page"
	echo "$1: ping $((t1 - t0)) ms, echo $((t2 - t1)) ms, page $(( $(date +%s%3N) - t2 )) ms" >&2
	echo "$p"
}

"$vv" attach "$bdf" >/dev/null
serve_log=/tmp/serve.log
"$vv" net serve "$bdf" --ip 198.18.0.1/24 >"$serve_log" 2>&1 &
serve=$!
trap 'kill -TERM $serve 2>/dev/null || true' EXIT
vv_wait_for "$serve_log" 30 "serving 198.18.0.1/24 on $ours, link up"

p=$(honest before)
ring=$(stat_of "$p" rx_ring)
total=$(stat_of "$p" bufs_total)
echo "pool: $total buffers, receive ring $ring"

# --- the attack, and the honest client meanwhile -------------------------------------------
in_peer "$attack" "$ifc" 198.18.0.66 198.18.0.1 $ATTACK_S $ATTACK_RATE >/tmp/attack.log 2>&1 &
apid=$!
vv_wait_for /tmp/attack.log 60 '^established'
round=0
declare -A st
while kill -0 $apid 2>/dev/null; do
	round=$((round + 1))
	t0=$(date +%s%3N)
	p=$(honest "during $round")
	st=()
	while read -r k v; do st[$k]=$v; done <<<"$p" # no forks: rounds stay short
	# The page is made between two receive bursts: the ring was refilled after the last one.
	[ "${st[bufs_rx_posted]}" = "$ring" ] ||
		vv_die "during $round: receive ring holds ${st[bufs_rx_posted]} buffers, not $ring"
	[ "${st[rx_refill_empty]}" = 0 ] || vv_die "during $round: a refill found the pool empty"
	for k in bufs_lwip conns tcp_orphans tcp_time_wait; do
		(( st[$k] <= st[${k}_max] )) || vv_die "during $round: $k ${st[$k]} over ${st[${k}_max]}"
	done
	(( st[rx_copy_bytes] <= 4 << 20 )) || vv_die "during $round: copies over 4 MiB"
	echo "during $round ($(( $(date +%s%3N) - t0 )) ms): lwIP holds ${st[bufs_lwip]} buffers, ${st[rx_copy_bufs]} copies (${st[rx_copy_bytes]} bytes), ${st[conns]} connections, ${st[tcp_orphans]} orphans"
done
rc=0; wait $apid || rc=$?
cat /tmp/attack.log
vv_assert_eq "$rc" 0 "the attacker established its connections"
(( round >= 2 )) || vv_die "only $round honest rounds during the attack"
p=$(page)
echo "$p"
# It came through: tiny segments copied, out-of-order queues dropped, long segments kept in
# their buffers until lwIP held its share of the pool, then copied; closed connections the
# peer never finished aborted past the limit.
for k in rx_copied:10000 ooseq_dropped:1 rx_split:1 rx_copied_share:1 tcp_orphans_aborted:1; do
	(( $(stat_of "$p" ${k%:*}) >= ${k#*:} )) || vv_die "${k%:*} below ${k#*:}: the attack did not come through"
done

# --- the attacker is gone: everything comes back ------------------------------------------
echo "held right after the attack: $(stat_of "$p" conns) connections, $(stat_of "$p" rx_copy_bufs) copies, $(stat_of "$p" bufs_lwip) buffers"
# Its connections are idle: each is reset within the idle timeout (30 s) and a second.
back=0
for i in $(seq 60); do
	sleep 1
	p=$(page)
	if [ "$(stat_of "$p" bufs_lwip)" = 0 ] && [ "$(stat_of "$p" rx_copy_bufs)" = 0 ] &&
		[ "$(stat_of "$p" conns)" = 1 ] && [ "$(stat_of "$p" tcp_orphans)" = 0 ]; then
		back=$i
		break
	fi
done
echo "$p"
(( back )) || vv_die "the server still holds what the attacker left after 60 s"
echo "everything back $back s after the attack"
vv_assert_eq "$(stat_of "$p" bufs_rx_posted)" "$ring" "after: receive ring full"
vv_assert_eq "$(stat_of "$p" bufs_app)" "$(stat_of "$p" bufs_batch)" "after: the application holds only the batch"
vv_assert_eq "$(( $(stat_of "$p" bufs_free) + $(stat_of "$p" bufs_tx_inflight) + ring + $(stat_of "$p" bufs_batch) ))" \
	"$total" "after: every buffer free, posted or being sent"
# The attacker's 16 flooding connections; the honest client's all ended by themselves.
vv_assert_eq "$(stat_of "$p" conn_timeouts)" 16 "after: idle connections reset"
honest after >/dev/null
echo "ok: the honest client after the attack"

kill -TERM "$serve"
rc=0; wait "$serve" || rc=$?
trap - EXIT
cat "$serve_log"
vv_assert_eq "$rc" 0 "net serve: exit status after SIGTERM"
"$vv" detach "$bdf" >/dev/null
echo "netattack: all checks passed"
